/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-cell-store.h — an SQLite store of typed rows and their per-cell clocks, scoped to
 * one tenant, that merges changes by the LWW rule and lists what changed after a
 * sequence number: the desk's replica (VdStore keeps its rows here), and the replicas the
 * tests compare. The merge itself is vd_row_merge (vd-merge.h), which syncd calls too.
 *
 * Layout (vd_schema_sqlite_ddl): one table per synced table, named as in the registry,
 * with columns tenant_id, id, every registry column, _seq (the row's highest cell seq)
 * and _clocks (the packed cell clocks, vd-merge.h), primary key (tenant_id, id), an index on
 * (tenant_id, _seq); and vd_seq (tenant_id primary key, seq) holding each tenant's last
 * seq. Seqs are assigned inside the writing transaction, so they follow commit order. */
#pragma once

#include <glib.h>
#include <sqlite3.h>
#include "vd-change.h"
#include "vd-merge.h"

G_BEGIN_DECLS

typedef struct _VdCellStore VdCellStore;

/* Creates the tables when missing. The store does not own db. */
VdCellStore *vd_cell_store_new     (sqlite3      *db,
                                    const char   *tenant_id,
                                    GError      **error);
void         vd_cell_store_free    (VdCellStore  *self);
sqlite3     *vd_cell_store_get_db  (VdCellStore  *self);
const char  *vd_cell_store_get_tenant_id (VdCellStore *self);

/* Applies one change in one transaction (a SAVEPOINT, so it nests inside a caller's
 * transaction): creates the row when missing, writes each winning cell's value and clock,
 * and when anything won gives the row the tenant's next seq. out_applied (may be NULL):
 * the number of cells that won (0 for a duplicate or older write). */
gboolean     vd_cell_store_apply   (VdCellStore     *self,
                                    const VdChange  *change,
                                    guint           *out_applied,
                                    GError         **error);

/* Applies changes (VdChange*s) in order in ONE transaction (a single SAVEPOINT when the
 * caller holds one): each change is merged exactly as vd_cell_store_apply would merge it
 * after the ones before it (duplicates and older writes win nothing, each change that
 * wins takes the next seq), but without a savepoint per change, which makes a page of
 * thousands several times faster (FTS5 flushes its pending terms at every savepoint).
 * All or nothing: on error nothing of the batch stays. out_applied (may be NULL):
 * changes->len entries, the cells that won per change. */
gboolean     vd_cell_store_apply_many (VdCellStore  *self,
                                       GPtrArray    *changes,
                                       guint        *out_applied,
                                       GError      **error);

/* The changes after seq 'after': the rows whose seq is above 'after', in seq order, each
 * row whole (all its written cells) grouped per (hlc, site) (vd_row_changes_since with
 * after = 0), at most limit changes except that a row is never split and the first row
 * always comes whole. out_cursor: the seq of the last row returned ('after' when none);
 * out_more: rows remain after it. Returns VdChange*s.
 * Whole rows, not only the cells above 'after': a row's older cells can sit at or below
 * a page's cursor while the row itself, moved on by a later write, comes only in a later
 * page; filtered by that page's 'after' they would never be sent. */
GPtrArray   *vd_cell_store_changes_since (VdCellStore *self,
                                          gint64       after,
                                          guint        limit,
                                          gint64      *out_cursor,
                                          gboolean    *out_more,
                                          GError     **error);

/* The highest seq assigned in this tenant (0 for none). */
gint64       vd_cell_store_get_seq (VdCellStore     *self);

/* Reads one row's values and clocks (arrays of table->n_columns, caller clears the
 * values). FALSE without error when the row does not exist. */
gboolean     vd_cell_store_get_row (VdCellStore     *self,
                                    const VdTable   *table,
                                    const char      *id,
                                    VdValue         *values,
                                    VdCellClock     *clocks,
                                    gint64          *out_seq,
                                    GError         **error);

/* Lowercase hex SHA-256 over every row's id and data cells (not clocks, not seqs), tables
 * in registry order, rows in id order: replicas that saw the same writes give the same
 * digest. */
char        *vd_cell_store_digest  (VdCellStore     *self,
                                    GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdCellStore, vd_cell_store_free)

G_END_DECLS
