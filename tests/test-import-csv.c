/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "fc-error.h"
#include "fc-import.h"

#include <math.h>
#include <string.h>

/*
 * The real exports live in ../shared/fixtures/exports ($FITCLIP_FIXTURES)
 * and are read from there, never copied. Expected values are the file's
 * text times the exact unit factors, written out so a reader can check
 * them against the file by eye.
 */

#define MPH   0.44704
#define YD    0.9144
#define FT    0.3048
#define IN    0.0254
#define MM    0.001

static GBytes *
load_fixture (const char *name)
{
  const char *dir = g_getenv ("FITCLIP_FIXTURES");
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  char *data = NULL;
  gsize len = 0;

  g_assert_nonnull (dir);
  path = g_build_filename (dir, name, NULL);
  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

static FcImportBatch *
parse_fixture (const char *name,
               GBytes    **bytes_out)
{
  g_autoptr(GBytes) bytes = load_fixture (name);
  g_autoptr(GError) error = NULL;
  FcImportBatch *batch;

  batch = fc_import_csv_parse (name, bytes, &error);
  g_assert_no_error (error);
  g_assert_nonnull (batch);
  if (bytes_out)
    *bytes_out = g_steal_pointer (&bytes);
  return batch;
}

static FcImportBatch *
parse_text (const char  *text,
            GError     **error)
{
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));

  return fc_import_csv_parse ("test.csv", bytes, error);
}

/* The shot that starts on physical line @line of the file. */
static FcShot *
shot_at_line (FcImportBatch *batch,
              guint          line)
{
  g_autofree char *suffix = g_strdup_printf (":%u", line);

  for (guint i = 0; i < batch->shots->len; i++)
    {
      FcShot *shot = g_ptr_array_index (batch->shots, i);

      if (g_str_has_suffix (shot->source_detail, suffix))
        return shot;
    }
  g_error ("no shot from line %u", line);
  return NULL;
}

#define assert_value(shot, field, expected) \
  G_STMT_START { \
    double expected_ = (expected); \
    g_assert_true (fc_shot_has ((shot), (field))); \
    g_assert_cmpfloat_with_epsilon (fc_shot_get ((shot), (field)), expected_, \
                                    1e-9 * MAX (1.0, fabs (expected_))); \
  } G_STMT_END

#define assert_absent(shot, field) \
  g_assert_false (fc_shot_has ((shot), (field)))

/* An error that names where it happened, as a fitter would need. */
static void
assert_error_at (const GError *error,
                 int           code,
                 const char   *line,
                 const char   *column)
{
  g_assert_error ((GError *) error, FC_ERROR, code);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_test_message ("message: %s", error->message);
  g_assert_nonnull (strstr (error->message, "test.csv"));
  if (line)
    g_assert_nonnull (strstr (error->message, line));
  if (column)
    g_assert_nonnull (strstr (error->message, column));
}

static void
assert_common (FcImportBatch *batch,
               GBytes        *bytes,
               const char    *format)
{
  g_autofree char *protocol = g_strconcat ("csv/", format, NULL);
  g_autofree char *device = g_strconcat ("file/", format, NULL);

  g_assert_cmpstr (batch->format, ==, format);
  g_assert_nonnull (batch->format_label);
  g_assert_null (batch->document);
  g_assert_nonnull (batch->header);

  for (guint i = 0; i < batch->shots->len; i++)
    {
      FcShot *shot = g_ptr_array_index (batch->shots, i);
      g_autoptr(GError) error = NULL;
      const char *hash;

      g_assert_cmpint (shot->source_kind, ==, FC_SOURCE_FILE);
      g_assert_cmpstr (shot->source_protocol, ==, protocol);
      g_assert_cmpstr (shot->device_id, ==, device);
      g_assert_true (g_str_has_prefix (shot->source_detail, batch->file_name));
      g_assert_cmpint (shot->received_at, ==, 0);
      g_assert_nonnull (shot->raw);
      g_assert_true (fc_shot_validate (shot, &error));
      g_assert_no_error (error);

      /* device_shot_id = a hash of the raw row, then the occurrence */
      hash = shot->device_shot_id;
      g_assert_cmpuint (strlen (hash), >=, 18);
      for (guint k = 0; k < 16; k++)
        g_assert_true (g_ascii_isxdigit (hash[k]) && !g_ascii_isupper (hash[k]));
      g_assert_cmpint (hash[16], ==, '#');

      /* the raw payload is the row itself, as it is in the file */
      {
        gsize file_len, raw_len;
        const char *file = g_bytes_get_data (bytes, &file_len);
        const char *raw = g_bytes_get_data (shot->raw, &raw_len);

        g_autofree char *row = g_strndup (raw, raw_len);

        g_assert_cmpuint (raw_len, >, 0);
        g_assert_nonnull (g_strstr_len (file, file_len, row));
      }
      for (guint j = 0; j < i; j++)
        {
          FcShot *earlier = g_ptr_array_index (batch->shots, j);

          /* same row bytes, same hash (occurrence differs); else different */
          g_assert_cmpint (g_bytes_equal (earlier->raw, shot->raw), ==,
                           strncmp (earlier->device_shot_id, hash, 17) == 0);
          g_assert_cmpstr (earlier->device_shot_id, !=, hash);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Real exports                                                         */

static void
test_trackman_driver (void)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(FcImportBatch) batch = parse_fixture ("trackman-tps-driver.csv", &bytes);
  FcShot *shot;
  const char *header;
  gsize header_len;

  assert_common (batch, bytes, "trackman-tps");
  g_assert_cmpuint (batch->shots->len, ==, 500);
  g_assert_cmpuint (batch->dropped_values, ==, 0);

  header = g_bytes_get_data (batch->header, &header_len);
  g_assert_true (g_str_has_prefix (header, "Club,Ball,Club Speed,"));
  /* header and units row, without the final line end */
  g_assert_nonnull (g_strstr_len (header, header_len, "Curve\n,,[mph],"));
  g_assert_cmpmem (header + header_len - 14, 14, "[mm],[mm],[ft]", 14);

  /* line 3: Driver,Premium,87.85343593,0.775,2.541,-0.826771654,... */
  shot = shot_at_line (batch, 3);
  g_assert_cmpstr (shot->club, ==, "Driver");
  g_assert_null (shot->device_time);
  g_assert_cmpint (shot->spin_estimated, ==, -1);
  g_assert_false (shot->excluded);
  assert_value (shot, FC_FIELD_CLUB_SPEED, 87.85343593 * MPH);
  assert_value (shot, FC_FIELD_ATTACK_ANGLE, 0.775);
  assert_value (shot, FC_FIELD_CLUB_PATH, 2.541);
  assert_value (shot, FC_FIELD_LOW_POINT_DISTANCE, -0.826771654 * IN);
  assert_value (shot, FC_FIELD_SWING_PLANE, 54.771);
  assert_value (shot, FC_FIELD_SWING_DIRECTION, 3.089);
  assert_value (shot, FC_FIELD_DYNAMIC_LOFT, 10.886);
  assert_value (shot, FC_FIELD_FACE_ANGLE, -3.002);
  assert_value (shot, FC_FIELD_FACE_TO_PATH, -5.543);
  assert_value (shot, FC_FIELD_BALL_SPEED, 127.4977631 * MPH);
  assert_value (shot, FC_FIELD_SMASH_FACTOR, 1.4512);
  assert_value (shot, FC_FIELD_LAUNCH_ANGLE, 9.669);
  assert_value (shot, FC_FIELD_LAUNCH_DIRECTION, -2.319);
  assert_value (shot, FC_FIELD_SPIN_RATE, 1760);
  assert_value (shot, FC_FIELD_SPIN_AXIS, -19.36);
  assert_value (shot, FC_FIELD_MAX_HEIGHT_DISTANCE, 289.5784253 * FT);
  assert_value (shot, FC_FIELD_MAX_HEIGHT, 30.77717984 * FT);
  assert_value (shot, FC_FIELD_CARRY, 165.5427873 * YD);
  assert_value (shot, FC_FIELD_CARRY_SIDE, -18.4510903 * YD);
  assert_value (shot, FC_FIELD_LANDING_ANGLE, 18.14669052);
  assert_value (shot, FC_FIELD_LANDING_BALL_SPEED, 72.29461445 * MPH);
  assert_value (shot, FC_FIELD_HANG_TIME, 3.73667);
  assert_value (shot, FC_FIELD_TOTAL, 211.1884376 * YD);
  assert_value (shot, FC_FIELD_TOTAL_SIDE, -26.94829178 * YD);
  assert_value (shot, FC_FIELD_CURVE, -35.33800773 * FT);
  /* back and side spin completed from total and axis */
  assert_value (shot, FC_FIELD_BACK_SPIN, 1760 * cos (-19.36 * G_PI / 180));
  assert_value (shot, FC_FIELD_SIDE_SPIN, 1760 * sin (-19.36 * G_PI / 180));
  /* empty Dynamic Lie / Impact cells are absent, not zero */
  assert_absent (shot, FC_FIELD_DYNAMIC_LIE);
  assert_absent (shot, FC_FIELD_IMPACT_OFFSET);
  assert_absent (shot, FC_FIELD_IMPACT_HEIGHT);
  g_assert_true (g_str_has_suffix (shot->device_shot_id, "#1"));
  g_assert_true (g_bytes_get_size (shot->raw) > 0);
  g_assert_true (g_str_has_prefix (g_bytes_get_data (shot->raw, NULL), "Driver,Premium,87.85343593,"));

  /* line 5: no attack angle, path, low point, loft, face, spin axis */
  shot = shot_at_line (batch, 5);
  assert_value (shot, FC_FIELD_CLUB_SPEED, 94.77451682 * MPH);
  assert_absent (shot, FC_FIELD_ATTACK_ANGLE);
  assert_absent (shot, FC_FIELD_LOW_POINT_DISTANCE);
  assert_absent (shot, FC_FIELD_FACE_ANGLE);
  assert_absent (shot, FC_FIELD_SPIN_AXIS);
  assert_absent (shot, FC_FIELD_BACK_SPIN);
  assert_absent (shot, FC_FIELD_CURVE);
  assert_value (shot, FC_FIELD_SPIN_RATE, 3663);
  assert_value (shot, FC_FIELD_MAX_HEIGHT, 104.0340739 * FT);

  /* the last row of the file is the last shot */
  shot = g_ptr_array_index (batch->shots, batch->shots->len - 1);
  g_assert_cmpstr (shot->source_detail, ==, "trackman-tps-driver.csv:502");
}

static void
test_trackman_2023 (void)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(FcImportBatch) batch = parse_fixture ("trackman-tps-2023-7iron.csv", &bytes);
  FcShot *shot;
  const char *header, *raw;
  gsize header_len, raw_len;

  assert_common (batch, bytes, "trackman-tps");
  g_assert_cmpuint (batch->shots->len, ==, 37);

  /* the header keeps the sep= line and the units row, verbatim */
  header = g_bytes_get_data (batch->header, &header_len);
  g_assert_true (g_str_has_prefix (header, "sep=,\r\nDate,TMD No,"));
  g_assert_nonnull (g_strstr_len (header, header_len, "\r\n,,,,,,[mph],"));
  g_assert_cmpint (header[header_len - 1], ==, ',');

  /* line 4, the first shot */
  shot = shot_at_line (batch, 4);
  g_assert_cmpstr (shot->club, ==, "7 Iron");
  g_assert_cmpstr (shot->device_time, ==, "8/7/2023 7:56:18 PM");
  g_assert_cmpint (shot->spin_estimated, ==, 0);
  g_assert_false (shot->excluded);
  g_assert_cmpuint (shot->tags->len, ==, 0);
  assert_value (shot, FC_FIELD_CLUB_SPEED, 84.25196850393701 * MPH);
  assert_value (shot, FC_FIELD_LOW_POINT_DISTANCE, 6.692913385826771 * IN);
  assert_value (shot, FC_FIELD_BALL_SPEED, 104.41549256275968 * MPH);
  assert_value (shot, FC_FIELD_SPIN_RATE, 8571.439323247943);
  assert_value (shot, FC_FIELD_MAX_HEIGHT_DISTANCE, 135.6736506064107 * FT);
  assert_value (shot, FC_FIELD_CARRY, 71.67396947167661 * YD);
  /* Carry Flat - Side is yards; the "(Sim)" columns in feet are ignored */
  assert_value (shot, FC_FIELD_CARRY_SIDE, 19.75228777494057 * YD);
  assert_value (shot, FC_FIELD_TOTAL, 103.96635040618078 * YD);
  assert_value (shot, FC_FIELD_TOTAL_SIDE, 32.721091275829124 * YD);
  assert_value (shot, FC_FIELD_CURVE, 26.52076663087521 * FT);
  assert_absent (shot, FC_FIELD_IMPACT_OFFSET);
  raw = g_bytes_get_data (shot->raw, &raw_len);
  g_assert_true (g_str_has_prefix (raw, "8/7/2023 7:56:18 PM,,,Player A,7 Iron,"));
  g_assert_cmpint (raw[raw_len - 1], !=, '\r');   /* no line end in the raw row */

  /* line 5 has impact data in mm */
  shot = shot_at_line (batch, 5);
  assert_value (shot, FC_FIELD_DYNAMIC_LIE, 55.04847363765137);
  assert_value (shot, FC_FIELD_IMPACT_OFFSET, -33.427210958416666 * MM);
  assert_value (shot, FC_FIELD_IMPACT_HEIGHT, 3.533387275377847 * MM);
  assert_absent (shot, FC_FIELD_DYNAMIC_LOFT);
  assert_absent (shot, FC_FIELD_FACE_TO_PATH);
}

static void
test_fsx_live (void)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(FcImportBatch) batch = parse_fixture ("foresight-fsx-live-7i-lw.csv", &bytes);
  FcShot *shot;

  assert_common (batch, bytes, "foresight-fsx-live");
  g_assert_cmpuint (batch->shots->len, ==, 108);
  /* the byte order mark is not part of the stored header */
  g_assert_true (g_str_has_prefix (g_bytes_get_data (batch->header, NULL), "Shot Number,"));

  /* 1,LW,Wedge,08/06/2024 18:00:02,51.4,2.5,39.8,6182,-917,6250,49.2,49,0.8,13.2,49.3,,,... */
  shot = shot_at_line (batch, 2);
  g_assert_cmpstr (shot->club, ==, "LW");
  g_assert_cmpstr (shot->device_time, ==, "08/06/2024 18:00:02");
  assert_value (shot, FC_FIELD_BALL_SPEED, 51.4 * MPH);
  assert_value (shot, FC_FIELD_LAUNCH_DIRECTION, 2.5);
  assert_value (shot, FC_FIELD_LAUNCH_ANGLE, 39.8);
  assert_value (shot, FC_FIELD_BACK_SPIN, 6182);
  assert_value (shot, FC_FIELD_SIDE_SPIN, -917);
  assert_value (shot, FC_FIELD_SPIN_RATE, 6250);
  assert_value (shot, FC_FIELD_CARRY, 49.2 * YD);
  assert_value (shot, FC_FIELD_TOTAL, 49 * YD);
  assert_value (shot, FC_FIELD_CARRY_SIDE, 0.8 * YD);
  assert_value (shot, FC_FIELD_MAX_HEIGHT, 13.2 * YD);
  assert_value (shot, FC_FIELD_LANDING_ANGLE, 49.3);
  assert_value (shot, FC_FIELD_SPIN_AXIS, atan2 (-917, 6182) * 180 / G_PI);
  /* the export has no club data: empty cells stay absent */
  assert_absent (shot, FC_FIELD_CLUB_SPEED);
  assert_absent (shot, FC_FIELD_SMASH_FACTOR);
  assert_absent (shot, FC_FIELD_IMPACT_OFFSET);
  assert_absent (shot, FC_FIELD_CLOSURE_RATE);

  /* 3,LW,...,53.7,-2.7,44.2,2792,-429,2825,52.8,54.4,-4,16,52.2 */
  shot = shot_at_line (batch, 4);
  assert_value (shot, FC_FIELD_LAUNCH_DIRECTION, -2.7);
  assert_value (shot, FC_FIELD_CARRY_SIDE, -4 * YD);
  assert_value (shot, FC_FIELD_MAX_HEIGHT, 16 * YD);
}

static void
test_fsx2020 (void)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(FcImportBatch) batch = parse_fixture ("foresight-fsx2020-lastshot.csv", &bytes);
  FcShot *shot;

  assert_common (batch, bytes, "foresight-fsx2020-lastshot");
  g_assert_cmpuint (batch->shots->len, ==, 1);

  /* padded with spaces, trailing comma, metric */
  shot = shot_at_line (batch, 2);
  g_assert_cmpstr (shot->club, ==, "5w");
  g_assert_null (shot->device_time);
  assert_value (shot, FC_FIELD_CLUB_SPEED, 36.710655);
  assert_value (shot, FC_FIELD_BALL_SPEED, 47.665848);
  assert_value (shot, FC_FIELD_LAUNCH_ANGLE, 20.101105);
  assert_value (shot, FC_FIELD_LAUNCH_DIRECTION, 0.591012);
  assert_value (shot, FC_FIELD_SIDE_SPIN, 95);
  assert_value (shot, FC_FIELD_BACK_SPIN, 6804);
  assert_value (shot, FC_FIELD_SPIN_RATE, 3000);   /* as written, though back spin is higher */
  assert_value (shot, FC_FIELD_LANDING_ANGLE, 46.468449);
  assert_value (shot, FC_FIELD_CARRY, 14);
  assert_value (shot, FC_FIELD_TOTAL, 35.145584);
  assert_value (shot, FC_FIELD_CARRY_SIDE, 0.0);   /* 0.0000 is a measurement */
  assert_value (shot, FC_FIELD_MAX_HEIGHT, 26.155029);
  assert_value (shot, FC_FIELD_ATTACK_ANGLE, -5.920732);
  assert_value (shot, FC_FIELD_CLUB_PATH, 1.910474);
  /* 16777215.000000 = not measured */
  assert_absent (shot, FC_FIELD_FACE_TO_PATH);
  assert_absent (shot, FC_FIELD_FACE_ANGLE);
  assert_absent (shot, FC_FIELD_CLUB_LIE);
  assert_absent (shot, FC_FIELD_DYNAMIC_LOFT);
  assert_absent (shot, FC_FIELD_CLOSURE_RATE);
  assert_absent (shot, FC_FIELD_IMPACT_OFFSET);
  assert_absent (shot, FC_FIELD_IMPACT_HEIGHT);
}

static void
test_garmin (void)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(FcImportBatch) batch = parse_fixture ("garmin-r10-drivingrange.csv", &bytes);
  FcShot *shot;

  assert_common (batch, bytes, "garmin-golf");
  g_assert_cmpuint (batch->shots->len, ==, 30);
  /* line 6: smash and a 0.0 face-to-path without club data; line 21:
   * a 0.0 face-to-path without face or path */
  g_assert_cmpuint (batch->dropped_values, ==, 3);

  shot = shot_at_line (batch, 3);
  g_assert_cmpstr (shot->club, ==, "9 Iron");
  g_assert_cmpstr (shot->device_time, ==, "10/09/2025 18:45:04");
  g_assert_cmpint (shot->spin_estimated, ==, 1);
  assert_value (shot, FC_FIELD_CLUB_SPEED, 120.86818943826094 / 3.6);
  assert_value (shot, FC_FIELD_ATTACK_ANGLE, 1.8675652742385864);
  assert_value (shot, FC_FIELD_FACE_ANGLE, -4.684640407562256);
  assert_value (shot, FC_FIELD_BALL_SPEED, 136.64105584828812 / 3.6);
  assert_value (shot, FC_FIELD_BACK_SPIN, 5473.45458984375);
  /* Garmin's Sidespin is positive for a ball curving left: negated */
  assert_value (shot, FC_FIELD_SIDE_SPIN, -1189.564208984375);
  assert_value (shot, FC_FIELD_SPIN_AXIS, -12.261603355407715);
  g_assert_cmpfloat_with_epsilon (fc_shot_get (shot, FC_FIELD_SIDE_SPIN),
                                  5601.22900390625 * sin (-12.261603355407715 * G_PI / 180), 1.0);
  assert_value (shot, FC_FIELD_MAX_HEIGHT, 18.25065040588379);
  assert_value (shot, FC_FIELD_CARRY_SIDE_ANGLE, -8.492505073547363);
  assert_value (shot, FC_FIELD_CARRY_SIDE, -14.336800575256348);
  assert_value (shot, FC_FIELD_TOTAL_SIDE_ANGLE, -8.745566368103027);
  assert_value (shot, FC_FIELD_TOTAL_SIDE, -15.852716445922852);
  assert_value (shot, FC_FIELD_AIR_DENSITY, 1.1957287);
  assert_value (shot, FC_FIELD_AIR_TEMPERATURE, 21.11);
  assert_value (shot, FC_FIELD_AIR_PRESSURE, 101.0 * 1000);
  assert_value (shot, FC_FIELD_RELATIVE_HUMIDITY, 0);

  shot = shot_at_line (batch, 5);
  g_assert_cmpint (shot->spin_estimated, ==, 0);

  /* line 6: Smash Factor -41.77 with no club speed imports, without it */
  shot = shot_at_line (batch, 6);
  assert_absent (shot, FC_FIELD_CLUB_SPEED);
  assert_absent (shot, FC_FIELD_SMASH_FACTOR);
  assert_absent (shot, FC_FIELD_FACE_TO_PATH);
  assert_value (shot, FC_FIELD_BALL_SPEED, 150.3798052332652 / 3.6);
  assert_value (shot, FC_FIELD_SIDE_SPIN, -1494.6883544921875);
}

static void
test_flightscope_mevo (void)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(FcImportBatch) batch = parse_fixture ("flightscope-mevo-range.csv", &bytes);
  FcShot *shot;

  assert_common (batch, bytes, "flightscope");
  g_assert_cmpuint (batch->shots->len, ==, 18);

  /* 64.2,73.7,0.87,69,31.2,6114,45,3.8,9I */
  shot = shot_at_line (batch, 2);
  g_assert_cmpstr (shot->club, ==, "9I");
  assert_value (shot, FC_FIELD_BALL_SPEED, 64.2 * MPH);
  assert_value (shot, FC_FIELD_CLUB_SPEED, 73.7 * MPH);
  assert_value (shot, FC_FIELD_SMASH_FACTOR, 0.87);
  assert_value (shot, FC_FIELD_CARRY, 69 * YD);
  assert_value (shot, FC_FIELD_LAUNCH_ANGLE, 31.2);
  assert_value (shot, FC_FIELD_SPIN_RATE, 6114);
  assert_value (shot, FC_FIELD_MAX_HEIGHT, 45 * FT);
  assert_value (shot, FC_FIELD_HANG_TIME, 3.8);
  assert_absent (shot, FC_FIELD_LAUNCH_DIRECTION);
  assert_absent (shot, FC_FIELD_TOTAL);
  g_assert_cmpuint (fc_shot_count_values (shot), ==, 8);
}

static void
test_deterministic_ids (void)
{
  /* Re-importing gives the same ids, so the store can skip the rows it
   * already holds. */
  g_autoptr(FcImportBatch) a = parse_fixture ("trackman-tps-driver.csv", NULL);
  g_autoptr(FcImportBatch) b = parse_fixture ("trackman-tps-driver.csv", NULL);
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  g_assert_cmpuint (a->shots->len, ==, b->shots->len);
  for (guint i = 0; i < a->shots->len; i++)
    {
      FcShot *sa = g_ptr_array_index (a->shots, i);
      FcShot *sb = g_ptr_array_index (b->shots, i);

      g_assert_cmpstr (sa->device_shot_id, ==, sb->device_shot_id);
      g_assert_true (g_hash_table_add (ids, sa->device_shot_id));
    }
}

/* ------------------------------------------------------------------ */
/* Synthetic files                                                      */

#define TM_HEADER "Club,Ball Speed,Carry Flat - Length,Max Height - Height,Spin Rate\n"

static void
test_unknown_format (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = parse_text ("Foo,Bar Speed (mph)\n1,2\n", &error);

  g_assert_null (batch);
  g_assert_error (error, FC_ERROR, FC_ERROR_UNKNOWN_FORMAT);
  g_assert_nonnull (strstr (error->message, "test.csv"));
  g_assert_nonnull (strstr (error->message, "line 1"));
  g_assert_nonnull (strstr (error->message, "Foo, Bar Speed (mph)"));
  g_clear_error (&error);

  batch = parse_text ("", &error);
  g_assert_null (batch);
  g_assert_error (error, FC_ERROR, FC_ERROR_UNKNOWN_FORMAT);
  g_clear_error (&error);

  batch = parse_text ("\xef\xbb\xbf\n\n,,\n", &error);
  g_assert_null (batch);
  g_assert_error (error, FC_ERROR, FC_ERROR_UNKNOWN_FORMAT);
}

static void
test_unknown_unit (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = NULL;

  batch = parse_text (TM_HEADER ",[furlongs/h],[yds],[ft],[rpm]\nDriver,150,250,30,2500\n", &error);
  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_UNKNOWN_UNIT, "line 2", "column 'Ball Speed'");
  g_assert_cmpstr (error->message, ==,
                   "test.csv, line 2, column 'Ball Speed': unknown unit '[furlongs/h]'");
  g_clear_error (&error);

  /* a real unit of the wrong kind */
  batch = parse_text (TM_HEADER ",[mph],[mph],[ft],[rpm]\nDriver,150,250,30,2500\n", &error);
  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_UNKNOWN_UNIT, "line 2", "column 'Carry Flat - Length'");
  g_clear_error (&error);

  /* no unit at all where one is needed */
  batch = parse_text (TM_HEADER ",[mph],[yds],[ft],\nDriver,150,250,30,2500\n", &error);
  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_UNKNOWN_UNIT, "line 2", "column 'Spin Rate'");
  g_clear_error (&error);

  /* header units: FlightScope without the parenthesis */
  batch = parse_text ("Ball Speed (mph),Carry Distance,Launch Angle V (deg),Club\n"
                      "64.2,69,31.2,9I\n", &error);
  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_UNKNOWN_UNIT, "line 1", "column 'Carry Distance'");
  g_clear_error (&error);

  /* a sign convention we do not know */
  batch = parse_text ("Shot Number,Ball Speed (mph),Push/Pull (deg up-/sideways+),Efficiency,Shot Created Date\n"
                      "1,100,2,1.3,x\n", &error);
  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_UNKNOWN_UNIT, "line 1", "column 'Push/Pull (deg up-/sideways+)'");
}

static void
test_missing_units_row (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = parse_text (TM_HEADER "Driver,150,250,30,2500\n"
                                               "Driver,151,251,31,2501\n", &error);

  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_UNKNOWN_UNIT, "line 2", "column 'Ball Speed'");
  g_assert_nonnull (strstr (error->message, "units row"));
}

static void
test_bad_cells (void)
{
  static const struct {
    const char *cell;
    FcError     code;
  } cases[] = {
    { "abc", FC_ERROR_INVALID_INPUT },
    { "12,5", FC_ERROR_INVALID_INPUT },     /* a decimal comma, quoted */
    { "nan", FC_ERROR_INVALID_INPUT },
    { "NaN", FC_ERROR_INVALID_INPUT },
    { "inf", FC_ERROR_INVALID_INPUT },
    { "-Infinity", FC_ERROR_INVALID_INPUT },
    { "1e999", FC_ERROR_INVALID_INPUT },
    { "0x40", FC_ERROR_INVALID_INPUT },
    { "150 mph", FC_ERROR_INVALID_INPUT },
    { "4.5 R", FC_ERROR_INVALID_INPUT },    /* direction text is FlightScope's only */
    { "900", FC_ERROR_OUT_OF_RANGE },       /* m/s: no golf ball flies that fast */
    { "-3", FC_ERROR_OUT_OF_RANGE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(FcImportBatch) batch = NULL;
      g_autofree char *text = NULL;
      g_autofree char *quoted = g_strdup_printf ("'%s'", cases[i].cell);

      text = g_strdup_printf (TM_HEADER ",[m/s],[m],[m],[rpm]\n"
                              "Driver,60,230,30,2500\n"
                              "Driver,\"%s\",230,30,2500\n",
                              cases[i].cell);
      batch = parse_text (text, &error);
      g_assert_null (batch);
      assert_error_at (error, cases[i].code, "line 4", "column 'Ball Speed'");
      g_assert_nonnull (strstr (error->message, quoted));
    }
}

static void
test_negative_carry (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = NULL;

  batch = parse_text (TM_HEADER ",[mph],[yds],[ft],[rpm]\n"
                      "Driver,150,-12.5,30,2500\n", &error);
  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_OUT_OF_RANGE, "line 3", "column 'Carry Flat - Length'");
  g_assert_nonnull (strstr (error->message, "'-12.5'"));
}

static void
test_unterminated_quote (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = NULL;

  batch = parse_text (TM_HEADER ",[mph],[yds],[ft],[rpm]\n"
                      "Driver,150,250,30,2500\n"
                      "\"Driver,150,250,30,2500\n"
                      "Driver,150,250,30,2500\n", &error);
  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_INVALID_INPUT, "line 4", "column 'Club'");
}

static void
test_no_shots (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = NULL;

  /* header and units row */
  batch = parse_text (TM_HEADER ",[mph],[yds],[ft],[rpm]\n", &error);
  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_INVALID_INPUT, "line 2", NULL);
  g_assert_nonnull (strstr (error->message, "no shots"));
  g_clear_error (&error);

  /* a header without even its units row */
  batch = parse_text (TM_HEADER, &error);
  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_INVALID_INPUT, "line 1", NULL);
  g_clear_error (&error);

  /* a header and blank rows */
  batch = parse_text ("\xef\xbb\xbf" "Ball Speed (mph),Smash,Launch Angle V (deg),Club\r\n,,,\r\n\r\n", &error);
  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_INVALID_INPUT, "line 1", NULL);
}

static void
test_row_without_values (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = NULL;

  batch = parse_text (TM_HEADER ",[mph],[yds],[ft],[rpm]\n"
                      "Driver,150,250,30,2500\n"
                      "Driver,,,,\n", &error);
  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_INVALID_INPUT, "line 4", NULL);
  g_assert_nonnull (strstr (error->message, "no measured values"));
}

static void
test_extra_cells (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = NULL;

  /* an empty cell after a trailing separator is fine... */
  batch = parse_text (TM_HEADER ",[mph],[yds],[ft],[rpm],\n"
                      "Driver,150,250,30,2500,\n"
                      "Driver,150,250,30,2500,  \n", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (batch->shots->len, ==, 2);
  g_clear_pointer (&batch, fc_import_batch_free);

  /* ...a value the header does not name is not */
  batch = parse_text (TM_HEADER ",[mph],[yds],[ft],[rpm]\n"
                      "Driver,150,250,30,2500,7\n", &error);
  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_INVALID_INPUT, "line 3", "column 6");
}

static void
test_trackman_metric (void)
{
  /* TPS set to metric, with Excel's ';' hint, Use In Stat, Tags and an
   * estimated spin. */
  const char *text =
    "sep=;\r\n"
    "Date;Club;Club Speed;Ball Speed;Smash Factor;Low Point;Impact Offset;Carry Flat - Length;"
    "Carry Flat - Side;Max Height - Height;Carry Flat - Land. Angle;Spin Rate;Spin Rate Type;"
    "Spin Axis;Use In Stat;Tags\r\n"
    ";;[km/h];[m/s];[];[cm];[mm];[m];[m];[m];[deg];[rpm];[];[deg];;\r\n"
    "2024-05-01 10:00;Driver;162;66.5;1.478;-3.5;-12;231.4;-4.2;31.5;38.2;2650;Estimated;-3.1;FALSE;\"good; fitting,A \"\r\n"
    "2024-05-01 10:01;Driver;160;65;1.4625;;;225;;;;2700;Measured;;TRUE;\r\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = parse_text (text, &error);
  FcShot *shot;

  g_assert_no_error (error);
  g_assert_cmpstr (batch->format, ==, "trackman-tps");
  g_assert_cmpuint (batch->shots->len, ==, 2);

  shot = shot_at_line (batch, 4);
  g_assert_cmpstr (shot->device_time, ==, "2024-05-01 10:00");
  assert_value (shot, FC_FIELD_CLUB_SPEED, 162 / 3.6);
  assert_value (shot, FC_FIELD_BALL_SPEED, 66.5);
  assert_value (shot, FC_FIELD_SMASH_FACTOR, 1.478);
  assert_value (shot, FC_FIELD_LOW_POINT_DISTANCE, -0.035);
  assert_value (shot, FC_FIELD_IMPACT_OFFSET, -0.012);
  assert_value (shot, FC_FIELD_CARRY, 231.4);
  assert_value (shot, FC_FIELD_CARRY_SIDE, -4.2);
  assert_value (shot, FC_FIELD_MAX_HEIGHT, 31.5);
  g_assert_cmpint (shot->spin_estimated, ==, 1);
  g_assert_true (shot->excluded);
  g_assert_cmpstr (shot->exclude_reason, ==, "Use In Stat was off in TrackMan");
  g_assert_cmpuint (shot->tags->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (shot->tags, 0), ==, "good");
  g_assert_cmpstr (g_ptr_array_index (shot->tags, 1), ==, "fitting");
  g_assert_cmpstr (g_ptr_array_index (shot->tags, 2), ==, "A");

  shot = shot_at_line (batch, 5);
  g_assert_false (shot->excluded);
  g_assert_null (shot->exclude_reason);
  g_assert_cmpint (shot->spin_estimated, ==, 0);
  g_assert_cmpuint (shot->tags->len, ==, 0);
  assert_absent (shot, FC_FIELD_LOW_POINT_DISTANCE);
  assert_absent (shot, FC_FIELD_SPIN_AXIS);
}

static void
test_garmin_r50_units (void)
{
  const char *text =
    "Date,Player,Club Name,Club Type,Club Speed,Attack Angle,Club Path,Club Face,Face to Path,"
    "Ball Speed,Smash Factor,Launch Angle,Launch Direction,Backspin,Sidespin,Spin Rate,"
    "Spin Rate Type,Spin Axis,Apex Height,Carry Distance,Carry Deviation Angle,"
    "Carry Deviation Distance,Total Distance,Total Deviation Angle,Total Deviation Distance,"
    "Note,Tag,Air Density,Temperature,Air Pressure,Relative Humidity\n"
    ",,,,[mph],[deg],[deg],[deg],[deg],[mph],,[deg],[deg],[rpm],[rpm],[rpm],,[deg],[ft],"
    "[Yards],[deg],[Yards],[Yards],[deg],[Yards],,,[g/L],[deg F],[inHg],[%]\n"
    "03/02/2025 09:15:00,Player A,My 7,7 Iron,85.0,-3.5,1.2,0.4,-0.8,115.6,1.36,18.2,0.9,"
    "6100,-320,6108.4,Measured,3.0,88,165.2,1.1,3.2,172.0,1.3,3.9,nice one,range,1.21,68,29.92,45\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = parse_text (text, &error);
  FcShot *shot;

  g_assert_no_error (error);
  g_assert_cmpstr (batch->format, ==, "garmin-golf");
  shot = shot_at_line (batch, 3);
  g_assert_cmpstr (shot->club, ==, "7 Iron");
  assert_value (shot, FC_FIELD_CLUB_SPEED, 85.0 * MPH);
  assert_value (shot, FC_FIELD_BALL_SPEED, 115.6 * MPH);
  assert_value (shot, FC_FIELD_MAX_HEIGHT, 88 * FT);
  assert_value (shot, FC_FIELD_CARRY, 165.2 * YD);
  assert_value (shot, FC_FIELD_CARRY_SIDE, 3.2 * YD);
  assert_value (shot, FC_FIELD_TOTAL, 172.0 * YD);
  assert_value (shot, FC_FIELD_TOTAL_SIDE, 3.9 * YD);
  assert_value (shot, FC_FIELD_AIR_TEMPERATURE, 20.0);
  assert_value (shot, FC_FIELD_AIR_PRESSURE, 29.92 * 3386.389);
  assert_value (shot, FC_FIELD_RELATIVE_HUMIDITY, 45);
  assert_value (shot, FC_FIELD_SIDE_SPIN, 320);    /* negated: Garmin's left is +  */
  g_assert_cmpuint (shot->tags->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (shot->tags, 0), ==, "range");
}

static void
test_mevo_plus (void)
{
  /* FS Golf / Mevo+ style: L/R direction text, "-" for nothing, summary
   * rows, a repeated header, impact in cm, roll instead of total. */
  const char *text =
    "club,Shot,Ball (mph),Club (mph),Smash,Carry (yds),Roll (yds),Lateral (yds),Spin (rpm),"
    "Spin Axis (°),Launch H (°),Launch V (°),Lateral Impact (cm),Vertical Impact (mm),"
    "Club Path (°),Lateral (yds),Height (ft),Mode\n"
    "7i,1,112.3,84.9,1.32,162.4,9.1,4.5 R,6800,3.0 L,1.2R,17.9,0.8,-3,2.1 R,99 L,88,Outdoor\n"
    "7i,2,110.0,-,-,158.0,-,0.0,6600,0.5 r,0.2 l,18.0,-,-,-,-,86,Outdoor\n"
    "7i,Avg,111.1,84.9,1.32,160.2,9.1,2.2 R,6700,1.2 L,0.5 R,18.0,0.8,-3,2.1 R,,87,\n"
    "7i,Dev,1.1,0,0,2.2,0,2.3,100,1.8,0.7,0.1,0,0,0,,1,\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = parse_text (text, &error);
  FcShot *shot;

  g_assert_no_error (error);
  g_assert_cmpstr (batch->format, ==, "flightscope");
  g_assert_cmpuint (batch->shots->len, ==, 2);

  shot = shot_at_line (batch, 2);
  g_assert_cmpstr (shot->club, ==, "7i");
  assert_value (shot, FC_FIELD_BALL_SPEED, 112.3 * MPH);
  assert_value (shot, FC_FIELD_CLUB_SPEED, 84.9 * MPH);
  assert_value (shot, FC_FIELD_CARRY, 162.4 * YD);
  assert_value (shot, FC_FIELD_TOTAL, 162.4 * YD + 9.1 * YD);
  assert_value (shot, FC_FIELD_CARRY_SIDE, 4.5 * YD);      /* the first Lateral column */
  assert_value (shot, FC_FIELD_SPIN_AXIS, -3.0);
  assert_value (shot, FC_FIELD_LAUNCH_DIRECTION, 1.2);
  assert_value (shot, FC_FIELD_IMPACT_OFFSET, 0.008);
  assert_value (shot, FC_FIELD_IMPACT_HEIGHT, -0.003);
  assert_value (shot, FC_FIELD_CLUB_PATH, 2.1);
  assert_value (shot, FC_FIELD_MAX_HEIGHT, 88 * FT);

  shot = shot_at_line (batch, 3);
  assert_absent (shot, FC_FIELD_CLUB_SPEED);
  assert_absent (shot, FC_FIELD_SMASH_FACTOR);
  assert_absent (shot, FC_FIELD_TOTAL);
  assert_absent (shot, FC_FIELD_CLUB_PATH);
  assert_value (shot, FC_FIELD_CARRY_SIDE, 0.0);
  assert_value (shot, FC_FIELD_SPIN_AXIS, 0.5);      /* lower-case "r" */
  assert_value (shot, FC_FIELD_LAUNCH_DIRECTION, -0.2);
  g_clear_pointer (&batch, fc_import_batch_free);

  /* a direction and a minus sign contradict each other */
  batch = parse_text ("Ball (mph),Smash,Launch V (deg),Launch H (deg),Lateral (yds)\n"
                      "100,1.3,15,-2.0 L,3\n", &error);
  g_assert_null (batch);
  assert_error_at (error, FC_ERROR_INVALID_INPUT, "line 2", "column 'Launch H (deg)'");
}

static void
test_fsx_live_club_data (void)
{
  const char *text =
    "Shot Number,Club Name,Club Type,Shot Created Date,Ball Speed (mph),Push/Pull (deg L-/R+),"
    "Launch Angle (deg),Total Spin (rpm),Carry (yds),Club Speed (mph),Efficiency,"
    "Club Path (deg out-in-/in-out+),Face to Target (deg closed-/open+),"
    "Lie (deg toe down-/toe up+),Loft (deg),Face Impact Horizontal (mm toe-/heel+),"
    "Face Impact Vertical (mm low-/high+),Closure Rate (deg/sec)\r\n"
    "7,,Iron,08/06/2024 18:10:00,120.5,-1.5,17.5,6500,165,88,1.37,2.5,-1.2,1.5,28.1,6.5,-4,2100\r\n"
    "8,7i,Iron,08/06/2024 18:11:00,121,0,17,6400,166,88,1.38,0,0,0,28,16777215,16777215.000000,16777215\r\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = parse_text (text, &error);
  FcShot *shot;

  g_assert_no_error (error);
  g_assert_cmpstr (batch->format, ==, "foresight-fsx-live");

  shot = shot_at_line (batch, 2);
  g_assert_cmpstr (shot->club, ==, "Iron");   /* Club Name empty: Club Type */
  assert_value (shot, FC_FIELD_CLUB_SPEED, 88 * MPH);
  assert_value (shot, FC_FIELD_SMASH_FACTOR, 1.37);
  assert_value (shot, FC_FIELD_CLUB_PATH, 2.5);
  assert_value (shot, FC_FIELD_FACE_ANGLE, -1.2);
  assert_value (shot, FC_FIELD_CLUB_LIE, 1.5);
  assert_value (shot, FC_FIELD_DYNAMIC_LOFT, 28.1);
  /* Foresight's heel+ becomes our toe+ */
  assert_value (shot, FC_FIELD_IMPACT_OFFSET, -0.0065);
  assert_value (shot, FC_FIELD_IMPACT_HEIGHT, -0.004);
  assert_value (shot, FC_FIELD_CLOSURE_RATE, 2100);

  shot = shot_at_line (batch, 3);
  g_assert_cmpstr (shot->club, ==, "7i");
  assert_value (shot, FC_FIELD_LAUNCH_DIRECTION, 0.0);
  g_assert_false (signbit (fc_shot_get (shot, FC_FIELD_LAUNCH_DIRECTION)));
  assert_absent (shot, FC_FIELD_IMPACT_OFFSET);
  assert_absent (shot, FC_FIELD_IMPACT_HEIGHT);
  assert_absent (shot, FC_FIELD_CLOSURE_RATE);
}

static void
test_duplicate_rows (void)
{
  /* Two identical rows are two shots; a longer re-export of the same
   * session gives its first rows the same ids. */
  const char *short_text = TM_HEADER ",[mph],[yds],[ft],[rpm]\n"
                           "Driver,150,250,30,2500\n"
                           "Driver,150,250,30,2500\n";
  const char *long_text = TM_HEADER ",[mph],[yds],[ft],[rpm]\n"
                          "Driver,150,250,30,2500\n"
                          "Driver,150,250,30,2500\n"
                          "Driver,150,250,30,2500\n"
                          "Driver,151,251,31,2501\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) a = parse_text (short_text, &error);
  g_autoptr(FcImportBatch) b = parse_text (long_text, &error);
  const char *first;
  g_autofree char *hash = NULL;
  g_autofree char *id1 = NULL, *id2 = NULL, *id3 = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (a->shots->len, ==, 2);
  g_assert_cmpuint (b->shots->len, ==, 4);

  /* "<hash of the row>#<occurrence>" */
  first = ((FcShot *) a->shots->pdata[0])->device_shot_id;
  g_assert_nonnull (strchr (first, '#'));
  hash = g_strndup (first, strchr (first, '#') - first);
  id1 = g_strconcat (hash, "#1", NULL);
  id2 = g_strconcat (hash, "#2", NULL);
  id3 = g_strconcat (hash, "#3", NULL);
  g_assert_cmpstr (((FcShot *) a->shots->pdata[0])->device_shot_id, ==, id1);
  g_assert_cmpstr (((FcShot *) a->shots->pdata[1])->device_shot_id, ==, id2);
  g_assert_cmpstr (((FcShot *) b->shots->pdata[0])->device_shot_id, ==, id1);
  g_assert_cmpstr (((FcShot *) b->shots->pdata[1])->device_shot_id, ==, id2);
  g_assert_cmpstr (((FcShot *) b->shots->pdata[2])->device_shot_id, ==, id3);
  g_assert_true (g_str_has_suffix (((FcShot *) b->shots->pdata[3])->device_shot_id, "#1"));
  g_assert_false (g_str_has_prefix (((FcShot *) b->shots->pdata[3])->device_shot_id, hash));
}

static void
test_blank_rows_skipped (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = parse_text (TM_HEADER ",[mph],[yds],[ft],[rpm]\n"
                                               "\n"
                                               "Driver,150,250,30,2500\n"
                                               ",,,,\n"
                                               "  , ,,,\n"
                                               "Driver,152,252,32,2502\n", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (batch->shots->len, ==, 2);
  g_assert_cmpstr (((FcShot *) batch->shots->pdata[1])->source_detail, ==, "test.csv:7");
}

/* ------------------------------------------------------------------ */

static void
fuzz_one (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcImportBatch) batch = fc_import_csv_parse ("test.csv", bytes, &error);

  g_assert_true ((batch == NULL) != (error == NULL));
  if (error)
    {
      g_assert_true (error->domain == FC_ERROR);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
    }
  else
    {
      g_assert_cmpuint (batch->shots->len, >, 0);
      for (guint i = 0; i < batch->shots->len; i++)
        g_assert_true (fc_shot_validate (batch->shots->pdata[i], NULL));
    }
}

static void
test_fuzz (void)
{
  static const char *const names[] = {
    "trackman-tps-driver.csv", "trackman-tps-2023-7iron.csv",
    "foresight-fsx-live-7i-lw.csv", "foresight-fsx2020-lastshot.csv",
    "garmin-r10-drivingrange.csv", "flightscope-mevo-range.csv",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240806);

  for (gsize n = 0; n < G_N_ELEMENTS (names); n++)
    {
      g_autoptr(GBytes) original = load_fixture (names[n]);
      gsize len;
      const guint8 *data = g_bytes_get_data (original, &len);
      /* Enough of the big file to reach its data rows, kept short so
       * the test stays quick. */
      gsize max_len = MIN (len, 16384);

      for (guint i = 0; i < 200; i++)
        {
          gsize cut = g_rand_int_range (rand, 0, max_len + 1);
          g_autofree guint8 *copy = g_memdup2 (data, max_len);
          g_autoptr(GBytes) truncated = g_bytes_new (data, cut);
          g_autoptr(GBytes) flipped = NULL;
          guint flips = g_rand_int_range (rand, 1, 9);

          fuzz_one (truncated);

          for (guint k = 0; k < flips; k++)
            copy[g_rand_int_range (rand, 0, max_len)] = g_rand_int_range (rand, 0, 256);
          flipped = g_bytes_new (copy, cut);
          fuzz_one (flipped);
        }
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/import-csv/trackman-driver", test_trackman_driver);
  g_test_add_func ("/import-csv/trackman-2023", test_trackman_2023);
  g_test_add_func ("/import-csv/fsx-live", test_fsx_live);
  g_test_add_func ("/import-csv/fsx2020", test_fsx2020);
  g_test_add_func ("/import-csv/garmin", test_garmin);
  g_test_add_func ("/import-csv/flightscope-mevo", test_flightscope_mevo);
  g_test_add_func ("/import-csv/deterministic-ids", test_deterministic_ids);

  g_test_add_func ("/import-csv/unknown-format", test_unknown_format);
  g_test_add_func ("/import-csv/unknown-unit", test_unknown_unit);
  g_test_add_func ("/import-csv/missing-units-row", test_missing_units_row);
  g_test_add_func ("/import-csv/bad-cells", test_bad_cells);
  g_test_add_func ("/import-csv/negative-carry", test_negative_carry);
  g_test_add_func ("/import-csv/unterminated-quote", test_unterminated_quote);
  g_test_add_func ("/import-csv/no-shots", test_no_shots);
  g_test_add_func ("/import-csv/row-without-values", test_row_without_values);
  g_test_add_func ("/import-csv/extra-cells", test_extra_cells);
  g_test_add_func ("/import-csv/trackman-metric", test_trackman_metric);
  g_test_add_func ("/import-csv/garmin-r50-units", test_garmin_r50_units);
  g_test_add_func ("/import-csv/mevo-plus", test_mevo_plus);
  g_test_add_func ("/import-csv/fsx-live-club-data", test_fsx_live_club_data);
  g_test_add_func ("/import-csv/duplicate-rows", test_duplicate_rows);
  g_test_add_func ("/import-csv/blank-rows-skipped", test_blank_rows_skipped);
  g_test_add_func ("/import-csv/fuzz", test_fuzz);

  return g_test_run ();
}
