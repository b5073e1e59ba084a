/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-secret-store"

#include "config.h"

#include "fc-secret-store-private.h"

#include <libsecret/secret.h>

#include "fc-error.h"

/*
 * The Secret Service over D-Bus (GNOME Keyring, KWallet, KeePassXC), via
 * libsecret: Linux and the BSDs. Every call here blocks on D-Bus and
 * possibly on an unlock prompt; FcSecretStore runs them in a worker
 * thread for the _async API.
 *
 * Items carry the attributes app (our app id), name and account, under
 * the schema "com.fitclip.Agent", and go to the default collection (the
 * login keyring, which the desktop unlocks at login) — never to the
 * "session" collection, which forgets its contents at logout: a
 * customer-details key kept there would be lost for good.
 */

struct _FcSecretStoreLibsecret {
  FcSecretStore parent_instance;
};

#define FC_TYPE_SECRET_STORE_LIBSECRET (fc_secret_store_libsecret_get_type ())
G_DECLARE_FINAL_TYPE (FcSecretStoreLibsecret, fc_secret_store_libsecret, FC, SECRET_STORE_LIBSECRET, FcSecretStore)
G_DEFINE_FINAL_TYPE (FcSecretStoreLibsecret, fc_secret_store_libsecret, FC_TYPE_SECRET_STORE)

static const SecretSchema schema = {
  APP_ID, SECRET_SCHEMA_NONE,
  {
    { "app", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "name", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { "account", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

static GHashTable *
make_attributes (const char *name,
                 const char *account)
{
  GHashTable *attrs = g_hash_table_new (g_str_hash, g_str_equal);

  g_hash_table_insert (attrs, (gpointer) "app", (gpointer) APP_ID);
  g_hash_table_insert (attrs, (gpointer) "name", (gpointer) name);
  g_hash_table_insert (attrs, (gpointer) "account", (gpointer) account);
  return attrs;
}

static void
set_locked_error (GError **error)
{
  g_set_error_literal (error, FC_ERROR, FC_ERROR_SECRETS_UNAVAILABLE,
                       "The keyring is locked. Unlock it (log out and in again, or unlock the "
                       "“Login” keyring in Passwords and Keys), then restart FitClip.");
}

/* gnome-keyring started without a login keyring: nowhere to store. */
static void
set_no_default_error (GError     **error,
                      const char  *detail)
{
  g_set_error (error, FC_ERROR, FC_ERROR_SECRETS_UNAVAILABLE,
               "The keyring has no default (“Login”) keyring to keep secrets in (%s). "
               "Create or unlock it in Passwords and Keys, then restart FitClip.", detail);
}

/* Turns what libsecret or GDBus said into something a shop owner can act
 * on. Cancellation is passed through as it is. */
static void
propagate_keyring_error (GError **error,
                         GError  *cause)
{
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, cause);
  else if (g_error_matches (cause, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
    {
      set_locked_error (error);
      g_error_free (cause);
    }
  else if (g_error_matches (cause, SECRET_ERROR, SECRET_ERROR_NO_SUCH_OBJECT) ||
           g_error_matches (cause, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT))
    {
      set_no_default_error (error, cause->message);
      g_error_free (cause);
    }
  else
    {
      g_set_error (error, FC_ERROR, FC_ERROR_SECRETS_UNAVAILABLE,
                   "No keyring is running in this session (%s); FitClip keeps its cloud "
                   "sign-in and the customer-details key there. Log in to a desktop session "
                   "with GNOME Keyring or KWallet running (on a server: install and start "
                   "gnome-keyring).", cause->message);
      g_error_free (cause);
    }
}

static SecretService *
get_service (GCancellable  *cancellable,
             GError       **error)
{
  GError *local_error = NULL;
  SecretService *service = secret_service_get_sync (SECRET_SERVICE_OPEN_SESSION, cancellable, &local_error);

  if (service == NULL)
    propagate_keyring_error (error, local_error);
  return service;
}

static GBytes *
fc_secret_store_libsecret_lookup (FcSecretStore  *store,
                                  const char     *name,
                                  const char     *account,
                                  GCancellable   *cancellable,
                                  GError        **error)
{
  g_autoptr(SecretService) service = NULL;
  g_autoptr(GHashTable) attrs = make_attributes (name, account);
  GList *items;
  GError *local_error = NULL;
  GBytes *result = NULL;
  gboolean locked = FALSE;

  service = get_service (cancellable, error);
  if (service == NULL)
    return NULL;

  /* Not secret_password_lookup(): when the unlock prompt cannot be shown
   * it answers "nothing stored", and a locked keyring must not look like
   * a lost key. */
  items = secret_service_search_sync (service, &schema, attrs,
                                      SECRET_SEARCH_ALL | SECRET_SEARCH_UNLOCK | SECRET_SEARCH_LOAD_SECRETS,
                                      cancellable, &local_error);
  if (local_error != NULL)
    {
      propagate_keyring_error (error, local_error);
      return NULL;
    }

  for (GList *l = items; l != NULL && result == NULL; l = l->next)
    {
      SecretItem *item = l->data;
      g_autoptr(SecretValue) value = NULL;

      if (secret_item_get_locked (item))
        {
          locked = TRUE;
          continue;
        }
      value = secret_item_get_secret (item);
      if (value == NULL)
        {
          if (!secret_item_load_secret_sync (item, cancellable, &local_error))
            {
              g_list_free_full (items, g_object_unref);
              propagate_keyring_error (error, local_error);
              return NULL;
            }
          value = secret_item_get_secret (item);
        }
      if (value != NULL)
        {
          gsize len;
          const char *data = secret_value_get (value, &len);

          result = fc_secret_bytes_new (data, len);
        }
    }
  g_list_free_full (items, g_object_unref);

  if (result == NULL && locked)
    set_locked_error (error);
  else if (result == NULL)
    g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND,
                 "The keyring holds no %s for %s", name, account);
  return result;
}

static gboolean
fc_secret_store_libsecret_store (FcSecretStore  *store,
                                 const char     *name,
                                 const char     *account,
                                 const char     *label,
                                 GBytes         *bytes,
                                 GCancellable   *cancellable,
                                 GError        **error)
{
  g_autoptr(SecretService) service = NULL;
  g_autoptr(SecretCollection) collection = NULL;
  g_autoptr(GHashTable) attrs = make_attributes (name, account);
  g_autoptr(SecretValue) value = NULL;
  GError *local_error = NULL;
  gsize len;
  const char *data;

  service = get_service (cancellable, error);
  if (service == NULL)
    return FALSE;

  /* A locked default collection gets one chance to be unlocked (on a
   * desktop this shows the keyring's own password prompt). */
  collection = secret_collection_for_alias_sync (service, SECRET_COLLECTION_DEFAULT,
                                                 SECRET_COLLECTION_NONE, cancellable, &local_error);
  if (local_error != NULL)
    {
      propagate_keyring_error (error, local_error);
      return FALSE;
    }
  if (collection == NULL)
    {
      /* Desktops create the login keyring at the first login; storing
       * into a missing default would fail with an unhelpful D-Bus error. */
      set_no_default_error (error, "no collection has the alias “default”");
      return FALSE;
    }
  if (secret_collection_get_locked (collection))
    {
      GList *objects = g_list_append (NULL, collection);
      int unlocked = secret_service_unlock_sync (service, objects, cancellable, NULL, &local_error);

      g_list_free (objects);
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, local_error);
          return FALSE;
        }
      g_clear_error (&local_error);
      if (unlocked < 1)
        {
          set_locked_error (error);
          return FALSE;
        }
    }

  data = g_bytes_get_data (bytes, &len);
  value = secret_value_new (data ? data : "", len, "application/octet-stream");
  if (!secret_service_store_sync (service, &schema, attrs, SECRET_COLLECTION_DEFAULT, label, value,
                                  cancellable, &local_error))
    {
      propagate_keyring_error (error, local_error);
      return FALSE;
    }
  return TRUE;
}

static gboolean
fc_secret_store_libsecret_clear (FcSecretStore  *store,
                                 const char     *name,
                                 const char     *account,
                                 GCancellable   *cancellable,
                                 GError        **error)
{
  g_autoptr(SecretService) service = NULL;
  g_autoptr(GHashTable) attrs = make_attributes (name, account);
  GError *local_error = NULL;
  GList *items, *locked = NULL;
  gboolean ok = TRUE;

  service = get_service (cancellable, error);
  if (service == NULL)
    return FALSE;

  /* Not secret_service_clear(): it reports success when a locked item
   * could not be unlocked and is still there, and "signed out" must
   * really mean the token is gone. */
  items = secret_service_search_sync (service, &schema, attrs, SECRET_SEARCH_ALL,
                                      cancellable, &local_error);
  if (local_error != NULL)
    {
      propagate_keyring_error (error, local_error);
      return FALSE;
    }
  for (GList *l = items; l != NULL; l = l->next)
    if (secret_item_get_locked (l->data))
      locked = g_list_append (locked, l->data);
  if (locked != NULL)
    {
      int n = secret_service_unlock_sync (service, locked, cancellable, NULL, &local_error);

      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          ok = FALSE;
        }
      else if (n < (int) g_list_length (locked))
        {
          set_locked_error (error);
          ok = FALSE;
        }
      g_clear_error (&local_error);
      g_list_free (locked);
    }
  for (GList *l = items; ok && l != NULL; l = l->next)
    if (!secret_item_delete_sync (l->data, cancellable, &local_error))
      {
        propagate_keyring_error (error, local_error);
        ok = FALSE;
      }
  g_list_free_full (items, g_object_unref);
  return ok;
}

static void
fc_secret_store_libsecret_class_init (FcSecretStoreLibsecretClass *klass)
{
  FcSecretStoreClass *store_class = FC_SECRET_STORE_CLASS (klass);

  store_class->lookup = fc_secret_store_libsecret_lookup;
  store_class->store = fc_secret_store_libsecret_store;
  store_class->clear = fc_secret_store_libsecret_clear;
  store_class->backend_name = "Secret Service (GNOME Keyring, KWallet)";
}

static void
fc_secret_store_libsecret_init (FcSecretStoreLibsecret *self)
{
}

FcSecretStore *
_fc_secret_store_libsecret_new (void)
{
  return g_object_new (FC_TYPE_SECRET_STORE_LIBSECRET, NULL);
}
