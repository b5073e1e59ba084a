/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "fc-stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* sqrt (chi2 (2 dof, 0.95)) = sqrt (-2 ln 0.05), to 17 digits. */
#define CI95_SCALE 2.4477468306808161

#define assert_close(a, b, tol) assert_close_impl ((a), (b), (tol), #a, __LINE__)

/* Relative tolerance above 1, absolute below: the expected values here
 * range from 0 to 1e9. */
static void
assert_close_impl (double      a,
                   double      b,
                   double      tol,
                   const char *expr,
                   int         line)
{
  if (isnan (b) && isnan (a))
    return;
  if (!(fabs (a - b) <= tol * MAX (1.0, fabs (b))))
    g_error ("line %d: %s = %.17g, expected %.17g", line, expr, a, b);
}

static void
clear_values (double *values)
{
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    values[f] = NAN;
}

/* One shot that measured only @field. */
static void
append_one (FcStatsGroup *group,
            FcShotField   field,
            double        value)
{
  double values[FC_SHOT_N_FIELDS];

  clear_values (values);
  values[field] = value;
  fc_stats_group_append (group, values);
}

static void
append_landing (FcStatsGroup *group,
                double        carry,
                double        side)
{
  double values[FC_SHOT_N_FIELDS];

  clear_values (values);
  values[FC_FIELD_CARRY] = carry;
  values[FC_FIELD_CARRY_SIDE] = side;
  fc_stats_group_append (group, values);
}

static const FcConfigStats *
config_at (const FcFittingStats *stats,
           guint                 i)
{
  g_assert_cmpuint (i, <, stats->configs->len);
  return g_ptr_array_index (stats->configs, i);
}

/* Stats of a single-group input with @n values in @field. */
static FcFittingStats *
compute_column (FcShotField   field,
                const double *column,
                guint         n)
{
  g_autoptr(FcStatsInput) input = fc_stats_input_new ();
  FcStatsGroup *group = fc_stats_input_get_group (input, "cfg", FALSE);

  for (guint i = 0; i < n; i++)
    append_one (group, field, column[i]);
  return fc_stats_compute (input);
}

static void
test_input_groups (void)
{
  g_autoptr(FcStatsInput) input = fc_stats_input_new ();
  g_autoptr(FcFittingStats) stats = NULL;
  FcStatsGroup *a, *b, *again;
  double values[FC_SHOT_N_FIELDS];

  a = fc_stats_input_get_group (input, "driver-a", FALSE);
  b = fc_stats_input_get_group (input, "driver-b", TRUE);
  again = fc_stats_input_get_group (input, "driver-a", FALSE);
  g_assert_true (a == again);
  g_assert_true (a != b);
  g_assert_cmpuint (input->groups->len, ==, 2);
  g_assert_true (g_ptr_array_index (input->groups, 0) == a);
  g_assert_true (g_ptr_array_index (input->groups, 1) == b);
  g_assert_cmpstr (a->config_id, ==, "driver-a");
  g_assert_false (a->is_baseline);
  g_assert_true (b->is_baseline);

  /* Many appends: every value must survive each reallocation. */
  for (guint i = 0; i < 5000; i++)
    {
      for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
        values[f] = (i % 7 == 0 && f == 3) ? NAN : i * 100.0 + f;
      fc_stats_group_append (a, values);
    }
  g_assert_cmpuint (a->n_shots, ==, 5000);
  g_assert_cmpuint (a->capacity, >=, 5000);
  /* Doubling, not growth by a constant. */
  g_assert_cmpuint (a->capacity, <, 10000);
  for (guint i = 0; i < 5000; i++)
    for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
      {
        if (i % 7 == 0 && f == 3)
          g_assert_true (isnan (a->values[f][i]));
        else
          g_assert_cmpfloat (a->values[f][i], ==, i * 100.0 + f);
      }
  g_assert_cmpuint (b->n_shots, ==, 0);

  stats = fc_stats_compute (input);
  g_assert_cmpuint (stats->configs->len, ==, 2);
  g_assert_cmpstr (config_at (stats, 0)->config_id, ==, "driver-a");
  g_assert_cmpstr (config_at (stats, 1)->config_id, ==, "driver-b");
  g_assert_false (config_at (stats, 0)->is_baseline);
  g_assert_true (config_at (stats, 1)->is_baseline);
  g_assert_cmpuint (config_at (stats, 0)->n_shots, ==, 5000);
  g_assert_cmpuint (config_at (stats, 0)->fields[0].count, ==, 5000);
  g_assert_cmpuint (config_at (stats, 0)->fields[3].count, ==, 5000 - 715);
  /* 0, 100, ..., 499900 plus 5 in field 5. */
  g_assert_cmpfloat (config_at (stats, 0)->fields[5].min, ==, 5.0);
  g_assert_cmpfloat (config_at (stats, 0)->fields[5].max, ==, 499905.0);
  g_assert_cmpfloat (config_at (stats, 0)->fields[5].median, ==, 249955.0);
  assert_close (config_at (stats, 0)->fields[5].mean, 249955.0, 1e-15);
  /* The columns are left in shot order. */
  g_assert_cmpfloat (a->values[5][0], ==, 5.0);
  g_assert_cmpfloat (a->values[5][4999], ==, 499905.0);
}

static void
test_odd_count (void)
{
  const double column[] = { 1, 3, 8, 4, 9 };
  g_autoptr(FcFittingStats) stats = compute_column (FC_FIELD_BALL_SPEED, column, 5);
  const FcFieldStats *s = &config_at (stats, 0)->fields[FC_FIELD_BALL_SPEED];

  /* mean 5; deviations -4 -2 3 -1 4 -> 46 / 4 = 11.5 */
  g_assert_cmpuint (s->count, ==, 5);
  g_assert_cmpfloat (s->mean, ==, 5.0);
  assert_close (s->sd, sqrt (11.5), 1e-15);
  assert_close (s->sd, 3.3911649915626341, 1e-15);
  g_assert_cmpfloat (s->median, ==, 4.0);
  g_assert_cmpfloat (s->min, ==, 1.0);
  g_assert_cmpfloat (s->max, ==, 9.0);
}

static void
test_even_count (void)
{
  const double column[] = { 10, 2, 6, 4 };
  const double ties[] = { 3, 3, 1, 7, 3, 9 };
  const double halves[] = { 1, 2 };
  g_autoptr(FcFittingStats) stats = compute_column (FC_FIELD_SPIN_RATE, column, 4);
  g_autoptr(FcFittingStats) tied = compute_column (FC_FIELD_CARRY, ties, 6);
  g_autoptr(FcFittingStats) two = compute_column (FC_FIELD_HANG_TIME, halves, 2);
  const FcFieldStats *s = &config_at (stats, 0)->fields[FC_FIELD_SPIN_RATE];
  const FcFieldStats *t = &config_at (tied, 0)->fields[FC_FIELD_CARRY];
  const FcFieldStats *h = &config_at (two, 0)->fields[FC_FIELD_HANG_TIME];

  /* sorted 2 4 6 10: median (4 + 6) / 2; deviations -3.5 -1.5 .5 4.5 */
  g_assert_cmpuint (s->count, ==, 4);
  g_assert_cmpfloat (s->mean, ==, 5.5);
  g_assert_cmpfloat (s->median, ==, 5.0);
  assert_close (s->sd, sqrt (35.0 / 3.0), 1e-15);
  g_assert_cmpfloat (s->min, ==, 2.0);
  g_assert_cmpfloat (s->max, ==, 10.0);

  /* sorted 1 3 3 3 7 9: both middle values are 3 */
  g_assert_cmpfloat (t->median, ==, 3.0);
  assert_close (t->mean, 26.0 / 6.0, 1e-15);
  g_assert_cmpfloat (t->min, ==, 1.0);
  g_assert_cmpfloat (t->max, ==, 9.0);

  g_assert_cmpfloat (h->median, ==, 1.5);
  g_assert_cmpfloat (h->mean, ==, 1.5);
  assert_close (h->sd, sqrt (0.5), 1e-15);
}

static void
test_partial_fields (void)
{
  g_autoptr(FcStatsInput) input = fc_stats_input_new ();
  g_autoptr(FcFittingStats) stats = NULL;
  FcStatsGroup *group = fc_stats_input_get_group (input, "cfg", FALSE);
  const FcConfigStats *config;
  double values[FC_SHOT_N_FIELDS];

  /* Ball speed on all four shots, club speed on two (an optical
   * monitor losing the club), face angle on one, spin axis on none. */
  for (guint i = 0; i < 4; i++)
    {
      clear_values (values);
      values[FC_FIELD_BALL_SPEED] = 60.0 + i;
      if (i == 1 || i == 3)
        values[FC_FIELD_CLUB_SPEED] = 40.0 + i;
      if (i == 2)
        values[FC_FIELD_FACE_ANGLE] = -1.25;
      fc_stats_group_append (group, values);
    }
  stats = fc_stats_compute (input);
  config = config_at (stats, 0);

  g_assert_cmpuint (config->n_shots, ==, 4);
  g_assert_cmpuint (config->fields[FC_FIELD_BALL_SPEED].count, ==, 4);
  g_assert_cmpfloat (config->fields[FC_FIELD_BALL_SPEED].mean, ==, 61.5);
  g_assert_cmpfloat (config->fields[FC_FIELD_BALL_SPEED].median, ==, 61.5);

  /* 41 and 43: the absent values must not count as zeros. */
  g_assert_cmpuint (config->fields[FC_FIELD_CLUB_SPEED].count, ==, 2);
  g_assert_cmpfloat (config->fields[FC_FIELD_CLUB_SPEED].mean, ==, 42.0);
  g_assert_cmpfloat (config->fields[FC_FIELD_CLUB_SPEED].median, ==, 42.0);
  assert_close (config->fields[FC_FIELD_CLUB_SPEED].sd, sqrt (2.0), 1e-15);
  g_assert_cmpfloat (config->fields[FC_FIELD_CLUB_SPEED].min, ==, 41.0);
  g_assert_cmpfloat (config->fields[FC_FIELD_CLUB_SPEED].max, ==, 43.0);

  /* One value: a mean and a median, but no spread. */
  g_assert_cmpuint (config->fields[FC_FIELD_FACE_ANGLE].count, ==, 1);
  g_assert_cmpfloat (config->fields[FC_FIELD_FACE_ANGLE].mean, ==, -1.25);
  g_assert_cmpfloat (config->fields[FC_FIELD_FACE_ANGLE].median, ==, -1.25);
  g_assert_cmpfloat (config->fields[FC_FIELD_FACE_ANGLE].min, ==, -1.25);
  g_assert_cmpfloat (config->fields[FC_FIELD_FACE_ANGLE].max, ==, -1.25);
  g_assert_true (isnan (config->fields[FC_FIELD_FACE_ANGLE].sd));

  g_assert_cmpuint (config->fields[FC_FIELD_SPIN_AXIS].count, ==, 0);
  g_assert_true (isnan (config->fields[FC_FIELD_SPIN_AXIS].mean));
  g_assert_true (isnan (config->fields[FC_FIELD_SPIN_AXIS].sd));
  g_assert_true (isnan (config->fields[FC_FIELD_SPIN_AXIS].median));
  g_assert_true (isnan (config->fields[FC_FIELD_SPIN_AXIS].min));
  g_assert_true (isnan (config->fields[FC_FIELD_SPIN_AXIS].max));

  /* No landing data at all. */
  g_assert_cmpuint (config->dispersion.count, ==, 0);
  g_assert_true (isnan (config->dispersion.centroid_carry));
  g_assert_true (isnan (config->dispersion.sigma1.major));
}

static void
test_empty_and_single (void)
{
  g_autoptr(FcStatsInput) input = fc_stats_input_new ();
  g_autoptr(FcFittingStats) none = fc_stats_compute (input);
  g_autoptr(FcFittingStats) stats = NULL;
  FcStatsGroup *single;
  const FcConfigStats *empty, *one;
  double values[FC_SHOT_N_FIELDS];

  g_assert_nonnull (none);
  g_assert_cmpuint (none->configs->len, ==, 0);

  fc_stats_input_get_group (input, "empty", FALSE);
  single = fc_stats_input_get_group (input, "single", FALSE);
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    values[f] = 2.0 * f + 0.5;
  fc_stats_group_append (single, values);
  stats = fc_stats_compute (input);
  empty = config_at (stats, 0);
  one = config_at (stats, 1);

  g_assert_cmpuint (empty->n_shots, ==, 0);
  g_assert_cmpuint (one->n_shots, ==, 1);
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    {
      g_assert_cmpuint (empty->fields[f].count, ==, 0);
      g_assert_true (isnan (empty->fields[f].mean));
      g_assert_true (isnan (empty->fields[f].median));
      g_assert_true (isnan (empty->fields[f].sd));

      g_assert_cmpuint (one->fields[f].count, ==, 1);
      g_assert_cmpfloat (one->fields[f].mean, ==, 2.0 * f + 0.5);
      g_assert_cmpfloat (one->fields[f].median, ==, 2.0 * f + 0.5);
      g_assert_cmpfloat (one->fields[f].min, ==, 2.0 * f + 0.5);
      g_assert_cmpfloat (one->fields[f].max, ==, 2.0 * f + 0.5);
      g_assert_true (isnan (one->fields[f].sd));
    }

  g_assert_cmpuint (empty->dispersion.count, ==, 0);
  g_assert_true (isnan (empty->dispersion.centroid_carry));
  g_assert_true (isnan (empty->dispersion.centroid_side));
  g_assert_true (isnan (empty->dispersion.var_carry));
  g_assert_true (isnan (empty->dispersion.ci95.area));

  /* One landing point: a centroid but neither spread nor ellipse. */
  g_assert_cmpuint (one->dispersion.count, ==, 1);
  g_assert_cmpfloat (one->dispersion.centroid_carry, ==, values[FC_FIELD_CARRY]);
  g_assert_cmpfloat (one->dispersion.centroid_side, ==, values[FC_FIELD_CARRY_SIDE]);
  g_assert_true (isnan (one->dispersion.var_carry));
  g_assert_true (isnan (one->dispersion.var_side));
  g_assert_true (isnan (one->dispersion.cov));
  g_assert_true (isnan (one->dispersion.sigma1.major));
  g_assert_true (isnan (one->dispersion.sigma1.minor));
  g_assert_true (isnan (one->dispersion.sigma1.angle_deg));
  g_assert_true (isnan (one->dispersion.sigma1.area));
  g_assert_true (isnan (one->dispersion.ci95.major));
  g_assert_true (isnan (one->dispersion.ci95.area));
}

static void
test_stable_variance (void)
{
  /* Air pressure in Pa sits near 1e5 with a spread of a few Pa; here the
   * offset is 1e9 to make sum-of-squares formulas lose every digit.
   * Deviations -6 -3 3 6 from the mean: variance 90 / 3 = 30. */
  const double column[] = { 1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16 };
  const double constant[] = { 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1 };
  g_autoptr(FcFittingStats) stats = compute_column (FC_FIELD_AIR_PRESSURE, column, 4);
  g_autoptr(FcFittingStats) flat = compute_column (FC_FIELD_SMASH_FACTOR, constant, 7);
  const FcFieldStats *s = &config_at (stats, 0)->fields[FC_FIELD_AIR_PRESSURE];
  const FcFieldStats *c = &config_at (flat, 0)->fields[FC_FIELD_SMASH_FACTOR];

  g_assert_cmpfloat (s->mean, ==, 1e9 + 10);
  g_assert_cmpfloat (s->median, ==, 1e9 + 10);
  assert_close (s->sd, sqrt (30.0), 1e-12);

  /* 0.1 is not representable; seven of them must still give sd 0 and a
   * mean inside the data. */
  g_assert_cmpfloat (c->sd, ==, 0.0);
  g_assert_cmpfloat (c->mean, ==, 0.1);
  g_assert_cmpfloat (c->median, ==, 0.1);
}

static const FcDispersion *
dispersion_of (FcFittingStats *stats)
{
  return &config_at (stats, 0)->dispersion;
}

static FcFittingStats *
compute_landings (const double (*points)[2],
                  guint          n)
{
  g_autoptr(FcStatsInput) input = fc_stats_input_new ();
  FcStatsGroup *group = fc_stats_input_get_group (input, "cfg", FALSE);

  for (guint i = 0; i < n; i++)
    append_landing (group, points[i][0], points[i][1]);
  return fc_stats_compute (input);
}

static void
assert_ellipse_consistent (const FcDispersion *d)
{
  assert_close (d->sigma1.area, G_PI * d->sigma1.major * d->sigma1.minor, 1e-14);
  assert_close (d->ci95.major, d->sigma1.major * CI95_SCALE, 1e-14);
  assert_close (d->ci95.minor, d->sigma1.minor * CI95_SCALE, 1e-14);
  assert_close (d->ci95.area, d->sigma1.area * -2.0 * log (0.05), 1e-14);
  assert_close (d->ci95.area, G_PI * d->ci95.major * d->ci95.minor, 1e-14);
  g_assert_cmpfloat (d->ci95.angle_deg, ==, d->sigma1.angle_deg);
  g_assert_cmpfloat (d->sigma1.major, >=, d->sigma1.minor);
  g_assert_cmpfloat (d->sigma1.angle_deg, >, -90.0);
  g_assert_cmpfloat (d->sigma1.angle_deg, <=, 90.0);
}

static void
test_dispersion_axis_aligned (void)
{
  /* Long: +-3 m in carry, +-1 m sideways around (200, 5).
   * var_carry = 18 / 3 = 6, var_side = 2 / 3, no covariance. */
  const double along[][2] = { { 203, 5 }, { 197, 5 }, { 200, 6 }, { 200, 4 } };
  /* Wide: the same pattern turned, so the major axis is the side axis. */
  const double across[][2] = { { 201, 5 }, { 199, 5 }, { 200, 8 }, { 200, 2 } };
  g_autoptr(FcFittingStats) s1 = compute_landings (along, G_N_ELEMENTS (along));
  g_autoptr(FcFittingStats) s2 = compute_landings (across, G_N_ELEMENTS (across));
  const FcDispersion *d1 = dispersion_of (s1);
  const FcDispersion *d2 = dispersion_of (s2);

  g_assert_cmpuint (d1->count, ==, 4);
  g_assert_cmpfloat (d1->centroid_carry, ==, 200.0);
  g_assert_cmpfloat (d1->centroid_side, ==, 5.0);
  assert_close (d1->var_carry, 6.0, 1e-15);
  assert_close (d1->var_side, 2.0 / 3.0, 1e-15);
  g_assert_cmpfloat (d1->cov, ==, 0.0);
  assert_close (d1->sigma1.major, sqrt (6.0), 1e-15);
  assert_close (d1->sigma1.minor, sqrt (2.0 / 3.0), 1e-15);
  g_assert_cmpfloat (d1->sigma1.angle_deg, ==, 0.0);
  /* pi sqrt(6) sqrt(2/3) = 2 pi */
  assert_close (d1->sigma1.area, 2.0 * G_PI, 1e-14);
  assert_close (d1->ci95.major, sqrt (6.0) * CI95_SCALE, 1e-14);
  assert_close (d1->ci95.area, 2.0 * G_PI * 5.9914645471079799, 1e-14);
  assert_ellipse_consistent (d1);

  assert_close (d2->var_carry, 2.0 / 3.0, 1e-15);
  assert_close (d2->var_side, 6.0, 1e-15);
  assert_close (d2->sigma1.major, sqrt (6.0), 1e-15);
  assert_close (d2->sigma1.minor, sqrt (2.0 / 3.0), 1e-15);
  g_assert_cmpfloat (d2->sigma1.angle_deg, ==, 90.0);
  assert_ellipse_consistent (d2);
}

static void
test_dispersion_rotated (void)
{
  /* +-3 along the 45-degree diagonal and +-1 across it, around
   * (180, -4): var 20/3 on both axes, cov 16/3, eigenvalues 12 and 4/3. */
  const double right[][2] = { { 183, -1 }, { 177, -7 }, { 181, -5 }, { 179, -3 } };
  /* Mirrored to the left of the target line: -45 degrees. */
  const double left[][2] = { { 183, -7 }, { 177, -1 }, { 181, -3 }, { 179, -5 } };
  g_autoptr(FcFittingStats) s1 = compute_landings (right, G_N_ELEMENTS (right));
  g_autoptr(FcFittingStats) s2 = compute_landings (left, G_N_ELEMENTS (left));
  const FcDispersion *d1 = dispersion_of (s1);
  const FcDispersion *d2 = dispersion_of (s2);

  g_assert_cmpfloat (d1->centroid_carry, ==, 180.0);
  g_assert_cmpfloat (d1->centroid_side, ==, -4.0);
  assert_close (d1->var_carry, 20.0 / 3.0, 1e-15);
  assert_close (d1->var_side, 20.0 / 3.0, 1e-15);
  assert_close (d1->cov, 16.0 / 3.0, 1e-15);
  assert_close (d1->sigma1.major, sqrt (12.0), 1e-15);
  assert_close (d1->sigma1.minor, sqrt (4.0 / 3.0), 1e-15);
  assert_close (d1->sigma1.angle_deg, 45.0, 1e-13);
  /* pi sqrt(12) sqrt(4/3) = 4 pi */
  assert_close (d1->sigma1.area, 4.0 * G_PI, 1e-14);
  assert_ellipse_consistent (d1);

  assert_close (d2->cov, -16.0 / 3.0, 1e-15);
  assert_close (d2->sigma1.major, sqrt (12.0), 1e-15);
  assert_close (d2->sigma1.minor, sqrt (4.0 / 3.0), 1e-15);
  assert_close (d2->sigma1.angle_deg, -45.0, 1e-13);
  assert_ellipse_consistent (d2);
}

static void
test_dispersion_known_covariance (void)
{
  /* The corners (+-1, +-1) have a sample covariance of exactly 4/3 I.
   * Mapped through R(t) diag (5, 2) and moved to (150, 10), it becomes
   * 4/3 R diag (25, 4) R^T: eigenvalues 100/3 and 16/3, major axis at t
   * (folded into (-90, 90], so 135 degrees reads -45). */
  const double base[][2] = { { 1, 1 }, { 1, -1 }, { -1, 1 }, { -1, -1 } };
  const double angles[] = { 30.0, -60.0, 89.0, 135.0 };
  const double expected_angle[] = { 30.0, -60.0, 89.0, -45.0 };

  for (guint a = 0; a < G_N_ELEMENTS (angles); a++)
    {
      double points[G_N_ELEMENTS (base) + 2][2];
      g_autoptr(FcFittingStats) stats = NULL;
      g_autoptr(FcStatsInput) input = fc_stats_input_new ();
      FcStatsGroup *group = fc_stats_input_get_group (input, "cfg", FALSE);
      const FcDispersion *d;
      double t = angles[a] * G_PI / 180.0;
      double ct = cos (t), st = sin (t);
      double l1 = 100.0 / 3.0, l2 = 16.0 / 3.0;

      for (guint i = 0; i < G_N_ELEMENTS (base); i++)
        {
          double x = 5.0 * base[i][0], y = 2.0 * base[i][1];

          points[i][0] = 150.0 + ct * x - st * y;
          points[i][1] = 10.0 + st * x + ct * y;
          append_landing (group, points[i][0], points[i][1]);
        }
      /* Shots with only one of the two coordinates stay out of the
       * dispersion but count for their own field. */
      append_landing (group, 300.0, NAN);
      append_landing (group, NAN, -80.0);

      stats = fc_stats_compute (input);
      d = dispersion_of (stats);
      g_assert_cmpuint (d->count, ==, 4);
      g_assert_cmpuint (config_at (stats, 0)->fields[FC_FIELD_CARRY].count, ==, 5);
      g_assert_cmpuint (config_at (stats, 0)->fields[FC_FIELD_CARRY_SIDE].count, ==, 5);
      assert_close (d->centroid_carry, 150.0, 1e-14);
      assert_close (d->centroid_side, 10.0, 1e-14);
      /* Sigma = R diag (l1, l2) R^T */
      assert_close (d->var_carry, l1 * ct * ct + l2 * st * st, 1e-13);
      assert_close (d->var_side, l1 * st * st + l2 * ct * ct, 1e-13);
      assert_close (d->cov, (l1 - l2) * ct * st, 1e-13);
      assert_close (d->sigma1.major, sqrt (l1), 1e-13);
      assert_close (d->sigma1.minor, sqrt (l2), 1e-13);
      assert_close (d->sigma1.angle_deg, expected_angle[a], 1e-12);
      assert_close (d->sigma1.area, G_PI * sqrt (l1 * l2), 1e-13);
      assert_close (d->ci95.major, sqrt (l1) * CI95_SCALE, 1e-13);
      assert_close (d->ci95.minor, sqrt (l2) * CI95_SCALE, 1e-13);
      assert_ellipse_consistent (d);
    }
}

static void
test_dispersion_degenerate (void)
{
  /* Two points: a variance, but no ellipse. */
  const double two[][2] = { { 100, 0 }, { 110, 4 } };
  /* Three collinear points: a flat ellipse along the line. */
  const double line[][2] = { { 100, 0 }, { 110, 10 }, { 120, 20 } };
  /* A circle has no major axis: reported along the target line. */
  const double round_[][2] = { { 101, 0 }, { 99, 0 }, { 100, 1 }, { 100, -1 } };
  g_autoptr(FcFittingStats) s2 = compute_landings (two, G_N_ELEMENTS (two));
  g_autoptr(FcFittingStats) s3 = compute_landings (line, G_N_ELEMENTS (line));
  g_autoptr(FcFittingStats) s4 = compute_landings (round_, G_N_ELEMENTS (round_));
  const FcDispersion *d2 = dispersion_of (s2);
  const FcDispersion *d3 = dispersion_of (s3);
  const FcDispersion *d4 = dispersion_of (s4);

  g_assert_cmpuint (d2->count, ==, 2);
  g_assert_cmpfloat (d2->centroid_carry, ==, 105.0);
  g_assert_cmpfloat (d2->centroid_side, ==, 2.0);
  g_assert_cmpfloat (d2->var_carry, ==, 50.0);
  g_assert_cmpfloat (d2->var_side, ==, 8.0);
  g_assert_cmpfloat (d2->cov, ==, 20.0);
  g_assert_true (isnan (d2->sigma1.major));
  g_assert_true (isnan (d2->sigma1.minor));
  g_assert_true (isnan (d2->sigma1.angle_deg));
  g_assert_true (isnan (d2->sigma1.area));
  g_assert_true (isnan (d2->ci95.major));
  g_assert_true (isnan (d2->ci95.area));

  g_assert_cmpuint (d3->count, ==, 3);
  assert_close (d3->sigma1.major, sqrt (200.0), 1e-14);
  assert_close (d3->sigma1.minor, 0.0, 1e-6);
  g_assert_cmpfloat (d3->sigma1.minor, >=, 0.0);
  assert_close (d3->sigma1.angle_deg, 45.0, 1e-12);
  assert_close (d3->sigma1.area, 0.0, 1e-5);
  g_assert_false (isnan (d3->ci95.area));

  assert_close (d4->sigma1.major, sqrt (2.0 / 3.0), 1e-15);
  assert_close (d4->sigma1.minor, sqrt (2.0 / 3.0), 1e-15);
  g_assert_cmpfloat (d4->sigma1.angle_deg, ==, 0.0);
}

static void
test_ci95_scale (void)
{
  const double pts[][2] = { { 200, 0 }, { 210, 3 }, { 195, -6 }, { 205, 9 }, { 190, 1 } };
  g_autoptr(FcFittingStats) stats = compute_landings (pts, G_N_ELEMENTS (pts));
  const FcDispersion *d = dispersion_of (stats);

  /* The chi-square quantile for 2 degrees of freedom, 95 %. */
  assert_close (CI95_SCALE * CI95_SCALE, 5.9914645471079799, 1e-15);
  assert_close (d->ci95.major / d->sigma1.major, 2.447746830680816, 1e-14);
  assert_close (d->ci95.minor / d->sigma1.minor, 2.447746830680816, 1e-14);
  assert_close (d->ci95.area / d->sigma1.area, 5.9914645471079799, 1e-14);
  /* Not the 1-sigma scale by accident, nor the 1.96 of one dimension. */
  g_assert_cmpfloat (d->ci95.major, >, 2.4 * d->sigma1.major);
  g_assert_cmpfloat (d->ci95.major, <, 2.5 * d->sigma1.major);
}

static void
test_deltas (void)
{
  g_autoptr(FcStatsInput) input = fc_stats_input_new ();
  g_autoptr(FcFittingStats) stats = NULL;
  FcStatsGroup *a, *base, *c, *second_base;
  const FcConfigStats *ca, *cbase, *cc, *csecond;
  double values[FC_SHOT_N_FIELDS];

  /* The baseline is not the first group. */
  a = fc_stats_input_get_group (input, "a", FALSE);
  base = fc_stats_input_get_group (input, "stock", TRUE);
  c = fc_stats_input_get_group (input, "c", FALSE);
  /* A second baseline is ignored in favour of the first. */
  second_base = fc_stats_input_get_group (input, "also-marked", TRUE);

  /* Ball speed: a {70, 72, 80} mean 74 median 72;
   * stock {66, 68} mean 67 median 67; c {65} ; also-marked {60, 61, 62}.
   * Spin rate only in stock and c; face angle only in a. */
  clear_values (values);
  values[FC_FIELD_BALL_SPEED] = 70;
  values[FC_FIELD_FACE_ANGLE] = 1.0;
  fc_stats_group_append (a, values);
  values[FC_FIELD_BALL_SPEED] = 72;
  fc_stats_group_append (a, values);
  values[FC_FIELD_BALL_SPEED] = 80;
  fc_stats_group_append (a, values);

  clear_values (values);
  values[FC_FIELD_BALL_SPEED] = 66;
  values[FC_FIELD_SPIN_RATE] = 2500;
  fc_stats_group_append (base, values);
  values[FC_FIELD_BALL_SPEED] = 68;
  values[FC_FIELD_SPIN_RATE] = 2700;
  fc_stats_group_append (base, values);

  clear_values (values);
  values[FC_FIELD_BALL_SPEED] = 65;
  values[FC_FIELD_SPIN_RATE] = 2300;
  fc_stats_group_append (c, values);

  for (guint i = 0; i < 3; i++)
    append_one (second_base, FC_FIELD_BALL_SPEED, 60.0 + i);

  stats = fc_stats_compute (input);
  ca = config_at (stats, 0);
  cbase = config_at (stats, 1);
  cc = config_at (stats, 2);
  csecond = config_at (stats, 3);
  g_assert_cmpstr (cbase->config_id, ==, "stock");
  g_assert_true (cbase->is_baseline);

  g_assert_cmpfloat (ca->delta_mean[FC_FIELD_BALL_SPEED], ==, 74.0 - 67.0);
  g_assert_cmpfloat (ca->delta_median[FC_FIELD_BALL_SPEED], ==, 72.0 - 67.0);
  g_assert_cmpfloat (cc->delta_mean[FC_FIELD_BALL_SPEED], ==, 65.0 - 67.0);
  g_assert_cmpfloat (cc->delta_median[FC_FIELD_BALL_SPEED], ==, 65.0 - 67.0);
  g_assert_cmpfloat (cc->delta_mean[FC_FIELD_SPIN_RATE], ==, 2300.0 - 2600.0);
  g_assert_cmpfloat (cc->delta_median[FC_FIELD_SPIN_RATE], ==, 2300.0 - 2600.0);
  g_assert_cmpfloat (csecond->delta_mean[FC_FIELD_BALL_SPEED], ==, 61.0 - 67.0);
  g_assert_cmpfloat (csecond->delta_median[FC_FIELD_BALL_SPEED], ==, 61.0 - 67.0);

  /* Missing on this side (spin in a), on the baseline's side (face
   * angle), on both (carry), and the baseline against itself. */
  g_assert_true (isnan (ca->delta_mean[FC_FIELD_SPIN_RATE]));
  g_assert_true (isnan (ca->delta_median[FC_FIELD_SPIN_RATE]));
  g_assert_true (isnan (ca->delta_mean[FC_FIELD_FACE_ANGLE]));
  g_assert_true (isnan (ca->delta_median[FC_FIELD_FACE_ANGLE]));
  g_assert_true (isnan (ca->delta_mean[FC_FIELD_CARRY]));
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    {
      g_assert_true (isnan (cbase->delta_mean[f]));
      g_assert_true (isnan (cbase->delta_median[f]));
    }
}

static void
test_no_baseline (void)
{
  g_autoptr(FcStatsInput) input = fc_stats_input_new ();
  g_autoptr(FcFittingStats) stats = NULL;

  append_one (fc_stats_input_get_group (input, "a", FALSE), FC_FIELD_CARRY, 200);
  append_one (fc_stats_input_get_group (input, "b", FALSE), FC_FIELD_CARRY, 210);
  stats = fc_stats_compute (input);

  g_assert_cmpuint (stats->configs->len, ==, 2);
  for (guint g = 0; g < 2; g++)
    {
      const FcConfigStats *config = config_at (stats, g);

      g_assert_false (config->is_baseline);
      g_assert_cmpuint (config->fields[FC_FIELD_CARRY].count, ==, 1);
      for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
        {
          g_assert_true (isnan (config->delta_mean[f]));
          g_assert_true (isnan (config->delta_median[f]));
        }
    }
}

static void
test_baseline_flag_later (void)
{
  g_autoptr(FcStatsInput) input = fc_stats_input_new ();
  FcStatsGroup *group;

  /* The first shot of a configuration may come through a path that does
   * not know it is the baseline. */
  group = fc_stats_input_get_group (input, "stock", FALSE);
  g_assert_false (group->is_baseline);
  g_assert_true (fc_stats_input_get_group (input, "stock", TRUE) == group);
  g_assert_true (group->is_baseline);
  g_assert_true (fc_stats_input_get_group (input, "stock", FALSE) == group);
  g_assert_true (group->is_baseline);
}

static int
compare_doubles (const void *pa,
                 const void *pb)
{
  double a = *(const double *) pa;
  double b = *(const double *) pb;

  return (a > b) - (a < b);
}

static double
reference_median (const double *column,
                  guint         n,
                  guint        *count)
{
  g_autofree double *sorted = g_new (double, MAX (n, 1));
  guint m = 0;

  for (guint i = 0; i < n; i++)
    if (!isnan (column[i]))
      sorted[m++] = column[i];
  *count = m;
  if (m == 0)
    return NAN;
  qsort (sorted, m, sizeof (double), compare_doubles);
  return m % 2 ? sorted[m / 2] : sorted[m / 2 - 1] / 2.0 + sorted[m / 2] / 2.0;
}

static void
test_median_random (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (0xf1c1);
  guint odd = 0, even = 0;

  for (guint dataset = 0; dataset < 1000; dataset++)
    {
      guint n, shape = g_rand_int_range (rand, 0, 6), count;
      g_autofree double *column = NULL;
      g_autoptr(FcFittingStats) stats = NULL;
      const FcFieldStats *s;
      double expected, lo = INFINITY, hi = -INFINITY;

      /* Mostly small fittings, some long ones past any small-size
       * special case. */
      n = g_rand_int_range (rand, 0, 10) == 0 ? g_rand_int_range (rand, 1000, 5000)
                                              : g_rand_int_range (rand, 1, 300);
      column = g_new (double, n);
      for (guint i = 0; i < n; i++)
        {
          switch (shape)
            {
            case 0: /* continuous */
              column[i] = g_rand_double_range (rand, -50.0, 250.0);
              break;
            case 1: /* a few distinct values, many ties */
              column[i] = g_rand_int_range (rand, 0, 5) * 0.5;
              break;
            case 2: /* ascending with ties */
              column[i] = i / 3;
              break;
            case 3: /* descending */
              column[i] = (double) n - i;
              break;
            case 4: /* all equal */
              column[i] = 42.0;
              break;
            default: /* organ pipe */
              column[i] = MIN (i, n - i);
              break;
            }
          /* Holes change the count's parity independently of n. */
          if (g_rand_int_range (rand, 0, 10) == 0)
            column[i] = NAN;
          if (!isnan (column[i]))
            {
              lo = MIN (lo, column[i]);
              hi = MAX (hi, column[i]);
            }
        }

      expected = reference_median (column, n, &count);
      stats = compute_column (FC_FIELD_CARRY, column, n);
      s = &config_at (stats, 0)->fields[FC_FIELD_CARRY];
      g_assert_cmpuint (s->count, ==, count);
      if (count == 0)
        {
          g_assert_true (isnan (s->median));
          continue;
        }
      if (s->median != expected)
        g_error ("dataset %u (n %u, shape %u): median %.17g, expected %.17g",
                 dataset, count, shape, s->median, expected);
      g_assert_cmpfloat (s->min, ==, lo);
      g_assert_cmpfloat (s->max, ==, hi);
      if (count % 2)
        odd++;
      else
        even++;
    }

  /* Both branches of the median were exercised. */
  g_assert_cmpuint (odd, >, 300);
  g_assert_cmpuint (even, >, 300);
}

/* One shot's values, for tests that reorder whole shots. */
typedef double ShotRow[FC_SHOT_N_FIELDS];

static void
shuffle (GRand   *rand,
         ShotRow *rows,
         guint    n)
{
  for (guint i = n - 1; i > 0; i--)
    {
      guint j = g_rand_int_range (rand, 0, i + 1);
      double tmp[FC_SHOT_N_FIELDS];

      memcpy (tmp, rows[i], sizeof tmp);
      memcpy (rows[i], rows[j], sizeof tmp);
      memcpy (rows[j], tmp, sizeof tmp);
    }
}

static FcFittingStats *
compute_rows (ShotRow *rows,
              guint    n)
{
  g_autoptr(FcStatsInput) input = fc_stats_input_new ();

  /* Two configurations interleaved by shot parity of the stored value,
   * so a shuffle also changes the order within each group. */
  for (guint i = 0; i < n; i++)
    {
      gboolean first = rows[i][FC_SHOT_N_FIELDS - 1] < 50.0;

      fc_stats_group_append (fc_stats_input_get_group (input, first ? "x" : "y", first), rows[i]);
    }
  return fc_stats_compute (input);
}

static void
assert_same_stats (const FcFittingStats *a,
                   const FcFittingStats *b)
{
  g_assert_cmpuint (a->configs->len, ==, b->configs->len);
  for (guint g = 0; g < a->configs->len; g++)
    {
      const FcConfigStats *ca = g_ptr_array_index (a->configs, g);
      const FcConfigStats *cb = NULL;

      /* Group order follows first appearance, which a shuffle may change. */
      for (guint h = 0; h < b->configs->len; h++)
        if (g_str_equal (((FcConfigStats *) g_ptr_array_index (b->configs, h))->config_id,
                         ca->config_id))
          cb = g_ptr_array_index (b->configs, h);
      g_assert_nonnull (cb);
      g_assert_cmpuint (ca->n_shots, ==, cb->n_shots);

      for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
        {
          g_assert_cmpuint (ca->fields[f].count, ==, cb->fields[f].count);
          g_assert_cmpfloat (ca->fields[f].median, ==, cb->fields[f].median);
          g_assert_cmpfloat (ca->fields[f].min, ==, cb->fields[f].min);
          g_assert_cmpfloat (ca->fields[f].max, ==, cb->fields[f].max);
          /* Sums in another order round differently in the last bits. */
          assert_close (ca->fields[f].mean, cb->fields[f].mean, 1e-12);
          assert_close (ca->fields[f].sd, cb->fields[f].sd, 1e-10);
          assert_close (ca->delta_mean[f], cb->delta_mean[f], 1e-10);
          assert_close (ca->delta_median[f], cb->delta_median[f], 1e-12);
        }
      g_assert_cmpuint (ca->dispersion.count, ==, cb->dispersion.count);
      assert_close (ca->dispersion.centroid_carry, cb->dispersion.centroid_carry, 1e-12);
      assert_close (ca->dispersion.centroid_side, cb->dispersion.centroid_side, 1e-12);
      assert_close (ca->dispersion.cov, cb->dispersion.cov, 1e-10);
      assert_close (ca->dispersion.sigma1.major, cb->dispersion.sigma1.major, 1e-10);
      assert_close (ca->dispersion.sigma1.minor, cb->dispersion.sigma1.minor, 1e-10);
      assert_close (ca->dispersion.sigma1.angle_deg, cb->dispersion.sigma1.angle_deg, 1e-8);
      assert_close (ca->dispersion.ci95.area, cb->dispersion.ci95.area, 1e-10);
    }
}

static void
test_order_invariance (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  const guint n = 601;
  g_autofree ShotRow *rows = g_new (ShotRow, n);
  g_autoptr(FcFittingStats) before = NULL;
  gboolean changed = FALSE;

  for (guint i = 0; i < n; i++)
    for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
      {
        /* Coarse values so ties are common. */
        rows[i][f] = g_rand_int_range (rand, 0, 100) + (f % 3) * g_rand_double (rand);
        if (f != FC_SHOT_N_FIELDS - 1 && g_rand_int_range (rand, 0, 20) == 0)
          rows[i][f] = NAN;
      }
  /* Correlate the landing points so the ellipse has a definite tilt. */
  for (guint i = 0; i < n; i++)
    if (!isnan (rows[i][FC_FIELD_CARRY]) && !isnan (rows[i][FC_FIELD_CARRY_SIDE]))
      rows[i][FC_FIELD_CARRY_SIDE] += 0.8 * rows[i][FC_FIELD_CARRY];

  before = compute_rows (rows, n);
  g_assert_cmpuint (before->configs->len, ==, 2);
  for (guint pass = 0; pass < 5; pass++)
    {
      g_autoptr(FcFittingStats) after = NULL;
      double first = rows[0][0];

      shuffle (rand, rows, n);
      changed |= rows[0][0] != first;
      after = compute_rows (rows, n);
      assert_same_stats (before, after);
    }
  g_assert_true (changed);
}

/* A large fitting is computed by two threads: every number must be the
 * one a single thread gets for each configuration on its own. */
static void
test_parallel_matches_single (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (2611);
  g_autoptr(FcStatsInput) all = fc_stats_input_new ();
  g_autoptr(FcFittingStats) together = NULL;
  const char *ids[] = { "base", "t1", "t2" };

  for (guint g = 0; g < G_N_ELEMENTS (ids); g++)
    {
      FcStatsGroup *group = fc_stats_input_get_group (all, ids[g], g == 0);

      for (guint i = 0; i < 3000 + g * 500; i++)
        {
          double row[FC_SHOT_N_FIELDS];

          for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
            row[f] = (f + i) % 7 == 0 ? NAN : g_rand_double_range (rand, -100.0, 300.0);
          fc_stats_group_append (group, row);
        }
    }
  /* past the threshold for a second thread */
  g_assert_cmpuint ((3000 + 3500 + 4000) * FC_SHOT_N_FIELDS, >=, 200000);
  together = fc_stats_compute (all);

  for (guint g = 0; g < G_N_ELEMENTS (ids); g++)
    {
      const FcStatsGroup *src = g_ptr_array_index (all->groups, g);
      g_autoptr(FcStatsInput) one = fc_stats_input_new ();
      FcStatsGroup *copy = fc_stats_input_get_group (one, ids[g], g == 0);
      g_autoptr(FcFittingStats) alone = NULL;
      const FcConfigStats *a, *b;

      for (guint i = 0; i < src->n_shots; i++)
        {
          double row[FC_SHOT_N_FIELDS];

          for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
            row[f] = src->values[f][i];
          fc_stats_group_append (copy, row);
        }
      /* below the threshold: one thread */
      g_assert_cmpuint (src->n_shots * FC_SHOT_N_FIELDS, <, 200000);
      alone = fc_stats_compute (one);
      a = g_ptr_array_index (together->configs, g);
      b = g_ptr_array_index (alone->configs, 0);
      g_assert_cmpstr (a->config_id, ==, b->config_id);
      for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
        {
          g_assert_cmpuint (a->fields[f].count, ==, b->fields[f].count);
          g_assert_cmpmem (&a->fields[f].mean, sizeof (double), &b->fields[f].mean, sizeof (double));
          g_assert_cmpmem (&a->fields[f].sd, sizeof (double), &b->fields[f].sd, sizeof (double));
          g_assert_cmpmem (&a->fields[f].median, sizeof (double), &b->fields[f].median, sizeof (double));
          g_assert_cmpmem (&a->fields[f].min, sizeof (double), &b->fields[f].min, sizeof (double));
          g_assert_cmpmem (&a->fields[f].max, sizeof (double), &b->fields[f].max, sizeof (double));
        }
      g_assert_cmpmem (&a->dispersion, sizeof a->dispersion, &b->dispersion, sizeof b->dispersion);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/stats/input/groups", test_input_groups);
  g_test_add_func ("/stats/input/baseline-flag-later", test_baseline_flag_later);
  g_test_add_func ("/stats/field/odd-count", test_odd_count);
  g_test_add_func ("/stats/field/even-count", test_even_count);
  g_test_add_func ("/stats/field/partial", test_partial_fields);
  g_test_add_func ("/stats/field/empty-and-single", test_empty_and_single);
  g_test_add_func ("/stats/field/stable-variance", test_stable_variance);
  g_test_add_func ("/stats/field/median-random", test_median_random);
  g_test_add_func ("/stats/dispersion/axis-aligned", test_dispersion_axis_aligned);
  g_test_add_func ("/stats/dispersion/rotated-45", test_dispersion_rotated);
  g_test_add_func ("/stats/dispersion/known-covariance", test_dispersion_known_covariance);
  g_test_add_func ("/stats/dispersion/degenerate", test_dispersion_degenerate);
  g_test_add_func ("/stats/dispersion/ci95-scale", test_ci95_scale);
  g_test_add_func ("/stats/deltas/baseline", test_deltas);
  g_test_add_func ("/stats/deltas/no-baseline", test_no_baseline);
  g_test_add_func ("/stats/order-invariance", test_order_invariance);
  g_test_add_func ("/stats/parallel-matches-single", test_parallel_matches_single);
  return g_test_run ();
}
