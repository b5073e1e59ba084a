/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Upgrading from every earlier schema version gives exactly the schema
 * of a new database, with the data intact.
 */
#include <sqlite3.h>
#include <string.h>

#include "fc-store-private.h"

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

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/migrations/upgrade-from-every-version", test_upgrade_from_every_version);
  g_test_add_func ("/migrations/reopen-is-idempotent", test_reopen_is_idempotent);
  return g_test_run ();
}
