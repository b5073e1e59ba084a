/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * FcCloudClient against a real fitclip-devcloud on 127.0.0.1 and a real
 * gnome-keyring in a private D-Bus session: pairing by login and by
 * code, access tokens refreshed before they expire and after a 401,
 * a revoked or expired pairing turning into "pair again", logout,
 * answers classified as the sync engine needs them, and TLS that trusts
 * only the system's store or a CA file.
 *
 * libsecret keeps one bus connection per process, so each case runs in
 * a g_test_trap_subprocess() child that talks to the keyring started by
 * the parent.
 */
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "fc-cloud-answer.h"
#include "fc-cloud-client.h"
#include "fc-error.h"
#include "fc-secret-store.h"
#include "keyring-session.h"
#include "sync-cloud.h"

#define SUBPROCESS_TIMEOUT_S 180
#define WAIT_S 30

static KeyringSession *keyring;

static FcCloudClient *
new_client (const char *url,
            const char *ca_file)
{
  FcCloudClientOptions options = {
    .base_url = url,
    .ca_file = ca_file,
    .no_proxy = TRUE,
    .device_name = "Bay 1 PC",
    .timeout_s = 20,
  };
  g_autoptr(GError) error = NULL;
  FcCloudClient *client = fc_cloud_client_new (&options, &error);

  g_assert_no_error (error);
  return client;
}

static gboolean
login (FcCloudClient *client,
       const char    *email,
       const char    *password,
       char         **device_id,
       GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  fc_cloud_client_login_async (client, email, password, NULL, sync_store_result, &result);
  return fc_cloud_client_pair_finish (client, sync_wait_result (&result, WAIT_S), device_id, NULL, error);
}

static gboolean
pair (FcCloudClient *client,
      const char    *code,
      char         **device_id,
      GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  fc_cloud_client_pair_async (client, code, NULL, sync_store_result, &result);
  return fc_cloud_client_pair_finish (client, sync_wait_result (&result, WAIT_S), device_id, NULL, error);
}

static gboolean
logout (FcCloudClient *client,
        GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  fc_cloud_client_logout_async (client, NULL, sync_store_result, &result);
  return fc_cloud_client_logout_finish (client, sync_wait_result (&result, WAIT_S), error);
}

static FcCloudResponse *
send (FcCloudClient *client,
      const char    *method,
      const char    *path,
      const char    *json,
      const char    *key)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) body = json ? g_bytes_new (json, strlen (json)) : NULL;
  g_autoptr(GError) error = NULL;
  FcCloudResponse *r;

  fc_cloud_client_send_async (client, method, path, body, key, NULL, sync_store_result, &result);
  r = fc_cloud_client_send_finish (client, sync_wait_result (&result, WAIT_S), &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

static JsonNode *
response_json (const FcCloudResponse *r)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (r->body, NULL), g_bytes_get_size (r->body));

  return sync_parse_json (text);
}

/* The device token in the keyring, or NULL. */
static char *
stored_token (const char *url)
{
  g_autoptr(FcSecretStore) secrets = fc_secret_store_new_default ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) token = fc_secret_store_lookup (secrets, FC_SECRET_DEVICE_REFRESH_TOKEN, url, NULL, &error);

  if (token == NULL)
    {
      g_assert_error (error, FC_ERROR, FC_ERROR_NOT_FOUND);
      return NULL;
    }
  return g_strndup (g_bytes_get_data (token, NULL), g_bytes_get_size (token));
}

static void
assert_contains (const char *text,
                 const char *part)
{
  if (text == NULL || strstr (text, part) == NULL)
    g_error ("“%s” does not contain “%s”", text ? text : "(null)", part);
}

static void
assert_me_is_device (FcCloudClient *client,
                     const char    *device_id)
{
  g_autoptr(FcCloudResponse) r = send (client, "GET", "/api/v1/me", NULL, NULL);
  g_autoptr(JsonNode) me = NULL;

  g_assert_cmpint (r->outcome, ==, FC_CLOUD_SUCCESS);
  me = response_json (r);
  g_assert_cmpstr (json_node_get_string (sync_json_at (me, "kind")), ==, "device");
  g_assert_cmpstr (json_node_get_string (sync_json_at (me, "device.id")), ==, device_id);
}

/* ---- pairing ------------------------------------------------------------ */

static void
test_login (void)
{
  g_autoptr(SyncCloud) cloud = NULL;
  g_autoptr(FcCloudClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) dump = NULL;
  g_autofree char *device_id = NULL, *token = NULL;
  JsonArray *devices;
  JsonObject *device;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  cloud = sync_cloud_start (NULL);
  client = new_client (cloud->url, NULL);

  /* Wrong password: the person typing it sees the server's message. */
  g_assert_false (login (client, cloud->email, "wrong-pw", NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_REJECTED);
  assert_contains (error->message, "Signing in");
  assert_contains (error->message, "invalid_credentials");
  g_clear_error (&error);
  g_assert_null (stored_token (cloud->url));

  g_assert_true (login (client, cloud->email, cloud->password, &device_id, &error));
  g_assert_no_error (error);
  g_assert_true (g_uuid_string_is_valid (device_id));

  /* Only the device's own token is kept, under the cloud's address. */
  token = stored_token (cloud->url);
  g_assert_nonnull (token);
  g_assert_true (g_str_has_prefix (token, "fcd_"));
  g_assert_null (strstr (token, cloud->password));
  /* ...and the owner's session was closed at the cloud. */
  g_assert_cmpint (sync_cloud_sql_int (cloud, "SELECT COUNT(*) FROM user_refresh_tokens"), ==, 0);

  assert_me_is_device (client, device_id);
  g_assert_cmpuint (fc_cloud_client_get_refresh_count (client), ==, 1);
  g_assert_cmpuint (fc_cloud_client_get_unauthorized_count (client), ==, 0);

  dump = sync_cloud_dump (cloud);
  devices = json_node_get_array (sync_json_at (dump, "devices"));
  g_assert_cmpuint (json_array_get_length (devices), ==, 1);
  device = json_array_get_object_element (devices, 0);
  g_assert_cmpstr (json_object_get_string_member (device, "id"), ==, device_id);
  g_assert_cmpstr (json_object_get_string_member (device, "name"), ==, "Bay 1 PC");
  g_assert_false (json_object_get_boolean_member (device, "revoked"));

  /* A second client (the agent after a restart) finds the pairing in
   * the keyring. */
  {
    g_autoptr(FcCloudClient) again = new_client (cloud->url, NULL);

    assert_me_is_device (again, device_id);
  }
}

static void
test_pair_code (void)
{
  g_autoptr(SyncCloud) cloud = NULL;
  g_autoptr(FcCloudClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *code = NULL, *device_id = NULL, *first_token = NULL, *token = NULL;
  g_autofree char *spaced = NULL;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  cloud = sync_cloud_start (NULL);
  client = new_client (cloud->url, NULL);

  g_assert_false (pair (client, "AAAA-BBBB", NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_REJECTED);
  assert_contains (error->message, "invalid_pair_code");
  g_clear_error (&error);

  code = sync_cloud_pair_code (cloud);
  g_assert_cmpuint (strlen (code), ==, 9);
  /* Typed the way people do: lower case, a space instead of the dash. */
  spaced = g_ascii_strdown (code, -1);
  spaced[4] = ' ';
  g_assert_true (pair (client, spaced, &device_id, &error));
  g_assert_no_error (error);
  assert_me_is_device (client, device_id);
  first_token = stored_token (cloud->url);
  g_assert_nonnull (first_token);

  /* A code works once. */
  g_assert_false (pair (client, code, NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_REJECTED);
  g_clear_error (&error);
  token = stored_token (cloud->url);
  g_assert_cmpstr (token, ==, first_token);
}

/* ---- access tokens ------------------------------------------------------ */

static void
test_refresh (void)
{
  const char *args[] = { "--access-ttl", "3", NULL };
  g_autoptr(SyncCloud) cloud = NULL;
  g_autoptr(FcCloudClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *device_id = NULL;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  cloud = sync_cloud_start (args);
  client = new_client (cloud->url, NULL);
  g_assert_true (login (client, cloud->email, cloud->password, &device_id, &error));

  assert_me_is_device (client, device_id);
  g_assert_cmpuint (fc_cloud_client_get_refresh_count (client), ==, 1);
  /* Still young: the same token. */
  assert_me_is_device (client, device_id);
  g_assert_cmpuint (fc_cloud_client_get_refresh_count (client), ==, 1);

  /* 2.6 s into a 3 s token: renewed before it is sent, so the cloud
   * never has to turn it down. */
  g_usleep (2600 * 1000);
  assert_me_is_device (client, device_id);
  g_assert_cmpuint (fc_cloud_client_get_refresh_count (client), ==, 2);
  g_assert_cmpuint (fc_cloud_client_get_unauthorized_count (client), ==, 0);

  /* The cloud drops the token early (a restart, a key rotation): one
   * 401, one refresh, the request goes through. */
  sync_cloud_sql (cloud, "UPDATE access_tokens SET expires_at = 0");
  assert_me_is_device (client, device_id);
  g_assert_cmpuint (fc_cloud_client_get_unauthorized_count (client), ==, 1);
  g_assert_cmpuint (fc_cloud_client_get_refresh_count (client), ==, 3);
  assert_me_is_device (client, device_id);
  g_assert_cmpuint (fc_cloud_client_get_refresh_count (client), ==, 3);
}

/* A 401 even with a fresh token is not retried for ever. */
static void
test_unauthorized_twice (void)
{
  g_autoptr(SyncCloud) cloud = NULL;
  g_autoptr(FcCloudClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCloudResponse) r = NULL;
  g_autofree char *token = NULL;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  cloud = sync_cloud_start (NULL);
  client = new_client (cloud->url, NULL);
  g_assert_true (login (client, cloud->email, cloud->password, NULL, &error));
  /* Every access token the cloud issues is dead on arrival. */
  sync_cloud_sql (cloud, "CREATE TRIGGER dead_on_arrival AFTER INSERT ON access_tokens "
                         "BEGIN UPDATE access_tokens SET expires_at = 0; END");
  r = send (client, "GET", "/api/v1/me", NULL, NULL);
  g_assert_cmpint (r->outcome, ==, FC_CLOUD_UNAUTHORIZED);
  g_assert_cmpuint (r->status, ==, 401);
  assert_contains (r->message, "sign in again");
  g_assert_cmpuint (fc_cloud_client_get_unauthorized_count (client), ==, 2);
  g_assert_cmpuint (fc_cloud_client_get_refresh_count (client), ==, 2);
  /* Not a lost pairing: the token stays. */
  token = stored_token (cloud->url);
  g_assert_nonnull (token);
}

/* ---- the pairing goes away ---------------------------------------------- */

static void
test_revoked (void)
{
  g_autoptr(SyncCloud) cloud = NULL;
  g_autoptr(FcCloudClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCloudResponse) r = NULL, again = NULL;
  g_autofree char *device_id = NULL, *out = NULL, *token = NULL;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  cloud = sync_cloud_start (NULL);
  client = new_client (cloud->url, NULL);
  g_assert_true (login (client, cloud->email, cloud->password, &device_id, &error));
  assert_me_is_device (client, device_id);

  out = sync_cloud_run ("revoke-device", "--db", cloud->db, "--device-id", device_id, NULL);
  r = send (client, "GET", "/api/v1/me", NULL, NULL);
  g_assert_cmpint (r->outcome, ==, FC_CLOUD_NEEDS_PAIRING);
  g_assert_cmpstr (r->error_code, ==, "pairing_revoked");
  assert_contains (r->message, "pair it again");
  assert_contains (r->message, "nothing waiting to be sent is lost");
  /* The dead token is gone from the keyring... */
  token = stored_token (cloud->url);
  g_assert_null (token);
  /* ...and the next request says so without asking the cloud. */
  again = send (client, "GET", "/api/v1/me", NULL, NULL);
  g_assert_cmpint (again->outcome, ==, FC_CLOUD_NEEDS_PAIRING);
  assert_contains (again->message, "not paired");
  {
    g_autoptr(GError) e = fc_cloud_response_to_error (again, "Syncing");

    g_assert_error (e, FC_ERROR, FC_ERROR_UNAUTHORIZED);
  }

  /* Pairing again brings it back. */
  {
    g_autofree char *code = sync_cloud_pair_code (cloud);
    g_autofree char *new_id = NULL;

    g_assert_true (pair (client, code, &new_id, &error));
    g_assert_cmpstr (new_id, !=, device_id);
    assert_me_is_device (client, new_id);
  }
}

/* The refresh token itself ran out (a PC that did not sync for a month). */
static void
test_refresh_expired (void)
{
  const char *args[] = { "--access-ttl", "1", "--refresh-ttl", "2", NULL };
  g_autoptr(SyncCloud) cloud = NULL;
  g_autoptr(FcCloudClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCloudResponse) r = NULL;
  g_autofree char *device_id = NULL, *token = NULL;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  cloud = sync_cloud_start (args);
  client = new_client (cloud->url, NULL);
  g_assert_true (login (client, cloud->email, cloud->password, &device_id, &error));
  assert_me_is_device (client, device_id);
  g_usleep (2500 * 1000);
  r = send (client, "GET", "/api/v1/me", NULL, NULL);
  g_assert_cmpint (r->outcome, ==, FC_CLOUD_NEEDS_PAIRING);
  g_assert_cmpstr (r->error_code, ==, "refresh_expired");
  assert_contains (r->message, "pair it again");
  token = stored_token (cloud->url);
  g_assert_null (token);
}

/* Another program paired this PC again while this client still held the
 * old, revoked token: the new token must survive. */
static void
test_repaired_elsewhere (void)
{
  g_autoptr(SyncCloud) cloud = NULL;
  g_autoptr(FcCloudClient) agent = NULL, ctl = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCloudResponse) r = NULL;
  g_autofree char *old_id = NULL, *new_id = NULL, *code = NULL, *out = NULL;
  g_autofree char *token_after = NULL, *token_new = NULL;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  cloud = sync_cloud_start (NULL);
  agent = new_client (cloud->url, NULL);
  g_assert_true (login (agent, cloud->email, cloud->password, &old_id, &error));
  assert_me_is_device (agent, old_id);

  out = sync_cloud_run ("revoke-device", "--db", cloud->db, "--device-id", old_id, NULL);
  ctl = new_client (cloud->url, NULL);
  code = sync_cloud_pair_code (cloud);
  g_assert_true (pair (ctl, code, &new_id, &error));
  token_new = stored_token (cloud->url);

  r = send (agent, "GET", "/api/v1/me", NULL, NULL);
  g_assert_cmpint (r->outcome, ==, FC_CLOUD_NEEDS_PAIRING);
  token_after = stored_token (cloud->url);
  g_assert_cmpstr (token_after, ==, token_new);
  /* The agent picked the new pairing up. */
  assert_me_is_device (agent, new_id);
}

static void
test_logout (void)
{
  g_autoptr(SyncCloud) cloud = NULL;
  g_autoptr(FcCloudClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCloudResponse) r = NULL;
  g_autoptr(JsonNode) dump = NULL;
  g_autofree char *device_id = NULL, *token = NULL, *after = NULL;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  cloud = sync_cloud_start (NULL);
  client = new_client (cloud->url, NULL);

  /* Not paired: nothing to do, no error. */
  g_assert_true (logout (client, &error));
  g_assert_no_error (error);

  g_assert_true (login (client, cloud->email, cloud->password, &device_id, &error));
  token = stored_token (cloud->url);

  /* The cloud away: the pairing is kept, to try again. */
  sync_cloud_halt (cloud);
  g_assert_false (logout (client, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NETWORK);
  g_clear_error (&error);
  after = stored_token (cloud->url);
  g_assert_cmpstr (after, ==, token);
  sync_cloud_resume (cloud);

  g_assert_true (logout (client, &error));
  g_assert_no_error (error);
  g_clear_pointer (&after, g_free);
  after = stored_token (cloud->url);
  g_assert_null (after);
  dump = sync_cloud_dump (cloud);
  g_assert_true (json_node_get_boolean (sync_json_at (json_array_get_element (
    json_node_get_array (sync_json_at (dump, "devices")), 0), "revoked")));
  r = send (client, "GET", "/api/v1/me", NULL, NULL);
  g_assert_cmpint (r->outcome, ==, FC_CLOUD_NEEDS_PAIRING);
}

/* ---- answers as the engine sees them ------------------------------------ */

static void
set_faults (SyncCloud  *cloud,
            const char *json)
{
  g_autoptr(JsonNode) answer = sync_cloud_admin (cloud, "POST", "/_admin/faults", json);
}

static void
test_outcomes (void)
{
  g_autoptr(SyncCloud) cloud = NULL;
  g_autoptr(FcCloudClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *fitting = g_uuid_string_random ();
  g_autofree char *body = NULL;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  cloud = sync_cloud_start (NULL);
  client = new_client (cloud->url, NULL);
  g_assert_true (login (client, cloud->email, cloud->password, NULL, &error));
  {
    g_autoptr(FcCloudResponse) r = send (client, "GET", "/api/v1/me", NULL, NULL);
    g_assert_cmpint (r->outcome, ==, FC_CLOUD_SUCCESS);
  }

  /* 429 with Retry-After: retry, and when. */
  set_faults (cloud, "{\"fail_429\":1,\"retry_after\":7}");
  {
    g_autoptr(FcCloudResponse) r = send (client, "GET", "/api/v1/me", NULL, NULL);

    g_assert_cmpint (r->outcome, ==, FC_CLOUD_RETRY);
    g_assert_cmpuint (r->status, ==, 429);
    g_assert_cmpint (r->retry_after, ==, 7);
    g_assert_cmpstr (r->error_code, ==, "rate_limited");
  }
  set_faults (cloud, "{\"fail_429\":0,\"fail_503\":1,\"retry_after\":2}");
  {
    g_autoptr(FcCloudResponse) r = send (client, "GET", "/api/v1/me", NULL, NULL);

    g_assert_cmpint (r->outcome, ==, FC_CLOUD_RETRY);
    g_assert_cmpuint (r->status, ==, 503);
    g_assert_cmpint (r->retry_after, ==, 2);
  }
  set_faults (cloud, "{\"fail_503\":0,\"fail_500\":1}");
  {
    g_autoptr(FcCloudResponse) r = send (client, "GET", "/api/v1/me", NULL, NULL);
    g_autoptr(GError) e = fc_cloud_response_to_error (r, NULL);

    g_assert_cmpint (r->outcome, ==, FC_CLOUD_RETRY);
    g_assert_cmpuint (r->status, ==, 500);
    g_assert_cmpint (r->retry_after, ==, -1);
    g_assert_error (e, FC_ERROR, FC_ERROR_SERVER);
  }
  /* No answer at all. */
  set_faults (cloud, "{\"fail_500\":0,\"drop_request\":1}");
  {
    g_autoptr(FcCloudResponse) r = send (client, "GET", "/api/v1/me", NULL, NULL);
    g_autoptr(GError) e = fc_cloud_response_to_error (r, NULL);

    g_assert_cmpint (r->outcome, ==, FC_CLOUD_RETRY);
    g_assert_cmpuint (r->status, ==, 0);
    g_assert_error (e, FC_ERROR, FC_ERROR_NETWORK);
    assert_contains (r->message, "cannot be reached");
  }
  set_faults (cloud, "{\"drop_request\":0}");

  /* Refusals: park, with the server's words. */
  {
    g_autoptr(FcCloudResponse) r = send (client, "POST", "/api/v1/fittings", "{\"fitting\": 42}", "k-1");

    g_assert_cmpint (r->outcome, ==, FC_CLOUD_REJECTED);
    g_assert_cmpuint (r->status / 100, ==, 4);
    g_assert_nonnull (r->error_code);
    assert_contains (r->message, r->error_code);
  }
  {
    g_autoptr(FcCloudResponse) r = send (client, "POST", "/api/v1/fittings", "{}", NULL);

    g_assert_cmpint (r->outcome, ==, FC_CLOUD_REJECTED);
    g_assert_cmpstr (r->error_code, ==, "idempotency_key_missing");
  }
  /* Ordering: shots of a fitting the cloud does not know yet. */
  body = g_strdup_printf ("/api/v1/fittings/%s/shots", fitting);
  {
    g_autoptr(FcCloudResponse) r = send (client, "POST", body, "{\"shots\": []}", "k-2");

    g_assert_cmpint (r->outcome, ==, FC_CLOUD_RETRY);
    g_assert_cmpstr (r->error_code, ==, "fitting_not_found");
  }
  /* The cloud gone: refused connection. */
  sync_cloud_halt (cloud);
  {
    g_autoptr(FcCloudResponse) r = send (client, "GET", "/api/v1/me", NULL, NULL);

    g_assert_cmpint (r->outcome, ==, FC_CLOUD_RETRY);
    g_assert_cmpuint (r->status, ==, 0);
  }
}

/* ---- hostile answers (found by fuzz-cloud-answer) -------------------------- */

typedef struct {
  guint       status;
  const char *body;
} Answer;

static void
on_hostile (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  const Answer *answer = user_data;

  soup_server_message_set_status (msg, answer->status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
                                    answer->body, strlen (answer->body));
}

/* Answers that made the client critical (fatal under G_DEBUG=
 * fatal-criticals): a blank body, which json-glib parses to no root, and
 * a token lifetime that is an object; nesting that ran json-glib out of
 * stack; escapes that decode to bytes that are not UTF-8 in the message
 * shown to the fitter. The client must turn each into a plain error. */
static void
test_hostile_answers (void)
{
  g_autoptr(GString) deep = g_string_new ("{\"error\":");
  g_autoptr(SoupServer) server = NULL;
  g_autoptr(FcCloudClient) client = NULL;
  g_autoptr(FcSecretStore) secrets = NULL;
  g_autoptr(GBytes) token = g_bytes_new_static ("rt-test", 7);
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  GSList *uris;
  Answer answer = { 0, NULL };

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  for (guint i = 0; i < 400000; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 400000; i++)
    g_string_append_c (deep, ']');
  g_string_append_c (deep, '}');

  server = soup_server_new (NULL, NULL);
  g_assert_true (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  soup_server_add_handler (server, NULL, on_hostile, &answer, NULL);
  uris = soup_server_get_uris (server);
  url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  client = new_client (url, NULL);

  /* Signing in: a blank refusal, a deep one, one whose message is not
   * UTF-8, a blank success. */
  answer = (Answer) { 400, " \r\n" };
  g_assert_false (login (client, "owner@example.com", "pw", NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_REJECTED);
  g_clear_error (&error);
  answer = (Answer) { 500, deep->str };
  g_assert_false (login (client, "owner@example.com", "pw", NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_SERVER);
  g_clear_error (&error);
  answer = (Answer) { 422, "{\"error\":{\"code\":\"invalid_input\",\"message\":\"Bad \\377 email\"}}" };
  g_assert_false (login (client, "owner@example.com", "pw", NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_REJECTED);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  assert_contains (error->message, "Bad ");
  assert_contains (error->message, " email");
  g_clear_error (&error);
  answer = (Answer) { 200, "\n" };
  g_assert_false (login (client, "owner@example.com", "pw", NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_SERVER);
  g_clear_error (&error);

  /* Refreshing the access token: a lifetime that is an object is a
   * malformed answer, to be retried, not a critical. */
  secrets = fc_secret_store_new_default ();
  g_assert_true (fc_secret_store_store (secrets, FC_SECRET_DEVICE_REFRESH_TOKEN, url, token, NULL, &error));
  g_assert_no_error (error);
  answer = (Answer) { 200, "{\"access_token\":\"at-1\",\"expires_in\":{\"seconds\":900}}" };
  {
    g_autoptr(FcCloudResponse) r = send (client, "GET", "/api/v1/me", NULL, NULL);

    g_assert_cmpint (r->outcome, ==, FC_CLOUD_RETRY);
    assert_contains (r->message, "malformed");
  }
  fc_secret_store_clear (secrets, FC_SECRET_DEVICE_REFRESH_TOKEN, url, NULL, NULL);
}

/* The same answers read alone. */
static void
test_answer_parse (void)
{
  const struct {
    const char *body;
    const char *code, *message, *access;
    gint64      expires_in;
  } cases[] = {
    { "", NULL, NULL, NULL, 0 },
    { " \r\n", NULL, NULL, NULL, 0 },
    { "[1]", NULL, NULL, NULL, 0 },
    { "{\"access_token\":\"a\",\"expires_in\":900}", NULL, NULL, "a", 900 },
    { "{\"access_token\":\"a\",\"expires_in\":{}}", NULL, NULL, "a", 0 },
    { "{\"access_token\":\"a\",\"expires_in\":9223372036854775807}", NULL, NULL, "a", G_MAXINT32 },
    { "{\"access_token\":\"a\",\"expires_in\":1e300}", NULL, NULL, "a", G_MAXINT32 },
    { "{\"access_token\":\"a\",\"expires_in\":-900}", NULL, NULL, "a", 0 },
    { "{\"access_token\":\"\\377\",\"expires_in\":900}", NULL, NULL, NULL, 900 },
    { "{\"error\":{\"code\":\"x\\377\",\"message\":\"m\\377\"}}", NULL, "m\xef\xbf\xbd", NULL, 0 },
    { "{\"error\":{\"code\":\"rate_limited\",\"message\":\"Wait.\"}}", "rate_limited", "Wait.", NULL, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) body = g_bytes_new_static (cases[i].body, strlen (cases[i].body));
      g_autoptr(FcCloudAnswer) answer = fc_cloud_answer_parse (body);

      g_assert_cmpstr (answer->error_code, ==, cases[i].code);
      g_assert_cmpstr (answer->error_message, ==, cases[i].message);
      g_assert_cmpstr (answer->access_token, ==, cases[i].access);
      g_assert_cmpint (answer->expires_in, ==, cases[i].expires_in);
    }

  /* The shot a refused batch names: an id or nothing, never an object. */
  {
    static const char text[] = "{\"error\":{\"code\":\"invalid_shot\",\"message\":\"Too fast\","
                               "\"shot_id\":\"9c706784-9719-47ee-beb4-5bd805efe966\",\"index\":3,"
                               "\"field\":\"ball_speed_mps\"}}";
    static const char odd[] = "{\"error\":{\"code\":\"invalid_shot\",\"shot_id\":{\"id\":1},\"field\":[]}}";
    g_autoptr(GBytes) body = g_bytes_new_static (text, strlen (text));
    g_autoptr(GBytes) odd_body = g_bytes_new_static (odd, strlen (odd));
    g_autoptr(FcCloudAnswer) answer = fc_cloud_answer_parse (body);
    g_autoptr(FcCloudAnswer) odd_answer = fc_cloud_answer_parse (odd_body);

    g_assert_cmpstr (answer->error_shot_id, ==, "9c706784-9719-47ee-beb4-5bd805efe966");
    g_assert_cmpstr (answer->error_field, ==, "ball_speed_mps");
    g_assert_cmpstr (odd_answer->error_code, ==, "invalid_shot");
    g_assert_null (odd_answer->error_shot_id);
    g_assert_null (odd_answer->error_field);
  }
}

/* ---- TLS ---------------------------------------------------------------- */

static void
test_tls (void)
{
  g_autofree char *dir = NULL, *cert = NULL, *key = NULL, *other = NULL, *localhost = NULL;
  g_autoptr(SyncCloud) cloud = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *device_id = NULL;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  dir = g_dir_make_tmp ("sync-tls-XXXXXX", NULL);
  sync_make_certificate (dir, "cloud");
  sync_make_certificate (dir, "other");
  cert = g_build_filename (dir, "cloud.pem", NULL);
  key = g_build_filename (dir, "cloud-key.pem", NULL);
  other = g_build_filename (dir, "other.pem", NULL);
  {
    const char *args[] = { "--tls-cert", cert, "--tls-key", key, NULL };
    cloud = sync_cloud_start (args);
  }
  g_assert_true (g_str_has_prefix (cloud->url, "https://127.0.0.1:"));

  /* The system's trust store does not know this certificate. */
  {
    g_autoptr(FcCloudClient) client = new_client (cloud->url, NULL);

    g_assert_false (login (client, cloud->email, cloud->password, NULL, &error));
    g_assert_error (error, FC_ERROR, FC_ERROR_NETWORK);
    assert_contains (error->message, "certificate");
    assert_contains (error->message, "--ca-file");
    g_clear_error (&error);
  }
  /* Nor does a CA file of another certificate. */
  {
    g_autoptr(FcCloudClient) client = new_client (cloud->url, other);

    g_assert_false (login (client, cloud->email, cloud->password, NULL, &error));
    g_assert_error (error, FC_ERROR, FC_ERROR_NETWORK);
    g_clear_error (&error);
  }
  /* The right CA, but another name than the certificate's. */
  {
    g_autofree char *url = g_strdup_printf ("https://localhost:%u", cloud->port);
    g_autoptr(FcCloudClient) client = new_client (url, cert);

    g_assert_false (login (client, cloud->email, cloud->password, NULL, &error));
    g_assert_error (error, FC_ERROR, FC_ERROR_NETWORK);
    g_clear_error (&error);
  }
  g_assert_cmpint (sync_cloud_sql_int (cloud, "SELECT COUNT(*) FROM devices"), ==, 0);
  /* The CA file: the escape hatch that works. */
  {
    g_autoptr(FcCloudClient) client = new_client (cloud->url, cert);

    g_assert_true (login (client, cloud->email, cloud->password, &device_id, &error));
    g_assert_no_error (error);
    assert_me_is_device (client, device_id);
  }
  sync_remove_tree (dir);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  keyring_trap_init ();
  g_test_init (&argc, &argv, NULL);
  if (!g_test_subprocess ())
    {
      keyring = keyring_session_start (KEYRING_UNLOCKED, &error);
      g_assert_no_error (error);
    }
  g_test_add_func ("/cloud-client/login", test_login);
  g_test_add_func ("/cloud-client/pair-code", test_pair_code);
  g_test_add_func ("/cloud-client/refresh", test_refresh);
  g_test_add_func ("/cloud-client/unauthorized-twice", test_unauthorized_twice);
  g_test_add_func ("/cloud-client/revoked", test_revoked);
  g_test_add_func ("/cloud-client/refresh-expired", test_refresh_expired);
  g_test_add_func ("/cloud-client/repaired-elsewhere", test_repaired_elsewhere);
  g_test_add_func ("/cloud-client/logout", test_logout);
  g_test_add_func ("/cloud-client/outcomes", test_outcomes);
  g_test_add_func ("/cloud-client/tls", test_tls);
  g_test_add_func ("/cloud-client/hostile-answers", test_hostile_answers);
  g_test_add_func ("/cloud-client/answer-parse", test_answer_parse);
  status = g_test_run ();
  if (keyring)
    keyring_session_stop (keyring);
  keyring_trap_cleanup ();
  return status;
}
