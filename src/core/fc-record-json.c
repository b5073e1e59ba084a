/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-record-json"

#include "fc-record-json.h"
#include "fc-error.h"

#include <math.h>

static void
write_string (FcJsonWriter *w,
              const char   *key,
              const char   *value)
{
  fc_json_writer_key (w, key);
  fc_json_writer_string (w, value);
}

static void
write_double (FcJsonWriter *w,
              const char   *key,
              double        value)
{
  fc_json_writer_key (w, key);
  fc_json_writer_double (w, value);
}

static void
write_time (FcJsonWriter *w,
            const char   *key,
            gint64        unix_us)
{
  g_autofree char *text = unix_us ? fc_format_timestamp (unix_us) : NULL;

  write_string (w, key, text);
}

void
fc_json_write_customer (FcJsonWriter     *w,
                        const FcCustomer *c)
{
  fc_json_writer_begin_object (w);
  write_string (w, "id", c->id);
  /* Only when true, so that exports of readable customers keep their
   * exact bytes. */
  if (c->pii_locked)
    {
      fc_json_writer_key (w, "pii_locked");
      fc_json_writer_boolean (w, TRUE);
    }
  write_string (w, "name", c->name);
  write_string (w, "email", c->email);
  write_string (w, "phone", c->phone);
  write_string (w, "handedness", fc_handedness_to_string (c->handedness));
  write_double (w, "handicap", c->handicap);
  write_string (w, "notes", c->notes);
  fc_json_writer_end_object (w);
}

void
fc_json_write_fitting (FcJsonWriter    *w,
                       const FcFitting *f)
{
  fc_json_writer_begin_object (w);
  write_string (w, "id", f->id);
  write_string (w, "customer_id", f->customer_id);
  write_string (w, "type", fc_fitting_type_to_string (f->type));
  write_string (w, "bay", f->bay);
  write_string (w, "fitter", f->fitter);
  write_string (w, "status", fc_fitting_status_to_string (f->status));
  write_time (w, "started_at", f->started_at);
  write_time (w, "completed_at", f->completed_at);
  write_string (w, "active_config_id", f->active_config_id);
  write_string (w, "notes", f->notes);
  fc_json_writer_end_object (w);
}

void
fc_json_write_club_config (FcJsonWriter       *w,
                           const FcClubConfig *c)
{
  fc_json_writer_begin_object (w);
  write_string (w, "id", c->id);
  write_string (w, "fitting_id", c->fitting_id);
  write_string (w, "role", fc_config_role_to_string (c->role));
  write_string (w, "label", c->label);
  write_string (w, "club_type", c->club_type);
  write_string (w, "head", c->head);
  write_string (w, "shaft", c->shaft);
  write_double (w, "loft_deg", c->loft_deg);
  write_string (w, "setting", c->setting);
  fc_json_writer_key (w, "position");
  fc_json_writer_int (w, c->position);
  fc_json_writer_end_object (w);
}

void
fc_json_write_shot (FcJsonWriter    *w,
                    const FcShot    *s,
                    FcShotJsonFlags  flags)
{
  fc_json_writer_begin_object (w);
  write_string (w, "id", s->id);
  write_string (w, "fitting_id", s->fitting_id);
  write_string (w, "config_id", s->config_id);
  write_string (w, "device_id", s->device_id);
  write_string (w, "device_shot_id", s->device_shot_id);
  write_string (w, "club", s->club);
  write_string (w, "device_time", s->device_time);
  write_time (w, "received_at", s->received_at);
  fc_json_writer_key (w, "spin_estimated");
  if (s->spin_estimated < 0)
    fc_json_writer_null (w);
  else
    fc_json_writer_boolean (w, s->spin_estimated);
  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    if (fc_shot_has (s, i) || !(flags & FC_SHOT_JSON_SKIP_NULLS))
      write_double (w, fc_shot_field_get_name (i), fc_shot_get (s, i));
  fc_json_writer_key (w, "excluded");
  fc_json_writer_boolean (w, s->excluded);
  write_string (w, "exclude_reason", s->exclude_reason);
  fc_json_writer_key (w, "tags");
  fc_json_writer_begin_array (w);
  for (guint i = 0; i < s->tags->len; i++)
    fc_json_writer_string (w, g_ptr_array_index (s->tags, i));
  fc_json_writer_end_array (w);
  fc_json_writer_key (w, "source");
  fc_json_writer_begin_object (w);
  write_string (w, "kind", fc_source_kind_to_string (s->source_kind));
  write_string (w, "protocol", s->source_protocol);
  write_string (w, "detail", s->source_detail);
  if (flags & FC_SHOT_JSON_WITH_RAW)
    {
      g_autofree char *b64 = NULL;

      if (s->raw)
        {
          gsize len;
          const guint8 *data = g_bytes_get_data (s->raw, &len);
          b64 = g_base64_encode (data, len);
        }
      write_string (w, "raw_base64", b64);
    }
  fc_json_writer_end_object (w);
  fc_json_writer_end_object (w);
}

char *
fc_shot_to_json (const FcShot    *shot,
                 FcShotJsonFlags  flags)
{
  FcJsonWriter *w = fc_json_writer_new (FALSE);

  fc_json_write_shot (w, shot, flags);
  return fc_json_writer_steal (w, NULL);
}

/* ---- reading ------------------------------------------------------------ */

static gboolean
get_string (JsonObject  *o,
            const char  *key,
            gboolean     required,
            char       **out,
            const char  *where,
            GError     **error)
{
  JsonNode *node = json_object_get_member (o, key);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (required)
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                       "%s: “%s” is missing", where, key);
          return FALSE;
        }
      *out = NULL;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "%s: “%s” must be a string", where, key);
      return FALSE;
    }
  *out = g_strdup (json_node_get_string (node));
  return TRUE;
}

/* Numbers: JSON has no NaN, and an integer is a valid double. */
static gboolean
get_double (JsonObject  *o,
            const char  *key,
            double      *out,
            const char  *where,
            GError     **error)
{
  JsonNode *node = json_object_get_member (o, key);
  GType type;

  *out = NAN;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type == G_TYPE_DOUBLE || type == G_TYPE_INT64)
    {
      *out = json_node_get_double (node);
      if (isfinite (*out))
        return TRUE;
    }
  g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
               "%s: “%s” must be a number or null", where, key);
  return FALSE;
}

static gboolean
get_time (JsonObject  *o,
          const char  *key,
          gboolean     required,
          gint64      *out,
          const char  *where,
          GError     **error)
{
  g_autofree char *text = NULL;

  *out = 0;
  if (!get_string (o, key, required, &text, where, error))
    return FALSE;
  if (text && !fc_parse_timestamp (text, out))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "%s: “%s” is not an ISO 8601 time: %s", where, key, text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
get_boolean (JsonObject  *o,
             const char  *key,
             int         *out,   /* -1 when null or absent */
             const char  *where,
             GError     **error)
{
  JsonNode *node = json_object_get_member (o, key);

  *out = -1;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    {
      *out = json_node_get_boolean (node);
      return TRUE;
    }
  g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
               "%s: “%s” must be true, false or null", where, key);
  return FALSE;
}

static gboolean
check_uuid (const char  *id,
            const char  *where,
            GError     **error)
{
  if (id && g_uuid_string_is_valid (id))
    return TRUE;
  g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
               "%s: “id” must be a UUID, got “%s”", where, id ? id : "");
  return FALSE;
}

#define BAD_ENUM(what, value)                                                   \
  G_STMT_START {                                                                \
    g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,                       \
                 "%s: unknown " what " “%s”", where, value ? value : "");       \
    return NULL;                                                                \
  } G_STMT_END

FcCustomer *
fc_json_read_customer (JsonObject  *o,
                       const char  *where,
                       GError     **error)
{
  g_autoptr(FcCustomer) c = fc_customer_new (NULL);
  g_autofree char *hand = NULL;
  int locked;

  if (!get_string (o, "id", TRUE, &c->id, where, error) ||
      !check_uuid (c->id, where, error) ||
      !get_boolean (o, "pii_locked", &locked, where, error))
    return NULL;
  if (locked == TRUE)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_PII_LOCKED,
                   "%s: the customer's details were locked (keyring not available) when this "
                   "was written, so it has no name, e-mail or phone to restore", where);
      return NULL;
    }
  if (!get_string (o, "name", TRUE, &c->name, where, error) ||
      !get_string (o, "email", FALSE, &c->email, where, error) ||
      !get_string (o, "phone", FALSE, &c->phone, where, error) ||
      !get_string (o, "handedness", FALSE, &hand, where, error) ||
      !get_double (o, "handicap", &c->handicap, where, error) ||
      !get_string (o, "notes", FALSE, &c->notes, where, error))
    return NULL;
  if (hand && !fc_handedness_from_string (hand, &c->handedness))
    BAD_ENUM ("handedness", hand);
  return g_steal_pointer (&c);
}

FcFitting *
fc_json_read_fitting (JsonObject  *o,
                      const char  *where,
                      GError     **error)
{
  g_autoptr(FcFitting) f = fc_fitting_new (FC_FITTING_DRIVER, NULL);
  g_autofree char *type = NULL, *status = NULL;

  if (!get_string (o, "id", TRUE, &f->id, where, error) ||
      !check_uuid (f->id, where, error) ||
      !get_string (o, "customer_id", FALSE, &f->customer_id, where, error) ||
      !get_string (o, "type", TRUE, &type, where, error) ||
      !get_string (o, "bay", TRUE, &f->bay, where, error) ||
      !get_string (o, "fitter", FALSE, &f->fitter, where, error) ||
      !get_string (o, "status", TRUE, &status, where, error) ||
      !get_time (o, "started_at", TRUE, &f->started_at, where, error) ||
      !get_time (o, "completed_at", FALSE, &f->completed_at, where, error) ||
      !get_string (o, "active_config_id", FALSE, &f->active_config_id, where, error) ||
      !get_string (o, "notes", FALSE, &f->notes, where, error))
    return NULL;
  if (!fc_fitting_type_from_string (type, &f->type))
    BAD_ENUM ("fitting type", type);
  if (!fc_fitting_status_from_string (status, &f->status))
    BAD_ENUM ("fitting status", status);
  return g_steal_pointer (&f);
}

FcClubConfig *
fc_json_read_club_config (JsonObject  *o,
                          const char  *where,
                          GError     **error)
{
  g_autoptr(FcClubConfig) c = fc_club_config_new (FC_CONFIG_TEST, NULL);
  g_autofree char *role = NULL;
  double position;

  if (!get_string (o, "id", TRUE, &c->id, where, error) ||
      !check_uuid (c->id, where, error) ||
      !get_string (o, "fitting_id", FALSE, &c->fitting_id, where, error) ||
      !get_string (o, "role", TRUE, &role, where, error) ||
      !get_string (o, "label", FALSE, &c->label, where, error) ||
      !get_string (o, "club_type", FALSE, &c->club_type, where, error) ||
      !get_string (o, "head", FALSE, &c->head, where, error) ||
      !get_string (o, "shaft", FALSE, &c->shaft, where, error) ||
      !get_double (o, "loft_deg", &c->loft_deg, where, error) ||
      !get_string (o, "setting", FALSE, &c->setting, where, error) ||
      !get_double (o, "position", &position, where, error))
    return NULL;
  if (!fc_config_role_from_string (role, &c->role))
    BAD_ENUM ("configuration role", role);
  c->position = isnan (position) ? 0 : (int) position;
  return g_steal_pointer (&c);
}

FcShot *
fc_json_read_shot (JsonObject  *o,
                   const char  *where,
                   GError     **error)
{
  g_autoptr(FcShot) s = fc_shot_new ();
  g_autofree char *kind = NULL, *raw_b64 = NULL;
  JsonObject *source;
  JsonNode *source_node;
  JsonNode *tags;
  int excluded;

  if (!get_string (o, "id", TRUE, &s->id, where, error) ||
      !check_uuid (s->id, where, error) ||
      !get_string (o, "fitting_id", FALSE, &s->fitting_id, where, error) ||
      !get_string (o, "config_id", FALSE, &s->config_id, where, error) ||
      !get_string (o, "device_id", TRUE, &s->device_id, where, error) ||
      !get_string (o, "device_shot_id", FALSE, &s->device_shot_id, where, error) ||
      !get_string (o, "club", FALSE, &s->club, where, error) ||
      !get_string (o, "device_time", FALSE, &s->device_time, where, error) ||
      !get_time (o, "received_at", TRUE, &s->received_at, where, error) ||
      !get_boolean (o, "spin_estimated", &s->spin_estimated, where, error) ||
      !get_boolean (o, "excluded", &excluded, where, error) ||
      !get_string (o, "exclude_reason", FALSE, &s->exclude_reason, where, error))
    return NULL;
  s->excluded = excluded == 1;

  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    {
      double v;
      g_autoptr(GError) local = NULL;

      if (!get_double (o, fc_shot_field_get_name (i), &v, where, error))
        return NULL;
      if (isnan (v))
        continue;
      if (!fc_shot_field_check (i, v, &local))
        {
          g_set_error (error, FC_ERROR, local->code, "%s: %s", where, local->message);
          return NULL;
        }
      fc_shot_set (s, i, v);
    }

  tags = json_object_get_member (o, "tags");
  if (tags && JSON_NODE_HOLDS_ARRAY (tags))
    {
      JsonArray *a = json_node_get_array (tags);

      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *t = json_array_get_element (a, i);
          if (!JSON_NODE_HOLDS_VALUE (t) || json_node_get_value_type (t) != G_TYPE_STRING ||
              *json_node_get_string (t) == '\0')
            {
              g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                           "%s: “tags” must hold non-empty strings", where);
              return NULL;
            }
          fc_shot_add_tag (s, json_node_get_string (t));
        }
    }
  else if (tags && !JSON_NODE_HOLDS_NULL (tags))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "%s: “tags” must be an array", where);
      return NULL;
    }

  source_node = json_object_get_member (o, "source");
  source = source_node && JSON_NODE_HOLDS_OBJECT (source_node) ? json_node_get_object (source_node) : NULL;
  if (source == NULL)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "%s: “source” must be an object", where);
      return NULL;
    }
  if (!get_string (source, "kind", TRUE, &kind, where, error) ||
      !get_string (source, "protocol", TRUE, &s->source_protocol, where, error) ||
      !get_string (source, "detail", FALSE, &s->source_detail, where, error) ||
      !get_string (source, "raw_base64", FALSE, &raw_b64, where, error))
    return NULL;
  if (!fc_source_kind_from_string (kind, &s->source_kind))
    BAD_ENUM ("source kind", kind);
  if (raw_b64)
    {
      gsize len;
      guchar *data = g_base64_decode (raw_b64, &len);
      s->raw = g_bytes_new_take (data, len);
    }

  if (s->present == 0)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "%s: the shot has no measured values", where);
      return NULL;
    }
  return g_steal_pointer (&s);
}
