/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-devcloud"

#include "config.h"

#include <math.h>
#include <string.h>

#include "devcloud.h"
#include "fc-error.h"
#include "fc-record-json.h"
#include "fc-shot-field.h"

/*
 * Fittings, their configurations, customers, shots, edits, completion and
 * videos. Bodies are read with the core's own JSON readers
 * (fc-record-json.c), so the server accepts exactly what the agent
 * writes and rejects what the agent's importer would reject.
 */

#define SHOT_COLUMNS                                                         \
  "id, fitting_id, config_id, device_id, device_shot_id, club, device_time, " \
  "received_at, spin_estimated, excluded, exclude_reason, tags, source_kind, " \
  "source_protocol, source_detail, raw"
#define N_SHOT_META 16

/* ---- reading rows -------------------------------------------------------- */

static const char fitting_columns[] =
  "id, customer_id, type, bay, fitter, status, started_at, completed_at, active_config_id, notes";

static FcFitting *
fitting_from_row (sqlite3_stmt *stmt)
{
  FcFitting *f = fc_fitting_new (FC_FITTING_DRIVER, NULL);
  g_autofree char *type = dc_column_dup (stmt, 2), *status = dc_column_dup (stmt, 5);

  g_free (f->bay);
  f->id = dc_column_dup (stmt, 0);
  f->customer_id = dc_column_dup (stmt, 1);
  fc_fitting_type_from_string (type, &f->type);
  f->bay = dc_column_dup (stmt, 3);
  f->fitter = dc_column_dup (stmt, 4);
  fc_fitting_status_from_string (status, &f->status);
  f->started_at = sqlite3_column_int64 (stmt, 6);
  f->completed_at = sqlite3_column_int64 (stmt, 7);
  f->active_config_id = dc_column_dup (stmt, 8);
  f->notes = dc_column_dup (stmt, 9);
  return f;
}

/* The fitting if it exists in @shop_id (NULL: any shop). */
static FcFitting *
load_fitting (DcStore    *store,
              const char *id,
              const char *shop_id)
{
  static char *sql;
  sqlite3_stmt *stmt;
  FcFitting *f = NULL;

  if (sql == NULL)
    sql = g_strdup_printf ("SELECT %s FROM fittings WHERE id = ?1 AND (?2 IS NULL OR shop_id = ?2)",
                           fitting_columns);
  stmt = dc_store_stmt (store, sql);
  dc_bind_text (stmt, 1, id);
  dc_bind_text (stmt, 2, shop_id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    f = fitting_from_row (stmt);
  sqlite3_reset (stmt);
  return f;
}

static FcCustomer *
load_customer (DcStore    *store,
               const char *id)
{
  sqlite3_stmt *stmt = dc_store_stmt (store,
                                      "SELECT id, name, email, phone, handedness, handicap, notes"
                                      " FROM customers WHERE id = ?");
  FcCustomer *c = NULL;

  dc_bind_text (stmt, 1, id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autofree char *hand = dc_column_dup (stmt, 4);

      c = fc_customer_new (NULL);
      c->id = dc_column_dup (stmt, 0);
      c->name = dc_column_dup (stmt, 1);
      c->email = dc_column_dup (stmt, 2);
      c->phone = dc_column_dup (stmt, 3);
      if (hand)
        fc_handedness_from_string (hand, &c->handedness);
      c->handicap = dc_column_double (stmt, 5);
      c->notes = dc_column_dup (stmt, 6);
    }
  sqlite3_reset (stmt);
  return c;
}

static GPtrArray *
load_configs (DcStore    *store,
              const char *fitting_id)
{
  sqlite3_stmt *stmt = dc_store_stmt (store,
                                      "SELECT id, fitting_id, role, label, club_type, head, shaft, loft_deg,"
                                      " setting, position FROM configs WHERE fitting_id = ? ORDER BY position, id");
  GPtrArray *configs = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_club_config_free);

  dc_bind_text (stmt, 1, fitting_id);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      FcClubConfig *c = fc_club_config_new (FC_CONFIG_TEST, NULL);
      g_autofree char *role = dc_column_dup (stmt, 2);

      c->id = dc_column_dup (stmt, 0);
      c->fitting_id = dc_column_dup (stmt, 1);
      fc_config_role_from_string (role, &c->role);
      g_free (c->label);
      c->label = dc_column_dup (stmt, 3);
      c->club_type = dc_column_dup (stmt, 4);
      c->head = dc_column_dup (stmt, 5);
      c->shaft = dc_column_dup (stmt, 6);
      c->loft_deg = dc_column_double (stmt, 7);
      c->setting = dc_column_dup (stmt, 8);
      c->position = sqlite3_column_int (stmt, 9);
      g_ptr_array_add (configs, c);
    }
  sqlite3_reset (stmt);
  return configs;
}

static void
write_videos (DcStore      *store,
              FcJsonWriter *w,
              const char   *fitting_id,
              const char   *files_dir)
{
  sqlite3_stmt *stmt = dc_store_stmt (store,
                                      "SELECT id, fitting_id, kind, size, sha256, content_type, upload_id"
                                      " FROM videos WHERE fitting_id = ? ORDER BY created_at, id");

  dc_bind_text (stmt, 1, fitting_id);
  fc_json_writer_begin_array (w);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *id = (const char *) sqlite3_column_text (stmt, 0);
      g_autofree char *url = g_strdup_printf ("/api/v1/videos/%s/content", id);

      fc_json_writer_begin_object (w);
      fc_json_writer_key (w, "id");
      fc_json_writer_string (w, id);
      fc_json_writer_key (w, "fitting_id");
      fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 1));
      fc_json_writer_key (w, "kind");
      fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 2));
      fc_json_writer_key (w, "size");
      fc_json_writer_int (w, sqlite3_column_int64 (stmt, 3));
      fc_json_writer_key (w, "sha256");
      fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 4));
      fc_json_writer_key (w, "content_type");
      fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 5));
      fc_json_writer_key (w, "url");
      fc_json_writer_string (w, url);
      if (files_dir)
        {
          /* The dump re-reads the stored file: what a test compares is
           * what is on disk, not what the server believed it wrote. */
          g_autofree char *path = dc_upload_file_path (files_dir, (const char *) sqlite3_column_text (stmt, 6));
          g_autoptr(GError) error = NULL;
          guint64 size = 0;
          g_autofree char *sha = dc_file_sha256 (path, &size, &error);

          fc_json_writer_key (w, "stored_size");
          if (sha)
            fc_json_writer_int (w, size);
          else
            fc_json_writer_null (w);
          fc_json_writer_key (w, "stored_sha256");
          fc_json_writer_string (w, sha);
        }
      fc_json_writer_end_object (w);
    }
  sqlite3_reset (stmt);
  fc_json_writer_end_array (w);
}

static gboolean
write_fitting_common (DcStore      *store,
                      FcJsonWriter *w,
                      const char   *fitting_id,
                      GError      **error)
{
  g_autoptr(FcFitting) f = load_fitting (store, fitting_id, NULL);
  g_autoptr(FcCustomer) c = NULL;
  g_autoptr(GPtrArray) configs = NULL;

  if (f == NULL)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND, "No fitting %s", fitting_id);
      return FALSE;
    }
  c = f->customer_id ? load_customer (store, f->customer_id) : NULL;
  configs = load_configs (store, fitting_id);
  fc_json_writer_key (w, "fitting");
  fc_json_write_fitting (w, f);
  fc_json_writer_key (w, "customer");
  if (c)
    fc_json_write_customer (w, c);
  else
    fc_json_writer_null (w);
  fc_json_writer_key (w, "configs");
  fc_json_writer_begin_array (w);
  for (guint i = 0; i < configs->len; i++)
    fc_json_write_club_config (w, g_ptr_array_index (configs, i));
  fc_json_writer_end_array (w);
  return TRUE;
}

gboolean
dc_write_fitting_state (DcServer     *server,
                        FcJsonWriter *w,
                        const char   *fitting_id,
                        GError      **error)
{
  sqlite3_stmt *stmt;

  fc_json_writer_begin_object (w);
  if (!write_fitting_common (server->store, w, fitting_id, error))
    return FALSE;
  stmt = dc_store_stmt (server->store,
                        "SELECT count(*), coalesce(sum(excluded), 0) FROM shots WHERE fitting_id = ?");
  dc_bind_text (stmt, 1, fitting_id);
  sqlite3_step (stmt);
  fc_json_writer_key (w, "shot_count");
  fc_json_writer_int (w, sqlite3_column_int64 (stmt, 0));
  fc_json_writer_key (w, "excluded_shot_count");
  fc_json_writer_int (w, sqlite3_column_int64 (stmt, 1));
  sqlite3_reset (stmt);
  fc_json_writer_key (w, "videos");
  write_videos (server->store, w, fitting_id, NULL);
  fc_json_writer_end_object (w);
  return TRUE;
}

static char *
shot_select_sql (void)
{
  GString *sql = g_string_new ("SELECT " SHOT_COLUMNS);

  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    g_string_append_printf (sql, ", %s", fc_shot_field_get_name (i));
  g_string_append (sql, " FROM shots WHERE fitting_id = ? ORDER BY seq");
  return g_string_free (sql, FALSE);
}

static void
tags_from_json (FcShot     *shot,
                const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  if (text == NULL || !json_parser_load_from_data (parser, text, -1, NULL))
    return;
  root = json_parser_get_root (parser);
  if (root && JSON_NODE_HOLDS_ARRAY (root))
    {
      JsonArray *a = json_node_get_array (root);

      for (guint i = 0; i < json_array_get_length (a); i++)
        fc_shot_add_tag (shot, json_array_get_string_element (a, i));
    }
}

gboolean
dc_write_fitting_dump (DcStore      *store,
                       const char   *files_dir,
                       FcJsonWriter *w,
                       const char   *fitting_id,
                       GError      **error)
{
  static char *sql;
  sqlite3_stmt *stmt;

  if (sql == NULL)
    sql = shot_select_sql ();

  fc_json_writer_begin_object (w);
  stmt = dc_store_stmt (store, "SELECT shop_id FROM fittings WHERE id = ?");
  dc_bind_text (stmt, 1, fitting_id);
  sqlite3_step (stmt);
  fc_json_writer_key (w, "shop_id");
  fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 0));
  sqlite3_reset (stmt);
  if (!write_fitting_common (store, w, fitting_id, error))
    return FALSE;

  fc_json_writer_key (w, "shots");
  fc_json_writer_begin_array (w);
  stmt = dc_store_stmt (store, sql);
  dc_bind_text (stmt, 1, fitting_id);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autoptr(FcShot) s = fc_shot_new ();
      g_autofree char *kind = dc_column_dup (stmt, 12);

      s->id = dc_column_dup (stmt, 0);
      s->fitting_id = dc_column_dup (stmt, 1);
      s->config_id = dc_column_dup (stmt, 2);
      s->device_id = dc_column_dup (stmt, 3);
      s->device_shot_id = dc_column_dup (stmt, 4);
      s->club = dc_column_dup (stmt, 5);
      s->device_time = dc_column_dup (stmt, 6);
      s->received_at = sqlite3_column_int64 (stmt, 7);
      s->spin_estimated = sqlite3_column_type (stmt, 8) == SQLITE_NULL ? -1 : sqlite3_column_int (stmt, 8);
      s->excluded = sqlite3_column_int (stmt, 9);
      s->exclude_reason = dc_column_dup (stmt, 10);
      tags_from_json (s, (const char *) sqlite3_column_text (stmt, 11));
      fc_source_kind_from_string (kind, &s->source_kind);
      s->source_protocol = dc_column_dup (stmt, 13);
      s->source_detail = dc_column_dup (stmt, 14);
      if (sqlite3_column_type (stmt, 15) != SQLITE_NULL)
        s->raw = g_bytes_new (sqlite3_column_blob (stmt, 15), sqlite3_column_bytes (stmt, 15));
      for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
        if (sqlite3_column_type (stmt, N_SHOT_META + i) != SQLITE_NULL)
          fc_shot_set (s, i, sqlite3_column_double (stmt, N_SHOT_META + i));
      fc_json_write_shot (w, s, FC_SHOT_JSON_WITH_RAW);
    }
  sqlite3_reset (stmt);
  fc_json_writer_end_array (w);

  fc_json_writer_key (w, "videos");
  write_videos (store, w, fitting_id, files_dir);
  fc_json_writer_end_object (w);
  return TRUE;
}

/* ---- helpers ------------------------------------------------------------- */

static void
respond_state (DcRequest  *req,
               guint       status,
               const char *fitting_id)
{
  FcJsonWriter *w = fc_json_writer_new (FALSE);
  g_autoptr(GError) error = NULL;

  if (!dc_write_fitting_state (req->server, w, fitting_id, &error))
    {
      fc_json_writer_free (w);
      dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "%s", error->message);
      return;
    }
  dc_respond_writer (req, status, w);
}

/* The quoted member name in a core reader's message (“key”), if any. */
static char *
field_from_message (const char *message)
{
  const char *open = strstr (message, "“");
  const char *close = open ? strstr (open + 3, "”") : NULL;

  if (close == NULL)
    return NULL;
  return g_strndup (open + 3, close - open - 3);
}

static int
compare_tags (gconstpointer a,
              gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

static char *
tags_to_json (GPtrArray *tags)
{
  FcJsonWriter *w = fc_json_writer_new (FALSE);
  g_autoptr(GPtrArray) sorted = g_ptr_array_copy (tags, NULL, NULL);

  /* The copy shares the strings but would inherit the shot's free
   * function: it must not free them. */
  g_ptr_array_set_free_func (sorted, NULL);
  g_ptr_array_sort (sorted, compare_tags);
  fc_json_writer_begin_array (w);
  for (guint i = 0; i < sorted->len; i++)
    if (i == 0 || strcmp (g_ptr_array_index (sorted, i), g_ptr_array_index (sorted, i - 1)) != 0)
      fc_json_writer_string (w, g_ptr_array_index (sorted, i));
  fc_json_writer_end_array (w);
  return fc_json_writer_steal (w, NULL);
}

static char *
fitting_hash (const FcFitting *f)
{
  FcJsonWriter *w = fc_json_writer_new (FALSE);
  g_autofree char *text = NULL;

  fc_json_write_fitting (w, f);
  text = fc_json_writer_steal (w, NULL);
  return dc_sha256_hex (text, strlen (text));
}

static gboolean
upsert_customer (DcStore          *store,
                 const char       *shop_id,
                 const FcCustomer *c,
                 GError          **error)
{
  sqlite3_stmt *stmt = dc_store_stmt (store,
                                      "INSERT INTO customers (id, shop_id, name, email, phone, handedness, handicap,"
                                      " notes, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                                      " ON CONFLICT (id) DO UPDATE SET name = ?3, email = ?4, phone = ?5,"
                                      " handedness = ?6, handicap = ?7, notes = ?8, updated_at = ?9"
                                      " WHERE shop_id = ?2");

  dc_bind_text (stmt, 1, c->id);
  dc_bind_text (stmt, 2, shop_id);
  dc_bind_text (stmt, 3, c->name);
  dc_bind_text (stmt, 4, c->email);
  dc_bind_text (stmt, 5, c->phone);
  dc_bind_text (stmt, 6, fc_handedness_to_string (c->handedness));
  dc_bind_double (stmt, 7, c->handicap);
  dc_bind_text (stmt, 8, c->notes);
  sqlite3_bind_int64 (stmt, 9, g_get_real_time ());
  if (!dc_store_step_done (store, stmt, error))
    return FALSE;
  if (sqlite3_changes (store->db) == 0)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_CONFLICT, "customer %s belongs to another shop", c->id);
      return FALSE;
    }
  return TRUE;
}

static gboolean
upsert_config (DcStore            *store,
               const char         *fitting_id,
               const FcClubConfig *c,
               GError            **error)
{
  sqlite3_stmt *stmt = dc_store_stmt (store,
                                      "INSERT INTO configs (id, fitting_id, role, label, club_type, head, shaft,"
                                      " loft_deg, setting, position) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                                      " ON CONFLICT (id) DO UPDATE SET role = ?3, label = ?4, club_type = ?5,"
                                      " head = ?6, shaft = ?7, loft_deg = ?8, setting = ?9, position = ?10"
                                      " WHERE fitting_id = ?2");

  dc_bind_text (stmt, 1, c->id);
  dc_bind_text (stmt, 2, fitting_id);
  dc_bind_text (stmt, 3, fc_config_role_to_string (c->role));
  dc_bind_text (stmt, 4, c->label);
  dc_bind_text (stmt, 5, c->club_type);
  dc_bind_text (stmt, 6, c->head);
  dc_bind_text (stmt, 7, c->shaft);
  dc_bind_double (stmt, 8, c->loft_deg);
  dc_bind_text (stmt, 9, c->setting);
  sqlite3_bind_int (stmt, 10, c->position);
  if (!dc_store_step_done (store, stmt, error))
    return FALSE;
  if (sqlite3_changes (store->db) == 0)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_CONFLICT, "configuration %s belongs to another fitting", c->id);
      return FALSE;
    }
  return TRUE;
}

/* Reads and checks "configs" (absent is an empty list). */
static GPtrArray *
read_configs (DcRequest   *req,
              JsonObject  *o,
              const char  *fitting_id)
{
  JsonNode *node = json_object_get_member (o, "configs");
  g_autoptr(GPtrArray) configs = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_club_config_free);
  JsonArray *a;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return g_steal_pointer (&configs);
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      dc_respond_error (req, 422, "invalid_config", "“configs” must be an array");
      return NULL;
    }
  a = json_node_get_array (node);
  if (json_array_get_length (a) > DC_MAX_SHOTS)
    {
      dc_respond_error (req, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
                        "At most %d configurations per request", DC_MAX_SHOTS);
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      g_autofree char *where = g_strdup_printf ("configs[%u]", i);
      g_autoptr(GError) error = NULL;
      FcClubConfig *c;

      if (!JSON_NODE_HOLDS_OBJECT (e))
        {
          dc_respond_error (req, 422, "invalid_config", "%s must be an object", where);
          return NULL;
        }
      c = fc_json_read_club_config (json_node_get_object (e), where, &error);
      if (c == NULL)
        {
          dc_respond_error (req, 422, "invalid_config", "%s", error->message);
          return NULL;
        }
      g_ptr_array_add (configs, c);
      if (c->fitting_id && strcmp (c->fitting_id, fitting_id) != 0)
        {
          dc_respond_error (req, 422, "invalid_config", "%s belongs to fitting %s, not %s",
                            where, c->fitting_id, fitting_id);
          return NULL;
        }
    }
  return g_steal_pointer (&configs);
}

/* Reads "customer": FALSE after answering when it is malformed; *out is
 * NULL when absent or null. */
static gboolean
read_customer (DcRequest   *req,
               JsonObject  *o,
               FcCustomer **out)
{
  JsonNode *node = json_object_get_member (o, "customer");
  g_autoptr(GError) error = NULL;

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      dc_respond_error (req, 422, "invalid_customer", "“customer” must be an object or null");
      return FALSE;
    }
  *out = fc_json_read_customer (json_node_get_object (node), "customer", &error);
  if (*out == NULL)
    {
      dc_respond_error (req, 422, "invalid_customer", "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
customer_in_shop (DcStore    *store,
                  const char *id,
                  const char *shop_id)
{
  sqlite3_stmt *stmt = dc_store_stmt (store, "SELECT 1 FROM customers WHERE id = ? AND shop_id = ?");
  gboolean found;

  dc_bind_text (stmt, 1, id);
  dc_bind_text (stmt, 2, shop_id);
  found = sqlite3_step (stmt) == SQLITE_ROW;
  sqlite3_reset (stmt);
  return found;
}

static void
storage_error (DcRequest *req,
               GError    *error)
{
  if (g_error_matches (error, FC_ERROR, FC_ERROR_CONFLICT))
    dc_respond_error (req, 422, "invalid_config", "%s", error->message);
  else
    dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "%s", error->message);
}

/* The fitting of the path in the caller's shop, or NULL after 404. */
static FcFitting *
path_fitting (DcRequest   *req,
              DcPrincipal *p,
              const char  *fitting_id)
{
  FcFitting *f = load_fitting (req->server->store, fitting_id, p->shop_id);

  if (f == NULL)
    dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "fitting_not_found",
                      "Fitting %s is not on the server; create it first", fitting_id);
  return f;
}

/* ---- POST /api/v1/fittings ------------------------------------------------ */

void
dc_route_fittings_post (DcRequest *req)
{
  DcStore *store = req->server->store;
  DcPrincipal *p = dc_authenticate (req);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(FcFitting) f = NULL;
  g_autoptr(FcCustomer) customer = NULL;
  g_autoptr(GPtrArray) configs = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *hash = NULL, *existing_shop = NULL, *existing_hash = NULL;
  JsonObject *o;
  JsonNode *node;
  sqlite3_stmt *stmt;
  gint64 now = g_get_real_time ();

  if (p == NULL || (o = dc_request_json (req, parser)) == NULL)
    return;

  node = json_object_get_member (o, "fitting");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      dc_respond_error (req, 422, "invalid_fitting", "“fitting” must be an object");
      return;
    }
  f = fc_json_read_fitting (json_node_get_object (node), "fitting", &error);
  if (f == NULL)
    {
      dc_respond_error (req, 422, "invalid_fitting", "%s", error->message);
      return;
    }
  if (!read_customer (req, o, &customer))
    return;
  if (customer && g_strcmp0 (customer->id, f->customer_id) != 0)
    {
      dc_respond_error (req, 422, "invalid_fitting", "fitting.customer_id does not match customer.id");
      return;
    }
  node = json_object_get_member (o, "shots");
  if (node && !(JSON_NODE_HOLDS_ARRAY (node) && json_array_get_length (json_node_get_array (node)) == 0))
    {
      dc_respond_error (req, 422, "invalid_fitting",
                        "Shots are not part of the fitting's creation; send them to /api/v1/fittings/%s/shots", f->id);
      return;
    }
  configs = read_configs (req, o, f->id);
  if (configs == NULL)
    return;

  hash = fitting_hash (f);
  stmt = dc_store_stmt (store, "SELECT shop_id, create_hash FROM fittings WHERE id = ?");
  dc_bind_text (stmt, 1, f->id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      existing_shop = dc_column_dup (stmt, 0);
      existing_hash = dc_column_dup (stmt, 1);
    }
  sqlite3_reset (stmt);
  if (existing_hash)
    {
      if (strcmp (existing_shop, p->shop_id) != 0 || strcmp (existing_hash, hash) != 0)
        dc_respond_error (req, SOUP_STATUS_CONFLICT, "fitting_conflict",
                          "Fitting %s exists already with different content", f->id);
      else
        respond_state (req, SOUP_STATUS_OK, f->id);
      return;
    }

  if (customer && !upsert_customer (store, p->shop_id, customer, &error))
    {
      if (g_error_matches (error, FC_ERROR, FC_ERROR_CONFLICT))
        dc_respond_error (req, 422, "invalid_customer", "%s", error->message);
      else
        storage_error (req, error);
      return;
    }
  if (!customer && f->customer_id && !customer_in_shop (store, f->customer_id, p->shop_id))
    {
      dc_respond_error (req, 422, "invalid_fitting",
                        "Customer %s is not on the server; send it with the fitting", f->customer_id);
      return;
    }

  stmt = dc_store_stmt (store,
                        "INSERT INTO fittings (id, shop_id, customer_id, type, bay, fitter, status, started_at,"
                        " completed_at, active_config_id, notes, create_hash, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  dc_bind_text (stmt, 1, f->id);
  dc_bind_text (stmt, 2, p->shop_id);
  dc_bind_text (stmt, 3, f->customer_id);
  dc_bind_text (stmt, 4, fc_fitting_type_to_string (f->type));
  dc_bind_text (stmt, 5, f->bay);
  dc_bind_text (stmt, 6, f->fitter);
  dc_bind_text (stmt, 7, fc_fitting_status_to_string (f->status));
  sqlite3_bind_int64 (stmt, 8, f->started_at);
  if (f->completed_at)
    sqlite3_bind_int64 (stmt, 9, f->completed_at);
  dc_bind_text (stmt, 10, f->active_config_id);
  dc_bind_text (stmt, 11, f->notes);
  dc_bind_text (stmt, 12, hash);
  sqlite3_bind_int64 (stmt, 13, now);
  sqlite3_bind_int64 (stmt, 14, now);
  if (!dc_store_step_done (store, stmt, &error))
    {
      storage_error (req, error);
      return;
    }
  for (guint i = 0; i < configs->len; i++)
    if (!upsert_config (store, f->id, g_ptr_array_index (configs, i), &error))
      {
        storage_error (req, error);
        return;
      }
  respond_state (req, SOUP_STATUS_CREATED, f->id);
}

void
dc_route_fitting_get (DcRequest  *req,
                      const char *fitting_id)
{
  DcPrincipal *p = dc_authenticate (req);
  g_autoptr(FcFitting) f = NULL;

  if (p == NULL || (f = path_fitting (req, p, fitting_id)) == NULL)
    return;
  respond_state (req, SOUP_STATUS_OK, fitting_id);
}

/* ---- POST /api/v1/fittings/{id}/shots -------------------------------------- */

static GHashTable *
config_ids (DcStore    *store,
            const char *fitting_id)
{
  GHashTable *ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sqlite3_stmt *stmt = dc_store_stmt (store, "SELECT id FROM configs WHERE fitting_id = ?");

  dc_bind_text (stmt, 1, fitting_id);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_hash_table_add (ids, dc_column_dup (stmt, 0));
  sqlite3_reset (stmt);
  return ids;
}

static char *
shot_insert_sql (void)
{
  GString *sql = g_string_new ("INSERT INTO shots (" SHOT_COLUMNS ", content_hash");

  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    g_string_append_printf (sql, ", %s", fc_shot_field_get_name (i));
  g_string_append (sql, ") VALUES (?");
  for (guint i = 1; i < N_SHOT_META + 1 + FC_SHOT_N_FIELDS; i++)
    g_string_append (sql, ", ?");
  g_string_append (sql, ") ON CONFLICT (id) DO NOTHING");
  return g_string_free (sql, FALSE);
}

/* What makes a shot the same shot: everything the device and the agent
 * recorded, not the fitter's later edits and not the raw payload (which
 * is optional in a request). Hashed in a binary form: formatting 44
 * doubles as text per shot cost more than the rest of the batch. */
static void
hash_text (GChecksum  *sum,
           const char *text)
{
  guint32 len = text ? (guint32) strlen (text) + 1 : 0;

  /* Length first, so that NULL, "" and adjacent strings never collide. */
  g_checksum_update (sum, (const guchar *) &len, sizeof len);
  if (text)
    g_checksum_update (sum, (const guchar *) text, len);
}

static char *
shot_content_hash (const FcShot *s)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gint64 numbers[3] = { s->received_at, s->spin_estimated, s->source_kind };

  hash_text (sum, s->id);
  hash_text (sum, s->device_id);
  hash_text (sum, s->device_shot_id);
  hash_text (sum, s->club);
  hash_text (sum, s->device_time);
  hash_text (sum, s->source_protocol);
  hash_text (sum, s->source_detail);
  g_checksum_update (sum, (const guchar *) numbers, sizeof numbers);
  g_checksum_update (sum, (const guchar *) &s->present, sizeof s->present);
  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    if (fc_shot_has (s, i))
      g_checksum_update (sum, (const guchar *) &s->values[i], sizeof s->values[i]);
  return g_strdup (g_checksum_get_string (sum));
}

/* The measured values first, so that an impossible value is reported
 * with its field name. */
static gboolean
check_values (JsonObject  *o,
              const char **field,
              GError     **error)
{
  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    {
      const char *name = fc_shot_field_get_name (i);
      JsonNode *node = json_object_get_member (o, name);
      GType type;

      if (node == NULL || JSON_NODE_HOLDS_NULL (node))
        continue;
      *field = name;
      type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
      if (type != G_TYPE_DOUBLE && type != G_TYPE_INT64)
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "“%s” must be a number or null", name);
          return FALSE;
        }
      if (!fc_shot_field_check (i, json_node_get_double (node), error))
        return FALSE;
    }
  *field = NULL;
  return TRUE;
}

/* This cloud's own rules, stricter than the agent's (--max-ball-speed). */
static gboolean
check_rules (DcServer    *server,
             JsonObject  *o,
             const char **field,
             GError     **error)
{
  double max = server->config.faults.max_ball_speed_mps;
  JsonNode *node = json_object_get_member (o, "ball_speed_mps");

  if (max > 0 && node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_double (node) > max)
    {
      *field = "ball_speed_mps";
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "“ball_speed_mps” %.2f is above this cloud's limit of %.2f m/s", json_node_get_double (node), max);
      return FALSE;
    }
  return TRUE;
}

void
dc_route_shots_post (DcRequest  *req,
                     const char *fitting_id)
{
  static char *insert_sql;
  DcStore *store = req->server->store;
  DcPrincipal *p = dc_authenticate (req);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(FcFitting) f = NULL;
  g_autoptr(GHashTable) configs = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *o;
  JsonNode *node;
  JsonArray *shots;
  guint n, accepted = 0, duplicates = 0;
  FcJsonWriter *w;

  if (insert_sql == NULL)
    insert_sql = shot_insert_sql ();
  if (p == NULL || (f = path_fitting (req, p, fitting_id)) == NULL || (o = dc_request_json (req, parser)) == NULL)
    return;
  node = json_object_get_member (o, "shots");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "bad_request", "“shots” must be an array");
      return;
    }
  shots = json_node_get_array (node);
  n = json_array_get_length (shots);
  if (n > DC_MAX_SHOTS)
    {
      dc_respond_error (req, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too_many_shots",
                        "%u shots in one batch; send at most %d", n, DC_MAX_SHOTS);
      return;
    }
  configs = config_ids (store, fitting_id);

  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (shots, i);
      g_autofree char *where = NULL, *hash = NULL, *tags = NULL, *field = NULL;
      g_autoptr(FcShot) s = NULL;
      JsonObject *so;
      const char *id = NULL, *bad_field = NULL;
      sqlite3_stmt *stmt;
      int col = 1;

      if (!JSON_NODE_HOLDS_OBJECT (e))
        {
          dc_respond_shot_error (req, 422, "invalid_shot", NULL, i, NULL, "A shot must be a JSON object");
          return;
        }
      so = json_node_get_object (e);
      node = json_object_get_member (so, "id");
      if (node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        id = json_node_get_string (node);
      if (!check_values (so, &bad_field, &error) || !check_rules (req->server, so, &bad_field, &error))
        {
          dc_respond_shot_error (req, 422, "invalid_shot", id, i, bad_field, error->message);
          return;
        }
      where = g_strdup_printf ("shots[%u]", i);
      s = fc_json_read_shot (so, where, &error);
      if (s == NULL)
        {
          field = field_from_message (error->message);
          dc_respond_shot_error (req, 422, "invalid_shot", id && g_uuid_string_is_valid (id) ? id : NULL,
                                 i, field, error->message);
          return;
        }
      if (s->fitting_id && strcmp (s->fitting_id, fitting_id) != 0)
        {
          dc_respond_shot_error (req, 422, "invalid_shot", s->id, i, "fitting_id",
                                 "The shot's fitting_id is not the fitting of the path");
          return;
        }
      if (s->config_id && !g_hash_table_contains (configs, s->config_id))
        {
          g_autofree char *message = g_strdup_printf ("Configuration %s is not part of fitting %s on the server; "
                                                      "send it first", s->config_id, fitting_id);
          dc_respond_shot_error (req, 422, "unknown_config", s->id, i, "config_id", message);
          return;
        }

      hash = shot_content_hash (s);
      tags = tags_to_json (s->tags);
      stmt = dc_store_stmt (store, insert_sql);
      dc_bind_text (stmt, col++, s->id);
      dc_bind_text (stmt, col++, fitting_id);
      dc_bind_text (stmt, col++, s->config_id);
      dc_bind_text (stmt, col++, s->device_id);
      dc_bind_text (stmt, col++, s->device_shot_id);
      dc_bind_text (stmt, col++, s->club);
      dc_bind_text (stmt, col++, s->device_time);
      sqlite3_bind_int64 (stmt, col++, s->received_at);
      if (s->spin_estimated >= 0)
        sqlite3_bind_int (stmt, col, s->spin_estimated);
      col++;
      sqlite3_bind_int (stmt, col++, s->excluded);
      dc_bind_text (stmt, col++, s->exclude_reason);
      dc_bind_text (stmt, col++, tags);
      dc_bind_text (stmt, col++, fc_source_kind_to_string (s->source_kind));
      dc_bind_text (stmt, col++, s->source_protocol);
      dc_bind_text (stmt, col++, s->source_detail);
      if (s->raw)
        sqlite3_bind_blob (stmt, col, g_bytes_get_data (s->raw, NULL), g_bytes_get_size (s->raw), SQLITE_TRANSIENT);
      col++;
      dc_bind_text (stmt, col++, hash);
      for (guint k = 0; k < FC_SHOT_N_FIELDS; k++)
        dc_bind_double (stmt, col++, fc_shot_get (s, k));
      if (!dc_store_step_done (store, stmt, &error))
        {
          storage_error (req, error);
          return;
        }
      if (sqlite3_changes (store->db) == 1)
        {
          accepted++;
          continue;
        }

      stmt = dc_store_stmt (store, "SELECT fitting_id = ? AND content_hash = ? FROM shots WHERE id = ?");
      dc_bind_text (stmt, 1, fitting_id);
      dc_bind_text (stmt, 2, hash);
      dc_bind_text (stmt, 3, s->id);
      if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_int (stmt, 0))
        {
          sqlite3_reset (stmt);
          duplicates++;
          continue;
        }
      sqlite3_reset (stmt);
      {
        g_autofree char *message = g_strdup_printf ("Shot %s exists already with different values or in another fitting",
                                                    s->id);
        dc_respond_shot_error (req, SOUP_STATUS_CONFLICT, "shot_conflict", s->id, i, NULL, message);
      }
      return;
    }

  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "accepted");
  fc_json_writer_int (w, accepted);
  fc_json_writer_key (w, "duplicates");
  fc_json_writer_int (w, duplicates);
  fc_json_writer_end_object (w);
  dc_respond_writer (req, SOUP_STATUS_OK, w);
}

/* ---- PATCH /api/v1/fittings/{id} ------------------------------------------ */

static gboolean
optional_string (JsonObject  *o,
                 const char  *key,
                 gboolean     nullable,
                 gboolean    *present,
                 const char **out)
{
  JsonNode *node = json_object_get_member (o, key);

  *present = node != NULL;
  *out = NULL;
  if (node == NULL || (nullable && JSON_NODE_HOLDS_NULL (node)))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return FALSE;
  *out = json_node_get_string (node);
  return TRUE;
}

/* Applies the members of a "fitting" edit to @f; FALSE after answering. */
static gboolean
edit_fitting (DcRequest  *req,
              FcFitting  *f,
              JsonObject *o)
{
  static const char *text_members[] = { "customer_id", "bay", "fitter", "active_config_id", "notes" };
  char **fields[] = { &f->customer_id, &f->bay, &f->fitter, &f->active_config_id, &f->notes };
  gboolean present;
  const char *value;

  if (!optional_string (o, "id", FALSE, &present, &value) || (present && strcmp (value, f->id) != 0))
    {
      dc_respond_error (req, 422, "invalid_fitting", "fitting.id must be the fitting of the path");
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (text_members); i++)
    {
      gboolean nullable = strcmp (text_members[i], "bay") != 0;

      if (!optional_string (o, text_members[i], nullable, &present, &value) || (present && !nullable && !value))
        {
          dc_respond_error (req, 422, "invalid_fitting", "fitting.%s must be a string%s", text_members[i],
                            nullable ? " or null" : "");
          return FALSE;
        }
      if (present)
        {
          g_free (*fields[i]);
          *fields[i] = g_strdup (value);
        }
    }
  if (!optional_string (o, "type", FALSE, &present, &value) ||
      (present && !fc_fitting_type_from_string (value, &f->type)))
    {
      dc_respond_error (req, 422, "invalid_fitting", "fitting.type is not a fitting type");
      return FALSE;
    }
  if (!optional_string (o, "started_at", FALSE, &present, &value) ||
      (present && !fc_parse_timestamp (value, &f->started_at)))
    {
      dc_respond_error (req, 422, "invalid_fitting", "fitting.started_at must be an ISO 8601 time");
      return FALSE;
    }
  if (f->customer_id && !g_uuid_string_is_valid (f->customer_id))
    {
      dc_respond_error (req, 422, "invalid_fitting", "fitting.customer_id must be a UUID");
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  const char *id;
  gboolean    has_excluded, excluded;
  gboolean    has_reason;
  const char *reason;
  gboolean    has_tags;
  char       *tags;
  gboolean    has_config;
  const char *config_id;
} ShotEdit;

static void
shot_edit_clear (ShotEdit *e)
{
  g_free (e->tags);
}

/* FALSE after answering. */
static gboolean
read_shot_edit (DcRequest  *req,
                JsonNode   *node,
                guint       index,
                GHashTable *configs,
                ShotEdit   *e)
{
  JsonObject *o;
  JsonNode *m;
  gboolean present;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      dc_respond_shot_error (req, 422, "invalid_shot", NULL, index, NULL, "A shot edit must be an object");
      return FALSE;
    }
  o = json_node_get_object (node);
  if (!optional_string (o, "id", FALSE, &present, &e->id) || e->id == NULL || !g_uuid_string_is_valid (e->id))
    {
      dc_respond_shot_error (req, 422, "invalid_shot", NULL, index, "id", "A shot edit needs the shot's UUID in “id”");
      return FALSE;
    }
  m = json_object_get_member (o, "excluded");
  if ((e->has_excluded = m != NULL))
    {
      if (!JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_BOOLEAN)
        {
          dc_respond_shot_error (req, 422, "invalid_shot", e->id, index, "excluded", "“excluded” must be true or false");
          return FALSE;
        }
      e->excluded = json_node_get_boolean (m);
    }
  if (!optional_string (o, "exclude_reason", TRUE, &e->has_reason, &e->reason))
    {
      dc_respond_shot_error (req, 422, "invalid_shot", e->id, index, "exclude_reason",
                             "“exclude_reason” must be a string or null");
      return FALSE;
    }
  m = json_object_get_member (o, "tags");
  if ((e->has_tags = m != NULL))
    {
      g_autoptr(GPtrArray) tags = g_ptr_array_new ();
      JsonArray *a = JSON_NODE_HOLDS_ARRAY (m) ? json_node_get_array (m) : NULL;

      for (guint i = 0; a && i < json_array_get_length (a); i++)
        {
          JsonNode *t = json_array_get_element (a, i);

          if (!JSON_NODE_HOLDS_VALUE (t) || json_node_get_value_type (t) != G_TYPE_STRING ||
              *json_node_get_string (t) == '\0')
            a = NULL;
          else
            g_ptr_array_add (tags, (char *) json_node_get_string (t));
        }
      if (a == NULL && !JSON_NODE_HOLDS_NULL (m))
        {
          dc_respond_shot_error (req, 422, "invalid_shot", e->id, index, "tags",
                                 "“tags” must be an array of non-empty strings");
          return FALSE;
        }
      e->tags = tags_to_json (tags);
    }
  if (!optional_string (o, "config_id", TRUE, &e->has_config, &e->config_id))
    {
      dc_respond_shot_error (req, 422, "invalid_shot", e->id, index, "config_id", "“config_id” must be a UUID or null");
      return FALSE;
    }
  if (e->config_id && !g_hash_table_contains (configs, e->config_id))
    {
      dc_respond_shot_error (req, 422, "unknown_config", e->id, index, "config_id",
                             "The configuration is not part of this fitting on the server; send it first");
      return FALSE;
    }
  return TRUE;
}

void
dc_route_fitting_patch (DcRequest  *req,
                        const char *fitting_id)
{
  DcStore *store = req->server->store;
  DcPrincipal *p = dc_authenticate (req);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(FcFitting) f = NULL;
  g_autoptr(FcCustomer) customer = NULL;
  g_autoptr(GPtrArray) configs = NULL;
  g_autoptr(GHashTable) config_set = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *o;
  JsonNode *node;
  sqlite3_stmt *stmt;

  if (p == NULL || (f = path_fitting (req, p, fitting_id)) == NULL || (o = dc_request_json (req, parser)) == NULL)
    return;

  /* customer, then configurations, then the fitting, then shots: each may
   * refer to the ones before it. */
  if (!read_customer (req, o, &customer))
    return;
  if (customer && !upsert_customer (store, p->shop_id, customer, &error))
    {
      if (g_error_matches (error, FC_ERROR, FC_ERROR_CONFLICT))
        dc_respond_error (req, 422, "invalid_customer", "%s", error->message);
      else
        storage_error (req, error);
      return;
    }

  configs = read_configs (req, o, fitting_id);
  if (configs == NULL)
    return;
  for (guint i = 0; i < configs->len; i++)
    if (!upsert_config (store, fitting_id, g_ptr_array_index (configs, i), &error))
      {
        storage_error (req, error);
        return;
      }

  node = json_object_get_member (o, "fitting");
  if (node && !JSON_NODE_HOLDS_NULL (node))
    {
      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          dc_respond_error (req, 422, "invalid_fitting", "“fitting” must be an object");
          return;
        }
      if (!edit_fitting (req, f, json_node_get_object (node)))
        return;
      if (f->customer_id && !customer_in_shop (store, f->customer_id, p->shop_id))
        {
          dc_respond_error (req, 422, "invalid_fitting", "Customer %s is not on the server; send it first",
                            f->customer_id);
          return;
        }
      stmt = dc_store_stmt (store,
                            "UPDATE fittings SET customer_id = ?, type = ?, bay = ?, fitter = ?, started_at = ?,"
                            " active_config_id = ?, notes = ?, updated_at = ? WHERE id = ?");
      dc_bind_text (stmt, 1, f->customer_id);
      dc_bind_text (stmt, 2, fc_fitting_type_to_string (f->type));
      dc_bind_text (stmt, 3, f->bay);
      dc_bind_text (stmt, 4, f->fitter);
      sqlite3_bind_int64 (stmt, 5, f->started_at);
      dc_bind_text (stmt, 6, f->active_config_id);
      dc_bind_text (stmt, 7, f->notes);
      sqlite3_bind_int64 (stmt, 8, g_get_real_time ());
      dc_bind_text (stmt, 9, fitting_id);
      if (!dc_store_step_done (store, stmt, &error))
        {
          storage_error (req, error);
          return;
        }
    }

  node = json_object_get_member (o, "shots");
  if (node && !JSON_NODE_HOLDS_NULL (node))
    {
      JsonArray *a;

      if (!JSON_NODE_HOLDS_ARRAY (node))
        {
          dc_respond_error (req, 422, "invalid_shot", "“shots” must be an array");
          return;
        }
      a = json_node_get_array (node);
      if (json_array_get_length (a) > DC_MAX_SHOTS)
        {
          dc_respond_error (req, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too_many_shots",
                            "At most %d shot edits per request", DC_MAX_SHOTS);
          return;
        }
      config_set = config_ids (store, fitting_id);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          ShotEdit e = { 0 };

          if (!read_shot_edit (req, json_array_get_element (a, i), i, config_set, &e))
            {
              shot_edit_clear (&e);
              return;
            }
          stmt = dc_store_stmt (store,
                                "UPDATE shots SET"
                                " excluded = CASE WHEN ?1 THEN ?2 ELSE excluded END,"
                                " exclude_reason = CASE WHEN ?3 THEN ?4 ELSE exclude_reason END,"
                                " tags = CASE WHEN ?5 THEN ?6 ELSE tags END,"
                                " config_id = CASE WHEN ?7 THEN ?8 ELSE config_id END"
                                " WHERE id = ?9 AND fitting_id = ?10");
          sqlite3_bind_int (stmt, 1, e.has_excluded);
          sqlite3_bind_int (stmt, 2, e.excluded);
          sqlite3_bind_int (stmt, 3, e.has_reason);
          dc_bind_text (stmt, 4, e.reason);
          sqlite3_bind_int (stmt, 5, e.has_tags);
          dc_bind_text (stmt, 6, e.tags);
          sqlite3_bind_int (stmt, 7, e.has_config);
          dc_bind_text (stmt, 8, e.config_id);
          dc_bind_text (stmt, 9, e.id);
          dc_bind_text (stmt, 10, fitting_id);
          if (!dc_store_step_done (store, stmt, &error))
            {
              shot_edit_clear (&e);
              storage_error (req, error);
              return;
            }
          if (sqlite3_changes (store->db) == 0)
            {
              dc_respond_shot_error (req, 422, "unknown_shot", e.id, i, NULL,
                                     "The shot is not part of this fitting on the server; send it first");
              shot_edit_clear (&e);
              return;
            }
          shot_edit_clear (&e);
        }
    }
  respond_state (req, SOUP_STATUS_OK, fitting_id);
}

/* ---- PATCH /api/v1/fittings/{id}/complete ---------------------------------- */

void
dc_route_complete (DcRequest  *req,
                   const char *fitting_id)
{
  DcStore *store = req->server->store;
  DcPrincipal *p = dc_authenticate (req);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(FcFitting) f = NULL;
  g_autoptr(GError) error = NULL;
  gboolean present;
  const char *text;
  gint64 completed_at;
  JsonObject *o;
  sqlite3_stmt *stmt;

  if (p == NULL || (f = path_fitting (req, p, fitting_id)) == NULL || (o = dc_request_json (req, parser)) == NULL)
    return;
  if (!optional_string (o, "completed_at", FALSE, &present, &text) || text == NULL ||
      !fc_parse_timestamp (text, &completed_at))
    {
      dc_respond_error (req, 422, "invalid_fitting", "“completed_at” must be an ISO 8601 time");
      return;
    }
  if (f->status != FC_FITTING_COMPLETED)
    {
      stmt = dc_store_stmt (store,
                            "UPDATE fittings SET status = 'completed', completed_at = ?, updated_at = ? WHERE id = ?");
      sqlite3_bind_int64 (stmt, 1, completed_at);
      sqlite3_bind_int64 (stmt, 2, g_get_real_time ());
      dc_bind_text (stmt, 3, fitting_id);
      if (!dc_store_step_done (store, stmt, &error))
        {
          storage_error (req, error);
          return;
        }
    }
  respond_state (req, SOUP_STATUS_OK, fitting_id);
}

/* ---- videos ---------------------------------------------------------------- */

static void
respond_video (DcRequest  *req,
               guint       status,
               const char *video_id)
{
  DcStore *store = req->server->store;
  sqlite3_stmt *stmt = dc_store_stmt (store,
                                      "SELECT id, fitting_id, kind, size, sha256, content_type FROM videos WHERE id = ?");
  FcJsonWriter *w = fc_json_writer_new (FALSE);
  g_autofree char *url = g_strdup_printf ("/api/v1/videos/%s/content", video_id);

  dc_bind_text (stmt, 1, video_id);
  sqlite3_step (stmt);
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "id");
  fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 0));
  fc_json_writer_key (w, "fitting_id");
  fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 1));
  fc_json_writer_key (w, "kind");
  fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 2));
  fc_json_writer_key (w, "size");
  fc_json_writer_int (w, sqlite3_column_int64 (stmt, 3));
  fc_json_writer_key (w, "sha256");
  fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 4));
  fc_json_writer_key (w, "content_type");
  fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, 5));
  fc_json_writer_key (w, "url");
  fc_json_writer_string (w, url);
  fc_json_writer_end_object (w);
  sqlite3_reset (stmt);
  dc_respond_writer (req, status, w);
}

void
dc_route_videos_post (DcRequest  *req,
                      const char *fitting_id)
{
  DcServer *self = req->server;
  DcStore *store = self->store;
  DcPrincipal *p = dc_authenticate (req);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(FcFitting) f = NULL;
  g_autoptr(GError) error = NULL;
  const char *id, *url, *sha256, *kind, *content_type, *upload_id;
  g_autofree char *v_fitting = NULL, *v_sha = NULL, *u_fitting = NULL, *u_video = NULL, *u_state = NULL;
  g_autofree char *u_stored_sha = NULL;
  gint64 size, u_length = 0, u_offset = 0, u_expires = 0;
  gboolean present, found;
  JsonObject *o;
  JsonNode *node;
  sqlite3_stmt *stmt;

  if (p == NULL || (f = path_fitting (req, p, fitting_id)) == NULL || (o = dc_request_json (req, parser)) == NULL)
    return;
  node = json_object_get_member (o, "size");
  if (!optional_string (o, "id", FALSE, &present, &id) || !id || !g_uuid_string_is_valid (id) ||
      !optional_string (o, "upload_url", FALSE, &present, &url) || !url ||
      !optional_string (o, "sha256", FALSE, &present, &sha256) || !dc_is_sha256_hex (sha256) ||
      !optional_string (o, "kind", FALSE, &present, &kind) || g_strcmp0 (kind, "recap") != 0 ||
      !optional_string (o, "content_type", FALSE, &present, &content_type) || !content_type ||
      node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
      json_node_get_int (node) < 0)
    {
      dc_respond_error (req, 422, "invalid_video",
                        "A video needs id (UUID), upload_url, sha256 (64 lowercase hex digits), size (bytes),"
                        " kind \"recap\" and content_type");
      return;
    }
  size = json_node_get_int (node);

  /* The same video id again: fine when it is the same video. */
  stmt = dc_store_stmt (store, "SELECT fitting_id, sha256 FROM videos WHERE id = ?");
  dc_bind_text (stmt, 1, id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      v_fitting = dc_column_dup (stmt, 0);
      v_sha = dc_column_dup (stmt, 1);
    }
  sqlite3_reset (stmt);
  if (v_fitting)
    {
      if (strcmp (v_fitting, fitting_id) == 0 && strcmp (v_sha, sha256) == 0)
        respond_video (req, SOUP_STATUS_OK, id);
      else
        dc_respond_error (req, SOUP_STATUS_CONFLICT, "video_conflict",
                          "Video %s exists already with another file or fitting", id);
      return;
    }

  upload_id = strstr (url, "/files/");
  upload_id = upload_id ? upload_id + 7 : url;
  stmt = dc_store_stmt (store,
                        "SELECT fitting_id, video_id, state, length, upload_offset, expires_at, stored_sha256"
                        " FROM uploads WHERE id = ? AND shop_id = ?");
  dc_bind_text (stmt, 1, upload_id);
  dc_bind_text (stmt, 2, p->shop_id);
  found = sqlite3_step (stmt) == SQLITE_ROW;
  if (found)
    {
      u_fitting = dc_column_dup (stmt, 0);
      u_video = dc_column_dup (stmt, 1);
      u_state = dc_column_dup (stmt, 2);
      u_length = sqlite3_column_int64 (stmt, 3);
      u_offset = sqlite3_column_int64 (stmt, 4);
      u_expires = sqlite3_column_int64 (stmt, 5);
      u_stored_sha = dc_column_dup (stmt, 6);
    }
  sqlite3_reset (stmt);
  if (!found || strcmp (u_state, "terminated") == 0)
    {
      dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "upload_not_found", "No upload %s in this shop", upload_id);
      return;
    }
  if (strcmp (u_state, "attached") == 0)
    {
      dc_respond_error (req, SOUP_STATUS_CONFLICT, "video_conflict", "Upload %s is another video already", upload_id);
      return;
    }
  if (strcmp (u_state, "expired") == 0 || u_expires <= g_get_real_time ())
    {
      dc_respond_error (req, SOUP_STATUS_GONE, "upload_expired", "Upload %s has expired; upload again", upload_id);
      return;
    }
  if (u_offset < u_length)
    {
      dc_respond_error (req, 422, "upload_incomplete", "Upload %s has %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                        " bytes", upload_id, u_offset, u_length);
      return;
    }
  if (u_stored_sha == NULL)
    {
      /* The server restarted during the upload: hash the file now. */
      g_autofree char *path = dc_upload_file_path (self->config.files_dir, upload_id);

      u_stored_sha = dc_file_sha256 (path, NULL, &error);
      if (u_stored_sha == NULL)
        {
          dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "%s", error->message);
          return;
        }
    }
  if (strcmp (u_fitting, fitting_id) != 0 || strcmp (u_video, id) != 0 || u_length != size ||
      strcmp (u_stored_sha, sha256) != 0)
    {
      dc_respond_error (req, 422, "video_mismatch",
                        "The upload does not match: it has %" G_GINT64_FORMAT " bytes with SHA-256 %s for fitting %s"
                        " and video %s", u_length, u_stored_sha, u_fitting, u_video);
      return;
    }

  stmt = dc_store_stmt (store,
                        "INSERT INTO videos (id, fitting_id, kind, size, sha256, content_type, upload_id, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  dc_bind_text (stmt, 1, id);
  dc_bind_text (stmt, 2, fitting_id);
  dc_bind_text (stmt, 3, kind);
  sqlite3_bind_int64 (stmt, 4, size);
  dc_bind_text (stmt, 5, sha256);
  dc_bind_text (stmt, 6, content_type);
  dc_bind_text (stmt, 7, upload_id);
  sqlite3_bind_int64 (stmt, 8, g_get_real_time ());
  if (!dc_store_step_done (store, stmt, &error))
    {
      storage_error (req, error);
      return;
    }
  stmt = dc_store_stmt (store, "UPDATE uploads SET state = 'attached', stored_sha256 = ? WHERE id = ?");
  dc_bind_text (stmt, 1, u_stored_sha);
  dc_bind_text (stmt, 2, upload_id);
  if (!dc_store_step_done (store, stmt, &error))
    {
      storage_error (req, error);
      return;
    }
  respond_video (req, SOUP_STATUS_CREATED, id);
}

void
dc_route_video_content (DcRequest  *req,
                        const char *video_id)
{
  DcPrincipal *p = dc_authenticate (req);
  sqlite3_stmt *stmt;
  g_autofree char *upload_id = NULL, *content_type = NULL, *path = NULL;
  g_autoptr(GMappedFile) file = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  if (p == NULL)
    return;
  stmt = dc_store_stmt (req->server->store,
                        "SELECT v.upload_id, v.content_type FROM videos v JOIN fittings f ON f.id = v.fitting_id"
                        " WHERE v.id = ? AND f.shop_id = ?");
  dc_bind_text (stmt, 1, video_id);
  dc_bind_text (stmt, 2, p->shop_id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      upload_id = dc_column_dup (stmt, 0);
      content_type = dc_column_dup (stmt, 1);
    }
  sqlite3_reset (stmt);
  if (upload_id == NULL)
    {
      dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "not_found", "No video %s in this shop", video_id);
      return;
    }
  path = dc_upload_file_path (req->server->config.files_dir, upload_id);
  file = g_mapped_file_new (path, FALSE, &error);
  if (file == NULL)
    {
      dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "%s", error->message);
      return;
    }
  bytes = g_mapped_file_get_bytes (file);
  dc_respond_bytes (req, SOUP_STATUS_OK, content_type, bytes);
}
