/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fitclip-devcloud against docs/cloud-api.yaml: the real server process on
 * 127.0.0.1 port 0 with a temporary database, driven by libsoup. */
#include <string.h>

#include "devcloud-client.h"

#define FITTING "11111111-1111-4111-8111-111111111111"
#define CONFIG  "22222222-2222-4222-8222-222222222222"
#define CONFIG2 "22222222-2222-4222-8222-222222222223"
#define CUSTOMER "33333333-3333-4333-8333-333333333333"
#define VIDEO   "44444444-4444-4444-8444-444444444444"

static char *
fitting_json (const char *fitting_id,
              const char *bay)
{
  return g_strdup_printf (
    "{\"customer\":{\"id\":\"" CUSTOMER "\",\"name\":\"Ann Example\",\"email\":\"ann@example.test\","
    "\"phone\":null,\"handedness\":\"right\",\"handicap\":12.5,\"notes\":null},"
    "\"fitting\":{\"id\":\"%s\",\"customer_id\":\"" CUSTOMER "\",\"type\":\"driver\",\"bay\":\"%s\","
    "\"fitter\":\"Bob\",\"status\":\"open\",\"started_at\":\"2026-11-21T10:00:00.000000Z\","
    "\"completed_at\":null,\"active_config_id\":null,\"notes\":null},"
    "\"configs\":[{\"id\":\"%s\",\"fitting_id\":\"%s\",\"role\":\"baseline\",\"label\":\"Own driver\","
    "\"club_type\":\"Driver\",\"head\":\"H1\",\"shaft\":\"S1\",\"loft_deg\":10.5,\"setting\":null,\"position\":0}]}",
    fitting_id, bay, g_strcmp0 (fitting_id, FITTING) == 0 ? CONFIG : CONFIG2, fitting_id);
}

static char *
shot_id (guint n)
{
  return g_strdup_printf ("55555555-5555-4555-8555-%012u", n);
}

static void
append_shot (GString    *out,
             guint       n,
             double      ball_speed,
             const char *config_id)
{
  g_autofree char *id = shot_id (n);

  g_string_append_printf (out,
                          "%s{\"id\":\"%s\",\"fitting_id\":\"" FITTING "\",\"config_id\":\"%s\","
                          "\"device_id\":\"lmsim\",\"device_shot_id\":\"%u\",\"club\":\"Driver\","
                          "\"device_time\":null,\"received_at\":\"2026-11-21T10:%02u:%02u.000001Z\","
                          "\"spin_estimated\":false,\"ball_speed_mps\":%g,\"launch_angle_deg\":12.25,"
                          "\"spin_rate_rpm\":2450,\"carry_m\":230.5,\"excluded\":false,\"exclude_reason\":null,"
                          "\"tags\":[],\"source\":{\"kind\":\"device\",\"protocol\":\"open-connect-v1\","
                          "\"detail\":\"127.0.0.1\"}}",
                          out->len > 10 ? "," : "", id, config_id, n, (n / 60) % 60, n % 60, ball_speed);
}

/* {"shots":[…]} with shots first..first+count-1. */
static char *
shots_json (guint  first,
            guint  count,
            double ball_speed)
{
  GString *out = g_string_new ("{\"shots\":[");

  for (guint i = 0; i < count; i++)
    append_shot (out, first + i, ball_speed + (i % 10), CONFIG);
  g_string_append (out, "]}");
  return g_string_free (out, FALSE);
}

static void
assert_error (Resp       *r,
              guint       status,
              const char *code)
{
  if (r->status != status || g_strcmp0 (resp_str (r, "error.code"), code) != 0)
    g_error ("expected %u %s, got %u %.*s", status, code, r->status,
             (int) g_bytes_get_size (r->body), (const char *) g_bytes_get_data (r->body, NULL));
}

static void
create_fitting (Cloud      *cloud,
                const char *token)
{
  g_autofree char *body = fitting_json (FITTING, "Bay 1");
  g_autoptr(Resp) r = cloud_request (cloud, "POST", "/api/v1/fittings", token, "create-1", body);

  g_assert_cmpuint (r->status, ==, 201);
}

/* ---- health and auth ------------------------------------------------------ */

static void
test_health (void)
{
  Cloud *cloud = cloud_start (NULL);
  g_autoptr(Resp) r = cloud_request (cloud, "GET", "/health", NULL, NULL, NULL);

  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (resp_str (r, "status"), ==, "ok");
  g_assert_nonnull (resp_str (r, "version"));
  cloud_stop (cloud);
}

static void
test_login (void)
{
  Cloud *cloud = cloud_start (NULL);
  g_autoptr(Resp) ok = cloud_request (cloud, "POST", "/auth/login", NULL, NULL,
                                      "{\"email\":\"owner@shop.test\",\"password\":\"secret-pw\"}");
  g_autoptr(Resp) wrong = cloud_request (cloud, "POST", "/auth/login", NULL, NULL,
                                         "{\"email\":\"owner@shop.test\",\"password\":\"nope\"}");
  g_autoptr(Resp) unknown = cloud_request (cloud, "POST", "/auth/login", NULL, NULL,
                                           "{\"email\":\"who@shop.test\",\"password\":\"secret-pw\"}");
  g_autoptr(Resp) bad = cloud_request (cloud, "POST", "/auth/login", NULL, NULL, "{\"email\":1}");
  g_autoptr(Resp) me = NULL, anon = NULL, junk = NULL;

  g_assert_cmpuint (ok->status, ==, 200);
  g_assert_cmpstr (resp_str (ok, "token_type"), ==, "Bearer");
  g_assert_cmpint (resp_int (ok, "expires_in"), ==, 900);
  g_assert_cmpint (resp_int (ok, "refresh_expires_in"), ==, 30 * 24 * 3600);
  g_assert_true (g_uuid_string_is_valid (resp_str (ok, "user.id")));
  g_assert_cmpstr (resp_str (ok, "user.email"), ==, "owner@shop.test");
  g_assert_nonnull (resp_str (ok, "refresh_token"));
  assert_error (wrong, 401, "invalid_credentials");
  assert_error (unknown, 401, "invalid_credentials");
  assert_error (bad, 400, "bad_request");

  me = cloud_request (cloud, "GET", "/api/v1/me", resp_str (ok, "access_token"), NULL, NULL);
  g_assert_cmpuint (me->status, ==, 200);
  g_assert_cmpstr (resp_str (me, "kind"), ==, "user");
  g_assert_cmpstr (resp_str (me, "shop_id"), ==, resp_str (ok, "user.shop_id"));
  anon = cloud_request (cloud, "GET", "/api/v1/me", NULL, NULL, NULL);
  assert_error (anon, 401, "missing_token");
  g_assert_nonnull (soup_message_headers_get_one (anon->headers, "WWW-Authenticate"));
  junk = cloud_request (cloud, "GET", "/api/v1/me", "fca_junk", NULL, NULL);
  assert_error (junk, 401, "invalid_token");
  cloud_stop (cloud);
}

static Resp *
refresh (Cloud      *cloud,
         const char *token)
{
  g_autofree char *body = g_strdup_printf ("{\"refresh_token\":\"%s\"}", token);

  return cloud_request (cloud, "POST", "/auth/refresh", NULL, NULL, body);
}

/* Pairs a device directly with the owner's token; returns its refresh token. */
static char *
pair_device (Cloud      *cloud,
             const char *user_token,
             const char *key,
             char      **device_id)
{
  g_autoptr(Resp) r = cloud_request (cloud, "POST", "/api/v1/devices", user_token, key,
                                     "{\"name\":\"Bay 1 PC\",\"platform\":\"linux\"}");

  g_assert_cmpuint (r->status, ==, 201);
  if (device_id)
    *device_id = g_strdup (resp_str (r, "device_id"));
  g_assert_true (g_str_has_prefix (resp_str (r, "refresh_token"), "fcd_"));
  return g_strdup (resp_str (r, "refresh_token"));
}

static void
test_refresh_and_expiry (void)
{
  const char *args[] = { "--access-ttl", "1", "--refresh-ttl", "3", NULL };
  Cloud *cloud = cloud_start (args);
  g_autofree char *user = cloud_login (cloud, NULL);
  g_autofree char *device_refresh = pair_device (cloud, user, "pair-1", NULL);
  g_autoptr(Resp) r1 = NULL, r2 = NULL, r3 = NULL, me = NULL, expired = NULL, gone = NULL;
  gint64 paired = g_get_monotonic_time (), last;

  /* Access tokens die after 1 s. */
  g_usleep (1200 * 1000);
  expired = cloud_request (cloud, "GET", "/api/v1/me", user, NULL, NULL);
  assert_error (expired, 401, "token_expired");

  /* A device refresh gives a working token and moves the expiry on. */
  r1 = refresh (cloud, device_refresh);
  g_assert_cmpuint (r1->status, ==, 200);
  g_assert_null (resp_str (r1, "refresh_token"));      /* never rotated */
  g_assert_cmpint (resp_int (r1, "expires_in"), ==, 1);
  me = cloud_request (cloud, "GET", "/api/v1/me", resp_str (r1, "access_token"), NULL, NULL);
  g_assert_cmpuint (me->status, ==, 200);
  g_assert_cmpstr (resp_str (me, "kind"), ==, "device");

  /* Past the first 3 s, but within 3 s of the last use: still paired. */
  while (g_get_monotonic_time () - paired < 3300 * 1000)
    g_usleep (100 * 1000);
  r2 = refresh (cloud, device_refresh);
  g_assert_cmpuint (r2->status, ==, 200);
  last = g_get_monotonic_time ();

  /* 3 s without use: the pairing has lapsed. */
  while (g_get_monotonic_time () - last < 3300 * 1000)
    g_usleep (100 * 1000);
  r3 = refresh (cloud, device_refresh);
  assert_error (r3, 401, "refresh_expired");
  gone = refresh (cloud, "fcd_never-issued");
  assert_error (gone, 401, "invalid_refresh_token");
  cloud_stop (cloud);
}

static void
test_pairing (void)
{
  Cloud *cloud = cloud_start (NULL);
  g_autofree char *shop = NULL;
  g_autofree char *user = cloud_login (cloud, &shop);
  g_autofree char *device_refresh = pair_device (cloud, user, "pair-direct", NULL);
  g_autofree char *lower = NULL, *cli_code = NULL, *body = NULL;
  g_autoptr(Resp) tok = refresh (cloud, device_refresh);
  const char *device_token = resp_str (tok, "access_token");
  g_autoptr(Resp) forbidden = NULL, code = NULL, paired = NULL, reused = NULL, cli = NULL, me = NULL, nokey = NULL;

  /* A device cannot make codes or pair others. */
  forbidden = cloud_request (cloud, "POST", "/api/v1/devices/pair-codes", device_token, "pc-1", NULL);
  assert_error (forbidden, 403, "user_required");

  code = cloud_request (cloud, "POST", "/api/v1/devices/pair-codes", user, "pc-2", NULL);
  g_assert_cmpuint (code->status, ==, 201);
  g_assert_cmpint (resp_int (code, "expires_in"), ==, 600);
  g_assert_cmpuint (strlen (resp_str (code, "code")), ==, 9);
  /* Typed in lower case without the dash: still the code. */
  lower = g_ascii_strdown (resp_str (code, "code"), -1);
  memmove (lower + 4, lower + 5, strlen (lower + 5) + 1);
  body = g_strdup_printf ("{\"code\":\"%s\",\"name\":\"Bay 2 PC\",\"platform\":\"windows\"}", lower);
  paired = cloud_request (cloud, "POST", "/auth/pair", NULL, NULL, body);
  g_assert_cmpuint (paired->status, ==, 201);
  g_assert_cmpstr (resp_str (paired, "shop_id"), ==, shop);
  reused = cloud_request (cloud, "POST", "/auth/pair", NULL, NULL, body);
  assert_error (reused, 401, "invalid_pair_code");

  /* The command line makes codes as well. */
  cli_code = devcloud_run ("pair-code", "--db", cloud->db, "--email", cloud->email, NULL);
  g_strstrip (cli_code);
  g_free (body);
  body = g_strdup_printf ("{\"code\":\"%s\",\"name\":\"Bay 3 PC\",\"platform\":\"macos\"}", cli_code);
  cli = cloud_request (cloud, "POST", "/auth/pair", NULL, NULL, body);
  g_assert_cmpuint (cli->status, ==, 201);
  {
    g_autoptr(Resp) t = refresh (cloud, resp_str (cli, "refresh_token"));
    me = cloud_request (cloud, "GET", "/api/v1/me", resp_str (t, "access_token"), NULL, NULL);
  }
  g_assert_cmpstr (resp_str (me, "device.name"), ==, "Bay 3 PC");
  g_assert_cmpstr (resp_str (me, "device.platform"), ==, "macos");

  nokey = cloud_request (cloud, "POST", "/api/v1/devices", user, NULL, "{\"name\":\"x\",\"platform\":\"y\"}");
  assert_error (nokey, 400, "idempotency_key_missing");
  cloud_stop (cloud);
}

static void
test_revoke (void)
{
  Cloud *cloud = cloud_start (NULL);
  g_autofree char *user = cloud_login (cloud, NULL);
  g_autofree char *id1 = NULL, *id2 = NULL, *body = NULL, *out = NULL;
  g_autofree char *refresh1 = pair_device (cloud, user, "p1", &id1);
  g_autofree char *refresh2 = pair_device (cloud, user, "p2", &id2);
  g_autofree char *refresh3 = pair_device (cloud, user, "p3", NULL);
  g_autoptr(Resp) t1 = refresh (cloud, refresh1), t2 = refresh (cloud, refresh2), t3 = refresh (cloud, refresh3);
  g_autoptr(Resp) a = NULL, b = NULL, c = NULL, d = NULL, del = NULL, out1 = NULL, e = NULL;
  g_autofree char *path = NULL;

  /* From the command line: refresh and access tokens stop at once. */
  out = devcloud_run ("revoke-device", "--db", cloud->db, "--device-id", id1, NULL);
  a = refresh (cloud, refresh1);
  assert_error (a, 401, "pairing_revoked");
  b = cloud_request (cloud, "GET", "/api/v1/me", resp_str (t1, "access_token"), NULL, NULL);
  assert_error (b, 401, "pairing_revoked");

  /* By the owner over the API. */
  path = g_strdup_printf ("/api/v1/devices/%s", id2);
  del = cloud_request (cloud, "DELETE", path, user, NULL, NULL);
  g_assert_cmpuint (del->status, ==, 204);
  c = refresh (cloud, refresh2);
  assert_error (c, 401, "pairing_revoked");

  /* By the device itself. */
  body = g_strdup_printf ("{\"refresh_token\":\"%s\"}", refresh3);
  out1 = cloud_request (cloud, "POST", "/auth/logout", NULL, NULL, body);
  g_assert_cmpuint (out1->status, ==, 204);
  d = refresh (cloud, refresh3);
  assert_error (d, 401, "pairing_revoked");
  e = cloud_request (cloud, "GET", "/api/v1/me", resp_str (t3, "access_token"), NULL, NULL);
  assert_error (e, 401, "pairing_revoked");
  cloud_stop (cloud);
}

/* ---- fittings and idempotency ---------------------------------------------- */

static void
test_fittings_idempotent (void)
{
  Cloud *cloud = cloud_start (NULL);
  g_autofree char *user = cloud_login (cloud, NULL);
  g_autofree char *body = fitting_json (FITTING, "Bay 1");
  g_autofree char *other = fitting_json (FITTING, "Bay 2");
  g_autofree char *spaced = NULL;
  g_autoptr(Resp) first = cloud_request (cloud, "POST", "/api/v1/fittings", user, "k1", body);
  g_autoptr(Resp) again = cloud_request (cloud, "POST", "/api/v1/fittings", user, "k2", body);
  g_autoptr(Resp) conflict = cloud_request (cloud, "POST", "/api/v1/fittings", user, "k3", other);
  g_autoptr(Resp) respaced = NULL, got = NULL, bad = NULL, missing = NULL, shots_in = NULL;

  g_assert_cmpuint (first->status, ==, 201);
  g_assert_cmpstr (resp_str (first, "fitting.id"), ==, FITTING);
  g_assert_cmpstr (resp_str (first, "fitting.bay"), ==, "Bay 1");
  g_assert_cmpstr (resp_str (first, "customer.name"), ==, "Ann Example");
  g_assert_cmpint (resp_int (first, "shot_count"), ==, 0);
  g_assert_cmpuint (again->status, ==, 200);
  g_assert_true (g_bytes_equal (first->body, again->body));
  assert_error (conflict, 409, "fitting_conflict");

  /* Same content in another layout is the same fitting. */
  spaced = g_strjoinv (" ", (char *[]) { "{ ", body + 1, NULL });
  respaced = cloud_request (cloud, "POST", "/api/v1/fittings", user, "k4", spaced);
  g_assert_cmpuint (respaced->status, ==, 200);

  got = cloud_request (cloud, "GET", "/api/v1/fittings/" FITTING, user, NULL, NULL);
  g_assert_cmpuint (got->status, ==, 200);
  g_assert_cmpstr (resp_str (got, "fitting.bay"), ==, "Bay 1");

  bad = cloud_request (cloud, "POST", "/api/v1/fittings", user, "k5",
                       "{\"fitting\":{\"id\":\"not-a-uuid\",\"type\":\"driver\",\"bay\":\"B\",\"status\":\"open\","
                       "\"started_at\":\"2026-11-21T10:00:00Z\"}}");
  assert_error (bad, 422, "invalid_fitting");
  missing = cloud_request (cloud, "GET", "/api/v1/fittings/99999999-9999-4999-8999-999999999999", user, NULL, NULL);
  assert_error (missing, 404, "fitting_not_found");
  shots_in = cloud_request (cloud, "POST", "/api/v1/fittings", user, "k6",
                            "{\"fitting\":{\"id\":\"" FITTING "\",\"type\":\"driver\",\"bay\":\"B\","
                            "\"status\":\"open\",\"started_at\":\"2026-11-21T10:00:00Z\"},\"shots\":[{}]}");
  assert_error (shots_in, 422, "invalid_fitting");
  cloud_stop (cloud);
}

static void
test_idempotency_keys (void)
{
  Cloud *cloud = cloud_start (NULL);
  g_autofree char *user = cloud_login (cloud, NULL);
  g_autofree char *body = fitting_json (FITTING, "Bay 1");
  g_autofree char *other = fitting_json ("11111111-1111-4111-8111-111111111112", "Bay 1");
  g_autofree char *shots = shots_json (1, 2, 60);
  g_autoptr(Resp) nokey = cloud_request (cloud, "POST", "/api/v1/fittings", user, NULL, body);
  g_autoptr(Resp) late = NULL, first = NULL, replay = NULL, reused = NULL, retried = NULL, badkey = NULL;

  assert_error (nokey, 400, "idempotency_key_missing");

  /* An error is not stored under its key: shots for a fitting the server
   * does not have yet, then the fitting, then the same key again. */
  late = cloud_request (cloud, "POST", "/api/v1/fittings/" FITTING "/shots", user, "batch-1", shots);
  assert_error (late, 404, "fitting_not_found");

  first = cloud_request (cloud, "POST", "/api/v1/fittings", user, "same-key", body);
  g_assert_cmpuint (first->status, ==, 201);
  replay = cloud_request (cloud, "POST", "/api/v1/fittings", user, "same-key", body);
  g_assert_cmpuint (replay->status, ==, 201);          /* the stored answer, status and all */
  g_assert_cmpstr (soup_message_headers_get_one (replay->headers, "Idempotent-Replayed"), ==, "true");
  g_assert_true (g_bytes_equal (first->body, replay->body));
  reused = cloud_request (cloud, "POST", "/api/v1/fittings", user, "same-key", other);
  assert_error (reused, 422, "idempotency_key_reused");

  retried = cloud_request (cloud, "POST", "/api/v1/fittings/" FITTING "/shots", user, "batch-1", shots);
  g_assert_cmpuint (retried->status, ==, 200);
  g_assert_cmpint (resp_int (retried, "accepted"), ==, 2);

  badkey = cloud_request (cloud, "POST", "/api/v1/fittings", user, "two words", body);
  assert_error (badkey, 400, "invalid_idempotency_key");
  cloud_stop (cloud);
}

static void
test_shot_batches (void)
{
  Cloud *cloud = cloud_start (NULL);
  g_autofree char *user = cloud_login (cloud, NULL);
  g_autofree char *batch = shots_json (1, 500, 60);
  g_autofree char *too_many = shots_json (1000, 501, 60);
  g_autofree char *changed = shots_json (1, 1, 61.5);
  g_autofree char *impossible = shots_json (2000, 3, 200);
  g_autoptr(GString) mixed = g_string_new ("{\"shots\":[");
  g_autoptr(GString) unknown_config = g_string_new ("{\"shots\":[");
  g_autoptr(Resp) r1 = NULL, r2 = NULL, r3 = NULL, r4 = NULL, r5 = NULL, r6 = NULL, r7 = NULL, state = NULL, nf = NULL;
  g_autofree char *id2000 = shot_id (2000);

  create_fitting (cloud, user);
  r1 = cloud_request (cloud, "POST", "/api/v1/fittings/" FITTING "/shots", user, "b1", batch);
  g_assert_cmpuint (r1->status, ==, 200);
  g_assert_cmpint (resp_int (r1, "accepted"), ==, 500);
  g_assert_cmpint (resp_int (r1, "duplicates"), ==, 0);
  /* Resent under a new key: every shot is a duplicate, none an error. */
  r2 = cloud_request (cloud, "POST", "/api/v1/fittings/" FITTING "/shots", user, "b2", batch);
  g_assert_cmpuint (r2->status, ==, 200);
  g_assert_cmpint (resp_int (r2, "accepted"), ==, 0);
  g_assert_cmpint (resp_int (r2, "duplicates"), ==, 500);

  r3 = cloud_request (cloud, "POST", "/api/v1/fittings/" FITTING "/shots", user, "b3", too_many);
  assert_error (r3, 413, "too_many_shots");
  r4 = cloud_request (cloud, "POST", "/api/v1/fittings/" FITTING "/shots", user, "b4", changed);
  assert_error (r4, 409, "shot_conflict");
  r5 = cloud_request (cloud, "POST", "/api/v1/fittings/" FITTING "/shots", user, "b5", impossible);
  assert_error (r5, 422, "invalid_shot");
  g_assert_cmpstr (resp_str (r5, "error.shot_id"), ==, id2000);
  g_assert_cmpstr (resp_str (r5, "error.field"), ==, "ball_speed_mps");
  g_assert_cmpint (resp_int (r5, "error.index"), ==, 0);

  /* One bad shot rejects the whole batch: the good ones are not stored. */
  append_shot (mixed, 3000, 60, CONFIG);
  append_shot (mixed, 3001, 60, CONFIG);
  g_string_append (mixed, ",{\"id\":\"55555555-5555-4555-8555-000000003002\",\"device_id\":\"x\","
                          "\"received_at\":\"yesterday\",\"ball_speed_mps\":50,\"source\":{\"kind\":\"device\","
                          "\"protocol\":\"p\"}}]}");
  r6 = cloud_request (cloud, "POST", "/api/v1/fittings/" FITTING "/shots", user, "b6", mixed->str);
  assert_error (r6, 422, "invalid_shot");
  g_assert_cmpstr (resp_str (r6, "error.field"), ==, "received_at");
  g_assert_cmpint (resp_int (r6, "error.index"), ==, 2);

  append_shot (unknown_config, 4000, 60, "66666666-6666-4666-8666-666666666666");
  g_string_append (unknown_config, "]}");
  r7 = cloud_request (cloud, "POST", "/api/v1/fittings/" FITTING "/shots", user, "b7", unknown_config->str);
  assert_error (r7, 422, "unknown_config");

  state = cloud_request (cloud, "GET", "/api/v1/fittings/" FITTING, user, NULL, NULL);
  g_assert_cmpint (resp_int (state, "shot_count"), ==, 500);
  nf = cloud_request (cloud, "POST", "/api/v1/fittings/99999999-9999-4999-8999-999999999999/shots", user, "b8", batch);
  assert_error (nf, 404, "fitting_not_found");
  cloud_stop (cloud);
}

static void
test_patch_and_complete (void)
{
  Cloud *cloud = cloud_start (NULL);
  g_autofree char *user = cloud_login (cloud, NULL);
  g_autofree char *shots = shots_json (1, 3, 60);
  g_autofree char *s1 = shot_id (1), *s2 = shot_id (2), *edit = NULL, *out = NULL;
  g_autoptr(Resp) r = NULL, p1 = NULL, p2 = NULL, p3 = NULL, unknown = NULL, c1 = NULL, c2 = NULL, badc = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *dumped;

  create_fitting (cloud, user);
  r = cloud_request (cloud, "POST", "/api/v1/fittings/" FITTING "/shots", user, "s", shots);
  g_assert_cmpuint (r->status, ==, 200);

  edit = g_strdup_printf ("{\"fitting\":{\"notes\":\"Prefers a draw\",\"fitter\":null},"
                          "\"configs\":[{\"id\":\"" CONFIG2 "\",\"fitting_id\":\"" FITTING "\",\"role\":\"test\","
                          "\"label\":\"Test 1\",\"club_type\":\"Driver\",\"head\":\"H2\",\"shaft\":\"S2\","
                          "\"loft_deg\":9,\"setting\":\"std\",\"position\":1}],"
                          "\"shots\":[{\"id\":\"%s\",\"excluded\":true,\"exclude_reason\":\"mishit\","
                          "\"tags\":[\"toe\",\"low\",\"toe\"]},{\"id\":\"%s\",\"config_id\":\"" CONFIG2 "\"}]}",
                          s1, s2);
  p1 = cloud_request (cloud, "PATCH", "/api/v1/fittings/" FITTING, user, "e1", edit);
  g_assert_cmpuint (p1->status, ==, 200);
  g_assert_cmpstr (resp_str (p1, "fitting.notes"), ==, "Prefers a draw");
  g_assert_null (resp_str (p1, "fitting.fitter"));
  g_assert_cmpint (resp_int (p1, "excluded_shot_count"), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (json_at (p1->json, "configs"))), ==, 2);
  /* Absolute values: the same edit under a new key changes nothing. */
  p2 = cloud_request (cloud, "PATCH", "/api/v1/fittings/" FITTING, user, "e2", edit);
  g_assert_cmpuint (p2->status, ==, 200);
  g_assert_true (g_bytes_equal (p1->body, p2->body));
  /* Setting excluded false keeps the reason unless it is set too. */
  g_free (edit);
  edit = g_strdup_printf ("{\"shots\":[{\"id\":\"%s\",\"excluded\":false}]}", s1);
  p3 = cloud_request (cloud, "PATCH", "/api/v1/fittings/" FITTING, user, "e3", edit);
  g_assert_cmpint (resp_int (p3, "excluded_shot_count"), ==, 0);

  unknown = cloud_request (cloud, "PATCH", "/api/v1/fittings/" FITTING, user, "e4",
                           "{\"shots\":[{\"id\":\"77777777-7777-4777-8777-777777777777\",\"excluded\":true}]}");
  assert_error (unknown, 422, "unknown_shot");

  c1 = cloud_request (cloud, "PATCH", "/api/v1/fittings/" FITTING "/complete", user, "c1",
                      "{\"completed_at\":\"2026-11-21T11:00:00.000000Z\"}");
  g_assert_cmpuint (c1->status, ==, 200);
  g_assert_cmpstr (resp_str (c1, "fitting.status"), ==, "completed");
  c2 = cloud_request (cloud, "PATCH", "/api/v1/fittings/" FITTING "/complete", user, "c2",
                      "{\"completed_at\":\"2026-11-21T12:00:00.000000Z\"}");
  g_assert_cmpuint (c2->status, ==, 200);
  g_assert_cmpstr (resp_str (c2, "fitting.completed_at"), ==, "2026-11-21T11:00:00.000000Z");
  badc = cloud_request (cloud, "PATCH", "/api/v1/fittings/" FITTING "/complete", user, "c3", "{\"completed_at\":3}");
  assert_error (badc, 422, "invalid_fitting");

  /* The dump shows the edits applied to the shots. */
  out = devcloud_run ("dump", "--db", cloud->db, NULL);
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  dumped = json_node_get_array (json_at (json_array_get_element (json_node_get_array (
    json_at (json_parser_get_root (parser), "fittings")), 0), "shots"));
  g_assert_cmpuint (json_array_get_length (dumped), ==, 3);
  {
    JsonObject *first = json_array_get_object_element (dumped, 0);
    JsonObject *second = json_array_get_object_element (dumped, 1);
    JsonArray *tags = json_object_get_array_member (first, "tags");

    g_assert_false (json_object_get_boolean_member (first, "excluded"));
    g_assert_cmpstr (json_object_get_string_member (first, "exclude_reason"), ==, "mishit");
    g_assert_cmpuint (json_array_get_length (tags), ==, 2);
    g_assert_cmpstr (json_array_get_string_element (tags, 0), ==, "low");
    g_assert_cmpstr (json_array_get_string_element (tags, 1), ==, "toe");
    g_assert_cmpstr (json_object_get_string_member (second, "config_id"), ==, CONFIG2);
    g_assert_cmpfloat (json_object_get_double_member (first, "ball_speed_mps"), ==, 60);
    g_assert_cmpfloat (json_object_get_double_member (first, "carry_m"), ==, 230.5);
    g_assert_true (json_object_get_null_member (first, "club_speed_mps"));
  }
  cloud_stop (cloud);
}

/* ---- tus ----------------------------------------------------------------- */

static GBytes *
make_video (gsize size)
{
  guint8 *data = g_malloc (size);
  GRand *rand = g_rand_new_with_seed (7);

  for (gsize i = 0; i < size; i++)
    data[i] = g_rand_int (rand) & 0xff;
  g_rand_free (rand);
  return g_bytes_new_take (data, size);
}

static char *
b64 (const char *text)
{
  return g_base64_encode ((const guchar *) text, strlen (text));
}

/* Creates an upload for @video; returns its Location. */
static char *
tus_create (Cloud      *cloud,
            const char *token,
            GBytes     *video)
{
  g_autofree char *auth = g_strdup_printf ("Bearer %s", token);
  g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, video);
  g_autofree char *f = b64 ("recap.mp4"), *fi = b64 (FITTING), *v = b64 (VIDEO), *s = b64 (sha), *t = b64 ("video/mp4");
  g_autofree char *meta = g_strdup_printf ("filename %s,fitting_id %s,video_id %s,sha256 %s,content_type %s",
                                           f, fi, v, s, t);
  g_autofree char *length = g_strdup_printf ("%" G_GSIZE_FORMAT, g_bytes_get_size (video));
  g_autoptr(Resp) r = cloud_request_raw (cloud, "POST", "/files/", NULL, NULL, "Authorization", auth,
                                         "Tus-Resumable", "1.0.0", "Upload-Length", length,
                                         "Upload-Metadata", meta, NULL);

  g_assert_cmpuint (r->status, ==, 201);
  g_assert_cmpstr (soup_message_headers_get_one (r->headers, "Tus-Resumable"), ==, "1.0.0");
  g_assert_nonnull (soup_message_headers_get_one (r->headers, "Upload-Expires"));
  g_assert_true (g_str_has_prefix (soup_message_headers_get_one (r->headers, "Location"), cloud->url));
  return g_strdup (soup_message_headers_get_one (r->headers, "Location"));
}

static Resp *
tus_patch (Cloud      *cloud,
           const char *token,
           const char *location,
           GBytes     *video,
           gsize       offset,
           gsize       len,
           const char *checksum)   /* "auto", NULL or a header value */
{
  g_autofree char *auth = g_strdup_printf ("Bearer %s", token);
  g_autofree char *off = g_strdup_printf ("%" G_GSIZE_FORMAT, offset);
  g_autoptr(GBytes) chunk = g_bytes_new_from_bytes (video, offset, len);
  g_autofree char *header = NULL;

  if (g_strcmp0 (checksum, "auto") == 0)
    {
      g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA1);
      guint8 digest[20];
      gsize dlen = sizeof digest;
      g_autofree char *d64 = NULL;

      g_checksum_update (sum, g_bytes_get_data (chunk, NULL), len);
      g_checksum_get_digest (sum, digest, &dlen);
      d64 = g_base64_encode (digest, dlen);
      header = g_strdup_printf ("sha1 %s", d64);
    }
  else
    header = g_strdup (checksum);
  return cloud_request_raw (cloud, "PATCH", location, chunk, "application/offset+octet-stream",
                            "Authorization", auth, "Tus-Resumable", "1.0.0", "Upload-Offset", off,
                            header ? "Upload-Checksum" : NULL, header, NULL);
}

static guint64
tus_offset (Cloud      *cloud,
            const char *token,
            const char *location,
            guint      *status)
{
  g_autofree char *auth = g_strdup_printf ("Bearer %s", token);
  g_autoptr(Resp) r = cloud_request_raw (cloud, "HEAD", location, NULL, NULL, "Authorization", auth,
                                         "Tus-Resumable", "1.0.0", NULL);
  const char *off = soup_message_headers_get_one (r->headers, "Upload-Offset");

  *status = r->status;
  if (r->status == 200)
    {
      g_assert_cmpstr (soup_message_headers_get_one (r->headers, "Cache-Control"), ==, "no-store");
      g_assert_nonnull (soup_message_headers_get_one (r->headers, "Upload-Length"));
    }
  return off ? g_ascii_strtoull (off, NULL, 10) : G_MAXUINT64;
}

static Resp *
attach (Cloud      *cloud,
        const char *token,
        const char *location,
        const char *sha,
        gsize       size,
        const char *key)
{
  g_autofree char *body = g_strdup_printf ("{\"id\":\"" VIDEO "\",\"upload_url\":\"%s\",\"sha256\":\"%s\","
                                           "\"size\":%" G_GSIZE_FORMAT ",\"kind\":\"recap\","
                                           "\"content_type\":\"video/mp4\"}", location, sha, size);

  return cloud_request (cloud, "POST", "/api/v1/fittings/" FITTING "/videos", token, key, body);
}

static void
test_tus_flow (void)
{
  Cloud *cloud = cloud_start (NULL);
  g_autofree char *user = cloud_login (cloud, NULL);
  g_autoptr(GBytes) video = make_video (3 * 1024 * 1024 + 17);
  gsize size = g_bytes_get_size (video), third = size / 3;
  g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, video);
  g_autofree char *auth = g_strdup_printf ("Bearer %s", user);
  g_autofree char *location = NULL, *content_path = NULL, *upload_id = NULL;
  g_autoptr(Resp) options = NULL, nover = NULL, wrong = NULL, bad_sum = NULL, p1 = NULL, p2 = NULL, p3 = NULL;
  g_autoptr(Resp) early = NULL, mismatch = NULL, a1 = NULL, a2 = NULL, content = NULL, del = NULL;
  g_autofree char *third_text = g_strdup_printf ("%" G_GSIZE_FORMAT, third);
  guint status;

  create_fitting (cloud, user);
  options = cloud_request_raw (cloud, "OPTIONS", "/files/", NULL, NULL, "Accept", "*/*", NULL);
  g_assert_cmpuint (options->status, ==, 204);
  g_assert_cmpstr (soup_message_headers_get_one (options->headers, "Tus-Version"), ==, "1.0.0");
  g_assert_cmpstr (soup_message_headers_get_one (options->headers, "Tus-Extension"), ==,
                   "creation,expiration,checksum,termination");
  g_assert_cmpstr (soup_message_headers_get_one (options->headers, "Tus-Checksum-Algorithm"), ==, "sha1,sha256");
  g_assert_nonnull (soup_message_headers_get_one (options->headers, "Tus-Max-Size"));

  nover = cloud_request_raw (cloud, "POST", "/files/", NULL, NULL, "Authorization", auth, "Upload-Length", "10", NULL);
  assert_error (nover, 412, "unsupported_tus_version");
  g_assert_cmpstr (soup_message_headers_get_one (nover->headers, "Tus-Version"), ==, "1.0.0");

  location = tus_create (cloud, user, video);
  g_assert_cmpuint (tus_offset (cloud, user, location, &status), ==, 0);
  g_assert_cmpuint (status, ==, 200);

  wrong = tus_patch (cloud, user, location, video, 100, third, NULL);
  assert_error (wrong, 409, "offset_mismatch");
  bad_sum = tus_patch (cloud, user, location, video, 0, third, "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  assert_error (bad_sum, 460, "checksum_mismatch");
  g_assert_cmpuint (tus_offset (cloud, user, location, &status), ==, 0);

  p1 = tus_patch (cloud, user, location, video, 0, third, "auto");
  g_assert_cmpuint (p1->status, ==, 204);
  g_assert_cmpstr (soup_message_headers_get_one (p1->headers, "Upload-Offset"), ==, third_text);
  early = attach (cloud, user, location, sha, size, "a0");
  assert_error (early, 422, "upload_incomplete");
  p2 = tus_patch (cloud, user, location, video, third, size - third, NULL);
  g_assert_cmpuint (p2->status, ==, 204);
  g_assert_cmpuint (tus_offset (cloud, user, location, &status), ==, size);
  /* Nothing can go past Upload-Length. */
  {
    g_autoptr(GBytes) extra = g_bytes_new_static ("x", 1);
    g_autofree char *off = g_strdup_printf ("%" G_GSIZE_FORMAT, size);

    p3 = cloud_request_raw (cloud, "PATCH", location, extra, "application/offset+octet-stream",
                            "Authorization", auth, "Tus-Resumable", "1.0.0", "Upload-Offset", off, NULL);
    assert_error (p3, 400, "upload_too_large");
  }

  mismatch = attach (cloud, user, location, "0000000000000000000000000000000000000000000000000000000000000000",
                     size, "a1");
  assert_error (mismatch, 422, "video_mismatch");
  a1 = attach (cloud, user, location, sha, size, "a2");
  g_assert_cmpuint (a1->status, ==, 201);
  g_assert_cmpstr (resp_str (a1, "sha256"), ==, sha);
  a2 = attach (cloud, user, location, sha, size, "a3");
  g_assert_cmpuint (a2->status, ==, 200);

  content = cloud_request (cloud, "GET", "/api/v1/videos/" VIDEO "/content", user, NULL, NULL);
  g_assert_cmpuint (content->status, ==, 200);
  g_assert_true (g_bytes_equal (content->body, video));

  upload_id = g_path_get_basename (location);
  del = cloud_request_raw (cloud, "DELETE", location, NULL, NULL, "Authorization", auth, "Tus-Resumable", "1.0.0", NULL);
  assert_error (del, 409, "upload_attached");
  cloud_stop (cloud);
}

static void
test_tus_terminate (void)
{
  Cloud *cloud = cloud_start (NULL);
  g_autofree char *user = cloud_login (cloud, NULL);
  g_autofree char *auth = g_strdup_printf ("Bearer %s", user);
  g_autoptr(GBytes) video = make_video (100000);
  g_autofree char *location = NULL;
  g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, video);
  g_autofree char *f = b64 ("r.mp4"), *fi = b64 (FITTING), *v = b64 (VIDEO), *s = b64 (sha), *t = b64 ("video/mp4");
  g_autofree char *meta = g_strdup_printf ("filename %s,fitting_id %s,video_id %s,sha256 %s,content_type %s",
                                           f, fi, v, s, t);
  g_autoptr(Resp) del = NULL, again = NULL, first = NULL, second = NULL;
  guint status;

  create_fitting (cloud, user);
  location = tus_create (cloud, user, video);
  /* Creation under an Idempotency-Key: a retry gets the same upload. */
  first = cloud_request_raw (cloud, "POST", "/files/", NULL, NULL, "Authorization", auth, "Tus-Resumable", "1.0.0",
                             "Upload-Length", "100000", "Idempotency-Key", "create-upload", "Upload-Metadata", meta, NULL);
  second = cloud_request_raw (cloud, "POST", "/files/", NULL, NULL, "Authorization", auth, "Tus-Resumable", "1.0.0",
                              "Upload-Length", "100000", "Idempotency-Key", "create-upload", "Upload-Metadata", meta, NULL);
  g_assert_cmpuint (first->status, ==, 201);
  g_assert_cmpuint (second->status, ==, 201);
  g_assert_cmpstr (soup_message_headers_get_one (first->headers, "Location"), ==,
                   soup_message_headers_get_one (second->headers, "Location"));
  g_assert_cmpstr (soup_message_headers_get_one (first->headers, "Location"), !=, location);

  del = cloud_request_raw (cloud, "DELETE", location, NULL, NULL, "Authorization", auth, "Tus-Resumable", "1.0.0", NULL);
  g_assert_cmpuint (del->status, ==, 204);
  tus_offset (cloud, user, location, &status);
  g_assert_cmpuint (status, ==, 404);
  again = tus_patch (cloud, user, location, video, 0, 1000, NULL);
  assert_error (again, 404, "not_found");
  cloud_stop (cloud);
}

/* The request line and headers of a PATCH of @len bytes at @offset. */
static char *
patch_head (Cloud      *cloud,
            const char *token,
            const char *location,
            gsize       offset,
            gsize       len,
            const char *checksum)
{
  const char *path = strstr (location + strlen ("http://"), "/");

  return g_strdup_printf ("PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                          "Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
                          "Upload-Offset: %" G_GSIZE_FORMAT "\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n%s%s%s\r\n",
                          path, token, offset, len, checksum ? "Upload-Checksum: " : "", checksum ? checksum : "",
                          checksum ? "\r\n" : "");
}

/* Waits (bounded) until HEAD shows @want. */
static guint64
wait_offset (Cloud      *cloud,
             const char *token,
             const char *location,
             guint64     want)
{
  guint64 got = 0;
  guint status;

  for (guint i = 0; i < 100; i++)
    {
      got = tus_offset (cloud, token, location, &status);
      if (got == want)
        break;
      g_usleep (20 * 1000);
    }
  return got;
}

static void
test_tus_resume_after_cut (void)
{
  Cloud *cloud = cloud_start (NULL);
  g_autofree char *user = cloud_login (cloud, NULL);
  g_autoptr(GBytes) video = make_video (2 * 1024 * 1024);
  gsize size = g_bytes_get_size (video), cut = 700001;
  g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, video);
  g_autofree char *location = NULL, *head = NULL, *head2 = NULL;
  g_autoptr(GString) request = NULL;
  g_autoptr(GBytes) nothing = NULL, nothing2 = NULL;
  g_autoptr(Resp) rest = NULL, a = NULL;

  create_fitting (cloud, user);
  location = tus_create (cloud, user, video);

  /* The client dies after 700001 of 1 MiB: the server keeps what came. */
  head = patch_head (cloud, user, location, 0, 1024 * 1024, NULL);
  request = g_string_new (head);
  g_string_append_len (request, g_bytes_get_data (video, NULL), 1024 * 1024);
  nothing = raw_exchange (cloud, request->str, request->len, strlen (head) + cut, 5000);
  g_assert_cmpuint (wait_offset (cloud, user, location, cut), ==, cut);

  /* With a checksum, a cut chunk is not kept. */
  head2 = patch_head (cloud, user, location, cut, 100000, "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  g_string_assign (request, head2);
  g_string_append_len (request, (const char *) g_bytes_get_data (video, NULL) + cut, 100000);
  nothing2 = raw_exchange (cloud, request->str, request->len, strlen (head2) + 50000, 5000);
  g_usleep (200 * 1000);
  g_assert_cmpuint (wait_offset (cloud, user, location, cut), ==, cut);

  rest = tus_patch (cloud, user, location, video, cut, size - cut, "auto");
  g_assert_cmpuint (rest->status, ==, 204);
  /* The file assembled from the cut PATCH and the rest is the video. */
  a = attach (cloud, user, location, sha, size, "attach");
  g_assert_cmpuint (a->status, ==, 201);
  cloud_stop (cloud);
}

static void
test_tus_expiry (void)
{
  const char *args[] = { "--upload-ttl", "1", NULL };
  Cloud *cloud = cloud_start (args);
  g_autofree char *user = cloud_login (cloud, NULL);
  g_autoptr(GBytes) video = make_video (50000);
  g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, video);
  g_autofree char *location = NULL;
  g_autoptr(Resp) p = NULL, late = NULL, a = NULL;
  guint status;

  create_fitting (cloud, user);
  location = tus_create (cloud, user, video);
  p = tus_patch (cloud, user, location, video, 0, 10000, NULL);
  g_assert_cmpuint (p->status, ==, 204);
  g_usleep (1300 * 1000);
  tus_offset (cloud, user, location, &status);
  g_assert_cmpuint (status, ==, 410);
  late = tus_patch (cloud, user, location, video, 10000, 40000, NULL);
  assert_error (late, 410, "upload_expired");
  a = attach (cloud, user, location, sha, g_bytes_get_size (video), "a");
  assert_error (a, 410, "upload_expired");
  cloud_stop (cloud);
}

/* ---- branding -------------------------------------------------------------- */

/* The smallest valid PNG: one transparent pixel. */
static const guint8 tiny_png[] = {
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
  0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
  0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
  0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
  0x42, 0x60, 0x82,
};

static void
test_branding (void)
{
  Cloud *cloud = cloud_start (NULL);
  g_autofree char *shop = NULL;
  g_autofree char *user = cloud_login (cloud, &shop);
  g_autofree char *logo = g_build_filename (cloud->dir, "logo.png", NULL);
  g_autofree char *path = g_strdup_printf ("/api/v1/shops/%s/branding", shop);
  g_autofree char *sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, tiny_png, sizeof tiny_png);
  g_autofree char *auth = g_strdup_printf ("Bearer %s", user);
  g_autofree char *out = NULL, *etag = NULL;
  g_autoptr(Resp) bare = NULL, full = NULL, cached = NULL, image = NULL, other = NULL;

  bare = cloud_request (cloud, "GET", path, user, NULL, NULL);
  g_assert_cmpuint (bare->status, ==, 200);
  g_assert_cmpstr (resp_str (bare, "name"), ==, "Golf Lab");
  g_assert_true (JSON_NODE_HOLDS_NULL (json_at (bare->json, "logo")));

  g_assert_true (g_file_set_contents (logo, (const char *) tiny_png, sizeof tiny_png, NULL));
  out = devcloud_run ("set-branding", "--db", cloud->db, "--shop", "Golf Lab", "--primary", "#0A3D62",
                      "--accent", "#f6b93b", "--phone", "+44 20 7946 0000", "--website", "https://golflab.test",
                      "--logo", logo, NULL);
  full = cloud_request (cloud, "GET", path, user, NULL, NULL);
  g_assert_cmpuint (full->status, ==, 200);
  g_assert_cmpstr (resp_str (full, "colors.primary"), ==, "#0a3d62");
  g_assert_cmpstr (resp_str (full, "colors.accent"), ==, "#f6b93b");
  g_assert_null (resp_str (full, "colors.secondary"));
  g_assert_cmpstr (resp_str (full, "contact.phone"), ==, "+44 20 7946 0000");
  g_assert_cmpstr (resp_str (full, "logo.sha256"), ==, sha);
  g_assert_cmpstr (resp_str (full, "logo.content_type"), ==, "image/png");
  etag = g_strdup (soup_message_headers_get_one (full->headers, "ETag"));
  g_assert_nonnull (etag);
  g_assert_cmpstr (etag, !=, soup_message_headers_get_one (bare->headers, "ETag"));

  cached = cloud_request_raw (cloud, "GET", path, NULL, NULL, "Authorization", auth, "If-None-Match", etag, NULL);
  g_assert_cmpuint (cached->status, ==, 304);
  image = cloud_request (cloud, "GET", resp_str (full, "logo.url"), user, NULL, NULL);
  g_assert_cmpuint (image->status, ==, 200);
  g_assert_cmpmem (g_bytes_get_data (image->body, NULL), g_bytes_get_size (image->body), tiny_png, sizeof tiny_png);

  other = cloud_request (cloud, "GET", "/api/v1/shops/99999999-9999-4999-8999-999999999999/branding", user, NULL, NULL);
  assert_error (other, 404, "not_found");
  cloud_stop (cloud);
}

/* ---- faults ------------------------------------------------------------------ */

static void
set_faults (Cloud      *cloud,
            const char *json)
{
  g_autoptr(Resp) r = cloud_request (cloud, "POST", "/_admin/faults", "admin-secret", NULL, json);

  g_assert_cmpuint (r->status, ==, 200);
}

static gint64
fault_count (Cloud      *cloud,
             const char *name)
{
  g_autoptr(Resp) r = cloud_request (cloud, "GET", "/_admin/faults", "admin-secret", NULL, NULL);
  g_autofree char *path = g_strdup_printf ("counts.%s", name);

  return resp_int (r, path);
}

static gint64
dump_shot_count (Cloud *cloud)
{
  g_autoptr(Resp) r = cloud_request (cloud, "GET", "/_admin/dump", "admin-secret", NULL, NULL);
  JsonArray *fittings = json_node_get_array (json_at (r->json, "fittings"));

  if (json_array_get_length (fittings) == 0)
    return 0;
  return json_array_get_length (json_node_get_array (json_at (json_array_get_element (fittings, 0), "shots")));
}

static char *
raw_post (const char *token,
          const char *path,
          const char *key,
          const char *body)
{
  return g_strdup_printf ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                          "Idempotency-Key: %s\r\nContent-Type: application/json\r\nConnection: close\r\n"
                          "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n%s", path, token, key, strlen (body), body);
}

static void
test_faults_each (void)
{
  const char *args[] = { "--admin-token", "admin-secret", "--retry-after", "7", NULL };
  Cloud *cloud = cloud_start (args);
  g_autofree char *user = cloud_login (cloud, NULL);
  g_autofree char *batch1 = shots_json (1, 2, 60), *batch2 = shots_json (10, 2, 60), *batch3 = shots_json (20, 2, 60);
  g_autofree char *req1 = NULL, *req2 = NULL, *req3 = NULL;
  g_autoptr(GBytes) dropped = NULL, cut = NULL, lost = NULL;
  g_autoptr(Resp) e500 = NULL, e503 = NULL, e429 = NULL, slow = NULL, admin = NULL, sum = NULL, replay = NULL;
  g_autoptr(GBytes) video = make_video (20000);
  g_autofree char *location = NULL;
  gint64 start;

  create_fitting (cloud, user);

  set_faults (cloud, "{\"fail_500\":1}");
  e500 = cloud_request (cloud, "GET", "/api/v1/me", user, NULL, NULL);
  assert_error (e500, 500, "internal");
  /* /_admin is never faulted, or the test could not switch faults off. */
  admin = cloud_request (cloud, "GET", "/_admin/faults", "admin-secret", NULL, NULL);
  g_assert_cmpuint (admin->status, ==, 200);

  set_faults (cloud, "{\"fail_500\":0,\"fail_503\":1}");
  e503 = cloud_request (cloud, "GET", "/api/v1/me", user, NULL, NULL);
  assert_error (e503, 503, "unavailable");
  g_assert_cmpstr (soup_message_headers_get_one (e503->headers, "Retry-After"), ==, "7");

  set_faults (cloud, "{\"fail_503\":0,\"fail_429\":1,\"retry_after\":3}");
  e429 = cloud_request (cloud, "GET", "/api/v1/me", user, NULL, NULL);
  assert_error (e429, 429, "rate_limited");
  g_assert_cmpstr (soup_message_headers_get_one (e429->headers, "Retry-After"), ==, "3");

  /* Dropped request: the connection closes, nothing is stored. */
  set_faults (cloud, "{\"fail_429\":0,\"drop_request\":1}");
  req1 = raw_post (user, "/api/v1/fittings/" FITTING "/shots", "d1", batch1);
  dropped = raw_exchange (cloud, req1, strlen (req1), G_MAXSIZE, 5000);
  g_assert_cmpuint (g_bytes_get_size (dropped), ==, 0);
  g_assert_cmpint (dump_shot_count (cloud), ==, 0);
  g_assert_cmpint (fault_count (cloud, "drop_request"), ==, 1);

  /* Cut answer: a status line, then less than Content-Length; stored. */
  set_faults (cloud, "{\"drop_request\":0,\"drop_response\":1}");
  req2 = raw_post (user, "/api/v1/fittings/" FITTING "/shots", "d2", batch2);
  cut = raw_exchange (cloud, req2, strlen (req2), G_MAXSIZE, 5000);
  {
    g_autofree char *text = g_strndup (g_bytes_get_data (cut, NULL), g_bytes_get_size (cut));
    const char *body = strstr (text, "\r\n\r\n");
    const char *cl = strstr (text, "Content-Length: ");

    g_assert_true (g_str_has_prefix (text, "HTTP/1.1 200"));
    g_assert_nonnull (body);
    g_assert_nonnull (cl);
    g_assert_cmpuint (strlen (body + 4), <, g_ascii_strtoull (cl + 16, NULL, 10));
  }
  g_assert_cmpint (dump_shot_count (cloud), ==, 2);

  /* Lost answer: nothing comes back, but the change is committed, and a
   * retry with the same key gets the stored answer. */
  set_faults (cloud, "{\"drop_response\":0,\"lose_response\":1}");
  req3 = raw_post (user, "/api/v1/fittings/" FITTING "/shots", "d3", batch3);
  lost = raw_exchange (cloud, req3, strlen (req3), G_MAXSIZE, 5000);
  g_assert_cmpuint (g_bytes_get_size (lost), ==, 0);
  g_assert_cmpint (dump_shot_count (cloud), ==, 4);
  set_faults (cloud, "{\"lose_response\":0}");
  replay = cloud_request (cloud, "POST", "/api/v1/fittings/" FITTING "/shots", user, "d3", batch3);
  g_assert_cmpuint (replay->status, ==, 200);
  g_assert_cmpint (resp_int (replay, "accepted"), ==, 2);
  g_assert_cmpstr (soup_message_headers_get_one (replay->headers, "Idempotent-Replayed"), ==, "true");

  set_faults (cloud, "{\"slow_ms\":400}");
  start = g_get_monotonic_time ();
  slow = cloud_request (cloud, "GET", "/health", NULL, NULL, NULL);
  g_assert_cmpuint (slow->status, ==, 200);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 400 * 1000);

  /* A correct checksum, answered 460 and discarded. */
  set_faults (cloud, "{\"slow_ms\":0,\"checksum_mismatch\":1}");
  location = tus_create (cloud, user, video);
  sum = tus_patch (cloud, user, location, video, 0, 20000, "auto");
  assert_error (sum, 460, "checksum_mismatch");
  {
    guint status;
    g_assert_cmpuint (tus_offset (cloud, user, location, &status), ==, 0);
  }

  g_assert_cmpint (fault_count (cloud, "fail_500"), ==, 1);
  g_assert_cmpint (fault_count (cloud, "fail_503"), ==, 1);
  g_assert_cmpint (fault_count (cloud, "fail_429"), ==, 1);
  g_assert_cmpint (fault_count (cloud, "drop_response"), ==, 1);
  g_assert_cmpint (fault_count (cloud, "lose_response"), ==, 1);
  g_assert_cmpint (fault_count (cloud, "slow"), >=, 1);
  g_assert_cmpint (fault_count (cloud, "checksum_mismatch"), ==, 1);
  cloud_stop (cloud);
}

/* What a client sees of one GET /health. */
static char
classify (GBytes *answer)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
  const char *body, *cl;

  if (text == NULL || *text == '\0')
    return '-';                     /* dropped or lost */
  body = strstr (text, "\r\n\r\n");
  cl = strstr (text, "Content-Length: ");
  if (body && cl && strlen (body + 4) < g_ascii_strtoull (cl + 16, NULL, 10))
    return 'c';                     /* cut */
  if (g_str_has_prefix (text, "HTTP/1.1 500"))
    return '5';
  if (g_str_has_prefix (text, "HTTP/1.1 503"))
    return '3';
  if (g_str_has_prefix (text, "HTTP/1.1 429"))
    return '9';
  if (g_str_has_prefix (text, "HTTP/1.1 200"))
    return 'o';
  return '?';
}

static char *
seeded_run (guint n)
{
  const char *args[] = { "--admin-token", "admin-secret", "--seed", "42", "--fail-500", "0.1", "--fail-503", "0.1",
                         "--fail-429", "0.1", "--drop-request", "0.1", "--drop-response", "0.1",
                         "--lose-response", "0.1", NULL };
  Cloud *cloud = cloud_start (args);
  static const char get[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  GString *outcomes = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) answer = raw_exchange (cloud, get, strlen (get), G_MAXSIZE, 5000);
      g_string_append_c (outcomes, classify (answer));
    }
  g_assert_cmpint (fault_count (cloud, "drop_request"), >, 0);
  g_assert_cmpint (fault_count (cloud, "lose_response"), >, 0);
  cloud_stop (cloud);
  return g_string_free (outcomes, FALSE);
}

static void
test_faults_seeded (void)
{
  g_autofree char *first = seeded_run (150);
  g_autofree char *second = seeded_run (150);

  g_test_message ("outcomes: %s", first);
  /* Every kind of answer a faulty cloud gives, and the same sequence for
   * the same seed. */
  for (const char *k = "-c5390"; *k; k++)
    {
      if (*k == '0')
        g_assert_nonnull (strchr (first, 'o'));
      else
        g_assert_nonnull (strchr (first, *k));
    }
  g_assert_null (strchr (first, '?'));
  g_assert_cmpstr (first, ==, second);
}

/* ---- dump ---------------------------------------------------------------------- */

static void
test_dump (void)
{
  const char *args[] = { "--admin-token", "admin-secret", NULL };
  Cloud *cloud = cloud_start (args);
  g_autofree char *user = cloud_login (cloud, NULL);
  g_autofree char *shots = shots_json (1, 5, 60);
  g_autofree char *refresh_token = pair_device (cloud, user, "p", NULL);
  g_autofree char *out = NULL;
  g_autoptr(GBytes) video = make_video (30000);
  g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, video);
  g_autofree char *location = NULL, *pending = NULL;
  g_autoptr(Resp) r = NULL, p = NULL, a = NULL, admin = NULL, unauth = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *fitting;

  create_fitting (cloud, user);
  r = cloud_request (cloud, "POST", "/api/v1/fittings/" FITTING "/shots", user, "s", shots);
  location = tus_create (cloud, user, video);
  p = tus_patch (cloud, user, location, video, 0, 30000, NULL);
  a = attach (cloud, user, location, sha, 30000, "a");
  g_assert_cmpuint (a->status, ==, 201);
  pending = tus_create (cloud, user, video);

  out = devcloud_run ("dump", "--db", cloud->db, NULL);
  g_assert_null (strstr (out, "pw_"));
  g_assert_null (strstr (out, "refresh_hash"));
  g_assert_null (strstr (out, refresh_token));
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  root = json_parser_get_root (parser);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (json_at (root, "users"))), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (json_at (root, "shops"))), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (json_at (root, "devices"))), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (json_at (root, "customers"))), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (json_at (root, "uploads"))), ==, 2);
  fitting = json_array_get_object_element (json_node_get_array (json_at (root, "fittings")), 0);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (fitting, "fitting"), "id"), ==, FITTING);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (fitting, "configs")), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (fitting, "shots")), ==, 5);
  {
    JsonObject *v = json_array_get_object_element (json_object_get_array_member (fitting, "videos"), 0);

    g_assert_cmpstr (json_object_get_string_member (v, "stored_sha256"), ==, sha);
    g_assert_cmpint (json_object_get_int_member (v, "stored_size"), ==, 30000);
  }

  /* The admin endpoint gives the same document. */
  admin = cloud_request (cloud, "GET", "/_admin/dump", "admin-secret", NULL, NULL);
  g_assert_cmpuint (admin->status, ==, 200);
  {
    g_autofree char *text = g_strndup (g_bytes_get_data (admin->body, NULL), g_bytes_get_size (admin->body));

    gsize i = 0;

    g_strstrip (out);
    g_strstrip (text);
    while (out[i] && out[i] == text[i])
      i++;
    if (out[i] != text[i])
      g_error ("the dumps differ at byte %" G_GSIZE_FORMAT ": [%.200s] and [%.200s]", i,
               out + (i > 100 ? i - 100 : 0), text + (i > 100 ? i - 100 : 0));
  }
  unauth = cloud_request (cloud, "GET", "/_admin/dump", user, NULL, NULL);
  assert_error (unauth, 401, "invalid_token");
  cloud_stop (cloud);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/devcloud/health", test_health);
  g_test_add_func ("/devcloud/auth/login", test_login);
  g_test_add_func ("/devcloud/auth/refresh-and-expiry", test_refresh_and_expiry);
  g_test_add_func ("/devcloud/auth/pairing", test_pairing);
  g_test_add_func ("/devcloud/auth/revoke", test_revoke);
  g_test_add_func ("/devcloud/fittings/idempotent", test_fittings_idempotent);
  g_test_add_func ("/devcloud/idempotency-keys", test_idempotency_keys);
  g_test_add_func ("/devcloud/shots/batches", test_shot_batches);
  g_test_add_func ("/devcloud/fittings/patch-and-complete", test_patch_and_complete);
  g_test_add_func ("/devcloud/tus/flow", test_tus_flow);
  g_test_add_func ("/devcloud/tus/terminate", test_tus_terminate);
  g_test_add_func ("/devcloud/tus/resume-after-cut", test_tus_resume_after_cut);
  g_test_add_func ("/devcloud/tus/expiry", test_tus_expiry);
  g_test_add_func ("/devcloud/branding", test_branding);
  g_test_add_func ("/devcloud/faults/each", test_faults_each);
  g_test_add_func ("/devcloud/faults/seeded", test_faults_seeded);
  g_test_add_func ("/devcloud/dump", test_dump);
  return g_test_run ();
}
