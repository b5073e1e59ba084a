/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A CSV tokenizer for launch-monitor exports.
 *
 * RFC 4180 quoting (separators, doubled quotes and line breaks inside
 * quotes), LF, CRLF and lone CR line ends, a UTF-8 byte order mark and
 * Excel's `sep=X` first line. Fields come back unquoted but otherwise
 * untouched: blanks are kept (FSX 2020 pads numbers with spaces; the
 * caller trims with fc_csv_strip() where it wants numbers), and an empty
 * field after a trailing separator is returned like any other.
 *
 * The reader never copies the input; it must outlive the reader. Every
 * record carries its physical line number and its raw bytes, so that an
 * importer can name the line in errors and keep the row as received.
 */

typedef struct _FcCsvReader FcCsvReader;

typedef struct {
  const char *text;   /* unquoted content, NUL-terminated (may hold NULs: use len) */
  gsize       len;
} FcCsvField;

typedef struct {
  guint             line;      /* 1-based physical line the record starts on */
  guint             end_line;  /* last physical line (quoted line breaks span several) */
  gsize             offset;    /* of raw in the input */
  const char       *raw;       /* the record's bytes in the input, without its line end */
  gsize             raw_len;
  guint             n_fields;  /* at least 1: a blank line is one empty field */
  const FcCsvField *fields;    /* valid until the next call on the reader */
} FcCsvRecord;

FcCsvReader *fc_csv_reader_new              (const char  *data,
                                             gsize        len);
void         fc_csv_reader_free             (FcCsvReader *reader);

char         fc_csv_reader_get_separator    (FcCsvReader *reader);
gsize        fc_csv_reader_get_content_start (FcCsvReader *reader);

gboolean     fc_csv_reader_next             (FcCsvReader *reader,
                                             FcCsvRecord *record,
                                             GError     **error);
void         fc_csv_reader_get_error_position (FcCsvReader *reader,
                                               guint       *line,
                                               guint       *field);

/* Remove surrounding blanks (space, tab) from a field's text. */
static inline void
fc_csv_strip (const char **text,
              gsize       *len)
{
  const char *s = *text;
  gsize n = *len;

  while (n > 0 && (s[0] == ' ' || s[0] == '\t'))
    s++, n--;
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  *text = s;
  *len = n;
}

/* A plain decimal number as spreadsheets and launch-monitor software
 * write them: [+-]digits[.digits][e[+-]digits], nothing else (no "nan",
 * "inf", hexadecimal, blanks or thousands separators). The result is the
 * correctly rounded double, exactly what strtod gives; FALSE when @text
 * is not such a number. */
gboolean     fc_csv_parse_decimal (const char *text,
                                   gsize       len,
                                   double     *value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcCsvReader, fc_csv_reader_free)

G_END_DECLS
