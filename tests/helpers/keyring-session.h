/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * A private D-Bus session for keyring tests: its own dbus-daemon (with
 * no service activation, so nothing starts behind the test's back) and,
 * unless told otherwise, a gnome-keyring-daemon with a fresh HOME in a
 * temporary folder. The shop machine's keyring is never touched.
 */
typedef enum {
  KEYRING_UNLOCKED,   /* login keyring created and unlocked with a password */
  KEYRING_NO_UNLOCK,  /* gnome-keyring started without --unlock: no usable login keyring */
  KEYRING_ABSENT,     /* a session bus with no Secret Service on it */
} KeyringMode;

typedef struct _KeyringSession KeyringSession;

/* Skips-worthy failures (programs not installed) are reported in
 * @error; the caller decides. Waits (bounded) until the Secret Service
 * answers on the bus. */
KeyringSession *keyring_session_start   (KeyringMode          mode,
                                         GError             **error);
/* DBUS_SESSION_BUS_ADDRESS for programs and subprocesses. */
const char     *keyring_session_address (KeyringSession      *session);
void            keyring_session_setenv  (KeyringSession      *session,
                                         GSubprocessLauncher *launcher);
void            keyring_session_stop    (KeyringSession      *session);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KeyringSession, keyring_session_stop)

/*
 * libsecret and GDBus keep one session bus per process, so keyring cases
 * run in g_test_trap_subprocess() children. The bus address reaches the
 * child through a file named in the environment at start-up, because
 * setenv() is unsafe once the parent has threads (GDBus, GSubprocess).
 *
 * keyring_trap_init():        in main(), before anything starts a thread
 * keyring_trap_set_address(): in the parent, before trapping
 * keyring_trap_enter():       first thing in the child
 * keyring_trap_cleanup():     at the end of main()
 */
void            keyring_trap_init        (void);
void            keyring_trap_set_address (const char          *address);
void            keyring_trap_enter       (void);
/* At the end of main(): removes the file (not in trapped children). */
void            keyring_trap_cleanup     (void);

/* Removes a temporary folder and everything in it (the session's own,
 * or a test's). */
void            remove_tree              (const char          *path);

G_END_DECLS
