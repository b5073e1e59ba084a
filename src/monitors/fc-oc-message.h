/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "fc-shot.h"

G_BEGIN_DECLS

/* One Open Connect message from a launch monitor's connector, parsed
 * tolerantly (see docs/protocols in the shared folder and
 * docs/open-connect.md). */
typedef enum {
  FC_OC_MESSAGE_SHOT,       /* ball data present (club data may be too) */
  FC_OC_MESSAGE_CLUB_ONLY,  /* only club data */
  FC_OC_MESSAGE_HEARTBEAT,  /* neither, IsHeartBeat true */
  FC_OC_MESSAGE_STATUS,     /* neither: readiness / ball detected */
} FcOcMessageKind;

typedef struct {
  FcOcMessageKind  kind;
  char            *device_id;         /* DeviceID; NULL when absent */
  gint64           shot_number;       /* ShotNumber; -1 when absent */
  char            *api_version;       /* as sent ("1", "2", ...); NULL when absent */
  gboolean         has_ready;
  gboolean         ready;             /* LaunchMonitorIsReady */
  gboolean         has_ball_detected;
  gboolean         ball_detected;     /* LaunchMonitorBallDetected */
  char            *club_name;         /* ClubName extra key, if sent */
  gboolean         suspect;           /* e.g. Speed 0 pseudo-shot: not stored as a shot */
  FcShot          *shot;              /* SHOT and CLUB_ONLY: values in SI; source fields unset */
} FcOcMessage;

/* Parses one framed message. On error (not JSON, not an object, a shot
 * without usable ball data, an absurd value) returns NULL with an
 * FC_ERROR whose message is short enough for a 5xx reply. */
FcOcMessage *fc_oc_message_parse (const guint8  *data,
                                  gsize          len,
                                  GError       **error);
void         fc_oc_message_free  (FcOcMessage   *message);

/* Reply texts, compact JSON on one line, e.g.
 * {"Code":200,"Message":"Ball Data received","Player":null} */
char        *fc_oc_reply          (int           code,
                                   const char   *message);
/* DR W2..W7 I1..I9 H2..H7 PW GW SW LW PT */
gboolean     fc_oc_club_code_is_valid (const char *code);

/* 201 "GSPro Player Information" with Player {Handed, Club}. @handed is
 * "RH" or "LH"; @club_code one of DR W2..W7 I1..I9 H2..H7 PW GW SW LW PT. */
char        *fc_oc_reply_player   (const char   *handed,
                                   const char   *club_code);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcOcMessage, fc_oc_message_free)

G_END_DECLS
