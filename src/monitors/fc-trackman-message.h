/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * What a TrackMan 4 sends the client (shared docs, protocols.md section
 * 2), read apart from the connection so that it can be tested and fuzzed
 * without a unit: WebSocket messages, the UPnP device description, the
 * REST fallback's OAuth token and list of recent shots.
 */

/* A shot's messages share an Id; their Kind progresses PreLaunchData (1)
 * → LaunchData → LiveApex → FlightData → Measurement (5, the final one).
 * 0 for any other Kind. */
#define FC_TRACKMAN_RANK_FINAL 5
int fc_trackman_kind_rank (const char *kind);

typedef enum {
  FC_TRACKMAN_MESSAGE_PING,
  FC_TRACKMAN_MESSAGE_ACKNOWLEDGE,
  FC_TRACKMAN_MESSAGE_MEASUREMENT,   /* with a Payload object */
  FC_TRACKMAN_MESSAGE_OTHER,         /* TrackerState, SystemState, ... */
} FcTrackmanMessageKind;

typedef struct {
  FcTrackmanMessageKind  kind;
  /* MEASUREMENT only: */
  char                  *id;       /* the envelope's Id, else the payload's; NULL when none or empty */
  int                    rank;     /* of the payload's Kind */
  JsonObject            *payload;
  GBytes                *raw;      /* the bytes the shot keeps as its raw payload */
} FcTrackmanMessage;

/* One WebSocket message. NULL with an FC_ERROR for one that is not a
 * JSON object (nested too deep counts as not JSON). */
FcTrackmanMessage *fc_trackman_message_parse  (const guint8  *data,
                                               gsize          len,
                                               GError       **error);
void               fc_trackman_message_free   (FcTrackmanMessage *message);

/* GET <api>/shots/recent: the final measurements of a JSON array, as
 * MEASUREMENT messages with an Id (elements without one, or with a Kind
 * that is not final, are left out). NULL with an FC_ERROR when the body
 * is not a JSON array. */
GPtrArray         *fc_trackman_recent_parse   (const guint8  *data,
                                               gsize          len,
                                               GError       **error);

/* The OAuth 2.0 token answer: TRUE with @access_token and @expires_in_s
 * (3600 when not given; between 0 and G_MAXINT32) when it has an
 * access_token string of valid UTF-8. */
gboolean           fc_trackman_token_parse    (const guint8  *data,
                                               gsize          len,
                                               char         **access_token,
                                               gint64        *expires_in_s);

/* The UPnP device description: its webSocket, api and modelName
 * elements, each NULL when absent. The model name is made valid UTF-8. */
typedef struct {
  char *ws_url;
  char *api_url;
  char *model_name;
} FcTrackmanDescription;

FcTrackmanDescription *fc_trackman_description_parse (const char            *xml,
                                                      gsize                  len);
void                   fc_trackman_description_free  (FcTrackmanDescription *description);

/* Where a unit is, from its WebSocket address (and API address, NULL for
 * the documented layout: /api/ beside the WebSocket). */
typedef struct {
  char *ws_url;
  char *api_url;
  char *device_id;   /* "trackman/HOST" */
  char *peer;        /* "HOST" or "HOST:PORT" */
} FcTrackmanEndpoint;

/* NULL with an FC_ERROR or G_URI_ERROR when @ws_url is not a ws:// or
 * wss:// address with a host. */
FcTrackmanEndpoint *fc_trackman_endpoint_new  (const char          *ws_url,
                                               const char          *api_url,
                                               GError             **error);
void                fc_trackman_endpoint_free (FcTrackmanEndpoint  *endpoint);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcTrackmanMessage, fc_trackman_message_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcTrackmanDescription, fc_trackman_description_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcTrackmanEndpoint, fc_trackman_endpoint_free)

G_END_DECLS
