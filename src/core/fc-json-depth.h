/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * json-glib parses recursively and has no depth limit: a peer that sends
 * a few hundred kilobytes of '[' exhausts the stack (sooner on Windows,
 * whose main thread has 1 MiB). Every parser of bytes from the network
 * asks this first.
 *
 * TRUE when @data never nests objects and arrays deeper than @max_depth,
 * counting brackets outside strings; whether it is JSON at all is left
 * to the parser.
 */
gboolean fc_json_depth_ok (const guint8 *data,
                           gsize         len,
                           guint         max_depth);

G_END_DECLS
