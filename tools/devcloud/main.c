/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-devcloud"

#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "devcloud.h"

#ifdef G_OS_UNIX
#include <glib-unix.h>
#endif

/*
 * fitclip-devcloud: the reference cloud for development, demonstrations
 * and the sync tests. `serve` runs the API of docs/cloud-api.yaml; the
 * other subcommands manage its database from the command line.
 */

typedef int (*CommandFunc) (int argc, char **argv);

static int
usage_error (GOptionContext *context,
             const char     *message)
{
  g_printerr ("fitclip-devcloud: %s\n", message);
  if (context)
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);
      g_printerr ("\n%s", help);
    }
  return DC_EXIT_USAGE;
}

static gboolean
parse (GOptionContext      *context,
       const GOptionEntry  *entries,
       int                 *argc,
       char              ***argv,
       int                 *status)
{
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *status = usage_error (context, error->message);
      return FALSE;
    }
  if (*argc > 1)
    {
      *status = usage_error (context, "unexpected arguments");
      return FALSE;
    }
  return TRUE;
}

static char *
default_files_dir (const char *db_path)
{
  return g_strconcat (db_path, ".files", NULL);
}

/* ---- serve ------------------------------------------------------------- */

static gboolean
on_signal (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_CONTINUE;
}

static gboolean
check_probability (const char *name,
                   double      p,
                   int        *status)
{
  if (p >= 0 && p <= 1)
    return TRUE;
  g_printerr ("fitclip-devcloud: --%s must be a probability from 0 to 1\n", name);
  *status = DC_EXIT_USAGE;
  return FALSE;
}

static int
cmd_serve (int    argc,
           char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- run the reference cloud");
  g_autofree char *db = NULL, *files_dir = NULL, *listen = NULL, *tls_cert = NULL, *tls_key = NULL;
  g_autofree char *admin_token = NULL;
  gint64 access_ttl = 900, refresh_ttl = 30 * 24 * 3600, upload_ttl = 24 * 3600, max_upload = G_GINT64_CONSTANT (4) << 30;
  gint64 seed = -1;
  DcConfig config = { 0 };
  DcFaults *f = &config.faults;
  int status = DC_EXIT_OK, retry_after = 1, slow_ms = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  DcServer *server;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "SQLite database (created when missing)", "PATH" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Address and port (default 127.0.0.1:8080; port 0 picks one)",
      "ADDR:PORT" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &tls_cert, "Serve https with this PEM certificate", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &tls_key, "The certificate's PEM private key", "FILE" },
    { "files-dir", 0, 0, G_OPTION_ARG_FILENAME, &files_dir, "Where uploads are stored (default PATH.files)", "DIR" },
    { "access-ttl", 0, 0, G_OPTION_ARG_INT64, &access_ttl, "Access token lifetime (default 900)", "SECONDS" },
    { "refresh-ttl", 0, 0, G_OPTION_ARG_INT64, &refresh_ttl, "Refresh token lifetime (default 30 days)", "SECONDS" },
    { "upload-ttl", 0, 0, G_OPTION_ARG_INT64, &upload_ttl, "Unfinished upload lifetime (default 24 h)", "SECONDS" },
    { "max-upload", 0, 0, G_OPTION_ARG_INT64, &max_upload, "Tus-Max-Size (default 4 GiB)", "BYTES" },
    { "admin-token", 0, 0, G_OPTION_ARG_STRING, &admin_token, "Enable /_admin with this bearer token", "TOKEN" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the fault dice (default: random)", "N" },
    { "fail-500", 0, 0, G_OPTION_ARG_DOUBLE, &f->fail_500, "Answer 500 before processing", "P" },
    { "fail-503", 0, 0, G_OPTION_ARG_DOUBLE, &f->fail_503, "Answer 503 with Retry-After", "P" },
    { "fail-429", 0, 0, G_OPTION_ARG_DOUBLE, &f->fail_429, "Answer 429 with Retry-After", "P" },
    { "retry-after", 0, 0, G_OPTION_ARG_INT, &retry_after, "Retry-After of 429 and 503 (default 1)", "SECONDS" },
    { "drop-request", 0, 0, G_OPTION_ARG_DOUBLE, &f->drop_request,
      "Close the connection without processing (mid-body when there is one)", "P" },
    { "drop-response", 0, 0, G_OPTION_ARG_DOUBLE, &f->drop_response,
      "Process, then send the status line and part of the answer and close", "P" },
    { "lose-response", 0, 0, G_OPTION_ARG_DOUBLE, &f->lose_response, "Process and commit, then close silently", "P" },
    { "slow-ms", 0, 0, G_OPTION_ARG_INT, &slow_ms, "Delay every answer", "MS" },
    { "checksum-mismatch", 0, 0, G_OPTION_ARG_DOUBLE, &f->checksum_mismatch,
      "Answer 460 to a tus PATCH with Upload-Checksum (chunk discarded)", "P" },
    { "max-ball-speed", 0, 0, G_OPTION_ARG_DOUBLE, &f->max_ball_speed_mps,
      "Refuse shots faster than this (422 invalid_shot), as a stricter cloud would", "M/S" },
    { NULL }
  };

  g_option_context_set_summary (context,
                                "Serves docs/cloud-api.yaml. The first line on stdout is\n"
                                "“listening on http://ADDR:PORT”. Fault probabilities apply per request;\n"
                                "/_admin is never faulted.");
  if (!parse (context, entries, &argc, &argv, &status))
    return status;
  if (db == NULL)
    return usage_error (context, "--db is required");
  if ((tls_cert == NULL) != (tls_key == NULL))
    return usage_error (context, "--tls-cert and --tls-key go together");
  if (access_ttl <= 0 || refresh_ttl <= 0 || upload_ttl <= 0 || max_upload <= 0 || retry_after < 0 || slow_ms < 0)
    return usage_error (context, "lifetimes, sizes and delays must be positive");
  if (!check_probability ("fail-500", f->fail_500, &status) ||
      !check_probability ("fail-503", f->fail_503, &status) ||
      !check_probability ("fail-429", f->fail_429, &status) ||
      !check_probability ("drop-request", f->drop_request, &status) ||
      !check_probability ("drop-response", f->drop_response, &status) ||
      !check_probability ("lose-response", f->lose_response, &status) ||
      !check_probability ("checksum-mismatch", f->checksum_mismatch, &status))
    return status;

  config.db_path = db;
  config.files_dir = files_dir ? files_dir : (files_dir = default_files_dir (db));
  config.listen = listen ? listen : "127.0.0.1:8080";
  config.tls_cert = tls_cert;
  config.tls_key = tls_key;
  config.admin_token = admin_token;
  config.access_ttl_s = access_ttl;
  config.refresh_ttl_s = refresh_ttl;
  config.upload_ttl_s = upload_ttl;
  config.max_upload = max_upload;
  config.have_seed = seed >= 0;
  config.seed = seed;
  f->retry_after = retry_after;
  f->slow_ms = slow_ms;

  server = dc_server_new (&config, &error);
  if (server == NULL || !dc_server_listen (server, &error))
    {
      g_printerr ("fitclip-devcloud: %s\n", error->message);
      dc_server_free (server);
      return DC_EXIT_FAILED;
    }
  loop = g_main_loop_new (NULL, FALSE);
#ifdef G_OS_UNIX
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_unix_signal_add (SIGTERM, on_signal, loop);
#endif
  g_main_loop_run (loop);
  dc_server_free (server);
  return DC_EXIT_OK;
}

/* ---- database commands ------------------------------------------------- */

static DcStore *
open_store (const char *db,
            gboolean    read_only)
{
  g_autoptr(GError) error = NULL;
  DcStore *store;

  if (read_only && !g_file_test (db, G_FILE_TEST_EXISTS))
    {
      g_printerr ("fitclip-devcloud: %s does not exist\n", db);
      return NULL;
    }
  store = dc_store_open (db, read_only, &error);
  if (store == NULL)
    g_printerr ("fitclip-devcloud: %s\n", error->message);
  return store;
}

static int
cmd_add_user (int    argc,
              char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- create a shop owner's account");
  g_autofree char *db = NULL, *email = NULL, *password = NULL, *shop = NULL, *id = NULL;
  g_autoptr(GError) error = NULL;
  DcStore *store;
  int status = DC_EXIT_OK;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "SQLite database", "PATH" },
    { "email", 0, 0, G_OPTION_ARG_STRING, &email, "Login email", "EMAIL" },
    { "password", 0, 0, G_OPTION_ARG_STRING, &password, "Password (stored as PBKDF2-HMAC-SHA256)", "PASSWORD" },
    { "shop", 0, 0, G_OPTION_ARG_STRING, &shop, "Shop name (created when new)", "NAME" },
    { NULL }
  };

  if (!parse (context, entries, &argc, &argv, &status))
    return status;
  if (!db || !email || !password || !shop)
    return usage_error (context, "--db, --email, --password and --shop are required");
  store = open_store (db, FALSE);
  if (store == NULL)
    return DC_EXIT_FAILED;
  if (!dc_add_user (store, email, password, shop, &id, &error))
    {
      g_printerr ("fitclip-devcloud: %s\n", error->message);
      dc_store_free (store);
      return DC_EXIT_FAILED;
    }
  g_print ("%s\n", id);
  dc_store_free (store);
  return DC_EXIT_OK;
}

static int
cmd_pair_code (int    argc,
               char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- make a one-time pairing code for a user's shop");
  g_autofree char *db = NULL, *email = NULL, *user_id = NULL, *shop_id = NULL, *code = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3_stmt *stmt;
  DcStore *store;
  int status = DC_EXIT_OK;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "SQLite database", "PATH" },
    { "email", 0, 0, G_OPTION_ARG_STRING, &email, "The shop owner's email", "EMAIL" },
    { NULL }
  };

  if (!parse (context, entries, &argc, &argv, &status))
    return status;
  if (!db || !email)
    return usage_error (context, "--db and --email are required");
  store = open_store (db, FALSE);
  if (store == NULL)
    return DC_EXIT_FAILED;
  stmt = dc_store_stmt (store, "SELECT id, shop_id FROM users WHERE email = ?");
  dc_bind_text (stmt, 1, email);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      user_id = dc_column_dup (stmt, 0);
      shop_id = dc_column_dup (stmt, 1);
    }
  sqlite3_reset (stmt);
  if (user_id == NULL)
    {
      g_printerr ("fitclip-devcloud: no user %s\n", email);
      status = DC_EXIT_FAILED;
    }
  else if ((code = dc_make_pair_code (store, shop_id, user_id, &error)) == NULL)
    {
      g_printerr ("fitclip-devcloud: %s\n", error->message);
      status = DC_EXIT_FAILED;
    }
  else
    g_print ("%s\n", code);
  dc_store_free (store);
  return status;
}

static int
cmd_revoke_device (int    argc,
                   char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- unpair a device (its tokens stop working)");
  g_autofree char *db = NULL, *device_id = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3_stmt *stmt;
  DcStore *store;
  int status = DC_EXIT_OK;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "SQLite database", "PATH" },
    { "device-id", 0, 0, G_OPTION_ARG_STRING, &device_id, "The device", "UUID" },
    { NULL }
  };

  if (!parse (context, entries, &argc, &argv, &status))
    return status;
  if (!db || !device_id)
    return usage_error (context, "--db and --device-id are required");
  store = open_store (db, FALSE);
  if (store == NULL)
    return DC_EXIT_FAILED;
  stmt = dc_store_stmt (store, "UPDATE devices SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?");
  sqlite3_bind_int64 (stmt, 1, g_get_real_time ());
  dc_bind_text (stmt, 2, device_id);
  if (!dc_store_step_done (store, stmt, &error))
    {
      g_printerr ("fitclip-devcloud: %s\n", error->message);
      status = DC_EXIT_FAILED;
    }
  else if (sqlite3_changes (store->db) == 0)
    {
      g_printerr ("fitclip-devcloud: no device %s\n", device_id);
      status = DC_EXIT_FAILED;
    }
  dc_store_free (store);
  return status;
}

static int
cmd_set_branding (int    argc,
                  char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- set a shop's logo, colours and contact");
  g_autofree char *db = NULL, *shop = NULL, *logo = NULL;
  char *values[7] = { NULL };
  const char *pairs[15] = { NULL };
  static const char *columns[7] = {
    "primary_color", "secondary_color", "accent_color", "phone", "email", "website", "address",
  };
  g_autoptr(GError) error = NULL;
  DcStore *store;
  int status = DC_EXIT_OK;
  guint n = 0;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "SQLite database", "PATH" },
    { "shop", 0, 0, G_OPTION_ARG_STRING, &shop, "Shop name (created when new)", "NAME" },
    { "primary", 0, 0, G_OPTION_ARG_STRING, &values[0], "Primary colour", "#RRGGBB" },
    { "secondary", 0, 0, G_OPTION_ARG_STRING, &values[1], "Secondary colour", "#RRGGBB" },
    { "accent", 0, 0, G_OPTION_ARG_STRING, &values[2], "Accent colour", "#RRGGBB" },
    { "phone", 0, 0, G_OPTION_ARG_STRING, &values[3], "Phone", "TEXT" },
    { "email", 0, 0, G_OPTION_ARG_STRING, &values[4], "Email", "TEXT" },
    { "website", 0, 0, G_OPTION_ARG_STRING, &values[5], "Website", "URL" },
    { "address", 0, 0, G_OPTION_ARG_STRING, &values[6], "Postal address", "TEXT" },
    { "logo", 0, 0, G_OPTION_ARG_FILENAME, &logo, "Logo image (PNG, JPEG, SVG)", "FILE" },
    { NULL }
  };

  if (!parse (context, entries, &argc, &argv, &status))
    goto out;
  if (!db || !shop)
    {
      status = usage_error (context, "--db and --shop are required");
      goto out;
    }
  for (guint i = 0; i < G_N_ELEMENTS (columns); i++)
    if (values[i])
      {
        pairs[n++] = columns[i];
        pairs[n++] = values[i];
      }
  store = open_store (db, FALSE);
  if (store == NULL)
    {
      status = DC_EXIT_FAILED;
      goto out;
    }
  if (!dc_set_branding (store, shop, pairs, logo, &error))
    {
      g_printerr ("fitclip-devcloud: %s\n", error->message);
      status = DC_EXIT_FAILED;
    }
  dc_store_free (store);
out:
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    g_free (values[i]);
  return status;
}

static int
cmd_dump (int    argc,
          char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- print everything the database holds as JSON");
  g_autofree char *db = NULL, *files_dir = NULL, *json = NULL;
  g_autoptr(GError) error = NULL;
  DcStore *store;
  int status = DC_EXIT_OK;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "SQLite database", "PATH" },
    { "files-dir", 0, 0, G_OPTION_ARG_FILENAME, &files_dir, "Where uploads are stored (default PATH.files)", "DIR" },
    { NULL }
  };

  if (!parse (context, entries, &argc, &argv, &status))
    return status;
  if (!db)
    return usage_error (context, "--db is required");
  if (files_dir == NULL)
    files_dir = default_files_dir (db);
  store = open_store (db, TRUE);
  if (store == NULL)
    return DC_EXIT_FAILED;
  json = dc_dump (store, files_dir, &error);
  if (json == NULL)
    {
      g_printerr ("fitclip-devcloud: %s\n", error->message);
      status = DC_EXIT_FAILED;
    }
  else
    g_print ("%s\n", json);
  dc_store_free (store);
  return status;
}

static const struct {
  const char  *name;
  const char  *summary;
  CommandFunc  func;
} commands[] = {
  { "serve", "run the cloud API (docs/cloud-api.yaml)", cmd_serve },
  { "add-user", "create a shop owner's account", cmd_add_user },
  { "pair-code", "make a one-time pairing code", cmd_pair_code },
  { "revoke-device", "unpair a device", cmd_revoke_device },
  { "set-branding", "set a shop's logo, colours and contact", cmd_set_branding },
  { "dump", "print the database as JSON", cmd_dump },
};

static void
print_commands (FILE *out)
{
  fprintf (out, "Usage: fitclip-devcloud COMMAND [OPTION…]\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-15s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\n“fitclip-devcloud COMMAND --help” lists a command's options.\n");
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");

  if (argc < 2)
    {
      print_commands (stderr);
      return DC_EXIT_USAGE;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      print_commands (stdout);
      return DC_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      g_print ("fitclip-devcloud %s\n", PACKAGE_VERSION);
      return DC_EXIT_OK;
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].func (argc - 1, argv + 1);
  g_printerr ("fitclip-devcloud: unknown command “%s”\n\n", argv[1]);
  print_commands (stderr);
  return DC_EXIT_USAGE;
}
