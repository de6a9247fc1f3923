/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-monitor-client.c — the administrators' calls to vetdesk-syncd: one HTTP session with
 * the pinned certificate, the bearer token on every call, one serialised refresh when a
 * call meets a 401, and the answers parsed into list items. */
#define G_LOG_DOMAIN "vdclient"

#include "config.h"

#include "vd-monitor-client.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "vd-session-private.h"
#include "vd-time.h"

G_DEFINE_QUARK (vd-monitor-error-quark, vd_monitor_error)

/* ---- JSON helpers ----------------------------------------------------------------- */

static const char *
get_string (JsonObject *object,
            const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gint64
get_int (JsonObject *object,
         const char *name,
         gint64      fallback)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      return json_node_get_int (node);
    case G_TYPE_DOUBLE:
      return (gint64) json_node_get_double (node);
    default:
      return fallback;
    }
}

/* An instant of the protocol, or 0 for null, absent or malformed. */
static gint64
get_time (JsonObject *object,
          const char *name)
{
  const char *text = get_string (object, name);
  gint64 when = 0;

  if (text == NULL || !vd_time_parse_utc (text, &when, NULL))
    return 0;
  return when;
}

static JsonObject *
get_object (JsonObject *object,
            const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
get_array (JsonObject *object,
           const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static gboolean
set_not_understood (GError **error)
{
  g_set_error_literal (error, VD_MONITOR_ERROR, VD_MONITOR_ERROR_FAILED,
                       _("The server’s answer could not be understood. Is it a VetDesk server of the same version?"));
  return FALSE;
}

/* The root object of body, holding an array member `name`. */
static JsonArray *
parse_list (JsonParser  *parser,
            GBytes      *body,
            const char  *name,
            GError     **error)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (body, &len);
  JsonNode *root;
  JsonArray *array;

  if (len == 0 || !json_parser_load_from_data (parser, data, (gssize) len, NULL))
    {
      set_not_understood (error);
      return NULL;
    }
  root = json_parser_get_root (parser);
  array = JSON_NODE_HOLDS_OBJECT (root) ? get_array (json_node_get_object (root), name) : NULL;
  if (array == NULL)
    set_not_understood (error);
  return array;
}

/* ---- VdMonitorTenant --------------------------------------------------------------- */

struct _VdMonitorTenant
{
  GObject  parent_instance;

  char    *id;
  char    *name;
  char    *slug;
  char    *company_id;
  char    *company_name;
  char    *timezone;
  char    *health;
  gint64   devices;
  gint64   devices_online;
  gint64   last_sync;
  gint64   open_conflicts;
  gint64   errors_1h;
  gint64   rejected_24h;
  gint64   activity[VD_MONITOR_HOURS];
  gint64   activity_total;
};

G_DEFINE_FINAL_TYPE (VdMonitorTenant, vd_monitor_tenant, G_TYPE_OBJECT)

enum
{
  TENANT_PROP_0,
  TENANT_PROP_ID,
  TENANT_PROP_NAME,
  TENANT_PROP_SLUG,
  TENANT_PROP_COMPANY_ID,
  TENANT_PROP_COMPANY_NAME,
  TENANT_PROP_TIMEZONE,
  TENANT_PROP_HEALTH,
  TENANT_PROP_HEALTH_RANK,
  TENANT_PROP_DEVICES,
  TENANT_PROP_DEVICES_ONLINE,
  TENANT_PROP_LAST_SYNC,
  TENANT_PROP_OPEN_CONFLICTS,
  TENANT_PROP_ACTIVITY_TOTAL,
  TENANT_N_PROPS
};

static GParamSpec *tenant_properties[TENANT_N_PROPS];

enum
{
  TENANT_CHANGED,
  TENANT_N_SIGNALS
};

static guint tenant_signals[TENANT_N_SIGNALS];

static void
vd_monitor_tenant_finalize (GObject *object)
{
  VdMonitorTenant *self = VD_MONITOR_TENANT (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->slug);
  g_free (self->company_id);
  g_free (self->company_name);
  g_free (self->timezone);
  g_free (self->health);

  G_OBJECT_CLASS (vd_monitor_tenant_parent_class)->finalize (object);
}

static void
vd_monitor_tenant_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  VdMonitorTenant *self = VD_MONITOR_TENANT (object);

  switch (prop_id)
    {
    case TENANT_PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case TENANT_PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case TENANT_PROP_SLUG:
      g_value_set_string (value, self->slug);
      break;
    case TENANT_PROP_COMPANY_ID:
      g_value_set_string (value, self->company_id);
      break;
    case TENANT_PROP_COMPANY_NAME:
      g_value_set_string (value, self->company_name);
      break;
    case TENANT_PROP_TIMEZONE:
      g_value_set_string (value, self->timezone);
      break;
    case TENANT_PROP_HEALTH:
      g_value_set_string (value, self->health);
      break;
    case TENANT_PROP_HEALTH_RANK:
      g_value_set_uint (value, vd_monitor_tenant_get_health_rank (self));
      break;
    case TENANT_PROP_DEVICES:
      g_value_set_int64 (value, self->devices);
      break;
    case TENANT_PROP_DEVICES_ONLINE:
      g_value_set_int64 (value, self->devices_online);
      break;
    case TENANT_PROP_LAST_SYNC:
      g_value_set_int64 (value, self->last_sync);
      break;
    case TENANT_PROP_OPEN_CONFLICTS:
      g_value_set_int64 (value, self->open_conflicts);
      break;
    case TENANT_PROP_ACTIVITY_TOTAL:
      g_value_set_int64 (value, self->activity_total);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GParamSpec *
string_property (const char *name)
{
  return g_param_spec_string (name, NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
}

static GParamSpec *
int64_property (const char *name)
{
  return g_param_spec_int64 (name, NULL, NULL, G_MININT64, G_MAXINT64, 0,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
}

static void
vd_monitor_tenant_class_init (VdMonitorTenantClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = vd_monitor_tenant_finalize;
  object_class->get_property = vd_monitor_tenant_get_property;

  tenant_properties[TENANT_PROP_ID] = string_property ("id");
  tenant_properties[TENANT_PROP_NAME] = string_property ("name");
  tenant_properties[TENANT_PROP_SLUG] = string_property ("slug");
  tenant_properties[TENANT_PROP_COMPANY_ID] = string_property ("company-id");
  tenant_properties[TENANT_PROP_COMPANY_NAME] = string_property ("company-name");
  tenant_properties[TENANT_PROP_TIMEZONE] = string_property ("timezone");
  tenant_properties[TENANT_PROP_HEALTH] = string_property ("health");
  tenant_properties[TENANT_PROP_HEALTH_RANK] =
    g_param_spec_uint ("health-rank", NULL, NULL, 0, 3, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  tenant_properties[TENANT_PROP_DEVICES] = int64_property ("devices");
  tenant_properties[TENANT_PROP_DEVICES_ONLINE] = int64_property ("devices-online");
  tenant_properties[TENANT_PROP_LAST_SYNC] = int64_property ("last-sync");
  tenant_properties[TENANT_PROP_OPEN_CONFLICTS] = int64_property ("open-conflicts");
  tenant_properties[TENANT_PROP_ACTIVITY_TOTAL] = int64_property ("activity-total");
  g_object_class_install_properties (object_class, TENANT_N_PROPS, tenant_properties);

  tenant_signals[TENANT_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
vd_monitor_tenant_init (VdMonitorTenant *self)
{
}

/* Runs in the worker thread: a plain object nobody else sees yet. */
static VdMonitorTenant *
tenant_from_json (JsonObject *object)
{
  VdMonitorTenant *self;
  JsonObject *company = get_object (object, "company");
  JsonArray *activity = get_array (object, "activity");
  const char *id = get_string (object, "id");
  const char *health = get_string (object, "health");

  if (id == NULL)
    return NULL;

  self = g_object_new (VD_TYPE_MONITOR_TENANT, NULL);
  self->id = g_strdup (id);
  self->name = g_strdup (get_string (object, "name"));
  self->slug = g_strdup (get_string (object, "slug"));
  self->company_id = g_strdup (get_string (object, "company_id"));
  /* The listing may name the company ("company_name", or a "company" object). */
  self->company_name = g_strdup (get_string (object, "company_name"));
  if (self->company_name == NULL)
    self->company_name = g_strdup (get_string (company, "name"));
  self->timezone = g_strdup (get_string (object, "timezone"));
  self->health = g_strdup (health != NULL ? health : "ok");
  if (self->name == NULL)
    self->name = g_strdup (self->slug != NULL ? self->slug : self->id);
  self->devices = get_int (object, "devices", 0);
  self->devices_online = get_int (object, "devices_online", 0);
  self->last_sync = get_time (object, "last_sync_at");
  self->open_conflicts = get_int (object, "open_conflicts", 0);
  self->errors_1h = get_int (object, "errors_1h", 0);
  self->rejected_24h = get_int (object, "rejected_24h", 0);

  /* The newest hour last, whatever the length sent. */
  if (activity != NULL)
    {
      guint n = json_array_get_length (activity);

      for (guint i = 0; i < MIN (n, VD_MONITOR_HOURS); i++)
        {
          JsonNode *node = json_array_get_element (activity, n - 1 - i);
          gint64 count = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_int (node) : 0;

          self->activity[VD_MONITOR_HOURS - 1 - i] = MAX (count, 0);
        }
    }
  for (guint h = 0; h < VD_MONITOR_HOURS; h++)
    self->activity_total += self->activity[h];
  return self;
}

const char *
vd_monitor_tenant_get_id (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), NULL);
  return self->id;
}

const char *
vd_monitor_tenant_get_name (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), NULL);
  return self->name;
}

const char *
vd_monitor_tenant_get_slug (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), NULL);
  return self->slug;
}

const char *
vd_monitor_tenant_get_company_id (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), NULL);
  return self->company_id;
}

const char *
vd_monitor_tenant_get_company_name (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), NULL);
  return self->company_name;
}

const char *
vd_monitor_tenant_get_timezone (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), NULL);
  return self->timezone;
}

const char *
vd_monitor_tenant_get_health (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), NULL);
  return self->health;
}

guint
vd_monitor_tenant_get_health_rank (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), 0);

  if (g_strcmp0 (self->health, "errors") == 0)
    return 3;
  if (g_strcmp0 (self->health, "offline") == 0)
    return 2;
  if (g_strcmp0 (self->health, "lagging") == 0)
    return 1;
  return 0;
}

gint64
vd_monitor_tenant_get_devices (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), 0);
  return self->devices;
}

gint64
vd_monitor_tenant_get_devices_online (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), 0);
  return self->devices_online;
}

gint64
vd_monitor_tenant_get_last_sync (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), 0);
  return self->last_sync;
}

gint64
vd_monitor_tenant_get_open_conflicts (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), 0);
  return self->open_conflicts;
}

gint64
vd_monitor_tenant_get_errors_1h (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), 0);
  return self->errors_1h;
}

gint64
vd_monitor_tenant_get_rejected_24h (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), 0);
  return self->rejected_24h;
}

gint64
vd_monitor_tenant_get_activity_total (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), 0);
  return self->activity_total;
}

const gint64 *
vd_monitor_tenant_get_activity (VdMonitorTenant *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), NULL);
  return self->activity;
}

static gboolean
take_string (char       **field,
             const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static gboolean
take_int (gint64 *field,
          gint64  value)
{
  if (*field == value)
    return FALSE;
  *field = value;
  return TRUE;
}

gboolean
vd_monitor_tenant_update (VdMonitorTenant *self,
                          VdMonitorTenant *fresh)
{
  /* Property ids are notified only after every field holds its new value. */
  g_autoptr(GArray) changed = g_array_new (FALSE, FALSE, sizeof (guint));
  guint rank_before;

  g_return_val_if_fail (VD_IS_MONITOR_TENANT (self), FALSE);
  g_return_val_if_fail (VD_IS_MONITOR_TENANT (fresh), FALSE);
  g_return_val_if_fail (g_strcmp0 (self->id, fresh->id) == 0, FALSE);

#define NOTE(prop) G_STMT_START { guint p_ = (prop); g_array_append_val (changed, p_); } G_STMT_END
  rank_before = vd_monitor_tenant_get_health_rank (self);
  if (take_string (&self->name, fresh->name))
    NOTE (TENANT_PROP_NAME);
  if (take_string (&self->slug, fresh->slug))
    NOTE (TENANT_PROP_SLUG);
  if (take_string (&self->company_id, fresh->company_id))
    NOTE (TENANT_PROP_COMPANY_ID);
  if (take_string (&self->company_name, fresh->company_name))
    NOTE (TENANT_PROP_COMPANY_NAME);
  if (take_string (&self->timezone, fresh->timezone))
    NOTE (TENANT_PROP_TIMEZONE);
  if (take_string (&self->health, fresh->health))
    NOTE (TENANT_PROP_HEALTH);
  if (rank_before != vd_monitor_tenant_get_health_rank (self))
    NOTE (TENANT_PROP_HEALTH_RANK);
  if (take_int (&self->devices, fresh->devices))
    NOTE (TENANT_PROP_DEVICES);
  if (take_int (&self->devices_online, fresh->devices_online))
    NOTE (TENANT_PROP_DEVICES_ONLINE);
  if (take_int (&self->last_sync, fresh->last_sync))
    NOTE (TENANT_PROP_LAST_SYNC);
  if (take_int (&self->open_conflicts, fresh->open_conflicts))
    NOTE (TENANT_PROP_OPEN_CONFLICTS);
  if (take_int (&self->activity_total, fresh->activity_total))
    NOTE (TENANT_PROP_ACTIVITY_TOTAL);
#undef NOTE
  /* Not properties of their own, but what a row shows. */
  if (memcmp (self->activity, fresh->activity, sizeof self->activity) != 0 ||
      self->errors_1h != fresh->errors_1h || self->rejected_24h != fresh->rejected_24h)
    {
      memcpy (self->activity, fresh->activity, sizeof self->activity);
      self->errors_1h = fresh->errors_1h;
      self->rejected_24h = fresh->rejected_24h;
      if (changed->len == 0)
        {
          g_signal_emit (self, tenant_signals[TENANT_CHANGED], 0);
          return TRUE;
        }
    }
  if (changed->len == 0)
    return FALSE;

  g_object_freeze_notify (G_OBJECT (self));
  for (guint i = 0; i < changed->len; i++)
    g_object_notify_by_pspec (G_OBJECT (self), tenant_properties[g_array_index (changed, guint, i)]);
  g_object_thaw_notify (G_OBJECT (self));
  g_signal_emit (self, tenant_signals[TENANT_CHANGED], 0);
  return TRUE;
}

/* ---- VdMonitorDevice --------------------------------------------------------------- */

struct _VdMonitorDevice
{
  GObject   parent_instance;

  char     *id;
  char     *name;
  char     *user;
  char     *app_version;
  gint64    last_seen;
  gint64    lag;
  gint64    pending;
  gint64    rejected;
  char     *error_code;
  char     *error_message;
  gint64    error_at;
  gboolean  revoked;
};

G_DEFINE_FINAL_TYPE (VdMonitorDevice, vd_monitor_device, G_TYPE_OBJECT)

static void
vd_monitor_device_finalize (GObject *object)
{
  VdMonitorDevice *self = VD_MONITOR_DEVICE (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->user);
  g_free (self->app_version);
  g_free (self->error_code);
  g_free (self->error_message);

  G_OBJECT_CLASS (vd_monitor_device_parent_class)->finalize (object);
}

static void
vd_monitor_device_class_init (VdMonitorDeviceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = vd_monitor_device_finalize;
}

static void
vd_monitor_device_init (VdMonitorDevice *self)
{
  self->pending = -1;
}

static VdMonitorDevice *
device_from_json (JsonObject *object)
{
  VdMonitorDevice *self;
  JsonObject *error = get_object (object, "last_error");
  JsonNode *revoked = json_object_get_member (object, "revoked");
  const char *id = get_string (object, "device_id");

  if (id == NULL)
    return NULL;

  self = g_object_new (VD_TYPE_MONITOR_DEVICE, NULL);
  self->id = g_strdup (id);
  self->name = g_strdup (get_string (object, "name"));
  self->user = g_strdup (get_string (object, "user"));
  self->app_version = g_strdup (get_string (object, "app_version"));
  self->last_seen = get_time (object, "last_seen");
  self->lag = get_int (object, "lag", 0);
  self->pending = get_int (object, "pending", -1);
  self->rejected = get_int (object, "rejected", 0);
  if (error != NULL)
    {
      self->error_code = g_strdup (get_string (error, "code"));
      self->error_message = g_strdup (get_string (error, "message"));
      self->error_at = get_time (error, "at");
    }
  self->revoked = revoked != NULL && JSON_NODE_HOLDS_VALUE (revoked) &&
                  json_node_get_value_type (revoked) == G_TYPE_BOOLEAN &&
                  json_node_get_boolean (revoked);
  return self;
}

const char *
vd_monitor_device_get_id (VdMonitorDevice *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_DEVICE (self), NULL);
  return self->id;
}

const char *
vd_monitor_device_get_name (VdMonitorDevice *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_DEVICE (self), NULL);
  return self->name;
}

const char *
vd_monitor_device_get_user (VdMonitorDevice *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_DEVICE (self), NULL);
  return self->user;
}

const char *
vd_monitor_device_get_app_version (VdMonitorDevice *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_DEVICE (self), NULL);
  return self->app_version;
}

gint64
vd_monitor_device_get_last_seen (VdMonitorDevice *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_DEVICE (self), 0);
  return self->last_seen;
}

gint64
vd_monitor_device_get_lag (VdMonitorDevice *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_DEVICE (self), 0);
  return self->lag;
}

gint64
vd_monitor_device_get_pending (VdMonitorDevice *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_DEVICE (self), -1);
  return self->pending;
}

gint64
vd_monitor_device_get_rejected (VdMonitorDevice *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_DEVICE (self), 0);
  return self->rejected;
}

const char *
vd_monitor_device_get_error_code (VdMonitorDevice *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_DEVICE (self), NULL);
  return self->error_code;
}

const char *
vd_monitor_device_get_error_message (VdMonitorDevice *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_DEVICE (self), NULL);
  return self->error_message;
}

gint64
vd_monitor_device_get_error_at (VdMonitorDevice *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_DEVICE (self), 0);
  return self->error_at;
}

gboolean
vd_monitor_device_get_revoked (VdMonitorDevice *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_DEVICE (self), FALSE);
  return self->revoked;
}

/* ---- VdMonitorClient --------------------------------------------------------------- */

struct _VdMonitorClient
{
  GObject       parent_instance;

  /* The session, the pin, the tokens and the one refresh at a time (calls that met a
   * 401 wait for it). */
  VdApiClient  *api;
};

G_DEFINE_FINAL_TYPE (VdMonitorClient, vd_monitor_client, G_TYPE_OBJECT)

enum
{
  REFRESH_TOKEN_CHANGED,
  CLIENT_N_SIGNALS
};

static guint client_signals[CLIENT_N_SIGNALS];

static void
wipe (char **secret)
{
  if (*secret != NULL)
    memset (*secret, 0, strlen (*secret));
  g_clear_pointer (secret, g_free);
}

static void
vd_monitor_client_finalize (GObject *object)
{
  VdMonitorClient *self = VD_MONITOR_CLIENT (object);

  g_clear_object (&self->api);

  G_OBJECT_CLASS (vd_monitor_client_parent_class)->finalize (object);
}

static void
vd_monitor_client_class_init (VdMonitorClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = vd_monitor_client_finalize;

  /**
   * VdMonitorClient::refresh-token-changed:
   * @token: the new refresh token
   *
   * The refresh token rotated; the old one no longer works.
   */
  client_signals[REFRESH_TOKEN_CHANGED] =
    g_signal_new ("refresh-token-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
vd_monitor_client_init (VdMonitorClient *self)
{
}

static void
api_refresh_token_changed_cb (VdMonitorClient *self,
                              const char      *token)
{
  g_signal_emit (self, client_signals[REFRESH_TOKEN_CHANGED], 0, token);
}

VdMonitorClient *
vd_monitor_client_new_for_api (VdApiClient *api)
{
  VdMonitorClient *self;

  g_return_val_if_fail (VD_IS_API_CLIENT (api), NULL);

  self = g_object_new (VD_TYPE_MONITOR_CLIENT, NULL);
  self->api = g_object_ref (api);
  g_signal_connect_object (api, "refresh-token-changed", G_CALLBACK (api_refresh_token_changed_cb),
                           self, G_CONNECT_SWAPPED);
  return self;
}

VdMonitorClient *
vd_monitor_client_new (const char *server_url,
                       const char *fingerprint,
                       const char *access_token,
                       const char *refresh_token)
{
  g_autoptr(VdApiClient) api = NULL;

  g_return_val_if_fail (server_url != NULL, NULL);

  api = vd_api_client_new (server_url, fingerprint);
  vd_api_client_set_tokens (api, access_token, refresh_token);
  return vd_monitor_client_new_for_api (api);
}

const char *
vd_monitor_client_get_server_url (VdMonitorClient *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_CLIENT (self), NULL);

  return vd_api_client_get_server_url (self->api);
}

/* ---- one request, with the refresh ---- */

typedef struct
{
  char        *method;
  char        *path;
  GBytes      *body;          /* request body, or NULL */
  SoupMessage *msg;
  VdPinCheck   check;
  char        *token_used;    /* the access token the message carried */
  gboolean     refreshed;     /* a refresh was already tried for it */
} Request;

static void
request_free (Request *r)
{
  g_free (r->method);
  g_free (r->path);
  g_clear_pointer (&r->body, g_bytes_unref);
  g_clear_object (&r->msg);
  vd_pin_check_clear (&r->check);
  wipe (&r->token_used);
  g_free (r);
}

static void request_send (GTask *task);

/* The sentence for a failed exchange, from the pin check and the transport error. */
static GError *
transport_error (VdPinCheck   *check,
                 const GError *error)
{
  if (check->mismatch)
    return g_error_new (VD_MONITOR_ERROR, VD_MONITOR_ERROR_CERT_CHANGED,
                        _("The server’s certificate has changed since it was confirmed (it is now %s). This can mean someone is intercepting the connection: ask your administrator before going on."),
                        check->seen != NULL ? check->seen : "?");
  if (check->untrusted || (error != NULL && error->domain == G_TLS_ERROR))
    return g_error_new (VD_MONITOR_ERROR, VD_MONITOR_ERROR_UNREACHABLE,
                        _("A secure connection to the server could not be made (%s)."),
                        error != NULL ? error->message : _("certificate not trusted"));
  return g_error_new (VD_MONITOR_ERROR, VD_MONITOR_ERROR_UNREACHABLE,
                      _("The server could not be reached. Check this computer’s network connection (%s)."),
                      error != NULL ? error->message : _("no answer"));
}

static GError *
status_error (SoupMessage *msg,
              GBytes      *body)
{
  guint status = soup_message_get_status (msg);
  g_autofree char *text = vd_http_error_text (body, NULL);
  const char *reason = text != NULL ? text : soup_message_get_reason_phrase (msg);

  switch (status)
    {
    case SOUP_STATUS_UNAUTHORIZED:
      return g_error_new_literal (VD_MONITOR_ERROR, VD_MONITOR_ERROR_SIGNED_OUT,
                                  _("Your sign-in has ended. Sign in again to go on watching the clinics."));
    case SOUP_STATUS_FORBIDDEN:
      return g_error_new (VD_MONITOR_ERROR, VD_MONITOR_ERROR_FORBIDDEN, "%s",
                          text != NULL ? text : _("This account may not see the clinics’ sync status."));
    case SOUP_STATUS_NOT_FOUND:
      return g_error_new (VD_MONITOR_ERROR, VD_MONITOR_ERROR_NOT_FOUND, "%s",
                          text != NULL ? text : _("The clinic or device is no longer among those you oversee."));
    case 429:
      return g_error_new (VD_MONITOR_ERROR, VD_MONITOR_ERROR_FAILED,
                          _("The server is busy with too many requests; it asks to wait %u seconds."),
                          vd_http_retry_after (msg, 10));
    default:
      if (status >= 500)
        return g_error_new (VD_MONITOR_ERROR, VD_MONITOR_ERROR_UNREACHABLE,
                            _("The server could not answer right now (%s). It is asked again shortly."),
                            reason);
      return g_error_new (VD_MONITOR_ERROR, VD_MONITOR_ERROR_FAILED,
                          _("The server refused the request: %s"), reason);
    }
}

/* The refresh a request waited for is over: it goes on, or fails as the refresh did. */
static void
refresh_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;   /* owned */
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  VdPinCheck check = { 0 };
  GError *out;

  if (vd_api_client_refresh_finish (VD_API_CLIENT (source), result, &msg, &body, &check, &error))
    {
      if (g_task_return_error_if_cancelled (task))
        g_object_unref (task);
      else
        request_send (task);
      return;
    }

  if (msg == NULL)
    out = g_error_new_literal (VD_MONITOR_ERROR, VD_MONITOR_ERROR_SIGNED_OUT,
                               _("Your sign-in has ended. Sign in again to go on watching the clinics."));
  else if (body == NULL || check.mismatch)
    out = transport_error (&check, error);
  else if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    out = status_error (msg, body);
  else
    set_not_understood (&out);
  vd_pin_check_clear (&check);
  if (!g_task_return_error_if_cancelled (task))
    g_task_return_error (task, out);
  else
    g_error_free (out);
  g_object_unref (task);
}

/* Queues task behind the refresh (starting one when none runs); takes task. */
static void
wait_for_refresh (VdMonitorClient *self,
                  GTask           *task)
{
  Request *r = g_task_get_task_data (task);

  r->refreshed = TRUE;
  vd_api_client_refresh_async (self->api, refresh_done_cb, task);
}

static void
request_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;   /* owned */
  VdMonitorClient *self = g_task_get_source_object (task);
  Request *r = g_task_get_task_data (task);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  guint status;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  if (body == NULL || r->check.mismatch)
    {
      g_task_return_error (task, transport_error (&r->check, error));
      g_object_unref (task);
      return;
    }

  status = soup_message_get_status (r->msg);
  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      /* Another call refreshed while this one was out: its new token is tried first. */
      const char *access = vd_api_client_get_access_token (self->api);

      if (access != NULL && g_strcmp0 (r->token_used, access) != 0)
        {
          request_send (task);
          return;
        }
      if (!r->refreshed && vd_api_client_has_refresh_token (self->api))
        {
          wait_for_refresh (self, task);
          return;
        }
    }
  if (status < 200 || status >= 300)
    {
      g_task_return_error (task, status_error (r->msg, body));
      g_object_unref (task);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&body), (GDestroyNotify) g_bytes_unref);
  g_object_unref (task);
}

/* Sends (or re-sends) the request of task with the current access token; takes task. */
static void
request_send (GTask *task)
{
  VdMonitorClient *self = g_task_get_source_object (task);
  Request *r = g_task_get_task_data (task);
  const char *access = vd_api_client_get_access_token (self->api);

  if (access == NULL)
    {
      /* No access token yet (or the refresh that makes one is under way). */
      if (vd_api_client_has_refresh_token (self->api) &&
          (!r->refreshed || vd_api_client_is_refreshing (self->api)))
        {
          wait_for_refresh (self, task);
          return;
        }
      g_task_return_new_error (task, VD_MONITOR_ERROR, VD_MONITOR_ERROR_SIGNED_OUT,
                               _("Your sign-in has ended. Sign in again to go on watching the clinics."));
      g_object_unref (task);
      return;
    }

  g_clear_object (&r->msg);
  vd_pin_check_clear (&r->check);
  r->msg = vd_api_client_new_message (self->api, r->method, r->path, r->body, TRUE, &r->check);
  if (r->msg == NULL)
    {
      g_task_return_new_error (task, VD_MONITOR_ERROR, VD_MONITOR_ERROR_FAILED,
                               _("“%s” is not a server address."),
                               vd_api_client_get_server_url (self->api));
      g_object_unref (task);
      return;
    }
  wipe (&r->token_used);
  r->token_used = g_strdup (access);
  soup_session_send_and_read_async (vd_api_client_get_session (self->api), r->msg,
                                    G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                    request_done_cb, task);
}

static void
request_async (VdMonitorClient     *self,
               const char          *method,
               const char          *path,
               gpointer             source_tag,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Request *r = g_new0 (Request, 1);

  g_task_set_source_tag (task, source_tag);
  r->method = g_strdup (method);
  r->path = g_strdup (path);
  /* POSTs of these calls carry no data, but the server reads a JSON body. */
  if (g_strcmp0 (method, SOUP_METHOD_POST) == 0)
    r->body = g_bytes_new_static ("{}", 2);
  g_task_set_task_data (task, r, (GDestroyNotify) request_free);
  request_send (task);
}

/* One public call: its task (tagged source_tag, answering callback) gets the body of the
 * answer through body_cb, which turns it into the call's result. */
static void
call_async (VdMonitorClient     *self,
            const char          *method,
            const char          *path,
            gpointer             source_tag,
            GAsyncReadyCallback  body_cb,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  request_async (self, method, path, source_tag, cancellable, body_cb, task);
}

/* "/v1/admin/tenants/ID/suffix", the id escaped: ids are uuids, but nothing unescaped
 * reaches the URL. */
static char *
clinic_path (const char *tenant_id,
             const char *suffix)
{
  g_autofree char *id = g_uri_escape_string (tenant_id, NULL, FALSE);

  return g_strconcat ("/v1/admin/tenants/", id, "/", suffix, NULL);
}

/* ---- the calls ---- */

static void
parse_tenants_thread (GTask        *task,
                      gpointer      source,
                      gpointer      task_data,
                      GCancellable *cancellable)
{
  GBytes *body = task_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) tenants = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *array = parse_list (parser, body, "tenants", &error);
  guint n;

  if (array == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  n = json_array_get_length (array);
  tenants = g_ptr_array_new_full (n, g_object_unref);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      VdMonitorTenant *tenant = JSON_NODE_HOLDS_OBJECT (node) ? tenant_from_json (json_node_get_object (node)) : NULL;

      if (tenant != NULL)
        g_ptr_array_add (tenants, tenant);
    }
  g_task_return_pointer (task, g_steal_pointer (&tenants), (GDestroyNotify) g_ptr_array_unref);
}

static void
tenants_body_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  GBytes *body = g_task_propagate_pointer (G_TASK (result), &error);

  if (body == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_set_task_data (task, body, (GDestroyNotify) g_bytes_unref);
  g_task_run_in_thread (task, parse_tenants_thread);
}

void
vd_monitor_client_list_tenants_async (VdMonitorClient     *self,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_return_if_fail (VD_IS_MONITOR_CLIENT (self));

  call_async (self, SOUP_METHOD_GET, "/v1/admin/tenants", vd_monitor_client_list_tenants_async,
              tenants_body_cb, cancellable, callback, user_data);
}

GPtrArray *
vd_monitor_client_list_tenants_finish (VdMonitorClient  *self,
                                       GAsyncResult     *result,
                                       GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
devices_body_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = g_task_propagate_pointer (G_TASK (result), &error);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GPtrArray) devices = NULL;
  JsonArray *array;

  if (body == NULL || (array = parse_list (parser, body, "devices", &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  devices = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      VdMonitorDevice *device = JSON_NODE_HOLDS_OBJECT (node) ? device_from_json (json_node_get_object (node)) : NULL;

      if (device != NULL)
        g_ptr_array_add (devices, device);
    }
  g_task_return_pointer (task, g_steal_pointer (&devices), (GDestroyNotify) g_ptr_array_unref);
}

void
vd_monitor_client_list_devices_async (VdMonitorClient     *self,
                                      const char          *tenant_id,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (VD_IS_MONITOR_CLIENT (self));
  g_return_if_fail (tenant_id != NULL);

  path = clinic_path (tenant_id, "devices");
  call_async (self, SOUP_METHOD_GET, path, vd_monitor_client_list_devices_async,
              devices_body_cb, cancellable, callback, user_data);
}

GPtrArray *
vd_monitor_client_list_devices_finish (VdMonitorClient  *self,
                                       GAsyncResult     *result,
                                       GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
activity_body_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = g_task_propagate_pointer (G_TASK (result), &error);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GArray) minutes = NULL;
  JsonArray *array;

  if (body == NULL || (array = parse_list (parser, body, "minutes", &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  minutes = g_array_new (FALSE, TRUE, sizeof (VdMonitorMinute));
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *object;
      VdMonitorMinute m;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      object = json_node_get_object (node);
      m.minute = get_time (object, "minute");
      m.pushes = get_int (object, "pushes", 0);
      m.pulls = get_int (object, "pulls", 0);
      m.changes = get_int (object, "changes", 0);
      if (m.minute > 0)
        g_array_append_val (minutes, m);
    }
  g_task_return_pointer (task, g_steal_pointer (&minutes), (GDestroyNotify) g_array_unref);
}

void
vd_monitor_client_activity_async (VdMonitorClient     *self,
                                  const char          *tenant_id,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autofree char *path = NULL;

  g_return_if_fail (VD_IS_MONITOR_CLIENT (self));
  g_return_if_fail (tenant_id != NULL);

  path = clinic_path (tenant_id, "activity");
  call_async (self, SOUP_METHOD_GET, path, vd_monitor_client_activity_async,
              activity_body_cb, cancellable, callback, user_data);
}

GArray *
vd_monitor_client_activity_finish (VdMonitorClient  *self,
                                   GAsyncResult     *result,
                                   GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
empty_body_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = g_task_propagate_pointer (G_TASK (result), &error);

  if (body == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
vd_monitor_client_revoke_device_async (VdMonitorClient     *self,
                                       const char          *tenant_id,
                                       const char          *device_id,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autofree char *device = NULL;
  g_autofree char *suffix = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (VD_IS_MONITOR_CLIENT (self));
  g_return_if_fail (tenant_id != NULL && device_id != NULL);

  device = g_uri_escape_string (device_id, NULL, FALSE);
  suffix = g_strconcat ("devices/", device, "/revoke", NULL);
  path = clinic_path (tenant_id, suffix);
  call_async (self, SOUP_METHOD_POST, path, vd_monitor_client_revoke_device_async,
              empty_body_cb, cancellable, callback, user_data);
}

gboolean
vd_monitor_client_revoke_device_finish (VdMonitorClient  *self,
                                        GAsyncResult     *result,
                                        GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sign_out_body_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  VdMonitorClient *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = g_task_propagate_pointer (G_TASK (result), &error);

  /* Signed out either way on this side: the tokens are forgotten. */
  vd_api_client_clear_tokens (self->api);
  if (body == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

void
vd_monitor_client_sign_out_async (VdMonitorClient     *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_return_if_fail (VD_IS_MONITOR_CLIENT (self));

  call_async (self, SOUP_METHOD_POST, "/v1/auth/logout", vd_monitor_client_sign_out_async,
              sign_out_body_cb, cancellable, callback, user_data);
}

gboolean
vd_monitor_client_sign_out_finish (VdMonitorClient  *self,
                                   GAsyncResult     *result,
                                   GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
