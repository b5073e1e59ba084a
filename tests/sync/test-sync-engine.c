/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * FcSyncEngine against a real fitclip-devcloud and a real gnome-keyring:
 * a store full of fittings drained to the cloud until the cloud holds
 * exactly what the store holds; Retry-After honoured; 5xx and lost
 * answers retried without applying anything twice; a refusal parked
 * while the rest goes on, and sent again on "sync now"; the cloud gone
 * and back; the network gone and back (a GNetworkMonitor double, the
 * boundary the engine listens to); the pairing revoked and made again;
 * the engine stopped in the middle of a request.
 *
 * Each case runs in a g_test_trap_subprocess() child (libsecret keeps
 * one bus per process) with the engine in that process and the cloud in
 * another.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "fc-cloud-client.h"
#include "fc-error.h"
#include "fc-fitting-document.h"
#include "fc-pii-unlock.h"
#include "fc-secret-store.h"
#include "fc-store.h"
#include "fc-sync-engine.h"
#include "fc-sync-queue.h"
#include "keyring-session.h"
#include "sync-cloud.h"

#define SUBPROCESS_TIMEOUT_S 240
#define WAIT_S 60

static KeyringSession *keyring;

/* ---- a GNetworkMonitor double ------------------------------------------- */

#define TEST_TYPE_NETWORK (test_network_get_type ())
G_DECLARE_FINAL_TYPE (TestNetwork, test_network, TEST, NETWORK, GObject)

struct _TestNetwork
{
  GObject  parent_instance;
  gboolean available;
  guint    reach_checks;
};

static void test_network_iface_init (GNetworkMonitorInterface *iface);
static void test_network_initable_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestNetwork, test_network, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, test_network_initable_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_NETWORK_MONITOR, test_network_iface_init))

enum { NET_PROP_0, NET_PROP_AVAILABLE, NET_PROP_METERED, NET_PROP_CONNECTIVITY };

static void
test_network_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  TestNetwork *self = TEST_NETWORK (object);

  switch (prop_id)
    {
    case NET_PROP_AVAILABLE:
      g_value_set_boolean (value, self->available);
      break;
    case NET_PROP_METERED:
      g_value_set_boolean (value, FALSE);
      break;
    case NET_PROP_CONNECTIVITY:
      g_value_set_enum (value, self->available ? G_NETWORK_CONNECTIVITY_FULL : G_NETWORK_CONNECTIVITY_LOCAL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
test_network_can_reach (GNetworkMonitor     *monitor,
                        GSocketConnectable  *connectable,
                        GCancellable        *cancellable,
                        GError             **error)
{
  TestNetwork *self = TEST_NETWORK (monitor);

  g_atomic_int_inc (&self->reach_checks);
  if (!g_atomic_int_get (&self->available))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE, "Network unreachable (test)");
      return FALSE;
    }
  return TRUE;
}

static void
test_network_can_reach_async (GNetworkMonitor     *monitor,
                              GSocketConnectable  *connectable,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (monitor, cancellable, callback, user_data);
  GError *error = NULL;

  if (test_network_can_reach (monitor, connectable, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
test_network_can_reach_finish (GNetworkMonitor  *monitor,
                               GAsyncResult     *result,
                               GError          **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
test_network_iface_init (GNetworkMonitorInterface *iface)
{
  iface->can_reach = test_network_can_reach;
  iface->can_reach_async = test_network_can_reach_async;
  iface->can_reach_finish = test_network_can_reach_finish;
}

static gboolean
test_network_initable (GInitable     *initable,
                       GCancellable  *cancellable,
                       GError       **error)
{
  return TRUE;
}

static void
test_network_initable_init (GInitableIface *iface)
{
  iface->init = test_network_initable;
}

static void
test_network_class_init (TestNetworkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = test_network_get_property;
  g_object_class_override_property (object_class, NET_PROP_AVAILABLE, "network-available");
  g_object_class_override_property (object_class, NET_PROP_METERED, "network-metered");
  g_object_class_override_property (object_class, NET_PROP_CONNECTIVITY, "connectivity");
}

static void
test_network_init (TestNetwork *self)
{
}

static void
test_network_set (TestNetwork *self,
                  gboolean     available)
{
  g_atomic_int_set (&self->available, available);
  g_signal_emit_by_name (self, "network-changed", available);
}

/* ---- a bay: its store, the cloud, the engine ---------------------------- */

typedef struct {
  SyncCloud     *cloud;
  char          *dir;
  char          *db;
  FcStore       *store;       /* the bay's own connection, as the hub has */
  FcCloudClient *client;      /* pairs, and plays the owner's other tools */
  FcSyncEngine  *engine;
  GRand         *rand;
  guint          n_shots;     /* made so far, for unique device shot ids */
  GHashTable    *videos;      /* fitting id -> sha256 */
  guint          status_signals;
  guint          state_notifies;
} Bay;

static void
bay_setup (Bay               *bay,
           const char *const *cloud_args)
{
  g_autoptr(FcSecretStore) secrets = fc_secret_store_new_default ();
  g_autoptr(GError) error = NULL;
  FcCloudClientOptions options = { 0 };

  bay->cloud = sync_cloud_start (cloud_args);
  bay->dir = g_dir_make_tmp ("sync-engine-XXXXXX", &error);
  g_assert_no_error (error);
  bay->db = g_build_filename (bay->dir, "agent.db", NULL);
  bay->store = fc_store_open (bay->db, &error);
  g_assert_no_error (error);
  g_assert_true (fc_pii_unlock_store (bay->store, secrets, NULL, &error));
  g_assert_no_error (error);
  bay->rand = g_rand_new_with_seed (42);
  bay->videos = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  options.base_url = bay->cloud->url;
  options.no_proxy = TRUE;
  options.device_name = "Bay 1 PC";
  bay->client = fc_cloud_client_new (&options, &error);
  g_assert_no_error (error);
}

static void
bay_login (Bay *bay)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  fc_cloud_client_login_async (bay->client, bay->cloud->email, bay->cloud->password, NULL,
                               sync_store_result, &result);
  g_assert_true (fc_cloud_client_pair_finish (bay->client, sync_wait_result (&result, WAIT_S), NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
on_status_changed (FcSyncEngine       *engine,
                   const FcSyncStatus *status,
                   gpointer            user_data)
{
  Bay *bay = user_data;

  bay->status_signals++;
  /* What a tray binds to agrees with what the signal carries. */
  g_assert_cmpint (fc_sync_engine_get_state (engine), ==, status->state);
  g_assert_cmpuint (fc_sync_engine_get_pending (engine), ==, fc_sync_status_total_pending (status));
}

static void
on_state_notify (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  ((Bay *) user_data)->state_notifies++;
}

static void
bay_start_engine (Bay             *bay,
                  GNetworkMonitor *monitor,
                  guint            poll_ms)
{
  FcSyncEngineOptions options = {
    .db_path = bay->db,
    .cloud_url = bay->cloud->url,
    .no_proxy = TRUE,
    /* Retries within a test's patience; the defaults (1 s, 5 min) are
     * checked in test-sync-policy. */
    .backoff_base_us = 50 * 1000,
    .backoff_cap_us = 400 * 1000,
    .poll_interval_ms = poll_ms,
    .network_monitor = monitor,
  };
  g_autoptr(GError) error = NULL;

  g_assert_null (bay->engine);
  bay->engine = fc_sync_engine_new (&options, &error);
  g_assert_no_error (error);
  g_signal_connect (bay->engine, "status-changed", G_CALLBACK (on_status_changed), bay);
  g_signal_connect (bay->engine, "notify::state", G_CALLBACK (on_state_notify), bay);
  fc_sync_engine_start (bay->engine);
}

static void
bay_stop_engine (Bay *bay)
{
  if (bay->engine == NULL)
    return;
  fc_sync_engine_stop (bay->engine);
  g_clear_object (&bay->engine);
}

static void
bay_teardown (Bay *bay)
{
  bay_stop_engine (bay);
  g_clear_object (&bay->client);
  g_clear_object (&bay->store);
  g_clear_pointer (&bay->cloud, sync_cloud_free);
  g_clear_pointer (&bay->rand, g_rand_free);
  g_clear_pointer (&bay->videos, g_hash_table_unref);
  sync_remove_tree (bay->dir);
  g_free (bay->dir);
  g_free (bay->db);
}

static void
add_shots (Bay        *bay,
           const char *fitting_id,
           const char *config_id,
           guint       n,
           GPtrArray  *ids)
{
  while (n > 0)
    {
      guint group = MIN (n, 40);
      g_autoptr(GPtrArray) shots = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_shot_free);
      g_autofree FcAddResult *results = g_new0 (FcAddResult, group);
      g_autoptr(GError) error = NULL;

      for (guint i = 0; i < group; i++)
        {
          FcShot *s = fc_shot_new ();

          s->source_kind = FC_SOURCE_DEVICE;
          s->source_protocol = g_strdup ("open-connect-v1");
          s->device_id = g_strdup ("bay-1-monitor");
          s->device_shot_id = g_strdup_printf ("%u", ++bay->n_shots);
          s->fitting_id = g_strdup (fitting_id);
          s->config_id = g_strdup (config_id);
          s->club = g_strdup ("DR");
          fc_shot_set (s, FC_FIELD_BALL_SPEED, g_rand_double_range (bay->rand, 55.0, 80.0));
          fc_shot_set (s, FC_FIELD_LAUNCH_ANGLE, g_rand_double_range (bay->rand, 8.0, 16.0));
          fc_shot_set (s, FC_FIELD_SPIN_RATE, g_rand_double_range (bay->rand, 1800.0, 3500.0));
          fc_shot_set (s, FC_FIELD_CARRY, g_rand_double_range (bay->rand, 180.0, 260.0));
          g_ptr_array_add (shots, s);
        }
      g_assert_true (fc_store_add_shots (bay->store, (FcShot **) shots->pdata, group, NULL, results, &error));
      g_assert_no_error (error);
      for (guint i = 0; ids && i < group; i++)
        g_ptr_array_add (ids, g_strdup (((FcShot *) shots->pdata[i])->id));
      n -= group;
    }
}

/* A fitting as a fitter makes one: configurations, shots, exclusions
 * (one taken back), tags, a shot moved, completion, a recap video. */
static char *
add_fitting (Bay        *bay,
             const char *customer,
             guint       n_shots,
             gboolean    complete,
             gsize       video_size)
{
  g_autoptr(FcFitting) fitting = fc_fitting_new (FC_FITTING_DRIVER, "Bay 1");
  g_autoptr(FcClubConfig) own = fc_club_config_new (FC_CONFIG_BASELINE, "Own driver");
  g_autoptr(FcClubConfig) test = fc_club_config_new (FC_CONFIG_TEST, "Test head");
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;

  if (customer != NULL)
    {
      g_autoptr(FcCustomer) c = fc_customer_new (customer);

      c->email = g_strdup ("golfer@example.test");
      c->handicap = 12.4;
      g_assert_true (fc_store_add_customer (bay->store, c, &error));
      fitting->customer_id = g_strdup (c->id);
    }
  fitting->fitter = g_strdup ("Sam");
  g_assert_true (fc_store_add_fitting (bay->store, fitting, &error));
  own->fitting_id = g_strdup (fitting->id);
  test->fitting_id = g_strdup (fitting->id);
  test->loft_deg = 9.5;
  g_assert_true (fc_store_add_config (bay->store, own, &error));
  g_assert_true (fc_store_add_config (bay->store, test, &error));
  g_assert_no_error (error);

  add_shots (bay, fitting->id, own->id, n_shots / 2, ids);
  g_assert_true (fc_store_set_active_config (bay->store, fitting->id, test->id, &error));
  add_shots (bay, fitting->id, test->id, n_shots - n_shots / 2, ids);
  for (guint i = 0; i < ids->len; i += 7)
    g_assert_true (fc_store_set_shot_excluded (bay->store, ids->pdata[i], TRUE, "mishit", &error));
  if (ids->len > 7)
    g_assert_true (fc_store_set_shot_excluded (bay->store, ids->pdata[7], FALSE, NULL, &error));
  for (guint i = 3; i < ids->len; i += 11)
    g_assert_true (fc_store_tag_shot (bay->store, ids->pdata[i], "best", TRUE, &error));
  if (ids->len > 2)
    {
      const char *moved[] = { ids->pdata[1], NULL };

      g_assert_true (fc_store_move_shots (bay->store, moved, test->id, &error));
    }
  g_assert_no_error (error);
  if (complete)
    g_assert_true (fc_store_complete_fitting (bay->store, fitting->id, &error));
  if (video_size > 0)
    {
      g_autofree char *name = g_strdup_printf ("recap-%s.mp4", fitting->id);
      g_autofree char *path = g_build_filename (bay->dir, name, NULL);
      g_autofree guint8 *data = g_malloc (video_size);
      g_autofree char *video_id = g_uuid_string_random ();
      g_autofree char *sha = NULL;

      for (gsize i = 0; i < video_size; i++)
        data[i] = (guint8) g_rand_int (bay->rand);
      g_assert_true (g_file_set_contents (path, (char *) data, video_size, NULL));
      sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, video_size);
      g_assert_true (fc_sync_queue_add_video (bay->store, fitting->id, video_id, path, sha, video_size, &error));
      g_hash_table_insert (bay->videos, g_strdup (fitting->id), g_strdup (sha));
    }
  g_assert_no_error (error);
  return g_strdup (fitting->id);
}

/* ---- waiting on the engine ---------------------------------------------- */

typedef gboolean (*StatusCheck) (const FcSyncStatus *status,
                                 gconstpointer       data);

static gboolean
on_wait_tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
wait_status (Bay         *bay,
             StatusCheck  check,
             gconstpointer data,
             const char  *what,
             guint        timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;
  guint tick = g_timeout_add (100, on_wait_tick, NULL);

  while (!check (fc_sync_engine_get_status (bay->engine), data) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  if (!check (fc_sync_engine_get_status (bay->engine), data))
    {
      const FcSyncStatus *s = fc_sync_engine_get_status (bay->engine);

      g_error ("Waited %u s for the engine to be %s; it is %s, %u pending, %u parked, last error: %s",
               timeout_s, what, fc_sync_state_to_string (s->state), fc_sync_status_total_pending (s),
               s->parked, s->last_error ? s->last_error : "none");
    }
}

/* The engine says so, and the outbox agrees (the engine's last status
 * may predate what the test just stored). */
static gboolean
is_drained (const FcSyncStatus *s,
            gconstpointer       data)
{
  FcStore *store = (FcStore *) data;
  FcSyncQueueStatus qs = { 0 };
  g_autoptr(GError) error = NULL;
  guint pending = 0;

  if (s->state != FC_SYNC_STATE_IDLE || fc_sync_status_total_pending (s) != 0 || s->parked != 0)
    return FALSE;
  g_assert_true (fc_sync_queue_get_status (store, &qs, &error));
  for (guint i = 0; i < FC_SYNC_N_KINDS; i++)
    pending += qs.pending[i];
  pending += qs.parked;
  fc_sync_queue_status_clear (&qs);
  return pending == 0;
}

static gboolean
is_state (const FcSyncStatus *s,
          gconstpointer       data)
{
  return (int) s->state == GPOINTER_TO_INT (data);
}

static gboolean
has_failed_once (const FcSyncStatus *s,
                 gconstpointer       data)
{
  return s->last_error != NULL && strstr (s->last_error, data) != NULL;
}

static gboolean
has_parked (const FcSyncStatus *s,
            gconstpointer       data)
{
  return s->parked > 0 && s->state == FC_SYNC_STATE_IDLE;
}

static gboolean
drain (Bay     *bay,
       GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  fc_sync_engine_drain_async (bay->engine, NULL, sync_store_result, &result);
  return fc_sync_engine_drain_finish (bay->engine, sync_wait_result (&result, WAIT_S), error);
}

/* ---- the cloud holds what the store holds ------------------------------- */

/* Every fitting of the store (but @except) is in the cloud as the
 * store's export has it. */
static void
assert_cloud_has_store (Bay        *bay,
                        const char *except)
{
  g_autoptr(GPtrArray) exports = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_autoptr(GPtrArray) fittings = NULL;
  g_autoptr(GError) error = NULL;

  fittings = fc_store_list_fittings (bay->store, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < fittings->len; i++)
    {
      FcFitting *f = g_ptr_array_index (fittings, i);
      g_autoptr(FcFittingDocument) doc = NULL;
      g_autofree char *text = NULL;

      if (g_strcmp0 (f->id, except) == 0)
        continue;
      doc = fc_store_load_document (bay->store, f->id, &error);
      g_assert_no_error (error);
      text = fc_fitting_document_to_json (doc, NULL);
      g_ptr_array_add (exports, sync_parse_json (text));
    }
  sync_assert_cloud_has (bay->cloud, exports, bay->videos);
}

static guint
fault_count (Bay        *bay,
             const char *fault)
{
  g_autoptr(JsonNode) faults = sync_cloud_admin (bay->cloud, "GET", "/_admin/faults", NULL);
  JsonNode *n = sync_json_at (faults, "counts");

  n = n ? json_object_get_member (json_node_get_object (n), fault) : NULL;
  return n ? (guint) json_node_get_int (n) : 0;
}

static void
set_faults (Bay        *bay,
            const char *json)
{
  g_autoptr(JsonNode) answer = sync_cloud_admin (bay->cloud, "POST", "/_admin/faults", json);
}

/* ---- cases -------------------------------------------------------------- */

static void
test_drain (void)
{
  Bay bay = { 0 };
  g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
  g_autoptr(GError) error = NULL;
  const FcSyncStatus *s;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  bay_setup (&bay, NULL);
  a = add_fitting (&bay, "Robin Locksley", 620, TRUE, 300 * 1024 + 17);
  b = add_fitting (&bay, NULL, 45, TRUE, 0);
  c = add_fitting (&bay, "Marian Fitzwalter", 12, FALSE, 0);
  bay_login (&bay);
  bay_start_engine (&bay, NULL, 0);
  wait_status (&bay, is_drained, bay.store, "drained", WAIT_S);
  assert_cloud_has_store (&bay, NULL);

  s = fc_sync_engine_get_status (bay.engine);
  g_assert_cmpuint (s->sent_shots, ==, 620 + 45 + 12);
  g_assert_cmpuint (s->sent_videos, ==, 1);
  g_assert_cmpint (s->last_success, >, 0);
  g_assert_true (s->online);
  g_assert_true (s->paired);
  g_assert_null (s->last_error);
  g_assert_false (fc_sync_engine_get_needs_pairing (bay.engine));
  g_assert_cmpint (fc_sync_engine_get_last_success (bay.engine), ==, s->last_success);
  g_assert_cmpuint (bay.status_signals, >, 0);
  g_assert_cmpuint (bay.state_notifies, >, 0);

  /* Later changes of another connection (the hub's) wake the engine
   * through PRAGMA data_version. */
  d = add_fitting (&bay, NULL, 30, TRUE, 0);
  {
    g_autoptr(GPtrArray) more = g_ptr_array_new_with_free_func (g_free);
    g_autoptr(GPtrArray) configs = fc_store_list_configs (bay.store, c, &error);

    add_shots (&bay, c, ((FcClubConfig *) configs->pdata[0])->id, 7, more);
    g_assert_true (fc_store_complete_fitting (bay.store, c, &error));
  }
  wait_status (&bay, is_drained, bay.store, "drained again", WAIT_S);
  assert_cloud_has_store (&bay, NULL);
  g_assert_cmpuint (fc_sync_engine_get_status (bay.engine)->sent_shots, ==, 620 + 45 + 12 + 30 + 7);

  /* A drain with nothing to send succeeds at once. */
  g_assert_true (drain (&bay, &error));
  g_assert_no_error (error);
  bay_teardown (&bay);
}

/* fc_sync_engine_wake() alone brings new rows, with the database watch
 * as good as off. */
static void
test_wake (void)
{
  Bay bay = { 0 };
  g_autofree char *a = NULL, *b = NULL;
  g_autoptr(JsonNode) dump = NULL;
  gint64 deadline;
  gboolean there = FALSE;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  bay_setup (&bay, NULL);
  a = add_fitting (&bay, NULL, 10, TRUE, 0);
  bay_login (&bay);
  bay_start_engine (&bay, NULL, 600 * 1000);
  /* The engine drains at start without being woken. */
  deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  while (sync_cloud_sql_int (bay.cloud, "SELECT COUNT(*) FROM shots") < 10 && g_get_monotonic_time () < deadline)
    g_usleep (100 * 1000);
  g_assert_cmpint (sync_cloud_sql_int (bay.cloud, "SELECT COUNT(*) FROM shots"), ==, 10);

  b = add_fitting (&bay, NULL, 5, TRUE, 0);
  g_usleep (1500 * 1000);
  g_assert_cmpint (sync_cloud_sql_int (bay.cloud, "SELECT COUNT(*) FROM shots"), ==, 10);
  fc_sync_engine_wake (bay.engine);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!there && g_get_monotonic_time () < deadline)
    {
      there = sync_cloud_sql_int (bay.cloud, "SELECT COUNT(*) FROM shots") == 15 &&
              sync_cloud_sql_int (bay.cloud, "SELECT COUNT(*) FROM fittings WHERE status = 'completed'") == 2;
      g_usleep (100 * 1000);
    }
  g_assert_true (there);
  bay_teardown (&bay);
}

static void
test_retry_after (void)
{
  Bay bay = { 0 };
  g_autofree char *a = NULL;
  const FcSyncStatus *s;
  gint64 failed_at, sent_at;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  bay_setup (&bay, NULL);
  a = add_fitting (&bay, NULL, 20, TRUE, 0);
  bay_login (&bay);
  set_faults (&bay, "{\"fail_429\":1,\"retry_after\":3}");
  bay_start_engine (&bay, NULL, 0);
  wait_status (&bay, has_failed_once, "rate_limited", "refused with 429", WAIT_S);
  failed_at = g_get_real_time ();
  s = fc_sync_engine_get_status (bay.engine);
  /* Its own backoff would say 50 ms at most; the server said 3 s. */
  g_assert_cmpint (s->next_attempt - failed_at, >, 2 * G_USEC_PER_SEC);
  g_usleep (500 * 1000);
  set_faults (&bay, "{\"fail_429\":0}");
  wait_status (&bay, is_drained, bay.store, "drained", WAIT_S);
  sent_at = g_get_real_time ();
  g_assert_cmpint (sent_at - failed_at, >=, 2 * G_USEC_PER_SEC);
  /* One 429 (the access token's refresh, or the create), not a storm. */
  g_assert_cmpuint (fault_count (&bay, "fail_429"), <=, 2);
  assert_cloud_has_store (&bay, NULL);
  bay_teardown (&bay);
}

static void
test_server_errors (void)
{
  Bay bay = { 0 };
  g_autofree char *a = NULL, *b = NULL;
  guint count;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  bay_setup (&bay, NULL);
  a = add_fitting (&bay, "Will Scarlet", 700, TRUE, 200 * 1024);
  b = add_fitting (&bay, NULL, 80, TRUE, 0);
  bay_login (&bay);
  set_faults (&bay, "{\"fail_500\":1}");
  bay_start_engine (&bay, NULL, 0);
  wait_status (&bay, has_failed_once, "HTTP 500", "failed with 500", WAIT_S);
  wait_status (&bay, is_state, GINT_TO_POINTER (FC_SYNC_STATE_WAITING), "waiting to retry", WAIT_S);
  /* Backing off, but trying: a few more in a second (50 ms .. 400 ms). */
  g_usleep (1500 * 1000);
  count = fault_count (&bay, "fail_500");
  g_assert_cmpuint (count, >=, 3);
  g_assert_cmpuint (count, <=, 60);
  g_assert_cmpint (sync_cloud_sql_int (bay.cloud, "SELECT COUNT(*) FROM fittings"), ==, 0);

  /* Lost and cut answers: the cloud did the work, we never heard. The
   * same request goes again under the same key; nothing doubles. */
  set_faults (&bay, "{\"fail_500\":0,\"seed\":5,\"lose_response\":0.3,\"drop_response\":0.2,\"drop_request\":0.1}");
  wait_status (&bay, is_drained, bay.store, "drained through faults", 120);
  g_assert_cmpuint (fault_count (&bay, "lose_response") + fault_count (&bay, "drop_response"), >, 0);
  set_faults (&bay, "{\"lose_response\":0,\"drop_response\":0,\"drop_request\":0}");
  assert_cloud_has_store (&bay, NULL);
  bay_teardown (&bay);
}

/* A refusal parks its fitting; the others go on; "sync now" sends it
 * again once the cause is gone. */
static void
test_park (void)
{
  Bay bay = { 0 };
  g_autofree char *a = NULL, *b = NULL, *body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcFittingDocument) doc = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(FcCloudResponse) r = NULL;
  g_autofree char *delete = NULL;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  bay_setup (&bay, NULL);
  a = add_fitting (&bay, NULL, 25, TRUE, 0);
  b = add_fitting (&bay, NULL, 40, TRUE, 0);
  bay_login (&bay);

  /* Someone already made fitting a in the cloud, with other content. */
  doc = fc_store_load_document (bay.store, a, &error);
  g_assert_no_error (error);
  g_free (doc->fitting->bay);
  doc->fitting->bay = g_strdup ("Bay 9");
  doc->fitting->status = FC_FITTING_OPEN;
  doc->fitting->completed_at = 0;
  {
    g_autofree char *text = fc_fitting_document_to_json (doc, NULL);
    g_autoptr(JsonNode) root = sync_parse_json (text);
    JsonObject *o = json_node_get_object (root);
    g_autofree char *fitting = json_to_string (json_object_get_member (o, "fitting"), FALSE);

    body = g_strdup_printf ("{\"fitting\":%s,\"customer\":null,\"configs\":[]}", fitting);
  }
  {
    g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

    fc_cloud_client_send_async (bay.client, "POST", "/api/v1/fittings", bytes, "someone-else", NULL,
                                sync_store_result, &result);
    r = fc_cloud_client_send_finish (bay.client, sync_wait_result (&result, WAIT_S), &error);
    g_assert_no_error (error);
    g_assert_cmpint (r->outcome, ==, FC_CLOUD_SUCCESS);
  }

  bay_start_engine (&bay, NULL, 0);
  wait_status (&bay, has_parked, NULL, "parked", WAIT_S);
  g_assert_nonnull (strstr (fc_sync_engine_get_last_error (bay.engine), "fitting_conflict"));
  g_assert_cmpuint (fc_sync_engine_get_parked (bay.engine), >, 0);
  /* The other fitting went through. */
  assert_cloud_has_store (&bay, a);

  /* "Sync now" while the cause is there: parked again, and it says so. */
  g_assert_false (drain (&bay, &error));
  g_assert_nonnull (strstr (error->message, "parked"));
  g_assert_nonnull (strstr (error->message, "fitting_conflict"));
  g_clear_error (&error);

  /* The owner removes the stray fitting in the cloud. */
  delete = g_strdup_printf ("DELETE FROM fittings WHERE id = '%s'", a);
  sync_cloud_sql (bay.cloud, delete);
  g_assert_true (drain (&bay, &error));
  g_assert_no_error (error);
  assert_cloud_has_store (&bay, NULL);
  g_assert_cmpuint (fc_sync_engine_get_status (bay.engine)->parked, ==, 0);
  bay_teardown (&bay);
}

static gboolean
has_set_aside (const FcSyncStatus *s,
               gconstpointer       data)
{
  return s->set_aside == GPOINTER_TO_UINT (data) && s->state == FC_SYNC_STATE_IDLE &&
         fc_sync_status_total_pending (s) == 0;
}

/* A cloud stricter than the agent refuses one shot of a batch: that shot
 * alone waits, visibly, with its edits; the rest of the fitting —
 * shots, edits, completion — goes on. Once the cloud takes it, "sync
 * now" sends it with the state it has then. */
static void
test_set_aside (void)
{
  Bay bay = { 0 };
  g_autofree char *a = NULL;
  g_autofree char *count_sql = NULL, *fast_sql = NULL, *completed_sql = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(FcShot) fast = fc_shot_new ();
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(FcFittingDocument) doc = NULL;
  FcShot *shots[1] = { fast };
  FcAddResult result;
  FcSyncProblem *p;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  bay_setup (&bay, (const char *const[]) { "--max-ball-speed", "85", NULL });
  a = add_fitting (&bay, "Lee", 60, FALSE, 0);
  doc = fc_store_load_document (bay.store, a, &error);
  g_assert_no_error (error);

  /* 90 m/s: a long hitter, real to the agent, too fast for this cloud. */
  fast->source_kind = FC_SOURCE_DEVICE;
  fast->source_protocol = g_strdup ("open-connect-v1");
  fast->device_id = g_strdup ("bay-1-monitor");
  fast->device_shot_id = g_strdup ("fast-1");
  fast->fitting_id = g_strdup (a);
  fast->config_id = g_strdup (((FcClubConfig *) g_ptr_array_index (doc->configs, 0))->id);
  fc_shot_set (fast, FC_FIELD_BALL_SPEED, 90.0);
  fc_shot_set (fast, FC_FIELD_CARRY, 290.0);
  g_assert_true (fc_store_add_shots (bay.store, shots, 1, NULL, &result, &error));
  g_assert_no_error (error);
  add_shots (&bay, a, fast->config_id, 5, NULL);
  g_assert_true (fc_store_tag_shot (bay.store, fast->id, "longest", TRUE, &error));
  g_assert_true (fc_store_complete_fitting (bay.store, a, &error));
  g_assert_no_error (error);

  bay_login (&bay);
  bay_start_engine (&bay, NULL, 0);
  wait_status (&bay, has_set_aside, GUINT_TO_POINTER (1), "drained but one shot", WAIT_S);

  count_sql = g_strdup_printf ("SELECT count(*) FROM shots WHERE fitting_id = '%s'", a);
  fast_sql = g_strdup_printf ("SELECT count(*) FROM shots WHERE id = '%s'", fast->id);
  completed_sql = g_strdup_printf ("SELECT count(*) FROM fittings WHERE id = '%s' AND status = 'completed'", a);
  g_assert_cmpint (sync_cloud_sql_int (bay.cloud, count_sql), ==, 65);
  g_assert_cmpint (sync_cloud_sql_int (bay.cloud, fast_sql), ==, 0);
  g_assert_cmpint (sync_cloud_sql_int (bay.cloud, completed_sql), ==, 1);
  problems = fc_sync_queue_list_problems (bay.store, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (problems->len, ==, 1);
  p = g_ptr_array_index (problems, 0);
  g_assert_cmpuint (fc_sync_engine_get_set_aside (bay.engine), ==, 1);
  g_assert_cmpstr (p->shot_id, ==, fast->id);
  g_assert_cmpstr (p->fitting_id, ==, a);
  g_assert_nonnull (strstr (p->reason, "ball_speed_mps"));

  /* "Sync now" while the cloud still refuses it: it says so. */
  g_assert_false (drain (&bay, &error));
  g_assert_nonnull (strstr (error->message, "1 shot was refused"));
  g_assert_nonnull (strstr (error->message, fast->id));
  g_clear_error (&error);

  /* The cloud lifts its limit; the fitter edits the shot, then retries. */
  set_faults (&bay, "{\"max_ball_speed_mps\": 0}");
  g_assert_true (fc_store_set_shot_excluded (bay.store, fast->id, TRUE, "topped", &error));
  g_assert_true (drain (&bay, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fc_sync_engine_get_status (bay.engine)->set_aside, ==, 0);
  assert_cloud_has_store (&bay, NULL);
  bay_teardown (&bay);
}

static gboolean
has_parked_entry (const FcSyncStatus *s,
                  gconstpointer       data)
{
  return s->parked > 0;
}

/* The owner deletes a synced fitting in the cloud; the fitter edits it
 * afterwards. The cloud's 404 looks like an ordering wait at first; after
 * ORDERING_PATIENCE tries the edit is parked with the reason, and other
 * fittings were never held back. The last success survives a restart. */
static void
test_ordering_patience (void)
{
  Bay bay = { 0 };
  g_autofree char *a = NULL, *b = NULL, *delete = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) shots = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  gint64 last_success;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  bay_setup (&bay, NULL);
  a = add_fitting (&bay, NULL, 10, TRUE, 0);
  bay_login (&bay);
  bay_start_engine (&bay, NULL, 0);
  wait_status (&bay, is_drained, bay.store, "drained", WAIT_S);
  last_success = fc_sync_engine_get_last_success (bay.engine);
  g_assert_cmpint (last_success, >, 0);

  /* Another run of the agent knows when sync last worked. */
  bay_stop_engine (&bay);
  bay_start_engine (&bay, NULL, 0);
  wait_status (&bay, is_drained, bay.store, "drained after a restart", WAIT_S);
  g_assert_cmpint (fc_sync_engine_get_last_success (bay.engine), >=, last_success);

  delete = g_strdup_printf ("DELETE FROM shots WHERE fitting_id = '%s'; DELETE FROM configs WHERE fitting_id = '%s';"
                            " DELETE FROM fittings WHERE id = '%s'", a, a, a);
  sync_cloud_sql (bay.cloud, delete);
  shots = fc_store_list_shots (bay.store, a, &error);
  g_assert_no_error (error);
  g_assert_true (fc_store_set_shot_excluded (bay.store, ((FcShot *) shots->pdata[2])->id, TRUE, "shank", &error));
  g_assert_no_error (error);
  fc_sync_engine_wake (bay.engine);
  b = add_fitting (&bay, NULL, 10, TRUE, 0);
  fc_sync_engine_wake (bay.engine);

  wait_status (&bay, has_parked_entry, NULL, "parked", WAIT_S);
  g_assert_nonnull (strstr (fc_sync_engine_get_last_error (bay.engine), "fitting_not_found"));
  g_assert_nonnull (strstr (fc_sync_engine_get_last_error (bay.engine), "12 tries"));
  problems = fc_sync_queue_list_problems (bay.store, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_cmpstr (((FcSyncProblem *) problems->pdata[0])->fitting_id, ==, a);
  g_assert_cmpint (((FcSyncProblem *) problems->pdata[0])->outbox_id, >, 0);
  /* b went through meanwhile. */
  wait_status (&bay, has_parked, NULL, "idle with one parked", WAIT_S);
  assert_cloud_has_store (&bay, a);
  bay_teardown (&bay);
}

/* The cloud goes away mid-drain, shots keep coming, the cloud comes back. */
static void
test_offline (void)
{
  Bay bay = { 0 };
  g_autofree char *a = NULL, *b = NULL;
  g_autoptr(GError) error = NULL;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  bay_setup (&bay, NULL);
  a = add_fitting (&bay, NULL, 30, TRUE, 0);
  bay_login (&bay);
  bay_start_engine (&bay, NULL, 0);
  wait_status (&bay, is_drained, bay.store, "drained", WAIT_S);

  sync_cloud_halt (bay.cloud);
  b = add_fitting (&bay, "Friar Tuck", 90, TRUE, 64 * 1024);
  wait_status (&bay, has_failed_once, "cannot be reached", "failing to connect", WAIT_S);
  g_assert_false (fc_sync_engine_get_online (bay.engine));
  wait_status (&bay, is_state, GINT_TO_POINTER (FC_SYNC_STATE_WAITING), "waiting to retry", WAIT_S);
  g_assert_cmpuint (fc_sync_engine_get_pending (bay.engine), >, 0);
  /* "Sync now" while offline fails with the reason, quickly. */
  g_assert_false (drain (&bay, &error));
  g_assert_nonnull (strstr (error->message, "cannot be reached"));
  g_clear_error (&error);

  sync_cloud_resume (bay.cloud);
  wait_status (&bay, is_drained, bay.store, "drained after the cloud came back", WAIT_S);
  g_assert_true (fc_sync_engine_get_online (bay.engine));
  assert_cloud_has_store (&bay, NULL);
  bay_teardown (&bay);
}

/* No network route: paused, not failing; the route back wakes it. */
static void
test_network_monitor (void)
{
  Bay bay = { 0 };
  g_autoptr(TestNetwork) network = g_object_new (TEST_TYPE_NETWORK, NULL);
  g_autofree char *a = NULL;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  bay_setup (&bay, NULL);
  a = add_fitting (&bay, NULL, 15, TRUE, 0);
  bay_login (&bay);
  bay_start_engine (&bay, G_NETWORK_MONITOR (network), 0);
  wait_status (&bay, is_state, GINT_TO_POINTER (FC_SYNC_STATE_OFFLINE), "offline", WAIT_S);
  g_assert_false (fc_sync_engine_get_online (bay.engine));
  g_usleep (1000 * 1000);
  g_assert_cmpint (sync_cloud_sql_int (bay.cloud, "SELECT COUNT(*) FROM fittings"), ==, 0);
  g_assert_cmpuint (g_atomic_int_get (&network->reach_checks), >=, 1);

  test_network_set (network, TRUE);
  wait_status (&bay, is_drained, bay.store, "drained once online", WAIT_S);
  assert_cloud_has_store (&bay, NULL);

  /* Gone again: a new fitting waits. */
  test_network_set (network, FALSE);
  wait_status (&bay, is_state, GINT_TO_POINTER (FC_SYNC_STATE_OFFLINE), "offline again", WAIT_S);
  g_free (a);
  a = add_fitting (&bay, NULL, 5, TRUE, 0);
  g_usleep (1500 * 1000);
  g_assert_cmpint (sync_cloud_sql_int (bay.cloud, "SELECT COUNT(*) FROM fittings"), ==, 1);
  test_network_set (network, TRUE);
  wait_status (&bay, is_drained, bay.store, "drained once online again", WAIT_S);
  assert_cloud_has_store (&bay, NULL);
  bay_teardown (&bay);
}

/* The owner revokes this PC: "pair again", nothing lost, and pairing
 * again (by code, from another program) resumes the sync. */
static void
test_pairing_gone (void)
{
  Bay bay = { 0 };
  g_autofree char *a = NULL, *b = NULL, *code = NULL, *out = NULL;
  g_autoptr(JsonNode) dump = NULL;
  g_autoptr(GError) error = NULL;
  const char *device_id;
  FcSyncQueueStatus qs = { 0 };

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  bay_setup (&bay, NULL);
  a = add_fitting (&bay, NULL, 10, TRUE, 0);
  /* Not paired at all: the engine says so and waits. */
  bay_start_engine (&bay, NULL, 0);
  wait_status (&bay, is_state, GINT_TO_POINTER (FC_SYNC_STATE_NEEDS_PAIRING), "waiting for a pairing", WAIT_S);
  g_assert_true (fc_sync_engine_get_needs_pairing (bay.engine));
  g_assert_nonnull (strstr (fc_sync_engine_get_last_error (bay.engine), "not paired"));
  g_assert_false (drain (&bay, &error));
  g_assert_nonnull (strstr (error->message, "not paired"));
  g_clear_error (&error);

  /* Paired by another program: picked up without a restart. */
  bay_login (&bay);
  wait_status (&bay, is_drained, bay.store, "drained once paired", WAIT_S);
  assert_cloud_has_store (&bay, NULL);

  dump = sync_cloud_dump (bay.cloud);
  device_id = json_node_get_string (sync_json_at (json_array_get_element (
    json_node_get_array (sync_json_at (dump, "devices")), 0), "id"));
  out = sync_cloud_run ("revoke-device", "--db", bay.cloud->db, "--device-id", device_id, NULL);
  b = add_fitting (&bay, NULL, 20, TRUE, 0);
  wait_status (&bay, is_state, GINT_TO_POINTER (FC_SYNC_STATE_NEEDS_PAIRING), "needing a new pairing", WAIT_S);
  g_assert_true (fc_sync_engine_get_needs_pairing (bay.engine));
  g_assert_nonnull (strstr (fc_sync_engine_get_last_error (bay.engine), "pair it again"));
  /* Nothing lost, nothing parked: it all waits. */
  g_assert_true (fc_sync_queue_get_status (bay.store, &qs, &error));
  g_assert_cmpuint (qs.pending[FC_SYNC_ADD_SHOTS] + qs.pending[FC_SYNC_CREATE_FITTING], >, 0);
  g_assert_cmpuint (qs.parked, ==, 0);
  fc_sync_queue_status_clear (&qs);

  code = sync_cloud_pair_code (bay.cloud);
  {
    g_autoptr(FcCloudClient) ctl = NULL;
    FcCloudClientOptions options = { .base_url = bay.cloud->url, .no_proxy = TRUE };
    g_autoptr(GAsyncResult) result = NULL;

    ctl = fc_cloud_client_new (&options, &error);
    fc_cloud_client_pair_async (ctl, code, NULL, sync_store_result, &result);
    g_assert_true (fc_cloud_client_pair_finish (ctl, sync_wait_result (&result, WAIT_S), NULL, NULL, &error));
    g_assert_no_error (error);
  }
  wait_status (&bay, is_drained, bay.store, "drained after pairing again", WAIT_S);
  g_assert_false (fc_sync_engine_get_needs_pairing (bay.engine));
  assert_cloud_has_store (&bay, NULL);
  bay_teardown (&bay);
}

/* Stopped while a request is on the way (a slow cloud): the stop does
 * not wait for it, and the next engine finishes the job. */
static void
test_stop_mid_request (void)
{
  const char *args[] = { "--slow-ms", "1500", NULL };
  Bay bay = { 0 };
  g_autofree char *a = NULL;
  gint64 started;

  if (!sync_in_keyring_child (keyring, SUBPROCESS_TIMEOUT_S))
    return;
  bay_setup (&bay, args);
  a = add_fitting (&bay, NULL, 260, TRUE, 0);
  bay_login (&bay);
  bay_start_engine (&bay, NULL, 0);
  wait_status (&bay, is_state, GINT_TO_POINTER (FC_SYNC_STATE_SENDING), "sending", WAIT_S);
  g_usleep (300 * 1000);
  started = g_get_monotonic_time ();
  bay_stop_engine (&bay);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 1200 * 1000);

  bay_start_engine (&bay, NULL, 0);
  wait_status (&bay, is_drained, bay.store, "drained by the next engine", 90);
  assert_cloud_has_store (&bay, NULL);
  bay_teardown (&bay);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  keyring_trap_init ();
  g_test_init (&argc, &argv, NULL);
  if (!g_test_subprocess ())
    {
      keyring = keyring_session_start (KEYRING_UNLOCKED, &error);
      g_assert_no_error (error);
    }
  g_test_add_func ("/sync-engine/drain", test_drain);
  g_test_add_func ("/sync-engine/wake", test_wake);
  g_test_add_func ("/sync-engine/retry-after", test_retry_after);
  g_test_add_func ("/sync-engine/server-errors", test_server_errors);
  g_test_add_func ("/sync-engine/park", test_park);
  g_test_add_func ("/sync-engine/set-aside", test_set_aside);
  g_test_add_func ("/sync-engine/ordering-patience", test_ordering_patience);
  g_test_add_func ("/sync-engine/offline", test_offline);
  g_test_add_func ("/sync-engine/network-monitor", test_network_monitor);
  g_test_add_func ("/sync-engine/pairing-gone", test_pairing_gone);
  g_test_add_func ("/sync-engine/stop-mid-request", test_stop_mid_request);
  status = g_test_run ();
  if (keyring)
    keyring_session_stop (keyring);
  keyring_trap_cleanup ();
  return status;
}
