/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-shot.h"

G_BEGIN_DECLS

/*
 * Where the simulated shots come from, shared by every device mode: a
 * seeded generator with a plausible distribution per club, or the shots
 * of an export file replayed in order. Shots are FcShot values in SI, so
 * each mode converts to its device's units exactly like a real device.
 */
typedef struct {
  int       count;      /* shots to produce; 0 = until Ctrl-C */
  double    rate;       /* shots per second; 0 = as fast as the mode can */
  char     *club;       /* a club name (see lmsim_clubs_help) or "bag" */
  gint64    seed;       /* -1: pick one and say which */
  char     *replay;     /* export file to replay instead of generating */
  gboolean  ball_only;  /* drop club data, like a monitor without club sensing */
} LmsimShotOptions;

void      lmsim_shot_options_init     (LmsimShotOptions *options);
void      lmsim_shot_options_clear    (LmsimShotOptions *options);
/* Adds --count, --rate, --club, --seed, --replay and --ball-only. */
void      lmsim_shot_options_add      (LmsimShotOptions *options,
                                       GOptionContext   *context);
/* NULL when the options are consistent, else a usage message. */
const char *lmsim_shot_options_check  (const LmsimShotOptions *options);
/* Monotonic time at which shot @index (0-based) is due, for --rate. */
gint64    lmsim_shot_options_due_time (const LmsimShotOptions *options,
                                       gint64                  start,
                                       guint                   index);

typedef struct _LmsimShotSource LmsimShotSource;

LmsimShotSource *lmsim_shot_source_new      (const LmsimShotOptions *options,
                                             GError                **error);
void             lmsim_shot_source_free     (LmsimShotSource        *source);
/* A new shot; never NULL. A replay starts again after the last shot. */
FcShot          *lmsim_shot_source_next     (LmsimShotSource        *source);
/* One line for people, e.g. "7-iron generator, seed 42". */
const char      *lmsim_shot_source_describe (LmsimShotSource        *source);

/* The --club names with their Open Connect codes, for --help. */
char            *lmsim_clubs_help           (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LmsimShotSource, lmsim_shot_source_free)

G_END_DECLS
