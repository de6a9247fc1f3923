/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-sync-engine.h — keeps a desk's store in step with vetdesk-syncd: pushes the outbox
 * in batches of at most 500, pulls pages until `more` is false, retries with backoff,
 * refreshes tokens, and exposes a state the UI binds to. */
#pragma once

#include <gio/gio.h>
#include "vd-api-client.h"
#include "vd-store.h"

G_BEGIN_DECLS

typedef enum
{
  VD_SYNC_OFFLINE,        /* no network or server unreachable: working offline */
  VD_SYNC_CONNECTING,
  VD_SYNC_SYNCING,        /* with progress */
  VD_SYNC_UP_TO_DATE,
  VD_SYNC_NEEDS_SIGN_IN,  /* refresh token spent or revoked; local data untouched */
  VD_SYNC_ERROR,          /* with a sentence in error-message */
} VdSyncState;

#define VD_TYPE_SYNC_STATE (vd_sync_state_get_type ())
GType vd_sync_state_get_type (void);

#define VD_TYPE_SYNC_ENGINE (vd_sync_engine_get_type ())
G_DECLARE_FINAL_TYPE (VdSyncEngine, vd_sync_engine, VD, SYNC_ENGINE, GObject)

/* Properties: "store" (construct-only), "server-url" (construct-only), "pinned-fingerprint"
 * (construct-only, may be NULL: system CAs), "state", "progress" (0..1 during bootstrap),
 * "pending" (outbox count), "last-sync" (Unix seconds, 0 = never), "error-message",
 * "clock-offset-ms", "pulled" / "total" (counts during a bootstrap), "live" (the server's
 * change stream is connected: others' changes arrive within a second), "periodic-interval"
 * (seconds between periodic pulls without the stream, 30 by default; with it they come
 * at most every 5 minutes). */
VdSyncEngine *vd_sync_engine_new            (VdStore      *store,
                                             const char   *server_url,
                                             const char   *pinned_fingerprint);
VdSyncState   vd_sync_engine_get_state      (VdSyncEngine *self);
double        vd_sync_engine_get_progress   (VdSyncEngine *self);
guint         vd_sync_engine_get_pending    (VdSyncEngine *self);
gint64        vd_sync_engine_get_last_sync  (VdSyncEngine *self);
const char   *vd_sync_engine_get_error_message (VdSyncEngine *self);
gboolean      vd_sync_engine_get_live       (VdSyncEngine *self);

/* The engine's line to the server (session, pin, tokens, the one refresh): rounds and
 * the stream use it, and whatever else talks to the server for this desk may share it. */
VdApiClient  *vd_sync_engine_get_api_client (VdSyncEngine *self);
/* Tokens, kept by the API client: the access token (memory only) and the refresh token
 * (the caller keeps it in the Secret Service; ::refresh-token-changed is emitted with the
 * new one after every rotation so it can be saved). */
void          vd_sync_engine_set_tokens     (VdSyncEngine *self,
                                             const char   *access_token,
                                             const char   *refresh_token);
/* Starts the triggers: local changes (debounced ~1 s), a 30 s periodic pull, the network
 * coming back (GNetworkMonitor), and, after the first successful round, the server's
 * change stream (reopened with backoff when it drops). Stop closes the stream. */
void          vd_sync_engine_start          (VdSyncEngine *self);
void          vd_sync_engine_stop           (VdSyncEngine *self);
/* Ctrl+R: a sync round now (push then pull). */
void          vd_sync_engine_sync_now       (VdSyncEngine *self);

/* One full round (push everything, pull until up to date) as an async call, for tests
 * and for the first sync. */
void          vd_sync_engine_sync_async     (VdSyncEngine        *self,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
gboolean      vd_sync_engine_sync_finish    (VdSyncEngine        *self,
                                             GAsyncResult        *result,
                                             GError             **error);

G_END_DECLS
