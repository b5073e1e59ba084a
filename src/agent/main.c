/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fitclip-agent"

#include "config.h"

#include <glib.h>
#include <locale.h>
#ifdef G_OS_UNIX
# include <glib-unix.h>
#endif

#include "fc-store.h"

/*
 * fitclip-agent. At this stage it is the headless engine: it opens (and
 * if needed creates or upgrades) the shot store, makes sure the bay has a
 * practice session to catch shots, reports where everything is and keeps
 * running until it is stopped. Launch monitors, sync and the window are
 * added on top of this by later work; --headless is accepted already so
 * that scripts written now keep working.
 */

static gboolean
on_stop (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autofree char *db_path = NULL;
  g_autofree char *bay = NULL;
  gboolean headless = FALSE, once = FALSE, version = FALSE;
  GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db_path, "Database file (default: $FITCLIP_DB or the user data folder)", "PATH" },
    { "bay", 0, 0, G_OPTION_ARG_STRING, &bay, "This bay's name (default “" FC_STORE_DEFAULT_BAY "”)", "NAME" },
    { "headless", 0, 0, G_OPTION_ARG_NONE, &headless, "Run without a window", NULL },
    { "once", 0, 0, G_OPTION_ARG_NONE, &once, "Report and exit instead of running", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— the fitting-bay agent");
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = NULL;
  g_autoptr(FcFitting) practice = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  FcStoreCounts counts;

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("fitclip-agent: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("fitclip-agent %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (db_path == NULL)
    db_path = fc_store_default_path ();
  if (bay == NULL)
    bay = g_strdup (FC_STORE_DEFAULT_BAY);

  store = fc_store_open (db_path, &error);
  if (store == NULL)
    {
      g_printerr ("fitclip-agent: %s\n", error->message);
      return 1;
    }
  practice = fc_store_ensure_practice_session (store, bay, &error);
  if (practice == NULL || !fc_store_get_counts (store, &counts, &error))
    {
      g_printerr ("fitclip-agent: %s\n", error->message);
      return 1;
    }

  g_print ("FitClip Agent %s\n", PACKAGE_VERSION);
  g_print ("  database      %s (schema %d)\n", fc_store_get_path (store),
           fc_store_get_schema_version (store));
  g_print ("  bay           %s (practice session %s)\n", bay, practice->id);
  g_print ("  stored        %" G_GINT64_FORMAT " shots in %" G_GINT64_FORMAT " fittings, "
           "%" G_GINT64_FORMAT " changes waiting to sync\n",
           counts.shots, counts.fittings, counts.outbox_pending);
  if (once)
    return 0;

  g_print ("Running headless; stop with Ctrl+C.\n");
  loop = g_main_loop_new (NULL, FALSE);
#ifdef G_OS_UNIX
  g_unix_signal_add (SIGINT, on_stop, loop);
  g_unix_signal_add (SIGTERM, on_stop, loop);
#endif
  g_main_loop_run (loop);
  g_print ("Stopped; everything is saved.\n");
  return 0;
}
