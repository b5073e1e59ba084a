/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/*
 * The end of every sync test: does the cloud hold exactly what the agent
 * holds? @dump is `fitclip-devcloud dump`; @exports are the agent's
 * `fitclipctl export FITTING --format json` documents, one per fitting
 * that must be in the cloud. Every member the agent exports for a
 * fitting, its customer, configurations and shots must be in the cloud
 * with the same value (same UUIDs, same numbers bit for bit through the
 * shortest round-trip JSON), with no shot missing and none extra (no
 * duplicates). @videos maps a fitting id to the SHA-256 (hex) of the
 * recap the cloud must hold, whose stored bytes must hash the same.
 *
 * Returns FALSE and describes the first differences in @report.
 */
gboolean sync_compare (JsonNode   *dump,
                       GPtrArray  *exports,
                       GHashTable *videos,
                       GString    *report);

G_END_DECLS
