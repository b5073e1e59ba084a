/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-field-cipher.h"

G_BEGIN_DECLS

/*
 * FcAesGcmCipher: the FcFieldCipher that keeps customer PII at rest,
 * AES-256-GCM through OpenSSL's EVP interface.
 *
 * Every value becomes a versioned envelope (docs/secrets.md):
 *
 *   offset  size  field
 *        0     1  version (1)
 *        1     8  key id (the first 8 bytes of the key's fingerprint)
 *        9    12  nonce, fresh from RAND_bytes for every value
 *       21     n  ciphertext (as long as the plaintext)
 *     21+n    16  GCM tag
 *
 * The first 21 bytes and the caller's AAD (table, column, row id) are
 * authenticated, so a changed header, a value moved to another row or
 * column, or a flipped bit all fail with an error instead of decrypting.
 */

#define FC_AES_GCM_KEY_SIZE      32
#define FC_AES_GCM_NONCE_SIZE    12
#define FC_AES_GCM_TAG_SIZE      16
#define FC_AES_GCM_KEY_ID_SIZE    8
#define FC_AES_GCM_VERSION        1
#define FC_AES_GCM_HEADER_SIZE   (1 + FC_AES_GCM_KEY_ID_SIZE + FC_AES_GCM_NONCE_SIZE)
#define FC_AES_GCM_OVERHEAD      (FC_AES_GCM_HEADER_SIZE + FC_AES_GCM_TAG_SIZE)

#define FC_TYPE_AES_GCM_CIPHER (fc_aes_gcm_cipher_get_type ())
G_DECLARE_FINAL_TYPE (FcAesGcmCipher, fc_aes_gcm_cipher, FC, AES_GCM_CIPHER, GObject)

/* 32 bytes from OpenSSL's CSPRNG, wiped from memory when released. */
GBytes         *fc_aes_gcm_generate_key   (GError     **error);
/* The key's public id: hex of the first 8 bytes of
 * SHA-256("fitclip-pii-key-id-v1" || key). */
char           *fc_aes_gcm_key_id         (GBytes      *key);

/* Keeps its own copy of @key (which must be 32 bytes). */
FcAesGcmCipher *fc_aes_gcm_cipher_new     (GBytes      *key,
                                           GError     **error);

/* Plain AES-256-GCM with a 96-bit nonce and a 128-bit tag, without the
 * envelope: what the envelope is built on, exposed for the known-answer
 * tests. seal() returns ciphertext || tag; open() fails with
 * FC_ERROR_CORRUPT when the tag does not match. */
GBytes         *fc_aes_gcm_seal           (GBytes      *key,
                                           GBytes      *nonce,
                                           GBytes      *aad,
                                           GBytes      *plaintext,
                                           GError     **error);
GBytes         *fc_aes_gcm_open           (GBytes      *key,
                                           GBytes      *nonce,
                                           GBytes      *aad,
                                           GBytes      *sealed,
                                           GError     **error);

G_END_DECLS
