/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-server.h — the HTTPS front of syncd: a SoupServer on the main loop that never blocks
 * (store calls run in a worker pool while their message is paused), with header and idle
 * timeouts, the 4 MiB body limit enforced before reading, and a graceful drain. */
#pragma once

#include <gio/gio.h>
#include "vds-store.h"

G_BEGIN_DECLS

typedef struct
{
  char     *listen;            /* "ADDR:PORT" or "[ADDR]:PORT"; port 0 = any free one */
  char     *tls_cert;          /* PEM paths; both NULL = self-signed in data_dir */
  char     *tls_key;
  char     *data_dir;
  gboolean  plain_http;        /* loopback addresses only */
  guint     workers;
  guint     header_timeout_s;  /* a new connection must send complete headers by then */
  guint     idle_timeout_s;    /* no byte moved for that long: the connection is closed */
  guint     drain_timeout_s;   /* SIGTERM: how long in-flight requests may still take */
  double    address_rate;      /* requests per second and burst, per client address */
  double    address_burst;
  double    clinic_rate;       /* per clinic (push and pull) */
  double    clinic_burst;
  double    login_rate;        /* logins and refreshes per client address */
  double    login_burst;
  guint     lockout_failures;  /* failed logins in a row that lock an account… */
  guint     lockout_seconds;   /* …for that long */

  /* Monitoring and live updates. */
  char     *metrics_listen;    /* plain-HTTP /metrics listener, NULL = none */
  gboolean  metrics_public;    /* allow it on a non-loopback address */
  char    **allowed_origins;   /* stream handshakes with an Origin must name one of these */
  guint     access_ttl_s;      /* access token lifetime; 900 (§6), shorter only for tests */
  guint     offline_after_s;   /* opening-time seconds without a sync = offline */
  guint     activity_flush_s;  /* how often activity counters are written */
  guint     listing_max_age_ms; /* how long an admin listing snapshot is served; 0: never */
  guint     stream_keepalive_s;
  guint     stream_threads;    /* shards holding the streams (vds-streams.c) */

  /* Against hostile clients ([server], docs/decisions.md "Hardening the HTTP layer"). */
  guint     max_connections;              /* live connections, streams included */
  guint     max_connections_per_address;  /* HTTP connections (not streams) per address */
  guint     max_body_mib;                 /* request body MiB held at once, in all */
  guint     max_body_mib_per_address;     /* …and per client address */
  guint     max_streams_per_device;       /* a device's streams of one clinic */
  guint     max_streams_per_session;
  guint     stream_pings_per_minute;      /* pings a stream may send (a burst of as many) */
} VdsServerConfig;

/* The defaults: 0.0.0.0:8443, 8 workers, 10 s / 30 s / 10 s, 50/100 per address,
 * 200/400 per clinic, 5/20 logins, 10 failures lock for 15 minutes; no metrics listener,
 * no browser origin allowed, 15-minute access tokens, offline after 30 minutes, activity
 * written every 5 s, stream keep-alive pings every 30 s, 8 stream threads. */
void      vds_server_config_init     (VdsServerConfig *config);
void      vds_server_config_clear    (VdsServerConfig *config);
/* Reads group [server] (database is the caller's; metrics-listen, metrics-public,
 * allowed-origins as a ;-list), [limits] (access-ttl among them) and [monitor]
 * (offline-after, activity-flush, stream-keepalive, stream-threads); keys missing from the file keep
 * their value. Then VDS_RATE_SCALE, when set, multiplies every rate and burst
 * (0 turns rate limits off: benchmarks). */
gboolean  vds_server_config_load     (VdsServerConfig *config,
                                      GKeyFile        *key_file,
                                      GError         **error);
void      vds_server_config_apply_env (VdsServerConfig *config);
/* Splits "ADDR:PORT" / "[ADDR]:PORT"; FALSE with a sentence when it is not one. */
gboolean  vds_parse_listen_address   (const char      *text,
                                      GInetAddress   **out_address,
                                      guint16         *out_port,
                                      GError         **error);

#define VDS_TYPE_SERVER (vds_server_get_type ())
G_DECLARE_FINAL_TYPE (VdsServer, vds_server, VDS, SERVER, GObject)

/* The store is borrowed and must outlive the server. The certificate (given or made) is
 * loaded here. */
VdsServer  *vds_server_new             (VdsStore              *store,
                                        const VdsServerConfig *config,
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
