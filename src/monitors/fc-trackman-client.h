/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-hub.h"

G_BEGIN_DECLS

/* Where a TrackMan 4 is when SSDP finds nothing: the unit's fixed LAN
 * address (protocols.md §2). Its WebSocket and API are then assumed at
 * ws://172.30.20.1/ws and http://172.30.20.1/api/. */
#define FC_TRACKMAN_FALLBACK_URL "http://172.30.20.1/"

/*
 * FcTrackmanClient: a viewer of a TrackMan 4 unit's local WebSocket API.
 * It subscribes to measurements, answers the unit's Ping, keeps the
 * latest message of each shot (a shot arrives as PreLaunchData ... a
 * final Measurement, all with one Id) and hands the final one to the
 * hub. It never logs in, so it never takes operator control from TPS.
 *
 * It reconnects on its own for as long as it runs (0.5 s doubling to
 * 30 s, jittered), also when a unit that used to Ping goes quiet, and
 * reports connected / ready / silent / disconnected through the hub.
 * When the unit (or a gateway) offers no WebSocket but its REST API
 * answers, it polls GET <api>shots/recent every 2 s instead, with an
 * OAuth 2.0 client-credentials token when the API asks for one.
 */
#define FC_TYPE_TRACKMAN_CLIENT (fc_trackman_client_get_type ())
G_DECLARE_FINAL_TYPE (FcTrackmanClient, fc_trackman_client, FC, TRACKMAN_CLIENT, GObject)

FcTrackmanClient *fc_trackman_client_new       (FcHub             *hub);

/* @where: "discover" (SSDP, then FC_TRACKMAN_FALLBACK_URL when nobody
 * answers), a "ws://HOST[:PORT]/PATH" WebSocket URL, or an
 * "http://HOST[:PORT]/.../description.xml" UPnP description URL whose
 * <webSocket> and <api> elements say where to connect. Fails only on a
 * malformed argument or when already started; the connection itself is
 * made (and remade) in the background. */
gboolean    fc_trackman_client_start          (FcTrackmanClient  *self,
                                               const char        *where,
                                               GError           **error);
/* Closes the connection and stops reconnecting; a shot still waiting
 * for its final message is stored as it is. */
void        fc_trackman_client_stop           (FcTrackmanClient  *self);

/* The hub's monitor id, e.g. "trackman 172.30.20.1"; NULL before start. */
const char *fc_trackman_client_get_monitor_id (FcTrackmanClient  *self);

/* Send SSDP searches by unicast to "HOST:PORT" instead of the multicast
 * group (a unit behind a router, or a test responder). NULL: multicast. */
void        fc_trackman_client_set_ssdp_target (FcTrackmanClient *self,
                                                const char       *host_port);

/* OAuth 2.0 client credentials for the REST API, used once it answers
 * 401. The token is kept in memory only. */
void        fc_trackman_client_set_oauth      (FcTrackmanClient  *self,
                                               const char        *token_url,
                                               const char        *client_id,
                                               const char        *client_secret);

/* How long a shot may wait for its final Measurement before the most
 * complete message seen is stored (default 15 s). */
void        fc_trackman_client_set_shot_timeout (FcTrackmanClient *self,
                                                 guint             timeout_ms);

/* Statistics, for tests and the status page. */
guint       fc_trackman_client_get_pongs_sent (FcTrackmanClient  *self);
guint       fc_trackman_client_get_connections (FcTrackmanClient *self);

G_END_DECLS
