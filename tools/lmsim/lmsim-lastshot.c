/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-lmsim-lastshot"

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fc-json-writer.h"
#include "lmsim.h"
#include "lmsim-shots.h"

/*
 * Foresight FSX 2020 writes the last shot to LastShot.CSV a few seconds
 * after each shot, replacing the whole file: a header line and one data
 * line. Shop tools (and our file watcher) poll that file, so this mode
 * reproduces the layout byte for byte as the real file has it: the
 * header text, right-aligned fields of fixed widths, a comma after every
 * field including the last, metric units and 2^24 - 1 for anything the
 * unit did not measure (club data without club markers, for instance).
 */

/* Verbatim from a real file (see shared/fixtures/exports). */
static const char header[] =
  "Shot ID, Club, Club head Speed (m/s), Ball Speed (m/s), Launch Angle (deg),"
  " Azimuth (deg), Side Spin (rpm), Back Spin (rpm), Total Spin (rpm),"
  " Descent Angle (deg), Carry (m), Total Distance (m), Offline (m),"
  " Peak Height (m), Distance to Pin (m), Vert Path (deg), Horiz Path (deg),"
  " Face to Path (deg), Face to Target (deg), Lie (deg), Loft (deg),"
  " Closure Rate (deg/s), Horiz Impact (mm), Vert Impact (mm),";

typedef enum {
  CELL_FLOAT,     /* "%f": six decimals */
  CELL_INTEGER,   /* spins and, oddly, carry are whole numbers */
  CELL_FLOAT4,    /* offline has four decimals */
} CellKind;

/* Values that are not a shot field times a factor. */
#define CELL_SHOT_ID (-1)
#define CELL_CLUB    (-2)
#define CELL_TO_PIN  (-3)

/* The columns of the data line: field widths and number formats as the
 * real file has them (FSX does not align them with the header, so they
 * are listed rather than derived), and where each value comes from. */
typedef struct {
  int       width;
  CellKind  kind;
  int       field;    /* an FcShotField, or one of the CELL_ values above */
  double    factor;   /* from our SI value to the file's unit and sign */
} Column;

static const Column columns[] = {
  { 7,  CELL_INTEGER, CELL_SHOT_ID, 1 },
  { 4,  CELL_INTEGER, CELL_CLUB, 1 },
  { 23, CELL_FLOAT,   FC_FIELD_CLUB_SPEED, 1 },
  { 17, CELL_FLOAT,   FC_FIELD_BALL_SPEED, 1 },
  { 19, CELL_FLOAT,   FC_FIELD_LAUNCH_ANGLE, 1 },
  { 14, CELL_FLOAT,   FC_FIELD_LAUNCH_DIRECTION, 1 },
  { 16, CELL_INTEGER, FC_FIELD_SIDE_SPIN, 1 },
  { 16, CELL_INTEGER, FC_FIELD_BACK_SPIN, 1 },
  { 17, CELL_INTEGER, FC_FIELD_SPIN_RATE, 1 },
  { 20, CELL_FLOAT,   FC_FIELD_LANDING_ANGLE, 1 },
  { 8,  CELL_INTEGER, FC_FIELD_CARRY, 1 },
  { 18, CELL_FLOAT,   FC_FIELD_TOTAL, 1 },
  { 12, CELL_FLOAT4,  FC_FIELD_CARRY_SIDE, 1 },
  { 16, CELL_FLOAT,   FC_FIELD_MAX_HEIGHT, 1 },
  { 20, CELL_FLOAT,   CELL_TO_PIN, 1 },
  { 16, CELL_FLOAT,   FC_FIELD_ATTACK_ANGLE, 1 },
  { 17, CELL_FLOAT,   FC_FIELD_CLUB_PATH, 1 },
  { 19, CELL_FLOAT,   FC_FIELD_FACE_TO_PATH, 1 },
  { 16, CELL_FLOAT,   FC_FIELD_FACE_ANGLE, 1 },
  { 16, CELL_FLOAT,   FC_FIELD_CLUB_LIE, 1 },
  { 16, CELL_FLOAT,   FC_FIELD_DYNAMIC_LOFT, 1 },
  { 16, CELL_FLOAT,   FC_FIELD_CLOSURE_RATE, 1 },
  /* Foresight counts toward the heel as positive; we count toward the toe. */
  { 16, CELL_FLOAT,   FC_FIELD_IMPACT_OFFSET, -1000 },
  { 16, CELL_FLOAT,   FC_FIELD_IMPACT_HEIGHT, 1000 },
};

#define NOT_MEASURED 16777215.0

static void
append_number (GString      *line,
               const Column *col,
               double        value)
{
  char text[64];

  if (!isfinite (value))
    value = NOT_MEASURED;
  /* LC_NUMERIC is "C" (see main), so printf writes '.' as FSX does. */
  switch (col->kind)
    {
    case CELL_INTEGER:
      g_snprintf (text, sizeof text, "%.0f", value);
      break;
    case CELL_FLOAT4:
      g_snprintf (text, sizeof text, value == NOT_MEASURED ? "%f" : "%.4f", value);
      break;
    case CELL_FLOAT:
    default:
      g_snprintf (text, sizeof text, "%f", value);
      break;
    }
  /* "-0.000000" would be a tell-tale of our rounding, not FSX's. */
  if (text[0] == '-' && g_ascii_strtod (text, NULL) == 0)
    memmove (text, text + 1, strlen (text));
  g_string_append_printf (line, "%*s,", col->width, text);
}

/* Distance from where the ball stopped to a pin straight down the line. */
static double
distance_to_pin (const FcShot *shot,
                 double        pin_m)
{
  double total = fc_shot_get (shot, FC_FIELD_TOTAL);
  double side = fc_shot_get (shot, FC_FIELD_TOTAL_SIDE);

  if (isnan (side))
    side = fc_shot_get (shot, FC_FIELD_CARRY_SIDE);
  return hypot (pin_m - total, isnan (side) ? 0 : side);
}

static char *
format_file (const FcShot *shot,
             guint         shot_id,
             double        pin_m,
             const char   *eol)
{
  g_autoptr(GString) out = g_string_new (header);

  g_string_append (out, eol);
  for (guint i = 0; i < G_N_ELEMENTS (columns); i++)
    {
      const Column *col = &columns[i];
      g_autofree char *text = NULL;

      switch (col->field)
        {
        case CELL_SHOT_ID:
          text = g_strdup_printf ("%u", shot_id);
          g_string_append_printf (out, "%*s,", col->width, text);
          break;
        case CELL_CLUB:
          g_string_append_printf (out, "%*s,", col->width, shot->club ? shot->club : "");
          break;
        case CELL_TO_PIN:
          append_number (out, col, distance_to_pin (shot, pin_m));
          break;
        default:
          append_number (out, col, fc_shot_get (shot, col->field) * col->factor);
          break;
        }
    }
  g_string_append (out, eol);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

int
lmsim_lastshot_main (int    argc,
                     char **argv)
{
  LmsimShotOptions shot_options;
  int first_id = 1;
  double pin_m = 150;
  gboolean crlf = FALSE, json_summary = FALSE, verbose = FALSE;
  const GOptionEntry entries[] = {
    { "first-id", 0, 0, G_OPTION_ARG_INT, &first_id,
      "Shot ID of the first shot (default 1)", "N" },
    { "pin", 0, 0, G_OPTION_ARG_DOUBLE, &pin_m,
      "Pin distance in metres for \"Distance to Pin\" (default 150)", "METRES" },
    { "crlf", 0, 0, G_OPTION_ARG_NONE, &crlf,
      "End lines with CR LF, as a file straight from a Windows PC", NULL },
    { "json-summary", 0, 0, G_OPTION_ARG_NONE, &json_summary,
      "Print the final summary as JSON", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
      "Say what is happening on stderr", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("PATH — rewrite a Foresight FSX 2020 LastShot.CSV per shot");
  g_autoptr(LmsimShotSource) source = NULL;
  const char *path;
  guint written = 0, failed = 0;
  gint64 start;
  int status = LMSIM_EXIT_OK;

  lmsim_shot_options_init (&shot_options);
  g_option_context_set_summary (context,
    "The file is replaced atomically (written beside it, then renamed over it),\n"
    "as FSX effectively does, so a watcher never reads half a shot.");
  if (!lmsim_parse_command_line (context, entries, NULL, "PATH", &shot_options, &argc, &argv,
                                 &status))
    goto out;
  if (first_id < 0)
    {
      status = lmsim_usage_error (context, "--first-id must be 0 or more");
      goto out;
    }
  path = argv[1];
  if ((source = lmsim_open_shot_source (&shot_options, &status)) == NULL)
    goto out;

  start = g_get_monotonic_time ();
  for (guint i = 0; shot_options.count == 0 || i < (guint) shot_options.count; i++)
    {
      g_autoptr(FcShot) shot = lmsim_shot_source_next (source);
      guint id = (guint) first_id + i;
      g_autofree char *text = NULL;
      g_autoptr(GError) write_error = NULL;

      lmsim_sleep_until (lmsim_shot_options_due_time (&shot_options, start, i));
      if (lmsim_interrupted ())
        break;
      text = format_file (shot, id, pin_m, crlf ? "\r\n" : "\n");
      /* CONSISTENT: a temporary file in the same folder, then rename()
       * over PATH, which is what a poller sees from FSX too. */
      if (g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                    &write_error))
        {
          written++;
          g_print ("shot %u id=%u written\n", i + 1, id);
        }
      else
        {
          failed++;
          g_print ("shot %u id=%u error\n", i + 1, id);
          g_printerr ("fitclip-lmsim: %s\n", write_error->message);
        }
      if (verbose)
        g_printerr ("%s", text);
    }

  if (json_summary)
    {
      g_autoptr(FcJsonWriter) w = fc_json_writer_new (FALSE);
      g_autofree char *json = NULL;

      fc_json_writer_begin_object (w);
      fc_json_writer_key (w, "written");
      fc_json_writer_int (w, written);
      fc_json_writer_key (w, "errors");
      fc_json_writer_int (w, failed);
      fc_json_writer_key (w, "path");
      fc_json_writer_string (w, path);
      fc_json_writer_end_object (w);
      json = fc_json_writer_steal (g_steal_pointer (&w), NULL);
      g_print ("%s\n", json);
    }
  else
    g_print ("written=%u errors=%u\n", written, failed);
  status = failed == 0 && (shot_options.count == 0 || written == (guint) shot_options.count)
             ? LMSIM_EXIT_OK : LMSIM_EXIT_FAILED;

out:
  lmsim_shot_options_clear (&shot_options);
  return status;
}
