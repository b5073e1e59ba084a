/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "cut-proxy"

#include "cut-proxy.h"

typedef struct {
  GSocket *client;
  GSocket *upstream;
} Pair;

struct _CutProxy
{
  GSocketService *service;
  guint16         port;

  GMutex          lock;
  guint16         upstream_port;
  gboolean        armed;
  guint64         budget;     /* client bytes left before the cut */
  guint           cuts;
  GPtrArray      *pairs;      /* Pair *, open connections */
  guint           active;     /* relay threads running */
  GCond           idle;
};

static void
shutdown_pair (Pair *pair)
{
  g_socket_shutdown (pair->client, TRUE, TRUE, NULL);
  g_socket_shutdown (pair->upstream, TRUE, TRUE, NULL);
}

/* Must hold the lock. */
static void
cut_all_locked (CutProxy *proxy)
{
  for (guint i = 0; i < proxy->pairs->len; i++)
    shutdown_pair (g_ptr_array_index (proxy->pairs, i));
  proxy->cuts++;
  proxy->armed = FALSE;
}

typedef struct {
  CutProxy *proxy;
  Pair     *pair;
  gboolean  to_upstream;
} Pump;

/* Copies one direction until EOF, an error or the cut. Short of the cut,
 * it behaves as a TCP relay does: EOF is passed on as a half-close, and a
 * peer that stopped reading (a server that answered 409 before the whole
 * PATCH body arrived, then closed) has the rest of the client's bytes
 * drained and dropped, so that the answer travelling the other way still
 * reaches the client instead of being lost to a reset. */
static gpointer
pump_thread (gpointer user_data)
{
  Pump *pump = user_data;
  CutProxy *proxy = pump->proxy;
  GSocket *from = pump->to_upstream ? pump->pair->client : pump->pair->upstream;
  GSocket *to = pump->to_upstream ? pump->pair->upstream : pump->pair->client;
  gboolean to_closed = FALSE;
  char buffer[16384];

  for (;;)
    {
      gssize n = g_socket_receive (from, buffer, sizeof buffer, NULL, NULL);
      gssize sent = 0;
      gboolean cut = FALSE;

      if (n <= 0)
        break;
      if (pump->to_upstream)
        {
          g_mutex_lock (&proxy->lock);
          if (proxy->armed && (guint64) n >= proxy->budget)
            {
              n = (gssize) proxy->budget;
              cut = TRUE;
            }
          else if (proxy->armed)
            proxy->budget -= (guint64) n;
          g_mutex_unlock (&proxy->lock);
        }
      while (!to_closed && sent < n)
        {
          gssize w = g_socket_send (to, buffer + sent, (gsize) (n - sent), NULL, NULL);

          if (w <= 0)
            to_closed = TRUE;
          else
            sent += w;
        }
      if (cut)
        {
          g_mutex_lock (&proxy->lock);
          cut_all_locked (proxy);
          g_mutex_unlock (&proxy->lock);
          break;
        }
    }

  g_socket_shutdown (to, FALSE, TRUE, NULL);
  g_free (pump);
  return NULL;
}

static gboolean
run_cb (GThreadedSocketService *service,
        GSocketConnection      *connection,
        GObject                *source_object,
        gpointer                user_data)
{
  CutProxy *proxy = user_data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) upstream = NULL;
  g_autofree char *target = NULL;
  GThread *back;
  Pump *pump;
  Pair pair;

  g_socket_client_set_enable_proxy (client, FALSE);
  g_mutex_lock (&proxy->lock);
  target = g_strdup_printf ("127.0.0.1:%u", proxy->upstream_port);
  proxy->active++;
  g_mutex_unlock (&proxy->lock);

  upstream = g_socket_client_connect_to_host (client, target, 0, NULL, NULL);
  if (upstream == NULL)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      goto out;
    }

  pair.client = g_socket_connection_get_socket (connection);
  pair.upstream = g_socket_connection_get_socket (upstream);
  g_socket_set_blocking (pair.client, TRUE);
  g_socket_set_blocking (pair.upstream, TRUE);
  g_mutex_lock (&proxy->lock);
  g_ptr_array_add (proxy->pairs, &pair);
  g_mutex_unlock (&proxy->lock);

  pump = g_new0 (Pump, 1);
  pump->proxy = proxy;
  pump->pair = &pair;
  pump->to_upstream = FALSE;
  back = g_thread_new ("cut-proxy-back", pump_thread, pump);

  pump = g_new0 (Pump, 1);
  pump->proxy = proxy;
  pump->pair = &pair;
  pump->to_upstream = TRUE;
  pump_thread (pump);
  g_thread_join (back);

  g_mutex_lock (&proxy->lock);
  g_ptr_array_remove (proxy->pairs, &pair);
  g_mutex_unlock (&proxy->lock);
  g_socket_close (pair.client, NULL);
  g_socket_close (pair.upstream, NULL);

out:
  g_mutex_lock (&proxy->lock);
  proxy->active--;
  g_cond_broadcast (&proxy->idle);
  g_mutex_unlock (&proxy->lock);
  return TRUE;
}

CutProxy *
cut_proxy_new (guint16 upstream_port)
{
  CutProxy *proxy = g_new0 (CutProxy, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  g_mutex_init (&proxy->lock);
  g_cond_init (&proxy->idle);
  proxy->pairs = g_ptr_array_new ();
  proxy->upstream_port = upstream_port;
  proxy->service = g_threaded_socket_service_new (16);
  g_socket_listener_add_address (G_SOCKET_LISTENER (proxy->service), address,
                                 G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &bound, &error);
  g_assert_no_error (error);
  proxy->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_signal_connect (proxy->service, "run", G_CALLBACK (run_cb), proxy);
  g_socket_service_start (proxy->service);
  return proxy;
}

guint16
cut_proxy_get_port (CutProxy *proxy)
{
  return proxy->port;
}

void
cut_proxy_set_upstream (CutProxy *proxy,
                        guint16   upstream_port)
{
  g_mutex_lock (&proxy->lock);
  proxy->upstream_port = upstream_port;
  g_mutex_unlock (&proxy->lock);
}

void
cut_proxy_cut_after (CutProxy *proxy,
                     guint64   bytes)
{
  g_mutex_lock (&proxy->lock);
  proxy->armed = TRUE;
  proxy->budget = bytes;
  g_mutex_unlock (&proxy->lock);
}

void
cut_proxy_cut_now (CutProxy *proxy)
{
  g_mutex_lock (&proxy->lock);
  cut_all_locked (proxy);
  g_mutex_unlock (&proxy->lock);
}

guint
cut_proxy_get_cuts (CutProxy *proxy)
{
  guint cuts;

  g_mutex_lock (&proxy->lock);
  cuts = proxy->cuts;
  g_mutex_unlock (&proxy->lock);
  return cuts;
}

void
cut_proxy_free (CutProxy *proxy)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  g_socket_service_stop (proxy->service);
  g_socket_listener_close (G_SOCKET_LISTENER (proxy->service));

  g_mutex_lock (&proxy->lock);
  for (guint i = 0; i < proxy->pairs->len; i++)
    shutdown_pair (g_ptr_array_index (proxy->pairs, i));
  while (proxy->active > 0)
    if (!g_cond_wait_until (&proxy->idle, &proxy->lock, deadline))
      break;
  g_mutex_unlock (&proxy->lock);

  g_object_unref (proxy->service);
  g_ptr_array_unref (proxy->pairs);
  g_mutex_clear (&proxy->lock);
  g_cond_clear (&proxy->idle);
  g_free (proxy);
}
