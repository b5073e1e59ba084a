/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "fc-shot.h"

G_BEGIN_DECLS

/*
 * One message of the Garmin Golf app in "E6 Connect" mode (shared docs,
 * protocols.md section 3): a JSON object with a "Type". Parsing is apart
 * from the receiver so that it can be tested and fuzzed without a socket.
 */
typedef enum {
  FC_E6_MESSAGE_HANDSHAKE,
  FC_E6_MESSAGE_CHALLENGE,
  FC_E6_MESSAGE_PONG,
  FC_E6_MESSAGE_SET_CLUB_TYPE,
  FC_E6_MESSAGE_SET_BALL_DATA,
  FC_E6_MESSAGE_SET_CLUB_DATA,
  FC_E6_MESSAGE_SEND_SHOT,
  FC_E6_MESSAGE_DISCONNECT,
  FC_E6_MESSAGE_OTHER,      /* a Type this receiver does not know: ignored */
} FcE6MessageKind;

typedef struct {
  FcE6MessageKind  kind;
  char            *type;       /* "Type" as sent */
  char            *club_type;  /* SET_CLUB_TYPE: ClubType, valid UTF-8 */
  FcShot          *shot;       /* SET_BALL_DATA: ball values in SI; SET_CLUB_DATA:
                                * club values in SI; source fields unset */
  char            *details;    /* SET_*: why the message cannot be used, for the
                                * ACK's Details; NULL when it can */
} FcE6Message;

/* Parses one framed message. NULL with an FC_ERROR (not JSON, not an
 * object, no Type) whose message the receiver sends back as the Details
 * of an ACK. A message of a known Type whose data is unusable is not an
 * error: it has @details set and no club type or shot. */
FcE6Message *fc_e6_message_parse (const guint8  *data,
                                  gsize          len,
                                  GError       **error);
void         fc_e6_message_free  (FcE6Message   *message);

/* The shot a SendShot stores: the ball values, with the club values of
 * the SetClubData since the last shot (@club may be NULL). Source fields
 * unset. */
FcShot      *fc_e6_shot_assemble (const FcShot  *ball,
                                  const FcShot  *club);

/* The app's 0–360 spin axis (protocols.md section 3) in the store's
 * convention (degrees, positive tilts right). */
double       fc_e6_spin_axis_to_store (double    axis);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcE6Message, fc_e6_message_free)

G_END_DECLS
