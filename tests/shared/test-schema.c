/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-schema.c — the table registry matches ARCHITECTURE §3, and the DDL made from it
 * creates those tables in SQLite and names them with the right types for PostgreSQL. */
#include "config.h"

#include <sqlite3.h>
#include <string.h>

#include "vd-schema.h"

typedef struct
{
  const char     *name;
  VdColumnType    type;
  gboolean        nullable;
  guint           max_length;
  VdColumnFormat  format;
  const char     *ref_table;
} ExpectedColumn;

typedef struct
{
  const char           *name;
  gboolean              server_owned;
  const ExpectedColumn *columns;
  guint                 n_columns;
} ExpectedTable;

#define T VD_TYPE_TEXT
#define NONE VD_FORMAT_NONE

static const ExpectedColumn staff[] = {
  { "name", T, FALSE, 200, NONE, NULL },
  { "role", VD_TYPE_ENUM, FALSE, 0, NONE, NULL },
  { "email", T, TRUE, 254, VD_FORMAT_EMAIL, NULL },
  { "phone", T, TRUE, 40, VD_FORMAT_PHONE, NULL },
  { "color", T, TRUE, 7, VD_FORMAT_COLOR, NULL },
  { "active", VD_TYPE_BOOLEAN, FALSE, 0, NONE, NULL },
  { "deleted", VD_TYPE_BOOLEAN, FALSE, 0, NONE, NULL },
};

static const ExpectedColumn clients[] = {
  { "first_name", T, FALSE, 100, NONE, NULL },
  { "last_name", T, FALSE, 100, NONE, NULL },
  { "email", T, TRUE, 254, VD_FORMAT_EMAIL, NULL },
  { "phone", T, TRUE, 40, VD_FORMAT_PHONE, NULL },
  { "address", T, TRUE, 500, NONE, NULL },
  { "notes", T, TRUE, 10000, NONE, NULL },
  { "deleted", VD_TYPE_BOOLEAN, FALSE, 0, NONE, NULL },
};

static const ExpectedColumn pets[] = {
  { "client_id", VD_TYPE_UUID, FALSE, 0, NONE, "clients" },
  { "name", T, FALSE, 100, NONE, NULL },
  { "species", VD_TYPE_ENUM, FALSE, 0, NONE, NULL },
  { "breed", T, TRUE, 100, NONE, NULL },
  { "sex", VD_TYPE_ENUM, FALSE, 0, NONE, NULL },
  { "neutered", VD_TYPE_BOOLEAN, FALSE, 0, NONE, NULL },
  { "birth_date", VD_TYPE_DATE, TRUE, 0, NONE, NULL },
  { "weight_kg", VD_TYPE_REAL, TRUE, 0, NONE, NULL },
  { "microchip", T, TRUE, 15, VD_FORMAT_MICROCHIP, NULL },
  { "color", T, TRUE, 50, NONE, NULL },
  { "allergies", T, TRUE, 1000, NONE, NULL },
  { "notes", T, TRUE, 10000, NONE, NULL },
  { "deceased", VD_TYPE_BOOLEAN, FALSE, 0, NONE, NULL },
  { "deleted", VD_TYPE_BOOLEAN, FALSE, 0, NONE, NULL },
};

static const ExpectedColumn appointments[] = {
  { "pet_id", VD_TYPE_UUID, FALSE, 0, NONE, "pets" },
  { "client_id", VD_TYPE_UUID, FALSE, 0, NONE, "clients" },
  { "staff_id", VD_TYPE_UUID, FALSE, 0, NONE, "staff" },
  { "room", T, TRUE, 50, NONE, NULL },
  { "kind", VD_TYPE_ENUM, FALSE, 0, NONE, NULL },
  { "starts_at", VD_TYPE_TIMESTAMP, FALSE, 0, NONE, NULL },
  { "ends_at", VD_TYPE_TIMESTAMP, FALSE, 0, NONE, NULL },
  { "status", VD_TYPE_ENUM, FALSE, 0, NONE, NULL },
  { "reason", T, TRUE, 500, NONE, NULL },
  { "notes", T, TRUE, 10000, NONE, NULL },
  { "allow_overlap", VD_TYPE_BOOLEAN, FALSE, 0, NONE, NULL },
  { "deleted", VD_TYPE_BOOLEAN, FALSE, 0, NONE, NULL },
};

static const ExpectedColumn conflicts[] = {
  { "kind", VD_TYPE_ENUM, FALSE, 0, NONE, NULL },
  { "table_name", T, FALSE, 64, NONE, NULL },
  { "row_id", VD_TYPE_UUID, FALSE, 0, NONE, NULL },
  { "other_row_id", VD_TYPE_UUID, TRUE, 0, NONE, NULL },
  { "detail", T, TRUE, 200000, NONE, NULL },
  { "detected_at", VD_TYPE_TIMESTAMP, FALSE, 0, NONE, NULL },
  { "resolved_at", VD_TYPE_TIMESTAMP, TRUE, 0, NONE, NULL },
  { "deleted", VD_TYPE_BOOLEAN, FALSE, 0, NONE, NULL },
};

static const ExpectedTable expected[] = {
  { "staff", FALSE, staff, G_N_ELEMENTS (staff) },
  { "clients", FALSE, clients, G_N_ELEMENTS (clients) },
  { "pets", FALSE, pets, G_N_ELEMENTS (pets) },
  { "appointments", FALSE, appointments, G_N_ELEMENTS (appointments) },
  { "conflicts", TRUE, conflicts, G_N_ELEMENTS (conflicts) },
};

static const struct
{
  const char *table;
  const char *column;
  const char *values[10];
} expected_enums[] = {
  { "staff", "role", { "veterinarian", "technician", "groomer", "front_desk", "manager" } },
  { "pets", "species", { "dog", "cat", "bird", "rabbit", "reptile", "rodent", "horse", "other" } },
  { "pets", "sex", { "male", "female", "unknown" } },
  { "appointments", "kind", { "consultation", "vaccination", "surgery", "grooming", "dental",
                              "follow_up", "other" } },
  { "appointments", "status", { "scheduled", "confirmed", "checked_in", "in_progress",
                                "completed", "cancelled", "no_show" } },
  { "conflicts", "kind", { "double_booking", "dangling_reference" } },
};

static void
test_tables (void)
{
  guint n_tables = 0;
  const VdTable *tables = vd_schema_tables (&n_tables);

  g_assert_nonnull (tables);
  g_assert_cmpuint (n_tables, ==, G_N_ELEMENTS (expected));
  g_assert_true (vd_schema_tables (NULL) == tables);

  for (guint i = 0; i < n_tables; i++)
    {
      g_assert_cmpstr (tables[i].name, ==, expected[i].name);
      g_assert_cmpuint (tables[i].index, ==, i);
      g_assert_cmpint (!!tables[i].server_owned, ==, !!expected[i].server_owned);
      g_assert_true (vd_schema_lookup_table (expected[i].name) == &tables[i]);
    }
}

static void
test_columns (void)
{
  for (guint t = 0; t < G_N_ELEMENTS (expected); t++)
    {
      const ExpectedTable *exp = &expected[t];
      const VdTable *table = vd_schema_lookup_table (exp->name);

      g_assert_nonnull (table);
      g_assert_cmpuint (table->n_columns, ==, exp->n_columns);

      for (guint c = 0; c < exp->n_columns; c++)
        {
          const VdColumn *column = &table->columns[c];
          const ExpectedColumn *e = &exp->columns[c];

          g_assert_cmpstr (column->name, ==, e->name);
          g_assert_cmpint (column->type, ==, e->type);
          g_assert_cmpint (!!column->nullable, ==, !!e->nullable);
          g_assert_cmpuint (column->max_length, ==, e->max_length);
          g_assert_cmpint (column->format, ==, e->format);
          g_assert_cmpstr (column->ref_table, ==, e->ref_table);
          g_assert_cmpuint (column->index, ==, c);
          g_assert_true (column->table == table);
          g_assert_true (vd_table_lookup_column (table, e->name) == column);
          g_assert_cmpint (column->enum_values != NULL, ==, column->type == VD_TYPE_ENUM);
        }
    }
}

static void
test_unknown_names (void)
{
  const VdTable *pets_table = vd_schema_lookup_table ("pets");
  const char *bad_tables[] = { "", "pet", "Pets", "PETS", "pets ", "vd_seq", "users", "id" };
  const char *bad_columns[] = { "", "id", "tenant_id", "_seq", "_clocks", "Name", "name ",
                                "weight", "owner_id", "species;" };

  for (guint i = 0; i < G_N_ELEMENTS (bad_tables); i++)
    g_assert_null (vd_schema_lookup_table (bad_tables[i]));

  g_assert_nonnull (pets_table);
  for (guint i = 0; i < G_N_ELEMENTS (bad_columns); i++)
    g_assert_null (vd_table_lookup_column (pets_table, bad_columns[i]));

  /* A column of one table is not found in another. */
  g_assert_null (vd_table_lookup_column (vd_schema_lookup_table ("staff"), "species"));
  g_assert_null (vd_table_lookup_column (vd_schema_lookup_table ("clients"), "client_id"));
}

static void
test_deleted_is_last (void)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);

  for (guint i = 0; i < n_tables; i++)
    {
      const VdColumn *deleted = vd_table_deleted_column (&tables[i]);

      g_assert_nonnull (deleted);
      g_assert_cmpstr (deleted->name, ==, "deleted");
      g_assert_true (deleted == &tables[i].columns[tables[i].n_columns - 1]);
      g_assert_true (deleted == vd_table_lookup_column (&tables[i], "deleted"));
      g_assert_cmpint (deleted->type, ==, VD_TYPE_BOOLEAN);
      g_assert_false (deleted->nullable);

      /* Only one column is called deleted. */
      for (guint c = 0; c + 1 < tables[i].n_columns; c++)
        g_assert_cmpstr (tables[i].columns[c].name, !=, "deleted");
    }
}

static void
test_references (void)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);
  guint n_refs = 0;

  for (guint i = 0; i < n_tables; i++)
    for (guint c = 0; c < tables[i].n_columns; c++)
      {
        const VdColumn *column = &tables[i].columns[c];
        const VdTable *target;

        if (column->ref_table == NULL)
          continue;
        n_refs++;
        g_assert_cmpint (column->type, ==, VD_TYPE_UUID);
        target = vd_schema_lookup_table (column->ref_table);
        g_assert_nonnull (target);
        /* Dependency order: a table refers only to tables before it. */
        g_assert_cmpuint (target->index, <, tables[i].index);
      }

  g_assert_cmpuint (n_refs, ==, 4);
}

static void
test_server_owned (void)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);
  const VdTable *conflicts_table = vd_schema_lookup_table ("conflicts");

  g_assert_nonnull (conflicts_table);
  g_assert_true (conflicts_table->server_owned);

  for (guint i = 0; i < n_tables; i++)
    for (guint c = 0; c < tables[i].n_columns; c++)
      g_assert_cmpint (!!tables[i].columns[c].server_owned, ==, &tables[i] == conflicts_table);

  /* row_id names rows of any table, so it is no reference. */
  g_assert_null (vd_table_lookup_column (conflicts_table, "row_id")->ref_table);
}

static void
test_enums (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (expected_enums); i++)
    {
      const VdTable *table = vd_schema_lookup_table (expected_enums[i].table);
      const VdColumn *column = vd_table_lookup_column (table, expected_enums[i].column);
      guint n = 0;

      g_assert_nonnull (column);
      g_assert_nonnull (column->enum_values);
      for (; expected_enums[i].values[n] != NULL; n++)
        g_assert_cmpstr (column->enum_values[n], ==, expected_enums[i].values[n]);
      g_assert_null (column->enum_values[n]);
    }
}

static void
test_labels (void)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);

  for (guint i = 0; i < n_tables; i++)
    for (guint c = 0; c < tables[i].n_columns; c++)
      {
        const char *label = vd_column_label (&tables[i].columns[c]);

        g_assert_nonnull (label);
        g_assert_cmpstr (label, !=, "");
        /* A label is for a person, not the column's identifier. */
        g_assert_null (strchr (label, '_'));
        for (guint d = 0; d < c; d++)
          g_assert_cmpstr (label, !=, vd_column_label (&tables[i].columns[d]));
      }

  g_assert_cmpstr (vd_column_label (vd_table_lookup_column (vd_schema_lookup_table ("clients"),
                                                            "first_name")), ==, "first name");
  g_assert_cmpstr (vd_column_label (vd_table_lookup_column (vd_schema_lookup_table ("pets"),
                                                            "weight_kg")), ==, "weight");
}

static const char *
expected_sqlite_type (VdColumnType type)
{
  switch (type)
    {
    case VD_TYPE_INTEGER:
    case VD_TYPE_BOOLEAN:
      return "INTEGER";
    case VD_TYPE_REAL:
      return "REAL";
    default:
      return "TEXT";
    }
}

static sqlite3 *
open_with_ddl (void)
{
  g_autofree char *ddl = vd_schema_sqlite_ddl ();
  sqlite3 *db = NULL;
  char *errmsg = NULL;

  g_assert_cmpint (sqlite3_open (":memory:", &db), ==, SQLITE_OK);
  if (sqlite3_exec (db, ddl, NULL, NULL, &errmsg) != SQLITE_OK)
    g_error ("DDL failed: %s\n%s", errmsg, ddl);
  /* Running it again on an existing database changes nothing. */
  if (sqlite3_exec (db, ddl, NULL, NULL, &errmsg) != SQLITE_OK)
    g_error ("DDL failed the second time: %s", errmsg);

  return db;
}

static void
exec_ok (sqlite3    *db,
         const char *sql)
{
  char *errmsg = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &errmsg) != SQLITE_OK)
    g_error ("%s: %s", sql, errmsg);
}

/* Checks one column of PRAGMA table_info: name, declared type, NOT NULL, pk position. */
static void
check_info_row (sqlite3_stmt *stmt,
                const char   *name,
                const char   *type,
                gboolean      notnull,
                int           pk)
{
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 1), ==, name);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 2), ==, type);
  g_assert_cmpint (sqlite3_column_int (stmt, 3), ==, notnull);
  g_assert_cmpint (sqlite3_column_int (stmt, 5), ==, pk);
}

static gboolean
has_index (sqlite3    *db,
           const char *table,
           const char *index,
           const char *second_column)
{
  g_autofree char *sql = g_strdup_printf ("PRAGMA index_info(%s)", index);
  sqlite3_stmt *stmt = NULL;
  gboolean found;

  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  found = sqlite3_step (stmt) == SQLITE_ROW &&
          g_strcmp0 ((const char *) sqlite3_column_text (stmt, 2), "tenant_id") == 0 &&
          sqlite3_step (stmt) == SQLITE_ROW &&
          g_strcmp0 ((const char *) sqlite3_column_text (stmt, 2), second_column) == 0 &&
          sqlite3_step (stmt) == SQLITE_DONE;
  sqlite3_finalize (stmt);

  return found;
}

static void
test_sqlite_ddl (void)
{
  sqlite3 *db = open_with_ddl ();
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);
  sqlite3_stmt *stmt = NULL;

  for (guint i = 0; i < n_tables; i++)
    {
      g_autofree char *sql = g_strdup_printf ("PRAGMA table_info(%s)", tables[i].name);
      g_autofree char *seq_index = g_strdup_printf ("%s_seq_idx", tables[i].name);

      g_test_message ("table %s", tables[i].name);
      g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
      check_info_row (stmt, "tenant_id", "TEXT", TRUE, 1);
      check_info_row (stmt, "id", "TEXT", TRUE, 2);
      for (guint c = 0; c < tables[i].n_columns; c++)
        {
          const VdColumn *column = &tables[i].columns[c];
          gboolean is_deleted = c + 1 == tables[i].n_columns;

          /* Registry columns stay nullable: LWW can hold a partial row for a while. */
          check_info_row (stmt, column->name, expected_sqlite_type (column->type),
                          is_deleted, 0);
        }
      check_info_row (stmt, "_seq", "INTEGER", TRUE, 0);
      check_info_row (stmt, "_clocks", "BLOB", TRUE, 0);
      g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
      sqlite3_finalize (stmt);

      g_assert_true (has_index (db, tables[i].name, seq_index, "_seq"));
    }

  g_assert_true (has_index (db, "appointments", "appointments_starts_at_idx", "starts_at"));
  g_assert_true (has_index (db, "pets", "pets_client_id_idx", "client_id"));

  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA table_info(vd_seq)", -1, &stmt, NULL), ==,
                   SQLITE_OK);
  check_info_row (stmt, "tenant_id", "TEXT", FALSE, 1);
  check_info_row (stmt, "seq", "INTEGER", TRUE, 0);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_DONE);
  sqlite3_finalize (stmt);

  /* A row holding only its keys is allowed, with the bookkeeping defaults. */
  exec_ok (db, "INSERT INTO pets (tenant_id, id) VALUES ('t', 'a')");
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT deleted, _seq, length(_clocks), name IS NULL "
                                       "FROM pets WHERE tenant_id = 't' AND id = 'a'",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 0);
  g_assert_cmpint (sqlite3_column_int (stmt, 1), ==, 0);
  g_assert_cmpint (sqlite3_column_int (stmt, 2), ==, 0);
  g_assert_cmpint (sqlite3_column_int (stmt, 3), ==, 1);
  sqlite3_finalize (stmt);

  /* The same id in another tenant is another row; in the same tenant it is refused. */
  exec_ok (db, "INSERT INTO pets (tenant_id, id) VALUES ('u', 'a')");
  g_assert_cmpint (sqlite3_exec (db, "INSERT INTO pets (tenant_id, id) VALUES ('t', 'a')",
                                 NULL, NULL, NULL), ==, SQLITE_CONSTRAINT);
  g_assert_cmpint (sqlite3_exec (db, "INSERT INTO pets (tenant_id, id, deleted) "
                                 "VALUES ('t', 'b', NULL)", NULL, NULL, NULL), ==,
                   SQLITE_CONSTRAINT);

  sqlite3_close (db);
}

/* The text of one CREATE TABLE statement in a PostgreSQL script, up to its ");". */
static char *
pg_table_block (const char *ddl,
                const char *table)
{
  g_autofree char *head = g_strdup_printf ("CREATE TABLE IF NOT EXISTS %s (\n", table);
  const char *start = strstr (ddl, head);
  const char *end;

  g_assert_nonnull (start);
  end = strstr (start, "\n);");
  g_assert_nonnull (end);

  return g_strndup (start, end - start);
}

static const char *
expected_pg_type (VdColumnType type)
{
  switch (type)
    {
    case VD_TYPE_INTEGER:
      return "bigint";
    case VD_TYPE_REAL:
      return "double precision";
    case VD_TYPE_BOOLEAN:
      return "boolean";
    case VD_TYPE_DATE:
      return "date";
    case VD_TYPE_TIMESTAMP:
      return "timestamptz";
    case VD_TYPE_UUID:
      return "uuid";
    default:
      return "text";
    }
}

static void
test_postgres_ddl (void)
{
  g_autofree char *ddl = vd_schema_postgres_ddl ();
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);
  guint n_creates = 0;

  g_assert_nonnull (ddl);

  for (guint i = 0; i < n_tables; i++)
    {
      g_autofree char *block = pg_table_block (ddl, tables[i].name);
      g_autofree char *seq_index = g_strdup_printf (
        "CREATE INDEX IF NOT EXISTS %s_seq_idx ON %s (tenant_id, _seq);",
        tables[i].name, tables[i].name);

      g_test_message ("table %s", tables[i].name);
      g_assert_nonnull (strstr (block, "\n  tenant_id uuid NOT NULL,\n"));
      g_assert_nonnull (strstr (block, "\n  id uuid NOT NULL,\n"));
      g_assert_nonnull (strstr (block, "\n  _seq bigint NOT NULL DEFAULT 0,\n"));
      g_assert_nonnull (strstr (block, "\n  _clocks bytea NOT NULL DEFAULT ''::bytea,\n"));
      g_assert_nonnull (strstr (block, "\n  PRIMARY KEY (tenant_id, id)"));
      g_assert_nonnull (strstr (ddl, seq_index));

      for (guint c = 0; c < tables[i].n_columns; c++)
        {
          const VdColumn *column = &tables[i].columns[c];
          g_autofree char *line = NULL;

          if (c + 1 == tables[i].n_columns)
            line = g_strdup_printf ("\n  %s boolean NOT NULL DEFAULT false,\n", column->name);
          else if (column->type == VD_TYPE_ENUM)
            {
              g_autofree char *values = g_strjoinv ("', '", (char **) column->enum_values);

              line = g_strdup_printf ("\n  %s text CHECK (%s IN ('%s')),\n",
                                      column->name, column->name, values);
            }
          else
            line = g_strdup_printf ("\n  %s %s,\n", column->name,
                                    expected_pg_type (column->type));

          g_assert_nonnull (strstr (block, line));
        }
    }

  g_assert_nonnull (strstr (ddl, "CREATE INDEX IF NOT EXISTS appointments_starts_at_idx "
                                 "ON appointments (tenant_id, starts_at);"));
  g_assert_nonnull (strstr (ddl, "CREATE TABLE IF NOT EXISTS vd_seq (\n"
                                 "  tenant_id uuid PRIMARY KEY,\n"
                                 "  seq bigint NOT NULL\n);"));

  /* Every statement can be rerun at start. */
  for (const char *p = ddl; (p = strstr (p, "CREATE ")) != NULL; p++)
    {
      g_assert_true (g_str_has_prefix (p, "CREATE TABLE IF NOT EXISTS ") ||
                     g_str_has_prefix (p, "CREATE INDEX IF NOT EXISTS "));
      if (g_str_has_prefix (p, "CREATE TABLE"))
        n_creates++;
    }
  g_assert_cmpuint (n_creates, ==, n_tables + 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/schema/tables", test_tables);
  g_test_add_func ("/schema/columns", test_columns);
  g_test_add_func ("/schema/unknown-names", test_unknown_names);
  g_test_add_func ("/schema/deleted-is-last", test_deleted_is_last);
  g_test_add_func ("/schema/references", test_references);
  g_test_add_func ("/schema/server-owned", test_server_owned);
  g_test_add_func ("/schema/enums", test_enums);
  g_test_add_func ("/schema/labels", test_labels);
  g_test_add_func ("/schema/sqlite-ddl", test_sqlite_ddl);
  g_test_add_func ("/schema/postgres-ddl", test_postgres_ddl);

  return g_test_run ();
}
