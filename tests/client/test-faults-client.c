/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-faults-client.c — a desk killed with SIGKILL in the middle of pushing and of
 * pulling, again and again, then restarted to finish: every change it committed reaches
 * the server exactly once, nothing else appears, and its file stays sound. The desk is
 * this binary run again with --desk. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vd-store.h"
#include "vd-sync-engine.h"
#include "vd-session.h"
#include "vd-id.h"
#include "vd-test-syncd.h"

#define PASSWORD "correct horse battery"
#define CYCLES   10

/* ---- Shared by the test and the desk process ---- */

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

/* Opens the store, signs in and returns an engine with tokens. */
static VdSyncEngine *
open_desk (const char  *path,
           const char  *url,
           const char  *fingerprint,
           const char  *tenant,
           const char  *username,
           VdStore    **out_store)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdLoginResult) login = NULL;
  g_autofree char *secret_path = NULL;
  g_autofree char *secret = NULL;
  VdSyncEngine *engine;
  VdStore *store;
  Wait wait = { 0 };

  store = vd_store_open (path, tenant, &error);
  if (store == NULL)
    g_error ("open %s: %s", path, error->message);
  /* The desk's device secret (§6) outlives its process, as it does in the keyring of a
   * real desk: here in a file beside the replica, since the desk is killed and started
   * again as another process. */
  secret_path = g_strconcat (path, ".device-secret", NULL);
  if (!g_file_get_contents (secret_path, &secret, NULL, NULL))
    secret = NULL;
  vd_session_login_async (url, fingerprint, username, PASSWORD, vd_store_get_device_id (store),
                          secret, "fault desk", NULL, wait_cb, &wait);
  wait_run (&wait);
  login = vd_session_login_finish (wait.result, &error);
  g_object_unref (wait.result);
  if (login == NULL)
    g_error ("login %s: %s", username, error->message);
  if (login->device_secret != NULL &&
      !g_file_set_contents (secret_path, login->device_secret, -1, &error))
    g_error ("keeping the device secret: %s", error->message);
  vd_store_set_clinic_info (store, g_ptr_array_index (login->clinics, 0), NULL);

  engine = vd_sync_engine_new (store, url, fingerprint);
  vd_sync_engine_set_tokens (engine, login->access_token, login->refresh_token);
  *out_store = store;
  return engine;
}

static gboolean
sync_once (VdSyncEngine  *engine,
           GError       **error)
{
  Wait wait = { 0 };
  gboolean ok;

  vd_sync_engine_sync_async (engine, NULL, wait_cb, &wait);
  wait_run (&wait);
  ok = vd_sync_engine_sync_finish (engine, wait.result, error);
  g_object_unref (wait.result);
  return ok;
}

static void
commit_client (VdStore    *store,
               const char *first,
               const char *last)
{
  g_autoptr(VdChange) change = vd_store_new_change (store, "clients", NULL);
  g_autoptr(GError) error = NULL;
  VdValue value = { VD_VALUE_NULL };

  vd_value_set_text (&value, first);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, "first_name"), &value);
  vd_value_set_text (&value, last);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, "last_name"), &value);
  if (!vd_store_commit (store, change, &error))
    g_error ("commit: %s", error->message);
}

/* ---- The desk process ---- */

static void
pulled_cb (VdSyncEngine *engine,
           GParamSpec   *pspec,
           gboolean     *said)
{
  if (!*said && vd_sync_engine_get_state (engine) == VD_SYNC_SYNCING)
    {
      /* A page is in: the next one is being fetched or applied. */
      printf ("pulling\n");
      fflush (stdout);
      *said = TRUE;
    }
}

/* argv: --desk loop|finish PATH URL FINGERPRINT TENANT */
static int
desk_main (int    argc,
           char **argv)
{
  g_autoptr(VdStore) store = NULL;
  g_autoptr(VdSyncEngine) engine = NULL;
  gboolean finish;
  gboolean said = FALSE;

  if (argc != 7)
    return 2;
  finish = g_str_equal (argv[2], "finish");
  engine = open_desk (argv[3], argv[4], argv[5], argv[6], "victim", &store);
  g_signal_connect (engine, "notify::pulled", G_CALLBACK (pulled_cb), &said);

  if (finish)
    {
      for (int attempt = 0; attempt < 20; attempt++)
        {
          g_autoptr(GError) error = NULL;

          if (sync_once (engine, &error) && vd_store_count_pending (store) == 0)
            {
              printf ("done\n");
              return 0;
            }
          g_usleep (500 * 1000);
        }
      return 1;
    }

  for (guint round = 0;; round++)
    {
      g_autoptr(GError) error = NULL;

      for (int i = 0; i < 150; i++)
        {
          g_autofree char *name = g_strdup_printf ("v-%d-%u-%d", (int) getpid (), round, i);

          commit_client (store, name, "Victim");
          /* Said only once the commit returned: the change is durable now. */
          printf ("c %s\n", name);
        }
      printf ("committed\n");
      fflush (stdout);
      said = FALSE;
      if (!sync_once (engine, &error))
        printf ("failed %s\n", error->message);
      else
        printf ("synced\n");
      fflush (stdout);
    }
  return 0;
}

/* ---- The test ---- */

static char *
cli (VdTestSyncd *syncd,
     const char  *stdin_text,
     const char  *a,
     const char  *b,
     const char  *c,
     const char  *d,
     const char  *e,
     const char  *f,
     const char  *g,
     const char  *h,
     const char  *i,
     const char  *j,
     const char  *k)
{
  g_autoptr(GError) error = NULL;
  char *out = vd_test_syncd_run (syncd, stdin_text, &error, a, b, c, d, e, f, g, h, i, j, k, NULL);

  g_assert_no_error (error);
  return out;
}

static GSubprocess *
spawn_desk (const char *self_exe,
            const char *mode,
            const char *path,
            const char *url,
            const char *fingerprint,
            const char *tenant)
{
  g_autoptr(GError) error = NULL;
  GSubprocess *proc;

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, self_exe, "--desk", mode,
                           path, url, fingerprint, tenant, NULL);
  g_assert_no_error (error);
  return proc;
}

static gint64
query_int (VdStore    *store,
           const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 n;

  g_assert_cmpint (sqlite3_prepare_v2 (vd_store_get_db (store), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return n;
}

static gboolean
has_client (VdStore    *store,
            const char *first)
{
  sqlite3_stmt *stmt = NULL;
  gboolean found;

  sqlite3_prepare_v2 (vd_store_get_db (store),
                      "SELECT count(*) FROM clients WHERE first_name = ?1", -1, &stmt, NULL);
  sqlite3_bind_text (stmt, 1, first, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  found = sqlite3_column_int64 (stmt, 0) == 1;
  sqlite3_finalize (stmt);
  return found;
}

static const char *self_exe;

static void
test_kill_desk (void)
{
  g_autoptr(VdTestSyncd) syncd = vd_test_syncd_new (VETDESK_SYNCD, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) committed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(VdStore) writer_store = NULL;
  g_autoptr(VdSyncEngine) writer = NULL;
  g_autoptr(VdStore) check_store = NULL;
  g_autoptr(VdSyncEngine) check = NULL;
  g_autoptr(VdStore) victim = NULL;
  g_autofree char *company = NULL;
  g_autofree char *tenant = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *victim_path = NULL;
  g_autofree char *writer_path = NULL;
  g_autofree char *check_path = NULL;
  const char *url;
  const char *fp;
  const char *env_seed = g_getenv ("VD_SEED");
  guint32 seed = env_seed != NULL ? (guint32) g_ascii_strtoull (env_seed, NULL, 10) : 4242;
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  guint kills_push = 0, kills_pull = 0;

  g_test_message ("seed %u (replay with VD_SEED=%u)", seed, seed);

  vd_test_syncd_set_config (syncd, "[limits]\naddress-rate=0\nclinic-rate=0\nlogin-rate=0\n");
  g_free (cli (syncd, NULL, "migrate", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
  company = cli (syncd, NULL, "add-company", "Grupo", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
  tenant = cli (syncd, NULL, "add-tenant", "--slug", "norte", "--name", "Norte", "--timezone",
                "Europe/Madrid", "--currency", "EUR", "--company", company);
  g_free (cli (syncd, PASSWORD "\n", "add-user", "--username", "victim", "--display-name", "V",
               "--clinic", "norte:front_desk", NULL, NULL, NULL, NULL));
  g_free (cli (syncd, PASSWORD "\n", "add-user", "--username", "writer", "--display-name", "W",
               "--clinic", "norte:front_desk", NULL, NULL, NULL, NULL));
  g_free (cli (syncd, PASSWORD "\n", "add-user", "--username", "checker", "--display-name", "C",
               "--clinic", "norte:front_desk", NULL, NULL, NULL, NULL));
  if (!vd_test_syncd_start (syncd, &error))
    g_error ("%s", error->message);
  url = vd_test_syncd_get_url (syncd);
  fp = vd_test_syncd_get_fingerprint (syncd);

  dir = g_dir_make_tmp ("vd-test-faults-client-XXXXXX", &error);
  g_assert_no_error (error);
  victim_path = g_build_filename (dir, "victim.db", NULL);
  writer_path = g_build_filename (dir, "writer.db", NULL);
  check_path = g_build_filename (dir, "check.db", NULL);
  writer = open_desk (writer_path, url, fp, tenant, "writer", &writer_store);

  for (guint cycle = 0; cycle < CYCLES; cycle++)
    {
      g_autoptr(GSubprocess) proc = NULL;
      g_autoptr(GDataInputStream) out = NULL;
      gboolean at_pull = cycle % 2 == 1;
      const char *marker = at_pull ? "pulling" : "committed";
      gboolean killed = FALSE;
      char *line;

      /* Others' work for the victim to pull: several pages each time. */
      for (int i = 0; i < 1500; i++)
        {
          g_autofree char *name = g_strdup_printf ("w-%u-%d", cycle, i);

          commit_client (writer_store, name, "Writer");
        }
      if (!sync_once (writer, &error))
        {
          g_autofree char *log = vd_test_syncd_get_log (syncd);

          g_error ("writer (cycle %u): %s; daemon running: %d; its log ends:\n%s", cycle,
                   error->message, vd_test_syncd_is_running (syncd),
                   strlen (log) > 3000 ? log + strlen (log) - 3000 : log);
        }

      proc = spawn_desk (self_exe, "loop", victim_path, url, fp, tenant);
      out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (proc));
      while (!killed && (line = g_data_input_stream_read_line (out, NULL, NULL, NULL)) != NULL)
        {
          if (g_str_has_prefix (line, "c "))
            g_hash_table_add (committed, g_strdup (line + 2));
          else if (g_str_has_prefix (line, "failed "))
            g_test_message ("victim: %s", line);
          else if (g_str_equal (line, marker))
            {
              /* Somewhere inside the push (the request, the server's commit, the
               * answer, the ack) or inside a page (its request or its transaction). */
              g_usleep (g_rand_int_range (rand, 0, at_pull ? 60000 : 40000));
              g_subprocess_force_exit (proc);
              killed = TRUE;
            }
          g_free (line);
        }
      g_assert_true (killed);
      g_subprocess_wait (proc, NULL, NULL);
      /* Lines already in the pipe were written before the kill. */
      while ((line = g_data_input_stream_read_line (out, NULL, NULL, NULL)) != NULL)
        {
          if (g_str_has_prefix (line, "c "))
            g_hash_table_add (committed, g_strdup (line + 2));
          g_free (line);
        }
      if (at_pull)
        kills_pull++;
      else
        kills_push++;
    }
  g_test_message ("%u kills while pushing, %u while pulling, %u changes committed",
                  kills_push, kills_pull, g_hash_table_size (committed));

  /* Restarted, the desk finishes on its own. */
  {
    g_autoptr(GSubprocess) proc = spawn_desk (self_exe, "finish", victim_path, url, fp, tenant);

    g_assert_true (g_subprocess_wait (proc, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (g_subprocess_get_if_exited (proc));
    g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
  }
  if (!sync_once (writer, &error))
    g_error ("writer: %s", error->message);

  /* The victim's file is sound and holds everything it said it committed. */
  victim = vd_store_open (victim_path, tenant, &error);
  g_assert_no_error (error);
  {
    sqlite3_stmt *stmt = NULL;

    sqlite3_prepare_v2 (vd_store_get_db (victim), "PRAGMA integrity_check", -1, &stmt, NULL);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
    sqlite3_finalize (stmt);
  }
  g_assert_cmpuint (vd_store_count_pending (victim), ==, 0);

  /* A desk that never crashed pulls the server's view: every committed change once,
   * no other victim row, the writer's rows, and the same data as the victim. */
  check = open_desk (check_path, url, fp, tenant, "checker", &check_store);
  if (!sync_once (check, &error))
    g_error ("checker: %s", error->message);
  {
    GHashTableIter iter;
    gpointer name;
    gint64 victim_rows = query_int (check_store, "SELECT count(*) FROM clients WHERE last_name = 'Victim'");

    g_hash_table_iter_init (&iter, committed);
    while (g_hash_table_iter_next (&iter, &name, NULL))
      if (!has_client (check_store, name))
        g_error ("the committed change %s is not on the server exactly once", (char *) name);
    /* Rows committed after the last line read before a kill are on the victim too. */
    g_assert_cmpint (victim_rows, ==, query_int (victim, "SELECT count(*) FROM clients WHERE last_name = 'Victim'"));
    g_assert_cmpint (victim_rows, >=, g_hash_table_size (committed));
    g_assert_cmpint (query_int (check_store, "SELECT count(DISTINCT first_name) FROM clients WHERE last_name = 'Victim'"),
                     ==, victim_rows);
    g_assert_cmpint (query_int (check_store, "SELECT count(*) FROM clients WHERE last_name = 'Writer'"),
                     ==, CYCLES * 1500);
  }
  {
    g_autofree char *d_victim = vd_cell_store_digest (vd_store_get_cell_store (victim), NULL);
    g_autofree char *d_check = vd_cell_store_digest (vd_store_get_cell_store (check_store), NULL);
    g_autofree char *d_writer = vd_cell_store_digest (vd_store_get_cell_store (writer_store), NULL);

    g_assert_cmpstr (d_victim, ==, d_check);
    g_assert_cmpstr (d_writer, ==, d_check);
  }

  g_clear_object (&check);
  g_clear_object (&writer);
  g_clear_object (&victim);
  g_clear_object (&check_store);
  g_clear_object (&writer_store);
  {
    const char * const files[] = { "victim.db", "victim.db-wal", "victim.db-shm", "writer.db",
                                   "writer.db-wal", "writer.db-shm", "check.db", "check.db-wal",
                                   "check.db-shm", "victim.db.device-secret",
                                   "writer.db.device-secret", "check.db.device-secret", NULL };

    for (guint i = 0; files[i] != NULL; i++)
      {
        g_autofree char *path = g_build_filename (dir, files[i], NULL);

        g_remove (path);
      }
    g_rmdir (dir);
  }
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *home = NULL;

  if (argc > 1 && g_str_equal (argv[1], "--desk"))
    return desk_main (argc, argv);

  g_test_init (&argc, &argv, NULL);
  self_exe = argv[0];
  home = g_dir_make_tmp ("vd-test-faults-client-home-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", home, TRUE);

  g_test_add_func ("/faults/client/kill-desk", test_kill_desk);
  return g_test_run ();
}
