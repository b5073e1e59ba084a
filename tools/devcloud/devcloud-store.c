/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-devcloud"

#include "config.h"

#include <math.h>

#include "devcloud.h"
#include "fc-error.h"
#include "fc-shot-field.h"

/*
 * The devcloud's own database. It shares nothing with the agent's store
 * but the record names: a separate schema, so that the sync tests compare
 * two independent copies of the data rather than one store with itself.
 */

static const char schema_1[] =
  "CREATE TABLE shops (\n"
  "  id TEXT PRIMARY KEY,\n"
  "  name TEXT NOT NULL UNIQUE,\n"
  "  primary_color TEXT, secondary_color TEXT, accent_color TEXT,\n"
  "  phone TEXT, email TEXT, website TEXT, address TEXT,\n"
  "  logo BLOB, logo_content_type TEXT, logo_sha256 TEXT,\n"
  "  updated_at INTEGER NOT NULL\n"
  ");\n"
  "CREATE TABLE users (\n"
  "  id TEXT PRIMARY KEY,\n"
  "  email TEXT NOT NULL UNIQUE COLLATE NOCASE,\n"
  "  shop_id TEXT NOT NULL REFERENCES shops(id),\n"
  "  pw_salt BLOB NOT NULL, pw_hash BLOB NOT NULL, pw_iterations INTEGER NOT NULL,\n"
  "  created_at INTEGER NOT NULL\n"
  ");\n"
  "CREATE TABLE user_refresh_tokens (\n"
  "  hash TEXT PRIMARY KEY,\n"
  "  user_id TEXT NOT NULL REFERENCES users(id),\n"
  "  expires_at INTEGER NOT NULL\n"
  ") WITHOUT ROWID;\n"
  "CREATE TABLE devices (\n"
  "  id TEXT PRIMARY KEY,\n"
  "  shop_id TEXT NOT NULL REFERENCES shops(id),\n"
  "  user_id TEXT REFERENCES users(id),\n"
  "  name TEXT NOT NULL, platform TEXT NOT NULL,\n"
  "  refresh_hash TEXT NOT NULL UNIQUE,\n"
  "  refresh_expires_at INTEGER NOT NULL,\n"
  "  revoked_at INTEGER,\n"
  "  created_at INTEGER NOT NULL, last_used_at INTEGER\n"
  ");\n"
  "CREATE TABLE access_tokens (\n"
  "  hash TEXT PRIMARY KEY,\n"
  "  kind TEXT NOT NULL,\n"
  "  principal_id TEXT NOT NULL,\n"
  "  shop_id TEXT NOT NULL,\n"
  "  expires_at INTEGER NOT NULL\n"
  ") WITHOUT ROWID;\n"
  "CREATE TABLE pair_codes (\n"
  "  code TEXT PRIMARY KEY,\n"
  "  shop_id TEXT NOT NULL REFERENCES shops(id),\n"
  "  user_id TEXT REFERENCES users(id),\n"
  "  expires_at INTEGER NOT NULL,\n"
  "  used_at INTEGER\n"
  ") WITHOUT ROWID;\n"
  "CREATE TABLE idempotency (\n"
  "  principal TEXT NOT NULL,\n"
  "  key TEXT NOT NULL,\n"
  "  request_hash TEXT NOT NULL,\n"
  "  status INTEGER NOT NULL,\n"
  "  content_type TEXT,\n"
  "  headers TEXT,\n"
  "  body BLOB,\n"
  "  created_at INTEGER NOT NULL,\n"
  "  PRIMARY KEY (principal, key)\n"
  ") WITHOUT ROWID;\n"
  "CREATE INDEX idempotency_age ON idempotency(created_at);\n"
  "CREATE TABLE customers (\n"
  "  id TEXT PRIMARY KEY,\n"
  "  shop_id TEXT NOT NULL REFERENCES shops(id),\n"
  "  name TEXT NOT NULL, email TEXT, phone TEXT, handedness TEXT, handicap REAL, notes TEXT,\n"
  "  updated_at INTEGER NOT NULL\n"
  ");\n"
  "CREATE TABLE fittings (\n"
  "  id TEXT PRIMARY KEY,\n"
  "  shop_id TEXT NOT NULL REFERENCES shops(id),\n"
  "  customer_id TEXT REFERENCES customers(id),\n"
  "  type TEXT NOT NULL, bay TEXT NOT NULL, fitter TEXT,\n"
  "  status TEXT NOT NULL, started_at INTEGER NOT NULL, completed_at INTEGER,\n"
  "  active_config_id TEXT, notes TEXT,\n"
  "  create_hash TEXT NOT NULL,\n"
  "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL\n"
  ");\n"
  "CREATE TABLE configs (\n"
  "  id TEXT PRIMARY KEY,\n"
  "  fitting_id TEXT NOT NULL REFERENCES fittings(id),\n"
  "  role TEXT NOT NULL, label TEXT, club_type TEXT, head TEXT, shaft TEXT,\n"
  "  loft_deg REAL, setting TEXT, position INTEGER NOT NULL DEFAULT 0\n"
  ");\n"
  "CREATE INDEX configs_by_fitting ON configs(fitting_id);\n"
  "CREATE TABLE uploads (\n"
  "  id TEXT PRIMARY KEY,\n"
  "  shop_id TEXT NOT NULL REFERENCES shops(id),\n"
  "  principal TEXT NOT NULL,\n"
  "  length INTEGER NOT NULL,\n"
  "  upload_offset INTEGER NOT NULL DEFAULT 0,\n"
  "  filename TEXT, fitting_id TEXT NOT NULL, video_id TEXT NOT NULL,\n"
  "  sha256 TEXT NOT NULL, content_type TEXT NOT NULL,\n"
  "  stored_sha256 TEXT,\n"
  "  state TEXT NOT NULL,\n"    /* open, attached, expired, terminated */
  "  expires_at INTEGER NOT NULL,\n"
  "  created_at INTEGER NOT NULL\n"
  ");\n"
  "CREATE TABLE videos (\n"
  "  id TEXT PRIMARY KEY,\n"
  "  fitting_id TEXT NOT NULL REFERENCES fittings(id),\n"
  "  kind TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,\n"
  "  content_type TEXT NOT NULL,\n"
  "  upload_id TEXT NOT NULL UNIQUE REFERENCES uploads(id),\n"
  "  created_at INTEGER NOT NULL\n"
  ");\n";

/* The shots table has one REAL column per field of the field table, made
 * from the table itself so the two can never disagree. */
static char *
shots_schema (void)
{
  GString *sql = g_string_new ("CREATE TABLE shots (\n"
                               "  seq INTEGER PRIMARY KEY,\n"
                               "  id TEXT NOT NULL UNIQUE,\n"
                               "  fitting_id TEXT NOT NULL REFERENCES fittings(id),\n"
                               "  config_id TEXT,\n"
                               "  device_id TEXT NOT NULL, device_shot_id TEXT, club TEXT,\n"
                               "  device_time TEXT, received_at INTEGER NOT NULL,\n"
                               "  spin_estimated INTEGER,\n"
                               "  excluded INTEGER NOT NULL DEFAULT 0, exclude_reason TEXT,\n"
                               "  tags TEXT NOT NULL DEFAULT '[]',\n"
                               "  source_kind TEXT NOT NULL, source_protocol TEXT NOT NULL,\n"
                               "  source_detail TEXT, raw BLOB,\n"
                               "  content_hash TEXT NOT NULL");

  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    g_string_append_printf (sql, ",\n  %s REAL", fc_shot_field_get_name (i));
  g_string_append (sql, "\n);\nCREATE INDEX shots_by_fitting ON shots(fitting_id, seq);\n");
  return g_string_free (sql, FALSE);
}

void
dc_store_set_error (DcStore     *store,
                    GError     **error,
                    const char  *what)
{
  int rc = sqlite3_extended_errcode (store->db);
  FcError code = FC_ERROR_STORAGE;

  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
    code = FC_ERROR_BUSY;
  else if ((rc & 0xff) == SQLITE_CONSTRAINT)
    code = FC_ERROR_CONFLICT;
  else if ((rc & 0xff) == SQLITE_FULL)
    code = FC_ERROR_DISK_FULL;
  g_set_error (error, FC_ERROR, code, "%s: %s", what, sqlite3_errmsg (store->db));
}

gboolean
dc_store_exec (DcStore     *store,
               const char  *sql,
               GError     **error)
{
  char *msg = NULL;

  if (sqlite3_exec (store->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_STORAGE, "%s", msg ? msg : "SQLite error");
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

sqlite3_stmt *
dc_store_stmt (DcStore    *store,
               const char *sql)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (store->statements, sql);

  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }
  if (sqlite3_prepare_v3 (store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
    g_error ("devcloud: cannot prepare “%s”: %s", sql, sqlite3_errmsg (store->db));
  g_hash_table_insert (store->statements, g_strdup (sql), stmt);
  return stmt;
}

gboolean
dc_store_step_done (DcStore      *store,
                    sqlite3_stmt *stmt,
                    GError      **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      dc_store_set_error (store, error, "writing the database");
      sqlite3_reset (stmt);
      return FALSE;
    }
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
dc_store_begin (DcStore  *store,
                GError  **error)
{
  /* IMMEDIATE: a command-line tool writing beside the server waits for
   * the lock here instead of failing half-way through. */
  return dc_store_step_done (store, dc_store_stmt (store, "BEGIN IMMEDIATE"), error);
}

gboolean
dc_store_commit (DcStore  *store,
                 GError  **error)
{
  if (!dc_store_step_done (store, dc_store_stmt (store, "COMMIT"), error))
    {
      dc_store_rollback (store);
      return FALSE;
    }
  return TRUE;
}

void
dc_store_rollback (DcStore *store)
{
  if (!sqlite3_get_autocommit (store->db))
    dc_store_step_done (store, dc_store_stmt (store, "ROLLBACK"), NULL);
}

void
dc_bind_text (sqlite3_stmt *stmt,
              int           col,
              const char   *text)
{
  if (text)
    sqlite3_bind_text (stmt, col, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, col);
}

void
dc_bind_double (sqlite3_stmt *stmt,
                int           col,
                double        value)
{
  if (isnan (value))
    sqlite3_bind_null (stmt, col);
  else
    sqlite3_bind_double (stmt, col, value);
}

char *
dc_column_dup (sqlite3_stmt *stmt,
               int           col)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, col));
}

double
dc_column_double (sqlite3_stmt *stmt,
                  int           col)
{
  if (sqlite3_column_type (stmt, col) == SQLITE_NULL)
    return NAN;
  return sqlite3_column_double (stmt, col);
}

static gboolean
migrate (DcStore  *store,
         GError  **error)
{
  sqlite3_stmt *stmt = dc_store_stmt (store, "PRAGMA user_version");
  g_autofree char *shots = NULL;
  int version;

  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      dc_store_set_error (store, error, "reading the schema version");
      sqlite3_reset (stmt);
      return FALSE;
    }
  version = sqlite3_column_int (stmt, 0);
  sqlite3_reset (stmt);
  if (version == 1)
    return TRUE;
  if (version != 0)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_SCHEMA_TOO_NEW,
                   "The devcloud database has schema version %d; this program knows 1", version);
      return FALSE;
    }
  shots = shots_schema ();
  if (!dc_store_begin (store, error))
    return FALSE;
  if (!dc_store_exec (store, schema_1, error) ||
      !dc_store_exec (store, shots, error) ||
      !dc_store_exec (store, "PRAGMA user_version = 1", error))
    {
      dc_store_rollback (store);
      return FALSE;
    }
  return dc_store_commit (store, error);
}

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

DcStore *
dc_store_open (const char  *path,
               gboolean     read_only,
               GError     **error)
{
  DcStore *store = g_new0 (DcStore, 1);
  int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

  store->statements = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             finalize_statement);
  if (sqlite3_open_v2 (path, &store->db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_STORAGE, "Cannot open %s: %s", path,
                   store->db ? sqlite3_errmsg (store->db) : "out of memory");
      dc_store_free (store);
      return NULL;
    }
  sqlite3_busy_timeout (store->db, 10000);
  /* WAL lets `fitclip-devcloud dump` read while the server writes; NORMAL
   * keeps every commit across a crash of the server process (not across
   * a power cut, which a development server need not survive). */
  if ((!read_only && !dc_store_exec (store, "PRAGMA journal_mode = WAL", error)) ||
      !dc_store_exec (store, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", error) ||
      (!read_only && !migrate (store, error)))
    {
      g_prefix_error (error, "%s: ", path);
      dc_store_free (store);
      return NULL;
    }
  return store;
}

void
dc_store_free (DcStore *store)
{
  if (store == NULL)
    return;
  g_hash_table_unref (store->statements);
  if (store->db)
    sqlite3_close (store->db);
  g_free (store);
}

char *
dc_store_ensure_shop (DcStore     *store,
                      const char  *name,
                      GError     **error)
{
  sqlite3_stmt *stmt = dc_store_stmt (store, "SELECT id FROM shops WHERE name = ?");
  g_autofree char *id = NULL;

  dc_bind_text (stmt, 1, name);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    id = dc_column_dup (stmt, 0);
  sqlite3_reset (stmt);
  if (id)
    return g_steal_pointer (&id);

  id = g_uuid_string_random ();
  stmt = dc_store_stmt (store, "INSERT INTO shops (id, name, updated_at) VALUES (?, ?, ?)");
  dc_bind_text (stmt, 1, id);
  dc_bind_text (stmt, 2, name);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
  if (!dc_store_step_done (store, stmt, error))
    return NULL;
  return g_steal_pointer (&id);
}
