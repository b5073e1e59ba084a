/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fuzz-e6"

/*
 * libFuzzer target for the Garmin E6 receive path: the bytes the Garmin
 * Golf app sends are framed as the receiver frames them (FcOcFramer, in
 * chunks whose sizes come from the input), every message goes through
 * fc_e6_message_parse(), and the shot a SendShot would store is assembled
 * as the receiver assembles it.
 *
 * Invariants checked on every input:
 *  - the parser returns a message xor an error; an error is FC_ERROR with
 *    a short one-line message (the receiver sends it back in an ACK);
 *  - the kind agrees with the Type, and each kind carries what it says:
 *    a club type, a ball shot or club values, or Details saying why not;
 *  - ball data always has a positive ball speed and only ball values;
 *    club data only club values; every value is possible;
 *  - every shot a SendShot would store passes fc_shot_validate();
 *  - a GLib critical or warning is fatal.
 */

#include "fc-e6-message.h"
#include "fc-error.h"
#include "fc-oc-framer.h"
#include "fuzz-target.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The receiver's default message cap (FcOpenConnectLimits). */
#define FUZZ_CAP (64 * 1024)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *const known_types[] = {
  [FC_E6_MESSAGE_HANDSHAKE] = "Handshake",
  [FC_E6_MESSAGE_CHALLENGE] = "Challenge",
  [FC_E6_MESSAGE_PONG] = "Pong",
  [FC_E6_MESSAGE_SET_CLUB_TYPE] = "SetClubType",
  [FC_E6_MESSAGE_SET_BALL_DATA] = "SetBallData",
  [FC_E6_MESSAGE_SET_CLUB_DATA] = "SetClubData",
  [FC_E6_MESSAGE_SEND_SHOT] = "SendShot",
  [FC_E6_MESSAGE_DISCONNECT] = "Disconnect",
};

/* What the receiver remembers between messages of one connection. */
typedef struct {
  FcShot *ball;
  FcShot *club;
  guint   shots;
} Session;

static void
check_text (const char *what,
            const char *text)
{
  if (text == NULL || *text == '\0' || strlen (text) > 200 ||
      strchr (text, '\n') != NULL || strchr (text, '\r') != NULL ||
      !g_utf8_validate (text, -1, NULL))
    g_error ("%s is not a short line of UTF-8: %s", what, text ? text : "(null)");
}

static void
check_values (const FcShot *shot,
              FcFieldGroup  group,
              const char   *what)
{
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    {
      g_autoptr(GError) invalid = NULL;

      if (!fc_shot_has (shot, f))
        continue;
      if (fc_shot_field_get_info (f)->group != group)
        g_error ("%s carries %s", what, fc_shot_field_get_name (f));
      if (!fc_shot_field_check (f, fc_shot_get (shot, f), &invalid))
        g_error ("%s: %s", what, invalid->message);
    }
}

static void
check_message (Session      *session,
               const guint8 *p,
               gsize         len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcE6Message) message = NULL;
  gboolean known = FALSE;

  message = fc_e6_message_parse (p, len, &error);
  if ((message == NULL) == (error == NULL))
    g_error ("parse returned %s message and %s error",
             message ? "a" : "no", error ? "an" : "no");

  if (error != NULL)
    {
      if (error->domain != FC_ERROR)
        g_error ("error outside FC_ERROR: %s", error->message);
      check_text ("error", error->message);
      return;
    }

  if (message->type == NULL)
    g_error ("a message without its Type");
  for (guint k = 0; k < G_N_ELEMENTS (known_types); k++)
    if (strcmp (message->type, known_types[k]) == 0)
      {
        known = TRUE;
        if (message->kind != (FcE6MessageKind) k)
          g_error ("Type %s parsed as kind %d", message->type, message->kind);
      }
  if (!known && message->kind != FC_E6_MESSAGE_OTHER)
    g_error ("unknown Type parsed as kind %d", message->kind);
  if (message->details != NULL)
    check_text ("details", message->details);

  switch (message->kind)
    {
    case FC_E6_MESSAGE_SET_CLUB_TYPE:
      if ((message->club_type == NULL) == (message->details == NULL) || message->shot != NULL)
        g_error ("SetClubType needs a club type xor details");
      if (message->club_type && (*message->club_type == '\0' ||
                                 !g_utf8_validate (message->club_type, -1, NULL)))
        g_error ("club type empty or not UTF-8");
      break;
    case FC_E6_MESSAGE_SET_BALL_DATA:
      if ((message->shot == NULL) == (message->details == NULL) || message->club_type != NULL)
        g_error ("SetBallData needs a shot xor details");
      if (message->shot)
        {
          if (!(fc_shot_get (message->shot, FC_FIELD_BALL_SPEED) > 0))
            g_error ("ball data without a positive ball speed");
          check_values (message->shot, FC_FIELD_GROUP_BALL, "ball data");
          g_clear_pointer (&session->ball, fc_shot_free);
          session->ball = g_steal_pointer (&message->shot);
        }
      break;
    case FC_E6_MESSAGE_SET_CLUB_DATA:
      if ((message->shot == NULL) == (message->details == NULL) || message->club_type != NULL)
        g_error ("SetClubData needs a shot xor details");
      if (message->shot)
        {
          check_values (message->shot, FC_FIELD_GROUP_CLUB, "club data");
          g_clear_pointer (&session->club, fc_shot_free);
          session->club = g_steal_pointer (&message->shot);
        }
      break;
    case FC_E6_MESSAGE_SEND_SHOT:
      if (session->ball != NULL)
        {
          g_autoptr(FcShot) shot = fc_e6_shot_assemble (session->ball, session->club);
          g_autoptr(GError) invalid = NULL;

          if (!fc_shot_validate (shot, &invalid))
            g_error ("the shot SendShot would store fails validation: %s", invalid->message);
          /* Club data belongs to one shot, as in the receiver. */
          g_clear_pointer (&session->club, fc_shot_free);
          session->shots++;
        }
      G_GNUC_FALLTHROUGH;
    case FC_E6_MESSAGE_HANDSHAKE:
    case FC_E6_MESSAGE_CHALLENGE:
    case FC_E6_MESSAGE_PONG:
    case FC_E6_MESSAGE_DISCONNECT:
    case FC_E6_MESSAGE_OTHER:
      if (message->shot != NULL || message->club_type != NULL || message->details != NULL)
        g_error ("a %s message carries data", message->type);
      break;
    default:
      g_error ("unknown kind %d", message->kind);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(FcOcFramer) framer = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  Session session = { 0 };
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
      for (guint i = 0; i < messages->len; i++)
        {
          gsize len;
          const guint8 *p = g_bytes_get_data (g_ptr_array_index (messages, i), &len);

          check_message (&session, p, len);
        }
      g_ptr_array_set_size (messages, 0);
    }

  g_clear_pointer (&session.ball, fc_shot_free);
  g_clear_pointer (&session.club, fc_shot_free);
  return 0;
}
