/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-store.c — the desk's replica of one clinic: the cell store plus the local tables
 * (meta, outbox) that make every user action, every pulled page and every push answer
 * one SQLite transaction. */
#define G_LOG_DOMAIN "vdclient"

#include "config.h"

#include <inttypes.h>

#include "vd-store.h"
#include "vd-search.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "vd-error.h"
#include "vd-id.h"
#include "vd-protocol.h"
#include "vd-rules.h"
#include "vd-time.h"

/* Checkpoints. A checkpoint copies the WAL into the database file and syncs it; run by
 * SQLite inside a user's COMMIT (its automatic checkpoint) it made one save in a hundred
 * take 5–14 ms more. So no connection checkpoints on commit: the store's checkpoint
 * thread does it on the worker connection, PASSIVE (never waiting for a reader or the
 * writer), when the WAL holds more than CHECKPOINT_IDLE_FRAMES unsynced frames and the
 * desk is idle (a pull round ended, or no save for CHECKPOINT_IDLE_MS when the timer
 * looks); during a bootstrap once it exceeds CHECKPOINT_BULK_FRAMES (4 KiB each), and
 * in a burst of saves only past CHECKPOINT_SAVES_FRAMES (its fsync would delay the
 * saves' own). The WAL file is cut back to WAL_SIZE_LIMIT when it starts over. */
#define CHECKPOINT_IDLE_FRAMES  1000
#define CHECKPOINT_BULK_FRAMES  8192
#define CHECKPOINT_SAVES_FRAMES 32768
#define CHECKPOINT_PERIOD_S     30
#define CHECKPOINT_IDLE_MS      2000
#define WAL_SIZE_LIMIT          "67108864"

/* One SQLite connection with its cell store and its cached statements. The store has
 * two: the main one (user actions, queries, push bookkeeping) and the worker one (pulled
 * pages, applied on a thread so the window never waits for a page). */
typedef struct
{
  sqlite3     *db;
  VdCellStore *cells;
  GHashTable  *stmts;   /* SQL text → sqlite3_stmt, prepared once */
} Conn;

struct _VdStore
{
  GObject       parent_instance;

  char         *path;
  char         *tenant_id;
  char         *device_id;

  Conn          main;
  Conn          worker;

  /* One write transaction at a time over both connections, so neither waits in
   * SQLite's busy loop; it also guards the clock and what follows it. */
  GMutex        write_lock;
  VdHlcClock   *clock;
  Conn         *persist_conn;    /* the connection whose transaction ticks the clock */
  gboolean      persist_failed;
  gint64        test_offset_ms;  /* VD_TEST_CLOCK_OFFSET_MS: a desk whose clock is wrong */
  VdHlc         server_hlc;      /* the last server_hlc seen in a push answer or a page */
  gint64        server_seen_ms;  /* our raw wall clock when it was seen */

  GMainContext *context;         /* where ::changed is emitted */
  GThread      *thread;          /* the thread that opened the store and runs context */
  GTimeZone    *zone;

  /* The worker connection is used by vd_store_apply_pull (any thread) and by the
   * checkpoint thread; taken before write_lock, never after it. */
  GMutex        worker_lock;
  gint          wal_frames;      /* atomic: frames in the WAL after the last commit */
  gint          ckpt_frames;     /* atomic: of which the last checkpoint copied */
  gint64        last_commit_us;  /* the last user commit (main thread only) */
  GThread      *ckpt_thread;
  GMutex        ckpt_mutex;      /* guards the two flags below */
  GCond         ckpt_cond;
  gboolean      ckpt_requested;
  gboolean      ckpt_quit;
  GSource      *ckpt_timer;
};

G_DEFINE_FINAL_TYPE (VdStore, vd_store, G_TYPE_OBJECT)

enum
{
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Forward-only: entry n brings a file from user_version n to n + 1. */
static const char * const migrations[] = {
  /* 1: the local tables and the day-per-staff index the schedule reads. */
  "CREATE TABLE meta (\n"
  "  key TEXT PRIMARY KEY,\n"
  "  value TEXT\n"
  ");\n"
  "CREATE TABLE outbox (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  \"table\" TEXT NOT NULL,\n"
  "  row_id TEXT NOT NULL,\n"
  "  hlc INTEGER NOT NULL,\n"
  "  change_json TEXT NOT NULL,\n"
  "  batch_id INTEGER,\n"
  "  rejected_code TEXT,\n"
  "  rejected_message TEXT\n"
  ");\n"
  "CREATE INDEX outbox_batch_idx ON outbox (batch_id);\n"
  "CREATE INDEX appointments_staff_day_idx ON appointments (tenant_id, staff_id, starts_at);\n",
};

G_DEFINE_QUARK (vd-store-error-quark, vd_store_error)

void
vd_clinic_info_free (VdClinicInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->tenant_id);
  g_free (info->slug);
  g_free (info->name);
  g_free (info->timezone);
  g_free (info->currency);
  g_free (info->role);
  g_free (info);
}

void
vd_rejected_free (VdRejected *rejected)
{
  if (rejected == NULL)
    return;
  g_free (rejected->table);
  g_free (rejected->row_id);
  g_free (rejected->code);
  g_free (rejected->message);
  g_free (rejected->change_json);
  g_free (rejected);
}

/* ---- SQL plumbing ---------------------------------------------------------------- */

static void
set_db_error (GError     **error,
              sqlite3     *db,
              const char  *what)
{
  g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED,
               /* Translators: the first %s says what was being done, the second is the
                * database's own message. */
               _("The clinic’s data on this computer could not be %s: %s."),
               what, sqlite3_errmsg (db));
}

static sqlite3_stmt *
conn_stmt (Conn        *conn,
           const char  *sql,
           GError     **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (conn->stmts, sql);

  if (stmt != NULL)
    return stmt;
  if (sqlite3_prepare_v3 (conn->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (error, conn->db, _("read"));
      return NULL;
    }
  g_hash_table_insert (conn->stmts, (gpointer) sql, stmt);
  return stmt;
}

static void
stmt_done (sqlite3_stmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

/* Runs a statement that returns no rows we need. */
static gboolean
conn_run (Conn         *conn,
          sqlite3_stmt *stmt,
          GError      **error)
{
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    ;
  if (rc != SQLITE_DONE)
    set_db_error (error, conn->db, _("saved"));
  stmt_done (stmt);
  return rc == SQLITE_DONE;
}

static gboolean
conn_exec (Conn        *conn,
           const char  *sql,
           GError     **error)
{
  sqlite3_stmt *stmt = conn_stmt (conn, sql, error);

  return stmt != NULL && conn_run (conn, stmt, error);
}

static gboolean
conn_begin (Conn    *conn,
            GError **error)
{
  return conn_exec (conn, "BEGIN IMMEDIATE", error);
}

static gboolean
conn_commit (Conn    *conn,
             GError **error)
{
  return conn_exec (conn, "COMMIT", error);
}

static void
conn_rollback (Conn *conn)
{
  if (!sqlite3_get_autocommit (conn->db))
    conn_exec (conn, "ROLLBACK", NULL);
}

/* NULL (no error) when the key is missing. */
static char *
meta_get (Conn        *conn,
          const char  *key,
          GError     **error)
{
  sqlite3_stmt *stmt = conn_stmt (conn, "SELECT value FROM meta WHERE key = ?1", error);
  char *value = NULL;
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  else if (rc != SQLITE_DONE)
    set_db_error (error, conn->db, _("read"));
  stmt_done (stmt);
  return value;
}

static gint64
meta_get_int (Conn   *conn,
              const char *key,
              gint64  fallback)
{
  g_autofree char *text = meta_get (conn, key, NULL);

  return text != NULL ? g_ascii_strtoll (text, NULL, 10) : fallback;
}

static gboolean
meta_set (Conn        *conn,
          const char  *key,
          const char  *value,
          GError     **error)
{
  sqlite3_stmt *stmt = conn_stmt (conn,
                                  "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                  error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, value, -1, SQLITE_STATIC);
  return conn_run (conn, stmt, error);
}

static gboolean
meta_set_int (Conn        *conn,
              const char  *key,
              gint64       value,
              GError     **error)
{
  char text[32];

  g_snprintf (text, sizeof text, "%" PRId64, value);
  return meta_set (conn, key, text, error);
}

static gboolean
meta_set_hlc (Conn        *conn,
              const char  *key,
              VdHlc        hlc,
              GError     **error)
{
  char text[VD_HLC_STRING_LEN + 1];

  vd_hlc_format (hlc, text);
  return meta_set (conn, key, text, error);
}

static VdHlc
meta_get_hlc (Conn       *conn,
              const char *key)
{
  g_autofree char *text = meta_get (conn, key, NULL);
  VdHlc hlc = 0;

  if (text != NULL && !vd_hlc_parse (text, &hlc, NULL))
    {
      g_warning ("The stored clock value “%s” of %s is not valid; starting from the wall clock", text, key);
      hlc = 0;
    }
  return hlc;
}

static int wal_hook_cb (void *user_data, sqlite3 *db, const char *name, int n_frames);

/* worker: the connection that applies pulled pages and checkpoints; the caller's wal
 * hook data is the store. */
static gboolean
conn_open (Conn        *conn,
           const char  *path,
           const char  *tenant_id,
           gboolean     worker,
           gpointer     store,
           GError     **error)
{
  char *errmsg = NULL;
  int rc;

  conn->stmts = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) sqlite3_finalize);
  rc = sqlite3_open_v2 (path, &conn->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED,
                   _("The clinic’s data file “%s” could not be opened: %s."),
                   path, conn->db != NULL ? sqlite3_errmsg (conn->db) : sqlite3_errstr (rc));
      return FALSE;
    }
  sqlite3_extended_result_codes (conn->db, 1);
  /* WAL lets the window read while a pulled page is written; FULL makes every user
   * action durable once vd_store_commit returns. */
  if (sqlite3_exec (conn->db,
                    "PRAGMA journal_mode = WAL;"
                    "PRAGMA synchronous = FULL;"
                    "PRAGMA busy_timeout = 10000;"
                    "PRAGMA foreign_keys = OFF;"
                    /* Checkpoints are the store's (see CHECKPOINT_IDLE_FRAMES). */
                    "PRAGMA wal_autocheckpoint = 0;"
                    "PRAGMA journal_size_limit = " WAL_SIZE_LIMIT ";",
                    NULL, NULL, &errmsg) != SQLITE_OK ||
      /* A bootstrap writes 100,000s of rows and their indexes: with SQLite's 2 MB default
       * the worker spilled dirty pages to the WAL in the middle of its transactions.
       * 64 MB bootstrapped no faster than 16 MB and cost the app 50 MB more. */
      (worker && sqlite3_exec (conn->db, "PRAGMA cache_size = -16384;",
                               NULL, NULL, &errmsg) != SQLITE_OK))
    {
      g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED,
                   _("The clinic’s data file “%s” could not be prepared: %s."), path, errmsg);
      sqlite3_free (errmsg);
      return FALSE;
    }
  /* After the pragma, which would replace it: the hook only counts the WAL's frames. */
  sqlite3_wal_hook (conn->db, wal_hook_cb, store);
  conn->cells = vd_cell_store_new (conn->db, tenant_id, error);
  return conn->cells != NULL;
}

static void
conn_close (Conn *conn)
{
  g_clear_pointer (&conn->stmts, g_hash_table_unref);
  g_clear_pointer (&conn->cells, vd_cell_store_free);
  g_clear_pointer (&conn->db, sqlite3_close);
}

/* ---- Clock ------------------------------------------------------------------------ */

static gint64
store_wall_cb (gpointer user_data)
{
  VdStore *self = user_data;

  return g_get_real_time () / 1000 + self->test_offset_ms;
}

static void
persist_hlc_cb (VdHlc    hlc,
                gpointer user_data)
{
  VdStore *self = user_data;

  /* The clock only moves inside a write transaction, which says where to write it. */
  if (self->persist_conn == NULL)
    {
      g_critical ("The clock moved outside a transaction");
      self->persist_failed = TRUE;
      return;
    }
  if (!meta_set_hlc (self->persist_conn, "hlc", hlc, NULL))
    self->persist_failed = TRUE;
}

/* Takes the write lock and opens a write transaction on conn; the clock persists
 * through conn until end_write. */
static gboolean
begin_write (VdStore  *self,
             Conn     *conn,
             GError  **error)
{
  g_mutex_lock (&self->write_lock);
  if (!conn_begin (conn, error))
    {
      g_mutex_unlock (&self->write_lock);
      return FALSE;
    }
  self->persist_conn = conn;
  self->persist_failed = FALSE;
  return TRUE;
}

/* Commits when ok (and the clock persisted), else rolls back; releases the lock. */
static gboolean
end_write (VdStore  *self,
           Conn     *conn,
           gboolean  ok,
           GError  **error)
{
  if (ok && self->persist_failed)
    {
      set_db_error (error, conn->db, _("saved"));
      ok = FALSE;
    }
  if (ok)
    ok = conn_commit (conn, error);
  if (!ok)
    conn_rollback (conn);
  self->persist_conn = NULL;
  g_mutex_unlock (&self->write_lock);
  return ok;
}

/* ---- Signals ---------------------------------------------------------------------- */

typedef struct
{
  VdStore   *store;
  GPtrArray *pairs;   /* table, id, table, id, … */
} ChangedData;

static gboolean
emit_changed_cb (gpointer user_data)
{
  ChangedData *data = user_data;

  for (guint i = 0; i + 1 < data->pairs->len; i += 2)
    g_signal_emit (data->store, signals[CHANGED], 0,
                   g_ptr_array_index (data->pairs, i),
                   g_ptr_array_index (data->pairs, i + 1));
  return G_SOURCE_REMOVE;
}

static void
changed_data_free (gpointer user_data)
{
  ChangedData *data = user_data;

  g_object_unref (data->store);
  g_ptr_array_unref (data->pairs);
  g_free (data);
}

/* Emits ::changed for each pair on the store's main context: at once when called there,
 * else queued. Takes pairs. */
static void
emit_changed (VdStore   *self,
              GPtrArray *pairs)
{
  ChangedData *data;

  if (pairs->len == 0)
    {
      g_ptr_array_unref (pairs);
      return;
    }
  data = g_new0 (ChangedData, 1);
  data->store = g_object_ref (self);
  data->pairs = pairs;
  /* g_main_context_invoke would run it on a worker that happens to acquire the
   * context, so the thread is checked here. */
  if (g_thread_self () == self->thread)
    {
      emit_changed_cb (data);
      changed_data_free (data);
    }
  else
    {
      g_autoptr(GSource) source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, emit_changed_cb, data, changed_data_free);
      g_source_set_static_name (source, "[vdclient] store changed");
      g_source_attach (source, self->context);
    }
}

/* ---- Checkpoints ------------------------------------------------------------------ */

/* WAL frames no checkpoint has copied yet. */
static gint
checkpoint_backlog (VdStore *self)
{
  gint frames = g_atomic_int_get (&self->wal_frames);
  gint done = g_atomic_int_get (&self->ckpt_frames);

  return frames >= done ? frames - done : frames;
}

static void
request_checkpoint (VdStore *self)
{
  g_mutex_lock (&self->ckpt_mutex);
  self->ckpt_requested = TRUE;
  g_cond_signal (&self->ckpt_cond);
  g_mutex_unlock (&self->ckpt_mutex);
}

/* Called by SQLite after every commit on either connection, on the committing thread,
 * with the connection held: it may not touch the database. */
static int
wal_hook_cb (void       *user_data,
             sqlite3    *db,
             const char *name,
             int         n_frames)
{
  VdStore *self = user_data;
  gint before = g_atomic_int_get (&self->wal_frames);

  /* Fewer frames than before: the WAL started over after a complete checkpoint. */
  if (n_frames < before)
    g_atomic_int_set (&self->ckpt_frames, 0);
  g_atomic_int_set (&self->wal_frames, n_frames);
  if (checkpoint_backlog (self) >= (db == self->worker.db ? CHECKPOINT_BULK_FRAMES
                                                          : CHECKPOINT_SAVES_FRAMES))
    request_checkpoint (self);
  return SQLITE_OK;
}

/* PASSIVE: copies what no reader still needs and returns; it never waits for the main
 * connection, and a save can commit meanwhile. */
static void
checkpoint_now (VdStore *self)
{
  int log_frames = 0;
  int copied = 0;
  int rc;

  g_mutex_lock (&self->worker_lock);
  rc = sqlite3_wal_checkpoint_v2 (self->worker.db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                  &log_frames, &copied);
  g_mutex_unlock (&self->worker_lock);
  if (rc == SQLITE_OK)
    g_atomic_int_set (&self->ckpt_frames, copied);
  else if ((rc & 0xff) != SQLITE_BUSY)
    g_warning ("Checkpointing the clinic’s data failed: %s", sqlite3_errstr (rc));
}

static gpointer
checkpoint_thread (gpointer user_data)
{
  VdStore *self = user_data;

  g_mutex_lock (&self->ckpt_mutex);
  while (!self->ckpt_quit)
    {
      if (!self->ckpt_requested)
        {
          g_cond_wait (&self->ckpt_cond, &self->ckpt_mutex);
          continue;
        }
      self->ckpt_requested = FALSE;
      g_mutex_unlock (&self->ckpt_mutex);
      checkpoint_now (self);
      g_mutex_lock (&self->ckpt_mutex);
    }
  g_mutex_unlock (&self->ckpt_mutex);
  return NULL;
}

static gboolean
checkpoint_timer_cb (gpointer user_data)
{
  VdStore *self = user_data;

  if (checkpoint_backlog (self) >= CHECKPOINT_IDLE_FRAMES &&
      g_get_monotonic_time () - self->last_commit_us >= CHECKPOINT_IDLE_MS * 1000)
    request_checkpoint (self);
  return G_SOURCE_CONTINUE;
}

/* ---- GObject ---------------------------------------------------------------------- */

static void
vd_store_finalize (GObject *object)
{
  VdStore *self = VD_STORE (object);

  if (self->ckpt_timer != NULL)
    {
      g_source_destroy (self->ckpt_timer);
      g_clear_pointer (&self->ckpt_timer, g_source_unref);
    }
  if (self->ckpt_thread != NULL)
    {
      g_mutex_lock (&self->ckpt_mutex);
      self->ckpt_quit = TRUE;
      g_cond_signal (&self->ckpt_cond);
      g_mutex_unlock (&self->ckpt_mutex);
      g_thread_join (g_steal_pointer (&self->ckpt_thread));
    }
  conn_close (&self->worker);
  conn_close (&self->main);
  g_clear_pointer (&self->clock, vd_hlc_clock_free);
  g_clear_pointer (&self->zone, g_time_zone_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->write_lock);
  g_mutex_clear (&self->worker_lock);
  g_mutex_clear (&self->ckpt_mutex);
  g_cond_clear (&self->ckpt_cond);
  g_free (self->path);
  g_free (self->tenant_id);
  g_free (self->device_id);

  G_OBJECT_CLASS (vd_store_parent_class)->finalize (object);
}

static void
vd_store_class_init (VdStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = vd_store_finalize;

  /**
   * VdStore::changed:
   * @table: the table name
   * @row_id: (nullable): the row's id, or %NULL for "some rows of @table"
   *
   * A row changed by a user action (@row_id set), or rows of @table changed by a
   * pulled page: one emission per table per page with a %NULL @row_id, so that a page
   * of 5,000 rows costs a list one reload rather than 5,000 handler calls. Always on
   * the main context.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                   G_TYPE_STRING, G_TYPE_STRING);
}

static void
vd_store_init (VdStore *self)
{
  g_mutex_init (&self->write_lock);
  g_mutex_init (&self->worker_lock);
  g_mutex_init (&self->ckpt_mutex);
  g_cond_init (&self->ckpt_cond);
}

/* ---- Opening ---------------------------------------------------------------------- */

static gboolean
migrate (VdStore  *self,
         GError  **error)
{
  Conn *conn = &self->main;
  sqlite3_stmt *stmt;
  int version = 0;
  char *errmsg = NULL;

  stmt = conn_stmt (conn, "PRAGMA user_version", error);
  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int (stmt, 0);
  stmt_done (stmt);

  if (version > (int) G_N_ELEMENTS (migrations))
    {
      g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED,
                   _("The clinic’s data file was written by a newer version of VetDesk. Update VetDesk to open it."));
      return FALSE;
    }

  for (int v = version; v < (int) G_N_ELEMENTS (migrations); v++)
    {
      g_autofree char *sql = g_strdup_printf ("BEGIN IMMEDIATE;\n%s\nPRAGMA user_version = %d;\nCOMMIT;",
                                              migrations[v], v + 1);

      if (sqlite3_exec (conn->db, sql, NULL, NULL, &errmsg) != SQLITE_OK)
        {
          g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED,
                       _("The clinic’s data file could not be updated to this version of VetDesk: %s."),
                       errmsg);
          sqlite3_free (errmsg);
          conn_rollback (conn);
          return FALSE;
        }
    }
  return TRUE;
}

/* The device id is made once, with the tenant the file belongs to: new_device_id when
 * it is given and valid, a fresh one otherwise. */
static gboolean
load_identity (VdStore     *self,
               const char  *new_device_id,
               GError     **error)
{
  Conn *conn = &self->main;
  g_autofree char *device_id = NULL;
  g_autofree char *tenant_id = NULL;
  g_autofree char *fresh = NULL;
  gboolean ok;

  if (!conn_begin (conn, error))
    return FALSE;
  device_id = meta_get (conn, "device_id", NULL);
  tenant_id = meta_get (conn, "tenant_id", NULL);
  ok = TRUE;
  if (tenant_id != NULL && g_strcmp0 (tenant_id, self->tenant_id) != 0)
    {
      g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED,
                   _("The data file “%s” belongs to another clinic."), self->path);
      ok = FALSE;
    }
  if (ok && tenant_id == NULL)
    ok = meta_set (conn, "tenant_id", self->tenant_id, error);
  if (ok && (device_id == NULL || !vd_uuid_is_valid (device_id)))
    {
      fresh = new_device_id != NULL && vd_uuid_is_valid (new_device_id)
              ? g_strdup (new_device_id) : vd_uuid_new ();
      ok = meta_set (conn, "device_id", fresh, error);
      g_free (device_id);
      device_id = g_steal_pointer (&fresh);
    }
  if (ok)
    ok = conn_commit (conn, error);
  if (!ok)
    {
      conn_rollback (conn);
      return FALSE;
    }
  self->device_id = g_steal_pointer (&device_id);
  return TRUE;
}

VdStore *
vd_store_open (const char  *path,
               const char  *tenant_id,
               GError     **error)
{
  return vd_store_open_for_device (path, tenant_id, NULL, error);
}

VdStore *
vd_store_open_for_device (const char  *path,
                          const char  *tenant_id,
                          const char  *new_device_id,
                          GError     **error)
{
  g_autoptr(VdStore) self = NULL;
  g_autofree char *dir = NULL;
  char tenant[VD_UUID_LEN + 1];
  const char *offset;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (tenant_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!vd_uuid_normalize (tenant_id, tenant))
    {
      g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_INVALID,
                   _("The clinic id “%s” is not valid."), tenant_id);
      return NULL;
    }

  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED,
                   _("The folder “%s” for the clinic’s data could not be created: %s."),
                   dir, g_strerror (saved));
      return NULL;
    }

  self = g_object_new (VD_TYPE_STORE, NULL);
  self->path = g_strdup (path);
  self->tenant_id = g_strdup (tenant);
  self->context = g_main_context_ref_thread_default ();
  self->thread = g_thread_self ();

  offset = g_getenv ("VD_TEST_CLOCK_OFFSET_MS");
  if (offset != NULL)
    self->test_offset_ms = g_ascii_strtoll (offset, NULL, 10);

  if (!conn_open (&self->main, path, self->tenant_id, FALSE, self, error) ||
      !migrate (self, error) ||
      !vd_search_install (self->main.db, error) ||
      !load_identity (self, new_device_id, error) ||
      !conn_open (&self->worker, path, self->tenant_id, TRUE, self, error))
    return NULL;

  self->ckpt_thread = g_thread_new ("vd-store-checkpoint", checkpoint_thread, self);
  self->ckpt_timer = g_timeout_source_new_seconds (CHECKPOINT_PERIOD_S);
  g_source_set_callback (self->ckpt_timer, checkpoint_timer_cb, self, NULL);
  g_source_set_static_name (self->ckpt_timer, "[vdclient] store checkpoint");
  g_source_attach (self->ckpt_timer, self->context);

  self->clock = vd_hlc_clock_new (meta_get_hlc (&self->main, "hlc"), store_wall_cb, self);
  vd_hlc_clock_set_offset (self->clock, meta_get_int (&self->main, "clock_offset_ms", 0));
  vd_hlc_clock_set_persist (self->clock, persist_hlc_cb, self);

  return g_steal_pointer (&self);
}

char *
vd_store_default_path (const char *server_url,
                       const char *tenant_id)
{
  g_autoptr(GUri) uri = NULL;
  g_autofree char *host_port = NULL;
  g_autofree char *file = NULL;
  const char *host = NULL;
  int port = -1;

  g_return_val_if_fail (server_url != NULL, NULL);
  g_return_val_if_fail (tenant_id != NULL, NULL);

  uri = g_uri_parse (server_url, G_URI_FLAGS_NONE, NULL);
  if (uri != NULL)
    {
      host = g_uri_get_host (uri);
      port = g_uri_get_port (uri);
    }
  if (host == NULL || *host == '\0')
    host = "server";
  if (port <= 0)
    port = 443;
  /* One folder per server so two servers' clinics never share a file; ':' would need
   * quoting in some tools, hence '_'. */
  host_port = g_strdup_printf ("%s_%d", host, port);
  g_strdelimit (host_port, "/\\:", '_');
  file = g_strdup_printf ("%s.db", tenant_id);
  return g_build_filename (g_get_user_data_dir (), "vetdesk", host_port, file, NULL);
}

const char *
vd_store_get_path (VdStore *self)
{
  g_return_val_if_fail (VD_IS_STORE (self), NULL);
  return self->path;
}

const char *
vd_store_get_tenant_id (VdStore *self)
{
  g_return_val_if_fail (VD_IS_STORE (self), NULL);
  return self->tenant_id;
}

const char *
vd_store_get_device_id (VdStore *self)
{
  g_return_val_if_fail (VD_IS_STORE (self), NULL);
  return self->device_id;
}

sqlite3 *
vd_store_get_db (VdStore *self)
{
  g_return_val_if_fail (VD_IS_STORE (self), NULL);
  return self->main.db;
}

VdCellStore *
vd_store_get_cell_store (VdStore *self)
{
  g_return_val_if_fail (VD_IS_STORE (self), NULL);
  return self->main.cells;
}

VdHlcClock *
vd_store_get_clock (VdStore *self)
{
  g_return_val_if_fail (VD_IS_STORE (self), NULL);
  return self->clock;
}

/* ---- Clinic info ------------------------------------------------------------------ */

static const struct
{
  const char *key;
  gsize       offset;
} clinic_fields[] = {
  { "clinic.tenant_id", G_STRUCT_OFFSET (VdClinicInfo, tenant_id) },
  { "clinic.slug", G_STRUCT_OFFSET (VdClinicInfo, slug) },
  { "clinic.name", G_STRUCT_OFFSET (VdClinicInfo, name) },
  { "clinic.timezone", G_STRUCT_OFFSET (VdClinicInfo, timezone) },
  { "clinic.currency", G_STRUCT_OFFSET (VdClinicInfo, currency) },
  { "clinic.role", G_STRUCT_OFFSET (VdClinicInfo, role) },
};

VdClinicInfo *
vd_store_dup_clinic_info (VdStore *self)
{
  g_autoptr(VdClinicInfo) info = NULL;
  g_autofree char *name = NULL;

  g_return_val_if_fail (VD_IS_STORE (self), NULL);

  name = meta_get (&self->main, "clinic.name", NULL);
  if (name == NULL)
    return NULL;

  info = g_new0 (VdClinicInfo, 1);
  for (guint i = 0; i < G_N_ELEMENTS (clinic_fields); i++)
    G_STRUCT_MEMBER (char *, info, clinic_fields[i].offset) =
      meta_get (&self->main, clinic_fields[i].key, NULL);
  return g_steal_pointer (&info);
}

gboolean
vd_store_set_clinic_info (VdStore            *self,
                          const VdClinicInfo *info,
                          GError            **error)
{
  gboolean ok = TRUE;

  g_return_val_if_fail (VD_IS_STORE (self), FALSE);
  g_return_val_if_fail (info != NULL, FALSE);

  if (!begin_write (self, &self->main, error))
    return FALSE;
  for (guint i = 0; ok && i < G_N_ELEMENTS (clinic_fields); i++)
    {
      const char *value = G_STRUCT_MEMBER (const char *, info, clinic_fields[i].offset);

      ok = meta_set (&self->main, clinic_fields[i].key, value != NULL ? value : "", error);
    }
  if (!end_write (self, &self->main, ok, error))
    return FALSE;

  g_clear_pointer (&self->zone, g_time_zone_unref);
  return TRUE;
}

GTimeZone *
vd_store_get_time_zone (VdStore *self)
{
  g_return_val_if_fail (VD_IS_STORE (self), NULL);

  if (self->zone == NULL)
    {
      g_autofree char *name = meta_get (&self->main, "clinic.timezone", NULL);
      g_autoptr(GError) error = NULL;

      if (name != NULL && *name != '\0')
        self->zone = vd_time_zone_new (name, &error);
      if (error != NULL)
        g_warning ("The clinic’s time zone: %s; showing times in UTC", error->message);
      if (self->zone == NULL)
        self->zone = g_time_zone_new_utc ();
    }
  return self->zone;
}

/* ---- User actions ----------------------------------------------------------------- */

static void
set_invalid (GError     **error,
             const char  *message)
{
  g_set_error_literal (error, VD_STORE_ERROR, VD_STORE_ERROR_INVALID, message);
}

/* Columns a form may leave out of a new row. Booleans are false unless a person would
 * expect otherwise: a new staff member is active. */
static void
fill_defaults (VdChange *change)
{
  for (guint c = 0; c < change->table->n_columns; c++)
    {
      const VdColumn *column = &change->table->columns[c];
      VdValue value = { VD_VALUE_NULL };

      if (column->type != VD_TYPE_BOOLEAN || vd_change_get_cell (change, column->name) != NULL)
        continue;
      vd_value_set_bool (&value, vd_rules_bool_default (column));
      vd_change_take_cell (change, column, &value);
    }
}

/* The effective value of a text column after the change: the change's, else the row's. */
static const char *
effective_text (const VdChange *change,
                const VdValue  *row,
                const char     *column_name)
{
  const VdCell *cell = vd_change_get_cell (change, column_name);
  const VdColumn *column;
  const VdValue *value;

  if (cell != NULL)
    value = &cell->value;
  else
    {
      column = vd_table_lookup_column (change->table, column_name);
      value = &row[column->index];
    }
  return value->kind == VD_VALUE_TEXT ? value->s : NULL;
}

static gboolean
validate_change (VdStore   *self,
                 VdChange  *change,
                 GError   **error)
{
  const VdTable *table = change->table;
  VdValue *row;
  gboolean found;
  gboolean ok = TRUE;
  g_autoptr(GError) local_error = NULL;

  if (table->server_owned)
    {
      set_invalid (error, _("These records are kept by the server and cannot be changed on this computer."));
      return FALSE;
    }

  for (guint i = 0; i < change->cells->len; i++)
    {
      VdCell *cell = &g_array_index (change->cells, VdCell, i);

      if (cell->column->table != table)
        {
          g_critical ("A cell of table %s in a change of %s", cell->column->table->name, table->name);
          set_invalid (error, _("The change mixes fields of different records."));
          return FALSE;
        }
      if (cell->column->server_owned)
        {
          g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_INVALID,
                       _("The %s is set by the server and cannot be changed on this computer."),
                       vd_column_label (cell->column));
          return FALSE;
        }
      if (!vd_value_validate (cell->column, &cell->value, &local_error))
        {
          set_invalid (error, local_error->message);
          return FALSE;
        }
    }

  if (change->id[0] == '\0')
    {
      g_autofree char *id = vd_uuid_new ();

      g_strlcpy (change->id, id, sizeof change->id);
    }
  else if (!vd_uuid_normalize (change->id, change->id))
    {
      set_invalid (error, _("The record’s id is not valid."));
      return FALSE;
    }

  row = g_newa (VdValue, table->n_columns);
  memset (row, 0, table->n_columns * sizeof (VdValue));
  found = vd_cell_store_get_row (self->main.cells, table, change->id, row, NULL, NULL,
                                 &local_error);
  if (local_error != NULL)
    {
      g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED, "%s", local_error->message);
      return FALSE;
    }

  if (!found)
    {
      /* A new row must stand on its own: every required column, whatever arrives later. */
      const VdColumn *missing;

      fill_defaults (change);
      missing = vd_rules_missing_required (change);
      if (missing != NULL)
        {
          g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_INVALID,
                       _("The %s is required."), vd_column_label (missing));
          ok = FALSE;
        }
    }

  if (ok && strcmp (table->name, "appointments") == 0)
    {
      const char *starts = effective_text (change, row, "starts_at");
      const char *ends = effective_text (change, row, "ends_at");

      /* The same rule as syncd's, so the desk never keeps what the server would refuse. */
      if (!vd_rules_appointment_text_times_ok (starts, ends))
        {
          set_invalid (error, _("The appointment must end after it starts and last at most 24 hours."));
          ok = FALSE;
        }
    }

  for (guint c = 0; c < table->n_columns; c++)
    vd_value_clear (&row[c]);
  return ok;
}

static char *
change_to_json (const VdChange *change)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  vd_change_to_json (change, builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

static VdChange *
change_from_json (const char  *text,
                  GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (!json_parser_load_from_data (parser, text, -1, error))
    return NULL;
  return vd_change_from_json (json_parser_get_root (parser), VD_CHANGE_FROM_CLIENT, error);
}

gboolean
vd_store_commit (VdStore   *self,
                 VdChange  *change,
                 GError   **error)
{
  g_autofree char *json = NULL;
  sqlite3_stmt *stmt;
  gboolean ok;

  g_return_val_if_fail (VD_IS_STORE (self), FALSE);
  g_return_val_if_fail (change != NULL && change->table != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!validate_change (self, change, error))
    return FALSE;
  if (change->cells->len == 0)
    return TRUE;

  if (!begin_write (self, &self->main, error))
    return FALSE;

  change->hlc = vd_hlc_clock_tick (self->clock);
  g_strlcpy (change->site, self->device_id, sizeof change->site);
  change->seq = 0;

  ok = vd_cell_store_apply (self->main.cells, change, NULL, error);
  if (ok)
    {
      json = change_to_json (change);
      stmt = conn_stmt (&self->main,
                        "INSERT INTO outbox (\"table\", row_id, hlc, change_json) "
                        "VALUES (?1, ?2, ?3, ?4)", error);
      ok = stmt != NULL;
      if (ok)
        {
          sqlite3_bind_text (stmt, 1, change->table->name, -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 2, change->id, -1, SQLITE_STATIC);
          sqlite3_bind_int64 (stmt, 3, (gint64) change->hlc);
          sqlite3_bind_text (stmt, 4, json, -1, SQLITE_STATIC);
          ok = conn_run (&self->main, stmt, error);
        }
    }
  if (!end_write (self, &self->main, ok, error))
    return FALSE;
  self->last_commit_us = g_get_monotonic_time ();

  {
    GPtrArray *pairs = g_ptr_array_new_with_free_func (g_free);

    g_ptr_array_add (pairs, g_strdup (change->table->name));
    g_ptr_array_add (pairs, g_strdup (change->id));
    emit_changed (self, pairs);
  }
  return TRUE;
}

gboolean
vd_store_commit_edit (VdStore       *self,
                      VdChange      *change,
                      const VdValue *loaded,
                      gboolean      *out_committed,
                      GError       **error)
{
  g_return_val_if_fail (VD_IS_STORE (self), FALSE);
  g_return_val_if_fail (change != NULL && change->table != NULL, FALSE);

  if (out_committed != NULL)
    *out_committed = FALSE;
  if (loaded != NULL)
    {
      /* Backwards, so removing a cell leaves the ones still to look at in place. */
      for (guint i = change->cells->len; i > 0; i--)
        {
          VdCell *cell = &g_array_index (change->cells, VdCell, i - 1);

          if (vd_value_equal (&cell->value, &loaded[cell->column->index]))
            g_array_remove_index (change->cells, i - 1);   /* its clear func frees the value */
        }
      if (change->cells->len == 0)
        return TRUE;
    }
  if (!vd_store_commit (self, change, error))
    return FALSE;
  if (out_committed != NULL)
    *out_committed = change->cells->len > 0;
  return TRUE;
}

VdChange *
vd_store_new_change (VdStore    *self,
                     const char *table_name,
                     const char *id)
{
  const VdTable *table;
  VdChange *change;

  g_return_val_if_fail (VD_IS_STORE (self), NULL);
  g_return_val_if_fail (table_name != NULL, NULL);

  table = vd_schema_lookup_table (table_name);
  if (table == NULL)
    return NULL;
  /* vd_change_new wants a valid id; a new row's stays empty until the commit. */
  change = vd_change_new (table, id != NULL ? id : self->device_id, 0, self->device_id);
  if (change != NULL && id == NULL)
    change->id[0] = '\0';
  return change;
}

gboolean
vd_store_get_row (VdStore       *self,
                  const VdTable *table,
                  const char    *id,
                  VdValue       *values,
                  GError       **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (VD_IS_STORE (self), FALSE);
  g_return_val_if_fail (table != NULL && id != NULL && values != NULL, FALSE);

  if (vd_cell_store_get_row (self->main.cells, table, id, values, NULL, NULL, &local_error))
    return TRUE;
  if (local_error != NULL)
    g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED, "%s", local_error->message);
  else
    g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_NOT_FOUND,
                 _("The record was not found; it may have been removed on another computer."));
  return FALSE;
}

/* ---- Push bookkeeping ------------------------------------------------------------- */

guint
vd_store_count_pending (VdStore *self)
{
  sqlite3_stmt *stmt;
  guint count = 0;

  g_return_val_if_fail (VD_IS_STORE (self), 0);

  stmt = conn_stmt (&self->main, "SELECT count(*) FROM outbox WHERE rejected_code IS NULL", NULL);
  if (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    count = (guint) sqlite3_column_int64 (stmt, 0);
  if (stmt != NULL)
    stmt_done (stmt);
  return count;
}

/* The batch id in flight, or 0. */
static gint64
inflight_batch (VdStore  *self,
                GError  **error)
{
  sqlite3_stmt *stmt;
  gint64 batch_id = 0;
  int rc;

  stmt = conn_stmt (&self->main,
                    "SELECT batch_id FROM outbox WHERE batch_id IS NOT NULL "
                    "AND rejected_code IS NULL ORDER BY id LIMIT 1", error);
  if (stmt == NULL)
    return -1;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    batch_id = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    {
      set_db_error (error, self->main.db, _("read"));
      batch_id = -1;
    }
  stmt_done (stmt);
  return batch_id;
}

static GPtrArray *
batch_changes (VdStore  *self,
               gint64    batch_id,
               GError  **error)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  sqlite3_stmt *stmt;
  int rc;

  stmt = conn_stmt (&self->main,
                    "SELECT change_json FROM outbox WHERE batch_id = ?1 AND rejected_code IS NULL "
                    "ORDER BY id", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, batch_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autoptr(GError) local_error = NULL;
      VdChange *change = change_from_json ((const char *) sqlite3_column_text (stmt, 0),
                                           &local_error);

      if (change == NULL)
        {
          g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED,
                       _("A saved change on this computer is damaged: %s"), local_error->message);
          stmt_done (stmt);
          return NULL;
        }
      g_ptr_array_add (changes, change);
    }
  if (rc != SQLITE_DONE)
    {
      set_db_error (error, self->main.db, _("read"));
      stmt_done (stmt);
      return NULL;
    }
  stmt_done (stmt);
  return g_steal_pointer (&changes);
}

gboolean
vd_store_next_batch (VdStore    *self,
                     guint       max_changes,
                     gint64     *out_batch_id,
                     GPtrArray **out_changes,
                     GError    **error)
{
  g_autoptr(GPtrArray) changes = NULL;
  gint64 batch_id;
  gboolean ok = TRUE;

  g_return_val_if_fail (VD_IS_STORE (self), FALSE);
  g_return_val_if_fail (out_changes != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *out_changes = NULL;
  if (out_batch_id != NULL)
    *out_batch_id = 0;
  max_changes = CLAMP (max_changes, 1, VD_PROTOCOL_MAX_PUSH);

  if (!begin_write (self, &self->main, error))
    return FALSE;

  batch_id = inflight_batch (self, error);
  ok = batch_id >= 0;
  if (ok && batch_id == 0)
    {
      sqlite3_stmt *stmt;

      /* A new batch: its id is taken and saved with its members, so after a crash the
       * same id goes out with the same changes and the server answers from its record. */
      batch_id = meta_get_int (&self->main, "next_batch_id", 1);
      stmt = conn_stmt (&self->main,
                        "UPDATE outbox SET batch_id = ?1 WHERE id IN (SELECT id FROM outbox "
                        "WHERE batch_id IS NULL AND rejected_code IS NULL ORDER BY id LIMIT ?2)",
                        error);
      ok = stmt != NULL;
      if (ok)
        {
          sqlite3_bind_int64 (stmt, 1, batch_id);
          sqlite3_bind_int64 (stmt, 2, max_changes);
          ok = conn_run (&self->main, stmt, error);
        }
      if (ok && sqlite3_changes (self->main.db) == 0)
        batch_id = 0;
      else if (ok)
        ok = meta_set_int (&self->main, "next_batch_id", batch_id + 1, error);
    }
  if (ok && batch_id > 0)
    {
      changes = batch_changes (self, batch_id, error);
      ok = changes != NULL;
    }
  if (!end_write (self, &self->main, ok, error))
    return FALSE;

  if (batch_id == 0)
    return TRUE;

  *out_changes = g_steal_pointer (&changes);
  if (out_batch_id != NULL)
    *out_batch_id = batch_id;
  return TRUE;
}

static gboolean
bad_answer (GError     **error,
            gint64       batch_id,
            const char  *why)
{
  g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED,
               _("The server’s answer to batch %" PRId64 " could not be understood (%s); the changes stay on this computer and will be sent again."),
               batch_id, why);
  return FALSE;
}

static void
note_server_hlc (VdStore *self,
                 VdHlc    server_hlc)
{
  if (server_hlc == 0)
    return;
  self->server_hlc = server_hlc;
  self->server_seen_ms = store_wall_cb (self);
}

/* Every hlc received from the server moves our clock and the floor a rewind may not go
 * below. Called inside a write transaction on conn. */
static gboolean
receive_hlc (VdStore  *self,
             Conn     *conn,
             VdHlc     hlc,
             VdHlc    *floor,
             GError  **error)
{
  if (hlc == 0)
    return TRUE;
  if (!vd_hlc_clock_update (self->clock, hlc, 0, error))
    return FALSE;
  *floor = MAX (*floor, hlc);
  return TRUE;
}

gboolean
vd_store_ack_batch (VdStore             *self,
                    gint64               batch_id,
                    const VdPushAnswer  *answer,
                    GError             **error)
{
  g_autoptr(GArray) rows = NULL;
  g_autoptr(GArray) hlcs = NULL;
  g_autofree const char **codes = NULL;
  g_autofree const char **messages = NULL;
  VdHlc server_hlc;
  VdHlc floor;
  gint64 accepted;
  guint n_rejected;
  sqlite3_stmt *stmt;
  gboolean ok = TRUE;
  int rc;

  g_return_val_if_fail (VD_IS_STORE (self), FALSE);
  g_return_val_if_fail (answer != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (answer->batch_id != batch_id)
    return bad_answer (error, batch_id, "another batch id");
  accepted = answer->accepted;
  n_rejected = answer->rejected != NULL ? answer->rejected->len : 0;
  server_hlc = answer->server_hlc;

  if (!begin_write (self, &self->main, error))
    return FALSE;

  rows = g_array_new (FALSE, FALSE, sizeof (gint64));
  hlcs = g_array_new (FALSE, FALSE, sizeof (VdHlc));
  stmt = conn_stmt (&self->main,
                    "SELECT id, hlc FROM outbox WHERE batch_id = ?1 AND rejected_code IS NULL "
                    "ORDER BY id", error);
  ok = stmt != NULL;
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, batch_id);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          gint64 id = sqlite3_column_int64 (stmt, 0);
          VdHlc hlc = (VdHlc) sqlite3_column_int64 (stmt, 1);

          g_array_append_val (rows, id);
          g_array_append_val (hlcs, hlc);
        }
      if (rc != SQLITE_DONE)
        {
          set_db_error (error, self->main.db, _("read"));
          ok = FALSE;
        }
      stmt_done (stmt);
    }

  /* Nothing in flight under that id: an answer already taken (a replay). */
  if (ok && rows->len == 0)
    return end_write (self, &self->main, TRUE, error);

  if (ok && (accepted < 0 || (guint64) accepted + n_rejected != rows->len))
    {
      bad_answer (error, batch_id, "the counts do not match the batch");
      ok = FALSE;
    }

  if (ok)
    {
      codes = g_new0 (const char *, rows->len);
      messages = g_new0 (const char *, rows->len);
    }
  for (guint i = 0; ok && i < n_rejected; i++)
    {
      const VdRejection *rejection = g_ptr_array_index (answer->rejected, i);
      guint index = rejection->index;

      if (index >= rows->len || codes[index] != NULL)
        {
          bad_answer (error, batch_id, "a rejection names no change of the batch");
          ok = FALSE;
          break;
        }
      codes[index] = rejection->code;
      messages[index] = rejection->message;
    }

  floor = meta_get_hlc (&self->main, "hlc_floor");
  for (guint i = 0; ok && i < rows->len; i++)
    {
      gint64 id = g_array_index (rows, gint64, i);

      if (codes[i] == NULL)
        {
          stmt = conn_stmt (&self->main, "DELETE FROM outbox WHERE id = ?1", error);
          floor = MAX (floor, g_array_index (hlcs, VdHlc, i));
        }
      else if (strcmp (codes[i], "clock_skew") == 0)
        /* Not the change's fault: it goes out again once re-stamped. */
        stmt = conn_stmt (&self->main, "UPDATE outbox SET batch_id = NULL WHERE id = ?1", error);
      else
        stmt = conn_stmt (&self->main,
                          "UPDATE outbox SET batch_id = NULL, rejected_code = ?2, "
                          "rejected_message = ?3 WHERE id = ?1", error);
      ok = stmt != NULL;
      if (!ok)
        break;
      sqlite3_bind_int64 (stmt, 1, id);
      if (codes[i] != NULL && strcmp (codes[i], "clock_skew") != 0)
        {
          sqlite3_bind_text (stmt, 2, codes[i], -1, SQLITE_STATIC);
          sqlite3_bind_text (stmt, 3, messages[i], -1, SQLITE_STATIC);
        }
      ok = conn_run (&self->main, stmt, error);
    }

  if (ok)
    ok = receive_hlc (self, &self->main, server_hlc, &floor, error);
  if (ok)
    ok = meta_set_hlc (&self->main, "hlc_floor", floor, error);
  if (!end_write (self, &self->main, ok, error))
    return FALSE;

  note_server_hlc (self, server_hlc);
  return TRUE;
}

gint64
vd_store_get_cursor (VdStore *self)
{
  g_return_val_if_fail (VD_IS_STORE (self), 0);

  return meta_get_int (&self->main, "cursor", 0);
}

gboolean
vd_store_apply_pull (VdStore       *self,
                     VdPullAnswer  *page,
                     GError       **error)
{
  Conn *conn = &self->worker;
  GPtrArray *pairs;
  g_autofree guint *applied = NULL;
  g_autoptr(GPtrArray) tables = g_ptr_array_new ();   /* the VdTable*s that changed */
  VdHlc floor;
  gboolean ok = TRUE;

  g_return_val_if_fail (VD_IS_STORE (self), FALSE);
  g_return_val_if_fail (page != NULL && page->changes != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  applied = g_new0 (guint, MAX (page->changes->len, 1));

  g_mutex_lock (&self->worker_lock);
  if (!begin_write (self, conn, error))
    {
      g_mutex_unlock (&self->worker_lock);
      return FALSE;
    }

  floor = meta_get_hlc (conn, "hlc_floor");
  /* One savepoint for the page, not one per change (see vd_cell_store_apply_many). */
  ok = vd_cell_store_apply_many (conn->cells, page->changes, applied, error);
  for (guint i = 0; ok && i < page->changes->len; i++)
    {
      const VdChange *change = g_ptr_array_index (page->changes, i);

      ok = receive_hlc (self, conn, change->hlc, &floor, error);
      if (ok && applied[i] > 0 && !g_ptr_array_find (tables, change->table, NULL))
        g_ptr_array_add (tables, (gpointer) change->table);
    }
  if (ok)
    ok = receive_hlc (self, conn, page->server_hlc, &floor, error);
  if (ok)
    ok = meta_set_hlc (conn, "hlc_floor", floor, error);
  /* The cursor moves in the page's own transaction: a crash leaves both or neither. */
  if (ok)
    ok = meta_set_int (conn, "cursor", page->cursor, error);
  if (ok)
    note_server_hlc (self, page->server_hlc);

  ok = end_write (self, conn, ok, error);
  if (ok && !page->more)
    {
      /* The end of a round is the desk's idle moment; a bootstrap does not wait for it
       * (wal_hook_cb asks past CHECKPOINT_BULK_FRAMES). The copy of the page cache the
       * bootstrap needed goes back too. */
      sqlite3_db_release_memory (conn->db);
      if (checkpoint_backlog (self) >= CHECKPOINT_IDLE_FRAMES)
        request_checkpoint (self);
    }
  g_mutex_unlock (&self->worker_lock);
  if (!ok)
    return FALSE;

  pairs = g_ptr_array_new_with_free_func (g_free);
  for (guint t = 0; t < tables->len; t++)
    {
      g_ptr_array_add (pairs, g_strdup (((const VdTable *) g_ptr_array_index (tables, t))->name));
      g_ptr_array_add (pairs, NULL);
    }
  emit_changed (self, pairs);
  return TRUE;
}

/* Gives every cell of a row stamped (old, site) the clock (new, site). */
static gboolean
restamp_row (VdStore        *self,
             const VdChange *change,
             VdHlc           old_hlc,
             GError        **error)
{
  Conn *conn = &self->main;
  const VdTable *table = change->table;
  g_autofree char *select_sql = NULL;
  g_autofree char *update_sql = NULL;
  g_autofree guint8 *packed = NULL;
  VdCellClock *clocks;
  sqlite3_stmt *stmt = NULL;
  guint8 site[16];
  gsize packed_len = 0;
  gboolean found = FALSE;
  gboolean ok = TRUE;
  int rc;

  vd_uuid_to_bytes (change->site, site);
  clocks = g_newa (VdCellClock, table->n_columns);

  /* Table names come from the registry, never from input. */
  select_sql = g_strdup_printf ("SELECT _clocks FROM \"%s\" WHERE tenant_id = ?1 AND id = ?2",
                                table->name);
  if (sqlite3_prepare_v2 (conn->db, select_sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (error, conn->db, _("read"));
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, self->tenant_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, change->id, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      found = vd_cell_clocks_unpack (sqlite3_column_blob (stmt, 0),
                                     (gsize) sqlite3_column_bytes (stmt, 0),
                                     clocks, table->n_columns);
      if (!found)
        {
          g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED,
                       _("The stored clocks of a record are damaged."));
          ok = FALSE;
        }
    }
  else if (rc != SQLITE_DONE)
    {
      set_db_error (error, conn->db, _("read"));
      ok = FALSE;
    }
  sqlite3_finalize (stmt);
  if (!ok || !found)
    return ok;

  for (guint c = 0; c < table->n_columns; c++)
    if (clocks[c].clock.hlc == old_hlc && memcmp (clocks[c].clock.site, site, 16) == 0)
      clocks[c].clock.hlc = change->hlc;

  packed = vd_cell_clocks_pack (clocks, table->n_columns, &packed_len);
  update_sql = g_strdup_printf ("UPDATE \"%s\" SET _clocks = ?3 WHERE tenant_id = ?1 AND id = ?2",
                                table->name);
  if (sqlite3_prepare_v2 (conn->db, update_sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (error, conn->db, _("saved"));
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, self->tenant_id, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, change->id, -1, SQLITE_STATIC);
  sqlite3_bind_blob (stmt, 3, packed, (int) packed_len, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      set_db_error (error, conn->db, _("saved"));
      return FALSE;
    }
  return TRUE;
}

gboolean
vd_store_restamp_pending (VdStore  *self,
                          GError  **error)
{
  Conn *conn = &self->main;
  g_autoptr(GArray) ids = NULL;
  g_autoptr(GPtrArray) jsons = NULL;
  sqlite3_stmt *stmt;
  gint64 offset;
  VdHlc floor;
  VdHlc wall;
  gboolean ok;
  int rc;

  g_return_val_if_fail (VD_IS_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!begin_write (self, conn, error))
    return FALSE;

  /* The server's clock as we last saw it, against ours at that moment: from now on the
   * clock runs at the server's time. */
  offset = vd_hlc_clock_get_offset (self->clock);
  if (self->server_hlc != 0)
    offset = vd_hlc_ms (self->server_hlc) - self->server_seen_ms;
  vd_hlc_clock_set_offset (self->clock, offset);

  /* Rewind, but never below an hlc the server has seen from us or sent us, so a new
   * write still wins over every write this desk already knows of. */
  floor = meta_get_hlc (conn, "hlc_floor");
  wall = vd_hlc_make (MAX (vd_hlc_clock_wall_ms (self->clock), 0), 0);
  vd_hlc_clock_rewind (self->clock, MAX (floor, wall));

  ok = meta_set_int (conn, "clock_offset_ms", offset, error) &&
       meta_set_hlc (conn, "hlc", vd_hlc_clock_last (self->clock), error);

  /* In-flight entries keep their stamps: the server may already hold that batch, and a
   * replay must carry exactly the same changes. */
  ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  jsons = g_ptr_array_new_with_free_func (g_free);
  stmt = ok ? conn_stmt (conn,
                         "SELECT id, change_json FROM outbox WHERE batch_id IS NULL "
                         "AND rejected_code IS NULL ORDER BY id", error) : NULL;
  ok = stmt != NULL;
  if (ok)
    {
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          gint64 id = sqlite3_column_int64 (stmt, 0);

          g_array_append_val (ids, id);
          g_ptr_array_add (jsons, g_strdup ((const char *) sqlite3_column_text (stmt, 1)));
        }
      if (rc != SQLITE_DONE)
        {
          set_db_error (error, conn->db, _("read"));
          ok = FALSE;
        }
      stmt_done (stmt);
    }

  /* Oldest first, so later edits of a cell keep larger stamps than earlier ones. */
  for (guint i = 0; ok && i < ids->len; i++)
    {
      g_autoptr(VdChange) change = NULL;
      g_autofree char *json = NULL;
      VdHlc old_hlc;

      change = change_from_json (g_ptr_array_index (jsons, i), error);
      if (change == NULL)
        {
          ok = FALSE;
          break;
        }
      old_hlc = change->hlc;
      change->hlc = vd_hlc_clock_tick (self->clock);
      ok = restamp_row (self, change, old_hlc, error);
      if (!ok)
        break;
      json = change_to_json (change);
      stmt = conn_stmt (conn, "UPDATE outbox SET hlc = ?2, change_json = ?3 WHERE id = ?1", error);
      ok = stmt != NULL;
      if (!ok)
        break;
      sqlite3_bind_int64 (stmt, 1, g_array_index (ids, gint64, i));
      sqlite3_bind_int64 (stmt, 2, (gint64) change->hlc);
      sqlite3_bind_text (stmt, 3, json, -1, SQLITE_STATIC);
      ok = conn_run (conn, stmt, error);
    }

  return end_write (self, conn, ok, error);
}

GPtrArray *
vd_store_list_rejected (VdStore  *self,
                        GError  **error)
{
  g_autoptr(GPtrArray) list = NULL;
  sqlite3_stmt *stmt;
  int rc;

  g_return_val_if_fail (VD_IS_STORE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = conn_stmt (&self->main,
                    "SELECT id, \"table\", row_id, rejected_code, rejected_message, change_json "
                    "FROM outbox WHERE rejected_code IS NOT NULL ORDER BY id", error);
  if (stmt == NULL)
    return NULL;
  list = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_rejected_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      VdRejected *rejected = g_new0 (VdRejected, 1);

      rejected->outbox_id = sqlite3_column_int64 (stmt, 0);
      rejected->table = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      rejected->row_id = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      rejected->code = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      rejected->message = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
      rejected->change_json = g_strdup ((const char *) sqlite3_column_text (stmt, 5));
      g_ptr_array_add (list, rejected);
    }
  if (rc != SQLITE_DONE)
    {
      set_db_error (error, self->main.db, _("read"));
      stmt_done (stmt);
      return NULL;
    }
  stmt_done (stmt);
  return g_steal_pointer (&list);
}

gboolean
vd_store_discard_rejected (VdStore  *self,
                           gint64    outbox_id,
                           GError  **error)
{
  sqlite3_stmt *stmt;
  gboolean ok;

  g_return_val_if_fail (VD_IS_STORE (self), FALSE);

  if (!begin_write (self, &self->main, error))
    return FALSE;
  stmt = conn_stmt (&self->main,
                    "DELETE FROM outbox WHERE id = ?1 AND rejected_code IS NOT NULL", error);
  ok = stmt != NULL;
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, outbox_id);
      ok = conn_run (&self->main, stmt, error);
    }
  if (ok && sqlite3_changes (self->main.db) == 0)
    {
      g_set_error (error, VD_STORE_ERROR, VD_STORE_ERROR_NOT_FOUND,
                   _("That refused change is no longer waiting on this computer."));
      ok = FALSE;
    }
  return end_write (self, &self->main, ok, error);
}
