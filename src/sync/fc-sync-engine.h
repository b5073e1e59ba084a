/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-sync-backoff.h"
#include "fc-sync-queue.h"

G_BEGIN_DECLS

/*
 * FcSyncEngine: drains the store's outbox to the cloud.
 *
 * The engine runs on a thread of its own with its own GMainContext, its
 * own FcStore connection and its own FcCloudClient, so neither SQLite nor
 * HTTP ever waits on the caller's main loop. It asks the queue
 * (fc-sync-queue.h) for the next request, sends it (a video: the tus
 * upload, then the attach call) and records the outcome; the state that
 * matters lives only in SQLite, so a killed engine just goes on where it
 * was when started again (the same Idempotency-Key for the same request,
 * the saved upload offset for a video).
 *
 * It wakes up when something is due (a timer), when another connection
 * commits to the database (PRAGMA data_version, looked at twice a
 * second), on fc_sync_engine_wake(), when the network comes back, and on
 * fc_sync_engine_sync_now(). Failures are retried after a full-jitter
 * exponential backoff (fc_sync_backoff_delay()), or later when the
 * server's Retry-After says so; refusals are parked until sync_now().
 *
 * Status is reported on the main context of the thread that made the
 * engine: the "status-changed" signal and the properties below.
 */

typedef enum {
  FC_SYNC_STATE_STOPPED,        /* not started, or stopped */
  FC_SYNC_STATE_STARTING,
  FC_SYNC_STATE_IDLE,           /* everything due is sent */
  FC_SYNC_STATE_SENDING,
  FC_SYNC_STATE_WAITING,        /* after a failure, until the next attempt */
  FC_SYNC_STATE_OFFLINE,        /* no network route to the cloud: paused */
  FC_SYNC_STATE_NEEDS_PAIRING,  /* not paired, or the pairing is gone: paused */
  FC_SYNC_STATE_FAILED,         /* the database cannot be used (last_error says why) */
} FcSyncState;

const char *fc_sync_state_to_string (FcSyncState state);   /* "idle", "needs-pairing", ... */

typedef struct {
  FcSyncState state;
  gboolean    online;            /* the last request got an answer, and the network is up */
  gboolean    paired;            /* a device token is in the keyring */
  guint       pending[FC_SYNC_N_KINDS];   /* as in FcSyncQueueStatus (shots count shots) */
  guint       parked;
  guint       set_aside;         /* shots the cloud refused one by one (the rest went on) */
  guint       waiting_for_key;
  gint64      oldest_created_at; /* µs since the epoch, 0 when nothing waits */
  gint64      last_success;      /* µs since the epoch of the last request the cloud applied; 0: none yet */
  gint64      next_attempt;      /* µs since the epoch; 0 when nothing is scheduled */
  char       *last_error;        /* for the fitter; NULL when the last attempt worked */
  guint64     sent_requests;     /* since the engine started */
  guint64     sent_shots;
  guint64     sent_videos;
} FcSyncStatus;

#define FC_TYPE_SYNC_STATUS (fc_sync_status_get_type ())
GType         fc_sync_status_get_type (void) G_GNUC_CONST;
FcSyncStatus *fc_sync_status_copy     (const FcSyncStatus *status);
void          fc_sync_status_free     (FcSyncStatus       *status);
guint         fc_sync_status_total_pending (const FcSyncStatus *status);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcSyncStatus, fc_sync_status_free)

typedef struct {
  const char      *db_path;
  const char      *cloud_url;
  const char      *ca_file;          /* NULL: the system's trust store */
  gboolean         no_proxy;
  gint64           backoff_base_us;  /* 0: FC_SYNC_BACKOFF_BASE_US */
  gint64           backoff_cap_us;   /* 0: FC_SYNC_BACKOFF_CAP_US */
  guint            poll_interval_ms; /* data_version checks; 0: 500 */
  GNetworkMonitor *network_monitor;  /* NULL: g_network_monitor_get_default () */
} FcSyncEngineOptions;

#define FC_TYPE_SYNC_ENGINE (fc_sync_engine_get_type ())
G_DECLARE_FINAL_TYPE (FcSyncEngine, fc_sync_engine, FC, SYNC_ENGINE, GObject)

/* Checks the options (FC_ERROR_INVALID_INPUT for a bad URL or CA file)
 * without starting anything. */
FcSyncEngine *fc_sync_engine_new      (const FcSyncEngineOptions *options,
                                       GError                   **error);

/* Starts the engine's thread. Problems after that (database, keyring,
 * network) show in the status, not here. */
void          fc_sync_engine_start    (FcSyncEngine *self);
/* Cancels what is in flight and joins the thread; nothing is lost (an
 * answer that does not come is a request sent again later). */
void          fc_sync_engine_stop     (FcSyncEngine *self);

/* Thread-safe, cheap: something new may be in the outbox. */
void          fc_sync_engine_wake     (FcSyncEngine *self);
/* Thread-safe: unparks everything, re-reads the pairing and sends all
 * that waits now, without waiting for backoff timers. */
void          fc_sync_engine_sync_now (FcSyncEngine *self);

/* sync_now(), then finishes once nothing more can be sent: TRUE when the
 * outbox is empty; otherwise FALSE with the reason (the first failure
 * that stopped it, or what is parked or waiting). For `fitclipctl sync
 * now`; progress comes through "status-changed". */
void          fc_sync_engine_drain_async  (FcSyncEngine        *self,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
gboolean      fc_sync_engine_drain_finish (FcSyncEngine        *self,
                                           GAsyncResult        *result,
                                           GError             **error);

/* The latest status (owned by @self, valid until the next main-context
 * iteration). */
const FcSyncStatus *fc_sync_engine_get_status        (FcSyncEngine *self);
FcSyncState         fc_sync_engine_get_state         (FcSyncEngine *self);
gboolean            fc_sync_engine_get_online        (FcSyncEngine *self);
gboolean            fc_sync_engine_get_needs_pairing (FcSyncEngine *self);
const char         *fc_sync_engine_get_last_error    (FcSyncEngine *self);
gint64              fc_sync_engine_get_last_success  (FcSyncEngine *self);
guint               fc_sync_engine_get_pending       (FcSyncEngine *self);
guint               fc_sync_engine_get_parked        (FcSyncEngine *self);
guint               fc_sync_engine_get_set_aside     (FcSyncEngine *self);

/* Signals:
 *   "status-changed" (FcSyncEngine *, const FcSyncStatus *status): after
 *     each change of the status, at most a few times a second while
 *     draining.
 * Properties (read-only, notified on change): "state" (FcSyncState as
 * int), "online", "needs-pairing", "last-error", "last-success" (gint64
 * µs), "pending" (all kinds), "parked", "set-aside". */

G_END_DECLS
