/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "fc-error.h"
#include "fc-stats.h"
#include "fc-store.h"
#include "pii-helpers.h"

typedef struct {
  char    *dir;
  char    *path;
  FcStore *store;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  fx->dir = g_dir_make_tmp ("fitclip-store-XXXXXX", NULL);
  fx->path = g_build_filename (fx->dir, "sub", "fitclip.db", NULL);
  fx->store = pii_open_store (fx->path);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->store);
  g_free (fx->path);
  g_free (fx->dir);
}

/* Reads one value with a separate connection, as another program would. */
static char *
peek (const char *path, const char *sql)
{
  sqlite3 *db;
  sqlite3_stmt *stmt;
  char *out = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    out = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return out;
}

static gint64
count (Fixture *fx, const char *sql)
{
  g_autofree char *v = peek (fx->path, sql);
  return v ? g_ascii_strtoll (v, NULL, 10) : -1;
}

static FcShot *
device_shot (const char *device, const char *shot_id, double speed)
{
  FcShot *s = fc_shot_new ();

  s->source_kind = FC_SOURCE_DEVICE;
  s->source_protocol = g_strdup ("open-connect-v1");
  s->device_id = g_strdup (device);
  s->device_shot_id = g_strdup (shot_id);
  s->raw = g_bytes_new_static ("{\"BallData\":{}}", 15);
  fc_shot_set (s, FC_FIELD_BALL_SPEED, speed);
  fc_shot_set (s, FC_FIELD_LAUNCH_ANGLE, 12.0);
  return s;
}

static char *
new_fitting (Fixture *fx, const char *bay, char **baseline, char **test)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCustomer) c = fc_customer_new ("Ann Example");
  g_autoptr(FcFitting) f = fc_fitting_new (FC_FITTING_DRIVER, bay);
  g_autoptr(FcClubConfig) b = fc_club_config_new (FC_CONFIG_BASELINE, "Own driver");
  g_autoptr(FcClubConfig) t = fc_club_config_new (FC_CONFIG_TEST, "Test 1");

  c->email = g_strdup ("ann@example.com");
  c->handedness = FC_HANDEDNESS_LEFT;
  c->handicap = 12.4;
  g_assert_true (fc_store_add_customer (fx->store, c, &error));
  f->customer_id = g_strdup (c->id);
  f->fitter = g_strdup ("Sam");
  g_assert_true (fc_store_add_fitting (fx->store, f, &error));
  b->fitting_id = g_strdup (f->id);
  t->fitting_id = g_strdup (f->id);
  t->head = g_strdup ("Head X");
  t->loft_deg = 9.0;
  g_assert_true (fc_store_add_config (fx->store, b, &error));
  g_assert_true (fc_store_add_config (fx->store, t, &error));
  g_assert_no_error (error);
  if (baseline)
    *baseline = g_strdup (b->id);
  if (test)
    *test = g_strdup (t->id);
  return g_strdup (f->id);
}

static void
test_pragmas (Fixture *fx, gconstpointer data)
{
  g_autofree char *mode = peek (fx->path, "PRAGMA journal_mode");

  g_assert_cmpstr (mode, ==, "wal");
  g_assert_cmpint (fc_store_get_schema_version (fx->store), ==, FC_STORE_SCHEMA_VERSION);
  /* Every field of the shot schema has its column. */
  for (FcShotField f = 0; f < FC_SHOT_N_FIELDS; f++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM pragma_table_info('shots') WHERE name = '%s'",
                                              fc_shot_field_get_name (f));
      g_assert_cmpint (count (fx, sql), ==, 1);
    }
}

static void
test_fitting_records (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *baseline = NULL, *test = NULL;
  g_autofree char *id = new_fitting (fx, "Bay 2", &baseline, &test);
  g_autoptr(FcFitting) f = fc_store_get_fitting (fx->store, id, &error);
  g_autoptr(FcCustomer) c = NULL;
  g_autoptr(GPtrArray) configs = fc_store_list_configs (fx->store, id, &error);
  g_autoptr(FcClubConfig) second = fc_club_config_new (FC_CONFIG_BASELINE, "Another");
  g_autofree char *prefix = g_strndup (id, 6);
  g_autofree char *resolved = NULL;

  g_assert_no_error (error);
  g_assert_true (g_uuid_string_is_valid (id));
  g_assert_cmpint (f->type, ==, FC_FITTING_DRIVER);
  g_assert_cmpstr (f->bay, ==, "Bay 2");
  g_assert_cmpstr (f->fitter, ==, "Sam");
  g_assert_cmpint (f->status, ==, FC_FITTING_OPEN);
  c = fc_store_get_customer (fx->store, f->customer_id, &error);
  g_assert_cmpstr (c->email, ==, "ann@example.com");
  g_assert_cmpint (c->handedness, ==, FC_HANDEDNESS_LEFT);
  g_assert_cmpfloat (c->handicap, ==, 12.4);
  g_assert_cmpuint (configs->len, ==, 2);
  g_assert_cmpstr (((FcClubConfig *) configs->pdata[0])->id, ==, baseline);
  g_assert_cmpfloat (((FcClubConfig *) configs->pdata[1])->loft_deg, ==, 9.0);
  g_assert_true (isnan (((FcClubConfig *) configs->pdata[0])->loft_deg));

  /* One baseline per fitting. */
  second->fitting_id = g_strdup (id);
  g_assert_false (fc_store_add_config (fx->store, second, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_CONFLICT);
  g_clear_error (&error);

  resolved = fc_store_resolve_fitting_id (fx->store, prefix, &error);
  g_assert_cmpstr (resolved, ==, id);
  g_assert_null (fc_store_resolve_fitting_id (fx->store, "ffff", &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (fc_store_complete_fitting (fx->store, id, &error));
  g_clear_pointer (&f, fc_fitting_free);
  f = fc_store_get_fitting (fx->store, id, &error);
  g_assert_cmpint (f->status, ==, FC_FITTING_COMPLETED);
  g_assert_cmpint (f->completed_at, >, 0);
  /* customer + fitting + 2 configs + complete */
  g_assert_cmpint (count (fx, "SELECT count(*) FROM outbox"), ==, 5);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM outbox WHERE operation = 'complete'"), ==, 1);
}

static void
test_shot_storage (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *baseline = NULL;
  g_autofree char *fid = new_fitting (fx, "Bay 1", &baseline, NULL);
  g_autoptr(FcShot) shot = device_shot ("gc3-123", "1", 67.5);
  g_autoptr(FcShot) back = NULL;
  g_autofree char *sql = NULL, *raw = NULL, *carry = NULL;
  FcAddResult result;

  fc_shot_set (shot, FC_FIELD_CARRY_SIDE, 0.0);
  shot->club = g_strdup ("DR");
  fc_shot_add_tag (shot, "first");
  g_assert_true (fc_store_add_shot (fx->store, shot, "Bay 1", &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result, ==, FC_ADD_INSERTED);
  g_assert_cmpstr (shot->fitting_id, ==, fid);
  g_assert_cmpstr (shot->config_id, ==, baseline);
  g_assert_true (g_uuid_string_is_valid (shot->id));

  /* Not measured is NULL; a measured zero is 0. */
  sql = g_strdup_printf ("SELECT coalesce(carry_m, 'NULL') || '/' || carry_side_m FROM shots WHERE id = '%s'", shot->id);
  carry = peek (fx->path, sql);
  g_assert_cmpstr (carry, ==, "NULL/0.0");
  g_free (sql);
  sql = g_strdup_printf ("SELECT p.raw FROM shots s JOIN shot_payloads p ON p.shot_seq = s.seq"
                         " WHERE s.id = '%s'", shot->id);
  raw = peek (fx->path, sql);
  g_assert_cmpstr (raw, ==, "{\"BallData\":{}}");

  back = fc_store_get_shot (fx->store, shot->id, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (fc_shot_get (back, FC_FIELD_BALL_SPEED), ==, 67.5);
  g_assert_false (fc_shot_has (back, FC_FIELD_CARRY));
  g_assert_true (fc_shot_has (back, FC_FIELD_CARRY_SIDE));
  g_assert_cmpstr (back->club, ==, "DR");
  g_assert_cmpstr (back->source_protocol, ==, "open-connect-v1");
  g_assert_cmpint (back->source_kind, ==, FC_SOURCE_DEVICE);
  g_assert_cmpuint (back->tags->len, ==, 1);
  g_assert_true (g_bytes_equal (back->raw, shot->raw));

  /* The packed copy used by statistics holds the same values. */
  {
    g_autoptr(FcStatsInput) in = fc_store_load_stats_input (fx->store, fid, &error);
    FcStatsGroup *g = NULL;

    for (guint i = 0; i < in->groups->len; i++)
      if (g_strcmp0 (((FcStatsGroup *) in->groups->pdata[i])->config_id, baseline) == 0)
        g = in->groups->pdata[i];
    g_assert_nonnull (g);
    g_assert_cmpuint (g->n_shots, ==, 1);
    for (FcShotField f = 0; f < FC_SHOT_N_FIELDS; f++)
      if (fc_shot_has (back, f))
        g_assert_cmpfloat (g->values[f][0], ==, fc_shot_get (back, f));
      else
        g_assert_true (isnan (g->values[f][0]));
  }

  /* The shot and its outbox entry were one transaction. */
  g_assert_cmpint (count (fx, "SELECT count(*) FROM outbox WHERE entity = 'shot'"), ==, 1);
}

static void
test_practice_session (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcShot) a = device_shot ("r10", "1", 50);
  g_autoptr(FcShot) b = device_shot ("r10", "2", 51);
  g_autoptr(FcShot) c = device_shot ("r10", "3", 52);
  g_autoptr(FcFitting) practice = NULL;
  g_autofree char *baseline = NULL, *test = NULL, *fid = NULL;
  g_autoptr(GPtrArray) moved = NULL;
  FcAddResult result;
  const char *ids[2] = { NULL, NULL };

  /* No fitting open in Bay 3: the shot goes to its practice session. */
  g_assert_true (fc_store_add_shot (fx->store, a, "Bay 3", &result, &error));
  practice = fc_store_get_fitting (fx->store, a->fitting_id, &error);
  g_assert_cmpint (practice->type, ==, FC_FITTING_PRACTICE);
  g_assert_cmpstr (practice->bay, ==, "Bay 3");
  g_assert_true (fc_store_add_shot (fx->store, b, "Bay 3", &result, &error));
  g_assert_cmpstr (b->fitting_id, ==, a->fitting_id);

  /* A fitting opens in the bay: new shots go there. */
  fid = new_fitting (fx, "Bay 3", &baseline, &test);
  g_assert_true (fc_store_set_active_config (fx->store, fid, test, &error));
  g_assert_true (fc_store_add_shot (fx->store, c, "Bay 3", &result, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (c->fitting_id, ==, fid);
  g_assert_cmpstr (c->config_id, ==, test);

  /* The practice shot is moved into the fitting afterwards. */
  ids[0] = a->id;
  g_assert_true (fc_store_move_shots (fx->store, ids, baseline, &error));
  g_assert_no_error (error);
  moved = fc_store_list_shots (fx->store, fid, &error);
  g_assert_cmpuint (moved->len, ==, 2);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM outbox WHERE entity = 'shot' AND operation = 'update'"), ==, 1);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM fittings WHERE type = 'practice'"), ==, 1);
}

static void
test_dedupe (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *fid = new_fitting (fx, "Bay 1", NULL, NULL);
  g_autoptr(FcShot) first = device_shot ("oc-1", "7", 60);
  g_autoptr(FcShot) resend = device_shot ("oc-1", "7", 60);
  g_autoptr(FcShot) counter_reset = device_shot ("oc-1", "1", 60);
  g_autoptr(FcShot) other_device = device_shot ("oc-2", "7", 60);
  g_autoptr(FcShot) later = device_shot ("oc-1", "1", 60);
  g_autoptr(FcShot) different = device_shot ("oc-1", "1", 61);
  FcAddResult r;

  g_assert_true (fc_store_add_shot (fx->store, first, NULL, &r, &error));
  g_assert_cmpint (r, ==, FC_ADD_INSERTED);
  /* Same device shot id: a resend. */
  g_assert_true (fc_store_add_shot (fx->store, resend, NULL, &r, &error));
  g_assert_cmpint (r, ==, FC_ADD_DUPLICATE);
  g_assert_cmpstr (resend->id, ==, first->id);
  /* The counter reset but the values are the same, seconds later. */
  g_assert_true (fc_store_add_shot (fx->store, counter_reset, NULL, &r, &error));
  g_assert_cmpint (r, ==, FC_ADD_DUPLICATE);
  /* Another monitor with the same numbers is another shot. */
  g_assert_true (fc_store_add_shot (fx->store, other_device, NULL, &r, &error));
  g_assert_cmpint (r, ==, FC_ADD_INSERTED);
  /* Different values: another shot. */
  g_assert_true (fc_store_add_shot (fx->store, different, NULL, &r, &error));
  g_assert_cmpint (r, ==, FC_ADD_INSERTED);
  /* Same values from a device without counters, long after the window:
   * a real new shot. */
  g_clear_pointer (&later->device_shot_id, g_free);
  later->received_at = g_get_real_time () + 2 * FC_STORE_DEFAULT_DEDUPE_WINDOW_US;
  g_assert_true (fc_store_add_shot (fx->store, later, NULL, &r, &error));
  g_assert_cmpint (r, ==, FC_ADD_INSERTED);
  g_assert_no_error (error);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM shots"), ==, 4);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM outbox WHERE entity = 'shot'"), ==, 4);
}

static void
test_rollback_leaves_nothing (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcShot) bad_config = device_shot ("x", "1", 60);
  g_autoptr(FcShot) absurd = device_shot ("x", "2", 900);
  g_autoptr(FcShot) nan = device_shot ("x", "3", 60);
  gint64 before = count (fx, "SELECT count(*) FROM outbox");

  bad_config->config_id = g_strdup ("00000000-0000-4000-8000-000000000000");
  g_assert_false (fc_store_add_shot (fx->store, bad_config, NULL, NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (fc_store_add_shot (fx->store, absurd, NULL, NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_OUT_OF_RANGE);
  g_clear_error (&error);
  nan->values[FC_FIELD_CARRY] = INFINITY;
  nan->present |= 1ull << FC_FIELD_CARRY;
  g_assert_false (fc_store_add_shot (fx->store, nan, NULL, NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM shots"), ==, 0);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM outbox"), ==, before);
}

static void
test_exclusion_and_tags (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *baseline = NULL;
  g_autofree char *fid = new_fitting (fx, "Bay 1", &baseline, NULL);
  g_autoptr(FcStatsInput) in = NULL;
  g_autoptr(FcFittingStats) st = NULL;
  g_autoptr(FcShot) back = NULL;
  char *ids[3];

  for (int i = 0; i < 3; i++)
    {
      g_autofree char *n = g_strdup_printf ("%d", i);
      g_autoptr(FcShot) s = device_shot ("tm", n, 60 + 10 * i);
      g_assert_true (fc_store_add_shot (fx->store, s, NULL, NULL, &error));
      ids[i] = g_strdup (s->id);
    }
  g_assert_true (fc_store_set_shot_excluded (fx->store, ids[2], TRUE, "Topped it", &error));
  g_assert_no_error (error);
  back = fc_store_get_shot (fx->store, ids[2], &error);
  g_assert_true (back->excluded);
  g_assert_cmpstr (back->exclude_reason, ==, "Topped it");

  in = fc_store_load_stats_input (fx->store, fid, &error);
  st = fc_stats_compute (in);
  {
    FcConfigStats *cs = g_ptr_array_index (st->configs, 0);
    g_assert_cmpstr (cs->config_id, ==, baseline);
    g_assert_cmpuint (cs->fields[FC_FIELD_BALL_SPEED].count, ==, 2);
    g_assert_cmpfloat (cs->fields[FC_FIELD_BALL_SPEED].mean, ==, 65.0);
  }

  /* Reversible. */
  g_assert_true (fc_store_set_shot_excluded (fx->store, ids[2], FALSE, NULL, &error));
  g_clear_pointer (&in, fc_stats_input_free);
  g_clear_pointer (&st, fc_fitting_stats_free);
  in = fc_store_load_stats_input (fx->store, fid, &error);
  st = fc_stats_compute (in);
  g_assert_cmpuint (((FcConfigStats *) st->configs->pdata[0])->fields[FC_FIELD_BALL_SPEED].count, ==, 3);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM shots WHERE excluded = 0 AND exclude_reason IS NULL"), ==, 3);

  g_assert_true (fc_store_tag_shot (fx->store, ids[0], "best", TRUE, &error));
  g_assert_true (fc_store_tag_shot (fx->store, ids[0], "best", TRUE, &error));
  g_assert_true (fc_store_tag_shot (fx->store, ids[0], "video", TRUE, &error));
  g_assert_true (fc_store_tag_shot (fx->store, ids[0], "video", FALSE, &error));
  g_assert_false (fc_store_tag_shot (fx->store, "nope", "x", TRUE, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (fc_store_set_shot_excluded (fx->store, "nope", TRUE, NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NOT_FOUND);
  {
    g_autofree char *tags = peek (fx->path, "SELECT group_concat(tag) FROM shot_tags");
    g_assert_cmpstr (tags, ==, "best");
  }
  /* exclude, include, tag best, tag video, untag video: five updates */
  g_assert_cmpint (count (fx, "SELECT count(*) FROM outbox WHERE operation = 'update'"), ==, 5);
  for (int i = 0; i < 3; i++)
    g_free (ids[i]);
}

static void
test_outbox_peek (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcShot) s = device_shot ("tm", "1", 60);
  g_autoptr(GPtrArray) entries = NULL;
  FcOutboxEntry *last;

  g_assert_true (fc_store_add_shot (fx->store, s, NULL, NULL, &error));
  entries = fc_store_outbox_peek (fx->store, g_get_real_time () + 1, 100, &error);
  g_assert_no_error (error);
  /* practice fitting, its config, the shot */
  g_assert_cmpuint (entries->len, ==, 3);
  last = g_ptr_array_index (entries, 2);
  g_assert_cmpstr (last->entity, ==, "shot");
  g_assert_cmpstr (last->entity_id, ==, s->id);
  g_assert_cmpstr (last->fitting_id, ==, s->fitting_id);
  g_assert_cmpint (last->attempt_count, ==, 0);
  g_assert_cmpstr (last->operation, ==, "create");
  /* A created shot is sent from its row: not stored twice. */
  g_assert_null (last->payload);

  /* An edit carries the shot's state; unmeasured values are left out,
   * never sent as 0. */
  g_assert_true (fc_store_set_shot_excluded (fx->store, s->id, TRUE, "test", &error));
  g_clear_pointer (&entries, g_ptr_array_unref);
  entries = fc_store_outbox_peek (fx->store, g_get_real_time () + 1, 100, &error);
  last = g_ptr_array_index (entries, 3);
  g_assert_cmpstr (last->operation, ==, "update");
  g_assert_nonnull (strstr (last->payload, "\"ball_speed_mps\":60"));
  g_assert_nonnull (strstr (last->payload, "\"excluded\":true"));
  g_assert_null (strstr (last->payload, "carry_m"));
}

static void
test_bad_files (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-bad-XXXXXX", NULL);
  g_autofree char *garbage = g_build_filename (dir, "garbage.db", NULL);
  g_autofree char *newer = g_build_filename (dir, "newer.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = NULL;
  sqlite3 *db;
  char junk[8192];

  memset (junk, 'x', sizeof junk);
  g_assert_true (g_file_set_contents (garbage, junk, sizeof junk, NULL));
  store = fc_store_open (garbage, &error);
  g_assert_null (store);
  g_assert_error (error, FC_ERROR, FC_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, garbage));
  g_clear_error (&error);

  g_assert_cmpint (sqlite3_open (newer, &db), ==, SQLITE_OK);
  sqlite3_exec (db, "PRAGMA user_version = 99", NULL, NULL, NULL);
  sqlite3_close (db);
  store = fc_store_open (newer, &error);
  g_assert_null (store);
  g_assert_error (error, FC_ERROR, FC_ERROR_SCHEMA_TOO_NEW);
  g_assert_nonnull (strstr (error->message, "newer FitClip"));
}

static void
test_default_path (void)
{
  g_autofree char *path = NULL;

  g_setenv ("FITCLIP_DB", "/tmp/elsewhere.db", TRUE);
  path = fc_store_default_path ();
  g_assert_cmpstr (path, ==, "/tmp/elsewhere.db");
  g_free (path);
  g_unsetenv ("FITCLIP_DB");
  path = fc_store_default_path ();
  g_assert_true (g_str_has_suffix (path, "fitclip.db"));
  g_assert_true (g_str_has_prefix (path, g_get_user_data_dir ()));
}

/* A commit never waits for a checkpoint: a thread of the store copies
 * the write-ahead log into the database file once it passes about 4 MB,
 * and closing the store while it works loses nothing. */
static void
test_background_checkpoint (Fixture *fx, gconstpointer data)
{
  const guint n = 1500;
  g_autofree char *pad = g_strnfill (4000, 'x');
  g_autoptr(GPtrArray) shots = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_shot_free);
  g_autofree FcAddResult *results = g_new0 (FcAddResult, n);
  g_autoptr(GError) error = NULL;
  g_autofree char *integrity = NULL;
  GStatBuf st = { 0 };
  gint64 deadline;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = g_strdup_printf ("ckpt-%u", i);
      FcShot *s = device_shot ("ckpt-device", id, 60.0 + i * 0.01);

      g_bytes_unref (s->raw);
      s->raw = g_bytes_new (pad, strlen (pad));
      g_ptr_array_add (shots, s);
    }
  g_assert_true (fc_store_add_shots (fx->store, (FcShot **) shots->pdata, n, "Bay 1", results, &error));
  g_assert_no_error (error);

  /* 1,500 raw payloads of 4 KB: the database file holds them only once
   * the WAL has been checkpointed into it. */
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      g_assert_cmpint (g_stat (fx->path, &st), ==, 0);
      if (st.st_size >= (goffset) n * 4000)
        break;
      g_usleep (20 * 1000);
    }
  g_assert_cmpint (st.st_size, >=, (goffset) n * 4000);

  /* More commits, then close right away: whatever the checkpointer is
   * doing, every shot is there after reopening. */
  for (guint i = 0; i < n; i++)
    {
      FcShot *s = g_ptr_array_index (shots, i);
      g_autofree char *id = g_strdup_printf ("ckpt2-%u", i);

      g_clear_pointer (&s->id, g_free);
      g_free (s->device_shot_id);
      s->device_shot_id = g_steal_pointer (&id);
      fc_shot_set (s, FC_FIELD_LAUNCH_ANGLE, 14.0);   /* not a content duplicate */
    }
  g_assert_true (fc_store_add_shots (fx->store, (FcShot **) shots->pdata, n, "Bay 1", results, &error));
  g_assert_no_error (error);
  g_clear_object (&fx->store);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM shots WHERE device_id = 'ckpt-device'"), ==, 2 * n);
  integrity = peek (fx->path, "PRAGMA integrity_check");
  g_assert_cmpstr (integrity, ==, "ok");
}

/* What the statistics of a configuration must read: its included shots'
 * packed values in seq order, straight from SQL with another connection. */
static void
assert_group_matches_rows (Fixture *fx, FcStatsGroup *g)
{
  sqlite3 *db;
  sqlite3_stmt *stmt;
  guint i = 0;

  g_assert_cmpint (sqlite3_open (fx->path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT measurements FROM shots WHERE config_id = ?"
                                       " AND excluded = 0 ORDER BY seq", -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, g->config_id, -1, SQLITE_TRANSIENT);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const guint8 *blob = sqlite3_column_blob (stmt, 0);

      g_assert_cmpuint (i, <, g->n_shots);
      g_assert_cmpint (sqlite3_column_bytes (stmt, 0), ==, FC_SHOT_N_FIELDS * 8);
      for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
        g_assert_cmpmem (&g->values[f][i], 8, blob + 8 * f, 8);
      i++;
    }
  g_assert_cmpuint (i, ==, g->n_shots);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

static void
assert_stats_input_matches_rows (Fixture *fx, const char *fitting_id, guint expected_groups)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStatsInput) input = fc_store_load_stats_input (fx->store, fitting_id, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (input->groups->len, ==, expected_groups);
  for (guint i = 0; i < input->groups->len; i++)
    assert_group_matches_rows (fx, g_ptr_array_index (input->groups, i));
}

static void
add_config_shots (Fixture *fx, const char *fitting_id, const char *config_id, guint n, guint salt)
{
  g_autoptr(GPtrArray) shots = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_shot_free);
  g_autofree FcAddResult *results = g_new0 (FcAddResult, n);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = g_strdup_printf ("%u-%u", salt, i);
      FcShot *s = device_shot ("stats-device", id, 30.0 + (salt * 1000 + i) * 0.0005);

      s->fitting_id = g_strdup (fitting_id);
      s->config_id = g_strdup (config_id);
      /* some fields only now and then, so blocks carry absent values */
      if (i % 3 == 0)
        fc_shot_set (s, FC_FIELD_CARRY, 200.0 + i % 97);
      if (salt % 2)
        fc_shot_set (s, FC_FIELD_SPIN_RATE, 2500.0 + i);
      g_ptr_array_add (shots, s);
    }
  g_assert_true (fc_store_add_shots (fx->store, (FcShot **) shots->pdata, n, NULL, results, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (results[i], ==, FC_ADD_INSERTED);
}

/* Statistics read per-range blocks where they can; whatever happens to
 * the shots (more shots, exclusions, moves, a damaged block), what they
 * read is exactly what the shots table holds. */
static void
test_stats_blocks (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcFitting) fitting = fc_fitting_new (FC_FITTING_DRIVER, "Bay 9");
  g_autoptr(FcClubConfig) a = fc_club_config_new (FC_CONFIG_BASELINE, "A");
  g_autoptr(FcClubConfig) b = fc_club_config_new (FC_CONFIG_TEST, "B");
  g_autoptr(GPtrArray) shots = NULL;
  const char *moved[3] = { NULL };
  sqlite3 *db;

  g_assert_true (fc_store_add_fitting (fx->store, fitting, &error));
  a->fitting_id = g_strdup (fitting->id);
  b->fitting_id = g_strdup (fitting->id);
  g_assert_true (fc_store_add_config (fx->store, a, &error));
  g_assert_true (fc_store_add_config (fx->store, b, &error));
  g_assert_no_error (error);

  /* A and B in turns, so ranges hold shots of both */
  for (guint round = 0; round < 6; round++)
    add_config_shots (fx, fitting->id, round % 2 ? b->id : a->id, 700, round);

  assert_stats_input_matches_rows (fx, fitting->id, 2);   /* writes blocks */
  g_assert_cmpint (count (fx, "SELECT count(*) FROM stats_blocks"), >=, 4);
  assert_stats_input_matches_rows (fx, fitting->id, 2);   /* reads them */

  /* exclusions, a move from A to B, more shots: blocks of those ranges go */
  shots = fc_store_list_shots (fx->store, fitting->id, &error);
  g_assert_no_error (error);
  g_assert_true (fc_store_set_shot_excluded (fx->store, ((FcShot *) shots->pdata[5])->id, TRUE,
                                             "mishit", &error));
  g_assert_true (fc_store_set_shot_excluded (fx->store, ((FcShot *) shots->pdata[2500])->id, TRUE,
                                             "mishit", &error));
  moved[0] = ((FcShot *) shots->pdata[10])->id;
  moved[1] = ((FcShot *) shots->pdata[1800])->id;
  g_assert_true (fc_store_move_shots (fx->store, moved, b->id, &error));
  g_assert_no_error (error);
  add_config_shots (fx, fitting->id, a->id, 300, 100);
  assert_stats_input_matches_rows (fx, fitting->id, 2);
  assert_stats_input_matches_rows (fx, fitting->id, 2);

  /* undo an exclusion */
  g_assert_true (fc_store_set_shot_excluded (fx->store, ((FcShot *) shots->pdata[5])->id, FALSE,
                                             NULL, &error));
  assert_stats_input_matches_rows (fx, fitting->id, 2);

  /* a block that does not parse is read around, then written again */
  g_assert_cmpint (sqlite3_open (fx->path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "UPDATE stats_blocks SET data = x'0102'"
                                 " WHERE rowid IN (SELECT rowid FROM stats_blocks LIMIT 1)",
                                 NULL, NULL, NULL), !=, SQLITE_OK);   /* WITHOUT ROWID */
  g_assert_cmpint (sqlite3_exec (db, "UPDATE stats_blocks SET data = x'0102'"
                                 " WHERE block = (SELECT min(block) FROM stats_blocks)",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_changes (db), >, 0);
  sqlite3_close (db);
  assert_stats_input_matches_rows (fx, fitting->id, 2);
  g_assert_cmpint (count (fx, "SELECT count(*) FROM stats_blocks WHERE length(data) = 2"), ==, 0);
  assert_stats_input_matches_rows (fx, fitting->id, 2);
}

typedef struct {
  const char *path;
  GMutex      lock;
  GCond       go;
  gboolean    started;
  guint       failures;
  char       *first_error;
} RaceStart;

static gpointer
open_when_told (gpointer data)
{
  RaceStart *race = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = NULL;

  g_mutex_lock (&race->lock);
  while (!race->started)
    g_cond_wait (&race->go, &race->lock);
  g_mutex_unlock (&race->lock);

  store = fc_store_open (race->path, &error);
  if (store == NULL)
    {
      g_mutex_lock (&race->lock);
      race->failures++;
      if (race->first_error == NULL)
        race->first_error = g_strdup (error->message);
      g_mutex_unlock (&race->lock);
    }
  return NULL;
}

/* The agent and fitclipctl may open a database that does not exist yet at
 * the same moment (first start of a shop PC): both must get it, one
 * creating it and the other waiting, never "locked". */
static void
test_concurrent_create (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-race-XXXXXX", NULL);

  for (guint round = 0; round < 25; round++)
    {
      g_autofree char *path = g_strdup_printf ("%s/race-%u.db", dir, round);
      RaceStart race = { .path = path };
      GThread *threads[4];

      g_mutex_init (&race.lock);
      g_cond_init (&race.go);
      for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
        threads[t] = g_thread_new ("opener", open_when_told, &race);
      g_usleep (2000);
      g_mutex_lock (&race.lock);
      race.started = TRUE;
      g_cond_broadcast (&race.go);
      g_mutex_unlock (&race.lock);
      for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
        g_thread_join (threads[t]);
      if (race.failures > 0)
        g_error ("round %u: %u of 4 could not open a new database: %s", round, race.failures,
                 race.first_error);
      /* Each upgrade step wrote its own version, whoever took it: the
       * database says the schema it has (a step that wrote the version it
       * expected before waiting left schema 2 labelled 1). */
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(FcStore) store = fc_store_open (path, &error);
        g_autofree char *report = NULL;

        g_assert_no_error (error);
        g_assert_cmpint (fc_store_get_schema_version (store), ==, FC_STORE_SCHEMA_VERSION);
        g_assert_true (fc_store_check_integrity (store, &report, &error));
        g_assert_cmpstr (report, ==, "ok");
      }
      g_mutex_clear (&race.lock);
      g_cond_clear (&race.go);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(name, fn) g_test_add ("/store/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("pragmas-and-columns", test_pragmas);
  ADD ("fitting-records", test_fitting_records);
  ADD ("shot-storage", test_shot_storage);
  ADD ("practice-session", test_practice_session);
  ADD ("dedupe", test_dedupe);
  ADD ("rollback-leaves-nothing", test_rollback_leaves_nothing);
  ADD ("exclusion-and-tags", test_exclusion_and_tags);
  ADD ("outbox-peek", test_outbox_peek);
  ADD ("background-checkpoint", test_background_checkpoint);
  ADD ("stats-blocks", test_stats_blocks);
#undef ADD
  g_test_add_func ("/store/bad-files", test_bad_files);
  g_test_add_func ("/store/concurrent-create", test_concurrent_create);
  g_test_add_func ("/store/default-path", test_default_path);
  return g_test_run ();
}
