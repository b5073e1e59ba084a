/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The TrackMan 4 client against the simulator (fitclip-lmsim trackman)
 * as a separate process, and against small peers written here with
 * SoupServer for what the simulator does not do (a shot whose final
 * message never comes, a REST-only unit behind OAuth). Every shot is
 * stored once, with the values the unit sent, bit for bit.
 */
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "fc-error.h"
#include "fc-hub.h"
#include "fc-ssdp.h"
#include "fc-trackman-client.h"
#include "fc-trackman-measurement.h"
#include "fc-trackman-message.h"
#include "lmsim-run.h"

#define WAIT_S 30

typedef struct {
  char             *dir;
  char             *db;
  FcHub            *hub;
  FcTrackmanClient *client;
  /* the simulator */
  LmsimRun         *sim;
  guint             http_port;
  guint             ssdp_port;
  /* a test-side server */
  SoupServer       *server;
  guint             server_port;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("fitclip-trackman-XXXXXX", NULL);
  fx->db = g_build_filename (fx->dir, "trackman.db", NULL);
  fx->hub = fc_hub_new (fx->db, NULL, "Bay 1", &error);
  g_assert_no_error (error);
  fx->client = fc_trackman_client_new (fx->hub);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->client);
  g_clear_pointer (&fx->sim, lmsim_run_free);
  g_clear_object (&fx->server);
  /* Let the hub's writer finish what the client handed it. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&fx->hub);
  g_remove (fx->db);
  g_autofree char *wal = g_strconcat (fx->db, "-wal", NULL);
  g_autofree char *shm = g_strconcat (fx->db, "-shm", NULL);
  g_remove (wal);
  g_remove (shm);
  g_rmdir (fx->dir);
  g_free (fx->db);
  g_free (fx->dir);
}

/* Starts the simulator with @args (NULL-terminated) and reads the port
 * from its first line, "listening http://127.0.0.1:PORT/". */
static void
sim_start (Fixture *fx, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autofree char *line = NULL;
  const char *arg;
  gboolean ssdp = FALSE;
  va_list ap;

  va_start (ap, fx);
  while ((arg = va_arg (ap, const char *)) != NULL)
    {
      ssdp = ssdp || strcmp (arg, "--ssdp-port") == 0;
      g_ptr_array_add (args, (char *) arg);
    }
  va_end (ap);
  g_ptr_array_add (args, NULL);
  fx->sim = lmsim_run_spawn_lines (NULL, NULL, "trackman", (const char * const *) args->pdata);
  line = lmsim_run_read_line (fx->sim);
  g_assert_nonnull (line);
  g_assert_true (sscanf (line, "listening http://127.0.0.1:%u/", &fx->http_port) == 1);
  if (ssdp)
    {
      g_autofree char *ssdp_line = lmsim_run_read_line (fx->sim);

      g_assert_true (sscanf (ssdp_line, "ssdp 127.0.0.1:%u", &fx->ssdp_port) == 1);
    }
}

/* Stops the simulator with Ctrl-C and returns its summary line. */
static char *
sim_stop (Fixture *fx)
{
  char *summary = lmsim_run_interrupt (fx->sim);

  g_clear_pointer (&fx->sim, lmsim_run_free);
  return summary;
}

static FcMonitorInfo *
monitor (Fixture *fx)
{
  return fc_hub_get_monitor (fx->hub, fc_trackman_client_get_monitor_id (fx->client));
}

static void
wait_for_shots (Fixture *fx, guint n)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(FcMonitorInfo) info = monitor (fx);

      if (info && info->shots + info->duplicates >= n)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("only %u of %u shots arrived", info ? info->shots : 0, n);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
spin (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
}

static GPtrArray *
stored_shots (Fixture *fx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = fc_store_open (fx->db, &error);
  g_autoptr(FcFitting) practice = NULL;
  GPtrArray *shots;

  g_assert_no_error (error);
  practice = fc_store_ensure_practice_session (store, "Bay 1", &error);
  g_assert_no_error (error);
  shots = fc_store_list_shots (store, practice->id, &error);
  g_assert_no_error (error);
  return shots;
}

static JsonNode *
http_get_json (const char *url)
{
  g_autoptr(SoupSession) session = g_object_new (SOUP_TYPE_SESSION, "proxy-resolver", NULL, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read (session, msg, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  JsonNode *node = json_from_string (g_bytes_get_data (body, NULL), &error);
  g_assert_no_error (error);
  return node;
}

static const struct {
  const char  *key;
  FcShotField  field;
} keys[] = {
  { "BallSpeed", FC_FIELD_BALL_SPEED },   { "LaunchAngle", FC_FIELD_LAUNCH_ANGLE },
  { "SpinRate", FC_FIELD_SPIN_RATE },     { "SpinAxis", FC_FIELD_SPIN_AXIS },
  { "ClubSpeed", FC_FIELD_CLUB_SPEED },   { "AttackAngle", FC_FIELD_ATTACK_ANGLE },
  { "Carry", FC_FIELD_CARRY },            { "Total", FC_FIELD_TOTAL },
  { "MaxHeight", FC_FIELD_MAX_HEIGHT },   { "LandingAngle", FC_FIELD_LANDING_ANGLE },
  { "HangTime", FC_FIELD_HANG_TIME },     { "CarrySide", FC_FIELD_CARRY_SIDE },
};

/* Every stored shot is one of the unit's final measurements (from its
 * REST list), with exactly its values; @n of each. */
static void
assert_shots_match_unit (Fixture *fx, guint n, const char *protocol)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/api/shots/recent", fx->http_port);
  g_autoptr(JsonNode) recent = http_get_json (url);
  g_autoptr(GPtrArray) shots = stored_shots (fx);
  JsonArray *finals = json_node_get_array (recent);

  g_assert_cmpuint (shots->len, ==, n);
  g_assert_cmpuint (json_array_get_length (finals), ==, n);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *m = json_array_get_object_element (finals, i);
      const FcShot *shot = NULL;

      for (guint j = 0; j < shots->len; j++)
        {
          const FcShot *s = g_ptr_array_index (shots, j);

          if (g_strcmp0 (s->device_shot_id, json_object_get_string_member (m, "Id")) == 0)
            {
              g_assert_null (shot);  /* once */
              shot = s;
            }
        }
      g_assert_nonnull (shot);
      g_assert_cmpint (shot->source_kind, ==, FC_SOURCE_DEVICE);
      g_assert_cmpstr (shot->source_protocol, ==, protocol);
      g_assert_cmpstr (shot->device_id, ==, "trackman/127.0.0.1");
      g_assert_nonnull (shot->raw);
      if (g_strcmp0 (protocol, "trackman4-ws") == 0)
        g_assert_nonnull (g_strstr_len (g_bytes_get_data (shot->raw, NULL),
                                        g_bytes_get_size (shot->raw), "\"Kind\":\"Measurement\""));
      for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
        if (json_object_has_member (m, keys[k].key))
          g_assert_cmpfloat (fc_shot_get (shot, keys[k].field), ==,
                             json_object_get_double_member (m, keys[k].key));
        else
          g_assert_false (fc_shot_has (shot, keys[k].field));
    }
}

static void
test_start_rejects_bad_address (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (fc_trackman_client_start (fx->client, "ftp://example.com/", &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (fc_trackman_client_start (fx->client, "not an address", &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
}

static void
test_websocket_shots (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *summary = NULL;
  g_autoptr(FcMonitorInfo) info = NULL;

  sim_start (fx, "--count", "5", "--rate", "20", "--seed", "7", "--ping-interval", "0.1", NULL);
  url = g_strdup_printf ("ws://127.0.0.1:%u/ws", fx->http_port);
  g_assert_true (fc_trackman_client_start (fx->client, url, &error));
  g_assert_no_error (error);
  wait_for_shots (fx, 5);
  /* Pings keep coming; intermediate kinds must not have become shots. */
  spin (400);
  info = monitor (fx);
  g_assert_cmpint (info->state, ==, FC_MONITOR_READY);
  g_assert_cmpuint (info->shots, ==, 5);
  g_assert_cmpuint (info->duplicates, ==, 0);
  g_assert_cmpstr (info->kind, ==, "trackman");
  assert_shots_match_unit (fx, 5, "trackman4-ws");
  g_assert_cmpuint (fc_trackman_client_get_pongs_sent (fx->client), >, 0);

  fc_trackman_client_stop (fx->client);
  summary = sim_stop (fx);
  g_test_message ("simulator: %s", summary);
  g_assert_cmpuint (lmsim_summary_value (summary, "shots"), ==, 5);
  g_assert_cmpuint (lmsim_summary_value (summary, "subscribes"), ==, 1);
  g_assert_cmpuint (lmsim_summary_value (summary, "pongs"), >, 0);
  g_assert_cmpuint (lmsim_summary_value (summary, "pongs"), ==,
                    fc_trackman_client_get_pongs_sent (fx->client));
}

static void
test_reconnect (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *summary = NULL;
  g_autoptr(FcMonitorInfo) info = NULL;

  sim_start (fx, "--count", "8", "--rate", "0", "--seed", "11", "--fault-disconnect-every", "2",
             NULL);
  url = g_strdup_printf ("ws://127.0.0.1:%u/ws", fx->http_port);
  g_assert_true (fc_trackman_client_start (fx->client, url, &error));
  wait_for_shots (fx, 8);
  spin (200);
  info = monitor (fx);
  g_assert_cmpuint (info->shots, ==, 8);
  g_assert_cmpuint (info->duplicates, ==, 0);
  g_assert_cmpuint (fc_trackman_client_get_connections (fx->client), >=, 4);
  assert_shots_match_unit (fx, 8, "trackman4-ws");
  summary = sim_stop (fx);
  g_assert_cmpuint (lmsim_summary_value (summary, "connections"), >=, 4);
}

static void
test_description (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autoptr(FcMonitorInfo) info = NULL;

  sim_start (fx, "--count", "3", "--rate", "0", NULL);
  url = g_strdup_printf ("http://127.0.0.1:%u/description.xml", fx->http_port);
  g_assert_true (fc_trackman_client_start (fx->client, url, &error));
  wait_for_shots (fx, 3);
  info = monitor (fx);
  g_assert_cmpstr (info->device, ==, "TrackMan 4");
  assert_shots_match_unit (fx, 3, "trackman4-ws");
}

static void
on_discovered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  char **location = user_data;
  g_autoptr(GError) error = NULL;

  *location = fc_ssdp_discover_finish (result, &error);
  g_assert_no_error (error);
}

static void
test_ssdp (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *target = NULL;
  g_autofree char *location = NULL;
  g_autofree char *want = NULL;
  g_autofree char *summary = NULL;

  sim_start (fx, "--count", "2", "--rate", "0", "--ssdp-port", "0", NULL);
  target = g_strdup_printf ("127.0.0.1:%u", fx->ssdp_port);
  fc_ssdp_discover_async (FC_SSDP_ST_TRACKMAN, target, 3000, NULL, on_discovered, &location);
  while (location == NULL)
    g_main_context_iteration (NULL, TRUE);
  want = g_strdup_printf ("http://127.0.0.1:%u/description.xml", fx->http_port);
  g_assert_cmpstr (location, ==, want);

  /* The whole path: discover, description, WebSocket. */
  fc_trackman_client_set_ssdp_target (fx->client, target);
  g_assert_true (fc_trackman_client_start (fx->client, "discover", &error));
  g_assert_cmpstr (fc_trackman_client_get_monitor_id (fx->client), ==, "trackman");
  wait_for_shots (fx, 2);
  assert_shots_match_unit (fx, 2, "trackman4-ws");
  summary = sim_stop (fx);
  g_assert_cmpuint (lmsim_summary_value (summary, "ssdp"), >=, 2);
}

static void
on_timed_out (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError **out = user_data;
  char *location = fc_ssdp_discover_finish (result, out);

  g_assert_null (location);
}

static void
test_ssdp_timeout (Fixture *fx, gconstpointer data)
{
  g_autoptr(GSocket) quiet = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                           G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *target = NULL;
  GError *error = NULL;

  /* A bound port that never answers. */
  g_assert_true (g_socket_bind (quiet, addr, FALSE, NULL));
  bound = g_socket_get_local_address (quiet, NULL);
  target = g_strdup_printf ("127.0.0.1:%u",
                            g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  fc_ssdp_discover_async (FC_SSDP_ST_TRACKMAN, target, 300, NULL, on_timed_out, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_error_free (error);
}

static void
test_ssdp_parse (void)
{
  const char ok[] = "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
                    "Location: http://172.30.20.1/description.xml\r\n"
                    "ST: urn:schemas-upnp-org:device:TrackMan:1\r\n\r\n";
  const char other[] = "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.2/x.xml\r\n"
                       "ST: urn:schemas-upnp-org:device:MediaRenderer:1\r\n\r\n";
  const char search[] = "M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n";
  g_autofree char *a = fc_ssdp_parse_response (ok, sizeof ok - 1, FC_SSDP_ST_TRACKMAN);
  g_autofree char *b = fc_ssdp_parse_response (other, sizeof other - 1, FC_SSDP_ST_TRACKMAN);
  g_autofree char *c = fc_ssdp_parse_response (search, sizeof search - 1, NULL);

  g_assert_cmpstr (a, ==, "http://172.30.20.1/description.xml");
  g_assert_null (b);
  g_assert_null (c);
}

/* ---- a scripted unit, for what the simulator does not do -------------- */

typedef struct {
  const char *const *script;
  guint              pongs;
  gboolean           subscribed;
} Scripted;

static void
on_scripted_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer user_data)
{
  Scripted *sc = user_data;
  const char *text = g_bytes_get_data (message, NULL);

  if (g_strstr_len (text, g_bytes_get_size (message), "\"Subscribe\""))
    {
      sc->subscribed = TRUE;
      soup_websocket_connection_send_text (ws, "{\"Type\":\"Acknowledge\",\"SubType\":\"Subscribe\"}");
      soup_websocket_connection_send_text (ws, "{\"Type\":\"Ping\"}");
      for (guint i = 0; sc->script[i]; i++)
        soup_websocket_connection_send_text (ws, sc->script[i]);
    }
  else if (g_strstr_len (text, g_bytes_get_size (message), "\"Pong\""))
    sc->pongs++;
}

static void
on_scripted_ws (SoupServer *server, SoupServerMessage *msg, const char *path,
                SoupWebsocketConnection *connection, gpointer user_data)
{
  g_object_set_data_full (G_OBJECT (server), "ws", g_object_ref (connection), g_object_unref);
  g_signal_connect (connection, "message", G_CALLBACK (on_scripted_message), user_data);
}

static void
server_start (Fixture *fx)
{
  g_autoptr(GError) error = NULL;
  GSList *uris;

  fx->server = soup_server_new (NULL, NULL);
  g_assert_true (soup_server_listen_local (fx->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  uris = soup_server_get_uris (fx->server);
  fx->server_port = g_uri_get_port (uris->data);
  fx->http_port = fx->server_port;
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static void
test_final_never_comes (Fixture *fx, gconstpointer data)
{
  static const char *const script[] = {
    "{\"Type\":\"Measurement\",\"Subtype\":\"Golf\",\"Id\":\"shot-a\",\"Payload\":"
    "{\"Kind\":\"LaunchData\",\"BallSpeed\":60.5,\"LaunchAngle\":14.25}}",
    "{\"Type\":\"Measurement\",\"Subtype\":\"Golf\",\"Id\":\"shot-a\",\"Payload\":"
    "{\"Kind\":\"FlightData\",\"BallSpeed\":60.5,\"LaunchAngle\":14.25,\"Carry\":140.125}}",
    /* A stale intermediate message must not replace the more complete one. */
    "{\"Type\":\"Measurement\",\"Subtype\":\"Golf\",\"Id\":\"shot-a\",\"Payload\":"
    "{\"Kind\":\"PreLaunchData\",\"BallSpeed\":61}}",
    "{\"Type\":\"TrackerState\",\"Payload\":{\"State\":\"Ready\"}}",
    "{\"Type\":\"Measurement\",\"Subtype\":\"Golf\",\"Id\":\"shot-b\",\"Payload\":"
    "{\"Kind\":\"PreLaunchData\",\"BallSpeed\":70}}",
    "{\"Type\":\"Measurement\",\"Subtype\":\"Golf\",\"Id\":\"shot-b\",\"Payload\":"
    "{\"Kind\":\"Measurement\",\"BallSpeed\":70.75,\"Carry\":180.5,\"SpinRate\":3000}}",
    /* A late repeat of a stored shot. */
    "{\"Type\":\"Measurement\",\"Subtype\":\"Golf\",\"Id\":\"shot-b\",\"Payload\":"
    "{\"Kind\":\"Measurement\",\"BallSpeed\":70.75,\"Carry\":180.5,\"SpinRate\":3000}}",
    "{\"Type\":\"Measurement\",\"Subtype\":\"Golf\",\"Id\":\"shot-c\",\"Payload\":"
    "{\"Kind\":\"LiveApex\",\"BallSpeed\":50,\"MaxHeight\":20.5}}",
    NULL
  };
  Scripted sc = { script, 0, FALSE };
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GPtrArray) shots = NULL;
  g_autoptr(FcMonitorInfo) info = NULL;

  server_start (fx);
  soup_server_add_websocket_handler (fx->server, "/ws", NULL, NULL, on_scripted_ws, &sc, NULL);
  url = g_strdup_printf ("ws://127.0.0.1:%u/ws", fx->server_port);
  fc_trackman_client_set_shot_timeout (fx->client, 300);
  g_assert_true (fc_trackman_client_start (fx->client, url, &error));
  /* a: when b starts; b: its final message; c: after the shot timeout. */
  wait_for_shots (fx, 3);
  spin (100);
  info = monitor (fx);
  g_assert_cmpuint (info->shots, ==, 3);
  g_assert_cmpuint (sc.pongs, ==, 1);

  shots = stored_shots (fx);
  g_assert_cmpuint (shots->len, ==, 3);
  for (guint i = 0; i < shots->len; i++)
    {
      const FcShot *s = g_ptr_array_index (shots, i);

      if (g_strcmp0 (s->device_shot_id, "shot-a") == 0)
        {
          g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_BALL_SPEED), ==, 60.5);
          g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_CARRY), ==, 140.125);
        }
      else if (g_strcmp0 (s->device_shot_id, "shot-b") == 0)
        g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_CARRY), ==, 180.5);
      else
        {
          g_assert_cmpstr (s->device_shot_id, ==, "shot-c");
          g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_MAX_HEIGHT), ==, 20.5);
        }
    }
}

/* ---- REST polling with OAuth ------------------------------------------- */

typedef struct {
  int         expires_in;
  guint       tokens;
  guint       polls;
  guint       unauthorized;
  const char *token_body;   /* instead of a well-formed token answer */
} RestUnit;

static void
on_rest (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer user_data)
{
  RestUnit *unit = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *auth = soup_message_headers_get_one (headers, "Authorization");
  g_autofree char *token = NULL;
  const char *body;

  if (strcmp (path, "/token") == 0)
    {
      g_autofree char *basic = g_base64_encode ((const guchar *) "bay-pc:s3cret", 13);
      g_autofree char *want = g_strconcat ("Basic ", basic, NULL);

      if (g_strcmp0 (auth, want) != 0)
        {
          soup_server_message_set_status (msg, 401, NULL);
          return;
        }
      unit->tokens++;
      token = unit->token_body
        ? g_strdup (unit->token_body)
        : g_strdup_printf ("{\"access_token\":\"tok-123\",\"token_type\":\"Bearer\","
                           "\"expires_in\":%d}", unit->expires_in);
      body = token;
    }
  else if (strcmp (path, "/api/shots/recent") == 0)
    {
      if (g_strcmp0 (auth, "Bearer tok-123") != 0)
        {
          unit->unauthorized++;
          soup_server_message_set_status (msg, 401, NULL);
          return;
        }
      unit->polls++;
      body = "[{\"Id\":\"r-1\",\"Kind\":\"Measurement\",\"BallSpeed\":66.5,\"Carry\":150.25},"
             "{\"Id\":\"r-2\",\"Kind\":\"Measurement\",\"BallSpeed\":67.5,\"Carry\":155.75}]";
    }
  else
    {
      soup_server_message_set_status (msg, 404, NULL);
      return;
    }
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, body, strlen (body));
}

static void
test_rest_oauth (Fixture *fx, gconstpointer data)
{
  RestUnit unit = { 86400, 0, 0, 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *token_url = NULL;
  g_autoptr(GPtrArray) shots = NULL;
  gint64 deadline;

  server_start (fx);
  soup_server_add_handler (fx->server, NULL, on_rest, &unit, NULL);
  url = g_strdup_printf ("ws://127.0.0.1:%u/ws", fx->server_port);
  token_url = g_strdup_printf ("http://127.0.0.1:%u/token", fx->server_port);
  fc_trackman_client_set_oauth (fx->client, token_url, "bay-pc", "s3cret");
  g_assert_true (fc_trackman_client_start (fx->client, url, &error));
  wait_for_shots (fx, 2);
  /* Two more polls (2 s apart): no new shots, no new token. */
  deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  while (unit.polls < 2 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (unit.polls, >=, 2);
  g_assert_cmpuint (unit.tokens, ==, 1);
  g_assert_cmpuint (unit.unauthorized, ==, 1);
  shots = stored_shots (fx);
  g_assert_cmpuint (shots->len, ==, 2);
  for (guint i = 0; i < shots->len; i++)
    {
      const FcShot *s = g_ptr_array_index (shots, i);

      g_assert_cmpstr (s->source_protocol, ==, "trackman4-rest");
      g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_CARRY), ==,
                         g_strcmp0 (s->device_shot_id, "r-1") == 0 ? 150.25 : 155.75);
    }
}

/* A short-lived token is fetched again before it expires, so the API
 * never answers 401 again. */
static void
test_rest_token_refresh (Fixture *fx, gconstpointer data)
{
  RestUnit unit = { 4, 0, 0, 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *token_url = NULL;
  gint64 deadline;

  server_start (fx);
  soup_server_add_handler (fx->server, NULL, on_rest, &unit, NULL);
  url = g_strdup_printf ("ws://127.0.0.1:%u/ws", fx->server_port);
  token_url = g_strdup_printf ("http://127.0.0.1:%u/token", fx->server_port);
  fc_trackman_client_set_oauth (fx->client, token_url, "bay-pc", "s3cret");
  g_assert_true (fc_trackman_client_start (fx->client, url, &error));
  deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  while (unit.tokens < 2 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (unit.tokens, ==, 2);
  g_assert_cmpuint (unit.unauthorized, ==, 1);
  /* The lifetime is clamped to 10 s and refreshed at half: about 4
   * polls per token, never one per poll. */
  g_assert_cmpuint (unit.polls, >=, 2);
}

/* A token endpoint whose expires_in is an object made json-glib
 * critical (fatal under G_DEBUG=fatal-criticals); one of 2^63 s
 * overflowed the refresh time. Found by fuzz-trackman. Both now give a
 * usable token. */
static void
test_rest_odd_token_lifetime (Fixture *fx, gconstpointer data)
{
  const char *bodies[] = {
    "{\"access_token\":\"tok-123\",\"expires_in\":{\"seconds\":3600}}",
    "{\"access_token\":\"tok-123\",\"expires_in\":9223372036854775807}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      RestUnit unit = { 0, 0, 0, 0, bodies[i] };
      g_autoptr(GError) error = NULL;
      g_autofree char *url = NULL;
      g_autofree char *token_url = NULL;
      gint64 deadline;

      g_clear_object (&fx->server);
      server_start (fx);
      soup_server_add_handler (fx->server, NULL, on_rest, &unit, NULL);
      url = g_strdup_printf ("ws://127.0.0.1:%u/ws", fx->server_port);
      token_url = g_strdup_printf ("http://127.0.0.1:%u/token", fx->server_port);
      fc_trackman_client_set_oauth (fx->client, token_url, "bay-pc", "s3cret");
      g_assert_true (fc_trackman_client_start (fx->client, url, &error));
      deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
      while (unit.polls < 1 && g_get_monotonic_time () < deadline)
        g_main_context_iteration (NULL, TRUE);
      fc_trackman_client_stop (fx->client);
      g_assert_cmpuint (unit.tokens, ==, 1);
      g_assert_cmpuint (unit.polls, ==, 1);
    }
}

/* ---- the parsers alone (fuzz-trackman found these) --------------------- */

static void
test_token_lifetime (void)
{
  const struct { const char *body; gint64 want; } cases[] = {
    { "{\"access_token\":\"t\"}", 3600 },
    { "{\"access_token\":\"t\",\"expires_in\":86400}", 86400 },
    { "{\"access_token\":\"t\",\"expires_in\":86400.9}", 86400 },
    { "{\"access_token\":\"t\",\"expires_in\":null}", 0 },
    { "{\"access_token\":\"t\",\"expires_in\":\"3600\"}", 0 },
    { "{\"access_token\":\"t\",\"expires_in\":[]}", 0 },
    { "{\"access_token\":\"t\",\"expires_in\":-5}", 0 },
    { "{\"access_token\":\"t\",\"expires_in\":1e300}", G_MAXINT32 },
    { "{\"access_token\":\"t\",\"expires_in\":9223372036854775807}", G_MAXINT32 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *token = NULL;
      gint64 expires_in = -1;

      g_assert_true (fc_trackman_token_parse ((const guint8 *) cases[i].body, strlen (cases[i].body),
                                              &token, &expires_in));
      g_assert_cmpstr (token, ==, "t");
      g_assert_cmpint (expires_in, ==, cases[i].want);
    }
}

/* "ws:/ws" parsed without a host: the device id read "trackman/(null)". */
static void
test_endpoint_needs_host (void)
{
  const char *bad[] = { "ws:/ws", "ws:", "wss:///ws", "http://172.30.20.1/ws", "ws://[::1" };
  g_autoptr(FcTrackmanEndpoint) ok = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(FcTrackmanEndpoint) endpoint = fc_trackman_endpoint_new (bad[i], NULL, &error);

      g_assert_null (endpoint);
      g_assert_nonnull (error);
      g_clear_error (&error);
    }
  ok = fc_trackman_endpoint_new ("ws://172.30.20.1:8080/ws", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ok->device_id, ==, "trackman/172.30.20.1");
  g_assert_cmpstr (ok->peer, ==, "172.30.20.1:8080");
  g_assert_cmpstr (ok->api_url, ==, "http://172.30.20.1:8080/api/");
}

/* json-glib recursed once per level of nesting: a WebSocket message of
 * 800 KB of brackets (the client accepts 4 MiB) ran it out of stack. */
static void
test_message_deep_nesting (void)
{
  g_autoptr(GString) deep = g_string_new ("{\"Type\":\"Measurement\",\"Id\":\"x\",\"Payload\":{\"A\":");
  g_autoptr(GString) list = g_string_new (NULL);
  g_autoptr(FcTrackmanMessage) message = NULL;
  g_autoptr(GPtrArray) recent = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 400000; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 400000; i++)
    g_string_append_c (deep, ']');
  g_string_append (deep, "}}");
  for (guint i = 0; i < 400000; i++)
    g_string_append_c (list, '[');
  for (guint i = 0; i < 400000; i++)
    g_string_append_c (list, ']');
  message = fc_trackman_message_parse ((const guint8 *) deep->str, deep->len, &error);
  g_assert_null (message);
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  recent = fc_trackman_recent_parse ((const guint8 *) list->str, list->len, &error);
  g_assert_null (recent);
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
}

/* json-glib checks its input is UTF-8, not what escapes decode to:
 * "\202" is the byte 0x82, which went into the shot's texts and the
 * monitor's name as it was. */
static void
test_texts_are_utf8 (void)
{
  const char text[] = "{\"Type\":\"Measurement\",\"Id\":\"a\\202b\",\"Payload\":{\"Kind\":\"Measurement\","
                      "\"BallSpeed\":60,\"Time\":\"\\2025-09-28\",\"Club\":\"7\\377\"}}";
  const char xml[] = "<modelName>TM\xff" "4</modelName><webSocket>ws://a/ws</webSocket>";
  g_autoptr(FcTrackmanMessage) message = NULL;
  g_autoptr(FcTrackmanDescription) description = NULL;
  g_autoptr(FcShot) shot = NULL;
  g_autoptr(GError) error = NULL;

  message = fc_trackman_message_parse ((const guint8 *) text, sizeof text - 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (message->kind, ==, FC_TRACKMAN_MESSAGE_MEASUREMENT);
  g_assert_true (g_utf8_validate (message->id, -1, NULL));
  shot = fc_trackman_measurement_to_shot (message->payload, "TrackMan shot", &error);
  g_assert_no_error (error);
  g_assert_true (g_utf8_validate (shot->device_time, -1, NULL));
  g_assert_true (g_utf8_validate (shot->club, -1, NULL));
  g_assert_true (g_str_has_prefix (shot->club, "7"));

  /* A token is a secret: taken as sent or not at all. */
  {
    const char answer[] = "{\"access_token\":\"t\\377\",\"expires_in\":60}";
    g_autofree char *token = NULL;
    gint64 expires_in;

    g_assert_false (fc_trackman_token_parse ((const guint8 *) answer, sizeof answer - 1, &token, &expires_in));
    g_assert_null (token);
  }

  description = fc_trackman_description_parse (xml, sizeof xml - 1);
  g_assert_true (g_utf8_validate (description->model_name, -1, NULL));
  g_assert_true (g_str_has_prefix (description->model_name, "TM"));
  g_assert_cmpstr (description->ws_url, ==, "ws://a/ws");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/trackman/start/bad-address", test_start_rejects_bad_address);
  ADD ("/trackman/websocket/shots", test_websocket_shots);
  ADD ("/trackman/websocket/reconnect", test_reconnect);
  ADD ("/trackman/websocket/final-never-comes", test_final_never_comes);
  ADD ("/trackman/description", test_description);
  ADD ("/trackman/ssdp/discover", test_ssdp);
  ADD ("/trackman/ssdp/timeout", test_ssdp_timeout);
  ADD ("/trackman/rest/oauth", test_rest_oauth);
  ADD ("/trackman/rest/token-refresh", test_rest_token_refresh);
  ADD ("/trackman/rest/odd-token-lifetime", test_rest_odd_token_lifetime);
#undef ADD
  g_test_add_func ("/trackman/ssdp/parse", test_ssdp_parse);
  g_test_add_func ("/trackman/message/token-lifetime", test_token_lifetime);
  g_test_add_func ("/trackman/message/endpoint-needs-host", test_endpoint_needs_host);
  g_test_add_func ("/trackman/message/deep-nesting", test_message_deep_nesting);
  g_test_add_func ("/trackman/message/texts-are-utf8", test_texts_are_utf8);
  return g_test_run ();
}
