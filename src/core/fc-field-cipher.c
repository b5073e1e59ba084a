/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-field-cipher"

#include "fc-field-cipher.h"
#include "fc-error.h"

#include <string.h>

G_DEFINE_INTERFACE (FcFieldCipher, fc_field_cipher, G_TYPE_OBJECT)

static void
fc_field_cipher_default_init (FcFieldCipherInterface *iface)
{
}

GBytes *
fc_field_cipher_encrypt (FcFieldCipher  *self,
                         GBytes         *plaintext,
                         GBytes         *aad,
                         GError        **error)
{
  g_return_val_if_fail (FC_IS_FIELD_CIPHER (self), NULL);
  g_return_val_if_fail (plaintext != NULL, NULL);
  g_return_val_if_fail (aad != NULL, NULL);

  return FC_FIELD_CIPHER_GET_IFACE (self)->encrypt (self, plaintext, aad, error);
}

GBytes *
fc_field_cipher_decrypt (FcFieldCipher  *self,
                         GBytes         *ciphertext,
                         GBytes         *aad,
                         GError        **error)
{
  g_return_val_if_fail (FC_IS_FIELD_CIPHER (self), NULL);
  g_return_val_if_fail (ciphertext != NULL, NULL);
  g_return_val_if_fail (aad != NULL, NULL);

  return FC_FIELD_CIPHER_GET_IFACE (self)->decrypt (self, ciphertext, aad, error);
}

const char *
fc_field_cipher_get_key_id (FcFieldCipher *self)
{
  g_return_val_if_fail (FC_IS_FIELD_CIPHER (self), NULL);

  return FC_FIELD_CIPHER_GET_IFACE (self)->get_key_id (self);
}

GBytes *
fc_field_cipher_encrypt_text (FcFieldCipher  *self,
                              const char     *text,
                              const char     *aad,
                              GError        **error)
{
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) context = NULL;

  if (text == NULL)
    return NULL;
  plain = g_bytes_new_static (text, strlen (text));
  context = g_bytes_new_static (aad, strlen (aad));
  return fc_field_cipher_encrypt (self, plain, context, error);
}

char *
fc_field_cipher_decrypt_text (FcFieldCipher  *self,
                              GBytes         *ciphertext,
                              const char     *aad,
                              GError        **error)
{
  g_autoptr(GBytes) context = NULL;
  g_autoptr(GBytes) plain = NULL;
  const char *data;
  gsize len;

  if (ciphertext == NULL)
    return NULL;
  context = g_bytes_new_static (aad, strlen (aad));
  plain = fc_field_cipher_decrypt (self, ciphertext, context, error);
  if (plain == NULL)
    return NULL;
  data = g_bytes_get_data (plain, &len);
  /* Authenticated, so this is what we wrote; still, never hand out text
   * that is not UTF-8 or that hides a NUL. */
  if (!g_utf8_validate_len (data, len, NULL))
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_CORRUPT,
                           "A decrypted customer value is not valid text");
      return NULL;
    }
  return g_strndup (data, len);
}
