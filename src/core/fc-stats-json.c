/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-stats"

#include "fc-stats-json.h"

static void
write_ellipse (FcJsonWriter    *w,
               const char      *key,
               const FcEllipse *e)
{
  fc_json_writer_key (w, key);
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "major_m");
  fc_json_writer_double (w, e->major);
  fc_json_writer_key (w, "minor_m");
  fc_json_writer_double (w, e->minor);
  fc_json_writer_key (w, "angle_deg");
  fc_json_writer_double (w, e->angle_deg);
  fc_json_writer_key (w, "area_m2");
  fc_json_writer_double (w, e->area);
  fc_json_writer_end_object (w);
}

static FcClubConfig *
find_config (GPtrArray  *configs,
             const char *id)
{
  for (guint i = 0; configs && i < configs->len; i++)
    {
      FcClubConfig *c = g_ptr_array_index (configs, i);
      if (g_strcmp0 (c->id, id) == 0)
        return c;
    }
  return NULL;
}

void
fc_json_write_fitting_stats (FcJsonWriter         *w,
                             const FcFittingStats *stats,
                             GPtrArray            *configs)
{
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "configs");
  fc_json_writer_begin_array (w);
  for (guint i = 0; i < stats->configs->len; i++)
    {
      const FcConfigStats *cs = g_ptr_array_index (stats->configs, i);
      const FcDispersion *d = &cs->dispersion;
      FcClubConfig *c = find_config (configs, cs->config_id);

      fc_json_writer_begin_object (w);
      fc_json_writer_key (w, "config_id");
      fc_json_writer_string (w, cs->config_id);
      fc_json_writer_key (w, "label");
      fc_json_writer_string (w, c ? c->label : NULL);
      fc_json_writer_key (w, "role");
      fc_json_writer_string (w, cs->is_baseline ? "baseline" : "test");
      fc_json_writer_key (w, "shots");
      fc_json_writer_int (w, cs->n_shots);

      fc_json_writer_key (w, "fields");
      fc_json_writer_begin_object (w);
      for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
        {
          const FcFieldStats *fs = &cs->fields[f];

          if (fs->count == 0)
            continue;
          fc_json_writer_key (w, fc_shot_field_get_name (f));
          fc_json_writer_begin_object (w);
          fc_json_writer_key (w, "count");
          fc_json_writer_int (w, fs->count);
          fc_json_writer_key (w, "mean");
          fc_json_writer_double (w, fs->mean);
          fc_json_writer_key (w, "sd");
          fc_json_writer_double (w, fs->sd);
          fc_json_writer_key (w, "median");
          fc_json_writer_double (w, fs->median);
          fc_json_writer_key (w, "min");
          fc_json_writer_double (w, fs->min);
          fc_json_writer_key (w, "max");
          fc_json_writer_double (w, fs->max);
          fc_json_writer_key (w, "delta_mean");
          fc_json_writer_double (w, cs->delta_mean[f]);
          fc_json_writer_key (w, "delta_median");
          fc_json_writer_double (w, cs->delta_median[f]);
          fc_json_writer_end_object (w);
        }
      fc_json_writer_end_object (w);

      fc_json_writer_key (w, "dispersion");
      fc_json_writer_begin_object (w);
      fc_json_writer_key (w, "count");
      fc_json_writer_int (w, d->count);
      fc_json_writer_key (w, "centroid_carry_m");
      fc_json_writer_double (w, d->centroid_carry);
      fc_json_writer_key (w, "centroid_side_m");
      fc_json_writer_double (w, d->centroid_side);
      fc_json_writer_key (w, "var_carry_m2");
      fc_json_writer_double (w, d->var_carry);
      fc_json_writer_key (w, "var_side_m2");
      fc_json_writer_double (w, d->var_side);
      fc_json_writer_key (w, "cov_m2");
      fc_json_writer_double (w, d->cov);
      write_ellipse (w, "sigma1", &d->sigma1);
      write_ellipse (w, "ci95", &d->ci95);
      fc_json_writer_end_object (w);
      fc_json_writer_end_object (w);
    }
  fc_json_writer_end_array (w);
  fc_json_writer_end_object (w);
}
