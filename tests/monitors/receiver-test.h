/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-hub.h"

G_BEGIN_DECLS

/*
 * What the tests of the TCP receivers (Open Connect, Garmin E6) share:
 * a hub on a new store in a temporary directory, every shot that reached
 * a store (the TrackMan tests read theirs the same way), and a peer in
 * its own thread that dials the receiver on loopback, writes what a test
 * gives it and collects the replies (blocking sockets, bounded by
 * timeouts).
 */
typedef struct {
  char  *dir;
  char  *db;
  FcHub *hub;
} ReceiverHub;

/* A hub on "fitclip-NAME-XXXXXX/NAME.db". */
void       receiver_hub_init    (ReceiverHub *rh,
                                 const char  *name);
/* Drops the hub (if still held) and removes the store and its directory. */
void       receiver_hub_clear   (ReceiverHub *rh);

/* Copies of every shot in the store at @db, of every fitting. */
GPtrArray *receiver_stored_shots (const char *db);

typedef struct {
  /* set before running */
  guint16      port;
  GPtrArray   *chunks;        /* of GBytes*: written one write each */
  guint        expect;        /* replies (pings aside) to wait for */
  guint        pause_ms;      /* between chunks */
  guint        linger_ms;     /* then keep reading this long */
  /* A keepalive: a frame equal to @ping is counted, not kept, and
   * answered with @pong when @answer_pings (NULL: no keepalive). */
  const char  *ping;
  const char  *pong;
  gboolean     answer_pings;
  gboolean     final_pong;    /* after lingering, answer once more */
  /* what happened */
  GPtrArray   *replies;       /* of char*, pings left out */
  guint        pings;
  gboolean     closed_by_server;
  gboolean     done;
} ReceiverPeer;

ReceiverPeer *receiver_peer_new  (guint16       port,
                                  guint         expect);
void          receiver_peer_free (ReceiverPeer *peer);
/* Queues @text as one write. */
void          receiver_peer_send (ReceiverPeer *peer,
                                  const char   *text);
/* The peer's thread (a GThreadFunc taking the peer): connects, writes,
 * reads, sets done and wakes the main context. */
gpointer      receiver_peer_main (gpointer      data);
/* Runs the main loop (receiver and hub) until the peer is finished,
 * calling @tick (may be NULL) between iterations, then lets the receiver
 * finish what the peer's last bytes started. */
void          receiver_peer_run  (ReceiverPeer *peer,
                                  void        (*tick) (gpointer data),
                                  gpointer      data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReceiverPeer, receiver_peer_free)

G_END_DECLS
