/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/*
 * FcFieldCipher: how the store encrypts one value (a customer's name,
 * e-mail, phone, notes) before it reaches SQLite. Core only knows this
 * interface; the sync library implements it with OpenSSL
 * (FcAesGcmCipher), so core never links a crypto library.
 *
 * @aad ("additional authenticated data") names where the value lives —
 * table, column and row id — so a ciphertext copied to another row or
 * column fails to decrypt instead of showing the wrong person's data.
 *
 * Implementations must be immutable after construction: one cipher may
 * be shared by stores on several threads.
 */

#define FC_TYPE_FIELD_CIPHER (fc_field_cipher_get_type ())
G_DECLARE_INTERFACE (FcFieldCipher, fc_field_cipher, FC, FIELD_CIPHER, GObject)

struct _FcFieldCipherInterface {
  GTypeInterface g_iface;

  GBytes     *(*encrypt)    (FcFieldCipher  *self,
                             GBytes         *plaintext,
                             GBytes         *aad,
                             GError        **error);
  GBytes     *(*decrypt)    (FcFieldCipher  *self,
                             GBytes         *ciphertext,
                             GBytes         *aad,
                             GError        **error);
  const char *(*get_key_id) (FcFieldCipher  *self);
};

GBytes     *fc_field_cipher_encrypt    (FcFieldCipher  *self,
                                        GBytes         *plaintext,
                                        GBytes         *aad,
                                        GError        **error);
/* FC_ERROR_PII_LOCKED when the value was sealed with another key,
 * FC_ERROR_CORRUPT when it was altered or belongs elsewhere. */
GBytes     *fc_field_cipher_decrypt    (FcFieldCipher  *self,
                                        GBytes         *ciphertext,
                                        GBytes         *aad,
                                        GError        **error);
/* A short public fingerprint of the key (hex), kept in the database so
 * that the wrong key is recognised before anything is decrypted. */
const char *fc_field_cipher_get_key_id (FcFieldCipher  *self);

/* Convenience for text values: NULL in, NULL out. */
GBytes     *fc_field_cipher_encrypt_text (FcFieldCipher  *self,
                                          const char     *text,
                                          const char     *aad,
                                          GError        **error);
char       *fc_field_cipher_decrypt_text (FcFieldCipher  *self,
                                          GBytes         *ciphertext,
                                          const char     *aad,
                                          GError        **error);

G_END_DECLS
