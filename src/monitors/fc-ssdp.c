/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-ssdp"

#include "config.h"

#include "fc-ssdp.h"

#include <string.h>

#include "fc-error.h"

/* UPnP 1.1 asks for MX between 1 and 5; devices wait up to MX seconds
 * at random before answering, so a small value keeps discovery quick. */
#define SSDP_MX     1
#define SSDP_TRIES  3

typedef struct {
  GSocket *socket;
  GSocketAddress *dest;
  char    *request;
  char    *search_target;
  GSource *read_source;
  GSource *resend_source;
  GSource *timeout_source;
  guint    sends;
} Discovery;

static void
discovery_free (Discovery *d)
{
  if (d->read_source)
    g_source_destroy (d->read_source);
  if (d->resend_source)
    g_source_destroy (d->resend_source);
  if (d->timeout_source)
    g_source_destroy (d->timeout_source);
  g_clear_pointer (&d->read_source, g_source_unref);
  g_clear_pointer (&d->resend_source, g_source_unref);
  g_clear_pointer (&d->timeout_source, g_source_unref);
  if (d->socket)
    g_socket_close (d->socket, NULL);
  g_clear_object (&d->socket);
  g_clear_object (&d->dest);
  g_free (d->request);
  g_free (d->search_target);
  g_free (d);
}

/* Stops the sources as soon as the task has its result, so that neither
 * keeps the task (and the socket) alive until the timeout. */
static void
discovery_finish_sources (Discovery *d)
{
  if (d->read_source)
    g_source_destroy (d->read_source);
  if (d->resend_source)
    g_source_destroy (d->resend_source);
  if (d->timeout_source)
    g_source_destroy (d->timeout_source);
}

char *
fc_ssdp_parse_response (const char *response,
                        gsize       length,
                        const char *search_target)
{
  g_autofree char *text = g_strndup (response, length);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *location = NULL;
  g_autofree char *st = NULL;

  /* A search response, not another controller's M-SEARCH or a NOTIFY. */
  if (g_ascii_strncasecmp (text, "HTTP/1.1 200", 12) != 0 &&
      g_ascii_strncasecmp (text, "HTTP/1.0 200", 12) != 0)
    return NULL;
  for (guint i = 0; lines[i]; i++)
    {
      char *line = g_strstrip (lines[i]);

      if (g_ascii_strncasecmp (line, "LOCATION:", 9) == 0)
        {
          g_free (location);
          location = g_strdup (g_strstrip (line + 9));
        }
      else if (g_ascii_strncasecmp (line, "ST:", 3) == 0)
        {
          g_free (st);
          st = g_strdup (g_strstrip (line + 3));
        }
    }
  if (location == NULL || *location == '\0')
    return NULL;
  if (search_target && st && g_strcmp0 (st, search_target) != 0)
    return NULL;
  return g_steal_pointer (&location);
}

static void
send_request (GTask *task)
{
  Discovery *d = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  d->sends++;
  if (g_socket_send_to (d->socket, d->dest, d->request, strlen (d->request),
                        g_task_get_cancellable (task), &error) < 0)
    g_debug ("M-SEARCH not sent: %s", error->message);
}

static gboolean
on_resend (gpointer user_data)
{
  GTask *task = user_data;
  Discovery *d = g_task_get_task_data (task);

  if (d->sends >= SSDP_TRIES)
    return G_SOURCE_REMOVE;
  send_request (task);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_timeout (gpointer user_data)
{
  GTask *task = user_data;
  Discovery *d = g_task_get_task_data (task);

  if (!g_task_had_error (task) && !g_task_get_completed (task))
    {
      discovery_finish_sources (d);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                               "No TrackMan answered the network search (SSDP); check that the "
                               "unit is on and on the same network as this computer");
    }
  return G_SOURCE_REMOVE;
}

static gboolean
on_readable (GSocket      *socket,
             GIOCondition  condition,
             gpointer      user_data)
{
  GTask *task = user_data;
  Discovery *d = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  char buf[4096];
  gssize n;
  char *location;

  n = g_socket_receive_from (socket, NULL, buf, sizeof buf, g_task_get_cancellable (task), &error);
  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      discovery_finish_sources (d);
      g_task_return_error (task, g_steal_pointer (&error));
      return G_SOURCE_REMOVE;
    }
  /* Other UPnP devices answer too, and ssdp:all responders answer with
   * their own types: only a matching ST counts. */
  location = fc_ssdp_parse_response (buf, n, d->search_target);
  if (location == NULL)
    return G_SOURCE_CONTINUE;
  discovery_finish_sources (d);
  g_task_return_pointer (task, location, g_free);
  return G_SOURCE_REMOVE;
}

static GSocketAddress *
parse_target (const char  *target,
              GError     **error)
{
  g_autoptr(GSocketConnectable) parsed = NULL;
  g_autoptr(GInetAddress) address = NULL;

  if (target == NULL)
    {
      address = g_inet_address_new_from_string (FC_SSDP_MULTICAST_ADDRESS);
      return g_inet_socket_address_new (address, FC_SSDP_PORT);
    }
  parsed = g_network_address_parse (target, FC_SSDP_PORT, error);
  if (parsed == NULL)
    return NULL;
  address = g_inet_address_new_from_string (g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed)));
  if (address == NULL)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "SSDP target “%s” must be an IP address and port", target);
      return NULL;
    }
  return g_inet_socket_address_new (address, g_network_address_get_port (G_NETWORK_ADDRESS (parsed)));
}

void
fc_ssdp_discover_async (const char          *search_target,
                        const char          *target,
                        guint                timeout_ms,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) any = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  Discovery *d;

  g_return_if_fail (search_target != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, fc_ssdp_discover_async);
  d = g_new0 (Discovery, 1);
  g_task_set_task_data (task, d, (GDestroyNotify) discovery_free);
  d->search_target = g_strdup (search_target);
  timeout_ms = MAX (timeout_ms, 100);

  if ((d->dest = parse_target (target, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  d->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                            G_SOCKET_PROTOCOL_UDP, &error);
  any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  local = g_inet_socket_address_new (any, 0);
  if (d->socket == NULL || !g_socket_bind (d->socket, local, FALSE, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_socket_set_blocking (d->socket, FALSE);
  /* Some routers between the bay PC and the unit: UPnP suggests TTL 2. */
  g_socket_set_multicast_ttl (d->socket, 2);

  d->request = g_strdup_printf ("M-SEARCH * HTTP/1.1\r\n"
                                "HOST: " FC_SSDP_MULTICAST_ADDRESS ":%d\r\n"
                                "MAN: \"ssdp:discover\"\r\n"
                                "MX: %d\r\n"
                                "ST: %s\r\n"
                                "USER-AGENT: FitClip-Agent UPnP/1.1\r\n"
                                "\r\n", FC_SSDP_PORT, SSDP_MX, search_target);

  d->read_source = g_socket_create_source (d->socket, G_IO_IN, cancellable);
  g_source_set_callback (d->read_source, G_SOURCE_FUNC (on_readable),
                         g_object_ref (task), g_object_unref);
  g_source_attach (d->read_source, g_main_context_get_thread_default ());

  d->resend_source = g_timeout_source_new (timeout_ms / (SSDP_TRIES + 1));
  g_source_set_callback (d->resend_source, on_resend, g_object_ref (task), g_object_unref);
  g_source_attach (d->resend_source, g_main_context_get_thread_default ());

  d->timeout_source = g_timeout_source_new (timeout_ms);
  g_source_set_callback (d->timeout_source, on_timeout, g_object_ref (task), g_object_unref);
  g_source_attach (d->timeout_source, g_main_context_get_thread_default ());

  send_request (task);
}

char *
fc_ssdp_discover_finish (GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
