/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * What a value measures. Every quantity has one SI (or customary
 * scientific) storage unit; the store and the JSON schema use only that.
 */
typedef enum {
  FC_QUANTITY_NONE,          /* dimensionless ratio, e.g. smash factor */
  FC_QUANTITY_SPEED,         /* stored in m/s */
  FC_QUANTITY_DISTANCE,      /* stored in m (carry, height, side) */
  FC_QUANTITY_LENGTH,        /* stored in m, shown in mm/in (impact) */
  FC_QUANTITY_ANGLE,         /* stored in degrees */
  FC_QUANTITY_SPIN,          /* stored in rpm */
  FC_QUANTITY_TIME,          /* stored in s */
  FC_QUANTITY_ANGULAR_RATE,  /* stored in deg/s */
  FC_QUANTITY_TEMPERATURE,   /* stored in degrees Celsius */
  FC_QUANTITY_PRESSURE,      /* stored in Pa */
  FC_QUANTITY_DENSITY,       /* stored in kg/m^3 */
  FC_QUANTITY_PERCENT,       /* stored in % */
  FC_N_QUANTITIES
} FcQuantity;

typedef enum {
  FC_UNIT_INVALID = 0,
  FC_UNIT_RATIO,
  /* speed */
  FC_UNIT_METERS_PER_SECOND,
  FC_UNIT_KILOMETERS_PER_HOUR,
  FC_UNIT_MILES_PER_HOUR,
  /* distance and length */
  FC_UNIT_METERS,
  FC_UNIT_YARDS,
  FC_UNIT_FEET,
  FC_UNIT_INCHES,
  FC_UNIT_CENTIMETERS,
  FC_UNIT_MILLIMETERS,
  /* angle */
  FC_UNIT_DEGREES,
  FC_UNIT_RADIANS,
  /* spin */
  FC_UNIT_RPM,
  /* time */
  FC_UNIT_SECONDS,
  FC_UNIT_MILLISECONDS,
  /* angular rate */
  FC_UNIT_DEGREES_PER_SECOND,
  /* temperature */
  FC_UNIT_CELSIUS,
  FC_UNIT_FAHRENHEIT,
  /* pressure */
  FC_UNIT_PASCAL,
  FC_UNIT_HECTOPASCAL,
  FC_UNIT_KILOPASCAL,
  FC_UNIT_INCHES_OF_MERCURY,
  FC_UNIT_MILLIBAR,
  /* density */
  FC_UNIT_KILOGRAMS_PER_CUBIC_METER,
  FC_UNIT_GRAMS_PER_LITER,
  /* percent */
  FC_UNIT_PERCENT,
  FC_N_UNITS
} FcUnit;

/* Exact definitions (international yard and pound agreement, 1959). */
#define FC_METERS_PER_YARD   0.9144
#define FC_METERS_PER_FOOT   0.3048
#define FC_METERS_PER_INCH   0.0254
#define FC_MPS_PER_MPH       0.44704   /* 1609.344 m / 3600 s */
#define FC_PASCAL_PER_INHG   3386.389  /* conventional, at 0 degC */

FcQuantity   fc_unit_get_quantity   (FcUnit      unit);
FcUnit       fc_quantity_get_si_unit (FcQuantity quantity);
const char  *fc_unit_get_symbol     (FcUnit      unit);
const char  *fc_quantity_get_name   (FcQuantity  quantity);

double       fc_unit_to_si          (FcUnit      unit,
                                     double      value);
double       fc_unit_from_si        (FcUnit      unit,
                                     double      value_si);

FcUnit       fc_unit_parse          (const char *text);
gboolean     fc_quantity_accepts_unit (FcQuantity quantity,
                                       FcUnit     unit);

/* Display units: one choice per quantity, e.g. imperial or metric. */
typedef struct {
  FcUnit speed;
  FcUnit distance;
  FcUnit length;
  FcUnit temperature;
} FcDisplayUnits;

void         fc_display_units_init_imperial (FcDisplayUnits *units);
void         fc_display_units_init_metric   (FcDisplayUnits *units);
FcUnit       fc_display_units_for_quantity  (const FcDisplayUnits *units,
                                             FcQuantity            quantity);
char        *fc_format_value                (const FcDisplayUnits *units,
                                             FcQuantity            quantity,
                                             double                value_si,
                                             gboolean              with_symbol);

G_END_DECLS
