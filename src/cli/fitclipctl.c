/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fitclipctl"

#include "config.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#ifdef G_OS_UNIX
# include <glib-unix.h>
# include <termios.h>
# include <unistd.h>
#endif
#ifdef G_OS_WIN32
# include <io.h>
# include <windows.h>
#endif

#include <openssl/crypto.h>

#include "fc-cloud-client.h"
#include "fc-error.h"
#include "fc-fitting-document.h"
#include "fc-json-writer.h"
#include "fc-pii-unlock.h"
#include "fc-record-json.h"
#include "fc-secret-store.h"
#include "fc-stats-json.h"
#include "fc-store.h"
#include "fc-sync-engine.h"
#include "fc-sync-queue.h"

/*
 * fitclipctl: the shop-IT and scripting face of the agent, over the same
 * store and libraries as the app.
 *
 * Exit status: 0 success, 1 bad input or a failure (the message names the
 * problem), 2 usage error.
 */

#define EXIT_BAD_INPUT 1
#define EXIT_USAGE     2

typedef struct {
  char     *db_path;
  gboolean  json;
  char     *units;
  char     *cloud;
  char     *ca_file;
  gboolean  no_proxy;
} Globals;

static Globals globals;

static GOptionEntry global_entries[] = {
  { "db", 0, 0, G_OPTION_ARG_FILENAME, &globals.db_path,
    "Database file (default: $FITCLIP_DB or the user data folder)", "PATH" },
  { "json", 0, 0, G_OPTION_ARG_NONE, &globals.json, "Print JSON for scripts", NULL },
  { "units", 0, 0, G_OPTION_ARG_STRING, &globals.units,
    "Display units: imperial (default) or metric", "SYSTEM" },
  { "cloud", 0, 0, G_OPTION_ARG_STRING, &globals.cloud,
    "Cloud address (default: $FITCLIP_CLOUD, or url= in [cloud] of agent.conf)", "URL" },
  { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &globals.ca_file,
    "Trust the cloud certificates signed by these CAs (PEM) instead of the system's", "FILE" },
  { "no-proxy", 0, 0, G_OPTION_ARG_NONE, &globals.no_proxy, "Reach the cloud without the system's proxy", NULL },
  { NULL }
};

typedef int (*CommandFunc) (int argc, char **argv);

typedef struct {
  const char  *name;
  const char  *args;
  const char  *summary;
  CommandFunc  func;
} Command;

static int
usage_error (GOptionContext *context,
             const char     *message)
{
  g_printerr ("fitclipctl: %s\n", message);
  if (context)
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);
      g_printerr ("\n%s", help);
    }
  return EXIT_USAGE;
}

static int
report_error (GError *error)
{
  g_printerr ("fitclipctl: %s\n", error->message);
  return EXIT_BAD_INPUT;
}

/* Parses the command's options together with the global ones, so that
 * --db and --json work before or after the command name. */
static gboolean
parse_options (GOptionContext  *context,
               const GOptionEntry *entries,
               int             *argc,
               char          ***argv,
               int             *status)
{
  g_autoptr(GError) error = NULL;

  if (entries)
    g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_main_entries (context, global_entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *status = usage_error (context, error->message);
      return FALSE;
    }
  return TRUE;
}

static FcStore *
open_store (int *status)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = globals.db_path ? g_strdup (globals.db_path) : fc_store_default_path ();
  FcStore *store = fc_store_open (path, &error);

  if (store == NULL)
    *status = report_error (error);
  return store;
}

/* Commands that show or change customers first get the key to their
 * details from the keyring (making one for a new database). A keyring
 * that cannot give it is one warning, not a failure: everything but
 * customers' names, e-mails, phones and notes works without it. */
static void
unlock_customers (FcStore *store)
{
  g_autoptr(FcSecretStore) secrets = fc_secret_store_new_default ();
  g_autoptr(GError) error = NULL;

  if (!fc_pii_unlock_store (store, secrets, NULL, &error))
    g_printerr ("fitclipctl: warning: customer details are locked: %s\n", error->message);
}

static FcStore *
open_store_with_customers (int *status)
{
  FcStore *store = open_store (status);

  if (store != NULL)
    unlock_customers (store);
  return store;
}

static void
print_json (FcJsonWriter *w)
{
  g_autofree char *text = fc_json_writer_steal (w, NULL);

  fputs (text, stdout);
}

static void
display_units (FcDisplayUnits *units)
{
  if (g_strcmp0 (globals.units, "metric") == 0)
    fc_display_units_init_metric (units);
  else
    fc_display_units_init_imperial (units);
}

static char *
format_time (gint64 unix_us)
{
  g_autoptr(GDateTime) dt = NULL;

  if (unix_us == 0)
    return g_strdup ("—");
  dt = g_date_time_new_from_unix_local (unix_us / G_USEC_PER_SEC);
  return dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M") : g_strdup ("?");
}

static char *
resolve_fitting (FcStore    *store,
                 const char *arg,
                 int        *status)
{
  g_autoptr(GError) error = NULL;
  char *id = fc_store_resolve_fitting_id (store, arg, &error);

  if (id == NULL)
    *status = report_error (error);
  return id;
}

/* The common start of a command that takes one FITTING argument.
 * @check, when given, validates the parsed options before the database
 * is opened and returns a usage message, or NULL when they are fine. */
static gboolean
begin_fitting_command (GOptionContext      *context,
                       const GOptionEntry  *entries,
                       const char          *name,
                       const char        *(*check) (void),
                       int                 *argc,
                       char              ***argv,
                       FcStore            **store,
                       char               **fitting_id,
                       int                 *status)
{
  if (!parse_options (context, entries, argc, argv, status))
    return FALSE;
  if (*argc != 2)
    {
      g_autofree char *message = g_strdup_printf ("%s takes exactly one FITTING id", name);
      *status = usage_error (context, message);
      return FALSE;
    }
  if (check && check () != NULL)
    {
      *status = usage_error (context, check ());
      return FALSE;
    }
  *store = open_store (status);
  if (*store == NULL)
    return FALSE;
  *fitting_id = resolve_fitting (*store, (*argv)[1], status);
  return *fitting_id != NULL;
}

/* ---- import ------------------------------------------------------------- */

static int
cmd_import (int argc, char **argv)
{
  g_autofree char *fitting_arg = NULL, *config_id = NULL, *bay = NULL;
  GOptionEntry entries[] = {
    { "fitting", 0, 0, G_OPTION_ARG_STRING, &fitting_arg, "Add the shots to this fitting", "ID" },
    { "config", 0, 0, G_OPTION_ARG_STRING, &config_id, "…and to this club configuration", "ID" },
    { "bay", 0, 0, G_OPTION_ARG_STRING, &bay, "Bay whose practice session receives shots without a fitting", "NAME" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("FILE — import a launch-monitor export");
  g_autoptr(FcStore) store = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(FcImportBatch) batch = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *fitting_id = NULL;
  FcImportSummary summary = { 0 };
  int status = 0;

  if (!parse_options (context, entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error (context, "import takes exactly one FILE");

  file = g_file_new_for_commandline_arg (argv[1]);
  batch = fc_import_parse_file (file, NULL, &error);
  if (batch == NULL)
    return report_error (error);
  if (batch->document && (fitting_arg || config_id))
    {
      g_printerr ("fitclipctl: %s is a whole FitClip fitting; it is restored as it is, "
                  "without --fitting or --config\n", argv[1]);
      return EXIT_BAD_INPUT;
    }

  store = open_store (&status);
  if (store == NULL)
    return status;
  if (batch->document && batch->document->customer)
    unlock_customers (store);
  if (fitting_arg && (fitting_id = resolve_fitting (store, fitting_arg, &status)) == NULL)
    return status;
  if (!fc_store_import (store, batch, fitting_id, config_id, bay, &summary, &error))
    return report_error (error);

  if (globals.json)
    {
      FcJsonWriter *w = fc_json_writer_new (TRUE);
      fc_json_writer_begin_object (w);
      fc_json_writer_key (w, "file");
      fc_json_writer_string (w, batch->file_name);
      fc_json_writer_key (w, "format");
      fc_json_writer_string (w, batch->format);
      fc_json_writer_key (w, "fitting_id");
      fc_json_writer_string (w, summary.fitting_id);
      fc_json_writer_key (w, "config_id");
      fc_json_writer_string (w, summary.config_id);
      fc_json_writer_key (w, "import_id");
      fc_json_writer_string (w, summary.import_id);
      fc_json_writer_key (w, "inserted");
      fc_json_writer_int (w, summary.inserted);
      fc_json_writer_key (w, "duplicates");
      fc_json_writer_int (w, summary.duplicates);
      fc_json_writer_key (w, "dropped_placeholder_values");
      fc_json_writer_int (w, batch->dropped_values);
      fc_json_writer_end_object (w);
      print_json (w);
    }
  else
    {
      g_print ("Imported %u shot%s from %s (%s) into fitting %s",
               summary.inserted, summary.inserted == 1 ? "" : "s",
               batch->file_name, batch->format_label, summary.fitting_id);
      if (summary.duplicates)
        g_print ("; %u already stored", summary.duplicates);
      g_print (".\n");
      if (batch->dropped_values)
        g_print ("%u placeholder value%s (e.g. smash factor without club speed) left empty.\n",
                 batch->dropped_values, batch->dropped_values == 1 ? "" : "s");
    }
  fc_import_summary_clear (&summary);
  return 0;
}

/* ---- export ------------------------------------------------------------- */

static char *export_format;

static const char *
check_export_format (void)
{
  if (g_strcmp0 (export_format, "csv") != 0 && g_strcmp0 (export_format, "json") != 0)
    return "--format must be csv or json";
  return NULL;
}

static int
cmd_export (int argc, char **argv)
{
  g_autofree char *output = NULL;
  GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &export_format, "csv or json", "FORMAT" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write to FILE instead of standard output", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("FITTING — export a fitting");
  g_autoptr(FcStore) store = NULL;
  g_autoptr(FcFittingDocument) doc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL, *text = NULL;
  gsize len;
  int status = 0;

  if (!begin_fitting_command (context, entries, "export", check_export_format, &argc, &argv,
                              &store, &id, &status))
    return status;
  if (strcmp (export_format, "json") == 0)
    unlock_customers (store);
  doc = fc_store_load_document (store, id, &error);
  if (doc == NULL)
    return report_error (error);
  /* A JSON export is a backup that import restores: without the
   * customer's details it would restore a customer without a name. */
  if (strcmp (export_format, "json") == 0 && doc->customer && doc->customer->pii_locked)
    {
      g_printerr ("fitclipctl: cannot export fitting %s as JSON while its customer's details are "
                  "locked (unlock the keyring and try again, or use --format csv for the shots "
                  "alone)\n", id);
      return EXIT_BAD_INPUT;
    }
  text = strcmp (export_format, "csv") == 0 ? fc_fitting_document_to_csv (doc, &len)
                                     : fc_fitting_document_to_json (doc, &len);
  if (output)
    {
      /* Written to a temporary file and renamed: a crash never leaves a
       * half-written export under the final name. */
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (output);
      if (!g_file_replace_contents (file, text, len, NULL, FALSE, G_FILE_CREATE_NONE,
                                    NULL, NULL, &error))
        return report_error (error);
    }
  else if (fwrite (text, 1, len, stdout) != len || fflush (stdout) != 0)
    {
      g_printerr ("fitclipctl: cannot write to standard output\n");
      return EXIT_BAD_INPUT;
    }
  return 0;
}

/* ---- fittings and show ------------------------------------------------- */

static guint
count_excluded (GPtrArray *shots)
{
  guint n = 0;

  for (guint i = 0; i < shots->len; i++)
    if (((FcShot *) g_ptr_array_index (shots, i))->excluded)
      n++;
  return n;
}

static int
cmd_fittings (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— list fittings");
  g_autoptr(FcStore) store = NULL;
  g_autoptr(GPtrArray) fittings = NULL;
  g_autoptr(GError) error = NULL;
  FcJsonWriter *w = NULL;
  int status = 0;

  if (!parse_options (context, NULL, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return usage_error (context, "fittings takes no arguments");
  store = open_store_with_customers (&status);
  if (store == NULL)
    return status;
  fittings = fc_store_list_fittings (store, &error);
  if (fittings == NULL)
    return report_error (error);

  if (globals.json)
    {
      w = fc_json_writer_new (TRUE);
      fc_json_writer_begin_array (w);
    }
  else if (fittings->len == 0)
    g_print ("No fittings yet.\n");
  else
    g_print ("%-36s  %-9s  %-10s  %-16s  %-20s  %6s\n", "ID", "TYPE", "STATUS", "STARTED", "CUSTOMER", "SHOTS");

  for (guint i = 0; i < fittings->len; i++)
    {
      FcFitting *f = g_ptr_array_index (fittings, i);
      g_autoptr(FcCustomer) customer = f->customer_id ? fc_store_get_customer (store, f->customer_id, NULL) : NULL;
      gint64 n_shots;

      if (!fc_store_count_shots (store, f->id, &n_shots, NULL, &error))
        return report_error (error);
      if (w)
        {
          fc_json_writer_begin_object (w);
          fc_json_writer_key (w, "fitting");
          fc_json_write_fitting (w, f);
          fc_json_writer_key (w, "customer_name");
          fc_json_writer_string (w, customer ? customer->name : NULL);
          fc_json_writer_key (w, "customer_locked");
          fc_json_writer_boolean (w, customer && customer->pii_locked);
          fc_json_writer_key (w, "shots");
          fc_json_writer_int (w, n_shots);
          fc_json_writer_end_object (w);
        }
      else
        {
          g_autofree char *started = format_time (f->started_at);
          g_print ("%-36s  %-9s  %-10s  %-16s  %-20s  %6" G_GINT64_FORMAT "\n", f->id,
                   fc_fitting_type_to_string (f->type),
                   fc_fitting_status_to_string (f->status), started,
                   customer ? (customer->pii_locked ? "(locked)" : customer->name)
                            : (f->type == FC_FITTING_PRACTICE ? f->bay : "—"),
                   n_shots);
        }
    }
  if (w)
    {
      fc_json_writer_end_array (w);
      print_json (w);
    }
  return 0;
}

static int
cmd_show (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("FITTING — show a fitting and its shots");
  g_autoptr(FcStore) store = NULL;
  g_autoptr(FcFittingDocument) doc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  FcDisplayUnits units;
  int status = 0;

  if (!begin_fitting_command (context, NULL, "show", NULL, &argc, &argv, &store, &id, &status))
    return status;
  unlock_customers (store);
  doc = fc_store_load_document (store, id, &error);
  if (doc == NULL)
    return report_error (error);

  if (globals.json)
    {
      g_autofree char *text = fc_fitting_document_to_json (doc, NULL);
      fputs (text, stdout);
      return 0;
    }

  display_units (&units);
  {
    FcFitting *f = doc->fitting;
    g_autofree char *started = format_time (f->started_at);
    g_autofree char *completed = format_time (f->completed_at);

    g_print ("Fitting   %s\n", f->id);
    g_print ("Type      %s\nStatus    %s\nBay       %s\nFitter    %s\nStarted   %s\nCompleted %s\n",
             fc_fitting_type_to_string (f->type), fc_fitting_status_to_string (f->status),
             f->bay, f->fitter ? f->fitter : "—", started,
             f->completed_at ? completed : "—");
    if (doc->customer)
      {
        FcCustomer *c = doc->customer;
        g_autoptr(GString) details = g_string_new (NULL);

        if (c->handedness != FC_HANDEDNESS_UNKNOWN)
          g_string_append_printf (details, "%s-handed", fc_handedness_to_string (c->handedness));
        if (!isnan (c->handicap))
          g_string_append_printf (details, "%shandicap %.1f", details->len ? ", " : "", c->handicap);
        if (c->email)
          g_string_append_printf (details, "%s%s", details->len ? ", " : "", c->email);
        g_print ("Customer  %s%s%s%s\n",
                 c->pii_locked ? "(details locked: the keyring is not available)" : c->name,
                 details->len ? " (" : "", details->str, details->len ? ")" : "");
      }
    g_print ("Shots     %u (%u excluded)\n\nClubs\n", doc->shots->len, count_excluded (doc->shots));
  }
  for (guint i = 0; i < doc->configs->len; i++)
    {
      FcClubConfig *c = g_ptr_array_index (doc->configs, i);
      g_print ("  %-8s %s  %s%s%s%s%s\n", fc_config_role_to_string (c->role), c->id,
               c->label ? c->label : "", c->head ? " · " : "", c->head ? c->head : "",
               c->shaft ? " · " : "", c->shaft ? c->shaft : "");
    }
  g_print ("\n%-4s %-8s %-10s %10s %10s %8s %8s %10s %10s  %s\n", "#", "SHOT", "CLUB", "BALL", "CLUB SPD",
           "LAUNCH", "SPIN", "CARRY", "SIDE", "NOTE");
  for (guint i = 0; i < doc->shots->len; i++)
    {
      FcShot *s = g_ptr_array_index (doc->shots, i);
      g_autofree char *ball = fc_format_value (&units, FC_QUANTITY_SPEED, fc_shot_get (s, FC_FIELD_BALL_SPEED), FALSE);
      g_autofree char *club = fc_format_value (&units, FC_QUANTITY_SPEED, fc_shot_get (s, FC_FIELD_CLUB_SPEED), FALSE);
      g_autofree char *launch = fc_format_value (&units, FC_QUANTITY_ANGLE, fc_shot_get (s, FC_FIELD_LAUNCH_ANGLE), FALSE);
      g_autofree char *spin = fc_format_value (&units, FC_QUANTITY_SPIN, fc_shot_get (s, FC_FIELD_SPIN_RATE), FALSE);
      g_autofree char *carry = fc_format_value (&units, FC_QUANTITY_DISTANCE, fc_shot_get (s, FC_FIELD_CARRY), FALSE);
      g_autofree char *side = fc_format_value (&units, FC_QUANTITY_DISTANCE, fc_shot_get (s, FC_FIELD_CARRY_SIDE), FALSE);
      g_autofree char *shortid = g_strndup (s->id, 8);

      g_print ("%-4u %-8s %-10.10s %10s %10s %8s %8s %10s %10s  %s%s\n", i + 1, shortid,
               s->club ? s->club : "", ball, club, launch, spin, carry, side,
               s->excluded ? "excluded: " : "", s->excluded && s->exclude_reason ? s->exclude_reason : "");
    }
  g_print ("\nSpeeds in %s, distances in %s, angles in degrees, spin in rpm.\n",
           fc_unit_get_symbol (units.speed), fc_unit_get_symbol (units.distance));
  return 0;
}

/* ---- stats -------------------------------------------------------------- */

static const FcShotField summary_fields[] = {
  FC_FIELD_BALL_SPEED, FC_FIELD_CLUB_SPEED, FC_FIELD_SMASH_FACTOR, FC_FIELD_LAUNCH_ANGLE,
  FC_FIELD_SPIN_RATE, FC_FIELD_SPIN_AXIS, FC_FIELD_ATTACK_ANGLE, FC_FIELD_CLUB_PATH,
  FC_FIELD_FACE_ANGLE, FC_FIELD_MAX_HEIGHT, FC_FIELD_LANDING_ANGLE, FC_FIELD_CARRY,
  FC_FIELD_TOTAL, FC_FIELD_CARRY_SIDE,
};

/* printf pads by bytes; labels hold "°" and other multi-byte letters. */
static char *
pad (const char *text,
     guint       width)
{
  glong chars = g_utf8_strlen (text, -1);
  GString *out = g_string_new (text);

  for (glong i = chars; i < (glong) width; i++)
    g_string_append_c (out, ' ');
  return g_string_free (out, FALSE);
}

/* Differences and spreads: the summary fields have no unit offsets
 * (no temperatures), so formatting them like values is exact. */
static char *
format_delta (const FcDisplayUnits *units,
              FcQuantity            q,
              double                delta)
{
  g_autofree char *text = NULL;

  g_assert (q != FC_QUANTITY_TEMPERATURE);
  if (isnan (delta))
    return g_strdup ("");
  text = fc_format_value (units, q, delta, FALSE);
  return g_strdup_printf ("%s%s", delta >= 0 ? "+" : "", text);
}

static int
cmd_stats (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("FITTING — statistics per club configuration");
  g_autoptr(FcStore) store = NULL;
  g_autoptr(FcStatsInput) input = NULL;
  g_autoptr(FcFittingStats) stats = NULL;
  g_autoptr(GPtrArray) configs = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  FcDisplayUnits units;
  int status = 0;

  if (!begin_fitting_command (context, NULL, "stats", NULL, &argc, &argv, &store, &id, &status))
    return status;
  configs = fc_store_list_configs (store, id, &error);
  if (configs == NULL)
    return report_error (error);
  input = fc_store_load_stats_input (store, id, &error);
  if (input == NULL)
    return report_error (error);
  stats = fc_stats_compute (input);

  if (globals.json)
    {
      FcJsonWriter *w = fc_json_writer_new (TRUE);
      fc_json_write_fitting_stats (w, stats, configs);
      print_json (w);
      return 0;
    }

  display_units (&units);
  for (guint i = 0; i < stats->configs->len; i++)
    {
      FcConfigStats *cs = g_ptr_array_index (stats->configs, i);
      FcClubConfig *c = i < configs->len ? g_ptr_array_index (configs, i) : NULL;
      const FcDispersion *d = &cs->dispersion;

      g_print ("%s — %s (%u shot%s)\n", c && c->label ? c->label : cs->config_id,
               cs->is_baseline ? "baseline" : "test", cs->n_shots, cs->n_shots == 1 ? "" : "s");
      if (cs->n_shots == 0)
        {
          g_print ("\n");
          continue;
        }
      g_print ("  %-22s %5s %10s %10s %10s %12s\n", "", "n", "mean", "sd", "median",
               cs->is_baseline ? "" : "Δ baseline");
      for (guint k = 0; k < G_N_ELEMENTS (summary_fields); k++)
        {
          FcShotField f = summary_fields[k];
          const FcShotFieldInfo *info = fc_shot_field_get_info (f);
          const FcFieldStats *fs = &cs->fields[f];
          FcUnit unit = fc_display_units_for_quantity (&units, info->quantity);
          g_autofree char *mean = NULL, *median = NULL, *sd = NULL, *delta = NULL, *label = NULL;
          g_autofree char *padded = NULL;

          if (fs->count == 0)
            continue;
          mean = fc_format_value (&units, info->quantity, fs->mean, FALSE);
          median = fc_format_value (&units, info->quantity, fs->median, FALSE);
          /* A spread is scaled but not offset. */
          sd = fc_format_value (&units, info->quantity, fs->sd, FALSE);
          delta = format_delta (&units, info->quantity, cs->delta_mean[f]);
          label = g_strdup_printf ("%s%s%s%s", info->label, *fc_unit_get_symbol (unit) ? " (" : "",
                                   fc_unit_get_symbol (unit), *fc_unit_get_symbol (unit) ? ")" : "");
          padded = pad (label, 22);
          g_print ("  %s %5u %10s %10s %10s %12s\n", padded, fs->count, mean, sd, median, delta);
        }
      if (d->count >= 3)
        {
          FcUnit du = units.distance;
          g_print ("  Dispersion: centre %.1f %s long, %.1f %s %s; "
                   "1σ ellipse %.1f × %.1f %s at %.0f°; 95%% ellipse %.1f × %.1f %s, area %.0f %s²\n",
                   fc_unit_from_si (du, d->centroid_carry), fc_unit_get_symbol (du),
                   fabs (fc_unit_from_si (du, d->centroid_side)), fc_unit_get_symbol (du),
                   d->centroid_side >= 0 ? "right" : "left",
                   2 * fc_unit_from_si (du, d->sigma1.major), 2 * fc_unit_from_si (du, d->sigma1.minor),
                   fc_unit_get_symbol (du), d->sigma1.angle_deg,
                   2 * fc_unit_from_si (du, d->ci95.major), 2 * fc_unit_from_si (du, d->ci95.minor),
                   fc_unit_get_symbol (du),
                   fc_unit_from_si (du, 1) * fc_unit_from_si (du, 1) * d->ci95.area,
                   fc_unit_get_symbol (du));
        }
      g_print ("\n");
    }
  return 0;
}

/* ---- doctor ------------------------------------------------------------- */

static int
cmd_doctor (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— check the database");
  g_autoptr(FcStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *report = NULL;
  g_autoptr(FcSecretStore) secrets = fc_secret_store_new_default ();
  g_autoptr(GError) key_error = NULL;
  g_autofree char *key_id = NULL;
  FcStoreCounts counts;
  FcPiiStatus pii = { 0 };
  gboolean healthy;
  int status = 0;

  if (!parse_options (context, NULL, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return usage_error (context, "doctor takes no arguments");
  store = open_store (&status);
  if (store == NULL)
    return status;
  /* A check changes nothing: no key is made for a database without one.
   * A keyring problem is reported below rather than warned about. */
  if (!fc_store_get_pii_key_id (store, &key_id, &error))
    return report_error (error);
  if (key_id != NULL)
    fc_pii_unlock_store (store, secrets, NULL, &key_error);
  if (!fc_store_check_integrity (store, &report, &error) ||
      !fc_store_get_counts (store, &counts, &error) ||
      !fc_store_get_pii_status (store, &pii, &error))
    return report_error (error);
  /* Customers that do not decrypt with the right key were damaged or
   * tampered with. */
  healthy = g_strcmp0 (report, "ok") == 0 && pii.unreadable == 0;

  if (globals.json)
    {
      FcJsonWriter *w = fc_json_writer_new (TRUE);
      fc_json_writer_begin_object (w);
      fc_json_writer_key (w, "database");
      fc_json_writer_string (w, fc_store_get_path (store));
      fc_json_writer_key (w, "schema_version");
      fc_json_writer_int (w, fc_store_get_schema_version (store));
      fc_json_writer_key (w, "integrity");
      fc_json_writer_string (w, report);
      fc_json_writer_key (w, "ok");
      fc_json_writer_boolean (w, healthy);
      fc_json_writer_key (w, "counts");
      fc_json_writer_begin_object (w);
#define COUNT(name) fc_json_writer_key (w, #name); fc_json_writer_int (w, counts.name)
      COUNT (customers); COUNT (fittings); COUNT (open_fittings); COUNT (configs);
      COUNT (shots); COUNT (excluded_shots); COUNT (imports); COUNT (outbox_pending);
#undef COUNT
      fc_json_writer_end_object (w);
      fc_json_writer_key (w, "customer_data");
      fc_json_writer_begin_object (w);
      /* The schema has no column that could hold them in clear. */
      fc_json_writer_key (w, "encrypted");
      fc_json_writer_boolean (w, TRUE);
      fc_json_writer_key (w, "cipher");
      fc_json_writer_string (w, "AES-256-GCM");
      fc_json_writer_key (w, "key_id");
      fc_json_writer_string (w, pii.key_id);
      fc_json_writer_key (w, "key_available");
      fc_json_writer_boolean (w, pii.unlocked);
      fc_json_writer_key (w, "locked_reason");
      fc_json_writer_string (w, pii.unlocked || key_error == NULL ? NULL : key_error->message);
      fc_json_writer_key (w, "keyring");
      fc_json_writer_string (w, fc_secret_store_get_backend_name (secrets));
      fc_json_writer_key (w, "customers");
      fc_json_writer_int (w, pii.customers);
      fc_json_writer_key (w, "readable");
      fc_json_writer_int (w, pii.readable);
      fc_json_writer_key (w, "unreadable");
      fc_json_writer_int (w, pii.unreadable);
      fc_json_writer_end_object (w);
      fc_json_writer_end_object (w);
      print_json (w);
    }
  else
    {
      g_print ("Database        %s\n", fc_store_get_path (store));
      g_print ("Schema version  %d (this FitClip: %d)\n", fc_store_get_schema_version (store),
               FC_STORE_SCHEMA_VERSION);
      g_print ("Integrity       %s\n", report);
      g_print ("Customers       %" G_GINT64_FORMAT "\n", counts.customers);
      g_print ("Fittings        %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " open)\n",
               counts.fittings, counts.open_fittings);
      g_print ("Club configs    %" G_GINT64_FORMAT "\n", counts.configs);
      g_print ("Shots           %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " excluded)\n",
               counts.shots, counts.excluded_shots);
      g_print ("Imports         %" G_GINT64_FORMAT "\n", counts.imports);
      g_print ("Waiting to sync %" G_GINT64_FORMAT "\n", counts.outbox_pending);
      g_print ("Customer data   encrypted at rest (AES-256-GCM)");
      if (pii.key_id)
        g_print (", key %s", pii.key_id);
      if (pii.unlocked)
        g_print (" in the keyring; %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " customers readable\n",
                 pii.readable, pii.customers);
      else if (pii.key_id == NULL)
        g_print ("; no key yet (made with the first customer)\n");
      else
        g_print ("; key NOT available, customer details locked: %s\n",
                 key_error ? key_error->message : "unknown reason");
      if (pii.unreadable)
        g_print ("                %" G_GINT64_FORMAT " customer%s cannot be decrypted: damaged, or "
                 "changed outside FitClip\n", pii.unreadable, pii.unreadable == 1 ? "" : "s");
      g_print ("Keyring         %s\n", fc_secret_store_get_backend_name (secrets));
    }
  fc_pii_status_clear (&pii);
  return healthy ? 0 : EXIT_BAD_INPUT;
}

/* ---- small editing commands (what a fitter fixes from a terminal) ------ */

static int
cmd_new_fitting (int argc, char **argv)
{
  g_autofree char *type = NULL, *name = NULL, *email = NULL, *phone = NULL, *hand = NULL;
  g_autofree char *bay = NULL, *fitter = NULL;
  double handicap = NAN;
  GOptionEntry entries[] = {
    { "type", 0, 0, G_OPTION_ARG_STRING, &type, "driver, irons, full_bag, wedges or putter", "TYPE" },
    { "customer", 0, 0, G_OPTION_ARG_STRING, &name, "Customer's name", "NAME" },
    { "email", 0, 0, G_OPTION_ARG_STRING, &email, "Customer's e-mail", "EMAIL" },
    { "phone", 0, 0, G_OPTION_ARG_STRING, &phone, "Customer's phone", "PHONE" },
    { "handedness", 0, 0, G_OPTION_ARG_STRING, &hand, "right or left", "HAND" },
    { "handicap", 0, 0, G_OPTION_ARG_DOUBLE, &handicap, "Handicap index", "N" },
    { "bay", 0, 0, G_OPTION_ARG_STRING, &bay, "Bay (default “" FC_STORE_DEFAULT_BAY "”)", "NAME" },
    { "fitter", 0, 0, G_OPTION_ARG_STRING, &fitter, "Fitter's name", "NAME" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— start a fitting for a customer");
  g_autoptr(FcStore) store = NULL;
  g_autoptr(FcCustomer) customer = NULL;
  g_autoptr(FcFitting) fitting = NULL;
  g_autoptr(GError) error = NULL;
  FcFittingType ftype;
  int status = 0;

  if (!parse_options (context, entries, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return usage_error (context, "new-fitting takes options only");
  if (type == NULL || !fc_fitting_type_from_string (type, &ftype) || ftype == FC_FITTING_PRACTICE)
    return usage_error (context, "--type must be driver, irons, full_bag, wedges or putter");
  if (name == NULL)
    return usage_error (context, "--customer NAME is required");
  customer = fc_customer_new (name);
  customer->email = g_steal_pointer (&email);
  customer->phone = g_steal_pointer (&phone);
  customer->handicap = handicap;
  if (hand && !fc_handedness_from_string (hand, &customer->handedness))
    return usage_error (context, "--handedness must be right or left");

  store = open_store_with_customers (&status);
  if (store == NULL)
    return status;
  if (!fc_store_add_customer (store, customer, &error))
    return report_error (error);
  fitting = fc_fitting_new (ftype, bay ? bay : FC_STORE_DEFAULT_BAY);
  fitting->customer_id = g_strdup (customer->id);
  fitting->fitter = g_steal_pointer (&fitter);
  if (!fc_store_add_fitting (store, fitting, &error))
    return report_error (error);
  g_print ("%s\n", fitting->id);
  return 0;
}

static int
cmd_add_config (int argc, char **argv)
{
  g_autofree char *role = NULL, *label = NULL, *club_type = NULL, *head = NULL, *shaft = NULL, *setting = NULL;
  double loft = NAN;
  gboolean activate = FALSE;
  GOptionEntry entries[] = {
    { "role", 0, 0, G_OPTION_ARG_STRING, &role, "baseline (the customer's own club) or test", "ROLE" },
    { "label", 0, 0, G_OPTION_ARG_STRING, &label, "Name shown to the fitter", "TEXT" },
    { "club-type", 0, 0, G_OPTION_ARG_STRING, &club_type, "e.g. Driver, 7 Iron", "TEXT" },
    { "head", 0, 0, G_OPTION_ARG_STRING, &head, "Head model", "TEXT" },
    { "shaft", 0, 0, G_OPTION_ARG_STRING, &shaft, "Shaft model and flex", "TEXT" },
    { "loft", 0, 0, G_OPTION_ARG_DOUBLE, &loft, "Loft in degrees", "DEG" },
    { "setting", 0, 0, G_OPTION_ARG_STRING, &setting, "Hosel or weight setting", "TEXT" },
    { "activate", 0, 0, G_OPTION_ARG_NONE, &activate, "Send new shots to this club", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("FITTING — add a club configuration");
  g_autoptr(FcStore) store = NULL;
  g_autoptr(FcClubConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  FcConfigRole r;
  int status = 0;

  if (!parse_options (context, entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error (context, "add-config takes exactly one FITTING id");
  if (role == NULL || !fc_config_role_from_string (role, &r))
    return usage_error (context, "--role must be baseline or test");
  store = open_store (&status);
  if (store == NULL)
    return status;
  config = fc_club_config_new (r, label);
  if ((config->fitting_id = resolve_fitting (store, argv[1], &status)) == NULL)
    return status;
  config->club_type = g_steal_pointer (&club_type);
  config->head = g_steal_pointer (&head);
  config->shaft = g_steal_pointer (&shaft);
  config->setting = g_steal_pointer (&setting);
  config->loft_deg = loft;
  if (!fc_store_add_config (store, config, &error))
    return report_error (error);
  if (activate && !fc_store_set_active_config (store, config->fitting_id, config->id, &error))
    return report_error (error);
  g_print ("%s\n", config->id);
  return 0;
}

static int
cmd_exclude_include (int argc, char **argv, gboolean exclude)
{
  g_autofree char *reason = NULL;
  GOptionEntry entries[] = {
    { "reason", 0, 0, G_OPTION_ARG_STRING, &reason, "Why the shot does not count", "TEXT" },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new (exclude ? "SHOT… — leave shots out of the statistics"
                                  : "SHOT… — count excluded shots again");
  g_autoptr(FcStore) store = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!parse_options (context, exclude ? entries : NULL, &argc, &argv, &status))
    return status;
  if (argc < 2)
    return usage_error (context, "give at least one SHOT id");
  store = open_store (&status);
  if (store == NULL)
    return status;
  for (int i = 1; i < argc; i++)
    if (!fc_store_set_shot_excluded (store, argv[i], exclude, reason, &error))
      return report_error (error);
  return 0;
}

static int cmd_exclude (int argc, char **argv) { return cmd_exclude_include (argc, argv, TRUE); }
static int cmd_include (int argc, char **argv) { return cmd_exclude_include (argc, argv, FALSE); }

static int
cmd_complete (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("FITTING — mark a fitting completed");
  g_autoptr(FcStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  int status = 0;

  if (!begin_fitting_command (context, NULL, "complete", NULL, &argc, &argv, &store, &id, &status))
    return status;
  if (!fc_store_complete_fitting (store, id, &error))
    return report_error (error);
  return 0;
}

/* ---- cloud: pairing and sync -------------------------------------------- */

typedef struct {
  char     *url;
  char     *ca_file;
  gboolean  no_proxy;
} CloudConfig;

static void
cloud_config_clear (CloudConfig *config)
{
  g_free (config->url);
  g_free (config->ca_file);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CloudConfig, cloud_config_clear)

/* The command line, then the environment, then the agent's config file
 * (the same [cloud] section fitclip-agent reads). */
static gboolean
load_cloud_config (CloudConfig *config,
                   int         *status)
{
  g_autofree char *path = g_build_filename (g_get_user_config_dir (), "fitclip", "agent.conf", NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  gboolean have_file = g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL);

  config->url = g_strdup (globals.cloud ? globals.cloud : g_getenv ("FITCLIP_CLOUD"));
  if (config->url == NULL && have_file)
    config->url = g_key_file_get_string (kf, "cloud", "url", NULL);
  config->ca_file = g_strdup (globals.ca_file ? globals.ca_file : g_getenv ("FITCLIP_CA_FILE"));
  if (config->ca_file == NULL && have_file)
    config->ca_file = g_key_file_get_string (kf, "cloud", "ca-file", NULL);
  config->no_proxy = globals.no_proxy || (have_file && g_key_file_get_boolean (kf, "cloud", "no-proxy", NULL));
  if (config->url == NULL || *config->url == '\0')
    {
      g_printerr ("fitclipctl: no cloud address: give --cloud URL, set FITCLIP_CLOUD, or put url= in the "
                  "[cloud] section of %s\n", path);
      *status = EXIT_USAGE;
      return FALSE;
    }
  return TRUE;
}

static FcCloudClient *
new_cloud_client (const CloudConfig *config,
                  const char        *device_name,
                  int               *status)
{
  FcCloudClientOptions options = {
    .base_url = config->url,
    .ca_file = config->ca_file,
    .no_proxy = config->no_proxy,
    .device_name = device_name,
  };
  g_autoptr(GError) error = NULL;
  FcCloudClient *client = fc_cloud_client_new (&options, &error);

  if (client == NULL)
    *status = report_error (error);
  return client;
}

/* The commands below drive async calls from a plain main: iterate until
 * the callback has stored its result. */
static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static gboolean
stdin_is_terminal (void)
{
#ifdef G_OS_WIN32
  return _isatty (_fileno (stdin));
#else
  return isatty (STDIN_FILENO);
#endif
}

/* One line from standard input, without echo when it is a terminal (a
 * password). Scripts and tests pipe it in. NULL at end of input. */
static char *
read_line (const char *prompt,
           gboolean    secret)
{
  char buffer[1024];
  gboolean terminal = stdin_is_terminal ();
  char *line = NULL;
#ifdef G_OS_UNIX
  struct termios saved, quiet;
  gboolean echo_off = FALSE;
#endif
#ifdef G_OS_WIN32
  HANDLE in = GetStdHandle (STD_INPUT_HANDLE);
  DWORD saved_mode = 0;
  gboolean echo_off = FALSE;
#endif

  if (terminal)
    {
      fputs (prompt, stderr);
      fflush (stderr);
    }
#ifdef G_OS_UNIX
  if (terminal && secret && tcgetattr (STDIN_FILENO, &saved) == 0)
    {
      quiet = saved;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      echo_off = tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
#endif
#ifdef G_OS_WIN32
  if (terminal && secret && GetConsoleMode (in, &saved_mode))
    echo_off = SetConsoleMode (in, saved_mode & ~ENABLE_ECHO_INPUT);
#endif
  if (fgets (buffer, sizeof buffer, stdin) != NULL)
    {
      buffer[strcspn (buffer, "\r\n")] = '\0';
      line = g_strdup (buffer);
    }
  OPENSSL_cleanse (buffer, sizeof buffer);
#ifdef G_OS_UNIX
  if (echo_off)
    tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
#endif
#ifdef G_OS_WIN32
  if (echo_off)
    SetConsoleMode (in, saved_mode);
#endif
  if (terminal && secret)
    fputc ('\n', stderr);
  return line;
}

static void
print_paired (const CloudConfig *config,
              const char        *device_id,
              const char        *shop_id)
{
  if (globals.json)
    {
      FcJsonWriter *w = fc_json_writer_new (TRUE);
      fc_json_writer_begin_object (w);
      fc_json_writer_key (w, "cloud");
      fc_json_writer_string (w, config->url);
      fc_json_writer_key (w, "device_id");
      fc_json_writer_string (w, device_id);
      fc_json_writer_key (w, "shop_id");
      fc_json_writer_string (w, shop_id);
      fc_json_writer_end_object (w);
      print_json (w);
    }
  else
    g_print ("This PC is paired with %s as device %s; it syncs from now on "
             "(fitclipctl sync status).\n", config->url, device_id);
}

/* The end of login and pair: wait for the pairing, then say so. */
static int
finish_pairing (FcCloudClient     *client,
                GAsyncResult     **result,
                const CloudConfig *config)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *device_id = NULL, *shop_id = NULL;

  if (!fc_cloud_client_pair_finish (client, wait_for (result), &device_id, &shop_id, &error))
    return report_error (error);
  print_paired (config, device_id, shop_id);
  return 0;
}

static int
cmd_login (int argc, char **argv)
{
  g_autofree char *email = NULL, *name = NULL, *password = NULL;
  GOptionEntry entries[] = {
    { "email", 0, 0, G_OPTION_ARG_STRING, &email, "The shop owner's e-mail", "EMAIL" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, "This PC's name in the owner's device list (default: host name)", "NAME" },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("— pair this PC with the shop's cloud account (the owner signs in once; "
                          "the password is read from the terminal or standard input and not kept)");
  g_auto(CloudConfig) config = { 0 };
  g_autoptr(FcCloudClient) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  int status = 0;

  if (!parse_options (context, entries, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return usage_error (context, "login takes options only");
  if (!load_cloud_config (&config, &status))
    return status;
  if (email == NULL && stdin_is_terminal ())
    email = read_line ("Owner's e-mail: ", FALSE);
  if (email == NULL || *email == '\0')
    return usage_error (context, "give the owner's e-mail with --email");
  password = read_line ("Password: ", TRUE);
  if (password == NULL || *password == '\0')
    {
      g_printerr ("fitclipctl: no password given\n");
      return EXIT_BAD_INPUT;
    }
  client = new_cloud_client (&config, name, &status);
  if (client == NULL)
    return status;
  fc_cloud_client_login_async (client, email, password, NULL, store_result, &result);
  OPENSSL_cleanse (password, strlen (password));
  return finish_pairing (client, &result, &config);
}

static int
cmd_pair (int argc, char **argv)
{
  g_autofree char *name = NULL;
  GOptionEntry entries[] = {
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, "This PC's name in the owner's device list (default: host name)", "NAME" },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("CODE — pair this PC with a code the owner made (XXXX-XXXX, valid 10 minutes)");
  g_auto(CloudConfig) config = { 0 };
  g_autoptr(FcCloudClient) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  int status = 0;

  if (!parse_options (context, entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error (context, "pair takes exactly one CODE");
  if (!load_cloud_config (&config, &status))
    return status;
  client = new_cloud_client (&config, name, &status);
  if (client == NULL)
    return status;
  fc_cloud_client_pair_async (client, argv[1], NULL, store_result, &result);
  return finish_pairing (client, &result, &config);
}

static int
cmd_logout (int argc, char **argv)
{
  g_autoptr(GOptionContext) context =
    g_option_context_new ("— unpair this PC (the cloud revokes it; what waits to be sent stays here)");
  g_auto(CloudConfig) config = { 0 };
  g_autoptr(FcCloudClient) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!parse_options (context, NULL, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return usage_error (context, "logout takes no arguments");
  if (!load_cloud_config (&config, &status))
    return status;
  client = new_cloud_client (&config, NULL, &status);
  if (client == NULL)
    return status;
  fc_cloud_client_logout_async (client, NULL, store_result, &result);
  if (!fc_cloud_client_logout_finish (client, wait_for (&result), &error))
    return report_error (error);
  g_print ("This PC is no longer paired with %s.\n", config.url);
  return 0;
}

static const char *const kind_labels[FC_SYNC_N_KINDS] = {
  "new fittings", "shots", "edits", "completions", "videos",
};

/* Problems listed by `sync status`: the most recent; a person fixes a
 * few at a time. */
#define MAX_PROBLEMS 20

static int
sync_status (void)
{
  g_auto(CloudConfig) config = { 0 };
  g_autoptr(FcStore) store = NULL;
  g_autoptr(FcSecretStore) secrets = NULL;
  g_autoptr(GBytes) token = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) keyring_error = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  FcSyncQueueStatus qs = { 0 };
  guint total = 0;
  int status = 0;

  /* Status without a cloud address is still worth showing: what waits. */
  config.url = g_strdup (globals.cloud ? globals.cloud : g_getenv ("FITCLIP_CLOUD"));
  if (config.url == NULL)
    {
      g_autofree char *path = g_build_filename (g_get_user_config_dir (), "fitclip", "agent.conf", NULL);
      g_autoptr(GKeyFile) kf = g_key_file_new ();

      if (g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL))
        config.url = g_key_file_get_string (kf, "cloud", "url", NULL);
    }
  store = open_store (&status);
  if (store == NULL)
    return status;
  /* Fittings whose customer cannot be read wait: count them with the
   * key when the keyring has it, without making one (a status changes
   * nothing). */
  {
    g_autofree char *key_id = NULL;

    if (!fc_store_get_pii_key_id (store, &key_id, &error))
      return report_error (error);
    if (key_id != NULL)
      {
        g_autoptr(FcSecretStore) pii_secrets = fc_secret_store_new_default ();

        fc_pii_unlock_store (store, pii_secrets, NULL, NULL);
      }
  }
  if (!fc_sync_queue_get_status (store, &qs, &error))
    return report_error (error);
  problems = fc_sync_queue_list_problems (store, MAX_PROBLEMS, &error);
  if (problems == NULL)
    return report_error (error);
  for (guint i = 0; i < FC_SYNC_N_KINDS; i++)
    total += qs.pending[i];
  if (config.url != NULL)
    {
      g_autoptr(FcCloudClient) client = new_cloud_client (&config, NULL, &status);

      if (client == NULL)
        return status;
      /* The keyring's account is the address as the client spells it. */
      secrets = fc_secret_store_new_default ();
      token = fc_secret_store_lookup (secrets, FC_SECRET_DEVICE_REFRESH_TOKEN,
                                      fc_cloud_client_get_base_url (client), NULL, &keyring_error);
      if (g_error_matches (keyring_error, FC_ERROR, FC_ERROR_NOT_FOUND))
        g_clear_error (&keyring_error);
    }

  if (globals.json)
    {
      FcJsonWriter *w = fc_json_writer_new (TRUE);
      g_autofree char *oldest = qs.oldest_created_at ? fc_format_timestamp (qs.oldest_created_at) : NULL;
      g_autofree char *last_success = qs.last_success_at ? fc_format_timestamp (qs.last_success_at) : NULL;

      fc_json_writer_begin_object (w);
      fc_json_writer_key (w, "cloud");
      fc_json_writer_string (w, config.url);
      fc_json_writer_key (w, "paired");
      if (config.url == NULL || keyring_error != NULL)
        fc_json_writer_null (w);
      else
        fc_json_writer_boolean (w, token != NULL);
      fc_json_writer_key (w, "keyring_error");
      fc_json_writer_string (w, keyring_error ? keyring_error->message : NULL);
      fc_json_writer_key (w, "pending");
      fc_json_writer_begin_object (w);
      for (guint i = 0; i < FC_SYNC_N_KINDS; i++)
        {
          fc_json_writer_key (w, fc_sync_kind_to_string (i));
          fc_json_writer_int (w, qs.pending[i]);
        }
      fc_json_writer_end_object (w);
      fc_json_writer_key (w, "pending_total");
      fc_json_writer_int (w, total);
      fc_json_writer_key (w, "parked");
      fc_json_writer_int (w, qs.parked);
      fc_json_writer_key (w, "waiting_for_key");
      fc_json_writer_int (w, qs.waiting_for_key);
      fc_json_writer_key (w, "set_aside");
      fc_json_writer_int (w, qs.set_aside);
      fc_json_writer_key (w, "oldest_pending_at");
      fc_json_writer_string (w, oldest);
      fc_json_writer_key (w, "last_success_at");
      fc_json_writer_string (w, last_success);
      fc_json_writer_key (w, "last_error");
      fc_json_writer_string (w, qs.last_error);
      fc_json_writer_key (w, "problems");
      fc_json_writer_begin_array (w);
      for (guint i = 0; i < problems->len; i++)
        {
          FcSyncProblem *p = g_ptr_array_index (problems, i);
          g_autofree char *at = fc_format_timestamp (p->at);

          fc_json_writer_begin_object (w);
          fc_json_writer_key (w, "fitting_id");
          fc_json_writer_string (w, p->fitting_id);
          fc_json_writer_key (w, "shot_id");
          fc_json_writer_string (w, p->shot_id);
          fc_json_writer_key (w, "what");
          fc_json_writer_string (w, p->what);
          fc_json_writer_key (w, "reason");
          fc_json_writer_string (w, p->reason);
          fc_json_writer_key (w, "at");
          fc_json_writer_string (w, at);
          fc_json_writer_end_object (w);
        }
      fc_json_writer_end_array (w);
      fc_json_writer_end_object (w);
      print_json (w);
    }
  else
    {
      g_autofree char *oldest = format_time (qs.oldest_created_at);

      g_print ("Cloud           %s\n", config.url ? config.url : "not configured (--cloud URL, FITCLIP_CLOUD, "
                                                               "or url= in [cloud] of agent.conf)");
      if (config.url != NULL)
        g_print ("Paired          %s\n", keyring_error ? keyring_error->message
                                         : token ? "yes"
                                         : "no (fitclipctl login, or fitclipctl pair CODE)");
      g_print ("Waiting to send %u", total);
      if (total > 0)
        {
          const char *sep = " (";

          for (guint i = 0; i < FC_SYNC_N_KINDS; i++)
            if (qs.pending[i] > 0)
              {
                g_print ("%s%u %s", sep, qs.pending[i], kind_labels[i]);
                sep = ", ";
              }
          g_print ("); oldest from %s", oldest);
        }
      g_print ("\n");
      g_print ("Parked          %u%s\n", qs.parked, qs.parked ? " (the cloud refused them; fitclipctl sync now "
                                                               "tries again)" : "");
      if (qs.set_aside)
        g_print ("Set aside       %u shot%s (the cloud refused %s; the rest went on; fitclipctl sync now "
                 "tries again)\n", qs.set_aside, qs.set_aside == 1 ? "" : "s", qs.set_aside == 1 ? "it" : "them");
      if (qs.waiting_for_key)
        g_print ("Waiting for key %u fitting%s (their customers' details are locked: unlock the keyring)\n",
                 qs.waiting_for_key, qs.waiting_for_key == 1 ? "" : "s");
      {
        g_autofree char *last_success = format_time (qs.last_success_at);

        g_print ("Last success    %s\n", qs.last_success_at ? last_success : "never");
      }
      g_print ("Last error      %s\n", qs.last_error ? qs.last_error : "—");
      for (guint i = 0; i < problems->len; i++)
        {
          FcSyncProblem *p = g_ptr_array_index (problems, i);
          g_autofree char *at = format_time (p->at);

          g_print ("%s %s, fitting %s, %s: %s\n", i == 0 ? "Needs attention" : "               ",
                   p->what, p->fitting_id ? p->fitting_id : "—", at, p->reason ? p->reason : "refused");
        }
    }
  fc_sync_queue_status_clear (&qs);
  return 0;
}

typedef struct {
  gboolean  terminal;
  gint64    printed_at;
  guint64   sent;
} Progress;

static void
on_sync_progress (FcSyncEngine       *engine,
                  const FcSyncStatus *status,
                  gpointer            user_data)
{
  Progress *p = user_data;
  gint64 now = g_get_monotonic_time ();

  if (status->sent_requests == p->sent && p->printed_at != 0)
    return;
  /* A line per second at most when it goes to a log. */
  if (!p->terminal && now - p->printed_at < G_USEC_PER_SEC)
    return;
  p->sent = status->sent_requests;
  p->printed_at = now;
  g_printerr ("%sSent %" G_GUINT64_FORMAT " request%s (%" G_GUINT64_FORMAT " shots, %" G_GUINT64_FORMAT
              " videos); %u waiting%s", p->terminal ? "\r" : "", status->sent_requests,
              status->sent_requests == 1 ? "" : "s", status->sent_shots, status->sent_videos,
              fc_sync_status_total_pending (status), p->terminal ? "   " : "\n");
}

#ifdef G_OS_UNIX
static gboolean
on_interrupt (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}
#endif

static int
sync_now (void)
{
  g_auto(CloudConfig) config = { 0 };
  g_autofree char *db = NULL;
  g_autoptr(FcSyncEngine) engine = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  FcSyncEngineOptions options = { 0 };
  Progress progress = { 0 };
  const FcSyncStatus *last;
  gboolean ok;
  int status = 0;

  if (!load_cloud_config (&config, &status))
    return status;
  db = globals.db_path ? g_strdup (globals.db_path) : fc_store_default_path ();
  /* Fails early, with the store's own message, for a missing database. */
  {
    g_autoptr(FcStore) store = open_store (&status);

    if (store == NULL)
      return status;
  }
  options.db_path = db;
  options.cloud_url = config.url;
  options.ca_file = config.ca_file;
  options.no_proxy = config.no_proxy;
  engine = fc_sync_engine_new (&options, &error);
  if (engine == NULL)
    return report_error (error);
#ifdef G_OS_WIN32
  progress.terminal = _isatty (_fileno (stderr));
#else
  progress.terminal = isatty (STDERR_FILENO);
#endif
  g_signal_connect (engine, "status-changed", G_CALLBACK (on_sync_progress), &progress);
#ifdef G_OS_UNIX
  g_unix_signal_add (SIGINT, on_interrupt, cancellable);
  g_unix_signal_add (SIGTERM, on_interrupt, cancellable);
#endif
  fc_sync_engine_start (engine);
  fc_sync_engine_drain_async (engine, cancellable, store_result, &result);
  while (result == NULL && !g_cancellable_is_cancelled (cancellable))
    g_main_context_iteration (NULL, TRUE);
  ok = result != NULL && fc_sync_engine_drain_finish (engine, result, &error);
  fc_sync_engine_stop (engine);
  last = fc_sync_engine_get_status (engine);
  if (progress.terminal && progress.printed_at != 0)
    g_printerr ("\n");
  if (!ok)
    {
      g_printerr ("fitclipctl: not everything was sent (%" G_GUINT64_FORMAT " request%s went through): %s\n",
                  last->sent_requests, last->sent_requests == 1 ? "" : "s",
                  error ? error->message : "interrupted");
      return EXIT_BAD_INPUT;
    }
  g_print ("Everything is sent: %" G_GUINT64_FORMAT " request%s (%" G_GUINT64_FORMAT " shots, %" G_GUINT64_FORMAT
           " videos).\n", last->sent_requests, last->sent_requests == 1 ? "" : "s", last->sent_shots,
           last->sent_videos);
  return 0;
}

static int
cmd_sync (int argc, char **argv)
{
  g_autoptr(GOptionContext) context =
    g_option_context_new ("status|now — what waits to go to the cloud; send it now");
  int status = 0;

  g_option_context_set_description (context,
                                    "status   what waits to be sent, what the cloud refused, and whether this PC is paired\n"
                                    "now      send everything now (parked changes too); exit 0 once all is sent,\n"
                                    "         1 with the reason otherwise\n");
  if (!parse_options (context, NULL, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error (context, "sync takes status or now");
  if (strcmp (argv[1], "status") == 0)
    return sync_status ();
  if (strcmp (argv[1], "now") == 0)
    return sync_now ();
  return usage_error (context, "sync takes status or now");
}

static const Command commands[] = {
  { "import",      "FILE [--fitting ID] [--config ID]", "Import a launch-monitor export (CSV or JSON)", cmd_import },
  { "export",      "FITTING --format csv|json [-o FILE]", "Export a fitting", cmd_export },
  { "fittings",    "", "List fittings", cmd_fittings },
  { "show",        "FITTING", "Show a fitting and its shots", cmd_show },
  { "stats",       "FITTING", "Statistics per club configuration", cmd_stats },
  { "doctor",      "", "Check the database: integrity, schema version, counts", cmd_doctor },
  { "new-fitting", "--type TYPE --customer NAME", "Start a fitting", cmd_new_fitting },
  { "add-config",  "FITTING --role baseline|test", "Add a club configuration", cmd_add_config },
  { "exclude",     "SHOT… [--reason TEXT]", "Leave shots out of the statistics", cmd_exclude },
  { "include",     "SHOT…", "Count excluded shots again", cmd_include },
  { "complete",    "FITTING", "Mark a fitting completed", cmd_complete },
  { "login",       "[--email EMAIL]", "Pair this PC with the shop's cloud account", cmd_login },
  { "pair",        "CODE", "Pair this PC with a code the owner made", cmd_pair },
  { "logout",      "", "Unpair this PC", cmd_logout },
  { "sync",        "status|now", "What waits to go to the cloud; send it now", cmd_sync },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: fitclipctl [--db PATH] [--json] [--cloud URL] COMMAND [ARGS…]\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-12s %-38s %s\n", commands[i].name, commands[i].args, commands[i].summary);
  fprintf (out, "\nThe database is $FITCLIP_DB, or %s when unset.\n"
           "Run “fitclipctl COMMAND --help” for a command's options.\n", "<user data folder>/fitclip/fitclip.db");
}

int
main (int argc, char **argv)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const Command *command = NULL;
  int status;

  setlocale (LC_ALL, "");

  /* The command is the first argument that is not an option or the value
   * of a global option that takes one. */
  g_ptr_array_add (args, argv[0]);
  for (int i = 1; i < argc; i++)
    {
      if (command == NULL && argv[i][0] != '-')
        {
          for (guint c = 0; c < G_N_ELEMENTS (commands); c++)
            if (strcmp (argv[i], commands[c].name) == 0)
              command = &commands[c];
          if (command == NULL)
            {
              g_printerr ("fitclipctl: unknown command “%s”\n\n", argv[i]);
              print_usage (stderr);
              return EXIT_USAGE;
            }
          continue;
        }
      if (command == NULL && (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0))
        {
          print_usage (stdout);
          return 0;
        }
      if (command == NULL && (strcmp (argv[i], "--version") == 0))
        {
          g_print ("fitclipctl %s\n", PACKAGE_VERSION);
          return 0;
        }
      g_ptr_array_add (args, argv[i]);
      if (command == NULL && (strcmp (argv[i], "--db") == 0 || strcmp (argv[i], "--units") == 0 ||
                              strcmp (argv[i], "--cloud") == 0 || strcmp (argv[i], "--ca-file") == 0) &&
          i + 1 < argc)
        g_ptr_array_add (args, argv[++i]);
    }
  if (command == NULL)
    {
      print_usage (stderr);
      return EXIT_USAGE;
    }

  {
    int cargc = (int) args->len;

    g_ptr_array_add (args, NULL);
    status = command->func (cargc, (char **) args->pdata);
  }
  g_free (globals.db_path);
  g_free (globals.units);
  g_free (globals.cloud);
  g_free (globals.ca_file);
  g_free (export_format);
  return status;
}
