/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-window-private.h — what the files of the main window share: the instance struct and
 * the helpers the chrome showing the desk's session (vd-window.c), the Today list
 * (vd-window-today.c), the window's actions (vd-window-actions.c) and printing
 * (vd-window-print.c) call across files. */
#pragma once

#include "vd-window.h"
#include "vd-desk.h"
#include "vd-monitor-client.h"
#include "vd-search-popover.h"
#include "vd-session.h"
#include "vd-store-models.h"
#include "vd-sync-indicator.h"
#include "vd-sync-page.h"

G_BEGIN_DECLS

struct _VdWindow
{
  AdwApplicationWindow  parent_instance;

  AdwToastOverlay      *toast_overlay;
  GtkStack             *stack;
  VdSignInPage         *sign_in_page;
  GtkProgressBar       *bootstrap_bar;
  GtkLabel             *bootstrap_label;
  AdwLeaflet           *leaflet;
  GtkWidget            *sidebar;
  GtkListBox           *sidebar_list;
  GtkListBoxRow        *today_row;
  GtkListBoxRow        *schedule_row;
  GtkWidget            *content;
  AdwWindowTitle       *clinic_title;
  AdwWindowTitle       *content_title;
  GtkWidget            *date_nav;
  GtkMenuButton        *date_button;
  GtkCalendar          *calendar;
  VdSyncIndicator      *sync_indicator;
  GtkRevealer          *banner_revealer;
  GtkImage             *banner_icon;
  GtkLabel             *banner_label;
  GtkButton            *banner_button;
  GtkStack             *section_stack;
  GtkStack             *today_stack;
  GtkListView          *today_list;
  VdDayView            *day_view;
  GtkWidget            *legend;
  GtkListBoxRow        *sync_row;
  GtkLabel             *sync_badge;
  VdSyncPage           *sync_page;
  GtkMenuButton        *search_button;
  VdSearchPopover      *search_popover;
  GtkListBoxRow        *clients_row;
  GtkListBoxRow        *staff_row;
  VdClientsPage        *clients_page;
  VdStaffPage          *staff_page;
  VdMonitorPage        *monitor_page;

  VdDesk               *desk;             /* the session shown, owned by the application */
  /* What the desk held when the window last followed it: the views below are on these. */
  VdMonitorClient      *monitor;          /* an administrator's session, or NULL */
  VdStore              *store;
  VdSyncEngine         *engine;
  VdAppointmentList    *day_appointments;
  VdAppointmentList    *today_appointments;
  VdStaffList          *staff;
  VdAppointmentEditor  *editor;           /* weak */
  int                   year, month, day;
};

/* vd-window.c: the chrome */
const char  *_vd_window_status_verb          (const char     *status);
void         _vd_window_toast                (VdWindow       *self,
                                              const char     *title);
GTimeZone   *_vd_window_zone                 (VdWindow       *self);
void         _vd_window_update_actions       (VdWindow       *self);
void         _vd_window_today_date           (VdWindow       *self,
                                              int            *year,
                                              int            *month,
                                              int            *day);
void         _vd_window_shift_date           (VdWindow       *self,
                                              int             days);
void         _vd_window_show_section         (VdWindow       *self,
                                              const char     *name);
void         _vd_window_leave_section_then_show (VdWindow   *self,
                                                 const char *name);

/* vd-window-today.c: the Today list */
void         _vd_window_init_today           (VdWindow       *self);
void         _vd_window_class_init_today     (GtkWidgetClass *widget_class);
void         _vd_window_today_changed_cb     (VdWindow       *self);

/* vd-window-actions.c: the win.* actions, the editor, search */
void         _vd_window_class_init_actions   (GtkWidgetClass *widget_class);
void         _vd_window_set_session_on_records (VdWindow     *self);
void         _vd_window_set_session_on_pages (VdWindow       *self);
void         _vd_window_update_sync_badge    (VdWindow       *self);

/* vd-window-print.c: printing and PDF export */
void         _vd_window_class_init_print     (GtkWidgetClass *widget_class);

G_END_DECLS
