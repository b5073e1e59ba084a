/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-lmsim"

#include "config.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "lmsim.h"

/*
 * fitclip-lmsim: pretends to be a launch monitor (or the software next to
 * one) so that the agent can be developed, demonstrated and tested in a
 * bay without a monitor. Each device mode lives in its own file and
 * speaks that device's protocol the way the real thing does, quirks and
 * faults included.
 */

typedef int (*ModeFunc) (int argc, char **argv);

typedef struct {
  const char *name;
  const char *args;
  const char *summary;
  ModeFunc    func;
} Mode;

static const Mode modes[] = {
  { "open-connect", "HOST[:PORT]", "send shots to an Open Connect (GSPro API v1) receiver over TCP",
    lmsim_open_connect_main },
  { "lastshot", "PATH", "rewrite a Foresight FSX 2020 LastShot.CSV file per shot",
    lmsim_lastshot_main },
  { "e6", "HOST[:PORT]", "be the Garmin Golf app sending R10/R50 shots in E6 Connect mode",
    lmsim_e6_main },
  { "trackman", "", "be a TrackMan 4 unit: UPnP description, REST API and WebSocket",
    lmsim_trackman_main },
};

static volatile sig_atomic_t interrupted;

static void
on_sigint (int signum)
{
  /* A second Ctrl-C stops at once, for a mode stuck in a long wait. */
  if (interrupted)
    signal (signum, SIG_DFL);
  interrupted = 1;
}

gboolean
lmsim_interrupted (void)
{
  return interrupted != 0;
}

void
lmsim_say (gboolean    show,
           const char *format,
           ...)
{
  g_autofree char *text = NULL;
  va_list args;

  if (!show)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("fitclip-lmsim: %s\n", text);
}

void
lmsim_sleep_until (gint64 until)
{
  for (;;)
    {
      gint64 now = g_get_monotonic_time ();

      if (now >= until || lmsim_interrupted ())
        return;
      /* Short naps, so Ctrl-C is noticed promptly. */
      g_usleep (MIN (until - now, 100 * 1000));
    }
}

int
lmsim_usage_error (GOptionContext *context,
                   const char     *message)
{
  g_printerr ("fitclip-lmsim: %s\n", message);
  if (context)
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);
      g_printerr ("\n%s", help);
    }
  return LMSIM_EXIT_USAGE;
}

gboolean
lmsim_parse_command_line (GOptionContext      *context,
                          const GOptionEntry  *entries,
                          const char          *help,
                          const char          *arg_name,
                          LmsimShotOptions    *shot_options,
                          int                 *argc,
                          char              ***argv,
                          int                 *status)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *clubs = lmsim_clubs_help ();
  g_autofree char *description = g_strconcat (help ? help : "", help ? "\n" : "", clubs, NULL);
  const char *problem;

  g_option_context_add_main_entries (context, entries, NULL);
  lmsim_shot_options_add (shot_options, context);
  g_option_context_set_description (context, description);

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *status = lmsim_usage_error (context, error->message);
      return FALSE;
    }
  if (*argc != 2)
    {
      g_autofree char *message = g_strdup_printf ("%s takes exactly one %s", (*argv)[0], arg_name);
      *status = lmsim_usage_error (context, message);
      return FALSE;
    }
  if ((problem = lmsim_shot_options_check (shot_options)) != NULL)
    {
      *status = lmsim_usage_error (context, problem);
      return FALSE;
    }
  return TRUE;
}

LmsimShotSource *
lmsim_open_shot_source (const LmsimShotOptions *options,
                        int                    *status)
{
  g_autoptr(GError) error = NULL;
  LmsimShotSource *source = lmsim_shot_source_new (options, &error);

  if (source == NULL)
    {
      g_printerr ("fitclip-lmsim: %s\n", error->message);
      *status = LMSIM_EXIT_FAILED;
      return NULL;
    }
  /* On stderr, with the seed: enough to repeat a surprising run. */
  g_printerr ("fitclip-lmsim: %s\n", lmsim_shot_source_describe (source));
  return source;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: fitclip-lmsim MODE ARGUMENTS [OPTIONS]\n\n"
                "Simulates a launch monitor for FitClip Agent.\n\nModes:\n");
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    fprintf (out, "  %-13s %-12s %s\n", modes[i].name, modes[i].args, modes[i].summary);
  fprintf (out, "\n\"fitclip-lmsim MODE --help\" lists the options of a mode.\n"
                "Exit status: 0 every shot delivered, 1 some were not, 2 usage error.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  /* Numbers on the wire must use '.', whatever the user's locale. */
  setlocale (LC_NUMERIC, "C");
  signal (SIGINT, on_sigint);

  if (argc < 2)
    {
      print_usage (stderr);
      return LMSIM_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0)
    {
      print_usage (stdout);
      return LMSIM_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      g_print ("fitclip-lmsim %s\n", PACKAGE_VERSION);
      return LMSIM_EXIT_OK;
    }
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    if (strcmp (argv[1], modes[i].name) == 0)
      {
        /* The mode parses the rest; argv[0] becomes its name in --help. */
        g_autofree char *prgname = g_strdup_printf ("fitclip-lmsim %s", modes[i].name);

        g_set_prgname (prgname);
        return modes[i].func (argc - 1, argv + 1);
      }

  g_printerr ("fitclip-lmsim: unknown mode “%s”\n\n", argv[1]);
  print_usage (stderr);
  return LMSIM_EXIT_USAGE;
}
