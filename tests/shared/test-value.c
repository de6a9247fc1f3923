/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-value.c — cell values and their validation: what each column accepts, what it
 * refuses, and that every refusal is a sentence naming the column. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vd-error.h"
#include "vd-schema.h"
#include "vd-value.h"

static const VdColumn *
col (const char *table,
     const char *name)
{
  const VdColumn *column = vd_table_lookup_column (vd_schema_lookup_table (table), name);

  g_assert_nonnull (column);
  return column;
}

static gboolean
validate_text (const VdColumn *column,
               const char     *s,
               GError        **error)
{
  VdValue value = { 0 };
  gboolean ok;

  vd_value_set_text (&value, s);
  ok = vd_value_validate (column, &value, error);
  vd_value_clear (&value);

  return ok;
}

/* Asserts a refusal with VD_ERROR_INVALID_CHANGE and a message naming the column; returns
 * the message for further checks. */
static char *
check_refused_text (const VdColumn *column,
                    VdValue        *value,
                    const char     *text)
{
  g_autoptr(GError) error = NULL;
  const char *label = vd_column_label (column);

  if (vd_value_validate (column, value, &error))
    {
      g_autofree char *shown = g_strescape (text != NULL ? text : "(not text)", NULL);

      g_error ("%s.%s accepted “%s”, which it should refuse", column->table->name,
               column->name, shown);
    }
  g_assert_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE);
  g_assert_nonnull (error->message);
  g_assert_cmpstr (error->message, !=, "");
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  if (strstr (error->message, label) == NULL)
    g_error ("message for %s.%s does not name “%s”: %s", column->table->name, column->name,
             label, error->message);

  return g_strdup (error->message);
}

static char *
check_refused (const VdColumn *column,
               VdValue        *value)
{
  return check_refused_text (column, value, NULL);
}

static char *
check_text_refused (const VdColumn *column,
                    const char     *s)
{
  VdValue value = { 0 };
  char *message;

  vd_value_set_text (&value, s);
  message = check_refused_text (column, &value, s);
  vd_value_clear (&value);

  return message;
}

static void
check_text_accepted (const VdColumn *column,
                     const char     *s)
{
  g_autoptr(GError) error = NULL;

  if (!validate_text (column, s, &error))
    g_error ("%s.%s refused “%s”: %s", column->table->name, column->name, s, error->message);
}

static void
test_value_basics (void)
{
  VdValue a = { 0 }, b = { 0 };
  char *owned;

  g_assert_cmpint (a.kind, ==, VD_VALUE_NULL);
  g_assert_true (vd_value_equal (&a, &b));

  vd_value_set_int (&a, 42);
  g_assert_false (vd_value_equal (&a, &b));
  vd_value_copy (&a, &b);
  g_assert_cmpint (b.kind, ==, VD_VALUE_INT);
  g_assert_cmpint (b.i, ==, 42);
  g_assert_true (vd_value_equal (&a, &b));

  /* Different kinds are different values even when they look alike. */
  vd_value_set_real (&b, 42.0);
  g_assert_false (vd_value_equal (&a, &b));
  vd_value_set_real (&a, 42.0);
  g_assert_true (vd_value_equal (&a, &b));

  vd_value_set_bool (&a, 2);
  vd_value_set_bool (&b, TRUE);
  g_assert_true (vd_value_equal (&a, &b));
  vd_value_set_bool (&b, FALSE);
  g_assert_false (vd_value_equal (&a, &b));

  /* Text is copied, and replacing a value frees the old text. */
  vd_value_set_text (&a, "Rex");
  vd_value_copy (&a, &b);
  g_assert_true (a.s != b.s);
  g_assert_cmpstr (b.s, ==, "Rex");
  g_assert_true (vd_value_equal (&a, &b));
  vd_value_set_text (&b, "Max");
  g_assert_false (vd_value_equal (&a, &b));
  vd_value_copy (&a, &a);
  g_assert_cmpstr (a.s, ==, "Rex");

  owned = g_strdup ("Luna");
  vd_value_take_text (&a, owned);
  g_assert_true (a.s == owned);
  vd_value_take_text (&a, NULL);
  g_assert_cmpint (a.kind, ==, VD_VALUE_NULL);
  vd_value_set_text (&a, NULL);
  g_assert_cmpint (a.kind, ==, VD_VALUE_NULL);

  vd_value_set_text (&a, "");
  g_assert_cmpint (a.kind, ==, VD_VALUE_TEXT);
  vd_value_set_null (&b);
  g_assert_false (vd_value_equal (&a, &b));

  vd_value_clear (&a);
  vd_value_clear (&b);
  g_assert_cmpint (a.kind, ==, VD_VALUE_NULL);
  vd_value_clear (&a);
}

static void
test_nullability (void)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);

  for (guint t = 0; t < n_tables; t++)
    for (guint c = 0; c < tables[t].n_columns; c++)
      {
        const VdColumn *column = &tables[t].columns[c];
        VdValue value = { 0 };

        if (column->nullable)
          {
            g_assert_true (vd_value_validate (column, &value, NULL));
            g_assert_cmpint (value.kind, ==, VD_VALUE_NULL);
          }
        else
          {
            g_autofree char *message = check_refused (column, &value);

            g_assert_nonnull (strstr (message, "required"));
          }
      }
}

/* Every column refuses every kind of value that does not fit its type. */
static void
test_wrong_kind (void)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);

  for (guint t = 0; t < n_tables; t++)
    for (guint c = 0; c < tables[t].n_columns; c++)
      {
        const VdColumn *column = &tables[t].columns[c];
        gboolean textual = column->type != VD_TYPE_INTEGER && column->type != VD_TYPE_REAL &&
                           column->type != VD_TYPE_BOOLEAN;
        VdValue value = { 0 };

        if (column->type != VD_TYPE_INTEGER && column->type != VD_TYPE_REAL)
          {
            vd_value_set_int (&value, 1);
            g_free (check_refused (column, &value));
          }
        if (column->type != VD_TYPE_REAL)
          {
            vd_value_set_real (&value, 1.0);
            g_free (check_refused (column, &value));
          }
        if (column->type != VD_TYPE_BOOLEAN)
          {
            vd_value_set_bool (&value, TRUE);
            g_free (check_refused (column, &value));
          }
        if (!textual)
          {
            vd_value_set_text (&value, "1");
            g_free (check_refused (column, &value));
            vd_value_set_text (&value, "true");
            g_free (check_refused (column, &value));
          }
        vd_value_clear (&value);
      }

  g_free (check_text_refused (col ("pets", "weight_kg"), "12.5"));
}

static void
test_boolean (void)
{
  const VdColumn *column = col ("pets", "neutered");
  VdValue value = { 0 };

  vd_value_set_bool (&value, TRUE);
  g_assert_true (vd_value_validate (column, &value, NULL));
  vd_value_set_bool (&value, FALSE);
  g_assert_true (vd_value_validate (column, &value, NULL));
  g_assert_cmpint (value.kind, ==, VD_VALUE_BOOL);

  vd_value_set_int (&value, 0);
  g_free (check_refused (column, &value));
  g_assert_cmpint (value.kind, ==, VD_VALUE_INT);
}

/* No registry column is an integer yet; this one borrows staff.name's place (and so its
 * label) to exercise the type. */
static void
test_integer (void)
{
  const VdColumn *name = col ("staff", "name");
  VdColumn count = *name;
  VdValue value = { 0 };

  count.type = VD_TYPE_INTEGER;
  count.max_length = 0;

  vd_value_set_int (&value, G_MAXINT64);
  g_assert_true (vd_value_validate (&count, &value, NULL));
  vd_value_set_int (&value, -3);
  g_assert_true (vd_value_validate (&count, &value, NULL));
  g_assert_cmpint (value.kind, ==, VD_VALUE_INT);
  g_assert_cmpint (value.i, ==, -3);

  vd_value_set_real (&value, 3.0);
  g_free (check_refused (&count, &value));
  vd_value_set_text (&value, "3");
  g_free (check_refused (&count, &value));
  vd_value_clear (&value);
}

static void
test_real (void)
{
  const VdColumn *weight = col ("pets", "weight_kg");
  const double accepted[] = { 12.5, 0.001, 1e-9, 2000.0, 1999.999 };
  const double refused[] = { 0.0, -0.0, -1.0, 2000.0001, 1e9, NAN, -NAN, INFINITY, -INFINITY };
  VdValue value = { 0 };
  g_autofree char *message = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      vd_value_set_real (&value, accepted[i]);
      g_assert_true (vd_value_validate (weight, &value, NULL));
      g_assert_cmpfloat (value.r, ==, accepted[i]);
    }

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      vd_value_set_real (&value, refused[i]);
      g_free (check_refused (weight, &value));
    }

  /* An integer is accepted for a real column and stored as real. */
  vd_value_set_int (&value, 12);
  g_assert_true (vd_value_validate (weight, &value, NULL));
  g_assert_cmpint (value.kind, ==, VD_VALUE_REAL);
  g_assert_cmpfloat (value.r, ==, 12.0);

  /* Bounds apply to converted integers too. */
  vd_value_set_int (&value, 0);
  g_free (check_refused (weight, &value));
  vd_value_set_int (&value, 2001);
  message = check_refused (weight, &value);
  g_assert_nonnull (strstr (message, "2000"));

  vd_value_set_text (&value, "heavy");
  g_free (check_refused (weight, &value));
  vd_value_clear (&value);
}

/* A string of n copies of unit. */
static char *
repeat (const char *unit,
        guint       n)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append (s, unit);
  return g_string_free (s, FALSE);
}

/* A value of exactly n characters that passes the column's format. */
static char *
text_of_length (const VdColumn *column,
                const char     *unit,
                guint           n)
{
  switch (column->format)
    {
    case VD_FORMAT_EMAIL:
      {
        g_autofree char *local = repeat (unit, n - strlen ("@example.org"));

        return g_strconcat (local, "@example.org", NULL);
      }
    case VD_FORMAT_PHONE:
    case VD_FORMAT_MICROCHIP:
      return repeat ("7", n);
    case VD_FORMAT_COLOR:
      {
        g_autofree char *hex = repeat ("a", n - 1);

        return g_strconcat ("#", hex, NULL);
      }
    case VD_FORMAT_NONE:
    default:
      return repeat (unit, n);
    }
}

static void
test_text_lengths (void)
{
  /* One, two, three and four UTF-8 bytes per character. */
  const char *units[] = { "a", "é", "€", "🐕" };
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);
  guint n_checked = 0;

  for (guint t = 0; t < n_tables; t++)
    for (guint c = 0; c < tables[t].n_columns; c++)
      {
        const VdColumn *column = &tables[t].columns[c];

        if (column->type != VD_TYPE_TEXT)
          continue;
        g_assert_cmpuint (column->max_length, >, 0);
        n_checked++;

        for (guint u = 0; u < G_N_ELEMENTS (units); u++)
          {
            g_autofree char *max = NULL;
            g_autofree char *over = NULL;
            g_autofree char *message = NULL;
            g_autofree char *limit = g_strdup_printf ("%u", column->max_length);

            /* Only free-text columns take characters beyond ASCII digits and hex. */
            if (u > 0 && column->format != VD_FORMAT_NONE && column->format != VD_FORMAT_EMAIL)
              continue;

            max = text_of_length (column, units[u], column->max_length);
            over = text_of_length (column, units[u], column->max_length + 1);
            g_assert_cmpint (g_utf8_strlen (max, -1), ==, column->max_length);

            check_text_accepted (column, max);
            message = check_text_refused (column, over);
            g_assert_nonnull (strstr (message, limit));
          }
      }

  g_assert_cmpuint (n_checked, >=, 15);
}

static void
test_utf8 (void)
{
  const char *invalid[] = {
    "\xff",
    "Rex\xc3",          /* truncated sequence */
    "\xc0\xaf",         /* overlong slash */
    "\xed\xa0\x80",     /* surrogate */
    "caf\xe9",          /* Latin-1 */
  };
  const VdColumn *columns[] = {
    col ("pets", "name"), col ("clients", "notes"), col ("pets", "species"),
    col ("pets", "birth_date"), col ("appointments", "starts_at"), col ("pets", "client_id"),
    col ("clients", "email"),
  };

  for (guint i = 0; i < G_N_ELEMENTS (columns); i++)
    for (guint j = 0; j < G_N_ELEMENTS (invalid); j++)
      g_free (check_text_refused (columns[i], invalid[j]));

  check_text_accepted (col ("pets", "name"), "Señor Bigotes 🐈");
  check_text_accepted (col ("pets", "name"), "");
}

static void
test_enum (void)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);
  const VdColumn *species = col ("pets", "species");
  g_autofree char *message = NULL;

  for (guint t = 0; t < n_tables; t++)
    for (guint c = 0; c < tables[t].n_columns; c++)
      {
        const VdColumn *column = &tables[t].columns[c];
        g_autofree char *upper = NULL;
        g_autofree char *spaced = NULL;

        if (column->type != VD_TYPE_ENUM)
          continue;

        for (guint v = 0; column->enum_values[v] != NULL; v++)
          check_text_accepted (column, column->enum_values[v]);

        /* Values are case-sensitive and exact. */
        upper = g_ascii_strup (column->enum_values[0], -1);
        spaced = g_strconcat (" ", column->enum_values[0], NULL);
        g_free (check_text_refused (column, upper));
        g_free (check_text_refused (column, spaced));
        g_free (check_text_refused (column, ""));
      }

  message = check_text_refused (species, "Dog");
  for (guint v = 0; species->enum_values[v] != NULL; v++)
    g_assert_nonnull (strstr (message, species->enum_values[v]));
  g_assert_nonnull (strstr (message, "Dog"));

  g_free (check_text_refused (col ("appointments", "status"), "follow_up"));
  g_free (check_text_refused (col ("pets", "sex"), "dog"));
}

static void
test_date (void)
{
  const VdColumn *birth = col ("pets", "birth_date");
  const char *accepted[] = {
    "2024-02-29", "2000-02-29", "2023-02-28", "2023-12-31", "2024-04-30", "0001-01-01",
    "9999-12-31",
  };
  const char *refused[] = {
    "2023-02-29", "1900-02-29", "2100-02-29", "2024-02-30", "2024-13-01", "2024-00-10",
    "2024-01-00", "2024-04-31", "2024-06-31", "2024-01-32", "0000-01-01", "2024-1-01",
    "2024-01-1", "24-01-01", "20240101", "2024/01/01", " 2024-01-01", "2024-01-01 ",
    "2024-01-01T00:00:00Z", "2024-01-01\n", "+2024-01-01", "-001-01-01", "２０２４-01-01",
    "", "today", "2024-0a-01",
  };

  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    check_text_accepted (birth, accepted[i]);
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    g_free (check_text_refused (birth, refused[i]));
}

static void
test_timestamp (void)
{
  const VdColumn *starts = col ("appointments", "starts_at");
  const char *accepted[] = {
    "2024-01-01T00:00:00Z", "2024-02-29T23:59:59Z", "1970-01-01T00:00:00Z",
    "2024-03-31T01:30:00Z",
  };
  const char *refused[] = {
    "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-01-01T00:00:60Z",
    "2024-01-01T00:00:00z", "2024-01-01t00:00:00Z", "2024-01-01 00:00:00Z",
    "2024-01-01T00:00:00", "2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00.000Z",
    "2024-01-01T00:00Z", "2024-01-01T0:00:00Z", "2023-02-29T10:00:00Z", "2024-13-01T10:00:00Z",
    "2024-01-01", "2024-01-01T00:00:00ZZ", "", "2024-01-01T-1:00:00Z",
  };
  g_autofree char *message = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    check_text_accepted (starts, accepted[i]);
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    g_free (check_text_refused (starts, refused[i]));

  message = check_text_refused (starts, "2024-01-01T24:00:00Z");
  g_assert_nonnull (strstr (message, "2024-01-01T24:00:00Z"));
}

static void
test_uuid (void)
{
  const VdColumn *client = col ("pets", "client_id");
  const char *refused[] = {
    "0191d5a3c2f840018a2b1c2d3e4f5a6b", "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6",
    "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6bb", "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6g",
    "{0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b}", "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b\n",
    "0191d5a3_c2f8-4001-8a2b-1c2d3e4f5a6b", "", "rex",
  };
  VdValue value = { 0 };

  vd_value_set_text (&value, "0191D5A3-C2F8-4001-8A2B-1C2D3E4F5A6B");
  g_assert_true (vd_value_validate (client, &value, NULL));
  g_assert_cmpint (value.kind, ==, VD_VALUE_TEXT);
  g_assert_cmpstr (value.s, ==, "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b");

  vd_value_set_text (&value, "0191d5a3-C2f8-4001-8a2B-1c2d3e4f5a6b");
  g_assert_true (vd_value_validate (col ("conflicts", "other_row_id"), &value, NULL));
  g_assert_cmpstr (value.s, ==, "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b");

  vd_value_set_text (&value, "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b");
  g_assert_true (vd_value_validate (client, &value, NULL));
  g_assert_cmpstr (value.s, ==, "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b");
  vd_value_clear (&value);

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    g_free (check_text_refused (client, refused[i]));
}

static void
test_email (void)
{
  const VdColumn *email = col ("clients", "email");
  const char *accepted[] = {
    "a@b.co", "anne.smith+vet@example.org", "ñandú@correo.es", "x@mail.example.co.uk",
  };
  const char *refused[] = {
    "a", "@b.co", "a@b", "a@", "a@@b.co", "a@b@c.co", "a b@c.co", "a@b .co", "a@b.co ",
    "a\t@b.co", "a@.co", "a@co.", "a@b..co", "", "a@b.co\n",
  };
  g_autofree char *message = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    check_text_accepted (email, accepted[i]);
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    g_free (check_text_refused (email, refused[i]));

  message = check_text_refused (email, "anne.example.org");
  g_assert_nonnull (strstr (message, "anne.example.org"));
}

static void
test_phone (void)
{
  const VdColumn *phone = col ("staff", "phone");
  const char *accepted[] = {
    "+34 600 123 456", "(555) 123-4567", "555.123.4567", "123", "+52 (55) 1234-5678",
  };
  const char *refused[] = {
    "12", "abc", "", "+ - ( ) .", "+34 600 123 456 ext 5", "555/123", "١٢٣٤",
    "555\n123", "555_123",
  };

  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    check_text_accepted (phone, accepted[i]);
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    g_free (check_text_refused (phone, refused[i]));
}

static void
test_microchip (void)
{
  const VdColumn *chip = col ("pets", "microchip");
  const char *refused[] = {
    "98510200012345", "9851020001234567", "98510200012345A", "985 10200012345",
    "", "９８５１０２０００１２３４５６",
  };

  check_text_accepted (chip, "985102000123456");
  check_text_accepted (chip, "000000000000000");
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    g_free (check_text_refused (chip, refused[i]));
}

static void
test_color (void)
{
  const VdColumn *color = col ("staff", "color");
  const char *refused[] = {
    "3584e4", "#3584e", "#3584e4f", "#zzzzzz", "#35 84e", "", "#", "red", "#3584E ",
  };

  check_text_accepted (color, "#3584e4");
  check_text_accepted (color, "#ABCDEF");
  check_text_accepted (color, "#000000");
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    g_free (check_text_refused (color, refused[i]));

  /* A pet's coat colour is free text. */
  check_text_accepted (col ("pets", "color"), "brown and white");
}

/* Long offending values are shortened in messages, on a character boundary. */
static void
test_message_truncation (void)
{
  g_autofree char *long_email = repeat ("é", 200);
  g_autofree char *long_date = repeat ("ü", 300);
  g_autofree char *forty_one = repeat ("ü", 41);
  g_autofree char *forty = repeat ("ü", 40);
  g_autofree char *message = NULL;
  g_autofree char *message2 = NULL;

  message = check_text_refused (col ("clients", "email"), long_email);
  g_assert_true (g_utf8_validate (message, -1, NULL));
  g_assert_cmpuint (g_utf8_strlen (message, -1), <, 200);

  message2 = check_text_refused (col ("pets", "birth_date"), long_date);
  g_assert_true (g_utf8_validate (message2, -1, NULL));
  g_assert_nonnull (strstr (message2, forty));
  g_assert_null (strstr (message2, forty_one));
}

/* Random byte strings never crash validation, and whatever is accepted holds the
 * column's promises. Replay with VD_SEED=n. */
static void
test_random_text (void)
{
  const char *env = g_getenv ("VD_SEED");
  guint32 seed = env != NULL ? (guint32) strtoul (env, NULL, 10) : 20240229;
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  const char alphabet[] = "0123456789abcdefABCDEF-:+.@#() TZz\xc3\xa9\xff";
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);

  g_test_message ("seed %u (replay with VD_SEED=%u)", seed, seed);

  for (guint round = 0; round < 20000; round++)
    {
      const VdTable *table = &tables[g_rand_int_range (rand, 0, n_tables)];
      const VdColumn *column = &table->columns[g_rand_int_range (rand, 0, table->n_columns)];
      guint len = g_rand_int_range (rand, 0, 24);
      char buf[32];
      VdValue value = { 0 };
      g_autoptr(GError) error = NULL;

      for (guint i = 0; i < len; i++)
        buf[i] = alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];
      buf[len] = '\0';

      vd_value_set_text (&value, buf);
      if (vd_value_validate (column, &value, &error))
        {
          if (!g_utf8_validate (value.s, -1, NULL) ||
              (column->max_length > 0 &&
               g_utf8_strlen (value.s, -1) > (glong) column->max_length))
            g_error ("seed %u: %s.%s accepted a bad value", seed, table->name, column->name);
        }
      else if (error == NULL || error->message[0] == '\0' ||
               !g_utf8_validate (error->message, -1, NULL))
        g_error ("seed %u: %s.%s refused without a readable message", seed, table->name,
                 column->name);
      vd_value_clear (&value);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/value/basics", test_value_basics);
  g_test_add_func ("/value/nullability", test_nullability);
  g_test_add_func ("/value/wrong-kind", test_wrong_kind);
  g_test_add_func ("/value/boolean", test_boolean);
  g_test_add_func ("/value/integer", test_integer);
  g_test_add_func ("/value/real", test_real);
  g_test_add_func ("/value/text-lengths", test_text_lengths);
  g_test_add_func ("/value/utf8", test_utf8);
  g_test_add_func ("/value/enum", test_enum);
  g_test_add_func ("/value/date", test_date);
  g_test_add_func ("/value/timestamp", test_timestamp);
  g_test_add_func ("/value/uuid", test_uuid);
  g_test_add_func ("/value/email", test_email);
  g_test_add_func ("/value/phone", test_phone);
  g_test_add_func ("/value/microchip", test_microchip);
  g_test_add_func ("/value/color", test_color);
  g_test_add_func ("/value/message-truncation", test_message_truncation);
  g_test_add_func ("/value/random-text", test_random_text);

  return g_test_run ();
}
