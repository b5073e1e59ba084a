/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-sync-queue"

#include "config.h"

#include "fc-sync-queue-private.h"

#include <string.h>

/*
 * What the sync queue tells the status line, the tray and `fitclipctl
 * sync status`: counts (read every second, so from outbox_totals and
 * indexes, never by counting the outbox) and the list of what waits for
 * a person, with the cloud's reasons.
 */

void
fc_sync_queue_status_clear (FcSyncQueueStatus *status)
{
  g_clear_pointer (&status->last_error, g_free);
  memset (status, 0, sizeof *status);
}

static gboolean
read_totals (FcStore            *store,
             FcSyncQueueStatus  *status,
             GError            **error)
{
  sqlite3_stmt *stmt = fc_store_statement (store,
                                           "SELECT entity, operation, entries, shots FROM outbox_totals",
                                           error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      EntryType type = _fc_sync_entry_type ((const char *) sqlite3_column_text (stmt, 0),
                                            (const char *) sqlite3_column_text (stmt, 1));
      guint entries = MAX (0, sqlite3_column_int64 (stmt, 2));
      guint shots = MAX (0, sqlite3_column_int64 (stmt, 3));

      switch (type)
        {
        case ENTRY_FITTING_CREATE:
          status->pending[FC_SYNC_CREATE_FITTING] += entries;
          break;
        case ENTRY_SHOT_CREATE:
          status->pending[FC_SYNC_ADD_SHOTS] += entries;
          break;
        case ENTRY_IMPORT:
          status->pending[FC_SYNC_ADD_SHOTS] += shots;
          break;
        case ENTRY_FITTING_COMPLETE:
          status->pending[FC_SYNC_COMPLETE_FITTING] += entries;
          break;
        case ENTRY_VIDEO:
          status->pending[FC_SYNC_UPLOAD_VIDEO] += entries;
          break;
        case ENTRY_CUSTOMER:
        case ENTRY_CONFIG:
        case ENTRY_SHOT_UPDATE:
        case ENTRY_SHOT_MOVE:
        case ENTRY_FITTING_UPDATE:
        case ENTRY_UNKNOWN:
        default:
          status->pending[FC_SYNC_PATCH_FITTING] += entries;
          break;
        }
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (store, error, rc, "reading the outbox");
      return FALSE;
    }
  return TRUE;
}

gboolean
fc_sync_queue_get_status (FcStore            *store,
                          FcSyncQueueStatus  *status,
                          GError            **error)
{
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (store), FALSE);
  g_return_val_if_fail (status != NULL, FALSE);

  /* Called every second on outboxes of any size: counts come from
   * outbox_totals (kept by triggers), the rest from indexes. */
  memset (status, 0, sizeof *status);
  if (!fc_store_exec (store, "BEGIN", error))
    return FALSE;
  if (!read_totals (store, status, error))
    goto fail;

  stmt = fc_store_statement (store, "SELECT count(*) FROM outbox WHERE parked = 1", error);
  if (stmt == NULL)
    goto fail;
  rc = sqlite3_step (stmt);
  status->parked = rc == SQLITE_ROW ? sqlite3_column_int (stmt, 0) : 0;
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    goto sql_fail;

  stmt = fc_store_statement (store, "SELECT created_at FROM outbox ORDER BY id LIMIT 1", error);
  if (stmt == NULL)
    goto fail;
  rc = sqlite3_step (stmt);
  status->oldest_created_at = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    goto sql_fail;

  stmt = fc_store_statement (store,
                             "SELECT last_error FROM outbox WHERE failed_at IS NOT NULL"
                             " ORDER BY failed_at DESC LIMIT 1", error);
  if (stmt == NULL)
    goto fail;
  rc = sqlite3_step (stmt);
  status->last_error = rc == SQLITE_ROW ? fc_column_dup (stmt, 0) : NULL;
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    goto sql_fail;

  stmt = fc_store_statement (store, "SELECT count(*) FROM sync_set_aside", error);
  if (stmt == NULL)
    goto fail;
  rc = sqlite3_step (stmt);
  status->set_aside = rc == SQLITE_ROW ? sqlite3_column_int (stmt, 0) : 0;
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    goto sql_fail;

  stmt = fc_store_statement (store, "SELECT value FROM sync_state WHERE key = 'last_success_at'", error);
  if (stmt == NULL)
    goto fail;
  rc = sqlite3_step (stmt);
  status->last_success_at = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    goto sql_fail;

  if (fc_store_get_field_cipher (store) == NULL)
    {
      g_autoptr(GPtrArray) candidates = _fc_sync_list_candidates (store, NULL, error);

      if (candidates == NULL)
        goto fail;
      for (guint i = 0; i < candidates->len; i++)
        if (((Candidate *) g_ptr_array_index (candidates, i))->customer_id != NULL)
          status->waiting_for_key++;
    }
  fc_store_rollback (store);
  return TRUE;

sql_fail:
  fc_store_set_error (store, error, rc, "reading the outbox");
fail:
  fc_store_rollback (store);
  fc_sync_queue_status_clear (status);
  return FALSE;
}

void
fc_sync_problem_free (FcSyncProblem *problem)
{
  if (problem == NULL)
    return;
  g_free (problem->fitting_id);
  g_free (problem->shot_id);
  g_free (problem->what);
  g_free (problem->reason);
  g_free (problem);
}

/* What a parked entry stands for, in the fitter's words. */
static char *
describe_entry (const char *entity,
                const char *operation,
                const char *entity_id)
{
  switch (_fc_sync_entry_type (entity, operation))
    {
    case ENTRY_FITTING_CREATE:
      return g_strdup ("the fitting's creation");
    case ENTRY_FITTING_UPDATE:
      return g_strdup ("changes to the fitting");
    case ENTRY_FITTING_COMPLETE:
      return g_strdup ("the fitting's completion");
    case ENTRY_CUSTOMER:
      return g_strdup ("the customer's details");
    case ENTRY_CONFIG:
      return g_strdup_printf ("club configuration %s", entity_id);
    case ENTRY_SHOT_CREATE:
    case ENTRY_IMPORT:
      return g_strdup ("shots");
    case ENTRY_SHOT_UPDATE:
      return g_strdup_printf ("changes to shot %s", entity_id);
    case ENTRY_SHOT_MOVE:
      return g_strdup_printf ("the move of shot %s", entity_id);
    case ENTRY_VIDEO:
      return g_strdup ("the recap video");
    case ENTRY_UNKNOWN:
    default:
      return g_strdup_printf ("%s %s", entity, operation);
    }
}

static gint
compare_problems (gconstpointer a,
                  gconstpointer b)
{
  const FcSyncProblem *pa = *(FcSyncProblem * const *) a;
  const FcSyncProblem *pb = *(FcSyncProblem * const *) b;

  return pa->at < pb->at ? 1 : pa->at > pb->at ? -1 : 0;
}

GPtrArray *
fc_sync_queue_list_problems (FcStore  *store,
                             guint     limit,
                             GError  **error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_sync_problem_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (store), NULL);

  if (!fc_store_exec (store, "BEGIN", error))
    return NULL;
  /* A parked fitting holds back its later entries too; those are not
   * problems of their own: only parked entries count. */
  stmt = fc_store_statement (store,
                             /* A customer's entry heads the queue of the fitting
                              * that carries it (the oldest with entries). */
                             "SELECT o.id, coalesce(o.fitting_id,"
                             "  (SELECT f.id FROM fittings f JOIN outbox x ON x.fitting_id = f.id"
                             "   WHERE f.customer_id = o.entity_id ORDER BY x.id LIMIT 1)),"
                             " o.entity, o.operation, o.entity_id, o.last_error, coalesce(o.failed_at, o.created_at)"
                             " FROM outbox o WHERE o.parked = 1 ORDER BY o.failed_at DESC LIMIT ?", error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int (stmt, 1, (int) MIN (limit, G_MAXINT));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      FcSyncProblem *p = g_new0 (FcSyncProblem, 1);

      p->outbox_id = sqlite3_column_int64 (stmt, 0);
      p->fitting_id = fc_column_dup (stmt, 1);
      p->what = describe_entry ((const char *) sqlite3_column_text (stmt, 2),
                                (const char *) sqlite3_column_text (stmt, 3),
                                (const char *) sqlite3_column_text (stmt, 4));
      p->reason = fc_column_dup (stmt, 5);
      p->at = sqlite3_column_int64 (stmt, 6);
      g_ptr_array_add (list, p);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    goto sql_fail;

  stmt = fc_store_statement (store,
                             "SELECT a.shot_id, s.fitting_id, a.reason, a.set_aside_at"
                             " FROM sync_set_aside a LEFT JOIN shots s ON s.id = a.shot_id"
                             " ORDER BY a.set_aside_at DESC LIMIT ?", error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int (stmt, 1, (int) MIN (limit, G_MAXINT));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      FcSyncProblem *p = g_new0 (FcSyncProblem, 1);

      p->shot_id = fc_column_dup (stmt, 0);
      p->fitting_id = fc_column_dup (stmt, 1);
      p->what = g_strdup_printf ("shot %s", p->shot_id);
      p->reason = fc_column_dup (stmt, 2);
      p->at = sqlite3_column_int64 (stmt, 3);
      g_ptr_array_add (list, p);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    goto sql_fail;
  fc_store_rollback (store);

  g_ptr_array_sort (list, compare_problems);
  if (list->len > limit)
    g_ptr_array_set_size (list, limit);
  return g_steal_pointer (&list);

sql_fail:
  fc_store_set_error (store, error, rc, "reading what sync could not send");
fail:
  fc_store_rollback (store);
  return NULL;
}
