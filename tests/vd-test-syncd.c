/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-test-syncd.c — starts the real vetdesk-syncd binary for tests and reads what it
 * prints from a file, so the test never blocks on a full pipe. The daemons die with the
 * test (the kernel's parent-death signal) and a watchdog removes their data directories,
 * however the test ends: an abort, a kill or a timeout leaves nothing behind. */
#define G_LOG_DOMAIN "vd-test-syncd"

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "vd-test-syncd.h"

#include <json-glib/json-glib.h>

struct _VdTestSyncd
{
  char        *binary;
  char        *data_dir;
  char        *database;
  char        *config_path;
  char        *stdout_path;
  char        *stderr_path;
  GSubprocess *process;
  GPtrArray   *env;            /* name, value (value NULL = unset) */
  char        *url;
  char        *fingerprint;
  guint16      port;
};

/* ---- dying with the test ---- */

/* Runs in the child between fork and exec: SIGKILL when the thread that spawned it
 * ends, which is when the test process ends unless a short-lived thread spawned it. If
 * that parent is already gone, getppid() no longer names it and the child goes at once. */
static void
die_with_parent (gpointer data)
{
  pid_t parent = GPOINTER_TO_INT (data);

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (127);
}

static void
set_die_with_parent (GSubprocessLauncher *launcher)
{
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent,
                                         GINT_TO_POINTER (getpid ()), NULL);
}

static void
new_session (gpointer data)
{
  /* Out of the test's process group, so a timeout that kills the group spares it. */
  setsid ();
}

static GMutex dirs_lock;
static GSubprocess *dirs_watchdog;

/* One watchdog per test process collects the data directories, one a line on its
 * stdin. At EOF, which comes when this process ends in any way, it waits a second for
 * the daemons' SIGKILL to land, then removes them all (those already removed do no
 * harm). */
static void
watch_data_dir (const char *dir)
{
  static const char script[] =
    "set -f\n"
    "while IFS= read -r dir; do set -- \"$@\" \"$dir\"; done\n"
    "[ $# -gt 0 ] || exit 0\n"
    "sleep 1\n"
    "rm -rf -- \"$@\"\n";
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_strconcat (dir, "\n", NULL);

  if (g_getenv ("VD_TEST_KEEP") != NULL)
    return;
  g_mutex_lock (&dirs_lock);
  if (dirs_watchdog == NULL)
    {
      g_autoptr(GSubprocessLauncher) launcher = NULL;

      launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                            G_SUBPROCESS_FLAGS_STDERR_SILENCE);
      g_subprocess_launcher_set_cwd (launcher, "/");
      g_subprocess_launcher_set_child_setup (launcher, new_session, NULL, NULL);
      dirs_watchdog = g_subprocess_launcher_spawn (launcher, &error, "/bin/sh", "-c", script,
                                                   "vd-test-syncd-watchdog", NULL);
      g_assert_no_error (error);
    }
  g_output_stream_write_all (g_subprocess_get_stdin_pipe (dirs_watchdog), line, strlen (line),
                             NULL, NULL, &error);
  g_mutex_unlock (&dirs_lock);
  g_assert_no_error (error);
}

VdTestSyncd *
vd_test_syncd_new (const char *binary,
                   const char *database_uri)
{
  VdTestSyncd *self = g_new0 (VdTestSyncd, 1);
  g_autoptr(GError) error = NULL;

  self->binary = g_strdup (binary);
  self->data_dir = g_dir_make_tmp ("vd-test-syncd-XXXXXX", &error);
  g_assert_no_error (error);
  watch_data_dir (self->data_dir);
  if (database_uri != NULL)
    self->database = g_strdup (database_uri);
  else
    self->database = g_strconcat ("sqlite:", self->data_dir, "/vetdesk.db", NULL);
  self->stdout_path = g_build_filename (self->data_dir, "stdout.log", NULL);
  self->stderr_path = g_build_filename (self->data_dir, "stderr.log", NULL);
  self->env = g_ptr_array_new_with_free_func (g_free);
  return self;
}

void
vd_test_syncd_set_config (VdTestSyncd *self,
                          const char  *key_file_text)
{
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&self->config_path, g_free);
  if (key_file_text == NULL)
    return;
  self->config_path = g_build_filename (self->data_dir, "syncd.conf", NULL);
  g_file_set_contents (self->config_path, key_file_text, -1, &error);
  g_assert_no_error (error);
}

void
vd_test_syncd_setenv (VdTestSyncd *self,
                      const char  *name,
                      const char  *value)
{
  g_ptr_array_add (self->env, g_strdup (name));
  g_ptr_array_add (self->env, g_strdup (value));
}

static GSubprocessLauncher *
new_launcher (VdTestSyncd     *self,
              GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  set_die_with_parent (launcher);

  /* The daemon must not find a config or state of the person running the tests. */
  g_subprocess_launcher_unsetenv (launcher, "STATE_DIRECTORY");
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", self->data_dir, TRUE);
  for (guint i = 0; i + 1 < self->env->len; i += 2)
    {
      if (self->env->pdata[i + 1] != NULL)
        g_subprocess_launcher_setenv (launcher, self->env->pdata[i], self->env->pdata[i + 1], TRUE);
      else
        g_subprocess_launcher_unsetenv (launcher, self->env->pdata[i]);
    }
  return launcher;
}

char *
vd_test_syncd_get_log (VdTestSyncd *self)
{
  char *text = NULL;

  if (!g_file_get_contents (self->stderr_path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

/* Reads the fingerprint and the URL from what the daemon printed. */
static gboolean
parse_stdout (VdTestSyncd *self)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  gboolean ready = FALSE;

  if (!g_file_get_contents (self->stdout_path, &text, NULL, NULL))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *fp_prefix = "TLS certificate SHA-256 fingerprint: ";
      const char *url_prefix = "vetdesk-syncd listening on ";

      if (g_str_has_prefix (lines[i], fp_prefix))
        {
          g_free (self->fingerprint);
          self->fingerprint = g_strdup (lines[i] + strlen (fp_prefix));
        }
      else if (g_str_has_prefix (lines[i], url_prefix) && lines[i + 1] != NULL)
        {
          const char *colon;

          g_free (self->url);
          self->url = g_strdup (lines[i] + strlen (url_prefix));
          colon = strrchr (self->url, ':');
          self->port = colon ? (guint16) g_ascii_strtoull (colon + 1, NULL, 10) : 0;
          ready = TRUE;
        }
    }
  return ready;
}

gboolean
vd_test_syncd_start (VdTestSyncd  *self,
                     GError      **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_auto(GStrv) wrapper = NULL;
  gint64 deadline;

  g_return_val_if_fail (self->process == NULL, FALSE);

  g_clear_pointer (&self->url, g_free);
  g_clear_pointer (&self->fingerprint, g_free);
  /* The launcher does not truncate: an old "listening" line must not count. */
  g_unlink (self->stdout_path);
  g_unlink (self->stderr_path);
  launcher = new_launcher (self, G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_subprocess_launcher_set_stdout_file_path (launcher, self->stdout_path);
  g_subprocess_launcher_set_stderr_file_path (launcher, self->stderr_path);
  g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "vetdesk-syncd", TRUE);

  /* VD_SYNCD_WRAPPER="valgrind -q" runs the daemon under a tool. */
  if (g_getenv ("VD_SYNCD_WRAPPER") != NULL)
    {
      wrapper = g_strsplit (g_getenv ("VD_SYNCD_WRAPPER"), " ", -1);
      for (guint i = 0; wrapper[i] != NULL; i++)
        if (wrapper[i][0] != '\0')
          g_ptr_array_add (argv, wrapper[i]);
    }
  g_ptr_array_add (argv, self->binary);
  g_ptr_array_add (argv, "serve");
  g_ptr_array_add (argv, "--database");
  g_ptr_array_add (argv, self->database);
  g_ptr_array_add (argv, "--data-dir");
  g_ptr_array_add (argv, self->data_dir);
  g_ptr_array_add (argv, "--listen");
  g_ptr_array_add (argv, "127.0.0.1:0");
  if (self->config_path != NULL)
    {
      g_ptr_array_add (argv, "--config");
      g_ptr_array_add (argv, self->config_path);
    }
  g_ptr_array_add (argv, NULL);

  self->process = g_subprocess_launcher_spawnv (launcher,
                                                (const char * const *) argv->pdata, error);
  if (self->process == NULL)
    return FALSE;

  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      if (parse_stdout (self))
        return TRUE;
      if (!vd_test_syncd_is_running (self))
        break;
      g_usleep (20 * 1000);
    }

  {
    g_autofree char *log = vd_test_syncd_get_log (self);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 "vetdesk-syncd did not start listening; its stderr:\n%s", log);
  }
  vd_test_syncd_kill (self);
  return FALSE;
}

gboolean
vd_test_syncd_is_running (VdTestSyncd *self)
{
  if (self->process == NULL)
    return FALSE;
  /* The identifier is reset once GLib has reaped the child. */
  return g_subprocess_get_identifier (self->process) != NULL;
}

void
vd_test_syncd_send_signal (VdTestSyncd *self,
                           int          signum)
{
  if (self->process != NULL)
    g_subprocess_send_signal (self->process, signum);
}

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  gboolean *done = data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

gboolean
vd_test_syncd_wait (VdTestSyncd *self,
                    guint        timeout_ms,
                    int         *out_status)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  gboolean done = FALSE;
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  if (self->process == NULL)
    return TRUE;

  g_main_context_push_thread_default (context);
  g_subprocess_wait_async (self->process, NULL, wait_cb, &done);
  while (!done && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (context, FALSE);
      if (!done)
        g_usleep (5000);
    }
  if (!done)
    {
      /* Leave the wait to finish later: cancel nothing, but stop polling. */
      g_main_context_pop_thread_default (context);
      return FALSE;
    }
  g_main_context_pop_thread_default (context);

  if (out_status != NULL)
    {
      if (g_subprocess_get_if_exited (self->process))
        *out_status = g_subprocess_get_exit_status (self->process);
      else
        *out_status = 128 + g_subprocess_get_term_sig (self->process);
    }
  g_clear_object (&self->process);
  return TRUE;
}

gboolean
vd_test_syncd_stop (VdTestSyncd  *self,
                    GError      **error)
{
  int status = 0;

  if (self->process == NULL)
    return TRUE;
  g_subprocess_send_signal (self->process, SIGTERM);
  if (!vd_test_syncd_wait (self, 30000, &status))
    {
      vd_test_syncd_kill (self);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "vetdesk-syncd did not stop within 30 s of SIGTERM");
      return FALSE;
    }
  if (status != 0)
    {
      g_autofree char *log = vd_test_syncd_get_log (self);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "vetdesk-syncd exited with status %d after SIGTERM; its stderr:\n%s",
                   status, log);
      return FALSE;
    }
  return TRUE;
}

void
vd_test_syncd_kill (VdTestSyncd *self)
{
  if (self->process == NULL)
    return;
  g_subprocess_force_exit (self->process);
  vd_test_syncd_wait (self, 30000, NULL);
  g_clear_object (&self->process);
}

const char *
vd_test_syncd_get_url (VdTestSyncd *self)
{
  return self->url;
}

GPid
vd_test_syncd_get_pid (VdTestSyncd *self)
{
  const char *id = self->process ? g_subprocess_get_identifier (self->process) : NULL;

  return id != NULL ? (GPid) g_ascii_strtoll (id, NULL, 10) : 0;
}

guint16
vd_test_syncd_get_port (VdTestSyncd *self)
{
  return self->port;
}

const char *
vd_test_syncd_get_fingerprint (VdTestSyncd *self)
{
  return self->fingerprint;
}

const char *
vd_test_syncd_get_database (VdTestSyncd *self)
{
  return self->database;
}

const char *
vd_test_syncd_get_data_dir (VdTestSyncd *self)
{
  return self->data_dir;
}

char *
vd_test_syncd_run (VdTestSyncd  *self,
                   const char   *stdin_text,
                   GError      **error,
                   const char   *command,
                   ...)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, self->binary);
  g_ptr_array_add (argv, (char *) command);
  va_start (args, command);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, "--database");
  g_ptr_array_add (argv, self->database);
  g_ptr_array_add (argv, "--data-dir");
  g_ptr_array_add (argv, self->data_dir);
  g_ptr_array_add (argv, NULL);

  launcher = new_launcher (self, G_SUBPROCESS_FLAGS_STDIN_PIPE
                                 | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                 | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
  if (process == NULL)
    return NULL;
  if (!g_subprocess_communicate_utf8 (process, stdin_text ? stdin_text : "", NULL,
                                      &out, &err, error))
    return NULL;
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "vetdesk-syncd %s exited with status %d: %s", command,
                   g_subprocess_get_if_exited (process)
                   ? g_subprocess_get_exit_status (process) : -1,
                   err ? g_strstrip (err) : "");
      return NULL;
    }
  return g_strdup (g_strchomp (out));
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
        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

void
vd_test_syncd_free (VdTestSyncd *self)
{
  if (self == NULL)
    return;
  if (self->process != NULL)
    {
      g_subprocess_send_signal (self->process, SIGTERM);
      if (!vd_test_syncd_wait (self, 15000, NULL))
        vd_test_syncd_kill (self);
    }
  if (g_getenv ("VD_TEST_KEEP") == NULL)
    remove_tree (self->data_dir);
  g_free (self->binary);
  g_free (self->data_dir);
  g_free (self->database);
  g_free (self->config_path);
  g_free (self->stdout_path);
  g_free (self->stderr_path);
  g_free (self->url);
  g_free (self->fingerprint);
  g_ptr_array_unref (self->env);
  g_free (self);
}

char *
vd_test_certificate_fingerprint (GTlsCertificate *cert)
{
  g_autoptr(GByteArray) der = NULL;
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize len = sizeof digest;
  GString *out = g_string_sized_new (96);

  g_object_get (cert, "certificate", &der, NULL);
  g_checksum_update (sum, der->data, der->len);
  g_checksum_get_digest (sum, digest, &len);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, i ? ":%02X" : "%02X", digest[i]);
  return g_string_free (out, FALSE);
}

static gboolean
accept_any_cb (GTlsConnection       *conn,
               GTlsCertificate      *cert,
               GTlsCertificateFlags  errors,
               gpointer              data)
{
  return TRUE;
}

GIOStream *
vd_test_tls_connect (guint16    port,
                     guint      timeout_s,
                     GSocket  **out_socket,
                     GError   **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) tcp = NULL;
  g_autoptr(GIOStream) tls = NULL;

  g_socket_client_set_timeout (client, timeout_s);
  tcp = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, error);
  if (tcp == NULL)
    return NULL;
  tls = g_tls_client_connection_new (G_IO_STREAM (tcp), NULL, error);
  if (tls == NULL)
    return NULL;
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (accept_any_cb), NULL);
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, error))
    return NULL;
  if (out_socket != NULL)
    *out_socket = g_socket_connection_get_socket (tcp);
  return g_steal_pointer (&tls);
}

gboolean
vd_test_accept_fingerprint_cb (gpointer             msg,
                               GTlsCertificate     *cert,
                               GTlsCertificateFlags errors,
                               gpointer             expected)
{
  g_autofree char *actual = vd_test_certificate_fingerprint (cert);

  return g_strcmp0 (actual, expected) == 0;
}

/* ---- device secrets ---- */

static GMutex device_secrets_lock;
static GHashTable *device_secrets;   /* device id → secret */

void
vd_test_device_secret_keep (const char *device_id,
                            const char *answer_json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  const char *secret;

  if (device_id == NULL || answer_json == NULL ||
      !json_parser_load_from_data (parser, answer_json, -1, NULL))
    return;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return;
  secret = json_object_get_string_member_with_default (json_node_get_object (root),
                                                       "device_secret", NULL);
  vd_test_device_secret_set (device_id, secret);
}

void
vd_test_device_secret_set (const char *device_id,
                           const char *secret)
{
  if (device_id == NULL || secret == NULL)
    return;
  g_mutex_lock (&device_secrets_lock);
  if (device_secrets == NULL)
    device_secrets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_replace (device_secrets, g_ascii_strdown (device_id, -1), g_strdup (secret));
  g_mutex_unlock (&device_secrets_lock);
}

const char *
vd_test_device_secret (const char *device_id)
{
  g_autofree char *key = device_id != NULL ? g_ascii_strdown (device_id, -1) : NULL;
  const char *secret = NULL;

  g_mutex_lock (&device_secrets_lock);
  if (device_secrets != NULL && key != NULL)
    secret = g_hash_table_lookup (device_secrets, key);
  g_mutex_unlock (&device_secrets_lock);
  return secret;
}
