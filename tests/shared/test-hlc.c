/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-hlc.c — the hybrid logical clock: its one text spelling, ticks that never go
 * backwards, received values, the drift refusal and persistence across restarts. */
#include "config.h"

#include <string.h>

#include "vd-hlc.h"
#include "vd-error.h"

/* A wall clock the test sets by hand; counts its readings. */
typedef struct
{
  gint64 ms;
  guint  reads;
} TestWall;

static gint64
test_wall (gpointer user_data)
{
  TestWall *wall = user_data;

  wall->reads++;
  return wall->ms;
}

/* Records every value the clock asks to persist. */
typedef struct
{
  GArray *values;
} TestStore;

static void
test_persist (VdHlc    hlc,
              gpointer user_data)
{
  TestStore *store = user_data;

  g_array_append_val (store->values, hlc);
}

static guint64
test_seed (void)
{
  const char *env = g_getenv ("VD_SEED");
  guint64 seed = env != NULL ? g_ascii_strtoull (env, NULL, 10) : 20240331;

  g_test_message ("seed %" G_GUINT64_FORMAT " (replay with VD_SEED=%" G_GUINT64_FORMAT ")", seed, seed);
  return seed;
}

static void
test_format_parse (void)
{
  const VdHlc samples[] = {
    0,
    1,
    0xffff,
    0x10000,
    G_GUINT64_CONSTANT (0x0191d5a3c2f80001),
    G_GUINT64_CONSTANT (0x7fffffffffffffff),
    G_MAXUINT64,
  };
  char text[VD_HLC_STRING_LEN + 1];
  VdHlc back;
  guint64 seed = test_seed ();
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);

  vd_hlc_format (0, text);
  g_assert_cmpstr (text, ==, "0000000000000000");
  vd_hlc_format (G_MAXUINT64, text);
  g_assert_cmpstr (text, ==, "ffffffffffffffff");
  vd_hlc_format (G_GUINT64_CONSTANT (0x0191d5a3c2f80001), text);
  g_assert_cmpstr (text, ==, "0191d5a3c2f80001");
  g_assert_cmpint (vd_hlc_ms (G_GUINT64_CONSTANT (0x0191d5a3c2f80001)), ==, G_GINT64_CONSTANT (0x0191d5a3c2f8));
  g_assert_cmpuint (vd_hlc_counter (G_GUINT64_CONSTANT (0x0191d5a3c2f80001)), ==, 1);

  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      g_autoptr(GError) error = NULL;

      vd_hlc_format (samples[i], text);
      g_assert_cmpuint (strlen (text), ==, VD_HLC_STRING_LEN);
      g_assert_true (vd_hlc_parse (text, &back, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (back, ==, samples[i]);
    }

  for (guint i = 0; i < 10000; i++)
    {
      VdHlc value = ((VdHlc) g_rand_int (rand) << 32) | g_rand_int (rand);
      g_autofree char *printed = g_strdup_printf ("%016" G_GINT64_MODIFIER "x", value);

      vd_hlc_format (value, text);
      g_assert_cmpstr (text, ==, printed);
      g_assert_true (vd_hlc_parse (text, &back, NULL));
      g_assert_cmpuint (back, ==, value);
    }
}

static void
test_parse_refuses (void)
{
  const char *bad[] = {
    "",
    "0191d5a3c2f8000",           /* 15 digits */
    "0191d5a3c2f800011",         /* 17 digits */
    "0191D5A3C2F80001",          /* uppercase */
    "0191d5a3c2f8000A",
    "0191d5a3c2f8000g",
    "+191d5a3c2f80001",
    "-191d5a3c2f80001",
    " 191d5a3c2f80001",
    "0191d5a3c2f80001 ",
    "0x91d5a3c2f80001",
    "0191d5a3 2f80001",
    "0191d5a3c2f8000\n",
    "0191d5a3c2f8\xc3\xa9" "01",
  };
  VdHlc out = 42;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (vd_hlc_parse (bad[i], &out, &error));
      g_assert_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE);
      g_assert_nonnull (strstr (error->message, "16"));
      g_assert_cmpuint (out, ==, 42);
    }

  {
    g_autoptr(GError) error = NULL;
    /* A string with an embedded NUL is only its first 15 characters. */
    const char embedded[] = "0191d5a3c2f8000\0" "1";

    g_assert_false (vd_hlc_parse (embedded, &out, &error));
    g_assert_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE);
  }
  {
    g_autoptr(GError) error = NULL;

    g_assert_false (vd_hlc_parse (NULL, &out, &error));
    g_assert_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE);
  }
}

static void
test_tick_frozen_wall (void)
{
  TestWall wall = { 1700000000000, 0 };
  g_autoptr(VdHlcClock) clock = vd_hlc_clock_new (0, test_wall, &wall);
  VdHlc first, previous;

  first = vd_hlc_clock_tick (clock);
  g_assert_cmpuint (first, ==, vd_hlc_make (wall.ms, 0));
  g_assert_cmpuint (vd_hlc_clock_last (clock), ==, first);
  g_assert_cmpuint (wall.reads, >, 0);

  previous = first;
  for (guint i = 1; i <= 1000; i++)
    {
      VdHlc next = vd_hlc_clock_tick (clock);

      g_assert_cmpuint (next, ==, previous + 1);
      g_assert_cmpint (vd_hlc_ms (next), ==, wall.ms);
      g_assert_cmpuint (vd_hlc_counter (next), ==, i);
      previous = next;
    }

  /* When the wall clock moves on, the counter starts again from zero. */
  wall.ms += 5;
  g_assert_cmpuint (vd_hlc_clock_tick (clock), ==, vd_hlc_make (wall.ms, 0));
}

static void
test_counter_overflow (void)
{
  TestWall wall = { 1700000000000, 0 };
  g_autoptr(VdHlcClock) clock = vd_hlc_clock_new (vd_hlc_make (wall.ms, 0xfffe), test_wall, &wall);
  VdHlc a, b, c;

  a = vd_hlc_clock_tick (clock);
  b = vd_hlc_clock_tick (clock);
  c = vd_hlc_clock_tick (clock);

  g_assert_cmpuint (a, ==, vd_hlc_make (wall.ms, 0xffff));
  /* The full counter carries into the milliseconds: the clock runs a little ahead of
   * the wall rather than repeating or wrapping. */
  g_assert_cmpuint (b, ==, vd_hlc_make (wall.ms + 1, 0));
  g_assert_cmpuint (c, ==, vd_hlc_make (wall.ms + 1, 1));
  g_assert_cmpuint (a, <, b);
  g_assert_cmpuint (b, <, c);

  /* The wall clock catching up with the carried ms does not move the clock back. */
  wall.ms += 1;
  g_assert_cmpuint (vd_hlc_clock_tick (clock), ==, vd_hlc_make (wall.ms, 2));
}

static void
test_wall_backwards (void)
{
  TestWall wall = { 1700000000000, 0 };
  g_autoptr(VdHlcClock) clock = vd_hlc_clock_new (0, test_wall, &wall);
  VdHlc before, after;
  guint64 seed = test_seed ();
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);

  before = vd_hlc_clock_tick (clock);
  wall.ms -= 3600 * 1000;   /* an NTP step of an hour back */
  after = vd_hlc_clock_tick (clock);
  g_assert_cmpuint (after, ==, before + 1);

  /* A jittering wall clock: every tick is strictly greater than the one before. */
  for (guint i = 0; i < 10000; i++)
    {
      VdHlc next;

      wall.ms += g_rand_int_range (rand, -2000, 2000);
      next = vd_hlc_clock_tick (clock);
      g_assert_cmpuint (next, >, after);
      g_assert_cmpint (vd_hlc_ms (next), >=, wall.ms);
      after = next;
    }
}

static void
test_wall_out_of_range (void)
{
  TestWall wall = { G_MAXINT64, 0 };
  g_autoptr(VdHlcClock) clock = vd_hlc_clock_new (0, test_wall, &wall);
  g_autoptr(VdHlcClock) past = NULL;
  VdHlc hlc;

  /* Beyond 48 bits the wall is clamped, not shifted into garbage. */
  hlc = vd_hlc_clock_tick (clock);
  g_assert_cmpuint (hlc, ==, vd_hlc_make (VD_HLC_MAX_MS, 0));
  g_assert_cmpuint (vd_hlc_clock_tick (clock), ==, hlc + 1);

  wall.ms = (gint64) VD_HLC_MAX_MS + 1;
  g_assert_cmpuint (vd_hlc_clock_tick (clock), ==, hlc + 2);

  /* Just past 48 bits: shifting would keep only the low bits (5) and issue a tiny hlc. */
  {
    g_autoptr(VdHlcClock) fresh = NULL;

    wall.ms = (gint64) VD_HLC_MAX_MS + 6;
    fresh = vd_hlc_clock_new (0, test_wall, &wall);
    g_assert_cmpuint (vd_hlc_clock_tick (fresh), ==, vd_hlc_make (VD_HLC_MAX_MS, 0));
  }

  /* A wall before 1970 counts as 0; the counter still moves. */
  wall.ms = -5000;
  past = vd_hlc_clock_new (0, test_wall, &wall);
  g_assert_cmpuint (vd_hlc_clock_tick (past), ==, 1);
  g_assert_cmpuint (vd_hlc_clock_tick (past), ==, 2);

  /* The very last value cannot move on, but it does not wrap to 0 either. */
  {
    g_autoptr(VdHlcClock) end = vd_hlc_clock_new (G_MAXUINT64, test_wall, &wall);

    g_assert_cmpuint (vd_hlc_clock_tick (end), ==, G_MAXUINT64);
  }
}

static void
test_update (void)
{
  TestWall wall = { 1700000000000, 0 };
  g_autoptr(VdHlcClock) clock = vd_hlc_clock_new (0, test_wall, &wall);
  g_autoptr(GError) error = NULL;
  VdHlc local, remote;

  local = vd_hlc_clock_tick (clock);

  /* A remote value behind both the clock and the wall changes nothing. */
  remote = vd_hlc_make (wall.ms - 10000, 7);
  g_assert_true (vd_hlc_clock_update (clock, remote, 300000, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vd_hlc_clock_last (clock), ==, local);

  /* Ahead of the clock but behind a wall that moved on: the wall wins. */
  wall.ms += 1000;
  g_assert_true (vd_hlc_clock_update (clock, local + 3, 300000, &error));
  g_assert_cmpuint (vd_hlc_clock_last (clock), ==, vd_hlc_make (wall.ms, 0));

  /* Ahead within the drift: the clock jumps to it, and the next tick is after it. */
  remote = vd_hlc_make (wall.ms + 60000, 9);
  g_assert_true (vd_hlc_clock_update (clock, remote, 300000, &error));
  g_assert_cmpuint (vd_hlc_clock_last (clock), ==, remote);
  g_assert_cmpuint (vd_hlc_clock_tick (clock), ==, remote + 1);

  /* Exactly at the limit is accepted. */
  remote = vd_hlc_make (wall.ms + 300000, 0);
  g_assert_true (vd_hlc_clock_update (clock, remote, 300000, &error));
  g_assert_cmpuint (vd_hlc_clock_last (clock), ==, remote);
}

static void
test_drift_refused (void)
{
  TestWall wall = { 1700000000000, 0 };
  TestStore store = { g_array_new (FALSE, FALSE, sizeof (VdHlc)) };
  g_autoptr(VdHlcClock) clock = vd_hlc_clock_new (0, test_wall, &wall);
  g_autoptr(GError) error = NULL;
  VdHlc local, remote;
  char text[VD_HLC_STRING_LEN + 1];

  vd_hlc_clock_set_persist (clock, test_persist, &store);
  local = vd_hlc_clock_tick (clock);
  g_assert_cmpuint (store.values->len, ==, 1);

  remote = vd_hlc_make (wall.ms + 300001, 0);
  g_assert_false (vd_hlc_clock_update (clock, remote, 300000, &error));
  g_assert_error (error, VD_ERROR, VD_ERROR_CLOCK_SKEW);
  vd_hlc_format (remote, text);
  g_assert_nonnull (strstr (error->message, text));
  g_assert_nonnull (strstr (error->message, "300000"));
  g_assert_cmpuint (vd_hlc_clock_last (clock), ==, local);
  g_assert_cmpuint (store.values->len, ==, 1);
  g_clear_error (&error);

  /* The offset moves the reference: the same value is fine for a clock told that the
   * server is 10 s ahead. */
  vd_hlc_clock_set_offset (clock, 10000);
  g_assert_true (vd_hlc_clock_update (clock, remote, 300000, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vd_hlc_clock_last (clock), ==, remote);

  /* max_drift_ms <= 0: no check at all. */
  remote = vd_hlc_make (VD_HLC_MAX_MS, 5);
  g_assert_true (vd_hlc_clock_update (clock, remote, 0, &error));
  g_assert_cmpuint (vd_hlc_clock_last (clock), ==, remote);

  /* The check on its own, also with a wall clock far in the past (no overflow). */
  g_assert_true (vd_hlc_check_drift (vd_hlc_make (1000, 0), 1000, 1, NULL));
  g_assert_true (vd_hlc_check_drift (vd_hlc_make (1001, 0), 1000, 1, NULL));
  g_assert_false (vd_hlc_check_drift (vd_hlc_make (1002, 0), 1000, 1, NULL));
  g_assert_true (vd_hlc_check_drift (vd_hlc_make (1002, 0), 1000, -1, NULL));
  g_assert_false (vd_hlc_check_drift (vd_hlc_make (1, 0), G_MININT64, G_MAXINT64, &error));
  g_assert_error (error, VD_ERROR, VD_ERROR_CLOCK_SKEW);

  g_array_unref (store.values);
}

static void
test_persist_and_restart (void)
{
  TestWall wall = { 1700000000000, 0 };
  TestStore store = { g_array_new (FALSE, FALSE, sizeof (VdHlc)) };
  VdHlcClock *clock = vd_hlc_clock_new (0, test_wall, &wall);
  VdHlc issued_max = 0, persisted, first_after_restart;
  guint64 seed = test_seed ();
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);
  guint expected_calls = 0, unchanged = 0;

  vd_hlc_clock_set_persist (clock, test_persist, &store);

  for (guint i = 0; i < 2000; i++)
    {
      VdHlc before = vd_hlc_clock_last (clock);
      VdHlc after;

      wall.ms += g_rand_int_range (rand, -50, 50);
      if (g_rand_boolean (rand))
        vd_hlc_clock_tick (clock);
      else
        g_assert_true (vd_hlc_clock_update (clock,
                                            vd_hlc_make (wall.ms + g_rand_int_range (rand, -100, 100),
                                                         g_rand_int_range (rand, 0, 0x10000)),
                                            300000, NULL));
      after = vd_hlc_clock_last (clock);
      g_assert_cmpuint (after, >=, before);

      /* Called with each new value, and only when it changed. */
      if (after != before)
        {
          expected_calls++;
          g_assert_cmpuint (store.values->len, ==, expected_calls);
          g_assert_cmpuint (g_array_index (store.values, VdHlc, store.values->len - 1), ==, after);
        }
      else
        unchanged++;
      g_assert_cmpuint (store.values->len, ==, expected_calls);
      issued_max = MAX (issued_max, after);
    }
  /* Both kinds of step happened: ones that moved the clock and ones that did not. */
  g_assert_cmpuint (expected_calls, >, 500);
  g_assert_cmpuint (unchanged, >, 100);

  persisted = g_array_index (store.values, VdHlc, store.values->len - 1);
  g_assert_cmpuint (persisted, ==, issued_max);
  vd_hlc_clock_free (clock);

  /* A restart with the wall clock set an hour back still issues larger values. */
  wall.ms -= 3600 * 1000;
  clock = vd_hlc_clock_new (persisted, test_wall, &wall);
  g_assert_cmpuint (vd_hlc_clock_last (clock), ==, persisted);
  first_after_restart = vd_hlc_clock_tick (clock);
  g_assert_cmpuint (first_after_restart, >, issued_max);
  g_assert_cmpuint (first_after_restart, ==, persisted + 1);
  vd_hlc_clock_free (clock);

  g_array_unref (store.values);
}

static void
test_offset (void)
{
  TestWall wall = { 1700000000000, 0 };
  g_autoptr(VdHlcClock) clock = vd_hlc_clock_new (0, test_wall, &wall);
  g_autoptr(VdHlcClock) real = vd_hlc_clock_new (0, NULL, NULL);
  gint64 before_ms, real_ms, after_ms;

  g_assert_cmpint (vd_hlc_clock_get_offset (clock), ==, 0);
  g_assert_cmpint (vd_hlc_clock_wall_ms (clock), ==, wall.ms);

  vd_hlc_clock_set_offset (clock, 90000);
  g_assert_cmpint (vd_hlc_clock_get_offset (clock), ==, 90000);
  g_assert_cmpint (vd_hlc_clock_wall_ms (clock), ==, wall.ms + 90000);
  g_assert_cmpuint (vd_hlc_clock_tick (clock), ==, vd_hlc_make (wall.ms + 90000, 0));

  /* A negative offset slows the clock's wall, never the clock itself. */
  vd_hlc_clock_set_offset (clock, -90000);
  g_assert_cmpint (vd_hlc_clock_wall_ms (clock), ==, wall.ms - 90000);
  g_assert_cmpuint (vd_hlc_clock_tick (clock), ==, vd_hlc_make (wall.ms + 90000, 1));
  wall.ms += 180001;
  g_assert_cmpuint (vd_hlc_clock_tick (clock), ==, vd_hlc_make (wall.ms - 90000, 0));

  /* Offsets that would overflow saturate. */
  vd_hlc_clock_set_offset (clock, G_MAXINT64);
  g_assert_cmpint (vd_hlc_clock_wall_ms (clock), ==, G_MAXINT64);
  vd_hlc_clock_set_offset (clock, G_MININT64);
  g_assert_cmpint (vd_hlc_clock_wall_ms (clock), ==, wall.ms + G_MININT64);

  /* Without a wall function the clock reads the real time. */
  before_ms = g_get_real_time () / 1000;
  real_ms = vd_hlc_clock_wall_ms (real);
  after_ms = g_get_real_time () / 1000;
  g_assert_cmpint (real_ms, >=, before_ms);
  g_assert_cmpint (real_ms, <=, after_ms);
  vd_hlc_clock_set_offset (real, -86400000);
  g_assert_cmpint (vd_hlc_clock_wall_ms (real), <=, g_get_real_time () / 1000 - 86400000);
  g_assert_cmpint (vd_hlc_ms (vd_hlc_clock_tick (real)), >=, before_ms - 86400000);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hlc/format-parse", test_format_parse);
  g_test_add_func ("/hlc/parse-refuses", test_parse_refuses);
  g_test_add_func ("/hlc/tick-frozen-wall", test_tick_frozen_wall);
  g_test_add_func ("/hlc/counter-overflow", test_counter_overflow);
  g_test_add_func ("/hlc/wall-backwards", test_wall_backwards);
  g_test_add_func ("/hlc/wall-out-of-range", test_wall_out_of_range);
  g_test_add_func ("/hlc/update", test_update);
  g_test_add_func ("/hlc/drift-refused", test_drift_refused);
  g_test_add_func ("/hlc/persist-and-restart", test_persist_and_restart);
  g_test_add_func ("/hlc/offset", test_offset);
  return g_test_run ();
}
