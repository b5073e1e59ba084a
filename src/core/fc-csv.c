/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-csv"

#include "fc-csv.h"
#include "fc-error.h"

#include <string.h>

struct _FcCsvReader {
  const char *data;
  gsize       len;
  gsize       pos;
  gsize       content_start;   /* after the byte order mark */
  guint       line;            /* physical line at pos */
  char        sep;

  /* Reused for every record, so that reading allocates nothing once
   * the buffers have grown to the widest row. */
  char       *scratch;
  gsize       scratch_len;
  gsize       scratch_size;
  FcCsvField *fields;
  gsize      *offsets;
  guint       n_fields;
  guint       fields_size;

  guint       error_line;
  guint       error_field;
};

static gboolean
is_line_end (char c)
{
  return c == '\n' || c == '\r';
}

/* Excel in locales with a decimal comma writes ';' and no `sep=` line;
 * some tools write tabs. Count separators on the first line, outside
 * quotes, and only leave ',' when it does not occur at all. */
static char
guess_separator (const char *p,
                 const char *end)
{
  guint commas = 0, semicolons = 0, tabs = 0;
  gboolean quoted = FALSE;

  for (; p < end; p++)
    {
      if (*p == '"')
        quoted = !quoted;
      else if (quoted)
        continue;
      else if (is_line_end (*p))
        break;
      else if (*p == ',')
        commas++;
      else if (*p == ';')
        semicolons++;
      else if (*p == '\t')
        tabs++;
    }

  if (commas > 0 || (semicolons == 0 && tabs == 0))
    return ',';
  return semicolons >= tabs ? ';' : '\t';
}

FcCsvReader *
fc_csv_reader_new (const char *data,
                   gsize       len)
{
  FcCsvReader *self;
  const char *p, *end;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  self = g_new0 (FcCsvReader, 1);
  self->data = data;
  self->len = len;
  self->line = 1;

  if (len >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    self->pos = 3;
  self->content_start = self->pos;

  p = data + self->pos;
  end = data + len;

  /* Excel's separator hint: exactly "sep=X" on the first line. */
  if (end - p >= 5 && g_ascii_strncasecmp (p, "sep=", 4) == 0 &&
      p[4] != '"' && !is_line_end (p[4]) &&
      (end - p == 5 || is_line_end (p[5])))
    {
      self->sep = p[4];
      p += 5;
      if (p < end && *p == '\r')
        p++;
      if (p < end && *p == '\n')
        p++;
      self->pos = p - data;
      self->line = 2;
    }
  else
    self->sep = guess_separator (p, end);

  return self;
}

void
fc_csv_reader_free (FcCsvReader *reader)
{
  if (reader == NULL)
    return;
  g_free (reader->scratch);
  g_free (reader->fields);
  g_free (reader->offsets);
  g_free (reader);
}

char
fc_csv_reader_get_separator (FcCsvReader *reader)
{
  g_return_val_if_fail (reader != NULL, ',');
  return reader->sep;
}

gsize
fc_csv_reader_get_content_start (FcCsvReader *reader)
{
  g_return_val_if_fail (reader != NULL, 0);
  return reader->content_start;
}

void
fc_csv_reader_get_error_position (FcCsvReader *reader,
                                  guint       *line,
                                  guint       *field)
{
  g_return_if_fail (reader != NULL);
  if (line)
    *line = reader->error_line;
  if (field)
    *field = reader->error_field;
}

static void
scratch_append (FcCsvReader *self,
                const char  *text,
                gsize        len)
{
  if (self->scratch_len + len + 1 > self->scratch_size)
    {
      gsize size = MAX (256, self->scratch_size * 2);

      while (size < self->scratch_len + len + 1)
        size *= 2;
      self->scratch = g_realloc (self->scratch, size);
      self->scratch_size = size;
    }
  memcpy (self->scratch + self->scratch_len, text, len);
  self->scratch_len += len;
}

static void
field_begin (FcCsvReader *self)
{
  if (self->n_fields == self->fields_size)
    {
      self->fields_size = MAX (32, self->fields_size * 2);
      self->fields = g_renew (FcCsvField, self->fields, self->fields_size);
      self->offsets = g_renew (gsize, self->offsets, self->fields_size);
    }
  self->offsets[self->n_fields] = self->scratch_len;
}

static void
field_end (FcCsvReader *self)
{
  gsize start = self->offsets[self->n_fields];

  self->fields[self->n_fields].len = self->scratch_len - start;
  scratch_append (self, "", 1);   /* NUL terminator */
  self->n_fields++;
}

/* Line breaks in [p, end): LF, CRLF and a lone CR each count once. */
static guint
count_line_breaks (const char *p,
                   const char *end,
                   const char *limit)
{
  guint n = 0;

  for (; p < end; p++)
    if (*p == '\n' || (*p == '\r' && !(p + 1 < limit && p[1] == '\n')))
      n++;
  return n;
}

gboolean
fc_csv_reader_next (FcCsvReader *self,
                    FcCsvRecord *record,
                    GError     **error)
{
  const char *data, *p, *end, *raw_end;
  char sep;
  guint line;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (record != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->pos >= self->len)
    return FALSE;

  data = self->data;
  p = data + self->pos;
  end = data + self->len;
  sep = self->sep;
  line = self->line;
  self->scratch_len = 0;
  self->n_fields = 0;

  record->line = line;
  record->offset = self->pos;
  record->raw = p;

  for (;;)
    {
      const char *q = p;

      field_begin (self);

      /* Tolerate blanks before an opening quote ("  "x""), as Excel
       * does; they are not part of the value. */
      while (q < end && (*q == ' ' || *q == '\t') && *q != sep)
        q++;

      if (q < end && *q == '"')
        {
          guint open_line = line;

          p = q + 1;
          for (;;)
            {
              const char *quote = memchr (p, '"', end - p);

              if (quote == NULL)
                {
                  self->error_line = open_line;
                  self->error_field = self->n_fields;
                  g_set_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT,
                               "line %u, column %u: a quoted value is never closed "
                               "(a '\"' is missing)",
                               open_line, self->n_fields + 1);
                  /* Leave the reader at the end: nothing after this can
                   * be split reliably. */
                  self->pos = self->len;
                  return FALSE;
                }
              line += count_line_breaks (p, quote, end);
              scratch_append (self, p, quote - p);
              p = quote + 1;
              if (p < end && *p == '"')
                {
                  scratch_append (self, "\"", 1);
                  p++;
                  continue;
                }
              break;
            }
        }

      /* Unquoted text, or text after a closing quote: kept literally
       * (as Python's csv module does), up to the separator or line end. */
      q = p;
      while (q < end && *q != sep && !is_line_end (*q))
        q++;
      scratch_append (self, p, q - p);
      p = q;
      field_end (self);

      if (p >= end)
        {
          raw_end = end;
          break;
        }
      if (*p == sep)
        {
          p++;
          continue;
        }

      raw_end = p;
      if (*p == '\r' && p + 1 < end && p[1] == '\n')
        p += 2;
      else
        p++;
      line++;
      break;
    }

  for (guint i = 0; i < self->n_fields; i++)
    self->fields[i].text = self->scratch + self->offsets[i];

  /* A line end was consumed unless the record ran to the end of input. */
  record->end_line = raw_end == end ? line : line - 1;
  record->raw_len = raw_end - record->raw;
  record->n_fields = self->n_fields;
  record->fields = self->fields;

  self->pos = p - data;
  self->line = line;
  return TRUE;
}

gboolean
fc_csv_parse_decimal (const char *text,
                      gsize       len,
                      double     *value)
{
  /* Every power of ten up to 1e22 is exact in a double. */
  static const double exact_powers[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
  };
  const char *p = text, *end = text + len;
  gboolean negative = FALSE;
  guint64 mantissa = 0;
  guint significant = 0, int_digits = 0, frac_digits = 0;
  int exponent = 0, scale;

  g_return_val_if_fail (value != NULL, FALSE);

  if (p < end && (*p == '+' || *p == '-'))
    negative = *p++ == '-';
  for (; p < end && g_ascii_isdigit (*p); p++, int_digits++)
    {
      if (mantissa == 0 && *p == '0')
        continue;
      if (significant < 19)
        mantissa = mantissa * 10 + (*p - '0');
      else
        exponent++;   /* digits past the 19th only scale (slow path below) */
      significant++;
    }
  if (p < end && *p == '.')
    {
      for (p++; p < end && g_ascii_isdigit (*p); p++, frac_digits++)
        {
          if (mantissa == 0 && *p == '0')
            exponent--;
          else
            {
              if (significant < 19)
                {
                  mantissa = mantissa * 10 + (*p - '0');
                  exponent--;
                }
              significant++;
            }
        }
    }
  if (int_digits + frac_digits == 0)
    return FALSE;
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      gboolean exp_negative = FALSE;
      int e = 0;
      guint exp_digits = 0;

      p++;
      if (p < end && (*p == '+' || *p == '-'))
        exp_negative = *p++ == '-';
      for (; p < end && g_ascii_isdigit (*p); p++, exp_digits++)
        if (e < 100000)
          e = e * 10 + (*p - '0');
      if (exp_digits == 0)
        return FALSE;
      exponent += exp_negative ? -e : e;
    }
  if (p != end)
    return FALSE;

  /* Clinger's fast path: an integer below 2^53 times or divided by an
   * exact power of ten is one correctly rounded IEEE operation. Launch
   * monitor values ("152.3", "-2.41") always take it. */
  scale = exponent < 0 ? -exponent : exponent;
  if (significant <= 19 && mantissa <= (G_GUINT64_CONSTANT (1) << 53) && scale <= 22)
    {
      double v = (double) mantissa;

      v = exponent < 0 ? v / exact_powers[scale] : v * exact_powers[scale];
      *value = negative ? -v : v;
      return TRUE;
    }

  /* Anything else: the C library's correctly rounded conversion. */
  {
    g_autofree char *copy = g_strndup (text, len);

    *value = g_ascii_strtod (copy, NULL);
  }
  return TRUE;
}
