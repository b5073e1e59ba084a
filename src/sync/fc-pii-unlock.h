/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-secret-store.h"
#include "fc-store.h"

G_BEGIN_DECLS

/*
 * Gives @store the key to its customers' details: looks up the key whose
 * id the database records in @secrets ("pii-key", account = key id), or,
 * for a database without customer data yet, makes a key, keeps it in the
 * keyring and then records its id in the database. Two programs opening
 * a new database at once agree on one key.
 *
 * On failure the store stays locked (fittings and shots work; customers
 * read with pii_locked set) and remembers the error's message as the
 * reason it quotes; the error is FC_ERROR_SECRETS_UNAVAILABLE (no keyring,
 * or a locked one), or FC_ERROR_PII_LOCKED (the keyring is fine but does
 * not hold this database's key).
 *
 * The blocking variant is for command-line tools. The async one does
 * the keyring work in a worker thread and touches @store only on the
 * thread that called it (a store belongs to one thread).
 */
gboolean fc_pii_unlock_store        (FcStore              *store,
                                     FcSecretStore        *secrets,
                                     GCancellable         *cancellable,
                                     GError              **error);
void     fc_pii_unlock_store_async  (FcStore              *store,
                                     FcSecretStore        *secrets,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
gboolean fc_pii_unlock_store_finish (FcStore              *store,
                                     GAsyncResult         *result,
                                     GError              **error);

G_END_DECLS
