/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-store"

#include "fc-store-private.h"

#include <string.h>

/*
 * Customer PII at rest. The store never sees a key: it hands each value
 * to its FcFieldCipher with the value's place (table, column, row id) as
 * authenticated data, and keeps only what comes back. Which key encrypts
 * a database is recorded once, as a public key id in store_meta, so that
 * a different key is refused up front instead of failing row by row.
 */

#define META_PII_KEY_ID "pii_key_id"

static gboolean
read_meta (FcStore     *self,
           const char  *key,
           char       **value,
           GError     **error)
{
  sqlite3_stmt *stmt = fc_store_statement (self, "SELECT value FROM store_meta WHERE key = ?", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, key);
  rc = sqlite3_step (stmt);
  *value = rc == SQLITE_ROW ? fc_column_dup (stmt, 0) : NULL;
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "reading the database's settings");
      return FALSE;
    }
  return TRUE;
}

gboolean
fc_store_get_pii_key_id (FcStore  *self,
                         char    **key_id,
                         GError  **error)
{
  g_return_val_if_fail (FC_IS_STORE (self), FALSE);
  g_return_val_if_fail (key_id != NULL, FALSE);

  return read_meta (self, META_PII_KEY_ID, key_id, error);
}

gboolean
fc_store_set_field_cipher (FcStore        *self,
                           FcFieldCipher  *cipher,
                           GError        **error)
{
  g_autofree char *recorded = NULL;
  const char *key_id;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (FC_IS_STORE (self), FALSE);
  g_return_val_if_fail (cipher == NULL || FC_IS_FIELD_CIPHER (cipher), FALSE);

  if (cipher == NULL)
    {
      g_clear_object (&self->cipher);
      return TRUE;
    }

  key_id = fc_field_cipher_get_key_id (cipher);
  g_return_val_if_fail (key_id != NULL && *key_id != '\0', FALSE);

  /* Under the write lock: of two programs opening a new database at the
   * same time with different keys, exactly one claims it. */
  if (!fc_store_begin (self, error))
    return FALSE;
  if (!read_meta (self, META_PII_KEY_ID, &recorded, error))
    goto fail;
  if (recorded == NULL)
    {
      stmt = fc_store_statement (self, "INSERT INTO store_meta (key, value) VALUES (?, ?)", error);
      if (stmt == NULL)
        goto fail;
      fc_bind_text (stmt, 1, META_PII_KEY_ID);
      fc_bind_text (stmt, 2, key_id);
      if (!fc_store_step_done (self, stmt, error) || !fc_store_commit (self, error))
        goto fail;
      g_debug ("%s: customer details now encrypted with key %s", self->path, key_id);
    }
  else
    {
      fc_store_rollback (self);
      if (strcmp (recorded, key_id) != 0)
        {
          g_set_error (error, FC_ERROR, FC_ERROR_PII_LOCKED,
                       "Customer details in %s were encrypted with key %s, but the key offered "
                       "is %s. They stay locked; nothing was changed. Restore the keyring that "
                       "holds key %s, or use the cloud's copy of the customers.",
                       self->path, recorded, key_id, recorded);
          return FALSE;
        }
    }

  g_set_object (&self->cipher, cipher);
  return TRUE;

fail:
  fc_store_rollback (self);
  return FALSE;
}

FcFieldCipher *
fc_store_get_field_cipher (FcStore *self)
{
  g_return_val_if_fail (FC_IS_STORE (self), NULL);
  return self->cipher;
}

void
fc_store_set_pii_lock_reason (FcStore    *self,
                              const char *reason)
{
  g_return_if_fail (FC_IS_STORE (self));

  if (g_strcmp0 (self->pii_lock_reason, reason) == 0)
    return;
  g_free (self->pii_lock_reason);
  self->pii_lock_reason = g_strdup (reason);
}

const char *
fc_store_get_pii_lock_reason (FcStore *self)
{
  g_return_val_if_fail (FC_IS_STORE (self), NULL);
  return self->pii_lock_reason;
}

gboolean
_fc_store_require_cipher (FcStore  *self,
                          GError  **error)
{
  const char *reason = self->pii_lock_reason ? self->pii_lock_reason
                                             : "this program has not been given the key";

  if (self->cipher != NULL)
    return TRUE;
  g_set_error (error, FC_ERROR, FC_ERROR_PII_LOCKED,
               "Customer details are locked because the keyring is not available: %s%s "
               "Fittings and shots work as usual.",
               reason, g_str_has_suffix (reason, ".") ? "" : ".");
  return FALSE;
}

/* Where a value lives, bound into its ciphertext. Starts with the format
 * name so that the same bytes can never mean something else elsewhere. */
static char *
aad_for (const char *column,
         const char *row_id)
{
  return g_strdup_printf ("fitclip/customers/%s/%s", column, row_id);
}

gboolean
_fc_store_bind_sealed (FcStore      *self,
                       sqlite3_stmt *stmt,
                       int           index,
                       const char   *column,
                       const char   *row_id,
                       const char   *text,
                       GError      **error)
{
  g_autofree char *aad = NULL;
  g_autoptr(GBytes) sealed = NULL;
  const void *data;
  gsize len;

  if (!_fc_store_require_cipher (self, error))
    return FALSE;
  if (text == NULL)
    {
      sqlite3_bind_null (stmt, index);
      return TRUE;
    }
  aad = aad_for (column, row_id);
  sealed = fc_field_cipher_encrypt_text (self->cipher, text, aad, error);
  if (sealed == NULL)
    return FALSE;
  data = g_bytes_get_data (sealed, &len);
  sqlite3_bind_blob64 (stmt, index, data, len, SQLITE_TRANSIENT);
  return TRUE;
}

gboolean
_fc_store_column_opened (FcStore      *self,
                         sqlite3_stmt *stmt,
                         int           index,
                         const char   *column,
                         const char   *row_id,
                         char        **text,
                         GError      **error)
{
  g_autofree char *aad = NULL;
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GError) local_error = NULL;

  *text = NULL;
  if (sqlite3_column_type (stmt, index) == SQLITE_NULL)
    return TRUE;
  g_assert (self->cipher != NULL);

  sealed = g_bytes_new (sqlite3_column_blob (stmt, index), sqlite3_column_bytes (stmt, index));
  aad = aad_for (column, row_id);
  *text = fc_field_cipher_decrypt_text (self->cipher, sealed, aad, &local_error);
  if (*text == NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "The %s of customer %s cannot be read: ", column, row_id);
      return FALSE;
    }
  return TRUE;
}

gboolean
_fc_store_check_pii_layout (FcStore  *self,
                            GError  **error)
{
  sqlite3_stmt *stmt;
  int rc;
  gboolean old_layout;

  /* Development builds before encryption kept these columns in clear;
   * say so instead of failing on a missing column later. */
  stmt = fc_store_statement (self,
                             "SELECT count(*) FROM pragma_table_info('customers') WHERE name = 'name'",
                             error);
  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  old_layout = rc == SQLITE_ROW && sqlite3_column_int (stmt, 0) > 0;
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW)
    {
      fc_store_set_error (self, error, rc, "checking the customers table");
      return FALSE;
    }
  if (old_layout)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_SCHEMA_TOO_NEW,
                   "The database %s was made by a development build of FitClip Agent that kept "
                   "customer details unencrypted; this version cannot use it. Export its "
                   "fittings with that build and import them here.", self->path);
      return FALSE;
    }
  return TRUE;
}

void
fc_pii_status_clear (FcPiiStatus *status)
{
  g_clear_pointer (&status->key_id, g_free);
  memset (status, 0, sizeof *status);
}

gboolean
fc_store_get_pii_status (FcStore      *self,
                         FcPiiStatus  *status,
                         GError      **error)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (self), FALSE);
  g_return_val_if_fail (status != NULL, FALSE);

  memset (status, 0, sizeof *status);
  if (!read_meta (self, META_PII_KEY_ID, &status->key_id, error))
    return FALSE;
  status->unlocked = self->cipher != NULL;

  stmt = fc_store_statement (self, "SELECT id FROM customers ORDER BY id", error);
  if (stmt == NULL)
    goto fail;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (ids, fc_column_dup (stmt, 0));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "listing customers");
      goto fail;
    }
  status->customers = ids->len;
  if (!status->unlocked)
    return TRUE;

  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(FcCustomer) c = fc_store_get_customer (self, g_ptr_array_index (ids, i), &local_error);

      if (c != NULL)
        status->readable++;
      else if (g_error_matches (local_error, FC_ERROR, FC_ERROR_CORRUPT) ||
               g_error_matches (local_error, FC_ERROR, FC_ERROR_PII_LOCKED))
        status->unreadable++;
      else
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          goto fail;
        }
    }
  return TRUE;

fail:
  fc_pii_status_clear (status);
  return FALSE;
}
