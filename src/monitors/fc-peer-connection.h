/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-peer-gate.h"

G_BEGIN_DECLS

/*
 * One accepted TCP connection of a launch-monitor listener whose protocol
 * is a stream of JSON objects without framing (Open Connect, Garmin E6):
 * the peer gate's accounting, an async read loop that frames objects and
 * hands them over one by one, an ordered reply queue with one write in
 * flight, the per-connection protections (message rate, size, garbage,
 * replies owed) and closing with a reason. The listener keeps only its
 * protocol: what a message means and what to answer.
 *
 * Replies go out in the order their slots were reserved, whenever each
 * is filled: a shot's reply can wait for its commit while later replies
 * are already known. Reading pauses while too many replies are owed.
 * Everything runs on the thread-default main context of the accept.
 */
#define FC_TYPE_PEER_CONNECTION (fc_peer_connection_get_type ())
G_DECLARE_FINAL_TYPE (FcPeerConnection, fc_peer_connection, FC, PEER_CONNECTION, GObject)

typedef struct {
  guint max_connections;           /* all peers together (default 64) */
  guint max_connections_per_peer;  /* per IP address (default 8) */
  guint max_messages_per_second;   /* sustained, per connection (default 2000) */
  guint max_message_bytes;         /* default 64 KiB */
  guint max_garbage_bytes;         /* non-JSON bytes before a peer is cut off (default 64 KiB) */
  guint max_pending_replies;       /* reading pauses beyond this (default 64) */
} FcPeerLimits;

/* The limits both listeners start with. */
#define FC_PEER_LIMITS_DEFAULT ((FcPeerLimits) {  \
    .max_connections = 64,                        \
    .max_connections_per_peer = 8,                \
    .max_messages_per_second = 2000,              \
    .max_message_bytes = 64 * 1024,               \
    .max_garbage_bytes = 64 * 1024,               \
    .max_pending_replies = 64,                    \
  })

/* A reserved place in the reply queue; valid for as long as the caller
 * holds a reference to its connection. */
typedef struct _FcPeerReply FcPeerReply;

/* What a listener tells its connections: names for the log and the
 * protocol's callbacks. Static for the listener's life. */
typedef struct {
  const char *name;         /* "Open Connect": "Open Connect client connected from ..." */
  const char *peer_noun;    /* "client": "the client disconnected" */
  const char *flood_noun;   /* "any launch monitor": "more messages per second than ... sends" */

  /* One complete JSON object (not yet parsed). Answer through the reply
   * queue; closing from here is allowed. */
  void  (*message)        (FcPeerConnection *conn,
                           GBytes           *message,
                           gpointer          user_data);
  /* The last word to a peer that sent more than @max_bytes in one
   * object (newly allocated); the connection closes once it is written. */
  char *(*oversize_reply) (FcPeerConnection *conn,
                           guint             max_bytes,
                           gpointer          user_data);
  /* The connection is closed (by the peer, a protection, or
   * fc_peer_connection_close()) and its peer released from the gate;
   * @remaining is how many connections that address still has. Called
   * once; no callback follows it. */
  void  (*closed)         (FcPeerConnection *conn,
                           guint             remaining,
                           gpointer          user_data);
} FcPeerProtocol;

/* Admits @connection through @gate (allowlist, connections per peer and
 * in all); NULL when refused (logged, the socket closed). Reading starts
 * with fc_peer_connection_start(). @gate and @limits belong to the
 * listener, which must close its connections before freeing them;
 * changed limits apply at once. */
FcPeerConnection *fc_peer_connection_accept (GSocketConnection    *connection,
                                             FcPeerGate           *gate,
                                             const FcPeerLimits   *limits,
                                             const FcPeerProtocol *protocol,
                                             gpointer              user_data);
void         fc_peer_connection_start     (FcPeerConnection *self);

/* Reserves the next reply in order; fill it later. */
FcPeerReply *fc_peer_connection_reserve   (FcPeerConnection *self);
/* Sets a reserved reply (takes @text); "" sends nothing in its turn. */
void         fc_peer_connection_fill      (FcPeerConnection *self,
                                           FcPeerReply      *reply,
                                           char             *text);
/* Reserves and fills at once (takes @text). */
void         fc_peer_connection_send      (FcPeerConnection *self,
                                           char             *text);

/* Closes now; @why (may be NULL) is logged. Safe to call more than once. */
void         fc_peer_connection_close     (FcPeerConnection *self,
                                           const char       *why);
/* Reads no more and closes once every reply owed has been written. */
void         fc_peer_connection_close_when_flushed (FcPeerConnection *self,
                                                    const char       *why);
gboolean     fc_peer_connection_is_closed (FcPeerConnection *self);

/* "192.0.2.7:50123" and "192.0.2.7". */
const char  *fc_peer_connection_get_peer    (FcPeerConnection *self);
const char  *fc_peer_connection_get_peer_ip (FcPeerConnection *self);

/* Replies reserved and not yet written. */
guint        fc_peer_connection_get_n_pending (FcPeerConnection *self);

/* Counters and times (monotonic µs; 0: never), for the status page and
 * for telling an idle peer from a silent one. */
guint64      fc_peer_connection_get_bytes_received    (FcPeerConnection *self);
guint64      fc_peer_connection_get_bytes_sent        (FcPeerConnection *self);
guint64      fc_peer_connection_get_messages_received (FcPeerConnection *self);
guint64      fc_peer_connection_get_replies_sent      (FcPeerConnection *self);
gint64       fc_peer_connection_get_connected_at      (FcPeerConnection *self);
gint64       fc_peer_connection_get_last_received_at  (FcPeerConnection *self);
gint64       fc_peer_connection_get_last_sent_at      (FcPeerConnection *self);

G_END_DECLS
