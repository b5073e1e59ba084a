/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-lmsim-shots"

#include "config.h"

#include "lmsim-shots.h"

#include <math.h>
#include <string.h>

#include "fc-error.h"
#include "fc-import.h"

/*
 * Per-club averages of a good amateur (roughly a single-digit handicap,
 * between the published TrackMan LPGA and amateur tables), in the units
 * fitters think in. The generator perturbs club delivery and derives the
 * ball and flight numbers from it, so that a fast swing also has a high
 * ball speed and a long carry, and a closed face curves the ball left:
 * a receiver's statistics and plots then look like a real session.
 */
typedef struct {
  const char *name;        /* --club name */
  const char *short_name;  /* as a bay display (and FSX) shows it: "7i" */
  const char *oc_code;     /* Open Connect club code */
  double      club_speed;  /* mph */
  double      club_speed_sd;
  double      smash;
  double      launch;      /* deg */
  double      launch_sd;
  double      spin;        /* rpm */
  double      spin_sd;
  double      carry;       /* yd */
  double      attack;      /* deg */
  double      loft;        /* dynamic loft, deg */
  double      apex;        /* yd */
  double      landing;     /* deg */
  double      roll;        /* roll as a fraction of carry */
  double      hang;        /* s */
} Club;

#define PUTTER_INDEX 15

/* clang-format off */
static const Club clubs[] = {
  /* name             short  code  cs    sd   smash launch sd  spin   sd    carry aoa   loft  apex land  roll   hang */
  { "driver",         "dr",  "DR", 95.0, 8.0, 1.45, 12.0, 3.0, 2600,  600, 230, -1.0, 14.5, 32, 38, 0.090, 6.6 },
  { "3-wood",         "3w",  "W3", 90.0, 7.0, 1.44, 11.0, 2.5, 3500,  600, 212, -2.5, 14.0, 30, 43, 0.070, 6.3 },
  { "5-wood",         "5w",  "W5", 88.0, 7.0, 1.42, 12.0, 2.5, 4100,  650, 200, -2.8, 16.0, 30, 46, 0.060, 6.2 },
  { "hybrid",         "4h",  "H4", 85.0, 6.0, 1.40, 13.0, 2.5, 4400,  700, 190, -3.0, 17.0, 29, 47, 0.050, 6.0 },
  { "4-iron",         "4i",  "I4", 84.0, 6.0, 1.38, 12.0, 2.5, 4600,  700, 182, -3.2, 15.5, 28, 47, 0.050, 5.8 },
  { "5-iron",         "5i",  "I5", 83.0, 6.0, 1.36, 13.5, 2.5, 5200,  750, 174, -3.5, 17.0, 29, 48, 0.045, 5.8 },
  { "6-iron",         "6i",  "I6", 81.5, 6.0, 1.35, 15.0, 2.5, 5900,  800, 167, -3.8, 19.0, 29, 49, 0.040, 5.8 },
  { "7-iron",         "7i",  "I7", 80.0, 6.0, 1.33, 17.0, 2.5, 6500,  800, 160, -4.0, 21.5, 30, 50, 0.035, 5.8 },
  { "8-iron",         "8i",  "I8", 78.0, 6.0, 1.31, 19.0, 2.5, 7300,  900, 150, -4.3, 24.0, 30, 50, 0.030, 5.7 },
  { "9-iron",         "9i",  "I9", 76.0, 6.0, 1.29, 21.0, 2.7, 8000, 1000, 139, -4.6, 26.5, 29, 51, 0.025, 5.6 },
  { "pitching-wedge", "pw",  "PW", 74.0, 6.0, 1.25, 24.0, 2.8, 8800, 1000, 127, -5.0, 30.0, 28, 52, 0.020, 5.5 },
  { "gap-wedge",      "gw",  "GW", 72.0, 6.0, 1.21, 27.0, 3.0, 9300, 1100, 114, -5.0, 33.5, 27, 52, 0.015, 5.4 },
  { "sand-wedge",     "sw",  "SW", 70.0, 6.0, 1.17, 30.0, 3.0, 9800, 1200, 100, -5.0, 37.5, 25, 52, 0.010, 5.2 },
  { "lob-wedge",      "lw",  "LW", 68.0, 6.0, 1.12, 33.0, 3.2, 10000, 1300, 85, -5.0, 41.5, 23, 52, 0.010, 5.0 },
  /* not a club: "bag" picks one of the above per shot */
  { "bag",            NULL,  NULL, 0 },
  /* Putts vary in length far more than full swings do, hence the spread. */
  { "putter",         "pt",  "PT",  5.0, 1.5, 1.60,  2.0, 1.0,  300,  150, 0.4, 1.0,  3.0,  0,  0, 0.000, 0.0 },
};
/* clang-format on */

G_STATIC_ASSERT (G_N_ELEMENTS (clubs) == PUTTER_INDEX + 1);
#define BAG_INDEX 14

struct _LmsimShotSource {
  GRand         *rand;
  int            club;      /* index into clubs, BAG_INDEX for the bag */
  gboolean       ball_only;
  FcImportBatch *replay;    /* replaying instead of generating */
  guint          next;      /* next replay shot */
  char          *description;
};

void
lmsim_shot_options_init (LmsimShotOptions *options)
{
  memset (options, 0, sizeof *options);
  options->count = 10;
  options->rate = 0.5;
  options->seed = -1;
}

void
lmsim_shot_options_clear (LmsimShotOptions *options)
{
  g_clear_pointer (&options->club, g_free);
  g_clear_pointer (&options->replay, g_free);
}

void
lmsim_shot_options_add (LmsimShotOptions *options,
                        GOptionContext   *context)
{
  /* GOption copies the array, so a local one is fine. */
  const GOptionEntry entries[] = {
    { "count", 'n', 0, G_OPTION_ARG_INT, &options->count,
      "Shots to send (default 10; 0 = until Ctrl-C)", "N" },
    { "rate", 'r', 0, G_OPTION_ARG_DOUBLE, &options->rate,
      "Shots per second (default 0.5; 0 = as fast as possible)", "SHOTS_PER_S" },
    { "club", 'c', 0, G_OPTION_ARG_STRING, &options->club,
      "Club to simulate (default 7-iron; \"bag\" = a random club per shot)", "NAME" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &options->seed,
      "Random seed, to repeat a run exactly (default: a new one, printed)", "N" },
    { "replay", 0, 0, G_OPTION_ARG_FILENAME, &options->replay,
      "Replay the shots of a CSV or JSON export instead of generating them", "FILE" },
    { "ball-only", 0, 0, G_OPTION_ARG_NONE, &options->ball_only,
      "Leave out club data, like a monitor without club sensing", NULL },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, NULL);
}

static int
find_club (const char *text)
{
  g_autoptr(GString) wanted = g_string_new (NULL);

  /* "7 Iron", "7-iron", "7i", "I7" and "i7" all name the same club. */
  for (const char *p = text; *p; p++)
    if (*p != ' ' && *p != '-' && *p != '_')
      g_string_append_c (wanted, g_ascii_tolower (*p));

  for (guint i = 0; i < G_N_ELEMENTS (clubs); i++)
    {
      g_autoptr(GString) name = g_string_new (NULL);

      for (const char *p = clubs[i].name; *p; p++)
        if (*p != '-')
          g_string_append_c (name, *p);
      if (strcmp (wanted->str, name->str) == 0 ||
          g_strcmp0 (wanted->str, clubs[i].short_name) == 0 ||
          (clubs[i].oc_code && g_ascii_strcasecmp (wanted->str, clubs[i].oc_code) == 0))
        return (int) i;
    }
  return -1;
}

const char *
lmsim_shot_options_check (const LmsimShotOptions *options)
{
  if (options->count < 0)
    return "--count must be 0 or more";
  if (!(options->rate >= 0) || !isfinite (options->rate))
    return "--rate must be 0 or more shots per second";
  if (options->seed < -1)
    return "--seed must be 0 or more";
  if (options->replay && options->club)
    return "--club and --replay cannot be combined: a replay keeps the clubs of its file";
  if (options->club && find_club (options->club) < 0)
    return "unknown club for --club (see --help for the names)";
  return NULL;
}

gint64
lmsim_shot_options_due_time (const LmsimShotOptions *options,
                             gint64                  start,
                             guint                   index)
{
  if (options->rate <= 0)
    return start;
  /* From the start rather than from the previous shot, so a slow reply
   * does not drift the whole run. */
  return start + (gint64) (index * (G_USEC_PER_SEC / options->rate));
}

char *
lmsim_clubs_help (void)
{
  g_autoptr(GString) text = g_string_new ("Clubs for --club (name, short name or Open Connect code):\n");

  for (guint i = 0; i < G_N_ELEMENTS (clubs); i++)
    if (i != BAG_INDEX)
      g_string_append_printf (text, "  %-15s %-3s %s\n", clubs[i].name, clubs[i].short_name,
                              clubs[i].oc_code);
  g_string_append (text, "  bag             a random club from driver to lob-wedge per shot\n");
  return g_string_free (g_steal_pointer (&text), FALSE);
}

LmsimShotSource *
lmsim_shot_source_new (const LmsimShotOptions *options,
                       GError                **error)
{
  g_autoptr(LmsimShotSource) source = g_new0 (LmsimShotSource, 1);

  g_return_val_if_fail (lmsim_shot_options_check (options) == NULL, NULL);

  source->ball_only = options->ball_only;
  if (options->replay)
    {
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (options->replay);

      source->replay = fc_import_parse_file (file, NULL, error);
      if (source->replay == NULL)
        return NULL;
      if (source->replay->shots->len == 0)
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                       "%s holds no shots to replay", options->replay);
          return NULL;
        }
      source->description = g_strdup_printf ("replay of %s (%s, %u shots)",
                                             source->replay->file_name,
                                             source->replay->format_label,
                                             source->replay->shots->len);
    }
  else
    {
      guint32 seed;

      /* A printed seed makes any surprising run repeatable. */
      seed = options->seed >= 0 ? (guint32) options->seed : g_random_int ();
      source->rand = g_rand_new_with_seed (seed);
      source->club = options->club ? find_club (options->club) : find_club ("7-iron");
      source->description = g_strdup_printf ("%s generator, seed %u",
                                             clubs[source->club].name, seed);
    }
  return g_steal_pointer (&source);
}

void
lmsim_shot_source_free (LmsimShotSource *source)
{
  if (source == NULL)
    return;
  g_clear_pointer (&source->rand, g_rand_free);
  g_clear_pointer (&source->replay, fc_import_batch_free);
  g_free (source->description);
  g_free (source);
}

const char *
lmsim_shot_source_describe (LmsimShotSource *source)
{
  return source->description;
}

/* Box–Muller; one of the pair is thrown away, which costs nothing here. */
static double
gauss (GRand  *rand,
       double  mean,
       double  sd)
{
  double u1 = 1.0 - g_rand_double (rand);   /* (0, 1], so log() is finite */
  double u2 = g_rand_double (rand);

  return mean + sd * sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

static double
deg2rad (double deg)
{
  return deg * G_PI / 180.0;
}

static void
set_mph (FcShot      *shot,
         FcShotField  field,
         double       mph)
{
  fc_shot_set (shot, field, mph * FC_MPS_PER_MPH);
}

static void
set_yd (FcShot      *shot,
        FcShotField  field,
        double       yd)
{
  fc_shot_set (shot, field, yd * FC_METERS_PER_YARD);
}

static FcShot *
generate_putt (LmsimShotSource *source,
               const Club      *c)
{
  GRand *r = source->rand;
  g_autoptr(FcShot) shot = fc_shot_new ();
  double cs = CLAMP (gauss (r, c->club_speed, c->club_speed_sd), 1.5, 15.0);
  double smash = CLAMP (gauss (r, c->smash, 0.05), 1.3, 1.8);
  double bs = cs * smash;
  double path = gauss (r, 0, 1.5);
  double face = 0.5 * path + gauss (r, 0, 0.8);
  double hla = 0.9 * face + 0.1 * path;
  double spin = CLAMP (gauss (r, c->spin, c->spin_sd), 0, 1200);
  /* A putt rolls about as far as its launch speed squared allows on a
   * medium-fast green; only the tiny first hop counts as carry. */
  double total = 0.11 * bs * bs;
  double carry = CLAMP (gauss (r, c->carry, 0.15), 0.05, 2.0);

  set_mph (shot, FC_FIELD_CLUB_SPEED, cs);
  set_mph (shot, FC_FIELD_CLUB_SPEED_AT_IMPACT, cs * CLAMP (gauss (r, 0.99, 0.01), 0.9, 1.0));
  set_mph (shot, FC_FIELD_BALL_SPEED, bs);
  fc_shot_set (shot, FC_FIELD_SMASH_FACTOR, smash);
  fc_shot_set (shot, FC_FIELD_LAUNCH_ANGLE, CLAMP (gauss (r, c->launch, c->launch_sd), -2, 8));
  fc_shot_set (shot, FC_FIELD_LAUNCH_DIRECTION, hla);
  fc_shot_set (shot, FC_FIELD_SPIN_RATE, spin);
  fc_shot_set (shot, FC_FIELD_SPIN_AXIS, 0);
  fc_shot_set (shot, FC_FIELD_ATTACK_ANGLE, gauss (r, c->attack, 1.0));
  fc_shot_set (shot, FC_FIELD_DYNAMIC_LOFT, gauss (r, c->loft, 1.0));
  fc_shot_set (shot, FC_FIELD_CLUB_PATH, path);
  fc_shot_set (shot, FC_FIELD_FACE_ANGLE, face);
  fc_shot_set (shot, FC_FIELD_FACE_TO_PATH, face - path);
  fc_shot_set (shot, FC_FIELD_CLUB_LIE, gauss (r, 0, 1.5));
  fc_shot_set (shot, FC_FIELD_CLOSURE_RATE, gauss (r, 120, 40));
  fc_shot_set (shot, FC_FIELD_IMPACT_OFFSET, gauss (r, 0, 0.006));
  fc_shot_set (shot, FC_FIELD_IMPACT_HEIGHT, gauss (r, 0, 0.003));
  set_yd (shot, FC_FIELD_CARRY, MIN (carry, total));
  set_yd (shot, FC_FIELD_TOTAL, total);
  set_yd (shot, FC_FIELD_TOTAL_SIDE, total * sin (deg2rad (hla)));
  return g_steal_pointer (&shot);
}

static FcShot *
generate_full_swing (LmsimShotSource *source,
                     const Club      *c)
{
  GRand *r = source->rand;
  g_autoptr(FcShot) shot = fc_shot_new ();
  double bs_mean = c->club_speed * c->smash;
  double spin_loft_mean = c->loft - c->attack;
  double cs, smash, bs, aoa, loft, launch, path, face, hla;
  double spin_loft, spin, axis_gain, axis, carry, curve, carry_side;
  double total, total_side, apex, landing, hang;

  cs = CLAMP (gauss (r, c->club_speed, c->club_speed_sd), 0.6 * c->club_speed, 1.4 * c->club_speed);
  /* Centre strikes cannot beat the USGA limit; mishits lose a lot. */
  smash = CLAMP (gauss (r, c->smash, 0.025), c->smash - 0.15, MIN (c->smash + 0.06, 1.52));
  bs = cs * smash;

  aoa = gauss (r, c->attack, c == &clubs[0] ? 2.5 : 1.8);
  loft = gauss (r, c->loft, c->launch_sd * 1.1);
  launch = c->launch + 0.8 * (loft - c->loft) + gauss (r, 0, c->launch_sd * 0.5);

  /* Golfers match the face to their path to a degree; what is left over
   * (face to path) tilts the spin axis, the face mostly starts the ball. */
  path = gauss (r, 0.5, 3.0);
  face = 0.6 * path + gauss (r, 0, 2.0);
  hla = 0.8 * face + 0.2 * path + gauss (r, 0, 0.4);

  spin_loft = loft - aoa;
  spin = c->spin * (1.0 + 0.7 * (spin_loft - spin_loft_mean) / spin_loft_mean) *
         (cs / c->club_speed) + gauss (r, 0, c->spin_sd * 0.4);
  spin = CLAMP (spin, 0.3 * c->spin, 2.0 * c->spin);
  /* Low-spinning clubs turn the same face-to-path into more axis tilt. */
  axis_gain = CLAMP (6500.0 / c->spin, 0.8, 3.0);
  axis = CLAMP (axis_gain * (face - path), -45, 45);

  carry = c->carry * pow (bs / bs_mean, 1.15) *
          (1.0 - 0.06 * (spin - c->spin) / c->spin) *
          (1.0 + 0.008 * (launch - c->launch)) *
          cos (deg2rad (axis)) + gauss (r, 0, 0.015 * c->carry);
  carry = MAX (carry, 0.2 * c->carry);
  curve = 0.5 * carry * sin (deg2rad (axis));
  carry_side = carry * sin (deg2rad (hla)) + curve;
  total = carry * (1.0 + c->roll) + gauss (r, 0, carry * c->roll * 0.3);
  total = MAX (total, carry);
  total_side = carry_side * total / carry * 1.05;
  apex = c->apex * pow (bs / bs_mean, 1.5) * (1.0 + 0.04 * (launch - c->launch)) *
         pow (spin / c->spin, 0.2);
  apex = MAX (apex, 1.0);
  landing = CLAMP (c->landing + 1.2 * (launch - c->launch) + 0.002 * (spin - c->spin), 5, 85);
  hang = c->hang * sqrt (apex / c->apex);

  set_mph (shot, FC_FIELD_BALL_SPEED, bs);
  fc_shot_set (shot, FC_FIELD_LAUNCH_ANGLE, launch);
  fc_shot_set (shot, FC_FIELD_LAUNCH_DIRECTION, hla);
  fc_shot_set (shot, FC_FIELD_SPIN_RATE, spin);
  fc_shot_set (shot, FC_FIELD_SPIN_AXIS, axis);
  fc_shot_set (shot, FC_FIELD_SMASH_FACTOR, smash);

  set_mph (shot, FC_FIELD_CLUB_SPEED, cs);
  /* Off-centre strikes meet the ball with a slower part of the face. */
  set_mph (shot, FC_FIELD_CLUB_SPEED_AT_IMPACT, cs * CLAMP (gauss (r, 0.985, 0.01), 0.93, 1.0));
  fc_shot_set (shot, FC_FIELD_ATTACK_ANGLE, aoa);
  fc_shot_set (shot, FC_FIELD_CLUB_PATH, path);
  fc_shot_set (shot, FC_FIELD_FACE_ANGLE, face);
  fc_shot_set (shot, FC_FIELD_FACE_TO_PATH, face - path);
  fc_shot_set (shot, FC_FIELD_DYNAMIC_LOFT, loft);
  fc_shot_set (shot, FC_FIELD_SPIN_LOFT, spin_loft);
  fc_shot_set (shot, FC_FIELD_CLUB_LIE, gauss (r, 0, 2.0));
  fc_shot_set (shot, FC_FIELD_CLOSURE_RATE, 26.0 * cs * CLAMP (gauss (r, 1.0, 0.15), 0.4, 1.6));
  fc_shot_set (shot, FC_FIELD_IMPACT_OFFSET, gauss (r, 0, 0.008));
  fc_shot_set (shot, FC_FIELD_IMPACT_HEIGHT, gauss (r, c == &clubs[0] ? 0.003 : -0.002, 0.006));

  set_yd (shot, FC_FIELD_CARRY, carry);
  set_yd (shot, FC_FIELD_TOTAL, total);
  set_yd (shot, FC_FIELD_CARRY_SIDE, carry_side);
  set_yd (shot, FC_FIELD_TOTAL_SIDE, total_side);
  set_yd (shot, FC_FIELD_CURVE, curve);
  set_yd (shot, FC_FIELD_MAX_HEIGHT, apex);
  set_yd (shot, FC_FIELD_MAX_HEIGHT_DISTANCE, carry * (c == &clubs[0] ? 0.6 : 0.55));
  fc_shot_set (shot, FC_FIELD_LANDING_ANGLE, landing);
  fc_shot_set (shot, FC_FIELD_HANG_TIME, hang);
  return g_steal_pointer (&shot);
}

static void
drop_club_data (FcShot *shot)
{
  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    if (fc_shot_field_get_info (i)->group == FC_FIELD_GROUP_CLUB)
      fc_shot_unset (shot, i);
  /* A quotient with a club speed no one measured. */
  fc_shot_unset (shot, FC_FIELD_SMASH_FACTOR);
}

FcShot *
lmsim_shot_source_next (LmsimShotSource *source)
{
  g_autoptr(FcShot) shot = NULL;

  g_return_val_if_fail (source != NULL, NULL);

  if (source->replay)
    {
      GPtrArray *shots = source->replay->shots;

      shot = fc_shot_copy (g_ptr_array_index (shots, source->next % shots->len));
      source->next++;
      /* Exports often give only one spin representation; every device
       * protocol here wants both. */
      fc_shot_complete_spin (shot);
    }
  else
    {
      int index = source->club;
      const Club *c;

      if (index == BAG_INDEX)
        index = g_rand_int_range (source->rand, 0, BAG_INDEX);
      c = &clubs[index];
      /* The tails of a Gaussian can leave the plausible range the
       * receiver enforces; a real monitor would not report those. */
      for (guint attempt = 0; attempt < 20; attempt++)
        {
          g_clear_pointer (&shot, fc_shot_free);
          shot = index == PUTTER_INDEX ? generate_putt (source, c) : generate_full_swing (source, c);
          fc_shot_complete_spin (shot);
          if (fc_shot_validate (shot, NULL))
            break;
        }
      shot->club = g_strdup (c->short_name);
      shot->source_kind = FC_SOURCE_DEVICE;
      shot->source_protocol = g_strdup ("lmsim");
    }
  if (source->ball_only)
    drop_club_data (shot);
  return g_steal_pointer (&shot);
}
