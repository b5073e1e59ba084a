/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-aes-gcm"

#include "fc-aes-gcm-cipher.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "fc-error.h"
#include "fc-secret-store.h"

/*
 * Random 96-bit nonces: GCM's limit for random nonces is 2^32 values per
 * key, and a shop has thousands of customers, not billions. The key
 * never changes for a database (a new key would need every value
 * re-encrypted), so there is no rotation state to keep here.
 */

#define KEY_ID_CONTEXT "fitclip-pii-key-id-v1"

struct _FcAesGcmCipher {
  GObject  parent_instance;

  guint8  *key;                                /* FC_AES_GCM_KEY_SIZE bytes */
  guint8   key_id_bytes[FC_AES_GCM_KEY_ID_SIZE];
  char    *key_id;                             /* hex of key_id_bytes */
};

static void fc_aes_gcm_cipher_iface_init (FcFieldCipherInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FcAesGcmCipher, fc_aes_gcm_cipher, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (FC_TYPE_FIELD_CIPHER,
                                                      fc_aes_gcm_cipher_iface_init))

static void
set_openssl_error (GError     **error,
                   const char  *doing)
{
  unsigned long code = ERR_get_error ();
  char text[256] = "unknown error";

  if (code != 0)
    ERR_error_string_n (code, text, sizeof text);
  ERR_clear_error ();
  g_set_error (error, FC_ERROR, FC_ERROR_FAILED, "OpenSSL failed while %s: %s", doing, text);
}

/* ---- plain AES-256-GCM ------------------------------------------------- */

typedef struct {
  const guint8 *data;
  gsize         len;
} Span;

/* Writes ciphertext then tag to @out (plaintext length + 16 bytes). The
 * AAD is the concatenation of @aad[0..n_aad). */
static gboolean
gcm_seal (const guint8  *key,
          const guint8  *nonce,
          const Span    *aad,
          guint          n_aad,
          const guint8  *plaintext,
          gsize          plaintext_len,
          guint8        *out,
          GError       **error)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  gboolean ok = FALSE;
  int len;

  if (ctx == NULL ||
      EVP_EncryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_IVLEN, FC_AES_GCM_NONCE_SIZE, NULL) != 1 ||
      EVP_EncryptInit_ex (ctx, NULL, NULL, key, nonce) != 1)
    goto out;
  for (guint i = 0; i < n_aad; i++)
    if (aad[i].len > 0 && EVP_EncryptUpdate (ctx, NULL, &len, aad[i].data, (int) aad[i].len) != 1)
      goto out;
  if (plaintext_len > 0 && EVP_EncryptUpdate (ctx, out, &len, plaintext, (int) plaintext_len) != 1)
    goto out;
  if (EVP_EncryptFinal_ex (ctx, out + plaintext_len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, FC_AES_GCM_TAG_SIZE, out + plaintext_len) != 1)
    goto out;
  ok = TRUE;

out:
  if (!ok)
    set_openssl_error (error, "encrypting");
  EVP_CIPHER_CTX_free (ctx);
  return ok;
}

/* @sealed is ciphertext then tag; writes sealed_len - 16 bytes to @out.
 * A tag mismatch is FC_ERROR_CORRUPT and leaves @out zeroed. */
static gboolean
gcm_open (const guint8  *key,
          const guint8  *nonce,
          const Span    *aad,
          guint          n_aad,
          const guint8  *sealed,
          gsize          sealed_len,
          guint8        *out,
          GError       **error)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  gsize ct_len = sealed_len - FC_AES_GCM_TAG_SIZE;
  guint8 tag[FC_AES_GCM_TAG_SIZE];
  int len, rc;

  g_assert (sealed_len >= FC_AES_GCM_TAG_SIZE);
  memcpy (tag, sealed + ct_len, sizeof tag);

  if (ctx == NULL ||
      EVP_DecryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_IVLEN, FC_AES_GCM_NONCE_SIZE, NULL) != 1 ||
      EVP_DecryptInit_ex (ctx, NULL, NULL, key, nonce) != 1)
    goto fail;
  for (guint i = 0; i < n_aad; i++)
    if (aad[i].len > 0 && EVP_DecryptUpdate (ctx, NULL, &len, aad[i].data, (int) aad[i].len) != 1)
      goto fail;
  if (ct_len > 0 && EVP_DecryptUpdate (ctx, out, &len, sealed, (int) ct_len) != 1)
    goto fail;
  if (EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, FC_AES_GCM_TAG_SIZE, tag) != 1)
    goto fail;
  rc = EVP_DecryptFinal_ex (ctx, out + ct_len, &len);
  EVP_CIPHER_CTX_free (ctx);
  if (rc <= 0)
    {
      /* Released plaintext of a value that failed authentication must
       * never be used: wipe it. */
      OPENSSL_cleanse (out, ct_len);
      ERR_clear_error ();
      g_set_error_literal (error, FC_ERROR, FC_ERROR_CORRUPT,
                           "an encrypted value failed its integrity check: it was altered, "
                           "or it was copied from another record");
      return FALSE;
    }
  return TRUE;

fail:
  OPENSSL_cleanse (out, ct_len);
  set_openssl_error (error, "decrypting");
  EVP_CIPHER_CTX_free (ctx);
  return FALSE;
}

static gboolean
check_size (GBytes      *bytes,
            gsize        expected,
            const char  *what,
            GError     **error)
{
  if (bytes != NULL && g_bytes_get_size (bytes) == expected)
    return TRUE;
  g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
               "An AES-256-GCM %s must be %" G_GSIZE_FORMAT " bytes", what, expected);
  return FALSE;
}

/* OpenSSL takes int lengths; PII values are tiny, refuse anything near. */
static gboolean
check_length (gsize    len,
              GError **error)
{
  if (len <= INT_MAX / 2)
    return TRUE;
  g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "The value is too large to encrypt");
  return FALSE;
}

GBytes *
fc_aes_gcm_seal (GBytes  *key,
                 GBytes  *nonce,
                 GBytes  *aad,
                 GBytes  *plaintext,
                 GError **error)
{
  Span span = { NULL, 0 };
  gsize pt_len;
  const guint8 *pt;
  guint8 *out;

  g_return_val_if_fail (plaintext != NULL, NULL);

  if (!check_size (key, FC_AES_GCM_KEY_SIZE, "key", error) ||
      !check_size (nonce, FC_AES_GCM_NONCE_SIZE, "nonce", error))
    return NULL;
  if (aad)
    span.data = g_bytes_get_data (aad, &span.len);
  pt = g_bytes_get_data (plaintext, &pt_len);
  if (!check_length (pt_len, error) || !check_length (span.len, error))
    return NULL;
  out = g_malloc (pt_len + FC_AES_GCM_TAG_SIZE);
  if (!gcm_seal (g_bytes_get_data (key, NULL), g_bytes_get_data (nonce, NULL), &span, 1,
                 pt, pt_len, out, error))
    {
      g_free (out);
      return NULL;
    }
  return g_bytes_new_take (out, pt_len + FC_AES_GCM_TAG_SIZE);
}

GBytes *
fc_aes_gcm_open (GBytes  *key,
                 GBytes  *nonce,
                 GBytes  *aad,
                 GBytes  *sealed,
                 GError **error)
{
  Span span = { NULL, 0 };
  gsize len;
  const guint8 *data;
  guint8 *out;

  g_return_val_if_fail (sealed != NULL, NULL);

  if (!check_size (key, FC_AES_GCM_KEY_SIZE, "key", error) ||
      !check_size (nonce, FC_AES_GCM_NONCE_SIZE, "nonce", error))
    return NULL;
  if (aad)
    span.data = g_bytes_get_data (aad, &span.len);
  data = g_bytes_get_data (sealed, &len);
  if (len < FC_AES_GCM_TAG_SIZE)
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_CORRUPT,
                           "an encrypted value is shorter than its tag");
      return NULL;
    }
  if (!check_length (len, error) || !check_length (span.len, error))
    return NULL;
  /* One spare byte: g_malloc (0) would be NULL for an empty plaintext. */
  out = g_malloc (len - FC_AES_GCM_TAG_SIZE + 1);
  if (!gcm_open (g_bytes_get_data (key, NULL), g_bytes_get_data (nonce, NULL), &span, 1,
                 data, len, out, error))
    {
      g_free (out);
      return NULL;
    }
  return g_bytes_new_take (out, len - FC_AES_GCM_TAG_SIZE);
}

/* ---- keys --------------------------------------------------------------- */

GBytes *
fc_aes_gcm_generate_key (GError **error)
{
  guint8 key[FC_AES_GCM_KEY_SIZE];
  GBytes *bytes;

  if (RAND_bytes (key, sizeof key) != 1)
    {
      set_openssl_error (error, "making a random key");
      return NULL;
    }
  bytes = fc_secret_bytes_new (key, sizeof key);
  OPENSSL_cleanse (key, sizeof key);
  return bytes;
}

static gboolean
key_fingerprint (const guint8 *key,
                 guint8        id[FC_AES_GCM_KEY_ID_SIZE])
{
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  gboolean ok;

  ok = ctx != NULL &&
       EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL) == 1 &&
       EVP_DigestUpdate (ctx, KEY_ID_CONTEXT, strlen (KEY_ID_CONTEXT)) == 1 &&
       EVP_DigestUpdate (ctx, key, FC_AES_GCM_KEY_SIZE) == 1 &&
       EVP_DigestFinal_ex (ctx, digest, &digest_len) == 1;
  EVP_MD_CTX_free (ctx);
  if (ok)
    memcpy (id, digest, FC_AES_GCM_KEY_ID_SIZE);
  return ok;
}

static char *
hex (const guint8 *data,
     gsize         len)
{
  GString *out = g_string_sized_new (len * 2);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, "%02x", data[i]);
  return g_string_free (out, FALSE);
}

char *
fc_aes_gcm_key_id (GBytes *key)
{
  guint8 id[FC_AES_GCM_KEY_ID_SIZE];

  g_return_val_if_fail (key != NULL && g_bytes_get_size (key) == FC_AES_GCM_KEY_SIZE, NULL);

  if (!key_fingerprint (g_bytes_get_data (key, NULL), id))
    return NULL;
  return hex (id, sizeof id);
}

/* ---- the envelope --------------------------------------------------------- */

static GBytes *
fc_aes_gcm_cipher_encrypt (FcFieldCipher  *cipher,
                           GBytes         *plaintext,
                           GBytes         *aad,
                           GError        **error)
{
  FcAesGcmCipher *self = FC_AES_GCM_CIPHER (cipher);
  Span spans[2];
  gsize pt_len, total;
  const guint8 *pt = g_bytes_get_data (plaintext, &pt_len);
  guint8 *out;

  spans[1].data = g_bytes_get_data (aad, &spans[1].len);
  if (!check_length (pt_len, error) || !check_length (spans[1].len, error))
    return NULL;

  total = FC_AES_GCM_OVERHEAD + pt_len;
  out = g_malloc (total);
  out[0] = FC_AES_GCM_VERSION;
  memcpy (out + 1, self->key_id_bytes, FC_AES_GCM_KEY_ID_SIZE);
  if (RAND_bytes (out + 1 + FC_AES_GCM_KEY_ID_SIZE, FC_AES_GCM_NONCE_SIZE) != 1)
    {
      set_openssl_error (error, "making a nonce");
      g_free (out);
      return NULL;
    }
  spans[0].data = out;
  spans[0].len = FC_AES_GCM_HEADER_SIZE;
  if (!gcm_seal (self->key, out + 1 + FC_AES_GCM_KEY_ID_SIZE, spans, G_N_ELEMENTS (spans),
                 pt, pt_len, out + FC_AES_GCM_HEADER_SIZE, error))
    {
      g_free (out);
      return NULL;
    }
  return g_bytes_new_take (out, total);
}

static GBytes *
fc_aes_gcm_cipher_decrypt (FcFieldCipher  *cipher,
                           GBytes         *ciphertext,
                           GBytes         *aad,
                           GError        **error)
{
  FcAesGcmCipher *self = FC_AES_GCM_CIPHER (cipher);
  Span spans[2];
  gsize len;
  const guint8 *data = g_bytes_get_data (ciphertext, &len);
  guint8 *out;

  if (len < FC_AES_GCM_OVERHEAD)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_CORRUPT,
                   "an encrypted value is %" G_GSIZE_FORMAT " bytes, shorter than its envelope", len);
      return NULL;
    }
  if (data[0] != FC_AES_GCM_VERSION)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_CORRUPT,
                   "an encrypted value has envelope version %u; this FitClip reads version %u "
                   "(written by a newer FitClip, or damaged)", data[0], FC_AES_GCM_VERSION);
      return NULL;
    }
  if (memcmp (data + 1, self->key_id_bytes, FC_AES_GCM_KEY_ID_SIZE) != 0)
    {
      g_autofree char *other = hex (data + 1, FC_AES_GCM_KEY_ID_SIZE);

      g_set_error (error, FC_ERROR, FC_ERROR_PII_LOCKED,
                   "the value was encrypted with key %s, not with this key (%s)",
                   other, self->key_id);
      return NULL;
    }
  spans[0].data = data;
  spans[0].len = FC_AES_GCM_HEADER_SIZE;
  spans[1].data = g_bytes_get_data (aad, &spans[1].len);
  if (!check_length (len, error) || !check_length (spans[1].len, error))
    return NULL;

  out = g_malloc (len - FC_AES_GCM_OVERHEAD + 1);
  if (!gcm_open (self->key, data + 1 + FC_AES_GCM_KEY_ID_SIZE, spans, G_N_ELEMENTS (spans),
                 data + FC_AES_GCM_HEADER_SIZE, len - FC_AES_GCM_HEADER_SIZE, out, error))
    {
      g_free (out);
      return NULL;
    }
  return g_bytes_new_take (out, len - FC_AES_GCM_OVERHEAD);
}

static const char *
fc_aes_gcm_cipher_get_key_id (FcFieldCipher *cipher)
{
  return FC_AES_GCM_CIPHER (cipher)->key_id;
}

static void
fc_aes_gcm_cipher_iface_init (FcFieldCipherInterface *iface)
{
  iface->encrypt = fc_aes_gcm_cipher_encrypt;
  iface->decrypt = fc_aes_gcm_cipher_decrypt;
  iface->get_key_id = fc_aes_gcm_cipher_get_key_id;
}

static void
fc_aes_gcm_cipher_finalize (GObject *object)
{
  FcAesGcmCipher *self = FC_AES_GCM_CIPHER (object);

  if (self->key)
    {
      OPENSSL_cleanse (self->key, FC_AES_GCM_KEY_SIZE);
      g_clear_pointer (&self->key, g_free);
    }
  g_clear_pointer (&self->key_id, g_free);

  G_OBJECT_CLASS (fc_aes_gcm_cipher_parent_class)->finalize (object);
}

static void
fc_aes_gcm_cipher_class_init (FcAesGcmCipherClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = fc_aes_gcm_cipher_finalize;
}

static void
fc_aes_gcm_cipher_init (FcAesGcmCipher *self)
{
}

FcAesGcmCipher *
fc_aes_gcm_cipher_new (GBytes  *key,
                       GError **error)
{
  g_autoptr(FcAesGcmCipher) self = NULL;

  if (!check_size (key, FC_AES_GCM_KEY_SIZE, "key", error))
    return NULL;

  self = g_object_new (FC_TYPE_AES_GCM_CIPHER, NULL);
  self->key = g_memdup2 (g_bytes_get_data (key, NULL), FC_AES_GCM_KEY_SIZE);
  if (!key_fingerprint (self->key, self->key_id_bytes))
    {
      set_openssl_error (error, "fingerprinting the key");
      return NULL;
    }
  self->key_id = hex (self->key_id_bytes, FC_AES_GCM_KEY_ID_SIZE);
  return g_steal_pointer (&self);
}
