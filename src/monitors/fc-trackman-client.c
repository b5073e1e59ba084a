/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-trackman"

#include "config.h"

#include "fc-trackman-client.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "fc-error.h"
#include "fc-json-reader.h"
#include "fc-ssdp.h"
#include "fc-trackman-measurement.h"
#include "fc-trackman-message.h"

#define MONITOR_KIND        "trackman"
#define SOURCE_PROTOCOL     "trackman4-ws"
#define SOURCE_PROTOCOL_REST "trackman4-rest"
#define BACKOFF_FIRST_MS    500
#define BACKOFF_MAX_MS      (30 * 1000)
#define CONNECT_TIMEOUT_S   10
#define HTTP_TIMEOUT_S      10
#define DISCOVERY_MS        3000
#define SHOT_TIMEOUT_MS     (15 * 1000)
#define POLL_INTERVAL_MS    2000
/* A unit that used to Ping and then says nothing for this many Ping
 * intervals (and at least SILENCE_MIN_US) is treated as gone. */
#define SILENCE_PINGS       3
#define SILENCE_MIN_US      (15 * G_USEC_PER_SEC)
/* Enough to recognise a repeat of any shot from the last few sessions. */
#define STORED_IDS_MAX      1024
/* Refresh a token this long before the server says it expires (or at
 * half its life, for short-lived ones). */
#define TOKEN_MARGIN_S      60
#define TOKEN_MIN_LIFE_S    10

/* Kept configurable in one place: the subscribe message comes from a
 * reverse-engineered reference (protocols.md §2). */
static const char subscribe_message[] =
  "{\"Type\":\"Subscribe\",\"Payload\":{\"MessageList\":[\"Measurement\",\"TrackerState\","
  "\"SystemState\",\"SessionOpened\",\"SessionClosed\"]}}";

typedef enum {
  WHERE_DISCOVER,
  WHERE_WEBSOCKET,
  WHERE_DESCRIPTION,
} WhereKind;

struct _FcTrackmanClient {
  GObject                  parent_instance;

  FcHub                   *hub;
  SoupSession             *http;       /* requests, with an I/O timeout */
  SoupSession             *ws_session; /* no I/O timeout: the socket idles between shots */
  GCancellable            *cancellable; /* of the current run; stop() cancels it */
  GRand                   *rand;

  gboolean                 running;
  WhereKind                where_kind;
  char                    *where;
  char                    *monitor_id;
  char                    *ssdp_target;

  /* Where the unit is, found anew on every attempt: a unit may come
   * back with another address. */
  char                    *ws_url;
  char                    *api_url;
  char                    *device_name;
  char                    *device_id;
  char                    *peer;

  SoupWebsocketConnection *ws;
  guint                    backoff_ms;
  guint                    reconnect_id;
  guint                    connect_timeout_id;
  guint                    watchdog_id;
  gint64                   last_message_at;
  gint64                   last_ping_at;
  gint64                   ping_interval;

  /* REST fallback */
  gboolean                 polling;
  guint                    poll_id;
  gboolean                 poll_in_flight;
  char                    *token_url;
  char                    *client_id;
  char                    *client_secret;
  char                    *access_token;
  gint64                   token_refresh_at;

  /* The shot being assembled: the most complete message seen so far. */
  char                    *pending_id;
  JsonObject              *pending_payload;
  GBytes                  *pending_raw;
  int                      pending_rank;
  guint                    pending_timeout_id;
  guint                    shot_timeout_ms;

  GHashTable              *stored_ids;
  GQueue                   stored_order;

  guint                    pongs_sent;
  guint                    connections;
};

G_DEFINE_FINAL_TYPE (FcTrackmanClient, fc_trackman_client, G_TYPE_OBJECT)

static void attempt_connect  (FcTrackmanClient *self);
static void connect_websocket (FcTrackmanClient *self);
static void start_polling    (FcTrackmanClient *self);
static void poll_now         (FcTrackmanClient *self);

/* ---- helpers -------------------------------------------------------------- */

static void
set_string (char       **field,
            const char  *value)
{
  if (*field != value)
    {
      g_free (*field);
      *field = g_strdup (value);
    }
}

static void
set_state (FcTrackmanClient *self,
           FcMonitorState    state)
{
  fc_hub_monitor_update (self->hub, self->monitor_id, MONITOR_KIND, self->peer, state);
}

/* Learns host, peer and device id from the WebSocket URL. */
static gboolean
set_target (FcTrackmanClient  *self,
            const char        *ws_url,
            const char        *api_url,
            GError           **error)
{
  g_autoptr(FcTrackmanEndpoint) endpoint = fc_trackman_endpoint_new (ws_url, api_url, error);

  if (endpoint == NULL)
    return FALSE;
  set_string (&self->ws_url, endpoint->ws_url);
  set_string (&self->device_id, endpoint->device_id);
  set_string (&self->peer, endpoint->peer);
  set_string (&self->api_url, endpoint->api_url);
  return TRUE;
}

/* ---- storing shots -------------------------------------------------------- */

static void
remember_id (FcTrackmanClient *self,
             const char       *id)
{
  char *copy;

  if (g_hash_table_contains (self->stored_ids, id))
    return;
  copy = g_strdup (id);
  g_hash_table_add (self->stored_ids, copy);
  g_queue_push_tail (&self->stored_order, copy);
  while (self->stored_order.length > STORED_IDS_MAX)
    g_hash_table_remove (self->stored_ids, g_queue_pop_head (&self->stored_order));
}

static void
on_submitted (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(FcTrackmanClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *shot_id = NULL;
  FcAddResult add_result;

  if (!fc_hub_submit_finish (FC_HUB (source), result, &add_result, &shot_id, &error))
    g_warning ("%s: shot not stored: %s", self->monitor_id, error->message);
  else if (add_result == FC_ADD_DUPLICATE)
    g_debug ("%s: shot %s was already stored", self->monitor_id, shot_id);
}

static void
submit_measurement (FcTrackmanClient *self,
                    const char       *id,
                    JsonObject       *payload,
                    GBytes           *raw,
                    const char       *protocol)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *where = g_strdup_printf ("TrackMan shot %s", id);
  FcShot *shot;

  remember_id (self, id);
  shot = fc_trackman_measurement_to_shot (payload, where, &error);
  if (shot == NULL)
    {
      g_warning ("%s: %s", self->monitor_id, error->message);
      return;
    }
  /* The envelope's Id is authoritative; payloads need not repeat it. */
  set_string (&shot->device_shot_id, id);
  set_string (&shot->device_id, self->device_id);
  set_string (&shot->source_protocol, protocol);
  set_string (&shot->source_detail, self->peer);
  shot->source_kind = FC_SOURCE_DEVICE;
  g_clear_pointer (&shot->raw, g_bytes_unref);
  shot->raw = g_bytes_ref (raw);
  fc_hub_submit_async (self->hub, self->monitor_id, shot, NULL, on_submitted,
                       g_object_ref (self));
}

static void
pending_clear (FcTrackmanClient *self)
{
  g_clear_handle_id (&self->pending_timeout_id, g_source_remove);
  g_clear_pointer (&self->pending_id, g_free);
  g_clear_pointer (&self->pending_payload, json_object_unref);
  g_clear_pointer (&self->pending_raw, g_bytes_unref);
  self->pending_rank = 0;
}

/* Stores the most complete message of the pending shot. */
static void
pending_flush (FcTrackmanClient *self)
{
  if (self->pending_id == NULL)
    return;
  if (self->pending_rank < FC_TRACKMAN_RANK_FINAL)
    {
      /* A Kind the unit did not name (or not as a string) must not reach
       * printf as NULL. */
      const char *kind = fc_json_get_string (self->pending_payload, "Kind");

      g_message ("%s: shot %s ended without a final Measurement; storing its %s data",
                 self->monitor_id, self->pending_id, kind ? kind : "unnamed");
    }
  submit_measurement (self, self->pending_id, self->pending_payload, self->pending_raw,
                      SOURCE_PROTOCOL);
  pending_clear (self);
}

static gboolean
on_pending_timeout (gpointer user_data)
{
  FcTrackmanClient *self = user_data;

  self->pending_timeout_id = 0;
  pending_flush (self);
  return G_SOURCE_REMOVE;
}

static void
handle_measurement (FcTrackmanClient  *self,
                    FcTrackmanMessage *message)
{
  const char *id = message->id;

  if (id == NULL)
    {
      g_debug ("%s: Measurement without an Id ignored", self->monitor_id);
      return;
    }
  /* A late copy of a shot already stored (after a reconnect, say). */
  if (g_hash_table_contains (self->stored_ids, id))
    return;
  /* A new shot began before the last one's final message came. */
  if (self->pending_id && strcmp (self->pending_id, id) != 0)
    pending_flush (self);

  if (self->pending_id == NULL || message->rank >= self->pending_rank)
    {
      g_clear_pointer (&self->pending_payload, json_object_unref);
      g_clear_pointer (&self->pending_raw, g_bytes_unref);
      set_string (&self->pending_id, id);
      self->pending_payload = json_object_ref (message->payload);
      self->pending_raw = g_bytes_ref (message->raw);
      self->pending_rank = message->rank;
    }
  if (message->rank == FC_TRACKMAN_RANK_FINAL)
    {
      pending_flush (self);
      return;
    }
  g_clear_handle_id (&self->pending_timeout_id, g_source_remove);
  self->pending_timeout_id = g_timeout_add (self->shot_timeout_ms, on_pending_timeout, self);
}

/* ---- reconnecting --------------------------------------------------------- */

static gboolean
on_reconnect (gpointer user_data)
{
  FcTrackmanClient *self = user_data;

  self->reconnect_id = 0;
  attempt_connect (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (FcTrackmanClient *self,
                    const char       *why)
{
  guint delay;

  if (!self->running || self->reconnect_id != 0)
    return;
  /* Jitter: several agents (or a restarted one) must not hammer a unit
   * that just rebooted in lockstep. */
  delay = (guint) (self->backoff_ms * g_rand_double_range (self->rand, 0.5, 1.0));
  self->backoff_ms = MIN (self->backoff_ms * 2, BACKOFF_MAX_MS);
  g_message ("%s: %s; trying again in %.1f s", self->monitor_id, why, delay / 1000.0);
  set_state (self, FC_MONITOR_DISCONNECTED);
  self->reconnect_id = g_timeout_add (delay, on_reconnect, self);
}

static void
drop_websocket (FcTrackmanClient *self)
{
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  if (self->ws == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->ws, self);
  if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&self->ws);
}

/* ---- WebSocket ------------------------------------------------------------ */

static void
on_ws_message (SoupWebsocketConnection *ws,
               gint                     type,
               GBytes                  *bytes,
               gpointer                 user_data)
{
  FcTrackmanClient *self = user_data;
  g_autoptr(FcTrackmanMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  gint64 now = g_get_monotonic_time ();

  self->last_message_at = now;
  /* The unit talks to us, so the next outage starts its back-off from
   * the beginning again. */
  self->backoff_ms = BACKOFF_FIRST_MS;
  message = fc_trackman_message_parse (data, len, &error);
  if (message == NULL)
    {
      g_debug ("%s: %s", self->monitor_id, error->message);
      return;
    }

  if (message->kind == FC_TRACKMAN_MESSAGE_PING)
    {
      soup_websocket_connection_send_text (ws, "{\"Type\":\"Pong\"}");
      self->pongs_sent++;
      if (self->last_ping_at)
        self->ping_interval = MAX (self->ping_interval, now - self->last_ping_at);
      self->last_ping_at = now;
      fc_hub_monitor_message (self->hub, self->monitor_id, self->device_name, TRUE);
      return;
    }
  fc_hub_monitor_message (self->hub, self->monitor_id, self->device_name, FALSE);
  if (message->kind == FC_TRACKMAN_MESSAGE_ACKNOWLEDGE)
    set_state (self, FC_MONITOR_READY);
  else if (message->kind == FC_TRACKMAN_MESSAGE_MEASUREMENT)
    handle_measurement (self, message);
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              gpointer                 user_data)
{
  FcTrackmanClient *self = user_data;
  g_autofree char *why = g_strdup_printf ("the unit closed the connection (%u)",
                                          soup_websocket_connection_get_close_code (ws));

  drop_websocket (self);
  schedule_reconnect (self, why);
}

static void
on_ws_error (SoupWebsocketConnection *ws,
             GError                  *error,
             gpointer                 user_data)
{
  FcTrackmanClient *self = user_data;

  g_debug ("%s: WebSocket error: %s", self->monitor_id, error->message);
}

/* "Connected" while shots silently stopped arriving is the complaint
 * this answers: a unit that pinged and went quiet is reconnected. */
static gboolean
on_watchdog (gpointer user_data)
{
  FcTrackmanClient *self = user_data;
  gint64 limit;

  if (self->ws == NULL || self->ping_interval == 0)
    return G_SOURCE_CONTINUE;
  limit = MAX (SILENCE_PINGS * self->ping_interval, SILENCE_MIN_US);
  if (g_get_monotonic_time () - self->last_message_at < limit)
    return G_SOURCE_CONTINUE;
  self->watchdog_id = 0;
  set_state (self, FC_MONITOR_SILENT);
  drop_websocket (self);
  schedule_reconnect (self, "the unit stopped answering");
  return G_SOURCE_REMOVE;
}

static gboolean
on_connect_timeout (gpointer user_data)
{
  GCancellable *cancellable = user_data;

  g_cancellable_cancel (cancellable);
  return G_SOURCE_REMOVE;
}

typedef struct {
  FcTrackmanClient *self;
  GCancellable     *run;      /* self->cancellable when the attempt began */
  GCancellable     *attempt;  /* child of run, with a timeout */
  gulong            parent_handler;
} ConnectData;

static void
connect_data_free (ConnectData *cd)
{
  g_cancellable_disconnect (cd->run, cd->parent_handler);
  g_clear_object (&cd->run);
  g_clear_object (&cd->attempt);
  g_clear_object (&cd->self);
  g_free (cd);
}

static void
on_parent_cancelled (GCancellable *parent,
                     gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
on_ws_connected (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  ConnectData *cd = user_data;
  FcTrackmanClient *self = cd->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  gboolean stopped = g_cancellable_is_cancelled (cd->run);

  g_clear_handle_id (&self->connect_timeout_id, g_source_remove);
  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (stopped || !self->running)
    {
      connect_data_free (cd);
      return;
    }
  if (ws == NULL)
    {
      g_autofree char *why = NULL;

      /* The unit answers HTTP but offers no WebSocket: a REST-only unit
       * or gateway, so poll instead. */
      if (self->api_url &&
          (g_error_matches (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET) ||
           g_error_matches (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_ERROR_BAD_HANDSHAKE)))
        {
          g_message ("%s: no WebSocket at %s (%s); polling %s", self->monitor_id,
                     self->ws_url, error->message, self->api_url);
          connect_data_free (cd);
          start_polling (self);
          return;
        }
      why = g_strdup_printf ("cannot reach the TrackMan at %s: %s", self->ws_url,
                             g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                               ? "no answer" : error->message);
      connect_data_free (cd);
      schedule_reconnect (self, why);
      return;
    }
  connect_data_free (cd);

  self->ws = g_steal_pointer (&ws);
  self->connections++;
  self->last_message_at = g_get_monotonic_time ();
  self->last_ping_at = 0;
  self->ping_interval = 0;
  /* Frames can be large (ball and club trajectories); the default
   * 128 KiB limit is plenty, but a unit must never be cut off by it. */
  soup_websocket_connection_set_max_incoming_payload_size (self->ws, 4 * 1024 * 1024);
  g_signal_connect (self->ws, "message", G_CALLBACK (on_ws_message), self);
  g_signal_connect (self->ws, "closed", G_CALLBACK (on_ws_closed), self);
  g_signal_connect (self->ws, "error", G_CALLBACK (on_ws_error), self);
  set_state (self, FC_MONITOR_CONNECTED);
  g_message ("%s: connected to %s", self->monitor_id, self->ws_url);
  /* A viewer: subscribing needs no login and takes nothing from TPS. */
  soup_websocket_connection_send_text (self->ws, subscribe_message);
  self->watchdog_id = g_timeout_add_seconds (1, on_watchdog, self);
}

static void
connect_websocket (FcTrackmanClient *self)
{
  g_autoptr(SoupMessage) msg = NULL;
  ConnectData *cd;

  msg = soup_message_new (SOUP_METHOD_GET, self->ws_url);
  if (msg == NULL)
    {
      schedule_reconnect (self, "the WebSocket address is not valid");
      return;
    }
  cd = g_new0 (ConnectData, 1);
  cd->self = g_object_ref (self);
  cd->attempt = g_cancellable_new ();
  cd->run = g_object_ref (self->cancellable);
  cd->parent_handler = g_cancellable_connect (cd->run, G_CALLBACK (on_parent_cancelled),
                                              g_object_ref (cd->attempt), g_object_unref);
  /* The WebSocket session has no I/O timeout (the socket idles between
   * shots), so an unreachable unit is given up on here. */
  g_clear_handle_id (&self->connect_timeout_id, g_source_remove);
  self->connect_timeout_id = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, CONNECT_TIMEOUT_S,
                                                         on_connect_timeout,
                                                         g_object_ref (cd->attempt),
                                                         g_object_unref);
  soup_session_websocket_connect_async (self->ws_session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        cd->attempt, on_ws_connected, cd);
}

/* ---- description and discovery ------------------------------------------- */

static void
on_description (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(FcTrackmanClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(FcTrackmanDescription) description = NULL;
  SoupMessage *msg;
  g_autofree char *why = NULL;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  /* Cancelled: stop() ran, perhaps followed by a new start(). */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !self->running)
    return;
  msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  if (body == NULL)
    {
      why = g_strdup_printf ("cannot read the TrackMan description: %s", error->message);
      schedule_reconnect (self, why);
      return;
    }
  if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      why = g_strdup_printf ("the TrackMan description answered HTTP %u",
                             soup_message_get_status (msg));
      schedule_reconnect (self, why);
      return;
    }
  description = fc_trackman_description_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  if (description->ws_url == NULL ||
      !set_target (self, description->ws_url, description->api_url, &error))
    {
      why = g_strdup_printf ("the device description names no usable WebSocket%s%s",
                             error ? ": " : "", error ? error->message : "");
      schedule_reconnect (self, why);
      return;
    }
  set_string (&self->device_name, description->model_name ? description->model_name : "TrackMan");
  connect_websocket (self);
}

static void
fetch_description (FcTrackmanClient *self,
                   const char       *url)
{
  g_autoptr(SoupMessage) msg = soup_message_new (SOUP_METHOD_GET, url);

  if (msg == NULL)
    {
      schedule_reconnect (self, "the description address is not valid");
      return;
    }
  soup_message_add_flags (msg, SOUP_MESSAGE_NEW_CONNECTION);   /* as in poll_now () */
  soup_session_send_and_read_async (self->http, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    on_description, g_object_ref (self));
}

static void
on_discovered (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(FcTrackmanClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *location = fc_ssdp_discover_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !self->running)
    return;
  if (location)
    {
      g_message ("%s: found a TrackMan at %s", self->monitor_id, location);
      fetch_description (self, location);
      return;
    }
  /* Nobody answered: try the unit's fixed LAN address. */
  g_message ("%s: %s; trying %s", self->monitor_id, error->message, FC_TRACKMAN_FALLBACK_URL);
  set_target (self, "ws://172.30.20.1/ws", "http://172.30.20.1/api/", NULL);
  set_string (&self->device_name, "TrackMan");
  connect_websocket (self);
}

static void
attempt_connect (FcTrackmanClient *self)
{
  g_autoptr(GError) error = NULL;

  if (!self->running)
    return;
  self->polling = FALSE;
  g_clear_handle_id (&self->poll_id, g_source_remove);
  switch (self->where_kind)
    {
    case WHERE_DISCOVER:
      fc_ssdp_discover_async (FC_SSDP_ST_TRACKMAN, self->ssdp_target, DISCOVERY_MS,
                              self->cancellable, on_discovered, g_object_ref (self));
      break;
    case WHERE_DESCRIPTION:
      fetch_description (self, self->where);
      break;
    case WHERE_WEBSOCKET:
      if (!set_target (self, self->where, NULL, &error))
        g_assert_not_reached ();  /* checked by start() */
      set_string (&self->device_name, "TrackMan");
      connect_websocket (self);
      break;
    }
}

/* ---- REST polling and OAuth ----------------------------------------------- */

static gboolean
on_poll_timer (gpointer user_data)
{
  FcTrackmanClient *self = user_data;

  poll_now (self);
  return G_SOURCE_CONTINUE;
}

static void
start_polling (FcTrackmanClient *self)
{
  self->polling = TRUE;
  set_state (self, FC_MONITOR_CONNECTED);
  g_clear_handle_id (&self->poll_id, g_source_remove);
  self->poll_id = g_timeout_add (POLL_INTERVAL_MS, on_poll_timer, self);
  poll_now (self);
}

static void
stop_polling (FcTrackmanClient *self,
              const char       *why)
{
  self->polling = FALSE;
  g_clear_handle_id (&self->poll_id, g_source_remove);
  schedule_reconnect (self, why);
}

static void
on_token (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(FcTrackmanClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *token = NULL;
  SoupMessage *msg;
  gint64 expires_in;

  self->poll_in_flight = FALSE;
  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !self->polling)
    return;
  msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  if (body == NULL || soup_message_get_status (msg) != SOUP_STATUS_OK ||
      !fc_trackman_token_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                &token, &expires_in))
    {
      g_autofree char *why = g_strdup_printf ("the TrackMan token endpoint %s refused the "
                                              "client id and secret (HTTP %u)", self->token_url,
                                              msg ? soup_message_get_status (msg) : 0);
      stop_polling (self, why);
      return;
    }
  set_string (&self->access_token, token);
  /* A zero or tiny lifetime must not turn polling into a token loop. */
  expires_in = MAX (expires_in, TOKEN_MIN_LIFE_S);
  self->token_refresh_at = g_get_monotonic_time () +
    MAX (expires_in - TOKEN_MARGIN_S, expires_in / 2) * G_USEC_PER_SEC;
  poll_now (self);
}

static void
fetch_token (FcTrackmanClient *self)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *pair = NULL;
  g_autofree char *basic = NULL;
  g_autofree char *header = NULL;

  msg = soup_message_new_from_encoded_form (SOUP_METHOD_POST, self->token_url,
                                            g_strdup ("grant_type=client_credentials"));
  if (msg == NULL)
    {
      stop_polling (self, "the OAuth token address is not valid");
      return;
    }
  /* RFC 6749 §2.3.1: client credentials in HTTP Basic authentication. */
  pair = g_strdup_printf ("%s:%s", self->client_id ? self->client_id : "",
                          self->client_secret ? self->client_secret : "");
  basic = g_base64_encode ((const guchar *) pair, strlen (pair));
  header = g_strdup_printf ("Basic %s", basic);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", header);
  self->poll_in_flight = TRUE;
  soup_session_send_and_read_async (self->http, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    on_token, g_object_ref (self));
}

static void
on_polled (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(FcTrackmanClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GPtrArray) shots = NULL;
  SoupMessage *msg;
  guint status;

  self->poll_in_flight = FALSE;
  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !self->polling)
    return;
  msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  if (body == NULL)
    {
      g_autofree char *why = g_strdup_printf ("cannot poll the TrackMan: %s", error->message);
      stop_polling (self, why);
      return;
    }
  status = soup_message_get_status (msg);
  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      g_clear_pointer (&self->access_token, g_free);
      if (self->token_url == NULL)
        {
          stop_polling (self, "the TrackMan API wants a login: set the OAuth token URL, "
                              "client id and secret");
          return;
        }
      fetch_token (self);
      return;
    }
  if (status != SOUP_STATUS_OK ||
      (shots = fc_trackman_recent_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                                         NULL)) == NULL)
    {
      g_autofree char *why = g_strdup_printf ("the TrackMan API answered HTTP %u without a "
                                              "list of shots", status);
      stop_polling (self, why);
      return;
    }
  self->backoff_ms = BACKOFF_FIRST_MS;
  set_state (self, FC_MONITOR_READY);
  fc_hub_monitor_message (self->hub, self->monitor_id, self->device_name, FALSE);
  for (guint i = 0; i < shots->len; i++)
    {
      FcTrackmanMessage *shot = g_ptr_array_index (shots, i);

      /* The list repeats shots on every poll: ids already stored are
       * skipped. */
      if (g_hash_table_contains (self->stored_ids, shot->id))
        continue;
      submit_measurement (self, shot->id, shot->payload, shot->raw, SOURCE_PROTOCOL_REST);
    }
}

static void
poll_now (FcTrackmanClient *self)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autofree char *url = NULL;

  if (self->poll_in_flight || !self->polling)
    return;
  if (self->access_token && self->token_url &&
      g_get_monotonic_time () >= self->token_refresh_at)
    {
      fetch_token (self);
      return;
    }
  url = g_strconcat (self->api_url, g_str_has_suffix (self->api_url, "/") ? "" : "/",
                     "shots/recent", NULL);
  msg = soup_message_new (SOUP_METHOD_GET, url);
  if (msg == NULL)
    {
      stop_polling (self, "the API address is not valid");
      return;
    }
  if (self->access_token)
    {
      g_autofree char *bearer = g_strdup_printf ("Bearer %s", self->access_token);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    bearer);
    }
  /* A fresh connection per poll: libsoup 3.2 resends a GET by itself
   * when a kept-alive connection was closed by the peer, and that path
   * can crash it (see new_message() in src/sync/fc-tus-upload.c). A
   * unit closing idle connections is what such gateways do; a connect
   * on the shop LAN every 2 s costs nothing. */
  soup_message_add_flags (msg, SOUP_MESSAGE_NEW_CONNECTION);
  self->poll_in_flight = TRUE;
  soup_session_send_and_read_async (self->http, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    on_polled, g_object_ref (self));
}

/* ---- public --------------------------------------------------------------- */

gboolean
fc_trackman_client_start (FcTrackmanClient  *self,
                          const char        *where,
                          GError           **error)
{
  g_autoptr(GUri) uri = NULL;
  const char *scheme;

  g_return_val_if_fail (FC_IS_TRACKMAN_CLIENT (self), FALSE);
  g_return_val_if_fail (where != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->running)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_CONFLICT, "The TrackMan connection is already running");
      return FALSE;
    }
  g_free (self->monitor_id);
  if (g_ascii_strcasecmp (where, "discover") == 0)
    {
      self->where_kind = WHERE_DISCOVER;
      self->monitor_id = g_strdup (MONITOR_KIND);
    }
  else
    {
      self->monitor_id = NULL;
      uri = g_uri_parse (where, G_URI_FLAGS_NONE, NULL);
      scheme = uri ? g_uri_get_scheme (uri) : "";
      if (uri && g_uri_get_host (uri) && *g_uri_get_host (uri) &&
          (g_ascii_strcasecmp (scheme, "ws") == 0 || g_ascii_strcasecmp (scheme, "wss") == 0))
        self->where_kind = WHERE_WEBSOCKET;
      else if (uri && g_uri_get_host (uri) && *g_uri_get_host (uri) &&
               (g_ascii_strcasecmp (scheme, "http") == 0 || g_ascii_strcasecmp (scheme, "https") == 0))
        self->where_kind = WHERE_DESCRIPTION;
      else
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                       "“%s” is not a TrackMan address: give “discover”, a ws:// WebSocket "
                       "address or the http:// address of the unit's description.xml", where);
          return FALSE;
        }
      self->monitor_id = g_uri_get_port (uri) > 0
        ? g_strdup_printf (MONITOR_KIND " %s:%d", g_uri_get_host (uri), g_uri_get_port (uri))
        : g_strdup_printf (MONITOR_KIND " %s", g_uri_get_host (uri));
    }
  set_string (&self->where, where);
  self->running = TRUE;
  self->backoff_ms = BACKOFF_FIRST_MS;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  fc_hub_monitor_update (self->hub, self->monitor_id, MONITOR_KIND, NULL, FC_MONITOR_LISTENING);
  attempt_connect (self);
  return TRUE;
}

void
fc_trackman_client_stop (FcTrackmanClient *self)
{
  g_return_if_fail (FC_IS_TRACKMAN_CLIENT (self));

  if (!self->running)
    return;
  self->running = FALSE;
  self->polling = FALSE;
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  g_clear_handle_id (&self->connect_timeout_id, g_source_remove);
  g_clear_handle_id (&self->poll_id, g_source_remove);
  drop_websocket (self);
  pending_flush (self);
  set_state (self, FC_MONITOR_STOPPED);
}

const char *
fc_trackman_client_get_monitor_id (FcTrackmanClient *self)
{
  g_return_val_if_fail (FC_IS_TRACKMAN_CLIENT (self), NULL);
  return self->monitor_id;
}

void
fc_trackman_client_set_ssdp_target (FcTrackmanClient *self,
                                    const char       *host_port)
{
  g_return_if_fail (FC_IS_TRACKMAN_CLIENT (self));
  set_string (&self->ssdp_target, host_port);
}

void
fc_trackman_client_set_oauth (FcTrackmanClient *self,
                              const char       *token_url,
                              const char       *client_id,
                              const char       *client_secret)
{
  g_return_if_fail (FC_IS_TRACKMAN_CLIENT (self));
  set_string (&self->token_url, token_url);
  set_string (&self->client_id, client_id);
  set_string (&self->client_secret, client_secret);
  g_clear_pointer (&self->access_token, g_free);
}

void
fc_trackman_client_set_shot_timeout (FcTrackmanClient *self,
                                     guint             timeout_ms)
{
  g_return_if_fail (FC_IS_TRACKMAN_CLIENT (self));
  self->shot_timeout_ms = MAX (timeout_ms, 1);
}

guint
fc_trackman_client_get_pongs_sent (FcTrackmanClient *self)
{
  g_return_val_if_fail (FC_IS_TRACKMAN_CLIENT (self), 0);
  return self->pongs_sent;
}

guint
fc_trackman_client_get_connections (FcTrackmanClient *self)
{
  g_return_val_if_fail (FC_IS_TRACKMAN_CLIENT (self), 0);
  return self->connections;
}

static void
fc_trackman_client_dispose (GObject *object)
{
  FcTrackmanClient *self = FC_TRACKMAN_CLIENT (object);

  fc_trackman_client_stop (self);
  pending_clear (self);
  g_clear_object (&self->http);
  g_clear_object (&self->ws_session);
  g_clear_object (&self->hub);
  G_OBJECT_CLASS (fc_trackman_client_parent_class)->dispose (object);
}

static void
fc_trackman_client_finalize (GObject *object)
{
  FcTrackmanClient *self = FC_TRACKMAN_CLIENT (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->rand, g_rand_free);
  g_free (self->where);
  g_free (self->monitor_id);
  g_free (self->ssdp_target);
  g_free (self->ws_url);
  g_free (self->api_url);
  g_free (self->device_name);
  g_free (self->device_id);
  g_free (self->peer);
  g_free (self->token_url);
  g_free (self->client_id);
  g_free (self->client_secret);
  g_free (self->access_token);
  g_queue_clear (&self->stored_order);
  g_clear_pointer (&self->stored_ids, g_hash_table_unref);
  G_OBJECT_CLASS (fc_trackman_client_parent_class)->finalize (object);
}

static void
fc_trackman_client_class_init (FcTrackmanClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fc_trackman_client_dispose;
  object_class->finalize = fc_trackman_client_finalize;
}

static void
fc_trackman_client_init (FcTrackmanClient *self)
{
  /* No proxy: the unit is on the shop LAN, and the default resolver
   * needs GSettings schemas a bay PC may not have. */
  self->http = g_object_new (SOUP_TYPE_SESSION, "proxy-resolver", NULL,
                             "timeout", HTTP_TIMEOUT_S, NULL);
  self->ws_session = g_object_new (SOUP_TYPE_SESSION, "proxy-resolver", NULL, "timeout", 0, NULL);
  self->rand = g_rand_new ();
  self->stored_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_queue_init (&self->stored_order);
  self->shot_timeout_ms = SHOT_TIMEOUT_MS;
  self->backoff_ms = BACKOFF_FIRST_MS;
  self->cancellable = g_cancellable_new ();
}

FcTrackmanClient *
fc_trackman_client_new (FcHub *hub)
{
  FcTrackmanClient *self;

  g_return_val_if_fail (FC_IS_HUB (hub), NULL);
  self = g_object_new (FC_TYPE_TRACKMAN_CLIENT, NULL);
  self->hub = g_object_ref (hub);
  return self;
}
