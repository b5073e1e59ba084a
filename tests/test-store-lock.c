/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A database locked by another process: the store waits up to its busy
 * timeout, then fails with a clear error and changes nothing; a lock
 * released in time is simply waited for.
 */
#include <string.h>

#include "fc-error.h"
#include "fc-store.h"

static GSubprocess *
start_locker (const char *db,
              guint       hold_ms)
{
  g_autofree char *locker = g_test_build_filename (G_TEST_BUILT, "helpers", "db-locker", NULL);
  g_autofree char *hold = g_strdup_printf ("%u", hold_ms);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  g_autofree char *line = NULL;
  GSubprocess *proc;

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, locker, db, hold, NULL);
  g_assert_no_error (error);
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));
  line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "locked");
  return proc;
}

static FcShot *
make_shot (void)
{
  FcShot *shot = fc_shot_new ();

  shot->source_protocol = g_strdup ("test");
  shot->device_id = g_strdup ("lock-test");
  fc_shot_set (shot, FC_FIELD_BALL_SPEED, 65.0);
  return shot;
}

static void
test_locked_times_out (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-lock-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "locked.db", NULL);
  FcStoreOptions options = { .busy_timeout_ms = 400 };
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = fc_store_open_full (db, &options, &error);
  g_autoptr(GSubprocess) locker = NULL;
  g_autoptr(FcShot) shot = make_shot ();
  FcStoreCounts counts;
  gint64 start, waited;

  g_assert_no_error (error);
  locker = start_locker (db, 3000);

  start = g_get_monotonic_time ();
  g_assert_false (fc_store_add_shot (store, shot, NULL, NULL, &error));
  waited = g_get_monotonic_time () - start;
  g_assert_error (error, FC_ERROR, FC_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "locked by another program"));
  g_assert_nonnull (strstr (error->message, db));
  /* It waited for the busy timeout, not for the other program. */
  g_assert_cmpint (waited, >=, 350 * 1000);
  g_assert_cmpint (waited, <, 2500 * 1000);
  g_clear_error (&error);

  g_subprocess_force_exit (locker);
  g_subprocess_wait (locker, NULL, NULL);
  g_assert_true (fc_store_get_counts (store, &counts, &error));
  g_assert_cmpint (counts.shots, ==, 0);
  g_assert_cmpint (counts.outbox_pending, ==, 0);
}

static void
test_lock_released_in_time (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-lock-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "locked.db", NULL);
  FcStoreOptions options = { .busy_timeout_ms = 5000 };
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = fc_store_open_full (db, &options, &error);
  g_autoptr(GSubprocess) locker = NULL;
  g_autoptr(FcShot) shot = make_shot ();
  FcAddResult result;
  gint64 start, waited;

  g_assert_no_error (error);
  locker = start_locker (db, 300);
  start = g_get_monotonic_time ();
  g_assert_true (fc_store_add_shot (store, shot, NULL, &result, &error));
  waited = g_get_monotonic_time () - start;
  g_assert_no_error (error);
  g_assert_cmpint (result, ==, FC_ADD_INSERTED);
  g_assert_cmpint (waited, >=, 150 * 1000);
  g_subprocess_wait_check (locker, NULL, &error);
  g_assert_no_error (error);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/store-lock/times-out-with-clear-error", test_locked_times_out);
  g_test_add_func ("/store-lock/waits-for-release", test_lock_released_in_time);
  return g_test_run ();
}
