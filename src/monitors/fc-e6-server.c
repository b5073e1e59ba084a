/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-e6"

#include "fc-e6-server.h"

#include <string.h>

#include "fc-e6-message.h"
#include "fc-error.h"
#include "fc-json-writer.h"
#include "fc-listen-address.h"
#include "fc-peer-listener.h"

#define KIND "garmin-e6"

struct _FcE6Server {
  GObject              parent_instance;

  FcPeerListener      *listener;      /* address, gate, limits, connected apps */
  guint                ping_interval_ms;
};

G_DEFINE_FINAL_TYPE (FcE6Server, fc_e6_server, G_TYPE_OBJECT)

/* One connected app: the connection does the plumbing, this is what E6
 * adds to it. Owned by the listener until the connection closes. */
typedef struct {
  FcPeer            peer;        /* monitor id "garmin-e6 192.0.2.7" */
  /* Shot assembly: the app sends ball and club data in separate messages,
   * then SendShot. Ball data stays until replaced (a repeated SendShot
   * resends the same shot, which the store recognises); club data belongs
   * to the next shot only, so a ball-only shot never borrows an old swing. */
  char             *club;
  FcShot           *ball;        /* ball fields only */
  GBytes           *ball_raw;
  FcShot           *club_data;   /* club fields only */
  GBytes           *club_raw;
  /* Keepalive */
  GSource          *ping_source;
  guint             pings_unanswered;
  gboolean          flagged_silent;
} App;

static void
app_clear (FcPeer *peer)
{
  App *app = (App *) peer;

  if (app->ping_source)
    {
      g_source_destroy (app->ping_source);
      g_clear_pointer (&app->ping_source, g_source_unref);
    }
  g_clear_pointer (&app->ball, fc_shot_free);
  g_clear_pointer (&app->ball_raw, g_bytes_unref);
  g_clear_pointer (&app->club_data, fc_shot_free);
  g_clear_pointer (&app->club_raw, g_bytes_unref);
  g_free (app->club);
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

/* ---- shots ------------------------------------------------------------------ */

typedef struct {
  FcPeerConnection *conn;
  FcPeerReply      *ack;
  FcPeerReply      *sequence[3];   /* Disarm, ShotComplete, Arm */
} PendingShot;

static void
on_shot_committed (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  PendingShot *pending = user_data;
  FcPeerConnection *conn = pending->conn;
  g_autoptr(GError) error = NULL;
  FcAddResult add;

  if (fc_hub_submit_finish (FC_HUB (source), result, &add, NULL, &error))
    {
      fc_peer_connection_fill (conn, pending->ack, reply_ack ("SendShot", "Success."));
      fc_peer_connection_fill (conn, pending->sequence[0], reply_sim_command ("Disarm"));
      fc_peer_connection_fill (conn, pending->sequence[1], reply_sim_command ("ShotComplete"));
      fc_peer_connection_fill (conn, pending->sequence[2], reply_sim_command ("Arm"));
    }
  else
    {
      g_autofree char *why = g_strdup_printf ("Shot not stored: %s", error->message);

      /* No ShotComplete: the app keeps the shot and the fitter sees why. */
      g_warning ("%s: %s", fc_peer_connection_get_peer (conn), why);
      fc_peer_connection_fill (conn, pending->ack, reply_ack ("SendShot", why));
      for (guint i = 0; i < G_N_ELEMENTS (pending->sequence); i++)
        fc_peer_connection_fill (conn, pending->sequence[i], g_strdup (""));
    }
  g_object_unref (conn);
  g_free (pending);
}

static void
send_shot (App         *app,
           FcPeerReply *reply)
{
  FcPeerConnection *conn = app->peer.conn;
  FcShot *shot;
  PendingShot *pending;
  GByteArray *raw;

  if (app->ball == NULL)
    {
      fc_peer_connection_fill (conn, reply, reply_ack ("SendShot", "No ball data to send: SetBallData first."));
      return;
    }

  shot = fc_e6_shot_assemble (app->ball, app->club_data);
  shot->source_kind = FC_SOURCE_DEVICE;
  shot->source_protocol = g_strdup ("garmin-e6");
  shot->source_detail = g_strdup (fc_peer_connection_get_peer (conn));
  /* Per app address: reconnects and resends from the same phone are
   * recognised as the same device by the store's fingerprint. */
  shot->device_id = g_strdup_printf ("garmin-e6/%s", fc_peer_connection_get_peer_ip (conn));
  shot->club = g_strdup (app->club);

  raw = g_byte_array_new ();
  g_byte_array_append (raw, g_bytes_get_data (app->ball_raw, NULL), g_bytes_get_size (app->ball_raw));
  if (app->club_raw)
    g_byte_array_append (raw, g_bytes_get_data (app->club_raw, NULL), g_bytes_get_size (app->club_raw));
  shot->raw = g_byte_array_free_to_bytes (raw);

  g_clear_pointer (&app->club_data, fc_shot_free);
  g_clear_pointer (&app->club_raw, g_bytes_unref);

  pending = g_new0 (PendingShot, 1);
  pending->conn = g_object_ref (conn);
  pending->ack = reply;
  for (guint i = 0; i < G_N_ELEMENTS (pending->sequence); i++)
    pending->sequence[i] = fc_peer_connection_reserve (conn);
  fc_hub_submit_async (app->peer.hub, app->peer.monitor_id, shot, NULL, on_shot_committed, pending);
}

/* ---- messages -------------------------------------------------------------- */

static void
on_message (FcPeerConnection *conn,
            GBytes           *bytes,
            gpointer          user_data)
{
  App *app = user_data;
  FcHub *hub = app->peer.hub;
  const char *peer = fc_peer_connection_get_peer (conn);
  g_autoptr(FcE6Message) message = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  message = fc_e6_message_parse (data, len, &error);
  if (message == NULL)
    {
      g_message ("%s: %s", peer, error->message);
      fc_peer_connection_send (conn, reply_ack ("Unknown", error->message));
      return;
    }

  fc_hub_monitor_message (hub, app->peer.monitor_id, NULL, message->kind == FC_E6_MESSAGE_PONG);

  switch (message->kind)
    {
    case FC_E6_MESSAGE_HANDSHAKE:
      fc_peer_connection_send (conn, reply_handshake ());
      break;
    case FC_E6_MESSAGE_CHALLENGE:
      fc_peer_connection_send (conn, g_strdup ("{\"Success\":\"true\",\"Type\":\"Authentication\"}"));
      /* The app arms the monitor once authenticated. */
      fc_hub_monitor_update (hub, app->peer.monitor_id, NULL, NULL, FC_MONITOR_READY);
      break;
    case FC_E6_MESSAGE_PONG:
      app->pings_unanswered = 0;
      if (app->flagged_silent)
        {
          app->flagged_silent = FALSE;
          g_message ("%s: answering pings again", peer);
        }
      break;
    case FC_E6_MESSAGE_SET_CLUB_TYPE:
      if (message->details == NULL)
        {
          g_free (app->club);
          app->club = g_steal_pointer (&message->club_type);
        }
      fc_peer_connection_send (conn, reply_ack (message->type,
                                                message->details ? message->details : "Success."));
      break;
    case FC_E6_MESSAGE_SET_BALL_DATA:
      if (message->details != NULL)
        g_message ("%s: %s", peer, message->details);
      else
        {
          g_clear_pointer (&app->ball, fc_shot_free);
          app->ball = g_steal_pointer (&message->shot);
          g_clear_pointer (&app->ball_raw, g_bytes_unref);
          app->ball_raw = g_bytes_ref (bytes);
        }
      fc_peer_connection_send (conn, reply_ack (message->type,
                                                message->details ? message->details : "Success."));
      break;
    case FC_E6_MESSAGE_SET_CLUB_DATA:
      if (message->details != NULL)
        g_message ("%s: %s", peer, message->details);
      else
        {
          g_clear_pointer (&app->club_data, fc_shot_free);
          app->club_data = g_steal_pointer (&message->shot);
          g_clear_pointer (&app->club_raw, g_bytes_unref);
          app->club_raw = g_bytes_ref (bytes);
        }
      fc_peer_connection_send (conn, reply_ack (message->type,
                                                message->details ? message->details : "Success."));
      break;
    case FC_E6_MESSAGE_SEND_SHOT:
      send_shot (app, fc_peer_connection_reserve (conn));
      break;
    case FC_E6_MESSAGE_DISCONNECT:
      /* Close only after replies still due are written. */
      fc_peer_connection_close_when_flushed (conn, "the app disconnected");
      break;
    case FC_E6_MESSAGE_OTHER:
    default:
      /* Newer app versions add message types; answering them with
       * something the app does not expect could confuse it more than
       * silence does. */
      g_message ("%s: ignored a message of unknown Type “%s”", peer, message->type);
      break;
    }
}

static char *
on_oversize (FcPeerConnection *conn,
             guint             max_bytes,
             gpointer          user_data)
{
  g_autofree char *why = g_strdup_printf ("Message larger than %u bytes", max_bytes);

  return reply_ack ("Unknown", why);
}

/* ---- keepalive ------------------------------------------------------------- */

static gboolean
on_ping (gpointer user_data)
{
  App *app = user_data;

  if (app->pings_unanswered >= FC_E6_SILENT_PINGS && !app->flagged_silent)
    {
      /* The app keeps the socket open while the phone sleeps or the R10
       * lost Bluetooth: "connected" would be a lie. A Pong or any other
       * message makes the hub clear the flag. */
      app->flagged_silent = TRUE;
      g_message ("%s: no answer to %u pings", fc_peer_connection_get_peer (app->peer.conn),
                 app->pings_unanswered);
      fc_hub_monitor_update (app->peer.hub, app->peer.monitor_id, NULL, NULL, FC_MONITOR_SILENT);
    }
  app->pings_unanswered++;
  fc_peer_connection_send (app->peer.conn, reply_sim_command ("Ping"));
  return G_SOURCE_CONTINUE;
}

/* ---- accepting ------------------------------------------------------------- */

static void
on_connected (FcPeer   *peer,
              gpointer  user_data)
{
  FcE6Server *self = user_data;
  App *app = (App *) peer;

  /* Destroyed with the app, which the connection's close frees. */
  app->ping_source = g_timeout_source_new (self->ping_interval_ms);
  g_source_set_callback (app->ping_source, on_ping, app, NULL);
  g_source_attach (app->ping_source, g_main_context_get_thread_default ());
}

/* The app always dials 2483, so there is no alternative port to offer
 * when it is taken, only the program to close. */
static void
explain_bind_error (GError  **error,
                    guint16   port)
{
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
}

static const FcPeerReceiver e6_receiver = {
  .kind = KIND,
  .listening_for = "the Garmin Golf app (E6 Connect)",
  .log_domain = G_LOG_DOMAIN,
  .default_port = FC_E6_DEFAULT_PORT,
  .protocol = {
    .name = "Garmin E6",
    .peer_noun = "app",
    .flood_noun = "the Garmin Golf app",
    .message = on_message,
    .oversize_reply = on_oversize,
  },
  .peer_size = sizeof (App),
  .peer_connected = on_connected,
  .peer_clear = app_clear,
  .explain_bind_error = explain_bind_error,
};

/* ---- object ---------------------------------------------------------------- */

static void
fc_e6_server_dispose (GObject *object)
{
  FcE6Server *self = FC_E6_SERVER (object);

  g_clear_object (&self->listener);

  G_OBJECT_CLASS (fc_e6_server_parent_class)->dispose (object);
}

static void
fc_e6_server_class_init (FcE6ServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fc_e6_server_dispose;
}

static void
fc_e6_server_init (FcE6Server *self)
{
  self->ping_interval_ms = FC_E6_DEFAULT_PING_INTERVAL_MS;
}

FcE6Server *
fc_e6_server_new (FcHub *hub)
{
  FcE6Server *self;

  g_return_val_if_fail (FC_IS_HUB (hub), NULL);

  self = g_object_new (FC_TYPE_E6_SERVER, NULL);
  self->listener = fc_peer_listener_new (hub, &e6_receiver, self);
  return self;
}

gboolean
fc_e6_server_set_allowlist (FcE6Server          *self,
                            const char * const  *masks,
                            GError             **error)
{
  g_return_val_if_fail (FC_IS_E6_SERVER (self), FALSE);

  return fc_peer_listener_set_allowlist (self->listener, masks, error);
}

void
fc_e6_server_set_limits (FcE6Server                *self,
                         const FcOpenConnectLimits *limits)
{
  g_return_if_fail (FC_IS_E6_SERVER (self));

  fc_peer_listener_set_limits (self->listener, limits);
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
  g_return_val_if_fail (FC_IS_E6_SERVER (self), FALSE);

  return fc_peer_listener_listen (self->listener, address, error);
}

guint16
fc_e6_server_get_port (FcE6Server *self)
{
  g_return_val_if_fail (FC_IS_E6_SERVER (self), 0);
  return fc_peer_listener_get_port (self->listener);
}

void
fc_e6_server_stop (FcE6Server *self)
{
  g_return_if_fail (FC_IS_E6_SERVER (self));

  fc_peer_listener_stop (self->listener);
}

guint
fc_e6_server_get_n_connections (FcE6Server *self)
{
  g_return_val_if_fail (FC_IS_E6_SERVER (self), 0);
  return fc_peer_listener_get_n_connections (self->listener);
}
