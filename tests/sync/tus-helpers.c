/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tus-helpers"

#include "tus-helpers.h"

SoupSession *
tus_test_session (void)
{
  /* No proxy from the environment: tests talk to loopback only. */
  return soup_session_new_with_options ("proxy-resolver", NULL,
                                        "timeout", 30,
                                        NULL);
}

char *
tus_test_write_file (const char *dir,
                     const char *name,
                     gsize       size,
                     guint32     seed)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree guint8 *data = g_malloc (MAX (size, 1));
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) g_rand_int (rand);
  g_file_set_contents (path, (const char *) data, (gssize) size, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

char *
tus_test_sha256_file (const char *path)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, length);
}

void
tus_test_remove_dir (const char *path)
{
  g_autoptr(GFile) dir = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) children = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                                                   G_FILE_QUERY_INFO_NONE, NULL, NULL);
  GFileInfo *info;

  while (children != NULL && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
    {
      g_autoptr(GFile) child = g_file_get_child (dir, g_file_info_get_name (info));

      g_file_delete (child, NULL, NULL);
      g_object_unref (info);
    }
  g_file_delete (dir, NULL, NULL);
}

static void
state_changed_cb (FcTusUpload      *upload,
                  const FcTusState *state,
                  gpointer          user_data)
{
  TusWatch *watch = user_data;

  g_ptr_array_add (watch->states, fc_tus_state_copy (state));
  if (watch->on_state != NULL)
    watch->on_state (watch->on_state_data, state);
}

static void
progress_cb (FcTusUpload *upload,
             guint64      acknowledged,
             guint64      total,
             double       rate,
             gpointer     user_data)
{
  TusWatch *watch = user_data;

  /* Only an upload that starts over (expired, file changed) goes back. */
  if (acknowledged < watch->last_progress)
    watch->progress_backwards++;
  g_assert_cmpuint (acknowledged, <=, total);
  watch->last_progress = acknowledged;
  watch->progress_total = total;
  watch->last_rate = rate;
  watch->progress_calls++;
}

TusWatch *
tus_watch_new (FcTusUpload *upload)
{
  TusWatch *watch = g_new0 (TusWatch, 1);

  watch->upload = g_object_ref (upload);
  watch->states = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_tus_state_free);
  g_signal_connect (upload, "state-changed", G_CALLBACK (state_changed_cb), watch);
  g_signal_connect (upload, "progress", G_CALLBACK (progress_cb), watch);
  return watch;
}

void
tus_watch_free (TusWatch *watch)
{
  g_signal_handlers_disconnect_by_data (watch->upload, watch);
  g_object_unref (watch->upload);
  g_ptr_array_unref (watch->states);
  g_free (watch);
}

const FcTusState *
tus_watch_last (TusWatch *watch)
{
  if (watch->states->len == 0)
    return NULL;
  return g_ptr_array_index (watch->states, watch->states->len - 1);
}

typedef struct {
  gboolean  done;
  gboolean  ok;
  GError   *error;
} RunResult;

static void
run_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  RunResult *res = user_data;

  res->ok = fc_tus_upload_run_finish (FC_TUS_UPLOAD (source), result, &res->error);
  res->done = TRUE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
tus_test_run (FcTusUpload  *upload,
              GCancellable *cancellable,
              guint         timeout_s,
              GError      **error)
{
  RunResult res = { 0 };
  gboolean expired = FALSE;
  guint timer = g_timeout_add_seconds (timeout_s, timeout_cb, &expired);

  fc_tus_upload_run_async (upload, cancellable, run_cb, &res);
  while (!res.done && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (timer);
  if (!res.done)
    g_error ("The upload did not finish within %u s", timeout_s);
  if (res.error != NULL)
    g_propagate_error (error, res.error);
  return res.ok;
}
