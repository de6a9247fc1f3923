/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-hlc.h — the hybrid logical clock of ARCHITECTURE §4: 48-bit Unix milliseconds << 16
 * | 16-bit counter, written as 16 lowercase hex digits. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef guint64 VdHlc;

#define VD_HLC_STRING_LEN   16
#define VD_HLC_COUNTER_BITS 16
#define VD_HLC_MAX_MS       ((G_GUINT64_CONSTANT (1) << 48) - 1)

#define vd_hlc_make(ms, counter) ((((VdHlc) (ms)) << VD_HLC_COUNTER_BITS) | ((VdHlc) (counter) & 0xffff))
#define vd_hlc_ms(hlc)           ((gint64) ((hlc) >> VD_HLC_COUNTER_BITS))
#define vd_hlc_counter(hlc)      ((guint) ((hlc) & 0xffff))

/* Writes exactly 16 lowercase hex digits and a NUL into out. */
void      vd_hlc_format (VdHlc       hlc,
                         char        out[VD_HLC_STRING_LEN + 1]);
/* Exactly 16 hex digits (lowercase; uppercase refused so one value has one spelling). */
gboolean  vd_hlc_parse  (const char *str,
                         VdHlc      *out,
                         GError    **error);

/* Called each time the clock moves, with the new value, so a store can persist it (in
 * the same transaction as the write that used it). */
typedef void (*VdHlcPersistFunc) (VdHlc    hlc,
                                  gpointer user_data);
/* Returns the wall clock in Unix milliseconds; tests replace it. */
typedef gint64 (*VdHlcWallFunc)   (gpointer user_data);

typedef struct _VdHlcClock VdHlcClock;

/* last: the persisted value (0 for a new clock). wall may be NULL for the real clock
 * (g_get_real_time () / 1000). offset_ms is added to the wall clock (server skew
 * correction on the client). */
VdHlcClock *vd_hlc_clock_new          (VdHlc            last,
                                       VdHlcWallFunc    wall,
                                       gpointer         wall_data);
void        vd_hlc_clock_free         (VdHlcClock      *clock);
void        vd_hlc_clock_set_persist  (VdHlcClock      *clock,
                                       VdHlcPersistFunc persist,
                                       gpointer         user_data);
void        vd_hlc_clock_set_offset   (VdHlcClock      *clock,
                                       gint64           offset_ms);
gint64      vd_hlc_clock_get_offset   (VdHlcClock      *clock);
/* Wall clock in ms including the offset. */
gint64      vd_hlc_clock_wall_ms      (VdHlcClock      *clock);
VdHlc       vd_hlc_clock_last         (VdHlcClock      *clock);
/* A local event: max (wall, last + 1). A counter overflow carries into the ms part. */
VdHlc       vd_hlc_clock_tick         (VdHlcClock      *clock);
/* A received hlc: last = max (last, remote, wall). Returns FALSE (and leaves the clock
 * alone) when remote is ahead of the wall clock by more than max_drift_ms; max_drift_ms
 * <= 0 means no check. */
gboolean    vd_hlc_clock_update       (VdHlcClock      *clock,
                                       VdHlc            remote,
                                       gint64           max_drift_ms,
                                       GError         **error);
/* Moves the clock back to last without persisting it: only for a desk that learnt its
 * wall clock ran ahead of the server's and re-stamps its unacknowledged writes (the
 * caller persists the new value in the same transaction). */
void        vd_hlc_clock_rewind       (VdHlcClock      *clock,
                                       VdHlc            last);
/* FALSE with VD_ERROR_CLOCK_SKEW and a sentence when hlc is ahead of now_ms by more than
 * max_drift_ms ("… is ahead of the server's clock by more than 300000 ms"). */
gboolean    vd_hlc_check_drift        (VdHlc            hlc,
                                       gint64           now_ms,
                                       gint64           max_drift_ms,
                                       GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdHlcClock, vd_hlc_clock_free)

G_END_DECLS
