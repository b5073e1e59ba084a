/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "keyring-session"

#include "keyring-session.h"

#include <glib/gstdio.h>
#include <signal.h>

#define READY_TIMEOUT_US (15 * G_USEC_PER_SEC)
#define STOP_TIMEOUT_US  (5 * G_USEC_PER_SEC)

struct _KeyringSession {
  char        *dir;
  char        *address;
  GSubprocess *bus;
  GSubprocess *keyring;
};

/* No <servicedir>: a test that wants "no keyring" must not get one
 * started by D-Bus activation. */
static const char bus_config[] =
  "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
  " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
  "<busconfig>\n"
  "  <type>session</type>\n"
  "  <listen>unix:dir=%s</listen>\n"
  "  <auth>EXTERNAL</auth>\n"
  "  <policy context=\"default\">\n"
  "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
  "    <allow eavesdrop=\"true\"/>\n"
  "    <allow own=\"*\"/>\n"
  "  </policy>\n"
  "</busconfig>\n";

void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            remove_tree (child);
          else
            g_unlink (child);
        }
      g_dir_close (dir);
    }
  g_rmdir (path);
}

static void
on_waited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static void
stop_process (GSubprocess *proc)
{
  gboolean done = FALSE;
  gint64 deadline;

  if (proc == NULL)
    return;
  g_subprocess_wait_async (proc, NULL, on_waited, &done);
  g_subprocess_send_signal (proc, SIGTERM);
  deadline = g_get_monotonic_time () + STOP_TIMEOUT_US;
  while (!done && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (5 * 1000);
  if (!done)
    g_subprocess_force_exit (proc);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

void
keyring_session_stop (KeyringSession *session)
{
  if (session == NULL)
    return;
  stop_process (session->keyring);
  stop_process (session->bus);
  g_clear_object (&session->keyring);
  g_clear_object (&session->bus);
  if (session->dir)
    remove_tree (session->dir);
  g_free (session->dir);
  g_free (session->address);
  g_free (session);
}

static gboolean
call_string (GDBusConnection  *conn,
             const char       *dest,
             const char       *path,
             const char       *iface,
             const char       *method,
             GVariant         *args,
             const char       *type,
             GVariant        **out)
{
  g_autoptr(GVariant) reply =
    g_dbus_connection_call_sync (conn, dest, path, iface, method, args, G_VARIANT_TYPE (type),
                                 G_DBUS_CALL_FLAGS_NO_AUTO_START, 2000, NULL, NULL);

  if (reply == NULL)
    return FALSE;
  *out = g_variant_get_child_value (reply, 0);
  return TRUE;
}

/* Until the Secret Service owns its name and, when it should have one,
 * its login keyring is the default collection. */
static gboolean
wait_ready (KeyringSession  *session,
            KeyringMode      mode,
            GError         **error)
{
  g_autoptr(GDBusConnection) conn = NULL;
  gint64 deadline = g_get_monotonic_time () + READY_TIMEOUT_US;

  conn = g_dbus_connection_new_for_address_sync (session->address,
                                                 G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                 G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                 NULL, NULL, error);
  if (conn == NULL)
    return FALSE;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(GVariant) owned = NULL;
      g_autoptr(GVariant) alias = NULL;

      if (g_subprocess_get_identifier (session->keyring) == NULL)
        break;   /* it died */
      if (call_string (conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                       "NameHasOwner", g_variant_new ("(s)", "org.freedesktop.secrets"), "(b)", &owned) &&
          g_variant_get_boolean (owned))
        {
          if (mode != KEYRING_UNLOCKED)
            break;
          if (call_string (conn, "org.freedesktop.secrets", "/org/freedesktop/secrets",
                           "org.freedesktop.Secret.Service", "ReadAlias",
                           g_variant_new ("(s)", "default"), "(o)", &alias) &&
              g_strcmp0 (g_variant_get_string (alias, NULL), "/") != 0)
            break;
        }
      g_usleep (20 * 1000);
    }
  g_dbus_connection_close_sync (conn, NULL, NULL);
  if (g_get_monotonic_time () < deadline && g_subprocess_get_identifier (session->keyring) != NULL)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
               "gnome-keyring-daemon did not come up on the private bus within %d s",
               (int) (READY_TIMEOUT_US / G_USEC_PER_SEC));
  return FALSE;
}

KeyringSession *
keyring_session_start (KeyringMode   mode,
                       GError      **error)
{
  g_autoptr(KeyringSession) session = g_new0 (KeyringSession, 1);
  g_autofree char *config = NULL, *config_path = NULL, *line = NULL;
  g_autofree char *home = NULL, *runtime = NULL, *data = NULL, *conf = NULL, *cache = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;

  session->dir = g_dir_make_tmp ("fitclip-keyring-XXXXXX", error);
  if (session->dir == NULL)
    return NULL;
  home = g_build_filename (session->dir, "home", NULL);
  runtime = g_build_filename (session->dir, "run", NULL);
  data = g_build_filename (home, ".local", "share", NULL);
  conf = g_build_filename (home, ".config", NULL);
  cache = g_build_filename (home, ".cache", NULL);
  g_mkdir_with_parents (data, 0700);
  g_mkdir_with_parents (conf, 0700);
  g_mkdir_with_parents (cache, 0700);
  g_mkdir_with_parents (runtime, 0700);

  config = g_strdup_printf (bus_config, session->dir);
  config_path = g_build_filename (session->dir, "bus.conf", NULL);
  if (!g_file_set_contents (config_path, config, -1, error))
    return NULL;

  session->bus = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                   error, "dbus-daemon", "--config-file", config_path,
                                   "--nofork", "--print-address=1", NULL);
  if (session->bus == NULL)
    return NULL;
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (session->bus));
  line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, error);
  if (line == NULL || *line == '\0')
    {
      if (error && *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "dbus-daemon printed no address");
      return NULL;
    }
  session->address = g_strdup (g_strstrip (line));
  if (mode == KEYRING_ABSENT)
    return g_steal_pointer (&session);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", session->address, TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", runtime, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", data, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", conf, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", cache, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DISPLAY");
  g_subprocess_launcher_unsetenv (launcher, "WAYLAND_DISPLAY");
  if (mode == KEYRING_UNLOCKED)
    session->keyring = g_subprocess_launcher_spawn (launcher, error, "gnome-keyring-daemon", "--foreground",
                                                    "--unlock", "--components=secrets", NULL);
  else
    session->keyring = g_subprocess_launcher_spawn (launcher, error, "gnome-keyring-daemon", "--foreground",
                                                    "--components=secrets", NULL);
  if (session->keyring == NULL)
    return NULL;
  {
    GOutputStream *in = g_subprocess_get_stdin_pipe (session->keyring);

    /* The login keyring's password, read from stdin by --unlock. */
    if (mode == KEYRING_UNLOCKED &&
        !g_output_stream_write_all (in, "test-password", 13, NULL, NULL, error))
      return NULL;
    g_output_stream_close (in, NULL, NULL);
  }

  if (!wait_ready (session, mode, error))
    return NULL;
  return g_steal_pointer (&session);
}

const char *
keyring_session_address (KeyringSession *session)
{
  return session->address;
}

void
keyring_session_setenv (KeyringSession      *session,
                        GSubprocessLauncher *launcher)
{
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", session->address, TRUE);
}

#define TRAP_FILE_ENV "FITCLIP_TEST_BUS_ADDRESS_FILE"

void
keyring_trap_init (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;

  if (g_getenv (TRAP_FILE_ENV) != NULL)
    return;   /* a trapped child: inherited from the parent */
  dir = g_dir_make_tmp ("fitclip-bus-XXXXXX", NULL);
  g_assert (dir != NULL);
  file = g_build_filename (dir, "address", NULL);
  g_setenv (TRAP_FILE_ENV, file, TRUE);
}

void
keyring_trap_set_address (const char *address)
{
  const char *file = g_getenv (TRAP_FILE_ENV);
  g_autoptr(GError) error = NULL;

  g_assert (file != NULL);
  g_file_set_contents (file, address, -1, &error);
  g_assert_no_error (error);
}

void
keyring_trap_enter (void)
{
  const char *file = g_getenv (TRAP_FILE_ENV);
  g_autofree char *address = NULL;
  g_autoptr(GError) error = NULL;

  g_assert (file != NULL);
  g_file_get_contents (file, &address, NULL, &error);
  g_assert_no_error (error);
  /* The child has no threads yet. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
}

void
keyring_trap_cleanup (void)
{
  const char *file = g_getenv (TRAP_FILE_ENV);
  g_autofree char *dir = NULL;

  if (file == NULL || g_test_subprocess ())
    return;
  dir = g_path_get_dirname (file);
  g_unlink (file);
  g_rmdir (dir);
}
