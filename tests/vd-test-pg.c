/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-test-pg.c — starts and removes throwaway PostgreSQL clusters for tests. initdb and
 * postgres refuse to run as root, so as root the cluster belongs to the postgres user. */
#define G_LOG_DOMAIN "vd-test-pg"

#include "config.h"

#include "vd-test-pg.h"

#include <errno.h>
#include <stdarg.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

struct _VdTestPg
{
  char        *bindir;
  char        *dir;        /* the temporary directory: data/, log, the socket */
  char        *data_dir;
  char        *log_file;
  char        *uri;
  guint16      port;
  gboolean     running;
  GSubprocess *watchdog;   /* stops the server and removes dir once our end of its stdin closes */
};

static GPtrArray *live_clusters;   /* VdTestPg, for the atexit handler */
static char *unavailable_reason;

static const char *
get_bindir (void)
{
  const char *bindir = g_getenv ("VD_PG_BINDIR");

  return bindir != NULL && *bindir != '\0' ? bindir : "/usr/lib/postgresql/15/bin";
}

static gboolean
as_root (void)
{
  return geteuid () == 0;
}

static const char *
find_runuser (void)
{
  static char *path;

  if (path == NULL)
    {
      path = g_find_program_in_path ("runuser");
      if (path == NULL && g_file_test ("/usr/sbin/runuser", G_FILE_TEST_IS_EXECUTABLE))
        path = g_strdup ("/usr/sbin/runuser");
      if (path == NULL && g_file_test ("/sbin/runuser", G_FILE_TEST_IS_EXECUTABLE))
        path = g_strdup ("/sbin/runuser");
    }
  return path;
}

gboolean
vd_test_pg_available (void)
{
  const char *env = g_getenv ("VD_TEST_POSTGRES");
  const char *tools[] = { "initdb", "pg_ctl", "postgres", "createdb", "dropdb" };

  g_clear_pointer (&unavailable_reason, g_free);

  if (g_strcmp0 (env, "0") == 0)
    {
      unavailable_reason = g_strdup ("PostgreSQL tests are disabled (VD_TEST_POSTGRES=0)");
      return FALSE;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (tools); i++)
    {
      g_autofree char *path = g_build_filename (get_bindir (), tools[i], NULL);

      if (!g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
        {
          unavailable_reason = g_strdup_printf ("PostgreSQL server binaries not found (%s); "
                                                "set VD_PG_BINDIR", path);
          return FALSE;
        }
    }

  if (as_root ())
    {
      if (getpwnam ("postgres") == NULL)
        {
          unavailable_reason = g_strdup ("running as root and there is no “postgres” user "
                                         "to run the server as");
          return FALSE;
        }
      if (find_runuser () == NULL)
        {
          unavailable_reason = g_strdup ("running as root and runuser is not installed");
          return FALSE;
        }
    }

  return TRUE;
}

const char *
vd_test_pg_unavailable_reason (void)
{
  return unavailable_reason != NULL ? unavailable_reason : "PostgreSQL is available";
}

/* Runs a PostgreSQL tool from bindir (as the postgres user when we are root and
 * as_postgres); its output becomes the error message when it fails. */
static gboolean
run_tool (VdTestPg    *pg,
          gboolean     as_postgres,
          GError     **error,
          const char  *tool,
          ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *output = NULL;
  const char *arg;
  va_list ap;

  if (as_postgres && as_root ())
    {
      g_ptr_array_add (argv, g_strdup (find_runuser ()));
      g_ptr_array_add (argv, g_strdup ("-u"));
      g_ptr_array_add (argv, g_strdup ("postgres"));
      g_ptr_array_add (argv, g_strdup ("--"));
    }
  g_ptr_array_add (argv, g_build_filename (pg->bindir, tool, NULL));
  va_start (ap, tool);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_MERGE);
  /* the postgres user may not be able to enter the test's working directory */
  g_subprocess_launcher_set_cwd (launcher, pg->dir);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
  if (process == NULL)
    return FALSE;
  if (!g_subprocess_communicate_utf8 (process, NULL, NULL, &output, NULL, error))
    return FALSE;
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s failed: %s", tool,
                   output != NULL ? g_strchomp (output) : "(no output)");
      return FALSE;
    }
  return TRUE;
}

static guint16
pick_free_port (GError **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) bound = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return 0;
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, 0);
  if (!g_socket_bind (socket, address, FALSE, error))
    return 0;
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return 0;
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static gboolean
start_server (VdTestPg  *pg,
              GError   **error)
{
  g_autofree char *options = NULL;

  options = g_strdup_printf ("-p %u -k %s -c listen_addresses=127.0.0.1 -c fsync=off "
                             "-c max_connections=200 -c shared_buffers=128MB",
                             pg->port, pg->dir);
  if (!run_tool (pg, TRUE, error, "pg_ctl", "start", "-w", "-t", "60",
                 "-D", pg->data_dir, "-l", pg->log_file, "-o", options, NULL))
    {
      g_autofree char *log = NULL;

      if (g_file_get_contents (pg->log_file, &log, NULL, NULL))
        g_prefix_error (error, "server log:\n%s\n", log);
      return FALSE;
    }
  pg->running = TRUE;
  return TRUE;
}

static void
stop_server (VdTestPg *pg)
{
  g_autoptr(GError) error = NULL;

  if (!pg->running)
    return;
  if (!run_tool (pg, TRUE, &error, "pg_ctl", "stop", "-w", "-m", "fast", "-D", pg->data_dir, NULL))
    g_warning ("Could not stop the test PostgreSQL server: %s", error->message);
  pg->running = FALSE;
}

static void
remove_tree (const char *path)
{
  GDir *dir;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_SYMLINK) && g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      dir = g_dir_open (path, 0, NULL);
      if (dir != NULL)
        {
          while ((name = g_dir_read_name (dir)) != NULL)
            {
              g_autofree char *child = g_build_filename (path, name, NULL);

              remove_tree (child);
            }
          g_dir_close (dir);
        }
      if (g_rmdir (path) != 0 && errno != ENOENT)
        g_warning ("Could not remove %s: %s", path, g_strerror (errno));
    }
  else if (g_unlink (path) != 0 && errno != ENOENT)
    g_warning ("Could not remove %s: %s", path, g_strerror (errno));
}

static void
new_session (gpointer data)
{
  /* out of the test's process group, so a timeout that kills the group spares us */
  setsid ();
}

/* The watchdog waits for EOF on its stdin, which comes when this process exits in any
 * way, and then stops the server and removes the directory. */
static gboolean
start_watchdog (VdTestPg  *pg,
                GError   **error)
{
  static const char script[] =
    "cat >/dev/null\n"
    "if [ -f \"$1/data/postmaster.pid\" ]; then\n"
    "  if [ -n \"$3\" ]; then\n"
    "    \"$3\" -u postgres -- \"$2\" stop -w -m immediate -D \"$1/data\"\n"
    "  else\n"
    "    \"$2\" stop -w -m immediate -D \"$1/data\"\n"
    "  fi\n"
    "fi\n"
    "rm -rf \"$1\"\n";
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *pg_ctl = g_build_filename (pg->bindir, "pg_ctl", NULL);
  const char *runuser = as_root () ? find_runuser () : "";

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_cwd (launcher, "/");
  g_subprocess_launcher_set_child_setup (launcher, new_session, NULL, NULL);
  pg->watchdog = g_subprocess_launcher_spawn (launcher, error, "/bin/sh", "-c", script,
                                              "vd-test-pg-watchdog", pg->dir, pg_ctl,
                                              runuser, NULL);
  return pg->watchdog != NULL;
}

static void
stop_watchdog (VdTestPg *pg)
{
  GOutputStream *input;

  if (pg->watchdog == NULL)
    return;
  input = g_subprocess_get_stdin_pipe (pg->watchdog);
  g_output_stream_close (input, NULL, NULL);
  g_subprocess_wait (pg->watchdog, NULL, NULL);
  g_clear_object (&pg->watchdog);
}

static void
stop_all_at_exit (void)
{
  while (live_clusters != NULL && live_clusters->len > 0)
    vd_test_pg_stop (g_ptr_array_index (live_clusters, live_clusters->len - 1));
}

static void
free_pg (VdTestPg *pg)
{
  g_free (pg->bindir);
  g_free (pg->dir);
  g_free (pg->data_dir);
  g_free (pg->log_file);
  g_free (pg->uri);
  g_free (pg);
}

VdTestPg *
vd_test_pg_start (GError **error)
{
  VdTestPg *pg;
  g_autoptr(GError) start_error = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!vd_test_pg_available ())
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           vd_test_pg_unavailable_reason ());
      return NULL;
    }

  pg = g_new0 (VdTestPg, 1);
  pg->bindir = g_strdup (get_bindir ());
  pg->dir = g_dir_make_tmp ("vd-test-pg-XXXXXX", error);
  if (pg->dir == NULL)
    {
      free_pg (pg);
      return NULL;
    }
  pg->data_dir = g_build_filename (pg->dir, "data", NULL);
  pg->log_file = g_build_filename (pg->dir, "log", NULL);

  if (live_clusters == NULL)
    {
      live_clusters = g_ptr_array_new ();
      atexit (stop_all_at_exit);
    }
  g_ptr_array_add (live_clusters, pg);

  if (!start_watchdog (pg, error))
    goto fail;

  if (as_root ())
    {
      struct passwd *pw = getpwnam ("postgres");

      if (pw == NULL || chown (pg->dir, pw->pw_uid, pw->pw_gid) != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "Could not give %s to the postgres user: %s", pg->dir,
                       pw == NULL ? "no such user" : g_strerror (errno));
          goto fail;
        }
    }

  if (!run_tool (pg, TRUE, error, "initdb", "-D", pg->data_dir, "-A", "trust",
                 "-U", "vetdesk", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8", NULL))
    goto fail;

  /* Another process may take the port between our probe and the server's bind. */
  for (guint attempt = 0; attempt < 5; attempt++)
    {
      g_clear_error (&start_error);
      pg->port = pick_free_port (error);
      if (pg->port == 0)
        goto fail;
      if (start_server (pg, &start_error))
        break;
    }
  if (!pg->running)
    {
      g_propagate_error (error, g_steal_pointer (&start_error));
      goto fail;
    }

  {
    g_autofree char *port = g_strdup_printf ("%u", pg->port);

    if (!run_tool (pg, FALSE, error, "createdb", "-h", "127.0.0.1", "-p", port,
                   "-U", "vetdesk", "vetdesk", NULL))
      goto fail;
  }

  pg->uri = g_strdup_printf ("postgresql://vetdesk@127.0.0.1:%u/vetdesk", pg->port);
  return pg;

fail:
  vd_test_pg_stop (pg);
  return NULL;
}

const char *
vd_test_pg_get_uri (VdTestPg *pg)
{
  g_return_val_if_fail (pg != NULL, NULL);

  return pg->uri;
}

guint16
vd_test_pg_get_port (VdTestPg *pg)
{
  g_return_val_if_fail (pg != NULL, 0);

  return pg->port;
}

const char *
vd_test_pg_get_dir (VdTestPg *pg)
{
  g_return_val_if_fail (pg != NULL, NULL);

  return pg->dir;
}

char *
vd_test_pg_create_db (VdTestPg   *pg,
                      const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *port = NULL;

  g_return_val_if_fail (pg != NULL, NULL);
  g_return_val_if_fail (name != NULL && *name != '\0', NULL);
  for (const char *p = name; *p != '\0'; p++)
    g_return_val_if_fail (g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '_', NULL);

  port = g_strdup_printf ("%u", pg->port);
  run_tool (pg, FALSE, &error, "dropdb", "--if-exists", "--force", "-h", "127.0.0.1",
            "-p", port, "-U", "vetdesk", name, NULL);
  g_assert_no_error (error);
  run_tool (pg, FALSE, &error, "createdb", "-h", "127.0.0.1", "-p", port,
            "-U", "vetdesk", name, NULL);
  g_assert_no_error (error);

  return g_strdup_printf ("postgresql://vetdesk@127.0.0.1:%u/%s", pg->port, name);
}

gboolean
vd_test_pg_restart (VdTestPg  *pg,
                    GError   **error)
{
  g_return_val_if_fail (pg != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (pg->running &&
      !run_tool (pg, TRUE, error, "pg_ctl", "stop", "-w", "-m", "fast", "-D", pg->data_dir, NULL))
    return FALSE;
  pg->running = FALSE;
  return start_server (pg, error);
}

void
vd_test_pg_stop (VdTestPg *pg)
{
  if (pg == NULL)
    return;

  stop_server (pg);
  if (pg->dir != NULL)
    remove_tree (pg->dir);
  stop_watchdog (pg);
  if (live_clusters != NULL)
    g_ptr_array_remove (live_clusters, pg);
  free_pg (pg);
}
