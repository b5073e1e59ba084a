/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * FcSecretStore against a real gnome-keyring in a private D-Bus session.
 *
 * libsecret and GDBus keep one session-bus connection per process, so
 * every case runs in its own subprocess (g_test_trap_subprocess) whose
 * environment points at a keyring set up for that case: unlocked, locked
 * after storing, started without --unlock, or absent.
 */
#include <glib/gstdio.h>
#include <libsecret/secret.h>
#include <string.h>

#include "fc-error.h"
#include "fc-secret-store.h"
#include "keyring-session.h"

#define CLOUD_A "https://cloud-a.example.com"
#define CLOUD_B "https://cloud-b.example.com"
#define SUBPROCESS_TIMEOUT_US (120 * G_USEC_PER_SEC)

static GBytes *
text_bytes (const char *text)
{
  return g_bytes_new (text, strlen (text));
}

static void
assert_value (FcSecretStore *store,
              const char    *name,
              const char    *account,
              const char    *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) value = fc_secret_store_lookup (store, name, account, NULL, &error);
  gsize len;
  const char *data;

  g_assert_no_error (error);
  g_assert_nonnull (value);
  data = g_bytes_get_data (value, &len);
  g_assert_cmpmem (data, len, expected, strlen (expected));
}

/* Runs the current test again in a subprocess inside a session of @mode
 * (or with DBUS_SESSION_BUS_ADDRESS set to @address when given). */
static void
run_in_session (KeyringMode         mode,
                const char         *address,
                GTestSubprocessFlags flags)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KeyringSession) session = NULL;

  if (address == NULL)
    {
      session = keyring_session_start (mode, &error);
      g_assert_no_error (error);
      address = keyring_session_address (session);
    }
  /* Only the child talks to D-Bus; this process merely hands it the bus. */
  keyring_trap_set_address (address);
  g_test_trap_subprocess (NULL, SUBPROCESS_TIMEOUT_US, flags);
}

/* ---- an unlocked keyring -------------------------------------------------- */

static void
test_round_trip (void)
{
  g_autoptr(FcSecretStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) a = NULL, b = NULL, a2 = NULL, bin = NULL, back = NULL;
  static const guint8 binary[] = { 0x00, 0xff, 0x10, 0x00, 0x80, 0x7f, 0x00 };
  g_autofree char *out = NULL;
  int status;

  if (!g_test_subprocess ())
    {
      run_in_session (KEYRING_UNLOCKED, NULL, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }
  keyring_trap_enter ();

  store = fc_secret_store_new_default ();
  g_assert_nonnull (fc_secret_store_get_backend_name (store));

  /* Nothing stored yet. */
  g_assert_null (fc_secret_store_lookup (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Two clouds, one name: kept apart by the account. */
  a = text_bytes ("refresh-token-for-cloud-a");
  b = text_bytes ("refresh-token-for-cloud-b");
  g_assert_true (fc_secret_store_store (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, a, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (fc_secret_store_store (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_B, b, NULL, &error));
  g_assert_no_error (error);
  assert_value (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, "refresh-token-for-cloud-a");
  assert_value (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_B, "refresh-token-for-cloud-b");

  /* Storing again replaces. */
  a2 = text_bytes ("rotated-token-for-cloud-a");
  g_assert_true (fc_secret_store_store (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, a2, NULL, &error));
  assert_value (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, "rotated-token-for-cloud-a");

  /* Binary values (keys) come back byte for byte. */
  bin = g_bytes_new_static (binary, sizeof binary);
  g_assert_true (fc_secret_store_store (store, FC_SECRET_PII_KEY, "0123456789abcdef", bin, NULL, &error));
  g_assert_no_error (error);
  back = fc_secret_store_lookup (store, FC_SECRET_PII_KEY, "0123456789abcdef", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, bin));

  /* The item is where docs/secrets.md says: schema com.fitclip.Agent,
   * attributes app, name and account (as any Secret Service tool sees it). */
  g_assert_true (g_spawn_sync (NULL, (char *[]) { "secret-tool", "lookup", "app", "com.fitclip.Agent",
                                                  "name", "device-refresh-token", "account", CLOUD_B, NULL },
                               NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                               &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "refresh-token-for-cloud-b");

  /* Clearing one account leaves the other; clearing twice is fine. */
  g_assert_true (fc_secret_store_clear (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (fc_secret_store_lookup (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (fc_secret_store_clear (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, NULL, &error));
  g_assert_no_error (error);
  assert_value (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_B, "refresh-token-for-cloud-b");

  /* Names are checked before the keyring is asked. */
  g_assert_false (fc_secret_store_store (store, "Bad Name", CLOUD_A, a, NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_clear_error (&error);
  g_assert_false (fc_secret_store_store (store, FC_SECRET_PII_KEY, "", a, NULL, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
}

typedef struct {
  GMainLoop    *loop;
  GThread      *main_thread;
  GAsyncResult *result;
  guint         ticks;
} AsyncState;

/* Keeps the result for the test to finish, on the thread that asked. */
static void
on_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AsyncState *st = user_data;

  g_assert_true (g_thread_self () == st->main_thread);
  g_clear_object (&st->result);
  st->result = g_object_ref (result);
  g_main_loop_quit (st->loop);
}

static gboolean
tick (gpointer user_data)
{
  ((AsyncState *) user_data)->ticks++;
  return G_SOURCE_CONTINUE;
}

static gboolean
give_up (gpointer user_data)
{
  g_error ("the keyring did not answer within 60 s");
  return G_SOURCE_REMOVE;
}

static void
test_async (void)
{
  g_autoptr(FcSecretStore) store = NULL;
  g_autoptr(GBytes) token = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GBytes) value = NULL;
  g_autoptr(GError) error = NULL;
  AsyncState st = { 0 };
  guint tick_id, timeout_id;

  if (!g_test_subprocess ())
    {
      run_in_session (KEYRING_UNLOCKED, NULL, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }
  keyring_trap_enter ();

  store = fc_secret_store_new_default ();
  loop = g_main_loop_new (NULL, FALSE);
  st.loop = loop;
  st.main_thread = g_thread_self ();
  tick_id = g_idle_add (tick, &st);
  timeout_id = g_timeout_add_seconds (60, give_up, NULL);

  token = text_bytes ("async-token");
  fc_secret_store_store_async (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, token, NULL, on_done, &st);
  g_main_loop_run (loop);
  g_assert_true (fc_secret_store_store_finish (store, st.result, &error));
  g_assert_no_error (error);
  /* The main loop kept running while the keyring worked. */
  g_assert_cmpuint (st.ticks, >, 0);

  fc_secret_store_lookup_async (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, NULL, on_done, &st);
  g_main_loop_run (loop);
  value = fc_secret_store_lookup_finish (store, st.result, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (value, token));
  g_clear_pointer (&value, g_bytes_unref);

  fc_secret_store_clear_async (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, NULL, on_done, &st);
  g_main_loop_run (loop);
  g_assert_true (fc_secret_store_clear_finish (store, st.result, &error));
  g_assert_no_error (error);

  fc_secret_store_lookup_async (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, NULL, on_done, &st);
  g_main_loop_run (loop);
  g_assert_null (fc_secret_store_lookup_finish (store, st.result, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A cancelled call reports cancellation, not a keyring problem. */
  cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  fc_secret_store_lookup_async (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_B, cancellable, on_done, &st);
  g_main_loop_run (loop);
  g_assert_null (fc_secret_store_lookup_finish (store, st.result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  g_clear_object (&st.result);
  g_source_remove (tick_id);
  g_source_remove (timeout_id);
}

/* ---- secrets never reach the log ------------------------------------------ */

#define CANARY "fitclip-canary-7d1e4b9a-never-log-me"

static GString *captured;

static GLogWriterOutput
capture_writer (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    {
      if (fields[i].length < 0)
        g_string_append_printf (captured, "%s=%s\n", fields[i].key, (const char *) fields[i].value);
      else
        {
          g_string_append_printf (captured, "%s=", fields[i].key);
          g_string_append_len (captured, fields[i].value, fields[i].length);
          g_string_append_c (captured, '\n');
        }
    }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

static void
test_never_logged (void)
{
  g_autoptr(FcSecretStore) store = NULL;
  g_autoptr(GBytes) canary = NULL, back = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      /* Everything at debug level, captured by the trap. */
      run_in_session (KEYRING_UNLOCKED, NULL, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      g_test_trap_assert_stdout_unmatched ("*" CANARY "*");
      g_test_trap_assert_stderr_unmatched ("*" CANARY "*");
      /* ...and debug output really was on, so the check above means something. */
      g_test_trap_assert_stdout ("*store of device-refresh-token for " CLOUD_A "*");
      return;
    }
  keyring_trap_enter ();

  captured = g_string_new (NULL);
  g_log_set_writer_func (capture_writer, NULL, NULL);
  g_log_set_debug_enabled (TRUE);
  /* Debug messages go to stdout, where the parent looks for them. */
  g_log_writer_default_set_use_stderr (FALSE);

  store = fc_secret_store_new_default ();
  canary = text_bytes (CANARY);
  g_assert_true (fc_secret_store_store (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, canary, NULL, &error));
  g_assert_no_error (error);
  back = fc_secret_store_lookup (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, canary));
  g_assert_true (fc_secret_store_clear (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, NULL, &error));

  g_assert_nonnull (strstr (captured->str, "lookup of device-refresh-token"));
  g_assert_null (strstr (captured->str, CANARY));
}

/* ---- no keyring, a locked keyring ----------------------------------------- */

static void
assert_unavailable (GError     *error,
                    const char *phrase)
{
  g_assert_error (error, FC_ERROR, FC_ERROR_SECRETS_UNAVAILABLE);
  if (strstr (error->message, phrase) == NULL)
    g_error ("expected “%s” in: %s", phrase, error->message);
}

static void
check_unavailable (const char *phrase)
{
  g_autoptr(FcSecretStore) store = fc_secret_store_new_default ();
  g_autoptr(GBytes) value = text_bytes ("x");
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  g_assert_null (fc_secret_store_lookup (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, NULL, &error));
  assert_unavailable (error, phrase);
  g_clear_error (&error);
  g_assert_false (fc_secret_store_store (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, value, NULL, &error));
  assert_unavailable (error, phrase);
  g_clear_error (&error);
  g_assert_false (fc_secret_store_clear (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, NULL, &error));
  assert_unavailable (error, phrase);
  /* Promptly, not after D-Bus's 25 s timeout. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
}

static void
test_no_service (void)
{
  if (!g_test_subprocess ())
    {
      run_in_session (KEYRING_ABSENT, NULL, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }
  keyring_trap_enter ();
  check_unavailable ("No keyring is running");
}

static void
test_no_bus (void)
{
  if (!g_test_subprocess ())
    {
      g_autofree char *dir = g_dir_make_tmp ("fitclip-nobus-XXXXXX", NULL);
      g_autofree char *address = g_strdup_printf ("unix:path=%s/no-such-socket", dir);

      run_in_session (KEYRING_ABSENT, address, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_rmdir (dir);
      g_test_trap_assert_passed ();
      return;
    }
  keyring_trap_enter ();
  check_unavailable ("No keyring is running");
}

static void
test_locked (void)
{
  g_autoptr(FcSecretStore) store = NULL;
  g_autoptr(SecretService) service = NULL;
  g_autoptr(SecretCollection) login = NULL;
  g_autoptr(GBytes) value = NULL;
  g_autoptr(GError) error = NULL;
  GList *objects;

  if (!g_test_subprocess ())
    {
      run_in_session (KEYRING_UNLOCKED, NULL, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }
  keyring_trap_enter ();

  store = fc_secret_store_new_default ();
  value = text_bytes ("stored-before-locking");
  g_assert_true (fc_secret_store_store (store, FC_SECRET_DEVICE_REFRESH_TOKEN, CLOUD_A, value, NULL, &error));
  g_assert_no_error (error);

  /* Lock it the way the desktop does (screen lock, "Lock" in Seahorse). */
  service = secret_service_get_sync (SECRET_SERVICE_NONE, NULL, &error);
  g_assert_no_error (error);
  login = secret_collection_for_alias_sync (service, SECRET_COLLECTION_DEFAULT, SECRET_COLLECTION_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (login);
  objects = g_list_append (NULL, login);
  g_assert_cmpint (secret_service_lock_sync (service, objects, NULL, NULL, &error), ==, 1);
  g_list_free (objects);
  g_assert_no_error (error);

  /* The stored token is not "missing" (that would mean: pair again), the
   * keyring is locked; no prompt can be shown here, so it stays locked. */
  check_unavailable ("locked");
}

static void
test_started_without_unlock (void)
{
  g_autoptr(FcSecretStore) store = NULL;
  g_autoptr(GBytes) value = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_test_subprocess ())
    {
      run_in_session (KEYRING_NO_UNLOCK, NULL, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }
  keyring_trap_enter ();

  store = fc_secret_store_new_default ();
  value = text_bytes ("nowhere-to-go");
  g_assert_false (fc_secret_store_store (store, FC_SECRET_PII_KEY, "0123456789abcdef", value, NULL, &error));
  assert_unavailable (error, "Login");
}

int
main (int argc, char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  keyring_trap_init ();
  g_test_add_func ("/secret-store/round-trip", test_round_trip);
  g_test_add_func ("/secret-store/async", test_async);
  g_test_add_func ("/secret-store/never-logged", test_never_logged);
  g_test_add_func ("/secret-store/no-service", test_no_service);
  g_test_add_func ("/secret-store/no-bus", test_no_bus);
  g_test_add_func ("/secret-store/locked", test_locked);
  g_test_add_func ("/secret-store/started-without-unlock", test_started_without_unlock);
  status = g_test_run ();
  keyring_trap_cleanup ();
  return status;
}
