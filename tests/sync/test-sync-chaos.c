/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The cloud-sync chaos test (issue "cloud sync"): 50 fittings × 200 shots
 * with edits, exclusions, moves and 5 recap-size videos are produced
 * while fitclip-devcloud injects every fault it has and the headless
 * agent is SIGKILLed and restarted 10 times; at the end the cloud holds
 * exactly what the agent holds — same UUIDs, same values, no duplicates,
 * every fitting completed, every video SHA-256-identical.
 *
 * Everything is real: the devcloud process, the agent process with its
 * sync engine, a private gnome-keyring for the device token and the
 * customer key, and sync-producer writing through the store's API from
 * another process. Sizes can be lowered for a quick local run with
 * FITCLIP_CHAOS_FITTINGS / _SHOTS / _VIDEOS / _VIDEO_MB / _KILLS.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sync-bay.h"

static int
env_int (const char *name,
         int         fallback)
{
  const char *v = g_getenv (name);

  return v && *v ? atoi (v) : fallback;
}

static GSubprocess *
start_agent (SyncBay *bay)
{
  /* Short retry delays: the test has minutes, a shop has all day. */
  return sync_bay_start_agent (bay, (const char *const[]) { "--sync-backoff", "50:1500", NULL });
}

static void
kill_and_reap (GSubprocess *proc)
{
  g_autoptr(GError) error = NULL;

  g_subprocess_send_signal (proc, SIGKILL);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
}

static JsonNode *
sync_status (SyncBay *bay)
{
  g_autofree char *out = sync_bay_run (bay, g_getenv ("FITCLIPCTL"), "--db", bay->db,
                                       "--cloud", bay->cloud->url, "--no-proxy", "--json",
                                       "sync", "status", NULL);

  return sync_parse_json (out);
}

static char *
file_sha256 (const char *path)
{
  g_autoptr(GMappedFile) map = g_mapped_file_new (path, FALSE, NULL);

  g_assert_nonnull (map);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) g_mapped_file_get_contents (map),
                                      g_mapped_file_get_length (map));
}

static void
test_chaos (void)
{
  int n_fittings = env_int ("FITCLIP_CHAOS_FITTINGS", 50);
  int n_shots = env_int ("FITCLIP_CHAOS_SHOTS", 200);
  int n_videos = env_int ("FITCLIP_CHAOS_VIDEOS", 5);
  int video_mb = env_int ("FITCLIP_CHAOS_VIDEO_MB", 20);
  int n_kills = env_int ("FITCLIP_CHAOS_KILLS", 10);
  g_autoptr(GRand) rand = g_rand_new_with_seed (env_int ("FITCLIP_CHAOS_SEED", 20261122));
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocessLauncher) producer_launcher = NULL;
  g_autoptr(GSubprocess) producer = NULL;
  g_autoptr(GSubprocess) agent = NULL;
  g_autoptr(GPtrArray) exports = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_autoptr(GHashTable) videos = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto(GStrv) lines = NULL;
  g_autofree char *producer_out = NULL, *faults = NULL;
  g_autofree char *fittings_arg = NULL, *shots_arg = NULL, *videos_arg = NULL, *mb_arg = NULL;
  g_autoptr(SyncBay) bay = NULL;
  gint64 deadline;
  guint kills = 0, polls = 0;
  gboolean drained = FALSE;

  bay = sync_bay_new ((const char *const[]) { "--seed", "11", NULL }, &error);
  if (bay == NULL)
    {
      /* CI installs gnome-keyring and dbus; only a developer's machine
       * without them may skip. */
      if (g_strcmp0 (g_getenv ("CI"), "true") == 0)
        g_error ("No keyring for the test: %s", error->message);
      g_test_skip (error->message);
      return;
    }

  /* Pair while the cloud behaves; the faults start with the work. */
  sync_bay_pair (bay);
  faults = g_strdup_printf ("{\"fail_500\": 0.04, \"fail_503\": 0.04, \"fail_429\": 0.04,"
                            " \"retry_after\": 1, \"drop_request\": 0.03, \"drop_response\": 0.03,"
                            " \"lose_response\": 0.04, \"slow\": 0.05, \"slow_ms\": 300,"
                            " \"checksum_mismatch\": 0.05}");
  json_node_unref (sync_cloud_admin (bay->cloud, "POST", "/_admin/faults", faults));

  fittings_arg = g_strdup_printf ("%d", n_fittings);
  shots_arg = g_strdup_printf ("%d", n_shots);
  videos_arg = g_strdup_printf ("%d", n_videos);
  mb_arg = g_strdup_printf ("%d", video_mb);
  producer_launcher = sync_bay_launcher (bay, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  producer = g_subprocess_launcher_spawn (producer_launcher, &error, g_getenv ("FITCLIP_SYNC_PRODUCER"),
                                          "--db", bay->db, "--fittings", fittings_arg,
                                          "--shots", shots_arg, "--videos", videos_arg,
                                          "--video-mb", mb_arg, "--pace-ms", "15", NULL);
  g_assert_no_error (error);

  /* Kill the agent at random moments while the bay works. */
  agent = start_agent (bay);
  for (kills = 0; kills < (guint) n_kills; kills++)
    {
      g_usleep (g_rand_int_range (rand, 700, 3500) * 1000);
      kill_and_reap (agent);
      g_clear_object (&agent);
      agent = start_agent (bay);
    }
  g_test_message ("agent killed %u times", kills);

  g_subprocess_communicate_utf8 (producer, NULL, NULL, &producer_out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (producer));
  g_assert_true (g_str_has_suffix (producer_out, "done\n"));

  /* Then let it finish, faults and all (bounded). */
  deadline = g_get_monotonic_time () + 8 * 60 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonNode) status = sync_status (bay);
      JsonObject *o = json_node_get_object (status);

      if (json_object_get_int_member (o, "parked") > 0)
        g_error ("Sync parked something under faults that retrying fixes: %s",
                 json_object_get_string_member_with_default (o, "last_error", "?"));
      if (json_object_get_int_member (o, "pending_total") == 0)
        {
          drained = TRUE;
          break;
        }
      if (++polls % 15 == 0)
        g_test_message ("still %" G_GINT64_FORMAT " waiting (%s)",
                        json_object_get_int_member (o, "pending_total"),
                        json_object_get_string_member_with_default (o, "last_error", "no error"));
      g_usleep (G_USEC_PER_SEC);
    }
  if (!drained)
    {
      g_autofree char *agent_log = NULL;

      g_file_get_contents (bay->log, &agent_log, NULL, NULL);
      g_test_message ("agent log:\n%s", agent_log ? agent_log : "(none)");
      /* Stuck or gone? (Seen once in CI: no progress for 8 minutes after
       * the last kill, nothing in the log.) */
      if (g_subprocess_get_identifier (agent) != NULL)
        g_test_message ("the agent is still running (pid %s): stuck, not dead",
                        g_subprocess_get_identifier (agent));
      else if (g_subprocess_get_if_signaled (agent))
        g_test_message ("the agent died of signal %d", g_subprocess_get_term_sig (agent));
      else
        g_test_message ("the agent exited with status %d", g_subprocess_get_exit_status (agent));
    }
  g_assert_true (drained);
  g_subprocess_send_signal (agent, SIGTERM);
  g_subprocess_wait (agent, NULL, NULL);

  /* What the agent holds, as its own export says... */
  lines = g_strsplit (producer_out, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      g_autofree char *doc = NULL;
      const char *id;

      if (!g_str_has_prefix (lines[i], "fitting "))
        continue;
      id = lines[i] + strlen ("fitting ");
      doc = sync_bay_run (bay, g_getenv ("FITCLIPCTL"), "--db", bay->db, "export", id, "--format", "json", NULL);
      g_ptr_array_add (exports, sync_parse_json (doc));
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (sync_json_at (
                         g_ptr_array_index (exports, exports->len - 1), "fitting")), "status"),
                       ==, "completed");
      if ((int) exports->len <= n_videos)
        {
          g_autofree char *name = g_strdup_printf ("recap-%u.mp4", exports->len - 1);
          g_autofree char *path = g_build_filename (bay->dir, name, NULL);

          g_hash_table_insert (videos, g_strdup (id), file_sha256 (path));
        }
    }
  g_assert_cmpuint (exports->len, ==, n_fittings);

  /* ... is what the cloud holds. */
  sync_assert_cloud_has (bay->cloud, exports, videos);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("FITCLIP_AGENT") == NULL || g_getenv ("FITCLIPCTL") == NULL ||
      g_getenv ("FITCLIP_SYNC_PRODUCER") == NULL || g_getenv ("FITCLIP_DEVCLOUD") == NULL)
    g_error ("FITCLIP_AGENT, FITCLIPCTL, FITCLIP_SYNC_PRODUCER and FITCLIP_DEVCLOUD must point at the built programs");
  g_test_add_func ("/sync/chaos", test_chaos);
  return g_test_run ();
}
