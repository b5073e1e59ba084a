/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A random (version 4) UUID in lower-case text form, as
 * g_uuid_string_random() makes them, without its printf: the store makes
 * one per imported shot. */
char *fc_uuid_new (void);

G_END_DECLS
