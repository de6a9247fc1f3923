/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-merge.h — the per-cell last-writer-wins rule (ARCHITECTURE §4) and the merge of a
 * change into one row's cells, as pure functions that every store (the desk's replica,
 * syncd on SQLite and PostgreSQL) calls; and the packed form of a row's cell clocks. */
#pragma once

#include <glib.h>
#include "vd-change.h"
#include "vd-hlc.h"

G_BEGIN_DECLS

/* A cell's clock: the hlc and the originating site (16 raw uuid bytes). */
typedef struct
{
  VdHlc  hlc;
  guint8 site[16];
} VdClock;

/* <0, 0, >0 as a is older, the same write, newer than b: hlc numerically, then site
 * bytewise. */
int       vd_clock_compare (const VdClock *a,
                            const VdClock *b);
/* TRUE iff incoming replaces stored. A never-written cell has the zero clock. */
gboolean  vd_merge_wins    (const VdClock *incoming,
                            const VdClock *stored);

/* One cell's clock and the seq of the write that set it (0 = never written). */
typedef struct
{
  VdClock clock;
  gint64  seq;
} VdCellClock;

#define VD_CELL_CLOCK_PACKED_SIZE 32   /* hlc (8, big-endian), site (16), seq (8, big-endian) */

/* Packs n cell clocks (a table's columns in registry order) into n × 32 bytes; returns
 * the newly allocated buffer. Unpack accepts a shorter buffer (a table that gained
 * columns) and zeroes the cells it lacks; FALSE when len is not a multiple of 32 or
 * longer than n cells. */
guint8   *vd_cell_clocks_pack   (const VdCellClock *clocks,
                                 guint              n,
                                 gsize             *out_len);
gboolean  vd_cell_clocks_unpack (const guint8      *data,
                                 gsize              len,
                                 VdCellClock       *clocks,
                                 guint              n);

/* The merge of one change into one row's state, shared by every store: for each cell
 * of change whose clock wins over clocks[column->index], copies the value into
 * values[column->index], sets the clock and seq, and sets changed[column->index]. Returns
 * the number of cells that won. values/clocks/changed have table->n_columns entries. */
guint     vd_row_merge          (const VdChange    *change,
                                 VdValue           *values,
                                 VdCellClock       *clocks,
                                 gboolean          *changed,
                                 gint64             seq);

/* The changes a row's cells make after seq 'after': cells grouped per (hlc, site), in
 * (hlc, site) order; each change's seq is row_seq. Appends to out. A paged listing passes
 * after = 0 (whole rows; see vd_cell_store_changes_since, client/store/vd-cell-store.h). */
void      vd_row_changes_since  (const VdTable     *table,
                                 const char        *id,
                                 const VdValue     *values,
                                 const VdCellClock *clocks,
                                 gint64             row_seq,
                                 gint64             after,
                                 GPtrArray         *out);

G_END_DECLS
