/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-hub.h"

G_BEGIN_DECLS

/*
 * Foresight FSX 2020 writes LastShot.CSV again (replacing it) about 5 s
 * after every shot. The watcher follows that file — through file-system
 * notifications and a once-a-second check for shares where notifications
 * do not work — and hands each new shot to the hub. A rewrite with the
 * same shot, a half-written file or the file vanishing loses nothing and
 * stores nothing twice.
 */
#define FC_TYPE_LASTSHOT_WATCHER (fc_lastshot_watcher_get_type ())
G_DECLARE_FINAL_TYPE (FcLastShotWatcher, fc_lastshot_watcher, FC, LASTSHOT_WATCHER, GObject)

FcLastShotWatcher *fc_lastshot_watcher_new   (FcHub       *hub,
                                              const char  *path);
gboolean           fc_lastshot_watcher_start (FcLastShotWatcher *self,
                                              GError           **error);
void               fc_lastshot_watcher_stop  (FcLastShotWatcher *self);
/* Looks at the file now instead of at the next tick. */
void               fc_lastshot_watcher_check (FcLastShotWatcher *self);
guint              fc_lastshot_watcher_get_submitted (FcLastShotWatcher *self);

G_END_DECLS
