/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-merge.c — the per-cell last-writer-wins order (a write is newer when its hlc is
 * larger, and between equal hlcs when its site's raw bytes are larger), the merge of a
 * change into one row's cells by that order, the row's cells listed back as changes, and
 * the packed form of its cell clocks. */
#define G_LOG_DOMAIN "vdshared"

#include "config.h"

#include <string.h>

#include "vd-id.h"
#include "vd-merge.h"

int
vd_clock_compare (const VdClock *a,
                  const VdClock *b)
{
  g_return_val_if_fail (a != NULL, 0);
  g_return_val_if_fail (b != NULL, 0);

  /* Compared as integers, never by subtraction: the difference of two 64-bit hlcs does
   * not fit an int. */
  if (a->hlc != b->hlc)
    return a->hlc < b->hlc ? -1 : 1;

  /* The site breaks ties so that two devices writing in the same millisecond and counter
   * still agree on one winner everywhere. */
  return memcmp (a->site, b->site, sizeof a->site);
}

gboolean
vd_merge_wins (const VdClock *incoming,
               const VdClock *stored)
{
  g_return_val_if_fail (incoming != NULL, FALSE);
  g_return_val_if_fail (stored != NULL, FALSE);

  /* Strictly greater: an equal clock is the same write seen again, which changes
   * nothing. */
  return vd_clock_compare (incoming, stored) > 0;
}

/* ---- Packed clocks -------------------------------------------------------------- */

static void
put_be64 (guint8  *out,
          guint64  v)
{
  for (int i = 7; i >= 0; i--)
    {
      out[i] = v & 0xff;
      v >>= 8;
    }
}

static guint64
get_be64 (const guint8 *in)
{
  guint64 v = 0;

  for (guint i = 0; i < 8; i++)
    v = (v << 8) | in[i];
  return v;
}

guint8 *
vd_cell_clocks_pack (const VdCellClock *clocks,
                     guint              n,
                     gsize             *out_len)
{
  guint8 *data;

  g_return_val_if_fail (clocks != NULL || n == 0, NULL);

  /* g_malloc0 (0) is NULL; an empty table still gets a buffer to bind as a blob. */
  data = g_malloc0 (MAX (n, 1) * VD_CELL_CLOCK_PACKED_SIZE);
  for (guint i = 0; i < n; i++)
    {
      guint8 *p = data + i * VD_CELL_CLOCK_PACKED_SIZE;

      put_be64 (p, clocks[i].clock.hlc);
      memcpy (p + 8, clocks[i].clock.site, 16);
      put_be64 (p + 24, (guint64) clocks[i].seq);
    }
  if (out_len != NULL)
    *out_len = (gsize) n * VD_CELL_CLOCK_PACKED_SIZE;
  return data;
}

gboolean
vd_cell_clocks_unpack (const guint8 *data,
                       gsize         len,
                       VdCellClock  *clocks,
                       guint         n)
{
  gsize have;

  g_return_val_if_fail (clocks != NULL || n == 0, FALSE);

  if (len % VD_CELL_CLOCK_PACKED_SIZE != 0 || len / VD_CELL_CLOCK_PACKED_SIZE > n)
    return FALSE;
  if (len > 0 && data == NULL)
    return FALSE;

  have = len / VD_CELL_CLOCK_PACKED_SIZE;
  for (gsize i = 0; i < have; i++)
    {
      const guint8 *p = data + i * VD_CELL_CLOCK_PACKED_SIZE;

      clocks[i].clock.hlc = get_be64 (p);
      memcpy (clocks[i].clock.site, p + 8, 16);
      clocks[i].seq = (gint64) get_be64 (p + 24);
    }
  /* Columns added to the table after the row was written were never written here. */
  if (n > have)
    memset (clocks + have, 0, (n - have) * sizeof (VdCellClock));
  return TRUE;
}

/* ---- One row's merge and listing ------------------------------------------------- */

guint
vd_row_merge (const VdChange *change,
              VdValue        *values,
              VdCellClock    *clocks,
              gboolean       *changed,
              gint64          seq)
{
  VdClock incoming;
  guint won = 0;

  g_return_val_if_fail (change != NULL, 0);
  g_return_val_if_fail (change->table != NULL, 0);
  g_return_val_if_fail (values != NULL, 0);
  g_return_val_if_fail (clocks != NULL, 0);

  incoming.hlc = change->hlc;
  if (!vd_uuid_to_bytes (change->site, incoming.site))
    {
      g_critical ("vd_row_merge: the change's site “%s” is not a uuid", change->site);
      return 0;
    }

  /* Every cell, "deleted" included, is decided on its own clock: that alone makes the
   * merge commutative, and keeps a deleted row deleted under concurrent edits. */
  for (guint i = 0; i < change->cells->len; i++)
    {
      const VdCell *cell = &g_array_index (change->cells, VdCell, i);
      guint idx = cell->column->index;

      g_return_val_if_fail (cell->column->table == change->table, won);
      g_return_val_if_fail (idx < change->table->n_columns, won);

      if (!vd_merge_wins (&incoming, &clocks[idx].clock))
        continue;

      vd_value_clear (&values[idx]);
      vd_value_copy (&cell->value, &values[idx]);
      clocks[idx].clock = incoming;
      clocks[idx].seq = seq;
      if (changed != NULL)
        changed[idx] = TRUE;
      won++;
    }

  return won;
}

void
vd_row_changes_since (const VdTable     *table,
                      const char        *id,
                      const VdValue     *values,
                      const VdCellClock *clocks,
                      gint64             row_seq,
                      gint64             after,
                      GPtrArray         *out)
{
  guint *order;
  guint n = 0;
  guint i;

  g_return_if_fail (table != NULL);
  g_return_if_fail (id != NULL);
  g_return_if_fail (values != NULL);
  g_return_if_fail (clocks != NULL);
  g_return_if_fail (out != NULL);

  /* Tables have a handful of columns: an insertion sort on the stack beats a malloc per
   * row when a pull lists 100,000 rows. Ties keep column order. */
  order = g_newa (guint, MAX (table->n_columns, 1));
  for (guint c = 0; c < table->n_columns; c++)
    {
      guint j;

      if (clocks[c].seq <= after || clocks[c].seq <= 0)
        continue;
      for (j = n; j > 0 && vd_clock_compare (&clocks[order[j - 1]].clock, &clocks[c].clock) > 0; j--)
        order[j] = order[j - 1];
      order[j] = c;
      n++;
    }

  i = 0;
  while (i < n)
    {
      const VdClock *group = &clocks[order[i]].clock;
      char site[VD_UUID_LEN + 1];
      VdChange *change;

      vd_uuid_from_bytes (group->site, site);
      change = vd_change_new (table, id, group->hlc, site);
      change->seq = row_seq;

      for (; i < n && vd_clock_compare (&clocks[order[i]].clock, group) == 0; i++)
        {
          VdValue value = { VD_VALUE_NULL };

          vd_value_copy (&values[order[i]], &value);
          vd_change_take_cell (change, &table->columns[order[i]], &value);
        }

      g_ptr_array_add (out, change);
    }
}
