/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-open-connect"

#include "fc-open-connect-server.h"

#include "fc-error.h"
#include "fc-oc-message.h"
#include "fc-peer-listener.h"

struct _FcOpenConnectServer {
  GObject              parent_instance;

  FcPeerListener      *listener;      /* address, gate, limits, connected clients */
  char                *handed;
  char                *club_code;
};

G_DEFINE_FINAL_TYPE (FcOpenConnectServer, fc_open_connect_server, G_TYPE_OBJECT)

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
  FcPeer *client = user_data;
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

  fc_hub_monitor_message (client->hub, client->monitor_id, message->device_id,
                          message->kind == FC_OC_MESSAGE_HEARTBEAT);
  if (message->has_ball_detected && message->ball_detected)
    fc_hub_monitor_update (client->hub, client->monitor_id, NULL, NULL, FC_MONITOR_BALL_DETECTED);
  else if (message->has_ready)
    fc_hub_monitor_update (client->hub, client->monitor_id, NULL, NULL,
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
          fc_hub_submit_async (client->hub, client->monitor_id, shot, NULL, on_shot_committed, pending);
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

/* Some connectors arm the monitor only after player information. */
static void
on_connected (FcPeer   *client,
              gpointer  user_data)
{
  FcOpenConnectServer *self = user_data;

  fc_peer_connection_send (client->conn, fc_oc_reply_player (self->handed, self->club_code));
}

static const FcPeerReceiver open_connect_receiver = {
  .kind = "open-connect",
  .listening_for = "Open Connect",
  .log_domain = G_LOG_DOMAIN,
  .default_port = FC_OPEN_CONNECT_DEFAULT_PORT,
  .alt_port = FC_OPEN_CONNECT_ALT_PORT,
  .protocol = {
    .name = "Open Connect",
    .peer_noun = "client",
    .flood_noun = "any launch monitor",
    .message = on_message,
    .oversize_reply = on_oversize,
  },
  .peer_size = sizeof (FcPeer),
  .peer_connected = on_connected,
};

/* ---- object ---------------------------------------------------------------- */

static void
fc_open_connect_server_dispose (GObject *object)
{
  FcOpenConnectServer *self = FC_OPEN_CONNECT_SERVER (object);

  g_clear_object (&self->listener);

  G_OBJECT_CLASS (fc_open_connect_server_parent_class)->dispose (object);
}

static void
fc_open_connect_server_finalize (GObject *object)
{
  FcOpenConnectServer *self = FC_OPEN_CONNECT_SERVER (object);

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
  self->handed = g_strdup ("RH");
  self->club_code = g_strdup ("DR");
}

FcOpenConnectServer *
fc_open_connect_server_new (FcHub *hub)
{
  FcOpenConnectServer *self;

  g_return_val_if_fail (FC_IS_HUB (hub), NULL);

  self = g_object_new (FC_TYPE_OPEN_CONNECT_SERVER, NULL);
  self->listener = fc_peer_listener_new (hub, &open_connect_receiver, self);
  return self;
}

gboolean
fc_open_connect_server_set_allowlist (FcOpenConnectServer  *self,
                                      const char * const   *masks,
                                      GError              **error)
{
  g_return_val_if_fail (FC_IS_OPEN_CONNECT_SERVER (self), FALSE);

  return fc_peer_listener_set_allowlist (self->listener, masks, error);
}

void
fc_open_connect_server_set_limits (FcOpenConnectServer       *self,
                                   const FcOpenConnectLimits *limits)
{
  g_return_if_fail (FC_IS_OPEN_CONNECT_SERVER (self));

  fc_peer_listener_set_limits (self->listener, limits);
}

gboolean
fc_open_connect_server_listen (FcOpenConnectServer  *self,
                               const char           *address,
                               GError              **error)
{
  g_return_val_if_fail (FC_IS_OPEN_CONNECT_SERVER (self), FALSE);

  return fc_peer_listener_listen (self->listener, address, error);
}

guint16
fc_open_connect_server_get_port (FcOpenConnectServer *self)
{
  g_return_val_if_fail (FC_IS_OPEN_CONNECT_SERVER (self), 0);
  return fc_peer_listener_get_port (self->listener);
}

void
fc_open_connect_server_stop (FcOpenConnectServer *self)
{
  g_return_if_fail (FC_IS_OPEN_CONNECT_SERVER (self));

  fc_peer_listener_stop (self->listener);
}

guint
fc_open_connect_server_get_n_connections (FcOpenConnectServer *self)
{
  g_return_val_if_fail (FC_IS_OPEN_CONNECT_SERVER (self), 0);
  return fc_peer_listener_get_n_connections (self->listener);
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
  for (GList *l = fc_peer_listener_get_peers (self->listener); l; l = l->next)
    fc_peer_connection_send (((FcPeer *) l->data)->conn, fc_oc_reply_player (handed, club_code));
  return TRUE;
}
