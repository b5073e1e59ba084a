/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "fc-json-writer.h"
#include "fc-model.h"
#include "fc-shot.h"

G_BEGIN_DECLS

/*
 * JSON form of each record: used in exports, in outbox payloads and (with
 * the same names) by the cloud API. docs/shot-schema.md describes it.
 * Absent values are written as null so every record has every key.
 */
void        fc_json_write_customer    (FcJsonWriter       *writer,
                                       const FcCustomer   *customer);
void        fc_json_write_fitting     (FcJsonWriter       *writer,
                                       const FcFitting    *fitting);
void        fc_json_write_club_config (FcJsonWriter       *writer,
                                       const FcClubConfig *config);
/* @with_raw: include the raw payload (base64) and its source. */
void        fc_json_write_shot        (FcJsonWriter       *writer,
                                       const FcShot       *shot,
                                       gboolean            with_raw);

/* Convenience: one record as compact JSON text. */
char       *fc_shot_to_json           (const FcShot       *shot,
                                       gboolean            with_raw);

/* Readers: strict about types, tolerant of missing optional keys.
 * @where names the place in the file for error messages. */
FcCustomer   *fc_json_read_customer    (JsonObject  *object,
                                        const char  *where,
                                        GError     **error);
FcFitting    *fc_json_read_fitting     (JsonObject  *object,
                                        const char  *where,
                                        GError     **error);
FcClubConfig *fc_json_read_club_config (JsonObject  *object,
                                        const char  *where,
                                        GError     **error);
FcShot       *fc_json_read_shot        (JsonObject  *object,
                                        const char  *where,
                                        GError     **error);

G_END_DECLS
