/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-lmsim-e6"

#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "fc-json-writer.h"
#include "lmsim.h"
#include "lmsim-connection.h"
#include "lmsim-shots.h"

/*
 * The Garmin Golf app in "E6 Connect" mode, as it talks to the PC for an
 * R10 or R50: it connects, shakes hands, answers the challenge, names the
 * club, and per shot sends ball data, club data and SendShot, then waits
 * for the ACK and the Disarm / ShotComplete / Arm sequence. It answers
 * every Ping with a Pong, also while idle between shots. When the
 * connection is lost it connects again, shakes hands again and sends the
 * shot in progress again, as the app does when the phone's Wi-Fi drops;
 * the receiver's store recognises a shot it already has.
 *
 * Blocking I/O with short timed waits, like the Open Connect mode: one
 * connection at a time, a straight-line loop that reads like the protocol.
 */

#define DEFAULT_PORT      2483

typedef struct {
  double   reply_timeout_s;
  double   give_up_s;
  int      max_resends;
  int      disconnect_every;
  int      cut_shot_every;
  gboolean no_pong;
  gboolean verbose;
} Options;

typedef struct {
  guint sent;
  guint acknowledged;
  guint resends;
  guint errors;
  guint pings;
  guint unexpected;
} Stats;

typedef struct {
  Options         *opt;
  LmsimConnection *link;
  GQueue           inbox;          /* of JsonNode*: parsed messages not yet consumed */
  gboolean         authenticated;  /* the current connection shook hands */
  char            *club;           /* the ClubType set on the current connection */
  Stats            stats;
} Client;

/* ---- messages ------------------------------------------------------------ */

/* The store's spin axis (degrees, positive tilts right) in the app's
 * 0–360 convention: the inverse of -(axis < 90 ? axis : axis - 360). */
static double
e6_spin_axis (double axis)
{
  /* ±90 has no inverse in that formula; no real shot gets there. */
  axis = CLAMP (axis, -89.9, 89.9);
  return axis <= 0 ? -axis : 360 - axis;
}

/* The app's ClubType names, from the generator's short names. */
static const char *
e6_club_type (const char *club)
{
  static const struct { const char *short_name, *e6; } map[] = {
    { "dr", "Driver" }, { "3w", "3Wood" }, { "5w", "5Wood" }, { "4h", "4Hybrid" },
    { "4i", "4Iron" }, { "5i", "5Iron" }, { "6i", "6Iron" }, { "7i", "7Iron" },
    { "8i", "8Iron" }, { "9i", "9Iron" }, { "pw", "PitchingWedge" }, { "gw", "GapWedge" },
    { "sw", "SandWedge" }, { "lw", "LobWedge" }, { "pt", "Putter" },
  };

  if (club == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (g_ascii_strcasecmp (club, map[i].short_name) == 0)
      return map[i].e6;
  return club;   /* a replayed file's own name */
}

static void
put (FcJsonWriter *w,
     const char   *key,
     double        value)
{
  /* Two decimals, like the app: also keeps the messages short. */
  fc_json_writer_key (w, key);
  fc_json_writer_double (w, round (value * 100) / 100);
}

static char *
build_ball (const FcShot *shot)
{
  g_autoptr(FcJsonWriter) w = fc_json_writer_new (FALSE);

  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "BallData");
  fc_json_writer_begin_object (w);
  put (w, "BallSpeed", fc_shot_get (shot, FC_FIELD_BALL_SPEED) / FC_MPS_PER_MPH);
  if (fc_shot_has (shot, FC_FIELD_LAUNCH_ANGLE))
    put (w, "LaunchAngle", fc_shot_get (shot, FC_FIELD_LAUNCH_ANGLE));
  if (fc_shot_has (shot, FC_FIELD_LAUNCH_DIRECTION))
    put (w, "LaunchDirection", fc_shot_get (shot, FC_FIELD_LAUNCH_DIRECTION));
  if (fc_shot_has (shot, FC_FIELD_SPIN_AXIS))
    put (w, "SpinAxis", e6_spin_axis (fc_shot_get (shot, FC_FIELD_SPIN_AXIS)));
  if (fc_shot_has (shot, FC_FIELD_SPIN_RATE))
    put (w, "TotalSpin", fc_shot_get (shot, FC_FIELD_SPIN_RATE));
  if (fc_shot_has (shot, FC_FIELD_BACK_SPIN))
    put (w, "BackSpin", fc_shot_get (shot, FC_FIELD_BACK_SPIN));
  if (fc_shot_has (shot, FC_FIELD_SIDE_SPIN))
    put (w, "SideSpin", fc_shot_get (shot, FC_FIELD_SIDE_SPIN));
  fc_json_writer_end_object (w);
  fc_json_writer_key (w, "Type");
  fc_json_writer_string (w, "SetBallData");
  fc_json_writer_end_object (w);
  return fc_json_writer_steal (g_steal_pointer (&w), NULL);
}

static char *
build_club (const FcShot *shot)
{
  g_autoptr(FcJsonWriter) w = fc_json_writer_new (FALSE);

  if (!fc_shot_has (shot, FC_FIELD_CLUB_SPEED))
    return NULL;
  fc_json_writer_begin_object (w);
  fc_json_writer_key (w, "ClubData");
  fc_json_writer_begin_object (w);
  put (w, "ClubHeadSpeed", fc_shot_get (shot, FC_FIELD_CLUB_SPEED) / FC_MPS_PER_MPH);
  if (fc_shot_has (shot, FC_FIELD_FACE_ANGLE))
    put (w, "ClubAngleFace", fc_shot_get (shot, FC_FIELD_FACE_ANGLE));
  if (fc_shot_has (shot, FC_FIELD_CLUB_PATH))
    put (w, "ClubAnglePath", fc_shot_get (shot, FC_FIELD_CLUB_PATH));
  fc_json_writer_end_object (w);
  fc_json_writer_key (w, "Type");
  fc_json_writer_string (w, "SetClubData");
  fc_json_writer_end_object (w);
  return fc_json_writer_steal (g_steal_pointer (&w), NULL);
}

/* ---- connection ---------------------------------------------------------- */

/* A new connection is a new session for the receiver: handshake and club
 * again, and nothing said on the old one will be answered. */
static void
on_dropped (LmsimConnection *link,
            gpointer         user_data)
{
  Client *c = user_data;

  g_queue_clear_full (&c->inbox, (GDestroyNotify) json_node_unref);
  c->authenticated = FALSE;
  g_clear_pointer (&c->club, g_free);
}

static const LmsimConnectionHooks link_hooks = {
  .dropped = on_dropped,
};

static gboolean
write_text (Client     *c,
            const char *text)
{
  lmsim_say (c->opt->verbose, "> %s", text);
  return lmsim_connection_write (c->link, text, strlen (text));
}

static const char *
member (JsonNode   *node,
        const char *key)
{
  return json_object_get_string_member_with_default (json_node_get_object (node), key, NULL);
}

/* Reads what has arrived (waiting up to @wait_us), answers pings, and
 * queues everything else in the inbox. FALSE when the connection is gone. */
static gboolean
pump (Client *c,
      gint64  wait_us)
{
  GBytes *frame;

  switch (lmsim_connection_receive (c->link, wait_us))
    {
    case LMSIM_RECEIVE_TIMEOUT:
      return TRUE;
    case LMSIM_RECEIVE_DROPPED:
      return FALSE;
    case LMSIM_RECEIVE_DATA:
    default:
      break;
    }
  while ((frame = lmsim_connection_next_frame (c->link)))
    {
      g_autoptr(GBytes) owned = frame;
      g_autoptr(JsonParser) parser = json_parser_new ();
      gsize len;
      const char *data = g_bytes_get_data (frame, &len);
      JsonNode *root;

      lmsim_say (c->opt->verbose, "< %.*s", (int) len, data);
      if (!json_parser_load_from_data (parser, data, len, NULL) ||
          (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        {
          lmsim_say (TRUE, "the receiver sent something that is not a JSON object");
          c->stats.unexpected++;
          continue;
        }
      if (g_strcmp0 (member (root, "Type"), "SimCommand") == 0 &&
          g_strcmp0 (member (root, "SubType"), "Ping") == 0)
        {
          c->stats.pings++;
          if (!c->opt->no_pong && !write_text (c, "{\"Type\":\"Pong\"}"))
            return FALSE;
          continue;
        }
      g_queue_push_tail (&c->inbox, json_node_copy (root));
    }
  return TRUE;
}

/* The next message of @type (and @subtype, unless NULL), skipping others;
 * NULL on timeout or a lost connection. */
static JsonNode *
wait_for (Client     *c,
          const char *type,
          const char *subtype)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) (c->opt->reply_timeout_s * G_USEC_PER_SEC);

  for (;;)
    {
      JsonNode *node;

      while ((node = g_queue_pop_head (&c->inbox)) != NULL)
        {
          if (g_strcmp0 (member (node, "Type"), type) == 0 &&
              (subtype == NULL || g_strcmp0 (member (node, "SubType"), subtype) == 0))
            return node;
          /* Disarm comes between a shot's ACK and its ShotComplete. */
          if (g_strcmp0 (member (node, "SubType"), "Disarm") != 0)
            {
              lmsim_say (TRUE, "unexpected message while waiting for %s %s: Type %s SubType %s", type,
                         subtype ? subtype : "", member (node, "Type"), member (node, "SubType"));
              c->stats.unexpected++;
            }
          json_node_unref (node);
        }
      if (lmsim_interrupted () || g_get_monotonic_time () >= deadline)
        return NULL;
      if (!pump (c, MIN (deadline - g_get_monotonic_time (), 100 * 1000)))
        return NULL;
    }
}

typedef enum {
  REPLY_OK,
  REPLY_REFUSED,   /* answered otherwise, or not within --reply-timeout */
  REPLY_LOST,      /* the connection went away first */
} ReplyResult;

static ReplyResult
lost_or_refused (Client *c)
{
  return lmsim_connection_is_connected (c->link) ? REPLY_REFUSED : REPLY_LOST;
}

/* Sends @text and waits for its ACK, which must say "Success.". */
static ReplyResult
send_and_ack (Client     *c,
              const char *text,
              const char *type)
{
  g_autoptr(JsonNode) ack = NULL;

  if (!write_text (c, text))
    return REPLY_LOST;
  ack = wait_for (c, "ACK", type);
  if (ack == NULL)
    {
      lmsim_say (TRUE, "no ACK for %s", type);
      return lost_or_refused (c);
    }
  if (g_strcmp0 (member (ack, "Details"), "Success.") != 0)
    {
      lmsim_say (TRUE, "%s refused: %s", type, member (ack, "Details"));
      return REPLY_REFUSED;
    }
  return REPLY_OK;
}

/* Connected and authenticated, connecting and shaking hands again if
 * needed; FALSE when that cannot be done. */
static gboolean
ensure_session (Client *c)
{
  g_autoptr(JsonNode) handshake = NULL;
  g_autoptr(JsonNode) auth = NULL;
  g_autofree char *challenge = NULL;

  if (c->authenticated && lmsim_connection_is_connected (c->link))
    return TRUE;
  if (!lmsim_connection_ensure (c->link))
    return FALSE;
  if (!write_text (c, "{\"Type\":\"Handshake\"}"))
    return FALSE;
  handshake = wait_for (c, "Handshake", NULL);
  if (handshake == NULL || member (handshake, "Challenge") == NULL)
    {
      lmsim_say (TRUE, "no Handshake reply with a Challenge");
      return FALSE;
    }
  /* The real app answers with a value derived from the challenge; the
   * receiver accepts any, so echo it. */
  challenge = g_strdup_printf ("{\"Challenge\":\"%s\",\"Type\":\"Challenge\"}", member (handshake, "Challenge"));
  if (!write_text (c, challenge))
    return FALSE;
  auth = wait_for (c, "Authentication", NULL);
  if (auth == NULL || g_strcmp0 (member (auth, "Success"), "true") != 0)
    {
      lmsim_say (TRUE, "authentication failed");
      return FALSE;
    }
  c->authenticated = TRUE;
  return TRUE;
}

/* One try of a shot: club type, ball data, club data, SendShot, then
 * ACK, ShotComplete, Arm. With @cut the connection is closed right after
 * SendShot, before its ACK can come. */
static ReplyResult
try_shot (Client       *c,
          const FcShot *shot,
          gboolean      cut,
          double       *latency_ms)
{
  const char *club = e6_club_type (shot->club);
  g_autofree char *ball = build_ball (shot);
  g_autofree char *club_data = build_club (shot);
  g_autoptr(JsonNode) ack = NULL;
  g_autoptr(JsonNode) complete = NULL;
  g_autoptr(JsonNode) arm = NULL;
  ReplyResult result;
  gint64 sent_at;

  if (club && g_strcmp0 (club, c->club) != 0)
    {
      g_autofree char *text = g_strdup_printf ("{\"ClubType\":\"%s\",\"Type\":\"SetClubType\"}", club);

      if ((result = send_and_ack (c, text, "SetClubType")) != REPLY_OK)
        return result;
      g_free (c->club);
      c->club = g_strdup (club);
    }
  if ((result = send_and_ack (c, ball, "SetBallData")) != REPLY_OK)
    return result;
  if (club_data && (result = send_and_ack (c, club_data, "SetClubData")) != REPLY_OK)
    return result;
  sent_at = g_get_monotonic_time ();
  if (!write_text (c, "{\"Type\":\"SendShot\"}"))
    return REPLY_LOST;
  if (cut)
    {
      lmsim_connection_drop (c->link, "--fault-cut-shot-every, before the shot's ACK");
      return REPLY_LOST;
    }
  ack = wait_for (c, "ACK", "SendShot");
  *latency_ms = (g_get_monotonic_time () - sent_at) / 1000.0;
  if (ack == NULL)
    {
      lmsim_say (TRUE, "no ACK for SendShot");
      return lost_or_refused (c);
    }
  if (g_strcmp0 (member (ack, "Details"), "Success.") != 0)
    {
      lmsim_say (TRUE, "SendShot refused: %s", member (ack, "Details"));
      return REPLY_REFUSED;
    }
  complete = wait_for (c, "SimCommand", "ShotComplete");
  arm = complete ? wait_for (c, "SimCommand", "Arm") : NULL;
  if (arm == NULL)
    {
      lmsim_say (TRUE, "no ShotComplete and Arm after the ACK");
      return lost_or_refused (c);
    }
  return REPLY_OK;
}

/* A shot until it is acknowledged: after a lost connection it is sent
 * again on a new one, up to --max-resends times. */
static void
run_shot (gpointer      user_data,
          const FcShot *shot,
          guint         number)
{
  Client *c = user_data;
  gboolean cut = c->opt->cut_shot_every > 0 && number % c->opt->cut_shot_every == 0;
  double latency_ms = 0;
  guint resends = 0;

  c->stats.sent++;
  for (guint attempt = 0; attempt <= (guint) c->opt->max_resends; attempt++)
    {
      ReplyResult result;

      if (!ensure_session (c))
        break;
      if (attempt > 0)
        {
          resends++;
          c->stats.resends++;
          lmsim_say (c->opt->verbose, "sending shot %u again", number);
        }
      result = try_shot (c, shot, cut && attempt == 0, &latency_ms);
      if (result == REPLY_OK)
        {
          c->stats.acknowledged++;
          g_print ("shot %u code=ack latency_ms=%.2f resends=%u\n", number, latency_ms, resends);
          return;
        }
      if (result == REPLY_REFUSED)
        break;
    }
  lmsim_say (TRUE, "shot %u was not acknowledged", number);
  c->stats.errors++;
  g_print ("shot %u code=none latency_ms=none resends=%u\n", number, resends);
}

/* Waits until @until, answering pings, reconnecting if the connection is
 * lost meanwhile. FALSE when the run must stop. */
static gboolean
idle_until (gpointer user_data,
            gint64   until)
{
  Client *c = user_data;

  while (g_get_monotonic_time () < until)
    {
      if (lmsim_interrupted () || !ensure_session (c))
        return FALSE;
      pump (c, MIN (until - g_get_monotonic_time (), 100 * 1000));
    }
  return !lmsim_interrupted ();
}

/* Between shots the app keeps answering pings. A connection closed by
 * --fault-disconnect-every is made again by the next shot's session, so
 * a shot that finds no receiver any more is counted as not acknowledged. */
static const LmsimShotLoop shot_loop = {
  .idle_until = idle_until,
  .run_shot = run_shot,
};

int
lmsim_e6_main (int    argc,
               char **argv)
{
  LmsimShotOptions shot_options;
  Options opt = { .reply_timeout_s = 5, .give_up_s = 10, .max_resends = 3 };
  const GOptionEntry entries[] = {
    { "reply-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt.reply_timeout_s,
      "Seconds to wait for each reply (default 5)", "SECONDS" },
    { "give-up-after", 0, 0, G_OPTION_ARG_DOUBLE, &opt.give_up_s,
      "Stop when no connection could be made for SECONDS (default 10)", "SECONDS" },
    { "max-resends", 0, 0, G_OPTION_ARG_INT, &opt.max_resends,
      "Times a shot is sent again after a lost connection (default 3)", "N" },
    { "fault-disconnect-every", 0, 0, G_OPTION_ARG_INT, &opt.disconnect_every,
      "Close the connection and reconnect after every N shots", "N" },
    { "fault-cut-shot-every", 0, 0, G_OPTION_ARG_INT, &opt.cut_shot_every,
      "Close the connection right after every Nth SendShot, before its ACK, then "
      "reconnect and send the shot again", "N" },
    { "fault-no-pong", 0, 0, G_OPTION_ARG_NONE, &opt.no_pong,
      "Never answer a Ping, like a phone that went to sleep", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt.verbose,
      "Show messages and replies on stderr", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("HOST[:PORT] — be the Garmin Golf app in E6 Connect mode (port 2483 by default)");
  g_autoptr(LmsimShotSource) source = NULL;
  Client c = { 0 };
  int status = LMSIM_EXIT_OK;

  lmsim_shot_options_init (&shot_options);
  g_queue_init (&c.inbox);
  g_option_context_set_summary (context,
    "Prints \"shot N code=ack latency_ms=1.23 resends=0\" per shot and a summary line\n"
    "\"sent=N acknowledged=N pings=N unexpected=N errors=N resends=N connections=N\"\n"
    "on stdout; events go to stderr.");
  if (!lmsim_parse_command_line (context, entries, NULL, "HOST[:PORT]", &shot_options,
                                 &argc, &argv, &status))
    goto out;
  if (!(opt.reply_timeout_s > 0) || !isfinite (opt.reply_timeout_s))
    {
      status = lmsim_usage_error (context, "--reply-timeout must be positive");
      goto out;
    }
  if (!(opt.give_up_s >= 0) || !isfinite (opt.give_up_s))
    {
      status = lmsim_usage_error (context, "--give-up-after must be 0 or more seconds");
      goto out;
    }
  if (opt.max_resends < 0 || opt.disconnect_every < 0 || opt.cut_shot_every < 0)
    {
      status = lmsim_usage_error (context, "--max-resends and fault intervals must be 0 or more");
      goto out;
    }
  c.link = lmsim_connection_new_from_command_line (context, argv[1], DEFAULT_PORT, opt.give_up_s,
                                                   opt.verbose, &status);
  if (c.link == NULL || (source = lmsim_open_shot_source (&shot_options, &status)) == NULL)
    goto out;

  c.opt = &opt;
  lmsim_connection_set_hooks (c.link, &link_hooks, &c);
  if (ensure_session (&c))
    {
      lmsim_connection_run_shots (c.link, source, &shot_options, opt.disconnect_every, &shot_loop, &c);
      if (lmsim_connection_is_connected (c.link))
        write_text (&c, "{\"Type\":\"Disconnect\"}");
    }

  g_print ("sent=%u acknowledged=%u pings=%u unexpected=%u errors=%u resends=%u connections=%u\n",
           c.stats.sent, c.stats.acknowledged, c.stats.pings, c.stats.unexpected, c.stats.errors,
           c.stats.resends, lmsim_connection_get_connections (c.link));
  if (c.stats.acknowledged != c.stats.sent || c.stats.sent == 0 ||
      (shot_options.count > 0 && c.stats.sent != (guint) shot_options.count))
    status = LMSIM_EXIT_FAILED;

out:
  g_clear_pointer (&c.link, lmsim_connection_free);
  g_queue_clear_full (&c.inbox, (GDestroyNotify) json_node_unref);
  g_free (c.club);
  lmsim_shot_options_clear (&shot_options);
  return status;
}
