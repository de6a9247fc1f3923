/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-rules.c — the domain rules of shared/vd-rules.c (live statuses and their SQL form,
 * status steps, appointment length, whole new rows, bookable roles, write-once tables and
 * the roles that may write each table) and the registry's translated enum labels. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>
#include <string.h>

#include "vd-rules.h"
#include "vd-test-change.h"
#include "vd-time.h"

#define SITE "7a7a7a7a-1111-4222-8333-944444444444"
#define ROW  "0b0b0b0b-2222-4333-8444-955555555555"

static const VdColumn *
column_of (const char *table,
           const char *column)
{
  const VdColumn *c = vd_table_lookup_column (vd_schema_lookup_table (table), column);

  g_assert_nonnull (c);
  return c;
}

/* ---- Appointments ---- */

static void
test_active_statuses (void)
{
  const char * const *statuses = column_of ("appointments", "status")->enum_values;
  g_autoptr(GPtrArray) inactive = g_ptr_array_new ();
  g_autoptr(GString) sql = g_string_new ("(");

  for (guint i = 0; statuses[i] != NULL; i++)
    {
      gboolean expected = strcmp (statuses[i], "cancelled") != 0 &&
                          strcmp (statuses[i], "no_show") != 0;

      g_assert_cmpint (vd_rules_status_is_active (statuses[i]), ==, expected);
      if (!expected)
        g_ptr_array_add (inactive, (gpointer) statuses[i]);
    }
  /* A row still arriving cell by cell has no status yet: it counts as live. */
  g_assert_true (vd_rules_status_is_active (NULL));

  /* The SQL form names exactly the inactive statuses, in registry order. */
  for (guint i = 0; i < inactive->len; i++)
    g_string_append_printf (sql, "%s'%s'", i > 0 ? ", " : "",
                            (const char *) g_ptr_array_index (inactive, i));
  g_string_append_c (sql, ')');
  g_assert_cmpstr (sql->str, ==, VD_RULES_INACTIVE_STATUSES_SQL);
}

static void
test_next_statuses (void)
{
  const VdColumn *status = column_of ("appointments", "status");
  const char * const *next;

  for (guint i = 0; status->enum_values[i] != NULL; i++)
    {
      const char *from = status->enum_values[i];

      next = vd_rules_next_statuses (from);
      g_assert_nonnull (next);
      for (guint j = 0; next[j] != NULL; j++)
        {
          g_assert_true (g_strv_contains (status->enum_values, next[j]));
          g_assert_cmpstr (next[j], !=, from);
        }
      /* Only a live appointment still has steps to take. */
      if (!vd_rules_status_is_active (from) || strcmp (from, "completed") == 0)
        g_assert_null (next[0]);
      else
        g_assert_nonnull (next[0]);
    }

  next = vd_rules_next_statuses ("scheduled");
  g_assert_cmpstr (next[0], ==, "confirmed");
  g_assert_cmpuint (g_strv_length ((char **) next), ==, 4);
  g_assert_cmpstr (vd_rules_next_statuses ("in_progress")[0], ==, "completed");
  g_assert_null (vd_rules_next_statuses ("boarding")[0]);
  g_assert_null (vd_rules_next_statuses (NULL)[0]);
}

static void
test_appointment_times (void)
{
  gint64 start;

  g_assert_true (vd_time_parse_utc ("2026-03-29T00:30:00Z", &start, NULL));

  g_assert_true (vd_rules_appointment_times_ok (start, start + 60));
  g_assert_false (vd_rules_appointment_times_ok (start, start));
  g_assert_false (vd_rules_appointment_times_ok (start, start - 60));
  g_assert_true (vd_rules_appointment_times_ok (start, start + VD_RULES_APPOINTMENT_MAX_SECONDS));
  g_assert_false (vd_rules_appointment_times_ok (start, start + VD_RULES_APPOINTMENT_MAX_SECONDS + 1));
  g_assert_false (vd_rules_appointment_times_ok (G_MININT64, G_MAXINT64));
  g_assert_cmpint (VD_RULES_APPOINTMENT_MAX_SECONDS, ==, 24 * 3600);

  /* The editor offers only lengths the rule allows. */
  g_assert_cmpint (VD_RULES_EDITOR_MAX_MINUTES * 60, <=, VD_RULES_APPOINTMENT_MAX_SECONDS);

  /* On stored text: Madrid's spring-forward night changes nothing, times are UTC. */
  g_assert_true (vd_rules_appointment_text_times_ok ("2026-03-29T00:30:00Z", "2026-03-30T00:30:00Z"));
  g_assert_false (vd_rules_appointment_text_times_ok ("2026-03-29T00:30:00Z", "2026-03-30T00:30:01Z"));
  g_assert_false (vd_rules_appointment_text_times_ok ("2026-03-29T10:00:00Z", "2026-03-29T10:00:00Z"));
  g_assert_false (vd_rules_appointment_text_times_ok ("2026-03-29T10:00:00Z", "2026-03-29T09:59:59Z"));
  /* A missing or unreadable time is the cell validation's to report. */
  g_assert_true (vd_rules_appointment_text_times_ok (NULL, "2026-03-29T10:00:00Z"));
  g_assert_true (vd_rules_appointment_text_times_ok ("2026-03-29T10:00:00Z", NULL));
  g_assert_true (vd_rules_appointment_text_times_ok ("tomorrow", "2026-03-29T10:00:00Z"));
}

static void
test_bookable_roles (void)
{
  const char * const *roles = column_of ("staff", "role")->enum_values;
  guint bookable = 0;

  for (guint i = 0; roles[i] != NULL; i++)
    bookable += vd_rules_role_takes_appointments (roles[i]);
  g_assert_cmpuint (bookable, ==, 3);
  g_assert_true (vd_rules_role_takes_appointments ("veterinarian"));
  g_assert_true (vd_rules_role_takes_appointments ("groomer"));
  g_assert_true (vd_rules_role_takes_appointments ("technician"));
  g_assert_false (vd_rules_role_takes_appointments ("front_desk"));
  g_assert_false (vd_rules_role_takes_appointments ("manager"));
  g_assert_false (vd_rules_role_takes_appointments (NULL));
}

/* ---- Rows ---- */

static void
test_missing_required (void)
{
  const VdTable *pets = vd_schema_lookup_table ("pets");
  g_autoptr(VdChange) change = vd_change_new (pets, ROW, 1, SITE);
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);

  /* Required columns come out in registry order, one at a time. */
  g_assert_true (vd_rules_missing_required (change) == column_of ("pets", "client_id"));
  vd_test_set_text (change, "client_id", ROW);
  g_assert_true (vd_rules_missing_required (change) == column_of ("pets", "name"));
  vd_test_set_text (change, "name", "Rex");
  vd_test_set_text (change, "species", "dog");
  vd_test_set_text (change, "sex", "male");
  vd_test_set_bool (change, "neutered", FALSE);
  g_assert_true (vd_rules_missing_required (change) == column_of ("pets", "deceased"));
  vd_test_set_bool (change, "deceased", FALSE);
  /* "deleted" is never required: a row never deleted is not deleted. */
  g_assert_null (vd_rules_missing_required (change));

  /* A NULL value is no value. */
  vd_test_set_text (change, "name", NULL);
  g_assert_true (vd_rules_missing_required (change) == column_of ("pets", "name"));

  /* Every table: exactly its non-nullable columns but "deleted" are asked for. */
  for (guint t = 0; t < n_tables; t++)
    {
      g_autoptr(VdChange) empty = vd_change_new (&tables[t], ROW, 1, SITE);
      guint required = 0, asked = 0;
      const VdColumn *missing;

      for (guint c = 0; c < tables[t].n_columns; c++)
        required += !tables[t].columns[c].nullable &&
                    &tables[t].columns[c] != vd_table_deleted_column (&tables[t]);
      while ((missing = vd_rules_missing_required (empty)) != NULL)
        {
          VdValue value = { VD_VALUE_NULL };

          g_assert_false (missing->nullable);
          vd_value_set_text (&value, "x");
          vd_change_take_cell (empty, missing, &value);
          asked++;
          g_assert_cmpuint (asked, <=, required);
        }
      g_assert_cmpuint (asked, ==, required);
    }
}

static void
test_bool_defaults (void)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);
  guint n_true = 0;

  /* Someone added to the staff works here; every other flag starts off. */
  g_assert_true (vd_rules_bool_default (column_of ("staff", "active")));
  for (guint t = 0; t < n_tables; t++)
    for (guint c = 0; c < tables[t].n_columns; c++)
      n_true += vd_rules_bool_default (&tables[t].columns[c]);
  g_assert_cmpuint (n_true, ==, 1);
  g_assert_false (vd_rules_bool_default (column_of ("pets", "deceased")));
  g_assert_false (vd_rules_bool_default (column_of ("staff", "deleted")));
}

/* ---- Tables ---- */

static void
test_write_once (void)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);

  /* No table of the first set is write-once (ARCHITECTURE §3: WO marks the second set's). */
  for (guint t = 0; t < n_tables; t++)
    g_assert_false (vd_rules_table_is_write_once (&tables[t]));
}

static void
test_clinic_roles (void)
{
  const char * const *roles = vd_rules_clinic_roles ();
  VdClinicRole seen = 0;

  g_assert_cmpuint (g_strv_length ((char **) roles), ==, 5);
  for (guint i = 0; roles[i] != NULL; i++)
    {
      VdClinicRole flag = vd_rules_clinic_role_from_name (roles[i]);

      g_assert_cmpuint (flag, !=, 0);
      g_assert_cmpuint (seen & flag, ==, 0);
      seen |= flag;
    }
  g_assert_cmpuint (seen, ==, VD_CLINIC_ROLES_ALL);
  g_assert_cmpuint (vd_rules_clinic_role_from_name ("clinic_admin"), ==, VD_CLINIC_ROLE_CLINIC_ADMIN);
  g_assert_cmpuint (vd_rules_clinic_role_from_name ("veterinarian"), ==, VD_CLINIC_ROLE_VETERINARIAN);
  /* Staff roles and platform roles are not membership roles. */
  g_assert_cmpuint (vd_rules_clinic_role_from_name ("manager"), ==, 0);
  g_assert_cmpuint (vd_rules_clinic_role_from_name ("company_admin"), ==, 0);
  g_assert_cmpuint (vd_rules_clinic_role_from_name (NULL), ==, 0);
}

static void
test_roles_per_table (void)
{
  const char * const *roles = vd_rules_clinic_roles ();
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);
  VdTable vets_only;

  /* Today every clinic role writes every table but the server's own. */
  for (guint t = 0; t < n_tables; t++)
    for (guint i = 0; roles[i] != NULL; i++)
      g_assert_cmpint (vd_rules_role_may_write (roles[i], &tables[t]), ==, !tables[t].server_owned);
  g_assert_false (vd_rules_role_may_write ("company_admin", vd_schema_lookup_table ("pets")));
  g_assert_false (vd_rules_role_may_write ("platform_admin", vd_schema_lookup_table ("pets")));
  g_assert_false (vd_rules_role_may_write (NULL, vd_schema_lookup_table ("pets")));

  /* The shape §5 asks of the second set: a table only a veterinarian may write (as
   * visit_seals), which a clinic_admin may write too. */
  vets_only = *vd_schema_lookup_table ("clients");
  vets_only.writers = VD_CLINIC_ROLE_VETERINARIAN;
  g_assert_true (vd_rules_role_may_write ("veterinarian", &vets_only));
  g_assert_true (vd_rules_role_may_write ("clinic_admin", &vets_only));
  g_assert_false (vd_rules_role_may_write ("technician", &vets_only));
  g_assert_false (vd_rules_role_may_write ("front_desk", &vets_only));
  g_assert_false (vd_rules_role_may_write ("groomer", &vets_only));

  /* Nobody on a desk writes a server-owned table, whatever its writers say. */
  vets_only.server_owned = TRUE;
  g_assert_false (vd_rules_role_may_write ("veterinarian", &vets_only));
  g_assert_false (vd_rules_role_may_write ("clinic_admin", &vets_only));
}

/* ---- Labels ---- */

static void
test_labels_every_value (void)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);
  guint n_enums = 0;

  for (guint t = 0; t < n_tables; t++)
    for (guint c = 0; c < tables[t].n_columns; c++)
      {
        const VdColumn *column = &tables[t].columns[c];
        const char * const *values = vd_enum_values (tables[t].name, column->name);
        g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

        if (column->type != VD_TYPE_ENUM)
          {
            g_assert_null (values);
            continue;
          }
        n_enums++;
        g_assert_true (values == column->enum_values);
        g_assert_nonnull (column->enum_labels);
        for (guint i = 0; values[i] != NULL; i++)
          {
            const char *label = vd_enum_label (tables[t].name, column->name, values[i]);

            /* A label for a person, not the code, and no two alike in one column. */
            g_assert_nonnull (label);
            g_assert_cmpstr (label, !=, "");
            g_assert_cmpstr (label, !=, values[i]);
            g_assert_false (g_hash_table_contains (seen, label));
            g_hash_table_add (seen, (gpointer) label);
            g_assert_cmpstr (vd_column_enum_label (column, values[i]), ==, label);
          }
        /* Exactly one label per value: the label list ends where the values do. */
        g_assert_null (column->enum_labels[g_strv_length ((char **) values)]);
      }
  g_assert_cmpuint (n_enums, ==, 6);

  g_assert_cmpstr (vd_enum_label ("pets", "species", "dog"), ==, "Dog");
  g_assert_cmpstr (vd_enum_label ("appointments", "kind", "follow_up"), ==, "Follow-up");
  g_assert_cmpstr (vd_enum_label ("appointments", "status", "no_show"), ==, "No-show");
  g_assert_cmpstr (vd_enum_label ("staff", "role", "front_desk"), ==, "Front desk");
  g_assert_cmpstr (vd_enum_label ("conflicts", "kind", "double_booking"), ==, "Double booking");
  g_assert_null (vd_enum_values ("pets", "name"));
  g_assert_null (vd_enum_values ("pets", "no_such_column"));
  g_assert_null (vd_enum_values ("no_such_table", "kind"));
}

static void
test_labels_fallback (void)
{
  /* A value this build does not know reads as the column's "other", else "unknown". */
  g_assert_cmpstr (vd_enum_label ("pets", "species", "hamster"), ==, "Other");
  g_assert_cmpstr (vd_enum_label ("pets", "species", NULL), ==, "Other");
  g_assert_cmpstr (vd_enum_label ("appointments", "kind", ""), ==, "Other");
  g_assert_cmpstr (vd_enum_label ("pets", "sex", "hermaphrodite"), ==, "Unknown");
  /* Else as itself, and NULL as nothing. */
  g_assert_cmpstr (vd_enum_label ("appointments", "status", "boarding"), ==, "boarding");
  g_assert_cmpstr (vd_enum_label ("appointments", "status", NULL), ==, "");
  g_assert_cmpstr (vd_enum_label ("staff", "role", NULL), ==, "");
  /* A column that is no enum gives its value back. */
  g_assert_cmpstr (vd_column_enum_label (column_of ("pets", "name"), "Rex"), ==, "Rex");
}

/* With the build's Spanish catalogue: labels are translated in their context ("Dog" is
 * only in the catalogue as a species). */
static void
test_labels_translated (void)
{
  g_autofree char *mo = g_test_build_filename (G_TEST_BUILT, "..", "po", "es", "LC_MESSAGES",
                                               GETTEXT_PACKAGE ".mo", NULL);
  g_autofree char *locale_dir = g_test_build_filename (G_TEST_BUILT, "..", "po", NULL);

  if (!g_file_test (mo, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("The Spanish catalogue is not built (po/es/LC_MESSAGES/vetdesk.mo)");
      return;
    }
  /* gettext ignores LANGUAGE under the plain C locale. */
  if (setlocale (LC_ALL, "C.UTF-8") == NULL)
    {
      g_test_skip ("No C.UTF-8 locale");
      return;
    }
  g_setenv ("LANGUAGE", "es", TRUE);
  bindtextdomain (GETTEXT_PACKAGE, locale_dir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");

  g_assert_cmpstr (vd_enum_label ("pets", "species", "dog"), ==, "Perro");
  g_assert_cmpstr (vd_enum_label ("pets", "sex", "male"), ==, "Macho");
  g_assert_cmpstr (vd_enum_label ("staff", "role", "veterinarian"), ==, "Veterinario/a");
  g_assert_cmpstr (vd_enum_label ("appointments", "status", "no_show"), ==, "No presentada");
  g_assert_cmpstr (vd_enum_label ("appointments", "kind", "follow_up"), ==, "Revisión");

  g_setenv ("LANGUAGE", "C", TRUE);
  setlocale (LC_ALL, "C");
}

int
main (int    argc,
      char **argv)
{
  g_setenv ("LANGUAGE", "C", TRUE);
  setlocale (LC_ALL, "C");
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/rules/active-statuses", test_active_statuses);
  g_test_add_func ("/rules/next-statuses", test_next_statuses);
  g_test_add_func ("/rules/appointment-times", test_appointment_times);
  g_test_add_func ("/rules/bookable-roles", test_bookable_roles);
  g_test_add_func ("/rules/missing-required", test_missing_required);
  g_test_add_func ("/rules/bool-defaults", test_bool_defaults);
  g_test_add_func ("/rules/write-once", test_write_once);
  g_test_add_func ("/rules/clinic-roles", test_clinic_roles);
  g_test_add_func ("/rules/roles-per-table", test_roles_per_table);
  g_test_add_func ("/labels/every-value", test_labels_every_value);
  g_test_add_func ("/labels/fallback", test_labels_fallback);
  g_test_add_func ("/labels/translated", test_labels_translated);

  return g_test_run ();
}
