/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-store.c — the store's frame: opening and migrating the database, the connection
 * pool and transaction runner, companies, clinics and their people, and monitoring. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-store.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "vd-id.h"
#include "vd-rules.h"
#include "vd-time.h"
#include "vds-store-private.h"

/* A worker waits this long for a free connection before answering "unavailable". */
#define BORROW_TIMEOUT_US (30 * G_USEC_PER_SEC)
#define BORROW_SLICE_US   (100 * 1000)
/* Attempts of a transaction that meets serialization failures or deadlocks. */
#define MAX_ATTEMPTS 5

G_DEFINE_QUARK (vds-store-error-quark, vds_store_error)

/* ---- Errors ------------------------------------------------------------------------ */

gboolean
vds_store_db_error_is (const GError *error,
                       VdsDbError    code)
{
  return error != NULL && g_error_matches (error, VDS_DB_ERROR, (gint) code);
}

void
vds_store_propagate (GError **error,
                     GError  *src)
{
  if (src == NULL)
    return;

  if (src->domain == VDS_STORE_ERROR)
    {
      g_propagate_error (error, src);
      return;
    }

  if (vds_store_db_error_is (src, VDS_DB_ERROR_UNAVAILABLE))
    g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_UNAVAILABLE,
                 _("The database is unavailable: %s"), src->message);
  else
    g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
                 _("The database failed: %s"), src->message);
  g_error_free (src);
}

/* ---- Pool -------------------------------------------------------------------------- */

static void
drop_connection (VdsStore *self,
                 VdsDb    *db)
{
  vds_db_close (db);
  g_mutex_lock (&self->pool_lock);
  self->n_open--;
  g_mutex_unlock (&self->pool_lock);
}

/* A connection for this thread: an idle one, a new one while the pool has room, or the
 * next one given back. *out_fresh: it was opened just now. */
static VdsDb *
borrow (VdsStore  *self,
        gboolean  *out_fresh,
        GError   **error)
{
  gint64 deadline = g_get_monotonic_time () + BORROW_TIMEOUT_US;

  for (;;)
    {
      VdsDb *db = g_async_queue_try_pop (self->idle);
      gboolean may_open = FALSE;

      if (db == NULL)
        {
          g_mutex_lock (&self->pool_lock);
          if (self->n_open < self->pool_size)
            {
              self->n_open++;
              may_open = TRUE;
            }
          g_mutex_unlock (&self->pool_lock);
        }

      if (may_open)
        {
          GError *local = NULL;

          db = vds_db_open (self->uri, &local);
          if (db == NULL)
            {
              g_mutex_lock (&self->pool_lock);
              self->n_open--;
              g_mutex_unlock (&self->pool_lock);
              vds_store_propagate (error, local);
              return NULL;
            }
          *out_fresh = TRUE;
          return db;
        }

      /* Waits in slices: a connection dropped by another thread frees room without
       * anything being pushed onto the queue. */
      if (db == NULL)
        {
          if (g_get_monotonic_time () >= deadline)
            {
              g_set_error_literal (error, VDS_STORE_ERROR, VDS_STORE_ERROR_UNAVAILABLE,
                                   _("Every database connection is busy: try again shortly."));
              return NULL;
            }
          db = g_async_queue_timeout_pop (self->idle, BORROW_SLICE_US);
          if (db == NULL)
            continue;
        }

      if (vds_db_is_broken (db))
        {
          drop_connection (self, db);
          continue;
        }

      *out_fresh = FALSE;
      return db;
    }
}

static void
give_back (VdsStore *self,
           VdsDb    *db)
{
  if (vds_db_is_broken (db))
    drop_connection (self, db);
  else
    g_async_queue_push (self->idle, db);
}

typedef enum
{
  PHASE_BEGIN,
  PHASE_BODY,
  PHASE_COMMIT,
} Phase;

static gboolean
run_once (VdsStore    *self,
          VdsDb       *db,
          VdsTxnFlags  flags,
          VdsTxnFunc   func,
          gpointer     data,
          Phase       *out_phase,
          GError     **error)
{
  gboolean txn = (flags & (VDS_TXN_WRITE | VDS_TXN_SNAPSHOT)) != 0;

  *out_phase = PHASE_BEGIN;
  /* VdsDb's SQLite begin is IMMEDIATE (the write lock); a pull only needs a WAL read
   * snapshot, which a deferred BEGIN gives without waiting for writers. */
  if ((flags & VDS_TXN_SNAPSHOT) && self->dialect == VDS_DB_SQLITE)
    {
      if (!vds_db_exec (db, "BEGIN DEFERRED", NULL, 0, error))
        return FALSE;
    }
  else if (txn)
    {
      if (!vds_db_begin (db, error))
        {
          vds_db_rollback (db);
          return FALSE;
        }
      /* A pull reads every table in one snapshot, so a push committing between two of
       * its statements cannot make it skip seqs. SQLite's transaction is one already. */
      if ((flags & VDS_TXN_SNAPSHOT) && self->dialect == VDS_DB_POSTGRES &&
          !vds_db_exec (db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                        NULL, 0, error))
        {
          vds_db_rollback (db);
          return FALSE;
        }
    }

  *out_phase = PHASE_BODY;
  if (!func (self, db, data, error))
    {
      if (txn)
        vds_db_rollback (db);
      return FALSE;
    }

  *out_phase = PHASE_COMMIT;
  if ((flags & VDS_TXN_SNAPSHOT) && self->dialect == VDS_DB_SQLITE)
    {
      if (!vds_db_exec (db, "COMMIT", NULL, 0, error))
        {
          vds_db_rollback (db);
          return FALSE;
        }
    }
  else if (txn && !vds_db_commit (db, error))
    {
      vds_db_rollback (db);
      return FALSE;
    }

  return TRUE;
}

gboolean
vds_store_run (VdsStore    *self,
               VdsTxnFlags  flags,
               VdsTxnFunc   func,
               gpointer     data,
               GError     **error)
{
  gboolean retried_connection = FALSE;

  for (guint attempt = 1; ; attempt++)
    {
      GError *local = NULL;
      gboolean fresh = FALSE;
      gboolean lost;
      Phase phase;
      VdsDb *db;
      gboolean ok;

      db = borrow (self, &fresh, error);
      if (db == NULL)
        return FALSE;

      ok = run_once (self, db, flags, func, data, &phase, &local);
      lost = !ok && (vds_db_is_broken (db) ||
                     vds_store_db_error_is (local, VDS_DB_ERROR_UNAVAILABLE));
      give_back (self, db);
      if (ok)
        return TRUE;

      /* A pooled connection that died while idle (PostgreSQL restarted) fails at its
       * first statement; nothing was done yet, so one more try on a new one is safe. */
      if (lost && !fresh && !retried_connection &&
          (phase == PHASE_BEGIN || (flags & (VDS_TXN_WRITE | VDS_TXN_SNAPSHOT)) == 0))
        {
          retried_connection = TRUE;
          g_clear_error (&local);
          continue;
        }

      if (vds_store_db_error_is (local, VDS_DB_ERROR_BUSY) && attempt < MAX_ATTEMPTS)
        {
          g_debug ("Transaction retried after: %s", local->message);
          g_clear_error (&local);
          /* A little random backoff so two colliding writers do not collide again. */
          g_usleep (g_random_int_range (1, 5 * (gint) attempt) * 1000);
          continue;
        }

      vds_store_propagate (error, local);
      return FALSE;
    }
}

/* ---- Clock ------------------------------------------------------------------------- */

gint64
vds_store_wall_ms (VdsStore *self)
{
  if (self->wall != NULL)
    return self->wall (self->wall_data);
  return g_get_real_time () / 1000;
}

void
vds_store_clock_observe (VdsStore *self,
                         VdHlc     hlc)
{
  g_mutex_lock (&self->clock_lock);
  /* No drift limit here: the caller has already refused changes too far ahead. */
  vd_hlc_clock_update (self->clock, hlc, 0, NULL);
  g_mutex_unlock (&self->clock_lock);
}

VdHlc
vds_store_clock_tick (VdsStore *self)
{
  VdHlc hlc;

  g_mutex_lock (&self->clock_lock);
  hlc = vd_hlc_clock_tick (self->clock);
  g_mutex_unlock (&self->clock_lock);
  return hlc;
}

VdHlc
vds_store_server_hlc (VdsStore *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return vds_store_clock_tick (self);
}

void
vds_store_set_wall_clock (VdsStore      *self,
                          VdHlcWallFunc  wall,
                          gpointer       data)
{
  VdHlc last;

  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->clock_lock);
  last = vd_hlc_clock_last (self->clock);
  vd_hlc_clock_free (self->clock);
  self->wall = wall;
  self->wall_data = data;
  self->clock = vd_hlc_clock_new (last, wall, data);
  g_mutex_unlock (&self->clock_lock);
}

/* ---- Generated SQL ----------------------------------------------------------------- */

char *
vds_store_in_list (VdsStore   *self,
                   const char *column,
                   guint       param)
{
  if (self->dialect == VDS_DB_POSTGRES)
    return g_strdup_printf ("%s = ANY ($%u::uuid[])", column, param);
  return g_strdup_printf ("%s IN (SELECT value FROM json_each ($%u))", column, param);
}

char *
vds_store_id_list (VdsStore           *self,
                   const char * const *ids,
                   guint               n_ids)
{
  gboolean pg = self->dialect == VDS_DB_POSTGRES;
  GString *out = g_string_sized_new (2 + n_ids * (VD_UUID_LEN + 3));

  g_string_append_c (out, pg ? '{' : '[');
  for (guint i = 0; i < n_ids; i++)
    {
      g_assert (vd_uuid_is_valid (ids[i]));
      if (i > 0)
        g_string_append_c (out, ',');
      if (pg)
        g_string_append (out, ids[i]);
      else
        g_string_append_printf (out, "\"%s\"", ids[i]);
    }
  g_string_append_c (out, pg ? '}' : ']');
  return g_string_free (out, FALSE);
}

const VdsTableSql *
vds_store_table_sql (VdsStore      *self,
                     const VdTable *table)
{
  g_assert (table != NULL && table->index < self->n_tables);
  return &self->tables[table->index];
}

static char *
select_list (const VdTable *table,
             VdsDbDialect   dialect)
{
  GString *sql = g_string_new (dialect == VDS_DB_POSTGRES ? "id::text" : "id");

  for (guint c = 0; c < table->n_columns; c++)
    {
      const VdColumn *column = &table->columns[c];

      g_string_append (sql, ", ");
      if (dialect != VDS_DB_POSTGRES)
        {
          g_string_append (sql, column->name);
          continue;
        }

      /* The protocol's spellings, whatever DateStyle and TimeZone the session has. */
      switch (column->type)
        {
        case VD_TYPE_DATE:
          g_string_append_printf (sql, "to_char (%s, 'YYYY-MM-DD')", column->name);
          break;
        case VD_TYPE_TIMESTAMP:
          g_string_append_printf (sql,
                                  "to_char (%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                                  column->name);
          break;
        case VD_TYPE_UUID:
          g_string_append_printf (sql, "%s::text", column->name);
          break;
        case VD_TYPE_TEXT:
        case VD_TYPE_INTEGER:
        case VD_TYPE_REAL:
        case VD_TYPE_BOOLEAN:
        case VD_TYPE_ENUM:
        default:
          g_string_append (sql, column->name);
          break;
        }
    }
  g_string_append (sql, ", _seq, _clocks");
  return g_string_free (sql, FALSE);
}

/* INSERT … VALUES of n_rows rows … ON CONFLICT (tenant_id, id) DO UPDATE. The clocks are
 * cast to the blob type: past the 64th parameter VdsDb does not type blobs itself. */
static char *
upsert_sql (const VdTable *table,
            VdsDbDialect   dialect,
            guint          n_rows)
{
  GString *sql = g_string_new (NULL);
  guint per_row = table->n_columns + 4;
  guint param = 1;

  g_string_append_printf (sql, "INSERT INTO %s (tenant_id, id", table->name);
  for (guint c = 0; c < table->n_columns; c++)
    g_string_append_printf (sql, ", %s", table->columns[c].name);
  g_string_append (sql, ", _seq, _clocks) VALUES ");
  for (guint r = 0; r < n_rows; r++)
    {
      g_string_append (sql, r > 0 ? ", (" : "(");
      for (guint i = 0; i < per_row; i++)
        {
          if (i == per_row - 1 && n_rows > 1)
            g_string_append_printf (sql, ", CAST ($%u AS %s)", param++,
                                    dialect == VDS_DB_POSTGRES ? "bytea" : "BLOB");
          else
            g_string_append_printf (sql, "%s$%u", i > 0 ? ", " : "", param++);
        }
      g_string_append_c (sql, ')');
    }
  g_string_append (sql, " ON CONFLICT (tenant_id, id) DO UPDATE SET ");
  for (guint c = 0; c < table->n_columns; c++)
    g_string_append_printf (sql, "%s = excluded.%s, ", table->columns[c].name,
                            table->columns[c].name);
  g_string_append (sql, "_seq = excluded._seq, _clocks = excluded._clocks");
  return g_string_free (sql, FALSE);
}

static void
prepare_table_sql (VdsStore *self)
{
  const VdTable *tables = vd_schema_tables (&self->n_tables);

  self->tables = g_new0 (VdsTableSql, self->n_tables);
  for (guint t = 0; t < self->n_tables; t++)
    {
      VdsTableSql *ts = &self->tables[t];

      ts->table = &tables[t];
      ts->select_list = select_list (ts->table, self->dialect);
      ts->upsert = upsert_sql (ts->table, self->dialect, 1);
      for (guint b = 0; b < VDS_UPSERT_BUCKETS; b++)
        ts->upsert_rows[b] = b == 0 ? g_strdup (ts->upsert)
                                    : upsert_sql (ts->table, self->dialect, 1u << b);
      ts->since = g_strdup_printf ("SELECT %s FROM %s WHERE tenant_id = $1 AND _seq > $2 "
                                   "ORDER BY _seq LIMIT $3",
                                   ts->select_list, ts->table->name);
    }
}

/* ---- Open and close ---------------------------------------------------------------- */

VdsStore *
vds_store_open (const char  *uri,
                guint        pool_size,
                GError     **error)
{
  VdsStore *self;
  GError *local = NULL;
  VdsDb *db;
  guint version = 0;

  g_return_val_if_fail (uri != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  db = vds_db_open (uri, &local);
  if (db == NULL)
    {
      vds_store_propagate (error, local);
      return NULL;
    }

  if (!vds_migrations_apply (db, &version, &local))
    {
      vds_db_close (db);
      vds_store_propagate (error, local);
      return NULL;
    }

  self = g_new0 (VdsStore, 1);
  self->uri = g_strdup (uri);
  self->dialect = vds_db_get_dialect (db);
  self->pool_size = MAX (pool_size, 1);
  self->schema_version = version;
  self->idle = g_async_queue_new ();
  g_mutex_init (&self->pool_lock);
  g_mutex_init (&self->clock_lock);
  /* Server writes only stamp conflicts, and each such write first observes the clocks it
   * replaces, so a clock that restarts from the wall time cannot lose to its past. */
  self->clock = vd_hlc_clock_new (0, NULL, NULL);
  prepare_table_sql (self);

  self->offline_after = 30 * 60;
  self->pull_cache = vds_pull_cache_new (64 * 1024 * 1024);

  self->n_open = 1;
  g_async_queue_push (self->idle, db);
  return self;
}

void
vds_store_free (VdsStore *self)
{
  VdsDb *db;

  if (self == NULL)
    return;

  /* Every borrowed connection must have come back: the store outlives its callers. */
  while ((db = g_async_queue_try_pop (self->idle)) != NULL)
    {
      vds_db_close (db);
      self->n_open--;
    }
  if (self->n_open != 0)
    g_critical ("vds_store_free: %u connections are still borrowed", self->n_open);

  for (guint t = 0; t < self->n_tables; t++)
    {
      g_free (self->tables[t].select_list);
      g_free (self->tables[t].upsert);
      for (guint b = 0; b < VDS_UPSERT_BUCKETS; b++)
        g_free (self->tables[t].upsert_rows[b]);
      g_free (self->tables[t].since);
    }
  g_free (self->tables);
  g_async_queue_unref (self->idle);
  vd_hlc_clock_free (self->clock);
  g_mutex_clear (&self->pool_lock);
  g_mutex_clear (&self->clock_lock);
  vds_pull_cache_free (self->pull_cache);
  g_free (self->uri);
  g_free (self);
}

guint
vds_store_get_schema_version (VdsStore *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->schema_version;
}

gboolean
vds_store_is_postgres (VdsStore *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->dialect == VDS_DB_POSTGRES;
}

/* ---- Validation -------------------------------------------------------------------- */

static const char * const platform_roles[] = { "none", "company_admin", "platform_admin", NULL };

static gboolean
valid_slug (const char *slug)
{
  gsize len = slug != NULL ? strlen (slug) : 0;

  if (len < 1 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_islower (slug[i]) && !g_ascii_isdigit (slug[i]) && slug[i] != '-')
      return FALSE;
  return TRUE;
}

static gboolean
valid_currency (const char *currency)
{
  if (currency == NULL || strlen (currency) != 3)
    return FALSE;
  for (guint i = 0; i < 3; i++)
    if (!g_ascii_isupper (currency[i]))
      return FALSE;
  return TRUE;
}

static gboolean
valid_name (const char *name,
            guint       max_chars)
{
  g_autofree char *stripped = NULL;

  if (name == NULL || !g_utf8_validate (name, -1, NULL))
    return FALSE;
  stripped = g_strstrip (g_strdup (name));
  return stripped[0] != '\0' && g_utf8_strlen (name, -1) <= (glong) max_chars;
}

static gboolean
invalid (GError    **error,
         const char *message)
{
  g_set_error_literal (error, VDS_STORE_ERROR, VDS_STORE_ERROR_INVALID, message);
  return FALSE;
}

/* ---- Small statements -------------------------------------------------------------- */

typedef struct
{
  const char     *sql;
  const VdsParam *params;
  guint           n_params;
  VdsResult      *result;       /* out */
  gboolean        exists_on_constraint;
  const char     *exists_message;
} Statement;

static gboolean
statement_txn (VdsStore *self,
               VdsDb    *db,
               gpointer  data,
               GError  **error)
{
  Statement *st = data;
  GError *local = NULL;

  g_clear_pointer (&st->result, vds_result_free);
  st->result = vds_db_query (db, st->sql, st->params, st->n_params, &local);
  if (st->result != NULL)
    return TRUE;

  if (st->exists_on_constraint && vds_store_db_error_is (local, VDS_DB_ERROR_CONSTRAINT))
    {
      g_error_free (local);
      g_set_error_literal (error, VDS_STORE_ERROR, VDS_STORE_ERROR_EXISTS, st->exists_message);
      return FALSE;
    }
  g_propagate_error (error, local);
  return FALSE;
}

/* One statement on a pooled connection; its rows, or NULL with error. */
static VdsResult *
query (VdsStore       *self,
       const char     *sql,
       const VdsParam *params,
       guint           n_params,
       GError        **error)
{
  Statement st = { sql, params, n_params, NULL, FALSE, NULL };

  if (!vds_store_run (self, VDS_TXN_NONE, statement_txn, &st, error))
    return NULL;
  return st.result;
}

/* An insert into a table with unique keys: a violation is "exists" with that message. */
static gboolean
insert_unique (VdsStore       *self,
               const char     *sql,
               const VdsParam *params,
               guint           n_params,
               const char     *exists_message,
               GError        **error)
{
  Statement st = { sql, params, n_params, NULL, TRUE, exists_message };

  if (!vds_store_run (self, VDS_TXN_NONE, statement_txn, &st, error))
    return FALSE;
  vds_result_free (st.result);
  return TRUE;
}

static gint64
now_seconds (VdsStore *self)
{
  return vds_store_wall_ms (self) / 1000;
}

/* Whether a row with that id exists; FALSE with error on failure. PostgreSQL would fail
 * on a malformed uuid, so such an id simply does not exist. */
static gboolean
id_exists (VdsStore   *self,
           const char *table,
           const char *id,
           gboolean   *out_exists,
           GError    **error)
{
  g_autofree char *sql = NULL;
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[1];

  *out_exists = FALSE;
  if (id == NULL || !vd_uuid_is_valid (id))
    return TRUE;

  sql = g_strdup_printf ("SELECT 1 FROM %s WHERE id = $1", table);
  params[0] = VDS_TEXT (id);
  result = query (self, sql, params, 1, error);
  if (result == NULL)
    return FALSE;
  *out_exists = vds_result_n_rows (result) > 0;
  return TRUE;
}

typedef enum
{
  REQUIRE_USER,
  REQUIRE_TENANT,
  REQUIRE_COMPANY,
} Require;

/* FALSE with NOT_FOUND naming the id when the user, clinic or company does not exist. */
static gboolean
require_row (VdsStore   *self,
             Require     what,
             const char *id,
             GError    **error)
{
  static const char * const tables[] = { "users", "tenants", "companies" };
  gboolean exists = FALSE;

  if (!id_exists (self, tables[what], id, &exists, error))
    return FALSE;
  if (exists)
    return TRUE;

  if (id == NULL)
    id = "";
  switch (what)
    {
    case REQUIRE_USER:
      g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
                   _("There is no user with the id “%s”."), id);
      break;
    case REQUIRE_TENANT:
      g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
                   _("There is no clinic with the id “%s”."), id);
      break;
    case REQUIRE_COMPANY:
    default:
      g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
                   _("There is no company with the id “%s”."), id);
      break;
    }
  return FALSE;
}

/* ---- Companies, clinics, people ---------------------------------------------------- */

gboolean
vds_store_add_company (VdsStore    *self,
                       const char  *name,
                       char       **out_id,
                       GError     **error)
{
  g_autofree char *id = vd_uuid_new ();
  VdsParam params[3];

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!valid_name (name, 200))
    return invalid (error, _("The company name must not be empty and must have at most 200 characters."));

  params[0] = VDS_TEXT (id);
  params[1] = VDS_TEXT (name);
  params[2] = VDS_INT (now_seconds (self));
  if (!insert_unique (self, "INSERT INTO companies (id, name, created_at) VALUES ($1, $2, $3)",
                      params, 3, _("A company with that name already exists."), error))
    return FALSE;

  if (out_id != NULL)
    *out_id = g_steal_pointer (&id);
  return TRUE;
}

gboolean
vds_store_add_tenant (VdsStore    *self,
                      const char  *slug,
                      const char  *name,
                      const char  *timezone,
                      const char  *currency,
                      const char  *company_id,
                      char       **out_id,
                      GError     **error)
{
  g_autofree char *id = vd_uuid_new ();
  g_autoptr(GTimeZone) zone = NULL;
  g_autoptr(GError) zone_error = NULL;
  VdsParam params[7];

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!valid_slug (slug))
    return invalid (error, _("The clinic's short name (slug) must be 1 to 64 characters of lowercase letters, digits and “-”."));
  if (!valid_name (name, 200))
    return invalid (error, _("The clinic name must not be empty and must have at most 200 characters."));
  zone = vd_time_zone_new (timezone, &zone_error);
  if (zone == NULL)
    return invalid (error, zone_error->message);
  if (!valid_currency (currency))
    return invalid (error, _("The currency must be a three-letter ISO 4217 code in capitals, such as EUR or MXN."));

  if (company_id != NULL && !require_row (self, REQUIRE_COMPANY, company_id, error))
    return FALSE;

  params[0] = VDS_TEXT (id);
  params[1] = VDS_TEXT (slug);
  params[2] = VDS_TEXT (name);
  params[3] = VDS_TEXT (timezone);
  params[4] = VDS_TEXT (currency);
  params[5] = VDS_TEXT (company_id);
  params[6] = VDS_INT (now_seconds (self));
  if (!insert_unique (self,
                      "INSERT INTO tenants (id, slug, name, timezone, currency, company_id, created_at) "
                      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                      params, 7, _("A clinic with that short name (slug) already exists."), error))
    return FALSE;

  if (out_id != NULL)
    *out_id = g_steal_pointer (&id);
  return TRUE;
}

gboolean
vds_store_add_user (VdsStore    *self,
                    const char  *username,
                    const char  *display_name,
                    const char  *password_hash,
                    const char  *platform_role,
                    char       **out_id,
                    GError     **error)
{
  g_autofree char *id = vd_uuid_new ();
  VdsParam params[6];

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!valid_name (username, 100))
    return invalid (error, _("The username must not be empty and must have at most 100 characters."));
  if (!valid_name (display_name, 200))
    return invalid (error, _("The display name must not be empty and must have at most 200 characters."));
  if (password_hash == NULL || password_hash[0] == '\0')
    return invalid (error, _("The user needs a password."));
  if (platform_role == NULL || !g_strv_contains (platform_roles, platform_role))
    return invalid (error, _("The platform role must be one of: none, company_admin, platform_admin."));

  params[0] = VDS_TEXT (id);
  params[1] = VDS_TEXT (username);
  params[2] = VDS_TEXT (display_name);
  params[3] = VDS_TEXT (password_hash);
  params[4] = VDS_TEXT (platform_role);
  params[5] = VDS_INT (now_seconds (self));
  if (!insert_unique (self,
                      "INSERT INTO users (id, username, display_name, password_hash, platform_role, "
                      "failed_logins, locked_until, created_at) VALUES ($1, $2, $3, $4, $5, 0, 0, $6)",
                      params, 6, _("A user with that username already exists."), error))
    return FALSE;

  if (out_id != NULL)
    *out_id = g_steal_pointer (&id);
  return TRUE;
}

gboolean
vds_store_clinic_role_is_valid (const char *role)
{
  return role != NULL && g_strv_contains (vd_rules_clinic_roles (), role);
}

typedef struct
{
  const char        *id;
  const char        *username;
  const char        *display_name;
  const char        *password_hash;
  const char        *platform_role;
  gint64             now;
  const char * const *tenant_ids;
  const char * const *roles;
  const char * const *company_ids;
} AddAccount;

/* One insert of add_account_txn: a unique key violated is "exists" with that message. */
static gboolean
insert_in_txn (VdsDb          *db,
               const char     *sql,
               const VdsParam *params,
               guint           n_params,
               const char     *exists_message,
               GError        **error)
{
  GError *local = NULL;

  if (vds_db_exec (db, sql, params, n_params, &local))
    return TRUE;
  if (vds_store_db_error_is (local, VDS_DB_ERROR_CONSTRAINT))
    {
      g_error_free (local);
      g_set_error_literal (error, VDS_STORE_ERROR, VDS_STORE_ERROR_EXISTS, exists_message);
      return FALSE;
    }
  g_propagate_error (error, local);
  return FALSE;
}

static gboolean
add_account_txn (VdsStore *self,
                 VdsDb    *db,
                 gpointer  data,
                 GError  **error)
{
  AddAccount *aa = data;
  VdsParam params[6];

  params[0] = VDS_TEXT (aa->id);
  params[1] = VDS_TEXT (aa->username);
  params[2] = VDS_TEXT (aa->display_name);
  params[3] = VDS_TEXT (aa->password_hash);
  params[4] = VDS_TEXT (aa->platform_role);
  params[5] = VDS_INT (aa->now);
  if (!insert_in_txn (db,
                      "INSERT INTO users (id, username, display_name, password_hash, platform_role, "
                      "failed_logins, locked_until, created_at) VALUES ($1, $2, $3, $4, $5, 0, 0, $6)",
                      params, 6, _("A user with that username already exists."), error))
    return FALSE;
  for (guint i = 0; aa->tenant_ids != NULL && aa->tenant_ids[i] != NULL; i++)
    {
      params[1] = VDS_TEXT (aa->tenant_ids[i]);
      params[2] = VDS_TEXT (aa->roles[i]);
      if (!insert_in_txn (db, "INSERT INTO memberships (user_id, tenant_id, role) VALUES ($1, $2, $3)",
                          params, 3, _("The user is already a member of that clinic."), error))
        return FALSE;
    }
  for (guint i = 0; aa->company_ids != NULL && aa->company_ids[i] != NULL; i++)
    {
      params[1] = VDS_TEXT (aa->company_ids[i]);
      if (!insert_in_txn (db, "INSERT INTO company_admins (user_id, company_id) VALUES ($1, $2)",
                          params, 2, _("The user already administers that company."), error))
        return FALSE;
    }
  return TRUE;
}

gboolean
vds_store_add_account (VdsStore           *self,
                       const char         *username,
                       const char         *display_name,
                       const char         *password_hash,
                       const char         *platform_role,
                       const char * const *tenant_ids,
                       const char * const *roles,
                       const char * const *company_ids,
                       char              **out_id,
                       GError            **error)
{
  g_autofree char *id = vd_uuid_new ();
  AddAccount aa = { id, username, display_name, password_hash, platform_role, 0,
                    tenant_ids, roles, company_ids };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Everything is checked before anything is written, and it is written in one
   * transaction: a refused part leaves no user behind. */
  if (!valid_name (username, 100))
    return invalid (error, _("The username must not be empty and must have at most 100 characters."));
  if (!valid_name (display_name, 200))
    return invalid (error, _("The display name must not be empty and must have at most 200 characters."));
  if (password_hash == NULL || password_hash[0] == '\0')
    return invalid (error, _("The user needs a password."));
  if (platform_role == NULL || !g_strv_contains (platform_roles, platform_role))
    return invalid (error, _("The platform role must be one of: none, company_admin, platform_admin."));
  for (guint i = 0; tenant_ids != NULL && tenant_ids[i] != NULL; i++)
    {
      if (!vds_store_clinic_role_is_valid (roles[i]))
        return invalid (error, _("The clinic role must be one of: front_desk, veterinarian, technician, groomer, clinic_admin."));
      if (!require_row (self, REQUIRE_TENANT, tenant_ids[i], error))
        return FALSE;
    }
  for (guint i = 0; company_ids != NULL && company_ids[i] != NULL; i++)
    if (!require_row (self, REQUIRE_COMPANY, company_ids[i], error))
      return FALSE;

  aa.now = now_seconds (self);
  if (!vds_store_run (self, VDS_TXN_WRITE, add_account_txn, &aa, error))
    return FALSE;
  if (out_id != NULL)
    *out_id = g_steal_pointer (&id);
  return TRUE;
}

gboolean
vds_store_add_membership (VdsStore   *self,
                          const char *user_id,
                          const char *tenant_id,
                          const char *role,
                          GError    **error)
{
  VdsParam params[3];

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (role == NULL || !g_strv_contains (vd_rules_clinic_roles (), role))
    return invalid (error, _("The clinic role must be one of: front_desk, veterinarian, technician, groomer, clinic_admin."));
  if (!require_row (self, REQUIRE_USER, user_id, error) ||
      !require_row (self, REQUIRE_TENANT, tenant_id, error))
    return FALSE;

  params[0] = VDS_TEXT (user_id);
  params[1] = VDS_TEXT (tenant_id);
  params[2] = VDS_TEXT (role);
  return insert_unique (self, "INSERT INTO memberships (user_id, tenant_id, role) VALUES ($1, $2, $3)",
                        params, 3, _("The user is already a member of that clinic."), error);
}

gboolean
vds_store_add_company_admin (VdsStore   *self,
                             const char *user_id,
                             const char *company_id,
                             GError    **error)
{
  VdsParam params[2];

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!require_row (self, REQUIRE_USER, user_id, error) ||
      !require_row (self, REQUIRE_COMPANY, company_id, error))
    return FALSE;

  params[0] = VDS_TEXT (user_id);
  params[1] = VDS_TEXT (company_id);
  return insert_unique (self, "INSERT INTO company_admins (user_id, company_id) VALUES ($1, $2)",
                        params, 2, _("The user already administers that company."), error);
}

/* The id of the row whose id or key column matches; NULL without error when none. */
static char *
find_id (VdsStore   *self,
         const char *table,
         const char *key_column,
         const char *key_or_id,
         GError    **error)
{
  g_autoptr(VdsResult) result = NULL;
  g_autofree char *sql = NULL;
  VdsParam params[1];

  if (key_or_id == NULL)
    return NULL;

  if (vd_uuid_is_valid (key_or_id))
    {
      gboolean exists = FALSE;

      if (!id_exists (self, table, key_or_id, &exists, error))
        return NULL;
      if (exists)
        return g_strdup (key_or_id);
    }

  sql = g_strdup_printf ("SELECT id FROM %s WHERE %s = $1", table, key_column);
  params[0] = VDS_TEXT (key_or_id);
  result = query (self, sql, params, 1, error);
  if (result == NULL || vds_result_n_rows (result) == 0)
    return NULL;
  return g_strdup (vds_result_get_text (result, 0, 0));
}

char *
vds_store_find_company_id (VdsStore   *self,
                           const char *name_or_id,
                           GError    **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return find_id (self, "companies", "name", name_or_id, error);
}

char *
vds_store_find_tenant_id (VdsStore   *self,
                          const char *slug_or_id,
                          GError    **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return find_id (self, "tenants", "slug", slug_or_id, error);
}

void
vds_tenant_free (VdsTenant *tenant)
{
  if (tenant == NULL)
    return;

  g_free (tenant->id);
  g_free (tenant->slug);
  g_free (tenant->name);
  g_free (tenant->timezone);
  g_free (tenant->currency);
  g_free (tenant->company_id);
  g_free (tenant->role);
  g_free (tenant);
}

#define TENANT_COLUMNS "t.id, t.slug, t.name, t.timezone, t.currency, t.company_id"

static VdsTenant *
tenant_from_result (VdsResult *result,
                    guint      row,
                    gboolean   with_role)
{
  VdsTenant *tenant = g_new0 (VdsTenant, 1);

  tenant->id = g_strdup (vds_result_get_text (result, row, 0));
  tenant->slug = g_strdup (vds_result_get_text (result, row, 1));
  tenant->name = g_strdup (vds_result_get_text (result, row, 2));
  tenant->timezone = g_strdup (vds_result_get_text (result, row, 3));
  tenant->currency = g_strdup (vds_result_get_text (result, row, 4));
  tenant->company_id = g_strdup (vds_result_get_text (result, row, 5));
  if (with_role)
    tenant->role = g_strdup (vds_result_get_text (result, row, 6));
  return tenant;
}

GPtrArray *
vds_store_user_tenants (VdsStore   *self,
                        const char *user_id,
                        GError    **error)
{
  g_autoptr(VdsResult) result = NULL;
  GPtrArray *tenants;
  VdsParam params[1];

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  tenants = g_ptr_array_new_with_free_func ((GDestroyNotify) vds_tenant_free);
  if (user_id == NULL || !vd_uuid_is_valid (user_id))
    return tenants;

  params[0] = VDS_TEXT (user_id);
  result = query (self,
                  "SELECT " TENANT_COLUMNS ", m.role FROM memberships m "
                  "JOIN tenants t ON t.id = m.tenant_id WHERE m.user_id = $1 ORDER BY t.name, t.id",
                  params, 1, error);
  if (result == NULL)
    {
      g_ptr_array_unref (tenants);
      return NULL;
    }

  for (guint r = 0; r < vds_result_n_rows (result); r++)
    g_ptr_array_add (tenants, tenant_from_result (result, r, TRUE));
  return tenants;
}

char *
vds_store_get_membership (VdsStore   *self,
                          const char *user_id,
                          const char *tenant_id,
                          GError    **error)
{
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[2];

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (user_id == NULL || tenant_id == NULL ||
      !vd_uuid_is_valid (user_id) || !vd_uuid_is_valid (tenant_id))
    return NULL;

  params[0] = VDS_TEXT (user_id);
  params[1] = VDS_TEXT (tenant_id);
  result = query (self, "SELECT role FROM memberships WHERE user_id = $1 AND tenant_id = $2",
                  params, 2, error);
  if (result == NULL || vds_result_n_rows (result) == 0)
    return NULL;
  return g_strdup (vds_result_get_text (result, 0, 0));
}

GStrv
vds_store_admin_company_ids (VdsStore   *self,
                             const char *user_id,
                             GError    **error)
{
  g_autoptr(VdsResult) result = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  VdsParam params[1];

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (user_id != NULL && vd_uuid_is_valid (user_id))
    {
      params[0] = VDS_TEXT (user_id);
      result = query (self,
                      "SELECT company_id FROM company_admins WHERE user_id = $1 ORDER BY company_id",
                      params, 1, error);
      if (result == NULL)
        return NULL;
      for (guint r = 0; r < vds_result_n_rows (result); r++)
        g_strv_builder_add (builder, vds_result_get_text (result, r, 0));
    }
  return g_strv_builder_end (builder);
}

VdsTenant *
vds_store_get_tenant (VdsStore   *self,
                      const char *tenant_id,
                      GError    **error)
{
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[1];

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (tenant_id != NULL && vd_uuid_is_valid (tenant_id))
    {
      params[0] = VDS_TEXT (tenant_id);
      result = query (self, "SELECT " TENANT_COLUMNS " FROM tenants t WHERE t.id = $1",
                      params, 1, error);
      if (result == NULL)
        return NULL;
      if (vds_result_n_rows (result) > 0)
        return tenant_from_result (result, 0, FALSE);
    }

  g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
               _("There is no clinic with the id “%s”."), tenant_id != NULL ? tenant_id : "");
  return NULL;
}
