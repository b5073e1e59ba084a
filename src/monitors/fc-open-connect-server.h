/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-hub.h"
#include "fc-peer-connection.h"

G_BEGIN_DECLS

/*
 * The GSPro Open Connect v1 receiver: a TCP server that launch-monitor
 * connectors (Uneekor, Foresight GSPconnect, R10 bridges, Rapsodo, Mevo+,
 * ...) connect to. Several clients at once; each message gets exactly one
 * reply, and a shot's 200 is sent only after the hub committed it.
 */
#define FC_TYPE_OPEN_CONNECT_SERVER (fc_open_connect_server_get_type ())
G_DECLARE_FINAL_TYPE (FcOpenConnectServer, fc_open_connect_server, FC, OPEN_CONNECT_SERVER, GObject)

#define FC_OPEN_CONNECT_DEFAULT_PORT 921
/* GSPro's own port when OpenAPIUseAltPort is set; use it for the agent on
 * PCs that also run GSPro Connect on 921. */
#define FC_OPEN_CONNECT_ALT_PORT 922

/* The protections of every launch-monitor listener (fc-peer-connection.h):
 * connections in all and per peer, message rate, size, garbage, replies
 * owed. */
typedef FcPeerLimits FcOpenConnectLimits;

FcOpenConnectServer *fc_open_connect_server_new (FcHub *hub);

/* Peers allowed to connect: addresses or CIDR masks ("192.168.10.0/24").
 * Empty or NULL: everyone that reaches the listening address. */
gboolean  fc_open_connect_server_set_allowlist (FcOpenConnectServer *self,
                                                const char * const  *masks,
                                                GError             **error);
void      fc_open_connect_server_set_limits    (FcOpenConnectServer       *self,
                                                const FcOpenConnectLimits *limits);

/* "ADDR:PORT", "[IPv6]:PORT" or "PORT" (all addresses); port 0 picks a
 * free one. A privileged or busy port gives an error that says what to do. */
gboolean  fc_open_connect_server_listen  (FcOpenConnectServer  *self,
                                          const char           *address,
                                          GError              **error);
guint16   fc_open_connect_server_get_port (FcOpenConnectServer *self);
void      fc_open_connect_server_stop    (FcOpenConnectServer *self);
guint     fc_open_connect_server_get_n_connections (FcOpenConnectServer *self);

/* Player information (201) sent on connect and to everyone when the fitter
 * changes club. @handed "RH" or "LH"; @club_code DR, W3, I7, PW, ... */
gboolean  fc_open_connect_server_set_player (FcOpenConnectServer *self,
                                             const char          *handed,
                                             const char          *club_code,
                                             GError             **error);

G_END_DECLS
