/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-open-connect"

#include "fc-open-connect-server.h"

#include "fc-error.h"
#include "fc-listen-address.h"
#include "fc-oc-message.h"
#include "fc-peer-connection.h"

struct _FcOpenConnectServer {
  GObject              parent_instance;

  FcHub               *hub;
  GSocketService      *service;
  char                *listen_id;     /* monitor id of the listener */
  guint16              port;
  FcPeerGate          *gate;          /* allowlist, connection counts */
  FcOpenConnectLimits  limits;
  GList               *clients;       /* of Client* */
  char                *handed;
  char                *club_code;
};

G_DEFINE_FINAL_TYPE (FcOpenConnectServer, fc_open_connect_server, G_TYPE_OBJECT)

/* One connected client: the connection does the plumbing, this is what
 * Open Connect adds to it. Owned by the server's list until it closes. */
typedef struct {
  FcOpenConnectServer *server;
  FcPeerConnection    *conn;
  char                *monitor_id;  /* "open-connect 192.0.2.7" */
} Client;

static void
client_free (Client *client)
{
  g_clear_object (&client->conn);
  g_free (client->monitor_id);
  g_free (client);
}

/* ---- messages -------------------------------------------------------------- */

typedef struct {
  FcPeerConnection *conn;
  FcPeerReply      *reply;
  gboolean          with_club;
} PendingShot;

static void
on_shot_committed (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  PendingShot *pending = user_data;
  g_autoptr(GError) error = NULL;
  FcAddResult add;

  if (fc_hub_submit_finish (FC_HUB (source), result, &add, NULL, &error))
    fc_peer_connection_fill (pending->conn, pending->reply,
                             fc_oc_reply (200, pending->with_club ? "Club & Ball Data received"
                                                                  : "Ball Data received"));
  else
    {
      g_autofree char *why = g_strdup_printf ("Shot not stored: %s", error->message);

      /* No 200: the client sends the shot again, nothing is lost. */
      g_warning ("%s: %s", fc_peer_connection_get_peer (pending->conn), why);
      fc_peer_connection_fill (pending->conn, pending->reply, fc_oc_reply (503, why));
    }
  g_object_unref (pending->conn);
  g_free (pending);
}

static void
on_message (FcPeerConnection *conn,
            GBytes           *bytes,
            gpointer          user_data)
{
  Client *client = user_data;
  FcOpenConnectServer *self = client->server;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcOcMessage) message = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  FcPeerReply *reply = fc_peer_connection_reserve (conn);

  message = fc_oc_message_parse (data, len, &error);
  if (message == NULL)
    {
      /* The parser's messages are complete ("Bad JSON data", "Ball data
       * without a usable Speed", ...) and short enough to send as they are. */
      g_message ("%s: %s", fc_peer_connection_get_peer (conn), error->message);
      fc_peer_connection_fill (conn, reply, fc_oc_reply (501, error->message));
      return;
    }

  fc_hub_monitor_message (self->hub, client->monitor_id, message->device_id,
                          message->kind == FC_OC_MESSAGE_HEARTBEAT);
  if (message->has_ball_detected && message->ball_detected)
    fc_hub_monitor_update (self->hub, client->monitor_id, NULL, NULL, FC_MONITOR_BALL_DETECTED);
  else if (message->has_ready)
    fc_hub_monitor_update (self->hub, client->monitor_id, NULL, NULL,
                           message->ready ? FC_MONITOR_READY : FC_MONITOR_CONNECTED);

  switch (message->kind)
    {
    case FC_OC_MESSAGE_SHOT:
    case FC_OC_MESSAGE_CLUB_ONLY:
      if (message->suspect)
        {
          /* A Speed 0 pseudo-shot: acknowledged so it is not resent, not stored. */
          fc_peer_connection_fill (conn, reply, fc_oc_reply (200, "Ball Data received"));
        }
      else
        {
          FcShot *shot = g_steal_pointer (&message->shot);
          PendingShot *pending = g_new0 (PendingShot, 1);

          shot->source_kind = FC_SOURCE_DEVICE;
          shot->source_protocol = g_strdup ("open-connect-v1");
          shot->source_detail = g_strdup (fc_peer_connection_get_peer (conn));
          /* Per connector address and its DeviceID: reconnects and resends
           * from the same connector are recognised as the same device. */
          shot->device_id = g_strdup_printf ("open-connect/%s/%s", fc_peer_connection_get_peer_ip (conn),
                                             message->device_id ? message->device_id : "");
          if (shot->club == NULL && message->club_name)
            shot->club = g_strdup (message->club_name);
          shot->raw = g_bytes_ref (bytes);
          pending->conn = g_object_ref (conn);
          pending->reply = reply;
          pending->with_club = message->kind == FC_OC_MESSAGE_SHOT &&
                               fc_shot_has (shot, FC_FIELD_CLUB_SPEED);
          fc_hub_submit_async (self->hub, client->monitor_id, shot, NULL, on_shot_committed, pending);
        }
      break;
    case FC_OC_MESSAGE_HEARTBEAT:
      fc_peer_connection_fill (conn, reply, fc_oc_reply (200, "Heartbeat received"));
      break;
    case FC_OC_MESSAGE_STATUS:
    default:
      fc_peer_connection_fill (conn, reply, fc_oc_reply (200, "Status received"));
      break;
    }
}

static char *
on_oversize (FcPeerConnection *conn,
             guint             max_bytes,
             gpointer          user_data)
{
  g_autofree char *why = g_strdup_printf ("Message larger than %u bytes", max_bytes);

  return fc_oc_reply (413, why);
}

/* The monitor is flagged as disconnected when it was the peer's last
 * connection. */
static void
on_closed (FcPeerConnection *conn,
           guint             remaining,
           gpointer          user_data)
{
  Client *client = user_data;
  FcOpenConnectServer *self = client->server;

  if (remaining == 0)
    fc_hub_monitor_update (self->hub, client->monitor_id, "open-connect",
                           fc_peer_connection_get_peer (conn), FC_MONITOR_DISCONNECTED);
  self->clients = g_list_remove (self->clients, client);
  client_free (client);
}

static const FcPeerProtocol open_connect_protocol = {
  .name = "Open Connect",
  .peer_noun = "client",
  .flood_noun = "any launch monitor",
  .message = on_message,
  .oversize_reply = on_oversize,
  .closed = on_closed,
};

/* ---- accepting ------------------------------------------------------------- */

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  FcOpenConnectServer *self = user_data;
  Client *client = g_new0 (Client, 1);
  const char *peer;

  client->server = self;
  client->conn = fc_peer_connection_accept (connection, self->gate, &self->limits,
                                            &open_connect_protocol, client);
  if (client->conn == NULL)
    {
      g_free (client);
      return TRUE;
    }
  client->monitor_id = g_strdup_printf ("open-connect %s", fc_peer_connection_get_peer_ip (client->conn));
  self->clients = g_list_prepend (self->clients, client);

  peer = fc_peer_connection_get_peer (client->conn);
  fc_hub_monitor_update (self->hub, client->monitor_id, "open-connect", peer, FC_MONITOR_CONNECTED);
  fc_hub_monitor_message (self->hub, client->monitor_id, NULL, FALSE);

  /* Some connectors arm the monitor only after player information. */
  fc_peer_connection_send (client->conn, fc_oc_reply_player (self->handed, self->club_code));
  fc_peer_connection_start (client->conn);
  return TRUE;
}

/* ---- object ---------------------------------------------------------------- */

void
fc_open_connect_server_stop (FcOpenConnectServer *self)
{
  g_return_if_fail (FC_IS_OPEN_CONNECT_SERVER (self));

  if (self->service)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }
  while (self->clients)
    fc_peer_connection_close (((Client *) self->clients->data)->conn, NULL);
  if (self->listen_id)
    {
      fc_hub_monitor_update (self->hub, self->listen_id, "open-connect", NULL, FC_MONITOR_STOPPED);
      g_clear_pointer (&self->listen_id, g_free);
    }
}

static void
fc_open_connect_server_dispose (GObject *object)
{
  FcOpenConnectServer *self = FC_OPEN_CONNECT_SERVER (object);

  if (self->hub)
    fc_open_connect_server_stop (self);
  g_clear_object (&self->hub);

  G_OBJECT_CLASS (fc_open_connect_server_parent_class)->dispose (object);
}

static void
fc_open_connect_server_finalize (GObject *object)
{
  FcOpenConnectServer *self = FC_OPEN_CONNECT_SERVER (object);

  fc_peer_gate_free (self->gate);
  g_free (self->handed);
  g_free (self->club_code);

  G_OBJECT_CLASS (fc_open_connect_server_parent_class)->finalize (object);
}

static void
fc_open_connect_server_class_init (FcOpenConnectServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fc_open_connect_server_dispose;
  object_class->finalize = fc_open_connect_server_finalize;
}

static void
fc_open_connect_server_init (FcOpenConnectServer *self)
{
  self->gate = fc_peer_gate_new ();
  self->limits = FC_PEER_LIMITS_DEFAULT;
  self->handed = g_strdup ("RH");
  self->club_code = g_strdup ("DR");
}

FcOpenConnectServer *
fc_open_connect_server_new (FcHub *hub)
{
  FcOpenConnectServer *self;

  g_return_val_if_fail (FC_IS_HUB (hub), NULL);

  self = g_object_new (FC_TYPE_OPEN_CONNECT_SERVER, NULL);
  self->hub = g_object_ref (hub);
  return self;
}

gboolean
fc_open_connect_server_set_allowlist (FcOpenConnectServer  *self,
                                      const char * const   *masks,
                                      GError              **error)
{
  g_return_val_if_fail (FC_IS_OPEN_CONNECT_SERVER (self), FALSE);

  return fc_peer_gate_set_allowlist (self->gate, masks, error);
}

void
fc_open_connect_server_set_limits (FcOpenConnectServer       *self,
                                   const FcOpenConnectLimits *limits)
{
  g_return_if_fail (FC_IS_OPEN_CONNECT_SERVER (self));
  g_return_if_fail (limits != NULL);

  self->limits = *limits;
}

gboolean
fc_open_connect_server_listen (FcOpenConnectServer  *self,
                               const char           *address,
                               GError              **error)
{
  g_autoptr(GSocketAddress) wanted = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  g_autofree char *ip = NULL;
  guint16 port;

  g_return_val_if_fail (FC_IS_OPEN_CONNECT_SERVER (self), FALSE);
  g_return_val_if_fail (self->service == NULL, FALSE);

  wanted = fc_listen_address_parse (address, FC_OPEN_CONNECT_DEFAULT_PORT, error);
  if (wanted == NULL)
    return FALSE;
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (wanted));

  self->service = g_socket_service_new ();
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), wanted,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &effective, error))
    {
      fc_listen_address_explain_error (error, "Open Connect", port, FC_OPEN_CONNECT_ALT_PORT);
      g_clear_object (&self->service);
      return FALSE;
    }
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect_object (self->service, "incoming", G_CALLBACK (on_incoming), self, 0);
  g_socket_service_start (self->service);

  ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (effective)));
  self->listen_id = g_strdup_printf ("open-connect listener %s:%u", ip, self->port);
  fc_hub_monitor_update (self->hub, self->listen_id, "open-connect", NULL, FC_MONITOR_LISTENING);
  g_message ("Listening for Open Connect on %s:%u", ip, self->port);
  return TRUE;
}

guint16
fc_open_connect_server_get_port (FcOpenConnectServer *self)
{
  g_return_val_if_fail (FC_IS_OPEN_CONNECT_SERVER (self), 0);
  return self->port;
}

guint
fc_open_connect_server_get_n_connections (FcOpenConnectServer *self)
{
  g_return_val_if_fail (FC_IS_OPEN_CONNECT_SERVER (self), 0);
  return g_list_length (self->clients);
}

gboolean
fc_open_connect_server_set_player (FcOpenConnectServer  *self,
                                   const char           *handed,
                                   const char           *club_code,
                                   GError              **error)
{
  g_return_val_if_fail (FC_IS_OPEN_CONNECT_SERVER (self), FALSE);

  if (g_strcmp0 (handed, "RH") != 0 && g_strcmp0 (handed, "LH") != 0)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "Handedness must be RH or LH, not “%s”",
                   handed ? handed : "");
      return FALSE;
    }
  if (!fc_oc_club_code_is_valid (club_code))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "“%s” is not an Open Connect club code (DR, W2–W7, I1–I9, H2–H7, PW, GW, SW, LW, PT)",
                   club_code ? club_code : "");
      return FALSE;
    }
  if (g_strcmp0 (self->handed, handed) == 0 && g_strcmp0 (self->club_code, club_code) == 0)
    return TRUE;
  g_free (self->handed);
  self->handed = g_strdup (handed);
  g_free (self->club_code);
  self->club_code = g_strdup (club_code);
  for (GList *l = self->clients; l; l = l->next)
    fc_peer_connection_send (((Client *) l->data)->conn, fc_oc_reply_player (handed, club_code));
  return TRUE;
}
