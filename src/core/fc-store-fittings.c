/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-store"

#include "fc-store-private.h"
#include "fc-record-json.h"

#include <math.h>
#include <string.h>

/* Customers, fittings and club configurations. Each change writes its
 * outbox entry in the same transaction. */

static char *
record_json (void (*write) (FcJsonWriter *, gconstpointer),
             gconstpointer record)
{
  FcJsonWriter *w = fc_json_writer_new (FALSE);

  write (w, record);
  return fc_json_writer_steal (w, NULL);
}

#define RECORD_JSON(fn, rec) record_json ((void (*) (FcJsonWriter *, gconstpointer)) fn, rec)

static gboolean
not_found (GError     **error,
           const char  *what,
           const char  *id)
{
  g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND, "No %s with id %s", what, id);
  return FALSE;
}

/* ---- customers ---------------------------------------------------------- */

/*
 * Name, e-mail, phone and notes go through the store's cipher
 * (fc-store-pii.c). The outbox entry carries no payload: a copy of the
 * details there would sit in clear beside the ciphertext, so the sync
 * engine reads the stored record when it sends.
 */

static gboolean
check_customer (const FcCustomer  *customer,
                GError           **error)
{
  if (customer->pii_locked)
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_PII_LOCKED,
                           "This customer's details were read while they were locked; "
                           "saving them would erase the stored ones");
      return FALSE;
    }
  if (customer->name == NULL || *customer->name == '\0')
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "A customer needs a name");
      return FALSE;
    }
  if (!isnan (customer->handicap) && (customer->handicap < -10 || customer->handicap > 54))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_OUT_OF_RANGE,
                   "A handicap of %g is not possible (expected +10 to 54)", customer->handicap);
      return FALSE;
    }
  return TRUE;
}

/* Binds the four PII columns at @first, @first + 1, ... */
static gboolean
bind_customer_pii (FcStore           *self,
                   sqlite3_stmt      *stmt,
                   int                first,
                   const FcCustomer  *c,
                   GError           **error)
{
  return _fc_store_bind_sealed (self, stmt, first, "name", c->id, c->name, error) &&
         _fc_store_bind_sealed (self, stmt, first + 1, "email", c->id, c->email, error) &&
         _fc_store_bind_sealed (self, stmt, first + 2, "phone", c->id, c->phone, error) &&
         _fc_store_bind_sealed (self, stmt, first + 3, "notes", c->id, c->notes, error);
}

gboolean
_fc_store_insert_customer (FcStore     *self,
                 FcCustomer  *c,
                 GError     **error)
{
  sqlite3_stmt *stmt;
  gint64 now = g_get_real_time ();

  if (!_fc_store_require_cipher (self, error))
    return FALSE;
  if (c->id == NULL)
    c->id = g_uuid_string_random ();

  stmt = fc_store_statement (self,
                             "INSERT INTO customers (id, name_enc, email_enc, phone_enc, notes_enc,"
                             " handedness, handicap, created_at, updated_at)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, c->id);
  if (!bind_customer_pii (self, stmt, 2, c, error))
    return FALSE;
  fc_bind_text (stmt, 6, fc_handedness_to_string (c->handedness));
  fc_bind_double (stmt, 7, c->handicap);
  sqlite3_bind_int64 (stmt, 8, now);
  sqlite3_bind_int64 (stmt, 9, now);
  if (!fc_store_step_done (self, stmt, error))
    return FALSE;

  return fc_store_enqueue (self, "customer", c->id, NULL, "create", NULL, error);
}

gboolean
fc_store_add_customer (FcStore     *self,
                       FcCustomer  *customer,
                       GError     **error)
{
  g_return_val_if_fail (FC_IS_STORE (self), FALSE);
  g_return_val_if_fail (customer != NULL, FALSE);

  if (customer->name != NULL)
    g_strstrip (customer->name);
  if (!check_customer (customer, error) || !_fc_store_require_cipher (self, error))
    return FALSE;
  if (!fc_store_begin (self, error))
    return FALSE;
  if (!_fc_store_insert_customer (self, customer, error))
    {
      fc_store_rollback (self);
      return FALSE;
    }
  return fc_store_commit (self, error);
}

gboolean
fc_store_update_customer (FcStore           *self,
                          const FcCustomer  *customer,
                          GError           **error)
{
  g_autoptr(FcCustomer) c = NULL;
  sqlite3_stmt *stmt;

  g_return_val_if_fail (FC_IS_STORE (self), FALSE);
  g_return_val_if_fail (customer != NULL && customer->id != NULL, FALSE);

  c = fc_customer_copy (customer);
  if (c->name != NULL)
    g_strstrip (c->name);
  if (!check_customer (c, error) || !_fc_store_require_cipher (self, error))
    return FALSE;
  if (!fc_store_begin (self, error))
    return FALSE;
  stmt = fc_store_statement (self,
                             "UPDATE customers SET name_enc = ?, email_enc = ?, phone_enc = ?,"
                             " notes_enc = ?, handedness = ?, handicap = ?, updated_at = ?"
                             " WHERE id = ?", error);
  if (stmt == NULL || !bind_customer_pii (self, stmt, 1, c, error))
    goto fail;
  fc_bind_text (stmt, 5, fc_handedness_to_string (c->handedness));
  fc_bind_double (stmt, 6, c->handicap);
  sqlite3_bind_int64 (stmt, 7, g_get_real_time ());
  fc_bind_text (stmt, 8, c->id);
  if (!fc_store_step_done (self, stmt, error))
    goto fail;
  if (sqlite3_changes (self->db) == 0)
    {
      not_found (error, "customer", c->id);
      goto fail;
    }
  if (!fc_store_enqueue (self, "customer", c->id, NULL, "update", NULL, error))
    goto fail;
  return fc_store_commit (self, error);

fail:
  fc_store_rollback (self);
  return FALSE;
}

FcCustomer *
fc_store_get_customer (FcStore     *self,
                       const char  *id,
                       GError     **error)
{
  sqlite3_stmt *stmt;
  g_autoptr(FcCustomer) c = NULL;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (self), NULL);

  stmt = fc_store_statement (self,
                             "SELECT id, name_enc, email_enc, phone_enc, notes_enc, handedness, handicap"
                             " FROM customers WHERE id = ?", error);
  if (stmt == NULL)
    return NULL;
  fc_bind_text (stmt, 1, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      c = fc_customer_new (NULL);
      c->id = fc_column_dup (stmt, 0);
      fc_handedness_from_string ((const char *) sqlite3_column_text (stmt, 5), &c->handedness);
      c->handicap = fc_column_double (stmt, 6);
      c->pii_locked = self->cipher == NULL;
      if (!c->pii_locked &&
          (!_fc_store_column_opened (self, stmt, 1, "name", c->id, &c->name, error) ||
           !_fc_store_column_opened (self, stmt, 2, "email", c->id, &c->email, error) ||
           !_fc_store_column_opened (self, stmt, 3, "phone", c->id, &c->phone, error) ||
           !_fc_store_column_opened (self, stmt, 4, "notes", c->id, &c->notes, error)))
        {
          sqlite3_reset (stmt);
          return NULL;
        }
    }
  sqlite3_reset (stmt);
  if (rc == SQLITE_DONE)
    not_found (error, "customer", id);
  else if (rc != SQLITE_ROW)
    fc_store_set_error (self, error, rc, "reading a customer");
  return g_steal_pointer (&c);
}

/* ---- fittings ----------------------------------------------------------- */

gboolean
_fc_store_insert_fitting (FcStore    *self,
                FcFitting  *f,
                GError    **error)
{
  sqlite3_stmt *stmt;
  gint64 now = g_get_real_time ();
  g_autofree char *payload = NULL;

  if (f->id == NULL)
    f->id = g_uuid_string_random ();
  if (f->started_at == 0)
    f->started_at = now;
  if (f->bay == NULL)
    f->bay = g_strdup (FC_STORE_DEFAULT_BAY);

  stmt = fc_store_statement (self,
                             "INSERT INTO fittings (id, customer_id, type, bay, fitter, status,"
                             " started_at, completed_at, active_config_id, notes, created_at, updated_at)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, f->id);
  fc_bind_text (stmt, 2, f->customer_id);
  fc_bind_text (stmt, 3, fc_fitting_type_to_string (f->type));
  fc_bind_text (stmt, 4, f->bay);
  fc_bind_text (stmt, 5, f->fitter);
  fc_bind_text (stmt, 6, fc_fitting_status_to_string (f->status));
  sqlite3_bind_int64 (stmt, 7, f->started_at);
  if (f->completed_at)
    sqlite3_bind_int64 (stmt, 8, f->completed_at);
  fc_bind_text (stmt, 9, f->active_config_id);
  fc_bind_text (stmt, 10, f->notes);
  sqlite3_bind_int64 (stmt, 11, now);
  sqlite3_bind_int64 (stmt, 12, now);
  if (!fc_store_step_done (self, stmt, error))
    {
      if (g_error_matches (*error, FC_ERROR, FC_ERROR_CONFLICT) && f->customer_id)
        g_prefix_error (error, "Unknown customer %s? ", f->customer_id);
      return FALSE;
    }

  payload = RECORD_JSON (fc_json_write_fitting, f);
  return fc_store_enqueue (self, "fitting", f->id, f->id, "create", payload, error);
}

static FcFitting *
fitting_from_row (sqlite3_stmt *stmt)
{
  FcFitting *f = fc_fitting_new (FC_FITTING_DRIVER, NULL);

  f->id = fc_column_dup (stmt, 0);
  f->customer_id = fc_column_dup (stmt, 1);
  fc_fitting_type_from_string ((const char *) sqlite3_column_text (stmt, 2), &f->type);
  f->bay = fc_column_dup (stmt, 3);
  f->fitter = fc_column_dup (stmt, 4);
  fc_fitting_status_from_string ((const char *) sqlite3_column_text (stmt, 5), &f->status);
  f->started_at = sqlite3_column_int64 (stmt, 6);
  f->completed_at = sqlite3_column_int64 (stmt, 7);
  f->active_config_id = fc_column_dup (stmt, 8);
  f->notes = fc_column_dup (stmt, 9);
  return f;
}

#define FITTING_COLUMNS \
  "id, customer_id, type, bay, fitter, status, started_at, completed_at, active_config_id, notes"

gboolean
fc_store_add_fitting (FcStore    *self,
                      FcFitting  *fitting,
                      GError    **error)
{
  g_return_val_if_fail (FC_IS_STORE (self), FALSE);
  g_return_val_if_fail (fitting != NULL, FALSE);

  if (!fc_store_begin (self, error))
    return FALSE;
  if (!_fc_store_insert_fitting (self, fitting, error))
    {
      fc_store_rollback (self);
      return FALSE;
    }
  return fc_store_commit (self, error);
}

FcFitting *
fc_store_get_fitting (FcStore     *self,
                      const char  *id,
                      GError     **error)
{
  sqlite3_stmt *stmt;
  FcFitting *f = NULL;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (self), NULL);

  stmt = fc_store_statement (self, "SELECT " FITTING_COLUMNS " FROM fittings WHERE id = ?", error);
  if (stmt == NULL)
    return NULL;
  fc_bind_text (stmt, 1, id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    f = fitting_from_row (stmt);
  sqlite3_reset (stmt);
  if (rc == SQLITE_DONE)
    not_found (error, "fitting", id);
  else if (rc != SQLITE_ROW)
    fc_store_set_error (self, error, rc, "reading a fitting");
  return f;
}

char *
fc_store_resolve_fitting_id (FcStore     *self,
                             const char  *id_or_prefix,
                             GError     **error)
{
  sqlite3_stmt *stmt;
  g_autofree char *pattern = NULL;
  g_autofree char *found = NULL;
  guint matches = 0;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (self), NULL);

  if (id_or_prefix == NULL || strlen (id_or_prefix) < 4 ||
      strspn (id_or_prefix, "0123456789abcdefABCDEF-") != strlen (id_or_prefix))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "“%s” is not a fitting id (give the id or at least its first 4 characters)",
                   id_or_prefix ? id_or_prefix : "");
      return NULL;
    }
  pattern = g_strdup_printf ("%s%%", id_or_prefix);
  stmt = fc_store_statement (self, "SELECT id FROM fittings WHERE id LIKE ? LIMIT 2", error);
  if (stmt == NULL)
    return NULL;
  fc_bind_text (stmt, 1, pattern);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      matches++;
      if (found == NULL)
        found = fc_column_dup (stmt, 0);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "looking up a fitting");
      return NULL;
    }
  if (matches == 0)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND, "No fitting with id %s", id_or_prefix);
      return NULL;
    }
  if (matches > 1)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "“%s” matches more than one fitting; give more of the id", id_or_prefix);
      return NULL;
    }
  return g_steal_pointer (&found);
}

GPtrArray *
fc_store_list_fittings (FcStore  *self,
                        GError  **error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_fitting_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (self), NULL);

  stmt = fc_store_statement (self,
                             "SELECT " FITTING_COLUMNS " FROM fittings ORDER BY started_at, id", error);
  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (list, fitting_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "listing fittings");
      return NULL;
    }
  return g_steal_pointer (&list);
}

gboolean
fc_store_complete_fitting (FcStore     *self,
                           const char  *fitting_id,
                           GError     **error)
{
  g_autoptr(FcFitting) f = NULL;
  g_autofree char *payload = NULL;
  sqlite3_stmt *stmt;
  gint64 now = g_get_real_time ();

  g_return_val_if_fail (FC_IS_STORE (self), FALSE);

  if (!fc_store_begin (self, error))
    return FALSE;
  f = fc_store_get_fitting (self, fitting_id, error);
  if (f == NULL)
    goto fail;
  if (f->status == FC_FITTING_COMPLETED)
    {
      /* Completing twice is harmless: nothing changes, nothing to sync. */
      fc_store_rollback (self);
      return TRUE;
    }
  f->status = FC_FITTING_COMPLETED;
  f->completed_at = now;
  stmt = fc_store_statement (self,
                             "UPDATE fittings SET status = 'completed', completed_at = ?, updated_at = ?"
                             " WHERE id = ?", error);
  if (stmt == NULL)
    goto fail;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int64 (stmt, 2, now);
  fc_bind_text (stmt, 3, fitting_id);
  if (!fc_store_step_done (self, stmt, error))
    goto fail;
  payload = RECORD_JSON (fc_json_write_fitting, f);
  if (!fc_store_enqueue (self, "fitting", f->id, f->id, "complete", payload, error))
    goto fail;
  return fc_store_commit (self, error);

fail:
  fc_store_rollback (self);
  return FALSE;
}

/* ---- configurations ----------------------------------------------------- */

gboolean
_fc_store_insert_config (FcStore       *self,
               FcClubConfig  *c,
               GError       **error)
{
  sqlite3_stmt *stmt;
  gint64 now = g_get_real_time ();
  g_autofree char *payload = NULL;
  int rc;

  if (c->id == NULL)
    c->id = g_uuid_string_random ();

  /* Append at the end of the fitting's list unless told otherwise. */
  if (c->position <= 0)
    {
      stmt = fc_store_statement (self,
                                 "SELECT coalesce(max(position), 0) + 1 FROM club_configs"
                                 " WHERE fitting_id = ?", error);
      if (stmt == NULL)
        return FALSE;
      fc_bind_text (stmt, 1, c->fitting_id);
      rc = sqlite3_step (stmt);
      c->position = rc == SQLITE_ROW ? sqlite3_column_int (stmt, 0) : 1;
      sqlite3_reset (stmt);
    }

  stmt = fc_store_statement (self,
                             "INSERT INTO club_configs (id, fitting_id, role, label, club_type, head,"
                             " shaft, loft_deg, setting, position, created_at, updated_at)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, c->id);
  fc_bind_text (stmt, 2, c->fitting_id);
  fc_bind_text (stmt, 3, fc_config_role_to_string (c->role));
  fc_bind_text (stmt, 4, c->label);
  fc_bind_text (stmt, 5, c->club_type);
  fc_bind_text (stmt, 6, c->head);
  fc_bind_text (stmt, 7, c->shaft);
  fc_bind_double (stmt, 8, c->loft_deg);
  fc_bind_text (stmt, 9, c->setting);
  sqlite3_bind_int (stmt, 10, c->position);
  sqlite3_bind_int64 (stmt, 11, now);
  sqlite3_bind_int64 (stmt, 12, now);
  if (!fc_store_step_done (self, stmt, error))
    {
      if (g_error_matches (*error, FC_ERROR, FC_ERROR_CONFLICT))
        {
          g_clear_error (error);
          g_set_error (error, FC_ERROR, FC_ERROR_CONFLICT,
                       c->role == FC_CONFIG_BASELINE
                         ? "Fitting %s already has a baseline club (or does not exist)"
                         : "Fitting %s does not exist", c->fitting_id);
        }
      return FALSE;
    }

  payload = RECORD_JSON (fc_json_write_club_config, c);
  return fc_store_enqueue (self, "club_config", c->id, c->fitting_id, "create", payload, error);
}

gboolean
fc_store_add_config (FcStore       *self,
                     FcClubConfig  *config,
                     GError       **error)
{
  g_return_val_if_fail (FC_IS_STORE (self), FALSE);
  g_return_val_if_fail (config != NULL && config->fitting_id != NULL, FALSE);

  if (!fc_store_begin (self, error))
    return FALSE;
  if (!_fc_store_insert_config (self, config, error))
    {
      fc_store_rollback (self);
      return FALSE;
    }
  return fc_store_commit (self, error);
}

static FcClubConfig *
config_from_row (sqlite3_stmt *stmt)
{
  FcClubConfig *c = fc_club_config_new (FC_CONFIG_TEST, NULL);

  c->id = fc_column_dup (stmt, 0);
  c->fitting_id = fc_column_dup (stmt, 1);
  fc_config_role_from_string ((const char *) sqlite3_column_text (stmt, 2), &c->role);
  c->label = fc_column_dup (stmt, 3);
  c->club_type = fc_column_dup (stmt, 4);
  c->head = fc_column_dup (stmt, 5);
  c->shaft = fc_column_dup (stmt, 6);
  c->loft_deg = fc_column_double (stmt, 7);
  c->setting = fc_column_dup (stmt, 8);
  c->position = sqlite3_column_int (stmt, 9);
  return c;
}

GPtrArray *
fc_store_list_configs (FcStore     *self,
                       const char  *fitting_id,
                       GError     **error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_club_config_free);
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (FC_IS_STORE (self), NULL);

  stmt = fc_store_statement (self,
                             "SELECT id, fitting_id, role, label, club_type, head, shaft, loft_deg,"
                             " setting, position FROM club_configs WHERE fitting_id = ?"
                             " ORDER BY role = 'test', position, id", error);
  if (stmt == NULL)
    return NULL;
  fc_bind_text (stmt, 1, fitting_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (list, config_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "listing club configurations");
      return NULL;
    }
  return g_steal_pointer (&list);
}

gboolean
fc_store_set_active_config (FcStore     *self,
                            const char  *fitting_id,
                            const char  *config_id,
                            GError     **error)
{
  sqlite3_stmt *stmt;

  g_return_val_if_fail (FC_IS_STORE (self), FALSE);

  /* Local UI state, not synced: no outbox entry. */
  stmt = fc_store_statement (self,
                             "UPDATE fittings SET active_config_id = ?, updated_at = ? WHERE id = ?"
                             " AND EXISTS (SELECT 1 FROM club_configs WHERE id = ? AND fitting_id = ?)",
                             error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, config_id);
  sqlite3_bind_int64 (stmt, 2, g_get_real_time ());
  fc_bind_text (stmt, 3, fitting_id);
  fc_bind_text (stmt, 4, config_id);
  fc_bind_text (stmt, 5, fitting_id);
  if (!fc_store_step_done (self, stmt, error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_NOT_FOUND,
                   "Fitting %s has no club configuration %s", fitting_id, config_id);
      return FALSE;
    }
  return TRUE;
}

/* ---- resolving where a shot goes (inside a transaction) ---------------- */

/* The bay's practice session and its single configuration, created on
 * first use. Runs inside the caller's transaction. */
gboolean
_fc_store_lookup_practice (FcStore     *self,
                           const char  *bay,
                           char       **fitting_id,
                           GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;
  g_autoptr(FcFitting) f = NULL;
  g_autoptr(FcClubConfig) c = NULL;

  stmt = fc_store_statement (self,
                             "SELECT id FROM fittings WHERE bay = ? AND type = 'practice'"
                             " AND status = 'open'", error);
  if (stmt == NULL)
    return FALSE;
  fc_bind_text (stmt, 1, bay);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *fitting_id = fc_column_dup (stmt, 0);
      sqlite3_reset (stmt);
      return TRUE;
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      fc_store_set_error (self, error, rc, "finding the practice session");
      return FALSE;
    }

  f = fc_fitting_new (FC_FITTING_PRACTICE, bay);
  if (!_fc_store_insert_fitting (self, f, error))
    return FALSE;
  c = fc_club_config_new (FC_CONFIG_BASELINE, "Practice");
  c->fitting_id = g_strdup (f->id);
  if (!_fc_store_insert_config (self, c, error))
    return FALSE;
  *fitting_id = g_steal_pointer (&f->id);
  return TRUE;
}

FcFitting *
fc_store_ensure_practice_session (FcStore     *self,
                                  const char  *bay,
                                  GError     **error)
{
  g_autofree char *id = NULL;

  g_return_val_if_fail (FC_IS_STORE (self), NULL);

  if (bay == NULL)
    bay = FC_STORE_DEFAULT_BAY;
  if (!fc_store_begin (self, error))
    return NULL;
  if (!_fc_store_lookup_practice (self, bay, &id, error) || !fc_store_commit (self, error))
    {
      fc_store_rollback (self);
      return NULL;
    }
  return fc_store_get_fitting (self, id, error);
}
