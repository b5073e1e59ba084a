/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-e6-message"

#include "fc-e6-message.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "fc-error.h"
#include "fc-json-reader.h"

/* E6 messages are two levels deep; json-glib recurses, so deeper input
 * is refused before it reaches the parser (see fc-json-reader.h). */
#define MAX_NESTING 32

/* An error goes back to the app as an ACK's Details and into the log. */
#define MAX_ERROR_BYTES 160

static const struct {
  const char      *type;
  FcE6MessageKind  kind;
} message_types[] = {
  { "Handshake",   FC_E6_MESSAGE_HANDSHAKE },
  { "Challenge",   FC_E6_MESSAGE_CHALLENGE },
  { "Pong",        FC_E6_MESSAGE_PONG },
  { "SetClubType", FC_E6_MESSAGE_SET_CLUB_TYPE },
  { "SetBallData", FC_E6_MESSAGE_SET_BALL_DATA },
  { "SetClubData", FC_E6_MESSAGE_SET_CLUB_DATA },
  { "SendShot",    FC_E6_MESSAGE_SEND_SHOT },
  { "Disconnect",  FC_E6_MESSAGE_DISCONNECT },
};

double
fc_e6_spin_axis_to_store (double axis)
{
  /* protocols.md §3: the app's axis runs 0–360 with small values tilted
   * left; 350 is 10° to the right. */
  double value = -(axis < 90 ? axis : axis - 360);

  return value == 0 ? 0.0 : value;   /* no -0 in the store */
}

/* json-glib quotes the offending input in its messages, invalid UTF-8
 * and line breaks included: make it one short line of UTF-8. */
static char *
one_line (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  GString *out = g_string_new (NULL);

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (out->len + (g_utf8_next_char (p) - p) > MAX_ERROR_BYTES)
        {
          g_string_append (out, "…");
          break;
        }
      if (g_unichar_iscntrl (c))
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

/* Every value possible, or @details says which is not: an impossible
 * value refused here reaches the app with its reason at once, instead
 * of the whole shot being refused by the store after SendShot. */
static gboolean
values_possible (const FcShot  *shot,
                 const char    *what,
                 char         **details)
{
  for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
    if (fc_shot_has (shot, f) && !fc_shot_field_check (f, fc_shot_get (shot, f), NULL))
      {
        const FcShotFieldInfo *info = fc_shot_field_get_info (f);
        const char *symbol = fc_unit_get_symbol (fc_quantity_get_si_unit (info->quantity));
        char value[G_ASCII_DTOSTR_BUF_SIZE];

        g_ascii_formatd (value, sizeof value, "%.6g", fc_shot_get (shot, f));
        /* "95°" but "402.336 m/s" */
        *details = g_strdup_printf ("%s refused: %s of %s%s%s is impossible.", what, info->label,
                                    value, g_str_has_prefix (symbol, "°") ? "" : " ", symbol);
        return FALSE;
      }
  return TRUE;
}

/* Numbers may come as JSON numbers or as numeric strings. */
static gboolean
get_number (JsonObject *object,
            const char *key,
            double     *value)
{
  JsonNode *node = json_object_get_member (object, key);
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    *value = (double) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE)
    *value = json_node_get_double (node);
  else if (type == G_TYPE_STRING)
    {
      const char *text = json_node_get_string (node);
      char *end = NULL;

      if (text == NULL || *text == '\0')
        return FALSE;
      *value = g_ascii_strtod (text, &end);
      while (end && g_ascii_isspace (*end))
        end++;
      if (end == NULL || *end != '\0')
        return FALSE;
    }
  else
    return FALSE;
  return isfinite (*value);
}

static void
set_from (FcShot      *shot,
          JsonObject  *object,
          const char  *key,
          FcShotField  field,
          FcUnit       unit)
{
  double value;

  if (get_number (object, key, &value))
    fc_shot_set (shot, field, fc_unit_to_si (unit, value));
}

/* Ball data in SI; NULL with @details set when it cannot make a shot. */
static FcShot *
parse_ball_data (JsonObject  *message,
                 char       **details)
{
  JsonNode *node = json_object_get_member (message, "BallData");
  JsonObject *ball;
  g_autoptr(FcShot) shot = fc_shot_new ();
  double value;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      *details = g_strdup ("SetBallData without a BallData object.");
      return NULL;
    }
  ball = json_node_get_object (node);
  if (!get_number (ball, "BallSpeed", &value) || value <= 0)
    {
      *details = g_strdup ("Ball data without a usable BallSpeed.");
      return NULL;
    }
  /* Speeds are mph in every app version seen so far (protocols.md §3). */
  fc_shot_set (shot, FC_FIELD_BALL_SPEED, fc_unit_to_si (FC_UNIT_MILES_PER_HOUR, value));
  set_from (shot, ball, "LaunchAngle", FC_FIELD_LAUNCH_ANGLE, FC_UNIT_DEGREES);
  set_from (shot, ball, "LaunchDirection", FC_FIELD_LAUNCH_DIRECTION, FC_UNIT_DEGREES);
  set_from (shot, ball, "BackSpin", FC_FIELD_BACK_SPIN, FC_UNIT_RPM);
  set_from (shot, ball, "SideSpin", FC_FIELD_SIDE_SPIN, FC_UNIT_RPM);
  if (get_number (ball, "SpinAxis", &value))
    fc_shot_set (shot, FC_FIELD_SPIN_AXIS, fc_e6_spin_axis_to_store (value));
  /* A 0 total next to a real back/side pair is a placeholder, not a
   * measurement: derive it like a missing one. */
  if (get_number (ball, "TotalSpin", &value) &&
      !(value == 0 && (fc_shot_has (shot, FC_FIELD_BACK_SPIN) || fc_shot_has (shot, FC_FIELD_SIDE_SPIN))))
    fc_shot_set (shot, FC_FIELD_SPIN_RATE, value);
  fc_shot_complete_spin (shot);
  if (!values_possible (shot, "Ball data", details))
    return NULL;
  return g_steal_pointer (&shot);
}

static FcShot *
parse_club_data (JsonObject  *message,
                 char       **details)
{
  JsonNode *node = json_object_get_member (message, "ClubData");
  JsonObject *club;
  g_autoptr(FcShot) shot = fc_shot_new ();

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      *details = g_strdup ("SetClubData without a ClubData object.");
      return NULL;
    }
  club = json_node_get_object (node);
  set_from (shot, club, "ClubHeadSpeed", FC_FIELD_CLUB_SPEED, FC_UNIT_MILES_PER_HOUR);
  set_from (shot, club, "ClubAngleFace", FC_FIELD_FACE_ANGLE, FC_UNIT_DEGREES);
  set_from (shot, club, "ClubAnglePath", FC_FIELD_CLUB_PATH, FC_UNIT_DEGREES);
  /* The R10 reports 0 club speed when it did not see the club. */
  if (fc_shot_has (shot, FC_FIELD_CLUB_SPEED) && fc_shot_get (shot, FC_FIELD_CLUB_SPEED) <= 0)
    fc_shot_unset (shot, FC_FIELD_CLUB_SPEED);
  if (!values_possible (shot, "Club data", details))
    return NULL;
  return g_steal_pointer (&shot);
}

FcShot *
fc_e6_shot_assemble (const FcShot *ball,
                     const FcShot *club)
{
  FcShot *shot;

  g_return_val_if_fail (ball != NULL, NULL);

  shot = fc_shot_copy (ball);
  if (club)
    for (guint f = 0; f < FC_SHOT_N_FIELDS; f++)
      if (fc_shot_has (club, f))
        fc_shot_set (shot, f, fc_shot_get (club, f));
  return shot;
}

void
fc_e6_message_free (FcE6Message *message)
{
  if (message == NULL)
    return;
  g_free (message->type);
  g_free (message->club_type);
  g_clear_pointer (&message->shot, fc_shot_free);
  g_free (message->details);
  g_free (message);
}

FcE6Message *
fc_e6_message_parse (const guint8  *data,
                     gsize          len,
                     GError       **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) json_error = NULL;
  g_autoptr(FcE6Message) message = NULL;
  JsonNode *root;
  JsonObject *object;
  const char *type;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len > G_MAXSSIZE || !fc_json_depth_ok (data, len, MAX_NESTING))
    {
      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                   "Bad JSON data: nested deeper than %d levels", MAX_NESTING);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, (const char *) data, (gssize) len, &json_error) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_autofree char *why = one_line (json_error ? json_error->message : "not an object");

      g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "Bad JSON data: %s", why);
      return NULL;
    }
  object = json_node_get_object (root);
  type = fc_json_get_string (object, "Type");
  if (type == NULL)
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "Message without a Type.");
      return NULL;
    }

  message = g_new0 (FcE6Message, 1);
  message->kind = FC_E6_MESSAGE_OTHER;
  message->type = g_strdup (type);
  for (guint i = 0; i < G_N_ELEMENTS (message_types); i++)
    if (strcmp (type, message_types[i].type) == 0)
      message->kind = message_types[i].kind;

  switch (message->kind)
    {
    case FC_E6_MESSAGE_SET_CLUB_TYPE:
      {
        const char *club = fc_json_get_string (object, "ClubType");

        if (club == NULL || *club == '\0' || !g_utf8_validate (club, -1, NULL))
          message->details = g_strdup ("SetClubType without a ClubType.");
        else
          message->club_type = g_strdup (club);
      }
      break;
    case FC_E6_MESSAGE_SET_BALL_DATA:
      message->shot = parse_ball_data (object, &message->details);
      break;
    case FC_E6_MESSAGE_SET_CLUB_DATA:
      message->shot = parse_club_data (object, &message->details);
      break;
    case FC_E6_MESSAGE_HANDSHAKE:
    case FC_E6_MESSAGE_CHALLENGE:
    case FC_E6_MESSAGE_PONG:
    case FC_E6_MESSAGE_SEND_SHOT:
    case FC_E6_MESSAGE_DISCONNECT:
    case FC_E6_MESSAGE_OTHER:
    default:
      break;
    }
  return g_steal_pointer (&message);
}
