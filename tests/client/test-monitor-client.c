/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-monitor-client.c — the administrators' client against a real vetdesk-syncd with the
 * demo clinics, over HTTPS with the certificate pinned: the listing and a clinic's
 * devices and activity, one refresh for several calls that meet an expired access token
 * (a second would spend the token twice and end the session), the errors a person sees
 * for other companies' clinics, desks, a changed certificate, and signing out. */
#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "vd-monitor-client.h"
#include "vd-session.h"
#include "vd-id.h"
#include "vd-test-syncd.h"

#define DEMO_PASSWORD "vetdesk-demo"

/* Access tokens live three seconds, so a test can outlive one; no rate limits. */
#define CONFIG \
  "[limits]\n" \
  "address-rate=0\n" \
  "clinic-rate=0\n" \
  "login-rate=0\n" \
  "access-ttl=3\n"

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
                          username, DEMO_PASSWORD, device, NULL, "monitor test", NULL, wait_cb,
                          &wait);
  wait_run (&wait);
  result = vd_session_login_finish (wait.result, &error);
  g_object_unref (wait.result);
  g_assert_no_error (error);
  return result;
}

static VdMonitorClient *
client_for (VdTestSyncd   *syncd,
            VdLoginResult *login_result)
{
  return vd_monitor_client_new (vd_test_syncd_get_url (syncd), vd_test_syncd_get_fingerprint (syncd),
                                login_result->access_token, login_result->refresh_token);
}

static GPtrArray *
list_tenants (VdMonitorClient  *client,
              GError          **error)
{
  Wait wait = { NULL };
  GPtrArray *tenants;

  vd_monitor_client_list_tenants_async (client, NULL, wait_cb, &wait);
  wait_run (&wait);
  tenants = vd_monitor_client_list_tenants_finish (client, wait.result, error);
  g_object_unref (wait.result);
  return tenants;
}

static GPtrArray *
list_devices (VdMonitorClient  *client,
              const char       *tenant_id,
              GError          **error)
{
  Wait wait = { NULL };
  GPtrArray *devices;

  vd_monitor_client_list_devices_async (client, tenant_id, NULL, wait_cb, &wait);
  wait_run (&wait);
  devices = vd_monitor_client_list_devices_finish (client, wait.result, error);
  g_object_unref (wait.result);
  return devices;
}

static VdMonitorTenant *
find (GPtrArray  *tenants,
      const char *name)
{
  for (guint i = 0; i < tenants->len; i++)
    if (g_strcmp0 (vd_monitor_tenant_get_name (tenants->pdata[i]), name) == 0)
      return tenants->pdata[i];
  return NULL;
}

static void
count_rotation (VdMonitorClient *client,
                const char      *token,
                guint           *rotations)
{
  g_assert_nonnull (token);
  (*rotations)++;
}

/* The test's own daemon on 127.0.0.1, with its self-signed certificate. */
static gboolean
accept_any (SoupMessage          *msg,
            GTlsCertificate      *certificate,
            GTlsCertificateFlags  errors,
            gpointer              user_data)
{
  return TRUE;
}

static guint
refresh_status (VdTestSyncd *syncd,
                const char  *refresh_token)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (vd_test_syncd_get_url (syncd), "/v1/auth/refresh", NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  g_autofree char *body = g_strdup_printf ("{\"refresh_token\":\"%s\"}", refresh_token);
  g_autoptr(GBytes) request = g_bytes_new (body, strlen (body));
  g_autoptr(GBytes) answer = NULL;

  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_any), NULL);
  soup_message_set_request_body_from_bytes (msg, "application/json", request);
  answer = soup_session_send_and_read (session, msg, NULL, NULL);
  return soup_message_get_status (msg);
}

static void
test_listing_and_refresh (void)
{
  g_autoptr(VdTestSyncd) syncd = start_syncd ();
  g_autoptr(VdLoginResult) admin = login (syncd, "plataforma");
  g_autoptr(VdMonitorClient) client = client_for (syncd, admin);
  g_autoptr(GPtrArray) tenants = NULL;
  g_autoptr(GError) error = NULL;
  VdMonitorTenant *centro;
  Wait waits[3] = { { NULL }, { NULL }, { NULL } };
  guint rotations = 0;

  g_assert_cmpstr (admin->platform_role, ==, "platform_admin");
  g_assert_cmpuint (admin->clinics->len, ==, 0);
  g_signal_connect (client, "refresh-token-changed", G_CALLBACK (count_rotation), &rotations);

  tenants = list_tenants (client, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tenants->len, ==, 5);
  centro = find (tenants, "Clínica Veterinaria Centro");
  g_assert_nonnull (centro);
  g_assert_true (vd_uuid_is_valid (vd_monitor_tenant_get_id (centro)));
  g_assert_cmpstr (vd_monitor_tenant_get_timezone (centro), ==, "Europe/Madrid");
  g_assert_nonnull (vd_monitor_tenant_get_company_id (centro));
  g_assert_true (g_strv_contains ((const char * const[]) { "ok", "lagging", "offline", "errors", NULL },
                                  vd_monitor_tenant_get_health (centro)));
  g_assert_cmpint (vd_monitor_tenant_get_devices (centro), >=, vd_monitor_tenant_get_devices_online (centro));

  /* The access token has expired: three calls at once meet the 401, one refresh serves
   * them all, and the refresh token the client started with is spent. */
  g_usleep (4100 * 1000);
  vd_monitor_client_list_tenants_async (client, NULL, wait_cb, &waits[0]);
  vd_monitor_client_list_devices_async (client, vd_monitor_tenant_get_id (centro), NULL, wait_cb, &waits[1]);
  vd_monitor_client_activity_async (client, vd_monitor_tenant_get_id (centro), NULL, wait_cb, &waits[2]);
  for (guint i = 0; i < 3; i++)
    wait_run (&waits[i]);
  {
    g_autoptr(GPtrArray) again = vd_monitor_client_list_tenants_finish (client, waits[0].result, &error);
    g_autoptr(GPtrArray) devices = NULL;
    g_autoptr(GArray) minutes = NULL;

    g_assert_no_error (error);
    g_assert_cmpuint (again->len, ==, 5);
    devices = vd_monitor_client_list_devices_finish (client, waits[1].result, &error);
    g_assert_no_error (error);
    g_assert_nonnull (devices);
    minutes = vd_monitor_client_activity_finish (client, waits[2].result, &error);
    g_assert_no_error (error);
    g_assert_nonnull (minutes);
  }
  for (guint i = 0; i < 3; i++)
    g_object_unref (waits[i].result);
  g_assert_cmpuint (rotations, ==, 1);

  /* No such device: a sentence, not a crash. */
  {
    g_autofree char *nobody = vd_uuid_new ();
    Wait wait = { NULL };

    vd_monitor_client_revoke_device_async (client, vd_monitor_tenant_get_id (centro), nobody, NULL,
                                           wait_cb, &wait);
    wait_run (&wait);
    g_assert_false (vd_monitor_client_revoke_device_finish (client, wait.result, &error));
    g_object_unref (wait.result);
    g_assert_error (error, VD_MONITOR_ERROR, VD_MONITOR_ERROR_NOT_FOUND);
    g_assert_nonnull (strchr (error->message, ' '));
    g_clear_error (&error);
  }

  /* Started without an access token (as after a restart): a refresh first. Signed out,
   * the next call says so. */
  {
    g_autoptr(VdLoginResult) second = login (syncd, "plataforma");
    g_autoptr(VdMonitorClient) fresh = vd_monitor_client_new (vd_test_syncd_get_url (syncd),
                                                              vd_test_syncd_get_fingerprint (syncd),
                                                              NULL, second->refresh_token);
    g_autoptr(GPtrArray) listed = list_tenants (fresh, &error);
    g_autoptr(GPtrArray) after = NULL;
    Wait wait = { NULL };

    g_assert_no_error (error);
    g_assert_cmpuint (listed->len, ==, 5);
    vd_monitor_client_sign_out_async (fresh, NULL, wait_cb, &wait);
    wait_run (&wait);
    g_assert_true (vd_monitor_client_sign_out_finish (fresh, wait.result, &error));
    g_assert_no_error (error);
    g_object_unref (wait.result);
    after = list_tenants (fresh, &error);
    g_assert_null (after);
    g_assert_error (error, VD_MONITOR_ERROR, VD_MONITOR_ERROR_SIGNED_OUT);
    g_clear_error (&error);
    /* Ended on the server too, not only forgotten here. */
    g_assert_cmpuint (refresh_status (syncd, second->refresh_token), ==, 401);
  }

  /* The token the client started with was spent by its refresh: presented again, the
   * server ends the whole session, and the client says so. */
  g_assert_cmpuint (refresh_status (syncd, admin->refresh_token), ==, 401);
  {
    g_autoptr(GPtrArray) after = list_tenants (client, &error);

    g_assert_null (after);
    g_assert_error (error, VD_MONITOR_ERROR, VD_MONITOR_ERROR_SIGNED_OUT);
  }
}

static void
test_scopes_and_pinning (void)
{
  g_autoptr(VdTestSyncd) syncd = start_syncd ();
  g_autoptr(VdLoginResult) platform = login (syncd, "plataforma");
  g_autoptr(VdLoginResult) company = login (syncd, "gerencia.petspa");
  g_autoptr(VdLoginResult) desk = login (syncd, "recepcion.centro");
  g_autoptr(VdMonitorClient) all = client_for (syncd, platform);
  g_autoptr(VdMonitorClient) own = client_for (syncd, company);
  g_autoptr(VdMonitorClient) desk_client = client_for (syncd, desk);
  g_autoptr(GPtrArray) every = NULL;
  g_autoptr(GPtrArray) mine = NULL;
  g_autoptr(GPtrArray) refused = NULL;
  g_autoptr(GPtrArray) devices = NULL;
  g_autoptr(GError) error = NULL;

  every = list_tenants (all, &error);
  g_assert_no_error (error);

  /* A company admin: their company's clinic only, and another's does not exist. */
  mine = list_tenants (own, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mine->len, ==, 1);
  g_assert_cmpstr (vd_monitor_tenant_get_name (mine->pdata[0]), ==, "Pet Spa Deluxe");
  devices = list_devices (own, vd_monitor_tenant_get_id (find (every, "Hospital Veterinario Norte")), &error);
  g_assert_null (devices);
  g_assert_error (error, VD_MONITOR_ERROR, VD_MONITOR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A desk sees no monitoring. */
  refused = list_tenants (desk_client, &error);
  g_assert_null (refused);
  g_assert_error (error, VD_MONITOR_ERROR, VD_MONITOR_ERROR_FORBIDDEN);
  g_clear_error (&error);

  /* Another certificate than the one pinned: refused, with the one seen. */
  {
    g_autoptr(VdMonitorClient) wrong = vd_monitor_client_new (vd_test_syncd_get_url (syncd),
                                                              "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                                                              "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
                                                              platform->access_token, platform->refresh_token);
    g_autoptr(GPtrArray) none = list_tenants (wrong, &error);

    g_assert_null (none);
    g_assert_error (error, VD_MONITOR_ERROR, VD_MONITOR_ERROR_CERT_CHANGED);
    g_assert_nonnull (strstr (error->message, vd_test_syncd_get_fingerprint (syncd)));
    g_clear_error (&error);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/client/monitor/listing-and-refresh", test_listing_and_refresh);
  g_test_add_func ("/client/monitor/scopes-and-pinning", test_scopes_and_pinning);
  return g_test_run ();
}
