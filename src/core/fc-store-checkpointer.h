/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

/*
 * Copies the write-ahead log back into the database file on a thread of
 * its own, with its own connection, so that a commit never waits for a
 * checkpoint: SQLite's automatic checkpoint would run inside the commit
 * that crosses the threshold (about 60 ms after a 10,000-row import, and
 * the worst live-shot latencies). Durability does not depend on it: with
 * synchronous=FULL a commit is safe once the WAL is synced.
 */
typedef struct _FcStoreCheckpointer FcStoreCheckpointer;

/* Hooks itself to @db (disabling SQLite's own automatic checkpoints).
 * @vfs: the VFS @db was opened with, NULL for the default. */
FcStoreCheckpointer *fc_store_checkpointer_new  (sqlite3             *db,
                                                 const char          *path,
                                                 const char          *vfs);
/* Stops the thread (finishing a checkpoint in progress) and unhooks. */
void                 fc_store_checkpointer_free (FcStoreCheckpointer *self);

/* Checkpoints done so far, for tests and benchmarks. */
guint                fc_store_checkpointer_get_count (FcStoreCheckpointer *self);

G_END_DECLS
