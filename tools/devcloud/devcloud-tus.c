/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-devcloud"

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <openssl/evp.h>

#include "devcloud.h"
#include "fc-error.h"

/*
 * tus 1.0.0 (core, creation, expiration, checksum, termination) and the
 * plain PUT used as its throughput baseline.
 *
 * A PATCH body is never held in memory: libsoup hands each block it reads
 * from the socket (8 KiB in libsoup 3.2) to our got-chunk handler, which
 * writes it through a 1 MiB buffer into the upload's file and feeds the
 * digests. The upload's offset in SQLite is the truth; the file may hold
 * bytes past it (a chunk that failed its checksum, a crash), and the
 * next PATCH cuts the file back to the offset before writing.
 */

#define TUS_VERSION    "1.0.0"
#define WRITE_BUFFER   (1 << 20)

/* A running SHA-256 of an upload's file up to @offset, so that finishing
 * an upload does not read the whole file again. Lost on restart; then the
 * attach call hashes the file. */
typedef struct {
  guint64     offset;
  EVP_MD_CTX *ctx;
} DcUploadHash;

struct _DcSink {
  DcServer      *server;
  char          *upload_id;     /* NULL for PUT /_bench/blob */
  GFileIOStream *io;
  GOutputStream *out;           /* buffered, on io's output stream */
  guint64        start;         /* offset the body is written at */
  guint64        limit;         /* bytes this body may add */
  guint64        written;
  gboolean       over_limit;
  GError        *error;
  EVP_MD_CTX    *file_ctx;      /* SHA-256 of the file so far, or NULL if unknown */
  EVP_MD_CTX    *chunk_ctx;     /* Upload-Checksum's algorithm over this body */
  guint8         expected[EVP_MAX_MD_SIZE];
  guint          expected_len;
  char          *algorithm;
};

void
dc_upload_hash_free (gpointer data)
{
  DcUploadHash *h = data;

  EVP_MD_CTX_free (h->ctx);
  g_free (h);
}

void
dc_sink_free (DcSink *sink)
{
  if (sink == NULL)
    return;
  if (sink->upload_id)
    g_hash_table_remove (sink->server->upload_locks, sink->upload_id);
  if (sink->io)
    g_io_stream_close (G_IO_STREAM (sink->io), NULL, NULL);
  g_clear_object (&sink->out);
  g_clear_object (&sink->io);
  g_clear_error (&sink->error);
  EVP_MD_CTX_free (sink->file_ctx);
  EVP_MD_CTX_free (sink->chunk_ctx);
  g_free (sink->upload_id);
  g_free (sink->algorithm);
  g_free (sink);
}

char *
dc_upload_file_path (const char *files_dir,
                     const char *upload_id)
{
  return g_build_filename (files_dir, "uploads", upload_id, NULL);
}

static char *
digest_hex (EVP_MD_CTX *ctx)
{
  EVP_MD_CTX *copy = EVP_MD_CTX_new ();
  guint8 md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  GString *hex = g_string_new (NULL);

  /* Finalising a copy keeps @ctx usable. */
  EVP_MD_CTX_copy_ex (copy, ctx);
  EVP_DigestFinal_ex (copy, md, &len);
  EVP_MD_CTX_free (copy);
  for (guint i = 0; i < len; i++)
    g_string_append_printf (hex, "%02x", md[i]);
  return g_string_free (hex, FALSE);
}

static void
tus_headers (DcRequest *req)
{
  dc_request_add_header (req, "Tus-Resumable", TUS_VERSION);
}

/* Every tus request but OPTIONS names the protocol version. */
static gboolean
check_version (DcRequest *req)
{
  const char *v = soup_message_headers_get_one (soup_server_message_get_request_headers (req->msg),
                                                "Tus-Resumable");

  tus_headers (req);
  if (g_strcmp0 (v, TUS_VERSION) == 0)
    return TRUE;
  dc_request_add_header (req, "Tus-Version", TUS_VERSION);
  dc_respond_error (req, SOUP_STATUS_PRECONDITION_FAILED, "unsupported_tus_version",
                    "Send Tus-Resumable: " TUS_VERSION);
  return FALSE;
}

static gboolean
parse_u64 (const char *text,
           guint64    *out)
{
  char *end = NULL;

  if (text == NULL || !g_ascii_isdigit (*text) || strlen (text) > 19)
    return FALSE;
  *out = g_ascii_strtoull (text, &end, 10);
  return *end == '\0';
}

typedef struct {
  char    *fitting_id;
  char    *video_id;
  char    *state;
  guint64  length;
  guint64  offset;
  gint64   expires_at;
} UploadRow;

static void
upload_row_clear (UploadRow *u)
{
  g_free (u->fitting_id);
  g_free (u->video_id);
  g_free (u->state);
}

/* Loads the upload of the caller's shop; FALSE after answering 404/410. */
static gboolean
load_upload (DcRequest  *req,
             const char *upload_id,
             UploadRow  *u)
{
  sqlite3_stmt *stmt = dc_store_stmt (req->server->store,
                                      "SELECT fitting_id, video_id, state, length, upload_offset, expires_at"
                                      " FROM uploads WHERE id = ? AND shop_id = ?");
  gboolean found;

  dc_bind_text (stmt, 1, upload_id);
  dc_bind_text (stmt, 2, req->principal->shop_id);
  found = sqlite3_step (stmt) == SQLITE_ROW;
  if (found)
    {
      u->fitting_id = dc_column_dup (stmt, 0);
      u->video_id = dc_column_dup (stmt, 1);
      u->state = dc_column_dup (stmt, 2);
      u->length = sqlite3_column_int64 (stmt, 3);
      u->offset = sqlite3_column_int64 (stmt, 4);
      u->expires_at = sqlite3_column_int64 (stmt, 5);
    }
  sqlite3_reset (stmt);
  if (!found || strcmp (u->state, "terminated") == 0)
    {
      dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "not_found", "No upload %s", upload_id);
      return FALSE;
    }
  if (strcmp (u->state, "expired") == 0 ||
      (strcmp (u->state, "attached") != 0 && u->expires_at <= g_get_real_time ()))
    {
      dc_respond_error (req, SOUP_STATUS_GONE, "upload_expired", "Upload %s has expired; start a new one", upload_id);
      return FALSE;
    }
  return TRUE;
}

static void
add_expires (DcRequest *req,
             gint64     expires_at_us)
{
  g_autofree char *date = dc_http_date (expires_at_us / G_USEC_PER_SEC);

  dc_request_add_header (req, "Upload-Expires", date);
}

/* ---- OPTIONS, POST, HEAD, DELETE ----------------------------------------- */

void
dc_tus_options (DcRequest *req)
{
  g_autofree char *max = g_strdup_printf ("%" G_GUINT64_FORMAT, req->server->config.max_upload);

  tus_headers (req);
  dc_request_add_header (req, "Tus-Version", TUS_VERSION);
  dc_request_add_header (req, "Tus-Extension", "creation,expiration,checksum,termination");
  dc_request_add_header (req, "Tus-Checksum-Algorithm", "sha1,sha256");
  dc_request_add_header (req, "Tus-Max-Size", max);
  dc_respond_empty (req, SOUP_STATUS_NO_CONTENT);
}

/* "key base64,key base64": the values, or NULL after answering 400. */
static GHashTable *
parse_metadata (DcRequest  *req,
                const char *header)
{
  g_autoptr(GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto(GStrv) pairs = NULL;
  static const char *required[] = { "filename", "fitting_id", "video_id", "sha256", "content_type" };

  if (header == NULL)
    {
      dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid_metadata",
                        "Upload-Metadata needs filename, fitting_id, video_id, sha256 and content_type");
      return NULL;
    }
  pairs = g_strsplit (header, ",", -1);
  for (guint i = 0; pairs[i]; i++)
    {
      g_auto(GStrv) kv = g_strsplit (g_strstrip (pairs[i]), " ", 2);
      g_autofree guchar *value = NULL;
      gsize len = 0;

      if (kv[0] == NULL || *kv[0] == '\0')
        continue;
      if (kv[1])
        {
          /* g_base64_decode accepts junk silently; check the alphabet. */
          for (const char *p = kv[1]; *p; p++)
            if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=')
              {
                dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid_metadata",
                                  "Upload-Metadata value of “%s” is not base64", kv[0]);
                return NULL;
              }
          value = g_base64_decode (kv[1], &len);
        }
      if (!g_utf8_validate ((const char *) value, len, NULL) || memchr (value, '\0', len))
        {
          dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid_metadata",
                            "Upload-Metadata value of “%s” is not text", kv[0]);
          return NULL;
        }
      g_hash_table_replace (meta, g_strdup (kv[0]), g_strndup ((const char *) value, len));
    }
  for (guint i = 0; i < G_N_ELEMENTS (required); i++)
    {
      const char *v = g_hash_table_lookup (meta, required[i]);

      if (v == NULL || *v == '\0')
        {
          dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid_metadata", "Upload-Metadata lacks “%s”",
                            required[i]);
          return NULL;
        }
    }
  if (!g_uuid_string_is_valid (g_hash_table_lookup (meta, "fitting_id")) ||
      !g_uuid_string_is_valid (g_hash_table_lookup (meta, "video_id")) ||
      !dc_is_sha256_hex (g_hash_table_lookup (meta, "sha256")))
    {
      dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid_metadata",
                        "fitting_id and video_id must be UUIDs and sha256 64 lowercase hex digits");
      return NULL;
    }
  return g_steal_pointer (&meta);
}

void
dc_tus_create (DcRequest *req)
{
  DcServer *self = req->server;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (req->msg);
  g_autoptr(GHashTable) meta = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uuid = NULL, *id = NULL, *path = NULL, *location = NULL;
  g_autofree char *empty_sha = NULL;
  g_autoptr(GUri) base = NULL;
  guint64 length;
  gint64 now = g_get_real_time (), expires_at;
  sqlite3_stmt *stmt;
  gboolean fitting_found;

  if (!check_version (req) || dc_authenticate (req) == NULL)
    return;
  if (soup_message_headers_get_one (headers, "Upload-Defer-Length"))
    {
      dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid_upload_length",
                        "Deferred length is not supported; send Upload-Length");
      return;
    }
  if (!parse_u64 (soup_message_headers_get_one (headers, "Upload-Length"), &length))
    {
      dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid_upload_length",
                        "Upload-Length must be the file's size in bytes");
      return;
    }
  if (length > self->config.max_upload)
    {
      dc_respond_error (req, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "upload_too_large",
                        "The file is larger than Tus-Max-Size (%" G_GUINT64_FORMAT " bytes)", self->config.max_upload);
      return;
    }
  meta = parse_metadata (req, soup_message_headers_get_one (headers, "Upload-Metadata"));
  if (meta == NULL)
    return;

  stmt = dc_store_stmt (self->store, "SELECT 1 FROM fittings WHERE id = ? AND shop_id = ?");
  dc_bind_text (stmt, 1, g_hash_table_lookup (meta, "fitting_id"));
  dc_bind_text (stmt, 2, req->principal->shop_id);
  fitting_found = sqlite3_step (stmt) == SQLITE_ROW;
  sqlite3_reset (stmt);
  if (!fitting_found)
    {
      dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "fitting_not_found",
                        "Fitting %s is not on the server; create it first",
                        (char *) g_hash_table_lookup (meta, "fitting_id"));
      return;
    }

  uuid = g_uuid_string_random ();
  {
    /* 32 hex digits: the UUID without its dashes. */
    GString *compact = g_string_new (NULL);

    for (const char *p = uuid; *p; p++)
      if (*p != '-')
        g_string_append_c (compact, *p);
    id = g_string_free (compact, FALSE);
  }
  path = dc_upload_file_path (self->config.files_dir, id);
  if (!g_file_set_contents (path, "", 0, &error))
    {
      dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "%s", error->message);
      return;
    }
  if (length == 0)
    empty_sha = dc_sha256_hex ("", 0);

  expires_at = now + self->config.upload_ttl_s * G_USEC_PER_SEC;
  stmt = dc_store_stmt (self->store,
                        "INSERT INTO uploads (id, shop_id, principal, length, filename, fitting_id, video_id, sha256,"
                        " content_type, stored_sha256, state, expires_at, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)");
  dc_bind_text (stmt, 1, id);
  dc_bind_text (stmt, 2, req->principal->shop_id);
  dc_bind_text (stmt, 3, req->principal->key);
  sqlite3_bind_int64 (stmt, 4, length);
  dc_bind_text (stmt, 5, g_hash_table_lookup (meta, "filename"));
  dc_bind_text (stmt, 6, g_hash_table_lookup (meta, "fitting_id"));
  dc_bind_text (stmt, 7, g_hash_table_lookup (meta, "video_id"));
  dc_bind_text (stmt, 8, g_hash_table_lookup (meta, "sha256"));
  dc_bind_text (stmt, 9, g_hash_table_lookup (meta, "content_type"));
  dc_bind_text (stmt, 10, empty_sha);
  sqlite3_bind_int64 (stmt, 11, expires_at);
  sqlite3_bind_int64 (stmt, 12, now);
  if (!dc_store_step_done (self->store, stmt, &error))
    {
      dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "%s", error->message);
      return;
    }

  base = soup_uri_copy (soup_server_message_get_uri (req->msg), SOUP_URI_PATH, "/files/",
                        SOUP_URI_QUERY, NULL, SOUP_URI_FRAGMENT, NULL, SOUP_URI_NONE);
  {
    g_autofree char *base_text = g_uri_to_string (base);

    location = g_strconcat (base_text, id, NULL);
  }
  dc_request_add_header (req, "Location", location);
  add_expires (req, expires_at);
  /* A replay under the same Idempotency-Key must give the same Location. */
  req->store_headers = TRUE;
  dc_respond_empty (req, SOUP_STATUS_CREATED);
}

void
dc_tus_head (DcRequest  *req,
             const char *upload_id)
{
  UploadRow u = { 0 };
  char number[32];

  if (!check_version (req) || dc_authenticate (req) == NULL)
    return;
  dc_request_add_header (req, "Cache-Control", "no-store");
  if (!load_upload (req, upload_id, &u))
    {
      upload_row_clear (&u);
      return;
    }
  g_snprintf (number, sizeof number, "%" G_GUINT64_FORMAT, u.offset);
  dc_request_add_header (req, "Upload-Offset", number);
  g_snprintf (number, sizeof number, "%" G_GUINT64_FORMAT, u.length);
  dc_request_add_header (req, "Upload-Length", number);
  add_expires (req, u.expires_at);
  dc_respond_empty (req, SOUP_STATUS_OK);
  upload_row_clear (&u);
}

void
dc_tus_delete (DcRequest  *req,
               const char *upload_id)
{
  DcServer *self = req->server;
  UploadRow u = { 0 };
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  sqlite3_stmt *stmt;

  if (!check_version (req) || dc_authenticate (req) == NULL)
    return;
  if (!load_upload (req, upload_id, &u))
    goto out;
  if (strcmp (u.state, "attached") == 0)
    {
      dc_respond_error (req, SOUP_STATUS_CONFLICT, "upload_attached",
                        "Upload %s is a fitting's video and cannot be terminated", upload_id);
      goto out;
    }
  if (g_hash_table_contains (self->upload_locks, upload_id))
    {
      dc_respond_error (req, SOUP_STATUS_LOCKED, "upload_locked", "A PATCH is writing upload %s now", upload_id);
      goto out;
    }
  stmt = dc_store_stmt (self->store, "UPDATE uploads SET state = 'terminated' WHERE id = ?");
  dc_bind_text (stmt, 1, upload_id);
  if (!dc_store_step_done (self->store, stmt, &error))
    {
      dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "%s", error->message);
      goto out;
    }
  path = dc_upload_file_path (self->config.files_dir, upload_id);
  g_unlink (path);
  g_hash_table_remove (self->upload_hashes, upload_id);
  dc_respond_empty (req, SOUP_STATUS_NO_CONTENT);
out:
  upload_row_clear (&u);
}

void
dc_tus_expire (DcServer *self)
{
  sqlite3_stmt *stmt = dc_store_stmt (self->store,
                                      "UPDATE uploads SET state = 'expired' WHERE state = 'open' AND expires_at <= ?"
                                      " RETURNING id");
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  sqlite3_bind_int64 (stmt, 1, g_get_real_time ());
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (ids, dc_column_dup (stmt, 0));
  sqlite3_reset (stmt);
  for (guint i = 0; i < ids->len; i++)
    {
      g_autofree char *path = dc_upload_file_path (self->config.files_dir, g_ptr_array_index (ids, i));

      g_unlink (path);
      g_hash_table_remove (self->upload_hashes, g_ptr_array_index (ids, i));
    }
}

/* ---- streaming bodies ------------------------------------------------------ */

static DcSink *
sink_open (DcRequest   *req,
           const char  *path,
           const char  *upload_id,
           guint64      offset,
           gboolean     replace,
           GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  DcSink *sink = g_new0 (DcSink, 1);

  sink->server = req->server;
  sink->start = offset;
  sink->io = replace ? g_file_replace_readwrite (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, error)
                     : g_file_open_readwrite (file, NULL, error);
  if (sink->io == NULL ||
      !g_seekable_truncate (G_SEEKABLE (sink->io), offset, NULL, error) ||
      !g_seekable_seek (G_SEEKABLE (sink->io), offset, G_SEEK_SET, NULL, error))
    {
      dc_sink_free (sink);
      return NULL;
    }
  sink->out = g_buffered_output_stream_new_sized (g_io_stream_get_output_stream (G_IO_STREAM (sink->io)),
                                                  WRITE_BUFFER);
  if (upload_id)
    {
      sink->upload_id = g_strdup (upload_id);
      g_hash_table_add (req->server->upload_locks, g_strdup (upload_id));
    }
  return sink;
}

void
dc_sink_write (DcRequest *req,
               GBytes    *chunk)
{
  DcSink *sink = req->sink;
  gsize len;
  const guint8 *data = g_bytes_get_data (chunk, &len);

  if (sink->error || sink->over_limit)
    return;
  if (sink->written + len > sink->limit)
    {
      sink->over_limit = TRUE;
      return;
    }
  if (!g_output_stream_write_all (sink->out, data, len, NULL, NULL, &sink->error))
    return;
  if (sink->file_ctx)
    EVP_DigestUpdate (sink->file_ctx, data, len);
  if (sink->chunk_ctx)
    EVP_DigestUpdate (sink->chunk_ctx, data, len);
  sink->written += len;
}

/* Stores the new offset and remembers the running hash; inside the
 * caller's transaction. */
static gboolean
commit_offset (DcServer  *self,
               DcSink    *sink,
               gint64    *expires_at,
               GError   **error)
{
  guint64 offset = sink->start + sink->written;
  g_autofree char *sha = NULL;
  sqlite3_stmt *stmt;
  guint64 length = 0;

  if (!g_output_stream_flush (sink->out, NULL, error))
    return FALSE;
  stmt = dc_store_stmt (self->store, "SELECT length FROM uploads WHERE id = ?");
  dc_bind_text (stmt, 1, sink->upload_id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    length = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  if (offset == length && sink->file_ctx)
    sha = digest_hex (sink->file_ctx);

  *expires_at = g_get_real_time () + self->config.upload_ttl_s * G_USEC_PER_SEC;
  stmt = dc_store_stmt (self->store,
                        "UPDATE uploads SET upload_offset = ?, expires_at = ?, stored_sha256 = ? WHERE id = ?");
  sqlite3_bind_int64 (stmt, 1, offset);
  sqlite3_bind_int64 (stmt, 2, *expires_at);
  dc_bind_text (stmt, 3, sha);
  dc_bind_text (stmt, 4, sink->upload_id);
  if (!dc_store_step_done (self->store, stmt, error))
    return FALSE;

  if (sink->file_ctx)
    {
      DcUploadHash *h = g_new0 (DcUploadHash, 1);

      h->offset = offset;
      h->ctx = g_steal_pointer (&sink->file_ctx);
      g_hash_table_replace (self->upload_hashes, g_strdup (sink->upload_id), h);
    }
  else
    g_hash_table_remove (self->upload_hashes, sink->upload_id);
  return TRUE;
}

gboolean
dc_tus_patch_begin (DcRequest  *req,
                    const char *upload_id)
{
  DcServer *self = req->server;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (req->msg);
  const char *type = soup_message_headers_get_content_type (headers, NULL);
  const char *checksum = soup_message_headers_get_one (headers, "Upload-Checksum");
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  UploadRow u = { 0 };
  guint64 offset;
  goffset content_length;
  DcUploadHash *cached;
  const EVP_MD *md = NULL;
  DcSink *sink;
  gboolean ok = FALSE;

  if (!check_version (req) || dc_authenticate (req) == NULL)
    return FALSE;
  if (g_strcmp0 (type, "application/offset+octet-stream") != 0)
    {
      dc_respond_error (req, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                        "Send the bytes as Content-Type: application/offset+octet-stream");
      return FALSE;
    }
  if (!parse_u64 (soup_message_headers_get_one (headers, "Upload-Offset"), &offset))
    {
      dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid_offset", "Upload-Offset must be a byte count");
      return FALSE;
    }
  if (checksum)
    {
      g_auto(GStrv) parts = g_strsplit (checksum, " ", 2);
      g_autofree guchar *digest = NULL;
      gsize len = 0;

      if (g_strcmp0 (parts[0], "sha1") == 0)
        md = EVP_sha1 ();
      else if (g_strcmp0 (parts[0], "sha256") == 0)
        md = EVP_sha256 ();
      else
        {
          dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "unsupported_checksum_algorithm",
                            "Upload-Checksum algorithms: sha1, sha256");
          return FALSE;
        }
      if (parts[1])
        digest = g_base64_decode (parts[1], &len);
      if (len != (gsize) EVP_MD_get_size (md))
        {
          dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid_checksum",
                            "Upload-Checksum must be “%s <base64 of the %d-byte digest>”", parts[0],
                            EVP_MD_get_size (md));
          return FALSE;
        }
      memcpy (req->checksum_expected, digest, len);
      req->checksum_len = len;
    }
  if (!load_upload (req, upload_id, &u))
    goto out;
  if (g_hash_table_contains (self->upload_locks, upload_id))
    {
      dc_respond_error (req, SOUP_STATUS_LOCKED, "upload_locked",
                        "Another PATCH is writing upload %s now; try again after it", upload_id);
      goto out;
    }
  if (offset != u.offset)
    {
      char number[32];

      g_snprintf (number, sizeof number, "%" G_GUINT64_FORMAT, u.offset);
      dc_request_add_header (req, "Upload-Offset", number);
      dc_respond_error (req, SOUP_STATUS_CONFLICT, "offset_mismatch",
                        "Upload-Offset is %" G_GUINT64_FORMAT "; the upload has %" G_GUINT64_FORMAT " bytes",
                        offset, u.offset);
      goto out;
    }
  content_length = soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
                   ? soup_message_headers_get_content_length (headers) : -1;
  if (content_length >= 0 && (guint64) content_length > u.length - u.offset)
    {
      dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "upload_too_large",
                        "The body goes past Upload-Length (%" G_GUINT64_FORMAT ")", u.length);
      goto out;
    }

  path = dc_upload_file_path (self->config.files_dir, upload_id);
  sink = sink_open (req, path, upload_id, offset, FALSE, &error);
  if (sink == NULL)
    {
      dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "%s", error->message);
      goto out;
    }
  sink->limit = u.length - u.offset;
  if (md)
    {
      sink->chunk_ctx = EVP_MD_CTX_new ();
      EVP_DigestInit_ex (sink->chunk_ctx, md, NULL);
    }
  cached = g_hash_table_lookup (self->upload_hashes, upload_id);
  if (cached && cached->offset == offset)
    {
      sink->file_ctx = EVP_MD_CTX_new ();
      EVP_MD_CTX_copy_ex (sink->file_ctx, cached->ctx);
    }
  else if (offset == 0)
    {
      sink->file_ctx = EVP_MD_CTX_new ();
      EVP_DigestInit_ex (sink->file_ctx, EVP_sha256 (), NULL);
    }
  req->sink = sink;
  ok = TRUE;
out:
  upload_row_clear (&u);
  return ok;
}

static gboolean
checksum_ok (DcRequest *req,
             DcSink    *sink)
{
  guint8 md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;

  EVP_DigestFinal_ex (sink->chunk_ctx, md, &len);
  return len == req->checksum_len && memcmp (md, req->checksum_expected, len) == 0;
}

void
dc_tus_patch_finish (DcRequest *req)
{
  DcServer *self = req->server;
  DcSink *sink = req->sink;
  g_autoptr(GError) error = NULL;
  gint64 expires_at;
  char number[32];

  g_return_if_fail (sink != NULL);
  req->sink = NULL;

  if (sink->error)
    dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "Storing the bytes failed: %s",
                      sink->error->message);
  else if (sink->over_limit)
    dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "upload_too_large", "The body goes past Upload-Length");
  else if (sink->chunk_ctx && (req->checksum_mismatch || !checksum_ok (req, sink)))
    {
      /* The chunk is dropped: the offset stays, and the next PATCH cuts
       * the file back to it. */
      if (req->checksum_mismatch)
        self->fault_counts[DC_FAULT_COUNT_CHECKSUM]++;
      dc_respond_error (req, 460, "checksum_mismatch",
                        "The chunk does not match Upload-Checksum; it was discarded, send it again");
    }
  else if (!commit_offset (self, sink, &expires_at, &error))
    dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "%s", error->message);
  else
    {
      g_snprintf (number, sizeof number, "%" G_GUINT64_FORMAT, sink->start + sink->written);
      dc_request_add_header (req, "Upload-Offset", number);
      add_expires (req, expires_at);
      dc_respond_empty (req, SOUP_STATUS_NO_CONTENT);
    }
  dc_sink_free (sink);
}

void
dc_sink_abort (DcRequest *req)
{
  DcServer *self = req->server;
  DcSink *sink = g_steal_pointer (&req->sink);
  g_autoptr(GError) error = NULL;
  gint64 expires_at;

  /* Without a checksum a cut PATCH keeps what arrived (as tusd and
   * @tus/server's file store do); with one, only a whole, verified chunk
   * counts. */
  if (sink->upload_id && !sink->chunk_ctx && !sink->error && !sink->over_limit && sink->written > 0)
    {
      if (!dc_store_begin (self->store, &error) ||
          !commit_offset (self, sink, &expires_at, &error) ||
          !dc_store_commit (self->store, &error))
        {
          dc_store_rollback (self->store);
          g_warning ("Keeping the bytes of a cut PATCH failed: %s", error->message);
        }
    }
  dc_sink_free (sink);
}

/* ---- PUT /_bench/blob -------------------------------------------------------- */

gboolean
dc_blob_begin (DcRequest *req)
{
  DcServer *self = req->server;
  g_autoptr(GError) error = NULL;
  DcSink *sink;

  if (dc_authenticate (req) == NULL)
    return FALSE;
  sink = sink_open (req, self->blob_path, NULL, 0, TRUE, &error);
  if (sink == NULL)
    {
      dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "%s", error->message);
      return FALSE;
    }
  /* The same work per byte as a tus PATCH: buffered write and SHA-256. */
  sink->limit = self->config.max_upload;
  sink->file_ctx = EVP_MD_CTX_new ();
  EVP_DigestInit_ex (sink->file_ctx, EVP_sha256 (), NULL);
  req->sink = sink;
  return TRUE;
}

void
dc_blob_finish (DcRequest *req)
{
  DcSink *sink = g_steal_pointer (&req->sink);
  g_autoptr(GError) error = NULL;
  g_autofree char *sha = NULL;
  FcJsonWriter *w;

  g_return_if_fail (sink != NULL);
  if (sink->error || sink->over_limit || !g_output_stream_flush (sink->out, NULL, &error))
    {
      dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "Storing the blob failed");
      dc_sink_free (sink);
      return;
    }
  sha = digest_hex (sink->file_ctx);
  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "size");
  fc_json_writer_int (w, sink->written);
  fc_json_writer_key (w, "sha256");
  fc_json_writer_string (w, sha);
  fc_json_writer_end_object (w);
  dc_respond_writer (req, SOUP_STATUS_CREATED, w);
  dc_sink_free (sink);
}
