/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* "ADDR:PORT", "[IPv6]:PORT", "ADDR" or "PORT" to a socket address;
 * literal addresses only (a listener binds where the shop chooses, never
 * to whatever a name resolves to). */
GSocketAddress *fc_listen_address_parse (const char  *text,
                                         guint16      default_port,
                                         GError     **error);

/* Explains a failed bind in terms a shop's IT person can act on. */
void            fc_listen_address_explain_error (GError      **error,
                                                 const char   *what,
                                                 guint16       port,
                                                 guint16       alt_port);

G_END_DECLS
