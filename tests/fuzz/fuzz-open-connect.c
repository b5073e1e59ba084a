/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fuzz-open-connect"

/*
 * libFuzzer target for the Open Connect receive path: the bytes a peer
 * sends go through the framer in chunks whose sizes come from the input
 * itself (so the fuzzer explores split points too), and every framed
 * message through the parser, as the server does.
 *
 * Invariants checked on every input:
 *  - the framer never holds more than its cap;
 *  - every framed message starts with '{', ends with '}', fits the cap;
 *  - the parser returns a message xor an error, never both or neither;
 *  - a parsed shot passes fc_shot_validate, and kinds and shots agree;
 *  - replies are one compact line.
 */

#include "fc-error.h"
#include "fc-oc-framer.h"
#include "fc-oc-message.h"
#include "fuzz-target.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Small, so that the fuzzer reaches the oversize path often. */
#define FUZZ_CAP 2048

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_message (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcOcMessage) message = NULL;
  gsize len;
  const guint8 *p = g_bytes_get_data (bytes, &len);

  if (len < 2 || len > FUZZ_CAP || p[0] != '{' || p[len - 1] != '}')
    g_error ("framed message of %" G_GSIZE_FORMAT " bytes is not one object", len);

  message = fc_oc_message_parse (p, len, &error);
  if ((message == NULL) == (error == NULL))
    g_error ("parse returned %s message and %s error",
             message ? "a" : "no", error ? "an" : "no");

  if (error != NULL)
    {
      g_autofree char *reply = NULL;

      if (error->domain != FC_ERROR || error->message[0] == '\0' || strlen (error->message) > 200)
        g_error ("unexpected error: %s", error->message);
      /* The server sends the message back: it must make a valid reply. */
      reply = fc_oc_reply (501, error->message);
      if (strchr (reply, '\n') != NULL)
        g_error ("reply spans lines: %s", reply);
      return;
    }

  switch (message->kind)
    {
    case FC_OC_MESSAGE_SHOT:
      if (message->shot == NULL || !fc_shot_has (message->shot, FC_FIELD_BALL_SPEED))
        g_error ("a shot without ball speed");
      if (message->suspect != (fc_shot_get (message->shot, FC_FIELD_BALL_SPEED) == 0.0))
        g_error ("suspect flag disagrees with speed");
      break;
    case FC_OC_MESSAGE_CLUB_ONLY:
      if (message->shot == NULL || fc_shot_count_values (message->shot) == 0 ||
          fc_shot_has (message->shot, FC_FIELD_BALL_SPEED))
        g_error ("club-only message with bad shot");
      break;
    case FC_OC_MESSAGE_HEARTBEAT:
    case FC_OC_MESSAGE_STATUS:
      if (message->shot != NULL || message->suspect)
        g_error ("status message carries a shot");
      break;
    default:
      g_error ("unknown kind %d", message->kind);
    }

  if (message->shot != NULL)
    {
      g_autoptr(GError) invalid = NULL;

      if (!fc_shot_validate (message->shot, &invalid))
        g_error ("parsed shot fails validation: %s", invalid->message);
    }
  if (message->device_id != NULL && !g_utf8_validate (message->device_id, -1, NULL))
    g_error ("DeviceID is not UTF-8");
  if (message->club_name != NULL && !g_utf8_validate (message->club_name, -1, NULL))
    g_error ("ClubName is not UTF-8");
  if (message->api_version != NULL && !g_utf8_validate (message->api_version, -1, NULL))
    g_error ("APIversion is not UTF-8");
  if (message->shot_number < -1)
    g_error ("negative shot number");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(FcOcFramer) framer = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  guint32 seed;
  gsize off = 0;

  fuzz_target_init ();

  framer = fc_oc_framer_new (FUZZ_CAP);
  messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  seed = fuzz_chunk_seed (data, size);
  while (off < size)
    {
      gsize n = fuzz_next_chunk (&seed, size - off);

      fc_oc_framer_push (framer, data + off, n, messages);
      off += n;
      if (fc_oc_framer_get_buffered (framer) > FUZZ_CAP)
        g_error ("framer holds %" G_GSIZE_FORMAT " bytes, cap %d",
                 fc_oc_framer_get_buffered (framer), FUZZ_CAP);

      for (guint i = 0; i < messages->len; i++)
        check_message (g_ptr_array_index (messages, i));
      g_ptr_array_set_size (messages, 0);
    }

  /* The whole input in one push must frame the same way (framing cannot
   * depend on where TCP split the stream). */
  {
    g_autoptr(FcOcFramer) whole = fc_oc_framer_new (FUZZ_CAP);
    g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

    fc_oc_framer_push (whole, data, size, all);
    if (fc_oc_framer_get_garbage_bytes (whole) != fc_oc_framer_get_garbage_bytes (framer) ||
        fc_oc_framer_get_oversize_count (whole) != fc_oc_framer_get_oversize_count (framer) ||
        fc_oc_framer_get_buffered (whole) != fc_oc_framer_get_buffered (framer))
      g_error ("framing depends on chunking");
  }

  return 0;
}
