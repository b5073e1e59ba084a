/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Customer PII at rest: only ciphertext reaches SQLite (checked in the
 * file's bytes), a locked store keeps fittings and shots working, the
 * wrong key and moved values are refused, and the key round-trips
 * through a real keyring.
 */
#include <sqlite3.h>
#include <string.h>

#include "fc-aes-gcm-cipher.h"
#include "fc-error.h"
#include "fc-fitting-document.h"
#include "fc-pii-unlock.h"
#include "fc-secret-store.h"
#include "fc-store.h"
#include "keyring-session.h"
#include "pii-helpers.h"

#define SUBPROCESS_TIMEOUT_US (120 * G_USEC_PER_SEC)

/* Strings that must never appear in the database files. */
#define NAME   "Quentin Plaintextsson"
#define EMAIL  "quentin.canary@example.org"
#define PHONE  "+1 555 0199 4242"
#define NOTES  "Prefers stiff shafts; canary-notes-91"
#define EMAIL2 "q.second-canary@example.net"

typedef struct {
  char    *dir;
  char    *path;
  FcStore *store;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("fitclip-pii-XXXXXX", NULL);
  fx->path = g_build_filename (fx->dir, "fitclip.db", NULL);
  fx->store = fc_store_open (fx->path, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->store);
  remove_tree (fx->dir);
  g_free (fx->path);
  g_free (fx->dir);
}

static FcCustomer *
sample_customer (void)
{
  FcCustomer *c = fc_customer_new (NAME);

  c->email = g_strdup (EMAIL);
  c->phone = g_strdup (PHONE);
  c->notes = g_strdup (NOTES);
  c->handedness = FC_HANDEDNESS_LEFT;
  c->handicap = 7.5;
  return c;
}

/* A shot as a launch monitor would send it, for whatever is open. */
static FcShot *
device_shot (const char *shot_id,
             double      ball_speed)
{
  FcShot *shot = fc_shot_new ();

  shot->source_kind = FC_SOURCE_DEVICE;
  shot->source_protocol = g_strdup ("open-connect-v1");
  shot->device_id = g_strdup ("sim");
  shot->device_shot_id = g_strdup (shot_id);
  fc_shot_set (shot, FC_FIELD_BALL_SPEED, ball_speed);
  return shot;
}

/* A customer with a fitting, a baseline club and one shot. */
static char *
add_fitting (FcStore *store, FcCustomer *c, const char *fitter)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcFitting) f = fc_fitting_new (FC_FITTING_DRIVER, "Bay 3");
  g_autoptr(FcClubConfig) base = fc_club_config_new (FC_CONFIG_BASELINE, "Own driver");
  g_autoptr(FcShot) shot = fc_shot_new ();

  g_assert_true (fc_store_add_customer (store, c, &error));
  g_assert_no_error (error);
  f->customer_id = g_strdup (c->id);
  f->fitter = g_strdup (fitter);
  g_assert_true (fc_store_add_fitting (store, f, &error));
  base->fitting_id = g_strdup (f->id);
  g_assert_true (fc_store_add_config (store, base, &error));
  shot->source_kind = FC_SOURCE_MANUAL;
  shot->source_protocol = g_strdup ("test");
  shot->device_id = g_strdup ("test-device");
  shot->fitting_id = g_strdup (f->id);
  fc_shot_set (shot, FC_FIELD_BALL_SPEED, 70.0);
  g_assert_true (fc_store_add_shot (store, shot, "Bay 3", NULL, &error));
  g_assert_no_error (error);
  return g_strdup (f->id);
}

static void
exec_sql (const char *path, const char *sql)
{
  sqlite3 *db;
  char *err = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 5000);
  if (sqlite3_exec (db, sql, NULL, NULL, &err) != SQLITE_OK)
    g_error ("%s: %s", sql, err);
  sqlite3_close (db);
}

/* ---- with a key ------------------------------------------------------------ */

static void
test_round_trip (Fixture *fx, gconstpointer data)
{
  g_autoptr(FcFieldCipher) cipher = pii_random_cipher ();
  g_autoptr(FcCustomer) c = sample_customer ();
  g_autoptr(FcCustomer) back = NULL, edited = NULL;
  g_autoptr(GPtrArray) outbox = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *key_id = NULL;

  g_assert_true (fc_store_get_pii_key_id (fx->store, &key_id, &error));
  g_assert_null (key_id);
  g_assert_true (fc_store_set_field_cipher (fx->store, cipher, &error));
  g_assert_no_error (error);
  g_assert_true (fc_store_get_pii_key_id (fx->store, &key_id, &error));
  g_assert_cmpstr (key_id, ==, fc_field_cipher_get_key_id (cipher));

  g_assert_true (fc_store_add_customer (fx->store, c, &error));
  g_assert_no_error (error);
  back = fc_store_get_customer (fx->store, c->id, &error);
  g_assert_no_error (error);
  g_assert_false (back->pii_locked);
  g_assert_cmpstr (back->name, ==, NAME);
  g_assert_cmpstr (back->email, ==, EMAIL);
  g_assert_cmpstr (back->phone, ==, PHONE);
  g_assert_cmpstr (back->notes, ==, NOTES);
  g_assert_cmpint (back->handedness, ==, FC_HANDEDNESS_LEFT);
  g_assert_cmpfloat (back->handicap, ==, 7.5);

  /* Editing re-encrypts; absent values stay absent. */
  g_free (back->email);
  back->email = g_strdup (EMAIL2);
  g_clear_pointer (&back->phone, g_free);
  g_assert_true (fc_store_update_customer (fx->store, back, &error));
  g_assert_no_error (error);
  edited = fc_store_get_customer (fx->store, c->id, &error);
  g_assert_cmpstr (edited->email, ==, EMAIL2);
  g_assert_null (edited->phone);
  g_assert_cmpstr (edited->name, ==, NAME);

  /* Both changes are queued for the cloud, without a copy of the details. */
  outbox = fc_store_outbox_peek (fx->store, G_MAXINT64, 10, &error);
  g_assert_cmpuint (outbox->len, ==, 2);
  for (guint i = 0; i < outbox->len; i++)
    {
      FcOutboxEntry *e = g_ptr_array_index (outbox, i);
      g_assert_cmpstr (e->entity, ==, "customer");
      g_assert_cmpstr (e->entity_id, ==, c->id);
      g_assert_null (e->payload);
    }
  g_assert_cmpstr (((FcOutboxEntry *) outbox->pdata[0])->operation, ==, "create");
  g_assert_cmpstr (((FcOutboxEntry *) outbox->pdata[1])->operation, ==, "update");

  /* Unknown customers are reported as such. */
  {
    g_autoptr(FcCustomer) ghost = sample_customer ();
    ghost->id = g_uuid_string_random ();
    g_assert_false (fc_store_update_customer (fx->store, ghost, &error));
    g_assert_error (error, FC_ERROR, FC_ERROR_NOT_FOUND);
  }
}

static void
test_no_plaintext_on_disk (Fixture *fx, gconstpointer data)
{
  g_autoptr(FcFieldCipher) cipher = pii_random_cipher ();
  g_autoptr(FcCustomer) c = sample_customer ();
  g_autoptr(FcCustomer) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *fid = NULL;
  g_autofree char *wal = g_strconcat (fx->path, "-wal", NULL);
  const char *secrets[] = { NAME, EMAIL, PHONE, NOTES, EMAIL2 };

  g_assert_true (fc_store_set_field_cipher (fx->store, cipher, &error));
  fid = add_fitting (fx->store, c, "Fitter-Canary-Sam");

  /* The check can see what is there: the fitter's name is not PII and is
   * stored in clear, in the WAL while the store is open. */
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));
  g_assert_true (pii_db_files_contain (fx->path, "Fitter-Canary-Sam"));
  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    g_assert_false (pii_db_files_contain (fx->path, secrets[i]));

  back = fc_store_get_customer (fx->store, c->id, &error);
  g_free (back->email);
  back->email = g_strdup (EMAIL2);
  g_assert_true (fc_store_update_customer (fx->store, back, &error));
  g_assert_no_error (error);

  /* After closing, everything is checkpointed into the main file. */
  g_clear_object (&fx->store);
  g_assert_true (pii_db_files_contain (fx->path, "Fitter-Canary-Sam"));
  for (guint i = 0; i < G_N_ELEMENTS (secrets); i++)
    g_assert_false (pii_db_files_contain (fx->path, secrets[i]));
}

/* ---- without a key ------------------------------------------------------- */

static void
test_locked (Fixture *fx, gconstpointer data)
{
  g_autoptr(FcFieldCipher) cipher = pii_random_cipher ();
  g_autoptr(FcCustomer) c = sample_customer ();
  g_autoptr(FcCustomer) fresh = sample_customer ();
  g_autoptr(FcCustomer) locked = NULL;
  g_autoptr(FcFitting) f = NULL;
  g_autoptr(GPtrArray) configs = NULL, shots = NULL;
  g_autoptr(FcFittingDocument) doc = NULL;
  g_autoptr(FcShot) shot = device_shot ("2", 66.0);
  g_autoptr(GError) error = NULL;
  g_autofree char *fid = NULL, *json = NULL;
  FcStoreCounts counts;
  FcAddResult result;

  /* A locked store refuses new customers, says why, and stores nothing. */
  fc_store_set_pii_lock_reason (fx->store, "No keyring is running in this session.");
  g_assert_false (fc_store_add_customer (fx->store, fresh, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_PII_LOCKED);
  g_assert_true (g_str_has_prefix (error->message, "Customer details are locked because the keyring "
                                   "is not available: No keyring is running in this session."));
  g_clear_error (&error);
  g_assert_true (fc_store_get_counts (fx->store, &counts, &error));
  g_assert_cmpint (counts.customers, ==, 0);
  g_assert_cmpint (counts.outbox_pending, ==, 0);

  /* Customer data written with the key... */
  g_assert_true (fc_store_set_field_cipher (fx->store, cipher, &error));
  fid = add_fitting (fx->store, c, "Sam");
  g_clear_object (&fx->store);

  /* ...and read back without it. */
  fx->store = fc_store_open (fx->path, &error);
  g_assert_no_error (error);
  g_assert_null (fc_store_get_field_cipher (fx->store));
  locked = fc_store_get_customer (fx->store, c->id, &error);
  g_assert_no_error (error);
  g_assert_true (locked->pii_locked);
  g_assert_null (locked->name);
  g_assert_null (locked->email);
  g_assert_null (locked->phone);
  g_assert_null (locked->notes);
  g_assert_cmpint (locked->handedness, ==, FC_HANDEDNESS_LEFT);

  /* The fitting, its clubs and shots work as usual; shots keep flowing. */
  f = fc_store_get_fitting (fx->store, fid, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (f->customer_id, ==, c->id);
  configs = fc_store_list_configs (fx->store, fid, &error);
  g_assert_cmpuint (configs->len, ==, 1);
  g_assert_true (fc_store_add_shot (fx->store, shot, "Bay 3", &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result, ==, FC_ADD_INSERTED);
  g_assert_cmpstr (shot->fitting_id, ==, fid);
  shots = fc_store_list_shots (fx->store, fid, &error);
  g_assert_cmpuint (shots->len, ==, 2);
  g_assert_true (fc_store_complete_fitting (fx->store, fid, &error));
  g_assert_no_error (error);

  /* The document says the customer is locked instead of pretending the
   * details are empty, and cannot be restored from. */
  doc = fc_store_load_document (fx->store, fid, &error);
  g_assert_no_error (error);
  g_assert_true (doc->customer->pii_locked);
  json = fc_fitting_document_to_json (doc, NULL);
  g_assert_nonnull (strstr (json, "\"pii_locked\": true"));
  {
    g_autoptr(FcFittingDocument) again = fc_fitting_document_from_json ("locked.json", json, strlen (json), &error);
    g_assert_null (again);
    g_assert_error (error, FC_ERROR, FC_ERROR_PII_LOCKED);
    g_clear_error (&error);
  }

  /* Editing needs the key; a locked record is never written back, even
   * once the key is there (it would erase the details). */
  g_assert_false (fc_store_update_customer (fx->store, c, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_PII_LOCKED);
  g_clear_error (&error);
  g_assert_true (fc_store_set_field_cipher (fx->store, cipher, &error));
  g_assert_false (fc_store_update_customer (fx->store, locked, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_PII_LOCKED);
  g_clear_error (&error);
  {
    g_autoptr(FcCustomer) readable = fc_store_get_customer (fx->store, c->id, &error);
    g_assert_cmpstr (readable->name, ==, NAME);
  }
}

static void
test_wrong_key (Fixture *fx, gconstpointer data)
{
  g_autoptr(FcFieldCipher) right = pii_random_cipher ();
  g_autoptr(FcFieldCipher) wrong = pii_random_cipher ();
  g_autoptr(FcCustomer) c = sample_customer ();
  g_autoptr(FcCustomer) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *key_id = NULL;

  g_assert_true (fc_store_set_field_cipher (fx->store, right, &error));
  g_assert_true (fc_store_add_customer (fx->store, c, &error));
  g_clear_object (&fx->store);

  fx->store = fc_store_open (fx->path, &error);
  g_assert_false (fc_store_set_field_cipher (fx->store, wrong, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_PII_LOCKED);
  g_assert_nonnull (strstr (error->message, fc_field_cipher_get_key_id (right)));
  g_assert_nonnull (strstr (error->message, fc_field_cipher_get_key_id (wrong)));
  g_clear_error (&error);

  /* Nothing changed: still locked, still the first key's database. */
  g_assert_null (fc_store_get_field_cipher (fx->store));
  back = fc_store_get_customer (fx->store, c->id, &error);
  g_assert_true (back->pii_locked);
  g_assert_true (fc_store_get_pii_key_id (fx->store, &key_id, &error));
  g_assert_cmpstr (key_id, ==, fc_field_cipher_get_key_id (right));
}

static void
test_moved_values (Fixture *fx, gconstpointer data)
{
  g_autoptr(FcFieldCipher) cipher = pii_random_cipher ();
  g_autoptr(FcCustomer) ann = fc_customer_new ("Ann Example");
  g_autoptr(FcCustomer) bob = fc_customer_new ("Bob Example");
  g_autoptr(GError) error = NULL;
  g_autofree char *sql = NULL;
  FcPiiStatus status = { 0 };

  g_assert_true (fc_store_set_field_cipher (fx->store, cipher, &error));
  ann->email = g_strdup ("ann@example.com");
  ann->phone = g_strdup ("+1 555 0100");
  g_assert_true (fc_store_add_customer (fx->store, ann, &error));
  g_assert_true (fc_store_add_customer (fx->store, bob, &error));
  g_assert_true (fc_store_get_pii_status (fx->store, &status, &error));
  g_assert_cmpint (status.customers, ==, 2);
  g_assert_cmpint (status.readable, ==, 2);
  g_assert_cmpint (status.unreadable, ==, 0);
  fc_pii_status_clear (&status);

  /* Someone with the database file swaps the two names... */
  sql = g_strdup_printf ("CREATE TEMP TABLE names AS SELECT id, name_enc FROM customers;"
                         "UPDATE customers SET name_enc = (SELECT name_enc FROM names"
                         " WHERE names.id <> customers.id) WHERE id IN ('%s', '%s')", ann->id, bob->id);
  exec_sql (fx->path, sql);
  {
    g_autoptr(FcCustomer) got = fc_store_get_customer (fx->store, ann->id, &error);
    g_assert_null (got);
    g_assert_error (error, FC_ERROR, FC_ERROR_CORRUPT);
    g_assert_nonnull (strstr (error->message, ann->id));
    g_clear_error (&error);
  }

  /* ...or moves Ann's e-mail into her phone column. */
  g_free (sql);
  sql = g_strdup_printf ("UPDATE customers SET phone_enc = email_enc WHERE id = '%s'", ann->id);
  exec_sql (fx->path, sql);
  g_assert_true (fc_store_get_pii_status (fx->store, &status, &error));
  g_assert_cmpint (status.readable, ==, 0);
  g_assert_cmpint (status.unreadable, ==, 2);
  fc_pii_status_clear (&status);

  /* Plaintext cannot be slipped in either. */
  g_free (sql);
  sql = g_strdup_printf ("UPDATE customers SET name_enc = 'Mallory' WHERE id = '%s'", bob->id);
  {
    sqlite3 *db;
    g_assert_cmpint (sqlite3_open (fx->path, &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL) & 0xff, ==, SQLITE_CONSTRAINT);
    sqlite3_close (db);
  }
}

static void
test_old_layout (void)
{
  g_autofree char *dir = g_dir_make_tmp ("fitclip-pii-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "old.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = NULL;

  exec_sql (path, "CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT NOT NULL);"
                  "PRAGMA user_version = 1;");
  store = fc_store_open (path, &error);
  g_assert_null (store);
  g_assert_error (error, FC_ERROR, FC_ERROR_SCHEMA_TOO_NEW);
  g_assert_nonnull (strstr (error->message, "development build"));
  remove_tree (dir);
}

/* ---- the key in a real keyring ------------------------------------------- */

static void
run_in_session (KeyringMode mode)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KeyringSession) session = keyring_session_start (mode, &error);

  g_assert_no_error (error);
  keyring_trap_set_address (keyring_session_address (session));
  g_test_trap_subprocess (NULL, SUBPROCESS_TIMEOUT_US,
                          G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
on_unlocked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (fc_pii_unlock_store_finish (FC_STORE (source), result, &error));
  g_assert_no_error (error);
  g_main_loop_quit (user_data);
}

static void
test_keyring_unlock (void)
{
  g_autofree char *dir = NULL, *path = NULL, *other_path = NULL;
  g_autofree char *key_id = NULL, *other_id = NULL;
  g_autoptr(FcSecretStore) secrets = NULL;
  g_autoptr(FcStore) store = NULL, again = NULL, other = NULL;
  g_autoptr(FcCustomer) c = sample_customer ();
  g_autoptr(GBytes) key = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      run_in_session (KEYRING_UNLOCKED);
      return;
    }
  keyring_trap_enter ();

  dir = g_dir_make_tmp ("fitclip-pii-XXXXXX", NULL);
  path = g_build_filename (dir, "shop.db", NULL);
  other_path = g_build_filename (dir, "other.db", NULL);
  secrets = fc_secret_store_new_default ();

  /* First use: a key is made, kept in the keyring, named in the database. */
  store = fc_store_open (path, &error);
  g_assert_true (fc_pii_unlock_store (store, secrets, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (fc_store_get_field_cipher (store));
  g_assert_true (fc_store_get_pii_key_id (store, &key_id, &error));
  g_assert_nonnull (key_id);
  key = fc_secret_store_lookup (secrets, FC_SECRET_PII_KEY, key_id, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (key), ==, FC_AES_GCM_KEY_SIZE);
  {
    g_autofree char *id_of_key = fc_aes_gcm_key_id (key);
    g_assert_cmpstr (id_of_key, ==, key_id);
  }
  g_assert_true (fc_store_add_customer (store, c, &error));
  g_assert_no_error (error);
  g_clear_object (&store);

  /* The next program (async, as the agent does it) finds the same key. */
  again = fc_store_open (path, &error);
  {
    g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
    g_autoptr(FcCustomer) back = NULL;

    fc_pii_unlock_store_async (again, secrets, NULL, on_unlocked, loop);
    g_main_loop_run (loop);
    back = fc_store_get_customer (again, c->id, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (back->name, ==, NAME);
  }
  g_clear_object (&again);

  /* Another database gets its own key. */
  other = fc_store_open (other_path, &error);
  g_assert_true (fc_pii_unlock_store (other, secrets, NULL, &error));
  g_assert_true (fc_store_get_pii_key_id (other, &other_id, &error));
  g_assert_cmpstr (other_id, !=, key_id);

  /* The keyring loses the key (reset, another computer): locked, with a
   * message that says so, and the fitting data untouched. */
  g_assert_true (fc_secret_store_clear (secrets, FC_SECRET_PII_KEY, key_id, NULL, &error));
  store = fc_store_open (path, &error);
  g_assert_false (fc_pii_unlock_store (store, secrets, NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_PII_LOCKED);
  g_assert_nonnull (strstr (error->message, key_id));
  g_clear_error (&error);
  {
    g_autoptr(FcCustomer) locked = fc_store_get_customer (store, c->id, &error);
    g_autoptr(FcCustomer) fresh = fc_customer_new ("New Person");

    g_assert_true (locked->pii_locked);
    g_assert_false (fc_store_add_customer (store, fresh, &error));
    g_assert_error (error, FC_ERROR, FC_ERROR_PII_LOCKED);
    g_assert_nonnull (strstr (error->message, "does not hold the key"));
  }
  g_clear_object (&store);
  g_clear_object (&other);
  remove_tree (dir);
}

static void
test_keyring_absent (void)
{
  g_autofree char *dir = NULL, *path = NULL, *key_id = NULL;
  g_autoptr(FcSecretStore) secrets = NULL;
  g_autoptr(FcStore) store = NULL;
  g_autoptr(FcCustomer) c = sample_customer ();
  g_autoptr(FcFitting) practice = NULL;
  g_autoptr(FcShot) shot = device_shot ("1", 60.0);
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      run_in_session (KEYRING_ABSENT);
      return;
    }
  keyring_trap_enter ();

  dir = g_dir_make_tmp ("fitclip-pii-XXXXXX", NULL);
  path = g_build_filename (dir, "shop.db", NULL);
  secrets = fc_secret_store_new_default ();
  store = fc_store_open (path, &error);

  g_assert_false (fc_pii_unlock_store (store, secrets, NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_SECRETS_UNAVAILABLE);
  g_clear_error (&error);
  /* No key was made, so nothing names a key that was never saved. */
  g_assert_true (fc_store_get_pii_key_id (store, &key_id, &error));
  g_assert_null (key_id);

  g_assert_false (fc_store_add_customer (store, c, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_PII_LOCKED);
  g_assert_true (g_str_has_prefix (error->message, "Customer details are locked because the keyring "
                                   "is not available: No keyring is running"));
  g_clear_error (&error);

  /* Shots keep flowing. */
  practice = fc_store_ensure_practice_session (store, "Bay 1", &error);
  g_assert_no_error (error);
  g_assert_true (fc_store_add_shot (store, shot, "Bay 1", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (shot->fitting_id, ==, practice->id);
  g_clear_object (&store);
  remove_tree (dir);
}

int
main (int argc, char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  keyring_trap_init ();
  g_test_add ("/store-pii/round-trip", Fixture, NULL, fixture_setup, test_round_trip, fixture_teardown);
  g_test_add ("/store-pii/no-plaintext-on-disk", Fixture, NULL, fixture_setup, test_no_plaintext_on_disk, fixture_teardown);
  g_test_add ("/store-pii/locked", Fixture, NULL, fixture_setup, test_locked, fixture_teardown);
  g_test_add ("/store-pii/wrong-key", Fixture, NULL, fixture_setup, test_wrong_key, fixture_teardown);
  g_test_add ("/store-pii/moved-values", Fixture, NULL, fixture_setup, test_moved_values, fixture_teardown);
  g_test_add_func ("/store-pii/old-layout", test_old_layout);
  g_test_add_func ("/store-pii/keyring-unlock", test_keyring_unlock);
  g_test_add_func ("/store-pii/keyring-absent", test_keyring_absent);
  status = g_test_run ();
  keyring_trap_cleanup ();
  return status;
}
