/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-server.h — the HTTPS front of syncd: a SoupServer on the main loop that never blocks
 * (store calls run in a worker pool while their message is paused), with header and idle
 * timeouts, the 4 MiB body limit enforced before reading, and a graceful drain. */
#pragma once

#include <gio/gio.h>
#include "vds-config.h"
#include "vds-store.h"

G_BEGIN_DECLS

#define VDS_TYPE_SERVER (vds_server_get_type ())
G_DECLARE_FINAL_TYPE (VdsServer, vds_server, VDS, SERVER, GObject)

/* The store is borrowed and must outlive the server. The certificate (given or made) is
 * loaded here. */
VdsServer  *vds_server_new             (VdsStore              *store,
                                        const VdsConfig       *config,
                                        GError               **error);
gboolean    vds_server_listen          (VdsServer             *self,
                                        GError               **error);
/* Serves one connection that did not come from the listener (the HTTP fuzzer feeds
 * memory streams through it): plain HTTP, as given. */
gboolean    vds_server_accept_stream   (VdsServer             *self,
                                        GIOStream             *stream,
                                        GSocketAddress        *local,
                                        GSocketAddress        *remote,
                                        GError               **error);
/* "https://127.0.0.1:8443" once listening. */
const char *vds_server_get_url         (VdsServer             *self);
/* "http://127.0.0.1:9090" of the metrics listener, NULL when there is none. */
const char *vds_server_get_metrics_url (VdsServer             *self);
/* NULL for plain HTTP. */
const char *vds_server_get_fingerprint (VdsServer             *self);
/* Stops accepting, lets in-flight requests finish (at most drain_timeout_s), then closes
 * every connection and completes. */
void        vds_server_shutdown_async  (VdsServer             *self,
                                        GAsyncReadyCallback    callback,
                                        gpointer               user_data);
gboolean    vds_server_shutdown_finish (VdsServer             *self,
                                        GAsyncResult          *result,
                                        GError               **error);

G_END_DECLS
