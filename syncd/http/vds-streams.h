/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-streams.h — the live-update streams of one syncd process: WebSocket connections
 * grouped by clinic on a few shard threads (no thread per stream), told the clinic's
 * cursor when it moves, closed when their token expires or their device is revoked. The
 * calls below are made from the main thread; they return at once. */
#pragma once

#include <libsoup/soup.h>

#include "vds-metrics.h"

G_BEGIN_DECLS

/* Close codes of the stream protocol (4000–4999 are the application's). */
#define VDS_STREAM_CLOSE_TOKEN_EXPIRED 4001
#define VDS_STREAM_CLOSE_REVOKED       4003

/* The largest message a desk may send (only {"type":"ping"} is understood): a larger one
 * is refused with 1009. A frame over VDS_STREAM_MAX_FRAME is not even read: libsoup drops
 * the connection as soon as it sees the frame's length (without a close frame, in 3.2). */
#define VDS_STREAM_MAX_INCOMING        4096
#define VDS_STREAM_MAX_FRAME           (64 * 1024)
/* Seconds a stream's connection may be silent before the kernel starts probing the desk
 * (TCP keep-alive; vds-server.c). Desks ping every 30 s, so only a vanished one is. */
#define VDS_STREAM_KEEPALIVE_S         30
#define VDS_STREAM_THREADS_MAX         1024

typedef struct _VdsStreams VdsStreams;

/* Up to n_shards threads, each with its own main context (see vds-streams.c for why),
 * each started when a clinic hashed to it first streams or pushes. */
VdsStreams *vds_streams_new             (VdsMetrics              *metrics,
                                         guint                    n_shards);
/* Before the first stream: a device's streams in a clinic, a session's, and the pings a
 * stream may send a minute (defaults 4, 2, 6). Past the first two the oldest is closed
 * with 1008; past the pings, the stream. */
void        vds_streams_set_limits      (VdsStreams              *self,
                                         guint                    per_device,
                                         guint                    per_session,
                                         guint                    pings_per_minute);
/* Closes every stream (1001, going away), waits a little for the close frames to go out
 * (at most 2 s), stops the shards and frees. */
void        vds_streams_free            (VdsStreams              *self);

/* Takes over the connection of a completed WebSocket handshake (stolen from the HTTP
 * server): makes it a WebSocket connection in the clinic's shard, sets its limits, sends
 * the first cursor (the larger of cursor and any newer one heard
 * meanwhile) and closes it with 4001 at expires_at (Unix seconds). */
void        vds_streams_add             (VdsStreams              *self,
                                         GIOStream               *stream,
                                         GUri                    *uri,
                                         const char              *origin,
                                         const char              *tenant_id,
                                         const char              *device_id,
                                         const char              *session_id,
                                         gint64                   expires_at,
                                         gint64                   cursor);
/* The clinic's sequence is now seq: every stream of it that has not been told seq yet
 * gets {"type":"cursor","cursor":seq}. */
void        vds_streams_notify          (VdsStreams              *self,
                                         const char              *tenant_id,
                                         gint64                   seq);
/* Closes with 4003 the clinic's streams of that device / the streams of those sessions. */
void        vds_streams_revoke_device   (VdsStreams              *self,
                                         const char              *tenant_id,
                                         const char              *device_id);
void        vds_streams_revoke_sessions (VdsStreams              *self,
                                         const char * const      *session_ids);
/* Closes every stream with code and reason (1001 when the server shuts down). */
void        vds_streams_close_all       (VdsStreams              *self,
                                         gushort                  code,
                                         const char              *reason);
guint       vds_streams_count           (VdsStreams              *self);
/* The clinics that have at least one stream (a new array of ids; free it). */
GPtrArray  *vds_streams_tenants         (VdsStreams              *self);

G_END_DECLS
