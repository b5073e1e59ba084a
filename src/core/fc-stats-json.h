/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "fc-json-writer.h"
#include "fc-model.h"
#include "fc-stats.h"

G_BEGIN_DECLS

/* Statistics as JSON, SI units, field names as in the shot schema.
 * @configs (of FcClubConfig*, may be NULL) adds labels and roles. */
void fc_json_write_fitting_stats (FcJsonWriter         *writer,
                                  const FcFittingStats *stats,
                                  GPtrArray            *configs);

G_END_DECLS
