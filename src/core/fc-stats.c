/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-stats"

#include "fc-stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Columns start small: most fittings have a few dozen shots per club,
 * and doubling keeps a 100,000-shot import at O(n) copies overall. */
#define INITIAL_CAPACITY 32

/* sqrt (chi2 quantile, 2 degrees of freedom, p = 0.95): the chi-square
 * distribution with 2 degrees of freedom is exponential with mean 2, so
 * the quantile is -2 ln (1 - p) exactly. */
#define CI95_SCALE_SQUARED (-2.0 * log (0.05))

static void
fc_stats_group_free (FcStatsGroup *group)
{
  if (group == NULL)
    return;
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    g_free (group->values[f]);
  g_free (group->config_id);
  g_free (group);
}

FcStatsInput *
fc_stats_input_new (void)
{
  FcStatsInput *input = g_new0 (FcStatsInput, 1);

  input->groups = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_stats_group_free);
  return input;
}

void
fc_stats_input_free (FcStatsInput *input)
{
  if (input == NULL)
    return;
  g_ptr_array_unref (input->groups);
  g_free (input);
}

/* A fitting compares a handful of configurations, so a linear scan is
 * cheaper than keeping a hash table in step with the array. The baseline
 * flag is taken when the group is created; a later TRUE also marks it, so
 * the order in which the caller first meets a configuration's shots does
 * not decide which one is the baseline. */
FcStatsGroup *
fc_stats_input_get_group (FcStatsInput *input,
                          const char   *config_id,
                          gboolean      is_baseline)
{
  FcStatsGroup *group;

  g_return_val_if_fail (input != NULL, NULL);
  g_return_val_if_fail (config_id != NULL, NULL);

  for (guint i = 0; i < input->groups->len; i++)
    {
      group = g_ptr_array_index (input->groups, i);
      if (g_str_equal (group->config_id, config_id))
        {
          if (is_baseline)
            group->is_baseline = TRUE;
          return group;
        }
    }

  group = g_new0 (FcStatsGroup, 1);
  group->config_id = g_strdup (config_id);
  group->is_baseline = is_baseline != FALSE;
  g_ptr_array_add (input->groups, group);
  return group;
}

void
fc_stats_group_reserve (FcStatsGroup *group,
                        guint         n_shots)
{
  guint capacity;

  g_return_if_fail (group != NULL);
  g_return_if_fail (n_shots <= G_MAXUINT - group->n_shots);

  capacity = group->n_shots + n_shots;
  if (capacity <= group->capacity)
    return;
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    group->values[f] = g_renew (double, group->values[f], capacity);
  group->capacity = capacity;
}

void
fc_stats_group_append (FcStatsGroup *group,
                       const double *values)
{
  g_return_if_fail (group != NULL);
  g_return_if_fail (values != NULL);

  if (group->n_shots == group->capacity)
    {
      guint capacity;

      g_return_if_fail (group->capacity <= G_MAXUINT / 2);
      capacity = MAX (INITIAL_CAPACITY, group->capacity * 2);
      for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
        group->values[f] = g_renew (double, group->values[f], capacity);
      group->capacity = capacity;
    }

  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    group->values[f][group->n_shots] = values[f];
  group->n_shots++;
}

void
fc_stats_group_append_columns (FcStatsGroup        *group,
                               guint                n,
                               const double * const *columns)
{
  g_return_if_fail (group != NULL);
  g_return_if_fail (columns != NULL);

  if (group->n_shots + n > group->capacity)
    fc_stats_group_reserve (group, MAX (n, group->capacity));
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    {
      double *out = group->values[f] + group->n_shots;

      if (columns[f])
        memcpy (out, columns[f], n * sizeof (double));
      else
        for (guint i = 0; i < n; i++)
          out[i] = NAN;
    }
  group->n_shots += n;
}

static int
compare_doubles (const void *pa,
                 const void *pb)
{
  double a = *(const double *) pa;
  double b = *(const double *) pb;

  return (a > b) - (a < b);
}

static inline double
median_of_3 (double a,
             double b,
             double c)
{
  return MAX (MIN (a, b), MIN (MAX (a, b), c));
}

/* Median of three for short ranges, Tukey's ninther for long ones: exact
 * on sorted and reverse-sorted columns (shots often drift in time) and
 * close to the true median on noisy ones, which is what keeps the number
 * of passes low. */
static double
choose_pivot (const double *a,
              gsize         m)
{
  gsize s;

  if (m < 1024)
    return median_of_3 (a[0], a[m / 2], a[m - 1]);
  s = m / 8;
  return median_of_3 (median_of_3 (a[0], a[s], a[2 * s]),
                      median_of_3 (a[3 * s], a[4 * s], a[5 * s]),
                      median_of_3 (a[6 * s], a[7 * s], a[m - 1]));
}

static double
max_of (const double *a,
        gsize         m)
{
  double x = a[0];

  for (gsize i = 1; i < m; i++)
    x = MAX (x, a[i]);
  return x;
}

static double
min_of (const double *a,
        gsize         m)
{
  double x = a[0];

  for (gsize i = 1; i < m; i++)
    x = MIN (x, a[i]);
  return x;
}

static double
middle_of_sorted (const double *a,
                  gsize         r_lo,
                  gsize         r_hi)
{
  if (r_lo == r_hi)
    return a[r_lo];
  /* Halved separately so two large values cannot overflow. */
  return a[r_lo] / 2.0 + a[r_hi] / 2.0;
}

/*
 * The median of a[0..n) (n > 0), using tmp[0..n) as well; both are
 * overwritten. Quickselect, tracking the two middle ranks together (the
 * same rank for odd n).
 *
 * Each pass partitions three ways out of place, from one buffer into the
 * other: values below the pivot grow from the front, values above it from
 * the back, and values equal to it are simply counted, since they are all
 * the pivot. Every value is stored at both ends and only the right end
 * advances, so there is no branch on the comparison: a branchy in-place
 * (Hoare) partition of noisy launch data mispredicts about half of them,
 * which made bench-stats 2.5 times slower overall. Counting the equal values also makes runs
 * of identical readings (a rounded smash factor, a constant air pressure)
 * the cheapest case instead of the quadratic one.
 *
 * Crafted inputs could still defeat the pivot choice, so after a depth
 * budget the remaining range is sorted, bounding the worst case at
 * O(n log n) as introselect does.
 */
static double
median_select (double *a,
               double *tmp,
               gsize   n)
{
  double *src = a, *dst = tmp;
  gsize m = n;
  gsize r_lo = (n - 1) / 2, r_hi = n / 2;
  guint budget = 2 * g_bit_storage (n) + 8;

  g_assert (n > 0);

  for (;;)
    {
      gsize l = 0, h = m - 1;
      double p, v_lo, v_hi, *swap;

      if (m <= 16 || budget-- == 0)
        {
          qsort (src, m, sizeof (double), compare_doubles);
          return middle_of_sorted (src, r_lo, r_hi);
        }

      p = choose_pivot (src, m);
      /* The pivot is one of the values, so at least one compares equal:
       * h never passes below l - 1 and the stray copies only land on
       * slots that are not final yet. */
      for (gsize i = 0; i < m; i++)
        {
          double v = src[i];

          dst[l] = v;
          dst[h] = v;
          l += v < p;
          h -= v > p;
        }
      /* dst[0..l) < p, h + 1 - l values == p, dst[h+1..m) > p */

      if (r_hi < l)
        m = l;
      else if (r_lo > h)
        {
          dst += h + 1;
          src += h + 1;
          m -= h + 1;
          r_lo -= h + 1;
          r_hi -= h + 1;
        }
      else
        {
          /* Found: each middle rank is the pivot or, right next to the
           * equal run, the largest value below it or the smallest above
           * it. */
          v_lo = r_lo < l ? max_of (dst, l) : p;
          v_hi = r_hi > h ? min_of (dst + h + 1, m - h - 1) : p;
          if (r_lo == r_hi)
            return v_lo;
          return v_lo / 2.0 + v_hi / 2.0;
        }

      swap = src;
      src = dst;
      dst = swap;
    }
}

/*
 * Two passes over a contiguous copy rather than Welford: the first gives
 * the mean, the second sums squared deviations from it, which is as
 * stable as Welford without a division per value. The residual sum of
 * deviations corrects the mean's rounding error (Chan, Golub & LeVeque's
 * corrected two-pass algorithm). Four independent accumulators hide the
 * latency of the additions; the summation order is still fixed, so the
 * results are reproducible.
 */
static void
compute_field (const double *column,
               guint         n_shots,
               double       *scratch,
               double       *tmp,
               FcFieldStats *out)
{
  guint n = 0;
  double s[4] = { 0 }, d[4] = { 0 }, q[4] = { 0 };
  double lo[4], hi[4];
  double mean, dev, dev2;
  guint i;

  /* Branch-free: the holes are scattered, and a mispredicted branch per
   * hole costs more than the store. */
  for (i = 0; i < n_shots; i++)
    {
      double v = column[i];

      scratch[n] = v;
      n += !isnan (v);
    }

  out->count = n;
  if (n == 0)
    {
      out->mean = out->sd = out->median = out->min = out->max = NAN;
      return;
    }

  for (guint l = 0; l < 4; l++)
    lo[l] = hi[l] = scratch[0];
  for (i = 0; i + 4 <= n; i += 4)
    for (guint l = 0; l < 4; l++)
      {
        double v = scratch[i + l];

        s[l] += v;
        lo[l] = MIN (lo[l], v);
        hi[l] = MAX (hi[l], v);
      }
  for (; i < n; i++)
    {
      s[0] += scratch[i];
      lo[0] = MIN (lo[0], scratch[i]);
      hi[0] = MAX (hi[0], scratch[i]);
    }
  out->min = MIN (MIN (lo[0], lo[1]), MIN (lo[2], lo[3]));
  out->max = MAX (MAX (hi[0], hi[1]), MAX (hi[2], hi[3]));
  mean = ((s[0] + s[1]) + (s[2] + s[3])) / n;
  /* The rounded mean of values that are all equal can fall outside
   * them; the mean of measurements never does. */
  mean = CLAMP (mean, out->min, out->max);
  out->mean = mean;

  if (n < 2)
    out->sd = NAN;
  else
    {
      for (i = 0; i + 4 <= n; i += 4)
        for (guint l = 0; l < 4; l++)
          {
            double e = scratch[i + l] - mean;
            d[l] += e;
            q[l] += e * e;
          }
      for (; i < n; i++)
        {
          double e = scratch[i] - mean;
          d[0] += e;
          q[0] += e * e;
        }
      dev = (d[0] + d[1]) + (d[2] + d[3]);
      dev2 = (q[0] + q[1]) + (q[2] + q[3]);
      out->sd = sqrt (MAX (0.0, (dev2 - dev * dev / n) / (n - 1)));
    }

  out->median = median_select (scratch, tmp, n);
}

static void
set_ellipse (FcEllipse *e,
             double     major,
             double     minor,
             double     angle_deg)
{
  e->major = major;
  e->minor = minor;
  e->angle_deg = angle_deg;
  e->area = G_PI * major * minor;
}

static void
compute_dispersion (const FcStatsGroup *group,
                    FcDispersion       *out)
{
  const double *carry = group->values[FC_FIELD_CARRY];
  const double *side = group->values[FC_FIELD_CARRY_SIDE];
  guint n = 0;
  double sum_c = 0, sum_s = 0;
  double mc, ms, dc = 0, ds = 0, scc = 0, sss = 0, scs = 0;
  double a, b, c, half_trace, radius, l1, l2, angle, k;

  out->centroid_carry = out->centroid_side = NAN;
  out->var_carry = out->var_side = out->cov = NAN;
  set_ellipse (&out->sigma1, NAN, NAN, NAN);
  set_ellipse (&out->ci95, NAN, NAN, NAN);

  for (guint i = 0; i < group->n_shots; i++)
    if (!isnan (carry[i]) && !isnan (side[i]))
      {
        sum_c += carry[i];
        sum_s += side[i];
        n++;
      }
  out->count = n;
  if (n == 0)
    return;

  mc = sum_c / n;
  ms = sum_s / n;
  out->centroid_carry = mc;
  out->centroid_side = ms;
  if (n < 2)
    return;

  /* Corrected two-pass, as for the single fields. */
  for (guint i = 0; i < group->n_shots; i++)
    if (!isnan (carry[i]) && !isnan (side[i]))
      {
        double ec = carry[i] - mc;
        double es = side[i] - ms;

        dc += ec;
        ds += es;
        scc += ec * ec;
        sss += es * es;
        scs += ec * es;
      }
  a = MAX (0.0, (scc - dc * dc / n) / (n - 1));
  c = MAX (0.0, (sss - ds * ds / n) / (n - 1));
  b = (scs - dc * ds / n) / (n - 1);
  out->var_carry = a;
  out->var_side = c;
  out->cov = b;

  /* Two points always lie on a line: a zero-width "ellipse" would be
   * shown as a measured dispersion, so three are required. */
  if (n < 3)
    return;

  /* Eigenvalues of [[a b] [b c]]: (a + c)/2 +- hypot ((a - c)/2, b).
   * hypot avoids overflow and is exact when b == 0. Rounding can make
   * the small one a hair negative for collinear points. */
  half_trace = (a + c) / 2.0;
  radius = hypot ((a - c) / 2.0, b);
  l1 = half_trace + radius;
  l2 = MAX (0.0, half_trace - radius);

  /* The major eigenvector is at 0.5 atan2 (2b, a - c) from the carry
   * axis. atan2 returns (-pi, pi], so the angle is in (-90, 90], except
   * atan2 (-0.0, negative) = -pi, folded back onto +90. A circle has no
   * major axis; atan2 (0, 0) = 0 reports it along the target line. */
  angle = 0.5 * atan2 (2.0 * b, a - c) * (180.0 / G_PI);
  if (angle <= -90.0)
    angle += 180.0;

  set_ellipse (&out->sigma1, sqrt (l1), sqrt (l2), angle);
  k = sqrt (CI95_SCALE_SQUARED);
  set_ellipse (&out->ci95, k * sqrt (l1), k * sqrt (l2), angle);
}

static void
fc_config_stats_free (FcConfigStats *config)
{
  if (config == NULL)
    return;
  g_free (config->config_id);
  g_free (config);
}

void
fc_fitting_stats_free (FcFittingStats *stats)
{
  if (stats == NULL)
    return;
  g_ptr_array_unref (stats->configs);
  g_free (stats);
}

/* The fields of a fitting are independent: with more than one core they
 * are shared between the calling thread and one worker, each with its
 * own scratch buffers (a 100,000-shot fitting: about half the time). */
typedef struct {
  const FcStatsInput *input;
  FcFittingStats     *stats;
  guint               max_shots;
  guint               first;     /* of the (group, field) pairs */
  guint               end;
} FieldRange;

static gpointer
compute_fields (gpointer data)
{
  FieldRange *range = data;
  g_autofree double *scratch = g_new (double, MAX (range->max_shots, 1));
  g_autofree double *tmp = g_new (double, MAX (range->max_shots, 1));

  /* Selection needs a copy it may reorder (the columns stay untouched)
   * and a second buffer to partition into. */
  for (guint k = range->first; k < range->end; k++)
    {
      guint g = k / FC_SHOT_N_FIELDS, f = k % FC_SHOT_N_FIELDS;
      const FcStatsGroup *group = g_ptr_array_index (range->input->groups, g);
      FcConfigStats *config = g_ptr_array_index (range->stats->configs, g);

      compute_field (group->values[f], group->n_shots, scratch, tmp, &config->fields[f]);
    }
  return NULL;
}

/* Below this many values the second thread costs more than it saves. */
#define PARALLEL_MIN_VALUES 200000

FcFittingStats *
fc_stats_compute (const FcStatsInput *input)
{
  g_autoptr(FcFittingStats) stats = NULL;
  const FcConfigStats *baseline = NULL;
  guint max_shots = 0, n_pairs;
  guint64 n_values = 0;
  FieldRange mine, theirs;
  GThread *worker = NULL;

  g_return_val_if_fail (input != NULL, NULL);

  stats = g_new0 (FcFittingStats, 1);
  stats->configs = g_ptr_array_new_full (input->groups->len,
                                         (GDestroyNotify) fc_config_stats_free);

  for (guint g = 0; g < input->groups->len; g++)
    {
      const FcStatsGroup *group = g_ptr_array_index (input->groups, g);
      FcConfigStats *config = g_new0 (FcConfigStats, 1);

      max_shots = MAX (max_shots, group->n_shots);
      n_values += (guint64) group->n_shots * FC_SHOT_N_FIELDS;
      config->config_id = g_strdup (group->config_id);
      config->is_baseline = group->is_baseline;
      config->n_shots = group->n_shots;
      g_ptr_array_add (stats->configs, config);
    }

  n_pairs = input->groups->len * FC_SHOT_N_FIELDS;
  mine = (FieldRange) { input, stats, max_shots, 0, n_pairs };
  if (n_values >= PARALLEL_MIN_VALUES && g_get_num_processors () > 1)
    {
      /* Pairs are of similar cost when groups are of similar size; an
       * even split of the pairs is good enough. */
      theirs = (FieldRange) { input, stats, max_shots, n_pairs / 2, n_pairs };
      mine.end = n_pairs / 2;
      worker = g_thread_try_new ("fc-stats", compute_fields, &theirs, NULL);
      if (worker == NULL)
        mine.end = n_pairs;
    }
  compute_fields (&mine);
  if (worker)
    g_thread_join (worker);

  for (guint g = 0; g < stats->configs->len; g++)
    {
      FcConfigStats *config = g_ptr_array_index (stats->configs, g);

      compute_dispersion (g_ptr_array_index (input->groups, g), &config->dispersion);
      if (baseline == NULL && config->is_baseline)
        baseline = config;
    }

  for (guint g = 0; g < stats->configs->len; g++)
    {
      FcConfigStats *config = g_ptr_array_index (stats->configs, g);

      for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
        {
          /* NAN propagates through the subtraction, which covers a field
           * missing on either side. */
          if (baseline == NULL || config == baseline)
            config->delta_mean[f] = config->delta_median[f] = NAN;
          else
            {
              config->delta_mean[f] = config->fields[f].mean - baseline->fields[f].mean;
              config->delta_median[f] = config->fields[f].median - baseline->fields[f].median;
            }
        }
    }

  return g_steal_pointer (&stats);
}
