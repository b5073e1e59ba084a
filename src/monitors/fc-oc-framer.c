/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-oc-framer"

#include "fc-oc-framer.h"

#include <string.h>

/*
 * The framer is a byte-at-a-time state machine, but bytes are copied in
 * spans: while inside an object we only remember where the object began
 * in the current chunk and copy the whole run once (when the object
 * ends, or when the chunk does). A message that arrives whole in one
 * chunk is never copied into the buffer at all.
 */
struct _FcOcFramer {
  gsize       max_message;
  GByteArray *buf;          /* the incomplete message so far; never longer than max_message */
  guint64     depth;        /* brace depth; 0 is between messages */
  gboolean    in_string;
  gboolean    escape;       /* the previous byte in a string was a backslash */
  gboolean    skipping;     /* inside an oversize object: counting braces, keeping nothing */
  guint64     garbage;
  guint       oversize;
  /* Enough of the JSON grammar to notice a message that was cut short
   * and followed by a new one: which containers are open (braces and
   * brackets, up to MAX_NEST) and the last byte outside strings. */
  guint       nest;
  guint8      kinds[64];
  guint8      prev;
};

#define MAX_NEST G_N_ELEMENTS (((FcOcFramer *) 0)->kinds)

FcOcFramer *
fc_oc_framer_new (gsize max_message)
{
  FcOcFramer *framer = g_new0 (FcOcFramer, 1);

  /* Fewer than two bytes cannot hold "{}"; treat it as "use the default". */
  framer->max_message = max_message >= 2 ? max_message : FC_OC_DEFAULT_MAX_MESSAGE;
  framer->buf = g_byte_array_new ();
  return framer;
}

void
fc_oc_framer_free (FcOcFramer *framer)
{
  if (framer == NULL)
    return;
  g_byte_array_unref (framer->buf);
  g_free (framer);
}

guint64
fc_oc_framer_get_garbage_bytes (FcOcFramer *framer)
{
  g_return_val_if_fail (framer != NULL, 0);
  return framer->garbage;
}

guint
fc_oc_framer_get_oversize_count (FcOcFramer *framer)
{
  g_return_val_if_fail (framer != NULL, 0);
  return framer->oversize;
}

gsize
fc_oc_framer_get_buffered (FcOcFramer *framer)
{
  g_return_val_if_fail (framer != NULL, 0);
  return framer->buf->len;
}

static inline gboolean
is_json_space (guint8 c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* What JSON may hold outside strings: whitespace, structure, numbers
 * and the letters of true, false and null. */
static inline gboolean
is_json_token_byte (guint8 c)
{
  return is_json_space (c) || g_ascii_isalnum (c) || c == '{' || c == '}' || c == '[' ||
         c == ']' || c == ':' || c == ',' || c == '-' || c == '+' || c == '.';
}

/* Gives up on the current object: it is larger than any message we
 * accept, so we stop keeping its bytes but still follow its braces to
 * find where it ends. The buffer's memory is released too, so a single
 * huge object does not leave the connection holding the cap forever. */
static void
start_skipping (FcOcFramer *framer)
{
  framer->skipping = TRUE;
  framer->oversize++;
  g_byte_array_unref (framer->buf);
  framer->buf = g_byte_array_new ();
}

void
fc_oc_framer_push (FcOcFramer   *framer,
                   const guint8 *data,
                   gsize         len,
                   GPtrArray    *messages)
{
  /* Start in this chunk of the object being collected, when collecting. */
  gsize span = 0;

  g_return_if_fail (framer != NULL);
  g_return_if_fail (data != NULL || len == 0);
  g_return_if_fail (messages != NULL);

  for (gsize i = 0; i < len; i++)
    {
      guint8 c = data[i];

      if (framer->depth == 0)
        {
          if (c == '{')
            {
              framer->depth = 1;
              framer->in_string = FALSE;
              framer->escape = FALSE;
              framer->skipping = FALSE;
              framer->nest = 1;
              framer->kinds[0] = '{';
              framer->prev = '{';
              span = i;
            }
          else if (!is_json_space (c))
            framer->garbage++;   /* includes a stray '}' and the '[' of an array */
          continue;
        }

      if (framer->in_string && c < 0x20)
        {
          /* JSON strings cannot hold raw control bytes (a newline included):
           * the "string" began in noise or in a message cut short, and
           * everything after it would be read inside out. Drop the partial
           * object and look for the next '{'. */
          framer->garbage += framer->buf->len + (i - span + 1);
          g_byte_array_set_size (framer->buf, 0);
          framer->depth = 0;
          framer->in_string = FALSE;
          framer->escape = FALSE;
          framer->skipping = FALSE;
          continue;
        }
      if (framer->in_string)
        {
          if (framer->escape)
            framer->escape = FALSE;
          else if (c == '\\')
            framer->escape = TRUE;
          else if (c == '"')
            {
              framer->in_string = FALSE;
              framer->prev = '"';
            }
        }
      else if (c == '"')
        framer->in_string = TRUE;
      else if (!is_json_token_byte (c))
        {
          /* A byte that cannot occur in JSON outside a string: what began
           * with '{' was noise (binary junk can hold a '{'), not a message.
           * Drop it and look for the next '{', so one stray brace does not
           * swallow the messages that follow it. */
          framer->garbage += framer->buf->len + (i - span + 1);
          g_byte_array_set_size (framer->buf, 0);
          framer->depth = 0;
          framer->skipping = FALSE;
          continue;
        }
      else if (c == '{')
        {
          gboolean value_expected =
            framer->prev == ':' ||
            ((framer->prev == '[' || framer->prev == ',') &&
             framer->nest > 0 && framer->nest <= MAX_NEST && framer->kinds[framer->nest - 1] == '[');

          if (!value_expected && framer->nest <= MAX_NEST)
            {
              /* An object cannot start here: the message before was cut
               * short (a connector that died mid-write). Drop what we
               * had and take this '{' as the start of the next message. */
              framer->garbage += framer->buf->len + (i - span);
              g_byte_array_set_size (framer->buf, 0);
              framer->skipping = FALSE;
              framer->depth = 1;
              framer->nest = 1;
              framer->kinds[0] = '{';
              framer->prev = '{';
              span = i;
              continue;
            }
          framer->depth++;
          if (framer->nest < MAX_NEST)
            framer->kinds[framer->nest] = '{';
          framer->nest++;
          framer->prev = c;
        }
      else if (c == '[')
        {
          if (framer->nest < MAX_NEST)
            framer->kinds[framer->nest] = '[';
          framer->nest++;
          framer->prev = c;
        }
      else if (c == '}' || c == ']')
        {
          if (c == '}')
            framer->depth--;
          if (framer->nest > 0)
            framer->nest--;
          framer->prev = c;
        }
      else if (!is_json_space (c))
        framer->prev = c;

      if (!framer->skipping &&
          framer->buf->len + (i - span + 1) > framer->max_message)
        start_skipping (framer);

      if (framer->depth == 0)
        {
          if (framer->skipping)
            framer->skipping = FALSE;
          else if (framer->buf->len == 0)
            g_ptr_array_add (messages, g_bytes_new (data + span, i - span + 1));
          else
            {
              g_byte_array_append (framer->buf, data + span, i - span + 1);
              g_ptr_array_add (messages,
                               g_bytes_new (framer->buf->data, framer->buf->len));
              g_byte_array_set_size (framer->buf, 0);
            }
        }
    }

  /* Keep the incomplete tail of the current object for the next chunk. */
  if (framer->depth > 0 && !framer->skipping)
    {
      gsize tail = len - span;

      g_assert (framer->buf->len + tail <= framer->max_message);
      g_byte_array_append (framer->buf, data + span, tail);
    }
}
