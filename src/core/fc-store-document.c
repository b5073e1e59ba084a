/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-store"

#include "fc-store-private.h"

/* Whole fittings in and out of the store (export and our JSON import). */

FcFittingDocument *
fc_store_load_document (FcStore     *self,
                        const char  *fitting_id,
                        GError     **error)
{
  g_autoptr(FcFittingDocument) doc = fc_fitting_document_new ();
  g_autoptr(GPtrArray) configs = NULL;
  g_autoptr(GPtrArray) shots = NULL;

  g_return_val_if_fail (FC_IS_STORE (self), NULL);

  /* One read transaction: a consistent snapshot even while shots arrive. */
  if (!fc_store_exec (self, "BEGIN", error))
    return NULL;
  doc->fitting = fc_store_get_fitting (self, fitting_id, error);
  if (doc->fitting == NULL)
    goto fail;
  if (doc->fitting->customer_id)
    {
      doc->customer = fc_store_get_customer (self, doc->fitting->customer_id, error);
      if (doc->customer == NULL)
        goto fail;
    }
  configs = fc_store_list_configs (self, fitting_id, error);
  if (configs == NULL)
    goto fail;
  shots = fc_store_list_shots (self, fitting_id, error);
  if (shots == NULL)
    goto fail;
  fc_store_rollback (self);

  g_ptr_array_extend_and_steal (doc->configs, g_steal_pointer (&configs));
  g_ptr_array_extend_and_steal (doc->shots, g_steal_pointer (&shots));
  return g_steal_pointer (&doc);

fail:
  fc_store_rollback (self);
  return NULL;
}

/*
 * Restoring keeps every id, so importing a fitting into the database it
 * came from adds nothing, and into another database recreates it exactly.
 * Records that already exist are left as they are.
 */
gboolean
_fc_store_restore_document (FcStore            *self,
                            FcFittingDocument  *doc,
                            FcImportSummary    *summary,
                            GError            **error)
{
  gboolean exists;
  guint inserted = 0, duplicates = 0;

  if (!fc_store_begin (self, error))
    return FALSE;

  if (doc->customer)
    {
      if (!_fc_store_row_exists (self, "SELECT 1 FROM customers WHERE id = ?",
                                 doc->customer->id, &exists, error))
        goto fail;
      if (!exists && !_fc_store_insert_customer (self, doc->customer, error))
        goto fail;
    }

  if (!_fc_store_row_exists (self, "SELECT 1 FROM fittings WHERE id = ?",
                             doc->fitting->id, &exists, error))
    goto fail;
  if (!exists)
    {
      /* The active configuration is set after the configurations exist. */
      g_autofree char *active = g_steal_pointer (&doc->fitting->active_config_id);
      gboolean ok = _fc_store_insert_fitting (self, doc->fitting, error);

      doc->fitting->active_config_id = g_steal_pointer (&active);
      if (!ok)
        goto fail;
    }

  for (guint i = 0; i < doc->configs->len; i++)
    {
      FcClubConfig *c = g_ptr_array_index (doc->configs, i);

      if (!_fc_store_row_exists (self, "SELECT 1 FROM club_configs WHERE id = ?",
                                 c->id, &exists, error))
        goto fail;
      if (!exists && !_fc_store_insert_config (self, c, error))
        goto fail;
    }

  if (doc->fitting->active_config_id &&
      !fc_store_set_active_config (self, doc->fitting->id, doc->fitting->active_config_id, error))
    goto fail;

  for (guint i = 0; i < doc->shots->len; i++)
    {
      FcShot *s = g_ptr_array_index (doc->shots, i);
      FcAddResult result;

      if (!fc_shot_validate (s, error) || !_fc_store_insert_shot (self, s, TRUE, &result, error))
        {
          g_prefix_error (error, "shot %s: ", s->id);
          goto fail;
        }
      if (result == FC_ADD_INSERTED)
        inserted++;
      else
        duplicates++;
    }

  if (!fc_store_commit (self, error))
    return FALSE;

  fc_import_summary_clear (summary);
  summary->fitting_id = g_strdup (doc->fitting->id);
  summary->inserted = inserted;
  summary->duplicates = duplicates;
  return TRUE;

fail:
  fc_store_rollback (self);
  return FALSE;
}
