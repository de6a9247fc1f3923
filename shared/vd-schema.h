/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-schema.h — the one registry of synced tables and columns (ARCHITECTURE §3). Client
 * DDL, server DDL, validation and the JSON codec all come from it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  VD_TYPE_TEXT,
  VD_TYPE_INTEGER,
  VD_TYPE_REAL,
  VD_TYPE_BOOLEAN,
  VD_TYPE_DATE,       /* "YYYY-MM-DD" */
  VD_TYPE_TIMESTAMP,  /* "YYYY-MM-DDTHH:MM:SSZ", UTC */
  VD_TYPE_UUID,       /* canonical lowercase */
  VD_TYPE_ENUM,
} VdColumnType;

/* Extra checks on text columns, beyond type and length. */
typedef enum
{
  VD_FORMAT_NONE,
  VD_FORMAT_EMAIL,      /* local@domain.tld, no spaces */
  VD_FORMAT_PHONE,      /* digits, spaces and + - ( ) . only, at least 3 digits */
  VD_FORMAT_MICROCHIP,  /* exactly 15 digits (ISO 11784) */
  VD_FORMAT_COLOR,      /* #rrggbb */
} VdColumnFormat;

/* The clinic roles of a membership (ARCHITECTURE §5), as flags: a table's writers. Their
 * names and what they may do are in vd-rules.h. */
typedef enum
{
  VD_CLINIC_ROLE_FRONT_DESK   = 1 << 0,
  VD_CLINIC_ROLE_VETERINARIAN = 1 << 1,
  VD_CLINIC_ROLE_TECHNICIAN   = 1 << 2,
  VD_CLINIC_ROLE_GROOMER      = 1 << 3,
  VD_CLINIC_ROLE_CLINIC_ADMIN = 1 << 4,
} VdClinicRole;

#define VD_CLINIC_ROLES_ALL 0x1f

typedef struct _VdTable VdTable;

typedef struct
{
  const char         *name;
  VdColumnType        type;
  gboolean            nullable;
  guint               max_length;    /* characters, for text; 0 = no limit */
  const char * const *enum_values;   /* NULL-terminated, for VD_TYPE_ENUM */
  const char * const *enum_labels;   /* parallel to enum_values, untranslated */
  const char         *enum_context;  /* their gettext context, or NULL */
  const char         *ref_table;     /* for a reference (VD_TYPE_UUID), else NULL */
  gboolean            server_owned;  /* written by the server only */
  VdColumnFormat      format;
  guint               index;         /* position in its table's columns */
  const VdTable      *table;
} VdColumn;

struct _VdTable
{
  const char     *name;
  const VdColumn *columns;           /* every column but id; "deleted" is the last */
  guint           n_columns;
  gboolean        server_owned;      /* the whole table (conflicts) */
  guint           index;             /* position in the registry */
  gboolean        write_once;        /* rows never change once made (§9); read through vd-rules */
  VdClinicRole    writers;           /* the roles that may write it (§5); read through vd-rules */
};

/* The synced tables in dependency order: staff, clients, pets, appointments, conflicts. */
const VdTable  *vd_schema_tables          (guint         *n_tables);
const VdTable  *vd_schema_lookup_table    (const char    *name);
const VdColumn *vd_table_lookup_column    (const VdTable *table,
                                           const char    *name);
/* The column named "deleted", present in every table. */
const VdColumn *vd_table_deleted_column   (const VdTable *table);

/* The canonical translatable label of a column for error messages ("first name"). */
const char     *vd_column_label           (const VdColumn *column);

/* The values of an enum column in registry order, NULL-terminated; NULL when the column
 * is unknown or not an enum. */
const char * const *vd_enum_values        (const char     *table,
                                           const char     *column);
/* The translated label a person reads for an enum value ("pets", "species", "dog" →
 * "Dog"). A value the registry does not list (NULL, or a newer desk's) reads as the
 * column's "other" value where it has one, else its "unknown" one, else as the value
 * itself ("" for NULL). */
const char     *vd_enum_label             (const char     *table,
                                           const char     *column,
                                           const char     *value);
const char     *vd_column_enum_label      (const VdColumn *column,
                                           const char     *value);

/* DDL, generated from the registry. SQLite: the cell-store tables of the desk's replica
 * (client/store/vd-cell-store.h) and of syncd's SQLite backend. PostgreSQL: typed tables
 * keyed by (tenant_id, id). Both include the bookkeeping columns "_seq" (bigint, the
 * row's highest cell seq) and "_clocks" (blob/bytea, packed per-cell clocks, see
 * vd-merge.h), and an index on (tenant_id, _seq). Free with g_free. */
char           *vd_schema_sqlite_ddl      (void);
char           *vd_schema_postgres_ddl    (void);

G_END_DECLS
