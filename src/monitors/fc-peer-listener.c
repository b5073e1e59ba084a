/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-monitors"

#include "fc-peer-listener.h"

#include "fc-listen-address.h"

struct _FcPeerListener {
  GObject               parent_instance;

  FcHub                *hub;
  const FcPeerReceiver *receiver;
  gpointer              user_data;
  /* The receiver's protocol with the listener's closed callback: what
   * every connection is given (it must outlive them, so it lives here). */
  FcPeerProtocol        protocol;
  GSocketService       *service;
  char                 *listen_id;     /* monitor id of the listener */
  guint16               port;
  FcPeerGate           *gate;          /* allowlist, connection counts */
  FcPeerLimits          limits;
  GList                *peers;         /* of FcPeer* */
};

G_DEFINE_FINAL_TYPE (FcPeerListener, fc_peer_listener, G_TYPE_OBJECT)

/* ---- peers ------------------------------------------------------------------- */

/* The monitor is flagged as disconnected when it was the peer's last
 * connection. */
static void
on_closed (FcPeerConnection *conn,
           guint             remaining,
           gpointer          user_data)
{
  FcPeer *peer = user_data;
  FcPeerListener *self = peer->listener;
  const FcPeerReceiver *receiver = self->receiver;

  if (remaining == 0)
    fc_hub_monitor_update (self->hub, peer->monitor_id, receiver->kind, fc_peer_connection_get_peer (conn),
                           FC_MONITOR_DISCONNECTED);
  self->peers = g_list_remove (self->peers, peer);
  if (receiver->peer_clear)
    receiver->peer_clear (peer);
  g_clear_object (&peer->conn);
  g_free (peer->monitor_id);
  g_free (peer);
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  FcPeerListener *self = user_data;
  const FcPeerReceiver *receiver = self->receiver;
  FcPeer *peer = g_malloc0 (receiver->peer_size);

  peer->listener = self;
  peer->hub = self->hub;
  peer->conn = fc_peer_connection_accept (connection, self->gate, &self->limits, &self->protocol, peer);
  if (peer->conn == NULL)
    {
      g_free (peer);
      return TRUE;
    }
  peer->monitor_id = g_strdup_printf ("%s %s", receiver->kind, fc_peer_connection_get_peer_ip (peer->conn));
  self->peers = g_list_prepend (self->peers, peer);

  fc_hub_monitor_update (self->hub, peer->monitor_id, receiver->kind, fc_peer_connection_get_peer (peer->conn),
                         FC_MONITOR_CONNECTED);
  fc_hub_monitor_message (self->hub, peer->monitor_id, NULL, FALSE);

  if (receiver->peer_connected)
    receiver->peer_connected (peer, self->user_data);
  fc_peer_connection_start (peer->conn);
  return TRUE;
}

/* ---- object ------------------------------------------------------------------ */

void
fc_peer_listener_stop (FcPeerListener *self)
{
  g_return_if_fail (FC_IS_PEER_LISTENER (self));

  if (self->service)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }
  while (self->peers)
    fc_peer_connection_close (((FcPeer *) self->peers->data)->conn, NULL);
  if (self->listen_id)
    {
      fc_hub_monitor_update (self->hub, self->listen_id, self->receiver->kind, NULL, FC_MONITOR_STOPPED);
      g_clear_pointer (&self->listen_id, g_free);
    }
}

static void
fc_peer_listener_dispose (GObject *object)
{
  FcPeerListener *self = FC_PEER_LISTENER (object);

  if (self->hub)
    fc_peer_listener_stop (self);
  g_clear_object (&self->hub);

  G_OBJECT_CLASS (fc_peer_listener_parent_class)->dispose (object);
}

static void
fc_peer_listener_finalize (GObject *object)
{
  FcPeerListener *self = FC_PEER_LISTENER (object);

  fc_peer_gate_free (self->gate);

  G_OBJECT_CLASS (fc_peer_listener_parent_class)->finalize (object);
}

static void
fc_peer_listener_class_init (FcPeerListenerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fc_peer_listener_dispose;
  object_class->finalize = fc_peer_listener_finalize;
}

static void
fc_peer_listener_init (FcPeerListener *self)
{
  self->gate = fc_peer_gate_new ();
  self->limits = FC_PEER_LIMITS_DEFAULT;
}

FcPeerListener *
fc_peer_listener_new (FcHub                *hub,
                      const FcPeerReceiver *receiver,
                      gpointer              user_data)
{
  FcPeerListener *self;

  g_return_val_if_fail (FC_IS_HUB (hub), NULL);
  g_return_val_if_fail (receiver != NULL && receiver->kind != NULL && receiver->listening_for != NULL, NULL);
  g_return_val_if_fail (receiver->protocol.closed == NULL, NULL);
  g_return_val_if_fail (receiver->peer_size >= sizeof (FcPeer), NULL);

  self = g_object_new (FC_TYPE_PEER_LISTENER, NULL);
  self->hub = g_object_ref (hub);
  self->receiver = receiver;
  self->user_data = user_data;
  self->protocol = receiver->protocol;
  self->protocol.closed = on_closed;
  return self;
}

gboolean
fc_peer_listener_set_allowlist (FcPeerListener      *self,
                                const char * const  *masks,
                                GError             **error)
{
  g_return_val_if_fail (FC_IS_PEER_LISTENER (self), FALSE);

  return fc_peer_gate_set_allowlist (self->gate, masks, error);
}

void
fc_peer_listener_set_limits (FcPeerListener     *self,
                             const FcPeerLimits *limits)
{
  g_return_if_fail (FC_IS_PEER_LISTENER (self));
  g_return_if_fail (limits != NULL);

  self->limits = *limits;
}

gboolean
fc_peer_listener_listen (FcPeerListener  *self,
                         const char      *address,
                         GError         **error)
{
  const FcPeerReceiver *receiver;
  g_autoptr(GSocketAddress) wanted = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) bind_error = NULL;
  g_autofree char *ip = NULL;
  guint16 port;

  g_return_val_if_fail (FC_IS_PEER_LISTENER (self), FALSE);
  g_return_val_if_fail (self->service == NULL, FALSE);

  receiver = self->receiver;
  wanted = fc_listen_address_parse (address, receiver->default_port, error);
  if (wanted == NULL)
    return FALSE;
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (wanted));

  self->service = g_socket_service_new ();
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), wanted,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &effective, &bind_error))
    {
      if (receiver->explain_bind_error)
        receiver->explain_bind_error (&bind_error, port);
      else
        fc_listen_address_explain_error (&bind_error, receiver->protocol.name, port, receiver->alt_port);
      g_propagate_error (error, g_steal_pointer (&bind_error));
      g_clear_object (&self->service);
      return FALSE;
    }
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect_object (self->service, "incoming", G_CALLBACK (on_incoming), self, 0);
  g_socket_service_start (self->service);

  ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (effective)));
  self->listen_id = g_strdup_printf ("%s listener %s:%u", receiver->kind, ip, self->port);
  fc_hub_monitor_update (self->hub, self->listen_id, receiver->kind, NULL, FC_MONITOR_LISTENING);
  g_log (receiver->log_domain, G_LOG_LEVEL_MESSAGE, "Listening for %s on %s:%u", receiver->listening_for, ip,
         self->port);
  return TRUE;
}

guint16
fc_peer_listener_get_port (FcPeerListener *self)
{
  g_return_val_if_fail (FC_IS_PEER_LISTENER (self), 0);
  return self->port;
}

guint
fc_peer_listener_get_n_connections (FcPeerListener *self)
{
  g_return_val_if_fail (FC_IS_PEER_LISTENER (self), 0);
  return g_list_length (self->peers);
}

GList *
fc_peer_listener_get_peers (FcPeerListener *self)
{
  g_return_val_if_fail (FC_IS_PEER_LISTENER (self), NULL);
  return self->peers;
}
