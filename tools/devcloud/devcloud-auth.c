/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-devcloud"

#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "devcloud.h"
#include "fc-error.h"

/*
 * Login, refresh, pairing and logout (docs/cloud-sync.md). Tokens are
 * opaque random strings stored only as SHA-256 hashes. Device refresh
 * tokens never rotate and their expiry slides on each use, so that a
 * shop PC that crashes between our answer and its own save is never
 * locked out.
 */

#define PBKDF2_ITERATIONS 210000
#define SALT_LEN          16
#define HASH_LEN          32

static gboolean
member_string (DcRequest   *req,
               JsonObject  *o,
               const char  *key,
               gsize        max_len,
               const char **out)
{
  JsonNode *node = json_object_get_member (o, key);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING ||
      *json_node_get_string (node) == '\0' || strlen (json_node_get_string (node)) > max_len)
    {
      dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "bad_request",
                        "“%s” must be a non-empty string of at most %" G_GSIZE_FORMAT " bytes", key, max_len);
      return FALSE;
    }
  *out = json_node_get_string (node);
  return TRUE;
}

char *
dc_issue_access_token (DcServer        *server,
                       DcPrincipalKind  kind,
                       const char      *principal_id,
                       const char      *shop_id,
                       GError         **error)
{
  g_autofree char *token = dc_random_token ("fca_");
  g_autofree char *hash = dc_token_hash (token);
  sqlite3_stmt *stmt = dc_store_stmt (server->store,
                                      "INSERT INTO access_tokens (hash, kind, principal_id, shop_id, expires_at)"
                                      " VALUES (?, ?, ?, ?, ?)");

  dc_bind_text (stmt, 1, hash);
  dc_bind_text (stmt, 2, kind == DC_PRINCIPAL_DEVICE ? "device" : "user");
  dc_bind_text (stmt, 3, principal_id);
  dc_bind_text (stmt, 4, shop_id);
  sqlite3_bind_int64 (stmt, 5, g_get_real_time () + server->config.access_ttl_s * G_USEC_PER_SEC);
  if (!dc_store_step_done (server->store, stmt, error))
    return NULL;
  return g_steal_pointer (&token);
}

static void
write_token_fields (FcJsonWriter *w,
                    const char   *access,
                    gint64        expires_in,
                    const char   *refresh,
                    gint64        refresh_expires_in)
{
  fc_json_writer_key (w, "access_token");
  fc_json_writer_string (w, access);
  fc_json_writer_key (w, "token_type");
  fc_json_writer_string (w, "Bearer");
  fc_json_writer_key (w, "expires_in");
  fc_json_writer_int (w, expires_in);
  if (refresh)
    {
      fc_json_writer_key (w, "refresh_token");
      fc_json_writer_string (w, refresh);
    }
  fc_json_writer_key (w, "refresh_expires_in");
  fc_json_writer_int (w, refresh_expires_in);
}

static void
internal_error (DcRequest *req,
                GError    *error)
{
  dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "%s",
                    error ? error->message : "unknown failure");
}

/* ---- users --------------------------------------------------------------- */

gboolean
dc_add_user (DcStore     *store,
             const char  *email,
             const char  *password,
             const char  *shop,
             char       **user_id,
             GError     **error)
{
  guint8 salt[SALT_LEN], hash[HASH_LEN];
  g_autofree char *shop_id = NULL;
  g_autofree char *id = g_uuid_string_random ();
  sqlite3_stmt *stmt;

  if (strchr (email, '@') == NULL || *password == '\0')
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                           "An email address and a non-empty password are needed");
      return FALSE;
    }
  if (RAND_bytes (salt, sizeof salt) != 1 ||
      !dc_hash_password (password, salt, sizeof salt, PBKDF2_ITERATIONS, hash, sizeof hash))
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_FAILED, "OpenSSL could not hash the password");
      return FALSE;
    }
  if (!dc_store_begin (store, error))
    return FALSE;
  shop_id = dc_store_ensure_shop (store, shop, error);
  if (shop_id == NULL)
    goto fail;
  stmt = dc_store_stmt (store,
                        "INSERT INTO users (id, email, shop_id, pw_salt, pw_hash, pw_iterations, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)");
  dc_bind_text (stmt, 1, id);
  dc_bind_text (stmt, 2, email);
  dc_bind_text (stmt, 3, shop_id);
  sqlite3_bind_blob (stmt, 4, salt, sizeof salt, SQLITE_TRANSIENT);
  sqlite3_bind_blob (stmt, 5, hash, sizeof hash, SQLITE_TRANSIENT);
  sqlite3_bind_int (stmt, 6, PBKDF2_ITERATIONS);
  sqlite3_bind_int64 (stmt, 7, g_get_real_time ());
  if (!dc_store_step_done (store, stmt, error))
    {
      if (g_error_matches (*error, FC_ERROR, FC_ERROR_CONFLICT))
        {
          g_clear_error (error);
          g_set_error (error, FC_ERROR, FC_ERROR_CONFLICT, "A user with the email %s exists already", email);
        }
      goto fail;
    }
  if (!dc_store_commit (store, error))
    return FALSE;
  if (user_id)
    *user_id = g_steal_pointer (&id);
  return TRUE;

fail:
  dc_store_rollback (store);
  return FALSE;
}

/* TRUE and the user's id and shop when the password is right. The hash
 * is computed even for an unknown email, so that timing does not tell
 * which emails have accounts. */
static gboolean
check_password (DcStore     *store,
                const char  *email,
                const char  *password,
                char       **user_id,
                char       **shop_id)
{
  sqlite3_stmt *stmt = dc_store_stmt (store,
                                      "SELECT id, shop_id, pw_salt, pw_hash, pw_iterations FROM users WHERE email = ?");
  guint8 salt[SALT_LEN] = { 0 }, stored[HASH_LEN] = { 0 }, computed[HASH_LEN];
  int iterations = PBKDF2_ITERATIONS;
  gboolean found = FALSE;

  dc_bind_text (stmt, 1, email);
  if (sqlite3_step (stmt) == SQLITE_ROW &&
      sqlite3_column_bytes (stmt, 2) == SALT_LEN && sqlite3_column_bytes (stmt, 3) == HASH_LEN)
    {
      *user_id = dc_column_dup (stmt, 0);
      *shop_id = dc_column_dup (stmt, 1);
      memcpy (salt, sqlite3_column_blob (stmt, 2), SALT_LEN);
      memcpy (stored, sqlite3_column_blob (stmt, 3), HASH_LEN);
      iterations = sqlite3_column_int (stmt, 4);
      found = TRUE;
    }
  sqlite3_reset (stmt);
  if (!dc_hash_password (password, salt, sizeof salt, iterations, computed, sizeof computed))
    found = FALSE;
  return CRYPTO_memcmp (stored, computed, HASH_LEN) == 0 && found;
}

void
dc_route_login (DcRequest *req)
{
  DcServer *self = req->server;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonObject *o = dc_request_json (req, parser);
  const char *email, *password;
  g_autofree char *user_id = NULL, *shop_id = NULL;
  g_autofree char *access = NULL, *refresh = NULL, *refresh_hash = NULL;
  g_autoptr(GError) error = NULL;
  FcJsonWriter *w;
  sqlite3_stmt *stmt;

  if (o == NULL || !member_string (req, o, "email", 320, &email) ||
      !member_string (req, o, "password", 1024, &password))
    return;
  if (!check_password (self->store, email, password, &user_id, &shop_id))
    {
      dc_respond_error (req, SOUP_STATUS_UNAUTHORIZED, "invalid_credentials", "Wrong email or password");
      return;
    }

  refresh = dc_random_token ("fcr_");
  refresh_hash = dc_token_hash (refresh);
  stmt = dc_store_stmt (self->store, "INSERT INTO user_refresh_tokens (hash, user_id, expires_at) VALUES (?, ?, ?)");
  dc_bind_text (stmt, 1, refresh_hash);
  dc_bind_text (stmt, 2, user_id);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time () + self->config.refresh_ttl_s * G_USEC_PER_SEC);
  if (!dc_store_step_done (self->store, stmt, &error) ||
      !(access = dc_issue_access_token (self, DC_PRINCIPAL_USER, user_id, shop_id, &error)))
    {
      internal_error (req, error);
      return;
    }

  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (w);
  write_token_fields (w, access, self->config.access_ttl_s, refresh, self->config.refresh_ttl_s);
  fc_json_writer_key (w, "user");
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "id");
  fc_json_writer_string (w, user_id);
  fc_json_writer_key (w, "email");
  fc_json_writer_string (w, email);
  fc_json_writer_key (w, "shop_id");
  fc_json_writer_string (w, shop_id);
  fc_json_writer_end_object (w);
  fc_json_writer_end_object (w);
  dc_respond_writer (req, SOUP_STATUS_OK, w);
}

void
dc_route_refresh (DcRequest *req)
{
  DcServer *self = req->server;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonObject *o = dc_request_json (req, parser);
  const char *refresh;
  g_autofree char *hash = NULL, *principal = NULL, *shop_id = NULL, *access = NULL;
  g_autoptr(GError) error = NULL;
  gboolean device, found = FALSE, revoked = FALSE;
  gint64 now = g_get_real_time (), expires_at = 0;
  sqlite3_stmt *stmt;
  FcJsonWriter *w;

  if (o == NULL || !member_string (req, o, "refresh_token", 200, &refresh))
    return;
  hash = dc_token_hash (refresh);
  device = g_str_has_prefix (refresh, "fcd_");
  stmt = dc_store_stmt (self->store,
                        device
                        ? "SELECT id, shop_id, refresh_expires_at, revoked_at IS NOT NULL FROM devices WHERE refresh_hash = ?"
                        : "SELECT u.id, u.shop_id, t.expires_at, 0 FROM user_refresh_tokens t"
                          " JOIN users u ON u.id = t.user_id WHERE t.hash = ?");
  dc_bind_text (stmt, 1, hash);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      found = TRUE;
      principal = dc_column_dup (stmt, 0);
      shop_id = dc_column_dup (stmt, 1);
      expires_at = sqlite3_column_int64 (stmt, 2);
      revoked = sqlite3_column_int (stmt, 3);
    }
  sqlite3_reset (stmt);

  if (!found)
    {
      dc_respond_error (req, SOUP_STATUS_UNAUTHORIZED, "invalid_refresh_token",
                        "This refresh token was never issued or was logged out");
      return;
    }
  if (revoked)
    {
      dc_respond_error (req, SOUP_STATUS_UNAUTHORIZED, "pairing_revoked",
                        "This device was unpaired from the shop's account; pair it again");
      return;
    }
  if (expires_at <= now)
    {
      dc_respond_error (req, SOUP_STATUS_UNAUTHORIZED, "refresh_expired",
                        device ? "The device's pairing expired after a long time without sync; pair it again"
                               : "The login expired; log in again");
      return;
    }

  if (device)
    {
      expires_at = now + self->config.refresh_ttl_s * G_USEC_PER_SEC;
      stmt = dc_store_stmt (self->store, "UPDATE devices SET refresh_expires_at = ?, last_used_at = ? WHERE id = ?");
      sqlite3_bind_int64 (stmt, 1, expires_at);
      sqlite3_bind_int64 (stmt, 2, now);
      dc_bind_text (stmt, 3, principal);
      if (!dc_store_step_done (self->store, stmt, &error))
        {
          internal_error (req, error);
          return;
        }
    }
  access = dc_issue_access_token (self, device ? DC_PRINCIPAL_DEVICE : DC_PRINCIPAL_USER, principal, shop_id, &error);
  if (access == NULL)
    {
      internal_error (req, error);
      return;
    }
  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (w);
  write_token_fields (w, access, self->config.access_ttl_s, NULL, (expires_at - now) / G_USEC_PER_SEC);
  fc_json_writer_end_object (w);
  dc_respond_writer (req, SOUP_STATUS_OK, w);
}

/* Creates a device and answers 201 with its refresh token. */
static void
create_device (DcRequest  *req,
               const char *shop_id,
               const char *user_id,
               const char *name,
               const char *platform)
{
  DcServer *self = req->server;
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *refresh = dc_random_token ("fcd_");
  g_autofree char *hash = dc_token_hash (refresh);
  g_autoptr(GError) error = NULL;
  gint64 now = g_get_real_time ();
  sqlite3_stmt *stmt;
  FcJsonWriter *w;

  stmt = dc_store_stmt (self->store,
                        "INSERT INTO devices (id, shop_id, user_id, name, platform, refresh_hash,"
                        " refresh_expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  dc_bind_text (stmt, 1, id);
  dc_bind_text (stmt, 2, shop_id);
  dc_bind_text (stmt, 3, user_id);
  dc_bind_text (stmt, 4, name);
  dc_bind_text (stmt, 5, platform);
  dc_bind_text (stmt, 6, hash);
  sqlite3_bind_int64 (stmt, 7, now + self->config.refresh_ttl_s * G_USEC_PER_SEC);
  sqlite3_bind_int64 (stmt, 8, now);
  if (!dc_store_step_done (self->store, stmt, &error))
    {
      internal_error (req, error);
      return;
    }
  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "device_id");
  fc_json_writer_string (w, id);
  fc_json_writer_key (w, "refresh_token");
  fc_json_writer_string (w, refresh);
  fc_json_writer_key (w, "refresh_expires_in");
  fc_json_writer_int (w, self->config.refresh_ttl_s);
  fc_json_writer_key (w, "shop_id");
  fc_json_writer_string (w, shop_id);
  fc_json_writer_end_object (w);
  dc_respond_writer (req, SOUP_STATUS_CREATED, w);
}

static DcPrincipal *
require_user (DcRequest *req)
{
  DcPrincipal *p = dc_authenticate (req);

  if (p && p->kind != DC_PRINCIPAL_USER)
    {
      dc_respond_error (req, SOUP_STATUS_FORBIDDEN, "user_required",
                        "Only the shop's owner can do this, not a paired device");
      return NULL;
    }
  return p;
}

void
dc_route_devices_post (DcRequest *req)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  DcPrincipal *p = require_user (req);
  JsonObject *o;
  const char *name, *platform;

  if (p == NULL || (o = dc_request_json (req, parser)) == NULL ||
      !member_string (req, o, "name", 200, &name) || !member_string (req, o, "platform", 50, &platform))
    return;
  create_device (req, p->shop_id, p->id, name, platform);
}

char *
dc_make_pair_code (DcStore     *store,
                   const char  *shop_id,
                   const char  *user_id,
                   GError     **error)
{
  g_autofree char *code = dc_new_pair_code ();
  sqlite3_stmt *stmt = dc_store_stmt (store,
                                      "INSERT INTO pair_codes (code, shop_id, user_id, expires_at) VALUES (?, ?, ?, ?)");

  dc_bind_text (stmt, 1, code);
  dc_bind_text (stmt, 2, shop_id);
  dc_bind_text (stmt, 3, user_id);
  sqlite3_bind_int64 (stmt, 4, g_get_real_time () + (gint64) DC_PAIR_CODE_TTL_S * G_USEC_PER_SEC);
  if (!dc_store_step_done (store, stmt, error))
    return NULL;
  return g_strdup_printf ("%.4s-%.4s", code, code + 4);
}

void
dc_route_pair_codes (DcRequest *req)
{
  DcPrincipal *p = require_user (req);
  g_autoptr(GError) error = NULL;
  g_autofree char *code = NULL;
  FcJsonWriter *w;

  if (p == NULL)
    return;
  code = dc_make_pair_code (req->server->store, p->shop_id, p->id, &error);
  if (code == NULL)
    {
      internal_error (req, error);
      return;
    }
  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "code");
  fc_json_writer_string (w, code);
  fc_json_writer_key (w, "expires_in");
  fc_json_writer_int (w, DC_PAIR_CODE_TTL_S);
  fc_json_writer_end_object (w);
  dc_respond_writer (req, SOUP_STATUS_CREATED, w);
}

void
dc_route_pair (DcRequest *req)
{
  DcServer *self = req->server;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonObject *o = dc_request_json (req, parser);
  const char *code, *name, *platform;
  g_autofree char *normal = NULL, *shop_id = NULL, *user_id = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3_stmt *stmt;

  if (o == NULL || !member_string (req, o, "code", 64, &code) ||
      !member_string (req, o, "name", 200, &name) || !member_string (req, o, "platform", 50, &platform))
    return;
  normal = dc_normalize_pair_code (code);
  stmt = dc_store_stmt (self->store,
                        "UPDATE pair_codes SET used_at = ?1 WHERE code = ?2 AND used_at IS NULL AND expires_at > ?1"
                        " RETURNING shop_id, user_id");
  sqlite3_bind_int64 (stmt, 1, g_get_real_time ());
  dc_bind_text (stmt, 2, normal);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      shop_id = dc_column_dup (stmt, 0);
      user_id = dc_column_dup (stmt, 1);
    }
  sqlite3_reset (stmt);
  if (shop_id == NULL)
    {
      dc_respond_error (req, SOUP_STATUS_UNAUTHORIZED, "invalid_pair_code",
                        "The pairing code is wrong, was used already or has expired");
      return;
    }
  create_device (req, shop_id, user_id, name, platform);
}

void
dc_route_logout (DcRequest *req)
{
  DcServer *self = req->server;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonObject *o = dc_request_json (req, parser);
  const char *refresh;
  g_autofree char *hash = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3_stmt *stmt;

  if (o == NULL || !member_string (req, o, "refresh_token", 200, &refresh))
    return;
  hash = dc_token_hash (refresh);
  if (g_str_has_prefix (refresh, "fcd_"))
    {
      stmt = dc_store_stmt (self->store,
                            "UPDATE devices SET revoked_at = ? WHERE refresh_hash = ? AND revoked_at IS NULL");
      sqlite3_bind_int64 (stmt, 1, g_get_real_time ());
      dc_bind_text (stmt, 2, hash);
    }
  else
    {
      stmt = dc_store_stmt (self->store, "DELETE FROM user_refresh_tokens WHERE hash = ?");
      dc_bind_text (stmt, 1, hash);
    }
  if (!dc_store_step_done (self->store, stmt, &error))
    {
      internal_error (req, error);
      return;
    }
  dc_respond_empty (req, SOUP_STATUS_NO_CONTENT);
}

void
dc_route_device_delete (DcRequest  *req,
                        const char *device_id)
{
  DcServer *self = req->server;
  DcPrincipal *p = require_user (req);
  g_autoptr(GError) error = NULL;
  sqlite3_stmt *stmt;
  gboolean found;

  if (p == NULL)
    return;
  stmt = dc_store_stmt (self->store, "SELECT 1 FROM devices WHERE id = ? AND shop_id = ?");
  dc_bind_text (stmt, 1, device_id);
  dc_bind_text (stmt, 2, p->shop_id);
  found = sqlite3_step (stmt) == SQLITE_ROW;
  sqlite3_reset (stmt);
  if (!found)
    {
      dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "not_found", "No such device in this shop");
      return;
    }
  stmt = dc_store_stmt (self->store, "UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
  sqlite3_bind_int64 (stmt, 1, g_get_real_time ());
  dc_bind_text (stmt, 2, device_id);
  if (!dc_store_step_done (self->store, stmt, &error))
    {
      internal_error (req, error);
      return;
    }
  dc_respond_empty (req, SOUP_STATUS_NO_CONTENT);
}

void
dc_route_me (DcRequest *req)
{
  DcServer *self = req->server;
  DcPrincipal *p = dc_authenticate (req);
  sqlite3_stmt *stmt;
  FcJsonWriter *w;
  gboolean device;

  if (p == NULL)
    return;
  device = p->kind == DC_PRINCIPAL_DEVICE;
  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "kind");
  fc_json_writer_string (w, device ? "device" : "user");
  fc_json_writer_key (w, device ? "user" : "device");
  fc_json_writer_null (w);
  fc_json_writer_key (w, device ? "device" : "user");
  stmt = dc_store_stmt (self->store, device ? "SELECT id, name, platform, shop_id FROM devices WHERE id = ?"
                                            : "SELECT id, email, shop_id FROM users WHERE id = ?");
  dc_bind_text (stmt, 1, p->id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      fc_json_writer_begin_object (w);
      fc_json_writer_key (w, "id");
      fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 0));
      if (device)
        {
          fc_json_writer_key (w, "name");
          fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 1));
          fc_json_writer_key (w, "platform");
          fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 2));
        }
      else
        {
          fc_json_writer_key (w, "email");
          fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 1));
        }
      fc_json_writer_key (w, "shop_id");
      fc_json_writer_string (w, p->shop_id);
      fc_json_writer_end_object (w);
    }
  else
    fc_json_writer_null (w);
  sqlite3_reset (stmt);
  fc_json_writer_key (w, "shop_id");
  fc_json_writer_string (w, p->shop_id);
  fc_json_writer_end_object (w);
  dc_respond_writer (req, SOUP_STATUS_OK, w);
}
