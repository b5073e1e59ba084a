/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "fc-secret-store.h"

G_BEGIN_DECLS

/* One of these is compiled, chosen by src/sync/meson.build. */
FcSecretStore *_fc_secret_store_libsecret_new (void);
FcSecretStore *_fc_secret_store_wincred_new   (void);
FcSecretStore *_fc_secret_store_keychain_new  (void);

G_END_DECLS
