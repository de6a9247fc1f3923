/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-store-sync.c — a clinic's synced rows: pushes merged cell by cell in one transaction,
 * the conflicts the server opens and resolves as the data changes, pulls, and devices. */
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

/* A time window of one staff member: appointments starting in (low, high); or where an
 * appointment is, [low, high). */
typedef struct
{
  char   staff[VD_UUID_LEN + 1];
  gint64 low, high;
} Window;

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
  Window         old_place;
} Row;

static Row *
row_new (const VdTable *table,
         const char    *id)
{
  Row *row = g_new0 (Row, 1);

  row->table = table;
  g_strlcpy (row->id, id, sizeof row->id);
  row->values = g_new0 (VdValue, table->n_columns);
  row->clocks = g_new0 (VdCellClock, table->n_columns);
  return row;
}

static void
row_free (gpointer data)
{
  Row *row = data;

  for (guint c = 0; c < row->table->n_columns; c++)
    vd_value_clear (&row->values[c]);
  g_free (row->values);
  g_free (row->clocks);
  g_free (row);
}

static const VdValue *
row_value (const Row  *row,
           const char *column)
{
  const VdColumn *col = vd_table_lookup_column (row->table, column);

  g_assert (col != NULL);
  return &row->values[col->index];
}

static const char *
row_text (const Row  *row,
          const char *column)
{
  const VdValue *value = row_value (row, column);

  return value->kind == VD_VALUE_TEXT ? value->s : NULL;
}

static gboolean
row_bool (const Row  *row,
          const char *column)
{
  const VdValue *value = row_value (row, column);

  return value->kind == VD_VALUE_BOOL && value->b;
}

static gboolean
row_is_deleted (const Row *row)
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
static gboolean
read_row (VdsResult     *result,
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
            Row        *row,
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
  ts = vds_store_table_sql (self, ((Row *) rows->pdata[0])->table);
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
          Row *row = rows->pdata[done + r];

          row->dirty = FALSE;
          row->changed = TRUE;
          row->exists = TRUE;
        }
      done += n;
    }
  return TRUE;
}

/* ---- The push ---------------------------------------------------------------------- */

typedef struct
{
  const char    *tenant_id;
  VdPushRequest *req;
  char          *answer;       /* out: the answer's JSON */
  const char    *session_id;   /* the pushing session, NULL for the store's own callers */

  /* Per attempt. */
  guint          n_tables;
  GHashTable   **rows;         /* per table index: id → Row */
  GHashTable    *owner;        /* id → VdTable: which table an id of this clinic is in */
  GPtrArray     *rejected;     /* of VdRejection, this store's own */
  guint          accepted;
  gint64         seq;          /* the last seq given out */
  gint64         base_seq;     /* the clinic's seq before this push */
  gboolean       replayed;
  gint64         now_ms;
  char           now_text[21];
} Push;

static void
push_reset (Push *push)
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
push_init (Push *push)
{
  vd_schema_tables (&push->n_tables);
  push->rows = g_new0 (GHashTable *, push->n_tables);
  for (guint t = 0; t < push->n_tables; t++)
    push->rows[t] = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, row_free);
  push->owner = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  push->rejected = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_rejection_free);
}

static Row *
push_lookup (Push          *push,
             const VdTable *table,
             const char    *id)
{
  return g_hash_table_lookup (push->rows[table->index], id);
}

static void
push_insert (Push *push,
             Row  *row)
{
  g_hash_table_insert (push->rows[row->table->index], row->id, row);
  g_hash_table_replace (push->owner, g_strdup (row->id), (gpointer) row->table);
}

static gboolean appointment_place (const Row *row,
                                   Window    *out);

/* Loads the rows of table whose column is one of ids into the push's cache. The cache
 * holds the truth for rows already in it. out (may be NULL) receives every matching row. */
static gboolean
load_rows_either (VdsStore      *self,
                  VdsDb         *db,
                  Push          *push,
                  const VdTable *table,
                  const char    *column,
                  const char    *column2,
                  GPtrArray     *ids,
                  GPtrArray     *out,
                  GError       **error);

static gboolean
load_rows (VdsStore      *self,
           VdsDb         *db,
           Push          *push,
           const VdTable *table,
           const char    *column,
           GPtrArray     *ids,
           GPtrArray     *out,
           GError       **error)
{
  return load_rows_either (self, db, push, table, column, NULL, ids, out, error);
}

/* load_rows of the rows whose column or column2 (may be NULL) is one of ids, in one
 * statement. */
static gboolean
load_rows_either (VdsStore      *self,
                  VdsDb         *db,
                  Push          *push,
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
      Row *row = push_lookup (push, table, id);

      if (row == NULL)
        {
          row = row_new (table, id);
          if (!read_row (result, r, table, row->values, row->clocks, &row->seq, error))
            {
              row_free (row);
              return FALSE;
            }
          row->exists = TRUE;
          row->was_deleted = row_is_deleted (row);
          if (g_strcmp0 (table->name, "appointments") == 0)
            row->old_active = appointment_place (row, &row->old_place);
          push_insert (push, row);
        }
      if (out != NULL)
        g_ptr_array_add (out, row);
    }
  return TRUE;
}

static void
reject (Push       *push,
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
ids_per_table (Push *push)
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
  gboolean pg = vds_store_is_postgres (self);

  if (g_once_init_enter (&sql[pg]))
    {
      guint n_tables;
      const VdTable *tables = vd_schema_tables (&n_tables);
      g_autofree char *filter = vds_store_in_list (self, "id", 2);
      GString *out = g_string_new (NULL);

      for (guint t = 0; t < n_tables; t++)
        g_string_append_printf (out, "%sSELECT %u, id%s FROM %s WHERE tenant_id = $1 AND %s",
                                t > 0 ? " UNION ALL " : "", t, pg ? "::text" : "",
                                tables[t].name, filter);
      g_once_init_leave (&sql[pg], g_string_free (out, FALSE));
    }
  return sql[pg];
}

/* Loads the rows the batch touches (one query per table), then finds in which table the
 * ids that are new to their own table live, so a row id cannot cross tables. */
static gboolean
load_batch_rows (VdsStore  *self,
                 VdsDb     *db,
                 Push      *push,
                 GError   **error)
{
  const VdTable *tables = vd_schema_tables (NULL);
  GPtrArray **ids = ids_per_table (push);
  g_autoptr(GPtrArray) fresh = g_ptr_array_new ();
  gboolean ok = TRUE;

  for (guint t = 0; ok && t < push->n_tables; t++)
    ok = load_rows (self, db, push, &tables[t], "id", ids[t], NULL, error);

  for (guint t = 0; ok && t < push->n_tables; t++)
    for (guint i = 0; i < ids[t]->len; i++)
      if (push_lookup (push, &tables[t], g_ptr_array_index (ids[t], i)) == NULL)
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

/* An appointment lasts at most this long, so the overlap search looks back no further
 * than this from an appointment's start (see find_overlaps). */
#define MAX_APPOINTMENT_SECONDS VD_RULES_APPOINTMENT_MAX_SECONDS

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
               Push       *push,
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
      Row *row;

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

      row = push_lookup (push, change->table, change->id);
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
          row = row_new (change->table, change->id);
          row->created = TRUE;
          push_insert (push, row);
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
refuse_bad_times (Push       *push,
                  GHashTable *bad_times,
                  gboolean   *applied)
{
  VdPushRequest *req = push->req;
  gboolean refused = FALSE;

  for (guint i = 0; i < req->changes->len; i++)
    {
      VdChange *change = g_ptr_array_index (req->changes, i);
      const Row *row;
      char *bad;

      if (!applied[i] || !touches_times (change))
        continue;
      row = push_lookup (push, change->table, change->id);
      bad = row != NULL ? bad_appointment_times (row->table, row->values) : NULL;
      if (bad == NULL)
        continue;
      g_hash_table_insert (bad_times, GUINT_TO_POINTER (i), bad);
      refused = TRUE;
    }
  return refused;
}

static gboolean
write_dirty_rows (VdsStore   *self,
                  VdsDb      *db,
                  Push       *push,
                  guint       table_index,
                  GPtrArray  *written,
                  GError    **error)
{
  g_autoptr(GPtrArray) dirty = g_ptr_array_new ();
  GHashTableIter iter;
  Row *row;

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

/* ---- Conflicts --------------------------------------------------------------------- */

/* The same conflict gets the same id on every server: a name-based uuid from SHA-256 of
 * what identifies it. */
static void
conflict_id (const char *tenant_id,
             const char *kind,
             const char *a,
             const char *b,
             const char *c,
             char        out[VD_UUID_LEN + 1])
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  const char *parts[] = { tenant_id, kind, a, b, c };
  guint8 digest[32];
  gsize len = sizeof digest;

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    g_checksum_update (checksum, (const guchar *) parts[i], (gssize) strlen (parts[i]) + 1);
  g_checksum_get_digest (checksum, digest, &len);
  digest[6] = (digest[6] & 0x0f) | 0x50;
  digest[8] = (digest[8] & 0x3f) | 0x80;
  vd_uuid_from_bytes (digest, out);
}

typedef struct
{
  char        id[VD_UUID_LEN + 1];
  gboolean    open;
  const char *kind;
  const char *table_name;
  char        row_id[VD_UUID_LEN + 1];
  char        other_row_id[VD_UUID_LEN + 1];  /* "" for none */
  char       *detail;
} Wanted;

static void
wanted_free (gpointer data)
{
  Wanted *wanted = data;

  g_free (wanted->detail);
  g_free (wanted);
}

static gboolean
conflict_is_open (const Row *row)
{
  return row != NULL && (row->exists || row->dirty) &&
         row_text (row, "kind") != NULL &&
         row_value (row, "resolved_at")->kind == VD_VALUE_NULL &&
         !row_is_deleted (row);
}

static void
take_text (VdChange   *change,
           const char *column,
           const char *text)
{
  VdValue value = { VD_VALUE_NULL };

  if (text != NULL && text[0] != '\0')
    vd_value_set_text (&value, text);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

/* Writes one conflict row's wanted state through the merge, as the server's site. */
static void
settle_conflict (VdsStore *self,
                 Push     *push,
                 Wanted   *wanted)
{
  const VdTable *conflicts = vd_schema_lookup_table ("conflicts");
  g_autoptr(VdChange) change = NULL;
  Row *row = push_lookup (push, conflicts, wanted->id);
  gboolean open = conflict_is_open (row);
  VdHlc newest = 0;
  VdValue value = { VD_VALUE_NULL };

  if (wanted->open && open &&
      g_strcmp0 (row_text (row, "row_id"), wanted->row_id) == 0 &&
      g_strcmp0 (row_text (row, "other_row_id") != NULL ? row_text (row, "other_row_id") : "",
                 wanted->other_row_id) == 0 &&
      g_strcmp0 (row_text (row, "detail"), wanted->detail) == 0)
    return;
  if (!wanted->open && !open)
    return;

  if (row == NULL)
    {
      row = row_new (conflicts, wanted->id);
      push_insert (push, row);
    }

  /* Another server, or this one before a restart, may have stamped these cells with a
   * later clock than ours: step past them so this write wins. */
  for (guint c = 0; c < conflicts->n_columns; c++)
    newest = MAX (newest, row->clocks[c].clock.hlc);
  vds_store_clock_observe (self, newest);
  change = vd_change_new (conflicts, wanted->id, vds_store_clock_tick (self), VD_SERVER_SITE);

  if (wanted->open)
    {
      take_text (change, "kind", wanted->kind);
      take_text (change, "table_name", wanted->table_name);
      take_text (change, "row_id", wanted->row_id);
      take_text (change, "other_row_id", wanted->other_row_id);
      take_text (change, "detail", wanted->detail);
      if (!open)
        {
          take_text (change, "detected_at", push->now_text);
          take_text (change, "resolved_at", NULL);
          vd_value_set_bool (&value, FALSE);
          vd_change_take_cell (change, vd_table_deleted_column (conflicts), &value);
        }
    }
  else
    {
      take_text (change, "resolved_at", push->now_text);
    }

  if (vd_row_merge (change, row->values, row->clocks, NULL, push->seq + 1) > 0)
    {
      row->seq = ++push->seq;
      row->dirty = TRUE;
    }
}

static Wanted *
wanted_new (GHashTable *wanted,
            const char *id,
            gboolean    open)
{
  Wanted *w = g_new0 (Wanted, 1);

  g_strlcpy (w->id, id, sizeof w->id);
  w->open = open;
  g_hash_table_replace (wanted, w->id, w);
  return w;
}

static gboolean
appointment_active (const Row *row)
{
  const char *status = row_text (row, "status");
  const char *starts = row_text (row, "starts_at");
  const char *ends = row_text (row, "ends_at");

  /* The fixed "YYYY-MM-DDTHH:MM:SSZ" form orders as text the way the instants do. */
  return !row_is_deleted (row) && row_text (row, "staff_id") != NULL &&
         vd_rules_status_is_active (status) &&
         !row_bool (row, "allow_overlap") &&
         starts != NULL && ends != NULL && strcmp (starts, ends) < 0;
}

/* An active appointment of the clinic as the overlap search sees it. */
typedef struct
{
  char   id[VD_UUID_LEN + 1];
  char   staff[VD_UUID_LEN + 1];
  gint64 s, e;
} Booking;

static gint
window_compare (gconstpointer a,
                gconstpointer b)
{
  const Window *wa = a, *wb = b;
  int c = strcmp (wa->staff, wb->staff);

  if (c != 0)
    return c;
  return wa->low < wb->low ? -1 : wa->low > wb->low;
}

static gint
booking_compare (gconstpointer a,
                 gconstpointer b)
{
  const Booking *ba = *(const Booking * const *) a, *bb = *(const Booking * const *) b;
  int c = strcmp (ba->staff, bb->staff);

  if (c != 0)
    return c;
  if (ba->s != bb->s)
    return ba->s < bb->s ? -1 : 1;
  return strcmp (ba->id, bb->id);
}

static gint
str_ptr_compare (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Whether b overlaps a place the changed appointments held before this push: old holds
 * those places of b's staff member, by start. */
static gboolean
overlaps_old_place (GHashTable    *old,
                    const Booking *b)
{
  GArray *places = g_hash_table_lookup (old, b->staff);
  guint lo = 0, hi;

  if (places == NULL)
    return FALSE;
  hi = places->len;
  /* The first place starting after b's start − the longest appointment. */
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (g_array_index (places, Window, mid).low > b->s - MAX_APPOINTMENT_SECONDS)
        hi = mid;
      else
        lo = mid + 1;
    }
  for (guint k = lo; k < places->len; k++)
    {
      const Window *p = &g_array_index (places, Window, k);

      if (p->low >= b->e)
        break;
      if (p->high > b->s)
        return TRUE;
    }
  return FALSE;
}

/* Sorts windows and merges those of one staff member that touch. */
static void
merge_windows (GArray *windows)
{
  guint out = 0;

  g_array_sort (windows, window_compare);
  for (guint i = 0; i < windows->len; i++)
    {
      Window *w = &g_array_index (windows, Window, i);

      if (out > 0)
        {
          Window *last = &g_array_index (windows, Window, out - 1);

          if (strcmp (last->staff, w->staff) == 0 && w->low <= last->high)
            {
              last->high = MAX (last->high, w->high);
              continue;
            }
        }
      g_array_index (windows, Window, out++) = *w;
    }
  g_array_set_size (windows, out);
}

/* Whether the merged windows cover (low, high) of staff. */
static gboolean
windows_cover (GArray     *covered,
               const char *staff,
               gint64      low,
               gint64      high)
{
  for (guint i = 0; i < covered->len; i++)
    {
      const Window *w = &g_array_index (covered, Window, i);

      if (strcmp (w->staff, staff) == 0 && w->low <= low && w->high >= high)
        return TRUE;
    }
  return FALSE;
}

/* The active appointments starting inside windows (merged, not empty) go into found (id →
 * Booking), in one query for all windows: the index (tenant_id, staff_id, starts_at) is
 * scanned over those ranges only. */
static gboolean
query_windows (VdsStore    *self,
               VdsDb       *db,
               Push        *push,
               GArray      *windows,
               GHashTable  *found,
               GError     **error)
{
  gboolean pg = vds_store_is_postgres (self);
  /* PostgreSQL: three array literals (staff, low, high); SQLite: one JSON array of
   * [staff, low, high]. */
  GString *lists[3];
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[4];

  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    lists[l] = g_string_new (pg ? "{" : "[");
  for (guint i = 0; i < windows->len; i++)
    {
      const Window *w = &g_array_index (windows, Window, i);
      char low_text[21], high_text[21];

      vd_time_format_utc (w->low, low_text);
      vd_time_format_utc (w->high, high_text);
      /* Canonical uuids and instants only: nothing in them needs quoting. */
      if (pg)
        {
          const char *fields[3] = { w->staff, low_text, high_text };

          for (guint l = 0; l < 3; l++)
            g_string_append_printf (lists[l], "%s%s", i > 0 ? "," : "", fields[l]);
        }
      else
        g_string_append_printf (lists[0], "%s[\"%s\",\"%s\",\"%s\"]",
                                i > 0 ? "," : "", w->staff, low_text, high_text);
    }
  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    g_string_append_c (lists[l], pg ? '}' : ']');

  params[0] = VDS_TEXT (push->tenant_id);
  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    params[l + 1] = VDS_TEXT (lists[l]->str);
  result = vds_db_query (db,
                         pg
                         ? "SELECT a.id::text, a.staff_id::text, "
                           "CAST (EXTRACT (EPOCH FROM a.starts_at) AS BIGINT), "
                           "CAST (EXTRACT (EPOCH FROM a.ends_at) AS BIGINT) "
                           "FROM unnest ($2::uuid[], $3::timestamptz[], $4::timestamptz[]) "
                           "AS x (staff, low, high) "
                           "JOIN appointments a ON a.tenant_id = $1 AND a.staff_id = x.staff "
                           "AND a.starts_at > x.low AND a.starts_at < x.high AND NOT a.deleted "
                           "AND COALESCE (a.status, '') NOT IN " VD_RULES_INACTIVE_STATUSES_SQL " "
                           "AND NOT COALESCE (a.allow_overlap, false) AND a.starts_at < a.ends_at"
                         : "SELECT a.id, a.staff_id, a.starts_at, a.ends_at FROM "
                           "(SELECT json_extract (value, '$[0]') AS staff, "
                           "json_extract (value, '$[1]') AS low, "
                           "json_extract (value, '$[2]') AS high FROM json_each ($2)) AS x "
                           /* CROSS: the list outside, else SQLite walks the clinic */
                           "CROSS JOIN appointments a WHERE a.tenant_id = $1 "
                           "AND a.staff_id = x.staff "
                           "AND a.starts_at > x.low AND a.starts_at < x.high AND NOT a.deleted "
                           "AND COALESCE (a.status, '') NOT IN " VD_RULES_INACTIVE_STATUSES_SQL " "
                           "AND NOT COALESCE (a.allow_overlap, false) AND a.starts_at < a.ends_at",
                         params, pg ? 4 : 2, error);
  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    g_string_free (lists[l], TRUE);
  if (result == NULL)
    return FALSE;

  for (guint r = 0; r < vds_result_n_rows (result); r++)
    {
      Booking b;

      if (pg)
        {
          b.s = vds_result_get_int (result, r, 2);
          b.e = vds_result_get_int (result, r, 3);
        }
      else if (!vd_time_parse_utc (vds_result_get_text (result, r, 2), &b.s, NULL) ||
               !vd_time_parse_utc (vds_result_get_text (result, r, 3), &b.e, NULL))
        continue;
      g_strlcpy (b.id, vds_result_get_text (result, r, 0), sizeof b.id);
      g_strlcpy (b.staff, vds_result_get_text (result, r, 1), sizeof b.staff);
      if (!g_hash_table_contains (found, b.id))
        {
          Booking *copy = g_memdup2 (&b, sizeof b);

          g_hash_table_insert (found, copy->id, copy);
        }
    }
  return TRUE;
}

/* Where an appointment row is (staff, [s, e)) and whether it takes part in double
 * bookings at all. */
static gboolean
appointment_place (const Row *row,
                   Window    *out)
{
  if (!appointment_active (row) ||
      !vd_uuid_is_valid (row_text (row, "staff_id")) ||
      !vd_time_parse_utc (row_text (row, "starts_at"), &out->low, NULL) ||
      !vd_time_parse_utc (row_text (row, "ends_at"), &out->high, NULL))
    return FALSE;
  g_strlcpy (out->staff, row_text (row, "staff_id"), sizeof out->staff);
  return TRUE;
}

/* The group's conflict: one per overlap cluster (the appointments of one staff member
 * linked by overlaps, directly or through others), so a push of n bookings writes at most
 * n / 2 conflicts whatever their overlaps. The id comes from the group's two smallest
 * appointment ids, which row_id and other_row_id name, so a pair keeps the conflict it
 * had when conflicts were per pair; detail names every appointment of the group, by
 * start. Stored data, not a message: the desk reads the ids from it. */
static void
want_cluster (Push       *push,
              GPtrArray  *members,   /* of Booking, by start */
              GHashTable *wanted)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  GString *detail = g_string_new (NULL);
  gint64 first = G_MAXINT64, last = G_MININT64;
  char first_text[21], last_text[21];
  char id[VD_UUID_LEN + 1];
  guint listed = 0;
  gsize detail_max = vd_table_lookup_column (vd_schema_lookup_table ("conflicts"),
                                             "detail")->max_length;
  Wanted *w;

  for (guint i = 0; i < members->len; i++)
    {
      const Booking *b = g_ptr_array_index (members, i);

      g_ptr_array_add (ids, (gpointer) b->id);
      first = MIN (first, b->s);
      last = MAX (last, b->e);
    }
  g_ptr_array_sort (ids, str_ptr_compare);
  vd_time_format_utc (first, first_text);
  vd_time_format_utc (last, last_text);
  g_string_append_printf (detail, "Overlapping appointments of one staff member: %u from "
                          "%s to %s:", members->len, first_text, last_text);
  for (guint i = 0; i < members->len; i++)
    {
      const Booking *b = g_ptr_array_index (members, i);

      if (detail->len + VD_UUID_LEN + 40 > detail_max)
        break;
      g_string_append_printf (detail, "%s %s", i > 0 ? "," : "", b->id);
      listed++;
    }
  if (listed < members->len)
    g_string_append_printf (detail, " and %u more", members->len - listed);
  g_string_append_c (detail, '.');

  conflict_id (push->tenant_id, "double_booking", ids->pdata[0], ids->pdata[1], "", id);
  w = wanted_new (wanted, id, TRUE);
  w->kind = "double_booking";
  w->table_name = "appointments";
  g_strlcpy (w->row_id, ids->pdata[0], sizeof w->row_id);
  g_strlcpy (w->other_row_id, ids->pdata[1], sizeof w->other_row_id);
  w->detail = g_string_free (detail, FALSE);
}

/* Double bookings, as overlap clusters (want_cluster). The clusters looked at are those
 * the changed appointments are in now and those they were in before this push (their
 * places as loaded): each is read whole, widening the searched windows until no active
 * appointment of that staff member outside it can overlap it. Every open double-booking
 * conflict naming (as row_id or other_row_id) an appointment of those clusters or a
 * changed one, and not wanted, is resolved: a cluster's conflict names its smallest id,
 * and every member of a cluster that changed is among them. */
static gboolean
detect_double_bookings (VdsStore    *self,
                        VdsDb       *db,
                        Push        *push,
                        GPtrArray   *appointments,
                        GHashTable  *wanted,
                        GError     **error)
{
  const VdTable *conflicts = vd_schema_lookup_table ("conflicts");
  g_autoptr(GArray) seeds = g_array_new (FALSE, FALSE, sizeof (Window));
  g_autoptr(GArray) covered = g_array_new (FALSE, FALSE, sizeof (Window));
  g_autoptr(GArray) todo = g_array_new (FALSE, FALSE, sizeof (Window));
  g_autoptr(GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autoptr(GHashTable) changed_ids = g_hash_table_new (g_str_hash, g_str_equal);
  /* staff → places (Window) the changed appointments held before this push */
  g_autoptr(GHashTable) old = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                     (GDestroyNotify) g_array_unref);
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autoptr(GPtrArray) involved = g_ptr_array_new ();
  g_autoptr(GPtrArray) clusters = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);

  if (appointments->len == 0)
    return TRUE;

  for (guint i = 0; i < appointments->len; i++)
    {
      Row *row = g_ptr_array_index (appointments, i);
      Window place;

      g_hash_table_add (changed_ids, row->id);
      g_ptr_array_add (ids, row->id);
      if (appointment_place (row, &place))
        g_array_append_val (seeds, place);
      if (row->old_active)
        {
          GArray *places = g_hash_table_lookup (old, row->old_place.staff);

          g_array_append_val (seeds, row->old_place);
          if (places == NULL)
            {
              places = g_array_new (FALSE, FALSE, sizeof (Window));
              g_hash_table_insert (old, row->old_place.staff, places);
            }
          g_array_append_val (places, row->old_place);
        }
    }
  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, old);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_array_sort (value, window_compare);
  }

  /* First every appointment that may overlap a seed, then whole clusters. */
  for (guint i = 0; i < seeds->len; i++)
    {
      Window w = g_array_index (seeds, Window, i);

      w.low -= MAX_APPOINTMENT_SECONDS;
      g_array_append_val (todo, w);
    }
  while (todo->len > 0)
    {
      GPtrArray *cluster = NULL;
      g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
      GHashTableIter iter;
      gpointer value;
      gint64 end = G_MININT64;
      gboolean relevant = FALSE;

      merge_windows (todo);
      if (!query_windows (self, db, push, todo, found, error))
        return FALSE;
      g_array_append_vals (covered, todo->data, todo->len);
      merge_windows (covered);
      g_array_set_size (todo, 0);
      g_ptr_array_set_size (clusters, 0);

      /* Clusters by a sweep per staff member; the relevant ones hold a changed
       * appointment or overlap a seed. */
      g_hash_table_iter_init (&iter, found);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        g_ptr_array_add (sorted, value);
      g_ptr_array_sort (sorted, booking_compare);
      for (guint i = 0; i <= sorted->len; i++)
        {
          Booking *b = i < sorted->len ? g_ptr_array_index (sorted, i) : NULL;
          Booking *head = cluster != NULL ? g_ptr_array_index (cluster, 0) : NULL;

          if (cluster != NULL &&
              (b == NULL || strcmp (b->staff, head->staff) != 0 || b->s >= end))
            {
              if (relevant)
                g_ptr_array_add (clusters, cluster);
              else
                g_ptr_array_unref (cluster);
              cluster = NULL;
            }
          if (b == NULL)
            break;
          if (cluster == NULL)
            {
              cluster = g_ptr_array_new ();
              end = G_MININT64;
              relevant = FALSE;
            }
          g_ptr_array_add (cluster, b);
          end = MAX (end, b->e);
          /* An appointment overlapping a changed one's new place is in its cluster. */
          if (g_hash_table_contains (changed_ids, b->id) || overlaps_old_place (old, b))
            relevant = TRUE;
        }

      /* A relevant cluster is whole once every start that could overlap it was read. */
      for (guint c = 0; c < clusters->len; c++)
        {
          GPtrArray *members = g_ptr_array_index (clusters, c);
          Booking *head = g_ptr_array_index (members, 0);
          Window need;

          g_strlcpy (need.staff, head->staff, sizeof need.staff);
          need.low = head->s - MAX_APPOINTMENT_SECONDS;
          need.high = G_MININT64;
          for (guint m = 0; m < members->len; m++)
            need.high = MAX (need.high, ((Booking *) g_ptr_array_index (members, m))->e);
          if (!windows_cover (covered, need.staff, need.low, need.high))
            g_array_append_val (todo, need);
        }
    }

  for (guint c = 0; c < clusters->len; c++)
    {
      GPtrArray *members = g_ptr_array_index (clusters, c);

      for (guint m = 0; m < members->len; m++)
        {
          Booking *b = g_ptr_array_index (members, m);

          if (!g_hash_table_contains (changed_ids, b->id))
            g_ptr_array_add (ids, b->id);
        }
      if (members->len >= 2)
        want_cluster (push, members, wanted);
    }

  /* The conflicts these appointments take part in, open or not. */
  if (!load_rows_either (self, db, push, conflicts, "row_id", "other_row_id", ids, involved,
                         error))
    return FALSE;
  for (guint i = 0; i < involved->len; i++)
    {
      Row *conflict = g_ptr_array_index (involved, i);
      Wanted *w;

      if (!conflict_is_open (conflict) ||
          g_strcmp0 (row_text (conflict, "kind"), "double_booking") != 0 ||
          g_hash_table_contains (wanted, conflict->id))
        continue;
      w = wanted_new (wanted, conflict->id, FALSE);
      w->kind = "double_booking";
    }
  return TRUE;
}

static gboolean
is_referenced_table (const VdTable *table)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);

  for (guint t = 0; t < n_tables; t++)
    for (guint c = 0; c < tables[t].n_columns; c++)
      if (g_strcmp0 (tables[t].columns[c].ref_table, table->name) == 0)
        return TRUE;
  return FALSE;
}

static gboolean
has_references (const VdTable *table)
{
  for (guint c = 0; c < table->n_columns; c++)
    if (table->columns[c].ref_table != NULL)
      return TRUE;
  return FALSE;
}

static gboolean
detect_dangling (VdsStore    *self,
                 VdsDb       *db,
                 Push        *push,
                 GPtrArray   *changed,
                 GHashTable  *wanted,
                 GError     **error)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);
  const VdTable *conflicts = vd_schema_lookup_table ("conflicts");
  const VdTable *appt_table = vd_schema_lookup_table ("appointments");
  g_autoptr(GHashTable) check = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) check_rows = g_ptr_array_new ();
  /* row_id of every cached conflict (strings owned by the cache) */
  g_autoptr(GHashTable) named = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  Row *row;

  /* Rows with references that changed, and the rows that point at a row this push
   * created, deleted or brought back. */
  for (guint i = 0; i < changed->len; i++)
    {
      row = g_ptr_array_index (changed, i);
      if (has_references (row->table))
        g_hash_table_add (check, row);
    }

  for (guint t = 0; t < n_tables; t++)
    {
      g_autoptr(GPtrArray) targets = g_ptr_array_new ();

      if (!is_referenced_table (&tables[t]))
        continue;
      for (guint i = 0; i < changed->len; i++)
        {
          row = g_ptr_array_index (changed, i);
          if (row->table == &tables[t] &&
              (row->created || !row->was_deleted != !row_is_deleted (row)))
            g_ptr_array_add (targets, row->id);
        }
      if (targets->len == 0)
        continue;

      for (guint u = 0; u < n_tables; u++)
        for (guint c = 0; c < tables[u].n_columns; c++)
          {
            g_autoptr(GPtrArray) found = NULL;

            if (g_strcmp0 (tables[u].columns[c].ref_table, tables[t].name) != 0)
              continue;
            found = g_ptr_array_new ();
            if (!load_rows (self, db, push, &tables[u], tables[u].columns[c].name, targets,
                            found, error))
              return FALSE;
            for (guint f = 0; f < found->len; f++)
              g_hash_table_add (check, g_ptr_array_index (found, f));
          }
    }

  /* Every row they point at, one query per referenced table. */
  g_hash_table_iter_init (&iter, check);
  while (g_hash_table_iter_next (&iter, (gpointer *) &row, NULL))
    g_ptr_array_add (check_rows, row);

  for (guint t = 0; t < n_tables; t++)
    {
      g_autoptr(GPtrArray) targets = g_ptr_array_new ();
      g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

      for (guint i = 0; i < check_rows->len; i++)
        {
          row = g_ptr_array_index (check_rows, i);
          for (guint c = 0; c < row->table->n_columns; c++)
            {
              const VdColumn *column = &row->table->columns[c];
              const char *target = row->values[c].kind == VD_VALUE_TEXT ? row->values[c].s : NULL;

              if (g_strcmp0 (column->ref_table, tables[t].name) != 0 || target == NULL ||
                  !vd_uuid_is_valid (target) || push_lookup (push, &tables[t], target) != NULL ||
                  g_hash_table_contains (seen, target))
                continue;
              g_hash_table_add (seen, (gpointer) target);
              g_ptr_array_add (targets, (gpointer) target);
            }
        }
      if (!load_rows (self, db, push, &tables[t], "id", targets, NULL, error))
        return FALSE;
    }

  /* The conflicts these rows already have (a dangling reference's conflict names the row
   * as row_id), so that a reference that is fine costs nothing unless a conflict about it
   * exists to be resolved. The changed appointments' ones are loaded already. */
  {
    g_autoptr(GPtrArray) ids = g_ptr_array_new ();

    for (guint i = 0; i < check_rows->len; i++)
      {
        row = g_ptr_array_index (check_rows, i);
        if (!(row->changed && row->table == appt_table))
          g_ptr_array_add (ids, row->id);
      }
    if (!load_rows (self, db, push, conflicts, "row_id", ids, NULL, error))
      return FALSE;
  }

  /* So every conflict about a check row is in the cache now: a row none names needs no
   * conflict id (a SHA-256 per reference) unless a reference of it dangles. */
  {
    Row *conflict;

    g_hash_table_iter_init (&iter, push->rows[conflicts->index]);
    while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &conflict))
      if (row_text (conflict, "row_id") != NULL)
        g_hash_table_add (named, (gpointer) row_text (conflict, "row_id"));
  }

  for (guint i = 0; i < check_rows->len; i++)
    {
      row = g_ptr_array_index (check_rows, i);
      for (guint c = 0; c < row->table->n_columns; c++)
        {
          const VdColumn *column = &row->table->columns[c];
          const char *target = row->values[c].kind == VD_VALUE_TEXT ? row->values[c].s : NULL;
          const VdTable *target_table;
          const Row *target_row = NULL;
          char id[VD_UUID_LEN + 1];
          gboolean dangling;
          Wanted *w;

          if (column->ref_table == NULL)
            continue;
          target_table = vd_schema_lookup_table (column->ref_table);
          if (target != NULL && target_table != NULL)
            target_row = push_lookup (push, target_table, target);
          /* Every row in the cache exists: loaded, or created and written by this push. */
          dangling = !row_is_deleted (row) && target != NULL &&
                     (target_row == NULL || row_is_deleted (target_row));
          if (!dangling && !g_hash_table_contains (named, row->id))
            continue;

          conflict_id (push->tenant_id, "dangling_reference", row->table->name, row->id,
                       column->name, id);
          if (!dangling && push_lookup (push, conflicts, id) == NULL)
            continue;
          w = wanted_new (wanted, id, dangling);
          w->kind = "dangling_reference";
          w->table_name = row->table->name;
          g_strlcpy (w->row_id, row->id, sizeof w->row_id);
          if (target != NULL && vd_uuid_is_valid (target))
            g_strlcpy (w->other_row_id, target, sizeof w->other_row_id);
          /* Stored data, not a message: the desk shows it as the server wrote it. */
          w->detail = g_strdup_printf ("The column %s of this %s row refers to a %s row that %s.",
                                       column->name, row->table->name, column->ref_table,
                                       target_row != NULL ? "is deleted" : "does not exist");
        }
    }
  return TRUE;
}

static gboolean
detect_conflicts (VdsStore   *self,
                  VdsDb      *db,
                  Push       *push,
                  GPtrArray  *changed,
                  GError    **error)
{
  const VdTable *conflicts = vd_schema_lookup_table ("conflicts");
  const VdTable *appt_table = vd_schema_lookup_table ("appointments");
  g_autoptr(GHashTable) wanted = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, wanted_free);
  g_autoptr(GPtrArray) appointments = g_ptr_array_new ();
  g_autoptr(GPtrArray) missing = g_ptr_array_new ();
  g_autoptr(GList) keys = NULL;

  for (guint i = 0; i < changed->len; i++)
    {
      Row *row = g_ptr_array_index (changed, i);

      if (row->table == appt_table)
        g_ptr_array_add (appointments, row);
    }

  if (!detect_double_bookings (self, db, push, appointments, wanted, error) ||
      !detect_dangling (self, db, push, changed, wanted, error))
    return FALSE;

  /* The conflict rows to settle, loaded in one query. */
  keys = g_hash_table_get_keys (wanted);
  keys = g_list_sort (keys, (GCompareFunc) strcmp);
  for (GList *l = keys; l != NULL; l = l->next)
    if (push_lookup (push, conflicts, l->data) == NULL)
      g_ptr_array_add (missing, l->data);
  if (!load_rows (self, db, push, conflicts, "id", missing, NULL, error))
    return FALSE;

  /* In id order, so the seqs a push gives its conflicts do not depend on hashing. */
  for (GList *l = keys; l != NULL; l = l->next)
    settle_conflict (self, push, g_hash_table_lookup (wanted, l->data));

  return write_dirty_rows (self, db, push, conflicts->index, NULL, error);
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
              Push     *push)
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
  Push *push = data;
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
    if (!write_dirty_rows (self, db, push, t, changed, error))
      return FALSE;

  if (!detect_conflicts (self, db, push, changed, error))
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

      /* Delivered by PostgreSQL at commit, to every syncd process's listener. */
      if (self->dialect == VDS_DB_POSTGRES)
        {
          g_autofree char *payload = vd_notify_seq_encode (push->tenant_id, push->seq);
          g_autoptr(VdsResult) notified = NULL;
          VdsParam notify_params[2] = { VDS_TEXT (VDS_NOTIFY_SEQ_CHANNEL), VDS_TEXT (payload) };

          notified = vds_db_query (db, "SELECT pg_notify ($1, $2)", notify_params, 2, error);
          if (notified == NULL)
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

static gboolean
check_tenant_id (const char  *tenant_id,
                 GError     **error)
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
fill_result (Push          *push,
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
  Push push = { tenant_id, req, NULL, session_id };
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (req != NULL && req->changes != NULL && req->indices != NULL, FALSE);
  g_return_val_if_fail (out_answer_json != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out_result != NULL)
    vds_push_result_clear (out_result);
  if (!check_tenant_id (tenant_id, error))
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

/* ---- Sequences --------------------------------------------------------------------- */

typedef struct
{
  const char *tenant_id;
  gint64      seq;   /* out */
} GetSeq;

static gboolean
get_seq_txn (VdsStore *self,
             VdsDb    *db,
             gpointer  data,
             GError  **error)
{
  GetSeq *gs = data;
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[1] = { VDS_TEXT (gs->tenant_id) };

  result = vds_db_query (db, "SELECT seq FROM vd_seq WHERE tenant_id = $1", params, 1, error);
  if (result == NULL)
    return FALSE;
  gs->seq = vds_result_n_rows (result) > 0 ? vds_result_get_int (result, 0, 0) : 0;
  return TRUE;
}

gboolean
vds_store_get_seq (VdsStore    *self,
                   const char  *tenant_id,
                   gint64      *out_seq,
                   GError     **error)
{
  GetSeq gs = { tenant_id, 0 };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_seq != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_tenant_id (tenant_id, error))
    return FALSE;
  if (!vds_store_run (self, VDS_TXN_NONE, get_seq_txn, &gs, error))
    return FALSE;
  *out_seq = gs.seq;
  return TRUE;
}

typedef struct
{
  const char *sql;
  const char *list;
  GHashTable *seqs;   /* out */
} GetSeqs;

static gboolean
get_seqs_txn (VdsStore *self,
              VdsDb    *db,
              gpointer  data,
              GError  **error)
{
  GetSeqs *gs = data;
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[1] = { VDS_TEXT (gs->list) };

  g_hash_table_remove_all (gs->seqs);
  result = vds_db_query (db, gs->sql, params, 1, error);
  if (result == NULL)
    return FALSE;
  for (guint r = 0; r < vds_result_n_rows (result); r++)
    g_hash_table_insert (gs->seqs, g_strdup (vds_result_get_text (result, r, 0)),
                         g_memdup2 (&(gint64) { vds_result_get_int (result, r, 1) },
                                    sizeof (gint64)));
  return TRUE;
}

GHashTable *
vds_store_get_seqs (VdsStore           *self,
                    const char * const *tenant_ids,
                    guint               n_ids,
                    GError            **error)
{
  g_autoptr(GPtrArray) valid = g_ptr_array_new ();
  g_autofree char *filter = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *list = NULL;
  GetSeqs gs = { NULL, NULL, NULL };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  gs.seqs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < n_ids; i++)
    if (tenant_ids[i] != NULL && vd_uuid_is_valid (tenant_ids[i]))
      g_ptr_array_add (valid, (gpointer) tenant_ids[i]);
  if (valid->len == 0)
    return gs.seqs;

  list = vds_store_id_list (self, (const char * const *) valid->pdata, valid->len);
  filter = vds_store_in_list (self, "tenant_id", 1);
  sql = g_strdup_printf ("SELECT %s, seq FROM vd_seq WHERE %s",
                         self->dialect == VDS_DB_POSTGRES ? "tenant_id::text" : "tenant_id",
                         filter);
  gs.sql = sql;
  gs.list = list;
  if (!vds_store_run (self, VDS_TXN_NONE, get_seqs_txn, &gs, error))
    {
      g_hash_table_unref (gs.seqs);
      return NULL;
    }
  return gs.seqs;
}

/* ---- Pull -------------------------------------------------------------------------- */

typedef struct
{
  const char *tenant_id;
  gint64      after;
  guint       limit;
  gboolean    read_seq;  /* also read the clinic's seq in the same snapshot */
  GPtrArray  *changes;   /* out */
  gint64      cursor;    /* out */
  gboolean    more;      /* out */
  gint64      seq;       /* out, when read_seq */
} Pull;

static gboolean
pull_txn (VdsStore *self,
          VdsDb    *db,
          gpointer  data,
          GError  **error)
{
  Pull *pull = data;
  g_autofree VdsResult **results = g_new0 (VdsResult *, self->n_tables);
  g_autofree guint *pos = g_new0 (guint, self->n_tables);
  VdValue *values = NULL;
  VdCellClock *clocks = NULL;
  guint max_columns = 1;
  gboolean ok = TRUE;

  g_clear_pointer (&pull->changes, g_ptr_array_unref);
  pull->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  pull->cursor = pull->after;
  pull->more = FALSE;

  if (pull->read_seq)
    {
      g_autoptr(VdsResult) seq = NULL;
      VdsParam params[1] = { VDS_TEXT (pull->tenant_id) };

      seq = vds_db_query (db, "SELECT seq FROM vd_seq WHERE tenant_id = $1", params, 1, error);
      if (seq == NULL)
        return FALSE;
      pull->seq = vds_result_n_rows (seq) > 0 ? vds_result_get_int (seq, 0, 0) : 0;
    }

  /* Every row above the cursor yields at least one change, so limit + 1 rows per table
   * decide both where the page ends and whether more remains. */
  for (guint t = 0; ok && t < self->n_tables; t++)
    {
      VdsParam params[3] = {
        VDS_TEXT (pull->tenant_id), VDS_INT (pull->after), VDS_INT ((gint64) pull->limit + 1)
      };

      max_columns = MAX (max_columns, self->tables[t].table->n_columns);
      results[t] = vds_db_query (db, self->tables[t].since, params, 3, error);
      ok = results[t] != NULL;
    }

  if (ok)
    {
      values = g_new0 (VdValue, max_columns);
      clocks = g_new0 (VdCellClock, max_columns);
    }

  /* The per-table streams merged by seq; seqs are unique within a clinic. */
  while (ok)
    {
      const VdTable *table;
      VdsResult *result;
      gint64 row_seq = 0;
      guint best = G_MAXUINT;
      guint before;

      for (guint t = 0; t < self->n_tables; t++)
        {
          guint n = self->tables[t].table->n_columns;

          if (results[t] == NULL || pos[t] >= vds_result_n_rows (results[t]))
            continue;
          if (best == G_MAXUINT ||
              vds_result_get_int (results[t], pos[t], n + 1) <
              vds_result_get_int (results[best], pos[best],
                                  self->tables[best].table->n_columns + 1))
            best = t;
        }
      if (best == G_MAXUINT)
        break;

      table = self->tables[best].table;
      result = results[best];
      if (!read_row (result, pos[best], table, values, clocks, &row_seq, error))
        {
          ok = FALSE;
          break;
        }

      before = pull->changes->len;
      vd_row_changes_since (table, vds_result_get_text (result, pos[best], 0), values, clocks,
                            row_seq, pull->after, pull->changes);
      for (guint c = 0; c < table->n_columns; c++)
        vd_value_clear (&values[c]);

      if (before > 0 && pull->changes->len > pull->limit)
        {
          /* A row is never split: it goes whole into the next page. */
          g_ptr_array_set_size (pull->changes, before);
          pull->more = TRUE;
          break;
        }
      pull->cursor = row_seq;
      pos[best]++;
    }

  for (guint t = 0; t < self->n_tables; t++)
    g_clear_pointer (&results[t], vds_result_free);
  g_free (values);
  g_free (clocks);
  return ok;
}

gboolean
vds_store_pull (VdsStore    *self,
                const char  *tenant_id,
                gint64       cursor,
                guint        limit,
                GPtrArray  **out_changes,
                gint64      *out_cursor,
                gboolean    *out_more,
                GError     **error)
{
  Pull pull = { tenant_id, MAX (cursor, 0), MAX (limit, 1), FALSE, NULL, 0, FALSE, 0 };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_changes != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_tenant_id (tenant_id, error))
    return FALSE;

  if (!vds_store_run (self, VDS_TXN_SNAPSHOT, pull_txn, &pull, error))
    {
      g_clear_pointer (&pull.changes, g_ptr_array_unref);
      return FALSE;
    }

  *out_changes = pull.changes;
  if (out_cursor != NULL)
    *out_cursor = pull.cursor;
  if (out_more != NULL)
    *out_more = pull.more;
  return TRUE;
}

/* ---- The pull answer cache ---------------------------------------------------------- */

/* A full pull of a clinic is the same bytes until its seq moves, and desks pull far more
 * often than anyone pushes, so answers are kept encoded, keyed by (clinic, cursor, limit).
 * Validity is checked against the seq in the database on every pull, never against what
 * this process saw: another syncd on the same PostgreSQL may have pushed. An answer
 * computed at seq S serves any pull that read a seq ≤ S just before (it is at least as
 * fresh as one computed then). Only server_hlc differs between two such answers; it is
 * the answer's last value and has a fixed width, so it is patched in a copy. */

typedef struct
{
  char     *key;
  gint64    seq;         /* the clinic's seq in the snapshot the answer was read in */
  GBytes   *answer;      /* NULL while computing */
  gint64    cursor;
  gboolean  more;
  gboolean  computing;   /* one caller computes; identical misses wait for it */
  GList     link;        /* in lru while it holds an answer */
} CacheEntry;

struct _VdsPullCache
{
  GMutex      lock;
  GCond       done;
  GHashTable *entries;   /* key → CacheEntry */
  GQueue      lru;       /* newest first */
  gsize       bytes;
  gsize       max_bytes;
};

static void
cache_entry_free (gpointer data)
{
  CacheEntry *entry = data;

  g_clear_pointer (&entry->answer, g_bytes_unref);
  g_free (entry->key);
  g_free (entry);
}

VdsPullCache *
vds_pull_cache_new (gsize max_bytes)
{
  VdsPullCache *cache = g_new0 (VdsPullCache, 1);

  g_mutex_init (&cache->lock);
  g_cond_init (&cache->done);
  cache->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, cache_entry_free);
  g_queue_init (&cache->lru);
  cache->max_bytes = max_bytes;
  return cache;
}

void
vds_pull_cache_free (VdsPullCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_unref (cache->entries);
  g_mutex_clear (&cache->lock);
  g_cond_clear (&cache->done);
  g_free (cache);
}

/* What an entry holding an answer counts against the bound: many small answers (one per
 * desk cursor) must not grow the process past it either. */
static gsize
cache_entry_cost (const CacheEntry *entry)
{
  return g_bytes_get_size (entry->answer) + sizeof (CacheEntry) + strlen (entry->key) + 64;
}

/* Drops an entry's answer; called with the lock held. */
static void
cache_forget (VdsPullCache *cache,
              CacheEntry   *entry)
{
  if (entry->answer == NULL)
    return;
  g_queue_unlink (&cache->lru, &entry->link);
  cache->bytes -= cache_entry_cost (entry);
  g_clear_pointer (&entry->answer, g_bytes_unref);
}

/* A copy of the cached answer with the server's current hlc. */
static GBytes *
patch_hlc (VdsStore *self,
           GBytes   *answer)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (answer, &len);
  char *copy = g_memdup2 (data, len);

  vd_pull_answer_restamp (copy, len, vds_store_clock_tick (self));
  return g_bytes_new_take (copy, len);
}

GBytes *
vds_store_pull_answer (VdsStore    *self,
                       const char  *tenant_id,
                       gint64       cursor,
                       guint        limit,
                       gint64      *out_cursor,
                       gboolean    *out_more,
                       GError     **error)
{
  gint64 seq = 0;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_tenant_id (tenant_id, error) ||
      !vds_store_get_seq (self, tenant_id, &seq, error))
    return NULL;
  return vds_store_pull_answer_at (self, tenant_id, seq, cursor, limit, out_cursor, out_more,
                                   error);
}

GBytes *
vds_store_pull_answer_at (VdsStore    *self,
                          const char  *tenant_id,
                          gint64       seq,
                          gint64       cursor,
                          guint        limit,
                          gint64      *out_cursor,
                          gboolean    *out_more,
                          GError     **error)
{
  VdsPullCache *cache;
  g_autofree char *key = NULL;
  Pull pull = { tenant_id, MAX (cursor, 0), MAX (limit, 1), TRUE, NULL, 0, FALSE, 0 };
  CacheEntry *entry;
  GBytes *answer = NULL;
  GBytes *patched;
  char *data;
  gsize len = 0;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_tenant_id (tenant_id, error))
    return NULL;

  cache = self->pull_cache;
  key = g_strdup_printf ("%s:%" PRId64 ":%u", tenant_id, pull.after, pull.limit);
  g_mutex_lock (&cache->lock);
  for (;;)
    {
      entry = g_hash_table_lookup (cache->entries, key);
      if (entry == NULL || !entry->computing)
        break;
      g_cond_wait (&cache->done, &cache->lock);
    }
  if (entry != NULL && entry->answer != NULL && entry->seq >= seq)
    {
      g_queue_unlink (&cache->lru, &entry->link);
      g_queue_push_head_link (&cache->lru, &entry->link);
      answer = g_bytes_ref (entry->answer);
      if (out_cursor != NULL)
        *out_cursor = entry->cursor;
      if (out_more != NULL)
        *out_more = entry->more;
      g_mutex_unlock (&cache->lock);
      patched = patch_hlc (self, answer);
      g_bytes_unref (answer);
      return patched;
    }
  if (entry == NULL)
    {
      entry = g_new0 (CacheEntry, 1);
      entry->key = g_strdup (key);
      entry->link.data = entry;
      g_hash_table_insert (cache->entries, entry->key, entry);
    }
  cache_forget (cache, entry);
  entry->computing = TRUE;
  g_mutex_unlock (&cache->lock);

  if (vds_store_run (self, VDS_TXN_SNAPSHOT, pull_txn, &pull, error))
    {
      data = vd_pull_answer_encode (pull.changes, pull.cursor, pull.more,
                                    vds_store_clock_tick (self), &len);
      answer = g_bytes_new_take (data, len);
    }
  g_clear_pointer (&pull.changes, g_ptr_array_unref);

  g_mutex_lock (&cache->lock);
  entry->computing = FALSE;
  if (answer != NULL && len <= cache->max_bytes / 4)
    {
      entry->answer = g_bytes_ref (answer);
      entry->seq = pull.seq;
      entry->cursor = pull.cursor;
      entry->more = pull.more;
      g_queue_push_head_link (&cache->lru, &entry->link);
      cache->bytes += cache_entry_cost (entry);
      while (cache->bytes > cache->max_bytes)
        {
          CacheEntry *old = g_queue_peek_tail (&cache->lru);

          cache_forget (cache, old);
          g_hash_table_remove (cache->entries, old->key);
        }
    }
  else
    g_hash_table_remove (cache->entries, key);
  g_cond_broadcast (&cache->done);
  g_mutex_unlock (&cache->lock);

  if (answer != NULL)
    {
      if (out_cursor != NULL)
        *out_cursor = pull.cursor;
      if (out_more != NULL)
        *out_more = pull.more;
    }
  return answer;
}

/* ---- Devices ----------------------------------------------------------------------- */

typedef struct
{
  VdsParam params[13];
} TouchDevice;

static gboolean
touch_device_txn (VdsStore *self,
                  VdsDb    *db,
                  gpointer  data,
                  GError  **error)
{
  TouchDevice *td = data;

  /* lag_since: a pull that reached the clinic's sequence ends the device's lag; one that
   * did not keeps when it began (a push may have set it meanwhile). excluded.lag_since
   * carries "NULL = caught up" from the VALUES. */
  return vds_db_exec (db,
                      "INSERT INTO devices (tenant_id, device_id, user_id, name, app_version, "
                      "first_seen, last_seen, last_push_at, last_pull_at, cursor, pending, "
                      "last_error_code, last_error_message, last_error_at, rejected, lag_since) "
                      "VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, $12, "
                      "CASE WHEN CAST ($11 AS TEXT) IS NULL THEN NULL "
                      "ELSE CAST ($6 AS BIGINT) END, $13, "
                      "CASE WHEN COALESCE (CAST ($9 AS BIGINT), 0) >= "
                      "COALESCE ((SELECT s.seq FROM vd_seq s WHERE s.tenant_id = $1), 0) "
                      "THEN NULL ELSE CAST ($6 AS BIGINT) END) "
                      "ON CONFLICT (tenant_id, device_id) DO UPDATE SET "
                      "user_id = COALESCE (excluded.user_id, devices.user_id), "
                      "name = COALESCE (excluded.name, devices.name), "
                      "app_version = COALESCE (excluded.app_version, devices.app_version), "
                      "last_seen = excluded.last_seen, "
                      "last_push_at = COALESCE (excluded.last_push_at, devices.last_push_at), "
                      "last_pull_at = COALESCE (excluded.last_pull_at, devices.last_pull_at), "
                      "cursor = COALESCE (excluded.cursor, devices.cursor), "
                      "pending = COALESCE (excluded.pending, devices.pending), "
                      "last_error_code = COALESCE (excluded.last_error_code, devices.last_error_code), "
                      "last_error_message = CASE WHEN excluded.last_error_code IS NULL "
                      "THEN devices.last_error_message ELSE excluded.last_error_message END, "
                      "last_error_at = COALESCE (excluded.last_error_at, devices.last_error_at), "
                      "rejected = devices.rejected + excluded.rejected, "
                      "lag_since = CASE WHEN excluded.cursor IS NULL THEN devices.lag_since "
                      "WHEN excluded.lag_since IS NULL THEN NULL "
                      "ELSE COALESCE (devices.lag_since, excluded.lag_since) END",
                      td->params, G_N_ELEMENTS (td->params), error);
}

gboolean
vds_store_report_device (VdsStore              *self,
                         const VdsDeviceReport *report,
                         GError               **error)
{
  TouchDevice td;
  const char *user_id;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (report != NULL && report->device_id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_tenant_id (report->tenant_id, error))
    return FALSE;

  user_id = report->user_id;
  td.params[0] = VDS_TEXT (report->tenant_id);
  td.params[1] = VDS_TEXT (report->device_id);
  td.params[2] = VDS_TEXT (user_id != NULL && vd_uuid_is_valid (user_id) ? user_id : NULL);
  td.params[3] = VDS_NULL;
  td.params[4] = VDS_TEXT (report->app_version);
  td.params[5] = VDS_INT (report->now);
  td.params[6] = report->event == VDS_DEVICE_PUSHED ? VDS_INT (report->now) : VDS_NULL;
  td.params[7] = report->event == VDS_DEVICE_PULLED ? VDS_INT (report->now) : VDS_NULL;
  td.params[8] = report->event == VDS_DEVICE_PULLED ? VDS_INT (report->cursor) : VDS_NULL;
  td.params[9] = report->pending >= 0 ? VDS_INT (report->pending) : VDS_NULL;
  td.params[10] = VDS_TEXT (report->error_code);
  /* Only the code is kept: a refusal's sentence may quote the clinic's data, and
   * monitoring is for administrators, who must not see it. */
  td.params[11] = VDS_NULL;
  td.params[12] = VDS_INT (MAX (report->rejected, 0));
  return vds_store_run (self, VDS_TXN_NONE, touch_device_txn, &td, error);
}

typedef struct
{
  const VdsDeviceReport *reports;
  guint                  n_reports;
} ReportPulls;

static gboolean
report_pulls_txn (VdsStore *self,
                  VdsDb    *db,
                  gpointer  data,
                  GError  **error)
{
  ReportPulls *rp = data;

  for (guint i = 0; i < rp->n_reports; i++)
    {
      const VdsDeviceReport *r = &rp->reports[i];
      const char *user_id = r->user_id != NULL && vd_uuid_is_valid (r->user_id) ? r->user_id
                                                                                : NULL;
      VdsParam params[8] = {
        VDS_TEXT (r->tenant_id),
        VDS_TEXT (r->device_id),
        VDS_TEXT (user_id),
        VDS_TEXT (r->app_version),
        VDS_INT (r->now),
        VDS_INT (r->cursor),
        r->pending >= 0 ? VDS_INT (r->pending) : VDS_NULL,
        VDS_BOOL (r->reached),
      };

      /* As touch_device_txn for a pull, except last_seen (never backwards: a push of the
       * same device may have been written meanwhile) and lag_since (see the header). */
      if (!vds_db_exec (db,
                        "INSERT INTO devices (tenant_id, device_id, user_id, app_version, "
                        "first_seen, last_seen, last_pull_at, cursor, pending, lag_since) "
                        "VALUES ($1, $2, $3, $4, $5, $5, $5, $6, $7, "
                        "CASE WHEN CAST ($6 AS BIGINT) >= "
                        "COALESCE ((SELECT s.seq FROM vd_seq s WHERE s.tenant_id = $1), 0) "
                        "THEN NULL ELSE CAST ($5 AS BIGINT) END) "
                        "ON CONFLICT (tenant_id, device_id) DO UPDATE SET "
                        "user_id = COALESCE (excluded.user_id, devices.user_id), "
                        "app_version = COALESCE (excluded.app_version, devices.app_version), "
                        "last_seen = CASE WHEN excluded.last_seen > devices.last_seen "
                        "THEN excluded.last_seen ELSE devices.last_seen END, "
                        "last_pull_at = excluded.last_pull_at, "
                        "cursor = CASE WHEN excluded.cursor < devices.cursor THEN devices.cursor "
                        "ELSE excluded.cursor END, "  /* the greater: instances flush apart */
                        "pending = COALESCE (excluded.pending, devices.pending), "
                        "lag_since = CASE WHEN excluded.cursor < devices.cursor "
                        "THEN devices.lag_since WHEN excluded.lag_since IS NULL THEN NULL "
                        "WHEN CAST ($8 AS BOOLEAN) THEN excluded.lag_since "
                        "ELSE COALESCE (devices.lag_since, excluded.lag_since) END",
                        params, G_N_ELEMENTS (params), error))
        return FALSE;
    }
  return TRUE;
}

gboolean
vds_store_report_pulls (VdsStore              *self,
                        const VdsDeviceReport *reports,
                        guint                  n_reports,
                        GError               **error)
{
  ReportPulls rp = { reports, n_reports };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (reports != NULL || n_reports == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < n_reports; i++)
    {
      g_return_val_if_fail (reports[i].device_id != NULL, FALSE);
      if (!check_tenant_id (reports[i].tenant_id, error))
        return FALSE;
    }
  if (n_reports == 0)
    return TRUE;
  return vds_store_run (self, VDS_TXN_WRITE, report_pulls_txn, &rp, error);
}

gboolean
vds_store_touch_device (VdsStore       *self,
                        const char     *tenant_id,
                        const char     *device_id,
                        const char     *user_id,
                        const char     *device_name,
                        const char     *app_version,
                        VdsDeviceEvent  event,
                        gint64          cursor,
                        gint64          now,
                        GError        **error)
{
  TouchDevice td;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (device_id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_tenant_id (tenant_id, error))
    return FALSE;

  td.params[0] = VDS_TEXT (tenant_id);
  td.params[1] = VDS_TEXT (device_id);
  td.params[2] = VDS_TEXT (user_id != NULL && vd_uuid_is_valid (user_id) ? user_id : NULL);
  td.params[3] = VDS_TEXT (device_name);
  td.params[4] = VDS_TEXT (app_version);
  td.params[5] = VDS_INT (now);
  td.params[6] = event == VDS_DEVICE_PUSHED ? VDS_INT (now) : VDS_NULL;
  td.params[7] = event == VDS_DEVICE_PULLED ? VDS_INT (now) : VDS_NULL;
  td.params[8] = event == VDS_DEVICE_PULLED ? VDS_INT (cursor) : VDS_NULL;
  td.params[9] = VDS_NULL;
  td.params[10] = VDS_NULL;
  td.params[11] = VDS_NULL;
  td.params[12] = VDS_INT (0);
  return vds_store_run (self, VDS_TXN_NONE, touch_device_txn, &td, error);
}
