/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * A TCP relay on 127.0.0.1 (port 0) between an HTTP client and a server
 * that can cut the connection after a given number of request bytes: a
 * network failure in the middle of a request body, at the boundary. Each
 * connection is relayed by two threads with blocking sockets, so the cut
 * happens whatever the test's main loop is doing.
 */
typedef struct _CutProxy CutProxy;

CutProxy *cut_proxy_new          (guint16   upstream_port);
guint16   cut_proxy_get_port     (CutProxy *proxy);
/* Where new connections go (e.g. a restarted server on a new port). */
void      cut_proxy_set_upstream (CutProxy *proxy,
                                  guint16   upstream_port);
/* Cuts every open connection once @bytes more client-to-server bytes
 * went through (over all connections), then relays normally again. */
void      cut_proxy_cut_after    (CutProxy *proxy,
                                  guint64   bytes);
/* Cuts every open connection now. */
void      cut_proxy_cut_now      (CutProxy *proxy);
guint     cut_proxy_get_cuts     (CutProxy *proxy);
void      cut_proxy_free         (CutProxy *proxy);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CutProxy, cut_proxy_free)

G_END_DECLS
