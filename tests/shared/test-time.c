/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-time.c — UTC instant and date text, and the clinic's time zone: local midnights,
 * day lengths across DST changes, times in gaps and overlaps (the seed system's worst bug
 * was its UTC conversion). */
#include "config.h"

#include <string.h>

#include "vd-time.h"
#include "vd-error.h"

#define HOUR 3600
#define DAY  86400

static guint64
test_seed (void)
{
  const char *env = g_getenv ("VD_SEED");
  guint64 seed = env != NULL ? g_ascii_strtoull (env, NULL, 10) : 20241027;

  g_test_message ("seed %" G_GUINT64_FORMAT " (replay with VD_SEED=%" G_GUINT64_FORMAT ")", seed, seed);
  return seed;
}

static gint64
utc (const char *text)
{
  g_autoptr(GError) error = NULL;
  gint64 value = 0;

  if (!vd_time_parse_utc (text, &value, &error))
    g_error ("%s: %s", text, error->message);

  return value;
}

static GTimeZone *
zone (const char *identifier)
{
  g_autoptr(GError) error = NULL;
  GTimeZone *tz = vd_time_zone_new (identifier, &error);

  g_assert_no_error (error);
  g_assert_nonnull (tz);

  return tz;
}

/* The wall-clock time of an instant in the zone, counted in seconds as if it were UTC. */
static gint64
wall (GTimeZone *tz,
      gint64     instant)
{
  g_autoptr(GDateTime) dt = vd_time_to_zone (instant, tz);

  g_assert_nonnull (dt);
  return g_date_time_to_unix (dt) + g_date_time_get_utc_offset (dt) / G_TIME_SPAN_SECOND;
}

static gint64
offset (GTimeZone *tz,
        gint64     instant)
{
  g_autoptr(GDateTime) dt = vd_time_to_zone (instant, tz);

  return g_date_time_get_utc_offset (dt) / G_TIME_SPAN_SECOND;
}

/* vd_time_from_zone for a wall-clock time given as seconds-as-if-UTC. */
static gint64
from_wall (GTimeZone *tz,
           gint64     local)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (local);

  return vd_time_from_zone (tz,
                            g_date_time_get_year (dt), g_date_time_get_month (dt),
                            g_date_time_get_day_of_month (dt), g_date_time_get_hour (dt),
                            g_date_time_get_minute (dt), g_date_time_get_second (dt));
}

static void
assert_instant (gint64      instant,
                const char *expected)
{
  g_autofree char *text = vd_time_dup_utc (instant);

  g_assert_cmpstr (text, ==, expected);
}

static void
assert_day (GTimeZone  *tz,
            int         year,
            int         month,
            int         day,
            const char *start,
            const char *end,
            gint64      hours)
{
  gint64 s = 0, e = 0;

  vd_time_day_bounds (tz, year, month, day, &s, &e);
  assert_instant (s, start);
  assert_instant (e, end);
  g_assert_cmpint (e - s, ==, hours * HOUR);
}

static void
test_utc_known (void)
{
  const struct
  {
    const char *text;
    gint64      unix_time;
  } known[] = {
    { "1970-01-01T00:00:00Z", 0 },
    { "1970-01-01T00:00:01Z", 1 },
    { "1969-12-31T23:59:59Z", -1 },
    { "2000-02-29T12:00:00Z", 951825600 },
    { "2024-02-29T00:00:00Z", 1709164800 },
    { "2024-03-31T01:00:00Z", 1711846800 },
    { "2038-01-19T03:14:07Z", G_MAXINT32 },
    { "2038-01-19T03:14:08Z", G_GINT64_CONSTANT (2147483648) },
    { "2106-02-07T06:28:16Z", G_GINT64_CONSTANT (4294967296) },
    { "9999-12-31T23:59:59Z", G_GINT64_CONSTANT (253402300799) },
    { "1000-01-01T00:00:00Z", G_GINT64_CONSTANT (-30610224000) },
  };

  for (guint i = 0; i < G_N_ELEMENTS (known); i++)
    {
      g_autoptr(GError) error = NULL;
      char out[21];
      gint64 value = 0;

      g_assert_true (vd_time_parse_utc (known[i].text, &value, &error));
      g_assert_no_error (error);
      g_assert_cmpint (value, ==, known[i].unix_time);
      vd_time_format_utc (known[i].unix_time, out);
      g_assert_cmpstr (out, ==, known[i].text);
    }

  /* Outside the years parse accepts, format clamps so its text still reads back. */
  assert_instant (G_GINT64_CONSTANT (253402300800), "9999-12-31T23:59:59Z");
  assert_instant (G_MAXINT64, "9999-12-31T23:59:59Z");
  assert_instant (G_GINT64_CONSTANT (-30610224001), "1000-01-01T00:00:00Z");
  assert_instant (G_MININT64, "1000-01-01T00:00:00Z");
}

static void
test_utc_refuses (void)
{
  const char *bad[] = {
    "",
    "2024-03-31T09:30:00z",
    "2024-03-31t09:30:00Z",
    "2024-03-31 09:30:00Z",
    "2024-03-31T09:30:00",
    "2024-03-31T09:30:00+00:00",
    "2024-03-31T09:30:00+01:00",
    "2024-03-31T09:30:00.000Z",
    "2024-03-31T09:30:00.5Z",
    "2024-03-31T9:30:00Z",
    "2024-03-31T09:3:00Z",
    "2024-3-31T09:30:00Z",
    "2024-03-1T09:30:00Z",
    "24-03-31T09:30:00Z",
    "+2024-03-31T09:30:00Z",
    "12024-03-31T09:30:00Z",
    "2024-03-31T09:30Z",
    "2024-03-31",
    " 2024-03-31T09:30:00Z",
    "2024-03-31T09:30:00Z ",
    "2024-03-31T24:00:00Z",
    "2024-03-31T23:60:00Z",
    "2024-03-31T23:59:60Z",
    "2024-02-30T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2024-04-31T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-00-01T00:00:00Z",
    "2024-01-00T00:00:00Z",
    "0999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "2024-03-31T0a:30:00Z",
    "2024-03-31T-9:30:00Z",
    "2024/03/31T09:30:00Z",
    "2024-03-31T09-30-00Z",
    "２024-03-31T09:30:00Z",
  };
  gint64 out = 42;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      if (vd_time_parse_utc (bad[i], &out, &error))
        g_error ("“%s” was accepted", bad[i]);
      g_assert_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE);
      g_assert_nonnull (strstr (error->message, "YYYY-MM-DDTHH:MM:SSZ"));
      g_assert_cmpint (out, ==, 42);
    }

  {
    g_autoptr(GError) error = NULL;

    g_assert_false (vd_time_parse_utc (NULL, &out, &error));
    g_assert_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE);
  }
}

static void
test_utc_random_round_trip (void)
{
  guint64 seed = test_seed ();
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);
  const gint64 lo = G_GINT64_CONSTANT (-30610224000);
  const gint64 hi = G_GINT64_CONSTANT (253402300799);

  for (guint i = 0; i < 100000; i++)
    {
      gint64 instant;
      char out[21];
      g_autoptr(GDateTime) dt = NULL;
      g_autofree char *expected = NULL;
      gint64 back = 0;

      /* Half over the whole range, half in the years a clinic lives in. */
      if (i % 2 == 0)
        instant = (gint64) g_rand_double_range (rand, (double) lo, (double) hi);
      else
        instant = (gint64) g_rand_double_range (rand, 0, 4102444800.0);

      /* GDateTime is the independent reference for the calendar arithmetic. */
      dt = g_date_time_new_from_unix_utc (instant);
      expected = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
      vd_time_format_utc (instant, out);
      if (g_strcmp0 (out, expected) != 0)
        g_error ("seed %" G_GUINT64_FORMAT ": %" G_GINT64_FORMAT " formats as %s, not %s",
                 seed, instant, out, expected);
      g_assert_true (vd_time_parse_utc (out, &back, NULL));
      g_assert_cmpint (back, ==, instant);
    }
}

static void
test_date (void)
{
  const char *good[] = { "2024-02-29", "2000-02-29", "1000-01-01", "9999-12-31", "1970-01-01", "2023-12-31" };
  const char *bad[] = {
    "", "2023-02-29", "1900-02-29", "2024-04-31", "2024-13-01", "2024-00-10", "2024-04-00",
    "2024-4-01", "2024-04-1", "24-04-01", "2024/04/01", "2024-04-01 ", " 2024-04-01",
    "+024-04-01", "0999-12-31", "2024-04-01T00:00:00Z", "2024-04-01Z", "20240401",
  };
  guint64 seed = test_seed ();
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);
  g_autoptr(GDate) first = g_date_new_dmy (1, G_DATE_JANUARY, 1000);
  g_autoptr(GDate) last = g_date_new_dmy (31, G_DATE_DECEMBER, 9999);

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      int y = 0, m = 0, d = 0;
      char out[11];

      g_assert_true (vd_date_parse (good[i], &y, &m, &d, NULL));
      vd_date_format (y, m, d, out);
      g_assert_cmpstr (out, ==, good[i]);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      int y = -1, m = -1, d = -1;

      if (vd_date_parse (bad[i], &y, &m, &d, &error))
        g_error ("“%s” was accepted", bad[i]);
      g_assert_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE);
      g_assert_nonnull (strstr (error->message, "YYYY-MM-DD"));
      g_assert_cmpint (y, ==, -1);
    }

  /* Every date GDate knows round-trips, checked against GDate's own fields. */
  for (guint i = 0; i < 20000; i++)
    {
      g_autoptr(GDate) date = g_date_new_julian (g_rand_int_range (rand, g_date_get_julian (first),
                                                                        g_date_get_julian (last) + 1));
      char out[11];
      int y = 0, m = 0, d = 0;

      vd_date_format (g_date_get_year (date), g_date_get_month (date), g_date_get_day (date), out);
      g_assert_true (vd_date_parse (out, &y, &m, &d, NULL));
      g_assert_cmpint (y, ==, g_date_get_year (date));
      g_assert_cmpint (m, ==, g_date_get_month (date));
      g_assert_cmpint (d, ==, g_date_get_day (date));
    }
}

static void
test_zone_new (void)
{
  const char *good[] = { "Europe/Madrid", "America/Mexico_City", "Asia/Kolkata", "UTC",
                         "America/Argentina/Buenos_Aires", "Etc/GMT+5" };
  const char *bad[] = {
    "Europe/Madird", "europe/madrid", "Mars/Olympus_Mons", "Foo", "", "Z", "+05:30",
    "ABC-3", "CET-1CEST,M3.5.0,M10.5.0/3", "/usr/share/zoneinfo/Europe/Madrid",
    "../zoneinfo/UTC", "Europe/../UTC", "Europe/Madrid/", "Europe//Madrid",
    "zone.tab", "leapseconds", "Europe",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GTimeZone) tz = vd_time_zone_new (good[i], &error);

      g_assert_no_error (error);
      g_assert_nonnull (tz);
      g_assert_cmpstr (g_time_zone_get_identifier (tz), ==, good[i]);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GTimeZone) tz = vd_time_zone_new (bad[i], &error);

      g_assert_null (tz);
      g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
      if (*bad[i] != '\0')
        g_assert_nonnull (strstr (error->message, bad[i]));
    }

  {
    g_autoptr(GError) error = NULL;

    g_assert_null (vd_time_zone_new (NULL, &error));
    g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
  }
}

/* Every day of a year lasts 24 h but the listed exceptions; each starts at a local
 * midnight and ends where the next one starts. */
static void
assert_day_lengths (GTimeZone *tz,
                    int        year,
                    const int  short_day[2],
                    const int  long_day[2])
{
  g_autoptr(GDate) date = g_date_new_dmy (1, G_DATE_JANUARY, year);
  gint64 previous_end = 0;
  guint n = 0;

  while (g_date_get_year (date) == year)
    {
      int m = g_date_get_month (date), d = g_date_get_day (date);
      gint64 start = 0, end = 0, expected = 24;
      g_autoptr(GDateTime) local = NULL;

      vd_time_day_bounds (tz, year, m, d, &start, &end);
      if (short_day != NULL && m == short_day[0] && d == short_day[1])
        expected = 23;
      if (long_day != NULL && m == long_day[0] && d == long_day[1])
        expected = 25;
      if (end - start != expected * HOUR)
        g_error ("%s %04d-%02d-%02d lasts %" G_GINT64_FORMAT " s, not %" G_GINT64_FORMAT " h",
                 g_time_zone_get_identifier (tz), year, m, d, end - start, expected);

      local = vd_time_to_zone (start, tz);
      g_assert_cmpint (g_date_time_get_year (local), ==, year);
      g_assert_cmpint (g_date_time_get_month (local), ==, m);
      g_assert_cmpint (g_date_time_get_day_of_month (local), ==, d);
      g_assert_cmpint (g_date_time_get_hour (local), ==, 0);
      g_assert_cmpint (g_date_time_get_minute (local), ==, 0);
      if (n > 0)
        g_assert_cmpint (start, ==, previous_end);

      previous_end = end;
      g_date_add_days (date, 1);
      n++;
    }
}

/* The EU rule: summer time from the last Sunday of March to the last Sunday of October. */
static void
last_sunday (int  year,
             int  month,
             int *out)
{
  g_autoptr(GDate) date = g_date_new_dmy (g_date_get_days_in_month (month, year), month, year);

  while (g_date_get_weekday (date) != G_DATE_SUNDAY)
    g_date_subtract_days (date, 1);
  out[0] = month;
  out[1] = g_date_get_day (date);
}

static void
test_madrid (void)
{
  g_autoptr(GTimeZone) tz = zone ("Europe/Madrid");
  const int years[] = { 2024, 2025, 2037, 2038, 2099 };

  /* Spring forward: 02:00 CET becomes 03:00 CEST. */
  assert_day (tz, 2024, 3, 30, "2024-03-29T23:00:00Z", "2024-03-30T23:00:00Z", 24);
  assert_day (tz, 2024, 3, 31, "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z", 23);
  assert_day (tz, 2024, 4, 1, "2024-03-31T22:00:00Z", "2024-04-01T22:00:00Z", 24);
  /* Fall back: 03:00 CEST becomes 02:00 CET. */
  assert_day (tz, 2024, 10, 26, "2024-10-25T22:00:00Z", "2024-10-26T22:00:00Z", 24);
  assert_day (tz, 2024, 10, 27, "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z", 25);
  assert_day (tz, 2024, 10, 28, "2024-10-27T23:00:00Z", "2024-10-28T23:00:00Z", 24);

  /* Times in the gap are read with the offset from before the change. */
  assert_instant (vd_time_from_zone (tz, 2024, 3, 31, 1, 59, 59), "2024-03-31T00:59:59Z");
  assert_instant (vd_time_from_zone (tz, 2024, 3, 31, 2, 0, 0), "2024-03-31T01:00:00Z");
  assert_instant (vd_time_from_zone (tz, 2024, 3, 31, 2, 30, 0), "2024-03-31T01:30:00Z");
  assert_instant (vd_time_from_zone (tz, 2024, 3, 31, 2, 59, 59), "2024-03-31T01:59:59Z");
  assert_instant (vd_time_from_zone (tz, 2024, 3, 31, 3, 0, 0), "2024-03-31T01:00:00Z");
  assert_instant (vd_time_from_zone (tz, 2024, 3, 31, 3, 30, 0), "2024-03-31T01:30:00Z");
  {
    /* 02:30 in the skipped hour shows as 03:30 new time. */
    g_autoptr(GDateTime) shown = vd_time_to_zone (vd_time_from_zone (tz, 2024, 3, 31, 2, 30, 0), tz);

    g_assert_cmpint (g_date_time_get_hour (shown), ==, 3);
    g_assert_cmpint (g_date_time_get_minute (shown), ==, 30);
    g_assert_cmpint (g_date_time_get_utc_offset (shown), ==, 2 * HOUR * G_TIME_SPAN_SECOND);
  }

  /* Times in the overlap take their first (summer time) occurrence. */
  assert_instant (vd_time_from_zone (tz, 2024, 10, 27, 1, 59, 59), "2024-10-26T23:59:59Z");
  assert_instant (vd_time_from_zone (tz, 2024, 10, 27, 2, 0, 0), "2024-10-27T00:00:00Z");
  assert_instant (vd_time_from_zone (tz, 2024, 10, 27, 2, 30, 0), "2024-10-27T00:30:00Z");
  assert_instant (vd_time_from_zone (tz, 2024, 10, 27, 2, 59, 59), "2024-10-27T00:59:59Z");
  assert_instant (vd_time_from_zone (tz, 2024, 10, 27, 3, 0, 0), "2024-10-27T02:00:00Z");
  g_assert_cmpint (offset (tz, utc ("2024-10-27T00:30:00Z")), ==, 2 * HOUR);
  g_assert_cmpint (offset (tz, utc ("2024-10-27T01:30:00Z")), ==, HOUR);
  g_assert_cmpint (wall (tz, utc ("2024-10-27T00:30:00Z")), ==, wall (tz, utc ("2024-10-27T01:30:00Z")));

  /* 1970: CET all year. */
  assert_instant (vd_time_from_zone (tz, 1970, 1, 1, 0, 0, 0), "1969-12-31T23:00:00Z");

  for (guint i = 0; i < G_N_ELEMENTS (years); i++)
    {
      int spring[2], autumn[2];

      last_sunday (years[i], 3, spring);
      last_sunday (years[i], 10, autumn);
      assert_day_lengths (tz, years[i], spring, autumn);
    }
}

static void
test_mexico_city (void)
{
  g_autoptr(GTimeZone) tz = zone ("America/Mexico_City");
  const int spring_2022[2] = { 4, 3 };
  const int autumn_2022[2] = { 10, 30 };

  /* 2022, the last year with DST: 02:00 CST became 03:00 CDT on April 3 and 02:00 CDT
   * went back to 01:00 CST on October 30. */
  assert_day (tz, 2022, 4, 3, "2022-04-03T06:00:00Z", "2022-04-04T05:00:00Z", 23);
  assert_day (tz, 2022, 10, 30, "2022-10-30T05:00:00Z", "2022-10-31T06:00:00Z", 25);
  assert_instant (vd_time_from_zone (tz, 2022, 4, 3, 2, 30, 0), "2022-04-03T08:30:00Z");
  assert_instant (vd_time_from_zone (tz, 2022, 4, 3, 3, 30, 0), "2022-04-03T08:30:00Z");
  assert_instant (vd_time_from_zone (tz, 2022, 10, 30, 1, 30, 0), "2022-10-30T06:30:00Z");
  assert_instant (vd_time_from_zone (tz, 2022, 10, 30, 2, 0, 0), "2022-10-30T08:00:00Z");
  g_assert_cmpint (wall (tz, utc ("2022-10-30T07:30:00Z")), ==, wall (tz, utc ("2022-10-30T06:30:00Z")));
  assert_day_lengths (tz, 2022, spring_2022, autumn_2022);

  /* No DST since: the former change days last 24 h and midnight stays at 06:00Z. */
  assert_day (tz, 2023, 4, 2, "2023-04-02T06:00:00Z", "2023-04-03T06:00:00Z", 24);
  assert_day (tz, 2023, 10, 29, "2023-10-29T06:00:00Z", "2023-10-30T06:00:00Z", 24);
  assert_day (tz, 2024, 4, 7, "2024-04-07T06:00:00Z", "2024-04-08T06:00:00Z", 24);
  assert_day (tz, 2024, 10, 27, "2024-10-27T06:00:00Z", "2024-10-28T06:00:00Z", 24);
  assert_day (tz, 2024, 7, 1, "2024-07-01T06:00:00Z", "2024-07-02T06:00:00Z", 24);
  assert_instant (vd_time_from_zone (tz, 2024, 4, 7, 2, 30, 0), "2024-04-07T08:30:00Z");
  assert_day_lengths (tz, 2023, NULL, NULL);
  assert_day_lengths (tz, 2024, NULL, NULL);
}

static void
test_kolkata (void)
{
  g_autoptr(GTimeZone) tz = zone ("Asia/Kolkata");
  gint64 start = 0, end = 0;
  int y = 0, m = 0, d = 0;

  assert_day (tz, 2024, 3, 31, "2024-03-30T18:30:00Z", "2024-03-31T18:30:00Z", 24);
  assert_day (tz, 2024, 1, 1, "2023-12-31T18:30:00Z", "2024-01-01T18:30:00Z", 24);
  assert_instant (vd_time_from_zone (tz, 2024, 5, 10, 9, 15, 0), "2024-05-10T03:45:00Z");

  vd_time_today_bounds (tz, utc ("2024-05-10T18:29:59Z"), &start, &end, &y, &m, &d);
  g_assert_cmpint (y, ==, 2024);
  g_assert_cmpint (m, ==, 5);
  g_assert_cmpint (d, ==, 10);
  assert_instant (start, "2024-05-09T18:30:00Z");
  assert_instant (end, "2024-05-10T18:30:00Z");

  vd_time_today_bounds (tz, utc ("2024-05-10T18:30:00Z"), &start, &end, &y, &m, &d);
  g_assert_cmpint (d, ==, 11);
  assert_instant (start, "2024-05-10T18:30:00Z");
  assert_instant (end, "2024-05-11T18:30:00Z");

  assert_day_lengths (tz, 2024, NULL, NULL);
}

static void
check_today (GTimeZone  *tz,
             const char *now,
             const char *date,
             const char *start,
             const char *end)
{
  gint64 s = 0, e = 0;
  int y = 0, m = 0, d = 0;
  char text[11];

  vd_time_today_bounds (tz, utc (now), &s, &e, &y, &m, &d);
  vd_date_format (y, m, d, text);
  g_assert_cmpstr (text, ==, date);
  assert_instant (s, start);
  assert_instant (e, end);
}

static void
test_today_bounds (void)
{
  g_autoptr(GTimeZone) madrid = zone ("Europe/Madrid");
  g_autoptr(GTimeZone) mexico = zone ("America/Mexico_City");
  g_autoptr(GTimeZone) kolkata = zone ("Asia/Kolkata");
  g_autoptr(GTimeZone) utc_zone = zone ("UTC");
  GTimeZone *zones[] = { madrid, mexico, kolkata, utc_zone };
  guint64 seed = test_seed ();
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);

  /* Just before and after local midnight, where a UTC date would be wrong. */
  check_today (madrid, "2024-03-30T22:59:59Z", "2024-03-30", "2024-03-29T23:00:00Z", "2024-03-30T23:00:00Z");
  check_today (madrid, "2024-03-30T23:00:00Z", "2024-03-31", "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z");
  check_today (madrid, "2024-03-31T21:59:59Z", "2024-03-31", "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z");
  check_today (madrid, "2024-03-31T22:00:00Z", "2024-04-01", "2024-03-31T22:00:00Z", "2024-04-01T22:00:00Z");
  check_today (madrid, "2024-10-27T22:59:59Z", "2024-10-27", "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z");
  check_today (madrid, "2024-10-27T23:00:00Z", "2024-10-28", "2024-10-27T23:00:00Z", "2024-10-28T23:00:00Z");
  /* Both occurrences of 02:30 on the fall-back day are on that day. */
  check_today (madrid, "2024-10-27T01:30:00Z", "2024-10-27", "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z");
  check_today (mexico, "2024-01-15T05:59:59Z", "2024-01-14", "2024-01-14T06:00:00Z", "2024-01-15T06:00:00Z");
  check_today (mexico, "2024-01-15T06:00:00Z", "2024-01-15", "2024-01-15T06:00:00Z", "2024-01-16T06:00:00Z");
  check_today (mexico, "2022-10-31T05:59:59Z", "2022-10-30", "2022-10-30T05:00:00Z", "2022-10-31T06:00:00Z");
  check_today (utc_zone, "2024-12-31T23:59:59Z", "2024-12-31", "2024-12-31T00:00:00Z", "2025-01-01T00:00:00Z");
  check_today (utc_zone, "2025-01-01T00:00:00Z", "2025-01-01", "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z");

  /* Any instant lies inside its day, whose date is the local date of the instant. */
  for (guint i = 0; i < 20000; i++)
    {
      GTimeZone *tz = zones[i % G_N_ELEMENTS (zones)];
      gint64 now = (gint64) g_rand_double_range (rand, 0, 4102444800.0);
      g_autoptr(GDateTime) local = vd_time_to_zone (now, tz);
      gint64 s = 0, e = 0;
      int y = 0, m = 0, d = 0;

      vd_time_today_bounds (tz, now, &s, &e, &y, &m, &d);
      if (!(s <= now && now < e))
        g_error ("seed %" G_GUINT64_FORMAT ": %" G_GINT64_FORMAT " outside its day in %s",
                 seed, now, g_time_zone_get_identifier (tz));
      g_assert_cmpint (y, ==, g_date_time_get_year (local));
      g_assert_cmpint (m, ==, g_date_time_get_month (local));
      g_assert_cmpint (d, ==, g_date_time_get_day_of_month (local));
      g_assert_cmpint (e - s, >=, 23 * HOUR);
      g_assert_cmpint (e - s, <=, 25 * HOUR);
    }
}

/* Every wall-clock time on the change days, minute by minute: existing ones map back to
 * themselves (the first occurrence when there are two), skipped ones an hour on. */
static void
test_from_zone_exhaustive (void)
{
  const struct
  {
    const char *zone;
    const char *day;        /* local midnight, as seconds-as-if-UTC */
    gint64      gap_start;  /* local seconds after midnight; -1 for none */
    gint64      overlap_start;
  } cases[] = {
    { "Europe/Madrid", "2024-03-31T00:00:00Z", 2 * HOUR, -1 },
    { "Europe/Madrid", "2024-10-27T00:00:00Z", -1, 2 * HOUR },
    { "America/Mexico_City", "2022-04-03T00:00:00Z", 2 * HOUR, -1 },
    { "America/Mexico_City", "2022-10-30T00:00:00Z", -1, 1 * HOUR },
    { "America/Mexico_City", "2024-04-07T00:00:00Z", -1, -1 },
    { "Asia/Kolkata", "2024-03-31T00:00:00Z", -1, -1 },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GTimeZone) tz = zone (cases[c].zone);
      gint64 midnight = utc (cases[c].day);
      guint gaps = 0, overlaps = 0;

      for (gint64 t = 0; t < DAY; t += 60)
        {
          gint64 local = midnight + t;
          gint64 instant = from_wall (tz, local);
          gboolean in_gap = cases[c].gap_start >= 0 &&
                            t >= cases[c].gap_start && t < cases[c].gap_start + HOUR;
          gboolean in_overlap = cases[c].overlap_start >= 0 &&
                                t >= cases[c].overlap_start && t < cases[c].overlap_start + HOUR;

          if (in_gap)
            {
              g_assert_cmpint (wall (tz, instant), ==, local + HOUR);
              gaps++;
            }
          else
            g_assert_cmpint (wall (tz, instant), ==, local);

          /* The first occurrence: the other one is an hour later, none is earlier. */
          g_assert_cmpint (wall (tz, instant - HOUR), !=, local);
          if (in_overlap)
            {
              g_assert_cmpint (wall (tz, instant + HOUR), ==, local);
              overlaps++;
            }
          else
            g_assert_cmpint (wall (tz, instant + HOUR), !=, local);
        }

      g_assert_cmpuint (gaps, ==, cases[c].gap_start >= 0 ? 60 : 0);
      g_assert_cmpuint (overlaps, ==, cases[c].overlap_start >= 0 ? 60 : 0);
    }
}

/* For random instants: reading the shown wall-clock time back gives the instant, or the
 * earlier occurrence of the same time. */
static void
test_from_zone_random (void)
{
  const char *names[] = { "Europe/Madrid", "America/Mexico_City", "Asia/Kolkata", "UTC", "Australia/Lord_Howe" };
  guint64 seed = test_seed ();
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);

  for (guint n = 0; n < G_N_ELEMENTS (names); n++)
    {
      g_autoptr(GTimeZone) tz = zone (names[n]);

      for (guint i = 0; i < 20000; i++)
        {
          gint64 instant = (gint64) g_rand_double_range (rand, 0, 2145916800.0);
          gint64 local = wall (tz, instant);
          gint64 back = from_wall (tz, local);

          if (back != instant &&
              !(back < instant && wall (tz, back) == local && offset (tz, back) > offset (tz, instant)))
            g_error ("seed %" G_GUINT64_FORMAT ": %s %" G_GINT64_FORMAT " read back as %" G_GINT64_FORMAT,
                     seed, names[n], instant, back);
        }
    }
}

static void
test_edges (void)
{
  g_autoptr(GTimeZone) madrid = zone ("Europe/Madrid");
  g_autoptr(GTimeZone) kolkata = zone ("Asia/Kolkata");
  g_autoptr(GTimeZone) utc_zone = zone ("UTC");
  g_autoptr(GDateTime) last = vd_time_to_zone (G_GINT64_CONSTANT (253402300799), utc_zone);
  g_autoptr(GDateTime) epoch = vd_time_to_zone (0, kolkata);
  gint64 start = 0, end = 0;

  g_assert_nonnull (last);
  g_assert_cmpint (g_date_time_get_year (last), ==, 9999);
  g_assert_cmpint (g_date_time_get_second (last), ==, 59);
  g_assert_cmpint (g_date_time_get_hour (epoch), ==, 5);
  g_assert_cmpint (g_date_time_get_minute (epoch), ==, 30);

  assert_day (kolkata, 1970, 1, 1, "1969-12-31T18:30:00Z", "1970-01-01T18:30:00Z", 24);
  assert_day (madrid, 2038, 1, 19, "2038-01-18T23:00:00Z", "2038-01-19T23:00:00Z", 24);

  /* The last day there is: its end is 24 h on rather than a date that cannot be written. */
  vd_time_day_bounds (kolkata, 9999, 12, 31, &start, &end);
  assert_instant (start, "9999-12-30T18:30:00Z");
  g_assert_cmpint (end - start, ==, DAY);
  vd_time_day_bounds (madrid, 1000, 1, 1, &start, &end);
  g_assert_cmpint (end - start, ==, DAY);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/time/utc-known", test_utc_known);
  g_test_add_func ("/time/utc-refuses", test_utc_refuses);
  g_test_add_func ("/time/utc-random-round-trip", test_utc_random_round_trip);
  g_test_add_func ("/time/date", test_date);
  g_test_add_func ("/time/zone-new", test_zone_new);
  g_test_add_func ("/time/madrid", test_madrid);
  g_test_add_func ("/time/mexico-city", test_mexico_city);
  g_test_add_func ("/time/kolkata", test_kolkata);
  g_test_add_func ("/time/today-bounds", test_today_bounds);
  g_test_add_func ("/time/from-zone-exhaustive", test_from_zone_exhaustive);
  g_test_add_func ("/time/from-zone-random", test_from_zone_random);
  g_test_add_func ("/time/edges", test_edges);
  return g_test_run ();
}
