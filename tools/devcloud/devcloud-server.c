/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-devcloud"

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "devcloud.h"
#include "fc-error.h"

/*
 * The HTTP side: request life cycle, fault injection, routing,
 * transactions and Idempotency-Key replays.
 *
 * libsoup 3 calls an early handler when a request's headers have arrived
 * and the normal handler when its whole body has. We use the first to
 * decide the request's faults and to switch body accumulation off (every
 * body goes through our got-chunk handler, so a client cannot make us
 * buffer more than 16 MiB of JSON, and an upload goes to disk block by
 * block), and the second to run the route. The "got-body" signal, which
 * libsoup emits after the normal handler, is where answers are delayed,
 * cut or lost.
 */

static void
request_free (DcRequest *req)
{
  g_clear_pointer (&req->sink, dc_sink_free);
  g_free (req->path);
  if (req->body)
    g_byte_array_unref (req->body);
  g_clear_pointer (&req->principal, dc_principal_free);
  g_free (req->content_type);
  g_clear_pointer (&req->response, g_bytes_unref);
  g_clear_pointer (&req->headers, g_ptr_array_unref);
  g_free (req);
}

void
dc_principal_free (DcPrincipal *p)
{
  if (p == NULL)
    return;
  g_free (p->id);
  g_free (p->shop_id);
  g_free (p->key);
  g_free (p);
}

/* ---- answers ------------------------------------------------------------- */

static const char *
reason_for (guint status)
{
  switch (status)
    {
    case 460: return "Checksum Mismatch";
    case 429: return "Too Many Requests";
    case 422: return "Unprocessable Entity";
    default:  return NULL;
    }
}

static void
apply_answer (DcRequest *req)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (req->msg);

  soup_server_message_set_status (req->msg, req->status, reason_for (req->status));
  if (req->headers)
    for (guint i = 0; i + 1 < req->headers->len; i += 2)
      soup_message_headers_replace (headers, g_ptr_array_index (req->headers, i),
                                    g_ptr_array_index (req->headers, i + 1));
  soup_message_body_truncate (soup_server_message_get_response_body (req->msg));
  if (req->response)
    {
      /* Appending the GBytes shares it: a video served from a mapped
       * file is never copied into memory. */
      soup_message_headers_set_content_type (headers, req->content_type, NULL);
      soup_message_body_append_bytes (soup_server_message_get_response_body (req->msg), req->response);
    }
  else if (req->status != SOUP_STATUS_NO_CONTENT && req->status != SOUP_STATUS_NOT_MODIFIED &&
           strcmp (req->method, "HEAD") != 0)
    soup_message_headers_set_content_length (headers, 0);
  req->answered = TRUE;
}

void
dc_request_add_header (DcRequest  *req,
                       const char *name,
                       const char *value)
{
  if (req->headers == NULL)
    req->headers = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (req->headers, g_strdup (name));
  g_ptr_array_add (req->headers, g_strdup (value));
  if (req->answered)
    soup_message_headers_replace (soup_server_message_get_response_headers (req->msg), name, value);
}

void
dc_respond_bytes (DcRequest  *req,
                  guint       status,
                  const char *content_type,
                  GBytes     *bytes)
{
  req->status = status;
  g_free (req->content_type);
  req->content_type = g_strdup (content_type);
  g_clear_pointer (&req->response, g_bytes_unref);
  req->response = bytes ? g_bytes_ref (bytes) : NULL;
  apply_answer (req);
}

void
dc_respond_json (DcRequest *req,
                 guint      status,
                 char      *json)
{
  g_autoptr(GBytes) bytes = g_bytes_new_take (json, strlen (json));

  dc_respond_bytes (req, status, "application/json", bytes);
}

void
dc_respond_writer (DcRequest    *req,
                   guint         status,
                   FcJsonWriter *writer)
{
  dc_respond_json (req, status, fc_json_writer_steal (writer, NULL));
}

void
dc_respond_empty (DcRequest *req,
                  guint      status)
{
  dc_respond_bytes (req, status, NULL, NULL);
}

void
dc_respond_shot_error (DcRequest  *req,
                       guint       status,
                       const char *code,
                       const char *shot_id,
                       int         index,
                       const char *field,
                       const char *message)
{
  FcJsonWriter *w = fc_json_writer_new (FALSE);

  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "error");
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "code");
  fc_json_writer_string (w, code);
  fc_json_writer_key (w, "message");
  fc_json_writer_string (w, message);
  if (shot_id || index >= 0 || field)
    {
      fc_json_writer_key (w, "shot_id");
      fc_json_writer_string (w, shot_id);
      if (index >= 0)
        {
          fc_json_writer_key (w, "index");
          fc_json_writer_int (w, index);
        }
      fc_json_writer_key (w, "field");
      fc_json_writer_string (w, field);
    }
  fc_json_writer_end_object (w);
  fc_json_writer_end_object (w);
  dc_respond_writer (req, status, w);
  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      g_autofree char *challenge = g_strdup_printf ("Bearer error=\"invalid_token\", error_description=\"%s\"", code);
      dc_request_add_header (req, "WWW-Authenticate", challenge);
    }
  if (status == 429 || status == SOUP_STATUS_SERVICE_UNAVAILABLE)
    {
      g_autofree char *after = g_strdup_printf ("%d", req->server->config.faults.retry_after);
      dc_request_add_header (req, "Retry-After", after);
    }
}

void
dc_respond_error (DcRequest  *req,
                  guint       status,
                  const char *code,
                  const char *format,
                  ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  dc_respond_shot_error (req, status, code, NULL, -1, NULL, message);
}

JsonObject *
dc_request_json (DcRequest  *req,
                 JsonParser *parser)
{
  const char *type = soup_message_headers_get_content_type (soup_server_message_get_request_headers (req->msg), NULL);
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  if (type == NULL || g_ascii_strcasecmp (type, "application/json") != 0)
    {
      dc_respond_error (req, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                        "Send the body as Content-Type: application/json");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, (const char *) req->body->data, req->body->len, &error))
    {
      dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "bad_request", "The body is not JSON: %s", error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "bad_request", "The body must be a JSON object");
      return NULL;
    }
  return json_node_get_object (root);
}

/* ---- authentication ------------------------------------------------------ */

DcPrincipal *
dc_authenticate (DcRequest *req)
{
  DcServer *self = req->server;
  const char *auth = soup_message_headers_get_one (soup_server_message_get_request_headers (req->msg),
                                                   "Authorization");
  g_autofree char *hash = NULL;
  g_autoptr(DcPrincipal) p = NULL;
  g_autofree char *kind = NULL;
  sqlite3_stmt *stmt;
  gint64 expires_at = 0;
  gboolean revoked = FALSE;

  if (req->principal)
    return req->principal;
  if (auth == NULL || g_ascii_strncasecmp (auth, "Bearer ", 7) != 0 || auth[7] == '\0')
    {
      dc_respond_error (req, SOUP_STATUS_UNAUTHORIZED, "missing_token",
                        "Send Authorization: Bearer <access token>");
      return NULL;
    }
  hash = dc_token_hash (auth + 7);
  stmt = dc_store_stmt (self->store,
                        "SELECT a.kind, a.principal_id, a.shop_id, a.expires_at, d.revoked_at IS NOT NULL"
                        " FROM access_tokens a LEFT JOIN devices d ON a.kind = 'device' AND d.id = a.principal_id"
                        " WHERE a.hash = ?");
  dc_bind_text (stmt, 1, hash);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      p = g_new0 (DcPrincipal, 1);
      kind = dc_column_dup (stmt, 0);
      p->kind = g_strcmp0 (kind, "device") == 0 ? DC_PRINCIPAL_DEVICE : DC_PRINCIPAL_USER;
      p->id = dc_column_dup (stmt, 1);
      p->shop_id = dc_column_dup (stmt, 2);
      expires_at = sqlite3_column_int64 (stmt, 3);
      revoked = sqlite3_column_int (stmt, 4);
    }
  sqlite3_reset (stmt);

  if (p == NULL)
    {
      dc_respond_error (req, SOUP_STATUS_UNAUTHORIZED, "invalid_token", "The access token is not valid");
      return NULL;
    }
  if (revoked)
    {
      dc_respond_error (req, SOUP_STATUS_UNAUTHORIZED, "pairing_revoked",
                        "This device was unpaired from the shop's account; pair it again");
      return NULL;
    }
  if (expires_at <= g_get_real_time ())
    {
      dc_respond_error (req, SOUP_STATUS_UNAUTHORIZED, "token_expired",
                        "The access token has expired; refresh it");
      return NULL;
    }
  p->key = g_strdup_printf ("%s:%s", kind, p->id);
  req->principal = g_steal_pointer (&p);
  return req->principal;
}

/* ---- faults ---------------------------------------------------------------- */

static const struct {
  const char *name;
  gsize       offset;
} fault_probabilities[] = {
  { "fail_500", G_STRUCT_OFFSET (DcFaults, fail_500) },
  { "fail_503", G_STRUCT_OFFSET (DcFaults, fail_503) },
  { "fail_429", G_STRUCT_OFFSET (DcFaults, fail_429) },
  { "drop_request", G_STRUCT_OFFSET (DcFaults, drop_request) },
  { "drop_response", G_STRUCT_OFFSET (DcFaults, drop_response) },
  { "lose_response", G_STRUCT_OFFSET (DcFaults, lose_response) },
  { "checksum_mismatch", G_STRUCT_OFFSET (DcFaults, checksum_mismatch) },
};

static const char *fault_count_names[DC_N_FAULT_COUNTS] = {
  "fail_500", "fail_503", "fail_429", "drop_request", "drop_response", "lose_response",
  "slow", "checksum_mismatch",
};

void
dc_faults_write (DcServer     *self,
                 FcJsonWriter *w)
{
  fc_json_writer_begin_object (w);
  for (guint i = 0; i < G_N_ELEMENTS (fault_probabilities); i++)
    {
      fc_json_writer_key (w, fault_probabilities[i].name);
      fc_json_writer_double (w, G_STRUCT_MEMBER (double, &self->config.faults, fault_probabilities[i].offset));
    }
  fc_json_writer_key (w, "retry_after");
  fc_json_writer_int (w, self->config.faults.retry_after);
  fc_json_writer_key (w, "slow_ms");
  fc_json_writer_int (w, self->config.faults.slow_ms);
  fc_json_writer_key (w, "max_ball_speed_mps");
  fc_json_writer_double (w, self->config.faults.max_ball_speed_mps);
  /* How often each fault has struck, so a test can tell that its client
   * met every one. */
  fc_json_writer_key (w, "counts");
  fc_json_writer_begin_object (w);
  for (guint i = 0; i < DC_N_FAULT_COUNTS; i++)
    {
      fc_json_writer_key (w, fault_count_names[i]);
      fc_json_writer_int (w, self->fault_counts[i]);
    }
  fc_json_writer_end_object (w);
  fc_json_writer_end_object (w);
}

gboolean
dc_faults_read (DcServer    *self,
                JsonObject  *o,
                GError     **error)
{
  DcFaults f = self->config.faults;
  JsonNode *node;

  for (guint i = 0; i < G_N_ELEMENTS (fault_probabilities); i++)
    {
      double v;

      node = json_object_get_member (o, fault_probabilities[i].name);
      if (node == NULL)
        continue;
      v = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_double (node) : -1;
      if (!JSON_NODE_HOLDS_VALUE (node) || !(v >= 0 && v <= 1))
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                       "“%s” must be a probability from 0 to 1", fault_probabilities[i].name);
          return FALSE;
        }
      G_STRUCT_MEMBER (double, &f, fault_probabilities[i].offset) = v;
    }
  if ((node = json_object_get_member (o, "retry_after")))
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_int (node) < 0)
        {
          g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "“retry_after” must be seconds ≥ 0");
          return FALSE;
        }
      f.retry_after = json_node_get_int (node);
    }
  if ((node = json_object_get_member (o, "slow_ms")))
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_int (node) < 0)
        {
          g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "“slow_ms” must be milliseconds ≥ 0");
          return FALSE;
        }
      f.slow_ms = json_node_get_int (node);
    }
  if ((node = json_object_get_member (o, "max_ball_speed_mps")))
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || !(json_node_get_double (node) >= 0))
        {
          g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                               "“max_ball_speed_mps” must be m/s ≥ 0 (0: no limit)");
          return FALSE;
        }
      f.max_ball_speed_mps = json_node_get_double (node);
    }
  if ((node = json_object_get_member (o, "seed")))
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
        {
          g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "“seed” must be an integer");
          return FALSE;
        }
      g_rand_set_seed (self->rand, (guint32) json_node_get_int (node));
    }
  self->config.faults = f;
  return TRUE;
}

/* Every request draws the same number of values, whatever its kind, so a
 * seed gives the same sequence of faults for the same sequence of
 * requests. */
static void
draw_faults (DcRequest *req)
{
  DcServer *self = req->server;
  const DcFaults *f = &self->config.faults;
  double d[7];

  for (guint i = 0; i < G_N_ELEMENTS (d); i++)
    d[i] = g_rand_double (self->rand);
  req->drop_request = d[0] < f->drop_request;
  if (!req->drop_request)
    {
      if (d[1] < f->fail_500)
        req->fail_status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
      else if (d[2] < f->fail_503)
        req->fail_status = SOUP_STATUS_SERVICE_UNAVAILABLE;
      else if (d[3] < f->fail_429)
        req->fail_status = 429;
    }
  req->lose_response = d[4] < f->lose_response;
  req->drop_response = !req->lose_response && d[5] < f->drop_response;
  req->checksum_mismatch = d[6] < f->checksum_mismatch;
}

static void
close_stolen (GIOStream *stream)
{
  g_autoptr(GError) error = NULL;

  if (!g_io_stream_close (stream, NULL, &error))
    g_debug ("closing a dropped connection: %s", error->message);
}

/* Closes the connection without a word. */
static void
drop_connection (DcRequest *req)
{
  g_autoptr(GIOStream) stream = soup_server_message_steal_connection (req->msg);

  req->answered = TRUE;
  if (stream)
    close_stolen (stream);
}

/* Sends the status line, the headers and half of the body, then closes:
 * the client has a status it must not trust. */
static void
cut_response (DcRequest *req)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (req->msg);
  GString *raw = g_string_new (NULL);
  SoupMessageHeadersIter iter;
  const char *name, *value;
  gsize body_len = req->response ? g_bytes_get_size (req->response) : 0;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  const char *reason = soup_server_message_get_reason_phrase (req->msg);

  g_string_append_printf (raw, "HTTP/1.1 %u %s\r\n", req->status, reason ? reason : "");
  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    if (g_ascii_strcasecmp (name, "Content-Length") != 0)
      g_string_append_printf (raw, "%s: %s\r\n", name, value);
  if (req->response)
    g_string_append_printf (raw, "Content-Type: %s\r\n", req->content_type);
  g_string_append_printf (raw, "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n", body_len);
  if (body_len > 0)
    g_string_append_len (raw, g_bytes_get_data (req->response, NULL), body_len / 2);
  else
    g_string_truncate (raw, raw->len / 2);   /* nothing to cut but the headers */

  stream = soup_server_message_steal_connection (req->msg);
  req->answered = TRUE;
  if (stream == NULL)
    {
      g_string_free (raw, TRUE);
      return;
    }
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (stream), raw->str, raw->len,
                                  NULL, NULL, &error))
    g_debug ("writing a cut answer: %s", error->message);
  g_string_free (raw, TRUE);
  close_stolen (stream);
}

static gboolean
unpause_cb (gpointer data)
{
  SoupServerMessage *msg = data;

  soup_server_message_unpause (msg);
  g_object_unref (msg);
  return G_SOURCE_REMOVE;
}

/* After the normal handler: the answer is set; now deliver it as the
 * faults say. */
static void
on_got_body (SoupServerMessage *msg,
             DcRequest         *req)
{
  DcServer *self = req->server;

  if (req->processed && req->lose_response)
    {
      self->fault_counts[DC_FAULT_COUNT_LOSE_RESPONSE]++;
      drop_connection (req);
      return;
    }
  if (req->processed && req->drop_response)
    {
      self->fault_counts[DC_FAULT_COUNT_DROP_RESPONSE]++;
      cut_response (req);
      return;
    }
  if (!req->admin && self->config.faults.slow_ms > 0)
    {
      self->fault_counts[DC_FAULT_COUNT_SLOW]++;
      soup_server_message_pause (msg);
      g_timeout_add (self->config.faults.slow_ms, unpause_cb, g_object_ref (msg));
    }
}

static void
on_got_chunk (SoupServerMessage *msg,
              GBytes            *chunk,
              DcRequest         *req)
{
  gsize len = g_bytes_get_size (chunk);

  req->received += len;
  if (req->drop_request && req->received >= req->drop_after)
    {
      /* The connection goes down in the middle of the body. */
      req->server->fault_counts[DC_FAULT_COUNT_DROP_REQUEST]++;
      if (req->sink)
        dc_sink_write (req, chunk);
      if (req->sink)
        dc_sink_abort (req);
      drop_connection (req);
      return;
    }
  if (req->discard_body)
    return;
  if (req->sink)
    {
      dc_sink_write (req, chunk);
      return;
    }
  if (req->body->len + len > DC_MAX_JSON_BODY)
    {
      req->body_too_large = TRUE;
      req->discard_body = TRUE;
      g_byte_array_set_size (req->body, 0);
      return;
    }
  g_byte_array_append (req->body, g_bytes_get_data (chunk, NULL), len);
}

static void
on_finished (SoupServerMessage *msg,
             DcRequest         *req)
{
  /* A tus PATCH whose client went away: its body ended early. */
  if (req->sink)
    dc_sink_abort (req);
}

/* ---- routing ------------------------------------------------------------- */

static gboolean
is_uuid (const char *text)
{
  return text && g_uuid_string_is_valid (text);
}

static gboolean
path_is (char       **seg,
         guint        n,
         const char  *a,
         const char  *b,
         const char  *c,
         const char  *d)
{
  const char *want[] = { a, b, c, d };
  guint len = 0;

  while (len < 4 && want[len])
    len++;
  if (n != len)
    return FALSE;
  for (guint i = 0; i < len; i++)
    if (strcmp (want[i], "*") != 0 && strcmp (want[i], seg[i]) != 0)
      return FALSE;
  return TRUE;
}

static void
early_handler (SoupServer        *soup,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           data)
{
  DcServer *self = data;
  DcRequest *req = g_new0 (DcRequest, 1);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  goffset content_length = soup_message_headers_get_content_length (headers);

  req->server = self;
  req->msg = msg;
  req->method = soup_server_message_get_method (msg);
  req->path = g_strdup (path);
  req->body = g_byte_array_new ();
  req->admin = g_str_has_prefix (path, "/_admin/");
  g_object_set_data_full (G_OBJECT (msg), "dc-request", req, (GDestroyNotify) request_free);

  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), req);
  g_signal_connect (msg, "got-body", G_CALLBACK (on_got_body), req);
  g_signal_connect (msg, "finished", G_CALLBACK (on_finished), req);

  if (!req->admin)
    draw_faults (req);

  if (req->drop_request)
    {
      if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH && content_length > 1)
        {
          /* Cut in the middle of the body: the client has sent part of it. */
          req->drop_after = content_length / 2;
        }
      else
        {
          self->fault_counts[DC_FAULT_COUNT_DROP_REQUEST]++;
          drop_connection (req);
          return;
        }
    }

  if (req->fail_status)
    {
      static const char *codes[] = { [0] = "internal", [1] = "unavailable", [2] = "rate_limited" };
      guint which = req->fail_status == 500 ? 0 : req->fail_status == 503 ? 1 : 2;

      self->fault_counts[which == 0 ? DC_FAULT_COUNT_500 : which == 1 ? DC_FAULT_COUNT_503 : DC_FAULT_COUNT_429]++;
      req->discard_body = TRUE;
      dc_respond_error (req, req->fail_status, codes[which],
                        which == 0 ? "Injected server failure; nothing was changed"
                        : which == 1 ? "The service is unavailable for a moment; try again after Retry-After"
                        : "Too many requests; try again after Retry-After");
      return;
    }

  if (content_length > DC_MAX_JSON_BODY &&
      !(g_str_has_prefix (path, "/files/") && strcmp (req->method, "PATCH") == 0) &&
      !(strcmp (path, "/_bench/blob") == 0 && strcmp (req->method, "PUT") == 0))
    {
      req->discard_body = TRUE;
      dc_respond_error (req, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
                        "The body is larger than 16 MiB");
      return;
    }

  if (strcmp (req->method, "PATCH") == 0 && g_str_has_prefix (path, "/files/") && path[7] != '\0' &&
      strchr (path + 7, '/') == NULL)
    {
      if (!dc_tus_patch_begin (req, path + 7))
        req->discard_body = TRUE;
      return;
    }
  if (strcmp (req->method, "PUT") == 0 && strcmp (path, "/_bench/blob") == 0)
    {
      if (!dc_blob_begin (req))
        req->discard_body = TRUE;
    }
}

static void
admin_route (DcRequest *req)
{
  DcServer *self = req->server;
  const char *auth = soup_message_headers_get_one (soup_server_message_get_request_headers (req->msg),
                                                   "Authorization");

  if (self->config.admin_token == NULL)
    {
      dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "not_found", "Start the server with --admin-token");
      return;
    }
  if (auth == NULL || g_ascii_strncasecmp (auth, "Bearer ", 7) != 0 ||
      strcmp (auth + 7, self->config.admin_token) != 0)
    {
      dc_respond_error (req, SOUP_STATUS_UNAUTHORIZED, "invalid_token", "Send Authorization: Bearer <admin token>");
      return;
    }
  if (strcmp (req->path, "/_admin/dump") == 0 && strcmp (req->method, "GET") == 0)
    {
      g_autoptr(GError) error = NULL;
      char *json = dc_dump (self->store, self->config.files_dir, &error);

      if (json == NULL)
        dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "%s", error->message);
      else
        dc_respond_json (req, SOUP_STATUS_OK, json);
      return;
    }
  if (strcmp (req->path, "/_admin/faults") == 0)
    {
      FcJsonWriter *w;

      if (strcmp (req->method, "POST") == 0)
        {
          g_autoptr(JsonParser) parser = json_parser_new_immutable ();
          g_autoptr(GError) error = NULL;
          JsonObject *o = dc_request_json (req, parser);

          if (o == NULL)
            return;
          if (!dc_faults_read (self, o, &error))
            {
              dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "bad_request", "%s", error->message);
              return;
            }
        }
      else if (strcmp (req->method, "GET") != 0)
        {
          dc_respond_error (req, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed", "GET or POST");
          return;
        }
      w = fc_json_writer_new (FALSE);
      dc_faults_write (self, w);
      dc_respond_writer (req, SOUP_STATUS_OK, w);
      return;
    }
  dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "not_found", "No such admin resource");
}

static void
route (DcRequest *req,
       char     **seg,
       guint      n)
{
  const char *m = req->method;
  gboolean post = strcmp (m, "POST") == 0, patch = strcmp (m, "PATCH") == 0;
  gboolean get = strcmp (m, "GET") == 0, del = strcmp (m, "DELETE") == 0;

  if (n >= 2 && strcmp (seg[0], "auth") == 0)
    {
      if (!post)
        dc_respond_error (req, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed", "Use POST");
      else if (path_is (seg, n, "auth", "login", NULL, NULL))
        dc_route_login (req);
      else if (path_is (seg, n, "auth", "refresh", NULL, NULL))
        dc_route_refresh (req);
      else if (path_is (seg, n, "auth", "pair", NULL, NULL))
        dc_route_pair (req);
      else if (path_is (seg, n, "auth", "logout", NULL, NULL))
        dc_route_logout (req);
      else
        dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "not_found", "No such resource");
      return;
    }

  if (n >= 1 && strcmp (seg[0], "files") == 0)
    {
      if (n == 1 && strcmp (m, "OPTIONS") == 0)
        dc_tus_options (req);
      else if (n == 1 && post)
        dc_tus_create (req);
      else if (n == 2 && strcmp (m, "HEAD") == 0)
        dc_tus_head (req, seg[1]);
      else if (n == 2 && del)
        dc_tus_delete (req, seg[1]);
      else if (n == 2 && patch)
        dc_tus_patch_finish (req);
      else
        dc_respond_error (req, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed", "Not a tus request");
      return;
    }

  if (path_is (seg, n, "_bench", "blob", NULL, NULL) && strcmp (m, "PUT") == 0)
    {
      dc_blob_finish (req);
      return;
    }

  if (n < 3 || strcmp (seg[0], "api") != 0 || strcmp (seg[1], "v1") != 0)
    {
      dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "not_found", "No such resource");
      return;
    }

  if (path_is (seg, n, "api", "v1", "me", NULL) && get)
    dc_route_me (req);
  else if (path_is (seg, n, "api", "v1", "devices", NULL) && post)
    dc_route_devices_post (req);
  else if (path_is (seg, n, "api", "v1", "devices", "pair-codes") && post)
    dc_route_pair_codes (req);
  else if (path_is (seg, n, "api", "v1", "devices", "*") && del)
    dc_route_device_delete (req, seg[3]);
  else if (path_is (seg, n, "api", "v1", "fittings", NULL) && post)
    dc_route_fittings_post (req);
  else if (n >= 4 && strcmp (seg[2], "fittings") == 0 && !is_uuid (seg[3]))
    dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "fitting_not_found", "“%s” is not a fitting id", seg[3]);
  else if (path_is (seg, n, "api", "v1", "fittings", "*") && get)
    dc_route_fitting_get (req, seg[3]);
  else if (path_is (seg, n, "api", "v1", "fittings", "*") && patch)
    dc_route_fitting_patch (req, seg[3]);
  else if (n == 5 && strcmp (seg[2], "fittings") == 0 && strcmp (seg[4], "shots") == 0 && post)
    dc_route_shots_post (req, seg[3]);
  else if (n == 5 && strcmp (seg[2], "fittings") == 0 && strcmp (seg[4], "complete") == 0 && patch)
    dc_route_complete (req, seg[3]);
  else if (n == 5 && strcmp (seg[2], "fittings") == 0 && strcmp (seg[4], "videos") == 0 && post)
    dc_route_videos_post (req, seg[3]);
  else if (n == 5 && strcmp (seg[2], "videos") == 0 && strcmp (seg[4], "content") == 0 && get)
    dc_route_video_content (req, seg[3]);
  else if (n == 5 && strcmp (seg[2], "shops") == 0 && strcmp (seg[4], "branding") == 0 && get)
    dc_route_branding (req, seg[3]);
  else if (n == 5 && strcmp (seg[2], "shops") == 0 && strcmp (seg[4], "logo") == 0 && get)
    dc_route_logo (req, seg[3]);
  else
    dc_respond_error (req, SOUP_STATUS_NOT_FOUND, "not_found", "No such resource (%s %s)", m, req->path);
}

static char *
request_hash (DcRequest *req)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

  g_checksum_update (sum, (const guchar *) req->method, strlen (req->method) + 1);
  g_checksum_update (sum, (const guchar *) req->path, strlen (req->path) + 1);
  g_checksum_update (sum, req->body->data, req->body->len);
  return g_strdup (g_checksum_get_string (sum));
}

static gboolean
valid_key (const char *key)
{
  gsize len = strlen (key);

  if (len == 0 || len > 255)
    return FALSE;
  for (const char *p = key; *p; p++)
    if (*p < 0x21 || *p > 0x7e)
      return FALSE;
  return TRUE;
}

/* A stored answer for (principal, key): replay it, or refuse the key. */
static gboolean
replay (DcRequest  *req,
        const char *key,
        const char *hash)
{
  DcStore *store = req->server->store;
  sqlite3_stmt *stmt = dc_store_stmt (store,
                                      "SELECT request_hash, status, content_type, headers, body"
                                      " FROM idempotency WHERE principal = ? AND key = ? AND created_at > ?");
  g_autofree char *stored_hash = NULL, *content_type = NULL, *headers = NULL;
  g_autoptr(GBytes) body = NULL;
  guint status = 0;

  dc_bind_text (stmt, 1, req->principal->key);
  dc_bind_text (stmt, 2, key);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time () - (gint64) DC_IDEMPOTENCY_TTL_S * G_USEC_PER_SEC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      stored_hash = dc_column_dup (stmt, 0);
      status = sqlite3_column_int (stmt, 1);
      content_type = dc_column_dup (stmt, 2);
      headers = dc_column_dup (stmt, 3);
      if (sqlite3_column_type (stmt, 4) != SQLITE_NULL)
        body = g_bytes_new (sqlite3_column_blob (stmt, 4), sqlite3_column_bytes (stmt, 4));
    }
  sqlite3_reset (stmt);
  if (stored_hash == NULL)
    return FALSE;

  if (strcmp (stored_hash, hash) != 0)
    {
      dc_respond_error (req, 422, "idempotency_key_reused",
                        "Idempotency-Key “%s” was used for a different request", key);
      return TRUE;
    }
  if (headers)
    {
      g_auto(GStrv) lines = g_strsplit (headers, "\n", -1);

      for (guint i = 0; lines[i] && lines[i + 1]; i += 2)
        dc_request_add_header (req, lines[i], lines[i + 1]);
    }
  dc_request_add_header (req, "Idempotent-Replayed", "true");
  dc_respond_bytes (req, status, content_type, body);
  return TRUE;
}

static gboolean
remember (DcRequest   *req,
          const char  *key,
          const char  *hash,
          GError     **error)
{
  DcStore *store = req->server->store;
  sqlite3_stmt *stmt = dc_store_stmt (store,
                                      "INSERT OR REPLACE INTO idempotency (principal, key, request_hash, status,"
                                      " content_type, headers, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  g_autoptr(GString) headers = g_string_new (NULL);

  if (req->store_headers && req->headers)
    for (guint i = 0; i + 1 < req->headers->len; i += 2)
      g_string_append_printf (headers, "%s%s\n%s", headers->len ? "\n" : "",
                              (char *) g_ptr_array_index (req->headers, i),
                              (char *) g_ptr_array_index (req->headers, i + 1));
  dc_bind_text (stmt, 1, req->principal->key);
  dc_bind_text (stmt, 2, key);
  dc_bind_text (stmt, 3, hash);
  sqlite3_bind_int (stmt, 4, req->status);
  dc_bind_text (stmt, 5, req->content_type);
  dc_bind_text (stmt, 6, headers->len ? headers->str : NULL);
  if (req->response)
    sqlite3_bind_blob (stmt, 7, g_bytes_get_data (req->response, NULL), g_bytes_get_size (req->response),
                       SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 8, g_get_real_time ());
  return dc_store_step_done (store, stmt, error);
}

static void
purge (DcServer *self)
{
  gint64 now = g_get_real_time ();
  sqlite3_stmt *stmt;

  stmt = dc_store_stmt (self->store, "DELETE FROM idempotency WHERE created_at < ?");
  sqlite3_bind_int64 (stmt, 1, now - (gint64) DC_IDEMPOTENCY_TTL_S * G_USEC_PER_SEC);
  dc_store_step_done (self->store, stmt, NULL);
  /* Expired access tokens are kept a day, so that a late client hears
   * "token_expired" rather than "invalid_token". */
  stmt = dc_store_stmt (self->store, "DELETE FROM access_tokens WHERE expires_at < ?");
  sqlite3_bind_int64 (stmt, 1, now - (gint64) 24 * 3600 * G_USEC_PER_SEC);
  dc_store_step_done (self->store, stmt, NULL);
  stmt = dc_store_stmt (self->store, "DELETE FROM pair_codes WHERE expires_at < ?");
  sqlite3_bind_int64 (stmt, 1, now - (gint64) 24 * 3600 * G_USEC_PER_SEC);
  dc_store_step_done (self->store, stmt, NULL);
  dc_tus_expire (self);
}

static void
handler (SoupServer        *soup,
         SoupServerMessage *msg,
         const char        *path,
         GHashTable        *query,
         gpointer           data)
{
  DcServer *self = data;
  DcRequest *req = g_object_get_data (G_OBJECT (msg), "dc-request");
  g_auto(GStrv) seg = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *hash = NULL;
  const char *key = NULL;
  gboolean post, patch, needs_key, api;
  guint n;

  if (req == NULL || req->answered)
    return;

  if (req->body_too_large)
    {
      dc_respond_error (req, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "body_too_large",
                        "The body is larger than 16 MiB");
      return;
    }
  if (req->admin)
    {
      admin_route (req);
      return;
    }
  if (strcmp (path, "/health") == 0)
    {
      FcJsonWriter *w = fc_json_writer_new (FALSE);

      fc_json_writer_begin_object (w);
      fc_json_writer_key (w, "status");
      fc_json_writer_string (w, "ok");
      fc_json_writer_key (w, "version");
      fc_json_writer_string (w, PACKAGE_VERSION);
      fc_json_writer_end_object (w);
      dc_respond_writer (req, SOUP_STATUS_OK, w);
      req->processed = TRUE;
      return;
    }

  if (++self->requests_since_purge >= 1000)
    {
      self->requests_since_purge = 0;
      purge (self);
    }

  seg = g_strsplit (path + 1, "/", -1);
  n = g_strv_length (seg);
  if (n > 0 && seg[n - 1][0] == '\0')   /* "/files/" */
    g_clear_pointer (&seg[--n], g_free);

  post = strcmp (req->method, "POST") == 0;
  patch = strcmp (req->method, "PATCH") == 0;
  api = g_str_has_prefix (path, "/api/v1/");
  needs_key = api && (post || patch);
  key = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Idempotency-Key");
  if (!(needs_key || (post && strcmp (path, "/files/") == 0)))
    key = NULL;
  else if (key == NULL && needs_key)
    {
      dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "idempotency_key_missing",
                        "Every POST and PATCH needs an Idempotency-Key header");
      return;
    }
  else if (key && !valid_key (key))
    {
      dc_respond_error (req, SOUP_STATUS_BAD_REQUEST, "invalid_idempotency_key",
                        "Idempotency-Key must be 1 to 255 printable ASCII characters");
      return;
    }

  if (!dc_store_begin (self->store, &error))
    {
      dc_respond_error (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "unavailable", "%s", error->message);
      return;
    }
  if (key)
    {
      if (dc_authenticate (req) == NULL)
        {
          dc_store_rollback (self->store);
          return;
        }
      hash = request_hash (req);
      if (replay (req, key, hash))
        {
          dc_store_rollback (self->store);
          req->processed = TRUE;
          return;
        }
    }

  route (req, seg, n);
  req->processed = TRUE;

  if (req->status >= 200 && req->status < 300)
    {
      if ((key && !remember (req, key, hash, &error)) || !dc_store_commit (self->store, &error))
        {
          dc_store_rollback (self->store);
          g_clear_pointer (&req->headers, g_ptr_array_unref);
          dc_respond_error (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal", "%s", error->message);
        }
    }
  else
    dc_store_rollback (self->store);
}

/* ---- life cycle ---------------------------------------------------------- */

DcServer *
dc_server_new (const DcConfig *config,
               GError        **error)
{
  DcServer *self = g_new0 (DcServer, 1);
  g_autoptr(GTlsCertificate) cert = NULL;

  self->config = *config;
  self->store = dc_store_open (config->db_path, FALSE, error);
  if (self->store == NULL)
    {
      g_free (self);
      return NULL;
    }
  self->rand = config->have_seed ? g_rand_new_with_seed ((guint32) config->seed) : g_rand_new ();
  self->upload_hashes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, dc_upload_hash_free);
  self->upload_locks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->uploads_dir = g_build_filename (config->files_dir, "uploads", NULL);
  self->blob_path = g_build_filename (config->files_dir, "bench-blob", NULL);
  if (g_mkdir_with_parents (self->uploads_dir, 0700) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "Cannot create %s: %s",
                   self->uploads_dir, g_strerror (errsv));
      dc_server_free (self);
      return NULL;
    }

  if (config->tls_cert)
    {
      cert = g_tls_certificate_new_from_files (config->tls_cert, config->tls_key, error);
      if (cert == NULL)
        {
          dc_server_free (self);
          return NULL;
        }
    }
  self->soup = soup_server_new ("server-header", "fitclip-devcloud/" PACKAGE_VERSION " ",
                                "tls-certificate", cert,
                                NULL);
  soup_server_add_early_handler (self->soup, NULL, early_handler, self, NULL);
  soup_server_add_handler (self->soup, NULL, handler, self, NULL);
  purge (self);
  return self;
}

gboolean
dc_server_listen (DcServer  *self,
                  GError   **error)
{
  g_autoptr(GSocketConnectable) where = NULL;
  g_autoptr(GSocketAddressEnumerator) addrs = NULL;
  g_autoptr(GSocketAddress) addr = NULL;
  GSList *uris;
  SoupServerListenOptions options = self->config.tls_cert ? SOUP_SERVER_LISTEN_HTTPS : 0;

  where = g_network_address_parse (self->config.listen, 8080, error);
  if (where == NULL)
    return FALSE;
  addrs = g_socket_connectable_enumerate (where);
  addr = g_socket_address_enumerator_next (addrs, NULL, error);
  if (addr == NULL)
    return FALSE;
  if (!soup_server_listen (self->soup, addr, options, error))
    return FALSE;

  uris = soup_server_get_uris (self->soup);
  for (GSList *l = uris; l; l = l->next)
    {
      g_autofree char *text = g_uri_to_string_partial (l->data, G_URI_HIDE_PASSWORD);
      gsize len = strlen (text);

      if (len > 0 && text[len - 1] == '/')
        text[len - 1] = '\0';
      g_print ("listening on %s\n", text);
      break;
    }
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  fflush (stdout);
  return TRUE;
}

void
dc_server_free (DcServer *self)
{
  if (self == NULL)
    return;
  if (self->soup)
    soup_server_disconnect (self->soup);
  g_clear_object (&self->soup);
  g_clear_pointer (&self->upload_hashes, g_hash_table_unref);
  g_clear_pointer (&self->upload_locks, g_hash_table_unref);
  g_clear_pointer (&self->rand, g_rand_free);
  dc_store_free (self->store);
  g_free (self->uploads_dir);
  g_free (self->blob_path);
  g_free (self);
}
