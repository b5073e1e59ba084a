/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "fc-units.h"

#include <math.h>

/* Conversions are checked against the legal definitions, exactly where
 * the arithmetic allows and to one part in 1e-15 elsewhere. */
static void
assert_close (double a, double b)
{
  double tol = 1e-15 * MAX (1.0, MAX (fabs (a), fabs (b)));
  if (fabs (a - b) > tol)
    g_error ("%.17g != %.17g", a, b);
}

static void
test_exact_factors (void)
{
  g_assert_cmpfloat (fc_unit_to_si (FC_UNIT_MILES_PER_HOUR, 1.0), ==, 0.44704);
  g_assert_cmpfloat (fc_unit_to_si (FC_UNIT_YARDS, 1.0), ==, 0.9144);
  g_assert_cmpfloat (fc_unit_to_si (FC_UNIT_FEET, 1.0), ==, 0.3048);
  g_assert_cmpfloat (fc_unit_to_si (FC_UNIT_INCHES, 1.0), ==, 0.0254);
  g_assert_cmpfloat (fc_unit_to_si (FC_UNIT_MILLIMETERS, 25.4), ==, 25.4 * 0.001);
  g_assert_cmpfloat (fc_unit_to_si (FC_UNIT_KILOMETERS_PER_HOUR, 36.0), ==, 10.0);
  g_assert_cmpfloat (fc_unit_to_si (FC_UNIT_KILOPASCAL, 101.325), ==, 101.325 * 1000);
  g_assert_cmpfloat (fc_unit_to_si (FC_UNIT_FAHRENHEIT, 212.0), ==, 100.0);
  g_assert_cmpfloat (fc_unit_to_si (FC_UNIT_FAHRENHEIT, 32.0), ==, 0.0);
  g_assert_cmpfloat (fc_unit_to_si (FC_UNIT_FAHRENHEIT, -40.0), ==, -40.0);
  /* 100 mph = 44.704 m/s; 250 yd = 228.6 m; 1 mile = 1760 yd */
  assert_close (fc_unit_to_si (FC_UNIT_MILES_PER_HOUR, 100.0), 44.704);
  assert_close (fc_unit_to_si (FC_UNIT_YARDS, 250.0), 228.6);
  assert_close (fc_unit_to_si (FC_UNIT_YARDS, 1760.0), 1609.344);
  assert_close (fc_unit_to_si (FC_UNIT_FEET, 3.0), fc_unit_to_si (FC_UNIT_YARDS, 1.0));
  assert_close (fc_unit_to_si (FC_UNIT_INCHES, 12.0), fc_unit_to_si (FC_UNIT_FEET, 1.0));
  assert_close (fc_unit_to_si (FC_UNIT_RADIANS, G_PI), 180.0);
}

static void
test_round_trip (void)
{
  for (FcUnit u = FC_UNIT_RATIO; u < FC_N_UNITS; u++)
    {
      const double samples[] = { -40.0, 0.0, 1.0, 2.5, 73.7, 1234.5678 };
      for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
        assert_close (fc_unit_from_si (u, fc_unit_to_si (u, samples[i])), samples[i]);
    }
  g_assert_cmpfloat (fc_unit_from_si (FC_UNIT_KILOMETERS_PER_HOUR, 10.0), ==, 36.0);
  g_assert_cmpfloat (fc_unit_from_si (FC_UNIT_MILES_PER_HOUR, 0.44704), ==, 1.0);
  g_assert_cmpfloat (fc_unit_from_si (FC_UNIT_YARDS, 0.9144), ==, 1.0);
}

static void
test_parse (void)
{
  g_assert_cmpint (fc_unit_parse ("[mph]"), ==, FC_UNIT_MILES_PER_HOUR);
  g_assert_cmpint (fc_unit_parse ("(m/s)"), ==, FC_UNIT_METERS_PER_SECOND);
  g_assert_cmpint (fc_unit_parse ("km/h"), ==, FC_UNIT_KILOMETERS_PER_HOUR);
  g_assert_cmpint (fc_unit_parse ("[yds]"), ==, FC_UNIT_YARDS);
  g_assert_cmpint (fc_unit_parse ("[Yards]"), ==, FC_UNIT_YARDS);
  g_assert_cmpint (fc_unit_parse ("[ft]"), ==, FC_UNIT_FEET);
  g_assert_cmpint (fc_unit_parse ("[in]"), ==, FC_UNIT_INCHES);
  g_assert_cmpint (fc_unit_parse ("[mm]"), ==, FC_UNIT_MILLIMETERS);
  g_assert_cmpint (fc_unit_parse ("[deg]"), ==, FC_UNIT_DEGREES);
  g_assert_cmpint (fc_unit_parse ("°"), ==, FC_UNIT_DEGREES);
  g_assert_cmpint (fc_unit_parse ("[rpm]"), ==, FC_UNIT_RPM);
  g_assert_cmpint (fc_unit_parse ("[s]"), ==, FC_UNIT_SECONDS);
  g_assert_cmpint (fc_unit_parse ("[]"), ==, FC_UNIT_RATIO);
  g_assert_cmpint (fc_unit_parse ("deg/sec"), ==, FC_UNIT_DEGREES_PER_SECOND);
  g_assert_cmpint (fc_unit_parse ("[deg C]"), ==, FC_UNIT_CELSIUS);
  g_assert_cmpint (fc_unit_parse ("[deg F]"), ==, FC_UNIT_FAHRENHEIT);
  g_assert_cmpint (fc_unit_parse ("[kPa]"), ==, FC_UNIT_KILOPASCAL);
  g_assert_cmpint (fc_unit_parse ("[g/L]"), ==, FC_UNIT_GRAMS_PER_LITER);
  g_assert_cmpint (fc_unit_parse ("[%]"), ==, FC_UNIT_PERCENT);
  g_assert_cmpint (fc_unit_parse ("furlongs"), ==, FC_UNIT_INVALID);
  g_assert_cmpint (fc_unit_parse ("[m/h]"), ==, FC_UNIT_INVALID);
}

static void
test_quantity (void)
{
  g_assert_true (fc_quantity_accepts_unit (FC_QUANTITY_LENGTH, FC_UNIT_MILLIMETERS));
  g_assert_true (fc_quantity_accepts_unit (FC_QUANTITY_DISTANCE, FC_UNIT_YARDS));
  g_assert_false (fc_quantity_accepts_unit (FC_QUANTITY_SPEED, FC_UNIT_YARDS));
  g_assert_false (fc_quantity_accepts_unit (FC_QUANTITY_ANGLE, FC_UNIT_RATIO));
  g_assert_true (fc_quantity_accepts_unit (FC_QUANTITY_NONE, FC_UNIT_RATIO));
  for (FcQuantity q = FC_QUANTITY_NONE; q < FC_N_QUANTITIES; q++)
    g_assert_true (fc_quantity_accepts_unit (q, fc_quantity_get_si_unit (q)));
}

static void
test_display (void)
{
  FcDisplayUnits imperial, metric;
  g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

  fc_display_units_init_imperial (&imperial);
  fc_display_units_init_metric (&metric);

  a = fc_format_value (&imperial, FC_QUANTITY_SPEED, 44.704, TRUE);
  g_assert_cmpstr (a, ==, "100.0 mph");
  b = fc_format_value (&imperial, FC_QUANTITY_DISTANCE, 228.6, TRUE);
  g_assert_cmpstr (b, ==, "250.0 yd");
  c = fc_format_value (&metric, FC_QUANTITY_LENGTH, 0.0254, TRUE);
  g_assert_cmpstr (c, ==, "25 mm");
  d = fc_format_value (&metric, FC_QUANTITY_SPIN, NAN, TRUE);
  g_assert_cmpstr (d, ==, "—");
  e = fc_format_value (&metric, FC_QUANTITY_ANGLE, -0.01, TRUE);
  g_assert_cmpstr (e, ==, "0.0°");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/units/exact-factors", test_exact_factors);
  g_test_add_func ("/units/round-trip", test_round_trip);
  g_test_add_func ("/units/parse", test_parse);
  g_test_add_func ("/units/quantity", test_quantity);
  g_test_add_func ("/units/display", test_display);
  return g_test_run ();
}
