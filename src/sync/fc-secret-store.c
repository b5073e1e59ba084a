/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-secret-store"

#include "config.h"

#include "fc-secret-store-private.h"

#include <openssl/crypto.h>
#include <string.h>

#include "fc-error.h"

/*
 * The shared half of every keyring backend: argument checks, the label
 * a person sees in the keyring's manager, and the _async variants that
 * run the backend's blocking calls in a worker thread. Secret values
 * are never logged here or in a backend, not even at debug level
 * (tests/test-secret-store.c checks the log output).
 */

G_DEFINE_ABSTRACT_TYPE (FcSecretStore, fc_secret_store, G_TYPE_OBJECT)

static void
fc_secret_store_class_init (FcSecretStoreClass *klass)
{
}

static void
fc_secret_store_init (FcSecretStore *self)
{
}

FcSecretStore *
fc_secret_store_new_default (void)
{
#if defined(G_OS_WIN32)
  return _fc_secret_store_wincred_new ();
#elif defined(__APPLE__)
  return _fc_secret_store_keychain_new ();
#else
  return _fc_secret_store_libsecret_new ();
#endif
}

const char *
fc_secret_store_get_backend_name (FcSecretStore *self)
{
  g_return_val_if_fail (FC_IS_SECRET_STORE (self), NULL);
  return FC_SECRET_STORE_GET_CLASS (self)->backend_name;
}

typedef struct {
  gsize  size;
  guint8 data[];
} SecretBuffer;

static void
secret_buffer_free (gpointer data)
{
  SecretBuffer *buf = data;

  /* OPENSSL_cleanse, unlike memset, is not optimised away. */
  OPENSSL_cleanse (buf->data, buf->size);
  g_free (buf);
}

void
fc_secret_string_clear (char **text)
{
  g_return_if_fail (text != NULL);

  if (*text == NULL)
    return;
  OPENSSL_cleanse (*text, strlen (*text));
  g_clear_pointer (text, g_free);
}

GBytes *
fc_secret_bytes_new (gconstpointer data,
                     gsize         size)
{
  SecretBuffer *buf = g_malloc (sizeof (SecretBuffer) + size + 1);

  buf->size = size;
  if (size > 0)
    memcpy (buf->data, data, size);
  /* A NUL after the bytes lets a token be used as a C string. */
  buf->data[size] = '\0';
  return g_bytes_new_with_free_func (buf->data, size, secret_buffer_free, buf);
}

static gboolean
check_names (const char  *name,
             const char  *account,
             GError     **error)
{
  if (name == NULL || *name == '\0' || strspn (name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen (name))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "“%s” is not a secret name (lower-case letters, digits and “-”)", name ? name : "");
      return FALSE;
    }
  if (account == NULL || *account == '\0' || !g_utf8_validate (account, -1, NULL))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "The secret “%s” needs an account (a cloud URL or key id)", name);
      return FALSE;
    }
  return TRUE;
}

static char *
make_label (const char *name,
            const char *account)
{
  return g_strdup_printf ("FitClip Agent: %s (%s)", name, account);
}

/* ---- blocking ------------------------------------------------------------- */

GBytes *
fc_secret_store_lookup (FcSecretStore  *self,
                        const char     *name,
                        const char     *account,
                        GCancellable   *cancellable,
                        GError        **error)
{
  GBytes *value;

  g_return_val_if_fail (FC_IS_SECRET_STORE (self), NULL);

  if (!check_names (name, account, error))
    return NULL;
  value = FC_SECRET_STORE_GET_CLASS (self)->lookup (self, name, account, cancellable, error);
  g_debug ("lookup of %s for %s: %s", name, account, value ? "found" : "not available");
  return value;
}

gboolean
fc_secret_store_store (FcSecretStore  *self,
                       const char     *name,
                       const char     *account,
                       GBytes         *value,
                       GCancellable   *cancellable,
                       GError        **error)
{
  g_autofree char *label = NULL;
  gboolean ok;

  g_return_val_if_fail (FC_IS_SECRET_STORE (self), FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  if (!check_names (name, account, error))
    return FALSE;
  label = make_label (name, account);
  ok = FC_SECRET_STORE_GET_CLASS (self)->store (self, name, account, label, value,
                                                 cancellable, error);
  /* The size, never the value. */
  g_debug ("store of %s for %s (%" G_GSIZE_FORMAT " bytes): %s", name, account,
           g_bytes_get_size (value), ok ? "done" : "failed");
  return ok;
}

gboolean
fc_secret_store_clear (FcSecretStore  *self,
                       const char     *name,
                       const char     *account,
                       GCancellable   *cancellable,
                       GError        **error)
{
  gboolean ok;

  g_return_val_if_fail (FC_IS_SECRET_STORE (self), FALSE);

  if (!check_names (name, account, error))
    return FALSE;
  ok = FC_SECRET_STORE_GET_CLASS (self)->clear (self, name, account, cancellable, error);
  g_debug ("clear of %s for %s: %s", name, account, ok ? "done" : "failed");
  return ok;
}

/* ---- async: the blocking calls in a worker thread ------------------------- */

typedef enum {
  OP_LOOKUP,
  OP_STORE,
  OP_CLEAR,
} Op;

typedef struct {
  Op      op;
  char   *name;
  char   *account;
  GBytes *value;
} Call;

static void
call_free (gpointer data)
{
  Call *call = data;

  g_free (call->name);
  g_free (call->account);
  g_clear_pointer (&call->value, g_bytes_unref);
  g_free (call);
}

static void
call_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  Call *call = task_data;
  GError *error = NULL;
  GBytes *value = NULL;
  gboolean ok = FALSE;

  switch (call->op)
    {
    case OP_LOOKUP:
      value = fc_secret_store_lookup (source_object, call->name, call->account, cancellable, &error);
      if (value != NULL)
        {
          g_task_return_pointer (task, value, (GDestroyNotify) g_bytes_unref);
          return;
        }
      break;
    case OP_STORE:
      ok = fc_secret_store_store (source_object, call->name, call->account, call->value,
                                  cancellable, &error);
      break;
    case OP_CLEAR:
      ok = fc_secret_store_clear (source_object, call->name, call->account, cancellable, &error);
      break;
    }
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
start_call (FcSecretStore       *self,
            Op                   op,
            const char          *name,
            const char          *account,
            GBytes              *value,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data,
            gpointer             source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  Call *call = g_new0 (Call, 1);

  g_task_set_source_tag (task, source_tag);
  call->op = op;
  call->name = g_strdup (name);
  call->account = g_strdup (account);
  call->value = value ? g_bytes_ref (value) : NULL;
  g_task_set_task_data (task, call, call_free);
  g_task_run_in_thread (task, call_thread);
}

static gboolean
check_result (FcSecretStore *self,
              GAsyncResult  *result,
              gpointer       source_tag)
{
  return g_task_is_valid (result, self) && g_task_get_source_tag (G_TASK (result)) == source_tag;
}

void
fc_secret_store_lookup_async (FcSecretStore       *self,
                              const char          *name,
                              const char          *account,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (FC_IS_SECRET_STORE (self));

  start_call (self, OP_LOOKUP, name, account, NULL, cancellable, callback, user_data,
              fc_secret_store_lookup_async);
}

GBytes *
fc_secret_store_lookup_finish (FcSecretStore  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (check_result (self, result, fc_secret_store_lookup_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
fc_secret_store_store_async (FcSecretStore       *self,
                             const char          *name,
                             const char          *account,
                             GBytes              *value,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (FC_IS_SECRET_STORE (self));
  g_return_if_fail (value != NULL);

  start_call (self, OP_STORE, name, account, value, cancellable, callback, user_data,
              fc_secret_store_store_async);
}

gboolean
fc_secret_store_store_finish (FcSecretStore  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  g_return_val_if_fail (check_result (self, result, fc_secret_store_store_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
fc_secret_store_clear_async (FcSecretStore       *self,
                             const char          *name,
                             const char          *account,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (FC_IS_SECRET_STORE (self));

  start_call (self, OP_CLEAR, name, account, NULL, cancellable, callback, user_data,
              fc_secret_store_clear_async);
}

gboolean
fc_secret_store_clear_finish (FcSecretStore  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  g_return_val_if_fail (check_result (self, result, fc_secret_store_clear_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
