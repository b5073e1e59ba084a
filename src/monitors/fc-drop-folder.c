/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-drop-folder"

#include "fc-drop-folder.h"

#include "fc-error.h"
#include "fc-store.h"

typedef struct {
  guint64 size;
  guint64 mtime;
} Seen;

struct _FcDropFolder {
  GObject       parent_instance;

  char         *db_path;
  char         *bay;
  GFile        *folder;
  GFile        *imported;
  GFile        *failed;
  GHashTable   *seen;        /* name -> Seen*: the last scan's view of each file */
  GFileMonitor *monitor;
  guint         poll_source;
  GCancellable *cancellable;
  gboolean      busy;        /* one import at a time, in a worker thread */
};

G_DEFINE_FINAL_TYPE (FcDropFolder, fc_drop_folder, G_TYPE_OBJECT)

enum {
  IMPORTED,
  FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct {
  char    *db_path;
  char    *bay;
  GFile   *file;
  GFile   *imported;
  GFile   *failed;
  /* results */
  guint    inserted;
  guint    duplicates;
  char    *error;
} Job;

static void
job_free (Job *job)
{
  g_free (job->db_path);
  g_free (job->bay);
  g_clear_object (&job->file);
  g_clear_object (&job->imported);
  g_clear_object (&job->failed);
  g_free (job->error);
  g_free (job);
}

/* Moves @file into @dir without overwriting what is there. */
static gboolean
move_into (GFile   *file,
           GFile   *dir,
           GFile  **moved,
           GError **error)
{
  g_autofree char *name = g_file_get_basename (file);

  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *candidate = i == 0 ? g_strdup (name) : g_strdup_printf ("%u-%s", i, name);
      g_autoptr(GFile) target = g_file_get_child (dir, candidate);
      g_autoptr(GError) local = NULL;

      if (g_file_move (file, target, G_FILE_COPY_NONE, NULL, NULL, NULL, &local))
        {
          if (moved)
            *moved = g_steal_pointer (&target);
          return TRUE;
        }
      if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_EXISTS))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  g_set_error (error, FC_ERROR, FC_ERROR_FAILED, "Too many files named %s in the folder", name);
  return FALSE;
}

static void
import_in_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  Job *job = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = NULL;
  g_autoptr(FcImportBatch) batch = NULL;
  FcImportSummary summary = { 0 };

  batch = fc_import_parse_file (job->file, cancellable, &error);
  if (batch)
    store = fc_store_open (job->db_path, &error);
  if (store && fc_store_import (store, batch, NULL, NULL, job->bay, &summary, &error))
    {
      job->inserted = summary.inserted;
      job->duplicates = summary.duplicates;
      fc_import_summary_clear (&summary);
      if (!move_into (job->file, job->imported, NULL, &error))
        job->error = g_strdup_printf ("imported, but could not be moved to imported/: %s", error->message);
    }
  else
    {
      g_autoptr(GFile) moved = NULL;
      g_autoptr(GError) move_error = NULL;

      job->error = g_strdup (error->message);
      /* Kept, never deleted, with the reason beside it. */
      if (move_into (job->file, job->failed, &moved, &move_error))
        {
          g_autofree char *name = g_file_get_basename (moved);
          g_autofree char *note_name = g_strconcat (name, ".error.txt", NULL);
          g_autoptr(GFile) note = g_file_get_child (job->failed, note_name);
          g_autofree char *text = g_strconcat (job->error, "\n", NULL);

          g_file_replace_contents (note, text, strlen (text), NULL, FALSE, G_FILE_CREATE_NONE,
                                   NULL, NULL, NULL);
        }
    }
  g_task_return_boolean (task, TRUE);
}

static void scan (FcDropFolder *self);

static void
on_import_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  FcDropFolder *self = FC_DROP_FOLDER (source);
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autofree char *name = g_file_get_basename (job->file);

  self->busy = FALSE;
  g_hash_table_remove (self->seen, name);
  if (job->error)
    {
      g_message ("Drop folder: %s not imported: %s", name, job->error);
      g_signal_emit (self, signals[FAILED], 0, name, job->error);
    }
  else
    {
      g_message ("Drop folder: %s: %u shots imported, %u already stored", name, job->inserted, job->duplicates);
      g_signal_emit (self, signals[IMPORTED], 0, name, job->inserted, job->duplicates);
    }
  if (self->cancellable && !g_cancellable_is_cancelled (self->cancellable))
    scan (self);
}

static gboolean
wanted (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  return name[0] != '.' && (g_str_has_suffix (lower, ".csv") || g_str_has_suffix (lower, ".json"));
}

/* A file is imported once two scans a second apart saw the same size and
 * time: exporters write in several steps, and a half-written file would
 * fail (and land in failed/) for no good reason. */
static void
scan (FcDropFolder *self)
{
  g_autoptr(GFileEnumerator) children = NULL;
  g_autoptr(GHashTable) present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GFileInfo *info;
  GHashTableIter iter;
  gpointer key;

  if (self->busy || self->cancellable == NULL)
    return;
  children = g_file_enumerate_children (self->folder,
                                        G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE ","
                                        G_FILE_ATTRIBUTE_STANDARD_SIZE "," G_FILE_ATTRIBUTE_TIME_MODIFIED,
                                        G_FILE_QUERY_INFO_NONE, NULL, NULL);
  if (children == NULL)
    return;
  while (!self->busy && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
    {
      g_autoptr(GFileInfo) owned = info;
      const char *name = g_file_info_get_name (info);
      Seen now, *before;

      if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR || !wanted (name))
        continue;
      g_hash_table_add (present, g_strdup (name));
      now.size = g_file_info_get_size (info);
      now.mtime = g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED);
      before = g_hash_table_lookup (self->seen, name);
      if (before == NULL || before->size != now.size || before->mtime != now.mtime)
        {
          g_hash_table_insert (self->seen, g_strdup (name), g_memdup2 (&now, sizeof now));
          continue;
        }

      {
        g_autoptr(GTask) task = g_task_new (self, self->cancellable, on_import_done, NULL);
        Job *job = g_new0 (Job, 1);

        job->db_path = g_strdup (self->db_path);
        job->bay = g_strdup (self->bay);
        job->file = g_file_get_child (self->folder, name);
        job->imported = g_object_ref (self->imported);
        job->failed = g_object_ref (self->failed);
        g_task_set_task_data (task, job, (GDestroyNotify) job_free);
        self->busy = TRUE;
        g_task_run_in_thread (task, import_in_thread);
      }
    }

  /* Forget files that went away. */
  g_hash_table_iter_init (&iter, self->seen);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!self->busy && !g_hash_table_contains (present, key))
      g_hash_table_iter_remove (&iter);
}

void
fc_drop_folder_scan (FcDropFolder *self)
{
  g_return_if_fail (FC_IS_DROP_FOLDER (self));
  scan (self);
}

static gboolean
on_tick (gpointer user_data)
{
  scan (user_data);
  return G_SOURCE_CONTINUE;
}

gboolean
fc_drop_folder_start (FcDropFolder  *self,
                      GError       **error)
{
  g_return_val_if_fail (FC_IS_DROP_FOLDER (self), FALSE);

  for (GFile *dir = self->folder; dir; dir = dir == self->folder ? self->imported
                                           : dir == self->imported ? self->failed : NULL)
    {
      g_autoptr(GError) local = NULL;

      if (!g_file_make_directory_with_parents (dir, NULL, &local) &&
          !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_EXISTS))
        {
          g_autofree char *path = g_file_get_path (dir);
          g_set_error (error, FC_ERROR, FC_ERROR_READ_ONLY, "Cannot create the drop folder %s: %s",
                       path, local->message);
          return FALSE;
        }
    }
  self->cancellable = g_cancellable_new ();
  /* Notifications only hurry the next scan; the tick is what counts (it
   * also covers network folders without notifications). */
  self->monitor = g_file_monitor_directory (self->folder, G_FILE_MONITOR_NONE, NULL, NULL);
  if (self->monitor)
    g_signal_connect_object (self->monitor, "changed", G_CALLBACK (fc_drop_folder_scan), self, G_CONNECT_SWAPPED);
  self->poll_source = g_timeout_add_seconds (1, on_tick, self);
  scan (self);
  return TRUE;
}

void
fc_drop_folder_stop (FcDropFolder *self)
{
  g_return_if_fail (FC_IS_DROP_FOLDER (self));

  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->poll_source, g_source_remove);
  if (self->monitor)
    g_file_monitor_cancel (self->monitor);
  g_clear_object (&self->monitor);
}

static void
fc_drop_folder_dispose (GObject *object)
{
  FcDropFolder *self = FC_DROP_FOLDER (object);

  fc_drop_folder_stop (self);
  G_OBJECT_CLASS (fc_drop_folder_parent_class)->dispose (object);
}

static void
fc_drop_folder_finalize (GObject *object)
{
  FcDropFolder *self = FC_DROP_FOLDER (object);

  g_free (self->db_path);
  g_free (self->bay);
  g_clear_object (&self->folder);
  g_clear_object (&self->imported);
  g_clear_object (&self->failed);
  g_hash_table_unref (self->seen);

  G_OBJECT_CLASS (fc_drop_folder_parent_class)->finalize (object);
}

static void
fc_drop_folder_class_init (FcDropFolderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fc_drop_folder_dispose;
  object_class->finalize = fc_drop_folder_finalize;

  signals[IMPORTED] = g_signal_new ("imported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                    NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_UINT, G_TYPE_UINT);
  signals[FAILED] = g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                  NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
fc_drop_folder_init (FcDropFolder *self)
{
  self->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

FcDropFolder *
fc_drop_folder_new (const char *db_path,
                    const char *folder,
                    const char *bay)
{
  FcDropFolder *self;

  g_return_val_if_fail (db_path != NULL && folder != NULL, NULL);

  self = g_object_new (FC_TYPE_DROP_FOLDER, NULL);
  self->db_path = g_strdup (db_path);
  self->bay = g_strdup (bay ? bay : FC_STORE_DEFAULT_BAY);
  self->folder = g_file_new_for_path (folder);
  self->imported = g_file_get_child (self->folder, "imported");
  self->failed = g_file_get_child (self->folder, "failed");
  return self;
}
