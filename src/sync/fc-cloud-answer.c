/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-cloud-answer"

#include "fc-cloud-answer.h"

#include <json-glib/json-glib.h>
#include <openssl/crypto.h>
#include <string.h>

static char *
json_string_at (JsonNode   *root,
                const char *object,
                const char *member)
{
  JsonObject *o;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  o = json_node_get_object (root);
  if (object != NULL)
    {
      JsonNode *inner = json_object_get_member (o, object);

      if (inner == NULL || !JSON_NODE_HOLDS_OBJECT (inner))
        return NULL;
      o = json_node_get_object (inner);
    }
  {
    JsonNode *n = json_object_get_member (o, member);

    if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
      return NULL;
    return g_strdup (json_node_get_string (n));
  }
}

static JsonNode *
parse_json (GBytes *body)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len;
  const char *data;

  if (body == NULL)
    return NULL;
  data = g_bytes_get_data (body, &len);
  if (len == 0 || !json_parser_load_from_data (parser, data, len, NULL))
    return NULL;
  return json_node_ref (json_parser_get_root (parser));
}

FcCloudAnswer *
fc_cloud_answer_parse (GBytes *body)
{
  g_autoptr(JsonNode) root = parse_json (body);
  FcCloudAnswer *answer = g_new0 (FcCloudAnswer, 1);

  answer->error_code = json_string_at (root, "error", "code");
  answer->error_message = json_string_at (root, "error", "message");
  answer->access_token = json_string_at (root, NULL, "access_token");
  answer->refresh_token = json_string_at (root, NULL, "refresh_token");
  answer->device_id = json_string_at (root, NULL, "device_id");
  answer->shop_id = json_string_at (root, NULL, "shop_id");
  if (root && JSON_NODE_HOLDS_OBJECT (root))
    answer->expires_in = json_object_get_int_member_with_default (json_node_get_object (root), "expires_in", 0);
  return answer;
}

static void
wipe_string (char **text)
{
  if (*text == NULL)
    return;
  OPENSSL_cleanse (*text, strlen (*text));
  g_clear_pointer (text, g_free);
}

void
fc_cloud_answer_free (FcCloudAnswer *answer)
{
  if (answer == NULL)
    return;
  g_free (answer->error_code);
  g_free (answer->error_message);
  wipe_string (&answer->access_token);
  wipe_string (&answer->refresh_token);
  g_free (answer->device_id);
  g_free (answer->shop_id);
  g_free (answer);
}
