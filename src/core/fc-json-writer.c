/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-json-writer"

#include "fc-json-writer.h"

#include <math.h>
#include <stdio.h>

struct _FcJsonWriter {
  GString  *out;
  gboolean  pretty;
  guint     depth;
  /* one flag per nesting level: has the current container an element? */
  GArray   *has_element;
  gboolean  after_key;
};

FcJsonWriter *
fc_json_writer_new (gboolean pretty)
{
  FcJsonWriter *writer = g_new0 (FcJsonWriter, 1);
  gboolean f = FALSE;

  writer->out = g_string_sized_new (1024);
  writer->pretty = pretty;
  writer->has_element = g_array_new (FALSE, FALSE, sizeof (gboolean));
  g_array_append_val (writer->has_element, f);
  return writer;
}

void
fc_json_writer_free (FcJsonWriter *writer)
{
  if (writer == NULL)
    return;
  g_string_free (writer->out, TRUE);
  g_array_unref (writer->has_element);
  g_free (writer);
}

char *
fc_json_writer_steal (FcJsonWriter *writer,
                      gsize        *length)
{
  char *text;

  if (writer->pretty)
    g_string_append_c (writer->out, '\n');
  if (length)
    *length = writer->out->len;
  text = g_string_free (g_steal_pointer (&writer->out), FALSE);
  g_array_unref (writer->has_element);
  g_free (writer);
  return text;
}

static void
newline (FcJsonWriter *writer)
{
  if (!writer->pretty)
    return;
  g_string_append_c (writer->out, '\n');
  for (guint i = 0; i < writer->depth; i++)
    g_string_append (writer->out, "  ");
}

/* Separator and indentation before a value or a key. */
static void
before_item (FcJsonWriter *writer)
{
  gboolean *has;

  if (writer->after_key)
    {
      writer->after_key = FALSE;
      return;
    }
  has = &g_array_index (writer->has_element, gboolean, writer->depth);
  if (*has)
    g_string_append_c (writer->out, ',');
  *has = TRUE;
  if (writer->depth > 0)
    newline (writer);
}

static void
open_container (FcJsonWriter *writer,
                char          c)
{
  gboolean f = FALSE;

  before_item (writer);
  g_string_append_c (writer->out, c);
  writer->depth++;
  g_array_append_val (writer->has_element, f);
}

static void
close_container (FcJsonWriter *writer,
                 char          c)
{
  gboolean had;

  g_return_if_fail (writer->depth > 0);
  had = g_array_index (writer->has_element, gboolean, writer->depth);
  g_array_set_size (writer->has_element, writer->depth);
  writer->depth--;
  if (had)
    newline (writer);
  g_string_append_c (writer->out, c);
}

void fc_json_writer_begin_object (FcJsonWriter *writer) { open_container (writer, '{'); }
void fc_json_writer_end_object   (FcJsonWriter *writer) { close_container (writer, '}'); }
void fc_json_writer_begin_array  (FcJsonWriter *writer) { open_container (writer, '['); }
void fc_json_writer_end_array    (FcJsonWriter *writer) { close_container (writer, ']'); }

static void
append_escaped (GString    *out,
                const char *s)
{
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      switch (*p)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, (char) *p);
        }
    }
  g_string_append_c (out, '"');
}

void
fc_json_writer_key (FcJsonWriter *writer,
                    const char   *key)
{
  before_item (writer);
  append_escaped (writer->out, key);
  g_string_append (writer->out, writer->pretty ? ": " : ":");
  writer->after_key = TRUE;
}

void
fc_json_writer_string (FcJsonWriter *writer,
                       const char   *value)
{
  if (value == NULL)
    {
      fc_json_writer_null (writer);
      return;
    }
  before_item (writer);
  /* Invalid UTF-8 would make the document unreadable: replace it. */
  if (!g_utf8_validate (value, -1, NULL))
    {
      g_autofree char *valid = g_utf8_make_valid (value, -1);
      append_escaped (writer->out, valid);
      return;
    }
  append_escaped (writer->out, value);
}

/*
 * The common case without printf: a value that is the nearest double to
 * a decimal of at most 15 significant digits, in the range "%g" writes
 * without an exponent, is printed by "%.15g" as exactly that decimal
 * (15 digits always recover such a decimal), and it reads back. Found by
 * scaling with exact powers of ten; the check is an exact division, as
 * correctly rounded as strtod. A sync batch of 500 shots writes ~6,500
 * numbers; printf and strtod were a quarter of building it.
 */
static gboolean
format_short_decimal (char   *buf,
                      gsize   len,
                      double  value)
{
  static const double scale[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                  1e12, 1e13, 1e14, 1e15 };
  double a = fabs (value);

  if (len < 24 || !(a >= 1e-4 && a < 1e15))
    return FALSE;
  for (guint k = 0; k < G_N_ELEMENTS (scale); k++)
    {
      double scaled = a * scale[k];
      guint64 n, unit = 1, whole, frac;
      char digits[24];
      guint nd = 0, pos = 0;

      if (scaled >= 1e15)
        return FALSE;
      n = (guint64) (scaled + 0.5);
      if ((double) n / scale[k] != a)
        continue;
      /* A trailing zero would mean a shorter k passed: leave it to printf. */
      if (k > 0 && n % 10 == 0)
        return FALSE;
      for (guint i = 0; i < k; i++)
        unit *= 10;
      whole = n / unit;
      frac = n % unit;
      if (value < 0)
        buf[pos++] = '-';
      do
        digits[nd++] = '0' + whole % 10;
      while ((whole /= 10) > 0);
      while (nd > 0)
        buf[pos++] = digits[--nd];
      if (k > 0)
        {
          buf[pos++] = '.';
          for (guint i = 0; i < k; i++)
            {
              unit /= 10;
              buf[pos++] = '0' + (frac / unit) % 10;
            }
        }
      buf[pos] = '\0';
      return TRUE;
    }
  return FALSE;
}

void
fc_format_double_shortest (char   *buf,
                           gsize   len,
                           double  value)
{
  static const char *formats[] = { "%.15g", "%.16g", "%.17g" };

  if (format_short_decimal (buf, len, value))
    return;
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buf, len, formats[i], value);
      if (g_ascii_strtod (buf, NULL) == value)
        break;
    }
}

void
fc_json_writer_double (FcJsonWriter *writer,
                       double        value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    {
      fc_json_writer_null (writer);
      return;
    }
  before_item (writer);
  fc_format_double_shortest (buf, sizeof buf, value == 0.0 ? 0.0 : value);
  g_string_append (writer->out, buf);
}

void
fc_json_writer_int (FcJsonWriter *writer,
                    gint64        value)
{
  before_item (writer);
  g_string_append_printf (writer->out, "%" G_GINT64_FORMAT, value);
}

void
fc_json_writer_boolean (FcJsonWriter *writer,
                        gboolean      value)
{
  before_item (writer);
  g_string_append (writer->out, value ? "true" : "false");
}

void
fc_json_writer_null (FcJsonWriter *writer)
{
  before_item (writer);
  g_string_append (writer->out, "null");
}

char *
fc_format_timestamp (gint64 unix_us)
{
  g_autoptr(GDateTime) dt = NULL;
  gint64 secs = unix_us / G_USEC_PER_SEC;
  gint64 frac = unix_us % G_USEC_PER_SEC;

  if (frac < 0)
    {
      frac += G_USEC_PER_SEC;
      secs--;
    }
  dt = g_date_time_new_from_unix_utc (secs);
  if (dt == NULL)
    return NULL;
  return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02d.%06" G_GINT64_FORMAT "Z",
                          g_date_time_get_year (dt), g_date_time_get_month (dt),
                          g_date_time_get_day_of_month (dt), g_date_time_get_hour (dt),
                          g_date_time_get_minute (dt), g_date_time_get_second (dt), frac);
}

gboolean
fc_parse_timestamp (const char *text,
                    gint64     *unix_us)
{
  g_autoptr(GDateTime) dt = NULL;
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();

  if (text == NULL)
    return FALSE;
  dt = g_date_time_new_from_iso8601 (text, utc);
  if (dt == NULL)
    return FALSE;
  *unix_us = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}
