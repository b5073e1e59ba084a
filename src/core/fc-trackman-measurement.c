/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-trackman"

#include "fc-trackman-measurement.h"
#include "fc-error.h"
#include "fc-json-reader.h"

#include <math.h>

static const struct {
  const char  *key;
  FcShotField  field;
} measurement_keys[] = {
  { "BallSpeed",        FC_FIELD_BALL_SPEED },
  { "LaunchAngle",      FC_FIELD_LAUNCH_ANGLE },
  { "LaunchDirection",  FC_FIELD_LAUNCH_DIRECTION },
  { "SpinRate",         FC_FIELD_SPIN_RATE },
  { "SpinAxis",         FC_FIELD_SPIN_AXIS },
  { "SmashFactor",      FC_FIELD_SMASH_FACTOR },
  { "ClubSpeed",        FC_FIELD_CLUB_SPEED },
  { "AttackAngle",      FC_FIELD_ATTACK_ANGLE },
  { "ClubPath",         FC_FIELD_CLUB_PATH },
  { "FaceAngle",        FC_FIELD_FACE_ANGLE },
  { "FaceToPath",       FC_FIELD_FACE_TO_PATH },
  { "DynamicLoft",      FC_FIELD_DYNAMIC_LOFT },
  { "SpinLoft",         FC_FIELD_SPIN_LOFT },
  { "SwingPlane",       FC_FIELD_SWING_PLANE },
  { "SwingDirection",   FC_FIELD_SWING_DIRECTION },
  { "SwingRadius",      FC_FIELD_SWING_RADIUS },
  { "DPlaneTilt",       FC_FIELD_D_PLANE_TILT },
  { "DynamicLie",       FC_FIELD_DYNAMIC_LIE },
  { "ImpactOffset",     FC_FIELD_IMPACT_OFFSET },
  { "ImpactHeight",     FC_FIELD_IMPACT_HEIGHT },
  { "LowPointDistance", FC_FIELD_LOW_POINT_DISTANCE },
  { "LowPointHeight",   FC_FIELD_LOW_POINT_HEIGHT },
  { "LowPointSide",     FC_FIELD_LOW_POINT_SIDE },
  { "Carry",            FC_FIELD_CARRY },
  { "Total",            FC_FIELD_TOTAL },
  { "CarrySide",        FC_FIELD_CARRY_SIDE },
  { "TotalSide",        FC_FIELD_TOTAL_SIDE },
  { "MaxHeight",        FC_FIELD_MAX_HEIGHT },
  { "LandingAngle",     FC_FIELD_LANDING_ANGLE },
  { "HangTime",         FC_FIELD_HANG_TIME },
  { "Curve",            FC_FIELD_CURVE },
};

FcShot *
fc_trackman_measurement_to_shot (JsonObject  *m,
                                 const char  *where,
                                 GError     **error)
{
  g_autoptr(FcShot) shot = fc_shot_new ();
  g_autoptr(GError) local = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (measurement_keys); i++)
    {
      JsonNode *n = json_object_get_member (m, measurement_keys[i].key);
      GType type;
      double v;

      if (n == NULL || JSON_NODE_HOLDS_NULL (n))
        continue;
      type = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
      if (type != G_TYPE_DOUBLE && type != G_TYPE_INT64)
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                       "%s: %s must be a number", where, measurement_keys[i].key);
          return NULL;
        }
      v = json_node_get_double (n);
      if (!fc_shot_field_check (measurement_keys[i].field, v, &local))
        {
          g_set_error (error, FC_ERROR, local->code, "%s: %s: %s", where,
                       measurement_keys[i].key, local->message);
          return NULL;
        }
      fc_shot_set (shot, measurement_keys[i].field, v);
    }

  shot->device_shot_id = fc_json_dup_text (m, "Id");
  shot->device_time = fc_json_dup_text (m, "Time");
  shot->club = fc_json_dup_text (m, "Club");
  fc_shot_complete_spin (shot);

  if (!fc_shot_validate (shot, error))
    {
      g_prefix_error (error, "%s: ", where);
      return NULL;
    }
  return g_steal_pointer (&shot);
}
