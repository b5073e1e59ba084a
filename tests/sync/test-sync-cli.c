/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Cloud sync as a shop's IT person and a script see it: fitclipctl
 * login / pair / logout / sync status / sync now, and fitclip-agent
 * --cloud syncing in the background (and killed while it does), against
 * a real fitclip-devcloud and a private gnome-keyring. The programs run
 * as they would at the shop; the test only looks at exit codes, output,
 * `fitclipctl export` and the cloud's dump.
 */
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>
#ifdef __linux__
#include <signal.h>
#include <sys/prctl.h>
#endif

#include "keyring-session.h"
#include "sync-cloud.h"

#define WAIT_S 60

static KeyringSession *keyring;

typedef struct {
  int   status;
  char *out;
  char *err;
  char *command;
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
  g_free (r->command);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

typedef struct {
  char      *dir;
  char      *db;
  char      *config_home;   /* XDG_CONFIG_HOME: where agent.conf is read */
  SyncCloud *cloud;
  char      *ca_file;
} Shop;

static GSubprocessLauncher *
launcher_for (Shop              *shop,
              GSubprocessFlags   flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  keyring_session_setenv (keyring, launcher);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", shop->config_home, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "FITCLIP_CLOUD");
  g_subprocess_launcher_unsetenv (launcher, "FITCLIP_DB");
  return launcher;
}

/* fitclipctl ARGS… with @input on its standard input (may be NULL). */
static void
ctl_full (Shop              *shop,
          Run               *r,
          const char        *input,
          const char *const *env,
          const char *const *args)
{
  g_autoptr(GSubprocessLauncher) launcher =
    launcher_for (shop, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; env && env[i]; i += 2)
    g_subprocess_launcher_setenv (launcher, env[i], env[i + 1], TRUE);
  g_ptr_array_add (argv, (char *) g_getenv ("FITCLIPCTL"));
  g_ptr_array_add (argv, "--db");
  g_ptr_array_add (argv, shop->db);
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  r->command = g_strjoinv (" ", (char **) argv->pdata + 1);
  proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input ? input : "", NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  r->status = g_subprocess_get_exit_status (proc);
}

#define CTL(shop, r, ...) ctl_full (shop, r, NULL, NULL, (const char *const[]) { __VA_ARGS__, NULL })
#define CTL_IN(shop, r, input, ...) ctl_full (shop, r, input, NULL, (const char *const[]) { __VA_ARGS__, NULL })

static void
assert_contains (const char *text,
                 const char *part)
{
  if (text == NULL || strstr (text, part) == NULL)
    g_error ("“%s” does not contain “%s”", text ? text : "(null)", part);
}

static void
expect_ok (Run *r)
{
  if (r->status != 0)
    g_error ("fitclipctl %s failed (%d): %s%s", r->command, r->status, r->out, r->err);
}

static Shop *
shop_new (const char *const *cloud_args)
{
  Shop *shop = g_new0 (Shop, 1);
  g_autoptr(GError) error = NULL;

  shop->dir = g_dir_make_tmp ("sync-cli-XXXXXX", &error);
  g_assert_no_error (error);
  shop->db = g_build_filename (shop->dir, "agent.db", NULL);
  shop->config_home = g_build_filename (shop->dir, "config", NULL);
  g_assert_cmpint (g_mkdir_with_parents (shop->config_home, 0700), ==, 0);
  shop->cloud = sync_cloud_start (cloud_args);
  return shop;
}

static void
shop_free (Shop *shop)
{
  sync_cloud_free (shop->cloud);
  sync_remove_tree (shop->dir);
  g_free (shop->dir);
  g_free (shop->db);
  g_free (shop->config_home);
  g_free (shop->ca_file);
  g_free (shop);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Shop, shop_free)

static char *
fixture (const char *name)
{
  return g_build_filename (g_getenv ("FITCLIP_FIXTURES"), name, NULL);
}

/* A fitting as a fitter makes it from a terminal: customer, two clubs,
 * a TrackMan export imported, a shot excluded, completed. */
static char *
make_fitting (Shop       *shop,
              const char *customer,
              const char *export_name,
              gboolean    complete)
{
  g_auto(Run) fitting = { 0 }, own = { 0 }, test = { 0 }, import = { 0 }, done = { 0 };
  g_autofree char *file = fixture (export_name);
  g_autoptr(JsonNode) imported = NULL;

  CTL (shop, &fitting, "new-fitting", "--type", "driver", "--customer", customer, "--handicap", "8.2");
  expect_ok (&fitting);
  g_strstrip (fitting.out);
  CTL (shop, &own, "add-config", fitting.out, "--role", "baseline", "--label", "Own driver");
  expect_ok (&own);
  CTL (shop, &test, "add-config", fitting.out, "--role", "test", "--label", "Test head", "--loft", "9.5",
       "--activate");
  expect_ok (&test);
  CTL (shop, &import, "--json", "import", file, "--fitting", fitting.out);
  expect_ok (&import);
  imported = sync_parse_json (import.out);
  g_assert_cmpint (json_node_get_int (sync_json_at (imported, "inserted")), >, 0);
  if (complete)
    {
      CTL (shop, &done, "complete", fitting.out);
      expect_ok (&done);
    }
  return g_strdup (fitting.out);
}

static void
exclude_first_shot (Shop       *shop,
                    const char *fitting)
{
  g_auto(Run) show = { 0 }, ex = { 0 };
  g_autoptr(JsonNode) doc = NULL;
  JsonArray *shots;

  CTL (shop, &show, "--json", "show", fitting);
  expect_ok (&show);
  doc = sync_parse_json (show.out);
  shots = json_node_get_array (sync_json_at (doc, "shots"));
  CTL (shop, &ex, "exclude", json_object_get_string_member (json_array_get_object_element (shots, 0), "id"),
       "--reason", "topped");
  expect_ok (&ex);
}

/* The agent's view of its fittings: fitclipctl export, as a backup has it. */
static GPtrArray *
exports_of (Shop              *shop,
            const char *const *fittings)
{
  GPtrArray *exports = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);

  for (guint i = 0; fittings[i]; i++)
    {
      g_auto(Run) r = { 0 };

      CTL (shop, &r, "export", fittings[i], "--format", "json");
      expect_ok (&r);
      g_ptr_array_add (exports, sync_parse_json (r.out));
    }
  return exports;
}

static JsonNode *
sync_status (Shop *shop)
{
  g_auto(Run) r = { 0 };

  CTL (shop, &r, "--cloud", shop->cloud->url, "--json", "sync", "status");
  expect_ok (&r);
  return sync_parse_json (r.out);
}

static JsonObject *
status_object (JsonNode *status)
{
  return json_node_get_object (status);
}

static gint64
status_int (JsonNode   *status,
            const char *path)
{
  return json_node_get_int (sync_json_at (status, path));
}

static void
login (Shop *shop)
{
  g_auto(Run) r = { 0 };
  g_autofree char *input = g_strdup_printf ("%s\n", shop->cloud->password);

  CTL_IN (shop, &r, input, "--cloud", shop->cloud->url, "login", "--email", shop->cloud->email,
          "--name", "Bay 1 PC");
  expect_ok (&r);
  assert_contains (r.out, "paired with");
}

/* ---- pairing, status, sync now, logout ---------------------------------- */

static void
test_pair_and_sync (void)
{
  g_autoptr(Shop) shop = shop_new (NULL);
  g_auto(Run) nocloud = { 0 }, bad = { 0 }, noemail = { 0 }, now = { 0 }, status_text = { 0 };
  g_auto(Run) out = { 0 }, notpaired = { 0 }, paired = { 0 }, again = { 0 }, envrun = { 0 }, confrun = { 0 };
  g_autofree char *a = NULL, *b = NULL, *code = NULL, *conf = NULL, *conf_path = NULL;
  g_autoptr(JsonNode) before = NULL, after = NULL, loggedout = NULL;
  g_autoptr(GPtrArray) exports = NULL;

  a = make_fitting (shop, "Robin Locksley", "trackman-tps-driver.csv", TRUE);
  b = make_fitting (shop, "Marian Fitzwalter", "trackman-tps-2023-7iron.csv", FALSE);
  exclude_first_shot (shop, b);

  /* No cloud configured: a usage error that says where to put it. */
  CTL (shop, &nocloud, "sync", "now");
  g_assert_cmpint (nocloud.status, ==, 2);
  assert_contains (nocloud.err, "--cloud URL");

  before = sync_status (shop);
  g_assert_false (json_node_get_boolean (sync_json_at (before, "paired")));
  g_assert_cmpstr (json_node_get_string (sync_json_at (before, "cloud")), ==, shop->cloud->url);
  g_assert_cmpint (status_int (before, "pending.create_fitting"), ==, 2);
  g_assert_cmpint (status_int (before, "pending.add_shots"), >, 500);
  g_assert_cmpint (status_int (before, "pending.complete_fitting"), ==, 1);
  g_assert_cmpint (status_int (before, "pending_total"), >, 500);
  g_assert_cmpint (status_int (before, "parked"), ==, 0);

  /* Not paired: sync now says so, and sends nothing. */
  CTL (shop, &notpaired, "--cloud", shop->cloud->url, "sync", "now");
  g_assert_cmpint (notpaired.status, ==, 1);
  assert_contains (notpaired.err, "not paired");
  g_assert_cmpint (sync_cloud_sql_int (shop->cloud, "SELECT COUNT(*) FROM fittings"), ==, 0);

  /* The owner mistypes the password; then gets it right. */
  CTL_IN (shop, &bad, "not-the-password\n", "--cloud", shop->cloud->url, "login", "--email", shop->cloud->email);
  g_assert_cmpint (bad.status, ==, 1);
  assert_contains (bad.err, "invalid_credentials");
  CTL_IN (shop, &noemail, "x\n", "--cloud", shop->cloud->url, "login");
  g_assert_cmpint (noemail.status, ==, 2);
  login (shop);

  CTL (shop, &now, "--cloud", shop->cloud->url, "sync", "now");
  expect_ok (&now);
  assert_contains (now.out, "Everything is sent");
  assert_contains (now.err, "Sent ");
  after = sync_status (shop);
  g_assert_true (json_node_get_boolean (sync_json_at (after, "paired")));
  g_assert_cmpint (status_int (after, "pending_total"), ==, 0);
  g_assert_true (JSON_NODE_HOLDS_NULL (sync_json_at (after, "last_error")));
  exports = exports_of (shop, (const char *const[]) { a, b, NULL });
  sync_assert_cloud_has (shop->cloud, exports, NULL);

  CTL (shop, &status_text, "--cloud", shop->cloud->url, "sync", "status");
  expect_ok (&status_text);
  assert_contains (status_text.out, "Paired          yes");
  assert_contains (status_text.out, "Waiting to send 0");

  /* The address from the environment, then from agent.conf. */
  {
    const char *env[] = { "FITCLIP_CLOUD", shop->cloud->url, NULL };

    ctl_full (shop, &envrun, NULL, env, (const char *const[]) { "sync", "now", NULL });
    expect_ok (&envrun);
  }
  conf = g_strdup_printf ("[cloud]\nurl=%s\nno-proxy=true\n", shop->cloud->url);
  conf_path = g_build_filename (shop->config_home, "fitclip", NULL);
  g_assert_cmpint (g_mkdir_with_parents (conf_path, 0700), ==, 0);
  g_free (conf_path);
  conf_path = g_build_filename (shop->config_home, "fitclip", "agent.conf", NULL);
  g_assert_true (g_file_set_contents (conf_path, conf, -1, NULL));
  CTL (shop, &confrun, "sync", "now");
  expect_ok (&confrun);

  /* Unpaired: the cloud revokes this PC; pairing by code brings it back. */
  CTL (shop, &out, "logout");
  expect_ok (&out);
  loggedout = sync_status (shop);
  g_assert_false (json_node_get_boolean (sync_json_at (loggedout, "paired")));
  code = sync_cloud_pair_code (shop->cloud);
  CTL (shop, &paired, "pair", code, "--name", "Bay 1 PC");
  expect_ok (&paired);
  CTL (shop, &again, "sync", "now");
  expect_ok (&again);
}

/* A refusal is parked; `sync now` says why and exits 1; once the cause
 * is gone, `sync now` sends it. */
static void
test_park_and_retry (void)
{
  g_autoptr(Shop) shop = shop_new (NULL);
  g_auto(Run) first = { 0 }, second = { 0 }, export = { 0 };
  g_autofree char *a = NULL, *b = NULL, *body = NULL, *delete = NULL;
  g_autoptr(JsonNode) doc = NULL, status = NULL, cleared = NULL;
  g_autoptr(GPtrArray) exports = NULL;

  a = make_fitting (shop, "Will Scarlet", "trackman-tps-2023-7iron.csv", TRUE);
  b = make_fitting (shop, "Much Miller", "garmin-r10-drivingrange.csv", TRUE);
  login (shop);

  /* The owner's web app made fitting a in the cloud already, differently. */
  CTL (shop, &export, "export", a, "--format", "json");
  expect_ok (&export);
  doc = sync_parse_json (export.out);
  json_object_set_string_member (json_node_get_object (sync_json_at (doc, "fitting")), "bay", "Bay 9");
  json_object_set_null_member (json_node_get_object (sync_json_at (doc, "fitting")), "customer_id");
  {
    g_autofree char *fitting = json_to_string (sync_json_at (doc, "fitting"), FALSE);
    g_autoptr(SoupSession) session = soup_session_new_with_options ("proxy-resolver", NULL, NULL);
    g_autofree char *login_url = g_strconcat (shop->cloud->url, "/auth/login", NULL);
    g_autofree char *create_url = g_strconcat (shop->cloud->url, "/api/v1/fittings", NULL);
    g_autofree char *credentials = g_strdup_printf ("{\"email\":\"%s\",\"password\":\"%s\"}",
                                                    shop->cloud->email, shop->cloud->password);
    g_autoptr(SoupMessage) login_msg = soup_message_new ("POST", login_url);
    g_autoptr(SoupMessage) create_msg = soup_message_new ("POST", create_url);
    g_autoptr(GBytes) login_body = g_bytes_new (credentials, strlen (credentials));
    g_autoptr(GBytes) answer = NULL, created = NULL, create_body = NULL;
    g_autoptr(JsonNode) tokens = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *auth = NULL, *text = NULL;

    soup_message_set_request_body_from_bytes (login_msg, "application/json", login_body);
    answer = soup_session_send_and_read (session, login_msg, NULL, &error);
    g_assert_no_error (error);
    text = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
    tokens = sync_parse_json (text);
    auth = g_strdup_printf ("Bearer %s", json_node_get_string (sync_json_at (tokens, "access_token")));
    body = g_strdup_printf ("{\"fitting\":%s,\"customer\":null,\"configs\":[]}", fitting);
    create_body = g_bytes_new (body, strlen (body));
    soup_message_set_request_body_from_bytes (create_msg, "application/json", create_body);
    soup_message_headers_replace (soup_message_get_request_headers (create_msg), "Authorization", auth);
    soup_message_headers_replace (soup_message_get_request_headers (create_msg), "Idempotency-Key", "web-app-1");
    created = soup_session_send_and_read (session, create_msg, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (soup_message_get_status (create_msg), ==, 201);
  }

  CTL (shop, &first, "--cloud", shop->cloud->url, "sync", "now");
  g_assert_cmpint (first.status, ==, 1);
  assert_contains (first.err, "parked");
  assert_contains (first.err, "fitting_conflict");
  status = sync_status (shop);
  g_assert_cmpint (status_int (status, "parked"), >, 0);
  assert_contains (json_node_get_string (sync_json_at (status, "last_error")), "fitting_conflict");
  /* What needs a person, with the cloud's reason, and when sync last
   * worked (fitting b went through). */
  {
    JsonArray *problems = json_node_get_array (sync_json_at (status, "problems"));
    JsonObject *p;
    g_auto(Run) text = { 0 };

    g_assert_cmpuint (json_array_get_length (problems), ==, 1);
    p = json_array_get_object_element (problems, 0);
    g_assert_cmpstr (json_object_get_string_member (p, "fitting_id"), ==, a);
    /* the fitting's queue is held by its head: its customer's details */
    g_assert_cmpstr (json_object_get_string_member (p, "what"), ==, "the customer's details");
    assert_contains (json_object_get_string_member (p, "reason"), "fitting_conflict");
    g_assert_nonnull (json_object_get_string_member (status_object (status), "last_success_at"));
    CTL (shop, &text, "--cloud", shop->cloud->url, "sync", "status");
    expect_ok (&text);
    assert_contains (text.out, "Needs attention the customer's details, fitting ");
    assert_contains (text.out, "Last success    2");
  }
  /* The other fitting went through. */
  exports = exports_of (shop, (const char *const[]) { b, NULL });
  sync_assert_cloud_has (shop->cloud, exports, NULL);

  delete = g_strdup_printf ("DELETE FROM fittings WHERE id = '%s'", a);
  sync_cloud_sql (shop->cloud, delete);
  CTL (shop, &second, "--cloud", shop->cloud->url, "sync", "now");
  expect_ok (&second);
  cleared = sync_status (shop);
  g_assert_cmpint (status_int (cleared, "parked"), ==, 0);
  g_assert_cmpint (status_int (cleared, "pending_total"), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (sync_json_at (cleared, "problems"))), ==, 0);
  g_ptr_array_unref (exports);
  exports = exports_of (shop, (const char *const[]) { a, b, NULL });
  sync_assert_cloud_has (shop->cloud, exports, NULL);
}

/* ---- the agent ----------------------------------------------------------- */

#ifdef __linux__
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}
#endif

static GSubprocess *
start_agent (Shop *shop)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_for (shop, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *log = g_build_filename (shop->dir, "agent.log", NULL);
  g_autoptr(GError) error = NULL;
  GSubprocess *agent;

  g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_stdout_file_path (launcher, log);
#ifdef __linux__
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
#endif
  agent = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("FITCLIP_AGENT"), "--headless",
                                       "--db", shop->db, "--cloud", shop->cloud->url, "--no-proxy",
                                       "--sync-backoff", "50:500", NULL);
  g_assert_no_error (error);
  return agent;
}

static void
stop_agent (GSubprocess *agent,
            gboolean     kill)
{
  g_autoptr(GError) error = NULL;

  if (kill)
    g_subprocess_force_exit (agent);
  else
    g_subprocess_send_signal (agent, SIGTERM);
  g_subprocess_wait (agent, NULL, &error);
  g_assert_no_error (error);
  if (!kill)
    g_assert_true (g_subprocess_get_if_exited (agent) && g_subprocess_get_exit_status (agent) == 0);
}

static char *
agent_log (Shop *shop)
{
  g_autofree char *log = g_build_filename (shop->dir, "agent.log", NULL);
  char *text = NULL;

  g_file_get_contents (log, &text, NULL, NULL);
  return text ? text : g_strdup ("");
}

/* The agent's last status line. */
static char *
agent_last_sync_line (Shop *shop)
{
  g_autofree char *log = agent_log (shop);
  g_auto(GStrv) lines = g_strsplit (log, "\n", -1);
  char *last = NULL;

  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], "sync "))
      last = lines[i];
  return g_strdup (last);
}

/* The outbox is empty, and the agent says it is idle. */
static void
wait_synced (Shop *shop,
             guint timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonNode) status = sync_status (shop);
      g_autofree char *line = agent_last_sync_line (shop);

      if (status_int (status, "pending_total") == 0 && status_int (status, "parked") == 0 &&
          line != NULL && strstr (line, " idle ") != NULL && strstr (line, " 0 waiting") != NULL)
        return;
      g_usleep (200 * 1000);
    }
  {
    g_autofree char *log = agent_log (shop);

    g_error ("The agent did not sync within %u s; its log:\n%s", timeout_s, log);
  }
}

static void
test_agent (void)
{
  g_autoptr(Shop) shop = shop_new (NULL);
  g_autoptr(GSubprocess) agent = NULL;
  g_autoptr(GPtrArray) exports = NULL;
  g_autofree char *a = NULL, *b = NULL, *log = NULL;

  login (shop);
  /* The database exists before the agent starts: two programs creating
   * one at the same moment can meet SQLITE_BUSY from switching it to WAL
   * (the store's business, not this test's). */
  a = make_fitting (shop, "Alan-a-Dale", "trackman-tps-driver.csv", TRUE);
  agent = start_agent (shop);
  wait_synced (shop, WAIT_S);

  /* The cloud away for a while; the bay goes on. */
  sync_cloud_halt (shop->cloud);
  b = make_fitting (shop, "Little John", "trackman-tps-2023-7iron.csv", TRUE);
  exclude_first_shot (shop, a);
  g_usleep (1500 * 1000);
  sync_cloud_resume (shop->cloud);
  wait_synced (shop, WAIT_S);
  stop_agent (agent, FALSE);

  log = agent_log (shop);
  assert_contains (log, "syncing with");
  assert_contains (log, "cannot be reached");
  assert_contains (log, "sync     idle");
  exports = exports_of (shop, (const char *const[]) { a, b, NULL });
  sync_assert_cloud_has (shop->cloud, exports, NULL);
}

/* Killed (SIGKILL) again and again while it sends to a slow cloud:
 * nothing lost, nothing twice. */
static void
test_agent_killed (void)
{
  const char *args[] = { "--slow-ms", "150", NULL };
  g_autoptr(Shop) shop = shop_new (args);
  g_autoptr(GPtrArray) exports = NULL;
  g_autofree char *a = NULL, *b = NULL, *c = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);

  login (shop);
  a = make_fitting (shop, "Guy of Gisborne", "trackman-tps-driver.csv", TRUE);
  b = make_fitting (shop, "Roger de Lacy", "flightscope-mevo-range.csv", TRUE);
  c = make_fitting (shop, "Isabella", "foresight-fsx-live-7i-lw.csv", FALSE);
  exclude_first_shot (shop, c);
  for (guint round = 0; round < 4; round++)
    {
      g_autoptr(GSubprocess) agent = start_agent (shop);

      g_usleep ((300 + g_rand_int_range (rand, 0, 700)) * 1000);
      stop_agent (agent, TRUE);
    }
  {
    g_autoptr(GSubprocess) agent = start_agent (shop);

    wait_synced (shop, WAIT_S);
    stop_agent (agent, FALSE);
  }
  exports = exports_of (shop, (const char *const[]) { a, b, c, NULL });
  sync_assert_cloud_has (shop->cloud, exports, NULL);
}

/* ---- TLS from the command line ------------------------------------------- */

static void
test_tls (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sync-cli-tls-XXXXXX", NULL);
  g_autofree char *cert = NULL, *key = NULL, *a = NULL, *input = NULL;
  g_autoptr(Shop) shop = NULL;
  g_autoptr(GPtrArray) exports = NULL;
  g_auto(Run) untrusted = { 0 }, trusted = { 0 }, now = { 0 };

  sync_make_certificate (dir, "cloud");
  cert = g_build_filename (dir, "cloud.pem", NULL);
  key = g_build_filename (dir, "cloud-key.pem", NULL);
  {
    const char *args[] = { "--tls-cert", cert, "--tls-key", key, NULL };
    shop = shop_new (args);
  }
  a = make_fitting (shop, "Allan Dale", "trackman-tps-2023-7iron.csv", TRUE);
  input = g_strdup_printf ("%s\n", shop->cloud->password);

  CTL_IN (shop, &untrusted, input, "--cloud", shop->cloud->url, "login", "--email", shop->cloud->email);
  g_assert_cmpint (untrusted.status, ==, 1);
  assert_contains (untrusted.err, "certificate");
  CTL_IN (shop, &trusted, input, "--cloud", shop->cloud->url, "--ca-file", cert, "login", "--email",
          shop->cloud->email);
  expect_ok (&trusted);
  CTL (shop, &now, "--cloud", shop->cloud->url, "--ca-file", cert, "sync", "now");
  expect_ok (&now);
  exports = exports_of (shop, (const char *const[]) { a, NULL });
  sync_assert_cloud_has (shop->cloud, exports, NULL);
  sync_remove_tree (dir);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  keyring = keyring_session_start (KEYRING_UNLOCKED, &error);
  g_assert_no_error (error);
  g_test_add_func ("/sync-cli/pair-and-sync", test_pair_and_sync);
  g_test_add_func ("/sync-cli/park-and-retry", test_park_and_retry);
  g_test_add_func ("/sync-cli/agent", test_agent);
  g_test_add_func ("/sync-cli/agent-killed", test_agent_killed);
  g_test_add_func ("/sync-cli/tls", test_tls);
  status = g_test_run ();
  keyring_session_stop (keyring);
  return status;
}
