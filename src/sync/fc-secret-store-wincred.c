/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-secret-store"

#include "config.h"

#include "fc-secret-store-private.h"

#include <windows.h>
#include <wincred.h>

#include "fc-error.h"

/*
 * Windows Credential Manager: generic credentials named
 * "FitClip Agent/<name>/<account>", persisted for this user on this
 * computer (CRED_PERSIST_LOCAL_MACHINE: not roamed to other PCs).
 * Windows encrypts the blob with DPAPI under the user's logon
 * credentials, so another Windows user cannot read it.
 *
 * UNTESTED: written from the Win32 documentation of CredReadW,
 * CredWriteW, CredDeleteW and CREDENTIALW, but never compiled or run —
 * CI builds and tests the libsecret backend only (docs/secrets.md).
 * The first Windows build must run tests/sync/test-secret-store.c's
 * round trip by hand against a real user session.
 *
 * The calls are local and quick (no prompt), so cancellation is only
 * checked before starting one.
 */

struct _FcSecretStoreWincred {
  FcSecretStore parent_instance;
};

#define FC_TYPE_SECRET_STORE_WINCRED (fc_secret_store_wincred_get_type ())
G_DECLARE_FINAL_TYPE (FcSecretStoreWincred, fc_secret_store_wincred, FC, SECRET_STORE_WINCRED, FcSecretStore)
G_DEFINE_FINAL_TYPE (FcSecretStoreWincred, fc_secret_store_wincred, FC_TYPE_SECRET_STORE)

static gunichar2 *
to_utf16 (const char  *text,
          GError     **error)
{
  GError *local_error = NULL;
  gunichar2 *wide = g_utf8_to_utf16 (text, -1, NULL, NULL, &local_error);

  if (wide == NULL)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "“%s”: %s", text, local_error->message);
      g_error_free (local_error);
    }
  return wide;
}

static gunichar2 *
target_name (const char  *name,
             const char  *account,
             GError     **error)
{
  g_autofree char *target = g_strdup_printf ("FitClip Agent/%s/%s", name, account);

  return to_utf16 (target, error);
}

static void
set_win32_error (GError     **error,
                 DWORD        code,
                 const char  *doing)
{
  g_autofree char *text = g_win32_error_message ((gint) code);

  if (code == ERROR_NO_SUCH_LOGON_SESSION)
    g_set_error (error, FC_ERROR, FC_ERROR_SECRETS_UNAVAILABLE,
                 "Windows Credential Manager is not available to this account (%s). Run FitClip "
                 "in a signed-in user's session, not as a service without a user profile.", text);
  else
    g_set_error (error, FC_ERROR, FC_ERROR_SECRETS_UNAVAILABLE,
                 "Windows Credential Manager failed while %s: %s", doing, text);
}

static GBytes *
fc_secret_store_wincred_lookup (FcSecretStore  *store,
                                const char     *name,
                                const char     *account,
                                GCancellable   *cancellable,
                                GError        **error)
{
  g_autofree gunichar2 *target = NULL;
  PCREDENTIALW cred = NULL;
  GBytes *value;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  target = target_name (name, account, error);
  if (target == NULL)
    return NULL;
  if (!CredReadW ((LPCWSTR) target, CRED_TYPE_GENERIC, 0, &cred))
    {
      DWORD code = GetLastError ();

      if (code == ERROR_NOT_FOUND)
        g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND,
                     "Credential Manager holds no %s for %s", name, account);
      else
        set_win32_error (error, code, "reading a credential");
      return NULL;
    }
  value = fc_secret_bytes_new (cred->CredentialBlob, cred->CredentialBlobSize);
  /* CredFree releases Windows' copy; it is not wiped by us. */
  CredFree (cred);
  return value;
}

static gboolean
fc_secret_store_wincred_store (FcSecretStore  *store,
                               const char     *name,
                               const char     *account,
                               const char     *label,
                               GBytes         *value,
                               GCancellable   *cancellable,
                               GError        **error)
{
  g_autofree gunichar2 *target = NULL;
  g_autofree gunichar2 *comment = NULL;
  g_autofree gunichar2 *user = NULL;
  CREDENTIALW cred = { 0 };
  gsize len;
  gconstpointer data = g_bytes_get_data (value, &len);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (len > CRED_MAX_CREDENTIAL_BLOB_SIZE)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "The %s is %" G_GSIZE_FORMAT " bytes; Windows Credential Manager keeps at most %d",
                   name, len, (int) CRED_MAX_CREDENTIAL_BLOB_SIZE);
      return FALSE;
    }
  target = target_name (name, account, error);
  if (target == NULL)
    return FALSE;
  comment = to_utf16 (label, error);
  user = to_utf16 (APP_ID, error);
  if (comment == NULL || user == NULL)
    return FALSE;

  cred.Type = CRED_TYPE_GENERIC;
  cred.TargetName = (LPWSTR) target;
  cred.Comment = (LPWSTR) comment;
  cred.CredentialBlobSize = (DWORD) len;
  cred.CredentialBlob = (LPBYTE) data;
  cred.Persist = CRED_PERSIST_LOCAL_MACHINE;
  cred.UserName = (LPWSTR) user;
  /* CredWriteW replaces a credential with the same target and type. */
  if (!CredWriteW (&cred, 0))
    {
      set_win32_error (error, GetLastError (), "saving a credential");
      return FALSE;
    }
  return TRUE;
}

static gboolean
fc_secret_store_wincred_clear (FcSecretStore  *store,
                               const char     *name,
                               const char     *account,
                               GCancellable   *cancellable,
                               GError        **error)
{
  g_autofree gunichar2 *target = NULL;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  target = target_name (name, account, error);
  if (target == NULL)
    return FALSE;
  if (!CredDeleteW ((LPCWSTR) target, CRED_TYPE_GENERIC, 0))
    {
      DWORD code = GetLastError ();

      if (code == ERROR_NOT_FOUND)
        return TRUE;
      set_win32_error (error, code, "removing a credential");
      return FALSE;
    }
  return TRUE;
}

static void
fc_secret_store_wincred_class_init (FcSecretStoreWincredClass *klass)
{
  FcSecretStoreClass *store_class = FC_SECRET_STORE_CLASS (klass);

  store_class->lookup = fc_secret_store_wincred_lookup;
  store_class->store = fc_secret_store_wincred_store;
  store_class->clear = fc_secret_store_wincred_clear;
  store_class->backend_name = "Windows Credential Manager";
}

static void
fc_secret_store_wincred_init (FcSecretStoreWincred *self)
{
}

FcSecretStore *
_fc_secret_store_wincred_new (void)
{
  return g_object_new (FC_TYPE_SECRET_STORE_WINCRED, NULL);
}
