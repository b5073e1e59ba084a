/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-hub.h"
#include "fc-peer-connection.h"

G_BEGIN_DECLS

/*
 * The listening side of a launch-monitor receiver whose peers dial in
 * (Open Connect, Garmin E6): the listening address and its bind errors,
 * the peer gate and limits, and the connected peers, each announced to
 * the hub as "KIND IP" while connected. The receiver keeps only what its
 * protocol adds: what a message means, and per-peer state of its own.
 * Everything runs on the thread-default main context of the caller.
 */
#define FC_TYPE_PEER_LISTENER (fc_peer_listener_get_type ())
G_DECLARE_FINAL_TYPE (FcPeerListener, fc_peer_listener, FC, PEER_LISTENER, GObject)

/* One connected peer. A receiver that keeps more per peer declares a
 * struct that starts with an FcPeer and gives its size; the protocol's
 * callbacks get that struct as their user_data. */
typedef struct {
  FcPeerListener   *listener;     /* which owns the peer */
  FcPeerConnection *conn;
  FcHub            *hub;          /* the listener's */
  char             *monitor_id;   /* "open-connect 192.0.2.7" */
} FcPeer;

/* What a receiver tells its listener. Static for the listener's life. */
typedef struct {
  const char     *kind;           /* "open-connect": the hub's monitor kind, monitor ids */
  const char     *listening_for;  /* "Open Connect": "Listening for ... on ADDR:PORT" */
  const char     *log_domain;     /* of that message: the receiver's */
  guint16         default_port;   /* when the address names none */
  guint16         alt_port;       /* offered when the port is privileged or busy */
  /* Its closed callback must be NULL: the listener forgets the peer,
   * flags the monitor disconnected when it was the address's last
   * connection, and calls peer_clear. */
  FcPeerProtocol  protocol;
  gsize           peer_size;      /* at least sizeof (FcPeer) */

  /* All optional. A peer was admitted and announced to the hub; reading
   * starts after this. @user_data is the listener's. */
  void          (*peer_connected)     (FcPeer   *peer,
                                       gpointer  user_data);
  /* Frees what the receiver added to @peer; the listener frees the rest. */
  void          (*peer_clear)         (FcPeer   *peer);
  /* Rewords a failed bind of @port; without it the listener explains it
   * with fc_listen_address_explain_error(), offering alt_port. */
  void          (*explain_bind_error) (GError  **error,
                                       guint16   port);
} FcPeerReceiver;

FcPeerListener *fc_peer_listener_new          (FcHub                *hub,
                                               const FcPeerReceiver *receiver,
                                               gpointer              user_data);

/* Addresses or CIDR masks; empty or NULL lets everyone in. */
gboolean        fc_peer_listener_set_allowlist (FcPeerListener      *self,
                                                const char * const  *masks,
                                                GError             **error);
/* Applies at once, also to the connections already made. */
void            fc_peer_listener_set_limits   (FcPeerListener       *self,
                                               const FcPeerLimits   *limits);

/* "ADDR:PORT", "[IPv6]:PORT" or "PORT" (all addresses); port 0 picks a
 * free one. A privileged or busy port gives an error that says what to do. */
gboolean        fc_peer_listener_listen       (FcPeerListener       *self,
                                               const char           *address,
                                               GError              **error);
guint16         fc_peer_listener_get_port     (FcPeerListener       *self);
/* Stops listening and closes every connection. */
void            fc_peer_listener_stop         (FcPeerListener       *self);

guint           fc_peer_listener_get_n_connections (FcPeerListener  *self);
/* The connected peers (of FcPeer*, newest first), owned by the listener. */
GList          *fc_peer_listener_get_peers    (FcPeerListener       *self);

G_END_DECLS
