/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * A folder where exported CSV/JSON files are dropped (by the fitter, or
 * by launch-monitor software set to export there). Each file is imported
 * with the core importers into the bay's practice session, once it has
 * stopped growing, and then moved to imported/ — or to failed/ with a
 * FILE.error.txt saying why. Nothing is deleted.
 */
#define FC_TYPE_DROP_FOLDER (fc_drop_folder_get_type ())
G_DECLARE_FINAL_TYPE (FcDropFolder, fc_drop_folder, FC, DROP_FOLDER, GObject)

FcDropFolder *fc_drop_folder_new   (const char    *db_path,
                                    const char    *folder,
                                    const char    *bay);
gboolean      fc_drop_folder_start (FcDropFolder  *self,
                                    GError       **error);
void          fc_drop_folder_stop  (FcDropFolder  *self);
/* Scans now instead of at the next tick. */
void          fc_drop_folder_scan  (FcDropFolder  *self);

G_END_DECLS
