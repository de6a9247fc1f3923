/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-schema.c — the registry of synced tables and columns as static data, their labels
 * for messages, and the SQLite and PostgreSQL DDL generated from it. */
#define G_LOG_DOMAIN "vdshared"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "vd-schema.h"

enum
{
  TABLE_STAFF,
  TABLE_CLIENTS,
  TABLE_PETS,
  TABLE_APPOINTMENTS,
  TABLE_CONFLICTS,
  N_TABLES
};

/* Declared ahead so each column can point at its table from static data. */
static const VdTable tables[N_TABLES];

/* Column initialisers. The index is written out per column; test-schema checks that it
 * matches the position, so a column inserted in the middle cannot go unnoticed. */
#define COLUMN(tbl, idx, nm, tp, null, max, enums, ref, owned, fmt) \
  { .name = (nm), .type = (tp), .nullable = (null), .max_length = (max), \
    .enum_values = (enums), .ref_table = (ref), .server_owned = (owned), \
    .format = (fmt), .index = (idx), .table = &tables[tbl] }
/* An enum column: its values, their labels and the labels' gettext context. */
#define ENUM_COLUMN(tbl, idx, nm, null, values, labels, ctx, owned) \
  { .name = (nm), .type = VD_TYPE_ENUM, .nullable = (null), .enum_values = (values), \
    .enum_labels = (labels), .enum_context = (ctx), .server_owned = (owned), \
    .format = VD_FORMAT_NONE, .index = (idx), .table = &tables[tbl] }

#define TEXT(tbl, idx, nm, null, max, fmt) \
  COLUMN (tbl, idx, nm, VD_TYPE_TEXT, null, max, NULL, NULL, FALSE, fmt)
#define BOOL(tbl, idx, nm) \
  COLUMN (tbl, idx, nm, VD_TYPE_BOOLEAN, FALSE, 0, NULL, NULL, FALSE, VD_FORMAT_NONE)
#define ENUM(tbl, idx, nm, null, values, ctx) \
  ENUM_COLUMN (tbl, idx, nm, null, values, values##_labels, ctx, FALSE)
#define REF(tbl, idx, nm, null, ref) \
  COLUMN (tbl, idx, nm, VD_TYPE_UUID, null, 0, NULL, ref, FALSE, VD_FORMAT_NONE)
#define TYPED(tbl, idx, nm, tp, null) \
  COLUMN (tbl, idx, nm, tp, null, 0, NULL, NULL, FALSE, VD_FORMAT_NONE)

/* Conflicts are written by the server only: every column of that table is server-owned. */
#define OWNED(idx, nm, tp, null, max) \
  COLUMN (TABLE_CONFLICTS, idx, nm, tp, null, max, NULL, NULL, TRUE, VD_FORMAT_NONE)
#define OWNED_ENUM(idx, nm, values) \
  ENUM_COLUMN (TABLE_CONFLICTS, idx, nm, FALSE, values, values##_labels, NULL, TRUE)

/* Each enum's values and, parallel to them, the labels people read (vd_enum_label), with
 * a gettext context where the bare word would be ambiguous. */
static const char * const staff_roles[] = {
  "veterinarian", "technician", "groomer", "front_desk", "manager", NULL
};
static const char * const staff_roles_labels[] = {
  N_("Veterinarian"), N_("Technician"), N_("Groomer"), N_("Front desk"), N_("Manager"), NULL
};

static const char * const pet_species[] = {
  "dog", "cat", "bird", "rabbit", "reptile", "rodent", "horse", "other", NULL
};
static const char * const pet_species_labels[] = {
  NC_("species", "Dog"), NC_("species", "Cat"), NC_("species", "Bird"),
  NC_("species", "Rabbit"), NC_("species", "Reptile"), NC_("species", "Rodent"),
  NC_("species", "Horse"), NC_("species", "Other"), NULL
};

static const char * const pet_sexes[] = {
  "male", "female", "unknown", NULL
};
static const char * const pet_sexes_labels[] = {
  NC_("pet sex", "Male"), NC_("pet sex", "Female"), NC_("pet sex", "Unknown"), NULL
};

static const char * const appointment_kinds[] = {
  "consultation", "vaccination", "surgery", "grooming", "dental", "follow_up", "other", NULL
};
static const char * const appointment_kinds_labels[] = {
  N_("Consultation"), N_("Vaccination"), N_("Surgery"), N_("Grooming"), N_("Dental"),
  N_("Follow-up"), N_("Other"), NULL
};

static const char * const appointment_statuses[] = {
  "scheduled", "confirmed", "checked_in", "in_progress", "completed", "cancelled",
  "no_show", NULL
};
static const char * const appointment_statuses_labels[] = {
  N_("Scheduled"), N_("Confirmed"), N_("Checked in"), N_("In progress"), N_("Completed"),
  N_("Cancelled"), N_("No-show"), NULL
};

static const char * const conflict_kinds[] = {
  "double_booking", "dangling_reference", NULL
};
static const char * const conflict_kinds_labels[] = {
  N_("Double booking"), N_("Missing record"), NULL
};

/* A label list that falls out of step with its values fails the build. */
G_STATIC_ASSERT (G_N_ELEMENTS (staff_roles_labels) == G_N_ELEMENTS (staff_roles));
G_STATIC_ASSERT (G_N_ELEMENTS (pet_species_labels) == G_N_ELEMENTS (pet_species));
G_STATIC_ASSERT (G_N_ELEMENTS (pet_sexes_labels) == G_N_ELEMENTS (pet_sexes));
G_STATIC_ASSERT (G_N_ELEMENTS (appointment_kinds_labels) == G_N_ELEMENTS (appointment_kinds));
G_STATIC_ASSERT (G_N_ELEMENTS (appointment_statuses_labels) == G_N_ELEMENTS (appointment_statuses));
G_STATIC_ASSERT (G_N_ELEMENTS (conflict_kinds_labels) == G_N_ELEMENTS (conflict_kinds));

static const VdColumn staff_columns[] = {
  TEXT (TABLE_STAFF, 0, "name", FALSE, 200, VD_FORMAT_NONE),
  ENUM (TABLE_STAFF, 1, "role", FALSE, staff_roles, NULL),
  TEXT (TABLE_STAFF, 2, "email", TRUE, 254, VD_FORMAT_EMAIL),
  TEXT (TABLE_STAFF, 3, "phone", TRUE, 40, VD_FORMAT_PHONE),
  TEXT (TABLE_STAFF, 4, "color", TRUE, 7, VD_FORMAT_COLOR),
  BOOL (TABLE_STAFF, 5, "active"),
  BOOL (TABLE_STAFF, 6, "deleted"),
};

static const VdColumn client_columns[] = {
  TEXT (TABLE_CLIENTS, 0, "first_name", FALSE, 100, VD_FORMAT_NONE),
  TEXT (TABLE_CLIENTS, 1, "last_name", FALSE, 100, VD_FORMAT_NONE),
  TEXT (TABLE_CLIENTS, 2, "email", TRUE, 254, VD_FORMAT_EMAIL),
  TEXT (TABLE_CLIENTS, 3, "phone", TRUE, 40, VD_FORMAT_PHONE),
  TEXT (TABLE_CLIENTS, 4, "address", TRUE, 500, VD_FORMAT_NONE),
  TEXT (TABLE_CLIENTS, 5, "notes", TRUE, 10000, VD_FORMAT_NONE),
  BOOL (TABLE_CLIENTS, 6, "deleted"),
};

static const VdColumn pet_columns[] = {
  REF (TABLE_PETS, 0, "client_id", FALSE, "clients"),
  TEXT (TABLE_PETS, 1, "name", FALSE, 100, VD_FORMAT_NONE),
  ENUM (TABLE_PETS, 2, "species", FALSE, pet_species, "species"),
  TEXT (TABLE_PETS, 3, "breed", TRUE, 100, VD_FORMAT_NONE),
  ENUM (TABLE_PETS, 4, "sex", FALSE, pet_sexes, "pet sex"),
  BOOL (TABLE_PETS, 5, "neutered"),
  TYPED (TABLE_PETS, 6, "birth_date", VD_TYPE_DATE, TRUE),
  TYPED (TABLE_PETS, 7, "weight_kg", VD_TYPE_REAL, TRUE),
  TEXT (TABLE_PETS, 8, "microchip", TRUE, 15, VD_FORMAT_MICROCHIP),
  TEXT (TABLE_PETS, 9, "color", TRUE, 50, VD_FORMAT_NONE),
  TEXT (TABLE_PETS, 10, "allergies", TRUE, 1000, VD_FORMAT_NONE),
  TEXT (TABLE_PETS, 11, "notes", TRUE, 10000, VD_FORMAT_NONE),
  BOOL (TABLE_PETS, 12, "deceased"),
  BOOL (TABLE_PETS, 13, "deleted"),
};

static const VdColumn appointment_columns[] = {
  REF (TABLE_APPOINTMENTS, 0, "pet_id", FALSE, "pets"),
  REF (TABLE_APPOINTMENTS, 1, "client_id", FALSE, "clients"),
  REF (TABLE_APPOINTMENTS, 2, "staff_id", FALSE, "staff"),
  TEXT (TABLE_APPOINTMENTS, 3, "room", TRUE, 50, VD_FORMAT_NONE),
  ENUM (TABLE_APPOINTMENTS, 4, "kind", FALSE, appointment_kinds, NULL),
  TYPED (TABLE_APPOINTMENTS, 5, "starts_at", VD_TYPE_TIMESTAMP, FALSE),
  TYPED (TABLE_APPOINTMENTS, 6, "ends_at", VD_TYPE_TIMESTAMP, FALSE),
  ENUM (TABLE_APPOINTMENTS, 7, "status", FALSE, appointment_statuses, NULL),
  TEXT (TABLE_APPOINTMENTS, 8, "reason", TRUE, 500, VD_FORMAT_NONE),
  TEXT (TABLE_APPOINTMENTS, 9, "notes", TRUE, 10000, VD_FORMAT_NONE),
  BOOL (TABLE_APPOINTMENTS, 10, "allow_overlap"),
  BOOL (TABLE_APPOINTMENTS, 11, "deleted"),
};

static const VdColumn conflict_columns[] = {
  OWNED_ENUM (0, "kind", conflict_kinds),
  OWNED (1, "table_name", VD_TYPE_TEXT, FALSE, 64),
  OWNED (2, "row_id", VD_TYPE_UUID, FALSE, 0),
  OWNED (3, "other_row_id", VD_TYPE_UUID, TRUE, 0),
  /* Long enough to name every appointment of a double booking's group (one conflict
   * per group of overlapping appointments, issue #16). */
  OWNED (4, "detail", VD_TYPE_TEXT, TRUE, 200000),
  OWNED (5, "detected_at", VD_TYPE_TIMESTAMP, FALSE, 0),
  OWNED (6, "resolved_at", VD_TYPE_TIMESTAMP, TRUE, 0),
  OWNED (7, "deleted", VD_TYPE_BOOLEAN, FALSE, 0),
};

/* A table: its columns, whether only the server writes it, whether its rows are
 * write-once (ARCHITECTURE §9) and which clinic roles may write it (§5). */
#define TABLE(idx, nm, cols, owned, wo, who) \
  [idx] = { .name = (nm), .columns = (cols), .n_columns = G_N_ELEMENTS (cols), \
            .server_owned = (owned), .index = (idx), .write_once = (wo), .writers = (who) }

static const VdTable tables[N_TABLES] = {
  TABLE (TABLE_STAFF, "staff", staff_columns, FALSE, FALSE, VD_CLINIC_ROLES_ALL),
  TABLE (TABLE_CLIENTS, "clients", client_columns, FALSE, FALSE, VD_CLINIC_ROLES_ALL),
  TABLE (TABLE_PETS, "pets", pet_columns, FALSE, FALSE, VD_CLINIC_ROLES_ALL),
  TABLE (TABLE_APPOINTMENTS, "appointments", appointment_columns, FALSE, FALSE,
         VD_CLINIC_ROLES_ALL),
  TABLE (TABLE_CONFLICTS, "conflicts", conflict_columns, TRUE, FALSE, 0),
};

/* Labels, parallel to each table's columns. They are noun phrases that read after "The"
 * in a sentence ("The first name is required."). */
static const char * const staff_labels[] = {
  N_("name"), N_("role"), N_("email address"), N_("phone number"), N_("calendar color"),
  N_("active status"), N_("deleted status"),
};

static const char * const client_labels[] = {
  N_("first name"), N_("last name"), N_("email address"), N_("phone number"),
  N_("address"), N_("notes"), N_("deleted status"),
};

static const char * const pet_labels[] = {
  N_("client"), N_("name"), N_("species"), N_("breed"), N_("sex"), N_("neutered status"),
  N_("birth date"), N_("weight"), N_("microchip number"), N_("coat color"),
  N_("allergies"), N_("notes"), N_("deceased status"), N_("deleted status"),
};

static const char * const appointment_labels[] = {
  N_("pet"), N_("client"), N_("staff member"), N_("room"), N_("appointment type"),
  N_("start time"), N_("end time"), N_("status"), N_("reason"), N_("notes"),
  N_("overlap permission"), N_("deleted status"),
};

static const char * const conflict_labels[] = {
  N_("conflict kind"), N_("table name"), N_("row"), N_("other row"), N_("detail"),
  N_("detection time"), N_("resolution time"), N_("deleted status"),
};

static const char * const * const labels[N_TABLES] = {
  [TABLE_STAFF] = staff_labels,
  [TABLE_CLIENTS] = client_labels,
  [TABLE_PETS] = pet_labels,
  [TABLE_APPOINTMENTS] = appointment_labels,
  [TABLE_CONFLICTS] = conflict_labels,
};

/* A label array that falls out of step with its columns fails the build. */
G_STATIC_ASSERT (G_N_ELEMENTS (staff_labels) == G_N_ELEMENTS (staff_columns));
G_STATIC_ASSERT (G_N_ELEMENTS (client_labels) == G_N_ELEMENTS (client_columns));
G_STATIC_ASSERT (G_N_ELEMENTS (pet_labels) == G_N_ELEMENTS (pet_columns));
G_STATIC_ASSERT (G_N_ELEMENTS (appointment_labels) == G_N_ELEMENTS (appointment_columns));
G_STATIC_ASSERT (G_N_ELEMENTS (conflict_labels) == G_N_ELEMENTS (conflict_columns));

/* Secondary indexes beyond (tenant_id, _seq), for the queries the desk runs most: the
 * day's appointments and a client's pets. */
static const struct
{
  const char *table;
  const char *column;
} extra_indexes[] = {
  { "pets", "client_id" },
  { "appointments", "starts_at" },
};

const VdTable *
vd_schema_tables (guint *n_tables)
{
  if (n_tables != NULL)
    *n_tables = N_TABLES;
  return tables;
}

const VdTable *
vd_schema_lookup_table (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < N_TABLES; i++)
    {
      if (strcmp (tables[i].name, name) == 0)
        return &tables[i];
    }

  return NULL;
}

const VdColumn *
vd_table_lookup_column (const VdTable *table,
                        const char    *name)
{
  g_return_val_if_fail (table != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < table->n_columns; i++)
    {
      if (strcmp (table->columns[i].name, name) == 0)
        return &table->columns[i];
    }

  return NULL;
}

const VdColumn *
vd_table_deleted_column (const VdTable *table)
{
  g_return_val_if_fail (table != NULL, NULL);

  return &table->columns[table->n_columns - 1];
}

const char *
vd_column_label (const VdColumn *column)
{
  g_return_val_if_fail (column != NULL, NULL);
  g_return_val_if_fail (column->table != NULL && column->table->index < N_TABLES, column->name);

  return _(labels[column->table->index][column->index]);
}

/* A column by its table's name and its own, or NULL. */
static const VdColumn *
lookup_column (const char *table,
               const char *column)
{
  const VdTable *t = vd_schema_lookup_table (table);

  return t != NULL ? vd_table_lookup_column (t, column) : NULL;
}

const char * const *
vd_enum_values (const char *table,
                const char *column)
{
  const VdColumn *c;

  g_return_val_if_fail (table != NULL, NULL);
  g_return_val_if_fail (column != NULL, NULL);

  c = lookup_column (table, column);
  return c != NULL && c->type == VD_TYPE_ENUM ? c->enum_values : NULL;
}

static const char *
enum_label_at (const VdColumn *column,
               guint           i)
{
  const char *label = column->enum_labels[i];

  return column->enum_context != NULL
         ? g_dpgettext2 (GETTEXT_PACKAGE, column->enum_context, label)
         : g_dgettext (GETTEXT_PACKAGE, label);
}

static int
enum_index (const VdColumn *column,
            const char     *value)
{
  for (guint i = 0; value != NULL && column->enum_values[i] != NULL; i++)
    if (strcmp (column->enum_values[i], value) == 0)
      return (int) i;
  return -1;
}

const char *
vd_column_enum_label (const VdColumn *column,
                      const char     *value)
{
  int i;

  g_return_val_if_fail (column != NULL, value);

  if (column->type != VD_TYPE_ENUM || column->enum_labels == NULL)
    return value != NULL ? value : "";

  i = enum_index (column, value);
  /* A value this build does not know still reads as something a person understands. */
  if (i < 0)
    i = enum_index (column, "other");
  if (i < 0)
    i = enum_index (column, "unknown");
  if (i < 0)
    return value != NULL ? value : "";
  return enum_label_at (column, (guint) i);
}

const char *
vd_enum_label (const char *table,
               const char *column,
               const char *value)
{
  const VdColumn *c;

  g_return_val_if_fail (table != NULL, value);
  g_return_val_if_fail (column != NULL, value);

  c = lookup_column (table, column);
  g_return_val_if_fail (c != NULL, value);

  return vd_column_enum_label (c, value);
}

static const char *
sqlite_type (VdColumnType type)
{
  switch (type)
    {
    case VD_TYPE_INTEGER:
    case VD_TYPE_BOOLEAN:
      return "INTEGER";
    case VD_TYPE_REAL:
      return "REAL";
    case VD_TYPE_TEXT:
    case VD_TYPE_DATE:
    case VD_TYPE_TIMESTAMP:
    case VD_TYPE_UUID:
    case VD_TYPE_ENUM:
    default:
      return "TEXT";
    }
}

static const char *
postgres_type (VdColumnType type)
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
    case VD_TYPE_TEXT:
    case VD_TYPE_ENUM:
    default:
      return "text";
    }
}

static gboolean
is_deleted_column (const VdColumn *column)
{
  return column->index == column->table->n_columns - 1;
}

static void
append_indexes (GString       *ddl,
                const VdTable *table)
{
  g_string_append_printf (ddl,
                          "CREATE INDEX IF NOT EXISTS %s_seq_idx ON %s (tenant_id, _seq);\n",
                          table->name, table->name);

  for (guint i = 0; i < G_N_ELEMENTS (extra_indexes); i++)
    {
      if (strcmp (extra_indexes[i].table, table->name) != 0)
        continue;
      g_string_append_printf (ddl,
                              "CREATE INDEX IF NOT EXISTS %s_%s_idx ON %s (tenant_id, %s);\n",
                              table->name, extra_indexes[i].column, table->name,
                              extra_indexes[i].column);
    }
}

/* Registry columns carry no NOT NULL or CHECK here: a row merged cell by cell may lack
 * required values for a while, and validation happens before a change is applied. A
 * plain rowid table is used because notes can make rows far larger than the size
 * WITHOUT ROWID suits. */
char *
vd_schema_sqlite_ddl (void)
{
  GString *ddl = g_string_new (NULL);

  for (guint t = 0; t < N_TABLES; t++)
    {
      const VdTable *table = &tables[t];

      g_string_append_printf (ddl,
                              "CREATE TABLE IF NOT EXISTS %s (\n"
                              "  tenant_id TEXT NOT NULL,\n"
                              "  id TEXT NOT NULL,\n",
                              table->name);

      for (guint c = 0; c < table->n_columns; c++)
        {
          const VdColumn *column = &table->columns[c];

          if (is_deleted_column (column))
            g_string_append_printf (ddl, "  %s INTEGER NOT NULL DEFAULT 0,\n", column->name);
          else
            g_string_append_printf (ddl, "  %s %s,\n", column->name, sqlite_type (column->type));
        }

      g_string_append (ddl,
                       "  _seq INTEGER NOT NULL DEFAULT 0,\n"
                       "  _clocks BLOB NOT NULL DEFAULT x'',\n"
                       "  PRIMARY KEY (tenant_id, id)\n"
                       ");\n");
      append_indexes (ddl, table);
    }

  g_string_append (ddl,
                   "CREATE TABLE IF NOT EXISTS vd_seq (\n"
                   "  tenant_id TEXT PRIMARY KEY,\n"
                   "  seq INTEGER NOT NULL\n"
                   ");\n");

  return g_string_free (ddl, FALSE);
}

/* Enum values are registry constants made of [a-z_], so they are quoted as literals
 * without escaping. Nullability is left to validation for the same reason as in SQLite. */
char *
vd_schema_postgres_ddl (void)
{
  GString *ddl = g_string_new (NULL);

  for (guint t = 0; t < N_TABLES; t++)
    {
      const VdTable *table = &tables[t];

      g_string_append_printf (ddl,
                              "CREATE TABLE IF NOT EXISTS %s (\n"
                              "  tenant_id uuid NOT NULL,\n"
                              "  id uuid NOT NULL,\n",
                              table->name);

      for (guint c = 0; c < table->n_columns; c++)
        {
          const VdColumn *column = &table->columns[c];

          if (is_deleted_column (column))
            {
              g_string_append_printf (ddl, "  %s boolean NOT NULL DEFAULT false,\n",
                                      column->name);
              continue;
            }

          g_string_append_printf (ddl, "  %s %s", column->name, postgres_type (column->type));
          if (column->type == VD_TYPE_ENUM && column->enum_values != NULL)
            {
              g_string_append_printf (ddl, " CHECK (%s IN (", column->name);
              for (guint v = 0; column->enum_values[v] != NULL; v++)
                g_string_append_printf (ddl, "%s'%s'", v > 0 ? ", " : "",
                                        column->enum_values[v]);
              g_string_append (ddl, "))");
            }
          g_string_append (ddl, ",\n");
        }

      g_string_append (ddl,
                       "  _seq bigint NOT NULL DEFAULT 0,\n"
                       "  _clocks bytea NOT NULL DEFAULT ''::bytea,\n"
                       "  PRIMARY KEY (tenant_id, id)\n"
                       ");\n");
      append_indexes (ddl, table);
    }

  g_string_append (ddl,
                   "CREATE TABLE IF NOT EXISTS vd_seq (\n"
                   "  tenant_id uuid PRIMARY KEY,\n"
                   "  seq bigint NOT NULL\n"
                   ");\n");

  return g_string_free (ddl, FALSE);
}
