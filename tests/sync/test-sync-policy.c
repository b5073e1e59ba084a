/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The sync engine's decisions that need no server: what an answer means
 * (the table of docs/cloud-sync.md), Retry-After, the backoff's
 * distribution, and which cloud addresses and CA files are accepted.
 */
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <math.h>
#include <string.h>

#include "fc-cloud-client.h"
#include "fc-error.h"
#include "fc-sync-backoff.h"

typedef struct {
  guint           status;
  const char     *code;
  FcCloudOutcome  expected;
} ClassifyCase;

static void
test_classify (void)
{
  static const ClassifyCase cases[] = {
    /* No answer: connection refused, reset, cut, timeout, TLS. */
    { 0, NULL, FC_CLOUD_RETRY },
    { 200, NULL, FC_CLOUD_SUCCESS },
    { 201, NULL, FC_CLOUD_SUCCESS },
    { 204, NULL, FC_CLOUD_SUCCESS },
    /* Bugs on our side: park. */
    { 400, "bad_request", FC_CLOUD_REJECTED },
    { 400, "idempotency_key_missing", FC_CLOUD_REJECTED },
    { 400, "invalid_idempotency_key", FC_CLOUD_REJECTED },
    { 400, NULL, FC_CLOUD_REJECTED },
    /* The access token: refresh once, then retry. */
    { 401, "token_expired", FC_CLOUD_UNAUTHORIZED },
    { 401, "invalid_token", FC_CLOUD_UNAUTHORIZED },
    { 401, "missing_token", FC_CLOUD_UNAUTHORIZED },
    { 401, NULL, FC_CLOUD_UNAUTHORIZED },
    /* The pairing is gone: pair again, keep the outbox. */
    { 401, "pairing_revoked", FC_CLOUD_NEEDS_PAIRING },
    { 401, "refresh_expired", FC_CLOUD_NEEDS_PAIRING },
    { 401, "invalid_refresh_token", FC_CLOUD_NEEDS_PAIRING },
    /* Typed by a person: shown, never retried. */
    { 401, "invalid_credentials", FC_CLOUD_REJECTED },
    { 401, "invalid_pair_code", FC_CLOUD_REJECTED },
    { 403, "user_required", FC_CLOUD_REJECTED },
    { 403, "forbidden", FC_CLOUD_REJECTED },
    /* Ordering: what the request builds on arrives later. */
    { 404, "fitting_not_found", FC_CLOUD_RETRY },
    { 422, "unknown_config", FC_CLOUD_RETRY },
    { 422, "unknown_shot", FC_CLOUD_RETRY },
    { 422, "upload_incomplete", FC_CLOUD_RETRY },
    { 404, "not_found", FC_CLOUD_REJECTED },
    { 404, NULL, FC_CLOUD_REJECTED },
    { 408, NULL, FC_CLOUD_RETRY },
    /* The same UUID with other content: a person must look. */
    { 409, "fitting_conflict", FC_CLOUD_REJECTED },
    { 409, "shot_conflict", FC_CLOUD_REJECTED },
    { 409, "video_conflict", FC_CLOUD_REJECTED },
    { 410, "upload_expired", FC_CLOUD_REJECTED },
    { 413, "too_many_shots", FC_CLOUD_REJECTED },
    { 413, "body_too_large", FC_CLOUD_REJECTED },
    { 415, "unsupported_media_type", FC_CLOUD_REJECTED },
    { 422, "idempotency_key_reused", FC_CLOUD_REJECTED },
    { 422, "invalid_shot", FC_CLOUD_REJECTED },
    { 422, "invalid_fitting", FC_CLOUD_REJECTED },
    { 422, "video_mismatch", FC_CLOUD_REJECTED },
    { 423, "upload_locked", FC_CLOUD_RETRY },
    { 429, "rate_limited", FC_CLOUD_RETRY },
    { 429, NULL, FC_CLOUD_RETRY },
    { 500, "internal", FC_CLOUD_RETRY },
    { 502, NULL, FC_CLOUD_RETRY },
    { 503, "unavailable", FC_CLOUD_RETRY },
    { 504, NULL, FC_CLOUD_RETRY },
    /* Never from the API itself: something on the way; it may pass. */
    { 302, NULL, FC_CLOUD_RETRY },
    { 100, NULL, FC_CLOUD_RETRY },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      FcCloudOutcome got = fc_cloud_classify (cases[i].status, cases[i].code);

      if (got != cases[i].expected)
        g_error ("HTTP %u %s: expected %s, got %s", cases[i].status, cases[i].code ? cases[i].code : "(no code)",
                 fc_cloud_outcome_to_string (cases[i].expected), fc_cloud_outcome_to_string (got));
    }
}

static char *
http_date (gint64 unix_s)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (unix_s);

  return soup_date_time_to_string (dt, SOUP_DATE_HTTP);
}

static void
test_retry_after (void)
{
  const gint64 now = 1800000000;   /* 2027-01-15T08:00:00Z */
  g_autofree char *in_30 = http_date (now + 30);
  g_autofree char *in_3600 = http_date (now + 3600);
  g_autofree char *past = http_date (now - 600);

  g_assert_cmpint (fc_cloud_parse_retry_after (NULL, now), ==, -1);
  g_assert_cmpint (fc_cloud_parse_retry_after ("", now), ==, -1);
  g_assert_cmpint (fc_cloud_parse_retry_after ("   ", now), ==, -1);
  g_assert_cmpint (fc_cloud_parse_retry_after ("0", now), ==, 0);
  g_assert_cmpint (fc_cloud_parse_retry_after ("1", now), ==, 1);
  g_assert_cmpint (fc_cloud_parse_retry_after ("120", now), ==, 120);
  g_assert_cmpint (fc_cloud_parse_retry_after (" 7 ", now), ==, 7);
  g_assert_cmpint (fc_cloud_parse_retry_after ("-5", now), ==, -1);
  g_assert_cmpint (fc_cloud_parse_retry_after ("1.5", now), ==, -1);
  g_assert_cmpint (fc_cloud_parse_retry_after ("12abc", now), ==, -1);
  g_assert_cmpint (fc_cloud_parse_retry_after ("99999999999999", now), ==, -1);
  g_assert_cmpint (fc_cloud_parse_retry_after ("soon", now), ==, -1);
  /* HTTP dates, the other form RFC 9110 allows. */
  g_assert_cmpint (fc_cloud_parse_retry_after (in_30, now), ==, 30);
  g_assert_cmpint (fc_cloud_parse_retry_after (in_3600, now), ==, 3600);
  g_assert_cmpint (fc_cloud_parse_retry_after (past, now), ==, 0);
  g_assert_cmpint (fc_cloud_parse_retry_after ("Fri, 15 Jan 2027 08:00:45 GMT", now), ==, 45);
}

static gint64
ceiling_of (guint  attempt,
            gint64 base,
            gint64 cap)
{
  gint64 c = base;

  for (guint i = 0; i < attempt && c < cap; i++)
    c *= 2;
  return MIN (c, cap);
}

/* Every delay within [0, min(cap, base * 2^attempt)], for every attempt
 * (also absurd ones, which must not overflow). */
static void
test_backoff_bounds (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  const gint64 base = FC_SYNC_BACKOFF_BASE_US, cap = FC_SYNC_BACKOFF_CAP_US;
  const guint attempts[] = { 0, 1, 2, 3, 5, 8, 9, 10, 20, 62, 63, 64, 1000, G_MAXUINT };

  g_assert_cmpint (base, ==, 1000000);
  g_assert_cmpint (cap, ==, 300000000);
  for (guint a = 0; a < G_N_ELEMENTS (attempts); a++)
    {
      gint64 ceiling = ceiling_of (MIN (attempts[a], 64), base, cap);
      gint64 max_seen = 0;

      for (guint i = 0; i < 2000; i++)
        {
          gint64 d = fc_sync_backoff_delay (attempts[a], base, cap, rand);

          g_assert_cmpint (d, >=, 0);
          g_assert_cmpint (d, <=, ceiling);
          max_seen = MAX (max_seen, d);
        }
      /* The top of the range is used (it is not a fixed fraction). */
      g_assert_cmpint (max_seen, >, ceiling * 95 / 100);
    }
  /* 2^9 s is past five minutes: from attempt 9 on, the cap rules. */
  g_assert_cmpint (ceiling_of (8, base, cap), ==, 256 * base);
  g_assert_cmpint (ceiling_of (9, base, cap), ==, cap);
}

/* Full jitter: uniform over the whole range, not "ceiling ± a little". */
static void
test_backoff_full_jitter (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  const guint n = 50000;
  const gint64 base = G_USEC_PER_SEC, cap = FC_SYNC_BACKOFF_CAP_US;
  const guint attempts[] = { 0, 3, 12 };

  for (guint a = 0; a < G_N_ELEMENTS (attempts); a++)
    {
      gint64 ceiling = ceiling_of (attempts[a], base, cap);
      guint buckets[10] = { 0 };
      double sum = 0;
      gint64 min_seen = G_MAXINT64;

      for (guint i = 0; i < n; i++)
        {
          gint64 d = fc_sync_backoff_delay (attempts[a], base, cap, rand);
          guint b = (guint) MIN (9, d * 10 / ceiling);

          buckets[b]++;
          sum += (double) d;
          min_seen = MIN (min_seen, d);
        }
      /* Each tenth of the range gets about a tenth of the delays. */
      for (guint b = 0; b < 10; b++)
        {
          g_assert_cmpuint (buckets[b], >, n * 9 / 100);
          g_assert_cmpuint (buckets[b], <, n * 11 / 100);
        }
      g_assert_cmpfloat (fabs (sum / n - ceiling / 2.0), <, ceiling * 0.01);
      /* Some retries come almost at once. */
      g_assert_cmpint (min_seen, <, ceiling / 1000 + 1);
    }
}

/* The expected delay doubles per attempt until the cap. */
static void
test_backoff_growth (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  const gint64 base = 50 * 1000, cap = 2 * G_USEC_PER_SEC;   /* what a test agent uses */
  double previous = 0;

  for (guint attempt = 0; attempt < 10; attempt++)
    {
      double sum = 0, mean;

      for (guint i = 0; i < 20000; i++)
        sum += (double) fc_sync_backoff_delay (attempt, base, cap, rand);
      mean = sum / 20000;
      if (attempt > 0 && ceiling_of (attempt, base, cap) < cap)
        g_assert_cmpfloat (fabs (mean / previous - 2.0), <, 0.1);
      else if (attempt > 0)
        g_assert_cmpfloat (mean, <=, cap / 2.0 * 1.03);
      previous = mean;
    }
}

static void
expect_bad_options (const char *url,
                    const char *ca_file,
                    const char *message_part)
{
  FcCloudClientOptions options = { .base_url = url, .ca_file = ca_file, .no_proxy = TRUE };
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCloudClient) client = fc_cloud_client_new (&options, &error);

  g_assert_null (client);
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  if (strstr (error->message, message_part) == NULL)
    g_error ("“%s” does not mention “%s”", error->message, message_part);
}

static void
expect_base_url (const char *url,
                 const char *expected)
{
  FcCloudClientOptions options = { .base_url = url, .no_proxy = TRUE };
  g_autoptr(GError) error = NULL;
  g_autoptr(FcCloudClient) client = fc_cloud_client_new (&options, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (fc_cloud_client_get_base_url (client), ==, expected);
}

static void
test_options (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sync-policy-XXXXXX", NULL);
  g_autofree char *garbage = g_build_filename (dir, "garbage.pem", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.pem", NULL);

  g_assert_true (g_file_set_contents (garbage, "not a certificate\n", -1, NULL));

  expect_bad_options (NULL, NULL, "No cloud address");
  expect_bad_options ("", NULL, "No cloud address");
  expect_bad_options ("cloud.example.com", NULL, "is not a cloud address");
  expect_bad_options ("ftp://cloud.example.com", NULL, "is not a cloud address");
  expect_bad_options ("https://cloud.example.com/?x=1", NULL, "is not a cloud address");
  /* Tokens and customers' data never travel in clear over a network. */
  expect_bad_options ("http://cloud.example.com", NULL, "use https://");
  expect_bad_options ("http://192.168.1.10:8080", NULL, "use https://");
  expect_bad_options ("https://cloud.example.com", missing, "missing.pem");
  expect_bad_options ("https://cloud.example.com", garbage, "garbage.pem");

  expect_base_url ("https://cloud.example.com", "https://cloud.example.com");
  expect_base_url ("https://cloud.example.com/", "https://cloud.example.com");
  expect_base_url ("https://cloud.example.com:8443/fitclip//", "https://cloud.example.com:8443/fitclip");
  expect_base_url ("http://127.0.0.1:8080", "http://127.0.0.1:8080");
  expect_base_url ("http://localhost:8080/", "http://localhost:8080");
  expect_base_url ("http://[::1]:8080", "http://[::1]:8080");

  g_unlink (garbage);
  g_rmdir (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sync-policy/classify", test_classify);
  g_test_add_func ("/sync-policy/retry-after", test_retry_after);
  g_test_add_func ("/sync-policy/backoff/bounds", test_backoff_bounds);
  g_test_add_func ("/sync-policy/backoff/full-jitter", test_backoff_full_jitter);
  g_test_add_func ("/sync-policy/backoff/growth", test_backoff_growth);
  g_test_add_func ("/sync-policy/options", test_options);
  return g_test_run ();
}
