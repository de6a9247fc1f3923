/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-demo.c — `load-demo` against a real SQLite store: the seed's exact counts, rows a
 * clinic would believe (opening hours in each clinic's zone across DST, statuses, owners,
 * roles), the server-opened double-booking conflicts, demo users, refusal and determinism. */
#define G_LOG_DOMAIN "test-demo"

#include "config.h"

#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

#include "vds-demo.h"
#include "vds-store.h"

#include "vd-protocol.h"
#include "vd-time.h"

/* The seed system's figures (ARCHITECTURE §1) and the companies the brief gives them. */
typedef struct
{
  const char *name;
  const char *company;
  const char *timezone;
  const char *phone_prefix;
  gint64      clients;
  gint64      pets;
  gint64      appointments;
  gint64      staff;
} Expected;

static const Expected expected[] = {
  { "Hospital Veterinario Norte", "Grupo Veterinario Norte", "Europe/Madrid", "+34 ",
    16, 24, 356, 14 },
  { "Pet Spa Deluxe", "Pet Spa Group", "Europe/Madrid", "+34 ", 26, 55, 351, 14 },
  { "Clínica Veterinaria Centro", "Grupo Veterinario Norte", "Europe/Madrid", "+34 ",
    16, 24, 351, 14 },
  { "Vetgroom1", "VetGroom S.L.", "Europe/Madrid", "+34 ", 108, 216, 129, 7 },
  { "VetGroom Central", "VetGroom S.L.", "America/Mexico_City", "+52 ", 10, 12, 8, 4 },
};

/* Days around "now" that span a daylight-saving change in Madrid (Mexico City has none
 * since 2022), so a UTC/local mistake in the opening hours shows. */
#define SPRING_DST_NOW 1711535400   /* 2024-03-27T10:30:00Z, DST starts 2024-03-31 */
#define AUTUMN_DST_NOW 1729701900   /* 2024-10-23T16:45:00Z, DST ends 2024-10-27 */

/* ---------------------------------------------------------------------------------- */
/* Stores on temporary files, a settable clock, captured output */

typedef struct
{
  char     *dir;
  VdsStore *store;
  gint64    wall_ms;
} TestStore;

static gint64
fixed_wall (gpointer data)
{
  return *(gint64 *) data;
}

static TestStore *
test_store_new (gint64 fixed_unix)
{
  TestStore *ts = g_new0 (TestStore, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;

  ts->dir = g_dir_make_tmp ("vd-demo-XXXXXX", &error);
  g_assert_no_error (error);
  uri = g_strdup_printf ("sqlite:%s/syncd.db", ts->dir);
  ts->store = vds_store_open (uri, 2, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ts->store);
  if (fixed_unix != 0)
    {
      ts->wall_ms = fixed_unix * 1000;
      vds_store_set_wall_clock (ts->store, fixed_wall, &ts->wall_ms);
    }
  return ts;
}

static void
test_store_free (TestStore *ts)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  vds_store_free (ts->store);
  dir = g_dir_open (ts->dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (ts->dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (ts->dir);
  g_free (ts->dir);
  g_free (ts);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestStore, test_store_free)

static GString *printed;

static void
capture_print (const char *text)
{
  g_string_append (printed, text);
}

/* Loads the demo with its stdout captured (TAP owns the real stdout). */
static gboolean
load_demo (VdsStore  *store,
           char     **out_printed,
           GError   **error)
{
  GPrintFunc old;
  gboolean ok;

  printed = g_string_new (NULL);
  old = g_set_print_handler (capture_print);
  ok = vds_demo_load (store, error);
  g_set_print_handler (old);
  if (out_printed != NULL)
    *out_printed = g_string_free (g_steal_pointer (&printed), FALSE);
  else
    g_string_free (g_steal_pointer (&printed), TRUE);
  return ok;
}

/* ---------------------------------------------------------------------------------- */
/* A clinic's rows, rebuilt from a full pull */

typedef struct
{
  const VdTable *table;
  char           id[VD_UUID_LEN + 1];
  VdValue       *values;
  VdHlc         *hlcs;
  gboolean      *present;
} Row;

static void
row_free (Row *row)
{
  for (guint i = 0; i < row->table->n_columns; i++)
    vd_value_clear (&row->values[i]);
  g_free (row->values);
  g_free (row->hlcs);
  g_free (row->present);
  g_free (row);
}

typedef struct
{
  GPtrArray  *changes;   /* of VdChange, as pulled */
  GHashTable *rows;      /* "table/id" → Row */
  GHashTable *by_table;  /* table name → GPtrArray of Row (borrowed) */
} Pulled;

static void
pulled_free (Pulled *pulled)
{
  g_ptr_array_unref (pulled->changes);
  g_hash_table_unref (pulled->by_table);
  g_hash_table_unref (pulled->rows);
  g_free (pulled);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pulled, pulled_free)

static Pulled *
pull_all (VdsStore   *store,
          const char *tenant_id)
{
  Pulled *pulled = g_new0 (Pulled, 1);
  gint64 cursor = 0;
  gboolean more = TRUE;

  pulled->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  pulled->rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) row_free);
  pulled->by_table = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                            (GDestroyNotify) g_ptr_array_unref);

  while (more)
    {
      g_autoptr(GError) error = NULL;
      GPtrArray *page = NULL;
      gint64 next = 0;

      g_assert_true (vds_store_pull (store, tenant_id, cursor, VD_PROTOCOL_PULL_MAX, &page,
                                     &next, &more, &error));
      g_assert_no_error (error);
      g_assert_nonnull (page);
      g_assert_cmpint (next, >=, cursor);
      if (more)
        g_assert_cmpint (next, >, cursor);
      cursor = next;
      g_ptr_array_extend_and_steal (pulled->changes, page);
    }

  for (guint i = 0; i < pulled->changes->len; i++)
    {
      const VdChange *change = g_ptr_array_index (pulled->changes, i);
      g_autofree char *key = g_strdup_printf ("%s/%s", change->table->name, change->id);
      Row *row = g_hash_table_lookup (pulled->rows, key);

      if (row == NULL)
        {
          GPtrArray *list = g_hash_table_lookup (pulled->by_table, change->table->name);

          row = g_new0 (Row, 1);
          row->table = change->table;
          memcpy (row->id, change->id, sizeof row->id);
          row->values = g_new0 (VdValue, change->table->n_columns);
          row->hlcs = g_new0 (VdHlc, change->table->n_columns);
          row->present = g_new0 (gboolean, change->table->n_columns);
          g_hash_table_insert (pulled->rows, g_steal_pointer (&key), row);
          if (list == NULL)
            {
              list = g_ptr_array_new ();
              g_hash_table_insert (pulled->by_table, (gpointer) change->table->name, list);
            }
          g_ptr_array_add (list, row);
        }

      for (guint c = 0; c < change->cells->len; c++)
        {
          const VdCell *cell = &g_array_index (change->cells, VdCell, c);
          guint index = cell->column->index;

          if (row->present[index] && row->hlcs[index] > change->hlc)
            continue;
          vd_value_clear (&row->values[index]);
          vd_value_copy (&cell->value, &row->values[index]);
          row->hlcs[index] = change->hlc;
          row->present[index] = TRUE;
        }
    }

  return pulled;
}

static GPtrArray *
rows_of (Pulled     *pulled,
         const char *table)
{
  GPtrArray *list = g_hash_table_lookup (pulled->by_table, table);

  if (list == NULL)
    {
      list = g_ptr_array_new ();
      g_hash_table_insert (pulled->by_table, (gpointer) vd_schema_lookup_table (table)->name,
                           list);
    }
  return list;
}

static Row *
find_row (Pulled     *pulled,
          const char *table,
          const char *id)
{
  g_autofree char *key = g_strdup_printf ("%s/%s", table, id);

  return g_hash_table_lookup (pulled->rows, key);
}

static const VdValue *
row_value (const Row  *row,
           const char *column)
{
  const VdColumn *col = vd_table_lookup_column (row->table, column);
  static const VdValue null_value = { VD_VALUE_NULL, { 0 } };

  g_assert_nonnull (col);
  return row->present[col->index] ? &row->values[col->index] : &null_value;
}

static const char *
row_text (const Row  *row,
          const char *column)
{
  const VdValue *value = row_value (row, column);

  return value->kind == VD_VALUE_TEXT ? value->s : NULL;
}

static gboolean
row_bool (const Row  *row,
          const char *column)
{
  const VdValue *value = row_value (row, column);

  g_assert_cmpint (value->kind, ==, VD_VALUE_BOOL);
  return value->b;
}

static gint64
row_time (const Row  *row,
          const char *column)
{
  g_autoptr(GError) error = NULL;
  gint64 t = 0;

  g_assert_nonnull (row_text (row, column));
  g_assert_true (vd_time_parse_utc (row_text (row, column), &t, &error));
  g_assert_no_error (error);
  return t;
}

static guint
count_live (GPtrArray *rows)
{
  guint n = 0;

  for (guint i = 0; i < rows->len; i++)
    if (!row_bool (g_ptr_array_index (rows, i), "deleted"))
      n++;
  return n;
}

/* ---------------------------------------------------------------------------------- */
/* What a loaded demo must look like */

static const Expected *
expected_for (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    if (g_strcmp0 (expected[i].name, name) == 0)
      return &expected[i];
  return NULL;
}

static GPtrArray *
admin_tenants (VdsStore *store)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *tenants = vds_store_admin_tenants (store, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (tenants);
  g_ptr_array_set_free_func (tenants, (GDestroyNotify) vds_tenant_stats_free);
  return tenants;
}

static gboolean
kind_suits_role (const char *kind,
                 const char *role)
{
  if (g_str_equal (kind, "grooming"))
    return g_str_equal (role, "groomer");
  if (g_str_equal (kind, "vaccination") || g_str_equal (kind, "other"))
    return g_str_equal (role, "veterinarian") || g_str_equal (role, "technician");
  return g_str_equal (role, "veterinarian");
}

/* Opening hours, stated here independently of the loader: Monday–Friday 09:00–20:00,
 * Saturday 10:00–14:00, Sunday closed, in the clinic's own zone. */
static void
assert_in_opening_hours (const char *clinic,
                         const char *id,
                         gint64      start,
                         gint64      end,
                         GTimeZone  *zone)
{
  g_autoptr(GDateTime) local = vd_time_to_zone (start, zone);
  int weekday = g_date_time_get_day_of_week (local);
  int y = g_date_time_get_year (local);
  int m = g_date_time_get_month (local);
  int d = g_date_time_get_day_of_month (local);
  int open_h = weekday == 6 ? 10 : 9;
  int close_h = weekday == 6 ? 14 : 20;
  gint64 open_at = vd_time_from_zone (zone, y, m, d, open_h, 0, 0);
  gint64 close_at = vd_time_from_zone (zone, y, m, d, close_h, 0, 0);

  if (weekday == 7 || start < open_at || end > close_at)
    {
      g_autofree char *text = g_date_time_format (local, "%A %F %T %Z");

      g_error ("%s: appointment %s starts %s local time, outside the opening hours",
               clinic, id, text);
    }
}

typedef struct
{
  gint64 before;   /* wall clock just before the load */
  gint64 after;    /* and just after: "now" of the load lies between */
} LoadTime;

/* Checks one clinic's pulled data; returns its open double-booking conflicts. */
static guint
check_clinic (VdsStore             *store,
              const VdsTenantStats *stats,
              const Expected       *want,
              LoadTime              when,
              const char          **inout_site)
{
  g_autoptr(Pulled) pulled = pull_all (store, stats->id);
  g_autoptr(GTimeZone) zone = NULL;
  g_autoptr(GHashTable) colors = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  GPtrArray *staff = rows_of (pulled, "staff");
  GPtrArray *clients = rows_of (pulled, "clients");
  GPtrArray *pets = rows_of (pulled, "pets");
  GPtrArray *appointments = rows_of (pulled, "appointments");
  GPtrArray *conflicts = rows_of (pulled, "conflicts");
  gint64 day_start, day_end;
  int y, m, d;
  guint pairs = 0;
  guint open_double = 0;

  zone = vd_time_zone_new (stats->timezone, &error);
  g_assert_no_error (error);

  /* The store's counts and the pulled rows agree with the seed. */
  g_assert_cmpuint (count_live (staff), ==, want->staff);
  g_assert_cmpuint (count_live (clients), ==, want->clients);
  g_assert_cmpuint (count_live (pets), ==, want->pets);
  g_assert_cmpuint (count_live (appointments), ==, want->appointments);

  /* Every clinic row comes from the one demo device; conflicts from the server. */
  for (guint i = 0; i < pulled->changes->len; i++)
    {
      const VdChange *change = g_ptr_array_index (pulled->changes, i);

      if (g_str_equal (change->table->name, "conflicts"))
        g_assert_cmpstr (change->site, ==, VD_SERVER_SITE);
      else if (*inout_site == NULL)
        *inout_site = g_intern_string (change->site);
      else
        g_assert_cmpstr (change->site, ==, *inout_site);
    }

  for (guint i = 0; i < staff->len; i++)
    {
      const Row *row = g_ptr_array_index (staff, i);
      const char *color = row_text (row, "color");

      g_assert_nonnull (color);
      g_assert_false (g_hash_table_contains (colors, color));
      g_hash_table_add (colors, (gpointer) color);
      g_assert_true (row_bool (row, "active"));
      g_assert_nonnull (strchr (row_text (row, "name"), ' '));
    }

  for (guint i = 0; i < clients->len; i++)
    {
      const Row *row = g_ptr_array_index (clients, i);
      const char *last = row_text (row, "last_name");

      /* Two surnames, and a phone number of the clinic's country. */
      g_assert_nonnull (last);
      g_assert_nonnull (strchr (last, ' '));
      g_assert_true (g_str_has_prefix (row_text (row, "phone"), want->phone_prefix));
    }

  for (guint i = 0; i < pets->len; i++)
    {
      const Row *row = g_ptr_array_index (pets, i);
      const Row *owner = find_row (pulled, "clients", row_text (row, "client_id"));
      const char *chip = row_text (row, "microchip");

      g_assert_nonnull (owner);
      g_assert_false (row_bool (owner, "deleted"));
      if (chip != NULL)
        g_assert_cmpuint (strlen (chip), ==, 15);
    }

  vd_time_today_bounds (zone, when.before, &day_start, &day_end, &y, &m, &d);

  for (guint i = 0; i < appointments->len; i++)
    {
      const Row *row = g_ptr_array_index (appointments, i);
      const Row *pet = find_row (pulled, "pets", row_text (row, "pet_id"));
      const Row *member = find_row (pulled, "staff", row_text (row, "staff_id"));
      const char *status = row_text (row, "status");
      const char *kind = row_text (row, "kind");
      gint64 start = row_time (row, "starts_at");
      gint64 end = row_time (row, "ends_at");

      g_assert_nonnull (pet);
      g_assert_nonnull (member);
      /* The pet belongs to the appointment's client. */
      g_assert_cmpstr (row_text (pet, "client_id"), ==, row_text (row, "client_id"));
      if (!kind_suits_role (kind, row_text (member, "role")))
        g_error ("%s: a %s appointment is with a %s", want->name, kind,
                 row_text (member, "role"));
      if (g_str_equal (kind, "grooming"))
        g_assert_true (g_str_equal (row_text (pet, "species"), "dog") ||
                       g_str_equal (row_text (pet, "species"), "cat"));

      g_assert_cmpint (end - start, >=, 15 * 60);
      g_assert_cmpint (end - start, <=, 60 * 60);
      assert_in_opening_hours (want->name, row->id, start, end, zone);
      /* The past three weeks and the coming two (a day of slack for DST days). */
      g_assert_cmpint (start, >=, day_start - 22 * 24 * 3600);
      g_assert_cmpint (start, <, day_end + 15 * 24 * 3600);

      if (end <= when.before)
        g_assert_true (g_strv_contains ((const char * const[]) { "completed", "no_show", "cancelled", NULL }, status));
      else if (start > when.after)
        g_assert_true (g_strv_contains ((const char * const[]) { "scheduled", "confirmed", NULL }, status));
      g_assert_false (row_bool (row, "allow_overlap"));
    }

  /* Overlapping appointments of one staff member: the deliberate double bookings. */
  for (guint i = 0; i < appointments->len; i++)
    for (guint j = i + 1; j < appointments->len; j++)
      {
        const Row *a = g_ptr_array_index (appointments, i);
        const Row *b = g_ptr_array_index (appointments, j);
        gboolean covered = FALSE;

        if (g_strcmp0 (row_text (a, "staff_id"), row_text (b, "staff_id")) != 0 ||
            !(row_time (a, "starts_at") < row_time (b, "ends_at") &&
              row_time (b, "starts_at") < row_time (a, "ends_at")))
          continue;
        pairs++;
        /* Double bookings are upcoming, so staff can still act on them. */
        g_assert_cmpint (row_time (a, "starts_at"), >, when.after);
        g_assert_true (g_strv_contains ((const char * const[]) { "scheduled", "confirmed", NULL }, row_text (a, "status")));
        g_assert_true (g_strv_contains ((const char * const[]) { "scheduled", "confirmed", NULL }, row_text (b, "status")));

        for (guint k = 0; k < conflicts->len; k++)
          {
            const Row *c = g_ptr_array_index (conflicts, k);
            const char *r1 = row_text (c, "row_id");
            const char *r2 = row_text (c, "other_row_id");

            if (g_str_equal (row_text (c, "kind"), "double_booking") &&
                row_text (c, "resolved_at") == NULL && !row_bool (c, "deleted") &&
                ((g_strcmp0 (r1, a->id) == 0 && g_strcmp0 (r2, b->id) == 0) ||
                 (g_strcmp0 (r1, b->id) == 0 && g_strcmp0 (r2, a->id) == 0)))
              covered = TRUE;
          }
        if (!covered)
          g_error ("%s: appointments %s and %s overlap but no conflict is open",
                   want->name, a->id, b->id);
      }

  for (guint k = 0; k < conflicts->len; k++)
    {
      const Row *c = g_ptr_array_index (conflicts, k);

      if (row_bool (c, "deleted") || row_text (c, "resolved_at") != NULL)
        continue;
      /* Nothing dangles in the demo: every open conflict is a double booking. */
      g_assert_cmpstr (row_text (c, "kind"), ==, "double_booking");
      g_assert_cmpstr (row_text (c, "table_name"), ==, "appointments");
      g_assert_nonnull (find_row (pulled, "appointments", row_text (c, "row_id")));
      open_double++;
    }

  /* A few per clinic with enough appointments, none by accident in the rest. */
  if (want->appointments >= 100)
    {
      g_assert_cmpuint (pairs, >=, 2);
      g_assert_cmpuint (pairs, <=, 3);
    }
  g_assert_cmpint (stats->open_conflicts, ==, open_double);

  return open_double;
}

static void
check_loaded (VdsStore *store,
              LoadTime  when)
{
  g_autoptr(GPtrArray) tenants = admin_tenants (store);
  g_autoptr(GHashTable) company_ids = g_hash_table_new (g_str_hash, g_str_equal);
  const char *site = NULL;
  guint with_conflicts = 0;

  g_assert_cmpuint (tenants->len, ==, G_N_ELEMENTS (expected));

  for (guint i = 0; i < tenants->len; i++)
    {
      const VdsTenantStats *stats = g_ptr_array_index (tenants, i);
      const Expected *want = expected_for (stats->name);
      g_autoptr(GError) error = NULL;
      g_autofree char *company_id = NULL;

      if (want == NULL)
        g_error ("unexpected clinic “%s”", stats->name);
      g_assert_cmpint (stats->clients, ==, want->clients);
      g_assert_cmpint (stats->pets, ==, want->pets);
      g_assert_cmpint (stats->appointments, ==, want->appointments);
      g_assert_cmpint (stats->staff, ==, want->staff);
      g_assert_cmpstr (stats->timezone, ==, want->timezone);

      company_id = vds_store_find_company_id (store, want->company, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (stats->company_id, ==, company_id);
      g_hash_table_add (company_ids, stats->company_id);

      if (check_clinic (store, stats, want, when, &site) > 0)
        with_conflicts++;
    }

  g_assert_cmpuint (g_hash_table_size (company_ids), ==, 3);
  g_assert_cmpuint (with_conflicts, >=, 3);
}

/* ---------------------------------------------------------------------------------- */
/* Users */

/* The printed list: one "  username role place" line per user. */
static void
check_users (VdsStore   *store,
             const char *output)
{
  g_auto(GStrv) lines = g_strsplit (output, "\n", -1);
  g_autoptr(GHashTable) clinic_roles = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                              g_free, NULL);
  g_autoptr(GHashTable) companies = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                           g_free, NULL);
  const char *found;
  guint platform_admins = 0;
  guint vets = 0;
  gboolean verified = FALSE;

  /* The password is shown once, not per user. */
  found = strstr (output, VDS_DEMO_PASSWORD);
  g_assert_nonnull (found);
  g_assert_null (strstr (found + 1, VDS_DEMO_PASSWORD));

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) words = NULL;
      g_autoptr(VdsUser) user = NULL;
      g_autoptr(GError) error = NULL;
      const char *role;

      if (!g_str_has_prefix (lines[i], "  "))
        continue;
      words = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      g_assert_nonnull (words[0]);
      user = vds_store_find_user (store, words[0], &error);
      g_assert_no_error (error);
      if (user == NULL)
        g_error ("the printed user “%s” is not in the store", words[0]);

      /* The hash is argon2id at 19 MiB and t=2, and the printed password opens it. */
      g_assert_true (g_str_has_prefix (user->password_hash, "$argon2id$"));
      g_assert_nonnull (strstr (user->password_hash, "m=19456,t=2"));
      if (!verified)
        {
          g_assert_cmpint (crypto_pwhash_str_verify (user->password_hash, VDS_DEMO_PASSWORD,
                                                     strlen (VDS_DEMO_PASSWORD)), ==, 0);
          verified = TRUE;
        }

      role = NULL;
      for (guint w = 1; words[w] != NULL && role == NULL; w++)
        if (words[w][0] != '\0')
          role = words[w];
      g_assert_nonnull (role);

      if (g_str_equal (role, "platform_admin"))
        {
          g_assert_cmpstr (user->platform_role, ==, "platform_admin");
          platform_admins++;
        }
      else if (g_str_equal (role, "company_admin"))
        {
          g_auto(GStrv) ids = vds_store_admin_company_ids (store, user->id, &error);

          g_assert_no_error (error);
          g_assert_cmpstr (user->platform_role, ==, "company_admin");
          g_assert_cmpuint (g_strv_length (ids), ==, 1);
          g_assert_false (g_hash_table_contains (companies, ids[0]));
          g_hash_table_add (companies, g_strdup (ids[0]));
        }
      else
        {
          g_autoptr(GPtrArray) tenants = vds_store_user_tenants (store, user->id, &error);
          const VdsTenant *tenant;

          g_assert_no_error (error);
          g_assert_cmpstr (user->platform_role, ==, "none");
          g_assert_cmpuint (tenants->len, ==, 1);
          tenant = g_ptr_array_index (tenants, 0);
          g_assert_cmpstr (tenant->role, ==, role);
          g_assert_nonnull (expected_for (tenant->name));
          g_hash_table_add (clinic_roles, g_strdup_printf ("%s/%s", tenant->name, role));
          if (g_str_equal (role, "veterinarian"))
            vets++;
        }
    }

  g_assert_cmpuint (platform_admins, ==, 1);
  g_assert_cmpuint (g_hash_table_size (companies), ==, 3);
  g_assert_cmpuint (vets, >=, 1);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autofree char *front = g_strdup_printf ("%s/front_desk", expected[i].name);
      g_autofree char *admin = g_strdup_printf ("%s/clinic_admin", expected[i].name);

      g_assert_true (g_hash_table_contains (clinic_roles, front));
      g_assert_true (g_hash_table_contains (clinic_roles, admin));
    }
}

/* The brief's names for Hospital Veterinario Norte's people. */
static void
check_norte_users (VdsStore *store)
{
  static const char * const names[][2] = {
    { "recepcion.norte", "front_desk" },
    { "admin.norte", "clinic_admin" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(VdsUser) user = vds_store_find_user (store, names[i][0], &error);
      g_autoptr(GPtrArray) tenants = NULL;
      const VdsTenant *tenant;

      g_assert_no_error (error);
      g_assert_nonnull (user);
      tenants = vds_store_user_tenants (store, user->id, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (tenants->len, ==, 1);
      tenant = g_ptr_array_index (tenants, 0);
      g_assert_cmpstr (tenant->name, ==, "Hospital Veterinario Norte");
      g_assert_cmpstr (tenant->role, ==, names[i][1]);
      g_assert_cmpstr (tenant->timezone, ==, "Europe/Madrid");
      g_assert_cmpstr (tenant->currency, ==, "EUR");
    }
}

/* ---------------------------------------------------------------------------------- */
/* Tests */

static void
load_and_check (gint64   fixed_unix,
                gboolean with_users)
{
  g_autoptr(TestStore) ts = test_store_new (fixed_unix);
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  LoadTime when;

  when.before = fixed_unix != 0 ? fixed_unix : g_get_real_time () / G_USEC_PER_SEC;
  g_assert_true (load_demo (ts->store, &output, &error));
  g_assert_no_error (error);
  when.after = fixed_unix != 0 ? fixed_unix : g_get_real_time () / G_USEC_PER_SEC + 1;

  check_loaded (ts->store, when);
  if (with_users)
    {
      check_users (ts->store, output);
      check_norte_users (ts->store);
    }
}

static void
test_load_spring (void)
{
  load_and_check (SPRING_DST_NOW, TRUE);
}

static void
test_load_autumn (void)
{
  load_and_check (AUTUMN_DST_NOW, FALSE);
}

static void
test_load_now (void)
{
  load_and_check (0, FALSE);
}

/* Stats that any write would move: counts, conflicts and each clinic's seq. */
static char *
store_fingerprint (VdsStore *store)
{
  g_autoptr(GPtrArray) tenants = admin_tenants (store);
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < tenants->len; i++)
    {
      const VdsTenantStats *s = g_ptr_array_index (tenants, i);

      g_string_append_printf (out, "%s %s %s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                              " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                              " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n",
                              s->id, s->slug, s->company_id, s->clients, s->pets,
                              s->appointments, s->staff, s->devices, s->open_conflicts,
                              s->seq);
    }
  return g_string_free (out, FALSE);
}

static void
test_twice (void)
{
  g_autoptr(TestStore) ts = test_store_new (SPRING_DST_NOW);
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *output = NULL;
  g_autoptr(VdsUser) user_before = NULL;
  g_autoptr(VdsUser) user_after = NULL;

  g_assert_true (load_demo (ts->store, NULL, &error));
  g_assert_no_error (error);
  before = store_fingerprint (ts->store);
  user_before = vds_store_find_user (ts->store, "recepcion.norte", &error);
  g_assert_no_error (error);
  g_assert_nonnull (user_before);

  g_assert_false (load_demo (ts->store, &output, &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_EXISTS);
  g_assert_cmpstr (error->message, ==, "The demo data is already loaded.");
  g_clear_error (&error);
  /* Nothing printed, nothing written. */
  g_assert_cmpstr (output, ==, "");
  after = store_fingerprint (ts->store);
  g_assert_cmpstr (after, ==, before);
  user_after = vds_store_find_user (ts->store, "recepcion.norte", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (user_after->id, ==, user_before->id);
  g_assert_cmpstr (user_after->password_hash, ==, user_before->password_hash);
}

/* A change as text. Conflict rows are the server's: their ids may be random, so they are
 * compared by content only. */
static char *
change_text (const VdChange *change)
{
  GString *out = g_string_new (change->table->name);
  gboolean server_row = g_str_equal (change->table->name, "conflicts");
  char hlc[VD_HLC_STRING_LEN + 1];

  vd_hlc_format (change->hlc, hlc);
  if (!server_row)
    g_string_append_printf (out, " %s %s %s seq=%" G_GINT64_FORMAT, change->id, hlc,
                            change->site, change->seq);
  for (guint c = 0; c < change->cells->len; c++)
    {
      const VdCell *cell = &g_array_index (change->cells, VdCell, c);

      g_string_append_printf (out, " %s=", cell->column->name);
      switch (cell->value.kind)
        {
        case VD_VALUE_NULL: g_string_append (out, "null"); break;
        case VD_VALUE_INT:  g_string_append_printf (out, "%" G_GINT64_FORMAT, cell->value.i); break;
        case VD_VALUE_REAL: g_string_append_printf (out, "%.17g", cell->value.r); break;
        case VD_VALUE_BOOL: g_string_append (out, cell->value.b ? "true" : "false"); break;
        case VD_VALUE_TEXT: g_string_append_printf (out, "“%s”", cell->value.s); break;
        default: g_assert_not_reached ();
        }
    }
  return g_string_free (out, FALSE);
}

static GPtrArray *
clinic_texts (VdsStore   *store,
              const char *slug,
              gboolean    server_rows)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tenant_id = vds_store_find_tenant_id (store, slug, &error);
  g_autoptr(Pulled) pulled = NULL;
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);

  g_assert_no_error (error);
  g_assert_nonnull (tenant_id);
  pulled = pull_all (store, tenant_id);
  for (guint i = 0; i < pulled->changes->len; i++)
    {
      const VdChange *change = g_ptr_array_index (pulled->changes, i);

      if (g_str_equal (change->table->name, "conflicts") == server_rows)
        g_ptr_array_add (texts, change_text (change));
    }
  return texts;
}

static int
compare_text_ptrs (gconstpointer a,
                   gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static void
test_deterministic (void)
{
  g_autoptr(TestStore) one = test_store_new (AUTUMN_DST_NOW);
  g_autoptr(TestStore) two = test_store_new (AUTUMN_DST_NOW);
  g_autoptr(GPtrArray) tenants = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (load_demo (one->store, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (load_demo (two->store, NULL, &error));
  g_assert_no_error (error);

  tenants = admin_tenants (one->store);
  g_assert_cmpuint (tenants->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < tenants->len; i++)
    {
      const VdsTenantStats *stats = g_ptr_array_index (tenants, i);

      for (int server_rows = 0; server_rows <= 1; server_rows++)
        {
          g_autoptr(GPtrArray) a = clinic_texts (one->store, stats->slug, server_rows);
          g_autoptr(GPtrArray) b = clinic_texts (two->store, stats->slug, server_rows);

          if (server_rows)
            {
              g_ptr_array_sort (a, compare_text_ptrs);
              g_ptr_array_sort (b, compare_text_ptrs);
            }
          else
            g_assert_cmpuint (a->len, >, 0);
          g_assert_cmpuint (a->len, ==, b->len);
          for (guint k = 0; k < a->len; k++)
            g_assert_cmpstr (g_ptr_array_index (a, k), ==, g_ptr_array_index (b, k));
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (sodium_init (), >=, 0);

  g_test_add_func ("/demo/load/spring-dst", test_load_spring);
  g_test_add_func ("/demo/load/autumn-dst", test_load_autumn);
  g_test_add_func ("/demo/load/now", test_load_now);
  g_test_add_func ("/demo/twice", test_twice);
  g_test_add_func ("/demo/deterministic", test_deterministic);

  return g_test_run ();
}
