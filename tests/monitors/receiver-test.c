/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "receiver-test.h"

#include <glib/gstdio.h>
#include <string.h>

#include "fc-oc-framer.h"

/* ---- the hub and its store ---------------------------------------------- */

void
receiver_hub_init (ReceiverHub *rh,
                   const char  *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *template = g_strdup_printf ("fitclip-%s-XXXXXX", name);
  g_autofree char *file = g_strdup_printf ("%s.db", name);

  rh->dir = g_dir_make_tmp (template, &error);
  g_assert_no_error (error);
  rh->db = g_build_filename (rh->dir, file, NULL);
  rh->hub = fc_hub_new (rh->db, NULL, "Bay 1", &error);
  g_assert_no_error (error);
}

void
receiver_hub_clear (ReceiverHub *rh)
{
  g_autofree char *wal = NULL;
  g_autofree char *shm = NULL;

  g_clear_object (&rh->hub);
  if (rh->db)
    {
      wal = g_strconcat (rh->db, "-wal", NULL);
      shm = g_strconcat (rh->db, "-shm", NULL);
      g_remove (rh->db);
      g_remove (wal);
      g_remove (shm);
    }
  if (rh->dir)
    g_rmdir (rh->dir);
  g_clear_pointer (&rh->db, g_free);
  g_clear_pointer (&rh->dir, g_free);
}

GPtrArray *
receiver_stored_shots (const char *db)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcStore) store = fc_store_open (db, &error);
  g_autoptr(GPtrArray) fittings = NULL;
  GPtrArray *all = g_ptr_array_new_with_free_func ((GDestroyNotify) fc_shot_free);

  g_assert_no_error (error);
  fittings = fc_store_list_fittings (store, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < fittings->len; i++)
    {
      g_autoptr(GPtrArray) shots = fc_store_list_shots (store, ((FcFitting *) fittings->pdata[i])->id, &error);

      g_assert_no_error (error);
      for (guint j = 0; j < shots->len; j++)
        g_ptr_array_add (all, fc_shot_copy (shots->pdata[j]));
    }
  return all;
}

/* ---- a peer in its own thread --------------------------------------------- */

static gboolean
peer_write (GOutputStream *out,
            const char    *text)
{
  return g_output_stream_write_all (out, text, strlen (text), NULL, NULL, NULL);
}

gpointer
receiver_peer_main (gpointer data)
{
  ReceiverPeer *peer = data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(FcOcFramer) framer = fc_oc_framer_new (FC_OC_DEFAULT_MAX_MESSAGE);
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GError) error = NULL;
  GOutputStream *out;
  GSocket *socket;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  gint64 linger_end = 0;
  guint8 buf[4096];

  g_socket_client_set_timeout (client, 10);
  /* Loopback: no proxy lookup (it would need GSettings schemas). */
  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", peer->port, NULL, &error);
  g_assert_no_error (error);
  out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  socket = g_socket_connection_get_socket (conn);
  for (guint i = 0; i < peer->chunks->len; i++)
    {
      GBytes *chunk = g_ptr_array_index (peer->chunks, i);

      if (!g_output_stream_write_all (out, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk),
                                      NULL, NULL, NULL))
        {
          peer->closed_by_server = TRUE;
          goto done;
        }
      if (peer->pause_ms)
        g_usleep (peer->pause_ms * 1000);
    }
  for (;;)
    {
      gint64 now = g_get_monotonic_time ();
      gssize n;

      if (now >= deadline)
        break;
      if (peer->replies->len >= peer->expect)
        {
          if (linger_end == 0)
            linger_end = now + peer->linger_ms * 1000;
          if (now >= linger_end)
            break;
        }
      if (!g_socket_condition_timed_wait (socket, G_IO_IN, 20 * 1000, NULL, NULL))
        continue;
      n = g_socket_receive (socket, (char *) buf, sizeof buf, NULL, NULL);
      if (n <= 0)
        {
          peer->closed_by_server = TRUE;
          break;
        }
      fc_oc_framer_push (framer, buf, n, frames);
      for (guint i = 0; i < frames->len; i++)
        {
          g_autofree char *text = g_strndup (g_bytes_get_data (frames->pdata[i], NULL),
                                             g_bytes_get_size (frames->pdata[i]));

          if (peer->ping && strcmp (text, peer->ping) == 0)
            {
              peer->pings++;
              if (peer->answer_pings)
                peer_write (out, peer->pong);
            }
          else
            g_ptr_array_add (peer->replies, g_steal_pointer (&text));
        }
      g_ptr_array_set_size (frames, 0);
    }
  if (peer->final_pong && !peer->closed_by_server)
    {
      peer_write (out, peer->pong);
      g_usleep (200 * 1000);
    }
done:
  g_atomic_int_set (&peer->done, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

ReceiverPeer *
receiver_peer_new (guint16 port,
                   guint   expect)
{
  ReceiverPeer *peer = g_new0 (ReceiverPeer, 1);

  peer->port = port;
  peer->expect = expect;
  peer->chunks = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  peer->replies = g_ptr_array_new_with_free_func (g_free);
  return peer;
}

void
receiver_peer_free (ReceiverPeer *peer)
{
  g_ptr_array_unref (peer->chunks);
  g_ptr_array_unref (peer->replies);
  g_free (peer);
}

void
receiver_peer_send (ReceiverPeer *peer,
                    const char   *text)
{
  g_ptr_array_add (peer->chunks, g_bytes_new (text, strlen (text)));
}

void
receiver_peer_run (ReceiverPeer *peer,
                   void        (*tick) (gpointer data),
                   gpointer      data)
{
  GThread *thread = g_thread_new ("peer", receiver_peer_main, peer);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (!g_atomic_int_get (&peer->done) && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
      if (tick)
        tick (data);
    }
  g_thread_join (thread);
  g_assert_true (peer->done);
  /* Let the server finish what the peer's last bytes started. */
  for (int i = 0; i < 50; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (1000);
    }
}
