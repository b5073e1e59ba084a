/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * FcTusUpload against a tus 1.0.0 server double: a real SoupServer on
 * 127.0.0.1 port 0 that implements core tus, creation, expiration,
 * checksum (sha1, sha256; 460 on mismatch) and termination the way the
 * devcloud profile says, and injects the faults a real server and
 * network produce: offset mismatches, checksum mismatches, expiry,
 * unknown uploads, Retry-After answers and (through a TCP relay) cut
 * connections.
 */
#define G_LOG_DOMAIN "test-tus-upload"

#include <string.h>

#include "fc-error.h"
#include "fc-tus-upload.h"
#include "cut-proxy.h"
#include "tus-helpers.h"

#define TOKEN "test-token-1"

typedef struct {
  GByteArray *data;
  guint64     length;
  char       *metadata;
  gboolean    expired;
} DUpload;

static void
dupload_free (DUpload *up)
{
  g_byte_array_unref (up->data);
  g_free (up->metadata);
  g_free (up);
}

typedef struct {
  SoupServer *server;
  guint16     port;
  char       *endpoint;
  GHashTable *uploads;      /* id → DUpload */
  guint       next_id;

  gboolean    offer_checksum;
  /* Faults, each for the next matching request(s). */
  guint       corrupt_patches;    /* flip a byte of the body before verifying */
  guint       expire_after_patches;
  guint64     truncate_after_patch; /* lose bytes after the Nth PATCH */
  guint       truncate_patch_no;
  guint       fail_status;        /* answer the next request of fail_method so */
  const char *fail_method;
  const char *fail_retry_after;

  /* What it saw. */
  guint       creations;
  guint       patches;
  guint       heads;
  guint       deletes;
  guint       unauthorized;
  guint       checksums_seen;
  guint       mismatches;
  guint64     largest_patch;
  char       *last_algorithm;
} Double;

static DUpload *
find_upload (Double     *d,
             const char *path)
{
  const char *id = strrchr (path, '/');

  return id != NULL ? g_hash_table_lookup (d->uploads, id + 1) : NULL;
}

static void
set_offset_header (SoupServerMessage *msg,
                   DUpload           *up)
{
  g_autofree char *offset = g_strdup_printf ("%u", up->data->len);

  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Upload-Offset", offset);
}

static void
set_expires_header (SoupServerMessage *msg)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) later = g_date_time_add_days (now, 1);
  g_autofree char *text = soup_date_time_to_string (later, SOUP_DATE_HTTP);

  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Upload-Expires", text);
}

static gboolean
checksum_matches (const char *header,
                  GBytes     *body,
                  Double     *d)
{
  g_auto(GStrv) parts = g_strsplit (header, " ", 2);
  GChecksumType type;
  g_autoptr(GChecksum) checksum = NULL;
  guint8 digest[64];
  gsize digest_len = sizeof digest;
  g_autofree char *b64 = NULL;

  if (g_strv_length (parts) != 2)
    return FALSE;
  if (g_str_equal (parts[0], "sha256"))
    type = G_CHECKSUM_SHA256;
  else if (g_str_equal (parts[0], "sha1"))
    type = G_CHECKSUM_SHA1;
  else
    return FALSE;
  g_free (d->last_algorithm);
  d->last_algorithm = g_strdup (parts[0]);
  checksum = g_checksum_new (type);
  g_checksum_update (checksum, g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  g_checksum_get_digest (checksum, digest, &digest_len);
  b64 = g_base64_encode (digest, digest_len);
  return g_str_equal (b64, parts[1]);
}

static void
handle_patch (Double            *d,
              SoupServerMessage *msg,
              DUpload           *up)
{
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  const char *offset_text = soup_message_headers_get_one (req, "Upload-Offset");
  const char *checksum = soup_message_headers_get_one (req, "Upload-Checksum");
  guint64 offset;

  d->patches++;
  d->largest_patch = MAX (d->largest_patch, g_bytes_get_size (body));
  if (g_strcmp0 (soup_message_headers_get_content_type (req, NULL),
                 "application/offset+octet-stream") != 0)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, NULL);
      return;
    }
  if (offset_text == NULL ||
      !g_ascii_string_to_unsigned (offset_text, 10, 0, G_MAXUINT64, &offset, NULL))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
      return;
    }
  if (offset != up->data->len)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_CONFLICT, NULL);
      return;
    }
  if (offset + g_bytes_get_size (body) > up->length)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, NULL);
      return;
    }

  if (d->corrupt_patches > 0 && g_bytes_get_size (body) > 0)
    {
      /* A bit flipped on the way: the body no longer matches its digest. */
      gsize size = 0;
      guint8 *copy = g_bytes_unref_to_data (g_steal_pointer (&body), &size);

      copy[size / 2] ^= 0x40;
      body = g_bytes_new_take (copy, size);
      d->corrupt_patches--;
    }
  if (checksum != NULL)
    {
      d->checksums_seen++;
      if (!checksum_matches (checksum, body, d))
        {
          d->mismatches++;
          soup_server_message_set_status (msg, 460, "Checksum Mismatch");
          return;
        }
    }

  g_byte_array_append (up->data, g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  set_offset_header (msg, up);
  if (d->truncate_patch_no > 0 && d->patches == d->truncate_patch_no)
    /* The server acknowledges, then loses the tail (a restore from an
     * older snapshot): the client's next offset is ahead of it. */
    g_byte_array_set_size (up->data, up->data->len - (guint) d->truncate_after_patch);
  if (d->expire_after_patches > 0 && d->patches == d->expire_after_patches)
    up->expired = TRUE;

  set_expires_header (msg);
  soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
}

static void
handler (SoupServer        *server,
         SoupServerMessage *msg,
         const char        *path,
         GHashTable        *query,
         gpointer           user_data)
{
  Double *d = user_data;
  const char *method = soup_server_message_get_method (msg);
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *resp = soup_server_message_get_response_headers (msg);
  const char *auth = soup_message_headers_get_one (req, "Authorization");
  DUpload *up;

  soup_message_headers_replace (resp, "Tus-Resumable", "1.0.0");

  if (d->fail_status != 0 && g_str_equal (method, d->fail_method))
    {
      soup_server_message_set_status (msg, d->fail_status, NULL);
      if (d->fail_retry_after != NULL)
        soup_message_headers_replace (resp, "Retry-After", d->fail_retry_after);
      d->fail_status = 0;
      return;
    }

  if (g_str_equal (method, "OPTIONS"))
    {
      soup_message_headers_replace (resp, "Tus-Version", "1.0.0");
      soup_message_headers_replace (resp, "Tus-Extension",
                                    d->offer_checksum
                                      ? "creation,expiration,checksum,termination"
                                      : "creation,expiration,termination");
      if (d->offer_checksum)
        soup_message_headers_replace (resp, "Tus-Checksum-Algorithm", "sha1,sha256");
      soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
      return;
    }

  if (g_strcmp0 (auth, "Bearer " TOKEN) != 0)
    {
      d->unauthorized++;
      soup_server_message_set_status (msg, SOUP_STATUS_UNAUTHORIZED, NULL);
      return;
    }
  if (g_strcmp0 (soup_message_headers_get_one (req, "Tus-Resumable"), "1.0.0") != 0)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_PRECONDITION_FAILED, NULL);
      return;
    }

  if (g_str_equal (method, "POST") && (g_str_equal (path, "/files/") || g_str_equal (path, "/files")))
    {
      const char *length_text = soup_message_headers_get_one (req, "Upload-Length");
      g_autofree char *id = NULL;
      g_autofree char *location = NULL;
      guint64 length;

      if (length_text == NULL ||
          !g_ascii_string_to_unsigned (length_text, 10, 0, G_MAXUINT64, &length, NULL))
        {
          soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
          return;
        }
      up = g_new0 (DUpload, 1);
      up->data = g_byte_array_new ();
      up->length = length;
      up->metadata = g_strdup (soup_message_headers_get_one (req, "Upload-Metadata"));
      id = g_strdup_printf ("u%u", ++d->next_id);
      g_hash_table_insert (d->uploads, g_strdup (id), up);
      d->creations++;
      /* Relative, as many servers answer: the client must resolve it. */
      location = g_strdup_printf ("/files/%s", id);
      soup_message_headers_replace (resp, "Location", location);
      set_expires_header (msg);
      soup_server_message_set_status (msg, SOUP_STATUS_CREATED, NULL);
      return;
    }

  up = find_upload (d, path);
  if (up == NULL)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }
  if (up->expired)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_GONE, NULL);
      return;
    }

  if (g_str_equal (method, "HEAD"))
    {
      g_autofree char *length = g_strdup_printf ("%" G_GUINT64_FORMAT, up->length);

      d->heads++;
      set_offset_header (msg, up);
      soup_message_headers_replace (resp, "Upload-Length", length);
      soup_message_headers_replace (resp, "Cache-Control", "no-store");
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
    }
  else if (g_str_equal (method, "PATCH"))
    handle_patch (d, msg, up);
  else if (g_str_equal (method, "DELETE"))
    {
      d->deletes++;
      g_hash_table_remove (d->uploads, strrchr (path, '/') + 1);
      soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
    }
  else
    soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
}

static Double *
double_new (void)
{
  Double *d = g_new0 (Double, 1);
  g_autoptr(GError) error = NULL;
  g_autoslist(GUri) uris = NULL;

  d->uploads = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) dupload_free);
  d->offer_checksum = TRUE;
  d->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (d->server, "/files", handler, d, NULL);
  soup_server_listen_local (d->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (d->server);
  d->port = (guint16) g_uri_get_port (uris->data);
  d->endpoint = g_strdup_printf ("http://127.0.0.1:%u/files/", d->port);
  return d;
}

static void
double_free (Double *d)
{
  soup_server_disconnect (d->server);
  g_object_unref (d->server);
  g_hash_table_unref (d->uploads);
  g_free (d->endpoint);
  g_free (d->last_algorithm);
  g_free (d);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Double, double_free)

/* The only upload the double holds. */
static DUpload *
only_upload (Double *d)
{
  GHashTableIter iter;
  gpointer value = NULL;

  g_assert_cmpuint (g_hash_table_size (d->uploads), ==, 1);
  g_hash_table_iter_init (&iter, d->uploads);
  g_hash_table_iter_next (&iter, NULL, &value);
  return value;
}

static void
assert_stored (DUpload    *up,
               const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpuint (up->length, ==, length);
  g_assert_cmpuint (up->data->len, ==, length);
  g_assert_true (memcmp (up->data->data, contents, length) == 0);
}

static void
add_token (FcTusUpload *upload,
           SoupMessage *msg,
           gpointer     user_data)
{
  soup_message_headers_replace (soup_message_get_request_headers (msg),
                                "Authorization", "Bearer " TOKEN);
}

typedef struct {
  char        *dir;
  SoupSession *session;
} Fixture;

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("tus-upload-XXXXXX", &error);
  g_assert_no_error (error);
  fx->session = tus_test_session ();
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  tus_test_remove_dir (fx->dir);
  g_free (fx->dir);
  g_object_unref (fx->session);
}

static FcTusUpload *
new_upload (Fixture          *fx,
            const char       *endpoint,
            const char       *path,
            const FcTusState *state)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  FcTusUpload *upload;

  g_hash_table_insert (metadata, "filename", "swing 1.mp4");
  g_hash_table_insert (metadata, "video_id", "6f1c2a3e-0000-4000-8000-000000000001");
  g_hash_table_insert (metadata, "content_type", "video/mp4");
  upload = fc_tus_upload_new (fx->session, endpoint, file, metadata, state);
  fc_tus_upload_set_request_hook (upload, add_token, NULL, NULL);
  return upload;
}

/* ------------------------------------------------------------------ */

static void
test_full_upload (Fixture       *fx,
                  gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", 3 * 1024 * 1024 + 17, 1);
  g_autofree char *sha = tus_test_sha256_file (path);
  g_autoptr(FcTusUpload) upload = new_upload (fx, d->endpoint, path, NULL);
  g_autoptr(TusWatch) watch = tus_watch_new (upload);
  g_autoptr(GError) error = NULL;
  g_autofree char *expected_sha = NULL;
  const FcTusState *state;
  DUpload *up;

  fc_tus_upload_set_chunk_size (upload, 1024 * 1024);
  g_assert_true (tus_test_run (upload, NULL, 30, &error));
  g_assert_no_error (error);

  up = only_upload (d);
  assert_stored (up, path);
  g_assert_cmpuint (d->creations, ==, 1);
  g_assert_cmpuint (d->patches, ==, 4);
  g_assert_cmpuint (d->largest_patch, ==, 1024 * 1024);
  g_assert_cmpuint (d->checksums_seen, ==, 4);
  g_assert_cmpstr (d->last_algorithm, ==, "sha256");
  g_assert_cmpuint (d->unauthorized, ==, 0);
  g_assert_cmpuint (d->heads, ==, 0);

  /* Metadata: the caller's keys and the file's SH-256, base64 values. */
  g_assert_nonnull (up->metadata);
  g_assert_nonnull (strstr (up->metadata, "filename c3dpbmcgMS5tcDQ="));
  expected_sha = g_base64_encode ((const guchar *) sha, strlen (sha));
  g_assert_nonnull (strstr (up->metadata, expected_sha));

  /* One state after creation, one per acknowledged chunk. */
  g_assert_cmpuint (watch->states->len, ==, 5);
  state = g_ptr_array_index (watch->states, 0);
  g_assert_cmpuint (state->offset, ==, 0);
  g_assert_nonnull (g_strrstr (state->upload_url, "/files/u1"));
  g_assert_true (g_str_has_prefix (state->upload_url, "http://127.0.0.1:"));
  g_assert_cmpint (state->created_at, >, 0);
  g_assert_cmpint (state->expires_at, >, state->created_at);
  state = tus_watch_last (watch);
  g_assert_cmpuint (state->offset, ==, state->size);
  g_assert_cmpuint (state->size, ==, 3 * 1024 * 1024 + 17);
  g_assert_cmpstr (state->sha256, ==, sha);

  g_assert_cmpuint (watch->last_progress, ==, 3 * 1024 * 1024 + 17);
  g_assert_cmpuint (watch->progress_total, ==, 3 * 1024 * 1024 + 17);
  g_assert_cmpuint (watch->progress_calls, >=, 4);
  g_assert_cmpuint (watch->progress_backwards, ==, 0);
  g_assert_cmpfloat (watch->last_rate, >, 0.0);

  /* Running a finished upload again asks the server and sends nothing. */
  g_assert_true (tus_test_run (upload, NULL, 30, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (d->patches, ==, 4);
  g_assert_cmpuint (d->heads, ==, 1);
}

static void
test_streamed_sha1 (Fixture       *fx,
                    gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", 2 * 1024 * 1024 + 3, 2);
  g_autoptr(FcTusUpload) upload = new_upload (fx, d->endpoint, path, NULL);
  g_autoptr(GError) error = NULL;

  fc_tus_upload_set_chunk_size (upload, 700 * 1000);
  fc_tus_upload_set_buffer_chunks (upload, FALSE);
  fc_tus_upload_set_checksum_algorithm (upload, "sha1");
  g_assert_true (tus_test_run (upload, NULL, 30, &error));
  g_assert_no_error (error);
  assert_stored (only_upload (d), path);
  g_assert_cmpuint (d->patches, ==, 3);
  g_assert_cmpuint (d->checksums_seen, ==, 3);
  g_assert_cmpstr (d->last_algorithm, ==, "sha1");
}

static void
test_no_checksum_extension (Fixture       *fx,
                            gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", 100000, 3);
  g_autoptr(FcTusUpload) upload = new_upload (fx, d->endpoint, path, NULL);
  g_autoptr(GError) error = NULL;

  d->offer_checksum = FALSE;
  g_assert_true (tus_test_run (upload, NULL, 30, &error));
  g_assert_no_error (error);
  assert_stored (only_upload (d), path);
  g_assert_cmpuint (d->checksums_seen, ==, 0);
}

static void
test_empty_file (Fixture       *fx,
                 gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autofree char *path = tus_test_write_file (fx->dir, "empty.mp4", 0, 4);
  g_autoptr(FcTusUpload) upload = new_upload (fx, d->endpoint, path, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (tus_test_run (upload, NULL, 30, &error));
  g_assert_no_error (error);
  assert_stored (only_upload (d), path);
  g_assert_cmpuint (d->patches, ==, 0);
}

static void
test_checksum_mismatch (Fixture       *fx,
                        gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", 1024 * 1024, 5);
  g_autoptr(FcTusUpload) upload = new_upload (fx, d->endpoint, path, NULL);
  g_autoptr(FcTusUpload) hopeless = NULL;
  g_autoptr(GError) error = NULL;

  fc_tus_upload_set_chunk_size (upload, 256 * 1024);
  d->corrupt_patches = 2;
  g_assert_true (tus_test_run (upload, NULL, 30, &error));
  g_assert_no_error (error);
  assert_stored (only_upload (d), path);
  g_assert_cmpuint (d->mismatches, ==, 2);
  g_assert_cmpuint (d->patches, ==, 4 + 2);
  g_assert_cmpuint (fc_tus_upload_get_patch_count (upload), ==, 6);

  /* A line that damages every chunk: a bounded number of tries, then a
   * clear refusal instead of an endless loop. */
  d->corrupt_patches = 1000;
  g_hash_table_remove_all (d->uploads);
  hopeless = new_upload (fx, d->endpoint, path, NULL);
  g_assert_false (tus_test_run (hopeless, NULL, 30, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_REJECTED);
  g_assert_cmpuint (fc_tus_upload_get_patch_count (hopeless), ==, 4);
}

static void
test_conflict (Fixture       *fx,
               gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", 1024 * 1024, 6);
  g_autoptr(FcTusUpload) upload = new_upload (fx, d->endpoint, path, NULL);
  g_autoptr(GError) error = NULL;

  fc_tus_upload_set_chunk_size (upload, 256 * 1024);
  d->truncate_patch_no = 2;
  d->truncate_after_patch = 1000;
  g_assert_true (tus_test_run (upload, NULL, 30, &error));
  g_assert_no_error (error);
  assert_stored (only_upload (d), path);
  /* 4 chunks, one refused with 409, one short chunk to close the gap. */
  g_assert_cmpuint (d->heads, ==, 1);
  g_assert_cmpuint (d->patches, ==, 4 + 2);
}

static void
test_expired (Fixture       *fx,
              gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", 1024 * 1024, 7);
  g_autoptr(FcTusUpload) upload = new_upload (fx, d->endpoint, path, NULL);
  g_autoptr(TusWatch) watch = tus_watch_new (upload);
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  DUpload *up;
  guint complete = 0;

  fc_tus_upload_set_chunk_size (upload, 256 * 1024);
  d->expire_after_patches = 2;
  g_assert_true (tus_test_run (upload, NULL, 30, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (d->creations, ==, 2);
  g_assert_cmpuint (d->patches, ==, 2 + 4);
  g_hash_table_iter_init (&iter, d->uploads);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &up))
    if (!up->expired)
      {
        assert_stored (up, path);
        complete++;
      }
  g_assert_cmpuint (complete, ==, 1);
  g_assert_nonnull (g_strrstr (tus_watch_last (watch)->upload_url, "/files/u2"));
  g_assert_cmpuint (watch->progress_backwards, ==, 1);
}

static void
test_unknown_on_resume (Fixture       *fx,
                        gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", 300000, 8);
  g_autofree char *sha = tus_test_sha256_file (path);
  g_autoptr(FcTusUpload) upload = NULL;
  g_autoptr(GError) error = NULL;
  FcTusState saved = { 0 };

  /* A state saved weeks ago, for an upload the server has forgotten. */
  saved.upload_url = g_strdup_printf ("%su99", d->endpoint);
  saved.offset = 100000;
  saved.size = 300000;
  saved.sha256 = sha;
  upload = new_upload (fx, d->endpoint, path, &saved);
  g_free (saved.upload_url);

  g_assert_true (tus_test_run (upload, NULL, 30, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (d->creations, ==, 1);
  assert_stored (only_upload (d), path);
}

/* Cancels the run as soon as @after bytes are acknowledged: what a crash
 * leaves is the last state the caller stored. */
typedef struct {
  GCancellable *cancellable;
  guint64       after;
} CancelAt;

static void
cancel_on_state (gpointer          user_data,
                 const FcTusState *state)
{
  CancelAt *at = user_data;

  if (state->offset >= at->after)
    g_cancellable_cancel (at->cancellable);
}

static void
test_resume_fresh_object (Fixture       *fx,
                          gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", 1024 * 1024, 9);
  g_autoptr(FcTusUpload) first = new_upload (fx, d->endpoint, path, NULL);
  g_autoptr(TusWatch) watch = tus_watch_new (first);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(FcTusState) saved = NULL;
  g_autoptr(FcTusUpload) second = NULL;
  g_autoptr(GError) error = NULL;
  CancelAt at = { cancellable, 256 * 1024 };

  fc_tus_upload_set_chunk_size (first, 256 * 1024);
  watch->on_state = cancel_on_state;
  watch->on_state_data = &at;
  g_assert_false (tus_test_run (first, cancellable, 30, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  saved = fc_tus_state_copy (tus_watch_last (watch));
  g_clear_pointer (&watch, tus_watch_free);
  g_clear_object (&first);
  g_assert_cmpuint (saved->offset, ==, 256 * 1024);
  g_assert_cmpuint (d->patches, ==, 1);

  second = new_upload (fx, d->endpoint, path, saved);
  fc_tus_upload_set_chunk_size (second, 256 * 1024);
  g_assert_true (tus_test_run (second, NULL, 30, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (d->creations, ==, 1);
  g_assert_cmpuint (d->heads, ==, 1);
  g_assert_cmpuint (fc_tus_upload_get_patch_count (second), ==, 3);
  assert_stored (only_upload (d), path);
}

static void
test_cut_mid_patch (Fixture       *fx,
                    gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autoptr(CutProxy) proxy = cut_proxy_new (d->port);
  g_autofree char *endpoint = g_strdup_printf ("http://127.0.0.1:%u/files/",
                                               cut_proxy_get_port (proxy));
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", 1024 * 1024, 10);
  g_autoptr(FcTusUpload) upload = new_upload (fx, endpoint, path, NULL);
  g_autoptr(GError) error = NULL;
  guint runs = 0;

  fc_tus_upload_set_chunk_size (upload, 512 * 1024);
  /* Past OPTIONS, POST and the first PATCH, in the middle of the second. */
  cut_proxy_cut_after (proxy, 512 * 1024 + 200 * 1024);
  g_assert_false (tus_test_run (upload, NULL, 30, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NETWORK);
  g_clear_error (&error);
  g_assert_cmpuint (cut_proxy_get_cuts (proxy), ==, 1);
  g_assert_cmpuint (fc_tus_upload_get_state (upload)->offset, ==, 512 * 1024);

  /* The next run asks where the server is and finishes. */
  while (!tus_test_run (upload, NULL, 30, &error) && runs++ < 3)
    g_clear_error (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (d->heads, >=, 1);
  assert_stored (only_upload (d), path);
}

static void
test_file_changed (Fixture       *fx,
                   gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", 600000, 11);
  g_autoptr(FcTusUpload) first = new_upload (fx, d->endpoint, path, NULL);
  g_autoptr(TusWatch) watch = tus_watch_new (first);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(FcTusState) saved = NULL;
  g_autoptr(FcTusUpload) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path2 = NULL;
  CancelAt at = { cancellable, 1 };

  fc_tus_upload_set_chunk_size (first, 200000);
  watch->on_state = cancel_on_state;
  watch->on_state_data = &at;
  g_assert_false (tus_test_run (first, cancellable, 30, &error));
  g_clear_error (&error);
  saved = fc_tus_state_copy (tus_watch_last (watch));
  g_assert_cmpuint (saved->offset, ==, 200000);

  /* Same name, same size, other bytes. */
  path2 = tus_test_write_file (fx->dir, "a.mp4", 600000, 12);
  second = new_upload (fx, d->endpoint, path2, saved);
  g_assert_true (tus_test_run (second, NULL, 30, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (d->creations, ==, 2);
  /* The stale upload was terminated; only the new one is left. */
  g_assert_cmpuint (d->deletes, ==, 1);
  assert_stored (only_upload (d), path2);
  g_assert_cmpstr (fc_tus_upload_get_state (second)->sha256, !=, saved->sha256);
}

typedef struct {
  const char *path;
  gboolean    done;
} Shrink;

static void
shrink_on_state (gpointer          user_data,
                 const FcTusState *state)
{
  Shrink *shrink = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (shrink->done || state->offset == 0)
    return;
  shrink->done = TRUE;
  /* Someone re-encodes the video while it uploads: it is shorter now. */
  g_assert_true (g_file_get_contents (shrink->path, &contents, &length, NULL));
  g_file_set_contents (shrink->path, contents, (gssize) (length / 2), &error);
  g_assert_no_error (error);
}

static void
test_file_shrinks (Fixture       *fx,
                   gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", 800000, 16);
  g_autoptr(FcTusUpload) upload = new_upload (fx, d->endpoint, path, NULL);
  g_autoptr(TusWatch) watch = tus_watch_new (upload);
  g_autoptr(GError) error = NULL;
  Shrink shrink = { path, FALSE };
  GHashTableIter iter;
  DUpload *up;
  guint complete = 0;

  fc_tus_upload_set_chunk_size (upload, 300000);
  watch->on_state = shrink_on_state;
  watch->on_state_data = &shrink;
  g_assert_false (tus_test_run (upload, NULL, 30, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_CONFLICT);
  g_clear_error (&error);

  /* The next run sees another file and uploads it anew. */
  g_assert_true (tus_test_run (upload, NULL, 30, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (d->creations, ==, 2);
  g_assert_cmpuint (fc_tus_upload_get_state (upload)->size, ==, 400000);
  g_hash_table_iter_init (&iter, d->uploads);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &up))
    if (up->data->len == up->length)
      {
        assert_stored (up, path);
        complete++;
      }
  g_assert_cmpuint (complete, ==, 1);
}

static void
test_errors (Fixture       *fx,
             gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", 50000, 13);
  g_autofree char *missing = g_build_filename (fx->dir, "missing.mp4", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FcTusUpload) upload = NULL;
  g_autoptr(FcTusUpload) nofile = NULL;
  g_autoptr(FcTusUpload) noauth = NULL;
  g_autoptr(FcTusUpload) offline = NULL;
  g_autoptr(SoupServer) closed = soup_server_new (NULL, NULL);
  g_autoslist(GUri) uris = NULL;
  g_autofree char *offline_url = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (path);

  upload = new_upload (fx, d->endpoint, path, NULL);

  d->fail_method = "POST";
  d->fail_status = SOUP_STATUS_SERVICE_UNAVAILABLE;
  d->fail_retry_after = "7";
  g_assert_false (tus_test_run (upload, NULL, 30, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_SERVER);
  g_assert_cmpuint (fc_tus_upload_get_retry_after (upload), ==, 7);
  g_clear_error (&error);

  d->fail_method = "POST";
  d->fail_status = 429;
  d->fail_retry_after = "30";
  g_assert_false (tus_test_run (upload, NULL, 30, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_SERVER);
  g_assert_cmpuint (fc_tus_upload_get_retry_after (upload), ==, 30);
  g_clear_error (&error);

  /* Retry-After as an HTTP date, a minute from now. */
  {
    g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
    g_autoptr(GDateTime) later = g_date_time_add_seconds (now, 60);
    g_autofree char *date = soup_date_time_to_string (later, SOUP_DATE_HTTP);

    d->fail_method = "POST";
    d->fail_status = SOUP_STATUS_SERVICE_UNAVAILABLE;
    d->fail_retry_after = date;
    g_assert_false (tus_test_run (upload, NULL, 30, &error));
    g_assert_error (error, FC_ERROR, FC_ERROR_SERVER);
    g_assert_cmpuint (fc_tus_upload_get_retry_after (upload), >=, 55);
    g_assert_cmpuint (fc_tus_upload_get_retry_after (upload), <=, 61);
    g_clear_error (&error);
  }

  d->fail_method = "PATCH";
  d->fail_status = SOUP_STATUS_FORBIDDEN;
  d->fail_retry_after = NULL;
  g_assert_false (tus_test_run (upload, NULL, 30, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_REJECTED);
  g_assert_cmpuint (fc_tus_upload_get_retry_after (upload), ==, 0);
  g_clear_error (&error);

  d->fail_method = "HEAD";
  d->fail_status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
  g_assert_false (tus_test_run (upload, NULL, 30, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_SERVER);
  g_clear_error (&error);

  /* After all that, the same object still finishes the upload. */
  g_assert_true (tus_test_run (upload, NULL, 30, &error));
  g_assert_no_error (error);
  assert_stored (only_upload (d), path);

  /* 401: no token. */
  noauth = fc_tus_upload_new (fx->session, d->endpoint, file, NULL, NULL);
  g_assert_false (tus_test_run (noauth, NULL, 30, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_UNAUTHORIZED);
  g_clear_error (&error);

  nofile = new_upload (fx, d->endpoint, missing, NULL);
  g_assert_false (tus_test_run (nofile, NULL, 30, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A port nobody listens on any more. */
  soup_server_listen_local (closed, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (closed);
  offline_url = g_strdup_printf ("http://127.0.0.1:%d/files/", g_uri_get_port (uris->data));
  soup_server_disconnect (closed);
  offline = new_upload (fx, offline_url, path, NULL);
  g_assert_false (tus_test_run (offline, NULL, 30, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_NETWORK);
}

static void
test_bandwidth_cap (Fixture       *fx,
                    gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  const guint64 cap = 400 * 1024;
  const gsize size = 1024 * 1024;
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", size, 14);
  g_autoptr(FcTusUpload) upload = new_upload (fx, d->endpoint, path, NULL);
  g_autoptr(TusWatch) watch = tus_watch_new (upload);
  g_autoptr(GError) error = NULL;
  gint64 start;
  double seconds;
  double rate;

  fc_tus_upload_set_chunk_size (upload, 256 * 1024);
  fc_tus_upload_set_bandwidth_limit (upload, cap);
  g_assert_cmpuint (fc_tus_upload_get_bandwidth_limit (upload), ==, cap);
  start = g_get_monotonic_time ();
  g_assert_true (tus_test_run (upload, NULL, 30, &error));
  g_assert_no_error (error);
  seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  rate = (double) size / seconds;
  g_test_message ("1 MiB at a cap of 400 KiB/s: %.2f s, %.0f B/s, reported %.0f B/s",
                  seconds, rate, watch->last_rate);
  assert_stored (only_upload (d), path);
  /* At most the cap (plus one burst), and not far below it. */
  g_assert_cmpfloat (rate, <=, cap * 1.10);
  g_assert_cmpfloat (rate, >=, cap * 0.80);
  g_assert_cmpfloat (watch->last_rate, <=, cap * 1.10);
  g_assert_cmpfloat (watch->last_rate, >=, cap * 0.80);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel (Fixture       *fx,
             gconstpointer  unused)
{
  g_autoptr(Double) d = double_new ();
  g_autofree char *path = tus_test_write_file (fx->dir, "a.mp4", 1024 * 1024, 15);
  g_autoptr(FcTusUpload) upload = new_upload (fx, d->endpoint, path, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  gint64 start;
  double seconds;

  /* Slow enough that the run is mid-chunk when cancelled: the cap's
   * wait must not delay the cancellation. */
  fc_tus_upload_set_chunk_size (upload, 512 * 1024);
  fc_tus_upload_set_bandwidth_limit (upload, 20 * 1024);
  g_timeout_add (300, cancel_cb, cancellable);
  start = g_get_monotonic_time ();
  g_assert_false (tus_test_run (upload, cancellable, 30, &error));
  seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpfloat (seconds, <, 1.5);
  g_assert_cmpuint (fc_tus_upload_get_state (upload)->offset, ==, 0);

  /* Then lift the cap and finish. */
  fc_tus_upload_set_bandwidth_limit (upload, 0);
  g_assert_true (tus_test_run (upload, NULL, 30, &error));
  g_assert_no_error (error);
  assert_stored (only_upload (d), path);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/tus-upload/full", test_full_upload);
  ADD ("/tus-upload/streamed-sha1", test_streamed_sha1);
  ADD ("/tus-upload/no-checksum-extension", test_no_checksum_extension);
  ADD ("/tus-upload/empty-file", test_empty_file);
  ADD ("/tus-upload/checksum-mismatch", test_checksum_mismatch);
  ADD ("/tus-upload/conflict", test_conflict);
  ADD ("/tus-upload/expired", test_expired);
  ADD ("/tus-upload/unknown-on-resume", test_unknown_on_resume);
  ADD ("/tus-upload/resume-fresh-object", test_resume_fresh_object);
  ADD ("/tus-upload/cut-mid-patch", test_cut_mid_patch);
  ADD ("/tus-upload/file-changed", test_file_changed);
  ADD ("/tus-upload/file-shrinks", test_file_shrinks);
  ADD ("/tus-upload/errors", test_errors);
  ADD ("/tus-upload/bandwidth-cap", test_bandwidth_cap);
  ADD ("/tus-upload/cancel", test_cancel);
#undef ADD

  return g_test_run ();
}
