/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LmsimConnection, lmsim_connection_free)

G_END_DECLS
