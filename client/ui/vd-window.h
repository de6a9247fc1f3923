/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-window.h — the main window: signs in on first run, then the clinic's Today list and
 * day schedule beside a sidebar, with the sync state in the header. */
#pragma once

#include <adwaita.h>

#include "vd-application.h"
#include "vd-store.h"
#include "vd-sync-engine.h"
#include "vd-desk.h"
#include "vd-day-view.h"
#include "vd-sign-in-page.h"
#include "vd-appointment-editor.h"
#include "vd-clients-page.h"
#include "vd-staff-page.h"
#include "vd-monitor-page.h"

G_BEGIN_DECLS

#define VD_TYPE_WINDOW (vd_window_get_type ())
G_DECLARE_FINAL_TYPE (VdWindow, vd_window, VD, WINDOW, AdwApplicationWindow)

/* server_url: from --server, preselected on the sign-in page (may be NULL). The
 * application opens the window's desk (vd_application_open_desk), which resumes the saved
 * account when there is one; the window shows it. */
VdWindow            *vd_window_new                (VdApplication *application,
                                                   const char    *server_url);

/* What tests (and the accessibility tree) look at. */
/* "sign-in", "bootstrap", "main" or "monitor" (administrators) */
const char          *vd_window_get_page           (VdWindow *self);
/* "today" or "schedule" while on "main" */
const char          *vd_window_get_section        (VdWindow *self);
VdSignInPage        *vd_window_get_sign_in_page   (VdWindow *self);
VdDayView           *vd_window_get_day_view       (VdWindow *self);
VdStore             *vd_window_get_store          (VdWindow *self);
VdSyncEngine        *vd_window_get_engine         (VdWindow *self);
VdDesk              *vd_window_get_desk           (VdWindow *self);
/* The editor open now, or NULL. */
VdAppointmentEditor *vd_window_get_editor         (VdWindow *self);
/* The banner's sentence, or NULL while it is hidden. */
const char          *vd_window_get_banner_text    (VdWindow *self);
/* The Clients and Staff sections. */
VdClientsPage       *vd_window_get_clients_page   (VdWindow *self);
VdStaffPage         *vd_window_get_staff_page     (VdWindow *self);
/* The Sync Monitor, shown to company and platform administrators. */
VdMonitorPage       *vd_window_get_monitor_page   (VdWindow *self);
/* Whether the sidebar offers the section (Staff: only to a clinic admin). */
gboolean             vd_window_has_section        (VdWindow   *self,
                                                   const char *name);
/* The sync indicator's sentence. */
const char          *vd_window_get_sync_text      (VdWindow *self);
void                 vd_window_set_date           (VdWindow *self,
                                                   int       year,
                                                   int       month,
                                                   int       day);

G_END_DECLS
