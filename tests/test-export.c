/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>
#include <string.h>

#include "fc-error.h"
#include "fc-fitting-document.h"
#include "fc-store.h"
#include "pii-helpers.h"

static char *
tmp_db (const char *name)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-export-XXXXXX", NULL);
  return g_build_filename (dir, name, NULL);
}

/* A fitting with everything an export must carry. */
static char *
populate (FcStore *store)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCustomer) c = fc_customer_new ("Zoë \"Quotes\", Jr.");
  g_autoptr(FcFitting) f = fc_fitting_new (FC_FITTING_IRONS, "Bay 4");
  g_autoptr(FcClubConfig) base = fc_club_config_new (FC_CONFIG_BASELINE, "Own 7i");
  g_autoptr(FcClubConfig) test = fc_club_config_new (FC_CONFIG_TEST, "=Test, with comma");
  const double odd_values[] = { 0.1 + 0.2, 1e-7, 33.333333333333336, 0.0, -0.0 };

  c->phone = g_strdup ("+1 555 0100");
  c->notes = g_strdup ("line one\nline two\t\"quoted\"");
  g_assert_true (fc_store_add_customer (store, c, &error));
  f->customer_id = g_strdup (c->id);
  g_assert_true (fc_store_add_fitting (store, f, &error));
  base->fitting_id = g_strdup (f->id);
  test->fitting_id = g_strdup (f->id);
  test->loft_deg = 30.5;
  test->shaft = g_strdup ("Steel S");
  g_assert_true (fc_store_add_config (store, base, &error));
  g_assert_true (fc_store_add_config (store, test, &error));
  g_assert_true (fc_store_set_active_config (store, f->id, test->id, &error));

  for (guint i = 0; i < 12; i++)
    {
      g_autoptr(FcShot) s = fc_shot_new ();
      static const guint8 raw[] = { '{', 0x00, 0xff, '"', '\n', '}' };

      s->source_kind = i % 2 ? FC_SOURCE_DEVICE : FC_SOURCE_FILE;
      s->source_protocol = g_strdup ("open-connect-v1");
      s->source_detail = g_strdup ("192.0.2.7:50123");
      s->device_id = g_strdup ("uneekor-eye-xo");
      s->device_shot_id = g_strdup_printf ("%u", i);
      s->config_id = g_strdup (i < 6 ? base->id : test->id);
      s->club = g_strdup ("I7");
      s->device_time = i == 3 ? g_strdup ("8/7/2023 7:56:18 PM") : NULL;
      s->spin_estimated = (int) (i % 3) - 1;
      s->raw = g_bytes_new (raw, sizeof raw);
      fc_shot_set (s, FC_FIELD_BALL_SPEED, 50 + i * 0.37);
      fc_shot_set (s, FC_FIELD_CARRY, 140 + odd_values[i % G_N_ELEMENTS (odd_values)]);
      fc_shot_set (s, FC_FIELD_CARRY_SIDE, odd_values[i % G_N_ELEMENTS (odd_values)]);
      if (i % 4 == 0)
        fc_shot_set (s, FC_FIELD_SPIN_RATE, 6543.21);
      if (i == 5)
        fc_shot_add_tag (s, "best, ever");
      g_assert_true (fc_store_add_shot (store, s, NULL, NULL, &error));
      g_assert_no_error (error);
      if (i == 7)
        g_assert_true (fc_store_set_shot_excluded (store, s->id, TRUE, "Mishit, thin", &error));
    }
  g_assert_true (fc_store_complete_fitting (store, f->id, &error));
  return g_strdup (f->id);
}

static char *
export_json (FcStore *store, const char *id, gsize *len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcFittingDocument) doc = fc_store_load_document (store, id, &error);

  g_assert_no_error (error);
  return fc_fitting_document_to_json (doc, len);
}

static void
test_json_round_trip (void)
{
  g_autofree char *db1 = tmp_db ("one.db");
  g_autofree char *db2 = tmp_db ("two.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) one = pii_open_store (db1);
  g_autoptr(FcStore) two = pii_open_store (db2);
  g_autofree char *id = populate (one);
  g_autofree char *first = NULL, *second = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(FcImportBatch) batch = NULL;
  FcImportSummary summary = { 0 };
  gsize len;

  first = export_json (one, id, &len);
  bytes = g_bytes_new (first, len);
  batch = fc_import_parse_bytes ("fitting.json", bytes, &error);
  g_assert_no_error (error);
  g_assert_nonnull (batch->document);
  g_assert_true (fc_store_import (two, batch, NULL, NULL, NULL, &summary, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (summary.inserted, ==, 12);
  g_assert_cmpstr (summary.fitting_id, ==, id);
  fc_import_summary_clear (&summary);

  second = export_json (two, id, NULL);
  g_assert_cmpstr (first, ==, second);

  /* The values survived exactly, including the awkward ones. */
  g_assert_nonnull (strstr (first, "\"carry_side_m\": 0.30000000000000004"));
  g_assert_nonnull (strstr (first, "\"carry_side_m\": 1e-07"));
  g_assert_nonnull (strstr (first, "\"excluded\": true"));
  g_assert_nonnull (strstr (first, "\"status\": \"completed\""));

  /* Importing into the database it came from adds nothing. */
  g_clear_pointer (&batch, fc_import_batch_free);
  batch = fc_import_parse_bytes ("fitting.json", bytes, &error);
  g_assert_true (fc_store_import (one, batch, NULL, NULL, NULL, &summary, &error));
  g_assert_cmpuint (summary.inserted, ==, 0);
  g_assert_cmpuint (summary.duplicates, ==, 12);
  fc_import_summary_clear (&summary);
}

static void
test_csv_export (void)
{
  g_autofree char *db = tmp_db ("csv.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = pii_open_store (db);
  g_autofree char *id = populate (store);
  g_autoptr(FcFittingDocument) doc = fc_store_load_document (store, id, &error);
  g_autofree char *csv = fc_fitting_document_to_csv (doc, NULL);
  g_auto(GStrv) lines = g_strsplit (csv, "\r\n", -1);
  g_auto(GStrv) header = g_strsplit (lines[0], ",", -1);

  g_assert_cmpuint (g_strv_length (lines), ==, 1 + 12 + 1);   /* header, rows, trailing "" */
  g_assert_cmpstr (lines[13], ==, "");
  g_assert_cmpstr (header[0], ==, "shot_id");
  g_assert_true (g_strv_contains ((const char * const *) header, "ball_speed_mps"));
  g_assert_true (g_strv_contains ((const char * const *) header, "relative_humidity_pct"));
  g_assert_cmpuint (g_strv_length (header), ==, 14 + FC_SHOT_N_FIELDS);
  /* Quoting, and no spreadsheet formula from a label starting with '='. */
  g_assert_nonnull (strstr (csv, "\"'=Test, with comma\""));
  g_assert_nonnull (strstr (csv, "\"Mishit, thin\""));
  g_assert_nonnull (strstr (csv, "\"best, ever\""));
  /* Shot 0: ball speed, (no launch angle or direction), spin rate ...
   * carry, (no total), carry side; SI values in shortest exact form. */
  g_assert_nonnull (strstr (lines[1], ",50,,,6543.21,"));
  g_assert_nonnull (strstr (lines[1], ",140.3,,0.30000000000000004,"));
}

static void
expect_bad_json (const char *text, int code, const char *needle)
{
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = fc_import_parse_bytes ("bad.json", bytes, &error);

  g_assert_null (batch);
  g_assert_error (error, FC_ERROR, code);
  if (needle && strstr (error->message, needle) == NULL)
    g_error ("“%s” does not mention “%s”", error->message, needle);
  g_assert_nonnull (strstr (error->message, "bad.json"));
}

static char *
doc_with_shot_value (const char *key, const char *value)
{
  g_autofree char *db = tmp_db ("bad.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = pii_open_store (db);
  g_autofree char *id = populate (store);
  g_autofree char *json = export_json (store, id, NULL);
  g_autofree char *from = g_strdup_printf ("\"%s\": ", key);
  char *p = strstr (json, from);
  char *end;

  g_assert_nonnull (p);
  p += strlen (from);
  end = strpbrk (p, ",\n");
  return g_strdup_printf ("%.*s%s%s", (int) (p - json), json, value, end);
}

static void
test_bad_json (void)
{
  g_autofree char *wrong_type = doc_with_shot_value ("ball_speed_mps", "\"fast\"");
  g_autofree char *absurd = doc_with_shot_value ("ball_speed_mps", "900");
  g_autofree char *negative_carry = doc_with_shot_value ("carry_m", "-35");
  g_autofree char *nan = doc_with_shot_value ("carry_m", "NaN");
  g_autofree char *bad_uuid = doc_with_shot_value ("config_id", "\"00000000-0000-4000-8000-000000000000\"");
  g_autofree char *bad_tags = doc_with_shot_value ("tags", "[1]");

  expect_bad_json ("{\"format\": \"fitclip-fitting\", ", FC_ERROR_INVALID_INPUT, "not valid JSON");
  expect_bad_json ("{\"format\": \"other\"}", FC_ERROR_UNKNOWN_FORMAT, "unknown JSON format");
  expect_bad_json ("{\"format\": \"fitclip-fitting\", \"format_version\": 2}", FC_ERROR_UNKNOWN_FORMAT, "format_version");
  expect_bad_json ("[1, 2, 3]", FC_ERROR_UNKNOWN_FORMAT, NULL);
  expect_bad_json (wrong_type, FC_ERROR_INVALID_INPUT, "ball_speed_mps");
  expect_bad_json (absurd, FC_ERROR_OUT_OF_RANGE, "Ball speed");
  expect_bad_json (negative_carry, FC_ERROR_OUT_OF_RANGE, "Carry");
  expect_bad_json (nan, FC_ERROR_INVALID_INPUT, NULL);
  expect_bad_json (bad_uuid, FC_ERROR_INVALID_INPUT, "shots[");
  expect_bad_json (bad_tags, FC_ERROR_INVALID_INPUT, "tags");
}

static void
test_import_is_atomic (void)
{
  g_autofree char *db = tmp_db ("atomic.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = pii_open_store (db);
  g_autoptr(FcImportBatch) batch = fc_import_batch_new ();
  FcImportSummary summary = { 0 };
  FcStoreCounts counts;

  batch->format = g_strdup ("test");
  batch->file_name = g_strdup ("rows.csv");
  for (guint i = 0; i < 50; i++)
    {
      FcShot *s = fc_shot_new ();
      s->source_kind = FC_SOURCE_FILE;
      s->source_protocol = g_strdup ("csv/test");
      s->source_detail = g_strdup_printf ("rows.csv:%u", i + 2);
      s->device_id = g_strdup ("file/test");
      s->device_shot_id = g_strdup_printf ("%u", i);
      /* Row 40 is impossible: nothing of the file may stay. */
      fc_shot_set (s, FC_FIELD_BALL_SPEED, i == 40 ? 900 : 60);
      g_ptr_array_add (batch->shots, s);
    }
  g_assert_false (fc_store_import (store, batch, NULL, NULL, NULL, &summary, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_OUT_OF_RANGE);
  g_assert_nonnull (strstr (error->message, "rows.csv:42"));
  g_assert_true (fc_store_get_counts (store, &counts, NULL));
  g_assert_cmpint (counts.shots, ==, 0);
  g_assert_cmpint (counts.imports, ==, 0);
  g_assert_cmpint (counts.fittings, ==, 0);
  g_assert_cmpint (counts.outbox_pending, ==, 0);
}

static void
test_real_exports_into_store (void)
{
  const char *fixtures = g_getenv ("FITCLIP_FIXTURES");
  g_autofree char *db = tmp_db ("real.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = pii_open_store (db);
  g_autofree char *path = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(FcImportBatch) batch = NULL;
  FcImportSummary summary = { 0 };
  g_autoptr(FcShot) shot = NULL;
  g_autoptr(GPtrArray) shots = NULL;

  if (fixtures == NULL || !g_file_test (fixtures, G_FILE_TEST_IS_DIR))
    {
      g_test_fail_printf ("FITCLIP_FIXTURES (%s) is not a folder", fixtures ? fixtures : "unset");
      return;
    }

  /* The TrackMan 4 measurement event: SI values taken as they are. */
  path = g_build_filename (fixtures, "trackman-tm4-stroke-event.json", NULL);
  file = g_file_new_for_path (path);
  batch = fc_import_parse_file (file, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (batch->shots->len, ==, 1);
  g_assert_true (fc_store_import (store, batch, NULL, NULL, "Bay 1", &summary, &error));
  g_assert_cmpuint (summary.inserted, ==, 1);
  shots = fc_store_list_shots (store, summary.fitting_id, &error);
  shot = fc_shot_copy (g_ptr_array_index (shots, 0));
  g_assert_cmpfloat (fc_shot_get (shot, FC_FIELD_BALL_SPEED), ==, 75.7939);
  g_assert_cmpfloat (fc_shot_get (shot, FC_FIELD_CARRY), ==, 260.576);
  g_assert_cmpfloat (fc_shot_get (shot, FC_FIELD_IMPACT_OFFSET), ==, -0.0059);
  g_assert_cmpfloat (fc_shot_get (shot, FC_FIELD_HANG_TIME), ==, 6.978975);
  g_assert_cmpstr (shot->device_shot_id, ==, "d64da039-2d9f-4148-ba0a-138fc64c5278");
  g_assert_nonnull (shot->raw);
  fc_import_summary_clear (&summary);

  /* A 500-row TrackMan export, twice: the second time adds nothing. */
  g_clear_pointer (&path, g_free);
  g_clear_object (&file);
  g_clear_pointer (&batch, fc_import_batch_free);
  path = g_build_filename (fixtures, "trackman-tps-driver.csv", NULL);
  file = g_file_new_for_path (path);
  for (int round = 0; round < 2; round++)
    {
      g_clear_pointer (&batch, fc_import_batch_free);
      batch = fc_import_parse_file (file, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (fc_store_import (store, batch, NULL, NULL, "Bay 1", &summary, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (summary.inserted, ==, round == 0 ? 500 : 0);
      g_assert_cmpuint (summary.duplicates, ==, round == 0 ? 0 : 500);
      fc_import_summary_clear (&summary);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/export/json-round-trip", test_json_round_trip);
  g_test_add_func ("/export/csv", test_csv_export);
  g_test_add_func ("/export/bad-json", test_bad_json);
  g_test_add_func ("/export/import-is-atomic", test_import_is_atomic);
  g_test_add_func ("/export/real-exports-into-store", test_real_exports_into_store);
  return g_test_run ();
}
