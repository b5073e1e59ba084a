/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-devcloud"

#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "devcloud.h"
#include "fc-error.h"

char *
dc_sha256_hex (const void *data,
               gsize       len)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, len);
}

static void
random_bytes (guint8 *buf,
              gsize   len)
{
  /* Tokens and salts come from OpenSSL's CSPRNG; GRand is only for the
   * reproducible fault dice. */
  if (RAND_bytes (buf, (int) len) != 1)
    g_error ("devcloud: the system's random generator failed");
}

/* 64 lowercase hex digits, the only form the API accepts. */
gboolean
dc_is_sha256_hex (const char *text)
{
  if (text == NULL || strlen (text) != 64)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  return TRUE;
}

char *
dc_random_token (const char *prefix)
{
  guint8 raw[32];
  g_autofree char *b64 = NULL;

  random_bytes (raw, sizeof raw);
  b64 = g_base64_encode (raw, sizeof raw);
  /* base64url without padding: tokens travel in headers and JSON. */
  for (char *p = b64; *p; p++)
    {
      if (*p == '+')
        *p = '-';
      else if (*p == '/')
        *p = '_';
      else if (*p == '=')
        {
          *p = '\0';
          break;
        }
    }
  return g_strconcat (prefix, b64, NULL);
}

/* Tokens are stored only as their hash: a copy of the database does not
 * let anyone sign in. */
char *
dc_token_hash (const char *token)
{
  return dc_sha256_hex (token, strlen (token));
}

gboolean
dc_hash_password (const char   *password,
                  const guint8 *salt,
                  gsize         salt_len,
                  int           iterations,
                  guint8       *out,
                  gsize         out_len)
{
  return PKCS5_PBKDF2_HMAC (password, (int) strlen (password), salt, (int) salt_len, iterations,
                            EVP_sha256 (), (int) out_len, out) == 1;
}

/* No 0/O, 1/I/L: the code is read off one screen and typed on another. */
static const char pair_alphabet[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

char *
dc_new_pair_code (void)
{
  guint8 raw[8];
  char code[9];

  random_bytes (raw, sizeof raw);
  for (guint i = 0; i < 8; i++)
    code[i] = pair_alphabet[raw[i] % (sizeof pair_alphabet - 1)];
  code[8] = '\0';
  return g_strdup (code);
}

char *
dc_normalize_pair_code (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p; p++)
    {
      if (*p == '-' || g_ascii_isspace (*p))
        continue;
      g_string_append_c (out, g_ascii_toupper (*p));
    }
  return g_string_free (out, FALSE);
}

char *
dc_http_date (gint64 unix_s)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (unix_s);

  return soup_date_time_to_string (dt, SOUP_DATE_HTTP);
}

char *
dc_file_sha256 (const char  *path,
                guint64     *size,
                GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) in = g_file_read (file, NULL, error);
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *buf = g_malloc (1 << 20);
  guint64 total = 0;
  gssize n;

  if (in == NULL)
    return NULL;
  while ((n = g_input_stream_read (G_INPUT_STREAM (in), buf, 1 << 20, NULL, error)) > 0)
    {
      g_checksum_update (sum, buf, n);
      total += n;
    }
  if (n < 0)
    return NULL;
  if (size)
    *size = total;
  return g_strdup (g_checksum_get_string (sum));
}
