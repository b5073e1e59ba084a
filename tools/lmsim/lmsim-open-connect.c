/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-lmsim-open-connect"

#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "fc-json-writer.h"
#include "lmsim.h"
#include "lmsim-connection.h"
#include "lmsim-shots.h"

/*
 * The launch-monitor side of GSPro Open Connect v1: a TCP client that
 * sends one JSON object per shot and reads one JSON reply per message.
 * Real connectors differ in how they write the same JSON (pretty or not,
 * key spellings, numbers as strings, one write per byte or two messages
 * per write) and in how they misbehave (resending after 2 s without a
 * reply, dropping the connection, writing garbage), so every one of
 * those is a --style or a --fault here: the agent's receiver has to cope
 * with all of them at once on a shop network.
 *
 * Blocking I/O with short timed waits: this is a standalone test peer
 * with one connection, and a straight-line loop is easier to follow than
 * callbacks when reading what a run did. The loop is also what keeps the
 * stream sane: every message (and every burst of --fault-garbage-every)
 * is written whole by write_unit() before anything else is written, so
 * the pieces of a split message never have other bytes between them.
 *
 * Replies carry no shot number, so they are paired with messages by
 * order alone, like a real connector does it: one exchange at a time (a
 * shot with its resends and deliberate duplicate, a heartbeat, the
 * oversize message), and the next one starts only when everything
 * written before it has been answered; see settle().
 */

#define DEFAULT_PORT       921
#define OVERSIZE_BYTES     (100 * 1024)
/* The pause between the bytes of --style bytewise: long enough for each
 * byte to leave in its own TCP segment, short enough for a quick run. */
#define BYTEWISE_PAUSE_US  1000

typedef enum {
  STYLE_COMPACT,
  STYLE_INDENTED,
  STYLE_NEWLINE,
  STYLE_BYTEWISE,
  STYLE_COALESCED,
  STYLE_STRINGS,
  STYLE_BACKSPIN,
  STYLE_APIVERSION,
  STYLE_NO_TOTALSPIN,
  N_STYLES,
  STYLE_MIXED = N_STYLES,
} Style;

static const char *const style_names[] = {
  "compact", "indented", "newline", "bytewise", "coalesced", "strings", "backspin",
  "apiversion", "no-totalspin", "mixed",
};

G_STATIC_ASSERT (G_N_ELEMENTS (style_names) == N_STYLES + 1);

typedef struct {
  char     *device_id;
  char     *style_name;
  Style     style;
  double    heartbeat_s;
  double    resend_timeout_s;
  int       max_resends;
  double    give_up_s;
  int       disconnect_every;
  int       garbage_every;
  int       stop_heartbeats_after;
  int       duplicate_every;
  gboolean  oversize;
  gboolean  split;
  gboolean  json_summary;
  gboolean  verbose;
} Options;

/* What was written and not yet answered, in order: each well-formed
 * message earns one reply, and replies come back in the order of the
 * messages (one TCP stream, a receiver that answers as it reads). An
 * entry leaves the queue only with a reply or with its connection. */
typedef enum {
  SENT_SHOT,
  SENT_DUPLICATE,
  SENT_HEARTBEAT,
  SENT_STATUS,
  SENT_OVERSIZE,
} SentKind;

typedef struct {
  SentKind kind;
  guint    shot_number;
  gint64   sent_at;
} Sent;

typedef struct {
  guint    number;
  int      code;         /* 0: no reply */
  double   latency_ms;   /* from its first copy to the reply */
  guint    resends;
  gboolean resolved;     /* a reply to one of its copies came */
} ShotState;

typedef struct {
  guint sent;
  guint acknowledged;
  guint resends;
  guint errors;
  guint duplicates;
  guint heartbeats_sent;
  guint heartbeat_replies;
  guint status_replies;
  guint heartbeats_unanswered;
  guint info_replies;
  guint late_replies;
  guint unanswered;         /* shot messages that never got a reply */
  guint unexpected_replies;
  guint bad_replies;
  guint garbage_writes;
  int   oversize_code;      /* 0: not sent, -1: no reply, -2: connection closed */
} Stats;

typedef struct {
  Options            *opt;
  LmsimConnection    *link;
  GQueue              sent;         /* of Sent*: what is owed a reply */
  ShotState          *current;
  gboolean            heartbeats;
  gint64              next_heartbeat;
  GRand              *rand;
  guint               oversize_after;  /* --fault-oversize: after this shot (0: never) */
  Stats               stats;
} Client;

/* ---- messages ------------------------------------------------------------ */

typedef struct {
  FcJsonWriter *w;
  gboolean      strings;   /* --style strings: every number and boolean quoted */
} Msg;

static void
put_number (Msg        *m,
            const char *key,
            double      value,
            int         decimals)
{
  double scale = pow (10, decimals);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* An unmeasured value is left out, as careful connectors do; the
   * receiver's tolerance of zero placeholders is tested elsewhere. */
  if (isnan (value))
    return;
  /* Round like a device display does; "+ 0.0" turns -0 into 0. */
  value = round (value * scale) / scale + 0.0;
  fc_json_writer_key (m->w, key);
  if (m->strings)
    {
      fc_format_double_shortest (buf, sizeof buf, value);
      fc_json_writer_string (m->w, buf);
    }
  else
    fc_json_writer_double (m->w, value);
}

static void
put_int (Msg        *m,
         const char *key,
         gint64      value)
{
  fc_json_writer_key (m->w, key);
  if (m->strings)
    {
      g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, value);
      fc_json_writer_string (m->w, text);
    }
  else
    fc_json_writer_int (m->w, value);
}

static void
put_bool (Msg        *m,
          const char *key,
          gboolean    value)
{
  fc_json_writer_key (m->w, key);
  if (m->strings)
    fc_json_writer_string (m->w, value ? "true" : "false");
  else
    fc_json_writer_boolean (m->w, value);
}

static void
put_string (Msg        *m,
            const char *key,
            const char *value)
{
  fc_json_writer_key (m->w, key);
  fc_json_writer_string (m->w, value);
}

static double
mph (const FcShot *shot,
     FcShotField   field)
{
  return fc_shot_get (shot, field) / FC_MPS_PER_MPH;
}

static gboolean
has_club_data (const FcShot *shot)
{
  for (guint i = 0; i < FC_SHOT_N_FIELDS; i++)
    if (fc_shot_has (shot, i) && fc_shot_field_get_info (i)->group == FC_FIELD_GROUP_CLUB)
      return TRUE;
  return FALSE;
}

static void
put_header (Msg           *m,
            const Options *opt,
            guint          shot_number,
            Style          style)
{
  put_string (m, "DeviceID", opt->device_id);
  put_string (m, "Units", "Yards");
  put_int (m, "ShotNumber", shot_number);
  /* A real Uneekor capture spells it this way and sends "2". */
  if (style == STYLE_APIVERSION)
    put_string (m, "APIVersion", "2");
  else
    put_string (m, "APIversion", "1");
}

static void
put_options (Msg      *m,
             gboolean  ball,
             gboolean  club)
{
  fc_json_writer_key (m->w, "ShotDataOptions");
  fc_json_writer_begin_object (m->w);
  put_bool (m, "ContainsBallData", ball);
  put_bool (m, "ContainsClubData", club);
  put_bool (m, "LaunchMonitorIsReady", TRUE);
  put_bool (m, "LaunchMonitorBallDetected", TRUE);
  put_bool (m, "IsHeartBeat", FALSE);
  fc_json_writer_end_object (m->w);
}

static char *
finish (Msg     *m,
        gboolean pretty)
{
  char *text;
  gsize len;

  text = fc_json_writer_steal (g_steal_pointer (&m->w), &len);
  /* The writer ends pretty output with a newline; --style indented is
   * about newlines inside the object, --style newline about one after. */
  if (pretty && len > 0 && text[len - 1] == '\n')
    text[len - 1] = '\0';
  return text;
}

static char *
build_shot (const Options *opt,
            const FcShot  *shot,
            guint          shot_number,
            Style          style)
{
  gboolean pretty = style == STYLE_INDENTED;
  Msg m = { fc_json_writer_new (pretty), style == STYLE_STRINGS };
  gboolean ball = fc_shot_has (shot, FC_FIELD_BALL_SPEED);
  gboolean club = has_club_data (shot);

  fc_json_writer_begin_object (m.w);
  put_header (&m, opt, shot_number, style);
  if (ball)
    {
      fc_json_writer_key (m.w, "BallData");
      fc_json_writer_begin_object (m.w);
      put_number (&m, "Speed", mph (shot, FC_FIELD_BALL_SPEED), 2);
      /* Older connectors send only back and side spin; the receiver
       * derives total and axis itself. */
      if (style != STYLE_NO_TOTALSPIN)
        {
          put_number (&m, "SpinAxis", fc_shot_get (shot, FC_FIELD_SPIN_AXIS), 2);
          put_number (&m, "TotalSpin", fc_shot_get (shot, FC_FIELD_SPIN_RATE), 1);
        }
      put_number (&m, style == STYLE_BACKSPIN ? "Backspin" : "BackSpin",
                  fc_shot_get (shot, FC_FIELD_BACK_SPIN), 1);
      put_number (&m, "SideSpin", fc_shot_get (shot, FC_FIELD_SIDE_SPIN), 1);
      put_number (&m, "HLA", fc_shot_get (shot, FC_FIELD_LAUNCH_DIRECTION), 2);
      put_number (&m, "VLA", fc_shot_get (shot, FC_FIELD_LAUNCH_ANGLE), 2);
      put_number (&m, "CarryDistance", fc_shot_get (shot, FC_FIELD_CARRY) / FC_METERS_PER_YARD, 1);
      fc_json_writer_end_object (m.w);
    }
  if (club)
    {
      fc_json_writer_key (m.w, "ClubData");
      fc_json_writer_begin_object (m.w);
      put_number (&m, "Speed", mph (shot, FC_FIELD_CLUB_SPEED), 2);
      put_number (&m, "AngleOfAttack", fc_shot_get (shot, FC_FIELD_ATTACK_ANGLE), 2);
      put_number (&m, "FaceToTarget", fc_shot_get (shot, FC_FIELD_FACE_ANGLE), 2);
      put_number (&m, "Lie", fc_shot_get (shot, FC_FIELD_CLUB_LIE), 2);
      put_number (&m, "Loft", fc_shot_get (shot, FC_FIELD_DYNAMIC_LOFT), 2);
      put_number (&m, "Path", fc_shot_get (shot, FC_FIELD_CLUB_PATH), 2);
      put_number (&m, "SpeedAtImpact", mph (shot, FC_FIELD_CLUB_SPEED_AT_IMPACT), 2);
      /* Millimetres from the face centre, up and toward the toe positive
       * (what Foresight-based connectors forward; the spec names no unit). */
      put_number (&m, "VerticalFaceImpact", fc_shot_get (shot, FC_FIELD_IMPACT_HEIGHT) * 1000, 1);
      put_number (&m, "HorizontalFaceImpact", fc_shot_get (shot, FC_FIELD_IMPACT_OFFSET) * 1000, 1);
      put_number (&m, "ClosureRate", fc_shot_get (shot, FC_FIELD_CLOSURE_RATE), 0);
      fc_json_writer_end_object (m.w);
    }
  put_options (&m, ball, club);
  fc_json_writer_end_object (m.w);
  return finish (&m, pretty);
}

/* "Ball detected" without data: real units send it before the shot, and
 * in --style coalesced it shares a write with the shot. */
static char *
build_status (const Options *opt,
              guint          shot_number,
              const char    *padding)
{
  Msg m = { fc_json_writer_new (FALSE), FALSE };

  fc_json_writer_begin_object (m.w);
  put_header (&m, opt, shot_number, STYLE_COMPACT);
  put_options (&m, FALSE, FALSE);
  if (padding)
    put_string (&m, "Padding", padding);
  fc_json_writer_end_object (m.w);
  return finish (&m, FALSE);
}

static char *
build_heartbeat (const Options *opt)
{
  Msg m = { fc_json_writer_new (FALSE), FALSE };

  fc_json_writer_begin_object (m.w);
  put_string (&m, "DeviceID", opt->device_id);
  fc_json_writer_key (m.w, "ShotDataOptions");
  fc_json_writer_begin_object (m.w);
  put_bool (&m, "IsHeartBeat", TRUE);
  put_bool (&m, "LaunchMonitorIsReady", TRUE);
  fc_json_writer_end_object (m.w);
  fc_json_writer_end_object (m.w);
  return finish (&m, FALSE);
}

/* A well-formed message of exactly OVERSIZE_BYTES: over any sane cap of
 * the receiver (16–64 KiB), so it must be refused without harm. */
static char *
build_oversize (const Options *opt)
{
  g_autofree char *bare = build_status (opt, 0, "");
  g_autofree char *padding = NULL;
  gsize fill = OVERSIZE_BYTES > strlen (bare) ? OVERSIZE_BYTES - strlen (bare) : 0;

  padding = g_malloc (fill + 1);
  memset (padding, 'x', fill);
  padding[fill] = '\0';
  return build_status (opt, 0, padding);
}

/* ---- connection ---------------------------------------------------------- */

/* Replies owed on a lost connection will never come. */
static void
on_dropped (LmsimConnection *link,
            gpointer         user_data)
{
  Client *c = user_data;

  for (GList *l = c->sent.head; l; l = l->next)
    {
      Sent *s = l->data;
      if (s->kind == SENT_OVERSIZE && c->stats.oversize_code == -1)
        c->stats.oversize_code = -2;
    }
  g_queue_clear_full (&c->sent, g_free);
}

static void
on_connected (LmsimConnection *link,
              gpointer         user_data)
{
  Client *c = user_data;

  c->next_heartbeat = g_get_monotonic_time () + (gint64) (c->opt->heartbeat_s * G_USEC_PER_SEC);
}

static const LmsimConnectionHooks link_hooks = {
  .connected = on_connected,
  .dropped = on_dropped,
};

typedef enum {
  WRITE_WHOLE,
  WRITE_SPLIT,     /* --fault-split: random pieces of 1 to 64 bytes */
  WRITE_BYTEWISE,  /* --style bytewise: one byte per write, 1 ms apart */
} WriteMode;

/* The only way bytes reach the receiver: one unit (a message, or a burst
 * of garbage) written whole, in pieces as @mode says, before the next
 * unit is started. Nothing else can be written between two pieces of a
 * unit, and no piece reaches past the unit's end. */
static gboolean
write_unit (Client       *c,
            const guint8 *data,
            gsize         len,
            WriteMode     mode)
{
  switch (mode)
    {
    case WRITE_BYTEWISE:
      for (gsize i = 0; i < len; i++)
        {
          if (!lmsim_connection_write (c->link, data + i, 1))
            return FALSE;
          g_usleep (BYTEWISE_PAUSE_US);
        }
      return TRUE;
    case WRITE_SPLIT:
      /* Random pieces, each its own segment (TCP_NODELAY): the receiver
       * sees messages cut at arbitrary bytes, as on a busy network. */
      for (gsize i = 0; i < len;)
        {
          /* Drawn once, then bounded: MIN() evaluates an argument twice,
           * and a second draw once made the last piece run past the end
           * of the message, sending whatever followed it in memory. */
          gsize piece = (gsize) g_rand_int_range (c->rand, 1, 65);

          piece = MIN (piece, len - i);
          g_assert (piece > 0 && i + piece <= len);
          if (!lmsim_connection_write (c->link, data + i, piece))
            return FALSE;
          i += piece;
        }
      return TRUE;
    case WRITE_WHOLE:
    default:
      return lmsim_connection_write (c->link, data, len);
    }
}

/* One message written whole, then the replies it earns are owed. */
static gboolean
send_message (Client         *c,
              const char     *text,
              gboolean        bytewise,
              const SentKind *kinds,
              guint           n_kinds,
              guint           shot_number)
{
  gsize len = strlen (text);
  WriteMode mode = bytewise ? WRITE_BYTEWISE : c->opt->split ? WRITE_SPLIT : WRITE_WHOLE;
  gint64 now;

  if (!lmsim_connection_is_connected (c->link))
    return FALSE;
  if (!write_unit (c, (const guint8 *) text, len, mode))
    return FALSE;

  now = g_get_monotonic_time ();
  for (guint i = 0; i < n_kinds; i++)
    {
      Sent *s = g_new0 (Sent, 1);

      s->kind = kinds[i];
      s->shot_number = shot_number;
      s->sent_at = now;
      g_queue_push_tail (&c->sent, s);
    }
  lmsim_say (c->opt->verbose, "sent %" G_GSIZE_FORMAT " bytes%s: %.200s", len, bytewise ? " one byte at a time" : "", text);
  return TRUE;
}

/* ---- replies ------------------------------------------------------------- */

static gboolean
reply_code (JsonObject *o,
            int        *code)
{
  JsonNode *node = json_object_get_member (o, "Code");
  gint64 value;
  char *end;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    {
      const char *text = json_node_get_string (node);
      value = g_ascii_strtoll (text, &end, 10);
      if (end == text || *end != '\0')
        return FALSE;
    }
  else if (json_node_get_value_type (node) == G_TYPE_INT64 ||
           json_node_get_value_type (node) == G_TYPE_DOUBLE)
    value = (gint64) json_node_get_double (node);
  else
    return FALSE;
  if (value < 100 || value > 999)
    return FALSE;
  *code = (int) value;
  return TRUE;
}

static void
count_unanswered (Client     *c,
                  const Sent *s)
{
  switch (s->kind)
    {
    case SENT_SHOT:
    case SENT_DUPLICATE:
      c->stats.unanswered++;
      break;
    case SENT_HEARTBEAT:
      c->stats.heartbeats_unanswered++;
      break;
    case SENT_OVERSIZE:
      c->stats.oversize_code = -1;
      break;
    case SENT_STATUS:
    default:
      break;
    }
}

static void
handle_reply (Client *c,
              GBytes *frame)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  gsize len;
  const char *data = g_bytes_get_data (frame, &len);
  JsonNode *root;
  Sent *s;
  gint64 now = g_get_monotonic_time ();
  int code;

  lmsim_say (c->opt->verbose, "reply: %.*s", (int) MIN (len, 300), data);
  if (!json_parser_load_from_data (parser, data, (gssize) len, &error) ||
      !JSON_NODE_HOLDS_OBJECT (root = json_parser_get_root (parser)) ||
      !reply_code (json_node_get_object (root), &code))
    {
      c->stats.bad_replies++;
      lmsim_say (TRUE, "unreadable reply (%s): %.*s", error ? error->message : "no numeric Code",
           (int) MIN (len, 200), data);
      return;
    }

  /* 201 (player information), 202 (ready) and 203 (round ended) are the
   * receiver's own news, sent on connect or on a club change, not
   * answers to a message. */
  if (code >= 201 && code <= 203)
    {
      c->stats.info_replies++;
      return;
    }

  /* The oldest message still owed a reply. While a shot waits, nothing
   * but copies of it (resends, the deliberate duplicate) has been written
   * since everything before it was answered, so a reply that lands on
   * one of its entries answers the shot itself, whichever copy it was. */
  s = g_queue_pop_head (&c->sent);
  if (s == NULL)
    {
      c->stats.unexpected_replies++;
      lmsim_say (TRUE, "reply %d to nothing outstanding", code);
      return;
    }

  switch (s->kind)
    {
    case SENT_SHOT:
    case SENT_DUPLICATE:
      if (c->current && c->current->number == s->shot_number && !c->current->resolved)
        {
          c->current->code = code;
          /* From its first copy: with a resend in flight, which copy was
           * answered cannot be told. */
          c->current->latency_ms = (now - s->sent_at) / 1000.0;
          c->current->resolved = TRUE;
        }
      else
        c->stats.late_replies++;   /* to a resend or duplicate of a settled shot */
      break;
    case SENT_HEARTBEAT:
      c->stats.heartbeat_replies++;
      break;
    case SENT_STATUS:
      c->stats.status_replies++;
      break;
    case SENT_OVERSIZE:
      c->stats.oversize_code = code;
      lmsim_say (TRUE, "oversize message answered with %d", code);
      break;
    default:
      g_assert_not_reached ();
    }
  g_free (s);
}

static gboolean
heartbeat_may_go (Client *c)
{
  /* Only when nothing is owed a reply: a heartbeat written while a shot
   * waits would earn a 200 that order could give to the shot. */
  return c->heartbeats && c->opt->heartbeat_s > 0 && lmsim_connection_is_connected (c->link) &&
         g_queue_is_empty (&c->sent);
}

static void
maybe_send_heartbeat (Client *c,
                      gint64  now)
{
  static const SentKind kind = SENT_HEARTBEAT;
  g_autofree char *text = NULL;

  if (!heartbeat_may_go (c) || now < c->next_heartbeat)
    return;
  text = build_heartbeat (c->opt);
  if (send_message (c, text, FALSE, &kind, 1, 0))
    c->stats.heartbeats_sent++;
  c->next_heartbeat = now + (gint64) (c->opt->heartbeat_s * G_USEC_PER_SEC);
}

typedef enum {
  WAIT_DEADLINE,
  WAIT_DONE,
  WAIT_DISCONNECTED,
  WAIT_INTERRUPTED,
} WaitResult;

typedef gboolean (*DoneFunc) (Client *c);

static gboolean
current_resolved (Client *c)
{
  return c->current != NULL && c->current->resolved;
}

static gboolean
nothing_owed (Client *c)
{
  return g_queue_is_empty (&c->sent);
}

/* Reads replies and keeps the heartbeat going until @until, until @done
 * says so, or until the connection drops. */
static WaitResult
service (Client   *c,
         gint64    until,
         DoneFunc  done)
{
  for (;;)
    {
      gint64 now, wake;
      GBytes *frame;

      if (lmsim_interrupted ())
        return WAIT_INTERRUPTED;
      if (!lmsim_connection_is_connected (c->link))
        return WAIT_DISCONNECTED;
      if (done && done (c))
        return WAIT_DONE;
      now = g_get_monotonic_time ();
      maybe_send_heartbeat (c, now);
      if (!lmsim_connection_is_connected (c->link))
        return WAIT_DISCONNECTED;
      if (now >= until)
        return WAIT_DEADLINE;

      wake = MIN (until, now + 100 * 1000);
      if (heartbeat_may_go (c))
        wake = MIN (wake, MAX (c->next_heartbeat, now + 1000));
      switch (lmsim_connection_receive (c->link, wake - now))
        {
        case LMSIM_RECEIVE_TIMEOUT:
          continue;
        case LMSIM_RECEIVE_DROPPED:
          return WAIT_DISCONNECTED;
        case LMSIM_RECEIVE_DATA:
        default:
          break;
        }
      while ((frame = lmsim_connection_next_frame (c->link)))
        {
          handle_reply (c, frame);
          g_bytes_unref (frame);
        }
    }
}

/* Waits, connected, until @until: between shots the heartbeat goes on
 * and replies keep being read. FALSE when the run must stop. */
static gboolean
idle_until (gpointer user_data,
            gint64   until)
{
  Client *c = user_data;

  for (;;)
    {
      if (!lmsim_connection_ensure (c->link))
        return FALSE;
      switch (service (c, until, NULL))
        {
        case WAIT_DEADLINE:
          return TRUE;
        case WAIT_INTERRUPTED:
          return FALSE;
        case WAIT_DONE:
        case WAIT_DISCONNECTED:
        default:
          break;
        }
    }
}

/* Ends the exchange in progress: waits until everything written so far
 * has been answered, at most until the resend timeout of the last
 * message. What is still owed then was skipped by the receiver (a
 * receiver silent about heartbeats, a message it could not frame) or is
 * slower than any connector waits; either way its reply, if it ever
 * comes, would be taken for the next message's. So the connection is
 * closed and the next exchange starts on a new one, with nothing owed:
 * a shot is never counted as acknowledged on a reply to something else. */
static void
settle (Client *c)
{
  gint64 resend_us = (gint64) (c->opt->resend_timeout_s * G_USEC_PER_SEC);
  const Sent *last = g_queue_peek_tail (&c->sent);
  g_autofree char *why = NULL;
  gboolean heartbeat = FALSE;
  guint owed;

  if (!lmsim_connection_is_connected (c->link) || last == NULL)
    return;
  if (service (c, last->sent_at + resend_us, nothing_owed) != WAIT_DEADLINE)
    return;

  owed = g_queue_get_length (&c->sent);
  for (GList *l = c->sent.head; l; l = l->next)
    {
      const Sent *s = l->data;

      count_unanswered (c, s);
      heartbeat = heartbeat || s->kind == SENT_HEARTBEAT;
    }
  g_queue_clear_full (&c->sent, g_free);
  if (heartbeat && c->heartbeats)
    {
      /* Otherwise every heartbeat would cost a reconnection. */
      c->heartbeats = FALSE;
      lmsim_say (TRUE, "the receiver does not answer heartbeats; sending no more");
    }
  why = g_strdup_printf ("no reply to %u message%s within %g s, so replies can no longer be "
                         "paired with messages", owed, owed == 1 ? "" : "s", c->opt->resend_timeout_s);
  lmsim_connection_drop (c->link, why);
}

/* ---- faults -------------------------------------------------------------- */

static void
send_garbage (Client *c)
{
  guint8 junk[64];
  guint len = (guint) g_rand_int_range (c->rand, 8, sizeof junk + 1);

  /* Binary noise, but without the bytes that open or close an object or
   * a string: those would legitimately swallow the next message in any
   * framer, and the point is resynchronisation, not a lost shot. */
  for (guint i = 0; i < len; i++)
    {
      guint8 b;
      do
        b = (guint8) g_rand_int_range (c->rand, 0, 256);
      while (b == '{' || b == '}' || b == '"' || b == '\\');
      junk[i] = b;
    }
  if (lmsim_connection_is_connected (c->link) && write_unit (c, junk, len, WRITE_WHOLE))
    {
      c->stats.garbage_writes++;
      lmsim_say (c->opt->verbose, "wrote %u bytes of garbage", len);
    }
}

static void
send_oversize (Client *c)
{
  static const SentKind kind = SENT_OVERSIZE;
  g_autofree char *text = build_oversize (c->opt);

  settle (c);
  if (!lmsim_connection_ensure (c->link))
    return;
  c->stats.oversize_code = -1;
  lmsim_say (TRUE, "sending one %d-byte message", OVERSIZE_BYTES);
  if (!send_message (c, text, FALSE, &kind, 1, 0))
    return;
  /* Its fate (413, 5xx, silence or a closed connection) is reported,
   * not judged: the next shot must get through either way. */
  settle (c);
  if (c->stats.oversize_code == -1)
    lmsim_say (TRUE, "oversize message: no reply within %g s", c->opt->resend_timeout_s);
  else if (c->stats.oversize_code == -2)
    lmsim_say (TRUE, "oversize message: the connection was closed");
}

/* ---- shots --------------------------------------------------------------- */

static Style
style_for_shot (const Options *opt,
                guint          number)
{
  if (opt->style != STYLE_MIXED)
    return opt->style;
  /* A fixed rotation: every style shows up within N_STYLES shots and a
   * run can be repeated. */
  return (Style) ((number - 1) % N_STYLES);
}

static void
run_shot (gpointer      user_data,
          const FcShot *shot,
          guint         number)
{
  Client *c = user_data;
  static const SentKind shot_kinds[] = { SENT_SHOT };
  static const SentKind coalesced_kinds[] = { SENT_STATUS, SENT_SHOT };
  static const SentKind duplicate_kinds[] = { SENT_DUPLICATE };
  Style style = style_for_shot (c->opt, number);
  g_autofree char *text = build_shot (c->opt, shot, number, style);
  g_autofree char *wire = NULL;
  const SentKind *kinds = shot_kinds;
  guint n_kinds = 1;
  ShotState state = { .number = number };
  gboolean delivered = FALSE;
  gint64 resend_us = (gint64) (c->opt->resend_timeout_s * G_USEC_PER_SEC);

  if (style == STYLE_NEWLINE)
    wire = g_strconcat (text, "\n", NULL);
  else if (style == STYLE_COALESCED)
    {
      g_autofree char *status = build_status (c->opt, number, NULL);
      wire = g_strconcat (status, text, NULL);
      kinds = coalesced_kinds;
      n_kinds = 2;
    }
  else
    wire = g_strdup (text);

  /* One shot at a time, after everything before it was answered. */
  settle (c);
  c->current = &state;
  for (guint attempt = 0; !state.resolved; attempt++)
    {
      if (attempt > (guint) c->opt->max_resends || !lmsim_connection_ensure (c->link))
        break;
      /* Like the popular connector: the same bytes again, same ShotNumber. */
      if (attempt > 0)
        {
          state.resends++;
          c->stats.resends++;
          lmsim_say (c->opt->verbose, "no reply to shot %u; sending it again", number);
        }
      if (!send_message (c, wire, style == STYLE_BYTEWISE, kinds, n_kinds, number))
        continue;
      delivered = TRUE;
      if (attempt == 0 && c->opt->duplicate_every > 0 && number % c->opt->duplicate_every == 0 &&
          send_message (c, text, FALSE, duplicate_kinds, 1, number))
        c->stats.duplicates++;
      /* No reply by the deadline: resend on the same connection, as the
       * popular connector does; a late reply to the first copy still
       * answers this shot. A dropped connection loses what was owed. */
      if (service (c, g_get_monotonic_time () + resend_us, current_resolved) == WAIT_INTERRUPTED)
        break;
    }
  c->current = NULL;

  if (delivered)
    c->stats.sent++;
  /* Acknowledged means a 200 came for this shot, nothing less. */
  if (state.resolved && state.code == 200)
    c->stats.acknowledged++;
  else
    c->stats.errors++;

  if (state.resolved)
    g_print ("shot %u code=%d latency_ms=%.2f resends=%u\n", number, state.code, state.latency_ms,
             state.resends);
  else
    g_print ("shot %u code=none latency_ms=none resends=%u\n", number, state.resends);
  lmsim_say (c->opt->verbose, "shot %u was sent as --style %s", number, style_names[style]);
}

/* ---- entry point --------------------------------------------------------- */

static void
print_summary (Client *c)
{
  Stats *s = &c->stats;
  g_autoptr(FcJsonWriter) w = NULL;
  g_autofree char *json = NULL;

  if (!c->opt->json_summary)
    {
      g_print ("sent=%u acknowledged=%u resends=%u errors=%u\n", s->sent, s->acknowledged,
               s->resends, s->errors);
      return;
    }

  w = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (w);
#define FIELD(name, value) (fc_json_writer_key (w, name), fc_json_writer_int (w, value))
  FIELD ("sent", s->sent);
  FIELD ("acknowledged", s->acknowledged);
  FIELD ("resends", s->resends);
  FIELD ("errors", s->errors);
  FIELD ("duplicates", s->duplicates);
  FIELD ("heartbeats_sent", s->heartbeats_sent);
  FIELD ("heartbeat_replies", s->heartbeat_replies);
  FIELD ("heartbeats_unanswered", s->heartbeats_unanswered);
  FIELD ("status_replies", s->status_replies);
  FIELD ("info_replies", s->info_replies);
  FIELD ("late_replies", s->late_replies);
  FIELD ("unanswered", s->unanswered);
  FIELD ("unexpected_replies", s->unexpected_replies);
  FIELD ("bad_replies", s->bad_replies);
  FIELD ("garbage_writes", s->garbage_writes);
  FIELD ("connections", lmsim_connection_get_connections (c->link));
  FIELD ("disconnects", lmsim_connection_get_drops (c->link));
#undef FIELD
  fc_json_writer_key (w, "oversize");
  switch (s->oversize_code)
    {
    case 0:  fc_json_writer_null (w); break;
    case -1: fc_json_writer_string (w, "no reply"); break;
    case -2: fc_json_writer_string (w, "connection closed"); break;
    default: fc_json_writer_int (w, s->oversize_code); break;
    }
  fc_json_writer_key (w, "gave_up");
  fc_json_writer_boolean (w, lmsim_connection_gave_up (c->link));
  fc_json_writer_end_object (w);
  json = fc_json_writer_steal (g_steal_pointer (&w), NULL);
  g_print ("%s\n", json);
}

static const char styles_help[] =
  "Styles:\n"
  "  compact       one line, nothing after it\n"
  "  indented      pretty-printed over several lines\n"
  "  newline       compact with a newline after it\n"
  "  bytewise      one byte per write (TCP_NODELAY, 1 ms apart)\n"
  "  coalesced     a ball-detected status message and the shot in one write\n"
  "  strings       numbers and booleans as JSON strings\n"
  "  backspin      \"Backspin\" instead of \"BackSpin\"\n"
  "  apiversion    \"APIVersion\": \"2\" instead of \"APIversion\": \"1\"\n"
  "  no-totalspin  BackSpin and SideSpin only, no TotalSpin or SpinAxis\n"
  "  mixed         the styles above in turn, one per shot\n";

static const char *
check_options (Options *opt)
{
  gboolean found = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (style_names); i++)
    if (g_strcmp0 (opt->style_name, style_names[i]) == 0)
      {
        opt->style = (Style) i;
        found = TRUE;
      }
  if (!found)
    return "--style must be one of compact, indented, newline, bytewise, coalesced, strings, "
           "backspin, apiversion, no-totalspin, mixed";
  if (!(opt->heartbeat_s >= 0) || !isfinite (opt->heartbeat_s))
    return "--heartbeat must be 0 (never) or more seconds";
  if (!(opt->resend_timeout_s > 0) || !isfinite (opt->resend_timeout_s))
    return "--resend-timeout must be more than 0 seconds";
  if (opt->max_resends < 0)
    return "--max-resends must be 0 or more";
  if (!(opt->give_up_s >= 0) || !isfinite (opt->give_up_s))
    return "--give-up-after must be 0 or more seconds";
  if (opt->disconnect_every < 0 || opt->garbage_every < 0 || opt->duplicate_every < 0 ||
      opt->stop_heartbeats_after < 0)
    return "fault intervals must be 0 (off) or more shots";
  return NULL;
}

static void
after_shot (gpointer user_data,
            guint    number)
{
  Client *c = user_data;

  if (c->opt->garbage_every > 0 && number % c->opt->garbage_every == 0)
    send_garbage (c);
  if (c->opt->stop_heartbeats_after > 0 && number == (guint) c->opt->stop_heartbeats_after)
    {
      c->heartbeats = FALSE;
      lmsim_say (TRUE, "heartbeats stop now (--fault-stop-heartbeats-after)");
    }
  if (c->oversize_after == number)
    send_oversize (c);
}

/* Between shots the heartbeat goes on. A connection closed by
 * --fault-disconnect-every is made again straight away: when that gives
 * up the run ends there, and the summary counts the shots never sent. */
static const LmsimShotLoop shot_loop = {
  .idle_until = idle_until,
  .run_shot = run_shot,
  .after_shot = after_shot,
  .reconnect_at_once = TRUE,
};

int
lmsim_open_connect_main (int    argc,
                         char **argv)
{
  LmsimShotOptions shot_options;
  Options opt = {
    .heartbeat_s = 5,
    .resend_timeout_s = 2,
    .max_resends = 3,
    .give_up_s = 30,
  };
  const GOptionEntry entries[] = {
    { "device-id", 0, 0, G_OPTION_ARG_STRING, &opt.device_id,
      "DeviceID to send (default \"FitClip LMSim\")", "TEXT" },
    { "style", 's', 0, G_OPTION_ARG_STRING, &opt.style_name,
      "How the JSON is written (default compact; see below)", "STYLE" },
    { "heartbeat", 0, 0, G_OPTION_ARG_DOUBLE, &opt.heartbeat_s,
      "Send a heartbeat every SECONDS (default 5; 0 = never)", "SECONDS" },
    { "resend-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt.resend_timeout_s,
      "Send a shot again when no reply came within SECONDS (default 2)", "SECONDS" },
    { "max-resends", 0, 0, G_OPTION_ARG_INT, &opt.max_resends,
      "Resends of one shot before it counts as an error (default 3)", "N" },
    { "give-up-after", 0, 0, G_OPTION_ARG_DOUBLE, &opt.give_up_s,
      "Stop when no connection could be made for SECONDS (default 30)", "SECONDS" },
    { "fault-disconnect-every", 0, 0, G_OPTION_ARG_INT, &opt.disconnect_every,
      "Close the connection and reconnect after every N shots", "N" },
    { "fault-garbage-every", 0, 0, G_OPTION_ARG_INT, &opt.garbage_every,
      "Write random binary garbage after every N shots", "N" },
    { "fault-stop-heartbeats-after", 0, 0, G_OPTION_ARG_INT, &opt.stop_heartbeats_after,
      "Stop sending heartbeats after N shots", "N" },
    { "fault-duplicate-every", 0, 0, G_OPTION_ARG_INT, &opt.duplicate_every,
      "Send every Nth shot twice on purpose", "N" },
    { "fault-split", 0, 0, G_OPTION_ARG_NONE, &opt.split,
      "Write every message in random pieces of 1 to 64 bytes (TCP splits)", NULL },
    { "fault-oversize", 0, 0, G_OPTION_ARG_NONE, &opt.oversize,
      "Send one 100 KiB message halfway through the run", NULL },
    { "json-summary", 0, 0, G_OPTION_ARG_NONE, &opt.json_summary,
      "Print the final summary as JSON, with more counters", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt.verbose,
      "Show messages, replies and retries on stderr", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("HOST[:PORT] — send shots to an Open Connect receiver (port 921 by default)");
  g_autoptr(LmsimShotSource) source = NULL;
  Client c = { 0 };
  const char *problem;
  int status = LMSIM_EXIT_OK;

  lmsim_shot_options_init (&shot_options);
  g_option_context_set_summary (context,
    "Prints \"shot N code=200 latency_ms=1.23 resends=0\" per shot and a summary line\n"
    "\"sent=N acknowledged=N resends=N errors=N\" on stdout; events go to stderr.");
  if (!lmsim_parse_command_line (context, entries, styles_help, "HOST[:PORT]", &shot_options,
                                 &argc, &argv, &status))
    goto out;
  if (opt.style_name == NULL)
    opt.style_name = g_strdup ("compact");
  if (opt.device_id == NULL)
    opt.device_id = g_strdup ("FitClip LMSim");
  if ((problem = check_options (&opt)) != NULL)
    {
      status = lmsim_usage_error (context, problem);
      goto out;
    }
  c.link = lmsim_connection_new_from_command_line (context, argv[1], DEFAULT_PORT, opt.give_up_s,
                                                   opt.verbose, &status);
  if (c.link == NULL || (source = lmsim_open_shot_source (&shot_options, &status)) == NULL)
    goto out;

  c.opt = &opt;
  lmsim_connection_set_hooks (c.link, &link_hooks, &c);
  g_queue_init (&c.sent);
  c.heartbeats = TRUE;
  /* --seed also repeats the garbage of --fault-garbage-every. */
  c.rand = shot_options.seed >= 0 ? g_rand_new_with_seed ((guint32) shot_options.seed) : g_rand_new ();

  if (opt.oversize)
    c.oversize_after = MAX (1, shot_options.count / 2);
  lmsim_connection_run_shots (c.link, source, &shot_options, opt.disconnect_every, &shot_loop, &c);

  /* Late replies (to resends, duplicates, heartbeats) are still counted
   * before the connection closes. */
  if (lmsim_connection_is_connected (c.link) && !g_queue_is_empty (&c.sent))
    service (&c, g_get_monotonic_time () + (gint64) (opt.resend_timeout_s * G_USEC_PER_SEC),
             nothing_owed);
  /* Whatever is still owed was never answered: a receiver that drops
   * messages without a reply shows up here. */
  for (GList *l = c.sent.head; l; l = l->next)
    count_unanswered (&c, l->data);
  g_queue_clear_full (&c.sent, g_free);

  /* Shots never sent for want of a connection did not get their 2xx
   * either; this keeps acknowledged + errors equal to --count. */
  if (lmsim_connection_gave_up (c.link) && shot_options.count > 0)
    c.stats.errors = (guint) shot_options.count - c.stats.acknowledged;
  print_summary (&c);
  if (lmsim_connection_gave_up (c.link))
    status = LMSIM_EXIT_FAILED;
  else if (shot_options.count > 0)
    status = c.stats.acknowledged == (guint) shot_options.count ? LMSIM_EXIT_OK : LMSIM_EXIT_FAILED;
  else
    status = c.stats.errors == 0 ? LMSIM_EXIT_OK : LMSIM_EXIT_FAILED;

out:
  g_clear_pointer (&c.link, lmsim_connection_free);
  g_clear_pointer (&c.rand, g_rand_free);
  g_queue_clear_full (&c.sent, g_free);
  g_free (opt.device_id);
  g_free (opt.style_name);
  lmsim_shot_options_clear (&shot_options);
  return status;
}
