/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "fc-units.h"

G_BEGIN_DECLS

/*
 * Every measured value a shot can carry. The order is the column order
 * of the store, of CSV exports and of the JSON schema (docs/shot-schema.md).
 * New fields are appended (a migration adds the column) so that stored
 * and exported data never change meaning.
 */
typedef enum {
  /* ball launch */
  FC_FIELD_BALL_SPEED,
  FC_FIELD_LAUNCH_ANGLE,
  FC_FIELD_LAUNCH_DIRECTION,
  FC_FIELD_SPIN_RATE,
  FC_FIELD_SPIN_AXIS,
  FC_FIELD_BACK_SPIN,
  FC_FIELD_SIDE_SPIN,
  FC_FIELD_SMASH_FACTOR,
  /* club delivery */
  FC_FIELD_CLUB_SPEED,
  FC_FIELD_CLUB_SPEED_AT_IMPACT,
  FC_FIELD_ATTACK_ANGLE,
  FC_FIELD_CLUB_PATH,
  FC_FIELD_FACE_ANGLE,
  FC_FIELD_FACE_TO_PATH,
  FC_FIELD_DYNAMIC_LOFT,
  FC_FIELD_SPIN_LOFT,
  FC_FIELD_SWING_PLANE,
  FC_FIELD_SWING_DIRECTION,
  FC_FIELD_SWING_RADIUS,
  FC_FIELD_D_PLANE_TILT,
  FC_FIELD_DYNAMIC_LIE,
  FC_FIELD_CLUB_LIE,
  FC_FIELD_IMPACT_OFFSET,
  FC_FIELD_IMPACT_HEIGHT,
  FC_FIELD_LOW_POINT_DISTANCE,
  FC_FIELD_LOW_POINT_HEIGHT,
  FC_FIELD_LOW_POINT_SIDE,
  FC_FIELD_CLOSURE_RATE,
  /* ball flight and landing */
  FC_FIELD_CARRY,
  FC_FIELD_TOTAL,
  FC_FIELD_CARRY_SIDE,
  FC_FIELD_TOTAL_SIDE,
  FC_FIELD_CARRY_SIDE_ANGLE,
  FC_FIELD_TOTAL_SIDE_ANGLE,
  FC_FIELD_MAX_HEIGHT,
  FC_FIELD_MAX_HEIGHT_DISTANCE,
  FC_FIELD_LANDING_ANGLE,
  FC_FIELD_LANDING_BALL_SPEED,
  FC_FIELD_HANG_TIME,
  FC_FIELD_CURVE,
  /* conditions */
  FC_FIELD_AIR_TEMPERATURE,
  FC_FIELD_AIR_PRESSURE,
  FC_FIELD_AIR_DENSITY,
  FC_FIELD_RELATIVE_HUMIDITY,
  FC_SHOT_N_FIELDS
} FcShotField;

G_STATIC_ASSERT (FC_SHOT_N_FIELDS <= 64);   /* presence is a 64-bit mask */

typedef enum {
  FC_FIELD_GROUP_BALL,
  FC_FIELD_GROUP_CLUB,
  FC_FIELD_GROUP_FLIGHT,
  FC_FIELD_GROUP_CONDITIONS,
} FcFieldGroup;

typedef struct {
  const char   *name;        /* JSON key and SQL column, e.g. "ball_speed_mps" */
  const char   *label;       /* short English label for tables and errors */
  FcQuantity    quantity;
  FcFieldGroup  group;
  double        min;         /* plausible range in SI; outside is rejected */
  double        max;
  const char   *description; /* sign convention and meaning, for the docs */
} FcShotFieldInfo;

const FcShotFieldInfo *fc_shot_field_get_info (FcShotField field);
const char            *fc_shot_field_get_name (FcShotField field);
gboolean               fc_shot_field_from_name (const char  *name,
                                                FcShotField *field);
gboolean               fc_shot_field_check    (FcShotField  field,
                                               double       value_si,
                                               GError     **error);

G_END_DECLS
