/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-oc-message"

#include "fc-oc-message.h"

#include "fc-error.h"
#include "fc-json-reader.h"
#include "fc-json-writer.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/*
 * Open Connect as real connectors send it, not as the page describes it
 * (shared docs, protocols.md section 1). Everything here is about
 * tolerance: keys in any case, numbers and booleans as strings, null
 * blocks, zeros that mean "not measured", flags that lie. What is not
 * tolerated is a shot whose ball data cannot be trusted: the sender gets
 * a 5xx with the reason instead of a silently wrong shot in a fitting.
 */

/* Deeper nesting than this is never Open Connect (which is two levels),
 * and json-glib parses recursively: refuse it before it reaches the
 * parser so a hostile peer cannot exhaust the stack. */
#define MAX_NESTING 32

/* Identifiers end up in logs, the UI and the database. */
#define MAX_TEXT_CHARS 128

typedef enum {
  TRI_UNSET = -1,
  TRI_FALSE = 0,
  TRI_TRUE = 1,
} Tri;

typedef enum {
  NUM_ABSENT,   /* missing, null or "" */
  NUM_OK,
  NUM_BAD,      /* present but not a finite number */
} NumResult;

typedef struct {
  const char  *key;     /* as GSPro's page spells it; matched case-insensitively */
  FcShotField  field;
  FcUnit       unit;
} FieldMap;

/* Open Connect speeds are mph whatever "Units" says: GSPro reads them
 * that way, and connectors follow GSPro. Only CarryDistance follows
 * "Units". */
static const FieldMap ball_fields[] = {
  { "Speed",         FC_FIELD_BALL_SPEED,       FC_UNIT_MILES_PER_HOUR },
  { "SpinAxis",      FC_FIELD_SPIN_AXIS,        FC_UNIT_DEGREES },
  { "TotalSpin",     FC_FIELD_SPIN_RATE,        FC_UNIT_RPM },
  { "BackSpin",      FC_FIELD_BACK_SPIN,        FC_UNIT_RPM },
  { "SideSpin",      FC_FIELD_SIDE_SPIN,        FC_UNIT_RPM },
  { "HLA",           FC_FIELD_LAUNCH_DIRECTION, FC_UNIT_DEGREES },
  { "VLA",           FC_FIELD_LAUNCH_ANGLE,     FC_UNIT_DEGREES },
  { "CarryDistance", FC_FIELD_CARRY,            FC_UNIT_YARDS },   /* or "Units" */
};

/* GSPro's page does not give a unit for the face impact location.
 * We assume millimetres: connectors that fill it (Foresight through
 * GSPconnect) report single- and double-digit values, which are
 * plausible millimetres from the face centre and impossible inches or
 * metres. A value outside the face is dropped rather than stored. */
static const FieldMap club_fields[] = {
  { "Speed",                FC_FIELD_CLUB_SPEED,           FC_UNIT_MILES_PER_HOUR },
  { "AngleOfAttack",        FC_FIELD_ATTACK_ANGLE,         FC_UNIT_DEGREES },
  { "FaceToTarget",         FC_FIELD_FACE_ANGLE,           FC_UNIT_DEGREES },
  { "Lie",                  FC_FIELD_CLUB_LIE,             FC_UNIT_DEGREES },
  { "Loft",                 FC_FIELD_DYNAMIC_LOFT,         FC_UNIT_DEGREES },
  { "Path",                 FC_FIELD_CLUB_PATH,            FC_UNIT_DEGREES },
  { "SpeedAtImpact",        FC_FIELD_CLUB_SPEED_AT_IMPACT, FC_UNIT_MILES_PER_HOUR },
  { "VerticalFaceImpact",   FC_FIELD_IMPACT_HEIGHT,        FC_UNIT_MILLIMETERS },
  { "HorizontalFaceImpact", FC_FIELD_IMPACT_OFFSET,        FC_UNIT_MILLIMETERS },
  { "ClosureRate",          FC_FIELD_CLOSURE_RATE,         FC_UNIT_DEGREES_PER_SECOND },
};

static const char *club_codes[] = {
  "DR", "W2", "W3", "W4", "W5", "W6", "W7",
  "I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8", "I9",
  "H2", "H3", "H4", "H5", "H6", "H7",
  "PW", "GW", "SW", "LW", "PT",
};

/* ---- tolerant readers ------------------------------------------------ */

/* A member by name in any letter case (APIversion, APIVersion,
 * Apiversion; BackSpin, Backspin). The exact spelling wins; among other
 * spellings the choice is made deterministic by taking the smallest
 * name. JSON null reads as absent. */
static JsonNode *
member_ci (JsonObject *object,
           const char *key)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  JsonNode *found = NULL;
  const char *found_name = NULL;

  if (object == NULL)
    return NULL;

  node = json_object_get_member (object, key);
  if (node == NULL)
    {
      json_object_iter_init (&iter, object);
      while (json_object_iter_next (&iter, &name, &node))
        if (g_ascii_strcasecmp (name, key) == 0 &&
            (found_name == NULL || strcmp (name, found_name) < 0))
          {
            found = node;
            found_name = name;
          }
      node = found;
    }

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  return node;
}

static JsonObject *
object_ci (JsonObject *object,
           const char *key)
{
  JsonNode *node = member_ci (object, key);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* Accepts what a C or Python strtod would, minus what no connector
 * means: hex floats, "nan", "inf", and trailing units or text. */
static gboolean
parse_decimal (const char *text,
               double     *value)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  const char *p = copy;
  gboolean digits = FALSE;
  char *end = NULL;

  if (*p == '+' || *p == '-')
    p++;
  while (g_ascii_isdigit (*p))
    p++, digits = TRUE;
  if (*p == '.')
    for (p++; g_ascii_isdigit (*p); p++)
      digits = TRUE;
  if (!digits)
    return FALSE;
  if (*p == 'e' || *p == 'E')
    {
      p++;
      if (*p == '+' || *p == '-')
        p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
    }
  if (*p != '\0')
    return FALSE;

  *value = g_ascii_strtod (copy, &end);
  return end != NULL && *end == '\0' && isfinite (*value);
}

static NumResult
read_number (JsonNode *node,
             double   *value)
{
  GType type;

  if (node == NULL)
    return NUM_ABSENT;
  if (!JSON_NODE_HOLDS_VALUE (node))
    return NUM_BAD;

  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    {
      *value = (double) json_node_get_int (node);
      return NUM_OK;
    }
  if (type == G_TYPE_DOUBLE)
    {
      *value = json_node_get_double (node);
      return isfinite (*value) ? NUM_OK : NUM_BAD;
    }
  if (type == G_TYPE_STRING)
    {
      const char *text = json_node_get_string (node);

      /* Template-based connectors write "" for a value they lack. */
      if (text == NULL || text[strspn (text, " \t\r\n")] == '\0')
        return NUM_ABSENT;
      return parse_decimal (text, value) ? NUM_OK : NUM_BAD;
    }
  return NUM_BAD;   /* a boolean */
}

/* true/false, "true"/"false" in any case, 1/0 and "1"/"0", "yes"/"no".
 * Anything else (null included) is as if the flag were not sent. */
static Tri
read_bool (JsonNode *node)
{
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return TRI_UNSET;

  type = json_node_get_value_type (node);
  if (type == G_TYPE_BOOLEAN)
    return json_node_get_boolean (node) ? TRI_TRUE : TRI_FALSE;
  if (type == G_TYPE_INT64)
    return json_node_get_int (node) != 0 ? TRI_TRUE : TRI_FALSE;
  if (type == G_TYPE_DOUBLE)
    return json_node_get_double (node) != 0.0 ? TRI_TRUE : TRI_FALSE;
  if (type == G_TYPE_STRING)
    {
      g_autofree char *text = g_strstrip (g_strdup (json_node_get_string (node)));

      if (g_ascii_strcasecmp (text, "true") == 0 || strcmp (text, "1") == 0 ||
          g_ascii_strcasecmp (text, "yes") == 0)
        return TRI_TRUE;
      if (g_ascii_strcasecmp (text, "false") == 0 || strcmp (text, "0") == 0 ||
          g_ascii_strcasecmp (text, "no") == 0)
        return TRI_FALSE;
    }
  return TRI_UNSET;
}

/* A string member as text, numbers written out (some connectors send
 * APIversion 1 or DeviceID as a number). Valid UTF-8, and short. */
static char *
read_text (JsonNode *node)
{
  g_autofree char *text = NULL;
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;

  type = json_node_get_value_type (node);
  if (type == G_TYPE_STRING)
    text = g_utf8_make_valid (json_node_get_string (node), -1);
  else if (type == G_TYPE_INT64)
    text = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  else if (type == G_TYPE_DOUBLE)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      fc_format_double_shortest (buf, sizeof buf, json_node_get_double (node));
      text = g_strdup (buf);
    }
  else
    return NULL;

  if (g_utf8_strlen (text, -1) > MAX_TEXT_CHARS)
    return g_utf8_substring (text, 0, MAX_TEXT_CHARS);
  return g_steal_pointer (&text);
}

/* ShotNumber: an int, 13.0 from a float-typed connector, or "13". */
static gint64
read_shot_number (JsonNode *node)
{
  double value;

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_INT64)
    return MAX (json_node_get_int (node), -1);
  if (read_number (node, &value) != NUM_OK || value < 0 || value > (double) G_MAXINT32 * 1024)
    return -1;
  return (gint64) value;
}

/* ---- checks ------------------------------------------------------------ */

static gboolean
in_range (FcShotField field,
          double      value_si)
{
  const FcShotFieldInfo *info = fc_shot_field_get_info (field);

  return isfinite (value_si) && value_si >= info->min && value_si <= info->max;
}

/* Short enough for a 5xx reply, and in the units we store. */
static void
set_range_error (GError      **error,
                 FcShotField   field,
                 double        value_si)
{
  const FcShotFieldInfo *info = fc_shot_field_get_info (field);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  const char *symbol = fc_unit_get_symbol (fc_quantity_get_si_unit (info->quantity));

  g_ascii_formatd (buf, sizeof buf, "%.6g", value_si);
  /* "95°" but "402.336 m/s" */
  g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "%s of %s%s%s is impossible",
               info->label, buf, g_str_has_prefix (symbol, "°") ? "" : " ", symbol);
}

/* ---- blocks ------------------------------------------------------------ */

/* Ball values as sent, converted to SI; strict, because a shot stands
 * or falls by its ball data. Returns FALSE with @error for a value that
 * is not a number or not possible. */
static gboolean
read_ball (JsonObject  *ball,
           FcUnit       carry_unit,
           FcShot      *shot,
           GError     **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (ball_fields); i++)
    {
      const FieldMap *map = &ball_fields[i];
      NumResult res;
      double value = NAN;
      double si;

      res = read_number (member_ci (ball, map->key), &value);
      if (map->field == FC_FIELD_BALL_SPEED && res != NUM_OK)
        {
          g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                               "Ball data without a usable Speed");
          return FALSE;
        }
      if (res == NUM_BAD)
        {
          g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                       "Ball data %s is not a number", map->key);
          return FALSE;
        }
      if (res == NUM_ABSENT)
        continue;

      if (map->field == FC_FIELD_CARRY)
        {
          /* Connectors without a carry model send 0: not measured. */
          if (value == 0.0 || carry_unit == FC_UNIT_INVALID)
            continue;
          si = fc_unit_to_si (carry_unit, value);
        }
      else
        si = fc_unit_to_si (map->unit, value);

      if (!in_range (map->field, si))
        {
          set_range_error (error, map->field, si);
          return FALSE;
        }
      fc_shot_set (shot, map->field, si);
    }
  return TRUE;
}

/* Spin as sent is often half placeholder. Decide which numbers are real
 * before deriving the rest from them. */
static void
clean_spin (FcShot *shot)
{
  gboolean has_total = fc_shot_has (shot, FC_FIELD_SPIN_RATE);
  gboolean has_axis = fc_shot_has (shot, FC_FIELD_SPIN_AXIS);
  gboolean has_back = fc_shot_has (shot, FC_FIELD_BACK_SPIN);
  gboolean has_side = fc_shot_has (shot, FC_FIELD_SIDE_SPIN);
  double total = fc_shot_get (shot, FC_FIELD_SPIN_RATE);
  double axis = fc_shot_get (shot, FC_FIELD_SPIN_AXIS);
  double back = fc_shot_get (shot, FC_FIELD_BACK_SPIN);
  double side = fc_shot_get (shot, FC_FIELD_SIDE_SPIN);
  gboolean some_component = (has_back && back != 0.0) || (has_side && side != 0.0);

  /* No flying ball has exactly 0 rpm: when every spin value sent is 0
   * the monitor did not measure spin (dataclass and DTO defaults). */
  if ((has_total || has_back || has_side) &&
      (!has_total || total == 0.0) && (!has_back || back == 0.0) && (!has_side || side == 0.0))
    {
      fc_shot_unset (shot, FC_FIELD_SPIN_RATE);
      fc_shot_unset (shot, FC_FIELD_BACK_SPIN);
      fc_shot_unset (shot, FC_FIELD_SIDE_SPIN);
      if (has_axis && axis == 0.0)
        fc_shot_unset (shot, FC_FIELD_SPIN_AXIS);
      return;
    }

  /* TotalSpin 0.0 beside a real back or side spin is a placeholder
   * (PiTrac does this); a 0 axis beside it contradicts a measured side
   * spin and is one too. With both components sent, both are then
   * derived from the pair. */
  if (some_component && has_total && total == 0.0)
    {
      fc_shot_unset (shot, FC_FIELD_SPIN_RATE);
      if (has_axis && axis == 0.0 && has_side && side != 0.0)
        fc_shot_unset (shot, FC_FIELD_SPIN_AXIS);
    }

  /* The reverse: a 0/0 pair beside a real total is a pair not measured. */
  if (has_back && has_side && back == 0.0 && side == 0.0 && has_total && total > 0.0)
    {
      fc_shot_unset (shot, FC_FIELD_BACK_SPIN);
      fc_shot_unset (shot, FC_FIELD_SIDE_SPIN);
    }
}

/* Derives total/axis (or back/side) and drops a derived value that falls
 * outside its range: a topspin putt's pair gives an axis past 90 deg,
 * and the shot must not be refused for a number the device never sent. */
static void
complete_spin (FcShot *shot)
{
  static const FcShotField spin[] = {
    FC_FIELD_SPIN_RATE, FC_FIELD_SPIN_AXIS, FC_FIELD_BACK_SPIN, FC_FIELD_SIDE_SPIN,
  };
  guint64 before = shot->present;

  fc_shot_complete_spin (shot);
  for (guint i = 0; i < G_N_ELEMENTS (spin); i++)
    {
      guint64 bit = G_GUINT64_CONSTANT (1) << spin[i];

      if ((shot->present & bit) && !(before & bit) &&
          !in_range (spin[i], shot->values[spin[i]]))
        fc_shot_unset (shot, spin[i]);
    }
}

/* Club values are lenient: a shot is worth keeping without them, and
 * several connectors fill this block with defaults. Returns how many
 * values were kept. */
static guint
read_club (JsonObject *club,
           FcShot     *shot)
{
  double values[G_N_ELEMENTS (club_fields)];
  gboolean present[G_N_ELEMENTS (club_fields)] = { FALSE, };
  gboolean all_zero = TRUE;
  guint kept = 0;

  if (club == NULL)
    return 0;

  for (guint i = 0; i < G_N_ELEMENTS (club_fields); i++)
    {
      NumResult res = read_number (member_ci (club, club_fields[i].key), &values[i]);

      if (res == NUM_BAD)
        g_debug ("ClubData %s is not a number; ignored", club_fields[i].key);
      present[i] = res == NUM_OK;
      if (present[i] && values[i] != 0.0)
        all_zero = FALSE;
    }

  /* A block of nothing but zeros is a DTO's defaults: PiTrac and the
   * GC2 connectors send all ten as 0.0 on every shot. */
  if (all_zero)
    return 0;

  for (guint i = 0; i < G_N_ELEMENTS (club_fields); i++)
    {
      double si;

      if (!present[i])
        continue;
      si = fc_unit_to_si (club_fields[i].unit, values[i]);
      if (!in_range (club_fields[i].field, si))
        {
          g_debug ("ClubData %s of %g is impossible; ignored", club_fields[i].key, values[i]);
          continue;
        }
      fc_shot_set (shot, club_fields[i].field, si);
      kept++;
    }
  return kept;
}

/* Does the block hold anything a monitor measured? Used only when the
 * flags are missing or contradict the data. */
static gboolean
ball_has_values (JsonObject *ball)
{
  for (guint i = 0; i < G_N_ELEMENTS (ball_fields); i++)
    {
      double value;

      if (read_number (member_ci (ball, ball_fields[i].key), &value) == NUM_OK && value != 0.0)
        return TRUE;
    }
  return FALSE;
}

/* "Yards" unless told otherwise (GSPro's default when absent). An
 * unknown word returns FC_UNIT_INVALID: carry is then not trusted. */
static FcUnit
read_units (JsonObject *root)
{
  g_autofree char *text = read_text (member_ci (root, "Units"));

  if (text == NULL)
    return FC_UNIT_YARDS;
  g_strstrip (text);
  if (*text == '\0' || g_ascii_strncasecmp (text, "yard", 4) == 0 ||
      g_ascii_strcasecmp (text, "yd") == 0 || g_ascii_strcasecmp (text, "yds") == 0)
    return FC_UNIT_YARDS;
  if (g_ascii_strncasecmp (text, "meter", 5) == 0 || g_ascii_strncasecmp (text, "metre", 5) == 0 ||
      g_ascii_strcasecmp (text, "m") == 0)
    return FC_UNIT_METERS;
  g_debug ("Unknown Units \"%s\": carry ignored", text);
  return FC_UNIT_INVALID;
}

/* ---- public ------------------------------------------------------------ */

void
fc_oc_message_free (FcOcMessage *message)
{
  if (message == NULL)
    return;
  g_free (message->device_id);
  g_free (message->api_version);
  g_free (message->club_name);
  g_clear_pointer (&message->shot, fc_shot_free);
  g_free (message);
}

FcOcMessage *
fc_oc_message_parse (const guint8  *data,
                     gsize          len,
                     GError       **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(FcOcMessage) message = NULL;
  g_autoptr(FcShot) shot = NULL;
  g_autoptr(GError) json_error = NULL;
  JsonNode *root;
  JsonObject *object;
  JsonObject *ball;
  JsonObject *club;
  JsonObject *options;
  Tri ball_flag, club_flag, heartbeat, ready, detected;
  gboolean want_ball, want_club;
  guint club_values;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len == 0 || len > G_MAXSSIZE || !fc_json_depth_ok (data, len, MAX_NESTING))
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "Bad JSON data");
      return NULL;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, (const char *) data, (gssize) len, &json_error))
    {
      g_debug ("Not JSON: %s", json_error->message);
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "Bad JSON data");
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, FC_ERROR, FC_ERROR_INVALID_INPUT, "Bad JSON data: not an object");
      return NULL;
    }
  object = json_node_get_object (root);

  message = g_new0 (FcOcMessage, 1);
  message->device_id = read_text (member_ci (object, "DeviceID"));
  message->api_version = read_text (member_ci (object, "APIversion"));
  message->club_name = read_text (member_ci (object, "ClubName"));
  message->shot_number = read_shot_number (member_ci (object, "ShotNumber"));

  options = object_ci (object, "ShotDataOptions");
  ball_flag = read_bool (member_ci (options, "ContainsBallData"));
  club_flag = read_bool (member_ci (options, "ContainsClubData"));
  heartbeat = read_bool (member_ci (options, "IsHeartBeat"));
  ready = read_bool (member_ci (options, "LaunchMonitorIsReady"));
  detected = read_bool (member_ci (options, "LaunchMonitorBallDetected"));
  message->has_ready = ready != TRI_UNSET;
  message->ready = ready == TRI_TRUE;
  message->has_ball_detected = detected != TRI_UNSET;
  message->ball_detected = detected == TRI_TRUE;

  ball = object_ci (object, "BallData");
  club = object_ci (object, "ClubData");

  /* Which kind of message is it? The flags, where they are sent and
   * agree with the data; the data where they are missing or wrong.
   * Except that a heartbeat is believed: PiTrac and OpenFlight send
   * their last (or zeroed) BallData and ClubData on every heartbeat,
   * and taking that for a shot would store it again. */
  if (ball_flag == TRI_TRUE)
    want_ball = ball != NULL;
  else if (heartbeat == TRI_TRUE)
    want_ball = FALSE;
  else
    want_ball = ball != NULL && ball_has_values (ball);

  /* Club values ride along with a shot; on their own they make a
   * club-only message, unless it is a heartbeat that did not flag them. */
  shot = fc_shot_new ();
  club_values = read_club (club, shot);
  want_club = club_values > 0 && !(heartbeat == TRI_TRUE && club_flag != TRI_TRUE);

  if (want_ball)
    {
      FcUnit carry_unit = read_units (object);

      if (!read_ball (ball, carry_unit, shot, error))
        return NULL;
      clean_spin (shot);
      complete_spin (shot);

      /* A "shot" at 0 mph: connectors send it when the monitor
       * triggered without a ball (GSPro itself mishandles it). Answer
       * it, never store it. */
      message->suspect = fc_shot_get (shot, FC_FIELD_BALL_SPEED) == 0.0;
      message->kind = FC_OC_MESSAGE_SHOT;
      message->shot = g_steal_pointer (&shot);
    }
  else if (want_club)
    {
      message->kind = FC_OC_MESSAGE_CLUB_ONLY;
      message->shot = g_steal_pointer (&shot);
    }
  else if (heartbeat == TRI_TRUE)
    message->kind = FC_OC_MESSAGE_HEARTBEAT;
  else
    message->kind = FC_OC_MESSAGE_STATUS;

  if (message->shot != NULL)
    {
      /* Every value was range-checked on the way in; this is the
       * invariant the store relies on, kept here in one call. */
      if (!fc_shot_validate (message->shot, error))
        return NULL;
    }

  return g_steal_pointer (&message);
}

char *
fc_oc_reply (int         code,
             const char *message)
{
  g_autoptr(FcJsonWriter) writer = fc_json_writer_new (FALSE);

  g_return_val_if_fail (message != NULL, NULL);

  fc_json_writer_begin_object (writer);
  fc_json_writer_key (writer, "Code");
  fc_json_writer_int (writer, code);
  fc_json_writer_key (writer, "Message");
  fc_json_writer_string (writer, message);
  fc_json_writer_key (writer, "Player");
  fc_json_writer_null (writer);
  fc_json_writer_end_object (writer);
  return fc_json_writer_steal (g_steal_pointer (&writer), NULL);
}

gboolean
fc_oc_club_code_is_valid (const char *code)
{
  for (guint i = 0; i < G_N_ELEMENTS (club_codes); i++)
    if (g_strcmp0 (code, club_codes[i]) == 0)
      return TRUE;
  return FALSE;
}

char *
fc_oc_reply_player (const char *handed,
                    const char *club_code)
{
  g_autoptr(FcJsonWriter) writer = NULL;

  g_return_val_if_fail (g_strcmp0 (handed, "RH") == 0 || g_strcmp0 (handed, "LH") == 0, NULL);
  g_return_val_if_fail (fc_oc_club_code_is_valid (club_code), NULL);

  writer = fc_json_writer_new (FALSE);
  fc_json_writer_begin_object (writer);
  fc_json_writer_key (writer, "Code");
  fc_json_writer_int (writer, 201);
  fc_json_writer_key (writer, "Message");
  fc_json_writer_string (writer, "GSPro Player Information");
  fc_json_writer_key (writer, "Player");
  fc_json_writer_begin_object (writer);
  fc_json_writer_key (writer, "Handed");
  fc_json_writer_string (writer, handed);
  fc_json_writer_key (writer, "Club");
  fc_json_writer_string (writer, club_code);
  fc_json_writer_end_object (writer);
  fc_json_writer_end_object (writer);
  return fc_json_writer_steal (g_steal_pointer (&writer), NULL);
}
