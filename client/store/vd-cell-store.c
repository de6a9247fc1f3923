/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-cell-store.c — typed rows with per-cell clocks in SQLite for one tenant: merging
 * changes by the LWW rule, listing what changed after a seq, and a digest of the data. */
#define G_LOG_DOMAIN "vdclient"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "vd-cell-store.h"
#include "vd-error.h"
#include "vd-id.h"

/* The statements of one table, generated from the registry and prepared once: every
 * apply, pull and digest runs them again with new bindings. */
typedef struct
{
  const VdTable *table;
  const VdColumn *deleted;
  sqlite3_stmt  *select_row;  /* columns…, _seq, _clocks of one row */
  sqlite3_stmt  *upsert;      /* tenant_id, id, columns…, _seq, _clocks */
  sqlite3_stmt  *since;       /* id, columns…, _seq, _clocks above a seq, in seq order */
  sqlite3_stmt  *digest;      /* id, columns… of every row, in id order */
} TableStatements;

struct _VdCellStore
{
  sqlite3         *db;
  char            *tenant_id;
  TableStatements *tables;
  guint            n_tables;

  sqlite3_stmt    *begin;
  sqlite3_stmt    *commit;
  sqlite3_stmt    *rollback;
  sqlite3_stmt    *savepoint;
  sqlite3_stmt    *release;
  sqlite3_stmt    *rollback_to;
  sqlite3_stmt    *next_seq;
  sqlite3_stmt    *get_seq;
  sqlite3_stmt    *set_seq;
};

/* ---- SQL plumbing ---------------------------------------------------------------- */

static void
set_db_error (GError  **error,
              sqlite3  *db,
              int       rc)
{
  int code = rc & 0xff;

  /* A busy or locked database is a passing state the caller may retry; the rest is a
   * fault of the file or of this code. */
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
    g_set_error (error, VD_ERROR, VD_ERROR_UNAVAILABLE,
                 _("The database is busy; try again in a moment (%s)."),
                 sqlite3_errmsg (db));
  else
    g_set_error (error, VD_ERROR, VD_ERROR_INTERNAL,
                 _("The database reported an error: %s."), sqlite3_errmsg (db));
}

static gboolean
prepare (VdCellStore   *self,
         const char    *sql,
         sqlite3_stmt **out,
         GError       **error)
{
  int rc = sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);

  if (rc != SQLITE_OK)
    {
      set_db_error (error, self->db, rc);
      return FALSE;
    }
  return TRUE;
}

/* Runs a statement without result rows (or whose rows are ignored) and resets it. */
static gboolean
run (VdCellStore   *self,
     sqlite3_stmt  *stmt,
     GError       **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    ;
  if (rc != SQLITE_DONE)
    set_db_error (error, self->db, rc);
  sqlite3_reset (stmt);
  return rc == SQLITE_DONE;
}

static void
append_column_list (GString       *sql,
                    const VdTable *table,
                    const char    *prefix)
{
  for (guint c = 0; c < table->n_columns; c++)
    g_string_append_printf (sql, "%s\"%s\"", c == 0 ? prefix : ", ", table->columns[c].name);
}

static gboolean
prepare_table (VdCellStore     *self,
               TableStatements *ts,
               GError         **error)
{
  const VdTable *table = ts->table;
  g_autoptr(GString) sql = g_string_new (NULL);

  ts->deleted = vd_table_deleted_column (table);

  g_string_assign (sql, "SELECT ");
  append_column_list (sql, table, "");
  g_string_append_printf (sql, ", _seq, _clocks FROM \"%s\" WHERE tenant_id = ?1 AND id = ?2",
                          table->name);
  if (!prepare (self, sql->str, &ts->select_row, error))
    return FALSE;

  g_string_printf (sql, "INSERT INTO \"%s\" (tenant_id, id", table->name);
  append_column_list (sql, table, ", ");
  g_string_append (sql, ", _seq, _clocks) VALUES (?1, ?2");
  for (guint c = 0; c < table->n_columns + 2; c++)
    g_string_append_printf (sql, ", ?%u", c + 3);
  g_string_append (sql, ") ON CONFLICT (tenant_id, id) DO UPDATE SET ");
  for (guint c = 0; c < table->n_columns; c++)
    g_string_append_printf (sql, "\"%s\" = excluded.\"%s\", ",
                            table->columns[c].name, table->columns[c].name);
  g_string_append (sql, "_seq = excluded._seq, _clocks = excluded._clocks");
  if (!prepare (self, sql->str, &ts->upsert, error))
    return FALSE;

  g_string_assign (sql, "SELECT id");
  append_column_list (sql, table, ", ");
  g_string_append_printf (sql,
                          ", _seq, _clocks FROM \"%s\" WHERE tenant_id = ?1 AND _seq > ?2 "
                          "ORDER BY _seq LIMIT ?3",
                          table->name);
  if (!prepare (self, sql->str, &ts->since, error))
    return FALSE;

  g_string_assign (sql, "SELECT id");
  append_column_list (sql, table, ", ");
  g_string_append_printf (sql, " FROM \"%s\" WHERE tenant_id = ?1 ORDER BY id", table->name);
  if (!prepare (self, sql->str, &ts->digest, error))
    return FALSE;

  return TRUE;
}

static TableStatements *
lookup_table (VdCellStore    *self,
              const VdTable  *table,
              GError        **error)
{
  if (table != NULL && table->index < self->n_tables && self->tables[table->index].table == table)
    return &self->tables[table->index];

  g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
               _("The table “%s” is not one this store keeps."),
               table != NULL ? table->name : "");
  return NULL;
}

/* Reads a stored cell back as the kind its column holds, whatever affinity SQLite gave
 * it, so every replica reads the same value from the same write. */
static void
read_value (sqlite3_stmt   *stmt,
            int             col,
            const VdColumn *column,
            VdValue        *value)
{
  memset (value, 0, sizeof *value);
  value->kind = VD_VALUE_NULL;

  if (sqlite3_column_type (stmt, col) == SQLITE_NULL)
    return;

  switch (column->type)
    {
    case VD_TYPE_BOOLEAN:
      value->kind = VD_VALUE_BOOL;
      value->b = sqlite3_column_int64 (stmt, col) != 0;
      break;
    case VD_TYPE_INTEGER:
      value->kind = VD_VALUE_INT;
      value->i = sqlite3_column_int64 (stmt, col);
      break;
    case VD_TYPE_REAL:
      value->kind = VD_VALUE_REAL;
      value->r = sqlite3_column_double (stmt, col);
      break;
    case VD_TYPE_TEXT:
    case VD_TYPE_DATE:
    case VD_TYPE_TIMESTAMP:
    case VD_TYPE_UUID:
    case VD_TYPE_ENUM:
    default:
      {
        const char *text = (const char *) sqlite3_column_text (stmt, col);
        int len = sqlite3_column_bytes (stmt, col);

        value->kind = VD_VALUE_TEXT;
        value->s = g_strndup (text != NULL ? text : "", len);
      }
      break;
    }
}

/* Text is bound without a copy: the values outlive the statement's step. */
static int
bind_value (sqlite3_stmt    *stmt,
            int              param,
            const VdColumn  *column,
            const VdValue   *value,
            gboolean         not_null)
{
  switch (value->kind)
    {
    case VD_VALUE_INT:
      return sqlite3_bind_int64 (stmt, param, value->i);
    case VD_VALUE_BOOL:
      return sqlite3_bind_int64 (stmt, param, value->b ? 1 : 0);
    case VD_VALUE_REAL:
      return sqlite3_bind_double (stmt, param, value->r);
    case VD_VALUE_TEXT:
      return sqlite3_bind_text (stmt, param, value->s, -1, SQLITE_STATIC);
    case VD_VALUE_NULL:
    default:
      /* "deleted" is NOT NULL in the DDL; a row whose deleted cell was never written (an
       * edit that arrived before its create) is not deleted. */
      if (not_null)
        return sqlite3_bind_int64 (stmt, param, 0);
      return sqlite3_bind_null (stmt, param);
    }
}

/* Reads the columns, then _seq and _clocks, starting at result column 'first'. */
static gboolean
read_row_state (VdCellStore     *self,
                TableStatements *ts,
                sqlite3_stmt    *stmt,
                int              first,
                VdValue         *values,
                VdCellClock     *clocks,
                gint64          *out_seq,
                GError         **error)
{
  const VdTable *table = ts->table;
  int n = (int) table->n_columns;

  for (int c = 0; c < n; c++)
    read_value (stmt, first + c, &table->columns[c], &values[c]);
  *out_seq = sqlite3_column_int64 (stmt, first + n);
  if (!vd_cell_clocks_unpack (sqlite3_column_blob (stmt, first + n + 1),
                              (gsize) sqlite3_column_bytes (stmt, first + n + 1),
                              clocks, table->n_columns))
    {
      for (int c = 0; c < n; c++)
        vd_value_clear (&values[c]);
      g_set_error (error, VD_ERROR, VD_ERROR_INTERNAL,
                   _("The stored clocks of a row in “%s” are damaged."), table->name);
      return FALSE;
    }
  return TRUE;
}

/* FALSE with error on a database fault; *out_found says whether the row exists. Missing
 * rows leave values NULL and clocks zero. */
static gboolean
select_row (VdCellStore     *self,
            TableStatements *ts,
            const char      *id,
            VdValue         *values,
            VdCellClock     *clocks,
            gint64          *out_seq,
            gboolean        *out_found,
            GError         **error)
{
  sqlite3_stmt *stmt = ts->select_row;
  gboolean ok = TRUE;
  int rc;

  *out_found = FALSE;
  *out_seq = 0;

  sqlite3_bind_text (stmt, 1, self->tenant_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *out_found = TRUE;
      ok = read_row_state (self, ts, stmt, 0, values, clocks, out_seq, error);
    }
  else if (rc == SQLITE_DONE)
    {
      for (guint c = 0; c < ts->table->n_columns; c++)
        values[c].kind = VD_VALUE_NULL;
      memset (clocks, 0, ts->table->n_columns * sizeof (VdCellClock));
    }
  else
    {
      set_db_error (error, self->db, rc);
      ok = FALSE;
    }
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return ok;
}

static gboolean
write_row (VdCellStore       *self,
           TableStatements   *ts,
           const char        *id,
           const VdValue     *values,
           const VdCellClock *clocks,
           gint64             row_seq,
           GError           **error)
{
  const VdTable *table = ts->table;
  sqlite3_stmt *stmt = ts->upsert;
  g_autofree guint8 *packed = NULL;
  gsize packed_len = 0;
  int n = (int) table->n_columns;
  gboolean ok;

  packed = vd_cell_clocks_pack (clocks, table->n_columns, &packed_len);

  sqlite3_bind_text (stmt, 1, self->tenant_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_STATIC);
  for (int c = 0; c < n; c++)
    bind_value (stmt, 3 + c, &table->columns[c], &values[c], &table->columns[c] == ts->deleted);
  sqlite3_bind_int64 (stmt, 3 + n, row_seq);
  sqlite3_bind_blob (stmt, 4 + n, packed, (int) packed_len, SQLITE_STATIC);

  ok = run (self, stmt, error);
  sqlite3_clear_bindings (stmt);
  return ok;
}

static gboolean
bump_seq (VdCellStore  *self,
          gint64       *out_seq,
          GError      **error)
{
  sqlite3_stmt *stmt = self->next_seq;
  int rc;

  sqlite3_bind_text (stmt, 1, self->tenant_id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *out_seq = sqlite3_column_int64 (stmt, 0);
      rc = sqlite3_step (stmt);
    }
  if (rc != SQLITE_DONE)
    set_db_error (error, self->db, rc);
  sqlite3_reset (stmt);
  return rc == SQLITE_DONE;
}

/* ---- The store ------------------------------------------------------------------- */

VdCellStore *
vd_cell_store_new (sqlite3     *db,
                   const char  *tenant_id,
                   GError     **error)
{
  g_autoptr(VdCellStore) self = NULL;
  g_autofree char *ddl = NULL;
  const VdTable *tables;
  char *errmsg = NULL;

  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (tenant_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_new0 (VdCellStore, 1);
  self->db = db;
  self->tenant_id = g_strdup (tenant_id);

  ddl = vd_schema_sqlite_ddl ();
  if (sqlite3_exec (db, ddl, NULL, NULL, &errmsg) != SQLITE_OK)
    {
      g_set_error (error, VD_ERROR, VD_ERROR_INTERNAL,
                   _("The database tables could not be created: %s."),
                   errmsg != NULL ? errmsg : sqlite3_errmsg (db));
      sqlite3_free (errmsg);
      return NULL;
    }

  tables = vd_schema_tables (&self->n_tables);
  self->tables = g_new0 (TableStatements, self->n_tables);
  for (guint t = 0; t < self->n_tables; t++)
    {
      self->tables[t].table = &tables[t];
      if (!prepare_table (self, &self->tables[t], error))
        return NULL;
    }

  /* At top level a write transaction is taken up front: a deferred one that reads first
   * cannot wait for another connection's lock when it upgrades to write. */
  if (!prepare (self, "BEGIN IMMEDIATE", &self->begin, error) ||
      !prepare (self, "COMMIT", &self->commit, error) ||
      !prepare (self, "ROLLBACK", &self->rollback, error) ||
      !prepare (self, "SAVEPOINT vd_cell_store_apply", &self->savepoint, error) ||
      !prepare (self, "RELEASE vd_cell_store_apply", &self->release, error) ||
      !prepare (self, "ROLLBACK TO vd_cell_store_apply", &self->rollback_to, error) ||
      !prepare (self,
                "INSERT INTO vd_seq (tenant_id, seq) VALUES (?1, 1) "
                "ON CONFLICT (tenant_id) DO UPDATE SET seq = seq + 1 RETURNING seq",
                &self->next_seq, error) ||
      !prepare (self, "SELECT seq FROM vd_seq WHERE tenant_id = ?1", &self->get_seq, error) ||
      !prepare (self,
                "INSERT INTO vd_seq (tenant_id, seq) VALUES (?1, ?2) "
                "ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq",
                &self->set_seq, error))
    return NULL;

  return g_steal_pointer (&self);
}

void
vd_cell_store_free (VdCellStore *self)
{
  if (self == NULL)
    return;

  for (guint t = 0; self->tables != NULL && t < self->n_tables; t++)
    {
      sqlite3_finalize (self->tables[t].select_row);
      sqlite3_finalize (self->tables[t].upsert);
      sqlite3_finalize (self->tables[t].since);
      sqlite3_finalize (self->tables[t].digest);
    }
  g_free (self->tables);
  sqlite3_finalize (self->begin);
  sqlite3_finalize (self->commit);
  sqlite3_finalize (self->rollback);
  sqlite3_finalize (self->savepoint);
  sqlite3_finalize (self->release);
  sqlite3_finalize (self->rollback_to);
  sqlite3_finalize (self->next_seq);
  sqlite3_finalize (self->get_seq);
  sqlite3_finalize (self->set_seq);
  g_free (self->tenant_id);
  g_free (self);
}

sqlite3 *
vd_cell_store_get_db (VdCellStore *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->db;
}

const char *
vd_cell_store_get_tenant_id (VdCellStore *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->tenant_id;
}

/* The merge of one change into the database, inside the caller's savepoint: creates the
 * row when missing, writes each winning cell's value and clock, and when anything won
 * gives the row the tenant's next seq, taken from *batch_seq (a batch that writes vd_seq
 * once at its end) or, when batch_seq is NULL, from vd_seq itself. */
static gboolean
merge_one (VdCellStore     *self,
           const VdChange  *change,
           gint64          *batch_seq,
           guint           *out_applied,
           GError         **error)
{
  TableStatements *ts;
  VdValue *values;
  VdCellClock *clocks;
  gboolean *changed;
  guint8 site[16];
  guint n;
  guint applied = 0;
  gint64 row_seq = 0;
  gboolean found = FALSE;
  gboolean ok;

  *out_applied = 0;
  ts = lookup_table (self, change->table, error);
  if (ts == NULL)
    return FALSE;
  if (!vd_uuid_to_bytes (change->site, site))
    {
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The site “%s” of a change is not a valid device id."), change->site);
      return FALSE;
    }

  n = ts->table->n_columns;
  values = g_newa (VdValue, n);
  clocks = g_newa (VdCellClock, n);
  changed = g_newa (gboolean, n);
  memset (values, 0, n * sizeof (VdValue));
  memset (changed, 0, n * sizeof (gboolean));

  ok = select_row (self, ts, change->id, values, clocks, &row_seq, &found, error);
  if (ok)
    {
      applied = vd_row_merge (change, values, clocks, changed, 0);
      if (applied > 0)
        {
          gint64 seq = 0;

          if (batch_seq != NULL)
            seq = ++*batch_seq;
          else
            ok = bump_seq (self, &seq, error);
          if (ok)
            {
              /* The new seq is the tenant's highest, so it is also the row's. */
              for (guint c = 0; c < n; c++)
                if (changed[c])
                  clocks[c].seq = seq;
              ok = write_row (self, ts, change->id, values, clocks, seq, error);
            }
        }
    }

  for (guint c = 0; c < n; c++)
    vd_value_clear (&values[c]);

  if (ok)
    *out_applied = applied;
  return ok;
}

/* Opens the savepoint (nested) or the write transaction (top level) of one apply. */
static gboolean
apply_begin (VdCellStore  *self,
             gboolean     *out_nested,
             GError      **error)
{
  *out_nested = !sqlite3_get_autocommit (self->db);
  return run (self, *out_nested ? self->savepoint : self->begin, error);
}

/* Releases or commits when ok, else undoes everything since apply_begin. */
static gboolean
apply_end (VdCellStore  *self,
           gboolean      nested,
           gboolean      ok,
           GError      **error)
{
  if (ok)
    ok = run (self, nested ? self->release : self->commit, error);
  if (!ok)
    {
      /* An error from the undo itself adds nothing the caller can act on beyond the
       * first one. */
      if (nested)
        {
          run (self, self->rollback_to, NULL);
          run (self, self->release, NULL);
        }
      else if (!sqlite3_get_autocommit (self->db))
        {
          run (self, self->rollback, NULL);
        }
    }
  return ok;
}

gboolean
vd_cell_store_apply (VdCellStore     *self,
                     const VdChange  *change,
                     guint           *out_applied,
                     GError         **error)
{
  guint applied = 0;
  gboolean nested;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (change != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out_applied != NULL)
    *out_applied = 0;

  if (lookup_table (self, change->table, error) == NULL)
    return FALSE;
  if (!apply_begin (self, &nested, error))
    return FALSE;
  ok = merge_one (self, change, NULL, &applied, error);
  ok = apply_end (self, nested, ok, ok ? error : NULL);

  if (ok && out_applied != NULL)
    *out_applied = applied;
  return ok;
}

gboolean
vd_cell_store_apply_many (VdCellStore  *self,
                          GPtrArray    *changes,
                          guint        *out_applied,
                          GError      **error)
{
  sqlite3_stmt *stmt;
  gint64 seq = 0;
  gint64 first_seq;
  gboolean nested;
  gboolean ok;
  int rc;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (changes != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out_applied != NULL)
    memset (out_applied, 0, changes->len * sizeof (guint));
  if (changes->len == 0)
    return TRUE;

  if (!apply_begin (self, &nested, error))
    return FALSE;

  /* Inside the write transaction nobody else moves vd_seq, so the batch counts in memory
   * and writes the last seq once. */
  stmt = self->get_seq;
  sqlite3_bind_text (stmt, 1, self->tenant_id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    seq = sqlite3_column_int64 (stmt, 0);
  ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
  if (!ok)
    set_db_error (error, self->db, rc);
  sqlite3_reset (stmt);
  first_seq = seq;

  for (guint i = 0; ok && i < changes->len; i++)
    {
      guint applied = 0;

      ok = merge_one (self, g_ptr_array_index (changes, i), &seq, &applied, error);
      if (ok && out_applied != NULL)
        out_applied[i] = applied;
    }

  if (ok && seq != first_seq)
    {
      stmt = self->set_seq;
      sqlite3_bind_text (stmt, 1, self->tenant_id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 2, seq);
      ok = run (self, stmt, error);
    }

  ok = apply_end (self, nested, ok, ok ? error : NULL);
  if (!ok && out_applied != NULL)
    memset (out_applied, 0, changes->len * sizeof (guint));
  return ok;
}

GPtrArray *
vd_cell_store_changes_since (VdCellStore *self,
                             gint64       after,
                             guint        limit,
                             gint64      *out_cursor,
                             gboolean    *out_more,
                             GError     **error)
{
  g_autoptr(GPtrArray) out = NULL;
  gboolean *has_row;
  gint64 *head_seq;
  gint64 cursor = after;
  gboolean more = FALSE;
  gboolean ok = TRUE;
  guint max_columns = 0;
  VdValue *values;
  VdCellClock *clocks;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  out = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  has_row = g_newa (gboolean, self->n_tables);
  head_seq = g_newa (gint64, self->n_tables);

  /* Every row above 'after' yields at least one change, so limit + 1 rows of one table
   * decide both where the page ends and whether more remains. The per-table streams are
   * merged by seq here; seqs are unique in a tenant. */
  for (guint t = 0; t < self->n_tables; t++)
    {
      sqlite3_stmt *stmt = self->tables[t].since;
      int rc;

      max_columns = MAX (max_columns, self->tables[t].table->n_columns);
      sqlite3_bind_text (stmt, 1, self->tenant_id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 2, after);
      sqlite3_bind_int64 (stmt, 3, (gint64) MAX (limit, 1) + 1);
      rc = sqlite3_step (stmt);
      has_row[t] = rc == SQLITE_ROW;
      if (rc == SQLITE_ROW)
        head_seq[t] = sqlite3_column_int64 (stmt, (int) self->tables[t].table->n_columns + 1);
      else if (rc != SQLITE_DONE && ok)
        {
          set_db_error (error, self->db, rc);
          ok = FALSE;
        }
    }

  values = g_newa (VdValue, MAX (max_columns, 1));
  clocks = g_newa (VdCellClock, MAX (max_columns, 1));

  while (ok)
    {
      TableStatements *ts = NULL;
      sqlite3_stmt *stmt;
      const char *id;
      gint64 row_seq;
      guint before;
      guint best = 0;
      int rc;

      for (guint t = 0; t < self->n_tables; t++)
        if (has_row[t] && (ts == NULL || head_seq[t] < head_seq[best]))
          {
            ts = &self->tables[t];
            best = t;
          }
      if (ts == NULL)
        break;

      stmt = ts->since;
      id = (const char *) sqlite3_column_text (stmt, 0);
      if (!read_row_state (self, ts, stmt, 1, values, clocks, &row_seq, error))
        {
          ok = FALSE;
          break;
        }

      before = out->len;
      /* Whole rows (after = 0): see the header on why filtering cells loses some. */
      vd_row_changes_since (ts->table, id != NULL ? id : "", values, clocks, row_seq, 0, out);
      for (guint c = 0; c < ts->table->n_columns; c++)
        vd_value_clear (&values[c]);

      if (before > 0 && out->len > limit)
        {
          /* A row is never split: it goes whole into the next page. */
          g_ptr_array_set_size (out, before);
          more = TRUE;
          break;
        }
      cursor = row_seq;

      rc = sqlite3_step (stmt);
      has_row[best] = rc == SQLITE_ROW;
      if (rc == SQLITE_ROW)
        head_seq[best] = sqlite3_column_int64 (stmt, (int) ts->table->n_columns + 1);
      else if (rc != SQLITE_DONE)
        {
          set_db_error (error, self->db, rc);
          ok = FALSE;
        }
    }

  /* Reset at once: a statement left mid-way would hold the read transaction open. */
  for (guint t = 0; t < self->n_tables; t++)
    {
      sqlite3_reset (self->tables[t].since);
      sqlite3_clear_bindings (self->tables[t].since);
    }

  if (!ok)
    return NULL;

  if (out_cursor != NULL)
    *out_cursor = cursor;
  if (out_more != NULL)
    *out_more = more;
  return g_steal_pointer (&out);
}

gint64
vd_cell_store_get_seq (VdCellStore *self)
{
  sqlite3_stmt *stmt;
  gint64 seq = 0;
  int rc;

  g_return_val_if_fail (self != NULL, 0);

  stmt = self->get_seq;
  sqlite3_bind_text (stmt, 1, self->tenant_id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    seq = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    g_warning ("Reading the last seq of tenant %s failed: %s",
               self->tenant_id, sqlite3_errmsg (self->db));
  sqlite3_reset (stmt);
  return seq;
}

gboolean
vd_cell_store_get_row (VdCellStore     *self,
                       const VdTable   *table,
                       const char      *id,
                       VdValue         *values,
                       VdCellClock     *clocks,
                       gint64          *out_seq,
                       GError         **error)
{
  TableStatements *ts;
  VdCellClock *scratch = clocks;
  gint64 seq = 0;
  gboolean found = FALSE;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (values != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  ts = lookup_table (self, table, error);
  if (ts == NULL)
    return FALSE;
  if (scratch == NULL)
    scratch = g_newa (VdCellClock, MAX (table->n_columns, 1));

  if (!select_row (self, ts, id, values, scratch, &seq, &found, error))
    return FALSE;
  if (out_seq != NULL)
    *out_seq = found ? seq : 0;
  return found;
}

/* ---- Digest ---------------------------------------------------------------------- */

static void
put_be64 (guint8  *out,
          guint64  v)
{
  v = GUINT64_TO_BE (v);
  memcpy (out, &v, sizeof v);
}

static void
digest_bytes (GChecksum    *checksum,
              char          tag,
              const void   *data,
              gsize         len)
{
  guint8 header[9];

  header[0] = (guint8) tag;
  put_be64 (header + 1, len);
  g_checksum_update (checksum, header, sizeof header);
  if (len > 0)
    g_checksum_update (checksum, data, len);
}

static void
digest_value (GChecksum     *checksum,
              const VdValue *value)
{
  guint8 buf[8];
  guint64 bits;
  double r;

  switch (value->kind)
    {
    case VD_VALUE_INT:
      put_be64 (buf, (guint64) value->i);
      digest_bytes (checksum, 'I', buf, 8);
      break;
    case VD_VALUE_BOOL:
      buf[0] = value->b ? 1 : 0;
      digest_bytes (checksum, 'B', buf, 1);
      break;
    case VD_VALUE_REAL:
      /* -0.0 == 0.0 and every NaN is one value to a reader: one spelling each here. */
      r = value->r;
      if (r == 0.0)
        r = 0.0;
      if (isnan (r))
        bits = G_GUINT64_CONSTANT (0x7ff8000000000000);
      else
        memcpy (&bits, &r, sizeof bits);
      put_be64 (buf, bits);
      digest_bytes (checksum, 'F', buf, 8);
      break;
    case VD_VALUE_TEXT:
      digest_bytes (checksum, 'S', value->s, strlen (value->s));
      break;
    case VD_VALUE_NULL:
    default:
      digest_bytes (checksum, 'N', NULL, 0);
      break;
    }
}

char *
vd_cell_store_digest (VdCellStore  *self,
                      GError      **error)
{
  g_autoptr(GChecksum) checksum = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  checksum = g_checksum_new (G_CHECKSUM_SHA256);

  for (guint t = 0; t < self->n_tables; t++)
    {
      const VdTable *table = self->tables[t].table;
      sqlite3_stmt *stmt = self->tables[t].digest;
      int rc;

      digest_bytes (checksum, 'T', table->name, strlen (table->name));

      sqlite3_bind_text (stmt, 1, self->tenant_id, -1, SQLITE_STATIC);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          digest_bytes (checksum, 'R', sqlite3_column_text (stmt, 0),
                        (gsize) sqlite3_column_bytes (stmt, 0));
          for (guint c = 0; c < table->n_columns; c++)
            {
              VdValue value;

              read_value (stmt, (int) c + 1, &table->columns[c], &value);
              digest_value (checksum, &value);
              vd_value_clear (&value);
            }
        }
      if (rc != SQLITE_DONE)
        set_db_error (error, self->db, rc);
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      if (rc != SQLITE_DONE)
        return NULL;
    }

  return g_strdup (g_checksum_get_string (checksum));
}
