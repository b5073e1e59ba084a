/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "fc-tus-upload.h"

G_BEGIN_DECLS

/* Shared by the tus tests: a client session, test files and a way to run
 * an upload to its end with bounded time. */

SoupSession *tus_test_session     (void);
/* A file of @size random bytes (seeded) in @dir; returns its path. */
char        *tus_test_write_file  (const char *dir,
                                   const char *name,
                                   gsize       size,
                                   guint32     seed);
char        *tus_test_sha256_file (const char *path);
/* Deletes @dir and the files in it. */
void         tus_test_remove_dir  (const char *dir);

/* Everything a test wants to know about one run. */
typedef struct {
  FcTusUpload *upload;
  GPtrArray   *states;        /* FcTusState * copies, in order */
  guint64      last_progress;
  guint64      progress_total;
  double       last_rate;
  guint        progress_calls;
  guint        progress_backwards;
  /* Called from "state-changed" after the copy is stored. */
  void       (*on_state) (gpointer user_data, const FcTusState *state);
  gpointer     on_state_data;
} TusWatch;

TusWatch    *tus_watch_new        (FcTusUpload *upload);
void         tus_watch_free       (TusWatch    *watch);
/* The last stored state (the one a crash would leave), or NULL. */
const FcTusState *tus_watch_last  (TusWatch    *watch);

/* Runs @upload to its end (at most @timeout_s seconds, then the test
 * fails); returns the run's result and sets @error. */
gboolean     tus_test_run         (FcTusUpload  *upload,
                                   GCancellable *cancellable,
                                   guint         timeout_s,
                                   GError      **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TusWatch, tus_watch_free)

G_END_DECLS
