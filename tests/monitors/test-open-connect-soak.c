/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Open Connect against the launch-monitor simulator (fitclip-lmsim) as
 * separate processes: every connector style, a soak of three clients with
 * split writes, garbage, heartbeats, reconnects and deliberate duplicates,
 * and the agent killed with SIGKILL while clients send. In every case each
 * shot is stored exactly once. The soak trusts the simulator's count of
 * acknowledged shots, so the simulator itself is checked first against a
 * bare TCP peer: what it writes and how it pairs replies.
 */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
# include <sys/prctl.h>
#endif

#include "fc-hub.h"
#include "fc-oc-framer.h"
#include "fc-open-connect-server.h"
#include "lmsim-run.h"
#include "receiver-test.h"

static gint64
count_shots (const char *db)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = fc_store_open (db, &error);
  FcStoreCounts counts;

  g_assert_no_error (error);
  g_assert_true (fc_store_get_counts (store, &counts, &error));
  return counts.shots;
}

static LmsimRun *
client_start (guint16 port, const char *const *extra)
{
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", port);

  return lmsim_run_start ("open-connect", target, extra);
}

typedef struct {
  ReceiverHub          rh;
  FcOpenConnectServer *server;
  guint16              port;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  receiver_hub_init (&fx->rh, "soak");
  fx->server = fc_open_connect_server_new (fx->rh.hub);
  g_assert_true (fc_open_connect_server_listen (fx->server, "127.0.0.1:0", &error));
  fx->port = fc_open_connect_server_get_port (fx->server);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->server);
  receiver_hub_clear (&fx->rh);
}

static void
test_every_style (Fixture *fx, gconstpointer data)
{
  static const char *styles[] = {
    "compact", "indented", "newline", "bytewise", "coalesced", "strings",
    "backspin", "apiversion", "no-totalspin", "mixed",
  };
  gint64 expected = 0;

  for (guint i = 0; i < G_N_ELEMENTS (styles); i++)
    {
      g_autofree char *seed = g_strdup_printf ("%u", 100 + i);
      g_autofree char *device = g_strdup_printf ("Style %s", styles[i]);
      const char *args[] = { "--count", "4", "--rate", "0", "--heartbeat", "0", "--style", styles[i],
                             "--seed", seed, "--device-id", device, NULL };
      LmsimRun *c = client_start (fx->port, args);

      lmsim_run_wait (&c, 1, 60);
      lmsim_run_assert_all_acknowledged (c, 4);
      lmsim_run_free (c);
      expected += 4;
      /* Wait for the hub's writer: replies went out after the commit. */
      g_assert_cmpint (count_shots (fx->rh.db), ==, expected);
    }
}

static void
test_soak_three_clients (Fixture *fx, gconstpointer data)
{
  const guint per_client = 2000;
  LmsimRun *clients[3];

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *seed = g_strdup_printf ("%u", 7 + i);
      g_autofree char *device = g_strdup_printf ("Soak %u", i);
      /* Heartbeats every 50 ms, so that they fall between shots. */
      const char *args[] = { "--count", "2000", "--rate", "0", "--heartbeat", "0.05", "--resend-timeout", "5",
                             "--fault-split", "--fault-garbage-every", "9",
                             "--fault-disconnect-every", "250", "--fault-duplicate-every", "40",
                             "--style", i == 1 ? "indented" : "compact",
                             "--seed", seed, "--device-id", device, NULL };
      clients[i] = client_start (fx->port, args);
    }
  lmsim_run_wait (clients, 3, 240);
  for (guint i = 0; i < 3; i++)
    {
      lmsim_run_assert_all_acknowledged (clients[i], per_client);
      lmsim_run_free (clients[i]);
    }
  /* Every shot exactly once: the deliberate duplicates, the resends and
   * the garbage left nothing extra. */
  g_assert_cmpint (count_shots (fx->rh.db), ==, 3 * per_client);
}

static void
pump (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (2000), 0);
}

/* ---- the simulator itself, against a bare TCP peer ---------------------- */

/* A receiver reduced to what the soak relies on: it frames what the
 * simulator writes, counts it, and answers every message with one reply
 * in order, except the copies of one chosen shot, which it never answers. */
typedef struct {
  GSocketService *service;
  guint16         port;
  gint64          silent_shot;     /* ShotNumber never answered; 0: none */
  guint           connections;
  guint           heartbeats;
  guint           not_json;        /* framed objects that do not parse */
  guint64         garbage;         /* bytes outside objects, every connection */
  GHashTable     *copies;          /* ShotNumber -> copies received */
} Peer;

typedef struct {
  Peer              *peer;
  GSocketConnection *conn;
  FcOcFramer        *framer;
  guint8             buf[4096];
} PeerConn;

static void peer_conn_read (PeerConn *pc);

static void
peer_conn_free (PeerConn *pc)
{
  pc->peer->garbage += fc_oc_framer_get_garbage_bytes (pc->framer);
  g_clear_pointer (&pc->framer, fc_oc_framer_free);
  g_clear_object (&pc->conn);
  g_free (pc);
}

/* FALSE for a message that must stay unanswered. */
static gboolean
peer_take (Peer   *peer,
           GBytes *message)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  JsonObject *o, *options;
  gint64 number;

  if (!json_parser_load_from_data (parser, data, (gssize) len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      peer->not_json++;
      return TRUE;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  options = json_object_get_object_member (o, "ShotDataOptions");
  if (options && json_object_get_boolean_member_with_default (options, "IsHeartBeat", FALSE))
    peer->heartbeats++;
  if (!json_object_has_member (o, "BallData"))
    return TRUE;
  number = json_object_get_int_member (o, "ShotNumber");
  g_hash_table_insert (peer->copies, GINT_TO_POINTER ((int) number),
                       GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (peer->copies,
                                                                                GINT_TO_POINTER ((int) number))) + 1));
  return number != peer->silent_shot;
}

static void
on_peer_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  PeerConn *pc = user_data;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (pc->conn));

  if (n <= 0)
    {
      peer_conn_free (pc);
      return;
    }
  fc_oc_framer_push (pc->framer, pc->buf, (gsize) n, messages);
  for (guint i = 0; i < messages->len; i++)
    {
      static const char reply[] = "{\"Code\":200,\"Message\":\"Ball Data received\",\"Player\":null}";

      /* A blocking write of a few bytes to a peer that reads its replies. */
      if (peer_take (pc->peer, messages->pdata[i]) &&
          !g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL))
        {
          peer_conn_free (pc);
          return;
        }
    }
  peer_conn_read (pc);
}

static void
peer_conn_read (PeerConn *pc)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (pc->conn)), pc->buf,
                             sizeof pc->buf, G_PRIORITY_DEFAULT, NULL, on_peer_read, pc);
}

static gboolean
on_peer_incoming (GSocketService    *service,
                  GSocketConnection *connection,
                  GObject           *source_object,
                  gpointer           user_data)
{
  PeerConn *pc = g_new0 (PeerConn, 1);

  pc->peer = user_data;
  pc->peer->connections++;
  pc->conn = g_object_ref (connection);
  pc->framer = fc_oc_framer_new (0);
  peer_conn_read (pc);
  return TRUE;
}

static void
peer_start (Peer   *peer,
            gint64  silent_shot)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  memset (peer, 0, sizeof *peer);
  peer->silent_shot = silent_shot;
  peer->copies = g_hash_table_new (g_direct_hash, g_direct_equal);
  peer->service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (peer->service), addr, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  peer->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_signal_connect (peer->service, "incoming", G_CALLBACK (on_peer_incoming), peer);
  g_socket_service_start (peer->service);
}

static void
peer_stop (Peer *peer)
{
  g_socket_service_stop (peer->service);
  g_socket_listener_close (G_SOCKET_LISTENER (peer->service));
  g_clear_object (&peer->service);
  g_clear_pointer (&peer->copies, g_hash_table_unref);
}

static guint
peer_copies (Peer  *peer,
             guint  number)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (peer->copies, GINT_TO_POINTER ((int) number)));
}

/* With --fault-split every message goes out in random pieces; nothing
 * but whole messages may reach the peer (no garbage is asked for), each
 * exactly as often as it was sent. The last piece of a message once ran
 * past its end and sent the heap bytes behind it, which now and then
 * held a '{"' that made a receiver swallow the next shot. */
static void
test_simulator_writes_whole_messages (void)
{
  const char *args[] = { "--count", "200", "--rate", "0", "--heartbeat", "0.01", "--fault-split",
                         "--fault-duplicate-every", "10", "--seed", "5", NULL };
  Peer peer;
  LmsimRun *c;

  peer_start (&peer, 0);
  c = client_start (peer.port, args);
  lmsim_run_wait (&c, 1, 60);
  lmsim_run_assert_all_acknowledged (c, 200);
  lmsim_run_free (c);
  /* Let the peer read up to the simulator's close. */
  pump (100);

  g_assert_cmpuint (peer.garbage, ==, 0);
  g_assert_cmpuint (peer.not_json, ==, 0);
  for (guint n = 1; n <= 200; n++)
    g_assert_cmpuint (peer_copies (&peer, n), ==, n % 10 == 0 ? 2 : 1);
  g_test_message ("%u heartbeats between the shots", peer.heartbeats);
  peer_stop (&peer);
}

/* Replies carry no shot number. When the receiver never answers shot 5,
 * the reply to shot 4's deliberate duplicate, which may arrive while
 * shot 5 waits, must not be taken for shot 5's: shot 5 is an error, the
 * simulator starts a new connection, and the later shots get through. */
static void
test_simulator_pairs_replies (void)
{
  const char *args[] = { "--count", "8", "--rate", "0", "--heartbeat", "0.01", "--resend-timeout", "0.3",
                         "--max-resends", "1", "--fault-duplicate-every", "4", "--seed", "6", NULL };
  Peer peer;
  LmsimRun *c;

  peer_start (&peer, 5);
  c = client_start (peer.port, args);
  lmsim_run_wait (&c, 1, 60);
  g_assert_true (g_subprocess_get_if_exited (c->proc));
  g_assert_cmpint (g_subprocess_get_exit_status (c->proc), ==, 1);
  g_assert_nonnull (strstr (c->out, "shot 5 code=none latency_ms=none resends=1\n"));
  for (guint n = 1; n <= 8; n++)
    if (n != 5)
      {
        g_autofree char *line = g_strdup_printf ("shot %u code=200 ", n);
        g_assert_nonnull (strstr (c->out, line));
      }
  g_assert_nonnull (strstr (c->out, "sent=8 acknowledged=7 resends=1 errors=1\n"));
  g_assert_cmpuint (peer_copies (&peer, 5), ==, 2);
  /* Replies owed for shot 5 would never come: a new connection. */
  g_assert_cmpuint (peer.connections, ==, 2);
  lmsim_run_free (c);
  peer_stop (&peer);
}

/* ---- the agent killed while clients send -------------------------------- */

static guint16
free_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, addr, TRUE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
die_with_test (gpointer user_data)
{
#ifdef __linux__
  /* A failed test must not leave an agent behind, holding the test
   * runner's output pipe open until its timeout. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
#endif
}

static GSubprocess *
agent_start (const char *db, guint16 port)
{
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", port);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  GSubprocess *agent;
  /* Creating the database takes a few fsyncs; on a machine whose disk
   * other work keeps busy that has taken more than 10 s. */
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  agent = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("FITCLIP_AGENT"), "--headless", "--db", db,
                                       "--open-connect", listen, NULL);
  g_assert_no_error (error);
  /* Up once it accepts connections. */
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(GSocketClient) probe = g_socket_client_new ();
      g_autoptr(GSocketConnection) conn = NULL;

      g_socket_client_set_enable_proxy (probe, FALSE);
      conn = g_socket_client_connect_to_host (probe, "127.0.0.1", port, NULL, NULL);
      if (conn)
        return agent;
      /* Gone already (its stderr, inherited, says why). */
      if (g_subprocess_get_identifier (agent) == NULL)
        g_error ("the agent exited before listening on %u", port);
      g_usleep (20 * 1000);
    }
  g_error ("the agent did not start listening on %u within 30 s", port);
}

/* From the simulator's verbose log (each message it wrote) and its
 * per-shot lines: ball speed (m/s), spin axis and total spin of every
 * shot that got a 200 — together they tell the generated shots apart. */
static GArray *
acknowledged_speeds (LmsimRun *c)
{
  g_autoptr(GHashTable) speed_of = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  g_auto(GStrv) err_lines = g_strsplit (c->err, "\n", -1);
  g_auto(GStrv) out_lines = g_strsplit (c->out, "\n", -1);
  g_autoptr(GRegex) sent = g_regex_new ("\"ShotNumber\":(\\d+),.*\"BallData\":\\{\"Speed\":([0-9.]+),"
                                        "\"SpinAxis\":(-?[0-9.]+),\"TotalSpin\":([0-9.]+)", 0, 0, NULL);
  GArray *speeds = g_array_new (FALSE, FALSE, sizeof (double) * 3);

  for (guint i = 0; err_lines[i]; i++)
    {
      g_autoptr(GMatchInfo) m = NULL;

      if (g_regex_match (sent, err_lines[i], 0, &m))
        {
          g_autofree char *n = g_match_info_fetch (m, 1);
          g_autofree char *mph = g_match_info_fetch (m, 2);
          g_autofree char *axis = g_match_info_fetch (m, 3);
          g_autofree char *spin = g_match_info_fetch (m, 4);
          double *v = g_new (double, 3);

          v[0] = g_ascii_strtod (mph, NULL) * 0.44704;
          v[1] = g_ascii_strtod (axis, NULL);
          v[2] = g_ascii_strtod (spin, NULL);
          g_hash_table_insert (speed_of, GUINT_TO_POINTER (atoi (n)), v);
        }
    }
  for (guint i = 0; out_lines[i]; i++)
    {
      guint n;

      if (sscanf (out_lines[i], "shot %u code=200", &n) == 1)
        {
          double *v = g_hash_table_lookup (speed_of, GUINT_TO_POINTER (n));

          g_assert_nonnull (v);
          g_array_append_vals (speeds, v, 1);
        }
    }
  return speeds;
}

static void
test_agent_killed (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-kill-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "kill.db", NULL);
  guint16 port = free_port ();
  const guint per_client = 300;
  g_autoptr(GSubprocess) agent = agent_start (db, port);
  LmsimRun *clients[3];
  gboolean all = FALSE;

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *seed = g_strdup_printf ("%u", 40 + i);
      g_autofree char *device = g_strdup_printf ("Kill %u", i);
      const char *args[] = { "--count", "300", "--rate", "150", "--heartbeat", "0", "--fault-split", "--verbose",
                             "--resend-timeout", "0.5", "--max-resends", "100", "--give-up-after", "30",
                             "--seed", seed, "--device-id", device, NULL };
      clients[i] = client_start (port, args);
    }

  for (int round = 0; round < 5; round++)
    {
      pump (g_test_rand_int_range (150, 600));
      g_subprocess_send_signal (agent, SIGKILL);
      g_subprocess_wait (agent, NULL, NULL);
      g_clear_object (&agent);
      pump (100);
      agent = agent_start (db, port);
    }

  for (gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
       !all && g_get_monotonic_time () < deadline;)
    {
      g_main_context_iteration (NULL, FALSE) || (g_usleep (2000), 0);
      all = clients[0]->done && clients[1]->done && clients[2]->done;
    }
  g_assert_true (all);
  g_subprocess_send_signal (agent, SIGTERM);
  g_subprocess_wait (agent, NULL, NULL);

  {
    g_autoptr(GPtrArray) stored = receiver_stored_shots (db);
    guint acknowledged = 0;

    for (guint i = 0; i < 3; i++)
      {
        g_autofree char *device = g_strdup_printf ("open-connect/127.0.0.1/Kill %u", i);
        g_autoptr(GArray) speeds = acknowledged_speeds (clients[i]);
        guint from_device = 0;

        /* Every shot that got a 200 is in the store, exactly once. */
        for (guint k = 0; k < speeds->len; k++)
          {
            guint found = 0;

            for (guint j = 0; j < stored->len; j++)
              {
                FcShot *s = stored->pdata[j];
                const double *want = (const double *) (speeds->data + k * 3 * sizeof (double));

                if (g_strcmp0 (s->device_id, device) == 0 &&
                    G_APPROX_VALUE (fc_shot_get (s, FC_FIELD_BALL_SPEED), want[0], 1e-9) &&
                    G_APPROX_VALUE (fc_shot_get (s, FC_FIELD_SPIN_AXIS), want[1], 1e-9) &&
                    G_APPROX_VALUE (fc_shot_get (s, FC_FIELD_SPIN_RATE), want[2], 1e-9))
                  found++;
              }
            if (found != 1)
              g_error ("acknowledged shot %u of %s is stored %u times", k, device, found);
          }
        for (guint j = 0; j < stored->len; j++)
          if (g_strcmp0 (((FcShot *) stored->pdata[j])->device_id, device) == 0)
            from_device++;
        /* Nothing but the sent shots: the resends after each kill added none. */
        g_assert_cmpuint (from_device, <=, per_client);
        g_assert_cmpuint (from_device, >=, speeds->len);
        acknowledged += speeds->len;
        lmsim_run_free (clients[i]);
      }
    g_test_message ("%u of %u shots acknowledged across 5 kills; %u stored", acknowledged,
                    3 * per_client, stored->len);
    /* The clients resend until answered: nearly all must have got through. */
    g_assert_cmpuint (acknowledged, >=, 3 * per_client - 3);
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  if (g_getenv ("FITCLIP_LMSIM") == NULL || g_getenv ("FITCLIP_AGENT") == NULL)
    g_error ("FITCLIP_LMSIM and FITCLIP_AGENT must point at the built programs");
  g_test_add_func ("/open-connect-soak/simulator-writes-whole-messages", test_simulator_writes_whole_messages);
  g_test_add_func ("/open-connect-soak/simulator-pairs-replies", test_simulator_pairs_replies);
  g_test_add ("/open-connect-soak/every-style", Fixture, NULL, fixture_setup, test_every_style, fixture_teardown);
  g_test_add ("/open-connect-soak/three-clients-2000-shots", Fixture, NULL, fixture_setup,
              test_soak_three_clients, fixture_teardown);
  g_test_add_func ("/open-connect-soak/agent-killed-5-times", test_agent_killed);
  return g_test_run ();
}
