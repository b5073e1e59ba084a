/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-store"

#include "config.h"

#include "fc-store-checkpointer.h"

/* A checkpoint is worth doing past SQLite's own default threshold (about
 * 4 MB of log with 4 KiB pages), but it waits for a pause in the commits
 * (a checkpoint's writes and fsyncs slow the writer's own when they run
 * at the same time: 15 % of a busy bay's ingest, measured), unless the
 * log has grown past the hard limit. */
#define CHECKPOINT_PAGES 1000
#define CHECKPOINT_HARD_PAGES 16000
#define CHECKPOINT_IDLE_US (200 * 1000)

struct _FcStoreCheckpointer {
  sqlite3  *db;          /* the store's connection: only for the hook */
  char     *path;
  char     *vfs;
  GThread  *thread;
  GMutex    lock;
  GCond     wake;
  gboolean  pending;     /* under lock */
  gboolean  stopping;    /* under lock */
  guint     count;       /* under lock */
  gint64    last_commit; /* under lock: monotonic µs */
  int       wal_pages;   /* under lock: at the last commit */
};

static sqlite3 *
open_connection (FcStoreCheckpointer *self)
{
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2 (self->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, self->vfs);

  if (rc != SQLITE_OK)
    {
      g_warning ("Cannot open %s to checkpoint it: %s", self->path,
                 db ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
      sqlite3_close (db);
      return NULL;
    }
  /* A checkpoint never needs to wait: PASSIVE skips what readers hold. */
  sqlite3_busy_timeout (db, 0);
  sqlite3_exec (db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
  return db;
}

static gpointer
checkpoint_thread (gpointer data)
{
  FcStoreCheckpointer *self = data;
  sqlite3 *db = NULL;

  g_mutex_lock (&self->lock);
  for (;;)
    {
      int rc, log_frames = 0, done_frames = 0;

      while (!self->pending && !self->stopping)
        g_cond_wait (&self->wake, &self->lock);
      /* Wait for a pause in the commits (see CHECKPOINT_IDLE_US). */
      while (!self->stopping && self->wal_pages < CHECKPOINT_HARD_PAGES &&
             g_get_monotonic_time () < self->last_commit + CHECKPOINT_IDLE_US)
        g_cond_wait_until (&self->wake, &self->lock, self->last_commit + CHECKPOINT_IDLE_US);
      if (self->stopping)
        break;
      self->pending = FALSE;
      g_mutex_unlock (&self->lock);

      if (db == NULL)
        db = open_connection (self);
      rc = db ? sqlite3_wal_checkpoint_v2 (db, "main", SQLITE_CHECKPOINT_PASSIVE,
                                           &log_frames, &done_frames)
              : SQLITE_CANTOPEN;
      /* BUSY only means another checkpoint is running; the next commit
       * over the threshold asks again. Anything else is worth a line in
       * the log but never stops the agent: the WAL just grows. */
      if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_CANTOPEN)
        g_message ("Checkpoint of %s failed: %s", self->path, sqlite3_errstr (rc));

      g_mutex_lock (&self->lock);
      if (rc == SQLITE_OK)
        self->count++;
    }
  g_mutex_unlock (&self->lock);

  sqlite3_close (db);
  return NULL;
}

static int
on_wal_commit (void       *data,
               sqlite3    *db,
               const char *name,
               int         pages)
{
  FcStoreCheckpointer *self = data;

  g_mutex_lock (&self->lock);
  self->last_commit = g_get_monotonic_time ();
  self->wal_pages = pages;
  if (pages < CHECKPOINT_PAGES)
    {
      g_mutex_unlock (&self->lock);
      return SQLITE_OK;
    }
  if (self->thread == NULL)
    self->thread = g_thread_new ("fc-checkpoint", checkpoint_thread, self);
  /* Once asked, the thread watches last_commit on its own: no wake-up
   * (and context switch) per commit. */
  if (!self->pending)
    {
      self->pending = TRUE;
      g_cond_signal (&self->wake);
    }
  g_mutex_unlock (&self->lock);
  return SQLITE_OK;
}

FcStoreCheckpointer *
fc_store_checkpointer_new (sqlite3    *db,
                           const char *path,
                           const char *vfs)
{
  FcStoreCheckpointer *self = g_new0 (FcStoreCheckpointer, 1);

  self->db = db;
  self->path = g_strdup (path);
  self->vfs = g_strdup (vfs);
  g_mutex_init (&self->lock);
  g_cond_init (&self->wake);
  /* Replaces SQLite's automatic checkpoint, which is a WAL hook too. */
  sqlite3_wal_hook (db, on_wal_commit, self);
  return self;
}

void
fc_store_checkpointer_free (FcStoreCheckpointer *self)
{
  GThread *thread;

  if (self == NULL)
    return;

  sqlite3_wal_hook (self->db, NULL, NULL);
  g_mutex_lock (&self->lock);
  self->stopping = TRUE;
  g_cond_signal (&self->wake);
  thread = g_steal_pointer (&self->thread);
  g_mutex_unlock (&self->lock);
  if (thread)
    g_thread_join (thread);

  g_mutex_clear (&self->lock);
  g_cond_clear (&self->wake);
  g_free (self->path);
  g_free (self->vfs);
  g_free (self);
}

guint
fc_store_checkpointer_get_count (FcStoreCheckpointer *self)
{
  guint count;

  g_mutex_lock (&self->lock);
  count = self->count;
  g_mutex_unlock (&self->lock);
  return count;
}
