/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-desk.c — the desk's session (VdDesk) without a display, against a real
 * vetdesk-syncd with the demo clinics: nothing to resume on a computer with no saved
 * account, and an administrator's sign-in giving a monitor client (and no replica) that
 * sign-out takes away again, each announced through the properties the window follows. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "vd-desk.h"
#include "vd-id.h"
#include "vd-session.h"
#include "vd-test-syncd.h"

#define DEMO_PASSWORD "vetdesk-demo"

typedef struct
{
  GAsyncResult *result;
} Wait;

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
}

static void
wait_run (Wait *wait)
{
  gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (wait->result == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
count_cb (GObject    *object,
          GParamSpec *pspec,
          gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
test_desk_no_account (void)
{
  g_autoptr(VdDesk) desk = vd_desk_new (NULL);

  g_assert_false (vd_desk_resume (desk));
  g_assert_null (vd_desk_get_account (desk));
  g_assert_null (vd_desk_get_store (desk));
  g_assert_null (vd_desk_get_engine (desk));
  g_assert_null (vd_desk_get_monitor (desk));
}

static void
test_desk_administrator (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  g_autofree char *device = vd_uuid_new ();
  g_autoptr(VdLoginResult) result = NULL;
  g_autoptr(VdDesk) desk = NULL;
  VdTestSyncd *syncd = vd_test_syncd_new (VETDESK_SYNCD, NULL);
  Wait wait = { NULL };
  guint monitor_changes = 0, store_changes = 0;

  output = vd_test_syncd_run (syncd, NULL, &error, "load-demo", NULL);
  g_assert_no_error (error);
  g_assert_true (vd_test_syncd_start (syncd, &error));
  g_assert_no_error (error);

  vd_session_login_async (vd_test_syncd_get_url (syncd), vd_test_syncd_get_fingerprint (syncd),
                          "plataforma", DEMO_PASSWORD, device, NULL, "desk test", NULL, wait_cb,
                          &wait);
  wait_run (&wait);
  result = vd_session_login_finish (wait.result, &error);
  g_clear_object (&wait.result);
  g_assert_no_error (error);

  desk = vd_desk_new (vd_test_syncd_get_url (syncd));
  g_signal_connect (desk, "notify::monitor", G_CALLBACK (count_cb), &monitor_changes);
  g_signal_connect (desk, "notify::store", G_CALLBACK (count_cb), &store_changes);

  g_assert_cmpint (vd_desk_sign_in (desk, result, NULL, &error), ==, VD_DESK_SIGN_IN_MONITOR);
  g_assert_no_error (error);
  g_assert_cmpuint (monitor_changes, ==, 1);
  g_assert_nonnull (vd_desk_get_monitor (desk));
  g_assert_cmpstr (vd_monitor_client_get_server_url (vd_desk_get_monitor (desk)), ==,
                   vd_test_syncd_get_url (syncd));
  g_assert_cmpstr (vd_desk_get_monitor_user (desk), ==,
                   result->display_name != NULL ? result->display_name : result->username);
  /* An administrator's session is in memory only: no replica, nothing saved. */
  g_assert_null (vd_desk_get_store (desk));
  g_assert_null (vd_desk_get_account (desk));
  g_assert_cmpuint (store_changes, ==, 0);

  vd_desk_sign_out (desk);
  g_assert_cmpuint (monitor_changes, ==, 2);
  g_assert_null (vd_desk_get_monitor (desk));
  g_assert_null (vd_desk_get_monitor_user (desk));

  vd_desk_close (desk);
  g_clear_object (&desk);
  vd_test_syncd_free (syncd);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *home = g_dir_make_tmp ("vd-test-desk-XXXXXX", NULL);

  /* No saved account, and none written where the person running the tests keeps theirs. */
  g_setenv ("XDG_CONFIG_HOME", home, TRUE);
  g_setenv ("XDG_DATA_HOME", home, TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/desk/no-account", test_desk_no_account);
  g_test_add_func ("/desk/administrator", test_desk_administrator);
  return g_test_run ();
}
