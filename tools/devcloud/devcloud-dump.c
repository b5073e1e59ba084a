/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-devcloud"

#include "config.h"

#include "devcloud.h"
#include "fc-error.h"

/*
 * Everything the server holds, as one JSON document, for tests that
 * compare it with the agent's store: records in the shot schema, with
 * edits applied, and videos hashed from the files on disk.
 */

typedef enum {
  COL_TEXT,
  COL_INT,
  COL_REAL,
  COL_TIME,    /* unix µs → ISO 8601 */
  COL_BOOL,    /* non-NULL → true */
} ColumnKind;

typedef struct {
  const char *name;
  ColumnKind  kind;
} Column;

/* Writes every row of @sql as an object whose members are @columns. */
static void
write_rows (DcStore      *store,
            FcJsonWriter *w,
            const char   *sql,
            const Column *columns,
            guint         n_columns)
{
  sqlite3_stmt *stmt = dc_store_stmt (store, sql);

  fc_json_writer_begin_array (w);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      fc_json_writer_begin_object (w);
      for (guint i = 0; i < n_columns; i++)
        {
          fc_json_writer_key (w, columns[i].name);
          if (columns[i].kind == COL_BOOL)
            fc_json_writer_boolean (w, sqlite3_column_type (stmt, i) != SQLITE_NULL && sqlite3_column_int64 (stmt, i));
          else if (sqlite3_column_type (stmt, i) == SQLITE_NULL)
            fc_json_writer_null (w);
          else if (columns[i].kind == COL_INT)
            fc_json_writer_int (w, sqlite3_column_int64 (stmt, i));
          else if (columns[i].kind == COL_REAL)
            fc_json_writer_double (w, sqlite3_column_double (stmt, i));
          else if (columns[i].kind == COL_TIME)
            {
              g_autofree char *t = fc_format_timestamp (sqlite3_column_int64 (stmt, i));
              fc_json_writer_string (w, t);
            }
          else
            fc_json_writer_string (w, (const char *) sqlite3_column_text (stmt, i));
        }
      fc_json_writer_end_object (w);
    }
  sqlite3_reset (stmt);
  fc_json_writer_end_array (w);
}

char *
dc_dump (DcStore     *store,
         const char  *files_dir,
         GError     **error)
{
  static const Column users[] = {
    { "id", COL_TEXT }, { "email", COL_TEXT }, { "shop_id", COL_TEXT }, { "created_at", COL_TIME },
  };
  static const Column shops[] = {
    { "id", COL_TEXT }, { "name", COL_TEXT }, { "primary_color", COL_TEXT }, { "secondary_color", COL_TEXT },
    { "accent_color", COL_TEXT }, { "phone", COL_TEXT }, { "email", COL_TEXT }, { "website", COL_TEXT },
    { "address", COL_TEXT }, { "logo_sha256", COL_TEXT }, { "logo_content_type", COL_TEXT },
    { "logo_size", COL_INT },
  };
  static const Column devices[] = {
    { "id", COL_TEXT }, { "shop_id", COL_TEXT }, { "user_id", COL_TEXT }, { "name", COL_TEXT },
    { "platform", COL_TEXT }, { "created_at", COL_TIME }, { "last_used_at", COL_TIME },
    { "refresh_expires_at", COL_TIME }, { "revoked", COL_BOOL }, { "revoked_at", COL_TIME },
  };
  static const Column customers[] = {
    { "id", COL_TEXT }, { "shop_id", COL_TEXT }, { "name", COL_TEXT }, { "email", COL_TEXT },
    { "phone", COL_TEXT }, { "handedness", COL_TEXT }, { "handicap", COL_REAL }, { "notes", COL_TEXT },
  };
  static const Column uploads[] = {
    { "id", COL_TEXT }, { "shop_id", COL_TEXT }, { "fitting_id", COL_TEXT }, { "video_id", COL_TEXT },
    { "filename", COL_TEXT }, { "content_type", COL_TEXT }, { "sha256", COL_TEXT }, { "length", COL_INT },
    { "offset", COL_INT }, { "state", COL_TEXT }, { "stored_sha256", COL_TEXT }, { "expires_at", COL_TIME },
    { "created_at", COL_TIME },
  };
  FcJsonWriter *w = fc_json_writer_new (TRUE);
  g_autoptr(GPtrArray) fittings = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt;

  /* One read transaction: the dump is a consistent snapshot even while
   * the server goes on writing. */
  if (!dc_store_exec (store, "BEGIN", error))
    {
      fc_json_writer_free (w);
      return NULL;
    }

  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "users");
  write_rows (store, w, "SELECT id, email, shop_id, created_at FROM users ORDER BY created_at, id",
              users, G_N_ELEMENTS (users));
  fc_json_writer_key (w, "shops");
  write_rows (store, w,
              "SELECT id, name, primary_color, secondary_color, accent_color, phone, email, website, address,"
              " logo_sha256, logo_content_type, length(logo) FROM shops ORDER BY name",
              shops, G_N_ELEMENTS (shops));
  fc_json_writer_key (w, "devices");
  write_rows (store, w,
              "SELECT id, shop_id, user_id, name, platform, created_at, last_used_at, refresh_expires_at,"
              " revoked_at IS NOT NULL, revoked_at FROM devices ORDER BY created_at, id",
              devices, G_N_ELEMENTS (devices));
  fc_json_writer_key (w, "customers");
  write_rows (store, w,
              "SELECT id, shop_id, name, email, phone, handedness, handicap, notes FROM customers ORDER BY id",
              customers, G_N_ELEMENTS (customers));

  stmt = dc_store_stmt (store, "SELECT id FROM fittings ORDER BY created_at, id");
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (fittings, dc_column_dup (stmt, 0));
  sqlite3_reset (stmt);
  fc_json_writer_key (w, "fittings");
  fc_json_writer_begin_array (w);
  for (guint i = 0; i < fittings->len; i++)
    if (!dc_write_fitting_dump (store, files_dir, w, g_ptr_array_index (fittings, i), error))
      {
        fc_json_writer_free (w);
        dc_store_exec (store, "ROLLBACK", NULL);
        return NULL;
      }
  fc_json_writer_end_array (w);

  fc_json_writer_key (w, "uploads");
  write_rows (store, w,
              "SELECT id, shop_id, fitting_id, video_id, filename, content_type, sha256, length, upload_offset,"
              " state, stored_sha256, expires_at, created_at FROM uploads ORDER BY created_at, id",
              uploads, G_N_ELEMENTS (uploads));
  fc_json_writer_end_object (w);
  dc_store_exec (store, "COMMIT", NULL);
  return fc_json_writer_steal (w, NULL);
}
