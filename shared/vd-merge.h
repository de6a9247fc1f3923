/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-merge.h — the per-cell last-writer-wins rule (ARCHITECTURE §4), as pure functions. */
#pragma once

#include <glib.h>
#include "vd-hlc.h"

G_BEGIN_DECLS

/* A cell's clock: the hlc and the originating site (16 raw uuid bytes). */
typedef struct
{
  VdHlc  hlc;
  guint8 site[16];
} VdClock;

/* <0, 0, >0 as a is older, the same write, newer than b: hlc numerically, then site
 * bytewise. */
int       vd_clock_compare (const VdClock *a,
                            const VdClock *b);
/* TRUE iff incoming replaces stored. A never-written cell has the zero clock. */
gboolean  vd_merge_wins    (const VdClock *incoming,
                            const VdClock *stored);

G_END_DECLS
