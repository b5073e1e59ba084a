/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include <glib/gstdio.h>
#ifdef __linux__
#include <signal.h>
#include <sys/prctl.h>
#endif

#include "devcloud-client.h"

static const char *
devcloud_path (void)
{
  const char *path = g_getenv ("FITCLIP_DEVCLOUD");

  g_assert_nonnull (path);
  return path;
}

static char *
run_argv (GPtrArray *argv)
{
  g_autoptr(GSubprocess) p = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;

  g_ptr_array_add (argv, NULL);
  p = g_subprocess_newv ((const char *const *) argv->pdata,
                         G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (p))
    g_error ("%s %s failed: %s", (char *) argv->pdata[0], (char *) argv->pdata[1], err);
  return g_steal_pointer (&out);
}

char *
devcloud_run (const char *first_arg,
              ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  va_list args;

  g_ptr_array_add (argv, (char *) devcloud_path ());
  va_start (args, first_arg);
  for (const char *a = first_arg; a; a = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (args);
  return run_argv (argv);
}

#ifdef __linux__
/* A test that aborts must not leave its server running. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}
#endif

Cloud *
cloud_start (const char *const *extra_args)
{
  Cloud *cloud = g_new0 (Cloud, 1);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *line = NULL, *out = NULL;

  cloud->dir = g_dir_make_tmp ("devcloud-test-XXXXXX", &error);
  g_assert_no_error (error);
  cloud->db = g_build_filename (cloud->dir, "cloud.sqlite", NULL);
  cloud->email = g_strdup ("owner@shop.test");
  cloud->password = g_strdup ("secret-pw");
  out = devcloud_run ("add-user", "--db", cloud->db, "--email", cloud->email, "--password", cloud->password,
                      "--shop", "Golf Lab", NULL);
  g_assert_true (g_uuid_string_is_valid (g_strstrip (out)));

  g_ptr_array_add (argv, (char *) devcloud_path ());
  g_ptr_array_add (argv, "serve");
  g_ptr_array_add (argv, "--db");
  g_ptr_array_add (argv, cloud->db);
  g_ptr_array_add (argv, "--listen");
  g_ptr_array_add (argv, "127.0.0.1:0");
  for (guint i = 0; extra_args && extra_args[i]; i++)
    g_ptr_array_add (argv, (char *) extra_args[i]);
  g_ptr_array_add (argv, NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
#ifdef __linux__
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
#endif
  cloud->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);

  /* The first line names the port; the server prints it once listening. */
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (cloud->process));
  line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening on http://127.0.0.1:"));
  cloud->url = g_strdup (line + strlen ("listening on "));

  cloud->session = soup_session_new_with_options ("proxy-resolver", NULL, "timeout", 20, NULL);
  return cloud;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      g_unlink (path);
      return;
    }
  while ((name = g_dir_read_name (dir)))
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
  g_rmdir (path);
}

void
cloud_stop (Cloud *cloud)
{
  g_autoptr(GError) error = NULL;

  g_subprocess_send_signal (cloud->process, SIGTERM);
  g_subprocess_wait (cloud->process, NULL, &error);
  g_assert_no_error (error);
  /* A clean stop: the server must not have crashed under the test. */
  g_assert_true (g_subprocess_get_if_exited (cloud->process) || g_subprocess_get_term_sig (cloud->process) == SIGTERM);
  if (g_subprocess_get_if_exited (cloud->process))
    g_assert_cmpint (g_subprocess_get_exit_status (cloud->process), ==, 0);
  g_object_unref (cloud->process);
  g_object_unref (cloud->session);
  remove_tree (cloud->dir);
  g_free (cloud->dir);
  g_free (cloud->db);
  g_free (cloud->url);
  g_free (cloud->email);
  g_free (cloud->password);
  g_free (cloud);
}

void
resp_free (Resp *resp)
{
  g_clear_pointer (&resp->body, g_bytes_unref);
  g_clear_pointer (&resp->headers, soup_message_headers_unref);
  g_clear_pointer (&resp->json, json_node_unref);
  g_free (resp);
}

static Resp *
send_message (Cloud       *cloud,
              SoupMessage *msg)
{
  Resp *resp = g_new0 (Resp, 1);
  g_autoptr(GError) error = NULL;
  const char *type;

  resp->body = soup_session_send_and_read (cloud->session, msg, NULL, &error);
  g_assert_no_error (error);
  resp->status = soup_message_get_status (msg);
  resp->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  type = soup_message_headers_get_content_type (resp->headers, NULL);
  if (type && strcmp (type, "application/json") == 0 && g_bytes_get_size (resp->body) > 0)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      gsize len;
      const char *data = g_bytes_get_data (resp->body, &len);

      if (!json_parser_load_from_data (parser, data, len, &error))
        g_error ("The answer is not JSON: %s", error->message);
      resp->json = json_node_ref (json_parser_get_root (parser));
      /* Every error answer has the documented shape. */
      if (resp->status >= 400)
        {
          g_assert_nonnull (resp_str (resp, "error.code"));
          g_assert_nonnull (resp_str (resp, "error.message"));
        }
    }
  return resp;
}

Resp *
cloud_request (Cloud      *cloud,
               const char *method,
               const char *path,
               const char *token,
               const char *idem_key,
               const char *json_body)
{
  g_autofree char *url = g_strconcat (cloud->url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  SoupMessageHeaders *h;

  g_assert_nonnull (msg);
  h = soup_message_get_request_headers (msg);
  if (token)
    {
      g_autofree char *auth = g_strdup_printf ("Bearer %s", token);
      soup_message_headers_replace (h, "Authorization", auth);
    }
  if (idem_key)
    soup_message_headers_replace (h, "Idempotency-Key", idem_key);
  if (json_body)
    {
      g_autoptr(GBytes) body = g_bytes_new (json_body, strlen (json_body));
      soup_message_set_request_body_from_bytes (msg, "application/json", body);
    }
  return send_message (cloud, msg);
}

Resp *
cloud_request_raw (Cloud      *cloud,
                   const char *method,
                   const char *path,
                   GBytes     *body,
                   const char *content_type,
                   const char *first_header,
                   ...)
{
  g_autofree char *url = g_str_has_prefix (path, "http") ? g_strdup (path) : g_strconcat (cloud->url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  va_list args;

  g_assert_nonnull (msg);
  va_start (args, first_header);
  for (const char *name = first_header; name; name = va_arg (args, const char *))
    {
      const char *value = va_arg (args, const char *);
      soup_message_headers_replace (soup_message_get_request_headers (msg), name, value);
    }
  va_end (args);
  if (body)
    soup_message_set_request_body_from_bytes (msg, content_type, body);
  return send_message (cloud, msg);
}

JsonNode *
json_at (JsonNode   *root,
         const char *path)
{
  g_auto(GStrv) parts = g_strsplit (path, ".", -1);
  JsonNode *node = root;

  for (guint i = 0; parts[i] && node; i++)
    {
      if (!JSON_NODE_HOLDS_OBJECT (node))
        return NULL;
      node = json_object_get_member (json_node_get_object (node), parts[i]);
    }
  return node;
}

const char *
resp_str (Resp       *resp,
          const char *path)
{
  JsonNode *node = resp->json ? json_at (resp->json, path) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gint64
resp_int (Resp       *resp,
          const char *path)
{
  JsonNode *node = resp->json ? json_at (resp->json, path) : NULL;

  g_assert_nonnull (node);
  return json_node_get_int (node);
}

char *
cloud_login (Cloud  *cloud,
             char  **shop_id)
{
  g_autofree char *body = g_strdup_printf ("{\"email\":\"%s\",\"password\":\"%s\"}", cloud->email, cloud->password);
  g_autoptr(Resp) r = cloud_request (cloud, "POST", "/auth/login", NULL, NULL, body);

  g_assert_cmpuint (r->status, ==, 200);
  if (shop_id)
    *shop_id = g_strdup (resp_str (r, "user.shop_id"));
  return g_strdup (resp_str (r, "access_token"));
}

GBytes *
raw_exchange (Cloud      *cloud,
              const char *data,
              gsize       len,
              gsize       close_after,
              guint       timeout_ms)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) got = g_byte_array_new ();
  GSocket *socket;
  guint8 buf[4096];
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_uri (client, cloud->url, 80, NULL, &error);
  g_assert_no_error (error);
  socket = g_socket_connection_get_socket (conn);
  g_socket_set_blocking (socket, TRUE);
  g_socket_set_timeout (socket, (timeout_ms + 999) / 1000);
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), data, MIN (len, close_after),
                                  NULL, NULL, &error))
    g_clear_error (&error);     /* the server may drop us first */
  if (close_after < len)
    {
      g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
      return g_bytes_new (NULL, 0);
    }
  while (g_get_monotonic_time () < deadline)
    {
      gssize n = g_socket_receive (socket, (char *) buf, sizeof buf, NULL, &error);

      if (n <= 0)
        break;
      g_byte_array_append (got, buf, n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&got));
}
