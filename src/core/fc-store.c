/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-store"

#include "config.h"

#include "fc-store-private.h"

#include <glib/gstdio.h>
#include <errno.h>
#include <math.h>
#include <string.h>

G_DEFINE_FINAL_TYPE (FcStore, fc_store, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
fc_store_finalize (GObject *object)
{
  FcStore *self = (FcStore *) object;

  /* The checkpoint thread first: it may be using the database. */
  g_clear_pointer (&self->checkpointer, fc_store_checkpointer_free);
  /* Statements must be finalized before the connection can close. */
  g_clear_pointer (&self->statements_by_address, g_hash_table_unref);
  g_clear_pointer (&self->statements, g_hash_table_unref);
  if (self->db)
    {
      /* Closing the last connection checkpoints the WAL into the main file. */
      sqlite3_close_v2 (self->db);
      self->db = NULL;
    }
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->shot_columns, g_free);
  g_clear_pointer (&self->shot_insert_sql, g_free);
  g_clear_pointer (&self->shot_select_sql, g_free);
  g_clear_pointer (&self->synchronous_sql, g_free);
  g_clear_object (&self->cipher);
  g_clear_pointer (&self->pii_lock_reason, g_free);

  G_OBJECT_CLASS (fc_store_parent_class)->finalize (object);
}

static void
fc_store_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  FcStore *self = FC_STORE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fc_store_class_init (FcStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = fc_store_finalize;
  object_class->get_property = fc_store_get_property;

  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
fc_store_init (FcStore *self)
{
  GString *cols = g_string_new (NULL);
  GString *marks = g_string_new (NULL);

  self->statements = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            finalize_statement);
  self->statements_by_address = g_hash_table_new (NULL, NULL);
  self->dedupe_window_us = FC_STORE_DEFAULT_DEDUPE_WINDOW_US;

  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    {
      g_string_append_printf (cols, "%s%s", i ? ", " : "", fc_shot_field_get_name (i));
      g_string_append (marks, ", ?");
    }
  self->shot_columns = g_string_free (cols, FALSE);
  self->shot_insert_sql =
    g_strdup_printf ("INSERT INTO shots (id, fitting_id, config_id, device_id, device_shot_id,"
                     " fingerprint, source_kind, source_protocol, source_detail, import_id, club,"
                     " device_time, received_at, spin_estimated, measurements, excluded,"
                     " exclude_reason, updated_at, %s)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?%s)",
                     self->shot_columns, marks->str);
  self->shot_select_sql =
    g_strdup_printf ("SELECT id, fitting_id, config_id, device_id, device_shot_id,"
                     " source_kind, source_protocol, source_detail, import_id, club,"
                     " device_time, received_at, spin_estimated, p.raw, excluded, exclude_reason,"
                     " %s FROM shots LEFT JOIN shot_payloads p ON p.shot_seq = shots.seq",
                     self->shot_columns);
  g_string_free (marks, TRUE);
}

/* ---- errors ---------------------------------------------------------- */

void
fc_store_set_error (FcStore     *self,
                    GError     **error,
                    int          rc,
                    const char  *doing)
{
  const char *detail = self->db ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc);

  switch (rc & 0xff)
    {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      g_set_error (error, FC_ERROR, FC_ERROR_BUSY,
                   "The database %s is locked by another program (waited %.1f s while %s). "
                   "Close other FitClip windows or fitclipctl commands using it, then try again.",
                   self->path, self->busy_timeout_ms / 1000.0, doing);
      break;
    case SQLITE_FULL:
      g_set_error (error, FC_ERROR, FC_ERROR_DISK_FULL,
                   "The disk holding %s is full (while %s). Free some space; nothing was lost.",
                   self->path, doing);
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
    case SQLITE_AUTH:
      g_set_error (error, FC_ERROR, FC_ERROR_READ_ONLY,
                   "Cannot write the database %s (while %s): %s. Check the file's permissions.",
                   self->path, doing, detail);
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      g_set_error (error, FC_ERROR, FC_ERROR_CORRUPT,
                   "The database %s is damaged or not a FitClip database (while %s): %s",
                   self->path, doing, detail);
      break;
    case SQLITE_CONSTRAINT:
      g_set_error (error, FC_ERROR, FC_ERROR_CONFLICT,
                   "The change contradicts stored data (while %s): %s", doing, detail);
      break;
    default:
      g_set_error (error, FC_ERROR, FC_ERROR_STORAGE,
                   "Database error while %s: %s", doing, detail);
    }
}

/* ---- statements and transactions ------------------------------------ */

sqlite3_stmt *
fc_store_statement (FcStore     *self,
                    const char  *sql,
                    GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  /* Callers pass the same string literal (or the store's own SQL) every
   * time, so the address finds the statement without hashing 1.5 KB of
   * SQL per shot. A reused address with other text fails the compare and
   * falls back to the text. */
  stmt = g_hash_table_lookup (self->statements_by_address, sql);
  if (stmt == NULL || strcmp (sqlite3_sql (stmt), sql) != 0)
    {
      stmt = g_hash_table_lookup (self->statements, sql);
      if (stmt != NULL)
        g_hash_table_insert (self->statements_by_address, (gpointer) sql, stmt);
    }
  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }

  rc = sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      fc_store_set_error (self, error, rc, "preparing a query");
      g_critical ("Cannot prepare %s: %s", sql, sqlite3_errmsg (self->db));
      return NULL;
    }
  g_hash_table_insert (self->statements, g_strdup (sql), stmt);
  g_hash_table_insert (self->statements_by_address, (gpointer) sql, stmt);
  return stmt;
}

gboolean
fc_store_exec (FcStore     *self,
               const char  *sql,
               GError     **error)
{
  char *errmsg = NULL;
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, &errmsg);

  sqlite3_free (errmsg);
  if (rc != SQLITE_OK)
    {
      fc_store_set_error (self, error, rc, "updating the database");
      return FALSE;
    }
  return TRUE;
}

gboolean
fc_store_step_done (FcStore       *self,
                    sqlite3_stmt  *stmt,
                    GError       **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      fc_store_set_error (self, error, rc, "writing");
      sqlite3_reset (stmt);
      return FALSE;
    }
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
fc_store_begin (FcStore  *self,
                GError  **error)
{
  sqlite3_stmt *stmt = fc_store_statement (self, "BEGIN IMMEDIATE", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "starting a change");
      return FALSE;
    }
  return TRUE;
}

gboolean
fc_store_commit (FcStore  *self,
                 GError  **error)
{
  sqlite3_stmt *stmt = fc_store_statement (self, "COMMIT", error);
  int rc;

  if (stmt == NULL)
    {
      fc_store_rollback (self);
      return FALSE;
    }
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "saving a change");
      fc_store_rollback (self);
      return FALSE;
    }
  return TRUE;
}

void
fc_store_rollback (FcStore *self)
{
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- binding helpers -------------------------------------------------- */

void
fc_bind_text (sqlite3_stmt *stmt,
              int           index,
              const char   *text)
{
  if (text)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, index);
}

void
fc_bind_text_static (sqlite3_stmt *stmt,
                     int           index,
                     const char   *text)
{
  if (text)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, index);
}

void
fc_bind_double (sqlite3_stmt *stmt,
                int           index,
                double        value)
{
  if (isnan (value))
    sqlite3_bind_null (stmt, index);
  else
    sqlite3_bind_double (stmt, index, value);
}

char *
fc_column_dup (sqlite3_stmt *stmt,
               int           index)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, index));
}

double
fc_column_double (sqlite3_stmt *stmt,
                  int           index)
{
  if (sqlite3_column_type (stmt, index) == SQLITE_NULL)
    return NAN;
  return sqlite3_column_double (stmt, index);
}

/* ---- opening and migrations ------------------------------------------ */

char *
fc_store_default_path (void)
{
  const char *env = g_getenv ("FITCLIP_DB");

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "fitclip", "fitclip.db", NULL);
}

static gboolean
read_user_version (FcStore  *self,
                   int      *version,
                   GError  **error)
{
  sqlite3_stmt *stmt = fc_store_statement (self, "PRAGMA user_version", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      fc_store_set_error (self, error, rc, "reading the schema version");
      sqlite3_reset (stmt);
      return FALSE;
    }
  *version = sqlite3_column_int (stmt, 0);
  sqlite3_reset (stmt);
  return TRUE;
}

/* Each step commits on its own so that an interrupted upgrade resumes
 * from the last completed version. */
static gboolean
migrate (FcStore  *self,
         int       target,
         GError  **error)
{
  int version;

  if (!read_user_version (self, &version, error))
    return FALSE;

  if (version > FC_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_SCHEMA_TOO_NEW,
                   "The database %s was written by a newer FitClip Agent (schema %d; this "
                   "version reads up to %d). Update FitClip Agent; the data was not touched.",
                   self->path, version, FC_STORE_SCHEMA_VERSION);
      return FALSE;
    }

  while (version < target)
    {
      g_autofree char *bump = NULL;

      if (!fc_store_begin (self, error))
        return FALSE;
      /* Another process may have upgraded while we waited for the lock:
       * the step (and the version it writes) follows what is there now. */
      if (!read_user_version (self, &version, error))
        {
          fc_store_rollback (self);
          return FALSE;
        }
      if (version >= target)
        {
          fc_store_rollback (self);
          break;
        }
      bump = g_strdup_printf ("PRAGMA user_version = %d", version + 1);
      g_debug ("Migrating %s from schema %d to %d", self->path, version, version + 1);
      if (!fc_store_exec (self, fc_store_migrations[version + 1], error) ||
          !fc_store_exec (self, bump, error) ||
          !fc_store_commit (self, error))
        {
          fc_store_rollback (self);
          g_prefix_error (error, "Upgrading the database to schema %d failed: ", version + 1);
          return FALSE;
        }
      version++;
    }
  return TRUE;
}

static gboolean
pragma_expect (FcStore     *self,
               const char  *sql,
               const char  *expected,
               GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL);
  gboolean ok = FALSE;
  gint64 deadline = g_get_monotonic_time () + (gint64) self->busy_timeout_ms * 1000;

  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  /* Switching a brand-new database to WAL while another program opens it
   * too fails at once with BUSY, without SQLite's busy handler (it could
   * deadlock there): wait here instead, as long as the busy timeout. */
  while (stmt != NULL && ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED))
    {
      if (g_get_monotonic_time () >= deadline)
        break;
      g_usleep (5000);
      sqlite3_reset (stmt);
      rc = sqlite3_step (stmt);
    }
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    {
      const char *got = rc == SQLITE_ROW ? (const char *) sqlite3_column_text (stmt, 0) : NULL;

      ok = expected == NULL || g_ascii_strcasecmp (got ? got : "", expected) == 0;
      if (!ok)
        g_set_error (error, FC_ERROR, FC_ERROR_STORAGE,
                     "The database %s refused “%s” (got “%s”)", self->path, sql, got);
    }
  else
    fc_store_set_error (self, error, rc, "configuring the database");
  sqlite3_finalize (stmt);
  return ok;
}

static FcStore *
open_at (const char           *path,
         const FcStoreOptions *options,
         int                   target_version,
         GError              **error)
{
  g_autoptr(FcStore) self = g_object_new (FC_TYPE_STORE, NULL);
  g_autofree char *dir = NULL;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);

  self->path = g_strdup (path);
  self->busy_timeout_ms = options && options->busy_timeout_ms ? options->busy_timeout_ms
                                                              : FC_STORE_DEFAULT_BUSY_TIMEOUT_MS;

  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int errsv = errno;
      g_set_error (error, FC_ERROR, FC_ERROR_READ_ONLY,
                   "Cannot create the folder %s for the database: %s", dir, g_strerror (errsv));
      return NULL;
    }

  /* One connection per thread (see fc-store.h), so no SQLite mutex. */
  rc = sqlite3_open_v2 (path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        options ? options->vfs : NULL);
  if (rc != SQLITE_OK)
    {
      fc_store_set_error (self, error, rc, "opening it");
      return NULL;
    }
  sqlite3_extended_result_codes (self->db, TRUE);
  sqlite3_busy_timeout (self->db, (int) self->busy_timeout_ms);

  /*
   * WAL lets the window read while the writer commits. synchronous=FULL
   * makes every commit fsync the WAL: NORMAL would survive a crash of
   * the process but could lose the last commits on power loss, and an
   * acknowledged shot must survive both.
   */
  self->synchronous_sql = g_strdup_printf ("PRAGMA synchronous = %s",
                                           options && options->synchronous ? options->synchronous
                                                                           : "FULL");
  if (!pragma_expect (self, "PRAGMA journal_mode = WAL", "wal", error) ||
      !pragma_expect (self, self->synchronous_sql, NULL, error) ||
      !pragma_expect (self, "PRAGMA foreign_keys = ON", NULL, error) ||
      /* A bigger page cache keeps large imports from spilling to the WAL
       * mid-transaction; it only grows with use. */
      !pragma_expect (self, "PRAGMA cache_size = -8192", NULL, error) ||
      !pragma_expect (self, "PRAGMA foreign_keys", "1", error))
    return NULL;

  if (!migrate (self, target_version, error))
    return NULL;
  if (target_version >= 1 && !_fc_store_check_pii_layout (self, error))
    return NULL;

  self->checkpointer = fc_store_checkpointer_new (self->db, path, options ? options->vfs : NULL);
  return g_steal_pointer (&self);
}

FcStore *
fc_store_open_full (const char           *path,
                    const FcStoreOptions *options,
                    GError              **error)
{
  return open_at (path, options, FC_STORE_SCHEMA_VERSION, error);
}

FcStore *
fc_store_open (const char  *path,
               GError     **error)
{
  return fc_store_open_full (path, NULL, error);
}

gboolean
_fc_store_create_at_version (const char  *path,
                             int          version,
                             GError     **error)
{
  g_autoptr(FcStore) store = open_at (path, NULL, version, error);

  return store != NULL;
}

const char *
fc_store_get_path (FcStore *self)
{
  g_return_val_if_fail (FC_IS_STORE (self), NULL);
  return self->path;
}

int
fc_store_get_schema_version (FcStore *self)
{
  int version = -1;

  g_return_val_if_fail (FC_IS_STORE (self), -1);
  read_user_version (self, &version, NULL);
  return version;
}

void
fc_store_set_dedupe_window (FcStore *self,
                            gint64   window_us)
{
  g_return_if_fail (FC_IS_STORE (self));
  g_return_if_fail (window_us >= 0);
  self->dedupe_window_us = window_us;
}

gboolean
fc_store_check_integrity (FcStore  *self,
                          char    **report,
                          GError  **error)
{
  g_autoptr(GString) text = g_string_new (NULL);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (self), FALSE);

  stmt = fc_store_statement (self, "PRAGMA integrity_check", error);
  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      if (text->len)
        g_string_append_c (text, '\n');
      g_string_append (text, (const char *) sqlite3_column_text (stmt, 0));
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "checking integrity");
      return FALSE;
    }

  stmt = fc_store_statement (self, "PRAGMA foreign_key_check", error);
  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_string_append_printf (text, "\nforeign key violation in %s row %lld (references %s)",
                            sqlite3_column_text (stmt, 0),
                            (long long) sqlite3_column_int64 (stmt, 1),
                            sqlite3_column_text (stmt, 2));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "checking foreign keys");
      return FALSE;
    }

  if (report)
    *report = g_strdup (text->str);
  return TRUE;
}

static gboolean
count_query (FcStore     *self,
             const char  *sql,
             gint64      *out,
             GError     **error)
{
  sqlite3_stmt *stmt = fc_store_statement (self, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      fc_store_set_error (self, error, rc, "counting records");
      sqlite3_reset (stmt);
      return FALSE;
    }
  *out = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
fc_store_get_counts (FcStore        *self,
                     FcStoreCounts  *counts,
                     GError        **error)
{
  g_return_val_if_fail (FC_IS_STORE (self), FALSE);

  return count_query (self, "SELECT count(*) FROM customers", &counts->customers, error) &&
         count_query (self, "SELECT count(*) FROM fittings", &counts->fittings, error) &&
         count_query (self, "SELECT count(*) FROM fittings WHERE status = 'open'",
                      &counts->open_fittings, error) &&
         count_query (self, "SELECT count(*) FROM club_configs", &counts->configs, error) &&
         count_query (self, "SELECT count(*) FROM shots", &counts->shots, error) &&
         count_query (self, "SELECT count(*) FROM shots WHERE excluded", &counts->excluded_shots, error) &&
         count_query (self, "SELECT count(*) FROM imports", &counts->imports, error) &&
         count_query (self, "SELECT count(*) FROM outbox", &counts->outbox_pending, error);
}

/* ---- outbox ------------------------------------------------------------ */

gboolean
fc_store_enqueue (FcStore     *self,
                  const char  *entity,
                  const char  *entity_id,
                  const char  *fitting_id,
                  const char  *operation,
                  const char  *payload,
                  GError     **error)
{
  sqlite3_stmt *stmt;
  gint64 now = g_get_real_time ();

  /* Must run inside the caller's transaction: the change and its outbox
   * entry commit together or not at all. */
  g_assert (!sqlite3_get_autocommit (self->db));

  stmt = fc_store_statement (self,
                             "INSERT INTO outbox (entity, entity_id, fitting_id, operation, payload,"
                             " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, entity);
  fc_bind_text (stmt, 2, entity_id);
  fc_bind_text (stmt, 3, fitting_id);
  fc_bind_text (stmt, 4, operation);
  fc_bind_text (stmt, 5, payload);
  sqlite3_bind_int64 (stmt, 6, now);
  sqlite3_bind_int64 (stmt, 7, now);
  return fc_store_step_done (self, stmt, error);
}

void
fc_outbox_entry_free (FcOutboxEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->entity);
  g_free (entry->entity_id);
  g_free (entry->fitting_id);
  g_free (entry->operation);
  g_free (entry->payload);
  g_free (entry->last_error);
  g_free (entry);
}

GPtrArray *
fc_store_outbox_peek (FcStore  *self,
                      gint64    now_us,
                      guint     limit,
                      GError  **error)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_outbox_entry_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (self), NULL);

  stmt = fc_store_statement (self,
                             "SELECT id, entity, entity_id, fitting_id, operation, payload,"
                             " attempt_count, next_attempt_at, last_error, created_at"
                             " FROM outbox WHERE next_attempt_at <= ? ORDER BY id LIMIT ?", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, now_us);
  sqlite3_bind_int64 (stmt, 2, limit);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      FcOutboxEntry *e = g_new0 (FcOutboxEntry, 1);

      e->id = sqlite3_column_int64 (stmt, 0);
      e->entity = fc_column_dup (stmt, 1);
      e->entity_id = fc_column_dup (stmt, 2);
      e->fitting_id = fc_column_dup (stmt, 3);
      e->operation = fc_column_dup (stmt, 4);
      e->payload = fc_column_dup (stmt, 5);
      e->attempt_count = sqlite3_column_int (stmt, 6);
      e->next_attempt_at = sqlite3_column_int64 (stmt, 7);
      e->last_error = fc_column_dup (stmt, 8);
      e->created_at = sqlite3_column_int64 (stmt, 9);
      g_ptr_array_add (entries, e);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "reading the outbox");
      return NULL;
    }
  return g_steal_pointer (&entries);
}
