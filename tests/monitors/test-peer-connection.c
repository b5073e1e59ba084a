/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * FcPeerConnection on loopback, driven by a small protocol of the test's
 * own: replies in reservation order whenever they are filled, reading
 * paused while replies are owed, the protections (size, rate, garbage),
 * closing after the last reply, the gate's accounting and the counters.
 * The listeners' own tests cover the same plumbing through Open Connect
 * and E6; these pin down the contract the listeners rely on.
 */
#include <string.h>

#include "fc-peer-connection.h"

typedef struct {
  GSocketService   *service;
  guint16           port;
  FcPeerGate       *gate;
  FcPeerLimits      limits;
  GPtrArray        *conns;      /* of FcPeerConnection*, open ones */
  GPtrArray        *held;       /* of FcPeerReply*: reserved, not filled */
  FcPeerConnection *last;       /* the latest accepted (not a reference) */
  guint             accepted;
  guint             refused;
  guint             closed;
  guint             remaining;  /* as the last closed callback said */
  guint             messages;
} Fixture;

/* The test protocol: "hold" reserves a reply and keeps it unfilled,
 * "empty" is answered with nothing, "bye" closes after the replies owed,
 * anything else is echoed back. */
static void
on_message (FcPeerConnection *conn,
            GBytes           *message,
            gpointer          user_data)
{
  Fixture *fx = user_data;
  g_autofree char *text = g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message));

  fx->messages++;
  if (strstr (text, "\"hold\""))
    g_ptr_array_add (fx->held, fc_peer_connection_reserve (conn));
  else if (strstr (text, "\"empty\""))
    fc_peer_connection_send (conn, g_strdup (""));
  else if (strstr (text, "\"bye\""))
    fc_peer_connection_close_when_flushed (conn, "the test said bye");
  else
    fc_peer_connection_send (conn, g_steal_pointer (&text));
}

static char *
on_oversize (FcPeerConnection *conn,
             guint             max_bytes,
             gpointer          user_data)
{
  return g_strdup_printf ("{\"too-big\":%u}", max_bytes);
}

static void
on_closed (FcPeerConnection *conn,
           guint             remaining,
           gpointer          user_data)
{
  Fixture *fx = user_data;

  fx->closed++;
  fx->remaining = remaining;
  g_ptr_array_remove (fx->conns, conn);
}

static const FcPeerProtocol test_protocol = {
  .name = "Test",
  .peer_noun = "tester",
  .flood_noun = "any tester",
  .message = on_message,
  .oversize_reply = on_oversize,
  .closed = on_closed,
};

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  Fixture *fx = user_data;
  FcPeerConnection *conn = fc_peer_connection_accept (connection, fx->gate, &fx->limits,
                                                      &test_protocol, fx);

  if (conn == NULL)
    {
      fx->refused++;
      return TRUE;
    }
  fx->accepted++;
  fx->last = conn;
  g_ptr_array_add (fx->conns, conn);
  fc_peer_connection_start (conn);
  return TRUE;
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  fx->gate = fc_peer_gate_new ();
  fx->limits = FC_PEER_LIMITS_DEFAULT;
  fx->conns = g_ptr_array_new_with_free_func (g_object_unref);
  fx->held = g_ptr_array_new ();
  fx->service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (fx->service), addr, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  fx->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_signal_connect (fx->service, "incoming", G_CALLBACK (on_incoming), fx);
  g_socket_service_start (fx->service);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_socket_service_stop (fx->service);
  g_socket_listener_close (G_SOCKET_LISTENER (fx->service));
  g_clear_object (&fx->service);
  /* The owner closes its connections before the gate goes. */
  while (fx->conns->len > 0)
    fc_peer_connection_close (g_ptr_array_index (fx->conns, 0), NULL);
  g_ptr_array_unref (fx->conns);
  g_ptr_array_unref (fx->held);
  fc_peer_gate_free (fx->gate);
}

/* ---- a client on the same thread: non-blocking socket, the main loop
 * runs the server between its steps ------------------------------------- */

typedef struct {
  GSocket   *socket;
  GString   *received;
  gboolean   eof;
} Client;

static void
spin (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (500);
}

static Client *
client_connect (Fixture *fx)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, fx->port);
  g_autoptr(GError) error = NULL;
  Client *c = g_new0 (Client, 1);

  c->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_connect (c->socket, addr, NULL, &error));
  g_assert_no_error (error);
  g_socket_set_blocking (c->socket, FALSE);
  c->received = g_string_new (NULL);
  return c;
}

static void
client_free (Client *c)
{
  g_socket_close (c->socket, NULL);
  g_object_unref (c->socket);
  g_string_free (c->received, TRUE);
  g_free (c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

static void
client_write (Client     *c,
              const char *text,
              gsize       len)
{
  g_autoptr(GError) error = NULL;

  /* Small writes into an empty loopback buffer go out whole. */
  g_assert_cmpint (g_socket_send (c->socket, text, len, NULL, &error), ==, (gssize) len);
  g_assert_no_error (error);
}

static void
client_read (Client *c)
{
  char buf[4096];
  gssize n;

  while ((n = g_socket_receive (c->socket, buf, sizeof buf, NULL, NULL)) > 0)
    g_string_append_len (c->received, buf, n);
  if (n == 0)
    c->eof = TRUE;
}

/* Runs the server until the client has @text in full (or EOF, or 5 s). */
static void
client_wait_for (Client     *c,
                 const char *text,
                 gboolean    eof)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      spin (2);
      client_read (c);
      if ((text == NULL || strstr (c->received->str, text)) && (!eof || c->eof))
        return;
    }
  g_error ("waited 5 s for “%s”%s; got “%s”%s", text ? text : "", eof ? " and EOF" : "",
           c->received->str, c->eof ? " and EOF" : "");
}

/* ---- tests ---------------------------------------------------------------- */

static void
test_order_and_counters (Fixture *fx, gconstpointer data)
{
  g_autoptr(Client) c = client_connect (fx);
  const char *sent = "{\"n\":1}{\"hold\":2}\n{\"empty\":3}{\"n\":4}";
  FcPeerConnection *conn;
  gint64 before;

  client_write (c, sent, strlen (sent));
  spin (100);
  g_assert_cmpuint (fx->accepted, ==, 1);
  conn = fx->last;
  /* The first reply goes out; the fourth waits behind the held second. */
  client_read (c);
  g_assert_cmpstr (c->received->str, ==, "{\"n\":1}");
  g_assert_cmpuint (fc_peer_connection_get_n_pending (conn), ==, 3);
  g_assert_cmpuint (fc_peer_connection_get_messages_received (conn), ==, 4);
  g_assert_cmpuint (fc_peer_connection_get_bytes_received (conn), ==, strlen (sent));
  g_assert_cmpint (fc_peer_connection_get_last_received_at (conn), >=,
                   fc_peer_connection_get_connected_at (conn));
  g_assert_cmpuint (fc_peer_connection_get_replies_sent (conn), ==, 1);

  before = fc_peer_connection_get_last_sent_at (conn);
  g_assert_cmpuint (fx->held->len, ==, 1);
  fc_peer_connection_fill (conn, g_ptr_array_index (fx->held, 0), g_strdup ("{\"held\":2}"));
  client_wait_for (c, "{\"n\":4}", FALSE);
  /* In reservation order; the empty reply sent nothing. */
  g_assert_cmpstr (c->received->str, ==, "{\"n\":1}{\"held\":2}{\"n\":4}");
  g_assert_cmpuint (fc_peer_connection_get_n_pending (conn), ==, 0);
  g_assert_cmpuint (fc_peer_connection_get_replies_sent (conn), ==, 3);
  g_assert_cmpuint (fc_peer_connection_get_bytes_sent (conn), ==, c->received->len);
  g_assert_cmpint (fc_peer_connection_get_last_sent_at (conn), >, before);
  g_assert_cmpstr (fc_peer_connection_get_peer_ip (conn), ==, "127.0.0.1");
  g_assert_true (g_str_has_prefix (fc_peer_connection_get_peer (conn), "127.0.0.1:"));
  g_assert_cmpuint (fx->closed, ==, 0);
}

static void
test_back_pressure (Fixture *fx, gconstpointer data)
{
  g_autoptr(Client) c = client_connect (fx);
  FcPeerConnection *conn;

  fx->limits.max_pending_replies = 2;
  /* One message per segment, read one at a time. */
  for (guint i = 0; i < 5; i++)
    {
      client_write (c, "{\"hold\":0}", 10);
      spin (30);
    }
  spin (100);
  conn = fx->last;
  /* Two replies owed: reading stopped there, the rest waits in the socket. */
  g_assert_cmpuint (fx->messages, ==, 2);
  g_assert_cmpuint (fc_peer_connection_get_n_pending (conn), ==, 2);

  /* Draining resumes reading. */
  for (guint round = 0; round < 10 && fx->messages < 5; round++)
    {
      for (guint i = 0; i < fx->held->len; i++)
        fc_peer_connection_fill (conn, g_ptr_array_index (fx->held, i), g_strdup ("{\"ok\":1}"));
      g_ptr_array_set_size (fx->held, 0);
      spin (50);
    }
  g_assert_cmpuint (fx->messages, ==, 5);
  for (guint i = 0; i < fx->held->len; i++)
    fc_peer_connection_fill (conn, g_ptr_array_index (fx->held, i), g_strdup ("{\"ok\":1}"));
  client_wait_for (c, "{\"ok\":1}{\"ok\":1}{\"ok\":1}{\"ok\":1}{\"ok\":1}", FALSE);
}

static void
test_close_when_flushed (Fixture *fx, gconstpointer data)
{
  g_autoptr(Client) c = client_connect (fx);
  const char *sent = "{\"hold\":1}{\"bye\":2}{\"n\":3}";
  g_autoptr(FcPeerConnection) conn = NULL;

  client_write (c, sent, strlen (sent));
  spin (100);
  conn = g_object_ref (fx->last);
  /* Nothing after "bye" is read; the held reply is still owed. */
  g_assert_cmpuint (fx->messages, ==, 2);
  g_assert_false (fc_peer_connection_is_closed (conn));
  fc_peer_connection_fill (conn, g_ptr_array_index (fx->held, 0), g_strdup ("{\"last\":1}"));
  client_wait_for (c, "{\"last\":1}", TRUE);
  g_assert_cmpstr (c->received->str, ==, "{\"last\":1}");
  g_assert_true (fc_peer_connection_is_closed (conn));
  g_assert_cmpuint (fx->closed, ==, 1);
  g_assert_cmpuint (fx->remaining, ==, 0);
  /* Closing again does nothing. */
  fc_peer_connection_close (conn, "again");
  g_assert_cmpuint (fx->closed, ==, 1);
}

static void
test_protections (Fixture *fx, gconstpointer data)
{
  g_autoptr(GString) big = g_string_new ("{\"x\":\"");
  g_autoptr(GString) flood = g_string_new (NULL);
  g_autoptr(GString) garbage = g_string_new (NULL);

  fx->limits.max_message_bytes = 64;
  fx->limits.max_messages_per_second = 5;   /* a burst of 10 */
  fx->limits.max_garbage_bytes = 100;

  for (guint i = 0; i < 100; i++)
    g_string_append_c (big, 'y');
  g_string_append (big, "\"}");
  for (guint i = 0; i < 30; i++)
    g_string_append (flood, "{\"n\":0}");
  for (guint i = 0; i < 200; i++)
    g_string_append_c (garbage, 'z');

  {
    g_autoptr(Client) c = client_connect (fx);

    client_write (c, "{\"n\":1}", 7);
    client_write (c, big->str, big->len);
    /* The answer to what came before, the oversize answer, then EOF. */
    client_wait_for (c, "{\"too-big\":64}", TRUE);
    g_assert_cmpstr (c->received->str, ==, "{\"n\":1}{\"too-big\":64}");
    g_assert_cmpuint (fx->closed, ==, 1);
  }
  {
    g_autoptr(Client) c = client_connect (fx);

    client_write (c, flood->str, flood->len);
    client_wait_for (c, NULL, TRUE);
    /* Cut off within the burst allowance. */
    g_assert_cmpuint (fx->closed, ==, 2);
    g_assert_cmpuint (fx->messages, >=, 1 + 10);
    g_assert_cmpuint (fx->messages, <=, 1 + 10 + 1);
  }
  {
    g_autoptr(Client) c = client_connect (fx);

    client_write (c, garbage->str, garbage->len);
    client_wait_for (c, NULL, TRUE);
    g_assert_cmpstr (c->received->str, ==, "");
    g_assert_cmpuint (fx->closed, ==, 3);
  }
  g_assert_cmpuint (fx->conns->len, ==, 0);
}

static void
test_gate (Fixture *fx, gconstpointer data)
{
  g_autoptr(Client) a = client_connect (fx);
  g_autoptr(Client) b = NULL;
  g_autoptr(Client) d = NULL;

  fx->limits.max_connections_per_peer = 1;
  client_write (a, "{\"n\":1}", 7);
  client_wait_for (a, "{\"n\":1}", FALSE);

  b = client_connect (fx);
  client_wait_for (b, NULL, TRUE);
  g_assert_cmpuint (fx->refused, ==, 1);

  /* The peer's slot comes back when its connection ends. */
  client_write (a, "{\"bye\":1}", 9);
  client_wait_for (a, NULL, TRUE);
  g_assert_cmpuint (fx->remaining, ==, 0);
  d = client_connect (fx);
  client_write (d, "{\"n\":2}", 7);
  client_wait_for (d, "{\"n\":2}", FALSE);
  g_assert_cmpuint (fx->accepted, ==, 2);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, fn) g_test_add ("/peer-connection/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("order-and-counters", test_order_and_counters);
  ADD ("back-pressure", test_back_pressure);
  ADD ("close-when-flushed", test_close_when_flushed);
  ADD ("protections", test_protections);
  ADD ("gate", test_gate);
#undef ADD

  return g_test_run ();
}
