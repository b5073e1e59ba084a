/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "fc-secret-store.h"

G_BEGIN_DECLS

/*
 * FcCloudClient: this PC's connection to the shop's cloud account
 * (docs/cloud-sync.md, docs/cloud-api.yaml).
 *
 * It owns the HTTP session, the device's refresh token (kept in the OS
 * keyring under FC_SECRET_DEVICE_REFRESH_TOKEN with the cloud URL as the
 * account; never logged, never in the database or a config file) and a
 * short-lived access token in memory, refreshed a little before it
 * expires. Certificates are always verified; a CA file given in the
 * options replaces the system's trust store (a test cloud, a shop's
 * TLS-inspecting proxy) and is the only way to trust another
 * certificate. Plain http:// is accepted for loopback addresses only.
 *
 * The client belongs to the thread that made it: its async calls run on
 * that thread's default main context.
 */

/* What an answer means for the request that got it (the table in
 * docs/cloud-sync.md, "Errors and what the agent does with each"). */
typedef enum {
  FC_CLOUD_SUCCESS,        /* 2xx */
  FC_CLOUD_RETRY,          /* no answer, 5xx, 408, 429, 423, an ordering
                            * problem (404 fitting_not_found, 422
                            * unknown_config...): send the same request
                            * again later, Retry-After if given */
  FC_CLOUD_UNAUTHORIZED,   /* 401 for the access token, still after one
                            * refresh: sync stops until signed in again */
  FC_CLOUD_NEEDS_PAIRING,  /* not paired, or the pairing is gone (revoked,
                            * expired): pair again; the outbox is kept */
  FC_CLOUD_REJECTED,       /* another 4xx: retrying will not help; park */
} FcCloudOutcome;

const char     *fc_cloud_outcome_to_string (FcCloudOutcome outcome);

/* Pure: the outcome of an answer with HTTP @status (0: no answer at all)
 * and the error code of its body (may be NULL), before any refresh. */
FcCloudOutcome  fc_cloud_classify          (guint           status,
                                            const char     *error_code);

/* Pure: seconds to wait from a Retry-After value, given as seconds or as
 * an HTTP date, at @now_unix (seconds since the epoch). -1 when @value is
 * NULL or unreadable; a date in the past gives 0. */
gint64          fc_cloud_parse_retry_after (const char     *value,
                                            gint64          now_unix);

typedef struct {
  FcCloudOutcome  outcome;
  guint           status;       /* HTTP status; 0 when no answer came */
  char           *error_code;   /* the body's error.code, or NULL */
  char           *message;      /* for the fitter: the server's message, or why there was no answer */
  gint64          retry_after;  /* seconds from Retry-After, -1 when none */
  GBytes         *body;         /* the answer's body (may be empty) */
  gboolean        replayed;     /* Idempotent-Replayed: the server had applied it already */
} FcCloudResponse;

FcCloudResponse *fc_cloud_response_copy     (const FcCloudResponse *response);
void             fc_cloud_response_free     (FcCloudResponse       *response);
/* The response as an FC_ERROR (NETWORK, SERVER, UNAUTHORIZED, REJECTED)
 * prefixed with @what ("Sending shots"), for the caller that failed. */
GError          *fc_cloud_response_to_error (const FcCloudResponse *response,
                                             const char            *what);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcCloudResponse, fc_cloud_response_free)

typedef struct {
  const char    *base_url;     /* "https://cloud.example.com" (a path prefix is kept) */
  const char    *ca_file;      /* PEM certificates to trust instead of the system's; NULL: the system's */
  gboolean       no_proxy;     /* ignore the system's proxy settings */
  FcSecretStore *secrets;      /* NULL: the platform's keyring */
  const char    *device_name;  /* shown in the owner's device list; NULL: the host name */
  guint          timeout_s;    /* I/O timeout; 0: 60 s */
} FcCloudClientOptions;

#define FC_TYPE_CLOUD_CLIENT (fc_cloud_client_get_type ())
G_DECLARE_FINAL_TYPE (FcCloudClient, fc_cloud_client, FC, CLOUD_CLIENT, GObject)

/* FC_ERROR_INVALID_INPUT for a URL that is not http(s), plain http to a
 * host that is not loopback, or a CA file that cannot be read. */
FcCloudClient *fc_cloud_client_new                 (const FcCloudClientOptions *options,
                                                    GError                    **error);

const char    *fc_cloud_client_get_base_url        (FcCloudClient  *self);
SoupSession   *fc_cloud_client_get_session         (FcCloudClient  *self);

/* Pairing. Both store the device's refresh token in the keyring
 * (replacing an earlier one for this cloud) and keep nothing else:
 * login() uses the owner's email and password only to register this PC
 * (POST /api/v1/devices), then logs the owner's tokens out and forgets
 * them; pair() redeems a code the owner made elsewhere. Errors:
 * FC_ERROR_REJECTED (wrong email or password, unknown or used code, with
 * the server's message), FC_ERROR_NETWORK, FC_ERROR_SERVER,
 * FC_ERROR_SECRETS_UNAVAILABLE (paired, but the token could not be kept:
 * pair again once the keyring works). */
void      fc_cloud_client_login_async      (FcCloudClient        *self,
                                            const char           *email,
                                            const char           *password,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
void      fc_cloud_client_pair_async       (FcCloudClient        *self,
                                            const char           *code,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
/* Both finish: @device_id and @shop_id (may be NULL) get the new
 * pairing's ids. */
gboolean  fc_cloud_client_pair_finish      (FcCloudClient        *self,
                                            GAsyncResult         *result,
                                            char                **device_id,
                                            char                **shop_id,
                                            GError              **error);

/* Unpairs: POST /auth/logout with the device's token (which revokes the
 * device), then removes the token from the keyring. When the cloud
 * cannot be reached the token is kept (FC_ERROR_NETWORK / _SERVER), so
 * that logging out can be tried again; not being paired is success. */
void      fc_cloud_client_logout_async     (FcCloudClient        *self,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
gboolean  fc_cloud_client_logout_finish    (FcCloudClient        *self,
                                            GAsyncResult         *result,
                                            GError              **error);

/* Reads the keyring again (another program may have paired or unpaired
 * this PC): TRUE when a device token is stored for this cloud. Errors:
 * FC_ERROR_SECRETS_UNAVAILABLE. */
void      fc_cloud_client_load_pairing_async  (FcCloudClient        *self,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
gboolean  fc_cloud_client_load_pairing_finish (FcCloudClient        *self,
                                               GAsyncResult         *result,
                                               GError              **error);

/* One API request: Authorization with an access token (refreshed first
 * when it is about to expire), Idempotency-Key when given, @body as JSON
 * (may be NULL). A 401 for the access token gets one refresh and one
 * more try. A pairing the cloud no longer knows removes the token from
 * the keyring (unless another program has stored a new one meanwhile).
 * Always finishes with a response, whatever its outcome; NULL with an
 * error only when cancelled. */
void             fc_cloud_client_send_async  (FcCloudClient        *self,
                                              const char           *method,
                                              const char           *path,
                                              GBytes               *body,
                                              const char           *idempotency_key,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
FcCloudResponse *fc_cloud_client_send_finish (FcCloudClient        *self,
                                              GAsyncResult         *result,
                                              GError              **error);

/* Makes sure an access token is there and will not expire for a while
 * (@force: get a new one in any case, after a 401): for requests made by
 * others, like FcTusUpload's, which then add it with authorize(). The
 * response's outcome is SUCCESS when the token is ready. */
void             fc_cloud_client_ensure_access_async  (FcCloudClient        *self,
                                                       gboolean              force,
                                                       GCancellable         *cancellable,
                                                       GAsyncReadyCallback   callback,
                                                       gpointer              user_data);
FcCloudResponse *fc_cloud_client_ensure_access_finish (FcCloudClient        *self,
                                                       GAsyncResult         *result,
                                                       GError              **error);
/* Adds "Authorization: Bearer <access token>" to @message. */
void             fc_cloud_client_authorize            (FcCloudClient        *self,
                                                       SoupMessage          *message);

/* For tests and the log: access tokens fetched with the refresh token,
 * and 401 answers received for an access token. */
guint     fc_cloud_client_get_refresh_count      (FcCloudClient *self);
guint     fc_cloud_client_get_unauthorized_count (FcCloudClient *self);
/* Changes whenever the device token the client holds changes (a new
 * pairing read from the keyring, a pairing forgotten); never 0 once a
 * token was read. */
guint     fc_cloud_client_get_token_serial       (FcCloudClient *self);

G_END_DECLS
