/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * The simulator (fitclip-lmsim, $FITCLIP_LMSIM) as a separate process in
 * the monitors tests: batch runs whose whole output is read when they end
 * (clients that send a number of shots), and line runs read as they go
 * (the TrackMan unit, which runs until Ctrl-C).
 */
typedef struct {
  GSubprocess      *proc;
  /* batch runs, once done */
  char             *out;
  char             *err;
  gboolean          done;
  /* line runs */
  GDataInputStream *lines;
} LmsimRun;

/* "fitclip-lmsim MODE [TARGET] EXTRA..." as a batch run. */
LmsimRun *lmsim_run_start       (const char         *mode,
                                 const char         *target,
                                 const char * const *extra);
/* Runs the main context until every run is done; fails the test after
 * @timeout_s. */
void      lmsim_run_wait        (LmsimRun          **runs,
                                 guint               n,
                                 guint               timeout_s);
/* The run exited 0 and its summary begins "sent=N acknowledged=N ". */
void      lmsim_run_assert_all_acknowledged (LmsimRun *run,
                                             guint     n);

/* PREFIX... (e.g. "ip netns exec NS"; may be NULL) "fitclip-lmsim MODE
 * ARGS..." with stdout read line by line; @launcher may be NULL. */
LmsimRun *lmsim_run_spawn_lines (GSubprocessLauncher *launcher,
                                 const char * const  *prefix,
                                 const char          *mode,
                                 const char * const  *args);
/* The next stdout line, NULL at the end. */
char     *lmsim_run_read_line   (LmsimRun          *run);
/* Ctrl-C, then the last stdout line (the summary); the run must exit 0. */
char     *lmsim_run_interrupt   (LmsimRun          *run);

/* Stops the process if it still runs. */
void      lmsim_run_free        (LmsimRun          *run);

/* The number after " KEY=" (or "KEY=" at the start) in a summary line. */
guint     lmsim_summary_value   (const char        *summary,
                                 const char        *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LmsimRun, lmsim_run_free)

G_END_DECLS
