/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-harness.c — the test harness cleans up after a test that dies: a helper process
 * (a GTest subprocess) starts a vetdesk-syncd or a throwaway PostgreSQL cluster, writes
 * down what it started and aborts; the test then checks that the daemon's process and
 * its directory are gone. */
#define G_LOG_DOMAIN "test-harness"

#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "vd-test-pg.h"
#include "vd-test-syncd.h"

/* Where the helper writes "PID\nDIRECTORY\n": the parent names it in the environment. */
#define NOTE_ENV "VD_TEST_HARNESS_NOTE"

/* Writes what the helper started, then aborts without a core file (as a failed
 * assertion does, but without leaving a core in the build tree). */
static void
note_and_abort (GPid        pid,
                const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("%d\n%s\n", (int) pid, dir);
  struct rlimit no_core = { 0, 0 };

  g_file_set_contents (g_getenv (NOTE_ENV), text, -1, &error);
  g_assert_no_error (error);
  setrlimit (RLIMIT_CORE, &no_core);
  abort ();
}

/* TRUE while pid is a live process whose command line contains name: a zombie, a
 * missing process or one that took the number since are not it. */
static gboolean
process_alive (GPid        pid,
               const char *name)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *cmdline_path = g_strdup_printf ("/proc/%d/cmdline", (int) pid);
  g_autofree char *stat = NULL;
  g_autofree char *cmdline = NULL;
  gsize len = 0;
  const char *state;

  if (!g_file_get_contents (stat_path, &stat, NULL, NULL)
      || !g_file_get_contents (cmdline_path, &cmdline, &len, NULL))
    return FALSE;
  state = strrchr (stat, ')');
  if (state == NULL || state[1] == '\0' || state[2] == 'Z' || state[2] == 'X')
    return FALSE;
  for (gsize i = 0; i + 1 < len; i++)
    if (cmdline[i] == '\0')
      cmdline[i] = ' ';
  return len > 0 && strstr (cmdline, name) != NULL;
}

/* Waits (at most 30 s: the harness reacts at once, the bound only keeps a broken one
 * from hanging the suite) for the process to go and the directory to be removed. */
static void
wait_gone (GPid        pid,
           const char *name,
           const char *dir,
           gboolean   *out_process_gone,
           gboolean   *out_dir_gone)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  do
    {
      *out_process_gone = !process_alive (pid, name);
      *out_dir_gone = !g_file_test (dir, G_FILE_TEST_EXISTS);
      if (*out_process_gone && *out_dir_gone)
        return;
      g_usleep (50 * 1000);
    }
  while (g_get_monotonic_time () < deadline);
}

/* Runs the current case again in a subprocess (the helper), which must abort, and reads
 * its note. */
static void
run_helper (GPid        *out_pid,
            char       **out_dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *note_dir = g_dir_make_tmp ("vd-test-harness-XXXXXX", &error);
  g_autofree char *note = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_no_error (error);
  note = g_build_filename (note_dir, "note", NULL);
  g_setenv (NOTE_ENV, note, TRUE);
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();

  g_file_get_contents (note, &text, NULL, &error);
  g_assert_no_error (error);
  g_unlink (note);
  g_rmdir (note_dir);
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), >=, 2);
  *out_pid = (GPid) g_ascii_strtoll (lines[0], NULL, 10);
  g_assert_cmpint (*out_pid, >, 0);
  *out_dir = g_strdup (lines[1]);
}

/* ---- vetdesk-syncd ---- */

static void
helper_syncd (void)
{
  g_autoptr(GError) error = NULL;
  VdTestSyncd *syncd = vd_test_syncd_new (VETDESK_SYNCD, NULL);

  if (!vd_test_syncd_start (syncd, &error))
    g_error ("%s", error->message);
  note_and_abort (vd_test_syncd_get_pid (syncd), vd_test_syncd_get_data_dir (syncd));
}

static void
test_syncd_dies_with_test (void)
{
  g_autofree char *dir = NULL;
  gboolean process_gone, dir_gone;
  GPid pid;

  if (g_test_subprocess ())
    {
      helper_syncd ();
      return;
    }
  if (g_getenv ("VD_TEST_KEEP") != NULL)
    {
      g_test_skip ("VD_TEST_KEEP keeps data directories");
      return;
    }
  run_helper (&pid, &dir);
  wait_gone (pid, "vetdesk-syncd", dir, &process_gone, &dir_gone);
  if (!process_gone)
    kill (pid, SIGKILL);
  g_assert_true (process_gone);
  g_assert_true (dir_gone);
}

/* ---- PostgreSQL ---- */

static void
helper_pg (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pid_file = NULL;
  g_autofree char *text = NULL;
  VdTestPg *pg = vd_test_pg_start (&error);

  g_assert_no_error (error);
  /* The server's pid is the first line of its postmaster.pid. */
  pid_file = g_build_filename (vd_test_pg_get_dir (pg), "data", "postmaster.pid", NULL);
  g_file_get_contents (pid_file, &text, NULL, &error);
  g_assert_no_error (error);
  note_and_abort ((GPid) g_ascii_strtoll (text, NULL, 10), vd_test_pg_get_dir (pg));
}

static void
test_pg_dies_with_test (void)
{
  g_autofree char *dir = NULL;
  gboolean process_gone, dir_gone;
  GPid pid;

  if (g_test_subprocess ())
    {
      helper_pg ();
      return;
    }
  if (!vd_test_pg_available ())
    {
      g_test_skip (vd_test_pg_unavailable_reason ());
      return;
    }
  run_helper (&pid, &dir);
  wait_gone (pid, "postgres", dir, &process_gone, &dir_gone);
  if (!process_gone)
    kill (pid, SIGKILL);
  g_assert_true (process_gone);
  g_assert_true (dir_gone);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/harness/syncd", test_syncd_dies_with_test);
  g_test_add_func ("/harness/postgresql", test_pg_dies_with_test);
  return g_test_run ();
}
