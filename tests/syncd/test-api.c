/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-api.c — the conformance suite of protocol v1 (ARCHITECTURE §4–§6) over real HTTPS
 * against the real vetdesk-syncd binary: once on SQLite, once on PostgreSQL. Clinics and
 * users are made with the daemon's own subcommands; the client is libsoup, trusting the
 * daemon's self-signed certificate by its fingerprint. Randomised parts use a fixed seed
 * (VD_SEED=n replays one). */
#define G_LOG_DOMAIN "test-api"

#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>

#include "vd-cell-store.h"
#include "vd-change.h"
#include "vd-hlc.h"
#include "vd-id.h"
#include "vd-protocol.h"
#include "vd-test-pg.h"
#include "vd-test-syncd.h"
#include "vd-time.h"
#include "vds-store.h"

/* Test settings: fast lockout expiry, a short header timeout for the slow-loris test,
 * and rate limits out of the way (the rate-limit test starts its own daemon); the admin
 * listing read anew for every call, since these tests look at it right after a push
 * (test-monitor covers its shared snapshot). */
#define HEADER_TIMEOUT_S 3
#define LOCKOUT_S        2
#define TEST_CONFIG \
  "[limits]\n" \
  "header-timeout=3\n" \
  "idle-timeout=10\n" \
  "lockout-seconds=2\n" \
  "address-rate=0\n" \
  "clinic-rate=0\n" \
  "login-rate=0\n" \
  "[monitor]\n" \
  "listing-max-age-ms=0\n"

#define PASSWORD "correct horse battery"

enum
{
  U_FD_A1,       /* front_desk of clinic A1 */
  U_ADMIN_A1,    /* clinic_admin of A1 */
  U_FD_A2,       /* front_desk of A2 (same company as A1) */
  U_FD_B1,       /* front_desk of B1 (another company) */
  U_CADMIN_A,    /* company_admin of company A */
  U_PADMIN,      /* platform_admin */
  U_LOCK,        /* for the lockout test */
  N_USERS
};

static const struct
{
  const char *username;
  const char *clinic;          /* slug:role, or NULL */
  const char *company_admin;   /* company name, or NULL */
  gboolean    platform_admin;
} user_specs[N_USERS] = {
  [U_FD_A1] = { "fd-a1", "a1:front_desk", NULL, FALSE },
  [U_ADMIN_A1] = { "admin-a1", "a1:clinic_admin", NULL, FALSE },
  [U_FD_A2] = { "fd-a2", "a2:front_desk", NULL, FALSE },
  [U_FD_B1] = { "fd-b1", "b1:front_desk", NULL, FALSE },
  [U_CADMIN_A] = { "cadmin-a", NULL, "Company A", FALSE },
  [U_PADMIN] = { "padmin", NULL, NULL, TRUE },
  [U_LOCK] = { "lockme", "a1:front_desk", NULL, FALSE },
};

typedef struct
{
  char *id;
  char *device_id;
  char *access;
  char *refresh;
} User;

enum { C_A1, C_A2, C_B1, N_CLINICS };
static const char * const clinic_slugs[N_CLINICS] = { "a1", "a2", "b1" };

typedef struct
{
  const char  *backend;          /* "sqlite" or "postgresql" */
  gboolean     ready;
  char        *skip_reason;
  VdTestPg    *pg;
  VdTestSyncd *syncd;
  SoupSession *session;
  char        *url;
  char        *fingerprint;
  char        *company_a;
  char        *company_b;
  char        *clinics[N_CLINICS];
  User         users[N_USERS];
  /* Per clinic: a client row id and a last name no other clinic has, pushed at setup, that
   * must never show in another clinic's answers. */
  char        *secret_row[N_CLINICS];
  char        *secret_name[N_CLINICS];
  gint64       next_batch[N_USERS];
} Env;

static Env envs[2] = {
  { .backend = "sqlite" },
  { .backend = "postgresql" },
};

static guint32 seed;

/* ---- HTTP ---- */

typedef struct
{
  guint               status;
  char               *body;
  gsize               len;
  SoupMessageHeaders *headers;
  JsonNode           *json;
} Answer;

static void
answer_free (Answer *a)
{
  if (a == NULL)
    return;
  g_free (a->body);
  g_clear_pointer (&a->headers, soup_message_headers_unref);
  g_clear_pointer (&a->json, json_node_unref);
  g_free (a);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Answer, answer_free)

static Answer *
call_full (Env        *env,
           const char *url,
           const char *fingerprint,
           const char *method,
           const char *path,
           const char *token,
           const char *content_type,
           const char *body,
           gssize      len)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *uri = g_strconcat (url, path, NULL);
  Answer *a = g_new0 (Answer, 1);

  msg = soup_message_new (method, uri);
  g_assert_nonnull (msg);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                    (gpointer) fingerprint);
  if (token != NULL)
    {
      g_autofree char *value = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg),
                                    "Authorization", value);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) request = g_bytes_new (body, len < 0 ? strlen (body) : (gsize) len);
      soup_message_set_request_body_from_bytes (msg, content_type, request);
    }

  bytes = soup_session_send_and_read (env->session, msg, NULL, &error);
  g_assert_no_error (error);
  a->status = soup_message_get_status (msg);
  a->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  a->body = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  a->len = g_bytes_get_size (bytes);
  if (a->len > 0)
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
  return call_full (env, env->url, env->fingerprint, method, path, token,
                    json_body ? "application/json" : NULL, json_body, -1);
}

static JsonObject *
obj (Answer *a)
{
  g_assert_nonnull (a->json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (a->json));
  return json_node_get_object (a->json);
}

/* Every answer with a body is JSON in UTF-8 and never cached. */
static void
assert_json_headers (Answer *a)
{
  g_assert_cmpstr (soup_message_headers_get_one (a->headers, "Content-Type"), ==,
                   "application/json; charset=utf-8");
  g_assert_cmpstr (soup_message_headers_get_one (a->headers, "Cache-Control"), ==,
                   "no-store");
}

static void
assert_error (Answer     *a,
              guint       status,
              const char *code)
{
  JsonObject *error;

  if (a->status != status)
    g_error ("expected %u %s, got %u: %s", status, code, a->status, a->body);
  assert_json_headers (a);
  g_assert_true (json_object_has_member (obj (a), "error"));
  g_assert_cmpuint (json_object_get_size (obj (a)), ==, 1);
  error = json_object_get_object_member (obj (a), "error");
  g_assert_cmpuint (json_object_get_size (error), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, code);
  /* A sentence for a person, not a code. */
  g_assert_cmpuint (strlen (json_object_get_string_member (error, "message")), >, 10);
  g_assert_nonnull (strchr (json_object_get_string_member (error, "message"), ' '));
}

static void
assert_status (Answer *a,
               guint   status)
{
  if (a->status != status)
    g_error ("expected %u, got %u: %s", status, a->status, a->body);
}

static char *
login_json (const char *username,
            const char *password,
            const char *device_id)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "username");
  json_builder_add_string_value (b, username);
  json_builder_set_member_name (b, "password");
  json_builder_add_string_value (b, password);
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
  return json_generator_to_data (gen, NULL);
}

static Answer *
login (Env        *env,
       const char *username,
       const char *password,
       const char *device_id)
{
  g_autofree char *body = login_json (username, password, device_id);
  Answer *a = call (env, "POST", "/v1/auth/login", NULL, body);

  if (a->status == 200)
    vd_test_device_secret_keep (device_id, a->body);
  return a;
}

static void
login_user (Env  *env,
            guint u)
{
  g_autoptr(Answer) a = NULL;

  a = login (env, user_specs[u].username, PASSWORD, env->users[u].device_id);
  assert_status (a, 200);
  g_free (env->users[u].access);
  g_free (env->users[u].refresh);
  env->users[u].access = g_strdup (json_object_get_string_member (obj (a), "access_token"));
  env->users[u].refresh = g_strdup (json_object_get_string_member (obj (a), "refresh_token"));
}

/* ---- changes ---- */

static void
set_cell (VdChange   *change,
          const char *column,
          VdValue    *value)
{
  const VdColumn *col = vd_table_lookup_column (change->table, column);

  g_assert_nonnull (col);
  vd_change_take_cell (change, col, value);
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
  set_cell (change, column, &v);
}

static void
set_bool (VdChange   *change,
          const char *column,
          gboolean    b)
{
  VdValue v = { 0, };

  vd_value_set_bool (&v, b);
  set_cell (change, column, &v);
}

static void
set_real (VdChange   *change,
          const char *column,
          double      r)
{
  VdValue v = { 0, };

  vd_value_set_real (&v, r);
  set_cell (change, column, &v);
}

static VdChange *
new_change (const char *table,
            const char *id,
            VdHlc       hlc,
            const char *site)
{
  return vd_change_new (vd_schema_lookup_table (table), id, hlc, site);
}

static VdHlc
hlc_now (void)
{
  static guint counter;
  return vd_hlc_make (g_get_real_time () / 1000, ++counter & 0xff);
}

static VdChange *
client_change (const char *id,
               const char *site,
               const char *last_name)
{
  VdChange *c = new_change ("clients", id, hlc_now (), site);

  set_text (c, "first_name", "Ana");
  set_text (c, "last_name", last_name);
  set_bool (c, "deleted", FALSE);
  return c;
}

static char *
encode_push (const char *device_id,
             gint64      batch_id,
             GPtrArray  *changes)
{
  gsize len;
  return vd_push_request_encode (device_id, batch_id, changes, &len);
}

static Answer *
push (Env        *env,
      guint       u,
      guint       clinic,
      GPtrArray  *changes)
{
  g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/push", env->clinics[clinic]);
  g_autofree char *body = encode_push (env->users[u].device_id, ++env->next_batch[u], changes);

  return call (env, "POST", path, env->users[u].access, body);
}

static Answer *
pull (Env        *env,
      const char *token,
      const char *tenant_id,
      gint64      cursor)
{
  g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=%" G_GINT64_FORMAT
                                           "&limit=5000", tenant_id, cursor);
  return call (env, "GET", path, token, NULL);
}

/* Every page of a clinic's pull from 0: the bodies joined (to search for bytes) and the
 * decoded changes. */
static char *
pull_all (Env        *env,
          const char *token,
          const char *tenant_id,
          GPtrArray **out_changes)
{
  GString *bodies = g_string_new (NULL);
  GPtrArray *changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  gint64 cursor = 0;
  gboolean more = TRUE;

  while (more)
    {
      g_autoptr(Answer) a = pull (env, token, tenant_id, cursor);
      g_autoptr(VdPullAnswer) p = NULL;
      g_autoptr(GError) error = NULL;

      assert_status (a, 200);
      g_string_append (bodies, a->body);
      p = vd_pull_answer_decode (a->body, a->len, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < p->changes->len; i++)
        g_ptr_array_add (changes, vd_change_copy (g_ptr_array_index (p->changes, i)));
      g_assert_cmpint (p->cursor, >=, cursor);
      cursor = p->cursor;
      more = p->more;
    }
  if (out_changes != NULL)
    *out_changes = changes;
  else
    g_ptr_array_unref (changes);
  return g_string_free (bodies, FALSE);
}

/* ---- setup ---- */

static char *
run_cli (Env        *env,
         const char *stdin_text,
         const char *command,
         ...)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, g_strdup (VETDESK_SYNCD));
  g_ptr_array_add (argv, g_strdup (command));
  va_start (ap, command);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (ap);
  g_ptr_array_add (argv, g_strdup ("--database"));
  g_ptr_array_add (argv, g_strdup (vd_test_syncd_get_database (env->syncd)));
  g_ptr_array_add (argv, g_strdup ("--data-dir"));
  g_ptr_array_add (argv, g_strdup (vd_test_syncd_get_data_dir (env->syncd)));
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
                                        | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, stdin_text ? stdin_text : "", NULL, &out, &err,
                                 &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    g_error ("vetdesk-syncd %s failed: %s", command, err);
  return g_strdup (g_strchomp (out));
}

/* Runs a subcommand expected to fail with exit status 2 and one line on stderr. */
static void
assert_cli_usage_error (const char * const *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (char *) VETDESK_SYNCD);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 2);
  g_assert_cmpstr (out, ==, "");
  g_assert_true (g_str_has_prefix (err, "vetdesk-syncd: "));
  /* One line. */
  g_assert_nonnull (strchr (err, '\n'));
  g_assert_cmpstr (strchr (err, '\n') + 1, ==, "");
}

static SoupSession *
new_session (void)
{
  return soup_session_new_with_options ("timeout", 60, "idle-timeout", 5,
                                        "user-agent", "VetDesk/0.1.0 (test-api)",
                                        "max-conns-per-host", 8, NULL);
}

/* ---- the shared daemon of each backend ---- */

/* Each backend's daemon, its clinics and users are made by the first case that needs
 * them, so any case runs alone (-p); the cases then share them in order, as desks share
 * one server. "stop" at the end of a backend stops it; main() stops what is left. */
static void
env_setup (Env *env)
{
  g_autoptr(GError) error = NULL;
  const char *db_uri = NULL;

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

  {
    g_autofree char *version = run_cli (env, NULL, "migrate", NULL);
    g_assert_cmpuint (g_ascii_strtoull (version, NULL, 10), >, 0);
  }

  env->company_a = run_cli (env, NULL, "add-company", "Company A", NULL);
  env->company_b = run_cli (env, NULL, "add-company", "Company B", NULL);
  g_assert_true (vd_uuid_is_valid (env->company_a));
  env->clinics[C_A1] = run_cli (env, NULL, "add-tenant", "--slug", "a1", "--name",
                                "Clínica Norte", "--timezone", "Europe/Madrid",
                                "--currency", "EUR", "--company", env->company_a, NULL);
  env->clinics[C_A2] = run_cli (env, NULL, "add-tenant", "--slug", "a2", "--name",
                                "Clínica Sur", "--timezone", "Europe/Madrid",
                                "--currency", "EUR", "--company", "Company A", NULL);
  env->clinics[C_B1] = run_cli (env, NULL, "add-tenant", "--slug", "b1", "--name",
                                "VetGroom Central", "--timezone", "America/Mexico_City",
                                "--currency", "MXN", "--company", env->company_b, NULL);
  for (guint c = 0; c < N_CLINICS; c++)
    g_assert_true (vd_uuid_is_valid (env->clinics[c]));

  for (guint u = 0; u < N_USERS; u++)
    {
      g_autoptr(GPtrArray) args = g_ptr_array_new ();

      if (user_specs[u].clinic != NULL)
        env->users[u].id = run_cli (env, PASSWORD "\n", "add-user", "--username",
                                    user_specs[u].username, "--display-name",
                                    user_specs[u].username, "--clinic",
                                    user_specs[u].clinic, NULL);
      else if (user_specs[u].company_admin != NULL)
        env->users[u].id = run_cli (env, PASSWORD "\n", "add-user", "--username",
                                    user_specs[u].username, "--display-name",
                                    user_specs[u].username, "--company-admin",
                                    user_specs[u].company_admin, NULL);
      else
        env->users[u].id = run_cli (env, PASSWORD "\n", "add-user", "--username",
                                    user_specs[u].username, "--display-name",
                                    user_specs[u].username, "--platform-admin", NULL);
      g_assert_true (vd_uuid_is_valid (env->users[u].id));
      env->users[u].device_id = vd_uuid_new ();
    }

  if (!vd_test_syncd_start (env->syncd, &error))
    g_error ("%s", error->message);
  env->url = g_strdup (vd_test_syncd_get_url (env->syncd));
  env->fingerprint = g_strdup (vd_test_syncd_get_fingerprint (env->syncd));
  g_assert_nonnull (env->fingerprint);
  g_assert_cmpuint (strlen (env->fingerprint), ==, 32 * 3 - 1);
  env->session = new_session ();

  for (guint u = 0; u < N_USERS; u++)
    if (u != U_LOCK)
      login_user (env, u);

  /* Each clinic gets a client whose id and name must never leak elsewhere. */
  {
    const guint members[N_CLINICS] = { U_FD_A1, U_FD_A2, U_FD_B1 };

    for (guint c = 0; c < N_CLINICS; c++)
      {
        g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
        g_autoptr(Answer) a = NULL;

        env->secret_row[c] = vd_uuid_new ();
        env->secret_name[c] = g_strdup_printf ("Secretname%c%08x", 'A' + c,
                                               g_random_int ());
        g_ptr_array_add (changes, client_change (env->secret_row[c],
                                                 env->users[members[c]].device_id,
                                                 env->secret_name[c]));
        a = push (env, members[c], c, changes);
        assert_status (a, 200);
        g_assert_cmpint (json_object_get_int_member (obj (a), "accepted"), ==, 1);
      }
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
  g_clear_pointer (&env->company_b, g_free);
  for (guint c = 0; c < N_CLINICS; c++)
    {
      g_clear_pointer (&env->clinics[c], g_free);
      g_clear_pointer (&env->secret_row[c], g_free);
      g_clear_pointer (&env->secret_name[c], g_free);
    }
  for (guint u = 0; u < N_USERS; u++)
    {
      g_clear_pointer (&env->users[u].id, g_free);
      g_clear_pointer (&env->users[u].device_id, g_free);
      g_clear_pointer (&env->users[u].access, g_free);
      g_clear_pointer (&env->users[u].refresh, g_free);
      env->next_batch[u] = 0;
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

/* ---- shapes of every call ---- */

static void
assert_members (JsonObject         *o,
                const char * const *names)
{
  guint n = 0;

  for (; names[n] != NULL; n++)
    if (!json_object_has_member (o, names[n]))
      g_error ("member “%s” missing", names[n]);
  g_assert_cmpuint (json_object_get_size (o), ==, n);
}

static void
assert_user_and_tenants (Env        *env,
                         JsonObject *o,
                         guint       u)
{
  static const char * const user_keys[] = { "id", "username", "display_name", "platform_role", NULL };
  static const char * const tenant_keys[] = { "id", "slug", "name", "timezone", "currency", "company_id", "role", NULL };
  JsonObject *user = json_object_get_object_member (o, "user");
  JsonArray *tenants = json_object_get_array_member (o, "tenants");

  assert_members (user, user_keys);
  g_assert_cmpstr (json_object_get_string_member (user, "id"), ==, env->users[u].id);
  g_assert_cmpstr (json_object_get_string_member (user, "username"), ==, user_specs[u].username);
  g_assert_cmpstr (json_object_get_string_member (user, "platform_role"), ==,
                   user_specs[u].platform_admin ? "platform_admin"
                   : user_specs[u].company_admin ? "company_admin" : "none");

  if (user_specs[u].clinic == NULL)
    {
      g_assert_cmpuint (json_array_get_length (tenants), ==, 0);
      return;
    }
  g_assert_cmpuint (json_array_get_length (tenants), ==, 1);
  {
    JsonObject *t = json_array_get_object_element (tenants, 0);
    const char *colon = strchr (user_specs[u].clinic, ':');
    g_autofree char *slug = g_strndup (user_specs[u].clinic, colon - user_specs[u].clinic);

    assert_members (t, tenant_keys);
    g_assert_cmpstr (json_object_get_string_member (t, "slug"), ==, slug);
    g_assert_cmpstr (json_object_get_string_member (t, "role"), ==, colon + 1);
    if (g_str_equal (slug, "a1"))
      {
        g_assert_cmpstr (json_object_get_string_member (t, "id"), ==, env->clinics[C_A1]);
        g_assert_cmpstr (json_object_get_string_member (t, "name"), ==, "Clínica Norte");
        g_assert_cmpstr (json_object_get_string_member (t, "timezone"), ==, "Europe/Madrid");
        g_assert_cmpstr (json_object_get_string_member (t, "currency"), ==, "EUR");
        g_assert_cmpstr (json_object_get_string_member (t, "company_id"), ==, env->company_a);
      }
  }
}

static void
test_shapes (gconstpointer data)
{
  Env *env = (Env *) data;
  static const char * const login_keys[] = { "access_token", "refresh_token", "expires_in", "user", "tenants", NULL };
  static const char * const me_keys[] = { "user", "tenants", NULL };
  static const char * const push_keys[] = { "batch_id", "accepted", "rejected", "cursor", "server_hlc", NULL };
  static const char * const pull_keys[] = { "changes", "cursor", "more", "server_hlc", NULL };
  static const char * const admin_keys[] = { "id", "slug", "name", "company_id", "company_name", "timezone", "counts", "devices", "last_sync_at", "open_conflicts", "seq", "health", "devices_online", "rejected_24h", "errors_1h", "activity", NULL };
  static const char * const count_keys[] = { "clients", "pets", "appointments", "staff", NULL };
  g_autoptr(Answer) a = NULL;
  VdHlc hlc;

  REQUIRE_ENV (env);

  /* health */
  a = call (env, "GET", "/v1/health", NULL, NULL);
  assert_status (a, 200);
  assert_json_headers (a);
  g_assert_cmpstr (a->body, ==, "{\"status\":\"ok\",\"version\":\"" PACKAGE_VERSION "\"}");
  g_clear_pointer (&a, answer_free);

  /* login, for every kind of user */
  for (guint u = 0; u < N_USERS; u++)
    {
      g_autoptr(Answer) l = NULL;

      if (u == U_LOCK)
        continue;
      l = login (env, user_specs[u].username, PASSWORD, env->users[u].device_id);
      assert_status (l, 200);
      assert_json_headers (l);
      assert_members (obj (l), login_keys);
      g_assert_cmpint (json_object_get_int_member (obj (l), "expires_in"), ==, 900);
      /* 256 random bits, base64url: 43 characters. */
      g_assert_cmpuint (strlen (json_object_get_string_member (obj (l), "access_token")), ==, 43);
      g_assert_cmpuint (strlen (json_object_get_string_member (obj (l), "refresh_token")), ==, 43);
      g_assert_cmpstr (json_object_get_string_member (obj (l), "access_token"), !=,
                       json_object_get_string_member (obj (l), "refresh_token"));
      assert_user_and_tenants (env, obj (l), u);

      a = call (env, "GET", "/v1/me", json_object_get_string_member (obj (l), "access_token"), NULL);
      assert_status (a, 200);
      assert_members (obj (a), me_keys);
      assert_user_and_tenants (env, obj (a), u);
      g_clear_pointer (&a, answer_free);
    }

  /* push */
  {
    g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
    g_autofree char *id = vd_uuid_new ();

    g_ptr_array_add (changes, client_change (id, env->users[U_FD_A1].device_id, "Shape"));
    a = push (env, U_FD_A1, C_A1, changes);
    assert_status (a, 200);
    assert_json_headers (a);
    assert_members (obj (a), push_keys);
    g_assert_cmpint (json_object_get_int_member (obj (a), "batch_id"), ==, env->next_batch[U_FD_A1]);
    g_assert_cmpint (json_object_get_int_member (obj (a), "accepted"), ==, 1);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj (a), "rejected")), ==, 0);
    g_assert_cmpint (json_object_get_int_member (obj (a), "cursor"), >, 0);
    g_assert_true (vd_hlc_parse (json_object_get_string_member (obj (a), "server_hlc"), &hlc, NULL));
    g_clear_pointer (&a, answer_free);
  }

  /* pull */
  a = pull (env, env->users[U_FD_A1].access, env->clinics[C_A1], 0);
  assert_status (a, 200);
  assert_json_headers (a);
  assert_members (obj (a), pull_keys);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(VdPullAnswer) p = vd_pull_answer_decode (a->body, a->len, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (p->changes->len, >=, 2);
    g_assert_false (p->more);
    for (guint i = 0; i < p->changes->len; i++)
      {
        VdChange *c = g_ptr_array_index (p->changes, i);
        g_assert_cmpint (c->seq, >, 0);
        g_assert_cmpint (c->seq, <=, p->cursor);
      }
  }
  g_clear_pointer (&a, answer_free);

  /* admin/tenants */
  a = call (env, "GET", "/v1/admin/tenants", env->users[U_PADMIN].access, NULL);
  assert_status (a, 200);
  assert_json_headers (a);
  {
    JsonArray *tenants = json_object_get_array_member (obj (a), "tenants");

    g_assert_cmpuint (json_object_get_size (obj (a)), ==, 1);
    g_assert_cmpuint (json_array_get_length (tenants), ==, 3);
    for (guint i = 0; i < 3; i++)
      {
        JsonObject *t = json_array_get_object_element (tenants, i);
        JsonNode *last = json_object_get_member (t, "last_sync_at");

        assert_members (t, admin_keys);
        assert_members (json_object_get_object_member (t, "counts"), count_keys);
        if (g_str_equal (json_object_get_string_member (t, "id"), env->clinics[C_A1]))
          {
            gint64 when;

            g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (t, "counts"), "clients"), >=, 2);
            g_assert_cmpint (json_object_get_int_member (t, "devices"), >=, 1);
            g_assert_true (vd_time_parse_utc (json_node_get_string (last), &when, NULL));
            g_assert_cmpint (ABS (when - g_get_real_time () / G_USEC_PER_SEC), <, 600);
          }
        g_assert_true (JSON_NODE_HOLDS_NULL (last) || JSON_NODE_HOLDS_VALUE (last));
      }
  }
  g_clear_pointer (&a, answer_free);

  /* logout: 204 without a body (checked in test_logout too) */
}

/* ---- errors and limits ---- */

static char *
nested_push (Env        *env,
             guint       u,
             guint       depth)
{
  /* Root object (1), changes (2), change (3), set (4), then arrays down to depth. */
  GString *s = g_string_new (NULL);
  g_autofree char *id = vd_uuid_new ();

  g_string_append_printf (s, "{\"device_id\":\"%s\",\"batch_id\":%" G_GINT64_FORMAT
                          ",\"changes\":[{\"table\":\"clients\",\"id\":\"%s\","
                          "\"hlc\":\"%016" G_GINT64_MODIFIER "x\",\"site\":\"%s\",\"set\":{\"notes\":",
                          env->users[u].device_id, ++env->next_batch[u], id,
                          (guint64) hlc_now (), env->users[u].device_id);
  for (guint i = 4; i < depth; i++)
    g_string_append_c (s, '[');
  for (guint i = 4; i < depth; i++)
    g_string_append_c (s, ']');
  g_string_append (s, "}}]}");
  return g_string_free (s, FALSE);
}

static void
test_errors (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autofree char *push_path = NULL;
  g_autofree char *pull_base = NULL;
  const char *token;
  g_autoptr(Answer) a = NULL;

  REQUIRE_ENV (env);
  token = env->users[U_FD_A1].access;
  push_path = g_strdup_printf ("/v1/tenants/%s/sync/push", env->clinics[C_A1]);
  pull_base = g_strdup_printf ("/v1/tenants/%s/sync/pull", env->clinics[C_A1]);

  /* Unknown routes and methods. */
  a = call (env, "GET", "/v1/nothing", NULL, NULL);
  assert_error (a, 404, "not_found");
  g_clear_pointer (&a, answer_free);
  a = call (env, "GET", "/", NULL, NULL);
  assert_error (a, 404, "not_found");
  g_clear_pointer (&a, answer_free);
  a = call (env, "GET", "/v1/auth/login", NULL, NULL);
  assert_error (a, 405, "bad_request");
  g_assert_cmpstr (soup_message_headers_get_one (a->headers, "Allow"), ==, "POST");
  g_clear_pointer (&a, answer_free);
  a = call (env, "DELETE", "/v1/health", NULL, NULL);
  assert_error (a, 405, "bad_request");
  g_assert_cmpstr (soup_message_headers_get_one (a->headers, "Allow"), ==, "GET");
  g_clear_pointer (&a, answer_free);

  /* Media type (415, code bad_request), broken JSON, missing fields. */
  a = call_full (env, env->url, env->fingerprint, "POST", "/v1/auth/login", NULL,
                 "text/plain", "{}", -1);
  assert_error (a, 415, "bad_request");
  g_clear_pointer (&a, answer_free);
  a = call_full (env, env->url, env->fingerprint, "POST", push_path, token,
                 "application/x-www-form-urlencoded", "a=b", -1);
  assert_error (a, 415, "bad_request");
  g_clear_pointer (&a, answer_free);
  a = call (env, "POST", "/v1/auth/login", NULL, "{\"username\":");
  assert_error (a, 400, "bad_request");
  g_clear_pointer (&a, answer_free);
  a = call (env, "POST", "/v1/auth/login", NULL, "[]");
  assert_error (a, 400, "bad_request");
  g_clear_pointer (&a, answer_free);
  a = call (env, "POST", "/v1/auth/login", NULL, "{\"username\":\"fd-a1\",\"password\":\"x\"}");
  assert_error (a, 400, "bad_request");
  g_clear_pointer (&a, answer_free);

  /* Missing, malformed, unknown tokens. */
  a = call (env, "GET", "/v1/me", NULL, NULL);
  assert_error (a, 401, "unauthorized");
  g_assert_true (g_str_has_prefix (soup_message_headers_get_one (a->headers, "WWW-Authenticate"), "Bearer"));
  g_clear_pointer (&a, answer_free);
  a = call (env, "GET", "/v1/me", "not-a-token", NULL);
  assert_error (a, 401, "unauthorized");
  g_clear_pointer (&a, answer_free);
  /* A refresh token is no access token. */
  a = call (env, "GET", "/v1/me", env->users[U_FD_A1].refresh, NULL);
  assert_error (a, 401, "unauthorized");
  g_clear_pointer (&a, answer_free);
  a = pull (env, NULL, env->clinics[C_A1], 0);
  assert_error (a, 401, "unauthorized");
  g_clear_pointer (&a, answer_free);

  /* An expired access token, made through the store the daemon uses. */
  {
    g_autoptr(GError) error = NULL;
    VdsStore *store = vds_store_open (vd_test_syncd_get_database (env->syncd), 1, &error);
    g_autofree char *expired = g_strdup ("expired-token-expired-token-expired-token12");
    g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, expired, -1);
    g_autofree char *refresh_hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "r-unused-1", -1);
    g_autofree char *session = NULL;
    gint64 now = g_get_real_time () / G_USEC_PER_SEC;

    g_assert_no_error (error);
    g_assert_true (vds_store_create_session (store, env->users[U_FD_A1].id,
                                             env->users[U_FD_A1].device_id, "Old PC",
                                             now - 1000, now + 1000, hash, now - 10,
                                             refresh_hash, now + 1000, &session, &error));
    g_assert_no_error (error);
    vds_store_free (store);
    a = call (env, "GET", "/v1/me", expired, NULL);
    assert_error (a, 401, "unauthorized");
    g_clear_pointer (&a, answer_free);
  }

  /* Pull parameters. */
  {
    static const char * const bad[] = {
      "?cursor=-1", "?cursor=abc", "?cursor=1.5", "?cursor=", "?limit=0", "?limit=5001",
      "?limit=x", "?cursor=99999999999999999999",
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autofree char *path = g_strconcat (pull_base, bad[i], NULL);
        a = call (env, "GET", path, token, NULL);
        assert_error (a, 400, "bad_request");
        g_clear_pointer (&a, answer_free);
      }
    a = call (env, "GET", pull_base, token, NULL);
    assert_status (a, 200);
    g_clear_pointer (&a, answer_free);
    {
      g_autofree char *path = g_strconcat (pull_base, "?cursor=0&limit=5000", NULL);
      a = call (env, "GET", path, token, NULL);
      assert_status (a, 200);
      g_clear_pointer (&a, answer_free);
    }
  }

  /* Body limit: 4 MiB + 1 byte → 413 before parsing, by length and by chunks. */
  {
    gsize size = VD_PROTOCOL_MAX_BODY + 1;
    char *big = g_malloc (size);
    g_autoptr(SoupMessage) msg = NULL;
    g_autoptr(GInputStream) stream = NULL;
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *uri = g_strconcat (env->url, push_path, NULL);

    memset (big, ' ', size);
    big[0] = '{';
    big[size - 1] = '}';
    a = call_full (env, env->url, env->fingerprint, "POST", push_path, token,
                   "application/json", big, size);
    assert_error (a, 413, "payload_too_large");
    g_clear_pointer (&a, answer_free);

    /* Exactly 4 MiB passes the limit (and is then an invalid push). */
    big[size - 2] = '}';
    a = call_full (env, env->url, env->fingerprint, "POST", push_path, token,
                   "application/json", big, size - 1);
    assert_error (a, 400, "bad_request");
    g_clear_pointer (&a, answer_free);

    /* Chunked: no Content-Length, counted as it arrives. */
    msg = soup_message_new ("POST", uri);
    g_signal_connect (msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                      env->fingerprint);
    {
      g_autofree char *value = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    value);
    }
    stream = g_memory_input_stream_new_from_data (big, size, g_free);
    soup_message_set_request_body (msg, "application/json", stream, -1);
    bytes = soup_session_send_and_read (env->session, msg, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (soup_message_get_status (msg), ==, 413);
    g_assert_nonnull (strstr (g_bytes_get_data (bytes, NULL), "\"payload_too_large\""));
  }

  /* Nesting: 32 levels pass the precheck (the change is then rejected by itself), 33 are
   * refused before parsing. */
  {
    g_autofree char *ok = nested_push (env, U_FD_A1, 32);
    g_autofree char *deep = nested_push (env, U_FD_A1, 33);

    a = call (env, "POST", push_path, token, ok);
    assert_status (a, 200);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj (a), "rejected")), ==, 1);
    g_clear_pointer (&a, answer_free);
    a = call (env, "POST", push_path, token, deep);
    assert_error (a, 400, "bad_request");
    g_clear_pointer (&a, answer_free);
    a = call (env, "POST", "/v1/auth/login", NULL,
              "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    assert_error (a, 400, "bad_request");
    g_clear_pointer (&a, answer_free);
  }

  /* Not UTF-8. */
  {
    g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
    g_autofree char *id = vd_uuid_new ();
    g_autofree char *body = NULL;
    char *p;

    g_ptr_array_add (changes, client_change (id, env->users[U_FD_A1].device_id, "Zzzz"));
    body = encode_push (env->users[U_FD_A1].device_id, ++env->next_batch[U_FD_A1], changes);
    p = strstr (body, "Zzzz");
    g_assert_nonnull (p);
    p[1] = (char) 0xff;
    a = call (env, "POST", push_path, token, body);
    assert_error (a, 400, "bad_request");
    g_clear_pointer (&a, answer_free);
  }

  /* 5,001 changes → 413; 5,000 are accepted. */
  {
    for (guint n = VD_PROTOCOL_MAX_PUSH; n <= VD_PROTOCOL_MAX_PUSH + 1; n++)
      {
        g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);

        for (guint i = 0; i < n; i++)
          {
            g_autofree char *id = vd_uuid_new ();
            g_ptr_array_add (changes, client_change (id, env->users[U_FD_A1].device_id, "Bulk"));
          }
        a = push (env, U_FD_A1, C_A1, changes);
        if (n > VD_PROTOCOL_MAX_PUSH)
          assert_error (a, 413, "payload_too_large");
        else
          {
            assert_status (a, 200);
            g_assert_cmpint (json_object_get_int_member (obj (a), "accepted"), ==, n);
          }
        g_clear_pointer (&a, answer_free);
      }
  }

  /* A push naming another device than the session's. */
  {
    g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
    g_autofree char *other = vd_uuid_new ();
    g_autofree char *id = vd_uuid_new ();
    g_autofree char *body = NULL;

    g_ptr_array_add (changes, client_change (id, other, "Elsewhere"));
    body = encode_push (other, 1, changes);
    a = call (env, "POST", push_path, token, body);
    assert_error (a, 403, "forbidden");
    g_clear_pointer (&a, answer_free);
  }

  /* The server still answers after all that. */
  a = call (env, "GET", "/v1/health", NULL, NULL);
  assert_status (a, 200);
}

/* ---- tenant isolation ---- */

/* No id or name of a clinic's records outside that clinic's own answers; monitoring
 * answers carry no record at all. */
static void
assert_no_leak (Env        *env,
                Answer     *a,
                int         own_clinic)
{
  for (guint c = 0; c < N_CLINICS; c++)
    {
      if ((int) c == own_clinic)
        continue;
      if (strstr (a->body, env->secret_row[c]) != NULL
          || strstr (a->body, env->secret_name[c]) != NULL)
        g_error ("an answer leaks clinic %s's records: %s", clinic_slugs[c], a->body);
    }
}

static void
test_isolation (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autofree char *unknown = vd_uuid_new ();
  const guint roles[] = { U_FD_A1, U_ADMIN_A1, U_CADMIN_A, U_PADMIN };

  REQUIRE_ENV (env);

  for (guint r = 0; r < G_N_ELEMENTS (roles); r++)
    {
      guint u = roles[r];
      gboolean clinic_role = user_specs[u].clinic != NULL;

      /* own clinic (A1), same company (A2), other company (B1), a clinic that does not
       * exist, and an id that is no uuid */
      const char *targets[] = { env->clinics[C_A1], env->clinics[C_A2], env->clinics[C_B1],
                                unknown, "not-a-clinic" };

      for (guint t = 0; t < G_N_ELEMENTS (targets); t++)
        {
          g_autofree char *pull_path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=0", targets[t]);
          g_autofree char *push_path = g_strdup_printf ("/v1/tenants/%s/sync/push", targets[t]);
          g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
          g_autofree char *row = vd_uuid_new ();
          g_autofree char *body = NULL;
          g_autoptr(Answer) p = NULL;
          g_autoptr(Answer) q = NULL;
          gboolean own = t == 0 && clinic_role;

          g_ptr_array_add (changes, client_change (row, env->users[u].device_id, "Probe"));
          body = encode_push (env->users[u].device_id, ++env->next_batch[u], changes);

          p = call (env, "GET", pull_path, env->users[u].access, NULL);
          q = call (env, "POST", push_path, env->users[u].access, body);
          if (own)
            {
              assert_status (p, 200);
              assert_status (q, 200);
              g_assert_nonnull (strstr (p->body, env->secret_name[C_A1]));
            }
          else if (clinic_role)
            {
              /* Not a member: the clinic does not exist, as far as this user can tell. */
              assert_error (p, 404, "not_found");
              assert_error (q, 404, "not_found");
            }
          else
            {
              /* Administrators: monitoring only, whatever the clinic. */
              assert_error (p, 403, "forbidden");
              assert_error (q, 403, "forbidden");
            }
          assert_no_leak (env, p, own ? C_A1 : -1);
          assert_no_leak (env, q, own ? C_A1 : -1);
        }

      /* Monitoring. */
      {
        g_autoptr(Answer) m = call (env, "GET", "/v1/admin/tenants", env->users[u].access, NULL);

        if (clinic_role)
          assert_error (m, 403, "forbidden");
        else
          {
            JsonArray *tenants = json_object_get_array_member (obj (m), "tenants");
            g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

            assert_status (m, 200);
            for (guint i = 0; i < json_array_get_length (tenants); i++)
              g_hash_table_add (seen, (gpointer) json_object_get_string_member (json_array_get_object_element (tenants, i), "id"));
            g_assert_true (g_hash_table_contains (seen, env->clinics[C_A1]));
            g_assert_true (g_hash_table_contains (seen, env->clinics[C_A2]));
            g_assert_cmpint (g_hash_table_contains (seen, env->clinics[C_B1]), ==, u == U_PADMIN);
            g_assert_cmpuint (json_array_get_length (tenants), ==, u == U_PADMIN ? 3 : 2);
          }
        assert_no_leak (env, m, -1);
      }

      /* me lists only the user's own clinics. */
      {
        g_autoptr(Answer) m = call (env, "GET", "/v1/me", env->users[u].access, NULL);

        assert_status (m, 200);
        assert_no_leak (env, m, -1);
        if (!clinic_role)
          for (guint c = 0; c < N_CLINICS; c++)
            g_assert_null (strstr (m->body, env->clinics[c]));
      }
    }

  /* A row id of clinic A1 pushed into A2 stays a row of A2 (or is refused): A1's row is
   * untouched. */
  {
    g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
    g_autoptr(Answer) q = NULL;
    g_autoptr(GPtrArray) all = NULL;
    g_autofree char *body = NULL;
    gboolean found = FALSE;

    g_ptr_array_add (changes, client_change (env->secret_row[C_A1], env->users[U_FD_A2].device_id,
                                             "Intruder"));
    q = push (env, U_FD_A2, C_A2, changes);
    assert_status (q, 200);

    body = pull_all (env, env->users[U_FD_A1].access, env->clinics[C_A1], &all);
    g_assert_null (strstr (body, "Intruder"));
    for (guint i = 0; i < all->len; i++)
      {
        VdChange *c = g_ptr_array_index (all, i);
        const VdCell *cell = vd_change_get_cell (c, "last_name");

        if (g_str_equal (c->id, env->secret_row[C_A1]) && cell != NULL)
          {
            g_assert_cmpstr (cell->value.s, ==, env->secret_name[C_A1]);
            found = TRUE;
          }
      }
    g_assert_true (found);
  }
}

/* ---- sessions ---- */

static Answer *
refresh (Env        *env,
         const char *token)
{
  g_autofree char *body = g_strdup_printf ("{\"refresh_token\":\"%s\"}", token);
  return call (env, "POST", "/v1/auth/refresh", NULL, body);
}

static void
test_refresh (gconstpointer data)
{
  Env *env = (Env *) data;
  static const char * const pair_keys[] = { "access_token", "refresh_token", "expires_in", NULL };
  g_autofree char *device = vd_uuid_new ();
  g_autofree char *r1 = NULL;
  g_autofree char *a2 = NULL;
  g_autofree char *r2 = NULL;
  g_autofree char *a3 = NULL;
  g_autofree char *r3 = NULL;
  g_autoptr(Answer) a = NULL;

  REQUIRE_ENV (env);

  a = login (env, "fd-a1", PASSWORD, device);
  assert_status (a, 200);
  r1 = g_strdup (json_object_get_string_member (obj (a), "refresh_token"));
  g_clear_pointer (&a, answer_free);

  /* Rotation: a new pair, the old refresh token spent. */
  a = refresh (env, r1);
  assert_status (a, 200);
  assert_json_headers (a);
  assert_members (obj (a), pair_keys);
  a2 = g_strdup (json_object_get_string_member (obj (a), "access_token"));
  r2 = g_strdup (json_object_get_string_member (obj (a), "refresh_token"));
  g_assert_cmpstr (r2, !=, r1);
  g_clear_pointer (&a, answer_free);

  a = call (env, "GET", "/v1/me", a2, NULL);
  assert_status (a, 200);
  g_clear_pointer (&a, answer_free);

  a = refresh (env, r2);
  assert_status (a, 200);
  a3 = g_strdup (json_object_get_string_member (obj (a), "access_token"));
  r3 = g_strdup (json_object_get_string_member (obj (a), "refresh_token"));
  g_clear_pointer (&a, answer_free);

  /* Replay of a spent token: refused, and the whole family revoked (RFC 9700). */
  a = refresh (env, r1);
  assert_error (a, 401, "unauthorized");
  g_clear_pointer (&a, answer_free);
  a = refresh (env, r3);
  assert_error (a, 401, "unauthorized");
  g_clear_pointer (&a, answer_free);
  a = call (env, "GET", "/v1/me", a3, NULL);
  assert_error (a, 401, "unauthorized");
  g_clear_pointer (&a, answer_free);

  /* Unknown and malformed refresh tokens. */
  a = refresh (env, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  assert_error (a, 401, "unauthorized");
  g_clear_pointer (&a, answer_free);
  a = call (env, "POST", "/v1/auth/refresh", NULL, "{\"refresh_token\":17}");
  assert_error (a, 400, "bad_request");
  g_clear_pointer (&a, answer_free);

  /* Other sessions of the same user live on. */
  a = call (env, "GET", "/v1/me", env->users[U_FD_A1].access, NULL);
  assert_status (a, 200);
}

static void
test_logout (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autofree char *device = vd_uuid_new ();
  g_autofree char *access = NULL;
  g_autofree char *refresh_token = NULL;
  g_autoptr(Answer) a = NULL;

  REQUIRE_ENV (env);

  a = login (env, "admin-a1", PASSWORD, device);
  assert_status (a, 200);
  access = g_strdup (json_object_get_string_member (obj (a), "access_token"));
  refresh_token = g_strdup (json_object_get_string_member (obj (a), "refresh_token"));
  g_clear_pointer (&a, answer_free);

  a = call (env, "POST", "/v1/auth/logout", access, NULL);
  assert_status (a, 204);
  g_assert_cmpuint (a->len, ==, 0);
  g_clear_pointer (&a, answer_free);

  a = call (env, "GET", "/v1/me", access, NULL);
  assert_error (a, 401, "unauthorized");
  g_clear_pointer (&a, answer_free);
  a = refresh (env, refresh_token);
  assert_error (a, 401, "unauthorized");
  g_clear_pointer (&a, answer_free);
  a = call (env, "POST", "/v1/auth/logout", access, NULL);
  assert_error (a, 401, "unauthorized");
  g_clear_pointer (&a, answer_free);

  a = call (env, "GET", "/v1/me", env->users[U_ADMIN_A1].access, NULL);
  assert_status (a, 200);
}

static void
test_lockout (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autofree char *device = vd_uuid_new ();
  g_autoptr(Answer) unknown = NULL;
  g_autoptr(Answer) wrong = NULL;
  g_autoptr(Answer) a = NULL;
  const char *retry;

  REQUIRE_ENV (env);

  /* The same status and the same bytes for an unknown user and a wrong password. */
  unknown = login (env, "nobody-here", "wrong password", device);
  wrong = login (env, "lockme", "wrong password", device);
  assert_error (unknown, 401, "unauthorized");
  assert_error (wrong, 401, "unauthorized");
  g_assert_cmpstr (unknown->body, ==, wrong->body);

  /* 10 failures in a row lock the account: the 10th already says so. */
  for (guint i = 2; i <= 10; i++)
    {
      a = login (env, "lockme", "wrong password", device);
      if (i < 10)
        assert_error (a, 401, "unauthorized");
      else
        assert_error (a, 429, "rate_limited");
      g_clear_pointer (&a, answer_free);
    }

  /* Locked: even the right password is refused, with Retry-After and the time. */
  a = login (env, "lockme", PASSWORD, device);
  assert_error (a, 429, "rate_limited");
  retry = soup_message_headers_get_one (a->headers, "Retry-After");
  g_assert_nonnull (retry);
  g_assert_cmpint (g_ascii_strtoll (retry, NULL, 10), >=, 1);
  g_assert_cmpint (g_ascii_strtoll (retry, NULL, 10), <=, LOCKOUT_S);
  g_assert_nonnull (strstr (a->body, "UTC"));
  g_clear_pointer (&a, answer_free);

  /* Other accounts are not affected. */
  a = login (env, "fd-a1", PASSWORD, device);
  assert_status (a, 200);
  g_clear_pointer (&a, answer_free);

  /* The lock ends (test setting: LOCKOUT_S seconds). */
  g_usleep ((LOCKOUT_S + 1) * G_USEC_PER_SEC);
  a = login (env, "lockme", PASSWORD, device);
  assert_status (a, 200);
  g_clear_pointer (&a, answer_free);

  /* A success resets the count: one more failure is an ordinary 401. */
  a = login (env, "lockme", "wrong password", device);
  assert_error (a, 401, "unauthorized");
}

/* ---- push semantics ---- */

static gint64
current_seq (Env  *env,
             guint clinic,
             guint u)
{
  g_autoptr(Answer) a = pull (env, env->users[u].access, env->clinics[clinic], 0);

  assert_status (a, 200);
  /* Follow the pages to the end. */
  while (json_object_get_boolean_member (obj (a), "more"))
    {
      gint64 cursor = json_object_get_int_member (obj (a), "cursor");
      answer_free (a);
      a = pull (env, env->users[u].access, env->clinics[clinic], cursor);
      assert_status (a, 200);
    }
  return json_object_get_int_member (obj (a), "cursor");
}

static void
test_replay (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  g_autofree char *path = NULL;
  g_autofree char *body = NULL;
  g_autofree char *older = NULL;
  g_autoptr(Answer) first = NULL;
  g_autoptr(Answer) again = NULL;
  g_autoptr(Answer) a = NULL;
  gint64 seq_before, seq_after;
  guint u = U_ADMIN_A1;

  REQUIRE_ENV (env);
  path = g_strdup_printf ("/v1/tenants/%s/sync/push", env->clinics[C_A1]);

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *id = vd_uuid_new ();
      g_ptr_array_add (changes, client_change (id, env->users[u].device_id, "Replay"));
    }
  older = encode_push (env->users[u].device_id, ++env->next_batch[u], changes);
  body = encode_push (env->users[u].device_id, ++env->next_batch[u], changes);

  first = call (env, "POST", path, env->users[u].access, body);
  assert_status (first, 200);
  g_assert_cmpint (json_object_get_int_member (obj (first), "accepted"), ==, 3);
  seq_before = current_seq (env, C_A1, u);

  /* The same batch again: the stored answer, byte for byte, and nothing changes. */
  again = call (env, "POST", path, env->users[u].access, body);
  assert_status (again, 200);
  g_assert_cmpstr (again->body, ==, first->body);
  seq_after = current_seq (env, C_A1, u);
  g_assert_cmpint (seq_after, ==, seq_before);

  /* A batch older than the last one is refused. */
  a = call (env, "POST", path, env->users[u].access, older);
  assert_error (a, 400, "bad_request");
  g_assert_cmpint (current_seq (env, C_A1, u), ==, seq_before);
}

static void
test_skew_and_invalid (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  g_autofree char *path = NULL;
  g_autofree char *body = NULL;
  g_autoptr(Answer) a = NULL;
  g_autofree char *all = NULL;
  g_autoptr(GString) json = g_string_new (NULL);
  g_autofree char *ok1 = vd_uuid_new ();
  g_autofree char *ok2 = vd_uuid_new ();
  g_autofree char *skewed = vd_uuid_new ();
  g_autofree char *ahead = vd_uuid_new ();
  g_autofree char *bad = vd_uuid_new ();
  const char *site;
  guint u = U_FD_A1;
  gint64 now_ms = g_get_real_time () / 1000;
  JsonArray *rejected;
  /* index → the code it must be rejected with, or NULL when it must apply */
  const char *expect[] = { NULL, "invalid_change", "invalid_change", "clock_skew", NULL,
                           "invalid_change", "invalid_change", "invalid_change", NULL };
  char hlc_skewed[17], hlc_ahead[17], hlc_cur[17];

  REQUIRE_ENV (env);
  site = env->users[u].device_id;
  path = g_strdup_printf ("/v1/tenants/%s/sync/push", env->clinics[C_A1]);
  vd_hlc_format (vd_hlc_make (now_ms + 10 * 60 * 1000, 0), hlc_skewed);
  vd_hlc_format (vd_hlc_make (now_ms + 4 * 60 * 1000, 0), hlc_ahead);
  vd_hlc_format (hlc_now (), hlc_cur);

  /* Written by hand: the encoder would not produce the invalid ones. */
  g_string_append_printf (json, "{\"device_id\":\"%s\",\"batch_id\":%" G_GINT64_FORMAT ",\"changes\":[", site, ++env->next_batch[u]);
  /* 0: valid */
  g_string_append_printf (json, "{\"table\":\"clients\",\"id\":\"%s\",\"hlc\":\"%s\",\"site\":\"%s\",\"set\":{\"first_name\":\"Valid\",\"last_name\":\"One\",\"deleted\":false}},", ok1, hlc_cur, site);
  /* 1: unknown table */
  g_string_append_printf (json, "{\"table\":\"invoices\",\"id\":\"%s\",\"hlc\":\"%s\",\"site\":\"%s\",\"set\":{\"total\":1}},", bad, hlc_cur, site);
  /* 2: unknown enum value */
  g_string_append_printf (json, "{\"table\":\"staff\",\"id\":\"%s\",\"hlc\":\"%s\",\"site\":\"%s\",\"set\":{\"name\":\"X\",\"role\":\"wizard\",\"active\":true,\"deleted\":false}},", bad, hlc_cur, site);
  /* 3: ten minutes ahead of the server's clock */
  g_string_append_printf (json, "{\"table\":\"clients\",\"id\":\"%s\",\"hlc\":\"%s\",\"site\":\"%s\",\"set\":{\"first_name\":\"Future\",\"last_name\":\"Skewed\",\"deleted\":false}},", skewed, hlc_skewed, site);
  /* 4: four minutes ahead: within the allowed skew */
  g_string_append_printf (json, "{\"table\":\"clients\",\"id\":\"%s\",\"hlc\":\"%s\",\"site\":\"%s\",\"set\":{\"first_name\":\"Near\",\"last_name\":\"Future\",\"deleted\":false}},", ahead, hlc_ahead, site);
  /* 5: server-owned table */
  g_string_append_printf (json, "{\"table\":\"conflicts\",\"id\":\"%s\",\"hlc\":\"%s\",\"site\":\"%s\",\"set\":{\"detail\":\"forged\"}},", bad, hlc_cur, site);
  /* 6: too long */
  {
    g_autofree char *longname = g_strnfill (101, 'x');
    g_string_append_printf (json, "{\"table\":\"clients\",\"id\":\"%s\",\"hlc\":\"%s\",\"site\":\"%s\",\"set\":{\"first_name\":\"%s\",\"last_name\":\"L\",\"deleted\":false}},", bad, hlc_cur, site, longname);
  }
  /* 7: bad id */
  g_string_append_printf (json, "{\"table\":\"clients\",\"id\":\"12345\",\"hlc\":\"%s\",\"site\":\"%s\",\"set\":{\"first_name\":\"Bad\"}},", hlc_cur, site);
  /* 8: valid */
  g_string_append_printf (json, "{\"table\":\"clients\",\"id\":\"%s\",\"hlc\":\"%s\",\"site\":\"%s\",\"set\":{\"first_name\":\"Valid\",\"last_name\":\"Two\",\"deleted\":false}}", ok2, hlc_cur, site);
  g_string_append (json, "]}");

  a = call (env, "POST", path, env->users[u].access, json->str);
  assert_status (a, 200);
  g_assert_cmpint (json_object_get_int_member (obj (a), "accepted"), ==, 3);
  rejected = json_object_get_array_member (obj (a), "rejected");
  g_assert_cmpuint (json_array_get_length (rejected), ==, 6);
  for (guint i = 0, r = 0; i < G_N_ELEMENTS (expect); i++)
    {
      JsonObject *rej;

      if (expect[i] == NULL)
        continue;
      rej = json_array_get_object_element (rejected, r++);
      g_assert_cmpint (json_object_get_int_member (rej, "index"), ==, i);
      g_assert_cmpstr (json_object_get_string_member (rej, "code"), ==, expect[i]);
      g_assert_cmpuint (strlen (json_object_get_string_member (rej, "message")), >, 10);
    }

  /* The valid ones applied, the invalid ones left no trace. */
  all = pull_all (env, env->users[u].access, env->clinics[C_A1], NULL);
  g_assert_nonnull (strstr (all, ok1));
  g_assert_nonnull (strstr (all, ok2));
  g_assert_nonnull (strstr (all, ahead));
  g_assert_null (strstr (all, skewed));
  g_assert_null (strstr (all, bad));
  g_assert_null (strstr (all, "forged"));
}

/* ---- three desks ---- */

typedef struct
{
  Env         *env;
  char        *device_id;
  char        *access;
  sqlite3     *db;
  VdCellStore *store;
  VdHlcClock  *clock;
  GPtrArray   *outbox;     /* VdChange */
  gint64       batch;
  gint64       cursor;
} Desk;

static void
desk_init (Desk *desk,
           Env  *env)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(Answer) a = NULL;

  memset (desk, 0, sizeof *desk);
  desk->env = env;
  desk->device_id = vd_uuid_new ();
  a = login (env, "fd-a1", PASSWORD, desk->device_id);
  assert_status (a, 200);
  desk->access = g_strdup (json_object_get_string_member (obj (a), "access_token"));
  g_assert_cmpint (sqlite3_open (":memory:", &desk->db), ==, SQLITE_OK);
  desk->store = vd_cell_store_new (desk->db, env->clinics[C_A1], &error);
  g_assert_no_error (error);
  desk->clock = vd_hlc_clock_new (0, NULL, NULL);
  desk->outbox = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
}

static void
desk_clear (Desk *desk)
{
  g_free (desk->device_id);
  g_free (desk->access);
  vd_cell_store_free (desk->store);
  sqlite3_close (desk->db);
  vd_hlc_clock_free (desk->clock);
  g_ptr_array_unref (desk->outbox);
}

/* A local edit: applied at once, queued for the server. */
static VdChange *
desk_begin (Desk       *desk,
            const char *table,
            const char *id)
{
  return new_change (table, id, vd_hlc_clock_tick (desk->clock), desk->device_id);
}

static void
desk_commit (Desk     *desk,
             VdChange *change)
{
  g_autoptr(GError) error = NULL;

  vd_cell_store_apply (desk->store, change, NULL, &error);
  g_assert_no_error (error);
  g_ptr_array_add (desk->outbox, change);
}

static void
desk_push (Desk *desk)
{
  g_autofree char *path = NULL;
  g_autofree char *body = NULL;
  g_autoptr(Answer) a = NULL;

  if (desk->outbox->len == 0)
    return;
  path = g_strdup_printf ("/v1/tenants/%s/sync/push", desk->env->clinics[C_A1]);
  body = encode_push (desk->device_id, ++desk->batch, desk->outbox);
  a = call (desk->env, "POST", path, desk->access, body);
  assert_status (a, 200);
  g_assert_cmpint (json_object_get_int_member (obj (a), "accepted"), ==, desk->outbox->len);
  g_ptr_array_set_size (desk->outbox, 0);
}

static void
desk_pull (Desk *desk)
{
  gboolean more = TRUE;

  while (more)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(Answer) a = pull (desk->env, desk->access, desk->env->clinics[C_A1], desk->cursor);
      g_autoptr(VdPullAnswer) p = NULL;

      assert_status (a, 200);
      p = vd_pull_answer_decode (a->body, a->len, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < p->changes->len; i++)
        {
          VdChange *c = g_ptr_array_index (p->changes, i);
          vd_hlc_clock_update (desk->clock, c->hlc, 0, NULL);
          vd_cell_store_apply (desk->store, c, NULL, &error);
          g_assert_no_error (error);
        }
      desk->cursor = p->cursor;
      more = p->more;
    }
}

static char *
desk_digest (Desk *desk)
{
  g_autoptr(GError) error = NULL;
  char *digest = vd_cell_store_digest (desk->store, &error);

  g_assert_no_error (error);
  return digest;
}

static char *
utc (gint64 t)
{
  return vd_time_dup_utc (t);
}

static VdChange *
appointment (Desk       *desk,
             const char *id,
             const char *pet,
             const char *client,
             const char *staff,
             gint64      starts)
{
  VdChange *c = desk_begin (desk, "appointments", id);
  g_autofree char *s = utc (starts);
  g_autofree char *e = utc (starts + 30 * 60);

  set_text (c, "pet_id", pet);
  set_text (c, "client_id", client);
  set_text (c, "staff_id", staff);
  set_text (c, "kind", "consultation");
  set_text (c, "starts_at", s);
  set_text (c, "ends_at", e);
  set_text (c, "status", "scheduled");
  set_bool (c, "allow_overlap", FALSE);
  set_bool (c, "deleted", FALSE);
  return c;
}

/* Open double-booking conflicts of clinic A1, from the current state: rows of
 * "conflicts" of that kind, not resolved, not deleted. */
typedef struct
{
  gboolean double_booking;
  gboolean resolved;
  gboolean deleted;
} ConflictState;

static guint
open_conflicts (Env *env)
{
  g_autoptr(GPtrArray) changes = NULL;
  g_autofree char *body = pull_all (env, env->users[U_FD_A1].access, env->clinics[C_A1], &changes);
  g_autoptr(GHashTable) rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  guint n = 0;
  GHashTableIter iter;
  gpointer value;

  for (guint i = 0; i < changes->len; i++)
    {
      VdChange *c = g_ptr_array_index (changes, i);
      const VdCell *resolved = vd_change_get_cell (c, "resolved_at");
      const VdCell *kind = vd_change_get_cell (c, "kind");
      const VdCell *deleted = vd_change_get_cell (c, "deleted");
      ConflictState *state;

      if (!g_str_equal (c->table->name, "conflicts"))
        continue;
      state = g_hash_table_lookup (rows, c->id);
      if (state == NULL)
        {
          state = g_new0 (ConflictState, 1);
          g_hash_table_insert (rows, g_strdup (c->id), state);
        }
      if (kind != NULL)
        state->double_booking = g_strcmp0 (kind->value.s, "double_booking") == 0;
      if (resolved != NULL)
        state->resolved = resolved->value.kind != VD_VALUE_NULL;
      if (deleted != NULL)
        state->deleted = deleted->value.kind == VD_VALUE_BOOL && deleted->value.b;
    }
  g_hash_table_iter_init (&iter, rows);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      ConflictState *state = value;
      if (state->double_booking && !state->resolved && !state->deleted)
        n++;
    }
  return n;
}

static void
test_three_desks (gconstpointer data)
{
  Env *env = (Env *) data;
  Desk desks[3];
  Desk fresh;
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autofree char *staff = vd_uuid_new ();
  char *clients[3], *pets[3], *appts[5];
  /* Tomorrow 09:00 UTC, appointments an hour apart. */
  gint64 base = (g_get_real_time () / G_USEC_PER_SEC / 86400 + 1) * 86400 + 9 * 3600;

  REQUIRE_ENV (env);
  g_test_message ("three desks: seed %u (replay with VD_SEED=%u)", seed, seed);

  for (guint d = 0; d < 3; d++)
    desk_init (&desks[d], env);

  /* Desk 0 books the day. */
  {
    VdChange *c = desk_begin (&desks[0], "staff", staff);
    set_text (c, "name", "Dr. Ruiz");
    set_text (c, "role", "veterinarian");
    set_bool (c, "active", TRUE);
    set_bool (c, "deleted", FALSE);
    desk_commit (&desks[0], c);
  }
  for (guint i = 0; i < 3; i++)
    {
      VdChange *c;

      clients[i] = vd_uuid_new ();
      pets[i] = vd_uuid_new ();
      c = desk_begin (&desks[0], "clients", clients[i]);
      set_text (c, "first_name", "Client");
      set_text (c, "last_name", "Desk");
      set_bool (c, "deleted", FALSE);
      desk_commit (&desks[0], c);
      c = desk_begin (&desks[0], "pets", pets[i]);
      set_text (c, "client_id", clients[i]);
      set_text (c, "name", "Rex");
      set_text (c, "species", "dog");
      set_text (c, "sex", "male");
      set_bool (c, "neutered", FALSE);
      set_bool (c, "deceased", FALSE);
      set_bool (c, "deleted", FALSE);
      desk_commit (&desks[0], c);
    }
  for (guint i = 0; i < 5; i++)
    {
      appts[i] = vd_uuid_new ();
      desk_commit (&desks[0], appointment (&desks[0], appts[i], pets[i % 3], clients[i % 3],
                                           staff, base + i * 3600));
    }
  desk_push (&desks[0]);
  for (guint d = 0; d < 3; d++)
    desk_pull (&desks[d]);
  g_assert_cmpuint (open_conflicts (env), ==, 0);

  /* Concurrent edits of the same pets and appointments, synced in random order. Times
   * only move within each appointment's own hour, so nothing overlaps yet. */
  for (guint step = 0; step < 60; step++)
    {
      Desk *desk = &desks[g_rand_int_range (rand, 0, 3)];
      VdChange *c;

      switch (g_rand_int_range (rand, 0, 6))
        {
        case 0:
          c = desk_begin (desk, "pets", pets[g_rand_int_range (rand, 0, 3)]);
          set_real (c, "weight_kg", g_rand_int_range (rand, 10, 400) / 10.0);
          desk_commit (desk, c);
          break;
        case 1:
          {
            g_autofree char *name = g_strdup_printf ("Rex %u", step);
            c = desk_begin (desk, "pets", pets[g_rand_int_range (rand, 0, 3)]);
            set_text (c, "name", name);
            desk_commit (desk, c);
          }
          break;
        case 2:
          {
            g_autofree char *notes = g_strdup_printf ("note %u by %.8s", step, desk->device_id);
            c = desk_begin (desk, "appointments", appts[g_rand_int_range (rand, 0, 5)]);
            set_text (c, "notes", notes);
            set_text (c, "room", g_rand_boolean (rand) ? "Room 1" : "Room 2");
            desk_commit (desk, c);
          }
          break;
        case 3:
          {
            static const char * const statuses[] = { "confirmed", "checked_in", "scheduled" };
            c = desk_begin (desk, "appointments", appts[g_rand_int_range (rand, 0, 5)]);
            set_text (c, "status", statuses[g_rand_int_range (rand, 0, 3)]);
            desk_commit (desk, c);
          }
          break;
        case 4:
          desk_push (desk);
          break;
        default:
          desk_pull (desk);
          break;
        }
    }

  /* Everyone syncs until quiet: all replicas equal, and equal to a fresh full pull. */
  for (guint round = 0; round < 2; round++)
    for (guint d = 0; d < 3; d++)
      {
        desk_push (&desks[d]);
        desk_pull (&desks[d]);
      }
  for (guint d = 0; d < 3; d++)
    desk_pull (&desks[d]);
  desk_init (&fresh, env);
  desk_pull (&fresh);
  {
    g_autofree char *d0 = desk_digest (&desks[0]);
    g_autofree char *d1 = desk_digest (&desks[1]);
    g_autofree char *d2 = desk_digest (&desks[2]);
    g_autofree char *df = desk_digest (&fresh);

    if (g_strcmp0 (d0, d1) != 0 || g_strcmp0 (d0, d2) != 0 || g_strcmp0 (d0, df) != 0)
      g_error ("replicas differ (seed %u): %s %s %s fresh %s", seed, d0, d1, d2, df);
  }
  g_assert_cmpuint (open_conflicts (env), ==, 0);

  /* A deliberate double booking: desk 1 moves appointment 1 onto appointment 0. */
  {
    VdChange *c = desk_begin (&desks[1], "appointments", appts[1]);
    g_autofree char *s = utc (base + 15 * 60);
    g_autofree char *e = utc (base + 45 * 60);

    set_text (c, "starts_at", s);
    set_text (c, "ends_at", e);
    desk_commit (&desks[1], c);
    desk_push (&desks[1]);
  }
  g_assert_cmpuint (open_conflicts (env), ==, 1);
  {
    g_autoptr(Answer) m = call (env, "GET", "/v1/admin/tenants", env->users[U_CADMIN_A].access, NULL);
    JsonArray *tenants = json_object_get_array_member (obj (m), "tenants");
    gboolean seen = FALSE;

    for (guint i = 0; i < json_array_get_length (tenants); i++)
      {
        JsonObject *t = json_array_get_object_element (tenants, i);
        if (g_str_equal (json_object_get_string_member (t, "id"), env->clinics[C_A1]))
          {
            g_assert_cmpint (json_object_get_int_member (t, "open_conflicts"), ==, 1);
            g_assert_cmpint (json_object_get_int_member (t, "devices"), >=, 3);
            seen = TRUE;
          }
      }
    g_assert_true (seen);
  }

  /* Desk 2 sees it and fixes it: the conflict closes. */
  desk_pull (&desks[2]);
  {
    VdChange *c = desk_begin (&desks[2], "appointments", appts[1]);
    g_autofree char *s = utc (base + 3600);
    g_autofree char *e = utc (base + 3600 + 30 * 60);

    set_text (c, "starts_at", s);
    set_text (c, "ends_at", e);
    desk_commit (&desks[2], c);
    desk_push (&desks[2]);
  }
  g_assert_cmpuint (open_conflicts (env), ==, 0);

  for (guint d = 0; d < 3; d++)
    desk_pull (&desks[d]);
  {
    g_autofree char *d0 = desk_digest (&desks[0]);
    g_autofree char *d1 = desk_digest (&desks[1]);
    g_autofree char *d2 = desk_digest (&desks[2]);
    g_assert_cmpstr (d0, ==, d1);
    g_assert_cmpstr (d0, ==, d2);
  }

  for (guint d = 0; d < 3; d++)
    desk_clear (&desks[d]);
  desk_clear (&fresh);
  for (guint i = 0; i < 3; i++)
    {
      g_free (clients[i]);
      g_free (pets[i]);
    }
  for (guint i = 0; i < 5; i++)
    g_free (appts[i]);
}

/* ---- second daemons ---- */

/* Another syncd on the test's database with its own settings, started. */
static VdTestSyncd *
start_second_daemon (Env        *env,
                     const char *config)
{
  g_autoptr(GError) error = NULL;
  VdTestSyncd *other = vd_test_syncd_new (VETDESK_SYNCD, vd_test_syncd_get_database (env->syncd));

  vd_test_syncd_set_config (other, config);
  if (!vd_test_syncd_start (other, &error))
    g_error ("%s", error->message);
  return other;
}

/* ---- rate limits ---- */

static void
test_rate_limits (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(VdTestSyncd) limited = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(Answer) a = NULL;
  g_autofree char *device = vd_uuid_new ();
  g_autofree char *body = NULL;
  g_autofree char *access = NULL;
  g_autofree char *pull_path = NULL;
  const char *url, *fp;
  guint ok = 0;

  REQUIRE_ENV (env);

  /* A second daemon on the same database with tiny buckets; refills are slow enough
   * (1 per 20 s) not to matter during the test. */
  limited = start_second_daemon (env, "[limits]\n"
                                      "address-rate=0.05\naddress-burst=12\n"
                                      "clinic-rate=0.05\nclinic-burst=3\n"
                                      "login-rate=0.05\nlogin-burst=2\n");
  url = vd_test_syncd_get_url (limited);
  fp = vd_test_syncd_get_fingerprint (limited);

  /* Logins per address: 2, then 429. */
  body = login_json ("fd-a1", PASSWORD, device);
  a = call_full (env, url, fp, "POST", "/v1/auth/login", NULL, "application/json", body, -1);
  assert_status (a, 200);
  access = g_strdup (json_object_get_string_member (obj (a), "access_token"));
  g_clear_pointer (&a, answer_free);
  a = call_full (env, url, fp, "POST", "/v1/auth/login", NULL, "application/json", "{}", -1);
  assert_error (a, 400, "bad_request");
  g_clear_pointer (&a, answer_free);
  a = call_full (env, url, fp, "POST", "/v1/auth/login", NULL, "application/json", "{}", -1);
  assert_error (a, 429, "rate_limited");
  g_assert_cmpint (g_ascii_strtoll (soup_message_headers_get_one (a->headers, "Retry-After"), NULL, 10), >=, 1);
  g_clear_pointer (&a, answer_free);

  /* Per clinic: 3 pulls, then 429. */
  pull_path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=0", env->clinics[C_A1]);
  for (guint i = 0; i < 3; i++)
    {
      a = call_full (env, url, fp, "GET", pull_path, access, NULL, NULL, -1);
      assert_status (a, 200);
      g_clear_pointer (&a, answer_free);
    }
  a = call_full (env, url, fp, "GET", pull_path, access, NULL, NULL, -1);
  assert_error (a, 429, "rate_limited");
  g_assert_cmpint (g_ascii_strtoll (soup_message_headers_get_one (a->headers, "Retry-After"), NULL, 10), >=, 1);
  g_clear_pointer (&a, answer_free);

  /* Per address: 7 requests spent of 12; 5 (or 6 after a refill) more, then 429. */
  for (guint i = 0; i < 10; i++)
    {
      a = call_full (env, url, fp, "GET", "/v1/health", NULL, NULL, NULL, -1);
      if (a->status != 200)
        break;
      ok++;
      g_clear_pointer (&a, answer_free);
    }
  g_assert_nonnull (a);
  assert_error (a, 429, "rate_limited");
  g_assert_cmpint (g_ascii_strtoll (soup_message_headers_get_one (a->headers, "Retry-After"), NULL, 10), >=, 1);
  g_assert_cmpuint (ok, >=, 5);
  g_assert_cmpuint (ok, <=, 6);

  /* The other daemon (no limits) is not affected. */
  g_clear_pointer (&a, answer_free);
  a = call (env, "GET", "/v1/health", NULL, NULL);
  assert_status (a, 200);

  g_assert_true (vd_test_syncd_stop (limited, &error));
}

/* ---- slow clients ---- */

typedef struct
{
  guint16  port;
  gboolean tls;
  gboolean dropped;
  gboolean answered;
  double   elapsed;
} Loris;

/* A TLS connection to PORT that trusts any certificate (the test only times the server),
 * and its socket. */
static GIOStream *
open_tls (guint16   port,
          GSocket **socket)
{
  g_autoptr(GError) error = NULL;
  GIOStream *tls = vd_test_tls_connect (port, 0, socket, &error);

  g_assert_no_error (error);
  return tls;
}

/* Connects, then sends request headers at one byte a second; notes when the server
 * hangs up. */
static gpointer
loris_thread (gpointer data)
{
  Loris *loris = data;
  const char *request = "GET /v1/health HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow\r\n\r\n";
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) tcp = NULL;
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) error = NULL;
  GIOStream *stream;
  GSocket *socket;
  gint64 start = g_get_monotonic_time ();

  if (loris->tls)
    stream = tls = open_tls (loris->port, &socket);
  else
    {
      tcp = g_socket_client_connect_to_host (client, "127.0.0.1", loris->port, NULL, &error);
      g_assert_no_error (error);
      socket = g_socket_connection_get_socket (tcp);
      stream = G_IO_STREAM (tcp);
    }

  for (guint i = 0; i < 20 && request[i] != '\0'; i++)
    {
      char buf[256];
      gssize n;

      if (loris->tls)
        {
          if (!g_output_stream_write_all (g_io_stream_get_output_stream (stream), request + i, 1,
                                          NULL, NULL, NULL))
            {
              loris->dropped = TRUE;
              break;
            }
        }
      /* Wait a second for the server's reaction. */
      if (!g_socket_condition_timed_wait (socket, G_IO_IN, G_USEC_PER_SEC, NULL, NULL))
        continue;
      n = g_input_stream_read (g_io_stream_get_input_stream (stream), buf, sizeof buf, NULL, NULL);
      if (n > 0)
        loris->answered = TRUE;
      else
        loris->dropped = TRUE;
      break;
    }
  loris->elapsed = (g_get_monotonic_time () - start) / 1e6;
  return NULL;
}

static void
test_slow_loris (gconstpointer data)
{
  Env *env = (Env *) data;
  Loris loris[2] = { { 0, TRUE }, { 0, FALSE } };
  GThread *threads[2];
  g_autoptr(Answer) a = NULL;
  gint64 start;
  double took;

  REQUIRE_ENV (env);

  for (guint i = 0; i < 2; i++)
    {
      loris[i].port = vd_test_syncd_get_port (env->syncd);
      threads[i] = g_thread_new ("loris", loris_thread, &loris[i]);
    }
  g_usleep (G_USEC_PER_SEC / 2);

  /* Meanwhile another client is served at once, on a fresh connection. */
  g_clear_object (&env->session);
  env->session = new_session ();
  start = g_get_monotonic_time ();
  a = call (env, "GET", "/v1/health", NULL, NULL);
  took = (g_get_monotonic_time () - start) / 1e6;
  assert_status (a, 200);
  g_assert_cmpfloat (took, <, 1.0);

  for (guint i = 0; i < 2; i++)
    {
      g_thread_join (threads[i]);
      g_test_message ("slow client %u (%s): dropped=%d after %.1f s", i,
                      loris[i].tls ? "TLS, 1 byte/s" : "TCP, silent", loris[i].dropped,
                      loris[i].elapsed);
      g_assert_false (loris[i].answered);
      g_assert_true (loris[i].dropped);
      g_assert_cmpfloat (loris[i].elapsed, >=, HEADER_TIMEOUT_S - 0.5);
      g_assert_cmpfloat (loris[i].elapsed, <, HEADER_TIMEOUT_S + 3);
    }
}

/* ---- the idle timeout ---- */

/* Seconds until the server hangs up on STREAM, reading (and counting into ANSWERED)
 * whatever it sends first; -1 when it has not within LIMIT seconds. */
static double
seconds_until_dropped (GIOStream *stream,
                       GSocket   *socket,
                       double     limit,
                       gsize     *answered)
{
  gint64 start = g_get_monotonic_time ();
  gint64 end = start + (gint64) (limit * G_USEC_PER_SEC);

  *answered = 0;
  while (g_get_monotonic_time () < end)
    {
      char buf[4096];
      gssize n;

      if (!g_socket_condition_timed_wait (socket, G_IO_IN, end - g_get_monotonic_time (),
                                          NULL, NULL))
        break;
      n = g_input_stream_read (g_io_stream_get_input_stream (stream), buf, sizeof buf,
                               NULL, NULL);
      if (n <= 0)
        return (g_get_monotonic_time () - start) / 1e6;
      *answered += n;
    }
  return -1;
}

#define IDLE_TIMEOUT_S 1

/* Sends text on a new connection to port and checks the server hangs up after the idle
 * timeout, having answered first or not. */
static void
assert_dropped_when_idle (guint16     port,
                          const char *text,
                          gboolean    answers,
                          const char *what)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  GSocket *socket;
  gsize answered;
  double dropped;

  stream = open_tls (port, &socket);
  g_output_stream_write_all (g_io_stream_get_output_stream (stream), text, strlen (text),
                             NULL, NULL, &error);
  g_assert_no_error (error);
  dropped = seconds_until_dropped (stream, socket, 6, &answered);
  g_test_message ("%s: closed after %.2f s", what, dropped);
  if (answers)
    g_assert_cmpuint (answered, >, 0);
  else
    g_assert_cmpuint (answered, ==, 0);
  g_assert_cmpfloat (dropped, >=, IDLE_TIMEOUT_S - 0.3);
  g_assert_cmpfloat (dropped, <, IDLE_TIMEOUT_S + 2);
}

typedef struct
{
  const char *url;
  const char *fingerprint;
  const char *path;
  const char *access;
  guint       seed;
  guint       answered;
  guint       failed;
  char       *first_failure;
} Churn;

/* One desk on one kept-alive connection: pulls back to back, now and then idle past the
 * server's idle timeout so that the server closes the connection and a new one is made. */
static gpointer
churn_thread (gpointer data)
{
  Churn *c = data;
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (c->seed);
  g_autofree char *uri = g_strconcat (c->url, c->path, NULL);
  g_autofree char *bearer = g_strconcat ("Bearer ", c->access, NULL);
  gint64 end = g_get_monotonic_time () + 6 * G_USEC_PER_SEC;

  /* A stuck request fails after 10 s instead of hanging the test. */
  session = soup_session_new_with_options ("timeout", 10, "max-conns-per-host", 1, NULL);
  while (g_get_monotonic_time () < end)
    {
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;

      g_signal_connect (msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                        (gpointer) c->fingerprint);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    bearer);
      bytes = soup_session_send_and_read (session, msg, NULL, &error);
      if (bytes != NULL && soup_message_get_status (msg) == 200)
        c->answered++;
      else
        {
          c->failed++;
          if (c->first_failure == NULL)
            c->first_failure = g_strdup_printf ("%u %s", soup_message_get_status (msg),
                                                error ? error->message : "");
        }
      /* Mostly back to back; one call in eight waits past the idle timeout, with a margin
       * of a second or more, so that even on a loaded machine the client never writes on
       * a connection the server is just closing. */
      if (g_rand_int_range (rand, 0, 8) == 0)
        g_usleep ((IDLE_TIMEOUT_S * 1000 + g_rand_int_range (rand, 1000, 2000)) * 1000);
      else
        g_usleep (g_rand_int_range (rand, 0, 30) * 1000);
    }
  return NULL;
}

/* A byte must move every idle-timeout seconds while the server waits on a client: a
 * kept-alive connection between requests and a stalled body are dropped after it, while
 * desks that keep talking — some pausing past it — get every answer. */
static void
test_idle_timeout (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(VdTestSyncd) idle = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  Churn churn[8] = { { 0 } };
  GThread *threads[G_N_ELEMENTS (churn)];

  REQUIRE_ENV (env);

  idle = start_second_daemon (env, "[limits]\nidle-timeout=1\nheader-timeout=3\n"
                                   "address-rate=0\nclinic-rate=0\nlogin-rate=0\n");

  /* Answered, then silent on a kept-alive connection: closed after about a second. */
  assert_dropped_when_idle (vd_test_syncd_get_port (idle),
                            "GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n", TRUE,
                            "an idle kept-alive connection");
  /* Headers whole, the body stalled: the header timeout (3 s) no longer applies, the
   * idle timeout does. */
  assert_dropped_when_idle (vd_test_syncd_get_port (idle),
                            "POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\n"
                            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                            "{\"user", FALSE, "a stalled body");

  /* Eight desks pulling for 6 s, on connections the server closes whenever they idle;
   * the daemons share the database, so a token of the first is good on the second. */
  login_user (env, U_FD_A1);
  path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=0", env->clinics[C_A1]);
  for (guint i = 0; i < G_N_ELEMENTS (churn); i++)
    {
      churn[i] = (Churn) { vd_test_syncd_get_url (idle), vd_test_syncd_get_fingerprint (idle),
                           path, env->users[U_FD_A1].access, seed + i };
      threads[i] = g_thread_new ("churn", churn_thread, &churn[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (churn); i++)
    {
      g_thread_join (threads[i]);
      g_test_message ("desk %u: %u answered, %u failed%s%s", i, churn[i].answered,
                      churn[i].failed, churn[i].first_failure ? ": " : "",
                      churn[i].first_failure ? churn[i].first_failure : "");
      g_assert_cmpuint (churn[i].failed, ==, 0);
      g_assert_cmpuint (churn[i].answered, >, 0);
      g_free (churn[i].first_failure);
    }

  if (!vd_test_syncd_stop (idle, &error))
    g_error ("%s", error->message);
}

/* ---- graceful stop ---- */

/* SIGTERM while a request is half sent: new connections are refused, the request still
 * gets its answer, then the daemon exits 0. */
static void
test_drain (gconstpointer data)
{
  Env *env = (Env *) data;
  const char *head = "POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\n"
                     "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{";
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) refused = NULL;
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) error = NULL;
  GOutputStream *out;
  char buf[4096];
  gsize got = 0;
  gssize n;
  int status = -1;

  REQUIRE_ENV (env);
  g_clear_object (&env->session);

  tls = vd_test_tls_connect (vd_test_syncd_get_port (env->syncd), 0, NULL, &error);
  g_assert_no_error (error);
  out = g_io_stream_get_output_stream (tls);
  g_output_stream_write_all (out, head, strlen (head), NULL, NULL, &error);
  g_assert_no_error (error);
  g_usleep (G_USEC_PER_SEC / 5);

  vd_test_syncd_send_signal (env->syncd, SIGTERM);
  g_usleep (G_USEC_PER_SEC / 2);

  /* No longer accepting. */
  refused = g_socket_client_connect_to_host (client, "127.0.0.1",
                                             vd_test_syncd_get_port (env->syncd), NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_clear_error (&error);
  g_assert_true (vd_test_syncd_is_running (env->syncd));

  /* The request in flight completes and is answered (an empty login is a 400). */
  g_output_stream_write_all (out, "}", 1, NULL, NULL, &error);
  g_assert_no_error (error);
  while (got < sizeof buf - 1
         && (n = g_input_stream_read (g_io_stream_get_input_stream (tls), buf + got,
                                      sizeof buf - 1 - got, NULL, NULL)) > 0)
    got += n;
  buf[got] = '\0';
  g_assert_true (g_str_has_prefix (buf, "HTTP/1.1 400"));
  g_assert_nonnull (strstr (buf, "\"bad_request\""));

  g_assert_true (vd_test_syncd_wait (env->syncd, 15000, &status));
  g_assert_cmpint (status, ==, 0);

  /* Started again on the same data directory, it reuses its certificate. */
  if (!vd_test_syncd_start (env->syncd, &error))
    g_error ("%s", error->message);
  g_assert_cmpstr (vd_test_syncd_get_fingerprint (env->syncd), ==, env->fingerprint);
  /* On a new port: the cases after this one talk to it there. */
  g_free (env->url);
  env->url = g_strdup (vd_test_syncd_get_url (env->syncd));
  env->session = new_session ();
}

/* ---- the command line ---- */

static void
test_cli (void)
{
  static const char * const serve_plain[] = { "serve", "--plain-http", "--listen", "0.0.0.0:1", "--database", "sqlite:/nonexistent/x.db", NULL };
  static const char * const serve_listen[] = { "serve", "--listen", "nonsense", NULL };
  static const char * const serve_workers[] = { "serve", "--workers", "many", NULL };
  static const char * const add_user[] = { "add-user", "--display-name", "X", NULL };
  static const char * const add_tenant[] = { "add-tenant", "--slug", "x", NULL };
  static const char * const unknown[] = { "frobnicate", NULL };
  static const char * const extra[] = { "migrate", "extra", NULL };
  static const char * const bad_option[] = { "migrate", "--nope", NULL };

  assert_cli_usage_error (serve_plain);
  assert_cli_usage_error (serve_listen);
  assert_cli_usage_error (serve_workers);
  assert_cli_usage_error (add_user);
  assert_cli_usage_error (add_tenant);
  assert_cli_usage_error (unknown);
  assert_cli_usage_error (extra);
  assert_cli_usage_error (bad_option);
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
    { "shapes", test_shapes },
    { "errors", test_errors },
    { "isolation", test_isolation },
    { "refresh", test_refresh },
    { "logout", test_logout },
    { "lockout", test_lockout },
    { "replay", test_replay },
    { "skew-and-invalid", test_skew_and_invalid },
    { "three-desks", test_three_desks },
    { "rate-limits", test_rate_limits },
    { "slow-loris", test_slow_loris },
    { "idle-timeout", test_idle_timeout },
    { "drain", test_drain },
    { "stop", test_stop },
  };
  const char *seed_text = g_getenv ("VD_SEED");
  int status;

  g_test_init (&argc, &argv, NULL);
  seed = seed_text ? (guint32) g_ascii_strtoull (seed_text, NULL, 10) : 20240601u;

  g_test_add_func ("/api/cli", test_cli);
  for (guint e = 0; e < G_N_ELEMENTS (envs); e++)
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autofree char *path = g_strdup_printf ("/api/%s/%s", envs[e].backend, cases[i].name);
        g_test_add_data_func (path, &envs[e], cases[i].func);
      }
  status = g_test_run ();
  for (guint e = 0; e < G_N_ELEMENTS (envs); e++)
    env_clear (&envs[e]);
  return status;
}
