/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-protocol.h — constants of wire protocol v1 (ARCHITECTURE §4, §5). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VD_PROTOCOL_VERSION        1
#define VD_PROTOCOL_BASE_PATH      "/v1"
#define VD_PROTOCOL_MAX_BODY       (4 * 1024 * 1024)   /* bytes; over → 413 before parsing */
#define VD_PROTOCOL_MAX_DEPTH      32                   /* JSON nesting; over → 400 */
#define VD_PROTOCOL_MAX_PUSH       5000                 /* changes in one push; over → 413 */
#define VD_PROTOCOL_PULL_DEFAULT   1000
#define VD_PROTOCOL_PULL_MAX       5000
#define VD_PROTOCOL_MAX_SKEW_MS    (5 * 60 * 1000)      /* hlc ahead of server → clock_skew */
#define VD_PROTOCOL_ACCESS_TTL_S   (15 * 60)
#define VD_PROTOCOL_SESSION_MAX_S  (30 * 24 * 3600)
/* A push's batch_id may be at most this far past the device's last (desks count 1, 2,
 * 3…): a hostile or broken client cannot spend a device's id space (INT64_MAX). */
#define VD_PROTOCOL_MAX_BATCH_JUMP 1000000

/* The site the server writes server-owned cells (conflicts) with. It sorts below every
 * random (version 4) device id. */
#define VD_SERVER_SITE "00000000-0000-0000-0000-000000000000"

G_END_DECLS
