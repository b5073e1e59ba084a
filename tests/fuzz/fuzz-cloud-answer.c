/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fuzz-cloud-answer"

/*
 * libFuzzer target for what the cloud answers the agent: an HTTP status,
 * a Retry-After header and a JSON body. The input is
 *
 *   two bytes   the status (big-endian, taken modulo 600)
 *   one line    the Retry-After value (up to the first '\n'; none when
 *               the line is empty)
 *   the rest    the body, read by fc_cloud_answer_parse()
 *
 * and goes through what fc-cloud-client.c does with an answer:
 * fc_cloud_answer_parse(), fc_cloud_parse_retry_after(),
 * fc_cloud_classify().
 *
 * Invariants: every text read from the body is NULL or valid UTF-8 (it
 * becomes the fitter's error message, a stored reason, a keyring
 * secret); a token lifetime between 0 and G_MAXINT32 s (the client
 * multiplies it into microseconds); Retry-After -1 or between 0 and the
 * last second of year 9999, and exactly the number for a plain number;
 * the outcome one of the enum and consistent with the status classes;
 * the same input read twice gives the same answer; no criticals.
 */

#include "fc-cloud-answer.h"
#include "fc-cloud-client.h"
#include "fuzz-target.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* 9999-12-31T23:59:59Z, the last date GDateTime knows. */
#define LAST_UNIX G_GINT64_CONSTANT (253402300799)

static void
check_text (const char *what,
            const char *text)
{
  if (text != NULL && !g_utf8_validate (text, -1, NULL))
    g_error ("%s is not UTF-8", what);
}

static void
check_answer (GBytes *body)
{
  g_autoptr(FcCloudAnswer) answer = fc_cloud_answer_parse (body);
  g_autoptr(FcCloudAnswer) again = fc_cloud_answer_parse (body);

  if (answer == NULL)
    g_error ("no answer");
  check_text ("error.code", answer->error_code);
  check_text ("error.message", answer->error_message);
  check_text ("error.shot_id", answer->error_shot_id);
  check_text ("error.field", answer->error_field);
  check_text ("access_token", answer->access_token);
  check_text ("refresh_token", answer->refresh_token);
  check_text ("device_id", answer->device_id);
  check_text ("shop_id", answer->shop_id);
  if (answer->expires_in < 0 || answer->expires_in > G_MAXINT32)
    g_error ("token lifetime %" G_GINT64_FORMAT " s", answer->expires_in);
  if (g_strcmp0 (answer->error_code, again->error_code) != 0 ||
      g_strcmp0 (answer->error_message, again->error_message) != 0 ||
      g_strcmp0 (answer->error_shot_id, again->error_shot_id) != 0 ||
      g_strcmp0 (answer->error_field, again->error_field) != 0 ||
      g_strcmp0 (answer->access_token, again->access_token) != 0 ||
      g_strcmp0 (answer->refresh_token, again->refresh_token) != 0 ||
      g_strcmp0 (answer->device_id, again->device_id) != 0 ||
      g_strcmp0 (answer->shop_id, again->shop_id) != 0 ||
      answer->expires_in != again->expires_in)
    g_error ("the same body read twice differs");
}

static void
check_classify (guint       status,
                const char *error_code)
{
  FcCloudOutcome outcome = fc_cloud_classify (status, error_code);

  if (outcome > FC_CLOUD_REJECTED || strcmp (fc_cloud_outcome_to_string (outcome), "unknown") == 0)
    g_error ("outcome %d for %u", outcome, status);
  if (outcome != fc_cloud_classify (status, error_code))
    g_error ("classify is not a function");
  if ((status >= 200 && status < 300) != (outcome == FC_CLOUD_SUCCESS))
    g_error ("HTTP %u classified %s", status, fc_cloud_outcome_to_string (outcome));
  if ((status == 0 || status >= 500) && outcome != FC_CLOUD_RETRY)
    g_error ("HTTP %u classified %s", status, fc_cloud_outcome_to_string (outcome));
  if ((outcome == FC_CLOUD_UNAUTHORIZED || outcome == FC_CLOUD_NEEDS_PAIRING) && status != 401)
    g_error ("HTTP %u classified %s", status, fc_cloud_outcome_to_string (outcome));
  if (status >= 400 && status < 500 && status != 401 && status != 404 && status != 408 &&
      status != 422 && status != 423 && status != 429 && outcome != FC_CLOUD_REJECTED)
    g_error ("HTTP %u classified %s", status, fc_cloud_outcome_to_string (outcome));
}

static void
check_retry_after (const char *value,
                   gint64      now)
{
  gint64 seconds = fc_cloud_parse_retry_after (value, now);
  g_autofree char *text = NULL;
  guint64 number;

  if (value == NULL)
    {
      if (seconds != -1)
        g_error ("Retry-After without a value gave %" G_GINT64_FORMAT, seconds);
      return;
    }
  if (seconds < -1 || seconds > LAST_UNIX)
    g_error ("Retry-After “%s” gave %" G_GINT64_FORMAT " s", value, seconds);
  /* delay-seconds between optional spaces and tabs (RFC 9110 §5.6.3,
   * §10.2.3): exactly that number, up to G_MAXINT32. */
  {
    const char *start = value + strspn (value, " \t");
    gsize digits = strspn (start, "0123456789");

    if (digits > 0 && start[digits + strspn (start + digits, " \t")] == '\0')
      {
        text = g_strndup (start, digits);
        if (g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT32, &number, NULL) &&
            seconds != (gint64) number)
          g_error ("Retry-After “%s” gave %" G_GINT64_FORMAT " s", value, seconds);
      }
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) body = NULL;
  g_autofree char *retry_after = NULL;
  g_autoptr(FcCloudAnswer) answer = NULL;
  const guint8 *line, *newline;
  guint status;
  gint64 now;

  fuzz_target_init ();
  if (size < 2)
    return 0;

  status = ((guint) data[0] << 8 | data[1]) % 600;
  line = data + 2;
  newline = memchr (line, '\n', size - 2);
  if (newline == NULL)
    newline = data + size;
  if (newline > line)
    retry_after = g_strndup ((const char *) line, newline - line);
  body = newline < data + size ? g_bytes_new (newline + 1, data + size - newline - 1)
                               : g_bytes_new (NULL, 0);
  /* A clock between 2001 and 2033, from the status bytes. */
  now = G_GINT64_CONSTANT (1000000000) + ((gint64) status << 20);

  check_answer (body);
  answer = fc_cloud_answer_parse (body);
  check_classify (status, answer->error_code);
  check_classify (status, NULL);
  check_retry_after (retry_after, now);
  return 0;
}
