/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The sync queue (fc-sync-queue.c) against a real store: order, batches,
 * merged edits, idempotency keys across restarts, crash resume, backoff
 * and parking, locked customers, videos, bodies against
 * docs/cloud-api.yaml, and a randomized run whose requests, applied to a
 * model of the cloud that enforces the contract's rules, must end equal
 * to the store.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "fc-error.h"
#include "fc-record-json.h"
#include "fc-store.h"
#include "fc-sync-queue.h"
#include "pii-helpers.h"

typedef struct {
  char          *dir;
  char          *path;
  FcFieldCipher *cipher;
  FcStore       *store;
  gint64         clock;    /* the engine's "now" */
} Fixture;

static void
open_store (Fixture  *fx,
            gboolean  unlocked)
{
  g_autoptr(GError) error = NULL;

  g_clear_object (&fx->store);
  fx->store = fc_store_open (fx->path, &error);
  g_assert_no_error (error);
  if (unlocked)
    {
      g_assert_true (fc_store_set_field_cipher (fx->store, fx->cipher, &error));
      g_assert_no_error (error);
    }
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  fx->dir = g_dir_make_tmp ("fitclip-queue-XXXXXX", NULL);
  fx->path = g_build_filename (fx->dir, "fitclip.db", NULL);
  fx->cipher = pii_random_cipher ();
  open_store (fx, TRUE);
  fx->clock = g_get_real_time () + G_USEC_PER_SEC;
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_remove (p);
    }
  g_rmdir (dir);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->store);
  g_clear_object (&fx->cipher);
  remove_tree (fx->dir);
  g_free (fx->path);
  g_free (fx->dir);
}

/* ---- records --------------------------------------------------------------- */

static char *
add_customer (Fixture *fx, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCustomer) c = fc_customer_new (name);

  c->email = g_strdup_printf ("%s@example.test", name);
  c->handicap = 11.5;
  g_assert_true (fc_store_add_customer (fx->store, c, &error));
  g_assert_no_error (error);
  return g_strdup (c->id);
}

static char *
add_fitting (Fixture *fx, const char *customer_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcFitting) f = fc_fitting_new (FC_FITTING_DRIVER, "Bay 1");

  f->customer_id = g_strdup (customer_id);
  f->fitter = g_strdup ("Sam");
  g_assert_true (fc_store_add_fitting (fx->store, f, &error));
  g_assert_no_error (error);
  return g_strdup (f->id);
}

static char *
add_config (Fixture *fx, const char *fitting_id, FcConfigRole role)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcClubConfig) c = fc_club_config_new (role, role == FC_CONFIG_BASELINE ? "Own" : "Test");

  c->fitting_id = g_strdup (fitting_id);
  c->head = g_strdup ("Head");
  c->loft_deg = 9.5;
  g_assert_true (fc_store_add_config (fx->store, c, &error));
  g_assert_no_error (error);
  return g_strdup (c->id);
}

static guint shot_counter;

static FcShot *
make_shot (const char *config_id, gboolean file)
{
  FcShot *s = fc_shot_new ();
  guint n = ++shot_counter;
  char *raw;

  s->source_kind = file ? FC_SOURCE_FILE : FC_SOURCE_DEVICE;
  s->source_protocol = g_strdup (file ? "csv/test" : "open-connect-v1");
  s->device_id = g_strdup (file ? "test-file" : "monitor-1");
  s->device_shot_id = g_strdup_printf ("%u", n);
  s->source_detail = file ? g_strdup_printf ("test.csv:%u", n) : NULL;
  s->config_id = g_strdup (config_id);
  s->club = g_strdup ("DR");
  raw = g_strdup_printf ("row %u", n);
  s->raw = g_bytes_new_take (raw, strlen (raw));
  fc_shot_set (s, FC_FIELD_BALL_SPEED, 50.0 + (n % 300) / 10.0);
  fc_shot_set (s, FC_FIELD_LAUNCH_ANGLE, 5.0 + (n % 97) / 10.0);
  if (n % 3)
    fc_shot_set (s, FC_FIELD_CARRY, 150.0 + (n % 1000) / 10.0);
  return s;
}

/* @n live shots to @config_id in groups, as a busy bay stores them. */
static GPtrArray *
add_shots (Fixture *fx, const char *config_id, guint n)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  for (guint done = 0; done < n;)
    {
      guint group = MIN (n - done, 50);
      g_autoptr(GPtrArray) shots = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_shot_free);
      g_autofree FcAddResult *results = g_new0 (FcAddResult, group);
      g_autoptr(GError) error = NULL;

      for (guint i = 0; i < group; i++)
        g_ptr_array_add (shots, make_shot (config_id, FALSE));
      g_assert_true (fc_store_add_shots (fx->store, (FcShot **) shots->pdata, group, NULL, results, &error));
      g_assert_no_error (error);
      for (guint i = 0; i < group; i++)
        {
          g_assert_cmpint (results[i], ==, FC_ADD_INSERTED);
          g_ptr_array_add (ids, g_strdup (((FcShot *) shots->pdata[i])->id));
        }
      done += group;
    }
  return ids;
}

static GPtrArray *
import_shots (Fixture *fx, const char *fitting_id, const char *config_id, guint n)
{
  g_autoptr(FcImportBatch) batch = fc_import_batch_new ();
  g_autoptr(GError) error = NULL;
  FcImportSummary summary = { 0 };
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  batch->format = g_strdup ("test");
  batch->file_name = g_strdup ("test.csv");
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (batch->shots, make_shot (NULL, TRUE));
  g_assert_true (fc_store_import (fx->store, batch, fitting_id, config_id, NULL, &summary, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (summary.inserted, ==, n);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (ids, g_strdup (((FcShot *) batch->shots->pdata[i])->id));
  fc_import_summary_clear (&summary);
  return ids;
}

/* ---- the queue -------------------------------------------------------------- */

static FcSyncRequest *
next_at (Fixture *fx, gint64 now, gint64 *due)
{
  g_autoptr(GError) error = NULL;
  FcSyncRequest *r = fc_sync_queue_next (fx->store, now, due, &error);

  g_assert_no_error (error);
  return r;
}

static FcSyncRequest *
next (Fixture *fx)
{
  return next_at (fx, fx->clock, NULL);
}

static void
done (Fixture *fx, FcSyncRequest *r)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (fc_sync_queue_done (fx->store, r, &error));
  g_assert_no_error (error);
}

static JsonNode *
body_json (const FcSyncRequest *r)
{
  gsize len;
  const char *data = g_bytes_get_data (r->body, &len);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strndup (data, len);
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return node;
}

static JsonArray *
member_array (JsonNode *root, const char *name)
{
  JsonNode *m = json_object_get_member (json_node_get_object (root), name);

  g_assert_nonnull (m);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (m));
  return json_node_get_array (m);
}

static char *
body_text (const FcSyncRequest *r)
{
  gsize len;
  const char *data = g_bytes_get_data (r->body, &len);

  return g_strndup (data, len);
}

static int
count_sql (Fixture *fx, const char *sql)
{
  sqlite3 *db;
  sqlite3_stmt *stmt;
  int n = -1;

  g_assert_cmpint (sqlite3_open (fx->path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    n = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return n;
}

/* ---- a model of the cloud -------------------------------------------------------- */

/*
 * Applies requests as docs/cloud-api.yaml says the cloud does, and fails
 * the test where the cloud would refuse: a fitting used before its
 * creation (404), a shot with an unknown configuration (unknown_config),
 * an edit of a shot it does not have (unknown_shot), a repeated creation
 * with another fitting (409), a shot id with other content (409), an
 * Idempotency-Key reused for another body (422).
 */
typedef struct {
  FcFitting  *fitting;
  char       *created_as;     /* the creation's fitting, normalised */
  GHashTable *configs;        /* id -> FcClubConfig* */
  GHashTable *shots;          /* id -> FcShot* */
  GHashTable *videos;         /* id -> sha256 */
} ModelFitting;

typedef struct {
  GHashTable *fittings;       /* id -> ModelFitting* */
  GHashTable *customers;      /* id -> FcCustomer* */
  GHashTable *keys;           /* Idempotency-Key -> body */
  guint       requests;
  guint       shots_received;
} Model;

static void
model_fitting_free (ModelFitting *m)
{
  fc_fitting_free (m->fitting);
  g_free (m->created_as);
  g_hash_table_unref (m->configs);
  g_hash_table_unref (m->shots);
  g_hash_table_unref (m->videos);
  g_free (m);
}

static Model *
model_new (void)
{
  Model *m = g_new0 (Model, 1);

  m->fittings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) model_fitting_free);
  m->customers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) fc_customer_free);
  m->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return m;
}

static void
model_free (Model *m)
{
  g_hash_table_unref (m->fittings);
  g_hash_table_unref (m->customers);
  g_hash_table_unref (m->keys);
  g_free (m);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Model, model_free)

static char *
fitting_text (const FcFitting *f, gboolean with_state)
{
  g_autoptr(FcFitting) copy = fc_fitting_copy (f);
  FcJsonWriter *w = fc_json_writer_new (FALSE);

  /* The bay's UI state is not synced. */
  g_clear_pointer (&copy->active_config_id, g_free);
  if (!with_state)
    {
      copy->status = FC_FITTING_OPEN;
      copy->completed_at = 0;
    }
  fc_json_write_fitting (w, copy);
  return fc_json_writer_steal (w, NULL);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

static char *
shot_text (const FcShot *s)
{
  g_autoptr(FcShot) copy = fc_shot_copy (s);

  g_ptr_array_sort (copy->tags, compare_strings);
  g_clear_pointer (&copy->import_id, g_free);
  return fc_shot_to_json (copy, FC_SHOT_JSON_WITH_RAW);
}

/* What makes a shot the same shot for the cloud: not its edits. */
static char *
shot_content (const FcShot *s)
{
  g_autoptr(FcShot) copy = fc_shot_copy (s);

  copy->excluded = FALSE;
  g_clear_pointer (&copy->exclude_reason, g_free);
  g_ptr_array_set_size (copy->tags, 0);
  g_clear_pointer (&copy->config_id, g_free);
  g_clear_pointer (&copy->import_id, g_free);
  g_clear_pointer (&copy->raw, g_bytes_unref);
  return fc_shot_to_json (copy, FC_SHOT_JSON_DEFAULT);
}

static ModelFitting *
model_fitting (Model *m, const FcSyncRequest *r)
{
  ModelFitting *f = g_hash_table_lookup (m->fittings, r->fitting_id);

  if (f == NULL)
    g_error ("%s for fitting %s before its creation (the cloud answers 404)",
             fc_sync_kind_to_string (r->kind), r->fitting_id);
  return f;
}

static void
model_upsert_config (ModelFitting *f, JsonNode *node)
{
  g_autoptr(GError) error = NULL;
  FcClubConfig *c = fc_json_read_club_config (json_node_get_object (node), "config", &error);

  g_assert_no_error (error);
  g_assert_true (c->fitting_id == NULL || strcmp (c->fitting_id, f->fitting->id) == 0);
  g_hash_table_replace (f->configs, g_strdup (c->id), c);
}

static void
model_upsert_customer (Model *m, JsonNode *node)
{
  g_autoptr(GError) error = NULL;
  FcCustomer *c = fc_json_read_customer (json_node_get_object (node), "customer", &error);

  g_assert_no_error (error);
  g_assert_false (c->pii_locked);
  g_hash_table_replace (m->customers, g_strdup (c->id), c);
}

static void
model_create (Model *m, const FcSyncRequest *r, JsonObject *o)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcFitting) f = fc_json_read_fitting (json_object_get_object_member (o, "fitting"), "fitting", &error);
  g_autofree char *created_as = NULL;
  JsonNode *customer = json_object_get_member (o, "customer");
  ModelFitting *mf;

  g_assert_no_error (error);
  g_assert_cmpstr (f->id, ==, r->fitting_id);
  g_assert_false (json_object_has_member (o, "shots"));
  created_as = fitting_text (f, TRUE);
  mf = g_hash_table_lookup (m->fittings, f->id);
  if (mf)
    {
      /* Sent again: must be the same fitting, else 409 fitting_conflict. */
      g_assert_cmpstr (mf->created_as, ==, created_as);
      return;
    }
  if (f->customer_id)
    {
      g_assert_nonnull (customer);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (customer));
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (customer), "id"), ==,
                       f->customer_id);
    }
  if (customer && JSON_NODE_HOLDS_OBJECT (customer))
    model_upsert_customer (m, customer);

  mf = g_new0 (ModelFitting, 1);
  mf->fitting = g_steal_pointer (&f);
  mf->created_as = g_steal_pointer (&created_as);
  mf->configs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) fc_club_config_free);
  mf->shots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) fc_shot_free);
  mf->videos = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (m->fittings, g_strdup (mf->fitting->id), mf);
  if (json_object_has_member (o, "configs"))
    {
      JsonArray *a = json_object_get_array_member (o, "configs");

      for (guint i = 0; i < json_array_get_length (a); i++)
        model_upsert_config (mf, json_array_get_element (a, i));
    }
}

static void
model_add_shots (Model *m, const FcSyncRequest *r, JsonObject *o)
{
  ModelFitting *f = model_fitting (m, r);
  JsonArray *a = json_object_get_array_member (o, "shots");

  g_assert_cmpuint (json_array_get_length (a), <=, FC_SYNC_MAX_SHOTS);
  g_assert_cmpuint (json_array_get_length (a), ==, r->n_shots);
  g_assert_cmpuint (r->n_shots, >, 0);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(FcShot) s = fc_json_read_shot (json_array_get_object_element (a, i), "shot", &error);
      FcShot *had;

      g_assert_no_error (error);
      g_assert_true (s->fitting_id == NULL || strcmp (s->fitting_id, r->fitting_id) == 0);
      if (s->config_id && !g_hash_table_contains (f->configs, s->config_id))
        g_error ("Shot %s uses configuration %s before it was sent (unknown_config)", s->id, s->config_id);
      {
        GHashTableIter it;
        ModelFitting *other;

        g_hash_table_iter_init (&it, m->fittings);
        while (g_hash_table_iter_next (&it, NULL, (gpointer *) &other))
          if (other != f && g_hash_table_contains (other->shots, s->id))
            g_error ("Shot %s is in another fitting in the cloud (shot_conflict)", s->id);
      }
      had = g_hash_table_lookup (f->shots, s->id);
      m->shots_received++;
      if (had)
        {
          g_autofree char *a_content = shot_content (had), *b_content = shot_content (s);

          g_assert_cmpstr (a_content, ==, b_content);
          continue;
        }
      had = g_steal_pointer (&s);
      g_hash_table_insert (f->shots, g_strdup (had->id), had);
    }
}

static void
model_patch (Model *m, const FcSyncRequest *r, JsonObject *o)
{
  ModelFitting *f = model_fitting (m, r);

  if (json_object_has_member (o, "customer"))
    model_upsert_customer (m, json_object_get_member (o, "customer"));
  if (json_object_has_member (o, "configs"))
    {
      JsonArray *a = json_object_get_array_member (o, "configs");

      for (guint i = 0; i < json_array_get_length (a); i++)
        model_upsert_config (f, json_array_get_element (a, i));
    }
  if (json_object_has_member (o, "fitting"))
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(FcFitting) edit = fc_json_read_fitting (json_object_get_object_member (o, "fitting"), "fitting",
                                                        &error);

      g_assert_no_error (error);
      edit->status = f->fitting->status;
      edit->completed_at = f->fitting->completed_at;
      fc_fitting_free (f->fitting);
      f->fitting = g_steal_pointer (&edit);
    }
  if (json_object_has_member (o, "shots"))
    {
      JsonArray *a = json_object_get_array_member (o, "shots");

      g_assert_cmpuint (json_array_get_length (a), <=, FC_SYNC_MAX_SHOTS);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonObject *e = json_array_get_object_element (a, i);
          const char *id = json_object_get_string_member (e, "id");
          FcShot *s = g_hash_table_lookup (f->shots, id);
          JsonArray *tags;

          if (s == NULL)
            g_error ("PATCH of shot %s, which the cloud does not have in fitting %s (unknown_shot)",
                     id, r->fitting_id);
          if (json_object_has_member (e, "config_id"))
            {
              const char *config = json_object_get_string_member_with_default (e, "config_id", NULL);

              if (config && !g_hash_table_contains (f->configs, config))
                g_error ("Shot %s moved to configuration %s before it was sent (unknown_config)", id, config);
              g_free (s->config_id);
              s->config_id = g_strdup (config);
            }
          if (json_object_has_member (e, "excluded"))
            s->excluded = json_object_get_boolean_member (e, "excluded");
          if (json_object_has_member (e, "exclude_reason"))
            {
              g_free (s->exclude_reason);
              s->exclude_reason = g_strdup (json_object_get_string_member_with_default (e, "exclude_reason", NULL));
            }
          if (json_object_has_member (e, "tags"))
            {
              tags = json_object_get_array_member (e, "tags");
              g_ptr_array_set_size (s->tags, 0);
              for (guint k = 0; k < json_array_get_length (tags); k++)
                fc_shot_add_tag (s, json_array_get_string_element (tags, k));
            }
        }
    }
}

static void
model_apply (Model *m, const FcSyncRequest *r)
{
  g_autoptr(JsonNode) root = body_json (r);
  g_autofree char *text = body_text (r);
  JsonObject *o = json_node_get_object (root);
  const char *earlier = g_hash_table_lookup (m->keys, r->idempotency_key);
  static const char *methods[] = { "POST", "POST", "PATCH", "PATCH", "POST" };

  /* The cloud's idempotency rule: one key, one body. */
  if (earlier)
    g_assert_cmpstr (earlier, ==, text);
  else
    g_hash_table_insert (m->keys, g_strdup (r->idempotency_key), g_strdup (text));
  g_assert_cmpuint (strlen (r->idempotency_key), >=, 1);
  g_assert_cmpuint (strlen (r->idempotency_key), <=, 255);
  for (const char *c = r->idempotency_key; *c; c++)
    g_assert_true (g_ascii_isgraph (*c));
  g_assert_cmpstr (r->method, ==, methods[r->kind]);
  g_assert_cmpuint (r->outbox_ids->len, >, 0);
  m->requests++;

  switch (r->kind)
    {
    case FC_SYNC_CREATE_FITTING:
      g_assert_cmpstr (r->path, ==, "/api/v1/fittings");
      model_create (m, r, o);
      break;
    case FC_SYNC_ADD_SHOTS:
      model_add_shots (m, r, o);
      break;
    case FC_SYNC_PATCH_FITTING:
      model_patch (m, r, o);
      break;
    case FC_SYNC_COMPLETE_FITTING:
      {
        ModelFitting *f = model_fitting (m, r);
        gint64 at;

        g_assert_true (fc_parse_timestamp (json_object_get_string_member (o, "completed_at"), &at));
        if (f->fitting->status != FC_FITTING_COMPLETED)
          {
            f->fitting->status = FC_FITTING_COMPLETED;
            f->fitting->completed_at = at;
          }
      }
      break;
    case FC_SYNC_UPLOAD_VIDEO:
      {
        ModelFitting *f = model_fitting (m, r);

        g_assert_cmpstr (json_object_get_string_member (o, "upload_url"), ==, r->upload_url);
        g_assert_cmpstr (json_object_get_string_member (o, "sha256"), ==, r->video_sha256);
        g_assert_cmpint (json_object_get_int_member (o, "size"), ==, r->video_size);
        g_hash_table_replace (f->videos, g_strdup (r->video_id), g_strdup (r->video_sha256));
      }
      break;
    case FC_SYNC_N_KINDS:
    default:
      g_assert_not_reached ();
    }
}

/* The store's content and the model's, record by record. */
static void
assert_model_equals_store (Model *m, Fixture *fx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) fittings = fc_store_list_fittings (fx->store, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (m->fittings), ==, fittings->len);
  for (guint i = 0; i < fittings->len; i++)
    {
      FcFitting *f = g_ptr_array_index (fittings, i);
      ModelFitting *mf = g_hash_table_lookup (m->fittings, f->id);
      g_autofree char *want = fitting_text (f, TRUE);
      g_autofree char *got = NULL;
      g_autoptr(GPtrArray) configs = fc_store_list_configs (fx->store, f->id, &error);
      g_autoptr(GPtrArray) shots = fc_store_list_shots (fx->store, f->id, &error);

      g_assert_nonnull (mf);
      got = fitting_text (mf->fitting, TRUE);
      g_assert_cmpstr (got, ==, want);
      if (f->customer_id)
        {
          g_autoptr(FcCustomer) c = fc_store_get_customer (fx->store, f->customer_id, &error);
          FcCustomer *mc = g_hash_table_lookup (m->customers, f->customer_id);
          FcJsonWriter *a = fc_json_writer_new (FALSE), *b = fc_json_writer_new (FALSE);
          g_autofree char *ta = NULL, *tb = NULL;

          g_assert_no_error (error);
          g_assert_nonnull (mc);
          fc_json_write_customer (a, c);
          fc_json_write_customer (b, mc);
          ta = fc_json_writer_steal (a, NULL);
          tb = fc_json_writer_steal (b, NULL);
          g_assert_cmpstr (tb, ==, ta);
        }
      g_assert_cmpuint (g_hash_table_size (mf->configs), ==, configs->len);
      for (guint k = 0; k < configs->len; k++)
        {
          FcClubConfig *c = g_ptr_array_index (configs, k);
          FcClubConfig *mc = g_hash_table_lookup (mf->configs, c->id);
          FcJsonWriter *a = fc_json_writer_new (FALSE), *b = fc_json_writer_new (FALSE);
          g_autofree char *ta = NULL, *tb = NULL;

          g_assert_nonnull (mc);
          fc_json_write_club_config (a, c);
          fc_json_write_club_config (b, mc);
          ta = fc_json_writer_steal (a, NULL);
          tb = fc_json_writer_steal (b, NULL);
          g_assert_cmpstr (tb, ==, ta);
        }
      g_assert_cmpuint (g_hash_table_size (mf->shots), ==, shots->len);
      for (guint k = 0; k < shots->len; k++)
        {
          FcShot *s = g_ptr_array_index (shots, k);
          FcShot *ms = g_hash_table_lookup (mf->shots, s->id);
          g_autofree char *ta = NULL, *tb = NULL;

          g_assert_nonnull (ms);
          ta = shot_text (s);
          tb = shot_text (ms);
          g_assert_cmpstr (tb, ==, ta);
        }
    }
  g_assert_cmpint (count_sql (fx, "SELECT count(*) FROM videos WHERE uploaded_at IS NULL"), ==, 0);
  {
    guint videos = 0;
    GHashTableIter it;
    ModelFitting *mf;

    g_hash_table_iter_init (&it, m->fittings);
    while (g_hash_table_iter_next (&it, NULL, (gpointer *) &mf))
      videos += g_hash_table_size (mf->videos);
    g_assert_cmpint (count_sql (fx, "SELECT count(*) FROM videos"), ==, videos);
  }
}

/* Like the engine: an upload first when the video has none, then the
 * attach call. */
static FcSyncRequest *
next_ready (Fixture *fx, gint64 now, gint64 *due)
{
  FcSyncRequest *r = next_at (fx, now, due);

  if (r && r->kind == FC_SYNC_UPLOAD_VIDEO && r->upload_url == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *url = g_strdup_printf ("http://127.0.0.1:1/files/%s", r->video_id);

      g_assert_true (fc_sync_queue_save_upload (fx->store, r->video_id, url, r->video_size,
                                                now + G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC, &error));
      g_assert_no_error (error);
      fc_sync_request_free (r);
      r = next_at (fx, now, due);
      g_assert_nonnull (r);
      g_assert_cmpint (r->kind, ==, FC_SYNC_UPLOAD_VIDEO);
      g_assert_nonnull (r->upload_url);
    }
  return r;
}

/* Sends everything due, bounded; returns the number of requests. */
static guint
drain (Fixture *fx, Model *m)
{
  guint n = 0;

  for (; n < 10000; n++)
    {
      g_autoptr(FcSyncRequest) r = next_ready (fx, fx->clock, NULL);

      if (r == NULL)
        break;
      model_apply (m, r);
      done (fx, r);
    }
  g_assert_cmpuint (n, <, 10000);
  return n;
}

/* ---- order -------------------------------------------------------------------- */

static void
test_order (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *customer = add_customer (fx, "Ann");
  g_autofree char *a = add_fitting (fx, customer);
  g_autofree char *b = add_fitting (fx, NULL);
  g_autofree char *a_base = add_config (fx, a, FC_CONFIG_BASELINE);
  g_autofree char *b_base = add_config (fx, b, FC_CONFIG_BASELINE);
  g_autoptr(GPtrArray) a_shots = add_shots (fx, a_base, 3);
  g_autoptr(GPtrArray) b_shots = add_shots (fx, b_base, 2);
  g_autoptr(Model) m = model_new ();
  g_autoptr(GString) a_kinds = g_string_new (NULL), b_kinds = g_string_new (NULL);
  g_autofree char *video = g_uuid_string_random ();
  g_autofree char *a_test = NULL;
  g_autoptr(GPtrArray) later = NULL;
  guint n = 0;

  g_assert_true (fc_store_set_shot_excluded (fx->store, a_shots->pdata[1], TRUE, "mishit", &error));
  g_assert_true (fc_store_complete_fitting (fx->store, b, &error));
  g_assert_true (fc_store_complete_fitting (fx->store, a, &error));
  g_assert_true (fc_sync_queue_add_video (fx->store, a, video, "/videos/recap.mp4",
                                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                          1000, &error));
  g_assert_no_error (error);

  for (;; n++)
    {
      g_autoptr(FcSyncRequest) r = next_ready (fx, fx->clock, NULL);

      g_assert_cmpuint (n, <, 20);
      if (r == NULL)
        break;
      g_string_append_printf (strcmp (r->fitting_id, a) == 0 ? a_kinds : b_kinds, "%s ",
                              fc_sync_kind_to_string (r->kind));
      model_apply (m, r);
      done (fx, r);
    }
  /* The configuration went with the creation; the exclusion after the shots. */
  g_assert_cmpstr (a_kinds->str, ==, "create_fitting add_shots patch_fitting complete_fitting upload_video ");
  g_assert_cmpstr (b_kinds->str, ==, "create_fitting add_shots complete_fitting ");
  assert_model_equals_store (m, fx);

  /* A configuration added after the creation was sent: a PATCH, before
   * the shots that use it. */
  g_string_truncate (a_kinds, 0);
  a_test = add_config (fx, a, FC_CONFIG_TEST);
  later = add_shots (fx, a_test, 4);
  for (n = 0;; n++)
    {
      g_autoptr(FcSyncRequest) r = next (fx);

      g_assert_cmpuint (n, <, 10);
      if (r == NULL)
        break;
      g_string_append_printf (a_kinds, "%s ", fc_sync_kind_to_string (r->kind));
      model_apply (m, r);
      done (fx, r);
    }
  g_assert_cmpstr (a_kinds->str, ==, "patch_fitting add_shots ");
  assert_model_equals_store (m, fx);
  g_assert_cmpint (count_sql (fx, "SELECT count(*) FROM outbox"), ==, 0);
}

/* Fittings go in the order their oldest entry was written; one that
 * waits or is parked does not hold back the others. */
static void
test_parked_does_not_block (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = add_fitting (fx, NULL);
  g_autofree char *b = add_fitting (fx, NULL);
  g_autofree char *a_base = add_config (fx, a, FC_CONFIG_BASELINE);
  g_autofree char *b_base = add_config (fx, b, FC_CONFIG_BASELINE);
  g_autoptr(GPtrArray) a_shots = add_shots (fx, a_base, 5);
  g_autoptr(GPtrArray) b_shots = add_shots (fx, b_base, 5);
  g_autoptr(FcSyncRequest) first = next (fx);
  g_autoptr(FcSyncRequest) second = NULL;
  g_autoptr(FcSyncRequest) third = NULL;
  g_autoptr(FcSyncRequest) again = NULL;
  FcSyncQueueStatus status = { 0 };
  gint64 due = -1;

  g_assert_cmpint (first->kind, ==, FC_SYNC_CREATE_FITTING);
  g_assert_cmpstr (first->fitting_id, ==, a);
  g_assert_true (fc_sync_queue_park (fx->store, first, "400 bad_request: test", &error));
  g_assert_no_error (error);

  second = next (fx);
  g_assert_cmpstr (second->fitting_id, ==, b);
  g_assert_cmpint (second->kind, ==, FC_SYNC_CREATE_FITTING);
  done (fx, second);
  third = next (fx);
  g_assert_cmpstr (third->fitting_id, ==, b);
  g_assert_cmpint (third->kind, ==, FC_SYNC_ADD_SHOTS);
  g_assert_cmpuint (third->n_shots, ==, 5);
  done (fx, third);

  /* Only the parked fitting is left: nothing due, ever, until unparked. */
  g_assert_null (next_at (fx, fx->clock + G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC, &due));
  g_assert_cmpint (due, ==, 0);
  g_assert_true (fc_sync_queue_get_status (fx->store, &status, &error));
  g_assert_cmpuint (status.parked, ==, 1);
  g_assert_cmpstr (status.last_error, ==, "400 bad_request: test");
  g_assert_cmpuint (status.pending[FC_SYNC_ADD_SHOTS], ==, 5);
  fc_sync_queue_status_clear (&status);

  /* Unparking another fitting does nothing for this one. */
  g_assert_true (fc_sync_queue_unpark (fx->store, b, &error));
  g_assert_null (next (fx));
  g_assert_true (fc_sync_queue_unpark (fx->store, a, &error));
  again = next (fx);
  g_assert_nonnull (again);
  g_assert_cmpint (again->kind, ==, FC_SYNC_CREATE_FITTING);
  g_assert_cmpstr (again->idempotency_key, ==, first->idempotency_key);
  g_assert_cmpint (again->attempt_count, ==, 0);
}

/* Backoff: a retried head waits until its time; parking waits for a person. */
static void
test_retry_and_park (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = add_fitting (fx, NULL);
  g_autoptr(FcSyncRequest) r = next (fx);
  g_autoptr(FcSyncRequest) early = NULL, late = NULL, parked = NULL, back = NULL;
  FcSyncQueueStatus status = { 0 };
  gint64 later = fx->clock + 10 * G_USEC_PER_SEC;
  gint64 due = 0;

  g_assert_nonnull (r);
  g_assert_cmpint (r->attempt_count, ==, 0);
  g_assert_true (fc_sync_queue_retry_later (fx->store, r, later, "503 unavailable", &error));
  g_assert_no_error (error);

  early = next_at (fx, later - 1, &due);
  g_assert_null (early);
  g_assert_cmpint (due, ==, later);
  g_assert_true (fc_sync_queue_get_status (fx->store, &status, &error));
  g_assert_cmpstr (status.last_error, ==, "503 unavailable");
  g_assert_cmpuint (status.parked, ==, 0);
  g_assert_cmpuint (status.pending[FC_SYNC_CREATE_FITTING], ==, 1);
  fc_sync_queue_status_clear (&status);

  late = next_at (fx, later, &due);
  g_assert_nonnull (late);
  g_assert_cmpint (late->attempt_count, ==, 1);
  g_assert_cmpstr (late->idempotency_key, ==, r->idempotency_key);

  g_assert_true (fc_sync_queue_retry_later (fx->store, late, later + 20, "again", &error));
  parked = next_at (fx, later + 20, NULL);
  g_assert_cmpint (parked->attempt_count, ==, 2);
  g_assert_true (fc_sync_queue_park (fx->store, parked, "422 invalid_fitting", &error));
  g_assert_null (next_at (fx, G_MAXINT64, &due));
  g_assert_cmpint (due, ==, 0);
  g_assert_true (fc_sync_queue_get_status (fx->store, &status, &error));
  g_assert_cmpuint (status.parked, ==, 1);
  g_assert_cmpstr (status.last_error, ==, "422 invalid_fitting");
  fc_sync_queue_status_clear (&status);

  /* Reopening keeps all of it. */
  open_store (fx, TRUE);
  g_assert_null (next_at (fx, G_MAXINT64, NULL));
  g_assert_true (fc_sync_queue_unpark (fx->store, NULL, &error));
  back = next (fx);
  g_assert_nonnull (back);
  g_assert_cmpint (back->attempt_count, ==, 0);
  done (fx, back);
  g_assert_true (fc_sync_queue_get_status (fx->store, &status, &error));
  g_assert_null (status.last_error);
  g_assert_cmpint (status.oldest_created_at, ==, 0);
  fc_sync_queue_status_clear (&status);
}

/* A failed creation that carried its customer waits as a whole: the
 * customer's entry, older than the creation, holds the fitting. */
static void
test_retry_with_customer (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *customer = add_customer (fx, "Tuck");
  g_autofree char *a = add_fitting (fx, customer);
  g_autofree char *base = add_config (fx, a, FC_CONFIG_BASELINE);
  g_autoptr(GPtrArray) shots = add_shots (fx, base, 90);
  g_autofree char *video = g_uuid_string_random ();
  g_autoptr(FcSyncRequest) create = NULL, again = NULL;
  gint64 later = fx->clock + 10 * G_USEC_PER_SEC;
  gint64 due = 0;

  g_assert_true (fc_store_complete_fitting (fx->store, a, &error));
  g_assert_true (fc_sync_queue_add_video (fx->store, a, video, "/v/r.mp4",
                                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                          65536, &error));
  create = next (fx);
  g_assert_cmpint (create->kind, ==, FC_SYNC_CREATE_FITTING);
  g_assert_true (fc_sync_queue_retry_later (fx->store, create, later, "cannot be reached", &error));
  g_assert_no_error (error);
  g_assert_null (next_at (fx, fx->clock, &due));
  g_assert_cmpint (due, ==, later);
  again = next_at (fx, later, &due);
  g_assert_cmpint (again->kind, ==, FC_SYNC_CREATE_FITTING);
  g_assert_cmpint (again->attempt_count, ==, 1);
}

/* A fitting whose customer cannot be decrypted waits; the others go on. */
static void
test_locked_customer (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *customer = add_customer (fx, "Bea");
  g_autofree char *a = add_fitting (fx, customer);
  g_autofree char *b = add_fitting (fx, NULL);
  g_autoptr(Model) m = model_new ();
  FcSyncQueueStatus status = { 0 };
  guint n = 0;

  open_store (fx, FALSE);
  for (;; n++)
    {
      g_autoptr(FcSyncRequest) r = next (fx);

      g_assert_cmpuint (n, <, 10);
      if (r == NULL)
        break;
      g_assert_cmpstr (r->fitting_id, ==, b);
      model_apply (m, r);
      done (fx, r);
    }
  g_assert_cmpuint (n, ==, 1);
  g_assert_true (fc_sync_queue_get_status (fx->store, &status, &error));
  g_assert_cmpuint (status.waiting_for_key, ==, 1);
  g_assert_cmpuint (status.pending[FC_SYNC_CREATE_FITTING], ==, 1);
  fc_sync_queue_status_clear (&status);

  /* With the key, the fitting goes with its customer, decrypted. */
  open_store (fx, TRUE);
  g_assert_true (fc_sync_queue_get_status (fx->store, &status, &error));
  g_assert_cmpuint (status.waiting_for_key, ==, 0);
  fc_sync_queue_status_clear (&status);
  g_assert_cmpuint (drain (fx, m), ==, 1);
  assert_model_equals_store (m, fx);
  g_assert_cmpstr (((FcCustomer *) g_hash_table_lookup (m->customers, customer))->name, ==, "Bea");
}

/* A customer whose details do not decrypt with the key parks its
 * fitting with the reason; nothing is sent without it, others go on. */
static void
test_damaged_customer (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *customer = add_customer (fx, "Ida");
  g_autofree char *a = add_fitting (fx, customer);
  g_autofree char *b = add_fitting (fx, NULL);
  g_autofree char *sql = g_strdup_printf ("UPDATE customers SET name_enc = x'00112233445566778899'"
                                          " WHERE id = '%s'", customer);
  g_autoptr(FcSyncRequest) r = NULL;
  FcSyncQueueStatus status = { 0 };
  sqlite3 *db;

  g_assert_cmpint (sqlite3_open (fx->path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  r = next (fx);
  g_assert_nonnull (r);
  g_assert_cmpstr (r->fitting_id, ==, b);
  done (fx, r);
  g_assert_null (next (fx));
  g_assert_true (fc_sync_queue_get_status (fx->store, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (status.parked, ==, 1);
  g_assert_nonnull (status.last_error);
  g_assert_cmpuint (status.pending[FC_SYNC_CREATE_FITTING], ==, 1);
  fc_sync_queue_status_clear (&status);
}

/* ---- batches --------------------------------------------------------------------- */

static void
test_batches (Fixture *fx, gconstpointer data)
{
  g_autofree char *a = add_fitting (fx, NULL);
  g_autofree char *base = add_config (fx, a, FC_CONFIG_BASELINE);
  g_autoptr(GPtrArray) live = add_shots (fx, base, 1234);
  g_autoptr(GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(Model) m = model_new ();
  guint sizes[8] = { 0 }, n = 0;
  g_autoptr(GPtrArray) more_live = NULL, imported = NULL;

  for (;; n++)
    {
      g_autoptr(FcSyncRequest) r = next (fx);

      if (r == NULL)
        break;
      g_assert_cmpuint (n, <, G_N_ELEMENTS (sizes));
      g_assert_false (g_hash_table_contains (keys, r->idempotency_key));
      g_hash_table_add (keys, g_strdup (r->idempotency_key));
      if (r->kind == FC_SYNC_ADD_SHOTS)
        sizes[n] = r->n_shots;
      model_apply (m, r);
      done (fx, r);
    }
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpuint (sizes[1], ==, 500);
  g_assert_cmpuint (sizes[2], ==, 500);
  g_assert_cmpuint (sizes[3], ==, 234);

  /* An import of 1,200 after 10 live shots: 10 + 490, 500, 210. */
  more_live = add_shots (fx, base, 10);
  imported = import_shots (fx, a, base, 1200);
  memset (sizes, 0, sizeof sizes);
  for (n = 0;; n++)
    {
      g_autoptr(FcSyncRequest) r = next (fx);
      g_autoptr(JsonNode) root = NULL;
      JsonArray *shots;

      if (r == NULL)
        break;
      g_assert_cmpuint (n, <, G_N_ELEMENTS (sizes));
      g_assert_cmpint (r->kind, ==, FC_SYNC_ADD_SHOTS);
      sizes[n] = r->n_shots;
      root = body_json (r);
      shots = member_array (root, "shots");
      if (n == 0)
        {
          /* commit order: the live shots, then the file's in its order */
          g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (shots, 0), "id"), ==,
                           more_live->pdata[0]);
          g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (shots, 10), "id"), ==,
                           imported->pdata[0]);
        }
      if (n == 2)
        g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (shots, 209), "id"), ==,
                         imported->pdata[1199]);
      model_apply (m, r);
      done (fx, r);
    }
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpuint (sizes[0], ==, 500);
  g_assert_cmpuint (sizes[1], ==, 500);
  g_assert_cmpuint (sizes[2], ==, 210);
  g_assert_cmpuint (m->shots_received, ==, 1234 + 1210);
  assert_model_equals_store (m, fx);
  g_assert_cmpint (count_sql (fx, "SELECT count(*) FROM outbox"), ==, 0);
}

/* ---- edits -------------------------------------------------------------------------- */

static void
test_merged_edits (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *customer = add_customer (fx, "Cy");
  g_autofree char *a = add_fitting (fx, customer);
  g_autofree char *base = add_config (fx, a, FC_CONFIG_BASELINE);
  g_autofree char *test = add_config (fx, a, FC_CONFIG_TEST);
  g_autoptr(GPtrArray) shots = add_shots (fx, base, 3);
  g_autoptr(Model) m = model_new ();
  g_autoptr(FcSyncRequest) patch = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(FcCustomer) c = NULL;
  g_autofree char *path = g_strdup_printf ("/api/v1/fittings/%s", a);
  const char *moved[] = { shots->pdata[2], NULL };
  JsonArray *edits;
  JsonObject *e;

  g_assert_cmpuint (drain (fx, m), ==, 2);

  /* exclude then include the same shot, tag it twice and untag once,
   * move another, edit the customer: one PATCH, final state */
  g_assert_true (fc_store_set_shot_excluded (fx->store, shots->pdata[0], TRUE, "mishit", &error));
  g_assert_true (fc_store_tag_shot (fx->store, shots->pdata[0], "best", TRUE, &error));
  g_assert_true (fc_store_tag_shot (fx->store, shots->pdata[0], "video", TRUE, &error));
  g_assert_true (fc_store_set_shot_excluded (fx->store, shots->pdata[0], FALSE, NULL, &error));
  g_assert_true (fc_store_tag_shot (fx->store, shots->pdata[0], "best", FALSE, &error));
  g_assert_true (fc_store_set_shot_excluded (fx->store, shots->pdata[1], TRUE, "topped", &error));
  g_assert_true (fc_store_move_shots (fx->store, moved, test, &error));
  c = fc_store_get_customer (fx->store, customer, &error);
  g_free (c->phone);
  c->phone = g_strdup ("+44 20 7946 0000");
  g_assert_true (fc_store_update_customer (fx->store, c, &error));
  g_assert_no_error (error);

  patch = next (fx);
  g_assert_cmpint (patch->kind, ==, FC_SYNC_PATCH_FITTING);
  g_assert_cmpstr (patch->path, ==, path);
  g_assert_cmpuint (patch->outbox_ids->len, ==, 8);
  root = body_json (patch);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (json_node_get_object (root),
                                                                                 "customer"), "phone"), ==,
                   "+44 20 7946 0000");
  edits = member_array (root, "shots");
  g_assert_cmpuint (json_array_get_length (edits), ==, 3);
  e = json_array_get_object_element (edits, 0);
  g_assert_cmpstr (json_object_get_string_member (e, "id"), ==, shots->pdata[0]);
  g_assert_false (json_object_get_boolean_member (e, "excluded"));
  g_assert_true (json_object_get_null_member (e, "exclude_reason"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (e, "tags")), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (e, "tags"), 0), ==, "video");
  g_assert_cmpstr (json_object_get_string_member (e, "config_id"), ==, base);
  e = json_array_get_object_element (edits, 1);
  g_assert_true (json_object_get_boolean_member (e, "excluded"));
  g_assert_cmpstr (json_object_get_string_member (e, "exclude_reason"), ==, "topped");
  e = json_array_get_object_element (edits, 2);
  g_assert_cmpstr (json_object_get_string_member (e, "config_id"), ==, test);
  model_apply (m, patch);
  done (fx, patch);
  g_assert_null (next (fx));
  assert_model_equals_store (m, fx);
}

/* A customer edited after its fittings were synced goes as a PATCH of
 * its latest fitting; one no fitting references is settled unsent. */
static void
test_customer_entries (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *customer = add_customer (fx, "Dee");
  g_autofree char *lonely = add_customer (fx, "Eve");
  g_autofree char *a = add_fitting (fx, customer);
  g_autofree char *b = NULL;
  g_autoptr(Model) m = model_new ();
  g_autoptr(FcCustomer) c = NULL;
  g_autoptr(FcSyncRequest) r = NULL;

  g_assert_cmpuint (drain (fx, m), ==, 1);
  g_assert_cmpint (count_sql (fx, "SELECT count(*) FROM outbox"), ==, 0);

  b = add_fitting (fx, customer);
  g_assert_cmpuint (drain (fx, m), ==, 1);
  c = fc_store_get_customer (fx->store, customer, &error);
  g_free (c->notes);
  c->notes = g_strdup ("prefers low spin");
  g_assert_true (fc_store_update_customer (fx->store, c, &error));
  r = next (fx);
  g_assert_cmpint (r->kind, ==, FC_SYNC_PATCH_FITTING);
  g_assert_cmpstr (r->fitting_id, ==, b);
  model_apply (m, r);
  done (fx, r);
  g_assert_null (next (fx));
  g_assert_cmpstr (((FcCustomer *) g_hash_table_lookup (m->customers, customer))->notes, ==, "prefers low spin");
  g_assert_false (g_hash_table_contains (m->customers, lonely));
  assert_model_equals_store (m, fx);
}

/* Customer details reach the database only encrypted, also in a frozen
 * creation body. */
static void
test_pii_not_in_clear (Fixture *fx, gconstpointer data)
{
  g_autofree char *customer = add_customer (fx, "Zelda Quartermain");
  g_autofree char *a = add_fitting (fx, customer);
  g_autoptr(FcSyncRequest) r = next (fx);
  g_autofree char *body = body_text (r);

  g_assert_nonnull (strstr (body, "Zelda Quartermain"));
  g_assert_cmpint (count_sql (fx, "SELECT count(*) FROM outbox WHERE typeof(body) = 'blob'"), ==, 1);
  g_clear_object (&fx->store);
  g_assert_false (pii_db_files_contain (fx->path, "Zelda Quartermain"));
  g_assert_false (pii_db_files_contain (fx->path, "Zelda Quartermain@example.test"));
}

/* ---- keys and crashes ---------------------------------------------------------------- */

static void
test_keys_stable (Fixture *fx, gconstpointer data)
{
  g_autofree char *customer = add_customer (fx, "Fay");
  g_autofree char *a = add_fitting (fx, customer);
  g_autofree char *base = add_config (fx, a, FC_CONFIG_BASELINE);
  g_autoptr(GPtrArray) shots = add_shots (fx, base, 600);
  g_autoptr(FcSyncRequest) create = next (fx);
  g_autoptr(FcSyncRequest) create_again = NULL, batch = NULL, batch_again = NULL, batch2 = NULL;
  g_autofree char *create_body = body_text (create), *again_body = NULL;
  g_autofree char *batch_body = NULL, *batch_again_body = NULL;
  g_autofree char *test = NULL;

  /* A configuration added after the creation was first built stays out
   * of it: the resent creation is byte-identical. */
  test = add_config (fx, a, FC_CONFIG_TEST);
  open_store (fx, TRUE);
  create_again = next (fx);
  again_body = body_text (create_again);
  g_assert_cmpstr (create_again->idempotency_key, ==, create->idempotency_key);
  g_assert_cmpstr (again_body, ==, create_body);
  g_assert_null (strstr (again_body, test));
  done (fx, create_again);

  batch = next (fx);
  batch_body = body_text (batch);
  open_store (fx, TRUE);
  batch_again = next (fx);
  batch_again_body = body_text (batch_again);
  g_assert_cmpstr (batch_again->idempotency_key, ==, batch->idempotency_key);
  g_assert_cmpstr (batch_again_body, ==, batch_body);
  g_assert_cmpuint (batch_again->n_shots, ==, 500);
  done (fx, batch_again);
  batch2 = next (fx);
  g_assert_cmpstr (batch2->idempotency_key, !=, batch->idempotency_key);
  g_assert_cmpuint (batch2->n_shots, ==, 100);
  done (fx, batch2);

  /* The configuration comes after the shots written before it, as a PATCH. */
  {
    g_autoptr(FcSyncRequest) patch = next (fx);
    g_autofree char *text = body_text (patch);

    g_assert_cmpint (patch->kind, ==, FC_SYNC_PATCH_FITTING);
    g_assert_nonnull (strstr (text, test));
    done (fx, patch);
  }
  g_assert_null (next (fx));
}

/* Batch 1 of an import done, then a crash: batch 2 is next, and nothing
 * is lost or sent twice. */
static void
test_crash_resume (Fixture *fx, gconstpointer data)
{
  g_autofree char *a = add_fitting (fx, NULL);
  g_autofree char *base = add_config (fx, a, FC_CONFIG_BASELINE);
  g_autoptr(GPtrArray) imported = import_shots (fx, a, base, 1200);
  g_autoptr(Model) m = model_new ();
  g_autoptr(FcSyncRequest) create = next (fx);
  g_autoptr(FcSyncRequest) first = NULL, second = NULL, second_again = NULL;
  FcSyncQueueStatus status = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = NULL;

  model_apply (m, create);
  done (fx, create);
  first = next (fx);
  g_assert_cmpuint (first->n_shots, ==, 500);
  model_apply (m, first);
  done (fx, first);
  g_assert_true (fc_sync_queue_get_status (fx->store, &status, &error));
  g_assert_cmpuint (status.pending[FC_SYNC_ADD_SHOTS], ==, 700);
  fc_sync_queue_status_clear (&status);

  open_store (fx, TRUE);   /* the crash */
  second = next (fx);
  g_assert_cmpint (second->kind, ==, FC_SYNC_ADD_SHOTS);
  g_assert_cmpuint (second->n_shots, ==, 500);
  root = body_json (second);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (member_array (root, "shots"), 0),
                                                  "id"), ==, imported->pdata[500]);
  /* applied by the cloud, answer lost, crash before done() */
  model_apply (m, second);
  open_store (fx, TRUE);
  second_again = next (fx);
  g_assert_cmpstr (second_again->idempotency_key, ==, second->idempotency_key);
  model_apply (m, second_again);
  done (fx, second_again);
  g_assert_cmpuint (drain (fx, m), ==, 1);
  g_assert_cmpuint (m->shots_received, ==, 1700);
  assert_model_equals_store (m, fx);
}

/* ---- moves between fittings ------------------------------------------------------------ */

static void
test_moved_between_fittings (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = add_fitting (fx, NULL);
  g_autofree char *b = add_fitting (fx, NULL);
  g_autofree char *a_base = add_config (fx, a, FC_CONFIG_BASELINE);
  g_autofree char *b_base = add_config (fx, b, FC_CONFIG_BASELINE);
  g_autoptr(GPtrArray) a_shots = add_shots (fx, a_base, 4);
  g_autoptr(GPtrArray) imported = import_shots (fx, a, a_base, 3);
  g_autoptr(Model) m = model_new ();
  const char *unsent[] = { a_shots->pdata[0], imported->pdata[1], NULL };
  const char *sent[] = { a_shots->pdata[3], NULL };
  g_autoptr(FcSyncRequest) r = NULL;
  g_autoptr(GPtrArray) more = NULL;
  FcSyncQueueStatus status = { 0 };

  /* Not sent yet: it goes to the cloud in the fitting it is in now. */
  g_assert_true (fc_store_move_shots (fx->store, unsent, b_base, &error));
  g_assert_no_error (error);
  drain (fx, m);
  assert_model_equals_store (m, fx);
  g_assert_true (g_hash_table_contains (((ModelFitting *) g_hash_table_lookup (m->fittings, b))->shots,
                                        unsent[0]));
  g_assert_true (g_hash_table_contains (((ModelFitting *) g_hash_table_lookup (m->fittings, b))->shots,
                                        unsent[1]));

  /* Sent already: the cloud cannot move it, so it is parked and says why. */
  g_assert_true (fc_store_move_shots (fx->store, sent, b_base, &error));
  g_assert_null (next (fx));
  g_assert_true (fc_sync_queue_get_status (fx->store, &status, &error));
  g_assert_cmpuint (status.parked, ==, 1);
  g_assert_nonnull (strstr (status.last_error, "cannot move shots between fittings"));
  fc_sync_queue_status_clear (&status);

  /* The other fitting goes on. */
  more = add_shots (fx, a_base, 2);
  r = next (fx);
  g_assert_nonnull (r);
  g_assert_cmpstr (r->fitting_id, ==, a);
  g_assert_cmpuint (r->n_shots, ==, 2);
}

/* ---- status ---------------------------------------------------------------------------- */

static void
test_status (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *customer = add_customer (fx, "Gus");
  g_autofree char *a = add_fitting (fx, customer);
  g_autofree char *b = add_fitting (fx, NULL);
  g_autofree char *base = add_config (fx, a, FC_CONFIG_BASELINE);
  g_autoptr(GPtrArray) live = add_shots (fx, base, 30);
  g_autoptr(GPtrArray) imported = import_shots (fx, a, base, 700);
  g_autofree char *video = g_uuid_string_random ();
  FcSyncQueueStatus status = { 0 };
  gint64 before = g_get_real_time ();

  g_assert_true (fc_store_set_shot_excluded (fx->store, live->pdata[0], TRUE, NULL, &error));
  g_assert_true (fc_store_tag_shot (fx->store, live->pdata[1], "x", TRUE, &error));
  g_assert_true (fc_store_complete_fitting (fx->store, a, &error));
  g_assert_true (fc_sync_queue_add_video (fx->store, a, video, "/v/r.mp4",
                                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                          10, &error));
  g_assert_true (fc_sync_queue_get_status (fx->store, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (status.pending[FC_SYNC_CREATE_FITTING], ==, 2);
  g_assert_cmpuint (status.pending[FC_SYNC_ADD_SHOTS], ==, 730);
  /* customer, configuration, two shot edits */
  g_assert_cmpuint (status.pending[FC_SYNC_PATCH_FITTING], ==, 4);
  g_assert_cmpuint (status.pending[FC_SYNC_COMPLETE_FITTING], ==, 1);
  g_assert_cmpuint (status.pending[FC_SYNC_UPLOAD_VIDEO], ==, 1);
  g_assert_cmpuint (status.parked, ==, 0);
  g_assert_cmpuint (status.waiting_for_key, ==, 0);
  g_assert_cmpint (status.oldest_created_at, >, 0);
  g_assert_cmpint (status.oldest_created_at, <=, before);
  g_assert_null (status.last_error);
  fc_sync_queue_status_clear (&status);

  /* the creation of a (carrying customer and configuration), b's, then
   * a batch of 500: 30 live and 470 of the import */
  for (int i = 0; i < 3; i++)
    {
      g_autoptr(FcSyncRequest) r = next (fx);

      done (fx, r);
    }
  g_assert_true (fc_sync_queue_get_status (fx->store, &status, &error));
  g_assert_cmpuint (status.pending[FC_SYNC_CREATE_FITTING], ==, 0);
  g_assert_cmpuint (status.pending[FC_SYNC_ADD_SHOTS], ==, 230);
  g_assert_cmpuint (status.pending[FC_SYNC_PATCH_FITTING], ==, 2);
  fc_sync_queue_status_clear (&status);

  open_store (fx, FALSE);
  g_assert_true (fc_sync_queue_get_status (fx->store, &status, &error));
  g_assert_cmpuint (status.waiting_for_key, ==, 1);
  fc_sync_queue_status_clear (&status);
}

/* ---- shots the cloud refuses one by one ------------------------------------------------ */

static void
set_aside (Fixture *fx, const FcSyncRequest *r, const char *shot_id, gboolean expected)
{
  g_autoptr(GError) error = NULL;
  gboolean done_it = !expected;

  g_assert_true (fc_sync_queue_set_aside_shot (fx->store, r, shot_id, "invalid_shot", "ball_speed_mps",
                                               "too fast for this cloud", &done_it, &error));
  g_assert_no_error (error);
  g_assert_cmpint (done_it, ==, expected);
}

/* The shot @id of @r's body, or NULL. */
static JsonObject *
body_shot (JsonNode *root, const char *id)
{
  JsonArray *shots = member_array (root, "shots");

  for (guint i = 0; i < json_array_get_length (shots); i++)
    {
      JsonObject *o = json_array_get_object_element (shots, i);

      if (g_strcmp0 (json_object_get_string_member (o, "id"), id) == 0)
        return o;
    }
  return NULL;
}

static void
queue_status (Fixture *fx, FcSyncQueueStatus *status)
{
  g_autoptr(GError) error = NULL;

  fc_sync_queue_status_clear (status);
  g_assert_true (fc_sync_queue_get_status (fx->store, status, &error));
  g_assert_no_error (error);
}

/* A batch refused for one live shot and then for one imported shot: each
 * steps aside with the cloud's reason, everything else goes (their edits
 * included, but the refused shots'), and "Retry" sends them with the
 * state they have then. */
static void
test_set_aside (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = add_fitting (fx, NULL);
  g_autofree char *base = add_config (fx, a, FC_CONFIG_BASELINE);
  g_autoptr(GPtrArray) live = add_shots (fx, base, 20);
  g_autoptr(GPtrArray) imported = import_shots (fx, a, base, 30);
  g_autoptr(Model) m = model_new ();
  g_autoptr(GPtrArray) problems = NULL;
  FcSyncQueueStatus status = { 0 };
  gint64 before;

  {
    g_autoptr(FcSyncRequest) r = next (fx);

    g_assert_cmpint (r->kind, ==, FC_SYNC_CREATE_FITTING);
    model_apply (m, r);
    done (fx, r);
  }
  queue_status (fx, &status);
  g_assert_cmpint (status.last_success_at, >, 0);
  before = status.last_success_at;

  {
    g_autoptr(FcSyncRequest) r = next (fx);
    g_autoptr(JsonNode) root = body_json (r);

    g_assert_cmpint (r->kind, ==, FC_SYNC_ADD_SHOTS);
    g_assert_cmpuint (r->n_shots, ==, 50);
    g_assert_nonnull (body_shot (root, live->pdata[5]));
    /* A shot the batch does not hold is not set aside: park instead. */
    set_aside (fx, r, "0f2d5e8a-3c1b-4e6f-9a7d-2b4c6e8f0a1c", FALSE);
    set_aside (fx, r, NULL, FALSE);
    set_aside (fx, r, live->pdata[5], TRUE);
  }
  queue_status (fx, &status);
  g_assert_cmpuint (status.pending[FC_SYNC_ADD_SHOTS], ==, 49);
  g_assert_cmpuint (status.set_aside, ==, 1);
  g_assert_cmpuint (status.parked, ==, 0);

  /* Edits of the refused shot wait with it; others go. */
  g_assert_true (fc_store_set_shot_excluded (fx->store, live->pdata[5], TRUE, "mishit", &error));
  g_assert_true (fc_store_tag_shot (fx->store, live->pdata[6], "best", TRUE, &error));
  g_assert_no_error (error);

  {
    g_autoptr(FcSyncRequest) r = next (fx);
    g_autoptr(JsonNode) root = body_json (r);

    g_assert_cmpint (r->kind, ==, FC_SYNC_ADD_SHOTS);
    g_assert_cmpuint (r->n_shots, ==, 49);
    g_assert_null (body_shot (root, live->pdata[5]));
    g_assert_nonnull (body_shot (root, imported->pdata[7]));
    set_aside (fx, r, imported->pdata[7], TRUE);
  }
  queue_status (fx, &status);
  g_assert_cmpuint (status.pending[FC_SYNC_ADD_SHOTS], ==, 48);
  g_assert_cmpuint (status.set_aside, ==, 2);

  {
    g_autoptr(FcSyncRequest) r = next (fx);
    g_autoptr(JsonNode) root = body_json (r);

    g_assert_cmpint (r->kind, ==, FC_SYNC_ADD_SHOTS);
    g_assert_cmpuint (r->n_shots, ==, 48);
    g_assert_null (body_shot (root, live->pdata[5]));
    g_assert_null (body_shot (root, imported->pdata[7]));
    model_apply (m, r);
    done (fx, r);
  }
  {
    g_autoptr(FcSyncRequest) r = next (fx);
    g_autoptr(JsonNode) root = body_json (r);
    g_autofree char *text = body_text (r);

    g_assert_cmpint (r->kind, ==, FC_SYNC_PATCH_FITTING);
    g_assert_nonnull (strstr (text, live->pdata[6]));
    g_assert_null (strstr (text, live->pdata[5]));
    model_apply (m, r);
    done (fx, r);
  }
  g_assert_null (next (fx));

  queue_status (fx, &status);
  g_assert_cmpuint (status.pending[FC_SYNC_ADD_SHOTS], ==, 0);
  g_assert_cmpuint (status.set_aside, ==, 2);
  g_assert_cmpint (status.last_success_at, >=, before);
  problems = fc_sync_queue_list_problems (fx->store, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (problems->len, ==, 2);
  for (guint i = 0; i < problems->len; i++)
    {
      FcSyncProblem *p = g_ptr_array_index (problems, i);

      g_assert_true (g_strcmp0 (p->shot_id, live->pdata[5]) == 0 ||
                     g_strcmp0 (p->shot_id, imported->pdata[7]) == 0);
      g_assert_cmpstr (p->fitting_id, ==, a);
      g_assert_cmpstr (p->reason, ==, "too fast for this cloud");
      g_assert_cmpint (p->outbox_id, ==, 0);
      g_assert_cmpint (p->at, >, 0);
    }
  g_clear_pointer (&problems, g_ptr_array_unref);

  /* "Retry": both go again, at the end of the queue, as they are now. */
  g_assert_true (fc_sync_queue_unpark (fx->store, a, &error));
  g_assert_no_error (error);
  queue_status (fx, &status);
  g_assert_cmpuint (status.set_aside, ==, 0);
  g_assert_cmpuint (status.pending[FC_SYNC_ADD_SHOTS], ==, 2);
  {
    g_autoptr(FcSyncRequest) r = next (fx);
    g_autoptr(JsonNode) root = body_json (r);
    JsonObject *o;

    g_assert_cmpint (r->kind, ==, FC_SYNC_ADD_SHOTS);
    g_assert_cmpuint (r->n_shots, ==, 2);
    o = body_shot (root, live->pdata[5]);
    g_assert_nonnull (o);
    g_assert_true (json_object_get_boolean_member (o, "excluded"));
    g_assert_nonnull (body_shot (root, imported->pdata[7]));
    model_apply (m, r);
    done (fx, r);
  }
  g_assert_null (next (fx));
  assert_model_equals_store (m, fx);
  g_assert_cmpint (count_sql (fx, "SELECT count(*) FROM outbox"), ==, 0);
  g_assert_cmpint (count_sql (fx, "SELECT count(*) FROM sync_set_aside"), ==, 0);
  problems = fc_sync_queue_list_problems (fx->store, 10, &error);
  g_assert_cmpuint (problems->len, ==, 0);
  fc_sync_queue_status_clear (&status);
}

/* A shot set aside from an import that is still being sent: retried
 * before the import passed it, the import sends it; retried after, it
 * gets an entry of its own. Either way every shot reaches the cloud once
 * and the counts stay right. */
static void
test_set_aside_mid_import (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = add_fitting (fx, NULL);
  g_autofree char *base = add_config (fx, a, FC_CONFIG_BASELINE);
  g_autoptr(GPtrArray) imported = import_shots (fx, a, base, 1200);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(Model) m = model_new ();
  FcSyncQueueStatus status = { 0 };
  guint requests = 0;

  {
    g_autoptr(FcSyncRequest) r = next (fx);

    g_assert_cmpint (r->kind, ==, FC_SYNC_CREATE_FITTING);
    model_apply (m, r);
    done (fx, r);
  }
  /* Refused for shot 7, retried at once: back in the import. */
  {
    g_autoptr(FcSyncRequest) r = next (fx);

    g_assert_cmpuint (r->n_shots, ==, 500);
    set_aside (fx, r, imported->pdata[7], TRUE);
  }
  g_assert_true (fc_sync_queue_unpark (fx->store, a, &error));
  g_assert_no_error (error);
  queue_status (fx, &status);
  g_assert_cmpuint (status.pending[FC_SYNC_ADD_SHOTS], ==, 1200);
  g_assert_cmpuint (status.set_aside, ==, 0);
  g_assert_cmpint (count_sql (fx, "SELECT count(*) FROM outbox WHERE entity = 'shot'"), ==, 0);

  /* Refused for shot 300; the batch without it goes; retried after. */
  {
    g_autoptr(FcSyncRequest) r = next (fx);
    g_autoptr(JsonNode) root = body_json (r);

    g_assert_nonnull (body_shot (root, imported->pdata[7]));
    set_aside (fx, r, imported->pdata[300], TRUE);
  }
  {
    g_autoptr(FcSyncRequest) r = next (fx);
    g_autoptr(JsonNode) root = body_json (r);
    JsonArray *shots = member_array (root, "shots");

    g_assert_cmpuint (r->n_shots, ==, 500);
    g_assert_null (body_shot (root, imported->pdata[300]));
    for (guint i = 0; i < json_array_get_length (shots); i++)
      g_assert_true (g_hash_table_add (seen, g_strdup (json_object_get_string_member (
                                         json_array_get_object_element (shots, i), "id"))));
    model_apply (m, r);
    done (fx, r);
  }
  g_assert_true (fc_sync_queue_unpark (fx->store, a, &error));
  queue_status (fx, &status);
  g_assert_cmpuint (status.pending[FC_SYNC_ADD_SHOTS], ==, 700);

  for (;; requests++)
    {
      g_autoptr(FcSyncRequest) r = next (fx);
      g_autoptr(JsonNode) root = NULL;
      JsonArray *shots;

      if (r == NULL)
        break;
      g_assert_cmpuint (requests, <, 10);
      g_assert_cmpint (r->kind, ==, FC_SYNC_ADD_SHOTS);
      root = body_json (r);
      shots = member_array (root, "shots");
      for (guint i = 0; i < json_array_get_length (shots); i++)
        if (!g_hash_table_add (seen, g_strdup (json_object_get_string_member (
                                 json_array_get_object_element (shots, i), "id"))))
          g_error ("shot %s sent twice", json_object_get_string_member (json_array_get_object_element (shots, i),
                                                                        "id"));
      model_apply (m, r);
      done (fx, r);
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, 1200);
  g_assert_true (g_hash_table_contains (seen, imported->pdata[7]));
  g_assert_true (g_hash_table_contains (seen, imported->pdata[300]));
  assert_model_equals_store (m, fx);
  queue_status (fx, &status);
  g_assert_cmpuint (status.pending[FC_SYNC_ADD_SHOTS], ==, 0);
  g_assert_cmpint (count_sql (fx, "SELECT count(*) FROM outbox"), ==, 0);
  fc_sync_queue_status_clear (&status);
}

/* Parked entries are listed with their reason; held-back ones are not. */
static void
test_problems (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = add_fitting (fx, NULL);
  g_autofree char *base = add_config (fx, a, FC_CONFIG_BASELINE);
  g_autoptr(GPtrArray) live = add_shots (fx, base, 3);
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(FcSyncRequest) r = next (fx);
  FcSyncProblem *p;

  g_assert_cmpint (r->kind, ==, FC_SYNC_CREATE_FITTING);
  g_assert_true (fc_sync_queue_park (fx->store, r, "fitting_conflict: someone else made it", &error));
  g_assert_no_error (error);
  problems = fc_sync_queue_list_problems (fx->store, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (problems->len, ==, 1);
  p = g_ptr_array_index (problems, 0);
  g_assert_cmpint (p->outbox_id, >, 0);
  g_assert_null (p->shot_id);
  g_assert_cmpstr (p->fitting_id, ==, a);
  g_assert_cmpstr (p->what, ==, "the fitting's creation");
  g_assert_cmpstr (p->reason, ==, "fitting_conflict: someone else made it");
}

/* ---- videos ---------------------------------------------------------------------------- */

static void
test_video_upload_state (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = add_fitting (fx, NULL);
  g_autofree char *video = g_uuid_string_random ();
  const char *sha = "89abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567";
  gint64 expires = fx->clock + G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC;
  g_autoptr(FcSyncRequest) create = NULL, up = NULL, resumed = NULL, fresh = NULL;
  g_autofree char *path = g_strdup_printf ("/api/v1/fittings/%s/videos", a);
  g_autoptr(JsonNode) root = NULL;
  JsonObject *o;

  g_assert_true (fc_store_complete_fitting (fx->store, a, &error));
  g_assert_true (fc_sync_queue_add_video (fx->store, a, video, "/videos/Recap.MP4", sha, 123456789, &error));
  /* the same call again is not a second video; another file is refused */
  g_assert_true (fc_sync_queue_add_video (fx->store, a, video, "/videos/Recap.MP4", sha, 123456789, &error));
  g_assert_false (fc_sync_queue_add_video (fx->store, a, video, "/videos/other.mp4", sha, 5, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_CONFLICT);
  g_clear_error (&error);
  g_assert_false (fc_sync_queue_add_video (fx->store, a, video, "/videos/x.mp4", "XYZ", 5, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  create = next (fx);
  done (fx, create);
  g_clear_pointer (&create, fc_sync_request_free);
  create = next (fx);
  g_assert_cmpint (create->kind, ==, FC_SYNC_COMPLETE_FITTING);
  done (fx, create);

  up = next (fx);
  g_assert_cmpint (up->kind, ==, FC_SYNC_UPLOAD_VIDEO);
  g_assert_cmpstr (up->video_id, ==, video);
  g_assert_cmpstr (up->video_path, ==, "/videos/Recap.MP4");
  g_assert_cmpstr (up->video_sha256, ==, sha);
  g_assert_cmpint (up->video_size, ==, 123456789);
  g_assert_null (up->upload_url);
  g_assert_cmpint (up->upload_offset, ==, 0);
  g_assert_cmpstr (up->method, ==, "POST");
  g_assert_cmpstr (up->path, ==, path);

  g_assert_true (fc_sync_queue_save_upload (fx->store, video, "https://cloud.test/files/abc", 8388608,
                                            expires, &error));
  g_assert_no_error (error);
  open_store (fx, TRUE);
  resumed = next (fx);
  g_assert_cmpstr (resumed->upload_url, ==, "https://cloud.test/files/abc");
  g_assert_cmpint (resumed->upload_offset, ==, 8388608);
  g_assert_cmpint (resumed->upload_expires_at, ==, expires);
  root = body_json (resumed);
  o = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (o, "id"), ==, video);
  g_assert_cmpstr (json_object_get_string_member (o, "upload_url"), ==, "https://cloud.test/files/abc");
  g_assert_cmpstr (json_object_get_string_member (o, "sha256"), ==, sha);
  g_assert_cmpint (json_object_get_int_member (o, "size"), ==, 123456789);
  g_assert_cmpstr (json_object_get_string_member (o, "kind"), ==, "recap");
  g_assert_cmpstr (json_object_get_string_member (o, "content_type"), ==, "video/mp4");

  /* 404/410: forget it and start over */
  g_assert_true (fc_sync_queue_save_upload (fx->store, video, NULL, 8388608, expires, &error));
  fresh = next (fx);
  g_assert_null (fresh->upload_url);
  g_assert_cmpint (fresh->upload_offset, ==, 0);
  g_assert_cmpint (fresh->upload_expires_at, ==, 0);
  g_assert_false (fc_sync_queue_save_upload (fx->store, "no-such-video", "x", 0, 0, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NOT_FOUND);
  g_clear_error (&error);

  done (fx, resumed);
  g_assert_null (next (fx));
  g_assert_cmpint (count_sql (fx, "SELECT count(*) FROM videos WHERE uploaded_at IS NOT NULL"), ==, 1);
}

/* ---- bodies against the contract --------------------------------------------------------- */

typedef struct {
  GHashTable *properties;   /* names */
  GPtrArray  *required;
} Schema;

static void
schema_free (Schema *s)
{
  g_hash_table_unref (s->properties);
  g_ptr_array_unref (s->required);
  g_free (s);
}

static guint
indent_of (const char *line)
{
  guint n = 0;

  while (line[n] == ' ')
    n++;
  return n;
}

/* The property names and required list of components/schemas/@name, as
 * docs/cloud-api.yaml writes them (4-space schema keys, 6-space members,
 * 8-space properties); anything else in that shape fails the test. */
static Schema *
read_schema (char **lines, const char *name)
{
  g_autofree char *key = g_strdup_printf ("    %s:", name);
  Schema *s = g_new0 (Schema, 1);
  guint i = 0;
  gboolean in_props = FALSE;

  s->properties = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->required = g_ptr_array_new_with_free_func (g_free);
  while (lines[i] && strcmp (lines[i], key) != 0)
    i++;
  g_assert_nonnull (lines[i]);
  for (i++; lines[i]; i++)
    {
      const char *line = lines[i];
      guint indent = indent_of (line);
      const char *text = line + indent;

      if (*text == '\0')
        continue;
      if (indent <= 4)
        break;
      if (indent == 6)
        {
          in_props = strcmp (text, "properties:") == 0;
          if (g_str_has_prefix (text, "required: ["))
            {
              g_autofree char *list = g_strndup (text + 11, strlen (text) - 12);
              g_auto(GStrv) names = g_strsplit (list, ",", -1);

              for (guint k = 0; names[k]; k++)
                g_ptr_array_add (s->required, g_strstrip (g_strdup (names[k])));
            }
        }
      else if (indent == 8 && in_props)
        {
          const char *colon = strchr (text, ':');

          g_assert_nonnull (colon);
          g_hash_table_add (s->properties, g_strndup (text, colon - text));
        }
    }
  g_assert_cmpuint (g_hash_table_size (s->properties), >, 0);
  return s;
}

static void
assert_members (JsonObject *o, Schema *s, const char *what)
{
  g_autoptr(GList) members = json_object_get_members (o);

  for (GList *l = members; l; l = l->next)
    if (!g_hash_table_contains (s->properties, l->data))
      g_error ("%s has “%s”, which docs/cloud-api.yaml does not name", what, (const char *) l->data);
  for (guint i = 0; i < s->required->len; i++)
    if (!json_object_has_member (o, g_ptr_array_index (s->required, i)))
      g_error ("%s lacks the required “%s”", what, (const char *) g_ptr_array_index (s->required, i));
}

static void
test_bodies_match_contract (Fixture *fx, gconstpointer data)
{
  g_autofree char *yaml_path = g_test_build_filename (G_TEST_DIST, "..", "docs", "cloud-api.yaml", NULL);
  g_autofree char *yaml = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *customer = add_customer (fx, "Hal");
  g_autofree char *a = add_fitting (fx, customer);
  g_autofree char *base = add_config (fx, a, FC_CONFIG_BASELINE);
  g_autoptr(GPtrArray) shots = add_shots (fx, base, 3);
  g_autoptr(GPtrArray) imported = import_shots (fx, a, base, 2);
  g_autofree char *video = g_uuid_string_random ();
  Schema *create, *fitting, *cust, *config, *meta, *values, *patch, *edit, *attach;
  g_autoptr(GHashTable) shot_names = g_hash_table_new (g_str_hash, g_str_equal);
  Schema shot = { shot_names, NULL };
  guint kinds_seen = 0;

  g_assert_true (g_file_get_contents (yaml_path, &yaml, NULL, &error));
  g_assert_no_error (error);
  lines = g_strsplit (yaml, "\n", -1);
  create = read_schema (lines, "FittingCreate");
  fitting = read_schema (lines, "Fitting");
  cust = read_schema (lines, "Customer");
  config = read_schema (lines, "ClubConfig");
  meta = read_schema (lines, "ShotMetadata");
  values = read_schema (lines, "ShotValues");
  patch = read_schema (lines, "FittingPatch");
  edit = read_schema (lines, "ShotEdit");
  attach = read_schema (lines, "VideoAttach");
  {
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init (&it, meta->properties);
    while (g_hash_table_iter_next (&it, &k, NULL))
      g_hash_table_add (shot_names, k);
    g_hash_table_iter_init (&it, values->properties);
    while (g_hash_table_iter_next (&it, &k, NULL))
      g_hash_table_add (shot_names, k);
    shot.required = meta->required;
  }

  g_assert_true (fc_store_set_shot_excluded (fx->store, shots->pdata[0], TRUE, "mishit", &error));
  g_assert_true (fc_store_complete_fitting (fx->store, a, &error));
  g_assert_true (fc_sync_queue_add_video (fx->store, a, video, "/v/r.mp4",
                                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                          10, &error));
  for (guint n = 0; n < 10; n++)
    {
      g_autoptr(FcSyncRequest) r = next_ready (fx, fx->clock, NULL);
      g_autoptr(JsonNode) root = NULL;
      JsonObject *o;

      if (r == NULL)
        break;
      kinds_seen |= 1u << r->kind;
      root = body_json (r);
      o = json_node_get_object (root);
      switch (r->kind)
        {
        case FC_SYNC_CREATE_FITTING:
          assert_members (o, create, "a creation");
          assert_members (json_object_get_object_member (o, "fitting"), fitting, "a creation's fitting");
          assert_members (json_object_get_object_member (o, "customer"), cust, "a creation's customer");
          g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "configs")), ==, 1);
          assert_members (json_array_get_object_element (json_object_get_array_member (o, "configs"), 0),
                          config, "a creation's configuration");
          break;
        case FC_SYNC_ADD_SHOTS:
          {
            JsonArray *a_shots = json_object_get_array_member (o, "shots");

            g_assert_cmpuint (json_array_get_length (a_shots), ==, 5);
            for (guint i = 0; i < json_array_get_length (a_shots); i++)
              {
                JsonObject *s = json_array_get_object_element (a_shots, i);
                JsonObject *source = json_object_get_object_member (s, "source");

                assert_members (s, &shot, "a shot");
                g_assert_cmpstr (json_object_get_string_member (s, "fitting_id"), ==, a);
                g_assert_true (json_object_has_member (s, "ball_speed_mps"));
                /* unmeasured values are left out, never sent as 0 */
                g_assert_false (json_object_has_member (s, "club_path_deg"));
                g_assert_nonnull (json_object_get_string_member (source, "kind"));
                g_assert_nonnull (json_object_get_string_member (source, "protocol"));
                g_assert_nonnull (json_object_get_string_member (source, "raw_base64"));
              }
          }
          break;
        case FC_SYNC_PATCH_FITTING:
          assert_members (o, patch, "a PATCH");
          assert_members (json_array_get_object_element (json_object_get_array_member (o, "shots"), 0),
                          edit, "a shot edit");
          break;
        case FC_SYNC_COMPLETE_FITTING:
          g_assert_cmpuint (json_object_get_size (o), ==, 1);
          g_assert_nonnull (json_object_get_string_member (o, "completed_at"));
          break;
        case FC_SYNC_UPLOAD_VIDEO:
          assert_members (o, attach, "a video attach call");
          break;
        case FC_SYNC_N_KINDS:
        default:
          g_assert_not_reached ();
        }
      done (fx, r);
    }
  g_assert_cmpuint (kinds_seen, ==, (1u << FC_SYNC_N_KINDS) - 1);

  schema_free (create);
  schema_free (fitting);
  schema_free (cust);
  schema_free (config);
  schema_free (meta);
  schema_free (values);
  schema_free (patch);
  schema_free (edit);
  schema_free (attach);
}

/* ---- numbers ------------------------------------------------------------------------------ */

/* Shot bodies are mostly numbers, and the writer prints the common ones
 * without printf (fc-json-writer.c): its text must stay exactly what
 * the printf search gives, for every kind of double. */
static void
reference_shortest (char *buf, gsize len, double value)
{
  static const char *formats[] = { "%.15g", "%.16g", "%.17g" };

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buf, len, formats[i], value);
      if (g_ascii_strtod (buf, NULL) == value)
        break;
    }
}

static void
test_json_numbers (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261121);
  static const double edges[] = {
    1e-4, 0.0001234, 9.99999e-5, 1e-5, 0.1, 0.7, 1.0, -2.5, 60.3, 0.30000000000000004,
    999999999999999.0, 1e15, 123456789012345.0, 0.000100000000000001, 5e-324,
    1.7976931348623157e308, -0.5, 67.056, 25000.0, -15000.0, 1013.25, 101325.0,
  };
  char fast[G_ASCII_DTOSTR_BUF_SIZE], ref[G_ASCII_DTOSTR_BUF_SIZE];

  for (guint i = 0; i < G_N_ELEMENTS (edges) + 1000000; i++)
    {
      double v;

      if (i < G_N_ELEMENTS (edges))
        v = edges[i];
      else
        switch (i % 4)
          {
          case 0:   /* any bit pattern */
            {
              guint64 bits = ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);

              memcpy (&v, &bits, sizeof v);
              if (!isfinite (v))
                continue;
            }
            break;
          case 1:   /* a decimal with up to 15 digits */
            v = (double) (((gint64) g_rand_int (rand) << 18 ^ g_rand_int (rand)) % 1000000000000000LL)
                / pow (10, g_rand_int_range (rand, 0, 16));
            break;
          case 2:   /* a value converted from other units */
            v = g_rand_int_range (rand, -4000, 4000) / 10.0 * 0.44704;
            break;
          default:
            v = g_rand_double_range (rand, -1, 1) * pow (10, g_rand_int_range (rand, -6, 17));
            break;
          }
      fc_format_double_shortest (fast, sizeof fast, v);
      reference_shortest (ref, sizeof ref, v);
      if (strcmp (fast, ref) != 0)
        g_error ("%.17g is written “%s”, printf gives “%s”", v, fast, ref);
    }
}

/* ---- randomized ----------------------------------------------------------------------- */

typedef struct {
  GPtrArray *fittings;    /* of char* */
  GPtrArray *configs;     /* of char*, parallel: fitting index in config_of */
  GArray    *config_of;
  GPtrArray *customers;
  GPtrArray *shots;       /* of char* */
  GArray    *shot_of;     /* fitting index */
} World;

static void
world_clear (World *w)
{
  g_ptr_array_unref (w->fittings);
  g_ptr_array_unref (w->configs);
  g_array_unref (w->config_of);
  g_ptr_array_unref (w->customers);
  g_ptr_array_unref (w->shots);
  g_array_unref (w->shot_of);
}

static int
pick_config (World *w, GRand *rand, int fitting)
{
  g_autoptr(GArray) mine = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; i < w->configs->len; i++)
    if (g_array_index (w->config_of, int, i) == fitting)
      g_array_append_val (mine, i);
  if (mine->len == 0)
    return -1;
  return g_array_index (mine, int, g_rand_int_range (rand, 0, mine->len));
}

static gboolean
fitting_open (Fixture *fx, const char *id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcFitting) f = fc_store_get_fitting (fx->store, id, &error);

  g_assert_no_error (error);
  return f->status == FC_FITTING_OPEN;
}

/* One random store operation. */
static void
random_operation (Fixture *fx, World *w, Model *m, GRand *rand, gboolean locked)
{
  g_autoptr(GError) error = NULL;
  int op = g_rand_int_range (rand, 0, 100);
  int fi = w->fittings->len ? g_rand_int_range (rand, 0, w->fittings->len) : -1;
  const char *fitting = fi >= 0 ? g_ptr_array_index (w->fittings, fi) : NULL;

  if (op < 6 || fitting == NULL)
    {
      const char *customer = NULL;

      if (w->customers->len && g_rand_int_range (rand, 0, 3))
        customer = g_ptr_array_index (w->customers, g_rand_int_range (rand, 0, w->customers->len));
      g_ptr_array_add (w->fittings, add_fitting (fx, customer));
    }
  else if (op < 10 && !locked)
    {
      g_autofree char *name = g_strdup_printf ("Golfer %u", w->customers->len);

      g_ptr_array_add (w->customers, add_customer (fx, name));
    }
  else if (op < 14 && !locked && w->customers->len)
    {
      const char *id = g_ptr_array_index (w->customers, g_rand_int_range (rand, 0, w->customers->len));
      g_autoptr(FcCustomer) c = fc_store_get_customer (fx->store, id, &error);

      g_free (c->phone);
      c->phone = g_strdup_printf ("+1 555 %04d", g_rand_int_range (rand, 0, 10000));
      c->handicap = g_rand_int_range (rand, 0, 300) / 10.0;
      g_assert_true (fc_store_update_customer (fx->store, c, &error));
    }
  else if (op < 22)
    {
      g_array_append_val (w->config_of, fi);
      g_ptr_array_add (w->configs, add_config (fx, fitting, pick_config (w, rand, fi) < 0 ? FC_CONFIG_BASELINE
                                                                                      : FC_CONFIG_TEST));
    }
  else if (op < 50)
    {
      int ci = pick_config (w, rand, fi);
      g_autoptr(GPtrArray) ids = NULL;

      if (ci < 0)
        return;
      ids = add_shots (fx, g_ptr_array_index (w->configs, ci), g_rand_int_range (rand, 1, 30));
      for (guint i = 0; i < ids->len; i++)
        {
          g_ptr_array_add (w->shots, g_strdup (ids->pdata[i]));
          g_array_append_val (w->shot_of, fi);
        }
    }
  else if (op < 54)
    {
      int ci = pick_config (w, rand, fi);
      g_autoptr(GPtrArray) ids = NULL;

      if (ci < 0)
        return;
      ids = import_shots (fx, fitting, g_ptr_array_index (w->configs, ci), g_rand_int_range (rand, 1, 800));
      for (guint i = 0; i < ids->len; i++)
        {
          g_ptr_array_add (w->shots, g_strdup (ids->pdata[i]));
          g_array_append_val (w->shot_of, fi);
        }
    }
  else if (op < 70 && w->shots->len)
    {
      guint si = g_rand_int_range (rand, 0, w->shots->len);

      g_assert_true (fc_store_set_shot_excluded (fx->store, g_ptr_array_index (w->shots, si),
                                                 g_rand_boolean (rand), g_rand_boolean (rand) ? "mishit" : NULL,
                                                 &error));
    }
  else if (op < 80 && w->shots->len)
    {
      static const char *tags[] = { "best", "toe", "heel", "video" };
      guint si = g_rand_int_range (rand, 0, w->shots->len);

      g_assert_true (fc_store_tag_shot (fx->store, g_ptr_array_index (w->shots, si),
                                        tags[g_rand_int_range (rand, 0, 4)], g_rand_int_range (rand, 0, 3) != 0,
                                        &error));
    }
  else if (op < 88 && w->shots->len)
    {
      guint si = g_rand_int_range (rand, 0, w->shots->len);
      int from = g_array_index (w->shot_of, int, si);
      int to = from;
      int ci;
      const char *ids[] = { g_ptr_array_index (w->shots, si), NULL };
      ModelFitting *mf = g_hash_table_lookup (m->fittings, g_ptr_array_index (w->fittings, from));

      /* Between fittings only while the cloud does not have the shot
       * (the contract cannot move a synced shot; tested on its own). */
      if (g_rand_boolean (rand) && (mf == NULL || !g_hash_table_contains (mf->shots, ids[0])))
        to = g_rand_int_range (rand, 0, w->fittings->len);
      ci = pick_config (w, rand, to);
      if (ci < 0)
        return;
      g_assert_true (fc_store_move_shots (fx->store, ids, g_ptr_array_index (w->configs, ci), &error));
      g_array_index (w->shot_of, int, si) = to;
    }
  else if (op < 92)
    {
      if (fitting_open (fx, fitting))
        g_assert_true (fc_store_complete_fitting (fx->store, fitting, &error));
    }
  else if (op < 95)
    {
      g_autofree char *video = g_uuid_string_random ();
      g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, video, -1);
      g_autofree char *path = g_strdup_printf ("/videos/%s.mp4", video);

      g_assert_true (fc_sync_queue_add_video (fx->store, fitting, video, path, sha,
                                              g_rand_int_range (rand, 1, 1 << 30), &error));
    }
  g_assert_no_error (error);
}

/* Sends up to @budget requests the way a flaky network makes the engine
 * send them: some applied with their answer lost (no done), some lost
 * on the way (retried later), some interrupted by a crash. */
static void
random_drain (Fixture *fx, Model *m, GRand *rand, guint budget, gboolean locked)
{
  for (guint i = 0; i < budget; i++)
    {
      g_autoptr(FcSyncRequest) r = next_ready (fx, fx->clock, NULL);
      g_autoptr(GError) error = NULL;
      int fate = g_rand_int_range (rand, 0, 100);

      if (r == NULL)
        return;
      if (locked)
        {
          g_autoptr(FcFitting) f = fc_store_get_fitting (fx->store, r->fitting_id, &error);

          g_assert_no_error (error);
          g_assert_null (f->customer_id);
        }
      if (fate < 8)
        {
          g_assert_true (fc_sync_queue_retry_later (fx->store, r, fx->clock + G_USEC_PER_SEC, "network", &error));
          continue;
        }
      model_apply (m, r);
      if (fate < 14)
        continue;   /* applied, answer lost: sent again */
      if (fate < 17)
        {
          open_store (fx, !locked);   /* applied, then a crash before done() */
          continue;
        }
      done (fx, r);
    }
}

static void
run_random (Fixture *fx, guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(Model) m = model_new ();
  World w = {
    g_ptr_array_new_with_free_func (g_free), g_ptr_array_new_with_free_func (g_free),
    g_array_new (FALSE, FALSE, sizeof (int)), g_ptr_array_new_with_free_func (g_free),
    g_ptr_array_new_with_free_func (g_free), g_array_new (FALSE, FALSE, sizeof (int)),
  };
  FcSyncQueueStatus status = { 0 };
  g_autoptr(GError) error = NULL;
  gboolean locked = FALSE;
  guint n;

  for (guint step = 0; step < 300; step++)
    {
      if (g_rand_int_range (rand, 0, 40) == 0)
        {
          locked = !locked;
          open_store (fx, !locked);
        }
      random_operation (fx, &w, m, rand, locked);
      if (g_rand_int_range (rand, 0, 4) == 0)
        random_drain (fx, m, rand, g_rand_int_range (rand, 1, 8), locked);
      if (g_rand_int_range (rand, 0, 10) == 0)
        fx->clock += 2 * G_USEC_PER_SEC;
    }

  /* Unlocked, the network back: everything arrives. */
  open_store (fx, TRUE);
  fx->clock += 10 * G_USEC_PER_SEC;
  n = drain (fx, m);
  g_test_message ("seed %u: %u requests at the end, %u in all, %u shots sent", seed, n, m->requests,
                  m->shots_received);
  g_assert_true (fc_sync_queue_get_status (fx->store, &status, &error));
  g_assert_no_error (error);
  for (guint k = 0; k < FC_SYNC_N_KINDS; k++)
    g_assert_cmpuint (status.pending[k], ==, 0);
  g_assert_cmpuint (status.parked, ==, 0);
  fc_sync_queue_status_clear (&status);
  g_assert_cmpint (count_sql (fx, "SELECT count(*) FROM outbox"), ==, 0);
  g_assert_cmpint (count_sql (fx, "SELECT count(*) FROM outbox_totals WHERE entries != 0 OR shots != 0"), ==, 0);
  assert_model_equals_store (m, fx);
  world_clear (&w);
}

static void
test_randomized (Fixture *fx, gconstpointer data)
{
  guint32 seed = GPOINTER_TO_UINT (data);

  run_random (fx, seed);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(name, fn) g_test_add ("/sync-queue/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("set-aside", test_set_aside);
  ADD ("set-aside-mid-import", test_set_aside_mid_import);
  ADD ("problems", test_problems);
  ADD ("order", test_order);
  ADD ("parked-does-not-block", test_parked_does_not_block);
  ADD ("retry-and-park", test_retry_and_park);
  ADD ("retry-with-customer", test_retry_with_customer);
  ADD ("locked-customer", test_locked_customer);
  ADD ("damaged-customer", test_damaged_customer);
  ADD ("batches", test_batches);
  ADD ("merged-edits", test_merged_edits);
  ADD ("customer-entries", test_customer_entries);
  ADD ("pii-not-in-clear", test_pii_not_in_clear);
  ADD ("keys-stable", test_keys_stable);
  ADD ("crash-resume", test_crash_resume);
  ADD ("moved-between-fittings", test_moved_between_fittings);
  ADD ("status", test_status);
  ADD ("video-upload-state", test_video_upload_state);
  ADD ("bodies-match-contract", test_bodies_match_contract);
#undef ADD
  g_test_add_func ("/sync-queue/json-numbers", test_json_numbers);
  for (guint32 seed = 1; seed <= 6; seed++)
    {
      g_autofree char *name = g_strdup_printf ("/sync-queue/randomized/seed-%u", seed);

      g_test_add (name, Fixture, GUINT_TO_POINTER (seed), fixture_setup, test_randomized, fixture_teardown);
    }
  return g_test_run ();
}
