/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-uuid"

#include "fc-uuid.h"

#include <string.h>

char *
fc_uuid_new (void)
{
  static const char hex[] = "0123456789abcdef";
  guint8 bytes[16];
  char *out = g_malloc (37);
  char *p = out;

  /* The same source as g_uuid_string_random(): GLib's generator, seeded
   * from the OS's entropy. */
  for (guint i = 0; i < 4; i++)
    {
      guint32 r = g_random_int ();

      memcpy (bytes + 4 * i, &r, 4);
    }
  bytes[6] = (bytes[6] & 0x0f) | 0x40;   /* version 4 */
  bytes[8] = (bytes[8] & 0x3f) | 0x80;   /* RFC 4122 variant */

  for (guint i = 0; i < 16; i++)
    {
      if (i == 4 || i == 6 || i == 8 || i == 10)
        *p++ = '-';
      *p++ = hex[bytes[i] >> 4];
      *p++ = hex[bytes[i] & 0x0f];
    }
  *p = '\0';
  return out;
}
