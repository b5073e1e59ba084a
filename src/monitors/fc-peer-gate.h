/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * Who may connect to a launch-monitor listener, and how much: the shop's
 * allowlist, connections per peer address and in all, and a per-connection
 * message rate. Shared by every TCP listener (Open Connect, Garmin E6) so
 * that they protect the agent the same way.
 */
typedef struct _FcPeerGate FcPeerGate;

FcPeerGate *fc_peer_gate_new           (void);
void        fc_peer_gate_free          (FcPeerGate          *gate);

/* Addresses or CIDR masks; empty or NULL lets everyone in. On a bad entry
 * the previous list stays. */
gboolean    fc_peer_gate_set_allowlist (FcPeerGate          *gate,
                                        const char * const  *masks,
                                        GError             **error);

/* Counts a new connection from @ip when allowed and returns NULL; else
 * returns why it is refused (for the log) and counts nothing. */
const char *fc_peer_gate_admit         (FcPeerGate          *gate,
                                        GInetAddress        *address,
                                        const char          *ip,
                                        guint                max_per_peer,
                                        guint                max_total);
/* Forgets a connection from @ip; returns how many from it remain. */
guint       fc_peer_gate_release       (FcPeerGate          *gate,
                                        const char          *ip);

/* A message budget: bursts of two seconds' worth, no sustained floods. */
typedef struct {
  double tokens;
  gint64 updated_at;
} FcTokenBucket;

void        fc_token_bucket_init       (FcTokenBucket       *bucket,
                                        double               per_second);
gboolean    fc_token_bucket_take       (FcTokenBucket       *bucket,
                                        double               per_second);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcPeerGate, fc_peer_gate_free)

G_END_DECLS
