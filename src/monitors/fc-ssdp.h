/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define FC_SSDP_MULTICAST_ADDRESS "239.255.255.250"
#define FC_SSDP_PORT              1900
#define FC_SSDP_ST_TRACKMAN       "urn:schemas-upnp-org:device:TrackMan:1"

/*
 * SSDP (UPnP discovery) M-SEARCH client: asks who offers @search_target
 * and completes with the LOCATION (device description URL) of the first
 * answer. The request is repeated a few times within @timeout_ms, since
 * UDP on a busy shop Wi-Fi loses datagrams.
 *
 * @target: NULL for the standard multicast group 239.255.255.250:1900,
 * or "HOST:PORT" to send the M-SEARCH by unicast instead (a device whose
 * address is known, or a test responder on loopback).
 */
void  fc_ssdp_discover_async  (const char          *search_target,
                               const char          *target,
                               guint                timeout_ms,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data);
/* The LOCATION URL; NULL with G_IO_ERROR_TIMED_OUT when nobody answered. */
char *fc_ssdp_discover_finish (GAsyncResult        *result,
                               GError             **error);

/* The LOCATION header of an SSDP response for @search_target (any
 * target when NULL), or NULL when @response is not one. */
char *fc_ssdp_parse_response  (const char          *response,
                               gsize                length,
                               const char          *search_target);

G_END_DECLS
