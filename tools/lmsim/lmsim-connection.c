/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-lmsim"

#include "config.h"

#include "lmsim-connection.h"

#include <gio/gnetworking.h>
#include <string.h>

#include "lmsim.h"

#define BACKOFF_FIRST_US   (100 * 1000)
#define BACKOFF_MAX_US     (2 * G_USEC_PER_SEC)
/* Replies are tiny; anything bigger is a broken peer, not a reply. */
#define MAX_REPLY_BYTES    (64 * 1024)

/* A string-aware brace-depth framer for the replies: the receiver's
 * framer lives in the agent and is under test, so the simulator carries
 * its own rather than trusting the code it tests. */
typedef struct {
  GByteArray *buf;
  guint       pos;        /* next byte to scan */
  guint       start;      /* the '{' of the object being scanned */
  int         depth;
  gboolean    in_string;
  gboolean    escaped;
} Framer;

struct _LmsimConnection {
  char                       *address;      /* HOST[:PORT] as given */
  guint16                     default_port;
  gint64                      give_up_us;
  gboolean                    verbose;
  GSocketClient              *client;
  GSocketConnection          *conn;
  GSocket                    *socket;       /* owned by conn */
  Framer                      framer;
  gint64                      outage_since;
  gboolean                    gave_up;
  guint                       connections;
  guint                       drops;
  const LmsimConnectionHooks *hooks;
  gpointer                    hooks_data;
};

/* ---- reply framer -------------------------------------------------------- */

static void
framer_reset (Framer *f)
{
  g_byte_array_set_size (f->buf, 0);
  f->pos = f->start = 0;
  f->depth = 0;
  f->in_string = f->escaped = FALSE;
}

/* The next complete object, or NULL when more bytes are needed. Bytes
 * between objects are skipped: a reply stream has nothing else. */
static GBytes *
framer_next (Framer *f)
{
  for (; f->pos < f->buf->len; f->pos++)
    {
      guint8 c = f->buf->data[f->pos];

      if (f->depth == 0)
        {
          if (c == '{')
            {
              f->start = f->pos;
              f->depth = 1;
            }
          continue;
        }
      if (f->in_string)
        {
          if (f->escaped)
            f->escaped = FALSE;
          else if (c == '\\')
            f->escaped = TRUE;
          else if (c == '"')
            f->in_string = FALSE;
        }
      else if (c == '"')
        f->in_string = TRUE;
      else if (c == '{')
        f->depth++;
      else if (c == '}' && --f->depth == 0)
        {
          GBytes *frame = g_bytes_new (f->buf->data + f->start, f->pos + 1 - f->start);

          g_byte_array_remove_range (f->buf, 0, f->pos + 1);
          f->pos = 0;
          return frame;
        }

      if (f->pos + 1 - f->start > MAX_REPLY_BYTES)
        {
          /* Give up on this '{' and look for the next one after it. */
          g_byte_array_remove_range (f->buf, 0, f->start + 1);
          f->pos = 0;
          f->depth = 0;
          f->in_string = f->escaped = FALSE;
          return framer_next (f);
        }
    }

  /* Keep only the object in progress. */
  if (f->depth == 0)
    {
      g_byte_array_set_size (f->buf, 0);
      f->pos = 0;
    }
  else if (f->start > 0)
    {
      g_byte_array_remove_range (f->buf, 0, f->start);
      f->pos -= f->start;
      f->start = 0;
    }
  return NULL;
}

GBytes *
lmsim_connection_next_frame (LmsimConnection *c)
{
  return framer_next (&c->framer);
}

/* ---- connecting ---------------------------------------------------------- */

LmsimConnection *
lmsim_connection_new (const char  *address,
                      guint16      default_port,
                      double       give_up_s,
                      gboolean     verbose,
                      GError     **error)
{
  g_autoptr(GSocketConnectable) parsed = g_network_address_parse (address, default_port, error);
  LmsimConnection *c;

  if (parsed == NULL)
    return NULL;
  g_networking_init ();
  c = g_new0 (LmsimConnection, 1);
  c->address = g_strdup (address);
  c->default_port = default_port;
  c->give_up_us = (gint64) (give_up_s * G_USEC_PER_SEC);
  c->verbose = verbose;
  c->client = g_socket_client_new ();
  /* A receiver on the shop LAN is never reached through a web proxy (and
   * looking one up needs desktop settings a bay PC may not have). */
  g_socket_client_set_enable_proxy (c->client, FALSE);
  g_socket_client_set_timeout (c->client, 5);
  c->framer.buf = g_byte_array_new ();
  c->outage_since = g_get_monotonic_time ();
  return c;
}

LmsimConnection *
lmsim_connection_new_from_command_line (GOptionContext *context,
                                        const char     *address,
                                        guint16         default_port,
                                        double          give_up_s,
                                        gboolean        verbose,
                                        int            *status)
{
  g_autoptr(GError) error = NULL;
  LmsimConnection *c = lmsim_connection_new (address, default_port, give_up_s, verbose, &error);

  if (c == NULL)
    *status = lmsim_usage_error (context, error->message);
  return c;
}

void
lmsim_connection_free (LmsimConnection *c)
{
  if (c == NULL)
    return;
  if (c->conn)
    g_io_stream_close (G_IO_STREAM (c->conn), NULL, NULL);
  g_clear_object (&c->conn);
  g_clear_object (&c->client);
  g_clear_pointer (&c->framer.buf, g_byte_array_unref);
  g_free (c->address);
  g_free (c);
}

void
lmsim_connection_set_hooks (LmsimConnection            *c,
                            const LmsimConnectionHooks *hooks,
                            gpointer                    user_data)
{
  c->hooks = hooks;
  c->hooks_data = user_data;
}

void
lmsim_connection_drop (LmsimConnection *c,
                       const char      *why)
{
  if (c->conn == NULL)
    return;
  lmsim_say (TRUE, "connection to %s closed: %s", c->address, why);
  g_io_stream_close (G_IO_STREAM (c->conn), NULL, NULL);
  g_clear_object (&c->conn);
  c->socket = NULL;
  framer_reset (&c->framer);
  c->outage_since = g_get_monotonic_time ();
  c->drops++;
  if (c->hooks && c->hooks->dropped)
    c->hooks->dropped (c, c->hooks_data);
}

gboolean
lmsim_connection_ensure (LmsimConnection *c)
{
  gint64 backoff = BACKOFF_FIRST_US;

  while (c->conn == NULL)
    {
      g_autoptr(GError) error = NULL;
      gint64 now, give_up_at;

      if (lmsim_interrupted () || c->gave_up)
        return FALSE;
      c->conn = g_socket_client_connect_to_host (c->client, c->address, c->default_port, NULL, &error);
      if (c->conn != NULL)
        {
          c->socket = g_socket_connection_get_socket (c->conn);
          /* Bounds a blocking write to a receiver that stopped reading. */
          g_socket_set_timeout (c->socket, 10);
          /* Every write leaves at once: byte-by-byte styles need it, and
           * without it a message written right after another waits for
           * the first one's delayed ACK (40 ms on Linux), which would
           * show up as the receiver's latency. */
          if (!g_socket_set_option (c->socket, IPPROTO_TCP, TCP_NODELAY, TRUE, &error))
            lmsim_say (c->verbose, "cannot set TCP_NODELAY: %s", error->message);
          c->connections++;
          lmsim_say (TRUE, "connected to %s%s", c->address, c->connections > 1 ? " again" : "");
          if (c->hooks && c->hooks->connected)
            c->hooks->connected (c, c->hooks_data);
          return TRUE;
        }
      now = g_get_monotonic_time ();
      give_up_at = c->outage_since + c->give_up_us;
      if (now >= give_up_at)
        {
          lmsim_say (TRUE, "giving up: no connection to %s for %g s (%s)", c->address,
                     c->give_up_us / (double) G_USEC_PER_SEC, error->message);
          c->gave_up = TRUE;
          return FALSE;
        }
      lmsim_say (c->verbose, "cannot connect to %s (%s); retrying in %d ms", c->address, error->message,
                 (int) (backoff / 1000));
      lmsim_sleep_until (MIN (now + backoff, give_up_at));
      backoff = MIN (backoff * 2, BACKOFF_MAX_US);
    }
  return TRUE;
}

gboolean
lmsim_connection_is_connected (LmsimConnection *c)
{
  return c->conn != NULL;
}

gboolean
lmsim_connection_gave_up (LmsimConnection *c)
{
  return c->gave_up;
}

/* ---- reading and writing --------------------------------------------------- */

gboolean
lmsim_connection_write (LmsimConnection *c,
                        const void      *data,
                        gsize            len)
{
  const char *p = data;

  if (c->socket == NULL)
    return FALSE;
  while (len > 0)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (c->socket, p, len, NULL, &error);

      if (n < 0)
        {
          lmsim_connection_drop (c, error->message);
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
    }
  return TRUE;
}

LmsimReceive
lmsim_connection_receive (LmsimConnection *c,
                          gint64           wait_us)
{
  g_autoptr(GError) error = NULL;
  guint8 buf[4096];
  gssize n;

  if (c->socket == NULL)
    return LMSIM_RECEIVE_DROPPED;
  if (!g_socket_condition_timed_wait (c->socket, G_IO_IN, MAX (wait_us, 0), NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        return LMSIM_RECEIVE_TIMEOUT;
      lmsim_connection_drop (c, error->message);
      return LMSIM_RECEIVE_DROPPED;
    }
  n = g_socket_receive (c->socket, (char *) buf, sizeof buf, NULL, &error);
  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return LMSIM_RECEIVE_TIMEOUT;
      lmsim_connection_drop (c, error->message);
      return LMSIM_RECEIVE_DROPPED;
    }
  if (n == 0)
    {
      lmsim_connection_drop (c, "the receiver closed it");
      return LMSIM_RECEIVE_DROPPED;
    }
  g_byte_array_append (c->framer.buf, buf, (guint) n);
  return LMSIM_RECEIVE_DATA;
}

const char *
lmsim_connection_get_address (LmsimConnection *c)
{
  return c->address;
}

guint
lmsim_connection_get_connections (LmsimConnection *c)
{
  return c->connections;
}

guint
lmsim_connection_get_drops (LmsimConnection *c)
{
  return c->drops;
}

/* ---- the run --------------------------------------------------------------- */

void
lmsim_connection_run_shots (LmsimConnection        *c,
                            LmsimShotSource        *source,
                            const LmsimShotOptions *options,
                            int                     disconnect_every,
                            const LmsimShotLoop    *loop,
                            gpointer                user_data)
{
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; options->count == 0 || i < (guint) options->count; i++)
    {
      g_autoptr(FcShot) shot = lmsim_shot_source_next (source);
      guint number = i + 1;
      gboolean last = options->count > 0 && number == (guint) options->count;

      if (!loop->idle_until (user_data, lmsim_shot_options_due_time (options, start, i)))
        break;
      loop->run_shot (user_data, shot, number);
      if (c->gave_up || lmsim_interrupted ())
        break;
      if (loop->after_shot)
        loop->after_shot (user_data, number);
      if (disconnect_every > 0 && number % disconnect_every == 0 && !last)
        {
          lmsim_connection_drop (c, "--fault-disconnect-every");
          if (loop->reconnect_at_once && !lmsim_connection_ensure (c))
            break;
        }
    }
}
