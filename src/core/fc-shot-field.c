/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-shot-field"

#include "fc-shot-field.h"
#include "fc-error.h"

#include <math.h>
#include <string.h>

#define B FC_FIELD_GROUP_BALL
#define C FC_FIELD_GROUP_CLUB
#define F FC_FIELD_GROUP_FLIGHT
#define E FC_FIELD_GROUP_CONDITIONS

/*
 * Sign conventions follow TrackMan: right of target is positive for a
 * right-handed golfer's view down the target line, up is positive.
 * Ranges are generous physical limits (a world long-drive record fits
 * inside them); they exist to catch unit mix-ups and corrupt data, not
 * to judge a golfer.
 */
static const FcShotFieldInfo field_info[FC_SHOT_N_FIELDS] = {
  [FC_FIELD_BALL_SPEED]          = { "ball_speed_mps", "Ball speed", FC_QUANTITY_SPEED, B, 0, 110,
                                     "Ball speed just after impact." },
  [FC_FIELD_LAUNCH_ANGLE]        = { "launch_angle_deg", "Launch angle", FC_QUANTITY_ANGLE, B, -45, 90,
                                     "Vertical launch angle relative to the horizon; up is positive." },
  [FC_FIELD_LAUNCH_DIRECTION]    = { "launch_direction_deg", "Launch direction", FC_QUANTITY_ANGLE, B, -90, 90,
                                     "Horizontal launch angle relative to the target line; right is positive." },
  [FC_FIELD_SPIN_RATE]           = { "spin_rate_rpm", "Spin rate", FC_QUANTITY_SPIN, B, 0, 25000,
                                     "Total spin rate." },
  [FC_FIELD_SPIN_AXIS]           = { "spin_axis_deg", "Spin axis", FC_QUANTITY_ANGLE, B, -90, 90,
                                     "Tilt of the spin axis; positive tilts right (ball curves right)." },
  [FC_FIELD_BACK_SPIN]           = { "back_spin_rpm", "Back spin", FC_QUANTITY_SPIN, B, -15000, 25000,
                                     "Back spin component; negative is top spin." },
  [FC_FIELD_SIDE_SPIN]           = { "side_spin_rpm", "Side spin", FC_QUANTITY_SPIN, B, -15000, 15000,
                                     "Side spin component; positive curves the ball right." },
  [FC_FIELD_SMASH_FACTOR]        = { "smash_factor", "Smash factor", FC_QUANTITY_NONE, B, 0, 3,
                                     "Ball speed divided by club speed." },
  [FC_FIELD_CLUB_SPEED]          = { "club_speed_mps", "Club speed", FC_QUANTITY_SPEED, C, 0, 90,
                                     "Club head speed just before impact." },
  [FC_FIELD_CLUB_SPEED_AT_IMPACT]= { "club_speed_at_impact_mps", "Club speed at impact location", FC_QUANTITY_SPEED, C, 0, 90,
                                     "Speed of the face point that struck the ball (Foresight)." },
  [FC_FIELD_ATTACK_ANGLE]        = { "attack_angle_deg", "Attack angle", FC_QUANTITY_ANGLE, C, -30, 30,
                                     "Vertical club movement at impact; up is positive." },
  [FC_FIELD_CLUB_PATH]           = { "club_path_deg", "Club path", FC_QUANTITY_ANGLE, C, -45, 45,
                                     "Horizontal club movement relative to the target line; in-to-out (right) is positive." },
  [FC_FIELD_FACE_ANGLE]          = { "face_angle_deg", "Face angle", FC_QUANTITY_ANGLE, C, -45, 45,
                                     "Face direction relative to the target line; open (right) is positive." },
  [FC_FIELD_FACE_TO_PATH]        = { "face_to_path_deg", "Face to path", FC_QUANTITY_ANGLE, C, -60, 60,
                                     "Face angle minus club path." },
  [FC_FIELD_DYNAMIC_LOFT]        = { "dynamic_loft_deg", "Dynamic loft", FC_QUANTITY_ANGLE, C, -30, 90,
                                     "Loft presented at impact." },
  [FC_FIELD_SPIN_LOFT]           = { "spin_loft_deg", "Spin loft", FC_QUANTITY_ANGLE, C, -30, 100,
                                     "Dynamic loft minus attack angle." },
  [FC_FIELD_SWING_PLANE]         = { "swing_plane_deg", "Swing plane", FC_QUANTITY_ANGLE, C, 0, 90,
                                     "Vertical inclination of the swing plane." },
  [FC_FIELD_SWING_DIRECTION]     = { "swing_direction_deg", "Swing direction", FC_QUANTITY_ANGLE, C, -60, 60,
                                     "Horizontal direction of the swing plane; right is positive." },
  [FC_FIELD_SWING_RADIUS]        = { "swing_radius_m", "Swing radius", FC_QUANTITY_LENGTH, C, 0, 5,
                                     "Radius of the club head's arc at impact (TrackMan)." },
  [FC_FIELD_D_PLANE_TILT]        = { "d_plane_tilt_deg", "D-plane tilt", FC_QUANTITY_ANGLE, C, -90, 90,
                                     "Tilt of the D-plane (TrackMan)." },
  [FC_FIELD_DYNAMIC_LIE]         = { "dynamic_lie_deg", "Dynamic lie", FC_QUANTITY_ANGLE, C, 0, 90,
                                     "Shaft angle to the ground at impact (TrackMan definition)." },
  [FC_FIELD_CLUB_LIE]            = { "club_lie_deg", "Lie", FC_QUANTITY_ANGLE, C, -45, 45,
                                     "Sole lie relative to level at impact; toe up is positive (Foresight, Open Connect)." },
  [FC_FIELD_IMPACT_OFFSET]       = { "impact_offset_m", "Impact offset", FC_QUANTITY_LENGTH, C, -0.1, 0.1,
                                     "Impact point across the face from its centre; toward the toe is positive." },
  [FC_FIELD_IMPACT_HEIGHT]       = { "impact_height_m", "Impact height", FC_QUANTITY_LENGTH, C, -0.1, 0.1,
                                     "Impact point up the face from its centre; up is positive." },
  [FC_FIELD_LOW_POINT_DISTANCE]  = { "low_point_distance_m", "Low point distance", FC_QUANTITY_LENGTH, C, -1, 1,
                                     "Low point of the swing arc along the target line; after the ball is positive." },
  [FC_FIELD_LOW_POINT_HEIGHT]    = { "low_point_height_m", "Low point height", FC_QUANTITY_LENGTH, C, -0.5, 0.5,
                                     "Height of the swing arc's low point relative to the ball's bottom." },
  [FC_FIELD_LOW_POINT_SIDE]      = { "low_point_side_m", "Low point side", FC_QUANTITY_LENGTH, C, -1, 1,
                                     "Sideways position of the low point; right is positive." },
  [FC_FIELD_CLOSURE_RATE]        = { "closure_rate_dps", "Closure rate", FC_QUANTITY_ANGULAR_RATE, C, -20000, 20000,
                                     "Rate at which the face closes just before impact." },
  [FC_FIELD_CARRY]               = { "carry_m", "Carry", FC_QUANTITY_DISTANCE, F, 0, 450,
                                     "Distance along the target line to where the ball lands (flat)." },
  [FC_FIELD_TOTAL]               = { "total_m", "Total", FC_QUANTITY_DISTANCE, F, 0, 500,
                                     "Distance along the target line to where the ball stops (flat)." },
  [FC_FIELD_CARRY_SIDE]          = { "carry_side_m", "Carry side", FC_QUANTITY_DISTANCE, F, -200, 200,
                                     "Sideways distance of the landing point from the target line; right is positive." },
  [FC_FIELD_TOTAL_SIDE]          = { "total_side_m", "Total side", FC_QUANTITY_DISTANCE, F, -250, 250,
                                     "Sideways distance of the resting point from the target line; right is positive." },
  [FC_FIELD_CARRY_SIDE_ANGLE]    = { "carry_side_angle_deg", "Carry side angle", FC_QUANTITY_ANGLE, F, -90, 90,
                                     "Angle from the tee between the target line and the landing point; right is positive." },
  [FC_FIELD_TOTAL_SIDE_ANGLE]    = { "total_side_angle_deg", "Total side angle", FC_QUANTITY_ANGLE, F, -90, 90,
                                     "Angle from the tee between the target line and the resting point; right is positive." },
  [FC_FIELD_MAX_HEIGHT]          = { "max_height_m", "Max height", FC_QUANTITY_DISTANCE, F, 0, 150,
                                     "Apex height of the flight." },
  [FC_FIELD_MAX_HEIGHT_DISTANCE] = { "max_height_distance_m", "Max height distance", FC_QUANTITY_DISTANCE, F, 0, 450,
                                     "Distance along the target line at the apex." },
  [FC_FIELD_LANDING_ANGLE]       = { "landing_angle_deg", "Landing angle", FC_QUANTITY_ANGLE, F, 0, 90,
                                     "Descent angle at landing." },
  [FC_FIELD_LANDING_BALL_SPEED]  = { "landing_ball_speed_mps", "Landing ball speed", FC_QUANTITY_SPEED, F, 0, 110,
                                     "Ball speed at landing." },
  [FC_FIELD_HANG_TIME]           = { "hang_time_s", "Hang time", FC_QUANTITY_TIME, F, 0, 20,
                                     "Flight time from impact to landing." },
  [FC_FIELD_CURVE]               = { "curve_m", "Curve", FC_QUANTITY_DISTANCE, F, -200, 200,
                                     "Sideways curve of the flight relative to the launch direction; right is positive." },
  [FC_FIELD_AIR_TEMPERATURE]     = { "air_temperature_degc", "Air temperature", FC_QUANTITY_TEMPERATURE, E, -40, 60,
                                     "Air temperature the device used." },
  [FC_FIELD_AIR_PRESSURE]        = { "air_pressure_pa", "Air pressure", FC_QUANTITY_PRESSURE, E, 50000, 110000,
                                     "Air pressure the device used." },
  [FC_FIELD_AIR_DENSITY]         = { "air_density_kgpm3", "Air density", FC_QUANTITY_DENSITY, E, 0.5, 1.6,
                                     "Air density the device used." },
  [FC_FIELD_RELATIVE_HUMIDITY]   = { "relative_humidity_pct", "Relative humidity", FC_QUANTITY_PERCENT, E, 0, 100,
                                     "Relative humidity the device used." },
};

#undef B
#undef C
#undef F
#undef E

const FcShotFieldInfo *
fc_shot_field_get_info (FcShotField field)
{
  g_return_val_if_fail (field < FC_SHOT_N_FIELDS, NULL);
  return &field_info[field];
}

const char *
fc_shot_field_get_name (FcShotField field)
{
  g_return_val_if_fail (field < FC_SHOT_N_FIELDS, NULL);
  return field_info[field].name;
}

gboolean
fc_shot_field_from_name (const char  *name,
                         FcShotField *field)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    if (strcmp (field_info[i].name, name) == 0)
      {
        if (field)
          *field = i;
        return TRUE;
      }
  return FALSE;
}

gboolean
fc_shot_field_check (FcShotField   field,
                     double        value_si,
                     GError      **error)
{
  const FcShotFieldInfo *info;

  g_return_val_if_fail (field < FC_SHOT_N_FIELDS, FALSE);
  info = &field_info[field];

  if (!isfinite (value_si))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "%s is not a number (%g)", info->label, value_si);
      return FALSE;
    }
  if (value_si < info->min || value_si > info->max)
    {
      FcUnit si = fc_quantity_get_si_unit (info->quantity);
      g_set_error (error, FC_ERROR, FC_ERROR_OUT_OF_RANGE,
                   "%s of %g %s is impossible (expected %g to %g %s); "
                   "check the file's units",
                   info->label, value_si, fc_unit_get_symbol (si),
                   info->min, info->max, fc_unit_get_symbol (si));
      return FALSE;
    }
  return TRUE;
}
