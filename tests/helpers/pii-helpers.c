/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pii-helpers"

#include "pii-helpers.h"

#include <string.h>

#include "fc-aes-gcm-cipher.h"

FcFieldCipher *
pii_random_cipher (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) key = fc_aes_gcm_generate_key (&error);
  FcAesGcmCipher *cipher;

  g_assert_no_error (error);
  cipher = fc_aes_gcm_cipher_new (key, &error);
  g_assert_no_error (error);
  return FC_FIELD_CIPHER (cipher);
}

FcStore *
pii_open_store (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcFieldCipher) cipher = pii_random_cipher ();
  FcStore *store = fc_store_open (path, &error);

  g_assert_no_error (error);
  g_assert_true (fc_store_set_field_cipher (store, cipher, &error));
  g_assert_no_error (error);
  return store;
}

gboolean
pii_bytes_contain (gconstpointer  data,
                   gsize          len,
                   const char    *needle)
{
  const guint8 *bytes = data;
  gsize n = strlen (needle);

  for (gsize i = 0; n <= len && i <= len - n; i++)
    if (memcmp (bytes + i, needle, n) == 0)
      return TRUE;
  return FALSE;
}

gboolean
pii_file_contains (const char *path,
                   const char *needle)
{
  g_autofree char *bytes = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &bytes, &len, NULL))
    return FALSE;
  return pii_bytes_contain (bytes, len, needle);
}

gboolean
pii_db_files_contain (const char *db_path,
                      const char *needle)
{
  g_autofree char *wal = g_strconcat (db_path, "-wal", NULL);
  g_autofree char *journal = g_strconcat (db_path, "-journal", NULL);

  return pii_file_contains (db_path, needle) || pii_file_contains (wal, needle) ||
         pii_file_contains (journal, needle);
}
