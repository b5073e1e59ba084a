/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "fc-monitor-status.h"
#include "fc-shot.h"
#include "fc-store.h"

G_BEGIN_DECLS

/*
 * FcHub: where every connector delivers its shots. It stamps the arrival
 * time, hands the shot to a writer thread that owns its own store
 * connection (so SQLite commits never block the main loop), and reports
 * back on the caller's main context only once the shot is durably
 * committed — a connector answers "received" only then. Shots queued
 * while a commit runs are committed together (group commit).
 *
 * It also keeps each monitor's live status: state, peer, last message,
 * last shot, shots stored, and flags monitors that went silent.
 */
#define FC_TYPE_HUB (fc_hub_get_type ())
G_DECLARE_FINAL_TYPE (FcHub, fc_hub, FC, HUB, GObject)

typedef struct {
  char           *id;               /* "open-connect 192.168.1.20:50123" */
  char           *kind;             /* "open-connect", "trackman", ... */
  char           *peer;             /* address, or NULL */
  char           *device;           /* what the device calls itself, if known */
  FcMonitorState  state;
  gint64          last_message_at;  /* monotonic µs; 0 never */
  gint64          last_shot_at;     /* monotonic µs; 0 never */
  gint64          heartbeat_interval; /* µs seen between heartbeats; 0 unknown */
  guint           shots;            /* stored (not duplicates) since it appeared */
  guint           duplicates;
} FcMonitorInfo;

FcMonitorInfo *fc_monitor_info_copy (const FcMonitorInfo *info);
void           fc_monitor_info_free (FcMonitorInfo       *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FcMonitorInfo, fc_monitor_info_free)

/* Opens its own connection to the database at @db_path. */
FcHub    *fc_hub_new              (const char           *db_path,
                                   const FcStoreOptions *options,
                                   const char           *bay,
                                   GError              **error);

const char *fc_hub_get_bay        (FcHub       *self);

/* Stores @shot (transfer full) from @monitor_id. The callback runs on the
 * thread-default main context of the caller after the commit. */
void      fc_hub_submit_async     (FcHub               *self,
                                   const char          *monitor_id,
                                   FcShot              *shot,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data);
/* @shot_id: the stored shot's id (the twin's for a duplicate). */
gboolean  fc_hub_submit_finish    (FcHub               *self,
                                   GAsyncResult        *result,
                                   FcAddResult         *add_result,
                                   char               **shot_id,
                                   GError             **error);

/* Connector-side status updates (main thread). */
void      fc_hub_monitor_update   (FcHub          *self,
                                   const char     *monitor_id,
                                   const char     *kind,
                                   const char     *peer,
                                   FcMonitorState  state);
void      fc_hub_monitor_message  (FcHub          *self,
                                   const char     *monitor_id,
                                   const char     *device,
                                   gboolean        heartbeat);
void      fc_hub_monitor_remove   (FcHub          *self,
                                   const char     *monitor_id);
/* Of FcMonitorInfo*, sorted by id. */
GPtrArray *fc_hub_list_monitors   (FcHub          *self);
FcMonitorInfo *fc_hub_get_monitor (FcHub          *self,
                                   const char     *monitor_id);

/* A monitor that sent heartbeats is flagged silent after missing three
 * of them, but never sooner than @min_us (default 10 s). */
void      fc_hub_set_min_silence  (FcHub          *self,
                                   gint64          min_us);
/* Re-checks silence now (a timer does it every second as well). */
void      fc_hub_check_silence    (FcHub          *self);

G_END_DECLS
