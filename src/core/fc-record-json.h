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
typedef enum {
  FC_SHOT_JSON_DEFAULT    = 0,
  FC_SHOT_JSON_WITH_RAW   = 1 << 0,  /* raw payload as base64 (exports) */
  FC_SHOT_JSON_SKIP_NULLS = 1 << 1,  /* leave out unmeasured values (outbox payloads) */
} FcShotJsonFlags;

void        fc_json_write_shot        (FcJsonWriter       *writer,
                                       const FcShot       *shot,
                                       FcShotJsonFlags     flags);

/* Convenience: one record as compact JSON text. */
char       *fc_shot_to_json           (const FcShot       *shot,
                                       FcShotJsonFlags     flags);

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
