/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-shot"

#include "fc-shot.h"
#include "fc-error.h"

#include <math.h>
#include <string.h>

G_DEFINE_BOXED_TYPE (FcShot, fc_shot, fc_shot_copy, fc_shot_free)

static const char *source_kind_names[] = {
  [FC_SOURCE_DEVICE] = "device",
  [FC_SOURCE_FILE]   = "file",
  [FC_SOURCE_MANUAL] = "manual",
};

const char *
fc_source_kind_to_string (FcSourceKind kind)
{
  g_return_val_if_fail (kind <= FC_SOURCE_MANUAL, NULL);
  return source_kind_names[kind];
}

gboolean
fc_source_kind_from_string (const char   *text,
                            FcSourceKind *kind)
{
  for (guint i = 0; i < G_N_ELEMENTS (source_kind_names); i++)
    if (g_strcmp0 (text, source_kind_names[i]) == 0)
      {
        *kind = i;
        return TRUE;
      }
  return FALSE;
}

FcShot *
fc_shot_new (void)
{
  FcShot *shot = g_new0 (FcShot, 1);

  shot->spin_estimated = -1;
  shot->tags = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    shot->values[i] = NAN;
  return shot;
}

FcShot *
fc_shot_copy (const FcShot *shot)
{
  FcShot *copy;

  g_return_val_if_fail (shot != NULL, NULL);

  copy = g_memdup2 (shot, sizeof *shot);
  copy->id = g_strdup (shot->id);
  copy->fitting_id = g_strdup (shot->fitting_id);
  copy->config_id = g_strdup (shot->config_id);
  copy->device_id = g_strdup (shot->device_id);
  copy->device_shot_id = g_strdup (shot->device_shot_id);
  copy->source_protocol = g_strdup (shot->source_protocol);
  copy->source_detail = g_strdup (shot->source_detail);
  copy->import_id = g_strdup (shot->import_id);
  copy->club = g_strdup (shot->club);
  copy->device_time = g_strdup (shot->device_time);
  copy->raw = shot->raw ? g_bytes_ref (shot->raw) : NULL;
  copy->exclude_reason = g_strdup (shot->exclude_reason);
  copy->tags = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < shot->tags->len; i++)
    g_ptr_array_add (copy->tags, g_strdup (g_ptr_array_index (shot->tags, i)));
  return copy;
}

void
fc_shot_free (FcShot *shot)
{
  if (shot == NULL)
    return;
  g_free (shot->id);
  g_free (shot->fitting_id);
  g_free (shot->config_id);
  g_free (shot->device_id);
  g_free (shot->device_shot_id);
  g_free (shot->source_protocol);
  g_free (shot->source_detail);
  g_free (shot->import_id);
  g_free (shot->club);
  g_free (shot->device_time);
  g_clear_pointer (&shot->raw, g_bytes_unref);
  g_free (shot->exclude_reason);
  g_ptr_array_unref (shot->tags);
  g_free (shot);
}

double
fc_shot_get (const FcShot *shot,
             FcShotField   field)
{
  g_return_val_if_fail (field < FC_SHOT_N_FIELDS, NAN);
  return fc_shot_has (shot, field) ? shot->values[field] : NAN;
}

void
fc_shot_set (FcShot      *shot,
             FcShotField  field,
             double       value_si)
{
  g_return_if_fail (field < FC_SHOT_N_FIELDS);

  /* A NaN is "not measured": keep the two states from diverging. */
  if (isnan (value_si))
    {
      fc_shot_unset (shot, field);
      return;
    }
  shot->values[field] = value_si;
  shot->present |= G_GUINT64_CONSTANT (1) << field;
}

void
fc_shot_unset (FcShot      *shot,
               FcShotField  field)
{
  g_return_if_fail (field < FC_SHOT_N_FIELDS);
  shot->values[field] = NAN;
  shot->present &= ~(G_GUINT64_CONSTANT (1) << field);
}

guint
fc_shot_count_values (const FcShot *shot)
{
  return (guint) __builtin_popcountll (shot->present);
}

void
fc_shot_add_tag (FcShot     *shot,
                 const char *tag)
{
  g_return_if_fail (tag != NULL && *tag != '\0');

  for (guint i = 0; i < shot->tags->len; i++)
    if (strcmp (g_ptr_array_index (shot->tags, i), tag) == 0)
      return;
  g_ptr_array_add (shot->tags, g_strdup (tag));
}

void
fc_shot_complete_spin (FcShot *shot)
{
  gboolean have_total = fc_shot_has (shot, FC_FIELD_SPIN_RATE);
  gboolean have_axis = fc_shot_has (shot, FC_FIELD_SPIN_AXIS);
  gboolean have_back = fc_shot_has (shot, FC_FIELD_BACK_SPIN);
  gboolean have_side = fc_shot_has (shot, FC_FIELD_SIDE_SPIN);

  if (have_back && have_side)
    {
      double back = shot->values[FC_FIELD_BACK_SPIN];
      double side = shot->values[FC_FIELD_SIDE_SPIN];

      if (!have_total)
        fc_shot_set (shot, FC_FIELD_SPIN_RATE, hypot (back, side));
      if (!have_axis && (back != 0 || side != 0))
        fc_shot_set (shot, FC_FIELD_SPIN_AXIS, atan2 (side, back) * 180.0 / G_PI);
    }
  else if (have_total && have_axis && !have_back && !have_side)
    {
      double total = shot->values[FC_FIELD_SPIN_RATE];
      double axis = shot->values[FC_FIELD_SPIN_AXIS] * G_PI / 180.0;

      fc_shot_set (shot, FC_FIELD_BACK_SPIN, total * cos (axis));
      fc_shot_set (shot, FC_FIELD_SIDE_SPIN, total * sin (axis));
    }
}

guint
fc_shot_drop_orphan_values (FcShot *shot)
{
  guint dropped = 0;

  /* Smash factor is a quotient: without a club speed it is noise (the
   * Garmin Golf app writes values like -41.8 there). */
  if (fc_shot_has (shot, FC_FIELD_SMASH_FACTOR) &&
      (!fc_shot_has (shot, FC_FIELD_CLUB_SPEED) || !fc_shot_has (shot, FC_FIELD_BALL_SPEED)))
    {
      fc_shot_unset (shot, FC_FIELD_SMASH_FACTOR);
      dropped++;
    }

  /* A face-to-path of exactly 0 with neither face nor path measured is a
   * placeholder, not a square face. */
  if (fc_shot_has (shot, FC_FIELD_FACE_TO_PATH) &&
      shot->values[FC_FIELD_FACE_TO_PATH] == 0.0 &&
      !fc_shot_has (shot, FC_FIELD_FACE_ANGLE) &&
      !fc_shot_has (shot, FC_FIELD_CLUB_PATH))
    {
      fc_shot_unset (shot, FC_FIELD_FACE_TO_PATH);
      dropped++;
    }

  return dropped;
}

gboolean
fc_shot_validate (const FcShot  *shot,
                  GError       **error)
{
  g_return_val_if_fail (shot != NULL, FALSE);

  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    if (fc_shot_has (shot, i) && !fc_shot_field_check (i, shot->values[i], error))
      return FALSE;

  if (shot->present == 0)
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                           "the shot has no measured values");
      return FALSE;
    }
  return TRUE;
}

gint64
fc_shot_fingerprint (const FcShot *shot)
{
  /* FNV-1a over presence mask and value bits: cheap, deterministic
   * across runs and platforms with IEEE doubles. */
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);
  const guint64 prime = G_GUINT64_CONSTANT (0x100000001b3);
  guint64 words[1 + FC_SHOT_N_FIELDS];
  guint n = 0;

  words[n++] = shot->present;
  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    if (fc_shot_has (shot, i))
      {
        double v = shot->values[i] == 0.0 ? 0.0 : shot->values[i];   /* fold -0 */
        guint64 bits;

        memcpy (&bits, &v, sizeof bits);
        words[n++] = bits;
      }

  for (guint w = 0; w < n; w++)
    for (guint b = 0; b < 8; b++)
      {
        h ^= (words[w] >> (b * 8)) & 0xff;
        h *= prime;
      }

  /* SQLite integers are signed. */
  return (gint64) h;
}
