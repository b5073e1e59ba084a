/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * FcSecretStore: small secrets (the device's refresh token, the key of
 * the customer-details encryption) in the operating system's keyring,
 * never in the database, a config file or a log.
 *
 * A secret is found by its @name ("device-refresh-token", "pii-key") and
 * an @account that keeps unrelated copies apart: the cloud URL for a
 * token (two clouds never share one), the key id for a PII key (two
 * databases never share one). Values are bytes; the bytes handed out
 * are wiped from memory when released.
 *
 * Each platform file implements the three blocking virtual methods;
 * this class runs them in a worker thread for the _async variants,
 * because a keyring call can wait on D-Bus or on the user unlocking a
 * keyring and must never hold up the main loop. The blocking functions
 * are for command-line tools and worker threads.
 *
 * Errors: FC_ERROR_NOT_FOUND when nothing is stored under the name,
 * FC_ERROR_SECRETS_UNAVAILABLE when there is no keyring or it is locked
 * (the message says which, and what to do), G_IO_ERROR_CANCELLED.
 */

#define FC_SECRET_DEVICE_REFRESH_TOKEN "device-refresh-token"
#define FC_SECRET_PII_KEY              "pii-key"

#define FC_TYPE_SECRET_STORE (fc_secret_store_get_type ())
G_DECLARE_DERIVABLE_TYPE (FcSecretStore, fc_secret_store, FC, SECRET_STORE, GObject)

struct _FcSecretStoreClass {
  GObjectClass parent_class;

  /* Blocking; called from worker threads, so they keep no unlocked state. */
  GBytes   *(*lookup) (FcSecretStore  *self,
                       const char     *name,
                       const char     *account,
                       GCancellable   *cancellable,
                       GError        **error);
  gboolean  (*store)  (FcSecretStore  *self,
                       const char     *name,
                       const char     *account,
                       const char     *label,
                       GBytes         *value,
                       GCancellable   *cancellable,
                       GError        **error);
  /* Succeeds when nothing was stored. */
  gboolean  (*clear)  (FcSecretStore  *self,
                       const char     *name,
                       const char     *account,
                       GCancellable   *cancellable,
                       GError        **error);

  const char *backend_name;   /* "GNOME Keyring / Secret Service", ... */

  gpointer padding[8];
};

/* The platform's keyring: the Secret Service (libsecret) on Linux and
 * the BSDs, Credential Manager on Windows, the Keychain on macOS. Never
 * fails: an unreachable keyring shows up in the first call's error. */
FcSecretStore *fc_secret_store_new_default   (void);

const char    *fc_secret_store_get_backend_name (FcSecretStore *self);

GBytes        *fc_secret_store_lookup        (FcSecretStore        *self,
                                              const char           *name,
                                              const char           *account,
                                              GCancellable         *cancellable,
                                              GError              **error);
void           fc_secret_store_lookup_async  (FcSecretStore        *self,
                                              const char           *name,
                                              const char           *account,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
GBytes        *fc_secret_store_lookup_finish (FcSecretStore        *self,
                                              GAsyncResult         *result,
                                              GError              **error);

/* Replaces what was stored under the same name and account. */
gboolean       fc_secret_store_store         (FcSecretStore        *self,
                                              const char           *name,
                                              const char           *account,
                                              GBytes               *value,
                                              GCancellable         *cancellable,
                                              GError              **error);
void           fc_secret_store_store_async   (FcSecretStore        *self,
                                              const char           *name,
                                              const char           *account,
                                              GBytes               *value,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean       fc_secret_store_store_finish  (FcSecretStore        *self,
                                              GAsyncResult         *result,
                                              GError              **error);

gboolean       fc_secret_store_clear         (FcSecretStore        *self,
                                              const char           *name,
                                              const char           *account,
                                              GCancellable         *cancellable,
                                              GError              **error);
void           fc_secret_store_clear_async   (FcSecretStore        *self,
                                              const char           *name,
                                              const char           *account,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean       fc_secret_store_clear_finish  (FcSecretStore        *self,
                                              GAsyncResult         *result,
                                              GError              **error);

/* A copy of @data that is overwritten with zeros when the last reference
 * goes: for keys and tokens on their way to or from the keyring. */
GBytes        *fc_secret_bytes_new           (gconstpointer         data,
                                              gsize                 size);

/* Overwrites the string in *@text with zeros, frees it and sets *@text
 * to NULL: for a token held as text. */
void           fc_secret_string_clear        (char                **text);

G_END_DECLS
