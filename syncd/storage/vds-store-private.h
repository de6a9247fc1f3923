/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-store-private.h — what the store's files share: the store itself, its connection
 * pool and transaction runner, and the SQL generated once from the schema registry. */
#pragma once

#include <glib.h>

#include "vds-db.h"
#include "vds-store.h"
#include "vd-id.h"
#include "vd-merge.h"
#include "vd-protocol.h"
#include "vd-schema.h"

G_BEGIN_DECLS

/* The SQL of one synced table, generated from the registry at open. */
typedef struct _VdsPullCache VdsPullCache;

typedef struct
{
  const VdTable *table;
  /* id, every registry column, _seq, _clocks, rendered so the typed getters read the
   * same text from both engines (PostgreSQL dates and instants through to_char). */
  char          *select_list;
  /* tenant_id, id, columns…, _seq, _clocks → INSERT … ON CONFLICT (tenant_id, id) DO
   * UPDATE, valid in both dialects. */
  char          *upsert;
  /* The same for 2^b rows at once (b < VDS_UPSERT_BUCKETS): a push writes a table's
   * changed rows in a few statements, each prepared once per connection. */
  char          *upsert_rows[8];
  /* Rows of a tenant above a seq, in seq order, at most $3. */
  char          *since;
} VdsTableSql;

#define VDS_UPSERT_BUCKETS 8   /* 1 … 128 rows per statement */

struct _VdsStore
{
  char         *uri;
  VdsDbDialect  dialect;
  guint         pool_size;
  guint         schema_version;

  /* Idle connections; n_open counts idle and borrowed ones. */
  GAsyncQueue  *idle;
  GMutex        pool_lock;
  guint         n_open;

  /* The server's hlc: it stamps server-owned cells and advances with every accepted
   * change. Several worker threads use it at once. */
  GMutex        clock_lock;
  VdHlcClock   *clock;
  VdHlcWallFunc wall;
  gpointer      wall_data;

  VdsTableSql  *tables;
  guint         n_tables;

  /* Encoded pull answers, valid while their clinic's seq has not moved. */
  VdsPullCache *pull_cache;

  /* Monitoring: seconds of opening time without a sync that make a clinic offline. */
  gint64        offline_after;
};

typedef enum
{
  VDS_TXN_NONE     = 0,        /* no BEGIN: one statement, or reads that need no snapshot */
  VDS_TXN_WRITE    = 1 << 0,   /* BEGIN … COMMIT, retried on serialization failures */
  VDS_TXN_SNAPSHOT = 1 << 1,   /* BEGIN with one snapshot for every statement (pull) */
} VdsTxnFlags;

/* The body of a transaction. It may run several times (a retry after a serialization
 * failure or deadlock), so it must reset its outputs on entry. */
typedef gboolean (*VdsTxnFunc) (VdsStore *self,
                                VdsDb    *db,
                                gpointer  data,
                                GError  **error);

gboolean     vds_store_run           (VdsStore    *self,
                                      VdsTxnFlags  flags,
                                      VdsTxnFunc   func,
                                      gpointer     data,
                                      GError     **error);

/* Sets error in VDS_STORE_ERROR from an error of any domain (VdsDb's unavailable stays
 * unavailable). Takes ownership of src. */
void         vds_store_propagate     (GError     **error,
                                      GError      *src);
gboolean     vds_store_db_error_is   (const GError *error,
                                      VdsDbError    code);

/* The wall clock the store runs on (tests replace it), in Unix ms. */
gint64       vds_store_wall_ms       (VdsStore    *self);
/* A received hlc advances the server's clock. */
void         vds_store_clock_observe (VdsStore    *self,
                                      VdHlc        hlc);
/* A server write: max (wall, last + 1). */
VdHlc        vds_store_clock_tick    (VdsStore    *self);

/* "col IN (…$n…)" matching a list parameter made by vds_store_id_list, per dialect. */
char        *vds_store_in_list       (VdsStore    *self,
                                      const char  *column,
                                      guint        param);
/* The list parameter of canonical uuids (a JSON array for SQLite, a text array literal
 * for PostgreSQL). Only canonical uuids may be passed: nothing is escaped. */
char        *vds_store_id_list       (VdsStore    *self,
                                      const char * const *ids,
                                      guint        n_ids);

const VdsTableSql *vds_store_table_sql (VdsStore      *self,
                                        const VdTable *table);

/* The pull answer cache (vds-store-pull.c), bounded to max_bytes of answers. */
VdsPullCache *vds_pull_cache_new     (gsize        max_bytes);
void          vds_pull_cache_free    (VdsPullCache *cache);

/* Applies the forward-only migrations on db; out_version: the version after them. */
gboolean     vds_migrations_apply    (VdsDb       *db,
                                      guint       *out_version,
                                      GError     **error);
/* The number of the newest migration this build knows. */
guint        vds_migrations_latest   (void);

/* ---- A push in progress (vds-store-push.c), shared with vds-store-conflicts.c ---- */

/* A time window of one staff member: appointments starting in (low, high); or where an
 * appointment is, [low, high). */
typedef struct
{
  char   staff[VD_UUID_LEN + 1];
  gint64 low, high;
} VdsWindow;

typedef struct
{
  const VdTable *table;
  char           id[VD_UUID_LEN + 1];
  VdValue       *values;
  VdCellClock   *clocks;
  gint64         seq;
  gboolean       exists;       /* in the database (before this push, or written by it) */
  gboolean       created;      /* created by this push */
  gboolean       was_deleted;  /* as it was before this push */
  gboolean       dirty;        /* to be written */
  gboolean       changed;      /* written by this push */
  /* Appointments: where the row was as loaded, for the double bookings it leaves. */
  gboolean       old_active;
  VdsWindow      old_place;
} VdsRow;

typedef struct
{
  const char    *tenant_id;
  VdPushRequest *req;
  char          *answer;       /* out: the answer's JSON */
  const char    *session_id;   /* the pushing session, NULL for the store's own callers */

  /* Per attempt. */
  guint          n_tables;
  GHashTable   **rows;         /* per table index: id → VdsRow */
  GHashTable    *owner;        /* id → VdTable: which table an id of this clinic is in */
  GPtrArray     *rejected;     /* of VdRejection, this store's own */
  guint          accepted;
  gint64         seq;          /* the last seq given out */
  gint64         base_seq;     /* the clinic's seq before this push */
  gboolean       replayed;
  gint64         now_ms;
  char           now_text[21];
} VdsPush;

VdsRow        *vds_row_new               (const VdTable *table,
                                          const char    *id);
const VdValue *vds_row_value             (const VdsRow  *row,
                                          const char    *column);
const char    *vds_row_text              (const VdsRow  *row,
                                          const char    *column);
gboolean       vds_row_bool              (const VdsRow  *row,
                                          const char    *column);
gboolean       vds_row_is_deleted        (const VdsRow  *row);

VdsRow        *vds_push_lookup           (VdsPush       *push,
                                          const VdTable *table,
                                          const char    *id);
void           vds_push_insert           (VdsPush       *push,
                                          VdsRow        *row);
/* Loads the rows of table whose column is one of ids into the push's cache. The cache
 * holds the truth for rows already in it. out (may be NULL) receives every matching row. */
gboolean       vds_push_load_rows        (VdsStore      *self,
                                          VdsDb         *db,
                                          VdsPush       *push,
                                          const VdTable *table,
                                          const char    *column,
                                          GPtrArray     *ids,
                                          GPtrArray     *out,
                                          GError       **error);
/* The same for the rows whose column or column2 (may be NULL) is one of ids. */
gboolean       vds_push_load_rows_either (VdsStore      *self,
                                          VdsDb         *db,
                                          VdsPush       *push,
                                          const VdTable *table,
                                          const char    *column,
                                          const char    *column2,
                                          GPtrArray     *ids,
                                          GPtrArray     *out,
                                          GError       **error);
/* Writes the push's dirty rows of one table; written (may be NULL) receives them. */
gboolean       vds_push_write_dirty_rows (VdsStore      *self,
                                          VdsDb         *db,
                                          VdsPush       *push,
                                          guint          table_index,
                                          GPtrArray     *written,
                                          GError       **error);

/* vds-store-conflicts.c: where an appointment row is and whether it takes part in double
 * bookings; the conflicts the push opens and resolves, written into the push. */
gboolean       vds_appointment_place     (const VdsRow  *row,
                                          VdsWindow     *out);
gboolean       vds_push_detect_conflicts (VdsStore      *self,
                                          VdsDb         *db,
                                          VdsPush       *push,
                                          GPtrArray     *changed,
                                          GError       **error);

/* Reads a row laid out as the table's select_list: id, columns…, _seq, _clocks (push and
 * pull). */
gboolean       vds_store_read_row        (VdsResult     *result,
                                          guint          r,
                                          const VdTable *table,
                                          VdValue       *values,
                                          VdCellClock   *clocks,
                                          gint64        *out_seq,
                                          GError       **error);
/* A clinic id that is no canonical uuid is an unknown clinic (VDS_STORE_ERROR_NOT_FOUND). */
gboolean       vds_store_check_tenant_id (const char    *tenant_id,
                                          GError       **error);

G_END_DECLS
