/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "lmsim-shots.h"

G_BEGIN_DECLS

/* Exit status of every mode: 0 every shot was delivered, 1 some were not
 * (or a file could not be written), 2 the command line was wrong. */
#define LMSIM_EXIT_OK     0
#define LMSIM_EXIT_FAILED 1
#define LMSIM_EXIT_USAGE  2

/* Prints "fitclip-lmsim: MESSAGE" and the mode's help on stderr and
 * returns LMSIM_EXIT_USAGE. */
int      lmsim_usage_error (GOptionContext *context,
                            const char     *message);

/* The common part of every mode's command line: adds @entries and the
 * shot options to @context, puts @help (may be NULL) and the club list
 * under the options in --help, parses, and checks that exactly one
 * @arg_name was given and that the shot options make sense. On FALSE,
 * *status holds the exit status and the problem has been printed. */
gboolean         lmsim_parse_command_line (GOptionContext      *context,
                                           const GOptionEntry  *entries,
                                           const char          *help,
                                           const char          *arg_name,
                                           LmsimShotOptions    *shot_options,
                                           int                 *argc,
                                           char              ***argv,
                                           int                 *status);

/* The shot source the options ask for, announced on stderr; NULL with
 * the reason printed and *status set when, e.g., a replay file is bad. */
LmsimShotSource *lmsim_open_shot_source   (const LmsimShotOptions *options,
                                           int                    *status);

/* TRUE once the user pressed Ctrl-C: modes stop after the current shot
 * and still print their summary, which is what a test script wants. */
gboolean lmsim_interrupted (void);

/* Prints "fitclip-lmsim: TEXT" on stderr when @show (a mode passes
 * TRUE for events, its --verbose flag for details). */
void     lmsim_say         (gboolean    show,
                            const char *format,
                            ...) G_GNUC_PRINTF (2, 3);

/* Sleeps until @until (monotonic µs), waking early on Ctrl-C. */
void     lmsim_sleep_until (gint64 until);

/* One entry point per device mode; argv[0] is the mode name. */
int      lmsim_open_connect_main (int    argc,
                                  char **argv);
int      lmsim_lastshot_main     (int    argc,
                                  char **argv);
int      lmsim_e6_main           (int    argc,
                                  char **argv);
int      lmsim_trackman_main     (int    argc,
                                  char **argv);

G_END_DECLS
