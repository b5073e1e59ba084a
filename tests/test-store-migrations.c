/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Upgrading from every earlier schema version gives exactly the schema
 * of a new database, with the data intact.
 */
#include <sqlite3.h>
#include <string.h>

#include "fc-store-private.h"
#include "fc-sync-queue.h"

static char *
schema_of (const char *path)
{
  sqlite3 *db;
  sqlite3_stmt *stmt;
  GString *out = g_string_new (NULL);

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT type, name, sql FROM sqlite_schema "
                                       "ORDER BY type, name", -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (out, "%s %s %s\n", sqlite3_column_text (stmt, 0),
                            sqlite3_column_text (stmt, 1), sqlite3_column_text (stmt, 2));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return g_string_free (out, FALSE);
}

static void
test_upgrade_from_every_version (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-migrate-XXXXXX", NULL);
  g_autofree char *fresh = g_build_filename (dir, "fresh.db", NULL);
  g_autofree char *expected = NULL;
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(FcStore) store = fc_store_open (fresh, &error);
    g_assert_no_error (error);
  }
  expected = schema_of (fresh);
  g_assert_nonnull (strstr (expected, "table shots"));

  for (int v = 0; v < FC_STORE_SCHEMA_VERSION; v++)
    {
      g_autofree char *name = g_strdup_printf ("v%d.db", v);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *got = NULL;
      g_autofree char *report = NULL;
      g_autoptr(FcStore) store = NULL;

      g_assert_true (_fc_store_create_at_version (path, v, &error));
      g_assert_no_error (error);
      {
        sqlite3 *db;
        sqlite3_stmt *stmt;
        g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
        sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &stmt, NULL);
        g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
        g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, v);
        sqlite3_finalize (stmt);
        sqlite3_close (db);
      }

      store = fc_store_open (path, &error);
      g_assert_no_error (error);
      g_assert_cmpint (fc_store_get_schema_version (store), ==, FC_STORE_SCHEMA_VERSION);
      g_assert_true (fc_store_check_integrity (store, &report, &error));
      g_assert_cmpstr (report, ==, "ok");
      g_clear_object (&store);
      got = schema_of (path);
      g_assert_cmpstr (got, ==, expected);
    }
}

static void
test_reopen_is_idempotent (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-migrate-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "again.db", NULL);
  g_autofree char *first = NULL, *second = NULL;
  g_autoptr(GError) error = NULL;

  g_clear_object (&(FcStore *) { fc_store_open (path, &error) });
  g_assert_no_error (error);
  first = schema_of (path);
  g_clear_object (&(FcStore *) { fc_store_open (path, &error) });
  g_assert_no_error (error);
  second = schema_of (path);
  g_assert_cmpstr (first, ==, second);
}

/* Version 1 with a fitting, shots and their outbox, as an agent of
 * that version left it: version 2 adds sync bookkeeping and keeps all
 * of it (made from a current database by removing what version 2 adds,
 * which is exactly the difference between the two). */
static void
test_upgrade_keeps_data (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-migrate-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "v1-with-data.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FcFitting) fitting = fc_fitting_new (FC_FITTING_IRONS, "Bay 2");
  g_autoptr(FcClubConfig) config = fc_club_config_new (FC_CONFIG_BASELINE, "Own 7-iron");
  g_autofree char *report = NULL;
  FcSyncQueueStatus status = { 0 };

  {
    g_autoptr(FcStore) store = fc_store_open (path, &error);
    g_autoptr(FcShot) shot = fc_shot_new ();
    FcShot *shots[] = { shot };
    FcAddResult result;

    g_assert_no_error (error);
    g_assert_true (fc_store_add_fitting (store, fitting, &error));
    config->fitting_id = g_strdup (fitting->id);
    g_assert_true (fc_store_add_config (store, config, &error));
    shot->source_kind = FC_SOURCE_DEVICE;
    shot->source_protocol = g_strdup ("open-connect-v1");
    shot->device_id = g_strdup ("m1");
    shot->device_shot_id = g_strdup ("1");
    shot->fitting_id = g_strdup (fitting->id);
    shot->config_id = g_strdup (config->id);
    fc_shot_set (shot, FC_FIELD_BALL_SPEED, 51.25);
    g_assert_true (fc_store_add_shots (store, shots, 1, NULL, &result, &error));
    g_assert_no_error (error);
  }
  {
    sqlite3 *db;

    g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_exec (db, "DROP TABLE sync_set_aside; DROP TABLE sync_state;"
                                   " PRAGMA user_version = 1", NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close (db);
  }

  {
    g_autoptr(FcStore) store = fc_store_open (path, &error);
    g_autoptr(GPtrArray) shots = NULL;

    g_assert_no_error (error);
    g_assert_cmpint (fc_store_get_schema_version (store), ==, 2);
    g_assert_true (fc_store_check_integrity (store, &report, &error));
    g_assert_cmpstr (report, ==, "ok");
    shots = fc_store_list_shots (store, fitting->id, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (shots->len, ==, 1);
    g_assert_cmpfloat (fc_shot_get (g_ptr_array_index (shots, 0), FC_FIELD_BALL_SPEED), ==, 51.25);
    /* what waited to be sent still waits, and the new tables work */
    g_assert_true (fc_sync_queue_get_status (store, &status, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (status.pending[FC_SYNC_CREATE_FITTING], ==, 1);
    g_assert_cmpuint (status.pending[FC_SYNC_ADD_SHOTS], ==, 1);
    g_assert_cmpuint (status.set_aside, ==, 0);
    g_assert_cmpint (status.last_success_at, ==, 0);
    fc_sync_queue_status_clear (&status);
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/migrations/upgrade-from-every-version", test_upgrade_from_every_version);
  g_test_add_func ("/migrations/reopen-is-idempotent", test_reopen_is_idempotent);
  g_test_add_func ("/migrations/upgrade-keeps-data", test_upgrade_keeps_data);
  return g_test_run ();
}
