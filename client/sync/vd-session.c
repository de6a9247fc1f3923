/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-session.c — signing in: probing the server's certificate, the login call and its
 * errors as sentences, the account file, and the refresh token in the Secret Service. */
#define G_LOG_DOMAIN "vdclient"

#include "config.h"

#include "vd-session.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsecret/secret.h>
#include <string.h>

#include "vd-session-private.h"

G_DEFINE_QUARK (vd-session-error-quark, vd_session_error)

static JsonObject *object_member (JsonObject *object,
                                  const char *name);

/* ---- HTTP helpers shared with the sync engine ------------------------------------- */

char *
vd_tls_fingerprint (GTlsCertificate *certificate)
{
  g_autoptr(GByteArray) der = NULL;
  g_autoptr(GChecksum) checksum = NULL;
  guint8 digest[32];
  gsize len = sizeof digest;
  GString *out;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  g_object_get (certificate, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;
  checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (checksum, der->data, der->len);
  g_checksum_get_digest (checksum, digest, &len);

  out = g_string_sized_new (3 * len);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, "%s%02X", i > 0 ? ":" : "", digest[i]);
  return g_string_free (out, FALSE);
}

SoupSession *
vd_http_session_new (const char *pinned_fingerprint)
{
  SoupSession *session;

  session = soup_session_new_with_options ("user-agent", VD_USER_AGENT,
                                           "timeout", 30,
                                           "idle-timeout", 60,
                                           NULL);
  /* Without a database every certificate is "unknown CA", so accept-certificate runs
   * for each connection and the pin decides, even for a CA-signed replacement. */
  if (pinned_fingerprint != NULL)
    soup_session_set_tls_database (session, NULL);
  return session;
}

static gboolean
accept_certificate_cb (SoupMessage          *msg,
                       GTlsCertificate      *certificate,
                       GTlsCertificateFlags  errors,
                       VdPinCheck           *check)
{
  g_free (check->seen);
  check->seen = vd_tls_fingerprint (certificate);
  if (check->pinned == NULL)
    {
      check->untrusted = TRUE;
      return FALSE;
    }
  /* Only the identity is pinned: an expired or misnamed certificate the user
   * confirmed is still the one they confirmed. */
  if (check->seen != NULL && g_ascii_strcasecmp (check->seen, check->pinned) == 0)
    return TRUE;
  check->mismatch = TRUE;
  return FALSE;
}

void
vd_pin_message (SoupMessage *msg,
                VdPinCheck  *check)
{
  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_certificate_cb), check);
}

void
vd_pin_check_clear (VdPinCheck *check)
{
  g_clear_pointer (&check->pinned, g_free);
  g_clear_pointer (&check->seen, g_free);
  check->mismatch = FALSE;
  check->untrusted = FALSE;
}

char *
vd_http_error_text (GBytes  *body,
                    char   **out_code)
{
  gconstpointer data = NULL;
  gsize len = 0;

  if (body != NULL)
    data = g_bytes_get_data (body, &len);
  return vd_error_body_decode (data, len, out_code);
}

guint
vd_http_retry_after (SoupMessage *msg,
                     guint        fallback)
{
  const char *text = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                   "Retry-After");
  guint64 seconds;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, 24 * 3600, &seconds, NULL))
    return fallback;
  return (guint) seconds;
}

gboolean
vd_http_error_is_offline (const GError *error)
{
  if (error == NULL)
    return FALSE;
  if (error->domain == G_RESOLVER_ERROR)
    return TRUE;
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_FAILED);
}

char *
vd_http_url (const char *server_url,
             const char *path)
{
  gsize len = strlen (server_url);

  while (len > 0 && server_url[len - 1] == '/')
    len--;
  return g_strdup_printf ("%.*s%s", (int) len, server_url, path);
}

static JsonObject *
object_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* ---- Results ---------------------------------------------------------------------- */

void
vd_login_result_free (VdLoginResult *result)
{
  if (result == NULL)
    return;
  g_free (result->server_url);
  g_free (result->fingerprint);
  g_free (result->username);
  g_free (result->user_id);
  g_free (result->display_name);
  g_free (result->platform_role);
  if (result->access_token != NULL)
    memset (result->access_token, 0, strlen (result->access_token));
  if (result->refresh_token != NULL)
    memset (result->refresh_token, 0, strlen (result->refresh_token));
  g_free (result->access_token);
  g_free (result->refresh_token);
  g_clear_pointer (&result->clinics, g_ptr_array_unref);
  g_free (result->device_id);
  if (result->device_secret != NULL)
    memset (result->device_secret, 0, strlen (result->device_secret));
  g_free (result->device_secret);
  g_free (result);
}

/* ---- Probe ------------------------------------------------------------------------ */

typedef struct
{
  SoupSession *session;
  SoupMessage *msg;
  VdPinCheck   check;
  char        *server_url;
  char        *fingerprint;   /* pinned, for login */
  gboolean     trusted;
  GBytes      *body;          /* login request */
  char        *device_id;     /* login */
} Call;

static void
call_free (Call *call)
{
  g_clear_object (&call->msg);
  g_clear_object (&call->session);
  vd_pin_check_clear (&call->check);
  g_free (call->server_url);
  g_free (call->fingerprint);
  g_clear_pointer (&call->body, g_bytes_unref);
  g_free (call->device_id);
  g_free (call);
}

static gboolean
set_unreachable (GError     **error,
                 const GError *cause)
{
  g_set_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_UNREACHABLE,
               _("The server could not be reached. Check its address and this computer’s network connection (%s)."),
               cause != NULL ? cause->message : _("no answer"));
  return FALSE;
}

static void
probe_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Call *call = g_task_get_task_data (task);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  GTlsCertificate *peer;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  /* An untrusted certificate ends the call, but its fingerprint was seen: that is the
   * answer the user confirms. */
  if (call->check.untrusted && call->check.seen != NULL)
    {
      call->trusted = FALSE;
      g_task_return_pointer (task, g_strdup (call->check.seen), g_free);
      return;
    }
  if (error != NULL)
    {
      GError *out = NULL;

      set_unreachable (&out, error);
      g_task_return_error (task, out);
      return;
    }
  peer = soup_message_get_tls_peer_certificate (call->msg);
  if (peer == NULL)
    {
      g_task_return_new_error (task, VD_SESSION_ERROR, VD_SESSION_ERROR_UNREACHABLE,
                               _("The server did not answer over a secure connection."));
      return;
    }
  call->trusted = TRUE;
  g_task_return_pointer (task, vd_tls_fingerprint (peer), g_free);
}

void
vd_session_probe_async (const char          *server_url,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *url = NULL;
  Call *call;

  g_return_if_fail (server_url != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, vd_session_probe_async);
  call = g_new0 (Call, 1);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);

  url = vd_http_url (server_url, "/v1/health");
  call->session = vd_http_session_new (NULL);
  call->msg = soup_message_new (SOUP_METHOD_GET, url);
  if (call->msg == NULL || !g_str_has_prefix (url, "https://"))
    {
      g_task_return_new_error (task, VD_SESSION_ERROR, VD_SESSION_ERROR_UNREACHABLE,
                               _("“%s” is not a server address: it must start with https://."),
                               server_url);
      return;
    }
  vd_pin_message (call->msg, &call->check);
  soup_session_send_and_read_async (call->session, call->msg, G_PRIORITY_DEFAULT, cancellable,
                                    probe_done_cb, g_steal_pointer (&task));
}

char *
vd_session_probe_finish (GAsyncResult  *result,
                         gboolean      *out_trusted_by_ca,
                         GError       **error)
{
  Call *call;
  char *fingerprint;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  fingerprint = g_task_propagate_pointer (G_TASK (result), error);
  call = g_task_get_task_data (G_TASK (result));
  if (out_trusted_by_ca != NULL)
    *out_trusted_by_ca = fingerprint != NULL && call != NULL && call->trusted;
  return fingerprint;
}

/* ---- Login ------------------------------------------------------------------------ */

static char *
dup_member (JsonObject *object,
            const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (node));
}

static VdLoginResult *
parse_login (Call         *call,
             const char   *username,
             GBytes       *body,
             GError      **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(VdLoginResult) login = NULL;
  JsonObject *root;
  JsonObject *user;
  JsonArray *tenants = NULL;
  gconstpointer data;
  gsize len = 0;

  data = g_bytes_get_data (body, &len);
  if (!json_parser_load_from_data (parser, data, (gssize) len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    goto bad;
  root = json_node_get_object (json_parser_get_root (parser));
  user = object_member (root, "user");

  login = g_new0 (VdLoginResult, 1);
  login->server_url = g_strdup (call->server_url);
  login->fingerprint = g_strdup (call->fingerprint);
  login->access_token = dup_member (root, "access_token");
  login->refresh_token = dup_member (root, "refresh_token");
  login->user_id = dup_member (user, "id");
  login->username = dup_member (user, "username");
  login->display_name = dup_member (user, "display_name");
  login->platform_role = dup_member (user, "platform_role");
  login->device_id = g_strdup (call->device_id);
  login->device_secret = dup_member (root, "device_secret");
  if (login->username == NULL)
    login->username = g_strdup (username);
  if (login->platform_role == NULL)
    login->platform_role = g_strdup ("none");
  if (login->access_token == NULL || login->refresh_token == NULL || login->user_id == NULL)
    goto bad;

  login->clinics = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_clinic_info_free);
  if (json_object_has_member (root, "tenants") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (root, "tenants")))
    tenants = json_object_get_array_member (root, "tenants");
  for (guint i = 0; tenants != NULL && i < json_array_get_length (tenants); i++)
    {
      JsonNode *node = json_array_get_element (tenants, i);
      JsonObject *tenant;
      VdClinicInfo *info;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      tenant = json_node_get_object (node);
      info = g_new0 (VdClinicInfo, 1);
      info->tenant_id = dup_member (tenant, "id");
      info->slug = dup_member (tenant, "slug");
      info->name = dup_member (tenant, "name");
      info->timezone = dup_member (tenant, "timezone");
      info->currency = dup_member (tenant, "currency");
      info->role = dup_member (tenant, "role");
      if (info->tenant_id == NULL)
        {
          vd_clinic_info_free (info);
          continue;
        }
      g_ptr_array_add (login->clinics, info);
    }

  if (login->clinics->len == 0 && g_strcmp0 (login->platform_role, "none") == 0)
    {
      g_set_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_NO_CLINIC,
                   _("This account does not belong to any clinic yet. Ask your clinic’s administrator to add it."));
      return NULL;
    }
  return g_steal_pointer (&login);

bad:
  g_set_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_FAILED,
               _("The server’s answer to the sign-in could not be understood. Is this a VetDesk server?"));
  return NULL;
}

static void
login_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Call *call = g_task_get_task_data (task);
  const char *username = g_object_get_data (G_OBJECT (task), "username");
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  VdLoginResult *login;
  guint status;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (call->check.mismatch)
    {
      g_task_return_new_error (task, VD_SESSION_ERROR, VD_SESSION_ERROR_CERT_CHANGED,
                               _("The server’s certificate has changed since it was confirmed (it is now %s). This can mean someone is intercepting the connection: ask your administrator before going on."),
                               call->check.seen);
      return;
    }
  if (call->check.untrusted)
    {
      g_task_return_new_error (task, VD_SESSION_ERROR, VD_SESSION_ERROR_UNTRUSTED_CERT,
                               _("No certificate authority on this computer vouches for the server. Its fingerprint is %s; confirm it with your administrator before trusting it."),
                               call->check.seen != NULL ? call->check.seen : "?");
      return;
    }
  if (error != NULL)
    {
      GError *out = NULL;

      if (error->domain == G_TLS_ERROR)
        g_set_error (&out, VD_SESSION_ERROR, VD_SESSION_ERROR_UNTRUSTED_CERT,
                     _("A secure connection to the server could not be made (%s)."), error->message);
      else
        set_unreachable (&out, error);
      g_task_return_error (task, out);
      return;
    }

  status = soup_message_get_status (call->msg);
  message = vd_http_error_text (body, NULL);
  if (status == SOUP_STATUS_OK)
    {
      login = parse_login (call, username, body, &error);
      if (login == NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_pointer (task, login, (GDestroyNotify) vd_login_result_free);
    }
  else if (status == SOUP_STATUS_UNAUTHORIZED)
    g_task_return_new_error (task, VD_SESSION_ERROR, VD_SESSION_ERROR_BAD_CREDENTIALS,
                             _("The username or password is not right."));
  else if (status == 429)
    {
      g_autoptr(GDateTime) now = g_date_time_new_now_local ();
      g_autoptr(GDateTime) until = g_date_time_add_seconds (now, vd_http_retry_after (call->msg, 60));
      g_autofree char *when = NULL;

      when = g_date_time_format (until, "%H:%M");
      g_task_return_new_error (task, VD_SESSION_ERROR, VD_SESSION_ERROR_LOCKED,
                               _("This account is locked after too many attempts, until %s. Try again then, or ask an administrator."),
                               when);
    }
  else if (status == SOUP_STATUS_FORBIDDEN)
    g_task_return_new_error (task, VD_SESSION_ERROR, VD_SESSION_ERROR_DEVICE_REFUSED,
                             _("The server refused this computer’s sign-in: %s"),
                             message != NULL ? message : soup_message_get_reason_phrase (call->msg));
  else if (status >= 500)
    g_task_return_new_error (task, VD_SESSION_ERROR, VD_SESSION_ERROR_UNREACHABLE,
                             _("The server could not sign you in right now (%s). Try again in a few minutes."),
                             message != NULL ? message : soup_message_get_reason_phrase (call->msg));
  else
    g_task_return_new_error (task, VD_SESSION_ERROR, VD_SESSION_ERROR_FAILED,
                             _("The server refused the sign-in: %s"),
                             message != NULL ? message : soup_message_get_reason_phrase (call->msg));
}

void
vd_session_login_async (const char          *server_url,
                        const char          *fingerprint,
                        const char          *username,
                        const char          *password,
                        const char          *device_id,
                        const char          *device_secret,
                        const char          *device_name,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *url = NULL;
  char *json;
  gsize len = 0;
  Call *call;

  g_return_if_fail (server_url != NULL && username != NULL && password != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, vd_session_login_async);
  g_object_set_data_full (G_OBJECT (task), "username", g_strdup (username), g_free);
  call = g_new0 (Call, 1);
  call->server_url = g_strdup (server_url);
  call->fingerprint = g_strdup (fingerprint);
  call->check.pinned = g_strdup (fingerprint);
  call->device_id = g_strdup (device_id);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);

  url = vd_http_url (server_url, "/v1/auth/login");
  call->session = vd_http_session_new (fingerprint);
  call->msg = g_str_has_prefix (url, "https://") ? soup_message_new (SOUP_METHOD_POST, url) : NULL;
  if (call->msg == NULL)
    {
      g_task_return_new_error (task, VD_SESSION_ERROR, VD_SESSION_ERROR_UNREACHABLE,
                               _("“%s” is not a server address: it must start with https://."),
                               server_url);
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "username");
  json_builder_add_string_value (builder, username);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, password);
  json_builder_set_member_name (builder, "device_id");
  json_builder_add_string_value (builder, device_id != NULL ? device_id : "");
  json_builder_set_member_name (builder, "device_name");
  json_builder_add_string_value (builder, device_name != NULL ? device_name : g_get_host_name ());
  if (device_secret != NULL && device_secret[0] != '\0')
    {
      json_builder_set_member_name (builder, "device_secret");
      json_builder_add_string_value (builder, device_secret);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json = json_generator_to_data (generator, &len);
  call->body = g_bytes_new_take (json, len);

  soup_message_set_request_body_from_bytes (call->msg, "application/json", call->body);
  vd_pin_message (call->msg, &call->check);
  soup_session_send_and_read_async (call->session, call->msg, G_PRIORITY_DEFAULT, cancellable,
                                    login_done_cb, g_steal_pointer (&task));
}

VdLoginResult *
vd_session_login_finish (GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- Account ---------------------------------------------------------------------- */

#define ACCOUNT_GROUP "account"

void
vd_account_free (VdAccount *account)
{
  if (account == NULL)
    return;
  g_free (account->server_url);
  g_free (account->fingerprint);
  g_free (account->username);
  g_free (account->user_id);
  g_free (account->tenant_id);
  g_free (account->device_id);
  g_free (account);
}

static char *
account_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "vetdesk", "account.ini", NULL);
}

VdAccount *
vd_account_load (GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = account_path ();
  g_autoptr(GError) local_error = NULL;
  VdAccount *account;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return NULL;
      g_set_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_FAILED,
                   _("The saved account in “%s” could not be read: %s"), path, local_error->message);
      return NULL;
    }

  account = g_new0 (VdAccount, 1);
  account->server_url = g_key_file_get_string (kf, ACCOUNT_GROUP, "server", NULL);
  account->fingerprint = g_key_file_get_string (kf, ACCOUNT_GROUP, "fingerprint", NULL);
  account->username = g_key_file_get_string (kf, ACCOUNT_GROUP, "username", NULL);
  account->user_id = g_key_file_get_string (kf, ACCOUNT_GROUP, "user-id", NULL);
  account->tenant_id = g_key_file_get_string (kf, ACCOUNT_GROUP, "tenant-id", NULL);
  account->device_id = g_key_file_get_string (kf, ACCOUNT_GROUP, "device-id", NULL);
  /* An empty value is written for "none". */
  if (account->fingerprint != NULL && account->fingerprint[0] == '\0')
    g_clear_pointer (&account->fingerprint, g_free);
  if (account->server_url == NULL || account->username == NULL)
    {
      vd_account_free (account);
      g_set_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_FAILED,
                   _("The saved account in “%s” is incomplete; sign in again."), path);
      return NULL;
    }
  return account;
}

static void
set_key (GKeyFile   *kf,
         const char *key,
         const char *value)
{
  g_key_file_set_string (kf, ACCOUNT_GROUP, key, value != NULL ? value : "");
}

gboolean
vd_account_save (const VdAccount  *account,
                 GError          **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = account_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *data = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize len = 0;

  g_return_val_if_fail (account != NULL, FALSE);

  set_key (kf, "server", account->server_url);
  set_key (kf, "fingerprint", account->fingerprint);
  set_key (kf, "username", account->username);
  set_key (kf, "user-id", account->user_id);
  set_key (kf, "tenant-id", account->tenant_id);
  set_key (kf, "device-id", account->device_id);
  data = g_key_file_to_data (kf, &len, NULL);

  if (g_mkdir_with_parents (dir, 0700) != 0 ||
      !g_file_set_contents_full (path, data, (gssize) len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local_error))
    {
      g_set_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_FAILED,
                   _("The account could not be saved in “%s”: %s"), path,
                   local_error != NULL ? local_error->message : g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

gboolean
vd_account_forget (GError **error)
{
  g_autofree char *path = account_path ();

  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      int saved = errno;

      g_set_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_FAILED,
                   _("The saved account in “%s” could not be removed: %s"), path,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* ---- Credentials ------------------------------------------------------------------ */

/* libsecret keeps one connection to the Secret Service per process, with a session that
 * ends when the keyring daemon does. After a keyring restart every call fails with that
 * stale session ("The session wrapping the secret does not exist") until the connection
 * is dropped: a failed call is tried once more on a fresh one. */
static gboolean
secret_retry (GError **error)
{
  if (error == NULL || *error == NULL)
    return FALSE;
  g_clear_error (error);
  secret_service_disconnect ();
  return TRUE;
}

static const SecretSchema *
session_schema (void)
{
  static const SecretSchema schema = {
    "org.vetdesk.VetDesk.Session", SECRET_SCHEMA_NONE,
    {
      { "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "username", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    }
  };

  return &schema;
}

static void
set_secret_error (GError     **error,
                  GError      *cause,
                  const char  *what)
{
  g_set_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_FAILED,
               /* Translators: %s (first) is "saved", "read" or "removed". */
               _("The sign-in could not be %s in the keyring (%s). Is a keyring such as GNOME Keyring running?"),
               what, cause != NULL ? cause->message : "");
}

/* The keyring's three calls for one schema whose attributes are the server and one key
 * (the username of a sign-in, or the device id). A call that fails on a stale
 * connection (the keyring restarted) is tried once more on a fresh one. */
static gboolean
keyring_store (const SecretSchema  *schema,
               const char          *server_url,
               const char          *key,
               const char          *label,
               const char          *secret,
               GError             **error)
{
  const char *key_name = schema->attributes[1].name;

  if (secret_password_store_sync (schema, SECRET_COLLECTION_DEFAULT, label, secret, NULL, error,
                                  "server", server_url, key_name, key, NULL))
    return TRUE;
  return secret_retry (error) &&
         secret_password_store_sync (schema, SECRET_COLLECTION_DEFAULT, label, secret, NULL,
                                     error, "server", server_url, key_name, key, NULL);
}

static char *
keyring_lookup (const SecretSchema  *schema,
                const char          *server_url,
                const char          *key,
                GError             **error)
{
  const char *key_name = schema->attributes[1].name;
  char *secret;
  char *copy;

  secret = secret_password_lookup_sync (schema, NULL, error,
                                        "server", server_url, key_name, key, NULL);
  if (secret_retry (error))
    secret = secret_password_lookup_sync (schema, NULL, error,
                                          "server", server_url, key_name, key, NULL);
  if (secret == NULL)
    return NULL;
  copy = g_strdup (secret);
  secret_password_free (secret);
  return copy;
}

static void
keyring_clear (const SecretSchema  *schema,
               const char          *server_url,
               const char          *key,
               GError             **error)
{
  const char *key_name = schema->attributes[1].name;

  secret_password_clear_sync (schema, NULL, error, "server", server_url, key_name, key, NULL);
  if (secret_retry (error))
    secret_password_clear_sync (schema, NULL, error, "server", server_url, key_name, key, NULL);
}

gboolean
vd_credentials_store (const char  *server_url,
                      const char  *username,
                      const char  *refresh_token,
                      GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *label = NULL;

  g_return_val_if_fail (server_url != NULL && username != NULL && refresh_token != NULL, FALSE);

  label = g_strdup_printf (_("VetDesk sign-in of %s at %s"), username, server_url);
  if (!keyring_store (session_schema (), server_url, username, label, refresh_token,
                      &local_error))
    {
      set_secret_error (error, local_error, _("saved"));
      return FALSE;
    }
  return TRUE;
}

char *
vd_credentials_lookup (const char  *server_url,
                       const char  *username,
                       GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  char *secret;

  g_return_val_if_fail (server_url != NULL && username != NULL, NULL);

  secret = keyring_lookup (session_schema (), server_url, username, &local_error);
  if (local_error != NULL)
    {
      set_secret_error (error, local_error, _("read"));
      g_clear_pointer (&secret, g_free);
    }
  return secret;
}

gboolean
vd_credentials_clear (const char  *server_url,
                      const char  *username,
                      GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (server_url != NULL && username != NULL, FALSE);

  keyring_clear (session_schema (), server_url, username, &local_error);
  if (local_error != NULL)
    {
      set_secret_error (error, local_error, _("removed"));
      return FALSE;
    }
  return TRUE;
}

/* ---- Device secret ---------------------------------------------------------------- */

static const SecretSchema *
device_schema (void)
{
  static const SecretSchema schema = {
    "org.vetdesk.VetDesk.Device", SECRET_SCHEMA_NONE,
    {
      { "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "device-id", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    }
  };

  return &schema;
}

static void
set_device_secret_error (GError     **error,
                         GError      *cause)
{
  g_set_error (error, VD_SESSION_ERROR, VD_SESSION_ERROR_FAILED,
               _("This computer’s device secret could not be kept in the keyring (%s). "
                 "Is a keyring such as GNOME Keyring running? Without it the next sign-in "
                 "here will be refused."),
               cause != NULL ? cause->message : "");
}

gboolean
vd_device_secret_store (const char  *server_url,
                        const char  *device_id,
                        const char  *secret,
                        GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *label = NULL;

  g_return_val_if_fail (server_url != NULL && device_id != NULL && secret != NULL, FALSE);

  label = g_strdup_printf (_("VetDesk device secret of this computer at %s"), server_url);
  if (!keyring_store (device_schema (), server_url, device_id, label, secret, &local_error))
    {
      set_device_secret_error (error, local_error);
      return FALSE;
    }
  return TRUE;
}

char *
vd_device_secret_lookup (const char  *server_url,
                         const char  *device_id,
                         GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  char *secret;

  g_return_val_if_fail (server_url != NULL && device_id != NULL, NULL);

  secret = keyring_lookup (device_schema (), server_url, device_id, &local_error);
  if (local_error != NULL)
    {
      set_secret_error (error, local_error, _("read"));
      g_clear_pointer (&secret, g_free);
    }
  return secret;
}

gboolean
vd_device_secret_clear (const char  *server_url,
                        const char  *device_id,
                        GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (server_url != NULL && device_id != NULL, FALSE);

  keyring_clear (device_schema (), server_url, device_id, &local_error);
  if (local_error != NULL)
    {
      set_secret_error (error, local_error, _("removed"));
      return FALSE;
    }
  return TRUE;
}

gboolean
vd_login_result_keep_device_secret (const VdLoginResult  *result,
                                    GError              **error)
{
  g_return_val_if_fail (result != NULL, FALSE);

  if (result->device_secret == NULL)
    return TRUE;
  g_return_val_if_fail (result->server_url != NULL && result->device_id != NULL, FALSE);
  return vd_device_secret_store (result->server_url, result->device_id, result->device_secret,
                                 error);
}
