/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-import-csv"

#include "fc-import.h"
#include "fc-csv.h"
#include "fc-error.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

/*
 * CSV exports of launch-monitor software, parsed into an FcImportBatch.
 *
 * The format is recognised from the header names alone, and every
 * numeric column takes its unit from the file (a units row under the
 * header, or parentheses in the header text): the same software writes
 * yards or metres, mph or km/h depending on a user setting, and columns
 * move between versions. Anything we cannot read with certainty fails
 * the whole import with the file, line and column, so that nothing is
 * stored half right.
 */

typedef enum {
  ROLE_IGNORE,
  ROLE_VALUE,        /* a measured value: field, unit, sign */
  ROLE_ROLL,         /* FlightScope roll: total = carry + roll when no total */
  ROLE_CLUB,
  ROLE_CLUB_ALT,     /* the club when the ROLE_CLUB cell is empty */
  ROLE_TIME,
  ROLE_TAGS,
  ROLE_USE_IN_STAT,
  ROLE_SPIN_TYPE,
  ROLE_SHOT_LABEL,   /* FlightScope: "Avg" and "Dev" rows are summaries */
} Role;

typedef struct {
  const char  *name;    /* header name without its unit, compared case-insensitively */
  Role         role;
  FcShotField  field;   /* ROLE_VALUE; for ROLE_ROLL the field whose quantity applies */
  gint8        sign;    /* -1 where the format's positive side is our negative side */
} ColumnSpec;

enum {
  FORMAT_UNITS_ROW    = 1 << 0,  /* units in a row under the header: "[mph]" */
  FORMAT_HEADER_UNITS = 1 << 1,  /* units in the header text: "Carry (yds)" */
  FORMAT_SENTINEL     = 1 << 2,  /* 16777215 means "not measured" (Foresight) */
  FORMAT_LR_TEXT      = 1 << 3,  /* "4.5 R" / "3.0 L" cells and "-" for none (FlightScope) */
};

typedef struct {
  const char        *name;
  const char        *label;
  guint              flags;
  const char *const *signature;   /* header names only this format writes */
  const ColumnSpec  *columns;
  gsize              n_columns;
} FormatInfo;

#define V(n, f)    { n, ROLE_VALUE, FC_FIELD_##f, 1 }
#define NEG(n, f)  { n, ROLE_VALUE, FC_FIELD_##f, -1 }
#define T(n, r)    { n, r, 0, 1 }

/* TrackMan TPS. Sign conventions are ours already: the field table
 * follows TrackMan's definitions. The "(Sim)" columns of TPS 2023 hold
 * simulated values in other units and are deliberately not listed. */
static const ColumnSpec trackman_columns[] = {
  V ("Club Speed", CLUB_SPEED),
  V ("Attack Angle", ATTACK_ANGLE),
  V ("Club Path", CLUB_PATH),
  V ("Low Point", LOW_POINT_DISTANCE),
  V ("Swing Plane", SWING_PLANE),
  V ("Swing Direction", SWING_DIRECTION),
  V ("Dyn. Loft", DYNAMIC_LOFT),
  V ("Spin Loft", SPIN_LOFT),
  V ("Face Angle", FACE_ANGLE),
  V ("Face To Path", FACE_TO_PATH),
  V ("Ball Speed", BALL_SPEED),
  V ("Smash Factor", SMASH_FACTOR),
  V ("Launch Angle", LAUNCH_ANGLE),
  V ("Launch Direction", LAUNCH_DIRECTION),
  V ("Spin Rate", SPIN_RATE),
  V ("Spin Axis", SPIN_AXIS),
  V ("Max Height - Dist.", MAX_HEIGHT_DISTANCE),
  V ("Max Height - Height", MAX_HEIGHT),
  V ("Carry Flat - Length", CARRY),
  V ("Carry Flat - Side", CARRY_SIDE),
  V ("Carry Flat - Land. Angle", LANDING_ANGLE),
  V ("Carry Flat - Ball Speed", LANDING_BALL_SPEED),
  V ("Carry Flat - Time", HANG_TIME),
  V ("Total", TOTAL),
  V ("Est. Total Flat - Length", TOTAL),
  V ("Side Total", TOTAL_SIDE),
  V ("Est. Total Flat - Side", TOTAL_SIDE),
  V ("Dynamic Lie", DYNAMIC_LIE),
  V ("Impact Offset", IMPACT_OFFSET),
  V ("Impact Height", IMPACT_HEIGHT),
  V ("Curve", CURVE),
  T ("Club", ROLE_CLUB),
  T ("Date", ROLE_TIME),
  T ("Use In Stat", ROLE_USE_IN_STAT),
  T ("Tags", ROLE_TAGS),
  T ("Spin Rate Type", ROLE_SPIN_TYPE),
};

static const char *const trackman_signature[] = {
  "Carry Flat - Length", "Carry Flat - Side", "Carry Flat - Land. Angle",
  "Max Height - Height", "Max Height - Dist.", "Dyn. Loft", "Side Total",
  "Est. Total Flat - Length", "Est. Total Flat - Side", "Use In Stat", "TMD No",
  NULL
};

/* Foresight FSX Live. The header states each sign convention, e.g.
 * "(deg L-/R+)"; a stated convention overrides the sign below, which
 * only applies when a column comes without one. */
static const ColumnSpec fsx_live_columns[] = {
  V ("Ball Speed", BALL_SPEED),
  V ("Push/Pull", LAUNCH_DIRECTION),
  V ("Launch Angle", LAUNCH_ANGLE),
  V ("Back Spin", BACK_SPIN),
  V ("Side Spin", SIDE_SPIN),
  V ("Total Spin", SPIN_RATE),
  V ("Carry", CARRY),
  V ("Total Distance", TOTAL),
  V ("Offline", CARRY_SIDE),
  V ("Peak Height", MAX_HEIGHT),
  V ("Descent Angle", LANDING_ANGLE),
  V ("Club Speed", CLUB_SPEED),
  V ("Club Speed at Impact Location", CLUB_SPEED_AT_IMPACT),
  V ("Efficiency", SMASH_FACTOR),
  V ("Angle of Attack", ATTACK_ANGLE),
  V ("Club Path", CLUB_PATH),
  V ("Face to Target", FACE_ANGLE),
  V ("Lie", CLUB_LIE),
  V ("Loft", DYNAMIC_LOFT),
  /* Foresight measures toe-/heel+; our impact offset is toe-positive. */
  NEG ("Face Impact Horizontal", IMPACT_OFFSET),
  V ("Face Impact Vertical", IMPACT_HEIGHT),
  V ("Closure Rate", CLOSURE_RATE),
  T ("Club Name", ROLE_CLUB),
  T ("Club Type", ROLE_CLUB_ALT),
  T ("Shot Created Date", ROLE_TIME),
};

static const char *const fsx_live_signature[] = {
  "Push/Pull", "Efficiency", "Shot Created Date", "Face Impact Horizontal",
  "Face Impact Vertical", "Club Speed at Impact Location", "Face to Target",
  NULL
};

/* Foresight FSX 2020 LastShot.CSV: metric, no sign annotations. */
static const ColumnSpec fsx2020_columns[] = {
  V ("Club head Speed", CLUB_SPEED),
  V ("Ball Speed", BALL_SPEED),
  V ("Launch Angle", LAUNCH_ANGLE),
  V ("Azimuth", LAUNCH_DIRECTION),
  V ("Side Spin", SIDE_SPIN),
  V ("Back Spin", BACK_SPIN),
  V ("Total Spin", SPIN_RATE),
  V ("Descent Angle", LANDING_ANGLE),
  V ("Carry", CARRY),
  V ("Total Distance", TOTAL),
  V ("Offline", CARRY_SIDE),
  V ("Peak Height", MAX_HEIGHT),
  V ("Vert Path", ATTACK_ANGLE),
  V ("Horiz Path", CLUB_PATH),
  V ("Face to Path", FACE_TO_PATH),
  V ("Face to Target", FACE_ANGLE),
  V ("Lie", CLUB_LIE),
  V ("Loft", DYNAMIC_LOFT),
  V ("Closure Rate", CLOSURE_RATE),
  /* Same toe-/heel+ convention as FSX Live, written without the note. */
  NEG ("Horiz Impact", IMPACT_OFFSET),
  V ("Vert Impact", IMPACT_HEIGHT),
  T ("Club", ROLE_CLUB),
};

static const char *const fsx2020_signature[] = {
  "Club head Speed", "Azimuth", "Vert Path", "Horiz Path", "Horiz Impact",
  "Vert Impact", "Distance to Pin", "Shot ID",
  NULL
};

/* FlightScope: the original Mevo app ("Ball Speed (mph)", "Launch Angle
 * V (°)") and FS Golf / Mevo+ ("Ball (mph)", "Launch H (°)", "Lateral
 * (yds)" with "4.5 R" cells). "Club" is the club speed when it has a unit
 * and the club's name when it has none. */
static const ColumnSpec flightscope_columns[] = {
  V ("Ball Speed", BALL_SPEED),
  V ("Ball", BALL_SPEED),
  V ("Club Speed", CLUB_SPEED),
  V ("Club", CLUB_SPEED),
  V ("Smash", SMASH_FACTOR),
  V ("Smash Factor", SMASH_FACTOR),
  V ("Carry Distance", CARRY),
  V ("Carry", CARRY),
  V ("Total Distance", TOTAL),
  V ("Total", TOTAL),
  { "Roll", ROLE_ROLL, FC_FIELD_TOTAL, 1 },
  V ("Lateral", CARRY_SIDE),
  V ("Height", MAX_HEIGHT),
  V ("Max Height", MAX_HEIGHT),
  V ("Time", HANG_TIME),
  V ("Flight Time", HANG_TIME),
  V ("Launch Angle V", LAUNCH_ANGLE),
  V ("Launch V", LAUNCH_ANGLE),
  V ("Launch Angle", LAUNCH_ANGLE),
  V ("Launch Angle H", LAUNCH_DIRECTION),
  V ("Launch H", LAUNCH_DIRECTION),
  V ("Launch Direction", LAUNCH_DIRECTION),
  V ("Spin", SPIN_RATE),
  V ("Spin Rate", SPIN_RATE),
  V ("Spin Axis", SPIN_AXIS),
  V ("AOA", ATTACK_ANGLE),
  V ("Angle of Attack", ATTACK_ANGLE),
  V ("Spin Loft", SPIN_LOFT),
  V ("Dynamic Loft", DYNAMIC_LOFT),
  V ("Club Path", CLUB_PATH),
  V ("FTP", FACE_TO_PATH),
  V ("Face to Path", FACE_TO_PATH),
  V ("FTT", FACE_ANGLE),
  V ("Face to Target", FACE_ANGLE),
  V ("Swing V", SWING_PLANE),
  V ("Swing H", SWING_DIRECTION),
  V ("DescentV", LANDING_ANGLE),
  V ("Descent V", LANDING_ANGLE),
  V ("Descent Angle", LANDING_ANGLE),
  V ("Curve Dist", CURVE),
  V ("Curve", CURVE),
  /* FlightScope does not document the sign; toe-positive like TrackMan
   * is assumed. */
  V ("Lateral Impact", IMPACT_OFFSET),
  V ("Vertical Impact", IMPACT_HEIGHT),
  T ("Club", ROLE_CLUB),
  T ("Date", ROLE_TIME),
  T ("Shot", ROLE_SHOT_LABEL),
};

static const char *const flightscope_signature[] = {
  "Launch Angle V", "Launch Angle H", "Launch V", "Launch H", "Smash",
  "Carry Distance", "Lateral", "AOA", "DescentV", "Curve Dist", "Swing V",
  "Swing H", "FTP", "FTT", "Shot Type", "Roll",
  NULL
};

/* Garmin Golf app (R10, R50). */
static const ColumnSpec garmin_columns[] = {
  V ("Club Speed", CLUB_SPEED),
  V ("Attack Angle", ATTACK_ANGLE),
  V ("Club Path", CLUB_PATH),
  V ("Club Face", FACE_ANGLE),
  V ("Face to Path", FACE_TO_PATH),
  V ("Ball Speed", BALL_SPEED),
  V ("Smash Factor", SMASH_FACTOR),
  V ("Launch Angle", LAUNCH_ANGLE),
  V ("Launch Direction", LAUNCH_DIRECTION),
  V ("Backspin", BACK_SPIN),
  /* The app's Sidespin is positive for a ball curving LEFT: its rows
   * have Sidespin = -Spin Rate * sin(Spin Axis), e.g. +1189 rpm with a
   * -12.26 deg axis and the ball landing 8.5 m left. Ours is positive
   * for a ball curving right. */
  NEG ("Sidespin", SIDE_SPIN),
  V ("Spin Rate", SPIN_RATE),
  V ("Spin Axis", SPIN_AXIS),
  V ("Apex Height", MAX_HEIGHT),
  V ("Carry Distance", CARRY),
  V ("Carry Deviation Angle", CARRY_SIDE_ANGLE),
  V ("Carry Deviation Distance", CARRY_SIDE),
  V ("Total Distance", TOTAL),
  V ("Total Deviation Angle", TOTAL_SIDE_ANGLE),
  V ("Total Deviation Distance", TOTAL_SIDE),
  V ("Air Density", AIR_DENSITY),
  V ("Temperature", AIR_TEMPERATURE),
  V ("Air Pressure", AIR_PRESSURE),
  V ("Relative Humidity", RELATIVE_HUMIDITY),
  T ("Club Type", ROLE_CLUB),
  T ("Club Name", ROLE_CLUB_ALT),
  T ("Date", ROLE_TIME),
  T ("Spin Rate Type", ROLE_SPIN_TYPE),
  T ("Tag", ROLE_TAGS),
};

static const char *const garmin_signature[] = {
  "Club Face", "Backspin", "Sidespin", "Apex Height", "Carry Deviation Angle",
  "Carry Deviation Distance", "Total Deviation Angle", "Total Deviation Distance",
  "Air Density", "Relative Humidity",
  NULL
};

#undef V
#undef NEG
#undef T

static const FormatInfo formats[] = {
  { "trackman-tps", "TrackMan TPS CSV export", FORMAT_UNITS_ROW,
    trackman_signature, trackman_columns, G_N_ELEMENTS (trackman_columns) },
  { "foresight-fsx-live", "Foresight FSX Live CSV export",
    FORMAT_HEADER_UNITS | FORMAT_SENTINEL,
    fsx_live_signature, fsx_live_columns, G_N_ELEMENTS (fsx_live_columns) },
  { "foresight-fsx2020-lastshot", "Foresight FSX 2020 LastShot.CSV",
    FORMAT_HEADER_UNITS | FORMAT_SENTINEL,
    fsx2020_signature, fsx2020_columns, G_N_ELEMENTS (fsx2020_columns) },
  { "flightscope", "FlightScope CSV export", FORMAT_HEADER_UNITS | FORMAT_LR_TEXT,
    flightscope_signature, flightscope_columns, G_N_ELEMENTS (flightscope_columns) },
  { "garmin-golf", "Garmin Golf app CSV export", FORMAT_UNITS_ROW,
    garmin_signature, garmin_columns, G_N_ELEMENTS (garmin_columns) },
};

/* Fewer matching signature headers than this is not a recognition. */
#define MIN_SIGNATURE_HITS 2

/* Foresight writes 2^24 - 1 for a value it did not measure. */
#define FORESIGHT_NOT_MEASURED 16777215.0

typedef struct {
  Role         role;
  FcShotField  field;
  FcUnit       unit;
  double       sign;
  char        *name;   /* header text as written, for messages */
} ColumnPlan;

typedef struct {
  const char       *display_name;
  const FormatInfo *format;
  ColumnPlan       *plans;
  guint             n_columns;
  int               field_column[FC_SHOT_N_FIELDS];   /* -1: no column */
  int               label_column;                     /* ROLE_SHOT_LABEL, or -1 */
  char             *protocol;
  char             *device_id;
  GBytes           *bytes;    /* the file: rows' raw payloads share its memory */
  GStringChunk     *keys;
  GHashTable       *seen;     /* row content hash → occurrences so far */
} Parser;

static void
parser_clear (Parser *self)
{
  for (guint i = 0; i < self->n_columns; i++)
    g_free (self->plans[i].name);
  g_clear_pointer (&self->plans, g_free);
  g_clear_pointer (&self->protocol, g_free);
  g_clear_pointer (&self->device_id, g_free);
  g_clear_pointer (&self->seen, g_hash_table_unref);
  if (self->keys)
    g_string_chunk_free (self->keys);
  self->keys = NULL;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Parser, parser_clear)

/* File text in an error message: valid UTF-8 (the message may end up in
 * a GTK label) and short enough to read. */
static char *
printable (const char *text,
           gssize      len)
{
  const glong max_chars = 48;
  g_autofree char *valid = NULL;

  if (len < 0)
    len = strlen (text);
  /* Invalid bytes and NULs become U+FFFD. */
  valid = g_utf8_make_valid (text, len);
  if (g_utf8_strlen (valid, -1) > max_chars)
    {
      g_autofree char *head = g_utf8_substring (valid, 0, max_chars);
      return g_strconcat (head, "…", NULL);
    }
  return g_steal_pointer (&valid);
}

static void set_cell_error (GError     **error,
                            const Parser *self,
                            FcError      code,
                            guint        line,
                            guint        column,
                            const char  *format,
                            ...) G_GNUC_PRINTF (6, 7);

/* "driver.csv, line 12, column 'Ball Speed': ..."; a column without a
 * header name is given by its number. */
static void
set_cell_error (GError     **error,
                const Parser *self,
                FcError      code,
                guint        line,
                guint        column,
                const char  *format,
                ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);

  if (column < self->n_columns && self->plans[column].name[0] != '\0')
    {
      g_autofree char *name = printable (self->plans[column].name, -1);

      g_set_error (error, FC_ERROR, code, "%s, line %u, column '%s': %s",
                   self->display_name, line, name, detail);
    }
  else
    g_set_error (error, FC_ERROR, code, "%s, line %u, column %u: %s",
                 self->display_name, line, column + 1, detail);
}

/* "Carry (yds)" → name "Carry", unit "yds". Only a trailing
 * parenthesis counts, so "Spin Axis (Sim)" in a units-row format is
 * matched whole and never mistaken for "Spin Axis". */
static void
split_header (const char  *text,
              gsize        len,
              char       **name,
              char       **unit)
{
  const char *open = NULL;

  if (len > 0 && text[len - 1] == ')')
    for (gsize i = len - 1; i > 0; i--)
      if (text[i - 1] == '(')
        {
          open = text + i - 1;
          break;
        }

  if (open == NULL)
    {
      *name = g_strndup (text, len);
      *unit = NULL;
      return;
    }

  {
    const char *n = text;
    gsize n_len = open - text;
    const char *u = open + 1;
    gsize u_len = text + len - 1 - u;

    fc_csv_strip (&n, &n_len);
    fc_csv_strip (&u, &u_len);
    *name = g_strndup (n, n_len);
    *unit = g_strndup (u, u_len);
  }
}

static char *
field_to_string (const FcCsvField *field)
{
  const char *text = field->text;
  gsize len = field->len;

  fc_csv_strip (&text, &len);
  return g_strndup (text, len);
}

static gboolean
names_equal (const char *a,
             const char *b)
{
  /* Collapse runs of blanks: exports are hand-edited in spreadsheets. */
  for (;;)
    {
      while (*a == ' ' && (a[1] == ' ' || a[1] == '\0'))
        a++;
      while (*b == ' ' && (b[1] == ' ' || b[1] == '\0'))
        b++;
      if (*a == '\0' || *b == '\0')
        return *a == *b;
      if (g_ascii_tolower (*a) != g_ascii_tolower (*b))
        return FALSE;
      a++, b++;
    }
}

static guint
score_format (const FormatInfo  *format,
              char             **names,
              guint              n_names)
{
  guint hits = 0;

  for (const char *const *sig = format->signature; *sig; sig++)
    for (guint i = 0; i < n_names; i++)
      if (names_equal (names[i], *sig))
        {
          hits++;
          break;
        }
  return hits;
}

static const FormatInfo *
detect_format (const Parser      *self,
               const FcCsvRecord *header,
               GError           **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) found = g_string_new (NULL);
  g_autofree char *found_text = NULL;
  const FormatInfo *best = NULL;
  guint best_hits = 0;

  for (guint i = 0; i < header->n_fields; i++)
    {
      g_autofree char *text = field_to_string (&header->fields[i]);
      char *name, *unit;

      split_header (text, strlen (text), &name, &unit);
      g_free (unit);
      g_ptr_array_add (names, name);
    }

  for (gsize f = 0; f < G_N_ELEMENTS (formats); f++)
    {
      guint hits = score_format (&formats[f], (char **) names->pdata, names->len);

      if (hits > best_hits)
        {
          best = &formats[f];
          best_hits = hits;
        }
    }
  if (best_hits >= MIN_SIGNATURE_HITS)
    return best;

  for (guint i = 0; i < header->n_fields && found->len < 200; i++)
    {
      g_autofree char *text = field_to_string (&header->fields[i]);

      if (found->len > 0)
        g_string_append (found, ", ");
      g_string_append (found, text);
    }
  found_text = g_utf8_make_valid (found->str, found->len);
  if (g_utf8_strlen (found_text, -1) > 200)
    {
      char *cut = g_utf8_substring (found_text, 0, 200);
      g_free (found_text);
      found_text = g_strconcat (cut, "…", NULL);
      g_free (cut);
    }
  g_set_error (error, FC_ERROR, FC_ERROR_UNKNOWN_FORMAT,
               "%s is not an export FitClip Agent can read (expected TrackMan TPS, "
               "Foresight FSX, FlightScope or Garmin Golf CSV); its header on line %u is: %s",
               self->display_name, header->line, found_text);
  return NULL;
}

/* Sign annotations of Foresight headers, "(deg L-/R+)": the word marked
 * '+' is the format's positive side. */
static const struct {
  const char *word;
  gint8       sign;
} positive_sides[] = {
  { "r", 1 }, { "right", 1 }, { "l", -1 }, { "left", -1 },
  { "in-out", 1 }, { "out-in", -1 },
  { "open", 1 }, { "closed", -1 },
  { "toe up", 1 }, { "toe down", -1 },
  { "high", 1 }, { "low", -1 }, { "up", 1 }, { "down", -1 },
  { "toe", 1 }, { "heel", -1 },
};

static gboolean
parse_sign_note (const char *note,
                 int        *sign)
{
  g_auto(GStrv) parts = g_strsplit (note, "/", -1);

  for (guint i = 0; parts[i]; i++)
    {
      g_strstrip (parts[i]);
      gsize len = strlen (parts[i]);

      if (len < 2 || parts[i][len - 1] != '+')
        continue;
      parts[i][len - 1] = '\0';
      g_strstrip (parts[i]);
      for (gsize k = 0; k < G_N_ELEMENTS (positive_sides); k++)
        if (g_ascii_strcasecmp (parts[i], positive_sides[k].word) == 0)
          {
            *sign = positive_sides[k].sign;
            return TRUE;
          }
      return FALSE;
    }
  return FALSE;
}

static const ColumnSpec *
find_spec (const FormatInfo *format,
           const char       *name,
           gboolean          prefer_value)
{
  const ColumnSpec *value = NULL, *text = NULL;

  for (gsize i = 0; i < format->n_columns; i++)
    {
      const ColumnSpec *spec = &format->columns[i];

      if (!names_equal (spec->name, name))
        continue;
      if (spec->role == ROLE_VALUE || spec->role == ROLE_ROLL)
        value = value ? value : spec;
      else
        text = text ? text : spec;
    }
  if (prefer_value)
    return value ? value : text;
  return text ? text : value;
}

static gboolean
number_cell (const char *text,
             gsize       len)
{
  char *end;

  fc_csv_strip (&text, &len);
  if (len == 0)
    return FALSE;
  g_ascii_strtod (text, &end);
  return end == text + len;
}

/* Decide once per file what each column is and in which unit. */
static gboolean
plan_columns (Parser            *self,
              const FcCsvRecord *header,
              const FcCsvRecord *units,
              GError           **error)
{
  const FormatInfo *format = self->format;
  gboolean units_row = (format->flags & FORMAT_UNITS_ROW) != 0;
  gboolean have_roll = FALSE;

  self->n_columns = header->n_fields;
  self->plans = g_new0 (ColumnPlan, self->n_columns);
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    self->field_column[f] = -1;
  self->label_column = -1;

  for (guint i = 0; i < header->n_fields; i++)
    self->plans[i].name = field_to_string (&header->fields[i]);

  /* A data row where the units row should be: a number is never a unit. */
  if (units_row && units != NULL)
    for (guint i = 0; i < units->n_fields; i++)
      if (number_cell (units->fields[i].text, units->fields[i].len))
        {
          g_autofree char *shown = printable (units->fields[i].text, units->fields[i].len);

          g_strstrip (shown);
          set_cell_error (error, self, FC_ERROR_UNKNOWN_UNIT, units->line, i,
                          "expected the units row (such as '[mph]') under the header, "
                          "found the number '%s'", shown);
          return FALSE;
        }

  for (guint i = 0; i < header->n_fields; i++)
    {
      ColumnPlan *plan = &self->plans[i];
      g_autofree char *name = NULL;
      g_autofree char *unit_text = NULL;
      const ColumnSpec *spec;
      const FcShotFieldInfo *info;
      guint unit_line;
      int sign;

      if (units_row)
        {
          name = g_strdup (plan->name);
          if (units != NULL && i < units->n_fields)
            unit_text = field_to_string (&units->fields[i]);
          unit_line = units ? units->line : header->line + 1;
        }
      else
        {
          split_header (plan->name, strlen (plan->name), &name, &unit_text);
          unit_line = header->line;
        }

      spec = find_spec (format, name, !units_row ? unit_text != NULL : TRUE);
      if (spec == NULL)
        continue;

      if (spec->role != ROLE_VALUE && spec->role != ROLE_ROLL)
        {
          gboolean taken = FALSE;

          /* First column wins (FlightScope repeats headers). */
          for (guint k = 0; k < i; k++)
            if (self->plans[k].role == spec->role)
              taken = TRUE;
          if (!taken)
            plan->role = spec->role;
          if (!taken && spec->role == ROLE_SHOT_LABEL)
            self->label_column = i;
          continue;
        }

      if (spec->role == ROLE_VALUE && self->field_column[spec->field] >= 0)
        continue;
      if (spec->role == ROLE_ROLL && have_roll)
        continue;

      info = fc_shot_field_get_info (spec->field);
      sign = spec->sign;

      if (unit_text == NULL)
        unit_text = g_strdup ("");

      /* Only a header, without even its units row: nothing to convert,
       * and the caller reports the file as having no shots. */
      if (units_row && units == NULL)
        continue;

      plan->unit = fc_unit_parse (unit_text);
      if (plan->unit == FC_UNIT_INVALID && !units_row && strchr (unit_text, ' ') != NULL)
        {
          /* "deg L-/R+": a unit, then the sign convention. */
          const char *blank = strchr (unit_text, ' ');
          g_autofree char *first = g_strndup (unit_text, blank - unit_text);

          plan->unit = fc_unit_parse (first);
          if (plan->unit != FC_UNIT_INVALID && !parse_sign_note (blank + 1, &sign))
            {
              g_autofree char *shown = printable (blank + 1, -1);
              set_cell_error (error, self, FC_ERROR_UNKNOWN_UNIT, unit_line, i,
                              "unknown sign convention '%s'", shown);
              return FALSE;
            }
        }

      if (plan->unit == FC_UNIT_INVALID && unit_text[0] == '\0')
        {
          set_cell_error (error, self, FC_ERROR_UNKNOWN_UNIT, unit_line, i,
                          "no %s unit given; the export must state one",
                          fc_quantity_get_name (info->quantity));
          return FALSE;
        }
      if (plan->unit == FC_UNIT_INVALID)
        {
          g_autofree char *shown = printable (unit_text, -1);
          set_cell_error (error, self, FC_ERROR_UNKNOWN_UNIT, unit_line, i,
                          "unknown unit '%s'", shown);
          return FALSE;
        }
      if (!fc_quantity_accepts_unit (info->quantity, plan->unit))
        {
          g_autofree char *shown = printable (unit_text, -1);
          if (unit_text[0] == '\0' || plan->unit == FC_UNIT_RATIO)
            set_cell_error (error, self, FC_ERROR_UNKNOWN_UNIT, unit_line, i,
                            "no %s unit given; the export must state one",
                            fc_quantity_get_name (info->quantity));
          else
            set_cell_error (error, self, FC_ERROR_UNKNOWN_UNIT, unit_line, i,
                            "unit '%s' does not measure %s", shown,
                            fc_quantity_get_name (info->quantity));
          return FALSE;
        }

      plan->role = spec->role;
      plan->field = spec->field;
      plan->sign = sign;
      if (spec->role == ROLE_VALUE)
        self->field_column[spec->field] = i;
      else
        have_roll = TRUE;
    }

  return TRUE;
}

/* Values whose sign FlightScope writes as a trailing L or R. */
static gboolean
field_is_lateral (FcShotField field)
{
  switch (field)
    {
    case FC_FIELD_LAUNCH_DIRECTION:
    case FC_FIELD_SPIN_AXIS:
    case FC_FIELD_SIDE_SPIN:
    case FC_FIELD_CLUB_PATH:
    case FC_FIELD_FACE_ANGLE:
    case FC_FIELD_FACE_TO_PATH:
    case FC_FIELD_SWING_DIRECTION:
    case FC_FIELD_CARRY_SIDE:
    case FC_FIELD_TOTAL_SIDE:
    case FC_FIELD_CARRY_SIDE_ANGLE:
    case FC_FIELD_TOTAL_SIDE_ANGLE:
    case FC_FIELD_CURVE:
    case FC_FIELD_LOW_POINT_SIDE:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Parse one numeric cell to SI. NAN means "not measured". */
static gboolean
parse_value (const Parser     *self,
             const ColumnPlan *plan,
             const char       *text,
             gsize             len,
             guint             line,
             guint             column,
             double           *value_si,
             GError          **error)
{
  guint flags = self->format->flags;
  const char *cell = text;
  gsize cell_len = len;
  int direction = 0;
  double v;

  *value_si = NAN;
  if (len == 0)
    return TRUE;

  if (flags & FORMAT_LR_TEXT)
    {
      if (len == 1 && text[0] == '-')
        return TRUE;
      if (len > 1 && field_is_lateral (plan->field))
        {
          char last = g_ascii_toupper (text[len - 1]);

          if (last == 'L' || last == 'R')
            {
              direction = last == 'R' ? 1 : -1;
              len--;
              fc_csv_strip (&text, &len);
            }
        }
    }

  /* Only plain decimal numbers: strtod would also take "nan", "inf" and
   * hexadecimal, none of which a launch monitor writes. */
  if (!fc_csv_parse_decimal (text, len, &v))
    {
      g_autofree char *shown = printable (cell, cell_len);
      set_cell_error (error, self, FC_ERROR_INVALID_INPUT, line, column,
                      "'%s' is not a number", shown);
      return FALSE;
    }
  if (!isfinite (v))
    {
      g_autofree char *shown = printable (cell, cell_len);
      set_cell_error (error, self, FC_ERROR_INVALID_INPUT, line, column,
                      "'%s' is not a finite number", shown);
      return FALSE;
    }
  if ((flags & FORMAT_SENTINEL) && v == FORESIGHT_NOT_MEASURED)
    return TRUE;
  if (direction != 0)
    {
      if (v < 0)
        {
          g_autofree char *shown = printable (cell, cell_len);
          set_cell_error (error, self, FC_ERROR_INVALID_INPUT, line, column,
                          "'%s' has both a sign and a direction", shown);
          return FALSE;
        }
      v *= direction;
    }

  v = fc_unit_to_si (plan->unit, v) * plan->sign;
  *value_si = v == 0 ? 0.0 : v;   /* no -0 from a sign flip */
  return TRUE;
}

static gboolean
is_false (const char *text)
{
  return g_ascii_strcasecmp (text, "false") == 0 ||
         g_ascii_strcasecmp (text, "no") == 0 ||
         strcmp (text, "0") == 0;
}

static gboolean
is_summary_label (const char *text)
{
  static const char *const labels[] = {
    "avg", "average", "dev", "deviation", "std dev", "std. dev.", "mean",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (labels); i++)
    if (g_ascii_strcasecmp (text, labels[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Text from the file, safe to store and show. */
static char *
text_dup (const char *text,
          gsize       len)
{
  if (g_utf8_validate_len (text, len, NULL))
    return g_strndup (text, len);
  return g_utf8_make_valid (text, len);
}

static void
add_tags (FcShot     *shot,
          const char *text,
          gsize       len)
{
  g_autofree char *copy = text_dup (text, len);
  char *p = copy;

  while (p != NULL)
    {
      char *next = strpbrk (p, ";,");

      if (next)
        *next++ = '\0';
      g_strstrip (p);
      if (*p != '\0')
        fc_shot_add_tag (shot, p);
      p = next;
    }
}

/* Parse one data row. Returns NULL with no error for a row to skip. */
static FcShot *
parse_row (Parser            *self,
           const FcCsvRecord *record,
           guint             *dropped,
           GError           **error)
{
  g_autoptr(FcShot) shot = fc_shot_new ();
  const char *club = NULL, *club_alt = NULL;
  gsize club_len = 0, club_alt_len = 0;
  gboolean any_text = FALSE;
  double roll = NAN;
  int roll_column = -1;
  gboolean total_from_roll = FALSE;
  guint line = record->line;

  /* Per-club average and deviation rows of FlightScope exports are not
   * shots; skip them before their cells are judged as values. */
  if (self->label_column >= 0 && (guint) self->label_column < record->n_fields)
    {
      const FcCsvField *cell = &record->fields[self->label_column];
      const char *text = cell->text;
      gsize len = cell->len;
      g_autofree char *label = NULL;

      fc_csv_strip (&text, &len);
      label = g_strndup (text, len);
      if (is_summary_label (label))
        return NULL;
    }

  for (guint i = 0; i < record->n_fields; i++)
    {
      const char *text = record->fields[i].text;
      gsize len = record->fields[i].len;
      const ColumnPlan *plan;

      fc_csv_strip (&text, &len);
      if (len == 0)
        continue;
      any_text = TRUE;

      if (i >= self->n_columns)
        {
          g_autofree char *shown = printable (text, len);
          set_cell_error (error, self, FC_ERROR_INVALID_INPUT, line, i,
                          "'%s' is beyond the last header column (the header has %u)",
                          shown, self->n_columns);
          return NULL;
        }

      plan = &self->plans[i];
      switch (plan->role)
        {
        case ROLE_IGNORE:
          break;

        case ROLE_VALUE:
        case ROLE_ROLL:
          {
            double v;

            if (!parse_value (self, plan, text, len, line, i, &v, error))
              return NULL;
            if (plan->role == ROLE_ROLL)
              {
                roll = v;
                roll_column = i;
              }
            else
              fc_shot_set (shot, plan->field, v);
          }
          break;

        case ROLE_CLUB:
          club = text, club_len = len;
          break;

        case ROLE_CLUB_ALT:
          club_alt = text, club_alt_len = len;
          break;

        case ROLE_TIME:
          shot->device_time = text_dup (text, len);
          break;

        case ROLE_TAGS:
          add_tags (shot, text, len);
          break;

        case ROLE_USE_IN_STAT:
          {
            g_autofree char *value = g_strndup (text, len);

            if (is_false (value))
              {
                shot->excluded = TRUE;
                shot->exclude_reason = g_strdup ("Use In Stat was off in TrackMan");
              }
          }
          break;

        case ROLE_SPIN_TYPE:
          if (len == 8 && g_ascii_strncasecmp (text, "Measured", len) == 0)
            shot->spin_estimated = 0;
          else if (len == 9 && g_ascii_strncasecmp (text, "Estimated", len) == 0)
            shot->spin_estimated = 1;
          break;

        case ROLE_SHOT_LABEL:
          break;

        default:
          g_assert_not_reached ();
        }
    }

  if (!any_text)
    return NULL;

  if (club != NULL)
    shot->club = text_dup (club, club_len);
  else if (club_alt != NULL)
    shot->club = text_dup (club_alt, club_alt_len);

  /* FlightScope gives roll rather than total on some exports. */
  if (!isnan (roll) && !fc_shot_has (shot, FC_FIELD_TOTAL) && fc_shot_has (shot, FC_FIELD_CARRY))
    {
      fc_shot_set (shot, FC_FIELD_TOTAL, fc_shot_get (shot, FC_FIELD_CARRY) + roll);
      total_from_roll = TRUE;
    }

  fc_shot_complete_spin (shot);
  *dropped += fc_shot_drop_orphan_values (shot);

  if (shot->present == 0)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "%s, line %u: the row has no measured values",
                   self->display_name, line);
      return NULL;
    }

  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    {
      g_autoptr(GError) local_error = NULL;
      int column;

      if (!fc_shot_has (shot, f) || fc_shot_field_check (f, shot->values[f], &local_error))
        continue;

      column = self->field_column[f];
      if (f == FC_FIELD_TOTAL && total_from_roll)
        column = roll_column;

      if (column >= 0)
        {
          const FcCsvField *cell = &record->fields[column];
          const char *text = cell->text;
          gsize len = cell->len;
          g_autofree char *shown = NULL;

          fc_csv_strip (&text, &len);
          shown = printable (text, len);
          set_cell_error (error, self, local_error->code, line, column,
                          "%s (the cell says '%s')", local_error->message, shown);
        }
      else
        g_set_error (error, FC_ERROR, local_error->code,
                     "%s, line %u: %s (computed from the row's spin columns)",
                     self->display_name, line, local_error->message);
      return NULL;
    }

  if (!fc_shot_validate (shot, error))
    {
      g_prefix_error (error, "%s, line %u: ", self->display_name, line);
      return NULL;
    }

  return g_steal_pointer (&shot);
}

/* 64-bit FNV-1a of a row's bytes. Not a cryptographic hash, and it need
 * not be: it only tells rows of one device in one fitting apart, where a
 * chance collision is about 1 in 10^11 even for 100,000-shot fittings —
 * and colliding rows of the same file still get different ids (#n). */
static guint64
row_hash (const char *data,
          gsize       len)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);

  for (gsize i = 0; i < len; i++)
    {
      h ^= (guint8) data[i];
      h *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  return h;
}

/* "<text><separator><n>" without printf, which is a measurable part of
 * parsing ten thousand rows. */
static char *
append_number (const char *text,
               char        separator,
               guint       n)
{
  char digits[12];
  int d = 0;
  gsize len = strlen (text);
  char *out;

  do
    {
      digits[d++] = '0' + n % 10;
      n /= 10;
    }
  while (n > 0);
  out = g_malloc (len + 1 + d + 1);
  memcpy (out, text, len);
  out[len] = separator;
  for (int i = 0; i < d; i++)
    out[len + 1 + i] = digits[d - 1 - i];
  out[len + 1 + d] = '\0';
  return out;
}

static void
identify_shot (Parser            *self,
               FcShot            *shot,
               const FcCsvRecord *record)
{
  static const char hex_digits[] = "0123456789abcdef";
  guint64 h = row_hash (record->raw, record->raw_len);
  char hex[17];
  char *key;
  gpointer count = NULL;

  for (int i = 15; i >= 0; i--, h >>= 4)
    hex[i] = hex_digits[h & 0xf];
  hex[16] = '\0';

  /* Identical rows (a monitor can repeat a shot exactly) stay distinct,
   * while importing the same file again, or a longer export of the same
   * session, gives the same ids. */
  if (!g_hash_table_lookup_extended (self->seen, hex, (gpointer *) &key, &count))
    key = g_string_chunk_insert (self->keys, hex);
  count = GUINT_TO_POINTER (GPOINTER_TO_UINT (count) + 1);
  g_hash_table_insert (self->seen, key, count);

  shot->source_kind = FC_SOURCE_FILE;
  shot->source_protocol = g_strdup (self->protocol);
  shot->source_detail = append_number (self->display_name, ':', record->line);
  shot->device_id = g_strdup (self->device_id);
  shot->device_shot_id = append_number (hex, '#', GPOINTER_TO_UINT (count));
  shot->raw = g_bytes_new_from_bytes (self->bytes, record->offset, record->raw_len);
}

static gboolean
record_is_blank (const FcCsvRecord *record)
{
  for (guint i = 0; i < record->n_fields; i++)
    {
      const char *text = record->fields[i].text;
      gsize len = record->fields[i].len;

      fc_csv_strip (&text, &len);
      if (len > 0)
        return FALSE;
    }
  return TRUE;
}

/* The tokenizer's error, told with the header's column name. */
static void
set_syntax_error (Parser      *self,
                  FcCsvReader *reader,
                  GError     **error,
                  GError      *csv_error)
{
  guint line = 0, field = 0;

  fc_csv_reader_get_error_position (reader, &line, &field);
  if (self->plans != NULL)
    set_cell_error (error, self, csv_error->code, line, field,
                    "a quoted value is never closed (a '\"' is missing)");
  else
    g_set_error (error, FC_ERROR, csv_error->code, "%s, %s",
                 self->display_name, csv_error->message);
}

FcImportBatch *
fc_import_csv_parse (const char  *display_name,
                     GBytes      *bytes,
                     GError     **error)
{
  g_autoptr(FcImportBatch) batch = NULL;
  g_autoptr(FcCsvReader) reader = NULL;
  g_autoptr(GError) csv_error = NULL;
  g_auto(Parser) self = { 0 };
  g_autoptr(GPtrArray) header_texts = NULL;
  g_autofree FcCsvField *header_fields = NULL;
  FcCsvRecord header = { 0 };
  FcCsvRecord units = { 0 };
  FcCsvRecord record;
  gboolean have_header = FALSE;
  gboolean have_units = FALSE;
  const char *data;
  gsize len;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (display_name == NULL)
    display_name = "file";
  self.display_name = display_name;

  data = g_bytes_get_data (bytes, &len);
  reader = fc_csv_reader_new (data, len);

  /* The header is the first non-blank record. */
  while (fc_csv_reader_next (reader, &record, &csv_error))
    if (!record_is_blank (&record))
      {
        have_header = TRUE;
        break;
      }
  if (csv_error)
    {
      set_syntax_error (&self, reader, error, csv_error);
      return NULL;
    }
  if (!have_header)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_UNKNOWN_FORMAT,
                   "%s is empty: it has no header and no shots", display_name);
      return NULL;
    }

  header = record;

  /* The reader reuses its buffers for the next record: keep a copy of
   * the header's fields until the columns are planned. */
  header_texts = g_ptr_array_new_with_free_func (g_free);
  header_fields = g_new (FcCsvField, header.n_fields);
  for (guint i = 0; i < header.n_fields; i++)
    {
      char *copy = g_memdup2 (header.fields[i].text, header.fields[i].len + 1);

      g_ptr_array_add (header_texts, copy);
      header_fields[i].text = copy;
      header_fields[i].len = header.fields[i].len;
    }
  header.fields = header_fields;

  self.format = detect_format (&self, &header, error);
  if (self.format == NULL)
    return NULL;

  if (self.format->flags & FORMAT_UNITS_ROW)
    {
      if (fc_csv_reader_next (reader, &units, &csv_error))
        have_units = TRUE;
      else if (csv_error)
        {
          set_syntax_error (&self, reader, error, csv_error);
          return NULL;
        }
    }

  if (!plan_columns (&self, &header, have_units ? &units : NULL, error))
    return NULL;

  batch = fc_import_batch_new ();
  batch->format = g_strdup (self.format->name);
  batch->format_label = g_strdup (self.format->label);
  batch->file_name = g_strdup (display_name);
  {
    gsize start = fc_csv_reader_get_content_start (reader);
    gsize header_end = have_units ? units.offset + units.raw_len : header.offset + header.raw_len;

    batch->header = g_bytes_new (data + start, header_end - start);
  }

  self.protocol = g_strconcat ("csv/", self.format->name, NULL);
  self.device_id = g_strconcat ("file/", self.format->name, NULL);
  self.bytes = bytes;
  self.keys = g_string_chunk_new (4096);
  self.seen = g_hash_table_new (g_str_hash, g_str_equal);

  while (fc_csv_reader_next (reader, &record, &csv_error))
    {
      g_autoptr(GError) row_error = NULL;
      FcShot *shot;

      shot = parse_row (&self, &record, &batch->dropped_values, &row_error);
      if (row_error)
        {
          g_propagate_error (error, g_steal_pointer (&row_error));
          return NULL;
        }
      if (shot == NULL)
        continue;
      identify_shot (&self, shot, &record);
      g_ptr_array_add (batch->shots, shot);
    }
  if (csv_error)
    {
      set_syntax_error (&self, reader, error, csv_error);
      return NULL;
    }

  if (batch->shots->len == 0)
    {
      guint last_line = have_units ? units.end_line : header.end_line;

      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "%s: no shots in file; the header ends on line %u and no shot rows follow",
                   display_name, last_line);
      return NULL;
    }

  return g_steal_pointer (&batch);
}
