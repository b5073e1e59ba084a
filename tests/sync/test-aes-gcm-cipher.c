/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * FcAesGcmCipher: known answers from the GCM specification (McGrew and
 * Viega, "The Galois/Counter Mode of Operation", test cases 13 to 16,
 * the AES-256 ones with 96-bit IVs), then the envelope: round trips,
 * fresh nonces, and every kind of tampering failing loudly.
 */
#include <string.h>

#include "fc-aes-gcm-cipher.h"
#include "fc-error.h"
#include "pii-helpers.h"

static GBytes *
from_hex (const char *hex)
{
  gsize len = strlen (hex);
  guint8 *out = g_malloc (len / 2 + 1);

  g_assert_cmpuint (len % 2, ==, 0);
  for (gsize i = 0; i < len / 2; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      g_assert_true (hi >= 0 && lo >= 0);
      out[i] = (guint8) (hi << 4 | lo);
    }
  return g_bytes_new_take (out, len / 2);
}

typedef struct {
  const char *name;
  const char *key;
  const char *iv;
  const char *aad;
  const char *pt;
  const char *ct;
  const char *tag;
} Vector;

#define K16 "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
#define P16 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define C16 "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" \
            "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"

static const Vector vectors[] = {
  { "13", "0000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b" },
  { "14", "0000000000000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000", "", "00000000000000000000000000000000",
    "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919" },
  { "15", K16, "cafebabefacedbaddecaf888", "", P16 "1aafd255", C16 "898015ad",
    "b094dac5d93471bdec1a502270e3cc6c" },
  { "16", K16, "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2", P16, C16,
    "76fc6ece0f4e1768cddf8853bb2d551b" },
};

static void
test_known_answers (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      const Vector *v = &vectors[i];
      g_autoptr(GBytes) key = from_hex (v->key), iv = from_hex (v->iv), aad = from_hex (v->aad);
      g_autoptr(GBytes) pt = from_hex (v->pt);
      g_autofree char *expected_hex = g_strconcat (v->ct, v->tag, NULL);
      g_autoptr(GBytes) expected = from_hex (expected_hex);
      g_autoptr(GBytes) sealed = NULL, opened = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("GCM spec test case %s", v->name);
      sealed = fc_aes_gcm_seal (key, iv, aad, pt, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (sealed, expected));
      opened = fc_aes_gcm_open (key, iv, aad, sealed, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (opened, pt));
    }
}

static void
test_known_answer_tamper (void)
{
  const Vector *v = &vectors[3];
  g_autoptr(GBytes) key = from_hex (v->key), iv = from_hex (v->iv), aad = from_hex (v->aad);
  g_autofree char *sealed_hex = g_strconcat (v->ct, v->tag, NULL);
  g_autoptr(GBytes) sealed = from_hex (sealed_hex);
  gsize len;
  const guint8 *data = g_bytes_get_data (sealed, &len);

  /* Every single-bit flip of ciphertext or tag is caught. */
  for (gsize byte = 0; byte < len; byte++)
    for (int bit = 0; bit < 8; bit += 3)
      {
        g_autofree guint8 *copy = g_memdup2 (data, len);
        g_autoptr(GBytes) bad = NULL, opened = NULL;
        g_autoptr(GError) error = NULL;

        copy[byte] ^= 1u << bit;
        bad = g_bytes_new (copy, len);
        opened = fc_aes_gcm_open (key, iv, aad, bad, &error);
        g_assert_null (opened);
        g_assert_error (error, FC_ERROR, FC_ERROR_CORRUPT);
      }
  /* So is other AAD. */
  {
    g_autoptr(GBytes) other = from_hex ("feedfacedeadbeeffeedfacedeadbeefabaddad3");
    g_autoptr(GError) error = NULL;

    g_assert_null (fc_aes_gcm_open (key, iv, other, sealed, &error));
    g_assert_error (error, FC_ERROR, FC_ERROR_CORRUPT);
  }
}

static FcAesGcmCipher *
random_cipher (void)
{
  return FC_AES_GCM_CIPHER (pii_random_cipher ());
}

#define AAD_NAME "fitclip/customers/name/8a1e0b52-3c1d-4f7e-9b7a-2f0c8d9e1a44"

static void
test_envelope (void)
{
  g_autoptr(FcAesGcmCipher) cipher = random_cipher ();
  FcFieldCipher *fc = FC_FIELD_CIPHER (cipher);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) one = NULL, two = NULL, empty = NULL;
  g_autofree char *back = NULL, *back_empty = NULL;
  const char *text = "Zoë Q. Customer";
  const guint8 *a, *b;
  gsize len;

  g_assert_cmpuint (strlen (fc_field_cipher_get_key_id (fc)), ==, 2 * FC_AES_GCM_KEY_ID_SIZE);

  one = fc_field_cipher_encrypt_text (fc, text, AAD_NAME, &error);
  g_assert_no_error (error);
  two = fc_field_cipher_encrypt_text (fc, text, AAD_NAME, &error);
  a = g_bytes_get_data (one, &len);
  b = g_bytes_get_data (two, NULL);

  /* Layout: version, key id, nonce, ciphertext, tag. */
  g_assert_cmpuint (len, ==, FC_AES_GCM_OVERHEAD + strlen (text));
  g_assert_cmpuint (a[0], ==, FC_AES_GCM_VERSION);
  {
    g_autofree char *id = g_strdup_printf ("%02x%02x%02x%02x%02x%02x%02x%02x",
                                           a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]);
    g_assert_cmpstr (id, ==, fc_field_cipher_get_key_id (fc));
  }
  g_assert_false (pii_bytes_contain (a, len, text));

  /* A fresh nonce every time: the same value never encrypts the same. */
  g_assert_true (memcmp (a + 9, b + 9, FC_AES_GCM_NONCE_SIZE) != 0);
  g_assert_false (g_bytes_equal (one, two));

  back = fc_field_cipher_decrypt_text (fc, one, AAD_NAME, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back, ==, text);

  empty = fc_field_cipher_encrypt_text (fc, "", AAD_NAME, &error);
  g_assert_cmpuint (g_bytes_get_size (empty), ==, FC_AES_GCM_OVERHEAD);
  back_empty = fc_field_cipher_decrypt_text (fc, empty, AAD_NAME, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back_empty, ==, "");
}

static void
test_nonces_unique (void)
{
  g_autoptr(FcAesGcmCipher) cipher = random_cipher ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                                      (GDestroyNotify) g_bytes_unref, NULL);

  for (guint i = 0; i < 2000; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) sealed = fc_field_cipher_encrypt_text (FC_FIELD_CIPHER (cipher), "x", AAD_NAME, &error);
      GBytes *nonce = g_bytes_new_from_bytes (sealed, 1 + FC_AES_GCM_KEY_ID_SIZE, FC_AES_GCM_NONCE_SIZE);

      g_assert_no_error (error);
      g_assert_false (g_hash_table_contains (seen, nonce));
      g_hash_table_add (seen, nonce);
    }
}

static void
expect_failure (FcFieldCipher *fc,
                GBytes        *sealed,
                const char    *aad,
                int            code)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = fc_field_cipher_decrypt_text (fc, sealed, aad, &error);

  g_assert_null (text);
  g_assert_error (error, FC_ERROR, code);
}

static void
test_envelope_tamper (void)
{
  g_autoptr(FcAesGcmCipher) cipher = random_cipher ();
  g_autoptr(FcAesGcmCipher) other = random_cipher ();
  FcFieldCipher *fc = FC_FIELD_CIPHER (cipher);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) sealed = fc_field_cipher_encrypt_text (fc, "ann@example.com",
                                                           "fitclip/customers/email/row-1", &error);
  gsize len;
  const guint8 *data = g_bytes_get_data (sealed, &len);

  g_assert_no_error (error);

  /* A flipped bit anywhere after the key id: header (nonce), ciphertext
   * or tag. */
  for (gsize byte = 1 + FC_AES_GCM_KEY_ID_SIZE; byte < len; byte++)
    {
      g_autofree guint8 *copy = g_memdup2 (data, len);
      g_autoptr(GBytes) bad = NULL;

      copy[byte] ^= 0x04;
      bad = g_bytes_new (copy, len);
      expect_failure (fc, bad, "fitclip/customers/email/row-1", FC_ERROR_CORRUPT);
    }

  /* Another version byte: refused, not guessed at. */
  {
    g_autofree guint8 *copy = g_memdup2 (data, len);
    g_autoptr(GBytes) bad = NULL;

    copy[0] = 2;
    bad = g_bytes_new (copy, len);
    expect_failure (fc, bad, "fitclip/customers/email/row-1", FC_ERROR_CORRUPT);
  }

  /* The key id names another key: PII_LOCKED, before any decryption. */
  {
    g_autofree guint8 *copy = g_memdup2 (data, len);
    g_autoptr(GBytes) bad = NULL;

    copy[3] ^= 0x01;
    bad = g_bytes_new (copy, len);
    expect_failure (fc, bad, "fitclip/customers/email/row-1", FC_ERROR_PII_LOCKED);
  }

  /* Moved to another row or another column. */
  expect_failure (fc, sealed, "fitclip/customers/email/row-2", FC_ERROR_CORRUPT);
  expect_failure (fc, sealed, "fitclip/customers/phone/row-1", FC_ERROR_CORRUPT);

  /* Cut short, or shorter than an envelope. */
  {
    g_autoptr(GBytes) cut = g_bytes_new_from_bytes (sealed, 0, len - 1);
    g_autoptr(GBytes) stub = g_bytes_new_from_bytes (sealed, 0, FC_AES_GCM_OVERHEAD - 1);

    expect_failure (fc, cut, "fitclip/customers/email/row-1", FC_ERROR_CORRUPT);
    expect_failure (fc, stub, "fitclip/customers/email/row-1", FC_ERROR_CORRUPT);
  }

  /* Another key: recognised by its id, reported, never garbled. */
  expect_failure (FC_FIELD_CIPHER (other), sealed, "fitclip/customers/email/row-1", FC_ERROR_PII_LOCKED);
}

static void
test_keys (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) k1 = fc_aes_gcm_generate_key (&error);
  g_autoptr(GBytes) k2 = fc_aes_gcm_generate_key (&error);
  g_autoptr(GBytes) short_key = g_bytes_new_static ("0123456789", 10);
  g_autofree char *id1 = fc_aes_gcm_key_id (k1);
  g_autofree char *id1_again = fc_aes_gcm_key_id (k1);
  g_autofree char *id2 = fc_aes_gcm_key_id (k2);
  g_autoptr(FcAesGcmCipher) c1 = fc_aes_gcm_cipher_new (k1, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (k1), ==, FC_AES_GCM_KEY_SIZE);
  g_assert_false (g_bytes_equal (k1, k2));
  g_assert_cmpstr (id1, ==, id1_again);
  g_assert_cmpstr (id1, !=, id2);
  g_assert_cmpstr (fc_field_cipher_get_key_id (FC_FIELD_CIPHER (c1)), ==, id1);
  g_assert_null (fc_aes_gcm_cipher_new (short_key, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/aes-gcm/known-answers", test_known_answers);
  g_test_add_func ("/aes-gcm/known-answer-tamper", test_known_answer_tamper);
  g_test_add_func ("/aes-gcm/envelope", test_envelope);
  g_test_add_func ("/aes-gcm/nonces-unique", test_nonces_unique);
  g_test_add_func ("/aes-gcm/envelope-tamper", test_envelope_tamper);
  g_test_add_func ("/aes-gcm/keys", test_keys);
  return g_test_run ();
}
