/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sync queue benchmark, printed as "name value" lines: the store's side
 * of draining 100,000 queued shots — building every batch
 * (fc_sync_queue_next) and settling it (fc_sync_queue_done, a durable
 * commit each) — with no network, so that what the queue costs is seen
 * apart from the server's ~11 s (docs/cloud-sync.md). Three outboxes:
 *
 *  live      100,000 live shots in one fitting: 100,000 outbox entries
 *  import    one import of 100,000 shots: one entry, 200 batches by progress
 *  fittings  200 fittings of 500 live shots each (the queue hops between them)
 *
 * and fc_sync_queue_get_status() on the full 100,000-entry outbox (the
 * engine calls it every second).
 *
 * Run: _build/bench/bench-sync-queue [DIR [live|import|fittings]]   (DIR: where
 * the databases go; default a new folder under /tmp — use the disk the
 * shop PC would use). For profiling the drain alone: `... DIR fill` leaves
 * DIR/live.db filled; copy it to DIR/drain.db and run `... DIR drain`.
 */
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fc-import.h"
#include "fc-store.h"
#include "fc-sync-queue.h"

#define N_SHOTS 100000

/* CPU time of this thread in µs (the store's checkpoint thread apart):
 * steadier than wall time on a shared machine. 0 where not available. */
static gint64
thread_cpu_us (void)
{
#ifdef CLOCK_THREAD_CPUTIME_ID
  struct timespec ts;

  if (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
    return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
#endif
  return 0;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static FcShot *
bench_shot (guint n, gboolean file)
{
  FcShot *s = fc_shot_new ();
  g_autofree char *raw = g_strdup_printf ("{\"ShotNumber\":%u,\"BallData\":{\"Speed\":%.2f}}", n, 60 + (n % 400) / 10.0);

  s->source_kind = file ? FC_SOURCE_FILE : FC_SOURCE_DEVICE;
  s->source_protocol = g_strdup (file ? "csv/trackman-tps" : "open-connect-v1");
  s->device_id = g_strdup ("bench-monitor");
  s->device_shot_id = g_strdup_printf ("%u", n);
  s->club = g_strdup ("DR");
  s->raw = g_bytes_new (raw, strlen (raw));
  /* A typical launch monitor shot: a dozen measured values. */
  fc_shot_set (s, FC_FIELD_BALL_SPEED, 60 + (n % 400) / 10.0);
  fc_shot_set (s, FC_FIELD_LAUNCH_ANGLE, 8 + (n % 80) / 10.0);
  fc_shot_set (s, FC_FIELD_LAUNCH_DIRECTION, -3 + (n % 60) / 10.0);
  fc_shot_set (s, FC_FIELD_SPIN_RATE, 2000 + (n % 1500));
  fc_shot_set (s, FC_FIELD_SPIN_AXIS, -5 + (n % 100) / 10.0);
  fc_shot_set (s, FC_FIELD_CLUB_SPEED, 40 + (n % 120) / 10.0);
  fc_shot_set (s, FC_FIELD_SMASH_FACTOR, 1.40 + (n % 8) / 100.0);
  fc_shot_set (s, FC_FIELD_ATTACK_ANGLE, -2 + (n % 50) / 10.0);
  fc_shot_set (s, FC_FIELD_CLUB_PATH, -4 + (n % 80) / 10.0);
  fc_shot_set (s, FC_FIELD_FACE_ANGLE, -3 + (n % 60) / 10.0);
  fc_shot_set (s, FC_FIELD_CARRY, 180 + (n % 800) / 10.0);
  fc_shot_set (s, FC_FIELD_TOTAL, 200 + (n % 800) / 10.0);
  fc_shot_set (s, FC_FIELD_CARRY_SIDE, -20 + (n % 400) / 10.0);
  return s;
}

static char *
new_fitting (FcStore *store, char **config_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcFitting) f = fc_fitting_new (FC_FITTING_DRIVER, "Bay 1");
  g_autoptr(FcClubConfig) c = fc_club_config_new (FC_CONFIG_BASELINE, "Own driver");

  if (!fc_store_add_fitting (store, f, &error))
    g_error ("%s", error->message);
  c->fitting_id = g_strdup (f->id);
  if (!fc_store_add_config (store, c, &error))
    g_error ("%s", error->message);
  *config_id = g_strdup (c->id);
  return g_strdup (f->id);
}

static void
add_live (FcStore *store, const char *config_id, guint n, guint *counter)
{
  for (guint done = 0; done < n;)
    {
      guint group = MIN (n - done, 500);
      g_autoptr(GPtrArray) shots = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_shot_free);
      g_autofree FcAddResult *results = g_new (FcAddResult, group);
      g_autoptr(GError) error = NULL;

      for (guint i = 0; i < group; i++)
        {
          FcShot *s = bench_shot ((*counter)++, FALSE);

          s->config_id = g_strdup (config_id);
          g_ptr_array_add (shots, s);
        }
      if (!fc_store_add_shots (store, (FcShot **) shots->pdata, group, NULL, results, &error))
        g_error ("%s", error->message);
      done += group;
    }
}

static FcStore *
open_store (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  FcStore *store = fc_store_open (path, &error);

  if (store == NULL)
    g_error ("%s", error->message);
  /* The bench's shots repeat their values; they are all new shots. */
  fc_store_set_dedupe_window (store, 0);
  return store;
}

static void
bench_status (FcStore *store, const char *label)
{
  double t[101];
  FcSyncQueueStatus status = { 0 };
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (t); i++)
    {
      gint64 t0 = g_get_monotonic_time ();

      if (!fc_sync_queue_get_status (store, &status, &error))
        g_error ("%s", error->message);
      t[i] = (g_get_monotonic_time () - t0) / 1000.0;
      if (i + 1 < G_N_ELEMENTS (t))
        fc_sync_queue_status_clear (&status);
    }
  qsort (t, G_N_ELEMENTS (t), sizeof *t, cmp_double);
  printf ("%s_status_entries_shots %u\n", label, status.pending[FC_SYNC_ADD_SHOTS]);
  printf ("%s_status_median_ms %.3f\n", label, t[G_N_ELEMENTS (t) / 2]);
  printf ("%s_status_max_ms %.3f\n", label, t[G_N_ELEMENTS (t) - 1]);
  fc_sync_queue_status_clear (&status);
}

/* Builds and settles every request until the outbox is empty. */
static void
drain (FcStore *store, const char *label)
{
  gint64 build = 0, settle = 0, bytes = 0, worst = 0, build_cpu = 0, settle_cpu = 0;
  guint requests = 0, shots = 0;
  gint64 start = g_get_monotonic_time ();

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gint64 c0 = thread_cpu_us (), c1, c2;
      gint64 t0 = g_get_monotonic_time (), t1, t2;
      g_autoptr(FcSyncRequest) r = fc_sync_queue_next (store, G_MAXINT64 / 2, NULL, &error);

      t1 = g_get_monotonic_time ();
      c1 = thread_cpu_us ();
      if (error)
        g_error ("%s", error->message);
      if (r == NULL)
        break;
      if (!fc_sync_queue_done (store, r, &error))
        g_error ("%s", error->message);
      t2 = g_get_monotonic_time ();
      c2 = thread_cpu_us ();
      build += t1 - t0;
      settle += t2 - t1;
      build_cpu += c1 - c0;
      settle_cpu += c2 - c1;
      worst = MAX (worst, t2 - t0);
      bytes += g_bytes_get_size (r->body);
      requests++;
      shots += r->n_shots;
    }
  printf ("%s_requests %u\n", label, requests);
  printf ("%s_shots_sent %u\n", label, shots);
  printf ("%s_build_total_ms %.1f\n", label, build / 1000.0);
  printf ("%s_settle_total_ms %.1f\n", label, settle / 1000.0);
  printf ("%s_build_cpu_ms %.1f\n", label, build_cpu / 1000.0);
  printf ("%s_settle_cpu_ms %.1f\n", label, settle_cpu / 1000.0);
  printf ("%s_total_ms %.1f\n", label, (g_get_monotonic_time () - start) / 1000.0);
  printf ("%s_worst_request_ms %.2f\n", label, worst / 1000.0);
  printf ("%s_body_mb %.1f\n", label, bytes / 1e6);
}

int
main (int argc, char **argv)
{
  g_autofree char *dir = NULL;
  const char *only = argc > 2 ? argv[2] : NULL;
  guint counter = 0;

  /* "--help" is not a directory to fill with databases. */
  if (argc > 3 || (argc > 1 && argv[1][0] == '-'))
    {
      fprintf (stderr, "Usage: %s [DIR [live|import|fittings]]\n", argv[0]);
      return 2;
    }
  dir = argc > 1 ? g_strdup (argv[1]) : g_dir_make_tmp ("fitclip-bench-queue-XXXXXX", NULL);

  printf ("bench_dir %s\n", dir);

  if (only == NULL || strcmp (only, "live") == 0 || strcmp (only, "fill") == 0)
  {
    g_autoptr(FcStore) store = open_store (dir, "live.db");
    g_autofree char *config = NULL;
    g_autofree char *fitting = new_fitting (store, &config);

    add_live (store, config, N_SHOTS, &counter);
    bench_status (store, "live");
    if (g_strcmp0 (only, "fill") != 0)
      drain (store, "live");
  }

  if (only == NULL || strcmp (only, "import") == 0)
  {
    g_autoptr(FcStore) store = open_store (dir, "import.db");
    g_autoptr(FcImportBatch) batch = fc_import_batch_new ();
    g_autoptr(GError) error = NULL;
    g_autofree char *config = NULL;
    g_autofree char *fitting = new_fitting (store, &config);
    FcImportSummary summary = { 0 };

    batch->format = g_strdup ("trackman-tps");
    batch->file_name = g_strdup ("bench.csv");
    for (guint i = 0; i < N_SHOTS; i++)
      g_ptr_array_add (batch->shots, bench_shot (counter++, TRUE));
    if (!fc_store_import (store, batch, fitting, config, NULL, &summary, &error))
      g_error ("%s", error->message);
    fc_import_summary_clear (&summary);
    drain (store, "import");
  }

  if (g_strcmp0 (only, "drain") == 0)
    {
      g_autoptr(FcStore) store = open_store (dir, "drain.db");

      bench_status (store, "drain");
      drain (store, "drain");
    }

  if (only == NULL || strcmp (only, "fittings") == 0)
  {
    g_autoptr(FcStore) store = open_store (dir, "fittings.db");

    for (guint f = 0; f < 200; f++)
      {
        g_autofree char *config = NULL;
        g_autofree char *fitting = new_fitting (store, &config);

        add_live (store, config, N_SHOTS / 200, &counter);
      }
    bench_status (store, "fittings");
    drain (store, "fittings");
  }
  return 0;
}
