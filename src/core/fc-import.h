/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-shot.h"

G_BEGIN_DECLS

/*
 * The result of parsing one export file, before anything touches the
 * store. Parsing is a pure function of the bytes, so the same file always
 * gives the same batch; the store writes a batch in one transaction.
 */
typedef struct {
  char      *format;          /* machine name, e.g. "trackman-tps" */
  char      *format_label;    /* for people, e.g. "TrackMan TPS CSV export" */
  char      *file_name;       /* display name used in messages */
  GBytes    *header;          /* header lines (and units row) verbatim, for re-parsing */
  GPtrArray *shots;           /* of FcShot*, in file order */
  guint      dropped_values;  /* placeholder values dropped (see fc_shot_drop_orphan_values) */
  /* Set only for our own JSON format: the whole fitting document. */
  struct _FcFittingDocument *document;
} FcImportBatch;

FcImportBatch *fc_import_batch_new  (void);
void           fc_import_batch_free (FcImportBatch *batch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcImportBatch, fc_import_batch_free)

/* Detect the format and parse. @display_name is used in error messages
 * ("driver.csv, line 12, column 'Ball Speed': ..."). */
FcImportBatch *fc_import_parse_bytes (const char  *display_name,
                                      GBytes      *bytes,
                                      GError     **error);
FcImportBatch *fc_import_parse_file  (GFile       *file,
                                      GCancellable *cancellable,
                                      GError     **error);

/* CSV exports of launch-monitor software (fc-import-csv.c). */
FcImportBatch *fc_import_csv_parse   (const char  *display_name,
                                      GBytes      *bytes,
                                      GError     **error);

G_END_DECLS
