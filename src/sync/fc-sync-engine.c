/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-sync-engine"

#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "fc-cloud-answer.h"
#include "fc-cloud-client.h"
#include "fc-error.h"
#include "fc-pii-unlock.h"
#include "fc-store.h"
#include "fc-sync-engine.h"
#include "fc-tus-upload.h"

/* "Sync now" looks this far ahead, so entries waiting for a retry are
 * due at once. Every delay the engine sets is shorter (backoff cap and
 * Retry-After are clamped to an hour). */
#define FORCE_LOOKAHEAD_US     (G_GINT64_CONSTANT (24 * 3600) * G_USEC_PER_SEC)
#define MAX_DELAY_US           (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)
/* A timer never sleeps longer than this, so a clock that jumps cannot
 * hold sync back for long. */
#define MAX_TIMER_MS           (60 * 1000)
#define PUBLISH_INTERVAL_US    (250 * 1000)
#define PAIRING_RECHECK_US     (5 * G_USEC_PER_SEC)
#define NETWORK_RECHECK_US     (30 * G_USEC_PER_SEC)
#define PII_RECHECK_US         (60 * G_USEC_PER_SEC)
#define STORE_RETRY_US         (5 * G_USEC_PER_SEC)
#define STOP_DRAIN_US          (5 * G_USEC_PER_SEC)
/* An ordering refusal (404 fitting_not_found, 422 unknown_config...)
 * means the cloud has not caught up yet, and the queue's order brings
 * what is missing. Still refused after this many tries (about ten
 * minutes of backoff), the cloud has lost it: parked, for a person. */
#define ORDERING_PATIENCE      12

/* ------------------------------------------------------------------ */
/* Pure parts */

const char *
fc_sync_state_to_string (FcSyncState state)
{
  switch (state)
    {
    case FC_SYNC_STATE_STOPPED: return "stopped";
    case FC_SYNC_STATE_STARTING: return "starting";
    case FC_SYNC_STATE_IDLE: return "idle";
    case FC_SYNC_STATE_SENDING: return "sending";
    case FC_SYNC_STATE_WAITING: return "waiting";
    case FC_SYNC_STATE_OFFLINE: return "offline";
    case FC_SYNC_STATE_NEEDS_PAIRING: return "needs-pairing";
    case FC_SYNC_STATE_FAILED: return "failed";
    default: return "unknown";
    }
}

FcSyncStatus *
fc_sync_status_copy (const FcSyncStatus *status)
{
  FcSyncStatus *copy;

  g_return_val_if_fail (status != NULL, NULL);

  copy = g_memdup2 (status, sizeof *status);
  copy->last_error = g_strdup (status->last_error);
  return copy;
}

void
fc_sync_status_free (FcSyncStatus *status)
{
  if (status == NULL)
    return;
  g_free (status->last_error);
  g_free (status);
}

G_DEFINE_BOXED_TYPE (FcSyncStatus, fc_sync_status, fc_sync_status_copy, fc_sync_status_free)

guint
fc_sync_status_total_pending (const FcSyncStatus *status)
{
  guint total = 0;

  g_return_val_if_fail (status != NULL, 0);
  for (guint i = 0; i < FC_SYNC_N_KINDS; i++)
    total += status->pending[i];
  return total;
}

/* ------------------------------------------------------------------ */
/* The worker: everything that runs on the engine's thread */

typedef enum {
  PAIRING_UNKNOWN,     /* not read yet, or the keyring cannot be read */
  PAIRING_PAIRED,
  PAIRING_NONE,        /* not paired, the pairing is gone, or sign-in refused */
} PairingState;

typedef struct _Worker Worker;

struct _Worker
{
  gatomicrefcount  ref;
  GWeakRef         engine;
  GMainContext    *owner_context;
  GMainContext    *context;
  GMainLoop       *loop;
  GCancellable    *cancellable;

  /* Options, fixed before the thread starts. */
  char            *db_path;
  char            *cloud_url;
  char            *ca_file;
  gboolean         no_proxy;
  gint64           base_us;
  gint64           cap_us;
  guint            poll_ms;
  GNetworkMonitor *monitor;

  /* Set from any thread. */
  gint             wake_pending;
  gint             sync_now_pending;
  gint             drain_pending;
  gint             network_pending;
  gint             stopping;

  /* Only on the worker's thread from here on. */
  FcStore         *store;
  sqlite3         *watch;           /* a second connection, for PRAGMA data_version */
  gint64           data_version;
  FcSecretStore   *secrets;
  FcCloudClient   *client;
  GRand           *rand;
  GSource         *timer;
  GSource         *tick;
  gulong           monitor_handler;
  GSocketConnectable *cloud_address;

  gboolean         busy;            /* a request (or a check) is in flight */
  gboolean         force;           /* a "sync now" pass */
  gboolean         draining;        /* ... that a drain waits for */
  char            *force_failure;   /* why the pass stopped early */
  gboolean         network_up;
  gboolean         checking_network;
  gint64           network_checked_at;
  PairingState     pairing;
  gboolean         checking_pairing;
  gint64           pairing_checked_at;
  guint            refused_serial;  /* the token whose sign-in the cloud refused; 0: none */
  char            *pairing_message;
  gint64           pii_checked_at;
  gint64           store_failed_at;
  gint64           store_retry_at;  /* monotonic: after the database failed, not before */

  FcSyncRequest   *request;
  FcTusUpload     *upload;
  gboolean         upload_refreshed;

  char            *last_error;      /* the engine's own, cleared by a success */
  FcSyncStatus     status;
  gboolean         status_dirty;
  gint64           published_at;
};

static Worker *
worker_ref (Worker *w)
{
  g_atomic_ref_count_inc (&w->ref);
  return w;
}

static void
worker_unref (gpointer data)
{
  Worker *w = data;

  if (!g_atomic_ref_count_dec (&w->ref))
    return;
  g_assert (w->store == NULL && w->client == NULL);
  g_weak_ref_clear (&w->engine);
  g_main_context_unref (w->owner_context);
  g_main_loop_unref (w->loop);
  g_main_context_unref (w->context);
  g_object_unref (w->cancellable);
  g_clear_object (&w->monitor);
  g_free (w->db_path);
  g_free (w->cloud_url);
  g_free (w->ca_file);
  g_free (w->force_failure);
  g_free (w->pairing_message);
  g_free (w->last_error);
  g_free (w->status.last_error);
  g_free (w);
}

static void
worker_closure_unref (gpointer  data,
                      GClosure *closure)
{
  worker_unref (data);
}

/* Runs @func on the worker's thread; with @flag, only once until it ran. */
static void
worker_post (Worker      *w,
             gint        *flag,
             GSourceFunc  func)
{
  GSource *source;

  if (flag != NULL && !g_atomic_int_compare_and_exchange (flag, 0, 1))
    return;
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, worker_ref (w), worker_unref);
  g_source_attach (source, w->context);
  g_source_unref (source);
}

static void pump (Worker *w);
static void publish (Worker *w, gboolean now, gboolean drain_done, gboolean drain_ok, const char *drain_error);

static void
set_last_error (Worker     *w,
                const char *message)
{
  if (g_strcmp0 (w->last_error, message) == 0)
    return;
  g_free (w->last_error);
  w->last_error = g_strdup (message);
  if (message != NULL)
    g_message ("%s", message);
  w->status_dirty = TRUE;
}

static void
set_state (Worker      *w,
           FcSyncState  state)
{
  if (w->status.state == state)
    return;
  w->status.state = state;
  w->status_dirty = TRUE;
}

static char *
describe_request (const FcSyncRequest *request)
{
  const char *fitting = request->fitting_id ? request->fitting_id : "?";

  switch (request->kind)
    {
    case FC_SYNC_CREATE_FITTING:
      return g_strdup_printf ("Creating fitting %.8s", fitting);
    case FC_SYNC_ADD_SHOTS:
      return g_strdup_printf ("Sending %u shot%s of fitting %.8s", request->n_shots,
                              request->n_shots == 1 ? "" : "s", fitting);
    case FC_SYNC_PATCH_FITTING:
      return g_strdup_printf ("Sending changes to fitting %.8s", fitting);
    case FC_SYNC_COMPLETE_FITTING:
      return g_strdup_printf ("Completing fitting %.8s", fitting);
    case FC_SYNC_UPLOAD_VIDEO:
      return g_strdup_printf ("Uploading the recap video of fitting %.8s", fitting);
    case FC_SYNC_N_KINDS:
    default:
      return g_strdup_printf ("Syncing fitting %.8s", fitting);
    }
}

/* ---- the end of a "sync now" pass --------------------------------- */

static void
end_forced (Worker     *w,
            const char *failure)
{
  g_autoptr(GError) error = NULL;
  FcSyncQueueStatus qs = { 0 };
  g_autofree char *reason = NULL;
  guint pending = 0;

  if (!w->force)
    return;
  w->force = FALSE;
  if (!w->draining)
    return;
  w->draining = FALSE;

  if (failure != NULL)
    reason = g_strdup (failure);
  else if (w->store == NULL || !fc_sync_queue_get_status (w->store, &qs, &error))
    reason = g_strdup (error ? error->message : w->last_error);
  else
    {
      for (guint i = 0; i < FC_SYNC_N_KINDS; i++)
        pending += qs.pending[i];
      if (qs.parked > 0)
        reason = g_strdup_printf ("%u change%s parked: %s", qs.parked, qs.parked == 1 ? " is" : "s are",
                                  qs.last_error ? qs.last_error : "refused by the cloud");
      else if (qs.set_aside > 0)
        {
          g_autoptr(GPtrArray) latest = fc_sync_queue_list_problems (w->store, 1, NULL);
          FcSyncProblem *p = latest && latest->len > 0 ? g_ptr_array_index (latest, 0) : NULL;

          reason = g_strdup_printf ("%u shot%s refused by the cloud (the rest was sent): %s%s%s", qs.set_aside,
                                    qs.set_aside == 1 ? " was" : "s were", p ? p->what : "",
                                    p ? ": " : "", p && p->reason ? p->reason : "see fitclipctl sync status");
        }
      else if (qs.waiting_for_key > 0)
        reason = g_strdup_printf ("%u fitting%s wait%s for the key to their customers' details "
                                  "(unlock the keyring)", qs.waiting_for_key,
                                  qs.waiting_for_key == 1 ? "" : "s", qs.waiting_for_key == 1 ? "s" : "");
      else if (pending > 0)
        reason = g_strdup_printf ("%u change%s not sent: %s", pending, pending == 1 ? " was" : "s were",
                                  qs.last_error ? qs.last_error : "still waiting");
      fc_sync_queue_status_clear (&qs);
    }
  publish (w, TRUE, TRUE, reason == NULL, reason);
}

/* ---- status -------------------------------------------------------- */

typedef struct {
  Worker       *worker;
  FcSyncStatus *status;
  gboolean      drain_done;
  gboolean      drain_ok;
  char         *drain_error;
} Update;

static void
update_free (Update *u)
{
  worker_unref (u->worker);
  fc_sync_status_free (u->status);
  g_free (u->drain_error);
  g_free (u);
}

static gboolean engine_apply_update (gpointer data);

static void
publish (Worker     *w,
         gboolean    now,
         gboolean    drain_done,
         gboolean    drain_ok,
         const char *drain_error)
{
  gint64 mono = g_get_monotonic_time ();
  FcSyncQueueStatus qs = { 0 };
  g_autoptr(GError) error = NULL;
  Update *u;
  GSource *source;

  if (!now && !drain_done && mono - w->published_at < PUBLISH_INTERVAL_US)
    {
      w->status_dirty = TRUE;
      return;
    }
  w->published_at = mono;
  w->status_dirty = FALSE;

  if (w->store != NULL && fc_sync_queue_get_status (w->store, &qs, &error))
    {
      memcpy (w->status.pending, qs.pending, sizeof w->status.pending);
      w->status.parked = qs.parked;
      w->status.set_aside = qs.set_aside;
      w->status.waiting_for_key = qs.waiting_for_key;
      /* The store remembers it across restarts. */
      w->status.last_success = MAX (w->status.last_success, qs.last_success_at);
      w->status.oldest_created_at = qs.oldest_created_at;
    }
  g_free (w->status.last_error);
  w->status.last_error = g_strdup (w->last_error ? w->last_error
                                   : error ? error->message : qs.last_error);
  w->status.online = w->network_up && w->status.online;
  w->status.paired = w->pairing == PAIRING_PAIRED;
  fc_sync_queue_status_clear (&qs);

  u = g_new0 (Update, 1);
  u->worker = worker_ref (w);
  u->status = fc_sync_status_copy (&w->status);
  u->drain_done = drain_done;
  u->drain_ok = drain_ok;
  u->drain_error = g_strdup (drain_error);
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, engine_apply_update, u, (GDestroyNotify) update_free);
  g_source_attach (source, w->owner_context);
  g_source_unref (source);
}

/* ---- pairing, network, customers' key ------------------------------ */

static void
on_pairing_loaded (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Worker *w = user_data;
  g_autoptr(GError) error = NULL;
  gboolean paired = fc_cloud_client_load_pairing_finish (FC_CLOUD_CLIENT (source), result, &error);

  w->checking_pairing = FALSE;
  w->pairing_checked_at = g_get_monotonic_time ();
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      worker_unref (w);
      return;
    }
  if (error != NULL)
    {
      g_autofree char *message = g_strdup_printf ("The keyring cannot be read, so this PC's pairing is "
                                                  "unknown: %s", error->message);
      w->pairing = PAIRING_UNKNOWN;
      g_free (w->pairing_message);
      w->pairing_message = g_steal_pointer (&message);
    }
  else if (paired && w->refused_serial != 0 &&
           w->refused_serial == fc_cloud_client_get_token_serial (FC_CLOUD_CLIENT (source)))
    {
      /* The same token the cloud refused: wait for a new pairing. */
    }
  else if (paired)
    {
      w->refused_serial = 0;
      w->pairing = PAIRING_PAIRED;
      g_clear_pointer (&w->pairing_message, g_free);
    }
  else
    {
      w->pairing = PAIRING_NONE;
      g_free (w->pairing_message);
      w->pairing_message = g_strdup_printf ("This PC is not paired with the cloud at %s: pair it with "
                                            "fitclipctl login or fitclipctl pair CODE", w->cloud_url);
    }
  w->status_dirty = TRUE;
  pump (w);
  worker_unref (w);
}

static void
check_pairing (Worker *w)
{
  if (w->checking_pairing || w->client == NULL)
    return;
  w->checking_pairing = TRUE;
  fc_cloud_client_load_pairing_async (w->client, w->cancellable, on_pairing_loaded, worker_ref (w));
}

static void
on_can_reach (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Worker *w = user_data;
  g_autoptr(GError) error = NULL;
  gboolean up = g_network_monitor_can_reach_finish (G_NETWORK_MONITOR (source), result, &error);
  gboolean was_up = w->network_up;

  w->checking_network = FALSE;
  w->network_checked_at = g_get_monotonic_time ();
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      worker_unref (w);
      return;
    }
  w->network_up = up;
  if (up != was_up)
    {
      g_message ("Network %s", up ? "back: sending what waits" : "gone: sync paused");
      w->status.online = up;
      w->status_dirty = TRUE;
    }
  /* Back online: what failed while offline need not wait out its backoff. */
  if (up && !was_up)
    w->force = TRUE;
  pump (w);
  worker_unref (w);
}

static void
check_network (Worker *w)
{
  if (w->checking_network || w->cloud_address == NULL || w->stopping)
    return;
  w->checking_network = TRUE;
  g_network_monitor_can_reach_async (w->monitor, w->cloud_address, w->cancellable, on_can_reach, worker_ref (w));
}

static gboolean
on_network_posted (gpointer data)
{
  Worker *w = data;

  g_atomic_int_set (&w->network_pending, 0);
  check_network (w);
  return G_SOURCE_REMOVE;
}

/* Emitted on whatever thread the monitor lives on. */
static void
on_network_changed (GNetworkMonitor *monitor,
                    gboolean         available,
                    gpointer         user_data)
{
  Worker *w = user_data;

  worker_post (w, &w->network_pending, on_network_posted);
}

static void
unlock_customers (Worker *w)
{
  g_autoptr(GError) error = NULL;

  w->pii_checked_at = g_get_monotonic_time ();
  if (w->store == NULL || fc_store_get_field_cipher (w->store) != NULL)
    return;
  /* Blocking, but on this thread: a keyring that waits for the user only
   * holds up sync, which cannot send those fittings anyway. */
  if (!fc_pii_unlock_store (w->store, w->secrets, w->cancellable, &error))
    g_message ("Customer details stay locked for sync (their fittings wait): %s", error->message);
}

/* ---- the store ----------------------------------------------------- */

static gboolean
open_store (Worker *w)
{
  g_autoptr(GError) error = NULL;
  int rc;

  w->store_failed_at = g_get_monotonic_time ();
  w->store = fc_store_open (w->db_path, &error);
  if (w->store == NULL)
    {
      g_autofree char *message = g_strdup_printf ("Sync cannot open the database: %s", error->message);

      set_last_error (w, message);
      set_state (w, FC_SYNC_STATE_FAILED);
      return FALSE;
    }
  /* PRAGMA data_version on this connection changes when any other
   * connection (the hub's, fitclipctl's, another process's) commits:
   * a cheap way to learn about new outbox rows without a hook into
   * every writer. */
  rc = sqlite3_open_v2 (w->db_path, &w->watch, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      g_message ("Cannot watch the database for changes (%s); new changes are seen by the timer",
                 sqlite3_errstr (rc));
      sqlite3_close (w->watch);
      w->watch = NULL;
    }
  else
    sqlite3_busy_timeout (w->watch, 100);
  unlock_customers (w);
  set_last_error (w, NULL);
  return TRUE;
}

static gboolean
data_version_changed (Worker *w)
{
  sqlite3_stmt *stmt = NULL;
  gboolean changed = FALSE;

  if (w->watch == NULL)
    return FALSE;
  if (sqlite3_prepare_v2 (w->watch, "PRAGMA data_version", -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 version = sqlite3_column_int64 (stmt, 0);

      changed = version != w->data_version;
      w->data_version = version;
    }
  sqlite3_finalize (stmt);
  return changed;
}

/* ---- settling a request -------------------------------------------- */

static void
store_failed (Worker  *w,
              GError  *error)
{
  g_autofree char *message = g_strdup_printf ("Sync cannot record its progress in the database: %s",
                                              error->message);

  set_last_error (w, message);
  /* A full disk or a damaged file does not heal in a millisecond: no
   * tight loop of failing writes. */
  w->store_retry_at = g_get_monotonic_time () + STORE_RETRY_US;
  end_forced (w, message);
}

static void
park (Worker              *w,
      const FcSyncRequest *request,
      const char          *reason)
{
  g_autoptr(GError) error = NULL;

  if (!fc_sync_queue_park (w->store, request, reason, &error))
    {
      store_failed (w, error);
      return;
    }
  w->status.online = TRUE;
  set_last_error (w, reason);
}

static void
settle (Worker                *w,
        const FcCloudResponse *r)
{
  g_autoptr(FcSyncRequest) request = g_steal_pointer (&w->request);
  g_autoptr(GError) error = NULL;
  g_autofree char *what = describe_request (request);
  g_autofree char *reason = g_strdup_printf ("%s: %s", what, r->message);
  gint64 now = g_get_real_time ();

  g_clear_object (&w->upload);
  w->busy = FALSE;
  switch (r->outcome)
    {
    case FC_CLOUD_SUCCESS:
      if (!fc_sync_queue_done (w->store, request, &error))
        {
          store_failed (w, error);
          break;
        }
      w->status.last_success = now;
      w->status.online = TRUE;
      w->status.sent_requests++;
      if (request->kind == FC_SYNC_ADD_SHOTS)
        w->status.sent_shots += request->n_shots;
      else if (request->kind == FC_SYNC_UPLOAD_VIDEO)
        w->status.sent_videos++;
      set_last_error (w, NULL);
      break;

    case FC_CLOUD_RETRY:
      if ((r->status == SOUP_STATUS_NOT_FOUND || r->status == 422) &&
          request->attempt_count + 1 >= ORDERING_PATIENCE)
        {
          g_autofree char *given_up = g_strdup_printf ("%s (still refused after %d tries)", reason,
                                                       request->attempt_count + 1);

          park (w, request, given_up);
          break;
        }
      {
        gint64 delay = fc_sync_backoff_delay (MAX (request->attempt_count, 0), w->base_us, w->cap_us, w->rand);

        /* The server knows best when it can take more. */
        if (r->retry_after >= 0)
          delay = MAX (delay, MIN (r->retry_after * G_USEC_PER_SEC, MAX_DELAY_US));
        if (!fc_sync_queue_retry_later (w->store, request, now + delay, reason, &error))
          {
            store_failed (w, error);
            break;
          }
        w->status.online = r->status != 0;
        set_last_error (w, reason);
        end_forced (w, reason);
      }
      break;

    case FC_CLOUD_REJECTED:
      if (request->kind == FC_SYNC_UPLOAD_VIDEO && g_strcmp0 (r->error_code, "video_mismatch") == 0 &&
          !fc_sync_queue_save_upload (w->store, request->video_id, NULL, 0, 0, &error))
        {
          store_failed (w, error);
          break;
        }
      if (request->kind == FC_SYNC_ADD_SHOTS && g_strcmp0 (r->error_code, "invalid_shot") == 0)
        {
          g_autoptr(FcCloudAnswer) answer = fc_cloud_answer_parse (r->body);
          gboolean set_aside = FALSE;

          /* One shot the cloud will not take: it alone waits. */
          if (!fc_sync_queue_set_aside_shot (w->store, request, answer->error_shot_id, r->error_code,
                                             answer->error_field, r->message, &set_aside, &error))
            {
              store_failed (w, error);
              break;
            }
          if (set_aside)
            {
              w->status.online = TRUE;
              set_last_error (w, reason);
              break;
            }
        }
      park (w, request, reason);
      break;

    case FC_CLOUD_UNAUTHORIZED:
    case FC_CLOUD_NEEDS_PAIRING:
      /* Nothing is recorded against the entry: it did nothing wrong, and
       * it goes as it is once this PC is paired again. */
      w->pairing = PAIRING_NONE;
      w->pairing_checked_at = g_get_monotonic_time ();
      if (r->outcome == FC_CLOUD_UNAUTHORIZED)
        w->refused_serial = fc_cloud_client_get_token_serial (w->client);
      g_free (w->pairing_message);
      w->pairing_message = g_strdup (r->message);
      w->status.online = TRUE;
      set_last_error (w, r->message);
      end_forced (w, r->message);
      break;
    }
  publish (w, FALSE, FALSE, FALSE, NULL);
  pump (w);
}

static void
settle_cancelled (Worker *w)
{
  g_clear_pointer (&w->request, fc_sync_request_free);
  g_clear_object (&w->upload);
  w->busy = FALSE;
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Worker *w = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCloudResponse) r = fc_cloud_client_send_finish (FC_CLOUD_CLIENT (source), result, &error);

  if (r == NULL)
    settle_cancelled (w);
  else
    settle (w, r);
  worker_unref (w);
}

static void
send_request (Worker *w,
              GBytes *body)
{
  fc_cloud_client_send_async (w->client, w->request->method, w->request->path, body,
                              w->request->idempotency_key, w->cancellable, on_sent, worker_ref (w));
}

/* ---- videos: tus, then the attach call ------------------------------ */

static JsonObject *
attach_object (const FcSyncRequest *request,
               JsonNode           **root)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len = 0;
  const char *data = request->body ? g_bytes_get_data (request->body, &len) : NULL;

  *root = NULL;
  if (data == NULL || !json_parser_load_from_data (parser, data, len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  *root = json_node_ref (json_parser_get_root (parser));
  return json_node_get_object (*root);
}

static void
settle_with (Worker         *w,
             FcCloudOutcome  outcome,
             guint           status,
             gint64          retry_after,
             const char     *message)
{
  FcCloudResponse r = { 0 };

  r.outcome = outcome;
  r.status = status;
  r.retry_after = retry_after;
  r.message = (char *) message;
  settle (w, &r);
}

static void
on_upload_state_changed (FcTusUpload      *upload,
                         const FcTusState *state,
                         gpointer          user_data)
{
  Worker *w = user_data;
  g_autoptr(GError) error = NULL;

  if (w->request == NULL)
    return;
  /* Saved at every acknowledged offset: a restart resumes here. */
  if (!fc_sync_queue_save_upload (w->store, w->request->video_id, state->upload_url, (goffset) state->offset,
                                  state->expires_at * G_USEC_PER_SEC, &error))
    g_message ("Cannot save the upload's progress (it will start over after a restart): %s", error->message);
}

static void
add_access_token (FcTusUpload *upload,
                  SoupMessage *message,
                  gpointer     user_data)
{
  fc_cloud_client_authorize (FC_CLOUD_CLIENT (user_data), message);
}

static void run_upload (Worker *w, gboolean force_token);

static void
on_uploaded (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Worker *w = user_data;
  FcTusUpload *upload = FC_TUS_UPLOAD (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonObject *attach;

  if (!fc_tus_upload_run_finish (upload, result, &error))
    {
      guint retry_after = fc_tus_upload_get_retry_after (upload);
      g_autoptr(GError) save_error = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || w->stopping)
        settle_cancelled (w);
      else if (g_error_matches (error, FC_ERROR, FC_ERROR_UNAUTHORIZED) && !w->upload_refreshed)
        {
          w->upload_refreshed = TRUE;
          run_upload (w, TRUE);
        }
      else if (g_error_matches (error, FC_ERROR, FC_ERROR_UNAUTHORIZED))
        settle_with (w, FC_CLOUD_UNAUTHORIZED, 401, -1, error->message);
      else if (g_error_matches (error, FC_ERROR, FC_ERROR_NETWORK))
        settle_with (w, FC_CLOUD_RETRY, 0, -1, error->message);
      else if (g_error_matches (error, FC_ERROR, FC_ERROR_REJECTED))
        settle_with (w, FC_CLOUD_REJECTED, 400, -1, error->message);
      else if (g_error_matches (error, FC_ERROR, FC_ERROR_NOT_FOUND) ||
               g_error_matches (error, FC_ERROR, FC_ERROR_CONFLICT))
        {
          /* The file is gone or changed since it was recorded: retrying
           * cannot help; a person must look. The next try starts anew. */
          if (!fc_sync_queue_save_upload (w->store, w->request->video_id, NULL, 0, 0, &save_error))
            g_message ("Cannot forget the upload: %s", save_error->message);
          settle_with (w, FC_CLOUD_REJECTED, 0, -1, error->message);
        }
      else
        settle_with (w, FC_CLOUD_RETRY, 500, retry_after > 0 ? (gint64) retry_after : -1, error->message);
      worker_unref (w);
      return;
    }

  /* The attach call names the upload, whose URL the queue may not have
   * known when it built the body. */
  attach = attach_object (w->request, &root);
  if (attach == NULL)
    {
      settle_with (w, FC_CLOUD_REJECTED, 0, -1, "The video's attach request from the outbox is not JSON");
      worker_unref (w);
      return;
    }
  json_object_set_string_member (attach, "upload_url", fc_tus_upload_get_state (upload)->upload_url);
  {
    char *text = json_to_string (root, FALSE);
    g_autoptr(GBytes) body = g_bytes_new_take (text, strlen (text));

    send_request (w, body);
  }
  worker_unref (w);
}

static void
on_upload_token (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Worker *w = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCloudResponse) r = fc_cloud_client_ensure_access_finish (FC_CLOUD_CLIENT (source), result, &error);

  if (r == NULL || w->stopping)
    settle_cancelled (w);
  else if (r->outcome != FC_CLOUD_SUCCESS)
    settle (w, r);
  else
    fc_tus_upload_run_async (w->upload, w->cancellable, on_uploaded, worker_ref (w));
  worker_unref (w);
}

static void
run_upload (Worker   *w,
            gboolean  force_token)
{
  fc_cloud_client_ensure_access_async (w->client, force_token, w->cancellable, on_upload_token, worker_ref (w));
}

static void
start_video (Worker *w)
{
  FcSyncRequest *request = w->request;
  g_autoptr(GFile) file = g_file_new_for_path (request->video_path);
  g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *endpoint = g_strconcat (fc_cloud_client_get_base_url (w->client), "/files/", NULL);
  g_autofree char *filename = g_file_get_basename (file);
  g_autoptr(JsonNode) root = NULL;
  JsonObject *attach = attach_object (request, &root);
  const char *content_type = attach ? json_object_get_string_member_with_default (attach, "content_type", NULL)
                                    : NULL;
  g_autoptr(FcTusState) state = NULL;

  g_hash_table_insert (metadata, "filename", filename);
  g_hash_table_insert (metadata, "fitting_id", request->fitting_id);
  g_hash_table_insert (metadata, "video_id", request->video_id);
  g_hash_table_insert (metadata, "content_type", (gpointer) (content_type ? content_type : "video/mp4"));
  if (request->video_sha256 != NULL)
    g_hash_table_insert (metadata, "sha256", request->video_sha256);
  if (request->upload_url != NULL)
    {
      state = fc_tus_state_new ();
      state->upload_url = g_strdup (request->upload_url);
      state->offset = (guint64) MAX (request->upload_offset, 0);
      state->size = (guint64) MAX (request->video_size, 0);
      state->sha256 = g_strdup (request->video_sha256);
      state->expires_at = request->upload_expires_at / G_USEC_PER_SEC;
    }
  w->upload = fc_tus_upload_new (fc_cloud_client_get_session (w->client), endpoint, file, metadata, state);
  fc_tus_upload_set_request_hook (w->upload, add_access_token, g_object_ref (w->client), g_object_unref);
  g_signal_connect (w->upload, "state-changed", G_CALLBACK (on_upload_state_changed), w);
  w->upload_refreshed = FALSE;
  run_upload (w, FALSE);
}

/* ---- the loop ------------------------------------------------------- */

static gboolean
on_timer (gpointer data)
{
  Worker *w = data;

  g_clear_pointer (&w->timer, g_source_unref);
  pump (w);
  return G_SOURCE_REMOVE;
}

static void
arm_timer (Worker *w,
           gint64  due_us)
{
  gint64 delay_ms;

  if (w->timer != NULL)
    {
      g_source_destroy (w->timer);
      g_clear_pointer (&w->timer, g_source_unref);
    }
  if (due_us <= 0)
    return;
  delay_ms = (due_us - g_get_real_time () + 999) / 1000;
  delay_ms = CLAMP (delay_ms, 0, MAX_TIMER_MS);
  w->timer = g_timeout_source_new ((guint) delay_ms);
  g_source_set_callback (w->timer, on_timer, w, NULL);
  g_source_attach (w->timer, w->context);
}

static void
pump (Worker *w)
{
  g_autoptr(GError) error = NULL;
  FcSyncRequest *request;
  gint64 now, asked, next_due = 0;

  if (w->busy || g_atomic_int_get (&w->stopping))
    return;
  if (w->store == NULL)
    {
      end_forced (w, w->last_error);
      publish (w, FALSE, FALSE, FALSE, NULL);
      return;
    }
  if (w->checking_pairing)
    return;
  if (w->pairing != PAIRING_PAIRED)
    {
      set_state (w, w->pairing == PAIRING_NONE ? FC_SYNC_STATE_NEEDS_PAIRING : FC_SYNC_STATE_WAITING);
      set_last_error (w, w->pairing_message);
      end_forced (w, w->pairing_message);
      publish (w, FALSE, FALSE, FALSE, NULL);
      return;
    }
  if (!w->network_up)
    {
      g_autofree char *message = g_strdup_printf ("This PC has no network route to the cloud at %s: "
                                                  "sync waits for the network", w->cloud_url);

      set_state (w, FC_SYNC_STATE_OFFLINE);
      end_forced (w, message);
      publish (w, FALSE, FALSE, FALSE, NULL);
      return;
    }

  now = g_get_real_time ();
  if (g_get_monotonic_time () < w->store_retry_at)
    {
      set_state (w, FC_SYNC_STATE_WAITING);
      arm_timer (w, now + (w->store_retry_at - g_get_monotonic_time ()));
      publish (w, FALSE, FALSE, FALSE, NULL);
      return;
    }
  asked = w->force ? now + FORCE_LOOKAHEAD_US : now;
  request = fc_sync_queue_next (w->store, asked, &next_due, &error);
  if (request == NULL && error != NULL)
    {
      store_failed (w, error);
      set_state (w, FC_SYNC_STATE_WAITING);
      w->status.next_attempt = now + STORE_RETRY_US;
      arm_timer (w, w->status.next_attempt);
      publish (w, FALSE, FALSE, FALSE, NULL);
      return;
    }
  if (request != NULL && request->kind == FC_SYNC_UPLOAD_VIDEO && request->video_path == NULL)
    {
      /* Nothing to upload from: a person must look, the rest goes on. */
      w->busy = TRUE;
      w->request = request;
      settle_with (w, FC_CLOUD_REJECTED, 0, -1, "The recap video has no file on this PC");
      return;
    }
  if (request == NULL && next_due > 0 && next_due <= asked)
    {
      /* The queue did housekeeping (parked, settled) and has more: go
       * on from the main loop, not from here. */
      arm_timer (w, now);
      return;
    }
  if (request == NULL)
    {
      end_forced (w, NULL);
      w->status.next_attempt = next_due;
      set_state (w, next_due > 0 ? FC_SYNC_STATE_WAITING : FC_SYNC_STATE_IDLE);
      arm_timer (w, next_due);
      publish (w, FALSE, FALSE, FALSE, NULL);
      return;
    }

  w->busy = TRUE;
  w->request = request;
  w->status.next_attempt = 0;
  set_state (w, FC_SYNC_STATE_SENDING);
  publish (w, FALSE, FALSE, FALSE, NULL);
  if (request->kind == FC_SYNC_UPLOAD_VIDEO)
    start_video (w);
  else
    send_request (w, request->body);
}

static gboolean
on_wake_posted (gpointer data)
{
  Worker *w = data;

  g_atomic_int_set (&w->wake_pending, 0);
  pump (w);
  return G_SOURCE_REMOVE;
}

static gboolean
on_sync_now_posted (gpointer data)
{
  Worker *w = data;
  g_autoptr(GError) error = NULL;

  g_atomic_int_set (&w->sync_now_pending, 0);
  if (g_atomic_int_compare_and_exchange (&w->drain_pending, 1, 0))
    w->draining = TRUE;
  if (w->store == NULL && !open_store (w))
    {
      w->force = TRUE;
      end_forced (w, w->last_error);
      return G_SOURCE_REMOVE;
    }
  if (!fc_sync_queue_unpark (w->store, NULL, &error))
    store_failed (w, error);
  set_last_error (w, NULL);
  unlock_customers (w);
  w->force = TRUE;
  w->refused_serial = 0;
  /* The person may have just paired this PC, or fixed the network. */
  if (w->pairing != PAIRING_PAIRED)
    check_pairing (w);
  if (!w->network_up)
    {
      /* A forced pass while the network check runs would end at once. */
      w->network_up = TRUE;
      check_network (w);
    }
  pump (w);
  return G_SOURCE_REMOVE;
}

static gboolean
on_tick (gpointer data)
{
  Worker *w = data;
  gint64 mono = g_get_monotonic_time ();

  if (w->store == NULL)
    {
      if (mono - w->store_failed_at >= STORE_RETRY_US && open_store (w))
        pump (w);
      if (w->status_dirty)
        publish (w, TRUE, FALSE, FALSE, NULL);
      return G_SOURCE_CONTINUE;
    }
  if (data_version_changed (w))
    pump (w);
  if (w->pairing != PAIRING_PAIRED && !w->checking_pairing && mono - w->pairing_checked_at >= PAIRING_RECHECK_US)
    check_pairing (w);
  if (!w->network_up && mono - w->network_checked_at >= NETWORK_RECHECK_US)
    check_network (w);
  if (w->status.waiting_for_key > 0 && mono - w->pii_checked_at >= PII_RECHECK_US)
    unlock_customers (w);
  if (w->status_dirty)
    publish (w, TRUE, FALSE, FALSE, NULL);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_quit_posted (gpointer data)
{
  Worker *w = data;

  g_main_loop_quit (w->loop);
  return G_SOURCE_REMOVE;
}

static void
worker_setup (Worker *w)
{
  FcCloudClientOptions options = { 0 };
  g_autoptr(GError) error = NULL;

  w->rand = g_rand_new ();
  w->secrets = fc_secret_store_new_default ();
  options.base_url = w->cloud_url;
  options.ca_file = w->ca_file;
  options.no_proxy = w->no_proxy;
  options.secrets = w->secrets;
  w->client = fc_cloud_client_new (&options, &error);
  /* fc_sync_engine_new() checked the same options. */
  g_assert_no_error (error);

  w->network_up = TRUE;
  w->status.online = TRUE;
  w->cloud_address = g_network_address_parse_uri (w->cloud_url, 443, NULL);
  w->monitor_handler = g_signal_connect_data (w->monitor, "network-changed", G_CALLBACK (on_network_changed),
                                              worker_ref (w), worker_closure_unref, 0);

  w->tick = g_timeout_source_new (w->poll_ms);
  g_source_set_callback (w->tick, on_tick, w, NULL);
  g_source_attach (w->tick, w->context);

  set_state (w, FC_SYNC_STATE_STARTING);
  publish (w, TRUE, FALSE, FALSE, NULL);
  if (open_store (w))
    data_version_changed (w);
  check_network (w);
  check_pairing (w);
}

static void
worker_teardown (Worker *w)
{
  gint64 deadline = g_get_monotonic_time () + STOP_DRAIN_US;

  g_cancellable_cancel (w->cancellable);
  g_clear_signal_handler (&w->monitor_handler, w->monitor);
  /* Cancelled operations still call back; let them, so nothing is
   * left holding the client or the store. */
  while ((w->busy || w->checking_pairing || w->checking_network) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (w->context, TRUE);
  if (w->draining)
    {
      w->force = TRUE;
      end_forced (w, "Sync was stopped");
    }
  set_state (w, FC_SYNC_STATE_STOPPED);
  publish (w, TRUE, FALSE, FALSE, NULL);

  if (w->timer != NULL)
    g_source_destroy (w->timer);
  g_clear_pointer (&w->timer, g_source_unref);
  g_source_destroy (w->tick);
  g_clear_pointer (&w->tick, g_source_unref);
  g_clear_pointer (&w->request, fc_sync_request_free);
  g_clear_object (&w->upload);
  g_clear_object (&w->cloud_address);
  g_clear_object (&w->client);
  g_clear_object (&w->secrets);
  g_clear_pointer (&w->watch, sqlite3_close);
  g_clear_object (&w->store);
  g_clear_pointer (&w->rand, g_rand_free);
  /* Idle sources posted by other threads meanwhile hold their own refs. */
  while (g_main_context_iteration (w->context, FALSE))
    ;
}

static gpointer
worker_thread (gpointer data)
{
  Worker *w = data;

  g_main_context_push_thread_default (w->context);
  worker_setup (w);
  g_main_loop_run (w->loop);
  worker_teardown (w);
  g_main_context_pop_thread_default (w->context);
  worker_unref (w);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* FcSyncEngine: the side the creating thread sees */

struct _FcSyncEngine
{
  GObject       parent_instance;

  Worker       *worker;
  GThread      *thread;
  FcSyncStatus *status;
  GPtrArray    *drains;     /* GTasks */
};

G_DEFINE_FINAL_TYPE (FcSyncEngine, fc_sync_engine, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  PROP_ONLINE,
  PROP_NEEDS_PAIRING,
  PROP_LAST_ERROR,
  PROP_LAST_SUCCESS,
  PROP_PENDING,
  PROP_PARKED,
  PROP_SET_ASIDE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_STATUS_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gboolean
needs_pairing (const FcSyncStatus *status)
{
  return status->state == FC_SYNC_STATE_NEEDS_PAIRING;
}

static void
finish_drains (FcSyncEngine *self,
               gboolean      ok,
               const char   *error_message)
{
  g_autoptr(GPtrArray) drains = g_steal_pointer (&self->drains);

  self->drains = g_ptr_array_new ();
  for (guint i = 0; i < drains->len; i++)
    {
      g_autoptr(GTask) task = g_ptr_array_index (drains, i);

      if (ok)
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_new_error (task, FC_ERROR, FC_ERROR_FAILED, "%s",
                                 error_message ? error_message : "Not everything could be sent");
    }
}

static gboolean
engine_apply_update (gpointer data)
{
  Update *u = data;
  g_autoptr(FcSyncEngine) self = g_weak_ref_get (&u->worker->engine);
  g_autoptr(FcSyncStatus) old = NULL;
  FcSyncStatus *now;

  if (self == NULL)
    return G_SOURCE_REMOVE;
  old = g_steal_pointer (&self->status);
  self->status = g_steal_pointer (&u->status);
  now = self->status;

  g_object_freeze_notify (G_OBJECT (self));
  if (old->state != now->state)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  if (old->online != now->online)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ONLINE]);
  if (needs_pairing (old) != needs_pairing (now))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NEEDS_PAIRING]);
  if (g_strcmp0 (old->last_error, now->last_error) != 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_ERROR]);
  if (old->last_success != now->last_success)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_SUCCESS]);
  if (fc_sync_status_total_pending (old) != fc_sync_status_total_pending (now))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PENDING]);
  if (old->parked != now->parked)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PARKED]);
  if (old->set_aside != now->set_aside)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SET_ASIDE]);
  g_signal_emit (self, signals[SIGNAL_STATUS_CHANGED], 0, now);
  g_object_thaw_notify (G_OBJECT (self));

  if (u->drain_done)
    finish_drains (self, u->drain_ok, u->drain_error);
  return G_SOURCE_REMOVE;
}

FcSyncEngine *
fc_sync_engine_new (const FcSyncEngineOptions *options,
                    GError                   **error)
{
  g_autoptr(FcCloudClient) check = NULL;
  FcCloudClientOptions client_options = { 0 };
  FcSyncEngine *self;
  Worker *w;

  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (options->db_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* The same checks the worker's client makes, here where they can be
   * reported; a client without a keyring call costs nothing. */
  client_options.base_url = options->cloud_url;
  client_options.ca_file = options->ca_file;
  client_options.no_proxy = options->no_proxy;
  check = fc_cloud_client_new (&client_options, error);
  if (check == NULL)
    return NULL;

  self = g_object_new (FC_TYPE_SYNC_ENGINE, NULL);
  w = g_new0 (Worker, 1);
  g_atomic_ref_count_init (&w->ref);
  g_weak_ref_init (&w->engine, self);
  w->owner_context = g_main_context_ref_thread_default ();
  w->context = g_main_context_new ();
  w->loop = g_main_loop_new (w->context, FALSE);
  w->cancellable = g_cancellable_new ();
  w->db_path = g_strdup (options->db_path);
  w->cloud_url = g_strdup (fc_cloud_client_get_base_url (check));
  w->ca_file = g_strdup (options->ca_file);
  w->no_proxy = options->no_proxy;
  w->base_us = options->backoff_base_us > 0 ? options->backoff_base_us : FC_SYNC_BACKOFF_BASE_US;
  w->cap_us = options->backoff_cap_us > 0 ? options->backoff_cap_us : FC_SYNC_BACKOFF_CAP_US;
  w->cap_us = CLAMP (w->cap_us, w->base_us, MAX_DELAY_US);
  w->poll_ms = options->poll_interval_ms > 0 ? options->poll_interval_ms : 500;
  w->monitor = g_object_ref (options->network_monitor ? options->network_monitor
                                                       : g_network_monitor_get_default ());
  self->worker = w;
  return self;
}

void
fc_sync_engine_start (FcSyncEngine *self)
{
  g_return_if_fail (FC_IS_SYNC_ENGINE (self));
  g_return_if_fail (self->thread == NULL);

  self->status->state = FC_SYNC_STATE_STARTING;
  self->thread = g_thread_new ("fc-sync-engine", worker_thread, worker_ref (self->worker));
}

void
fc_sync_engine_stop (FcSyncEngine *self)
{
  g_return_if_fail (FC_IS_SYNC_ENGINE (self));

  if (self->thread == NULL)
    return;
  g_atomic_int_set (&self->worker->stopping, 1);
  g_cancellable_cancel (self->worker->cancellable);
  worker_post (self->worker, NULL, on_quit_posted);
  g_thread_join (g_steal_pointer (&self->thread));
  /* Updates the worker posted last are still queued here; the state is
   * stopped in any case. */
  if (self->status->state != FC_SYNC_STATE_STOPPED)
    {
      self->status->state = FC_SYNC_STATE_STOPPED;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
  finish_drains (self, FALSE, "Sync was stopped");
}

void
fc_sync_engine_wake (FcSyncEngine *self)
{
  g_return_if_fail (FC_IS_SYNC_ENGINE (self));
  worker_post (self->worker, &self->worker->wake_pending, on_wake_posted);
}

void
fc_sync_engine_sync_now (FcSyncEngine *self)
{
  g_return_if_fail (FC_IS_SYNC_ENGINE (self));
  worker_post (self->worker, &self->worker->sync_now_pending, on_sync_now_posted);
}

void
fc_sync_engine_drain_async (FcSyncEngine        *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (FC_IS_SYNC_ENGINE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, fc_sync_engine_drain_async);
  if (self->thread == NULL)
    {
      g_task_return_new_error (task, FC_ERROR, FC_ERROR_FAILED, "Sync is not running");
      g_object_unref (task);
      return;
    }
  g_ptr_array_add (self->drains, task);
  g_atomic_int_set (&self->worker->drain_pending, 1);
  fc_sync_engine_sync_now (self);
}

gboolean
fc_sync_engine_drain_finish (FcSyncEngine  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

const FcSyncStatus *
fc_sync_engine_get_status (FcSyncEngine *self)
{
  g_return_val_if_fail (FC_IS_SYNC_ENGINE (self), NULL);
  return self->status;
}

FcSyncState
fc_sync_engine_get_state (FcSyncEngine *self)
{
  g_return_val_if_fail (FC_IS_SYNC_ENGINE (self), FC_SYNC_STATE_STOPPED);
  return self->status->state;
}

gboolean
fc_sync_engine_get_online (FcSyncEngine *self)
{
  g_return_val_if_fail (FC_IS_SYNC_ENGINE (self), FALSE);
  return self->status->online;
}

gboolean
fc_sync_engine_get_needs_pairing (FcSyncEngine *self)
{
  g_return_val_if_fail (FC_IS_SYNC_ENGINE (self), FALSE);
  return needs_pairing (self->status);
}

const char *
fc_sync_engine_get_last_error (FcSyncEngine *self)
{
  g_return_val_if_fail (FC_IS_SYNC_ENGINE (self), NULL);
  return self->status->last_error;
}

gint64
fc_sync_engine_get_last_success (FcSyncEngine *self)
{
  g_return_val_if_fail (FC_IS_SYNC_ENGINE (self), 0);
  return self->status->last_success;
}

guint
fc_sync_engine_get_pending (FcSyncEngine *self)
{
  g_return_val_if_fail (FC_IS_SYNC_ENGINE (self), 0);
  return fc_sync_status_total_pending (self->status);
}

guint
fc_sync_engine_get_parked (FcSyncEngine *self)
{
  g_return_val_if_fail (FC_IS_SYNC_ENGINE (self), 0);
  return self->status->parked;
}

guint
fc_sync_engine_get_set_aside (FcSyncEngine *self)
{
  g_return_val_if_fail (FC_IS_SYNC_ENGINE (self), 0);
  return self->status->set_aside;
}

static void
fc_sync_engine_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  FcSyncEngine *self = FC_SYNC_ENGINE (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->status->state);
      break;
    case PROP_ONLINE:
      g_value_set_boolean (value, self->status->online);
      break;
    case PROP_NEEDS_PAIRING:
      g_value_set_boolean (value, needs_pairing (self->status));
      break;
    case PROP_LAST_ERROR:
      g_value_set_string (value, self->status->last_error);
      break;
    case PROP_LAST_SUCCESS:
      g_value_set_int64 (value, self->status->last_success);
      break;
    case PROP_PENDING:
      g_value_set_uint (value, fc_sync_status_total_pending (self->status));
      break;
    case PROP_PARKED:
      g_value_set_uint (value, self->status->parked);
      break;
    case PROP_SET_ASIDE:
      g_value_set_uint (value, self->status->set_aside);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
fc_sync_engine_dispose (GObject *object)
{
  FcSyncEngine *self = FC_SYNC_ENGINE (object);

  fc_sync_engine_stop (self);
  G_OBJECT_CLASS (fc_sync_engine_parent_class)->dispose (object);
}

static void
fc_sync_engine_finalize (GObject *object)
{
  FcSyncEngine *self = FC_SYNC_ENGINE (object);

  g_assert (self->drains->len == 0);
  g_ptr_array_unref (self->drains);
  g_clear_pointer (&self->worker, worker_unref);
  fc_sync_status_free (self->status);
  G_OBJECT_CLASS (fc_sync_engine_parent_class)->finalize (object);
}

static void
fc_sync_engine_class_init (FcSyncEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = fc_sync_engine_get_property;
  object_class->dispose = fc_sync_engine_dispose;
  object_class->finalize = fc_sync_engine_finalize;

  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, FC_SYNC_STATE_STOPPED, FC_SYNC_STATE_FAILED,
                      FC_SYNC_STATE_STOPPED, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_ONLINE] =
    g_param_spec_boolean ("online", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_NEEDS_PAIRING] =
    g_param_spec_boolean ("needs-pairing", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LAST_ERROR] =
    g_param_spec_string ("last-error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LAST_SUCCESS] =
    g_param_spec_int64 ("last-success", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_PENDING] =
    g_param_spec_uint ("pending", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_PARKED] =
    g_param_spec_uint ("parked", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SET_ASIDE] =
    g_param_spec_uint ("set-aside", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_STATUS_CHANGED] =
    g_signal_new ("status-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, FC_TYPE_SYNC_STATUS | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
fc_sync_engine_init (FcSyncEngine *self)
{
  self->status = g_new0 (FcSyncStatus, 1);
  self->drains = g_ptr_array_new ();
}
