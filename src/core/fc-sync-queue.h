/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "fc-store.h"

G_BEGIN_DECLS

/*
 * What the sync engine sends next, built from the store's outbox.
 *
 * The store side of sync: it turns outbox entries into ready-to-send
 * requests of the cloud contract (docs/cloud-sync.md, docs/cloud-api.yaml)
 * and records their outcome, each in one transaction. No network here:
 * the engine (src/sync/fc-sync-engine.c) sends, this decides what and in
 * which order, so ordering and batching are unit-tested without a server.
 *
 * Order: per fitting, entries go in commit order (outbox id), which is
 * causal — a fitting's create before its shots, a shot before its edits,
 * the completion after them, a video after the completion. Adjacent
 * entries of one fitting merge into one request where the contract
 * allows: shot creates (and import entries, which stand for all their
 * shots) into batches of at most FC_SYNC_MAX_SHOTS, edits (configs, shot
 * exclusions/tags/moves, fitting and customer changes) into one PATCH. A
 * fitting whose head request waits (backoff) or is parked holds back its
 * later entries; other fittings go on.
 *
 * Idempotency: a request's key is derived from the outbox ids it covers
 * (the same request after a crash gets the same key), and creates carry
 * the agent's UUIDs, so a request applied by the cloud whose answer was
 * lost is harmless when sent again.
 */

#define FC_SYNC_MAX_SHOTS 500

typedef enum {
  FC_SYNC_CREATE_FITTING,     /* POST  /api/v1/fittings (fitting, customer, configs) */
  FC_SYNC_ADD_SHOTS,          /* POST  /api/v1/fittings/{id}/shots */
  FC_SYNC_PATCH_FITTING,      /* PATCH /api/v1/fittings/{id} */
  FC_SYNC_COMPLETE_FITTING,   /* PATCH /api/v1/fittings/{id}/complete */
  FC_SYNC_UPLOAD_VIDEO,       /* tus upload of video_path, then POST /api/v1/fittings/{id}/videos */
  FC_SYNC_N_KINDS
} FcSyncKind;

const char *fc_sync_kind_to_string (FcSyncKind kind);   /* "create_fitting", ... */

typedef struct {
  FcSyncKind kind;
  char      *fitting_id;
  char      *method;            /* "POST", "PATCH" */
  char      *path;              /* e.g. "/api/v1/fittings/<uuid>/shots" */
  GBytes    *body;              /* JSON; for UPLOAD_VIDEO the attach call's body */
  char      *idempotency_key;   /* stable for the same outbox ids */
  GArray    *outbox_ids;        /* of gint64: the entries this request settles */
  guint      n_shots;           /* ADD_SHOTS: shots in the body */
  int        attempt_count;     /* of the head entry, for backoff */

  /* UPLOAD_VIDEO only. The tus state (NULL before the first try) lives
   * in the store: fc_sync_queue_save_upload() after every acknowledged
   * offset, so an upload resumes after a crash. */
  char      *video_id;
  char      *video_path;
  char      *video_sha256;      /* hex, of the whole file */
  goffset    video_size;
  char      *upload_url;
  goffset    upload_offset;
  gint64     upload_expires_at; /* µs since the epoch, 0 = unknown */
} FcSyncRequest;

void           fc_sync_request_free (FcSyncRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcSyncRequest, fc_sync_request_free)

/* The next request due at @now_us (µs since the epoch) in the order
 * above, skipping fittings whose head is parked, waiting, or whose
 * customer is locked (FcCustomer.pii_locked: wait, never send a fitting
 * without its customer). NULL with no error when nothing is due;
 * @next_due_us (may be NULL) then gets the earliest time something will
 * be due, or 0 when the outbox is empty or only parked. */
FcSyncRequest *fc_sync_queue_next          (FcStore              *store,
                                            gint64                now_us,
                                            gint64               *next_due_us,
                                            GError              **error);

/* The cloud applied @request: its outbox entries are removed (for an
 * import entry, only once all its shots have been sent). */
gboolean       fc_sync_queue_done          (FcStore              *store,
                                            const FcSyncRequest  *request,
                                            GError              **error);
/* A failure worth retrying (network, 5xx, 429): the head entry's attempt
 * count goes up, its next attempt is @next_attempt_us, @reason is kept
 * for the status. */
gboolean       fc_sync_queue_retry_later   (FcStore              *store,
                                            const FcSyncRequest  *request,
                                            gint64                next_attempt_us,
                                            const char           *reason,
                                            GError              **error);
/* A refusal that retrying will not fix (4xx other than 401/408/409/429):
 * parked with @reason until fc_sync_queue_unpark(). */
gboolean       fc_sync_queue_park          (FcStore              *store,
                                            const FcSyncRequest  *request,
                                            const char           *reason,
                                            GError              **error);
/* An ADD_SHOTS request refused because of one of its shots (422
 * invalid_shot naming @shot_id): the cloud applied none of the batch.
 * That shot is set aside with @reason (and the cloud's @code and @field,
 * either may be NULL) so that the rest of the batch goes on without it;
 * its later edits wait with it. *@set_aside is FALSE, and nothing
 * changes, when @shot_id is not one of @request's shots: then park the
 * request. */
gboolean       fc_sync_queue_set_aside_shot (FcStore              *store,
                                             const FcSyncRequest  *request,
                                             const char           *shot_id,
                                             const char           *code,
                                             const char           *field,
                                             const char           *reason,
                                             gboolean             *set_aside,
                                             GError              **error);
/* Makes parked entries and set-aside shots (of @fitting_id, or all when
 * NULL) due now: the "Retry" button and `fitclipctl sync now`. A shot
 * set aside goes to the end of its fitting's queue. */
gboolean       fc_sync_queue_unpark        (FcStore              *store,
                                            const char           *fitting_id,
                                            GError              **error);

/* Registers a finished recap video of a fitting for upload (outbox entry
 * in the same transaction). @sha256: hex of the file; the file must stay
 * where it is until uploaded. */
gboolean       fc_sync_queue_add_video     (FcStore              *store,
                                            const char           *fitting_id,
                                            const char           *video_id,
                                            const char           *path,
                                            const char           *sha256,
                                            goffset               size,
                                            GError              **error);
/* Progress of a video upload, saved so that it resumes after a crash
 * (@upload_url NULL: forget it and start over, after a 404/410). */
gboolean       fc_sync_queue_save_upload   (FcStore              *store,
                                            const char           *video_id,
                                            const char           *upload_url,
                                            goffset               offset,
                                            gint64                expires_at_us,
                                            GError              **error);

typedef struct {
  guint  pending[FC_SYNC_N_KINDS];  /* requests' worth of entries waiting, per kind
                                     * (ADD_SHOTS counts shots, not requests) */
  guint  parked;                    /* entries parked */
  guint  set_aside;                 /* shots the cloud refused one by one */
  gint64 last_success_at;           /* µs, when the cloud last applied a request; 0: never */
  guint  waiting_for_key;           /* fittings held back by a locked customer */
  gint64 oldest_created_at;         /* µs, 0 when empty */
  char  *last_error;                /* of the most recently failed entry, or NULL */
} FcSyncQueueStatus;

void           fc_sync_queue_status_clear  (FcSyncQueueStatus    *status);
gboolean       fc_sync_queue_get_status    (FcStore              *store,
                                            FcSyncQueueStatus    *status,
                                            GError              **error);

/* What waits for a person: a parked entry (outbox_id > 0) or a shot set
 * aside (shot_id set), with the cloud's reason. */
typedef struct {
  char   *fitting_id;   /* NULL for a customer change of no fitting */
  gint64  outbox_id;
  char   *shot_id;
  char   *what;         /* "shot <uuid>", "fitting creation", "edit", ... */
  char   *reason;
  gint64  at;           /* µs, when it was refused */
} FcSyncProblem;

void           fc_sync_problem_free        (FcSyncProblem        *problem);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcSyncProblem, fc_sync_problem_free)

/* Up to @limit problems, most recent first (GPtrArray of FcSyncProblem). */
GPtrArray     *fc_sync_queue_list_problems (FcStore              *store,
                                            guint                 limit,
                                            GError              **error);

G_END_DECLS
