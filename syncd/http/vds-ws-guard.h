/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-ws-guard.h — a GIOStream put between a stream's connection and libsoup's
 * SoupWebsocketConnection that reads the client's frame headers as the bytes pass: libsoup
 * 3.2 limits single frames but appends continuation frames without limit, and answers
 * pings without telling. The guard fails the read (and so the connection) as soon as a
 * continuation frame takes a message past max_message bytes, or pings come faster than
 * pings_per_minute (a burst of as many is allowed). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Takes a reference on base. */
GIOStream *vds_ws_guard_new (GIOStream *base,
                             guint64    max_message,
                             guint      pings_per_minute);

G_END_DECLS
