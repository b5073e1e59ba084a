/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-tus-upload"

#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "fc-error.h"
#include "fc-tus-body-stream.h"
#include "fc-tus-upload.h"

#define TUS_VERSION "1.0.0"

/* Bounds on the recoveries a run makes by itself, so that a server that
 * keeps answering the same thing cannot keep a run going for ever. */
#define MAX_CHECKSUM_RETRIES 3   /* 460 for one chunk */
#define MAX_CONFLICTS        5   /* 409 in a row */
#define MAX_RECREATIONS      2   /* 404/410 in one run */
#define MAX_STALLS           3   /* PATCH answers that moved nothing */

#define READ_BUFFER_SIZE (1024 * 1024)

/* Not in libsoup 3.2's SoupStatus. */
#define STATUS_TOO_MANY_REQUESTS 429
#define STATUS_CHECKSUM_MISMATCH 460

/* ------------------------------------------------------------------ */
/* FcTusState */

FcTusState *
fc_tus_state_new (void)
{
  return g_new0 (FcTusState, 1);
}

FcTusState *
fc_tus_state_copy (const FcTusState *state)
{
  FcTusState *copy;

  g_return_val_if_fail (state != NULL, NULL);

  copy = g_memdup2 (state, sizeof *state);
  copy->upload_url = g_strdup (state->upload_url);
  copy->sha256 = g_strdup (state->sha256);
  return copy;
}

void
fc_tus_state_free (FcTusState *state)
{
  if (state == NULL)
    return;
  g_free (state->upload_url);
  g_free (state->sha256);
  g_free (state);
}

G_DEFINE_BOXED_TYPE (FcTusState, fc_tus_state, fc_tus_state_copy, fc_tus_state_free)

/* ------------------------------------------------------------------ */

struct _FcTusUpload
{
  GObject           parent_instance;

  SoupSession      *session;
  char             *endpoint;
  GFile            *file;
  GHashTable       *metadata;
  FcTusState        state;

  guint64           chunk_size;
  FcTusBucket      *bucket;
  char             *checksum_algorithm;
  gboolean          buffer_chunks;

  FcTusRequestHook  hook;
  gpointer          hook_data;
  GDestroyNotify    hook_destroy;

  guint             retry_after;
  guint             patch_count;
  gboolean          running;
};

G_DEFINE_FINAL_TYPE (FcTusUpload, fc_tus_upload, G_TYPE_OBJECT)

enum {
  SIGNAL_STATE_CHANGED,
  SIGNAL_PROGRESS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* One chunk, read from disk in a worker thread. */
typedef struct {
  guint64       offset;
  guint64       length;
  GBytes       *bytes;   /* buffered mode */
  GInputStream *stream;  /* streamed mode: the file at @offset */
  char         *digest;  /* base64, or NULL without checksums */
} Chunk;

static void
chunk_free (Chunk *chunk)
{
  if (chunk == NULL)
    return;
  g_clear_pointer (&chunk->bytes, g_bytes_unref);
  g_clear_object (&chunk->stream);
  g_free (chunk->digest);
  g_free (chunk);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Chunk, chunk_free)

typedef struct {
  char    *checksum;       /* negotiated algorithm, or NULL */
  gboolean can_terminate;
  char    *stale_url;      /* an upload of an older version of the file */

  Chunk   *chunk;          /* the chunk being sent */
  guint    checksum_retries;
  guint    conflicts;
  guint    recreations;
  guint    stalls;

  gint64   started_at;     /* monotonic µs */
  guint64  started_offset;
} RunData;

static void
run_data_free (RunData *data)
{
  g_free (data->checksum);
  g_free (data->stale_url);
  chunk_free (data->chunk);
  g_free (data);
}

/* ------------------------------------------------------------------ */
/* Digests */

static const EVP_MD *
digest_for_name (const char *name)
{
  if (g_strcmp0 (name, "sha256") == 0)
    return EVP_sha256 ();
  if (g_strcmp0 (name, "sha1") == 0)
    return EVP_sha1 ();
  if (g_strcmp0 (name, "md5") == 0)
    return EVP_md5 ();
  return NULL;
}

/* Reads @length bytes of @stream (all of it when @length is -1) into
 * @ctx and, when @keep is not NULL, into @keep. */
static gboolean
digest_stream (GInputStream  *stream,
               gint64         length,
               EVP_MD_CTX    *ctx,
               guint8        *keep,
               guint64       *total,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autofree guint8 *buffer = keep == NULL ? g_malloc (READ_BUFFER_SIZE) : NULL;
  guint64 done = 0;

  for (;;)
    {
      gsize want = READ_BUFFER_SIZE;
      guint8 *into;
      gssize nread;

      if (length >= 0)
        {
          if (done == (guint64) length)
            break;
          want = (gsize) MIN ((guint64) want, (guint64) length - done);
        }
      into = keep != NULL ? keep + done : buffer;
      nread = g_input_stream_read (stream, into, want, cancellable, error);
      if (nread < 0)
        return FALSE;
      if (nread == 0)
        {
          if (length < 0)
            break;
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                       "The file ended %" G_GUINT64_FORMAT " bytes early",
                       (guint64) length - done);
          return FALSE;
        }
      if (ctx != NULL)
        EVP_DigestUpdate (ctx, into, (gsize) nread);
      done += (guint64) nread;
    }

  if (total != NULL)
    *total = done;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Worker: the whole file's size and SHA-256 */

typedef struct {
  guint64 size;
  char   *sha256;
} FileInfo;

static void
file_info_free (FileInfo *info)
{
  g_free (info->sha256);
  g_free (info);
}

static void
hash_file_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  GFile *file = task_data;
  g_autoptr(GFileInputStream) stream = NULL;
  EVP_MD_CTX *ctx;
  guint8 md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  GError *error = NULL;
  FileInfo *info;
  guint64 size = 0;
  gboolean ok;

  stream = g_file_read (file, cancellable, &error);
  if (stream == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  ctx = EVP_MD_CTX_new ();
  EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL);
  ok = digest_stream (G_INPUT_STREAM (stream), -1, ctx, NULL, &size, cancellable, &error);
  if (ok)
    EVP_DigestFinal_ex (ctx, md, &md_len);
  EVP_MD_CTX_free (ctx);
  if (!ok)
    {
      g_task_return_error (task, error);
      return;
    }

  info = g_new0 (FileInfo, 1);
  info->size = size;
  info->sha256 = g_malloc (md_len * 2 + 1);
  for (unsigned int i = 0; i < md_len; i++)
    g_snprintf (info->sha256 + i * 2, 3, "%02x", md[i]);
  g_task_return_pointer (task, info, (GDestroyNotify) file_info_free);
}

/* ------------------------------------------------------------------ */
/* Worker: one chunk */

typedef struct {
  GFile   *file;
  guint64  offset;
  guint64  length;
  char    *algorithm;
  gboolean buffered;
} ChunkJob;

static void
chunk_job_free (ChunkJob *job)
{
  g_object_unref (job->file);
  g_free (job->algorithm);
  g_free (job);
}

static void
read_chunk_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  ChunkJob *job = task_data;
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(Chunk) chunk = g_new0 (Chunk, 1);
  const EVP_MD *md = digest_for_name (job->algorithm);
  EVP_MD_CTX *ctx = NULL;
  guint8 *data = NULL;
  GError *error = NULL;
  gboolean ok = TRUE;

  chunk->offset = job->offset;
  chunk->length = job->length;

  stream = g_file_read (job->file, cancellable, &error);
  if (stream == NULL ||
      !g_seekable_seek (G_SEEKABLE (stream), (goffset) job->offset, G_SEEK_SET, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (md != NULL)
    {
      ctx = EVP_MD_CTX_new ();
      EVP_DigestInit_ex (ctx, md, NULL);
    }
  if (job->buffered)
    data = g_malloc (MAX (job->length, 1));
  if (md != NULL || job->buffered)
    ok = digest_stream (G_INPUT_STREAM (stream), (gint64) job->length, ctx, data, NULL,
                        cancellable, &error);
  if (ok && ctx != NULL)
    {
      guint8 digest[EVP_MAX_MD_SIZE];
      unsigned int digest_len = 0;

      EVP_DigestFinal_ex (ctx, digest, &digest_len);
      chunk->digest = g_base64_encode (digest, digest_len);
    }
  if (ctx != NULL)
    EVP_MD_CTX_free (ctx);

  if (ok && job->buffered)
    chunk->bytes = g_bytes_new_take (g_steal_pointer (&data), job->length);
  else if (ok && md != NULL)
    /* Read again for the body: from the page cache, and far cheaper than
     * holding the chunk. */
    ok = g_seekable_seek (G_SEEKABLE (stream), (goffset) job->offset, G_SEEK_SET,
                          cancellable, &error);
  g_free (data);
  if (!ok)
    {
      g_task_return_error (task, error);
      return;
    }

  if (!job->buffered)
    chunk->stream = g_buffered_input_stream_new_sized (G_INPUT_STREAM (stream),
                                                       READ_BUFFER_SIZE);
  g_task_return_pointer (task, g_steal_pointer (&chunk), (GDestroyNotify) chunk_free);
}

/* ------------------------------------------------------------------ */
/* Small helpers */

static void
set_state_url (FcTusUpload *self,
               const char  *url)
{
  g_free (self->state.upload_url);
  self->state.upload_url = g_strdup (url);
}

static void
emit_state_changed (FcTusUpload *self)
{
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, &self->state);
}

static void
emit_progress (FcTusUpload *self,
               RunData     *data)
{
  double seconds = (double) (g_get_monotonic_time () - data->started_at) / G_USEC_PER_SEC;
  double rate = 0.0;

  if (seconds > 0.0 && self->state.offset >= data->started_offset)
    rate = (double) (self->state.offset - data->started_offset) / seconds;
  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0,
                 self->state.offset, self->state.size, rate);
}

static gboolean
parse_uint64 (const char *text,
              guint64    *value)
{
  g_autofree char *copy = NULL;

  if (text == NULL)
    return FALSE;
  copy = g_strstrip (g_strdup (text));
  return g_ascii_string_to_unsigned (copy, 10, 0, G_MAXUINT64, value, NULL);
}

static gint64
parse_http_date (const char *text)
{
  g_autoptr(GDateTime) when = NULL;

  if (text == NULL)
    return 0;
  when = soup_date_time_new_from_http_string (text);
  return when != NULL ? g_date_time_to_unix (when) : 0;
}

/* Retry-After is either seconds or an HTTP date. */
static guint
parse_retry_after (SoupMessage *msg)
{
  const char *text = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                   "Retry-After");
  guint64 seconds;
  gint64 when;

  if (text == NULL)
    return 0;
  if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &seconds, NULL))
    return (guint) seconds;
  when = parse_http_date (text);
  if (when == 0)
    return 0;
  return (guint) CLAMP (when - g_get_real_time () / G_USEC_PER_SEC, 1, G_MAXUINT32);
}

static char *
encode_metadata (FcTusUpload *self)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (self->metadata),
                                       (GCompareFunc) g_strcmp0);

  for (GList *l = keys; l != NULL; l = l->next)
    {
      const char *key = l->data;
      const char *value = g_hash_table_lookup (self->metadata, key);

      if (out->len > 0)
        g_string_append_c (out, ',');
      g_string_append (out, key);
      if (value != NULL && *value != '\0')
        {
          g_autofree char *b64 = g_base64_encode ((const guchar *) value, strlen (value));

          g_string_append_c (out, ' ');
          g_string_append (out, b64);
        }
    }
  if (g_hash_table_lookup (self->metadata, "sha256") == NULL && self->state.sha256 != NULL)
    {
      g_autofree char *b64 = g_base64_encode ((const guchar *) self->state.sha256,
                                              strlen (self->state.sha256));

      g_string_append_printf (out, "%ssha256 %s", out->len > 0 ? "," : "", b64);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static SoupMessage *
new_message (FcTusUpload *self,
             const char  *method,
             const char  *url,
             GError     **error)
{
  SoupMessage *msg;
  g_autoptr(GUri) uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, error);

  if (uri == NULL)
    {
      g_prefix_error (error, "Bad upload address “%s”: ", url);
      return NULL;
    }
  msg = soup_message_new_from_uri (method, uri);
  /* libsoup (3.2 at least) sends an idempotent request again by itself
   * when a kept-alive connection turns out to be closed, and that path
   * can crash it: answered, then completed with its I/O already gone
   * (seen as a NULL dereference in soup_client_message_io_get_response_
   * stream under the devcloud's dropped-connection faults, on OPTIONS).
   * On a connection of its own, a request is never retried by libsoup;
   * our run retries instead. Costs one connection per OPTIONS, HEAD or
   * DELETE, i.e. per run, not per chunk. */
  if (strcmp (method, "OPTIONS") == 0 || strcmp (method, "HEAD") == 0 || strcmp (method, "DELETE") == 0)
    soup_message_add_flags (msg, SOUP_MESSAGE_NEW_CONNECTION);
  soup_message_headers_replace (soup_message_get_request_headers (msg),
                                "Tus-Resumable", TUS_VERSION);
  if (self->hook != NULL)
    self->hook (self, msg, self->hook_data);
  return msg;
}

/* Everything that is not an HTTP answer: the network (or cancellation,
 * which stays what it is, or the file, which the body stream reports in
 * FC_ERROR). */
static GError *
transport_error (GError *error)
{
  GError *mapped;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      error->domain == FC_ERROR)
    return error;
  /* libsoup reports a cut connection as G_IO_ERROR_PARTIAL_INPUT too;
   * the body stream's own failures come as FC_ERROR and pass above. */
  mapped = g_error_new (FC_ERROR, FC_ERROR_NETWORK,
                        "The upload server cannot be reached: %s", error->message);
  g_error_free (error);
  return mapped;
}

/* An HTTP answer the run cannot recover from. */
static GError *
status_error (FcTusUpload *self,
              SoupMessage *msg,
              const char  *what)
{
  guint status = soup_message_get_status (msg);
  const char *reason = soup_message_get_reason_phrase (msg);
  g_autofree char *wait = NULL;

  self->retry_after = parse_retry_after (msg);
  if (self->retry_after > 0)
    wait = g_strdup_printf (" (retry after %u s)", self->retry_after);

  if (status == SOUP_STATUS_UNAUTHORIZED)
    return g_error_new (FC_ERROR, FC_ERROR_UNAUTHORIZED,
                        "The upload server refused the device's credentials (%s: 401 %s)",
                        what, reason ? reason : "");
  if (status == STATUS_TOO_MANY_REQUESTS || status >= 500)
    return g_error_new (FC_ERROR, FC_ERROR_SERVER,
                        "The upload server is busy or failed (%s: %u %s)%s",
                        what, status, reason ? reason : "", wait ? wait : "");
  if (status >= 400)
    return g_error_new (FC_ERROR, FC_ERROR_REJECTED,
                        "The upload server refused the upload (%s: %u %s)%s",
                        what, status, reason ? reason : "", wait ? wait : "");
  return g_error_new (FC_ERROR, FC_ERROR_SERVER,
                      "The upload server gave an unexpected answer (%s: %u %s)",
                      what, status, reason ? reason : "");
}

static GError *
protocol_error (const char *what,
                const char *detail)
{
  return g_error_new (FC_ERROR, FC_ERROR_SERVER,
                      "The upload server broke the tus protocol (%s: %s)", what, detail);
}

static void
run_fail (GTask  *task,
          GError *error)
{
  FcTusUpload *self = g_task_get_source_object (task);

  self->running = FALSE;
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
run_succeed (GTask *task)
{
  FcTusUpload *self = g_task_get_source_object (task);

  self->running = FALSE;
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* ------------------------------------------------------------------ */
/* The run: hash → OPTIONS → (DELETE stale) → HEAD or POST → PATCH ... */

static void send_options   (GTask *task);
static void send_head      (GTask *task);
static void send_create    (GTask *task);
static void next_chunk     (GTask *task);
static void send_patch     (GTask *task);

static void
send_message (GTask              *task,
              SoupMessage        *msg,
              GAsyncReadyCallback callback)
{
  FcTusUpload *self = g_task_get_source_object (task);

  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task), callback, task);
}

/* Finishes a send; NULL (and the run ended) on a transport error. */
static SoupMessage *
finish_message (GTask        *task,
                GObject      *source,
                GAsyncResult *result)
{
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GBytes) body = NULL;
  GError *error = NULL;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (body == NULL)
    {
      run_fail (task, transport_error (error));
      return NULL;
    }
  return g_object_ref (msg);
}

static void
start_over (GTask *task)
{
  FcTusUpload *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);

  if (data->recreations++ >= MAX_RECREATIONS)
    {
      run_fail (task, g_error_new (FC_ERROR, FC_ERROR_SERVER,
                                   "The upload server keeps forgetting the upload "
                                   "(%u new uploads in one run)", data->recreations - 1));
      return;
    }
  g_debug ("Upload %s is gone; creating a new one", self->state.upload_url);
  set_state_url (self, NULL);
  self->state.offset = 0;
  self->state.expires_at = 0;
  self->state.created_at = 0;
  emit_state_changed (self);
  send_create (task);
}

/* A failure of the worker that reads the file, in FC_ERROR (cancellation
 * stays what it is). Takes @error. */
static GError *
file_error (FcTusUpload *self,
            GError      *error,
            FcError      otherwise)
{
  g_autofree char *path = NULL;
  GError *mapped;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;
  path = g_file_get_parse_name (self->file);
  mapped = g_error_new (FC_ERROR,
                        g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
                          ? FC_ERROR_NOT_FOUND : otherwise,
                        "Cannot read the video “%s”: %s", path, error->message);
  g_error_free (error);
  return mapped;
}

static void
hash_file_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  FcTusUpload *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  FileInfo *info;
  GError *error = NULL;

  info = g_task_propagate_pointer (G_TASK (result), &error);
  if (info == NULL)
    {
      run_fail (task, file_error (self, error, FC_ERROR_FAILED));
      return;
    }

  if (self->state.upload_url != NULL &&
      (self->state.size != info->size || g_strcmp0 (self->state.sha256, info->sha256) != 0))
    {
      g_debug ("The file changed since upload %s started; starting over", self->state.upload_url);
      data->stale_url = g_steal_pointer (&self->state.upload_url);
      self->state.offset = 0;
      self->state.expires_at = 0;
      self->state.created_at = 0;
    }
  self->state.size = info->size;
  g_free (self->state.sha256);
  self->state.sha256 = g_strdup (info->sha256);
  if (data->stale_url != NULL)
    emit_state_changed (self);
  file_info_free (info);

  send_options (task);
}

static void
options_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask *task = user_data;
  FcTusUpload *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autoptr(SoupMessage) msg = finish_message (task, source, result);
  SoupMessageHeaders *headers;
  const char *extensions;
  const char *algorithms;
  guint64 max_size;
  guint status;

  if (msg == NULL)
    return;
  status = soup_message_get_status (msg);
  if (status == SOUP_STATUS_UNAUTHORIZED || status == STATUS_TOO_MANY_REQUESTS || status >= 500)
    {
      run_fail (task, status_error (self, msg, "OPTIONS"));
      return;
    }

  /* A server without OPTIONS still speaks core tus and creation: go on
   * without checksums. */
  headers = soup_message_get_response_headers (msg);
  extensions = SOUP_STATUS_IS_SUCCESSFUL (status)
               ? soup_message_headers_get_list (headers, "Tus-Extension") : NULL;
  algorithms = SOUP_STATUS_IS_SUCCESSFUL (status)
               ? soup_message_headers_get_list (headers, "Tus-Checksum-Algorithm") : NULL;

  if (SOUP_STATUS_IS_SUCCESSFUL (status) &&
      parse_uint64 (soup_message_headers_get_one (headers, "Tus-Max-Size"), &max_size) &&
      max_size > 0 && self->state.size > max_size)
    {
      run_fail (task, g_error_new (FC_ERROR, FC_ERROR_REJECTED,
                                   "The video is larger (%" G_GUINT64_FORMAT " bytes) than the "
                                   "upload server accepts (%" G_GUINT64_FORMAT " bytes)",
                                   self->state.size, max_size));
      return;
    }

  g_clear_pointer (&data->checksum, g_free);
  if (extensions != NULL && self->checksum_algorithm != NULL &&
      soup_header_contains (extensions, "checksum") && algorithms != NULL)
    {
      if (soup_header_contains (algorithms, self->checksum_algorithm))
        data->checksum = g_strdup (self->checksum_algorithm);
      else if (soup_header_contains (algorithms, "sha256"))
        data->checksum = g_strdup ("sha256");
      else if (soup_header_contains (algorithms, "sha1"))
        data->checksum = g_strdup ("sha1");
    }
  data->can_terminate = extensions != NULL && soup_header_contains (extensions, "termination");

  if (data->stale_url != NULL && data->can_terminate)
    {
      g_autoptr(SoupMessage) del = new_message (self, "DELETE", data->stale_url, NULL);

      /* Best effort: the server expires it anyway. Sent on its own; the
       * run does not wait for it. */
      if (del != NULL)
        soup_session_send_and_read_async (self->session, del, G_PRIORITY_DEFAULT,
                                          NULL, NULL, NULL);
    }
  g_clear_pointer (&data->stale_url, g_free);

  if (self->state.upload_url != NULL)
    send_head (task);
  else
    send_create (task);
}

static void
send_options (GTask *task)
{
  FcTusUpload *self = g_task_get_source_object (task);
  g_autoptr(SoupMessage) msg = NULL;
  GError *error = NULL;

  msg = new_message (self, "OPTIONS", self->endpoint, &error);
  if (msg == NULL)
    {
      run_fail (task, g_error_new (FC_ERROR, FC_ERROR_INVALID_INPUT, "%s", error->message));
      g_error_free (error);
      return;
    }
  send_message (task, msg, options_cb);
}

static void
update_expires (FcTusUpload *self,
                SoupMessage *msg)
{
  gint64 expires = parse_http_date (soup_message_headers_get_one (
      soup_message_get_response_headers (msg), "Upload-Expires"));

  if (expires != 0)
    self->state.expires_at = expires;
}

static void
create_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GTask *task = user_data;
  FcTusUpload *self = g_task_get_source_object (task);
  g_autoptr(SoupMessage) msg = finish_message (task, source, result);
  g_autofree char *url = NULL;
  const char *location;
  GError *error = NULL;

  if (msg == NULL)
    return;
  if (soup_message_get_status (msg) != SOUP_STATUS_CREATED)
    {
      run_fail (task, status_error (self, msg, "creating the upload"));
      return;
    }
  location = soup_message_headers_get_one (soup_message_get_response_headers (msg), "Location");
  if (location == NULL || *location == '\0')
    {
      run_fail (task, protocol_error ("creating the upload", "no Location"));
      return;
    }
  url = g_uri_resolve_relative (self->endpoint, location, SOUP_HTTP_URI_FLAGS, &error);
  if (url == NULL)
    {
      run_fail (task, protocol_error ("creating the upload", error->message));
      g_error_free (error);
      return;
    }

  set_state_url (self, url);
  self->state.offset = 0;
  self->state.created_at = g_get_real_time () / G_USEC_PER_SEC;
  self->state.expires_at = 0;
  update_expires (self, msg);
  emit_state_changed (self);
  next_chunk (task);
}

static void
send_create (GTask *task)
{
  FcTusUpload *self = g_task_get_source_object (task);
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *metadata = NULL;
  g_autofree char *length = NULL;
  SoupMessageHeaders *headers;
  GError *error = NULL;

  msg = new_message (self, "POST", self->endpoint, &error);
  if (msg == NULL)
    {
      run_fail (task, g_error_new (FC_ERROR, FC_ERROR_INVALID_INPUT, "%s", error->message));
      g_error_free (error);
      return;
    }
  headers = soup_message_get_request_headers (msg);
  length = g_strdup_printf ("%" G_GUINT64_FORMAT, self->state.size);
  soup_message_headers_replace (headers, "Upload-Length", length);
  metadata = encode_metadata (self);
  if (*metadata != '\0')
    soup_message_headers_replace (headers, "Upload-Metadata", metadata);
  soup_message_headers_set_content_length (headers, 0);
  send_message (task, msg, create_cb);
}

/* Takes the server's offset from a HEAD or PATCH answer. */
static gboolean
take_offset (FcTusUpload *self,
             SoupMessage *msg,
             const char  *what,
             guint64     *offset,
             GError     **error)
{
  const char *text = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                   "Upload-Offset");

  if (!parse_uint64 (text, offset))
    {
      *error = protocol_error (what, text ? "bad Upload-Offset" : "no Upload-Offset");
      return FALSE;
    }
  if (*offset > self->state.size)
    {
      *error = protocol_error (what, "Upload-Offset beyond the end of the file");
      return FALSE;
    }
  return TRUE;
}

static void
head_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GTask *task = user_data;
  FcTusUpload *self = g_task_get_source_object (task);
  g_autoptr(SoupMessage) msg = finish_message (task, source, result);
  const char *length_text;
  guint64 length;
  guint64 offset;
  guint status;
  GError *error = NULL;

  if (msg == NULL)
    return;
  status = soup_message_get_status (msg);
  if (status == SOUP_STATUS_NOT_FOUND || status == SOUP_STATUS_GONE)
    {
      start_over (task);
      return;
    }
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      run_fail (task, status_error (self, msg, "asking for the upload's offset"));
      return;
    }

  /* An upload of another length is not this file's upload. */
  length_text = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                              "Upload-Length");
  if (length_text != NULL && (!parse_uint64 (length_text, &length) || length != self->state.size))
    {
      start_over (task);
      return;
    }
  if (!take_offset (self, msg, "asking for the upload's offset", &offset, &error))
    {
      run_fail (task, error);
      return;
    }

  update_expires (self, msg);
  if (offset != self->state.offset)
    {
      g_debug ("Server has %" G_GUINT64_FORMAT " bytes, we thought %" G_GUINT64_FORMAT,
               offset, self->state.offset);
      self->state.offset = offset;
      emit_state_changed (self);
    }
  next_chunk (task);
}

static void
send_head (GTask *task)
{
  FcTusUpload *self = g_task_get_source_object (task);
  g_autoptr(SoupMessage) msg = NULL;
  GError *error = NULL;

  msg = new_message (self, "HEAD", self->state.upload_url, &error);
  if (msg == NULL)
    {
      /* A saved URL that no longer parses: the upload cannot be found. */
      g_error_free (error);
      start_over (task);
      return;
    }
  send_message (task, msg, head_cb);
}

static void
patch_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  GTask *task = user_data;
  FcTusUpload *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autoptr(SoupMessage) msg = finish_message (task, source, result);
  guint64 offset;
  guint status;
  GError *error = NULL;

  if (msg == NULL)
    return;

  status = soup_message_get_status (msg);
  switch (status)
    {
    case SOUP_STATUS_CONFLICT:
      if (++data->conflicts > MAX_CONFLICTS)
        {
          run_fail (task, status_error (self, msg, "sending a chunk"));
          return;
        }
      g_clear_pointer (&data->chunk, chunk_free);
      send_head (task);
      return;

    case STATUS_CHECKSUM_MISMATCH:
      if (++data->checksum_retries > MAX_CHECKSUM_RETRIES)
        {
          run_fail (task, g_error_new (FC_ERROR, FC_ERROR_REJECTED,
                                       "The upload server received a damaged chunk at byte %"
                                       G_GUINT64_FORMAT " %u times in a row",
                                       data->chunk->offset, data->checksum_retries));
          return;
        }
      g_debug ("Checksum mismatch at %" G_GUINT64_FORMAT "; sending the chunk again",
               data->chunk->offset);
      if (data->chunk->bytes != NULL)
        send_patch (task);
      else
        {
          g_clear_pointer (&data->chunk, chunk_free);
          next_chunk (task);
        }
      return;

    case SOUP_STATUS_NOT_FOUND:
    case SOUP_STATUS_GONE:
      g_clear_pointer (&data->chunk, chunk_free);
      start_over (task);
      return;

    default:
      break;
    }

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      run_fail (task, status_error (self, msg, "sending a chunk"));
      return;
    }
  if (!take_offset (self, msg, "sending a chunk", &offset, &error))
    {
      run_fail (task, error);
      return;
    }
  if (offset < data->chunk->offset)
    {
      run_fail (task, protocol_error ("sending a chunk", "Upload-Offset went backwards"));
      return;
    }

  g_clear_pointer (&data->chunk, chunk_free);
  data->conflicts = 0;
  data->checksum_retries = 0;
  if (offset == self->state.offset)
    {
      if (++data->stalls > MAX_STALLS)
        {
          run_fail (task, protocol_error ("sending a chunk", "the offset does not move"));
          return;
        }
    }
  else
    data->stalls = 0;

  self->state.offset = offset;
  update_expires (self, msg);
  emit_state_changed (self);
  emit_progress (self, data);
  next_chunk (task);
}

static void
send_patch (GTask *task)
{
  FcTusUpload *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  Chunk *chunk = data->chunk;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GInputStream) body = NULL;
  g_autofree char *offset = NULL;
  SoupMessageHeaders *headers;
  GError *error = NULL;

  msg = new_message (self, "PATCH", self->state.upload_url, &error);
  if (msg == NULL)
    {
      g_error_free (error);
      start_over (task);
      return;
    }
  headers = soup_message_get_request_headers (msg);
  offset = g_strdup_printf ("%" G_GUINT64_FORMAT, chunk->offset);
  soup_message_headers_replace (headers, "Upload-Offset", offset);
  if (chunk->digest != NULL)
    {
      g_autofree char *value = g_strdup_printf ("%s %s", data->checksum, chunk->digest);

      soup_message_headers_replace (headers, "Upload-Checksum", value);
    }

  if (chunk->bytes != NULL)
    body = fc_tus_body_stream_new_for_bytes (chunk->bytes, self->bucket);
  else
    body = fc_tus_body_stream_new_for_stream (chunk->stream, chunk->length, self->bucket);
  soup_message_set_request_body (msg, "application/offset+octet-stream", body,
                                 (gssize) chunk->length);
  self->patch_count++;
  send_message (task, msg, patch_cb);
}

static void
read_chunk_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  FcTusUpload *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  GError *error = NULL;

  data->chunk = g_task_propagate_pointer (G_TASK (result), &error);
  if (data->chunk == NULL)
    {
      /* A short read: the file shrank since the run began. */
      run_fail (task, file_error (self, error, FC_ERROR_CONFLICT));
      return;
    }
  send_patch (task);
}

static void
next_chunk (GTask *task)
{
  FcTusUpload *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autoptr(GTask) reader = NULL;
  ChunkJob *job;

  if (self->state.offset >= self->state.size)
    {
      emit_progress (self, data);
      run_succeed (task);
      return;
    }

  job = g_new0 (ChunkJob, 1);
  job->file = g_object_ref (self->file);
  job->offset = self->state.offset;
  job->length = MIN (self->chunk_size, self->state.size - self->state.offset);
  job->algorithm = g_strdup (data->checksum);
  job->buffered = self->buffer_chunks;

  reader = g_task_new (NULL, g_task_get_cancellable (task), read_chunk_cb, task);
  g_task_set_source_tag (reader, next_chunk);
  g_task_set_task_data (reader, job, (GDestroyNotify) chunk_job_free);
  g_task_run_in_thread (reader, read_chunk_thread);
}

/* ------------------------------------------------------------------ */
/* Public API */

void
fc_tus_upload_run_async (FcTusUpload         *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  GTask *task;
  g_autoptr(GTask) hasher = NULL;
  RunData *data;

  g_return_if_fail (FC_IS_TUS_UPLOAD (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, fc_tus_upload_run_async);
  if (self->running)
    {
      g_task_return_new_error (task, FC_ERROR, FC_ERROR_BUSY,
                               "This video is already being uploaded");
      g_object_unref (task);
      return;
    }
  self->running = TRUE;
  self->retry_after = 0;

  data = g_new0 (RunData, 1);
  data->started_at = g_get_monotonic_time ();
  data->started_offset = self->state.offset;
  g_task_set_task_data (task, data, (GDestroyNotify) run_data_free);

  hasher = g_task_new (NULL, cancellable, hash_file_cb, task);
  g_task_set_source_tag (hasher, hash_file_thread);
  g_task_set_task_data (hasher, g_object_ref (self->file), g_object_unref);
  g_task_run_in_thread (hasher, hash_file_thread);
}

gboolean
fc_tus_upload_run_finish (FcTusUpload   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (FC_IS_TUS_UPLOAD (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

FcTusUpload *
fc_tus_upload_new (SoupSession      *session,
                   const char       *endpoint,
                   GFile            *file,
                   GHashTable       *metadata,
                   const FcTusState *state)
{
  FcTusUpload *self;

  g_return_val_if_fail (SOUP_IS_SESSION (session), NULL);
  g_return_val_if_fail (endpoint != NULL, NULL);
  g_return_val_if_fail (G_IS_FILE (file), NULL);

  self = g_object_new (FC_TYPE_TUS_UPLOAD, NULL);
  self->session = g_object_ref (session);
  self->endpoint = g_strdup (endpoint);
  self->file = g_object_ref (file);

  if (metadata != NULL)
    {
      GHashTableIter iter;
      gpointer key, value;

      g_hash_table_iter_init (&iter, metadata);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          /* tus metadata keys are tokens: no spaces, no commas. */
          if (*(const char *) key == '\0' || strpbrk (key, " ,\t") != NULL)
            {
              g_warning ("Upload metadata key “%s” is not valid in tus; left out",
                         (const char *) key);
              continue;
            }
          g_hash_table_replace (self->metadata, g_strdup (key), g_strdup (value));
        }
    }

  if (state != NULL)
    {
      self->state.upload_url = g_strdup (state->upload_url);
      self->state.offset = state->offset;
      self->state.size = state->size;
      self->state.sha256 = g_strdup (state->sha256);
      self->state.expires_at = state->expires_at;
      self->state.created_at = state->created_at;
    }
  return self;
}

void
fc_tus_upload_set_chunk_size (FcTusUpload *self,
                              guint64      chunk_size)
{
  g_return_if_fail (FC_IS_TUS_UPLOAD (self));
  g_return_if_fail (chunk_size > 0);

  self->chunk_size = chunk_size;
}

void
fc_tus_upload_set_bandwidth_limit (FcTusUpload *self,
                                   guint64      bytes_per_second)
{
  g_return_if_fail (FC_IS_TUS_UPLOAD (self));

  fc_tus_bucket_set_rate (self->bucket, bytes_per_second);
}

guint64
fc_tus_upload_get_bandwidth_limit (FcTusUpload *self)
{
  g_return_val_if_fail (FC_IS_TUS_UPLOAD (self), 0);

  return self->bucket->rate;
}

void
fc_tus_upload_set_checksum_algorithm (FcTusUpload *self,
                                      const char  *algorithm)
{
  g_return_if_fail (FC_IS_TUS_UPLOAD (self));
  g_return_if_fail (algorithm == NULL || digest_for_name (algorithm) != NULL);

  g_free (self->checksum_algorithm);
  self->checksum_algorithm = g_strdup (algorithm);
}

void
fc_tus_upload_set_buffer_chunks (FcTusUpload *self,
                                 gboolean     buffer_chunks)
{
  g_return_if_fail (FC_IS_TUS_UPLOAD (self));

  self->buffer_chunks = !!buffer_chunks;
}

void
fc_tus_upload_set_request_hook (FcTusUpload     *self,
                                FcTusRequestHook hook,
                                gpointer         user_data,
                                GDestroyNotify   destroy)
{
  g_return_if_fail (FC_IS_TUS_UPLOAD (self));

  if (self->hook_destroy != NULL)
    self->hook_destroy (self->hook_data);
  self->hook = hook;
  self->hook_data = user_data;
  self->hook_destroy = destroy;
}

const FcTusState *
fc_tus_upload_get_state (FcTusUpload *self)
{
  g_return_val_if_fail (FC_IS_TUS_UPLOAD (self), NULL);

  return &self->state;
}

guint
fc_tus_upload_get_retry_after (FcTusUpload *self)
{
  g_return_val_if_fail (FC_IS_TUS_UPLOAD (self), 0);

  return self->retry_after;
}

guint
fc_tus_upload_get_patch_count (FcTusUpload *self)
{
  g_return_val_if_fail (FC_IS_TUS_UPLOAD (self), 0);

  return self->patch_count;
}

static void
fc_tus_upload_finalize (GObject *object)
{
  FcTusUpload *self = FC_TUS_UPLOAD (object);

  if (self->hook_destroy != NULL)
    self->hook_destroy (self->hook_data);
  g_clear_object (&self->session);
  g_clear_object (&self->file);
  g_free (self->endpoint);
  g_clear_pointer (&self->metadata, g_hash_table_unref);
  g_free (self->state.upload_url);
  g_free (self->state.sha256);
  g_clear_pointer (&self->bucket, fc_tus_bucket_unref);
  g_free (self->checksum_algorithm);

  G_OBJECT_CLASS (fc_tus_upload_parent_class)->finalize (object);
}

static void
fc_tus_upload_class_init (FcTusUploadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = fc_tus_upload_finalize;

  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                  FC_TYPE_TUS_STATE | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                  G_TYPE_UINT64, G_TYPE_UINT64, G_TYPE_DOUBLE);
}

static void
fc_tus_upload_init (FcTusUpload *self)
{
  self->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->chunk_size = FC_TUS_DEFAULT_CHUNK_SIZE;
  self->bucket = fc_tus_bucket_new ();
  self->checksum_algorithm = g_strdup ("sha256");
  self->buffer_chunks = TRUE;
}
