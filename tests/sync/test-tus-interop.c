/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * FcTusUpload against the reference tus server, @tus/server with
 * @tus/file-store (tests/tus-interop, pinned in its package-lock.json and
 * installed by tools/install-deps.sh), run by Node on 127.0.0.1 behind a
 * TCP relay that can cut connections. The stored file must be
 * byte-identical after creation, a connection cut mid-PATCH, a server
 * killed mid-upload and restarted on the same directory, and a 409 offset
 * mismatch. The file store ignores Upload-Checksum, so checksums are
 * tested against the double in test-tus-upload.c.
 */
#define G_LOG_DOMAIN "test-tus-interop"

#include <string.h>
#ifdef __linux__
#include <signal.h>
#include <sys/prctl.h>
#endif

#include "fc-error.h"
#include "fc-tus-upload.h"
#include "cut-proxy.h"
#include "tus-helpers.h"

#define MiB (1024 * 1024)

typedef struct {
  char        *dir;         /* the file store's directory */
  char        *work;        /* the files to upload */
  GSubprocess *node;
  guint16      node_port;
  CutProxy    *proxy;
  char        *endpoint;
  SoupSession *session;
  GPtrArray   *log;         /* "METHOD status" of every request */
} Fixture;

static gboolean
read_port_timeout_cb (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

static void
read_line_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  char **line = user_data;
  g_autoptr(GError) error = NULL;

  *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                     NULL, &error);
  if (*line == NULL)
    *line = g_strdup (error != NULL ? error->message : "(end of output)");
}

/* A test that aborts must not leave the server running. */
static void
die_with_parent (gpointer user_data)
{
#ifdef __linux__
  prctl (PR_SET_PDEATHSIG, SIGKILL);
#endif
}

static void
start_node (Fixture *fx)
{
  const char *node = g_getenv ("NODE");
  const char *srcdir = g_getenv ("TUS_INTEROP_DIR");
  g_autofree char *script = g_build_filename (srcdir, "server.mjs", NULL);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *line = NULL;
  gboolean expired = FALSE;
  guint timer;
  guint64 port;

  g_subprocess_launcher_set_cwd (launcher, srcdir);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  fx->node = g_subprocess_launcher_spawn (launcher, &error, node, script, fx->dir, NULL);
  g_assert_no_error (error);

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (fx->node));
  timer = g_timeout_add_seconds (20, read_port_timeout_cb, &expired);
  g_data_input_stream_read_line_async (out, G_PRIORITY_DEFAULT, cancellable, read_line_cb, &line);
  while (line == NULL && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (line == NULL)
    {
      g_cancellable_cancel (cancellable);
      while (line == NULL)
        g_main_context_iteration (NULL, TRUE);
      g_error ("The tus server did not start within 20 s");
    }
  g_source_remove (timer);
  if (!g_str_has_prefix (line, "PORT ") ||
      !g_ascii_string_to_unsigned (line + 5, 10, 1, 65535, &port, NULL))
    g_error ("The tus server said “%s” instead of its port", line);
  fx->node_port = (guint16) port;
  if (fx->proxy != NULL)
    cut_proxy_set_upstream (fx->proxy, fx->node_port);
}

static void
stop_node (Fixture *fx)
{
  g_autoptr(GError) error = NULL;

  if (fx->node == NULL)
    return;
  /* SIGKILL: a crash, not a shutdown. */
  g_subprocess_force_exit (fx->node);
  g_subprocess_wait (fx->node, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&fx->node);
}

static gboolean
have_server (void)
{
  const char *node = g_getenv ("NODE");
  const char *srcdir = g_getenv ("TUS_INTEROP_DIR");
  g_autofree char *modules = NULL;

  if (node == NULL || *node == '\0' || srcdir == NULL)
    return FALSE;
  modules = g_build_filename (srcdir, "node_modules", "@tus", "server", "package.json", NULL);
  return g_file_test (modules, G_FILE_TEST_EXISTS);
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  if (!have_server ())
    return;
  fx->dir = g_dir_make_tmp ("tus-interop-store-XXXXXX", &error);
  g_assert_no_error (error);
  fx->work = g_dir_make_tmp ("tus-interop-work-XXXXXX", &error);
  g_assert_no_error (error);
  start_node (fx);
  fx->proxy = cut_proxy_new (fx->node_port);
  fx->endpoint = g_strdup_printf ("http://127.0.0.1:%u/files/", cut_proxy_get_port (fx->proxy));
  fx->session = tus_test_session ();
  fx->log = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  if (fx->dir == NULL)
    return;
  g_clear_object (&fx->session);
  stop_node (fx);
  g_clear_pointer (&fx->proxy, cut_proxy_free);
  tus_test_remove_dir (fx->dir);
  tus_test_remove_dir (fx->work);
  g_free (fx->dir);
  g_free (fx->work);
  g_free (fx->endpoint);
  g_ptr_array_unref (fx->log);
}

/* Without the server, the tests cannot say anything: a skip locally, a
 * failure in CI, where tools/install-deps.sh must have installed it. */
static gboolean
need_server (void)
{
  if (have_server ())
    return TRUE;
  if (g_strcmp0 (g_getenv ("CI"), "true") == 0)
    {
      g_test_fail_printf ("No Node or no tests/tus-interop/node_modules: "
                          "tools/install-deps.sh did not install the tus server");
      return FALSE;
    }
  g_test_skip ("No Node or no tests/tus-interop/node_modules (run tools/install-deps.sh)");
  return FALSE;
}

static void
finished_cb (SoupMessage *msg,
             gpointer     user_data)
{
  GPtrArray *log = user_data;

  g_ptr_array_add (log, g_strdup_printf ("%s %u", soup_message_get_method (msg),
                                         soup_message_get_status (msg)));
}

static void
log_requests (FcTusUpload *upload,
              SoupMessage *msg,
              gpointer     user_data)
{
  g_signal_connect (msg, "finished", G_CALLBACK (finished_cb), user_data);
}

static gboolean
log_has (Fixture    *fx,
         const char *entry)
{
  for (guint i = 0; i < fx->log->len; i++)
    if (g_str_equal (g_ptr_array_index (fx->log, i), entry))
      return TRUE;
  return FALSE;
}

static FcTusUpload *
new_upload (Fixture          *fx,
            const char       *path,
            const FcTusState *state)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  FcTusUpload *upload;

  g_hash_table_insert (metadata, "filename", "swing.mp4");
  g_hash_table_insert (metadata, "content_type", "video/mp4");
  upload = fc_tus_upload_new (fx->session, fx->endpoint, file, metadata, state);
  fc_tus_upload_set_request_hook (upload, log_requests, fx->log, NULL);
  return upload;
}

/* The file the store wrote for the upload at @url. */
static char *
stored_path (Fixture    *fx,
             const char *url)
{
  const char *id = strrchr (url, '/');

  g_assert_nonnull (id);
  return g_build_filename (fx->dir, id + 1, NULL);
}

static void
assert_stored (Fixture    *fx,
               FcTusUpload *upload,
               const char *path)
{
  const FcTusState *state = fc_tus_upload_get_state (upload);
  g_autofree char *stored = stored_path (fx, state->upload_url);
  g_autofree char *expected = tus_test_sha256_file (path);
  g_autofree char *got = tus_test_sha256_file (stored);

  g_assert_cmpuint (state->offset, ==, state->size);
  g_assert_cmpstr (got, ==, expected);
  g_assert_cmpstr (state->sha256, ==, expected);
}

static void
test_full (Fixture       *fx,
           gconstpointer  unused)
{
  g_autofree char *path = NULL;
  g_autoptr(FcTusUpload) upload = NULL;
  g_autoptr(TusWatch) watch = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stored = NULL;
  g_autofree char *json_path = NULL;
  g_autofree char *json = NULL;

  if (!need_server ())
    return;
  path = tus_test_write_file (fx->work, "swing.mp4", 5 * MiB + 123, 21);
  upload = new_upload (fx, path, NULL);
  watch = tus_watch_new (upload);
  fc_tus_upload_set_chunk_size (upload, MiB);
  g_assert_true (tus_test_run (upload, NULL, 60, &error));
  g_assert_no_error (error);
  assert_stored (fx, upload, path);
  g_assert_cmpuint (fc_tus_upload_get_patch_count (upload), ==, 6);
  g_assert_cmpuint (watch->last_progress, ==, 5 * MiB + 123);
  g_assert_true (log_has (fx, "POST 201"));

  /* The file store kept our metadata. */
  stored = stored_path (fx, fc_tus_upload_get_state (upload)->upload_url);
  json_path = g_strconcat (stored, ".json", NULL);
  g_assert_true (g_file_get_contents (json_path, &json, NULL, NULL));
  g_assert_nonnull (strstr (json, "swing.mp4"));
  g_assert_nonnull (strstr (json, fc_tus_upload_get_state (upload)->sha256));
}

static void
test_cut_mid_patch (Fixture       *fx,
                    gconstpointer  unused)
{
  g_autofree char *path = NULL;
  g_autoptr(FcTusUpload) upload = NULL;
  g_autoptr(TusWatch) watch = NULL;
  g_autoptr(GError) error = NULL;
  const FcTusState *state;
  guint64 resumed_at = 0;
  guint runs = 0;

  if (!need_server ())
    return;
  path = tus_test_write_file (fx->work, "swing.mp4", 8 * MiB, 22);
  upload = new_upload (fx, path, NULL);
  fc_tus_upload_set_chunk_size (upload, 4 * MiB);
  /* OPTIONS and POST are well under 4 KiB: the cut falls 1.5 MiB into
   * the first PATCH body. */
  cut_proxy_cut_after (fx->proxy, 3 * MiB / 2);
  g_assert_false (tus_test_run (upload, NULL, 60, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NETWORK);
  g_clear_error (&error);
  g_assert_cmpuint (cut_proxy_get_cuts (fx->proxy), ==, 1);
  state = fc_tus_upload_get_state (upload);
  g_assert_nonnull (state->upload_url);
  g_assert_cmpuint (state->offset, ==, 0);

  /* The next run asks the server (HEAD) and goes on from the bytes it
   * kept of the cut PATCH, which is not where a chunk starts. */
  watch = tus_watch_new (upload);
  while (!tus_test_run (upload, NULL, 60, &error) && runs++ < 3)
    {
      g_test_message ("resume run failed: %s", error->message);
      g_clear_error (&error);
    }
  g_assert_no_error (error);
  g_assert_true (log_has (fx, "HEAD 200"));
  for (guint i = 0; i < watch->states->len && resumed_at == 0; i++)
    resumed_at = ((FcTusState *) g_ptr_array_index (watch->states, i))->offset;
  g_test_message ("the server kept %" G_GUINT64_FORMAT " bytes of the cut PATCH", resumed_at);
  g_assert_cmpuint (resumed_at, >, 0);
  g_assert_cmpuint (resumed_at, <=, 3 * MiB / 2);
  assert_stored (fx, upload, path);
}

typedef struct {
  Fixture *fx;
  guint64  kill_at;
  gboolean scheduled;
  gboolean killed;
} KillAt;

static gboolean
kill_cb (gpointer user_data)
{
  KillAt *at = user_data;

  if (!at->killed)
    {
      stop_node (at->fx);
      at->killed = TRUE;
    }
  return G_SOURCE_REMOVE;
}

static void
kill_on_state (gpointer          user_data,
               const FcTusState *state)
{
  KillAt *at = user_data;

  /* Some chunks in, and the next PATCH under way when the server dies. */
  if (!at->scheduled && state->offset >= at->kill_at)
    {
      at->scheduled = TRUE;
      g_timeout_add (150, kill_cb, at);
    }
}

static void
test_server_restart (Fixture       *fx,
                     gconstpointer  unused)
{
  g_autofree char *path = NULL;
  g_autoptr(FcTusUpload) first = NULL;
  g_autoptr(FcTusUpload) second = NULL;
  g_autoptr(TusWatch) watch = NULL;
  g_autoptr(FcTusState) saved = NULL;
  g_autoptr(GError) error = NULL;
  KillAt at = { fx, 2 * MiB, FALSE, FALSE };
  g_autofree char *stored = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GFile) stored_file = NULL;
  guint64 on_disk;

  if (!need_server ())
    return;
  path = tus_test_write_file (fx->work, "swing.mp4", 12 * MiB, 23);
  first = new_upload (fx, path, NULL);
  watch = tus_watch_new (first);
  fc_tus_upload_set_chunk_size (first, 2 * MiB);
  /* 4 MiB/s: a 2 MiB PATCH takes half a second, so the kill 150 ms after
   * an acknowledgement lands inside the next one. */
  fc_tus_upload_set_bandwidth_limit (first, 4 * MiB);
  watch->on_state = kill_on_state;
  watch->on_state_data = &at;
  g_assert_false (tus_test_run (first, NULL, 60, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NETWORK);
  g_clear_error (&error);
  g_assert_true (at.killed);
  saved = fc_tus_state_copy (tus_watch_last (watch));
  g_clear_pointer (&watch, tus_watch_free);
  g_clear_object (&first);
  g_assert_cmpuint (saved->offset, >=, 2 * MiB);
  g_assert_cmpuint (saved->offset, <, 12 * MiB);

  stored = stored_path (fx, saved->upload_url);
  stored_file = g_file_new_for_path (stored);
  info = g_file_query_info (stored_file, G_FILE_ATTRIBUTE_STANDARD_SIZE, G_FILE_QUERY_INFO_NONE,
                            NULL, &error);
  g_assert_no_error (error);
  on_disk = (guint64) g_file_info_get_size (info);
  g_test_message ("acknowledged %" G_GUINT64_FORMAT ", on disk after the kill %" G_GUINT64_FORMAT,
                  saved->offset, on_disk);
  g_assert_cmpuint (on_disk, >=, saved->offset);

  /* The server comes back (on another port, behind the same address) and
   * a fresh object, as after an agent crash, resumes from the saved state,
   * here with an offset the store never had: HEAD puts that right. */
  start_node (fx);
  saved->offset += 12345;
  second = new_upload (fx, path, saved);
  fc_tus_upload_set_chunk_size (second, 2 * MiB);
  g_assert_true (tus_test_run (second, NULL, 60, &error));
  g_assert_no_error (error);
  g_assert_true (log_has (fx, "HEAD 200"));
  g_assert_cmpstr (fc_tus_upload_get_state (second)->upload_url, ==, saved->upload_url);
  assert_stored (fx, second, path);
}

/* Another writer (a second agent process holding the same saved state)
 * appends to the upload between two of our chunks. */
typedef struct {
  Fixture    *fx;
  const char *path;
  gboolean    done;
} Intruder;

static void
intrude_on_state (gpointer          user_data,
                  const FcTusState *state)
{
  Intruder *in = user_data;
  g_autoptr(SoupSession) other = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *offset = NULL;
  g_autofree char *url = NULL;
  gsize length = 0;

  if (in->done || state->offset < MiB)
    return;
  in->done = TRUE;

  /* Straight to the server: the relay accepts on this (blocked) thread's
   * main loop. */
  url = g_strdup_printf ("http://127.0.0.1:%u/files%s", in->fx->node_port,
                         strrchr (state->upload_url, '/'));

  g_assert_true (g_file_get_contents (in->path, &contents, &length, NULL));
  other = tus_test_session ();
  msg = soup_message_new ("PATCH", url);
  offset = g_strdup_printf ("%" G_GUINT64_FORMAT, state->offset);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Tus-Resumable", "1.0.0");
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Upload-Offset", offset);
  {
    g_autoptr(GBytes) body = g_bytes_new (contents + state->offset, 100000);

    soup_message_set_request_body_from_bytes (msg, "application/offset+octet-stream", body);
  }
  reply = soup_session_send_and_read (other, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_NO_CONTENT);
}

static void
test_conflict (Fixture       *fx,
               gconstpointer  unused)
{
  g_autofree char *path = NULL;
  g_autoptr(FcTusUpload) upload = NULL;
  g_autoptr(TusWatch) watch = NULL;
  g_autoptr(GError) error = NULL;
  Intruder in = { fx, NULL, FALSE };
  gboolean ok;

  if (!need_server ())
    return;
  path = tus_test_write_file (fx->work, "swing.mp4", 3 * MiB, 24);
  in.path = path;
  upload = new_upload (fx, path, NULL);
  watch = tus_watch_new (upload);
  /* The refused PATCH may still be on its way when @tus/server answers 409;
   * the relay in between then drains the rest so that the answer reaches
   * us (see cut-proxy.c), as it would through any TCP relay. */
  fc_tus_upload_set_chunk_size (upload, MiB);
  watch->on_state = intrude_on_state;
  watch->on_state_data = &in;
  ok = tus_test_run (upload, NULL, 60, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_true (in.done);
  /* Our PATCH at 1 MiB was refused with 409; HEAD found 1 MiB + 100000. */
  g_assert_true (log_has (fx, "PATCH 409"));
  g_assert_true (log_has (fx, "HEAD 200"));
  assert_stored (fx, upload, path);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/tus-interop/full", test_full);
  ADD ("/tus-interop/cut-mid-patch", test_cut_mid_patch);
  ADD ("/tus-interop/server-restart", test_server_restart);
  ADD ("/tus-interop/conflict", test_conflict);
#undef ADD

  return g_test_run ();
}
