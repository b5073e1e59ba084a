/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "bench-stats"

/*
 * Statistics over a long fitting: 100,000 shots in 3 configurations with
 * every field filled and about 5 % of the values missing. The target is
 * fc_stats_compute in at most 50 ms, since it runs after every shot.
 *
 * A naive reference (same statistics, median by sorting each column)
 * runs interleaved with it in the same process, so the printed ratio is
 * not skewed by a machine that is busier during one half of the run.
 */

#include "fc-stats.h"

#include <math.h>
#include <stdlib.h>

#define N_SHOTS   100000
#define N_CONFIGS 3
#define N_RUNS    21
#define HOLE_RATE 0.05

typedef struct {
  double mean;
  double sd;
} FieldModel;

/* A driver fitting, in SI units (m/s, degrees, rpm, m, s, deg C, Pa). */
static const FieldModel driver[FC_SHOT_N_FIELDS] = {
  [FC_FIELD_BALL_SPEED]          = { 68.0, 2.0 },
  [FC_FIELD_LAUNCH_ANGLE]        = { 12.5, 1.5 },
  [FC_FIELD_LAUNCH_DIRECTION]    = { 0.0, 2.0 },
  [FC_FIELD_SPIN_RATE]           = { 2600.0, 300.0 },
  [FC_FIELD_SPIN_AXIS]           = { 0.0, 5.0 },
  [FC_FIELD_BACK_SPIN]           = { 2550.0, 300.0 },
  [FC_FIELD_SIDE_SPIN]           = { 0.0, 250.0 },
  [FC_FIELD_SMASH_FACTOR]        = { 1.47, 0.02 },
  [FC_FIELD_CLUB_SPEED]          = { 46.0, 1.2 },
  [FC_FIELD_CLUB_SPEED_AT_IMPACT]= { 45.5, 1.2 },
  [FC_FIELD_ATTACK_ANGLE]        = { 2.0, 1.5 },
  [FC_FIELD_CLUB_PATH]           = { 0.0, 2.5 },
  [FC_FIELD_FACE_ANGLE]          = { 0.0, 2.0 },
  [FC_FIELD_FACE_TO_PATH]        = { 0.0, 2.0 },
  [FC_FIELD_DYNAMIC_LOFT]        = { 14.0, 1.5 },
  [FC_FIELD_SPIN_LOFT]           = { 12.0, 1.5 },
  [FC_FIELD_SWING_PLANE]         = { 48.0, 2.0 },
  [FC_FIELD_SWING_DIRECTION]     = { 0.0, 3.0 },
  [FC_FIELD_SWING_RADIUS]        = { 1.4, 0.05 },
  [FC_FIELD_D_PLANE_TILT]        = { 0.0, 5.0 },
  [FC_FIELD_DYNAMIC_LIE]         = { 55.0, 2.0 },
  [FC_FIELD_CLUB_LIE]            = { 0.0, 2.0 },
  [FC_FIELD_IMPACT_OFFSET]       = { 0.0, 0.012 },
  [FC_FIELD_IMPACT_HEIGHT]       = { 0.002, 0.008 },
  [FC_FIELD_LOW_POINT_DISTANCE]  = { 0.05, 0.1 },
  [FC_FIELD_LOW_POINT_HEIGHT]    = { -0.02, 0.01 },
  [FC_FIELD_LOW_POINT_SIDE]      = { 0.0, 0.03 },
  [FC_FIELD_CLOSURE_RATE]        = { 2000.0, 400.0 },
  [FC_FIELD_CARRY]               = { 230.0, 8.0 },
  [FC_FIELD_TOTAL]               = { 250.0, 10.0 },
  [FC_FIELD_CARRY_SIDE]          = { 0.0, 12.0 },
  [FC_FIELD_TOTAL_SIDE]          = { 0.0, 15.0 },
  [FC_FIELD_CARRY_SIDE_ANGLE]    = { 0.0, 3.0 },
  [FC_FIELD_TOTAL_SIDE_ANGLE]    = { 0.0, 3.5 },
  [FC_FIELD_MAX_HEIGHT]          = { 32.0, 3.0 },
  [FC_FIELD_MAX_HEIGHT_DISTANCE] = { 140.0, 6.0 },
  [FC_FIELD_LANDING_ANGLE]       = { 38.0, 3.0 },
  [FC_FIELD_LANDING_BALL_SPEED]  = { 24.0, 2.0 },
  [FC_FIELD_HANG_TIME]           = { 6.8, 0.4 },
  [FC_FIELD_CURVE]               = { 0.0, 10.0 },
  [FC_FIELD_AIR_TEMPERATURE]     = { 21.0, 0.5 },
  [FC_FIELD_AIR_PRESSURE]        = { 101325.0, 50.0 },
  [FC_FIELD_AIR_DENSITY]         = { 1.2, 0.005 },
  [FC_FIELD_RELATIVE_HUMIDITY]   = { 50.0, 2.0 },
};

static double
normal (GRand *rand)
{
  /* Box-Muller; 1 - u keeps the logarithm finite. */
  double u = 1.0 - g_rand_double (rand);
  double v = g_rand_double (rand);

  return sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v);
}

static FcStatsInput *
build_input (void)
{
  g_autoptr(FcStatsInput) input = fc_stats_input_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240611);
  static const char *configs[N_CONFIGS] = { "stock-9.0", "head-10.5", "shaft-x-stiff" };

  for (guint i = 0; i < N_SHOTS; i++)
    {
      /* Shots alternate between clubs in blocks, as in a real session. */
      guint c = (i / 25) % N_CONFIGS;
      FcStatsGroup *group = fc_stats_input_get_group (input, configs[c], c == 0);
      double values[FC_SHOT_N_FIELDS];

      for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
        {
          const FcShotFieldInfo *info = fc_shot_field_get_info (f);
          double mean = driver[f].mean + c * 0.25 * driver[f].sd;
          /* Devices report to a fixed resolution, which makes repeated
           * values common: the selection must cope with ties. */
          double resolution = driver[f].sd / 20.0;
          double v = mean + driver[f].sd * normal (rand);

          v = round (v / resolution) * resolution;
          values[f] = CLAMP (v, info->min, info->max);
        }
      /* Landing spots of a fade/draw pattern are correlated with carry,
       * which gives the dispersion ellipse a tilt. */
      values[FC_FIELD_CARRY_SIDE] += 0.4 * (values[FC_FIELD_CARRY] - driver[FC_FIELD_CARRY].mean);

      for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
        if (g_rand_double (rand) < HOLE_RATE)
          values[f] = NAN;
      fc_stats_group_append (group, values);
    }

  return g_steal_pointer (&input);
}

static int
compare_doubles (const void *pa,
                 const void *pb)
{
  double a = *(const double *) pa;
  double b = *(const double *) pb;

  return (a > b) - (a < b);
}

/* The straightforward version: the same statistics, with every column
 * sorted for its median. Returns the medians so the run can check that
 * both agree. */
static void
naive_compute (const FcStatsInput *input,
               double              medians[N_CONFIGS][FC_SHOT_N_FIELDS],
               double             *checksum)
{
  for (guint g = 0; g < input->groups->len; g++)
    {
      const FcStatsGroup *group = g_ptr_array_index (input->groups, g);
      g_autofree double *sorted = g_new (double, group->n_shots);
      double sc = 0, ss = 0, scc = 0, sss = 0, scs = 0;
      guint nd = 0;

      for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
        {
          guint n = 0;
          double sum = 0, sq = 0, mean;

          for (guint i = 0; i < group->n_shots; i++)
            if (!isnan (group->values[f][i]))
              sorted[n++] = group->values[f][i];
          for (guint i = 0; i < n; i++)
            sum += sorted[i];
          mean = sum / n;
          for (guint i = 0; i < n; i++)
            sq += (sorted[i] - mean) * (sorted[i] - mean);
          qsort (sorted, n, sizeof (double), compare_doubles);
          medians[g][f] = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
          *checksum += mean + sqrt (sq / (n - 1)) + sorted[0] + sorted[n - 1];
        }

      for (guint i = 0; i < group->n_shots; i++)
        {
          double c = group->values[FC_FIELD_CARRY][i];
          double s = group->values[FC_FIELD_CARRY_SIDE][i];

          if (isnan (c) || isnan (s))
            continue;
          sc += c;
          ss += s;
          scc += c * c;
          sss += s * s;
          scs += c * s;
          nd++;
        }
      *checksum += (scc - sc * sc / nd) + (sss - ss * ss / nd) + (scs - sc * ss / nd);
    }
}

static double
percentile (double *ms,
            guint   n,
            double  p)
{
  /* Nearest rank: the smallest sample with at least p of the runs at or
   * below it. */
  guint rank = (guint) ceil (p * n);

  qsort (ms, n, sizeof (double), compare_doubles);
  return ms[MAX (rank, 1) - 1];
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(FcStatsInput) input = NULL;
  double fast_ms[N_RUNS], naive_ms[N_RUNS];
  double medians[N_CONFIGS][FC_SHOT_N_FIELDS];
  double checksum = 0;
  guint mismatches = 0;
  gint64 t0;
  double fast_median, naive_median;

  t0 = g_get_monotonic_time ();
  input = build_input ();
  g_print ("stats_build_input_100k_ms %.1f\n", (g_get_monotonic_time () - t0) / 1000.0);

  for (guint run = 0; run < N_RUNS; run++)
    {
      g_autoptr(FcFittingStats) stats = NULL;

      t0 = g_get_monotonic_time ();
      stats = fc_stats_compute (input);
      fast_ms[run] = (g_get_monotonic_time () - t0) / 1000.0;

      t0 = g_get_monotonic_time ();
      naive_compute (input, medians, &checksum);
      naive_ms[run] = (g_get_monotonic_time () - t0) / 1000.0;

      /* Both sides must see the same medians, or the timing compares
       * different work. */
      for (guint g = 0; g < N_CONFIGS; g++)
        {
          const FcConfigStats *config = g_ptr_array_index (stats->configs, g);

          for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
            if (config->fields[f].median != medians[g][f])
              mismatches++;
        }
    }

  fast_median = percentile (fast_ms, N_RUNS, 0.5);
  naive_median = percentile (naive_ms, N_RUNS, 0.5);
  g_print ("stats_compute_100k_runs %u\n", N_RUNS);
  g_print ("stats_compute_100k_median_ms %.2f\n", fast_median);
  g_print ("stats_compute_100k_p90_ms %.2f\n", percentile (fast_ms, N_RUNS, 0.9));
  g_print ("stats_naive_qsort_100k_median_ms %.2f\n", naive_median);
  g_print ("stats_naive_qsort_100k_p90_ms %.2f\n", percentile (naive_ms, N_RUNS, 0.9));
  g_print ("stats_naive_over_compute_ratio %.2f\n", naive_median / fast_median);
  g_print ("stats_median_mismatches %u\n", mismatches);
  /* Printed so the compiler cannot drop the reference's arithmetic. */
  g_print ("stats_naive_checksum %.6g\n", checksum);

  return mismatches == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
