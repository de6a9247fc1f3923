/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-protocol.c — the messages of vd-protocol.c that test-change.c does not cover: the
 * push answer, the restamp of a cached pull answer, stream events, NOTIFY payloads and
 * error bodies, each written and read back, and what a decoder refuses. */
#include "config.h"

#include <string.h>

#include "vd-error.h"
#include "vd-protocol.h"

static VdRejection *
rejection_new (guint       index,
               const char *code,
               const char *message)
{
  VdRejection *rejection = g_new0 (VdRejection, 1);

  rejection->index = index;
  rejection->code = g_strdup (code);
  rejection->message = g_strdup (message);
  return rejection;
}

static void
test_push_answer_round_trip (void)
{
  g_autoptr(GPtrArray) rejected = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_rejection_free);
  g_autoptr(VdPushAnswer) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  VdPushAnswer answer = { 0 };
  gsize len = 0;
  VdRejection *r;

  g_ptr_array_add (rejected, rejection_new (1, "invalid_change", "The “phone” is \"bad\"\n."));
  g_ptr_array_add (rejected, rejection_new (4, "clock_skew", "ahead"));
  answer.batch_id = 7;
  answer.accepted = 3;
  answer.rejected = rejected;
  answer.cursor = 1234;
  answer.server_hlc = vd_hlc_make (1718000000000, 5);

  text = vd_push_answer_encode (&answer, &len);
  g_assert_cmpuint (len, ==, strlen (text));
  g_assert_true (g_str_has_prefix (text, "{\"batch_id\":7,\"accepted\":3,\"rejected\":[{\"index\":1,"));

  back = vd_push_answer_decode (text, len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->batch_id, ==, 7);
  g_assert_cmpint (back->accepted, ==, 3);
  g_assert_cmpint (back->cursor, ==, 1234);
  g_assert_cmpuint (back->server_hlc, ==, answer.server_hlc);
  g_assert_cmpuint (back->rejected->len, ==, 2);
  r = g_ptr_array_index (back->rejected, 0);
  g_assert_cmpuint (r->index, ==, 1);
  g_assert_cmpstr (r->code, ==, "invalid_change");
  g_assert_cmpstr (r->message, ==, "The “phone” is \"bad\"\n.");
  g_assert_true (vd_push_answer_has_code (back, "clock_skew"));
  g_assert_false (vd_push_answer_has_code (back, "other"));
}

static void
test_push_answer_defaults (void)
{
  const char *text = "{\"batch_id\":3,\"rejected\":[{\"index\":\"x\"},{\"index\":2}],\"extra\":1}";
  g_autoptr(VdPushAnswer) answer = NULL;
  g_autoptr(GError) error = NULL;
  VdRejection *r;

  answer = vd_push_answer_decode (text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_cmpint (answer->accepted, ==, -1);
  g_assert_cmpint (answer->cursor, ==, 0);
  g_assert_cmpuint (answer->server_hlc, ==, 0);
  r = g_ptr_array_index (answer->rejected, 0);
  g_assert_cmpuint (r->index, ==, G_MAXUINT);
  g_assert_cmpstr (r->code, ==, "invalid_change");
  g_assert_cmpstr (r->message, ==, "");
  r = g_ptr_array_index (answer->rejected, 1);
  g_assert_cmpuint (r->index, ==, 2);
  g_assert_false (vd_push_answer_has_code (answer, "clock_skew"));
}

static void
test_push_answer_refused (void)
{
  static const struct { const char *text; const char *why; } cases[] = {
    { "", "not a JSON object" },
    { "[1]", "not a JSON object" },
    { "{\"batch_id\":1,}", "not a JSON object" },
    { "{\"accepted\":1}", "another batch id" },
    { "{\"batch_id\":\"1\"}", "another batch id" },
    { "{\"batch_id\":1,\"rejected\":{}}", "rejected is not a list" },
    { "{\"batch_id\":1,\"rejected\":[1]}", "a rejection is not an object" },
    { "{\"batch_id\":1,\"server_hlc\":\"nope\"}", "bad server_hlc" },
    { "{\"batch_id\":1,\"server_hlc\":12}", "bad server_hlc" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(VdPushAnswer) answer = vd_push_answer_decode (cases[i].text,
                                                              strlen (cases[i].text), &error);

      g_assert_null (answer);
      g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
      g_assert_cmpstr (error->message, ==, cases[i].why);
    }
}

static void
test_pull_answer_restamp (void)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new ();
  g_autoptr(VdPullAnswer) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  VdHlc later = vd_hlc_make (1718000999000, 1);
  char tiny[4] = "abc";
  gsize len = 0;

  text = vd_pull_answer_encode (changes, 42, TRUE, vd_hlc_make (1718000000000, 0), &len);
  g_assert_true (vd_pull_answer_restamp (text, len, later));
  back = vd_pull_answer_decode (text, len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->server_hlc, ==, later);
  g_assert_cmpint (back->cursor, ==, 42);
  g_assert_true (back->more);

  g_assert_false (vd_pull_answer_restamp (tiny, 3, later));
  g_assert_cmpstr (tiny, ==, "abc");
}

static void
test_stream_events (void)
{
  static const VdStreamEventType types[] = {
    VD_STREAM_EVENT_CURSOR, VD_STREAM_EVENT_PING, VD_STREAM_EVENT_PONG,
  };
  static const char * const others[] = {
    "", "{}", "[]", "{\"type\":\"cursor\"}", "{\"type\":\"cursor\",\"cursor\":1.5}",
    "{\"type\":\"cursor\",\"cursor\":\"3\"}", "{\"type\":\"hello\"}", "{\"type\":1}",
    "{\"type\":\"ping\"", "nonsense",
  };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      VdStreamEvent event = { types[i], G_MAXINT64 };
      VdStreamEvent back;
      char text[VD_STREAM_EVENT_MAX_LEN];
      gsize len = vd_stream_event_encode (&event, text);

      g_assert_cmpuint (len, ==, strlen (text));
      g_assert_cmpint (vd_stream_event_decode (text, len, &back), ==, types[i]);
      g_assert_cmpint (back.type, ==, types[i]);
      if (types[i] == VD_STREAM_EVENT_CURSOR)
        g_assert_cmpint (back.cursor, ==, G_MAXINT64);
    }

  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    {
      VdStreamEvent back;

      g_assert_cmpint (vd_stream_event_decode (others[i], strlen (others[i]), &back), ==,
                       VD_STREAM_EVENT_NONE);
      g_assert_cmpint (back.type, ==, VD_STREAM_EVENT_NONE);
    }
}

static void
test_notify_payloads (void)
{
  const char *tenant = "0191d5a3-c2f8-4000-8a2b-000000000001";
  const char *device = "0191d5a3-c2f8-4000-8a2b-000000000002";
  g_autofree char *seq_text = vd_notify_seq_encode (tenant, 99);
  g_autofree char *revoke_text = vd_notify_revoke_encode (tenant, device);
  g_autofree char *t1 = NULL;
  g_autofree char *t2 = NULL;
  g_autofree char *d = NULL;
  gint64 seq = 0;

  g_assert_true (vd_notify_seq_decode (seq_text, &t1, &seq));
  g_assert_cmpstr (t1, ==, tenant);
  g_assert_cmpint (seq, ==, 99);
  g_assert_true (vd_notify_revoke_decode (revoke_text, &t2, &d));
  g_assert_cmpstr (t2, ==, tenant);
  g_assert_cmpstr (d, ==, device);

  g_clear_pointer (&t1, g_free);
  g_assert_false (vd_notify_seq_decode ("no-colon", &t1, &seq));
  g_assert_null (t1);
  g_assert_false (vd_notify_seq_decode ("t:-1", &t1, &seq));
  g_assert_false (vd_notify_seq_decode ("t:12x", &t1, &seq));
  g_assert_false (vd_notify_seq_decode (NULL, &t1, &seq));
  g_clear_pointer (&t2, g_free);
  g_clear_pointer (&d, g_free);
  g_assert_false (vd_notify_revoke_decode ("no-colon", &t2, &d));
  g_assert_null (t2);
  g_assert_null (d);
}

static void
test_error_bodies (void)
{
  g_autofree char *code = NULL;
  g_autofree char *message = NULL;
  g_autofree char *body = NULL;
  g_autofree char *big = NULL;
  gsize len = 0;

  body = vd_error_body_encode ("rate_limited", "Too many “tries”; wait\n a minute.", &len);
  g_assert_cmpuint (len, ==, strlen (body));
  message = vd_error_body_decode (body, len, &code);
  g_assert_cmpstr (code, ==, "rate_limited");
  g_assert_cmpstr (message, ==, "Too many “tries”; wait\n a minute.");

  g_clear_pointer (&code, g_free);
  g_clear_pointer (&message, g_free);
  message = vd_error_body_decode ("{\"error\":\"x\"}", 13, &code);
  g_assert_null (message);
  g_assert_null (code);
  g_assert_null (vd_error_body_decode ("<html>", 6, NULL));
  g_assert_null (vd_error_body_decode (NULL, 0, NULL));

  /* An error object without a message gives none, but still its code. */
  message = vd_error_body_decode ("{\"error\":{\"code\":\"x\"}}", 22, &code);
  g_assert_null (message);
  g_assert_cmpstr (code, ==, "x");

  g_clear_pointer (&code, g_free);
  big = g_strnfill (70000, ' ');
  memcpy (big, "{\"error\":{\"code\":\"x\",\"message\":\"m\"}}", 36);
  g_assert_null (vd_error_body_decode (big, 70000, &code));
  g_assert_null (code);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/protocol/push-answer/round-trip", test_push_answer_round_trip);
  g_test_add_func ("/protocol/push-answer/defaults", test_push_answer_defaults);
  g_test_add_func ("/protocol/push-answer/refused", test_push_answer_refused);
  g_test_add_func ("/protocol/pull-answer/restamp", test_pull_answer_restamp);
  g_test_add_func ("/protocol/stream-events", test_stream_events);
  g_test_add_func ("/protocol/notify", test_notify_payloads);
  g_test_add_func ("/protocol/error-bodies", test_error_bodies);

  return g_test_run ();
}
