/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "fc-json-writer.h"

G_BEGIN_DECLS

/*
 * fitclip-devcloud: the reference implementation of docs/cloud-api.yaml.
 * One process, one GLib main loop, one SQLite connection: requests are
 * handled one at a time on the main thread, each in one transaction, so
 * the server needs no locks and every answer reflects committed state.
 * That is a development server's trade-off, not a production design.
 */

#define DC_EXIT_OK     0
#define DC_EXIT_FAILED 1
#define DC_EXIT_USAGE  2

#define DC_MAX_JSON_BODY   (16 * 1024 * 1024)
#define DC_MAX_SHOTS       500
#define DC_PAIR_CODE_TTL_S 600
#define DC_IDEMPOTENCY_TTL_S (24 * 3600)

/* ---- store (devcloud-store.c) ------------------------------------------- */

typedef struct {
  sqlite3    *db;
  GHashTable *statements;   /* SQL text → prepared statement, reused */
} DcStore;

DcStore      *dc_store_open      (const char  *path,
                                  gboolean     read_only,
                                  GError     **error);
void          dc_store_free      (DcStore     *store);
/* Prepared once, reset and unbound on each use. Aborts on a bad query:
 * every query is a constant of this program. */
sqlite3_stmt *dc_store_stmt      (DcStore     *store,
                                  const char  *sql);
gboolean      dc_store_exec      (DcStore     *store,
                                  const char  *sql,
                                  GError     **error);
/* Steps a statement that returns no rows (and resets it). */
gboolean      dc_store_step_done (DcStore      *store,
                                  sqlite3_stmt *stmt,
                                  GError      **error);
gboolean      dc_store_begin     (DcStore     *store,
                                  GError     **error);
gboolean      dc_store_commit    (DcStore     *store,
                                  GError     **error);
void          dc_store_rollback  (DcStore     *store);
void          dc_store_set_error (DcStore     *store,
                                  GError     **error,
                                  const char  *what);

void  dc_bind_text    (sqlite3_stmt *stmt,
                       int           col,
                       const char   *text);
void  dc_bind_double  (sqlite3_stmt *stmt,
                       int           col,
                       double        value);
char *dc_column_dup   (sqlite3_stmt *stmt,
                       int           col);
double dc_column_double (sqlite3_stmt *stmt,
                         int           col);

/* Shop by name, created when missing. */
char *dc_store_ensure_shop (DcStore     *store,
                            const char  *name,
                            GError     **error);

/* ---- helpers (devcloud-util.c) ------------------------------------------ */

char    *dc_sha256_hex        (const void *data,
                               gsize       len);
gboolean dc_is_sha256_hex     (const char *text);
char    *dc_random_token      (const char *prefix);
char    *dc_token_hash        (const char *token);
gboolean dc_hash_password     (const char  *password,
                               const guint8 *salt,
                               gsize        salt_len,
                               int          iterations,
                               guint8      *out,
                               gsize        out_len);
char    *dc_new_pair_code     (void);
char    *dc_normalize_pair_code (const char *text);
char    *dc_http_date         (gint64 unix_s);
/* sha256 of a file, hex; NULL with @error when it cannot be read. */
char    *dc_file_sha256       (const char  *path,
                               guint64     *size,
                               GError     **error);

/* ---- the server (devcloud-server.c) ------------------------------------- */

typedef struct {
  double fail_500;
  double fail_503;
  double fail_429;
  double drop_request;
  double drop_response;
  double lose_response;
  double checksum_mismatch;
  int    retry_after;
  int    slow_ms;
  /* Not a fault but a rule: a cloud stricter than the agent, refusing
   * shots faster than this (m/s; 0: no such rule), so that a refusal of
   * one shot in a batch can be played. */
  double max_ball_speed_mps;
} DcFaults;

typedef enum {
  DC_FAULT_COUNT_500,
  DC_FAULT_COUNT_503,
  DC_FAULT_COUNT_429,
  DC_FAULT_COUNT_DROP_REQUEST,
  DC_FAULT_COUNT_DROP_RESPONSE,
  DC_FAULT_COUNT_LOSE_RESPONSE,
  DC_FAULT_COUNT_SLOW,
  DC_FAULT_COUNT_CHECKSUM,
  DC_N_FAULT_COUNTS
} DcFaultCount;

typedef struct {
  char    *db_path;
  char    *files_dir;
  char    *listen;
  char    *tls_cert;
  char    *tls_key;
  char    *admin_token;
  gint64   access_ttl_s;
  gint64   refresh_ttl_s;
  gint64   upload_ttl_s;
  guint64  max_upload;
  gint64   seed;
  gboolean have_seed;
  DcFaults faults;
} DcConfig;

typedef struct _DcServer DcServer;

typedef enum {
  DC_PRINCIPAL_USER,
  DC_PRINCIPAL_DEVICE,
} DcPrincipalKind;

typedef struct {
  DcPrincipalKind kind;
  char *id;
  char *shop_id;
  char *key;       /* "user:<id>" or "device:<id>", for idempotency */
} DcPrincipal;

/* One request in flight: its collected body, its faults and its answer
 * until the answer is handed to libsoup. */
typedef struct _DcRequest DcRequest;

struct _DcServer {
  DcConfig      config;
  DcStore      *store;
  SoupServer   *soup;
  GRand        *rand;
  guint64       fault_counts[DC_N_FAULT_COUNTS];
  GHashTable   *upload_hashes;  /* upload id → DcUploadHash (running sha256) */
  GHashTable   *upload_locks;   /* ids of uploads a PATCH is writing now */
  char         *uploads_dir;
  char         *blob_path;
  guint         requests_since_purge;
};

struct _DcRequest {
  DcServer          *server;
  SoupServerMessage *msg;
  const char        *method;
  char              *path;
  GByteArray        *body;
  gboolean           body_too_large;
  gboolean           discard_body;  /* answered before the body came: drain it */
  guint64            received;
  DcPrincipal       *principal;
  gboolean           admin;         /* /_admin: never faulted */
  gboolean           processed;     /* a route ran: post-processing faults apply */

  /* faults drawn for this request */
  gboolean           drop_request;
  guint64            drop_after;    /* body bytes to take before dropping */
  gboolean           drop_response;
  gboolean           lose_response;
  gboolean           checksum_mismatch;
  int                fail_status;

  /* Upload-Checksum of a tus PATCH */
  guint8             checksum_expected[64];
  gsize              checksum_len;

  /* the answer */
  guint              status;
  char              *content_type;
  GBytes            *response;
  GPtrArray         *headers;      /* name, value, name, value … (kept for replays) */
  gboolean           store_headers; /* replay these headers too */

  /* streaming bodies (tus PATCH, PUT /_bench/blob) */
  struct _DcSink    *sink;
  gboolean           answered;
};

DcServer *dc_server_new   (const DcConfig *config,
                           GError        **error);
gboolean  dc_server_listen (DcServer   *server,
                            GError    **error);
void      dc_server_free  (DcServer   *server);

/* Answers (kept in the request until it finishes). */
void dc_respond_json   (DcRequest   *req,
                        guint        status,
                        char        *json);    /* takes */
void dc_respond_writer (DcRequest    *req,
                        guint         status,
                        FcJsonWriter *writer); /* takes */
void dc_respond_error  (DcRequest   *req,
                        guint        status,
                        const char  *code,
                        const char  *format,
                        ...) G_GNUC_PRINTF (4, 5);
/* An error with extra members: shot_id (may be NULL), index (-1: none),
 * field (may be NULL). */
void dc_respond_shot_error (DcRequest  *req,
                            guint       status,
                            const char *code,
                            const char *shot_id,
                            int         index,
                            const char *field,
                            const char *message);
void dc_respond_empty  (DcRequest   *req,
                        guint        status);
void dc_respond_bytes  (DcRequest   *req,
                        guint        status,
                        const char  *content_type,
                        GBytes      *bytes);
void dc_request_add_header (DcRequest  *req,
                            const char *name,
                            const char *value);

/* The request body as a JSON object; answers 400/415 and returns NULL
 * when it is not one. The parser owns the object. */
JsonObject *dc_request_json (DcRequest   *req,
                             JsonParser  *parser);

/* The Bearer principal, or NULL after answering 401. */
DcPrincipal *dc_authenticate (DcRequest *req);
void         dc_principal_free (DcPrincipal *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DcPrincipal, dc_principal_free)

/* ---- routes -------------------------------------------------------------- */

/* devcloud-auth.c */
void dc_route_login        (DcRequest *req);
void dc_route_refresh      (DcRequest *req);
void dc_route_pair         (DcRequest *req);
void dc_route_logout       (DcRequest *req);
void dc_route_me           (DcRequest *req);
void dc_route_devices_post (DcRequest *req);
void dc_route_pair_codes   (DcRequest *req);
void dc_route_device_delete (DcRequest  *req,
                             const char *device_id);
/* Issues an access token for a principal (inside a transaction). */
char *dc_issue_access_token (DcServer        *server,
                             DcPrincipalKind  kind,
                             const char      *principal_id,
                             const char      *shop_id,
                             GError         **error);
/* Command line: pair codes and revocation. */
char    *dc_make_pair_code  (DcStore     *store,
                             const char  *shop_id,
                             const char  *user_id,
                             GError     **error);
gboolean dc_add_user        (DcStore     *store,
                             const char  *email,
                             const char  *password,
                             const char  *shop,
                             char       **user_id,
                             GError     **error);

/* devcloud-fittings.c */
void dc_route_fittings_post (DcRequest  *req);
void dc_route_fitting_get   (DcRequest  *req,
                             const char *fitting_id);
void dc_route_fitting_patch (DcRequest  *req,
                             const char *fitting_id);
void dc_route_shots_post    (DcRequest  *req,
                             const char *fitting_id);
void dc_route_complete      (DcRequest  *req,
                             const char *fitting_id);
void dc_route_videos_post   (DcRequest  *req,
                             const char *fitting_id);
void dc_route_video_content (DcRequest  *req,
                             const char *video_id);
/* Writes the FittingState object of docs/cloud-api.yaml. */
gboolean dc_write_fitting_state (DcServer     *server,
                                 FcJsonWriter *w,
                                 const char   *fitting_id,
                                 GError      **error);
/* Writes one fitting with its configs, customer, every shot and video,
 * for the dump. */
gboolean dc_write_fitting_dump  (DcStore      *store,
                                 const char   *files_dir,
                                 FcJsonWriter *w,
                                 const char   *fitting_id,
                                 GError      **error);

/* devcloud-shops.c */
void dc_route_branding (DcRequest  *req,
                        const char *shop_id);
void dc_route_logo     (DcRequest  *req,
                        const char *shop_id);
gboolean dc_set_branding (DcStore     *store,
                          const char  *shop,
                          const char  *const *pairs, /* column, value, … NULL */
                          const char  *logo_path,
                          GError     **error);

/* devcloud-tus.c */
typedef struct _DcSink DcSink;
void dc_tus_options     (DcRequest  *req);
void dc_tus_create      (DcRequest  *req);
void dc_tus_head        (DcRequest  *req,
                         const char *upload_id);
void dc_tus_delete      (DcRequest  *req,
                         const char *upload_id);
/* PATCH and PUT /_bench/blob: checked when the headers arrive, body
 * streamed to disk, finished when the body is complete. */
gboolean dc_tus_patch_begin  (DcRequest  *req,
                              const char *upload_id);
void     dc_tus_patch_finish (DcRequest  *req);
gboolean dc_blob_begin       (DcRequest  *req);
void     dc_blob_finish      (DcRequest  *req);
void     dc_sink_write       (DcRequest  *req,
                              GBytes     *chunk);
/* The request ended before its body did (the client went away, or a
 * drop fault): keep what the tus rules say to keep. */
void     dc_sink_abort       (DcRequest  *req);
void     dc_sink_free        (DcSink     *sink);
void     dc_upload_hash_free (gpointer    data);
/* Marks uploads past their expiry as expired and deletes their files. */
void     dc_tus_expire       (DcServer   *server);
char    *dc_upload_file_path (const char *files_dir,
                              const char *upload_id);

/* devcloud-dump.c */
char *dc_dump (DcStore     *store,
               const char  *files_dir,
               GError     **error);

/* Faults as JSON (GET/POST /_admin/faults). */
void     dc_faults_write (DcServer     *server,
                          FcJsonWriter *w);
gboolean dc_faults_read  (DcServer    *server,
                          JsonObject  *o,
                          GError     **error);

G_END_DECLS
