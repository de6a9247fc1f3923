/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-limits.h — in-memory token-bucket rate limits keyed by a string (a client address,
 * a clinic id). Per process: several syncd instances each enforce their own share. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _VdsLimiter VdsLimiter;

/* rate: tokens per second refilled; burst: the bucket's size. rate <= 0 or burst < 1
 * means no limit. */
VdsLimiter *vds_limiter_new    (double       rate,
                                double       burst);
void        vds_limiter_free   (VdsLimiter  *self);
/* Takes one token from key's bucket. FALSE when the bucket is empty; then
 * out_retry_after (may be NULL) is the whole seconds (>= 1) until a token is back.
 * Thread-safe. now_us: g_get_monotonic_time () (tests pass their own). */
gboolean    vds_limiter_take   (VdsLimiter  *self,
                                const char  *key,
                                gint64       now_us,
                                guint       *out_retry_after);
/* The number of keys tracked (for tests). */
guint       vds_limiter_size   (VdsLimiter  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdsLimiter, vds_limiter_free)

G_END_DECLS
