/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-sync-backoff"

#include "config.h"

#include "fc-sync-backoff.h"

gint64
fc_sync_backoff_delay (guint   attempt,
                       gint64  base_us,
                       gint64  cap_us,
                       GRand  *rand)
{
  gint64 ceiling = base_us;

  g_return_val_if_fail (rand != NULL, 0);
  g_return_val_if_fail (base_us > 0 && cap_us >= 0, 0);

  /* Doubling stops at the cap, long before it could overflow. */
  for (guint i = 0; i < attempt && ceiling < cap_us; i++)
    ceiling *= 2;
  ceiling = MIN (ceiling, cap_us);
  /* g_rand_double() is in [0, 1): the ceiling itself is reachable after
   * rounding, so the whole interval is covered. */
  return (gint64) (g_rand_double (rand) * (double) ceiling + 0.5);
}
