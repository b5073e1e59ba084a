/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Store benchmarks (issue "agent core"), printed as "name value" lines:
 *
 *  (a) single-shot insert latency, synchronous=FULL (what we ship) and
 *      NORMAL side by side, so the price of power-cut safety is visible;
 *  (b) import throughput of a 10,000-row TrackMan TPS export (the real
 *      500-row driver export repeated), parse and store separately;
 *  (c) statistics over a 100,000-shot fitting: loading the columns from
 *      SQLite plus computing them, as `fitclipctl stats` does.
 *
 * Run: _build/bench/bench-store [DIR [insert|import|stats]]   (DIR: where the databases go;
 * default a new folder under /tmp — use the disk the shop PC would use)
 * FITCLIP_FIXTURES points at the shared exports (default ../shared/...).
 */
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc-import.h"
#include "fc-stats.h"
#include "fc-store.h"
#include "fc-store-private.h"

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
percentile (double *v, guint n, double p)
{
  qsort (v, n, sizeof *v, cmp_double);
  return v[MIN (n - 1, (guint) floor (p * (n - 1) + 0.5))];
}

static FcStore *
open_store (const char *dir, const char *name, const char *synchronous)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  FcStoreOptions options = { .synchronous = synchronous };
  FcStore *store = fc_store_open_full (path, &options, &error);

  if (store == NULL)
    g_error ("%s", error->message);
  return store;
}

static void
bench_insert (const char *dir, const char *synchronous, guint n)
{
  g_autofree char *name = g_strdup_printf ("insert-%s.db", synchronous);
  g_autoptr(FcStore) store = open_store (dir, name, synchronous);
  g_autofree double *lat = g_new (double, n);
  g_autoptr(GError) error = NULL;
  /* A realistic Open Connect payload: what the hub stores as raw bytes. */
  static const char payload[] =
    "{\"DeviceID\":\"GSPro LM 1.1\",\"Units\":\"Yards\",\"ShotNumber\":13,\"APIversion\":\"1\","
    "\"BallData\":{\"Speed\":147.5,\"SpinAxis\":-13.2,\"TotalSpin\":3250.0,\"BackSpin\":2500.0,"
    "\"SideSpin\":-800.0,\"HLA\":2.3,\"VLA\":14.3,\"CarryDistance\":256.5},\"ClubData\":{\"Speed\":"
    "97.5,\"AngleOfAttack\":0.0,\"FaceToTarget\":0.0,\"Lie\":0.0,\"Loft\":0.0,\"Path\":0.0,"
    "\"SpeedAtImpact\":0.0,\"VerticalFaceImpact\":0.0,\"HorizontalFaceImpact\":0.0,\"ClosureRate\":"
    "0.0},\"ShotDataOptions\":{\"ContainsBallData\":true,\"ContainsClubData\":true}}";

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FcShot) s = fc_shot_new ();
      gint64 t0;

      s->source_kind = FC_SOURCE_DEVICE;
      s->source_protocol = g_strdup ("open-connect-v1");
      s->device_id = g_strdup ("bench");
      s->device_shot_id = g_strdup_printf ("%u", i);
      s->raw = g_bytes_new_static (payload, sizeof payload - 1);
      fc_shot_set (s, FC_FIELD_BALL_SPEED, 60 + (i % 200) * 0.1);
      fc_shot_set (s, FC_FIELD_SPIN_RATE, 2500 + i % 1000);
      fc_shot_set (s, FC_FIELD_LAUNCH_ANGLE, 12 + (i % 50) * 0.1);
      fc_shot_set (s, FC_FIELD_CARRY, 200 + (i % 300) * 0.1);
      fc_shot_set (s, FC_FIELD_CARRY_SIDE, -10 + (i % 200) * 0.1);
      fc_shot_set (s, FC_FIELD_CLUB_SPEED, 44 + (i % 100) * 0.05);

      t0 = g_get_monotonic_time ();
      if (!fc_store_add_shot (store, s, NULL, NULL, &error))
        g_error ("%s", error->message);
      lat[i] = (g_get_monotonic_time () - t0) / 1000.0;
    }
  printf ("insert_%s_n %u\n", synchronous, n);
  printf ("insert_%s_p50_ms %.3f\n", synchronous, percentile (lat, n, 0.50));
  printf ("insert_%s_p90_ms %.3f\n", synchronous, percentile (lat, n, 0.90));
  printf ("insert_%s_p99_ms %.3f\n", synchronous, percentile (lat, n, 0.99));
  printf ("insert_%s_max_ms %.3f\n", synchronous, percentile (lat, n, 1.0));
}

/* The real 500-row export, repeated to @rows rows (the header and units
 * row once). Repeated rows stay distinct shots: a row's identity is its
 * content plus its occurrence in the file. */
static GBytes *
make_export (guint rows)
{
  const char *fixtures = g_getenv ("FITCLIP_FIXTURES");
  g_autofree char *path = g_build_filename (fixtures ? fixtures : "../shared/fixtures/exports",
                                            "trackman-tps-driver.csv", NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  GString *out = g_string_new (NULL);
  guint data_lines, written = 0;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    g_error ("Cannot read %s (set FITCLIP_FIXTURES)", path);
  lines = g_strsplit (contents, "\n", -1);
  g_string_append_printf (out, "%s\n%s\n", lines[0], lines[1]);
  data_lines = g_strv_length (lines) - 2;
  while (written < rows)
    for (guint i = 2; i < data_lines + 2 && written < rows; i++)
      if (lines[i][0] != '\0')
        {
          g_string_append_printf (out, "%s\n", lines[i]);
          written++;
        }
  return g_string_free_to_bytes (out);
}

static void
bench_import (const char *dir, guint rows, guint runs)
{
  g_autoptr(GBytes) file = make_export (rows);
  g_autofree double *parse = g_new (double, runs);
  g_autofree double *store_ms = g_new (double, runs);
  g_autofree double *total = g_new (double, runs);
  g_autofree double *checkpoint = g_new (double, runs);

  for (guint r = 0; r < runs; r++)
    {
      g_autofree char *name = g_strdup_printf ("import-%u.db", r);
      g_autoptr(FcStore) store = open_store (dir, name, NULL);
      g_autoptr(FcImportBatch) batch = NULL;
      g_autoptr(GError) error = NULL;
      FcImportSummary summary = { 0 };
      gint64 t0, t1, t2;

      t0 = g_get_monotonic_time ();
      batch = fc_import_parse_bytes ("bench.csv", file, &error);
      t1 = g_get_monotonic_time ();
      if (batch == NULL || !fc_store_import (store, batch, NULL, NULL, NULL, &summary, &error))
        g_error ("%s", error->message);
      t2 = g_get_monotonic_time ();
      if (summary.inserted != rows)
        g_error ("imported %u of %u rows", summary.inserted, rows);
      /* The store's thread copies the WAL into the database file after
       * the commit; the import does not wait for it, the bench does (so
       * runs do not overlap) and reports it apart. */
      while (fc_store_checkpointer_get_count (store->checkpointer) == 0 &&
             g_get_monotonic_time () - t2 < 30 * G_USEC_PER_SEC)
        g_usleep (200);
      checkpoint[r] = (g_get_monotonic_time () - t2) / 1000.0;
      fc_import_summary_clear (&summary);
      parse[r] = (t1 - t0) / 1000.0;
      store_ms[r] = (t2 - t1) / 1000.0;
      total[r] = (t2 - t0) / 1000.0;
    }
  printf ("import_rows %u\nimport_runs %u\n", rows, runs);
  printf ("import_parse_median_ms %.1f\n", percentile (parse, runs, 0.5));
  printf ("import_store_median_ms %.1f\n", percentile (store_ms, runs, 0.5));
  printf ("import_total_median_ms %.1f\n", percentile (total, runs, 0.5));
  printf ("import_rows_per_s %.0f\n", rows / (percentile (total, runs, 0.5) / 1000.0));
  printf ("import_background_checkpoint_median_ms %.1f\n", percentile (checkpoint, runs, 0.5));
}

static void
bench_stats (const char *dir, guint shots, guint runs)
{
  g_autoptr(FcStore) store = open_store (dir, "stats.db", NULL);
  g_autoptr(GBytes) file = make_export (10000);
  g_autoptr(GError) error = NULL;
  g_autoptr(FcFitting) fitting = fc_fitting_new (FC_FITTING_DRIVER, "Bench");
  g_autoptr(GPtrArray) configs = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_club_config_free);
  g_autofree double *load = g_new (double, runs);
  g_autofree double *compute = g_new (double, runs);
  g_autofree double *total = g_new (double, runs);
  guint stored = 0;

  if (!fc_store_add_fitting (store, fitting, &error))
    g_error ("%s", error->message);
  for (guint c = 0; c < 3; c++)
    {
      FcClubConfig *cfg = fc_club_config_new (c == 0 ? FC_CONFIG_BASELINE : FC_CONFIG_TEST, "config");
      cfg->fitting_id = g_strdup (fitting->id);
      if (!fc_store_add_config (store, cfg, &error))
        g_error ("%s", error->message);
      g_ptr_array_add (configs, cfg);
    }
  /* Each round re-parses the same file; rows are distinct per round by
   * their device shot id. */
  for (guint round = 0; stored < shots; round++)
    {
      g_autoptr(FcImportBatch) batch = fc_import_parse_bytes ("bench.csv", file, &error);
      FcImportSummary summary = { 0 };
      FcClubConfig *cfg = g_ptr_array_index (configs, round % 3);

      for (guint i = 0; i < batch->shots->len; i++)
        {
          FcShot *s = g_ptr_array_index (batch->shots, i);
          char *id = g_strdup_printf ("%s/%u", s->device_shot_id, round);
          g_free (s->device_shot_id);
          s->device_shot_id = id;
        }
      if (!fc_store_import (store, batch, fitting->id, cfg->id, NULL, &summary, &error))
        g_error ("%s", error->message);
      stored += summary.inserted;
      fc_import_summary_clear (&summary);
    }

  for (guint r = 0; r < runs; r++)
    {
      g_autoptr(FcStatsInput) input = NULL;
      g_autoptr(FcFittingStats) stats = NULL;
      gint64 t0, t1, t2;

      t0 = g_get_monotonic_time ();
      input = fc_store_load_stats_input (store, fitting->id, &error);
      t1 = g_get_monotonic_time ();
      stats = fc_stats_compute (input);
      t2 = g_get_monotonic_time ();
      if (input == NULL || stats->configs->len != 3)
        g_error ("stats failed");
      load[r] = (t1 - t0) / 1000.0;
      compute[r] = (t2 - t1) / 1000.0;
      total[r] = (t2 - t0) / 1000.0;
    }
  /* The first load reads every shot and writes the statistics blocks
   * (fc-store-stats.c); the later ones read the blocks. */
  printf ("stats_first_load_ms %.1f\nstats_first_total_ms %.1f\n", load[0], total[0]);
  memmove (load, load + 1, (runs - 1) * sizeof *load);
  memmove (compute, compute + 1, (runs - 1) * sizeof *compute);
  memmove (total, total + 1, (runs - 1) * sizeof *total);
  runs--;
  printf ("stats_shots %u\nstats_runs %u\n", stored, runs);
  printf ("stats_load_median_ms %.1f\n", percentile (load, runs, 0.5));
  printf ("stats_compute_median_ms %.1f\n", percentile (compute, runs, 0.5));
  printf ("stats_total_median_ms %.1f\n", percentile (total, runs, 0.5));
  printf ("stats_total_p90_ms %.1f\n", percentile (total, runs, 0.9));
}

int
main (int argc, char **argv)
{
  g_autofree char *dir = argc > 1 && argv[1][0] ? g_strdup (argv[1])
                                                 : g_dir_make_tmp ("fitclip-bench-XXXXXX", NULL);
  /* An optional second argument runs one part: insert, import or stats. */
  const char *only = argc > 2 ? argv[2] : NULL;

  g_mkdir_with_parents (dir, 0700);
  printf ("bench_dir %s\n", dir);
  /* Interleaved so that both settings see the same machine state. */
  if (only == NULL || g_str_equal (only, "insert"))
    {
      bench_insert (dir, "FULL", 2000);
      bench_insert (dir, "NORMAL", 2000);
    }
  if (only == NULL || g_str_equal (only, "import"))
    bench_import (dir, 10000, 7);
  if (only == NULL || g_str_equal (only, "stats"))
    bench_stats (dir, 100000, 11);
  return 0;
}
