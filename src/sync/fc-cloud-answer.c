/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-cloud-answer"

#include "fc-cloud-answer.h"

#include "fc-json-reader.h"
#include "fc-secret-store.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* Answers are two levels deep; json-glib recurses, so much deeper
 * input is refused before it reaches the parser (fc-json-reader.h). */
#define MAX_NESTING 32

static JsonObject *
object_member (JsonObject *object,
               const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* An identifier or a secret: as sent when it is UTF-8, else absent
 * (altering it would only make it wrong). */
static char *
dup_exact (JsonObject *object,
           const char *member)
{
  return g_strdup (object ? fc_json_get_utf8 (object, member) : NULL);
}

FcCloudAnswer *
fc_cloud_answer_parse (GBytes *body)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  FcCloudAnswer *answer = g_new0 (FcCloudAnswer, 1);
  const guint8 *data;
  gsize len;
  JsonNode *root;
  JsonObject *object;
  JsonObject *error;

  if (body == NULL)
    return answer;
  data = g_bytes_get_data (body, &len);
  /* An empty or blank body parses to no root at all. */
  if (len == 0 || len > G_MAXSSIZE || !fc_json_depth_ok (data, len, MAX_NESTING) ||
      !json_parser_load_from_data (parser, (const char *) data, (gssize) len, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return answer;
  object = json_node_get_object (root);

  error = object_member (object, "error");
  answer->error_code = dup_exact (error, "code");
  /* Shown to the fitter: made readable rather than dropped. */
  answer->error_message = error ? fc_json_dup_text (error, "message") : NULL;
  answer->error_shot_id = dup_exact (error, "shot_id");
  answer->error_field = dup_exact (error, "field");
  answer->access_token = dup_exact (object, "access_token");
  answer->refresh_token = dup_exact (object, "refresh_token");
  answer->device_id = dup_exact (object, "device_id");
  answer->shop_id = dup_exact (object, "shop_id");
  answer->expires_in = fc_json_node_seconds (json_object_get_member (object, "expires_in"));
  return answer;
}

void
fc_cloud_answer_free (FcCloudAnswer *answer)
{
  if (answer == NULL)
    return;
  g_free (answer->error_code);
  g_free (answer->error_message);
  g_free (answer->error_shot_id);
  g_free (answer->error_field);
  fc_secret_string_clear (&answer->access_token);
  fc_secret_string_clear (&answer->refresh_token);
  g_free (answer->device_id);
  g_free (answer->shop_id);
  g_free (answer);
}
