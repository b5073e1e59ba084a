/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A small streaming JSON writer. We write JSON ourselves, instead of
 * through JsonGenerator, for two reasons: numbers are written in their
 * shortest form that reads back to the same double (so exports are
 * readable and round-trip exactly), and keys keep the schema's order.
 */
typedef struct _FcJsonWriter FcJsonWriter;

FcJsonWriter *fc_json_writer_new          (gboolean      pretty);
void          fc_json_writer_free         (FcJsonWriter *writer);
/* Returns the text and frees the writer. */
char         *fc_json_writer_steal        (FcJsonWriter *writer,
                                           gsize        *length);

void fc_json_writer_begin_object (FcJsonWriter *writer);
void fc_json_writer_end_object   (FcJsonWriter *writer);
void fc_json_writer_begin_array  (FcJsonWriter *writer);
void fc_json_writer_end_array    (FcJsonWriter *writer);
void fc_json_writer_key          (FcJsonWriter *writer,
                                  const char   *key);
void fc_json_writer_string       (FcJsonWriter *writer,
                                  const char   *value);   /* NULL writes null */
void fc_json_writer_double       (FcJsonWriter *writer,
                                  double        value);   /* NAN writes null */
void fc_json_writer_int          (FcJsonWriter *writer,
                                  gint64        value);
void fc_json_writer_boolean      (FcJsonWriter *writer,
                                  gboolean      value);
void fc_json_writer_null         (FcJsonWriter *writer);

/* Shortest decimal text that reads back (g_ascii_strtod) to @value. */
void fc_format_double_shortest   (char         *buf,
                                  gsize         len,
                                  double        value);

/* ISO 8601 UTC with microseconds ("2026-11-21T22:43:49.123456Z") and back. */
char    *fc_format_timestamp     (gint64        unix_us);
gboolean fc_parse_timestamp      (const char   *text,
                                  gint64       *unix_us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcJsonWriter, fc_json_writer_free)

G_END_DECLS
