/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "fc-error.h"
#include "fc-oc-message.h"

#include <math.h>
#include <string.h>

/*
 * Messages written the way each family of connectors writes them (see
 * the client matrix in the shared protocols doc): the vendor's page with
 * tabs, Newtonsoft indented, System.Text.Json with nulls, Python
 * json.dumps with its ", " separators, string templates, Boost with four
 * spaces and a trailing newline.
 */

static FcOcMessage *
parse_ok (const char *text)
{
  g_autoptr(GError) error = NULL;
  FcOcMessage *message = fc_oc_message_parse ((const guint8 *) text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_nonnull (message);
  return message;
}

static void
assert_parse_error (const char *text,
                    const char *expected_message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(FcOcMessage) message = fc_oc_message_parse ((const guint8 *) text, strlen (text), &error);

  g_assert_null (message);
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_assert_cmpstr (error->message, ==, expected_message);
}

static void
assert_value (const FcShot *shot,
              FcShotField   field,
              double        expected)
{
  if (!fc_shot_has (shot, field))
    g_error ("%s is absent, expected %.17g", fc_shot_field_get_name (field), expected);
  g_assert_cmpfloat (fc_shot_get (shot, field), ==, expected);
}

static void
assert_absent (const FcShot *shot,
               FcShotField   field)
{
  if (fc_shot_has (shot, field))
    g_error ("%s is %.17g, expected absent", fc_shot_field_get_name (field), fc_shot_get (shot, field));
}

/* The example on GSPro's page (comments removed), tab-indented. */
static const char gspro_example[] =
  "{\n"
  "\t\"DeviceID\": \"GSPro LM 1.1\",\n"
  "\t\"Units\": \"Yards\",\n"
  "\t\"ShotNumber\": 13,\n"
  "\t\"APIversion\": \"1\",\n"
  "\t\"BallData\": {\n"
  "\t\t\"Speed\": 147.5,\n"
  "\t\t\"SpinAxis\": -13.2,\n"
  "\t\t\"TotalSpin\": 3250.0,\n"
  "\t\t\"BackSpin\": 2500.0,\n"
  "\t\t\"SideSpin\": -800.0,\n"
  "\t\t\"HLA\": 2.3,\n"
  "\t\t\"VLA\": 14.3,\n"
  "\t\t\"CarryDistance\": 256.5\n"
  "\t},\n"
  "\t\"ClubData\": {\n"
  "\t\t\"Speed\": 105.2,\n"
  "\t\t\"AngleOfAttack\": -1.2,\n"
  "\t\t\"FaceToTarget\": 1.5,\n"
  "\t\t\"Lie\": 2.1,\n"
  "\t\t\"Loft\": 13.2,\n"
  "\t\t\"Path\": 3.1,\n"
  "\t\t\"SpeedAtImpact\": 104.9,\n"
  "\t\t\"VerticalFaceImpact\": -2.5,\n"
  "\t\t\"HorizontalFaceImpact\": 6.0,\n"
  "\t\t\"ClosureRate\": 2400.0\n"
  "\t},\n"
  "\t\"ShotDataOptions\": {\n"
  "\t\t\"ContainsBallData\": true,\n"
  "\t\t\"ContainsClubData\": true,\n"
  "\t\t\"LaunchMonitorIsReady\": true,\n"
  "\t\t\"LaunchMonitorBallDetected\": true,\n"
  "\t\t\"IsHeartBeat\": false\n"
  "\t}\n"
  "}";

static void
test_full_example (void)
{
  g_autoptr(FcOcMessage) m = parse_ok (gspro_example);
  const FcShot *s = m->shot;

  g_assert_cmpint (m->kind, ==, FC_OC_MESSAGE_SHOT);
  g_assert_false (m->suspect);
  g_assert_cmpstr (m->device_id, ==, "GSPro LM 1.1");
  g_assert_cmpstr (m->api_version, ==, "1");
  g_assert_cmpint (m->shot_number, ==, 13);
  g_assert_true (m->has_ready && m->ready);
  g_assert_true (m->has_ball_detected && m->ball_detected);
  g_assert_null (m->club_name);
  g_assert_nonnull (s);

  /* Exact SI: one multiplication by the defining constant. */
  assert_value (s, FC_FIELD_BALL_SPEED, 147.5 * 0.44704);
  g_assert_cmpfloat_with_epsilon (fc_shot_get (s, FC_FIELD_BALL_SPEED), 65.9384, 1e-12);
  assert_value (s, FC_FIELD_SPIN_AXIS, -13.2);
  /* The page's spin numbers disagree with each other (3250 vs a pair
   * of 2500/-800); sent values are kept as sent, none is overwritten. */
  assert_value (s, FC_FIELD_SPIN_RATE, 3250.0);
  assert_value (s, FC_FIELD_BACK_SPIN, 2500.0);
  assert_value (s, FC_FIELD_SIDE_SPIN, -800.0);
  assert_value (s, FC_FIELD_LAUNCH_DIRECTION, 2.3);
  assert_value (s, FC_FIELD_LAUNCH_ANGLE, 14.3);
  assert_value (s, FC_FIELD_CARRY, 256.5 * 0.9144);

  assert_value (s, FC_FIELD_CLUB_SPEED, 105.2 * 0.44704);
  assert_value (s, FC_FIELD_ATTACK_ANGLE, -1.2);
  assert_value (s, FC_FIELD_FACE_ANGLE, 1.5);
  assert_value (s, FC_FIELD_CLUB_LIE, 2.1);
  assert_value (s, FC_FIELD_DYNAMIC_LOFT, 13.2);
  assert_value (s, FC_FIELD_CLUB_PATH, 3.1);
  assert_value (s, FC_FIELD_CLUB_SPEED_AT_IMPACT, 104.9 * 0.44704);
  assert_value (s, FC_FIELD_IMPACT_HEIGHT, fc_unit_to_si (FC_UNIT_MILLIMETERS, -2.5));
  g_assert_cmpfloat_with_epsilon (fc_shot_get (s, FC_FIELD_IMPACT_HEIGHT), -0.0025, 1e-15);
  assert_value (s, FC_FIELD_IMPACT_OFFSET, fc_unit_to_si (FC_UNIT_MILLIMETERS, 6.0));
  assert_value (s, FC_FIELD_CLOSURE_RATE, 2400.0);
  g_assert_cmpuint (fc_shot_count_values (s), ==, 18);

  /* The parser fills measurements only: where and when is the server's. */
  g_assert_null (s->device_id);
  g_assert_null (s->source_protocol);
  g_assert_null (s->raw);
}

/* Garmin R10 bridge (System.Text.Json): "APIVersion", nulls written. */
static void
test_r10_nulls_and_case (void)
{
  g_autoptr(FcOcMessage) m = parse_ok (
    "{\"DeviceID\":\"Garmin R10\",\"Units\":\"Yards\",\"ShotNumber\":21,\"APIVersion\":\"1\","
    "\"BallData\":{\"Speed\":98.4,\"SpinAxis\":4.3,\"TotalSpin\":5213.0,\"BackSpin\":5198.4,"
    "\"SideSpin\":389.9,\"HLA\":-1.9,\"VLA\":17.2,\"CarryDistance\":null},"
    "\"ClubData\":null,"
    "\"ShotDataOptions\":{\"ContainsBallData\":true,\"ContainsClubData\":false,"
    "\"LaunchMonitorIsReady\":true,\"LaunchMonitorBallDetected\":null,\"IsHeartBeat\":null}}");

  g_assert_cmpint (m->kind, ==, FC_OC_MESSAGE_SHOT);
  g_assert_cmpstr (m->api_version, ==, "1");
  g_assert_true (m->has_ready);
  g_assert_false (m->has_ball_detected);   /* null is "not sent" */
  assert_value (m->shot, FC_FIELD_BALL_SPEED, 98.4 * 0.44704);
  assert_value (m->shot, FC_FIELD_SPIN_RATE, 5213.0);
  assert_absent (m->shot, FC_FIELD_CARRY);
  assert_absent (m->shot, FC_FIELD_CLUB_SPEED);
  g_assert_cmpuint (fc_shot_count_values (m->shot), ==, 7);
}

/* Python connectors for the MLM2PRO (json.dumps, ", " separators):
 * "Backspin", CarryDistance 0, ClubData sent with zeros among real
 * values. */
static void
test_mlm_backspin_carry_zero (void)
{
  g_autoptr(FcOcMessage) m = parse_ok (
    "{\"DeviceID\": \"Rapsodo MLM2PRO\", \"Units\": \"Yards\", \"ShotNumber\": 11, \"APIversion\": \"1\", "
    "\"BallData\": {\"Speed\": 128.9, \"SpinAxis\": 2.7, \"TotalSpin\": 5900.0, \"HLA\": -0.6, "
    "\"VLA\": 19.9, \"Backspin\": 5893.4, \"SideSpin\": 277.9, \"CarryDistance\": 0}, "
    "\"ClubData\": {\"Speed\": 90.1, \"AngleOfAttack\": -2.4, \"FaceToTarget\": -0.9, \"Lie\": 0, "
    "\"Loft\": 0, \"Path\": 1.2, \"SpeedAtImpact\": 90.1, \"VerticalFaceImpact\": 0, "
    "\"HorizontalFaceImpact\": -2.1, \"ClosureRate\": 0}, "
    "\"ShotDataOptions\": {\"ContainsBallData\": true, \"ContainsClubData\": true, "
    "\"LaunchMonitorIsReady\": true, \"LaunchMonitorBallDetected\": true, \"IsHeartBeat\": false}}");

  g_assert_cmpint (m->kind, ==, FC_OC_MESSAGE_SHOT);
  assert_value (m->shot, FC_FIELD_BACK_SPIN, 5893.4);
  assert_value (m->shot, FC_FIELD_SIDE_SPIN, 277.9);
  assert_absent (m->shot, FC_FIELD_CARRY);   /* 0 = not measured */
  assert_value (m->shot, FC_FIELD_CLUB_SPEED, 90.1 * 0.44704);
  /* Not an all-zero block, so its zeros stay values. */
  assert_value (m->shot, FC_FIELD_CLUB_LIE, 0.0);
  assert_value (m->shot, FC_FIELD_IMPACT_OFFSET, fc_unit_to_si (FC_UNIT_MILLIMETERS, -2.1));
}

/* A string template connector: every number and boolean a string,
 * "Apiversion", no Units. */
static void
test_strings_everywhere (void)
{
  g_autoptr(FcOcMessage) m = parse_ok (
    "{\"DeviceID\": \"GC2\", \"ShotNumber\": \"17\", \"Apiversion\": \"1\", "
    "\"BallData\": {\"Speed\": \"147.5\", \"SpinAxis\": \"-2.5\", \"TotalSpin\": \"2800\", "
    "\"HLA\": \" 0.5 \", \"VLA\": \"12.0\", \"CarryDistance\": \"\"}, "
    "\"ShotDataOptions\": {\"ContainsBallData\": \"true\", \"ContainsClubData\": \"false\", "
    "\"LaunchMonitorIsReady\": \"TRUE\", \"LaunchMonitorBallDetected\": \"0\"}}");

  g_assert_cmpint (m->kind, ==, FC_OC_MESSAGE_SHOT);
  g_assert_cmpint (m->shot_number, ==, 17);
  g_assert_cmpstr (m->api_version, ==, "1");
  g_assert_true (m->has_ready && m->ready);
  g_assert_true (m->has_ball_detected && !m->ball_detected);
  assert_value (m->shot, FC_FIELD_BALL_SPEED, 147.5 * 0.44704);
  assert_value (m->shot, FC_FIELD_SPIN_AXIS, -2.5);
  assert_value (m->shot, FC_FIELD_SPIN_RATE, 2800.0);
  assert_value (m->shot, FC_FIELD_LAUNCH_DIRECTION, 0.5);
  assert_absent (m->shot, FC_FIELD_CARRY);
  /* Back/side derived from total and axis. */
  g_assert_cmpfloat_with_epsilon (fc_shot_get (m->shot, FC_FIELD_BACK_SPIN),
                                  2800.0 * cos (-2.5 * G_PI / 180.0), 1e-9);
}

static void
test_bools_as_numbers (void)
{
  g_autoptr(FcOcMessage) hb = parse_ok (
    "{\"DeviceID\":\"x\",\"ShotDataOptions\":{\"ContainsBallData\":0,\"ContainsClubData\":0,"
    "\"IsHeartbeat\":1,\"LaunchMonitorIsReady\":1}}");
  g_autoptr(FcOcMessage) shot = parse_ok (
    "{\"BallData\":{\"Speed\":100},\"ShotDataOptions\":{\"ContainsBallData\":\"1\",\"IsHeartBeat\":\"no\"}}");

  g_assert_cmpint (hb->kind, ==, FC_OC_MESSAGE_HEARTBEAT);
  g_assert_true (hb->ready);
  g_assert_null (hb->shot);
  g_assert_cmpint (shot->kind, ==, FC_OC_MESSAGE_SHOT);
  assert_value (shot->shot, FC_FIELD_BALL_SPEED, 100 * 0.44704);
}

/* Key spelling in any case, unknown keys anywhere. */
static void
test_key_case_and_unknown_keys (void)
{
  g_autoptr(FcOcMessage) m = parse_ok (
    "{\"deviceid\":\"Mevo+\",\"APIVERSION\":\"1\",\"shotnumber\":2,\"units\":\"yards\","
    "\"Extra\":{\"BallData\":{\"Speed\":1}},\"DisconnectLaunchMonitor\":false,"
    "\"balldata\":{\"speed\":120,\"BACKSPIN\":4000,\"sidespin\":-300,\"vla\":15,\"Colour\":\"white\"},"
    "\"shotdataoptions\":{\"containsballdata\":true,\"IsHeartbeat\":false}}");

  g_assert_cmpint (m->kind, ==, FC_OC_MESSAGE_SHOT);
  g_assert_cmpstr (m->device_id, ==, "Mevo+");
  g_assert_cmpstr (m->api_version, ==, "1");
  g_assert_cmpint (m->shot_number, ==, 2);
  assert_value (m->shot, FC_FIELD_BALL_SPEED, 120 * 0.44704);
  assert_value (m->shot, FC_FIELD_BACK_SPIN, 4000);
  assert_value (m->shot, FC_FIELD_LAUNCH_ANGLE, 15);
}

/* Uneekor VIEW watcher: "ClubData": null, an extra ClubName, and the
 * APIversion "2" a real capture sends. */
static void
test_uneekor_clubname_api2 (void)
{
  g_autoptr(FcOcMessage) m = parse_ok (
    "{\"DeviceID\":\"EYEMINI LITE\",\"Units\":\"Yards\",\"ShotNumber\":5,\"APIversion\":\"2\","
    "\"ClubName\":\"DRIVER\",\"BallData\":{\"Speed\":150.1,\"SpinAxis\":1.2,\"TotalSpin\":2600,"
    "\"BackSpin\":2599.4,\"SideSpin\":54.4,\"HLA\":0.4,\"VLA\":10.9,\"CarryDistance\":262.3},"
    "\"ClubData\":null,\"ShotDataOptions\":{\"ContainsBallData\":true,\"ContainsClubData\":false,"
    "\"LaunchMonitorIsReady\":true,\"IsHeartBeat\":false}}");

  g_assert_cmpint (m->kind, ==, FC_OC_MESSAGE_SHOT);
  g_assert_cmpstr (m->api_version, ==, "2");
  g_assert_cmpstr (m->club_name, ==, "DRIVER");
  assert_value (m->shot, FC_FIELD_CARRY, 262.3 * 0.9144);
  assert_absent (m->shot, FC_FIELD_CLUB_SPEED);
}

/* PiTrac (Boost, four spaces, trailing newline): TotalSpin 0.0 and
 * SpinAxis 0.0 beside a real pair, and ten club zeros. */
static void
test_pitrac_placeholders (void)
{
  g_autoptr(FcOcMessage) m = parse_ok (
    "{\n"
    "    \"DeviceID\": \"PiTrac LM 0.1\",\n"
    "    \"Units\": \"Yards\",\n"
    "    \"ShotNumber\": 9,\n"
    "    \"APIversion\": \"1\",\n"
    "    \"BallData\": {\n"
    "        \"Speed\": 141.2,\n"
    "        \"SpinAxis\": 0.0,\n"
    "        \"TotalSpin\": 0.0,\n"
    "        \"BackSpin\": 2500.0,\n"
    "        \"SideSpin\": -800.0,\n"
    "        \"HLA\": -1.4,\n"
    "        \"VLA\": 12.6\n"
    "    },\n"
    "    \"ClubData\": {\n"
    "        \"Speed\": 0.0, \"AngleOfAttack\": 0.0, \"FaceToTarget\": 0.0, \"Lie\": 0.0,\n"
    "        \"Loft\": 0.0, \"Path\": 0.0, \"SpeedAtImpact\": 0.0, \"VerticalFaceImpact\": 0.0,\n"
    "        \"HorizontalFaceImpact\": 0.0, \"ClosureRate\": 0.0\n"
    "    },\n"
    "    \"ShotDataOptions\": {\n"
    "        \"ContainsBallData\": true,\n"
    "        \"ContainsClubData\": false,\n"
    "        \"LaunchMonitorIsReady\": true,\n"
    "        \"LaunchMonitorBallDetected\": true,\n"
    "        \"IsHeartBeat\": false\n"
    "    }\n"
    "}\n");

  g_assert_cmpint (m->kind, ==, FC_OC_MESSAGE_SHOT);
  assert_value (m->shot, FC_FIELD_SPIN_RATE, hypot (2500.0, -800.0));
  assert_value (m->shot, FC_FIELD_SPIN_AXIS, atan2 (-800.0, 2500.0) * 180.0 / G_PI);
  g_assert_cmpfloat_with_epsilon (fc_shot_get (m->shot, FC_FIELD_SPIN_RATE), 2624.881, 1e-3);
  g_assert_cmpfloat_with_epsilon (fc_shot_get (m->shot, FC_FIELD_SPIN_AXIS), -17.745, 1e-3);
  /* No club value survives an all-zero block. */
  for (FcShotField f = FC_FIELD_CLUB_SPEED; f <= FC_FIELD_CLOSURE_RATE; f++)
    assert_absent (m->shot, f);
  g_assert_cmpuint (fc_shot_count_values (m->shot), ==, 7);
}

static void
test_derive_spin (void)
{
  /* Pair only. */
  g_autoptr(FcOcMessage) pair = parse_ok (
    "{\"BallData\":{\"Speed\":120,\"BackSpin\":3000,\"SideSpin\":500,\"VLA\":14},"
    "\"ShotDataOptions\":{\"ContainsBallData\":true}}");
  /* Pair and axis, no total. */
  g_autoptr(FcOcMessage) no_total = parse_ok (
    "{\"BallData\":{\"Speed\":120,\"BackSpin\":3000,\"SideSpin\":500,\"SpinAxis\":9.5},"
    "\"ShotDataOptions\":{\"ContainsBallData\":true}}");
  /* A 0/0 pair beside a real total: the pair is what was not measured. */
  g_autoptr(FcOcMessage) zero_pair = parse_ok (
    "{\"BallData\":{\"Speed\":120,\"TotalSpin\":3000,\"SpinAxis\":10,\"BackSpin\":0,\"SideSpin\":0},"
    "\"ShotDataOptions\":{\"ContainsBallData\":true}}");
  /* Top-spin putt: the derived axis would be past 90 deg and is not
   * invented; the shot is still accepted. */
  g_autoptr(FcOcMessage) putt = parse_ok (
    "{\"BallData\":{\"Speed\":8.5,\"BackSpin\":-60,\"SideSpin\":12,\"VLA\":1.5},"
    "\"ShotDataOptions\":{\"ContainsBallData\":true}}");
  /* A 0 total beside one real component: the total is the placeholder. */
  g_autoptr(FcOcMessage) one_component = parse_ok (
    "{\"BallData\":{\"Speed\":120,\"TotalSpin\":0.0,\"BackSpin\":2800,\"SpinAxis\":0.0},"
    "\"ShotDataOptions\":{\"ContainsBallData\":true}}");
  /* Every spin value 0: spin not measured, not 0 rpm. */
  g_autoptr(FcOcMessage) no_spin = parse_ok (
    "{\"BallData\":{\"Speed\":110,\"SpinAxis\":0.0,\"TotalSpin\":0.0,\"BackSpin\":0.0,"
    "\"SideSpin\":0.0,\"HLA\":0.0,\"VLA\":0.0},\"ShotDataOptions\":{\"ContainsBallData\":true}}");

  assert_value (pair->shot, FC_FIELD_SPIN_RATE, hypot (3000, 500));
  assert_value (pair->shot, FC_FIELD_SPIN_AXIS, atan2 (500, 3000) * 180.0 / G_PI);

  assert_value (no_total->shot, FC_FIELD_SPIN_RATE, hypot (3000, 500));
  assert_value (no_total->shot, FC_FIELD_SPIN_AXIS, 9.5);   /* sent: kept */

  assert_value (zero_pair->shot, FC_FIELD_SPIN_RATE, 3000);
  assert_value (zero_pair->shot, FC_FIELD_BACK_SPIN, 3000 * cos (10 * G_PI / 180.0));
  assert_value (zero_pair->shot, FC_FIELD_SIDE_SPIN, 3000 * sin (10 * G_PI / 180.0));

  assert_value (putt->shot, FC_FIELD_SPIN_RATE, hypot (-60, 12));
  assert_absent (putt->shot, FC_FIELD_SPIN_AXIS);
  assert_value (putt->shot, FC_FIELD_BACK_SPIN, -60);

  assert_absent (one_component->shot, FC_FIELD_SPIN_RATE);
  assert_value (one_component->shot, FC_FIELD_BACK_SPIN, 2800);
  assert_value (one_component->shot, FC_FIELD_SPIN_AXIS, 0.0);   /* no side spin contradicts it */

  assert_absent (no_spin->shot, FC_FIELD_SPIN_RATE);
  assert_absent (no_spin->shot, FC_FIELD_SPIN_AXIS);
  assert_absent (no_spin->shot, FC_FIELD_BACK_SPIN);
  assert_absent (no_spin->shot, FC_FIELD_SIDE_SPIN);
  /* Zero angles are real values. */
  assert_value (no_spin->shot, FC_FIELD_LAUNCH_DIRECTION, 0.0);
  assert_value (no_spin->shot, FC_FIELD_LAUNCH_ANGLE, 0.0);
}

static void
test_units_meters (void)
{
  g_autoptr(FcOcMessage) meters = parse_ok (
    "{\"Units\":\"Meters\",\"BallData\":{\"Speed\":147.5,\"CarryDistance\":234.5},"
    "\"ShotDataOptions\":{\"ContainsBallData\":true}}");
  g_autoptr(FcOcMessage) absent = parse_ok (
    "{\"BallData\":{\"Speed\":147.5,\"CarryDistance\":234.5},"
    "\"ShotDataOptions\":{\"ContainsBallData\":true}}");
  g_autoptr(FcOcMessage) unknown = parse_ok (
    "{\"Units\":\"Furlongs\",\"BallData\":{\"Speed\":147.5,\"CarryDistance\":234.5},"
    "\"ShotDataOptions\":{\"ContainsBallData\":true}}");

  /* Speed is mph whatever Units says. */
  assert_value (meters->shot, FC_FIELD_BALL_SPEED, 147.5 * 0.44704);
  assert_value (meters->shot, FC_FIELD_CARRY, 234.5);
  assert_value (absent->shot, FC_FIELD_CARRY, 234.5 * 0.9144);
  /* A carry in a unit we cannot name is not stored as yards. */
  assert_absent (unknown->shot, FC_FIELD_CARRY);
  assert_value (unknown->shot, FC_FIELD_BALL_SPEED, 147.5 * 0.44704);
}

static void
test_heartbeats (void)
{
  /* PiTrac/OpenFlight: zeroed blocks on a heartbeat. */
  g_autoptr(FcOcMessage) pit = parse_ok (
    "{\"DeviceID\":\"OpenFlight\",\"Units\":\"Yards\",\"ShotNumber\":0,\"APIversion\":\"1\","
    "\"BallData\":{\"Speed\":0.0,\"SpinAxis\":0.0,\"TotalSpin\":0.0,\"BackSpin\":0.0,\"SideSpin\":0.0,"
    "\"HLA\":0.0,\"VLA\":0.0,\"CarryDistance\":0.0},\"ClubData\":{\"Speed\":0.0,\"Path\":0.0},"
    "\"ShotDataOptions\":{\"ContainsBallData\":false,\"ContainsClubData\":false,"
    "\"LaunchMonitorIsReady\":true,\"LaunchMonitorBallDetected\":false,\"IsHeartBeat\":true}}");
  /* A heartbeat repeating the last shot's numbers is still a heartbeat. */
  g_autoptr(FcOcMessage) stale = parse_ok (
    "{\"DeviceID\":\"PiTrac\",\"BallData\":{\"Speed\":141.2,\"BackSpin\":2500,\"SideSpin\":-800},"
    "\"ClubData\":{\"Speed\":101.0},"
    "\"ShotDataOptions\":{\"ContainsBallData\":false,\"IsHeartBeat\":true}}");
  /* Go connector: no blocks, trailing newline; "IsHeartbeat" spelling. */
  g_autoptr(FcOcMessage) go = parse_ok (
    "{\"DeviceID\":\"R10\",\"ShotNumber\":44,\"APIversion\":\"1\",\"ShotDataOptions\":"
    "{\"ContainsBallData\":false,\"ContainsClubData\":false,\"IsHeartbeat\":true,"
    "\"LaunchMonitorIsReady\":true}}\n");

  g_assert_cmpint (pit->kind, ==, FC_OC_MESSAGE_HEARTBEAT);
  g_assert_null (pit->shot);
  g_assert_false (pit->suspect);
  g_assert_true (pit->has_ready && pit->ready);
  g_assert_true (pit->has_ball_detected && !pit->ball_detected);
  g_assert_cmpint (pit->shot_number, ==, 0);

  g_assert_cmpint (stale->kind, ==, FC_OC_MESSAGE_HEARTBEAT);
  g_assert_null (stale->shot);

  g_assert_cmpint (go->kind, ==, FC_OC_MESSAGE_HEARTBEAT);
  g_assert_cmpint (go->shot_number, ==, 44);
}

static void
test_status (void)
{
  g_autoptr(FcOcMessage) ready = parse_ok (
    "{\"DeviceID\":\"SkyTrak+\",\"APIversion\":\"1\",\"ShotDataOptions\":{\"ContainsBallData\":false,"
    "\"ContainsClubData\":false,\"LaunchMonitorIsReady\":true,\"LaunchMonitorBallDetected\":true,"
    "\"IsHeartBeat\":false}}");
  /* Claims club data but the block is all zeros. */
  g_autoptr(FcOcMessage) zero_club = parse_ok (
    "{\"ClubData\":{\"Speed\":0,\"Path\":0,\"FaceToTarget\":0},"
    "\"ShotDataOptions\":{\"ContainsBallData\":false,\"ContainsClubData\":true}}");
  /* Nothing at all but an identity. */
  g_autoptr(FcOcMessage) bare = parse_ok ("{\"DeviceID\":\"x\"}");
  /* Claims ball data, sends null: the flag is wrong, nothing to store. */
  g_autoptr(FcOcMessage) null_ball = parse_ok (
    "{\"BallData\":null,\"ClubData\":null,\"ShotDataOptions\":{\"ContainsBallData\":true,"
    "\"LaunchMonitorIsReady\":false}}");

  g_assert_cmpint (ready->kind, ==, FC_OC_MESSAGE_STATUS);
  g_assert_true (ready->ready && ready->ball_detected);
  g_assert_null (ready->shot);
  g_assert_cmpint (ready->shot_number, ==, -1);
  g_assert_cmpint (zero_club->kind, ==, FC_OC_MESSAGE_STATUS);
  g_assert_null (zero_club->shot);
  g_assert_cmpint (bare->kind, ==, FC_OC_MESSAGE_STATUS);
  g_assert_false (bare->has_ready);
  g_assert_false (bare->has_ball_detected);
  g_assert_null (bare->api_version);
  g_assert_cmpint (null_ball->kind, ==, FC_OC_MESSAGE_STATUS);
  g_assert_true (null_ball->has_ready && !null_ball->ready);
}

static void
test_club_only (void)
{
  g_autoptr(FcOcMessage) m = parse_ok (
    "{\n  \"DeviceID\": \"Putting LM\",\n  \"ShotNumber\": 3,\n  \"ClubData\": {\n"
    "    \"Speed\": 8.2,\n    \"Path\": -1.5,\n    \"FaceToTarget\": 0.0\n  },\n"
    "  \"ShotDataOptions\": {\n    \"ContainsBallData\": false,\n    \"ContainsClubData\": true\n  }\n}");
  /* No flags at all: the data decides. */
  g_autoptr(FcOcMessage) unflagged = parse_ok ("{\"ClubData\":{\"Speed\":\"95.5\"}}");
  /* Ball data claimed but null: the club block decides. */
  g_autoptr(FcOcMessage) wrong_ball_flag = parse_ok (
    "{\"BallData\":null,\"ClubData\":{\"Speed\":101,\"Path\":2.5},"
    "\"ShotDataOptions\":{\"ContainsBallData\":true,\"ContainsClubData\":true}}");
  /* An impossible club value is dropped, the rest kept. */
  g_autoptr(FcOcMessage) absurd = parse_ok (
    "{\"ClubData\":{\"Speed\":105,\"Path\":500,\"HorizontalFaceImpact\":250,\"Loft\":\"low\"},"
    "\"ShotDataOptions\":{\"ContainsClubData\":true}}");

  g_assert_cmpint (m->kind, ==, FC_OC_MESSAGE_CLUB_ONLY);
  g_assert_false (m->suspect);
  assert_value (m->shot, FC_FIELD_CLUB_SPEED, 8.2 * 0.44704);
  assert_value (m->shot, FC_FIELD_CLUB_PATH, -1.5);
  assert_value (m->shot, FC_FIELD_FACE_ANGLE, 0.0);
  assert_absent (m->shot, FC_FIELD_BALL_SPEED);

  g_assert_cmpint (unflagged->kind, ==, FC_OC_MESSAGE_CLUB_ONLY);
  assert_value (unflagged->shot, FC_FIELD_CLUB_SPEED, 95.5 * 0.44704);

  g_assert_cmpint (wrong_ball_flag->kind, ==, FC_OC_MESSAGE_CLUB_ONLY);
  assert_value (wrong_ball_flag->shot, FC_FIELD_CLUB_PATH, 2.5);

  g_assert_cmpint (absurd->kind, ==, FC_OC_MESSAGE_CLUB_ONLY);
  assert_value (absurd->shot, FC_FIELD_CLUB_SPEED, 105 * 0.44704);
  assert_absent (absurd->shot, FC_FIELD_CLUB_PATH);
  assert_absent (absurd->shot, FC_FIELD_IMPACT_OFFSET);
  assert_absent (absurd->shot, FC_FIELD_DYNAMIC_LOFT);
  g_assert_cmpuint (fc_shot_count_values (absurd->shot), ==, 1);
}

/* Flags missing or contradicting the data: the data decides. */
static void
test_flags_missing_or_wrong (void)
{
  g_autoptr(FcOcMessage) no_options = parse_ok (
    "{\"DeviceID\":\"TL\",\"BallData\":{\"Speed\":145.1,\"TotalSpin\":2900,\"SpinAxis\":-3,"
    "\"HLA\":0.2,\"VLA\":12.1},\"ClubData\":{\"Speed\":101}}");
  g_autoptr(FcOcMessage) lying = parse_ok (
    "{\"BallData\":{\"Speed\":145.1,\"VLA\":12.1},"
    "\"ShotDataOptions\":{\"ContainsBallData\":false,\"ContainsClubData\":false,\"IsHeartBeat\":false}}");
  g_autoptr(FcOcMessage) garbage_flags = parse_ok (
    "{\"BallData\":{\"Speed\":145.1},\"ShotDataOptions\":{\"ContainsBallData\":\"maybe\"}}");
  g_autoptr(FcOcMessage) options_not_object = parse_ok (
    "{\"BallData\":{\"Speed\":145.1},\"ShotDataOptions\":[true]}");

  g_assert_cmpint (no_options->kind, ==, FC_OC_MESSAGE_SHOT);
  assert_value (no_options->shot, FC_FIELD_CLUB_SPEED, 101 * 0.44704);
  g_assert_cmpint (lying->kind, ==, FC_OC_MESSAGE_SHOT);
  assert_value (lying->shot, FC_FIELD_LAUNCH_ANGLE, 12.1);
  g_assert_cmpint (garbage_flags->kind, ==, FC_OC_MESSAGE_SHOT);
  g_assert_cmpint (options_not_object->kind, ==, FC_OC_MESSAGE_SHOT);
}

/* Speed 0 with the ball flag set: answered, marked suspect, not a shot
 * to store. */
static void
test_zero_speed_suspect (void)
{
  g_autoptr(FcOcMessage) m = parse_ok (
    "{\"DeviceID\":\"SLX MicroSim\",\"Units\":\"Yards\",\"ShotNumber\":31,\"APIversion\":\"1\","
    "\"BallData\":{\"Speed\":0,\"SpinAxis\":0,\"TotalSpin\":0,\"HLA\":0,\"VLA\":0},"
    "\"ClubData\":{\"Speed\":0},"
    "\"ShotDataOptions\":{\"ContainsBallData\":true,\"ContainsClubData\":true,\"IsHeartBeat\":false}}");
  g_autoptr(FcOcMessage) string_zero = parse_ok (
    "{\"BallData\":{\"Speed\":\"0.0\",\"VLA\":\"11\"},\"ShotDataOptions\":{\"ContainsBallData\":\"true\"}}");
  g_autoptr(FcOcMessage) real = parse_ok (
    "{\"BallData\":{\"Speed\":0.1},\"ShotDataOptions\":{\"ContainsBallData\":true}}");

  g_assert_cmpint (m->kind, ==, FC_OC_MESSAGE_SHOT);
  g_assert_true (m->suspect);
  g_assert_nonnull (m->shot);
  assert_value (m->shot, FC_FIELD_BALL_SPEED, 0.0);
  g_assert_true (string_zero->suspect);
  g_assert_false (real->suspect);
}

static void
test_shot_number_forms (void)
{
  static const struct { const char *json; gint64 expected; } cases[] = {
    { "{\"ShotNumber\":13}", 13 },
    { "{\"ShotNumber\":13.0}", 13 },
    { "{\"ShotNumber\":\"27\"}", 27 },
    { "{\"ShotNumber\":-4}", -1 },
    { "{\"ShotNumber\":\"first\"}", -1 },
    { "{\"ShotNumber\":true}", -1 },
    { "{\"ShotNumber\":null}", -1 },
    { "{\"ShotNumber\":1e300}", -1 },
    { "{}", -1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(FcOcMessage) m = parse_ok (cases[i].json);

      g_assert_cmpint (m->shot_number, ==, cases[i].expected);
    }
}

static void
test_identity_fields (void)
{
  g_autoptr(GString) long_id = g_string_new ("{\"DeviceID\":\"");
  g_autoptr(FcOcMessage) numeric = parse_ok ("{\"DeviceID\":42,\"APIversion\":1,\"ClubName\":[\"7i\"]}");
  g_autoptr(FcOcMessage) longm = NULL;

  for (guint i = 0; i < 300; i++)
    g_string_append (long_id, "é");
  g_string_append (long_id, "\"}");
  longm = parse_ok (long_id->str);

  g_assert_cmpstr (numeric->device_id, ==, "42");
  g_assert_cmpstr (numeric->api_version, ==, "1");
  g_assert_null (numeric->club_name);
  g_assert_cmpuint (g_utf8_strlen (longm->device_id, -1), ==, 128);
  g_assert_true (g_utf8_validate (longm->device_id, -1, NULL));
}

static void
test_errors (void)
{
  assert_parse_error ("", "Bad JSON data");
  assert_parse_error ("{\"DeviceID\": \"x\",", "Bad JSON data");
  assert_parse_error ("{\"BallData\":{\"Speed\":147.5}} trailing", "Bad JSON data");
  assert_parse_error ("[{\"BallData\":{\"Speed\":147.5}}]", "Bad JSON data: not an object");
  assert_parse_error ("\"just a string\"", "Bad JSON data: not an object");

  /* Ball data claimed and sent, but no speed a shot can stand on. */
  assert_parse_error ("{\"BallData\":{\"VLA\":12,\"TotalSpin\":3000},"
                      "\"ShotDataOptions\":{\"ContainsBallData\":true}}",
                      "Ball data without a usable Speed");
  assert_parse_error ("{\"BallData\":{},\"ShotDataOptions\":{\"ContainsBallData\":true}}",
                      "Ball data without a usable Speed");
  assert_parse_error ("{\"BallData\":{\"Speed\":\"fast\"},\"ShotDataOptions\":{\"ContainsBallData\":true}}",
                      "Ball data without a usable Speed");
  assert_parse_error ("{\"BallData\":{\"Speed\":null,\"VLA\":11}}", "Ball data without a usable Speed");
  assert_parse_error ("{\"BallData\":{\"Speed\":true},\"ShotDataOptions\":{\"ContainsBallData\":true}}",
                      "Ball data without a usable Speed");
  assert_parse_error ("{\"BallData\":{\"Speed\":\"nan\"},\"ShotDataOptions\":{\"ContainsBallData\":true}}",
                      "Ball data without a usable Speed");
  assert_parse_error ("{\"BallData\":{\"Speed\":\"0x20\"},\"ShotDataOptions\":{\"ContainsBallData\":true}}",
                      "Ball data without a usable Speed");
  assert_parse_error ("{\"BallData\":{\"Speed\":\"147.5 mph\"},\"ShotDataOptions\":{\"ContainsBallData\":true}}",
                      "Ball data without a usable Speed");

  /* Absurd values: wrong units somewhere, the shot is refused. */
  assert_parse_error ("{\"BallData\":{\"Speed\":900},\"ShotDataOptions\":{\"ContainsBallData\":true}}",
                      "Ball speed of 402.336 m/s is impossible");
  assert_parse_error ("{\"BallData\":{\"Speed\":-12},\"ShotDataOptions\":{\"ContainsBallData\":true}}",
                      "Ball speed of -5.36448 m/s is impossible");
  assert_parse_error ("{\"BallData\":{\"Speed\":150,\"VLA\":95},\"ShotDataOptions\":{\"ContainsBallData\":true}}",
                      "Launch angle of 95° is impossible");
  assert_parse_error ("{\"BallData\":{\"Speed\":150,\"TotalSpin\":250000}}",
                      "Spin rate of 250000 rpm is impossible");
  assert_parse_error ("{\"BallData\":{\"Speed\":150,\"CarryDistance\":900}}",
                      "Carry of 822.96 m is impossible");
  assert_parse_error ("{\"BallData\":{\"Speed\":150,\"HLA\":\"left\"}}",
                      "Ball data HLA is not a number");
}

/* Deep nesting is refused before json-glib recurses into it. */
static void
test_deep_nesting (void)
{
  g_autoptr(GString) deep = g_string_new ("{\"BallData\":{\"Speed\":140},\"x\":");
  g_autoptr(FcOcMessage) ok = parse_ok ("{\"a\":{\"b\":{\"c\":[[[{\"d\":\"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\"}]]]}}}");

  for (guint i = 0; i < 20000; i++)
    g_string_append_c (deep, i % 2 ? '[' : '{');
  assert_parse_error (deep->str, "Bad JSON data");
  g_assert_cmpint (ok->kind, ==, FC_OC_MESSAGE_STATUS);
}

static void
test_replies (void)
{
  g_autofree char *ball = fc_oc_reply (200, "Ball Data received");
  g_autofree char *both = fc_oc_reply (200, "Club & Ball Data received");
  g_autofree char *bad = fc_oc_reply (501, "Bad JSON data: \"x\"");
  g_autofree char *player = fc_oc_reply_player ("RH", "DR");
  g_autofree char *lefty = fc_oc_reply_player ("LH", "PT");

  g_assert_cmpstr (ball, ==, "{\"Code\":200,\"Message\":\"Ball Data received\",\"Player\":null}");
  g_assert_cmpstr (both, ==, "{\"Code\":200,\"Message\":\"Club & Ball Data received\",\"Player\":null}");
  g_assert_cmpstr (bad, ==, "{\"Code\":501,\"Message\":\"Bad JSON data: \\\"x\\\"\",\"Player\":null}");
  g_assert_cmpstr (player, ==,
                   "{\"Code\":201,\"Message\":\"GSPro Player Information\","
                   "\"Player\":{\"Handed\":\"RH\",\"Club\":\"DR\"}}");
  g_assert_cmpstr (lefty, ==,
                   "{\"Code\":201,\"Message\":\"GSPro Player Information\","
                   "\"Player\":{\"Handed\":\"LH\",\"Club\":\"PT\"}}");
}

/* A reply is one line a client can frame: and our own parser reads it. */
static void
test_reply_round_trip (void)
{
  g_autofree char *reply = fc_oc_reply (200, "Ball Data received");
  g_autoptr(FcOcMessage) m = parse_ok (reply);

  g_assert_null (strchr (reply, '\n'));
  g_assert_cmpint (m->kind, ==, FC_OC_MESSAGE_STATUS);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/oc-message/full-example", test_full_example);
  g_test_add_func ("/oc-message/r10-nulls-and-case", test_r10_nulls_and_case);
  g_test_add_func ("/oc-message/mlm-backspin-carry-zero", test_mlm_backspin_carry_zero);
  g_test_add_func ("/oc-message/strings-everywhere", test_strings_everywhere);
  g_test_add_func ("/oc-message/bools-as-numbers", test_bools_as_numbers);
  g_test_add_func ("/oc-message/key-case-and-unknown-keys", test_key_case_and_unknown_keys);
  g_test_add_func ("/oc-message/uneekor-clubname-api2", test_uneekor_clubname_api2);
  g_test_add_func ("/oc-message/pitrac-placeholders", test_pitrac_placeholders);
  g_test_add_func ("/oc-message/derive-spin", test_derive_spin);
  g_test_add_func ("/oc-message/units-meters", test_units_meters);
  g_test_add_func ("/oc-message/heartbeats", test_heartbeats);
  g_test_add_func ("/oc-message/status", test_status);
  g_test_add_func ("/oc-message/club-only", test_club_only);
  g_test_add_func ("/oc-message/flags-missing-or-wrong", test_flags_missing_or_wrong);
  g_test_add_func ("/oc-message/zero-speed-suspect", test_zero_speed_suspect);
  g_test_add_func ("/oc-message/shot-number-forms", test_shot_number_forms);
  g_test_add_func ("/oc-message/identity-fields", test_identity_fields);
  g_test_add_func ("/oc-message/errors", test_errors);
  g_test_add_func ("/oc-message/deep-nesting", test_deep_nesting);
  g_test_add_func ("/oc-message/replies", test_replies);
  g_test_add_func ("/oc-message/reply-round-trip", test_reply_round_trip);
  return g_test_run ();
}
