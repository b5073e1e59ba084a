/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-lmsim-trackman"

#include "config.h"

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "fc-json-writer.h"
#include "lmsim.h"
#include "lmsim-shots.h"

/*
 * The device side of the TrackMan 4 local API: the unit itself is an
 * HTTP server with a UPnP description, a small REST API and a WebSocket
 * that streams each shot as a series of ever more complete Measurement
 * messages. Unlike the other modes this one waits for its peer, so it
 * runs a main loop; shots are produced only while a viewer is
 * subscribed, which keeps a test's shot count exact across reconnects.
 */

#define SSDP_ST             "urn:schemas-upnp-org:device:TrackMan:1"
#define SSDP_GROUP          "239.255.255.250"
#define SSDP_GROUP_PORT     1900
#define RECENT_MAX          50
#define TICK_MS             20

/* Which message of a shot first carries a key: later kinds are
 * supersets of earlier ones, as on the real unit. */
typedef enum {
  KIND_PRE_LAUNCH,
  KIND_LAUNCH,
  KIND_LIVE_APEX,
  KIND_FLIGHT,
  KIND_MEASUREMENT,
  N_KINDS
} Kind;

static const char *const kind_names[N_KINDS] = {
  "PreLaunchData", "LaunchData", "LiveApex", "FlightData", "Measurement",
};

static const struct {
  const char  *key;
  FcShotField  field;
  Kind         first;
} payload_keys[] = {
  { "BallSpeed",        FC_FIELD_BALL_SPEED,         KIND_PRE_LAUNCH },
  { "LaunchAngle",      FC_FIELD_LAUNCH_ANGLE,       KIND_PRE_LAUNCH },
  { "LaunchDirection",  FC_FIELD_LAUNCH_DIRECTION,   KIND_PRE_LAUNCH },
  { "ClubSpeed",        FC_FIELD_CLUB_SPEED,         KIND_LAUNCH },
  { "SmashFactor",      FC_FIELD_SMASH_FACTOR,       KIND_LAUNCH },
  { "SpinRate",         FC_FIELD_SPIN_RATE,          KIND_LAUNCH },
  { "SpinAxis",         FC_FIELD_SPIN_AXIS,          KIND_LAUNCH },
  { "AttackAngle",      FC_FIELD_ATTACK_ANGLE,       KIND_LAUNCH },
  { "ClubPath",         FC_FIELD_CLUB_PATH,          KIND_LAUNCH },
  { "FaceAngle",        FC_FIELD_FACE_ANGLE,         KIND_LAUNCH },
  { "FaceToPath",       FC_FIELD_FACE_TO_PATH,       KIND_LAUNCH },
  { "DynamicLoft",      FC_FIELD_DYNAMIC_LOFT,       KIND_LAUNCH },
  { "SpinLoft",         FC_FIELD_SPIN_LOFT,          KIND_LAUNCH },
  { "MaxHeight",        FC_FIELD_MAX_HEIGHT,         KIND_LIVE_APEX },
  { "Carry",            FC_FIELD_CARRY,              KIND_FLIGHT },
  { "CarrySide",        FC_FIELD_CARRY_SIDE,         KIND_FLIGHT },
  { "LandingAngle",     FC_FIELD_LANDING_ANGLE,      KIND_FLIGHT },
  { "HangTime",         FC_FIELD_HANG_TIME,          KIND_FLIGHT },
  { "Curve",            FC_FIELD_CURVE,              KIND_FLIGHT },
  { "Total",            FC_FIELD_TOTAL,              KIND_MEASUREMENT },
  { "TotalSide",        FC_FIELD_TOTAL_SIDE,         KIND_MEASUREMENT },
  { "SwingPlane",       FC_FIELD_SWING_PLANE,        KIND_MEASUREMENT },
  { "SwingDirection",   FC_FIELD_SWING_DIRECTION,    KIND_MEASUREMENT },
  { "DynamicLie",       FC_FIELD_DYNAMIC_LIE,        KIND_MEASUREMENT },
  { "ImpactOffset",     FC_FIELD_IMPACT_OFFSET,      KIND_MEASUREMENT },
  { "ImpactHeight",     FC_FIELD_IMPACT_HEIGHT,      KIND_MEASUREMENT },
  { "LowPointDistance", FC_FIELD_LOW_POINT_DISTANCE, KIND_MEASUREMENT },
  { "LowPointHeight",   FC_FIELD_LOW_POINT_HEIGHT,   KIND_MEASUREMENT },
  { "LowPointSide",     FC_FIELD_LOW_POINT_SIDE,     KIND_MEASUREMENT },
};

typedef struct _Sim Sim;

typedef struct {
  Sim                     *sim;
  SoupWebsocketConnection *ws;
  gboolean                 subscribed;
} Peer;

struct _Sim {
  LmsimShotOptions  shot_options;
  LmsimShotSource  *source;
  int               port;
  char             *address;       /* where to listen; in every URL we hand out */
  int               ssdp_port;
  gboolean          ssdp_multicast;
  char             *ssdp_interface;
  int               disconnect_every;
  double            ping_s;
  gboolean          verbose;

  SoupServer       *server;
  guint             http_port;
  GSocket          *ssdp;
  GSocket          *ssdp_group;
  GPtrArray        *peers;         /* of Peer* */
  GQueue            recent;        /* of char*: final Measurement objects, newest last */
  GMainLoop        *loop;

  /* The shot being streamed: its messages go out one per tick. */
  FcShot           *shot;
  char             *shot_id;
  char             *shot_time;
  Kind              next_kind;
  guint             produced;      /* shots whose final message went out */
  gint64            start;

  guint             connections;
  guint             subscribes;
  guint             pings;
  guint             pongs;
  guint             ssdp_answers;
};

static void
peer_free (Peer *peer)
{
  g_signal_handlers_disconnect_by_data (peer->ws, peer);
  g_clear_object (&peer->ws);
  g_free (peer);
}

static Peer *
find_subscribed (Sim *sim)
{
  for (guint i = 0; i < sim->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (sim->peers, i);

      if (peer->subscribed &&
          soup_websocket_connection_get_state (peer->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        return peer;
    }
  return NULL;
}

static void
broadcast (Sim        *sim,
           const char *text)
{
  for (guint i = 0; i < sim->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (sim->peers, i);

      if (peer->subscribed &&
          soup_websocket_connection_get_state (peer->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_send_text (peer->ws, text);
    }
  if (sim->verbose)
    g_printerr ("-> %s\n", text);
}

/* The Payload of one message of the current shot, SI units as sent. */
static void
write_payload (Sim          *sim,
               FcJsonWriter *w,
               Kind          kind)
{
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "Id");
  fc_json_writer_string (w, sim->shot_id);
  fc_json_writer_key (w, "Time");
  fc_json_writer_string (w, sim->shot_time);
  fc_json_writer_key (w, "Kind");
  fc_json_writer_string (w, kind_names[kind]);
  for (guint i = 0; i < G_N_ELEMENTS (payload_keys); i++)
    if (payload_keys[i].first <= kind && fc_shot_has (sim->shot, payload_keys[i].field))
      {
        fc_json_writer_key (w, payload_keys[i].key);
        fc_json_writer_double (w, fc_shot_get (sim->shot, payload_keys[i].field));
      }
  if (kind == KIND_MEASUREMENT)
    {
      fc_json_writer_key (w, "PlayerDexterity");
      fc_json_writer_string (w, "Right");
      fc_json_writer_key (w, "TeePosition");
      fc_json_writer_begin_array (w);
      fc_json_writer_double (w, 0.0);
      fc_json_writer_double (w, 0.0);
      fc_json_writer_double (w, 0.0);
      fc_json_writer_end_array (w);
    }
  fc_json_writer_end_object (w);
}

static void
send_next_message (Sim *sim)
{
  g_autoptr(FcJsonWriter) w = fc_json_writer_new (FALSE);
  g_autoptr(FcJsonWriter) final = NULL;
  g_autofree char *text = NULL;
  Kind kind = sim->next_kind++;

  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "Type");
  fc_json_writer_string (w, "Measurement");
  fc_json_writer_key (w, "Subtype");
  fc_json_writer_string (w, "Golf");
  fc_json_writer_key (w, "Id");
  fc_json_writer_string (w, sim->shot_id);
  fc_json_writer_key (w, "Payload");
  write_payload (sim, w, kind);
  fc_json_writer_end_object (w);
  text = fc_json_writer_steal (g_steal_pointer (&w), NULL);
  broadcast (sim, text);

  if (kind != KIND_MEASUREMENT)
    return;

  final = fc_json_writer_new (FALSE);
  write_payload (sim, final, kind);
  g_queue_push_tail (&sim->recent, fc_json_writer_steal (g_steal_pointer (&final), NULL));
  while (sim->recent.length > RECENT_MAX)
    g_free (g_queue_pop_head (&sim->recent));
  sim->produced++;
  g_clear_pointer (&sim->shot, fc_shot_free);
  g_clear_pointer (&sim->shot_id, g_free);
  g_clear_pointer (&sim->shot_time, g_free);

  if (sim->disconnect_every > 0 && sim->produced % sim->disconnect_every == 0)
    for (guint i = 0; i < sim->peers->len; i++)
      {
        Peer *peer = g_ptr_array_index (sim->peers, i);

        if (soup_websocket_connection_get_state (peer->ws) == SOUP_WEBSOCKET_STATE_OPEN)
          soup_websocket_connection_close (peer->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                                           "fault-disconnect-every");
      }
}

static gboolean
on_tick (gpointer user_data)
{
  Sim *sim = user_data;

  if (lmsim_interrupted ())
    {
      g_main_loop_quit (sim->loop);
      return G_SOURCE_REMOVE;
    }
  /* A shot already under way finishes even if the viewer left; one not
   * yet started waits for a viewer so that none is lost. */
  if (sim->shot == NULL)
    {
      g_autoptr(GDateTime) now = NULL;

      if (sim->shot_options.count > 0 && sim->produced >= (guint) sim->shot_options.count)
        return G_SOURCE_CONTINUE;
      if (find_subscribed (sim) == NULL)
        return G_SOURCE_CONTINUE;
      if (g_get_monotonic_time () <
          lmsim_shot_options_due_time (&sim->shot_options, sim->start, sim->produced))
        return G_SOURCE_CONTINUE;
      sim->shot = lmsim_shot_source_next (sim->source);
      fc_shot_complete_spin (sim->shot);
      sim->shot_id = g_uuid_string_random ();
      now = g_date_time_new_now_utc ();
      sim->shot_time = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
      sim->next_kind = KIND_PRE_LAUNCH;
    }
  send_next_message (sim);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_ping_timer (gpointer user_data)
{
  Sim *sim = user_data;

  for (guint i = 0; i < sim->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (sim->peers, i);

      if (soup_websocket_connection_get_state (peer->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        {
          soup_websocket_connection_send_text (peer->ws, "{\"Type\":\"Ping\"}");
          sim->pings++;
        }
    }
  return G_SOURCE_CONTINUE;
}

static void
on_ws_message (SoupWebsocketConnection *ws,
               gint                     type,
               GBytes                  *message,
               gpointer                 user_data)
{
  Peer *peer = user_data;
  Sim *sim = peer->sim;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  JsonNode *root;
  const char *msg_type;

  if (!json_parser_load_from_data (parser, data, len, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  msg_type = json_object_get_string_member_with_default (json_node_get_object (root), "Type", "");
  if (g_strcmp0 (msg_type, "Subscribe") == 0)
    {
      peer->subscribed = TRUE;
      sim->subscribes++;
      soup_websocket_connection_send_text (ws, "{\"Type\":\"Acknowledge\",\"SubType\":\"Subscribe\"}");
    }
  else if (g_strcmp0 (msg_type, "Pong") == 0)
    sim->pongs++;
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  Peer *peer = user_data;

  g_ptr_array_remove (peer->sim->peers, peer);
}

static void
on_websocket (SoupServer              *server,
              SoupServerMessage       *msg,
              const char              *path,
              SoupWebsocketConnection *connection,
              gpointer                 user_data)
{
  Sim *sim = user_data;
  Peer *peer = g_new0 (Peer, 1);

  peer->sim = sim;
  peer->ws = g_object_ref (connection);
  g_signal_connect (connection, "message", G_CALLBACK (on_ws_message), peer);
  g_signal_connect (connection, "closed", G_CALLBACK (on_ws_closed), peer);
  g_ptr_array_add (sim->peers, peer);
  sim->connections++;
}

static void
on_description (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  Sim *sim = user_data;
  g_autofree char *xml = NULL;

  xml = g_strdup_printf (
    "<?xml version=\"1.0\"?>\n"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">\n"
    "  <specVersion><major>1</major><minor>0</minor></specVersion>\n"
    "  <device>\n"
    "    <deviceType>" SSDP_ST "</deviceType>\n"
    "    <friendlyName>TrackMan 4 (fitclip-lmsim)</friendlyName>\n"
    "    <manufacturer>TrackMan</manufacturer>\n"
    "    <modelName>TrackMan 4</modelName>\n"
    "    <serialNumber>LMSIM0001</serialNumber>\n"
    "    <UDN>uuid:6c6d7369-6d00-4000-8000-000000000001</UDN>\n"
    "    <webSocket>ws://%s:%u/ws</webSocket>\n"
    "    <api>http://%s:%u/api/</api>\n"
    "    <cameraApi>http://%s:%u/camera/</cameraApi>\n"
    "  </device>\n"
    "</root>\n",
    sim->address, sim->http_port, sim->address, sim->http_port, sim->address, sim->http_port);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/xml", SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&xml), strlen (xml));
}

static void
on_api (SoupServer        *server,
        SoupServerMessage *msg,
        const char        *path,
        GHashTable        *query,
        gpointer           user_data)
{
  Sim *sim = user_data;
  g_autoptr(GString) body = g_string_new (NULL);

  if (g_strcmp0 (soup_server_message_get_method (msg), "GET") != 0)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
      return;
    }
  if (g_strcmp0 (path, "/api/") == 0 || g_strcmp0 (path, "/api") == 0)
    g_string_append (body, "{\"Version\":\"3.0.0\"}");
  else if (g_strcmp0 (path, "/api/shots/recent") == 0)
    {
      g_string_append_c (body, '[');
      for (GList *l = sim->recent.head; l; l = l->next)
        {
          g_string_append (body, l->data);
          if (l->next)
            g_string_append_c (body, ',');
        }
      g_string_append_c (body, ']');
    }
  else
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
                                    body->str, body->len);
}

/* Answers an M-SEARCH for the TrackMan type (or ssdp:all) by unicast,
 * pointing at our description, as a UPnP device does. */
static gboolean
on_ssdp (GSocket      *socket,
         GIOCondition  condition,
         gpointer      user_data)
{
  Sim *sim = user_data;
  char buf[2048];
  g_autoptr(GSocketAddress) from = NULL;
  gssize n = g_socket_receive_from (socket, &from, buf, sizeof buf - 1, NULL, NULL);
  g_autofree char *reply = NULL;
  g_auto(GStrv) lines = NULL;
  gboolean wanted = FALSE;

  if (n <= 0)
    return G_SOURCE_CONTINUE;
  buf[n] = '\0';
  if (g_ascii_strncasecmp (buf, "M-SEARCH ", 9) != 0)
    return G_SOURCE_CONTINUE;
  lines = g_strsplit (buf, "\r\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (g_ascii_strncasecmp (lines[i], "ST:", 3) == 0)
      {
        g_autofree char *st = g_strstrip (g_strdup (lines[i] + 3));

        wanted = g_strcmp0 (st, SSDP_ST) == 0 || g_strcmp0 (st, "ssdp:all") == 0;
      }
  if (!wanted)
    return G_SOURCE_CONTINUE;
  reply = g_strdup_printf ("HTTP/1.1 200 OK\r\n"
                           "CACHE-CONTROL: max-age=1800\r\n"
                           "EXT:\r\n"
                           "LOCATION: http://%s:%u/description.xml\r\n"
                           "SERVER: fitclip-lmsim UPnP/1.0 TrackMan/4\r\n"
                           "ST: " SSDP_ST "\r\n"
                           "USN: uuid:6c6d7369-6d00-4000-8000-000000000001::" SSDP_ST "\r\n"
                           "\r\n", sim->address, sim->http_port);
  if (g_socket_send_to (socket, from, reply, strlen (reply), NULL, NULL) > 0)
    sim->ssdp_answers++;
  return G_SOURCE_CONTINUE;
}

static gboolean
start_ssdp (Sim     *sim,
            GError **error)
{
  g_autoptr(GInetAddress) host = g_inet_address_new_from_string (sim->address);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (host, sim->ssdp_port);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSource) source = NULL;

  sim->ssdp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                            G_SOCKET_PROTOCOL_UDP, error);
  if (sim->ssdp == NULL || !g_socket_bind (sim->ssdp, addr, TRUE, error))
    return FALSE;
  if ((bound = g_socket_get_local_address (sim->ssdp, error)) == NULL)
    return FALSE;
  sim->ssdp_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  source = g_socket_create_source (sim->ssdp, G_IO_IN, NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (on_ssdp), sim, NULL);
  g_source_attach (source, NULL);
  return TRUE;
}

/* Like a real unit: a member of the SSDP group on port 1900, answering
 * searches by unicast from the address it is reached at. */
static gboolean
start_ssdp_group (Sim     *sim,
                  GError **error)
{
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GInetAddress) group = g_inet_address_new_from_string (SSDP_GROUP);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (any, SSDP_GROUP_PORT);
  g_autoptr(GSource) source = NULL;

  sim->ssdp_group = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                  G_SOCKET_PROTOCOL_UDP, error);
  /* Other UPnP software on the machine may hold the port too. */
  if (sim->ssdp_group == NULL || !g_socket_bind (sim->ssdp_group, addr, TRUE, error))
    return FALSE;
  if (!g_socket_join_multicast_group (sim->ssdp_group, group, FALSE, sim->ssdp_interface, error))
    return FALSE;
  source = g_socket_create_source (sim->ssdp_group, G_IO_IN, NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (on_ssdp), sim, NULL);
  g_source_attach (source, NULL);
  return TRUE;
}

int
lmsim_trackman_main (int    argc,
                     char **argv)
{
  Sim sim = { 0 };
  const GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &sim.address,
      "IPv4 address to listen on and to name in the description (default 127.0.0.1; "
      "a real unit is at 172.30.20.1)", "ADDR" },
    { "port", 0, 0, G_OPTION_ARG_INT, &sim.port,
      "HTTP port (default 0: any free port, printed on stdout; a real unit uses 80)", "N" },
    { "ssdp-port", 0, 0, G_OPTION_ARG_INT, &sim.ssdp_port,
      "Also answer SSDP M-SEARCH by unicast on ADDR:N (0: any free port)", "N" },
    { "ssdp-multicast", 0, 0, G_OPTION_ARG_NONE, &sim.ssdp_multicast,
      "Answer M-SEARCH sent to the SSDP group " SSDP_GROUP ":1900, like a real unit", NULL },
    { "ssdp-interface", 0, 0, G_OPTION_ARG_STRING, &sim.ssdp_interface,
      "Join the SSDP group on this network interface (default: the system's choice)", "NAME" },
    { "fault-disconnect-every", 0, 0, G_OPTION_ARG_INT, &sim.disconnect_every,
      "Close the WebSocket after every N shots", "N" },
    { "ping-interval", 0, 0, G_OPTION_ARG_DOUBLE, &sim.ping_s,
      "Seconds between Ping messages (default 5)", "SECONDS" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &sim.verbose,
      "Print every message sent on stderr", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("— be a TrackMan 4 unit: description, REST API and WebSocket");
  g_autoptr(GError) error = NULL;
  g_autofree char *clubs = lmsim_clubs_help ();
  const char *problem;
  gboolean want_ssdp;
  int status = LMSIM_EXIT_OK;
  GSList *uris;

  sim.ping_s = 5;
  sim.ssdp_port = -1;
  lmsim_shot_options_init (&sim.shot_options);
  g_option_context_set_summary (context,
    "Serves /description.xml, /api/, /api/shots/recent and the /ws WebSocket on\n"
    "ADDR (127.0.0.1) and runs until Ctrl-C. Shots are streamed (PreLaunchData\n"
    "to Measurement) only while a viewer is subscribed. The first stdout line is\n"
    "\"listening http://ADDR:PORT/\", then \"ssdp ADDR:PORT\" with --ssdp-port and\n"
    "\"ssdp " SSDP_GROUP ":1900\" with --ssdp-multicast; the last is a summary\n"
    "of counters.");
  g_option_context_add_main_entries (context, entries, NULL);
  lmsim_shot_options_add (&sim.shot_options, context);
  g_option_context_set_description (context, clubs);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      status = lmsim_usage_error (context, error->message);
      goto out;
    }
  if (argc != 1)
    {
      status = lmsim_usage_error (context, "trackman takes no arguments");
      goto out;
    }
  if ((problem = lmsim_shot_options_check (&sim.shot_options)) != NULL)
    {
      status = lmsim_usage_error (context, problem);
      goto out;
    }
  if (sim.port < 0 || sim.port > 65535 || sim.ssdp_port > 65535 || sim.disconnect_every < 0 ||
      sim.ping_s <= 0)
    {
      status = lmsim_usage_error (context, "a port, count or interval is out of range");
      goto out;
    }
  want_ssdp = sim.ssdp_port >= 0;
  if (sim.address == NULL)
    sim.address = g_strdup ("127.0.0.1");
  {
    g_autoptr(GInetAddress) host = g_inet_address_new_from_string (sim.address);

    /* Every URL handed out names it, so it must be one the viewer can
     * reach: a literal, not a name or "any". */
    if (host == NULL || g_inet_address_get_family (host) != G_SOCKET_FAMILY_IPV4 ||
        g_inet_address_get_is_any (host))
      {
        status = lmsim_usage_error (context, "--address must be one IPv4 address, e.g. 172.30.20.1");
        goto out;
      }
  }
  if ((sim.source = lmsim_open_shot_source (&sim.shot_options, &status)) == NULL)
    goto out;

  sim.peers = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_free);
  sim.server = soup_server_new ("server-header", "fitclip-lmsim-trackman ", NULL);
  soup_server_add_handler (sim.server, "/description.xml", on_description, &sim, NULL);
  soup_server_add_handler (sim.server, "/api", on_api, &sim, NULL);
  soup_server_add_websocket_handler (sim.server, "/ws", NULL, NULL, on_websocket, &sim, NULL);
  {
    g_autoptr(GInetAddress) host = g_inet_address_new_from_string (sim.address);
    g_autoptr(GSocketAddress) listen = g_inet_socket_address_new (host, sim.port);

    if (!soup_server_listen (sim.server, listen, 0, &error))
      {
        g_printerr ("fitclip-lmsim: cannot listen on %s:%d: %s\n", sim.address, sim.port, error->message);
        status = LMSIM_EXIT_FAILED;
        goto out;
      }
  }
  uris = soup_server_get_uris (sim.server);
  sim.http_port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  g_print ("listening http://%s:%u/\n", sim.address, sim.http_port);

  if (want_ssdp)
    {
      if (!start_ssdp (&sim, &error))
        {
          g_printerr ("fitclip-lmsim: SSDP: %s\n", error->message);
          status = LMSIM_EXIT_FAILED;
          goto out;
        }
      g_print ("ssdp %s:%d\n", sim.address, sim.ssdp_port);
    }
  if (sim.ssdp_multicast)
    {
      if (!start_ssdp_group (&sim, &error))
        {
          g_printerr ("fitclip-lmsim: SSDP group " SSDP_GROUP ":1900: %s\n", error->message);
          status = LMSIM_EXIT_FAILED;
          goto out;
        }
      g_print ("ssdp " SSDP_GROUP ":%d\n", SSDP_GROUP_PORT);
    }

  sim.loop = g_main_loop_new (NULL, FALSE);
  sim.start = g_get_monotonic_time ();
  g_timeout_add (TICK_MS, on_tick, &sim);
  g_timeout_add ((guint) (sim.ping_s * 1000), on_ping_timer, &sim);
  g_main_loop_run (sim.loop);

  g_print ("connections=%u subscribes=%u shots=%u pings=%u pongs=%u ssdp=%u\n",
           sim.connections, sim.subscribes, sim.produced, sim.pings, sim.pongs,
           sim.ssdp_answers);
  /* As in the other modes: 0 only when every shot asked for went out. */
  if (sim.shot_options.count > 0 && sim.produced < (guint) sim.shot_options.count)
    status = LMSIM_EXIT_FAILED;

out:
  g_clear_pointer (&sim.peers, g_ptr_array_unref);
  g_clear_object (&sim.server);
  g_clear_object (&sim.ssdp);
  g_clear_object (&sim.ssdp_group);
  g_free (sim.address);
  g_free (sim.ssdp_interface);
  g_clear_pointer (&sim.loop, g_main_loop_unref);
  g_clear_pointer (&sim.shot, fc_shot_free);
  g_free (sim.shot_id);
  g_free (sim.shot_time);
  g_queue_clear_full (&sim.recent, g_free);
  g_clear_pointer (&sim.source, lmsim_shot_source_free);
  lmsim_shot_options_clear (&sim.shot_options);
  return status;
}
