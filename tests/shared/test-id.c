/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-id.c — canonical uuid text, its raw form and its order. */
#include "config.h"

#include <string.h>

#include "vd-id.h"
#include "vd-error.h"

static void
test_valid (void)
{
  g_assert_true (vd_uuid_is_valid ("0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b"));
  g_assert_false (vd_uuid_is_valid ("0191D5A3-c2f8-4001-8a2b-1c2d3e4f5a6b"));
  g_assert_false (vd_uuid_is_valid ("0191d5a3c2f840018a2b1c2d3e4f5a6b"));
  g_assert_false (vd_uuid_is_valid ("0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6"));
  g_assert_false (vd_uuid_is_valid ("0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6bb"));
  g_assert_false (vd_uuid_is_valid ("0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6g"));
  g_assert_false (vd_uuid_is_valid (""));
  g_assert_false (vd_uuid_is_valid (NULL));
}

static void
test_normalize (void)
{
  char out[VD_UUID_LEN + 1];

  g_assert_true (vd_uuid_normalize ("0191D5A3-C2F8-4001-8A2B-1C2D3E4F5A6B", out));
  g_assert_cmpstr (out, ==, "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b");
  g_assert_false (vd_uuid_normalize ("0191D5A3-C2F8-4001-8A2B_1C2D3E4F5A6B", out));
  g_assert_false (vd_uuid_normalize ("robert'); drop table pets; --", out));
}

static void
test_bytes_round_trip_and_order (void)
{
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *a = vd_uuid_new ();
      g_autofree char *b = vd_uuid_new ();
      guint8 ra[16], rb[16];
      char back[VD_UUID_LEN + 1];
      int text_cmp, raw_cmp;

      g_assert_true (vd_uuid_is_valid (a));
      g_assert_true (vd_uuid_to_bytes (a, ra));
      g_assert_true (vd_uuid_to_bytes (b, rb));
      vd_uuid_from_bytes (ra, back);
      g_assert_cmpstr (back, ==, a);

      text_cmp = strcmp (a, b);
      raw_cmp = memcmp (ra, rb, 16);
      g_assert_cmpint ((text_cmp > 0) - (text_cmp < 0), ==, (raw_cmp > 0) - (raw_cmp < 0));
    }
}

static void
test_error_codes (void)
{
  VdErrorCode code;

  for (guint i = 0; i < VD_N_ERROR_CODES; i++)
    {
      g_assert_true (vd_error_code_from_string (vd_error_code_to_string (i), &code));
      g_assert_cmpint (code, ==, i);
      g_assert_cmpuint (vd_error_code_http_status (i), >=, 400);
    }
  g_assert_cmpstr (vd_error_code_to_string (VD_ERROR_PAYLOAD_TOO_LARGE), ==, "payload_too_large");
  g_assert_cmpuint (vd_error_code_http_status (VD_ERROR_RATE_LIMITED), ==, 429);
  g_assert_cmpuint (vd_error_code_http_status (VD_ERROR_UNAUTHORIZED), ==, 401);
  g_assert_false (vd_error_code_from_string ("teapot", &code));
  g_assert_false (vd_error_code_from_string (NULL, &code));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/id/valid", test_valid);
  g_test_add_func ("/id/normalize", test_normalize);
  g_test_add_func ("/id/bytes-round-trip-and-order", test_bytes_round_trip_and_order);
  g_test_add_func ("/error/codes", test_error_codes);
  return g_test_run ();
}
