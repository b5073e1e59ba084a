/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "sync-compare.h"

#define MAX_REPORTED 20

static JsonObject *
find_by_id (JsonArray  *array,
            const char *id)
{
  for (guint i = 0; array && i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);

      if (o && g_strcmp0 (json_object_get_string_member_with_default (o, "id", NULL), id) == 0)
        return o;
    }
  return NULL;
}

static char *
node_text (JsonNode *node)
{
  return node ? json_to_string (node, FALSE) : g_strdup ("(missing)");
}

/* Every member of @agent is in @cloud with an equal value. */
static guint
compare_members (JsonObject *agent,
                 JsonObject *cloud,
                 const char *what,
                 GString    *report)
{
  g_autoptr(GList) members = json_object_get_members (agent);
  guint differences = 0;

  for (GList *l = members; l; l = l->next)
    {
      const char *name = l->data;
      JsonNode *a = json_object_get_member (agent, name);
      JsonNode *c = cloud ? json_object_get_member (cloud, name) : NULL;

      if (c == NULL || !json_node_equal (a, c))
        {
          g_autofree char *at = node_text (a), *ct = node_text (c);

          if (differences++ < 3)
            g_string_append_printf (report, "%s: %s is %s here but %s in the cloud\n",
                                    what, name, at, ct);
        }
    }
  return differences;
}

gboolean
sync_compare (JsonNode   *dump,
              GPtrArray  *exports,
              GHashTable *videos,
              GString    *report)
{
  JsonArray *fittings = json_object_get_array_member (json_node_get_object (dump), "fittings");
  guint problems = 0;

  for (guint e = 0; e < exports->len && problems < MAX_REPORTED; e++)
    {
      JsonObject *doc = json_node_get_object (g_ptr_array_index (exports, e));
      JsonObject *fitting = json_object_get_object_member (doc, "fitting");
      const char *id = json_object_get_string_member (fitting, "id");
      JsonObject *cloud = NULL;
      JsonArray *shots, *cloud_shots, *configs, *cloud_configs;
      g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
      const char *sha256;

      for (guint i = 0; fittings && i < json_array_get_length (fittings); i++)
        {
          JsonObject *f = json_array_get_object_element (fittings, i);
          JsonObject *ff = json_object_get_object_member (f, "fitting");

          if (ff && g_strcmp0 (json_object_get_string_member (ff, "id"), id) == 0)
            cloud = f;
        }
      if (cloud == NULL)
        {
          g_string_append_printf (report, "fitting %s is not in the cloud\n", id);
          problems++;
          continue;
        }

      problems += compare_members (fitting, json_object_get_object_member (cloud, "fitting"),
                                   "fitting", report) > 0;
      if (json_object_get_null_member (doc, "customer") == FALSE)
        problems += compare_members (json_object_get_object_member (doc, "customer"),
                                     json_object_get_null_member (cloud, "customer")
                                       ? NULL : json_object_get_object_member (cloud, "customer"),
                                     "customer", report) > 0;

      configs = json_object_get_array_member (doc, "configs");
      cloud_configs = json_object_get_array_member (cloud, "configs");
      for (guint i = 0; i < json_array_get_length (configs); i++)
        {
          JsonObject *c = json_array_get_object_element (configs, i);

          problems += compare_members (c, find_by_id (cloud_configs, json_object_get_string_member (c, "id")),
                                       "configuration", report) > 0;
        }
      if (json_array_get_length (configs) != json_array_get_length (cloud_configs))
        {
          g_string_append_printf (report, "fitting %s: %u configurations here, %u in the cloud\n", id,
                                  json_array_get_length (configs), json_array_get_length (cloud_configs));
          problems++;
        }

      shots = json_object_get_array_member (doc, "shots");
      cloud_shots = json_object_get_array_member (cloud, "shots");
      for (guint i = 0; i < json_array_get_length (cloud_shots); i++)
        {
          const char *sid = json_object_get_string_member (json_array_get_object_element (cloud_shots, i), "id");

          if (!g_hash_table_add (seen, (gpointer) sid))
            {
              g_string_append_printf (report, "fitting %s: shot %s is in the cloud twice\n", id, sid);
              problems++;
            }
        }
      for (guint i = 0; i < json_array_get_length (shots) && problems < MAX_REPORTED; i++)
        {
          JsonObject *s = json_array_get_object_element (shots, i);
          const char *sid = json_object_get_string_member (s, "id");
          g_autofree char *what = g_strdup_printf ("shot %s", sid);

          problems += compare_members (s, find_by_id (cloud_shots, sid), what, report) > 0;
        }
      if (json_array_get_length (shots) != json_array_get_length (cloud_shots))
        {
          g_string_append_printf (report, "fitting %s: %u shots here, %u in the cloud\n", id,
                                  json_array_get_length (shots), json_array_get_length (cloud_shots));
          problems++;
        }

      sha256 = videos ? g_hash_table_lookup (videos, id) : NULL;
      if (sha256)
        {
          JsonArray *cloud_videos = json_object_get_array_member (cloud, "videos");
          gboolean found = FALSE;

          for (guint i = 0; cloud_videos && i < json_array_get_length (cloud_videos); i++)
            {
              JsonObject *v = json_array_get_object_element (cloud_videos, i);
              const char *stored = json_object_get_string_member_with_default (v, "stored_sha256", NULL);

              if (g_strcmp0 (json_object_get_string_member_with_default (v, "sha256", NULL), sha256) == 0 &&
                  g_strcmp0 (stored, sha256) == 0)
                found = TRUE;
            }
          if (!found || json_array_get_length (cloud_videos) != 1)
            {
              g_string_append_printf (report, "fitting %s: the cloud has %u videos, none or more than one"
                                      " with SHA-256 %s (as stored)\n", id,
                                      cloud_videos ? json_array_get_length (cloud_videos) : 0, sha256);
              problems++;
            }
        }
    }

  if (fittings && json_array_get_length (fittings) != exports->len)
    {
      g_string_append_printf (report, "%u fittings here, %u in the cloud\n", exports->len,
                              json_array_get_length (fittings));
      problems++;
    }
  return problems == 0;
}
