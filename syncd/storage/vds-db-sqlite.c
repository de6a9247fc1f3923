/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-db-sqlite.c — the SQLite engine of VdsDb: one connection per thread, WAL, statements
 * prepared once per SQL text with "$N" rewritten to "?N", rows copied into the result. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-db.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <sqlite3.h>

#include "vd-rules.h"
#include "vd-time.h"
#include "vds-db-private.h"

typedef struct
{
  VdsDb       parent;
  sqlite3    *handle;
  GHashTable *stmts;   /* the caller's SQL text → sqlite3_stmt (prepared from the rewrite) */
} VdsDbSqlite;

typedef struct
{
  int    type;         /* SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB, SQLITE_NULL */
  gsize  len;          /* bytes, for TEXT and BLOB */
  union
  {
    gint64 i;
    double r;
    gsize  off;        /* into SqliteResult.bytes, for TEXT and BLOB */
  };
  char  *number_text;  /* get_text on a number: formatted on first use */
} SqliteCell;

typedef struct
{
  VdsResult   parent;
  GArray     *cells;   /* SqliteCell, row-major */
  GByteArray *bytes;   /* every TEXT and BLOB value, each followed by a NUL */
  gboolean    has_number_text;
} SqliteResult;

static const VdsDbEngine sqlite_engine;
static const VdsResultClass sqlite_result_class;

static void
set_error (VdsDbSqlite  *self,
           int           rc,
           GError      **error)
{
  VdsDbError code;

  switch (rc & 0xff)
    {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = VDS_DB_ERROR_BUSY;
      break;
    case SQLITE_CONSTRAINT:
      code = VDS_DB_ERROR_CONSTRAINT;
      break;
    default:
      code = VDS_DB_ERROR_FAILED;
      break;
    }

  g_set_error (error, VDS_DB_ERROR, code, "%s (SQLite error %d)",
               sqlite3_errmsg (self->handle), rc);
}

/* "$12" → "?12" outside quotes and comments, so one SQL text serves both engines.
 * Returns NULL when there is nothing to rewrite. */
static char *
rewrite_placeholders (const char *sql)
{
  GString *out;
  const char *p;

  if (strchr (sql, '$') == NULL)
    return NULL;

  out = g_string_sized_new (strlen (sql));
  p = sql;
  while (*p != '\0')
    {
      char c = *p;

      if (c == '\'' || c == '"' || c == '`')
        {
          /* a quoted string or identifier; a doubled quote is an escaped one */
          g_string_append_c (out, *p++);
          while (*p != '\0')
            {
              if (*p == c && p[1] == c)
                {
                  g_string_append_len (out, p, 2);
                  p += 2;
                  continue;
                }
              g_string_append_c (out, *p);
              if (*p++ == c)
                break;
            }
        }
      else if (c == '[')
        {
          while (*p != '\0' && *p != ']')
            g_string_append_c (out, *p++);
        }
      else if (c == '-' && p[1] == '-')
        {
          while (*p != '\0' && *p != '\n')
            g_string_append_c (out, *p++);
        }
      else if (c == '/' && p[1] == '*')
        {
          g_string_append_len (out, p, 2);
          p += 2;
          while (*p != '\0' && !(p[0] == '*' && p[1] == '/'))
            g_string_append_c (out, *p++);
          if (*p != '\0')
            {
              g_string_append_len (out, p, 2);
              p += 2;
            }
        }
      else if (c == '$' && g_ascii_isdigit (p[1]))
        {
          g_string_append_c (out, '?');
          p++;
        }
      else
        {
          g_string_append_c (out, c);
          p++;
        }
    }

  return g_string_free (out, FALSE);
}

static gboolean
is_blank_tail (const char *tail)
{
  for (; tail != NULL && *tail != '\0'; tail++)
    if (!g_ascii_isspace (*tail) && *tail != ';')
      return FALSE;
  return TRUE;
}

static sqlite3_stmt *
get_stmt (VdsDbSqlite  *self,
          const char   *sql,
          GError      **error)
{
  g_autofree char *rewritten = NULL;
  sqlite3_stmt *stmt;
  const char *tail = NULL;
  int rc;

  stmt = g_hash_table_lookup (self->stmts, sql);
  if (stmt != NULL)
    return stmt;

  rewritten = rewrite_placeholders (sql);
  rc = sqlite3_prepare_v3 (self->handle, rewritten != NULL ? rewritten : sql, -1,
                           SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK)
    {
      set_error (self, rc, error);
      return NULL;
    }
  if (stmt == NULL)
    {
      g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
                   "empty SQL statement: “%s”", sql);
      return NULL;
    }
  if (!is_blank_tail (tail))
    {
      sqlite3_finalize (stmt);
      g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
                   "more than one SQL statement (use vds_db_exec_script): “%s”", sql);
      return NULL;
    }

  g_hash_table_insert (self->stmts, g_strdup (sql), stmt);
  return stmt;
}

static gboolean
bind_params (VdsDbSqlite     *self,
             sqlite3_stmt    *stmt,
             const VdsParam  *params,
             guint            n_params,
             GError         **error)
{
  int expected = sqlite3_bind_parameter_count (stmt);

  if (expected < 0 || (guint) expected != n_params)
    {
      g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
                   "the statement takes %d parameters, %u given: “%s”",
                   expected, n_params, sqlite3_sql (stmt));
      return FALSE;
    }

  for (guint i = 0; i < n_params; i++)
    {
      int idx = (int) i + 1;
      int rc;

      switch (params[i].kind)
        {
        case VDS_PARAM_NULL:
          rc = sqlite3_bind_null (stmt, idx);
          break;
        case VDS_PARAM_TEXT:
          /* SQLITE_STATIC: bindings are cleared before the call returns */
          rc = sqlite3_bind_text (stmt, idx, params[i].text, -1, SQLITE_STATIC);
          break;
        case VDS_PARAM_INT:
          rc = sqlite3_bind_int64 (stmt, idx, params[i].i);
          break;
        case VDS_PARAM_REAL:
          rc = sqlite3_bind_double (stmt, idx, params[i].r);
          break;
        case VDS_PARAM_BOOL:
          rc = sqlite3_bind_int (stmt, idx, params[i].b ? 1 : 0);
          break;
        case VDS_PARAM_BLOB:
          /* a NULL pointer would bind SQL NULL, but an empty blob is not NULL */
          if (params[i].blob.len == 0)
            rc = sqlite3_bind_zeroblob (stmt, idx, 0);
          else
            rc = sqlite3_bind_blob64 (stmt, idx, params[i].blob.data,
                                      params[i].blob.len, SQLITE_STATIC);
          break;
        default:
          g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
                       "unknown parameter kind %d", (int) params[i].kind);
          return FALSE;
        }

      if (rc != SQLITE_OK)
        {
          set_error (self, rc, error);
          return FALSE;
        }
    }

  return TRUE;
}

static void
append_row (SqliteResult *result,
            sqlite3_stmt *stmt)
{
  guint n_cols = result->parent.n_cols;
  guint first = result->cells->len;
  SqliteCell *cells;

  g_array_set_size (result->cells, first + n_cols);
  cells = &g_array_index (result->cells, SqliteCell, first);

  for (guint c = 0; c < n_cols; c++)
    {
      SqliteCell *cell = &cells[c];
      const void *data;

      cell->type = sqlite3_column_type (stmt, (int) c);
      cell->number_text = NULL;
      switch (cell->type)
        {
        case SQLITE_INTEGER:
          cell->i = sqlite3_column_int64 (stmt, (int) c);
          break;
        case SQLITE_FLOAT:
          cell->r = sqlite3_column_double (stmt, (int) c);
          break;
        case SQLITE_TEXT:
        case SQLITE_BLOB:
          /* fetch the pointer first, then the length (SQLite's documented order) */
          if (cell->type == SQLITE_TEXT)
            data = sqlite3_column_text (stmt, (int) c);
          else
            data = sqlite3_column_blob (stmt, (int) c);
          cell->len = (gsize) sqlite3_column_bytes (stmt, (int) c);
          cell->off = result->bytes->len;
          if (cell->len > 0)
            g_byte_array_append (result->bytes, data, (guint) cell->len);
          g_byte_array_append (result->bytes, (const guint8 *) "", 1);
          break;
        default:
          cell->type = SQLITE_NULL;
          break;
        }
    }

  result->parent.n_rows++;
}

static void
reset_stmt (sqlite3_stmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

/* Runs stmt to completion; rows go into result when there is one. */
static gboolean
run (VdsDbSqlite     *self,
     const char      *sql,
     const VdsParam  *params,
     guint            n_params,
     SqliteResult    *result,
     GError         **error)
{
  sqlite3_stmt *stmt;
  gboolean ok = FALSE;

  stmt = get_stmt (self, sql, error);
  if (stmt == NULL)
    return FALSE;

  if (!bind_params (self, stmt, params, n_params, error))
    goto out;

  if (result != NULL)
    result->parent.n_cols = (guint) sqlite3_column_count (stmt);

  for (;;)
    {
      int rc = sqlite3_step (stmt);

      if (rc == SQLITE_ROW)
        {
          if (result != NULL)
            append_row (result, stmt);
          continue;
        }
      if (rc == SQLITE_DONE)
        {
          ok = TRUE;
          break;
        }
      set_error (self, rc, error);
      break;
    }

out:
  reset_stmt (stmt);
  return ok;
}

static SqliteResult *
sqlite_result_new (void)
{
  SqliteResult *result = g_new0 (SqliteResult, 1);

  result->parent.klass = &sqlite_result_class;
  result->cells = g_array_new (FALSE, FALSE, sizeof (SqliteCell));
  result->bytes = g_byte_array_new ();
  return result;
}

static VdsResult *
sqlite_query (VdsDb           *db,
              const char      *sql,
              const VdsParam  *params,
              guint            n_params,
              GError         **error)
{
  VdsDbSqlite *self = (VdsDbSqlite *) db;
  SqliteResult *result = sqlite_result_new ();

  if (!run (self, sql, params, n_params, result, error))
    {
      vds_result_free (&result->parent);
      return NULL;
    }

  return &result->parent;
}

static gboolean
sqlite_exec (VdsDb           *db,
             const char      *sql,
             const VdsParam  *params,
             guint            n_params,
             GError         **error)
{
  return run ((VdsDbSqlite *) db, sql, params, n_params, NULL, error);
}

static gboolean
sqlite_exec_script (VdsDb       *db,
                    const char  *sql,
                    GError     **error)
{
  VdsDbSqlite *self = (VdsDbSqlite *) db;
  char *message = NULL;
  int rc;

  rc = sqlite3_exec (self->handle, sql, NULL, NULL, &message);
  if (rc != SQLITE_OK)
    {
      VdsDbError code = VDS_DB_ERROR_FAILED;

      if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        code = VDS_DB_ERROR_BUSY;
      else if ((rc & 0xff) == SQLITE_CONSTRAINT)
        code = VDS_DB_ERROR_CONSTRAINT;
      g_set_error (error, VDS_DB_ERROR, code, "%s (SQLite error %d)",
                   message != NULL ? message : sqlite3_errstr (rc), rc);
      sqlite3_free (message);
      return FALSE;
    }

  return TRUE;
}

static gboolean
sqlite_begin (VdsDb   *db,
              GError **error)
{
  /* IMMEDIATE takes the write lock now, so writers serialise at begin and a transaction
   * that began later can never commit before one that began earlier. */
  return run ((VdsDbSqlite *) db, "BEGIN IMMEDIATE", NULL, 0, NULL, error);
}

static void
sqlite_rollback (VdsDb *db)
{
  VdsDbSqlite *self = (VdsDbSqlite *) db;
  g_autoptr(GError) error = NULL;

  /* Some errors (IOERR, FULL, NOMEM…) roll back by themselves. */
  if (sqlite3_get_autocommit (self->handle))
    return;

  if (!run (self, "ROLLBACK", NULL, 0, NULL, &error))
    g_warning ("ROLLBACK failed: %s", error->message);
}

static gboolean
sqlite_commit (VdsDb   *db,
               GError **error)
{
  VdsDbSqlite *self = (VdsDbSqlite *) db;

  if (run (self, "COMMIT", NULL, 0, NULL, error))
    return TRUE;

  /* A failed COMMIT can leave the transaction open (BUSY); end it as promised. */
  sqlite_rollback (db);
  return FALSE;
}

static gboolean
sqlite_is_broken (VdsDb *db)
{
  return FALSE;
}

static void
sqlite_close (VdsDb *db)
{
  VdsDbSqlite *self = (VdsDbSqlite *) db;

  /* finalizes every statement, so the handle can close */
  g_clear_pointer (&self->stmts, g_hash_table_unref);
  if (self->handle != NULL)
    sqlite3_close_v2 (self->handle);
  g_free (self);
}

static gboolean
pragma (VdsDbSqlite  *self,
        const char   *sql,
        const char   *expect,
        GError      **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (self->handle, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW && expect != NULL &&
          g_ascii_strcasecmp ((const char *) sqlite3_column_text (stmt, 0), expect) != 0)
        {
          g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
                       "“%s” answered “%s”, not “%s”", sql,
                       (const char *) sqlite3_column_text (stmt, 0), expect);
          sqlite3_finalize (stmt);
          return FALSE;
        }
      if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        rc = SQLITE_OK;
    }
  if (rc != SQLITE_OK)
    set_error (self, rc, error);
  sqlite3_finalize (stmt);
  return rc == SQLITE_OK;
}

VdsDb *
vds_db_sqlite_open (const char  *path,
                    GError     **error)
{
  VdsDbSqlite *self;
  int rc;

  self = g_new0 (VdsDbSqlite, 1);
  self->parent.engine = &sqlite_engine;
  self->stmts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) sqlite3_finalize);

  /* A new database file is made readable by its owner only, as the TLS key is: it holds
   * every clinic's records and the password hashes. SQLite gives its -wal and -shm files
   * the database file's mode. */
  if (strcmp (path, ":memory:") != 0 && path[0] != '\0')
    {
      int fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

      if (fd >= 0)
        close (fd);
      else if (errno != EEXIST)
        {
          int saved = errno;

          g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
                       _("Could not create the database “%s”: %s"), path, g_strerror (saved));
          sqlite_close (&self->parent);
          return NULL;
        }
    }

  /* NOMUTEX: a connection belongs to one thread at a time, so SQLite's own per-connection
   * mutex would only cost time. */
  rc = sqlite3_open_v2 (path, &self->handle,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
                   _("Could not open the database “%s”: %s"), path,
                   self->handle != NULL ? sqlite3_errmsg (self->handle) : sqlite3_errstr (rc));
      sqlite_close (&self->parent);
      return NULL;
    }

  sqlite3_extended_result_codes (self->handle, 1);
  sqlite3_busy_timeout (self->handle, 10000);

  if (!pragma (self, "PRAGMA journal_mode = WAL",
               strcmp (path, ":memory:") == 0 ? NULL : "wal", error) ||
      !pragma (self, "PRAGMA synchronous = FULL", NULL, error) ||
      !pragma (self, "PRAGMA foreign_keys = OFF", NULL, error))
    {
      g_prefix_error (error, _("Could not set up the database “%s”: "), path);
      sqlite_close (&self->parent);
      return NULL;
    }

  return &self->parent;
}

/* ---- The SQL of the SQLite dialect (vds-db.h: where the dialects differ) ---------- */

/* One process owns the file: the store tells its own listeners. */
static gboolean
sqlite_notify (VdsDb       *db,
               const char  *channel,
               const char  *payload,
               GError     **error)
{
  return TRUE;
}

/* The windows go in as one JSON array of [staff, low, high]. */
static gboolean
sqlite_find_active_appointments (VdsDb                *db,
                                 const char           *tenant_id,
                                 const VdsDbWindow    *windows,
                                 guint                 n_windows,
                                 VdsDbAppointmentFunc  func,
                                 gpointer              data,
                                 GError              **error)
{
  g_autoptr(GString) list = g_string_new ("[");
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[2];

  for (guint i = 0; i < n_windows; i++)
    {
      const VdsDbWindow *w = &windows[i];
      char low_text[21], high_text[21];

      vd_time_format_utc (w->low, low_text);
      vd_time_format_utc (w->high, high_text);
      /* Canonical uuids and instants only: nothing in them needs quoting. */
      g_string_append_printf (list, "%s[\"%s\",\"%s\",\"%s\"]",
                              i > 0 ? "," : "", w->staff_id, low_text, high_text);
    }
  g_string_append_c (list, ']');

  params[0] = VDS_TEXT (tenant_id);
  params[1] = VDS_TEXT (list->str);
  result = vds_db_query (db,
                         "SELECT a.id, a.staff_id, a.starts_at, a.ends_at FROM "
                         "(SELECT json_extract (value, '$[0]') AS staff, "
                         "json_extract (value, '$[1]') AS low, "
                         "json_extract (value, '$[2]') AS high FROM json_each ($2)) AS x "
                         /* CROSS: the list outside, else SQLite walks the clinic */
                         "CROSS JOIN appointments a WHERE a.tenant_id = $1 "
                         "AND a.staff_id = x.staff "
                         "AND a.starts_at > x.low AND a.starts_at < x.high AND NOT a.deleted "
                         "AND COALESCE (a.status, '') NOT IN " VD_RULES_INACTIVE_STATUSES_SQL " "
                         "AND NOT COALESCE (a.allow_overlap, false) AND a.starts_at < a.ends_at",
                         params, 2, error);
  if (result == NULL)
    return FALSE;

  for (guint r = 0; r < vds_result_n_rows (result); r++)
    {
      gint64 s, e;

      if (!vd_time_parse_utc (vds_result_get_text (result, r, 2), &s, NULL) ||
          !vd_time_parse_utc (vds_result_get_text (result, r, 3), &e, NULL))
        continue;
      func (vds_result_get_text (result, r, 0), vds_result_get_text (result, r, 1), s, e, data);
    }
  return TRUE;
}

static const VdsDbEngine sqlite_engine = {
  .dialect = VDS_DB_SQLITE,
  .close = sqlite_close,
  .query = sqlite_query,
  .exec = sqlite_exec,
  .exec_script = sqlite_exec_script,
  .begin = sqlite_begin,
  .commit = sqlite_commit,
  .rollback = sqlite_rollback,
  .is_broken = sqlite_is_broken,
  .notify = sqlite_notify,
  .find_active_appointments = sqlite_find_active_appointments,
};

/* Results */

static inline SqliteCell *
cell_at (VdsResult *result,
         guint      row,
         guint      col)
{
  SqliteResult *self = (SqliteResult *) result;

  return &g_array_index (self->cells, SqliteCell, (gsize) row * result->n_cols + col);
}

static gboolean
sqlite_result_is_null (VdsResult *result,
                       guint      row,
                       guint      col)
{
  return cell_at (result, row, col)->type == SQLITE_NULL;
}

static const char *
sqlite_result_get_text (VdsResult *result,
                        guint      row,
                        guint      col)
{
  SqliteResult *self = (SqliteResult *) result;
  SqliteCell *cell = cell_at (result, row, col);

  switch (cell->type)
    {
    case SQLITE_TEXT:
    case SQLITE_BLOB:
      return (const char *) self->bytes->data + cell->off;
    case SQLITE_INTEGER:
      if (cell->number_text == NULL)
        cell->number_text = g_strdup_printf ("%" G_GINT64_FORMAT, cell->i);
      self->has_number_text = TRUE;
      return cell->number_text;
    case SQLITE_FLOAT:
      if (cell->number_text == NULL)
        {
          cell->number_text = g_malloc (G_ASCII_DTOSTR_BUF_SIZE);
          g_ascii_dtostr (cell->number_text, G_ASCII_DTOSTR_BUF_SIZE, cell->r);
        }
      self->has_number_text = TRUE;
      return cell->number_text;
    default:
      return NULL;
    }
}

static gint64
sqlite_result_get_int (VdsResult *result,
                       guint      row,
                       guint      col)
{
  SqliteCell *cell = cell_at (result, row, col);

  switch (cell->type)
    {
    case SQLITE_INTEGER:
      return cell->i;
    case SQLITE_FLOAT:
      return (gint64) cell->r;
    case SQLITE_TEXT:
      return vds_db_text_to_int (sqlite_result_get_text (result, row, col));
    default:
      return 0;
    }
}

static double
sqlite_result_get_real (VdsResult *result,
                        guint      row,
                        guint      col)
{
  SqliteCell *cell = cell_at (result, row, col);

  switch (cell->type)
    {
    case SQLITE_INTEGER:
      return (double) cell->i;
    case SQLITE_FLOAT:
      return cell->r;
    case SQLITE_TEXT:
      return vds_db_text_to_real (sqlite_result_get_text (result, row, col));
    default:
      return 0.0;
    }
}

static gboolean
sqlite_result_get_bool (VdsResult *result,
                        guint      row,
                        guint      col)
{
  SqliteCell *cell = cell_at (result, row, col);

  switch (cell->type)
    {
    case SQLITE_INTEGER:
      return cell->i != 0;
    case SQLITE_FLOAT:
      return cell->r != 0.0;
    case SQLITE_TEXT:
      return vds_db_text_to_bool (sqlite_result_get_text (result, row, col));
    default:
      return FALSE;
    }
}

static const guint8 *
sqlite_result_get_blob (VdsResult *result,
                        guint      row,
                        guint      col,
                        gsize     *out_len)
{
  SqliteResult *self = (SqliteResult *) result;
  SqliteCell *cell = cell_at (result, row, col);
  const char *text;

  switch (cell->type)
    {
    case SQLITE_TEXT:
    case SQLITE_BLOB:
      *out_len = cell->len;
      return self->bytes->data + cell->off;
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
      text = sqlite_result_get_text (result, row, col);
      *out_len = strlen (text);
      return (const guint8 *) text;
    default:
      *out_len = 0;
      return NULL;
    }
}

static void
sqlite_result_free (VdsResult *result)
{
  SqliteResult *self = (SqliteResult *) result;

  if (self->has_number_text)
    for (guint i = 0; i < self->cells->len; i++)
      g_free (g_array_index (self->cells, SqliteCell, i).number_text);
  g_array_unref (self->cells);
  g_byte_array_unref (self->bytes);
  g_free (self);
}

static const VdsResultClass sqlite_result_class = {
  .is_null = sqlite_result_is_null,
  .get_text = sqlite_result_get_text,
  .get_int = sqlite_result_get_int,
  .get_real = sqlite_result_get_real,
  .get_bool = sqlite_result_get_bool,
  .get_blob = sqlite_result_get_blob,
  .free = sqlite_result_free,
};
