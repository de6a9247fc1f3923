/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-change.c — the change model and its JSON codec: round trips, determinism, and
 * every kind of malformed or hostile input a peer can send. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "vd-change.h"
#include "vd-error.h"
#include "vd-json.h"
#include "vd-protocol.h"

#define DEVICE   "5b0c2f3e-8d4a-4c1b-9e2f-7a6b5c4d3e2f"
#define SITE     "7d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a"
#define ROW_ID   "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b"
#define CLIENT   "0191d5a3-c2f8-4001-8a2b-000000000001"
#define HLC      "0191d5a3c2f80001"

/* A change object with the given "set" members, as JSON text. */
#define CHANGE(table, set) \
  "{\"table\":\"" table "\",\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC "\",\"site\":\"" SITE \
  "\",\"set\":{" set "}}"

static guint32 seed;

static void
init_seed (void)
{
  const char *env = g_getenv ("VD_SEED");

  seed = env != NULL ? (guint32) g_ascii_strtoull (env, NULL, 10) : 20240611;
  g_test_message ("seed %u (replay with VD_SEED=%u)", seed, seed);
}

static char *
push_body (const char *changes)
{
  return g_strdup_printf ("{\"device_id\":\"" DEVICE "\",\"batch_id\":7,\"changes\":[%s]}",
                          changes);
}

static char *
pull_body (const char *changes)
{
  return g_strdup_printf ("{\"changes\":[%s],\"cursor\":42,\"more\":false,\"server_hlc\":\"" HLC "\"}",
                          changes);
}

static VdPushRequest *
decode_push (const char *text,
             GError    **error)
{
  return vd_push_request_decode (text, strlen (text), error);
}

/* Decodes a push of one change and returns its rejection message, or NULL when the
 * change was accepted. The request itself must decode. */
static char *
reject_message (const char *change)
{
  g_autofree char *body = push_body (change);
  g_autoptr(GError) error = NULL;
  g_autoptr(VdPushRequest) request = decode_push (body, &error);
  VdRejection *rejection;

  g_assert_no_error (error);
  g_assert_nonnull (request);
  g_assert_cmpuint (request->n_total, ==, 1);
  if (request->rejected->len == 0)
    {
      g_assert_cmpuint (request->changes->len, ==, 1);
      return NULL;
    }
  g_assert_cmpuint (request->changes->len, ==, 0);
  rejection = g_ptr_array_index (request->rejected, 0);
  g_assert_cmpuint (rejection->index, ==, 0);
  g_assert_cmpstr (rejection->code, ==, "invalid_change");
  g_assert_nonnull (rejection->message);
  g_assert_true (g_utf8_validate (rejection->message, -1, NULL));
  return g_strdup (rejection->message);
}

static void
assert_rejected (const char *change,
                 const char *expected_fragment)
{
  g_autofree char *message = reject_message (change);

  if (message == NULL)
    g_error ("accepted, expected a rejection: %s", change);
  if (strstr (message, expected_fragment) == NULL)
    g_error ("rejection “%s” does not contain “%s” for %s", message, expected_fragment, change);
}

static void
assert_accepted (const char *change)
{
  g_autofree char *message = reject_message (change);

  if (message != NULL)
    g_error ("rejected (%s): %s", message, change);
}

static void
assert_push_fails (const char  *body,
                   gsize        len,
                   VdErrorCode  code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdPushRequest) request = vd_push_request_decode (body, len, &error);

  g_assert_null (request);
  g_assert_error (error, VD_ERROR, (gint) code);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

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
      /* vd_value_equal says 0.0 == -0.0; the codec must keep the sign too. */
      if (ca->value.kind == VD_VALUE_REAL && signbit (ca->value.r) != signbit (cb->value.r))
        return FALSE;
    }
  return TRUE;
}

static void
set_text (VdChange   *change,
          const char *column_name,
          const char *text)
{
  VdValue value = { .kind = VD_VALUE_NULL };

  vd_value_set_text (&value, text);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column_name), &value);
}

static void
set_real (VdChange   *change,
          const char *column_name,
          double      r)
{
  VdValue value = { .kind = VD_VALUE_NULL };

  vd_value_set_real (&value, r);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column_name), &value);
}

static void
set_bool (VdChange   *change,
          const char *column_name,
          gboolean    b)
{
  VdValue value = { .kind = VD_VALUE_NULL };

  vd_value_set_bool (&value, b);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column_name), &value);
}

static void
set_null (VdChange   *change,
          const char *column_name)
{
  VdValue value = { .kind = VD_VALUE_NULL };

  vd_change_take_cell (change, vd_table_lookup_column (change->table, column_name), &value);
}

/* A pet with every column set, in an order unlike the schema's. */
static VdChange *
full_pet (guint n)
{
  g_autofree char *id = g_strdup_printf ("0191d5a3-c2f8-4001-8a2b-%012x", n);
  VdChange *change = vd_change_new (vd_schema_lookup_table ("pets"), id,
                                    vd_hlc_make (1718000000000 + n, n & 0xffff), SITE);

  set_bool (change, "deleted", FALSE);
  set_text (change, "notes", "Line one\nline \"two\"\t\\ — ünïcödé 🐕 \x01\x1f");
  set_real (change, "weight_kg", 12.5);
  set_text (change, "name", "Rex");
  set_text (change, "client_id", CLIENT);
  set_text (change, "species", "dog");
  set_null (change, "breed");
  set_text (change, "sex", "male");
  set_bool (change, "neutered", TRUE);
  set_text (change, "birth_date", "2020-02-29");
  set_text (change, "microchip", "123456789012345");
  set_text (change, "color", "brown");
  set_text (change, "allergies", "");
  set_bool (change, "deceased", FALSE);
  return change;
}

static GPtrArray *
sample_changes (guint n,
                gboolean with_seq)
{
  GPtrArray *changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);

  for (guint i = 0; i < n; i++)
    {
      VdChange *change;

      if (i % 3 == 1)
        {
          change = vd_change_new (vd_schema_lookup_table ("appointments"), ROW_ID,
                                  vd_hlc_make (1718000000000, i), DEVICE);
          set_text (change, "starts_at", "2024-03-31T00:30:00Z");
          set_text (change, "status", "checked_in");
          set_bool (change, "allow_overlap", TRUE);
        }
      else if (i % 3 == 2)
        {
          change = vd_change_new (vd_schema_lookup_table ("staff"), CLIENT,
                                  vd_hlc_make (1718000000001, 0), SITE);
          set_text (change, "email", "ana@example.com");
          set_text (change, "color", "#3584e4");
          set_text (change, "phone", "+34 (600) 123-456");
        }
      else
        change = full_pet (i);
      if (with_seq)
        change->seq = 1000 + i;
      g_ptr_array_add (changes, change);
    }
  return changes;
}

/* ---------------------------------------------------------------------------------- */

static void
test_model (void)
{
  const VdTable *pets = vd_schema_lookup_table ("pets");
  g_autoptr(VdChange) change = vd_change_new (pets, "0191D5A3-C2F8-4001-8A2B-1C2D3E4F5A6B",
                                               42, SITE);
  g_autoptr(VdChange) copy = NULL;
  const VdCell *cell;
  VdValue value = { .kind = VD_VALUE_NULL };

  g_assert_cmpstr (change->id, ==, ROW_ID);
  set_text (change, "notes", "b");
  set_text (change, "name", "a");
  set_bool (change, "deleted", TRUE);
  set_text (change, "name", "Rex");   /* replaces */

  g_assert_cmpuint (change->cells->len, ==, 3);
  for (guint i = 1; i < change->cells->len; i++)
    g_assert_cmpuint (g_array_index (change->cells, VdCell, i - 1).column->index, <,
                      g_array_index (change->cells, VdCell, i).column->index);

  cell = vd_change_get_cell (change, "name");
  g_assert_nonnull (cell);
  g_assert_cmpstr (cell->value.s, ==, "Rex");
  g_assert_null (vd_change_get_cell (change, "species"));

  /* The taken value is emptied, so the caller's clear is harmless. */
  vd_value_set_text (&value, "dog");
  vd_change_take_cell (change, vd_table_lookup_column (pets, "species"), &value);
  g_assert_cmpint (value.kind, ==, VD_VALUE_NULL);
  vd_value_clear (&value);

  copy = vd_change_copy (change);
  g_assert_true (changes_equal (change, copy));
  set_text (copy, "name", "Max");
  g_assert_cmpstr (vd_change_get_cell (change, "name")->value.s, ==, "Rex");
  g_assert_false (changes_equal (change, copy));
}

static void
test_round_trip_push (void)
{
  g_autoptr(GPtrArray) changes = sample_changes (30, FALSE);
  g_autoptr(GError) error = NULL;
  g_autoptr(VdPushRequest) request = NULL;
  g_autofree char *text = NULL;
  g_autofree char *again = NULL;
  gsize len, len2;

  text = vd_push_request_encode (DEVICE, 12345678901234, changes, &len);
  g_assert_cmpuint (len, ==, strlen (text));
  request = vd_push_request_decode (text, len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (request->device_id, ==, DEVICE);
  g_assert_cmpint (request->batch_id, ==, 12345678901234);
  g_assert_cmpuint (request->n_total, ==, 30);
  g_assert_cmpuint (request->rejected->len, ==, 0);
  g_assert_cmpuint (request->changes->len, ==, 30);
  for (guint i = 0; i < 30; i++)
    {
      g_assert_cmpuint (g_array_index (request->indices, guint, i), ==, i);
      g_assert_true (changes_equal (g_ptr_array_index (changes, i),
                                    g_ptr_array_index (request->changes, i)));
    }

  again = vd_push_request_encode (request->device_id, request->batch_id, request->changes, &len2);
  g_assert_cmpuint (len, ==, len2);
  g_assert_cmpmem (text, len, again, len2);
}

static void
test_round_trip_pull (void)
{
  g_autoptr(GPtrArray) changes = sample_changes (30, TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(VdPullAnswer) answer = NULL;
  g_autofree char *text = NULL;
  g_autofree char *again = NULL;
  gsize len, len2;

  text = vd_pull_answer_encode (changes, 987654321, TRUE, 0x0191d5a3c2f8ffff, &len);
  answer = vd_pull_answer_decode (text, len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (answer->cursor, ==, 987654321);
  g_assert_true (answer->more);
  g_assert_cmphex (answer->server_hlc, ==, 0x0191d5a3c2f8ffff);
  g_assert_cmpuint (answer->changes->len, ==, 30);
  for (guint i = 0; i < 30; i++)
    g_assert_true (changes_equal (g_ptr_array_index (changes, i),
                                  g_ptr_array_index (answer->changes, i)));

  again = vd_pull_answer_encode (answer->changes, answer->cursor, answer->more,
                                 answer->server_hlc, &len2);
  g_assert_cmpmem (text, len, again, len2);

  /* A pull answer is not a push, and a push change may not carry a seq. */
  g_assert_null (vd_push_request_decode (text, len, NULL));
}

static void
test_wire_shape (void)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  VdChange *change = vd_change_new (vd_schema_lookup_table ("pets"), ROW_ID,
                                    0x0191d5a3c2f80001, SITE);
  g_autofree char *push = NULL;
  g_autofree char *pull = NULL;

  set_real (change, "weight_kg", 12.5);
  set_text (change, "name", "Rex");
  g_ptr_array_add (changes, change);

  push = vd_push_request_encode (DEVICE, 7, changes, NULL);
  g_assert_cmpstr (push, ==,
                   "{\"device_id\":\"" DEVICE "\",\"batch_id\":7,\"changes\":["
                   "{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"0191d5a3c2f80001\","
                   "\"site\":\"" SITE "\",\"set\":{\"name\":\"Rex\",\"weight_kg\":12.5}}]}");

  change->seq = 9;
  pull = vd_pull_answer_encode (changes, 9, FALSE, 0x0191d5a3c2f80002, NULL);
  g_assert_cmpstr (pull, ==,
                   "{\"changes\":["
                   "{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"0191d5a3c2f80001\","
                   "\"site\":\"" SITE "\",\"set\":{\"name\":\"Rex\",\"weight_kg\":12.5},\"seq\":9}],"
                   "\"cursor\":9,\"more\":false,\"server_hlc\":\"0191d5a3c2f80002\"}");
}

static void
test_deterministic (void)
{
  g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  g_autoptr(GPtrArray) b = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  const VdTable *pets = vd_schema_lookup_table ("pets");
  VdChange *ca = vd_change_new (pets, ROW_ID, 1, SITE);
  VdChange *cb = vd_change_new (pets, ROW_ID, 1, SITE);
  g_autofree char *ta = NULL;
  g_autofree char *tb = NULL;
  g_autofree char *tb2 = NULL;

  /* Same cells set in opposite orders. */
  set_text (ca, "name", "Rex");
  set_real (ca, "weight_kg", 0.1);
  set_bool (ca, "deleted", FALSE);
  set_bool (cb, "deleted", FALSE);
  set_real (cb, "weight_kg", 0.1);
  set_text (cb, "name", "Rex");
  g_ptr_array_add (a, ca);
  g_ptr_array_add (b, cb);

  ta = vd_push_request_encode (DEVICE, 1, a, NULL);
  tb = vd_push_request_encode (DEVICE, 1, b, NULL);
  tb2 = vd_push_request_encode (DEVICE, 1, b, NULL);
  g_assert_cmpstr (ta, ==, tb);
  g_assert_cmpstr (tb, ==, tb2);
}

static void
test_doubles (void)
{
  const double values[] = {
    12.5, 0.1, 1e-300, 5e-324, 2000.0, 1999.9999999999998, 0.30000000000000004,
    1.0 / 3.0, 2.2250738585072014e-308, 1234.56789012345678, 1.0,
  };
  const char *spelled[] = { "12.5", "0.1", "1e-300", NULL, "2000.0", NULL, NULL, NULL, NULL,
                            NULL, "1.0" };
  GRand *rand = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (values) + 2000; i++)
    {
      g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
      VdChange *change = vd_change_new (vd_schema_lookup_table ("pets"), ROW_ID, 1, SITE);
      g_autoptr(VdPushRequest) request = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;
      g_autofree char *expect = NULL;
      const VdCell *cell;
      double r;

      if (i < G_N_ELEMENTS (values))
        r = values[i];
      else
        {
          /* Random bit patterns within the weight's range (0, 2000]. */
          guint64 bits;

          if (i == G_N_ELEMENTS (values))
            {
              init_seed ();
              rand = g_rand_new_with_seed (seed);
            }
          do
            {
              bits = ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
              memcpy (&r, &bits, sizeof r);
            }
          while (!(isfinite (r) && r > 0 && r <= 2000));
        }

      set_real (change, "weight_kg", r);
      g_ptr_array_add (changes, change);
      text = vd_push_request_encode (DEVICE, 1, changes, NULL);
      if (i < G_N_ELEMENTS (spelled) && spelled[i] != NULL)
        {
          expect = g_strdup_printf ("\"weight_kg\":%s}", spelled[i]);
          g_assert_nonnull (strstr (text, expect));
        }
      request = decode_push (text, &error);
      g_assert_no_error (error);
      if (request->changes->len != 1)
        g_error ("%.17g rejected: %s", r,
                 ((VdRejection *) g_ptr_array_index (request->rejected, 0))->message);
      cell = vd_change_get_cell (g_ptr_array_index (request->changes, 0), "weight_kg");
      g_assert_cmpint (cell->value.kind, ==, VD_VALUE_REAL);
      if (memcmp (&cell->value.r, &r, sizeof r) != 0)
        g_error ("%.17g came back as %.17g (seed %u)", r, cell->value.r, seed);
    }
  g_rand_free (rand);

  /* An integer is accepted for a real column and stored as a real. */
  {
    g_autofree char *body = push_body (CHANGE ("pets", "\"weight_kg\":12"));
    g_autoptr(VdPushRequest) request = decode_push (body, NULL);
    const VdCell *cell = vd_change_get_cell (g_ptr_array_index (request->changes, 0), "weight_kg");

    g_assert_cmpint (cell->value.kind, ==, VD_VALUE_REAL);
    g_assert_cmpfloat (cell->value.r, ==, 12.0);
  }
}

static void
test_strings (void)
{
  /* Escapes are read as JSON means them, and written back so they decode the same. */
  g_autofree char *body = push_body (
    CHANGE ("pets", "\"notes\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\udc15\\u0001z\""));
  g_autoptr(GError) error = NULL;
  g_autoptr(VdPushRequest) request = decode_push (body, &error);
  g_autoptr(VdPushRequest) again = NULL;
  g_autofree char *text = NULL;
  const VdCell *cell;

  g_assert_no_error (error);
  g_assert_cmpuint (request->changes->len, ==, 1);
  cell = vd_change_get_cell (g_ptr_array_index (request->changes, 0), "notes");
  g_assert_cmpstr (cell->value.s, ==, "a\"b\\c/d\b\f\n\r\té🐕\x01z");

  text = vd_push_request_encode (DEVICE, 1, request->changes, NULL);
  again = decode_push (text, &error);
  g_assert_no_error (error);
  g_assert_true (changes_equal (g_ptr_array_index (request->changes, 0),
                                g_ptr_array_index (again->changes, 0)));
}

static void
test_uuid_normalised (void)
{
  g_autofree char *body = g_strdup_printf (
    "{\"device_id\":\"5B0C2F3E-8D4A-4C1B-9E2F-7A6B5C4D3E2F\",\"batch_id\":1,\"changes\":["
    "{\"table\":\"pets\",\"id\":\"0191D5A3-C2F8-4001-8A2B-1C2D3E4F5A6B\",\"hlc\":\"" HLC "\","
    "\"site\":\"7D1E2F3A-4B5C-4D6E-8F7A-9B0C1D2E3F4A\",\"set\":{\"client_id\":\"0191D5A3-C2F8-4001-8A2B-000000000001\"}}]}");
  g_autoptr(GError) error = NULL;
  g_autoptr(VdPushRequest) request = decode_push (body, &error);
  VdChange *change;

  g_assert_no_error (error);
  g_assert_cmpstr (request->device_id, ==, DEVICE);
  change = g_ptr_array_index (request->changes, 0);
  g_assert_cmpstr (change->id, ==, ROW_ID);
  g_assert_cmpstr (change->site, ==, SITE);
  g_assert_cmpstr (vd_change_get_cell (change, "client_id")->value.s, ==, CLIENT);
}

static void
test_change_faults (void)
{
  assert_accepted (CHANGE ("pets", "\"name\":\"Rex\""));
  assert_accepted (CHANGE ("pets", "\"deleted\":true"));
  assert_accepted (CHANGE ("pets", "\"breed\":null"));

  assert_rejected (CHANGE ("kennels", "\"name\":\"Rex\""), "kennels");
  assert_rejected (CHANGE ("pets", "\"nickname\":\"Rex\""), "nickname");
  assert_rejected (CHANGE ("pets", "\"id\":\"" ROW_ID "\""), "id");
  assert_rejected (CHANGE ("conflicts", "\"detail\":\"x\""), "server");
  assert_rejected (CHANGE ("pets", ""), "no column");
  assert_rejected (CHANGE ("pets", "\"name\":\"Rex\",\"name\":\"Max\""), "name");
  assert_rejected (CHANGE ("pets", "\"species\":\"dragon\""), "species");
  assert_rejected (CHANGE ("pets", "\"name\":null"), "name");
  assert_rejected (CHANGE ("pets", "\"weight_kg\":-3"), "weight");
  assert_rejected (CHANGE ("pets", "\"weight_kg\":1e999"), "weight");
  assert_rejected (CHANGE ("pets", "\"weight_kg\":18446744073709551615"), "weight");

  /* Wrong JSON kind for each column type. */
  assert_rejected (CHANGE ("pets", "\"name\":5"), "name");
  assert_rejected (CHANGE ("pets", "\"name\":true"), "name");
  assert_rejected (CHANGE ("pets", "\"name\":[\"Rex\"]"), "name");
  assert_rejected (CHANGE ("pets", "\"name\":{\"a\":\"Rex\"}"), "name");
  assert_rejected (CHANGE ("pets", "\"neutered\":\"true\""), "neutered");
  assert_rejected (CHANGE ("pets", "\"neutered\":1"), "neutered");
  assert_rejected (CHANGE ("pets", "\"neutered\":null"), "neutered");
  assert_rejected (CHANGE ("pets", "\"weight_kg\":\"12.5\""), "weight");
  assert_rejected (CHANGE ("pets", "\"weight_kg\":true"), "weight");
  assert_rejected (CHANGE ("pets", "\"weight_kg\":[12.5]"), "weight");
  assert_rejected (CHANGE ("pets", "\"birth_date\":20200229"), "birth date");
  assert_rejected (CHANGE ("pets", "\"birth_date\":\"2021-02-29\""), "birth date");
  assert_rejected (CHANGE ("pets", "\"client_id\":\"not-a-uuid\""), "client");
  assert_rejected (CHANGE ("pets", "\"client_id\":7"), "client");
  assert_rejected (CHANGE ("pets", "\"species\":1"), "species");
  assert_rejected (CHANGE ("appointments", "\"starts_at\":\"2024-03-31 00:30:00\""), "start time");
  assert_rejected (CHANGE ("appointments", "\"starts_at\":1711845000"), "start time");

  /* The change's own members. */
  assert_rejected ("{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC "\",\"site\":\"" SITE
                   "\",\"set\":{\"name\":\"Rex\"},\"seq\":5}", "seq");
  assert_rejected ("{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC "\",\"site\":\"" SITE
                   "\",\"set\":{\"name\":\"Rex\"},\"colour\":5}", "colour");
  assert_rejected ("{\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC "\",\"site\":\"" SITE
                   "\",\"set\":{\"name\":\"Rex\"}}", "table");
  assert_rejected ("{\"table\":\"pets\",\"hlc\":\"" HLC "\",\"site\":\"" SITE
                   "\",\"set\":{\"name\":\"Rex\"}}", "id");
  assert_rejected ("{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"site\":\"" SITE
                   "\",\"set\":{\"name\":\"Rex\"}}", "hlc");
  assert_rejected ("{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC
                   "\",\"set\":{\"name\":\"Rex\"}}", "site");
  assert_rejected ("{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC "\",\"site\":\"" SITE
                   "\"}", "set");
  assert_rejected ("{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC "\",\"site\":\"" SITE
                   "\",\"set\":[]}", "set");
  assert_rejected ("{\"table\":\"pets\",\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC
                   "\",\"site\":\"" SITE "\",\"set\":{\"name\":\"Rex\"}}", "table");
  assert_rejected ("{\"table\":\"pets\",\"id\":\"0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6\",\"hlc\":\""
                   HLC "\",\"site\":\"" SITE "\",\"set\":{\"name\":\"Rex\"}}", "0191d5a3");
  assert_rejected ("{\"table\":\"pets\",\"id\":5,\"hlc\":\"" HLC "\",\"site\":\"" SITE
                   "\",\"set\":{\"name\":\"Rex\"}}", "id");
  assert_rejected ("{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"0191D5A3C2F80001\",\"site\":\""
                   SITE "\",\"set\":{\"name\":\"Rex\"}}", "clock");
  assert_rejected ("{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"0191d5a3c2f8001\",\"site\":\""
                   SITE "\",\"set\":{\"name\":\"Rex\"}}", "clock");
  assert_rejected ("{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC "\",\"site\":\"device-1\","
                   "\"set\":{\"name\":\"Rex\"}}", "device-1");
  assert_rejected ("[\"pets\"]", "object");
  assert_rejected ("null", "object");
}

static void
test_rejection_indices (void)
{
  g_autofree char *body = push_body (
    CHANGE ("pets", "\"name\":\"A\"") ","
    CHANGE ("pets", "\"species\":\"dragon\"") ","
    CHANGE ("pets", "\"name\":\"C\"") ","
    CHANGE ("kennels", "\"name\":\"D\"") ","
    "7,"
    CHANGE ("pets", "\"name\":\"F\""));
  g_autoptr(GError) error = NULL;
  g_autoptr(VdPushRequest) request = decode_push (body, &error);
  const char *names[] = { "A", "C", "F" };
  const guint valid[] = { 0, 2, 5 };
  const guint invalid[] = { 1, 3, 4 };

  g_assert_no_error (error);
  g_assert_cmpuint (request->n_total, ==, 6);
  g_assert_cmpuint (request->changes->len, ==, 3);
  g_assert_cmpuint (request->indices->len, ==, 3);
  g_assert_cmpuint (request->rejected->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      VdChange *change = g_ptr_array_index (request->changes, i);
      VdRejection *rejection = g_ptr_array_index (request->rejected, i);

      g_assert_cmpuint (g_array_index (request->indices, guint, i), ==, valid[i]);
      g_assert_cmpstr (vd_change_get_cell (change, "name")->value.s, ==, names[i]);
      g_assert_cmpuint (rejection->index, ==, invalid[i]);
      g_assert_cmpstr (rejection->code, ==, "invalid_change");
    }
  g_assert_nonnull (strstr (((VdRejection *) g_ptr_array_index (request->rejected, 0))->message,
                            "species"));
  g_assert_nonnull (strstr (((VdRejection *) g_ptr_array_index (request->rejected, 1))->message,
                            "kennels"));
}

static void
test_request_faults (void)
{
  const char *bodies[] = {
    "",
    "   ",
    "[]",
    "\"push\"",
    "{}",
    "{\"batch_id\":1,\"changes\":[]}",
    "{\"device_id\":\"" DEVICE "\",\"changes\":[]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1}",
    "{\"device_id\":\"dev\",\"batch_id\":1,\"changes\":[]}",
    "{\"device_id\":7,\"batch_id\":1,\"changes\":[]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":0,\"changes\":[]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":-1,\"changes\":[]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1.5,\"changes\":[]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1.0,\"changes\":[]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":\"1\",\"changes\":[]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":{}}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[],\"extra\":1}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[],\"batch_id\":2}",
    /* json-glib takes these; JSON does not. */
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":0x10,\"changes\":[]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":010,\"changes\":[]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":- 1,\"changes\":[]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[]} // done",
    "{\"device_id\":\"" DEVICE "\",/* c */\"batch_id\":1,\"changes\":[]}",
    "{'device_id':'" DEVICE "',\"batch_id\":1,\"changes\":[]}",
    "var push = {\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[]}x",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[],}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[1,]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[]}{}",
    "\xef\xbb\xbf{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[]}",
    /* Wrapping integers: json-glib would read this batch_id as 9223372036854775807. */
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":-9223372036854775809,\"changes\":[]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":18446744073709551617,\"changes\":[]}",
    /* Text json-glib would cut short or mangle. */
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[" CHANGE ("pets", "\"name\":\"a\\u0000b\"") "]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[" CHANGE ("pets", "\"name\":\"a\\0b\"") "]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[" CHANGE ("pets", "\"name\":\"a\\ud800b\"") "]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[" CHANGE ("pets", "\"name\":\"a\\udc00\\ud800\"") "]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[" CHANGE ("pets", "\"name\":\"a\\x41\"") "]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[" CHANGE ("pets", "\"name\":\"a\tb\"") "]}",
    /* Not UTF-8. */
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[" CHANGE ("pets", "\"name\":\"R\xe9x\"") "]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[" CHANGE ("pets", "\"name\":\"\xed\xa0\x80\"") "]}",
    "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[" CHANGE ("pets", "\"name\":\"\xc0\xaf\"") "]}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(VdPushRequest) request = decode_push (bodies[i], &error);

      if (request != NULL)
        g_error ("accepted: %s", bodies[i]);
      g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
    }

  /* A NUL byte inside the given length. */
  {
    const char body[] = "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[]}\0";
    assert_push_fails (body, sizeof body - 1, VD_ERROR_BAD_REQUEST);
  }

  /* The same bodies without the fault decode. */
  {
    g_autofree char *ok = push_body ("");
    g_autoptr(VdPushRequest) request = decode_push (ok, NULL);

    g_assert_nonnull (request);
    g_assert_cmpint (request->batch_id, ==, 7);
    g_assert_cmpuint (request->n_total, ==, 0);
  }
}

static void
test_truncated (void)
{
  g_autoptr(GPtrArray) changes = sample_changes (4, FALSE);
  g_autoptr(GPtrArray) pulled = sample_changes (4, TRUE);
  gsize len, pull_len;
  g_autofree char *text = vd_push_request_encode (DEVICE, 3, changes, &len);
  g_autofree char *pull = vd_pull_answer_encode (pulled, 3, FALSE, 5, &pull_len);

  for (gsize cut = 0; cut < len; cut++)
    {
      /* A copy of exactly cut bytes, so a read past the end is caught by sanitizers. */
      g_autofree char *prefix = g_memdup2 (text, cut);

      assert_push_fails (prefix, cut, VD_ERROR_BAD_REQUEST);
      g_assert_null (vd_pull_answer_decode (prefix, cut, NULL));
    }
  for (gsize cut = 0; cut < pull_len; cut++)
    {
      g_autofree char *prefix = g_memdup2 (pull, cut);
      g_autoptr(GError) error = NULL;

      g_assert_null (vd_pull_answer_decode (prefix, cut, &error));
      g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
    }
}

/* Every byte replaced by a few troublesome ones: no crash, and whatever still decodes
 * encodes to something that decodes to the same. */
static void
test_mutated (void)
{
  const char replacements[] = { '"', '\\', '{', '}', '[', ']', ',', ':', '0', '-', 'e', ' ',
                                '\xff', '\x80', '\0', 'A' };
  g_autoptr(GPtrArray) changes = sample_changes (3, FALSE);
  gsize len;
  g_autofree char *text = vd_push_request_encode (DEVICE, 3, changes, &len);
  guint n_decoded = 0;

  for (gsize at = 0; at < len; at++)
    for (guint k = 0; k < G_N_ELEMENTS (replacements); k++)
      {
        g_autofree char *copy = g_memdup2 (text, len);
        g_autoptr(VdPushRequest) request = NULL;
        g_autoptr(VdPushRequest) again = NULL;
        g_autofree char *encoded = NULL;
        gsize encoded_len;

        copy[at] = replacements[k];
        request = vd_push_request_decode (copy, len, NULL);
        g_assert_null (vd_pull_answer_decode (copy, len, NULL));
        if (request == NULL)
          continue;
        n_decoded++;
        g_assert_cmpuint (request->changes->len + request->rejected->len, ==, request->n_total);
        encoded = vd_push_request_encode (request->device_id, request->batch_id,
                                          request->changes, &encoded_len);
        again = vd_push_request_decode (encoded, encoded_len, NULL);
        g_assert_nonnull (again);
        g_assert_cmpuint (again->changes->len, ==, request->changes->len);
        for (guint i = 0; i < again->changes->len; i++)
          g_assert_true (changes_equal (g_ptr_array_index (request->changes, i),
                                        g_ptr_array_index (again->changes, i)));
      }

  /* Many single-byte edits (inside text, or a space for a space) must still decode. */
  g_assert_cmpuint (n_decoded, >, len);
}

static void
test_depth (void)
{
  GString *deep = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  /* Exactly the limit passes, one more is refused. */
  for (guint d = 1; d <= VD_PROTOCOL_MAX_DEPTH + 1; d++)
    {
      /* Alternating objects and arrays, as valid JSON. */
      g_string_truncate (deep, 0);
      for (guint i = 0; i < d; i++)
        g_string_append (deep, i % 2 ? "[" : "{\"a\":");
      g_string_append (deep, "1");
      for (guint i = d; i-- > 0;)
        g_string_append_c (deep, i % 2 ? ']' : '}');

      g_clear_error (&error);
      if (d <= VD_PROTOCOL_MAX_DEPTH)
        {
          g_assert_true (vd_json_precheck (deep->str, deep->len, VD_PROTOCOL_MAX_BODY, &error));
          g_assert_no_error (error);
        }
      else
        {
          g_assert_false (vd_json_precheck (deep->str, deep->len, VD_PROTOCOL_MAX_BODY, &error));
          g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
        }
    }

  /* In a push: the change's value sits at depth 4 (request, changes, change, set). */
  for (guint d = VD_PROTOCOL_MAX_DEPTH - 4; d <= VD_PROTOCOL_MAX_DEPTH - 3; d++)
    {
      g_autofree char *arrays = g_strnfill (d, '[');
      g_autofree char *closes = g_strnfill (d, ']');
      g_autofree char *set = g_strdup_printf ("\"name\":%s1%s", arrays, closes);
      g_autofree char *change = g_strdup_printf (CHANGE ("pets", "%s"), set);
      g_autofree char *body = push_body (change);

      g_clear_error (&error);
      if (4 + d <= VD_PROTOCOL_MAX_DEPTH)
        {
          g_autoptr(VdPushRequest) request = decode_push (body, &error);

          g_assert_no_error (error);
          g_assert_cmpuint (request->rejected->len, ==, 1);
        }
      else
        assert_push_fails (body, strlen (body), VD_ERROR_BAD_REQUEST);
    }

  /* 100,000 levels: refused without recursion, in each decoder. */
  for (guint shape = 0; shape < 3; shape++)
    {
      g_string_truncate (deep, 0);
      for (guint i = 0; i < 100000; i++)
        g_string_append (deep, shape == 0 ? "[" : shape == 1 ? "{\"a\":" : "[{\"\":");
      g_clear_error (&error);
      g_assert_false (vd_json_precheck (deep->str, deep->len, VD_PROTOCOL_MAX_BODY, &error));
      g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
      assert_push_fails (deep->str, deep->len, VD_ERROR_BAD_REQUEST);
      g_assert_null (vd_pull_answer_decode (deep->str, deep->len, NULL));
    }

  /* Brackets inside strings, escaped quotes included, do not count. */
  g_string_truncate (deep, 0);
  g_string_append (deep, "{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[");
  g_string_append (deep, CHANGE ("pets", "\"notes\":\"\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\\\\\""));
  g_string_append (deep, "]}");
  g_clear_error (&error);
  g_assert_true (vd_json_precheck (deep->str, deep->len, VD_PROTOCOL_MAX_BODY, &error));
  {
    g_autoptr(VdPushRequest) request = vd_push_request_decode (deep->str, deep->len, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (request->changes->len, ==, 1);
  }

  g_string_free (deep, TRUE);
}

static void
test_limits (void)
{
  g_autoptr(GError) error = NULL;
  GString *body = g_string_new ("{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[");
  g_autofree char *big = NULL;

  for (guint i = 0; i < VD_PROTOCOL_MAX_PUSH; i++)
    {
      if (i > 0)
        g_string_append_c (body, ',');
      g_string_append (body, CHANGE ("pets", "\"deleted\":true"));
    }

  /* Exactly the limit decodes. */
  {
    g_autofree char *text = g_strconcat (body->str, "]}", NULL);
    g_autoptr(VdPushRequest) request = decode_push (text, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (request->changes->len, ==, VD_PROTOCOL_MAX_PUSH);
  }

  g_string_append (body, "," CHANGE ("pets", "\"deleted\":true") "]}");
  assert_push_fails (body->str, body->len, VD_ERROR_PAYLOAD_TOO_LARGE);

  /* Bytes over the limit are refused before anything else is looked at. */
  big = g_strnfill (VD_PROTOCOL_MAX_BODY + 1, ' ');
  assert_push_fails (big, VD_PROTOCOL_MAX_BODY + 1, VD_ERROR_PAYLOAD_TOO_LARGE);
  g_assert_false (vd_json_precheck ("[1]", 3, 2, &error));
  g_assert_error (error, VD_ERROR, VD_ERROR_PAYLOAD_TOO_LARGE);
  g_clear_error (&error);
  g_assert_true (vd_json_precheck ("[1]", 3, 3, &error));
  g_assert_no_error (error);

  g_string_free (body, TRUE);
}

static void
test_integers (void)
{
  /* The registry has no integer column yet: one is made here. */
  static const VdTable table = { "pets", NULL, 0, FALSE, 2 };
  static const VdColumn column = {
    .name = "name", .type = VD_TYPE_INTEGER, .nullable = TRUE, .index = 1, .table = &table,
  };
  const struct
  {
    const char *json;
    gboolean    ok;
    gint64      value;
  } cases[] = {
    { "0", TRUE, 0 },
    { "-5", TRUE, -5 },
    { "9007199254740991", TRUE, G_GINT64_CONSTANT (9007199254740991) },
    { "-9007199254740991", TRUE, -G_GINT64_CONSTANT (9007199254740991) },
    { "9007199254740992", FALSE, 0 },
    { "-9007199254740992", FALSE, 0 },
    { "9223372036854775807", FALSE, 0 },
    { "1.5", FALSE, 0 },
    { "1e3", FALSE, 0 },
    { "1e300", FALSE, 0 },
    { "\"5\"", FALSE, 0 },
    { "true", FALSE, 0 },
    { "[5]", FALSE, 0 },
    { "null", TRUE, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) node = json_from_string (cases[i].json, NULL);
      g_autoptr(GError) error = NULL;
      VdValue value = { .kind = VD_VALUE_NULL };
      gboolean ok = vd_value_from_json (&column, node, &value, &error);

      if (ok != cases[i].ok)
        g_error ("%s: expected %s", cases[i].json, cases[i].ok ? "success" : "an error");
      if (ok)
        {
          g_assert_no_error (error);
          if (value.kind != VD_VALUE_NULL)
            {
              g_assert_cmpint (value.kind, ==, VD_VALUE_INT);
              g_assert_cmpint (value.i, ==, cases[i].value);
            }
        }
      else
        {
          g_assert_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE);
          g_assert_nonnull (strstr (error->message, vd_column_label (&column)));
          g_assert_cmpint (value.kind, ==, VD_VALUE_NULL);
        }
      vd_value_clear (&value);
    }
}

static void
test_wrapping_integers (void)
{
  /* json-glib would read -18446744073709551615 as 1: a wrapped seq or cursor must not
   * slip through as a small positive number. */
  g_autofree char *seq_body = pull_body (
    "{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC "\",\"site\":\"" SITE
    "\",\"set\":{\"name\":\"Rex\"},\"seq\":-18446744073709551615}");
  const char *cursor_body =
    "{\"changes\":[],\"cursor\":-18446744073709551615,\"more\":false,\"server_hlc\":\"" HLC "\"}";
  g_autoptr(GError) error = NULL;

  g_assert_null (vd_pull_answer_decode (seq_body, strlen (seq_body), &error));
  g_assert_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE);
  g_clear_error (&error);
  g_assert_null (vd_pull_answer_decode (cursor_body, strlen (cursor_body), &error));
  g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
}

static void
test_pull_faults (void)
{
  const char *seq5 = ",\"seq\":5}";
  GString *changes = g_string_new (NULL);
  g_autofree char *body = NULL;
  g_autoptr(GError) error = NULL;
  const char *bad_answers[] = {
    "[]",
    "{\"changes\":[],\"more\":false,\"server_hlc\":\"" HLC "\"}",
    "{\"changes\":[],\"cursor\":-1,\"more\":false,\"server_hlc\":\"" HLC "\"}",
    "{\"changes\":[],\"cursor\":1,\"more\":0,\"server_hlc\":\"" HLC "\"}",
    "{\"changes\":[],\"cursor\":1,\"more\":false,\"server_hlc\":\"0191D5A3C2F80001\"}",
    "{\"changes\":[],\"cursor\":1,\"more\":false}",
    "{\"changes\":{},\"cursor\":1,\"more\":false,\"server_hlc\":\"" HLC "\"}",
    "{\"cursor\":1,\"more\":false,\"server_hlc\":\"" HLC "\"}",
    "{\"changes\":[],\"cursor\":1,\"cursor\":2,\"more\":false,\"server_hlc\":\"" HLC "\"}",
  };

  /* Change 3 of 5 is invalid: the whole answer fails and says which. */
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *change = g_strdup (CHANGE ("pets", "\"name\":\"Rex\""));

      if (i == 3)
        {
          g_free (change);
          change = g_strdup (CHANGE ("pets", "\"species\":\"dragon\""));
        }
      change[strlen (change) - 1] = '\0';
      if (i > 0)
        g_string_append_c (changes, ',');
      g_string_append (changes, change);
      g_string_append (changes, seq5);
    }
  body = pull_body (changes->str);
  g_assert_null (vd_pull_answer_decode (body, strlen (body), &error));
  g_assert_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE);
  g_assert_true (g_str_has_prefix (error->message, "Change 3: "));
  g_assert_nonnull (strstr (error->message, "species"));
  g_clear_error (&error);
  g_string_free (changes, TRUE);

  /* A change without seq, and server-owned tables, which the server may send. */
  {
    g_autofree char *no_seq = pull_body (CHANGE ("pets", "\"name\":\"Rex\""));
    g_autofree char *conflict = pull_body (
      "{\"table\":\"conflicts\",\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC "\",\"site\":\""
      VD_SERVER_SITE "\",\"set\":{\"kind\":\"double_booking\",\"detected_at\":\"2024-01-01T00:00:00Z\"},\"seq\":3}");
    g_autoptr(VdPullAnswer) answer = NULL;

    g_assert_null (vd_pull_answer_decode (no_seq, strlen (no_seq), &error));
    g_assert_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE);
    g_assert_true (g_str_has_prefix (error->message, "Change 0: "));
    g_clear_error (&error);

    answer = vd_pull_answer_decode (conflict, strlen (conflict), &error);
    g_assert_no_error (error);
    g_assert_cmpuint (answer->changes->len, ==, 1);
    g_assert_cmpint (((VdChange *) g_ptr_array_index (answer->changes, 0))->seq, ==, 3);
    g_assert_cmpint (answer->cursor, ==, 42);
  }

  for (guint i = 0; i < G_N_ELEMENTS (bad_answers); i++)
    {
      if (vd_pull_answer_decode (bad_answers[i], strlen (bad_answers[i]), &error) != NULL)
        g_error ("accepted: %s", bad_answers[i]);
      g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
      g_clear_error (&error);
    }
}

static void
test_builder (void)
{
  g_autoptr(GPtrArray) changes = sample_changes (6, TRUE);

  for (guint i = 0; i < changes->len; i++)
    {
      VdChange *change = g_ptr_array_index (changes, i);
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autoptr(JsonNode) parsed = NULL;
      g_autoptr(VdChange) back = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;

      vd_change_to_json (change, builder);
      root = json_builder_get_root (builder);
      text = json_to_string (root, FALSE);
      parsed = json_from_string (text, &error);
      g_assert_no_error (error);

      back = vd_change_from_json (parsed, VD_CHANGE_FROM_SERVER, &error);
      g_assert_no_error (error);
      g_assert_true (changes_equal (change, back));

      /* The desk may not send a seq. */
      g_clear_pointer (&back, vd_change_free);
      back = vd_change_from_json (parsed, VD_CHANGE_FROM_CLIENT, &error);
      g_assert_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE);
      g_assert_null (back);
    }
}

/* Random valid changes: encode, decode, compare, encode again byte for byte. */
static void
test_random_round_trip (void)
{
  const char *alphabet[] = { "a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f", "\x7f",
                             "é", "ñ", "€", "🐕", "\xe2\x80\xa8", "{", "]", "0", "-" };
  const char *text_columns[] = { "name", "breed", "color", "allergies", "notes" };
  GRand *rand;

  init_seed ();
  rand = g_rand_new_with_seed (seed);
  for (guint round = 0; round < 200; round++)
    {
      g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
      g_autoptr(VdPushRequest) request = NULL;
      g_autoptr(VdPullAnswer) answer = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;
      g_autofree char *again = NULL;
      g_autofree char *pull = NULL;
      guint n = g_rand_int_range (rand, 0, 20);
      gsize len, len2, pull_len;

      for (guint i = 0; i < n; i++)
        {
          g_autofree char *id = vd_uuid_new ();
          VdChange *change = vd_change_new (vd_schema_lookup_table ("pets"), id,
                                            ((VdHlc) g_rand_int (rand) << 32) | g_rand_int (rand),
                                            SITE);
          guint n_cells = g_rand_int_range (rand, 1, 6);

          change->seq = g_rand_int_range (rand, 1, G_MAXINT32);
          for (guint c = 0; c < n_cells; c++)
            {
              switch (g_rand_int_range (rand, 0, 4))
                {
                case 0:
                  {
                    GString *s = g_string_new (NULL);
                    guint n_chars = g_rand_int_range (rand, 0, 30);

                    for (guint k = 0; k < n_chars; k++)
                      g_string_append (s, alphabet[g_rand_int_range (rand, 0, G_N_ELEMENTS (alphabet))]);
                    set_text (change, text_columns[g_rand_int_range (rand, 0, G_N_ELEMENTS (text_columns))], s->str);
                    g_string_free (s, TRUE);
                  }
                  break;
                case 1:
                  set_real (change, "weight_kg", g_rand_double_range (rand, 1e-9, 2000.0));
                  break;
                case 2:
                  set_bool (change, g_rand_boolean (rand) ? "neutered" : "deleted", g_rand_boolean (rand));
                  break;
                default:
                  set_null (change, "breed");
                  break;
                }
            }
          g_ptr_array_add (changes, change);
        }

      pull = vd_pull_answer_encode (changes, round, round % 2, round, &pull_len);
      answer = vd_pull_answer_decode (pull, pull_len, &error);
      if (error != NULL)
        g_error ("round %u (seed %u): %s\n%s", round, seed, error->message, pull);
      g_assert_cmpuint (answer->changes->len, ==, n);
      for (guint i = 0; i < n; i++)
        if (!changes_equal (g_ptr_array_index (changes, i), g_ptr_array_index (answer->changes, i)))
          g_error ("round %u change %u differs (seed %u)", round, i, seed);

      for (guint i = 0; i < n; i++)
        ((VdChange *) g_ptr_array_index (changes, i))->seq = 0;
      text = vd_push_request_encode (DEVICE, round + 1, changes, &len);
      request = vd_push_request_decode (text, len, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (request->changes->len, ==, n);
      again = vd_push_request_encode (request->device_id, request->batch_id, request->changes, &len2);
      g_assert_cmpmem (text, len, again, len2);
    }
  g_rand_free (rand);
}

/* ---------------------------------------------------------------------------------- */
/* JSONTestSuite (github.com/nst/JSONTestSuite): y_ must parse, n_ must not, i_ either. */

static char *
embed_in_push (const char *content,
               gsize       len,
               gsize      *out_len)
{
  GString *body = g_string_new ("{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":["
                                "{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC "\","
                                "\"site\":\"" SITE "\",\"set\":{\"notes\":");

  g_string_append_len (body, content, len);
  g_string_append (body, "}}]}");
  *out_len = body->len;
  return g_string_free (body, FALSE);
}

static void
test_json_test_suite (void)
{
  const char *dir_path = g_getenv ("VD_JSONTESTSUITE");
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
  guint n_y = 0, n_n = 0, n_i = 0;

  if (dir_path == NULL)
    {
      g_test_skip ("VD_JSONTESTSUITE is not set");
      return;
    }
  dir = g_dir_open (dir_path, 0, &error);
  g_assert_no_error (error);

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *data = NULL;
      g_autofree char *copy = NULL;
      g_autofree char *embedded = NULL;
      g_autoptr(VdPushRequest) request = NULL;
      g_autoptr(VdPushRequest) embedded_request = NULL;
      g_autoptr(VdPullAnswer) answer = NULL;
      g_autoptr(GError) precheck_error = NULL;
      g_autoptr(GError) embed_error = NULL;
      gboolean prechecked;
      gsize len, embedded_len;

      if (!g_str_has_suffix (name, ".json") || strchr ("yni", name[0]) == NULL || name[1] != '_')
        continue;
      path = g_build_filename (dir_path, name, NULL);
      g_file_get_contents (path, &data, &len, &error);
      g_assert_no_error (error);
      /* Exactly len bytes, so a sanitizer sees any read past the end. */
      copy = g_memdup2 (data, len);

      prechecked = vd_json_precheck (copy, len, VD_PROTOCOL_MAX_BODY, &precheck_error);
      request = vd_push_request_decode (copy, len, NULL);
      answer = vd_pull_answer_decode (copy, len, NULL);
      embedded = embed_in_push (copy, len, &embedded_len);
      embedded_request = vd_push_request_decode (embedded, embedded_len, &embed_error);

      /* None of these files is a push or a pull answer. */
      g_assert_null (request);
      g_assert_null (answer);

      switch (name[0])
        {
        case 'y':
          n_y++;
          if (!prechecked)
            g_error ("%s: refused by the precheck: %s", name, precheck_error->message);
          /* As a value inside a push it reaches the change decoder, except text with
           * U+0000, which is refused on purpose. */
          if (embedded_request == NULL &&
              !(strstr (data, "\\u0000") != NULL && strstr (embed_error->message, "U+0000") != NULL))
            g_error ("%s: refused inside a push: %s", name, embed_error->message);
          break;

        case 'n':
          n_n++;
          if (embedded_request != NULL)
            g_error ("%s: accepted inside a push", name);
          g_assert_error (embed_error, VD_ERROR, VD_ERROR_BAD_REQUEST);
          break;

        default:
          n_i++;
          break;
        }
    }

  g_test_message ("JSONTestSuite: %u y_, %u n_, %u i_ files", n_y, n_n, n_i);
  g_assert_cmpuint (n_y, >, 90);
  g_assert_cmpuint (n_n, >, 180);
}

/* ---------------------------------------------------------------------------------- */
/* The tree decoder (vd-json.c) against json-glib, which decoded requests before it. */

/* Pieces of string bodies: raw text, every escape, \u in both cases, surrogate pairs. */
static const char *string_pieces[] = {
  "a", "Z", " ", "é", "🐕", "{", "]", ":", ",", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n",
  "\\r", "\\t", "\\u00e9", "\\u00E9", "\\ud83d\\udc15", "\\uD83D\\uDE00", "\\udbff\\udfff",
  "\\ud800\\udc00", "\\u2028", "\\u001f", "\\u0041", "\\uffff", "\\u0080", "\\u07ff", "\\u0800",
};

/* Integers at and beyond the 64-bit edges, where json-glib wrapped them. */
static const char *edge_integers[] = {
  "0", "-0", "7", "-7", "9007199254740991", "-9007199254740991", "9007199254740992",
  "9223372036854775807", "-9223372036854775807", "-9223372036854775808",
  "9223372036854775808", "-9223372036854775809", "9223372036854775810",
  "18446744073709551615", "18446744073709551616", "-18446744073709551615",
  "99999999999999999999", "1000000000000000000000000000000",
};

static const char *edge_reals[] = {
  "0.0", "-0.0", "0e0", "-0E-0", "1e400", "-1e400", "1e-400", "2.2250738585072011e-308",
  "4.9406564584124654e-324", "1.7976931348623157e308", "0.1", "1E+2", "123.456e-7",
  "9007199254740993.0", "1.00000000000000011102230246251565404236316680908203125",
};

static void
random_string (GRand   *rand,
               GString *out)
{
  guint n = g_rand_int_range (rand, 0, 8);

  g_string_append_c (out, '"');
  for (guint k = 0; k < n; k++)
    g_string_append (out, string_pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (string_pieces))]);
  g_string_append_c (out, '"');
}

/* An integer spelling; TRUE when it is beyond 64 bits (json-glib wrapped it). */
static gboolean
random_integer (GRand   *rand,
                GString *out)
{
  gsize start;
  const char *digits;
  gsize n;
  gboolean negative;

  if (g_rand_boolean (rand))
    g_string_append (out, edge_integers[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_integers))]);
  else
    {
      guint n_digits = g_rand_int_range (rand, 1, 24);

      if (g_rand_boolean (rand))
        g_string_append_c (out, '-');
      g_string_append_c (out, '1' + g_rand_int_range (rand, 0, 9));
      for (guint k = 1; k < n_digits; k++)
        g_string_append_c (out, '0' + g_rand_int_range (rand, 0, 10));
    }

  /* Where this spelling starts: back to the last character that is not part of it. */
  start = out->len;
  while (start > 0 && (g_ascii_isdigit (out->str[start - 1]) || out->str[start - 1] == '-'))
    start--;
  negative = out->str[start] == '-';
  digits = out->str + start + negative;
  n = out->len - start - negative;
  return n > 19 || (n == 19 && memcmp (digits, negative ? "9223372036854775808"
                                                        : "9223372036854775807", 19) > 0);
}

static void
random_real (GRand   *rand,
             GString *out)
{
  if (g_rand_boolean (rand))
    {
      g_string_append (out, edge_reals[g_rand_int_range (rand, 0, G_N_ELEMENTS (edge_reals))]);
      return;
    }
  if (g_rand_boolean (rand))
    g_string_append_c (out, '-');
  g_string_append_printf (out, "%u", g_rand_int_range (rand, 0, 100000));
  if (g_rand_boolean (rand))
    {
      g_string_append_c (out, '.');
      for (guint k = g_rand_int_range (rand, 1, 20); k > 0; k--)
        g_string_append_c (out, '0' + g_rand_int_range (rand, 0, 10));
    }
  else
    g_string_append (out, ".5");
  if (g_rand_boolean (rand))
    g_string_append_printf (out, "%c%s%d", g_rand_boolean (rand) ? 'e' : 'E',
                            g_rand_boolean (rand) ? "-" : g_rand_boolean (rand) ? "+" : "",
                            g_rand_int_range (rand, 0, 330));
}

/* A random JSON value, written twice: as a peer sends it, and as json-glib was given it
 * (integers beyond 64 bits with ".0", as the old decoder rewrote them). Object member
 * names are unique. */
static void
random_value (GRand   *rand,
              GString *text,
              GString *glib_text,
              guint    depth)
{
  guint choice = g_rand_int_range (rand, 0, depth < 4 ? 7 : 5);

  switch (choice)
    {
    case 0:
      {
        const char *words[] = { "null", "true", "false" };
        const char *word = words[g_rand_int_range (rand, 0, 3)];

        g_string_append (text, word);
        g_string_append (glib_text, word);
      }
      break;

    case 1:
    case 2:
      {
        gsize at = text->len;
        gboolean big = random_integer (rand, text);

        g_string_append (glib_text, text->str + at);
        if (big)
          g_string_append (glib_text, ".0");
      }
      break;

    case 3:
    case 4:
      {
        gsize at = text->len;

        if (choice == 3)
          random_real (rand, text);
        else
          random_string (rand, text);
        g_string_append (glib_text, text->str + at);
      }
      break;

    case 5:
      {
        guint n = g_rand_int_range (rand, 0, 5);

        g_string_append_c (text, '[');
        g_string_append_c (glib_text, '[');
        for (guint k = 0; k < n; k++)
          {
            if (k > 0)
              {
                g_string_append (text, g_rand_boolean (rand) ? "," : " ,\n\t");
                g_string_append_c (glib_text, ',');
              }
            random_value (rand, text, glib_text, depth + 1);
          }
        g_string_append_c (text, ']');
        g_string_append_c (glib_text, ']');
      }
      break;

    default:
      {
        guint n = g_rand_int_range (rand, 0, 5);

        g_string_append_c (text, '{');
        g_string_append_c (glib_text, '{');
        for (guint k = 0; k < n; k++)
          {
            gsize at;

            if (k > 0)
              {
                g_string_append_c (text, ',');
                g_string_append_c (glib_text, ',');
              }
            at = text->len;
            random_string (rand, text);
            /* A suffix no piece ends with keeps the names apart. */
            g_string_truncate (text, text->len - 1);
            g_string_append_printf (text, "#%u\" : ", k);
            g_string_append (glib_text, text->str + at);
            random_value (rand, text, glib_text, depth + 1);
          }
        g_string_append_c (text, '}');
        g_string_append_c (glib_text, '}');
      }
      break;
    }
}

/* The tree at index is what json-glib made of the same text; returns FALSE with where. */
static gboolean
same_as_json_glib (const VdJsonDoc *doc,
                   guint            index,
                   JsonNode        *node,
                   GString         *why)
{
  const VdJsonNode *tree = vd_json_node (doc, index);

  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_NULL:
      if (tree->kind != VD_JSON_NULL)
        return g_string_append (why, "not null"), FALSE;
      return TRUE;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint m = vd_json_first (index);

        if (tree->kind != VD_JSON_ARRAY || tree->n != json_array_get_length (array))
          return g_string_append (why, "array differs"), FALSE;
        for (guint k = 0; k < tree->n; k++, m = vd_json_next (doc, m))
          if (!same_as_json_glib (doc, m, json_array_get_element (array, k), why))
            return g_string_append_printf (why, " in element %u", k), FALSE;
        if (tree->next != m)
          return g_string_append (why, "array end differs"), FALSE;
        return TRUE;
      }

    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;
        guint m = vd_json_first (index);

        if (tree->kind != VD_JSON_OBJECT || tree->n != json_object_get_size (object))
          return g_string_append (why, "object differs"), FALSE;
        json_object_iter_init_ordered (&iter, object);
        while (json_object_iter_next_ordered (&iter, &name, &member))
          {
            if (strcmp (vd_json_name (doc, m), name) != 0 ||
                strlen (name) != vd_json_node (doc, m)->name_len)
              return g_string_append_printf (why, "member name %s", name), FALSE;
            if (!same_as_json_glib (doc, m, member, why))
              return g_string_append_printf (why, " in member %s", name), FALSE;
            m = vd_json_next (doc, m);
          }
        if (tree->next != m)
          return g_string_append (why, "object end differs"), FALSE;
        return TRUE;
      }

    case JSON_NODE_VALUE:
    default:
      {
        GType type = json_node_get_value_type (node);

        if (type == G_TYPE_INT64)
          {
            if (tree->kind != VD_JSON_INT || tree->i != json_node_get_int (node))
              return g_string_append_printf (why, "integer %" G_GINT64_FORMAT, json_node_get_int (node)), FALSE;
          }
        else if (type == G_TYPE_DOUBLE)
          {
            double r = json_node_get_double (node);

            if (tree->kind != VD_JSON_REAL || memcmp (&tree->r, &r, sizeof r) != 0)
              return g_string_append_printf (why, "double %.17g", r), FALSE;
          }
        else if (type == G_TYPE_BOOLEAN)
          {
            if (tree->kind != VD_JSON_BOOL || !tree->b != !json_node_get_boolean (node))
              return g_string_append (why, "boolean"), FALSE;
          }
        else
          {
            const char *s = json_node_get_string (node);

            if (tree->kind != VD_JSON_STRING || strcmp (vd_json_string (doc, index), s) != 0 ||
                tree->str.len != strlen (s))
              return g_string_append_printf (why, "string %s", s), FALSE;
          }
        return TRUE;
      }
    }
}

static void
test_tree_random (void)
{
  GRand *rand;

  init_seed ();
  rand = g_rand_new_with_seed (seed);
  for (guint round = 0; round < 3000; round++)
    {
      GString *text = g_string_new (NULL);
      GString *glib_text = g_string_new (NULL);
      GString *why = g_string_new (NULL);
      g_autoptr(VdJsonDoc) doc = NULL;
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *body = NULL;

      if (round % 2 == 0)
        g_string_append (text, "  ");
      random_value (rand, text, glib_text, 0);
      g_string_append (text, round % 3 == 0 ? "\n" : "");

      doc = vd_json_doc_parse (text->str, text->len, &error);
      if (doc == NULL)
        g_error ("round %u (seed %u): %s\n%s", round, seed, error->message, text->str);
      node = json_from_string (glib_text->str, &error);
      g_assert_no_error (error);
      if (!same_as_json_glib (doc, 0, node, why))
        g_error ("round %u (seed %u): %s\n%s", round, seed, why->str, text->str);
      g_assert_cmpuint (vd_json_node (doc, 0)->next, ==, doc->n_nodes);

      /* Inside a push, as a note: the grammar check and the tree agree on what is JSON. */
      body = push_body (CHANGE ("pets", "\"notes\":0"));
      {
        GString *embedded = g_string_new (body);
        char *at = strstr (embedded->str, "\"notes\":0");
        g_autoptr(VdPushRequest) request = NULL;

        g_string_erase (embedded, at - embedded->str + 8, 1);
        g_string_insert (embedded, at - embedded->str + 8, text->str);
        request = decode_push (embedded->str, &error);
        if (request == NULL)
          g_error ("round %u (seed %u): %s\n%s", round, seed, error->message, embedded->str);
        g_assert_cmpuint (request->n_total, ==, 1);
        g_string_free (embedded, TRUE);
      }

      g_string_free (text, TRUE);
      g_string_free (glib_text, TRUE);
      g_string_free (why, TRUE);
    }
  g_rand_free (rand);
}

/* Escapes and numbers spelled out, as json-glib read them. */
static void
test_tree_values (void)
{
  const struct
  {
    const char *json;
    VdJsonKind  kind;
    gint64      i;
    double      r;
    const char *s;
  } cases[] = {
    { "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", VD_JSON_STRING, 0, 0, "a\"b\\c/d\b\f\n\r\t" },
    { "\"\\u00e9\\u00C9\\u2028\"", VD_JSON_STRING, 0, 0, "éÉ\xe2\x80\xa8" },
    { "\"\\ud83d\\udc15\"", VD_JSON_STRING, 0, 0, "🐕" },
    { "\"\\uDBFF\\uDFFF\"", VD_JSON_STRING, 0, 0, "\xf4\x8f\xbf\xbf" },
    { "\"\\ud800\\udc00\"", VD_JSON_STRING, 0, 0, "\xf0\x90\x80\x80" },
    { "\"\\u0001\\u007f\\u0080\"", VD_JSON_STRING, 0, 0, "\x01\x7f\xc2\x80" },
    { "\"\"", VD_JSON_STRING, 0, 0, "" },
    { "9223372036854775807", VD_JSON_INT, G_MAXINT64, 0, NULL },
    { "-9223372036854775808", VD_JSON_INT, G_MININT64, 0, NULL },
    { "-0", VD_JSON_INT, 0, 0, NULL },
    { "9223372036854775808", VD_JSON_REAL, 0, 9223372036854775808.0, NULL },
    { "-9223372036854775809", VD_JSON_REAL, 0, -9223372036854775809.0, NULL },
    { "18446744073709551615", VD_JSON_REAL, 0, 18446744073709551615.0, NULL },
    { "1.0", VD_JSON_REAL, 0, 1.0, NULL },
    { "1e2", VD_JSON_REAL, 0, 100.0, NULL },
    { "-0.0", VD_JSON_REAL, 0, -0.0, NULL },
    { "1e999", VD_JSON_REAL, 0, INFINITY, NULL },
  };

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(VdJsonDoc) doc = vd_json_doc_parse (cases[k].json, strlen (cases[k].json), &error);
      const VdJsonNode *node;

      g_assert_no_error (error);
      node = vd_json_node (doc, 0);
      if (node->kind != cases[k].kind)
        g_error ("%s: kind %u, expected %u", cases[k].json, node->kind, cases[k].kind);
      if (cases[k].kind == VD_JSON_INT)
        g_assert_cmpint (node->i, ==, cases[k].i);
      else if (cases[k].kind == VD_JSON_REAL)
        g_assert_cmpmem (&node->r, sizeof node->r, &cases[k].r, sizeof cases[k].r);
      else
        g_assert_cmpstr (vd_json_string (doc, 0), ==, cases[k].s);
    }

  /* Lone or reversed surrogates stay refused, by the grammar check and by the tree. */
  {
    const char *bad[] = { "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\udc00\\ud800\"",
                          "\"\\ud800\\ud800\"", "\"a\\u0000b\"" };

    for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
      {
        g_autofree char *change = g_strdup_printf (CHANGE ("pets", "\"name\":%s"), bad[k]);
        g_autofree char *body = push_body (change);
        g_autoptr(GError) error = NULL;

        g_assert_null (vd_json_doc_parse (bad[k], strlen (bad[k]), &error));
        g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
        g_clear_error (&error);
        assert_push_fails (body, strlen (body), VD_ERROR_BAD_REQUEST);
      }
  }

  /* Nesting: the tree takes the protocol's depth and refuses one more by itself. */
  for (guint d = VD_PROTOCOL_MAX_DEPTH; d <= VD_PROTOCOL_MAX_DEPTH + 1; d++)
    {
      g_autofree char *opens = g_strnfill (d, '[');
      g_autofree char *closes = g_strnfill (d, ']');
      g_autofree char *text = g_strconcat (opens, "1", closes, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(VdJsonDoc) doc = vd_json_doc_parse (text, strlen (text), &error);

      if (d == VD_PROTOCOL_MAX_DEPTH)
        {
          g_assert_no_error (error);
          g_assert_cmpuint (doc->n_nodes, ==, d + 1);
          g_assert_cmpint (vd_json_node (doc, d)->kind, ==, VD_JSON_INT);
          for (guint k = 0; k < d; k++)
            g_assert_cmpuint (vd_json_node (doc, k)->next, ==, d + 1);
        }
      else
        {
          g_assert_null (doc);
          g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
        }
    }
}

typedef struct
{
  guint  count;
  char  *repeated;
} RepeatWatch;

/* The old decoder's repeat detection, on a one-object document: json-glib replaces a
 * repeated member, so a member that does not grow the object is a repeat. */
static void
watch_member_cb (JsonParser *parser,
                 JsonObject *object,
                 const char *member_name,
                 gpointer    user_data)
{
  RepeatWatch *watch = user_data;

  if (++watch->count > json_object_get_size (object) && watch->repeated == NULL)
    watch->repeated = g_strdup (member_name);
}

static void
test_tree_repeated (void)
{
  /* "é" and "\u00e9" are the same name, as are "name" and "n\u0061me". */
  const char *names[] = { "\"a\"", "\"b\"", "\"é\"", "\"\\u00e9\"", "\"name\"", "\"n\\u0061me\"",
                          "\"\"", "\"set\"", "\"c\"", "\"d\"", "\"e\"", "\"f\"", "\"g\"", "\"h\"" };
  GRand *rand;

  init_seed ();
  rand = g_rand_new_with_seed (seed);
  for (guint round = 0; round < 2000; round++)
    {
      GString *text = g_string_new ("{");
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(VdJsonDoc) doc = NULL;
      g_autoptr(GError) error = NULL;
      RepeatWatch watch = { 0 };
      guint n = g_rand_int_range (rand, 0, round % 2 ? 40 : 8);
      /* Sometimes a pool too large to repeat by chance, so objects without repeats and
       * more members than the pair-by-pair search takes are seen too. */
      guint pool = g_rand_int_range (rand, 1, G_N_ELEMENTS (names) + 1);
      const char *detected;

      for (guint k = 0; k < n; k++)
        {
          if (k > 0)
            g_string_append_c (text, ',');
          if (pool == G_N_ELEMENTS (names) && g_rand_boolean (rand))
            g_string_append_printf (text, "\"u%u\"", k);
          else
            g_string_append (text, names[g_rand_int_range (rand, 0, pool)]);
          g_string_append_printf (text, ":%u", k);
        }
      g_string_append_c (text, '}');

      g_signal_connect (parser, "object-member", G_CALLBACK (watch_member_cb), &watch);
      json_parser_load_from_data (parser, text->str, text->len, &error);
      g_assert_no_error (error);
      doc = vd_json_doc_parse (text->str, text->len, &error);
      g_assert_no_error (error);
      detected = vd_json_object_repeated (doc, 0);
      if (g_strcmp0 (detected, watch.repeated) != 0)
        g_error ("round %u (seed %u): found %s, json-glib %s in %s", round, seed,
                 detected, watch.repeated, text->str);
      /* As json-glib keeps: the last of a repeated name. */
      if (watch.repeated != NULL)
        {
          JsonObject *object = json_node_get_object (json_parser_get_root (parser));
          guint m = vd_json_object_get (doc, 0, watch.repeated);

          g_assert_cmpint (vd_json_node (doc, m)->i, ==,
                           json_object_get_int_member (object, watch.repeated));
        }
      g_free (watch.repeated);
      g_string_free (text, TRUE);
    }
  g_rand_free (rand);

  /* In a change, in its set and at the top of a request: the first repeated name. */
  {
    g_autofree char *message = NULL;
    g_autofree char *body = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(VdPullAnswer) answer = NULL;

    message = reject_message (CHANGE ("pets", "\"name\":\"A\",\"notes\":\"x\",\"notes\":\"y\",\"name\":\"B\""));
    g_assert_cmpstr (message, ==, "The member “notes” appears more than once in the change.");
    g_clear_pointer (&message, g_free);
    message = reject_message (CHANGE ("pets", "\"name\":\"A\",\"n\\u0061me\":\"B\""));
    g_assert_cmpstr (message, ==, "The member “name” appears more than once in the change.");
    g_clear_pointer (&message, g_free);
    message = reject_message ("{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC "\",\"site\":\""
                              SITE "\",\"set\":{\"name\":\"Rex\"},\"hlc\":\"" HLC "\",\"id\":5}");
    g_assert_cmpstr (message, ==, "The member “hlc” appears more than once in the change.");
    g_clear_pointer (&message, g_free);
    /* Repeats deeper down are nobody's business: the value is refused for its kind. */
    message = reject_message (CHANGE ("pets", "\"name\":{\"a\":1,\"a\":2}"));
    g_assert_cmpstr (message, ==, "The name must be a single value, not an object.");

    body = g_strdup ("{\"device_id\":\"" DEVICE "\",\"batch_id\":1,\"changes\":[],\"changes\":[],\"batch_id\":2}");
    g_assert_null (decode_push (body, &error));
    g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
    g_assert_cmpstr (error->message, ==, "The member “changes” appears more than once in the request.");
    g_clear_error (&error);

    g_clear_pointer (&body, g_free);
    body = g_strdup ("{\"changes\":[],\"cursor\":1,\"more\":false,\"server_hlc\":\"" HLC "\",\"x\":1,\"x\":2}");
    g_assert_null (vd_pull_answer_decode (body, strlen (body), &error));
    g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
    g_assert_cmpstr (error->message, ==, "The member “x” appears more than once in the request.");
    g_clear_error (&error);

    /* Unknown members of a pull answer are ignored, repeats within them too. */
    g_clear_pointer (&body, g_free);
    body = g_strdup ("{\"changes\":[],\"cursor\":1,\"more\":false,\"server_hlc\":\"" HLC "\",\"x\":{\"y\":1,\"y\":2}}");
    answer = vd_pull_answer_decode (body, strlen (body), &error);
    g_assert_no_error (error);
    g_assert_cmpint (answer->cursor, ==, 1);
  }
}

/* A change with several faults names the one json-glib's member order met first, as
 * before: the push decoder against vd_change_from_json on json-glib's own tree. */
static void
test_tree_fault_order (void)
{
  const char *set_members[] = {
    "\"name\":\"Rex\"", "\"nickname\":1", "\"colour\":\"red\"", "\"id\":\"x\"", "\"species\":\"dragon\"",
    "\"weight_kg\":-1", "\"neutered\":\"yes\"", "\"breed\":[1]", "\"notes\":{}", "\"zz\":null",
    "\"birth_date\":5", "\"deleted\":true", "\"client_id\":\"x\"", "\"sex\":\"other\"",
  };
  const char *change_members[] = { "\"colour\":1", "\"seq\":5", "\"when\":2", "\"zzz\":3", "\"table2\":4" };
  GRand *rand;

  init_seed ();
  rand = g_rand_new_with_seed (seed);
  for (guint round = 0; round < 1500; round++)
    {
      GString *change = g_string_new ("{\"table\":\"pets\",\"id\":\"" ROW_ID "\",\"hlc\":\"" HLC
                                      "\",\"site\":\"" SITE "\",\"set\":{");
      guint n = g_rand_int_range (rand, 1, G_N_ELEMENTS (set_members) + 1);
      gboolean used[G_N_ELEMENTS (set_members)] = { FALSE };
      g_autofree char *pushed = NULL;
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(VdChange) change_back = NULL;

      for (guint k = 0; k < n; k++)
        {
          guint pick = g_rand_int_range (rand, 0, G_N_ELEMENTS (set_members));

          if (used[pick])
            continue;
          used[pick] = TRUE;
          if (change->str[change->len - 1] != '{')
            g_string_append_c (change, ',');
          g_string_append (change, set_members[pick]);
        }
      if (change->str[change->len - 1] == '{')
        g_string_append (change, set_members[0]);
      g_string_append_c (change, '}');
      if (round % 3 == 0)
        for (guint k = 0; k < G_N_ELEMENTS (change_members); k++)
          if (g_rand_boolean (rand))
            g_string_append_printf (change, ",%s", change_members[k]);
      g_string_append_c (change, '}');

      pushed = reject_message (change->str);
      node = json_from_string (change->str, &error);
      g_assert_no_error (error);
      change_back = vd_change_from_json (node, VD_CHANGE_FROM_CLIENT, &error);
      if ((pushed == NULL) != (change_back != NULL) ||
          (pushed != NULL && g_strcmp0 (pushed, error->message) != 0))
        g_error ("round %u (seed %u): push says “%s”, json-glib tree says “%s” for %s", round, seed,
                 pushed, error != NULL ? error->message : "accepted", change->str);
      g_string_free (change, TRUE);
    }
  g_rand_free (rand);

  /* Unknown members at the top of a push: the first in json-glib's order. */
  {
    const char *body = "{\"device_id\":\"" DEVICE "\",\"zeta\":1,\"batch_id\":1,\"alpha\":2,"
                       "\"changes\":[],\"mid\":3,\"omega\":4}";
    g_autoptr(JsonNode) node = json_from_string (body, NULL);
    g_autoptr(GError) error = NULL;
    g_autofree char *expected = NULL;
    JsonObjectIter iter;
    const char *name;

    json_object_iter_init (&iter, json_node_get_object (node));
    while (json_object_iter_next (&iter, &name, NULL))
      if (strcmp (name, "device_id") != 0 && strcmp (name, "batch_id") != 0 &&
          strcmp (name, "changes") != 0)
        break;
    expected = g_strdup_printf ("The push has an unknown member “%s”.", name);
    g_assert_null (decode_push (body, &error));
    g_assert_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST);
    g_assert_cmpstr (error->message, ==, expected);
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/change/model", test_model);
  g_test_add_func ("/change/round-trip/push", test_round_trip_push);
  g_test_add_func ("/change/round-trip/pull", test_round_trip_pull);
  g_test_add_func ("/change/round-trip/random", test_random_round_trip);
  g_test_add_func ("/change/round-trip/builder", test_builder);
  g_test_add_func ("/change/wire-shape", test_wire_shape);
  g_test_add_func ("/change/deterministic", test_deterministic);
  g_test_add_func ("/change/doubles", test_doubles);
  g_test_add_func ("/change/strings", test_strings);
  g_test_add_func ("/change/uuid-normalised", test_uuid_normalised);
  g_test_add_func ("/change/faults/change", test_change_faults);
  g_test_add_func ("/change/faults/request", test_request_faults);
  g_test_add_func ("/change/faults/pull", test_pull_faults);
  g_test_add_func ("/change/faults/truncated", test_truncated);
  g_test_add_func ("/change/faults/mutated", test_mutated);
  g_test_add_func ("/change/faults/integers", test_integers);
  g_test_add_func ("/change/faults/wrapping-integers", test_wrapping_integers);
  g_test_add_func ("/change/rejection-indices", test_rejection_indices);
  g_test_add_func ("/change/limits/depth", test_depth);
  g_test_add_func ("/change/limits/size", test_limits);
  g_test_add_func ("/change/json-test-suite", test_json_test_suite);
  g_test_add_func ("/change/tree/random", test_tree_random);
  g_test_add_func ("/change/tree/values", test_tree_values);
  g_test_add_func ("/change/tree/repeated", test_tree_repeated);
  g_test_add_func ("/change/tree/fault-order", test_tree_fault_order);

  return g_test_run ();
}
