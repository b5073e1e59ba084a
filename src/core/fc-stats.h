/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "fc-shot-field.h"

G_BEGIN_DECLS

/*
 * Statistics of a fitting, computed from column data: a pure function of
 * the values, so it is tested without a database and is cheap enough to
 * recompute after every shot.
 */

/* The shots of one club configuration, one column per field
 * (values[field][i] is NAN where shot i did not measure that field). */
typedef struct {
  char    *config_id;
  gboolean is_baseline;
  guint    n_shots;
  guint    capacity;
  double  *values[FC_SHOT_N_FIELDS];
} FcStatsGroup;

typedef struct {
  GPtrArray *groups;   /* of FcStatsGroup*, in configuration order */
} FcStatsInput;

FcStatsInput *fc_stats_input_new       (void);
void          fc_stats_input_free      (FcStatsInput *input);
/* Returns the group for @config_id, creating it at the end if new. */
FcStatsGroup *fc_stats_input_get_group (FcStatsInput *input,
                                        const char   *config_id,
                                        gboolean      is_baseline);
/* Makes room for @n_shots more shots, so that a known number of shots
 * is appended without reallocating. */
void          fc_stats_group_reserve   (FcStatsGroup *group,
                                        guint         n_shots);
/* Appends one shot's values (array of FC_SHOT_N_FIELDS, NAN = absent). */
void          fc_stats_group_append    (FcStatsGroup *group,
                                        const double *values);
/* Appends @n shots given column by column: @columns[field] points to @n
 * values, or is NULL when none of these shots measured the field. */
void          fc_stats_group_append_columns (FcStatsGroup        *group,
                                             guint                n,
                                             const double * const *columns);

typedef struct {
  guint  count;       /* shots that measured the field */
  double mean;        /* NAN when count == 0 */
  double sd;          /* sample standard deviation (n-1); NAN when count < 2 */
  double median;      /* NAN when count == 0 */
  double min;
  double max;
} FcFieldStats;

typedef struct {
  double major;       /* semi-axis, m */
  double minor;       /* semi-axis, m */
  double angle_deg;   /* of the major axis from the target line (carry axis), toward the right */
  double area;        /* m^2, pi * major * minor */
} FcEllipse;

/* Landing-point dispersion in the (carry_m, carry_side_m) plane. */
typedef struct {
  guint     count;          /* shots with both carry and carry side */
  double    centroid_carry; /* m */
  double    centroid_side;  /* m */
  double    var_carry;      /* sample covariance matrix, m^2 */
  double    var_side;
  double    cov;
  FcEllipse sigma1;         /* 1-sigma ellipse (39.3 % of a bivariate normal) */
  FcEllipse ci95;           /* 95 % ellipse: sigma1 scaled by sqrt(chi2(2, 0.95)) */
} FcDispersion;

typedef struct {
  char         *config_id;
  gboolean      is_baseline;
  guint         n_shots;
  FcFieldStats  fields[FC_SHOT_N_FIELDS];
  FcDispersion  dispersion;   /* count < 3 leaves the ellipses NAN */
  /* Difference of means against the baseline (this minus baseline);
   * NAN where either side has no value, or this is the baseline, or
   * there is no baseline. */
  double        delta_mean[FC_SHOT_N_FIELDS];
  double        delta_median[FC_SHOT_N_FIELDS];
} FcConfigStats;

typedef struct {
  GPtrArray *configs;  /* of FcConfigStats*, same order as the input groups */
} FcFittingStats;

FcFittingStats *fc_stats_compute (const FcStatsInput *input);
void            fc_fitting_stats_free (FcFittingStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcStatsInput, fc_stats_input_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcFittingStats, fc_fitting_stats_free)

G_END_DECLS
