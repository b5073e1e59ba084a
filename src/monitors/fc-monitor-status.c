/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "fc-monitor"

#include "fc-monitor-status.h"

const char *
fc_monitor_state_to_string (FcMonitorState state)
{
  static const char *names[] = {
    [FC_MONITOR_STOPPED] = "stopped",
    [FC_MONITOR_LISTENING] = "listening",
    [FC_MONITOR_CONNECTED] = "connected",
    [FC_MONITOR_READY] = "ready",
    [FC_MONITOR_BALL_DETECTED] = "ball detected",
    [FC_MONITOR_SILENT] = "silent",
    [FC_MONITOR_DISCONNECTED] = "disconnected",
    [FC_MONITOR_ERROR] = "error",
  };

  g_return_val_if_fail (state <= FC_MONITOR_ERROR, "?");
  return names[state];
}
