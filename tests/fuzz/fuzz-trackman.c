/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fuzz-trackman"

/*
 * libFuzzer target for what a TrackMan 4 (or anything answering in its
 * place on the shop LAN) sends the client. The first byte of the input
 * chooses the parser, the rest is what the peer sent:
 *
 *   '0' (and every byte ≡ 0 mod 6)  a WebSocket message
 *                                   (fc_trackman_message_parse), a
 *                                   Measurement's payload then to a shot
 *   '1'  a measurement object straight to fc_trackman_measurement_to_shot
 *        (TPS live events and REST use it too)
 *   '2'  an SSDP answer (fc_ssdp_parse_response), for the TrackMan
 *        search target or any
 *   '3'  a UPnP device description (fc_trackman_description_parse) and
 *        the endpoint made from its webSocket and api elements
 *   '4'  an OAuth token answer (fc_trackman_token_parse)
 *   '5'  the REST list of recent shots (fc_trackman_recent_parse), each
 *        to a shot
 *
 * Invariants: a result xor an FC_ERROR (or G_URI_ERROR for an address);
 * measurements carry a payload, an Id that is not empty, a rank in 0..5;
 * every shot made passes fc_shot_validate(); every text handed on is
 * valid UTF-8, an SSDP location one trimmed line; a token lifetime
 * between 0 and G_MAXINT32 s; no criticals.
 */

#include "fc-error.h"
#include "fc-json-reader.h"
#include "fc-ssdp.h"
#include "fc-trackman-measurement.h"
#include "fc-trackman-message.h"
#include "fuzz-target.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_error (const GError *error)
{
  if (error == NULL)
    g_error ("failed without an error");
  if (error->domain != FC_ERROR && error->domain != G_URI_ERROR)
    g_error ("error outside FC_ERROR: %s", error->message);
  if (error->message == NULL || error->message[0] == '\0')
    g_error ("error without a message");
}

static void
check_utf8 (const char *what,
            const char *text)
{
  if (text != NULL && !g_utf8_validate (text, -1, NULL))
    g_error ("%s is not UTF-8", what);
}

static void
check_shot (JsonObject *payload)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcShot) shot = fc_trackman_measurement_to_shot (payload, "TrackMan shot", &error);

  if ((shot == NULL) == (error == NULL))
    g_error ("measurement_to_shot returned %s shot and %s error",
             shot ? "a" : "no", error ? "an" : "no");
  if (shot == NULL)
    {
      if (error->domain != FC_ERROR || !g_str_has_prefix (error->message, "TrackMan shot: "))
        g_error ("unexpected error: %s", error->message);
      return;
    }
  {
    g_autoptr(GError) invalid = NULL;

    if (!fc_shot_validate (shot, &invalid))
      g_error ("shot fails validation: %s", invalid->message);
  }
  check_utf8 ("device shot id", shot->device_shot_id);
  check_utf8 ("device time", shot->device_time);
  check_utf8 ("club", shot->club);
}

static void
check_measurement (const FcTrackmanMessage *m)
{
  if (m->payload == NULL || m->raw == NULL)
    g_error ("a measurement without its payload or raw bytes");
  if (m->id != NULL && (*m->id == '\0' || !g_utf8_validate (m->id, -1, NULL)))
    g_error ("an empty or broken Id");
  if (m->rank < 0 || m->rank > FC_TRACKMAN_RANK_FINAL)
    g_error ("rank %d", m->rank);
  check_shot (m->payload);
}

static JsonNode *
parse_bounded (const guint8 *p,
               gsize         n)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  /* The harness's own parse: measurement_to_shot is handed objects that
   * the client's parsers made, which never nest deeper than this. */
  if (!fc_json_depth_ok (p, n, 64) ||
      !json_parser_load_from_data (parser, (const char *) p, (gssize) n, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  return root != NULL ? json_node_ref (root) : NULL;
}

static void
fuzz_websocket (const guint8 *p,
                gsize         n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcTrackmanMessage) message = fc_trackman_message_parse (p, n, &error);

  if ((message == NULL) == (error == NULL))
    g_error ("message_parse returned %s message and %s error",
             message ? "a" : "no", error ? "an" : "no");
  if (message == NULL)
    {
      check_error (error);
      return;
    }
  switch (message->kind)
    {
    case FC_TRACKMAN_MESSAGE_MEASUREMENT:
      check_measurement (message);
      break;
    case FC_TRACKMAN_MESSAGE_PING:
    case FC_TRACKMAN_MESSAGE_ACKNOWLEDGE:
    case FC_TRACKMAN_MESSAGE_OTHER:
      if (message->payload != NULL || message->id != NULL || message->raw != NULL)
        g_error ("a message of kind %d carries a measurement", message->kind);
      break;
    default:
      g_error ("unknown kind %d", message->kind);
    }
}

static void
fuzz_measurement (const guint8 *p,
                  gsize         n)
{
  g_autoptr(JsonNode) root = parse_bounded (p, n);

  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    check_shot (json_node_get_object (root));
}

static void
fuzz_ssdp (const guint8 *p,
           gsize         n)
{
  g_autofree char *location = NULL;
  const char *target = NULL;

  if (n > 0)
    {
      target = (p[0] & 1) ? FC_SSDP_ST_TRACKMAN : NULL;
      p++;
      n--;
    }
  location = fc_ssdp_parse_response ((const char *) p, n, target);
  if (location == NULL)
    return;
  if (*location == '\0' || strchr (location, '\n') != NULL ||
      g_ascii_isspace (location[0]) || g_ascii_isspace (location[strlen (location) - 1]))
    g_error ("location is not one trimmed line: “%s”", location);
  if (n < 12 || (g_ascii_strncasecmp ((const char *) p, "HTTP/1.1 200", 12) != 0 &&
                 g_ascii_strncasecmp ((const char *) p, "HTTP/1.0 200", 12) != 0))
    g_error ("a location from something that is not a search answer");
}

static void
fuzz_description (const guint8 *p,
                  gsize         n)
{
  g_autoptr(FcTrackmanDescription) description = fc_trackman_description_parse ((const char *) p, n);
  g_autoptr(FcTrackmanEndpoint) endpoint = NULL;
  g_autoptr(GError) error = NULL;

  if (description == NULL)
    g_error ("no description");
  check_utf8 ("model name", description->model_name);
  if (description->ws_url == NULL)
    return;
  endpoint = fc_trackman_endpoint_new (description->ws_url, description->api_url, &error);
  if ((endpoint == NULL) == (error == NULL))
    g_error ("endpoint_new returned %s endpoint and %s error",
             endpoint ? "an" : "no", error ? "an" : "no");
  if (endpoint == NULL)
    {
      check_error (error);
      return;
    }
  {
    g_autoptr(GUri) uri = g_uri_parse (description->ws_url, G_URI_FLAGS_NONE, NULL);
    const char *host = uri ? g_uri_get_host (uri) : NULL;
    g_autofree char *want = g_strconcat ("trackman/", host, NULL);

    if (host == NULL || *host == '\0' || strcmp (endpoint->device_id, want) != 0)
      g_error ("device id “%s” does not name the host of “%s”", endpoint->device_id,
               description->ws_url);
  }
  if (endpoint->peer == NULL || *endpoint->peer == '\0' || endpoint->api_url == NULL)
    g_error ("endpoint without a peer or API address");
  check_utf8 ("device id", endpoint->device_id);
  check_utf8 ("peer", endpoint->peer);
}

static void
fuzz_token (const guint8 *p,
            gsize         n)
{
  g_autofree char *token = NULL;
  gint64 expires_in = -1;

  if (!fc_trackman_token_parse (p, n, &token, &expires_in))
    {
      if (token != NULL)
        g_error ("a token from an answer refused");
      return;
    }
  if (token == NULL || !g_utf8_validate (token, -1, NULL))
    g_error ("token missing or not UTF-8");
  if (expires_in < 0 || expires_in > G_MAXINT32)
    g_error ("token lifetime %" G_GINT64_FORMAT " s", expires_in);
}

static void
fuzz_recent (const guint8 *p,
             gsize         n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) shots = fc_trackman_recent_parse (p, n, &error);

  if ((shots == NULL) == (error == NULL))
    g_error ("recent_parse returned %s list and %s error",
             shots ? "a" : "no", error ? "an" : "no");
  if (shots == NULL)
    {
      check_error (error);
      return;
    }
  for (guint i = 0; i < shots->len; i++)
    {
      FcTrackmanMessage *m = g_ptr_array_index (shots, i);

      if (m->kind != FC_TRACKMAN_MESSAGE_MEASUREMENT || m->id == NULL)
        g_error ("a recent shot without an Id");
      if (m->rank != 0 && m->rank != FC_TRACKMAN_RANK_FINAL)
        g_error ("a recent shot that is not final");
      check_measurement (m);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{

  fuzz_target_init ();
  if (size == 0)
    return 0;

  switch (data[0] % 6)
    {
    case 0: fuzz_websocket (data + 1, size - 1); break;
    case 1: fuzz_measurement (data + 1, size - 1); break;
    case 2: fuzz_ssdp (data + 1, size - 1); break;
    case 3: fuzz_description (data + 1, size - 1); break;
    case 4: fuzz_token (data + 1, size - 1); break;
    default: fuzz_recent (data + 1, size - 1); break;
    }
  return 0;
}
