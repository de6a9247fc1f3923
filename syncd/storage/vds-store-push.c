/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-store-push.c — a push into a clinic's synced rows, on both engines: the rows it
 * touches loaded once, its changes merged cell by cell, the rows written back, the seq
 * advanced and the answer kept for a replay, all in one transaction. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <inttypes.h>

#include "vds-store.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "vd-error.h"
#include "vd-id.h"
#include "vd-protocol.h"
#include "vd-rules.h"
#include "vd-time.h"
#include "vds-notify.h"
#include "vds-store-private.h"

/* ---- One row in memory ------------------------------------------------------------- */

VdsRow *
vds_row_new (const VdTable *table,
             const char    *id)
{
  VdsRow *row = g_new0 (VdsRow, 1);

  row->table = table;
  g_strlcpy (row->id, id, sizeof row->id);
  row->values = g_new0 (VdValue, table->n_columns);
  row->clocks = g_new0 (VdCellClock, table->n_columns);
  return row;
}

static void
row_free (gpointer data)
{
  VdsRow *row = data;

  for (guint c = 0; c < row->table->n_columns; c++)
    vd_value_clear (&row->values[c]);
  g_free (row->values);
  g_free (row->clocks);
  g_free (row);
}

const VdValue *
vds_row_value (const VdsRow *row,
               const char   *column)
{
  const VdColumn *col = vd_table_lookup_column (row->table, column);

  g_assert (col != NULL);
  return &row->values[col->index];
}

const char *
vds_row_text (const VdsRow *row,
              const char   *column)
{
  const VdValue *value = vds_row_value (row, column);

  return value->kind == VD_VALUE_TEXT ? value->s : NULL;
}

gboolean
vds_row_bool (const VdsRow *row,
              const char   *column)
{
  const VdValue *value = vds_row_value (row, column);

  return value->kind == VD_VALUE_BOOL && value->b;
}

gboolean
vds_row_is_deleted (const VdsRow *row)
{
  const VdValue *value = &row->values[vd_table_deleted_column (row->table)->index];

  return value->kind == VD_VALUE_BOOL && value->b;
}

static void
read_value (VdsResult      *result,
            guint           r,
            guint           col,
            const VdColumn *column,
            VdValue        *value)
{
  vd_value_clear (value);
  if (vds_result_is_null (result, r, col))
    return;

  switch (column->type)
    {
    case VD_TYPE_BOOLEAN:
      vd_value_set_bool (value, vds_result_get_bool (result, r, col));
      break;
    case VD_TYPE_INTEGER:
      vd_value_set_int (value, vds_result_get_int (result, r, col));
      break;
    case VD_TYPE_REAL:
      vd_value_set_real (value, vds_result_get_real (result, r, col));
      break;
    case VD_TYPE_TEXT:
    case VD_TYPE_DATE:
    case VD_TYPE_TIMESTAMP:
    case VD_TYPE_UUID:
    case VD_TYPE_ENUM:
    default:
      vd_value_set_text (value, vds_result_get_text (result, r, col));
      break;
    }
}

/* Reads a row laid out as the table's select_list: id, columns…, _seq, _clocks. */
gboolean
vds_store_read_row (VdsResult     *result,
                    guint          r,
                    const VdTable *table,
                    VdValue       *values,
                    VdCellClock   *clocks,
                    gint64        *out_seq,
                    GError       **error)
{
  const guint8 *blob;
  gsize len = 0;

  for (guint c = 0; c < table->n_columns; c++)
    read_value (result, r, c + 1, &table->columns[c], &values[c]);
  *out_seq = vds_result_get_int (result, r, table->n_columns + 1);
  blob = vds_result_get_blob (result, r, table->n_columns + 2, &len);
  if (!vd_cell_clocks_unpack (blob, len, clocks, table->n_columns))
    {
      g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
                   _("The stored clocks of the row %s in “%s” are damaged."),
                   vds_result_get_text (result, r, 0), table->name);
      return FALSE;
    }
  return TRUE;
}

static VdsParam
value_param (const VdValue *value)
{
  switch (value->kind)
    {
    case VD_VALUE_TEXT:
      return VDS_TEXT (value->s);
    case VD_VALUE_INT:
      return VDS_INT (value->i);
    case VD_VALUE_REAL:
      return VDS_REAL (value->r);
    case VD_VALUE_BOOL:
      return VDS_BOOL (value->b);
    case VD_VALUE_NULL:
    default:
      return VDS_NULL;
    }
}

static gboolean
clock_is_zero (const VdCellClock *clock)
{
  static const guint8 zero[16] = { 0 };

  return clock->clock.hlc == 0 && memcmp (clock->clock.site, zero, 16) == 0;
}

/* Fills a row's n_columns + 4 upsert parameters; returns the packed clocks, which the
 * parameters point into. */
static guint8 *
row_params (const char *tenant_id,
            VdsRow     *row,
            VdsParam   *params)
{
  const VdTable *table = row->table;
  guint deleted = vd_table_deleted_column (table)->index;
  guint8 *packed;
  gsize packed_len = 0;
  guint p = 0;

  /* Every written cell of a row takes the row's newest seq. A pull pages rows in _seq
   * order and sends the cells above its cursor; a cell keeping an older seq could fall
   * below the cursor of a puller that is paging past it before the row's turn came, and
   * never reach it. Sending a whole row per change costs bytes, never data. */
  for (guint c = 0; c < table->n_columns; c++)
    if (!clock_is_zero (&row->clocks[c]))
      row->clocks[c].seq = row->seq;
  packed = vd_cell_clocks_pack (row->clocks, table->n_columns, &packed_len);

  params[p++] = VDS_TEXT (tenant_id);
  params[p++] = VDS_TEXT (row->id);
  for (guint c = 0; c < table->n_columns; c++)
    {
      params[p] = value_param (&row->values[c]);
      /* "deleted" is NOT NULL; a row whose deleted cell was never written (an edit that
       * came before its create) is not deleted. */
      if (c == deleted && params[p].kind == VDS_PARAM_NULL)
        params[p] = VDS_BOOL (FALSE);
      p++;
    }
  params[p++] = VDS_INT (row->seq);
  params[p++] = VDS_BLOB (packed, packed_len);
  return packed;
}

/* Writes rows (all of one table) in 128-row statements, then one per binary digit of
 * the rest: one round trip per row is what bulk pushes paid for. */
static gboolean
write_rows (VdsStore    *self,
            VdsDb       *db,
            const char  *tenant_id,
            GPtrArray   *rows,
            GError     **error)
{
  const VdsTableSql *ts;
  guint per_row;
  g_autofree VdsParam *params = NULL;
  g_autoptr(GPtrArray) packed = NULL;
  guint done = 0;

  if (rows->len == 0)
    return TRUE;
  ts = vds_store_table_sql (self, ((VdsRow *) rows->pdata[0])->table);
  per_row = ts->table->n_columns + 4;
  params = g_new0 (VdsParam, (gsize) per_row << (VDS_UPSERT_BUCKETS - 1));
  packed = g_ptr_array_new_with_free_func (g_free);

  while (done < rows->len)
    {
      guint bucket = VDS_UPSERT_BUCKETS - 1;
      guint n;

      while ((1u << bucket) > rows->len - done)
        bucket--;
      n = 1u << bucket;
      g_ptr_array_set_size (packed, 0);
      for (guint r = 0; r < n; r++)
        g_ptr_array_add (packed, row_params (tenant_id, rows->pdata[done + r],
                                             &params[r * per_row]));
      if (!vds_db_exec (db, ts->upsert_rows[bucket], params, n * per_row, error))
        return FALSE;
      for (guint r = 0; r < n; r++)
        {
          VdsRow *row = rows->pdata[done + r];

          row->dirty = FALSE;
          row->changed = TRUE;
          row->exists = TRUE;
        }
      done += n;
    }
  return TRUE;
}

/* ---- The push ---------------------------------------------------------------------- */

static void
push_reset (VdsPush *push)
{
  g_clear_pointer (&push->answer, g_free);
  if (push->rows != NULL)
    {
      for (guint t = 0; t < push->n_tables; t++)
        g_hash_table_unref (push->rows[t]);
      g_clear_pointer (&push->rows, g_free);
    }
  g_clear_pointer (&push->owner, g_hash_table_unref);
  g_clear_pointer (&push->rejected, g_ptr_array_unref);
  push->accepted = 0;
  push->seq = 0;
  push->base_seq = 0;
  push->replayed = FALSE;
}

static void
push_init (VdsPush *push)
{
  vd_schema_tables (&push->n_tables);
  push->rows = g_new0 (GHashTable *, push->n_tables);
  for (guint t = 0; t < push->n_tables; t++)
    push->rows[t] = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, row_free);
  push->owner = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  push->rejected = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_rejection_free);
}

VdsRow *
vds_push_lookup (VdsPush       *push,
                 const VdTable *table,
                 const char    *id)
{
  return g_hash_table_lookup (push->rows[table->index], id);
}

void
vds_push_insert (VdsPush *push,
                 VdsRow  *row)
{
  g_hash_table_insert (push->rows[row->table->index], row->id, row);
  g_hash_table_replace (push->owner, g_strdup (row->id), (gpointer) row->table);
}

gboolean
vds_push_load_rows (VdsStore      *self,
                    VdsDb         *db,
                    VdsPush       *push,
                    const VdTable *table,
                    const char    *column,
                    GPtrArray     *ids,
                    GPtrArray     *out,
                    GError       **error)
{
  return vds_push_load_rows_either (self, db, push, table, column, NULL, ids, out, error);
}

/* vds_push_load_rows of the rows whose column or column2 (may be NULL) is one of ids, in one
 * statement. */
gboolean
vds_push_load_rows_either (VdsStore      *self,
                           VdsDb         *db,
                           VdsPush       *push,
                           const VdTable *table,
                           const char    *column,
                           const char    *column2,
                           GPtrArray     *ids,
                           GPtrArray     *out,
                           GError       **error)
{
  const VdsTableSql *ts = vds_store_table_sql (self, table);
  g_autoptr(VdsResult) result = NULL;
  g_autofree char *list = NULL;
  g_autofree char *filter = NULL;
  g_autofree char *filter2 = NULL;
  g_autofree char *sql = NULL;
  VdsParam params[2];

  if (ids->len == 0)
    return TRUE;

  list = vds_store_id_list (self, (const char * const *) ids->pdata, ids->len);
  filter = vds_store_in_list (self, column, 2);
  if (column2 != NULL)
    {
      filter2 = vds_store_in_list (self, column2, 2);
      sql = g_strdup_printf ("SELECT %s FROM %s WHERE tenant_id = $1 AND (%s OR %s)",
                             ts->select_list, table->name, filter, filter2);
    }
  else
    sql = g_strdup_printf ("SELECT %s FROM %s WHERE tenant_id = $1 AND %s",
                           ts->select_list, table->name, filter);
  params[0] = VDS_TEXT (push->tenant_id);
  params[1] = VDS_TEXT (list);
  result = vds_db_query (db, sql, params, 2, error);
  if (result == NULL)
    return FALSE;

  for (guint r = 0; r < vds_result_n_rows (result); r++)
    {
      const char *id = vds_result_get_text (result, r, 0);
      VdsRow *row = vds_push_lookup (push, table, id);

      if (row == NULL)
        {
          row = vds_row_new (table, id);
          if (!vds_store_read_row (result, r, table, row->values, row->clocks, &row->seq, error))
            {
              row_free (row);
              return FALSE;
            }
          row->exists = TRUE;
          row->was_deleted = vds_row_is_deleted (row);
          if (g_strcmp0 (table->name, "appointments") == 0)
            row->old_active = vds_appointment_place (row, &row->old_place);
          vds_push_insert (push, row);
        }
      if (out != NULL)
        g_ptr_array_add (out, row);
    }
  return TRUE;
}

static void
reject (VdsPush    *push,
        guint       index,
        const char *code,
        const char *message)
{
  VdRejection *rejection = g_new0 (VdRejection, 1);

  rejection->index = index;
  rejection->code = g_strdup (code);
  rejection->message = g_strdup (message);
  g_ptr_array_add (push->rejected, rejection);
}

/* Takes the clinic's seq row, so pushes into one clinic serialise on it (PostgreSQL
 * holds the row lock to commit; SQLite's BEGIN IMMEDIATE already serialises) and seqs
 * follow commit order. */
static gboolean
lock_seq (VdsDb       *db,
          const char  *tenant_id,
          gint64      *out_seq,
          GError     **error)
{
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[1] = { VDS_TEXT (tenant_id) };

  result = vds_db_query (db,
                         "INSERT INTO vd_seq (tenant_id, seq) VALUES ($1, 0) "
                         "ON CONFLICT (tenant_id) DO UPDATE SET seq = vd_seq.seq RETURNING seq",
                         params, 1, error);
  if (result == NULL)
    return FALSE;
  *out_seq = vds_result_get_int (result, 0, 0);
  return TRUE;
}

/* The ids the changes name, per table, each once; and the ids of every table. */
static GPtrArray **
ids_per_table (VdsPush *push)
{
  GPtrArray **ids = g_new0 (GPtrArray *, push->n_tables);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint t = 0; t < push->n_tables; t++)
    ids[t] = g_ptr_array_new ();

  for (guint i = 0; i < push->req->changes->len; i++)
    {
      VdChange *change = g_ptr_array_index (push->req->changes, i);
      g_autofree char *key = g_strdup_printf ("%u:%s", change->table->index, change->id);

      if (g_hash_table_contains (seen, key))
        continue;
      g_hash_table_add (seen, g_steal_pointer (&key));
      g_ptr_array_add (ids[change->table->index], change->id);
    }
  return ids;
}

static void
free_ids (GPtrArray **ids,
          guint       n)
{
  for (guint t = 0; t < n; t++)
    g_ptr_array_unref (ids[t]);
  g_free (ids);
}

/* "SELECT table index, id FROM each table WHERE id in $2 …" for load_batch_rows. */
static const char *
owner_sql (VdsStore *self)
{
  static char *sql[2];
  VdsDbDialect dialect = self->dialect;

  if (g_once_init_enter (&sql[dialect]))
    {
      guint n_tables;
      const VdTable *tables = vd_schema_tables (&n_tables);
      g_autofree char *filter = vds_store_in_list (self, "id", 2);
      GString *out = g_string_new (NULL);

      for (guint t = 0; t < n_tables; t++)
        g_string_append_printf (out, "%sSELECT %u, id%s FROM %s WHERE tenant_id = $1 AND %s",
                                t > 0 ? " UNION ALL " : "", t,
                                vds_db_dialect_text_cast (dialect),
                                tables[t].name, filter);
      g_once_init_leave (&sql[dialect], g_string_free (out, FALSE));
    }
  return sql[dialect];
}

/* Loads the rows the batch touches (one query per table), then finds in which table the
 * ids that are new to their own table live, so a row id cannot cross tables. */
static gboolean
load_batch_rows (VdsStore *self,
                 VdsDb    *db,
                 VdsPush  *push,
                 GError  **error)
{
  const VdTable *tables = vd_schema_tables (NULL);
  GPtrArray **ids = ids_per_table (push);
  g_autoptr(GPtrArray) fresh = g_ptr_array_new ();
  gboolean ok = TRUE;

  for (guint t = 0; ok && t < push->n_tables; t++)
    ok = vds_push_load_rows (self, db, push, &tables[t], "id", ids[t], NULL, error);

  for (guint t = 0; ok && t < push->n_tables; t++)
    for (guint i = 0; i < ids[t]->len; i++)
      if (vds_push_lookup (push, &tables[t], g_ptr_array_index (ids[t], i)) == NULL)
        g_ptr_array_add (fresh, g_ptr_array_index (ids[t], i));

  /* Every table in one statement (one round trip, one list), built once per process. */
  if (ok && fresh->len > 0)
    {
      g_autoptr(VdsResult) result = NULL;
      g_autofree char *list = vds_store_id_list (self, (const char * const *) fresh->pdata,
                                                 fresh->len);
      VdsParam params[2] = { VDS_TEXT (push->tenant_id), VDS_TEXT (list) };

      result = vds_db_query (db, owner_sql (self), params, 2, error);
      ok = result != NULL;
      for (guint r = 0; ok && r < vds_result_n_rows (result); r++)
        {
          gint64 t = vds_result_get_int (result, r, 0);

          if (t >= 0 && t < (gint64) push->n_tables)
            g_hash_table_replace (push->owner, g_strdup (vds_result_get_text (result, r, 1)),
                                  (gpointer) &tables[t]);
        }
    }

  free_ids (ids, push->n_tables);
  return ok;
}

/* Why an appointment row's times are not acceptable, or NULL. Checked on the row as the
 * whole push leaves it: starts_at and ends_at may come in different changes. A row
 * lacking either is not checked. */
static char *
bad_appointment_times (const VdTable *table,
                       const VdValue *values)
{
  const VdValue *starts = &values[vd_table_lookup_column (table, "starts_at")->index];
  const VdValue *ends = &values[vd_table_lookup_column (table, "ends_at")->index];

  if (starts->kind != VD_VALUE_TEXT || ends->kind != VD_VALUE_TEXT ||
      vd_rules_appointment_text_times_ok (starts->s, ends->s))
    return NULL;
  return g_strdup_printf (_("An appointment must end after it starts and last at most 24 "
                            "hours, but this change would make it run from %s to %s."),
                          starts->s, ends->s);
}

static gboolean
touches_times (const VdChange *change)
{
  return g_strcmp0 (change->table->name, "appointments") == 0 &&
         (vd_change_get_cell (change, "starts_at") != NULL ||
          vd_change_get_cell (change, "ends_at") != NULL);
}

/* Applies the batch's changes to the cached rows. bad_times: change position → why its
 * appointment times were refused on an earlier pass (see refuse_bad_times). applied:
 * per change position, whether it was accepted. */
static void
apply_changes (VdsStore   *self,
               VdsPush    *push,
               GHashTable *bad_times,
               gboolean   *applied)
{
  VdPushRequest *req = push->req;

  for (guint i = 0; i < req->changes->len; i++)
    {
      VdChange *change = g_ptr_array_index (req->changes, i);
      guint index = g_array_index (req->indices, guint, i);
      g_autoptr(GError) skew = NULL;
      const char *bad;
      const VdTable *owner;
      VdsRow *row;

      applied[i] = FALSE;
      bad = g_hash_table_lookup (bad_times, GUINT_TO_POINTER (i));
      if (bad != NULL)
        {
          reject (push, index, "invalid_change", bad);
          continue;
        }

      if (!vd_hlc_check_drift (change->hlc, push->now_ms, VD_PROTOCOL_MAX_SKEW_MS, &skew))
        {
          reject (push, index, "clock_skew", skew->message);
          continue;
        }

      owner = g_hash_table_lookup (push->owner, change->id);
      if (owner != NULL && owner != change->table)
        {
          g_autofree char *message =
            g_strdup_printf (_("The id %s already belongs to a row of “%s”, not of “%s”."),
                             change->id, owner->name, change->table->name);

          reject (push, index, "invalid_change", message);
          continue;
        }

      row = vds_push_lookup (push, change->table, change->id);
      if (row == NULL)
        {
          const VdColumn *missing = vd_rules_missing_required (change);

          if (missing != NULL)
            {
              g_autofree char *message =
                g_strdup_printf (_("The %s (%s) is required to create a row of “%s”."),
                                 vd_column_label (missing), missing->name, change->table->name);

              reject (push, index, "invalid_change", message);
              continue;
            }
          row = vds_row_new (change->table, change->id);
          row->created = TRUE;
          vds_push_insert (push, row);
        }

      vds_store_clock_observe (self, change->hlc);
      push->accepted++;
      applied[i] = TRUE;

      /* Each change that wins anything takes the next seq, in the batch's order. */
      if (vd_row_merge (change, row->values, row->clocks, NULL, push->seq + 1) > 0)
        {
          row->seq = ++push->seq;
          row->dirty = TRUE;
        }
    }
}

/* After a pass of apply_changes: the accepted changes that set the times of an
 * appointment the push leaves with impossible times go into bad_times. TRUE when any
 * did: the pass is then redone without them, from the stored rows. */
static gboolean
refuse_bad_times (VdsPush    *push,
                  GHashTable *bad_times,
                  gboolean   *applied)
{
  VdPushRequest *req = push->req;
  gboolean refused = FALSE;

  for (guint i = 0; i < req->changes->len; i++)
    {
      VdChange *change = g_ptr_array_index (req->changes, i);
      const VdsRow *row;
      char *bad;

      if (!applied[i] || !touches_times (change))
        continue;
      row = vds_push_lookup (push, change->table, change->id);
      bad = row != NULL ? bad_appointment_times (row->table, row->values) : NULL;
      if (bad == NULL)
        continue;
      g_hash_table_insert (bad_times, GUINT_TO_POINTER (i), bad);
      refused = TRUE;
    }
  return refused;
}

gboolean
vds_push_write_dirty_rows (VdsStore  *self,
                           VdsDb     *db,
                           VdsPush   *push,
                           guint      table_index,
                           GPtrArray *written,
                           GError   **error)
{
  g_autoptr(GPtrArray) dirty = g_ptr_array_new ();
  GHashTableIter iter;
  VdsRow *row;

  g_hash_table_iter_init (&iter, push->rows[table_index]);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &row))
    if (row->dirty)
      g_ptr_array_add (dirty, row);
  if (!write_rows (self, db, push->tenant_id, dirty, error))
    return FALSE;
  if (written != NULL)
    g_ptr_array_extend (written, dirty, NULL, NULL);
  return TRUE;
}

/* ---- The answer -------------------------------------------------------------------- */

static gint
rejection_compare (gconstpointer a,
                   gconstpointer b)
{
  const VdRejection *ra = *(const VdRejection * const *) a;
  const VdRejection *rb = *(const VdRejection * const *) b;

  return ra->index < rb->index ? -1 : ra->index > rb->index;
}

static char *
build_answer (VdsStore *self,
              VdsPush  *push)
{
  g_autoptr(GPtrArray) rejected = g_ptr_array_new ();
  VdPushAnswer answer = { 0 };

  if (push->req->rejected != NULL)
    for (guint i = 0; i < push->req->rejected->len; i++)
      g_ptr_array_add (rejected, g_ptr_array_index (push->req->rejected, i));
  for (guint i = 0; i < push->rejected->len; i++)
    g_ptr_array_add (rejected, g_ptr_array_index (push->rejected, i));
  g_ptr_array_sort (rejected, rejection_compare);

  answer.batch_id = push->req->batch_id;
  answer.accepted = push->accepted;
  answer.rejected = rejected;
  answer.cursor = push->seq;
  answer.server_hlc = vds_store_clock_tick (self);
  return vd_push_answer_encode (&answer, NULL);
}

static gboolean
push_txn (VdsStore *self,
          VdsDb    *db,
          gpointer  data,
          GError  **error)
{
  VdsPush *push = data;
  VdPushRequest *req = push->req;
  g_autoptr(VdsResult) last = NULL;
  g_autoptr(GPtrArray) changed = g_ptr_array_new ();
  g_autoptr(GHashTable) bad_times = NULL;
  g_autofree gboolean *applied = NULL;
  gint64 base_seq = 0;
  VdsParam params[5];

  push_reset (push);
  push_init (push);

  if (!lock_seq (db, push->tenant_id, &base_seq, error))
    return FALSE;
  push->seq = base_seq;
  push->base_seq = base_seq;

  /* After the lock, so a retry racing its own first attempt sees that one's answer. */
  params[0] = VDS_TEXT (push->tenant_id);
  params[1] = VDS_TEXT (req->device_id);
  last = vds_db_query (db,
                       "SELECT batch_id, answer, session_id FROM device_batches "
                       "WHERE tenant_id = $1 AND device_id = $2",
                       params, 2, error);
  if (last == NULL)
    return FALSE;
  {
    gint64 last_batch = vds_result_n_rows (last) > 0 ? vds_result_get_int (last, 0, 0) : 0;

    /* The stored answer is served to the session that pushed the batch only: it quotes
     * what was sent. Another session sending the same batch id (the desk signed in
     * again before its answer came) has it merged again, which changes nothing that
     * was already merged. */
    if (vds_result_n_rows (last) > 0 && last_batch == req->batch_id &&
        g_strcmp0 (vds_result_get_text (last, 0, 2), push->session_id) == 0)
      {
        push->answer = g_strdup (vds_result_get_text (last, 0, 1));
        push->replayed = TRUE;
        return TRUE;
      }
    if (last_batch > req->batch_id)
      {
        g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_BATCH_ORDER,
                     _("The batch %" PRId64 " is older than this device's last "
                       "batch (%" PRId64 ")."),
                     req->batch_id, last_batch);
        return FALSE;
      }
    /* A desk numbers its batches 1, 2, 3…: a leap would only spend the id space. */
    if (req->batch_id - last_batch > VD_PROTOCOL_MAX_BATCH_JUMP)
      {
        g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_BATCH_JUMP,
                     _("The batch %" PRId64 " is more than %d past this device's last "
                       "batch (%" PRId64 ")."),
                     req->batch_id, VD_PROTOCOL_MAX_BATCH_JUMP, last_batch);
        return FALSE;
      }
  }

  push->now_ms = vds_store_wall_ms (self);
  vd_time_format_utc (push->now_ms / 1000, push->now_text);

  bad_times = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  applied = g_new0 (gboolean, req->changes->len);
  for (;;)
    {
      if (!load_batch_rows (self, db, push, error))
        return FALSE;
      apply_changes (self, push, bad_times, applied);
      if (!refuse_bad_times (push, bad_times, applied))
        break;
      /* Rare: start the merge over from the stored rows, without the refused changes. */
      push_reset (push);
      push_init (push);
      push->seq = base_seq;
      push->base_seq = base_seq;
    }

  for (guint t = 0; t < push->n_tables; t++)
    if (!vds_push_write_dirty_rows (self, db, push, t, changed, error))
      return FALSE;

  if (!vds_push_detect_conflicts (self, db, push, changed, error))
    return FALSE;

  if (push->seq > base_seq)
    {
      params[0] = VDS_TEXT (push->tenant_id);
      params[1] = VDS_INT (push->seq);
      if (!vds_db_exec (db, "UPDATE vd_seq SET seq = $2 WHERE tenant_id = $1", params, 2, error))
        return FALSE;

      /* Every device that was up to date is behind from now on, until it pulls: the
       * start of its lag, for the "lagging" health. */
      params[2] = VDS_INT (push->now_ms / 1000);
      if (!vds_db_exec (db,
                        "UPDATE devices SET lag_since = $3 WHERE tenant_id = $1 "
                        "AND lag_since IS NULL AND COALESCE (cursor, 0) < $2",
                        params, 3, error))
        return FALSE;

      /* Delivered by PostgreSQL at commit, to every syncd process's listener (nothing to
       * send on SQLite: vds_db_notify). */
      {
        g_autofree char *payload = vd_notify_seq_encode (push->tenant_id, push->seq);

        if (!vds_db_notify (db, VDS_NOTIFY_SEQ_CHANNEL, payload, error))
          return FALSE;
      }
    }

  push->answer = build_answer (self, push);
  params[0] = VDS_TEXT (push->tenant_id);
  params[1] = VDS_TEXT (req->device_id);
  params[2] = VDS_INT (req->batch_id);
  params[3] = VDS_TEXT (push->answer);
  params[4] = VDS_TEXT (push->session_id);
  return vds_db_exec (db,
                      "INSERT INTO device_batches (tenant_id, device_id, batch_id, answer, "
                      "session_id) VALUES ($1, $2, $3, $4, $5) "
                      "ON CONFLICT (tenant_id, device_id) DO UPDATE "
                      "SET batch_id = excluded.batch_id, answer = excluded.answer, "
                      "session_id = excluded.session_id",
                      params, 5, error);
}

gboolean
vds_store_check_tenant_id (const char *tenant_id,
                           GError    **error)
{
  if (tenant_id != NULL && vd_uuid_is_valid (tenant_id))
    return TRUE;
  g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
               _("There is no clinic with the id “%s”."), tenant_id != NULL ? tenant_id : "");
  return FALSE;
}

void
vds_push_result_clear (VdsPushResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->rejected, g_ptr_array_unref);
  memset (result, 0, sizeof *result);
}

static VdRejection *
rejection_copy (const VdRejection *src)
{
  VdRejection *copy = g_new0 (VdRejection, 1);

  copy->index = src->index;
  copy->code = g_strdup (src->code);
  copy->message = g_strdup (src->message);
  return copy;
}

static void
fill_result (VdsPush       *push,
             VdsPushResult *result)
{
  result->rejected = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_rejection_free);
  result->replayed = push->replayed;
  result->cursor = push->seq;
  if (push->replayed)
    return;
  result->advanced = push->seq > push->base_seq;
  result->accepted = push->accepted;
  if (push->req->rejected != NULL)
    for (guint i = 0; i < push->req->rejected->len; i++)
      g_ptr_array_add (result->rejected, rejection_copy (push->req->rejected->pdata[i]));
  for (guint i = 0; i < push->rejected->len; i++)
    g_ptr_array_add (result->rejected, rejection_copy (push->rejected->pdata[i]));
  g_ptr_array_sort (result->rejected, rejection_compare);
}

gboolean
vds_store_push_full (VdsStore       *self,
                     const char     *tenant_id,
                     VdPushRequest  *req,
                     char          **out_answer_json,
                     VdsPushResult  *out_result,
                     GError        **error)
{
  return vds_store_push_session (self, tenant_id, NULL, req, out_answer_json, out_result,
                                 error);
}

gboolean
vds_store_push_session (VdsStore       *self,
                        const char     *tenant_id,
                        const char     *session_id,
                        VdPushRequest  *req,
                        char          **out_answer_json,
                        VdsPushResult  *out_result,
                        GError        **error)
{
  VdsPush push = { tenant_id, req, NULL, session_id };
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (req != NULL && req->changes != NULL && req->indices != NULL, FALSE);
  g_return_val_if_fail (out_answer_json != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out_result != NULL)
    vds_push_result_clear (out_result);
  if (!vds_store_check_tenant_id (tenant_id, error))
    return FALSE;

  ok = vds_store_run (self, VDS_TXN_WRITE, push_txn, &push, error);
  if (ok)
    {
      *out_answer_json = g_steal_pointer (&push.answer);
      if (out_result != NULL)
        fill_result (&push, out_result);
    }
  push_reset (&push);
  return ok;
}

gboolean
vds_store_push (VdsStore       *self,
                const char     *tenant_id,
                VdPushRequest  *req,
                char          **out_answer_json,
                GError        **error)
{
  return vds_store_push_full (self, tenant_id, req, out_answer_json, NULL, error);
}
