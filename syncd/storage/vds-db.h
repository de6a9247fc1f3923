/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-db.h — one small SQL interface over the two storage engines (SQLite, PostgreSQL
 * through libpq), so that syncd's storage logic is written once. A VdsDb is one
 * connection, used by one thread at a time.
 *
 * SQL is written with $1, $2, … placeholders for both engines (the SQLite side maps them
 * to ?1, ?2, …). Statements are prepared once per connection and cached by their text.
 * Parameters are typed (VdsParam); results are read with typed getters whatever the engine
 * (PostgreSQL answers in text format: booleans 't'/'f', bytea in hex — the getters hide
 * it). Where the dialects really differ, the SQL is written here, once per engine
 * (vds-db-sqlite.c, vds-db-pg.c), behind one function each: callers write no
 * "if PostgreSQL … else …". */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VDS_DB_ERROR (vds_db_error_quark ())

typedef enum
{
  VDS_DB_ERROR_FAILED,        /* anything else; the message carries the engine's text */
  VDS_DB_ERROR_UNAVAILABLE,   /* connection lost / server down: retry later */
  VDS_DB_ERROR_CONSTRAINT,    /* unique/foreign key/check violation */
  VDS_DB_ERROR_BUSY,          /* serialization failure, deadlock, SQLITE_BUSY: retry the txn */
} VdsDbError;

typedef enum
{
  VDS_DB_SQLITE,
  VDS_DB_POSTGRES,
} VdsDbDialect;

typedef enum
{
  VDS_PARAM_NULL,
  VDS_PARAM_TEXT,
  VDS_PARAM_INT,
  VDS_PARAM_REAL,
  VDS_PARAM_BOOL,
  VDS_PARAM_BLOB,
} VdsParamKind;

typedef struct
{
  VdsParamKind  kind;
  union
  {
    const char *text;
    gint64      i;
    double      r;
    gboolean    b;
    struct
    {
      const guint8 *data;
      gsize         len;
    } blob;
  };
} VdsParam;

#define VDS_TEXT(s)      ((VdsParam) { .kind = (s) ? VDS_PARAM_TEXT : VDS_PARAM_NULL, .text = (s) })
#define VDS_INT(v)       ((VdsParam) { .kind = VDS_PARAM_INT, .i = (v) })
#define VDS_REAL(v)      ((VdsParam) { .kind = VDS_PARAM_REAL, .r = (v) })
#define VDS_BOOL(v)      ((VdsParam) { .kind = VDS_PARAM_BOOL, .b = (v) })
#define VDS_BLOB(d, l)   ((VdsParam) { .kind = VDS_PARAM_BLOB, .blob = { (d), (l) } })
#define VDS_NULL         ((VdsParam) { .kind = VDS_PARAM_NULL })

typedef struct _VdsDb     VdsDb;
typedef struct _VdsResult VdsResult;

GQuark        vds_db_error_quark   (void);

/* uri: "sqlite:/path/to/file.db" or "postgresql://…" / "postgres://…" (any libpq
 * conninfo URI). SQLite is opened in WAL mode, synchronous=FULL, foreign_keys off,
 * busy_timeout 10 s. */
VdsDb        *vds_db_open          (const char    *uri,
                                    GError       **error);
void          vds_db_close         (VdsDb         *db);
VdsDbDialect  vds_db_get_dialect   (VdsDb         *db);
/* Executes one statement and returns its rows (an empty result for a statement that
 * returns none). NULL with error on failure. */
VdsResult    *vds_db_query         (VdsDb         *db,
                                    const char    *sql,
                                    const VdsParam *params,
                                    guint          n_params,
                                    GError       **error);
/* Same, for statements whose rows are not needed. On PostgreSQL this may be pipelined:
 * the error of a queued statement can surface at the next query/commit, which then fails
 * the transaction. */
gboolean      vds_db_exec          (VdsDb         *db,
                                    const char    *sql,
                                    const VdsParam *params,
                                    guint          n_params,
                                    GError       **error);
/* Several statements, no parameters, no results (DDL, migrations). */
gboolean      vds_db_exec_script   (VdsDb         *db,
                                    const char    *sql,
                                    GError       **error);
gboolean      vds_db_begin         (VdsDb         *db,
                                    GError       **error);
gboolean      vds_db_commit        (VdsDb         *db,
                                    GError       **error);
/* Never fails in a way the caller can act on; safe to call after any error. */
void          vds_db_rollback      (VdsDb         *db);
/* TRUE when the connection is broken and should be dropped (PostgreSQL restarted…). */
gboolean      vds_db_is_broken     (VdsDb         *db);

guint         vds_result_n_rows    (VdsResult     *result);
guint         vds_result_n_cols    (VdsResult     *result);
gboolean      vds_result_is_null   (VdsResult     *result,
                                    guint          row,
                                    guint          col);
/* NULL for SQL NULL; owned by the result. */
const char   *vds_result_get_text  (VdsResult     *result,
                                    guint          row,
                                    guint          col);
gint64        vds_result_get_int   (VdsResult     *result,
                                    guint          row,
                                    guint          col);
double        vds_result_get_real  (VdsResult     *result,
                                    guint          row,
                                    guint          col);
gboolean      vds_result_get_bool  (VdsResult     *result,
                                    guint          row,
                                    guint          col);
/* Owned by the result; *out_len set. */
const guint8 *vds_result_get_blob  (VdsResult     *result,
                                    guint          row,
                                    guint          col,
                                    gsize         *out_len);
void          vds_result_free      (VdsResult     *result);

/* ---- Where the dialects differ ---------------------------------------------------- */

/* Appended to a uuid column in a select list so that it reads as text: "::text" on
 * PostgreSQL (its uuid type), "" on SQLite (uuids are stored as text). */
const char   *vds_db_dialect_text_cast (VdsDbDialect dialect);

/* pg_notify (channel, payload) on PostgreSQL: delivered at commit to every connection
 * listening on channel, so to every syncd process on the database. Nothing on SQLite:
 * one process owns the file, and the store tells its own listeners. */
gboolean      vds_db_notify        (VdsDb         *db,
                                    const char    *channel,
                                    const char    *payload,
                                    GError       **error);

/* One staff member's window of an overlap search: appointments starting in (low, high),
 * Unix seconds. staff_id is a canonical uuid. */
typedef struct
{
  const char *staff_id;
  gint64      low;
  gint64      high;
} VdsDbWindow;

typedef void (*VdsDbAppointmentFunc) (const char *id,
                                      const char *staff_id,
                                      gint64      starts_at,
                                      gint64      ends_at,
                                      gpointer    data);

/* The active appointments of tenant_id (not deleted, not of an inactive status, not
 * allowed to overlap, starts_at < ends_at) that start inside one of windows, in one
 * statement: the index (tenant_id, staff_id, starts_at) is scanned over those ranges only.
 * func is called for each (an appointment inside two windows may come twice); one whose
 * instants do not read is left out. */
gboolean      vds_db_find_active_appointments (VdsDb                *db,
                                               const char           *tenant_id,
                                               const VdsDbWindow    *windows,
                                               guint                 n_windows,
                                               VdsDbAppointmentFunc  func,
                                               gpointer              data,
                                               GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdsDb, vds_db_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdsResult, vds_result_free)

G_END_DECLS
