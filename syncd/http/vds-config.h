/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-config.h — syncd's settings: one struct with every default, filled from the key
 * file (data/vetdesk-syncd.conf.sample documents each key) with a sentence naming the key
 * for any bad value, then from the environment. The server, the api and the command read
 * it; nothing else parses the key file's [server], [limits] and [monitor] settings. */
#pragma once

#include <gio/gio.h>

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
} VdsConfig;

/* The defaults: 0.0.0.0:8443, 8 workers, 10 s / 30 s / 10 s, 50/100 per address,
 * 200/400 per clinic, 5/20 logins, 10 failures lock for 15 minutes; no metrics listener,
 * no browser origin allowed, 15-minute access tokens, offline after 30 minutes, activity
 * written every 5 s, listings cached 2 s, stream keep-alive probes after 30 s, 1024 stream
 * threads; 50,000 connections (256 per address), 256 MiB of bodies (16 per address), 4
 * streams per device, 2 per session, 6 pings a minute. */
void      vds_config_init         (VdsConfig   *config);
void      vds_config_clear        (VdsConfig   *config);
/* dest gets its own copy of every string (clear it when done). */
void      vds_config_copy         (VdsConfig       *dest,
                                   const VdsConfig *src);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (VdsConfig, vds_config_clear)

/* Reads group [server] (database is the caller's; metrics-listen, metrics-public,
 * allowed-origins as a ;-list, the max-… caps), [limits] (access-ttl among them) and
 * [monitor] (offline-after, activity-flush, listing-max-age-ms, stream-keepalive,
 * stream-threads); keys missing from the file keep their value. FALSE with a sentence
 * naming the key and its group for a value that is not one (config may then be
 * partly filled). */
gboolean  vds_config_load         (VdsConfig   *config,
                                   GKeyFile    *key_file,
                                   GError     **error);
/* VDS_RATE_SCALE, when set, multiplies every rate and burst (0 turns rate limits off:
 * benchmarks). */
void      vds_config_apply_env    (VdsConfig   *config);
/* Splits "ADDR:PORT" / "[ADDR]:PORT"; FALSE with a sentence when it is not one. */
gboolean  vds_config_parse_listen (const char    *text,
                                   GInetAddress **out_address,
                                   guint16       *out_port,
                                   GError       **error);

G_END_DECLS
