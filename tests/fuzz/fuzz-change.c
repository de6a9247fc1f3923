/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-change.c — libFuzzer target for the change codec: untrusted bytes into both
 * decoders, and whatever decodes must re-encode to bytes that decode to the same. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vd-change.h"
#include "vd-protocol.h"
#include "vd-error.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static gboolean
changes_equal (const VdChange *a,
               const VdChange *b)
{
  if (a->table != b->table || strcmp (a->id, b->id) != 0 || a->hlc != b->hlc ||
      strcmp (a->site, b->site) != 0 || a->seq != b->seq || a->cells->len != b->cells->len)
    return FALSE;
  for (guint i = 0; i < a->cells->len; i++)
    {
      const VdCell *ca = &g_array_index (a->cells, VdCell, i);
      const VdCell *cb = &g_array_index (b->cells, VdCell, i);

      if (ca->column != cb->column || !vd_value_equal (&ca->value, &cb->value))
        return FALSE;
      if (ca->value.kind == VD_VALUE_REAL && signbit (ca->value.r) != signbit (cb->value.r))
        return FALSE;
    }
  return TRUE;
}

static void
check_change (const VdChange *change)
{
  /* What the decoder lets through is canonical: lowercase ids, cells in schema order. */
  g_assert_true (vd_uuid_is_valid (change->id));
  g_assert_true (vd_uuid_is_valid (change->site));
  g_assert_cmpuint (change->cells->len, >, 0);
  for (guint i = 0; i < change->cells->len; i++)
    {
      const VdCell *cell = &g_array_index (change->cells, VdCell, i);

      g_assert_true (cell->column->table == change->table);
      if (i > 0)
        g_assert_cmpuint (g_array_index (change->cells, VdCell, i - 1).column->index, <,
                          cell->column->index);
      if (cell->value.kind == VD_VALUE_TEXT)
        g_assert_true (g_utf8_validate (cell->value.s, -1, NULL));
    }
}

static void
fuzz_push (const char *data,
           size_t      size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdPushRequest) request = vd_push_request_decode (data, size, &error);
  g_autoptr(VdPushRequest) again = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text2 = NULL;
  gsize len, len2;

  if (request == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == VD_ERROR);
      g_assert_true (error->code == VD_ERROR_BAD_REQUEST ||
                     error->code == VD_ERROR_PAYLOAD_TOO_LARGE);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      return;
    }

  g_assert_null (error);
  g_assert_cmpuint (request->changes->len + request->rejected->len, ==, request->n_total);
  g_assert_cmpuint (request->indices->len, ==, request->changes->len);
  g_assert_true (vd_uuid_is_valid (request->device_id));
  g_assert_cmpint (request->batch_id, >, 0);
  for (guint i = 0; i < request->rejected->len; i++)
    {
      VdRejection *rejection = g_ptr_array_index (request->rejected, i);

      g_assert_cmpuint (rejection->index, <, request->n_total);
      g_assert_cmpstr (rejection->code, ==, "invalid_change");
      g_assert_true (g_utf8_validate (rejection->message, -1, NULL));
    }
  for (guint i = 0; i < request->changes->len; i++)
    check_change (g_ptr_array_index (request->changes, i));

  text = vd_push_request_encode (request->device_id, request->batch_id, request->changes, &len);
  again = vd_push_request_decode (text, len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->rejected->len, ==, 0);
  g_assert_cmpuint (again->changes->len, ==, request->changes->len);
  g_assert_cmpint (again->batch_id, ==, request->batch_id);
  g_assert_cmpstr (again->device_id, ==, request->device_id);
  for (guint i = 0; i < again->changes->len; i++)
    g_assert_true (changes_equal (g_ptr_array_index (request->changes, i),
                                  g_ptr_array_index (again->changes, i)));

  text2 = vd_push_request_encode (again->device_id, again->batch_id, again->changes, &len2);
  g_assert_cmpmem (text, len, text2, len2);
}

static void
fuzz_pull (const char *data,
           size_t      size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdPullAnswer) answer = vd_pull_answer_decode (data, size, &error);
  g_autoptr(VdPullAnswer) again = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text2 = NULL;
  gsize len, len2;

  if (answer == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == VD_ERROR);
      g_assert_true (error->code == VD_ERROR_BAD_REQUEST ||
                     error->code == VD_ERROR_INVALID_CHANGE ||
                     error->code == VD_ERROR_PAYLOAD_TOO_LARGE);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      return;
    }

  g_assert_cmpint (answer->cursor, >=, 0);
  for (guint i = 0; i < answer->changes->len; i++)
    {
      check_change (g_ptr_array_index (answer->changes, i));
      g_assert_cmpint (((VdChange *) g_ptr_array_index (answer->changes, i))->seq, >, 0);
    }

  text = vd_pull_answer_encode (answer->changes, answer->cursor, answer->more,
                                answer->server_hlc, &len);
  again = vd_pull_answer_decode (text, len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->changes->len, ==, answer->changes->len);
  g_assert_cmpint (again->cursor, ==, answer->cursor);
  g_assert_true (!again->more == !answer->more);
  g_assert_cmphex (again->server_hlc, ==, answer->server_hlc);
  for (guint i = 0; i < again->changes->len; i++)
    g_assert_true (changes_equal (g_ptr_array_index (answer->changes, i),
                                  g_ptr_array_index (again->changes, i)));

  text2 = vd_pull_answer_encode (again->changes, again->cursor, again->more,
                                 again->server_hlc, &len2);
  g_assert_cmpmem (text, len, text2, len2);
}

/* The small messages: each decoder takes any bytes, and what it reads writes back the
 * same. */
static void
fuzz_messages (const char *data,
               size_t      size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdPushAnswer) answer = vd_push_answer_decode (data, size, &error);
  g_autofree char *code = NULL;
  g_autofree char *message = NULL;
  VdStreamEvent event;

  if (answer == NULL)
    g_assert_true (error != NULL && error->domain == VD_ERROR);
  else
    {
      g_autoptr(VdPushAnswer) again = NULL;
      g_autofree char *text = NULL;
      gsize len = 0;

      /* The index a decoder could not read is G_MAXUINT, which writes back as itself. */
      text = vd_push_answer_encode (answer, &len);
      again = vd_push_answer_decode (text, len, &error);
      g_assert_no_error (error);
      g_assert_cmpint (again->batch_id, ==, answer->batch_id);
      g_assert_cmpint (again->accepted, ==, answer->accepted);
      g_assert_cmpint (again->cursor, ==, answer->cursor);
      g_assert_cmphex (again->server_hlc, ==, answer->server_hlc);
      g_assert_cmpuint (again->rejected->len, ==, answer->rejected->len);
    }

  if (vd_stream_event_decode (data, size, &event) != VD_STREAM_EVENT_NONE)
    {
      char text[VD_STREAM_EVENT_MAX_LEN];
      VdStreamEvent again;
      gsize len = vd_stream_event_encode (&event, text);

      g_assert_cmpint (vd_stream_event_decode (text, len, &again), ==, event.type);
      g_assert_cmpint (again.cursor, ==, event.cursor);
    }

  message = vd_error_body_decode (data, size, &code);
  g_assert_true (message == NULL || g_utf8_validate (message, -1, NULL));
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* Plain malloc lets AddressSanitizer see every block; criticals and warnings from
   * the library are findings. */
  g_setenv ("G_SLICE", "always-malloc", TRUE);
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  /* An exact-size copy, so a read one past the end is caught even when the fuzzer's
   * buffer is larger. */
  g_autofree char *copy = g_memdup2 (data, size);
  g_autoptr(GError) error = NULL;

  vd_json_precheck (copy, size, 1 << 20, &error);
  fuzz_push (copy, size);
  fuzz_pull (copy, size);
  fuzz_messages (copy, size);
  return 0;
}
