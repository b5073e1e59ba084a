/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "fc-error.h"
#include "fc-shot.h"
#include "fc-uuid.h"

#include <math.h>
#include <string.h>

static void
test_field_names (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (FcShotField f = 0; f < FC_SHOT_N_FIELDS; f++)
    {
      const FcShotFieldInfo *info = fc_shot_field_get_info (f);
      FcShotField back;

      g_assert_nonnull (info->name);
      g_assert_false (g_hash_table_contains (seen, info->name));
      g_hash_table_add (seen, (gpointer) info->name);
      g_assert_true (fc_shot_field_from_name (info->name, &back));
      g_assert_cmpint (back, ==, f);
      g_assert_cmpfloat (info->min, <, info->max);
      /* snake_case, ASCII */
      for (const char *p = info->name; *p; p++)
        g_assert_true (g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '_');
    }
  g_assert_cmpstr (fc_shot_field_get_name (FC_FIELD_BALL_SPEED), ==, "ball_speed_mps");
  g_assert_cmpstr (fc_shot_field_get_name (FC_FIELD_CARRY), ==, "carry_m");
  g_assert_cmpstr (fc_shot_field_get_name (FC_FIELD_HANG_TIME), ==, "hang_time_s");
  g_assert_false (fc_shot_field_from_name ("ball_speed_mph", NULL));
}

static void
test_not_measured_is_not_zero (void)
{
  g_autoptr(FcShot) shot = fc_shot_new ();

  g_assert_false (fc_shot_has (shot, FC_FIELD_CARRY));
  g_assert_true (isnan (fc_shot_get (shot, FC_FIELD_CARRY)));
  fc_shot_set (shot, FC_FIELD_CARRY, 0.0);
  g_assert_true (fc_shot_has (shot, FC_FIELD_CARRY));
  g_assert_cmpfloat (fc_shot_get (shot, FC_FIELD_CARRY), ==, 0.0);
  fc_shot_set (shot, FC_FIELD_CARRY, NAN);
  g_assert_false (fc_shot_has (shot, FC_FIELD_CARRY));
  g_assert_cmpuint (fc_shot_count_values (shot), ==, 0);
}

static void
test_validate (void)
{
  g_autoptr(FcShot) shot = fc_shot_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (fc_shot_validate (shot, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  fc_shot_set (shot, FC_FIELD_BALL_SPEED, 70.0);
  fc_shot_set (shot, FC_FIELD_CARRY, 230.0);
  g_assert_true (fc_shot_validate (shot, &error));
  g_assert_no_error (error);

  fc_shot_set (shot, FC_FIELD_BALL_SPEED, 900.0);
  g_assert_false (fc_shot_validate (shot, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_OUT_OF_RANGE);
  g_assert_nonnull (strstr (error->message, "Ball speed"));
  g_clear_error (&error);

  fc_shot_set (shot, FC_FIELD_BALL_SPEED, 70.0);
  fc_shot_set (shot, FC_FIELD_CARRY, -12.0);
  g_assert_false (fc_shot_validate (shot, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_OUT_OF_RANGE);
  g_clear_error (&error);

  fc_shot_set (shot, FC_FIELD_CARRY, INFINITY);
  g_assert_false (fc_shot_validate (shot, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
}

static void
test_spin_completion (void)
{
  g_autoptr(FcShot) a = fc_shot_new ();
  g_autoptr(FcShot) b = fc_shot_new ();

  fc_shot_set (a, FC_FIELD_BACK_SPIN, 3000);
  fc_shot_set (a, FC_FIELD_SIDE_SPIN, 4000);
  fc_shot_complete_spin (a);
  g_assert_cmpfloat_with_epsilon (fc_shot_get (a, FC_FIELD_SPIN_RATE), 5000, 1e-9);
  g_assert_cmpfloat_with_epsilon (fc_shot_get (a, FC_FIELD_SPIN_AXIS),
                                  atan2 (4000, 3000) * 180 / G_PI, 1e-9);

  fc_shot_set (b, FC_FIELD_SPIN_RATE, 2000);
  fc_shot_set (b, FC_FIELD_SPIN_AXIS, -30);
  fc_shot_complete_spin (b);
  g_assert_cmpfloat_with_epsilon (fc_shot_get (b, FC_FIELD_BACK_SPIN), 2000 * cos (G_PI / 6), 1e-9);
  g_assert_cmpfloat_with_epsilon (fc_shot_get (b, FC_FIELD_SIDE_SPIN), -1000, 1e-9);
}

static void
test_orphans (void)
{
  g_autoptr(FcShot) shot = fc_shot_new ();

  fc_shot_set (shot, FC_FIELD_BALL_SPEED, 67.0);
  fc_shot_set (shot, FC_FIELD_SMASH_FACTOR, -41.77);
  fc_shot_set (shot, FC_FIELD_FACE_TO_PATH, 0.0);
  g_assert_cmpuint (fc_shot_drop_orphan_values (shot), ==, 2);
  g_assert_false (fc_shot_has (shot, FC_FIELD_SMASH_FACTOR));
  g_assert_false (fc_shot_has (shot, FC_FIELD_FACE_TO_PATH));

  fc_shot_set (shot, FC_FIELD_CLUB_SPEED, 45.0);
  fc_shot_set (shot, FC_FIELD_SMASH_FACTOR, 1.48);
  fc_shot_set (shot, FC_FIELD_CLUB_PATH, 2.0);
  fc_shot_set (shot, FC_FIELD_FACE_TO_PATH, 0.0);
  g_assert_cmpuint (fc_shot_drop_orphan_values (shot), ==, 0);
}

static void
test_fingerprint_and_copy (void)
{
  g_autoptr(FcShot) a = fc_shot_new ();
  g_autoptr(FcShot) b = NULL;

  fc_shot_set (a, FC_FIELD_BALL_SPEED, 60.1);
  fc_shot_set (a, FC_FIELD_LAUNCH_ANGLE, 12.5);
  a->club = g_strdup ("Driver");
  fc_shot_add_tag (a, "good");
  fc_shot_add_tag (a, "good");
  a->raw = g_bytes_new ("{}", 2);
  g_assert_cmpuint (a->tags->len, ==, 1);

  b = fc_shot_copy (a);
  g_assert_cmpint (fc_shot_fingerprint (a), ==, fc_shot_fingerprint (b));
  g_assert_cmpstr (b->club, ==, "Driver");
  g_assert_true (g_bytes_equal (a->raw, b->raw));
  fc_shot_set (b, FC_FIELD_LAUNCH_ANGLE, 12.6);
  g_assert_cmpint (fc_shot_fingerprint (a), !=, fc_shot_fingerprint (b));
  fc_shot_set (b, FC_FIELD_LAUNCH_ANGLE, 12.5);
  fc_shot_set (b, FC_FIELD_CARRY, 0.0);
  g_assert_cmpint (fc_shot_fingerprint (a), !=, fc_shot_fingerprint (b));
}

/* Our ids go to the cloud as primary keys: they must be well-formed
 * version 4 UUIDs and not repeat. */
static void
test_uuid (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < 20000; i++)
    {
      char *id = fc_uuid_new ();

      g_assert_true (g_uuid_string_is_valid (id));
      g_assert_cmpuint (strlen (id), ==, 36);
      g_assert_cmpint (id[14], ==, '4');
      g_assert_nonnull (strchr ("89ab", id[19]));
      for (const char *p = id; *p; p++)
        g_assert_false (g_ascii_isupper (*p));
      g_assert_true (g_hash_table_add (seen, id));
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/shot/field-names", test_field_names);
  g_test_add_func ("/shot/not-measured-is-not-zero", test_not_measured_is_not_zero);
  g_test_add_func ("/shot/validate", test_validate);
  g_test_add_func ("/shot/spin-completion", test_spin_completion);
  g_test_add_func ("/shot/orphan-values", test_orphans);
  g_test_add_func ("/shot/fingerprint-and-copy", test_fingerprint_and_copy);
  g_test_add_func ("/shot/uuid", test_uuid);
  return g_test_run ();
}
