/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-monitors"

#include "fc-listen-address.h"
#include "fc-error.h"

#include <stdlib.h>
#include <string.h>

static gboolean
parse_port (const char *text,
            guint16    *port)
{
  guint64 v;

  if (!g_ascii_string_to_unsigned (text, 10, 0, 65535, &v, NULL))
    return FALSE;
  *port = (guint16) v;
  return TRUE;
}

GSocketAddress *
fc_listen_address_parse (const char  *text,
                         guint16      default_port,
                         GError     **error)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) addr = NULL;
  guint16 port = default_port;
  const char *colon;

  g_return_val_if_fail (text != NULL, NULL);

  if (parse_port (text, &port))
    host = g_strdup ("0.0.0.0");
  else if (text[0] == '[')
    {
      const char *end = strchr (text, ']');
      if (end == NULL || (end[1] != '\0' && (end[1] != ':' || !parse_port (end + 2, &port))))
        goto bad;
      host = g_strndup (text + 1, end - text - 1);
    }
  else if ((colon = strrchr (text, ':')) != NULL && strchr (text, ':') == colon)
    {
      if (!parse_port (colon + 1, &port))
        goto bad;
      host = g_strndup (text, colon - text);
    }
  else
    host = g_strdup (text);

  addr = g_inet_address_new_from_string (host);
  if (addr == NULL)
    goto bad;
  return g_inet_socket_address_new (addr, port);

bad:
  g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
               "“%s” is not a listening address: give ADDRESS:PORT with a numeric address, "
               "e.g. 0.0.0.0:%u or 192.168.1.10:%u", text, default_port, default_port);
  return NULL;
}

void
fc_listen_address_explain_error (GError     **error,
                                 const char  *what,
                                 guint16      port,
                                 guint16      alt_port)
{
  if (error == NULL || *error == NULL)
    return;

  if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED) && port < 1024)
    {
      g_autoptr(GError) original = g_steal_pointer (error);
      g_set_error (error, FC_ERROR, FC_ERROR_FAILED,
                   "Cannot listen for %s on port %u: ports below 1024 need administrator "
                   "rights on Linux (%s). Either allow it once with "
                   "“sudo setcap cap_net_bind_service=+ep fitclip-agent”, or use port %u "
                   "here and in the connector's settings.",
                   what, port, original->message, alt_port);
    }
  else if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
    {
      g_autoptr(GError) original = g_steal_pointer (error);
      g_set_error (error, FC_ERROR, FC_ERROR_FAILED,
                   "Cannot listen for %s on port %u: another program already uses it "
                   "(GSPro Connect or another FitClip Agent?). Close it, or use port %u "
                   "here and in the connector's settings.",
                   what, port, alt_port);
    }
  else
    g_prefix_error (error, "Cannot listen for %s on port %u: ", what, port);
}
