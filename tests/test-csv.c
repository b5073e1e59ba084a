/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "fc-csv.h"
#include "fc-error.h"

#include <string.h>

/* Every record of @text as "line|field|field|...", records joined by
 * "\n", so a test reads like the file it checks. */
static char *
dump (const char *text,
      gsize       len,
      GError    **error)
{
  g_autoptr(FcCsvReader) reader = fc_csv_reader_new (text, len);
  g_autoptr(GString) out = g_string_new (NULL);
  FcCsvRecord record;

  while (fc_csv_reader_next (reader, &record, error))
    {
      if (out->len > 0)
        g_string_append_c (out, '\n');
      g_string_append_printf (out, "%u", record.line);
      for (guint i = 0; i < record.n_fields; i++)
        {
          g_string_append_c (out, '|');
          g_string_append_len (out, record.fields[i].text, record.fields[i].len);
        }
    }
  if (error && *error)
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
assert_dump (const char *text,
             const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *got = dump (text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, expected);
}

static void
test_basic (void)
{
  assert_dump ("a,b,c\n1,2,3\n", "1|a|b|c\n2|1|2|3");
  /* no line end after the last record */
  assert_dump ("a,b\n1,2", "1|a|b\n2|1|2");
  assert_dump ("a,b\r\n1,2\r\n", "1|a|b\n2|1|2");
  /* a lone CR (old Mac files) ends a line too */
  assert_dump ("a,b\r1,2\r", "1|a|b\n2|1|2");
  /* empty fields and a blank line, which is one empty field */
  assert_dump ("a,,c\n\n,,\n", "1|a||c\n2|\n3|||");
  assert_dump ("", "");
}

static void
test_quotes (void)
{
  assert_dump ("\"a,b\",\"say \"\"hi\"\"\",\"\"\n", "1|a,b|say \"hi\"|");
  /* a line break inside quotes: the next record's line number counts it */
  assert_dump ("x,\"two\nlines\",y\nnext\n", "1|x|two\nlines|y\n3|next");
  assert_dump ("x,\"two\r\nlines\"\r\nnext\r\n", "1|x|two\r\nlines\n3|next");
  /* blanks before an opening quote are dropped (Excel does the same),
   * text after a closing quote is kept */
  assert_dump ("  \"a\",\"b\"c\n", "1|a|bc");
  /* a quote inside an unquoted field is literal */
  assert_dump ("5\" putt,x\n", "1|5\" putt|x");
}

static void
test_bom_and_sep (void)
{
  g_autoptr(FcCsvReader) reader = NULL;

  assert_dump ("\xef\xbb\xbf" "Club,Ball\n1,2\n", "1|Club|Ball\n2|1|2");
  assert_dump ("sep=,\r\nA,B\r\n1,2\r\n", "2|A|B\n3|1|2");
  assert_dump ("sep=;\na;b,c\n1;2,5\n", "2|a|b,c\n3|1|2,5");
  assert_dump ("\xef\xbb\xbf" "SEP=\t\na\tb\n", "2|a|b");
  /* only exactly "sep=X" is a hint */
  assert_dump ("sep=ab\n", "1|sep=ab");

  /* No hint: a header without commas but with semicolons is ';' */
  assert_dump ("a;b;c\n1;2,5;3\n", "1|a|b|c\n2|1|2,5|3");
  assert_dump ("a\tb\n1\t2\n", "1|a|b\n2|1|2");

  reader = fc_csv_reader_new ("\xef\xbb\xbf" "sep=;\n", 9);
  g_assert_cmpint (fc_csv_reader_get_separator (reader), ==, ';');
  g_assert_cmpuint (fc_csv_reader_get_content_start (reader), ==, 3);
}

static void
test_padding_and_trailing_separator (void)
{
  const char *text = "Shot ID, Club head Speed (m/s),\n      4,  36.710655,\n";
  g_autoptr(FcCsvReader) reader = fc_csv_reader_new (text, strlen (text));
  g_autoptr(GError) error = NULL;
  FcCsvRecord record;
  const char *cell;
  gsize len;

  g_assert_true (fc_csv_reader_next (reader, &record, &error));
  g_assert_cmpuint (record.n_fields, ==, 3);
  g_assert_cmpstr (record.fields[1].text, ==, " Club head Speed (m/s)");
  g_assert_cmpuint (record.fields[2].len, ==, 0);

  g_assert_true (fc_csv_reader_next (reader, &record, &error));
  g_assert_cmpuint (record.n_fields, ==, 3);
  cell = record.fields[1].text;
  len = record.fields[1].len;
  fc_csv_strip (&cell, &len);
  g_assert_cmpmem (cell, len, "36.710655", 9);

  g_assert_false (fc_csv_reader_next (reader, &record, &error));
  g_assert_no_error (error);
}

static void
test_raw_and_lines (void)
{
  const char *text = "sep=,\r\nh1,h2\r\n\"a\nb\",2\r\nlast,row";
  g_autoptr(FcCsvReader) reader = fc_csv_reader_new (text, strlen (text));
  g_autoptr(GError) error = NULL;
  FcCsvRecord record;

  g_assert_true (fc_csv_reader_next (reader, &record, &error));
  g_assert_cmpuint (record.line, ==, 2);
  g_assert_cmpuint (record.end_line, ==, 2);
  g_assert_cmpmem (record.raw, record.raw_len, "h1,h2", 5);
  g_assert_cmpuint (record.offset, ==, 7);

  g_assert_true (fc_csv_reader_next (reader, &record, &error));
  g_assert_cmpuint (record.line, ==, 3);
  g_assert_cmpuint (record.end_line, ==, 4);
  /* raw bytes are the file's, quotes and inner line break included */
  g_assert_cmpmem (record.raw, record.raw_len, "\"a\nb\",2", 7);
  g_assert_cmpstr (record.fields[0].text, ==, "a\nb");

  g_assert_true (fc_csv_reader_next (reader, &record, &error));
  g_assert_cmpuint (record.line, ==, 5);
  g_assert_cmpuint (record.end_line, ==, 5);
  g_assert_cmpmem (record.raw, record.raw_len, "last,row", 8);

  g_assert_false (fc_csv_reader_next (reader, &record, &error));
  g_assert_no_error (error);
}

static void
test_embedded_nul (void)
{
  const char text[] = { '1', '\0', '2', ',', 'x', '\n' };
  g_autoptr(FcCsvReader) reader = fc_csv_reader_new (text, sizeof text);
  g_autoptr(GError) error = NULL;
  FcCsvRecord record;

  g_assert_true (fc_csv_reader_next (reader, &record, &error));
  g_assert_cmpuint (record.n_fields, ==, 2);
  g_assert_cmpuint (record.fields[0].len, ==, 3);
  g_assert_cmpmem (record.fields[0].text, 3, "1\0" "2", 3);
}

static void
test_unterminated_quote (void)
{
  const char *text = "a,b\n1,2\n3,\"open\n4,5\n";
  g_autoptr(FcCsvReader) reader = fc_csv_reader_new (text, strlen (text));
  g_autoptr(GError) error = NULL;
  FcCsvRecord record;
  guint line = 0, field = 0;

  g_assert_true (fc_csv_reader_next (reader, &record, &error));
  g_assert_true (fc_csv_reader_next (reader, &record, &error));
  g_assert_false (fc_csv_reader_next (reader, &record, &error));
  g_assert_error (error, FC_ERROR, FC_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "line 3"));
  g_assert_nonnull (strstr (error->message, "column 2"));
  fc_csv_reader_get_error_position (reader, &line, &field);
  g_assert_cmpuint (line, ==, 3);
  g_assert_cmpuint (field, ==, 1);

  /* nothing after a broken quote can be trusted: the reader stops */
  g_clear_error (&error);
  g_assert_false (fc_csv_reader_next (reader, &record, &error));
  g_assert_no_error (error);
}

static void
test_wide_rows (void)
{
  /* Buffers grow past their first size without losing earlier fields. */
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(FcCsvReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  FcCsvRecord record;

  for (guint i = 0; i < 500; i++)
    g_string_append_printf (text, "%s\"value %u\"", i ? "," : "", i);
  g_string_append_c (text, '\n');

  reader = fc_csv_reader_new (text->str, text->len);
  g_assert_true (fc_csv_reader_next (reader, &record, &error));
  g_assert_cmpuint (record.n_fields, ==, 500);
  g_assert_cmpstr (record.fields[0].text, ==, "value 0");
  g_assert_cmpstr (record.fields[499].text, ==, "value 499");
}

static void
assert_same_as_strtod (const char *text)
{
  double fast = 0, slow = g_ascii_strtod (text, NULL);

  if (!fc_csv_parse_decimal (text, strlen (text), &fast))
    g_error ("'%s' was refused", text);
  /* bit for bit, sign of zero included */
  if (memcmp (&fast, &slow, sizeof fast) != 0)
    g_error ("'%s': %.17g, strtod says %.17g", text, fast, slow);
}

/* The importer's number parser must give exactly what strtod gives for
 * every plain decimal, and refuse everything else. */
static void
test_parse_decimal (void)
{
  static const char * const refused[] = {
    "", "-", "+", ".", "-.", "e5", "1e", "1e+", "nan", "NaN", "inf", "-inf",
    "0x10", "1,5", " 1", "1 ", "1.2.3", "++1", "--1", "1e5.5", "1ee5", "1-",
    "1.5R", "٣",
  };
  static const char * const accepted[] = {
    "0", "-0", "+0", "0.0", "-0.0", "1", "-1", "+1", "1.", ".5", "-.5", "00012.50",
    "152.3", "-2.41", "87.85343593", "0.775", "-0.826771654", "16777215",
    "1e5", "1E5", "1e-5", "2.5e+3", "123456789012345", "9007199254740992",
    "9007199254740993", "12345678901234567890", "1234567890123456789012345",
    "0.1", "0.30000000000000004", "1e22", "1e23", "1e-22", "1e-23", "4.9e-324",
    "1.7976931348623157e308", "2.2250738585072014e-308", "1e400", "1e-400",
    "0.000000000000000000000000000001", "3.14159265358979323846264338327950288",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (2026);

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      double v;

      if (fc_csv_parse_decimal (refused[i], strlen (refused[i]), &v))
        g_error ("'%s' was accepted as %g", refused[i], v);
    }
  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    assert_same_as_strtod (accepted[i]);

  /* what exports contain: up to 12 digits either side of the point */
  for (guint i = 0; i < 200000; i++)
    {
      char text[64];
      int int_digits = g_rand_int_range (rand, 0, 8);
      int frac_digits = g_rand_int_range (rand, 0, 13);
      int n = 0;

      if (g_rand_boolean (rand))
        text[n++] = '-';
      for (int d = 0; d < int_digits; d++)
        text[n++] = '0' + g_rand_int_range (rand, 0, 10);
      if (frac_digits > 0 || int_digits == 0)
        {
          text[n++] = '.';
          for (int d = 0; d < MAX (frac_digits, 1); d++)
            text[n++] = '0' + g_rand_int_range (rand, 0, 10);
        }
      if (g_rand_int_range (rand, 0, 10) == 0)
        n += g_snprintf (text + n, sizeof text - n, "e%d", g_rand_int_range (rand, -30, 31));
      text[n] = '\0';
      assert_same_as_strtod (text);
    }

  /* and only the given length counts */
  {
    double v;

    g_assert_true (fc_csv_parse_decimal ("12.5,7", 4, &v));
    g_assert_cmpfloat (v, ==, 12.5);
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/csv/basic", test_basic);
  g_test_add_func ("/csv/quotes", test_quotes);
  g_test_add_func ("/csv/bom-and-sep", test_bom_and_sep);
  g_test_add_func ("/csv/padding-and-trailing-separator", test_padding_and_trailing_separator);
  g_test_add_func ("/csv/raw-and-lines", test_raw_and_lines);
  g_test_add_func ("/csv/embedded-nul", test_embedded_nul);
  g_test_add_func ("/csv/unterminated-quote", test_unterminated_quote);
  g_test_add_func ("/csv/wide-rows", test_wide_rows);
  g_test_add_func ("/csv/parse-decimal", test_parse_decimal);
  return g_test_run ();
}
