/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-trackman-message"

#include "fc-trackman-message.h"

#include <string.h>

#include "fc-error.h"
#include "fc-json-reader.h"

#define DEFAULT_TOKEN_LIFE_S 3600

/* A measurement is five levels deep (envelope, Payload, BallTrajectory,
 * a fit, its coefficients); json-glib recurses, so much deeper input is
 * refused before it reaches the parser (see fc-json-reader.h). */
#define MAX_NESTING 64

/* A shot's Id: NULL when absent or empty, made valid UTF-8. */
static char *
dup_id (JsonObject *object)
{
  char *id = fc_json_dup_text (object, "Id");

  if (id != NULL && *id == '\0')
    g_clear_pointer (&id, g_free);
  return id;
}

int
fc_trackman_kind_rank (const char *kind)
{
  static const char *const order[] = {
    "PreLaunchData", "LaunchData", "LiveApex", "FlightData", "Measurement",
  };

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    if (g_strcmp0 (kind, order[i]) == 0)
      return i + 1;
  return 0;
}

static JsonNode *
parse_json (const guint8  *data,
            gsize          len,
            GError       **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) json_error = NULL;
  JsonNode *root;

  if (len > G_MAXSSIZE || !fc_json_depth_ok (data, len, MAX_NESTING))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "not JSON: nested deeper than %d levels",
                   MAX_NESTING);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, (const char *) data, (gssize) len, &json_error))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "not JSON: %s", json_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL)
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "not JSON: empty");
      return NULL;
    }
  return json_node_ref (root);
}

void
fc_trackman_message_free (FcTrackmanMessage *message)
{
  if (message == NULL)
    return;
  g_free (message->id);
  g_clear_pointer (&message->payload, json_object_unref);
  g_clear_pointer (&message->raw, g_bytes_unref);
  g_free (message);
}

FcTrackmanMessage *
fc_trackman_message_parse (const guint8  *data,
                           gsize          len,
                           GError       **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(FcTrackmanMessage) message = NULL;
  JsonObject *object;
  JsonNode *payload_node;
  const char *type;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  root = parse_json (data, len, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "not a JSON object");
      return NULL;
    }
  object = json_node_get_object (root);
  type = fc_json_get_string (object, "Type");

  message = g_new0 (FcTrackmanMessage, 1);
  message->kind = FC_TRACKMAN_MESSAGE_OTHER;
  if (g_strcmp0 (type, "Ping") == 0)
    message->kind = FC_TRACKMAN_MESSAGE_PING;
  else if (g_strcmp0 (type, "Acknowledge") == 0)
    message->kind = FC_TRACKMAN_MESSAGE_ACKNOWLEDGE;
  else if (g_strcmp0 (type, "Measurement") == 0 &&
           (payload_node = json_object_get_member (object, "Payload")) != NULL &&
           JSON_NODE_HOLDS_OBJECT (payload_node))
    {
      message->kind = FC_TRACKMAN_MESSAGE_MEASUREMENT;
      message->payload = json_object_ref (json_node_get_object (payload_node));
      message->raw = g_bytes_new (data, len);
      /* The envelope's Id, or else the payload's. */
      message->id = dup_id (fc_json_get_string (object, "Id") ? object : message->payload);
      message->rank = fc_trackman_kind_rank (fc_json_get_string (message->payload, "Kind"));
    }
  return g_steal_pointer (&message);
}

GPtrArray *
fc_trackman_recent_parse (const guint8  *data,
                          gsize          len,
                          GError       **error)
{
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GPtrArray) shots = NULL;
  JsonArray *array;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  root = parse_json (data, len, error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "not a JSON array");
      return NULL;
    }
  shots = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_trackman_message_free);
  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *m;
      const char *id;
      const char *kind;
      FcTrackmanMessage *shot;
      char *text;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      m = json_node_get_object (node);
      id = fc_json_get_string (m, "Id");
      kind = fc_json_get_string (m, "Kind");
      /* Only final measurements count. */
      if (id == NULL || *id == '\0' || (kind && fc_trackman_kind_rank (kind) != FC_TRACKMAN_RANK_FINAL))
        continue;
      shot = g_new0 (FcTrackmanMessage, 1);
      shot->kind = FC_TRACKMAN_MESSAGE_MEASUREMENT;
      shot->id = dup_id (m);
      shot->rank = fc_trackman_kind_rank (kind);
      shot->payload = json_object_ref (m);
      text = json_to_string (node, FALSE);
      shot->raw = g_bytes_new_take (text, strlen (text));
      g_ptr_array_add (shots, shot);
    }
  return g_steal_pointer (&shots);
}

gboolean
fc_trackman_token_parse (const guint8  *data,
                         gsize          len,
                         char         **access_token,
                         gint64        *expires_in_s)
{
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object;
  const char *token;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (access_token != NULL && expires_in_s != NULL, FALSE);

  *access_token = NULL;
  *expires_in_s = DEFAULT_TOKEN_LIFE_S;
  root = parse_json (data, len, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  object = json_node_get_object (root);
  /* A secret is taken as sent or not at all. */
  if ((token = fc_json_get_utf8 (object, "access_token")) == NULL)
    return FALSE;
  if (json_object_has_member (object, "expires_in"))
    *expires_in_s = fc_json_node_seconds (json_object_get_member (object, "expires_in"));
  *access_token = g_strdup (token);
  return TRUE;
}

/* The text of the first <name>...</name> element: a UPnP description is
 * small and flat enough that a full XML parser buys nothing. */
static char *
xml_element (const char *xml,
             const char *name)
{
  g_autofree char *open = g_strdup_printf ("<%s>", name);
  g_autofree char *close = g_strdup_printf ("</%s>", name);
  const char *start = strstr (xml, open);
  const char *end;

  if (start == NULL)
    return NULL;
  start += strlen (open);
  if ((end = strstr (start, close)) == NULL)
    return NULL;
  return g_strstrip (g_strndup (start, end - start));
}

FcTrackmanDescription *
fc_trackman_description_parse (const char *xml,
                               gsize       len)
{
  g_autofree char *text = NULL;
  FcTrackmanDescription *description;

  g_return_val_if_fail (xml != NULL || len == 0, NULL);

  text = g_strndup (xml, len);
  description = g_new0 (FcTrackmanDescription, 1);
  description->ws_url = xml_element (text, "webSocket");
  description->api_url = xml_element (text, "api");
  description->model_name = xml_element (text, "modelName");
  /* It is shown as the monitor's name. */
  if (description->model_name && !g_utf8_validate (description->model_name, -1, NULL))
    {
      char *valid = g_utf8_make_valid (description->model_name, -1);

      g_free (description->model_name);
      description->model_name = valid;
    }
  return description;
}

void
fc_trackman_description_free (FcTrackmanDescription *description)
{
  if (description == NULL)
    return;
  g_free (description->ws_url);
  g_free (description->api_url);
  g_free (description->model_name);
  g_free (description);
}

FcTrackmanEndpoint *
fc_trackman_endpoint_new (const char  *ws_url,
                          const char  *api_url,
                          GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(FcTrackmanEndpoint) endpoint = NULL;
  const char *scheme;

  g_return_val_if_fail (ws_url != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  uri = g_uri_parse (ws_url, G_URI_FLAGS_NONE, error);
  if (uri == NULL)
    {
      g_prefix_error (error, "TrackMan WebSocket address “%s”: ", ws_url);
      return NULL;
    }
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "ws") != 0 && g_ascii_strcasecmp (scheme, "wss") != 0)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "TrackMan WebSocket address “%s” must begin with ws:// or wss://", ws_url);
      return NULL;
    }
  /* "ws:/ws" parses, without a host: there is nothing to connect to,
   * and the device id would read "trackman/(null)". */
  if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "TrackMan WebSocket address “%s” names no host", ws_url);
      return NULL;
    }
  endpoint = g_new0 (FcTrackmanEndpoint, 1);
  endpoint->ws_url = g_strdup (ws_url);
  endpoint->device_id = g_strdup_printf ("trackman/%s", g_uri_get_host (uri));
  endpoint->peer = g_uri_get_port (uri) > 0
    ? g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri))
    : g_strdup (g_uri_get_host (uri));
  if (api_url)
    endpoint->api_url = g_strdup (api_url);
  else
    {
      /* The documented layout: the API beside the WebSocket. */
      g_autoptr(GUri) api = g_uri_build (G_URI_FLAGS_NONE,
                                         g_ascii_strcasecmp (scheme, "wss") == 0 ? "https" : "http",
                                         NULL, g_uri_get_host (uri), g_uri_get_port (uri),
                                         "/api/", NULL, NULL);
      endpoint->api_url = g_uri_to_string (api);
    }
  return g_steal_pointer (&endpoint);
}

void
fc_trackman_endpoint_free (FcTrackmanEndpoint *endpoint)
{
  if (endpoint == NULL)
    return;
  g_free (endpoint->ws_url);
  g_free (endpoint->api_url);
  g_free (endpoint->device_id);
  g_free (endpoint->peer);
  g_free (endpoint);
}
