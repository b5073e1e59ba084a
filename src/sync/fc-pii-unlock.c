/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-pii-unlock"

#include "fc-pii-unlock.h"

#include "fc-aes-gcm-cipher.h"
#include "fc-error.h"

/*
 * The key is kept in the keyring before its id is written to the
 * database, never the other way round: a crash in between leaves an
 * unused key in the keyring, not a database whose key was never saved.
 */

/* A database claimed by another program while we were making a key is
 * retried once with that program's key. */
#define MAX_ATTEMPTS 2

static void
not_in_keyring (GError     **error,
                const char  *key_id,
                GError      *cause)
{
  if (!g_error_matches (cause, FC_ERROR, FC_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, cause);
      return;
    }
  g_error_free (cause);
  g_set_error (error, FC_ERROR, FC_ERROR_PII_LOCKED,
               "The keyring does not hold the key to this database's customer details "
               "(key %s): the keyring was reset, or the database came from another computer or "
               "user. Customer details cannot be read here; fittings and shots are not affected, "
               "and the cloud keeps its copy of the customers.", key_id);
}

/* Checks that @key is the one named @key_id and gives the store a cipher
 * made from it. */
static gboolean
adopt_key (FcStore     *store,
           GBytes      *key,
           const char  *key_id,
           GError     **error)
{
  g_autoptr(FcAesGcmCipher) cipher = NULL;

  if (g_bytes_get_size (key) != FC_AES_GCM_KEY_SIZE)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_PII_LOCKED,
                   "The keyring's entry for customer-details key %s is not a key (%" G_GSIZE_FORMAT
                   " bytes); customer details stay locked", key_id, g_bytes_get_size (key));
      return FALSE;
    }
  cipher = fc_aes_gcm_cipher_new (key, error);
  if (cipher == NULL)
    return FALSE;
  if (g_strcmp0 (fc_field_cipher_get_key_id (FC_FIELD_CIPHER (cipher)), key_id) != 0)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_PII_LOCKED,
                   "The keyring's entry for customer-details key %s holds a different key (%s); "
                   "customer details stay locked",
                   key_id, fc_field_cipher_get_key_id (FC_FIELD_CIPHER (cipher)));
      return FALSE;
    }
  return fc_store_set_field_cipher (store, FC_FIELD_CIPHER (cipher), error);
}

static gboolean
record_failure (FcStore  *store,
                GError   *local_error,
                GError  **error)
{
  g_debug ("customer details stay locked: %s", local_error->message);
  fc_store_set_pii_lock_reason (store, local_error->message);
  g_propagate_error (error, local_error);
  return FALSE;
}

/* ---- blocking --------------------------------------------------------------- */

gboolean
fc_pii_unlock_store (FcStore        *store,
                     FcSecretStore  *secrets,
                     GCancellable   *cancellable,
                     GError        **error)
{
  GError *local_error = NULL;

  g_return_val_if_fail (FC_IS_STORE (store), FALSE);
  g_return_val_if_fail (FC_IS_SECRET_STORE (secrets), FALSE);

  for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++)
    {
      g_autofree char *key_id = NULL;
      g_autofree char *new_id = NULL;
      g_autoptr(GBytes) key = NULL;

      g_clear_error (&local_error);
      if (!fc_store_get_pii_key_id (store, &key_id, &local_error))
        break;
      if (key_id != NULL)
        {
          key = fc_secret_store_lookup (secrets, FC_SECRET_PII_KEY, key_id, cancellable, &local_error);
          if (key == NULL)
            {
              GError *cause = g_steal_pointer (&local_error);
              not_in_keyring (&local_error, key_id, cause);
              break;
            }
          if (adopt_key (store, key, key_id, &local_error))
            return TRUE;
          break;
        }

      key = fc_aes_gcm_generate_key (&local_error);
      if (key == NULL)
        break;
      new_id = fc_aes_gcm_key_id (key);
      if (!fc_secret_store_store (secrets, FC_SECRET_PII_KEY, new_id, key, cancellable, &local_error))
        break;
      if (adopt_key (store, key, new_id, &local_error))
        return TRUE;
      if (!g_error_matches (local_error, FC_ERROR, FC_ERROR_PII_LOCKED))
        break;
      /* Another program claimed the database first: its key wins. */
      fc_secret_store_clear (secrets, FC_SECRET_PII_KEY, new_id, NULL, NULL);
    }
  return record_failure (store, local_error, error);
}

/* ---- async ---------------------------------------------------------------- */

typedef struct {
  FcStore       *store;
  FcSecretStore *secrets;
  char          *key_id;
  GBytes        *key;
  int            attempt;
} Unlock;

static void
unlock_free (gpointer data)
{
  Unlock *u = data;

  g_clear_object (&u->store);
  g_clear_object (&u->secrets);
  g_clear_pointer (&u->key_id, g_free);
  g_clear_pointer (&u->key, g_bytes_unref);
  g_free (u);
}

static void
unlock_fail (GTask  *task,
             GError *error)
{
  Unlock *u = g_task_get_task_data (task);

  g_debug ("customer details stay locked: %s", error->message);
  fc_store_set_pii_lock_reason (u->store, error->message);
  g_task_return_error (task, error);
}

static void unlock_step (GTask *task);

static void
on_lookup (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Unlock *u = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr(GBytes) key = fc_secret_store_lookup_finish (FC_SECRET_STORE (source), result, &error);

  if (key == NULL)
    {
      GError *cause = error;

      error = NULL;
      not_in_keyring (&error, u->key_id, cause);
      unlock_fail (task, error);
      return;
    }
  if (!adopt_key (u->store, key, u->key_id, &error))
    {
      unlock_fail (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
on_cleared (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  /* Best effort: an orphaned key in the keyring harms nothing. */
  fc_secret_store_clear_finish (FC_SECRET_STORE (source), result, NULL);
  unlock_step (g_steal_pointer (&task));
}

static void
on_stored (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Unlock *u = g_task_get_task_data (task);
  GError *error = NULL;

  if (!fc_secret_store_store_finish (FC_SECRET_STORE (source), result, &error))
    {
      unlock_fail (task, error);
      return;
    }
  if (adopt_key (u->store, u->key, u->key_id, &error))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (!g_error_matches (error, FC_ERROR, FC_ERROR_PII_LOCKED) || u->attempt >= MAX_ATTEMPTS)
    {
      unlock_fail (task, error);
      return;
    }
  /* Another program claimed the database first: its key wins. */
  g_clear_error (&error);
  fc_secret_store_clear_async (u->secrets, FC_SECRET_PII_KEY, u->key_id, NULL, on_cleared,
                               g_steal_pointer (&task));
}

/* Takes the reference to @task. */
static void
unlock_step (GTask *task)
{
  Unlock *u = g_task_get_task_data (task);
  GError *error = NULL;

  u->attempt++;
  g_clear_pointer (&u->key_id, g_free);
  g_clear_pointer (&u->key, g_bytes_unref);

  if (!fc_store_get_pii_key_id (u->store, &u->key_id, &error))
    {
      unlock_fail (task, error);
      g_object_unref (task);
      return;
    }
  if (u->key_id != NULL)
    {
      fc_secret_store_lookup_async (u->secrets, FC_SECRET_PII_KEY, u->key_id,
                                    g_task_get_cancellable (task), on_lookup, task);
      return;
    }

  u->key = fc_aes_gcm_generate_key (&error);
  if (u->key == NULL)
    {
      unlock_fail (task, error);
      g_object_unref (task);
      return;
    }
  u->key_id = fc_aes_gcm_key_id (u->key);
  fc_secret_store_store_async (u->secrets, FC_SECRET_PII_KEY, u->key_id, u->key,
                               g_task_get_cancellable (task), on_stored, task);
}

void
fc_pii_unlock_store_async (FcStore             *store,
                           FcSecretStore       *secrets,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  GTask *task;
  Unlock *u;

  g_return_if_fail (FC_IS_STORE (store));
  g_return_if_fail (FC_IS_SECRET_STORE (secrets));

  task = g_task_new (store, cancellable, callback, user_data);
  g_task_set_source_tag (task, fc_pii_unlock_store_async);
  u = g_new0 (Unlock, 1);
  u->store = g_object_ref (store);
  u->secrets = g_object_ref (secrets);
  g_task_set_task_data (task, u, unlock_free);
  unlock_step (task);
}

gboolean
fc_pii_unlock_store_finish (FcStore       *store,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, store), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == fc_pii_unlock_store_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
