/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-ops.c — syncd as several instances on one database run it (issue #18), over real
 * HTTPS against the real vetdesk-syncd: on SQLite one daemon, on PostgreSQL two daemons on
 * one throwaway database. Concurrent sign-ins cannot get past the lockout, whichever
 * instance they reach; a session revoked on one instance (a logout, a refresh-token
 * replay) closes its streams on every instance; monitoring does not go backwards when
 * instances flush pull reports out of order, and the database-wide conflict gauge says
 * it is one. */
#define G_LOG_DOMAIN "test-ops"

#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "vd-id.h"
#include "vds-store.h"
#include "vds-streams.h"
#include "vd-test-pg.h"
#include "vd-test-syncd.h"

#define PASSWORD "correct horse battery"
#define LOCKOUT_FAILURES 5
#define TEST_CONFIG \
  "[limits]\n" \
  "lockout-failures=5\n" \
  "lockout-seconds=600\n" \
  "address-rate=0\n" \
  "clinic-rate=0\n" \
  "login-rate=0\n"
#define N_SYNCD 2

enum { U_WRONG, U_RIGHT, U_DESK, U_ADMIN, N_USERS };
static const char * const usernames[N_USERS] = { "wrongs", "rights", "desk", "padmin" };

typedef struct
{
  const char  *backend;
  gboolean     ready;
  char        *skip_reason;
  VdTestPg    *pg;
  VdTestSyncd *syncd[N_SYNCD];
  guint        n_syncd;
  char        *tenant_id;
  SoupSession *session;   /* the main thread's, for streams */
} Env;

static Env envs[2] = {
  { .backend = "sqlite" },
  { .backend = "postgresql" },
};

/* ---- HTTP ---- */

typedef struct
{
  guint  status;
  char  *body;
} Answer;

static void
answer_free (Answer *a)
{
  if (a == NULL)
    return;
  g_free (a->body);
  g_free (a);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Answer, answer_free)

/* One request on a session of its own (so threads may call it). */
static Answer *
call (VdTestSyncd *syncd,
      const char  *method,
      const char  *path,
      const char  *token,
      const char  *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 60, NULL);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *uri = g_strconcat (vd_test_syncd_get_url (syncd), path, NULL);
  Answer *a = g_new0 (Answer, 1);

  msg = soup_message_new (method, uri);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                    (gpointer) vd_test_syncd_get_fingerprint (syncd));
  if (token != NULL)
    {
      g_autofree char *value = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    value);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) request = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, "application/json", request);
    }
  bytes = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  a->status = soup_message_get_status (msg);
  a->body = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  return a;
}

static Answer *
login (VdTestSyncd *syncd,
       const char  *username,
       const char  *password,
       const char  *device_id)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;
  const char *secret = vd_test_device_secret (device_id);
  Answer *a;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "username");
  json_builder_add_string_value (b, username);
  json_builder_set_member_name (b, "password");
  json_builder_add_string_value (b, password);
  json_builder_set_member_name (b, "device_id");
  json_builder_add_string_value (b, device_id);
  json_builder_set_member_name (b, "device_name");
  json_builder_add_string_value (b, "Front desk PC");
  if (secret != NULL)
    {
      json_builder_set_member_name (b, "device_secret");
      json_builder_add_string_value (b, secret);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  body = json_generator_to_data (gen, NULL);
  a = call (syncd, "POST", "/v1/auth/login", NULL, body);
  if (a->status == 200)
    vd_test_device_secret_keep (device_id, a->body);
  return a;
}

/* ---- the daemons ---- */

static void
test_setup (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(GError) error = NULL;
  const char *db_uri = NULL;

  env->n_syncd = 1;
  if (g_str_equal (env->backend, "postgresql"))
    {
      if (!vd_test_pg_available ())
        {
          env->skip_reason = g_strdup (vd_test_pg_unavailable_reason ());
          g_test_skip (env->skip_reason);
          return;
        }
      env->pg = vd_test_pg_start (&error);
      g_assert_no_error (error);
      db_uri = vd_test_pg_get_uri (env->pg);
      env->n_syncd = N_SYNCD;
    }

  for (guint i = 0; i < env->n_syncd; i++)
    {
      env->syncd[i] = vd_test_syncd_new (VETDESK_SYNCD, db_uri);
      vd_test_syncd_set_config (env->syncd[i], TEST_CONFIG);
    }
  g_free (vd_test_syncd_run (env->syncd[0], NULL, &error, "migrate", NULL));
  g_assert_no_error (error);
  g_free (vd_test_syncd_run (env->syncd[0], NULL, &error, "add-company", "Company A", NULL));
  g_assert_no_error (error);
  env->tenant_id = vd_test_syncd_run (env->syncd[0], NULL, &error, "add-tenant", "--slug",
                                      "norte", "--name", "Clínica Norte", "--timezone",
                                      "Europe/Madrid", "--currency", "EUR", "--company",
                                      "Company A", NULL);
  g_assert_no_error (error);
  for (guint u = 0; u < N_USERS; u++)
    {
      g_autofree char *id = NULL;

      if (u == U_ADMIN)
        id = vd_test_syncd_run (env->syncd[0], PASSWORD "\n", &error, "add-user",
                                "--username", usernames[u], "--display-name", usernames[u],
                                "--platform-admin", NULL);
      else
        id = vd_test_syncd_run (env->syncd[0], PASSWORD "\n", &error, "add-user",
                                "--username", usernames[u], "--display-name", usernames[u],
                                "--clinic", "norte:front_desk", NULL);
      g_assert_no_error (error);
      g_assert_true (vd_uuid_is_valid (id));
    }
  for (guint i = 0; i < env->n_syncd; i++)
    if (!vd_test_syncd_start (env->syncd[i], &error))
      g_error ("%s", error->message);
  env->session = soup_session_new_with_options ("timeout", 60, NULL);
  env->ready = TRUE;
}

#define REQUIRE_ENV(env) \
  G_STMT_START { \
    if (!(env)->ready) \
      { \
        g_test_skip ((env)->skip_reason ? (env)->skip_reason : "setup failed"); \
        return; \
      } \
  } G_STMT_END

static void
test_teardown (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(GError) error = NULL;

  if (env->syncd[0] == NULL)
    {
      g_test_skip (env->skip_reason ? env->skip_reason : "nothing to stop");
      return;
    }
  g_clear_object (&env->session);
  for (guint i = 0; i < env->n_syncd; i++)
    {
      if (!vd_test_syncd_stop (env->syncd[i], &error))
        g_error ("%s", error->message);
      g_clear_pointer (&env->syncd[i], vd_test_syncd_free);
    }
  g_clear_pointer (&env->pg, vd_test_pg_stop);
  g_clear_pointer (&env->tenant_id, g_free);
  env->ready = FALSE;
}

/* ---- the lockout under concurrent sign-ins (issue #18 item 2) ---- */

typedef struct
{
  VdTestSyncd *syncd;
  const char  *username;
  const char  *password;
  const char  *device_id;
  GMutex      *mutex;
  GCond       *cond;
  gboolean    *go;
  guint        status;   /* out */
} Attempt;

static gpointer
attempt_thread (gpointer data)
{
  Attempt *at = data;
  g_autoptr(Answer) a = NULL;

  g_mutex_lock (at->mutex);
  while (!*at->go)
    g_cond_wait (at->cond, at->mutex);
  g_mutex_unlock (at->mutex);
  a = login (at->syncd, at->username, at->password, at->device_id);
  at->status = a->status;
  if (a->status != 401 && a->status != 429 && a->status != 200)
    g_error ("unexpected answer %u: %s", a->status, a->body);
  return NULL;
}

/* n_wrong wrong passwords released at once, spread over the instances, then (when
 * right) the right password; statuses[n_wrong] is the right one's. */
static void
fire (Env        *env,
      const char *username,
      guint       n_wrong,
      gboolean    right,
      guint      *statuses)
{
  g_autofree char *device_id = vd_uuid_new ();
  guint n = n_wrong + (right ? 1 : 0);
  g_autofree Attempt *attempts = g_new0 (Attempt, n);
  g_autofree GThread **threads = g_new0 (GThread *, n);
  GMutex mutex;
  GCond cond;
  gboolean go = FALSE;

  g_mutex_init (&mutex);
  g_cond_init (&cond);
  for (guint i = 0; i < n; i++)
    {
      attempts[i] = (Attempt) { env->syncd[i % env->n_syncd], username,
                                i < n_wrong ? "wrong password!" : PASSWORD, device_id,
                                &mutex, &cond, &go, 0 };
      if (i < n_wrong)
        threads[i] = g_thread_new ("attempt", attempt_thread, &attempts[i]);
    }
  g_mutex_lock (&mutex);
  go = TRUE;
  g_cond_broadcast (&cond);
  g_mutex_unlock (&mutex);
  /* The right password leaves after the wrong ones, as they are still being checked. */
  if (right)
    threads[n_wrong] = g_thread_new ("attempt", attempt_thread, &attempts[n_wrong]);
  for (guint i = 0; i < n; i++)
    {
      g_thread_join (threads[i]);
      statuses[i] = attempts[i].status;
    }
  g_mutex_clear (&mutex);
  g_cond_clear (&cond);
}

static void
assert_locked (Env        *env,
               const char *username)
{
  /* Locked on every instance: the right password is refused. */
  for (guint i = 0; i < env->n_syncd; i++)
    {
      g_autofree char *device_id = vd_uuid_new ();
      g_autoptr(Answer) a = login (env->syncd[i], username, PASSWORD, device_id);

      if (a->status != 429 || strstr (a->body, "locked") == NULL)
        g_error ("instance %u: expected the account locked, got %u: %s", i, a->status,
                 a->body);
    }
}

static void
test_lockout_concurrent (gconstpointer data)
{
  Env *env = (Env *) data;
  guint statuses[20];
  guint checked = 0;

  REQUIRE_ENV (env);

  /* 20 wrong passwords at once: only the lockout's places are checked (the last of them
   * answered as locked), every other attempt is refused before its password is. */
  fire (env, usernames[U_WRONG], 20, FALSE, statuses);
  for (guint i = 0; i < 20; i++)
    {
      g_assert_cmpuint (statuses[i], !=, 200);
      if (statuses[i] == 401)
        checked++;
    }
  g_assert_cmpuint (checked, <=, LOCKOUT_FAILURES - 1);
  assert_locked (env, usernames[U_WRONG]);

  /* 19 wrong and then the right one: the right one does not get in nor clear the lock. */
  fire (env, usernames[U_RIGHT], 19, TRUE, statuses);
  for (guint i = 0; i < 19; i++)
    g_assert_cmpuint (statuses[i], !=, 200);
  g_assert_cmpuint (statuses[19], ==, 429);
  assert_locked (env, usernames[U_RIGHT]);
}

/* ---- session revocation reaches every instance (issue #18 item 4) ---- */

typedef struct
{
  SoupWebsocketConnection *conn;
  gboolean                 done;
  GError                  *error;
  guint                    n_messages;
  gboolean                 closed;
  gushort                  close_code;
} Stream;

static void
stream_free (Stream *s)
{
  if (s == NULL)
    return;
  if (s->conn != NULL)
    {
      g_signal_handlers_disconnect_by_data (s->conn, s);
      if (soup_websocket_connection_get_state (s->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (s->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (s->conn);
    }
  g_clear_error (&s->error);
  g_free (s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Stream, stream_free)

static void
message_cb (SoupWebsocketConnection *conn,
            gint                     type,
            GBytes                  *message,
            Stream                  *s)
{
  s->n_messages++;
}

static void
closed_cb (SoupWebsocketConnection *conn,
           Stream                  *s)
{
  s->closed = TRUE;
  s->close_code = soup_websocket_connection_get_close_code (conn);
}

static void
connected_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Stream *s = data;

  s->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &s->error);
  s->done = TRUE;
  if (s->conn != NULL)
    {
      g_signal_connect (s->conn, "message", G_CALLBACK (message_cb), s);
      g_signal_connect (s->conn, "closed", G_CALLBACK (closed_cb), s);
    }
}

/* Runs the main loop until *flag, or for at most timeout_s (a bound, not a measure). */
static gboolean
iterate_until (gboolean *flag,
               guint     timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (!*flag && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  return *flag;
}

static Stream *
stream_open (Env         *env,
             VdTestSyncd *syncd,
             const char  *token)
{
  g_autofree char *uri = NULL;
  g_autofree char *value = g_strconcat ("Bearer ", token, NULL);
  g_autoptr(SoupMessage) msg = NULL;
  Stream *s = g_new0 (Stream, 1);

  uri = g_strdup_printf ("%s/v1/tenants/%s/sync/stream", vd_test_syncd_get_url (syncd),
                         env->tenant_id);
  msg = soup_message_new ("GET", uri);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                    (gpointer) vd_test_syncd_get_fingerprint (syncd));
  soup_message_add_flags (msg, SOUP_MESSAGE_NEW_CONNECTION);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", value);
  soup_session_websocket_connect_async (env->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        NULL, connected_cb, s);
  g_assert_true (iterate_until (&s->done, 30));
  if (s->error != NULL)
    g_error ("stream: %u %s", soup_message_get_status (msg), s->error->message);
  return s;
}

static void
wait_revoked (Stream     *s,
              const char *what)
{
  if (!iterate_until (&s->closed, 20))
    g_error ("%s: the session's stream stayed open", what);
  g_assert_cmpuint (s->close_code, ==, VDS_STREAM_CLOSE_REVOKED);
}

static char *
member (const char *body,
        const char *name)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, body, -1, NULL));
  return g_strdup (json_object_get_string_member (json_node_get_object (
                     json_parser_get_root (parser)), name));
}

static void
test_session_revocation (gconstpointer data)
{
  Env *env = (Env *) data;
  VdTestSyncd *here = NULL, *there = NULL;
  g_autofree char *device_id = vd_uuid_new ();

  REQUIRE_ENV (env);
  here = env->syncd[0];
  there = env->syncd[env->n_syncd - 1];

  /* A logout here closes the session's stream there. */
  {
    g_autoptr(Answer) in = login (here, usernames[U_DESK], PASSWORD, device_id);
    g_autofree char *access = NULL;
    g_autoptr(Stream) s = NULL;
    g_autoptr(Answer) out = NULL;

    g_assert_cmpuint (in->status, ==, 200);
    access = member (in->body, "access_token");
    s = stream_open (env, there, access);
    g_assert_false (s->closed);
    out = call (here, "POST", "/v1/auth/logout", access, "{}");
    g_assert_cmpuint (out->status, ==, 204);
    wait_revoked (s, "logout");
  }

  /* A refresh token presented twice ends the session (RFC 9700): its stream closes, on
   * this instance and on the other. */
  {
    g_autoptr(Answer) in = login (here, usernames[U_DESK], PASSWORD, device_id);
    g_autofree char *access = NULL;
    g_autofree char *refresh = NULL;
    g_autofree char *body = NULL;
    g_autoptr(Stream) s_here = NULL;
    g_autoptr(Stream) s_there = NULL;
    g_autoptr(Answer) rotated = NULL;
    g_autoptr(Answer) replayed = NULL;

    g_assert_cmpuint (in->status, ==, 200);
    access = member (in->body, "access_token");
    refresh = member (in->body, "refresh_token");
    s_here = stream_open (env, here, access);
    s_there = stream_open (env, there, access);
    body = g_strdup_printf ("{\"refresh_token\": \"%s\"}", refresh);
    rotated = call (here, "POST", "/v1/auth/refresh", NULL, body);
    g_assert_cmpuint (rotated->status, ==, 200);
    g_assert_false (s_here->closed);
    g_assert_false (s_there->closed);
    replayed = call (here, "POST", "/v1/auth/refresh", NULL, body);
    g_assert_cmpuint (replayed->status, ==, 401);
    wait_revoked (s_here, "replay, same instance");
    wait_revoked (s_there, "replay, other instance");
  }
}

/* ---- monitoring across instances (issue #18 item 5) ---- */

static void
report_pull (VdsStore   *store,
             Env        *env,
             const char *device_id,
             gint64      cursor,
             gint64      at,
             gboolean    reached)
{
  g_autoptr(GError) error = NULL;
  VdsDeviceReport r = {
    .tenant_id = env->tenant_id,
    .device_id = device_id,
    .event = VDS_DEVICE_PULLED,
    .cursor = cursor,
    .pending = 0,
    .now = at,
    .reached = reached,
  };

  g_assert_true (vds_store_report_pulls (store, &r, 1, &error));
  g_assert_no_error (error);
}

static void
test_monitor_cursor (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(GError) error = NULL;
  VdsStore *store = NULL;
  g_autoptr(GPtrArray) devices = NULL;
  g_autofree char *device_id = vd_uuid_new ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 cursor = -1;

  REQUIRE_ENV (env);

  /* Two instances answered the desk's pulls; the one that answered the older pull
   * flushes its report last. The stored cursor keeps the greater. */
  store = vds_store_open (vd_test_syncd_get_database (env->syncd[0]), 2, &error);
  g_assert_no_error (error);
  report_pull (store, env, device_id, 40, now, TRUE);
  report_pull (store, env, device_id, 12, now - 1, FALSE);
  devices = vds_store_admin_devices (store, env->tenant_id, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < devices->len; i++)
    {
      VdsDeviceInfo *info = devices->pdata[i];

      if (g_str_equal (info->device_id, device_id))
        cursor = info->cursor;
    }
  vds_store_free (store);
  g_assert_cmpint (cursor, ==, 40);
}

static void
test_conflicts_gauge (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autofree char *device_id = vd_uuid_new ();
  g_autoptr(Answer) in = NULL;
  g_autofree char *access = NULL;

  REQUIRE_ENV (env);

  in = login (env->syncd[0], usernames[U_ADMIN], PASSWORD, device_id);
  g_assert_cmpuint (in->status, ==, 200);
  access = member (in->body, "access_token");
  for (guint i = 0; i < env->n_syncd; i++)
    {
      g_autoptr(Answer) a = call (env->syncd[i], "GET", "/v1/metrics", access, NULL);

      g_assert_cmpuint (a->status, ==, 200);
      /* One figure for the whole database, labelled so, from every instance. */
      g_assert_nonnull (strstr (a->body, "\nvetdesk_open_conflicts{scope=\"database\"} 0\n"));
      g_assert_null (strstr (a->body, "\nvetdesk_open_conflicts "));
    }
}

typedef struct
{
  VdsStore   *store;
  const char *tenant_id;
  gint64      first_minute;
  gboolean    reversed;
} Flusher;

static gpointer
flush_thread (gpointer data)
{
  Flusher *fl = data;

  for (guint round = 0; round < 30; round++)
    {
      g_autoptr(GError) error = NULL;
      VdsActivity entries[2];

      /* Two minutes of one hour, in the opposite order from the other thread's. */
      for (guint i = 0; i < 2; i++)
        entries[i] = (VdsActivity) { .tenant_id = (char *) fl->tenant_id,
                                     .minute = fl->first_minute + (fl->reversed ? 1 - i : i),
                                     .pulls = 1 };
      g_assert_true (vds_store_add_activity (fl->store, entries, 2, &error));
      g_assert_no_error (error);
    }
  return NULL;
}

/* Two instances flushing their activity at once lock rows in one order: PostgreSQL
 * never detects a deadlock between them (its log says when it does). */
static void
test_activity_order (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(GError) error = NULL;
  g_autofree char *log = NULL;
  g_autofree char *log_path = NULL;
  VdsStore *stores[2];
  GThread *threads[2];
  Flusher flushers[2];
  gint64 minute = (g_get_real_time () / G_USEC_PER_SEC / 3600) * 60;

  REQUIRE_ENV (env);
  if (env->pg == NULL)
    {
      g_test_skip ("SQLite has one writer at a time");
      return;
    }

  for (guint i = 0; i < 2; i++)
    {
      stores[i] = vds_store_open (vd_test_syncd_get_database (env->syncd[0]), 2, &error);
      g_assert_no_error (error);
      flushers[i] = (Flusher) { stores[i], env->tenant_id, minute, i == 1 };
    }
  for (guint i = 0; i < 2; i++)
    threads[i] = g_thread_new ("flush", flush_thread, &flushers[i]);
  for (guint i = 0; i < 2; i++)
    {
      g_thread_join (threads[i]);
      vds_store_free (stores[i]);
    }

  log_path = g_build_filename (vd_test_pg_get_dir (env->pg), "log", NULL);
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  if (strstr (log, "deadlock detected") != NULL)
    g_error ("PostgreSQL detected a deadlock between two activity flushes");
}

int
main (int    argc,
      char **argv)
{
  static const struct
  {
    const char   *name;
    GTestDataFunc func;
  } cases[] = {
    { "setup", test_setup },
    { "lockout-concurrent", test_lockout_concurrent },
    { "session-revocation", test_session_revocation },
    { "monitor-cursor", test_monitor_cursor },
    { "conflicts-gauge", test_conflicts_gauge },
    { "activity-order", test_activity_order },
    { "teardown", test_teardown },
  };

  g_test_init (&argc, &argv, NULL);
  for (guint e = 0; e < G_N_ELEMENTS (envs); e++)
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autofree char *path = g_strdup_printf ("/ops/%s/%s", envs[e].backend,
                                                 cases[i].name);
        g_test_add_data_func (path, &envs[e], cases[i].func);
      }
  return g_test_run ();
}
