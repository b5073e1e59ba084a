/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-field-cipher.h"
#include "fc-import.h"
#include "fc-model.h"
#include "fc-shot.h"
#include "fc-stats.h"

G_BEGIN_DECLS

/*
 * FcStore: the agent's single source of truth, one SQLite database.
 *
 * - WAL journal, synchronous=FULL: a call that returned TRUE has its data
 *   on stable storage; it survives SIGKILL and power loss (see
 *   docs/storage.md and tests/test-store-durability.c).
 * - Every change that must reach the cloud writes its outbox row in the
 *   same transaction.
 * - One FcStore belongs to one thread. Other threads or processes open
 *   their own; SQLite serialises writers and the busy timeout makes a
 *   second writer wait instead of failing at once.
 */

#define FC_TYPE_STORE (fc_store_get_type ())
G_DECLARE_FINAL_TYPE (FcStore, fc_store, FC, STORE, GObject)

#define FC_STORE_SCHEMA_VERSION 2
#define FC_STORE_DEFAULT_BUSY_TIMEOUT_MS 5000
#define FC_STORE_DEFAULT_DEDUPE_WINDOW_US (60 * G_USEC_PER_SEC)
#define FC_STORE_DEFAULT_BAY "Bay 1"

typedef struct {
  guint        busy_timeout_ms;   /* 0: the default */
  const char  *vfs;               /* SQLite VFS name, NULL for the OS default */
  /* Durability level; anything but "FULL" is for tests that prove why
   * FULL is needed. NULL: FULL. */
  const char  *synchronous;
} FcStoreOptions;

/* The database path used when none is given: $FITCLIP_DB, else
 * <user data dir>/fitclip/fitclip.db. */
char     *fc_store_default_path      (void);

FcStore  *fc_store_open              (const char           *path,
                                      GError              **error);
FcStore  *fc_store_open_full         (const char           *path,
                                      const FcStoreOptions *options,
                                      GError              **error);

const char *fc_store_get_path        (FcStore *self);
int       fc_store_get_schema_version (FcStore *self);
void      fc_store_set_dedupe_window (FcStore *self,
                                      gint64   window_us);

/* PRAGMA integrity_check and foreign_key_check; @report receives the
 * text ("ok" when healthy). */
gboolean  fc_store_check_integrity   (FcStore  *self,
                                      char    **report,
                                      GError  **error);

typedef struct {
  gint64 customers;
  gint64 fittings;
  gint64 open_fittings;
  gint64 configs;
  gint64 shots;
  gint64 excluded_shots;
  gint64 imports;
  gint64 outbox_pending;
} FcStoreCounts;

gboolean  fc_store_get_counts        (FcStore       *self,
                                      FcStoreCounts *counts,
                                      GError       **error);

/* Customers, fittings and club configurations. add_*() fill in the id. */
gboolean      fc_store_add_customer     (FcStore      *self,
                                         FcCustomer   *customer,
                                         GError      **error);
/* Without a cipher: a record with pii_locked set and NULL name, e-mail,
 * phone and notes (handedness and handicap are not encrypted). */
FcCustomer   *fc_store_get_customer     (FcStore      *self,
                                         const char   *id,
                                         GError      **error);
/* Rewrites the customer's details (all of them, encrypted anew). */
gboolean      fc_store_update_customer  (FcStore      *self,
                                         const FcCustomer *customer,
                                         GError      **error);
gboolean      fc_store_add_fitting      (FcStore      *self,
                                         FcFitting    *fitting,
                                         GError      **error);
FcFitting    *fc_store_get_fitting      (FcStore      *self,
                                         const char   *id,
                                         GError      **error);
/* Full id, or a unique prefix of at least 4 characters (for the CLI). */
char         *fc_store_resolve_fitting_id (FcStore    *self,
                                         const char   *id_or_prefix,
                                         GError      **error);
GPtrArray    *fc_store_list_fittings    (FcStore      *self,
                                         GError      **error);
gboolean      fc_store_count_shots      (FcStore      *self,
                                         const char   *fitting_id,
                                         gint64       *total,
                                         gint64       *excluded,
                                         GError      **error);
gboolean      fc_store_complete_fitting (FcStore      *self,
                                         const char   *fitting_id,
                                         GError      **error);
/* The bay's open practice session, created when there is none. */
FcFitting    *fc_store_ensure_practice_session (FcStore    *self,
                                         const char   *bay,
                                         GError      **error);
gboolean      fc_store_add_config       (FcStore      *self,
                                         FcClubConfig *config,
                                         GError      **error);
GPtrArray    *fc_store_list_configs     (FcStore      *self,
                                         const char   *fitting_id,
                                         GError      **error);
/* The configuration that new shots of the fitting go to. */
gboolean      fc_store_set_active_config (FcStore     *self,
                                         const char   *fitting_id,
                                         const char   *config_id,
                                         GError      **error);

/*
 * Customer PII at rest (docs/secrets.md). Customers' name, e-mail, phone
 * and notes reach SQLite only as ciphertext made by the store's cipher.
 * The first cipher set on a database claims it (its key id is recorded
 * in store_meta); a cipher with another key is refused with
 * FC_ERROR_PII_LOCKED and nothing is decrypted with it. Without a cipher
 * ("locked") fittings, configurations and shots work as usual; creating
 * or editing a customer fails with FC_ERROR_PII_LOCKED.
 */
gboolean       fc_store_set_field_cipher   (FcStore        *self,
                                            FcFieldCipher  *cipher,
                                            GError        **error);
FcFieldCipher *fc_store_get_field_cipher   (FcStore        *self);
/* Why customer details are locked (e.g. the keyring's error), quoted in
 * FC_ERROR_PII_LOCKED messages. */
void           fc_store_set_pii_lock_reason (FcStore       *self,
                                            const char     *reason);
const char    *fc_store_get_pii_lock_reason (FcStore       *self);
/* The key id recorded in the database; *key_id is NULL before the first
 * cipher was set. */
gboolean       fc_store_get_pii_key_id     (FcStore        *self,
                                            char          **key_id,
                                            GError        **error);

typedef struct {
  char     *key_id;       /* recorded in the database, NULL before the first key */
  gboolean  unlocked;     /* a cipher with that key is set */
  gint64    customers;
  gint64    readable;     /* customers whose details decrypt (0 while locked) */
  gint64    unreadable;   /* ...and those that do not: damaged or another key */
} FcPiiStatus;

void           fc_pii_status_clear         (FcPiiStatus    *status);
/* Decrypts every customer when unlocked: for `fitclipctl doctor`. */
gboolean       fc_store_get_pii_status     (FcStore        *self,
                                            FcPiiStatus    *status,
                                            GError        **error);

/* Shots. */
typedef enum {
  FC_ADD_INSERTED,
  FC_ADD_DUPLICATE,   /* the same device shot was already stored */
} FcAddResult;

/*
 * Stores @shot. Missing fitting: the bay's open fitting, else its practice
 * session. Missing configuration: the fitting's active one, else its
 * baseline. On FC_ADD_INSERTED shot->id, fitting_id, config_id and
 * received_at are filled; on FC_ADD_DUPLICATE shot->id is the stored
 * twin's id. Returns only after the commit is durable.
 */
gboolean   fc_store_add_shot          (FcStore      *self,
                                       FcShot       *shot,
                                       const char   *bay,
                                       FcAddResult  *result,
                                       GError      **error);
/* Several shots in one durable commit (group commit: what a busy hub
 * does). All or nothing: on error nothing is stored and the caller may
 * retry the shots one by one to find the bad one. @results has one entry
 * per shot. */
gboolean   fc_store_add_shots         (FcStore      *self,
                                       FcShot      **shots,
                                       guint         n_shots,
                                       const char   *bay,
                                       FcAddResult  *results,
                                       GError      **error);
FcShot    *fc_store_get_shot          (FcStore      *self,
                                       const char   *shot_id,
                                       GError      **error);
/* All shots of the fitting (excluded ones too) in arrival order. */
GPtrArray *fc_store_list_shots        (FcStore      *self,
                                       const char   *fitting_id,
                                       GError      **error);
/* Soft exclusion from statistics; reversible with excluded = FALSE. */
gboolean   fc_store_set_shot_excluded (FcStore      *self,
                                       const char   *shot_id,
                                       gboolean      excluded,
                                       const char   *reason,
                                       GError      **error);
gboolean   fc_store_tag_shot          (FcStore      *self,
                                       const char   *shot_id,
                                       const char   *tag,
                                       gboolean      add,
                                       GError      **error);
/* Moves shots (e.g. out of a practice session) to a configuration. */
gboolean   fc_store_move_shots        (FcStore      *self,
                                       const char * const *shot_ids,
                                       const char   *config_id,
                                       GError      **error);

/* Import a parsed file in one transaction: all rows or none. */
typedef struct {
  char  *import_id;
  char  *fitting_id;
  char  *config_id;
  guint  inserted;
  guint  duplicates;
} FcImportSummary;

void       fc_import_summary_clear    (FcImportSummary *summary);
gboolean   fc_store_import            (FcStore         *self,
                                       FcImportBatch   *batch,
                                       const char      *fitting_id,
                                       const char      *config_id,
                                       const char      *bay,
                                       FcImportSummary *summary,
                                       GError         **error);

/* The whole fitting (customer, configurations, all shots) as one
 * consistent snapshot, for export. */
struct _FcFittingDocument *fc_store_load_document (FcStore    *self,
                                                   const char *fitting_id,
                                                   GError    **error);

/* Column data of the fitting's included shots, grouped by configuration. */
FcStatsInput *fc_store_load_stats_input (FcStore    *self,
                                         const char *fitting_id,
                                         GError    **error);

/* Outbox (drained by the sync engine). */
typedef struct {
  gint64  id;
  char   *entity;       /* "customer", "fitting", "club_config", "shot", "import", "video" */
  char   *entity_id;
  char   *fitting_id;
  char   *operation;    /* "create", "update", "complete"; "move" for a shot moved
                         * to another fitting after it was sent (fc-sync-queue.h) */
  /* JSON; NULL for a shot "create" and for every customer entry: send
   * the stored record. A customer's details are encrypted at rest and
   * never copied into the outbox in clear; while they are locked
   * (FcCustomer.pii_locked) a customer entry must wait, not be sent. */
  char   *payload;
  int     attempt_count;
  gint64  next_attempt_at;
  char   *last_error;
  gint64  created_at;
} FcOutboxEntry;

void       fc_outbox_entry_free       (FcOutboxEntry *entry);
/* Entries due at @now_us, oldest first, at most @limit. */
GPtrArray *fc_store_outbox_peek       (FcStore      *self,
                                       gint64        now_us,
                                       guint         limit,
                                       GError      **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcOutboxEntry, fc_outbox_entry_free)

G_END_DECLS
