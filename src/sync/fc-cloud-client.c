/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-cloud-client"

#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "fc-cloud-answer.h"
#include "fc-cloud-client.h"
#include "fc-error.h"
#include "fc-json-writer.h"

/* Answers of the API are small; a bigger one is a broken or hostile
 * server, not something to buffer. */
#define MAX_ANSWER_SIZE (4 * 1024 * 1024)
#define READ_BLOCK_SIZE (64 * 1024)

/* An access token is renewed when less than this part of its lifetime
 * is left (at most a minute), so a request never leaves with a token
 * that expires on the way. */
#define REFRESH_MARGIN_MAX_US (60 * G_USEC_PER_SEC)
#define REFRESH_MARGIN_DIVISOR 5

/* POST /api/v1/devices is safe to repeat under its Idempotency-Key. */
#define MAX_DEVICE_ATTEMPTS 3

#define STATUS_TOO_MANY_REQUESTS 429

struct _FcCloudClient
{
  GObject        parent_instance;

  char          *base_url;     /* without a trailing '/' */
  SoupSession   *session;
  FcSecretStore *secrets;
  char          *device_name;

  /* The device's refresh token (secret bytes, wiped when released); NULL
   * until read from the keyring or after the pairing went away. */
  GBytes        *refresh_token;
  char          *access_token;
  gint64         access_renew_at;   /* monotonic µs */

  /* ensure_access() callers waiting for the one refresh in flight. */
  GPtrArray     *token_waiters;
  gboolean       refreshing;

  guint          token_serial;     /* changes with the refresh token */
  guint          refresh_count;
  guint          unauthorized_count;
};

G_DEFINE_FINAL_TYPE (FcCloudClient, fc_cloud_client, G_TYPE_OBJECT)

/* ------------------------------------------------------------------ */
/* Classification (pure) */

const char *
fc_cloud_outcome_to_string (FcCloudOutcome outcome)
{
  switch (outcome)
    {
    case FC_CLOUD_SUCCESS: return "success";
    case FC_CLOUD_RETRY: return "retry";
    case FC_CLOUD_UNAUTHORIZED: return "unauthorized";
    case FC_CLOUD_NEEDS_PAIRING: return "needs-pairing";
    case FC_CLOUD_REJECTED: return "rejected";
    default: return "unknown";
    }
}

static gboolean
code_is (const char *code,
         const char *const *codes)
{
  if (code == NULL)
    return FALSE;
  for (guint i = 0; codes[i] != NULL; i++)
    if (strcmp (code, codes[i]) == 0)
      return TRUE;
  return FALSE;
}

FcCloudOutcome
fc_cloud_classify (guint       status,
                   const char *error_code)
{
  static const char *const pairing_gone[] = {
    "pairing_revoked", "refresh_expired", "invalid_refresh_token", NULL
  };
  static const char *const typed_by_a_person[] = {
    "invalid_credentials", "invalid_pair_code", NULL
  };
  /* The server does not know yet what the request builds on (the
   * fitting's create, a configuration, a finished upload): the ordering
   * brings it, so the same request will succeed later. */
  static const char *const not_there_yet[] = {
    "fitting_not_found", "unknown_config", "unknown_shot", "upload_incomplete", NULL
  };

  if (status == 0)
    return FC_CLOUD_RETRY;
  if (status >= 200 && status < 300)
    return FC_CLOUD_SUCCESS;
  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      if (code_is (error_code, pairing_gone))
        return FC_CLOUD_NEEDS_PAIRING;
      if (code_is (error_code, typed_by_a_person))
        return FC_CLOUD_REJECTED;
      return FC_CLOUD_UNAUTHORIZED;
    }
  if (status == SOUP_STATUS_REQUEST_TIMEOUT || status == STATUS_TOO_MANY_REQUESTS ||
      status == 423 || status >= 500)
    return FC_CLOUD_RETRY;
  if ((status == SOUP_STATUS_NOT_FOUND || status == 422) && code_is (error_code, not_there_yet))
    return FC_CLOUD_RETRY;
  if (status >= 400)
    return FC_CLOUD_REJECTED;
  /* 1xx and 3xx never reach us from the API (redirects are followed):
   * something between us and the cloud is confused; it may pass. */
  return FC_CLOUD_RETRY;
}

gint64
fc_cloud_parse_retry_after (const char *value,
                            gint64      now_unix)
{
  g_autofree char *text = NULL;
  g_autoptr(GDateTime) when = NULL;
  guint64 seconds;

  if (value == NULL)
    return -1;
  text = g_strstrip (g_strdup (value));
  if (*text == '\0')
    return -1;
  if (g_ascii_isdigit (*text))
    {
      if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT32, &seconds, NULL))
        return -1;
      return (gint64) seconds;
    }
  when = soup_date_time_new_from_http_string (text);
  if (when == NULL)
    return -1;
  return MAX (0, g_date_time_to_unix (when) - now_unix);
}

/* ------------------------------------------------------------------ */
/* FcCloudResponse */

static FcCloudResponse *
response_new (FcCloudOutcome outcome,
              guint          status,
              const char    *message)
{
  FcCloudResponse *r = g_new0 (FcCloudResponse, 1);

  r->outcome = outcome;
  r->status = status;
  r->message = g_strdup (message);
  r->retry_after = -1;
  return r;
}

FcCloudResponse *
fc_cloud_response_copy (const FcCloudResponse *response)
{
  FcCloudResponse *copy;

  g_return_val_if_fail (response != NULL, NULL);

  copy = g_memdup2 (response, sizeof *response);
  copy->error_code = g_strdup (response->error_code);
  copy->message = g_strdup (response->message);
  copy->body = response->body ? g_bytes_ref (response->body) : NULL;
  return copy;
}

void
fc_cloud_response_free (FcCloudResponse *response)
{
  if (response == NULL)
    return;
  g_free (response->error_code);
  g_free (response->message);
  g_clear_pointer (&response->body, g_bytes_unref);
  g_free (response);
}

GError *
fc_cloud_response_to_error (const FcCloudResponse *response,
                            const char            *what)
{
  int code;

  g_return_val_if_fail (response != NULL, NULL);

  switch (response->outcome)
    {
    case FC_CLOUD_RETRY:
      code = response->status == 0 ? FC_ERROR_NETWORK : FC_ERROR_SERVER;
      break;
    case FC_CLOUD_UNAUTHORIZED:
    case FC_CLOUD_NEEDS_PAIRING:
      code = FC_ERROR_UNAUTHORIZED;
      break;
    case FC_CLOUD_REJECTED:
      code = FC_ERROR_REJECTED;
      break;
    case FC_CLOUD_SUCCESS:
    default:
      code = FC_ERROR_FAILED;
      break;
    }
  if (what != NULL)
    return g_error_new (FC_ERROR, code, "%s: %s", what, response->message);
  return g_error_new_literal (FC_ERROR, code, response->message);
}

/* ------------------------------------------------------------------ */
/* Secrets in memory */

static gboolean
same_bytes (GBytes *a,
            GBytes *b)
{
  gsize la, lb;
  const guint8 *da, *db;

  if (a == NULL || b == NULL)
    return a == b;
  da = g_bytes_get_data (a, &la);
  db = g_bytes_get_data (b, &lb);
  return la == lb && CRYPTO_memcmp (da, db, la) == 0;
}

/* A JSON object of string members (name, value, ..., NULL) in bytes that
 * are wiped when released: bodies that carry a password or a token. */
static GBytes *
secret_json_body (const char *first_name,
                  ...)
{
  g_autoptr(FcJsonWriter) w = fc_json_writer_new (FALSE);
  char *text;
  gsize len;
  GBytes *bytes;
  va_list args;

  fc_json_writer_begin_object (w);
  va_start (args, first_name);
  for (const char *name = first_name; name != NULL; name = va_arg (args, const char *))
    {
      fc_json_writer_key (w, name);
      fc_json_writer_string (w, va_arg (args, const char *));
    }
  va_end (args);
  fc_json_writer_end_object (w);
  text = fc_json_writer_steal (g_steal_pointer (&w), &len);
  bytes = fc_secret_bytes_new (text, len);
  OPENSSL_cleanse (text, len);
  g_free (text);
  return bytes;
}

/* {"refresh_token": @token}, wiped when released. */
static GBytes *
refresh_token_body (GBytes *token)
{
  gsize len;
  const char *data = g_bytes_get_data (token, &len);
  g_autofree char *text = g_strndup (data, len);
  GBytes *body = secret_json_body ("refresh_token", text, NULL);

  OPENSSL_cleanse (text, strlen (text));
  return body;
}

static void
forget_access_token (FcCloudClient *self)
{
  fc_secret_string_clear (&self->access_token);
  self->access_renew_at = 0;
}

static void
set_refresh_token (FcCloudClient *self,
                   GBytes        *token)
{
  if (same_bytes (self->refresh_token, token))
    return;
  g_clear_pointer (&self->refresh_token, g_bytes_unref);
  self->refresh_token = token ? g_bytes_ref (token) : NULL;
  self->token_serial++;
  forget_access_token (self);
}

/* ------------------------------------------------------------------ */
/* The device token in the keyring */

typedef void (*KeyringCall) (FcSecretStore       *store,
                             const char          *name,
                             const char          *account,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data);

/* @call (fc_secret_store_lookup_async or _clear_async) on this cloud's
 * device token, for @task, whose reference @callback gets. */
static void
device_token_async (GTask               *task,
                    KeyringCall          call,
                    GAsyncReadyCallback  callback)
{
  FcCloudClient *self = g_task_get_source_object (task);

  call (self->secrets, FC_SECRET_DEVICE_REFRESH_TOKEN, self->base_url, g_task_get_cancellable (task),
        callback, task);
}

/* The stored device token; NULL without an error when this PC is not
 * paired (nothing stored, or an empty entry); NULL with @error when the
 * keyring cannot be read. */
static GBytes *
device_token_lookup_finish (GObject       *source,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) token = fc_secret_store_lookup_finish (FC_SECRET_STORE (source), result, &local_error);

  if (token != NULL && g_bytes_get_size (token) > 0)
    return g_steal_pointer (&token);
  if (token == NULL && !g_error_matches (local_error, FC_ERROR, FC_ERROR_NOT_FOUND))
    g_propagate_error (error, g_steal_pointer (&local_error));
  return NULL;
}

/* ------------------------------------------------------------------ */
/* One HTTP exchange, its answer read (bounded) and classified */

static GTask *
new_task (FcCloudClient       *self,
          gpointer             source_tag,
          GCancellable        *cancellable,
          GAsyncReadyCallback  callback,
          gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  return task;
}

static void
return_response (GTask           *task,
                 FcCloudResponse *response)
{
  g_task_return_pointer (task, response, (GDestroyNotify) fc_cloud_response_free);
}

typedef struct {
  SoupMessage  *msg;
  GInputStream *stream;
  GByteArray   *buffer;
} Exchange;

static void
exchange_free (Exchange *x)
{
  g_clear_object (&x->msg);
  g_clear_object (&x->stream);
  g_clear_pointer (&x->buffer, g_byte_array_unref);
  g_free (x);
}

static FcCloudResponse *
no_answer (FcCloudClient *self,
           GError        *error)
{
  g_autofree char *message = NULL;

  if (error->domain == G_TLS_ERROR)
    message = g_strdup_printf ("The cloud's certificate at %s is not trusted (%s): check the "
                               "address and the computer's clock; behind a shop proxy that "
                               "inspects TLS, give its CA certificate (--ca-file, or "
                               "ca-file= in the [cloud] section of agent.conf)",
                               self->base_url, error->message);
  else
    message = g_strdup_printf ("The cloud at %s cannot be reached: %s", self->base_url, error->message);
  return response_new (FC_CLOUD_RETRY, 0, message);
}

/* Only a cancelled exchange ends in an error; no answer is an outcome. */
static void
return_no_answer (GTask   *task,
                  GError **error)
{
  if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, g_steal_pointer (error));
  else
    return_response (task, no_answer (g_task_get_source_object (task), *error));
}

static FcCloudResponse *
response_from_answer (SoupMessage *msg,
                      GBytes      *body)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
  guint status = soup_message_get_status (msg);
  const char *reason = soup_message_get_reason_phrase (msg);
  FcCloudResponse *r = response_new (FC_CLOUD_SUCCESS, status, NULL);
  const char *replayed = soup_message_headers_get_one (headers, "Idempotent-Replayed");

  r->body = g_bytes_ref (body);
  r->retry_after = fc_cloud_parse_retry_after (soup_message_headers_get_one (headers, "Retry-After"),
                                               g_get_real_time () / G_USEC_PER_SEC);
  r->replayed = replayed != NULL && g_ascii_strcasecmp (replayed, "true") == 0;
  if (status >= 400)
    {
      g_autoptr(FcCloudAnswer) answer = fc_cloud_answer_parse (body);

      r->error_code = g_steal_pointer (&answer->error_code);
      if (answer->error_message != NULL)
        r->message = g_strdup_printf ("%s (HTTP %u %s)", answer->error_message, status,
                                      r->error_code ? r->error_code : (reason ? reason : ""));
    }
  if (r->message == NULL)
    r->message = g_strdup_printf ("HTTP %u %s", status, reason ? reason : "");
  r->outcome = fc_cloud_classify (status, r->error_code);
  return r;
}

static void exchange_read_more (GTask *task);

static void
on_exchange_read (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FcCloudClient *self = g_task_get_source_object (task);
  Exchange *x = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) block = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);

  if (block == NULL)
    {
      return_no_answer (task, &error);
      return;
    }
  if (g_bytes_get_size (block) == 0)
    {
      g_autoptr(GBytes) body = g_byte_array_free_to_bytes (g_steal_pointer (&x->buffer));

      return_response (task, response_from_answer (x->msg, body));
      return;
    }
  if (x->buffer->len + g_bytes_get_size (block) > MAX_ANSWER_SIZE)
    {
      g_autofree char *message = g_strdup_printf ("The cloud at %s sent an answer larger than %u MiB",
                                                  self->base_url, MAX_ANSWER_SIZE / (1024 * 1024));

      return_response (task, response_new (FC_CLOUD_RETRY, soup_message_get_status (x->msg), message));
      return;
    }
  g_byte_array_append (x->buffer, g_bytes_get_data (block, NULL), g_bytes_get_size (block));
  exchange_read_more (g_steal_pointer (&task));
}

static void
exchange_read_more (GTask *task)
{
  Exchange *x = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (x->stream, READ_BLOCK_SIZE, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), on_exchange_read, task);
}

static void
on_exchange_sent (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Exchange *x = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  x->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (x->stream == NULL)
    {
      return_no_answer (task, &error);
      return;
    }
  exchange_read_more (g_steal_pointer (&task));
}

static void
exchange_async (FcCloudClient       *self,
                SoupMessage         *msg,
                GCancellable        *cancellable,
                GAsyncReadyCallback  callback,
                gpointer             user_data)
{
  GTask *task = new_task (self, exchange_async, cancellable, callback, user_data);
  Exchange *x = g_new0 (Exchange, 1);

  x->msg = g_object_ref (msg);
  x->buffer = g_byte_array_new ();
  g_task_set_task_data (task, x, (GDestroyNotify) exchange_free);
  /* libsoup's own resend of an idempotent request on a closed kept-alive
   * connection can crash it (see new_message() in fc-tus-upload.c): the
   * API's GET, PUT and DELETE each get a connection of their own. POST
   * and PATCH are never resent by libsoup. */
  if (g_strcmp0 (soup_message_get_method (msg), "POST") != 0 &&
      g_strcmp0 (soup_message_get_method (msg), "PATCH") != 0)
    soup_message_add_flags (msg, SOUP_MESSAGE_NEW_CONNECTION);
  soup_session_send_async (self->session, msg, G_PRIORITY_DEFAULT, cancellable, on_exchange_sent, task);
}

/* The finish of exchange_async() and of every call of this file whose
 * task returns an FcCloudResponse. */
static FcCloudResponse *
response_finish (FcCloudClient  *self,
                 GAsyncResult   *result,
                 GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
boolean_finish (FcCloudClient  *self,
                GAsyncResult   *result,
                GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The response a step of @task waited for, or NULL once @task has been
 * returned: with the cancellation, or, when @what is given, with an
 * outcome other than success as an error prefixed with @what. */
static FcCloudResponse *
task_answer (GTask        *task,
             GAsyncResult *result,
             const char   *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCloudResponse) r = response_finish (g_task_get_source_object (task), result, &error);

  if (r == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else if (what != NULL && r->outcome != FC_CLOUD_SUCCESS)
    g_task_return_error (task, fc_cloud_response_to_error (r, what));
  else
    return g_steal_pointer (&r);
  return NULL;
}

static SoupMessage *
new_message (FcCloudClient *self,
             const char    *method,
             const char    *path,
             GBytes        *json_body)
{
  g_autofree char *url = g_strconcat (self->base_url, path, NULL);
  SoupMessage *msg = soup_message_new (method, url);

  g_assert (msg != NULL);
  if (json_body != NULL)
    soup_message_set_request_body_from_bytes (msg, "application/json", json_body);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", "application/json");
  return msg;
}

static void
set_bearer (SoupMessage *msg,
            const char  *token)
{
  g_autofree char *value = g_strconcat ("Bearer ", token, NULL);

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", value);
  OPENSSL_cleanse (value, strlen (value));
}

/* One request for @task, whose reference @callback gets: @body as JSON,
 * @bearer as Authorization and @idempotency_key, each when not NULL. */
static void
call_async (GTask               *task,
            const char          *method,
            const char          *path,
            GBytes              *body,
            const char          *bearer,
            const char          *idempotency_key,
            GAsyncReadyCallback  callback)
{
  FcCloudClient *self = g_task_get_source_object (task);
  g_autoptr(SoupMessage) msg = new_message (self, method, path, body);

  if (bearer != NULL)
    set_bearer (msg, bearer);
  if (idempotency_key != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Idempotency-Key",
                                  idempotency_key);
  exchange_async (self, msg, g_task_get_cancellable (task), callback, task);
}

/* ------------------------------------------------------------------ */
/* Construction */

static gboolean
host_is_loopback (const char *host)
{
  g_autoptr(GInetAddress) address = NULL;

  if (host == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;
  address = g_inet_address_new_from_string (host);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

static const char *
platform_name (void)
{
#if defined(G_OS_WIN32)
  return "windows";
#elif defined(__APPLE__)
  return "macos";
#else
  return "linux";
#endif
}

FcCloudClient *
fc_cloud_client_new (const FcCloudClientOptions *options,
                     GError                    **error)
{
  g_autoptr(FcCloudClient) self = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *base = NULL;
  const char *scheme, *host;
  gsize len;

  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (options->base_url == NULL || *options->base_url == '\0')
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                           "No cloud address is configured (--cloud URL, FITCLIP_CLOUD, "
                           "or url= in the [cloud] section of agent.conf)");
      return NULL;
    }
  uri = g_uri_parse (options->base_url, SOUP_HTTP_URI_FLAGS, &local_error);
  scheme = uri ? g_uri_get_scheme (uri) : NULL;
  host = uri ? g_uri_get_host (uri) : NULL;
  if (uri == NULL || host == NULL || *host == '\0' ||
      (g_ascii_strcasecmp (scheme, "https") != 0 && g_ascii_strcasecmp (scheme, "http") != 0) ||
      g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "“%s” is not a cloud address (expected https://HOST[:PORT][/PATH])",
                   options->base_url);
      return NULL;
    }
  /* Without TLS anyone on the way could read the tokens and the data. */
  if (g_ascii_strcasecmp (scheme, "http") == 0 && !host_is_loopback (host))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "The cloud address “%s” is not encrypted: use https:// (plain http:// is "
                   "accepted only for a test cloud on this computer)", options->base_url);
      return NULL;
    }
  if (g_ascii_strcasecmp (scheme, "https") == 0 &&
      !g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                           "This installation has no TLS support (GIO's TLS module, "
                           "glib-networking, is missing): it cannot reach an https:// cloud");
      return NULL;
    }

  base = g_uri_to_string (uri);
  len = strlen (base);
  while (len > 0 && base[len - 1] == '/')
    base[--len] = '\0';

  self = g_object_new (FC_TYPE_CLOUD_CLIENT, NULL);
  self->base_url = g_steal_pointer (&base);
  self->device_name = g_strdup (options->device_name ? options->device_name : g_get_host_name ());
  self->secrets = options->secrets ? g_object_ref (options->secrets) : fc_secret_store_new_default ();
  self->session = soup_session_new_with_options ("timeout", options->timeout_s ? options->timeout_s : 60,
                                                 "idle-timeout", 60,
                                                 "user-agent", "FitClipAgent/" PACKAGE_VERSION " ",
                                                 NULL);
  if (options->no_proxy)
    soup_session_set_proxy_resolver (self->session, NULL);
  if (options->ca_file != NULL)
    {
      g_autoptr(GTlsDatabase) database = g_tls_file_database_new (options->ca_file, &local_error);

      if (database == NULL)
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                       "The CA file %s cannot be used: %s", options->ca_file, local_error->message);
          return NULL;
        }
      /* Replaces the system's trust store: nothing else is trusted. */
      soup_session_set_tls_database (self->session, database);
    }
  return g_steal_pointer (&self);
}

static void
fc_cloud_client_dispose (GObject *object)
{
  FcCloudClient *self = FC_CLOUD_CLIENT (object);

  g_clear_object (&self->session);
  g_clear_object (&self->secrets);
  G_OBJECT_CLASS (fc_cloud_client_parent_class)->dispose (object);
}

static void
fc_cloud_client_finalize (GObject *object)
{
  FcCloudClient *self = FC_CLOUD_CLIENT (object);

  g_assert (self->token_waiters->len == 0);
  g_ptr_array_unref (self->token_waiters);
  g_clear_pointer (&self->refresh_token, g_bytes_unref);
  forget_access_token (self);
  g_free (self->base_url);
  g_free (self->device_name);
  G_OBJECT_CLASS (fc_cloud_client_parent_class)->finalize (object);
}

static void
fc_cloud_client_class_init (FcCloudClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = fc_cloud_client_dispose;
  object_class->finalize = fc_cloud_client_finalize;
}

static void
fc_cloud_client_init (FcCloudClient *self)
{
  self->token_waiters = g_ptr_array_new ();
}

const char *
fc_cloud_client_get_base_url (FcCloudClient *self)
{
  g_return_val_if_fail (FC_IS_CLOUD_CLIENT (self), NULL);
  return self->base_url;
}

SoupSession *
fc_cloud_client_get_session (FcCloudClient *self)
{
  g_return_val_if_fail (FC_IS_CLOUD_CLIENT (self), NULL);
  return self->session;
}

guint
fc_cloud_client_get_refresh_count (FcCloudClient *self)
{
  g_return_val_if_fail (FC_IS_CLOUD_CLIENT (self), 0);
  return self->refresh_count;
}

guint
fc_cloud_client_get_token_serial (FcCloudClient *self)
{
  g_return_val_if_fail (FC_IS_CLOUD_CLIENT (self), 0);
  return self->token_serial;
}

guint
fc_cloud_client_get_unauthorized_count (FcCloudClient *self)
{
  g_return_val_if_fail (FC_IS_CLOUD_CLIENT (self), 0);
  return self->unauthorized_count;
}

void
fc_cloud_client_authorize (FcCloudClient *self,
                           SoupMessage   *message)
{
  g_return_if_fail (FC_IS_CLOUD_CLIENT (self));
  g_return_if_fail (SOUP_IS_MESSAGE (message));

  if (self->access_token != NULL)
    set_bearer (message, self->access_token);
}

/* ------------------------------------------------------------------ */
/* Forgetting a pairing the cloud no longer knows */

typedef struct {
  GBytes *token;   /* the token the cloud turned down */
} Forget;

static void
forget_free (Forget *f)
{
  g_clear_pointer (&f->token, g_bytes_unref);
  g_free (f);
}

static void
on_forget_cleared (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!fc_secret_store_clear_finish (FC_SECRET_STORE (source), result, &error))
    g_warning ("Cannot remove the revoked device token from the keyring: %s", error->message);
  g_task_return_boolean (task, TRUE);
}

static void
on_forget_looked_up (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FcCloudClient *self = g_task_get_source_object (task);
  Forget *f = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) stored = fc_secret_store_lookup_finish (FC_SECRET_STORE (source), result, &error);

  /* Another program may have paired this PC again meanwhile: its new
   * token stays. */
  if (stored == NULL || !same_bytes (stored, f->token))
    {
      if (stored != NULL)
        set_refresh_token (self, stored);
      g_task_return_boolean (task, TRUE);
      return;
    }
  device_token_async (g_steal_pointer (&task), fc_secret_store_clear_async, on_forget_cleared);
}

static void
forget_pairing_async (FcCloudClient       *self,
                      GBytes              *token,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  GTask *task = new_task (self, forget_pairing_async, cancellable, callback, user_data);
  Forget *f = g_new0 (Forget, 1);

  f->token = token ? g_bytes_ref (token) : NULL;
  g_task_set_task_data (task, f, (GDestroyNotify) forget_free);
  if (same_bytes (self->refresh_token, token))
    set_refresh_token (self, NULL);
  if (token == NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  device_token_async (task, fc_secret_store_lookup_async, on_forget_looked_up);
}

static void
tell_to_pair_again (FcCloudClient   *self,
                    FcCloudResponse *r)
{
  g_autofree char *why = r->message;

  r->outcome = FC_CLOUD_NEEDS_PAIRING;
  r->message = g_strdup_printf ("This PC is no longer paired with the cloud at %s (%s): pair it "
                                "again (fitclipctl login or fitclipctl pair CODE); nothing waiting "
                                "to be sent is lost", self->base_url, why);
}

/* ------------------------------------------------------------------ */
/* Access tokens */

static gboolean
access_token_fresh (FcCloudClient *self)
{
  return self->access_token != NULL && g_get_monotonic_time () < self->access_renew_at;
}

static void
finish_token_waiters (FcCloudClient         *self,
                      const FcCloudResponse *response,
                      const GError          *error)
{
  g_autoptr(GPtrArray) waiters = g_steal_pointer (&self->token_waiters);

  self->token_waiters = g_ptr_array_new ();
  self->refreshing = FALSE;
  for (guint i = 0; i < waiters->len; i++)
    {
      g_autoptr(GTask) task = g_ptr_array_index (waiters, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        return_response (task, fc_cloud_response_copy (response));
    }
}

static void
on_refresh_forgot (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  FcCloudResponse *response = user_data;
  FcCloudClient *self = FC_CLOUD_CLIENT (source);

  g_task_propagate_boolean (G_TASK (result), NULL);
  finish_token_waiters (self, response, NULL);
  fc_cloud_response_free (response);
}

static void
on_refreshed (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GBytes) token = user_data;   /* the refresh token sent */
  FcCloudClient *self = FC_CLOUD_CLIENT (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCloudResponse) r = response_finish (self, result, &error);

  if (r == NULL)
    {
      finish_token_waiters (self, NULL, error);
      return;
    }
  if (r->outcome == FC_CLOUD_SUCCESS)
    {
      g_autoptr(FcCloudAnswer) answer = fc_cloud_answer_parse (r->body);
      gint64 expires_in = answer->expires_in;

      if (answer->access_token == NULL || *answer->access_token == '\0' || expires_in <= 0)
        {
          g_autoptr(FcCloudResponse) bad =
            response_new (FC_CLOUD_RETRY, r->status, "The cloud's answer to a token refresh is malformed");
          finish_token_waiters (self, bad, NULL);
          return;
        }
      /* The token sent may have been replaced meanwhile (a new pairing):
       * then this access token belongs to the old one; drop it. */
      if (same_bytes (token, self->refresh_token))
        {
          gint64 lifetime = expires_in * G_USEC_PER_SEC;

          forget_access_token (self);
          self->access_token = g_steal_pointer (&answer->access_token);
          self->access_renew_at = g_get_monotonic_time () +
                                  lifetime - MIN (REFRESH_MARGIN_MAX_US, lifetime / REFRESH_MARGIN_DIVISOR);
          self->refresh_count++;
        }
      finish_token_waiters (self, r, NULL);
      return;
    }
  if (r->outcome == FC_CLOUD_NEEDS_PAIRING || r->outcome == FC_CLOUD_UNAUTHORIZED)
    {
      /* Any 401 to a refresh means the token is of no use any more. */
      tell_to_pair_again (self, r);
      forget_pairing_async (self, token, NULL, on_refresh_forgot, g_steal_pointer (&r));
      return;
    }
  {
    g_autofree char *why = r->message;

    r->message = g_strdup_printf ("Cannot get an access token: %s", why);
  }
  finish_token_waiters (self, r, NULL);
}

static void
start_refresh (FcCloudClient *self,
               GCancellable  *cancellable)
{
  g_autoptr(GBytes) body = refresh_token_body (self->refresh_token);
  g_autoptr(SoupMessage) msg = new_message (self, "POST", "/auth/refresh", body);

  exchange_async (self, msg, cancellable, on_refreshed, g_bytes_ref (self->refresh_token));
}

static void
on_refresh_token_looked_up (GObject      *source,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  g_autoptr(GObject) owner = user_data;
  FcCloudClient *self = FC_CLOUD_CLIENT (owner);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) token = device_token_lookup_finish (source, result, &error);
  g_autoptr(FcCloudResponse) r = NULL;

  if (token != NULL)
    {
      GTask *first = self->token_waiters->len ? g_ptr_array_index (self->token_waiters, 0) : NULL;

      set_refresh_token (self, token);
      start_refresh (self, first ? g_task_get_cancellable (first) : NULL);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      finish_token_waiters (self, NULL, error);
      return;
    }
  if (error == NULL)
    {
      g_autofree char *message = g_strdup_printf ("This PC is not paired with the cloud at %s: pair it "
                                                  "with fitclipctl login or fitclipctl pair CODE",
                                                  self->base_url);
      r = response_new (FC_CLOUD_NEEDS_PAIRING, 0, message);
    }
  else
    {
      /* A locked or missing keyring may come back: not a lost pairing. */
      g_autofree char *message = g_strdup_printf ("The device token cannot be read from the keyring: %s",
                                                  error->message);
      r = response_new (FC_CLOUD_RETRY, 0, message);
    }
  finish_token_waiters (self, r, NULL);
}

void
fc_cloud_client_ensure_access_async (FcCloudClient       *self,
                                     gboolean             force,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (FC_IS_CLOUD_CLIENT (self));

  task = new_task (self, fc_cloud_client_ensure_access_async, cancellable, callback, user_data);
  if (!force && access_token_fresh (self))
    {
      return_response (task, response_new (FC_CLOUD_SUCCESS, 200, "Access token ready"));
      g_object_unref (task);
      return;
    }
  g_ptr_array_add (self->token_waiters, task);
  if (self->refreshing)
    return;
  self->refreshing = TRUE;
  if (force)
    forget_access_token (self);
  if (self->refresh_token == NULL)
    fc_secret_store_lookup_async (self->secrets, FC_SECRET_DEVICE_REFRESH_TOKEN, self->base_url,
                                  cancellable, on_refresh_token_looked_up, g_object_ref (self));
  else
    start_refresh (self, cancellable);
}

FcCloudResponse *
fc_cloud_client_ensure_access_finish (FcCloudClient  *self,
                                      GAsyncResult   *result,
                                      GError        **error)
{
  return response_finish (self, result, error);
}

/* ------------------------------------------------------------------ */
/* API requests */

typedef struct {
  char     *method;
  char     *path;
  GBytes   *body;
  char     *idempotency_key;
  gboolean  refreshed;
  GBytes   *token;     /* the refresh token behind the access token used */
} Send;

static void
send_free (Send *s)
{
  g_free (s->method);
  g_free (s->path);
  g_clear_pointer (&s->body, g_bytes_unref);
  g_free (s->idempotency_key);
  g_clear_pointer (&s->token, g_bytes_unref);
  g_free (s);
}

static void send_with_token (GTask *task);

static void
on_send_forgot (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FcCloudResponse *r = g_object_steal_data (G_OBJECT (task), "response");

  g_task_propagate_boolean (G_TASK (result), NULL);
  return_response (task, r);
}

static void
on_send_answer (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FcCloudClient *self = FC_CLOUD_CLIENT (source);
  Send *s = g_task_get_task_data (task);
  g_autoptr(FcCloudResponse) r = task_answer (task, result, NULL);

  if (r == NULL)
    return;
  if (r->outcome == FC_CLOUD_UNAUTHORIZED)
    {
      self->unauthorized_count++;
      if (!s->refreshed)
        {
          /* The access token expired early or the server forgot it:
           * one new token, one more try. */
          s->refreshed = TRUE;
          if (same_bytes (s->token, self->refresh_token))
            forget_access_token (self);
          send_with_token (g_steal_pointer (&task));
          return;
        }
      {
        g_autofree char *why = r->message;

        r->message = g_strdup_printf ("The cloud at %s refuses this PC's fresh access token (%s): "
                                      "sign in again (fitclipctl login or pair)", self->base_url, why);
      }
    }
  else if (r->outcome == FC_CLOUD_NEEDS_PAIRING)
    {
      tell_to_pair_again (self, r);
      g_object_set_data_full (G_OBJECT (task), "response", g_steal_pointer (&r),
                              (GDestroyNotify) fc_cloud_response_free);
      forget_pairing_async (self, s->token, NULL, on_send_forgot, g_steal_pointer (&task));
      return;
    }
  return_response (task, g_steal_pointer (&r));
}

static void
on_send_token (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FcCloudClient *self = FC_CLOUD_CLIENT (source);
  Send *s = g_task_get_task_data (task);
  g_autoptr(FcCloudResponse) r = task_answer (task, result, NULL);

  if (r == NULL)
    return;
  if (r->outcome != FC_CLOUD_SUCCESS)
    {
      return_response (task, g_steal_pointer (&r));
      return;
    }
  g_clear_pointer (&s->token, g_bytes_unref);
  s->token = self->refresh_token ? g_bytes_ref (self->refresh_token) : NULL;
  call_async (g_steal_pointer (&task), s->method, s->path, s->body, self->access_token,
              s->idempotency_key, on_send_answer);
}

static void
send_with_token (GTask *task)
{
  FcCloudClient *self = g_task_get_source_object (task);

  fc_cloud_client_ensure_access_async (self, FALSE, g_task_get_cancellable (task), on_send_token, task);
}

void
fc_cloud_client_send_async (FcCloudClient       *self,
                            const char          *method,
                            const char          *path,
                            GBytes              *body,
                            const char          *idempotency_key,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task;
  Send *s;

  g_return_if_fail (FC_IS_CLOUD_CLIENT (self));
  g_return_if_fail (method != NULL);
  g_return_if_fail (path != NULL && path[0] == '/');

  task = new_task (self, fc_cloud_client_send_async, cancellable, callback, user_data);
  s = g_new0 (Send, 1);
  s->method = g_strdup (method);
  s->path = g_strdup (path);
  s->body = body ? g_bytes_ref (body) : NULL;
  s->idempotency_key = g_strdup (idempotency_key);
  g_task_set_task_data (task, s, (GDestroyNotify) send_free);
  send_with_token (task);
}

FcCloudResponse *
fc_cloud_client_send_finish (FcCloudClient  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  return response_finish (self, result, error);
}

/* ------------------------------------------------------------------ */
/* Pairing */

typedef struct {
  char     *user_access;     /* the owner's, during login only */
  char     *user_refresh;
  char     *device_key;      /* Idempotency-Key of POST /api/v1/devices */
  guint     device_attempts;
  GBytes   *device_token;
  char     *device_id;
  char     *shop_id;
} Pairing;

static void
pairing_free (Pairing *p)
{
  fc_secret_string_clear (&p->user_access);
  fc_secret_string_clear (&p->user_refresh);
  g_free (p->device_key);
  g_clear_pointer (&p->device_token, g_bytes_unref);
  g_free (p->device_id);
  g_free (p->shop_id);
  g_free (p);
}

static void
on_user_logged_out (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FcCloudClient *self = FC_CLOUD_CLIENT (source);
  g_autoptr(FcCloudResponse) r = response_finish (self, result, NULL);

  /* The owner's token would expire anyway; no reason to fail a pairing
   * that worked. */
  if (r != NULL && r->outcome != FC_CLOUD_SUCCESS)
    g_message ("The owner's session could not be closed at the cloud: %s", r->message);
  g_task_return_boolean (task, TRUE);
}

static void
on_device_token_stored (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FcCloudClient *self = g_task_get_source_object (task);
  Pairing *p = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!fc_secret_store_store_finish (FC_SECRET_STORE (source), result, &error))
    {
      g_prefix_error (&error, "This PC was paired (device %s), but its token cannot be kept in the "
                      "keyring; pair again once the keyring works: ", p->device_id);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  set_refresh_token (self, p->device_token);
  if (p->user_refresh != NULL)
    {
      g_autoptr(GBytes) body = secret_json_body ("refresh_token", p->user_refresh, NULL);

      fc_secret_string_clear (&p->user_access);
      fc_secret_string_clear (&p->user_refresh);
      call_async (g_steal_pointer (&task), "POST", "/auth/logout", body, NULL, NULL,
                  on_user_logged_out);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* The answer of POST /api/v1/devices or /auth/pair. */
static gboolean
take_device_pairing (GTask                 *task,
                     const FcCloudResponse *r)
{
  FcCloudClient *self = g_task_get_source_object (task);
  Pairing *p = g_task_get_task_data (task);
  g_autoptr(FcCloudAnswer) answer = fc_cloud_answer_parse (r->body);
  const char *token = answer->refresh_token;

  p->device_id = g_steal_pointer (&answer->device_id);
  p->shop_id = g_steal_pointer (&answer->shop_id);
  if (token == NULL || *token == '\0' || p->device_id == NULL)
    {
      g_task_return_new_error (task, FC_ERROR, FC_ERROR_SERVER,
                               "The cloud's answer to the pairing is malformed");
      return FALSE;
    }
  p->device_token = fc_secret_bytes_new (token, strlen (token));
  fc_secret_store_store_async (self->secrets, FC_SECRET_DEVICE_REFRESH_TOKEN, self->base_url,
                               p->device_token, g_task_get_cancellable (task), on_device_token_stored,
                               g_object_ref (task));
  return TRUE;
}

static void register_device (GTask *task);

static gboolean
on_register_again (gpointer user_data)
{
  register_device (user_data);
  return G_SOURCE_REMOVE;
}

static void
on_device_registered (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Pairing *p = g_task_get_task_data (task);
  g_autoptr(FcCloudResponse) r = task_answer (task, result, NULL);

  if (r == NULL)
    return;
  if (r->outcome == FC_CLOUD_RETRY && p->device_attempts < MAX_DEVICE_ATTEMPTS)
    {
      /* Same Idempotency-Key: a registration whose answer was lost
       * comes back as it was, not as a second device. */
      guint delay_s = r->retry_after > 0 ? (guint) MIN (r->retry_after, 10) : p->device_attempts;
      g_autoptr(GSource) timer = g_timeout_source_new_seconds (delay_s);

      g_source_set_callback (timer, on_register_again, g_steal_pointer (&task), NULL);
      g_source_attach (timer, g_main_context_get_thread_default ());
      return;
    }
  if (r->outcome != FC_CLOUD_SUCCESS)
    {
      g_task_return_error (task, fc_cloud_response_to_error (r, "Registering this PC with the cloud"));
      return;
    }
  take_device_pairing (task, r);
}

static void
register_device (GTask *task)
{
  FcCloudClient *self = g_task_get_source_object (task);
  Pairing *p = g_task_get_task_data (task);
  g_autoptr(GBytes) body = secret_json_body ("name", self->device_name, "platform", platform_name (), NULL);

  p->device_attempts++;
  call_async (task, "POST", "/api/v1/devices", body, p->user_access, p->device_key,
              on_device_registered);
}

static void
on_logged_in (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Pairing *p = g_task_get_task_data (task);
  g_autoptr(FcCloudResponse) r = task_answer (task, result, "Signing in");
  g_autoptr(FcCloudAnswer) answer = NULL;

  if (r == NULL)
    return;
  answer = fc_cloud_answer_parse (r->body);
  p->user_access = g_steal_pointer (&answer->access_token);
  p->user_refresh = g_steal_pointer (&answer->refresh_token);
  if (p->user_access == NULL)
    {
      g_task_return_new_error (task, FC_ERROR, FC_ERROR_SERVER, "The cloud's answer to the sign-in is malformed");
      return;
    }
  p->device_key = g_uuid_string_random ();
  register_device (g_steal_pointer (&task));
}

/* login() and pair() alike: the first request, whose answer @on_answer
 * takes. */
static void
start_pairing (FcCloudClient       *self,
               const char          *path,
               GBytes              *body,
               GAsyncReadyCallback  on_answer,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  GTask *task = new_task (self, fc_cloud_client_pair_async, cancellable, callback, user_data);

  g_task_set_task_data (task, g_new0 (Pairing, 1), (GDestroyNotify) pairing_free);
  call_async (task, "POST", path, body, NULL, NULL, on_answer);
}

void
fc_cloud_client_login_async (FcCloudClient       *self,
                             const char          *email,
                             const char          *password,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GBytes) body = NULL;

  g_return_if_fail (FC_IS_CLOUD_CLIENT (self));
  g_return_if_fail (email != NULL);
  g_return_if_fail (password != NULL);

  body = secret_json_body ("email", email, "password", password, NULL);
  start_pairing (self, "/auth/login", body, on_logged_in, cancellable, callback, user_data);
}

static void
on_code_redeemed (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(FcCloudResponse) r = task_answer (task, result, "Pairing with the code");

  if (r != NULL)
    take_device_pairing (task, r);
}

void
fc_cloud_client_pair_async (FcCloudClient       *self,
                            const char          *code,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GBytes) body = NULL;

  g_return_if_fail (FC_IS_CLOUD_CLIENT (self));
  g_return_if_fail (code != NULL);

  body = secret_json_body ("code", code, "name", self->device_name, "platform", platform_name (), NULL);
  start_pairing (self, "/auth/pair", body, on_code_redeemed, cancellable, callback, user_data);
}

gboolean
fc_cloud_client_pair_finish (FcCloudClient  *self,
                             GAsyncResult   *result,
                             char          **device_id,
                             char          **shop_id,
                             GError        **error)
{
  Pairing *p;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  p = g_task_get_task_data (G_TASK (result));
  if (device_id != NULL)
    *device_id = g_strdup (p->device_id);
  if (shop_id != NULL)
    *shop_id = g_strdup (p->shop_id);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Logout and reading the pairing */

static void
on_logout_cleared (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FcCloudClient *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;

  if (!fc_secret_store_clear_finish (FC_SECRET_STORE (source), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  set_refresh_token (self, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
on_logout_answer (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(FcCloudResponse) r = task_answer (task, result,
                                              "Unpairing this PC (the pairing is kept; try again)");

  if (r != NULL)
    device_token_async (g_steal_pointer (&task), fc_secret_store_clear_async, on_logout_cleared);
}

static void
on_logout_looked_up (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FcCloudClient *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) token = fc_secret_store_lookup_finish (FC_SECRET_STORE (source), result, &error);
  g_autoptr(GBytes) body = NULL;

  if (token == NULL)
    {
      if (g_error_matches (error, FC_ERROR, FC_ERROR_NOT_FOUND))
        {
          set_refresh_token (self, NULL);
          g_task_return_boolean (task, TRUE);
        }
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  set_refresh_token (self, token);
  body = refresh_token_body (token);
  call_async (g_steal_pointer (&task), "POST", "/auth/logout", body, NULL, NULL, on_logout_answer);
}

void
fc_cloud_client_logout_async (FcCloudClient       *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (FC_IS_CLOUD_CLIENT (self));

  task = new_task (self, fc_cloud_client_logout_async, cancellable, callback, user_data);
  device_token_async (task, fc_secret_store_lookup_async, on_logout_looked_up);
}

gboolean
fc_cloud_client_logout_finish (FcCloudClient  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  return boolean_finish (self, result, error);
}

static void
on_pairing_looked_up (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FcCloudClient *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) token = device_token_lookup_finish (source, result, &error);

  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  set_refresh_token (self, token);
  g_task_return_boolean (task, token != NULL);
}

void
fc_cloud_client_load_pairing_async (FcCloudClient       *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (FC_IS_CLOUD_CLIENT (self));

  task = new_task (self, fc_cloud_client_load_pairing_async, cancellable, callback, user_data);
  device_token_async (task, fc_secret_store_lookup_async, on_pairing_looked_up);
}

gboolean
fc_cloud_client_load_pairing_finish (FcCloudClient  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  return boolean_finish (self, result, error);
}
