/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "sync-bay.h"

#include <signal.h>
#include <sys/prctl.h>

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

SyncBay *
sync_bay_new (const char *const *cloud_args,
              GError           **error)
{
  g_autoptr(SyncBay) bay = g_new0 (SyncBay, 1);

  bay->keyring = keyring_session_start (KEYRING_UNLOCKED, error);
  if (bay->keyring == NULL)
    return NULL;
  bay->dir = g_dir_make_tmp ("fitclip-bay-XXXXXX", error);
  if (bay->dir == NULL)
    return NULL;
  bay->db = g_build_filename (bay->dir, "agent.db", NULL);
  bay->config = g_build_filename (bay->dir, "agent.conf", NULL);
  bay->log = g_build_filename (bay->dir, "agent.log", NULL);
  if (!g_file_set_contents (bay->config, "[agent]\nbay=Bay 1\n", -1, error))
    return NULL;
  bay->cloud = sync_cloud_start (cloud_args);
  return g_steal_pointer (&bay);
}

void
sync_bay_free (SyncBay *bay)
{
  if (bay == NULL)
    return;
  g_clear_pointer (&bay->cloud, sync_cloud_free);
  g_clear_pointer (&bay->keyring, keyring_session_stop);
  if (bay->dir)
    sync_remove_tree (bay->dir);
  g_free (bay->dir);
  g_free (bay->db);
  g_free (bay->config);
  g_free (bay->log);
  g_free (bay);
}

GSubprocessLauncher *
sync_bay_launcher (SyncBay         *bay,
                   GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  keyring_session_setenv (bay->keyring, launcher);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", bay->dir, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "FITCLIP_CLOUD");
  g_subprocess_launcher_unsetenv (launcher, "FITCLIP_DB");
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  return launcher;
}

char *
sync_bay_run (SyncBay    *bay,
              const char *first,
              ...)
{
  g_autoptr(GSubprocessLauncher) launcher =
    sync_bay_launcher (bay, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  va_list ap;

  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  if (proc == NULL)
    g_error ("%s: %s", first, error->message);
  if (!g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error))
    g_error ("%s: %s", first, error->message);
  if (!g_subprocess_get_successful (proc))
    g_error ("%s failed: %s", first, err);
  return g_steal_pointer (&out);
}

void
sync_bay_pair (SyncBay *bay)
{
  g_autofree char *code = sync_cloud_pair_code (bay->cloud);

  g_free (sync_bay_run (bay, g_getenv ("FITCLIPCTL"), "--db", bay->db, "--cloud", bay->cloud->url,
                        "--no-proxy", "pair", code, NULL));
}

GSubprocess *
sync_bay_start_agent (SyncBay           *bay,
                      const char *const *extra_args)
{
  g_autoptr(GSubprocessLauncher) launcher = sync_bay_launcher (bay, G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GSubprocess *agent;

  g_subprocess_launcher_set_stdout_file_path (launcher, bay->log);
  g_subprocess_launcher_set_stderr_file_path (launcher, bay->log);
  g_ptr_array_add (argv, (gpointer) g_getenv ("FITCLIP_AGENT"));
  g_ptr_array_add (argv, "--headless");
  g_ptr_array_add (argv, "--config");
  g_ptr_array_add (argv, bay->config);
  g_ptr_array_add (argv, "--db");
  g_ptr_array_add (argv, bay->db);
  g_ptr_array_add (argv, "--cloud");
  g_ptr_array_add (argv, bay->cloud->url);
  g_ptr_array_add (argv, "--no-proxy");
  for (guint i = 0; extra_args && extra_args[i]; i++)
    g_ptr_array_add (argv, (gpointer) extra_args[i]);
  g_ptr_array_add (argv, NULL);
  agent = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  if (agent == NULL)
    g_error ("fitclip-agent: %s", error->message);
  return agent;
}
