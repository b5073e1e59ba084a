/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* 8 MiB: measured with bench/bench-tus (docs/benchmarks.md); smaller
 * chunks pay one round trip and one server fsync-free write each, larger
 * ones lose more on a cut and hold more memory. */
#define FC_TUS_DEFAULT_CHUNK_SIZE (8 * 1024 * 1024)

/*
 * FcTusState: what must survive a crash to resume an upload. The sync
 * engine stores it in its SQLite table each time FcTusUpload emits
 * "state-changed" and hands it back to fc_tus_upload_new() later.
 *
 * @upload_url: the upload's URL from the server's Location (NULL until
 *   the upload is created)
 * @offset: bytes the server acknowledged (a hint: a resume asks the
 *   server with HEAD first)
 * @size: the file's size when the upload started
 * @sha256: lowercase hex SHA-256 of the whole file when the upload
 *   started; a file that no longer matches is uploaded anew
 * @expires_at: Unix time (seconds) from Upload-Expires, 0 when unknown
 * @created_at: Unix time (seconds) the upload was created on the server
 */
typedef struct {
  char   *upload_url;
  guint64 offset;
  guint64 size;
  char   *sha256;
  gint64  expires_at;
  gint64  created_at;
} FcTusState;

#define FC_TYPE_TUS_STATE (fc_tus_state_get_type ())
GType       fc_tus_state_get_type (void) G_GNUC_CONST;
FcTusState *fc_tus_state_new      (void);
FcTusState *fc_tus_state_copy     (const FcTusState *state);
void        fc_tus_state_free     (FcTusState       *state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcTusState, fc_tus_state_free)

/*
 * FcTusUpload: uploads one file with the tus 1.0.0 resumable upload
 * protocol (core, creation, expiration, checksum, termination).
 *
 * A run creates the upload (or, with a saved state, asks the server for
 * its offset with HEAD) and sends the file in PATCH requests of at most
 * the chunk size, each read from disk in a worker thread and carrying an
 * Upload-Checksum when the server offers the checksum extension. The run
 * recovers on its own from what a tus server says about the upload: 409
 * (offset mismatch: HEAD, then go on from the server's offset), 460
 * (checksum mismatch: send the chunk again, a few times at most), 404 and
 * 410 (unknown or expired upload: create a new one and start from 0).
 * Everything else ends the run with an FC_ERROR:
 *
 *   FC_ERROR_NETWORK      connection refused or cut, timeout, TLS
 *   FC_ERROR_UNAUTHORIZED 401: refresh the token and run again
 *   FC_ERROR_REJECTED     another 4xx the upload cannot recover from
 *   FC_ERROR_SERVER       5xx, 429, or an answer that breaks the protocol
 *   FC_ERROR_NOT_FOUND    the file cannot be read
 *
 * and G_IO_ERROR_CANCELLED when cancelled. After a failed run, state and
 * fc_tus_upload_get_retry_after() say where and when to go on: running
 * the same object again (or a new one made from the saved state) resumes
 * with HEAD, so bytes the server kept from a PATCH cut short are not sent
 * twice.
 */
#define FC_TYPE_TUS_UPLOAD (fc_tus_upload_get_type ())
G_DECLARE_FINAL_TYPE (FcTusUpload, fc_tus_upload, FC, TUS_UPLOAD, GObject)

/* Called for every request before it is sent, e.g. to add the
 * Authorization header. Runs on the thread that runs the upload. */
typedef void (*FcTusRequestHook) (FcTusUpload *upload,
                                  SoupMessage *message,
                                  gpointer     user_data);

/* @endpoint: the creation URL (".../files/"). @metadata: string keys to
 * string values sent in Upload-Metadata (may be NULL); a "sha256" key is
 * added with the file's digest when missing. @state: a saved state to
 * resume from, or NULL for a new upload. */
FcTusUpload      *fc_tus_upload_new       (SoupSession      *session,
                                           const char       *endpoint,
                                           GFile            *file,
                                           GHashTable       *metadata,
                                           const FcTusState *state);

/* Bytes per PATCH (default FC_TUS_DEFAULT_CHUNK_SIZE, at least 1). */
void        fc_tus_upload_set_chunk_size          (FcTusUpload     *self,
                                                   guint64          chunk_size);
/* Upper bound on the upload rate in bytes per second, enforced by a
 * token bucket on the request bodies; 0 (the default) for none. Takes
 * effect at once, also during a run. */
void        fc_tus_upload_set_bandwidth_limit     (FcTusUpload     *self,
                                                   guint64          bytes_per_second);
guint64     fc_tus_upload_get_bandwidth_limit     (FcTusUpload     *self);
/* "sha256" (default), "sha1" or "md5"; NULL sends no checksums. Used only
 * when the server's OPTIONS lists the checksum extension; when it does
 * not list this algorithm, sha256 or sha1 is taken if it lists those. */
void        fc_tus_upload_set_checksum_algorithm  (FcTusUpload     *self,
                                                   const char      *algorithm);
/* TRUE (default): each chunk is read into memory once (digest and body
 * from one read). FALSE: the digest is computed in a first read and the
 * body streamed from the file in a second one, so only small buffers are
 * held. bench/bench-tus measures both. */
void        fc_tus_upload_set_buffer_chunks       (FcTusUpload     *self,
                                                   gboolean         buffer_chunks);
void        fc_tus_upload_set_request_hook        (FcTusUpload     *self,
                                                   FcTusRequestHook hook,
                                                   gpointer         user_data,
                                                   GDestroyNotify   destroy);

/* The current state (never NULL; owned by @self). */
const FcTusState *fc_tus_upload_get_state         (FcTusUpload     *self);
/* Seconds the server asked to wait (Retry-After) in the answer that
 * ended the last run; 0 when it gave none. */
guint       fc_tus_upload_get_retry_after         (FcTusUpload     *self);
/* How many PATCH requests the last runs sent (for tests and the log). */
guint       fc_tus_upload_get_patch_count         (FcTusUpload     *self);

/* Uploads what the server does not have yet. One run at a time. */
void        fc_tus_upload_run_async               (FcTusUpload         *self,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
gboolean    fc_tus_upload_run_finish              (FcTusUpload         *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

/* Signals:
 *   "state-changed" (FcTusUpload *, const FcTusState *state): after the
 *     upload was created and after every offset the server acknowledged;
 *     store a copy.
 *   "progress" (FcTusUpload *, guint64 acknowledged, guint64 total,
 *     double bytes_per_second): after every acknowledged chunk; the rate
 *     is over the current run. */

G_END_DECLS
