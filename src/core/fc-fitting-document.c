/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-fitting-document"

#include "config.h"

#include "fc-fitting-document.h"
#include "fc-error.h"
#include "fc-record-json.h"

#include <json-glib/json-glib.h>
#include <string.h>

FcFittingDocument *
fc_fitting_document_new (void)
{
  FcFittingDocument *doc = g_new0 (FcFittingDocument, 1);

  doc->configs = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_club_config_free);
  doc->shots = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_shot_free);
  return doc;
}

void
fc_fitting_document_free (FcFittingDocument *doc)
{
  if (doc == NULL)
    return;
  g_clear_pointer (&doc->customer, fc_customer_free);
  g_clear_pointer (&doc->fitting, fc_fitting_free);
  g_ptr_array_unref (doc->configs);
  g_ptr_array_unref (doc->shots);
  g_free (doc);
}

char *
fc_fitting_document_to_json (const FcFittingDocument *doc,
                             gsize                   *length)
{
  FcJsonWriter *w = fc_json_writer_new (TRUE);

  g_return_val_if_fail (doc != NULL && doc->fitting != NULL, NULL);

  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "format");
  fc_json_writer_string (w, FC_DOCUMENT_FORMAT);
  fc_json_writer_key (w, "format_version");
  fc_json_writer_int (w, FC_DOCUMENT_FORMAT_VERSION);
  fc_json_writer_key (w, "customer");
  if (doc->customer)
    fc_json_write_customer (w, doc->customer);
  else
    fc_json_writer_null (w);
  fc_json_writer_key (w, "fitting");
  fc_json_write_fitting (w, doc->fitting);
  fc_json_writer_key (w, "configs");
  fc_json_writer_begin_array (w);
  for (guint i = 0; i < doc->configs->len; i++)
    fc_json_write_club_config (w, g_ptr_array_index (doc->configs, i));
  fc_json_writer_end_array (w);
  fc_json_writer_key (w, "shots");
  fc_json_writer_begin_array (w);
  for (guint i = 0; i < doc->shots->len; i++)
    fc_json_write_shot (w, g_ptr_array_index (doc->shots, i), FC_SHOT_JSON_WITH_RAW);
  fc_json_writer_end_array (w);
  fc_json_writer_end_object (w);
  return fc_json_writer_steal (w, length);
}

static void
csv_text (GString    *out,
          const char *text)
{
  if (text == NULL)
    return;
  /* Quote anything a spreadsheet could misread; a leading = + - @ is
   * prefixed so that it is never run as a formula (CSV injection). */
  if (strpbrk (text, ",\"\r\n") || strchr ("=+-@", text[0]) != NULL)
    {
      g_string_append_c (out, '"');
      if (text[0] != '\0' && strchr ("=+-@", text[0]) != NULL)
        g_string_append_c (out, '\'');
      for (const char *p = text; *p; p++)
        {
          if (*p == '"')
            g_string_append_c (out, '"');
          g_string_append_c (out, *p);
        }
      g_string_append_c (out, '"');
    }
  else
    g_string_append (out, text);
}

char *
fc_fitting_document_to_csv (const FcFittingDocument *doc,
                            gsize                   *length)
{
  GString *out = g_string_sized_new (4096);
  g_autoptr(GHashTable) configs = g_hash_table_new (g_str_hash, g_str_equal);
  static const char *meta[] = {
    "shot_id", "fitting_id", "config_id", "config_role", "config_label", "received_at",
    "device_time", "device_id", "source_protocol", "club", "excluded", "exclude_reason",
    "tags", "spin_estimated",
  };

  g_return_val_if_fail (doc != NULL, NULL);

  for (guint i = 0; i < doc->configs->len; i++)
    {
      FcClubConfig *c = g_ptr_array_index (doc->configs, i);
      g_hash_table_insert (configs, c->id, c);
    }

  for (guint i = 0; i < G_N_ELEMENTS (meta); i++)
    g_string_append_printf (out, "%s%s", i ? "," : "", meta[i]);
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    g_string_append_printf (out, ",%s", fc_shot_field_get_name (f));
  g_string_append (out, "\r\n");

  for (guint i = 0; i < doc->shots->len; i++)
    {
      FcShot *s = g_ptr_array_index (doc->shots, i);
      FcClubConfig *c = g_hash_table_lookup (configs, s->config_id);
      g_autofree char *received = fc_format_timestamp (s->received_at);
      g_autofree char *tags = NULL;

      g_ptr_array_add (s->tags, NULL);
      tags = g_strjoinv (";", (char **) s->tags->pdata);
      g_ptr_array_remove_index (s->tags, s->tags->len - 1);

      csv_text (out, s->id);
      g_string_append_c (out, ',');
      csv_text (out, s->fitting_id);
      g_string_append_c (out, ',');
      csv_text (out, s->config_id);
      g_string_append_c (out, ',');
      csv_text (out, c ? fc_config_role_to_string (c->role) : NULL);
      g_string_append_c (out, ',');
      csv_text (out, c ? c->label : NULL);
      g_string_append_c (out, ',');
      csv_text (out, received);
      g_string_append_c (out, ',');
      csv_text (out, s->device_time);
      g_string_append_c (out, ',');
      csv_text (out, s->device_id);
      g_string_append_c (out, ',');
      csv_text (out, s->source_protocol);
      g_string_append_c (out, ',');
      csv_text (out, s->club);
      g_string_append_printf (out, ",%s,", s->excluded ? "true" : "false");
      csv_text (out, s->exclude_reason);
      g_string_append_c (out, ',');
      csv_text (out, tags);
      g_string_append_printf (out, ",%s", s->spin_estimated < 0 ? "" : s->spin_estimated ? "true" : "false");
      for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];

          g_string_append_c (out, ',');
          if (fc_shot_has (s, f))
            {
              fc_format_double_shortest (buf, sizeof buf, fc_shot_get (s, f));
              g_string_append (out, buf);
            }
        }
      g_string_append (out, "\r\n");
    }

  if (length)
    *length = out->len;
  return g_string_free (out, FALSE);
}

static JsonObject *
member_object (JsonObject  *o,
               const char  *key,
               gboolean     nullable,
               const char  *where,
               GError     **error)
{
  JsonNode *node = json_object_get_member (o, key);

  if (node && JSON_NODE_HOLDS_OBJECT (node))
    return json_node_get_object (node);
  if (nullable && (node == NULL || JSON_NODE_HOLDS_NULL (node)))
    return NULL;
  g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "%s: “%s” must be an object", where, key);
  return NULL;
}

static JsonArray *
member_array (JsonObject  *o,
              const char  *key,
              const char  *where,
              GError     **error)
{
  JsonNode *node = json_object_get_member (o, key);

  if (node && JSON_NODE_HOLDS_ARRAY (node))
    return json_node_get_array (node);
  g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "%s: “%s” must be an array", where, key);
  return NULL;
}

FcFittingDocument *
fc_fitting_document_from_json (const char  *name,
                               const char  *text,
                               gsize        length,
                               GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(FcFittingDocument) doc = fc_fitting_document_new ();
  g_autoptr(GError) local = NULL;
  g_autoptr(GHashTable) config_ids = g_hash_table_new (g_str_hash, g_str_equal);
  JsonNode *root;
  JsonObject *o, *obj;
  JsonArray *array;
  const char *format;
  gint64 version;

  if (!json_parser_load_from_data (parser, text, length, &local))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "%s is not valid JSON: %s",
                   name, local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_UNKNOWN_FORMAT,
                   "%s: a FitClip fitting file holds one JSON object", name);
      return NULL;
    }
  o = json_node_get_object (root);
  {
    JsonNode *f = json_object_get_member (o, "format");
    JsonNode *v = json_object_get_member (o, "format_version");

    format = f && JSON_NODE_HOLDS_VALUE (f) && json_node_get_value_type (f) == G_TYPE_STRING
               ? json_node_get_string (f) : NULL;
    if (g_strcmp0 (format, FC_DOCUMENT_FORMAT) != 0)
      {
        g_set_error (error, FC_ERROR, FC_ERROR_UNKNOWN_FORMAT,
                     "%s: unknown JSON format (expected \"format\": \"%s\")", name, FC_DOCUMENT_FORMAT);
        return NULL;
      }
    version = v && JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_INT64
                ? json_node_get_int (v) : -1;
  }
  if (version != FC_DOCUMENT_FORMAT_VERSION)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_UNKNOWN_FORMAT,
                   "%s: format_version %" G_GINT64_FORMAT " is not supported (this FitClip reads %d)",
                   name, version, FC_DOCUMENT_FORMAT_VERSION);
      return NULL;
    }

  obj = member_object (o, "customer", TRUE, name, error);
  if (error && *error)
    return NULL;
  if (obj)
    {
      g_autofree char *where = g_strdup_printf ("%s, customer", name);
      doc->customer = fc_json_read_customer (obj, where, error);
      if (doc->customer == NULL)
        return NULL;
    }

  obj = member_object (o, "fitting", FALSE, name, error);
  if (obj == NULL)
    return NULL;
  {
    g_autofree char *where = g_strdup_printf ("%s, fitting", name);
    doc->fitting = fc_json_read_fitting (obj, where, error);
    if (doc->fitting == NULL)
      return NULL;
  }
  if (g_strcmp0 (doc->fitting->customer_id, doc->customer ? doc->customer->id : NULL) != 0)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "%s: the fitting's customer_id does not match the customer", name);
      return NULL;
    }

  array = member_array (o, "configs", name, error);
  if (array == NULL)
    return NULL;
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      g_autofree char *where = g_strdup_printf ("%s, configs[%u]", name, i);
      FcClubConfig *c;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "%s must be an object", where);
          return NULL;
        }
      c = fc_json_read_club_config (json_node_get_object (node), where, error);
      if (c == NULL)
        return NULL;
      g_ptr_array_add (doc->configs, c);
      if (g_strcmp0 (c->fitting_id, doc->fitting->id) != 0)
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                       "%s belongs to another fitting", where);
          return NULL;
        }
      g_hash_table_add (config_ids, c->id);
    }

  array = member_array (o, "shots", name, error);
  if (array == NULL)
    return NULL;
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      g_autofree char *where = g_strdup_printf ("%s, shots[%u]", name, i);
      FcShot *s;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "%s must be an object", where);
          return NULL;
        }
      s = fc_json_read_shot (json_node_get_object (node), where, error);
      if (s == NULL)
        return NULL;
      g_ptr_array_add (doc->shots, s);
      if (g_strcmp0 (s->fitting_id, doc->fitting->id) != 0 ||
          !g_hash_table_contains (config_ids, s->config_id ? s->config_id : ""))
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                       "%s: its fitting_id or config_id is not in this file", where);
          return NULL;
        }
    }

  return g_steal_pointer (&doc);
}
