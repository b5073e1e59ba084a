/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-import"

#include "fc-import.h"
#include "fc-error.h"
#include "fc-fitting-document.h"
#include "fc-trackman-measurement.h"

#include <string.h>

/* Files larger than this are not launch-monitor exports. */
#define MAX_IMPORT_SIZE (256 * 1024 * 1024)

/* The TrackMan measurement objects inside a TPS live event (an EventGrid
 * envelope: an array of events with data.EventModel.Measurement), a bare
 * event, or a bare measurement. */
static void
collect_measurements (JsonNode  *node,
                      GPtrArray *out)
{
  JsonObject *o;
  JsonNode *child;

  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (a); i++)
        collect_measurements (json_array_get_element (a, i), out);
      return;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return;
  o = json_node_get_object (node);
  if ((child = json_object_get_member (o, "data")) ||
      (child = json_object_get_member (o, "EventModel")) ||
      (child = json_object_get_member (o, "Measurement")))
    {
      collect_measurements (child, out);
      return;
    }
  if (json_object_has_member (o, "BallSpeed") || json_object_has_member (o, "ClubSpeed"))
    g_ptr_array_add (out, o);
}

static FcImportBatch *
parse_trackman_json (const char  *name,
                     JsonNode    *root,
                     GError     **error)
{
  g_autoptr(FcImportBatch) batch = fc_import_batch_new ();
  g_autoptr(GPtrArray) measurements = g_ptr_array_new ();

  collect_measurements (root, measurements);
  if (measurements->len == 0)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_UNKNOWN_FORMAT,
                   "%s: JSON, but neither a FitClip fitting nor TrackMan measurements", name);
      return NULL;
    }
  for (guint i = 0; i < measurements->len; i++)
    {
      g_autofree char *where = g_strdup_printf ("%s, measurement %u", name, i + 1);
      g_autoptr(JsonGenerator) gen = json_generator_new ();
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (),
                                                         g_ptr_array_index (measurements, i));
      FcShot *shot = fc_trackman_measurement_to_shot (g_ptr_array_index (measurements, i), where, error);
      char *raw;
      gsize len;

      if (shot == NULL)
        return NULL;
      json_generator_set_root (gen, node);
      raw = json_generator_to_data (gen, &len);
      shot->raw = g_bytes_new_take (raw, len);
      shot->source_kind = FC_SOURCE_FILE;
      shot->source_protocol = g_strdup ("json/trackman-measurement");
      shot->source_detail = g_strdup (where);
      shot->device_id = g_strdup ("trackman");
      if (shot->device_shot_id == NULL)
        shot->device_shot_id = g_compute_checksum_for_data (G_CHECKSUM_SHA1, (const guchar *) raw, len);
      g_ptr_array_add (batch->shots, shot);
    }
  batch->format = g_strdup ("trackman-measurement-json");
  batch->format_label = g_strdup ("TrackMan measurement JSON");
  return g_steal_pointer (&batch);
}

static FcImportBatch *
parse_json (const char  *name,
            const char  *text,
            gsize        len,
            GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local = NULL;
  g_autoptr(FcImportBatch) batch = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, text, len, &local))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "%s is not valid JSON: %s",
                   name, local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root && JSON_NODE_HOLDS_OBJECT (root) &&
      json_object_has_member (json_node_get_object (root), "format"))
    {
      FcFittingDocument *doc = fc_fitting_document_from_json (name, text, len, error);

      if (doc == NULL)
        return NULL;
      batch = fc_import_batch_new ();
      batch->document = doc;
      batch->format = g_strdup (FC_DOCUMENT_FORMAT);
      batch->format_label = g_strdup ("FitClip fitting JSON");
      return g_steal_pointer (&batch);
    }
  if (root == NULL)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "%s is empty", name);
      return NULL;
    }
  return parse_trackman_json (name, root, error);
}

FcImportBatch *
fc_import_parse_bytes (const char  *display_name,
                       GBytes      *bytes,
                       GError     **error)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  const char *p = data;
  const char *end = data + len;
  FcImportBatch *batch;

  g_return_val_if_fail (display_name != NULL, NULL);
  g_return_val_if_fail (bytes != NULL, NULL);

  if (len >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0)
    p += 3;
  while (p < end && g_ascii_isspace (*p))
    p++;
  if (p == end)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "%s is empty", display_name);
      return NULL;
    }
  if (memchr (data, '\0', len) != NULL)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_UNKNOWN_FORMAT,
                   "%s is a binary file, not a CSV or JSON export", display_name);
      return NULL;
    }

  if (*p == '{' || *p == '[')
    batch = parse_json (display_name, p, end - p, error);
  else
    batch = fc_import_csv_parse (display_name, bytes, error);

  if (batch)
    {
      if (batch->file_name == NULL)
        batch->file_name = g_strdup (display_name);
    }
  return batch;
}

FcImportBatch *
fc_import_parse_file (GFile         *file,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *name = NULL;
  char *contents;
  gsize len;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  name = g_file_get_basename (file);
  info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE "," G_FILE_ATTRIBUTE_STANDARD_TYPE,
                            G_FILE_QUERY_INFO_NONE, cancellable, error);
  if (info == NULL)
    return NULL;
  if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "%s is not a regular file", name);
      return NULL;
    }
  if (g_file_info_get_size (info) > MAX_IMPORT_SIZE)
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "%s is %" G_GOFFSET_FORMAT " bytes: too large for a launch-monitor export",
                   name, g_file_info_get_size (info));
      return NULL;
    }
  if (!g_file_load_contents (file, cancellable, &contents, &len, NULL, error))
    return NULL;
  bytes = g_bytes_new_take (contents, len);
  return fc_import_parse_bytes (name, bytes, error);
}
