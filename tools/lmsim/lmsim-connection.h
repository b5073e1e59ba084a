/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "lmsim-shots.h"

G_BEGIN_DECLS

/*
 * The TCP side shared by the modes that dial a receiver and talk JSON
 * objects without framing (Open Connect, Garmin E6): connecting with a
 * doubling back-off until a give-up time, reconnecting after a drop,
 * whole writes, timed reads, and a framer for what the receiver says.
 * Blocking sockets with short timed waits, like the modes themselves.
 */
typedef struct _LmsimConnection LmsimConnection;

typedef struct {
  /* A connection was made (the first, or again after a drop). */
  void (*connected) (LmsimConnection *conn,
                     gpointer         user_data);
  /* The connection was closed, by lmsim_connection_drop() or because a
   * read or write failed: whatever was owed on it will never come. */
  void (*dropped)   (LmsimConnection *conn,
                     gpointer         user_data);
} LmsimConnectionHooks;

/* @address "HOST[:PORT]"; NULL with @error when it cannot be parsed. */
LmsimConnection *lmsim_connection_new         (const char                 *address,
                                               guint16                     default_port,
                                               double                      give_up_s,
                                               gboolean                    verbose,
                                               GError                    **error);
/* The same for the HOST[:PORT] of a mode's command line: NULL with the
 * problem and @context's help printed and *status set when it cannot be
 * parsed. */
LmsimConnection *lmsim_connection_new_from_command_line (GOptionContext *context,
                                                         const char     *address,
                                                         guint16         default_port,
                                                         double          give_up_s,
                                                         gboolean        verbose,
                                                         int            *status);
void             lmsim_connection_free        (LmsimConnection            *conn);
void             lmsim_connection_set_hooks   (LmsimConnection            *conn,
                                               const LmsimConnectionHooks *hooks,
                                               gpointer                    user_data);

/* Connects if needed, retrying with a doubling back-off (100 ms to 2 s)
 * until give_up_s have passed since the connection was lost (or since
 * the first attempt). FALSE on Ctrl-C or when it gave up. */
gboolean         lmsim_connection_ensure      (LmsimConnection            *conn);
gboolean         lmsim_connection_is_connected (LmsimConnection           *conn);
gboolean         lmsim_connection_gave_up     (LmsimConnection            *conn);
/* Closes the connection (if any) and says why on stderr. */
void             lmsim_connection_drop        (LmsimConnection            *conn,
                                               const char                 *why);

/* Writes all of @data; on failure the connection is dropped. */
gboolean         lmsim_connection_write       (LmsimConnection            *conn,
                                               const void                 *data,
                                               gsize                       len);

typedef enum {
  LMSIM_RECEIVE_DATA,      /* bytes arrived: take the frames */
  LMSIM_RECEIVE_TIMEOUT,   /* nothing within the wait */
  LMSIM_RECEIVE_DROPPED,   /* the connection failed or was closed */
} LmsimReceive;

/* Waits up to @wait_us for the receiver and reads what arrived. */
LmsimReceive     lmsim_connection_receive     (LmsimConnection            *conn,
                                               gint64                      wait_us);
/* The next complete JSON object the receiver sent, or NULL. */
GBytes          *lmsim_connection_next_frame  (LmsimConnection            *conn);

const char      *lmsim_connection_get_address (LmsimConnection            *conn);
/* Connections made and dropped so far. */
guint            lmsim_connection_get_connections (LmsimConnection        *conn);
guint            lmsim_connection_get_drops   (LmsimConnection            *conn);

/* A mode's part of lmsim_connection_run_shots(). */
typedef struct {
  /* Waits until @until (monotonic µs) while the receiver is kept
   * talking; FALSE when the run must stop. */
  gboolean (*idle_until)        (gpointer      user_data,
                                 gint64        until);
  /* Sends shot @number (from 1) until it is answered or given up on. */
  void     (*run_shot)          (gpointer      user_data,
                                 const FcShot *shot,
                                 guint         number);
  /* Optional: the mode's own faults after shot @number. */
  void     (*after_shot)        (gpointer      user_data,
                                 guint         number);
  /* After --fault-disconnect-every, connect again at once (and stop if
   * that fails) rather than when the next shot needs it. */
  gboolean reconnect_at_once;
} LmsimShotLoop;

/* The shots of @source as --count and --rate ask, until the connection
 * gave up or Ctrl-C; closes the connection after every @disconnect_every
 * shots (0: never) but the last, after the mode's own faults. */
void             lmsim_connection_run_shots   (LmsimConnection            *conn,
                                               LmsimShotSource            *source,
                                               const LmsimShotOptions     *options,
                                               int                         disconnect_every,
                                               const LmsimShotLoop        *loop,
                                               gpointer                    user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LmsimConnection, lmsim_connection_free)

G_END_DECLS
