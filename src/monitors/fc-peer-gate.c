/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-monitors"

#include "fc-peer-gate.h"

#include "fc-error.h"

struct _FcPeerGate {
  GPtrArray  *allowlist;   /* of GInetAddressMask* */
  GHashTable *per_peer;    /* peer ip -> count of connections */
  guint       total;
};

FcPeerGate *
fc_peer_gate_new (void)
{
  FcPeerGate *gate = g_new0 (FcPeerGate, 1);

  gate->allowlist = g_ptr_array_new_with_free_func (g_object_unref);
  gate->per_peer = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return gate;
}

void
fc_peer_gate_free (FcPeerGate *gate)
{
  if (gate == NULL)
    return;
  g_ptr_array_unref (gate->allowlist);
  g_hash_table_unref (gate->per_peer);
  g_free (gate);
}

gboolean
fc_peer_gate_set_allowlist (FcPeerGate          *gate,
                            const char * const  *masks,
                            GError             **error)
{
  g_autoptr(GPtrArray) parsed = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; masks && masks[i]; i++)
    {
      GInetAddressMask *mask = g_inet_address_mask_new_from_string (masks[i], NULL);

      if (mask == NULL)
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                       "“%s” is not an address or address/prefix (e.g. 192.168.1.0/24)", masks[i]);
          return FALSE;
        }
      g_ptr_array_add (parsed, mask);
    }
  g_ptr_array_set_size (gate->allowlist, 0);
  g_ptr_array_extend_and_steal (gate->allowlist, g_steal_pointer (&parsed));
  return TRUE;
}

static gboolean
allowed (FcPeerGate   *gate,
         GInetAddress *address)
{
  if (gate->allowlist->len == 0)
    return TRUE;
  for (guint i = 0; i < gate->allowlist->len; i++)
    if (g_inet_address_mask_matches (g_ptr_array_index (gate->allowlist, i), address))
      return TRUE;
  return FALSE;
}

const char *
fc_peer_gate_admit (FcPeerGate   *gate,
                    GInetAddress *address,
                    const char   *ip,
                    guint         max_per_peer,
                    guint         max_total)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (gate->per_peer, ip));

  if (!allowed (gate, address))
    return "not on the allowlist";
  if (n >= max_per_peer || gate->total >= max_total)
    return "too many connections";
  g_hash_table_insert (gate->per_peer, g_strdup (ip), GUINT_TO_POINTER (n + 1));
  gate->total++;
  return NULL;
}

guint
fc_peer_gate_release (FcPeerGate *gate,
                      const char *ip)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (gate->per_peer, ip));

  if (n == 0)
    return 0;
  gate->total--;
  if (n == 1)
    {
      g_hash_table_remove (gate->per_peer, ip);
      return 0;
    }
  g_hash_table_insert (gate->per_peer, g_strdup (ip), GUINT_TO_POINTER (n - 1));
  return n - 1;
}

void
fc_token_bucket_init (FcTokenBucket *bucket,
                      double         per_second)
{
  bucket->tokens = 2 * per_second;
  bucket->updated_at = g_get_monotonic_time ();
}

gboolean
fc_token_bucket_take (FcTokenBucket *bucket,
                      double         per_second)
{
  gint64 now = g_get_monotonic_time ();

  bucket->tokens = MIN (2 * per_second,
                        bucket->tokens + per_second * (now - bucket->updated_at) / G_USEC_PER_SEC);
  bucket->updated_at = now;
  if (bucket->tokens < 1)
    return FALSE;
  bucket->tokens -= 1;
  return TRUE;
}
