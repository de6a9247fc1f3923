/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-cell-store.c — the SQLite cell store: LWW apply, deletes, paged listing after a
 * seq, tenant isolation, transactions, typed round trips and the data digest. Every
 * test runs on an in-memory database and on a WAL file with synchronous=FULL. */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "vd-cell-store.h"
#include "vd-error.h"

#define TENANT_A "11111111-1111-4111-8111-111111111111"
#define TENANT_B "22222222-2222-4222-8222-222222222222"
#define SITE_A   "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define SITE_B   "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define SITE_C   "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
#define ROW_1    "01010101-0101-4101-8101-010101010101"
#define ROW_2    "02020202-0202-4202-8202-020202020202"

typedef struct
{
  gboolean     on_disk;
  char        *dir;
  char        *path;
  sqlite3     *db;
  VdCellStore *store;
} Fixture;

static sqlite3 *
open_db (const char *path)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  if (strcmp (path, ":memory:") != 0)
    {
      g_assert_cmpint (sqlite3_exec (db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
                                     NULL, NULL, NULL), ==, SQLITE_OK);
    }
  return db;
}

static void
exec_sql (sqlite3    *db,
          const char *sql)
{
  char *msg = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
}

static VdCellStore *
store_new (sqlite3    *db,
           const char *tenant)
{
  g_autoptr(GError) error = NULL;
  VdCellStore *store = vd_cell_store_new (db, tenant, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  fixture->on_disk = GPOINTER_TO_INT (data);
  if (fixture->on_disk)
    {
      g_autoptr(GError) error = NULL;

      fixture->dir = g_dir_make_tmp ("test-cell-store-XXXXXX", &error);
      g_assert_no_error (error);
      fixture->path = g_build_filename (fixture->dir, "store.sqlite", NULL);
    }
  else
    {
      fixture->path = g_strdup (":memory:");
    }
  fixture->db = open_db (fixture->path);
  fixture->store = store_new (fixture->db, TENANT_A);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_pointer (&fixture->store, vd_cell_store_free);
  g_assert_cmpint (sqlite3_close (fixture->db), ==, SQLITE_OK);
  if (fixture->on_disk)
    {
      g_autofree char *wal = g_strconcat (fixture->path, "-wal", NULL);
      g_autofree char *shm = g_strconcat (fixture->path, "-shm", NULL);

      g_unlink (fixture->path);
      g_unlink (wal);
      g_unlink (shm);
      g_rmdir (fixture->dir);
    }
  g_free (fixture->path);
  g_free (fixture->dir);
}

/* Closes and reopens the database, so an on-disk fixture reads what really reached the
 * file. */
static void
fixture_reopen (Fixture *fixture)
{
  if (!fixture->on_disk)
    return;
  g_clear_pointer (&fixture->store, vd_cell_store_free);
  g_assert_cmpint (sqlite3_close (fixture->db), ==, SQLITE_OK);
  fixture->db = open_db (fixture->path);
  fixture->store = store_new (fixture->db, TENANT_A);
}

/* A value from a literal, read by the column's type: NULL → null, "true"/"false" for
 * booleans, a decimal for numbers, else text. */
static void
parse_value (const VdColumn *column,
             const char     *literal,
             VdValue        *value)
{
  value->kind = VD_VALUE_NULL;
  if (literal == NULL)
    return;
  switch (column->type)
    {
    case VD_TYPE_BOOLEAN:
      vd_value_set_bool (value, strcmp (literal, "true") == 0);
      break;
    case VD_TYPE_INTEGER:
      vd_value_set_int (value, g_ascii_strtoll (literal, NULL, 10));
      break;
    case VD_TYPE_REAL:
      vd_value_set_real (value, g_ascii_strtod (literal, NULL));
      break;
    default:
      vd_value_set_text (value, literal);
      break;
    }
}

/* mk ("pets", id, hlc, site, "name", "Rex", "deleted", "false", NULL) */
static VdChange *
mk (const char *table_name,
    const char *id,
    VdHlc       hlc,
    const char *site,
    ...)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  VdChange *change;
  const char *column_name;
  va_list args;

  g_assert_nonnull (table);
  change = vd_change_new (table, id, hlc, site);
  va_start (args, site);
  while ((column_name = va_arg (args, const char *)) != NULL)
    {
      const char *literal = va_arg (args, const char *);
      const VdColumn *column = vd_table_lookup_column (table, column_name);
      VdValue value = { VD_VALUE_NULL };

      g_assert_nonnull (column);
      parse_value (column, literal, &value);
      vd_change_take_cell (change, column, &value);
    }
  va_end (args);
  return change;
}

/* Applies and frees the change; returns the number of cells that won. */
static guint
apply (VdCellStore *store,
       VdChange    *change)
{
  g_autoptr(GError) error = NULL;
  guint applied = G_MAXUINT;

  g_assert_true (vd_cell_store_apply (store, change, &applied, &error));
  g_assert_no_error (error);
  vd_change_free (change);
  return applied;
}

static char *
value_repr (const VdValue *value)
{
  switch (value->kind)
    {
    case VD_VALUE_NULL:
      return g_strdup ("null");
    case VD_VALUE_INT:
      return g_strdup_printf ("i:%" G_GINT64_FORMAT, value->i);
    case VD_VALUE_REAL:
      return g_strdup_printf ("r:%.17g", value->r);
    case VD_VALUE_BOOL:
      return g_strdup (value->b ? "b:true" : "b:false");
    case VD_VALUE_TEXT:
    default:
      return g_strdup_printf ("s:%s", value->s);
    }
}

/* One cell as text ("s:Rex", "b:true", "null"), or "absent" when the row is missing. */
static char *
cell (VdCellStore *store,
      const char  *table_name,
      const char  *id,
      const char  *column_name)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  const VdColumn *column = vd_table_lookup_column (table, column_name);
  g_autofree VdValue *values = g_new0 (VdValue, table->n_columns);
  g_autofree VdCellClock *clocks = g_new0 (VdCellClock, table->n_columns);
  g_autoptr(GError) error = NULL;
  char *repr;

  if (!vd_cell_store_get_row (store, table, id, values, clocks, NULL, &error))
    {
      g_assert_no_error (error);
      return g_strdup ("absent");
    }
  repr = value_repr (&values[column->index]);
  for (guint c = 0; c < table->n_columns; c++)
    vd_value_clear (&values[c]);
  return repr;
}

#define assert_cell(store, table, id, column, expect) \
  G_STMT_START { \
    g_autofree char *got__ = cell (store, table, id, column); \
    g_assert_cmpstr (got__, ==, expect); \
  } G_STMT_END

static GPtrArray *
since (VdCellStore *store,
       gint64       after,
       guint        limit,
       gint64      *cursor,
       gboolean    *more)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *changes = vd_cell_store_changes_since (store, after, limit, cursor, more, &error);

  g_assert_no_error (error);
  g_assert_nonnull (changes);
  return changes;
}

static char *
digest (VdCellStore *store)
{
  g_autoptr(GError) error = NULL;
  char *d = vd_cell_store_digest (store, &error);

  g_assert_no_error (error);
  g_assert_nonnull (d);
  g_assert_cmpuint (strlen (d), ==, 64);
  return d;
}

/* ---- Apply ----------------------------------------------------------------------- */

static void
test_apply_creates_row (Fixture       *fixture,
                        gconstpointer  data)
{
  const VdTable *clients = vd_schema_lookup_table ("clients");
  const VdColumn *first = vd_table_lookup_column (clients, "first_name");
  const VdColumn *address = vd_table_lookup_column (clients, "address");
  VdValue values[16] = { { 0 } };
  VdCellClock clocks[16];
  gint64 seq = -1;
  guint8 site_a[16];
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 0);
  g_assert_cmpuint (apply (fixture->store,
                           mk ("clients", ROW_1, 100, SITE_A, "first_name", "Ana",
                               "last_name", "Ruiz", "email", "ana@example.com",
                               "deleted", "false", NULL)), ==, 4);
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 1);

  fixture_reopen (fixture);
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 1);
  g_assert_true (vd_cell_store_get_row (fixture->store, clients, ROW_1, values, clocks, &seq,
                                        &error));
  g_assert_no_error (error);
  g_assert_cmpint (seq, ==, 1);
  g_assert_cmpint (values[first->index].kind, ==, VD_VALUE_TEXT);
  g_assert_cmpstr (values[first->index].s, ==, "Ana");
  g_assert_cmpint (values[address->index].kind, ==, VD_VALUE_NULL);
  g_assert_cmpuint (clocks[first->index].clock.hlc, ==, 100);
  g_assert_true (vd_uuid_to_bytes (SITE_A, site_a));
  g_assert_cmpmem (clocks[first->index].clock.site, 16, site_a, 16);
  g_assert_cmpint (clocks[first->index].seq, ==, 1);
  /* Never written: the zero clock. */
  g_assert_cmpuint (clocks[address->index].clock.hlc, ==, 0);
  g_assert_cmpint (clocks[address->index].seq, ==, 0);
  for (guint c = 0; c < clients->n_columns; c++)
    vd_value_clear (&values[c]);

  g_assert_cmpstr (vd_cell_store_get_tenant_id (fixture->store), ==, TENANT_A);
  g_assert_true (vd_cell_store_get_db (fixture->store) == fixture->db);
}

static void
test_get_row_missing (Fixture       *fixture,
                      gconstpointer  data)
{
  const VdTable *pets = vd_schema_lookup_table ("pets");
  VdValue values[16] = { { 0 } };
  VdCellClock clocks[16];
  gint64 seq = 42;
  g_autoptr(GError) error = NULL;

  g_assert_false (vd_cell_store_get_row (fixture->store, pets, ROW_1, values, clocks, &seq,
                                         &error));
  g_assert_no_error (error);
  g_assert_cmpint (seq, ==, 0);

  /* The same id in another table is another row. */
  apply (fixture->store, mk ("clients", ROW_1, 5, SITE_A, "first_name", "Ana", NULL));
  g_assert_false (vd_cell_store_get_row (fixture->store, pets, ROW_1, values, clocks, NULL,
                                         &error));
  g_assert_no_error (error);
}

static void
test_older_loses (Fixture       *fixture,
                  gconstpointer  data)
{
  const VdTable *clients = vd_schema_lookup_table ("clients");
  VdValue values[16] = { { 0 } };
  VdCellClock clocks[16];
  gint64 seq = 0;

  apply (fixture->store, mk ("clients", ROW_1, 100, SITE_A, "first_name", "Ana",
                             "last_name", "Ruiz", NULL));
  g_assert_cmpuint (apply (fixture->store,
                           mk ("clients", ROW_1, 99, SITE_C, "first_name", "Old", NULL)), ==, 0);
  assert_cell (fixture->store, "clients", ROW_1, "first_name", "s:Ana");
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 1);

  /* A newer write of one cell wins that cell alone and takes the next seq. */
  g_assert_cmpuint (apply (fixture->store,
                           mk ("clients", ROW_1, 101, SITE_A, "first_name", "Ana María",
                               "last_name", "Old", NULL)), ==, 2);
  g_assert_cmpuint (apply (fixture->store,
                           mk ("clients", ROW_1, 100, SITE_B, "first_name", "Lost",
                               "last_name", "Gil", NULL)), ==, 0);
  g_assert_cmpuint (apply (fixture->store,
                           mk ("clients", ROW_1, 102, SITE_B, "first_name", "Ana Mª",
                               "email", "a@example.com", "last_name", NULL, NULL)), ==, 3);
  fixture_reopen (fixture);
  assert_cell (fixture->store, "clients", ROW_1, "first_name", "s:Ana Mª");
  assert_cell (fixture->store, "clients", ROW_1, "last_name", "null");
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 3);

  g_assert_true (vd_cell_store_get_row (fixture->store, clients, ROW_1, values, clocks, &seq,
                                        NULL));
  g_assert_cmpint (seq, ==, 3);
  g_assert_cmpint (clocks[vd_table_lookup_column (clients, "first_name")->index].seq, ==, 3);
  for (guint c = 0; c < clients->n_columns; c++)
    vd_value_clear (&values[c]);
}

static void
test_equal_is_noop (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(VdChange) write = mk ("pets", ROW_1, 500, SITE_B, "name", "Rex", "species", "dog",
                                  "deleted", "false", NULL);
  g_autoptr(GError) error = NULL;
  guint applied = G_MAXUINT;

  g_assert_true (vd_cell_store_apply (fixture->store, write, &applied, &error));
  g_assert_cmpuint (applied, ==, 3);
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 1);

  /* The same write again, as a duplicated delivery: nothing changes, no seq is spent. */
  for (guint i = 0; i < 3; i++)
    {
      g_assert_true (vd_cell_store_apply (fixture->store, write, &applied, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (applied, ==, 0);
      g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 1);
    }
  g_assert_true (vd_cell_store_apply (fixture->store, write, NULL, &error));
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 1);

  /* Same hlc: the greater site wins, the smaller loses. */
  g_assert_cmpuint (apply (fixture->store, mk ("pets", ROW_1, 500, SITE_A, "name", "Max", NULL)),
                    ==, 0);
  assert_cell (fixture->store, "pets", ROW_1, "name", "s:Rex");
  g_assert_cmpuint (apply (fixture->store, mk ("pets", ROW_1, 500, SITE_C, "name", "Toby", NULL)),
                    ==, 1);
  assert_cell (fixture->store, "pets", ROW_1, "name", "s:Toby");
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 2);
}

/* The delete and a concurrent edit, then a later edit, in both orders, each order in its
 * own tenant of the same database. */
static void
test_delete_then_edit (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(VdCellStore) other = store_new (fixture->db, TENANT_B);
  VdCellStore *stores[2] = { fixture->store, other };

  for (guint o = 0; o < 2; o++)
    {
      VdCellStore *store = stores[o];
      VdChange *writes[4];

      writes[0] = mk ("appointments", ROW_1, 10, SITE_A, "status", "scheduled", "room", "1",
                      "deleted", "false", NULL);
      writes[1] = mk ("appointments", ROW_1, 20, SITE_A, "deleted", "true", NULL);
      writes[2] = mk ("appointments", ROW_1, 15, SITE_B, "room", "2", NULL);
      writes[3] = mk ("appointments", ROW_1, 25, SITE_B, "status", "confirmed", NULL);
      for (guint i = 0; i < 4; i++)
        apply (store, writes[o == 0 ? i : 3 - i]);

      assert_cell (store, "appointments", ROW_1, "deleted", "b:true");
      assert_cell (store, "appointments", ROW_1, "room", "s:2");
      assert_cell (store, "appointments", ROW_1, "status", "s:confirmed");

      /* An older undelete loses; a later one brings the row back. */
      g_assert_cmpuint (apply (store, mk ("appointments", ROW_1, 19, SITE_C, "deleted", "false",
                                          NULL)), ==, 0);
      assert_cell (store, "appointments", ROW_1, "deleted", "b:true");
      g_assert_cmpuint (apply (store, mk ("appointments", ROW_1, 30, SITE_C, "deleted", "false",
                                          NULL)), ==, 1);
      assert_cell (store, "appointments", ROW_1, "deleted", "b:false");
      assert_cell (store, "appointments", ROW_1, "status", "s:confirmed");
    }

  {
    g_autofree char *da = digest (fixture->store);
    g_autofree char *db = digest (other);

    g_assert_cmpstr (da, ==, db);
  }
}

/* An edit that arrives before the row's create (a reordered delivery) makes a partial
 * row that is not deleted, and the create completes it. */
static void
test_edit_before_create (Fixture       *fixture,
                         gconstpointer  data)
{
  g_assert_cmpuint (apply (fixture->store, mk ("pets", ROW_2, 20, SITE_B, "weight_kg", "4.5",
                                               NULL)), ==, 1);
  assert_cell (fixture->store, "pets", ROW_2, "deleted", "b:false");
  assert_cell (fixture->store, "pets", ROW_2, "name", "null");
  g_assert_cmpuint (apply (fixture->store, mk ("pets", ROW_2, 10, SITE_A, "weight_kg", "4",
                                               "name", "Luna", "deleted", "false", NULL)), ==, 2);
  assert_cell (fixture->store, "pets", ROW_2, "weight_kg", "r:4.5");
  assert_cell (fixture->store, "pets", ROW_2, "name", "s:Luna");
}

/* ---- Listing after a seq --------------------------------------------------------- */

static const char *client_tables[] = { "staff", "clients", "pets", "appointments" };

static void
random_literal_value (GRand          *rand,
                      const VdColumn *column,
                      VdValue        *value)
{
  switch (column->type)
    {
    case VD_TYPE_BOOLEAN:
      vd_value_set_bool (value, g_rand_boolean (rand));
      break;
    case VD_TYPE_INTEGER:
      vd_value_set_int (value, g_rand_int_range (rand, -1000, 1000));
      break;
    case VD_TYPE_REAL:
      vd_value_set_real (value, g_rand_int_range (rand, 1, 4000) / 8.0);
      break;
    default:
      if (column->nullable && g_rand_int_range (rand, 0, 6) == 0)
        vd_value_set_null (value);
      else
        vd_value_take_text (value, g_strdup_printf ("%s-%u", column->name,
                                                    g_rand_int_range (rand, 0, 100000)));
      break;
    }
}

static char *
cell_key (const VdTable  *table,
          const char     *id,
          const VdColumn *column)
{
  return g_strdup_printf ("%s/%s/%s", table->name, id, column->name);
}

static char *
cell_state (const VdValue *value,
            VdHlc          hlc,
            const char    *site)
{
  g_autofree char *v = value_repr (value);

  return g_strdup_printf ("%s@%016" G_GINT64_MODIFIER "x/%s", v, hlc, site);
}

static void
test_changes_since_pages (Fixture       *fixture,
                          gconstpointer  data)
{
  static const char *sites[] = { SITE_A, SITE_B, SITE_C };
  GRand *rand = g_rand_new_with_seed (2024);
  g_autoptr(GHashTable) model = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) rows_seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  VdHlc hlc = vd_hlc_make (1700000000000, 0);
  gint64 cursor = 0;
  gboolean more = TRUE;
  guint pages = 0;
  gint64 last_seq = 0;

  exec_sql (fixture->db, "BEGIN");
  for (guint r = 0; r < 1000; r++)
    {
      const VdTable *table = vd_schema_lookup_table (client_tables[r % 4]);
      char *id = g_strdup_printf ("%08x-0000-4000-8000-%012x", r, r * 7919);
      VdChange *change = vd_change_new (table, id, ++hlc, sites[r % 3]);

      for (guint c = 0; c < table->n_columns; c++)
        {
          VdValue value = { VD_VALUE_NULL };

          random_literal_value (rand, &table->columns[c], &value);
          g_hash_table_insert (model, cell_key (table, id, &table->columns[c]),
                               cell_state (&value, change->hlc, change->site));
          vd_change_take_cell (change, &table->columns[c], &value);
        }
      apply (fixture->store, change);
      g_ptr_array_add (ids, id);
    }
  /* Later edits of a few cells, from several sites, so rows carry several (hlc, site)
   * groups. */
  for (guint e = 0; e < 1500; e++)
    {
      guint r = g_rand_int_range (rand, 0, 1000);
      const VdTable *table = vd_schema_lookup_table (client_tables[r % 4]);
      const char *site = sites[g_rand_int_range (rand, 0, 3)];
      VdChange *change;
      guint n = g_rand_int_range (rand, 1, 4);

      hlc++;
      change = vd_change_new (table, ids->pdata[r], hlc, site);
      for (guint k = 0; k < n; k++)
        {
          const VdColumn *column = &table->columns[g_rand_int_range (rand, 0, table->n_columns)];
          VdValue value = { VD_VALUE_NULL };

          random_literal_value (rand, column, &value);
          g_hash_table_insert (model, cell_key (table, ids->pdata[r], column),
                               cell_state (&value, hlc, site));
          vd_change_take_cell (change, column, &value);
        }
      /* Each edit is newer than everything before it, so it wins. */
      g_assert_cmpuint (apply (fixture->store, change), >, 0);
    }
  exec_sql (fixture->db, "COMMIT");
  fixture_reopen (fixture);

  while (more)
    {
      g_autoptr(GPtrArray) page = since (fixture->store, cursor, 7, &cursor, &more);
      g_autoptr(GHashTable) page_rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                               NULL);
      g_autofree char *prev_row = NULL;

      pages++;
      if (more)
        g_assert_cmpuint (page->len, >, 0);
      if (page->len == 0)
        {
          g_assert_false (more);
          break;
        }
      for (guint i = 0; i < page->len; i++)
        {
          const VdChange *change = page->pdata[i];
          g_autofree char *row = g_strdup_printf ("%s/%s", change->table->name, change->id);

          /* A row's changes are contiguous, share its seq, and are in no other page;
           * rows come in increasing seq. */
          if (prev_row == NULL || strcmp (prev_row, row) != 0)
            {
              g_assert_cmpint (change->seq, >, last_seq);
              last_seq = change->seq;
              g_assert_false (g_hash_table_contains (rows_seen, row));
              g_hash_table_add (rows_seen, g_strdup (row));
              g_hash_table_add (page_rows, g_strdup (row));
            }
          g_assert_cmpint (change->seq, ==, last_seq);
          g_free (prev_row);
          prev_row = g_strdup (row);
          g_assert_cmpuint (change->cells->len, >, 0);
          for (guint k = 0; k < change->cells->len; k++)
            {
              const VdCell *c = &g_array_index (change->cells, VdCell, k);
              g_autofree char *key = cell_key (change->table, change->id, c->column);
              g_autofree char *state = cell_state (&c->value, change->hlc, change->site);

              /* Every cell once, at its latest value and clock. */
              g_assert_false (g_hash_table_contains (seen, key));
              g_assert_cmpstr (state, ==, g_hash_table_lookup (model, key));
              g_hash_table_add (seen, g_steal_pointer (&key));
            }
        }
      /* At most 7 changes unless the page is one whole row. */
      if (g_hash_table_size (page_rows) > 1)
        g_assert_cmpuint (page->len, <=, 7);
      g_assert_cmpint (cursor, ==, ((VdChange *) page->pdata[page->len - 1])->seq);
    }

  g_assert_cmpuint (g_hash_table_size (rows_seen), ==, 1000);
  g_assert_cmpuint (g_hash_table_size (seen), ==, g_hash_table_size (model));
  g_assert_cmpint (cursor, ==, vd_cell_store_get_seq (fixture->store));
  g_assert_cmpuint (pages, >, 1000 / 7);

  /* Past the end: nothing, no more, the cursor stays. */
  {
    gint64 end = -1;
    g_autoptr(GPtrArray) none = since (fixture->store, cursor, 7, &end, &more);

    g_assert_cmpuint (none->len, ==, 0);
    g_assert_false (more);
    g_assert_cmpint (end, ==, cursor);
  }

  /* One more edit: that row alone follows the cursor, whole, the edit in a change of
   * its own. */
  {
    const VdTable *staff = vd_schema_lookup_table ("staff");
    gint64 end = -1;
    g_autoptr(GPtrArray) next = NULL;
    guint n_cells = 0;
    gboolean found = FALSE;

    apply (fixture->store, mk ("staff", ids->pdata[0], hlc + 1, SITE_A, "name", "Dr. Vega", NULL));
    next = since (fixture->store, cursor, 7, &end, &more);
    g_assert_cmpuint (next->len, >, 0);
    for (guint i = 0; i < next->len; i++)
      {
        const VdChange *change = next->pdata[i];

        g_assert_true (change->table == staff);
        g_assert_cmpstr (change->id, ==, ids->pdata[0]);
        n_cells += change->cells->len;
        if (change->hlc == hlc + 1)
          {
            g_assert_cmpuint (change->cells->len, ==, 1);
            g_assert_cmpstr (g_array_index (change->cells, VdCell, 0).value.s, ==, "Dr. Vega");
            found = TRUE;
          }
      }
    g_assert_true (found);
    g_assert_cmpuint (n_cells, ==, staff->n_columns);
    g_assert_cmpint (end, ==, cursor + 1);
    g_assert_false (more);
  }

  g_rand_free (rand);
}

/* The first row always comes whole, even past the limit, and 'more' is exact at the
 * boundary. */
static void
test_changes_since_limits (Fixture       *fixture,
                           gconstpointer  data)
{
  gint64 cursor = -1;
  gboolean more = FALSE;

  /* ROW_1: three groups; ROW_2 (another table): one. */
  apply (fixture->store, mk ("clients", ROW_1, 10, SITE_A, "first_name", "A", NULL));
  apply (fixture->store, mk ("clients", ROW_1, 11, SITE_B, "last_name", "B", NULL));
  apply (fixture->store, mk ("clients", ROW_1, 11, SITE_C, "email", "c@example.com", NULL));
  apply (fixture->store, mk ("staff", ROW_2, 12, SITE_A, "name", "Vet", NULL));

  for (guint limit = 0; limit <= 3; limit++)
    {
      g_autoptr(GPtrArray) page = since (fixture->store, 0, limit, &cursor, &more);

      g_assert_cmpuint (page->len, ==, 3);
      g_assert_cmpint (cursor, ==, 3);
      g_assert_true (more);
      /* (hlc, site) order inside the row. */
      g_assert_cmpuint (((VdChange *) page->pdata[0])->hlc, ==, 10);
      g_assert_cmpstr (((VdChange *) page->pdata[1])->site, ==, SITE_B);
      g_assert_cmpstr (((VdChange *) page->pdata[2])->site, ==, SITE_C);
    }
  {
    g_autoptr(GPtrArray) page = since (fixture->store, 0, 4, &cursor, &more);

    g_assert_cmpuint (page->len, ==, 4);
    g_assert_cmpint (cursor, ==, 4);
    g_assert_false (more);
  }
  {
    g_autoptr(GPtrArray) page = since (fixture->store, 3, 0, &cursor, &more);

    g_assert_cmpuint (page->len, ==, 1);
    g_assert_cmpstr (((VdChange *) page->pdata[0])->table->name, ==, "staff");
    g_assert_cmpint (cursor, ==, 4);
    g_assert_false (more);
  }
  /* A row moved on by a later write comes whole after the cursor, its older cells too:
   * they were never sent, since the row was not in the pages that passed their seqs. */
  apply (fixture->store, mk ("clients", ROW_1, 13, SITE_A, "address", "Calle 1", NULL));
  {
    g_autoptr(GPtrArray) page = since (fixture->store, 4, 100, &cursor, &more);
    const VdChange *change;

    g_assert_cmpuint (page->len, ==, 4);
    change = page->pdata[3];
    g_assert_cmpuint (change->hlc, ==, 13);
    g_assert_cmpuint (change->cells->len, ==, 1);
    g_assert_cmpstr (g_array_index (change->cells, VdCell, 0).column->name, ==, "address");
    for (guint i = 0; i < page->len; i++)
      g_assert_cmpint (((VdChange *) page->pdata[i])->seq, ==, 5);
    g_assert_cmpint (cursor, ==, 5);
    g_assert_false (more);
  }
  /* Paging from 0 one row at a time: staff (seq 4), then clients (seq 5) with its cell
   * of seq 1, below the first page's cursor. */
  {
    g_autoptr(GPtrArray) first = since (fixture->store, 0, 1, &cursor, &more);
    g_autoptr(GPtrArray) second = NULL;

    g_assert_cmpuint (first->len, ==, 1);
    g_assert_cmpint (cursor, ==, 4);
    g_assert_true (more);
    second = since (fixture->store, cursor, 1, &cursor, &more);
    g_assert_cmpuint (second->len, ==, 4);
    g_assert_cmpuint (((VdChange *) second->pdata[0])->hlc, ==, 10);
    g_assert_cmpstr (g_array_index (((VdChange *) second->pdata[0])->cells, VdCell, 0).value.s,
                     ==, "A");
    g_assert_false (more);
  }
}

/* ---- Tenants and transactions ---------------------------------------------------- */

static void
test_tenants_isolated (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(VdCellStore) b = store_new (fixture->db, TENANT_B);
  g_autofree char *empty = digest (b);
  gint64 cursor = -1;
  gboolean more = TRUE;

  apply (fixture->store, mk ("clients", ROW_1, 100, SITE_A, "first_name", "Ana", NULL));
  apply (fixture->store, mk ("pets", ROW_2, 100, SITE_A, "name", "Rex", NULL));

  {
    g_autoptr(GPtrArray) nothing = since (b, 0, 100, &cursor, &more);
    g_autofree char *d = digest (b);

    g_assert_cmpuint (nothing->len, ==, 0);
    g_assert_false (more);
    g_assert_cmpint (cursor, ==, 0);
    g_assert_cmpint (vd_cell_store_get_seq (b), ==, 0);
    g_assert_cmpstr (d, ==, empty);
    assert_cell (b, "clients", ROW_1, "first_name", "absent");
  }

  /* The same id in B is B's own row: an older write still creates it. */
  g_assert_cmpuint (apply (b, mk ("clients", ROW_1, 1, SITE_B, "first_name", "Bea", NULL)), ==, 1);
  g_assert_cmpint (vd_cell_store_get_seq (b), ==, 1);
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 2);
  assert_cell (b, "clients", ROW_1, "first_name", "s:Bea");
  assert_cell (fixture->store, "clients", ROW_1, "first_name", "s:Ana");

  {
    g_autoptr(GPtrArray) listed = since (b, 0, 100, &cursor, &more);
    g_autofree char *da = digest (fixture->store);
    g_autofree char *db = digest (b);

    g_assert_cmpuint (listed->len, ==, 1);
    g_assert_cmpstr (g_array_index (((VdChange *) listed->pdata[0])->cells, VdCell, 0).value.s,
                     ==, "Bea");
    g_assert_cmpstr (da, !=, db);
  }
}

static void
test_outer_transaction (Fixture       *fixture,
                        gconstpointer  data)
{
  gint64 cursor = -1;
  gboolean more = TRUE;

  exec_sql (fixture->db, "BEGIN");
  g_assert_cmpuint (apply (fixture->store, mk ("clients", ROW_1, 100, SITE_A, "first_name", "Ana",
                                               NULL)), ==, 1);
  assert_cell (fixture->store, "clients", ROW_1, "first_name", "s:Ana");
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 1);
  g_assert_false (sqlite3_get_autocommit (fixture->db));
  exec_sql (fixture->db, "ROLLBACK");

  assert_cell (fixture->store, "clients", ROW_1, "first_name", "absent");
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 0);
  {
    g_autoptr(GPtrArray) nothing = since (fixture->store, 0, 10, &cursor, &more);

    g_assert_cmpuint (nothing->len, ==, 0);
  }

  /* Committed by the caller, it stays. */
  exec_sql (fixture->db, "BEGIN");
  apply (fixture->store, mk ("clients", ROW_1, 100, SITE_A, "first_name", "Ana", NULL));
  apply (fixture->store, mk ("clients", ROW_2, 100, SITE_A, "first_name", "Eva", NULL));
  exec_sql (fixture->db, "COMMIT");
  fixture_reopen (fixture);
  assert_cell (fixture->store, "clients", ROW_2, "first_name", "s:Eva");
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 2);
}

/* A write that fails part-way leaves nothing of itself, the caller's transaction intact,
 * and no transaction open when there was none. */
static void
test_failed_apply_rolls_back (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(VdChange) boom = mk ("clients", ROW_2, 200, SITE_A, "first_name", "boom", NULL);
  g_autoptr(GError) error = NULL;
  guint applied = 7;

  exec_sql (fixture->db,
            "CREATE TEMP TRIGGER refuse_boom BEFORE INSERT ON main.clients "
            "WHEN NEW.first_name = 'boom' BEGIN SELECT RAISE (ABORT, 'refused'); END");
  apply (fixture->store, mk ("clients", ROW_1, 100, SITE_A, "first_name", "Ana", NULL));

  g_assert_false (vd_cell_store_apply (fixture->store, boom, &applied, &error));
  g_assert_error (error, VD_ERROR, VD_ERROR_INTERNAL);
  g_clear_error (&error);
  g_assert_cmpuint (applied, ==, 0);
  g_assert_true (sqlite3_get_autocommit (fixture->db));
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 1);
  assert_cell (fixture->store, "clients", ROW_2, "first_name", "absent");

  exec_sql (fixture->db, "BEGIN");
  apply (fixture->store, mk ("clients", ROW_1, 101, SITE_A, "first_name", "Ana María", NULL));
  g_assert_false (vd_cell_store_apply (fixture->store, boom, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (sqlite3_get_autocommit (fixture->db));
  exec_sql (fixture->db, "COMMIT");
  assert_cell (fixture->store, "clients", ROW_1, "first_name", "s:Ana María");
  assert_cell (fixture->store, "clients", ROW_2, "first_name", "absent");
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 2);

  /* The store still works after the failures. */
  exec_sql (fixture->db, "DROP TRIGGER refuse_boom");
  g_assert_cmpuint (apply (fixture->store, vd_change_copy (boom)), ==, 1);
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 3);
}

/* ---- Values ---------------------------------------------------------------------- */

/* Values of each column type as they must come back: the kind follows the column. */
static void
value_free (VdValue *value)
{
  vd_value_clear (value);
  g_free (value);
}

static GPtrArray *
samples_for (const VdColumn *column)
{
  GPtrArray *samples = g_ptr_array_new_with_free_func ((GDestroyNotify) value_free);
  VdValue *v;

#define ADD(setter, ...) \
  G_STMT_START { v = g_new0 (VdValue, 1); setter (v, __VA_ARGS__); g_ptr_array_add (samples, v); } G_STMT_END

  switch (column->type)
    {
    case VD_TYPE_BOOLEAN:
      ADD (vd_value_set_bool, TRUE);
      ADD (vd_value_set_bool, FALSE);
      break;
    case VD_TYPE_INTEGER:
      ADD (vd_value_set_int, G_MAXINT64);
      ADD (vd_value_set_int, G_MININT64);
      ADD (vd_value_set_int, 0);
      break;
    case VD_TYPE_REAL:
      ADD (vd_value_set_real, 12.5);
      ADD (vd_value_set_real, 12.0);
      ADD (vd_value_set_real, 0.1);
      ADD (vd_value_set_real, 1e-300);
      ADD (vd_value_set_real, 1999.999999999);
      break;
    case VD_TYPE_DATE:
      ADD (vd_value_set_text, "2024-02-29");
      break;
    case VD_TYPE_TIMESTAMP:
      ADD (vd_value_set_text, "2024-03-31T01:30:00Z");
      break;
    case VD_TYPE_UUID:
      ADD (vd_value_set_text, "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b");
      break;
    case VD_TYPE_ENUM:
      for (guint i = 0; column->enum_values[i] != NULL; i++)
        ADD (vd_value_set_text, column->enum_values[i]);
      break;
    case VD_TYPE_TEXT:
    default:
      ADD (vd_value_set_text, "Ñandú 🐕 «o'brien» \"x\"");
      /* Text that looks like a number stays text, leading zero and all. */
      ADD (vd_value_set_text, "007");
      ADD (vd_value_set_text, "1e3");
      ADD (vd_value_set_text, "");
      break;
    }
  if (column->nullable)
    g_ptr_array_add (samples, g_new0 (VdValue, 1));
#undef ADD
  return samples;
}

static void
test_values_round_trip (Fixture       *fixture,
                        gconstpointer  data)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);
  VdHlc hlc = 1000;
  g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);

  /* Every column of every table, each sample written in turn and read back; the last
   * one is checked again after reopening the file. */
  for (guint t = 0; t < n_tables; t++)
    {
      const VdTable *table = &tables[t];

      for (guint c = 0; c < table->n_columns; c++)
        {
          const VdColumn *column = &table->columns[c];
          g_autoptr(GPtrArray) samples = samples_for (column);

          for (guint s = 0; s < samples->len; s++)
            {
              VdChange *change = vd_change_new (table, ROW_1, ++hlc, SITE_A);
              VdValue copy = { VD_VALUE_NULL };
              g_autofree char *want = value_repr (samples->pdata[s]);

              vd_value_copy (samples->pdata[s], &copy);
              vd_change_take_cell (change, column, &copy);
              g_assert_cmpuint (apply (fixture->store, change), ==, 1);
              assert_cell (fixture->store, table->name, ROW_1, column->name, want);
              if (s + 1 == samples->len)
                g_ptr_array_add (expected, g_strdup_printf ("%s\t%s\t%s", table->name,
                                                            column->name, want));
            }
        }
    }

  fixture_reopen (fixture);
  for (guint i = 0; i < expected->len; i++)
    {
      g_auto(GStrv) parts = g_strsplit (expected->pdata[i], "\t", 3);

      assert_cell (fixture->store, parts[0], ROW_1, parts[1], parts[2]);
    }

  /* And through the listing, with exact kinds. */
  {
    gint64 cursor;
    gboolean more;
    g_autoptr(GPtrArray) all = since (fixture->store, 0, 1000, &cursor, &more);
    guint n_cells = 0;

    for (guint i = 0; i < all->len; i++)
      {
        const VdChange *change = all->pdata[i];

        for (guint k = 0; k < change->cells->len; k++)
          {
            const VdCell *c = &g_array_index (change->cells, VdCell, k);
            g_autofree char *repr = value_repr (&c->value);
            g_autofree char *line = g_strdup_printf ("%s\t%s\t%s", change->table->name,
                                                     c->column->name, repr);
            gboolean found = FALSE;

            for (guint e = 0; e < expected->len && !found; e++)
              found = strcmp (expected->pdata[e], line) == 0;
            g_assert_true (found);
            n_cells++;
          }
      }
    g_assert_cmpuint (n_cells, ==, expected->len);
  }
}

/* ---- Digest ---------------------------------------------------------------------- */

static void
test_digest (Fixture       *fixture,
             gconstpointer  data)
{
  static const char *sites[] = { SITE_A, SITE_B, SITE_C };
  g_autoptr(GPtrArray) writes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  GRand *rand = g_rand_new_with_seed (99);
  sqlite3 *db2 = open_db (":memory:");
  sqlite3 *db3 = open_db (":memory:");
  VdCellStore *s2 = store_new (db2, TENANT_A);
  VdCellStore *s3 = store_new (db3, TENANT_B);
  g_autofree char *empty = digest (s2);
  g_autofree char *d1 = NULL;
  g_autofree char *d2 = NULL;
  g_autofree char *d3 = NULL;

  for (guint i = 0; i < 300; i++)
    {
      const VdTable *table = vd_schema_lookup_table (client_tables[g_rand_int_range (rand, 0, 4)]);
      g_autofree char *id = g_strdup_printf ("%08x-0000-4000-8000-000000000000",
                                             g_rand_int_range (rand, 0, 30));
      VdChange *change = vd_change_new (table, id, g_rand_int_range (rand, 1, 50),
                                        sites[g_rand_int_range (rand, 0, 3)]);
      guint n = g_rand_int_range (rand, 1, 5);

      for (guint k = 0; k < n; k++)
        {
          const VdColumn *column = &table->columns[g_rand_int_range (rand, 0, table->n_columns)];
          VdValue value = { VD_VALUE_NULL };

          random_literal_value (rand, column, &value);
          vd_change_take_cell (change, column, &value);
        }
      g_ptr_array_add (writes, change);
    }
  /* (hlc, site) must name one write: drop later writes that reuse one on the same row. */
  for (guint i = 0; i < writes->len; i++)
    for (guint j = writes->len - 1; j > i; j--)
      {
        const VdChange *a = writes->pdata[i], *b = writes->pdata[j];

        if (a->table == b->table && strcmp (a->id, b->id) == 0 && a->hlc == b->hlc &&
            strcmp (a->site, b->site) == 0)
          g_ptr_array_remove_index (writes, j);
      }

  for (guint i = 0; i < writes->len; i++)
    vd_cell_store_apply (fixture->store, writes->pdata[i], NULL, NULL);
  /* Reversed, and every write twice. */
  for (guint i = writes->len; i > 0; i--)
    {
      vd_cell_store_apply (s2, writes->pdata[i - 1], NULL, NULL);
      vd_cell_store_apply (s2, writes->pdata[(i * 7) % writes->len], NULL, NULL);
    }
  for (guint i = 0; i < writes->len; i++)
    vd_cell_store_apply (s2, writes->pdata[i], NULL, NULL);

  d1 = digest (fixture->store);
  d2 = digest (s2);
  g_assert_cmpstr (d1, ==, d2);
  g_assert_cmpstr (d1, !=, empty);

  /* The same data under other clocks (one change per row, all at hlc 1 from another
   * site) has the same digest: clocks and seqs are not data. */
  {
    gint64 cursor;
    gboolean more;
    g_autoptr(GPtrArray) all = since (fixture->store, 0, 100000, &cursor, &more);

    for (guint i = 0; i < all->len; i++)
      {
        VdChange *copy = vd_change_copy (all->pdata[i]);

        copy->hlc = 1;
        g_strlcpy (copy->site, SITE_C, sizeof copy->site);
        /* All cells of a row now share one clock: merge them as one change. */
        vd_cell_store_apply (s3, copy, NULL, NULL);
        copy->hlc = 2 + i;
        vd_cell_store_apply (s3, copy, NULL, NULL);
        vd_change_free (copy);
      }
    g_assert_false (more);
    d3 = digest (s3);
    g_assert_cmpstr (d3, ==, d1);
  }

  /* One cell differs: so does the digest; the same write on both restores equality. */
  {
    const VdChange *first = writes->pdata[0];
    const VdCell *c = &g_array_index (first->cells, VdCell, 0);
    g_autofree char *after = NULL;
    g_autofree char *again = NULL;
    VdChange *edit = vd_change_new (first->table, first->id, 1000, SITE_A);
    VdValue value = { VD_VALUE_NULL };

    if (c->column->type == VD_TYPE_BOOLEAN)
      vd_value_set_bool (&value, !(c->value.kind == VD_VALUE_BOOL && c->value.b));
    else if (c->column->type == VD_TYPE_REAL)
      vd_value_set_real (&value, 12345.5);
    else
      vd_value_set_text (&value, "something else");
    vd_change_take_cell (edit, c->column, &value);
    vd_cell_store_apply (s2, edit, NULL, NULL);
    after = digest (s2);
    g_assert_cmpstr (after, !=, d1);
    vd_cell_store_apply (fixture->store, edit, NULL, NULL);
    again = digest (fixture->store);
    g_assert_cmpstr (again, ==, after);
    vd_change_free (edit);
  }

  vd_cell_store_free (s2);
  vd_cell_store_free (s3);
  sqlite3_close (db2);
  sqlite3_close (db3);
  g_rand_free (rand);
}

/* Values are framed so that different data cannot collide: split points of text, NULL
 * against empty text, 0.0 against -0.0 (equal numbers, one spelling). */
static void
test_digest_unambiguous (Fixture       *fixture,
                         gconstpointer  data)
{
  static const struct
  {
    const char *a_first, *a_last, *b_first, *b_last;
    gboolean    same;
  } cases[] = {
    { "ab", "c", "a", "bc", FALSE },
    { "", NULL, NULL, "", FALSE },
    { NULL, NULL, "", "", FALSE },
    { "x", "y", "x", "y", TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      sqlite3 *db2 = open_db (":memory:");
      VdCellStore *a = store_new (db2, TENANT_A);
      VdCellStore *b = store_new (db2, TENANT_B);
      g_autofree char *da = NULL;
      g_autofree char *db = NULL;

      apply (a, mk ("clients", ROW_1, 1, SITE_A, "first_name", cases[i].a_first,
                    "last_name", cases[i].a_last, NULL));
      apply (b, mk ("clients", ROW_1, 1, SITE_A, "first_name", cases[i].b_first,
                    "last_name", cases[i].b_last, NULL));
      da = digest (a);
      db = digest (b);
      if (cases[i].same)
        g_assert_cmpstr (da, ==, db);
      else
        g_assert_cmpstr (da, !=, db);
      vd_cell_store_free (a);
      vd_cell_store_free (b);
      sqlite3_close (db2);
    }

  /* A row id is data too, and so is the table a row is in. */
  {
    sqlite3 *db2 = open_db (":memory:");
    VdCellStore *a = store_new (db2, TENANT_A);
    VdCellStore *b = store_new (db2, TENANT_B);
    VdCellStore *c = store_new (db2, "33333333-3333-4333-8333-333333333333");
    g_autofree char *da = NULL;
    g_autofree char *db = NULL;
    g_autofree char *dc = NULL;

    apply (a, mk ("clients", ROW_1, 1, SITE_A, "notes", "n", NULL));
    apply (b, mk ("clients", ROW_2, 1, SITE_A, "notes", "n", NULL));
    apply (c, mk ("pets", ROW_1, 1, SITE_A, "notes", "n", NULL));
    da = digest (a);
    db = digest (b);
    dc = digest (c);
    g_assert_cmpstr (da, !=, db);
    g_assert_cmpstr (da, !=, dc);
    vd_cell_store_free (a);
    vd_cell_store_free (b);
    vd_cell_store_free (c);
    sqlite3_close (db2);
  }

  {
    g_autoptr(VdCellStore) b = store_new (fixture->db, TENANT_B);
    g_autofree char *da = NULL;
    g_autofree char *db = NULL;
    g_autofree char *dc = NULL;

    apply (fixture->store, mk ("pets", ROW_1, 1, SITE_A, "weight_kg", "0", NULL));
    apply (b, mk ("pets", ROW_1, 1, SITE_A, "weight_kg", "-0", NULL));
    da = digest (fixture->store);
    db = digest (b);
    g_assert_true (signbit (g_ascii_strtod ("-0", NULL)));
    g_assert_cmpstr (da, ==, db);
    apply (b, mk ("pets", ROW_1, 2, SITE_A, "weight_kg", "0.000001", NULL));
    dc = digest (b);
    g_assert_cmpstr (dc, !=, da);
  }
}

/* ---- Batches ----------------------------------------------------------------------- */

/* Every row the store lists after seq 0 as one line per (hlc, site) group, with its seq,
 * clocks and values: two stores that print the same hold the same rows, clocks and seqs. */
static char *
store_repr (VdCellStore *store)
{
  g_autoptr(GPtrArray) changes = since (store, 0, G_MAXUINT, NULL, NULL);
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "seq %" G_GINT64_FORMAT "\n", vd_cell_store_get_seq (store));
  for (guint i = 0; i < changes->len; i++)
    {
      const VdChange *change = g_ptr_array_index (changes, i);

      g_string_append_printf (out, "%s/%s %016" G_GINT64_MODIFIER "x/%s #%" G_GINT64_FORMAT ":",
                              change->table->name, change->id, change->hlc, change->site,
                              change->seq);
      for (guint c = 0; c < change->cells->len; c++)
        {
          const VdCell *cell = &g_array_index (change->cells, VdCell, c);
          g_autofree char *v = value_repr (&cell->value);

          g_string_append_printf (out, " %s=%s", cell->column->name, v);
        }
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

/* A random change of one of a few rows, with hlcs from a narrow range so that ties,
 * exact duplicates and older writes are common. */
static VdChange *
random_change (GRand *rand)
{
  static const char *sites[] = { SITE_A, SITE_B, SITE_C };
  static const char *ids[] = { ROW_1, ROW_2, "03030303-0303-4303-8303-030303030303" };
  const VdTable *table = vd_schema_lookup_table (client_tables[g_rand_int_range (rand, 0, 4)]);
  VdChange *change = vd_change_new (table, ids[g_rand_int_range (rand, 0, G_N_ELEMENTS (ids))],
                                    vd_hlc_make (1700000000000 + g_rand_int_range (rand, 0, 6), 0),
                                    sites[g_rand_int_range (rand, 0, 3)]);
  guint n = g_rand_int_range (rand, 1, 4);

  for (guint k = 0; k < n; k++)
    {
      const VdColumn *column = &table->columns[g_rand_int_range (rand, 0, (gint32) table->n_columns)];
      VdValue value = { VD_VALUE_NULL };

      random_literal_value (rand, column, &value);
      vd_change_take_cell (change, column, &value);
    }
  return change;
}

static void
test_apply_many_same_as_one_by_one (Fixture       *fixture,
                                    gconstpointer  data)
{
  const char *env = g_getenv ("VD_SEED");
  guint32 seed = env != NULL ? (guint32) g_ascii_strtoull (env, NULL, 10) : 20261128;
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  sqlite3 *db2 = open_db (":memory:");
  VdCellStore *batched = store_new (db2, TENANT_A);
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  g_autofree char *one_by_one = NULL;
  g_autofree char *many = NULL;
  g_autofree char *d1 = NULL;
  g_autofree char *d2 = NULL;
  guint n_batches = 0;
  guint n_won = 0;
  guint n_lost = 0;

  g_test_message ("seed %u (replay with VD_SEED=%u)", seed, seed);

  while (all->len < 600)
    {
      g_autoptr(GPtrArray) batch = g_ptr_array_new ();
      g_autoptr(GError) error = NULL;
      g_autofree guint *applied = NULL;
      guint size = g_rand_int_range (rand, 1, 40);
      gboolean outer = n_batches % 3 == 2;

      for (guint i = 0; i < size; i++)
        {
          VdChange *change;

          /* A copy of an earlier change of this batch or of another one: a duplicate. */
          if (all->len > 0 && g_rand_int_range (rand, 0, 5) == 0)
            change = vd_change_copy (g_ptr_array_index (all, g_rand_int_range (rand, 0, (gint32) all->len)));
          else
            change = random_change (rand);
          g_ptr_array_add (all, change);
          g_ptr_array_add (batch, change);
        }

      /* Some batches inside a caller's transaction, where the batch is a savepoint. */
      applied = g_new (guint, batch->len);
      if (outer)
        exec_sql (db2, "BEGIN IMMEDIATE");
      g_assert_true (vd_cell_store_apply_many (batched, batch, applied, &error));
      g_assert_no_error (error);
      if (outer)
        {
          g_assert_false (sqlite3_get_autocommit (db2));
          exec_sql (db2, "COMMIT");
        }
      g_assert_true (sqlite3_get_autocommit (db2));

      for (guint i = 0; i < batch->len; i++)
        {
          guint expect = G_MAXUINT;
          g_autoptr(GError) one_error = NULL;

          g_assert_true (vd_cell_store_apply (fixture->store, g_ptr_array_index (batch, i),
                                              &expect, &one_error));
          g_assert_no_error (one_error);
          if (applied[i] != expect)
            g_error ("seed %u, batch %u, change %u: %u cells won in a batch, %u one by one",
                     seed, n_batches, i, applied[i], expect);
          if (expect > 0)
            n_won++;
          else
            n_lost++;
        }
      n_batches++;
    }

  /* The test means something only if both kinds of change came up. */
  g_assert_cmpuint (n_won, >, 50);
  g_assert_cmpuint (n_lost, >, 50);

  fixture_reopen (fixture);
  one_by_one = store_repr (fixture->store);
  many = store_repr (batched);
  if (g_strcmp0 (one_by_one, many) != 0)
    g_error ("seed %u: the batched store differs:\n%s\n---- one by one:\n%s", seed, many, one_by_one);
  d1 = digest (fixture->store);
  d2 = digest (batched);
  g_assert_cmpstr (d1, ==, d2);
  g_assert_cmpint (vd_cell_store_get_seq (batched), ==, (gint64) n_won);

  vd_cell_store_free (batched);
  sqlite3_close (db2);
}

static void
test_apply_many_all_or_nothing (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  g_autoptr(GPtrArray) empty = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  guint applied[3] = { 7, 7, 7 };

  apply (fixture->store, mk ("clients", ROW_1, 100, SITE_A, "first_name", "Ana", NULL));
  exec_sql (fixture->db,
            "CREATE TEMP TRIGGER refuse_boom BEFORE INSERT ON main.clients "
            "WHEN NEW.first_name = 'boom' BEGIN SELECT RAISE (ABORT, 'refused'); END");

  g_ptr_array_add (batch, mk ("clients", ROW_1, 101, SITE_A, "first_name", "Ana María", NULL));
  g_ptr_array_add (batch, mk ("pets", ROW_2, 101, SITE_B, "name", "Rex", NULL));
  g_ptr_array_add (batch, mk ("clients", ROW_2, 102, SITE_A, "first_name", "boom", NULL));

  /* At top level: the third change fails, and the first two are undone with it. */
  g_assert_false (vd_cell_store_apply_many (fixture->store, batch, applied, &error));
  g_assert_error (error, VD_ERROR, VD_ERROR_INTERNAL);
  g_clear_error (&error);
  g_assert_true (sqlite3_get_autocommit (fixture->db));
  g_assert_cmpuint (applied[0], ==, 0);
  g_assert_cmpuint (applied[1], ==, 0);
  g_assert_cmpuint (applied[2], ==, 0);
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 1);
  assert_cell (fixture->store, "clients", ROW_1, "first_name", "s:Ana");
  assert_cell (fixture->store, "pets", ROW_2, "name", "absent");

  /* Inside a caller's transaction: only the batch is undone, the transaction goes on. */
  exec_sql (fixture->db, "BEGIN");
  apply (fixture->store, mk ("clients", ROW_1, 103, SITE_C, "last_name", "Ruiz", NULL));
  g_assert_false (vd_cell_store_apply_many (fixture->store, batch, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (sqlite3_get_autocommit (fixture->db));
  exec_sql (fixture->db, "COMMIT");
  assert_cell (fixture->store, "clients", ROW_1, "last_name", "s:Ruiz");
  assert_cell (fixture->store, "clients", ROW_1, "first_name", "s:Ana");
  assert_cell (fixture->store, "pets", ROW_2, "name", "absent");
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 2);

  /* An empty batch is a no-op; without the trigger the batch goes through whole, with
   * seqs 3, 4, 5. */
  g_assert_true (vd_cell_store_apply_many (fixture->store, empty, NULL, &error));
  g_assert_no_error (error);
  exec_sql (fixture->db, "DROP TRIGGER refuse_boom");
  g_assert_true (vd_cell_store_apply_many (fixture->store, batch, applied, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (applied[0], ==, 1);
  g_assert_cmpuint (applied[1], ==, 1);
  g_assert_cmpuint (applied[2], ==, 1);
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 5);
  fixture_reopen (fixture);
  g_assert_cmpint (vd_cell_store_get_seq (fixture->store), ==, 5);
  assert_cell (fixture->store, "clients", ROW_1, "first_name", "s:Ana María");
  assert_cell (fixture->store, "pets", ROW_2, "name", "s:Rex");
  assert_cell (fixture->store, "clients", ROW_2, "first_name", "s:boom");
}

static void
add (const char *name,
     void      (*func) (Fixture *, gconstpointer))
{
  for (guint disk = 0; disk < 2; disk++)
    {
      g_autofree char *path = g_strdup_printf ("/cell-store/%s/%s", disk ? "disk" : "memory", name);

      g_test_add (path, Fixture, GINT_TO_POINTER (disk), fixture_set_up, func, fixture_tear_down);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  add ("apply-creates-row", test_apply_creates_row);
  add ("get-row-missing", test_get_row_missing);
  add ("older-loses", test_older_loses);
  add ("equal-is-noop", test_equal_is_noop);
  add ("delete-then-edit", test_delete_then_edit);
  add ("edit-before-create", test_edit_before_create);
  add ("changes-since-pages", test_changes_since_pages);
  add ("changes-since-limits", test_changes_since_limits);
  add ("tenants-isolated", test_tenants_isolated);
  add ("outer-transaction", test_outer_transaction);
  add ("failed-apply-rolls-back", test_failed_apply_rolls_back);
  add ("values-round-trip", test_values_round_trip);
  add ("digest", test_digest);
  add ("digest-unambiguous", test_digest_unambiguous);
  add ("apply-many-same-as-one-by-one", test_apply_many_same_as_one_by_one);
  add ("apply-many-all-or-nothing", test_apply_many_all_or_nothing);

  return g_test_run ();
}
