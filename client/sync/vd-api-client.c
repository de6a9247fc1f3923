/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-api-client.c — the desk's one authenticated line to vetdesk-syncd: one libsoup
 * session with the pinned certificate, the tokens (wiped when dropped), messages that
 * carry the bearer token, and the one refresh that runs at a time, its outcome given to
 * every caller that waited for it. */
#include "config.h"

#include "vd-api-client.h"

#include <string.h>

#include "vd-error.h"
#include "vd-json.h"

/* A refresh answer is two tokens and a few numbers. */
#define REFRESH_ANSWER_MAX 65536

struct _VdApiClient
{
  GObject      parent_instance;

  char        *server_url;
  char        *fingerprint;
  SoupSession *session;
  char        *access_token;
  char        *refresh_token;

  /* Refresh tokens rotate and a spent one presented again ends the whole session, so
   * one refresh runs at a time and every caller of the meantime waits for it. */
  SoupMessage *refresh_msg;      /* the refresh under way, or NULL */
  VdPinCheck   refresh_check;
  GPtrArray   *waiting;          /* GTask* of refresh callers */
};

G_DEFINE_FINAL_TYPE (VdApiClient, vd_api_client, G_TYPE_OBJECT)

enum
{
  REFRESH_TOKEN_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* What every waiter of one refresh is told. */
typedef struct
{
  SoupMessage *msg;
  GBytes      *body;
  VdPinCheck   check;
  GError      *error;
} Outcome;

static void
outcome_free (Outcome *outcome)
{
  g_clear_object (&outcome->msg);
  g_clear_pointer (&outcome->body, g_bytes_unref);
  vd_pin_check_clear (&outcome->check);
  g_clear_error (&outcome->error);
  g_free (outcome);
}

static void
wipe (char **secret)
{
  if (*secret != NULL)
    memset (*secret, 0, strlen (*secret));
  g_clear_pointer (secret, g_free);
}

static void
vd_api_client_finalize (GObject *object)
{
  VdApiClient *self = VD_API_CLIENT (object);

  g_free (self->server_url);
  g_free (self->fingerprint);
  wipe (&self->access_token);
  wipe (&self->refresh_token);
  g_clear_object (&self->refresh_msg);
  vd_pin_check_clear (&self->refresh_check);
  g_clear_pointer (&self->waiting, g_ptr_array_unref);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (vd_api_client_parent_class)->finalize (object);
}

static void
vd_api_client_class_init (VdApiClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = vd_api_client_finalize;

  /**
   * VdApiClient::refresh-token-changed:
   * @token: the new refresh token
   *
   * The refresh token rotated; the old one no longer works. Save this one now.
   */
  signals[REFRESH_TOKEN_CHANGED] =
    g_signal_new ("refresh-token-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
vd_api_client_init (VdApiClient *self)
{
  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
}

VdApiClient *
vd_api_client_new (const char *server_url,
                   const char *fingerprint)
{
  VdApiClient *self;

  g_return_val_if_fail (server_url != NULL, NULL);

  self = g_object_new (VD_TYPE_API_CLIENT, NULL);
  self->server_url = g_strdup (server_url);
  self->fingerprint = g_strdup (fingerprint);
  self->session = vd_http_session_new (fingerprint);
  return self;
}

const char *
vd_api_client_get_server_url (VdApiClient *self)
{
  g_return_val_if_fail (VD_IS_API_CLIENT (self), NULL);
  return self->server_url;
}

const char *
vd_api_client_get_fingerprint (VdApiClient *self)
{
  g_return_val_if_fail (VD_IS_API_CLIENT (self), NULL);
  return self->fingerprint;
}

SoupSession *
vd_api_client_get_session (VdApiClient *self)
{
  g_return_val_if_fail (VD_IS_API_CLIENT (self), NULL);
  return self->session;
}

void
vd_api_client_set_tokens (VdApiClient *self,
                          const char  *access_token,
                          const char  *refresh_token)
{
  g_return_if_fail (VD_IS_API_CLIENT (self));

  wipe (&self->access_token);
  wipe (&self->refresh_token);
  self->access_token = g_strdup (access_token);
  self->refresh_token = g_strdup (refresh_token);
}

const char *
vd_api_client_get_access_token (VdApiClient *self)
{
  g_return_val_if_fail (VD_IS_API_CLIENT (self), NULL);
  return self->access_token;
}

gboolean
vd_api_client_has_refresh_token (VdApiClient *self)
{
  g_return_val_if_fail (VD_IS_API_CLIENT (self), FALSE);
  return self->refresh_token != NULL;
}

gboolean
vd_api_client_is_refreshing (VdApiClient *self)
{
  g_return_val_if_fail (VD_IS_API_CLIENT (self), FALSE);
  return self->refresh_msg != NULL;
}

void
vd_api_client_forget_access_token (VdApiClient *self)
{
  g_return_if_fail (VD_IS_API_CLIENT (self));
  wipe (&self->access_token);
}

void
vd_api_client_clear_tokens (VdApiClient *self)
{
  g_return_if_fail (VD_IS_API_CLIENT (self));
  wipe (&self->access_token);
  wipe (&self->refresh_token);
}

SoupMessage *
vd_api_client_new_message (VdApiClient *self,
                           const char  *method,
                           const char  *path,
                           GBytes      *body,
                           gboolean     authorized,
                           VdPinCheck  *check)
{
  g_autofree char *url = NULL;
  SoupMessageHeaders *headers;
  SoupMessage *msg;

  g_return_val_if_fail (VD_IS_API_CLIENT (self), NULL);
  g_return_val_if_fail (check != NULL, NULL);

  url = vd_http_url (self->server_url, path);
  msg = soup_message_new (method, url);
  if (msg == NULL)
    return NULL;
  headers = soup_message_get_request_headers (msg);
  soup_message_headers_replace (headers, "Accept", "application/json");
  if (authorized && self->access_token != NULL)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", self->access_token, NULL);

      soup_message_headers_replace (headers, "Authorization", bearer);
      memset (bearer, 0, strlen (bearer));
    }
  if (body != NULL)
    soup_message_set_request_body_from_bytes (msg, "application/json", body);
  if (check->pinned == NULL)
    check->pinned = g_strdup (self->fingerprint);
  g_clear_pointer (&check->seen, g_free);
  check->mismatch = FALSE;
  check->untrusted = FALSE;
  vd_pin_message (msg, check);
  return msg;
}

/* ---- The refresh ------------------------------------------------------------------ */

/* The two tokens of a refresh answer, or FALSE. */
static gboolean
read_tokens (GBytes  *body,
             char   **out_access,
             char   **out_refresh)
{
  g_autoptr(VdJsonDoc) doc = NULL;
  const char *access, *refresh;
  gsize len = 0;
  const char *data = g_bytes_get_data (body, &len);

  if (data == NULL || len == 0)
    return FALSE;
  doc = vd_json_doc_parse_untrusted (data, len, REFRESH_ANSWER_MAX, NULL);
  if (doc == NULL || doc->nodes[0].kind != VD_JSON_OBJECT)
    return FALSE;
  access = vd_json_get_string (doc, vd_json_object_get (doc, 0, "access_token"));
  refresh = vd_json_get_string (doc, vd_json_object_get (doc, 0, "refresh_token"));
  if (access == NULL || refresh == NULL)
    return FALSE;
  *out_access = g_strdup (access);
  *out_refresh = g_strdup (refresh);
  return TRUE;
}

static void
finish_refresh (VdApiClient *self,
                GBytes      *body,
                GError      *error)   /* taken; NULL on success */
{
  g_autoptr(GPtrArray) waiting = g_steal_pointer (&self->waiting);
  g_autoptr(SoupMessage) msg = g_steal_pointer (&self->refresh_msg);

  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiting->len; i++)
    {
      GTask *task = waiting->pdata[i];
      Outcome *outcome = g_new0 (Outcome, 1);

      if (error == NULL)
        {
          g_task_return_pointer (task, outcome, (GDestroyNotify) outcome_free);
          continue;
        }
      outcome->msg = msg != NULL ? g_object_ref (msg) : NULL;
      outcome->body = body != NULL ? g_bytes_ref (body) : NULL;
      outcome->check.pinned = g_strdup (self->refresh_check.pinned);
      outcome->check.seen = g_strdup (self->refresh_check.seen);
      outcome->check.mismatch = self->refresh_check.mismatch;
      outcome->check.untrusted = self->refresh_check.untrusted;
      outcome->error = g_error_copy (error);
      g_task_return_pointer (task, outcome, (GDestroyNotify) outcome_free);
    }
  vd_pin_check_clear (&self->refresh_check);
  g_clear_error (&error);
}

static void
refresh_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(VdApiClient) self = user_data;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  GError *error = NULL;
  guint status;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (body == NULL)
    {
      finish_refresh (self, NULL, error);
      return;
    }
  status = soup_message_get_status (self->refresh_msg);
  if (status != SOUP_STATUS_OK)
    {
      /* A refused refresh ends the session: no later call may present the token again. */
      if (status == SOUP_STATUS_UNAUTHORIZED)
        vd_api_client_clear_tokens (self);
      finish_refresh (self, body, g_error_new (VD_ERROR, VD_ERROR_UNAUTHORIZED,
                                               "refresh refused (%u)", status));
      return;
    }
  if (!read_tokens (body, &access, &refresh))
    {
      finish_refresh (self, body, g_error_new_literal (VD_ERROR, VD_ERROR_INTERNAL,
                                                       "bad refresh answer"));
      return;
    }

  wipe (&self->access_token);
  wipe (&self->refresh_token);
  self->access_token = g_steal_pointer (&access);
  self->refresh_token = g_steal_pointer (&refresh);
  /* The old refresh token is spent now: whoever keeps it must save this one at once. */
  g_signal_emit (self, signals[REFRESH_TOKEN_CHANGED], 0, self->refresh_token);
  finish_refresh (self, NULL, NULL);
}

static void
start_refresh (VdApiClient *self)
{
  g_autoptr(GBytes) body = NULL;
  GString *json = g_string_new ("{\"refresh_token\":");
  gsize len;

  vd_json_append_string (json, self->refresh_token);
  g_string_append_c (json, '}');
  len = json->len;
  body = g_bytes_new_take (g_string_free (json, FALSE), len);

  /* Not idempotent: a resent, already spent refresh token revokes the session. */
  self->refresh_msg = vd_api_client_new_message (self, SOUP_METHOD_POST, "/v1/auth/refresh",
                                                 body, FALSE, &self->refresh_check);
  if (self->refresh_msg == NULL)
    {
      finish_refresh (self, NULL, g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                               "“%s” is not a server address.", self->server_url));
      return;
    }
  /* Not cancellable: a refresh the server answered must be kept, or the token is lost. */
  soup_session_send_and_read_async (self->session, self->refresh_msg, G_PRIORITY_DEFAULT,
                                    NULL, refresh_done_cb, g_object_ref (self));
}

void
vd_api_client_refresh_async (VdApiClient         *self,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (VD_IS_API_CLIENT (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, vd_api_client_refresh_async);
  if (self->refresh_token == NULL)
    {
      Outcome *outcome = g_new0 (Outcome, 1);

      outcome->error = g_error_new_literal (VD_ERROR, VD_ERROR_UNAUTHORIZED, "no refresh token");
      g_task_return_pointer (task, outcome, (GDestroyNotify) outcome_free);
      g_object_unref (task);
      return;
    }
  g_ptr_array_add (self->waiting, task);
  if (self->refresh_msg == NULL)
    start_refresh (self);
}

gboolean
vd_api_client_refresh_finish (VdApiClient   *self,
                              GAsyncResult  *result,
                              SoupMessage  **out_msg,
                              GBytes       **out_body,
                              VdPinCheck    *out_check,
                              GError       **error)
{
  Outcome *outcome;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (out_msg != NULL)
    *out_msg = NULL;
  if (out_body != NULL)
    *out_body = NULL;
  if (out_check != NULL)
    vd_pin_check_clear (out_check);

  outcome = g_task_propagate_pointer (G_TASK (result), error);
  if (outcome == NULL)
    return FALSE;
  if (outcome->error == NULL)
    {
      outcome_free (outcome);
      return TRUE;
    }
  if (out_msg != NULL && outcome->msg != NULL)
    *out_msg = g_object_ref (outcome->msg);
  if (out_body != NULL && outcome->body != NULL)
    *out_body = g_bytes_ref (outcome->body);
  if (out_check != NULL)
    {
      out_check->pinned = g_strdup (outcome->check.pinned);
      out_check->seen = g_strdup (outcome->check.seen);
      out_check->mismatch = outcome->check.mismatch;
      out_check->untrusted = outcome->check.untrusted;
    }
  g_propagate_error (error, g_steal_pointer (&outcome->error));
  outcome_free (outcome);
  return FALSE;
}
