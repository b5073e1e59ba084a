/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * A token bucket shared by every request body of one upload, so that a
 * bandwidth cap holds across chunks. Reference counted because libsoup
 * may keep a body stream a little longer than the upload keeps itself.
 * Main thread only.
 */
typedef struct {
  guint64 rate;       /* bytes per second; 0 for no limit */
  double  tokens;
  gint64  updated_at; /* monotonic µs */
} FcTusBucket;

FcTusBucket *fc_tus_bucket_new    (void);
FcTusBucket *fc_tus_bucket_ref    (FcTusBucket *bucket);
void         fc_tus_bucket_unref  (FcTusBucket *bucket);
void         fc_tus_bucket_set_rate (FcTusBucket *bucket,
                                     guint64      bytes_per_second);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcTusBucket, fc_tus_bucket_unref)

/*
 * FcTusBodyStream: a PATCH body. It hands out at most @length bytes,
 * either from a chunk already in memory or from a stream positioned at
 * the chunk's offset, and no faster than the bucket allows: a read that
 * finds the bucket empty waits on a main-loop timeout, never by sleeping.
 */
#define FC_TYPE_TUS_BODY_STREAM (fc_tus_body_stream_get_type ())
G_DECLARE_FINAL_TYPE (FcTusBodyStream, fc_tus_body_stream, FC, TUS_BODY_STREAM, GInputStream)

GInputStream *fc_tus_body_stream_new_for_bytes  (GBytes       *bytes,
                                                 FcTusBucket  *bucket);
/* Takes a reference on @base, which it reads from its current position
 * and closes when the body is closed. */
GInputStream *fc_tus_body_stream_new_for_stream (GInputStream *base,
                                                 guint64       length,
                                                 FcTusBucket  *bucket);

G_END_DECLS
