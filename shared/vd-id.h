/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-id.h — row, device and tenant ids: canonical lowercase UUID text. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VD_UUID_LEN 36

/* Canonical form only: 8-4-4-4-12 lowercase hex digits. */
gboolean  vd_uuid_is_valid  (const char   *str);
/* Accepts any case, writes the canonical lowercase form into out (37 bytes); FALSE when
 * str is not a UUID. */
gboolean  vd_uuid_normalize (const char   *str,
                             char          out[VD_UUID_LEN + 1]);
/* 16 raw bytes of a valid canonical uuid, and back. Bytewise order of the raw form equals
 * the bytewise order of the canonical text. */
gboolean  vd_uuid_to_bytes   (const char   *str,
                              guint8        out[16]);
void      vd_uuid_from_bytes (const guint8  bytes[16],
                              char          out[VD_UUID_LEN + 1]);
/* A new random (v4) uuid, canonical; free with g_free. */
char     *vd_uuid_new        (void);

G_END_DECLS
