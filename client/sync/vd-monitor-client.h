/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-monitor-client.h — what company and platform administrators ask vetdesk-syncd: the
 * clinics they oversee with their sync health, a clinic's devices and activity, device
 * revocation, and signing out; with the session's tokens, refreshed once on a 401. */
#pragma once

#include <gio/gio.h>

#include "vd-api-client.h"

G_BEGIN_DECLS

#define VD_MONITOR_ERROR (vd_monitor_error_quark ())

typedef enum
{
  VD_MONITOR_ERROR_UNREACHABLE,    /* no answer: the network or the server is down */
  VD_MONITOR_ERROR_CERT_CHANGED,   /* the pinned certificate is not the one offered */
  VD_MONITOR_ERROR_SIGNED_OUT,     /* the session ended (revoked, expired): sign in again */
  VD_MONITOR_ERROR_FORBIDDEN,      /* not an administrator */
  VD_MONITOR_ERROR_NOT_FOUND,      /* no such clinic or device among those overseen */
  VD_MONITOR_ERROR_FAILED,
} VdMonitorError;

GQuark vd_monitor_error_quark (void);

/* ---- a clinic of the listing ---- */

#define VD_TYPE_MONITOR_TENANT (vd_monitor_tenant_get_type ())
G_DECLARE_FINAL_TYPE (VdMonitorTenant, vd_monitor_tenant, VD, MONITOR_TENANT, GObject)

#define VD_MONITOR_HOURS 24

/* Read-only properties (for list sorters and filters): "id", "name", "slug",
 * "company-id", "company-name", "timezone", "health" ("ok", "lagging", "offline",
 * "errors"), "health-rank" (0 ok … 3 errors: the worse, the higher), "devices",
 * "devices-online", "last-sync" (Unix seconds, 0 = never), "open-conflicts",
 * "activity-total" (sync calls in the last 24 hours). ::changed is emitted once after an
 * update that changed anything. */
const char   *vd_monitor_tenant_get_id             (VdMonitorTenant *self);
const char   *vd_monitor_tenant_get_name           (VdMonitorTenant *self);
const char   *vd_monitor_tenant_get_slug           (VdMonitorTenant *self);
const char   *vd_monitor_tenant_get_company_id     (VdMonitorTenant *self);
/* NULL when the server does not name the company. */
const char   *vd_monitor_tenant_get_company_name   (VdMonitorTenant *self);
const char   *vd_monitor_tenant_get_timezone       (VdMonitorTenant *self);
const char   *vd_monitor_tenant_get_health         (VdMonitorTenant *self);
guint         vd_monitor_tenant_get_health_rank    (VdMonitorTenant *self);
gint64        vd_monitor_tenant_get_devices        (VdMonitorTenant *self);
gint64        vd_monitor_tenant_get_devices_online (VdMonitorTenant *self);
gint64        vd_monitor_tenant_get_last_sync      (VdMonitorTenant *self);
gint64        vd_monitor_tenant_get_open_conflicts (VdMonitorTenant *self);
gint64        vd_monitor_tenant_get_errors_1h      (VdMonitorTenant *self);
gint64        vd_monitor_tenant_get_rejected_24h   (VdMonitorTenant *self);
gint64        vd_monitor_tenant_get_activity_total (VdMonitorTenant *self);
/* VD_MONITOR_HOURS counts of sync calls per hour, oldest first; the last is this hour. */
const gint64 *vd_monitor_tenant_get_activity       (VdMonitorTenant *self);
/* Takes fresh's values; TRUE (and ::changed) when any differed. Same id only. */
gboolean      vd_monitor_tenant_update             (VdMonitorTenant *self,
                                                    VdMonitorTenant *fresh);

/* ---- a device of a clinic ---- */

#define VD_TYPE_MONITOR_DEVICE (vd_monitor_device_get_type ())
G_DECLARE_FINAL_TYPE (VdMonitorDevice, vd_monitor_device, VD, MONITOR_DEVICE, GObject)

const char   *vd_monitor_device_get_id             (VdMonitorDevice *self);
/* The names below may be NULL when the server does not know them. */
const char   *vd_monitor_device_get_name           (VdMonitorDevice *self);
const char   *vd_monitor_device_get_user           (VdMonitorDevice *self);
const char   *vd_monitor_device_get_app_version    (VdMonitorDevice *self);
gint64        vd_monitor_device_get_last_seen      (VdMonitorDevice *self);   /* 0 = never */
gint64        vd_monitor_device_get_lag            (VdMonitorDevice *self);   /* changes behind */
gint64        vd_monitor_device_get_pending        (VdMonitorDevice *self);   /* -1 = not told */
gint64        vd_monitor_device_get_rejected       (VdMonitorDevice *self);
/* The last failure: code NULL when there was none. */
const char   *vd_monitor_device_get_error_code     (VdMonitorDevice *self);
const char   *vd_monitor_device_get_error_message  (VdMonitorDevice *self);
gint64        vd_monitor_device_get_error_at       (VdMonitorDevice *self);
gboolean      vd_monitor_device_get_revoked        (VdMonitorDevice *self);

/* ---- a minute of a clinic's activity ---- */

typedef struct
{
  gint64 minute;    /* Unix seconds of the minute's start */
  gint64 pushes;
  gint64 pulls;
  gint64 changes;
} VdMonitorMinute;

/* ---- the client ---- */

#define VD_TYPE_MONITOR_CLIENT (vd_monitor_client_get_type ())
G_DECLARE_FINAL_TYPE (VdMonitorClient, vd_monitor_client, VD, MONITOR_CLIENT, GObject)

/* fingerprint: the pinned one, or NULL for system CAs. access_token may be NULL (the
 * first call then refreshes). ::refresh-token-changed (const char *token) is emitted after
 * each rotation: the old token is spent. */
VdMonitorClient *vd_monitor_client_new              (const char      *server_url,
                                                     const char      *fingerprint,
                                                     const char      *access_token,
                                                     const char      *refresh_token);
/* A client on api's session and tokens (shared with whatever else uses api). */
VdMonitorClient *vd_monitor_client_new_for_api      (VdApiClient     *api);
const char      *vd_monitor_client_get_server_url   (VdMonitorClient *self);

/* GET /v1/admin/tenants → GPtrArray of VdMonitorTenant (owned, free func set). The answer
 * is parsed in a worker thread: ten thousand clinics must not stall the window. */
void             vd_monitor_client_list_tenants_async   (VdMonitorClient     *self,
                                                         GCancellable        *cancellable,
                                                         GAsyncReadyCallback  callback,
                                                         gpointer             user_data);
GPtrArray       *vd_monitor_client_list_tenants_finish  (VdMonitorClient     *self,
                                                         GAsyncResult        *result,
                                                         GError             **error);

/* GET /v1/admin/tenants/{id}/devices → GPtrArray of VdMonitorDevice, most recent first. */
void             vd_monitor_client_list_devices_async   (VdMonitorClient     *self,
                                                         const char          *tenant_id,
                                                         GCancellable        *cancellable,
                                                         GAsyncReadyCallback  callback,
                                                         gpointer             user_data);
GPtrArray       *vd_monitor_client_list_devices_finish  (VdMonitorClient     *self,
                                                         GAsyncResult        *result,
                                                         GError             **error);

/* GET /v1/admin/tenants/{id}/activity → GArray of VdMonitorMinute, the last 24 hours'
 * active minutes, oldest first. */
void             vd_monitor_client_activity_async       (VdMonitorClient     *self,
                                                         const char          *tenant_id,
                                                         GCancellable        *cancellable,
                                                         GAsyncReadyCallback  callback,
                                                         gpointer             user_data);
GArray          *vd_monitor_client_activity_finish      (VdMonitorClient     *self,
                                                         GAsyncResult        *result,
                                                         GError             **error);

/* POST /v1/admin/tenants/{id}/devices/{device_id}/revoke: the device's sessions end. */
void             vd_monitor_client_revoke_device_async  (VdMonitorClient     *self,
                                                         const char          *tenant_id,
                                                         const char          *device_id,
                                                         GCancellable        *cancellable,
                                                         GAsyncReadyCallback  callback,
                                                         gpointer             user_data);
gboolean         vd_monitor_client_revoke_device_finish (VdMonitorClient     *self,
                                                         GAsyncResult        *result,
                                                         GError             **error);

/* POST /v1/auth/logout: the session's tokens are revoked on the server. */
void             vd_monitor_client_sign_out_async       (VdMonitorClient     *self,
                                                         GCancellable        *cancellable,
                                                         GAsyncReadyCallback  callback,
                                                         gpointer             user_data);
gboolean         vd_monitor_client_sign_out_finish      (VdMonitorClient     *self,
                                                         GAsyncResult        *result,
                                                         GError             **error);

G_END_DECLS
