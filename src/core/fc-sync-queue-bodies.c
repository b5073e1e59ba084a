/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-sync-queue"

#include "config.h"

#include "fc-sync-queue-private.h"
#include "fc-record-json.h"

#include <string.h>

/*
 * The bodies of sync requests, in the cloud contract's JSON
 * (docs/cloud-api.yaml), written with the same writers as exports so
 * that member names and numbers are the ones the cloud reads. Shots are
 * read with one SELECT per run of entries (plus one for their tags),
 * never one per shot: 100,000 queued shots are 200 batches.
 */

#define SHOT_FLAGS (FC_SHOT_JSON_WITH_RAW | FC_SHOT_JSON_SKIP_NULLS)

/* Where a creation body holding a customer lives, bound into its
 * ciphertext like the customer columns' places are. */
#define BODY_AAD_FORMAT "fitclip/outbox/body/%" G_GINT64_FORMAT

static void
add_id (SyncRequest *r,
        gint64       id)
{
  g_array_append_val (r->pub.outbox_ids, id);
}

static GBytes *
writer_bytes (FcJsonWriter *w)
{
  gsize len;
  char *text = fc_json_writer_steal (w, &len);

  return g_bytes_new_take (text, len);
}

static void
set_request (Built        *built,
             SyncRequest  *r,
             GBytes       *body,
             const char   *key_ids,
             const Entry  *head)
{
  _fc_sync_request_finish (r, body, key_ids, head);
  built->outcome = BUILD_REQUEST;
  built->request = r;
}

/* ---- shots ------------------------------------------------------------------ */

/* A shot the cloud refused alone (fc_sync_queue_set_aside_shot()) waits
 * for a person: its batches and edits go without it. */
#define NOT_SET_ASIDE " AND shots.id NOT IN (SELECT shot_id FROM sync_set_aside)"

static const char *
created_shots_sql (FcStore *store)
{
  static char *sql;

  /* Every store has the same shot_select_sql; build this once. */
  if (g_once_init_enter (&sql))
    g_once_init_leave (&sql, g_strconcat (store->shot_select_sql,
                                          /* the entries in commit order from the index,
                                           * each shot looked up by id: no sort, and not a
                                           * walk through the fitting (unary +) */
                                          " JOIN (SELECT entity_id AS sid, id AS oid FROM outbox"
                                          "  WHERE fitting_id = ?1 AND id BETWEEN ?2 AND ?3"
                                          "  AND entity = 'shot' AND operation = 'create') q ON q.sid = shots.id"
                                          " WHERE +shots.fitting_id = ?1" NOT_SET_ASIDE
                                          " ORDER BY q.oid", NULL));
  return sql;
}

static const char *
import_shots_sql (FcStore *store)
{
  static char *sql;

  if (g_once_init_enter (&sql))
    g_once_init_leave (&sql, g_strconcat (store->shot_select_sql,
                                          " WHERE shots.fitting_id = ?1 AND shots.seq > ?2"
                                          " AND shots.import_id = ?3" NOT_SET_ASIDE
                                          " ORDER BY shots.seq LIMIT ?4", NULL));
  return sql;
}

static gboolean
read_shot_rows (FcStore       *store,
                sqlite3_stmt  *stmt,
                GPtrArray     *shots,
                GHashTable    *by_id,
                GError       **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      FcShot *s = _fc_store_shot_from_row (stmt);

      g_ptr_array_add (shots, s);
      g_hash_table_insert (by_id, s->id, s);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (store, error, rc, "reading shots to send");
      return FALSE;
    }
  return TRUE;
}

/* The shots of live-shot entries @first..@last (all shot creations of
 * the fitting, consecutive) that are still in the fitting. */
static gboolean
read_created (FcStore     *store,
              const char  *fitting_id,
              gint64       first,
              gint64       last,
              GPtrArray   *shots,
              GError     **error)
{
  g_autoptr(GHashTable) by_id = g_hash_table_new (g_str_hash, g_str_equal);
  sqlite3_stmt *stmt = fc_store_statement (store, created_shots_sql (store), error);

  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, fitting_id);
  sqlite3_bind_int64 (stmt, 2, first);
  sqlite3_bind_int64 (stmt, 3, last);
  if (!read_shot_rows (store, stmt, shots, by_id, error))
    return FALSE;

  stmt = fc_store_statement (store,
                             "SELECT shot_id, tag FROM shot_tags WHERE shot_id IN"
                             " (SELECT entity_id FROM outbox WHERE fitting_id = ?1 AND id BETWEEN ?2 AND ?3"
                             "  AND entity = 'shot' AND operation = 'create') ORDER BY shot_id, tag", error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, fitting_id);
  sqlite3_bind_int64 (stmt, 2, first);
  sqlite3_bind_int64 (stmt, 3, last);
  return _fc_store_read_tags (store, stmt, by_id, "reading tags to send", error);
}

static gint64
import_total (const Entry *e)
{
  g_autoptr(JsonNode) root = e->payload ? json_from_string (e->payload, NULL) : NULL;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return -1;
  return json_object_get_int_member_with_default (json_node_get_object (root), "shots", -1);
}

/* Up to @budget of the import's shots not sent yet. The import's total
 * bounds the read, so the last batch does not walk the fitting's later
 * shots to find out that nothing is left. */
static gboolean
read_import (FcStore         *store,
             const char      *fitting_id,
             const Entry     *e,
             guint            budget,
             GPtrArray       *shots,
             ImportProgress  *p,
             GError         **error)
{
  g_autoptr(GHashTable) by_id = g_hash_table_new (g_str_hash, g_str_equal);
  gint64 remaining = import_total (e) - e->sent_count;
  guint want = remaining > 0 ? (guint) MIN ((gint64) budget, remaining) : budget;
  guint before = shots->len, taken;
  sqlite3_stmt *stmt = fc_store_statement (store, import_shots_sql (store), error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, fitting_id);
  sqlite3_bind_int64 (stmt, 2, e->sent_seq);
  fc_bind_text (stmt, 3, e->entity_id);
  sqlite3_bind_int64 (stmt, 4, want);
  if (!read_shot_rows (store, stmt, shots, by_id, error))
    return FALSE;
  taken = shots->len - before;

  p->outbox_id = e->id;
  p->last_seq = e->sent_seq;
  p->sent_count = e->sent_count + taken;
  p->finished = taken < want || taken == remaining;
  if (taken == 0)
    return TRUE;

  stmt = fc_store_statement (store, "SELECT seq FROM shots WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, ((FcShot *) g_ptr_array_index (shots, shots->len - 1))->id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    p->last_seq = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    {
      fc_store_set_error (store, error, rc, "reading shots to send");
      return FALSE;
    }

  stmt = fc_store_statement (store,
                             "SELECT t.shot_id, t.tag FROM shots s JOIN shot_tags t ON t.shot_id = s.id"
                             " WHERE s.fitting_id = ?1 AND s.seq > ?2 AND s.seq <= ?3 AND s.import_id = ?4"
                             " ORDER BY t.shot_id, t.tag", error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, fitting_id);
  sqlite3_bind_int64 (stmt, 2, e->sent_seq);
  sqlite3_bind_int64 (stmt, 3, p->last_seq);
  fc_bind_text (stmt, 4, e->entity_id);
  return _fc_store_read_tags (store, stmt, by_id, "reading tags to send", error);
}

/*
 * Live shots and imports, merged into batches of at most
 * FC_SYNC_MAX_SHOTS in commit order. An import that does not fit ends
 * the batch; done() saves how far it got (its last seq), so the next
 * batch — also after a crash — starts from there.
 */
gboolean
_fc_sync_build_shots (FcStore          *store,
                      const Candidate  *c,
                      GArray           *run,
                      Built            *built,
                      GError          **error)
{
  g_autoptr(GPtrArray) shots = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_shot_free);
  SyncRequest *r = _fc_sync_request_new (FC_SYNC_ADD_SHOTS, c->fitting_id);
  guint budget = FC_SYNC_MAX_SHOTS;
  guint i = 0;
  FcJsonWriter *w;

  while (i < run->len && budget > 0)
    {
      const Entry *e = &g_array_index (run, Entry, i);

      if (e->type == ENTRY_SHOT_CREATE)
        {
          guint j = i;

          while (j < run->len && j - i < budget && g_array_index (run, Entry, j).type == ENTRY_SHOT_CREATE)
            add_id (r, g_array_index (run, Entry, j++).id);
          if (!read_created (store, c->fitting_id, e->id, g_array_index (run, Entry, j - 1).id, shots, error))
            goto fail;
          budget -= j - i;
          i = j;
        }
      else if (e->type == ENTRY_IMPORT)
        {
          ImportProgress p = { 0 };
          guint before = shots->len;

          if (!read_import (store, c->fitting_id, e, budget, shots, &p, error))
            goto fail;
          add_id (r, e->id);
          g_array_append_val (r->imports, p);
          budget -= shots->len - before;
          i++;
          if (!p.finished)
            break;
        }
      else
        break;
    }

  r->pub.n_shots = shots->len;
  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "shots");
  fc_json_writer_begin_array (w);
  for (guint k = 0; k < shots->len; k++)
    fc_json_write_shot (w, g_ptr_array_index (shots, k), SHOT_FLAGS);
  fc_json_writer_end_array (w);
  fc_json_writer_end_object (w);
  {
    g_autoptr(GBytes) body = writer_bytes (w);

    set_request (built, r, body, NULL, &g_array_index (run, Entry, 0));
  }
  /* Every shot moved elsewhere meanwhile: nothing to send. */
  if (shots->len == 0)
    built->outcome = BUILD_SETTLE;
  return TRUE;

fail:
  fc_sync_request_free (&r->pub);
  return FALSE;
}

/* ---- edits ------------------------------------------------------------------ */

typedef struct {
  gboolean   excluded;
  char      *reason;
  char      *config_id;
  GPtrArray *tags;
} ShotEdit;

static void
shot_edit_free (ShotEdit *e)
{
  g_free (e->reason);
  g_free (e->config_id);
  g_ptr_array_unref (e->tags);
  g_free (e);
}

/* The editable state of @ids that are still in the fitting, absolute,
 * as the PATCH's "shots" member. */
static gboolean
write_shot_edits (FcStore      *store,
                  const char   *fitting_id,
                  GPtrArray    *ids,
                  FcJsonWriter *w,
                  guint        *written,
                  GError      **error)
{
  g_autoptr(GHashTable) edits = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                       (GDestroyNotify) shot_edit_free);
  g_autofree char *ids_json = NULL;
  FcJsonWriter *list = fc_json_writer_new (FALSE);
  sqlite3_stmt *stmt;
  int rc;

  fc_json_writer_begin_array (list);
  for (guint i = 0; i < ids->len; i++)
    fc_json_writer_string (list, g_ptr_array_index (ids, i));
  fc_json_writer_end_array (list);
  ids_json = fc_json_writer_steal (list, NULL);

  stmt = fc_store_statement (store,
                             "SELECT id, excluded, exclude_reason, config_id FROM shots"
                             " WHERE id IN (SELECT value FROM json_each(?1)) AND +fitting_id = ?2"
                             NOT_SET_ASIDE, error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, ids_json);
  fc_bind_text (stmt, 2, fitting_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      ShotEdit *e = g_new0 (ShotEdit, 1);

      e->excluded = sqlite3_column_int (stmt, 1) != 0;
      e->reason = fc_column_dup (stmt, 2);
      e->config_id = fc_column_dup (stmt, 3);
      e->tags = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (edits, fc_column_dup (stmt, 0), e);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    goto sql_fail;

  stmt = fc_store_statement (store,
                             "SELECT shot_id, tag FROM shot_tags WHERE shot_id IN (SELECT value FROM json_each(?1))"
                             " ORDER BY shot_id, tag", error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, ids_json);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      ShotEdit *e = g_hash_table_lookup (edits, sqlite3_column_text (stmt, 0));

      if (e)
        g_ptr_array_add (e->tags, fc_column_dup (stmt, 1));
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    goto sql_fail;

  /* A shot moved to another fitting is not in this one any more: its
   * state travels with the fitting it went to. One set aside sends its
   * state when it goes again. */
  *written = 0;
  for (guint i = 0; i < ids->len; i++)
    {
      const char *id = g_ptr_array_index (ids, i);
      ShotEdit *e = g_hash_table_lookup (edits, id);

      if (e == NULL)
        continue;
      if ((*written)++ == 0)
        {
          fc_json_writer_key (w, "shots");
          fc_json_writer_begin_array (w);
        }
      fc_json_writer_begin_object (w);
      fc_json_writer_key (w, "id");
      fc_json_writer_string (w, id);
      fc_json_writer_key (w, "excluded");
      fc_json_writer_boolean (w, e->excluded);
      fc_json_writer_key (w, "exclude_reason");
      fc_json_writer_string (w, e->reason);
      fc_json_writer_key (w, "tags");
      fc_json_writer_begin_array (w);
      for (guint k = 0; k < e->tags->len; k++)
        fc_json_writer_string (w, g_ptr_array_index (e->tags, k));
      fc_json_writer_end_array (w);
      fc_json_writer_key (w, "config_id");
      fc_json_writer_string (w, e->config_id);
      fc_json_writer_end_object (w);
    }
  if (*written)
    fc_json_writer_end_array (w);
  return TRUE;

sql_fail:
  fc_store_set_error (store, error, rc, "reading shot edits to send");
  return FALSE;
}

/*
 * Consecutive edits — customer details, configurations added after the
 * creation, the fitting's own members, shot exclusions, tags and moves
 * between configurations — as one PATCH of absolute values read now:
 * three edits of one shot send its final state once.
 */
gboolean
_fc_sync_build_patch (FcStore          *store,
                      const Candidate  *c,
                      GArray           *run,
                      Built            *built,
                      GError          **error)
{
  g_autoptr(GPtrArray) config_ids = g_ptr_array_new ();
  g_autoptr(GPtrArray) shot_ids = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) problem = NULL;
  const Entry *head = &g_array_index (run, Entry, 0);
  SyncRequest *r = _fc_sync_request_new (FC_SYNC_PATCH_FITTING, c->fitting_id);
  gboolean want_customer = FALSE, want_fitting = FALSE;
  FcJsonWriter *w = NULL;
  guint members = 0;

  for (guint i = 0; i < run->len; i++)
    {
      const Entry *e = &g_array_index (run, Entry, i);
      GPtrArray *into = NULL;

      if (e->type == ENTRY_CUSTOMER)
        want_customer = TRUE;
      else if (e->type == ENTRY_FITTING_UPDATE)
        want_fitting = TRUE;
      else if (e->type == ENTRY_CONFIG)
        into = config_ids;
      else if (e->type == ENTRY_SHOT_UPDATE)
        into = shot_ids;
      else
        break;
      if (into && !g_hash_table_contains (seen, e->entity_id))
        {
          /* The contract's limit per member. */
          if (into->len == FC_SYNC_MAX_SHOTS)
            break;
          g_hash_table_add (seen, e->entity_id);
          g_ptr_array_add (into, e->entity_id);
        }
      add_id (r, e->id);
    }

  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (w);
  if (want_customer && c->customer_id)
    {
      g_autoptr(FcCustomer) customer = fc_store_get_customer (store, c->customer_id, &problem);

      if (customer == NULL)
        goto park;
      fc_json_writer_key (w, "customer");
      fc_json_write_customer (w, customer);
      members++;
    }
  if (config_ids->len > 0)
    {
      g_autoptr(GPtrArray) configs = fc_store_list_configs (store, c->fitting_id, error);
      guint n = 0;

      if (configs == NULL)
        goto fail;
      for (guint i = 0; i < configs->len; i++)
        {
          FcClubConfig *config = g_ptr_array_index (configs, i);

          if (!g_hash_table_contains (seen, config->id))
            continue;
          if (n++ == 0)
            {
              fc_json_writer_key (w, "configs");
              fc_json_writer_begin_array (w);
            }
          fc_json_write_club_config (w, config);
        }
      if (n > 0)
        {
          fc_json_writer_end_array (w);
          members++;
        }
    }
  if (want_fitting)
    {
      g_autoptr(FcFitting) fitting = fc_store_get_fitting (store, c->fitting_id, &problem);

      if (fitting == NULL)
        goto park;
      fc_json_writer_key (w, "fitting");
      fc_json_write_fitting (w, fitting);
      members++;
    }
  if (shot_ids->len > 0)
    {
      guint n = 0;

      if (!write_shot_edits (store, c->fitting_id, shot_ids, w, &n, error))
        goto fail;
      members += n > 0;
    }
  fc_json_writer_end_object (w);
  {
    g_autoptr(GBytes) body = writer_bytes (w);

    set_request (built, r, body, NULL, head);
  }
  if (members == 0)
    built->outcome = BUILD_SETTLE;
  return TRUE;

park:
  fc_json_writer_free (w);
  fc_sync_request_free (&r->pub);
  return _fc_sync_park_or_fail (built, head->id, problem, error);

fail:
  fc_json_writer_free (w);
  fc_sync_request_free (&r->pub);
  return FALSE;
}

/* ---- completion and videos ------------------------------------------------ */

gboolean
_fc_sync_build_complete (FcStore          *store,
                         const Candidate  *c,
                         GArray           *run,
                         Built            *built,
                         GError          **error)
{
  const Entry *head = &g_array_index (run, Entry, 0);
  g_autoptr(JsonNode) root = head->payload ? json_from_string (head->payload, NULL) : NULL;
  g_autofree char *completed_at = NULL;
  g_autoptr(GBytes) body = NULL;
  SyncRequest *r;
  FcJsonWriter *w;

  /* The time it was completed on the agent, as queued. */
  if (root && JSON_NODE_HOLDS_OBJECT (root))
    completed_at = g_strdup (json_object_get_string_member_with_default (json_node_get_object (root),
                                                                          "completed_at", NULL));
  if (completed_at == NULL)
    {
      g_autoptr(GError) problem = NULL;
      g_autoptr(FcFitting) fitting = fc_store_get_fitting (store, c->fitting_id, &problem);

      if (fitting == NULL)
        return _fc_sync_park_or_fail (built, head->id, problem, error);
      if (fitting->completed_at == 0)
        {
          built->outcome = BUILD_PARK;
          built->entry_id = head->id;
          built->reason = g_strdup_printf ("Fitting %s was queued as completed but has no completion time",
                                           c->fitting_id);
          return TRUE;
        }
      completed_at = fc_format_timestamp (fitting->completed_at);
    }

  r = _fc_sync_request_new (FC_SYNC_COMPLETE_FITTING, c->fitting_id);
  /* Completing twice changes nothing: repeated entries go together. */
  for (guint i = 0; i < run->len && g_array_index (run, Entry, i).type == ENTRY_FITTING_COMPLETE; i++)
    add_id (r, g_array_index (run, Entry, i).id);
  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "completed_at");
  fc_json_writer_string (w, completed_at);
  fc_json_writer_end_object (w);
  body = writer_bytes (w);
  set_request (built, r, body, NULL, head);
  return TRUE;
}

gboolean
_fc_sync_build_video (FcStore          *store,
                      const Candidate  *c,
                      GArray           *run,
                      Built            *built,
                      GError          **error)
{
  const Entry *head = &g_array_index (run, Entry, 0);
  g_autofree char *content_type = NULL;
  g_autoptr(GBytes) body = NULL;
  sqlite3_stmt *stmt;
  SyncRequest *r;
  FcJsonWriter *w;
  int rc;

  stmt = fc_store_statement (store,
                             "SELECT path, sha256, size, content_type, upload_url, upload_offset,"
                             " coalesce(upload_expires_at, 0) FROM videos WHERE id = ? AND fitting_id = ?",
                             error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, head->entity_id);
  fc_bind_text (stmt, 2, c->fitting_id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      sqlite3_reset (stmt);
      if (rc != SQLITE_DONE)
        {
          fc_store_set_error (store, error, rc, "reading a video to send");
          return FALSE;
        }
      built->outcome = BUILD_PARK;
      built->entry_id = head->id;
      built->reason = g_strdup_printf ("Video %s of fitting %s is queued but not registered",
                                       head->entity_id, c->fitting_id);
      return TRUE;
    }
  r = _fc_sync_request_new (FC_SYNC_UPLOAD_VIDEO, c->fitting_id);
  r->pub.video_id = g_strdup (head->entity_id);
  r->pub.video_path = fc_column_dup (stmt, 0);
  r->pub.video_sha256 = fc_column_dup (stmt, 1);
  r->pub.video_size = sqlite3_column_int64 (stmt, 2);
  content_type = fc_column_dup (stmt, 3);
  r->pub.upload_url = fc_column_dup (stmt, 4);
  r->pub.upload_offset = sqlite3_column_int64 (stmt, 5);
  r->pub.upload_expires_at = sqlite3_column_int64 (stmt, 6);
  sqlite3_reset (stmt);
  add_id (r, head->id);

  /* The attach call's body; "upload_url" is null until the upload
   * exists (fc_sync_queue_save_upload(), then ask again). */
  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "id");
  fc_json_writer_string (w, r->pub.video_id);
  fc_json_writer_key (w, "upload_url");
  fc_json_writer_string (w, r->pub.upload_url);
  fc_json_writer_key (w, "sha256");
  fc_json_writer_string (w, r->pub.video_sha256);
  fc_json_writer_key (w, "size");
  fc_json_writer_int (w, r->pub.video_size);
  fc_json_writer_key (w, "kind");
  fc_json_writer_string (w, "recap");
  fc_json_writer_key (w, "content_type");
  fc_json_writer_string (w, content_type);
  fc_json_writer_end_object (w);
  body = writer_bytes (w);
  set_request (built, r, body, NULL, head);
  return TRUE;
}

/* ---- fitting creation --------------------------------------------------------- */

/*
 * The creation body is written once, the first time it is needed, and
 * sent as it is every time after: the cloud compares a repeated
 * creation with the first (409 fitting_conflict on a difference) and a
 * repeated Idempotency-Key with the first body (422 on a difference).
 * What changes after it was frozen — a configuration added, the
 * customer edited — is in later entries and goes as a PATCH.
 */
gboolean
_fc_sync_build_create (FcStore          *store,
                       const Candidate  *c,
                       GArray           *run,
                       const Entry      *create,
                       Built            *built,
                       GError          **error)
{
  FcFieldCipher *cipher = fc_store_get_field_cipher (store);
  g_autoptr(GBytes) body = NULL;
  g_autofree char *covers = NULL;
  sqlite3_stmt *stmt;
  SyncRequest *r;
  int rc;

  stmt = fc_store_statement (store, "SELECT body, typeof(body) = 'blob', covers FROM outbox WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, create->id);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      sqlite3_reset (stmt);
      if (rc == SQLITE_DONE)
        return TRUE;
      fc_store_set_error (store, error, rc, "reading the outbox");
      return FALSE;
    }
  body = g_bytes_new (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0));
  covers = fc_column_dup (stmt, 2);
  if (sqlite3_column_int (stmt, 1))
    {
      g_autofree char *aad = g_strdup_printf (BODY_AAD_FORMAT, create->id);
      g_autoptr(GError) problem = NULL;
      char *text;

      sqlite3_reset (stmt);
      /* Held a customer: never sent while the key is missing. */
      if (cipher == NULL)
        return TRUE;
      text = fc_field_cipher_decrypt_text (cipher, body, aad, &problem);
      if (text == NULL)
        return _fc_sync_park_or_fail (built, create->id, problem, error);
      g_bytes_unref (body);
      body = g_bytes_new_take (text, strlen (text));
    }
  else
    sqlite3_reset (stmt);

  r = _fc_sync_request_new (FC_SYNC_CREATE_FITTING, c->fitting_id);
  /* What it covers and is still queued (another fitting may have
   * carried the customer meanwhile); the key keeps naming all of it. */
  stmt = fc_store_statement (store,
                             "SELECT id FROM outbox WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
                             error);
  if (stmt == NULL)
    goto fail;
  fc_bind_text (stmt, 1, covers);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    add_id (r, sqlite3_column_int64 (stmt, 0));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (store, error, rc, "reading the outbox");
      goto fail;
    }
  set_request (built, r, body, covers, &g_array_index (run, Entry, 0));
  return TRUE;

fail:
  fc_sync_request_free (&r->pub);
  return FALSE;
}

static gboolean
append_ids (FcStore       *store,
            sqlite3_stmt  *stmt,
            GArray        *ids,
            GError       **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);

      g_array_append_val (ids, id);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (store, error, rc, "reading the outbox");
      return FALSE;
    }
  return TRUE;
}

/* The fitting as queued at creation, its customer and configurations as
 * they are now; covers the customer's and configurations' entries. */
static gboolean
freeze_in_transaction (FcStore     *store,
                       gint64       entry_id,
                       char       **park_reason,
                       GError     **error)
{
  FcFieldCipher *cipher = fc_store_get_field_cipher (store);
  g_autofree char *fitting_id = NULL, *payload = NULL;
  g_autoptr(GError) problem = NULL;
  g_autoptr(FcFitting) fitting = NULL;
  g_autoptr(FcCustomer) customer = NULL;
  g_autoptr(GPtrArray) configs = NULL;
  g_autoptr(GArray) covers = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GString) body = NULL;
  g_autofree char *covers_json = NULL;
  gboolean frozen = FALSE;
  sqlite3_stmt *stmt;
  FcJsonWriter *w;
  int rc;

  stmt = fc_store_statement (store,
                             "SELECT fitting_id, payload, body IS NOT NULL FROM outbox"
                             " WHERE id = ? AND entity = 'fitting' AND operation = 'create'", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, entry_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      fitting_id = fc_column_dup (stmt, 0);
      payload = fc_column_dup (stmt, 1);
      frozen = sqlite3_column_int (stmt, 2) != 0;
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      fc_store_set_error (store, error, rc, "reading the outbox");
      return FALSE;
    }
  /* Sent or frozen by another program meanwhile. */
  if (rc == SQLITE_DONE || frozen)
    return TRUE;
  if (payload == NULL || fitting_id == NULL)
    {
      *park_reason = g_strdup_printf ("The creation of fitting %s was queued without its record",
                                      fitting_id ? fitting_id : "(none)");
      return TRUE;
    }

  fitting = fc_store_get_fitting (store, fitting_id, &problem);
  if (fitting && fitting->customer_id)
    {
      if (cipher == NULL)
        return TRUE;   /* waits for the key */
      customer = fc_store_get_customer (store, fitting->customer_id, &problem);
    }
  if (problem)
    {
      Built parked = { 0 };

      if (!_fc_sync_park_or_fail (&parked, entry_id, problem, error))
        return FALSE;
      *park_reason = parked.reason;
      return TRUE;
    }
  configs = fc_store_list_configs (store, fitting_id, error);
  if (configs == NULL)
    return FALSE;

  g_array_append_val (covers, entry_id);
  stmt = fc_store_statement (store,
                             "SELECT id FROM outbox WHERE fitting_id = ? AND entity = 'club_config'"
                             " AND operation = 'create'", error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, fitting_id);
  if (!append_ids (store, stmt, covers, error))
    return FALSE;
  if (customer)
    {
      stmt = fc_store_statement (store,
                                 "SELECT id FROM outbox WHERE fitting_id IS NULL AND entity = 'customer'"
                                 " AND entity_id = ?", error);
      if (stmt == NULL)
        return FALSE;
      fc_bind_text (stmt, 1, customer->id);
      if (!append_ids (store, stmt, covers, error))
        return FALSE;
    }
  g_array_sort (covers, _fc_sync_compare_ids);

  /* The queued fitting verbatim; the rest from the writers. */
  body = g_string_new ("{\"fitting\":");
  g_string_append (body, payload);
  g_string_append (body, ",\"customer\":");
  w = fc_json_writer_new (FALSE);
  if (customer)
    fc_json_write_customer (w, customer);
  else
    fc_json_writer_null (w);
  {
    g_autofree char *text = fc_json_writer_steal (w, NULL);

    g_string_append (body, text);
  }
  g_string_append (body, ",\"configs\":");
  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_array (w);
  for (guint i = 0; i < configs->len; i++)
    fc_json_write_club_config (w, g_ptr_array_index (configs, i));
  fc_json_writer_end_array (w);
  {
    g_autofree char *text = fc_json_writer_steal (w, NULL);

    g_string_append (body, text);
  }
  g_string_append_c (body, '}');

  covers_json = _fc_sync_ids_to_json (covers);

  stmt = fc_store_statement (store, "UPDATE outbox SET body = ?, covers = ? WHERE id = ?", error);
  if (stmt == NULL)
    return FALSE;
  if (customer)
    {
      /* A customer's details reach the database only encrypted. */
      g_autofree char *aad = g_strdup_printf (BODY_AAD_FORMAT, entry_id);
      g_autoptr(GBytes) sealed = fc_field_cipher_encrypt_text (cipher, body->str, aad, error);
      gsize len;
      const void *data;

      if (sealed == NULL)
        return FALSE;
      data = g_bytes_get_data (sealed, &len);
      sqlite3_bind_blob64 (stmt, 1, data, len, SQLITE_TRANSIENT);
    }
  else
    sqlite3_bind_text (stmt, 1, body->str, body->len, SQLITE_TRANSIENT);
  fc_bind_text (stmt, 2, covers_json);
  sqlite3_bind_int64 (stmt, 3, entry_id);
  return fc_store_step_done (store, stmt, error);
}

gboolean
_fc_sync_freeze_create (FcStore     *store,
                        gint64       entry_id,
                        char       **park_reason,
                        GError     **error)
{
  *park_reason = NULL;
  if (!fc_store_begin (store, error))
    return FALSE;
  if (!freeze_in_transaction (store, entry_id, park_reason, error))
    {
      fc_store_rollback (store);
      return FALSE;
    }
  if (*park_reason)
    {
      fc_store_rollback (store);
      return TRUE;
    }
  return fc_store_commit (store, error);
}
