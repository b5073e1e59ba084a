/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "fc-oc-framer.h"

#include <string.h>

/* Messages in the shapes real connectors write them (compact Python
 * json.dumps, Newtonsoft indented, Boost with four spaces and a
 * trailing newline, Go's json.Marshal plus '\n'). */
static const char compact_shot[] =
  "{\"DeviceID\":\"OpenFlight\",\"Units\":\"Yards\",\"ShotNumber\":12,\"APIversion\":\"1\","
  "\"BallData\":{\"Speed\":147.5,\"SpinAxis\":-2.1,\"TotalSpin\":2650.0,\"HLA\":1.3,\"VLA\":11.8},"
  "\"ShotDataOptions\":{\"ContainsBallData\":true,\"ContainsClubData\":false}}";

static const char indented_shot[] =
  "{\n"
  "  \"APIversion\": \"1\",\n"
  "  \"DeviceID\": \"SkyTrak+\",\n"
  "  \"ShotNumber\": 4,\n"
  "  \"BallData\": {\n"
  "    \"Speed\": 101.2,\n"
  "    \"TotalSpin\": 7400.0,\n"
  "    \"SpinAxis\": 3.5,\n"
  "    \"HLA\": -0.8,\n"
  "    \"VLA\": 21.4\n"
  "  },\n"
  "  \"ClubData\": {\n"
  "    \"Speed\": 78.0\n"
  "  },\n"
  "  \"ShotDataOptions\": {\n"
  "    \"ContainsBallData\": true,\n"
  "    \"ContainsClubData\": true\n"
  "  }\n"
  "}";

static const char heartbeat_newline[] =
  "{\"DeviceID\":\"R10\",\"ShotNumber\":3,\"APIversion\":\"1\",\"ShotDataOptions\":"
  "{\"ContainsBallData\":false,\"ContainsClubData\":false,\"IsHeartBeat\":true}}\n";

/* A DeviceID holding braces, an escaped quote and an escaped backslash
 * right before the closing quote: a bare brace counter splits this. */
static const char tricky_strings[] =
  "{\"DeviceID\":\"Bay {3} \\\"left\\\" }}{ \\\\\",\"Note\":\"\\\\\\\"}\",\"ShotNumber\":1}";

typedef struct {
  FcOcFramer *framer;
  GPtrArray  *messages;
} Fixture;

static void
fixture_set_up (Fixture       *fx,
                gconstpointer  data)
{
  fx->framer = fc_oc_framer_new (GPOINTER_TO_SIZE (data));
  fx->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
}

static void
fixture_tear_down (Fixture       *fx,
                   gconstpointer  data)
{
  fc_oc_framer_free (fx->framer);
  g_ptr_array_unref (fx->messages);
}

static void
push_str (Fixture    *fx,
          const char *text)
{
  fc_oc_framer_push (fx->framer, (const guint8 *) text, strlen (text), fx->messages);
}

static void
assert_message (Fixture    *fx,
                guint       index,
                const char *expected)
{
  GBytes *bytes;
  gsize len;
  const char *data;

  g_assert_cmpuint (fx->messages->len, >, index);
  bytes = g_ptr_array_index (fx->messages, index);
  data = g_bytes_get_data (bytes, &len);
  g_assert_cmpmem (data, len, expected, strlen (expected));
}

/* The same text framed as one message with the trailing newline (if any)
 * consumed as whitespace. */
static char *
strip_newline (const char *text)
{
  return g_strchomp (g_strdup (text));
}

static void
test_compact (Fixture       *fx,
              gconstpointer  data)
{
  push_str (fx, compact_shot);
  g_assert_cmpuint (fx->messages->len, ==, 1);
  assert_message (fx, 0, compact_shot);
  g_assert_cmpuint (fc_oc_framer_get_garbage_bytes (fx->framer), ==, 0);
  g_assert_cmpuint (fc_oc_framer_get_buffered (fx->framer), ==, 0);
}

static void
test_indented (Fixture       *fx,
               gconstpointer  data)
{
  push_str (fx, indented_shot);
  g_assert_cmpuint (fx->messages->len, ==, 1);
  assert_message (fx, 0, indented_shot);
}

static void
test_newline_terminated (Fixture       *fx,
                         gconstpointer  data)
{
  g_autofree char *expected = strip_newline (heartbeat_newline);

  push_str (fx, heartbeat_newline);
  push_str (fx, heartbeat_newline);
  push_str (fx, "\r\n\t  \n");
  g_assert_cmpuint (fx->messages->len, ==, 2);
  assert_message (fx, 0, expected);
  assert_message (fx, 1, expected);
  /* Whitespace between messages is not garbage. */
  g_assert_cmpuint (fc_oc_framer_get_garbage_bytes (fx->framer), ==, 0);
  g_assert_cmpuint (fc_oc_framer_get_buffered (fx->framer), ==, 0);
}

static void
test_byte_by_byte (Fixture       *fx,
                   gconstpointer  data)
{
  const char *inputs[] = { compact_shot, indented_shot, tricky_strings };

  for (guint k = 0; k < G_N_ELEMENTS (inputs); k++)
    {
      gsize n = strlen (inputs[k]);

      g_ptr_array_set_size (fx->messages, 0);
      for (gsize i = 0; i < n; i++)
        {
          fc_oc_framer_push (fx->framer, (const guint8 *) inputs[k] + i, 1, fx->messages);
          /* Nothing is framed before the last byte. */
          g_assert_cmpuint (fx->messages->len, ==, i + 1 == n ? 1 : 0);
          g_assert_cmpuint (fc_oc_framer_get_buffered (fx->framer), ==, i + 1 == n ? 0 : i + 1);
        }
      assert_message (fx, 0, inputs[k]);
    }
  g_assert_cmpuint (fc_oc_framer_get_garbage_bytes (fx->framer), ==, 0);
}

/* Every split point of a coalesced pair: the first message may end in
 * the first chunk or the second, the second start in either. */
static void
test_every_split (Fixture       *fx,
                  gconstpointer  data)
{
  g_autofree char *pair = g_strconcat (compact_shot, tricky_strings, NULL);
  gsize n = strlen (pair);

  for (gsize cut = 0; cut <= n; cut++)
    {
      g_ptr_array_set_size (fx->messages, 0);
      fc_oc_framer_push (fx->framer, (const guint8 *) pair, cut, fx->messages);
      fc_oc_framer_push (fx->framer, (const guint8 *) pair + cut, n - cut, fx->messages);
      g_assert_cmpuint (fx->messages->len, ==, 2);
      assert_message (fx, 0, compact_shot);
      assert_message (fx, 1, tricky_strings);
    }
  g_assert_cmpuint (fc_oc_framer_get_buffered (fx->framer), ==, 0);
}

static void
test_coalesced (Fixture       *fx,
                gconstpointer  data)
{
  g_autoptr(GString) burst = g_string_new (NULL);
  g_autofree char *heartbeat = strip_newline (heartbeat_newline);

  /* GSPro-style back-to-back objects, then ten more in one read. */
  g_string_append (burst, compact_shot);
  g_string_append (burst, indented_shot);
  for (guint i = 0; i < 10; i++)
    g_string_append (burst, heartbeat_newline);
  fc_oc_framer_push (fx->framer, (const guint8 *) burst->str, burst->len, fx->messages);

  g_assert_cmpuint (fx->messages->len, ==, 12);
  assert_message (fx, 0, compact_shot);
  assert_message (fx, 1, indented_shot);
  for (guint i = 2; i < 12; i++)
    assert_message (fx, i, heartbeat);
}

static void
test_strings_with_braces (Fixture       *fx,
                          gconstpointer  data)
{
  /* Split right after the backslash of an escape, and inside a string. */
  const char *text = tricky_strings;
  const char *backslash = strchr (text, '\\');
  gsize cut = backslash - text + 1;

  fc_oc_framer_push (fx->framer, (const guint8 *) text, cut, fx->messages);
  g_assert_cmpuint (fx->messages->len, ==, 0);
  push_str (fx, text + cut);
  g_assert_cmpuint (fx->messages->len, ==, 1);
  assert_message (fx, 0, tricky_strings);

  /* A lone quote character escaped at the end of a string value. */
  push_str (fx, "{\"a\":\"\\\"\"}");
  g_assert_cmpuint (fx->messages->len, ==, 2);
  assert_message (fx, 1, "{\"a\":\"\\\"\"}");
}

static void
test_garbage_resync (Fixture       *fx,
                     gconstpointer  data)
{
  /* A log line, a bare value, an HTTP request: then a good object. */
  push_str (fx, "xyz");
  push_str (fx, compact_shot);
  push_str (fx, "\nGET / HTTP/1.1\r\n\r\n");
  push_str (fx, heartbeat_newline);
  g_assert_cmpuint (fx->messages->len, ==, 2);
  assert_message (fx, 0, compact_shot);
  /* "xyz" + "GET/HTTP/1.1" (spaces and CRLF are whitespace) */
  g_assert_cmpuint (fc_oc_framer_get_garbage_bytes (fx->framer), ==, 3 + strlen ("GET/HTTP/1.1"));

  /* An array of objects: the brackets are garbage, the object inside is
   * framed (the parser, not the framer, judges content). */
  push_str (fx, "[{\"a\":1},{\"b\":2}]");
  g_assert_cmpuint (fx->messages->len, ==, 4);
  assert_message (fx, 2, "{\"a\":1}");
  assert_message (fx, 3, "{\"b\":2}");
  g_assert_cmpuint (fc_oc_framer_get_garbage_bytes (fx->framer), ==, 3 + 12 + 3);
}

static void
test_stray_close (Fixture       *fx,
                  gconstpointer  data)
{
  push_str (fx, "}}");
  push_str (fx, compact_shot);
  push_str (fx, "}");
  push_str (fx, compact_shot);
  g_assert_cmpuint (fx->messages->len, ==, 2);
  assert_message (fx, 0, compact_shot);
  assert_message (fx, 1, compact_shot);
  g_assert_cmpuint (fc_oc_framer_get_garbage_bytes (fx->framer), ==, 3);
}

/* An object that never closes is held (up to the cap), not emitted. A
 * new object where none can start (after a number in an object) ends
 * the broken one: the next message is not swallowed. */
static void
test_unbalanced (Fixture       *fx,
                 gconstpointer  data)
{
  push_str (fx, "{\"DeviceID\":\"half\",\"BallData\":{\"Speed\":140");
  g_assert_cmpuint (fx->messages->len, ==, 0);
  g_assert_cmpuint (fc_oc_framer_get_buffered (fx->framer), ==,
                    strlen ("{\"DeviceID\":\"half\",\"BallData\":{\"Speed\":140"));
  push_str (fx, compact_shot);
  g_assert_cmpuint (fx->messages->len, ==, 1);
  assert_message (fx, 0, compact_shot);
  g_assert_cmpuint (fc_oc_framer_get_buffered (fx->framer), ==, 0);

  /* The missing braces arriving later are stray garbage. */
  push_str (fx, "}}");
  g_assert_cmpuint (fx->messages->len, ==, 1);
  g_assert_cmpuint (fc_oc_framer_get_buffered (fx->framer), ==, 0);

  /* An unterminated string swallows braces until its quote. */
  push_str (fx, "{\"a\":\"}}}}");
  g_assert_cmpuint (fx->messages->len, ==, 1);
  push_str (fx, "\"}");
  g_assert_cmpuint (fx->messages->len, ==, 2);
  assert_message (fx, 1, "{\"a\":\"}}}}\"}");
}

static void
test_empty_input (Fixture       *fx,
                  gconstpointer  data)
{
  fc_oc_framer_push (fx->framer, NULL, 0, fx->messages);
  fc_oc_framer_push (fx->framer, (const guint8 *) "", 0, fx->messages);
  push_str (fx, "   \n\n");
  g_assert_cmpuint (fx->messages->len, ==, 0);
  g_assert_cmpuint (fc_oc_framer_get_garbage_bytes (fx->framer), ==, 0);
  g_assert_cmpuint (fc_oc_framer_get_buffered (fx->framer), ==, 0);
  g_assert_cmpuint (fc_oc_framer_get_oversize_count (fx->framer), ==, 0);

  push_str (fx, "{}");
  g_assert_cmpuint (fx->messages->len, ==, 1);
  assert_message (fx, 0, "{}");
}

/* A message of 1 MiB against a 1 KiB cap, fed in 4 KiB reads: dropped
 * whole and counted once, memory never above the cap, and the next
 * message is framed. Braces and quotes inside its strings must not end
 * the skip early. */
static void
test_oversize (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr(GString) big = g_string_new ("{\"DeviceID\":\"");
  gsize off;

  while (big->len < 1024 * 1024)
    g_string_append (big, "}{ \\\" \\\\ filler ");
  g_string_append (big, "\",\"Nested\":{\"x\":[1,2,{\"y\":\"}\"}]}}");

  for (off = 0; off < big->len; off += 4096)
    {
      fc_oc_framer_push (fx->framer, (const guint8 *) big->str + off,
                         MIN (4096, big->len - off), fx->messages);
      g_assert_cmpuint (fc_oc_framer_get_buffered (fx->framer), <=, 1024);
    }
  g_assert_cmpuint (fx->messages->len, ==, 0);
  g_assert_cmpuint (fc_oc_framer_get_oversize_count (fx->framer), ==, 1);
  g_assert_cmpuint (fc_oc_framer_get_buffered (fx->framer), ==, 0);

  push_str (fx, heartbeat_newline);
  g_assert_cmpuint (fx->messages->len, ==, 1);
  g_assert_cmpuint (fc_oc_framer_get_oversize_count (fx->framer), ==, 1);
  g_assert_cmpuint (fc_oc_framer_get_garbage_bytes (fx->framer), ==, 0);

  /* The same in one push, with a good message right behind it. */
  g_string_append (big, compact_shot);
  fc_oc_framer_push (fx->framer, (const guint8 *) big->str, big->len, fx->messages);
  g_assert_cmpuint (fx->messages->len, ==, 2);
  assert_message (fx, 1, compact_shot);
  g_assert_cmpuint (fc_oc_framer_get_oversize_count (fx->framer), ==, 2);
}

/* The cap is inclusive: a message of exactly max_message bytes passes,
 * one byte more does not. */
static void
test_cap_boundary (void)
{
  g_autoptr(FcOcFramer) framer = fc_oc_framer_new (64);
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  char exact[65];
  char over[66];

  memset (exact, 'a', 64);
  memcpy (exact, "{\"k\":\"", 6);
  memcpy (exact + 62, "\"}", 2);
  exact[64] = '\0';
  memset (over, 'a', 65);
  memcpy (over, "{\"k\":\"", 6);
  memcpy (over + 63, "\"}", 2);
  over[65] = '\0';

  fc_oc_framer_push (framer, (const guint8 *) exact, 64, messages);
  g_assert_cmpuint (messages->len, ==, 1);
  g_assert_cmpuint (g_bytes_get_size (g_ptr_array_index (messages, 0)), ==, 64);

  /* Split so that the cap is crossed in the second chunk. */
  fc_oc_framer_push (framer, (const guint8 *) over, 40, messages);
  g_assert_cmpuint (fc_oc_framer_get_buffered (framer), ==, 40);
  fc_oc_framer_push (framer, (const guint8 *) over + 40, 25, messages);
  g_assert_cmpuint (messages->len, ==, 1);
  g_assert_cmpuint (fc_oc_framer_get_oversize_count (framer), ==, 1);
  g_assert_cmpuint (fc_oc_framer_get_buffered (framer), ==, 0);

  fc_oc_framer_push (framer, (const guint8 *) exact, 64, messages);
  g_assert_cmpuint (messages->len, ==, 2);
}

/* Random chunkings of a mixed stream must give the same messages as one
 * push of the whole stream. */
static void
test_random_chunks (void)
{
  g_autoptr(GString) stream = g_string_new (NULL);
  g_autoptr(GPtrArray) reference = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(FcOcFramer) whole = fc_oc_framer_new (512);
  g_autoptr(GRand) rand = g_rand_new_with_seed (921);

  for (guint i = 0; i < 20; i++)
    {
      g_string_append (stream, i % 3 == 0 ? compact_shot : i % 3 == 1 ? tricky_strings : heartbeat_newline);
      if (i % 4 == 0)
        g_string_append (stream, " junk} ");
      if (i % 7 == 0)
        {
          g_string_append (stream, "{\"big\":\"");
          for (guint k = 0; k < 200; k++)
            g_string_append (stream, "{}\\\"");
          g_string_append (stream, "\"}");
        }
    }
  fc_oc_framer_push (whole, (const guint8 *) stream->str, stream->len, reference);
  g_assert_cmpuint (reference->len, ==, 20);
  g_assert_cmpuint (fc_oc_framer_get_oversize_count (whole), ==, 3);

  for (guint round = 0; round < 200; round++)
    {
      g_autoptr(FcOcFramer) framer = fc_oc_framer_new (512);
      g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      gsize off = 0;

      while (off < stream->len)
        {
          /* Not inside MIN(): it would draw a second number. */
          gsize n = (gsize) g_rand_int_range (rand, 1, 64);

          n = MIN (n, stream->len - off);

          fc_oc_framer_push (framer, (const guint8 *) stream->str + off, n, got);
          g_assert_cmpuint (fc_oc_framer_get_buffered (framer), <=, 512);
          off += n;
        }
      g_assert_cmpuint (got->len, ==, reference->len);
      for (guint i = 0; i < got->len; i++)
        g_assert_true (g_bytes_equal (g_ptr_array_index (got, i), g_ptr_array_index (reference, i)));
      g_assert_cmpuint (fc_oc_framer_get_garbage_bytes (framer), ==,
                        fc_oc_framer_get_garbage_bytes (whole));
      g_assert_cmpuint (fc_oc_framer_get_oversize_count (framer), ==, 3);
    }
}

/* Binary junk can hold a '{': what follows it is not JSON, so the framer
 * drops that false start instead of swallowing the real messages. */
static void
test_brace_in_junk (Fixture       *fx,
                    gconstpointer  data)
{
  push_str (fx, compact_shot);
  push_str (fx, "{`\x98\xda\x15\x9e]");
  push_str (fx, indented_shot);
  push_str (fx, "\x01{\xff");
  push_str (fx, compact_shot);
  g_assert_cmpuint (fx->messages->len, ==, 3);
  assert_message (fx, 0, compact_shot);
  assert_message (fx, 1, indented_shot);
  assert_message (fx, 2, compact_shot);
  g_assert_cmpuint (fc_oc_framer_get_garbage_bytes (fx->framer), ==, 7 + 3);
  g_assert_cmpuint (fc_oc_framer_get_buffered (fx->framer), ==, 0);
}

/* A message cut short (its sender died mid-write) and followed by a new
 * one: the new '{' stands where no object can start, so it begins the
 * next message instead of nesting inside the broken one. */
static void
test_truncated_then_message (Fixture       *fx,
                             gconstpointer  data)
{
  push_str (fx, "{\"DeviceID\":\"LM\",\"BallData\":{\"Speed\":147.5,\"VLA\":12");
  push_str (fx, compact_shot);
  push_str (fx, "{\"a\":[{\"b\":1},{\"c\":[2,{\"d\":3}]}],\"e\":{}}");
  push_str (fx, "{\"x\":");
  push_str (fx, indented_shot);
  g_assert_cmpuint (fx->messages->len, ==, 2);
  assert_message (fx, 0, compact_shot);
  assert_message (fx, 1, "{\"a\":[{\"b\":1},{\"c\":[2,{\"d\":3}]}],\"e\":{}}");
  /* "{"x": {" is a value position: the indented shot nests there, which
   * is what a framer must do for valid JSON; it completes later. */
  g_assert_cmpuint (fc_oc_framer_get_buffered (fx->framer), >, 0);
  push_str (fx, "}");
  g_assert_cmpuint (fx->messages->len, ==, 3);
}

/* A message cut short inside a string ("{\n  \"De"), then binary junk,
 * then the message again: the string would swallow the junk and turn the
 * rest of the stream inside out. A control byte cannot stand in a JSON
 * string, so the framer drops the broken start and finds the next '{'.
 * (Seen in the soak test: bytes captured from the simulator.) */
static void
test_cut_inside_string (Fixture       *fx,
                        gconstpointer  data)
{
  static const guint8 junk[] = { '{', '\n', ' ', ' ', '"', 'D', 'e', 0xa9, ']', 'M', 0x87, 0x1d, '[', 0xfa };

  push_str (fx, indented_shot);
  fc_oc_framer_push (fx->framer, junk, sizeof junk, fx->messages);
  push_str (fx, indented_shot);
  push_str (fx, compact_shot);
  g_assert_cmpuint (fx->messages->len, ==, 3);
  assert_message (fx, 0, indented_shot);
  assert_message (fx, 1, indented_shot);
  assert_message (fx, 2, compact_shot);
  g_assert_cmpuint (fc_oc_framer_get_buffered (fx->framer), ==, 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, cap) \
  g_test_add ("/oc-framer/" path, Fixture, GSIZE_TO_POINTER (cap), fixture_set_up, func, fixture_tear_down)

  ADD ("compact", test_compact, 0);
  ADD ("indented", test_indented, 0);
  ADD ("newline-terminated", test_newline_terminated, 0);
  ADD ("byte-by-byte", test_byte_by_byte, 0);
  ADD ("every-split", test_every_split, 0);
  ADD ("coalesced", test_coalesced, 0);
  ADD ("strings-with-braces", test_strings_with_braces, 0);
  ADD ("garbage-resync", test_garbage_resync, 0);
  ADD ("stray-close", test_stray_close, 0);
  ADD ("unbalanced", test_unbalanced, 0);
  ADD ("empty-input", test_empty_input, 0);
  ADD ("oversize", test_oversize, 1024);
#undef ADD
  g_test_add_func ("/oc-framer/cap-boundary", test_cap_boundary);
  g_test_add ("/oc-framer/cut-inside-string", Fixture, GSIZE_TO_POINTER (FC_OC_DEFAULT_MAX_MESSAGE),
              fixture_set_up, test_cut_inside_string, fixture_tear_down);
  g_test_add ("/oc-framer/truncated-then-message", Fixture, GSIZE_TO_POINTER (FC_OC_DEFAULT_MAX_MESSAGE),
              fixture_set_up, test_truncated_then_message, fixture_tear_down);
  g_test_add ("/oc-framer/brace-in-junk", Fixture, GSIZE_TO_POINTER (FC_OC_DEFAULT_MAX_MESSAGE),
              fixture_set_up, test_brace_in_junk, fixture_tear_down);
  g_test_add_func ("/oc-framer/random-chunks", test_random_chunks);
  return g_test_run ();
}
