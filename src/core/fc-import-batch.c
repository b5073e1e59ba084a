/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-import"

#include "fc-import.h"

FcImportBatch *
fc_import_batch_new (void)
{
  FcImportBatch *batch = g_new0 (FcImportBatch, 1);

  batch->shots = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_shot_free);
  return batch;
}

void
fc_import_batch_free (FcImportBatch *batch)
{
  if (batch == NULL)
    return;
  g_free (batch->format);
  g_free (batch->format_label);
  g_free (batch->file_name);
  g_clear_pointer (&batch->header, g_bytes_unref);
  g_clear_pointer (&batch->shots, g_ptr_array_unref);
  /* batch->document is left alone: CSV batches never set it, and its
   * type and release belong to the JSON importer. */
  g_free (batch);
}
