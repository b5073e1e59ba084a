/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fuzz-driver"

/*
 * A stand-in for libFuzzer where only gcc is available (CI, `meson
 * test`): runs every file of the seed corpus through
 * LLVMFuzzerTestOneInput, then a seeded mutation loop (bit flips,
 * truncation, splicing, inserted braces, quotes and escapes, JSON
 * tokens) until FUZZ_SECONDS (default 20) have passed or FUZZ_RUNS
 * inputs have run. It finds less than coverage-guided fuzzing; it keeps
 * the invariants checked on every build. See README.md for the real
 * libFuzzer build.
 *
 * Environment: FUZZ_CORPUS (directory; or pass paths as arguments),
 * FUZZ_DICT (a libFuzzer dictionary of the target's tokens),
 * FUZZ_SECONDS, FUZZ_RUNS, FUZZ_SEED. A crashing input is written to
 * ./fuzz-crash-<seed>-<run>.bin before the process dies.
 */

#include <glib.h>
#include <glib/gstdio.h>

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)
#define MAX_POOL  512

/* For the crash handler: the input being run, and its name. */
static const guint8 *current_data;
static gsize current_size;
static char crash_path[256];

static void
on_crash (int sig)
{
  if (current_data != NULL && crash_path[0] != '\0')
    {
      int fd = open (crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

      if (fd >= 0)
        {
          ssize_t ignored = write (fd, current_data, current_size);

          (void) ignored;
          close (fd);
        }
    }
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
run_one (GByteArray *input,
         guint64     seed,
         guint64     run)
{
  g_snprintf (crash_path, sizeof crash_path, "fuzz-crash-%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT ".bin",
              seed, run);
  current_data = input->data;
  current_size = input->len;
  LLVMFuzzerTestOneInput (input->data, input->len);
  current_data = NULL;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
load_path (const char *path,
           GPtrArray  *pool)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len;
  GByteArray *bytes;

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, &error);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;

      if (dir == NULL)
        g_error ("corpus %s: %s", path, error->message);
      while ((name = g_dir_read_name (dir)) != NULL)
        if (name[0] != '.')
          g_ptr_array_add (names, g_build_filename (path, name, NULL));
      /* Sorted, so that a seed means the same run everywhere. */
      g_ptr_array_sort (names, compare_names);
      for (guint i = 0; i < names->len; i++)
        load_path (g_ptr_array_index (names, i), pool);
      return;
    }

  if (!g_file_get_contents (path, &contents, &len, &error))
    g_error ("corpus %s: %s", path, error->message);
  bytes = g_byte_array_sized_new (len);
  g_byte_array_append (bytes, (const guint8 *) contents, len);
  g_ptr_array_add (pool, bytes);
}

/* Fragments a JSON-aware mutator inserts: structure, the quirks the
 * parser handles, and the numbers that find edge cases. */
static const char *tokens[] = {
  "{", "}", "\"", "\\", "\\\"", "\\\\", ":", ",", "[", "]", "{}", "[]", " ", "\n", "\r\n", "\t",
  "null", "true", "false", "\"true\"", "\"false\"", "\"0\"", "\"1\"", "\"\"", "0", "-0", "0.0",
  "1e309", "-1e309", "1e-320", "9223372036854775807", "-9223372036854775808", "18446744073709551616",
  "\"nan\"", "\"inf\"", "\" 147.5 \"", "147.5", "-13.2", "\"\\u0000\"", "\"\\ud800\"", "\xff", "\xc3\xa9",
  "\"BallData\":", "\"ClubData\":", "\"ShotDataOptions\":", "\"Speed\":", "\"TotalSpin\":",
  "\"BackSpin\":", "\"Backspin\":", "\"SideSpin\":", "\"SpinAxis\":", "\"CarryDistance\":",
  "\"IsHeartBeat\":", "\"ContainsBallData\":", "\"ContainsClubData\":", "\"APIversion\":",
  "\"ShotNumber\":", "\"Units\":\"Meters\"", "\"Units\":\"Yards\"", "\"DeviceID\":", "\"ClubName\":",
  "\"LaunchMonitorIsReady\":", "\"VerticalFaceImpact\":",
};

/* Tokens of the target's own protocol, from a libFuzzer dictionary
 * (FUZZ_DICT): the same file serves both drivers. */
static GPtrArray *dict;

static int
hex_digit (char c)
{
  return g_ascii_isxdigit (c) ? g_ascii_xdigit_value (c) : -1;
}

/* libFuzzer's format: one token a line, `name="value"` or `"value"`,
 * with \\, \" and \xAB escapes; '#' starts a comment line. */
static void
load_dict (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &error))
    g_error ("dictionary %s: %s", path, error->message);
  dict = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *p = g_strstrip (lines[i]);
      g_autoptr(GByteArray) token = g_byte_array_new ();
      const char *end;

      if (*p == '\0' || *p == '#')
        continue;
      p = strchr (p, '"');
      end = p ? strrchr (p, '"') : NULL;
      if (p == NULL || end == p)
        g_error ("dictionary %s, line %u: no quoted token", path, i + 1);
      for (p++; p < end; p++)
        {
          guint8 c = (guint8) *p;

          if (c == '\\' && p + 1 < end)
            {
              p++;
              if (*p == 'x' && p + 2 < end && hex_digit (p[1]) >= 0 && hex_digit (p[2]) >= 0)
                {
                  c = (guint8) (hex_digit (p[1]) * 16 + hex_digit (p[2]));
                  p += 2;
                }
              else
                c = (guint8) *p;
            }
          g_byte_array_append (token, &c, 1);
        }
      g_ptr_array_add (dict, g_byte_array_free_to_bytes (g_steal_pointer (&token)));
    }
}

static guint32
rnd (GRand   *rand,
     guint32  bound)
{
  return bound == 0 ? 0 : g_rand_int_range (rand, 0, (gint32) bound);
}

static void
insert_bytes (GByteArray   *a,
              gsize         at,
              const guint8 *data,
              gsize         len)
{
  gsize old = a->len;

  g_byte_array_set_size (a, old + len);
  memmove (a->data + at + len, a->data + at, old - at);
  memcpy (a->data + at, data, len);
}

static void
mutate (GByteArray *a,
        GPtrArray  *pool,
        GRand      *rand)
{
  guint steps = 1 + rnd (rand, 4);

  for (guint s = 0; s < steps; s++)
    {
      gsize at = rnd (rand, a->len + 1);

      switch (rnd (rand, 10))
        {
        case 0:   /* bit flip */
          if (a->len > 0)
            a->data[at % a->len] ^= 1u << rnd (rand, 8);
          break;
        case 1:   /* random byte */
          if (a->len > 0)
            a->data[at % a->len] = (guint8) rnd (rand, 256);
          break;
        case 2:   /* truncate */
          g_byte_array_set_size (a, at);
          break;
        case 3:   /* delete a range */
          if (at < a->len)
            {
              gsize n = 1 + rnd (rand, 32);   /* never inside MIN(): evaluated twice */

              g_byte_array_remove_range (a, at, MIN (a->len - at, n));
            }
          break;
        case 4:   /* a brace, quote or backslash */
          {
            static const char structural[] = "{}\"\\[],:";
            guint8 c = (guint8) structural[rnd (rand, sizeof structural - 1)];

            insert_bytes (a, at, &c, 1);
          }
          break;
        case 5:
        case 6:   /* a token, of the dictionary half of the time when there is one */
          if (dict != NULL && dict->len > 0 && rnd (rand, 2))
            {
              GBytes *t = g_ptr_array_index (dict, rnd (rand, dict->len));
              gsize n;
              const guint8 *bytes = g_bytes_get_data (t, &n);

              insert_bytes (a, at, bytes, n);
            }
          else
            {
              const char *t = tokens[rnd (rand, G_N_ELEMENTS (tokens))];

              insert_bytes (a, at, (const guint8 *) t, strlen (t));
            }
          break;
        case 7:   /* splice: our head, another input's tail */
          {
            GByteArray *other = g_ptr_array_index (pool, rnd (rand, pool->len));
            gsize from = rnd (rand, other->len + 1);

            g_byte_array_set_size (a, at);
            g_byte_array_append (a, other->data + from, other->len - from);
          }
          break;
        case 8:   /* concatenate another whole input (coalesced messages) */
          {
            GByteArray *other = g_ptr_array_index (pool, rnd (rand, pool->len));

            if (rnd (rand, 2))
              insert_bytes (a, a->len, (const guint8 *) "\n", 1);
            insert_bytes (a, a->len, other->data, other->len);
          }
          break;
        default:  /* duplicate a range (nesting, repeated keys) */
          if (at < a->len)
            {
              gsize n = 1 + rnd (rand, 64);
              g_autofree guint8 *copy = NULL;

              n = MIN (a->len - at, n);
              copy = g_memdup2 (a->data + at, n);
              insert_bytes (a, at + rnd (rand, (guint32) n + 1), copy, n);
            }
          break;
        }
      if (a->len > FUZZ_MAX_INPUT)
        g_byte_array_set_size (a, FUZZ_MAX_INPUT);
    }
}

static guint64
env_u64 (const char *name,
         guint64     fallback)
{
  const char *text = g_getenv (name);

  return text != NULL && *text != '\0' ? g_ascii_strtoull (text, NULL, 10) : fallback;
}

int
main (int argc, char *argv[])
{
  g_autoptr(GPtrArray) pool = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  g_autoptr(GRand) rand = NULL;
  const char *corpus = g_getenv ("FUZZ_CORPUS");
  guint64 seconds = env_u64 ("FUZZ_SECONDS", 20);
  guint64 max_runs = env_u64 ("FUZZ_RUNS", 0);
  guint64 seed = env_u64 ("FUZZ_SEED", 921);
  guint64 runs = 0;
  guint corpus_size;
  gint64 start, deadline, elapsed;
  g_autofree char *name = g_path_get_basename (argv[0]);

  {
    /* A stack overflow (deep JSON) raises SIGSEGV with no stack left:
     * the handler runs on its own, so that the input is still saved. */
    static guint8 alt_stack[64 * 1024];
    stack_t ss = { .ss_sp = alt_stack, .ss_size = sizeof alt_stack };
    struct sigaction sa = { .sa_handler = on_crash, .sa_flags = SA_ONSTACK };

    sigaltstack (&ss, NULL);
    sigemptyset (&sa.sa_mask);
    sigaction (SIGABRT, &sa, NULL);
    sigaction (SIGSEGV, &sa, NULL);
    sigaction (SIGBUS, &sa, NULL);
    sigaction (SIGTRAP, &sa, NULL);   /* g_error() under G_DEBUG=fatal-* */
  }
  if (g_getenv ("FUZZ_DICT") != NULL && *g_getenv ("FUZZ_DICT") != '\0')
    load_dict (g_getenv ("FUZZ_DICT"));

  for (int i = 1; i < argc; i++)
    load_path (argv[i], pool);
  if (argc < 2 && corpus != NULL)
    load_path (corpus, pool);
  if (pool->len == 0)
    {
      /* Never a pass that tested nothing. */
      g_printerr ("fuzz-driver: no corpus (set FUZZ_CORPUS or pass files)\n");
      return 1;
    }
  corpus_size = pool->len;

  start = g_get_monotonic_time ();
  for (guint i = 0; i < corpus_size; i++)
    run_one (g_ptr_array_index (pool, i), seed, runs++);

  rand = g_rand_new_with_seed ((guint32) seed);
  deadline = start + (gint64) seconds * G_USEC_PER_SEC;
  while (max_runs == 0 ? g_get_monotonic_time () < deadline : runs < max_runs)
    {
      GByteArray *parent = g_ptr_array_index (pool, rnd (rand, pool->len));
      g_autoptr(GByteArray) child = g_byte_array_sized_new (parent->len + 64);

      g_byte_array_append (child, parent->data, parent->len);
      mutate (child, pool, rand);
      run_one (child, seed, runs++);

      /* Keep some children as parents, so mutations stack up; the
       * corpus itself is never evicted. */
      if (rnd (rand, 8) == 0)
        {
          if (pool->len < MAX_POOL)
            g_ptr_array_add (pool, g_byte_array_ref (child));
          else
            {
              guint victim = corpus_size + rnd (rand, MAX_POOL - corpus_size);

              g_byte_array_unref (pool->pdata[victim]);
              pool->pdata[victim] = g_byte_array_ref (child);
            }
        }
    }

  elapsed = g_get_monotonic_time () - start;
  g_print ("%s: %u corpus inputs, %" G_GUINT64_FORMAT " inputs ran in %.1f s "
           "(%.0f exec/s), seed %" G_GUINT64_FORMAT ", no failures\n",
           name, corpus_size, runs, elapsed / 1e6,
           elapsed > 0 ? runs / (elapsed / 1e6) : 0.0, seed);
  return 0;
}
