/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "fc-field-cipher.h"
#include "fc-store.h"

G_BEGIN_DECLS

/* The real AES-256-GCM cipher with a random in-memory key. */
FcFieldCipher *pii_random_cipher       (void);
/* A store opened at @path with pii_random_cipher() set: customers'
 * details are encrypted as in the app. */
FcStore       *pii_open_store          (const char    *path);

gboolean       pii_bytes_contain       (gconstpointer  data,
                                        gsize          len,
                                        const char    *needle);
gboolean       pii_file_contains       (const char    *path,
                                        const char    *needle);
/* The database, its -wal and its -journal. */
gboolean       pii_db_files_contain    (const char    *db_path,
                                        const char    *needle);

G_END_DECLS
