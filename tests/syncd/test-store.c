/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-store.c — syncd's store against both engines: accounts and tokens, pushes and
 * pulls, replays, skew, clinic isolation, conflicts, monitoring and concurrent writers.
 * Every case runs on a temporary SQLite file and, when available, a fresh PostgreSQL db. */
#define G_LOG_DOMAIN "test-store"

#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <string.h>

#include "vd-cell-store.h"
#include "vd-change.h"
#include "vd-id.h"
#include "vd-protocol.h"
#include "vd-time.h"
#include "vds-db.h"
#include "vds-store.h"
#include "../vd-test-pg.h"

/* 2024-05-01T10:00:00Z: every case runs on this wall clock unless it moves it. */
#define WALL_MS G_GINT64_CONSTANT (1714557600000)

static VdTestPg *test_pg;

typedef struct
{
  gboolean   postgres;
  char      *dir;
  char      *uri;
  VdsStore  *store;
  gint64     wall_ms;
  guint      counter;      /* hlc counter within the fixed wall ms */
  char      *site;         /* this desk's device id */
  gint64     batch;
  char      *company_id;
  char      *tenant_id;

  /* A desk's replica, pulled into incrementally. */
  sqlite3     *replica_db;
  VdCellStore *replica;
  gint64       cursor;
} Fixture;

static gint64
fixture_wall (gpointer data)
{
  Fixture *f = data;

  return f->wall_ms;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const char *name = data;

  f->postgres = g_str_has_prefix (name, "pg_");
  if (f->postgres)
    {
      f->uri = vd_test_pg_create_db (test_pg, name);
    }
  else
    {
      f->dir = g_dir_make_tmp ("test-store-XXXXXX", &error);
      g_assert_no_error (error);
      f->uri = g_strdup_printf ("sqlite:%s/syncd.db", f->dir);
    }

  f->store = vds_store_open (f->uri, 4, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->store);
  g_assert_cmpint (vds_store_is_postgres (f->store), ==, f->postgres);

  f->wall_ms = WALL_MS;
  vds_store_set_wall_clock (f->store, fixture_wall, f);
  f->site = vd_uuid_new ();

  vds_store_add_company (f->store, "Norte Group", &f->company_id, &error);
  g_assert_no_error (error);
  vds_store_add_tenant (f->store, "norte", "Hospital Veterinario Norte", "Europe/Madrid", "EUR",
                        f->company_id, &f->tenant_id, &error);
  g_assert_no_error (error);

  g_assert_cmpint (sqlite3_open (":memory:", &f->replica_db), ==, SQLITE_OK);
  f->replica = vd_cell_store_new (f->replica_db, f->tenant_id, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_pointer (&f->replica, vd_cell_store_free);
  sqlite3_close (f->replica_db);
  vds_store_free (f->store);
  if (f->dir != NULL)
    {
      g_autofree char *db = g_build_filename (f->dir, "syncd.db", NULL);
      g_autofree char *wal = g_strconcat (db, "-wal", NULL);
      g_autofree char *shm = g_strconcat (db, "-shm", NULL);

      g_unlink (db);
      g_unlink (wal);
      g_unlink (shm);
      g_rmdir (f->dir);
    }
  g_free (f->dir);
  g_free (f->uri);
  g_free (f->site);
  g_free (f->company_id);
  g_free (f->tenant_id);
}

/* ---- Building changes -------------------------------------------------------------- */

static VdChange *
change_new (Fixture    *f,
            const char *table,
            const char *id)
{
  const VdTable *t = vd_schema_lookup_table (table);

  g_assert_nonnull (t);
  return vd_change_new (t, id, vd_hlc_make (f->wall_ms, ++f->counter), f->site);
}

static void
put_text (VdChange   *change,
          const char *column,
          const char *text)
{
  VdValue value = { VD_VALUE_NULL };
  const VdColumn *col = vd_table_lookup_column (change->table, column);

  g_assert_nonnull (col);
  if (text != NULL)
    vd_value_set_text (&value, text);
  vd_change_take_cell (change, col, &value);
}

static void
put_bool (VdChange   *change,
          const char *column,
          gboolean    b)
{
  VdValue value = { VD_VALUE_NULL };

  vd_value_set_bool (&value, b);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static void
put_real (VdChange   *change,
          const char *column,
          double      r)
{
  VdValue value = { VD_VALUE_NULL };

  vd_value_set_real (&value, r);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static VdChange *
staff_change (Fixture    *f,
              const char *id,
              const char *name)
{
  VdChange *c = change_new (f, "staff", id);

  put_text (c, "name", name);
  put_text (c, "role", "veterinarian");
  put_bool (c, "active", TRUE);
  return c;
}

static VdChange *
client_change (Fixture    *f,
               const char *id,
               const char *first,
               const char *last)
{
  VdChange *c = change_new (f, "clients", id);

  put_text (c, "first_name", first);
  put_text (c, "last_name", last);
  return c;
}

static VdChange *
pet_change (Fixture    *f,
            const char *id,
            const char *client_id,
            const char *name)
{
  VdChange *c = change_new (f, "pets", id);

  put_text (c, "client_id", client_id);
  put_text (c, "name", name);
  put_text (c, "species", "dog");
  put_text (c, "sex", "male");
  put_bool (c, "neutered", FALSE);
  put_text (c, "birth_date", "2019-03-04");
  put_real (c, "weight_kg", 12.5);
  put_bool (c, "deceased", FALSE);
  return c;
}

static VdChange *
appointment_change (Fixture    *f,
                    const char *id,
                    const char *pet_id,
                    const char *client_id,
                    const char *staff_id,
                    const char *starts_at,
                    const char *ends_at)
{
  VdChange *c = change_new (f, "appointments", id);

  put_text (c, "pet_id", pet_id);
  put_text (c, "client_id", client_id);
  put_text (c, "staff_id", staff_id);
  put_text (c, "kind", "consultation");
  put_text (c, "starts_at", starts_at);
  put_text (c, "ends_at", ends_at);
  put_text (c, "status", "scheduled");
  put_bool (c, "allow_overlap", FALSE);
  return c;
}

static GPtrArray *
changes_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
}

/* ---- Push and pull ----------------------------------------------------------------- */

/* Pushes through the real codec (encode, then decode as the server does). */
static char *
push_as (Fixture     *f,
         const char  *tenant_id,
         const char  *device_id,
         gint64       batch_id,
         GPtrArray   *changes,
         GError     **error)
{
  g_autoptr(VdPushRequest) req = NULL;
  g_autofree char *body = NULL;
  char *answer = NULL;
  gsize len = 0;

  body = vd_push_request_encode (device_id, batch_id, changes, &len);
  req = vd_push_request_decode (body, len, error);
  g_assert_nonnull (req);
  if (!vds_store_push (f->store, tenant_id, req, &answer, error))
    return NULL;
  return answer;
}

static JsonObject *
parse_answer (const char *answer)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, answer, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* Pushes the next batch of this desk and checks the answer's shape. */
static JsonObject *
push_ok (Fixture   *f,
         GPtrArray *changes)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *answer = push_as (f, f->tenant_id, f->site, ++f->batch, changes, &error);
  JsonObject *object;

  g_assert_no_error (error);
  object = parse_answer (answer);
  g_assert_cmpint (json_object_get_int_member (object, "batch_id"), ==, f->batch);
  g_assert_cmpuint (strlen (json_object_get_string_member (object, "server_hlc")), ==, 16);
  return object;
}

static void
assert_all_accepted (JsonObject *answer,
                     guint       n)
{
  g_assert_cmpint (json_object_get_int_member (answer, "accepted"), ==, n);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (answer, "rejected")), ==, 0);
}

static gint64
tenant_seq (Fixture    *f,
            const char *tenant_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) stats = vds_store_admin_tenants (f->store, NULL, &error);
  gint64 seq = -1;

  g_assert_no_error (error);
  for (guint i = 0; i < stats->len; i++)
    {
      VdsTenantStats *s = g_ptr_array_index (stats, i);

      if (g_strcmp0 (s->id, tenant_id) == 0)
        seq = s->seq;
    }
  g_assert_cmpint (seq, >=, 0);
  return seq;
}

/* Pulls everything after *cursor into replica, page by page; returns the pages. */
static guint
pull_into (Fixture     *f,
           const char  *tenant_id,
           VdCellStore *replica,
           gint64      *cursor,
           guint        limit,
           GHashTable  *row_counts)
{
  guint pages = 0;
  gboolean more = TRUE;

  while (more)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) changes = NULL;
      g_autoptr(GHashTable) rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      gint64 next = -1;

      g_assert_true (vds_store_pull (f->store, tenant_id, *cursor, limit, &changes, &next,
                                     &more, &error));
      g_assert_no_error (error);
      pages++;

      for (guint i = 0; i < changes->len; i++)
        {
          VdChange *change = g_ptr_array_index (changes, i);
          g_autofree char *key = g_strdup_printf ("%s/%s", change->table->name, change->id);

          /* Seqs only grow within a page, and stay within the page's cursors. */
          g_assert_cmpint (change->seq, >, *cursor);
          g_assert_cmpint (change->seq, <=, next);
          g_assert_true (vd_cell_store_apply (replica, change, NULL, &error));
          g_assert_no_error (error);
          if (!g_hash_table_contains (rows, key))
            {
              g_hash_table_add (rows, g_strdup (key));
              if (row_counts != NULL)
                g_hash_table_insert (row_counts, g_strdup (key),
                                     GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (row_counts, key)) + 1));
            }
        }
      /* A page holds at most limit changes, unless one row alone is larger. */
      g_assert_true (changes->len <= limit || g_hash_table_size (rows) == 1);
      if (more)
        g_assert_cmpint (next, >, *cursor);
      else
        g_assert_cmpint (next, >=, *cursor);
      *cursor = next;
    }
  return pages;
}

static void
sync_replica (Fixture *f)
{
  pull_into (f, f->tenant_id, f->replica, &f->cursor, 1000, NULL);
}

/* A column of a replica row as text (or NULL); the row must exist. */
static char *
replica_text (VdCellStore *replica,
              const char  *table,
              const char  *id,
              const char  *column)
{
  g_autoptr(GError) error = NULL;
  const VdTable *t = vd_schema_lookup_table (table);
  VdValue *values = g_new0 (VdValue, t->n_columns);
  VdCellClock *clocks = g_new0 (VdCellClock, t->n_columns);
  const VdColumn *col = vd_table_lookup_column (t, column);
  gint64 seq = 0;
  char *out = NULL;
  gboolean found;

  found = vd_cell_store_get_row (replica, t, id, values, clocks, &seq, &error);
  g_assert_no_error (error);
  if (!found)
    g_error ("row %s/%s is missing from the replica", table, id);

  switch (values[col->index].kind)
    {
    case VD_VALUE_TEXT:
      out = g_strdup (values[col->index].s);
      break;
    case VD_VALUE_BOOL:
      out = g_strdup (values[col->index].b ? "true" : "false");
      break;
    case VD_VALUE_INT:
      out = g_strdup_printf ("%" G_GINT64_FORMAT, values[col->index].i);
      break;
    case VD_VALUE_REAL:
      out = g_strdup_printf ("%g", values[col->index].r);
      break;
    case VD_VALUE_NULL:
    default:
      break;
    }

  for (guint c = 0; c < t->n_columns; c++)
    vd_value_clear (&values[c]);
  g_free (values);
  g_free (clocks);
  return out;
}

static gboolean
replica_has (VdCellStore *replica,
             const char  *table,
             const char  *id)
{
  const VdTable *t = vd_schema_lookup_table (table);
  VdValue *values = g_new0 (VdValue, t->n_columns);
  VdCellClock *clocks = g_new0 (VdCellClock, t->n_columns);
  gint64 seq = 0;
  gboolean found;

  found = vd_cell_store_get_row (replica, t, id, values, clocks, &seq, NULL);
  for (guint c = 0; c < t->n_columns; c++)
    vd_value_clear (&values[c]);
  g_free (values);
  g_free (clocks);
  return found;
}

#define assert_replica_text(f, table, id, column, expected) \
  G_STMT_START { \
    g_autofree char *got_ = replica_text ((f)->replica, table, id, column); \
    g_assert_cmpstr (got_, ==, expected); \
  } G_STMT_END

static gint64
count_rows (sqlite3    *db,
            const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 n;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return n;
}

/* ---- Cases: schema and people ------------------------------------------------------ */

static void
test_migrations (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *found = NULL;
  VdsStore *again;
  guint version = vds_store_get_schema_version (f->store);

  g_assert_cmpuint (version, >=, 1);

  /* A second open (another syncd on the same database) applies nothing and sees the
   * data of the first. */
  again = vds_store_open (f->uri, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vds_store_get_schema_version (again), ==, version);
  found = vds_store_find_tenant_id (again, "norte", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, f->tenant_id);
  vds_store_free (again);

  vds_store_free (f->store);
  f->store = vds_store_open (f->uri, 4, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vds_store_get_schema_version (f->store), ==, version);
  vds_store_set_wall_clock (f->store, fixture_wall, f);
}

static void
test_people (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tenant_b = NULL;
  g_autofree char *user_id = NULL;
  g_autofree char *admin_id = NULL;
  g_autofree char *role = NULL;
  g_autofree char *by_slug = NULL;
  g_autofree char *by_name = NULL;
  g_autofree char *none = NULL;
  g_autoptr(GPtrArray) tenants = NULL;
  g_autoptr(VdsUser) user = NULL;
  g_autoptr(VdsTenant) tenant = NULL;
  g_auto(GStrv) companies = NULL;

  /* Duplicates of unique names. */
  g_assert_false (vds_store_add_company (f->store, "Norte Group", NULL, &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (vds_store_add_tenant (f->store, "norte", "Other", "Europe/Madrid", "EUR",
                                        f->company_id, NULL, &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_EXISTS);
  g_clear_error (&error);

  /* Bad clinic settings, each refused with a sentence. */
  g_assert_false (vds_store_add_tenant (f->store, "centro", "Centro", "Mars/Olympus", "EUR",
                                        f->company_id, NULL, &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "Mars/Olympus"));
  g_clear_error (&error);
  g_assert_false (vds_store_add_tenant (f->store, "centro", "Centro", "Europe/Madrid", "eur",
                                        f->company_id, NULL, &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vds_store_add_tenant (f->store, "Centro!", "Centro", "Europe/Madrid", "EUR",
                                        f->company_id, NULL, &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (vds_store_add_tenant (f->store, "centro", "Centro", "Europe/Madrid", "EUR",
                                        "6b1e0a36-64f5-4b8e-9f0e-4f1d2a7f3c11", NULL, &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (vds_store_add_tenant (f->store, "centro", "Clínica Veterinaria Centro",
                                       "America/Mexico_City", "MXN", f->company_id, &tenant_b,
                                       &error));
  g_assert_no_error (error);

  g_assert_true (vds_store_add_user (f->store, "ana", "Ana Ruiz", "$argon2id$fake", "none",
                                     &user_id, &error));
  g_assert_no_error (error);
  g_assert_false (vds_store_add_user (f->store, "ana", "Ana Two", "$argon2id$fake", "none",
                                      NULL, &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (vds_store_add_user (f->store, "bob", "Bob", "$argon2id$fake", "root",
                                      NULL, &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (vds_store_add_membership (f->store, user_id, f->tenant_id, "front_desk", &error));
  g_assert_no_error (error);
  g_assert_true (vds_store_add_membership (f->store, user_id, tenant_b, "veterinarian", &error));
  g_assert_no_error (error);
  g_assert_false (vds_store_add_membership (f->store, user_id, f->tenant_id, "groomer", &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (vds_store_add_membership (f->store, user_id, f->tenant_id, "boss", &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_INVALID);
  g_clear_error (&error);

  /* Ordered by name: "Clínica…" before "Hospital…". */
  tenants = vds_store_user_tenants (f->store, user_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tenants->len, ==, 2);
  g_assert_cmpstr (((VdsTenant *) tenants->pdata[0])->slug, ==, "centro");
  g_assert_cmpstr (((VdsTenant *) tenants->pdata[0])->role, ==, "veterinarian");
  g_assert_cmpstr (((VdsTenant *) tenants->pdata[0])->timezone, ==, "America/Mexico_City");
  g_assert_cmpstr (((VdsTenant *) tenants->pdata[1])->role, ==, "front_desk");
  g_assert_cmpstr (((VdsTenant *) tenants->pdata[1])->currency, ==, "EUR");
  g_assert_cmpstr (((VdsTenant *) tenants->pdata[1])->company_id, ==, f->company_id);

  role = vds_store_get_membership (f->store, user_id, tenant_b, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (role, ==, "veterinarian");

  user = vds_store_find_user (f->store, "ana", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (user->id, ==, user_id);
  g_assert_cmpstr (user->display_name, ==, "Ana Ruiz");
  g_assert_cmpstr (user->password_hash, ==, "$argon2id$fake");
  g_assert_null (vds_store_find_user (f->store, "nobody", &error));
  g_assert_no_error (error);

  by_slug = vds_store_find_tenant_id (f->store, "centro", &error);
  g_assert_cmpstr (by_slug, ==, tenant_b);
  by_name = vds_store_find_company_id (f->store, "Norte Group", &error);
  g_assert_cmpstr (by_name, ==, f->company_id);
  none = vds_store_find_tenant_id (f->store, "nowhere", &error);
  g_assert_no_error (error);
  g_assert_null (none);

  tenant = vds_store_get_tenant (f->store, tenant_b, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tenant->name, ==, "Clínica Veterinaria Centro");
  g_assert_null (vds_store_get_tenant (f->store, "not-a-uuid", &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (vds_store_add_user (f->store, "boss", "Boss", "$argon2id$fake", "company_admin",
                                     &admin_id, &error));
  g_assert_true (vds_store_add_company_admin (f->store, admin_id, f->company_id, &error));
  g_assert_no_error (error);
  companies = vds_store_admin_company_ids (f->store, admin_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (companies), ==, 1);
  g_assert_cmpstr (companies[0], ==, f->company_id);
}

typedef struct
{
  Fixture    *f;
  const char *user_id;
} FailData;

static gpointer
fail_thread (gpointer data)
{
  FailData *fd = data;

  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(GError) error = NULL;
      gint64 locked = -1;

      g_assert_true (vds_store_login_reserve (fd->f->store, fd->user_id, 3000, 100, 900,
                                              &locked, &error));
      g_assert_no_error (error);
      g_assert_cmpint (locked, ==, 0);
      g_assert_true (vds_store_login_failed (fd->f->store, fd->user_id, 3000, 100, 900,
                                             &locked, &error));
      g_assert_no_error (error);
      g_assert_cmpint (locked, ==, 0);
    }
  return NULL;
}

static void
test_login_failures (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *user_id = NULL;
  GThread *threads[4];
  FailData fd;
  gint64 locked = -1;

  g_assert_true (vds_store_add_user (f->store, "ana", "Ana", "$argon2id$fake", "none",
                                     &user_id, &error));

  for (guint i = 1; i <= 2; i++)
    {
      g_autoptr(VdsUser) user = NULL;

      g_assert_true (vds_store_login_reserve (f->store, user_id, 1000, 3, 900, &locked, &error));
      g_assert_cmpint (locked, ==, 0);
      g_assert_true (vds_store_login_failed (f->store, user_id, 1000, 3, 900, &locked, &error));
      g_assert_cmpint (locked, ==, 0);
      user = vds_store_get_user (f->store, user_id, &error);
      g_assert_cmpint (user->failed_logins, ==, i);
    }

  /* The third failure in a row locks for lock_seconds and starts counting again. */
  g_assert_true (vds_store_login_reserve (f->store, user_id, 1000, 3, 900, &locked, &error));
  g_assert_cmpint (locked, ==, 0);
  g_assert_true (vds_store_login_failed (f->store, user_id, 1000, 3, 900, &locked, &error));
  g_assert_cmpint (locked, ==, 1900);
  {
    g_autoptr(VdsUser) user = vds_store_find_user (f->store, "ana", &error);

    g_assert_cmpint (user->locked_until, ==, 1900);
    g_assert_cmpint (user->failed_logins, ==, 0);
  }
  /* Still locked a moment later: no attempt is reserved, and a success does not clear. */
  g_assert_true (vds_store_login_reserve (f->store, user_id, 1100, 3, 900, &locked, &error));
  g_assert_cmpint (locked, ==, 1900);
  g_assert_true (vds_store_login_succeeded (f->store, user_id, 1100, &locked, &error));
  g_assert_cmpint (locked, ==, 1900);

  /* Once the lock is over, a success resets the count. */
  g_assert_true (vds_store_login_reserve (f->store, user_id, 1900, 3, 900, &locked, &error));
  g_assert_cmpint (locked, ==, 0);
  g_assert_true (vds_store_login_succeeded (f->store, user_id, 1900, &locked, &error));
  g_assert_cmpint (locked, ==, 0);
  {
    g_autoptr(VdsUser) user = vds_store_get_user (f->store, user_id, &error);

    g_assert_cmpint (user->failed_logins, ==, 0);
  }

  /* Three attempts in flight take every place: the fourth is refused and locks. */
  for (guint i = 0; i < 3; i++)
    {
      g_assert_true (vds_store_login_reserve (f->store, user_id, 2000, 3, 900, &locked, &error));
      g_assert_cmpint (locked, ==, 0);
    }
  g_assert_true (vds_store_login_reserve (f->store, user_id, 2000, 3, 900, &locked, &error));
  g_assert_cmpint (locked, ==, 2900);
  g_assert_true (vds_store_login_succeeded (f->store, user_id, 2000, &locked, &error));
  g_assert_cmpint (locked, ==, 2900);

  /* Failures arriving together all count. */
  fd.f = f;
  fd.user_id = user_id;
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("fail", fail_thread, &fd);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  {
    g_autoptr(VdsUser) user = vds_store_get_user (f->store, user_id, &error);

    g_assert_cmpint (user->failed_logins, ==, 20);
  }

  g_assert_false (vds_store_login_reserve (f->store, "6b1e0a36-64f5-4b8e-9f0e-4f1d2a7f3c11",
                                           1000, 3, 900, &locked, &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (vds_store_login_failed (f->store, "6b1e0a36-64f5-4b8e-9f0e-4f1d2a7f3c11",
                                          1000, 3, 900, &locked, &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND);
}

static void
test_sessions (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *user_id = NULL;
  g_autofree char *session_id = NULL;
  g_autofree char *old_session = NULL;
  g_autoptr(VdsToken) access = NULL;
  g_autoptr(VdsToken) refresh = NULL;
  g_autoptr(VdsToken) spent = NULL;
  g_autoptr(VdsToken) rotated = NULL;
  g_autoptr(VdsToken) after = NULL;
  VdsRotateResult result;
  const gint64 now = 1000000;

  g_assert_true (vds_store_add_user (f->store, "ana", "Ana", "$argon2id$fake", "none",
                                     &user_id, &error));
  g_assert_true (vds_store_create_session (f->store, user_id, f->site, "Front desk PC", now,
                                           now + VD_PROTOCOL_SESSION_MAX_S, "a1", now + 900,
                                           "r1", now + 86400, &session_id, &error));
  g_assert_no_error (error);

  access = vds_store_lookup_token (f->store, "a1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (access->kind, ==, "access");
  g_assert_cmpstr (access->user_id, ==, user_id);
  g_assert_cmpstr (access->session_id, ==, session_id);
  g_assert_cmpstr (access->device_id, ==, f->site);
  g_assert_cmpint (access->expires_at, ==, now + 900);
  g_assert_cmpint (access->session_expires_at, ==, now + VD_PROTOCOL_SESSION_MAX_S);
  g_assert_false (access->session_revoked);
  refresh = vds_store_lookup_token (f->store, "r1", &error);
  g_assert_cmpstr (refresh->kind, ==, "refresh");
  g_assert_false (refresh->spent);
  g_assert_null (vds_store_lookup_token (f->store, "nope", &error));
  g_assert_no_error (error);

  /* An access token is not a refresh token. */
  g_assert_true (vds_store_rotate_refresh (f->store, "a1", now, "a2", now + 900, "r2",
                                           now + 86400, &result, NULL, &error));
  g_assert_cmpint (result, ==, VDS_ROTATE_UNKNOWN);

  g_assert_true (vds_store_rotate_refresh (f->store, "r1", now + 10, "a2", now + 910, "r2",
                                           now + 86410, &result, &rotated, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result, ==, VDS_ROTATE_OK);
  g_assert_cmpstr (rotated->session_id, ==, session_id);
  g_assert_cmpstr (rotated->user_id, ==, user_id);
  spent = vds_store_lookup_token (f->store, "r1", &error);
  g_assert_true (spent->spent);
  g_clear_pointer (&access, vds_token_free);
  access = vds_store_lookup_token (f->store, "a2", &error);
  g_assert_cmpstr (access->session_id, ==, session_id);
  g_assert_false (access->session_revoked);

  /* The spent token again: a replay, and the whole family ends with it. */
  g_assert_true (vds_store_rotate_refresh (f->store, "r1", now + 20, "a3", now + 920, "r3",
                                           now + 86420, &result, NULL, &error));
  g_assert_cmpint (result, ==, VDS_ROTATE_REPLAYED);
  after = vds_store_lookup_token (f->store, "a2", &error);
  g_assert_true (after->session_revoked);
  g_assert_null (vds_store_lookup_token (f->store, "a3", &error));
  g_assert_true (vds_store_rotate_refresh (f->store, "r2", now + 30, "a4", now + 930, "r4",
                                           now + 86430, &result, NULL, &error));
  g_assert_cmpint (result, ==, VDS_ROTATE_REVOKED);

  /* A session past its absolute limit cannot be refreshed. */
  old_session = NULL;
  g_assert_true (vds_store_create_session (f->store, user_id, f->site, NULL, now, now + 100,
                                           "a5", now + 100, "r5", now + 100, &old_session,
                                           &error));
  g_assert_true (vds_store_rotate_refresh (f->store, "r5", now + 200, "a6", now + 1100, "r6",
                                           now + 86600, &result, NULL, &error));
  g_assert_cmpint (result, ==, VDS_ROTATE_EXPIRED);
  g_assert_true (vds_store_rotate_refresh (f->store, "zz", now, "a7", now, "r7", now,
                                           &result, NULL, &error));
  g_assert_cmpint (result, ==, VDS_ROTATE_UNKNOWN);

  /* Logout. */
  g_assert_true (vds_store_revoke_session (f->store, old_session, &error));
  g_clear_pointer (&after, vds_token_free);
  after = vds_store_lookup_token (f->store, "a5", &error);
  g_assert_true (after->session_revoked);
}

/* A count over the store's own database, on a connection of the test's. */
static gint64
store_count (Fixture    *f,
             const char *sql)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsDb) db = vds_db_open (f->uri, &error);
  g_autoptr(VdsResult) result = NULL;

  g_assert_no_error (error);
  result = vds_db_query (db, sql, NULL, 0, &error);
  g_assert_no_error (error);
  return vds_result_get_int (result, 0, 0);
}

/* Expired tokens and ended sessions are removed; what is still in use stays, and a spent
 * refresh token of a live session is kept for replay detection. */
static void
test_prune_sessions (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *user_id = NULL;
  g_autofree char *live = NULL;
  g_autofree char *ended = NULL;
  g_autoptr(VdsToken) token = NULL;
  VdsRotateResult result;
  const gint64 now = 1000000;

  g_assert_true (vds_store_add_user (f->store, "ana", "Ana", "$argon2id$fake", "none",
                                     &user_id, &error));
  g_assert_true (vds_store_create_session (f->store, user_id, f->site, NULL, now,
                                           now + VD_PROTOCOL_SESSION_MAX_S, "a1", now + 900,
                                           "r1", now + VD_PROTOCOL_SESSION_MAX_S, &live, &error));
  g_assert_true (vds_store_rotate_refresh (f->store, "r1", now + 10, "a2", now + 5000, "r2",
                                           now + VD_PROTOCOL_SESSION_MAX_S, &result, NULL,
                                           &error));
  g_assert_cmpint (result, ==, VDS_ROTATE_OK);
  g_assert_true (vds_store_create_session (f->store, user_id, f->site, NULL, now, now + 100,
                                           "a3", now + 100, "r3", now + 100, &ended, &error));
  g_assert_no_error (error);

  /* An hour on: a1 and the whole ended session are past; a2 (valid until +5,000 s), the
   * live session's refresh tokens, spent r1 included, are not. */
  g_assert_true (vds_store_prune_sessions (f->store, now + 3600, &error));
  g_assert_no_error (error);
  g_assert_null (vds_store_lookup_token (f->store, "a1", &error));
  g_assert_null (vds_store_lookup_token (f->store, "a3", &error));
  g_assert_null (vds_store_lookup_token (f->store, "r3", &error));
  g_assert_no_error (error);
  token = vds_store_lookup_token (f->store, "a2", &error);
  g_assert_nonnull (token);
  g_assert_cmpstr (token->session_id, ==, live);
  g_clear_pointer (&token, vds_token_free);
  token = vds_store_lookup_token (f->store, "r1", &error);
  g_assert_nonnull (token);
  g_assert_true (token->spent);
  g_clear_pointer (&token, vds_token_free);
  g_assert_cmpint (store_count (f, "SELECT count(*) FROM sessions"), ==, 1);

  /* The replay of r1 is still caught: the family ends. */
  g_assert_true (vds_store_rotate_refresh (f->store, "r1", now + 3700, "a4", now + 4600, "r4",
                                           now + VD_PROTOCOL_SESSION_MAX_S, &result, NULL,
                                           &error));
  g_assert_cmpint (result, ==, VDS_ROTATE_REPLAYED);

  /* Past the live session's end, nothing is left. */
  g_assert_true (vds_store_prune_sessions (f->store, now + VD_PROTOCOL_SESSION_MAX_S + 1,
                                           &error));
  g_assert_cmpint (store_count (f, "SELECT count(*) FROM tokens"), ==, 0);
  g_assert_cmpint (store_count (f, "SELECT count(*) FROM sessions"), ==, 0);
}

/* ---- Cases: push and pull ---------------------------------------------------------- */

static void
test_push_pull (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GPtrArray) changes = changes_new ();
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(JsonObject) answer2 = NULL;
  g_autofree char *staff = vd_uuid_new ();
  g_autofree char *client = vd_uuid_new ();
  g_autofree char *pet = vd_uuid_new ();
  g_autofree char *appt = vd_uuid_new ();
  VdChange *c;

  g_ptr_array_add (changes, staff_change (f, staff, "Dra. López"));
  g_ptr_array_add (changes, client_change (f, client, "Ana", "Ruiz"));
  g_ptr_array_add (changes, pet_change (f, pet, client, "Rex"));
  g_ptr_array_add (changes, appointment_change (f, appt, pet, client, staff,
                                                "2024-05-02T09:00:00Z", "2024-05-02T09:30:00Z"));
  answer = push_ok (f, changes);
  assert_all_accepted (answer, 4);
  g_assert_cmpint (json_object_get_int_member (answer, "cursor"), ==, 4);
  g_assert_cmpint (tenant_seq (f, f->tenant_id), ==, 4);

  sync_replica (f);
  g_assert_cmpint (f->cursor, ==, 4);
  assert_replica_text (f, "staff", staff, "name", "Dra. López");
  assert_replica_text (f, "staff", staff, "active", "true");
  assert_replica_text (f, "pets", pet, "client_id", client);
  assert_replica_text (f, "pets", pet, "birth_date", "2019-03-04");
  assert_replica_text (f, "pets", pet, "weight_kg", "12.5");
  assert_replica_text (f, "pets", pet, "neutered", "false");
  assert_replica_text (f, "pets", pet, "breed", NULL);
  assert_replica_text (f, "appointments", appt, "starts_at", "2024-05-02T09:00:00Z");
  assert_replica_text (f, "appointments", appt, "staff_id", staff);

  /* An edit of one column reaches the replica; nothing else changes. */
  g_ptr_array_set_size (changes, 0);
  c = change_new (f, "pets", pet);
  put_real (c, "weight_kg", 13.25);
  g_ptr_array_add (changes, c);
  answer2 = push_ok (f, changes);
  assert_all_accepted (answer2, 1);
  g_assert_cmpint (json_object_get_int_member (answer2, "cursor"), ==, 5);
  sync_replica (f);
  g_assert_cmpint (f->cursor, ==, 5);
  assert_replica_text (f, "pets", pet, "weight_kg", "13.25");
  assert_replica_text (f, "pets", pet, "name", "Rex");
}

static void
test_pull_pages (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) changes = changes_new ();
  g_autoptr(JsonObject) answer = NULL;
  sqlite3 *db = NULL;
  g_autoptr(GError) error = NULL;
  VdCellStore *replica;
  gint64 cursor = 0;
  guint pages;

  for (guint i = 0; i < 25; i++)
    {
      g_autofree char *first = g_strdup_printf ("Client %u", i);

      g_ptr_array_add (ids, vd_uuid_new ());
      g_ptr_array_add (changes, client_change (f, ids->pdata[i], first, "Pérez"));
    }
  answer = push_ok (f, changes);
  assert_all_accepted (answer, 25);

  /* Later edits of early rows, each in a batch of its own: a row's older cells must not
   * be lost by a puller that pages past their seqs. */
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(GPtrArray) edit = changes_new ();
      g_autoptr(JsonObject) a = NULL;
      VdChange *c = change_new (f, "clients", ids->pdata[i * 2]);

      put_text (c, "notes", "Called back");
      g_ptr_array_add (edit, c);
      a = push_ok (f, edit);
      assert_all_accepted (a, 1);
    }

  g_assert_cmpint (sqlite3_open (":memory:", &db), ==, SQLITE_OK);
  replica = vd_cell_store_new (db, f->tenant_id, &error);
  g_assert_no_error (error);

  pages = pull_into (f, f->tenant_id, replica, &cursor, 3, counts);
  g_assert_cmpuint (pages, >=, 9);
  g_assert_cmpint (cursor, ==, tenant_seq (f, f->tenant_id));
  g_assert_cmpuint (g_hash_table_size (counts), ==, 25);

  {
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, counts);
    while (g_hash_table_iter_next (&iter, &key, &value))
      if (GPOINTER_TO_UINT (value) != 1)
        g_error ("%s came in %u pages", (char *) key, GPOINTER_TO_UINT (value));
  }

  for (guint i = 0; i < 25; i++)
    {
      g_autofree char *first = replica_text (replica, "clients", ids->pdata[i], "first_name");
      g_autofree char *last = replica_text (replica, "clients", ids->pdata[i], "last_name");
      g_autofree char *notes = replica_text (replica, "clients", ids->pdata[i], "notes");
      g_autofree char *expected = g_strdup_printf ("Client %u", i);

      g_assert_cmpstr (first, ==, expected);
      g_assert_cmpstr (last, ==, "Pérez");
      g_assert_cmpstr (notes, ==, (i % 2 == 0 && i < 10) ? "Called back" : NULL);
    }

  /* Nothing more after the end. */
  {
    g_autoptr(GPtrArray) rest = NULL;
    gint64 next = -1;
    gboolean more = TRUE;

    g_assert_true (vds_store_pull (f->store, f->tenant_id, cursor, 3, &rest, &next, &more, &error));
    g_assert_cmpuint (rest->len, ==, 0);
    g_assert_false (more);
    g_assert_cmpint (next, ==, cursor);
  }

  vd_cell_store_free (replica);
  sqlite3_close (db);
}

static void
test_replay (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) changes = changes_new ();
  g_autoptr(GPtrArray) other = changes_new ();
  g_autofree char *client = vd_uuid_new ();
  g_autofree char *first = NULL;
  g_autofree char *again = NULL;
  g_autofree char *older = NULL;
  gint64 seq;

  g_ptr_array_add (changes, client_change (f, client, "Ana", "Ruiz"));
  first = push_as (f, f->tenant_id, f->site, 7, changes, &error);
  g_assert_no_error (error);
  seq = tenant_seq (f, f->tenant_id);

  /* The same batch id again, even with other content, returns the stored answer and
   * changes nothing. */
  g_ptr_array_add (other, client_change (f, client, "Eva", "Gil"));
  again = push_as (f, f->tenant_id, f->site, 7, other, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again, ==, first);
  g_assert_cmpint (tenant_seq (f, f->tenant_id), ==, seq);
  sync_replica (f);
  assert_replica_text (f, "clients", client, "first_name", "Ana");

  /* An older batch is refused. */
  older = push_as (f, f->tenant_id, f->site, 6, other, &error);
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_BATCH_ORDER);
  g_assert_null (older);
  g_assert_cmpint (tenant_seq (f, f->tenant_id), ==, seq);
}

static void
test_skew_and_rejections (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdPushRequest) req = NULL;
  g_autoptr(JsonObject) object = NULL;
  g_autofree char *ok_id = vd_uuid_new ();
  g_autofree char *skew_id = vd_uuid_new ();
  g_autofree char *bad_id = vd_uuid_new ();
  g_autofree char *short_id = vd_uuid_new ();
  g_autofree char *body = NULL;
  g_autofree char *answer = NULL;
  char hlc_ok[17], hlc_skew[17], hlc_near[17];
  JsonArray *rejected;

  vd_hlc_format (vd_hlc_make (f->wall_ms, 1), hlc_ok);
  /* 6 minutes ahead: over the 5-minute limit. 4 minutes ahead: accepted. */
  vd_hlc_format (vd_hlc_make (f->wall_ms + 6 * 60 * 1000, 0), hlc_skew);
  vd_hlc_format (vd_hlc_make (f->wall_ms + 4 * 60 * 1000, 0), hlc_near);

  body = g_strdup_printf (
    "{\"device_id\":\"%s\",\"batch_id\":1,\"changes\":["
    "{\"table\":\"clients\",\"id\":\"%s\",\"hlc\":\"%s\",\"site\":\"%s\","
    " \"set\":{\"first_name\":\"Ana\",\"last_name\":\"Ruiz\"}},"
    "{\"table\":\"clients\",\"id\":\"%s\",\"hlc\":\"%s\",\"site\":\"%s\","
    " \"set\":{\"first_name\":\"Max\",\"last_name\":\"Sanz\"}},"
    "{\"table\":\"clients\",\"id\":\"%s\",\"hlc\":\"%s\",\"site\":\"%s\","
    " \"set\":{\"first_name\":\"Leo\",\"nickname\":\"L\"}},"
    "{\"table\":\"clients\",\"id\":\"%s\",\"hlc\":\"%s\",\"site\":\"%s\","
    " \"set\":{\"first_name\":\"Eva\"}},"
    "{\"table\":\"clients\",\"id\":\"%s\",\"hlc\":\"%s\",\"site\":\"%s\","
    " \"set\":{\"notes\":\"near the limit\"}}"
    "]}",
    f->site,
    ok_id, hlc_ok, f->site,
    skew_id, hlc_skew, f->site,
    bad_id, hlc_ok, f->site,
    short_id, hlc_ok, f->site,
    ok_id, hlc_near, f->site);

  req = vd_push_request_decode (body, strlen (body), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (req->rejected->len, ==, 1);   /* the unknown column, by the decoder */
  g_assert_true (vds_store_push (f->store, f->tenant_id, req, &answer, &error));
  g_assert_no_error (error);

  object = parse_answer (answer);
  g_assert_cmpint (json_object_get_int_member (object, "accepted"), ==, 2);
  rejected = json_object_get_array_member (object, "rejected");
  g_assert_cmpuint (json_array_get_length (rejected), ==, 3);
  /* Sorted by index, the decoder's and the store's together. */
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (rejected, 0), "index"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (rejected, 0), "code"), ==, "clock_skew");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (rejected, 1), "index"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (rejected, 1), "code"), ==, "invalid_change");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (rejected, 2), "index"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (rejected, 2), "code"), ==, "invalid_change");
  /* The message names the missing column. */
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (rejected, 2), "message"),
                            "last_name"));

  /* The server's clock moved past the accepted change 4 minutes ahead. */
  g_assert_cmpstr (json_object_get_string_member (object, "server_hlc"), >, hlc_near);
  g_assert_cmpuint (vd_hlc_ms (vds_store_server_hlc (f->store)), >=, f->wall_ms + 4 * 60 * 1000);

  sync_replica (f);
  assert_replica_text (f, "clients", ok_id, "first_name", "Ana");
  assert_replica_text (f, "clients", ok_id, "notes", "near the limit");
  g_assert_false (replica_has (f->replica, "clients", skew_id));
  g_assert_false (replica_has (f->replica, "clients", short_id));

  /* An existing row takes a partial change. */
  {
    g_autoptr(GPtrArray) changes = changes_new ();
    g_autoptr(JsonObject) a = NULL;
    VdChange *c = change_new (f, "clients", ok_id);

    f->batch = 1;
    put_text (c, "phone", "+34 600 000 000");
    g_ptr_array_add (changes, c);
    a = push_ok (f, changes);
    assert_all_accepted (a, 1);
    sync_replica (f);
    assert_replica_text (f, "clients", ok_id, "phone", "+34 600 000 000");
  }
}

static void
test_isolation (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tenant_b = NULL;
  g_autofree char *shared_id = vd_uuid_new ();
  g_autofree char *answer_b = NULL;
  g_autoptr(GPtrArray) a = changes_new ();
  g_autoptr(GPtrArray) b = changes_new ();
  g_autoptr(GPtrArray) cross = changes_new ();
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(JsonObject) object_b = NULL;
  g_autoptr(JsonObject) cross_answer = NULL;
  g_autoptr(GPtrArray) pulled = NULL;
  JsonArray *rejected;
  gint64 next;
  gboolean more;

  g_assert_true (vds_store_add_tenant (f->store, "centro", "Centro", "America/Mexico_City",
                                       "MXN", f->company_id, &tenant_b, &error));

  g_ptr_array_add (a, client_change (f, shared_id, "Ana", "Norte"));
  answer = push_ok (f, a);
  assert_all_accepted (answer, 1);

  /* The same row id in clinic B is B's own row. */
  g_ptr_array_add (b, client_change (f, shared_id, "Beto", "Centro"));
  answer_b = push_as (f, tenant_b, f->site, 1, b, &error);
  g_assert_no_error (error);
  object_b = parse_answer (answer_b);
  assert_all_accepted (object_b, 1);
  g_assert_cmpint (json_object_get_int_member (object_b, "cursor"), ==, 1);

  sync_replica (f);
  assert_replica_text (f, "clients", shared_id, "first_name", "Ana");
  g_assert_true (vds_store_pull (f->store, tenant_b, 0, 100, &pulled, &next, &more, &error));
  g_assert_cmpuint (pulled->len, ==, 1);
  {
    const VdCell *cell = vd_change_get_cell (pulled->pdata[0], "first_name");

    g_assert_cmpstr (cell->value.s, ==, "Beto");
  }
  g_assert_cmpint (tenant_seq (f, f->tenant_id), ==, 1);
  g_assert_cmpint (tenant_seq (f, tenant_b), ==, 1);

  /* A row id of another table is refused, not merged into that row. */
  g_ptr_array_add (cross, pet_change (f, shared_id, shared_id, "Rex"));
  cross_answer = push_ok (f, cross);
  g_assert_cmpint (json_object_get_int_member (cross_answer, "accepted"), ==, 0);
  rejected = json_object_get_array_member (cross_answer, "rejected");
  g_assert_cmpuint (json_array_get_length (rejected), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (rejected, 0), "code"),
                   ==, "invalid_change");
}

/* ---- Cases: conflicts -------------------------------------------------------------- */

static gint       compare_strings (gconstpointer a,
                                   gconstpointer b);
static GPtrArray *replica_groups  (Fixture      *f);

/* Open conflicts in the replica of this kind. */
static gint64
replica_open_conflicts (Fixture    *f,
                        const char *kind)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM conflicts WHERE kind = '%s' "
                                          "AND resolved_at IS NULL AND NOT deleted", kind);

  return count_rows (f->replica_db, sql);
}

static gint64
stats_open_conflicts (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) stats = vds_store_admin_tenants (f->store, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (stats->len, ==, 1);
  return ((VdsTenantStats *) stats->pdata[0])->open_conflicts;
}

static void
push_one (Fixture  *f,
          VdChange *change)
{
  g_autoptr(GPtrArray) changes = changes_new ();
  g_autoptr(JsonObject) answer = NULL;

  g_ptr_array_add (changes, change);
  answer = push_ok (f, changes);
  assert_all_accepted (answer, 1);
  sync_replica (f);
}

static void
test_double_booking (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GPtrArray) changes = changes_new ();
  g_autoptr(JsonObject) answer = NULL;
  g_autofree char *staff = vd_uuid_new ();
  g_autofree char *staff2 = vd_uuid_new ();
  g_autofree char *client = vd_uuid_new ();
  g_autofree char *pet = vd_uuid_new ();
  g_autofree char *a1 = vd_uuid_new ();
  g_autofree char *a2 = vd_uuid_new ();
  g_autofree char *a3 = vd_uuid_new ();
  const char *low, *high;
  VdChange *c;

  g_ptr_array_add (changes, staff_change (f, staff, "Dra. López"));
  g_ptr_array_add (changes, staff_change (f, staff2, "Dr. Gil"));
  g_ptr_array_add (changes, client_change (f, client, "Ana", "Ruiz"));
  g_ptr_array_add (changes, pet_change (f, pet, client, "Rex"));
  g_ptr_array_add (changes, appointment_change (f, a1, pet, client, staff,
                                                "2024-05-02T09:00:00Z", "2024-05-02T10:00:00Z"));
  g_ptr_array_add (changes, appointment_change (f, a2, pet, client, staff,
                                                "2024-05-02T09:30:00Z", "2024-05-02T10:30:00Z"));
  /* Back to back with a1 ([start, end) ranges): no overlap. Another vet: no overlap. */
  g_ptr_array_add (changes, appointment_change (f, a3, pet, client, staff,
                                                "2024-05-02T10:30:00Z", "2024-05-02T11:00:00Z"));
  answer = push_ok (f, changes);
  assert_all_accepted (answer, 7);
  sync_replica (f);

  /* Exactly one conflict for the pair, stored with the smaller id first. */
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 1);
  g_assert_cmpint (count_rows (f->replica_db, "SELECT count(*) FROM conflicts"), ==, 1);
  g_assert_cmpint (stats_open_conflicts (f), ==, 1);
  low = strcmp (a1, a2) < 0 ? a1 : a2;
  high = low == a1 ? a2 : a1;
  {
    g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM conflicts WHERE row_id = '%s' "
                                            "AND other_row_id = '%s' AND table_name = 'appointments' "
                                            "AND detected_at = '2024-05-01T10:00:00Z'", low, high);

    g_assert_cmpint (count_rows (f->replica_db, sql), ==, 1);
  }

  /* Moved to the other vet: resolved, the same row. */
  c = change_new (f, "appointments", a2);
  put_text (c, "staff_id", staff2);
  push_one (f, c);
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 0);
  g_assert_cmpint (count_rows (f->replica_db, "SELECT count(*) FROM conflicts WHERE resolved_at IS NOT NULL"), ==, 1);
  g_assert_cmpint (stats_open_conflicts (f), ==, 0);

  /* Back: reopened, still one row. */
  c = change_new (f, "appointments", a2);
  put_text (c, "staff_id", staff);
  push_one (f, c);
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 1);
  g_assert_cmpint (count_rows (f->replica_db, "SELECT count(*) FROM conflicts"), ==, 1);

  /* Cancelled: resolved. */
  c = change_new (f, "appointments", a2);
  put_text (c, "status", "cancelled");
  push_one (f, c);
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 0);

  /* Scheduled again, then allowed to overlap: open, then resolved. */
  c = change_new (f, "appointments", a2);
  put_text (c, "status", "confirmed");
  push_one (f, c);
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 1);
  c = change_new (f, "appointments", a1);
  put_bool (c, "allow_overlap", TRUE);
  push_one (f, c);
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 0);
  g_assert_cmpint (stats_open_conflicts (f), ==, 0);

  /* No longer allowed to overlap: open again; then one is deleted: resolved. */
  c = change_new (f, "appointments", a1);
  put_bool (c, "allow_overlap", FALSE);
  push_one (f, c);
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 1);
  c = change_new (f, "appointments", a2);
  put_bool (c, "deleted", TRUE);
  push_one (f, c);
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 0);
  g_assert_cmpint (count_rows (f->replica_db, "SELECT count(*) FROM conflicts"), ==, 1);
}

static void
test_dangling (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *client = vd_uuid_new ();
  g_autofree char *pet = vd_uuid_new ();
  VdChange *c;

  /* A pet whose client has not arrived. */
  push_one (f, pet_change (f, pet, client, "Rex"));
  g_assert_cmpint (replica_open_conflicts (f, "dangling_reference"), ==, 1);
  g_assert_cmpint (stats_open_conflicts (f), ==, 1);
  {
    g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM conflicts WHERE row_id = '%s' "
                                            "AND other_row_id = '%s' AND table_name = 'pets' "
                                            "AND detail LIKE '%%client_id%%'", pet, client);

    g_assert_cmpint (count_rows (f->replica_db, sql), ==, 1);
  }

  /* The client arrives: resolved. */
  push_one (f, client_change (f, client, "Ana", "Ruiz"));
  g_assert_cmpint (replica_open_conflicts (f, "dangling_reference"), ==, 0);
  g_assert_cmpint (stats_open_conflicts (f), ==, 0);

  /* The client is deleted: the pet dangles again. */
  c = change_new (f, "clients", client);
  put_bool (c, "deleted", TRUE);
  push_one (f, c);
  g_assert_cmpint (replica_open_conflicts (f, "dangling_reference"), ==, 1);
  g_assert_cmpint (count_rows (f->replica_db, "SELECT count(*) FROM conflicts"), ==, 1);

  /* The pet is deleted too: nothing dangles. */
  c = change_new (f, "pets", pet);
  put_bool (c, "deleted", TRUE);
  push_one (f, c);
  g_assert_cmpint (replica_open_conflicts (f, "dangling_reference"), ==, 0);
  g_assert_cmpint (stats_open_conflicts (f), ==, 0);
}

/* A bulk import of n bookings that all overlap writes one conflict, not n(n−1)/2: the
 * conflicts grow linearly with the appointments (issue #16, item 4), and the one conflict
 * still shows every double booking, naming each appointment. */
static void
test_conflicts_linear (Fixture       *f,
                       gconstpointer  data)
{
  const guint n = 400;
  g_autoptr(GPtrArray) changes = changes_new ();
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonObject) answer = NULL;
  g_autofree char *staff = vd_uuid_new ();
  g_autofree char *client = vd_uuid_new ();
  g_autofree char *pet = vd_uuid_new ();
  /* 2024-05-06T08:00:00Z */
  const gint64 base = 1714982400;
  gint64 server_conflicts;

  g_ptr_array_add (changes, staff_change (f, staff, "Dra. López"));
  g_ptr_array_add (changes, client_change (f, client, "Ana", "Ruiz"));
  g_ptr_array_add (changes, pet_change (f, pet, client, "Rex"));
  for (guint i = 0; i < n; i++)
    {
      char starts[21], ends[21];

      g_ptr_array_add (ids, vd_uuid_new ());
      vd_time_format_utc (base + 60 * i, starts);
      vd_time_format_utc (base + 60 * i + 8 * 3600, ends);
      g_ptr_array_add (changes, appointment_change (f, ids->pdata[i], pet, client, staff,
                                                    starts, ends));
    }
  answer = push_ok (f, changes);
  assert_all_accepted (answer, n + 3);
  sync_replica (f);

  server_conflicts = count_rows (f->replica_db, "SELECT count(*) FROM conflicts");
  g_test_message ("%u overlapping appointments: %" G_GINT64_FORMAT " conflict rows", n,
                  server_conflicts);
  g_assert_cmpint (server_conflicts, <=, n);
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 1);
  g_assert_cmpint (stats_open_conflicts (f), ==, 1);
  {
    g_autoptr(GPtrArray) groups = replica_groups (f);
    g_autoptr(GPtrArray) sorted = g_ptr_array_copy (ids, (GCopyFunc) g_strdup, NULL);
    GString *want = g_string_new (NULL);
    g_autofree char *want_text = NULL;

    g_ptr_array_set_free_func (sorted, g_free);
    g_ptr_array_sort (sorted, compare_strings);
    g_string_append_printf (want, "%s %s:", (char *) sorted->pdata[0], (char *) sorted->pdata[1]);
    for (guint i = 0; i < n; i++)
      g_string_append_printf (want, " %s", (char *) sorted->pdata[i]);
    want_text = g_string_free (want, FALSE);
    g_assert_cmpuint (groups->len, ==, 1);
    g_assert_cmpstr (groups->pdata[0], ==, want_text);
  }

  /* Every booking moved to its own day: one push resolves it, still linear. */
  g_ptr_array_set_size (changes, 0);
  for (guint i = 0; i < n; i++)
    {
      VdChange *c = change_new (f, "appointments", ids->pdata[i]);
      char starts[21], ends[21];

      vd_time_format_utc (base + 86400 * (i + 1), starts);
      vd_time_format_utc (base + 86400 * (i + 1) + 3600, ends);
      put_text (c, "starts_at", starts);
      put_text (c, "ends_at", ends);
      g_ptr_array_add (changes, c);
    }
  g_clear_pointer (&answer, json_object_unref);
  answer = push_ok (f, changes);
  assert_all_accepted (answer, n);
  sync_replica (f);
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 0);
  g_assert_cmpint (count_rows (f->replica_db, "SELECT count(*) FROM conflicts"), <=, n);
}

/* A group changes as its appointments do: a chain A–B–C is one conflict; B leaving
 * resolves it (A and C do not overlap); D joining through C grows it; C, the link in the
 * middle, leaving splits it, and the conflict left names only the two still overlapping. */
static void
test_conflict_groups (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GPtrArray) changes = changes_new ();
  g_autoptr(JsonObject) answer = NULL;
  g_autofree char *staff = vd_uuid_new ();
  g_autofree char *staff2 = vd_uuid_new ();
  g_autofree char *client = vd_uuid_new ();
  g_autofree char *pet = vd_uuid_new ();
  char *a[5];
  VdChange *c;

  for (guint i = 0; i < G_N_ELEMENTS (a); i++)
    a[i] = vd_uuid_new ();
  g_ptr_array_add (changes, staff_change (f, staff, "Dra. López"));
  g_ptr_array_add (changes, staff_change (f, staff2, "Dr. Gil"));
  g_ptr_array_add (changes, client_change (f, client, "Ana", "Ruiz"));
  g_ptr_array_add (changes, pet_change (f, pet, client, "Rex"));
  /* A 9–10, B 9:30–10:30, C 10:15–11:15: A–B and B–C overlap, A–C do not. */
  g_ptr_array_add (changes, appointment_change (f, a[0], pet, client, staff,
                                                "2024-05-02T09:00:00Z", "2024-05-02T10:00:00Z"));
  g_ptr_array_add (changes, appointment_change (f, a[1], pet, client, staff,
                                                "2024-05-02T09:30:00Z", "2024-05-02T10:30:00Z"));
  g_ptr_array_add (changes, appointment_change (f, a[2], pet, client, staff,
                                                "2024-05-02T10:15:00Z", "2024-05-02T11:15:00Z"));
  answer = push_ok (f, changes);
  assert_all_accepted (answer, 7);
  sync_replica (f);

#define ASSERT_GROUPS(...) \
  G_STMT_START { \
    const char *members_[] = { __VA_ARGS__, NULL }; \
    g_autoptr(GPtrArray) got_ = replica_groups (f); \
    g_autoptr(GPtrArray) m_ = g_ptr_array_new (); \
    g_autoptr(GString) want_ = g_string_new (NULL); \
    for (guint i_ = 0; members_[i_] != NULL; i_++) \
      g_ptr_array_add (m_, (gpointer) members_[i_]); \
    g_ptr_array_sort (m_, compare_strings); \
    g_string_append_printf (want_, "%s %s:", (char *) m_->pdata[0], (char *) m_->pdata[1]); \
    for (guint i_ = 0; i_ < m_->len; i_++) \
      g_string_append_printf (want_, " %s", (char *) m_->pdata[i_]); \
    g_assert_cmpuint (got_->len, ==, 1); \
    g_assert_cmpstr (got_->pdata[0], ==, want_->str); \
  } G_STMT_END

  ASSERT_GROUPS (a[0], a[1], a[2]);
  g_assert_cmpint (stats_open_conflicts (f), ==, 1);

  /* B to the other vet: nothing overlaps any more. */
  c = change_new (f, "appointments", a[1]);
  put_text (c, "staff_id", staff2);
  push_one (f, c);
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 0);

  /* B back; D 11:00–12:00 overlaps C only: one group of four. */
  c = change_new (f, "appointments", a[1]);
  put_text (c, "staff_id", staff);
  push_one (f, c);
  ASSERT_GROUPS (a[0], a[1], a[2]);
  push_one (f, appointment_change (f, a[3], pet, client, staff,
                                   "2024-05-02T11:00:00Z", "2024-05-02T12:00:00Z"));
  ASSERT_GROUPS (a[0], a[1], a[2], a[3]);
  g_assert_cmpint (stats_open_conflicts (f), ==, 1);

  /* C, the link, is cancelled: A–B stay a group, D is alone. */
  c = change_new (f, "appointments", a[2]);
  put_text (c, "status", "cancelled");
  push_one (f, c);
  ASSERT_GROUPS (a[0], a[1]);

  /* E overlaps D only: two groups. Then D is deleted: back to one. */
  push_one (f, appointment_change (f, a[4], pet, client, staff,
                                   "2024-05-02T11:30:00Z", "2024-05-02T12:30:00Z"));
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 2);
  c = change_new (f, "appointments", a[3]);
  put_bool (c, "deleted", TRUE);
  push_one (f, c);
  ASSERT_GROUPS (a[0], a[1]);
  g_assert_cmpint (stats_open_conflicts (f), ==, 1);
#undef ASSERT_GROUPS

  for (guint i = 0; i < G_N_ELEMENTS (a); i++)
    g_free (a[i]);
}

/* ---- Cases: monitoring and concurrency --------------------------------------------- */

static void
test_admin_tenants (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) changes = changes_new ();
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) mine = NULL;
  g_autoptr(GPtrArray) none = NULL;
  g_autofree char *other_company = NULL;
  g_autofree char *tenant_b = NULL;
  g_autofree char *staff = vd_uuid_new ();
  g_autofree char *client = vd_uuid_new ();
  g_autofree char *gone = vd_uuid_new ();
  g_autofree char *pet = vd_uuid_new ();
  g_autofree char *device2 = vd_uuid_new ();
  const char *company_filter[2] = { NULL, NULL };
  VdsTenantStats *s;
  VdChange *c;

  g_assert_true (vds_store_add_company (f->store, "Spa Group", &other_company, &error));
  g_assert_true (vds_store_add_tenant (f->store, "spa", "Pet Spa Deluxe", "Europe/Madrid", "EUR",
                                       other_company, &tenant_b, &error));

  g_ptr_array_add (changes, staff_change (f, staff, "Dra. López"));
  g_ptr_array_add (changes, client_change (f, client, "Ana", "Ruiz"));
  g_ptr_array_add (changes, client_change (f, gone, "Old", "Client"));
  g_ptr_array_add (changes, pet_change (f, pet, client, "Rex"));
  c = change_new (f, "clients", gone);
  put_bool (c, "deleted", TRUE);
  g_ptr_array_add (changes, c);
  answer = push_ok (f, changes);
  assert_all_accepted (answer, 5);

  g_assert_true (vds_store_touch_device (f->store, f->tenant_id, f->site, NULL, "PC 1", "0.1.0",
                                         VDS_DEVICE_PUSHED, 0, 5000, &error));
  g_assert_true (vds_store_touch_device (f->store, f->tenant_id, f->site, NULL, NULL, NULL,
                                         VDS_DEVICE_PULLED, 5, 6000, &error));
  g_assert_true (vds_store_touch_device (f->store, f->tenant_id, device2, NULL, "PC 2", NULL,
                                         VDS_DEVICE_SEEN, 0, 7000, &error));
  g_assert_no_error (error);

  all = vds_store_admin_tenants (f->store, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  s = all->pdata[0];   /* "Hospital…" before "Pet Spa…" */
  g_assert_cmpstr (s->id, ==, f->tenant_id);
  g_assert_cmpstr (s->slug, ==, "norte");
  g_assert_cmpstr (s->company_id, ==, f->company_id);
  g_assert_cmpstr (s->timezone, ==, "Europe/Madrid");
  g_assert_cmpint (s->clients, ==, 1);
  g_assert_cmpint (s->pets, ==, 1);
  g_assert_cmpint (s->staff, ==, 1);
  g_assert_cmpint (s->appointments, ==, 0);
  g_assert_cmpint (s->devices, ==, 2);
  g_assert_cmpint (s->last_sync_at, ==, 6000);
  g_assert_cmpint (s->open_conflicts, ==, 0);
  g_assert_cmpint (s->seq, ==, tenant_seq (f, f->tenant_id));
  g_assert_cmpint (s->seq, >=, 5);
  s = all->pdata[1];
  g_assert_cmpstr (s->slug, ==, "spa");
  g_assert_cmpint (s->clients, ==, 0);
  g_assert_cmpint (s->devices, ==, 0);
  g_assert_cmpint (s->last_sync_at, ==, 0);
  g_assert_cmpint (s->seq, ==, 0);

  company_filter[0] = other_company;
  mine = vds_store_admin_tenants (f->store, company_filter, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mine->len, ==, 1);
  g_assert_cmpstr (((VdsTenantStats *) mine->pdata[0])->id, ==, tenant_b);

  company_filter[0] = "not-a-company";
  none = vds_store_admin_tenants (f->store, company_filter, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (none->len, ==, 0);
}

#define N_WRITERS        4
#define BATCHES_PER      8
#define CHANGES_PER      25

typedef struct
{
  Fixture *f;
  guint    writer;
  char    *site;
  GMutex  *hlc_lock;
} Writer;

static gpointer
writer_thread (gpointer data)
{
  Writer *w = data;

  for (guint b = 0; b < BATCHES_PER; b++)
    {
      g_autoptr(GPtrArray) changes = changes_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) object = NULL;
      g_autofree char *answer = NULL;

      for (guint i = 0; i < CHANGES_PER; i++)
        {
          g_autofree char *id = vd_uuid_new ();
          g_autofree char *first = g_strdup_printf ("W%u B%u C%u", w->writer, b, i);
          VdChange *c = vd_change_new (vd_schema_lookup_table ("clients"), id,
                                       vd_hlc_make (WALL_MS, b * CHANGES_PER + i), w->site);

          put_text (c, "first_name", first);
          put_text (c, "last_name", "Concurrent");
          g_ptr_array_add (changes, c);
        }
      answer = push_as (w->f, w->f->tenant_id, w->site, b + 1, changes, &error);
      g_assert_no_error (error);
      object = parse_answer (answer);
      g_assert_cmpint (json_object_get_int_member (object, "accepted"), ==, CHANGES_PER);
    }
  return NULL;
}

typedef struct
{
  Fixture  *f;
  gint      stop;
  gint64    cursor;
  sqlite3  *db;
  VdCellStore *replica;
} Puller;

static gpointer
puller_thread (gpointer data)
{
  Puller *p = data;

  while (!g_atomic_int_get (&p->stop))
    {
      pull_into (p->f, p->f->tenant_id, p->replica, &p->cursor, 40, NULL);
      g_usleep (2000);
    }
  return NULL;
}

static void
test_concurrent_pushes (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GThread *threads[N_WRITERS];
  Writer writers[N_WRITERS];
  GThread *pull_thread;
  Puller puller = { f, 0, 0, NULL, NULL };
  sqlite3 *db = NULL;
  VdCellStore *replica;
  gint64 cursor = 0;
  gint64 total = N_WRITERS * BATCHES_PER * CHANGES_PER;

  /* A desk pulling while the others push must end with everything: cursors never skip
   * a transaction that committed late. */
  g_assert_cmpint (sqlite3_open (":memory:", &puller.db), ==, SQLITE_OK);
  puller.replica = vd_cell_store_new (puller.db, f->tenant_id, &error);
  g_assert_no_error (error);
  pull_thread = g_thread_new ("puller", puller_thread, &puller);

  for (guint i = 0; i < N_WRITERS; i++)
    {
      writers[i].f = f;
      writers[i].writer = i;
      writers[i].site = vd_uuid_new ();
      threads[i] = g_thread_new ("writer", writer_thread, &writers[i]);
    }
  for (guint i = 0; i < N_WRITERS; i++)
    {
      g_thread_join (threads[i]);
      g_free (writers[i].site);
    }
  g_atomic_int_set (&puller.stop, 1);
  g_thread_join (pull_thread);
  pull_into (f, f->tenant_id, puller.replica, &puller.cursor, 40, NULL);

  /* Every change, each row once, each under its own seq. */
  g_assert_cmpint (tenant_seq (f, f->tenant_id), ==, total);
  g_assert_cmpint (sqlite3_open (":memory:", &db), ==, SQLITE_OK);
  replica = vd_cell_store_new (db, f->tenant_id, &error);
  g_assert_no_error (error);
  pull_into (f, f->tenant_id, replica, &cursor, 100, counts);
  g_assert_cmpint (cursor, ==, total);
  g_assert_cmpuint (g_hash_table_size (counts), ==, total);
  g_assert_cmpint (count_rows (db, "SELECT count(*) FROM clients"), ==, total);
  g_assert_cmpint (count_rows (db, "SELECT count(DISTINCT first_name) FROM clients"), ==, total);

  g_assert_cmpint (puller.cursor, ==, total);
  g_assert_cmpint (count_rows (puller.db, "SELECT count(*) FROM clients"), ==, total);
  {
    g_autofree char *a = vd_cell_store_digest (replica, &error);
    g_autofree char *b = vd_cell_store_digest (puller.replica, &error);

    g_assert_cmpstr (a, ==, b);
  }

  vd_cell_store_free (replica);
  sqlite3_close (db);
  vd_cell_store_free (puller.replica);
  sqlite3_close (puller.db);
}

/* ---- Appointment times and the pull answer cache ---------------------------------- */

static const char *
rejection_code (JsonObject *answer,
                guint       i)
{
  JsonArray *rejected = json_object_get_array_member (answer, "rejected");

  g_assert_cmpuint (i, <, json_array_get_length (rejected));
  return json_object_get_string_member (json_array_get_object_element (rejected, i), "code");
}

static void
test_appointment_times (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GPtrArray) changes = changes_new ();
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(JsonObject) answer2 = NULL;
  g_autoptr(JsonObject) answer3 = NULL;
  g_autofree char *staff = vd_uuid_new ();
  g_autofree char *client = vd_uuid_new ();
  g_autofree char *pet = vd_uuid_new ();
  g_autofree char *ok = vd_uuid_new ();
  g_autofree char *backwards = vd_uuid_new ();
  g_autofree char *too_long = vd_uuid_new ();
  g_autofree char *day = vd_uuid_new ();
  g_autofree char *late = vd_uuid_new ();
  VdChange *c;

  g_ptr_array_add (changes, staff_change (f, staff, "Dra. López"));
  g_ptr_array_add (changes, client_change (f, client, "Ana", "Ruiz"));
  g_ptr_array_add (changes, pet_change (f, pet, client, "Rex"));
  g_ptr_array_add (changes, appointment_change (f, ok, pet, client, staff,
                                                "2024-05-02T09:00:00Z", "2024-05-02T10:00:00Z"));
  g_ptr_array_add (changes, appointment_change (f, backwards, pet, client, staff,
                                                "2024-05-02T11:00:00Z", "2024-05-02T11:00:00Z"));
  g_ptr_array_add (changes, appointment_change (f, too_long, pet, client, staff,
                                                "2024-05-02T11:00:00Z", "2024-05-03T11:00:01Z"));
  /* Exactly 24 hours is allowed; it overlaps ok. */
  g_ptr_array_add (changes, appointment_change (f, day, pet, client, staff,
                                                "2024-05-01T09:30:00Z", "2024-05-02T09:30:00Z"));
  answer = push_ok (f, changes);
  g_assert_cmpint (json_object_get_int_member (answer, "accepted"), ==, 5);
  g_assert_cmpstr (rejection_code (answer, 0), ==, "invalid_change");
  g_assert_cmpstr (rejection_code (answer, 1), ==, "invalid_change");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (
                     json_object_get_array_member (answer, "rejected"), 0), "index"), ==, 4);
  sync_replica (f);
  g_assert_cmpint (count_rows (f->replica_db, "SELECT count(*) FROM appointments"), ==, 2);
  /* The 24-hour one found its overlap although it starts a day before. */
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 1);

  /* The times are checked on the merged row: an edit of ends_at alone that makes ok
   * longer than a day is refused and leaves the row as it was… */
  g_ptr_array_set_size (changes, 0);
  c = change_new (f, "appointments", ok);
  put_text (c, "ends_at", "2024-05-03T10:00:00Z");
  put_text (c, "notes", "moved");
  g_ptr_array_add (changes, c);
  answer2 = push_ok (f, changes);
  g_assert_cmpint (json_object_get_int_member (answer2, "accepted"), ==, 0);
  g_assert_cmpstr (rejection_code (answer2, 0), ==, "invalid_change");
  sync_replica (f);
  assert_replica_text (f, "appointments", ok, "ends_at", "2024-05-02T10:00:00Z");
  assert_replica_text (f, "appointments", ok, "notes", NULL);

  /* …while starts_at and ends_at moved a day on in two changes of one push are fine,
   * and so is a create whose times come in a later change of the same push. */
  g_ptr_array_set_size (changes, 0);
  c = change_new (f, "appointments", ok);
  put_text (c, "starts_at", "2024-05-03T09:00:00Z");
  g_ptr_array_add (changes, c);
  c = change_new (f, "appointments", ok);
  put_text (c, "ends_at", "2024-05-03T10:00:00Z");
  g_ptr_array_add (changes, c);
  g_ptr_array_add (changes, appointment_change (f, late, pet, client, staff,
                                                "2024-05-04T09:00:00Z", "2024-05-04T09:30:00Z"));
  c = change_new (f, "appointments", late);
  put_text (c, "ends_at", "2024-05-04T10:00:00Z");
  g_ptr_array_add (changes, c);
  answer3 = push_ok (f, changes);
  g_assert_cmpint (json_object_get_int_member (answer3, "accepted"), ==, 4);
  sync_replica (f);
  assert_replica_text (f, "appointments", ok, "starts_at", "2024-05-03T09:00:00Z");
  assert_replica_text (f, "appointments", ok, "ends_at", "2024-05-03T10:00:00Z");
  assert_replica_text (f, "appointments", late, "ends_at", "2024-05-04T10:00:00Z");
  /* ok moved away from day: the double booking is over. */
  g_assert_cmpint (replica_open_conflicts (f, "double_booking"), ==, 0);
}

/* A pull answer encoded from vds_store_pull, as the handler did before the cache. */
static GBytes *
uncached_answer (VdsStore   *store,
                 const char *tenant_id,
                 gint64      cursor,
                 guint       limit)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) changes = NULL;
  gint64 next = 0;
  gboolean more = FALSE;
  gsize len = 0;
  char *data;

  g_assert_true (vds_store_pull (store, tenant_id, cursor, limit, &changes, &next, &more,
                                 &error));
  g_assert_no_error (error);
  data = vd_pull_answer_encode (changes, next, more, 0, &len);
  return g_bytes_new_take (data, len);
}

static GBytes *
cached_answer (VdsStore   *store,
               const char *tenant_id,
               gint64      cursor,
               guint       limit)
{
  g_autoptr(GError) error = NULL;
  GBytes *answer = vds_store_pull_answer (store, tenant_id, cursor, limit, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (answer);
  return answer;
}

/* Equal except for server_hlc, the answer's last value ("…\"server_hlc\":\"<16>\"}"). */
static void
assert_same_answer (GBytes *a,
                    GBytes *b)
{
  gsize la = 0, lb = 0;
  const char *da = g_bytes_get_data (a, &la);
  const char *db = g_bytes_get_data (b, &lb);

  g_assert_cmpuint (la, ==, lb);
  g_assert_cmpuint (la, >, 18);
  g_assert_cmpint (memcmp (da, db, la - 18), ==, 0);
  g_assert_cmpint (memcmp (da + la - 2, db + lb - 2, 2), ==, 0);
  g_assert_cmpint (memcmp (da + la - 18 - 15, ",\"server_hlc\":\"", 15), ==, 0);
}

static void
assert_answer_differs (GBytes *a,
                       GBytes *b)
{
  gsize la = 0, lb = 0;
  const char *da = g_bytes_get_data (a, &la);
  const char *db = g_bytes_get_data (b, &lb);

  g_assert_true (la != lb || memcmp (da, db, la - 18) != 0);
}

typedef struct
{
  VdsStore   *store;
  const char *tenant_id;
  GBytes     *answer;
} CachePuller;

static gpointer
cache_puller (gpointer data)
{
  CachePuller *p = data;

  p->answer = cached_answer (p->store, p->tenant_id, 0, 1000);
  return NULL;
}

static void
test_pull_cache (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) changes = changes_new ();
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *staff = vd_uuid_new ();
  g_autofree char *client = vd_uuid_new ();
  g_autofree char *pet = vd_uuid_new ();
  g_autofree char *appt = vd_uuid_new ();
  g_autoptr(GBytes) plain = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) second = NULL;
  g_autoptr(GBytes) page = NULL;
  g_autoptr(GBytes) after_other = NULL;
  g_autoptr(GBytes) after_own = NULL;
  g_autoptr(GBytes) plain_now = NULL;
  CachePuller pullers[6];
  GThread *threads[G_N_ELEMENTS (pullers)];
  VdsStore *other;
  VdChange *c;
  gsize len = 0;
  const char *text;

  g_ptr_array_add (changes, staff_change (f, staff, "Dra. López"));
  g_ptr_array_add (changes, client_change (f, client, "Ana", "Ruiz"));
  g_ptr_array_add (changes, pet_change (f, pet, client, "Rex"));
  g_ptr_array_add (changes, appointment_change (f, appt, pet, client, staff,
                                                "2024-05-02T09:00:00Z", "2024-05-02T09:30:00Z"));
  answer = push_ok (f, changes);
  assert_all_accepted (answer, 4);

  /* A miss, then a hit: both the bytes an uncached pull encodes, with a fresh hlc. */
  plain = uncached_answer (f->store, f->tenant_id, 0, 1000);
  first = cached_answer (f->store, f->tenant_id, 0, 1000);
  second = cached_answer (f->store, f->tenant_id, 0, 1000);
  assert_same_answer (plain, first);
  assert_same_answer (plain, second);
  text = g_bytes_get_data (second, &len);
  g_assert_cmpint (memcmp ((const char *) g_bytes_get_data (first, NULL) + len - 18,
                           text + len - 18, 16), <, 0);   /* ticked: strictly newer */
  /* Another cursor and limit are other entries. */
  page = cached_answer (f->store, f->tenant_id, 2, 1);
  assert_same_answer (uncached_answer (f->store, f->tenant_id, 2, 1), page);
  assert_answer_differs (page, first);

  /* Concurrent identical pulls agree. */
  for (guint i = 0; i < G_N_ELEMENTS (pullers); i++)
    {
      pullers[i] = (CachePuller) { f->store, f->tenant_id, NULL };
      threads[i] = g_thread_new ("puller", cache_puller, &pullers[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (pullers); i++)
    {
      g_thread_join (threads[i]);
      assert_same_answer (plain, pullers[i].answer);
      g_bytes_unref (pullers[i].answer);
    }

  /* A push through another store on the same database (another syncd process, with its
   * own cache) is seen by the next pull here. */
  other = vds_store_open (f->uri, 2, &error);
  g_assert_no_error (error);
  vds_store_set_wall_clock (other, fixture_wall, f);
  g_ptr_array_set_size (changes, 0);
  c = change_new (f, "pets", pet);
  put_real (c, "weight_kg", 14.75);
  g_ptr_array_add (changes, c);
  {
    g_autoptr(VdPushRequest) req = NULL;
    g_autofree char *body = NULL;
    g_autofree char *other_answer = NULL;
    gsize body_len = 0;

    body = vd_push_request_encode (f->site, ++f->batch, changes, &body_len);
    req = vd_push_request_decode (body, body_len, &error);
    g_assert_no_error (error);
    g_assert_true (vds_store_push (other, f->tenant_id, req, &other_answer, &error));
    g_assert_no_error (error);
  }
  vds_store_free (other);

  after_other = cached_answer (f->store, f->tenant_id, 0, 1000);
  plain_now = uncached_answer (f->store, f->tenant_id, 0, 1000);
  assert_same_answer (plain_now, after_other);
  assert_answer_differs (plain, after_other);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (after_other, NULL),
                                  g_bytes_get_size (after_other), "14.75"));

  /* And a push through this store. */
  g_ptr_array_set_size (changes, 0);
  c = change_new (f, "pets", pet);
  put_text (c, "name", "Rex II");
  g_ptr_array_add (changes, c);
  g_clear_pointer (&answer, json_object_unref);
  answer = push_ok (f, changes);
  assert_all_accepted (answer, 1);
  after_own = cached_answer (f->store, f->tenant_id, 0, 1000);
  g_clear_pointer (&plain_now, g_bytes_unref);
  plain_now = uncached_answer (f->store, f->tenant_id, 0, 1000);
  assert_same_answer (plain_now, after_own);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (after_own, NULL),
                                  g_bytes_get_size (after_own), "Rex II"));
}

/* ---- Cases: what a sync call reads and writes besides the data --------------------- */

/* The one-statement check of a sync call: the token as vds_store_lookup_token sees it,
 * the role in the clinic, the clinic's seq, and nothing cached: a revocation shows at
 * once. */
static void
test_member_lookup (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) changes = changes_new ();
  g_autoptr(JsonObject) answer = NULL;
  g_autofree char *user_id = NULL;
  g_autofree char *session_id = NULL;
  g_autofree char *other_tenant = NULL;
  g_autofree char *staff = vd_uuid_new ();
  const gint64 now = 1000000;
  char *role = NULL;
  gint64 seq = -1;

  g_assert_true (vds_store_add_user (f->store, "ana", "Ana", "$argon2id$fake", "none",
                                     &user_id, &error));
  g_assert_true (vds_store_create_session (f->store, user_id, f->site, "Front desk PC", now,
                                           now + VD_PROTOCOL_SESSION_MAX_S, "a1", now + 900,
                                           "r1", now + 86400, &session_id, &error));
  g_assert_true (vds_store_add_tenant (f->store, "sur", "Clínica Sur", "Europe/Madrid", "EUR",
                                       f->company_id, &other_tenant, &error));
  g_assert_no_error (error);

  /* Not a member yet: the token, no role, the (empty) clinic's seq. */
  {
    g_autoptr(VdsToken) token = vds_store_lookup_member (f->store, "a1", f->tenant_id, &role,
                                                         &seq, &error);
    g_assert_no_error (error);
    g_assert_nonnull (token);
    g_assert_cmpstr (token->kind, ==, "access");
    g_assert_cmpstr (token->user_id, ==, user_id);
    g_assert_cmpstr (token->session_id, ==, session_id);
    g_assert_cmpstr (token->device_id, ==, f->site);
    g_assert_cmpint (token->expires_at, ==, now + 900);
    g_assert_false (token->session_revoked);
    g_assert_null (role);
    g_assert_cmpint (seq, ==, 0);
  }

  g_assert_true (vds_store_add_membership (f->store, user_id, f->tenant_id, "front_desk",
                                           &error));
  g_ptr_array_add (changes, staff_change (f, staff, "Dra. López"));
  answer = push_ok (f, changes);
  assert_all_accepted (answer, 1);
  {
    g_autoptr(VdsToken) token = vds_store_lookup_member (f->store, "a1", f->tenant_id, &role,
                                                         &seq, &error);
    g_assert_no_error (error);
    g_assert_nonnull (token);
    g_assert_cmpstr (role, ==, "front_desk");
    g_assert_cmpint (seq, ==, tenant_seq (f, f->tenant_id));
    g_assert_cmpint (seq, >, 0);
    g_clear_pointer (&role, g_free);
  }
  /* Another clinic: a member of one is not a member of the other. */
  {
    g_autoptr(VdsToken) token = vds_store_lookup_member (f->store, "a1", other_tenant, &role,
                                                         &seq, &error);
    g_assert_nonnull (token);
    g_assert_null (role);
    g_assert_cmpint (seq, ==, 0);
  }
  /* Not a uuid: the token still, no role, and no database error on PostgreSQL. */
  {
    g_autoptr(VdsToken) token = vds_store_lookup_member (f->store, "a1", "not-a-uuid", &role,
                                                         &seq, &error);
    g_assert_no_error (error);
    g_assert_nonnull (token);
    g_assert_null (role);
  }
  /* Unknown token. */
  g_assert_null (vds_store_lookup_member (f->store, "nope", f->tenant_id, &role, &seq, &error));
  g_assert_no_error (error);
  g_assert_null (role);

  /* Revoked: the very next lookup says so. */
  g_assert_true (vds_store_revoke_session (f->store, session_id, &error));
  {
    g_autoptr(VdsToken) token = vds_store_lookup_member (f->store, "a1", f->tenant_id, &role,
                                                         &seq, &error);
    g_assert_no_error (error);
    g_assert_nonnull (token);
    g_assert_true (token->session_revoked);
    g_clear_pointer (&role, g_free);
  }
}

static VdsDeviceInfo *
find_device_info (GPtrArray  *devices,
                  const char *device_id)
{
  for (guint i = 0; i < devices->len; i++)
    {
      VdsDeviceInfo *d = devices->pdata[i];

      if (g_str_equal (d->device_id, device_id))
        return d;
    }
  g_assert_not_reached ();
}

static const char *
clinic_health (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) stats = vds_store_admin_tenants (f->store, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (stats->len, ==, 1);
  return ((VdsTenantStats *) stats->pdata[0])->health;
}

static void
pulled (Fixture    *f,
        const char *device_id,
        gint64      cursor,
        gint64      at,
        gint64      pending,
        gboolean    reached)
{
  g_autoptr(GError) error = NULL;
  VdsDeviceReport r = {
    .tenant_id = f->tenant_id,
    .device_id = device_id,
    .app_version = pending >= 0 ? "0.2.0" : NULL,
    .event = VDS_DEVICE_PULLED,
    .cursor = cursor,
    .pending = pending,
    .now = at,
    .reached = reached,
  };

  g_assert_true (vds_store_report_pulls (f->store, &r, 1, &error));
  g_assert_no_error (error);
}

/* Pulls are reported late and in batches (syncd writes them once a second): what they
 * tell lands as told, last_seen never moves back, and a desk that was up to date at its
 * pull counts as behind since that pull, not since an older lag. */
static void
test_pull_reports (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) changes = changes_new ();
  g_autoptr(JsonObject) answer = NULL;
  g_autoptr(JsonObject) answer2 = NULL;
  g_autoptr(GPtrArray) devices = NULL;
  g_autofree char *d1 = vd_uuid_new ();
  g_autofree char *d2 = vd_uuid_new ();
  g_autofree char *staff = vd_uuid_new ();
  g_autofree char *staff2 = vd_uuid_new ();
  const gint64 now = WALL_MS / 1000;
  VdsDeviceReport both[2];
  VdsDeviceInfo *info;
  gint64 seq, seq2;

  /* Only the lag rule matters here, not opening hours. */
  vds_store_set_offline_after (f->store, 100000);
  g_ptr_array_add (changes, staff_change (f, staff, "Dra. López"));
  answer = push_ok (f, changes);
  seq = tenant_seq (f, f->tenant_id);

  /* Two desks pulled from 0 an hour ago: behind since then. */
  memset (both, 0, sizeof both);
  for (guint i = 0; i < 2; i++)
    {
      both[i].tenant_id = f->tenant_id;
      both[i].device_id = i == 0 ? d1 : d2;
      both[i].event = VDS_DEVICE_PULLED;
      both[i].cursor = 0;
      both[i].pending = -1;
      both[i].now = now - 3600;
    }
  g_assert_true (vds_store_report_pulls (f->store, both, 2, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (clinic_health (f), ==, "lagging");

  /* Both pull up to seq; a push moves the clinic on before their reports are written. */
  g_ptr_array_set_size (changes, 0);
  g_ptr_array_add (changes, staff_change (f, staff2, "Dr. Gil"));
  answer2 = push_ok (f, changes);
  seq2 = tenant_seq (f, f->tenant_id);
  g_assert_cmpint (seq2, >, seq);

  /* d1 had reached the clinic's seq at its pull: behind since then only (10 s). */
  pulled (f, d1, seq, now - 10, 3, TRUE);
  g_assert_cmpstr (clinic_health (f), ==, "lagging");   /* d2 still is */
  /* d2's pull told more pages: still behind since an hour ago. */
  pulled (f, d2, seq, now - 10, -1, FALSE);
  g_assert_cmpstr (clinic_health (f), ==, "lagging");
  pulled (f, d2, seq, now - 5, -1, TRUE);
  g_assert_cmpstr (clinic_health (f), ==, "ok");

  devices = vds_store_admin_devices (f->store, f->tenant_id, &error);
  g_assert_no_error (error);
  info = find_device_info (devices, d1);
  g_assert_cmpint (info->cursor, ==, seq);
  g_assert_cmpint (info->lag, ==, seq2 - seq);
  g_assert_cmpint (info->last_pull_at, ==, now - 10);
  g_assert_cmpint (info->last_seen, ==, now - 10);
  g_assert_cmpint (info->first_seen, ==, now - 3600);
  g_assert_cmpint (info->pending, ==, 3);
  g_assert_cmpstr (info->app_version, ==, "0.2.0");
  g_clear_pointer (&devices, g_ptr_array_unref);

  /* d1 pushes (written at once), then a pull older than the push is written: last_seen
   * stays at the push, the pull's cursor lands, what it did not tell stays. */
  {
    VdsDeviceReport push = {
      .tenant_id = f->tenant_id, .device_id = d1, .event = VDS_DEVICE_PUSHED,
      .cursor = -1, .pending = -1, .now = now,
    };

    g_assert_true (vds_store_report_device (f->store, &push, &error));
    g_assert_no_error (error);
  }
  pulled (f, d1, seq2, now - 2, -1, TRUE);
  devices = vds_store_admin_devices (f->store, f->tenant_id, &error);
  info = find_device_info (devices, d1);
  g_assert_cmpint (info->last_seen, ==, now);
  g_assert_cmpint (info->last_push_at, ==, now);
  g_assert_cmpint (info->last_pull_at, ==, now - 2);
  g_assert_cmpint (info->cursor, ==, seq2);
  g_assert_cmpint (info->lag, ==, 0);
  g_assert_cmpint (info->pending, ==, 3);
  g_assert_cmpstr (info->app_version, ==, "0.2.0");
  g_assert_cmpstr (clinic_health (f), ==, "ok");

  /* A report of a clinic that is not a uuid is refused whole. */
  both[0].tenant_id = "nope";
  g_assert_false (vds_store_report_pulls (f->store, both, 2, &error));
  g_assert_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND);
}

typedef struct
{
  char    *id;
  guint    staff;
  gint64   s, e;
  gboolean active;
} Booking;

static void
booking_clear (gpointer data)
{
  g_free (((Booking *) data)->id);
}

/* The open double bookings in the replica, as "low high" pairs, sorted. */
static gint
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The appointment ids a conflict's detail names, sorted, space-separated. */
static char *
detail_ids (const char *detail)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  GString *out = g_string_new (NULL);

  for (const char *p = detail; p != NULL && strlen (p) >= VD_UUID_LEN; p++)
    {
      g_autofree char *candidate = g_strndup (p, VD_UUID_LEN);

      if (vd_uuid_is_valid (candidate))
        {
          g_ptr_array_add (ids, g_steal_pointer (&candidate));
          p += VD_UUID_LEN - 1;
        }
    }
  g_ptr_array_sort (ids, compare_strings);
  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf (out, "%s%s", i > 0 ? " " : "", (char *) ids->pdata[i]);
  return g_string_free (out, FALSE);
}

/* The open double bookings of the replica, each as "row_id other_row_id: ids the detail
 * names", sorted. */
static GPtrArray *
replica_groups (Fixture *f)
{
  GPtrArray *groups = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (f->replica_db,
                                       "SELECT row_id, other_row_id, detail FROM conflicts WHERE "
                                       "kind = 'double_booking' AND resolved_at IS NULL "
                                       "AND NOT deleted ORDER BY row_id, other_row_id",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autofree char *ids = detail_ids ((const char *) sqlite3_column_text (stmt, 2));

      g_ptr_array_add (groups, g_strdup_printf ("%s %s: %s", sqlite3_column_text (stmt, 0),
                                                sqlite3_column_text (stmt, 1), ids));
    }
  sqlite3_finalize (stmt);
  g_ptr_array_sort (groups, compare_strings);
  return groups;
}

/* The groups of active bookings of one staff member linked by overlaps (directly or
 * through others), by brute force over the overlap graph, in replica_groups' form. */
static GPtrArray *
expected_groups (GArray *bookings)
{
  GPtrArray *groups = g_ptr_array_new_with_free_func (g_free);
  g_autofree guint *parent = g_new (guint, bookings->len);

  for (guint i = 0; i < bookings->len; i++)
    parent[i] = i;
  for (guint i = 0; i < bookings->len; i++)
    for (guint j = i + 1; j < bookings->len; j++)
      {
        const Booking *a = &g_array_index (bookings, Booking, i);
        const Booking *b = &g_array_index (bookings, Booking, j);

        if (a->active && b->active && a->staff == b->staff && a->s < b->e && b->s < a->e)
          {
            guint ri = i, rj = j;

            while (parent[ri] != ri)
              ri = parent[ri];
            while (parent[rj] != rj)
              rj = parent[rj];
            parent[MAX (ri, rj)] = MIN (ri, rj);
          }
      }
  for (guint root = 0; root < bookings->len; root++)
    {
      g_autoptr(GPtrArray) ids = g_ptr_array_new ();
      GString *text;

      for (guint i = 0; i < bookings->len; i++)
        {
          guint r = i;

          while (parent[r] != r)
            r = parent[r];
          if (r == root)
            g_ptr_array_add (ids, g_array_index (bookings, Booking, i).id);
        }
      if (ids->len < 2)
        continue;
      g_ptr_array_sort (ids, compare_strings);
      text = g_string_new (NULL);
      g_string_append_printf (text, "%s %s:", (char *) ids->pdata[0], (char *) ids->pdata[1]);
      for (guint i = 0; i < ids->len; i++)
        g_string_append_printf (text, "%s%s", i > 0 ? " " : " ", (char *) ids->pdata[i]);
      g_ptr_array_add (groups, g_string_free (text, FALSE));
    }
  g_ptr_array_sort (groups, compare_strings);
  return groups;
}

/* Double bookings found per push are exactly the groups of overlapping bookings, one
 * conflict each naming every member: random bookings of three vets, lengths up to the
 * 24-hour maximum, pushed in batches, then moved, cancelled and allowed to overlap. */
static void
test_overlaps_random (Fixture       *f,
                      gconstpointer  data)
{
  const char *env = g_getenv ("VD_SEED");
  guint32 seed = env != NULL ? (guint32) g_ascii_strtoull (env, NULL, 10) : 20261128;
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GArray) bookings = g_array_new (FALSE, TRUE, sizeof (Booking));
  g_autoptr(GPtrArray) changes = changes_new ();
  g_autofree char *client = vd_uuid_new ();
  g_autofree char *pet = vd_uuid_new ();
  char *staff[3];
  /* 2024-05-06T08:00:00Z, a Monday: bookings over three days from there. */
  const gint64 base = 1714982400;
  guint total_pairs = 0;

  g_array_set_clear_func (bookings, booking_clear);
  g_test_message ("seed %u (replay with VD_SEED=%u)", seed, seed);

  for (guint i = 0; i < G_N_ELEMENTS (staff); i++)
    {
      staff[i] = vd_uuid_new ();
      g_ptr_array_add (changes, staff_change (f, staff[i], "Vet"));
    }
  g_ptr_array_add (changes, client_change (f, client, "Ana", "Ruiz"));
  g_ptr_array_add (changes, pet_change (f, pet, client, "Rex"));
  {
    g_autoptr(JsonObject) answer = push_ok (f, changes);

    assert_all_accepted (answer, 5);
  }

  for (guint round = 0; round < 6; round++)
    {
      g_autoptr(GPtrArray) got = NULL;
      g_autoptr(GPtrArray) want = NULL;
      g_autoptr(JsonObject) answer = NULL;
      guint n = 0;

      g_ptr_array_set_size (changes, 0);
      /* Rounds 0–2 book 40 each; later rounds change 25 existing ones. */
      for (guint k = 0; k < (round < 3 ? 40u : 25u); k++)
        {
          Booking *b;
          VdChange *c;
          char starts[21], ends[21];
          gint64 length;

          if (round < 3)
            {
              Booking fresh = { vd_uuid_new (), 0, 0, 0, TRUE };

              g_array_append_val (bookings, fresh);
              b = &g_array_index (bookings, Booking, bookings->len - 1);
            }
          else
            b = &g_array_index (bookings, Booking, g_rand_int_range (rand, 0, bookings->len));

          if (round < 3 || g_rand_int_range (rand, 0, 3) == 0)
            {
              b->staff = g_rand_int_range (rand, 0, 3);
              b->s = base + 900 * g_rand_int_range (rand, 0, 3 * 96);
              length = g_rand_int_range (rand, 0, 20) == 0 ? 24 * 3600
                       : 900 * g_rand_int_range (rand, 1, 13);
              b->e = b->s + length;
              vd_time_format_utc (b->s, starts);
              vd_time_format_utc (b->e, ends);
              c = appointment_change (f, b->id, pet, client, staff[b->staff], starts, ends);
              b->active = TRUE;
            }
          else
            {
              /* Cancelled, allowed to overlap, or back to normal. */
              guint what = g_rand_int_range (rand, 0, 3);

              c = change_new (f, "appointments", b->id);
              put_text (c, "status", what == 0 ? "cancelled" : "confirmed");
              put_bool (c, "allow_overlap", what == 1);
              b->active = what == 2;
            }
          g_ptr_array_add (changes, c);
          n++;
        }
      answer = push_ok (f, changes);
      assert_all_accepted (answer, n);
      sync_replica (f);

      got = replica_groups (f);
      want = expected_groups (bookings);
      if (got->len != want->len)
        g_test_message ("round %u: %u open double bookings, %u groups", round,
                        got->len, want->len);
      g_assert_cmpuint (got->len, ==, want->len);
      for (guint i = 0; i < want->len; i++)
        g_assert_cmpstr (got->pdata[i], ==, want->pdata[i]);
      total_pairs += want->len;
    }
  /* The draw must have made overlaps to check at all. */
  g_assert_cmpuint (total_pairs, >, 10);

  for (guint i = 0; i < G_N_ELEMENTS (staff); i++)
    g_free (staff[i]);
}

/* ---- Main -------------------------------------------------------------------------- */

typedef void (*CaseFunc) (Fixture *, gconstpointer);

static const struct
{
  const char *name;
  CaseFunc    func;
} cases[] = {
  { "migrations", test_migrations },
  { "people", test_people },
  { "login-failures", test_login_failures },
  { "sessions", test_sessions },
  { "push-pull", test_push_pull },
  { "pull-pages", test_pull_pages },
  { "replay", test_replay },
  { "skew-and-rejections", test_skew_and_rejections },
  { "isolation", test_isolation },
  { "double-booking", test_double_booking },
  { "dangling", test_dangling },
  { "conflicts-linear", test_conflicts_linear },
  { "conflict-groups", test_conflict_groups },
  { "admin-tenants", test_admin_tenants },
  { "concurrent-pushes", test_concurrent_pushes },
  { "appointment-times", test_appointment_times },
  { "pull-cache", test_pull_cache },
  { "member-lookup", test_member_lookup },
  { "pull-reports", test_pull_reports },
  { "overlaps-random", test_overlaps_random },
  { "prune-sessions", test_prune_sessions },
};

static void
skip_postgres (void)
{
  const char *reason = vd_test_pg_unavailable_reason ();

  g_test_skip (reason != NULL ? reason : "PostgreSQL did not start");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gboolean with_pg = FALSE;
  int status;

  g_test_init (&argc, &argv, NULL);

  if (vd_test_pg_available ())
    {
      g_autoptr(GError) error = NULL;

      test_pg = vd_test_pg_start (&error);
      if (test_pg == NULL)
        g_printerr ("# PostgreSQL could not start: %s\n", error->message);
      with_pg = test_pg != NULL;
    }

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/store/sqlite/%s", cases[i].name);
      char *db_name = g_strdup_printf ("sqlite_%u", i);

      g_ptr_array_add (names, db_name);
      g_test_add (path, Fixture, db_name, fixture_set_up, cases[i].func, fixture_tear_down);
    }

  if (with_pg)
    {
      for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
        {
          g_autofree char *path = g_strdup_printf ("/store/postgres/%s", cases[i].name);
          g_autofree char *db_name = g_strdup_printf ("pg_%s", cases[i].name);
          char *safe = g_strdelimit (g_strdup (db_name), "-", '_');

          g_ptr_array_add (names, safe);
          g_test_add (path, Fixture, safe, fixture_set_up, cases[i].func, fixture_tear_down);
        }
    }
  else
    {
      g_test_add_func ("/store/postgres/skipped", skip_postgres);
    }

  status = g_test_run ();
  g_clear_pointer (&test_pg, vd_test_pg_stop);
  return status;
}
