/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Open Connect receiver end to end on loopback: a real TCP peer in a
 * thread speaks the protocol the way real connectors do; the test checks
 * every reply and what reached the store.
 */
#include <string.h>

#include "fc-error.h"
#include "fc-hub.h"
#include "fc-listen-address.h"
#include "fc-open-connect-server.h"
#include "receiver-test.h"

#define SHOT_FMT "{\"DeviceID\":\"Test LM\",\"Units\":\"Yards\",\"ShotNumber\":%d,\"APIversion\":\"1\"," \
  "\"BallData\":{\"Speed\":%s,\"SpinAxis\":-3.5,\"TotalSpin\":2650.0,\"HLA\":1.2,\"VLA\":11.8," \
  "\"CarryDistance\":245.0},\"ClubData\":null,\"ShotDataOptions\":{\"ContainsBallData\":true," \
  "\"ContainsClubData\":false,\"LaunchMonitorIsReady\":true}}"

typedef struct {
  ReceiverHub          rh;
  FcOpenConnectServer *server;
  guint16              port;
} Fixture;

static void
assert_reply (ReceiverPeer *peer, guint index, int code)
{
  g_autofree char *prefix = g_strdup_printf ("{\"Code\":%d,", code);

  g_assert_cmpuint (peer->replies->len, >, index);
  if (!g_str_has_prefix (g_ptr_array_index (peer->replies, index), prefix))
    g_error ("reply %u is %s, expected code %d", index,
             (char *) g_ptr_array_index (peer->replies, index), code);
}

/* ---- fixture -------------------------------------------------------------- */

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  receiver_hub_init (&fx->rh, "oc");
  fx->server = fc_open_connect_server_new (fx->rh.hub);
  g_assert_true (fc_open_connect_server_listen (fx->server, "127.0.0.1:0", &error));
  g_assert_no_error (error);
  fx->port = fc_open_connect_server_get_port (fx->server);
  g_assert_cmpuint (fx->port, >, 0);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->server);
  receiver_hub_clear (&fx->rh);
}

static char *
shot_text (int number, const char *speed)
{
  return g_strdup_printf (SHOT_FMT, number, speed);
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_one_shot (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = receiver_peer_new (fx->port, 2);
  g_autofree char *text = shot_text (1, "147.5");
  g_autoptr(GPtrArray) shots = NULL;
  FcShot *s;

  receiver_peer_send (peer, text);
  receiver_peer_run (peer, NULL, NULL);
  /* Player information on connect, then the shot's 200. */
  assert_reply (peer, 0, 201);
  g_assert_nonnull (strstr (peer->replies->pdata[0], "\"Player\":{\"Handed\":\"RH\",\"Club\":\"DR\"}"));
  assert_reply (peer, 1, 200);
  g_assert_cmpstr (peer->replies->pdata[1], ==, "{\"Code\":200,\"Message\":\"Ball Data received\",\"Player\":null}");

  shots = receiver_stored_shots (fx->rh.db);
  g_assert_cmpuint (shots->len, ==, 1);
  s = shots->pdata[0];
  g_assert_cmpfloat_with_epsilon (fc_shot_get (s, FC_FIELD_BALL_SPEED), 147.5 * 0.44704, 1e-9);
  g_assert_cmpfloat_with_epsilon (fc_shot_get (s, FC_FIELD_CARRY), 245.0 * 0.9144, 1e-9);
  g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_LAUNCH_ANGLE), ==, 11.8);
  g_assert_cmpstr (s->source_protocol, ==, "open-connect-v1");
  g_assert_cmpstr (s->device_id, ==, "open-connect/127.0.0.1/Test LM");
  g_assert_true (g_str_has_prefix (s->source_detail, "127.0.0.1:"));
  g_assert_cmpmem (g_bytes_get_data (s->raw, NULL), g_bytes_get_size (s->raw), text, strlen (text));
}

static void
test_connector_styles (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = receiver_peer_new (fx->port, 1 + 6);
  g_autofree char *a = shot_text (1, "140.1");
  g_autofree char *b = shot_text (2, "140.2");
  g_autofree char *c = shot_text (3, "140.3");
  g_autofree char *d = shot_text (4, "140.4");
  g_autofree char *e = shot_text (5, "140.5");
  g_autofree char *pair = g_strconcat (d, e, NULL);
  g_autoptr(GPtrArray) shots = NULL;
  /* Indented, as some connectors pretty-print. */
  const char *indented =
    "{\n  \"DeviceID\": \"Test LM\",\n  \"BallData\": {\n    \"Speed\": 139.9,\n"
    "    \"TotalSpin\": 2500,\n    \"VLA\": 12.0,\n    \"HLA\": 0.5\n  }\n}\n";

  receiver_peer_send (peer, indented);
  receiver_peer_send (peer, a);
  receiver_peer_send (peer, "\n");                 /* newline-terminated */
  for (const char *p = b; *p; p++)        /* split byte by byte */
    g_ptr_array_add (peer->chunks, g_bytes_new (p, 1));
  receiver_peer_send (peer, c);
  receiver_peer_send (peer, pair);                 /* coalesced pair */
  receiver_peer_run (peer, NULL, NULL);

  g_assert_cmpuint (peer->replies->len, ==, 7);
  assert_reply (peer, 0, 201);
  for (guint i = 1; i < 7; i++)
    assert_reply (peer, i, 200);
  shots = receiver_stored_shots (fx->rh.db);
  g_assert_cmpuint (shots->len, ==, 6);
}

static void
test_resend_stored_once (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = receiver_peer_new (fx->port, 1 + 3);
  g_autofree char *a = shot_text (7, "150.0");
  g_autofree char *counter_reset = shot_text (1, "150.0");
  g_autoptr(GPtrArray) shots = NULL;

  /* A connector that missed the reply sends the same shot again; one that
   * reconnected has reset its counter but sends the same values. */
  receiver_peer_send (peer, a);
  receiver_peer_send (peer, a);
  receiver_peer_send (peer, counter_reset);
  receiver_peer_run (peer, NULL, NULL);
  for (guint i = 1; i < 4; i++)
    assert_reply (peer, i, 200);
  shots = receiver_stored_shots (fx->rh.db);
  g_assert_cmpuint (shots->len, ==, 1);
}

static void
test_bad_messages (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = receiver_peer_new (fx->port, 1 + 4);
  g_autofree char *good = shot_text (9, "120.0");
  g_autoptr(GPtrArray) shots = NULL;

  receiver_peer_send (peer, "\x01\x02 garbage \xff\xfe");
  receiver_peer_send (peer, "{\"BallData\": }");                               /* not JSON */
  receiver_peer_send (peer, "{\"BallData\":{\"Speed\":\"fast\"},\"ShotDataOptions\":{\"ContainsBallData\":true}}");
  receiver_peer_send (peer, "{\"BallData\":{\"Speed\":2000}}");               /* impossible */
  receiver_peer_send (peer, good);
  receiver_peer_run (peer, NULL, NULL);
  assert_reply (peer, 1, 501);
  g_assert_nonnull (strstr (peer->replies->pdata[1], "Bad JSON data"));
  g_assert_null (strstr (peer->replies->pdata[1], "Bad JSON data: Bad JSON data"));
  assert_reply (peer, 2, 501);
  assert_reply (peer, 3, 501);
  assert_reply (peer, 4, 200);
  shots = receiver_stored_shots (fx->rh.db);
  g_assert_cmpuint (shots->len, ==, 1);
}

static void
test_status_and_silence (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = receiver_peer_new (fx->port, 1 + 3);
  g_autoptr(FcMonitorInfo) info = NULL;

  receiver_peer_send (peer, "{\"DeviceID\":\"Test LM\",\"ShotDataOptions\":{\"IsHeartBeat\":true,\"LaunchMonitorIsReady\":true}}");
  peer->pause_ms = 30;
  receiver_peer_send (peer, "{\"DeviceID\":\"Test LM\",\"ShotDataOptions\":{\"IsHeartBeat\":true,\"LaunchMonitorIsReady\":true}}");
  receiver_peer_send (peer, "{\"DeviceID\":\"Test LM\",\"ShotDataOptions\":{\"LaunchMonitorIsReady\":true,\"LaunchMonitorBallDetected\":true}}");
  fc_hub_set_min_silence (fx->rh.hub, 200 * 1000);
  receiver_peer_run (peer, NULL, NULL);
  for (guint i = 1; i < 4; i++)
    assert_reply (peer, i, 200);
  info = fc_hub_get_monitor (fx->rh.hub, "open-connect 127.0.0.1");
  g_assert_nonnull (info);
  g_assert_cmpstr (info->device, ==, "Test LM");
  g_assert_cmpint (info->heartbeat_interval, >, 0);
  /* The peer closed after its messages: the monitor is flagged. */
  g_assert_cmpint (info->state, ==, FC_MONITOR_DISCONNECTED);
}

static void
test_silence_detected (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(FcMonitorInfo) info = NULL;
  const char *hb = "{\"DeviceID\":\"Quiet LM\",\"ShotDataOptions\":{\"IsHeartBeat\":true,\"LaunchMonitorIsReady\":true}}";
  GOutputStream *out;
  gint64 deadline;

  fc_hub_set_min_silence (fx->rh.hub, 300 * 1000);
  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", fx->port, NULL, &error);
  g_assert_no_error (error);
  out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  for (int i = 0; i < 2; i++)
    {
      g_output_stream_write_all (out, hb, strlen (hb), NULL, NULL, &error);
      g_assert_no_error (error);
      deadline = g_get_monotonic_time () + 50 * 1000;
      while (g_get_monotonic_time () < deadline)
        g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), 0);
    }
  info = fc_hub_get_monitor (fx->rh.hub, "open-connect 127.0.0.1");
  g_assert_nonnull (info);
  g_assert_cmpint (info->state, ==, FC_MONITOR_READY);
  g_clear_pointer (&info, fc_monitor_info_free);

  /* Connected, but the heartbeats stopped. */
  deadline = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  do
    {
      g_clear_pointer (&info, fc_monitor_info_free);
      g_main_context_iteration (NULL, FALSE) || (g_usleep (5000), 0);
      fc_hub_check_silence (fx->rh.hub);
      info = fc_hub_get_monitor (fx->rh.hub, "open-connect 127.0.0.1");
    }
  while (info->state != FC_MONITOR_SILENT && g_get_monotonic_time () < deadline);
  g_assert_cmpint (info->state, ==, FC_MONITOR_SILENT);
  g_assert_cmpuint (fc_open_connect_server_get_n_connections (fx->server), ==, 1);
}

static void
test_oversize_cut_off (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = receiver_peer_new (fx->port, 1 + 1);
  g_autoptr(ReceiverPeer) other = receiver_peer_new (fx->port, 2);
  g_autoptr(GString) big = g_string_new ("{\"DeviceID\":\"");
  g_autofree char *good = shot_text (3, "130.0");

  for (int i = 0; i < 100 * 1024; i++)
    g_string_append_c (big, 'x');
  g_string_append (big, "\"}");
  receiver_peer_send (peer, big->str);
  receiver_peer_run (peer, NULL, NULL);
  assert_reply (peer, 1, 413);
  g_assert_true (peer->closed_by_server || peer->replies->len == 2);

  /* Everyone else is still served. */
  receiver_peer_send (other, good);
  receiver_peer_run (other, NULL, NULL);
  assert_reply (other, 1, 200);
}

static void
test_flood_cut_off (Fixture *fx, gconstpointer data)
{
  FcOpenConnectLimits limits = {
    .max_connections = 64, .max_connections_per_peer = 8, .max_messages_per_second = 20,
    .max_message_bytes = 65536, .max_garbage_bytes = 65536, .max_pending_replies = 64,
  };
  g_autoptr(ReceiverPeer) flood = receiver_peer_new (fx->port, 1000);
  g_autoptr(GString) burst = g_string_new (NULL);
  g_autoptr(ReceiverPeer) other = receiver_peer_new (fx->port, 2);
  g_autofree char *good = shot_text (4, "131.0");

  fc_open_connect_server_set_limits (fx->server, &limits);
  for (int i = 0; i < 500; i++)
    g_string_append (burst, "{\"ShotDataOptions\":{\"IsHeartBeat\":true}}");
  receiver_peer_send (flood, burst->str);
  receiver_peer_run (flood, NULL, NULL);
  g_assert_true (flood->closed_by_server);
  g_assert_cmpuint (flood->replies->len, <, 100);

  receiver_peer_send (other, good);
  receiver_peer_run (other, NULL, NULL);
  assert_reply (other, 1, 200);
}

static void
test_allowlist (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ReceiverPeer) peer = receiver_peer_new (fx->port, 1);
  const char *masks[] = { "192.0.2.0/24", NULL };
  const char *bad[] = { "not-an-address", NULL };

  g_assert_false (fc_open_connect_server_set_allowlist (fx->server, bad, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_assert_true (fc_open_connect_server_set_allowlist (fx->server, masks, NULL));
  receiver_peer_run (peer, NULL, NULL);
  g_assert_cmpuint (peer->replies->len, ==, 0);
  g_assert_true (peer->closed_by_server);
}

static void
test_player_change (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = receiver_peer_new (fx->port, 2);
  g_autoptr(GError) error = NULL;
  GThread *thread;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_assert_false (fc_open_connect_server_set_player (fx->server, "XH", "DR", &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (fc_open_connect_server_set_player (fx->server, "LH", "I10", &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  thread = g_thread_new ("peer", receiver_peer_main, peer);
  while (fc_open_connect_server_get_n_connections (fx->server) == 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), 0);
  /* The fitter picks the customer's 7-iron: every connector hears it. */
  g_assert_true (fc_open_connect_server_set_player (fx->server, "LH", "I7", &error));
  while (!g_atomic_int_get (&peer->done) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), 0);
  g_thread_join (thread);
  assert_reply (peer, 0, 201);
  assert_reply (peer, 1, 201);
  g_assert_nonnull (strstr (peer->replies->pdata[1], "\"Player\":{\"Handed\":\"LH\",\"Club\":\"I7\"}"));
}

static void
test_listen_errors (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcOpenConnectServer) second = fc_open_connect_server_new (fx->rh.hub);
  g_autofree char *same = g_strdup_printf ("127.0.0.1:%u", fx->port);
  g_autoptr(GError) denied = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "Permission denied");
  GSocketAddress *addr;

  g_assert_false (fc_open_connect_server_listen (second, same, &error));
  g_assert_nonnull (strstr (error->message, "another program already uses it"));
  g_assert_nonnull (strstr (error->message, "922"));
  g_clear_error (&error);

  fc_listen_address_explain_error (&denied, "Open Connect", 921, 922);
  g_assert_nonnull (strstr (denied->message, "below 1024"));
  g_assert_nonnull (strstr (denied->message, "cap_net_bind_service"));

  addr = fc_listen_address_parse ("[::1]:921", 921, &error);
  g_assert_no_error (error);
  g_object_unref (addr);
  addr = fc_listen_address_parse ("922", 921, &error);
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (addr)), ==, 922);
  g_object_unref (addr);
  g_assert_null (fc_listen_address_parse ("shop-pc:921", 921, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(name, fn) g_test_add ("/open-connect-server/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("one-shot", test_one_shot);
  ADD ("connector-styles", test_connector_styles);
  ADD ("resend-stored-once", test_resend_stored_once);
  ADD ("bad-messages", test_bad_messages);
  ADD ("status-and-disconnect", test_status_and_silence);
  ADD ("silence-detected", test_silence_detected);
  ADD ("oversize-cut-off", test_oversize_cut_off);
  ADD ("flood-cut-off", test_flood_cut_off);
  ADD ("allowlist", test_allowlist);
  ADD ("player-change", test_player_change);
  ADD ("listen-errors", test_listen_errors);
#undef ADD
  return g_test_run ();
}
