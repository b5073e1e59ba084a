/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-lmsim-e6"

#include "config.h"

#include <gio/gnetworking.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "fc-json-writer.h"
#include "lmsim.h"
#include "lmsim-shots.h"

/*
 * The Garmin Golf app in "E6 Connect" mode, as it talks to the PC for an
 * R10 or R50: it connects, shakes hands, answers the challenge, names the
 * club, and per shot sends ball data, club data and SendShot, then waits
 * for the ACK and the Disarm / ShotComplete / Arm sequence. It answers
 * every Ping with a Pong, also while idle between shots.
 *
 * Blocking I/O with short timed waits, like the Open Connect mode: one
 * connection, a straight-line loop that reads like the protocol.
 */

#define DEFAULT_PORT      2483
#define MAX_REPLY_BYTES   (64 * 1024)
#define CONNECT_GIVE_UP_US (10 * G_USEC_PER_SEC)

typedef struct {
  double   reply_timeout_s;
  gboolean no_pong;
  gboolean verbose;
} Options;

typedef struct {
  guint sent;
  guint acknowledged;
  guint errors;
  guint pings;
  guint unexpected;
} Stats;

/* The reply framer, kept in the peer rather than borrowed from the agent
 * whose receiver it tests (the same reason as in lmsim-open-connect.c). */
typedef struct {
  GByteArray *buf;
  guint       pos;
  guint       start;
  int         depth;
  gboolean    in_string;
  gboolean    escaped;
} Framer;

typedef struct {
  Options           *opt;
  GSocketConnection *conn;
  GSocket           *socket;
  Framer             framer;
  GQueue             inbox;     /* of JsonNode*: parsed messages not yet consumed */
  gboolean           broken;    /* the connection failed: stop the run */
  Stats              stats;
} Client;

/* ---- framer -------------------------------------------------------------- */

static GBytes *
framer_next (Framer *f)
{
  for (; f->pos < f->buf->len; f->pos++)
    {
      guint8 c = f->buf->data[f->pos];

      if (f->depth == 0)
        {
          if (c == '{')
            {
              f->start = f->pos;
              f->depth = 1;
            }
          continue;
        }
      if (f->in_string)
        {
          if (f->escaped)
            f->escaped = FALSE;
          else if (c == '\\')
            f->escaped = TRUE;
          else if (c == '"')
            f->in_string = FALSE;
        }
      else if (c == '"')
        f->in_string = TRUE;
      else if (c == '{')
        f->depth++;
      else if (c == '}' && --f->depth == 0)
        {
          GBytes *frame = g_bytes_new (f->buf->data + f->start, f->pos + 1 - f->start);

          g_byte_array_remove_range (f->buf, 0, f->pos + 1);
          f->pos = 0;
          return frame;
        }
      if (f->pos + 1 - f->start > MAX_REPLY_BYTES)
        {
          g_byte_array_remove_range (f->buf, 0, f->start + 1);
          f->pos = 0;
          f->depth = 0;
          f->in_string = f->escaped = FALSE;
          return framer_next (f);
        }
    }
  if (f->depth == 0)
    {
      g_byte_array_set_size (f->buf, 0);
      f->pos = 0;
    }
  else if (f->start > 0)
    {
      g_byte_array_remove_range (f->buf, 0, f->start);
      f->pos -= f->start;
      f->start = 0;
    }
  return NULL;
}

/* ---- messages ------------------------------------------------------------ */

static void
say (Client     *c,
     gboolean    always,
     const char *format,
     ...) G_GNUC_PRINTF (3, 4);

static void
say (Client     *c,
     gboolean    always,
     const char *format,
     ...)
{
  g_autofree char *text = NULL;
  va_list args;

  if (!always && !c->opt->verbose)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("fitclip-lmsim: %s\n", text);
}

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

static gboolean
write_text (Client     *c,
            const char *text)
{
  g_autoptr(GError) error = NULL;
  gsize len = strlen (text);
  const char *p = text;

  say (c, FALSE, "> %s", text);
  while (len > 0)
    {
      gssize n = g_socket_send (c->socket, p, len, NULL, &error);

      if (n < 0)
        {
          say (c, TRUE, "write failed: %s", error->message);
          c->broken = TRUE;
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static const char *
member (JsonNode   *node,
        const char *key)
{
  return json_object_get_string_member_with_default (json_node_get_object (node), key, NULL);
}

/* Reads what has arrived (waiting up to @wait_us), answers pings, and
 * queues everything else in the inbox. FALSE when the connection failed. */
static gboolean
pump (Client *c,
      gint64  wait_us)
{
  g_autoptr(GError) error = NULL;
  guint8 buf[4096];
  gssize n;
  GBytes *frame;

  if (c->broken)
    return FALSE;
  if (!g_socket_condition_timed_wait (c->socket, G_IO_IN, MAX (wait_us, 0), NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        return TRUE;
      c->broken = TRUE;
      return FALSE;
    }
  n = g_socket_receive (c->socket, (char *) buf, sizeof buf, NULL, &error);
  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return TRUE;
      say (c, TRUE, "read failed: %s", error->message);
      c->broken = TRUE;
      return FALSE;
    }
  if (n == 0)
    {
      say (c, TRUE, "the receiver closed the connection");
      c->broken = TRUE;
      return FALSE;
    }
  g_byte_array_append (c->framer.buf, buf, (guint) n);
  while ((frame = framer_next (&c->framer)))
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      gsize len;
      const char *data = g_bytes_get_data (frame, &len);
      JsonNode *root;

      say (c, FALSE, "< %.*s", (int) len, data);
      if (!json_parser_load_from_data (parser, data, len, NULL) ||
          (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        {
          say (c, TRUE, "the receiver sent something that is not a JSON object");
          c->stats.unexpected++;
          g_bytes_unref (frame);
          continue;
        }
      g_bytes_unref (frame);
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
 * NULL on timeout or a broken connection. */
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
              say (c, TRUE, "unexpected message while waiting for %s %s: Type %s SubType %s", type,
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

/* Sends @text and waits for its ACK; FALSE unless it said "Success.". */
static gboolean
send_and_ack (Client     *c,
              const char *text,
              const char *type)
{
  g_autoptr(JsonNode) ack = NULL;

  if (!write_text (c, text))
    return FALSE;
  ack = wait_for (c, "ACK", type);
  if (ack == NULL)
    {
      say (c, TRUE, "no ACK for %s", type);
      return FALSE;
    }
  if (g_strcmp0 (member (ack, "Details"), "Success.") != 0)
    {
      say (c, TRUE, "%s refused: %s", type, member (ack, "Details"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
connect_and_authenticate (Client     *c,
                          const char *address)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(JsonNode) handshake = NULL;
  g_autoptr(JsonNode) auth = NULL;
  g_autofree char *challenge = NULL;
  gint64 give_up = g_get_monotonic_time () + CONNECT_GIVE_UP_US;

  /* A PC on the shop LAN is never reached through a web proxy (and the
   * lookup needs desktop settings a bay PC may not have). */
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, 5);
  while (c->conn == NULL)
    {
      g_autoptr(GError) error = NULL;

      c->conn = g_socket_client_connect_to_host (client, address, DEFAULT_PORT, NULL, &error);
      if (c->conn)
        break;
      if (g_get_monotonic_time () >= give_up || lmsim_interrupted ())
        {
          say (c, TRUE, "cannot connect to %s: %s", address, error->message);
          return FALSE;
        }
      lmsim_sleep_until (g_get_monotonic_time () + 200 * 1000);
    }
  c->socket = g_socket_connection_get_socket (c->conn);
  g_socket_set_timeout (c->socket, 10);
  g_socket_set_option (c->socket, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  say (c, TRUE, "connected to %s", address);

  if (!write_text (c, "{\"Type\":\"Handshake\"}"))
    return FALSE;
  handshake = wait_for (c, "Handshake", NULL);
  if (handshake == NULL || member (handshake, "Challenge") == NULL)
    {
      say (c, TRUE, "no Handshake reply with a Challenge");
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
      say (c, TRUE, "authentication failed");
      return FALSE;
    }
  return TRUE;
}

/* One shot: ball data, club data, SendShot, then ACK, ShotComplete, Arm. */
static gboolean
run_shot (Client       *c,
          const FcShot *shot,
          guint         number,
          char        **last_club)
{
  const char *club = e6_club_type (shot->club);
  g_autofree char *ball = build_ball (shot);
  g_autofree char *club_data = build_club (shot);
  g_autoptr(JsonNode) ack = NULL;
  g_autoptr(JsonNode) complete = NULL;
  g_autoptr(JsonNode) arm = NULL;
  gint64 sent_at;
  double latency_ms;

  c->stats.sent++;
  if (club && g_strcmp0 (club, *last_club) != 0)
    {
      g_autofree char *text = g_strdup_printf ("{\"ClubType\":\"%s\",\"Type\":\"SetClubType\"}", club);

      if (!send_and_ack (c, text, "SetClubType"))
        goto failed;
      g_free (*last_club);
      *last_club = g_strdup (club);
    }
  if (!send_and_ack (c, ball, "SetBallData"))
    goto failed;
  if (club_data && !send_and_ack (c, club_data, "SetClubData"))
    goto failed;
  sent_at = g_get_monotonic_time ();
  if (!write_text (c, "{\"Type\":\"SendShot\"}"))
    goto failed;
  ack = wait_for (c, "ACK", "SendShot");
  latency_ms = (g_get_monotonic_time () - sent_at) / 1000.0;
  if (ack == NULL || g_strcmp0 (member (ack, "Details"), "Success.") != 0)
    {
      say (c, TRUE, "shot %u: %s", number, ack ? member (ack, "Details") : "no ACK");
      goto failed;
    }
  complete = wait_for (c, "SimCommand", "ShotComplete");
  arm = complete ? wait_for (c, "SimCommand", "Arm") : NULL;
  if (arm == NULL)
    {
      say (c, TRUE, "shot %u: no ShotComplete and Arm after the ACK", number);
      goto failed;
    }
  c->stats.acknowledged++;
  g_print ("shot %u code=ack latency_ms=%.2f\n", number, latency_ms);
  return TRUE;

failed:
  c->stats.errors++;
  g_print ("shot %u code=none latency_ms=none\n", number);
  return FALSE;
}

int
lmsim_e6_main (int    argc,
               char **argv)
{
  LmsimShotOptions shot_options;
  Options opt = { .reply_timeout_s = 5 };
  const GOptionEntry entries[] = {
    { "reply-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt.reply_timeout_s,
      "Seconds to wait for each reply (default 5)", "SECONDS" },
    { "fault-no-pong", 0, 0, G_OPTION_ARG_NONE, &opt.no_pong,
      "Never answer a Ping, like a phone that went to sleep", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt.verbose,
      "Show messages and replies on stderr", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("HOST[:PORT] — be the Garmin Golf app in E6 Connect mode (port 2483 by default)");
  g_autoptr(LmsimShotSource) source = NULL;
  g_autofree char *last_club = NULL;
  Client c = { 0 };
  gint64 start;
  int status = LMSIM_EXIT_OK;

  lmsim_shot_options_init (&shot_options);
  g_option_context_set_summary (context,
    "Prints \"shot N code=ack latency_ms=1.23\" per shot and a summary line\n"
    "\"sent=N acknowledged=N pings=N unexpected=N errors=N\" on stdout; events go to stderr.");
  if (!lmsim_parse_command_line (context, entries, NULL, "HOST[:PORT]", &shot_options,
                                 &argc, &argv, &status))
    goto out;
  if (opt.reply_timeout_s <= 0)
    {
      status = lmsim_usage_error (context, "--reply-timeout must be positive");
      goto out;
    }
  if ((source = lmsim_open_shot_source (&shot_options, &status)) == NULL)
    goto out;

  g_networking_init ();
  c.opt = &opt;
  c.framer.buf = g_byte_array_new ();
  g_queue_init (&c.inbox);

  if (connect_and_authenticate (&c, argv[1]))
    {
      start = g_get_monotonic_time ();
      for (guint i = 0; shot_options.count == 0 || i < (guint) shot_options.count; i++)
        {
          g_autoptr(FcShot) shot = lmsim_shot_source_next (source);
          gint64 due = lmsim_shot_options_due_time (&shot_options, start, i);
          gboolean alive = TRUE;

          /* Between shots the app keeps answering pings. */
          while (alive && g_get_monotonic_time () < due && !lmsim_interrupted ())
            alive = pump (&c, MIN (due - g_get_monotonic_time (), 100 * 1000));
          if (!alive || lmsim_interrupted ())
            break;
          run_shot (&c, shot, i + 1, &last_club);
          if (c.broken)
            break;
        }
      if (!c.broken)
        write_text (&c, "{\"Type\":\"Disconnect\"}");
    }

  g_print ("sent=%u acknowledged=%u pings=%u unexpected=%u errors=%u\n", c.stats.sent,
           c.stats.acknowledged, c.stats.pings, c.stats.unexpected, c.stats.errors);
  if (c.stats.acknowledged != c.stats.sent || c.stats.sent == 0 ||
      (shot_options.count > 0 && c.stats.sent != (guint) shot_options.count))
    status = LMSIM_EXIT_FAILED;

  if (c.conn)
    g_io_stream_close (G_IO_STREAM (c.conn), NULL, NULL);
  g_clear_object (&c.conn);
  g_queue_clear_full (&c.inbox, (GDestroyNotify) json_node_unref);
  g_clear_pointer (&c.framer.buf, g_byte_array_unref);
out:
  lmsim_shot_options_clear (&shot_options);
  return status;
}
