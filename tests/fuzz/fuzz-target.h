/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <signal.h>
#include <stdlib.h>

/*
 * What the targets share, in both drivers (libFuzzer and fuzz-driver.c).
 */

static void
fuzz_trap_to_abort (int sig)
{
  (void) sig;
  abort ();
}

/* Once, before the first input: a GLib critical or warning is a bug in
 * our code (e.g. a json-glib getter on the wrong node type), so it is
 * made fatal; and since GLib stops on a fatal message with a breakpoint
 * (SIGTRAP), which libFuzzer does not catch, the trap becomes an abort,
 * which both drivers catch and save the input of. */
static inline void
fuzz_target_init (void)
{
  static gboolean initialised;

  if (initialised)
    return;
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_ERROR);
  signal (SIGTRAP, fuzz_trap_to_abort);
  initialised = TRUE;
}

/*
 * How the stream targets split their input into the pushes a socket
 * would deliver: sizes from a hash of the input, so that each input
 * splits the same way every time and different inputs split
 * differently (one byte, a few, up to 1 KiB, the rest).
 */

static inline guint32
fuzz_chunk_seed (const guint8 *data,
                 gsize         size)
{
  guint32 seed = 0x9e3779b9;

  for (gsize i = 0; i < size; i++)
    seed = (seed ^ data[i]) * 16777619u;
  return seed;
}

/* The next chunk's size, at most @left. */
static inline gsize
fuzz_next_chunk (guint32 *seed,
                 gsize    left)
{
  gsize n;

  *seed = *seed * 1103515245u + 12345u;
  switch ((*seed >> 16) & 3)
    {
    case 0:  n = 1; break;
    case 1:  n = 1 + ((*seed >> 8) & 15); break;
    case 2:  n = 1 + ((*seed >> 4) & 1023); break;
    default: n = left; break;
    }
  return MIN (n, left);
}
