/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "keyring-session.h"
#include "sync-cloud.h"

G_BEGIN_DECLS

/*
 * A shop PC for the whole-system sync tests and the sync benchmark: a
 * private keyring, a temporary folder with the agent's database and an
 * agent.conf, and a devcloud. Programs run with the keyring's bus, the
 * folder as XDG_CONFIG_HOME, no FITCLIP_CLOUD/FITCLIP_DB from outside,
 * and die with the test.
 */
typedef struct {
  KeyringSession *keyring;
  SyncCloud      *cloud;
  char           *dir;
  char           *db;
  char           *config;   /* agent.conf: [agent] bay=Bay 1 */
  char           *log;      /* where the agent writes */
} SyncBay;

/* NULL (and @error) when no keyring can be started here. */
SyncBay             *sync_bay_new          (const char *const *cloud_args,
                                            GError           **error);
void                 sync_bay_free         (SyncBay           *bay);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SyncBay, sync_bay_free)

GSubprocessLauncher *sync_bay_launcher     (SyncBay           *bay,
                                            GSubprocessFlags   flags);
/* Runs a program to completion and returns its stdout; a failure ends
 * the test with its stderr. */
char                *sync_bay_run          (SyncBay           *bay,
                                            const char        *first_arg,
                                            ...) G_GNUC_NULL_TERMINATED;
/* Pairs the bay's database with its cloud (fitclipctl pair CODE). */
void                 sync_bay_pair         (SyncBay           *bay);
/* fitclip-agent --headless on the bay's database and cloud, writing to
 * bay->log; @extra_args (may be NULL) are added. */
GSubprocess         *sync_bay_start_agent  (SyncBay           *bay,
                                            const char *const *extra_args);

G_END_DECLS
