/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-security.c — syncd against a hostile member of a clinic (issue #16), over real
 * HTTPS against the real vetdesk-syncd, once on SQLite and once on PostgreSQL: device
 * secrets at sign-in (another member cannot take over a desk's device id), stored batch
 * answers kept to the session that pushed them, batch ids that may not leap, changes
 * naming another device as their site, the lockout answering alike for unknown names,
 * and add-user (roles checked first, one transaction, weak passwords refused, the SQLite
 * file readable by its owner only). */
#define G_LOG_DOMAIN "test-security"

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/stat.h>

#include "vd-change.h"
#include "vd-hlc.h"
#include "vd-id.h"
#include "vd-protocol.h"
#include "vd-test-pg.h"
#include "vd-test-syncd.h"

#define PASSWORD "correct horse battery"
#define LOCKOUT_S 60
#define TEST_CONFIG \
  "[limits]\n" \
  "lockout-seconds=60\n" \
  "address-rate=0\n" \
  "clinic-rate=0\n" \
  "login-rate=0\n"

enum { U_DESK, U_VET, U_LOCK, N_USERS };
static const char * const usernames[N_USERS] = { "desk", "vet", "lockme" };
static const char * const memberships[N_USERS] = {
  "norte:front_desk", "norte:veterinarian", "norte:front_desk"
};

typedef struct
{
  const char  *backend;
  gboolean     ready;
  char        *skip_reason;
  VdTestPg    *pg;
  VdTestSyncd *syncd;
  SoupSession *session;
  char        *tenant_id;
} Env;

static Env envs[2] = {
  { .backend = "sqlite" },
  { .backend = "postgresql" },
};

/* ---- HTTP ---- */

typedef struct
{
  guint       status;
  char       *body;
  JsonNode   *json;
} Answer;

static void
answer_free (Answer *a)
{
  if (a == NULL)
    return;
  g_free (a->body);
  g_clear_pointer (&a->json, json_node_unref);
  g_free (a);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Answer, answer_free)

static Answer *
call (Env        *env,
      const char *method,
      const char *path,
      const char *token,
      const char *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *uri = g_strconcat (vd_test_syncd_get_url (env->syncd), path, NULL);
  Answer *a = g_new0 (Answer, 1);

  msg = soup_message_new (method, uri);
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                    (gpointer) vd_test_syncd_get_fingerprint (env->syncd));
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
  bytes = soup_session_send_and_read (env->session, msg, NULL, &error);
  g_assert_no_error (error);
  a->status = soup_message_get_status (msg);
  a->body = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (g_bytes_get_size (bytes) > 0)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (json_parser_load_from_data (parser, a->body, -1, NULL))
        a->json = json_node_ref (json_parser_get_root (parser));
    }
  return a;
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
  JsonObject *error;

  assert_status (a, status);
  error = json_object_get_object_member (obj (a), "error");
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, code);
  /* A sentence a person can act on. */
  g_assert_nonnull (strchr (json_object_get_string_member (error, "message"), ' '));
}

/* A login with exactly these fields (device_secret NULL: none sent). */
static Answer *
login_raw (Env        *env,
           const char *username,
           const char *password,
           const char *device_id,
           const char *device_secret)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "username");
  json_builder_add_string_value (b, username);
  json_builder_set_member_name (b, "password");
  json_builder_add_string_value (b, password);
  json_builder_set_member_name (b, "device_id");
  json_builder_add_string_value (b, device_id);
  json_builder_set_member_name (b, "device_name");
  json_builder_add_string_value (b, "Front desk PC");
  if (device_secret != NULL)
    {
      json_builder_set_member_name (b, "device_secret");
      json_builder_add_string_value (b, device_secret);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  body = json_generator_to_data (gen, NULL);
  return call (env, "POST", "/v1/auth/login", NULL, body);
}

static char *
access_token (Answer *a)
{
  return g_strdup (json_object_get_string_member (obj (a), "access_token"));
}

static char *
push_body (const char *device_id,
           gint64      batch_id,
           const char *site,
           const char *client_id,
           const char *email)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  static guint counter;
  VdChange *c;
  VdValue v = { 0, };
  gsize len;

  c = vd_change_new (vd_schema_lookup_table ("clients"), client_id,
                     vd_hlc_make (g_get_real_time () / 1000, ++counter & 0xff), site);
  vd_value_set_text (&v, "Ana");
  vd_change_take_cell (c, vd_table_lookup_column (c->table, "first_name"), &v);
  vd_value_set_text (&v, "Ruiz");
  vd_change_take_cell (c, vd_table_lookup_column (c->table, "last_name"), &v);
  vd_value_set_text (&v, email);
  vd_change_take_cell (c, vd_table_lookup_column (c->table, "email"), &v);
  vd_value_set_bool (&v, FALSE);
  vd_change_take_cell (c, vd_table_deleted_column (c->table), &v);
  g_ptr_array_add (changes, c);
  return vd_push_request_encode (device_id, batch_id, changes, &len);
}

static Answer *
push (Env        *env,
      const char *token,
      const char *body)
{
  g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/push", env->tenant_id);

  return call (env, "POST", path, token, body);
}

/* Whether the clinic's pull from 0 holds the client row with that email. */
static gboolean
server_has_email (Env        *env,
                  const char *token,
                  const char *client_id,
                  const char *email)
{
  gint64 cursor = 0;
  gboolean more = TRUE, found = FALSE;

  while (more)
    {
      g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=%" G_GINT64_FORMAT
                                               "&limit=5000", env->tenant_id, cursor);
      g_autoptr(Answer) a = call (env, "GET", path, token, NULL);
      g_autoptr(VdPullAnswer) p = NULL;
      g_autoptr(GError) error = NULL;

      assert_status (a, 200);
      p = vd_pull_answer_decode (a->body, strlen (a->body), &error);
      g_assert_no_error (error);
      for (guint i = 0; i < p->changes->len; i++)
        {
          VdChange *c = g_ptr_array_index (p->changes, i);
          const VdCell *cell = vd_change_get_cell (c, "email");

          if (g_str_equal (c->id, client_id) && cell != NULL &&
              cell->value.kind == VD_VALUE_TEXT && g_str_equal (cell->value.s, email))
            found = TRUE;
        }
      cursor = p->cursor;
      more = p->more;
    }
  return found;
}

/* ---- the daemon ---- */

static char *
cli (Env         *env,
     const char  *stdin_text,
     GError     **error,
     const char  *first,
     ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  va_start (ap, first);
  for (arg = va_arg (ap, const char *); arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  while (args->len < 10)
    g_ptr_array_add (args, NULL);
  return vd_test_syncd_run (env->syncd, stdin_text, error, first, args->pdata[0],
                            args->pdata[1], args->pdata[2], args->pdata[3], args->pdata[4],
                            args->pdata[5], args->pdata[6], args->pdata[7], args->pdata[8],
                            args->pdata[9], NULL);
}

static void
test_setup (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
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
  out = cli (env, NULL, &error, "migrate", NULL);
  g_assert_no_error (error);
  g_free (cli (env, NULL, &error, "add-company", "Company A", NULL));
  g_assert_no_error (error);
  env->tenant_id = cli (env, NULL, &error, "add-tenant", "--slug", "norte", "--name",
                        "Clínica Norte", "--timezone", "Europe/Madrid", "--currency", "EUR",
                        "--company", "Company A", NULL);
  g_assert_no_error (error);
  for (guint u = 0; u < N_USERS; u++)
    {
      g_autofree char *id = cli (env, PASSWORD "\n", &error, "add-user", "--username",
                                 usernames[u], "--display-name", usernames[u], "--clinic",
                                 memberships[u], NULL);
      g_assert_no_error (error);
      g_assert_true (vd_uuid_is_valid (id));
    }
  if (!vd_test_syncd_start (env->syncd, &error))
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

  if (env->syncd == NULL)
    {
      g_test_skip (env->skip_reason ? env->skip_reason : "nothing to stop");
      return;
    }
  g_clear_object (&env->session);
  if (!vd_test_syncd_stop (env->syncd, &error))
    g_error ("%s", error->message);
  g_clear_pointer (&env->syncd, vd_test_syncd_free);
  g_clear_pointer (&env->pg, vd_test_pg_stop);
  g_clear_pointer (&env->tenant_id, g_free);
  env->ready = FALSE;
}

/* ---- device secrets (§6) ---- */

static void
test_device_secret (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autofree char *desk_pc = vd_uuid_new ();
  g_autofree char *secret = NULL;
  g_autoptr(Answer) a = NULL;

  REQUIRE_ENV (env);

  /* The desk's first sign-in: a new device id gets its secret, 256 random bits. */
  a = login_raw (env, "desk", PASSWORD, desk_pc, NULL);
  assert_status (a, 200);
  secret = g_strdup (json_object_get_string_member (obj (a), "device_secret"));
  g_assert_nonnull (secret);
  g_assert_cmpuint (strlen (secret), >=, 43);
  g_clear_pointer (&a, answer_free);

  /* The vet, who read the desk's id as the site of its changes, cannot sign in with it:
   * not without the secret, not with a made-up one, not with a wrong password either
   * way. */
  a = login_raw (env, "vet", PASSWORD, desk_pc, NULL);
  assert_error (a, 403, "forbidden");
  g_assert_false (json_object_has_member (obj (a), "access_token"));
  g_clear_pointer (&a, answer_free);
  a = login_raw (env, "vet", PASSWORD, desk_pc, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  assert_error (a, 403, "forbidden");
  g_clear_pointer (&a, answer_free);
  a = login_raw (env, "vet", "wrong password!", desk_pc, NULL);
  assert_error (a, 401, "unauthorized");
  g_clear_pointer (&a, answer_free);

  /* Staff who share the desk PC share its secret: the vet at that PC signs in, and no
   * new secret is issued. */
  a = login_raw (env, "vet", PASSWORD, desk_pc, secret);
  assert_status (a, 200);
  g_assert_false (json_object_has_member (obj (a), "device_secret"));
  g_clear_pointer (&a, answer_free);
  a = login_raw (env, "desk", PASSWORD, desk_pc, secret);
  assert_status (a, 200);
  g_clear_pointer (&a, answer_free);

  /* The desk itself, without its secret, is refused too: the device proves itself. */
  a = login_raw (env, "desk", PASSWORD, desk_pc, NULL);
  assert_error (a, 403, "forbidden");
  g_clear_pointer (&a, answer_free);

  /* Another new id: another secret. */
  {
    g_autofree char *other = vd_uuid_new ();

    a = login_raw (env, "vet", PASSWORD, other, NULL);
    assert_status (a, 200);
    g_assert_cmpstr (json_object_get_string_member (obj (a), "device_secret"), !=, secret);
  }
}

/* A stored batch answer goes back to the session that pushed the batch only; a batch
 * id another session used first does not swallow the desk's own push. */
static void
test_replay_per_session (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autofree char *desk_pc = vd_uuid_new ();
  g_autofree char *secret = NULL;
  g_autofree char *desk = NULL;
  g_autofree char *vet = NULL;
  g_autofree char *row = vd_uuid_new ();
  g_autofree char *row2 = vd_uuid_new ();
  g_autofree char *first = NULL;
  g_autoptr(Answer) a = NULL;
  g_autoptr(Answer) b = NULL;

  REQUIRE_ENV (env);

  a = login_raw (env, "desk", PASSWORD, desk_pc, NULL);
  assert_status (a, 200);
  desk = access_token (a);
  secret = g_strdup (json_object_get_string_member (obj (a), "device_secret"));
  g_clear_pointer (&a, answer_free);
  /* A second session of the same device (here with the secret, as a colleague at the
   * same PC would have). */
  a = login_raw (env, "vet", PASSWORD, desk_pc, secret);
  assert_status (a, 200);
  vet = access_token (a);
  g_clear_pointer (&a, answer_free);

  /* The desk's batch 1 has a refused change whose reason quotes the value. */
  first = push_body (desk_pc, 1, desk_pc, row, "not-an-email-ana.ruiz");
  a = push (env, desk, first);
  assert_status (a, 200);
  g_assert_nonnull (strstr (a->body, "rejected"));

  /* The same session sending it again gets the stored answer, byte for byte. */
  b = push (env, desk, first);
  assert_status (b, 200);
  g_assert_cmpstr (b->body, ==, a->body);
  g_clear_pointer (&b, answer_free);

  /* Another session sending batch 1 of the device is not served that answer. */
  {
    g_autofree char *other = push_body (desk_pc, 1, desk_pc, row2, "ana@example.com");

    b = push (env, vet, other);
    assert_status (b, 200);
    g_assert_cmpstr (b->body, !=, a->body);
    g_assert_null (strstr (b->body, "not-an-email-ana.ruiz"));
    g_assert_cmpint (json_object_get_int_member (obj (b), "accepted"), ==, 1);
    g_clear_pointer (&b, answer_free);
  }

  /* The other session pushes the device's next batch id first; the desk's own batch 2
   * still reaches the server (it answered accepted:1 and dropped it before). */
  {
    g_autofree char *theirs = push_body (desk_pc, 2, desk_pc, row2, "vet@example.com");
    g_autofree char *mine = push_body (desk_pc, 2, desk_pc, row, "desk@example.com");

    b = push (env, vet, theirs);
    assert_status (b, 200);
    g_clear_pointer (&b, answer_free);
    b = push (env, desk, mine);
    assert_status (b, 200);
    g_assert_cmpint (json_object_get_int_member (obj (b), "accepted"), ==, 1);
    g_assert_true (server_has_email (env, desk, row, "desk@example.com"));
  }
}

static void
test_batch_bound (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autofree char *pc = vd_uuid_new ();
  g_autofree char *token = NULL;
  g_autofree char *row = vd_uuid_new ();
  g_autoptr(Answer) a = NULL;
  g_autofree char *body = NULL;

  REQUIRE_ENV (env);

  a = login_raw (env, "desk", PASSWORD, pc, NULL);
  assert_status (a, 200);
  token = access_token (a);
  g_clear_pointer (&a, answer_free);

  /* INT64_MAX would leave the device no batch id to send: refused, nothing written. */
  body = push_body (pc, G_MAXINT64, pc, row, "max@example.com");
  a = push (env, token, body);
  assert_error (a, 400, "bad_request");
  g_clear_pointer (&a, answer_free);
  g_clear_pointer (&body, g_free);
  g_assert_false (server_has_email (env, token, row, "max@example.com"));

  /* The first batch may be at most the bound; then each at most the bound past the last. */
  body = push_body (pc, VD_PROTOCOL_MAX_BATCH_JUMP + 1, pc, row, "a@example.com");
  a = push (env, token, body);
  assert_error (a, 400, "bad_request");
  g_clear_pointer (&a, answer_free);
  g_clear_pointer (&body, g_free);
  body = push_body (pc, VD_PROTOCOL_MAX_BATCH_JUMP, pc, row, "a@example.com");
  a = push (env, token, body);
  assert_status (a, 200);
  g_clear_pointer (&a, answer_free);
  g_clear_pointer (&body, g_free);
  body = push_body (pc, 2 * (gint64) VD_PROTOCOL_MAX_BATCH_JUMP + 1, pc, row, "b@example.com");
  a = push (env, token, body);
  assert_error (a, 400, "bad_request");
  g_clear_pointer (&a, answer_free);
  g_clear_pointer (&body, g_free);
  body = push_body (pc, VD_PROTOCOL_MAX_BATCH_JUMP + 1, pc, row, "c@example.com");
  a = push (env, token, body);
  assert_status (a, 200);
  g_assert_true (server_has_email (env, token, row, "c@example.com"));
}

static void
test_foreign_site (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autofree char *pc = vd_uuid_new ();
  g_autofree char *other_pc = vd_uuid_new ();
  g_autofree char *token = NULL;
  g_autofree char *row = vd_uuid_new ();
  g_autofree char *body = NULL;
  g_autoptr(Answer) a = NULL;
  JsonArray *rejected;

  REQUIRE_ENV (env);

  a = login_raw (env, "vet", PASSWORD, pc, NULL);
  assert_status (a, 200);
  token = access_token (a);
  g_clear_pointer (&a, answer_free);

  /* A change that claims another desk wrote it: refused as forbidden, not applied. */
  body = push_body (pc, 1, other_pc, row, "forged@example.com");
  a = push (env, token, body);
  assert_status (a, 200);
  g_assert_cmpint (json_object_get_int_member (obj (a), "accepted"), ==, 0);
  rejected = json_object_get_array_member (obj (a), "rejected");
  g_assert_cmpuint (json_array_get_length (rejected), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (rejected, 0),
                                                  "code"), ==, "forbidden");
  g_clear_pointer (&a, answer_free);
  g_clear_pointer (&body, g_free);
  g_assert_false (server_has_email (env, token, row, "forged@example.com"));

  /* Its own site is fine. */
  body = push_body (pc, 2, pc, row, "own@example.com");
  a = push (env, token, body);
  assert_status (a, 200);
  g_assert_cmpint (json_object_get_int_member (obj (a), "accepted"), ==, 1);
}

/* ---- the lockout answers alike (§6, issue #16 item 8) ---- */

static void
test_lockout_alike (gconstpointer data)
{
  Env *env = (Env *) data;
  g_autofree char *pc = vd_uuid_new ();
  const char *names[2] = { "lockme", "nobody-by-this-name" };
  guint statuses[2][12];

  REQUIRE_ENV (env);

  for (guint n = 0; n < 2; n++)
    for (guint i = 0; i < 12; i++)
      {
        g_autoptr(Answer) a = login_raw (env, names[n], "wrong password!", pc, NULL);

        statuses[n][i] = a->status;
        if (i == 11)
          {
            /* The 12th: locked, for both, with the same words apart from the time. */
            assert_error (a, 429, "rate_limited");
            g_assert_nonnull (strstr (a->body, "locked"));
          }
      }
  for (guint i = 0; i < 12; i++)
    {
      g_assert_cmpuint (statuses[0][i], ==, statuses[1][i]);
      g_assert_cmpuint (statuses[0][i], ==, i < 9 ? 401 : 429);
    }
}

/* ---- add-user ---- */

static void
test_add_user (gconstpointer data)
{
  Env *env = (Env *) data;
  static const char * const weak[] = {
    "password", "        ", "          ", "aaaaaaaaaaaa", "password1234", "Qwertyuiop",
    "1234567890", "iloveyou2024!", NULL
  };

  REQUIRE_ENV (env);

  /* A bad role is refused before anything is written: the name stays free. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *out = cli (env, PASSWORD "\n", &error, "add-user", "--username", "newbie",
                                "--display-name", "Newbie", "--clinic", "norte:wizard", NULL);

    g_assert_null (out);
    g_assert_nonnull (error);
    g_assert_nonnull (strstr (error->message, "front_desk"));
  }
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *id = cli (env, PASSWORD "\n", &error, "add-user", "--username", "newbie",
                               "--display-name", "Newbie", "--clinic", "norte:groomer", NULL);

    g_assert_no_error (error);
    g_assert_true (vd_uuid_is_valid (id));
  }

  /* Weak passwords are refused with a sentence saying what to do; nothing is written. */
  for (guint i = 0; weak[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *input = g_strconcat (weak[i], "\n", NULL);
      g_autofree char *name = g_strdup_printf ("weak%u", i);
      g_autofree char *out = cli (env, input, &error, "add-user", "--username", name,
                                  "--display-name", "Weak", "--clinic", "norte:groomer", NULL);

      if (out != NULL)
        g_error ("the password “%s” was accepted", weak[i]);
      g_assert_nonnull (error);
      g_assert_true (strstr (error->message, "Choose another") != NULL ||
                     strstr (error->message, "at least 10 characters") != NULL);
      {
        g_autoptr(Answer) a = login_raw (env, name, weak[i], vd_uuid_new (), NULL);

        assert_error (a, 401, "unauthorized");
      }
    }
}

static void
test_database_mode (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdTestSyncd) syncd = vd_test_syncd_new (VETDESK_SYNCD, NULL);
  g_autofree char *out = NULL;
  const char *uri = vd_test_syncd_get_database (syncd);
  const char *path = g_str_has_prefix (uri, "sqlite:") ? uri + strlen ("sqlite:") : uri;
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  struct stat st;

  out = vd_test_syncd_run (syncd, NULL, &error, "migrate", NULL);
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
  if (g_stat (wal, &st) == 0)
    g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
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
    { "device-secret", test_device_secret },
    { "replay-per-session", test_replay_per_session },
    { "batch-bound", test_batch_bound },
    { "foreign-site", test_foreign_site },
    { "lockout-alike", test_lockout_alike },
    { "add-user", test_add_user },
    { "teardown", test_teardown },
  };

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/security/sqlite-file-mode", test_database_mode);
  for (guint e = 0; e < G_N_ELEMENTS (envs); e++)
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autofree char *path = g_strdup_printf ("/security/%s/%s", envs[e].backend,
                                                 cases[i].name);
        g_test_add_data_func (path, &envs[e], cases[i].func);
      }
  return g_test_run ();
}
