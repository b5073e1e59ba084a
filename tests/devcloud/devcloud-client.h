/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * Test helpers: a real fitclip-devcloud process on 127.0.0.1 port 0 with
 * a temporary database, and a libsoup client for it.
 */

typedef struct {
  char        *dir;
  char        *db;
  char        *url;      /* http://127.0.0.1:PORT */
  GSubprocess *process;
  SoupSession *session;
  char        *email;
  char        *password;
} Cloud;

typedef struct {
  guint               status;
  GBytes             *body;
  SoupMessageHeaders *headers;
  JsonNode           *json;     /* NULL unless the body is JSON */
} Resp;

/* Runs `fitclip-devcloud ARGS…` (a NULL-terminated list) to completion;
 * returns its stdout, asserting a zero exit. */
char   *devcloud_run      (const char *first_arg,
                           ...) G_GNUC_NULL_TERMINATED;

/* A server with one owner (owner@shop.test / secret-pw, shop "Golf Lab")
 * and the extra serve options given (NULL-terminated, may be NULL). */
Cloud  *cloud_start       (const char *const *extra_args);
void    cloud_stop        (Cloud      *cloud);

/* One request. @json_body may be NULL; @idem_key NULL sends none. */
Resp   *cloud_request     (Cloud      *cloud,
                           const char *method,
                           const char *path,
                           const char *token,
                           const char *idem_key,
                           const char *json_body);
/* A request with arbitrary headers (name, value, …, NULL) and a raw body. */
Resp   *cloud_request_raw (Cloud        *cloud,
                           const char   *method,
                           const char   *path,
                           GBytes       *body,
                           const char   *content_type,
                           const char   *first_header,
                           ...) G_GNUC_NULL_TERMINATED;
void    resp_free         (Resp       *resp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Resp, resp_free)

/* Members by a dotted path ("error.code", "user.shop_id"). */
const char *resp_str      (Resp       *resp,
                           const char *path);
gint64      resp_int      (Resp       *resp,
                           const char *path);
JsonNode   *json_at       (JsonNode   *root,
                           const char *path);

/* Logs the owner in; returns the access token (and the shop id). */
char   *cloud_login       (Cloud      *cloud,
                           char      **shop_id);

/* Writes raw bytes on a new TCP connection, optionally closing the write
 * side early (@close_after < len: cut the request), and returns every
 * byte read until the server closes (bounded by @timeout_ms). */
GBytes *raw_exchange      (Cloud      *cloud,
                           const char *data,
                           gsize       len,
                           gsize       close_after,
                           guint       timeout_ms);

G_END_DECLS
