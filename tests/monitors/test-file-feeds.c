/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * File feeds: Foresight FSX 2020's LastShot.CSV followed as FSX rewrites
 * it, and a drop folder for exported files.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "fc-drop-folder.h"
#include "fc-hub.h"
#include "fc-lastshot-watcher.h"

static char *
fixture_text (const char *name)
{
  g_autofree char *path = g_build_filename (g_getenv ("FITCLIP_FIXTURES"), name, NULL);
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static gint64
count_shots (const char *db)
{
  g_autoptr(FcStore) store = fc_store_open (db, NULL);
  FcStoreCounts counts;

  g_assert_true (fc_store_get_counts (store, &counts, NULL));
  return counts.shots;
}

/* Runs the main loop until @db holds @n shots or the time runs out. */
static gboolean
wait_for_shots (const char *db, gint64 n, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (count_shots (db) == n)
        return TRUE;
      g_usleep (20 * 1000);
    }
  return count_shots (db) == n;
}

static void
settle (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (5000), 0);
}

/* The fixture's row with another Shot ID and ball speed: the next shot. */
static char *
next_shot (const char *text, int id, const char *speed)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", 3);
  g_auto(GStrv) cells = g_strsplit (lines[1], ",", -1);

  g_free (cells[0]);
  cells[0] = g_strdup_printf ("      %d", id);
  g_free (cells[3]);
  cells[3] = g_strdup_printf ("        %s", speed);
  {
    g_autofree char *row = g_strjoinv (",", cells);
    return g_strdup_printf ("%s\n%s\n", lines[0], row);
  }
}

static void
test_lastshot (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-lastshot-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "feed.db", NULL);
  g_autofree char *path = g_build_filename (dir, "LastShot.CSV", NULL);
  g_autofree char *fixture = fixture_text ("foresight-fsx2020-lastshot.csv");
  g_autofree char *second = next_shot (fixture, 5, "50.125000");
  g_autofree char *third = next_shot (fixture, 1, "51.250000");
  g_autoptr(GError) error = NULL;
  g_autoptr(FcHub) hub = fc_hub_new (db, NULL, "Bay 1", &error);
  g_autoptr(FcLastShotWatcher) watcher = NULL;
  g_autoptr(GPtrArray) fittings = NULL;
  g_autoptr(FcStore) store = NULL;
  g_autoptr(GPtrArray) shots = NULL;

  g_assert_no_error (error);
  /* Yesterday's shot is in the file when the agent starts: not today's. */
  g_assert_true (g_file_set_contents (path, fixture, -1, NULL));
  watcher = fc_lastshot_watcher_new (hub, path);
  g_assert_true (fc_lastshot_watcher_start (watcher, &error));
  settle (300);
  g_assert_cmpint (count_shots (db), ==, 0);

  /* FSX replaces the file (write to a temporary name, rename). */
  g_assert_true (g_file_set_contents (path, second, -1, NULL));
  g_assert_true (wait_for_shots (db, 1, 5000));

  /* The same content written again, and the file touched: nothing new. */
  g_assert_true (g_file_set_contents (path, second, -1, NULL));
  settle (1500);
  g_assert_cmpint (count_shots (db), ==, 1);

  /* Half-written, then gone, then the next shot (FSX restarted: Shot ID 1). */
  g_assert_true (g_file_set_contents (path, "Shot ID, Club, Club head", -1, NULL));
  settle (1200);
  g_assert_cmpint (g_unlink (path), ==, 0);
  settle (1200);
  g_assert_true (g_file_set_contents (path, third, -1, NULL));
  g_assert_true (wait_for_shots (db, 2, 5000));
  g_assert_cmpuint (fc_lastshot_watcher_get_submitted (watcher), ==, 2);

  store = fc_store_open (db, &error);
  fittings = fc_store_list_fittings (store, &error);
  shots = fc_store_list_shots (store, ((FcFitting *) fittings->pdata[0])->id, &error);
  g_assert_cmpfloat (fc_shot_get (shots->pdata[0], FC_FIELD_BALL_SPEED), ==, 50.125);
  g_assert_cmpfloat (fc_shot_get (shots->pdata[1], FC_FIELD_BALL_SPEED), ==, 51.25);
  g_assert_cmpstr (((FcShot *) shots->pdata[0])->source_protocol, ==, "foresight-lastshot");
  /* 16777215 is FSX's "not measured". */
  g_assert_false (fc_shot_has (shots->pdata[0], FC_FIELD_FACE_TO_PATH));
}

static void
test_lastshot_simulator (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-lastshot-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "sim.db", NULL);
  g_autofree char *path = g_build_filename (dir, "LastShot.CSV", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FcHub) hub = fc_hub_new (db, NULL, "Bay 1", &error);
  g_autoptr(FcLastShotWatcher) watcher = fc_lastshot_watcher_new (hub, path);
  g_autoptr(GSubprocess) sim = NULL;

  g_assert_true (fc_lastshot_watcher_start (watcher, &error));
  /* Two shots a second: faster than FSX, slower than the one-second check. */
  sim = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                          g_getenv ("FITCLIP_LMSIM"), "lastshot", path, "--count", "8", "--rate", "2",
                          "--seed", "5", NULL);
  g_assert_no_error (error);
  g_assert_true (wait_for_shots (db, 8, 15000));
  g_subprocess_wait_check (sim, NULL, &error);
  g_assert_no_error (error);
  settle (1200);
  g_assert_cmpint (count_shots (db), ==, 8);
}

typedef struct {
  guint imported;
  guint failed;
  guint inserted;
} DropCounts;

static void
on_imported (FcDropFolder *folder, const char *name, guint inserted, guint duplicates, DropCounts *c)
{
  c->imported++;
  c->inserted += inserted;
}

static void
on_failed (FcDropFolder *folder, const char *name, const char *message, DropCounts *c)
{
  c->failed++;
}

static void
wait_for_count (guint *counter, guint n, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + timeout_ms * 1000;

  while (*counter < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (10 * 1000), 0);
  g_assert_cmpuint (*counter, ==, n);
}

static void
test_drop_folder (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-drop-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "drop.db", NULL);
  g_autofree char *folder = g_build_filename (dir, "Drop", NULL);
  g_autofree char *tps = fixture_text ("trackman-tps-driver.csv");
  g_autofree char *in1 = g_build_filename (folder, "session.csv", NULL);
  g_autofree char *in2 = g_build_filename (folder, "again.CSV", NULL);
  g_autofree char *bad = g_build_filename (folder, "broken.csv", NULL);
  g_autofree char *ignored = g_build_filename (folder, "notes.txt", NULL);
  g_autofree char *done1 = g_build_filename (folder, "imported", "session.csv", NULL);
  g_autofree char *failed = g_build_filename (folder, "failed", "broken.csv", NULL);
  g_autofree char *reason = g_build_filename (folder, "failed", "broken.csv.error.txt", NULL);
  g_autofree char *why = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcDropFolder) drop = fc_drop_folder_new (db, folder, "Bay 1");
  DropCounts counts = { 0 };

  g_signal_connect (drop, "imported", G_CALLBACK (on_imported), &counts);
  g_signal_connect (drop, "failed", G_CALLBACK (on_failed), &counts);
  g_assert_true (fc_drop_folder_start (drop, &error));
  g_assert_no_error (error);

  g_assert_true (g_file_set_contents (in1, tps, -1, NULL));
  g_assert_true (g_file_set_contents (ignored, "not an export", -1, NULL));
  wait_for_count (&counts.imported, 1, 10000);
  g_assert_cmpuint (counts.inserted, ==, 500);
  g_assert_true (g_file_test (done1, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (in1, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (ignored, G_FILE_TEST_IS_REGULAR));

  /* The same export again adds nothing; it is still filed away. */
  g_assert_true (g_file_set_contents (in2, tps, -1, NULL));
  wait_for_count (&counts.imported, 2, 10000);
  g_assert_cmpuint (counts.inserted, ==, 500);
  g_assert_cmpint (count_shots (db), ==, 500);

  /* A broken file is kept, with the reason beside it. */
  g_assert_true (g_file_set_contents (bad, "Club,Ball Speed\n,[furlongs]\nDriver,100\n", -1, NULL));
  wait_for_count (&counts.failed, 1, 10000);
  g_assert_true (g_file_test (failed, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_get_contents (reason, &why, NULL, NULL));
  g_assert_nonnull (strstr (why, "broken.csv"));
  g_assert_cmpint (count_shots (db), ==, 500);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/file-feeds/lastshot", test_lastshot);
  g_test_add_func ("/file-feeds/lastshot-simulator", test_lastshot_simulator);
  g_test_add_func ("/file-feeds/drop-folder", test_drop_folder);
  return g_test_run ();
}
