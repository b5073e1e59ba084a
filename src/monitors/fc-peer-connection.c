/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-monitors"

#include "fc-peer-connection.h"

#include <string.h>

#include "fc-oc-framer.h"

#ifdef G_OS_WIN32
# include <winsock2.h>
#else
# include <netinet/in.h>
# include <netinet/tcp.h>
#endif

#define READ_CHUNK 16384

struct _FcPeerReply {
  char     *text;
  gboolean  ready;
};

struct _FcPeerConnection {
  GObject               parent_instance;

  GSocketConnection    *connection;
  GCancellable         *cancellable;
  FcOcFramer           *framer;
  FcPeerGate           *gate;        /* NULL once released */
  const FcPeerLimits   *limits;      /* the listener's, until closed */
  const FcPeerProtocol *protocol;
  gpointer              user_data;
  char                 *peer;        /* "192.0.2.7:50123" */
  char                 *peer_ip;
  GQueue                replies;     /* of FcPeerReply*, in reservation order */
  FcTokenBucket         budget;      /* message rate limit */
  gboolean              started;
  gboolean              reading;
  gboolean              writing;
  gboolean              closed;
  gboolean              close_when_flushed;
  char                 *close_reason;

  guint64               bytes_received;
  guint64               bytes_sent;
  guint64               messages_received;
  guint64               replies_sent;
  gint64                connected_at;
  gint64                last_received_at;
  gint64                last_sent_at;

  guint8                buffer[READ_CHUNK];
};

G_DEFINE_FINAL_TYPE (FcPeerConnection, fc_peer_connection, G_TYPE_OBJECT)

static void peer_read  (FcPeerConnection *self);
static void peer_flush (FcPeerConnection *self);

static void
reply_free (FcPeerReply *reply)
{
  g_free (reply->text);
  g_free (reply);
}

/* ---- closing ----------------------------------------------------------------- */

void
fc_peer_connection_close (FcPeerConnection *self,
                          const char       *why)
{
  const FcPeerProtocol *protocol = self->protocol;
  gpointer user_data = self->user_data;
  guint remaining = 0;

  g_return_if_fail (FC_IS_PEER_CONNECTION (self));

  if (self->closed)
    return;
  /* The listener usually drops its reference in the closed callback. */
  g_object_ref (self);
  self->closed = TRUE;
  g_cancellable_cancel (self->cancellable);
  g_io_stream_close (G_IO_STREAM (self->connection), NULL, NULL);
  if (why)
    g_message ("%s: connection closed: %s", self->peer, why);
  if (self->gate)
    remaining = fc_peer_gate_release (self->gate, self->peer_ip);
  self->gate = NULL;
  self->limits = NULL;
  self->protocol = NULL;
  self->user_data = NULL;
  if (protocol && protocol->closed)
    protocol->closed (self, remaining, user_data);
  g_object_unref (self);
}

void
fc_peer_connection_close_when_flushed (FcPeerConnection *self,
                                       const char       *why)
{
  g_return_if_fail (FC_IS_PEER_CONNECTION (self));

  if (self->closed || self->close_when_flushed)
    return;
  self->close_when_flushed = TRUE;
  self->close_reason = g_strdup (why);
  peer_flush (self);
}

gboolean
fc_peer_connection_is_closed (FcPeerConnection *self)
{
  g_return_val_if_fail (FC_IS_PEER_CONNECTION (self), TRUE);
  return self->closed;
}

/* ---- replies: one write per reply, in reservation order ------------------------ */

FcPeerReply *
fc_peer_connection_reserve (FcPeerConnection *self)
{
  FcPeerReply *reply;

  g_return_val_if_fail (FC_IS_PEER_CONNECTION (self), NULL);

  reply = g_new0 (FcPeerReply, 1);
  g_queue_push_tail (&self->replies, reply);
  return reply;
}

void
fc_peer_connection_fill (FcPeerConnection *self,
                         FcPeerReply      *reply,
                         char             *text)
{
  g_return_if_fail (FC_IS_PEER_CONNECTION (self));
  g_return_if_fail (reply != NULL && text != NULL);

  g_free (reply->text);
  reply->text = text;
  reply->ready = TRUE;
  peer_flush (self);
}

void
fc_peer_connection_send (FcPeerConnection *self,
                         char             *text)
{
  fc_peer_connection_fill (self, fc_peer_connection_reserve (self), text);
}

static void
on_write_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(FcPeerConnection) self = user_data;
  g_autoptr(GError) error = NULL;
  gsize written = 0;

  self->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &written, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fc_peer_connection_close (self, error->message);
      return;
    }
  self->bytes_sent += written;
  self->replies_sent++;
  self->last_sent_at = g_get_monotonic_time ();
  reply_free (g_queue_pop_head (&self->replies));
  peer_flush (self);
  /* Reading paused for back-pressure resumes as replies drain. */
  if (self->started && !self->reading && !self->closed && !self->close_when_flushed &&
      g_queue_get_length (&self->replies) < self->limits->max_pending_replies)
    peer_read (self);
}

static void
peer_flush (FcPeerConnection *self)
{
  FcPeerReply *head;

  if (self->writing || self->closed)
    return;
  /* A reserved reply that turned out to have nothing to say (a shot's
   * follow-up messages after a failed commit) is dropped in its turn. */
  while ((head = g_queue_peek_head (&self->replies)) != NULL && head->ready && head->text[0] == '\0')
    reply_free (g_queue_pop_head (&self->replies));
  if (head == NULL || !head->ready)
    {
      if (head == NULL && self->close_when_flushed)
        fc_peer_connection_close (self, self->close_reason);
      return;
    }
  self->writing = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (self->connection)),
                                   head->text, strlen (head->text), G_PRIORITY_DEFAULT,
                                   self->cancellable, on_write_done, g_object_ref (self));
}

guint
fc_peer_connection_get_n_pending (FcPeerConnection *self)
{
  g_return_val_if_fail (FC_IS_PEER_CONNECTION (self), 0);
  return g_queue_get_length (&self->replies);
}

/* ---- reading ------------------------------------------------------------------- */

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(FcPeerConnection) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  const FcPeerProtocol *protocol = self->protocol;
  const FcPeerLimits *limits = self->limits;

  self->reading = FALSE;
  if (self->closed)
    return;
  if (n < 0)
    {
      fc_peer_connection_close (self, error->message);
      return;
    }
  if (n == 0)
    {
      g_autofree char *why = g_strdup_printf ("the %s disconnected", protocol->peer_noun);

      fc_peer_connection_close (self, why);
      return;
    }
  self->bytes_received += n;
  self->last_received_at = g_get_monotonic_time ();

  fc_oc_framer_push (self->framer, self->buffer, n, messages);
  for (guint i = 0; i < messages->len && !self->closed && !self->close_when_flushed; i++)
    {
      if (!fc_token_bucket_take (&self->budget, limits->max_messages_per_second))
        {
          g_autofree char *why = g_strdup_printf ("flooding: more messages per second than %s sends",
                                                  protocol->flood_noun);

          fc_peer_connection_close (self, why);
          return;
        }
      self->messages_received++;
      protocol->message (self, g_ptr_array_index (messages, i), self->user_data);
    }
  if (self->closed || self->close_when_flushed)
    return;
  if (fc_oc_framer_get_oversize_count (self->framer) > 0)
    {
      /* Answer (after any replies still due), then cut off; read no more. */
      g_message ("%s: Message larger than %u bytes", self->peer, limits->max_message_bytes);
      fc_peer_connection_send (self, protocol->oversize_reply (self, limits->max_message_bytes,
                                                               self->user_data));
      fc_peer_connection_close_when_flushed (self, "it sent an oversized message");
      return;
    }
  if (fc_oc_framer_get_garbage_bytes (self->framer) > limits->max_garbage_bytes)
    {
      g_autofree char *why = g_strdup_printf ("too much data that is not %s JSON", protocol->name);

      fc_peer_connection_close (self, why);
      return;
    }
  if (g_queue_get_length (&self->replies) < limits->max_pending_replies)
    peer_read (self);
}

static void
peer_read (FcPeerConnection *self)
{
  if (self->reading || self->closed)
    return;
  self->reading = TRUE;
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (self->connection)),
                             self->buffer, sizeof self->buffer, G_PRIORITY_DEFAULT,
                             self->cancellable, on_read, g_object_ref (self));
}

void
fc_peer_connection_start (FcPeerConnection *self)
{
  g_return_if_fail (FC_IS_PEER_CONNECTION (self));

  if (self->started)
    return;
  self->started = TRUE;
  peer_read (self);
}

/* ---- accepting ----------------------------------------------------------------- */

FcPeerConnection *
fc_peer_connection_accept (GSocketConnection    *connection,
                           FcPeerGate           *gate,
                           const FcPeerLimits   *limits,
                           const FcPeerProtocol *protocol,
                           gpointer              user_data)
{
  g_autoptr(GSocketAddress) remote = NULL;
  GInetAddress *address;
  g_autofree char *ip = NULL;
  const char *refused;
  FcPeerConnection *self;

  g_return_val_if_fail (G_IS_SOCKET_CONNECTION (connection), NULL);
  g_return_val_if_fail (gate != NULL && limits != NULL && protocol != NULL, NULL);
  g_return_val_if_fail (protocol->message != NULL && protocol->oversize_reply != NULL, NULL);

  remote = g_socket_connection_get_remote_address (connection, NULL);
  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    return NULL;
  address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));
  ip = g_inet_address_to_string (address);

  refused = fc_peer_gate_admit (gate, address, ip, limits->max_connections_per_peer,
                                limits->max_connections);
  if (refused)
    {
      g_message ("Refused %s client %s: %s", protocol->name, ip, refused);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return NULL;
    }

  /* Replies are small and the peer waits for them: no Nagle delay. */
  g_socket_set_option (g_socket_connection_get_socket (connection), IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  self = g_object_new (FC_TYPE_PEER_CONNECTION, NULL);
  self->connection = g_object_ref (connection);
  self->gate = gate;
  self->limits = limits;
  self->protocol = protocol;
  self->user_data = user_data;
  self->framer = fc_oc_framer_new (limits->max_message_bytes);
  self->peer_ip = g_steal_pointer (&ip);
  self->peer = g_strdup_printf ("%s:%u", self->peer_ip,
                                g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote)));
  self->connected_at = g_get_monotonic_time ();
  fc_token_bucket_init (&self->budget, limits->max_messages_per_second);
  g_message ("%s client connected from %s", protocol->name, self->peer);
  return self;
}

/* ---- object -------------------------------------------------------------------- */

static void
fc_peer_connection_finalize (GObject *object)
{
  FcPeerConnection *self = FC_PEER_CONNECTION (object);

  /* The listener closed it (fc_peer_connection_accept()'s contract), so
   * the gate has already forgotten it. */
  g_clear_object (&self->connection);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->framer, fc_oc_framer_free);
  g_queue_clear_full (&self->replies, (GDestroyNotify) reply_free);
  g_free (self->close_reason);
  g_free (self->peer);
  g_free (self->peer_ip);

  G_OBJECT_CLASS (fc_peer_connection_parent_class)->finalize (object);
}

static void
fc_peer_connection_class_init (FcPeerConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = fc_peer_connection_finalize;
}

static void
fc_peer_connection_init (FcPeerConnection *self)
{
  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->replies);
}

const char *
fc_peer_connection_get_peer (FcPeerConnection *self)
{
  g_return_val_if_fail (FC_IS_PEER_CONNECTION (self), NULL);
  return self->peer;
}

const char *
fc_peer_connection_get_peer_ip (FcPeerConnection *self)
{
  g_return_val_if_fail (FC_IS_PEER_CONNECTION (self), NULL);
  return self->peer_ip;
}

guint64
fc_peer_connection_get_bytes_received (FcPeerConnection *self)
{
  g_return_val_if_fail (FC_IS_PEER_CONNECTION (self), 0);
  return self->bytes_received;
}

guint64
fc_peer_connection_get_bytes_sent (FcPeerConnection *self)
{
  g_return_val_if_fail (FC_IS_PEER_CONNECTION (self), 0);
  return self->bytes_sent;
}

guint64
fc_peer_connection_get_messages_received (FcPeerConnection *self)
{
  g_return_val_if_fail (FC_IS_PEER_CONNECTION (self), 0);
  return self->messages_received;
}

guint64
fc_peer_connection_get_replies_sent (FcPeerConnection *self)
{
  g_return_val_if_fail (FC_IS_PEER_CONNECTION (self), 0);
  return self->replies_sent;
}

gint64
fc_peer_connection_get_connected_at (FcPeerConnection *self)
{
  g_return_val_if_fail (FC_IS_PEER_CONNECTION (self), 0);
  return self->connected_at;
}

gint64
fc_peer_connection_get_last_received_at (FcPeerConnection *self)
{
  g_return_val_if_fail (FC_IS_PEER_CONNECTION (self), 0);
  return self->last_received_at;
}

gint64
fc_peer_connection_get_last_sent_at (FcPeerConnection *self)
{
  g_return_val_if_fail (FC_IS_PEER_CONNECTION (self), 0);
  return self->last_sent_at;
}
