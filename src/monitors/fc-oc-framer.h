/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * GSPro Open Connect has no framing: JSON objects follow each other on
 * the TCP stream, pretty-printed or compact, with or without newlines,
 * split and coalesced by TCP at will. The framer finds each top-level
 * object by counting braces outside strings (quotes and backslash
 * escapes respected), caps a message's size, and resynchronises at the
 * next '{' after anything that is not an object.
 */
typedef struct _FcOcFramer FcOcFramer;

#define FC_OC_DEFAULT_MAX_MESSAGE (64 * 1024)

FcOcFramer *fc_oc_framer_new               (gsize       max_message);
void        fc_oc_framer_free              (FcOcFramer *framer);

/* Feeds received bytes. Every complete top-level object is appended to
 * @messages as a GBytes holding exactly its bytes, '{' to the matching
 * '}'. Bytes outside objects (whitespace excepted) count as garbage; an
 * object longer than the cap is dropped whole (counted as oversize) and
 * the framer skips to its end without buffering it. */
void        fc_oc_framer_push              (FcOcFramer   *framer,
                                            const guint8 *data,
                                            gsize         len,
                                            GPtrArray    *messages);

guint64     fc_oc_framer_get_garbage_bytes (FcOcFramer *framer);
guint       fc_oc_framer_get_oversize_count (FcOcFramer *framer);
/* Bytes held for an incomplete message (never more than the cap). */
gsize       fc_oc_framer_get_buffered      (FcOcFramer *framer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcOcFramer, fc_oc_framer_free)

G_END_DECLS
