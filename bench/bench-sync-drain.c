/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Cloud sync benchmarks (issue "cloud sync"), "name value" lines:
 *
 *  (a) time for the headless agent to drain 100,000 queued shots to
 *      fitclip-devcloud on loopback (target ≤ 30 s);
 *  (c) the agent's resident memory while it drains (target ≤ 60 MB):
 *      VmRSS sampled every 50 ms, and the kernel's high-water mark.
 *
 * Real processes: fitclip-devcloud, fitclip-agent --cloud, a private
 * gnome-keyring for the device token; the shots are queued by
 * sync-producer (10 fittings × 10,000 live shots, nothing else) before
 * the agent starts. Done when the cloud's database holds them all.
 *
 * Run: _build/bench/bench-sync-drain [RUNS]   (default 3; the programs of
 * the same build, or those FITCLIP_AGENT, FITCLIPCTL, FITCLIP_DEVCLOUD and
 * FITCLIP_SYNC_PRODUCER name)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync-bay.h"

#define SHOTS 100000

/* kB from a "Name:   1234 kB" line of /proc/PID/status. */
static gint64
proc_status_kb (const char *pid,
                const char *name)
{
  g_autofree char *path = g_strdup_printf ("/proc/%s/status", pid);
  g_autofree char *text = NULL;
  const char *line;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (line = strstr (text, name)) == NULL)
    return -1;
  return g_ascii_strtoll (line + strlen (name), NULL, 10);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static void
one_run (guint   r,
         double *seconds,
         double *rss_max_mb,
         double *hwm_mb)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SyncBay) bay = sync_bay_new (NULL, &error);
  g_autoptr(GSubprocess) agent = NULL;
  const char *pid;
  gint64 t0, rss_max = 0, hwm = 0, in_cloud = 0, anon_max = 0, file_max = 0;

  if (bay == NULL)
    g_error ("A private gnome-keyring is needed: %s", error->message);
  sync_bay_pair (bay);
  g_free (sync_bay_run (bay, g_getenv ("FITCLIP_SYNC_PRODUCER"), "--db", bay->db, "--fittings", "10",
                        "--shots", "10000", "--videos", "0", "--pace-ms", "0", "--no-customers",
                        "--plain", "--group", "500", NULL));

  t0 = g_get_monotonic_time ();
  agent = sync_bay_start_agent (bay, NULL);
  pid = g_subprocess_get_identifier (agent);

  while (g_get_monotonic_time () - t0 < 300 * G_USEC_PER_SEC)
    {
      gint64 rss = proc_status_kb (pid, "VmRSS:");

      rss_max = MAX (rss_max, rss);
      anon_max = MAX (anon_max, proc_status_kb (pid, "RssAnon:"));
      file_max = MAX (file_max, proc_status_kb (pid, "RssFile:"));
      /* the cloud's own count, not the agent's word */
      in_cloud = sync_cloud_sql_int (bay->cloud, "SELECT count(*) FROM shots");
      if (in_cloud >= SHOTS)
        break;
      g_usleep (50 * 1000);
    }
  *seconds = (g_get_monotonic_time () - t0) / 1e6;
  hwm = proc_status_kb (pid, "VmHWM:");
  g_subprocess_send_signal (agent, SIGTERM);
  g_subprocess_wait (agent, NULL, NULL);
  if (in_cloud < SHOTS)
    g_error ("Only %" G_GINT64_FORMAT " of %d shots reached the cloud in 300 s", in_cloud, SHOTS);
  *rss_max_mb = rss_max / 1024.0;
  *hwm_mb = hwm / 1024.0;
  printf ("run %u: %.2f s, RSS max %.1f MB (anonymous %.1f, file-backed %.1f), high-water %.1f MB\n",
          r, *seconds, *rss_max_mb, anon_max / 1024.0, file_max / 1024.0, *hwm_mb);
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  guint runs = argc > 1 ? (guint) atoi (argv[1]) : 3;
  g_autofree double *seconds = NULL, *rss = NULL, *hwm = NULL;

  /* The programs of this build, unless the environment names others
   * (before any thread starts: setenv is not thread-safe). */
  g_setenv ("FITCLIP_AGENT", BENCH_AGENT, FALSE);
  g_setenv ("FITCLIPCTL", BENCH_FITCLIPCTL, FALSE);
  g_setenv ("FITCLIP_DEVCLOUD", BENCH_DEVCLOUD, FALSE);
  g_setenv ("FITCLIP_SYNC_PRODUCER", BENCH_PRODUCER, FALSE);
  /* No developer's session keyring: the bench brings its own. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent", TRUE);
  runs = MAX (runs, 1);
  seconds = g_new (double, runs);
  rss = g_new (double, runs);
  hwm = g_new (double, runs);
  for (guint r = 0; r < runs; r++)
    one_run (r, &seconds[r], &rss[r], &hwm[r]);
  qsort (seconds, runs, sizeof (double), cmp_double);
  qsort (rss, runs, sizeof (double), cmp_double);
  qsort (hwm, runs, sizeof (double), cmp_double);
  printf ("sync_drain_shots %d\nsync_drain_runs %u\n", SHOTS, runs);
  printf ("sync_drain_median_s %.2f\n", seconds[runs / 2]);
  printf ("sync_drain_shots_per_s %.0f\n", SHOTS / seconds[runs / 2]);
  printf ("agent_rss_max_median_mb %.1f\n", rss[runs / 2]);
  printf ("agent_rss_high_water_max_mb %.1f\n", hwm[runs - 1]);
  return 0;
}
