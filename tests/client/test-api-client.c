/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-api-client.c — VdApiClient against a real vetdesk-syncd over pinned HTTPS: calls
 * that meet a missing access token at once share one refresh, also across the clients
 * built on one VdApiClient (a second refresh would spend the rotated token twice and end
 * the session), and a refused refresh tells why and forgets the tokens. */
#include "config.h"

#include <gio/gio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "vd-api-client.h"
#include "vd-error.h"
#include "vd-id.h"
#include "vd-monitor-client.h"
#include "vd-session.h"
#include "vd-test-syncd.h"

#define DEMO_PASSWORD "vetdesk-demo"

#define CONFIG \
  "[limits]\n" \
  "address-rate=0\n" \
  "clinic-rate=0\n" \
  "login-rate=0\n"

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

static VdTestSyncd *
start_syncd (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;
  VdTestSyncd *syncd = vd_test_syncd_new (VETDESK_SYNCD, NULL);

  output = vd_test_syncd_run (syncd, NULL, &error, "load-demo", NULL);
  g_assert_no_error (error);
  vd_test_syncd_set_config (syncd, CONFIG);
  g_assert_true (vd_test_syncd_start (syncd, &error));
  g_assert_no_error (error);
  return syncd;
}

static VdLoginResult *
login (VdTestSyncd *syncd,
       const char  *username)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *device = vd_uuid_new ();
  Wait wait = { NULL };
  VdLoginResult *result;

  vd_session_login_async (vd_test_syncd_get_url (syncd), vd_test_syncd_get_fingerprint (syncd),
                          username, DEMO_PASSWORD, device, NULL, "api client test", NULL, wait_cb,
                          &wait);
  wait_run (&wait);
  result = vd_session_login_finish (wait.result, &error);
  g_object_unref (wait.result);
  g_assert_no_error (error);
  return result;
}

static void
count_rotation (VdApiClient *api,
                const char  *token,
                guint       *count)
{
  g_assert_nonnull (token);
  (*count)++;
}

/* Three refreshes asked for at once: one goes to the server, all three succeed. */
static void
test_one_refresh (void)
{
  g_autoptr(VdTestSyncd) syncd = start_syncd ();
  g_autoptr(VdLoginResult) admin = login (syncd, "plataforma");
  g_autoptr(VdApiClient) api = vd_api_client_new (vd_test_syncd_get_url (syncd),
                                                  vd_test_syncd_get_fingerprint (syncd));
  Wait waits[3] = { { NULL } };
  guint rotations = 0;

  vd_api_client_set_tokens (api, NULL, admin->refresh_token);
  g_signal_connect (api, "refresh-token-changed", G_CALLBACK (count_rotation), &rotations);

  for (guint i = 0; i < G_N_ELEMENTS (waits); i++)
    vd_api_client_refresh_async (api, wait_cb, &waits[i]);
  g_assert_true (vd_api_client_is_refreshing (api));
  for (guint i = 0; i < G_N_ELEMENTS (waits); i++)
    {
      g_autoptr(GError) error = NULL;

      wait_run (&waits[i]);
      g_assert_true (vd_api_client_refresh_finish (api, waits[i].result, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      g_object_unref (waits[i].result);
    }
  g_assert_cmpuint (rotations, ==, 1);
  g_assert_false (vd_api_client_is_refreshing (api));
  g_assert_nonnull (vd_api_client_get_access_token (api));

  /* The rotated token works: the session was not ended by a token spent twice. */
  {
    Wait wait = { NULL };
    g_autoptr(GError) error = NULL;

    vd_api_client_forget_access_token (api);
    vd_api_client_refresh_async (api, wait_cb, &wait);
    wait_run (&wait);
    g_assert_true (vd_api_client_refresh_finish (api, wait.result, NULL, NULL, NULL, &error));
    g_assert_no_error (error);
    g_object_unref (wait.result);
    g_assert_cmpuint (rotations, ==, 2);
  }
}

/* Two monitor clients on one API client, neither with an access token: their first
 * calls share one refresh and both get their answer. */
static void
test_shared (void)
{
  g_autoptr(VdTestSyncd) syncd = start_syncd ();
  g_autoptr(VdLoginResult) admin = login (syncd, "plataforma");
  g_autoptr(VdApiClient) api = vd_api_client_new (vd_test_syncd_get_url (syncd),
                                                  vd_test_syncd_get_fingerprint (syncd));
  g_autoptr(VdMonitorClient) one = NULL;
  g_autoptr(VdMonitorClient) two = NULL;
  Wait wait_one = { NULL }, wait_two = { NULL };
  g_autoptr(GPtrArray) tenants_one = NULL;
  g_autoptr(GPtrArray) tenants_two = NULL;
  g_autoptr(GError) error = NULL;
  guint rotations = 0;

  vd_api_client_set_tokens (api, NULL, admin->refresh_token);
  g_signal_connect (api, "refresh-token-changed", G_CALLBACK (count_rotation), &rotations);
  one = vd_monitor_client_new_for_api (api);
  two = vd_monitor_client_new_for_api (api);

  vd_monitor_client_list_tenants_async (one, NULL, wait_cb, &wait_one);
  vd_monitor_client_list_tenants_async (two, NULL, wait_cb, &wait_two);
  wait_run (&wait_one);
  wait_run (&wait_two);
  tenants_one = vd_monitor_client_list_tenants_finish (one, wait_one.result, &error);
  g_assert_no_error (error);
  tenants_two = vd_monitor_client_list_tenants_finish (two, wait_two.result, &error);
  g_assert_no_error (error);
  g_object_unref (wait_one.result);
  g_object_unref (wait_two.result);
  g_assert_cmpuint (tenants_one->len, >, 0);
  g_assert_cmpuint (tenants_two->len, ==, tenants_one->len);
  g_assert_cmpuint (rotations, ==, 1);
}

/* A refresh token the server does not know: refused with 401, the body kept for the
 * caller's message, and both tokens forgotten so none is presented again. */
static void
test_refused (void)
{
  g_autoptr(VdTestSyncd) syncd = start_syncd ();
  g_autoptr(VdApiClient) api = vd_api_client_new (vd_test_syncd_get_url (syncd),
                                                  vd_test_syncd_get_fingerprint (syncd));
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  VdPinCheck check = { 0 };
  Wait wait = { NULL };

  vd_api_client_set_tokens (api, "stale", "not-a-refresh-token");
  vd_api_client_refresh_async (api, wait_cb, &wait);
  wait_run (&wait);
  g_assert_false (vd_api_client_refresh_finish (api, wait.result, &msg, &body, &check, &error));
  g_object_unref (wait.result);
  g_assert_nonnull (error);
  g_assert_nonnull (msg);
  g_assert_cmpuint (soup_message_get_status (msg), ==, SOUP_STATUS_UNAUTHORIZED);
  g_assert_nonnull (body);
  g_assert_false (check.mismatch);
  g_assert_cmpstr (check.seen, ==, vd_test_syncd_get_fingerprint (syncd));
  g_assert_null (vd_api_client_get_access_token (api));
  g_assert_false (vd_api_client_has_refresh_token (api));
  vd_pin_check_clear (&check);

  /* With no refresh token left, a refresh fails at once, with no message. */
  g_clear_error (&error);
  g_clear_object (&msg);
  wait.result = NULL;
  vd_api_client_refresh_async (api, wait_cb, &wait);
  wait_run (&wait);
  g_assert_false (vd_api_client_refresh_finish (api, wait.result, &msg, NULL, NULL, &error));
  g_object_unref (wait.result);
  g_assert_error (error, VD_ERROR, VD_ERROR_UNAUTHORIZED);
  g_assert_null (msg);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/client/api/one-refresh", test_one_refresh);
  g_test_add_func ("/client/api/shared", test_shared);
  g_test_add_func ("/client/api/refused", test_refused);

  return g_test_run ();
}
