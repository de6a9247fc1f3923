/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-db-pg.c — the PostgreSQL engine of VdsDb over libpq: statements prepared once per
 * SQL text, parameters in text form (blobs binary), and writes inside a transaction sent
 * in pipeline mode, their results checked at the next query, commit or rollback. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-db.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <libpq-fe.h>

#include "vd-rules.h"
#include "vd-time.h"
#include "vds-db-private.h"

/* from the server's catalog/pg_type_d.h, which is not in libpq's headers */
#define BOOLOID  16
#define BYTEAOID 17

/* One server-side prepared statement. The same SQL text is prepared once more for each
 * set of positions that carry blobs, since those are typed bytea at prepare time. */
typedef struct _PgStmt PgStmt;
struct _PgStmt
{
  PgStmt  *next;
  guint64  blob_mask;
  char     name[16];
};

typedef enum
{
  PENDING_PREPARE,   /* a queued PQsendPrepare */
  PENDING_EXEC,      /* a queued statement whose rows nobody wants */
  PENDING_RESULT,    /* the queued statement whose result the sync hands back */
} PendingKind;

typedef struct
{
  PendingKind  kind;
  guint64      blob_mask;
  char        *sql;        /* PENDING_PREPARE: to forget the statement if it failed */
} Pending;

typedef struct
{
  VdsDb        parent;
  PGconn      *conn;
  GHashTable  *stmts;      /* SQL text → PgStmt chain */
  guint        next_stmt;
  gboolean     broken;
  gboolean     pipelined;  /* in pipeline mode, with the queue below not yet synced */
  GArray      *pending;    /* Pending, in the order sent */

  /* parameter arrays for libpq, grown to the most parameters seen */
  guint        scratch_size;
  const char **values;
  int         *lengths;
  int         *formats;
  Oid         *types;
  char       (*numbers)[32];
} VdsDbPg;

typedef struct
{
  VdsResult   parent;
  PGresult   *res;
  guint8    **blobs;       /* bytea cells decoded on first get_blob, row-major */
  gsize      *blob_lens;
} PgResult;

static const VdsDbEngine pg_engine;
static const VdsResultClass pg_result_class;

static void
free_stmt_chain (gpointer data)
{
  PgStmt *stmt = data;

  while (stmt != NULL)
    {
      PgStmt *next = stmt->next;

      g_free (stmt);
      stmt = next;
    }
}

static void
clear_pending (VdsDbPg *self)
{
  for (guint i = 0; i < self->pending->len; i++)
    g_free (g_array_index (self->pending, Pending, i).sql);
  g_array_set_size (self->pending, 0);
}

/* The server forgets our prepared statements with the session; so do we. */
static void
mark_broken (VdsDbPg *self)
{
  if (self->broken)
    return;
  g_debug ("PostgreSQL connection broken: %s", PQerrorMessage (self->conn));
  self->broken = TRUE;
  g_hash_table_remove_all (self->stmts);
}

static void
set_broken_error (GError **error)
{
  g_set_error_literal (error, VDS_DB_ERROR, VDS_DB_ERROR_UNAVAILABLE,
                       "the connection to PostgreSQL was lost");
}

static gboolean
is_connection_sqlstate (const char *sqlstate)
{
  return g_str_has_prefix (sqlstate, "08") ||
         strcmp (sqlstate, "57P01") == 0 ||   /* admin_shutdown */
         strcmp (sqlstate, "57P02") == 0 ||   /* crash_shutdown */
         strcmp (sqlstate, "57P03") == 0;     /* cannot_connect_now */
}

/* Maps a failed result (or, with res NULL, the connection's last error) to VDS_DB_ERROR,
 * keeping the server's message. */
static void
set_error_from_result (VdsDbPg         *self,
                       const PGresult  *res,
                       GError         **error)
{
  const char *sqlstate = NULL;
  const char *message = NULL;
  g_autofree char *text = NULL;
  VdsDbError code = VDS_DB_ERROR_FAILED;

  if (res != NULL)
    {
      sqlstate = PQresultErrorField (res, PG_DIAG_SQLSTATE);
      message = PQresultErrorMessage (res);
    }
  if (message == NULL || *message == '\0')
    message = PQerrorMessage (self->conn);
  if (message == NULL || *message == '\0')
    message = res != NULL ? PQresStatus (PQresultStatus (res)) : "unknown error";
  text = g_strchomp (g_strdup (message));

  if (PQstatus (self->conn) == CONNECTION_BAD)
    code = VDS_DB_ERROR_UNAVAILABLE;
  else if (sqlstate == NULL)
    code = VDS_DB_ERROR_FAILED;
  else if (strcmp (sqlstate, "40001") == 0 || strcmp (sqlstate, "40P01") == 0)
    code = VDS_DB_ERROR_BUSY;
  else if (g_str_has_prefix (sqlstate, "23"))
    code = VDS_DB_ERROR_CONSTRAINT;
  /* 08P01 is also what a wrong parameter count earns, on a healthy connection */
  else if (is_connection_sqlstate (sqlstate) && strcmp (sqlstate, "08P01") != 0)
    code = VDS_DB_ERROR_UNAVAILABLE;

  if (code == VDS_DB_ERROR_UNAVAILABLE)
    mark_broken (self);

  if (sqlstate != NULL)
    g_set_error (error, VDS_DB_ERROR, code, "%s (SQLSTATE %s)", text, sqlstate);
  else
    g_set_error (error, VDS_DB_ERROR, code, "%s", text);
}

static gboolean
result_ok (const PGresult *res)
{
  ExecStatusType status;

  if (res == NULL)
    return FALSE;
  status = PQresultStatus (res);
  return status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
}

static PgStmt *
lookup_stmt (VdsDbPg    *self,
             const char *sql,
             guint64     blob_mask)
{
  for (PgStmt *stmt = g_hash_table_lookup (self->stmts, sql); stmt != NULL; stmt = stmt->next)
    if (stmt->blob_mask == blob_mask)
      return stmt;
  return NULL;
}

static PgStmt *
add_stmt (VdsDbPg    *self,
          const char *sql,
          guint64     blob_mask)
{
  PgStmt *head = g_hash_table_lookup (self->stmts, sql);
  PgStmt *stmt = g_new0 (PgStmt, 1);

  stmt->blob_mask = blob_mask;
  g_snprintf (stmt->name, sizeof stmt->name, "s%u", ++self->next_stmt);
  if (head != NULL)
    {
      stmt->next = head->next;
      head->next = stmt;
    }
  else
    g_hash_table_insert (self->stmts, g_strdup (sql), stmt);
  return stmt;
}

/* For a statement the server did not prepare after all. */
static void
forget_stmt (VdsDbPg    *self,
             const char *sql,
             guint64     blob_mask)
{
  PgStmt *head = g_hash_table_lookup (self->stmts, sql);
  gpointer key = NULL;

  if (head == NULL)
    return;

  if (head->blob_mask == blob_mask)
    {
      PgStmt *rest = head->next;

      if (rest == NULL)
        {
          g_hash_table_remove (self->stmts, sql);
          return;
        }
      g_hash_table_steal_extended (self->stmts, sql, &key, NULL);
      head->next = NULL;
      g_free (head);
      g_hash_table_insert (self->stmts, key, rest);
      return;
    }

  for (PgStmt *prev = head; prev->next != NULL; prev = prev->next)
    if (prev->next->blob_mask == blob_mask)
      {
        PgStmt *gone = prev->next;

        prev->next = gone->next;
        g_free (gone);
        return;
      }
}

static guint64
blob_mask_of (const VdsParam *params,
              guint           n_params)
{
  guint64 mask = 0;

  for (guint i = 0; i < n_params && i < 64; i++)
    if (params[i].kind == VDS_PARAM_BLOB)
      mask |= G_GUINT64_CONSTANT (1) << i;
  return mask;
}

/* Fills the scratch arrays for libpq from params: text format, except blobs (binary, so
 * they need no escaping either way). */
static void
format_params (VdsDbPg        *self,
               const VdsParam *params,
               guint           n_params)
{
  if (n_params > self->scratch_size)
    {
      guint size = MAX (n_params, 16);

      self->values = g_renew (const char *, self->values, size);
      self->lengths = g_renew (int, self->lengths, size);
      self->formats = g_renew (int, self->formats, size);
      self->types = g_renew (Oid, self->types, size);
      self->numbers = g_realloc_n (self->numbers, size, sizeof *self->numbers);
      self->scratch_size = size;
    }

  for (guint i = 0; i < n_params; i++)
    {
      self->lengths[i] = 0;
      self->formats[i] = 0;
      self->types[i] = 0;
      switch (params[i].kind)
        {
        case VDS_PARAM_TEXT:
          self->values[i] = params[i].text;
          break;
        case VDS_PARAM_INT:
          g_snprintf (self->numbers[i], sizeof self->numbers[i], "%" G_GINT64_FORMAT, params[i].i);
          self->values[i] = self->numbers[i];
          break;
        case VDS_PARAM_REAL:
          /* 17 significant digits read back as the same double */
          g_ascii_formatd (self->numbers[i], sizeof self->numbers[i], "%.17g", params[i].r);
          self->values[i] = self->numbers[i];
          break;
        case VDS_PARAM_BOOL:
          self->values[i] = params[i].b ? "true" : "false";
          break;
        case VDS_PARAM_BLOB:
          /* a NULL value would be SQL NULL, but an empty blob is not NULL */
          self->values[i] = params[i].blob.len > 0 ? (const char *) params[i].blob.data : "";
          self->lengths[i] = (int) params[i].blob.len;
          self->formats[i] = 1;
          self->types[i] = BYTEAOID;
          break;
        case VDS_PARAM_NULL:
        default:
          self->values[i] = NULL;
          break;
        }
    }
}

static gboolean
check_params (const VdsParam  *params,
              guint            n_params,
              GError         **error)
{
  for (guint i = 0; i < n_params; i++)
    {
      if (params[i].kind > VDS_PARAM_BLOB)
        {
          g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
                       "unknown parameter kind %d", (int) params[i].kind);
          return FALSE;
        }
      if (params[i].kind == VDS_PARAM_BLOB && params[i].blob.len > G_MAXINT)
        {
          g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
                       "blob parameter %u is too large (%" G_GSIZE_FORMAT " bytes)",
                       i + 1, params[i].blob.len);
          return FALSE;
        }
    }
  return TRUE;
}

/* After a failed PQsend*: the connection is either gone or in a state we cannot trust. */
static gboolean
send_failed (VdsDbPg  *self,
             GError  **error)
{
  set_error_from_result (self, NULL, error);
  if (PQstatus (self->conn) != CONNECTION_OK)
    mark_broken (self);
  return FALSE;
}

/* Synchronous path: prepares (once) and runs, returning the result. */
static PGresult *
run_sync (VdsDbPg         *self,
          const char      *sql,
          const VdsParam  *params,
          guint            n_params,
          GError         **error)
{
  guint64 mask = blob_mask_of (params, n_params);
  PgStmt *stmt;
  PGresult *res;

  stmt = lookup_stmt (self, sql, mask);
  format_params (self, params, n_params);
  if (stmt == NULL)
    {
      stmt = add_stmt (self, sql, mask);
      res = PQprepare (self->conn, stmt->name, sql,
                       mask != 0 ? (int) n_params : 0, mask != 0 ? self->types : NULL);
      if (!result_ok (res))
        {
          forget_stmt (self, sql, mask);
          set_error_from_result (self, res, error);
          PQclear (res);
          return NULL;
        }
      PQclear (res);
    }

  res = PQexecPrepared (self->conn, stmt->name, (int) n_params, self->values,
                        self->lengths, self->formats, 0);
  if (!result_ok (res))
    {
      set_error_from_result (self, res, error);
      PQclear (res);
      return NULL;
    }
  return res;
}

/* Pipeline path: queues the statement (and its PREPARE, the first time); nothing is read
 * until pipeline_sync. */
static gboolean
queue (VdsDbPg         *self,
       const char      *sql,
       const VdsParam  *params,
       guint            n_params,
       PendingKind      kind,
       GError         **error)
{
  guint64 mask = blob_mask_of (params, n_params);
  PgStmt *stmt;
  Pending pending = { kind, 0, NULL };
  const char *name;

  if (!self->pipelined)
    {
      if (!PQenterPipelineMode (self->conn))
        return send_failed (self, error);
      self->pipelined = TRUE;
    }

  format_params (self, params, n_params);
  stmt = lookup_stmt (self, sql, mask);
  if (stmt == NULL)
    {
      Pending prepare = { PENDING_PREPARE, mask, NULL };

      stmt = add_stmt (self, sql, mask);
      if (!PQsendPrepare (self->conn, stmt->name, sql,
                          mask != 0 ? (int) n_params : 0, mask != 0 ? self->types : NULL))
        {
          forget_stmt (self, sql, mask);
          return send_failed (self, error);
        }
      prepare.sql = g_strdup (sql);
      g_array_append_val (self->pending, prepare);
    }
  name = stmt->name;

  if (!PQsendQueryPrepared (self->conn, name, (int) n_params, self->values,
                            self->lengths, self->formats, 0))
    return send_failed (self, error);
  g_array_append_val (self->pending, pending);
  return TRUE;
}

/* Sends a Sync and reads every queued result in order. The first error wins (the server
 * skips what follows it until the Sync); the PENDING_RESULT's result goes to *out_res. */
static gboolean
pipeline_sync (VdsDbPg   *self,
               PGresult **out_res,
               GError   **error)
{
  g_autoptr(GError) first_error = NULL;
  PGresult *kept = NULL;
  PGresult *res;

  if (out_res != NULL)
    *out_res = NULL;
  if (!self->pipelined)
    return TRUE;

  if (!PQpipelineSync (self->conn))
    {
      send_failed (self, &first_error);
      mark_broken (self);
      goto out;
    }

  for (guint i = 0; i < self->pending->len && !self->broken; i++)
    {
      Pending *pending = &g_array_index (self->pending, Pending, i);
      ExecStatusType status;

      res = PQgetResult (self->conn);
      if (res == NULL)
        {
          /* libpq has nothing where a result must be: we lost track of the protocol */
          if (first_error == NULL)
            set_error_from_result (self, NULL, &first_error);
          mark_broken (self);
          break;
        }

      status = PQresultStatus (res);
      if (pending->kind == PENDING_PREPARE && status != PGRES_COMMAND_OK)
        forget_stmt (self, pending->sql, pending->blob_mask);
      if (status == PGRES_FATAL_ERROR)
        {
          if (first_error == NULL)
            set_error_from_result (self, res, &first_error);
          else if (PQstatus (self->conn) == CONNECTION_BAD)
            mark_broken (self);
        }
      if (pending->kind == PENDING_RESULT && result_ok (res) && kept == NULL)
        kept = res;
      else
        PQclear (res);

      /* each queued command's results end with a NULL */
      while (!self->broken && (res = PQgetResult (self->conn)) != NULL)
        {
          if (PQresultStatus (res) == PGRES_FATAL_ERROR && first_error == NULL)
            set_error_from_result (self, res, &first_error);
          PQclear (res);
          if (PQstatus (self->conn) == CONNECTION_BAD)
            mark_broken (self);
        }
    }

  if (!self->broken)
    {
      res = PQgetResult (self->conn);
      if (res == NULL || PQresultStatus (res) != PGRES_PIPELINE_SYNC)
        {
          if (first_error == NULL)
            set_error_from_result (self, res, &first_error);
          mark_broken (self);
        }
      PQclear (res);
    }

  if (!self->broken && !PQexitPipelineMode (self->conn))
    {
      if (first_error == NULL)
        set_error_from_result (self, NULL, &first_error);
      mark_broken (self);
    }

out:
  self->pipelined = FALSE;
  clear_pending (self);
  if (self->broken && first_error == NULL)
    set_broken_error (&first_error);

  if (first_error != NULL)
    {
      PQclear (kept);
      g_propagate_error (error, g_steal_pointer (&first_error));
      return FALSE;
    }

  if (out_res != NULL)
    *out_res = kept;
  else
    PQclear (kept);
  return TRUE;
}

static PgResult *
pg_result_new (PGresult *res)
{
  PgResult *result = g_new0 (PgResult, 1);

  result->parent.klass = &pg_result_class;
  result->parent.n_rows = (guint) MAX (PQntuples (res), 0);
  result->parent.n_cols = (guint) MAX (PQnfields (res), 0);
  result->res = res;
  return result;
}

static VdsResult *
pg_query (VdsDb           *db,
          const char      *sql,
          const VdsParam  *params,
          guint            n_params,
          GError         **error)
{
  VdsDbPg *self = (VdsDbPg *) db;
  PGresult *res = NULL;

  if (self->broken)
    {
      set_broken_error (error);
      return NULL;
    }
  if (!check_params (params, n_params, error))
    return NULL;

  if (self->pipelined)
    {
      /* ride along with the queued writes: one round trip for all of them */
      if (!queue (self, sql, params, n_params, PENDING_RESULT, error))
        return NULL;
      if (!pipeline_sync (self, &res, error))
        return NULL;
      if (res == NULL)
        {
          g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
                       "no result for “%s”", sql);
          return NULL;
        }
    }
  else
    {
      res = run_sync (self, sql, params, n_params, error);
      if (res == NULL)
        return NULL;
    }

  return &pg_result_new (res)->parent;
}

static gboolean
pg_exec (VdsDb           *db,
         const char      *sql,
         const VdsParam  *params,
         guint            n_params,
         GError         **error)
{
  VdsDbPg *self = (VdsDbPg *) db;
  PGresult *res;

  if (self->broken)
    {
      set_broken_error (error);
      return FALSE;
    }
  if (!check_params (params, n_params, error))
    return FALSE;

  /* Only inside a transaction: outside, the statements between two Syncs would form one
   * implicit transaction and an error would take its neighbours down with it. */
  if (db->in_txn)
    return queue (self, sql, params, n_params, PENDING_EXEC, error);

  res = run_sync (self, sql, params, n_params, error);
  if (res == NULL)
    return FALSE;
  PQclear (res);
  return TRUE;
}

/* Runs a parameterless command synchronously (after syncing any pipeline). */
static gboolean
run_simple (VdsDbPg     *self,
            const char  *sql,
            PGresult   **out_res,
            GError     **error)
{
  PGresult *res;

  if (self->broken)
    {
      set_broken_error (error);
      return FALSE;
    }
  if (!pipeline_sync (self, NULL, error))
    return FALSE;

  res = PQexec (self->conn, sql);
  if (!result_ok (res))
    {
      set_error_from_result (self, res, error);
      PQclear (res);
      return FALSE;
    }
  if (out_res != NULL)
    *out_res = res;
  else
    PQclear (res);
  return TRUE;
}

static gboolean
pg_exec_script (VdsDb       *db,
                const char  *sql,
                GError     **error)
{
  return run_simple ((VdsDbPg *) db, sql, NULL, error);
}

static gboolean
pg_begin (VdsDb   *db,
          GError **error)
{
  return run_simple ((VdsDbPg *) db, "BEGIN", NULL, error);
}

static void
pg_rollback (VdsDb *db)
{
  VdsDbPg *self = (VdsDbPg *) db;
  g_autoptr(GError) error = NULL;

  if (self->broken)
    {
      self->pipelined = FALSE;
      clear_pending (self);
      return;
    }

  /* queued statements are discarded with the transaction; their errors do not matter */
  pipeline_sync (self, NULL, NULL);
  if (self->broken || PQtransactionStatus (self->conn) == PQTRANS_IDLE)
    return;

  if (!run_simple (self, "ROLLBACK", NULL, &error))
    g_debug ("ROLLBACK failed: %s", error->message);
}

static gboolean
pg_commit (VdsDb   *db,
           GError **error)
{
  VdsDbPg *self = (VdsDbPg *) db;
  PGresult *res = NULL;
  gboolean ok;

  if (self->broken)
    {
      set_broken_error (error);
      return FALSE;
    }

  if (self->pipelined)
    {
      /* queue COMMIT behind the writes: an error in any of them fails it */
      if (!PQsendQueryParams (self->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
        ok = send_failed (self, error);
      else
        {
          Pending pending = { PENDING_RESULT, 0, NULL };

          g_array_append_val (self->pending, pending);
          ok = pipeline_sync (self, &res, error);
        }
    }
  else
    ok = run_simple (self, "COMMIT", &res, error);

  /* COMMIT of a transaction that already failed answers ROLLBACK, without an error */
  if (ok && (res == NULL || strcmp (PQcmdStatus (res), "COMMIT") != 0))
    {
      g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
                   "the transaction had failed and was rolled back (COMMIT answered “%s”)",
                   res != NULL ? PQcmdStatus (res) : "nothing");
      ok = FALSE;
    }
  PQclear (res);

  /* a COMMIT skipped after an error in the pipeline leaves the transaction open */
  if (!ok)
    pg_rollback (db);
  return ok;
}

static gboolean
pg_is_broken (VdsDb *db)
{
  VdsDbPg *self = (VdsDbPg *) db;

  if (self->broken)
    return TRUE;

  /* Notice a server that went away while we were idle: reading what is there does not
   * block. A server shutting down sends a FATAL message before closing, and libpq sees
   * the EOF only on the read after the one that returned the message: hence two. */
  if (!self->pipelined && PQtransactionStatus (self->conn) != PQTRANS_ACTIVE)
    for (guint i = 0; i < 2 && PQstatus (self->conn) == CONNECTION_OK; i++)
      if (!PQconsumeInput (self->conn))
        break;
  if (PQstatus (self->conn) == CONNECTION_BAD)
    mark_broken (self);
  return self->broken;
}

static void
pg_close (VdsDb *db)
{
  VdsDbPg *self = (VdsDbPg *) db;

  g_clear_pointer (&self->conn, PQfinish);
  g_clear_pointer (&self->stmts, g_hash_table_unref);
  clear_pending (self);
  g_array_unref (self->pending);
  g_free (self->values);
  g_free (self->lengths);
  g_free (self->formats);
  g_free (self->types);
  g_free (self->numbers);
  g_free (self);
}

static void
notice_cb (void       *data,
           const char *message)
{
  g_autofree char *text = g_strchomp (g_strdup (message));

  g_debug ("PostgreSQL: %s", text);
}

VdsDb *
vds_db_pg_open (const char  *uri,
                GError     **error)
{
  /* Later entries override earlier ones, and the URI expands in place of dbname: so the
   * URI can still choose its own application_name or timeout. */
  const char *const keywords[] = {
    "application_name", "connect_timeout", "client_encoding", "dbname", NULL
  };
  const char *const values[] = {
    "vetdesk-syncd", "10", "UTF8", uri, NULL
  };
  VdsDbPg *self;

  self = g_new0 (VdsDbPg, 1);
  self->parent.engine = &pg_engine;
  self->stmts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, free_stmt_chain);
  self->pending = g_array_new (FALSE, FALSE, sizeof (Pending));

  self->conn = PQconnectdbParams (keywords, values, 1);
  if (self->conn == NULL)
    {
      g_set_error_literal (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
                           "libpq could not allocate a connection");
      pg_close (&self->parent);
      return NULL;
    }
  if (PQstatus (self->conn) != CONNECTION_OK)
    {
      g_autofree char *text = g_strchomp (g_strdup (PQerrorMessage (self->conn)));

      g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_UNAVAILABLE,
                   _("Could not connect to PostgreSQL: %s"), text);
      pg_close (&self->parent);
      return NULL;
    }

  PQsetNoticeProcessor (self->conn, notice_cb, NULL);
  return &self->parent;
}

/* ---- The SQL of the PostgreSQL dialect (vds-db.h: where the dialects differ) ------- */

static gboolean
pg_notify (VdsDb       *db,
           const char  *channel,
           const char  *payload,
           GError     **error)
{
  g_autoptr(VdsResult) notified = NULL;
  VdsParam notify_params[2] = { VDS_TEXT (channel), VDS_TEXT (payload) };

  notified = vds_db_query (db, "SELECT pg_notify ($1, $2)", notify_params, 2, error);
  if (notified == NULL)
    return FALSE;
  return TRUE;
}

/* The windows go in as three array literals (staff, low, high). */
static gboolean
pg_find_active_appointments (VdsDb                *db,
                             const char           *tenant_id,
                             const VdsDbWindow    *windows,
                             guint                 n_windows,
                             VdsDbAppointmentFunc  func,
                             gpointer              data,
                             GError              **error)
{
  GString *lists[3];
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[4];

  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    lists[l] = g_string_new ("{");
  for (guint i = 0; i < n_windows; i++)
    {
      const VdsDbWindow *w = &windows[i];
      char low_text[21], high_text[21];
      const char *fields[3] = { w->staff_id, low_text, high_text };

      vd_time_format_utc (w->low, low_text);
      vd_time_format_utc (w->high, high_text);
      /* Canonical uuids and instants only: nothing in them needs quoting. */
      for (guint l = 0; l < 3; l++)
        g_string_append_printf (lists[l], "%s%s", i > 0 ? "," : "", fields[l]);
    }
  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    g_string_append_c (lists[l], '}');

  params[0] = VDS_TEXT (tenant_id);
  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    params[l + 1] = VDS_TEXT (lists[l]->str);
  result = vds_db_query (db,
                         "SELECT a.id::text, a.staff_id::text, "
                         "CAST (EXTRACT (EPOCH FROM a.starts_at) AS BIGINT), "
                         "CAST (EXTRACT (EPOCH FROM a.ends_at) AS BIGINT) "
                         "FROM unnest ($2::uuid[], $3::timestamptz[], $4::timestamptz[]) "
                         "AS x (staff, low, high) "
                         "JOIN appointments a ON a.tenant_id = $1 AND a.staff_id = x.staff "
                         "AND a.starts_at > x.low AND a.starts_at < x.high AND NOT a.deleted "
                         "AND COALESCE (a.status, '') NOT IN " VD_RULES_INACTIVE_STATUSES_SQL " "
                         "AND NOT COALESCE (a.allow_overlap, false) AND a.starts_at < a.ends_at",
                         params, 4, error);
  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    g_string_free (lists[l], TRUE);
  if (result == NULL)
    return FALSE;

  for (guint r = 0; r < vds_result_n_rows (result); r++)
    func (vds_result_get_text (result, r, 0), vds_result_get_text (result, r, 1),
          vds_result_get_int (result, r, 2), vds_result_get_int (result, r, 3), data);
  return TRUE;
}

static const VdsDbEngine pg_engine = {
  .dialect = VDS_DB_POSTGRES,
  .close = pg_close,
  .query = pg_query,
  .exec = pg_exec,
  .exec_script = pg_exec_script,
  .begin = pg_begin,
  .commit = pg_commit,
  .rollback = pg_rollback,
  .is_broken = pg_is_broken,
  .notify = pg_notify,
  .find_active_appointments = pg_find_active_appointments,
};

/* Results: PostgreSQL's text format, converted by the getters. */

static gboolean
pg_result_is_null (VdsResult *result,
                   guint      row,
                   guint      col)
{
  return PQgetisnull (((PgResult *) result)->res, (int) row, (int) col);
}

static const char *
pg_result_get_text (VdsResult *result,
                    guint      row,
                    guint      col)
{
  PGresult *res = ((PgResult *) result)->res;

  if (PQgetisnull (res, (int) row, (int) col))
    return NULL;
  return PQgetvalue (res, (int) row, (int) col);
}

static gint64
pg_result_get_int (VdsResult *result,
                   guint      row,
                   guint      col)
{
  return vds_db_text_to_int (pg_result_get_text (result, row, col));
}

static double
pg_result_get_real (VdsResult *result,
                    guint      row,
                    guint      col)
{
  return vds_db_text_to_real (pg_result_get_text (result, row, col));
}

static gboolean
pg_result_get_bool (VdsResult *result,
                    guint      row,
                    guint      col)
{
  const char *text = pg_result_get_text (result, row, col);

  if (text == NULL)
    return FALSE;
  if (PQftype (((PgResult *) result)->res, (int) col) == BOOLOID)
    return text[0] == 't';
  return vds_db_text_to_bool (text);
}

static const guint8 *
pg_result_get_blob (VdsResult *result,
                    guint      row,
                    guint      col,
                    gsize     *out_len)
{
  PgResult *self = (PgResult *) result;
  gsize i = (gsize) row * result->n_cols + col;
  const char *text;
  size_t len = 0;
  guint8 *bytes;

  *out_len = 0;
  text = pg_result_get_text (result, row, col);
  if (text == NULL)
    return NULL;

  if (PQftype (self->res, (int) col) != BYTEAOID)
    {
      *out_len = (gsize) PQgetlength (self->res, (int) row, (int) col);
      return (const guint8 *) text;
    }

  if (self->blobs == NULL)
    {
      gsize n_cells = (gsize) result->n_rows * result->n_cols;

      self->blobs = g_new0 (guint8 *, n_cells);
      self->blob_lens = g_new0 (gsize, n_cells);
    }
  if (self->blobs[i] == NULL)
    {
      /* understands both bytea_output formats, hex and escape */
      bytes = PQunescapeBytea ((const unsigned char *) text, &len);
      if (bytes == NULL)
        g_error ("out of memory decoding a bytea value");
      self->blobs[i] = bytes;
      self->blob_lens[i] = len;
    }
  *out_len = self->blob_lens[i];
  return self->blobs[i];
}

static void
pg_result_free (VdsResult *result)
{
  PgResult *self = (PgResult *) result;

  if (self->blobs != NULL)
    {
      gsize n_cells = (gsize) result->n_rows * result->n_cols;

      for (gsize i = 0; i < n_cells; i++)
        if (self->blobs[i] != NULL)
          PQfreemem (self->blobs[i]);
      g_free (self->blobs);
      g_free (self->blob_lens);
    }
  PQclear (self->res);
  g_free (self);
}

static const VdsResultClass pg_result_class = {
  .is_null = pg_result_is_null,
  .get_text = pg_result_get_text,
  .get_int = pg_result_get_int,
  .get_real = pg_result_get_real,
  .get_bool = pg_result_get_bool,
  .get_blob = pg_result_get_blob,
  .free = pg_result_free,
};
