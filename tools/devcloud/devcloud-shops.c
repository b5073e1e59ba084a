/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-devcloud"

#include "config.h"

#include <string.h>

#include "devcloud.h"
#include "fc-error.h"

/*
 * Shop branding: what a recap needs to look like the shop's (logo,
 * colours, contact). The agent caches it, so the answers carry strong
 * ETags and honour If-None-Match.
 */

static const char *branding_columns[] = {
  "primary_color", "secondary_color", "accent_color", "phone", "email", "website", "address",
};

static gboolean
etag_matches (SoupServerMessage *msg,
              const char        *etag)
{
  const char *header = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                     "If-None-Match");
  g_auto(GStrv) tags = NULL;

  if (header == NULL)
    return FALSE;
  tags = g_strsplit (header, ",", -1);
  for (guint i = 0; tags[i]; i++)
    {
      const char *t = g_strstrip (tags[i]);

      if (g_str_has_prefix (t, "W/"))
        t += 2;
      if (strcmp (t, "*") == 0 || strcmp (t, etag) == 0)
        return TRUE;
    }
  return FALSE;
}

/* The caller's own shop, or NULL after answering. */
static DcPrincipal *
own_shop (DcRequest  *req,
          const char *shop_id)
{
  DcPrincipal *p = dc_authenticate (req);
  sqlite3_stmt *stmt;
  gboolean exists;

  if (p == NULL)
    return NULL;
  stmt = dc_store_stmt (req->server->store, "SELECT 1 FROM shops WHERE id = ?");
  dc_bind_text (stmt, 1, shop_id);
  exists = sqlite3_step (stmt) == SQLITE_ROW;
  sqlite3_reset (stmt);
  if (!exists)
    {
      dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "not_found", "No shop %s", shop_id);
      return NULL;
    }
  if (strcmp (p->shop_id, shop_id) != 0)
    {
      dc_respond_error (req, SOUP_STATUS_FORBIDDEN, "forbidden", "That is another shop's branding");
      return NULL;
    }
  return p;
}

void
dc_route_branding (DcRequest  *req,
                   const char *shop_id)
{
  sqlite3_stmt *stmt;
  FcJsonWriter *w;
  g_autofree char *json = NULL, *hash = NULL, *etag = NULL;

  if (own_shop (req, shop_id) == NULL)
    return;
  stmt = dc_store_stmt (req->server->store,
                        "SELECT name, primary_color, secondary_color, accent_color, phone, email, website, address,"
                        " logo_sha256, logo_content_type FROM shops WHERE id = ?");
  dc_bind_text (stmt, 1, shop_id);
  sqlite3_step (stmt);
  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "shop_id");
  fc_json_writer_string (w, shop_id);
  fc_json_writer_key (w, "name");
  fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 0));
  fc_json_writer_key (w, "colors");
  fc_json_writer_begin_object (w);
  for (guint i = 0; i < 3; i++)
    {
      fc_json_writer_key (w, (const char *[]) { "primary", "secondary", "accent" }[i]);
      fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 1 + i));
    }
  fc_json_writer_end_object (w);
  fc_json_writer_key (w, "contact");
  fc_json_writer_begin_object (w);
  for (guint i = 0; i < 4; i++)
    {
      fc_json_writer_key (w, (const char *[]) { "phone", "email", "website", "address" }[i]);
      fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 4 + i));
    }
  fc_json_writer_end_object (w);
  fc_json_writer_key (w, "logo");
  if (sqlite3_column_type (stmt, 8) != SQLITE_NULL)
    {
      g_autofree char *url = g_strdup_printf ("/api/v1/shops/%s/logo", shop_id);

      fc_json_writer_begin_object (w);
      fc_json_writer_key (w, "url");
      fc_json_writer_string (w, url);
      fc_json_writer_key (w, "sha256");
      fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 8));
      fc_json_writer_key (w, "content_type");
      fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 9));
      fc_json_writer_end_object (w);
    }
  else
    fc_json_writer_null (w);
  fc_json_writer_end_object (w);
  sqlite3_reset (stmt);

  json = fc_json_writer_steal (w, NULL);
  hash = dc_sha256_hex (json, strlen (json));
  etag = g_strdup_printf ("\"%.32s\"", hash);
  dc_request_add_header (req, "ETag", etag);
  dc_request_add_header (req, "Cache-Control", "no-cache");
  if (etag_matches (req->msg, etag))
    dc_respond_empty (req, SOUP_STATUS_NOT_MODIFIED);
  else
    dc_respond_json (req, SOUP_STATUS_OK, g_steal_pointer (&json));
}

void
dc_route_logo (DcRequest  *req,
               const char *shop_id)
{
  sqlite3_stmt *stmt;
  g_autoptr(GBytes) logo = NULL;
  g_autofree char *type = NULL, *etag = NULL;

  if (own_shop (req, shop_id) == NULL)
    return;
  stmt = dc_store_stmt (req->server->store, "SELECT logo, logo_content_type, logo_sha256 FROM shops WHERE id = ?");
  dc_bind_text (stmt, 1, shop_id);
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
    {
      logo = g_bytes_new (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0));
      type = dc_column_dup (stmt, 1);
      etag = g_strdup_printf ("\"%s\"", sqlite3_column_text (stmt, 2));
    }
  sqlite3_reset (stmt);
  if (logo == NULL)
    {
      dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "not_found", "The shop has no logo");
      return;
    }
  dc_request_add_header (req, "ETag", etag);
  dc_request_add_header (req, "Cache-Control", "no-cache");
  if (etag_matches (req->msg, etag))
    dc_respond_empty (req, SOUP_STATUS_NOT_MODIFIED);
  else
    dc_respond_bytes (req, SOUP_STATUS_OK, type, logo);
}

static gboolean
is_color (const char *text)
{
  if (text == NULL || strlen (text) != 7 || text[0] != '#')
    return FALSE;
  for (guint i = 1; i < 7; i++)
    if (!g_ascii_isxdigit (text[i]))
      return FALSE;
  return TRUE;
}

gboolean
dc_set_branding (DcStore            *store,
                 const char         *shop,
                 const char *const  *pairs,
                 const char         *logo_path,
                 GError            **error)
{
  g_autofree char *shop_id = NULL, *logo = NULL, *content_type = NULL, *sha = NULL;
  gsize logo_len = 0;
  sqlite3_stmt *stmt;

  if (logo_path)
    {
      if (!g_file_get_contents (logo_path, &logo, &logo_len, error))
        return FALSE;
      content_type = g_content_type_guess (logo_path, (const guchar *) logo, logo_len, NULL);
      {
        g_autofree char *mime = g_content_type_get_mime_type (content_type);

        g_free (content_type);
        content_type = g_steal_pointer (&mime);
      }
      if (content_type == NULL || !g_str_has_prefix (content_type, "image/"))
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "%s is not an image (%s)", logo_path,
                       content_type ? content_type : "unknown type");
          return FALSE;
        }
      sha = dc_sha256_hex (logo, logo_len);
    }
  for (guint i = 0; pairs && pairs[i]; i += 2)
    if (g_str_has_suffix (pairs[i], "_color") && pairs[i + 1] && !is_color (pairs[i + 1]))
      {
        g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "%s must look like #1a2b3c", pairs[i]);
        return FALSE;
      }

  if (!dc_store_begin (store, error))
    return FALSE;
  shop_id = dc_store_ensure_shop (store, shop, error);
  if (shop_id == NULL)
    goto fail;
  for (guint i = 0; pairs && pairs[i]; i += 2)
    {
      g_autofree char *sql = NULL, *value = NULL;
      gboolean known = FALSE;

      for (guint k = 0; k < G_N_ELEMENTS (branding_columns); k++)
        known |= strcmp (branding_columns[k], pairs[i]) == 0;
      g_assert (known);
      sql = g_strdup_printf ("UPDATE shops SET %s = ?, updated_at = ? WHERE id = ?", pairs[i]);
      stmt = dc_store_stmt (store, sql);
      if (pairs[i + 1] && *pairs[i + 1])
        value = g_str_has_suffix (pairs[i], "_color") ? g_ascii_strdown (pairs[i + 1], -1) : g_strdup (pairs[i + 1]);
      dc_bind_text (stmt, 1, value);
      sqlite3_bind_int64 (stmt, 2, g_get_real_time ());
      dc_bind_text (stmt, 3, shop_id);
      if (!dc_store_step_done (store, stmt, error))
        goto fail;
    }
  if (logo)
    {
      stmt = dc_store_stmt (store,
                            "UPDATE shops SET logo = ?, logo_content_type = ?, logo_sha256 = ?, updated_at = ?"
                            " WHERE id = ?");
      sqlite3_bind_blob (stmt, 1, logo, logo_len, SQLITE_TRANSIENT);
      dc_bind_text (stmt, 2, content_type);
      dc_bind_text (stmt, 3, sha);
      sqlite3_bind_int64 (stmt, 4, g_get_real_time ());
      dc_bind_text (stmt, 5, shop_id);
      if (!dc_store_step_done (store, stmt, error))
        goto fail;
    }
  return dc_store_commit (store, error);

fail:
  dc_store_rollback (store);
  return FALSE;
}
