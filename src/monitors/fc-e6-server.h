/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-e6-message.h"
#include "fc-hub.h"
#include "fc-open-connect-server.h"

G_BEGIN_DECLS

/*
 * The Garmin R10 / R50 receiver: the Garmin Golf app's "E6 Connect" mode
 * connects to it (the app is the TCP client). JSON objects with a "Type"
 * follow each other on the stream without framing. The app sends ball and
 * club data, then SendShot; the shot is stored, and only after the commit
 * does the app get its ACK and the Disarm / ShotComplete / Arm sequence.
 * The receiver pings every connection and flags a peer that stops
 * answering as silent.
 */
#define FC_TYPE_E6_SERVER (fc_e6_server_get_type ())
G_DECLARE_FINAL_TYPE (FcE6Server, fc_e6_server, FC, E6_SERVER, GObject)

#define FC_E6_DEFAULT_PORT 2483
#define FC_E6_DEFAULT_PING_INTERVAL_MS 10000
/* Unanswered pings after which a connected app counts as silent. */
#define FC_E6_SILENT_PINGS 3

FcE6Server *fc_e6_server_new            (FcHub                     *hub);

/* Peers allowed to connect: addresses or CIDR masks ("192.168.10.0/24").
 * Empty or NULL: everyone that reaches the listening address. */
gboolean    fc_e6_server_set_allowlist  (FcE6Server                *self,
                                         const char * const        *masks,
                                         GError                   **error);
/* The same protections as the Open Connect receiver. */
void        fc_e6_server_set_limits     (FcE6Server                *self,
                                         const FcOpenConnectLimits *limits);
/* Keepalive period (default 10 s); applies to connections made later.
 * Tests shorten it. */
void        fc_e6_server_set_ping_interval (FcE6Server             *self,
                                            guint                   interval_ms);

/* "ADDR:PORT", "[IPv6]:PORT" or "PORT" (default port 2483); port 0 picks
 * a free one. */
gboolean    fc_e6_server_listen         (FcE6Server                *self,
                                         const char                *address,
                                         GError                   **error);
guint16     fc_e6_server_get_port       (FcE6Server                *self);
void        fc_e6_server_stop           (FcE6Server                *self);
guint       fc_e6_server_get_n_connections (FcE6Server             *self);

G_END_DECLS
