/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "fc-shot.h"

G_BEGIN_DECLS

/*
 * A TrackMan 4 "Measurement" object (device WebSocket payload, TPS live
 * events, REST) to a shot. TrackMan already speaks SI, so values are
 * taken as they are; only range checks apply. The caller sets the
 * source fields and raw bytes.
 */
FcShot *fc_trackman_measurement_to_shot (JsonObject  *measurement,
                                         const char  *where,
                                         GError     **error);

G_END_DECLS
