/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-secret-store"

#include "config.h"

#include "fc-secret-store-private.h"

#include <CoreFoundation/CoreFoundation.h>
#include <Security/Security.h>

#include "fc-error.h"

/*
 * The macOS Keychain: generic passwords (kSecClassGenericPassword) with
 * service "com.fitclip.Agent" and account "<name>/<account>", in the
 * user's login keychain.
 *
 * UNTESTED: written from Apple's documentation of SecItemAdd,
 * SecItemUpdate, SecItemCopyMatching and SecItemDelete, but never
 * compiled or run — CI builds and tests the libsecret backend only
 * (docs/secrets.md). The first macOS build must run
 * tests/sync/test-secret-store.c's round trip by hand in a logged-in
 * session. An unsigned build may make macOS ask the user to allow
 * access to the item; a signed bundle is remembered.
 *
 * Cancellation is only checked before a call: the Security framework
 * calls cannot be interrupted (they may wait on a keychain prompt).
 */

struct _FcSecretStoreKeychain {
  FcSecretStore parent_instance;
};

#define FC_TYPE_SECRET_STORE_KEYCHAIN (fc_secret_store_keychain_get_type ())
G_DECLARE_FINAL_TYPE (FcSecretStoreKeychain, fc_secret_store_keychain, FC, SECRET_STORE_KEYCHAIN, FcSecretStore)
G_DEFINE_FINAL_TYPE (FcSecretStoreKeychain, fc_secret_store_keychain, FC_TYPE_SECRET_STORE)

static CFStringRef
cf_string (const char *text)
{
  return CFStringCreateWithCString (kCFAllocatorDefault, text, kCFStringEncodingUTF8);
}

/* Class, service and account: what identifies our item. */
static CFMutableDictionaryRef
item_query (const char *name,
            const char *account)
{
  g_autofree char *item_account = g_strdup_printf ("%s/%s", name, account);
  CFMutableDictionaryRef query = CFDictionaryCreateMutable (kCFAllocatorDefault, 0,
                                                            &kCFTypeDictionaryKeyCallBacks,
                                                            &kCFTypeDictionaryValueCallBacks);
  CFStringRef service = cf_string (APP_ID);
  CFStringRef acct = cf_string (item_account);

  CFDictionarySetValue (query, kSecClass, kSecClassGenericPassword);
  CFDictionarySetValue (query, kSecAttrService, service);
  CFDictionarySetValue (query, kSecAttrAccount, acct);
  CFRelease (service);
  CFRelease (acct);
  return query;
}

static void
set_status_error (GError     **error,
                  OSStatus     status,
                  const char  *doing)
{
  CFStringRef message = SecCopyErrorMessageString (status, NULL);
  char text[512] = "unknown error";

  if (message != NULL)
    {
      CFStringGetCString (message, text, sizeof text, kCFStringEncodingUTF8);
      CFRelease (message);
    }
  switch (status)
    {
    case errSecInteractionNotAllowed:
    case errSecAuthFailed:
    case errSecUserCanceled:
      g_set_error (error, FC_ERROR, FC_ERROR_SECRETS_UNAVAILABLE,
                   "The keychain is locked (%s). Unlock it (log in, or in Keychain Access), "
                   "then restart FitClip.", text);
      break;
    case errSecNotAvailable:
    case errSecNoSuchKeychain:
    case errSecNoDefaultKeychain:
      g_set_error (error, FC_ERROR, FC_ERROR_SECRETS_UNAVAILABLE,
                   "No keychain is available to this account (%s). Run FitClip in a logged-in "
                   "user's session.", text);
      break;
    default:
      g_set_error (error, FC_ERROR, FC_ERROR_SECRETS_UNAVAILABLE,
                   "The keychain failed while %s: %s (%d)", doing, text, (int) status);
    }
}

static GBytes *
fc_secret_store_keychain_lookup (FcSecretStore  *store,
                                 const char     *name,
                                 const char     *account,
                                 GCancellable   *cancellable,
                                 GError        **error)
{
  CFMutableDictionaryRef query;
  CFTypeRef result = NULL;
  OSStatus status;
  GBytes *value = NULL;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  query = item_query (name, account);
  CFDictionarySetValue (query, kSecReturnData, kCFBooleanTrue);
  CFDictionarySetValue (query, kSecMatchLimit, kSecMatchLimitOne);
  status = SecItemCopyMatching (query, &result);
  CFRelease (query);

  if (status == errSecItemNotFound)
    g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND, "The keychain holds no %s for %s", name, account);
  else if (status != errSecSuccess)
    set_status_error (error, status, "reading an item");
  else if (result == NULL || CFGetTypeID (result) != CFDataGetTypeID ())
    g_set_error (error, FC_ERROR, FC_ERROR_SECRETS_UNAVAILABLE,
                 "The keychain returned something other than data for %s", name);
  else
    value = fc_secret_bytes_new (CFDataGetBytePtr ((CFDataRef) result),
                                 (gsize) CFDataGetLength ((CFDataRef) result));
  if (result != NULL)
    CFRelease (result);
  return value;
}

static gboolean
fc_secret_store_keychain_store (FcSecretStore  *store,
                                const char     *name,
                                const char     *account,
                                const char     *label,
                                GBytes         *value,
                                GCancellable   *cancellable,
                                GError        **error)
{
  CFMutableDictionaryRef query, changes;
  CFDataRef data;
  CFStringRef item_label;
  OSStatus status;
  gsize len;
  const guint8 *bytes = g_bytes_get_data (value, &len);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  query = item_query (name, account);
  /* CoreFoundation keeps its own copy of the value; it is not wiped. */
  data = CFDataCreate (kCFAllocatorDefault, bytes, (CFIndex) len);
  changes = CFDictionaryCreateMutable (kCFAllocatorDefault, 0, &kCFTypeDictionaryKeyCallBacks,
                                       &kCFTypeDictionaryValueCallBacks);
  CFDictionarySetValue (changes, kSecValueData, data);
  status = SecItemUpdate (query, changes);
  if (status == errSecItemNotFound)
    {
      item_label = cf_string (label);
      CFDictionarySetValue (query, kSecValueData, data);
      CFDictionarySetValue (query, kSecAttrLabel, item_label);
      status = SecItemAdd (query, NULL);
      CFRelease (item_label);
    }
  CFRelease (changes);
  CFRelease (data);
  CFRelease (query);

  if (status != errSecSuccess)
    {
      set_status_error (error, status, "saving an item");
      return FALSE;
    }
  return TRUE;
}

static gboolean
fc_secret_store_keychain_clear (FcSecretStore  *store,
                                const char     *name,
                                const char     *account,
                                GCancellable   *cancellable,
                                GError        **error)
{
  CFMutableDictionaryRef query;
  OSStatus status;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  query = item_query (name, account);
  status = SecItemDelete (query);
  CFRelease (query);
  if (status != errSecSuccess && status != errSecItemNotFound)
    {
      set_status_error (error, status, "removing an item");
      return FALSE;
    }
  return TRUE;
}

static void
fc_secret_store_keychain_class_init (FcSecretStoreKeychainClass *klass)
{
  FcSecretStoreClass *store_class = FC_SECRET_STORE_CLASS (klass);

  store_class->lookup = fc_secret_store_keychain_lookup;
  store_class->store = fc_secret_store_keychain_store;
  store_class->clear = fc_secret_store_keychain_clear;
  store_class->backend_name = "macOS Keychain";
}

static void
fc_secret_store_keychain_init (FcSecretStoreKeychain *self)
{
}

FcSecretStore *
_fc_secret_store_keychain_new (void)
{
  return g_object_new (FC_TYPE_SECRET_STORE_KEYCHAIN, NULL);
}
