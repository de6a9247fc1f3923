/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-credentials.c — the refresh token in a real Secret Service: a private D-Bus
 * session and gnome-keyring-daemon started here, then store, look up, replace and clear;
 * and the account file beside it. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "vd-id.h"
#include "vd-session.h"
#include "vd-test-syncd.h"

#define KEYRING_PASSWORD "keyring test password"

typedef struct
{
  GSubprocess *bus;
  GSubprocess *keyring;
  char        *home;
} Services;

static Services services;

/* A session bus of our own: the keyring of the person running the tests is never used. */
static gboolean
start_bus (GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *address = NULL;

  services.bus = g_subprocess_launcher_spawn (launcher, error, "dbus-daemon", "--session",
                                              "--nofork", "--print-address=1", NULL);
  if (services.bus == NULL)
    return FALSE;
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (services.bus));
  address = g_data_input_stream_read_line (out, NULL, NULL, error);
  if (address == NULL)
    return FALSE;
  g_strstrip (address);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
  return TRUE;
}

static gboolean
start_keyring (GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                               G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  GOutputStream *in;

  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", services.home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", services.home, TRUE);
  services.keyring = g_subprocess_launcher_spawn (launcher, error, "gnome-keyring-daemon",
                                                  "--foreground", "--unlock",
                                                  "--components=secrets", NULL);
  if (services.keyring == NULL)
    return FALSE;
  /* --unlock reads the login keyring's password from stdin, creating the keyring. */
  in = g_subprocess_get_stdin_pipe (services.keyring);
  if (!g_output_stream_write_all (in, KEYRING_PASSWORD, strlen (KEYRING_PASSWORD), NULL, NULL, error))
    return FALSE;
  return g_output_stream_close (in, NULL, error);
}

static void
stop_services (void)
{
  if (services.keyring != NULL)
    {
      g_subprocess_send_signal (services.keyring, SIGTERM);
      g_subprocess_wait (services.keyring, NULL, NULL);
    }
  if (services.bus != NULL)
    {
      g_subprocess_send_signal (services.bus, SIGTERM);
      g_subprocess_wait (services.bus, NULL, NULL);
    }
  g_clear_object (&services.keyring);
  g_clear_object (&services.bus);
}

/* Waits for our keyring to own the Secret Service name; asking before that would make
 * the bus start another keyring daemon that nobody stops. */
static void
wait_for_keyring (void)
{
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GError) error = NULL;

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(GVariant) reply = NULL;
      gboolean owned = FALSE;

      reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "NameHasOwner",
                                           g_variant_new ("(s)", "org.freedesktop.secrets"),
                                           G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                           NULL, &error);
      g_assert_no_error (error);
      g_variant_get (reply, "(b)", &owned);
      if (owned)
        return;
      g_usleep (50 * 1000);
    }
  g_error ("gnome-keyring-daemon did not claim org.freedesktop.secrets");
}

static void
test_round_trip (void)
{
  const char *server = "https://clinic.example:8443";
  const char *other_server = "https://other.example:8443";
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *second = NULL;
  g_autofree char *other = NULL;
  g_autofree char *gone = NULL;

  wait_for_keyring ();

  g_assert_null (vd_credentials_lookup (server, "ana", &error));
  g_assert_no_error (error);

  g_assert_true (vd_credentials_store (server, "ana", "refresh-token-1", &error));
  g_assert_no_error (error);
  g_assert_true (vd_credentials_store (other_server, "ana", "refresh-token-other", &error));
  g_assert_true (vd_credentials_store (server, "bruno", "refresh-token-bruno", &error));

  token = vd_credentials_lookup (server, "ana", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (token, ==, "refresh-token-1");

  /* A rotation replaces the secret; it does not add a second one. */
  g_assert_true (vd_credentials_store (server, "ana", "refresh-token-2", &error));
  second = vd_credentials_lookup (server, "ana", &error);
  g_assert_cmpstr (second, ==, "refresh-token-2");

  /* Server and username both pick the secret. */
  other = vd_credentials_lookup (other_server, "ana", &error);
  g_assert_cmpstr (other, ==, "refresh-token-other");

  g_assert_true (vd_credentials_clear (server, "ana", &error));
  g_assert_no_error (error);
  gone = vd_credentials_lookup (server, "ana", &error);
  g_assert_no_error (error);
  g_assert_null (gone);
  g_clear_pointer (&other, g_free);
  other = vd_credentials_lookup (server, "bruno", &error);
  g_assert_cmpstr (other, ==, "refresh-token-bruno");
  /* Clearing what is not there is not an error. */
  g_assert_true (vd_credentials_clear (server, "ana", &error));
  g_assert_no_error (error);
}

typedef struct
{
  GAsyncResult *result;
} Wait;

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  ((Wait *) user_data)->result = g_object_ref (result);
}

static VdLoginResult *
sign_in (VdTestSyncd  *syncd,
         const char   *username,
         const char   *device_id,
         GError      **error)
{
  g_autofree char *secret = NULL;
  Wait wait = { NULL };
  VdLoginResult *result;

  /* As the sign-in page does: the device secret kept for this server and device id. */
  secret = vd_device_secret_lookup (vd_test_syncd_get_url (syncd), device_id, error);
  if (error != NULL && *error != NULL)
    return NULL;
  vd_session_login_async (vd_test_syncd_get_url (syncd), vd_test_syncd_get_fingerprint (syncd),
                          username, "correct horse battery", device_id, secret, "Desk PC", NULL,
                          wait_cb, &wait);
  while (wait.result == NULL)
    g_main_context_iteration (NULL, TRUE);
  result = vd_session_login_finish (wait.result, error);
  g_object_unref (wait.result);
  if (result != NULL && !vd_login_result_keep_device_secret (result, error))
    g_clear_pointer (&result, vd_login_result_free);
  return result;
}

/* The device secret (§6) is kept in the Secret Service beside the refresh token and sent
 * at every later sign-in from this computer, whoever signs in; without it the server
 * refuses the device id. */
static void
test_device_secret (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdTestSyncd) syncd = vd_test_syncd_new (VETDESK_SYNCD, NULL);
  g_autoptr(VdLoginResult) first = NULL;
  g_autoptr(VdLoginResult) second = NULL;
  g_autoptr(VdLoginResult) refused = NULL;
  g_autofree char *device = vd_uuid_new ();
  g_autofree char *kept = NULL;
  g_autofree char *gone = NULL;
  const char *users[] = { "desk", "vet" };

  wait_for_keyring ();
  g_free (vd_test_syncd_run (syncd, NULL, &error, "migrate", NULL));
  g_assert_no_error (error);
  g_free (vd_test_syncd_run (syncd, NULL, &error, "add-company", "Company", NULL));
  g_assert_no_error (error);
  g_free (vd_test_syncd_run (syncd, NULL, &error, "add-tenant", "--slug", "norte", "--name",
                             "Norte", "--timezone", "Europe/Madrid", "--currency", "EUR",
                             "--company", "Company", NULL));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (users); i++)
    {
      g_free (vd_test_syncd_run (syncd, "correct horse battery\n", &error, "add-user",
                                 "--username", users[i], "--display-name", users[i],
                                 "--clinic", "norte:front_desk", NULL));
      g_assert_no_error (error);
    }
  g_assert_true (vd_test_syncd_start (syncd, &error));

  /* The first sign-in with a new device id: the secret it gets goes to the keyring. */
  first = sign_in (syncd, "desk", device, &error);
  g_assert_no_error (error);
  g_assert_nonnull (first->device_secret);
  g_assert_cmpstr (first->device_id, ==, device);
  kept = vd_device_secret_lookup (vd_test_syncd_get_url (syncd), device, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kept, ==, first->device_secret);

  /* Another person at this computer: the kept secret is sent, the server takes it. */
  second = sign_in (syncd, "vet", device, &error);
  g_assert_no_error (error);
  g_assert_null (second->device_secret);

  /* Without it (another computer, or the keyring emptied) the device id is refused. */
  g_assert_true (vd_device_secret_clear (vd_test_syncd_get_url (syncd), device, &error));
  gone = vd_device_secret_lookup (vd_test_syncd_get_url (syncd), device, &error);
  g_assert_no_error (error);
  g_assert_null (gone);
  refused = sign_in (syncd, "vet", device, &error);
  g_assert_null (refused);
  g_assert_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_DEVICE_REFUSED);
  g_assert_nonnull (strchr (error->message, ' '));
}

static void
test_account_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdAccount) loaded = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  VdAccount account = {
    .server_url = (char *) "https://clinic.example:8443",
    .fingerprint = (char *) "AA:BB:CC",
    .username = (char *) "ana",
    .user_id = (char *) "0b6a6f8e-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
    .tenant_id = (char *) "6f1c2b9e-3a4d-4e5f-8a7b-1c2d3e4f5a6b",
    .device_id = (char *) "7a7a7a7a-1111-4222-8333-944444444444",
  };
  GStatBuf st;

  g_assert_null (vd_account_load (&error));
  g_assert_no_error (error);

  g_assert_true (vd_account_save (&account, &error));
  g_assert_no_error (error);
  loaded = vd_account_load (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (loaded->server_url, ==, account.server_url);
  g_assert_cmpstr (loaded->fingerprint, ==, account.fingerprint);
  g_assert_cmpstr (loaded->username, ==, account.username);
  g_assert_cmpstr (loaded->user_id, ==, account.user_id);
  g_assert_cmpstr (loaded->tenant_id, ==, account.tenant_id);
  g_assert_cmpstr (loaded->device_id, ==, account.device_id);

  /* No secret in the file, and only its owner reads it. */
  path = g_build_filename (g_get_user_config_dir (), "vetdesk", "account.ini", NULL);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_null (strstr (text, "token"));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_assert_true (vd_account_forget (&error));
  g_assert_no_error (error);
  g_clear_pointer (&loaded, vd_account_free);
  g_assert_null (vd_account_load (&error));
  g_assert_no_error (error);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *keyring = g_find_program_in_path ("gnome-keyring-daemon");
  g_autofree char *bus = g_find_program_in_path ("dbus-daemon");
  int status;

  g_test_init (&argc, &argv, NULL);

  services.home = g_dir_make_tmp ("vd-test-credentials-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("XDG_CONFIG_HOME", services.home, TRUE);
  g_setenv ("XDG_DATA_HOME", services.home, TRUE);

  g_test_add_func ("/credentials/account-file", test_account_file);
  if (keyring == NULL || bus == NULL)
    {
      g_test_add_data_func ("/credentials/secret-service",
                            keyring == NULL ? "gnome-keyring-daemon is not installed"
                                            : "dbus-daemon is not installed",
                            (GTestDataFunc) g_test_skip);
      return g_test_run ();
    }
  if (!start_bus (&error) || !start_keyring (&error))
    g_error ("The private session bus or keyring did not start: %s", error->message);

  g_test_add_func ("/credentials/secret-service", test_round_trip);
  g_test_add_func ("/credentials/device-secret", test_device_secret);
  status = g_test_run ();
  stop_services ();
  return status;
}
