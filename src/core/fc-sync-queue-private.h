/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "fc-store-private.h"
#include "fc-sync-queue.h"

G_BEGIN_DECLS

/*
 * Shared between fc-sync-queue.c (which entries, in which order, and
 * their outcome) and fc-sync-queue-bodies.c (what a request's body says).
 */

typedef enum {
  ENTRY_UNKNOWN,
  ENTRY_FITTING_CREATE,
  ENTRY_FITTING_UPDATE,
  ENTRY_FITTING_COMPLETE,
  ENTRY_CONFIG,           /* club_config create */
  ENTRY_CUSTOMER,         /* customer create or update */
  ENTRY_SHOT_CREATE,
  ENTRY_SHOT_UPDATE,
  ENTRY_SHOT_MOVE,        /* moved in from another fitting after it was synced */
  ENTRY_IMPORT,
  ENTRY_VIDEO,
} EntryType;

/* One outbox row as the queue sees it. */
typedef struct {
  gint64     id;
  EntryType  type;
  char      *entity_id;
  char      *payload;
  int        attempt_count;
  gint64     sent_seq;      /* import: seq of the last shot sent, -1 before the first */
  gint64     sent_count;    /* import: shots sent so far */
  gboolean   frozen;        /* a fitting creation whose body was written */
} Entry;

/* How far an ADD_SHOTS batch takes an import. */
typedef struct {
  gint64   outbox_id;
  gint64   last_seq;
  gint64   sent_count;
  gboolean finished;
} ImportProgress;

/* What fc_sync_queue_next() hands out, with what done() needs to know
 * beyond the public fields. */
typedef struct {
  FcSyncRequest  pub;
  guint32        magic;
  GArray        *imports;    /* of ImportProgress */
} SyncRequest;

/* A fitting with something to send. */
typedef struct {
  char     *fitting_id;
  char     *customer_id;     /* the fitting's customer, or NULL */
  gint64    own_head;        /* its own first entry, 0 when it has none */
  gint64    customer_head;   /* its customer's first entry, 0 when none is attached */
  gint64    head;            /* the smaller of the two: whose state counts */
  gint64    next_attempt_at;
  gboolean  parked;
} Candidate;

typedef enum {
  BUILD_NOTHING,
  BUILD_REQUEST,   /* hand out @request */
  BUILD_FREEZE,    /* the fitting's creation body must be written first (@entry_id) */
  BUILD_SETTLE,    /* @request has nothing left to send: settle it without sending */
  BUILD_PARK,      /* @entry_id cannot be sent: park it with @reason */
} BuildOutcome;

typedef struct {
  BuildOutcome  outcome;
  SyncRequest  *request;
  gint64        entry_id;
  char         *reason;
  gint64        head_id;   /* the entry whose state holds the fitting back */
} Built;

EntryType    _fc_sync_entry_type       (const char       *entity,
                                        const char       *operation);
/* The fittings with something in the outbox, in the order they go (a
 * read transaction must be open). @orphans (may be NULL) gets customer
 * entries that no fitting can carry. */
GPtrArray   *_fc_sync_list_candidates  (FcStore          *store,
                                        GArray           *orphans,
                                        GError          **error);

int          _fc_sync_compare_ids      (gconstpointer     a,
                                        gconstpointer     b);
/* "[1,2,3]", for json_each() in SQL. */
char        *_fc_sync_ids_to_json      (GArray           *ids);

SyncRequest *_fc_sync_request_new      (FcSyncKind        kind,
                                        const char       *fitting_id);
/* Method, path, sorted ids, idempotency key (from @key_ids, or the
 * request's own ids when NULL) and attempt count of @head. */
void         _fc_sync_request_finish   (SyncRequest      *request,
                                        GBytes           *body,
                                        const char       *key_ids,
                                        const Entry      *head);

/* fc-sync-queue-bodies.c, inside a read transaction. @run holds the
 * fitting's entries (and its customer's) in commit order from its head. */
gboolean     _fc_sync_build_shots      (FcStore          *store,
                                        const Candidate  *candidate,
                                        GArray           *run,
                                        Built            *built,
                                        GError          **error);
gboolean     _fc_sync_build_patch      (FcStore          *store,
                                        const Candidate  *candidate,
                                        GArray           *run,
                                        Built            *built,
                                        GError          **error);
gboolean     _fc_sync_build_complete   (FcStore          *store,
                                        const Candidate  *candidate,
                                        GArray           *run,
                                        Built            *built,
                                        GError          **error);
gboolean     _fc_sync_build_video      (FcStore          *store,
                                        const Candidate  *candidate,
                                        GArray           *run,
                                        Built            *built,
                                        GError          **error);
/* A fitting creation whose body is frozen: the request from it. */
gboolean     _fc_sync_build_create     (FcStore          *store,
                                        const Candidate  *candidate,
                                        GArray           *run,
                                        const Entry      *create,
                                        Built            *built,
                                        GError          **error);
/* Writes the creation body of @entry_id (its own transaction).
 * *@park_reason is set when the entry cannot be sent as it is. */
gboolean     _fc_sync_freeze_create    (FcStore          *store,
                                        gint64            entry_id,
                                        char            **park_reason,
                                        GError          **error);

/* Sets @built to park @entry_id with the message of @problem when it is
 * about the data (locked or damaged customer, missing record); FALSE
 * with the error when the store itself failed. */
gboolean     _fc_sync_park_or_fail     (Built            *built,
                                        gint64            entry_id,
                                        GError           *problem,
                                        GError          **error);

G_END_DECLS
