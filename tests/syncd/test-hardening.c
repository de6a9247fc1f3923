/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-hardening.c — vetdesk-syncd against hostile clients (issue #16), over raw TLS
 * connections so that the tests control every byte: requests refused from their headers
 * before any body byte is sent, the caps on connections and body bytes, a descriptor
 * limit reached without the listener going deaf, fragmented and chatty WebSocket streams,
 * libsoup's own refusals with the contract's JSON body, and TLS 1.0/1.1 refused. */
#define G_LOG_DOMAIN "test-hardening"

#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "vd-id.h"
#include "vd-test-pg.h"
#include "vd-test-syncd.h"

#define PASSWORD "Correct horse battery staple 42"
/* A read that waits this long for an answer failed: the server was waiting for a body
 * (or a frame) the test never sends. */
#define READ_TIMEOUT_S 8

#define BASE_CONFIG \
  "[limits]\n" \
  "header-timeout=30\n" \
  "idle-timeout=60\n" \
  "address-rate=0\n" \
  "clinic-rate=0\n" \
  "login-rate=0\n"

typedef struct
{
  const char  *backend;
  VdTestPg    *pg;
  VdTestSyncd *syncd;
  char        *clinic_a;
  char        *clinic_b;
  char        *device;
  char        *session_token;   /* fd-a's access token */
} Env;

/* ---- raw HTTP over TLS ---- */

typedef struct
{
  guint  status;
  char  *head;    /* status line and headers */
  char  *body;
  gboolean closed; /* the server closed the connection after the answer */
} Answer;

static void
answer_free (Answer *a)
{
  g_free (a->head);
  g_free (a->body);
  g_free (a);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Answer, answer_free)

/* The daemon of the running test, for its log in failure messages. */
static VdTestSyncd *current;

static const char *
daemon_log (void)
{
  static char *log;

  g_autofree char *out = NULL;
  g_autofree char *path = NULL;

  g_free (log);
  log = NULL;
  if (current == NULL)
    return "";
  path = g_build_filename (vd_test_syncd_get_data_dir (current), "stdout.log", NULL);
  g_file_get_contents (path, &out, NULL, NULL);
  log = g_strconcat (out ? out : "", vd_test_syncd_get_log (current), NULL);
  return log;
}

static GIOStream *
connect_tls (Env *env)
{
  g_autoptr(GError) error = NULL;
  GIOStream *stream = vd_test_tls_connect (vd_test_syncd_get_port (env->syncd), READ_TIMEOUT_S,
                                           NULL, &error);

  g_assert_no_error (error);
  return stream;
}

static void
send_all (GIOStream  *stream,
          const void *data,
          gsize       len)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (stream), data, len, NULL, NULL,
                             &error);
  g_assert_no_error (error);
}

static void
send_text (GIOStream  *stream,
           const char *text)
{
  send_all (stream, text, strlen (text));
}

/* The value of header name in head, or NULL. */
static char *
header_value (const char *head,
              const char *name)
{
  g_auto(GStrv) lines = g_strsplit (head, "\r\n", -1);

  for (guint i = 1; lines[i] != NULL; i++)
    {
      const char *colon = strchr (lines[i], ':');

      if (colon != NULL && (gsize) (colon - lines[i]) == strlen (name)
          && g_ascii_strncasecmp (lines[i], name, strlen (name)) == 0)
        return g_strstrip (g_strdup (colon + 1));
    }
  return NULL;
}

/* Reads one answer: its head, then Content-Length bytes, or up to the end of the
 * connection when it has none. Fails the test when nothing comes within the timeout. */
static Answer *
read_answer (GIOStream *stream)
{
  GInputStream *in = g_io_stream_get_input_stream (stream);
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  Answer *a = g_new0 (Answer, 1);
  g_autofree char *length = NULL;
  const char *end = NULL;
  gsize head_len = 0;
  gint64 want = -1;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      guint8 chunk[4096];
      gssize n;

      if (end == NULL && buf->len >= 4)
        {
          end = g_strstr_len ((const char *) buf->data, buf->len, "\r\n\r\n");
          if (end != NULL)
            {
              head_len = end - (const char *) buf->data;
              a->head = g_strndup ((const char *) buf->data, head_len);
              length = header_value (a->head, "Content-Length");
              want = length != NULL ? g_ascii_strtoll (length, NULL, 10) : -1;
            }
        }
      if (end != NULL && want >= 0 && buf->len >= head_len + 4 + want)
        break;

      n = g_input_stream_read (in, chunk, sizeof chunk, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        g_error ("no answer within %d s (got %u bytes: %.*s)", READ_TIMEOUT_S, buf->len,
                 (int) buf->len, (const char *) buf->data);
      if (n <= 0)
        {
          a->closed = TRUE;
          break;
        }
      g_byte_array_append (buf, chunk, n);
    }
  if (a->head == NULL)
    g_error ("the connection closed without an answer; the daemon's log:\n%s", daemon_log ());
  a->status = (guint) g_ascii_strtoull (a->head + strlen ("HTTP/1.1 "), NULL, 10);
  a->body = g_strndup ((const char *) buf->data + head_len + 4,
                       want >= 0 ? (gsize) want : buf->len - head_len - 4);
  return a;
}

/* TRUE when the server closed the connection: the next read ends (or fails) at once
 * rather than timing out. */
static gboolean
connection_closed (GIOStream *stream)
{
  g_autoptr(GError) error = NULL;
  guint8 byte;
  gssize n = g_input_stream_read (g_io_stream_get_input_stream (stream), &byte, 1, NULL,
                                  &error);

  return n == 0 || (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
}

static void
assert_error_answer (Answer     *a,
                     guint       status,
                     const char *code)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *err;

  if (a->status != status)
    g_error ("expected %u, got %u: %s\n%s", status, a->status, a->head, a->body);
  json_parser_load_from_data (parser, a->body, -1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (json_parser_get_root (parser));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  err = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                       "error");
  g_assert_nonnull (err);
  g_assert_cmpstr (json_object_get_string_member (err, "code"), ==, code);
  g_assert_cmpuint (strlen (json_object_get_string_member (err, "message")), >, 10);
}

/* One whole request on a new connection. */
static Answer *
request (Env        *env,
         const char *text)
{
  g_autoptr(GIOStream) stream = connect_tls (env);

  send_text (stream, text);
  return read_answer (stream);
}

/* /v1/health answers 200. The connections the test just closed may not have been seen
 * closing yet (the caps still count them): a 429 or 503 is asked again, a few times. */
static void
assert_healthy (Env *env)
{
  for (guint attempt = 0;; attempt++)
    {
      g_autoptr(Answer) a = request (env, "GET /v1/health HTTP/1.1\r\nHost: x\r\n"
                                          "Connection: close\r\n\r\n");

      if ((a->status == 429 || a->status == 503) && attempt < 50)
        {
          g_usleep (100 * 1000);
          continue;
        }
      if (a->status != 200)
        g_error ("/v1/health: %u %s; the daemon's log:\n%s", a->status, a->body, daemon_log ());
      break;
    }
  g_assert_true (vd_test_syncd_is_running (env->syncd));
}

/* ---- setup ---- */

static char *
run_cli (Env        *env,
         const char *stdin_text,
         ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *arg;
  va_list ap;
  char *out;

  va_start (ap, stdin_text);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  while (args->len < 12)
    g_ptr_array_add (args, NULL);
  out = vd_test_syncd_run (env->syncd, stdin_text, &error, args->pdata[0], args->pdata[1],
                           args->pdata[2], args->pdata[3], args->pdata[4], args->pdata[5],
                           args->pdata[6], args->pdata[7], args->pdata[8], args->pdata[9],
                           args->pdata[10], NULL);
  g_assert_no_error (error);
  return out;
}

static char *
login_token (Env        *env,
             const char *username)
{
  g_autofree char *json = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"%s\","
                                           "\"device_id\":\"%s\",\"device_name\":\"Desk\"}",
                                           username, PASSWORD, env->device);
  g_autofree char *text = g_strdup_printf ("POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                                           "Content-Type: application/json\r\n"
                                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                           strlen (json), json);
  g_autoptr(Answer) a = request (env, text);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (a->status != 200)
    g_error ("login: %u %s", a->status, a->body);
  json_parser_load_from_data (parser, a->body, -1, &error);
  g_assert_no_error (error);
  return g_strdup (json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)),
                                                  "access_token"));
}

static gboolean
env_setup (Env        *env,
           const char *backend,
           const char *config)
{
  g_autoptr(GError) error = NULL;
  const char *db_uri = NULL;

  memset (env, 0, sizeof *env);
  env->backend = backend;
  if (g_str_equal (backend, "postgresql"))
    {
      if (!vd_test_pg_available ())
        {
          g_test_skip (vd_test_pg_unavailable_reason ());
          return FALSE;
        }
      env->pg = vd_test_pg_start (&error);
      g_assert_no_error (error);
      db_uri = vd_test_pg_get_uri (env->pg);
    }
  env->syncd = vd_test_syncd_new (VETDESK_SYNCD, db_uri);
  current = env->syncd;
  vd_test_syncd_set_config (env->syncd, config);
  g_free (run_cli (env, NULL, "migrate", NULL));
  g_free (run_cli (env, NULL, "add-company", "Company", NULL));
  env->clinic_a = run_cli (env, NULL, "add-tenant", "--slug", "a", "--name", "Clinic A",
                           "--timezone", "Europe/Madrid", "--currency", "EUR", "--company",
                           "Company", NULL);
  env->clinic_b = run_cli (env, NULL, "add-tenant", "--slug", "b", "--name", "Clinic B",
                           "--timezone", "Europe/Madrid", "--currency", "EUR", "--company",
                           "Company", NULL);
  g_free (run_cli (env, PASSWORD "\n", "add-user", "--username", "fd-a", "--display-name",
                   "Front desk A", "--clinic", "a:front_desk", NULL));
  env->device = vd_uuid_new ();
  if (!vd_test_syncd_start (env->syncd, &error))
    g_error ("%s", error->message);
  return TRUE;
}

static void
env_teardown (Env *env)
{
  current = NULL;
  g_clear_pointer (&env->syncd, vd_test_syncd_free);
  g_clear_pointer (&env->pg, vd_test_pg_stop);
  g_free (env->clinic_a);
  g_free (env->clinic_b);
  g_free (env->device);
  g_free (env->session_token);
}

static void
restart_with (Env        *env,
              const char *config)
{
  g_autoptr(GError) error = NULL;

  if (!vd_test_syncd_stop (env->syncd, &error))
    g_error ("%s", error->message);
  vd_test_syncd_set_config (env->syncd, config);
  if (!vd_test_syncd_start (env->syncd, &error))
    g_error ("%s", error->message);
}

/* ---- item 1: from the headers alone ---- */

/* Sends a request's headers announcing a body and none of it, and reads the answer. */
static Answer *
headers_only (GIOStream  *stream,
              const char *method_path,
              const char *extra_headers,
              gsize       length)
{
  g_autofree char *text = g_strdup_printf ("%s HTTP/1.1\r\nHost: x\r\n"
                                           "Content-Type: application/json\r\n%s"
                                           "Content-Length: %zu\r\n\r\n",
                                           method_path, extra_headers ? extra_headers : "",
                                           length);

  send_text (stream, text);
  return read_answer (stream);
}

static void
test_before_body (gconstpointer data)
{
  Env env;
  g_autofree char *push = NULL;
  g_autofree char *push_b = NULL;
  g_autofree char *bearer = NULL;
  g_autoptr(GPtrArray) streams = g_ptr_array_new_with_free_func (g_object_unref);

  if (!env_setup (&env, data, BASE_CONFIG))
    return;
  env.session_token = login_token (&env, "fd-a");
  push = g_strdup_printf ("POST /v1/tenants/%s/sync/push", env.clinic_a);
  push_b = g_strdup_printf ("POST /v1/tenants/%s/sync/push", env.clinic_b);
  bearer = g_strdup_printf ("Authorization: Bearer %s\r\n", env.session_token);

  /* Many anonymous connections announcing 4 MiB − 1 to an address that does not exist:
   * each is answered before a byte of its body is sent, and closed. */
  for (guint i = 0; i < 40; i++)
    g_ptr_array_add (streams, connect_tls (&env));
  for (guint i = 0; i < streams->len; i++)
    {
      g_autoptr(Answer) a = headers_only (streams->pdata[i], "POST /v1/nothing-here", NULL,
                                          4 * 1024 * 1024 - 1);
      g_autofree char *connection = header_value (a->head, "Connection");

      assert_error_answer (a, 404, "not_found");
      g_assert_cmpstr (connection, ==, "close");
    }
  /* …and then closed, once the server has given up waiting for the client to stop. */
  g_assert_true (connection_closed (streams->pdata[0]));

  /* A known route with the wrong method, a route that takes no body. */
  {
    g_autoptr(GIOStream) s = connect_tls (&env);
    g_autoptr(Answer) a = headers_only (s, "PUT /v1/auth/login", NULL, 1000000);
    assert_error_answer (a, 405, "bad_request");
  }
  {
    g_autoptr(GIOStream) s = connect_tls (&env);
    g_autoptr(Answer) a = headers_only (s, "GET /v1/health", NULL, 1000000);
    assert_error_answer (a, 413, "payload_too_large");
  }
  /* A push without a token, with a token nobody issued, into another clinic. */
  {
    g_autoptr(GIOStream) s = connect_tls (&env);
    g_autoptr(Answer) a = headers_only (s, push, NULL, 3000000);
    assert_error_answer (a, 401, "unauthorized");
    g_assert_true (connection_closed (s));
  }
  {
    g_autoptr(GIOStream) s = connect_tls (&env);
    g_autoptr(Answer) a = headers_only (s, push, "Authorization: Bearer "
                                        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n",
                                        3000000);
    assert_error_answer (a, 401, "unauthorized");
  }
  {
    g_autoptr(GIOStream) s = connect_tls (&env);
    g_autoptr(Answer) a = headers_only (s, push_b, bearer, 3000000);
    /* Another clinic's id is not even confirmed to exist. */
    assert_error_answer (a, 404, "not_found");
  }
  /* The member's own push still reads its body (an empty batch is refused for what it
   * says, after it was read). */
  {
    g_autoptr(GIOStream) s = connect_tls (&env);
    g_autofree char *text = g_strdup_printf ("%s HTTP/1.1\r\nHost: x\r\n%s"
                                             "Content-Type: application/json\r\n"
                                             "Content-Length: 2\r\n\r\n{}", push, bearer);
    g_autoptr(Answer) a = NULL;

    send_text (s, text);
    a = read_answer (s);
    g_assert_cmpuint (a->status, ==, 400);
  }
  g_ptr_array_set_size (streams, 0);
  assert_healthy (&env);

  /* A rate-limited address is answered 429 from its headers too. */
  restart_with (&env, "[limits]\nheader-timeout=30\naddress-rate=0.001\naddress-burst=1\n"
                      "login-rate=0\n");
  {
    g_autoptr(Answer) first = request (&env, "GET /v1/health HTTP/1.1\r\nHost: x\r\n"
                                             "Connection: close\r\n\r\n");
    g_autoptr(GIOStream) s = connect_tls (&env);
    g_autoptr(Answer) a = NULL;
    g_autofree char *retry = NULL;

    g_assert_cmpuint (first->status, ==, 200);
    a = headers_only (s, "POST /v1/auth/login", NULL, 4000000);
    assert_error_answer (a, 429, "rate_limited");
    retry = header_value (a->head, "Retry-After");
    g_assert_nonnull (retry);
  }
  env_teardown (&env);
}

/* Body bytes in flight, per address then in all; connections per address then in all. */
static void
test_caps (gconstpointer data)
{
  Env env;

  if (!env_setup (&env, data, BASE_CONFIG "[server]\nmax-body-memory=8\n"
                                          "max-body-memory-per-address=4\n"))
    return;

  {
    g_autoptr(GIOStream) held = connect_tls (&env);
    g_autoptr(GIOStream) s = connect_tls (&env);
    g_autoptr(Answer) a = NULL;
    g_autofree char *retry = NULL;

    /* 3 MiB announced and not sent: counted while the server waits for them. */
    send_text (held, "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                     "Content-Type: application/json\r\nContent-Length: 3145728\r\n\r\n");
    a = headers_only (s, "POST /v1/auth/login", NULL, 2 * 1024 * 1024);
    assert_error_answer (a, 429, "rate_limited");
    retry = header_value (a->head, "Retry-After");
    g_assert_nonnull (retry);
    g_assert_true (connection_closed (s));
  }
  /* Once the held body is given up, its bytes are free again. */
  {
    g_autoptr(GIOStream) s = connect_tls (&env);
    g_autoptr(Answer) a = NULL;

    send_text (s, "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                  "Content-Type: application/json\r\nContent-Length: 3145728\r\n"
                  "Connection: close\r\n\r\n");
    g_io_stream_close (s, NULL, NULL);
  }
  restart_with (&env, BASE_CONFIG "[server]\nmax-body-memory=4\n"
                                  "max-body-memory-per-address=8\n");
  {
    g_autoptr(GIOStream) held = connect_tls (&env);
    g_autoptr(GIOStream) s = connect_tls (&env);
    g_autoptr(Answer) a = NULL;

    send_text (held, "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                     "Content-Type: application/json\r\nContent-Length: 3145728\r\n\r\n");
    a = headers_only (s, "POST /v1/auth/login", NULL, 2 * 1024 * 1024);
    assert_error_answer (a, 503, "unavailable");
    g_assert_nonnull (strstr (a->head, "Retry-After:"));
  }

  restart_with (&env, BASE_CONFIG "[server]\nmax-connections-per-address=3\n");
  {
    g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func (g_object_unref);
    g_autoptr(Answer) a = NULL;
    g_autoptr(Answer) b = NULL;

    for (guint i = 0; i < 3; i++)
      g_ptr_array_add (open, connect_tls (&env));
    a = request (&env, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_error_answer (a, 429, "rate_limited");
    g_assert_nonnull (strstr (a->head, "Retry-After:"));
    /* The three still work. */
    send_text (open->pdata[0], "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
    b = read_answer (open->pdata[0]);
    g_assert_cmpuint (b->status, ==, 200);
  }
  restart_with (&env, BASE_CONFIG "[server]\nmax-connections=3\n");
  {
    g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func (g_object_unref);
    g_autoptr(Answer) a = NULL;

    for (guint i = 0; i < 3; i++)
      g_ptr_array_add (open, connect_tls (&env));
    a = request (&env, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_error_answer (a, 503, "unavailable");
  }
  assert_healthy (&env);
  env_teardown (&env);
}

/* ---- item 2: the descriptor limit ---- */

static void
test_nofile (void)
{
  Env env;
  g_autoptr(GPtrArray) sockets = g_ptr_array_new_with_free_func (g_object_unref);
  const char *old = g_getenv ("VD_SYNCD_WRAPPER");
  g_autofree char *saved = g_strdup (old);

  g_setenv ("VD_SYNCD_WRAPPER", "prlimit --nofile=256:256", TRUE);
  if (!env_setup (&env, "sqlite", BASE_CONFIG))
    return;
  if (saved != NULL)
    g_setenv ("VD_SYNCD_WRAPPER", saved, TRUE);
  else
    g_unsetenv ("VD_SYNCD_WRAPPER");

  /* 300 connections at once, past the daemon's 256 descriptors, then all closed. Each
   * makes its TLS handshake, so the daemon has accepted it (or refused it) before the
   * next: the original daemon stopped accepting at its limit, and the handshake waited
   * for ever. A refused one fails at once, which is the daemon's right. */
  for (guint i = 0; i < 300; i++)
    {
      g_autoptr(GError) error = NULL;
      GIOStream *c = vd_test_tls_connect (vd_test_syncd_get_port (env.syncd), READ_TIMEOUT_S,
                                          NULL, &error);

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        g_error ("connection %u: the daemon no longer accepts (%s); its log:\n%s", i,
                 error->message, daemon_log ());
      if (c != NULL)
        g_ptr_array_add (sockets, c);
    }
  g_test_message ("connections the daemon kept: %u of 300", sockets->len);
  g_ptr_array_set_size (sockets, 0);

  /* The listener still accepts: the next connections are answered. */
  for (guint i = 0; i < 3; i++)
    assert_healthy (&env);
  env_teardown (&env);
}

/* The listener's watch alone: the descriptor limit lowered under the running daemon
 * (its budget was set from the higher one), so accept() fails with EMFILE and libsoup
 * drops its listener. Once connections are closed, the daemon listens again. */
static void
test_listener_rearm (void)
{
  Env env;
  g_autoptr(GPtrArray) conns = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *nofile = NULL;
  int status = 0;

  if (!env_setup (&env, "sqlite", BASE_CONFIG))
    return;
  nofile = g_strdup_printf ("prlimit --pid %d --nofile=96:96", (int) vd_test_syncd_get_pid (env.syncd));
  g_spawn_command_line_sync (nofile, &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);

  /* TLS connections until one is no longer served: the daemon ran out of descriptors. */
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GError) connect_error = NULL;
      GIOStream *c = vd_test_tls_connect (vd_test_syncd_get_port (env.syncd), 3, NULL,
                                          &connect_error);

      if (c == NULL)
        break;
      g_ptr_array_add (conns, c);
    }
  g_test_message ("connections served before the limit: %u", conns->len);
  g_assert_cmpuint (conns->len, <, 200);
  g_ptr_array_set_size (conns, 0);

  assert_healthy (&env);
  env_teardown (&env);
}

/* ---- item 9: libsoup's own refusals, framing ---- */

static void
test_soup_errors (void)
{
  Env env;

  if (!env_setup (&env, "sqlite", BASE_CONFIG))
    return;

  {
    static const char nul_header[] = "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n";
    g_autoptr(GIOStream) s = connect_tls (&env);
    g_autoptr(Answer) a = NULL;

    send_all (s, nul_header, sizeof nul_header - 1);
    a = read_answer (s);
    assert_error_answer (a, 400, "bad_request");
  }
  {
    g_autoptr(Answer) a = request (&env, "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                                         "Transfer-Encoding: gzip\r\n\r\n");
    assert_error_answer (a, 501, "bad_request");
  }
  {
    g_autoptr(Answer) a = request (&env, "GET /v1/health HTTP/2.0\r\nHost: x\r\n\r\n");
    assert_error_answer (a, 505, "bad_request");
  }
  {
    g_autoptr(Answer) a = request (&env, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    g_assert_cmpuint (a->status, >=, 400);
    assert_error_answer (a, a->status, a->status == 404 ? "not_found" : "bad_request");
  }
  /* Both framings: refused, and the connection closed rather than kept for a next
   * request that a proxy would frame differently. */
  {
    g_autoptr(GIOStream) s = connect_tls (&env);
    g_autoptr(Answer) a = NULL;

    send_text (s, "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                  "Content-Type: application/json\r\nContent-Length: 5\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    a = read_answer (s);
    g_assert_cmpuint (a->status, ==, 400);
    g_assert_true (a->closed || connection_closed (s));
  }
  assert_healthy (&env);
  env_teardown (&env);
}

/* ---- item 6: TLS versions ---- */

static gboolean
s_client (Env        *env,
          const char *version)
{
  g_autofree char *connect = g_strdup_printf ("127.0.0.1:%u", vd_test_syncd_get_port (env->syncd));
  g_autoptr(GSubprocess) p = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  /* SECLEVEL=0 lets this OpenSSL offer the old versions at all. */
  p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                        | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error,
                        "openssl", "s_client", version, "-cipher", "DEFAULT@SECLEVEL=0",
                        "-connect", connect, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, "", NULL, &out, NULL, &error);
  g_assert_no_error (error);
  return g_subprocess_get_successful (p) && strstr (out, "Cipher is (NONE)") == NULL;
}

static void
test_tls_versions (void)
{
  Env env;
  g_autofree char *openssl = g_find_program_in_path ("openssl");

  if (openssl == NULL)
    {
      g_test_skip ("openssl is not installed");
      return;
    }
  g_unsetenv ("G_TLS_GNUTLS_PRIORITY");
  if (!env_setup (&env, "sqlite", BASE_CONFIG))
    return;
  g_assert_false (s_client (&env, "-tls1"));
  g_assert_false (s_client (&env, "-tls1_1"));
  g_assert_true (s_client (&env, "-tls1_2"));
  g_assert_true (s_client (&env, "-tls1_3"));
  env_teardown (&env);
}

/* ---- item 3: streams ---- */

/* Reads up to the end of an answer's head (a 101 has no body to frame it). */
static char *
read_head (GIOStream *stream)
{
  g_autoptr(GString) head = g_string_new (NULL);

  while (!g_str_has_suffix (head->str, "\r\n\r\n"))
    {
      g_autoptr(GError) error = NULL;
      char c;
      gssize n = g_input_stream_read (g_io_stream_get_input_stream (stream), &c, 1, NULL, &error);

      if (n <= 0)
        g_error ("the stream's handshake got no answer: %s; the daemon's log:\n%s",
                 error ? error->message : "closed", daemon_log ());
      g_string_append_c (head, c);
    }
  return g_string_free (g_steal_pointer (&head), FALSE);
}

static GIOStream *
open_stream (Env *env)
{
  GIOStream *stream = connect_tls (env);
  g_autofree char *text = NULL;
  g_autofree char *head = NULL;

  text = g_strdup_printf ("GET /v1/tenants/%s/sync/stream HTTP/1.1\r\nHost: x\r\n"
                          "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
                          env->clinic_a, env->session_token);
  send_text (stream, text);
  head = read_head (stream);
  g_assert_true (g_str_has_prefix (head, "HTTP/1.1 101"));
  return stream;
}

/* A client frame (masked, as RFC 6455 requires). FALSE when the write failed: the server
 * closed the connection. */
static gboolean
send_frame (GIOStream  *stream,
            gboolean    fin,
            guint8      opcode,
            const char *payload,
            gsize       len)
{
  g_autoptr(GByteArray) frame = g_byte_array_new ();
  static const guint8 mask[4] = { 0x12, 0x34, 0x56, 0x78 };
  guint8 b[2] = { (fin ? 0x80 : 0) | opcode, 0x80 };

  if (len < 126)
    {
      b[1] |= len;
      g_byte_array_append (frame, b, 2);
    }
  else
    {
      guint8 ext[2] = { (len >> 8) & 0xff, len & 0xff };

      g_assert_cmpuint (len, <, 65536);
      b[1] |= 126;
      g_byte_array_append (frame, b, 2);
      g_byte_array_append (frame, ext, 2);
    }
  g_byte_array_append (frame, mask, 4);
  for (gsize i = 0; i < len; i++)
    {
      guint8 c = payload[i] ^ mask[i % 4];
      g_byte_array_append (frame, &c, 1);
    }
  return g_output_stream_write_all (g_io_stream_get_output_stream (stream), frame->data,
                                    frame->len, NULL, NULL, NULL);
}

static gboolean
read_exact (GIOStream *stream,
            guint8    *buf,
            gsize      len)
{
  g_autoptr(GError) error = NULL;
  gsize got = 0;

  if (g_input_stream_read_all (g_io_stream_get_input_stream (stream), buf, len, &got, NULL,
                               &error) && got == len)
    return TRUE;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    g_error ("the server neither sent a frame nor closed the stream within %d s",
             READ_TIMEOUT_S);
  return FALSE;
}

/* The next server frame: its opcode, or -1 when the connection ended. */
static int
read_frame (GIOStream  *stream,
            char      **out_payload)
{
  guint8 h[2];
  guint64 len;
  g_autofree char *payload = NULL;

  if (!read_exact (stream, h, 2))
    return -1;
  len = h[1] & 0x7f;
  if (len == 126)
    {
      guint8 ext[2];

      if (!read_exact (stream, ext, 2))
        return -1;
      len = (ext[0] << 8) | ext[1];
    }
  g_assert_cmpuint (len, <, 126 * 1024);
  payload = g_malloc0 (len + 1);
  if (len > 0 && !read_exact (stream, (guint8 *) payload, len))
    return -1;
  if (out_payload != NULL)
    *out_payload = g_steal_pointer (&payload);
  return h[0] & 0x0f;
}

/* Reads frames until the server closes the stream; the number of text frames before. */
static guint
frames_until_closed (GIOStream *stream,
                     guint     *out_close_code)
{
  guint texts = 0;

  *out_close_code = 0;
  for (;;)
    {
      g_autofree char *payload = NULL;
      int opcode = read_frame (stream, &payload);

      if (opcode < 0)
        return texts;
      if (opcode == 0x8)
        {
          *out_close_code = ((guint8) payload[0] << 8) | (guint8) payload[1];
          return texts;
        }
      if (opcode == 0x1)
        texts++;
    }
}

static void
test_streams (gconstpointer data)
{
  Env env;
  char chunk[1000];
  guint code;

  if (!env_setup (&env, data, BASE_CONFIG))
    return;
  env.session_token = login_token (&env, "fd-a");
  memset (chunk, 'x', sizeof chunk);

  /* A message in FIN=0 frames of 1000 bytes, up to 2 MB: the server closes the stream
   * once the message passes its 4 KiB, long before the end. */
  {
    g_autoptr(GIOStream) s = open_stream (&env);
    guint sent = 0;

    g_assert_cmpint (read_frame (s, NULL), ==, 0x1);   /* the first cursor */
    if (send_frame (s, FALSE, 0x1, chunk, sizeof chunk))
      for (sent = 1; sent < 2000; sent++)
        if (!send_frame (s, FALSE, 0x0, chunk, sizeof chunk))
          break;
    g_test_message ("fragments sent before the server closed: %u", sent);
    frames_until_closed (s, &code);
  }
  assert_healthy (&env);

  /* Pings as messages, 20 at once: a handful are answered, then the stream is closed. */
  {
    g_autoptr(GIOStream) s = open_stream (&env);
    guint pongs;

    g_assert_cmpint (read_frame (s, NULL), ==, 0x1);
    for (guint i = 0; i < 20; i++)
      if (!send_frame (s, TRUE, 0x1, "{\"type\":\"ping\"}", strlen ("{\"type\":\"ping\"}")))
        break;
    pongs = frames_until_closed (s, &code);
    g_test_message ("pongs before the close: %u (code %u)", pongs, code);
    g_assert_cmpuint (pongs, <=, 6);
    g_assert_cmpuint (code, ==, 1008);
  }
  /* WebSocket's own pings, which libsoup answers by itself: the same budget. */
  {
    g_autoptr(GIOStream) s = open_stream (&env);
    guint pongs = 0;

    g_assert_cmpint (read_frame (s, NULL), ==, 0x1);
    for (guint i = 0; i < 20; i++)
      if (!send_frame (s, TRUE, 0x9, "p", 1))
        break;
    for (;;)
      {
        int opcode = read_frame (s, NULL);

        if (opcode < 0 || opcode == 0x8)
          break;
        if (opcode == 0xA)
          pongs++;
      }
    g_test_message ("control pongs before the close: %u", pongs);
    g_assert_cmpuint (pongs, <=, 6);
  }

  /* A third stream of the same session: the oldest is closed (1008). */
  {
    g_autoptr(GIOStream) first = open_stream (&env);
    g_autoptr(GIOStream) second = NULL;
    g_autoptr(GIOStream) third = NULL;

    g_assert_cmpint (read_frame (first, NULL), ==, 0x1);
    second = open_stream (&env);
    third = open_stream (&env);
    frames_until_closed (first, &code);
    g_assert_cmpuint (code, ==, 1008);
  }
  assert_healthy (&env);
  env_teardown (&env);
}

int
main (int    argc,
      char **argv)
{
  static const char * const backends[] = { "sqlite", "postgresql" };

  g_test_init (&argc, &argv, NULL);

  for (guint b = 0; b < G_N_ELEMENTS (backends); b++)
    {
      g_autofree char *p1 = g_strdup_printf ("/hardening/%s/before-body", backends[b]);
      g_autofree char *p2 = g_strdup_printf ("/hardening/%s/caps", backends[b]);
      g_autofree char *p3 = g_strdup_printf ("/hardening/%s/streams", backends[b]);

      g_test_add_data_func (p1, backends[b], test_before_body);
      g_test_add_data_func (p2, backends[b], test_caps);
      g_test_add_data_func (p3, backends[b], test_streams);
    }
  g_test_add_func ("/hardening/sqlite/nofile", test_nofile);
  g_test_add_func ("/hardening/sqlite/listener-rearm", test_listener_rearm);
  g_test_add_func ("/hardening/sqlite/soup-errors", test_soup_errors);
  g_test_add_func ("/hardening/sqlite/tls-versions", test_tls_versions);
  return g_test_run ();
}
