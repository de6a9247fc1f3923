/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-store-rules.c — the desk's replica keeps the domain rules syncd keeps
 * (shared/vd-rules.c), so a user action the server would refuse is refused at once, on
 * the desk, before anything reaches the outbox: appointment length, whole new rows. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "vd-store.h"
#include "vd-rules.h"
#include "vd-test-change.h"

#define TENANT "6f1c2b9e-3a4d-4e5f-8a7b-1c2d3e4f5a6b"
#define PET    "0b0b0b0b-2222-4333-8444-955555555555"
#define CLIENT "0c0c0c0c-2222-4333-8444-955555555555"
#define STAFF  "0d0d0d0d-2222-4333-8444-955555555555"

typedef struct
{
  char    *dir;
  VdStore *store;
} Fixture;

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  fx->dir = g_dir_make_tmp ("vd-test-store-rules-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (fx->dir, TENANT ".db", NULL);
  fx->store = vd_store_open (path, TENANT, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  g_clear_object (&fx->store);
  dir = g_dir_open (fx->dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (fx->dir, name, NULL);

      g_remove (child);
    }
  g_rmdir (fx->dir);
  g_free (fx->dir);
}

static VdChange *
appointment (Fixture    *fx,
             const char *id,
             const char *starts_at,
             const char *ends_at)
{
  VdChange *change = vd_store_new_change (fx->store, "appointments", id);

  if (id == NULL)
    {
      vd_test_set_text (change, "pet_id", PET);
      vd_test_set_text (change, "client_id", CLIENT);
      vd_test_set_text (change, "staff_id", STAFF);
      vd_test_set_text (change, "kind", "surgery");
      vd_test_set_text (change, "status", "scheduled");
    }
  if (starts_at != NULL)
    vd_test_set_text (change, "starts_at", starts_at);
  if (ends_at != NULL)
    vd_test_set_text (change, "ends_at", ends_at);
  return change;
}

/* syncd refuses an appointment longer than a day (invalid_change); the desk must refuse it
 * too, or the user's save would be dropped by the server later, far from the form. */
static void
test_appointment_length (Fixture       *fx,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdChange) day = appointment (fx, NULL, "2026-03-29T00:30:00Z", "2026-03-30T00:30:00Z");
  g_autoptr(VdChange) longer = appointment (fx, NULL, "2026-03-29T00:30:00Z", "2026-03-30T00:30:01Z");
  g_autoptr(VdChange) stretch = NULL;
  g_autoptr(VdChange) backwards = NULL;
  guint pending;

  /* Exactly the longest allowed (across Madrid's spring-forward night: times are UTC). */
  g_assert_true (vd_store_commit (fx->store, day, &error));
  g_assert_no_error (error);
  pending = vd_store_count_pending (fx->store);
  g_assert_cmpuint (pending, ==, 1);

  /* One second longer: refused, nothing queued. */
  g_assert_false (vd_store_commit (fx->store, longer, &error));
  g_assert_error (error, VD_STORE_ERROR, VD_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpuint (vd_store_count_pending (fx->store), ==, pending);

  /* An edit of one end is judged with the other end as stored. */
  stretch = appointment (fx, day->id, NULL, "2026-03-30T09:00:00Z");
  g_assert_false (vd_store_commit (fx->store, stretch, &error));
  g_assert_error (error, VD_STORE_ERROR, VD_STORE_ERROR_INVALID);
  g_clear_error (&error);
  backwards = appointment (fx, day->id, "2026-03-30T00:30:00Z", NULL);
  g_assert_false (vd_store_commit (fx->store, backwards, &error));
  g_assert_error (error, VD_STORE_ERROR, VD_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpuint (vd_store_count_pending (fx->store), ==, pending);
}

/* A new row must be whole, by the same rule as syncd's (vd_rules_missing_required). */
static void
test_new_row_whole (Fixture       *fx,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdChange) change = vd_store_new_change (fx->store, "clients", NULL);

  vd_test_set_text (change, "first_name", "Ana");
  g_assert_false (vd_store_commit (fx->store, change, &error));
  g_assert_error (error, VD_STORE_ERROR, VD_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "last name"));
  g_clear_error (&error);
  g_assert_cmpuint (vd_store_count_pending (fx->store), ==, 0);

  vd_test_set_text (change, "last_name", "García");
  g_assert_true (vd_store_commit (fx->store, change, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vd_store_count_pending (fx->store), ==, 1);
}

/* Booleans a new row leaves out take their defaults (vd_rules_bool_default). */
static void
test_bool_defaults (Fixture       *fx,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdChange) change = vd_store_new_change (fx->store, "staff", NULL);
  const VdTable *staff = vd_schema_lookup_table ("staff");
  VdValue *values = g_newa (VdValue, staff->n_columns);

  vd_test_set_text (change, "name", "Lucía Pérez");
  vd_test_set_text (change, "role", "veterinarian");
  g_assert_true (vd_store_commit (fx->store, change, &error));
  g_assert_no_error (error);

  memset (values, 0, staff->n_columns * sizeof (VdValue));
  g_assert_true (vd_store_get_row (fx->store, staff, change->id, values, &error));
  g_assert_no_error (error);
  g_assert_cmpint (values[vd_table_lookup_column (staff, "active")->index].kind, ==, VD_VALUE_BOOL);
  g_assert_true (values[vd_table_lookup_column (staff, "active")->index].b);
  g_assert_false (values[vd_table_deleted_column (staff)->index].b);
  for (guint c = 0; c < staff->n_columns; c++)
    vd_value_clear (&values[c]);
}

int
main (int    argc,
      char **argv)
{
  g_setenv ("LANGUAGE", "C", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/store-rules/appointment-length", Fixture, NULL, fixture_setup,
              test_appointment_length, fixture_teardown);
  g_test_add ("/store-rules/new-row-whole", Fixture, NULL, fixture_setup,
              test_new_row_whole, fixture_teardown);
  g_test_add ("/store-rules/bool-defaults", Fixture, NULL, fixture_setup,
              test_bool_defaults, fixture_teardown);

  return g_test_run ();
}
