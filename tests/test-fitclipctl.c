/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fitclipctl as a script sees it: exit codes 0 / 1 (bad input) / 2
 * (usage), messages that name the problem, JSON that parses. It keeps
 * customers' details in a private gnome-keyring started here, or runs
 * on without one.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "keyring-session.h"
#include "pii-helpers.h"

typedef struct {
  int   status;
  char *out;
  char *err;
} Run;

static char *tmpdir;
static char *db;
/* The session bus fitclipctl is run with: one with an unlocked keyring,
 * or one with no keyring at all. */
static const char *bus_address;
static KeyringSession *keyring;
static KeyringSession *no_keyring;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static void
run (Run *r, const char *const *args, const char *env_db)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (argv, (char *) g_getenv ("FITCLIPCTL"));
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", bus_address, TRUE);
  if (env_db)
    g_subprocess_launcher_setenv (launcher, "FITCLIP_DB", env_db, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "FITCLIP_DB");
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &r->out, &r->err, &error);
  g_assert_no_error (error);
  r->status = g_subprocess_get_exit_status (proc);
}

#define RUN(r, ...) run (r, (const char *const[]) { __VA_ARGS__, NULL }, NULL)

static JsonNode *
parse (const char *text)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (p, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (p));
}

static char *
fixture (const char *name)
{
  return g_build_filename (g_getenv ("FITCLIP_FIXTURES"), name, NULL);
}

static void
test_usage_errors (void)
{
  g_auto(Run) a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };

  RUN (&a, "--db", db);
  g_assert_cmpint (a.status, ==, 2);
  g_assert_nonnull (strstr (a.err, "Usage"));
  RUN (&b, "--db", db, "frobnicate");
  g_assert_cmpint (b.status, ==, 2);
  g_assert_nonnull (strstr (b.err, "frobnicate"));
  RUN (&c, "--db", db, "export", "1234abcd");
  g_assert_cmpint (c.status, ==, 2);
  g_assert_nonnull (strstr (c.err, "--format"));
  RUN (&d, "import", "--db", db, "--no-such-option", "x.csv");
  g_assert_cmpint (d.status, ==, 2);
}

static void
test_bad_input (void)
{
  g_autofree char *bad = g_build_filename (tmpdir, "bad.csv", NULL);
  g_autofree char *missing = g_build_filename (tmpdir, "missing.csv", NULL);
  g_auto(Run) a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };

  g_autofree char *tps = fixture ("trackman-tps-driver.csv");
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *broken = NULL;

  /* A real TrackMan header and units row, then a row whose club speed
   * is text. */
  g_assert_true (g_file_get_contents (tps, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", 4);
  broken = g_strdup_printf ("%s\n%s\nDriver,Premium,fast,0.775\n", lines[0], lines[1]);
  g_assert_true (g_file_set_contents (bad, broken, -1, NULL));
  RUN (&a, "--db", db, "import", bad);
  g_assert_cmpint (a.status, ==, 1);
  g_assert_nonnull (strstr (a.err, "bad.csv"));
  g_assert_nonnull (strstr (a.err, "line 3"));
  RUN (&b, "--db", db, "import", missing);
  g_assert_cmpint (b.status, ==, 1);
  g_assert_nonnull (strstr (b.err, "missing.csv"));
  RUN (&c, "--db", db, "stats", "abcdef12");
  g_assert_cmpint (c.status, ==, 1);
  g_assert_nonnull (strstr (c.err, "No fitting"));
  /* A folder is not a database. */
  RUN (&d, "--db", tmpdir, "doctor");
  g_assert_cmpint (d.status, ==, 1);
}

static void
test_workflow (void)
{
  g_autofree char *tps = fixture ("trackman-tps-driver.csv");
  g_autofree char *garmin = fixture ("garmin-r10-drivingrange.csv");
  g_autofree char *exported = g_build_filename (tmpdir, "export.json", NULL);
  g_autofree char *other_db = g_build_filename (tmpdir, "other.db", NULL);
  g_autofree char *fitting = NULL, *test_config = NULL;
  g_auto(Run) nf = { 0 }, base = { 0 }, test = { 0 }, imp = { 0 }, imp2 = { 0 }, st = { 0 };
  g_auto(Run) fl = { 0 }, sh = { 0 }, doc = { 0 }, ex = { 0 }, re = { 0 }, ex2 = { 0 }, csv = { 0 };
  g_autoptr(JsonNode) j = NULL;
  g_autofree char *first = NULL;
  JsonObject *o;

  RUN (&nf, "--db", db, "new-fitting", "--type", "driver", "--customer", "Pat Golfer", "--handedness", "left");
  g_assert_cmpint (nf.status, ==, 0);
  fitting = g_strstrip (g_strdup (nf.out));
  g_assert_true (g_uuid_string_is_valid (fitting));
  RUN (&base, "--db", db, "add-config", fitting, "--role", "baseline", "--label", "Own");
  g_assert_cmpint (base.status, ==, 0);
  RUN (&test, "--db", db, "add-config", fitting, "--role", "test", "--label", "Test A", "--loft", "9");
  g_assert_cmpint (test.status, ==, 0);
  test_config = g_strstrip (g_strdup (test.out));

  RUN (&imp, "--json", "--db", db, "import", tps, "--fitting", fitting);
  g_assert_cmpint (imp.status, ==, 0);
  j = parse (imp.out);
  o = json_node_get_object (j);
  g_assert_cmpint (json_object_get_int_member (o, "inserted"), ==, 500);
  g_assert_cmpstr (json_object_get_string_member (o, "format"), ==, "trackman-tps");
  g_clear_pointer (&j, json_node_unref);

  RUN (&imp2, "--db", db, "import", garmin, "--fitting", fitting, "--config", test_config);
  g_assert_cmpint (imp2.status, ==, 0);
  g_assert_nonnull (strstr (imp2.out, "Imported 30 shots"));

  RUN (&st, "--db", db, "--json", "stats", fitting);
  g_assert_cmpint (st.status, ==, 0);
  j = parse (st.out);
  {
    JsonArray *configs = json_object_get_array_member (json_node_get_object (j), "configs");
    JsonObject *t = json_array_get_object_element (configs, 1);
    g_assert_cmpuint (json_array_get_length (configs), ==, 2);
    g_assert_cmpint (json_object_get_int_member (t, "shots"), ==, 30);
    g_assert_true (json_object_has_member (json_object_get_object_member (t, "fields"), "carry_m"));
  }
  g_clear_pointer (&j, json_node_unref);

  /* FITCLIP_DB is the default database. */
  run (&fl, (const char *const[]) { "fittings", "--json", NULL }, db);
  g_assert_cmpint (fl.status, ==, 0);
  j = parse (fl.out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (j)), ==, 1);
  g_clear_pointer (&j, json_node_unref);

  RUN (&sh, "--db", db, "show", fitting);
  g_assert_cmpint (sh.status, ==, 0);
  g_assert_nonnull (strstr (sh.out, "Pat Golfer"));
  g_assert_nonnull (strstr (sh.out, "530 (0 excluded)"));
  /* With a keyring nothing warns. */
  g_assert_null (strstr (sh.err, "warning"));

  RUN (&doc, "--db", db, "doctor", "--json");
  g_assert_cmpint (doc.status, ==, 0);
  j = parse (doc.out);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (j), "ok"));
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (json_node_get_object (j), "counts"), "shots"), ==, 530);
  {
    JsonObject *pii = json_object_get_object_member (json_node_get_object (j), "customer_data");

    g_assert_true (json_object_get_boolean_member (pii, "encrypted"));
    g_assert_true (json_object_get_boolean_member (pii, "key_available"));
    g_assert_cmpint (json_object_get_int_member (pii, "readable"), ==, 1);
    g_assert_cmpuint (strlen (json_object_get_string_member (pii, "key_id")), ==, 16);
  }
  g_clear_pointer (&j, json_node_unref);

  /* export → import elsewhere → export: identical. */
  RUN (&ex, "--db", db, "export", fitting, "--format", "json", "-o", exported);
  g_assert_cmpint (ex.status, ==, 0);
  RUN (&re, "--db", other_db, "import", exported);
  g_assert_cmpint (re.status, ==, 0);
  RUN (&ex2, "--db", other_db, "export", fitting, "--format", "json");
  g_assert_cmpint (ex2.status, ==, 0);
  g_assert_true (g_file_get_contents (exported, &first, NULL, NULL));
  g_assert_cmpstr (first, ==, ex2.out);

  RUN (&csv, "--db", db, "export", fitting, "-f", "csv");
  g_assert_cmpint (csv.status, ==, 0);
  g_assert_true (g_str_has_prefix (csv.out, "shot_id,fitting_id,"));
}

/* The keyring goes away (a locked or missing keyring on the bay PC):
 * one warning per command, customers locked, everything else working. */
static void
test_without_keyring (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "locked.db", NULL);
  g_autofree char *fitting = NULL, *csv_path = fixture ("garmin-r10-drivingrange.csv");
  g_auto(Run) nf = { 0 }, base = { 0 }, nf2 = { 0 }, fl = { 0 }, sh = { 0 }, imp = { 0 };
  g_auto(Run) exj = { 0 }, exc = { 0 }, doc = { 0 }, back = { 0 };
  g_autoptr(JsonNode) j = NULL;
  const char *warning = "fitclipctl: warning: customer details are locked: ";

  bus_address = keyring_session_address (keyring);
  RUN (&nf, "--db", path, "new-fitting", "--type", "irons", "--customer", "Robin Locksley",
       "--email", "robin.canary@example.org", "--phone", "+44 20 7946 0999");
  g_assert_cmpint (nf.status, ==, 0);
  fitting = g_strstrip (g_strdup (nf.out));
  RUN (&base, "--db", path, "add-config", fitting, "--role", "baseline", "--label", "Own");
  g_assert_cmpint (base.status, ==, 0);
  /* What fitclipctl stored is ciphertext only. */
  g_assert_true (pii_db_files_contain (path, "Own"));
  g_assert_false (pii_db_files_contain (path, "Robin Locksley"));
  g_assert_false (pii_db_files_contain (path, "robin.canary"));
  g_assert_false (pii_db_files_contain (path, "7946 0999"));

  bus_address = keyring_session_address (no_keyring);

  /* New customers are refused, with the reason, and exactly one warning. */
  RUN (&nf2, "--db", path, "new-fitting", "--type", "driver", "--customer", "Marian");
  g_assert_cmpint (nf2.status, ==, 1);
  g_assert_true (g_str_has_prefix (nf2.err, warning));
  g_assert_null (strstr (nf2.err + strlen (warning), warning));
  g_assert_nonnull (strstr (nf2.err, "Customer details are locked because the keyring is not available: "
                                     "No keyring is running"));

  /* Listing, showing, importing shots and CSV export work. */
  RUN (&fl, "--db", path, "fittings", "--json");
  g_assert_cmpint (fl.status, ==, 0);
  g_assert_true (g_str_has_prefix (fl.err, warning));
  j = parse (fl.out);
  {
    JsonObject *first = json_array_get_object_element (json_node_get_array (j), 0);
    g_assert_true (json_object_get_boolean_member (first, "customer_locked"));
    g_assert_true (json_object_get_null_member (first, "customer_name"));
  }
  g_clear_pointer (&j, json_node_unref);
  RUN (&sh, "--db", path, "show", fitting);
  g_assert_cmpint (sh.status, ==, 0);
  g_assert_nonnull (strstr (sh.out, "details locked"));
  g_assert_null (strstr (sh.out, "Robin"));
  RUN (&imp, "--db", path, "import", csv_path, "--fitting", fitting);
  g_assert_cmpint (imp.status, ==, 0);
  g_assert_nonnull (strstr (imp.out, "Imported 30 shots"));
  RUN (&exc, "--db", path, "export", fitting, "-f", "csv");
  g_assert_cmpint (exc.status, ==, 0);

  /* A JSON backup without the customer's details is refused. */
  RUN (&exj, "--db", path, "export", fitting, "-f", "json");
  g_assert_cmpint (exj.status, ==, 1);
  g_assert_nonnull (strstr (exj.err, "locked"));

  /* doctor says what is wrong, and it is not a damaged database. */
  RUN (&doc, "--db", path, "doctor", "--json");
  g_assert_cmpint (doc.status, ==, 0);
  j = parse (doc.out);
  {
    JsonObject *pii = json_object_get_object_member (json_node_get_object (j), "customer_data");

    g_assert_false (json_object_get_boolean_member (pii, "key_available"));
    g_assert_nonnull (strstr (json_object_get_string_member (pii, "locked_reason"), "No keyring is running"));
    g_assert_cmpint (json_object_get_int_member (pii, "customers"), ==, 1);
  }
  g_clear_pointer (&j, json_node_unref);

  /* The keyring is back: nothing was lost. */
  bus_address = keyring_session_address (keyring);
  RUN (&back, "--db", path, "show", fitting);
  g_assert_cmpint (back.status, ==, 0);
  g_assert_nonnull (strstr (back.out, "Robin Locksley"));
  g_assert_nonnull (strstr (back.out, "30 (0 excluded)"));
}

int
main (int argc, char *argv[])
{
  int status;

  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("fitclipctl-XXXXXX", NULL);
  db = g_build_filename (tmpdir, "ctl.db", NULL);
  keyring = keyring_session_start (KEYRING_UNLOCKED, &error);
  g_assert_no_error (error);
  no_keyring = keyring_session_start (KEYRING_ABSENT, &error);
  g_assert_no_error (error);
  bus_address = keyring_session_address (keyring);
  g_test_add_func ("/fitclipctl/usage-errors", test_usage_errors);
  g_test_add_func ("/fitclipctl/bad-input", test_bad_input);
  g_test_add_func ("/fitclipctl/workflow", test_workflow);
  g_test_add_func ("/fitclipctl/without-keyring", test_without_keyring);
  status = g_test_run ();
  keyring_session_stop (no_keyring);
  keyring_session_stop (keyring);
  g_free (db);
  g_free (tmpdir);
  return status;
}
