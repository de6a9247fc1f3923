/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-merge.c — the per-cell last-writer-wins order: a write is newer when its hlc is
 * larger, and between equal hlcs when its site's raw bytes are larger. */
#define G_LOG_DOMAIN "vdshared"

#include "config.h"

#include <string.h>

#include "vd-merge.h"

int
vd_clock_compare (const VdClock *a,
                  const VdClock *b)
{
  g_return_val_if_fail (a != NULL, 0);
  g_return_val_if_fail (b != NULL, 0);

  /* Compared as integers, never by subtraction: the difference of two 64-bit hlcs does
   * not fit an int. */
  if (a->hlc != b->hlc)
    return a->hlc < b->hlc ? -1 : 1;

  /* The site breaks ties so that two devices writing in the same millisecond and counter
   * still agree on one winner everywhere. */
  return memcmp (a->site, b->site, sizeof a->site);
}

gboolean
vd_merge_wins (const VdClock *incoming,
               const VdClock *stored)
{
  g_return_val_if_fail (incoming != NULL, FALSE);
  g_return_val_if_fail (stored != NULL, FALSE);

  /* Strictly greater: an equal clock is the same write seen again, which changes
   * nothing. */
  return vd_clock_compare (incoming, stored) > 0;
}
