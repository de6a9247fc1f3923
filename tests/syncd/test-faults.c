/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-faults.c — vetdesk-syncd under faults (ARCHITECTURE §4, §7, §8): kill -9 in the
 * middle of pushes from several desks, PostgreSQL restarted under load, two syncd processes
 * on one PostgreSQL, and slow or idle clients. Nothing acknowledged is lost, nothing is
 * applied twice, cursors never skip. Randomised with a fixed seed: VD_SEED=n replays one. */
#define G_LOG_DOMAIN "test-faults"

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>

#include "vd-cell-store.h"
#include "vd-change.h"
#include "vd-protocol.h"
#include "vd-hlc.h"
#include "vd-id.h"
#include "vd-test-pg.h"
#include "vd-test-syncd.h"
#include "vds-db.h"

#define PASSWORD  "correct horse battery"
#define N_DEVICES 4
#define N_SHARED  12

/* Rate limits and the per-address caps out of the way: the desks of these tests are many
 * and fast on purpose, and all of them come from 127.0.0.1. */
#define LOAD_CONFIG \
  "[limits]\n" \
  "address-rate=0\n" \
  "clinic-rate=0\n" \
  "login-rate=0\n" \
  "[server]\n" \
  "max-connections-per-address=1000000\n" \
  "max-body-memory-per-address=1048576\n"

static guint32 seed;
static VdTestPg *pg;

static void G_GNUC_PRINTF (1, 2) G_GNUC_NORETURN
fail (const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_error ("%s (replay with VD_SEED=%u)", message, seed);
}

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1e6;
}

/* ---- HTTP, from any thread (each thread its own session) ---- */

typedef struct
{
  char *url;
  char *fingerprint;
} Endpoint;

typedef struct
{
  guint  status;
  char  *body;
  gsize  len;
} Reply;

static void
reply_free (Reply *r)
{
  if (r == NULL)
    return;
  g_free (r->body);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reply, reply_free)

static SoupSession *
new_session (void)
{
  return soup_session_new_with_options ("timeout", 30, "idle-timeout", 10,
                                        "max-conns-per-host", 4,
                                        "user-agent", "VetDesk/0.1.0 (test-faults)", NULL);
}

/* NULL with error when no HTTP answer came (refused, reset, cut short). */
static Reply *
http_call (SoupSession    *session,
           const Endpoint *ep,
           const char     *method,
           const char     *path,
           const char     *token,
           const char     *body,
           gsize           len,
           GError        **error)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *uri = g_strconcat (ep->url, path, NULL);
  Reply *r;

  msg = soup_message_new (method, uri);
  g_assert_nonnull (msg);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                    ep->fingerprint);
  if (token != NULL)
    {
      g_autofree char *value = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg),
                                    "Authorization", value);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) request = g_bytes_new (body, len);
      soup_message_set_request_body_from_bytes (msg, "application/json", request);
    }
  bytes = soup_session_send_and_read (session, msg, NULL, error);
  if (bytes == NULL)
    return NULL;
  r = g_new0 (Reply, 1);
  r->status = soup_message_get_status (msg);
  r->len = g_bytes_get_size (bytes);
  r->body = g_strndup (g_bytes_get_data (bytes, NULL), r->len);
  return r;
}

static JsonNode *
parse_json (const Reply *r)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (r->len == 0 || !json_parser_load_from_data (parser, r->body, r->len, NULL))
    return NULL;
  return json_node_ref (json_parser_get_root (parser));
}

/* The "code" of an error answer, or NULL. */
static char *
error_code (const Reply *r)
{
  g_autoptr(JsonNode) root = parse_json (r);
  JsonObject *error;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)
      || !json_object_has_member (json_node_get_object (root), "error"))
    return NULL;
  error = json_object_get_object_member (json_node_get_object (root), "error");
  if (error == NULL || !json_object_has_member (error, "code"))
    return NULL;
  return g_strdup (json_object_get_string_member (error, "code"));
}

static gboolean
is_unavailable (const Reply *r)
{
  g_autofree char *code = error_code (r);

  return r->status == 503 && g_strcmp0 (code, "unavailable") == 0;
}

static char *
login (SoupSession    *session,
       const Endpoint *ep,
       const char     *device_id)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(Reply) r = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "username");
  json_builder_add_string_value (b, "desk");
  json_builder_set_member_name (b, "password");
  json_builder_add_string_value (b, PASSWORD);
  json_builder_set_member_name (b, "device_id");
  json_builder_add_string_value (b, device_id);
  json_builder_set_member_name (b, "device_name");
  json_builder_add_string_value (b, "Front desk PC");
  if (vd_test_device_secret (device_id) != NULL)
    {
      json_builder_set_member_name (b, "device_secret");
      json_builder_add_string_value (b, vd_test_device_secret (device_id));
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  body = json_generator_to_data (gen, NULL);

  r = http_call (session, ep, "POST", "/v1/auth/login", NULL, body, strlen (body), &error);
  g_assert_no_error (error);
  if (r->status != 200)
    fail ("login answered %u: %s", r->status, r->body);
  vd_test_device_secret_keep (device_id, r->body);
  answer = parse_json (r);
  return g_strdup (json_object_get_string_member (json_node_get_object (answer), "access_token"));
}

/* ---- the daemon, killed and started again on the same port and database ---- */

typedef struct
{
  VdTestSyncd *syncd;     /* data directory, database, first start */
  GSubprocess *process;   /* the daemon after a restart on the same port */
  Endpoint     ep;
  guint16      port;
  guint        restarts;
} Daemon;

static Daemon *
daemon_new (const char *database_uri,
            const char *config)
{
  Daemon *d = g_new0 (Daemon, 1);

  d->syncd = vd_test_syncd_new (VETDESK_SYNCD, database_uri);
  vd_test_syncd_set_config (d->syncd, config);
  return d;
}

static void
daemon_start (Daemon *d)
{
  g_autoptr(GError) error = NULL;

  if (!vd_test_syncd_start (d->syncd, &error))
    fail ("%s", error->message);
  d->port = vd_test_syncd_get_port (d->syncd);
  g_free (d->ep.url);
  g_free (d->ep.fingerprint);
  d->ep.url = g_strdup (vd_test_syncd_get_url (d->syncd));
  d->ep.fingerprint = g_strdup (vd_test_syncd_get_fingerprint (d->syncd));
  g_assert_nonnull (d->ep.fingerprint);
}

static char *
daemon_log_path (Daemon *d)
{
  return g_build_filename (vd_test_syncd_get_data_dir (d->syncd), "restarted.log", NULL);
}

static void
daemon_kill (Daemon *d)
{
  if (d->process != NULL)
    {
      g_subprocess_force_exit (d->process);
      g_subprocess_wait (d->process, NULL, NULL);
      g_clear_object (&d->process);
    }
  else
    vd_test_syncd_kill (d->syncd);
}

/* serve again on the port the desks know; returns the seconds until it listened. */
static double
daemon_restart (Daemon *d)
{
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", d->port);
  g_autofree char *log_path = daemon_log_path (d);
  g_autofree char *config = g_build_filename (vd_test_syncd_get_data_dir (d->syncd),
                                              "syncd.conf", NULL);
  gint64 start = g_get_monotonic_time ();

  g_assert_null (d->process);
  g_assert_false (vd_test_syncd_is_running (d->syncd));
  /* A port just released can still be taken for a moment: a few tries. */
  for (guint attempt = 0; attempt < 5; attempt++)
    {
      g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
      g_autoptr(GError) error = NULL;
      gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

      g_unlink (log_path);
      g_subprocess_launcher_unsetenv (launcher, "STATE_DIRECTORY");
      g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME",
                                    vd_test_syncd_get_data_dir (d->syncd), TRUE);
      g_subprocess_launcher_set_stdout_file_path (launcher, log_path);
      g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
      d->process = g_subprocess_launcher_spawn (launcher, &error, VETDESK_SYNCD, "serve",
                                                "--database",
                                                vd_test_syncd_get_database (d->syncd),
                                                "--data-dir",
                                                vd_test_syncd_get_data_dir (d->syncd),
                                                "--listen", listen, "--config", config, NULL);
      g_assert_no_error (error);
      for (;;)
        {
          g_autofree char *text = NULL;

          if (g_file_get_contents (log_path, &text, NULL, NULL)
              && strstr (text, "listening on") != NULL)
            {
              /* Same data directory, same certificate: the desks' pin still holds. */
              if (strstr (text, d->ep.fingerprint) == NULL)
                fail ("the restarted daemon has another certificate: %s", text);
              d->restarts++;
              return seconds_since (start);
            }
          if (g_subprocess_get_identifier (d->process) == NULL)
            {
              g_test_message ("restart on %s failed (try %u): %s", listen, attempt + 1,
                              text ? text : "");
              g_clear_object (&d->process);
              g_usleep (200 * 1000);
              break;
            }
          if (g_get_monotonic_time () > deadline)
            fail ("vetdesk-syncd did not come back on %s: %s", listen, text ? text : "");
          g_usleep (10 * 1000);
        }
    }
  fail ("vetdesk-syncd could not listen again on %s", listen);
}

/* SIGTERM: the daemon drains and exits 0. */
static void
daemon_stop (Daemon *d)
{
  g_autoptr(GError) error = NULL;

  if (d->process == NULL)
    {
      if (!vd_test_syncd_stop (d->syncd, &error))
        fail ("%s", error->message);
      return;
    }
  g_subprocess_send_signal (d->process, SIGTERM);
  g_subprocess_wait (d->process, NULL, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (d->process) || g_subprocess_get_exit_status (d->process) != 0)
    {
      g_autofree char *log_path = daemon_log_path (d);
      g_autofree char *text = NULL;

      g_file_get_contents (log_path, &text, NULL, NULL);
      fail ("vetdesk-syncd did not exit 0 after SIGTERM: %s", text ? text : "");
    }
  g_clear_object (&d->process);
}

static void
daemon_free (Daemon *d)
{
  if (d == NULL)
    return;
  if (d->process != NULL)
    daemon_kill (d);
  vd_test_syncd_free (d->syncd);
  g_free (d->ep.url);
  g_free (d->ep.fingerprint);
  g_free (d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Daemon, daemon_free)

/* One clinic and one front-desk person, whose desks are the devices. */
static char *
setup_clinic (Daemon *d)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *company = NULL;
  g_autofree char *user = NULL;
  g_autofree char *version = NULL;
  char *tenant;

  version = vd_test_syncd_run (d->syncd, NULL, &error, "migrate", NULL);
  if (version == NULL)
    fail ("migrate: %s", error->message);
  company = vd_test_syncd_run (d->syncd, NULL, &error, "add-company", "Faults Co", NULL);
  if (company == NULL)
    fail ("add-company: %s", error->message);
  tenant = vd_test_syncd_run (d->syncd, NULL, &error, "add-tenant", "--slug", "f1", "--name",
                              "Clínica Fallos", "--timezone", "Europe/Madrid", "--currency",
                              "EUR", "--company", company, NULL);
  if (tenant == NULL)
    fail ("add-tenant: %s", error->message);
  user = vd_test_syncd_run (d->syncd, PASSWORD "\n", &error, "add-user", "--username", "desk",
                            "--display-name", "Desk", "--clinic", "f1:front_desk", NULL);
  if (user == NULL)
    fail ("add-user: %s", error->message);
  g_assert_true (vd_uuid_is_valid (tenant));
  return tenant;
}

/* ---- what the desks wrote, merged here by the rule of §4 on our own ---- */

typedef struct
{
  gboolean written;
  VdHlc    hlc;
  guint8   site[16];
  VdValue  value;
} ExpCell;

typedef struct
{
  const VdTable *table;
  char           id[VD_UUID_LEN + 1];
  ExpCell       *cells;
} ExpRow;

static void
exp_row_free (ExpRow *row)
{
  for (guint i = 0; i < row->table->n_columns; i++)
    vd_value_clear (&row->cells[i].value);
  g_free (row->cells);
  g_free (row);
}

static GHashTable *
expected_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) exp_row_free);
}

static void
expected_apply (GHashTable     *expected,
                const VdChange *change)
{
  g_autofree char *key = g_strdup_printf ("%s/%s", change->table->name, change->id);
  ExpRow *row = g_hash_table_lookup (expected, key);
  guint8 site[16];

  if (row == NULL)
    {
      row = g_new0 (ExpRow, 1);
      row->table = change->table;
      memcpy (row->id, change->id, sizeof row->id);
      row->cells = g_new0 (ExpCell, change->table->n_columns);
      g_hash_table_insert (expected, g_steal_pointer (&key), row);
    }
  g_assert_true (vd_uuid_to_bytes (change->site, site));
  for (guint i = 0; i < change->cells->len; i++)
    {
      const VdCell *cell = &g_array_index (change->cells, VdCell, i);
      ExpCell *e = &row->cells[cell->column->index];

      if (e->written
          && (change->hlc < e->hlc || (change->hlc == e->hlc && memcmp (site, e->site, 16) <= 0)))
        continue;
      e->written = TRUE;
      e->hlc = change->hlc;
      memcpy (e->site, site, 16);
      vd_value_clear (&e->value);
      vd_value_copy (&cell->value, &e->value);
    }
}

static char *
value_text (const VdValue *v)
{
  switch (v->kind)
    {
    case VD_VALUE_NULL:
      return g_strdup ("null");
    case VD_VALUE_INT:
      return g_strdup_printf ("%" G_GINT64_FORMAT, v->i);
    case VD_VALUE_REAL:
      return g_strdup_printf ("%g", v->r);
    case VD_VALUE_BOOL:
      return g_strdup (v->b ? "true" : "false");
    case VD_VALUE_TEXT:
      return g_strdup_printf ("“%s”", v->s);
    default:
      return g_strdup ("?");
    }
}

static char *
site_text (const guint8 site[16])
{
  char out[VD_UUID_LEN + 1];

  vd_uuid_from_bytes (site, out);
  return g_strdup (out);
}

/* The store (a replica made from pulls) holds exactly the expected rows, cell by cell:
 * the value and the (hlc, site) of the latest write. */
static void
check_store (VdCellStore *store,
             GHashTable  *expected,
             const char  *what)
{
  const VdTable *tables;
  guint n_tables, n_rows = 0;
  GHashTableIter iter;
  gpointer value;

  tables = vd_schema_tables (&n_tables);
  for (guint t = 0; t < n_tables; t++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT id FROM %s WHERE tenant_id = ?1",
                                              tables[t].name);
      sqlite3_stmt *stmt = NULL;

      g_assert_cmpint (sqlite3_prepare_v2 (vd_cell_store_get_db (store), sql, -1, &stmt, NULL),
                       ==, SQLITE_OK);
      sqlite3_bind_text (stmt, 1, vd_cell_store_get_tenant_id (store), -1, SQLITE_TRANSIENT);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          g_autofree char *key = g_strdup_printf ("%s/%s", tables[t].name,
                                                  (const char *) sqlite3_column_text (stmt, 0));
          if (!g_hash_table_contains (expected, key))
            fail ("%s: row %s was never written by any desk", what, key);
          n_rows++;
        }
      sqlite3_finalize (stmt);
    }
  if (n_rows != g_hash_table_size (expected))
    fail ("%s: %u rows where the desks wrote %u", what, n_rows, g_hash_table_size (expected));

  g_hash_table_iter_init (&iter, expected);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      ExpRow *row = value;
      guint n = row->table->n_columns;
      g_autofree VdValue *values = g_new0 (VdValue, n);
      g_autofree VdCellClock *clocks = g_new0 (VdCellClock, n);
      g_autoptr(GError) error = NULL;
      gint64 row_seq = 0;

      if (!vd_cell_store_get_row (store, row->table, row->id, values, clocks, &row_seq, &error))
        fail ("%s: row %s/%s is missing%s%s", what, row->table->name, row->id,
              error ? ": " : "", error ? error->message : "");
      for (guint i = 0; i < n; i++)
        {
          const ExpCell *e = &row->cells[i];
          gboolean same;

          if (!e->written)
            same = clocks[i].clock.hlc == 0;
          else
            same = clocks[i].clock.hlc == e->hlc && memcmp (clocks[i].clock.site, e->site, 16) == 0
                   && vd_value_equal (&values[i], &e->value);
          if (!same)
            {
              g_autofree char *want = value_text (&e->value);
              g_autofree char *got = value_text (&values[i]);
              g_autofree char *want_site = site_text (e->site);
              g_autofree char *got_site = site_text (clocks[i].clock.site);

              fail ("%s: %s/%s column %s: expected %s by (%016" G_GINT64_MODIFIER "x, %s), "
                    "found %s by (%016" G_GINT64_MODIFIER "x, %s)", what, row->table->name,
                    row->id, row->table->columns[i].name, e->written ? want : "(unwritten)",
                    e->hlc, want_site, got, clocks[i].clock.hlc, got_site);
            }
        }
      for (guint i = 0; i < n; i++)
        vd_value_clear (&values[i]);
    }
}

/* ---- pulls ---- */

/* The rules of one page of a pull after 'after': seqs above the cursor, rows in strictly
 * increasing seq, a row's changes together under one seq, the cursor at or past the last
 * row. seen (may be NULL) collects rows across pages that must not repeat. FALSE with a
 * sentence in *out_problem. */
static gboolean
check_page (const VdPullAnswer *p,
            gint64              after,
            GHashTable         *seen,
            char              **out_problem)
{
  g_autoptr(GHashTable) in_page = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const VdChange *prev = NULL;

  if (p->cursor < after)
    {
      *out_problem = g_strdup_printf ("the cursor went back from %" G_GINT64_FORMAT " to %"
                                      G_GINT64_FORMAT, after, p->cursor);
      return FALSE;
    }
  for (guint i = 0; i < p->changes->len; i++)
    {
      const VdChange *c = g_ptr_array_index (p->changes, i);
      gboolean same_row = prev != NULL && prev->table == c->table && strcmp (prev->id, c->id) == 0;
      g_autofree char *key = NULL;

      if (c->seq <= after)
        {
          *out_problem = g_strdup_printf ("seq %" G_GINT64_FORMAT " in a pull after %"
                                          G_GINT64_FORMAT, c->seq, after);
          return FALSE;
        }
      if (same_row)
        {
          if (c->seq != prev->seq)
            {
              *out_problem = g_strdup_printf ("row %s comes with seqs %" G_GINT64_FORMAT
                                              " and %" G_GINT64_FORMAT, c->id, prev->seq, c->seq);
              return FALSE;
            }
          continue;
        }
      if (prev != NULL && c->seq <= prev->seq)
        {
          *out_problem = g_strdup_printf ("seq %" G_GINT64_FORMAT " after %" G_GINT64_FORMAT
                                          " (rows must come in increasing seq)", c->seq,
                                          prev->seq);
          return FALSE;
        }
      key = g_strdup_printf ("%s/%s", c->table->name, c->id);
      if (g_hash_table_contains (in_page, key)
          || (seen != NULL && g_hash_table_contains (seen, key)))
        {
          *out_problem = g_strdup_printf ("row %s comes twice", key);
          return FALSE;
        }
      if (seen != NULL)
        g_hash_table_add (seen, g_strdup (key));
      g_hash_table_add (in_page, g_steal_pointer (&key));
      prev = c;
    }
  if (prev != NULL && p->cursor < prev->seq)
    {
      *out_problem = g_strdup_printf ("cursor %" G_GINT64_FORMAT " behind the last row's seq %"
                                      G_GINT64_FORMAT, p->cursor, prev->seq);
      return FALSE;
    }
  if (p->changes->len == 0 && p->more)
    {
      *out_problem = g_strdup ("an empty page says there is more");
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  sqlite3     *db;
  VdCellStore *store;
} Replica;

static Replica *
replica_new (const char *tenant_id)
{
  Replica *r = g_new0 (Replica, 1);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (sqlite3_open (":memory:", &r->db), ==, SQLITE_OK);
  r->store = vd_cell_store_new (r->db, tenant_id, &error);
  g_assert_no_error (error);
  return r;
}

static void
replica_free (Replica *r)
{
  if (r == NULL)
    return;
  vd_cell_store_free (r->store);
  sqlite3_close (r->db);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Replica, replica_free)

static gboolean
replica_apply (Replica            *r,
               const VdPullAnswer *p,
               GError            **error)
{
  for (guint i = 0; i < p->changes->len; i++)
    if (!vd_cell_store_apply (r->store, g_ptr_array_index (p->changes, i), NULL, error))
      return FALSE;
  return TRUE;
}

/* Everything from 0, at rest, through ep: each row once, pages by the rules above. Returns
 * the replica; out_changes (may be NULL) every change in order; out_cursor the last one. */
static Replica *
full_pull (SoupSession    *session,
           const Endpoint *ep,
           const char     *token,
           const char     *tenant_id,
           guint           limit,
           GPtrArray     **out_changes,
           gint64         *out_cursor)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  Replica *replica = replica_new (tenant_id);
  gint64 cursor = 0;
  gboolean more = TRUE;

  while (more)
    {
      g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=%"
                                               G_GINT64_FORMAT "&limit=%u", tenant_id,
                                               cursor, limit);
      g_autoptr(GError) error = NULL;
      g_autoptr(Reply) r = http_call (session, ep, "GET", path, token, NULL, 0, &error);
      g_autoptr(VdPullAnswer) p = NULL;
      g_autofree char *problem = NULL;

      if (r == NULL)
        fail ("pull from %s at %" G_GINT64_FORMAT ": %s", ep->url, cursor, error->message);
      if (r->status != 200)
        fail ("pull from %s at %" G_GINT64_FORMAT " answered %u: %s", ep->url, cursor,
              r->status, r->body);
      p = vd_pull_answer_decode (r->body, r->len, &error);
      if (p == NULL)
        fail ("pull answer not understood: %s", error->message);
      if (!check_page (p, cursor, seen, &problem))
        fail ("pull from 0 through %s: %s", ep->url, problem);
      if (!replica_apply (replica, p, &error))
        fail ("pulled changes do not apply: %s", error->message);
      for (guint i = 0; i < p->changes->len; i++)
        g_ptr_array_add (changes, vd_change_copy (g_ptr_array_index (p->changes, i)));
      cursor = p->cursor;
      more = p->more;
    }
  if (out_cursor != NULL)
    *out_cursor = cursor;
  if (out_changes != NULL)
    *out_changes = changes;
  else
    g_ptr_array_unref (changes);
  return replica;
}

/* ---- desks pushing, and a desk pulling, on threads ---- */

typedef struct
{
  const Endpoint *eps[2];
  guint           n_eps;
  const char     *tenant_id;
  char           *shared_ids[N_SHARED];   /* rows every desk edits */
  guint           min_batches;
  guint           max_batches;
  guint           max_changes;            /* per batch: 1 … max */
  guint           pause_ms;               /* between batches: 0 … pause */
  gint64          deadline;               /* monotonic: a request unanswered by then fails */
  gint            finish;                 /* desks stop once they did min_batches */
  gint            stop_pulling;           /* set once every push is answered */
} Load;

typedef struct
{
  Load        *load;
  guint        index;
  GThread     *thread;
  GRand       *rand;
  VdHlcClock  *clock;
  char        *device_id;
  char        *access;
  GPtrArray   *sent;          /* every change of every answered batch */
  GPtrArray   *own_ids;
  gint64       batch_id;
  guint        batches;
  guint        changes;
  guint        transport_failures;
  guint        unavailable;
  guint        replays;
  char        *failure;
} Device;

static const Endpoint *
pick_endpoint (Load  *load,
               GRand *rand)
{
  return load->eps[load->n_eps == 1 ? 0 : g_rand_int_range (rand, 0, load->n_eps)];
}

static void
set_text (VdChange   *change,
          const char *column,
          const char *text)
{
  VdValue v = { 0, };

  if (text == NULL)
    vd_value_set_null (&v);
  else
    vd_value_set_text (&v, text);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &v);
}

static void
set_bool (VdChange   *change,
          const char *column,
          gboolean    b)
{
  VdValue v = { 0, };

  vd_value_set_bool (&v, b);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &v);
}

/* A whole new client row: what "create" looks like on a desk. */
static VdChange *
new_client (const char *id,
            VdHlc       hlc,
            const char *site,
            const char *tag)
{
  VdChange *c = vd_change_new (vd_schema_lookup_table ("clients"), id, hlc, site);
  g_autofree char *last = g_strdup_printf ("Last %s", tag);
  g_autofree char *email = g_strdup_printf ("c.%s@example.com", tag);

  set_text (c, "first_name", "Ana");
  set_text (c, "last_name", last);
  set_text (c, "email", email);
  set_text (c, "phone", "+34 600 000 000");
  set_bool (c, "deleted", FALSE);
  return c;
}

/* One to three columns of an existing row; every value names its write. */
static VdChange *
edit_client (Device     *dev,
             const char *id,
             const char *tag)
{
  static const char * const columns[] = { "first_name", "last_name", "email", "phone",
                                          "address", "notes", "deleted" };
  VdChange *c = vd_change_new (vd_schema_lookup_table ("clients"), id,
                               vd_hlc_clock_tick (dev->clock), dev->device_id);
  guint n = g_rand_int_range (dev->rand, 1, 4);

  for (guint k = 0; k < n; k++)
    {
      const char *column = columns[g_rand_int_range (dev->rand, 0, G_N_ELEMENTS (columns))];
      g_autofree char *text = NULL;

      if (g_str_equal (column, "deleted"))
        set_bool (c, column, g_rand_int_range (dev->rand, 0, 4) == 0);
      else if (g_str_equal (column, "email"))
        {
          text = g_strdup_printf ("e.%s@example.com", tag);
          set_text (c, column, g_rand_boolean (dev->rand) ? text : NULL);
        }
      else if (g_str_equal (column, "phone"))
        {
          text = g_strdup_printf ("+34 %u", g_rand_int_range (dev->rand, 100000, 999999));
          set_text (c, column, text);
        }
      else
        {
          text = g_strdup_printf ("%s %s", column, tag);
          set_text (c, column, text);
        }
    }
  return c;
}

static GPtrArray *
make_batch (Device *dev)
{
  GPtrArray *changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  guint n = g_rand_int_range (dev->rand, 1, dev->load->max_changes + 1);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *tag = g_strdup_printf ("d%u-b%" G_GINT64_FORMAT "-c%u", dev->index,
                                              dev->batch_id, i);
      double dice = g_rand_double (dev->rand);

      if (dice < 0.3 || dev->own_ids->len == 0)
        {
          char *id = vd_uuid_new ();

          g_ptr_array_add (changes, new_client (id, vd_hlc_clock_tick (dev->clock),
                                                dev->device_id, tag));
          g_ptr_array_add (dev->own_ids, id);
        }
      else if (dice < 0.7)
        {
          guint k = g_rand_int_range (dev->rand, 0, N_SHARED);

          g_ptr_array_add (changes, edit_client (dev, dev->load->shared_ids[k], tag));
        }
      else
        {
          guint k = g_rand_int_range (dev->rand, 0, dev->own_ids->len);

          g_ptr_array_add (changes, edit_client (dev, dev->own_ids->pdata[k], tag));
        }
    }
  return changes;
}

/* Sends one push until it gets an answer, the same batch_id and bytes every time, as a
 * desk does with its outbox. Transport failures and 503 "unavailable" are retried; any
 * other answer is a failure. */
static Reply *
push_until_answered (Device      *dev,
                     SoupSession *session,
                     const char  *body,
                     gsize        len)
{
  Load *load = dev->load;
  g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/push", load->tenant_id);
  g_autofree char *last_problem = NULL;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      Reply *r = http_call (session, pick_endpoint (load, dev->rand), "POST", path, dev->access,
                            body, len, &error);

      if (r != NULL && r->status == 200)
        return r;
      if (r == NULL)
        {
          dev->transport_failures++;
          g_free (last_problem);
          last_problem = g_strdup (error->message);
        }
      else if (is_unavailable (r))
        {
          dev->unavailable++;
          g_free (last_problem);
          last_problem = g_strdup (r->body);
        }
      else
        {
          dev->failure = g_strdup_printf ("desk %u: push of batch %" G_GINT64_FORMAT
                                          " answered %u: %s", dev->index, dev->batch_id,
                                          r->status, r->body);
          reply_free (r);
          return NULL;
        }
      reply_free (r);
      if (g_get_monotonic_time () > load->deadline)
        {
          dev->failure = g_strdup_printf ("desk %u: batch %" G_GINT64_FORMAT " got no answer "
                                          "in time; last: %s", dev->index, dev->batch_id,
                                          last_problem);
          return NULL;
        }
      g_usleep (g_rand_int_range (dev->rand, 10, 60) * 1000);
    }
}

static gboolean
check_push_answer (Device      *dev,
                   const Reply *r,
                   guint        n)
{
  g_autoptr(JsonNode) root = parse_json (r);
  JsonObject *o;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    goto bad;
  o = json_node_get_object (root);
  if (json_object_get_int_member_with_default (o, "batch_id", -1) != dev->batch_id
      || json_object_get_int_member_with_default (o, "accepted", -1) != n
      || json_object_get_array_member (o, "rejected") == NULL
      || json_array_get_length (json_object_get_array_member (o, "rejected")) != 0
      || json_object_get_int_member_with_default (o, "cursor", 0) <= 0)
    goto bad;
  return TRUE;

bad:
  dev->failure = g_strdup_printf ("desk %u: batch %" G_GINT64_FORMAT " of %u changes answered: %s",
                                  dev->index, dev->batch_id, n, r->body);
  return FALSE;
}

static gpointer
device_thread (gpointer data)
{
  Device *dev = data;
  Load *load = dev->load;
  g_autoptr(SoupSession) session = new_session ();

  while (dev->batches < load->max_batches
         && (dev->batches < load->min_batches || !g_atomic_int_get (&load->finish)))
    {
      g_autoptr(GPtrArray) changes = NULL;
      g_autoptr(Reply) answer = NULL;
      g_autofree char *body = NULL;
      gsize len;

      dev->batch_id++;
      changes = make_batch (dev);
      body = vd_push_request_encode (dev->device_id, dev->batch_id, changes, &len);
      answer = push_until_answered (dev, session, body, len);
      if (answer == NULL || !check_push_answer (dev, answer, changes->len))
        break;

      /* Sent again on purpose: the stored answer, byte for byte, and nothing applied. */
      if (g_rand_int_range (dev->rand, 0, 10) == 0)
        {
          g_autoptr(Reply) again = push_until_answered (dev, session, body, len);

          if (again == NULL)
            break;
          if (again->len != answer->len || memcmp (again->body, answer->body, answer->len) != 0)
            {
              dev->failure = g_strdup_printf ("desk %u: batch %" G_GINT64_FORMAT " sent again "
                                              "was answered %s, first %s", dev->index,
                                              dev->batch_id, again->body, answer->body);
              break;
            }
          dev->replays++;
        }

      dev->changes += changes->len;
      dev->batches++;
      g_ptr_array_extend_and_steal (dev->sent, g_steal_pointer (&changes));
      if (load->pause_ms > 0)
        g_usleep (g_rand_int_range (dev->rand, 0, load->pause_ms + 1) * 1000);
    }
  return NULL;
}

static Device *
device_new (Load           *load,
            guint           index,
            SoupSession    *session,
            const Endpoint *login_ep)
{
  Device *dev = g_new0 (Device, 1);

  dev->load = load;
  dev->index = index;
  dev->rand = g_rand_new_with_seed (seed * 31u + index + 1);
  dev->clock = vd_hlc_clock_new (0, NULL, NULL);
  dev->device_id = vd_uuid_new ();
  dev->access = login (session, login_ep, dev->device_id);
  dev->sent = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  dev->own_ids = g_ptr_array_new_with_free_func (g_free);
  return dev;
}

static void
device_free (Device *dev)
{
  g_rand_free (dev->rand);
  vd_hlc_clock_free (dev->clock);
  g_free (dev->device_id);
  g_free (dev->access);
  g_ptr_array_unref (dev->sent);
  g_ptr_array_unref (dev->own_ids);
  g_free (dev->failure);
  g_free (dev);
}

/* A desk pulling all along, from its cursor, with pages of varied size (and through both
 * daemons when there are two): its replica at the end must be the whole state, or a
 * cursor skipped a transaction. */
typedef struct
{
  Load        *load;
  GThread     *thread;
  GRand       *rand;
  char        *device_id;
  char        *access;
  Replica     *replica;
  gint64       cursor;
  guint        pages;
  guint        pulled;
  guint        transport_failures;
  guint        unavailable;
  char        *failure;
} Puller;

/* FALSE when this try got no usable page (retry), or with p->failure set. */
static gboolean
puller_step (Puller      *p,
             SoupSession *session,
             gboolean    *out_more)
{
  static const guint limits[] = { 7, 100, 1000 };
  guint limit = limits[g_rand_int_range (p->rand, 0, G_N_ELEMENTS (limits))];
  const Endpoint *ep = pick_endpoint (p->load, p->rand);
  g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=%" G_GINT64_FORMAT
                                           "&limit=%u", p->load->tenant_id, p->cursor, limit);
  g_autoptr(GError) error = NULL;
  g_autoptr(Reply) r = http_call (session, ep, "GET", path, p->access, NULL, 0, &error);
  g_autoptr(VdPullAnswer) answer = NULL;
  g_autofree char *problem = NULL;

  if (r == NULL)
    {
      p->transport_failures++;
      return FALSE;
    }
  if (r->status != 200 && is_unavailable (r))
    {
      p->unavailable++;
      return FALSE;
    }
  if (r->status != 200)
    {
      p->failure = g_strdup_printf ("puller: pull after %" G_GINT64_FORMAT " answered %u: %s",
                                    p->cursor, r->status, r->body);
      return FALSE;
    }
  answer = vd_pull_answer_decode (r->body, r->len, &error);
  if (answer == NULL)
    {
      p->failure = g_strdup_printf ("puller: answer not understood: %s", error->message);
      return FALSE;
    }
  if (!check_page (answer, p->cursor, NULL, &problem))
    {
      p->failure = g_strdup_printf ("puller, through %s after %" G_GINT64_FORMAT ": %s",
                                    ep->url, p->cursor, problem);
      return FALSE;
    }
  if (!replica_apply (p->replica, answer, &error))
    {
      p->failure = g_strdup_printf ("puller: %s", error->message);
      return FALSE;
    }
  p->pages++;
  p->pulled += answer->changes->len;
  p->cursor = answer->cursor;
  *out_more = answer->more;
  return TRUE;
}

static gpointer
puller_thread (gpointer data)
{
  Puller *p = data;
  g_autoptr(SoupSession) session = new_session ();

  while (p->failure == NULL)
    {
      /* Read before the request: a last page asked for after every push was answered
       * ends the run. */
      gboolean stopping = g_atomic_int_get (&p->load->stop_pulling);
      gboolean more = FALSE;

      if (!puller_step (p, session, &more))
        {
          if (p->failure == NULL && g_get_monotonic_time () > p->load->deadline)
            p->failure = g_strdup ("puller: no pull answered in time");
          g_usleep (30 * 1000);
          continue;
        }
      if (stopping && !more)
        break;
      if (!more)
        g_usleep (g_rand_int_range (p->rand, 10, 60) * 1000);
    }
  return NULL;
}

static Puller *
puller_new (Load           *load,
            SoupSession    *session,
            const Endpoint *login_ep)
{
  Puller *p = g_new0 (Puller, 1);

  p->load = load;
  p->rand = g_rand_new_with_seed (seed * 31u + 1000);
  p->device_id = vd_uuid_new ();
  p->access = login (session, login_ep, p->device_id);
  p->replica = replica_new (load->tenant_id);
  return p;
}

static void
puller_free (Puller *p)
{
  g_rand_free (p->rand);
  g_free (p->device_id);
  g_free (p->access);
  replica_free (p->replica);
  g_free (p->failure);
  g_free (p);
}

/* The run of one scenario: the clinic's shared rows, the desks and the puller. */
typedef struct
{
  Load        load;
  Device     *devices[N_DEVICES];
  Puller     *puller;
  GHashTable *expected;
  char       *setup_device;
  char       *setup_access;
  gint64      started;
} Run;

static void
run_init (Run            *run,
          SoupSession    *session,
          const Endpoint *login_ep,
          const char     *tenant_id)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  g_autoptr(Reply) r = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/push", tenant_id);
  g_autofree char *body = NULL;
  gsize len;

  memset (run, 0, sizeof *run);
  run->load.tenant_id = tenant_id;
  run->load.min_batches = 6;
  run->load.max_batches = 400;
  run->load.max_changes = 50;
  run->load.pause_ms = 20;
  run->expected = expected_new ();

  /* The shared rows exist before the desks start editing them. */
  run->setup_device = vd_uuid_new ();
  run->setup_access = login (session, login_ep, run->setup_device);
  for (guint i = 0; i < N_SHARED; i++)
    {
      g_autofree char *tag = g_strdup_printf ("shared%u", i);

      run->load.shared_ids[i] = vd_uuid_new ();
      g_ptr_array_add (changes, new_client (run->load.shared_ids[i],
                                            vd_hlc_make (g_get_real_time () / 1000, i),
                                            run->setup_device, tag));
      expected_apply (run->expected, changes->pdata[i]);
    }
  body = vd_push_request_encode (run->setup_device, 1, changes, &len);
  r = http_call (session, login_ep, "POST", path, run->setup_access, body, len, &error);
  g_assert_no_error (error);
  if (r->status != 200)
    fail ("the shared rows were refused: %u %s", r->status, r->body);

  for (guint i = 0; i < N_DEVICES; i++)
    run->devices[i] = device_new (&run->load, i, session, login_ep);
  run->puller = puller_new (&run->load, session, login_ep);
}

static void
run_start (Run *run)
{
  run->load.deadline = g_get_monotonic_time () + 100 * G_USEC_PER_SEC;
  run->started = g_get_monotonic_time ();
  for (guint i = 0; i < N_DEVICES; i++)
    run->devices[i]->thread = g_thread_new ("desk", device_thread, run->devices[i]);
  run->puller->thread = g_thread_new ("puller", puller_thread, run->puller);
}

/* Desks finish their batches (every one answered), then the puller catches up. */
static void
run_finish (Run *run)
{
  g_atomic_int_set (&run->load.finish, 1);
  for (guint i = 0; i < N_DEVICES; i++)
    g_thread_join (run->devices[i]->thread);
  g_atomic_int_set (&run->load.stop_pulling, 1);
  g_thread_join (run->puller->thread);

  for (guint i = 0; i < N_DEVICES; i++)
    if (run->devices[i]->failure != NULL)
      fail ("%s", run->devices[i]->failure);
  if (run->puller->failure != NULL)
    fail ("%s", run->puller->failure);

  for (guint i = 0; i < N_DEVICES; i++)
    for (guint k = 0; k < run->devices[i]->sent->len; k++)
      expected_apply (run->expected, run->devices[i]->sent->pdata[k]);
}

static void
run_report (Run        *run,
            const char *what)
{
  guint batches = 0, changes = 0, transport = 0, unavailable = 0, replays = 0;

  for (guint i = 0; i < N_DEVICES; i++)
    {
      batches += run->devices[i]->batches;
      changes += run->devices[i]->changes;
      transport += run->devices[i]->transport_failures;
      unavailable += run->devices[i]->unavailable;
      replays += run->devices[i]->replays;
    }
  g_test_message ("%s: %u desks pushed %u changes in %u batches in %.1f s (%u rows now); "
                  "push tries without an answer: %u transport failures, %u x 503; "
                  "%u answered batches sent again; puller: %u pages, %u changes, %u transport "
                  "failures, %u x 503", what, N_DEVICES, changes, batches,
                  seconds_since (run->started), g_hash_table_size (run->expected), transport,
                  unavailable, replays, run->puller->pages, run->puller->pulled,
                  run->puller->transport_failures, run->puller->unavailable);
}

static void
run_clear (Run *run)
{
  for (guint i = 0; i < N_DEVICES; i++)
    g_clear_pointer (&run->devices[i], device_free);
  g_clear_pointer (&run->puller, puller_free);
  for (guint i = 0; i < N_SHARED; i++)
    g_free (run->load.shared_ids[i]);
  g_clear_pointer (&run->expected, g_hash_table_unref);
  g_free (run->setup_device);
  g_free (run->setup_access);
}

/* ---- the database underneath ---- */

static gint64
query_int (VdsDb          *db,
           const char     *sql,
           const VdsParam *params,
           guint           n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsResult) result = vds_db_query (db, sql, params, n, &error);

  if (result == NULL)
    fail ("%s: %s", sql, error->message);
  g_assert_cmpuint (vds_result_n_rows (result), ==, 1);
  return vds_result_get_int (result, 0, 0);
}

/* In the tables themselves: each row once, no two rows of the clinic with one seq, the
 * clinic's seq at the newest row (which the full pull reached), and each desk's last batch
 * recorded as its last. */
static void
check_database (const char *database_uri,
                Run        *run,
                gint64      pulled_cursor)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsDb) db = vds_db_open (database_uri, &error);
  g_autoptr(GHashTable) seqs = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  const char *tenant = run->load.tenant_id;
  VdsParam params[2] = { VDS_TEXT (tenant), VDS_NULL };
  const VdTable *tables;
  guint n_tables;
  gint64 rows = 0, max_seq = 0;

  g_assert_no_error (error);
  tables = vd_schema_tables (&n_tables);
  for (guint t = 0; t < n_tables; t++)
    {
      g_autofree char *count_sql = g_strdup_printf ("SELECT count(*) - count(DISTINCT id) FROM %s "
                                                    "WHERE tenant_id = $1", tables[t].name);
      g_autofree char *seq_sql = g_strdup_printf ("SELECT _seq FROM %s WHERE tenant_id = $1",
                                                  tables[t].name);
      g_autoptr(VdsResult) result = NULL;

      if (query_int (db, count_sql, params, 1) != 0)
        fail ("table %s holds a row twice", tables[t].name);
      result = vds_db_query (db, seq_sql, params, 1, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < vds_result_n_rows (result); i++)
        {
          gint64 s = vds_result_get_int (result, i, 0);

          if (g_hash_table_contains (seqs, &s))
            fail ("two rows of the clinic have seq %" G_GINT64_FORMAT, s);
          g_hash_table_add (seqs, g_memdup2 (&s, sizeof s));
          max_seq = MAX (max_seq, s);
          rows++;
        }
    }
  if (rows != g_hash_table_size (run->expected))
    fail ("the database holds %" G_GINT64_FORMAT " rows of the clinic, the desks wrote %u",
          rows, g_hash_table_size (run->expected));
  if (pulled_cursor != max_seq)
    fail ("a pull from 0 ended at %" G_GINT64_FORMAT ", the newest row has seq %" G_GINT64_FORMAT,
          pulled_cursor, max_seq);
  if (query_int (db, "SELECT seq FROM vd_seq WHERE tenant_id = $1", params, 1) < max_seq)
    fail ("the clinic's seq is behind its newest row");

  for (guint i = 0; i < N_DEVICES; i++)
    {
      Device *dev = run->devices[i];

      params[1] = VDS_TEXT (dev->device_id);
      if (query_int (db, "SELECT batch_id FROM device_batches WHERE tenant_id = $1 "
                     "AND device_id = $2", params, 2) != dev->batch_id)
        fail ("desk %u's last batch is not the one recorded", i);
    }
}

static void
check_sqlite_integrity (const char *database_uri)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  GString *answer = g_string_new (NULL);

  g_assert_true (g_str_has_prefix (database_uri, "sqlite:"));
  g_assert_cmpint (sqlite3_open_v2 (database_uri + strlen ("sqlite:"), &db,
                                    SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==,
                   SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (answer, "%s%s", answer->len ? "; " : "",
                            (const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  if (!g_str_equal (answer->str, "ok"))
    fail ("PRAGMA integrity_check: %s", answer->str);
  g_string_free (answer, TRUE);
}

/* After a run: a pull from 0 and the puller's replica hold what the desks wrote, the
 * tables agree. Returns the full pull's changes. */
static GPtrArray *
verify_run (Run            *run,
            SoupSession    *session,
            const Endpoint *ep,
            const char     *database_uri,
            const char     *what)
{
  g_autoptr(Replica) replica = NULL;
  g_autofree char *from_zero = g_strdup_printf ("%s: pull from 0 through %s", what, ep->url);
  g_autofree char *incremental = g_strdup_printf ("%s: the desk that pulled all along", what);
  GPtrArray *changes = NULL;
  gint64 cursor = 0;

  replica = full_pull (session, ep, run->setup_access, run->load.tenant_id, 1000, &changes,
                       &cursor);
  check_store (replica->store, run->expected, from_zero);
  check_store (run->puller->replica->store, run->expected, incremental);
  check_database (database_uri, run, cursor);
  return changes;
}

/* ---- 1. kill -9 of syncd during a stream of pushes ---- */

#define N_KILLS 6

static void
test_kill9 (gconstpointer data)
{
  const char *backend = data;
  g_autofree char *database_uri = NULL;
  g_autoptr(Daemon) d = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GPtrArray) changes = NULL;
  g_autofree char *tenant = NULL;
  g_autofree char *label = g_strdup_printf ("kill -9 (%s)", backend);
  GRand *rand = g_rand_new_with_seed (seed);
  double restart_total = 0, restart_max = 0;
  Run run;

  if (g_str_equal (backend, "postgresql"))
    {
      if (pg == NULL)
        {
          g_test_skip (vd_test_pg_unavailable_reason ());
          g_rand_free (rand);
          return;
        }
      database_uri = vd_test_pg_create_db (pg, "kill9");
    }
  d = daemon_new (database_uri, LOAD_CONFIG);
  if (database_uri == NULL)
    database_uri = g_strdup (vd_test_syncd_get_database (d->syncd));
  tenant = setup_clinic (d);
  daemon_start (d);
  session = new_session ();

  run_init (&run, session, &d->ep, tenant);
  run.load.eps[0] = &d->ep;
  run.load.n_eps = 1;
  run_start (&run);

  for (guint k = 0; k < N_KILLS; k++)
    {
      double took;

      g_usleep (g_rand_int_range (rand, 300, 1300) * 1000);
      daemon_kill (d);
      g_usleep (g_rand_int_range (rand, 0, 300) * 1000);
      took = daemon_restart (d);
      restart_total += took;
      restart_max = MAX (restart_max, took);
    }
  /* Some load after the last restart too. */
  g_usleep (g_rand_int_range (rand, 300, 800) * 1000);
  run_finish (&run);
  run_report (&run, label);
  g_test_message ("%s: %u kills at random moments, back on the same port in %.2f s on "
                  "average (%.2f s at most)", label, N_KILLS, restart_total / N_KILLS,
                  restart_max);

  changes = verify_run (&run, session, &d->ep, database_uri, label);
  g_clear_object (&session);
  daemon_stop (d);
  if (g_str_has_prefix (database_uri, "sqlite:"))
    check_sqlite_integrity (database_uri);
  run_clear (&run);
  g_rand_free (rand);
}

/* ---- 2. PostgreSQL restarted under load ---- */

#define N_PG_RESTARTS 3

static void
test_pg_restart (void)
{
  g_autofree char *database_uri = NULL;
  g_autoptr(Daemon) d = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GPtrArray) changes = NULL;
  g_autofree char *tenant = NULL;
  g_autofree char *probe_path = NULL;
  GRand *rand;
  Device *probe;
  double recovery_max = 0, recovery_total = 0, outage_total = 0;
  Run run;

  if (pg == NULL)
    {
      g_test_skip (vd_test_pg_unavailable_reason ());
      return;
    }
  rand = g_rand_new_with_seed (seed + 2);
  database_uri = vd_test_pg_create_db (pg, "restart");
  d = daemon_new (database_uri, LOAD_CONFIG);
  tenant = setup_clinic (d);
  daemon_start (d);
  session = new_session ();

  run_init (&run, session, &d->ep, tenant);
  run.load.eps[0] = &d->ep;
  run.load.n_eps = 1;
  /* A fifth desk, driven from here, measures when pushes and pulls work again. */
  probe = device_new (&run.load, N_DEVICES, session, &d->ep);
  probe_path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=%" G_GINT64_FORMAT
                                "&limit=1", tenant, G_MAXINT64 / 2);
  run_start (&run);

  for (guint k = 0; k < N_PG_RESTARTS; k++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) batch = NULL;
      g_autoptr(Reply) answer = NULL;
      g_autofree char *body = NULL;
      gint64 start, back;
      double recovery;
      gsize len;

      g_usleep (g_rand_int_range (rand, 500, 1200) * 1000);
      start = g_get_monotonic_time ();
      if (!vd_test_pg_restart (pg, &error))
        fail ("PostgreSQL did not restart: %s", error->message);
      back = g_get_monotonic_time ();
      outage_total += (back - start) / 1e6;

      /* No restart of syncd: it must find PostgreSQL again by itself. */
      probe->batch_id++;
      batch = make_batch (probe);
      body = vd_push_request_encode (probe->device_id, probe->batch_id, batch, &len);
      answer = push_until_answered (probe, session, body, len);
      if (answer == NULL || !check_push_answer (probe, answer, batch->len))
        fail ("%s", probe->failure);
      g_ptr_array_extend_and_steal (probe->sent, g_steal_pointer (&batch));
      for (;;)
        {
          g_autoptr(GError) pull_error = NULL;
          g_autoptr(Reply) r = http_call (session, &d->ep, "GET", probe_path, probe->access,
                                          NULL, 0, &pull_error);

          if (r != NULL && r->status == 200)
            break;
          if (r != NULL && !is_unavailable (r))
            fail ("a pull after PostgreSQL restarted answered %u: %s", r->status, r->body);
          if (seconds_since (back) > 30)
            fail ("no pull answered 30 s after PostgreSQL restarted");
          g_usleep (20 * 1000);
        }
      recovery = seconds_since (back);
      recovery_total += recovery;
      recovery_max = MAX (recovery_max, recovery);
      g_test_message ("PostgreSQL restart %u: stop and start took %.2f s; syncd answered a "
                      "push and a pull %.2f s later (%u push tries failed meanwhile)", k + 1,
                      (back - start) / 1e6, recovery,
                      probe->transport_failures + probe->unavailable);
      /* "Within a few seconds". */
      g_assert_cmpfloat (recovery, <, 10.0);
    }
  g_usleep (500 * 1000);
  run_finish (&run);
  if (probe->failure != NULL)
    fail ("%s", probe->failure);
  for (guint k = 0; k < probe->sent->len; k++)
    expected_apply (run.expected, probe->sent->pdata[k]);
  run_report (&run, "PostgreSQL restarted under load");
  g_test_message ("PostgreSQL restarted %u times (%.2f s each on average); recovery %.2f s "
                  "on average, %.2f s at most", N_PG_RESTARTS, outage_total / N_PG_RESTARTS,
                  recovery_total / N_PG_RESTARTS, recovery_max);

  changes = verify_run (&run, session, &d->ep, database_uri, "PostgreSQL restarted");
  g_clear_object (&session);
  daemon_stop (d);
  device_free (probe);
  run_clear (&run);
  g_rand_free (rand);
}

/* ---- 3. two syncd processes on one PostgreSQL ---- */

static char *
encode_changes (GPtrArray *changes)
{
  gsize len;

  return vd_pull_answer_encode (changes, 0, FALSE, 0, &len);
}

static void
test_two_daemons (void)
{
  g_autofree char *database_uri = NULL;
  g_autoptr(Daemon) a = NULL;
  g_autoptr(Daemon) b = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GPtrArray) through_a = NULL;
  g_autoptr(GPtrArray) through_b = NULL;
  g_autoptr(Replica) replica_b = NULL;
  g_autofree char *tenant = NULL;
  g_autofree char *text_a = NULL;
  g_autofree char *text_b = NULL;
  gint64 cursor_b = 0;
  Run run;

  if (pg == NULL)
    {
      g_test_skip (vd_test_pg_unavailable_reason ());
      return;
    }
  database_uri = vd_test_pg_create_db (pg, "two");
  a = daemon_new (database_uri, LOAD_CONFIG);
  tenant = setup_clinic (a);
  daemon_start (a);
  b = daemon_new (database_uri, LOAD_CONFIG);
  daemon_start (b);
  session = new_session ();

  run_init (&run, session, &a->ep, tenant);
  run.load.eps[0] = &a->ep;
  run.load.eps[1] = &b->ep;
  run.load.n_eps = 2;
  run.load.pause_ms = 5;
  run_start (&run);
  g_usleep (6 * G_USEC_PER_SEC);
  run_finish (&run);
  run_report (&run, "two daemons on one PostgreSQL");

  through_a = verify_run (&run, session, &a->ep, database_uri, "two daemons");
  replica_b = full_pull (session, &b->ep, run.setup_access, tenant, 1000, &through_b, &cursor_b);
  check_store (replica_b->store, run.expected, "two daemons: pull from 0 through B");
  text_a = encode_changes (through_a);
  text_b = encode_changes (through_b);
  if (!g_str_equal (text_a, text_b))
    fail ("pulls from 0 through A (%u changes) and through B (%u changes) differ",
          through_a->len, through_b->len);
  g_test_message ("two daemons: pulls from 0 through A and B identical (%u changes, cursor %"
                  G_GINT64_FORMAT ")", through_a->len, cursor_b);

  g_clear_object (&session);
  daemon_stop (a);
  daemon_stop (b);
  run_clear (&run);
}

/* ---- 4. slow and idle clients ---- */

typedef struct
{
  guint16  port;
  gint     stop;
  guint    sent;
  gboolean dropped;
  double   dropped_after;
  char    *failure;
} Loris;

/* Request headers, one byte a second, never finished while the test looks. */
static gpointer
loris_thread (gpointer data)
{
  static const char head[] = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "User-Agent: a very slow client indeed\r\n\r\n";
  Loris *loris = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) tls = vd_test_tls_connect (loris->port, 10, NULL, &error);
  gint64 start = g_get_monotonic_time ();

  if (tls == NULL)
    {
      loris->failure = g_strdup_printf ("slow client: %s", error->message);
      return NULL;
    }
  while (!g_atomic_int_get (&loris->stop) && loris->sent < sizeof head - 1)
    {
      if (!g_output_stream_write_all (g_io_stream_get_output_stream (tls), head + loris->sent,
                                      1, NULL, NULL, &error))
        {
          loris->dropped = TRUE;
          loris->dropped_after = seconds_since (start);
          break;
        }
      loris->sent++;
      for (guint i = 0; i < 20 && !g_atomic_int_get (&loris->stop); i++)
        g_usleep (50 * 1000);
    }
  return NULL;
}

static void
test_slow_clients (gconstpointer data)
{
  const char *backend = data;
  g_autofree char *database_uri = NULL;
  g_autoptr(Daemon) d = NULL;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GPtrArray) idle = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  g_autoptr(Reply) pushed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tenant = NULL;
  g_autofree char *device_id = vd_uuid_new ();
  g_autofree char *access = NULL;
  g_autofree char *push_path = NULL;
  g_autofree char *pull_path = NULL;
  g_autofree char *body = NULL;
  Loris loris = { 0, };
  GThread *thread;
  guint idle_failed = 0, still_open = 0;
  double worst_health = 0, worst_pull = 0, sum_health = 0, sum_pull = 0, opening;
  gint64 start;
  gsize len;
  const guint rounds = 8;

  if (g_str_equal (backend, "postgresql"))
    {
      if (pg == NULL)
        {
          g_test_skip (vd_test_pg_unavailable_reason ());
          return;
        }
      database_uri = vd_test_pg_create_db (pg, "slow");
    }
  /* The daemon's own limits: header timeout 10 s, idle timeout 30 s. */
  d = daemon_new (database_uri, NULL);
  tenant = setup_clinic (d);
  daemon_start (d);
  session = new_session ();
  access = login (session, &d->ep, device_id);

  /* Something to pull. */
  for (guint i = 0; i < 40; i++)
    {
      g_autofree char *id = vd_uuid_new ();
      g_autofree char *tag = g_strdup_printf ("slow%u", i);

      g_ptr_array_add (changes, new_client (id, vd_hlc_make (g_get_real_time () / 1000, i),
                                            device_id, tag));
    }
  push_path = g_strdup_printf ("/v1/tenants/%s/sync/push", tenant);
  body = vd_push_request_encode (device_id, 1, changes, &len);
  pushed = http_call (session, &d->ep, "POST", push_path, access, body, len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pushed->status, ==, 200);
  pull_path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=0&limit=1000", tenant);

  loris.port = d->port;
  thread = g_thread_new ("loris", loris_thread, &loris);

  start = g_get_monotonic_time ();
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GError) connect_error = NULL;
      GIOStream *tls = vd_test_tls_connect (d->port, 10, NULL, &connect_error);

      if (tls == NULL)
        idle_failed++;
      else
        g_ptr_array_add (idle, tls);
    }
  opening = seconds_since (start);
  g_test_message ("%s: %u idle TLS connections open in %.2f s (%u refused or failed)", backend,
                  idle->len, opening, idle_failed);
  /* The daemon raises its descriptor limit: it holds them all, or this tests nothing. */
  g_assert_cmpuint (idle->len, ==, 200);

  for (guint round = 0; round < rounds; round++)
    {
      /* A new session each time: a new connection, a new handshake, like a desk that
       * just woke up. */
      g_autoptr(SoupSession) fresh = new_session ();
      g_autoptr(Reply) health = NULL;
      g_autoptr(Reply) pulled = NULL;
      double took_health, took_pull;

      start = g_get_monotonic_time ();
      health = http_call (fresh, &d->ep, "GET", "/v1/health", NULL, NULL, 0, &error);
      took_health = seconds_since (start);
      g_assert_no_error (error);
      g_assert_cmpuint (health->status, ==, 200);

      start = g_get_monotonic_time ();
      pulled = http_call (fresh, &d->ep, "GET", pull_path, access, NULL, 0, &error);
      took_pull = seconds_since (start);
      g_assert_no_error (error);
      g_assert_cmpuint (pulled->status, ==, 200);

      worst_health = MAX (worst_health, took_health);
      worst_pull = MAX (worst_pull, took_pull);
      sum_health += took_health;
      sum_pull += took_pull;
      if (took_health >= 1.0 || took_pull >= 1.0)
        fail ("with a slow client and %u idle connections, health took %.2f s and a pull "
              "%.2f s", idle->len, took_health, took_pull);
      g_usleep (400 * 1000);
    }
  for (guint i = 0; i < idle->len; i++)
    {
      GIOStream *base = NULL;

      g_object_get (idle->pdata[i], "base-io-stream", &base, NULL);
      /* Nothing to read (no close_notify, no EOF): the daemon still holds it open. */
      if (!g_socket_condition_check (g_socket_connection_get_socket (G_SOCKET_CONNECTION (base)),
                                     G_IO_IN | G_IO_HUP))
        still_open++;
      g_object_unref (base);
    }
  g_test_message ("%s: meanwhile health answered in %.3f s on average (%.3f s at most), a pull "
                  "of 40 rows in %.3f s (%.3f s at most); the slow client had sent %u bytes of "
                  "its headers%s; %u idle connections still open", backend, sum_health / rounds,
                  worst_health, sum_pull / rounds, worst_pull, loris.sent,
                  loris.dropped ? " and was dropped" : "", still_open);

  g_atomic_int_set (&loris.stop, 1);
  g_thread_join (thread);
  if (loris.failure != NULL)
    fail ("%s", loris.failure);
  g_assert_false (loris.dropped && loris.dropped_after < 2.0);
  g_ptr_array_set_size (idle, 0);

  g_clear_object (&session);
  daemon_stop (d);
  g_free (loris.failure);
}

int
main (int    argc,
      char **argv)
{
  const char *seed_text = g_getenv ("VD_SEED");
  int status;

  g_test_init (&argc, &argv, NULL);
  seed = seed_text ? (guint32) g_ascii_strtoull (seed_text, NULL, 10) : 20240611u;
  g_test_message ("seed %u (replay with VD_SEED=%u)", seed, seed);

  if (vd_test_pg_available ())
    {
      g_autoptr(GError) error = NULL;

      pg = vd_test_pg_start (&error);
      g_assert_no_error (error);
    }

  g_test_add_data_func ("/faults/sqlite/kill9", "sqlite", test_kill9);
  g_test_add_data_func ("/faults/postgresql/kill9", "postgresql", test_kill9);
  g_test_add_func ("/faults/postgresql/restart-under-load", test_pg_restart);
  g_test_add_func ("/faults/postgresql/two-daemons", test_two_daemons);
  g_test_add_data_func ("/faults/sqlite/slow-clients", "sqlite", test_slow_clients);
  g_test_add_data_func ("/faults/postgresql/slow-clients", "postgresql", test_slow_clients);

  status = g_test_run ();
  g_clear_pointer (&pg, vd_test_pg_stop);
  return status;
}
