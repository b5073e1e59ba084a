/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* What the fitter sees for each launch monitor. "Connected but silent"
 * is the most common complaint about today's connectors, so silence is a
 * state of its own. */
typedef enum {
  FC_MONITOR_STOPPED,
  FC_MONITOR_LISTENING,      /* waiting for the device or its connector */
  FC_MONITOR_CONNECTED,      /* a peer is connected, readiness unknown */
  FC_MONITOR_READY,          /* the device says it is ready */
  FC_MONITOR_BALL_DETECTED,  /* ... and sees a ball */
  FC_MONITOR_SILENT,         /* connected, but heartbeats stopped */
  FC_MONITOR_DISCONNECTED,   /* the peer went away; waiting for it to return */
  FC_MONITOR_ERROR,
} FcMonitorState;

const char *fc_monitor_state_to_string (FcMonitorState state);

G_END_DECLS
