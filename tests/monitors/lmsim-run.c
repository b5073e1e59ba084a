/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "lmsim-run"

#include "lmsim-run.h"

#include <signal.h>
#include <string.h>

static const char *
lmsim_path (void)
{
  const char *path = g_getenv ("FITCLIP_LMSIM");

  if (path == NULL)
    g_error ("FITCLIP_LMSIM must point at the built simulator");
  return path;
}

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  LmsimRun *run = user_data;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &run->out, &run->err, &error);
  g_assert_no_error (error);
  run->done = TRUE;
}

LmsimRun *
lmsim_run_start (const char         *mode,
                 const char         *target,
                 const char * const *extra)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  LmsimRun *run = g_new0 (LmsimRun, 1);

  g_ptr_array_add (argv, (char *) lmsim_path ());
  g_ptr_array_add (argv, (char *) mode);
  if (target)
    g_ptr_array_add (argv, (char *) target);
  for (guint i = 0; extra && extra[i]; i++)
    g_ptr_array_add (argv, (char *) extra[i]);
  g_ptr_array_add (argv, NULL);
  run->proc = g_subprocess_newv ((const char * const *) argv->pdata,
                                 G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (run->proc, NULL, NULL, on_done, run);
  return run;
}

void
lmsim_run_wait (LmsimRun **runs,
                guint      n,
                guint      timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  gboolean all;

  do
    {
      g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), 0);
      all = TRUE;
      for (guint i = 0; i < n; i++)
        all = all && runs[i]->done;
    }
  while (!all && g_get_monotonic_time () < deadline);
  if (!all)
    g_error ("the simulator did not finish within %u s", timeout_s);
}

void
lmsim_run_assert_all_acknowledged (LmsimRun *run,
                                   guint     n)
{
  g_autofree char *want = g_strdup_printf ("sent=%u acknowledged=%u ", n, n);

  g_assert_true (run->done);
  if (!g_subprocess_get_if_exited (run->proc))
    g_error ("the simulator died from signal %d", g_subprocess_get_term_sig (run->proc));
  if (strstr (run->out, want) == NULL || g_subprocess_get_exit_status (run->proc) != 0)
    g_error ("the simulator did not get every shot acknowledged (exit %d):\n%s\n%s",
             g_subprocess_get_exit_status (run->proc), run->out, run->err);
}

LmsimRun *
lmsim_run_spawn_lines (GSubprocessLauncher *launcher,
                       const char * const  *prefix,
                       const char          *mode,
                       const char * const  *args)
{
  g_autoptr(GSubprocessLauncher) own = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  LmsimRun *run = g_new0 (LmsimRun, 1);

  if (launcher == NULL)
    launcher = own = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  for (guint i = 0; prefix && prefix[i]; i++)
    g_ptr_array_add (argv, (char *) prefix[i]);
  g_ptr_array_add (argv, (char *) lmsim_path ());
  g_ptr_array_add (argv, (char *) mode);
  for (guint i = 0; args && args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  run->proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  run->lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (run->proc));
  return run;
}

char *
lmsim_run_read_line (LmsimRun *run)
{
  g_autoptr(GError) error = NULL;
  char *line = g_data_input_stream_read_line_utf8 (run->lines, NULL, NULL, &error);

  g_assert_no_error (error);
  return line;
}

char *
lmsim_run_interrupt (LmsimRun *run)
{
  g_autoptr(GError) error = NULL;
  char *summary = NULL;
  char *line;

  g_subprocess_send_signal (run->proc, SIGINT);
  while ((line = lmsim_run_read_line (run)) != NULL)
    {
      g_free (summary);
      summary = line;
    }
  g_subprocess_wait_check (run->proc, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (summary);
  return summary;
}

void
lmsim_run_free (LmsimRun *run)
{
  if (run == NULL)
    return;
  if (run->proc && !run->done && g_subprocess_get_identifier (run->proc) != NULL)
    {
      g_subprocess_force_exit (run->proc);
      g_subprocess_wait (run->proc, NULL, NULL);
    }
  /* A batch run's reader still holds the run until it has the output. */
  while (run->lines == NULL && run->proc && !run->done)
    g_main_context_iteration (NULL, TRUE);
  g_clear_object (&run->lines);
  g_clear_object (&run->proc);
  g_free (run->out);
  g_free (run->err);
  g_free (run);
}

guint
lmsim_summary_value (const char *summary,
                     const char *key)
{
  g_autofree char *needle = g_strconcat (" ", key, "=", NULL);
  const char *at = strstr (summary, needle);

  if (at)
    at += strlen (needle);
  else if (g_str_has_prefix (summary, needle + 1))
    at = summary + strlen (needle + 1);
  if (at == NULL)
    g_error ("no %s= in “%s”", key, summary);
  return (guint) g_ascii_strtoull (at, NULL, 10);
}
