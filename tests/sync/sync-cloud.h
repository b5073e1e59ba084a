/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "keyring-session.h"

G_BEGIN_DECLS

/*
 * Test helpers for the sync client and engine: a real fitclip-devcloud
 * process on 127.0.0.1 (port 0, or the port it had before a restart)
 * with a temporary database, one owner (owner@shop.test / secret-pw,
 * shop "Golf Lab") and the admin API on; and waiting for async results
 * with bounds.
 */

#define SYNC_CLOUD_ADMIN_TOKEN "sync-test-admin"

typedef struct {
  char        *dir;
  char        *db;
  char        *url;       /* http://127.0.0.1:PORT or https://... */
  guint16      port;
  char       **args;      /* the serve options it was started with */
  GSubprocess *process;
  char        *email;
  char        *password;
} SyncCloud;

/* Runs `fitclip-devcloud ARGS…` to completion; its stdout (asserts success). */
char      *sync_cloud_run      (const char *first_arg,
                                ...) G_GNUC_NULL_TERMINATED;
/* @extra_args: more serve options (may be NULL). */
SyncCloud *sync_cloud_start    (const char *const *extra_args);
/* Stops the server (SIGTERM), keeping its database and files. */
void       sync_cloud_halt     (SyncCloud         *cloud);
/* Starts it again on the same port with the same options. */
void       sync_cloud_resume   (SyncCloud         *cloud);
void       sync_cloud_free     (SyncCloud         *cloud);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SyncCloud, sync_cloud_free)

/* An /_admin call (JSON body or NULL); returns the parsed answer and
 * asserts a 200. */
JsonNode  *sync_cloud_admin    (SyncCloud         *cloud,
                                const char        *method,
                                const char        *path,
                                const char        *json_body);
/* `fitclip-devcloud dump` of the database. */
JsonNode  *sync_cloud_dump     (SyncCloud         *cloud);
/* The cloud holds every fitting of @exports (the agent's JSON exports,
 * JsonNode *) as the agent has it (sync_compare() of sync-compare.h:
 * fitting, customer, configurations and shots member by member, no shot
 * missing or twice, and the recap videos @videos names, fitting id ->
 * SHA-256 hex, may be NULL). Fittings not in @exports are not looked at.
 * Fails the test with the differences. */
void       sync_assert_cloud_has (SyncCloud       *cloud,
                                  GPtrArray       *exports,
                                  GHashTable      *videos);
/* A one-time pairing code for the owner. */
char      *sync_cloud_pair_code (SyncCloud        *cloud);
/* SQL run on the server's database from outside (what no endpoint
 * offers: expiring access tokens early). */
void       sync_cloud_sql      (SyncCloud         *cloud,
                                const char        *sql);
/* The first column of the first row of a query on the server's database. */
gint64     sync_cloud_sql_int  (SyncCloud         *cloud,
                                const char        *sql);

/* Iterates the thread-default main context until *@done is TRUE or
 * @timeout_s pass; asserts it got done. */
void       sync_wait_flag      (gboolean          *done,
                                guint              timeout_s);
/* A GAsyncReadyCallback that stores the result in *(GAsyncResult **) user_data. */
void       sync_store_result   (GObject           *source,
                                GAsyncResult      *result,
                                gpointer           user_data);
/* Iterates until *@result is set (bounded); returns it. */
GAsyncResult *sync_wait_result (GAsyncResult     **result,
                                guint              timeout_s);

JsonNode  *sync_parse_json     (const char        *text);
JsonNode  *sync_json_at        (JsonNode          *root,
                                const char        *dotted_path);

/* In a keyring test case: the first time (in the test process) runs the
 * case again in a g_test_trap_subprocess() child on @keyring's bus and
 * asserts it passed, returning FALSE; in that child, joins the bus and
 * returns TRUE (libsecret and GDBus keep one session bus per process). */
gboolean   sync_in_keyring_child (KeyringSession  *keyring,
                                  guint            timeout_s);

/* A self-signed certificate for 127.0.0.1, DIR/NAME.pem with its key in
 * DIR/NAME-key.pem, made with the openssl program (which
 * tools/install-deps.sh installs; without it the test fails). */
void       sync_make_certificate (const char      *dir,
                                  const char      *name);

/* Removes a folder and everything in it. */
void       sync_remove_tree    (const char        *path);

G_END_DECLS
