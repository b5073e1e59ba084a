/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * FcTusUpload against fitclip-devcloud, our reference cloud (a separate
 * process on 127.0.0.1): bearer authentication, the sha256 checksum
 * extension with real verification, and its fault injection (460 checksum
 * mismatches, dropped requests, 503 with Retry-After). Each upload ends
 * with the video attach call, where the server compares the size and
 * SHA-256 of the file it assembled with the local file's.
 */
#define G_LOG_DOMAIN "test-tus-devcloud"

#include <string.h>
#ifdef __linux__
#include <signal.h>
#include <sys/prctl.h>
#endif

#include <json-glib/json-glib.h>

#include "fc-error.h"
#include "fc-tus-upload.h"
#include "tus-helpers.h"

#define EMAIL "owner@tus-test.example"
#define PASSWORD "correct horse battery"
#define ADMIN "admin-secret-1"
#define FITTING_ID "6f1c2a3e-0000-4000-8000-00000000d001"

typedef struct {
  char        *dir;
  GSubprocess *server;
  char        *base;
  char        *token;
  SoupSession *session;
} Fixture;

static void
die_with_parent (gpointer user_data)
{
#ifdef __linux__
  prctl (PR_SET_PDEATHSIG, SIGKILL);
#endif
}

static JsonNode *
call (Fixture    *fx,
      const char *method,
      const char *path,
      const char *bearer,
      const char *body,
      guint       expect)
{
  g_autofree char *url = g_strconcat (fx->base, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *key = g_uuid_string_random ();

  if (body != NULL)
    {
      g_autoptr(GBytes) request = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", request);
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Idempotency-Key", key);
  if (bearer != NULL)
    {
      g_autofree char *auth = g_strdup_printf ("Bearer %s", bearer);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  reply = soup_session_send_and_read (fx->session, msg, NULL, &error);
  g_assert_no_error (error);
  if (soup_message_get_status (msg) != expect)
    g_error ("%s %s: %u %.*s", method, path, soup_message_get_status (msg),
             (int) g_bytes_get_size (reply), (const char *) g_bytes_get_data (reply, NULL));
  if (g_bytes_get_size (reply) == 0)
    return NULL;
  {
    g_autoptr(JsonParser) parser = json_parser_new ();

    json_parser_load_from_data (parser, g_bytes_get_data (reply, NULL),
                                (gssize) g_bytes_get_size (reply), &error);
    g_assert_no_error (error);
    return json_node_copy (json_parser_get_root (parser));
  }
}

static gboolean
have_devcloud (void)
{
  const char *path = g_getenv ("FITCLIP_DEVCLOUD");

  return path != NULL && g_file_test (path, G_FILE_TEST_IS_EXECUTABLE);
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  const char *devcloud = g_getenv ("FITCLIP_DEVCLOUD");
  g_autoptr(GError) error = NULL;
  g_autofree char *db = NULL;
  g_autofree char *files = NULL;
  g_autoptr(GSubprocess) add_user = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  g_autoptr(JsonNode) login = NULL;
  g_autoptr(JsonNode) fitting = NULL;

  if (!have_devcloud ())
    return;
  fx->dir = g_dir_make_tmp ("tus-devcloud-XXXXXX", &error);
  g_assert_no_error (error);
  db = g_build_filename (fx->dir, "cloud.sqlite", NULL);
  files = g_build_filename (fx->dir, "files", NULL);

  add_user = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, devcloud, "add-user",
                               "--db", db, "--email", EMAIL, "--password", PASSWORD,
                               "--shop", "Tus Test Golf", NULL);
  g_assert_no_error (error);
  g_subprocess_wait_check (add_user, NULL, &error);
  g_assert_no_error (error);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  fx->server = g_subprocess_launcher_spawn (launcher, &error, devcloud, "serve", "--db", db,
                                            "--files-dir", files, "--listen", "127.0.0.1:0",
                                            "--admin-token", ADMIN, "--seed", "20261122", NULL);
  g_assert_no_error (error);
  /* Bounded by the test's meson timeout; the server prints this line
   * before it serves anything. */
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (fx->server));
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "listening on http://127.0.0.1:"));
  fx->base = g_strdup (line + strlen ("listening on "));

  fx->session = tus_test_session ();
  login = call (fx, "POST", "/auth/login", NULL,
                "{\"email\":\"" EMAIL "\",\"password\":\"" PASSWORD "\"}", 200);
  fx->token = g_strdup (json_object_get_string_member (json_node_get_object (login), "access_token"));
  fitting = call (fx, "POST", "/api/v1/fittings", fx->token,
                  "{\"fitting\":{\"id\":\"" FITTING_ID "\",\"type\":\"driver\",\"bay\":\"1\","
                  "\"status\":\"open\",\"started_at\":\"2026-11-22T09:00:00Z\"},\"customer\":null}",
                  201);
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  if (fx->dir == NULL)
    return;
  g_clear_object (&fx->session);
  g_subprocess_force_exit (fx->server);
  g_subprocess_wait (fx->server, NULL, NULL);
  g_clear_object (&fx->server);
  {
    g_autofree char *files = g_build_filename (fx->dir, "files", NULL);

    if (g_file_test (files, G_FILE_TEST_IS_DIR))
      tus_test_remove_dir (files);
  }
  tus_test_remove_dir (fx->dir);
  g_free (fx->dir);
  g_free (fx->base);
  g_free (fx->token);
}

/* fitclip-devcloud is built with the tests: its absence is a failure. */
static gboolean
need_devcloud (void)
{
  if (have_devcloud ())
    return TRUE;
  g_test_fail_printf ("FITCLIP_DEVCLOUD (%s) is not a built fitclip-devcloud",
                      g_getenv ("FITCLIP_DEVCLOUD"));
  return FALSE;
}

static void
add_token (FcTusUpload *upload,
           SoupMessage *msg,
           gpointer     user_data)
{
  g_autofree char *auth = g_strdup_printf ("Bearer %s", (const char *) user_data);

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
}

static FcTusUpload *
new_upload (Fixture    *fx,
            const char *path,
            const char *video_id)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *endpoint = g_strconcat (fx->base, "/files/", NULL);
  FcTusUpload *upload;

  g_hash_table_insert (metadata, "filename", "recap.mp4");
  g_hash_table_insert (metadata, "fitting_id", FITTING_ID);
  g_hash_table_insert (metadata, "video_id", (gpointer) video_id);
  g_hash_table_insert (metadata, "content_type", "video/mp4");
  upload = fc_tus_upload_new (fx->session, endpoint, file, metadata, NULL);
  fc_tus_upload_set_request_hook (upload, add_token, fx->token, NULL);
  return upload;
}

/* The attach call: the server checks its assembled file against ours. */
static void
attach (Fixture     *fx,
        FcTusUpload *upload,
        const char  *video_id,
        guint        expect)
{
  const FcTusState *state = fc_tus_upload_get_state (upload);
  g_autofree char *body = g_strdup_printf ("{\"id\":\"%s\",\"upload_url\":\"%s\",\"sha256\":\"%s\","
                                           "\"size\":%" G_GUINT64_FORMAT ",\"kind\":\"recap\","
                                           "\"content_type\":\"video/mp4\"}",
                                           video_id, state->upload_url, state->sha256, state->size);
  g_autoptr(JsonNode) video = call (fx, "POST", "/api/v1/fittings/" FITTING_ID "/videos",
                                    fx->token, body, expect);

  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (video), "sha256"),
                   ==, state->sha256);
}

static void
test_clean (Fixture       *fx,
            gconstpointer  unused)
{
  g_autofree char *path = NULL;
  g_autofree char *video_id = g_uuid_string_random ();
  g_autoptr(FcTusUpload) upload = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sha = NULL;

  if (!need_devcloud ())
    return;
  path = tus_test_write_file (fx->dir, "recap.mp4", 3 * 1024 * 1024 + 5, 31);
  sha = tus_test_sha256_file (path);
  upload = new_upload (fx, path, video_id);
  fc_tus_upload_set_chunk_size (upload, 1024 * 1024);
  g_assert_true (tus_test_run (upload, NULL, 60, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (fc_tus_upload_get_state (upload)->sha256, ==, sha);
  g_assert_cmpuint (fc_tus_upload_get_patch_count (upload), ==, 4);
  attach (fx, upload, video_id, 201);
}

static void
test_faults (Fixture       *fx,
             gconstpointer  unused)
{
  g_autofree char *path = NULL;
  g_autofree char *video_id = g_uuid_string_random ();
  g_autoptr(FcTusUpload) upload = NULL;
  g_autoptr(JsonNode) faults = NULL;
  g_autoptr(JsonNode) off = NULL;
  gint64 deadline = g_get_monotonic_time () + 90 * G_USEC_PER_SEC;
  guint runs = 0;
  guint network = 0;
  guint busy = 0;
  gboolean done = FALSE;

  if (!need_devcloud ())
    return;
  path = tus_test_write_file (fx->dir, "recap.mp4", 6 * 1024 * 1024, 32);
  upload = new_upload (fx, path, video_id);
  fc_tus_upload_set_chunk_size (upload, 512 * 1024);

  faults = call (fx, "POST", "/_admin/faults", ADMIN,
                 "{\"seed\":7,\"checksum_mismatch\":0.3,\"drop_request\":0.1,"
                 "\"fail_503\":0.1,\"retry_after\":2}", 200);
  /* What a sync engine does: run again after each failure (here without
   * waiting out Retry-After), with bounds on runs and time. */
  while (!done && runs < 60 && g_get_monotonic_time () < deadline)
    {
      g_autoptr(GError) error = NULL;

      runs++;
      done = tus_test_run (upload, NULL, 60, &error);
      if (done)
        break;
      g_assert_cmpuint (error->domain, ==, FC_ERROR);
      if (error->code == FC_ERROR_NETWORK)
        network++;
      else if (error->code == FC_ERROR_SERVER)
        {
          busy++;
          g_assert_cmpuint (fc_tus_upload_get_retry_after (upload), ==, 2);
        }
      else
        g_error ("Unexpected failure: %s", error->message);
    }
  off = call (fx, "POST", "/_admin/faults", ADMIN,
              "{\"checksum_mismatch\":0,\"drop_request\":0,\"fail_503\":0}", 200);
  g_test_message ("%u runs: %u cut, %u busy; %u PATCH requests for 12 chunks",
                  runs, network, busy, fc_tus_upload_get_patch_count (upload));
  g_assert_true (done);
  /* The dice did throw: faults were met and overcome. */
  g_assert_cmpuint (network + busy, >, 0);
  g_assert_cmpuint (fc_tus_upload_get_patch_count (upload), >, 12);
  attach (fx, upload, video_id, 201);
}

static void
test_always_mismatch (Fixture       *fx,
                      gconstpointer  unused)
{
  g_autofree char *path = NULL;
  g_autofree char *video_id = g_uuid_string_random ();
  g_autoptr(FcTusUpload) upload = NULL;
  g_autoptr(JsonNode) faults = NULL;
  g_autoptr(GError) error = NULL;

  if (!need_devcloud ())
    return;
  path = tus_test_write_file (fx->dir, "recap.mp4", 100000, 33);
  upload = new_upload (fx, path, video_id);
  faults = call (fx, "POST", "/_admin/faults", ADMIN, "{\"checksum_mismatch\":1}", 200);
  g_assert_false (tus_test_run (upload, NULL, 60, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_REJECTED);
  /* One try and a bounded number of resends. */
  g_assert_cmpuint (fc_tus_upload_get_patch_count (upload), ==, 4);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/tus-devcloud/clean", test_clean);
  ADD ("/tus-devcloud/faults", test_faults);
  ADD ("/tus-devcloud/always-mismatch", test_always_mismatch);
#undef ADD

  return g_test_run ();
}
