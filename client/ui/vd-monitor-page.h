/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-monitor-page.h — the Sync Monitor that company and platform administrators get
 * instead of a clinic: every clinic they oversee with its sync health, sortable and
 * filterable, refreshed every 10 seconds, and a clinic's devices and activity beside it. */
#pragma once

#include <adwaita.h>

#include "vd-monitor-client.h"

G_BEGIN_DECLS

#define VD_TYPE_MONITOR_PAGE (vd_monitor_page_get_type ())
G_DECLARE_FINAL_TYPE (VdMonitorPage, vd_monitor_page, VD, MONITOR_PAGE, GtkWidget)

/* Actions: monitor.refresh (Ctrl+R), monitor.revoke-device (s: device id, asks first),
 * monitor.show-list (back from a clinic when folded). The primary menu's Sign Out is
 * win.sign-out, the window's. */

GtkWidget       *vd_monitor_page_new            (void);
/* Starts watching with client (loads now, then every 10 s); NULL stops and clears. who:
 * the signed-in person's name for the header. */
void             vd_monitor_page_set_client     (VdMonitorPage   *self,
                                                 VdMonitorClient *client,
                                                 const char      *who);
VdMonitorClient *vd_monitor_page_get_client     (VdMonitorPage   *self);
/* Loads the listing (and the open clinic) now. */
void             vd_monitor_page_refresh        (VdMonitorPage   *self);

/* What tests look at. */
/* Number of listings loaded since the client was set. */
guint            vd_monitor_page_get_n_loads    (VdMonitorPage   *self);
/* Every clinic loaded (VdMonitorTenant), and the ones shown: filtered and sorted. */
GListModel      *vd_monitor_page_get_tenants    (VdMonitorPage   *self);
GListModel      *vd_monitor_page_get_shown      (VdMonitorPage   *self);
GtkColumnView   *vd_monitor_page_get_column_view (VdMonitorPage  *self);
GtkEditable     *vd_monitor_page_get_search_entry (VdMonitorPage *self);
/* 0 all, then "ok", "lagging", "offline", "errors". */
GtkDropDown     *vd_monitor_page_get_health_filter (VdMonitorPage *self);
/* Selects (and opens) the clinic; FALSE when it is not shown. */
gboolean         vd_monitor_page_select_tenant  (VdMonitorPage   *self,
                                                 const char      *tenant_id);
/* The open clinic, or NULL. */
VdMonitorTenant *vd_monitor_page_get_selected   (VdMonitorPage   *self);
/* The open clinic's devices (VdMonitorDevice) and the number of their loads. */
GListModel      *vd_monitor_page_get_devices    (VdMonitorPage   *self);
guint            vd_monitor_page_get_n_device_loads (VdMonitorPage *self);
/* The sentence of the error strip, or NULL while it is hidden. */
const char      *vd_monitor_page_get_error      (VdMonitorPage   *self);
/* The translated name of a health state ("ok" → "Up to date"). */
const char      *vd_monitor_health_label        (const char      *health);

G_END_DECLS
