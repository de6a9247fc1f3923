/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-time.c — exact UTC instant and date text, and the clinic's time zone: wall-clock
 * times, DST gaps and overlaps, and the bounds of a local day. */
#define G_LOG_DOMAIN "vdshared"

#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "vd-time.h"
#include "vd-error.h"

#define SECONDS_PER_DAY  G_GINT64_CONSTANT (86400)
#define MIN_YEAR         1000
#define MAX_YEAR         9999

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil):
 * plain arithmetic, exact for any year, no time zone involved. */
static gint64
days_from_civil (gint64 y,
                 int    m,
                 int    d)
{
  gint64 era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

  return era * 146097 + doe - 719468;
}

static void
civil_from_days (gint64  z,
                 int    *out_y,
                 int    *out_m,
                 int    *out_d)
{
  gint64 era, doe, yoe, y, doy, mp;
  int d, m;

  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  d = (int) (doy - (153 * mp + 2) / 5 + 1);
  m = (int) (mp < 10 ? mp + 3 : mp - 9);

  *out_y = (int) (y + (m <= 2));
  *out_m = m;
  *out_d = d;
}

/* Text from a peer is quoted in an error only when it is short and valid UTF-8. */
static gboolean
is_quotable (const char *str)
{
  return str != NULL && strlen (str) <= 64 && g_utf8_validate (str, -1, NULL);
}

static gboolean
is_valid_date (int year,
               int month,
               int day)
{
  return year >= MIN_YEAR && year <= MAX_YEAR &&
         month >= 1 && month <= 12 &&
         day >= 1 && day <= g_date_get_days_in_month ((GDateMonth) month, (GDateYear) year);
}

static gboolean
is_valid_time (int hour,
               int minute,
               int second)
{
  return hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59;
}

/* Reads exactly n ASCII digits; no sign, no space, so every value has one spelling. */
static gboolean
read_digits (const char *str,
             guint       n,
             int        *out)
{
  int value = 0;

  for (guint i = 0; i < n; i++)
    {
      if (str[i] < '0' || str[i] > '9')
        return FALSE;
      value = value * 10 + (str[i] - '0');
    }
  *out = value;

  return TRUE;
}

/* "YYYY-MM-DD" at the start of str, without looking at what follows. */
static gboolean
read_date (const char *str,
           int        *year,
           int        *month,
           int        *day)
{
  return read_digits (str, 4, year) && str[4] == '-' &&
         read_digits (str + 5, 2, month) && str[7] == '-' &&
         read_digits (str + 8, 2, day) &&
         is_valid_date (*year, *month, *day);
}

gboolean
vd_time_parse_utc (const char *str,
                   gint64     *out_unix,
                   GError    **error)
{
  int year, month, day, hour, minute, second;

  g_return_val_if_fail (out_unix != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The length is checked first, so every index below is inside the string. */
  if (str == NULL || strlen (str) != 20 ||
      !read_date (str, &year, &month, &day) ||
      str[10] != 'T' ||
      !read_digits (str + 11, 2, &hour) || str[13] != ':' ||
      !read_digits (str + 14, 2, &minute) || str[16] != ':' ||
      !read_digits (str + 17, 2, &second) || str[19] != 'Z' ||
      !is_valid_time (hour, minute, second))
    {
      if (is_quotable (str))
        g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                     _("The time “%s” is not valid: it must be a UTC time written as YYYY-MM-DDTHH:MM:SSZ, for example 2024-03-31T09:30:00Z."),
                     str);
      else
        g_set_error_literal (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                             _("The time is not valid: it must be a UTC time written as YYYY-MM-DDTHH:MM:SSZ, for example 2024-03-31T09:30:00Z."));
      return FALSE;
    }

  *out_unix = days_from_civil (year, month, day) * SECONDS_PER_DAY +
              hour * 3600 + minute * 60 + second;

  return TRUE;
}

void
vd_time_format_utc (gint64 unix_time,
                    char   out[21])
{
  /* Clamped to the years parse accepts: the text always has 20 characters and always
   * reads back. No instant the clinic stores comes near either end. */
  const gint64 min_time = days_from_civil (MIN_YEAR, 1, 1) * SECONDS_PER_DAY;
  const gint64 max_time = days_from_civil (MAX_YEAR + 1, 1, 1) * SECONDS_PER_DAY - 1;
  gint64 days, secs;
  int year, month, day;

  g_return_if_fail (out != NULL);

  unix_time = CLAMP (unix_time, min_time, max_time);

  /* Floor division, so instants before 1970 land on the right day. */
  days = unix_time / SECONDS_PER_DAY;
  secs = unix_time % SECONDS_PER_DAY;
  if (secs < 0)
    {
      secs += SECONDS_PER_DAY;
      days -= 1;
    }
  civil_from_days (days, &year, &month, &day);

  g_snprintf (out, 21, "%04d-%02d-%02dT%02d:%02d:%02dZ",
              year, month, day,
              (int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60));
}

char *
vd_time_dup_utc (gint64 unix_time)
{
  char buf[21];

  vd_time_format_utc (unix_time, buf);

  return g_strdup (buf);
}

gboolean
vd_date_parse (const char *str,
               int        *out_year,
               int        *out_month,
               int        *out_day,
               GError    **error)
{
  int year, month, day;

  g_return_val_if_fail (out_year != NULL && out_month != NULL && out_day != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (str == NULL || strlen (str) != 10 || !read_date (str, &year, &month, &day))
    {
      if (is_quotable (str))
        g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                     _("The date “%s” is not valid: it must be a real date written as YYYY-MM-DD, for example 2024-03-31."),
                     str);
      else
        g_set_error_literal (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                             _("The date is not valid: it must be a real date written as YYYY-MM-DD, for example 2024-03-31."));
      return FALSE;
    }

  *out_year = year;
  *out_month = month;
  *out_day = day;

  return TRUE;
}

void
vd_date_format (int  year,
                int  month,
                int  day,
                char out[11])
{
  g_return_if_fail (out != NULL);

  /* An empty string rather than stack garbage if the caller broke the contract. */
  out[0] = '\0';
  g_return_if_fail (is_valid_date (year, month, day));

  g_snprintf (out, 11, "%04d-%02d-%02d", year, month, day);
}

/* An IANA name is '/'-separated parts, each starting with a letter. This refuses what
 * GLib would also accept but is no IANA name: absolute paths, "..", offsets such as
 * "+05:30", and the zoneinfo directory's other files (names with a dot). */
static gboolean
looks_like_iana_name (const char *identifier)
{
  gboolean part_start = TRUE;

  for (const char *p = identifier; *p != '\0'; p++)
    {
      char c = *p;

      if (part_start)
        {
          if (!g_ascii_isalpha (c))
            return FALSE;
          part_start = FALSE;
        }
      else if (c == '/')
        part_start = TRUE;
      else if (!g_ascii_isalnum (c) && c != '_' && c != '-' && c != '+')
        return FALSE;
    }

  return *identifier != '\0' && !part_start;
}

/* GLib falls back to reading an unknown name as a POSIX TZ rule ("ABC-3" is a zone to
 * it), and warns on a file of the zone directory that is not TZif. Requiring a TZif file
 * where GLib looks (TZDIR, else /usr/share/zoneinfo) keeps to the installed database. */
static gboolean
is_installed_zone (const char *identifier)
{
  const char *dir = g_getenv ("TZDIR");
  g_autofree char *path = NULL;
  char magic[4];
  FILE *file;
  gboolean ok;

  if (strcmp (identifier, "UTC") == 0)
    return TRUE;

  path = g_build_filename (dir != NULL && *dir != '\0' ? dir : "/usr/share/zoneinfo",
                           identifier, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  file = fopen (path, "rb");
  if (file == NULL)
    return FALSE;
  ok = fread (magic, 1, sizeof magic, file) == sizeof magic && memcmp (magic, "TZif", 4) == 0;
  fclose (file);

  return ok;
}

GTimeZone *
vd_time_zone_new (const char *identifier,
                  GError    **error)
{
  GTimeZone *zone = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (identifier != NULL && looks_like_iana_name (identifier) && is_installed_zone (identifier))
    zone = g_time_zone_new_identifier (identifier);

  if (zone == NULL && is_quotable (identifier))
    g_set_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
                 _("“%s” is not a known time zone: use an IANA name such as Europe/Madrid or America/Mexico_City."),
                 identifier);
  else if (zone == NULL)
    g_set_error_literal (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
                         _("The time zone is not known: use an IANA name such as Europe/Madrid or America/Mexico_City."));

  return zone;
}

GDateTime *
vd_time_to_zone (gint64     unix_time,
                 GTimeZone *zone)
{
  g_autoptr(GDateTime) utc = NULL;

  g_return_val_if_fail (zone != NULL, NULL);

  utc = g_date_time_new_from_unix_utc (unix_time);
  if (utc == NULL)
    return NULL;

  return g_date_time_to_timezone (utc, zone);
}

/* The offset in seconds east of UTC in effect at a UTC instant: unambiguous, unlike a
 * wall-clock time. */
static gint64
offset_at (GTimeZone *zone,
           gint64     unix_time)
{
  int interval = g_time_zone_find_interval (zone, G_TIME_TYPE_UNIVERSAL, unix_time);

  return g_time_zone_get_offset (zone, MAX (interval, 0));
}

gint64
vd_time_from_zone (GTimeZone *zone,
                   int        year,
                   int        month,
                   int        day,
                   int        hour,
                   int        minute,
                   int        second)
{
  gint64 local, before, after;
  gboolean before_fits, after_fits;

  g_return_val_if_fail (zone != NULL, 0);
  g_return_val_if_fail (is_valid_date (year, month, day), 0);
  g_return_val_if_fail (is_valid_time (hour, minute, second), 0);

  /* The wall-clock time counted as if it were UTC. */
  local = days_from_civil (year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;

  /* GDateTime's own choice differs from ours (it takes 03:00 in a gap and the standard
   * time in an overlap), so the candidates are worked out here. Zones change offset at
   * most once in two days, so the offsets a day either side are the only candidates;
   * one fits where offset_at (local - o) == o. */
  before = offset_at (zone, local - SECONDS_PER_DAY);
  after = offset_at (zone, local + SECONDS_PER_DAY);
  before_fits = offset_at (zone, local - before) == before;
  after_fits = offset_at (zone, local - after) == after;

  /* Both fit: an overlap, and the first occurrence is the earlier instant. */
  if (before_fits && after_fits)
    return local - MAX (before, after);
  if (after_fits)
    return local - after;

  /* Neither fits: a gap, where the time is read with the offset from before the clocks
   * moved (02:30 in a skipped hour is 03:30 new time). Otherwise before is the one that
   * fits. */
  return local - before;
}

void
vd_time_day_bounds (GTimeZone *zone,
                    int        year,
                    int        month,
                    int        day,
                    gint64    *out_start,
                    gint64    *out_end)
{
  int next_year, next_month, next_day;

  g_return_if_fail (zone != NULL);
  g_return_if_fail (out_start != NULL && out_end != NULL);
  g_return_if_fail (is_valid_date (year, month, day));

  civil_from_days (days_from_civil (year, month, day) + 1, &next_year, &next_month, &next_day);

  /* The end is the next day's start rather than start + 24 h, so that DST days last 23
   * or 25 hours. A midnight inside a gap resolves to the first instant of the day. */
  *out_start = vd_time_from_zone (zone, year, month, day, 0, 0, 0);
  if (next_year > MAX_YEAR)
    *out_end = *out_start + SECONDS_PER_DAY;
  else
    *out_end = vd_time_from_zone (zone, next_year, next_month, next_day, 0, 0, 0);
}

void
vd_time_today_bounds (GTimeZone *zone,
                      gint64     now_unix,
                      gint64    *out_start,
                      gint64    *out_end,
                      int       *out_year,
                      int       *out_month,
                      int       *out_day)
{
  g_autoptr(GDateTime) local = NULL;
  int year, month, day;

  g_return_if_fail (zone != NULL);

  local = vd_time_to_zone (now_unix, zone);
  g_return_if_fail (local != NULL);

  g_date_time_get_ymd (local, &year, &month, &day);
  vd_time_day_bounds (zone, year, month, day, out_start, out_end);

  if (out_year != NULL)
    *out_year = year;
  if (out_month != NULL)
    *out_month = month;
  if (out_day != NULL)
    *out_day = day;
}
