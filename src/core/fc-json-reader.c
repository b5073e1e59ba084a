/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-json-reader"

#include "fc-json-reader.h"

#include <math.h>

gboolean
fc_json_depth_ok (const guint8 *data,
                  gsize         len,
                  guint         max_depth)
{
  gboolean in_string = FALSE;
  gboolean escape = FALSE;
  guint depth = 0;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  for (gsize i = 0; i < len; i++)
    {
      guint8 c = data[i];

      if (in_string)
        {
          if (escape)
            escape = FALSE;
          else if (c == '\\')
            escape = TRUE;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > max_depth)
            return FALSE;
        }
      else if ((c == '}' || c == ']') && depth > 0)
        depth--;
    }
  return TRUE;
}

gint64
fc_json_node_seconds (JsonNode *node)
{
  double value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return 0;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      return CLAMP (json_node_get_int (node), 0, G_MAXINT32);
    case G_TYPE_DOUBLE:
      /* Clamped before the conversion: a double beyond gint64 does not
       * convert. */
      value = json_node_get_double (node);
      return isnan (value) ? 0 : (gint64) CLAMP (value, 0, G_MAXINT32);
    case G_TYPE_BOOLEAN:
      return json_node_get_boolean (node) ? 1 : 0;
    default:
      return 0;
    }
}

const char *
fc_json_get_string (JsonObject *object,
                    const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

char *
fc_json_dup_text (JsonObject *object,
                  const char *member)
{
  const char *text = fc_json_get_string (object, member);

  if (text == NULL)
    return NULL;
  return g_utf8_validate (text, -1, NULL) ? g_strdup (text) : g_utf8_make_valid (text, -1);
}

const char *
fc_json_get_utf8 (JsonObject *object,
                  const char *member)
{
  const char *text = fc_json_get_string (object, member);

  return text != NULL && g_utf8_validate (text, -1, NULL) ? text : NULL;
}
