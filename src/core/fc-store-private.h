/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <sqlite3.h>

#include "fc-error.h"
#include "fc-field-cipher.h"
#include "fc-fitting-document.h"
#include "fc-store.h"
#include "fc-store-checkpointer.h"

G_BEGIN_DECLS

struct _FcStore {
  GObject     parent_instance;

  sqlite3    *db;
  char       *path;
  GHashTable *statements;     /* SQL text -> sqlite3_stmt*, prepared once */
  GHashTable *statements_by_address; /* SQL pointer -> the same, not owned */
  guint       busy_timeout_ms;
  gint64      dedupe_window_us;
  char       *shot_columns;   /* "ball_speed_mps, launch_angle_deg, ..." */
  char       *shot_insert_sql;
  char       *shot_select_sql;
  FcStoreCheckpointer *checkpointer;
  char       *synchronous_sql; /* "PRAGMA synchronous = FULL", to return to */

  /* Customer PII (fc-store-pii.c): NULL cipher means locked, and
   * pii_lock_reason says why, for the error a fitter sees. */
  FcFieldCipher *cipher;
  char          *pii_lock_reason;
};

extern const char * const fc_store_migrations[];

/* Cached prepared statement, reset and unbound, ready to bind. */
sqlite3_stmt *fc_store_statement     (FcStore      *self,
                                      const char   *sql,
                                      GError      **error);
gboolean      fc_store_exec          (FcStore      *self,
                                      const char   *sql,
                                      GError      **error);
/* Steps a statement that returns no rows and resets it. */
gboolean      fc_store_step_done     (FcStore      *self,
                                      sqlite3_stmt *stmt,
                                      GError      **error);
/* BEGIN IMMEDIATE: take the write lock up front so that a busy database
 * is detected (and waited for) before any work is done. */
gboolean      fc_store_begin         (FcStore      *self,
                                      GError      **error);
gboolean      fc_store_commit        (FcStore      *self,
                                      GError      **error);
void          fc_store_rollback      (FcStore      *self);
void          fc_store_set_error     (FcStore      *self,
                                      GError      **error,
                                      int           rc,
                                      const char   *doing);

gboolean      fc_store_enqueue       (FcStore      *self,
                                      const char   *entity,
                                      const char   *entity_id,
                                      const char   *fitting_id,
                                      const char   *operation,
                                      const char   *payload,
                                      GError      **error);

void          fc_bind_text           (sqlite3_stmt *stmt,
                                      int           index,
                                      const char   *text);
/* Without a copy: only for text that outlives the statement's step (the
 * hot insert path binds a dozen strings per shot). */
void          fc_bind_text_static    (sqlite3_stmt *stmt,
                                      int           index,
                                      const char   *text);
void          fc_bind_double         (sqlite3_stmt *stmt,
                                      int           index,
                                      double        value);
char         *fc_column_dup          (sqlite3_stmt *stmt,
                                      int           index);
double        fc_column_double       (sqlite3_stmt *stmt,
                                      int           index);

/* Inside a transaction (fc-store-fittings.c, fc-store-shots.c). */
gboolean      _fc_store_insert_customer (FcStore      *self,
                                         FcCustomer   *customer,
                                         GError      **error);
gboolean      _fc_store_insert_fitting  (FcStore      *self,
                                         FcFitting    *fitting,
                                         GError      **error);
gboolean      _fc_store_insert_config   (FcStore      *self,
                                         FcClubConfig *config,
                                         GError      **error);
gboolean      _fc_store_lookup_practice (FcStore      *self,
                                         const char   *bay,
                                         char        **fitting_id,
                                         GError      **error);
/* Stores a shot whose fitting and configuration are known, keeping its
 * id when it has one. @enqueue: write its own outbox entry (FALSE when
 * the caller queues the whole batch, as a file import does). */
gboolean      _fc_store_insert_shot     (FcStore      *self,
                                         FcShot       *shot,
                                         gboolean      enqueue,
                                         FcAddResult  *result,
                                         GError      **error);
/* A row of shot_select_sql (without tags). */
FcShot       *_fc_store_shot_from_row   (sqlite3_stmt *stmt);
/* Steps @stmt, bound and yielding (shot id, tag) rows, adding each tag
 * to the shot of that id in @by_id (id -> FcShot*; others are skipped):
 * one query for the tags of many shots. @doing names the work in errors. */
gboolean      _fc_store_read_tags       (FcStore      *self,
                                         sqlite3_stmt *stmt,
                                         GHashTable   *by_id,
                                         const char   *doing,
                                         GError      **error);
gboolean      _fc_store_row_exists      (FcStore      *self,
                                         const char   *sql,
                                         const char   *id,
                                         gboolean     *exists,
                                         GError      **error);

/* fc-store-pii.c: customer PII sealed for, and opened from, one column
 * of one row. Without a cipher they fail with FC_ERROR_PII_LOCKED. */
gboolean      _fc_store_require_cipher  (FcStore      *self,
                                         GError      **error);
gboolean      _fc_store_bind_sealed     (FcStore      *self,
                                         sqlite3_stmt *stmt,
                                         int           index,
                                         const char   *column,
                                         const char   *row_id,
                                         const char   *text,
                                         GError      **error);
gboolean      _fc_store_column_opened   (FcStore      *self,
                                         sqlite3_stmt *stmt,
                                         int           index,
                                         const char   *column,
                                         const char   *row_id,
                                         char        **text,
                                         GError      **error);
/* Refuses a database made before customer PII was encrypted. */
gboolean      _fc_store_check_pii_layout (FcStore     *self,
                                          GError     **error);

/* fc-store-document.c: restores an exported fitting, keeping its ids. */
gboolean      _fc_store_restore_document (FcStore           *self,
                                          FcFittingDocument *document,
                                          FcImportSummary   *summary,
                                          GError           **error);

/* For migration tests: create a database at an older schema version. */
gboolean      _fc_store_create_at_version (const char  *path,
                                           int          version,
                                           GError     **error);

G_END_DECLS
