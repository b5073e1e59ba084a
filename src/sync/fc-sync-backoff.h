/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* When the sync engine tries a failed request again (docs/cloud-sync.md,
 * "Agent side: engine"). */

#define FC_SYNC_BACKOFF_BASE_US (G_GINT64_CONSTANT (1) * G_USEC_PER_SEC)
#define FC_SYNC_BACKOFF_CAP_US  (G_GINT64_CONSTANT (5 * 60) * G_USEC_PER_SEC)

/* Full jitter: a uniformly random delay in [0, min(cap, base * 2^attempt)]
 * (@attempt counts from 0), so that many agents that failed together do
 * not come back together, and none waits longer than @cap_us. */
gint64 fc_sync_backoff_delay (guint   attempt,
                              gint64  base_us,
                              gint64  cap_us,
                              GRand  *rand);

G_END_DECLS
