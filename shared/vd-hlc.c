/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-hlc.c — the hybrid logical clock (ARCHITECTURE §4): its text form, local ticks,
 * received values and the drift check the server applies to pushed changes. */
#define G_LOG_DOMAIN "vdshared"

#include "config.h"

#include <inttypes.h>

#include <string.h>

#include <glib/gi18n-lib.h>

#include "vd-hlc.h"
#include "vd-error.h"

struct _VdHlcClock
{
  VdHlc            last;
  VdHlcWallFunc    wall;
  gpointer         wall_data;
  VdHlcPersistFunc persist;
  gpointer         persist_data;
  gint64           offset_ms;
};

void
vd_hlc_format (VdHlc hlc,
               char  out[VD_HLC_STRING_LEN + 1])
{
  static const char digits[] = "0123456789abcdef";

  g_return_if_fail (out != NULL);

  for (int i = VD_HLC_STRING_LEN - 1; i >= 0; i--)
    {
      out[i] = digits[hlc & 0xf];
      hlc >>= 4;
    }
  out[VD_HLC_STRING_LEN] = '\0';
}

gboolean
vd_hlc_parse (const char *str,
              VdHlc      *out,
              GError    **error)
{
  VdHlc value = 0;

  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (str == NULL)
    goto bad;

  /* Checked character by character rather than with strtoull, which would accept a sign,
   * leading spaces, "0x" and uppercase: one value must have exactly one spelling. */
  for (guint i = 0; i < VD_HLC_STRING_LEN; i++)
    {
      char c = str[i];

      if (c >= '0' && c <= '9')
        value = (value << 4) | (VdHlc) (c - '0');
      else if (c >= 'a' && c <= 'f')
        value = (value << 4) | (VdHlc) (c - 'a' + 10);
      else
        goto bad;
    }
  if (str[VD_HLC_STRING_LEN] != '\0')
    goto bad;

  *out = value;
  return TRUE;

bad:
  /* The text comes from a peer: quote it only when it is short and printable. */
  if (str != NULL && strlen (str) <= 2 * VD_HLC_STRING_LEN && g_utf8_validate (str, -1, NULL))
    g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                 _("The clock value “%s” is not valid: it must be exactly 16 lowercase hexadecimal digits."),
                 str);
  else
    g_set_error_literal (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                         _("The clock value is not valid: it must be exactly 16 lowercase hexadecimal digits."));
  return FALSE;
}

gboolean
vd_hlc_check_drift (VdHlc    hlc,
                    gint64   now_ms,
                    gint64   max_drift_ms,
                    GError **error)
{
  gint64 ms = vd_hlc_ms (hlc);
  char text[VD_HLC_STRING_LEN + 1];

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (max_drift_ms <= 0 || ms <= now_ms)
    return TRUE;

  /* ms >= 0 and ms > now_ms, so the unsigned difference is exact even for a wall clock
   * far in the past, where the signed one would overflow. */
  if ((guint64) ms - (guint64) now_ms <= (guint64) max_drift_ms)
    return TRUE;

  vd_hlc_format (hlc, text);
  g_set_error (error, VD_ERROR, VD_ERROR_CLOCK_SKEW,
               _("The change’s time stamp %s is ahead of the server’s clock by more than %" PRId64 " ms. Check the date and time of the device that made it."),
               text, max_drift_ms);
  return FALSE;
}

VdHlcClock *
vd_hlc_clock_new (VdHlc         last,
                  VdHlcWallFunc wall,
                  gpointer      wall_data)
{
  VdHlcClock *clock = g_new0 (VdHlcClock, 1);

  clock->last = last;
  clock->wall = wall;
  clock->wall_data = wall_data;

  return clock;
}

void
vd_hlc_clock_free (VdHlcClock *clock)
{
  g_free (clock);
}

void
vd_hlc_clock_set_persist (VdHlcClock      *clock,
                          VdHlcPersistFunc persist,
                          gpointer         user_data)
{
  g_return_if_fail (clock != NULL);

  clock->persist = persist;
  clock->persist_data = user_data;
}

void
vd_hlc_clock_set_offset (VdHlcClock *clock,
                         gint64      offset_ms)
{
  g_return_if_fail (clock != NULL);

  clock->offset_ms = offset_ms;
}

gint64
vd_hlc_clock_get_offset (VdHlcClock *clock)
{
  g_return_val_if_fail (clock != NULL, 0);

  return clock->offset_ms;
}

gint64
vd_hlc_clock_wall_ms (VdHlcClock *clock)
{
  gint64 raw;

  g_return_val_if_fail (clock != NULL, 0);

  raw = clock->wall != NULL ? clock->wall (clock->wall_data) : g_get_real_time () / 1000;

  /* Saturate rather than wrap: a wild offset must not turn the future into the past. */
  if (clock->offset_ms > 0 && raw > G_MAXINT64 - clock->offset_ms)
    return G_MAXINT64;
  if (clock->offset_ms < 0 && raw < G_MININT64 - clock->offset_ms)
    return G_MININT64;

  return raw + clock->offset_ms;
}

VdHlc
vd_hlc_clock_last (VdHlcClock *clock)
{
  g_return_val_if_fail (clock != NULL, 0);

  return clock->last;
}

/* The wall clock as an hlc with a zero counter. Milliseconds outside the 48 bits are
 * clamped: shifting them would lose the high bits and move the clock somewhere random. */
static VdHlc
wall_hlc (gint64 ms)
{
  if (ms < 0)
    ms = 0;
  else if ((guint64) ms > VD_HLC_MAX_MS)
    ms = (gint64) VD_HLC_MAX_MS;

  return vd_hlc_make (ms, 0);
}

static void
advance (VdHlcClock *clock,
         VdHlc       value)
{
  if (value == clock->last)
    return;

  g_assert (value > clock->last);
  clock->last = value;
  if (clock->persist != NULL)
    clock->persist (value, clock->persist_data);
}

VdHlc
vd_hlc_clock_tick (VdHlcClock *clock)
{
  VdHlc next;
  VdHlc wall;

  g_return_val_if_fail (clock != NULL, 0);

  /* last + 1 lets a full counter carry into the milliseconds. Only the very last value
   * (year 10889) cannot move on; wrapping to 0 would run the clock backwards. */
  next = clock->last == G_MAXUINT64 ? G_MAXUINT64 : clock->last + 1;
  wall = wall_hlc (vd_hlc_clock_wall_ms (clock));
  advance (clock, MAX (next, wall));

  return clock->last;
}

gboolean
vd_hlc_clock_update (VdHlcClock *clock,
                     VdHlc       remote,
                     gint64      max_drift_ms,
                     GError    **error)
{
  VdHlc value;
  gint64 now_ms;

  g_return_val_if_fail (clock != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* One reading for both the check and the new value, so they agree. */
  now_ms = vd_hlc_clock_wall_ms (clock);
  if (!vd_hlc_check_drift (remote, now_ms, max_drift_ms, error))
    return FALSE;

  value = MAX (clock->last, remote);
  value = MAX (value, wall_hlc (now_ms));
  advance (clock, value);

  return TRUE;
}

void
vd_hlc_clock_rewind (VdHlcClock *clock,
                     VdHlc       last)
{
  g_return_if_fail (clock != NULL);

  clock->last = last;
}
