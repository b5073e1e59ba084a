/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Garmin E6 receiver end to end on loopback: a real TCP peer in a
 * thread plays the Garmin Golf app; the test checks every reply, the
 * monitor status the hub shows, and what reached the store. The last
 * test runs the simulator (fitclip-lmsim e6) against it.
 */
#include <math.h>
#include <string.h>

#include "fc-e6-server.h"
#include "fc-error.h"
#include "fc-hub.h"
#include "lmsim-run.h"
#include "receiver-test.h"

#define MONITOR_ID "garmin-e6 127.0.0.1"

#define ACK(type) "{\"Details\":\"Success.\",\"SubType\":\"" type "\",\"Type\":\"ACK\"}"
#define DISARM "{\"SubType\":\"Disarm\",\"Type\":\"SimCommand\"}"
#define SHOT_COMPLETE "{\"SubType\":\"ShotComplete\",\"Type\":\"SimCommand\"}"
#define ARM "{\"SubType\":\"Arm\",\"Type\":\"SimCommand\"}"

#define BALL_FMT "{\"BallData\":{\"BallSpeed\":%s,\"LaunchAngle\":14.5,\"LaunchDirection\":-1.5," \
  "\"SpinAxis\":%s,\"TotalSpin\":6200},\"Type\":\"SetBallData\"}"

#define PING "{\"SubType\":\"Ping\",\"Type\":\"SimCommand\"}"
#define PONG "{\"Type\":\"Pong\"}"

typedef struct {
  ReceiverHub  rh;
  FcE6Server  *server;
  guint16      port;
  /* what the hub showed while the last peer ran */
  gboolean     saw_silent;
  gboolean     recovered;     /* not silent any more after being silent */
} Fixture;

/* A peer that plays the Garmin Golf app: pings are counted, not kept. */
static ReceiverPeer *
peer_new (guint16 port, guint expect)
{
  ReceiverPeer *peer = receiver_peer_new (port, expect);

  peer->ping = PING;
  peer->pong = PONG;
  return peer;
}

static void
watch_monitor (gpointer data)
{
  Fixture *fx = data;
  g_autoptr(FcMonitorInfo) info = fc_hub_get_monitor (fx->rh.hub, MONITOR_ID);

  if (info == NULL)
    return;
  if (info->state == FC_MONITOR_SILENT)
    fx->saw_silent = TRUE;
  else if (fx->saw_silent && info->state != FC_MONITOR_DISCONNECTED)
    fx->recovered = TRUE;
}

/* Runs the main loop (server and hub) until the peer is finished. */
static void
peer_run (Fixture *fx, ReceiverPeer *peer)
{
  fx->saw_silent = fx->recovered = FALSE;
  receiver_peer_run (peer, watch_monitor, fx);
}

static void
assert_replies (ReceiverPeer *peer, const char * const *want)
{
  guint n = g_strv_length ((char **) want);

  for (guint i = 0; i < MIN (n, peer->replies->len); i++)
    g_assert_cmpstr (peer->replies->pdata[i], ==, want[i]);
  g_assert_cmpuint (peer->replies->len, ==, n);
}

/* ---- fixture -------------------------------------------------------------- */

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  receiver_hub_init (&fx->rh, "e6");
  fx->server = fc_e6_server_new (fx->rh.hub);
  /* Pings only where a test wants them: exact reply lists elsewhere. */
  fc_e6_server_set_ping_interval (fx->server, data ? GPOINTER_TO_UINT (data) : 60 * 1000);
  g_assert_true (fc_e6_server_listen (fx->server, "127.0.0.1:0", &error));
  g_assert_no_error (error);
  fx->port = fc_e6_server_get_port (fx->server);
  g_assert_cmpuint (fx->port, >, 0);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->server);
  receiver_hub_clear (&fx->rh);
}

static FcShot *
find_shot_by_speed (GPtrArray *shots, double mph)
{
  for (guint i = 0; i < shots->len; i++)
    if (fc_shot_get (shots->pdata[i], FC_FIELD_BALL_SPEED) == mph * FC_MPS_PER_MPH)
      return shots->pdata[i];
  g_error ("no stored shot with ball speed %g mph", mph);
  return NULL;
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_handshake (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = peer_new (fx->port, 2);
  const char *prefix = "{\"Challenge\":\"";
  const char *suffix = "\",\"E6Version\":\"2, 0, 0, 0\",\"ProtocolVersion\":\"1.0.0.5\","
                       "\"RequiredProtocolVersion\":\"1.0.0.0\",\"Type\":\"Handshake\"}";
  g_autofree char *challenge = NULL;
  g_autofree guint8 *decoded = NULL;
  gsize decoded_len = 0;
  const char *hello;

  receiver_peer_send (peer, "{\"Type\":\"Handshake\"}");
  receiver_peer_send (peer, "{\"Challenge\":\"c2VjcmV0\",\"Type\":\"Challenge\"}");
  peer_run (fx, peer);

  g_assert_cmpuint (peer->replies->len, ==, 2);
  hello = peer->replies->pdata[0];
  g_assert_true (g_str_has_prefix (hello, prefix));
  g_assert_true (g_str_has_suffix (hello, suffix));
  challenge = g_strndup (hello + strlen (prefix), strlen (hello) - strlen (prefix) - strlen (suffix));
  decoded = g_base64_decode (challenge, &decoded_len);
  g_assert_cmpuint (decoded_len, >=, 16);
  g_assert_cmpstr (peer->replies->pdata[1], ==, "{\"Success\":\"true\",\"Type\":\"Authentication\"}");
  g_assert_false (peer->closed_by_server);
}

static void
test_shot (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = peer_new (fx->port, 7);
  g_autofree char *ball = g_strdup_printf (BALL_FMT, "100", "350");
  const char *club = "{\"ClubData\":{\"ClubHeadSpeed\":75.5,\"ClubAngleFace\":1.5,\"ClubAnglePath\":-2.25},"
                     "\"Type\":\"SetClubData\"}";
  g_autofree char *raw = g_strconcat (ball, club, NULL);
  const char *want[] = { ACK ("SetClubType"), ACK ("SetBallData"), ACK ("SetClubData"),
                         ACK ("SendShot"), DISARM, SHOT_COMPLETE, ARM, NULL };
  g_autoptr(GPtrArray) shots = NULL;
  g_autoptr(FcMonitorInfo) info = NULL;
  FcShot *s;

  receiver_peer_send (peer, "{\"ClubType\":\"7Iron\",\"Type\":\"SetClubType\"}");
  receiver_peer_send (peer, ball);
  receiver_peer_send (peer, club);
  receiver_peer_send (peer, "{\"Type\":\"SendShot\"}");
  peer_run (fx, peer);
  assert_replies (peer, want);

  shots = receiver_stored_shots (fx->rh.db);
  g_assert_cmpuint (shots->len, ==, 1);
  s = shots->pdata[0];
  /* mph to m/s exactly as fc_unit_to_si does it: value × 0.44704. */
  g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_BALL_SPEED), ==, 100 * FC_MPS_PER_MPH);
  g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_CLUB_SPEED), ==, 75.5 * FC_MPS_PER_MPH);
  g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_LAUNCH_ANGLE), ==, 14.5);
  g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_LAUNCH_DIRECTION), ==, -1.5);
  g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_SPIN_RATE), ==, 6200);
  g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_SPIN_AXIS), ==, 10);   /* 350 → 10° right */
  g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_FACE_ANGLE), ==, 1.5);
  g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_CLUB_PATH), ==, -2.25);
  g_assert_cmpstr (s->club, ==, "7Iron");
  g_assert_cmpint (s->source_kind, ==, FC_SOURCE_DEVICE);
  g_assert_cmpstr (s->source_protocol, ==, "garmin-e6");
  g_assert_cmpstr (s->device_id, ==, "garmin-e6/127.0.0.1");
  g_assert_true (g_str_has_prefix (s->source_detail, "127.0.0.1:"));
  g_assert_nonnull (s->raw);
  g_assert_cmpmem (g_bytes_get_data (s->raw, NULL), g_bytes_get_size (s->raw), raw, strlen (raw));

  info = fc_hub_get_monitor (fx->rh.hub, MONITOR_ID);
  g_assert_nonnull (info);
  g_assert_cmpstr (info->kind, ==, "garmin-e6");
  g_assert_cmpuint (info->shots, ==, 1);
}

static void
test_spin_axis (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = peer_new (fx->port, 3 * 5);
  g_autoptr(GPtrArray) shots = NULL;
  const struct { const char *speed, *axis; double want; } cases[] = {
    { "101", "350", 10 }, { "102", "10", -10 }, { "103", "0", 0 },
  };

  /* The conversion of protocols.md §3, -(axis < 90 ? axis : axis - 360):
   * the app's small angles tilt left, angles just under 360 tilt right. */
  g_assert_cmpfloat (fc_e6_spin_axis_to_store (350), ==, 10);
  g_assert_cmpfloat (fc_e6_spin_axis_to_store (10), ==, -10);
  g_assert_cmpfloat (fc_e6_spin_axis_to_store (0), ==, 0);
  g_assert_false (signbit (fc_e6_spin_axis_to_store (0)));
  g_assert_cmpfloat (fc_e6_spin_axis_to_store (89.5), ==, -89.5);
  g_assert_cmpfloat (fc_e6_spin_axis_to_store (270.5), ==, 89.5);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *ball = g_strdup_printf (BALL_FMT, cases[i].speed, cases[i].axis);
      receiver_peer_send (peer, ball);
      receiver_peer_send (peer, "{\"Type\":\"SendShot\"}");
    }
  peer_run (fx, peer);
  g_assert_cmpuint (peer->replies->len, ==, 15);

  shots = receiver_stored_shots (fx->rh.db);
  g_assert_cmpuint (shots->len, ==, 3);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      FcShot *s = find_shot_by_speed (shots, g_ascii_strtod (cases[i].speed, NULL));
      g_assert_cmpfloat (fc_shot_get (s, FC_FIELD_SPIN_AXIS), ==, cases[i].want);
      /* Without club data since the last shot: a ball-only shot, no club. */
      g_assert_false (fc_shot_has (s, FC_FIELD_CLUB_SPEED));
      g_assert_null (s->club);
    }
}

static void
test_derived_spin (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = peer_new (fx->port, 1 + 4 + 1 + 4);
  g_autoptr(GPtrArray) shots = NULL;
  FcShot *s;

  /* No TotalSpin at all, and a 0 placeholder next to a real pair. */
  receiver_peer_send (peer, "{\"BallData\":{\"BallSpeed\":120,\"LaunchAngle\":12,\"LaunchDirection\":0.5,"
                   "\"BackSpin\":3000,\"SideSpin\":-400},\"Type\":\"SetBallData\"}");
  receiver_peer_send (peer, "{\"Type\":\"SendShot\"}");
  receiver_peer_send (peer, "{\"BallData\":{\"BallSpeed\":\"121\",\"BackSpin\":\"2000\",\"SideSpin\":\"300\","
                   "\"TotalSpin\":0},\"Type\":\"SetBallData\"}");
  receiver_peer_send (peer, "{\"Type\":\"SendShot\"}");
  peer_run (fx, peer);
  g_assert_cmpuint (peer->replies->len, ==, 10);
  g_assert_cmpstr (peer->replies->pdata[1], ==, ACK ("SendShot"));
  g_assert_cmpstr (peer->replies->pdata[6], ==, ACK ("SendShot"));

  shots = receiver_stored_shots (fx->rh.db);
  g_assert_cmpuint (shots->len, ==, 2);
  s = find_shot_by_speed (shots, 120);
  g_assert_cmpfloat_with_epsilon (fc_shot_get (s, FC_FIELD_SPIN_RATE), hypot (3000, -400), 1e-9);
  g_assert_true (fc_shot_has (s, FC_FIELD_SPIN_AXIS));
  s = find_shot_by_speed (shots, 121);
  g_assert_cmpfloat_with_epsilon (fc_shot_get (s, FC_FIELD_SPIN_RATE), hypot (2000, 300), 1e-9);
}

static void
test_resend_stored_once (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = peer_new (fx->port, 3 * 5 + 1);
  g_autofree char *ball = g_strdup_printf (BALL_FMT, "130", "2");
  g_autoptr(GPtrArray) shots = NULL;
  g_autoptr(FcMonitorInfo) info = NULL;

  receiver_peer_send (peer, "{\"ClubType\":\"Driver\",\"Type\":\"SetClubType\"}");
  for (int i = 0; i < 3; i++)
    {
      /* The app resends the whole shot when an ACK was late. */
      receiver_peer_send (peer, ball);
      receiver_peer_send (peer, "{\"Type\":\"SendShot\"}");
    }
  peer_run (fx, peer);
  g_assert_cmpuint (peer->replies->len, ==, 16);
  for (guint i = 0; i < 3; i++)
    {
      /* Every resend is answered in full, or the app would keep trying. */
      g_assert_cmpstr (peer->replies->pdata[1 + 5 * i + 1], ==, ACK ("SendShot"));
      g_assert_cmpstr (peer->replies->pdata[1 + 5 * i + 3], ==, SHOT_COMPLETE);
    }
  shots = receiver_stored_shots (fx->rh.db);
  g_assert_cmpuint (shots->len, ==, 1);
  info = fc_hub_get_monitor (fx->rh.hub, MONITOR_ID);
  g_assert_cmpuint (info->shots, ==, 1);
  g_assert_cmpuint (info->duplicates, ==, 2);
}

static void
test_bad_input (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = peer_new (fx->port, 6);
  g_autoptr(GPtrArray) shots = NULL;
  const char *junk = "\x01\x02 not json at all \xff\xfe";

  receiver_peer_send (peer, "{\"Type\": nope}");                              /* bad JSON */
  receiver_peer_send (peer, junk);                                            /* garbage between objects */
  receiver_peer_send (peer, "[1,2]");
  receiver_peer_send (peer, "{\"NoType\":1}");                                /* no Type */
  receiver_peer_send (peer, "{\"Type\":\"Frobnicate\"}");                     /* unknown: ignored */
  receiver_peer_send (peer, "{\"Type\":\"SendShot\"}");                       /* nothing to send */
  receiver_peer_send (peer, "{\"BallData\":{\"LaunchAngle\":3},\"Type\":\"SetBallData\"}");
  receiver_peer_send (peer, "{\"BallData\":{\"BallSpeed\":\"fast\"},\"Type\":\"SetBallData\"}");
  receiver_peer_send (peer, "{\"Type\":\"Handshake\"}");                      /* still usable */
  peer_run (fx, peer);

  g_assert_cmpuint (peer->replies->len, ==, 6);
  g_assert_true (g_str_has_prefix (peer->replies->pdata[0], "{\"Details\":\"Bad JSON data"));
  g_assert_nonnull (strstr (peer->replies->pdata[0], "\"SubType\":\"Unknown\",\"Type\":\"ACK\"}"));
  g_assert_cmpstr (peer->replies->pdata[1], ==,
                   "{\"Details\":\"Message without a Type.\",\"SubType\":\"Unknown\",\"Type\":\"ACK\"}");
  g_assert_cmpstr (peer->replies->pdata[2], ==,
                   "{\"Details\":\"No ball data to send: SetBallData first.\",\"SubType\":\"SendShot\",\"Type\":\"ACK\"}");
  g_assert_cmpstr (peer->replies->pdata[3], ==,
                   "{\"Details\":\"Ball data without a usable BallSpeed.\",\"SubType\":\"SetBallData\",\"Type\":\"ACK\"}");
  g_assert_cmpstr (peer->replies->pdata[4], ==,
                   "{\"Details\":\"Ball data without a usable BallSpeed.\",\"SubType\":\"SetBallData\",\"Type\":\"ACK\"}");
  g_assert_true (g_str_has_prefix (peer->replies->pdata[5], "{\"Challenge\":"));
  g_assert_false (peer->closed_by_server);
  shots = receiver_stored_shots (fx->rh.db);
  g_assert_cmpuint (shots->len, ==, 0);
}

/* Input that made json-glib critical (a Type or ClubType that is an
 * object or array: fatal under G_DEBUG=fatal-criticals), values no ball
 * can have (acknowledged, then refused by the store after SendShot), and
 * nesting that json-glib would recurse into. Found by fuzz-e6. */
static void
test_hostile_input (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = peer_new (fx->port, 11);
  g_autoptr(GPtrArray) shots = NULL;
  g_autoptr(GString) deep = g_string_new ("{\"Type\":\"SetBallData\",\"BallData\":");
  g_autofree char *ball = g_strdup_printf (BALL_FMT, "130", "2");

  for (guint i = 0; i < 20000; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 20000; i++)
    g_string_append_c (deep, ']');
  g_string_append_c (deep, '}');

  receiver_peer_send (peer, "{\"Type\":{}}");
  receiver_peer_send (peer, "{\"Type\":\"SetClubType\",\"ClubType\":[]}");
  receiver_peer_send (peer, "{\"BallData\":{\"BallSpeed\":1000,\"LaunchAngle\":12},\"Type\":\"SetBallData\"}");
  receiver_peer_send (peer, "{\"Type\":\"SendShot\"}");
  receiver_peer_send (peer, "{\"ClubData\":{\"ClubHeadSpeed\":9000},\"Type\":\"SetClubData\"}");
  receiver_peer_send (peer, deep->str);
  receiver_peer_send (peer, ball);
  receiver_peer_send (peer, "{\"Type\":\"SendShot\"}");
  peer_run (fx, peer);

  g_assert_cmpuint (peer->replies->len, ==, 11);
  g_assert_cmpstr (peer->replies->pdata[0], ==,
                   "{\"Details\":\"Message without a Type.\",\"SubType\":\"Unknown\",\"Type\":\"ACK\"}");
  g_assert_cmpstr (peer->replies->pdata[1], ==,
                   "{\"Details\":\"SetClubType without a ClubType.\",\"SubType\":\"SetClubType\",\"Type\":\"ACK\"}");
  g_assert_cmpstr (peer->replies->pdata[2], ==,
                   "{\"Details\":\"Ball data refused: Ball speed of 447.04 m/s is impossible.\","
                   "\"SubType\":\"SetBallData\",\"Type\":\"ACK\"}");
  g_assert_cmpstr (peer->replies->pdata[3], ==,
                   "{\"Details\":\"No ball data to send: SetBallData first.\",\"SubType\":\"SendShot\",\"Type\":\"ACK\"}");
  g_assert_cmpstr (peer->replies->pdata[4], ==,
                   "{\"Details\":\"Club data refused: Club speed of 4023.36 m/s is impossible.\","
                   "\"SubType\":\"SetClubData\",\"Type\":\"ACK\"}");
  g_assert_cmpstr (peer->replies->pdata[5], ==,
                   "{\"Details\":\"Bad JSON data: nested deeper than 32 levels\",\"SubType\":\"Unknown\",\"Type\":\"ACK\"}");
  g_assert_cmpstr (peer->replies->pdata[6], ==, ACK ("SetBallData"));
  g_assert_cmpstr (peer->replies->pdata[7], ==, ACK ("SendShot"));
  g_assert_cmpstr (peer->replies->pdata[9], ==, SHOT_COMPLETE);
  g_assert_false (peer->closed_by_server);

  /* The refused club data did not ride along with the good shot. */
  shots = receiver_stored_shots (fx->rh.db);
  g_assert_cmpuint (shots->len, ==, 1);
  g_assert_false (fc_shot_has (shots->pdata[0], FC_FIELD_CLUB_SPEED));
}

/* Nesting far past the receiver's message cap, straight into the
 * parser: json-glib recursed once per level and ran out of stack
 * (a crash at about 100,000 levels on Linux, far fewer on Windows). */
static void
test_message_deep_nesting (void)
{
  g_autoptr(GString) deep = g_string_new ("{\"Type\":\"SetBallData\",\"BallData\":");
  g_autoptr(FcE6Message) message = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 400000; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 400000; i++)
    g_string_append_c (deep, ']');
  g_string_append_c (deep, '}');
  message = fc_e6_message_parse ((const guint8 *) deep->str, deep->len, &error);
  g_assert_null (message);
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_assert_cmpstr (error->message, ==, "Bad JSON data: nested deeper than 32 levels");
}

/* json-glib quotes the bad input in its message, bytes of a broken
 * escape that are not UTF-8 included: the error (an ACK's Details and
 * a log line) must still be one short line of UTF-8. Found by fuzz-e6. */
static void
test_message_error_text (void)
{
  const char *inputs[] = {
    "{\"ClubType\":\"S\\u00e9pt \\u`83c\\udfcc\",\"Type\":\"SetClubType\"}",
    "{\"Type\":\n\nfoo}",
    "{\"Type\":\"SetBallData\" \"BallData\":{}}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(FcE6Message) message = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GString) long_input = g_string_new ("{\"Type\":\"");

      message = fc_e6_message_parse ((const guint8 *) inputs[i], strlen (inputs[i]), &error);
      g_assert_null (message);
      g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
      g_assert_true (g_str_has_prefix (error->message, "Bad JSON data: "));
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_null (strchr (error->message, '\n'));
      g_assert_cmpuint (strlen (error->message), <=, 200);

      /* The same with the quoted input long. */
      for (guint j = 0; j < 2000; j++)
        g_string_append (long_input, "\xc3\xa9");
      g_string_append (long_input, inputs[i] + 9);
      g_clear_error (&error);
      g_clear_pointer (&message, fc_e6_message_free);
      message = fc_e6_message_parse ((const guint8 *) long_input->str, long_input->len, &error);
      g_assert_null (message);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_cmpuint (strlen (error->message), <=, 200);
    }
}

static void
test_oversize_and_allowlist (Fixture *fx, gconstpointer data)
{
  FcOpenConnectLimits limits = {
    .max_connections = 4, .max_connections_per_peer = 2, .max_messages_per_second = 100,
    .max_message_bytes = 1024, .max_garbage_bytes = 4096, .max_pending_replies = 16,
  };
  g_autoptr(ReceiverPeer) big = peer_new (fx->port, 2);
  g_autoptr(ReceiverPeer) refused = peer_new (fx->port, 1);
  g_autoptr(GString) text = g_string_new ("{\"Type\":\"SetClubType\",\"ClubType\":\"");
  g_autoptr(GError) error = NULL;
  const char *masks[] = { "10.0.0.0/8", NULL };
  const char *bad_masks[] = { "not-an-address", NULL };

  fc_e6_server_set_limits (fx->server, &limits);
  big->linger_ms = 2000;   /* until the server hangs up */
  for (int i = 0; i < 2000; i++)
    g_string_append_c (text, 'x');
  g_string_append (text, "\"}");
  receiver_peer_send (big, text->str);
  receiver_peer_send (big, "{\"Type\":\"Handshake\"}");
  peer_run (fx, big);
  /* When both arrive in one read the Handshake after the big message
   * is answered first; the oversize answer is always the last word. */
  g_assert_cmpuint (big->replies->len, >=, 1);
  g_assert_cmpstr (big->replies->pdata[big->replies->len - 1], ==,
                   "{\"Details\":\"Message larger than 1024 bytes\",\"SubType\":\"Unknown\",\"Type\":\"ACK\"}");
  g_assert_true (big->closed_by_server);

  g_assert_false (fc_e6_server_set_allowlist (fx->server, bad_masks, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_assert_true (fc_e6_server_set_allowlist (fx->server, masks, NULL));
  receiver_peer_send (refused, "{\"Type\":\"Handshake\"}");
  peer_run (fx, refused);
  g_assert_cmpuint (refused->replies->len, ==, 0);
  g_assert_true (refused->closed_by_server);
  g_assert_cmpuint (fc_e6_server_get_n_connections (fx->server), ==, 0);
}

static void
test_ping_pong (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = peer_new (fx->port, 1);
  g_autoptr(FcMonitorInfo) info = NULL;

  peer->answer_pings = TRUE;
  peer->linger_ms = 600;
  receiver_peer_send (peer, "{\"Type\":\"Handshake\"}");
  peer_run (fx, peer);

  /* A 50 ms interval for 600 ms: about a dozen pings, every one answered. */
  g_assert_cmpuint (peer->pings, >=, 4);
  g_assert_false (fx->saw_silent);
  info = fc_hub_get_monitor (fx->rh.hub, MONITOR_ID);
  g_assert_nonnull (info);
  /* The pongs reached the hub as heartbeats. */
  g_assert_cmpint (info->heartbeat_interval, >, 0);
  g_assert_cmpint (info->last_message_at, >, 0);
}

static void
test_silence (Fixture *fx, gconstpointer data)
{
  g_autoptr(ReceiverPeer) peer = peer_new (fx->port, 1);

  peer->answer_pings = FALSE;
  peer->linger_ms = 600;
  peer->final_pong = TRUE;
  receiver_peer_send (peer, "{\"Type\":\"Handshake\"}");
  peer_run (fx, peer);

  g_assert_cmpuint (peer->pings, >=, 4);
  g_assert_true (fx->saw_silent);
  /* One Pong later the monitor is no longer silent. */
  g_assert_true (fx->recovered);
}

static void
test_listen_errors (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcE6Server) second = fc_e6_server_new (fx->rh.hub);
  g_autofree char *same = g_strdup_printf ("127.0.0.1:%u", fx->port);

  /* The app only dials 2483: no other port to offer, only the program
   * to close. */
  g_assert_false (fc_e6_server_listen (second, same, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "(E6 Connect, or another FitClip Agent?)"));
  g_assert_nonnull (strstr (error->message, "only connects to port 2483"));
  g_clear_error (&error);
  g_assert_false (fc_e6_server_listen (second, "shop-pc:2483", &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_assert_cmpuint (fc_e6_server_get_port (second), ==, 0);
}

/* ---- the simulator ---------------------------------------------------------- */

static void
test_lmsim (Fixture *fx, gconstpointer data)
{
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", fx->port);
  const char *args[] = { "--count", "20", "--rate", "0", "--seed", "42", "--club", "bag", NULL };
  g_autoptr(LmsimRun) c = lmsim_run_start ("e6", address, args);
  g_autoptr(GPtrArray) shots = NULL;

  lmsim_run_wait (&c, 1, 120);
  lmsim_run_assert_all_acknowledged (c, 20);
  g_assert_nonnull (strstr (c->out, "shot 20 code=ack latency_ms="));
  g_assert_nonnull (strstr (c->out, " errors=0"));

  shots = receiver_stored_shots (fx->rh.db);
  g_assert_cmpuint (shots->len, ==, 20);
  for (guint i = 0; i < shots->len; i++)
    {
      FcShot *s = shots->pdata[i];
      g_assert_cmpstr (s->source_protocol, ==, "garmin-e6");
      g_assert_nonnull (s->club);
      g_assert_true (fc_shot_has (s, FC_FIELD_SPIN_AXIS));
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, interval, fn) \
  g_test_add ("/e6-server/" name, Fixture, GUINT_TO_POINTER (interval), fixture_setup, fn, fixture_teardown)
  ADD ("handshake", 0, test_handshake);
  ADD ("shot", 0, test_shot);
  ADD ("spin-axis", 0, test_spin_axis);
  ADD ("derived-spin", 0, test_derived_spin);
  ADD ("resend-stored-once", 0, test_resend_stored_once);
  ADD ("bad-input", 0, test_bad_input);
  ADD ("hostile-input", 0, test_hostile_input);
  ADD ("oversize-and-allowlist", 0, test_oversize_and_allowlist);
  ADD ("ping-pong", 50, test_ping_pong);
  ADD ("silence", 50, test_silence);
  ADD ("listen-errors", 0, test_listen_errors);
  ADD ("lmsim", 0, test_lmsim);
#undef ADD
  g_test_add_func ("/e6-message/deep-nesting", test_message_deep_nesting);
  g_test_add_func ("/e6-message/error-text", test_message_error_text);

  return g_test_run ();
}
