/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-sync.c — the sync engine and sign-in against a real vetdesk-syncd over HTTPS:
 * working offline and reconnecting, two desks converging, token refresh and revocation,
 * a desk whose clock is wrong, the server's rate limit, the certificate checks, and the
 * live stream that brings another desk's change within a second. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "vd-store.h"
#include "vd-store-models.h"
#include "vd-sync-engine.h"
#include "vd-session.h"
#include "vd-id.h"
#include "vd-time.h"
#include "vd-test-syncd.h"

#define PASSWORD "correct horse battery"

#define OPEN_LIMITS \
  "[limits]\n" \
  "address-rate=0\n" \
  "clinic-rate=0\n" \
  "login-rate=0\n" \
  "lockout-failures=3\n" \
  "lockout-seconds=600\n"

/* ---- A TCP relay in front of the daemon: it can refuse connections (the network is
 * down) and follow the daemon to a new port after a restart. ---- */

typedef struct
{
  GSocketService *service;
  guint16         port;
  guint16         target;
} Relay;

static void
relay_connected_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GSocketConnection) downstream = user_data;
  g_autoptr(GSocketConnection) upstream = NULL;
  g_autoptr(GError) error = NULL;

  upstream = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (upstream == NULL)
    {
      g_test_message ("relay: %s", error->message);
      g_io_stream_close (G_IO_STREAM (downstream), NULL, NULL);
      return;
    }
  g_io_stream_splice_async (G_IO_STREAM (downstream), G_IO_STREAM (upstream),
                            G_IO_STREAM_SPLICE_CLOSE_STREAM1 | G_IO_STREAM_SPLICE_CLOSE_STREAM2 |
                            G_IO_STREAM_SPLICE_WAIT_FOR_BOTH,
                            G_PRIORITY_DEFAULT, NULL, NULL, NULL);
}

static gboolean
relay_incoming_cb (GSocketService    *service,
                   GSocketConnection *connection,
                   GObject           *source,
                   Relay             *relay)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();

  g_socket_client_connect_to_host_async (client, "127.0.0.1", relay->target, NULL,
                                         relay_connected_cb, g_object_ref (connection));
  return TRUE;
}

static void
relay_up (Relay   *relay,
          guint16  target)
{
  g_autoptr(GError) error = NULL;

  relay->target = target;
  if (relay->service != NULL)
    return;
  relay->service = g_socket_service_new ();
  if (relay->port == 0)
    relay->port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (relay->service), NULL, &error);
  else
    g_socket_listener_add_inet_port (G_SOCKET_LISTENER (relay->service), relay->port, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (relay->service, "incoming", G_CALLBACK (relay_incoming_cb), relay);
  g_socket_service_start (relay->service);
}

/* Connections are refused from now on. */
static void
relay_down (Relay *relay)
{
  if (relay->service == NULL)
    return;
  g_socket_service_stop (relay->service);
  g_socket_listener_close (G_SOCKET_LISTENER (relay->service));
  g_clear_object (&relay->service);
}

static char *
relay_url (Relay *relay)
{
  return g_strdup_printf ("https://127.0.0.1:%u", relay->port);
}

/* ---- The daemon with one clinic and its users ---- */

typedef struct
{
  VdTestSyncd *syncd;
  char        *tenant;
  char        *dir;
  char        *url;
  char        *fingerprint;
} Env;

static char *
cli (Env        *env,
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

  out = vd_test_syncd_run (env->syncd, stdin_text, &error,
                           args->pdata[0], args->pdata[1], args->pdata[2], args->pdata[3],
                           args->pdata[4], args->pdata[5], args->pdata[6], args->pdata[7],
                           args->pdata[8], args->pdata[9], args->pdata[10], NULL);
  g_assert_no_error (error);
  return out;
}

static Env *
env_new (const char *config)
{
  Env *env = g_new0 (Env, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *company = NULL;
  const char * const users[] = { "ana", "bruno", "carla", "locky", NULL };

  env->syncd = vd_test_syncd_new (VETDESK_SYNCD, NULL);
  vd_test_syncd_set_config (env->syncd, config != NULL ? config : OPEN_LIMITS);
  g_free (cli (env, NULL, "migrate", NULL));
  company = cli (env, NULL, "add-company", "Grupo Norte", NULL);
  env->tenant = cli (env, NULL, "add-tenant", "--slug", "norte", "--name",
                     "Hospital Veterinario Norte", "--timezone", "Europe/Madrid",
                     "--currency", "EUR", "--company", company, NULL);
  g_assert_true (vd_uuid_is_valid (env->tenant));
  for (guint i = 0; users[i] != NULL; i++)
    g_free (cli (env, PASSWORD "\n", "add-user", "--username", users[i], "--display-name",
                 users[i], "--clinic", "norte:front_desk", NULL));
  g_free (cli (env, PASSWORD "\n", "add-user", "--username", "nobody", "--display-name",
               "Nobody", NULL));

  if (!vd_test_syncd_start (env->syncd, &error))
    g_error ("%s", error->message);
  env->url = g_strdup (vd_test_syncd_get_url (env->syncd));
  env->fingerprint = g_strdup (vd_test_syncd_get_fingerprint (env->syncd));
  env->dir = g_dir_make_tmp ("vd-test-sync-XXXXXX", &error);
  g_assert_no_error (error);
  return env;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        remove_tree (child);
      }
  g_remove (path);
}

static void
env_free (Env *env)
{
  vd_test_syncd_free (env->syncd);
  remove_tree (env->dir);
  g_free (env->dir);
  g_free (env->tenant);
  g_free (env->url);
  g_free (env->fingerprint);
  g_free (env);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Env, env_free)

/* ---- Main loop helpers ---- */

typedef struct
{
  gboolean      done;
  GAsyncResult *result;
} Wait;

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
  wait->done = TRUE;
}

static void
wait_run (Wait *wait)
{
  while (!wait->done)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
timeout_flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates until the engine is in state, or timeout_s pass. */
static gboolean
wait_for_state (VdSyncEngine *engine,
                VdSyncState   state,
                guint         timeout_s)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (timeout_s, timeout_flag_cb, &timed_out);

  while (vd_sync_engine_get_state (engine) != state && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return vd_sync_engine_get_state (engine) == state;
}

static void
spin (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, timeout_flag_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* ---- Desks ---- */

typedef struct
{
  VdStore      *store;
  VdSyncEngine *engine;
  char         *username;
  char         *access;
  char         *refresh;
  guint         rotations;
} Desk;

static VdLoginResult *
login (const char  *url,
       const char  *fingerprint,
       const char  *username,
       const char  *password,
       const char  *device_id,
       GError     **error)
{
  Wait wait = { 0 };
  VdLoginResult *result;

  vd_session_login_async (url, fingerprint, username, password, device_id,
                          vd_test_device_secret (device_id), "test desk", NULL,
                          wait_cb, &wait);
  wait_run (&wait);
  result = vd_session_login_finish (wait.result, error);
  g_object_unref (wait.result);
  if (result != NULL && result->device_secret != NULL)
    vd_test_device_secret_set (device_id, result->device_secret);
  return result;
}

static void
refresh_changed_cb (VdSyncEngine *engine,
                    const char   *token,
                    Desk         *desk)
{
  g_assert_cmpstr (token, !=, desk->refresh);
  g_free (desk->refresh);
  desk->refresh = g_strdup (token);
  desk->rotations++;
}

static Desk *
desk_new (Env        *env,
          const char *name,
          const char *url,
          const char *username)
{
  Desk *desk = g_new0 (Desk, 1);
  g_autofree char *path = g_strdup_printf ("%s/%s.db", env->dir, name);
  g_autoptr(VdLoginResult) result = NULL;
  g_autoptr(GError) error = NULL;
  VdClinicInfo *clinic;

  desk->store = vd_store_open (path, env->tenant, &error);
  g_assert_no_error (error);
  result = login (url, env->fingerprint, username, PASSWORD,
                  vd_store_get_device_id (desk->store), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (result->clinics->len, ==, 1);
  clinic = g_ptr_array_index (result->clinics, 0);
  g_assert_cmpstr (clinic->tenant_id, ==, env->tenant);
  g_assert_cmpstr (clinic->timezone, ==, "Europe/Madrid");
  g_assert_true (vd_store_set_clinic_info (desk->store, clinic, &error));
  g_assert_no_error (error);

  desk->username = g_strdup (username);
  desk->access = g_strdup (result->access_token);
  desk->refresh = g_strdup (result->refresh_token);
  desk->engine = vd_sync_engine_new (desk->store, url, env->fingerprint);
  vd_sync_engine_set_tokens (desk->engine, desk->access, desk->refresh);
  g_signal_connect (desk->engine, "refresh-token-changed", G_CALLBACK (refresh_changed_cb), desk);
  return desk;
}

static void
desk_free (Desk *desk)
{
  vd_sync_engine_stop (desk->engine);
  g_clear_object (&desk->engine);
  g_clear_object (&desk->store);
  g_free (desk->username);
  g_free (desk->access);
  g_free (desk->refresh);
  g_free (desk);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Desk, desk_free)

static gboolean
desk_sync (Desk    *desk,
           GError **error)
{
  Wait wait = { 0 };
  gboolean ok;

  vd_sync_engine_sync_async (desk->engine, NULL, wait_cb, &wait);
  wait_run (&wait);
  ok = vd_sync_engine_sync_finish (desk->engine, wait.result, error);
  g_object_unref (wait.result);
  return ok;
}

static void
desk_sync_ok (Desk *desk)
{
  g_autoptr(GError) error = NULL;

  if (!desk_sync (desk, &error))
    g_error ("sync of %s failed: %s (%s)", desk->username, error->message,
             vd_sync_engine_get_error_message (desk->engine));
  g_assert_cmpint (vd_sync_engine_get_state (desk->engine), ==, VD_SYNC_UP_TO_DATE);
}

static char *
desk_digest (Desk *desk)
{
  g_autoptr(GError) error = NULL;
  char *digest = vd_cell_store_digest (vd_store_get_cell_store (desk->store), &error);

  g_assert_no_error (error);
  return digest;
}

static void
set_text (VdChange   *change,
          const char *column,
          const char *text)
{
  VdValue value = { VD_VALUE_NULL };

  if (text != NULL)
    vd_value_set_text (&value, text);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static char *
commit (Desk       *desk,
        const char *table,
        const char *id,
        ...)
{
  g_autoptr(VdChange) change = vd_store_new_change (desk->store, table, id);
  g_autoptr(GError) error = NULL;
  const char *column;
  va_list ap;

  va_start (ap, id);
  while ((column = va_arg (ap, const char *)) != NULL)
    set_text (change, column, va_arg (ap, const char *));
  va_end (ap);
  vd_store_commit (desk->store, change, &error);
  g_assert_no_error (error);
  return g_strdup (change->id);
}

static char *
row_text (Desk       *desk,
          const char *table_name,
          const char *id,
          const char *column)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  VdValue *values = g_newa (VdValue, table->n_columns);
  char *text = NULL;

  memset (values, 0, table->n_columns * sizeof (VdValue));
  if (vd_store_get_row (desk->store, table, id, values, NULL))
    {
      const VdValue *v = &values[vd_table_lookup_column (table, column)->index];

      text = v->kind == VD_VALUE_TEXT ? g_strdup (v->s) : NULL;
    }
  for (guint c = 0; c < table->n_columns; c++)
    vd_value_clear (&values[c]);
  return text;
}

static gint64
count_rows (Desk       *desk,
            const char *table)
{
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s", table);
  sqlite3_stmt *stmt = NULL;
  gint64 n;

  g_assert_cmpint (sqlite3_prepare_v2 (vd_store_get_db (desk->store), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return n;
}

/* A raw POST, as another program would make it; returns the status. */
static guint
raw_post (Env        *env,
          const char *path,
          const char *access_token,
          const char *json)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (env->url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (SOUP_METHOD_POST, url);
  g_autoptr(GBytes) body = g_bytes_new (json, strlen (json));
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;

  g_signal_connect (msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                    env->fingerprint);
  if (access_token != NULL)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", access_token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", bearer);
    }
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  answer = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  return soup_message_get_status (msg);
}

/* ---- Tests ---- */

static void
test_offline_then_reconnect (void)
{
  g_autoptr(Env) env = env_new (NULL);
  g_autoptr(Desk) desk = NULL;
  g_autoptr(Desk) other = NULL;
  g_autofree char *url = NULL;
  g_autofree char *client = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  Relay relay = { 0 };

  relay_up (&relay, vd_test_syncd_get_port (env->syncd));
  url = relay_url (&relay);
  desk = desk_new (env, "front", url, "ana");

  /* The connection drops and the daemon goes away; the desk keeps working. */
  relay_down (&relay);
  g_assert_true (vd_test_syncd_stop (env->syncd, &error));
  g_assert_no_error (error);

  client = commit (desk, "clients", NULL, "first_name", "Ana", "last_name", "García", NULL);
  for (int i = 0; i < 25; i++)
    {
      g_autofree char *name = g_strdup_printf ("Mascota %d", i);

      g_ptr_array_add (ids, commit (desk, "pets", NULL, "client_id", client, "name", name,
                                    "species", "cat", "sex", "unknown", NULL));
    }
  g_assert_false (desk_sync (desk, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (vd_sync_engine_get_state (desk->engine), ==, VD_SYNC_OFFLINE);
  g_assert_cmpstr (vd_sync_engine_get_error_message (desk->engine), ==,
                   "Working offline — changes are kept on this computer and will be sent when the connection returns");
  g_assert_cmpuint (vd_sync_engine_get_pending (desk->engine), ==, 26);

  /* Running on its own, the engine keeps retrying with backoff. */
  vd_sync_engine_start (desk->engine);
  spin (1500);
  g_assert_cmpint (vd_sync_engine_get_state (desk->engine), ==, VD_SYNC_OFFLINE);
  a = commit (desk, "clients", client, "phone", "+34 600 111 222", NULL);

  /* The daemon is back (on a new port, behind the same address): no one presses
   * anything, and everything goes out. */
  {
    /* vd_test_syncd_start reads the first "listening on" line of stdout.log, which
     * GSubprocessLauncher does not truncate: without this it returns the old port. */
    g_autofree char *log = g_build_filename (vd_test_syncd_get_data_dir (env->syncd), "stdout.log", NULL);

    g_remove (log);
  }
  g_assert_true (vd_test_syncd_start (env->syncd, &error));
  g_assert_no_error (error);
  relay_up (&relay, vd_test_syncd_get_port (env->syncd));
  g_test_message ("daemon back on %s", vd_test_syncd_get_url (env->syncd));
  g_free (env->url);
  env->url = g_strdup (vd_test_syncd_get_url (env->syncd));
  if (!wait_for_state (desk->engine, VD_SYNC_UP_TO_DATE, 90))
    g_error ("not up to date after the daemon came back: state %d, %s",
             vd_sync_engine_get_state (desk->engine),
             vd_sync_engine_get_error_message (desk->engine));
  g_assert_cmpuint (vd_sync_engine_get_pending (desk->engine), ==, 0);
  g_assert_null (vd_sync_engine_get_error_message (desk->engine));
  g_assert_cmpint (vd_sync_engine_get_last_sync (desk->engine), >, 0);

  /* A second desk gets it all. */
  other = desk_new (env, "back", env->url, "bruno");
  desk_sync_ok (other);
  g_assert_cmpint (count_rows (other, "pets"), ==, 25);
  b = row_text (other, "clients", client, "phone");
  g_assert_cmpstr (b, ==, "+34 600 111 222");
  {
    g_autofree char *d1 = desk_digest (desk);
    g_autofree char *d2 = desk_digest (other);

    g_assert_cmpstr (d1, ==, d2);
  }
  relay_down (&relay);
}

static void
progress_cb (VdSyncEngine *engine,
             GParamSpec   *pspec,
             GArray       *seen)
{
  double p = vd_sync_engine_get_progress (engine);

  g_array_append_val (seen, p);
}

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  guint      *calls)
{
  (*calls)++;
}

static void
test_converge (void)
{
  g_autoptr(Env) env = env_new (NULL);
  g_autoptr(Desk) a = desk_new (env, "a", env->url, "ana");
  g_autoptr(Desk) b = desk_new (env, "b", env->url, "bruno");
  g_autoptr(Desk) late = NULL;
  g_autoptr(VdAppointmentList) day_a = NULL;
  g_autoptr(GArray) progress = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *staff = NULL;
  g_autofree char *client = NULL;
  g_autofree char *pet = NULL;
  g_autofree char *appt = NULL;
  g_autofree char *status_a = NULL;
  g_autofree char *status_b = NULL;
  g_autofree char *room_a = NULL;
  g_autofree char *notes_b = NULL;
  guint calls = 0;
  gint64 start, end;

  staff = commit (a, "staff", NULL, "name", "Dra. López", "role", "veterinarian", NULL);
  client = commit (a, "clients", NULL, "first_name", "Ana", "last_name", "García", NULL);
  pet = commit (a, "pets", NULL, "client_id", client, "name", "Luna", "species", "dog",
                "sex", "female", NULL);
  appt = commit (a, "appointments", NULL, "pet_id", pet, "client_id", client, "staff_id", staff,
                 "kind", "consultation", "status", "scheduled",
                 "starts_at", "2024-05-02T08:00:00Z", "ends_at", "2024-05-02T08:30:00Z", NULL);
  desk_sync_ok (a);
  desk_sync_ok (b);
  {
    g_autofree char *seen = row_text (b, "appointments", appt, "status");

    g_assert_cmpstr (seen, ==, "scheduled");
  }

  vd_time_day_bounds (vd_store_get_time_zone (a->store), 2024, 5, 2, &start, &end);
  day_a = vd_appointment_list_new (a->store, start, end, NULL);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (day_a)), ==, 1);
  g_signal_connect (day_a, "items-changed", G_CALLBACK (items_changed_cb), &calls);

  /* Both desks change the same appointment while apart. */
  g_free (commit (a, "appointments", appt, "status", "confirmed", "room", "1", NULL));
  /* "Later" must be later on the clock: in the same millisecond the two hlcs can be equal
   * and the site decides, which is right for LWW but not what this test asserts. */
  g_usleep (5 * 1000);
  g_free (commit (b, "appointments", appt, "status", "checked_in", "notes", "Came early", NULL));
  g_free (commit (b, "clients", client, "phone", "+34 600 000 001", NULL));
  calls = 0;

  desk_sync_ok (a);
  desk_sync_ok (b);
  desk_sync_ok (a);
  spin (50);
  /* B's edit reached A's schedule without anyone asking. */
  g_assert_cmpuint (calls, >, 0);

  {
    g_autofree char *da = desk_digest (a);
    g_autofree char *db = desk_digest (b);

    g_assert_cmpstr (da, ==, db);
  }
  status_a = row_text (a, "appointments", appt, "status");
  status_b = row_text (b, "appointments", appt, "status");
  g_assert_cmpstr (status_a, ==, status_b);
  /* B wrote last: its status wins; cells nobody fought over keep both edits. */
  g_assert_cmpstr (status_a, ==, "checked_in");
  room_a = row_text (b, "appointments", appt, "room");
  notes_b = row_text (a, "appointments", appt, "notes");
  g_assert_cmpstr (room_a, ==, "1");
  g_assert_cmpstr (notes_b, ==, "Came early");

  /* A bigger clinic: 1,200 rows pushed in batches of 500, and a new desk's first sync
   * pulls them in pages with its progress going up to 1. */
  for (int i = 0; i < 1200; i++)
    {
      g_autofree char *name = g_strdup_printf ("Cliente %d", i);

      g_free (commit (a, "clients", NULL, "first_name", name, "last_name", "Test", NULL));
    }
  desk_sync_ok (a);
  g_assert_cmpuint (vd_store_count_pending (a->store), ==, 0);

  late = desk_new (env, "late", env->url, "carla");
  g_signal_connect (late->engine, "notify::progress", G_CALLBACK (progress_cb), progress);
  desk_sync_ok (late);
  g_assert_cmpfloat (vd_sync_engine_get_progress (late->engine), ==, 1.0);
  g_assert_cmpuint (progress->len, >=, 2);
  for (guint i = 1; i < progress->len; i++)
    g_assert_cmpfloat (g_array_index (progress, double, i), >=, g_array_index (progress, double, i - 1));
  {
    guint pulled, total;

    g_object_get (late->engine, "pulled", &pulled, "total", &total, NULL);
    g_assert_cmpuint (pulled, >=, 1204);
    g_assert_cmpuint (total, ==, pulled);
  }
  desk_sync_ok (b);
  {
    g_autofree char *da = desk_digest (a);
    g_autofree char *db = desk_digest (b);
    g_autofree char *dl = desk_digest (late);

    g_assert_cmpstr (da, ==, db);
    g_assert_cmpstr (da, ==, dl);
  }
}

/* A bootstrap of 12,500 rows: pages of 1,000 then 5,000 (the protocol's largest), the
 * next one fetched while the last is applied, the cursor only after applied pages, and
 * one ::changed per pulled page, not per row. */
static void
pulled_cb (VdSyncEngine *engine,
           GParamSpec   *pspec,
           GArray       *seen)
{
  guint pulled = 0;

  g_object_get (engine, "pulled", &pulled, NULL);
  g_array_append_val (seen, pulled);
}

static void
page_changed_cb (VdStore    *store,
                 const char *table,
                 const char *row_id,
                 guint      *n_pages)
{
  g_assert_cmpstr (table, ==, "clients");
  g_assert_null (row_id);
  (*n_pages)++;
}

static void
test_bootstrap_pages (void)
{
  g_autoptr(Env) env = env_new (NULL);
  g_autoptr(Desk) a = desk_new (env, "a", env->url, "ana");
  g_autoptr(Desk) late = NULL;
  g_autoptr(GArray) pulled = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/push", env->tenant);
  g_autofree char *da = NULL;
  g_autofree char *dl = NULL;
  gint64 now_ms = g_get_real_time () / 1000;
  static const guint expect[] = { 1000, 3000, 5000, 7000, 9000, 11000, 12500 };
  guint n_pages = 0;
  guint n = 0;

  /* Pushed as another program would, in the largest batches, so the test stays quick. */
  for (gint64 batch = 1; n < 12500; batch++)
    {
      g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
      g_autofree char *body = NULL;

      for (guint i = 0; i < 5000 && n < 12500; i++, n++)
        {
          g_autofree char *id = vd_uuid_new ();
          g_autofree char *name = g_strdup_printf ("Cliente %u", n);
          VdChange *change = vd_change_new (vd_schema_lookup_table ("clients"), id,
                                            vd_hlc_make (now_ms, n),
                                            vd_store_get_device_id (a->store));

          set_text (change, "first_name", name);
          set_text (change, "last_name", "Arranque");
          g_ptr_array_add (changes, change);
        }
      body = vd_push_request_encode (vd_store_get_device_id (a->store), batch, changes, NULL);
      g_assert_cmpuint (raw_post (env, path, a->access, body), ==, 200);
    }

  late = desk_new (env, "late", env->url, "carla");
  g_signal_connect (late->engine, "notify::pulled", G_CALLBACK (pulled_cb), pulled);
  g_signal_connect (late->store, "changed", G_CALLBACK (page_changed_cb), &n_pages);
  desk_sync_ok (late);
  spin (50);

  g_assert_cmpint (count_rows (late, "clients"), ==, 12500);
  g_assert_cmpuint (pulled->len, ==, G_N_ELEMENTS (expect));
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    g_assert_cmpuint (g_array_index (pulled, guint, i), ==, expect[i]);
  g_assert_cmpuint (n_pages, ==, G_N_ELEMENTS (expect));
  g_assert_cmpfloat (vd_sync_engine_get_progress (late->engine), ==, 1.0);

  /* The first desk pulls the same log: same data, same cursor. */
  desk_sync_ok (a);
  g_assert_cmpint (vd_store_get_cursor (late->store), ==, vd_store_get_cursor (a->store));
  g_assert_cmpint (vd_store_get_cursor (late->store), >=, 12500);
  da = desk_digest (a);
  dl = desk_digest (late);
  g_assert_cmpstr (da, ==, dl);

  /* Nothing more: the next round is a single empty page. */
  g_array_set_size (pulled, 0);
  desk_sync_ok (late);
  g_assert_cmpint (count_rows (late, "clients"), ==, 12500);
}

static void
test_token_refresh (void)
{
  g_autoptr(Env) env = env_new (NULL);
  g_autoptr(Desk) desk = desk_new (env, "front", env->url, "ana");
  g_autofree char *first_refresh = g_strdup (desk->refresh);
  g_autofree char *id = NULL;

  /* The access token has expired (the daemon no longer knows it): one refresh, then
   * the sync goes on. */
  vd_sync_engine_set_tokens (desk->engine, "expired-access-token", desk->refresh);
  id = commit (desk, "clients", NULL, "first_name", "Ana", "last_name", "García", NULL);
  desk_sync_ok (desk);
  g_assert_cmpuint (desk->rotations, ==, 1);
  g_assert_cmpstr (desk->refresh, !=, first_refresh);
  g_assert_cmpuint (vd_store_count_pending (desk->store), ==, 0);

  /* No access token at all (the app just started): a refresh first. */
  vd_sync_engine_set_tokens (desk->engine, NULL, desk->refresh);
  g_free (commit (desk, "clients", id, "phone", "+34 600 000 002", NULL));
  desk_sync_ok (desk);
  g_assert_cmpuint (desk->rotations, ==, 2);
  g_assert_cmpuint (vd_store_count_pending (desk->store), ==, 0);

  /* The first token was spent: replaying it is refused. */
  {
    g_autofree char *json = g_strdup_printf ("{\"refresh_token\":\"%s\"}", first_refresh);

    g_assert_cmpuint (raw_post (env, "/v1/auth/refresh", NULL, json), ==, 401);
  }
}

static void
test_revoked (void)
{
  g_autoptr(Env) env = env_new (NULL);
  g_autoptr(Desk) desk = desk_new (env, "front", env->url, "ana");
  g_autoptr(VdLoginResult) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *after = NULL;

  id = commit (desk, "clients", NULL, "first_name", "Ana", "last_name", "García", NULL);
  desk_sync_ok (desk);

  /* An administrator ends the session (here: the session signs out elsewhere). */
  g_assert_cmpuint (raw_post (env, "/v1/auth/logout", desk->access, "{}"), ==, 204);

  g_free (commit (desk, "clients", id, "notes", "written after the session ended", NULL));
  g_free (commit (desk, "clients", NULL, "first_name", "Bruno", "last_name", "Díaz", NULL));
  digest = desk_digest (desk);

  g_assert_false (desk_sync (desk, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (vd_sync_engine_get_state (desk->engine), ==, VD_SYNC_NEEDS_SIGN_IN);
  g_assert_nonnull (vd_sync_engine_get_error_message (desk->engine));
  /* Nothing on this computer was touched. */
  g_assert_cmpuint (vd_store_count_pending (desk->store), ==, 2);
  after = desk_digest (desk);
  g_assert_cmpstr (after, ==, digest);

  /* The engine does not hammer the server while nobody can fix it. */
  vd_sync_engine_start (desk->engine);
  spin (2500);
  g_assert_cmpint (vd_sync_engine_get_state (desk->engine), ==, VD_SYNC_NEEDS_SIGN_IN);
  g_assert_cmpuint (vd_store_count_pending (desk->store), ==, 2);

  /* Signing in again sends everything. */
  again = login (env->url, env->fingerprint, "ana", PASSWORD, vd_store_get_device_id (desk->store), &error);
  g_assert_no_error (error);
  vd_sync_engine_set_tokens (desk->engine, again->access_token, again->refresh_token);
  g_assert_true (wait_for_state (desk->engine, VD_SYNC_UP_TO_DATE, 30));
  g_assert_cmpuint (vd_store_count_pending (desk->store), ==, 0);
}

static void
test_clock_skew (void)
{
  g_autoptr(Env) env = env_new (NULL);
  g_autoptr(Desk) wrong = NULL;
  g_autoptr(Desk) right = NULL;
  g_autofree char *id = NULL;
  g_autofree char *name = NULL;
  gint64 offset = 0;

  /* This computer's clock is ten minutes fast. */
  g_setenv ("VD_TEST_CLOCK_OFFSET_MS", "600000", TRUE);
  wrong = desk_new (env, "wrong", env->url, "ana");
  g_unsetenv ("VD_TEST_CLOCK_OFFSET_MS");
  right = desk_new (env, "right", env->url, "bruno");

  id = commit (wrong, "clients", NULL, "first_name", "Ana", "last_name", "García", NULL);
  for (int i = 0; i < 5; i++)
    g_free (commit (wrong, "clients", id, "notes", i % 2 ? "odd" : "even", NULL));

  desk_sync_ok (wrong);
  g_assert_cmpuint (vd_store_count_pending (wrong->store), ==, 0);
  g_object_get (wrong->engine, "clock-offset-ms", &offset, NULL);
  g_assert_cmpint (offset, <, -9 * 60 * 1000);
  g_assert_cmpint (offset, >, -11 * 60 * 1000);
  g_assert_nonnull (vd_sync_engine_get_error_message (wrong->engine));
  g_assert_nonnull (strstr (vd_sync_engine_get_error_message (wrong->engine), "10 minutes"));

  /* A later edit on the right clock wins over the fast desk's earlier one. */
  desk_sync_ok (right);
  g_free (commit (right, "clients", id, "first_name", "Anabel", NULL));
  desk_sync_ok (right);
  desk_sync_ok (wrong);
  name = row_text (wrong, "clients", id, "first_name");
  g_assert_cmpstr (name, ==, "Anabel");
  {
    g_autofree char *d1 = desk_digest (wrong);
    g_autofree char *d2 = desk_digest (right);

    g_assert_cmpstr (d1, ==, d2);
  }
}

static void
test_rate_limited (void)
{
  g_autoptr(Env) env = env_new ("[limits]\n"
                                "address-rate=0\n"
                                "login-rate=0\n"
                                "clinic-rate=0.25\n"
                                "clinic-burst=1\n");
  g_autoptr(Desk) desk = desk_new (env, "front", env->url, "ana");
  gint64 t0;
  double elapsed;

  g_free (commit (desk, "clients", NULL, "first_name", "Ana", "last_name", "García", NULL));
  spin (4100);
  /* The push takes the clinic's only token; the pull is answered 429 with
   * Retry-After 4, and the engine asks again then, not before. */
  t0 = g_get_monotonic_time ();
  desk_sync_ok (desk);
  elapsed = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("round with one 429: %.2f s", elapsed);
  g_assert_cmpfloat (elapsed, >=, 3.0);
  g_assert_cmpfloat (elapsed, <, 20.0);
  g_assert_cmpuint (vd_store_count_pending (desk->store), ==, 0);
}

static void
test_session (void)
{
  g_autoptr(Env) env = env_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(VdLoginResult) ok = NULL;
  g_autoptr(VdLoginResult) none = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *device = vd_uuid_new ();
  g_autofree char *closed_url = NULL;
  const char *wrong_fp = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                         "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
  gboolean trusted = TRUE;
  Wait wait = { 0 };

  /* Probe: the self-signed certificate's fingerprint, for the user to confirm. */
  vd_session_probe_async (env->url, NULL, wait_cb, &wait);
  wait_run (&wait);
  fingerprint = vd_session_probe_finish (wait.result, &trusted, &error);
  g_clear_object (&wait.result);
  g_assert_no_error (error);
  g_assert_cmpstr (fingerprint, ==, env->fingerprint);
  g_assert_false (trusted);

  ok = login (env->url, env->fingerprint, "ana", PASSWORD, device, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ok->username, ==, "ana");
  g_assert_cmpstr (ok->platform_role, ==, "none");
  g_assert_nonnull (ok->access_token);
  g_assert_nonnull (ok->refresh_token);
  g_assert_cmpuint (ok->clinics->len, ==, 1);
  g_assert_cmpstr (((VdClinicInfo *) g_ptr_array_index (ok->clinics, 0))->name, ==, "Hospital Veterinario Norte");
  g_assert_cmpstr (((VdClinicInfo *) g_ptr_array_index (ok->clinics, 0))->role, ==, "front_desk");

  g_assert_null (login (env->url, env->fingerprint, "ana", "not the password", device, &error));
  g_assert_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_BAD_CREDENTIALS);
  g_assert_cmpstr (error->message, ==, "The username or password is not right.");
  g_clear_error (&error);
  /* An unknown user gets the very same answer. */
  g_assert_null (login (env->url, env->fingerprint, "nosuchuser", "not the password", device, &error));
  g_assert_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_BAD_CREDENTIALS);
  g_clear_error (&error);

  /* Three failures in a row lock the account (this daemon's setting): the time is said. */
  for (int i = 0; i < 3; i++)
    {
      g_assert_null (login (env->url, env->fingerprint, "locky", "wrong password!", device, &error));
      g_clear_error (&error);
    }
  g_assert_null (login (env->url, env->fingerprint, "locky", PASSWORD, device, &error));
  g_assert_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_LOCKED);
  g_assert_true (g_regex_match_simple ("[0-2][0-9]:[0-5][0-9]", error->message, 0, 0));
  g_clear_error (&error);

  g_assert_null (login (env->url, env->fingerprint, "nobody", PASSWORD, device, &error));
  g_assert_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_NO_CLINIC);
  g_clear_error (&error);

  /* No pin and no CA: refused, with the fingerprint to confirm. */
  g_assert_null (login (env->url, NULL, "ana", PASSWORD, device, &error));
  g_assert_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_UNTRUSTED_CERT);
  g_assert_nonnull (strstr (error->message, env->fingerprint));
  g_clear_error (&error);

  /* A pin that does not match: the certificate changed. */
  g_assert_null (login (env->url, wrong_fp, "ana", PASSWORD, device, &error));
  g_assert_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_CERT_CHANGED);
  g_clear_error (&error);

  /* Nobody listening. */
  {
    Relay relay = { 0 };

    relay_up (&relay, 1);
    closed_url = relay_url (&relay);
    relay_down (&relay);
  }
  g_assert_null (login (closed_url, env->fingerprint, "ana", PASSWORD, device, &error));
  g_assert_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_UNREACHABLE);
  g_clear_error (&error);
}

static void
test_cert_changed (void)
{
  g_autoptr(Env) env = env_new (NULL);
  g_autoptr(Desk) desk = desk_new (env, "front", env->url, "ana");
  g_autoptr(VdSyncEngine) impostor = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  g_free (commit (desk, "clients", NULL, "first_name", "Ana", "last_name", "García", NULL));
  /* The desk pinned another certificate than the one this server now shows. */
  impostor = vd_sync_engine_new (desk->store, env->url,
                                 "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                                 "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF");
  vd_sync_engine_set_tokens (impostor, desk->access, desk->refresh);
  vd_sync_engine_sync_async (impostor, NULL, wait_cb, &wait);
  wait_run (&wait);
  g_assert_false (vd_sync_engine_sync_finish (impostor, wait.result, &error));
  g_clear_object (&wait.result);
  g_assert_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_CERT_CHANGED);
  g_assert_cmpint (vd_sync_engine_get_state (impostor), ==, VD_SYNC_ERROR);
  g_assert_nonnull (strstr (vd_sync_engine_get_error_message (impostor), "certificate has changed"));
  /* Nothing was sent. */
  g_assert_cmpuint (vd_store_count_pending (desk->store), ==, 1);
}

/* Iterates until the engine's stream is (or is no longer) connected, or timeout_s pass. */
static gboolean
wait_for_live (VdSyncEngine *engine,
               gboolean      live,
               guint         timeout_s)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (timeout_s, timeout_flag_cb, &timed_out);

  while (vd_sync_engine_get_live (engine) != live && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return vd_sync_engine_get_live (engine) == live;
}

/* Commits a client on from and returns the milliseconds until to's store has it (or
 * G_MAXINT64 after 30 s). */
static gint64
live_latency_ms (Desk       *from,
                 Desk       *to,
                 const char *name)
{
  g_autofree char *id = commit (from, "clients", NULL, "first_name", name, "last_name", "Live", NULL);
  gint64 start = g_get_monotonic_time ();

  while (g_get_monotonic_time () - start < 30 * G_USEC_PER_SEC)
    {
      g_autofree char *seen = row_text (to, "clients", id, "first_name");

      if (g_strcmp0 (seen, name) == 0)
        return (g_get_monotonic_time () - start) / 1000;
      spin (5);
    }
  return G_MAXINT64;
}

static void
test_live_stream (void)
{
  g_autoptr(Env) env = env_new (NULL);
  g_autoptr(Desk) a = NULL;
  g_autoptr(Desk) b = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GError) error = NULL;
  Relay relay = { 0 };
  gint64 ms;

  /* Behind the relay the address survives the daemon's restart on a new port. */
  relay_up (&relay, vd_test_syncd_get_port (env->syncd));
  url = relay_url (&relay);
  a = desk_new (env, "a", url, "ana");
  b = desk_new (env, "b", url, "bruno");
  /* No periodic pull during the test: whatever arrives came through the stream. */
  g_object_set (a->engine, "periodic-interval", 3600, NULL);
  g_object_set (b->engine, "periodic-interval", 3600, NULL);
  g_assert_false (vd_sync_engine_get_live (b->engine));
  vd_sync_engine_start (a->engine);
  vd_sync_engine_start (b->engine);
  g_assert_true (wait_for_live (a->engine, TRUE, 30));
  g_assert_true (wait_for_live (b->engine, TRUE, 30));
  g_assert_cmpint (vd_sync_engine_get_state (b->engine), ==, VD_SYNC_UP_TO_DATE);

  /* A's change (pushed after the short live debounce) reaches B without B asking. */
  ms = live_latency_ms (a, b, "Primera");
  g_print ("# live latency %" G_GINT64_FORMAT " ms\n", ms);
  g_assert_cmpint (ms, <, 5000);
  ms = live_latency_ms (b, a, "Vuelta");
  g_print ("# live latency B to A %" G_GINT64_FORMAT " ms\n", ms);
  g_assert_cmpint (ms, <, 5000);

  /* The daemon restarts: the streams drop, come back on their own, and deliver again. */
  g_assert_true (vd_test_syncd_stop (env->syncd, &error));
  g_assert_no_error (error);
  g_assert_true (wait_for_live (a->engine, FALSE, 10));
  g_assert_true (wait_for_live (b->engine, FALSE, 10));
  {
    g_autofree char *log = g_build_filename (vd_test_syncd_get_data_dir (env->syncd), "stdout.log", NULL);

    g_remove (log);
  }
  g_assert_true (vd_test_syncd_start (env->syncd, &error));
  g_assert_no_error (error);
  relay_up (&relay, vd_test_syncd_get_port (env->syncd));
  if (!wait_for_live (a->engine, TRUE, 90) || !wait_for_live (b->engine, TRUE, 90))
    g_error ("the streams did not reopen after the restart: A %d (%s), B %d (%s)",
             vd_sync_engine_get_state (a->engine), vd_sync_engine_get_error_message (a->engine),
             vd_sync_engine_get_state (b->engine), vd_sync_engine_get_error_message (b->engine));
  ms = live_latency_ms (a, b, "Segunda");
  g_print ("# live latency after restart %" G_GINT64_FORMAT " ms\n", ms);
  g_assert_cmpint (ms, <, 5000);

  /* Stopped, the desk stops listening. */
  vd_sync_engine_stop (b->engine);
  g_assert_false (vd_sync_engine_get_live (b->engine));
  relay_down (&relay);
}

static void
count_live_cb (VdSyncEngine *engine,
               GParamSpec   *pspec,
               guint        *drops)
{
  if (!vd_sync_engine_get_live (engine))
    (*drops)++;
}

/* The server closes a stream whose access token ran out (4001): the desk renews the token
 * through its refresh token and opens the stream again, and deliveries go on. */
static void
test_live_token_expiry (void)
{
  g_autoptr(Env) env = env_new (OPEN_LIMITS "access-ttl=3\n");
  g_autoptr(Desk) a = desk_new (env, "a", env->url, "ana");
  g_autoptr(Desk) b = desk_new (env, "b", env->url, "bruno");
  gboolean timed_out = FALSE;
  guint drops = 0;
  guint rotations;
  guint id;
  gint64 ms;

  g_object_set (a->engine, "periodic-interval", 3600, NULL);
  g_object_set (b->engine, "periodic-interval", 3600, NULL);
  vd_sync_engine_start (a->engine);
  vd_sync_engine_start (b->engine);
  g_assert_true (wait_for_live (a->engine, TRUE, 30));
  g_assert_true (wait_for_live (b->engine, TRUE, 30));
  rotations = b->rotations;
  g_signal_connect (b->engine, "notify::live", G_CALLBACK (count_live_cb), &drops);

  /* Within a few token lifetimes the server has closed B's stream at least once. */
  id = g_timeout_add_seconds (20, timeout_flag_cb, &timed_out);
  while (drops < 2 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  g_assert_cmpuint (drops, >=, 2);
  g_assert_true (wait_for_live (b->engine, TRUE, 30));
  /* Each reopening went through a refresh, never through "sign in again". */
  g_assert_cmpuint (b->rotations, >, rotations);
  g_assert_cmpint (vd_sync_engine_get_state (b->engine), !=, VD_SYNC_NEEDS_SIGN_IN);

  /* And the reopened stream delivers. */
  ms = live_latency_ms (a, b, "Renovada");
  g_print ("# live latency after token renewals %" G_GINT64_FORMAT " ms\n", ms);
  g_assert_cmpint (ms, <, 15000);
  g_signal_handlers_disconnect_by_func (b->engine, count_live_cb, &drops);
}

static void
record_state_cb (VdSyncEngine *engine,
                 GParamSpec   *pspec,
                 GArray       *states)
{
  VdSyncState state = vd_sync_engine_get_state (engine);

  g_array_append_val (states, state);
}

/* The session ends on the server (4003 on the stream): the desk stops at once with
 * "needs sign-in", without a round of its own, and keeps its data. */
static void
test_live_revoked (void)
{
  g_autoptr(GArray) states = g_array_new (FALSE, FALSE, sizeof (VdSyncState));
  g_autoptr(Env) env = env_new (NULL);
  g_autoptr(Desk) desk = desk_new (env, "front", env->url, "ana");
  g_autofree char *digest = NULL;
  g_autofree char *after = NULL;

  g_free (commit (desk, "clients", NULL, "first_name", "Ana", "last_name", "García", NULL));
  desk_sync_ok (desk);
  g_object_set (desk->engine, "periodic-interval", 3600, NULL);
  vd_sync_engine_start (desk->engine);
  g_assert_true (wait_for_live (desk->engine, TRUE, 30));
  g_assert_true (wait_for_state (desk->engine, VD_SYNC_UP_TO_DATE, 30));
  digest = desk_digest (desk);
  g_signal_connect (desk->engine, "notify::state", G_CALLBACK (record_state_cb), states);

  g_assert_cmpuint (raw_post (env, "/v1/auth/logout", desk->access, "{}"), ==, 204);
  g_assert_true (wait_for_state (desk->engine, VD_SYNC_NEEDS_SIGN_IN, 15));
  /* Straight there: no reconnect, no round that would only learn the same thing. */
  g_assert_cmpuint (states->len, ==, 1);
  g_assert_cmpint (g_array_index (states, VdSyncState, 0), ==, VD_SYNC_NEEDS_SIGN_IN);
  g_assert_false (vd_sync_engine_get_live (desk->engine));
  g_assert_nonnull (vd_sync_engine_get_error_message (desk->engine));
  after = desk_digest (desk);
  g_assert_cmpstr (after, ==, digest);

  /* It does not knock again while nobody can fix it. */
  spin (2500);
  g_assert_false (vd_sync_engine_get_live (desk->engine));
  g_assert_cmpint (vd_sync_engine_get_state (desk->engine), ==, VD_SYNC_NEEDS_SIGN_IN);
  g_signal_handlers_disconnect_by_func (desk->engine, record_state_cb, states);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *home = NULL;

  g_test_init (&argc, &argv, NULL);

  home = g_dir_make_tmp ("vd-test-sync-home-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", home, TRUE);
  g_unsetenv ("VD_TEST_CLOCK_OFFSET_MS");

  g_test_add_func ("/sync/session", test_session);
  g_test_add_func ("/sync/offline-then-reconnect", test_offline_then_reconnect);
  g_test_add_func ("/sync/converge", test_converge);
  g_test_add_func ("/sync/bootstrap-pages", test_bootstrap_pages);
  g_test_add_func ("/sync/token-refresh", test_token_refresh);
  g_test_add_func ("/sync/revoked", test_revoked);
  g_test_add_func ("/sync/clock-skew", test_clock_skew);
  g_test_add_func ("/sync/rate-limited", test_rate_limited);
  g_test_add_func ("/sync/cert-changed", test_cert_changed);
  g_test_add_func ("/sync/live-stream", test_live_stream);
  g_test_add_func ("/sync/live-token-expiry", test_live_token_expiry);
  g_test_add_func ("/sync/live-revoked", test_live_revoked);

  return g_test_run ();
}
