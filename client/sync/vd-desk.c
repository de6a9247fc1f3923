/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-desk.c — the desk's session (see vd-desk.h): the account, the replica, its sync
 * engine and the monitor client of an administrator, with the keyring work in threads.
 * The application owns one per window; the window shows what it holds and forwards what
 * the person does (sign in, sign out). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "vd-desk.h"

struct _VdDesk
{
  GObject          parent_instance;

  char            *server_url;       /* from --server */
  GSettings       *settings;         /* NULL when the schema is not installed */
  VdAccount       *account;
  VdStore         *store;
  VdStore         *pending_store;    /* opened during sign-in for its device id */
  VdSyncEngine    *engine;
  char            *clinic_name;
  VdMonitorClient *monitor;          /* an administrator's session, or NULL */
  char            *monitor_user;
  GCancellable    *cancellable;
  gboolean         credentials_warned;
};

G_DEFINE_FINAL_TYPE (VdDesk, vd_desk, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_SERVER_URL,
  PROP_STORE,
  PROP_ENGINE,
  PROP_CLINIC_NAME,
  PROP_MONITOR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  SIGNAL_BOOTSTRAP_STARTED,
  SIGNAL_BOOTSTRAP_FINISHED,
  SIGNAL_WARNING,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- settings ---- */

static GSettings *
open_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  /* Run from the build dir without GSETTINGS_SCHEMA_DIR, there is no schema: go on with
   * the defaults rather than abort, as g_settings_new would. */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, APP_ID, TRUE);
  if (schema == NULL)
    {
      g_message ("The settings schema %s is not installed: window size and server are not remembered", APP_ID);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}

static void
remember_sign_in (VdDesk     *self,
                  const char *server_url,
                  const char *tenant_id)
{
  if (self->settings == NULL)
    return;
  if (server_url != NULL)
    g_settings_set_string (self->settings, "server-url", server_url);
  if (tenant_id != NULL)
    g_settings_set_string (self->settings, "last-clinic", tenant_id);
}

/* ---- credentials (in a thread: the keyring may take its time) ---- */

typedef struct
{
  char *server_url;
  char *username;
  char *token;
} Credentials;

static void
credentials_free (Credentials *c)
{
  g_free (c->server_url);
  g_free (c->username);
  g_free (c->token);
  g_free (c);
}

static Credentials *
credentials_new (const VdAccount *account,
                 const char      *token)
{
  Credentials *c = g_new0 (Credentials, 1);

  c->server_url = g_strdup (account->server_url);
  c->username = g_strdup (account->username);
  c->token = g_strdup (token);
  return c;
}

static void
store_credentials_thread (GTask        *task,
                          gpointer      source,
                          gpointer      task_data,
                          GCancellable *cancellable)
{
  Credentials *c = task_data;
  g_autoptr(GError) error = NULL;

  if (vd_credentials_store (c->server_url, c->username, c->token, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
store_credentials_done (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  VdDesk *self = VD_DESK (source);
  g_autoptr(GError) error = NULL;

  if (g_task_propagate_boolean (G_TASK (result), &error))
    return;
  g_warning ("Could not keep the sign-in in the keyring: %s", error->message);
  if (!self->credentials_warned)
    {
      self->credentials_warned = TRUE;
      g_signal_emit (self, signals[SIGNAL_WARNING], 0,
                     _("Your sign-in could not be kept in the keyring: you will be asked to sign in again next time VetDesk starts."));
    }
}

static void
save_refresh_token (VdDesk     *self,
                    const char *token)
{
  g_autoptr(GTask) task = NULL;

  if (self->account == NULL || token == NULL)
    return;

  task = g_task_new (self, NULL, store_credentials_done, NULL);
  g_task_set_task_data (task, credentials_new (self->account, token), (GDestroyNotify) credentials_free);
  g_task_run_in_thread (task, store_credentials_thread);
}

static void
refresh_token_changed_cb (VdDesk     *self,
                          const char *token)
{
  save_refresh_token (self, token);
}

static void
lookup_credentials_thread (GTask        *task,
                           gpointer      source,
                           gpointer      task_data,
                           GCancellable *cancellable)
{
  Credentials *c = task_data;
  g_autoptr(GError) error = NULL;
  char *token = vd_credentials_lookup (c->server_url, c->username, &error);

  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, token, g_free);
}

static void
lookup_credentials_done (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  VdDesk *self = VD_DESK (source);
  g_autoptr(GError) error = NULL;
  g_autofree char *token = g_task_propagate_pointer (G_TASK (result), &error);

  if (self->engine == NULL)
    return;
  if (error != NULL)
    g_warning ("Could not read the sign-in from the keyring: %s", error->message);

  /* Without a refresh token the engine reports needs-sign-in; local work goes on. */
  vd_sync_engine_set_tokens (self->engine, NULL, token);
  vd_sync_engine_start (self->engine);
}

static void
clear_credentials_thread (GTask        *task,
                          gpointer      source,
                          gpointer      task_data,
                          GCancellable *cancellable)
{
  Credentials *c = task_data;
  g_autoptr(GError) error = NULL;

  if (!vd_credentials_clear (c->server_url, c->username, &error))
    g_warning ("Could not remove the sign-in from the keyring: %s", error->message);
  g_task_return_boolean (task, TRUE);
}

/* ---- an administrator's session: the Sync Monitor ---- */

static void
end_monitor (VdDesk *self)
{
  if (self->monitor == NULL)
    return;
  g_clear_object (&self->monitor);
  g_clear_pointer (&self->monitor_user, g_free);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MONITOR]);
}

/* ---- the session ---- */

static void
end_session (VdDesk *self)
{
  if (self->store == NULL && self->engine == NULL)
    return;
  if (self->engine != NULL)
    {
      vd_sync_engine_stop (self->engine);
      g_signal_handlers_disconnect_by_data (self->engine, self);
    }
  g_clear_object (&self->engine);
  g_clear_object (&self->store);
  g_clear_pointer (&self->clinic_name, g_free);
  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENGINE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLINIC_NAME]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
  g_object_thaw_notify (G_OBJECT (self));
}

/* Opens the engine of store on the server; tokens come separately. ::notify::store is
 * the window's cue to show the new session (engine and clinic name are set by then). */
static void
begin_session (VdDesk     *self,
               VdStore    *store,
               const char *server_url,
               const char *fingerprint)
{
  g_autoptr(VdClinicInfo) clinic = NULL;

  end_session (self);
  end_monitor (self);
  self->store = g_object_ref (store);
  self->engine = vd_sync_engine_new (store, server_url, fingerprint);
  g_signal_connect_object (self->engine, "refresh-token-changed", G_CALLBACK (refresh_token_changed_cb), self, G_CONNECT_SWAPPED);
  clinic = vd_store_dup_clinic_info (store);
  self->clinic_name = clinic != NULL ? g_strdup (clinic->name) : NULL;

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENGINE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLINIC_NAME]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
  g_object_thaw_notify (G_OBJECT (self));
}

gboolean
vd_desk_resume (VdDesk *self)
{
  g_autoptr(VdAccount) account = NULL;
  g_autoptr(VdStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VdClinicInfo) clinic = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GTask) task = NULL;

  g_return_val_if_fail (VD_IS_DESK (self), FALSE);

  account = vd_account_load (&error);
  if (account == NULL)
    {
      if (error != NULL)
        g_warning ("Could not read the saved account: %s", error->message);
      return FALSE;
    }
  if (account->tenant_id == NULL || account->server_url == NULL)
    return FALSE;
  /* --server naming another server means signing in there. */
  if (self->server_url != NULL && g_strcmp0 (self->server_url, account->server_url) != 0)
    return FALSE;

  path = vd_store_default_path (account->server_url, account->tenant_id);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return FALSE;
  store = vd_store_open (path, account->tenant_id, &error);
  if (store == NULL)
    {
      g_warning ("Could not open the local copy %s: %s", path, error->message);
      return FALSE;
    }
  clinic = vd_store_dup_clinic_info (store);
  if (clinic == NULL)
    return FALSE;

  g_clear_pointer (&self->account, vd_account_free);
  self->account = g_steal_pointer (&account);
  begin_session (self, store, self->account->server_url, self->account->fingerprint);

  task = g_task_new (self, NULL, lookup_credentials_done, NULL);
  g_task_set_task_data (task, credentials_new (self->account, NULL), (GDestroyNotify) credentials_free);
  g_task_run_in_thread (task, lookup_credentials_thread);
  return TRUE;
}

static void
bootstrap_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(VdDesk) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!vd_sync_engine_sync_finish (VD_SYNC_ENGINE (source), result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (self->engine != VD_SYNC_ENGINE (source))
    return;

  g_signal_emit (self, signals[SIGNAL_BOOTSTRAP_FINISHED], 0, error != NULL ? error->message : NULL);
  if (self->engine != NULL)
    vd_sync_engine_start (self->engine);
}

/* Administrators get the Sync Monitor; their session lives in memory only (nothing of it
 * is saved: the next start asks again), and a desk's saved account stays as it was. */
static void
begin_monitor (VdDesk        *self,
               VdLoginResult *result)
{
  end_session (self);
  end_monitor (self);
  g_clear_object (&self->pending_store);
  remember_sign_in (self, result->server_url, NULL);

  self->monitor = vd_monitor_client_new (result->server_url, result->fingerprint,
                                         result->access_token, result->refresh_token);
  self->monitor_user = g_strdup (result->display_name != NULL ? result->display_name : result->username);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MONITOR]);
}

VdDeskSignIn
vd_desk_sign_in (VdDesk         *self,
                 VdLoginResult  *result,
                 VdClinicInfo   *clinic,
                 GError        **error)
{
  g_autoptr(VdAccount) account = NULL;
  g_autoptr(VdStore) store = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *path = NULL;

  g_return_val_if_fail (VD_IS_DESK (self), VD_DESK_SIGN_IN_FAILED);
  g_return_val_if_fail (result != NULL, VD_DESK_SIGN_IN_FAILED);

  if (clinic == NULL)
    {
      begin_monitor (self, result);
      return VD_DESK_SIGN_IN_MONITOR;
    }

  account = g_new0 (VdAccount, 1);
  account->server_url = g_strdup (result->server_url);
  account->fingerprint = g_strdup (result->fingerprint);
  account->username = g_strdup (result->username);
  account->user_id = g_strdup (result->user_id);
  account->tenant_id = g_strdup (clinic->tenant_id);
  remember_sign_in (self, result->server_url, clinic->tenant_id);

  /* Signing in again to the same clinic: the replica and the engine carry on. */
  if (self->store != NULL && self->account != NULL &&
      g_strcmp0 (self->account->server_url, result->server_url) == 0 &&
      g_strcmp0 (vd_store_get_tenant_id (self->store), clinic->tenant_id) == 0 &&
      g_strcmp0 (self->account->fingerprint, result->fingerprint) == 0)
    {
      account->device_id = g_strdup (vd_store_get_device_id (self->store));
      if (!vd_account_save (account, &local_error))
        g_warning ("Could not save the account: %s", local_error->message);
      g_clear_pointer (&self->account, vd_account_free);
      self->account = g_steal_pointer (&account);
      save_refresh_token (self, result->refresh_token);
      vd_store_set_clinic_info (self->store, clinic, NULL);
      vd_sync_engine_set_tokens (self->engine, result->access_token, result->refresh_token);
      vd_sync_engine_sync_now (self->engine);
      return VD_DESK_SIGN_IN_RENEWED;
    }

  if (self->pending_store != NULL &&
      g_strcmp0 (vd_store_get_tenant_id (self->pending_store), clinic->tenant_id) == 0)
    store = g_steal_pointer (&self->pending_store);
  else
    {
      g_clear_object (&self->pending_store);
      path = vd_store_default_path (result->server_url, clinic->tenant_id);
      store = vd_store_open (path, clinic->tenant_id, &local_error);
    }
  if (store == NULL || !vd_store_set_clinic_info (store, clinic, &local_error))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return VD_DESK_SIGN_IN_FAILED;
    }

  account->device_id = g_strdup (vd_store_get_device_id (store));
  if (!vd_account_save (account, &local_error))
    {
      g_warning ("Could not save the account: %s", local_error->message);
      g_clear_error (&local_error);
    }
  g_clear_pointer (&self->account, vd_account_free);
  self->account = g_steal_pointer (&account);
  save_refresh_token (self, result->refresh_token);

  begin_session (self, store, result->server_url, result->fingerprint);
  vd_sync_engine_set_tokens (self->engine, result->access_token, result->refresh_token);

  if (vd_store_get_cursor (store) > 0)
    {
      vd_sync_engine_start (self->engine);
      return VD_DESK_SIGN_IN_OPENED;
    }

  /* The first sync copies the whole clinic: the window shows its progress while it runs. */
  g_signal_emit (self, signals[SIGNAL_BOOTSTRAP_STARTED], 0);
  vd_sync_engine_sync_async (self->engine, self->cancellable, bootstrap_done_cb, g_object_ref (self));
  return VD_DESK_SIGN_IN_BOOTSTRAP;
}

/* The replica of the chosen clinic is opened (made, the first time) before the final
 * login, whose session must carry the replica's device id. */
char *
vd_desk_device_for_clinic (VdDesk     *self,
                           const char *server_url,
                           const char *tenant_id,
                           const char *new_device_id)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (VD_IS_DESK (self), NULL);

  if (self->store != NULL && g_strcmp0 (vd_store_get_tenant_id (self->store), tenant_id) == 0)
    return g_strdup (vd_store_get_device_id (self->store));

  g_clear_object (&self->pending_store);
  path = vd_store_default_path (server_url, tenant_id);
  /* A clinic new to this computer takes the device id the sign-in just used, so that
   * session is the desk's and no second sign-in is needed. */
  self->pending_store = vd_store_open_for_device (path, tenant_id, new_device_id, &error);
  if (self->pending_store == NULL)
    {
      g_warning ("Could not open %s: %s", path, error->message);
      return NULL;
    }
  return g_strdup (vd_store_get_device_id (self->pending_store));
}

/* ---- signing out ---- */

static void
server_sign_out_done (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  /* Best effort: tokens the server was not told about still end at their expiry. */
  if (!vd_monitor_client_sign_out_finish (VD_MONITOR_CLIENT (source), result, &error))
    g_message ("The server was not told of the sign-out: %s", error->message);
}

void
vd_desk_sign_out (VdDesk *self)
{
  g_autoptr(VdMonitorClient) server = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (VD_IS_DESK (self));

  if (self->monitor != NULL)
    {
      server = g_object_ref (self->monitor);
      end_monitor (self);
    }
  else if (self->account != NULL)
    {
      /* The logout goes on the engine's line to the server, with its tokens. */
      if (self->engine != NULL &&
          vd_api_client_has_refresh_token (vd_sync_engine_get_api_client (self->engine)))
        server = vd_monitor_client_new_for_api (vd_sync_engine_get_api_client (self->engine));
      end_session (self);
      if (!vd_account_forget (&error))
        g_warning ("%s", error->message);
      if (self->account->username != NULL)
        {
          g_autoptr(GTask) task = g_task_new (self, NULL, NULL, NULL);

          g_task_set_task_data (task, credentials_new (self->account, NULL), (GDestroyNotify) credentials_free);
          g_task_run_in_thread (task, clear_credentials_thread);
        }
      g_clear_pointer (&self->account->tenant_id, g_free);
    }
  if (server != NULL)
    vd_monitor_client_sign_out_async (server, NULL, server_sign_out_done, NULL);
}

void
vd_desk_close (VdDesk *self)
{
  g_return_if_fail (VD_IS_DESK (self));

  g_cancellable_cancel (self->cancellable);
  end_session (self);
  end_monitor (self);
  g_clear_object (&self->pending_store);
}

/* ---- public ---- */

VdDesk *
vd_desk_new (const char *server_url)
{
  return g_object_new (VD_TYPE_DESK, "server-url", server_url, NULL);
}

const char *
vd_desk_get_server_url (VdDesk *self)
{
  g_return_val_if_fail (VD_IS_DESK (self), NULL);
  return self->server_url;
}

const VdAccount *
vd_desk_get_account (VdDesk *self)
{
  g_return_val_if_fail (VD_IS_DESK (self), NULL);
  return self->account;
}

VdStore *
vd_desk_get_store (VdDesk *self)
{
  g_return_val_if_fail (VD_IS_DESK (self), NULL);
  return self->store;
}

VdSyncEngine *
vd_desk_get_engine (VdDesk *self)
{
  g_return_val_if_fail (VD_IS_DESK (self), NULL);
  return self->engine;
}

const char *
vd_desk_get_clinic_name (VdDesk *self)
{
  g_return_val_if_fail (VD_IS_DESK (self), NULL);
  return self->clinic_name;
}

VdMonitorClient *
vd_desk_get_monitor (VdDesk *self)
{
  g_return_val_if_fail (VD_IS_DESK (self), NULL);
  return self->monitor;
}

const char *
vd_desk_get_monitor_user (VdDesk *self)
{
  g_return_val_if_fail (VD_IS_DESK (self), NULL);
  return self->monitor_user;
}

GSettings *
vd_desk_get_settings (VdDesk *self)
{
  g_return_val_if_fail (VD_IS_DESK (self), NULL);
  return self->settings;
}

char *
vd_desk_dup_remembered_server (VdDesk *self)
{
  g_autofree char *remembered = NULL;

  g_return_val_if_fail (VD_IS_DESK (self), NULL);

  if (self->settings == NULL)
    return NULL;
  remembered = g_settings_get_string (self->settings, "server-url");
  return *remembered != '\0' ? g_steal_pointer (&remembered) : NULL;
}

/* ---- GObject ---- */

static void
vd_desk_dispose (GObject *object)
{
  vd_desk_close (VD_DESK (object));

  G_OBJECT_CLASS (vd_desk_parent_class)->dispose (object);
}

static void
vd_desk_finalize (GObject *object)
{
  VdDesk *self = VD_DESK (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->server_url, g_free);
  g_clear_pointer (&self->account, vd_account_free);

  G_OBJECT_CLASS (vd_desk_parent_class)->finalize (object);
}

static void
vd_desk_get_property (GObject    *object,
                      guint       prop_id,
                      GValue     *value,
                      GParamSpec *pspec)
{
  VdDesk *self = VD_DESK (object);

  switch (prop_id)
    {
    case PROP_SERVER_URL:
      g_value_set_string (value, self->server_url);
      break;
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_ENGINE:
      g_value_set_object (value, self->engine);
      break;
    case PROP_CLINIC_NAME:
      g_value_set_string (value, self->clinic_name);
      break;
    case PROP_MONITOR:
      g_value_set_object (value, self->monitor);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_desk_set_property (GObject      *object,
                      guint         prop_id,
                      const GValue *value,
                      GParamSpec   *pspec)
{
  VdDesk *self = VD_DESK (object);

  switch (prop_id)
    {
    case PROP_SERVER_URL:
      self->server_url = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_desk_class_init (VdDeskClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = vd_desk_dispose;
  object_class->finalize = vd_desk_finalize;
  object_class->get_property = vd_desk_get_property;
  object_class->set_property = vd_desk_set_property;

  properties[PROP_SERVER_URL] =
    g_param_spec_string ("server-url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, VD_TYPE_STORE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, VD_TYPE_SYNC_ENGINE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_CLINIC_NAME] =
    g_param_spec_string ("clinic-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_MONITOR] =
    g_param_spec_object ("monitor", NULL, NULL, VD_TYPE_MONITOR_CLIENT,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The first sync of a new replica begins (the engine's progress, pulled and total
   * follow it) and ends: error_message is NULL when it went through. */
  signals[SIGNAL_BOOTSTRAP_STARTED] =
    g_signal_new ("bootstrap-started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_BOOTSTRAP_FINISHED] =
    g_signal_new ("bootstrap-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* A sentence for the person, e.g. that the keyring refused the sign-in. */
  signals[SIGNAL_WARNING] =
    g_signal_new ("warning", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
vd_desk_init (VdDesk *self)
{
  self->cancellable = g_cancellable_new ();
  self->settings = open_settings ();
}
