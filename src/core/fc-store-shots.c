/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-store"

#include "fc-store-private.h"
#include "fc-record-json.h"
#include "fc-uuid.h"

#include <math.h>
#include <string.h>

/* Column indexes of fc_store_init()'s shot_select_sql. */
enum {
  COL_ID, COL_FITTING_ID, COL_CONFIG_ID, COL_DEVICE_ID, COL_DEVICE_SHOT_ID,
  COL_SOURCE_KIND, COL_SOURCE_PROTOCOL, COL_SOURCE_DETAIL, COL_IMPORT_ID, COL_CLUB,
  COL_DEVICE_TIME, COL_RECEIVED_AT, COL_SPIN_ESTIMATED, COL_RAW, COL_EXCLUDED,
  COL_EXCLUDE_REASON, COL_FIRST_FIELD
};

gboolean
_fc_store_row_exists (FcStore     *self,
                      const char  *sql,
                      const char  *id,
                      gboolean    *exists,
                      GError     **error)
{
  sqlite3_stmt *stmt = fc_store_statement (self, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, id);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "reading");
      return FALSE;
    }
  *exists = rc == SQLITE_ROW;
  return TRUE;
}

/* Runs a one-column, at-most-one-row text query. *out is NULL for no row. */
static gboolean
query_text (FcStore       *self,
            sqlite3_stmt  *stmt,
            char         **out,
            GError       **error)
{
  int rc = sqlite3_step (stmt);

  *out = rc == SQLITE_ROW ? fc_column_dup (stmt, 0) : NULL;
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "reading");
      return FALSE;
    }
  return TRUE;
}

/*
 * Decide where a shot goes, inside the caller's transaction:
 * - a configuration given: its fitting;
 * - a fitting given: its active configuration, else its baseline, else the
 *   first one, else a new baseline;
 * - neither: the bay's most recent open fitting, else its practice session.
 * Nothing is ever dropped for want of a fitting.
 */
static gboolean
resolve_target (FcStore     *self,
                FcShot      *shot,
                const char  *bay,
                gboolean     bay_fitting,
                GError     **error)
{
  sqlite3_stmt *stmt;

  if (shot->config_id)
    {
      g_autofree char *fitting = NULL;

      stmt = fc_store_statement (self, "SELECT fitting_id FROM club_configs WHERE id = ?", error);
      if (stmt == NULL)
        return FALSE;
      fc_bind_text (stmt, 1, shot->config_id);
      if (!query_text (self, stmt, &fitting, error))
        return FALSE;
      if (fitting == NULL)
        {
          g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND,
                       "No club configuration with id %s", shot->config_id);
          return FALSE;
        }
      if (shot->fitting_id && strcmp (shot->fitting_id, fitting) != 0)
        {
          g_set_error (error, FC_ERROR, FC_ERROR_CONFLICT,
                       "Club configuration %s belongs to fitting %s, not %s",
                       shot->config_id, fitting, shot->fitting_id);
          return FALSE;
        }
      g_free (shot->fitting_id);
      shot->fitting_id = g_steal_pointer (&fitting);
      return TRUE;
    }

  if (shot->fitting_id == NULL)
    {
      if (bay == NULL)
        bay = FC_STORE_DEFAULT_BAY;
      if (bay_fitting)
        {
          stmt = fc_store_statement (self,
                                     "SELECT id FROM fittings WHERE bay = ? AND status = 'open'"
                                     " AND type != 'practice' ORDER BY started_at DESC LIMIT 1",
                                     error);
          if (stmt == NULL)
            return FALSE;
          fc_bind_text (stmt, 1, bay);
          if (!query_text (self, stmt, &shot->fitting_id, error))
            return FALSE;
        }
      if (shot->fitting_id == NULL &&
          !_fc_store_lookup_practice (self, bay, &shot->fitting_id, error))
        return FALSE;
    }
  else
    {
      gboolean exists;

      if (!_fc_store_row_exists (self, "SELECT 1 FROM fittings WHERE id = ?",
                                 shot->fitting_id, &exists, error))
        return FALSE;
      if (!exists)
        {
          g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND, "No fitting with id %s", shot->fitting_id);
          return FALSE;
        }
    }

  stmt = fc_store_statement (self,
                             /* Every shot asks this: each part is one index seek
                              * (an ORDER BY the indexes cannot give made SQLite
                              * build a sorter per shot, a quarter of its cost). */
                             "SELECT coalesce(f.active_config_id,"
                             " (SELECT c.id FROM club_configs c WHERE c.fitting_id = f.id"
                             "  AND c.role = 'baseline'),"
                             " (SELECT c.id FROM club_configs c WHERE c.fitting_id = f.id"
                             "  ORDER BY c.position LIMIT 1))"
                             " FROM fittings f WHERE f.id = ?", error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, shot->fitting_id);
  if (!query_text (self, stmt, &shot->config_id, error))
    return FALSE;

  if (shot->config_id == NULL)
    {
      g_autoptr(FcClubConfig) c = fc_club_config_new (FC_CONFIG_BASELINE, "Baseline");

      c->fitting_id = g_strdup (shot->fitting_id);
      c->club_type = g_strdup (shot->club);
      if (!_fc_store_insert_config (self, c, error))
        return FALSE;
      shot->config_id = g_steal_pointer (&c->id);
    }
  return TRUE;
}

/* The stored twin of a shot delivered again, or NULL. */
static gboolean
find_duplicate (FcStore       *self,
                const FcShot  *shot,
                gint64         fingerprint,
                char         **twin,
                GError       **error)
{
  sqlite3_stmt *stmt;

  *twin = NULL;

  if (shot->id)
    {
      stmt = fc_store_statement (self, "SELECT id FROM shots WHERE id = ?", error);
      if (stmt == NULL)
        return FALSE;
      fc_bind_text (stmt, 1, shot->id);
      if (!query_text (self, stmt, twin, error))
        return FALSE;
      if (*twin)
        return TRUE;
    }

  if (shot->device_shot_id)
    {
      stmt = fc_store_statement (self,
                                 "SELECT id FROM shots WHERE fitting_id = ? AND device_id = ?"
                                 " AND device_shot_id = ?", error);
      if (stmt == NULL)
        return FALSE;
      fc_bind_text (stmt, 1, shot->fitting_id);
      fc_bind_text (stmt, 2, shot->device_id);
      fc_bind_text (stmt, 3, shot->device_shot_id);
      if (!query_text (self, stmt, twin, error))
        return FALSE;
      if (*twin)
        return TRUE;
    }

  /* Devices whose counters reset (or that send none) resend the same
   * values: identical measurements from the same device within the window
   * are one shot. Files are exempt; their rows carry a content id. */
  if (shot->source_kind == FC_SOURCE_DEVICE && self->dedupe_window_us > 0)
    {
      stmt = fc_store_statement (self,
                                 "SELECT id FROM shots WHERE source_kind = 'device' AND device_id = ?"
                                 " AND fingerprint = ? AND received_at >= ? AND fitting_id = ? LIMIT 1",
                                 error);
      if (stmt == NULL)
        return FALSE;
      fc_bind_text (stmt, 1, shot->device_id);
      sqlite3_bind_int64 (stmt, 2, fingerprint);
      sqlite3_bind_int64 (stmt, 3, shot->received_at - self->dedupe_window_us);
      fc_bind_text (stmt, 4, shot->fitting_id);
      if (!query_text (self, stmt, twin, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
insert_tags (FcStore       *self,
             const FcShot  *shot,
             GError       **error)
{
  for (guint i = 0; i < shot->tags->len; i++)
    {
      sqlite3_stmt *stmt = fc_store_statement (self,
                                               "INSERT OR IGNORE INTO shot_tags (shot_id, tag) VALUES (?, ?)",
                                               error);
      if (stmt == NULL)
        return FALSE;
      fc_bind_text (stmt, 1, shot->id);
      fc_bind_text (stmt, 2, g_ptr_array_index (shot->tags, i));
      if (!fc_store_step_done (self, stmt, error))
        return FALSE;
    }
  return TRUE;
}

/* See the measurements column in fc-store-migrations.c. */
static void
pack_measurements (const FcShot *shot,
                   guint8       *out)
{
  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    {
      double v = fc_shot_get (shot, i);
      guint64 bits;

      memcpy (&bits, &v, 8);
      bits = GUINT64_TO_LE (bits);
      memcpy (out + 8 * i, &bits, 8);
    }
}

gboolean
_fc_store_insert_shot (FcStore      *self,
                       FcShot       *shot,
                       gboolean      enqueue,
                       FcAddResult  *result,
                       GError      **error)
{
  sqlite3_stmt *stmt;
  g_autofree char *twin = NULL;
  /* Only device shots are matched by content (see find_duplicate). */
  gint64 fingerprint = shot->source_kind == FC_SOURCE_DEVICE ? fc_shot_fingerprint (shot) : 0;
  gint64 now = g_get_real_time ();
  guint8 packed[FC_SHOT_N_FIELDS * 8];
  int col = 1;

  g_assert (shot->fitting_id && shot->config_id);

  if (shot->received_at == 0)
    shot->received_at = now;
  if (shot->source_protocol == NULL)
    shot->source_protocol = g_strdup ("unknown");
  if (shot->device_id == NULL)
    shot->device_id = g_strdup (shot->source_protocol);

  if (!find_duplicate (self, shot, fingerprint, &twin, error))
    return FALSE;
  if (twin)
    {
      g_free (shot->id);
      shot->id = g_steal_pointer (&twin);
      *result = FC_ADD_DUPLICATE;
      return TRUE;
    }

  if (shot->id == NULL)
    shot->id = fc_uuid_new ();

  stmt = fc_store_statement (self, self->shot_insert_sql, error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text_static (stmt, col++, shot->id);
  fc_bind_text_static (stmt, col++, shot->fitting_id);
  fc_bind_text_static (stmt, col++, shot->config_id);
  fc_bind_text_static (stmt, col++, shot->device_id);
  fc_bind_text_static (stmt, col++, shot->device_shot_id);
  if (shot->source_kind == FC_SOURCE_DEVICE)
    sqlite3_bind_int64 (stmt, col, fingerprint);
  col++;
  fc_bind_text_static (stmt, col++, fc_source_kind_to_string (shot->source_kind));
  fc_bind_text_static (stmt, col++, shot->source_protocol);
  fc_bind_text_static (stmt, col++, shot->source_detail);
  fc_bind_text_static (stmt, col++, shot->import_id);
  fc_bind_text_static (stmt, col++, shot->club);
  fc_bind_text_static (stmt, col++, shot->device_time);
  sqlite3_bind_int64 (stmt, col++, shot->received_at);
  if (shot->spin_estimated >= 0)
    sqlite3_bind_int (stmt, col, shot->spin_estimated != 0);
  col++;
  pack_measurements (shot, packed);
  sqlite3_bind_blob (stmt, col++, packed, sizeof packed, SQLITE_STATIC);
  sqlite3_bind_int (stmt, col++, shot->excluded ? 1 : 0);
  fc_bind_text_static (stmt, col++, shot->excluded ? shot->exclude_reason : NULL);
  sqlite3_bind_int64 (stmt, col++, now);
  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    fc_bind_double (stmt, col++, fc_shot_get (shot, i));

  if (!fc_store_step_done (self, stmt, error))
    return FALSE;
  if (shot->raw)
    {
      gsize len;
      const void *data = g_bytes_get_data (shot->raw, &len);
      sqlite3_int64 seq = sqlite3_last_insert_rowid (self->db);

      stmt = fc_store_statement (self, "INSERT INTO shot_payloads (shot_seq, raw) VALUES (?, ?)", error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, seq);
      sqlite3_bind_blob64 (stmt, 2, data ? data : "", len, SQLITE_STATIC);
      if (!fc_store_step_done (self, stmt, error))
        return FALSE;
    }
  if (!insert_tags (self, shot, error))
    return FALSE;

  /* No payload: the sync engine sends the shot's current row, so a shot
   * is stored once, not twice (see docs/storage.md). */
  if (enqueue &&
      !fc_store_enqueue (self, "shot", shot->id, shot->fitting_id, "create", NULL, error))
    return FALSE;

  *result = FC_ADD_INSERTED;
  return TRUE;
}

static gboolean
validate_for_store (const FcShot  *shot,
                    GError       **error)
{
  if (!fc_shot_validate (shot, error))
    return FALSE;
  if (shot->id && !g_uuid_string_is_valid (shot->id))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "“%s” is not a UUID", shot->id);
      return FALSE;
    }
  return TRUE;
}

gboolean
fc_store_add_shot (FcStore      *self,
                   FcShot       *shot,
                   const char   *bay,
                   FcAddResult  *result,
                   GError      **error)
{
  FcAddResult dummy;

  g_return_val_if_fail (FC_IS_STORE (self), FALSE);
  g_return_val_if_fail (shot != NULL, FALSE);

  if (!validate_for_store (shot, error))
    return FALSE;
  if (!fc_store_begin (self, error))
    return FALSE;
  if (!resolve_target (self, shot, bay, TRUE, error) ||
      !_fc_store_insert_shot (self, shot, TRUE, result ? result : &dummy, error))
    {
      fc_store_rollback (self);
      return FALSE;
    }
  return fc_store_commit (self, error);
}

gboolean
fc_store_add_shots (FcStore      *self,
                    FcShot      **shots,
                    guint         n_shots,
                    const char   *bay,
                    FcAddResult  *results,
                    GError      **error)
{
  g_return_val_if_fail (FC_IS_STORE (self), FALSE);
  g_return_val_if_fail (n_shots == 0 || (shots != NULL && results != NULL), FALSE);

  for (guint i = 0; i < n_shots; i++)
    if (!validate_for_store (shots[i], error))
      return FALSE;
  if (!fc_store_begin (self, error))
    return FALSE;
  for (guint i = 0; i < n_shots; i++)
    if (!resolve_target (self, shots[i], bay, TRUE, error) ||
        !_fc_store_insert_shot (self, shots[i], TRUE, &results[i], error))
      {
        fc_store_rollback (self);
        return FALSE;
      }
  return fc_store_commit (self, error);
}

/* ---- reading ------------------------------------------------------------ */

/* A row of the store's shot_select_sql (also read by fc-sync-queue.c). */
FcShot *
_fc_store_shot_from_row (sqlite3_stmt *stmt)
{
  FcShot *s = fc_shot_new ();
  const void *raw;

  s->id = fc_column_dup (stmt, COL_ID);
  s->fitting_id = fc_column_dup (stmt, COL_FITTING_ID);
  s->config_id = fc_column_dup (stmt, COL_CONFIG_ID);
  s->device_id = fc_column_dup (stmt, COL_DEVICE_ID);
  s->device_shot_id = fc_column_dup (stmt, COL_DEVICE_SHOT_ID);
  fc_source_kind_from_string ((const char *) sqlite3_column_text (stmt, COL_SOURCE_KIND),
                              &s->source_kind);
  s->source_protocol = fc_column_dup (stmt, COL_SOURCE_PROTOCOL);
  s->source_detail = fc_column_dup (stmt, COL_SOURCE_DETAIL);
  s->import_id = fc_column_dup (stmt, COL_IMPORT_ID);
  s->club = fc_column_dup (stmt, COL_CLUB);
  s->device_time = fc_column_dup (stmt, COL_DEVICE_TIME);
  s->received_at = sqlite3_column_int64 (stmt, COL_RECEIVED_AT);
  s->spin_estimated = sqlite3_column_type (stmt, COL_SPIN_ESTIMATED) == SQLITE_NULL
                        ? -1 : sqlite3_column_int (stmt, COL_SPIN_ESTIMATED);
  raw = sqlite3_column_blob (stmt, COL_RAW);
  if (sqlite3_column_type (stmt, COL_RAW) != SQLITE_NULL)
    s->raw = g_bytes_new (raw, sqlite3_column_bytes (stmt, COL_RAW));
  s->excluded = sqlite3_column_int (stmt, COL_EXCLUDED) != 0;
  s->exclude_reason = fc_column_dup (stmt, COL_EXCLUDE_REASON);
  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    if (sqlite3_column_type (stmt, COL_FIRST_FIELD + i) != SQLITE_NULL)
      fc_shot_set (s, i, sqlite3_column_double (stmt, COL_FIRST_FIELD + i));
  return s;
}

static gboolean
load_tags (FcStore     *self,
           FcShot      *shot,
           GError     **error)
{
  sqlite3_stmt *stmt = fc_store_statement (self,
                                           "SELECT tag FROM shot_tags WHERE shot_id = ? ORDER BY tag",
                                           error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, shot->id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    fc_shot_add_tag (shot, (const char *) sqlite3_column_text (stmt, 0));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "reading tags");
      return FALSE;
    }
  return TRUE;
}

FcShot *
fc_store_get_shot (FcStore     *self,
                   const char  *shot_id,
                   GError     **error)
{
  g_autofree char *sql = NULL;
  g_autoptr(FcShot) shot = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (self), NULL);

  sql = g_strconcat (self->shot_select_sql, " WHERE id = ?", NULL);
  stmt = fc_store_statement (self, sql, error);
  if (stmt == NULL)
    return NULL;
  fc_bind_text (stmt, 1, shot_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    shot = _fc_store_shot_from_row (stmt);
  sqlite3_reset (stmt);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND, "No shot with id %s", shot_id);
      return NULL;
    }
  if (rc != SQLITE_ROW)
    {
      fc_store_set_error (self, error, rc, "reading a shot");
      return NULL;
    }
  if (!load_tags (self, shot, error))
    return NULL;
  return g_steal_pointer (&shot);
}

GPtrArray *
fc_store_list_shots (FcStore     *self,
                     const char  *fitting_id,
                     GError     **error)
{
  g_autoptr(GPtrArray) shots = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_shot_free);
  g_autoptr(GHashTable) by_id = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *sql = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (self), NULL);

  sql = g_strconcat (self->shot_select_sql, " WHERE fitting_id = ? ORDER BY seq", NULL);
  stmt = fc_store_statement (self, sql, error);
  if (stmt == NULL)
    return NULL;
  fc_bind_text (stmt, 1, fitting_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      FcShot *s = _fc_store_shot_from_row (stmt);
      g_ptr_array_add (shots, s);
      g_hash_table_insert (by_id, s->id, s);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "listing shots");
      return NULL;
    }

  /* One query for all tags of the fitting rather than one per shot. */
  stmt = fc_store_statement (self,
                             "SELECT t.shot_id, t.tag FROM shot_tags t JOIN shots s ON s.id = t.shot_id"
                             " WHERE s.fitting_id = ? ORDER BY t.shot_id, t.tag", error);
  if (stmt == NULL)
    return NULL;
  fc_bind_text (stmt, 1, fitting_id);
  if (!_fc_store_read_tags (self, stmt, by_id, "listing tags", error))
    return NULL;
  return g_steal_pointer (&shots);
}

gboolean
_fc_store_read_tags (FcStore       *self,
                     sqlite3_stmt  *stmt,
                     GHashTable    *by_id,
                     const char    *doing,
                     GError       **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      FcShot *s = g_hash_table_lookup (by_id, sqlite3_column_text (stmt, 0));

      if (s)
        fc_shot_add_tag (s, (const char *) sqlite3_column_text (stmt, 1));
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, doing);
      return FALSE;
    }
  return TRUE;
}

gboolean
fc_store_count_shots (FcStore     *self,
                      const char  *fitting_id,
                      gint64      *total,
                      gint64      *excluded,
                      GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (self), FALSE);

  stmt = fc_store_statement (self,
                             "SELECT count(*), coalesce(sum(excluded), 0) FROM shots WHERE fitting_id = ?",
                             error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, fitting_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      if (total)
        *total = sqlite3_column_int64 (stmt, 0);
      if (excluded)
        *excluded = sqlite3_column_int64 (stmt, 1);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    {
      fc_store_set_error (self, error, rc, "counting shots");
      return FALSE;
    }
  return TRUE;
}

/* ---- edits -------------------------------------------------------------- */

/* Queue the shot's current state for the cloud (inside a transaction). */
static gboolean
enqueue_shot_update (FcStore     *self,
                     const char  *shot_id,
                     GError     **error)
{
  g_autoptr(FcShot) shot = fc_store_get_shot (self, shot_id, error);
  g_autofree char *payload = NULL;

  if (shot == NULL)
    return FALSE;
  payload = fc_shot_to_json (shot, FC_SHOT_JSON_SKIP_NULLS);
  return fc_store_enqueue (self, "shot", shot->id, shot->fitting_id, "update", payload, error);
}

static gboolean
require_change (FcStore     *self,
                const char  *shot_id,
                GError     **error)
{
  gboolean exists;

  if (sqlite3_changes (self->db) > 0)
    return TRUE;
  if (!_fc_store_row_exists (self, "SELECT 1 FROM shots WHERE id = ?", shot_id, &exists, error))
    return FALSE;
  if (!exists)
    g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND, "No shot with id %s", shot_id);
  return exists;
}

gboolean
fc_store_set_shot_excluded (FcStore     *self,
                            const char  *shot_id,
                            gboolean     excluded,
                            const char  *reason,
                            GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (FC_IS_STORE (self), FALSE);

  if (!fc_store_begin (self, error))
    return FALSE;
  stmt = fc_store_statement (self,
                             "UPDATE shots SET excluded = ?, exclude_reason = ?, updated_at = ?"
                             " WHERE id = ?", error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int (stmt, 1, excluded ? 1 : 0);
  fc_bind_text (stmt, 2, excluded ? (reason ? reason : "Excluded by the fitter") : NULL);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
  fc_bind_text (stmt, 4, shot_id);
  if (!fc_store_step_done (self, stmt, error) ||
      !require_change (self, shot_id, error) ||
      !enqueue_shot_update (self, shot_id, error))
    goto fail;
  return fc_store_commit (self, error);

fail:
  fc_store_rollback (self);
  return FALSE;
}

gboolean
fc_store_tag_shot (FcStore     *self,
                   const char  *shot_id,
                   const char  *tag,
                   gboolean     add,
                   GError     **error)
{
  sqlite3_stmt *stmt;
  gboolean exists;

  g_return_val_if_fail (FC_IS_STORE (self), FALSE);

  if (tag == NULL || *tag == '\0' || !g_utf8_validate (tag, -1, NULL))
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "A tag must be non-empty text");
      return FALSE;
    }
  if (!fc_store_begin (self, error))
    return FALSE;
  if (!_fc_store_row_exists (self, "SELECT 1 FROM shots WHERE id = ?", shot_id, &exists, error))
    goto fail;
  if (!exists)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND, "No shot with id %s", shot_id);
      goto fail;
    }
  stmt = fc_store_statement (self,
                             add ? "INSERT OR IGNORE INTO shot_tags (shot_id, tag) VALUES (?, ?)"
                                 : "DELETE FROM shot_tags WHERE shot_id = ? AND tag = ?", error);
  if (stmt == NULL)
    goto fail;
  fc_bind_text (stmt, 1, shot_id);
  fc_bind_text (stmt, 2, tag);
  if (!fc_store_step_done (self, stmt, error))
    goto fail;
  if (sqlite3_changes (self->db) == 0)
    {
      /* Nothing changed: nothing to sync. */
      fc_store_rollback (self);
      return TRUE;
    }
  if (!enqueue_shot_update (self, shot_id, error))
    goto fail;
  return fc_store_commit (self, error);

fail:
  fc_store_rollback (self);
  return FALSE;
}

gboolean
fc_store_move_shots (FcStore             *self,
                     const char * const  *shot_ids,
                     const char          *config_id,
                     GError             **error)
{
  g_autofree char *fitting_id = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (FC_IS_STORE (self), FALSE);
  g_return_val_if_fail (shot_ids != NULL, FALSE);

  if (!fc_store_begin (self, error))
    return FALSE;
  stmt = fc_store_statement (self, "SELECT fitting_id FROM club_configs WHERE id = ?", error);
  if (stmt == NULL)
    goto fail;
  fc_bind_text (stmt, 1, config_id);
  if (!query_text (self, stmt, &fitting_id, error))
    goto fail;
  if (fitting_id == NULL)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND, "No club configuration with id %s", config_id);
      goto fail;
    }

  for (guint i = 0; shot_ids[i]; i++)
    {
      stmt = fc_store_statement (self,
                                 "UPDATE shots SET fitting_id = ?, config_id = ?, updated_at = ?"
                                 " WHERE id = ?", error);
      if (stmt == NULL)
        goto fail;
      fc_bind_text (stmt, 1, fitting_id);
      fc_bind_text (stmt, 2, config_id);
      sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
      fc_bind_text (stmt, 4, shot_ids[i]);
      if (!fc_store_step_done (self, stmt, error))
        {
          if (g_error_matches (*error, FC_ERROR, FC_ERROR_CONFLICT))
            g_prefix_error (error, "Shot %s is already in that fitting: ", shot_ids[i]);
          goto fail;
        }
      if (!require_change (self, shot_ids[i], error) ||
          !enqueue_shot_update (self, shot_ids[i], error))
        goto fail;
    }
  return fc_store_commit (self, error);

fail:
  fc_store_rollback (self);
  return FALSE;
}

/* ---- import ------------------------------------------------------------- */

void
fc_import_summary_clear (FcImportSummary *summary)
{
  g_clear_pointer (&summary->import_id, g_free);
  g_clear_pointer (&summary->fitting_id, g_free);
  g_clear_pointer (&summary->config_id, g_free);
  summary->inserted = summary->duplicates = 0;
}

gboolean
fc_store_import (FcStore          *self,
                 FcImportBatch    *batch,
                 const char       *fitting_id,
                 const char       *config_id,
                 const char       *bay,
                 FcImportSummary  *summary,
                 GError          **error)
{
  g_autoptr(FcShot) target = fc_shot_new ();
  g_autofree char *import_id = fc_uuid_new ();
  sqlite3_stmt *stmt;
  gint64 now = g_get_real_time ();
  guint inserted = 0, duplicates = 0;

  g_return_val_if_fail (FC_IS_STORE (self), FALSE);
  g_return_val_if_fail (batch != NULL && summary != NULL, FALSE);

  if (batch->document)
    return _fc_store_restore_document (self, batch->document, summary, error);

  if (!fc_store_begin (self, error))
    return FALSE;

  /* Imports without a fitting go to the bay's practice session, never
   * into whatever customer's fitting happens to be open. */
  target->fitting_id = g_strdup (fitting_id);
  target->config_id = g_strdup (config_id);
  if (batch->shots->len > 0)
    target->club = g_strdup (((FcShot *) g_ptr_array_index (batch->shots, 0))->club);
  if (!resolve_target (self, target, bay, FALSE, error))
    goto fail;

  stmt = fc_store_statement (self,
                             "INSERT INTO imports (id, fitting_id, file_name, format, header,"
                             " row_count, inserted, imported_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
                             error);
  if (stmt == NULL)
    goto fail;
  fc_bind_text (stmt, 1, import_id);
  fc_bind_text (stmt, 2, target->fitting_id);
  fc_bind_text (stmt, 3, batch->file_name);
  fc_bind_text (stmt, 4, batch->format);
  if (batch->header)
    sqlite3_bind_blob64 (stmt, 5, g_bytes_get_data (batch->header, NULL) ?: "",
                         g_bytes_get_size (batch->header), SQLITE_STATIC);
  sqlite3_bind_int (stmt, 6, batch->shots->len);
  sqlite3_bind_int64 (stmt, 7, now);
  if (!fc_store_step_done (self, stmt, error))
    goto fail;

  for (guint i = 0; i < batch->shots->len; i++)
    {
      FcShot *shot = g_ptr_array_index (batch->shots, i);
      FcAddResult result;

      if (!validate_for_store (shot, error))
        {
          g_prefix_error (error, "%s: ", shot->source_detail ? shot->source_detail : batch->file_name);
          goto fail;
        }
      g_free (shot->fitting_id);
      shot->fitting_id = g_strdup (target->fitting_id);
      g_free (shot->config_id);
      shot->config_id = g_strdup (target->config_id);
      g_free (shot->import_id);
      shot->import_id = g_strdup (import_id);
      if (shot->received_at == 0)
        shot->received_at = now;
      if (!_fc_store_insert_shot (self, shot, FALSE, &result, error))
        {
          g_prefix_error (error, "%s: ", shot->source_detail ? shot->source_detail : batch->file_name);
          goto fail;
        }
      if (result == FC_ADD_INSERTED)
        inserted++;
      else
        duplicates++;
    }

  if (inserted == 0)
    {
      /* Nothing new (the file was imported before): leave no trace. */
      fc_store_rollback (self);
      import_id[0] = '\0';
    }
  else
    {
      g_autofree char *payload = NULL;

      stmt = fc_store_statement (self, "UPDATE imports SET inserted = ? WHERE id = ?", error);
      if (stmt == NULL)
        goto fail;
      sqlite3_bind_int (stmt, 1, inserted);
      fc_bind_text (stmt, 2, import_id);
      if (!fc_store_step_done (self, stmt, error))
        goto fail;
      /* One outbox entry for the whole file: the sync engine sends the
       * import's shots (WHERE import_id = ?) in batches. Ten thousand
       * entries for one file would only be read back together. */
      payload = g_strdup_printf ("{\"import_id\":\"%s\",\"shots\":%u}", import_id, inserted);
      if (!fc_store_enqueue (self, "import", import_id, target->fitting_id, "create", payload, error) ||
          !fc_store_commit (self, error))
        goto fail;
    }

  fc_import_summary_clear (summary);
  summary->import_id = import_id[0] ? g_steal_pointer (&import_id) : NULL;
  summary->fitting_id = g_steal_pointer (&target->fitting_id);
  summary->config_id = g_steal_pointer (&target->config_id);
  summary->inserted = inserted;
  summary->duplicates = duplicates;
  return TRUE;

fail:
  fc_store_rollback (self);
  return FALSE;
}
