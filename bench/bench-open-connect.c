/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Open Connect benchmarks (issue "launch monitors"), printed as
 * "name value" lines. The receiver (hub + server, synchronous=FULL) runs
 * in this process on loopback; clients are threads with blocking sockets
 * that behave like real connectors: send a shot, wait for its reply.
 *
 *  (a) latency: one client, 5,000 shots one after another. The time from
 *      the shot's last byte leaving the client to its 200 arriving; the
 *      200 is sent only after the commit, so this bounds "last byte to
 *      committed" from above.
 *  (b) ingest: 8 clients at once, 2,000 shots each: shots/s and reply
 *      time percentiles.
 *
 * With --e6, the Garmin E6 receiver instead (hub + FcE6Server), one app
 * thread, 2,000 shots, each SetBallData then SendShot:
 *  (e) shot to commit: from the SendShot's last byte leaving the app to
 *      the hub reporting the shot committed (its "shot-stored" signal, on
 *      the main loop, after the writer thread's durable commit);
 *  (f) shot to ACK: the same start to the app reading the SendShot ACK,
 *      which the receiver sends only after the commit.
 *
 * Run: _build/bench/bench-open-connect [--e6] [DIR]
 */
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc-e6-server.h"
#include "fc-hub.h"
#include "fc-open-connect-server.h"

typedef struct {
  guint16  port;
  guint    index;
  guint    shots;
  double  *latency_ms;
  gboolean ok;
  gint     finished;
} Client;

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
percentile (double *v, guint n, double p)
{
  qsort (v, n, sizeof *v, cmp_double);
  return v[MIN (n - 1, (guint) floor (p * (n - 1) + 0.5))];
}

/* Reads replies in chunks (as a real client does; reading byte by byte
 * would spend the CPU the receiver needs on two cores) until one that is
 * not the 201 player information is complete. Replies are small and flat. */
typedef struct {
  char  buf[4096];
  gsize len;
} Reader;

static gboolean
read_reply (GInputStream *in, Reader *r, int *code)
{
  for (;;)
    {
      int depth = 0;

      for (gsize i = 0; i < r->len; i++)
        {
          if (r->buf[i] == '{')
            depth++;
          else if (r->buf[i] == '}' && --depth == 0)
            {
              int c = 0;
              gboolean ok = sscanf (r->buf, "{\"Code\":%d", &c) == 1;

              memmove (r->buf, r->buf + i + 1, r->len - i - 1);
              r->len -= i + 1;
              if (!ok)
                return FALSE;
              if (c == 201)
                break;   /* player information: look for the next reply */
              *code = c;
              return TRUE;
            }
        }
      if (depth != 0 || r->len == 0 || r->buf[0] != '{')
        {
          gssize n;

          if (r->len == sizeof r->buf)
            return FALSE;
          n = g_input_stream_read (in, r->buf + r->len, sizeof r->buf - r->len, NULL, NULL);
          if (n <= 0)
            return FALSE;
          r->len += n;
        }
    }
}

static void client_run (Client *c);

static gpointer
client_main (gpointer data)
{
  Client *c = data;

  client_run (c);
  g_atomic_int_set (&c->finished, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

static void
client_run (Client *c)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  GOutputStream *out;
  GInputStream *in;
  Reader reader = { .len = 0 };

  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", c->port, NULL, NULL);
  if (conn == NULL)
    return;
  g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  in = g_io_stream_get_input_stream (G_IO_STREAM (conn));

  for (guint i = 0; i < c->shots; i++)
    {
      char msg[512];
      gint64 t0;
      int code;
      /* Distinct values per shot, so none is taken for a resend. */
      int len = g_snprintf (msg, sizeof msg,
                            "{\"DeviceID\":\"Bench %u\",\"Units\":\"Yards\",\"ShotNumber\":%u,\"APIversion\":\"1\","
                            "\"BallData\":{\"Speed\":%.3f,\"SpinAxis\":%.2f,\"TotalSpin\":%.1f,\"HLA\":1.5,"
                            "\"VLA\":%.2f,\"CarryDistance\":%.1f},\"ClubData\":{\"Speed\":%.2f},"
                            "\"ShotDataOptions\":{\"ContainsBallData\":true,\"ContainsClubData\":true}}",
                            c->index, i, 120 + (i % 5000) * 0.007 + c->index * 0.0001, -5 + (i % 100) * 0.1,
                            2500.0 + i % 3000, 10 + (i % 50) * 0.1, 200 + (i % 80) * 0.5, 90 + (i % 30) * 0.1);

      if (!g_output_stream_write_all (out, msg, len, NULL, NULL, NULL))
        return;
      t0 = g_get_monotonic_time ();
      if (!read_reply (in, &reader, &code) || code != 200)
        return;
      c->latency_ms[i] = (g_get_monotonic_time () - t0) / 1000.0;
    }
  c->ok = TRUE;
  return;
}

static void
run_clients (guint16 port, guint n_clients, guint shots, const char *name)
{
  g_autofree Client *clients = g_new0 (Client, n_clients);
  g_autofree GThread **threads = g_new0 (GThread *, n_clients);
  g_autofree double *all = g_new (double, (gsize) n_clients * shots);
  gint64 t0 = g_get_monotonic_time ();
  guint done = 0;
  double elapsed;

  for (guint i = 0; i < n_clients; i++)
    {
      clients[i] = (Client) { .port = port, .index = i, .shots = shots,
                              .latency_ms = g_new0 (double, shots) };
      threads[i] = g_thread_new ("client", client_main, &clients[i]);
    }
  /* The server and hub run on this thread's main loop. */
  while (done < n_clients)
    {
      g_main_context_iteration (NULL, TRUE);
      done = 0;
      for (guint i = 0; i < n_clients; i++)
        done += g_atomic_int_get (&clients[i].finished);
    }
  elapsed = (g_get_monotonic_time () - t0) / (double) G_USEC_PER_SEC;
  for (guint i = 0; i < n_clients; i++)
    {
      g_thread_join (threads[i]);
      if (!clients[i].ok)
        g_error ("client %u failed", i);
      memcpy (all + (gsize) i * shots, clients[i].latency_ms, shots * sizeof (double));
      g_free (clients[i].latency_ms);
    }
  printf ("%s_clients %u\n%s_shots %u\n", name, n_clients, name, n_clients * shots);
  printf ("%s_shots_per_s %.0f\n", name, n_clients * shots / elapsed);
  printf ("%s_reply_p50_ms %.3f\n", name, percentile (all, n_clients * shots, 0.50));
  printf ("%s_reply_p99_ms %.3f\n", name, percentile (all, n_clients * shots, 0.99));
  printf ("%s_reply_max_ms %.3f\n", name, percentile (all, n_clients * shots, 1.0));
}

/* ---- Garmin E6 ------------------------------------------------------------- */

#define E6_SHOTS 2000

typedef struct {
  guint16  port;
  gint64   sent_at[E6_SHOTS];    /* SendShot written (monotonic µs) */
  double   ack_ms[E6_SHOTS];
  gboolean ok;
  gint     finished;
} E6App;

/* The next reply that contains @want, skipping others (pings, Disarm...),
 * and whether it also contains @success (NULL: no check). E6 replies are
 * flat objects without braces inside strings. */
static gboolean
e6_wait_for (GInputStream *in, Reader *r, const char *want, const char *success)
{
  for (;;)
    {
      for (gsize i = 0; i < r->len; i++)
        if (r->buf[i] == '}')
          {
            gboolean match, ok;

            r->buf[i] = '\0';
            match = strstr (r->buf, want) != NULL;
            ok = success == NULL || strstr (r->buf, success) != NULL;
            memmove (r->buf, r->buf + i + 1, r->len - i - 1);
            r->len -= i + 1;
            if (match)
              return ok;
            i = (gsize) -1;
          }
      {
        gssize n;

        if (r->len == sizeof r->buf)
          return FALSE;
        n = g_input_stream_read (in, r->buf + r->len, sizeof r->buf - r->len, NULL, NULL);
        if (n <= 0)
          return FALSE;
        r->len += n;
      }
    }
}

static void
e6_app_run (E6App *app)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  GOutputStream *out;
  GInputStream *in;
  Reader reader = { .len = 0 };
  static const char handshake[] = "{\"Type\":\"Handshake\"}";
  static const char challenge[] = "{\"Challenge\":\"YmVuY2g=\",\"Type\":\"Challenge\"}";
  static const char send_shot[] = "{\"Type\":\"SendShot\"}";

  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", app->port, NULL, NULL);
  if (conn == NULL)
    return;
  g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  if (!g_output_stream_write_all (out, handshake, strlen (handshake), NULL, NULL, NULL) ||
      !e6_wait_for (in, &reader, "\"Type\":\"Handshake\"", NULL) ||
      !g_output_stream_write_all (out, challenge, strlen (challenge), NULL, NULL, NULL) ||
      !e6_wait_for (in, &reader, "\"Type\":\"Authentication\"", NULL))
    return;

  for (guint i = 0; i < E6_SHOTS; i++)
    {
      char ball[256];
      /* Distinct values per shot, so none is taken for a resend. */
      int len = g_snprintf (ball, sizeof ball,
                            "{\"BallData\":{\"BallSpeed\":%.2f,\"LaunchAngle\":%.2f,\"LaunchDirection\":1.5,"
                            "\"SpinAxis\":%.1f,\"TotalSpin\":%.0f},\"Type\":\"SetBallData\"}",
                            120 + i * 0.01, 10 + (i % 50) * 0.1, 355.0 + (i % 10), 2500.0 + i % 3000);

      if (!g_output_stream_write_all (out, ball, len, NULL, NULL, NULL) ||
          !e6_wait_for (in, &reader, "\"SubType\":\"SetBallData\"", "Success.") ||
          !g_output_stream_write_all (out, send_shot, strlen (send_shot), NULL, NULL, NULL))
        return;
      app->sent_at[i] = g_get_monotonic_time ();
      /* Anything but success (a failed commit) ends the run. */
      if (!e6_wait_for (in, &reader, "\"SubType\":\"SendShot\"", "\"Details\":\"Success.\""))
        return;
      app->ack_ms[i] = (g_get_monotonic_time () - app->sent_at[i]) / 1000.0;
      /* The app waits for the whole sequence before the next shot. */
      if (!e6_wait_for (in, &reader, "\"SubType\":\"Arm\"", NULL))
        return;
    }
  app->ok = TRUE;
}

static gpointer
e6_app_main (gpointer data)
{
  E6App *app = data;

  e6_app_run (app);
  g_atomic_int_set (&app->finished, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

typedef struct {
  gint64 committed_at[E6_SHOTS];
  guint  n;
} E6Commits;

static void
on_e6_shot_stored (FcHub      *hub,
                   const char *monitor_id,
                   const char *shot_id,
                   gboolean    duplicate,
                   gpointer    user_data)
{
  E6Commits *commits = user_data;

  /* One app sends one shot at a time: commits come in shot order. */
  if (!duplicate && commits->n < E6_SHOTS)
    commits->committed_at[commits->n++] = g_get_monotonic_time ();
}

static void
run_e6 (const char *dir)
{
  g_autofree char *db = g_build_filename (dir, "e6.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(FcHub) hub = fc_hub_new (db, NULL, "Bench", &error);
  g_autoptr(FcE6Server) server = NULL;
  g_autofree E6App *app = g_new0 (E6App, 1);
  g_autofree E6Commits *commits = g_new0 (E6Commits, 1);
  g_autofree double *commit_ms = g_new (double, E6_SHOTS);
  GThread *thread;
  gint64 t0;
  double elapsed;

  if (hub == NULL)
    g_error ("%s", error->message);
  server = fc_e6_server_new (hub);
  if (!fc_e6_server_listen (server, "127.0.0.1:0", &error))
    g_error ("%s", error->message);
  g_signal_connect (hub, "shot-stored", G_CALLBACK (on_e6_shot_stored), commits);
  app->port = fc_e6_server_get_port (server);
  t0 = g_get_monotonic_time ();
  thread = g_thread_new ("e6-app", e6_app_main, app);
  /* The server and hub run on this thread's main loop. */
  while (!g_atomic_int_get (&app->finished))
    g_main_context_iteration (NULL, TRUE);
  elapsed = (g_get_monotonic_time () - t0) / (double) G_USEC_PER_SEC;
  g_thread_join (thread);
  if (!app->ok)
    g_error ("the E6 app failed");
  /* The last ACK came after its commit was reported. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  if (commits->n != E6_SHOTS)
    g_error ("%u of %u shots reported committed", commits->n, E6_SHOTS);
  for (guint i = 0; i < E6_SHOTS; i++)
    commit_ms[i] = (commits->committed_at[i] - app->sent_at[i]) / 1000.0;

  printf ("e6_shots %u\n", E6_SHOTS);
  printf ("e6_shots_per_s %.0f\n", E6_SHOTS / elapsed);
  printf ("e6_commit_p50_ms %.3f\n", percentile (commit_ms, E6_SHOTS, 0.50));
  printf ("e6_commit_p99_ms %.3f\n", percentile (commit_ms, E6_SHOTS, 0.99));
  printf ("e6_commit_max_ms %.3f\n", percentile (commit_ms, E6_SHOTS, 1.0));
  printf ("e6_ack_p50_ms %.3f\n", percentile (app->ack_ms, E6_SHOTS, 0.50));
  printf ("e6_ack_p99_ms %.3f\n", percentile (app->ack_ms, E6_SHOTS, 0.99));
}

int
main (int argc, char **argv)
{
  gboolean e6 = argc > 1 && strcmp (argv[1], "--e6") == 0;
  const char *dir_arg = argc > (e6 ? 2 : 1) ? argv[e6 ? 2 : 1] : NULL;
  g_autofree char *dir = dir_arg ? g_strdup (dir_arg) : g_dir_make_tmp ("fitclip-bench-oc-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;

  g_mkdir_with_parents (dir, 0700);
  printf ("bench_dir %s\n", dir);
  if (e6)
    {
      run_e6 (dir);
      return 0;
    }
  for (guint round = 0; round < 2; round++)
    {
      g_autofree char *db = g_build_filename (dir, round ? "ingest.db" : "latency.db", NULL);
      g_autoptr(FcHub) hub = fc_hub_new (db, NULL, "Bench", &error);
      g_autoptr(FcOpenConnectServer) server = NULL;
      FcOpenConnectLimits limits = {
        .max_connections = 64, .max_connections_per_peer = 16, .max_messages_per_second = 100000,
        .max_message_bytes = 65536, .max_garbage_bytes = 65536, .max_pending_replies = 64,
      };

      if (hub == NULL)
        g_error ("%s", error->message);
      server = fc_open_connect_server_new (hub);
      fc_open_connect_server_set_limits (server, &limits);
      if (!fc_open_connect_server_listen (server, "127.0.0.1:0", &error))
        g_error ("%s", error->message);
      if (round == 0)
        run_clients (fc_open_connect_server_get_port (server), 1, 5000, "latency");
      else
        run_clients (fc_open_connect_server_get_port (server), 8, 2000, "ingest");
    }
  return 0;
}
