/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-notify.h — the cross-process half of live updates on PostgreSQL: one dedicated
 * libpq connection per syncd process that LISTENs for the NOTIFYs pushes send at commit,
 * driven from the main loop (never blocking it) and reconnecting with backoff. */
#pragma once

#include <glib.h>

#include "vds-store.h"

G_BEGIN_DECLS

/* Payload '<tenant_id>:<seq>': a push moved that clinic's sequence. */
#define VDS_NOTIFY_SEQ_CHANNEL    "vetdesk_seq"
/* Payload '<tenant_id>:<device_id>': an administrator revoked that device. */
#define VDS_NOTIFY_REVOKE_CHANNEL "vetdesk_revoke"
/* Payload '<session_id>': that session was revoked (a logout, a refresh-token replay);
 * every instance closes its streams (issue #18 item 4). */
#define VDS_NOTIFY_SESSION_CHANNEL "vetdesk_session"

typedef struct _VdsNotify VdsNotify;

/* One notification, on the main context vds_notify_new ran in. */
typedef void (*VdsNotifyFunc)      (const char *channel,
                                    const char *payload,
                                    gpointer    data);
/* The listener is (again) listening: notifications sent while it was not were lost, so
 * whatever they would have updated must be read afresh. */
typedef void (*VdsNotifyReadyFunc) (gpointer    data);

/* NULL when the store is not on PostgreSQL (one SQLite process hears its own pushes). */
VdsNotify *vds_notify_new          (VdsStore           *store,
                                    VdsNotifyFunc       func,
                                    VdsNotifyReadyFunc  ready,
                                    gpointer            data);
void       vds_notify_free         (VdsNotify          *self);
gboolean   vds_notify_is_listening (VdsNotify          *self);

G_END_DECLS
