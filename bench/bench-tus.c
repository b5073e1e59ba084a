/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Upload throughput: one file (200 MB of random bytes by default) sent
 * with FcTusUpload and with a plain single PUT streamed from the same file
 * by libsoup, to the same server process, in turn, 5 runs each. The PUT
 * runs twice: with the file's stream as it is and through a 1 MiB
 * buffer (the stronger baseline). Prints the medians and the ratios
 * (target: tus ≥ 90 % of the PUT).
 *
 *   bench-tus [--server devcloud|node] [--size-mib N] [--runs N]
 *             [--chunk-mib N] [--streamed] [--checksum sha256|sha1|none]
 *
 * devcloud: fitclip-devcloud serve (tus at /files/ with checksums, PUT
 * /_bench/blob stored the way a PATCH is); node: @tus/server with
 * @tus/file-store plus a PUT handler writing with the same fs streams
 * (tests/tus-interop/server.mjs, after tools/install-deps.sh).
 */
#define G_LOG_DOMAIN "bench-tus"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <libsoup/soup.h>

#include "fc-tus-upload.h"

#ifndef BENCH_DEVCLOUD
#define BENCH_DEVCLOUD ""
#endif
#ifndef BENCH_TUS_INTEROP_DIR
#define BENCH_TUS_INTEROP_DIR ""
#endif

#define EMAIL "bench@fitclip.test"
#define PASSWORD "bench-password-1"
#define FITTING_ID "6f1c2a3e-0000-4000-8000-00000000be01"

static char *opt_server = NULL;
static int opt_size_mib = 200;
static int opt_runs = 5;
static int opt_chunk_mib = 0;
static gboolean opt_streamed = FALSE;
static char *opt_checksum = NULL;

static GOptionEntry entries[] = {
  { "server", 0, 0, G_OPTION_ARG_STRING, &opt_server, "devcloud (default when built) or node", "NAME" },
  { "size-mib", 0, 0, G_OPTION_ARG_INT, &opt_size_mib, "File size in MiB (default 200)", "N" },
  { "runs", 0, 0, G_OPTION_ARG_INT, &opt_runs, "Runs of each (default 5)", "N" },
  { "chunk-mib", 0, 0, G_OPTION_ARG_INT, &opt_chunk_mib, "tus chunk size in MiB (default: the uploader's)", "N" },
  { "streamed", 0, 0, G_OPTION_ARG_NONE, &opt_streamed, "Stream PATCH bodies from the file instead of buffering each chunk", NULL },
  { "checksum", 0, 0, G_OPTION_ARG_STRING, &opt_checksum, "sha256 (default), sha1 or none", "ALG" },
  { NULL }
};

typedef struct {
  GSubprocess *process;
  char        *base;       /* http://127.0.0.1:PORT */
  char        *token;      /* bearer, or NULL */
  gboolean     devcloud;
} Server;

static char *
read_first_line (GSubprocess *process)
{
  g_autoptr(GDataInputStream) out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  g_autoptr(GError) error = NULL;
  char *line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);

  if (line == NULL)
    g_error ("The server did not start: %s", error ? error->message : "no output");
  return line;
}

static void
run_checked (const char * const *argv)
{
  g_autoptr(GSubprocess) p = NULL;
  g_autoptr(GError) error = NULL;

  p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error);
  if (p == NULL || !g_subprocess_wait_check (p, NULL, &error))
    g_error ("%s: %s", argv[0], error->message);
}

static GBytes *
send_json (SoupSession *session,
           const char  *method,
           const char  *url,
           const char  *token,
           const char  *body,
           guint        expect)
{
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GBytes) request = g_bytes_new (body, strlen (body));
  g_autoptr(GError) error = NULL;
  GBytes *reply;

  soup_message_set_request_body_from_bytes (msg, "application/json", request);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Idempotency-Key", "bench-1");
  if (token != NULL)
    {
      g_autofree char *auth = g_strdup_printf ("Bearer %s", token);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  reply = soup_session_send_and_read (session, msg, NULL, &error);
  if (reply == NULL)
    g_error ("%s %s: %s", method, url, error->message);
  if (soup_message_get_status (msg) != expect)
    g_error ("%s %s: %u %.*s", method, url, soup_message_get_status (msg),
             (int) g_bytes_get_size (reply), (const char *) g_bytes_get_data (reply, NULL));
  return reply;
}

static void
start_devcloud (Server      *server,
                SoupSession *session,
                const char  *dir)
{
  g_autofree char *db = g_build_filename (dir, "devcloud.sqlite", NULL);
  g_autofree char *files = g_build_filename (dir, "devcloud-files", NULL);
  g_autofree char *db_arg = g_strdup_printf ("--db=%s", db);
  g_autofree char *files_arg = g_strdup_printf ("--files-dir=%s", files);
  const char *add_user[] = { BENCH_DEVCLOUD, "add-user", db_arg, "--email=" EMAIL,
                             "--password=" PASSWORD, "--shop=Bench", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autofree char *text = NULL;
  char *start;
  char *end;

  run_checked (add_user);
  server->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                      BENCH_DEVCLOUD, "serve", db_arg, files_arg,
                                      "--listen=127.0.0.1:0", NULL);
  if (server->process == NULL)
    g_error ("fitclip-devcloud: %s", error->message);
  line = read_first_line (server->process);
  if (!g_str_has_prefix (line, "listening on "))
    g_error ("fitclip-devcloud said “%s”", line);
  server->base = g_strdup (line + strlen ("listening on "));
  server->devcloud = TRUE;

  url = g_strdup_printf ("%s/auth/login", server->base);
  reply = send_json (session, "POST", url, NULL,
                     "{\"email\":\"" EMAIL "\",\"password\":\"" PASSWORD "\"}", 200);
  text = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
  start = strstr (text, "\"access_token\":\"");
  if (start == NULL)
    g_error ("No access token in %s", text);
  start += strlen ("\"access_token\":\"");
  end = strchr (start, '"');
  server->token = g_strndup (start, (gsize) (end - start));

  g_clear_pointer (&url, g_free);
  g_clear_pointer (&reply, g_bytes_unref);
  url = g_strdup_printf ("%s/api/v1/fittings", server->base);
  reply = send_json (session, "POST", url, server->token,
                     "{\"fitting\":{\"id\":\"" FITTING_ID "\",\"type\":\"driver\",\"bay\":\"1\","
                     "\"status\":\"open\",\"started_at\":\"2026-01-01T10:00:00Z\"},"
                     "\"customer\":null}", 201);
}

static void
start_node (Server     *server,
            const char *dir)
{
  g_autofree char *node = g_find_program_in_path ("node");
  g_autofree char *script = g_build_filename (BENCH_TUS_INTEROP_DIR, "server.mjs", NULL);
  g_autofree char *store = g_build_filename (dir, "tus-store", NULL);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  if (node == NULL)
    g_error ("No node on PATH (tools/install-deps.sh installs it)");
  g_subprocess_launcher_set_cwd (launcher, BENCH_TUS_INTEROP_DIR);
  server->process = g_subprocess_launcher_spawn (launcher, &error, node, script, store, NULL);
  if (server->process == NULL)
    g_error ("node: %s", error->message);
  line = read_first_line (server->process);
  if (!g_str_has_prefix (line, "PORT "))
    g_error ("server.mjs said “%s”", line);
  server->base = g_strdup_printf ("http://127.0.0.1:%s", line + 5);
}

/* ------------------------------------------------------------------ */

typedef struct {
  gboolean done;
  gboolean ok;
  GError  *error;
  GBytes  *body;
} Wait;

static void
tus_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Wait *w = user_data;

  w->ok = fc_tus_upload_run_finish (FC_TUS_UPLOAD (source), result, &w->error);
  w->done = TRUE;
}

static void
put_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Wait *w = user_data;

  w->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &w->error);
  w->ok = w->body != NULL;
  w->done = TRUE;
}

static void
add_token (FcTusUpload *upload,
           SoupMessage *msg,
           gpointer     user_data)
{
  const char *token = user_data;
  g_autofree char *auth = NULL;

  if (token == NULL)
    return;
  auth = g_strdup_printf ("Bearer %s", token);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
}

static double
run_tus (Server      *server,
         SoupSession *session,
         GFile       *file,
         guint        run)
{
  g_autofree char *endpoint = g_strdup_printf ("%s/files/", server->base);
  g_autoptr(GHashTable) metadata = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autoptr(FcTusUpload) upload = NULL;
  g_autoptr(SoupMessage) del = NULL;
  g_autoptr(GBytes) reply = NULL;
  Wait w = { 0 };
  gint64 start;
  double seconds;

  g_hash_table_insert (metadata, "filename", g_strdup ("bench.mp4"));
  g_hash_table_insert (metadata, "content_type", g_strdup ("video/mp4"));
  if (server->devcloud)
    {
      g_hash_table_insert (metadata, "fitting_id", g_strdup (FITTING_ID));
      g_hash_table_insert (metadata, "video_id", g_uuid_string_random ());
    }
  upload = fc_tus_upload_new (session, endpoint, file, metadata, NULL);
  fc_tus_upload_set_request_hook (upload, add_token, server->token, NULL);
  if (opt_chunk_mib > 0)
    fc_tus_upload_set_chunk_size (upload, (guint64) opt_chunk_mib * 1024 * 1024);
  fc_tus_upload_set_buffer_chunks (upload, !opt_streamed);
  if (g_strcmp0 (opt_checksum, "none") == 0)
    fc_tus_upload_set_checksum_algorithm (upload, NULL);
  else if (opt_checksum != NULL)
    fc_tus_upload_set_checksum_algorithm (upload, opt_checksum);

  start = g_get_monotonic_time ();
  fc_tus_upload_run_async (upload, NULL, tus_done_cb, &w);
  while (!w.done)
    g_main_context_iteration (NULL, TRUE);
  seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  if (!w.ok)
    g_error ("tus run %u: %s", run, w.error->message);

  /* Free the server's disk for the next run. */
  del = soup_message_new ("DELETE", fc_tus_upload_get_state (upload)->upload_url);
  soup_message_headers_replace (soup_message_get_request_headers (del), "Tus-Resumable", "1.0.0");
  add_token (upload, del, server->token);
  reply = soup_session_send_and_read (session, del, NULL, NULL);
  return seconds;
}

/* @buffer_size 0: the file's own stream, as an application would pass it
 * (GIO's splice then reads it 8 KiB at a time through the thread pool);
 * otherwise through a GBufferedInputStream of that size. */
static double
run_put (Server      *server,
         SoupSession *session,
         GFile       *file,
         goffset      size,
         gsize        buffer_size,
         guint        run)
{
  g_autoptr(GInputStream) body = NULL;
  g_autofree char *url = g_strdup_printf ("%s/_bench/blob", server->base);
  g_autoptr(SoupMessage) msg = soup_message_new ("PUT", url);
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  Wait w = { 0 };
  gint64 start;
  double seconds;
  guint status;

  if (server->token != NULL)
    {
      g_autofree char *auth = g_strdup_printf ("Bearer %s", server->token);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }

  start = g_get_monotonic_time ();
  stream = g_file_read (file, NULL, &error);
  if (stream == NULL)
    g_error ("%s", error->message);
  body = buffer_size > 0
         ? g_buffered_input_stream_new_sized (G_INPUT_STREAM (stream), buffer_size)
         : g_object_ref (G_INPUT_STREAM (stream));
  soup_message_set_request_body (msg, "application/octet-stream", body, size);
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, put_done_cb, &w);
  while (!w.done)
    g_main_context_iteration (NULL, TRUE);
  seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  status = soup_message_get_status (msg);
  if (!w.ok || !SOUP_STATUS_IS_SUCCESSFUL (status))
    g_error ("PUT run %u: %s (%u)", run, w.error ? w.error->message : "HTTP error", status);
  g_bytes_unref (w.body);
  return seconds;
}

/* The same PUT by curl, when installed: how fast the server takes a body
 * from a client that is not libsoup (context for the figures, not the
 * target's baseline). */
static double
run_curl (Server     *server,
          const char *curl,
          const char *path,
          guint       run)
{
  g_autofree char *url = g_strdup_printf ("%s/_bench/blob", server->base);
  g_autofree char *auth = g_strdup_printf ("Authorization: Bearer %s",
                                           server->token ? server->token : "none");
  g_autoptr(GSubprocess) p = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, curl, "-sS", "-f",
                        "-o", "/dev/null", "-T", path, "-H", auth,
                        "-H", "Content-Type: application/octet-stream", url, NULL);
  if (p == NULL || !g_subprocess_wait_check (p, NULL, &error))
    g_error ("curl run %u: %s", run, error->message);
  return (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median (double *values,
        guint   n)
{
  g_autofree double *copy = g_memdup2 (values, n * sizeof *values);

  qsort (copy, n, sizeof *copy, compare_double);
  return n % 2 ? copy[n / 2] : (copy[n / 2 - 1] + copy[n / 2]) / 2.0;
}

static void
write_random_file (const char *path,
                   gsize       size)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileOutputStream) out = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261122);
  g_autofree guint32 *block = g_new (guint32, 1024 * 1024 / 4);
  g_autoptr(GError) error = NULL;
  gsize written = 0;

  out = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
  if (out == NULL)
    g_error ("%s", error->message);
  while (written < size)
    {
      gsize n = MIN (size - written, (gsize) 1024 * 1024);

      for (gsize i = 0; i < 1024 * 1024 / 4; i++)
        block[i] = g_rand_int (rand);
      if (!g_output_stream_write_all (G_OUTPUT_STREAM (out), block, n, NULL, NULL, &error))
        g_error ("%s", error->message);
      written += n;
    }
  g_output_stream_close (G_OUTPUT_STREAM (out), NULL, NULL);
}

static void
remove_tree (GFile *dir)
{
  g_autoptr(GFileEnumerator) children = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                                                   G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                                                   G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS,
                                                                   NULL, NULL);
  GFileInfo *info;

  while (children != NULL && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
    {
      g_autoptr(GFile) child = g_file_get_child (dir, g_file_info_get_name (info));

      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        remove_tree (child);
      else
        g_file_delete (child, NULL, NULL);
      g_object_unref (info);
    }
  g_file_delete (dir, NULL, NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- tus vs single PUT upload throughput");
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFile) dir_file = NULL;
  g_autofree double *tus = NULL;
  g_autofree double *put = NULL;
  g_autofree double *put_buffered = NULL;
  g_autofree double *curl_put = NULL;
  g_autofree char *curl = g_find_program_in_path ("curl");
  Server server = { 0 };
  gsize size;
  double mb;
  double tus_median;
  double put_median;
  double put_buffered_median;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_server == NULL)
    opt_server = g_strdup (*BENCH_DEVCLOUD != '\0' ? "devcloud" : "node");
  if (opt_runs < 1 || opt_size_mib < 1)
    {
      g_printerr ("--runs and --size-mib must be at least 1\n");
      return 2;
    }

  dir = g_dir_make_tmp ("bench-tus-XXXXXX", &error);
  if (dir == NULL)
    g_error ("%s", error->message);
  dir_file = g_file_new_for_path (dir);
  path = g_build_filename (dir, "upload.bin", NULL);
  size = (gsize) opt_size_mib * 1000 * 1000;
  write_random_file (path, size);
  file = g_file_new_for_path (path);

  session = soup_session_new_with_options ("proxy-resolver", NULL, "timeout", 300, NULL);
  if (g_str_equal (opt_server, "devcloud"))
    start_devcloud (&server, session, dir);
  else if (g_str_equal (opt_server, "node"))
    start_node (&server, dir);
  else
    g_error ("Unknown server “%s”", opt_server);

  g_print ("# server %s (%s), file %zu bytes, chunk %d MiB, %s bodies, checksum %s\n",
           opt_server, server.base, size,
           opt_chunk_mib > 0 ? opt_chunk_mib : FC_TUS_DEFAULT_CHUNK_SIZE / (1024 * 1024),
           opt_streamed ? "streamed" : "buffered", opt_checksum ? opt_checksum : "sha256");

  tus = g_new0 (double, opt_runs);
  put = g_new0 (double, opt_runs);
  put_buffered = g_new0 (double, opt_runs);
  curl_put = g_new0 (double, opt_runs);
  for (int i = 0; i < opt_runs; i++)
    {
      /* Rotate the order, so that none always follows another's
       * writeback. */
      for (int k = 0; k < 3; k++)
        switch ((i + k) % 3)
          {
          case 0:
            tus[i] = run_tus (&server, session, file, i);
            break;
          case 1:
            put[i] = run_put (&server, session, file, (goffset) size, 0, i);
            break;
          default:
            put_buffered[i] = run_put (&server, session, file, (goffset) size, 1024 * 1024, i);
            break;
          }
      if (curl != NULL)
        curl_put[i] = run_curl (&server, curl, path, i);
      g_print ("# run %d: tus %.3f s, put %.3f s, put via 1 MiB buffer %.3f s, curl put %.3f s\n",
               i + 1, tus[i], put[i], put_buffered[i], curl_put[i]);
    }

  mb = (double) size / 1e6;
  tus_median = median (tus, opt_runs);
  put_median = median (put, opt_runs);
  put_buffered_median = median (put_buffered, opt_runs);
  g_print ("tus_upload_seconds_median %.3f\n", tus_median);
  g_print ("put_upload_seconds_median %.3f\n", put_median);
  g_print ("put_buffered_upload_seconds_median %.3f\n", put_buffered_median);
  g_print ("tus_upload_mb_per_s %.1f\n", mb / tus_median);
  g_print ("put_upload_mb_per_s %.1f\n", mb / put_median);
  g_print ("put_buffered_upload_mb_per_s %.1f\n", mb / put_buffered_median);
  if (curl != NULL)
    g_print ("curl_put_upload_mb_per_s %.1f\n", mb / median (curl_put, opt_runs));
  g_print ("tus_vs_put_throughput_ratio %.3f\n", put_median / tus_median);
  g_print ("tus_vs_put_buffered_throughput_ratio %.3f\n", put_buffered_median / tus_median);

  g_subprocess_force_exit (server.process);
  g_subprocess_wait (server.process, NULL, NULL);
  g_object_unref (server.process);
  g_free (server.base);
  g_free (server.token);
  remove_tree (dir_file);
  return 0;
}
