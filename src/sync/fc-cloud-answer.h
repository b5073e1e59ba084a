/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * What the cloud's JSON answers say (docs/cloud-api.yaml), read apart
 * from the HTTP exchange so that it can be tested and fuzzed alone: the
 * error of a refusal, the tokens of a sign-in or refresh, the ids of a
 * pairing. Every member is NULL (expires_in 0) when the answer does not
 * carry it, is not a string, or the body is not a JSON object (nor a
 * JSON object nested at most 32 deep). Identifiers and tokens are taken
 * only as valid UTF-8, the message is made valid.
 */
typedef struct {
  char   *error_code;      /* error.code */
  char   *error_message;   /* error.message */
  char   *error_shot_id;   /* error.shot_id: the shot a batch was refused for */
  char   *error_field;     /* error.field */
  char   *access_token;    /* secret: wiped when freed */
  char   *refresh_token;   /* secret: wiped when freed */
  gint64  expires_in;      /* seconds, 0 to G_MAXINT32 (see fc_json_node_seconds) */
  char   *device_id;
  char   *shop_id;
} FcCloudAnswer;

FcCloudAnswer *fc_cloud_answer_parse (GBytes        *body);
void           fc_cloud_answer_free  (FcCloudAnswer *answer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcCloudAnswer, fc_cloud_answer_free)

G_END_DECLS
