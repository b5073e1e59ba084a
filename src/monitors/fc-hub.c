/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-hub"

#include "fc-hub.h"

#define MAX_GROUP 256
/* A monitor that sent heartbeats is silent once it misses this many. */
#define SILENT_HEARTBEATS 3
#define MIN_SILENCE_US (10 * G_USEC_PER_SEC)

struct _FcHub {
  GObject      parent_instance;

  char        *bay;
  FcStore     *store;      /* owned by the writer thread after construction */
  GThread     *writer;
  GAsyncQueue *queue;      /* of Job* */
  GHashTable  *monitors;   /* id -> FcMonitorInfo*, main thread only */
  guint        silence_source;
  gint64       min_silence_us;
};

G_DEFINE_FINAL_TYPE (FcHub, fc_hub, G_TYPE_OBJECT)

enum {
  MONITOR_CHANGED,
  SHOT_STORED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct {
  FcHub       *hub;        /* unowned: the hub outlives its jobs (dispose drains) */
  GTask       *task;       /* NULL for the stop job */
  FcShot      *shot;
  char        *monitor_id;
  FcAddResult  result;
  char        *shot_id;
  GError      *error;
} Job;

typedef struct {
  FcAddResult  result;
  char        *shot_id;
} SubmitResult;

static void
submit_result_free (gpointer data)
{
  SubmitResult *r = data;

  g_free (r->shot_id);
  g_free (r);
}

static void
job_free (Job *job)
{
  g_clear_object (&job->task);
  g_clear_pointer (&job->shot, fc_shot_free);
  g_free (job->monitor_id);
  g_free (job->shot_id);
  g_clear_error (&job->error);
  g_free (job);
}

FcMonitorInfo *
fc_monitor_info_copy (const FcMonitorInfo *info)
{
  FcMonitorInfo *copy = g_memdup2 (info, sizeof *info);

  copy->id = g_strdup (info->id);
  copy->kind = g_strdup (info->kind);
  copy->peer = g_strdup (info->peer);
  copy->device = g_strdup (info->device);
  return copy;
}

void
fc_monitor_info_free (FcMonitorInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->id);
  g_free (info->kind);
  g_free (info->peer);
  g_free (info->device);
  g_free (info);
}

/* ---- monitor status (main thread) -------------------------------------- */

static FcMonitorInfo *
ensure_monitor (FcHub      *self,
                const char *monitor_id)
{
  FcMonitorInfo *info = g_hash_table_lookup (self->monitors, monitor_id);

  if (info == NULL)
    {
      info = g_new0 (FcMonitorInfo, 1);
      info->id = g_strdup (monitor_id);
      info->state = FC_MONITOR_CONNECTED;
      g_hash_table_insert (self->monitors, info->id, info);
    }
  return info;
}

void
fc_hub_monitor_update (FcHub          *self,
                       const char     *monitor_id,
                       const char     *kind,
                       const char     *peer,
                       FcMonitorState  state)
{
  FcMonitorInfo *info;
  gboolean created;

  g_return_if_fail (FC_IS_HUB (self));
  g_return_if_fail (monitor_id != NULL);

  created = !g_hash_table_contains (self->monitors, monitor_id);
  info = ensure_monitor (self, monitor_id);
  if (kind && g_strcmp0 (info->kind, kind) != 0)
    {
      g_free (info->kind);
      info->kind = g_strdup (kind);
    }
  if (peer && g_strcmp0 (info->peer, peer) != 0)
    {
      g_free (info->peer);
      info->peer = g_strdup (peer);
    }
  if (info->state == state && !created)
    return;
  info->state = state;
  g_debug ("%s: %s", monitor_id, fc_monitor_state_to_string (state));
  g_signal_emit (self, signals[MONITOR_CHANGED], 0, monitor_id);
}

void
fc_hub_monitor_message (FcHub      *self,
                        const char *monitor_id,
                        const char *device,
                        gboolean    heartbeat)
{
  FcMonitorInfo *info;
  gint64 now = g_get_monotonic_time ();

  g_return_if_fail (FC_IS_HUB (self));

  info = ensure_monitor (self, monitor_id);
  if (heartbeat)
    {
      /* Learn the interval from consecutive heartbeats (clients send
       * them every 3 to 10 s; older clients never do). */
      if (info->last_message_at && info->heartbeat_interval == 0)
        info->heartbeat_interval = now - info->last_message_at;
      else if (info->last_message_at)
        info->heartbeat_interval = MAX (info->heartbeat_interval, now - info->last_message_at);
    }
  info->last_message_at = now;
  if (device && g_strcmp0 (info->device, device) != 0)
    {
      g_free (info->device);
      info->device = g_strdup (device);
    }
  if (info->state == FC_MONITOR_SILENT)
    {
      info->state = FC_MONITOR_CONNECTED;
      g_signal_emit (self, signals[MONITOR_CHANGED], 0, monitor_id);
    }
}

void
fc_hub_monitor_remove (FcHub      *self,
                       const char *monitor_id)
{
  g_return_if_fail (FC_IS_HUB (self));

  if (g_hash_table_remove (self->monitors, monitor_id))
    g_signal_emit (self, signals[MONITOR_CHANGED], 0, monitor_id);
}

static int
compare_info (gconstpointer a,
              gconstpointer b)
{
  return g_strcmp0 ((*(FcMonitorInfo **) a)->id, (*(FcMonitorInfo **) b)->id);
}

GPtrArray *
fc_hub_list_monitors (FcHub *self)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_monitor_info_free);
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (FC_IS_HUB (self), list);

  g_hash_table_iter_init (&iter, self->monitors);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (list, fc_monitor_info_copy (value));
  g_ptr_array_sort (list, compare_info);
  return list;
}

FcMonitorInfo *
fc_hub_get_monitor (FcHub      *self,
                    const char *monitor_id)
{
  FcMonitorInfo *info;

  g_return_val_if_fail (FC_IS_HUB (self), NULL);

  info = g_hash_table_lookup (self->monitors, monitor_id);
  return info ? fc_monitor_info_copy (info) : NULL;
}

void
fc_hub_check_silence (FcHub *self)
{
  GHashTableIter iter;
  gpointer value;
  gint64 now = g_get_monotonic_time ();
  g_autoptr(GPtrArray) changed = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, self->monitors);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      FcMonitorInfo *info = value;
      gint64 limit;

      if (info->heartbeat_interval == 0 ||
          info->state == FC_MONITOR_SILENT ||
          info->state == FC_MONITOR_LISTENING ||
          info->state == FC_MONITOR_STOPPED ||
          info->state == FC_MONITOR_DISCONNECTED ||
          info->state == FC_MONITOR_ERROR)
        continue;
      limit = MAX (SILENT_HEARTBEATS * info->heartbeat_interval, self->min_silence_us);
      if (now - info->last_message_at > limit)
        {
          info->state = FC_MONITOR_SILENT;
          g_message ("%s went silent: no message for %.0f s", info->id,
                     (now - info->last_message_at) / (double) G_USEC_PER_SEC);
          g_ptr_array_add (changed, info->id);
        }
    }
  for (guint i = 0; i < changed->len; i++)
    g_signal_emit (self, signals[MONITOR_CHANGED], 0, g_ptr_array_index (changed, i));
}

static gboolean
on_silence_tick (gpointer user_data)
{
  fc_hub_check_silence (user_data);
  return G_SOURCE_CONTINUE;
}

/* ---- the writer thread --------------------------------------------------- */

/* Back on the submitter's main context. */
static gboolean
complete_job (gpointer data)
{
  Job *job = data;
  FcHub *self = job->hub;

  if (job->error == NULL)
    {
      FcMonitorInfo *info = ensure_monitor (self, job->monitor_id);
      SubmitResult *r = g_new0 (SubmitResult, 1);

      if (job->result == FC_ADD_INSERTED)
        {
          info->shots++;
          info->last_shot_at = g_get_monotonic_time ();
        }
      else
        info->duplicates++;
      g_signal_emit (self, signals[SHOT_STORED], 0, job->monitor_id, job->shot_id,
                     job->result == FC_ADD_DUPLICATE);
      r->result = job->result;
      r->shot_id = g_steal_pointer (&job->shot_id);
      g_task_return_pointer (job->task, r, submit_result_free);
    }
  else
    g_task_return_error (job->task, g_steal_pointer (&job->error));

  job_free (job);
  return G_SOURCE_REMOVE;
}

static void
commit_group (FcHub     *self,
              GPtrArray *jobs)
{
  g_autoptr(GError) error = NULL;
  g_autofree FcShot **copies = g_new0 (FcShot *, jobs->len);
  g_autofree FcAddResult *results = g_new0 (FcAddResult, jobs->len);
  gboolean ok;

  /* Copies, so that a failed group leaves the originals untouched for
   * the one-by-one retry. */
  for (guint i = 0; i < jobs->len; i++)
    copies[i] = fc_shot_copy (((Job *) g_ptr_array_index (jobs, i))->shot);
  ok = jobs->len > 1 && fc_store_add_shots (self->store, copies, jobs->len, self->bay, results, &error);

  for (guint i = 0; i < jobs->len; i++)
    {
      Job *job = g_ptr_array_index (jobs, i);

      if (ok)
        {
          job->result = results[i];
          job->shot_id = g_strdup (copies[i]->id);
        }
      else if (fc_store_add_shot (self->store, job->shot, self->bay, &job->result, &job->error))
        job->shot_id = g_strdup (job->shot->id);
      fc_shot_free (copies[i]);
    }
}

static gpointer
writer_main (gpointer data)
{
  FcHub *self = data;
  gboolean stop = FALSE;

  while (!stop)
    {
      g_autoptr(GPtrArray) jobs = g_ptr_array_new ();
      Job *job = g_async_queue_pop (self->queue);

      if (job->task == NULL)
        {
          job_free (job);
          break;
        }
      g_ptr_array_add (jobs, job);
      /* Everything that queued up during the last commit goes into this
       * one: one fsync for many shots under load, no wait when idle. */
      while (jobs->len < MAX_GROUP && (job = g_async_queue_try_pop (self->queue)) != NULL)
        {
          if (job->task == NULL)
            {
              job_free (job);
              stop = TRUE;
              break;
            }
          g_ptr_array_add (jobs, job);
        }

      commit_group (self, jobs);
      for (guint i = 0; i < jobs->len; i++)
        {
          job = g_ptr_array_index (jobs, i);
          g_main_context_invoke_full (g_task_get_context (job->task), G_PRIORITY_DEFAULT,
                                      complete_job, job, NULL);
        }
    }
  return NULL;
}

/* ---- object ---------------------------------------------------------------- */

static void
fc_hub_dispose (GObject *object)
{
  FcHub *self = FC_HUB (object);

  if (self->writer)
    {
      Job *stop = g_new0 (Job, 1);

      /* Queued shots are committed before the writer stops. */
      g_async_queue_push (self->queue, stop);
      g_thread_join (g_steal_pointer (&self->writer));
    }
  g_clear_handle_id (&self->silence_source, g_source_remove);

  G_OBJECT_CLASS (fc_hub_parent_class)->dispose (object);
}

static void
fc_hub_finalize (GObject *object)
{
  FcHub *self = FC_HUB (object);

  g_clear_object (&self->store);
  g_clear_pointer (&self->queue, g_async_queue_unref);
  g_clear_pointer (&self->monitors, g_hash_table_unref);
  g_free (self->bay);

  G_OBJECT_CLASS (fc_hub_parent_class)->finalize (object);
}

static void
fc_hub_class_init (FcHubClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fc_hub_dispose;
  object_class->finalize = fc_hub_finalize;

  signals[MONITOR_CHANGED] =
    g_signal_new ("monitor-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SHOT_STORED] =
    g_signal_new ("shot-stored", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_BOOLEAN);
}

static void
fc_hub_init (FcHub *self)
{
  self->queue = g_async_queue_new ();
  self->min_silence_us = MIN_SILENCE_US;
  self->monitors = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          (GDestroyNotify) fc_monitor_info_free);
}

FcHub *
fc_hub_new (const char           *db_path,
            const FcStoreOptions *options,
            const char           *bay,
            GError              **error)
{
  g_autoptr(FcHub) self = g_object_new (FC_TYPE_HUB, NULL);

  g_return_val_if_fail (db_path != NULL, NULL);

  self->bay = g_strdup (bay ? bay : FC_STORE_DEFAULT_BAY);
  self->store = fc_store_open_full (db_path, options, error);
  if (self->store == NULL)
    return NULL;
  /* From here on only the writer thread touches self->store. */
  self->writer = g_thread_new ("fc-hub-writer", writer_main, self);
  self->silence_source = g_timeout_add_seconds (1, on_silence_tick, self);
  return g_steal_pointer (&self);
}

void
fc_hub_set_min_silence (FcHub  *self,
                        gint64  min_us)
{
  g_return_if_fail (FC_IS_HUB (self));
  self->min_silence_us = min_us;
}

const char *
fc_hub_get_bay (FcHub *self)
{
  g_return_val_if_fail (FC_IS_HUB (self), NULL);
  return self->bay;
}

void
fc_hub_submit_async (FcHub               *self,
                     const char          *monitor_id,
                     FcShot              *shot,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  Job *job;

  g_return_if_fail (FC_IS_HUB (self));
  g_return_if_fail (shot != NULL);

  job = g_new0 (Job, 1);
  job->hub = self;
  job->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (job->task, fc_hub_submit_async);
  job->monitor_id = g_strdup (monitor_id);
  job->shot = shot;
  if (shot->received_at == 0)
    shot->received_at = g_get_real_time ();
  g_async_queue_push (self->queue, job);
}

gboolean
fc_hub_submit_finish (FcHub         *self,
                      GAsyncResult  *result,
                      FcAddResult   *add_result,
                      char         **shot_id,
                      GError       **error)
{
  SubmitResult *r;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == fc_hub_submit_async, FALSE);

  r = g_task_propagate_pointer (G_TASK (result), error);
  if (r == NULL)
    return FALSE;
  if (add_result)
    *add_result = r->result;
  if (shot_id)
    *shot_id = g_steal_pointer (&r->shot_id);
  submit_result_free (r);
  return TRUE;
}
