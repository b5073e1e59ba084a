/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sync-producer: plays a busy fitting bay into a store, for the sync
 * chaos and offline tests — customers, fittings, configurations, live
 * shots in small groups, exclusions (some undone), tags, moves between
 * configurations, completion, and recap videos registered for upload.
 * Everything goes through the store's public API, as the agent's own
 * code would, while another process (the agent) syncs and is killed.
 *
 *   sync-producer --db PATH [--fittings N] [--shots N] [--videos N]
 *                 [--video-mb N] [--video-dir DIR] [--seed N]
 *                 [--pace-ms N] [--no-customers] [--plain] [--group N]
 *
 * Prints "fitting <id>" for each fitting and "done" at the end.
 */
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "fc-pii-unlock.h"
#include "fc-secret-store.h"
#include "fc-store.h"
#include "fc-sync-queue.h"

static char *db_path;
static char *video_dir;
static int n_fittings = 50;
static int n_shots = 200;
static int n_videos = 5;
static int video_mb = 20;
static int seed = 1;
static int pace_ms = 2;
static gboolean no_customers;
static gboolean plain;
static int max_group = 20;

static GOptionEntry entries[] = {
  { "db", 0, 0, G_OPTION_ARG_FILENAME, &db_path, "Database", "PATH" },
  { "fittings", 0, 0, G_OPTION_ARG_INT, &n_fittings, "Fittings", "N" },
  { "shots", 0, 0, G_OPTION_ARG_INT, &n_shots, "Shots per fitting", "N" },
  { "videos", 0, 0, G_OPTION_ARG_INT, &n_videos, "Recap videos (one per fitting, the first N)", "N" },
  { "video-mb", 0, 0, G_OPTION_ARG_INT, &video_mb, "Size of each video", "MB" },
  { "video-dir", 0, 0, G_OPTION_ARG_FILENAME, &video_dir, "Where videos are written", "DIR" },
  { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Random seed", "N" },
  { "pace-ms", 0, 0, G_OPTION_ARG_INT, &pace_ms, "Pause between groups of shots", "MS" },
  { "no-customers", 0, 0, G_OPTION_ARG_NONE, &no_customers, "Fittings without customers", NULL },
  { "plain", 0, 0, G_OPTION_ARG_NONE, &plain, "Shots only: no edits, moves or completion", NULL },
  { "group", 0, 0, G_OPTION_ARG_INT, &max_group, "Most shots committed together (default 20)", "N" },
  { NULL }
};

/* A store call may meet the agent's writer: the busy timeout waits, and
 * anything else is a test failure worth stopping for. */
#define CHECK(call) \
  G_STMT_START { \
    g_autoptr(GError) check_error = NULL; \
    GError **error = &check_error; \
    if (!(call)) \
      g_error ("%s: %s", #call, check_error ? check_error->message : "failed"); \
  } G_STMT_END

static char *
write_video (GRand      *rand,
             const char *name,
             char      **sha256,
             goffset    *size)
{
  g_autofree char *path = g_build_filename (video_dir, name, NULL);
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  FILE *f = fopen (path, "wb");
  guint32 block[16384];

  if (f == NULL)
    g_error ("Cannot write %s", path);
  *size = 0;
  for (int mb = 0; mb < video_mb * 16; mb++)
    {
      for (guint i = 0; i < G_N_ELEMENTS (block); i++)
        block[i] = g_rand_int (rand);
      if (fwrite (block, sizeof block, 1, f) != 1)
        g_error ("Cannot write %s", path);
      g_checksum_update (sum, (const guchar *) block, sizeof block);
      *size += sizeof block;
    }
  if (fflush (f) != 0 || fsync (fileno (f)) != 0 || fclose (f) != 0)
    g_error ("Cannot write %s", path);
  *sha256 = g_strdup (g_checksum_get_string (sum));
  return g_steal_pointer (&path);
}

static void
produce_fitting (FcStore *store,
                 GRand   *rand,
                 int      index)
{
  g_autoptr(FcFitting) fitting = fc_fitting_new (FC_FITTING_DRIVER, "Bay 1");
  g_autoptr(GPtrArray) configs = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_club_config_free);
  g_autoptr(GPtrArray) shot_ids = g_ptr_array_new_with_free_func (g_free);
  int n_configs = g_rand_int_range (rand, 2, 4);
  int made = 0;

  if (!no_customers)
    {
      g_autofree char *name = g_strdup_printf ("Chaos Golfer %d", index);
      g_autoptr(FcCustomer) c = fc_customer_new (name);

      c->email = g_strdup_printf ("golfer%d@example.test", index);
      c->phone = g_strdup_printf ("+44 20 7946 %04d", index);
      c->handicap = g_rand_int_range (rand, 0, 360) / 10.0;
      CHECK (fc_store_add_customer (store, c, error));
      fitting->customer_id = g_strdup (c->id);
    }
  fitting->fitter = g_strdup ("Chaos");
  CHECK (fc_store_add_fitting (store, fitting, error));
  printf ("fitting %s\n", fitting->id);
  fflush (stdout);

  for (int c = 0; c < n_configs; c++)
    {
      g_autofree char *label = g_strdup_printf ("Config %d", c);
      FcClubConfig *cfg = fc_club_config_new (c == 0 ? FC_CONFIG_BASELINE : FC_CONFIG_TEST, label);

      cfg->fitting_id = g_strdup (fitting->id);
      cfg->head = g_strdup_printf ("Head %d", c);
      cfg->loft_deg = 9.0 + c * 0.5;
      CHECK (fc_store_add_config (store, cfg, error));
      g_ptr_array_add (configs, cfg);
    }

  while (made < n_shots)
    {
      int want = g_rand_int_range (rand, 1, max_group + 1);   /* not inside MIN(): it evaluates twice */
      int group = MIN (n_shots - made, want);
      FcClubConfig *cfg = g_ptr_array_index (configs, (made * n_configs) / n_shots);
      g_autoptr(GPtrArray) shots = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_shot_free);
      g_autofree FcAddResult *results = g_new0 (FcAddResult, group);

      for (int i = 0; i < group; i++)
        {
          FcShot *s = fc_shot_new ();
          g_autofree char *raw = NULL;

          s->source_kind = FC_SOURCE_DEVICE;
          s->source_protocol = g_strdup ("open-connect-v1");
          s->device_id = g_strdup ("chaos-monitor");
          s->device_shot_id = g_strdup_printf ("%d-%d", index, made + i);
          s->fitting_id = g_strdup (fitting->id);
          s->config_id = g_strdup (cfg->id);
          s->club = g_strdup ("DR");
          fc_shot_set (s, FC_FIELD_BALL_SPEED, g_rand_double_range (rand, 55.0, 80.0));
          fc_shot_set (s, FC_FIELD_LAUNCH_ANGLE, g_rand_double_range (rand, 8.0, 16.0));
          fc_shot_set (s, FC_FIELD_LAUNCH_DIRECTION, g_rand_double_range (rand, -5.0, 5.0));
          fc_shot_set (s, FC_FIELD_SPIN_RATE, g_rand_double_range (rand, 1800.0, 3500.0));
          fc_shot_set (s, FC_FIELD_SPIN_AXIS, g_rand_double_range (rand, -10.0, 10.0));
          fc_shot_set (s, FC_FIELD_CARRY, g_rand_double_range (rand, 180.0, 260.0));
          fc_shot_set (s, FC_FIELD_CARRY_SIDE, g_rand_double_range (rand, -25.0, 25.0));
          if (g_rand_boolean (rand))
            fc_shot_set (s, FC_FIELD_CLUB_SPEED, g_rand_double_range (rand, 38.0, 52.0));
          raw = g_strdup_printf ("{\"ShotNumber\":%d,\"BallData\":{\"Speed\":%.3f}}", made + i,
                                 fc_shot_get (s, FC_FIELD_BALL_SPEED));
          s->raw = g_bytes_new (raw, strlen (raw));
          g_ptr_array_add (shots, s);
        }
      CHECK (fc_store_add_shots (store, (FcShot **) shots->pdata, group, NULL, results, error));
      for (int i = 0; i < group; i++)
        g_ptr_array_add (shot_ids, g_strdup (((FcShot *) shots->pdata[i])->id));
      made += group;

      /* edits as a fitter makes them, now and then */
      if (!plain && g_rand_int_range (rand, 0, 4) == 0)
        {
          const char *id = g_ptr_array_index (shot_ids, g_rand_int_range (rand, 0, shot_ids->len));

          CHECK (fc_store_set_shot_excluded (store, id, TRUE, "mishit", error));
          if (g_rand_int_range (rand, 0, 3) == 0)
            CHECK (fc_store_set_shot_excluded (store, id, FALSE, NULL, error));
        }
      if (!plain && g_rand_int_range (rand, 0, 5) == 0)
        {
          const char *id = g_ptr_array_index (shot_ids, g_rand_int_range (rand, 0, shot_ids->len));

          CHECK (fc_store_tag_shot (store, id, g_rand_boolean (rand) ? "best" : "toe", TRUE, error));
        }
      if (!plain && g_rand_int_range (rand, 0, 8) == 0)
        {
          const char *ids[2] = { g_ptr_array_index (shot_ids, g_rand_int_range (rand, 0, shot_ids->len)), NULL };
          FcClubConfig *to = g_ptr_array_index (configs, g_rand_int_range (rand, 0, configs->len));

          CHECK (fc_store_move_shots (store, ids, to->id, error));
        }
      if (pace_ms > 0)
        g_usleep (pace_ms * 1000);
    }

  if (!plain)
    CHECK (fc_store_complete_fitting (store, fitting->id, error));

  if (index < n_videos)
    {
      g_autofree char *name = g_strdup_printf ("recap-%d.mp4", index);
      g_autofree char *sha256 = NULL;
      g_autofree char *video_id = g_uuid_string_random ();
      goffset size;
      g_autofree char *path = write_video (rand, name, &sha256, &size);

      CHECK (fc_sync_queue_add_video (store, fitting->id, video_id, path, sha256, size, error));
    }
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- fill a store like a busy bay");
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = NULL;
  g_autoptr(GRand) rand = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || db_path == NULL)
    {
      g_printerr ("%s\n", error ? error->message : "--db is required");
      return 2;
    }
  if (video_dir == NULL)
    video_dir = g_path_get_dirname (db_path);
  rand = g_rand_new_with_seed (seed);

  store = fc_store_open (db_path, &error);
  if (store == NULL)
    g_error ("%s", error->message);
  if (!no_customers)
    {
      g_autoptr(FcSecretStore) secrets = fc_secret_store_new_default ();

      if (!fc_pii_unlock_store (store, secrets, NULL, &error))
        g_error ("Customer details cannot be unlocked: %s", error->message);
    }

  for (int i = 0; i < n_fittings; i++)
    produce_fitting (store, rand, i);
  printf ("done\n");
  return 0;
}
