/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-open-connect"

#include "fc-open-connect-server.h"

#include "fc-error.h"
#include "fc-listen-address.h"
#include "fc-peer-gate.h"
#include "fc-oc-framer.h"
#include "fc-oc-message.h"

#ifdef G_OS_WIN32
# include <winsock2.h>
#else
# include <netinet/in.h>
# include <netinet/tcp.h>
#endif

#define READ_CHUNK 16384

struct _FcOpenConnectServer {
  GObject              parent_instance;

  FcHub               *hub;
  GSocketService      *service;
  char                *listen_id;     /* monitor id of the listener */
  guint16              port;
  FcPeerGate          *gate;          /* allowlist, connection counts */
  FcOpenConnectLimits  limits;
  GList               *connections;   /* of Conn* */
  char                *handed;
  char                *club_code;
};

G_DEFINE_FINAL_TYPE (FcOpenConnectServer, fc_open_connect_server, G_TYPE_OBJECT)

typedef struct {
  char     *text;
  gboolean  ready;
} Reply;

/* One connected client. Owned by the server's list; async operations
 * hold a reference so that a close in the middle of a read or write is
 * safe. */
typedef struct {
  gatomicrefcount      ref;
  FcOpenConnectServer *server;      /* NULL once detached */
  GSocketConnection   *connection;
  GCancellable        *cancellable;
  FcOcFramer          *framer;
  char                *peer;        /* "192.0.2.7:50123" */
  char                *peer_ip;
  char                *monitor_id;  /* "open-connect 192.0.2.7" */
  GQueue               replies;     /* of Reply*, in message order */
  gboolean             writing;
  gboolean             reading;
  gboolean             closed;
  gboolean             close_when_flushed;  /* after a 413: answer, then cut off */
  FcTokenBucket        budget;      /* message rate limit */
  guint8               buffer[READ_CHUNK];
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
  g_clear_object (&conn->connection);
  g_clear_object (&conn->cancellable);
  g_clear_pointer (&conn->framer, fc_oc_framer_free);
  g_queue_clear_full (&conn->replies, (GDestroyNotify) reply_free);
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
  FcOpenConnectServer *self = conn->server;

  if (conn->closed)
    return;
  conn->closed = TRUE;
  g_cancellable_cancel (conn->cancellable);
  g_io_stream_close (G_IO_STREAM (conn->connection), NULL, NULL);
  if (why)
    g_message ("%s: connection closed: %s", conn->peer, why);

  if (self)
    {
      if (fc_peer_gate_release (self->gate, conn->peer_ip) == 0)
        fc_hub_monitor_update (self->hub, conn->monitor_id, "open-connect", conn->peer,
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
conn_set_reply (Conn       *conn,
                Reply      *reply,
                char       *text)
{
  g_free (reply->text);
  reply->text = text;
  reply->ready = TRUE;
  conn_flush (conn);
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
          conn_close (conn, "it sent an oversized message");
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
  Reply *head = g_queue_peek_head (&conn->replies);

  if (conn->writing || conn->closed || head == NULL || !head->ready)
    return;
  conn->writing = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (conn->connection)),
                                   head->text, strlen (head->text), G_PRIORITY_DEFAULT,
                                   conn->cancellable, on_write_done, conn_ref (conn));
}

/* ---- messages -------------------------------------------------------------- */

typedef struct {
  Conn   *conn;
  Reply  *reply;
  gboolean with_club;
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
    conn_set_reply (pending->conn, pending->reply,
                    fc_oc_reply (200, pending->with_club ? "Club & Ball Data received"
                                                         : "Ball Data received"));
  else
    {
      g_autofree char *why = g_strdup_printf ("Shot not stored: %s", error->message);

      /* No 200: the client sends the shot again, nothing is lost. */
      g_warning ("%s: %s", pending->conn->peer, why);
      conn_set_reply (pending->conn, pending->reply, fc_oc_reply (503, why));
    }
  conn_unref (pending->conn);
  g_free (pending);
}

static gboolean
take_token (Conn *conn)
{
  return fc_token_bucket_take (&conn->budget, conn->server->limits.max_messages_per_second);
}

static void
handle_message (Conn   *conn,
                GBytes *bytes)
{
  FcOpenConnectServer *self = conn->server;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcOcMessage) message = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  Reply *reply = conn_reserve_reply (conn);

  message = fc_oc_message_parse (data, len, &error);
  if (message == NULL)
    {
      /* The parser's messages are complete ("Bad JSON data", "Ball data
       * without a usable Speed", ...) and short enough to send as they are. */
      g_message ("%s: %s", conn->peer, error->message);
      conn_set_reply (conn, reply, fc_oc_reply (501, error->message));
      return;
    }

  fc_hub_monitor_message (self->hub, conn->monitor_id, message->device_id,
                          message->kind == FC_OC_MESSAGE_HEARTBEAT);
  if (message->has_ball_detected && message->ball_detected)
    fc_hub_monitor_update (self->hub, conn->monitor_id, NULL, NULL, FC_MONITOR_BALL_DETECTED);
  else if (message->has_ready)
    fc_hub_monitor_update (self->hub, conn->monitor_id, NULL, NULL,
                           message->ready ? FC_MONITOR_READY : FC_MONITOR_CONNECTED);

  switch (message->kind)
    {
    case FC_OC_MESSAGE_SHOT:
    case FC_OC_MESSAGE_CLUB_ONLY:
      if (message->suspect)
        {
          /* A Speed 0 pseudo-shot: acknowledged so it is not resent, not stored. */
          conn_set_reply (conn, reply, fc_oc_reply (200, "Ball Data received"));
        }
      else
        {
          FcShot *shot = g_steal_pointer (&message->shot);
          PendingShot *pending = g_new0 (PendingShot, 1);

          shot->source_kind = FC_SOURCE_DEVICE;
          shot->source_protocol = g_strdup ("open-connect-v1");
          shot->source_detail = g_strdup (conn->peer);
          /* Per connector address and its DeviceID: reconnects and resends
           * from the same connector are recognised as the same device. */
          shot->device_id = g_strdup_printf ("open-connect/%s/%s", conn->peer_ip,
                                             message->device_id ? message->device_id : "");
          if (shot->club == NULL && message->club_name)
            shot->club = g_strdup (message->club_name);
          shot->raw = g_bytes_ref (bytes);
          pending->conn = conn_ref (conn);
          pending->reply = reply;
          pending->with_club = message->kind == FC_OC_MESSAGE_SHOT &&
                               fc_shot_has (shot, FC_FIELD_CLUB_SPEED);
          fc_hub_submit_async (self->hub, conn->monitor_id, shot, NULL, on_shot_committed, pending);
        }
      break;
    case FC_OC_MESSAGE_HEARTBEAT:
      conn_set_reply (conn, reply, fc_oc_reply (200, "Heartbeat received"));
      break;
    case FC_OC_MESSAGE_STATUS:
    default:
      conn_set_reply (conn, reply, fc_oc_reply (200, "Status received"));
      break;
    }
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
  FcOpenConnectServer *self = conn->server;

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
      conn_close (conn, "the client disconnected");
      goto out;
    }

  fc_oc_framer_push (conn->framer, conn->buffer, n, messages);
  for (guint i = 0; i < messages->len && !conn->closed; i++)
    {
      if (!take_token (conn))
        {
          conn_close (conn, "flooding: more messages per second than any launch monitor sends");
          goto out;
        }
      handle_message (conn, g_ptr_array_index (messages, i));
    }
  if (conn->closed)
    goto out;
  if (fc_oc_framer_get_oversize_count (conn->framer) > 0)
    {
      Reply *reply = conn_reserve_reply (conn);
      g_autofree char *why = g_strdup_printf ("Message larger than %u bytes", self->limits.max_message_bytes);

      /* Answer (after any replies still due), then cut off; read no more. */
      g_message ("%s: %s", conn->peer, why);
      conn->close_when_flushed = TRUE;
      conn_set_reply (conn, reply, fc_oc_reply (413, why));
      goto out;
    }
  if (fc_oc_framer_get_garbage_bytes (conn->framer) > self->limits.max_garbage_bytes)
    {
      conn_close (conn, "too much data that is not Open Connect JSON");
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

/* ---- accepting ------------------------------------------------------------- */

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  FcOpenConnectServer *self = user_data;
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
      g_message ("Refused Open Connect client %s: %s", ip, refused);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return TRUE;
    }

  /* Replies are small and latency matters: no Nagle delay. */
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
  conn->monitor_id = g_strdup_printf ("open-connect %s", conn->peer_ip);
  fc_token_bucket_init (&conn->budget, self->limits.max_messages_per_second);
  g_queue_init (&conn->replies);
  self->connections = g_list_prepend (self->connections, conn);

  g_message ("Open Connect client connected from %s", conn->peer);
  fc_hub_monitor_update (self->hub, conn->monitor_id, "open-connect", conn->peer, FC_MONITOR_CONNECTED);
  fc_hub_monitor_message (self->hub, conn->monitor_id, NULL, FALSE);

  /* Some connectors arm the monitor only after player information. */
  conn_set_reply (conn, conn_reserve_reply (conn), fc_oc_reply_player (self->handed, self->club_code));
  conn_read (conn);
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
  while (self->connections)
    conn_close (self->connections->data, NULL);
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
  self->limits = (FcOpenConnectLimits) {
    .max_connections = 64,
    .max_connections_per_peer = 8,
    .max_messages_per_second = 2000,
    .max_message_bytes = FC_OC_DEFAULT_MAX_MESSAGE,
    .max_garbage_bytes = 64 * 1024,
    .max_pending_replies = 64,
  };
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
  return g_list_length (self->connections);
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
  for (GList *l = self->connections; l; l = l->next)
    {
      Conn *conn = l->data;
      conn_set_reply (conn, conn_reserve_reply (conn), fc_oc_reply_player (handed, club_code));
    }
  return TRUE;
}
