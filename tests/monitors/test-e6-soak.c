/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Garmin E6 receiver under three simulated apps (fitclip-lmsim e6) at
 * once, 500 shots each, with the simulator's faults: the connection
 * closed between shots and reconnected (--fault-disconnect-every), and
 * closed right after a SendShot, before its ACK, then reconnected with
 * the shot sent again (--fault-cut-shot-every). Every shot is stored
 * exactly once: checked shot by shot, from the exact SetBallData bytes
 * each app wrote (its --verbose log) against the raw bytes the store
 * kept with each shot.
 */
#include <string.h>

#include "fc-e6-server.h"
#include "fc-hub.h"
#include "fc-oc-framer.h"
#include "lmsim-run.h"
#include "receiver-test.h"

#define CLIENTS   3
#define SHOTS     500

typedef struct {
  guint disconnect_every;
  guint cut_every;
  guint seed;
} Faults;

static const Faults faults[CLIENTS] = {
  { 50, 23, 61 },
  { 71, 31, 62 },
  { 97, 17, 63 },
};

/* What the simulator must have done with @f over SHOTS shots: a cut shot
 * is sent twice, and every close (a cut, or a disconnect after any shot
 * but the last) is followed by a new connection. */
static void
expected_counts (const Faults *f,
                 guint        *resends,
                 guint        *connections)
{
  guint cuts = SHOTS / f->cut_every;
  guint disconnects = (SHOTS - 1) / f->disconnect_every;

  *resends = cuts;
  *connections = 1 + cuts + disconnects;
}

/* Every SetBallData the app wrote, as written: "fitclip-lmsim: > {...}". */
static GPtrArray *
ball_messages (const char *verbose_log)
{
  g_auto(GStrv) lines = g_strsplit (verbose_log, "\n", -1);
  GPtrArray *messages = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], "fitclip-lmsim: > {") &&
        strstr (lines[i], "\"Type\":\"SetBallData\"") != NULL)
      g_ptr_array_add (messages, g_strdup (lines[i] + strlen ("fitclip-lmsim: > ")));
  return messages;
}

/* The SetBallData object at the start of a stored shot's raw bytes (the
 * receiver keeps the ball message, then the club message). */
static char *
stored_ball_message (GBytes *raw)
{
  g_autoptr(FcOcFramer) framer = fc_oc_framer_new (FC_OC_DEFAULT_MAX_MESSAGE);
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  gsize len;
  const guint8 *data = g_bytes_get_data (raw, &len);

  fc_oc_framer_push (framer, data, len, frames);
  g_assert_cmpuint (frames->len, >=, 1);
  return g_strndup (g_bytes_get_data (frames->pdata[0], NULL), g_bytes_get_size (frames->pdata[0]));
}

static void
test_three_apps_with_faults (void)
{
  g_autoptr(GError) error = NULL;
  ReceiverHub rh = { 0 };
  g_autofree char *target = NULL;
  g_autoptr(FcE6Server) server = NULL;
  g_autoptr(FcMonitorInfo) info = NULL;
  g_autoptr(GHashTable) sent = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) shots = NULL;
  LmsimRun *clients[CLIENTS];
  guint resends = 0;
  gint64 started = g_get_monotonic_time ();

  receiver_hub_init (&rh, "e6-soak");
  server = fc_e6_server_new (rh.hub);
  g_assert_true (fc_e6_server_listen (server, "127.0.0.1:0", &error));
  g_assert_no_error (error);
  target = g_strdup_printf ("127.0.0.1:%u", fc_e6_server_get_port (server));

  for (guint i = 0; i < CLIENTS; i++)
    {
      g_autofree char *count = g_strdup_printf ("%u", SHOTS);
      g_autofree char *seed = g_strdup_printf ("%u", faults[i].seed);
      g_autofree char *disconnect = g_strdup_printf ("%u", faults[i].disconnect_every);
      g_autofree char *cut = g_strdup_printf ("%u", faults[i].cut_every);
      const char *args[] = { "--count", count, "--rate", "0", "--club", "bag", "--seed", seed,
                             "--fault-disconnect-every", disconnect, "--fault-cut-shot-every", cut,
                             "--max-resends", "3", "--verbose", NULL };

      clients[i] = lmsim_run_start ("e6", target, args);
    }
  lmsim_run_wait (clients, CLIENTS, 240);

  for (guint i = 0; i < CLIENTS; i++)
    {
      g_autoptr(GPtrArray) balls = NULL;
      g_auto(GStrv) out_lines = NULL;
      const char *summary = NULL;
      guint want_resends, want_connections, distinct = 0;

      lmsim_run_assert_all_acknowledged (clients[i], SHOTS);
      out_lines = g_strsplit (clients[i]->out, "\n", -1);
      for (guint j = 0; out_lines[j]; j++)
        if (g_str_has_prefix (out_lines[j], "sent="))
          summary = out_lines[j];
      g_assert_nonnull (summary);
      /* The faults really happened, as many times as asked. */
      expected_counts (&faults[i], &want_resends, &want_connections);
      g_assert_cmpuint (lmsim_summary_value (summary, "resends"), ==, want_resends);
      g_assert_cmpuint (lmsim_summary_value (summary, "connections"), ==, want_connections);
      g_assert_cmpuint (lmsim_summary_value (summary, "errors"), ==, 0);
      resends += want_resends;

      /* Each shot's ball message, once per try: SHOTS different ones. */
      balls = ball_messages (clients[i]->err);
      g_assert_cmpuint (balls->len, >=, SHOTS + want_resends);
      for (guint j = 0; j < balls->len; j++)
        if (g_hash_table_insert (sent, g_strdup (balls->pdata[j]), GUINT_TO_POINTER (0)))
          distinct++;
      g_assert_cmpuint (distinct, ==, SHOTS);
      lmsim_run_free (clients[i]);
    }
  /* No two apps sent the same ball data (the shots share one device,
   * the address, so identical ones would rightly be stored once). */
  g_assert_cmpuint (g_hash_table_size (sent), ==, CLIENTS * SHOTS);

  info = fc_hub_get_monitor (rh.hub, "garmin-e6 127.0.0.1");
  g_assert_nonnull (info);
  g_assert_cmpuint (info->shots, ==, CLIENTS * SHOTS);
  /* A cut after the SendShot reached the receiver makes the resend a
   * duplicate; a cut before it does not. */
  g_assert_cmpuint (info->duplicates, <=, resends);
  g_test_message ("%u shots stored in %.1f s; %u shots resent after a cut, %u of them "
                  "recognised as already stored", info->shots,
                  (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC, resends,
                  info->duplicates);
  g_clear_object (&server);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&rh.hub);

  shots = receiver_stored_shots (rh.db);
  for (guint j = 0; j < shots->len; j++)
    {
      FcShot *s = shots->pdata[j];
      g_autofree char *ball = NULL;
      gpointer seen;

      g_assert_cmpstr (s->source_protocol, ==, "garmin-e6");
      g_assert_nonnull (s->raw);
      ball = stored_ball_message (s->raw);
      if (!g_hash_table_lookup_extended (sent, ball, NULL, &seen))
        g_error ("a stored shot that no app sent: %s", ball);
      if (GPOINTER_TO_UINT (seen) != 0)
        g_error ("a shot stored twice: %s", ball);
      g_hash_table_insert (sent, g_strdup (ball), GUINT_TO_POINTER (1));
    }
  /* Every shot sent is stored, and nothing else. */
  g_assert_cmpuint (shots->len, ==, CLIENTS * SHOTS);
  receiver_hub_clear (&rh);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e6-soak/three-apps-500-shots-disconnects-and-cut-shots", test_three_apps_with_faults);
  return g_test_run ();
}
