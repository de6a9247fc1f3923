/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-time.h — UTC instants and dates as the protocol writes them, and the clinic's IANA
 * time zone (GTimeZone) for display and for "today". Instants are Unix seconds. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "YYYY-MM-DDTHH:MM:SSZ" exactly (a real calendar time, seconds 00–59). */
gboolean   vd_time_parse_utc    (const char  *str,
                                 gint64      *out_unix,
                                 GError     **error);
/* Writes "YYYY-MM-DDTHH:MM:SSZ" (21 bytes with the NUL) into out. */
void       vd_time_format_utc   (gint64       unix_time,
                                 char         out[21]);
char      *vd_time_dup_utc      (gint64       unix_time);

/* "YYYY-MM-DD" exactly, a real calendar date, year 1000–9999. */
gboolean   vd_date_parse        (const char  *str,
                                 int         *out_year,
                                 int         *out_month,
                                 int         *out_day,
                                 GError     **error);
void       vd_date_format       (int          year,
                                 int          month,
                                 int          day,
                                 char         out[11]);

/* NULL with an error naming the zone when it is not a known IANA identifier. */
GTimeZone *vd_time_zone_new     (const char  *identifier,
                                 GError     **error);
/* The instant in the zone (a GDateTime in that zone; unref it). */
GDateTime *vd_time_to_zone      (gint64       unix_time,
                                 GTimeZone   *zone);
/* The instant of a wall-clock time in the zone. In a gap (spring forward) the time is
 * taken as if the clock had not moved yet (02:30 in a skipped hour becomes 03:30 new
 * time); in an overlap (fall back) the first (daylight) occurrence is chosen. */
gint64     vd_time_from_zone    (GTimeZone   *zone,
                                 int          year,
                                 int          month,
                                 int          day,
                                 int          hour,
                                 int          minute,
                                 int          second);
/* [start, end) of the calendar day year-month-day in the zone: end is the start of the
 * next day, so a DST day lasts 23 or 25 hours. */
void       vd_time_day_bounds   (GTimeZone   *zone,
                                 int          year,
                                 int          month,
                                 int          day,
                                 gint64      *out_start,
                                 gint64      *out_end);
/* The bounds of the day that contains now_unix in the zone, and that day's date. */
void       vd_time_today_bounds (GTimeZone   *zone,
                                 gint64       now_unix,
                                 gint64      *out_start,
                                 gint64      *out_end,
                                 int         *out_year,
                                 int         *out_month,
                                 int         *out_day);

G_END_DECLS
