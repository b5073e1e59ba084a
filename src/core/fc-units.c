/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-units"

#include "fc-units.h"

#include <math.h>
#include <string.h>

typedef struct {
  FcQuantity  quantity;
  const char *symbol;
  /* si = value * scale + offset */
  double      scale;
  double      offset;
} UnitInfo;

/* Factors are the exact legal definitions where one exists. */
static const UnitInfo unit_info[FC_N_UNITS] = {
  [FC_UNIT_INVALID]                   = { FC_N_QUANTITIES,          "?",      0, 0 },
  [FC_UNIT_RATIO]                     = { FC_QUANTITY_NONE,         "",       1, 0 },
  [FC_UNIT_METERS_PER_SECOND]         = { FC_QUANTITY_SPEED,        "m/s",    1, 0 },
  [FC_UNIT_KILOMETERS_PER_HOUR]       = { FC_QUANTITY_SPEED,        "km/h",   1.0 / 3.6, 0 },
  [FC_UNIT_MILES_PER_HOUR]            = { FC_QUANTITY_SPEED,        "mph",    FC_MPS_PER_MPH, 0 },
  [FC_UNIT_METERS]                    = { FC_QUANTITY_DISTANCE,     "m",      1, 0 },
  [FC_UNIT_YARDS]                     = { FC_QUANTITY_DISTANCE,     "yd",     FC_METERS_PER_YARD, 0 },
  [FC_UNIT_FEET]                      = { FC_QUANTITY_DISTANCE,     "ft",     FC_METERS_PER_FOOT, 0 },
  [FC_UNIT_INCHES]                    = { FC_QUANTITY_DISTANCE,     "in",     FC_METERS_PER_INCH, 0 },
  [FC_UNIT_CENTIMETERS]               = { FC_QUANTITY_DISTANCE,     "cm",     0.01, 0 },
  [FC_UNIT_MILLIMETERS]               = { FC_QUANTITY_DISTANCE,     "mm",     0.001, 0 },
  [FC_UNIT_DEGREES]                   = { FC_QUANTITY_ANGLE,        "°",      1, 0 },
  [FC_UNIT_RADIANS]                   = { FC_QUANTITY_ANGLE,        "rad",    180.0 / G_PI, 0 },
  [FC_UNIT_RPM]                       = { FC_QUANTITY_SPIN,         "rpm",    1, 0 },
  [FC_UNIT_SECONDS]                   = { FC_QUANTITY_TIME,         "s",      1, 0 },
  [FC_UNIT_MILLISECONDS]              = { FC_QUANTITY_TIME,         "ms",     0.001, 0 },
  [FC_UNIT_DEGREES_PER_SECOND]        = { FC_QUANTITY_ANGULAR_RATE, "°/s",    1, 0 },
  [FC_UNIT_CELSIUS]                   = { FC_QUANTITY_TEMPERATURE,  "°C",     1, 0 },
  [FC_UNIT_FAHRENHEIT]                = { FC_QUANTITY_TEMPERATURE,  "°F",     5.0 / 9.0, -32.0 * 5.0 / 9.0 },
  [FC_UNIT_PASCAL]                    = { FC_QUANTITY_PRESSURE,     "Pa",     1, 0 },
  [FC_UNIT_HECTOPASCAL]               = { FC_QUANTITY_PRESSURE,     "hPa",    100, 0 },
  [FC_UNIT_KILOPASCAL]                = { FC_QUANTITY_PRESSURE,     "kPa",    1000, 0 },
  [FC_UNIT_INCHES_OF_MERCURY]         = { FC_QUANTITY_PRESSURE,     "inHg",   FC_PASCAL_PER_INHG, 0 },
  [FC_UNIT_MILLIBAR]                  = { FC_QUANTITY_PRESSURE,     "mbar",   100, 0 },
  [FC_UNIT_KILOGRAMS_PER_CUBIC_METER] = { FC_QUANTITY_DENSITY,      "kg/m³",  1, 0 },
  [FC_UNIT_GRAMS_PER_LITER]           = { FC_QUANTITY_DENSITY,      "g/L",    1, 0 },
  [FC_UNIT_PERCENT]                   = { FC_QUANTITY_PERCENT,      "%",      1, 0 },
};

/* Spellings seen in launch-monitor exports, compared after lower-casing
 * and removing blanks, brackets and parentheses. */
static const struct {
  const char *text;
  FcUnit      unit;
} unit_aliases[] = {
  { "",        FC_UNIT_RATIO },
  { "x",       FC_UNIT_RATIO },
  { "ratio",   FC_UNIT_RATIO },
  { "m/s",     FC_UNIT_METERS_PER_SECOND },
  { "mps",     FC_UNIT_METERS_PER_SECOND },
  { "km/h",    FC_UNIT_KILOMETERS_PER_HOUR },
  { "kmh",     FC_UNIT_KILOMETERS_PER_HOUR },
  { "kph",     FC_UNIT_KILOMETERS_PER_HOUR },
  { "mph",     FC_UNIT_MILES_PER_HOUR },
  { "m",       FC_UNIT_METERS },
  { "meter",   FC_UNIT_METERS },
  { "meters",  FC_UNIT_METERS },
  { "metre",   FC_UNIT_METERS },
  { "metres",  FC_UNIT_METERS },
  { "yd",      FC_UNIT_YARDS },
  { "yds",     FC_UNIT_YARDS },
  { "yard",    FC_UNIT_YARDS },
  { "yards",   FC_UNIT_YARDS },
  { "ft",      FC_UNIT_FEET },
  { "feet",    FC_UNIT_FEET },
  { "foot",    FC_UNIT_FEET },
  { "in",      FC_UNIT_INCHES },
  { "inch",    FC_UNIT_INCHES },
  { "inches",  FC_UNIT_INCHES },
  { "cm",      FC_UNIT_CENTIMETERS },
  { "mm",      FC_UNIT_MILLIMETERS },
  { "deg",     FC_UNIT_DEGREES },
  { "degree",  FC_UNIT_DEGREES },
  { "degrees", FC_UNIT_DEGREES },
  { "°",       FC_UNIT_DEGREES },
  { "rad",     FC_UNIT_RADIANS },
  { "rpm",     FC_UNIT_RPM },
  { "s",       FC_UNIT_SECONDS },
  { "sec",     FC_UNIT_SECONDS },
  { "secs",    FC_UNIT_SECONDS },
  { "second",  FC_UNIT_SECONDS },
  { "seconds", FC_UNIT_SECONDS },
  { "ms",      FC_UNIT_MILLISECONDS },
  { "deg/s",   FC_UNIT_DEGREES_PER_SECOND },
  { "deg/sec", FC_UNIT_DEGREES_PER_SECOND },
  { "°/s",     FC_UNIT_DEGREES_PER_SECOND },
  { "dps",     FC_UNIT_DEGREES_PER_SECOND },
  { "degc",    FC_UNIT_CELSIUS },
  { "°c",      FC_UNIT_CELSIUS },
  { "c",       FC_UNIT_CELSIUS },
  { "celsius", FC_UNIT_CELSIUS },
  { "degf",    FC_UNIT_FAHRENHEIT },
  { "°f",      FC_UNIT_FAHRENHEIT },
  { "f",       FC_UNIT_FAHRENHEIT },
  { "fahrenheit", FC_UNIT_FAHRENHEIT },
  { "pa",      FC_UNIT_PASCAL },
  { "hpa",     FC_UNIT_HECTOPASCAL },
  { "kpa",     FC_UNIT_KILOPASCAL },
  { "inhg",    FC_UNIT_INCHES_OF_MERCURY },
  { "mbar",    FC_UNIT_MILLIBAR },
  { "mb",      FC_UNIT_MILLIBAR },
  { "kg/m3",   FC_UNIT_KILOGRAMS_PER_CUBIC_METER },
  { "kg/m^3",  FC_UNIT_KILOGRAMS_PER_CUBIC_METER },
  { "kg/m³",   FC_UNIT_KILOGRAMS_PER_CUBIC_METER },
  { "g/l",     FC_UNIT_GRAMS_PER_LITER },
  { "%",       FC_UNIT_PERCENT },
  { "pct",     FC_UNIT_PERCENT },
  { "percent", FC_UNIT_PERCENT },
};

static const char *quantity_names[FC_N_QUANTITIES] = {
  [FC_QUANTITY_NONE]         = "ratio",
  [FC_QUANTITY_SPEED]        = "speed",
  [FC_QUANTITY_DISTANCE]     = "distance",
  [FC_QUANTITY_LENGTH]       = "length",
  [FC_QUANTITY_ANGLE]        = "angle",
  [FC_QUANTITY_SPIN]         = "spin",
  [FC_QUANTITY_TIME]         = "time",
  [FC_QUANTITY_ANGULAR_RATE] = "angular rate",
  [FC_QUANTITY_TEMPERATURE]  = "temperature",
  [FC_QUANTITY_PRESSURE]     = "pressure",
  [FC_QUANTITY_DENSITY]      = "density",
  [FC_QUANTITY_PERCENT]      = "percent",
};

FcQuantity
fc_unit_get_quantity (FcUnit unit)
{
  g_return_val_if_fail (unit > FC_UNIT_INVALID && unit < FC_N_UNITS, FC_N_QUANTITIES);

  /* Lengths (impact location, low point) share the distance units. */
  return unit_info[unit].quantity;
}

FcUnit
fc_quantity_get_si_unit (FcQuantity quantity)
{
  switch (quantity)
    {
    case FC_QUANTITY_NONE:         return FC_UNIT_RATIO;
    case FC_QUANTITY_SPEED:        return FC_UNIT_METERS_PER_SECOND;
    case FC_QUANTITY_DISTANCE:
    case FC_QUANTITY_LENGTH:       return FC_UNIT_METERS;
    case FC_QUANTITY_ANGLE:        return FC_UNIT_DEGREES;
    case FC_QUANTITY_SPIN:         return FC_UNIT_RPM;
    case FC_QUANTITY_TIME:         return FC_UNIT_SECONDS;
    case FC_QUANTITY_ANGULAR_RATE: return FC_UNIT_DEGREES_PER_SECOND;
    case FC_QUANTITY_TEMPERATURE:  return FC_UNIT_CELSIUS;
    case FC_QUANTITY_PRESSURE:     return FC_UNIT_PASCAL;
    case FC_QUANTITY_DENSITY:      return FC_UNIT_KILOGRAMS_PER_CUBIC_METER;
    case FC_QUANTITY_PERCENT:      return FC_UNIT_PERCENT;
    case FC_N_QUANTITIES:
    default:
      g_return_val_if_reached (FC_UNIT_INVALID);
    }
}

const char *
fc_unit_get_symbol (FcUnit unit)
{
  g_return_val_if_fail (unit < FC_N_UNITS, "?");
  return unit_info[unit].symbol;
}

const char *
fc_quantity_get_name (FcQuantity quantity)
{
  g_return_val_if_fail (quantity < FC_N_QUANTITIES, "?");
  return quantity_names[quantity];
}

double
fc_unit_to_si (FcUnit unit,
               double value)
{
  g_return_val_if_fail (unit > FC_UNIT_INVALID && unit < FC_N_UNITS, NAN);

  if (unit_info[unit].scale == 1 && unit_info[unit].offset == 0)
    return value;
  if (unit == FC_UNIT_KILOMETERS_PER_HOUR)
    return value / 3.6;   /* divide: 1/3.6 is not exact in binary */
  if (unit == FC_UNIT_FAHRENHEIT)
    return (value - 32.0) * 5.0 / 9.0;
  return value * unit_info[unit].scale + unit_info[unit].offset;
}

double
fc_unit_from_si (FcUnit unit,
                 double value_si)
{
  g_return_val_if_fail (unit > FC_UNIT_INVALID && unit < FC_N_UNITS, NAN);

  if (unit_info[unit].scale == 1 && unit_info[unit].offset == 0)
    return value_si;
  if (unit == FC_UNIT_KILOMETERS_PER_HOUR)
    return value_si * 3.6;
  if (unit == FC_UNIT_FAHRENHEIT)
    return value_si * 9.0 / 5.0 + 32.0;
  return (value_si - unit_info[unit].offset) / unit_info[unit].scale;
}

FcUnit
fc_unit_parse (const char *text)
{
  g_autoptr(GString) key = NULL;

  g_return_val_if_fail (text != NULL, FC_UNIT_INVALID);

  key = g_string_new (NULL);
  for (const char *p = text; *p; p++)
    {
      if (*p == ' ' || *p == '\t' || *p == '[' || *p == ']' || *p == '(' || *p == ')')
        continue;
      g_string_append_c (key, g_ascii_tolower (*p));
    }

  /* "°C" lower-cases to "°c" since the degree sign is not ASCII. */
  for (gsize i = 0; i < G_N_ELEMENTS (unit_aliases); i++)
    if (strcmp (key->str, unit_aliases[i].text) == 0)
      return unit_aliases[i].unit;

  return FC_UNIT_INVALID;
}

/* Lengths (impact location, low point) are written in the same units
 * as distances, only shown differently. */
gboolean
fc_quantity_accepts_unit (FcQuantity quantity,
                          FcUnit     unit)
{
  FcQuantity uq;

  if (unit <= FC_UNIT_INVALID || unit >= FC_N_UNITS)
    return FALSE;
  uq = unit_info[unit].quantity;
  if (quantity == FC_QUANTITY_LENGTH)
    quantity = FC_QUANTITY_DISTANCE;
  return uq == quantity;
}

void
fc_display_units_init_imperial (FcDisplayUnits *units)
{
  units->speed = FC_UNIT_MILES_PER_HOUR;
  units->distance = FC_UNIT_YARDS;
  units->length = FC_UNIT_INCHES;
  units->temperature = FC_UNIT_FAHRENHEIT;
}

void
fc_display_units_init_metric (FcDisplayUnits *units)
{
  units->speed = FC_UNIT_METERS_PER_SECOND;
  units->distance = FC_UNIT_METERS;
  units->length = FC_UNIT_MILLIMETERS;
  units->temperature = FC_UNIT_CELSIUS;
}

FcUnit
fc_display_units_for_quantity (const FcDisplayUnits *units,
                               FcQuantity            quantity)
{
  switch (quantity)
    {
    case FC_QUANTITY_SPEED:       return units->speed;
    case FC_QUANTITY_DISTANCE:    return units->distance;
    case FC_QUANTITY_LENGTH:      return units->length;
    case FC_QUANTITY_TEMPERATURE: return units->temperature;
    default:                      return fc_quantity_get_si_unit (quantity);
    }
}

static int
display_decimals (FcQuantity quantity,
                  FcUnit     unit)
{
  switch (quantity)
    {
    case FC_QUANTITY_NONE:         return 2;
    case FC_QUANTITY_SPIN:         return 0;
    case FC_QUANTITY_ANGULAR_RATE: return 0;
    case FC_QUANTITY_PRESSURE:     return unit == FC_UNIT_PASCAL ? 0 : 1;
    case FC_QUANTITY_DENSITY:      return 3;
    case FC_QUANTITY_TIME:         return 2;
    case FC_QUANTITY_LENGTH:       return unit == FC_UNIT_MILLIMETERS ? 0 : 2;
    default:                       return 1;
    }
}

char *
fc_format_value (const FcDisplayUnits *units,
                 FcQuantity            quantity,
                 double                value_si,
                 gboolean              with_symbol)
{
  FcUnit unit = fc_display_units_for_quantity (units, quantity);
  double v;
  const char *symbol;

  if (isnan (value_si))
    return g_strdup ("—");

  v = fc_unit_from_si (unit, value_si);
  symbol = fc_unit_get_symbol (unit);
  /* Avoid "-0.0" for values that round to zero. */
  if (fabs (v) < 0.5 * pow (10, -display_decimals (quantity, unit)))
    v = 0;
  if (with_symbol && symbol[0] != '\0')
    return g_strdup_printf ("%.*f%s%s", display_decimals (quantity, unit), v,
                            (symbol[0] == '\xc2') ? "" : " ", symbol);
  return g_strdup_printf ("%.*f", display_decimals (quantity, unit), v);
}
