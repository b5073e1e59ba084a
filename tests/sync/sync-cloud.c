/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <sqlite3.h>
#ifdef __linux__
#include <signal.h>
#include <sys/prctl.h>
#endif

#include "sync-cloud.h"
#include "sync-compare.h"

static const char *
devcloud_path (void)
{
  const char *path = g_getenv ("FITCLIP_DEVCLOUD");

  g_assert_nonnull (path);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_EXECUTABLE));
  return path;
}

char *
sync_cloud_run (const char *first_arg,
                ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) p = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  va_list args;

  g_ptr_array_add (argv, (char *) devcloud_path ());
  va_start (args, first_arg);
  for (const char *a = first_arg; a; a = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  p = g_subprocess_newv ((const char *const *) argv->pdata,
                         G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (p))
    g_error ("fitclip-devcloud %s failed: %s", first_arg, err);
  return g_steal_pointer (&out);
}

#ifdef __linux__
/* A test that aborts must not leave its server running. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}
#endif

/* Starts the server; FALSE when the port was still taken (a restart). */
static gboolean
spawn (SyncCloud *cloud)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autofree char *line = NULL, *listen = g_strdup_printf ("127.0.0.1:%u", cloud->port);
  const char *url;

  g_ptr_array_add (argv, (char *) devcloud_path ());
  g_ptr_array_add (argv, "serve");
  g_ptr_array_add (argv, "--db");
  g_ptr_array_add (argv, cloud->db);
  g_ptr_array_add (argv, "--listen");
  g_ptr_array_add (argv, listen);
  g_ptr_array_add (argv, "--admin-token");
  g_ptr_array_add (argv, SYNC_CLOUD_ADMIN_TOKEN);
  for (guint i = 0; cloud->args && cloud->args[i]; i++)
    g_ptr_array_add (argv, cloud->args[i]);
  g_ptr_array_add (argv, NULL);
#ifdef __linux__
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
#endif
  cloud->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);

  /* The first line names the address; the server prints it once listening. */
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (cloud->process));
  line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error);
  g_assert_no_error (error);
  if (line == NULL)
    {
      g_subprocess_wait (cloud->process, NULL, NULL);
      g_clear_object (&cloud->process);
      return FALSE;
    }
  g_assert_true (g_str_has_prefix (line, "listening on "));
  url = line + strlen ("listening on ");
  g_assert_true (g_str_has_prefix (url, "http://127.0.0.1:") || g_str_has_prefix (url, "https://127.0.0.1:"));
  g_free (cloud->url);
  cloud->url = g_strdup (url);
  cloud->port = (guint16) g_ascii_strtoull (strrchr (url, ':') + 1, NULL, 10);
  g_assert_cmpuint (cloud->port, >, 0);
  return TRUE;
}

SyncCloud *
sync_cloud_start (const char *const *extra_args)
{
  SyncCloud *cloud = g_new0 (SyncCloud, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  cloud->dir = g_dir_make_tmp ("sync-cloud-XXXXXX", &error);
  g_assert_no_error (error);
  cloud->db = g_build_filename (cloud->dir, "cloud.sqlite", NULL);
  cloud->email = g_strdup ("owner@shop.test");
  cloud->password = g_strdup ("secret-pw");
  cloud->args = g_strdupv ((char **) extra_args);
  out = sync_cloud_run ("add-user", "--db", cloud->db, "--email", cloud->email, "--password", cloud->password,
                        "--shop", "Golf Lab", NULL);
  g_assert_true (g_uuid_string_is_valid (g_strstrip (out)));
  g_assert_true (spawn (cloud));
  return cloud;
}

void
sync_cloud_halt (SyncCloud *cloud)
{
  g_autoptr(GError) error = NULL;

  if (cloud->process == NULL)
    return;
  g_subprocess_send_signal (cloud->process, SIGTERM);
  g_subprocess_wait (cloud->process, NULL, &error);
  g_assert_no_error (error);
  /* A clean stop: the server must not have crashed under the test. */
  g_assert_true (g_subprocess_get_if_exited (cloud->process) ||
                 g_subprocess_get_term_sig (cloud->process) == SIGTERM);
  g_clear_object (&cloud->process);
}

void
sync_cloud_resume (SyncCloud *cloud)
{
  g_assert_null (cloud->process);
  /* The port may take a moment to be free again. */
  for (guint i = 0; i < 50; i++)
    {
      if (spawn (cloud))
        return;
      g_usleep (100 * 1000);
    }
  g_error ("fitclip-devcloud cannot listen on port %u again", cloud->port);
}

void
sync_cloud_free (SyncCloud *cloud)
{
  sync_cloud_halt (cloud);
  sync_remove_tree (cloud->dir);
  g_free (cloud->dir);
  g_free (cloud->db);
  g_free (cloud->url);
  g_strfreev (cloud->args);
  g_free (cloud->email);
  g_free (cloud->password);
  g_free (cloud);
}

JsonNode *
sync_parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_ref (json_parser_get_root (parser));
}

JsonNode *
sync_json_at (JsonNode   *root,
              const char *dotted_path)
{
  g_auto(GStrv) parts = g_strsplit (dotted_path, ".", -1);
  JsonNode *node = root;

  for (guint i = 0; parts[i] && node; i++)
    {
      if (!JSON_NODE_HOLDS_OBJECT (node))
        return NULL;
      node = json_object_get_member (json_node_get_object (node), parts[i]);
    }
  return node;
}

JsonNode *
sync_cloud_admin (SyncCloud  *cloud,
                  const char *method,
                  const char *path,
                  const char *json_body)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("proxy-resolver", NULL, "timeout", 20, NULL);
  g_autofree char *url = g_strconcat (cloud->url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                "Bearer " SYNC_CLOUD_ADMIN_TOKEN);
  if (json_body)
    {
      g_autoptr(GBytes) body = g_bytes_new (json_body, strlen (json_body));
      soup_message_set_request_body_from_bytes (msg, "application/json", body);
    }
  answer = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  text = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
  return sync_parse_json (text);
}

JsonNode *
sync_cloud_dump (SyncCloud *cloud)
{
  g_autofree char *out = sync_cloud_run ("dump", "--db", cloud->db, NULL);

  return sync_parse_json (out);
}

/* sync_compare() on the fittings of @exports: the dump is cut down to
 * them (a test may leave a fitting out on purpose), and the bay's
 * selected club is taken out of the exports, being local UI state that
 * fc_store_set_active_config() never queues. */
void
sync_assert_cloud_has (SyncCloud  *cloud,
                       GPtrArray  *exports,
                       GHashTable *videos)
{
  g_autoptr(JsonNode) dump = sync_cloud_dump (cloud);
  JsonObject *root = json_node_get_object (dump);
  JsonArray *all = json_object_get_array_member (root, "fittings");
  g_autoptr(JsonArray) wanted = json_array_new ();
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GString) report = g_string_new (NULL);

  g_assert_cmpuint (exports->len, >, 0);
  for (guint i = 0; i < exports->len; i++)
    {
      JsonObject *fitting = json_object_get_object_member (json_node_get_object (g_ptr_array_index (exports, i)),
                                                           "fitting");

      json_object_remove_member (fitting, "active_config_id");
      g_hash_table_add (ids, (gpointer) json_object_get_string_member (fitting, "id"));
    }
  for (guint i = 0; i < json_array_get_length (all); i++)
    {
      JsonObject *f = json_array_get_object_element (all, i);

      if (g_hash_table_contains (ids, json_object_get_string_member (json_object_get_object_member (f, "fitting"),
                                                                     "id")))
        json_array_add_element (wanted, json_node_copy (json_array_get_element (all, i)));
    }
  json_object_set_array_member (root, "fittings", json_array_ref (wanted));
  if (!sync_compare (dump, exports, videos, report))
    g_error ("The cloud does not hold what the agent holds:\n%s", report->str);
}

char *
sync_cloud_pair_code (SyncCloud *cloud)
{
  char *out = sync_cloud_run ("pair-code", "--db", cloud->db, "--email", cloud->email, NULL);

  return g_strstrip (out);
}

void
sync_cloud_sql (SyncCloud  *cloud,
                const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open (cloud->db, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  sqlite3_close (db);
}


void
sync_store_result (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (*out);
  *out = g_object_ref (result);
}

static gboolean
on_wait_timeout (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

gint64
sync_cloud_sql_int (SyncCloud  *cloud,
                    const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open (cloud->db, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_error ("%s: %s", sql, sqlite3_errmsg (db));
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

void
sync_wait_flag (gboolean *done,
                guint     timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  guint tick = g_timeout_add (100, on_wait_timeout, NULL);

  while (!*done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  g_assert_true (*done);
}

GAsyncResult *
sync_wait_result (GAsyncResult **result,
                  guint          timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  /* Wakes the loop now and then so the deadline is looked at. */
  guint tick = g_timeout_add (100, on_wait_timeout, NULL);

  while (*result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  g_assert_nonnull (*result);
  return *result;
}

gboolean
sync_in_keyring_child (KeyringSession *keyring,
                       guint           timeout_s)
{
  if (!g_test_subprocess ())
    {
      keyring_trap_set_address (keyring_session_address (keyring));
      g_test_trap_subprocess (NULL, (guint64) timeout_s * G_USEC_PER_SEC,
                              G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return FALSE;
    }
  keyring_trap_enter ();
  return TRUE;
}

void
sync_make_certificate (const char *dir,
                       const char *name)
{
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  g_autofree char *cert = g_strdup_printf ("%s/%s.pem", dir, name);
  g_autofree char *key = g_strdup_printf ("%s/%s-key.pem", dir, name);
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  int status;

  if (openssl == NULL)
    g_error ("The TLS tests need the openssl program (tools/install-deps.sh installs it)");
  g_spawn_sync (NULL, (char *[]) { openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                   "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                                   "-days", "2", "-subj", "/CN=127.0.0.1",
                                   "-addext", "subjectAltName=IP:127.0.0.1", NULL },
                NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("openssl failed: %s", err);
}

void
sync_remove_tree (const char *path)
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
      sync_remove_tree (child);
    }
  g_rmdir (path);
}
