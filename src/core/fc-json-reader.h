/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * Reading JSON that came from the network with json-glib, where its
 * defaults are not enough for bytes a peer chose.
 */

/* json-glib parses recursively and has no depth limit: a peer that sends
 * a few hundred kilobytes of '[' exhausts the stack (sooner on Windows,
 * whose main thread has 1 MiB). Every parser of bytes from the network
 * asks this first.
 *
 * TRUE when @data never nests objects and arrays deeper than @max_depth,
 * counting brackets outside strings; whether it is JSON at all is left
 * to the parser. */
gboolean fc_json_depth_ok      (const guint8 *data,
                                gsize         len,
                                guint         max_depth);

/* A duration in seconds (a token's expires_in), read as
 * json_node_get_int() reads a value (null and strings 0, booleans 0 or
 * 1, doubles truncated) but without json-glib's critical on an object or
 * array (0), and kept between 0 and G_MAXINT32 so that it can be turned
 * into microseconds. @node may be NULL (0). */
gint64   fc_json_node_seconds  (JsonNode     *node);

/* A string member, or NULL when absent or not a string (json-glib's
 * _with_default getters are critical on objects and arrays). @object
 * may be NULL. */
const char *fc_json_get_string (JsonObject   *object,
                                const char   *member);

/* A string member as text to show or store: NULL when absent or not a
 * string; made valid UTF-8 otherwise. json-glib checks that its input is
 * UTF-8, not what the escapes in it decode to ("\202" is the byte 0x82). */
char    *fc_json_dup_text      (JsonObject   *object,
                                const char   *member);

/* The same member when it is a string of valid UTF-8, else NULL: for
 * identifiers and secrets, which must not be altered. */
const char *fc_json_get_utf8   (JsonObject   *object,
                                const char   *member);

G_END_DECLS
