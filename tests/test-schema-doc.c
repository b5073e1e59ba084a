/* SPDX-License-Identifier: GPL-3.0-or-later */
/* docs/shot-schema.md names every field with its unit and range, exactly
 * as the code has them: the page is the contract the cloud API shares. */
#include <string.h>

#include "fc-shot-field.h"

static const char *
unit_text (FcQuantity q)
{
  switch (q)
    {
    case FC_QUANTITY_NONE:         return "—";
    case FC_QUANTITY_SPEED:        return "m/s";
    case FC_QUANTITY_DISTANCE:
    case FC_QUANTITY_LENGTH:       return "m";
    case FC_QUANTITY_ANGLE:        return "deg";
    case FC_QUANTITY_SPIN:         return "rpm";
    case FC_QUANTITY_TIME:         return "s";
    case FC_QUANTITY_ANGULAR_RATE: return "deg/s";
    case FC_QUANTITY_TEMPERATURE:  return "°C";
    case FC_QUANTITY_PRESSURE:     return "Pa";
    case FC_QUANTITY_DENSITY:      return "kg/m³";
    case FC_QUANTITY_PERCENT:      return "%";
    default:                       g_assert_not_reached ();
    }
}

static void
test_every_field_documented (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "docs", "shot-schema.md", NULL);
  g_autofree char *doc = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &doc, NULL, &error);
  g_assert_no_error (error);
  for (FcShotField f = 0; f < FC_SHOT_N_FIELDS; f++)
    {
      const FcShotFieldInfo *info = fc_shot_field_get_info (f);
      g_autofree char *row = g_strdup_printf ("| `%s` | %s | %s | %g … %g | %s |", info->name,
                                              info->label, unit_text (info->quantity),
                                              info->min, info->max, info->description);
      if (strstr (doc, row) == NULL)
        g_error ("docs/shot-schema.md lacks or differs from the row\n%s", row);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/schema-doc/every-field-documented", test_every_field_documented);
  return g_test_run ();
}
