/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-lastshot"

#include "fc-lastshot-watcher.h"

#include "fc-error.h"
#include "fc-import.h"

struct _FcLastShotWatcher {
  GObject       parent_instance;

  FcHub        *hub;
  GFile        *file;
  char         *path;
  char         *monitor_id;
  char         *device_id;
  GFileMonitor *dir_monitor;
  guint         poll_source;
  GCancellable *cancellable;
  gboolean      reading;
  gboolean      recheck;     /* a change came in while reading */
  guint64       seen_size;   /* what the last read saw, to skip idle polls */
  guint64       seen_mtime;
  char         *last_row;    /* SHA-1 of the last row handed to the hub */
  guint         submitted;
};

G_DEFINE_FINAL_TYPE (FcLastShotWatcher, fc_lastshot_watcher, G_TYPE_OBJECT)

static void read_file (FcLastShotWatcher *self);

static void
on_submitted (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(FcLastShotWatcher) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!fc_hub_submit_finish (FC_HUB (source), result, NULL, NULL, &error))
    {
      /* Not stored: forget the row so that the next check tries again. */
      g_warning ("%s: shot not stored: %s", self->path, error->message);
      g_clear_pointer (&self->last_row, g_free);
    }
}

static void
on_loaded (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(FcLastShotWatcher) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(FcImportBatch) batch = NULL;
  g_autofree char *basename = NULL;
  char *contents = NULL;
  gsize len;

  self->reading = FALSE;
  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &len, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fc_hub_monitor_update (self->hub, self->monitor_id, "lastshot", self->path, FC_MONITOR_LISTENING);
      goto out;
    }
  bytes = g_bytes_new_take (contents, len);
  basename = g_file_get_basename (self->file);
  batch = fc_import_csv_parse (basename, bytes, &error);
  if (batch == NULL || batch->shots->len == 0)
    {
      /* Most likely caught half-written: the next change or tick reads
       * it again. A file that stays unreadable shows as an error. */
      g_debug ("%s: %s", self->path, error ? error->message : "no shot");
      fc_hub_monitor_update (self->hub, self->monitor_id, "lastshot", self->path, FC_MONITOR_ERROR);
      self->seen_size = 0;
      goto out;
    }
  fc_hub_monitor_update (self->hub, self->monitor_id, "lastshot", self->path, FC_MONITOR_READY);
  fc_hub_monitor_message (self->hub, self->monitor_id, "Foresight FSX", FALSE);

  for (guint i = 0; i < batch->shots->len; i++)
    {
      FcShot *shot = g_ptr_array_index (batch->shots, i);
      g_autofree char *row = shot->raw ? g_compute_checksum_for_bytes (G_CHECKSUM_SHA1, shot->raw) : NULL;

      /* The same shot written again (or the file touched): nothing new. */
      if (row && g_strcmp0 (row, self->last_row) == 0)
        continue;
      g_free (self->last_row);
      self->last_row = g_steal_pointer (&row);

      shot = g_ptr_array_steal_index (batch->shots, i--);
      /* A live feed, not an import. FSX's Shot ID restarts with the
       * software, so the row itself (Shot ID and every value) is the
       * shot's identity: the same row is the same shot, however late. */
      shot->source_kind = FC_SOURCE_DEVICE;
      g_free (shot->source_protocol);
      shot->source_protocol = g_strdup ("foresight-lastshot");
      g_free (shot->device_id);
      shot->device_id = g_strdup (self->device_id);
      g_free (shot->device_shot_id);
      shot->device_shot_id = g_strdup (self->last_row);
      g_free (shot->source_detail);
      shot->source_detail = g_strdup (self->path);
      self->submitted++;
      fc_hub_submit_async (self->hub, self->monitor_id, shot, NULL, on_submitted, g_object_ref (self));
    }

out:
  if (self->recheck && self->file)
    {
      self->recheck = FALSE;
      read_file (self);
    }
}

static void
read_file (FcLastShotWatcher *self)
{
  if (self->reading)
    {
      self->recheck = TRUE;
      return;
    }
  self->reading = TRUE;
  g_file_load_contents_async (self->file, self->cancellable, on_loaded, g_object_ref (self));
}

void
fc_lastshot_watcher_check (FcLastShotWatcher *self)
{
  g_autoptr(GFileInfo) info = NULL;
  guint64 size, mtime;

  g_return_if_fail (FC_IS_LASTSHOT_WATCHER (self));

  if (self->file == NULL)
    return;
  /* A stat of one local file: cheap enough for the main thread. */
  info = g_file_query_info (self->file, G_FILE_ATTRIBUTE_STANDARD_SIZE "," G_FILE_ATTRIBUTE_TIME_MODIFIED ","
                            G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC, G_FILE_QUERY_INFO_NONE, NULL, NULL);
  if (info == NULL)
    {
      self->seen_size = 0;
      fc_hub_monitor_update (self->hub, self->monitor_id, "lastshot", self->path, FC_MONITOR_LISTENING);
      return;
    }
  size = g_file_info_get_size (info);
  mtime = g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED) * G_USEC_PER_SEC +
          g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC);
  if (size == self->seen_size && mtime == self->seen_mtime)
    return;
  self->seen_size = size;
  self->seen_mtime = mtime;
  read_file (self);
}

static gboolean
on_poll (gpointer user_data)
{
  fc_lastshot_watcher_check (user_data);
  return G_SOURCE_CONTINUE;
}

static void
on_dir_changed (GFileMonitor      *monitor,
                GFile             *file,
                GFile             *other,
                GFileMonitorEvent  event,
                gpointer           user_data)
{
  FcLastShotWatcher *self = user_data;

  /* FSX replaces the file: it may show up as created, changed, or moved
   * in under our name. */
  if ((file && g_file_equal (file, self->file)) || (other && g_file_equal (other, self->file)))
    fc_lastshot_watcher_check (self);
}

gboolean
fc_lastshot_watcher_start (FcLastShotWatcher  *self,
                           GError            **error)
{
  g_autoptr(GFile) dir = NULL;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (FC_IS_LASTSHOT_WATCHER (self), FALSE);

  dir = g_file_get_parent (self->file);
  if (dir == NULL || !g_file_query_exists (dir, NULL))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND,
                   "The folder of %s does not exist; check the LastShot.CSV path in FSX", self->path);
      return FALSE;
    }
  self->cancellable = g_cancellable_new ();
  self->dir_monitor = g_file_monitor_directory (dir, G_FILE_MONITOR_WATCH_MOVES, NULL, &local);
  if (self->dir_monitor)
    g_signal_connect_object (self->dir_monitor, "changed", G_CALLBACK (on_dir_changed), self, 0);
  else
    g_message ("%s: no change notifications (%s); checking every second", self->path, local->message);
  self->poll_source = g_timeout_add_seconds (1, on_poll, self);
  fc_hub_monitor_update (self->hub, self->monitor_id, "lastshot", self->path, FC_MONITOR_LISTENING);

  /* What is there already was shot before we started, possibly by an
   * earlier customer: remember it, do not put it into today's fitting.
   * (A shot FSX wrote while the agent was off is recovered by importing
   * FSX's session export.) */
  {
    g_autofree char *contents = NULL;
    gsize len;

    if (g_file_get_contents (self->path, &contents, &len, NULL))
      {
        g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&contents), len);
        g_autoptr(FcImportBatch) batch = fc_import_csv_parse ("LastShot.CSV", bytes, NULL);

        if (batch && batch->shots->len > 0)
          self->last_row = g_compute_checksum_for_bytes (G_CHECKSUM_SHA1,
                                                         ((FcShot *) g_ptr_array_index (batch->shots, batch->shots->len - 1))->raw);
      }
  }
  fc_lastshot_watcher_check (self);
  return TRUE;
}

void
fc_lastshot_watcher_stop (FcLastShotWatcher *self)
{
  g_return_if_fail (FC_IS_LASTSHOT_WATCHER (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->poll_source, g_source_remove);
  if (self->dir_monitor)
    g_file_monitor_cancel (self->dir_monitor);
  g_clear_object (&self->dir_monitor);
}

guint
fc_lastshot_watcher_get_submitted (FcLastShotWatcher *self)
{
  g_return_val_if_fail (FC_IS_LASTSHOT_WATCHER (self), 0);
  return self->submitted;
}

static void
fc_lastshot_watcher_dispose (GObject *object)
{
  FcLastShotWatcher *self = FC_LASTSHOT_WATCHER (object);

  fc_lastshot_watcher_stop (self);
  g_clear_object (&self->hub);
  g_clear_object (&self->file);

  G_OBJECT_CLASS (fc_lastshot_watcher_parent_class)->dispose (object);
}

static void
fc_lastshot_watcher_finalize (GObject *object)
{
  FcLastShotWatcher *self = FC_LASTSHOT_WATCHER (object);

  g_free (self->path);
  g_free (self->monitor_id);
  g_free (self->device_id);
  g_free (self->last_row);

  G_OBJECT_CLASS (fc_lastshot_watcher_parent_class)->finalize (object);
}

static void
fc_lastshot_watcher_class_init (FcLastShotWatcherClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fc_lastshot_watcher_dispose;
  object_class->finalize = fc_lastshot_watcher_finalize;
}

static void
fc_lastshot_watcher_init (FcLastShotWatcher *self)
{
}

FcLastShotWatcher *
fc_lastshot_watcher_new (FcHub      *hub,
                         const char *path)
{
  FcLastShotWatcher *self;

  g_return_val_if_fail (FC_IS_HUB (hub), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (FC_TYPE_LASTSHOT_WATCHER, NULL);
  self->hub = g_object_ref (hub);
  self->file = g_file_new_for_path (path);
  self->path = g_file_get_path (self->file);
  self->monitor_id = g_strdup_printf ("lastshot %s", self->path);
  self->device_id = g_strdup_printf ("foresight-lastshot/%s", self->path);
  return self;
}
