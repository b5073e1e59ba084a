/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-e6"

#include "fc-e6-server.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "fc-error.h"
#include "fc-json-writer.h"
#include "fc-listen-address.h"
#include "fc-peer-gate.h"
#include "fc-oc-framer.h"

#ifdef G_OS_WIN32
# include <winsock2.h>
#else
# include <netinet/in.h>
# include <netinet/tcp.h>
#endif

#define READ_CHUNK 16384
#define KIND "garmin-e6"

struct _FcE6Server {
  GObject              parent_instance;

  FcHub               *hub;
  GSocketService      *service;
  char                *listen_id;     /* monitor id of the listener */
  guint16              port;
  FcPeerGate          *gate;          /* allowlist, connection counts */
  FcOpenConnectLimits  limits;
  guint                ping_interval_ms;
  GList               *connections;   /* of Conn* */
};

G_DEFINE_FINAL_TYPE (FcE6Server, fc_e6_server, G_TYPE_OBJECT)

typedef struct {
  char     *text;
  gboolean  ready;
} Reply;

/* One connected app. Owned by the server's list; async operations and
 * the ping timer hold a reference so that a close in the middle of a read
 * or write is safe. */
typedef struct {
  gatomicrefcount  ref;
  FcE6Server      *server;      /* NULL once detached */
  GSocketConnection *connection;
  GCancellable    *cancellable;
  FcOcFramer      *framer;
  char            *peer;        /* "192.0.2.7:50123" */
  char            *peer_ip;
  char            *monitor_id;  /* "garmin-e6 192.0.2.7" */
  GQueue           replies;     /* of Reply*, in message order */
  gboolean         writing;
  gboolean         reading;
  gboolean         closed;
  gboolean         close_when_flushed;
  const char      *close_reason;  /* static text, for close_when_flushed */
  FcTokenBucket        budget;      /* message rate limit */
  /* Shot assembly: the app sends ball and club data in separate messages,
   * then SendShot. Ball data stays until replaced (a repeated SendShot
   * resends the same shot, which the store recognises); club data belongs
   * to the next shot only, so a ball-only shot never borrows an old swing. */
  char            *club;
  FcShot          *ball;        /* ball fields only */
  GBytes          *ball_raw;
  FcShot          *club_data;   /* club fields only */
  GBytes          *club_raw;
  /* Keepalive */
  GSource         *ping_source;
  guint            pings_unanswered;
  gboolean         flagged_silent;
  guint8           buffer[READ_CHUNK];
} Conn;

static void conn_read (Conn *conn);
static void conn_flush (Conn *conn);

static Conn *
conn_ref (Conn *conn)
{
  g_atomic_ref_count_inc (&conn->ref);
  return conn;
}

static void
reply_free (Reply *reply)
{
  g_free (reply->text);
  g_free (reply);
}

static void
conn_unref (Conn *conn)
{
  if (!g_atomic_ref_count_dec (&conn->ref))
    return;
  g_assert (conn->ping_source == NULL);
  g_clear_object (&conn->connection);
  g_clear_object (&conn->cancellable);
  g_clear_pointer (&conn->framer, fc_oc_framer_free);
  g_queue_clear_full (&conn->replies, (GDestroyNotify) reply_free);
  g_clear_pointer (&conn->ball, fc_shot_free);
  g_clear_pointer (&conn->ball_raw, g_bytes_unref);
  g_clear_pointer (&conn->club_data, fc_shot_free);
  g_clear_pointer (&conn->club_raw, g_bytes_unref);
  g_free (conn->club);
  g_free (conn->peer);
  g_free (conn->peer_ip);
  g_free (conn->monitor_id);
  g_free (conn);
}

/* Closes the connection; the monitor is flagged as disconnected when it
 * was the peer's last one. Safe to call more than once. */
static void
conn_close (Conn       *conn,
            const char *why)
{
  FcE6Server *self = conn->server;

  if (conn->closed)
    return;
  conn->closed = TRUE;
  if (conn->ping_source)
    {
      g_source_destroy (conn->ping_source);
      g_clear_pointer (&conn->ping_source, g_source_unref);
    }
  g_cancellable_cancel (conn->cancellable);
  g_io_stream_close (G_IO_STREAM (conn->connection), NULL, NULL);
  if (why)
    g_message ("%s: connection closed: %s", conn->peer, why);

  if (self)
    {
      if (fc_peer_gate_release (self->gate, conn->peer_ip) == 0)
        fc_hub_monitor_update (self->hub, conn->monitor_id, KIND, conn->peer,
                               FC_MONITOR_DISCONNECTED);
      self->connections = g_list_remove (self->connections, conn);
      conn->server = NULL;
      conn_unref (conn);   /* the list's reference */
    }
}

/* ---- replies: one write per reply, in message order ---------------------- */

static Reply *
conn_reserve_reply (Conn *conn)
{
  Reply *reply = g_new0 (Reply, 1);

  g_queue_push_tail (&conn->replies, reply);
  return reply;
}

static void
conn_set_reply (Conn  *conn,
                Reply *reply,
                char  *text)
{
  g_free (reply->text);
  reply->text = text;
  reply->ready = TRUE;
  conn_flush (conn);
}

static void
conn_send (Conn *conn,
           char *text)
{
  conn_set_reply (conn, conn_reserve_reply (conn), text);
}

static void
on_write_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Conn *conn = user_data;
  g_autoptr(GError) error = NULL;

  conn->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        conn_close (conn, error->message);
    }
  else
    {
      reply_free (g_queue_pop_head (&conn->replies));
      if (conn->close_when_flushed && g_queue_is_empty (&conn->replies))
        {
          conn_close (conn, conn->close_reason);
          conn_unref (conn);
          return;
        }
      conn_flush (conn);
      /* Reading paused for back-pressure resumes as replies drain. */
      if (!conn->reading && !conn->closed && !conn->close_when_flushed && conn->server &&
          g_queue_get_length (&conn->replies) < conn->server->limits.max_pending_replies)
        conn_read (conn);
    }
  conn_unref (conn);
}

static void
conn_flush (Conn *conn)
{
  Reply *head;

  if (conn->writing || conn->closed)
    return;
  /* A reserved slot that turned out to need no reply (a shot-complete
   * sequence after a failed commit) is dropped in its turn. */
  while ((head = g_queue_peek_head (&conn->replies)) != NULL && head->ready && head->text[0] == '\0')
    reply_free (g_queue_pop_head (&conn->replies));
  if (head == NULL || !head->ready)
    {
      if (head == NULL && conn->close_when_flushed)
        conn_close (conn, conn->close_reason);
      return;
    }
  conn->writing = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (conn->connection)),
                                   head->text, strlen (head->text), G_PRIORITY_DEFAULT,
                                   conn->cancellable, on_write_done, conn_ref (conn));
}

/* ---- reply texts (keys in the order the Garmin Golf app's peers use) ---- */

static char *
reply_ack (const char *subtype,
           const char *details)
{
  g_autoptr(FcJsonWriter) w = fc_json_writer_new (FALSE);

  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "Details");
  fc_json_writer_string (w, details);
  fc_json_writer_key (w, "SubType");
  fc_json_writer_string (w, subtype);
  fc_json_writer_key (w, "Type");
  fc_json_writer_string (w, "ACK");
  fc_json_writer_end_object (w);
  return fc_json_writer_steal (g_steal_pointer (&w), NULL);
}

static char *
reply_sim_command (const char *subtype)
{
  return g_strdup_printf ("{\"SubType\":\"%s\",\"Type\":\"SimCommand\"}", subtype);
}

static char *
reply_handshake (void)
{
  guint8 random[24];
  g_autofree char *challenge = NULL;

  /* The app answers with a Challenge message whatever we send; the value
   * only has to look like the E6 server's (random base64). */
  for (guint i = 0; i < sizeof random; i++)
    random[i] = (guint8) g_random_int_range (0, 256);
  challenge = g_base64_encode (random, sizeof random);
  return g_strdup_printf ("{\"Challenge\":\"%s\",\"E6Version\":\"2, 0, 0, 0\","
                          "\"ProtocolVersion\":\"1.0.0.5\",\"RequiredProtocolVersion\":\"1.0.0.0\","
                          "\"Type\":\"Handshake\"}", challenge);
}

/* ---- message parsing ------------------------------------------------------- */

double
fc_e6_spin_axis_to_store (double axis)
{
  /* protocols.md §3: the app's axis runs 0–360 with small values tilted
   * left; 350 is 10° to the right. */
  double value = -(axis < 90 ? axis : axis - 360);

  return value == 0 ? 0.0 : value;   /* no -0 in the store */
}

/* Numbers may come as JSON numbers or as numeric strings. */
static gboolean
get_number (JsonObject *object,
            const char *key,
            double     *value)
{
  JsonNode *node = json_object_get_member (object, key);
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    *value = (double) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE)
    *value = json_node_get_double (node);
  else if (type == G_TYPE_STRING)
    {
      const char *text = json_node_get_string (node);
      char *end = NULL;

      if (text == NULL || *text == '\0')
        return FALSE;
      *value = g_ascii_strtod (text, &end);
      while (end && g_ascii_isspace (*end))
        end++;
      if (end == NULL || *end != '\0')
        return FALSE;
    }
  else
    return FALSE;
  return isfinite (*value);
}

static void
set_from (FcShot      *shot,
          JsonObject  *object,
          const char  *key,
          FcShotField  field,
          FcUnit       unit)
{
  double value;

  if (get_number (object, key, &value))
    fc_shot_set (shot, field, fc_unit_to_si (unit, value));
}

/* Ball data in SI; NULL with @details set when it cannot make a shot. */
static FcShot *
parse_ball_data (JsonObject  *message,
                 char       **details)
{
  JsonNode *node = json_object_get_member (message, "BallData");
  JsonObject *ball;
  g_autoptr(FcShot) shot = fc_shot_new ();
  double value;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      *details = g_strdup ("SetBallData without a BallData object.");
      return NULL;
    }
  ball = json_node_get_object (node);
  if (!get_number (ball, "BallSpeed", &value) || value <= 0)
    {
      *details = g_strdup ("Ball data without a usable BallSpeed.");
      return NULL;
    }
  /* Speeds are mph in every app version seen so far (protocols.md §3). */
  fc_shot_set (shot, FC_FIELD_BALL_SPEED, fc_unit_to_si (FC_UNIT_MILES_PER_HOUR, value));
  set_from (shot, ball, "LaunchAngle", FC_FIELD_LAUNCH_ANGLE, FC_UNIT_DEGREES);
  set_from (shot, ball, "LaunchDirection", FC_FIELD_LAUNCH_DIRECTION, FC_UNIT_DEGREES);
  set_from (shot, ball, "BackSpin", FC_FIELD_BACK_SPIN, FC_UNIT_RPM);
  set_from (shot, ball, "SideSpin", FC_FIELD_SIDE_SPIN, FC_UNIT_RPM);
  if (get_number (ball, "SpinAxis", &value))
    fc_shot_set (shot, FC_FIELD_SPIN_AXIS, fc_e6_spin_axis_to_store (value));
  /* A 0 total next to a real back/side pair is a placeholder, not a
   * measurement: derive it like a missing one. */
  if (get_number (ball, "TotalSpin", &value) &&
      !(value == 0 && (fc_shot_has (shot, FC_FIELD_BACK_SPIN) || fc_shot_has (shot, FC_FIELD_SIDE_SPIN))))
    fc_shot_set (shot, FC_FIELD_SPIN_RATE, value);
  fc_shot_complete_spin (shot);
  return g_steal_pointer (&shot);
}

static FcShot *
parse_club_data (JsonObject  *message,
                 char       **details)
{
  JsonNode *node = json_object_get_member (message, "ClubData");
  JsonObject *club;
  g_autoptr(FcShot) shot = fc_shot_new ();

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      *details = g_strdup ("SetClubData without a ClubData object.");
      return NULL;
    }
  club = json_node_get_object (node);
  set_from (shot, club, "ClubHeadSpeed", FC_FIELD_CLUB_SPEED, FC_UNIT_MILES_PER_HOUR);
  set_from (shot, club, "ClubAngleFace", FC_FIELD_FACE_ANGLE, FC_UNIT_DEGREES);
  set_from (shot, club, "ClubAnglePath", FC_FIELD_CLUB_PATH, FC_UNIT_DEGREES);
  /* The R10 reports 0 club speed when it did not see the club. */
  if (fc_shot_has (shot, FC_FIELD_CLUB_SPEED) && fc_shot_get (shot, FC_FIELD_CLUB_SPEED) <= 0)
    fc_shot_unset (shot, FC_FIELD_CLUB_SPEED);
  return g_steal_pointer (&shot);
}

/* ---- shots ------------------------------------------------------------------ */

typedef struct {
  Conn  *conn;
  Reply *ack;
  Reply *sequence[3];   /* Disarm, ShotComplete, Arm */
} PendingShot;

static void
on_shot_committed (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  PendingShot *pending = user_data;
  Conn *conn = pending->conn;
  g_autoptr(GError) error = NULL;
  FcAddResult add;

  if (fc_hub_submit_finish (FC_HUB (source), result, &add, NULL, &error))
    {
      conn_set_reply (conn, pending->ack, reply_ack ("SendShot", "Success."));
      conn_set_reply (conn, pending->sequence[0], reply_sim_command ("Disarm"));
      conn_set_reply (conn, pending->sequence[1], reply_sim_command ("ShotComplete"));
      conn_set_reply (conn, pending->sequence[2], reply_sim_command ("Arm"));
    }
  else
    {
      g_autofree char *why = g_strdup_printf ("Shot not stored: %s", error->message);

      /* No ShotComplete: the app keeps the shot and the fitter sees why. */
      g_warning ("%s: %s", conn->peer, why);
      conn_set_reply (conn, pending->ack, reply_ack ("SendShot", why));
      for (guint i = 0; i < G_N_ELEMENTS (pending->sequence); i++)
        conn_set_reply (conn, pending->sequence[i], g_strdup (""));
    }
  conn_unref (conn);
  g_free (pending);
}

static void
send_shot (Conn  *conn,
           Reply *reply)
{
  FcE6Server *self = conn->server;
  FcShot *shot;
  PendingShot *pending;
  GByteArray *raw;

  if (conn->ball == NULL)
    {
      conn_set_reply (conn, reply, reply_ack ("SendShot", "No ball data to send: SetBallData first."));
      return;
    }

  shot = fc_shot_copy (conn->ball);
  if (conn->club_data)
    for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
      if (fc_shot_has (conn->club_data, f))
        fc_shot_set (shot, f, fc_shot_get (conn->club_data, f));
  shot->source_kind = FC_SOURCE_DEVICE;
  shot->source_protocol = g_strdup ("garmin-e6");
  shot->source_detail = g_strdup (conn->peer);
  /* Per app address: reconnects and resends from the same phone are
   * recognised as the same device by the store's fingerprint. */
  shot->device_id = g_strdup_printf ("garmin-e6/%s", conn->peer_ip);
  shot->club = g_strdup (conn->club);

  raw = g_byte_array_new ();
  g_byte_array_append (raw, g_bytes_get_data (conn->ball_raw, NULL), g_bytes_get_size (conn->ball_raw));
  if (conn->club_raw)
    g_byte_array_append (raw, g_bytes_get_data (conn->club_raw, NULL), g_bytes_get_size (conn->club_raw));
  shot->raw = g_byte_array_free_to_bytes (raw);

  g_clear_pointer (&conn->club_data, fc_shot_free);
  g_clear_pointer (&conn->club_raw, g_bytes_unref);

  pending = g_new0 (PendingShot, 1);
  pending->conn = conn_ref (conn);
  pending->ack = reply;
  for (guint i = 0; i < G_N_ELEMENTS (pending->sequence); i++)
    pending->sequence[i] = conn_reserve_reply (conn);
  fc_hub_submit_async (self->hub, conn->monitor_id, shot, NULL, on_shot_committed, pending);
}

/* ---- messages -------------------------------------------------------------- */

static gboolean
take_token (Conn *conn)
{
  return fc_token_bucket_take (&conn->budget, conn->server->limits.max_messages_per_second);
}

static void
handle_message (Conn   *conn,
                GBytes *bytes)
{
  FcE6Server *self = conn->server;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;
  g_autofree char *details = NULL;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  JsonNode *root;
  JsonObject *message;
  const char *type;

  if (!json_parser_load_from_data (parser, data, len, &error) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_autofree char *why = g_strdup_printf ("Bad JSON data: %s",
                                              error ? error->message : "not an object");

      g_message ("%s: %s", conn->peer, why);
      conn_send (conn, reply_ack ("Unknown", why));
      return;
    }
  message = json_node_get_object (root);
  type = json_object_has_member (message, "Type") ? json_object_get_string_member_with_default (message, "Type", NULL)
                                                  : NULL;
  if (type == NULL)
    {
      g_message ("%s: a message without a Type", conn->peer);
      conn_send (conn, reply_ack ("Unknown", "Message without a Type."));
      return;
    }

  fc_hub_monitor_message (self->hub, conn->monitor_id, NULL, strcmp (type, "Pong") == 0);

  if (strcmp (type, "Handshake") == 0)
    conn_send (conn, reply_handshake ());
  else if (strcmp (type, "Challenge") == 0)
    {
      conn_send (conn, g_strdup ("{\"Success\":\"true\",\"Type\":\"Authentication\"}"));
      /* The app arms the monitor once authenticated. */
      fc_hub_monitor_update (self->hub, conn->monitor_id, NULL, NULL, FC_MONITOR_READY);
    }
  else if (strcmp (type, "Pong") == 0)
    {
      conn->pings_unanswered = 0;
      if (conn->flagged_silent)
        {
          conn->flagged_silent = FALSE;
          g_message ("%s: answering pings again", conn->peer);
        }
    }
  else if (strcmp (type, "SetClubType") == 0)
    {
      const char *club = json_object_get_string_member_with_default (message, "ClubType", NULL);

      if (club == NULL || *club == '\0' || !g_utf8_validate (club, -1, NULL))
        conn_send (conn, reply_ack (type, "SetClubType without a ClubType."));
      else
        {
          g_free (conn->club);
          conn->club = g_strdup (club);
          conn_send (conn, reply_ack (type, "Success."));
        }
    }
  else if (strcmp (type, "SetBallData") == 0)
    {
      FcShot *ball = parse_ball_data (message, &details);

      if (ball == NULL)
        {
          g_message ("%s: %s", conn->peer, details);
          conn_send (conn, reply_ack (type, details));
        }
      else
        {
          g_clear_pointer (&conn->ball, fc_shot_free);
          conn->ball = ball;
          g_clear_pointer (&conn->ball_raw, g_bytes_unref);
          conn->ball_raw = g_bytes_ref (bytes);
          conn_send (conn, reply_ack (type, "Success."));
        }
    }
  else if (strcmp (type, "SetClubData") == 0)
    {
      FcShot *club = parse_club_data (message, &details);

      if (club == NULL)
        {
          g_message ("%s: %s", conn->peer, details);
          conn_send (conn, reply_ack (type, details));
        }
      else
        {
          g_clear_pointer (&conn->club_data, fc_shot_free);
          conn->club_data = club;
          g_clear_pointer (&conn->club_raw, g_bytes_unref);
          conn->club_raw = g_bytes_ref (bytes);
          conn_send (conn, reply_ack (type, "Success."));
        }
    }
  else if (strcmp (type, "SendShot") == 0)
    send_shot (conn, conn_reserve_reply (conn));
  else if (strcmp (type, "Disconnect") == 0)
    {
      /* Close only after replies still due are written. */
      if (g_queue_is_empty (&conn->replies))
        conn_close (conn, "the app disconnected");
      else
        {
          conn->close_when_flushed = TRUE;
          conn->close_reason = "the app disconnected";
        }
    }
  else
    /* Newer app versions add message types; answering them with
     * something the app does not expect could confuse it more than
     * silence does. */
    g_message ("%s: ignored a message of unknown Type “%s”", conn->peer, type);
}

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Conn *conn = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  FcE6Server *self = conn->server;

  conn->reading = FALSE;
  if (conn->closed || self == NULL)
    goto out;
  if (n < 0)
    {
      conn_close (conn, error->message);
      goto out;
    }
  if (n == 0)
    {
      conn_close (conn, "the app disconnected");
      goto out;
    }

  fc_oc_framer_push (conn->framer, conn->buffer, n, messages);
  for (guint i = 0; i < messages->len && !conn->closed && !conn->close_when_flushed; i++)
    {
      if (!take_token (conn))
        {
          conn_close (conn, "flooding: more messages per second than the Garmin Golf app sends");
          goto out;
        }
      handle_message (conn, g_ptr_array_index (messages, i));
    }
  if (conn->closed || conn->close_when_flushed)
    goto out;
  if (fc_oc_framer_get_oversize_count (conn->framer) > 0)
    {
      g_autofree char *why = g_strdup_printf ("Message larger than %u bytes", self->limits.max_message_bytes);

      /* Answer (after any replies still due), then cut off; read no more. */
      g_message ("%s: %s", conn->peer, why);
      conn->close_when_flushed = TRUE;
      conn->close_reason = "it sent an oversized message";
      conn_send (conn, reply_ack ("Unknown", why));
      goto out;
    }
  if (fc_oc_framer_get_garbage_bytes (conn->framer) > self->limits.max_garbage_bytes)
    {
      conn_close (conn, "too much data that is not E6 JSON");
      goto out;
    }
  if (g_queue_get_length (&conn->replies) < self->limits.max_pending_replies)
    conn_read (conn);

out:
  conn_unref (conn);
}

static void
conn_read (Conn *conn)
{
  if (conn->reading || conn->closed)
    return;
  conn->reading = TRUE;
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (conn->connection)),
                             conn->buffer, sizeof conn->buffer, G_PRIORITY_DEFAULT,
                             conn->cancellable, on_read, conn_ref (conn));
}

/* ---- keepalive ------------------------------------------------------------- */

static gboolean
on_ping (gpointer user_data)
{
  Conn *conn = user_data;

  if (conn->closed || conn->server == NULL)
    return G_SOURCE_REMOVE;
  if (conn->pings_unanswered >= FC_E6_SILENT_PINGS && !conn->flagged_silent)
    {
      /* The app keeps the socket open while the phone sleeps or the R10
       * lost Bluetooth: "connected" would be a lie. A Pong or any other
       * message makes the hub clear the flag. */
      conn->flagged_silent = TRUE;
      g_message ("%s: no answer to %u pings", conn->peer, conn->pings_unanswered);
      fc_hub_monitor_update (conn->server->hub, conn->monitor_id, NULL, NULL, FC_MONITOR_SILENT);
    }
  conn->pings_unanswered++;
  conn_send (conn, reply_sim_command ("Ping"));
  return G_SOURCE_CONTINUE;
}

/* ---- accepting ------------------------------------------------------------- */

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  FcE6Server *self = user_data;
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  GInetAddress *address;
  g_autofree char *ip = NULL;
  const char *refused;
  Conn *conn;

  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    return FALSE;
  address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));
  ip = g_inet_address_to_string (address);

  refused = fc_peer_gate_admit (self->gate, address, ip, self->limits.max_connections_per_peer,
                                self->limits.max_connections);
  if (refused)
    {
      g_message ("Refused Garmin E6 client %s: %s", ip, refused);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return TRUE;
    }

  /* Replies are small and the app waits for them: no Nagle delay. */
  g_socket_set_option (g_socket_connection_get_socket (connection), IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  conn = g_new0 (Conn, 1);
  g_atomic_ref_count_init (&conn->ref);
  conn->server = self;
  conn->connection = g_object_ref (connection);
  conn->cancellable = g_cancellable_new ();
  conn->framer = fc_oc_framer_new (self->limits.max_message_bytes);
  conn->peer_ip = g_steal_pointer (&ip);
  conn->peer = g_strdup_printf ("%s:%u", conn->peer_ip,
                                g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote)));
  conn->monitor_id = g_strdup_printf (KIND " %s", conn->peer_ip);
  fc_token_bucket_init (&conn->budget, self->limits.max_messages_per_second);
  g_queue_init (&conn->replies);
  self->connections = g_list_prepend (self->connections, conn);

  g_message ("Garmin E6 client connected from %s", conn->peer);
  fc_hub_monitor_update (self->hub, conn->monitor_id, KIND, conn->peer, FC_MONITOR_CONNECTED);
  fc_hub_monitor_message (self->hub, conn->monitor_id, NULL, FALSE);

  conn->ping_source = g_timeout_source_new (self->ping_interval_ms);
  g_source_set_callback (conn->ping_source, on_ping, conn_ref (conn), (GDestroyNotify) conn_unref);
  g_source_attach (conn->ping_source, g_main_context_get_thread_default ());

  conn_read (conn);
  return TRUE;
}

/* ---- object ---------------------------------------------------------------- */

void
fc_e6_server_stop (FcE6Server *self)
{
  g_return_if_fail (FC_IS_E6_SERVER (self));

  if (self->service)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }
  while (self->connections)
    conn_close (self->connections->data, NULL);
  if (self->listen_id)
    {
      fc_hub_monitor_update (self->hub, self->listen_id, KIND, NULL, FC_MONITOR_STOPPED);
      g_clear_pointer (&self->listen_id, g_free);
    }
}

static void
fc_e6_server_dispose (GObject *object)
{
  FcE6Server *self = FC_E6_SERVER (object);

  if (self->hub)
    fc_e6_server_stop (self);
  g_clear_object (&self->hub);

  G_OBJECT_CLASS (fc_e6_server_parent_class)->dispose (object);
}

static void
fc_e6_server_finalize (GObject *object)
{
  FcE6Server *self = FC_E6_SERVER (object);

  fc_peer_gate_free (self->gate);

  G_OBJECT_CLASS (fc_e6_server_parent_class)->finalize (object);
}

static void
fc_e6_server_class_init (FcE6ServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fc_e6_server_dispose;
  object_class->finalize = fc_e6_server_finalize;
}

static void
fc_e6_server_init (FcE6Server *self)
{
  self->gate = fc_peer_gate_new ();
  self->limits = (FcOpenConnectLimits) {
    .max_connections = 64,
    .max_connections_per_peer = 8,
    .max_messages_per_second = 2000,
    .max_message_bytes = FC_OC_DEFAULT_MAX_MESSAGE,
    .max_garbage_bytes = 64 * 1024,
    .max_pending_replies = 64,
  };
  self->ping_interval_ms = FC_E6_DEFAULT_PING_INTERVAL_MS;
}

FcE6Server *
fc_e6_server_new (FcHub *hub)
{
  FcE6Server *self;

  g_return_val_if_fail (FC_IS_HUB (hub), NULL);

  self = g_object_new (FC_TYPE_E6_SERVER, NULL);
  self->hub = g_object_ref (hub);
  return self;
}

gboolean
fc_e6_server_set_allowlist (FcE6Server          *self,
                            const char * const  *masks,
                            GError             **error)
{
  g_return_val_if_fail (FC_IS_E6_SERVER (self), FALSE);

  return fc_peer_gate_set_allowlist (self->gate, masks, error);
}

void
fc_e6_server_set_limits (FcE6Server                *self,
                         const FcOpenConnectLimits *limits)
{
  g_return_if_fail (FC_IS_E6_SERVER (self));
  g_return_if_fail (limits != NULL);

  self->limits = *limits;
}

void
fc_e6_server_set_ping_interval (FcE6Server *self,
                                guint       interval_ms)
{
  g_return_if_fail (FC_IS_E6_SERVER (self));
  g_return_if_fail (interval_ms > 0);

  self->ping_interval_ms = interval_ms;
}

gboolean
fc_e6_server_listen (FcE6Server  *self,
                     const char  *address,
                     GError     **error)
{
  g_autoptr(GSocketAddress) wanted = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  g_autofree char *ip = NULL;
  guint16 port;

  g_return_val_if_fail (FC_IS_E6_SERVER (self), FALSE);
  g_return_val_if_fail (self->service == NULL, FALSE);

  wanted = fc_listen_address_parse (address, FC_E6_DEFAULT_PORT, error);
  if (wanted == NULL)
    return FALSE;
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (wanted));

  self->service = g_socket_service_new ();
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), wanted,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &effective, error))
    {
      /* The app always dials 2483, so there is no alternative port to
       * offer when it is taken, only the program to close. */
      if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
        {
          g_autoptr(GError) original = g_steal_pointer (error);

          g_set_error (error, FC_ERROR, FC_ERROR_FAILED,
                       "Cannot listen for the Garmin Golf app on port %u: another program already "
                       "uses it (E6 Connect, or another FitClip Agent?). Close it; the app only "
                       "connects to port %u.", port, FC_E6_DEFAULT_PORT);
        }
      else
        fc_listen_address_explain_error (error, "Garmin E6", port, FC_E6_DEFAULT_PORT);
      g_clear_object (&self->service);
      return FALSE;
    }
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect_object (self->service, "incoming", G_CALLBACK (on_incoming), self, 0);
  g_socket_service_start (self->service);

  ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (effective)));
  self->listen_id = g_strdup_printf (KIND " listener %s:%u", ip, self->port);
  fc_hub_monitor_update (self->hub, self->listen_id, KIND, NULL, FC_MONITOR_LISTENING);
  g_message ("Listening for the Garmin Golf app (E6 Connect) on %s:%u", ip, self->port);
  return TRUE;
}

guint16
fc_e6_server_get_port (FcE6Server *self)
{
  g_return_val_if_fail (FC_IS_E6_SERVER (self), 0);
  return self->port;
}

guint
fc_e6_server_get_n_connections (FcE6Server *self)
{
  g_return_val_if_fail (FC_IS_E6_SERVER (self), 0);
  return g_list_length (self->connections);
}
