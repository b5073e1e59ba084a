/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-sync-queue"

#include "config.h"

#include "fc-sync-queue-private.h"
#include "fc-json-writer.h"

#include <json-glib/json-glib.h>

#include <stdlib.h>
#include <string.h>

/*
 * Which request goes next, and what its outcome does to the outbox.
 *
 * Each fitting's entries form a queue in commit order. Customer entries
 * (which name no fitting) join the queues of the fittings that have
 * entries and reference the customer, or, when none has, the queue of
 * the customer's most recent fitting; the first request that carries the
 * customer settles them. The fitting whose head entry is oldest goes
 * first, so fittings share the line in the order things happened, and
 * one waiting (backoff), parked or locked fitting never holds back
 * another.
 *
 * Everything that changes the outbox runs in one IMMEDIATE transaction;
 * building a request runs in one read transaction, so it sees one
 * consistent state while the window keeps writing.
 */

#define REQUEST_MAGIC 0x46435351u /* "FCSQ" */

/* Entries of one fitting read per request: enough for a full batch or
 * PATCH (every entry adds at most one shot or configuration). */
#define RUN_LIMIT 600

/* Housekeeping rounds of one fc_sync_queue_next() call (settling empty
 * work, parking, freezing a creation body) before it lets the caller
 * come back. */
#define MAX_ROUNDS 64

#define ENTRY_COLUMNS \
  "id, entity, operation, entity_id, payload, attempt_count, coalesce(sent_seq, -1), sent_count," \
  " body IS NOT NULL"

const char *
fc_sync_kind_to_string (FcSyncKind kind)
{
  switch (kind)
    {
    case FC_SYNC_CREATE_FITTING:
      return "create_fitting";
    case FC_SYNC_ADD_SHOTS:
      return "add_shots";
    case FC_SYNC_PATCH_FITTING:
      return "patch_fitting";
    case FC_SYNC_COMPLETE_FITTING:
      return "complete_fitting";
    case FC_SYNC_UPLOAD_VIDEO:
      return "upload_video";
    case FC_SYNC_N_KINDS:
    default:
      break;
    }
  return "unknown";
}

/* ---- requests ----------------------------------------------------------- */

SyncRequest *
_fc_sync_request_new (FcSyncKind  kind,
                      const char *fitting_id)
{
  SyncRequest *r = g_new0 (SyncRequest, 1);

  r->magic = REQUEST_MAGIC;
  r->pub.kind = kind;
  r->pub.fitting_id = g_strdup (fitting_id);
  r->pub.outbox_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  r->imports = g_array_new (FALSE, FALSE, sizeof (ImportProgress));
  return r;
}

void
fc_sync_request_free (FcSyncRequest *request)
{
  SyncRequest *r = (SyncRequest *) request;

  if (request == NULL)
    return;
  g_free (request->fitting_id);
  g_free (request->method);
  g_free (request->path);
  g_clear_pointer (&request->body, g_bytes_unref);
  g_free (request->idempotency_key);
  g_clear_pointer (&request->outbox_ids, g_array_unref);
  g_free (request->video_id);
  g_free (request->video_path);
  g_free (request->video_sha256);
  g_free (request->upload_url);
  if (r->magic == REQUEST_MAGIC)
    g_clear_pointer (&r->imports, g_array_unref);
  r->magic = 0;
  g_free (r);
}

int
_fc_sync_compare_ids (gconstpointer a,
                      gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

char *
_fc_sync_ids_to_json (GArray *ids)
{
  GString *s = g_string_new ("[");

  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", g_array_index (ids, gint64, i));
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/*
 * 64 bits of the body for the key. Not a cryptographic hash: it only
 * tells whether the body of the same entries changed between attempts,
 * and SHA-256 over 100,000 shots' bodies (81 MB) cost 0.4 s of a 2 s
 * drain. Eight bytes per multiply.
 */
static guint64
hash_body (const guchar *data,
           gsize         len)
{
  guint64 h = 0x9e3779b97f4a7c15ull ^ len;
  gsize i = 0;

  for (; i + 8 <= len; i += 8)
    {
      guint64 w;

      memcpy (&w, data + i, 8);
      h = (h ^ GUINT64_FROM_LE (w)) * 0xff51afd7ed558ccdull;
      h ^= h >> 32;
    }
  for (; i < len; i++)
    h = (h ^ data[i]) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 32);
}

void
_fc_sync_request_finish (SyncRequest  *r,
                         GBytes       *body,
                         const char   *key_ids,
                         const Entry  *head)
{
  static const char * const methods[] = { "POST", "POST", "PATCH", "PATCH", "POST" };
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *ids_json = NULL;
  const char *kind = fc_sync_kind_to_string (r->pub.kind);
  guint64 body_hash;
  gsize len;
  const guchar *data = g_bytes_get_data (body, &len);

  g_array_sort (r->pub.outbox_ids, _fc_sync_compare_ids);
  r->pub.method = g_strdup (methods[r->pub.kind]);
  switch (r->pub.kind)
    {
    case FC_SYNC_CREATE_FITTING:
      r->pub.path = g_strdup ("/api/v1/fittings");
      break;
    case FC_SYNC_ADD_SHOTS:
      r->pub.path = g_strdup_printf ("/api/v1/fittings/%s/shots", r->pub.fitting_id);
      break;
    case FC_SYNC_PATCH_FITTING:
      r->pub.path = g_strdup_printf ("/api/v1/fittings/%s", r->pub.fitting_id);
      break;
    case FC_SYNC_COMPLETE_FITTING:
      r->pub.path = g_strdup_printf ("/api/v1/fittings/%s/complete", r->pub.fitting_id);
      break;
    case FC_SYNC_UPLOAD_VIDEO:
      r->pub.path = g_strdup_printf ("/api/v1/fittings/%s/videos", r->pub.fitting_id);
      break;
    case FC_SYNC_N_KINDS:
    default:
      g_assert_not_reached ();
    }
  r->pub.body = g_bytes_ref (body);
  r->pub.attempt_count = head ? head->attempt_count : 0;

  /*
   * The key names the outbox entries and the exact body: the same
   * request after a restart gets the same key, and a request whose body
   * changed meanwhile (an edit read at send time) gets a new one rather
   * than 422 idempotency_key_reused. Either way the cloud applies it at
   * most once in effect: creates carry our UUIDs, edits absolute values.
   */
  if (key_ids == NULL)
    key_ids = ids_json = _fc_sync_ids_to_json (r->pub.outbox_ids);
  g_checksum_update (sum, (const guchar *) kind, -1);
  g_checksum_update (sum, (const guchar *) "\n", 1);
  g_checksum_update (sum, (const guchar *) r->pub.fitting_id, -1);
  g_checksum_update (sum, (const guchar *) "\n", 1);
  g_checksum_update (sum, (const guchar *) key_ids, -1);
  g_checksum_update (sum, (const guchar *) "\n", 1);
  body_hash = GUINT64_TO_LE (hash_body (data, len));
  g_checksum_update (sum, (const guchar *) &body_hash, sizeof body_hash);
  r->pub.idempotency_key = g_strdup_printf ("fc-%s-%.40s", kind, g_checksum_get_string (sum));
}

/* The private part of a request from fc_sync_queue_next(). */
static SyncRequest *
request_private (const FcSyncRequest  *request,
                 GError              **error)
{
  SyncRequest *r = (SyncRequest *) request;

  if (r->magic != REQUEST_MAGIC)
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                           "This sync request was not made by fc_sync_queue_next()");
      return NULL;
    }
  return r;
}

gboolean
_fc_sync_park_or_fail (Built   *built,
                       gint64   entry_id,
                       GError  *problem,
                       GError **error)
{
  if (problem->domain == FC_ERROR &&
      (problem->code == FC_ERROR_PII_LOCKED || problem->code == FC_ERROR_CORRUPT ||
       problem->code == FC_ERROR_NOT_FOUND || problem->code == FC_ERROR_INVALID_INPUT))
    {
      built->outcome = BUILD_PARK;
      built->entry_id = entry_id;
      built->reason = g_strdup (problem->message);
      return TRUE;
    }
  g_propagate_error (error, g_error_copy (problem));
  return FALSE;
}

/* ---- candidates ---------------------------------------------------------- */

static void
candidate_free (Candidate *c)
{
  g_free (c->fitting_id);
  g_free (c->customer_id);
  g_free (c);
}

static int
compare_candidates (gconstpointer a,
                    gconstpointer b)
{
  const Candidate *x = *(const Candidate **) a, *y = *(const Candidate **) b;

  return (x->head > y->head) - (x->head < y->head);
}

/*
 * Every fitting with something to send, oldest head first. The distinct
 * fittings are found by hopping along outbox_by_fitting (one seek per
 * fitting, not a scan of the outbox), each head by one more seek.
 * @orphans gets the customer entries no fitting references: nothing can
 * carry them, and a fitting that references the customer later carries
 * its current details in its creation.
 */
GPtrArray *
_fc_sync_list_candidates (FcStore  *store,
                          GArray   *orphans,
                          GError  **error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) candidate_free);
  g_autoptr(GPtrArray) customers = g_ptr_array_new_with_free_func ((GDestroyNotify) candidate_free);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GArray) customer_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) customer_of = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt;
  int rc;

  stmt = fc_store_statement (store,
                             "WITH RECURSIVE f(fid) AS ("
                             " SELECT (SELECT fitting_id FROM outbox WHERE fitting_id IS NOT NULL"
                             "         ORDER BY fitting_id LIMIT 1)"
                             " UNION ALL"
                             " SELECT (SELECT fitting_id FROM outbox WHERE fitting_id > f.fid"
                             "         ORDER BY fitting_id LIMIT 1) FROM f WHERE f.fid IS NOT NULL)"
                             " SELECT f.fid, o.id, o.next_attempt_at, o.parked, fi.customer_id"
                             " FROM f JOIN outbox o ON o.id = (SELECT min(id) FROM outbox WHERE fitting_id = f.fid)"
                             " LEFT JOIN fittings fi ON fi.id = f.fid"
                             " WHERE f.fid IS NOT NULL", error);
  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      Candidate *c = g_new0 (Candidate, 1);

      c->fitting_id = fc_column_dup (stmt, 0);
      c->own_head = c->head = sqlite3_column_int64 (stmt, 1);
      c->next_attempt_at = sqlite3_column_int64 (stmt, 2);
      c->parked = sqlite3_column_int (stmt, 3) != 0;
      c->customer_id = fc_column_dup (stmt, 4);
      g_ptr_array_add (list, c);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (store, error, rc, "reading the outbox");
      return NULL;
    }

  /* Customer entries: few, and settled as soon as a fitting carries them. */
  stmt = fc_store_statement (store,
                             "SELECT entity_id, id, next_attempt_at, parked FROM outbox"
                             " WHERE fitting_id IS NULL AND entity = 'customer' ORDER BY id", error);
  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *customer = (const char *) sqlite3_column_text (stmt, 0);
      gint64 id = sqlite3_column_int64 (stmt, 1);

      g_array_append_val (customer_ids, id);
      g_ptr_array_add (customer_of, g_strdup (customer));
      if (!g_hash_table_contains (seen, customer))
        {
          Candidate *head = g_new0 (Candidate, 1);

          head->customer_id = g_strdup (customer);
          head->customer_head = head->head = id;
          head->next_attempt_at = sqlite3_column_int64 (stmt, 2);
          head->parked = sqlite3_column_int (stmt, 3) != 0;
          g_ptr_array_add (customers, head);
          g_hash_table_add (seen, head->customer_id);
        }
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (store, error, rc, "reading the outbox");
      return NULL;
    }

  for (guint i = 0; i < customers->len; i++)
    {
      Candidate *head = g_ptr_array_index (customers, i);
      gboolean attached = FALSE;
      guint n = list->len;
      g_autofree char *latest = NULL;

      for (guint k = 0; k < n; k++)
        {
          Candidate *c = g_ptr_array_index (list, k);

          if (c->own_head == 0 || g_strcmp0 (c->customer_id, head->customer_id) != 0)
            continue;
          attached = TRUE;
          c->customer_head = head->head;
          if (head->head < c->head)
            {
              c->head = head->head;
              c->next_attempt_at = head->next_attempt_at;
              c->parked = head->parked;
            }
        }
      if (attached)
        continue;

      stmt = fc_store_statement (store,
                                 "SELECT id FROM fittings WHERE customer_id = ?"
                                 " ORDER BY started_at DESC, id DESC LIMIT 1", error);
      if (stmt == NULL)
        return NULL;
      fc_bind_text (stmt, 1, head->customer_id);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        latest = fc_column_dup (stmt, 0);
      sqlite3_reset (stmt);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        {
          fc_store_set_error (store, error, rc, "reading fittings");
          return NULL;
        }
      if (latest)
        {
          Candidate *c = g_new0 (Candidate, 1);

          *c = *head;
          c->fitting_id = g_steal_pointer (&latest);
          c->customer_id = g_strdup (head->customer_id);
          g_ptr_array_add (list, c);
        }
      else if (orphans)
        {
          for (guint k = 0; k < customer_ids->len; k++)
            if (strcmp (g_ptr_array_index (customer_of, k), head->customer_id) == 0)
              g_array_append_val (orphans, g_array_index (customer_ids, gint64, k));
        }
    }

  g_ptr_array_sort (list, compare_candidates);
  return g_steal_pointer (&list);
}

static void
entry_clear (Entry *e)
{
  g_free (e->entity_id);
  g_free (e->payload);
}

EntryType
_fc_sync_entry_type (const char *entity,
                     const char *operation)
{
  gboolean create = g_strcmp0 (operation, "create") == 0;

  if (g_strcmp0 (entity, "shot") == 0)
    return create ? ENTRY_SHOT_CREATE
         : g_strcmp0 (operation, "update") == 0 ? ENTRY_SHOT_UPDATE
         : g_strcmp0 (operation, "move") == 0 ? ENTRY_SHOT_MOVE : ENTRY_UNKNOWN;
  if (g_strcmp0 (entity, "fitting") == 0)
    return create ? ENTRY_FITTING_CREATE
         : g_strcmp0 (operation, "update") == 0 ? ENTRY_FITTING_UPDATE
         : g_strcmp0 (operation, "complete") == 0 ? ENTRY_FITTING_COMPLETE : ENTRY_UNKNOWN;
  if (g_strcmp0 (entity, "customer") == 0)
    return ENTRY_CUSTOMER;
  if (g_strcmp0 (entity, "club_config") == 0 && create)
    return ENTRY_CONFIG;
  if (g_strcmp0 (entity, "import") == 0 && create)
    return ENTRY_IMPORT;
  if (g_strcmp0 (entity, "video") == 0 && create)
    return ENTRY_VIDEO;
  return ENTRY_UNKNOWN;
}

static gboolean
read_entries (FcStore       *store,
              sqlite3_stmt  *stmt,
              GArray        *into,
              GError       **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      Entry e = { 0 };

      e.id = sqlite3_column_int64 (stmt, 0);
      e.type = _fc_sync_entry_type ((const char *) sqlite3_column_text (stmt, 1),
                           (const char *) sqlite3_column_text (stmt, 2));
      e.entity_id = fc_column_dup (stmt, 3);
      e.payload = fc_column_dup (stmt, 4);
      e.attempt_count = sqlite3_column_int (stmt, 5);
      e.sent_seq = sqlite3_column_int64 (stmt, 6);
      e.sent_count = sqlite3_column_int64 (stmt, 7);
      e.frozen = sqlite3_column_int (stmt, 8) != 0;
      g_array_append_val (into, e);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (store, error, rc, "reading the outbox");
      return FALSE;
    }
  return TRUE;
}

/* The candidate's queue from its head: its own entries and its
 * customer's, merged in commit order. */
static GArray *
load_run (FcStore          *store,
          const Candidate  *c,
          GError          **error)
{
  g_autoptr(GArray) own = g_array_new (FALSE, FALSE, sizeof (Entry));
  g_autoptr(GArray) theirs = g_array_new (FALSE, FALSE, sizeof (Entry));
  g_autoptr(GArray) run = g_array_new (FALSE, FALSE, sizeof (Entry));
  sqlite3_stmt *stmt;
  guint i = 0, k = 0;

  g_array_set_clear_func (run, (GDestroyNotify) entry_clear);
  if (c->own_head)
    {
      stmt = fc_store_statement (store,
                                 "SELECT " ENTRY_COLUMNS " FROM outbox WHERE fitting_id = ?"
                                 " ORDER BY id LIMIT " G_STRINGIFY (RUN_LIMIT), error);
      if (stmt == NULL)
        return NULL;
      fc_bind_text (stmt, 1, c->fitting_id);
      if (!read_entries (store, stmt, own, error))
        return NULL;
    }
  if (c->customer_head)
    {
      stmt = fc_store_statement (store,
                                 "SELECT " ENTRY_COLUMNS " FROM outbox WHERE fitting_id IS NULL"
                                 " AND entity = 'customer' AND entity_id = ? ORDER BY id", error);
      if (stmt == NULL)
        return NULL;
      fc_bind_text (stmt, 1, c->customer_id);
      if (!read_entries (store, stmt, theirs, error))
        return NULL;
    }

  /* Customer entries past the last own entry read would come after
   * entries not read yet: they wait for a later run. */
  while (i < own->len || k < theirs->len)
    {
      Entry *a = i < own->len ? &g_array_index (own, Entry, i) : NULL;
      Entry *b = k < theirs->len ? &g_array_index (theirs, Entry, k) : NULL;

      if (b && (a == NULL || b->id < a->id))
        {
          if (a == NULL && own->len == RUN_LIMIT)
            break;
          g_array_append_val (run, *b);
          k++;
        }
      else
        {
          g_array_append_val (run, *a);
          i++;
        }
    }
  for (; k < theirs->len; k++)
    entry_clear (&g_array_index (theirs, Entry, k));
  return g_steal_pointer (&run);
}

/* What the candidate sends next. */
static gboolean
build_for (FcStore          *store,
           const Candidate  *c,
           Built            *built,
           GError          **error)
{
  g_autoptr(GArray) run = load_run (store, c, error);
  const Entry *head;

  if (run == NULL)
    return FALSE;
  if (run->len == 0)
    return TRUE;   /* settled between listing and reading */

  /* A fitting not yet created in the cloud sends its creation first; it
   * carries the customer entries before it. */
  for (guint i = 0; i < run->len; i++)
    {
      const Entry *e = &g_array_index (run, Entry, i);

      if (e->type == ENTRY_CUSTOMER)
        continue;
      if (e->type != ENTRY_FITTING_CREATE)
        break;
      if (!e->frozen)
        {
          built->outcome = BUILD_FREEZE;
          built->entry_id = e->id;
          return TRUE;
        }
      return _fc_sync_build_create (store, c, run, e, built, error);
    }

  head = &g_array_index (run, Entry, 0);
  switch (head->type)
    {
    case ENTRY_SHOT_CREATE:
    case ENTRY_IMPORT:
      return _fc_sync_build_shots (store, c, run, built, error);
    case ENTRY_CUSTOMER:
    case ENTRY_CONFIG:
    case ENTRY_SHOT_UPDATE:
    case ENTRY_FITTING_UPDATE:
      return _fc_sync_build_patch (store, c, run, built, error);
    case ENTRY_FITTING_COMPLETE:
      return _fc_sync_build_complete (store, c, run, built, error);
    case ENTRY_VIDEO:
      return _fc_sync_build_video (store, c, run, built, error);
    case ENTRY_SHOT_MOVE:
      built->outcome = BUILD_PARK;
      built->entry_id = head->id;
      built->reason = g_strdup_printf ("Shot %s was moved to fitting %s after it had been sent with "
                                       "another fitting; the cloud cannot move shots between "
                                       "fittings. Move it back, or ask support to move it in the cloud.",
                                       head->entity_id, c->fitting_id);
      return TRUE;
    case ENTRY_FITTING_CREATE:
      /* Behind other entries of its own fitting: the outbox was written
       * out of order by something other than the store. */
    case ENTRY_UNKNOWN:
    default:
      built->outcome = BUILD_PARK;
      built->entry_id = head->id;
      built->reason = g_strdup_printf ("Outbox entry %" G_GINT64_FORMAT " cannot be sent: this version "
                                       "of FitClip Agent does not know what it is", head->id);
      return TRUE;
    }
}

/* ---- writing ------------------------------------------------------------- */

static gboolean
exec_ids (FcStore     *store,
          const char  *sql,
          GArray      *ids,
          GError     **error)
{
  g_autofree char *json = NULL;
  sqlite3_stmt *stmt;

  if (ids->len == 0)
    return TRUE;
  stmt = fc_store_statement (store, sql, error);
  if (stmt == NULL)
    return FALSE;
  json = _fc_sync_ids_to_json (ids);
  fc_bind_text (stmt, 1, json);
  return fc_store_step_done (store, stmt, error);
}

/* Removes what @r covers, keeping imports that have shots left (their
 * progress is saved instead). Inside a transaction. */
static gboolean
settle_in_transaction (FcStore      *store,
                       SyncRequest  *r,
                       GError      **error)
{
  g_autoptr(GArray) remove = g_array_copy (r->pub.outbox_ids);
  sqlite3_stmt *stmt;

  for (guint i = 0; i < r->imports->len; i++)
    {
      ImportProgress *p = &g_array_index (r->imports, ImportProgress, i);

      if (p->finished)
        continue;
      for (guint k = 0; k < remove->len; k++)
        if (g_array_index (remove, gint64, k) == p->outbox_id)
          g_array_remove_index (remove, k--);
      stmt = fc_store_statement (store,
                                 "UPDATE outbox SET sent_seq = ?, sent_count = ?"
                                 " WHERE id = ? AND coalesce(sent_seq, -1) < ?", error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, p->last_seq);
      sqlite3_bind_int64 (stmt, 2, p->sent_count);
      sqlite3_bind_int64 (stmt, 3, p->outbox_id);
      sqlite3_bind_int64 (stmt, 4, p->last_seq);
      if (!fc_store_step_done (store, stmt, error))
        return FALSE;
    }
  /* outbox_totals has no delete trigger (a row trigger costs more than
   * the delete itself): what leaves is subtracted here, once. */
  if (!exec_ids (store,
                 "UPDATE outbox_totals SET entries = entries - d.n, shots = shots - d.s"
                 " FROM (SELECT entity, operation, count(*) AS n,"
                 "        sum(CASE WHEN entity = 'import' AND json_valid(payload)"
                 "            THEN coalesce(json_extract(payload, '$.shots'), 0) - sent_count ELSE 0 END) AS s"
                 "       FROM outbox WHERE id IN (SELECT value FROM json_each(?1))"
                 "       GROUP BY entity, operation) AS d"
                 " WHERE outbox_totals.entity = d.entity AND outbox_totals.operation = d.operation",
                 remove, error) ||
      !exec_ids (store, "DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?1))", remove, error))
    return FALSE;
  if (r->pub.kind == FC_SYNC_UPLOAD_VIDEO)
    {
      stmt = fc_store_statement (store, "UPDATE videos SET uploaded_at = ? WHERE id = ?", error);
      if (stmt == NULL)
        return FALSE;
      sqlite3_bind_int64 (stmt, 1, g_get_real_time ());
      fc_bind_text (stmt, 2, r->pub.video_id);
      if (!fc_store_step_done (store, stmt, error))
        return FALSE;
    }
  return TRUE;
}

/* @applied: the cloud applied @r (not housekeeping): remembered for the
 * status, also across restarts. */
static gboolean
settle (FcStore      *store,
        SyncRequest  *r,
        gboolean      applied,
        GError      **error)
{
  if (!fc_store_begin (store, error))
    return FALSE;
  if (!settle_in_transaction (store, r, error))
    goto fail;
  if (applied)
    {
      sqlite3_stmt *stmt = fc_store_statement (store,
                                               "INSERT OR REPLACE INTO sync_state (key, value)"
                                               " VALUES ('last_success_at', ?)", error);

      if (stmt == NULL)
        goto fail;
      sqlite3_bind_int64 (stmt, 1, g_get_real_time ());
      if (!fc_store_step_done (store, stmt, error))
        goto fail;
    }
  return fc_store_commit (store, error);

fail:
  fc_store_rollback (store);
  return FALSE;
}

/* The head of @ids is the oldest of them still in the outbox: an entry
 * another request settled meanwhile (a customer carried by another
 * fitting) is skipped. */
static gboolean
mark_head (FcStore     *store,
           GArray      *ids,
           gboolean     park,
           gint64       next_attempt_us,
           const char  *reason,
           GError     **error)
{
  g_autofree char *json = _fc_sync_ids_to_json (ids);
  sqlite3_stmt *stmt;

  if (!fc_store_begin (store, error))
    return FALSE;
  stmt = fc_store_statement (store,
                             "UPDATE outbox SET attempt_count = attempt_count + 1,"
                             " parked = ?, next_attempt_at = CASE WHEN ? THEN next_attempt_at ELSE ? END,"
                             " last_error = ?, failed_at = ?"
                             " WHERE id = (SELECT min(id) FROM outbox WHERE id IN (SELECT value FROM json_each(?)))",
                             error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int (stmt, 1, park ? 1 : 0);
  sqlite3_bind_int (stmt, 2, park ? 1 : 0);
  sqlite3_bind_int64 (stmt, 3, next_attempt_us);
  fc_bind_text (stmt, 4, reason ? reason : (park ? "Refused by the cloud" : "Failed; will retry"));
  sqlite3_bind_int64 (stmt, 5, g_get_real_time ());
  fc_bind_text (stmt, 6, json);
  if (!fc_store_step_done (store, stmt, error))
    goto fail;
  return fc_store_commit (store, error);

fail:
  fc_store_rollback (store);
  return FALSE;
}

/* An entry the queue itself cannot send: it waits for a person. */
static gboolean
park_entry (FcStore     *store,
            gint64       entry_id,
            const char  *reason,
            GError     **error)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_array_append_val (ids, entry_id);
  g_message ("Sync: outbox entry %" G_GINT64_FORMAT " parked: %s", entry_id, reason);
  return mark_head (store, ids, TRUE, 0, reason, error);
}

/* ---- the queue ------------------------------------------------------------ */

/* One look at the outbox in a read transaction. */
static gboolean
find_next (FcStore   *store,
           gint64     now_us,
           Built     *built,
           gint64    *next_due,
           GError   **error)
{
  g_autoptr(GArray) orphans = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) candidates = NULL;
  gboolean locked = fc_store_get_field_cipher (store) == NULL;

  *next_due = 0;
  if (!fc_store_exec (store, "BEGIN", error))
    return FALSE;
  candidates = _fc_sync_list_candidates (store, orphans, error);
  if (candidates == NULL)
    goto fail;

  if (orphans->len > 0)
    {
      built->outcome = BUILD_SETTLE;
      built->request = _fc_sync_request_new (FC_SYNC_PATCH_FITTING, NULL);
      g_array_append_vals (built->request->pub.outbox_ids, orphans->data, orphans->len);
      fc_store_rollback (store);
      return TRUE;
    }

  for (guint i = 0; i < candidates->len && built->outcome == BUILD_NOTHING; i++)
    {
      Candidate *c = g_ptr_array_index (candidates, i);

      /* Never a fitting without its customer: wait for the key. */
      if (c->parked || (c->customer_id && locked))
        continue;
      if (c->next_attempt_at > now_us)
        {
          if (*next_due == 0 || c->next_attempt_at < *next_due)
            *next_due = c->next_attempt_at;
          continue;
        }
      if (!build_for (store, c, built, error))
        goto fail;
      built->head_id = c->head;
    }
  fc_store_rollback (store);
  return TRUE;

fail:
  fc_store_rollback (store);
  return FALSE;
}

FcSyncRequest *
fc_sync_queue_next (FcStore  *store,
                    gint64    now_us,
                    gint64   *next_due_us,
                    GError  **error)
{
  g_return_val_if_fail (FC_IS_STORE (store), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (next_due_us)
    *next_due_us = 0;

  /* Each round hands out a request or settles, parks or freezes
   * something, so the outbox only ever gets closer to done. */
  for (guint round = 0; round < MAX_ROUNDS; round++)
    {
      Built built = { 0 };
      gint64 due = 0;
      gboolean ok = TRUE;

      if (!find_next (store, now_us, &built, &due, error))
        {
          if (built.request)
            fc_sync_request_free (&built.request->pub);
          g_free (built.reason);
          return NULL;
        }
      switch (built.outcome)
        {
        case BUILD_NOTHING:
          if (next_due_us)
            *next_due_us = due;
          return NULL;
        case BUILD_REQUEST:
          return &built.request->pub;
        /* Parking holds the fitting by its head, which may be a customer
         * entry older than the entry that cannot be sent. */
        case BUILD_FREEZE:
          ok = _fc_sync_freeze_create (store, built.entry_id, &built.reason, error);
          if (ok && built.reason)
            ok = park_entry (store, built.head_id, built.reason, error);
          g_free (built.reason);
          break;
        case BUILD_SETTLE:
          ok = settle (store, built.request, FALSE, error);
          fc_sync_request_free (&built.request->pub);
          break;
        case BUILD_PARK:
          ok = park_entry (store, built.head_id, built.reason, error);
          g_free (built.reason);
          break;
        default:
          g_assert_not_reached ();
        }
      if (!ok)
        return NULL;
    }

  /* Much housekeeping at once: due again right away. */
  if (next_due_us)
    *next_due_us = now_us;
  return NULL;
}

gboolean
fc_sync_queue_done (FcStore              *store,
                    const FcSyncRequest  *request,
                    GError              **error)
{
  SyncRequest *r;

  g_return_val_if_fail (FC_IS_STORE (store), FALSE);
  g_return_val_if_fail (request != NULL, FALSE);

  r = request_private (request, error);
  return r != NULL && settle (store, r, TRUE, error);
}

gboolean
fc_sync_queue_retry_later (FcStore              *store,
                           const FcSyncRequest  *request,
                           gint64                next_attempt_us,
                           const char           *reason,
                           GError              **error)
{
  g_return_val_if_fail (FC_IS_STORE (store), FALSE);
  g_return_val_if_fail (request != NULL && request->outbox_ids != NULL, FALSE);

  return mark_head (store, request->outbox_ids, FALSE, next_attempt_us, reason, error);
}

gboolean
fc_sync_queue_park (FcStore              *store,
                    const FcSyncRequest  *request,
                    const char           *reason,
                    GError              **error)
{
  g_return_val_if_fail (FC_IS_STORE (store), FALSE);
  g_return_val_if_fail (request != NULL && request->outbox_ids != NULL, FALSE);

  return mark_head (store, request->outbox_ids, TRUE, 0, reason, error);
}

/* The outbox entries of the set-aside shots that a retry of @fitting_id
 * (?1; NULL: all) releases, as "o". */
#define RELEASED_ENTRIES \
  "sync_set_aside a JOIN shots s ON s.id = a.shot_id" \
  " JOIN outbox o ON o.fitting_id = s.fitting_id AND o.entity = 'shot' AND o.entity_id = a.shot_id" \
  " WHERE ?1 IS NULL OR s.fitting_id = ?1"

/* Runs @sql with ?1 = @text and, when it has a second parameter, ?2 =
 * @second. */
/* The released set-aside shots (?1 as above) that the import entry
 * "outbox" still has to send. */
#define RELEASED_IMPORTED \
  "sync_set_aside a JOIN shots s ON s.id = a.shot_id" \
  " WHERE (?1 IS NULL OR s.fitting_id = ?1) AND s.fitting_id = outbox.fitting_id" \
  " AND s.import_id = outbox.entity_id AND s.seq > coalesce(outbox.sent_seq, -1)"

static gboolean
exec_texts (FcStore     *store,
            const char  *sql,
            const char  *text,
            const char  *second,
            GError     **error)
{
  sqlite3_stmt *stmt = fc_store_statement (store, sql, error);

  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, text);
  if (sqlite3_bind_parameter_count (stmt) >= 2)
    fc_bind_text (stmt, 2, second);
  return fc_store_step_done (store, stmt, error);
}

static gboolean
exec_text (FcStore     *store,
           const char  *sql,
           const char  *text,
           GError     **error)
{
  return exec_texts (store, sql, text, NULL, error);
}

gboolean
fc_sync_queue_unpark (FcStore     *store,
                      const char  *fitting_id,
                      GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (FC_IS_STORE (store), FALSE);

  /* "Retry" and `sync now` mean now: waiting entries too, with their
   * backoff started afresh. The last error stays until they succeed. */
  if (!fc_store_begin (store, error))
    return FALSE;
  if (!exec_text (store,
                  "UPDATE outbox SET parked = 0, next_attempt_at = 0, attempt_count = 0"
                  " WHERE (parked = 1 OR attempt_count > 0) AND (?1 IS NULL OR fitting_id = ?1"
                  "  OR (fitting_id IS NULL AND entity = 'customer'"
                  "      AND entity_id = (SELECT customer_id FROM fittings WHERE id = ?1)))",
                  fitting_id, error))
    goto fail;

  /* Shots set aside go again, each at the end of the queue of the
   * fitting it is in now, with the state it has now: edits made
   * meanwhile are in that state, and would otherwise reach the cloud
   * before the shot (unknown_shot). */
  if (!exec_text (store,
                  "UPDATE outbox_totals SET entries = entries - d.n"
                  " FROM (SELECT o.entity, o.operation, count(*) AS n FROM " RELEASED_ENTRIES
                  "       GROUP BY o.entity, o.operation) AS d"
                  " WHERE outbox_totals.entity = d.entity AND outbox_totals.operation = d.operation",
                  fitting_id, error) ||
      !exec_text (store, "DELETE FROM outbox WHERE id IN (SELECT o.id FROM " RELEASED_ENTRIES ")",
                  fitting_id, error))
    goto fail;
  /* An imported shot whose import is still being sent goes back to it
   * (the import counted it as sent); only the others get an entry of
   * their own, so that none is sent twice. */
  if (!exec_text (store,
                  "UPDATE outbox SET sent_count = sent_count -"
                  " (SELECT count(*) FROM " RELEASED_IMPORTED ")"
                  " WHERE entity = 'import' AND operation = 'create' AND EXISTS (SELECT 1 FROM " RELEASED_IMPORTED ")",
                  fitting_id, error))
    goto fail;
  stmt = fc_store_statement (store,
                             "INSERT INTO outbox (entity, entity_id, fitting_id, operation, next_attempt_at, created_at)"
                             " SELECT 'shot', a.shot_id, s.fitting_id, 'create', 0, ?2"
                             " FROM sync_set_aside a JOIN shots s ON s.id = a.shot_id"
                             " WHERE (?1 IS NULL OR s.fitting_id = ?1)"
                             " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.fitting_id = s.fitting_id"
                             "  AND o.entity = 'import' AND o.operation = 'create' AND o.entity_id = s.import_id"
                             "  AND coalesce(o.sent_seq, -1) < s.seq)"
                             " ORDER BY s.seq",
                             error);
  if (stmt == NULL)
    goto fail;
  fc_bind_text (stmt, 1, fitting_id);
  sqlite3_bind_int64 (stmt, 2, g_get_real_time ());
  if (!fc_store_step_done (store, stmt, error))
    goto fail;
  if (!exec_text (store,
                  "DELETE FROM sync_set_aside WHERE ?1 IS NULL"
                  " OR shot_id IN (SELECT id FROM shots WHERE fitting_id = ?1)"
                  " OR shot_id NOT IN (SELECT id FROM shots)",
                  fitting_id, error))
    goto fail;
  return fc_store_commit (store, error);

fail:
  fc_store_rollback (store);
  return FALSE;
}

/* Whether @shot_id is one of the shots in @request's body. */
static gboolean
request_has_shot (const FcSyncRequest *request,
                  const char          *shot_id)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  gsize len;
  const char *data = g_bytes_get_data (request->body, &len);
  JsonNode *root;
  JsonArray *shots;

  if (!json_parser_load_from_data (parser, data, (gssize) len, NULL))
    return FALSE;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  shots = json_object_get_array_member (json_node_get_object (root), "shots");
  for (guint i = 0; shots != NULL && i < json_array_get_length (shots); i++)
    {
      JsonNode *e = json_array_get_element (shots, i);

      if (JSON_NODE_HOLDS_OBJECT (e) &&
          g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (e), "id", NULL),
                     shot_id) == 0)
        return TRUE;
    }
  return FALSE;
}

/*
 * The cloud takes a batch whole or not at all. One shot it will never
 * take (its rules are stricter than this agent's, or the shot is
 * damaged) must not hold back the fitting's other shots, its edits, its
 * completion and its video: that shot steps out of the queue, visibly,
 * and the batch is rebuilt without it (with a new idempotency key, since
 * the body changes).
 */
gboolean
fc_sync_queue_set_aside_shot (FcStore              *store,
                              const FcSyncRequest  *request,
                              const char           *shot_id,
                              const char           *code,
                              const char           *field,
                              const char           *reason,
                              gboolean             *set_aside,
                              GError              **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (FC_IS_STORE (store), FALSE);
  g_return_val_if_fail (request != NULL, FALSE);
  g_return_val_if_fail (set_aside != NULL, FALSE);

  *set_aside = FALSE;
  if (request_private (request, error) == NULL)
    return FALSE;
  if (request->kind != FC_SYNC_ADD_SHOTS || shot_id == NULL || request->body == NULL ||
      !request_has_shot (request, shot_id))
    return TRUE;

  if (!fc_store_begin (store, error))
    return FALSE;
  stmt = fc_store_statement (store,
                             "INSERT OR REPLACE INTO sync_set_aside (shot_id, code, field, reason, set_aside_at)"
                             " VALUES (?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    goto fail;
  fc_bind_text (stmt, 1, shot_id);
  fc_bind_text (stmt, 2, code);
  fc_bind_text (stmt, 3, field);
  fc_bind_text (stmt, 4, reason ? reason : "Refused by the cloud");
  sqlite3_bind_int64 (stmt, 5, g_get_real_time ());
  if (!fc_store_step_done (store, stmt, error))
    goto fail;

  /* A live shot's entry leaves the outbox (and its count); an imported
   * one counts as sent for its import, whose batches skip it from now on
   * (the pending count drops by trigger). */
  if (!exec_texts (store,
                   "UPDATE outbox_totals SET entries = entries -"
                   " (SELECT count(*) FROM outbox WHERE fitting_id = ?1 AND entity = 'shot'"
                   "  AND operation = 'create' AND entity_id = ?2)"
                   " WHERE entity = 'shot' AND operation = 'create'",
                   request->fitting_id, shot_id, error) ||
      !exec_texts (store,
                   "DELETE FROM outbox WHERE fitting_id = ?1 AND entity = 'shot'"
                   " AND operation = 'create' AND entity_id = ?2",
                   request->fitting_id, shot_id, error) ||
      !exec_texts (store,
                   "UPDATE outbox SET sent_count = sent_count + 1"
                   " WHERE fitting_id = ?1 AND entity = 'import' AND operation = 'create'"
                   " AND entity_id = (SELECT import_id FROM shots WHERE id = ?2)"
                   " AND coalesce(sent_seq, -1) < (SELECT seq FROM shots WHERE id = ?2)",
                   request->fitting_id, shot_id, error))
    goto fail;
  if (!fc_store_commit (store, error))
    return FALSE;
  g_message ("Sync: shot %s set aside: %s", shot_id, reason ? reason : "refused by the cloud");
  *set_aside = TRUE;
  return TRUE;

fail:
  fc_store_rollback (store);
  return FALSE;
}

/* ---- videos ----------------------------------------------------------------- */

static const char *
video_content_type (const char *path)
{
  static const struct { const char *suffix, *type; } types[] = {
    { ".mp4", "video/mp4" }, { ".m4v", "video/mp4" }, { ".mov", "video/quicktime" },
    { ".webm", "video/webm" }, { ".mkv", "video/x-matroska" }, { ".avi", "video/x-msvideo" },
  };
  g_autofree char *lower = g_ascii_strdown (path, -1);

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    if (g_str_has_suffix (lower, types[i].suffix))
      return types[i].type;
  return "application/octet-stream";
}

static gboolean
is_sha256_hex (const char *text)
{
  return text != NULL && strlen (text) == 64 && strspn (text, "0123456789abcdef") == 64;
}

gboolean
fc_sync_queue_add_video (FcStore     *store,
                         const char  *fitting_id,
                         const char  *video_id,
                         const char  *path,
                         const char  *sha256,
                         goffset      size,
                         GError     **error)
{
  sqlite3_stmt *stmt;
  gboolean exists;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (store), FALSE);
  g_return_val_if_fail (fitting_id != NULL && video_id != NULL && path != NULL, FALSE);

  if (!g_uuid_string_is_valid (video_id) || !is_sha256_hex (sha256) || size < 0 || *path == '\0')
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "Cannot queue the video %s: it needs a UUID, a file, its size and its SHA-256 "
                   "as 64 lowercase hex digits", path);
      return FALSE;
    }
  if (!fc_store_begin (store, error))
    return FALSE;
  if (!_fc_store_row_exists (store, "SELECT 1 FROM fittings WHERE id = ?", fitting_id, &exists, error))
    goto fail;
  if (!exists)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND, "No fitting with id %s", fitting_id);
      goto fail;
    }

  /* The same video again (a retried call) is not a second upload. */
  stmt = fc_store_statement (store,
                             "SELECT fitting_id = ? AND path = ? AND sha256 = ? AND size = ?"
                             " FROM videos WHERE id = ?", error);
  if (stmt == NULL)
    goto fail;
  fc_bind_text (stmt, 1, fitting_id);
  fc_bind_text (stmt, 2, path);
  fc_bind_text (stmt, 3, sha256);
  sqlite3_bind_int64 (stmt, 4, size);
  fc_bind_text (stmt, 5, video_id);
  rc = sqlite3_step (stmt);
  exists = rc == SQLITE_ROW;
  if (exists && !sqlite3_column_int (stmt, 0))
    {
      sqlite3_reset (stmt);
      g_set_error (error, FC_ERROR, FC_ERROR_CONFLICT,
                   "Video %s is queued already with another file or fitting", video_id);
      goto fail;
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      fc_store_set_error (store, error, rc, "reading videos");
      goto fail;
    }
  if (exists)
    {
      fc_store_rollback (store);
      return TRUE;
    }

  stmt = fc_store_statement (store,
                             "INSERT INTO videos (id, fitting_id, path, sha256, size, content_type, created_at)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    goto fail;
  fc_bind_text (stmt, 1, video_id);
  fc_bind_text (stmt, 2, fitting_id);
  fc_bind_text (stmt, 3, path);
  fc_bind_text (stmt, 4, sha256);
  sqlite3_bind_int64 (stmt, 5, size);
  fc_bind_text (stmt, 6, video_content_type (path));
  sqlite3_bind_int64 (stmt, 7, g_get_real_time ());
  if (!fc_store_step_done (store, stmt, error) ||
      !fc_store_enqueue (store, "video", video_id, fitting_id, "create", NULL, error))
    goto fail;
  return fc_store_commit (store, error);

fail:
  fc_store_rollback (store);
  return FALSE;
}

gboolean
fc_sync_queue_save_upload (FcStore     *store,
                           const char  *video_id,
                           const char  *upload_url,
                           goffset      offset,
                           gint64       expires_at_us,
                           GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (FC_IS_STORE (store), FALSE);
  g_return_val_if_fail (video_id != NULL, FALSE);
  g_return_val_if_fail (offset >= 0, FALSE);

  if (!fc_store_begin (store, error))
    return FALSE;
  stmt = fc_store_statement (store,
                             "UPDATE videos SET upload_url = ?, upload_offset = ?, upload_expires_at = ?"
                             " WHERE id = ?", error);
  if (stmt == NULL)
    goto fail;
  fc_bind_text (stmt, 1, upload_url);
  sqlite3_bind_int64 (stmt, 2, upload_url ? offset : 0);
  if (upload_url && expires_at_us > 0)
    sqlite3_bind_int64 (stmt, 3, expires_at_us);
  fc_bind_text (stmt, 4, video_id);
  if (!fc_store_step_done (store, stmt, error))
    goto fail;
  if (sqlite3_changes (store->db) == 0)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND, "No queued video with id %s", video_id);
      goto fail;
    }
  return fc_store_commit (store, error);

fail:
  fc_store_rollback (store);
  return FALSE;
}
