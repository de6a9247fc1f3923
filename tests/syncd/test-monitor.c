/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-monitor.c — live updates and sync monitoring against the real vetdesk-syncd over
 * HTTPS, on SQLite and on PostgreSQL: the stream's handshake rules, frames, delivery,
 * expiry, revocation, restarts and (PostgreSQL) delivery across two processes; the admin
 * device, activity and revocation calls with their scope; /metrics; and the health rules
 * on the store with a controlled clock. */
#define G_LOG_DOMAIN "test-monitor"

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "vd-change.h"
#include "vd-protocol.h"
#include "vd-hlc.h"
#include "vd-id.h"
#include "vd-test-pg.h"
#include "vd-test-syncd.h"
#include "vd-time.h"
#include "vds-store.h"

#define PASSWORD "correct horse battery"
#define ALLOWED_ORIGIN "https://monitor.vetdesk.example"
/* Rate limits out of the way; activity written every second; a metrics listener on a
 * free loopback port; one browser origin allowed. */
/* How long one admin listing snapshot is served in these tests. */
#define LISTING_MAX_AGE_MS 400
#define TEST_CONFIG \
  "[server]\n" \
  "metrics-listen=127.0.0.1:0\n" \
  "allowed-origins=" ALLOWED_ORIGIN "\n" \
  "[limits]\n" \
  "address-rate=0\n" \
  "clinic-rate=0\n" \
  "login-rate=0\n" \
  "[monitor]\n" \
  "activity-flush=1\n" \
  "listing-max-age-ms=" G_STRINGIFY (LISTING_MAX_AGE_MS) "\n"
/* The same, with 2-second access tokens. */
#define SHORT_TTL_CONFIG \
  "[server]\n" \
  "metrics-listen=127.0.0.1:0\n" \
  "[limits]\n" \
  "address-rate=0\n" \
  "clinic-rate=0\n" \
  "login-rate=0\n" \
  "access-ttl=2\n"
/* The generous bound on delivery: the target is well under a second. */
#define DELIVERY_LIMIT_US (5 * G_USEC_PER_SEC)

enum
{
  U_FD_A1,       /* front_desk of A1: desks D1 and D2 */
  U_ADMIN_A1,    /* clinic_admin of A1 */
  U_FD_B1,       /* front_desk of B1: desk D3 */
  U_CADMIN_A,    /* company_admin of company A (A1, A2) */
  U_PADMIN,      /* platform_admin */
  N_USERS
};

static const struct
{
  const char *username;
  const char *role;          /* "--clinic" slug:role, "--company-admin" or "--platform-admin" */
  const char *arg;
} user_specs[N_USERS] = {
  [U_FD_A1] = { "fd-a1", "--clinic", "a1:front_desk" },
  [U_ADMIN_A1] = { "admin-a1", "--clinic", "a1:clinic_admin" },
  [U_FD_B1] = { "fd-b1", "--clinic", "b1:front_desk" },
  [U_CADMIN_A] = { "cadmin-a", "--company-admin", "Company A" },
  [U_PADMIN] = { "padmin", "--platform-admin", NULL },
};

enum { C_A1, C_A2, C_B1, N_CLINICS };

/* A desk: a device signed in as a user. */
enum { D1, D2, D3, N_DESKS };

typedef struct
{
  char  *device_id;
  char  *access;
  guint  user;
  guint  clinic;
  gint64 batch;
} Desk;

typedef struct
{
  const char  *backend;
  gboolean     ready;
  char        *skip_reason;
  VdTestPg    *pg;
  VdTestSyncd *syncd;
  SoupSession *session;
  char        *url;
  char        *fingerprint;
  char        *company_a;
  char        *clinics[N_CLINICS];
  char        *user_ids[N_USERS];
  char        *tokens[N_USERS];    /* admins' and others' own sessions */
  Desk         desks[N_DESKS];
} Env;

static Env envs[2] = {
  { .backend = "sqlite" },
  { .backend = "postgresql" },
};

/* ---- HTTP ---- */

typedef struct
{
  guint     status;
  char     *body;
  gsize     len;
  char     *content_type;
  char     *content_encoding;
  JsonNode *json;
} Answer;

static void
answer_free (Answer *a)
{
  if (a == NULL)
    return;
  g_free (a->body);
  g_free (a->content_type);
  g_free (a->content_encoding);
  g_clear_pointer (&a->json, json_node_unref);
  g_free (a);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Answer, answer_free)

static Answer *
call_url (Env        *env,
          const char *url,
          const char *method,
          const char *path,
          const char *token,
          const char *json_body,
          const char *pending)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *uri = g_strconcat (url, path, NULL);
  Answer *a = g_new0 (Answer, 1);

  msg = soup_message_new (method, uri);
  g_assert_nonnull (msg);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                    env->fingerprint);
  if (token != NULL)
    {
      g_autofree char *value = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    value);
    }
  if (pending != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "X-VetDesk-Pending",
                                  pending);
  if (json_body != NULL)
    {
      g_autoptr(GBytes) request = g_bytes_new (json_body, strlen (json_body));
      soup_message_set_request_body_from_bytes (msg, "application/json", request);
    }

  bytes = soup_session_send_and_read (env->session, msg, NULL, &error);
  g_assert_no_error (error);
  a->status = soup_message_get_status (msg);
  a->content_type = g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                            "Content-Type"));
  a->content_encoding = g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                                "Content-Encoding"));
  a->len = g_bytes_get_size (bytes);
  a->body = g_strndup (g_bytes_get_data (bytes, NULL), a->len);
  if (a->len > 0 && a->content_type != NULL && g_str_has_prefix (a->content_type, "application/json"))
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      if (json_parser_load_from_data (parser, a->body, a->len, NULL))
        a->json = json_node_ref (json_parser_get_root (parser));
    }
  return a;
}

static Answer *
call (Env        *env,
      const char *method,
      const char *path,
      const char *token,
      const char *json_body)
{
  return call_url (env, env->url, method, path, token, json_body, NULL);
}

static JsonObject *
obj (Answer *a)
{
  g_assert_nonnull (a->json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (a->json));
  return json_node_get_object (a->json);
}

static void
assert_status (Answer *a,
               guint   status)
{
  if (a->status != status)
    g_error ("expected %u, got %u: %s", status, a->status, a->body);
}

static void
assert_error (Answer     *a,
              guint       status,
              const char *code)
{
  assert_status (a, status);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (obj (a), "error"),
                                                  "code"), ==, code);
}

static char *
login_json (const char *username,
            const char *device_id)
{
  const char *secret = vd_test_device_secret (device_id);

  return g_strdup_printf ("{\"username\":\"%s\",\"password\":\"%s\",\"device_id\":\"%s\","
                          "\"device_name\":\"Desk %.8s\"%s%s%s}",
                          username, PASSWORD, device_id, device_id,
                          secret != NULL ? ",\"device_secret\":\"" : "",
                          secret != NULL ? secret : "", secret != NULL ? "\"" : "");
}

static char *
login_at (Env        *env,
          const char *url,
          guint       user,
          const char *device_id)
{
  g_autofree char *body = login_json (user_specs[user].username, device_id);
  g_autoptr(Answer) a = call_url (env, url, "POST", "/v1/auth/login", NULL, body, NULL);

  assert_status (a, 200);
  vd_test_device_secret_keep (device_id, a->body);
  return g_strdup (json_object_get_string_member (obj (a), "access_token"));
}

/* A push of one new client row; an invalid one when bad (an unknown species value on a
 * pet is refused whole, the push itself still answers 200). */
static Answer *
push_at (Env        *env,
         const char *url,
         Desk       *desk,
         gboolean    bad,
         const char *pending)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/push", env->clinics[desk->clinic]);
  g_autofree char *id = vd_uuid_new ();
  g_autofree char *body = NULL;
  VdChange *change;
  VdValue v = { 0, };
  gsize len;

  change = vd_change_new (vd_schema_lookup_table (bad ? "pets" : "clients"), id,
                          vd_hlc_make (g_get_real_time () / 1000, 1), desk->device_id);
  if (bad)
    {
      vd_value_set_text (&v, "dragon");
      vd_change_take_cell (change, vd_table_lookup_column (change->table, "species"), &v);
    }
  else
    {
      vd_value_set_text (&v, "Ana");
      vd_change_take_cell (change, vd_table_lookup_column (change->table, "first_name"), &v);
      vd_value_set_text (&v, "Monitor");
      vd_change_take_cell (change, vd_table_lookup_column (change->table, "last_name"), &v);
    }
  g_ptr_array_add (changes, change);
  body = vd_push_request_encode (desk->device_id, ++desk->batch, changes, &len);
  return call_url (env, url, "POST", path, desk->access, body, pending);
}

static gint64
push_ok (Env  *env,
         Desk *desk)
{
  g_autoptr(Answer) a = push_at (env, env->url, desk, FALSE, NULL);

  assert_status (a, 200);
  g_assert_cmpint (json_object_get_int_member (obj (a), "accepted"), ==, 1);
  return json_object_get_int_member (obj (a), "cursor");
}

static Answer *
pull (Env        *env,
      Desk       *desk,
      gint64      cursor,
      const char *pending)
{
  g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=%" G_GINT64_FORMAT,
                                           env->clinics[desk->clinic], cursor);
  return call_url (env, env->url, "GET", path, desk->access, NULL, pending);
}

/* ---- streams (the desk side, as the desktop client will do it) ---- */

typedef struct
{
  SoupWebsocketConnection *conn;
  GPtrArray               *messages;   /* char*: the text frames received */
  gboolean                 done;       /* connect finished */
  guint                    status;     /* the handshake's HTTP status */
  GError                  *error;
  gboolean                 closed;
  gushort                  close_code;
  char                    *close_reason;
  gint64                   closed_at;
  guint                    local_port;  /* the desk's end of the connection */
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
  g_ptr_array_unref (s->messages);
  g_clear_error (&s->error);
  g_free (s->close_reason);
  g_free (s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Stream, stream_free)

static void
message_cb (SoupWebsocketConnection *conn,
            gint                     type,
            GBytes                  *message,
            Stream                  *s)
{
  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  g_ptr_array_add (s->messages, g_strndup (g_bytes_get_data (message, NULL),
                                           g_bytes_get_size (message)));
}

static void
closed_cb (SoupWebsocketConnection *conn,
           Stream                  *s)
{
  s->closed = TRUE;
  s->close_code = soup_websocket_connection_get_close_code (conn);
  s->close_reason = g_strdup (soup_websocket_connection_get_close_data (conn));
  s->closed_at = g_get_monotonic_time ();
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

static gboolean
iterate_until (gboolean *flag,
               gint64    timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;

  while (!*flag && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  return *flag;
}

/* Spins the loop for a while (for checking that nothing arrives). */
static void
iterate_for (gint64 us)
{
  gboolean never = FALSE;
  iterate_until (&never, us);
}

/* The local port of the connection a message opened. */
static void
note_local_port_cb (SoupMessage        *msg,
                    GSocketClientEvent  event,
                    GIOStream          *connection,
                    guint              *port)
{
  if (event == G_SOCKET_CLIENT_CONNECTED && G_IS_SOCKET_CONNECTION (connection))
    {
      g_autoptr(GSocketAddress) address =
        g_socket_connection_get_local_address (G_SOCKET_CONNECTION (connection), NULL);

      *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
    }
}

static Stream *
stream_open_at (Env        *env,
                const char *url,
                const char *tenant_id,
                const char *token,
                const char *origin)
{
  g_autofree char *uri = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  Stream *s = g_new0 (Stream, 1);

  s->messages = g_ptr_array_new_with_free_func (g_free);
  uri = g_strdup_printf ("%s/v1/tenants/%s/sync/stream", url, tenant_id);
  msg = soup_message_new ("GET", uri);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                    env->fingerprint);
  /* Its own connection, as a desk's stream has, so that its port is known. */
  soup_message_add_flags (msg, SOUP_MESSAGE_NEW_CONNECTION);
  g_signal_connect (msg, "network-event", G_CALLBACK (note_local_port_cb), &s->local_port);
  if (token != NULL)
    {
      g_autofree char *value = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    value);
    }
  soup_session_websocket_connect_async (env->session, msg, origin, NULL, G_PRIORITY_DEFAULT,
                                        NULL, connected_cb, s);
  g_assert_true (iterate_until (&s->done, 30 * G_USEC_PER_SEC));
  s->status = soup_message_get_status (msg);
  return s;
}

static Stream *
stream_open (Env  *env,
             Desk *desk)
{
  Stream *s = stream_open_at (env, env->url, env->clinics[desk->clinic], desk->access, NULL);

  if (s->error != NULL)
    g_error ("stream of %s: %u %s", desk->device_id, s->status, s->error->message);
  return s;
}

/* The cursor of the index-th message, which must be a cursor message. */
static gint64
message_cursor (Stream *s,
                guint   index)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;

  g_assert_cmpuint (index, <, s->messages->len);
  g_assert_true (json_parser_load_from_data (parser, s->messages->pdata[index], -1, NULL));
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (o, "type"), ==, "cursor");
  g_assert_cmpuint (json_object_get_size (o), ==, 2);
  return json_object_get_int_member (o, "cursor");
}

/* Waits until a message with at least cursor arrives; the time it took. */
static gint64
wait_cursor (Stream *s,
             gint64  cursor,
             gint64  since_us)
{
  gint64 deadline = g_get_monotonic_time () + DELIVERY_LIMIT_US;

  while (g_get_monotonic_time () < deadline)
    {
      for (guint i = 0; i < s->messages->len; i++)
        if (message_cursor (s, i) >= cursor)
          return g_get_monotonic_time () - since_us;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (500);
    }
  g_error ("no cursor %" G_GINT64_FORMAT " within %d s (%u messages)", cursor,
           (int) (DELIVERY_LIMIT_US / G_USEC_PER_SEC), s->messages->len);
  return -1;
}

static void
wait_closed (Stream  *s,
             gushort  code)
{
  if (!iterate_until (&s->closed, 10 * G_USEC_PER_SEC))
    g_error ("the stream was not closed (expected %u)", code);
  g_assert_cmpuint (s->close_code, ==, code);
}

/* ---- setup ---- */

static char *
run_cli (Env        *env,
         const char *stdin_text,
         ...)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, (char *) VETDESK_SYNCD);
  va_start (ap, stdin_text);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, "--database");
  g_ptr_array_add (argv, (char *) vd_test_syncd_get_database (env->syncd));
  g_ptr_array_add (argv, "--data-dir");
  g_ptr_array_add (argv, (char *) vd_test_syncd_get_data_dir (env->syncd));
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                               | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, stdin_text ? stdin_text : "", NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (process) != 0)
    g_error ("vetdesk-syncd %s failed: %s", (char *) argv->pdata[1], err);
  return g_strdup (g_strchomp (out));
}

/* The metrics URL the daemon printed. */
static char *
metrics_url (VdTestSyncd *syncd)
{
  g_autofree char *path = g_build_filename (vd_test_syncd_get_data_dir (syncd), "stdout.log", NULL);
  g_autofree char *text = NULL;
  const char *prefix = "vetdesk-syncd metrics on ";
  const char *line;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  line = strstr (text, prefix);
  g_assert_nonnull (line);
  line += strlen (prefix);
  return g_strndup (line, strcspn (line, "\n"));
}

/* ---- the shared daemon of each backend ---- */

/* Each backend's daemon, its clinics, users and desks are made by the first case that
 * needs them, so any case runs alone (-p); the cases then share them in order. "stop" at
 * the end of a backend stops it; main() stops what is left. */
static void
env_setup (Env *env)
{
  g_autoptr(GError) error = NULL;
  const char *db_uri = NULL;
  const char * const slugs[N_CLINICS] = { "a1", "a2", "b1" };

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
    }

  env->syncd = vd_test_syncd_new (VETDESK_SYNCD, db_uri);
  vd_test_syncd_set_config (env->syncd, TEST_CONFIG);
  g_free (run_cli (env, NULL, "migrate", NULL));
  env->company_a = run_cli (env, NULL, "add-company", "Company A", NULL);
  g_free (run_cli (env, NULL, "add-company", "Company B", NULL));
  for (guint c = 0; c < N_CLINICS; c++)
    env->clinics[c] = run_cli (env, NULL, "add-tenant", "--slug", slugs[c], "--name", slugs[c],
                               "--timezone", c == C_B1 ? "America/Mexico_City" : "Europe/Madrid",
                               "--currency", "EUR", "--company",
                               c == C_B1 ? "Company B" : "Company A", NULL);
  for (guint u = 0; u < N_USERS; u++)
    env->user_ids[u] = run_cli (env, PASSWORD "\n", "add-user", "--username",
                                user_specs[u].username, "--display-name", user_specs[u].username,
                                user_specs[u].role, user_specs[u].arg, NULL);

  if (!vd_test_syncd_start (env->syncd, &error))
    g_error ("%s", error->message);
  env->url = g_strdup (vd_test_syncd_get_url (env->syncd));
  env->fingerprint = g_strdup (vd_test_syncd_get_fingerprint (env->syncd));
  env->session = soup_session_new_with_options ("timeout", 60, "user-agent",
                                                "VetDesk/0.1.0 (test-monitor)", NULL);

  for (guint u = 0; u < N_USERS; u++)
    {
      g_autofree char *device = vd_uuid_new ();
      env->tokens[u] = login_at (env, env->url, u, device);
    }
  for (guint d = 0; d < N_DESKS; d++)
    {
      Desk *desk = &env->desks[d];

      desk->device_id = vd_uuid_new ();
      desk->user = d == D3 ? U_FD_B1 : U_FD_A1;
      desk->clinic = d == D3 ? C_B1 : C_A1;
      desk->access = login_at (env, env->url, desk->user, desk->device_id);
    }
  env->ready = TRUE;
}

static void
env_clear (Env *env)
{
  g_clear_object (&env->session);
  g_clear_pointer (&env->syncd, vd_test_syncd_free);
  g_clear_pointer (&env->pg, vd_test_pg_stop);
  g_clear_pointer (&env->url, g_free);
  g_clear_pointer (&env->fingerprint, g_free);
  g_clear_pointer (&env->company_a, g_free);
  for (guint c = 0; c < N_CLINICS; c++)
    g_clear_pointer (&env->clinics[c], g_free);
  for (guint u = 0; u < N_USERS; u++)
    {
      g_clear_pointer (&env->user_ids[u], g_free);
      g_clear_pointer (&env->tokens[u], g_free);
    }
  for (guint d = 0; d < N_DESKS; d++)
    {
      g_clear_pointer (&env->desks[d].device_id, g_free);
      g_clear_pointer (&env->desks[d].access, g_free);
      env->desks[d].batch = 0;
    }
  env->ready = FALSE;
}

/* Sets the backend up unless it is already; FALSE (the case skipped) when it cannot run
 * here. */
static gboolean
env_require (Env *env)
{
  if (!env->ready && env->skip_reason == NULL)
    env_setup (env);
  if (!env->ready)
    {
      g_test_skip (env->skip_reason ? env->skip_reason : "setup failed");
      return FALSE;
    }
  return TRUE;
}

#define REQUIRE_ENV(env) \
  G_STMT_START { \
    if (!env_require (env)) \
      return; \
  } G_STMT_END

/* SIGTERM drains and exits 0; the next case of this backend starts afresh. */
static void
test_stop (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(GError) error = NULL;

  REQUIRE_ENV (env);
  g_clear_object (&env->session);
  if (!vd_test_syncd_stop (env->syncd, &error))
    g_error ("%s", error->message);
  env_clear (env);
}

/* ---- live updates ---- */

static void
test_delivery (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(Stream) s1 = NULL;
  g_autoptr(Stream) s2 = NULL;
  g_autoptr(Stream) s3 = NULL;
  gint64 cursor, first, t0, took1, took2;

  REQUIRE_ENV (env);

  /* Connecting, each desk hears the clinic's cursor as it is. */
  first = push_ok (env, &env->desks[D1]);
  s1 = stream_open (env, &env->desks[D1]);
  s2 = stream_open (env, &env->desks[D2]);
  s3 = stream_open (env, &env->desks[D3]);
  g_assert_cmpuint (s1->status, ==, 101);
  wait_cursor (s1, first, g_get_monotonic_time ());
  wait_cursor (s2, first, g_get_monotonic_time ());
  g_assert_cmpint (message_cursor (s1, 0), ==, first);
  g_assert_cmpint (message_cursor (s2, 0), ==, first);
  iterate_for (200 * 1000);
  g_assert_cmpuint (s3->messages->len, ==, 1);

  for (guint round = 0; round < 3; round++)
    {
      guint before3 = s3->messages->len;

      t0 = g_get_monotonic_time ();
      cursor = push_ok (env, &env->desks[D1]);
      took1 = wait_cursor (s1, cursor, t0);
      took2 = wait_cursor (s2, cursor, t0);
      g_test_message ("%s: push -> both desks notified in %.1f / %.1f ms (push included)",
                      env->backend, took1 / 1000.0, took2 / 1000.0);
      g_assert_cmpint (cursor, >, first);
      /* The other clinic's desk hears nothing of it. */
      iterate_for (100 * 1000);
      g_assert_cmpuint (s3->messages->len, ==, before3);
      first = cursor;
    }

  /* A replayed batch moves nothing and announces nothing. */
  {
    guint before = s2->messages->len;
    g_autoptr(Answer) replay = NULL;

    env->desks[D1].batch--;
    replay = push_at (env, env->url, &env->desks[D1], FALSE, NULL);
    assert_status (replay, 200);
    g_assert_cmpint (json_object_get_int_member (obj (replay), "cursor"), ==, cursor);
    iterate_for (300 * 1000);
    g_assert_cmpuint (s2->messages->len, ==, before);
  }
}

static void
test_refusals (gconstpointer data)
{
  Env *env = (Env *) data;
  const char *a1;

  REQUIRE_ENV (env);
  a1 = env->clinics[C_A1];

  {
    g_autoptr(Stream) s = stream_open_at (env, env->url, a1, NULL, NULL);
    g_assert_nonnull (s->error);
    g_assert_cmpuint (s->status, ==, 401);
  }
  {
    g_autoptr(Stream) s = stream_open_at (env, env->url, a1, "not-a-token", NULL);
    g_assert_cmpuint (s->status, ==, 401);
  }
  /* Another clinic's desk: the clinic does not exist for it. */
  {
    g_autoptr(Stream) s = stream_open_at (env, env->url, a1, env->desks[D3].access, NULL);
    g_assert_cmpuint (s->status, ==, 404);
  }
  /* Administrators see monitoring only. */
  {
    g_autoptr(Stream) s = stream_open_at (env, env->url, a1, env->tokens[U_PADMIN], NULL);
    g_assert_cmpuint (s->status, ==, 403);
  }
  {
    g_autoptr(Stream) s = stream_open_at (env, env->url, a1, env->tokens[U_CADMIN_A], NULL);
    g_assert_cmpuint (s->status, ==, 403);
  }
  /* A web page of another origin; the allowed one passes. */
  {
    g_autoptr(Stream) s = stream_open_at (env, env->url, a1, env->desks[D1].access,
                                          "https://evil.example");
    g_assert_cmpuint (s->status, ==, 403);
  }
  {
    g_autoptr(Stream) s = stream_open_at (env, env->url, a1, env->desks[D1].access,
                                          ALLOWED_ORIGIN);
    g_assert_no_error (s->error);
    g_assert_cmpuint (s->status, ==, 101);
  }
  /* Not a WebSocket handshake at all. */
  {
    g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/stream", a1);
    g_autoptr(Answer) a = call (env, "GET", path, env->desks[D1].access, NULL);
    assert_error (a, 400, "bad_request");
  }
}

static void
test_frames (gconstpointer data)
{
  Env *env = (Env *) data;

  REQUIRE_ENV (env);

  /* ping → pong, and the stream stays open. */
  {
    g_autoptr(Stream) s = stream_open (env, &env->desks[D1]);
    guint before;

    wait_cursor (s, 0, g_get_monotonic_time ());
    before = s->messages->len;
    soup_websocket_connection_send_text (s->conn, "{\"type\":\"ping\"}");
    for (guint i = 0; i < 5000 && s->messages->len == before; i++)
      iterate_for (1000);
    g_assert_cmpuint (s->messages->len, ==, before + 1);
    g_assert_cmpstr (s->messages->pdata[before], ==, "{\"type\":\"pong\"}");
    g_assert_false (s->closed);
  }
  /* Binary frames are refused. */
  {
    g_autoptr(Stream) s = stream_open (env, &env->desks[D1]);
    soup_websocket_connection_send_binary (s->conn, "\x01\x02", 2);
    wait_closed (s, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA);
  }
  /* Any other message is refused. */
  {
    g_autoptr(Stream) s = stream_open (env, &env->desks[D1]);
    soup_websocket_connection_send_text (s->conn, "{\"type\":\"pull\",\"cursor\":0}");
    wait_closed (s, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  }
  {
    g_autoptr(Stream) s = stream_open (env, &env->desks[D1]);
    soup_websocket_connection_send_text (s->conn, "not json");
    wait_closed (s, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION);
  }
  /* Over the 4 KiB limit. */
  {
    g_autoptr(Stream) s = stream_open (env, &env->desks[D1]);
    g_autofree char *big = g_strnfill (5000, 'x');
    soup_websocket_connection_send_text (s->conn, big);
    wait_closed (s, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
  }
  /* Far over it: the server does not even read it (libsoup cuts the connection). */
  {
    g_autoptr(Stream) s = stream_open (env, &env->desks[D1]);
    g_autofree char *huge = g_strnfill (200 * 1024, 'x');
    soup_websocket_connection_send_text (s->conn, huge);
    g_assert_true (iterate_until (&s->closed, 10 * G_USEC_PER_SEC));
    g_assert_cmpuint (s->close_code, !=, SOUP_WEBSOCKET_CLOSE_NORMAL);
  }
}

/* The timer of the established TCP connection from local port to peer port, as the
 * "tr" column of /proc/net/tcp{,6} shows it (2: the kernel's keep-alive), or -1 if there
 * is no such connection. */
static int
tcp_timer (guint port,
           guint peer_port)
{
  const char *files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
  g_autofree char *local = g_strdup_printf (":%04X", port);
  g_autofree char *remote = g_strdup_printf (":%04X", peer_port);

  for (guint f = 0; f < G_N_ELEMENTS (files); f++)
    {
      g_autofree char *text = NULL;
      g_auto(GStrv) lines = NULL;

      g_assert_true (g_file_get_contents (files[f], &text, NULL, NULL));
      lines = g_strsplit (text, "\n", -1);
      for (guint i = 1; lines[i] != NULL; i++)
        {
          g_auto(GStrv) cols = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
          g_autoptr(GPtrArray) c = g_ptr_array_new ();

          for (guint k = 0; cols[k] != NULL; k++)
            if (cols[k][0] != '\0')
              g_ptr_array_add (c, cols[k]);
          /* sl local rem st tx:rx tr:when … */
          if (c->len > 5 && g_str_has_suffix (c->pdata[1], local)
              && g_str_has_suffix (c->pdata[2], remote) && g_str_equal (c->pdata[3], "01"))
            return (int) g_ascii_strtoll (c->pdata[5], NULL, 16);
        }
    }
  return -1;
}

/* A stream's connection is held by the kernel's keep-alive probes (a vanished desk is
 * dropped without syncd waking for it); the desks' own pings are answered. */
static void
test_keepalive (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(Stream) s = NULL;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *health = NULL;
  guint port, http_port = 0;
  gint64 deadline;

  REQUIRE_ENV (env);
  uri = g_uri_parse (env->url, G_URI_FLAGS_NONE, NULL);
  g_assert_nonnull (uri);
  port = (guint) g_uri_get_port (uri);

  /* syncd's side of the stream has the keep-alive timer running. */
  s = stream_open (env, &env->desks[D1]);
  wait_cursor (s, 0, g_get_monotonic_time ());
  g_assert_cmpuint (s->local_port, >, 0);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (tcp_timer (port, s->local_port) != 2 && g_get_monotonic_time () < deadline)
    iterate_for (10 * 1000);
  g_assert_cmpint (tcp_timer (port, s->local_port), ==, 2);

  /* A plain call's connection, kept alive by HTTP, has none. */
  health = g_strconcat (env->url, "/v1/health", NULL);
  msg = soup_message_new ("GET", health);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                    env->fingerprint);
  g_signal_connect (msg, "network-event", G_CALLBACK (note_local_port_cb), &http_port);
  body = soup_session_send_and_read (session, msg, NULL, NULL);
  g_assert_nonnull (body);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_cmpuint (http_port, >, 0);
  g_assert_cmpint (tcp_timer (port, http_port), ==, 0);
}

static JsonObject *find_device (Answer     *a,
                                const char *device_id);

/* Delivery to a desk connected to another syncd process (PostgreSQL: NOTIFY). */
static void
test_cross_process (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(VdTestSyncd) other = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(Stream) s = NULL;
  g_autofree char *token = NULL;
  g_autofree char *saved_fp = NULL;
  gint64 cursor, t0, took;

  REQUIRE_ENV (env);
  if (env->pg == NULL)
    {
      g_test_skip ("one SQLite file is served by one process");
      return;
    }

  other = vd_test_syncd_new (VETDESK_SYNCD, vd_test_syncd_get_database (env->syncd));
  vd_test_syncd_set_config (other, TEST_CONFIG);
  if (!vd_test_syncd_start (other, &error))
    g_error ("%s", error->message);

  /* The desk D2 listens on process B (its own certificate); pushes go to process A. */
  saved_fp = g_strdup (env->fingerprint);
  g_free (env->fingerprint);
  env->fingerprint = g_strdup (vd_test_syncd_get_fingerprint (other));
  s = stream_open_at (env, vd_test_syncd_get_url (other), env->clinics[C_A1],
                      env->desks[D2].access, NULL);
  g_assert_no_error (s->error);
  wait_cursor (s, 0, g_get_monotonic_time ());
  g_free (env->fingerprint);
  env->fingerprint = g_steal_pointer (&saved_fp);

  for (guint round = 0; round < 3; round++)
    {
      t0 = g_get_monotonic_time ();
      cursor = push_ok (env, &env->desks[D1]);
      took = wait_cursor (s, cursor, t0);
      g_test_message ("push to process A -> desk on process B in %.1f ms", took / 1000.0);
    }

  /* PostgreSQL restarts: B's listener reconnects and, having missed what happened
   * meanwhile, reads its clinics' cursors afresh; the desk hears of the push made right
   * after the restart either way. */
  if (!vd_test_pg_restart (env->pg, &error))
    g_error ("%s", error->message);
  for (guint attempt = 0; ; attempt++)
    {
      g_autoptr(Answer) a = push_at (env, env->url, &env->desks[D1], FALSE, NULL);

      if (a->status == 200)
        {
          cursor = json_object_get_int_member (obj (a), "cursor");
          break;
        }
      g_assert_cmpuint (a->status, ==, 503);
      g_assert_cmpuint (attempt, <, 50);
      env->desks[D1].batch--;
      g_usleep (100 * 1000);
    }
  t0 = g_get_monotonic_time ();
  took = wait_cursor (s, cursor, t0);
  g_test_message ("after a PostgreSQL restart: the desk on B heard of it %.1f ms after the push",
                  took / 1000.0);

  /* A revocation on A closes the device's stream on B. */
  {
    g_autofree char *path = g_strdup_printf ("/v1/admin/tenants/%s/devices/%s/revoke",
                                             env->clinics[C_A1], env->desks[D2].device_id);
    g_autoptr(Answer) a = call (env, "POST", path, env->tokens[U_PADMIN], NULL);

    assert_status (a, 204);
    wait_closed (s, 4003);
  }

  /* …and stops its calls on B at once (B caches no token check), while the other desk
   * pulls on B. B writes that pull's report (cursor, pending) about a second later: A's
   * listing shows it without B being asked. */
  {
    g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=0",
                                             env->clinics[C_A1]);
    g_autofree char *devices_path = g_strdup_printf ("/v1/admin/tenants/%s/devices",
                                                     env->clinics[C_A1]);
    g_autofree char *fp_a = g_strdup (env->fingerprint);
    g_autoptr(Answer) refused = NULL;
    g_autoptr(Answer) p = NULL;
    gint64 pulled_at, pulled_cursor;

    g_free (env->fingerprint);
    env->fingerprint = g_strdup (vd_test_syncd_get_fingerprint (other));
    refused = call_url (env, vd_test_syncd_get_url (other), "GET", path,
                        env->desks[D2].access, NULL, NULL);
    assert_error (refused, 401, "unauthorized");
    p = call_url (env, vd_test_syncd_get_url (other), "GET", path, env->desks[D1].access,
                  NULL, "7");
    assert_status (p, 200);
    pulled_at = g_get_monotonic_time ();
    pulled_cursor = json_object_get_int_member (obj (p), "cursor");
    g_free (env->fingerprint);
    env->fingerprint = g_steal_pointer (&fp_a);

    for (;;)
      {
        g_autoptr(Answer) d = call (env, "GET", devices_path, env->tokens[U_PADMIN], NULL);
        JsonObject *device;

        assert_status (d, 200);
        device = find_device (d, env->desks[D1].device_id);
        g_assert_nonnull (device);
        if (json_object_get_int_member (device, "pending") == 7 &&
            json_object_get_int_member (device, "cursor") == pulled_cursor)
          break;
        g_assert_cmpint (g_get_monotonic_time () - pulled_at, <, DELIVERY_LIMIT_US);
        g_usleep (50 * 1000);
      }
    g_test_message ("a pull on B reached the device listing on A after %.0f ms",
                    (g_get_monotonic_time () - pulled_at) / 1000.0);
  }
  env->desks[D2].access = (g_free (env->desks[D2].access),
                           login_at (env, env->url, U_FD_A1, env->desks[D2].device_id));

  if (!vd_test_syncd_stop (other, &error))
    g_error ("%s", error->message);
}

static void
test_expiry (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(VdTestSyncd) other = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(Stream) s = NULL;
  g_autofree char *token = NULL;
  g_autofree char *saved_fp = NULL;
  g_autofree char *device = vd_uuid_new ();
  gint64 opened;

  REQUIRE_ENV (env);

  /* A second daemon on the same database, with 2-second access tokens. */
  other = vd_test_syncd_new (VETDESK_SYNCD, vd_test_syncd_get_database (env->syncd));
  vd_test_syncd_set_config (other, SHORT_TTL_CONFIG);
  if (!vd_test_syncd_start (other, &error))
    g_error ("%s", error->message);
  saved_fp = g_strdup (env->fingerprint);
  g_free (env->fingerprint);
  env->fingerprint = g_strdup (vd_test_syncd_get_fingerprint (other));

  token = login_at (env, vd_test_syncd_get_url (other), U_FD_A1, device);
  opened = g_get_monotonic_time ();
  s = stream_open_at (env, vd_test_syncd_get_url (other), env->clinics[C_A1], token, NULL);
  g_assert_no_error (s->error);
  wait_closed (s, 4001);
  g_assert_cmpstr (s->close_reason, ==, "token expired");
  g_test_message ("closed %.1f s after opening", (s->closed_at - opened) / 1e6);
  g_assert_cmpint (s->closed_at - opened, <, 6 * G_USEC_PER_SEC);

  g_free (env->fingerprint);
  env->fingerprint = g_steal_pointer (&saved_fp);
  if (!vd_test_syncd_stop (other, &error))
    g_error ("%s", error->message);
}

static void
test_restart (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(GError) error = NULL;
  g_autoptr(Stream) before = NULL;
  g_autoptr(Stream) after = NULL;
  gint64 cursor;

  REQUIRE_ENV (env);

  cursor = push_ok (env, &env->desks[D1]);
  before = stream_open (env, &env->desks[D2]);
  wait_cursor (before, cursor, g_get_monotonic_time ());

  /* SIGTERM: the stream is told the server goes away. */
  if (!vd_test_syncd_stop (env->syncd, &error))
    g_error ("%s", error->message);
  wait_closed (before, SOUP_WEBSOCKET_CLOSE_GOING_AWAY);

  if (!vd_test_syncd_start (env->syncd, &error))
    g_error ("%s", error->message);
  g_free (env->url);
  env->url = g_strdup (vd_test_syncd_get_url (env->syncd));

  /* The desk reconnects with its token and hears where the clinic is. */
  after = stream_open (env, &env->desks[D2]);
  g_assert_cmpint (wait_cursor (after, cursor, g_get_monotonic_time ()), >=, 0);
  g_assert_cmpint (message_cursor (after, 0), ==, cursor);
  cursor = push_ok (env, &env->desks[D1]);
  wait_cursor (after, cursor, g_get_monotonic_time ());
}

/* ---- monitoring ---- */

static JsonObject *
find_device (Answer     *a,
             const char *device_id)
{
  JsonArray *devices = json_object_get_array_member (obj (a), "devices");

  for (guint i = 0; i < json_array_get_length (devices); i++)
    {
      JsonObject *d = json_array_get_object_element (devices, i);
      if (g_strcmp0 (json_object_get_string_member (d, "device_id"), device_id) == 0)
        return d;
    }
  return NULL;
}

static JsonObject *
find_tenant (Answer     *a,
             const char *tenant_id)
{
  JsonArray *tenants = json_object_get_array_member (obj (a), "tenants");

  for (guint i = 0; i < json_array_get_length (tenants); i++)
    {
      JsonObject *t = json_array_get_object_element (tenants, i);
      if (g_strcmp0 (json_object_get_string_member (t, "id"), tenant_id) == 0)
        return t;
    }
  return NULL;
}

static void
test_devices (gconstpointer data)
{
  Env *env = (Env *) data;
  static const char * const keys[] = {
    "device_id", "name", "user", "app_version", "first_seen", "last_seen", "last_push_at",
    "last_pull_at", "cursor", "lag", "pending", "rejected", "last_error", "revoked", NULL
  };
  g_autofree char *devices_path = NULL;
  g_autofree char *activity_path = NULL;
  Desk *desk = &env->desks[D1];
  g_autoptr(Answer) listing0 = NULL;
  g_autoptr(Answer) listing = NULL;
  g_autoptr(Answer) devices = NULL;
  g_autoptr(Answer) activity = NULL;
  JsonObject *d, *t, *error;
  JsonArray *minutes;
  gint64 cursor, pushes = 0, seq;

  REQUIRE_ENV (env);
  devices_path = g_strdup_printf ("/v1/admin/tenants/%s/devices", env->clinics[C_A1]);
  activity_path = g_strdup_printf ("/v1/admin/tenants/%s/activity", env->clinics[C_A1]);

  listing0 = call (env, "GET", "/v1/admin/tenants", env->tokens[U_PADMIN], NULL);
  assert_status (listing0, 200);

  /* A pull telling 3 changes pending, then a push whose one change is refused. */
  cursor = push_ok (env, desk);
  {
    g_autoptr(Answer) p = pull (env, desk, 0, "3");
    assert_status (p, 200);
    g_assert_cmpint (json_object_get_int_member (obj (p), "cursor"), ==, cursor);
  }
  {
    g_autoptr(Answer) bad = push_at (env, env->url, desk, TRUE, "1");
    assert_status (bad, 200);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj (bad), "rejected")), ==, 1);
  }
  seq = push_ok (env, &env->desks[D2]);

  devices = call (env, "GET", devices_path, env->tokens[U_PADMIN], NULL);
  assert_status (devices, 200);
  d = find_device (devices, desk->device_id);
  g_assert_nonnull (d);
  for (guint i = 0; keys[i] != NULL; i++)
    g_assert_true (json_object_has_member (d, keys[i]));
  g_assert_cmpuint (json_object_get_size (d), ==, g_strv_length ((GStrv) keys));
  g_assert_cmpstr (json_object_get_string_member (d, "user"), ==, "fd-a1");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (d, "name"), "Desk "));
  g_assert_cmpstr (json_object_get_string_member (d, "app_version"), ==, "0.1.0");
  g_assert_cmpint (json_object_get_int_member (d, "cursor"), ==, cursor);
  g_assert_cmpint (json_object_get_int_member (d, "lag"), ==, seq - cursor);
  g_assert_cmpint (json_object_get_int_member (d, "pending"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (d, "rejected"), >=, 1);
  g_assert_false (json_object_get_boolean_member (d, "revoked"));
  error = json_object_get_object_member (d, "last_error");
  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "invalid_change");
  /* The code only: the refusal's sentence quotes the value, which admins must not see. */
  g_assert_false (json_object_has_member (error, "message"));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (error, "at"), "Z"));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (d, "last_seen"), "Z"));
  /* A device that never failed has no last error. */
  d = find_device (devices, env->desks[D2].device_id);
  g_assert_nonnull (d);
  g_assert_true (json_object_get_null_member (d, "last_error"));

  /* Activity: this minute (or the one before, at a minute's edge) holds the pushes. */
  activity = call (env, "GET", activity_path, env->tokens[U_CADMIN_A], NULL);
  assert_status (activity, 200);
  minutes = json_object_get_array_member (obj (activity), "minutes");
  g_assert_cmpuint (json_array_get_length (minutes), >=, 1);
  for (guint i = 0; i < json_array_get_length (minutes); i++)
    {
      JsonObject *m = json_array_get_object_element (minutes, i);
      gint64 when = 0;

      g_assert_cmpuint (json_object_get_size (m), ==, 4);
      g_assert_true (vd_time_parse_utc (json_object_get_string_member (m, "minute"), &when, NULL));
      g_assert_cmpint (when % 60, ==, 0);
      g_assert_cmpint (when, >, g_get_real_time () / G_USEC_PER_SEC - 24 * 3600);
      g_assert_cmpint (json_object_get_int_member (m, "pushes")
                       + json_object_get_int_member (m, "pulls")
                       + json_object_get_int_member (m, "changes"), >, 0);
      pushes += json_object_get_int_member (m, "pushes");
    }
  g_assert_cmpint (pushes, >=, 3);

  /* The listing: the refused change makes the clinic "errors", its sparkline counts the
   * pushes and pulls, the desks are online. (The snapshot listing0 came from is too old
   * to serve by now.) */
  g_usleep ((LISTING_MAX_AGE_MS + 50) * 1000);
  listing = call (env, "GET", "/v1/admin/tenants", env->tokens[U_PADMIN], NULL);
  assert_status (listing, 200);
  t = find_tenant (listing, env->clinics[C_A1]);
  g_assert_nonnull (t);
  g_assert_cmpstr (json_object_get_string_member (t, "health"), ==, "errors");
  g_assert_cmpint (json_object_get_int_member (t, "devices_online"), >=, 2);
  g_assert_cmpint (json_object_get_int_member (t, "rejected_24h"), >=, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (t, "activity")), ==, 24);
  {
    JsonArray *spark = json_object_get_array_member (t, "activity");
    JsonArray *spark0 = json_object_get_array_member (find_tenant (listing0, env->clinics[C_A1]),
                                                      "activity");
    gint64 sum = 0, sum0 = 0;

    for (guint h = 0; h < 24; h++)
      {
        sum += json_array_get_int_element (spark, h);
        sum0 += json_array_get_int_element (spark0, h);
      }
    /* Four calls since: three pushes and a pull. */
    g_assert_cmpint (sum - sum0, ==, 4);
  }
  /* A clinic nobody failed in is not "errors". */
  t = find_tenant (listing, env->clinics[C_A2]);
  g_assert_cmpstr (json_object_get_string_member (t, "health"), !=, "errors");
}

static void
test_scope (gconstpointer data)
{
  Env *env = (Env *) data;
  const char *kinds[] = { "devices", "activity" };
  const guint admins[] = { U_PADMIN, U_CADMIN_A };

  REQUIRE_ENV (env);

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    for (guint c = 0; c < N_CLINICS; c++)
      {
        g_autofree char *path = g_strdup_printf ("/v1/admin/tenants/%s/%s", env->clinics[c], kinds[k]);

        for (guint i = 0; i < G_N_ELEMENTS (admins); i++)
          {
            g_autoptr(Answer) a = call (env, "GET", path, env->tokens[admins[i]], NULL);

            if (admins[i] == U_CADMIN_A && c == C_B1)
              assert_error (a, 404, "not_found");
            else
              assert_status (a, 200);
          }
        /* Clinic roles see no monitoring, not even of their own clinic. */
        {
          g_autoptr(Answer) a = call (env, "GET", path, env->tokens[U_ADMIN_A1], NULL);
          assert_error (a, 403, "forbidden");
        }
        {
          g_autoptr(Answer) a = call (env, "GET", path, env->desks[D1].access, NULL);
          assert_error (a, 403, "forbidden");
        }
        {
          g_autoptr(Answer) a = call (env, "GET", path, NULL, NULL);
          assert_error (a, 401, "unauthorized");
        }
      }

  /* Unknown clinics and devices. */
  {
    g_autofree char *nil = vd_uuid_new ();
    g_autofree char *path = g_strdup_printf ("/v1/admin/tenants/%s/devices", nil);
    g_autoptr(Answer) a = call (env, "GET", path, env->tokens[U_PADMIN], NULL);
    assert_error (a, 404, "not_found");
  }
  {
    g_autoptr(Answer) a = call (env, "GET", "/v1/admin/tenants/not-a-uuid/devices",
                                env->tokens[U_PADMIN], NULL);
    assert_error (a, 404, "not_found");
  }
  {
    g_autofree char *nil = vd_uuid_new ();
    g_autofree char *path = g_strdup_printf ("/v1/admin/tenants/%s/devices/%s/revoke",
                                             env->clinics[C_A1], nil);
    g_autoptr(Answer) a = call (env, "POST", path, env->tokens[U_PADMIN], NULL);
    assert_error (a, 404, "not_found");
  }

  /* Revocation: the company admin of A cannot reach B's desk; clinic roles are refused. */
  {
    g_autofree char *path = g_strdup_printf ("/v1/admin/tenants/%s/devices/%s/revoke",
                                             env->clinics[C_B1], env->desks[D3].device_id);
    g_autoptr(Answer) a = call (env, "POST", path, env->tokens[U_CADMIN_A], NULL);
    g_autoptr(Answer) b = call (env, "POST", path, env->tokens[U_FD_B1], NULL);
    g_autoptr(Answer) m = call (env, "GET", path, env->tokens[U_PADMIN], NULL);
    assert_error (a, 404, "not_found");
    assert_error (b, 403, "forbidden");
    assert_status (m, 405);
  }

  /* The listing: the company admin sees exactly its company's clinics. */
  {
    g_autoptr(Answer) a = call (env, "GET", "/v1/admin/tenants", env->tokens[U_CADMIN_A], NULL);
    g_autoptr(Answer) p = call (env, "GET", "/v1/admin/tenants", env->tokens[U_PADMIN], NULL);
    JsonArray *tenants;

    assert_status (a, 200);
    tenants = json_object_get_array_member (obj (a), "tenants");
    g_assert_cmpuint (json_array_get_length (tenants), ==, 2);
    g_assert_nonnull (find_tenant (a, env->clinics[C_A1]));
    g_assert_nonnull (find_tenant (a, env->clinics[C_A2]));
    g_assert_null (find_tenant (a, env->clinics[C_B1]));
    assert_status (p, 200);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj (p), "tenants")), ==, 3);
  }
}

static void
test_revoke (gconstpointer data)
{
  Env *env = (Env *) data;
  Desk *desk = &env->desks[D2];
  g_autofree char *path = NULL;
  g_autofree char *devices_path = NULL;
  g_autoptr(Stream) s = NULL;
  g_autoptr(Stream) other = NULL;
  gint64 t0;

  REQUIRE_ENV (env);
  path = g_strdup_printf ("/v1/admin/tenants/%s/devices/%s/revoke", env->clinics[C_A1],
                          desk->device_id);
  devices_path = g_strdup_printf ("/v1/admin/tenants/%s/devices", env->clinics[C_A1]);

  /* A desk the server has on record: a push writes its device row at once (a pull's
   * is written with the next batch of pull reports). */
  push_ok (env, desk);
  answer_free (pull (env, desk, 0, NULL));
  s = stream_open (env, desk);
  other = stream_open (env, &env->desks[D1]);
  wait_cursor (s, 0, g_get_monotonic_time ());

  t0 = g_get_monotonic_time ();
  {
    g_autoptr(Answer) a = call (env, "POST", path, env->tokens[U_CADMIN_A], NULL);
    assert_status (a, 204);
    g_assert_cmpuint (a->len, ==, 0);
  }
  /* At once: the stream is closed, the next call refused. */
  wait_closed (s, 4003);
  g_test_message ("stream closed %.1f ms after the revocation was sent",
                  (s->closed_at - t0) / 1000.0);
  {
    g_autoptr(Answer) p = pull (env, desk, 0, NULL);
    assert_error (p, 401, "unauthorized");
  }
  {
    g_autoptr(Stream) again = stream_open_at (env, env->url, env->clinics[C_A1], desk->access, NULL);
    g_assert_cmpuint (again->status, ==, 401);
  }
  /* The other desk of the same user is untouched. */
  iterate_for (200 * 1000);
  g_assert_false (other->closed);
  {
    g_autoptr(Answer) p = pull (env, &env->desks[D1], 0, NULL);
    assert_status (p, 200);
  }
  {
    g_autoptr(Answer) d = call (env, "GET", devices_path, env->tokens[U_PADMIN], NULL);
    g_assert_true (json_object_get_boolean_member (find_device (d, desk->device_id), "revoked"));
  }

  /* Signing out ends that session's streams too. */
  {
    g_autofree char *device = vd_uuid_new ();
    g_autofree char *token = login_at (env, env->url, U_FD_A1, device);
    g_autoptr(Stream) mine = stream_open_at (env, env->url, env->clinics[C_A1], token, NULL);
    g_autoptr(Answer) out = NULL;

    g_assert_no_error (mine->error);
    out = call (env, "POST", "/v1/auth/logout", token, NULL);
    assert_status (out, 204);
    wait_closed (mine, 4003);
  }

  /* Signing in again from it lifts the mark. */
  g_free (desk->access);
  desk->access = login_at (env, env->url, U_FD_A1, desk->device_id);
  {
    g_autoptr(Answer) d = call (env, "GET", devices_path, env->tokens[U_PADMIN], NULL);
    g_assert_false (json_object_get_boolean_member (find_device (d, desk->device_id), "revoked"));
  }
  push_ok (env, desk);
}

/* ---- metrics ---- */

/* One line of the text exposition format: a comment, or name{labels} value. */
static gboolean
valid_metric_line (const char *line)
{
  static GRegex *sample = NULL, *comment = NULL;

  if (sample == NULL)
    {
      sample = g_regex_new ("^[a-zA-Z_:][a-zA-Z0-9_:]*"
                            "(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\\n]|\\\\[\"\\\\n])*\""
                            "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\\n]|\\\\[\"\\\\n])*\")*)?\\})?"
                            " (-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?|\\+Inf|-Inf|NaN)"
                            "( -?[0-9]+)?$", 0, 0, NULL);
      comment = g_regex_new ("^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* "
                             "(counter|gauge|histogram|summary|untyped))$", 0, 0, NULL);
    }
  return g_regex_match (line[0] == '#' ? comment : sample, line, 0, NULL);
}

/* The value of the sample whose text before the value is exactly series; -1 if none. */
static double
metric_value (const char *text,
              const char *series)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], series) && lines[i][strlen (series)] == ' ')
      return g_ascii_strtod (lines[i] + strlen (series) + 1, NULL);
  return -1;
}

static char *
scrape (Env *env)
{
  g_autofree char *url = metrics_url (env->syncd);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = soup_session_send_and_read (env->session, msg, NULL, &error);
  g_auto(GStrv) lines = NULL;
  char *text;

  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_assert_true (g_str_has_prefix (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                                  "Content-Type"), "text/plain; version=0.0.4"));
  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_assert_true (g_str_has_suffix (text, "\n"));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
    if (!valid_metric_line (lines[i]))
      g_error ("not a valid exposition line: “%s”", lines[i]);
  return text;
}

static void
test_metrics (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(Stream) s = NULL;

  REQUIRE_ENV (env);

  /* A labelled series shows once it counts something: absent before is 0. */
  before = scrape (env);
  push_ok (env, &env->desks[D1]);
  answer_free (push_at (env, env->url, &env->desks[D1], TRUE, NULL));
  s = stream_open (env, &env->desks[D1]);
  wait_cursor (s, 0, g_get_monotonic_time ());
  after = scrape (env);

  g_assert_cmpfloat (metric_value (after, "vetdesk_push_total"), ==,
                     metric_value (before, "vetdesk_push_total") + 2);
  g_assert_cmpfloat (metric_value (after, "vetdesk_changes_merged_total"), ==,
                     metric_value (before, "vetdesk_changes_merged_total") + 1);
  g_assert_cmpfloat (metric_value (after, "vetdesk_changes_rejected_total{code=\"invalid_change\"}"),
                     ==, MAX (metric_value (before, "vetdesk_changes_rejected_total{code=\"invalid_change\"}"), 0) + 1);
  g_assert_cmpfloat (metric_value (after, "vetdesk_http_requests_total{route=\"push\",status=\"200\"}"),
                     ==, MAX (metric_value (before, "vetdesk_http_requests_total{route=\"push\",status=\"200\"}"), 0) + 2);
  g_assert_cmpfloat (metric_value (after, "vetdesk_http_request_duration_seconds_count{route=\"push\"}"),
                     ==, MAX (metric_value (before, "vetdesk_http_request_duration_seconds_count{route=\"push\"}"), 0) + 2);
  g_assert_cmpfloat (metric_value (after, "vetdesk_http_request_duration_seconds_bucket{route=\"push\",le=\"+Inf\"}"),
                     ==, metric_value (after, "vetdesk_http_request_duration_seconds_count{route=\"push\"}"));
  g_assert_cmpfloat (metric_value (after, "vetdesk_stream_connections"), >=, 1);
  g_assert_cmpfloat (metric_value (after, "vetdesk_http_requests_total{route=\"stream\",status=\"101\"}"), >=, 1);
  g_assert_cmpfloat (metric_value (after, "vetdesk_db_pool_size"), >=, 1);
  g_assert_cmpfloat (metric_value (after, "vetdesk_db_pool_in_use"), >=, 0);
  g_assert_cmpfloat (metric_value (after, "vetdesk_open_conflicts{scope=\"database\"}"), >=, 0);

  /* The stream's end is counted. */
  g_clear_pointer (&s, stream_free);
  iterate_for (300 * 1000);
  g_free (after);
  after = scrape (env);
  g_assert_cmpfloat (metric_value (after, "vetdesk_stream_connections"), ==, 0);

  /* On the main port: the platform administrator only. */
  {
    g_autoptr(Answer) a = call (env, "GET", "/v1/metrics", env->tokens[U_PADMIN], NULL);
    assert_status (a, 200);
    g_assert_true (g_str_has_prefix (a->content_type, "text/plain; version=0.0.4"));
    g_assert_nonnull (strstr (a->body, "vetdesk_push_total "));
  }
  {
    g_autoptr(Answer) a = call (env, "GET", "/v1/metrics", env->tokens[U_CADMIN_A], NULL);
    assert_error (a, 403, "forbidden");
  }
  {
    g_autoptr(Answer) a = call (env, "GET", "/v1/metrics", env->desks[D1].access, NULL);
    assert_error (a, 403, "forbidden");
  }
  {
    g_autoptr(Answer) a = call (env, "GET", "/v1/metrics", NULL, NULL);
    assert_error (a, 401, "unauthorized");
  }
}

/* The plain-HTTP metrics listener refuses a public address unless told otherwise. */
static void
test_metrics_loopback (void)
{
  g_autoptr(VdTestSyncd) syncd = vd_test_syncd_new (VETDESK_SYNCD, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *log = NULL;

  vd_test_syncd_set_config (syncd, "[server]\nmetrics-listen=0.0.0.0:0\n");
  g_assert_false (vd_test_syncd_start (syncd, &error));
  g_assert_nonnull (strstr (error->message, "loopback"));
}

/* ---- health, on the store with a clock the test sets ---- */

typedef struct
{
  gint64 now_ms;
} Clock;

static gint64
clock_wall (gpointer data)
{
  return ((Clock *) data)->now_ms;
}

static gint64
madrid (int y, int mo, int d, int h, int mi)
{
  g_autoptr(GTimeZone) zone = vd_time_zone_new ("Europe/Madrid", NULL);
  return vd_time_from_zone (zone, y, mo, d, h, mi, 0);
}

static const char *
health (VdsStore   *store,
        const char *tenant_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) stats = vds_store_admin_tenants (store, NULL, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < stats->len; i++)
    {
      VdsTenantStats *s = stats->pdata[i];
      if (g_str_equal (s->id, tenant_id))
        return s->health;
    }
  g_assert_not_reached ();
}

static void
sync_at (VdsStore       *store,
         const char     *tenant_id,
         const char     *device_id,
         VdsDeviceEvent  event,
         gint64          cursor,
         gint64          when)
{
  g_autoptr(GError) error = NULL;
  VdsDeviceReport r = { tenant_id, device_id, NULL, "0.1.0", event, cursor, -1, 0, NULL, NULL, when };

  g_assert_true (vds_store_report_device (store, &r, &error));
  g_assert_no_error (error);
}

static void
test_health (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("vd-test-monitor-XXXXXX", &error);
  g_autofree char *uri = g_strconcat ("sqlite:", dir, "/health.db", NULL);
  g_autofree char *company = NULL;
  g_autofree char *tenant = NULL;
  g_autofree char *device = vd_uuid_new ();
  g_autofree char *device2 = vd_uuid_new ();
  g_autoptr(GTimeZone) zone = vd_time_zone_new ("Europe/Madrid", NULL);
  Clock clock;
  VdsStore *store;
  gint64 t;

  g_assert_no_error (error);
  store = vds_store_open (uri, 2, &error);
  g_assert_no_error (error);
  /* Monday 2024-03-04, 08:00 in Madrid: created before opening. */
  clock.now_ms = madrid (2024, 3, 4, 8, 0) * 1000;
  vds_store_set_wall_clock (store, clock_wall, &clock);
  g_assert_true (vds_store_add_company (store, "Health", &company, &error));
  g_assert_true (vds_store_add_tenant (store, "h1", "Health", "Europe/Madrid", "EUR", company,
                                       &tenant, &error));

  /* Never synced, closed: not offline. 09:20, 20 open minutes: not yet. 09:31: offline. */
  g_assert_cmpstr (health (store, tenant), ==, "ok");
  clock.now_ms = madrid (2024, 3, 4, 9, 20) * 1000;
  g_assert_cmpstr (health (store, tenant), ==, "ok");
  clock.now_ms = madrid (2024, 3, 4, 9, 31) * 1000;
  g_assert_cmpstr (health (store, tenant), ==, "offline");

  /* A pull at 09:40; at 10:05 all is well, at 10:11 offline again. */
  sync_at (store, tenant, device, VDS_DEVICE_PULLED, 0, madrid (2024, 3, 4, 9, 40));
  clock.now_ms = madrid (2024, 3, 4, 10, 5) * 1000;
  g_assert_cmpstr (health (store, tenant), ==, "ok");
  clock.now_ms = madrid (2024, 3, 4, 10, 11) * 1000;
  g_assert_cmpstr (health (store, tenant), ==, "offline");

  /* Outside opening hours a clinic is never offline: Sunday noon, Monday 21:00, Saturday
   * 15:00. Saturday 13:55 after a sync on Friday 19:50 is (10 + 235 open minutes). */
  clock.now_ms = madrid (2024, 3, 10, 12, 0) * 1000;
  g_assert_cmpstr (health (store, tenant), ==, "ok");
  clock.now_ms = madrid (2024, 3, 4, 21, 0) * 1000;
  g_assert_cmpstr (health (store, tenant), ==, "ok");
  sync_at (store, tenant, device, VDS_DEVICE_PULLED, 0, madrid (2024, 3, 8, 19, 50));
  clock.now_ms = madrid (2024, 3, 9, 15, 0) * 1000;
  g_assert_cmpstr (health (store, tenant), ==, "ok");
  clock.now_ms = madrid (2024, 3, 9, 10, 15) * 1000;
  g_assert_cmpstr (health (store, tenant), ==, "ok");     /* 10 + 15 = 25 open minutes */
  clock.now_ms = madrid (2024, 3, 9, 10, 25) * 1000;
  g_assert_cmpstr (health (store, tenant), ==, "offline"); /* 10 + 25 = 35 */
  /* Sync on Saturday 13:50; Monday 09:15 is 10 + 15 open minutes later: fine. */
  sync_at (store, tenant, device, VDS_DEVICE_PUSHED, 0, madrid (2024, 3, 9, 13, 50));
  clock.now_ms = madrid (2024, 3, 11, 9, 15) * 1000;
  g_assert_cmpstr (health (store, tenant), ==, "ok");
  clock.now_ms = madrid (2024, 3, 11, 9, 25) * 1000;
  g_assert_cmpstr (health (store, tenant), ==, "offline");

  /* Opening time across the spring-forward night (Sunday 31 March 2024 in Madrid) and the
   * fall-back one (27 October): whole days of 11 open hours either way. */
  t = vds_store_open_seconds (zone, madrid (2024, 3, 29, 20, 0), madrid (2024, 4, 1, 20, 0), G_MAXINT64);
  g_assert_cmpint (t, ==, 4 * 3600 + 11 * 3600);
  t = vds_store_open_seconds (zone, madrid (2024, 10, 25, 20, 0), madrid (2024, 10, 28, 20, 0), G_MAXINT64);
  g_assert_cmpint (t, ==, 4 * 3600 + 11 * 3600);
  t = vds_store_open_seconds (zone, madrid (2024, 3, 4, 9, 0), madrid (2024, 3, 11, 9, 0), G_MAXINT64);
  g_assert_cmpint (t, ==, 5 * 11 * 3600 + 4 * 3600);

  /* Lagging: a device seen recently but behind the clinic for over 5 minutes. */
  clock.now_ms = madrid (2024, 3, 12, 11, 0) * 1000;
  sync_at (store, tenant, device, VDS_DEVICE_PULLED, 0, madrid (2024, 3, 12, 10, 59));
  sync_at (store, tenant, device2, VDS_DEVICE_PULLED, 0, madrid (2024, 3, 12, 10, 59));
  g_assert_cmpstr (health (store, tenant), ==, "ok");
  {
    /* device2 pushes: the sequence moves on; device has not pulled since. */
    g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
    g_autoptr(VdPushRequest) req = NULL;
    g_autofree char *answer = NULL;
    g_autofree char *body = NULL;
    g_autofree char *id = vd_uuid_new ();
    VdChange *c = vd_change_new (vd_schema_lookup_table ("clients"), id,
                                 vd_hlc_make (clock.now_ms, 0), device2);
    VdValue v = { 0, };
    gsize len;

    vd_value_set_text (&v, "Lag");
    vd_change_take_cell (c, vd_table_lookup_column (c->table, "first_name"), &v);
    vd_value_set_text (&v, "Test");
    vd_change_take_cell (c, vd_table_lookup_column (c->table, "last_name"), &v);
    g_ptr_array_add (changes, c);
    body = vd_push_request_encode (device2, 1, changes, &len);
    req = vd_push_request_decode (body, len, &error);
    g_assert_no_error (error);
    g_assert_true (vds_store_push (store, tenant, req, &answer, &error));
    g_assert_no_error (error);
  }
  sync_at (store, tenant, device2, VDS_DEVICE_PULLED, 1, madrid (2024, 3, 12, 11, 0));
  sync_at (store, tenant, device, VDS_DEVICE_PUSHED, 0, madrid (2024, 3, 12, 11, 0));
  clock.now_ms = madrid (2024, 3, 12, 11, 4) * 1000;
  g_assert_cmpstr (health (store, tenant), ==, "ok");
  clock.now_ms = madrid (2024, 3, 12, 11, 6) * 1000;
  sync_at (store, tenant, device2, VDS_DEVICE_PULLED, 1, madrid (2024, 3, 12, 11, 6));
  sync_at (store, tenant, device, VDS_DEVICE_PUSHED, 0, madrid (2024, 3, 12, 11, 6));
  g_assert_cmpstr (health (store, tenant), ==, "lagging");
  /* It pulls and catches up. */
  sync_at (store, tenant, device, VDS_DEVICE_PULLED, 1, madrid (2024, 3, 12, 11, 6));
  g_assert_cmpstr (health (store, tenant), ==, "ok");

  /* Errors: a device's refused change within the last hour, then an hour later gone. */
  {
    VdsDeviceReport r = { tenant, device2, NULL, NULL, VDS_DEVICE_PUSHED, -1, -1, 1,
                          "invalid_change", "The species must be one of: dog, cat, …",
                          madrid (2024, 3, 12, 11, 6) };
    VdsActivity a = { tenant, madrid (2024, 3, 12, 11, 6) / 60, 1, 0, 0, 1, 0 };

    g_assert_true (vds_store_report_device (store, &r, &error));
    g_assert_true (vds_store_add_activity (store, &a, 1, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpstr (health (store, tenant), ==, "errors");
  {
    g_autoptr(GPtrArray) stats = vds_store_admin_tenants (store, NULL, &error);
    VdsTenantStats *s = stats->pdata[0];

    g_assert_cmpint (s->errors_1h, ==, 1);
    g_assert_cmpint (s->rejected_24h, ==, 1);
    /* 11:06 Madrid is 10:06 UTC, this very hour: the sparkline's last slot. */
    g_assert_cmpint (s->activity[23], ==, 1);
  }
  clock.now_ms = madrid (2024, 3, 12, 12, 7) * 1000;
  sync_at (store, tenant, device, VDS_DEVICE_PULLED, 1, madrid (2024, 3, 12, 12, 7));
  g_assert_cmpstr (health (store, tenant), ==, "ok");

  vds_store_free (store);
  {
    g_autofree char *db = g_build_filename (dir, "health.db", NULL);
    g_autofree char *wal = g_strconcat (db, "-wal", NULL);
    g_autofree char *shm = g_strconcat (db, "-shm", NULL);
    g_unlink (db);
    g_unlink (wal);
    g_unlink (shm);
    g_rmdir (dir);
  }
}

/* The seq of clinic in a listing's answer. */
static gint64
listed_seq (Answer     *listing,
            const char *clinic)
{
  JsonObject *t = find_tenant (listing, clinic);

  g_assert_nonnull (t);
  return json_object_get_int_member (t, "seq");
}

/* The listing of every clinic is a snapshot shared for LISTING_MAX_AGE_MS: a push in that
 * time is not in it yet, and is once it has aged; company admins get theirs filtered from
 * the same snapshot; an answer is gzip-compressed for a client that accepts it. */
static void
test_listing (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(Answer) before = NULL;
  g_autoptr(Answer) cached = NULL;
  g_autoptr(Answer) company = NULL;
  g_autoptr(Answer) later = NULL;
  gint64 started, seq0, pushed;

  REQUIRE_ENV (env);

  /* Let whatever snapshot an earlier case left run out. */
  g_usleep ((LISTING_MAX_AGE_MS + 50) * 1000);
  started = g_get_monotonic_time ();
  before = call (env, "GET", "/v1/admin/tenants", env->tokens[U_PADMIN], NULL);
  assert_status (before, 200);
  seq0 = listed_seq (before, env->clinics[C_A1]);
  pushed = push_ok (env, &env->desks[D1]);
  g_assert_cmpint (pushed, >, seq0);
  cached = call (env, "GET", "/v1/admin/tenants", env->tokens[U_PADMIN], NULL);
  company = call (env, "GET", "/v1/admin/tenants", env->tokens[U_CADMIN_A], NULL);
  assert_status (cached, 200);
  assert_status (company, 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj (company), "tenants")), ==, 2);
  g_assert_null (find_tenant (company, env->clinics[C_B1]));
  if (g_get_monotonic_time () - started < (LISTING_MAX_AGE_MS - 50) * 1000)
    {
      /* Same snapshot: same bytes, the push not in them yet. */
      g_assert_cmpstr (cached->body, ==, before->body);
      g_assert_cmpint (listed_seq (company, env->clinics[C_A1]), ==, seq0);
    }
  else
    g_test_message ("the machine took longer than a snapshot's life; not compared");

  /* Aged: the next listing reads the clinics again. */
  g_usleep ((LISTING_MAX_AGE_MS + 50) * 1000);
  later = call (env, "GET", "/v1/admin/tenants", env->tokens[U_PADMIN], NULL);
  assert_status (later, 200);
  g_assert_cmpint (listed_seq (later, env->clinics[C_A1]), >=, pushed);

  /* Company name, for the monitor's rows. */
  g_assert_nonnull (json_object_get_string_member (find_tenant (later, env->clinics[C_A1]),
                                                   "company_name"));

  /* gzip when accepted (libsoup's session asks for it and decodes), plain when not. */
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *uri = g_strconcat (env->url, "/v1/admin/tenants", NULL);
      g_autofree char *auth = g_strconcat ("Bearer ", env->tokens[U_PADMIN], NULL);
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
      g_autoptr(GBytes) body = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonParser) parser = json_parser_new ();
      SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
      const char *encoding;

      g_signal_connect (msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                        env->fingerprint);
      soup_message_headers_replace (headers, "Authorization", auth);
      soup_message_headers_replace (headers, "Accept-Encoding", i == 0 ? "gzip, deflate" : "identity");
      body = soup_session_send_and_read (env->session, msg, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
      encoding = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                               "Content-Encoding");
      if (i == 0)
        g_assert_cmpstr (encoding, ==, "gzip");
      else
        g_assert_null (encoding);
      g_assert_true (json_parser_load_from_data (parser, g_bytes_get_data (body, NULL),
                                                 g_bytes_get_size (body), &error));
      g_assert_no_error (error);
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                          json_node_get_object (json_parser_get_root (parser)), "tenants")), ==, 3);
    }

  /* While an admin watches, syncd renews the snapshot before it ages, without waiting for
   * a listing to ask: a few lifetimes later it has been read again several times. */
  {
    g_autofree char *m0 = scrape (env);
    g_autofree char *m1 = NULL;
    double builds = metric_value (m0, "vetdesk_admin_listing_builds_total");

    g_assert_cmpfloat (builds, >=, 1);
    g_usleep (LISTING_MAX_AGE_MS * 4 * 1000);
    m1 = scrape (env);
    g_assert_cmpfloat (metric_value (m1, "vetdesk_admin_listing_builds_total"), >=, builds + 2);
  }
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
    { "delivery", test_delivery },
    { "refusals", test_refusals },
    { "frames", test_frames },
    { "keepalive", test_keepalive },
    { "devices", test_devices },
    { "scope", test_scope },
    { "listing", test_listing },
    { "revoke", test_revoke },
    { "metrics", test_metrics },
    { "cross-process", test_cross_process },
    { "expiry", test_expiry },
    { "restart", test_restart },
    { "stop", test_stop },
  };
  int status;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/monitor/health", test_health);
  g_test_add_func ("/monitor/metrics-loopback", test_metrics_loopback);
  for (guint e = 0; e < G_N_ELEMENTS (envs); e++)
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autofree char *path = g_strdup_printf ("/monitor/%s/%s", envs[e].backend, cases[i].name);
        g_test_add_data_func (path, &envs[e], cases[i].func);
      }
  status = g_test_run ();
  for (guint e = 0; e < G_N_ELEMENTS (envs); e++)
    env_clear (&envs[e]);
  return status;
}
