/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fitclip-agent"

#include "config.h"

#include <glib.h>
#include <locale.h>
#include <stdio.h>
#ifdef G_OS_UNIX
# include <glib-unix.h>
#endif

#include "fc-drop-folder.h"
#include "fc-e6-server.h"
#include "fc-hub.h"
#include "fc-lastshot-watcher.h"
#include "fc-open-connect-server.h"
#include "fc-pii-unlock.h"
#include "fc-secret-store.h"
#include "fc-trackman-client.h"
#include "fc-store.h"
#include "fc-sync-engine.h"

/*
 * fitclip-agent. Headless for now: it opens (creating or upgrading) the
 * shot store, makes sure the bay has a practice session to catch shots,
 * starts the launch-monitor listeners it is given, reports every state
 * change and stored shot, and runs until stopped. The window comes with
 * its own issue; --headless is accepted already so scripts keep working.
 *
 * Listeners come from the command line or from the config file
 * (<user config folder>/fitclip/agent.conf, or --config FILE):
 *
 *   [agent]
 *   bay=Bay 2
 *   [open-connect]
 *   listen=0.0.0.0:921;0.0.0.0:922
 *   allow=192.168.10.0/24
 *   [garmin-e6]
 *   listen=0.0.0.0:2483
 *   [trackman]
 *   connect=discover            (or ws://HOST/ws, or http://HOST/description.xml)
 *   oauth=TOKEN_URL CLIENT_ID CLIENT_SECRET   (only for REST gateways that want it)
 *   [files]
 *   lastshot=C:\\Users\\Bay\\Documents\\Foresight\\LastShot.CSV
 *   drop-folder=C:\\FitClip\\Drop
 *   [cloud]
 *   url=https://cloud.example.com   (sync; pair first with fitclipctl login or pair)
 *   ca-file=C:\\FitClip\\shop-proxy-ca.pem   (only behind a TLS-inspecting proxy)
 *   no-proxy=true                  (ignore the system's proxy settings)
 */

typedef struct {
  char    *db_path;
  char    *bay;
  char   **open_connect;
  char   **allow;
  char   **e6;
  char   **trackman;
  char    *trackman_oauth;
  char   **lastshot;
  char    *drop_folder;
  char    *config;
  char    *cloud;
  char    *ca_file;
  gboolean no_proxy;
  char    *sync_backoff;
  gboolean headless;
  gboolean once;
  gboolean demo;
  gboolean version;
} Options;

static gboolean
on_stop (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
on_monitor_changed (FcHub      *hub,
                    const char *monitor_id,
                    gpointer    user_data)
{
  g_autoptr(FcMonitorInfo) info = fc_hub_get_monitor (hub, monitor_id);

  if (info)
    g_print ("monitor  %-40s %s%s%s\n", monitor_id, fc_monitor_state_to_string (info->state),
             info->device ? "  device " : "", info->device ? info->device : "");
}

static void
on_shot_stored (FcHub      *hub,
                const char *monitor_id,
                const char *shot_id,
                gboolean    duplicate,
                gpointer    user_data)
{
  g_print ("shot     %-40s %s%s\n", monitor_id, shot_id, duplicate ? " (duplicate, not stored again)" : "");
}

/* Customers' details stay locked when the keyring cannot give their key;
 * shots flow either way, so this only reports. */
static void
on_customers_unlocked (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  if (fc_pii_unlock_store_finish (FC_STORE (source), result, &error))
    g_print ("  customers     details encrypted, key from the keyring\n");
  else
    g_printerr ("fitclip-agent: warning: customer details are locked: %s\n", error->message);
  *done = TRUE;
}

typedef struct {
  FcSyncState state;
  gboolean    online;
  guint       pending;
  guint       parked;
  guint       set_aside;
  char       *last_error;
  gint64      printed_at;
} SyncReport;

/* One line per change of the sync status; while a backlog drains, the
 * count at most once a second. */
static void
on_sync_status (FcSyncEngine       *engine,
                const FcSyncStatus *status,
                gpointer            user_data)
{
  SyncReport *last = user_data;
  guint pending = fc_sync_status_total_pending (status);
  gint64 now = g_get_monotonic_time ();
  gboolean changed = status->state != last->state || status->online != last->online ||
                     status->parked != last->parked || status->set_aside != last->set_aside ||
                     g_strcmp0 (status->last_error, last->last_error) != 0;

  if (!changed && (pending == last->pending || (pending != 0 && now - last->printed_at < G_USEC_PER_SEC)))
    return;
  g_print ("sync     %-13s %s  %u waiting (%u shots), %u parked, %u set aside, %" G_GUINT64_FORMAT " sent%s%s\n",
           fc_sync_state_to_string (status->state), status->online ? "online " : "offline",
           pending, status->pending[FC_SYNC_ADD_SHOTS], status->parked, status->set_aside, status->sent_requests,
           status->last_error ? "  — " : "", status->last_error ? status->last_error : "");
  /* Status lines are read by scripts and tests while the agent runs,
   * also when standard output is a file. */
  fflush (stdout);
  last->state = status->state;
  last->online = status->online;
  last->pending = pending;
  last->parked = status->parked;
  last->set_aside = status->set_aside;
  g_free (last->last_error);
  last->last_error = g_strdup (status->last_error);
  last->printed_at = now;
}

static void
on_shot_stored_wake_sync (FcHub      *hub,
                          const char *monitor_id,
                          const char *shot_id,
                          gboolean    duplicate,
                          gpointer    user_data)
{
  if (!duplicate)
    fc_sync_engine_wake (user_data);
}

/* --sync-backoff BASE_MS:CAP_MS, for tests that cannot wait minutes. */
static gboolean
parse_backoff (const char *text,
               gint64     *base_us,
               gint64     *cap_us)
{
  g_auto(GStrv) parts = text ? g_strsplit (text, ":", 2) : NULL;
  guint64 base, cap;

  if (parts == NULL || g_strv_length (parts) != 2 ||
      !g_ascii_string_to_unsigned (parts[0], 10, 1, 3600 * 1000, &base, NULL) ||
      !g_ascii_string_to_unsigned (parts[1], 10, base, 3600 * 1000, &cap, NULL))
    return FALSE;
  *base_us = (gint64) base * 1000;
  *cap_us = (gint64) cap * 1000;
  return TRUE;
}

/* Values from the config file fill in what the command line left unset. */
static gboolean
load_config (Options  *opt,
             GError  **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = opt->config ? g_strdup (opt->config)
                                      : g_build_filename (g_get_user_config_dir (), "fitclip", "agent.conf", NULL);

  /* The default file is optional; one named on the command line is not. */
  if (opt->config == NULL && !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  if (opt->bay == NULL)
    opt->bay = g_key_file_get_string (kf, "agent", "bay", NULL);
  if (opt->db_path == NULL)
    opt->db_path = g_key_file_get_string (kf, "agent", "database", NULL);
  if (opt->open_connect == NULL)
    opt->open_connect = g_key_file_get_string_list (kf, "open-connect", "listen", NULL, NULL);
  if (opt->allow == NULL)
    opt->allow = g_key_file_get_string_list (kf, "open-connect", "allow", NULL, NULL);
  if (opt->e6 == NULL)
    opt->e6 = g_key_file_get_string_list (kf, "garmin-e6", "listen", NULL, NULL);
  if (opt->trackman == NULL)
    opt->trackman = g_key_file_get_string_list (kf, "trackman", "connect", NULL, NULL);
  if (opt->trackman_oauth == NULL)
    opt->trackman_oauth = g_key_file_get_string (kf, "trackman", "oauth", NULL);
  if (opt->lastshot == NULL)
    opt->lastshot = g_key_file_get_string_list (kf, "files", "lastshot", NULL, NULL);
  if (opt->drop_folder == NULL)
    opt->drop_folder = g_key_file_get_string (kf, "files", "drop-folder", NULL);
  if (opt->cloud == NULL)
    opt->cloud = g_key_file_get_string (kf, "cloud", "url", NULL);
  if (opt->ca_file == NULL)
    opt->ca_file = g_key_file_get_string (kf, "cloud", "ca-file", NULL);
  if (!opt->no_proxy)
    opt->no_proxy = g_key_file_get_boolean (kf, "cloud", "no-proxy", NULL);
  return TRUE;
}

/* The simulator sits next to the agent when installed, and in the build
 * tree's tools/ folder when run from there. */
static char *
find_simulator (const char *argv0)
{
  g_autofree char *dir = g_path_get_dirname (argv0);
  const char *candidates[] = { "fitclip-lmsim", "../../tools/lmsim/fitclip-lmsim" };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_autofree char *path = g_build_filename (dir, candidates[i], NULL);
      if (g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&path);
    }
  return g_find_program_in_path ("fitclip-lmsim");
}

int
main (int argc, char **argv)
{
  Options opt = { 0 };
  GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &opt.db_path, "Database file (default: $FITCLIP_DB or the user data folder)", "PATH" },
    { "bay", 0, 0, G_OPTION_ARG_STRING, &opt.bay, "This bay's name (default “" FC_STORE_DEFAULT_BAY "”)", "NAME" },
    { "open-connect", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt.open_connect,
      "Listen for GSPro Open Connect clients (default port 921; 922 next to GSPro)", "ADDR:PORT" },
    { "allow", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt.allow, "Accept launch monitors only from these addresses", "ADDR[/PREFIX]" },
    { "e6", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt.e6,
      "Listen for the Garmin Golf app (R10/R50, E6 Connect mode; default port 2483)", "ADDR:PORT" },
    { "trackman", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt.trackman,
      "Connect to a TrackMan 4 (“discover”, a ws:// URL or a description.xml URL)", "discover|URL" },
    { "lastshot", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt.lastshot,
      "Follow Foresight FSX 2020's LastShot.CSV", "PATH" },
    { "drop-folder", 0, 0, G_OPTION_ARG_FILENAME, &opt.drop_folder,
      "Import exports dropped into this folder", "DIR" },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &opt.config, "Config file (default <user config folder>/fitclip/agent.conf)", "FILE" },
    { "cloud", 0, 0, G_OPTION_ARG_STRING, &opt.cloud, "Sync with this cloud (pair first: fitclipctl login)", "URL" },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &opt.ca_file,
      "Trust cloud certificates signed by these CAs (PEM) instead of the system's", "FILE" },
    { "no-proxy", 0, 0, G_OPTION_ARG_NONE, &opt.no_proxy, "Reach the cloud without the system's proxy", NULL },
    { "sync-backoff", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt.sync_backoff,
      "Retry delays of sync (first and longest, in ms; for tests)", "BASE:CAP" },
    { "headless", 0, 0, G_OPTION_ARG_NONE, &opt.headless, "Run without a window", NULL },
    { "demo", 0, 0, G_OPTION_ARG_NONE, &opt.demo, "Start with a simulated launch monitor", NULL },
    { "once", 0, 0, G_OPTION_ARG_NONE, &opt.once, "Report and exit instead of running", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &opt.version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— the fitting-bay agent");
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = NULL;
  g_autoptr(FcFitting) practice = NULL;
  g_autoptr(FcHub) hub = NULL;
  g_autoptr(GPtrArray) servers = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) feeds = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(FcDropFolder) drop = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GSubprocess) simulator = NULL;
  g_autoptr(FcSecretStore) secrets = NULL;
  g_autoptr(FcSyncEngine) sync = NULL;
  SyncReport sync_report = { .state = FC_SYNC_STATE_STOPPED };
  gboolean customers_unlocked = FALSE;
  FcStoreCounts counts;
  int status = 0;

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("fitclip-agent: %s\n", error->message);
      return 2;
    }
  if (opt.version)
    {
      g_print ("fitclip-agent %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (!load_config (&opt, &error))
    {
      g_printerr ("fitclip-agent: %s\n", error->message);
      return 2;
    }
  if (opt.db_path == NULL)
    opt.db_path = fc_store_default_path ();
  if (opt.bay == NULL)
    opt.bay = g_strdup (FC_STORE_DEFAULT_BAY);
  if (opt.demo && opt.open_connect == NULL)
    {
      /* A free port on loopback: the demo must not clash with anything. */
      opt.open_connect = g_new0 (char *, 2);
      opt.open_connect[0] = g_strdup ("127.0.0.1:0");
    }

  store = fc_store_open (opt.db_path, &error);
  if (store == NULL)
    goto fail;
  practice = fc_store_ensure_practice_session (store, opt.bay, &error);
  if (practice == NULL || !fc_store_get_counts (store, &counts, &error))
    goto fail;
  /* The keyring may wait for the user to unlock it: never in the way of
   * the listeners below. */
  secrets = fc_secret_store_new_default ();
  fc_pii_unlock_store_async (store, secrets, NULL, on_customers_unlocked, &customers_unlocked);

  g_print ("FitClip Agent %s\n", PACKAGE_VERSION);
  g_print ("  database      %s (schema %d)\n", fc_store_get_path (store), fc_store_get_schema_version (store));
  g_print ("  bay           %s (practice session %s)\n", opt.bay, practice->id);
  g_print ("  stored        %" G_GINT64_FORMAT " shots in %" G_GINT64_FORMAT " fittings, "
           "%" G_GINT64_FORMAT " changes waiting to sync\n",
           counts.shots, counts.fittings, counts.outbox_pending);
  if (opt.once)
    {
      /* Report the keyring's answer too, but do not hang on a prompt. */
      gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

      while (!customers_unlocked && g_get_monotonic_time () < deadline)
        if (!g_main_context_iteration (NULL, FALSE))
          g_usleep (10 * 1000);
      goto out;
    }

  hub = fc_hub_new (opt.db_path, NULL, opt.bay, &error);
  if (hub == NULL)
    goto fail;
  g_signal_connect (hub, "monitor-changed", G_CALLBACK (on_monitor_changed), NULL);
  g_signal_connect (hub, "shot-stored", G_CALLBACK (on_shot_stored), NULL);

  for (guint i = 0; opt.open_connect && opt.open_connect[i]; i++)
    {
      FcOpenConnectServer *server = fc_open_connect_server_new (hub);

      g_ptr_array_add (servers, server);
      if (!fc_open_connect_server_set_allowlist (server, (const char * const *) opt.allow, &error) ||
          !fc_open_connect_server_listen (server, opt.open_connect[i], &error))
        goto fail;
      g_print ("  open connect  listening on port %u\n", fc_open_connect_server_get_port (server));
    }
  for (guint i = 0; opt.e6 && opt.e6[i]; i++)
    {
      FcE6Server *server = fc_e6_server_new (hub);

      g_ptr_array_add (feeds, server);
      if (!fc_e6_server_set_allowlist (server, (const char * const *) opt.allow, &error) ||
          !fc_e6_server_listen (server, opt.e6[i], &error))
        goto fail;
      g_print ("  garmin e6     listening on port %u\n", fc_e6_server_get_port (server));
    }
  for (guint i = 0; opt.trackman && opt.trackman[i]; i++)
    {
      FcTrackmanClient *client = fc_trackman_client_new (hub);

      g_ptr_array_add (feeds, client);
      if (opt.trackman_oauth)
        {
          g_auto(GStrv) parts = g_strsplit (opt.trackman_oauth, " ", 3);

          if (g_strv_length (parts) != 3)
            {
              g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                   "[trackman] oauth must be “TOKEN_URL CLIENT_ID CLIENT_SECRET”");
              goto fail;
            }
          fc_trackman_client_set_oauth (client, parts[0], parts[1], parts[2]);
        }
      if (!fc_trackman_client_start (client, opt.trackman[i], &error))
        goto fail;
      g_print ("  trackman      %s\n", opt.trackman[i]);
    }
  for (guint i = 0; opt.lastshot && opt.lastshot[i]; i++)
    {
      FcLastShotWatcher *watcher = fc_lastshot_watcher_new (hub, opt.lastshot[i]);

      g_ptr_array_add (feeds, watcher);
      if (!fc_lastshot_watcher_start (watcher, &error))
        goto fail;
      g_print ("  lastshot      following %s\n", opt.lastshot[i]);
    }
  if (opt.drop_folder)
    {
      drop = fc_drop_folder_new (opt.db_path, opt.drop_folder, opt.bay);
      if (!fc_drop_folder_start (drop, &error))
        goto fail;
      g_print ("  drop folder   %s (imported files move to imported/, unreadable ones to failed/)\n",
               opt.drop_folder);
    }
  if (opt.cloud)
    {
      FcSyncEngineOptions sync_options = {
        .db_path = opt.db_path,
        .cloud_url = opt.cloud,
        .ca_file = opt.ca_file,
        .no_proxy = opt.no_proxy,
      };

      if (opt.sync_backoff && !parse_backoff (opt.sync_backoff, &sync_options.backoff_base_us,
                                               &sync_options.backoff_cap_us))
        {
          g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "--sync-backoff must be BASE_MS:CAP_MS");
          goto fail;
        }
      sync = fc_sync_engine_new (&sync_options, &error);
      if (sync == NULL)
        goto fail;
      g_signal_connect (sync, "status-changed", G_CALLBACK (on_sync_status), &sync_report);
      g_signal_connect_object (hub, "shot-stored", G_CALLBACK (on_shot_stored_wake_sync), sync, 0);
      fc_sync_engine_start (sync);
      g_print ("  cloud         syncing with %s%s\n", opt.cloud,
               opt.ca_file ? " (trusting the CA file given)" : "");
    }
  else
    g_print ("  cloud         not syncing (--cloud URL, or url= in [cloud] of the config file)\n");
  if (servers->len == 0 && feeds->len == 0 && drop == NULL)
    g_print ("  no launch monitor configured (use --open-connect 0.0.0.0:921, --e6 0.0.0.0:2483, "
             "--trackman discover, --lastshot, --drop-folder, the config file, or --demo)\n");

  if (opt.demo)
    {
      g_autofree char *sim = find_simulator (argv[0]);
      g_autofree char *target = g_strdup_printf ("127.0.0.1:%u",
                                                 fc_open_connect_server_get_port (g_ptr_array_index (servers, 0)));

      if (sim == NULL)
        {
          g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               "--demo needs fitclip-lmsim next to fitclip-agent or on the PATH");
          goto fail;
        }
      simulator = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, sim, "open-connect", target,
                                    "--count", "1000000", "--rate", "0.2", "--style", "mixed", NULL);
      if (simulator == NULL)
        goto fail;
      g_print ("  demo          simulated launch monitor sends a shot every 5 s\n");
    }

  g_print ("Running headless; stop with Ctrl+C.\n");
  loop = g_main_loop_new (NULL, FALSE);
#ifdef G_OS_UNIX
  g_unix_signal_add (SIGINT, on_stop, loop);
  g_unix_signal_add (SIGTERM, on_stop, loop);
#endif
  g_main_loop_run (loop);
  if (simulator)
    g_subprocess_force_exit (simulator);
  for (guint i = 0; i < servers->len; i++)
    fc_open_connect_server_stop (g_ptr_array_index (servers, i));
  if (sync)
    fc_sync_engine_stop (sync);
  g_print ("Stopped; everything acknowledged is saved.\n");
  goto out;

fail:
  g_printerr ("fitclip-agent: %s\n", error->message);
  status = 1;
out:
  g_free (opt.db_path);
  g_free (opt.bay);
  g_strfreev (opt.open_connect);
  g_strfreev (opt.allow);
  g_strfreev (opt.e6);
  g_strfreev (opt.trackman);
  g_free (opt.trackman_oauth);
  g_strfreev (opt.lastshot);
  g_free (opt.drop_folder);
  g_free (opt.config);
  g_free (opt.cloud);
  g_free (opt.ca_file);
  g_free (opt.sync_backoff);
  g_free (sync_report.last_error);
  return status;
}
