/* SPDX-License-Identifier: GPL-3.0-or-later */
/* docs/cloud-api.yaml lists the shot's measured values (ShotValues) with
 * their plausible ranges. The cloud and the agent must agree on them, so
 * the list is checked against the field table the store uses, in order. */
#include <string.h>

#include "fc-shot-field.h"

typedef struct {
  char   *name;
  double  min;
  double  max;
  char   *description;
  guint   seen;         /* bit 0 type, bit 1 nullable, bit 2 min, bit 3 max */
} Property;

static void
property_free (Property *p)
{
  g_free (p->name);
  g_free (p->description);
  g_free (p);
}

static guint
indent_of (const char *line)
{
  guint n = 0;

  while (line[n] == ' ')
    n++;
  return n;
}

/* A small reader for the one block we check, not a YAML parser: the
 * block is written in a fixed shape (one property per 8-space key, its
 * attributes at 10 spaces), and anything else in it fails the test. */
static GPtrArray *
read_shot_values (const char *doc)
{
  g_autoptr(GPtrArray) props = g_ptr_array_new_with_free_func ((GDestroyNotify) property_free);
  g_auto(GStrv) lines = g_strsplit (doc, "\n", -1);
  guint i = 0;
  Property *cur = NULL;

  while (lines[i] && strcmp (lines[i], "    ShotValues:") != 0)
    i++;
  g_assert_nonnull (lines[i]);
  i++;
  while (lines[i] && strcmp (lines[i], "      properties:") != 0)
    {
      g_assert_cmpuint (indent_of (lines[i]), ==, 6);
      i++;
    }
  g_assert_nonnull (lines[i]);
  for (i++; lines[i]; i++)
    {
      const char *line = lines[i];
      guint indent = indent_of (line);
      const char *text = line + indent;

      if (*text == '\0')
        continue;
      if (indent <= 4)
        break;
      if (indent == 8)
        {
          g_assert_true (g_str_has_suffix (text, ":"));
          cur = g_new0 (Property, 1);
          cur->name = g_strndup (text, strlen (text) - 1);
          g_ptr_array_add (props, cur);
        }
      else if (indent == 10 && cur != NULL)
        {
          if (strcmp (text, "type: number") == 0)
            cur->seen |= 1;
          else if (strcmp (text, "nullable: true") == 0)
            cur->seen |= 2;
          else if (g_str_has_prefix (text, "minimum: "))
            {
              cur->min = g_ascii_strtod (text + 9, NULL);
              cur->seen |= 4;
            }
          else if (g_str_has_prefix (text, "maximum: "))
            {
              cur->max = g_ascii_strtod (text + 9, NULL);
              cur->seen |= 8;
            }
          else if (g_str_has_prefix (text, "description: "))
            cur->description = g_strdup (text + 13);
          else
            g_error ("docs/cloud-api.yaml, ShotValues.%s: unexpected line “%s”", cur->name, text);
        }
      else
        g_error ("docs/cloud-api.yaml, ShotValues: unexpected line “%s”", line);
    }
  return g_steal_pointer (&props);
}

static void
test_shot_values_match_field_table (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "docs", "cloud-api.yaml", NULL);
  g_autofree char *doc = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) props = NULL;

  g_file_get_contents (path, &doc, NULL, &error);
  g_assert_no_error (error);
  props = read_shot_values (doc);

  for (FcShotField f = 0; f < MIN (FC_SHOT_N_FIELDS, props->len); f++)
    {
      const FcShotFieldInfo *info = fc_shot_field_get_info (f);
      Property *p = g_ptr_array_index (props, f);

      if (strcmp (p->name, info->name) != 0)
        g_error ("docs/cloud-api.yaml: ShotValues property %u is “%s”, the field table has “%s”",
                 f, p->name, info->name);
      g_assert_cmpuint (p->seen, ==, 15);
      if (p->min != info->min || p->max != info->max)
        g_error ("docs/cloud-api.yaml: %s has range %g … %g, the field table %g … %g",
                 p->name, p->min, p->max, info->min, info->max);
      g_assert_nonnull (p->description);
      if (strstr (p->description, info->label) == NULL)
        g_error ("docs/cloud-api.yaml: %s's description does not name it “%s”", p->name, info->label);
    }
  g_assert_cmpuint (props->len, ==, FC_SHOT_N_FIELDS);
}

/* The metadata members the agent writes for every shot are named in the
 * contract too (fc_json_write_shot writes these keys). */
static void
test_shot_metadata_documented (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "docs", "cloud-api.yaml", NULL);
  g_autofree char *doc = NULL;
  const char *block;
  const char *end;
  static const char *keys[] = {
    "id", "fitting_id", "config_id", "device_id", "device_shot_id", "club", "device_time",
    "received_at", "spin_estimated", "excluded", "exclude_reason", "tags", "source",
    "kind", "protocol", "detail", "raw_base64",
  };

  g_assert_true (g_file_get_contents (path, &doc, NULL, NULL));
  block = strstr (doc, "\n    ShotMetadata:\n");
  g_assert_nonnull (block);
  end = strstr (block + 1, "\n    ShotValues:\n");
  g_assert_nonnull (end);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autofree char *needle = g_strdup_printf (" %s:", keys[i]);
      const char *hit = g_strstr_len (block, end - block, needle);

      if (hit == NULL)
        g_error ("docs/cloud-api.yaml: ShotMetadata lacks “%s”", keys[i]);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cloud-api-doc/shot-values-match-field-table", test_shot_values_match_field_table);
  g_test_add_func ("/cloud-api-doc/shot-metadata-documented", test_shot_metadata_documented);
  return g_test_run ();
}
