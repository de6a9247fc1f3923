/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-window.c — the main window's chrome, showing the desk's session (VdDesk, owned by
 * the application): the sign-in page, the first sync's progress, then Today and the day
 * schedule, or an administrator's Sync Monitor. The Today list, the actions and printing
 * are in vd-window-today.c, vd-window-actions.c and vd-window-print.c. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <inttypes.h>

#include <glib/gi18n-lib.h>
#include <string.h>

#include "vd-window.h"
#include "vd-window-private.h"
#include "vd-session.h"
#include "vd-store-models.h"
#include "vd-sync-indicator.h"
#include "vd-time.h"
#include "vd-search-popover.h"
#include "vd-sync-page.h"
#include "vd-clients-page.h"
#include "vd-staff-page.h"
#include "vd-record-form.h"
#include "vd-monitor-page.h"
#include "vd-monitor-client.h"
#include "vd-desk.h"

G_DEFINE_FINAL_TYPE (VdWindow, vd_window, ADW_TYPE_APPLICATION_WINDOW)

enum
{
  PROP_0,
  PROP_DESK,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- status steps ---- */

/* The verb on a button or menu item that moves an appointment to status. */
const char *
_vd_window_status_verb (const char *status)
{
  if (g_strcmp0 (status, "confirmed") == 0)
    return _("Confirm");
  if (g_strcmp0 (status, "checked_in") == 0)
    return _("Check In");
  if (g_strcmp0 (status, "in_progress") == 0)
    return _("Start");
  if (g_strcmp0 (status, "completed") == 0)
    return _("Complete");
  if (g_strcmp0 (status, "no_show") == 0)
    return _("No-Show");
  if (g_strcmp0 (status, "cancelled") == 0)
    return _("Cancel Appointment");
  return status;
}

/* ---- small helpers ---- */

void
_vd_window_toast (VdWindow   *self,
                  const char *title)
{
  AdwToast *t = adw_toast_new (title);

  adw_toast_set_timeout (t, 4);
  adw_toast_overlay_add_toast (self->toast_overlay, t);
}

GTimeZone *
_vd_window_zone (VdWindow *self)
{
  return vd_store_get_time_zone (self->store);
}

void
_vd_window_update_actions (VdWindow *self)
{
  gboolean have_store = self->store != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.new-appointment", have_store);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.sync-now", self->engine != NULL || self->monitor != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.sign-out",
                                 (self->desk != NULL && vd_desk_get_account (self->desk) != NULL) ||
                                 self->monitor != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.set-status", have_store);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo-status", have_store);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.edit-appointment", have_store);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.sign-in-again", self->engine != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.search", have_store);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.print-schedule", have_store);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export-pdf", have_store);
}

/* ---- date and sections ---- */

static void
update_titles (VdWindow *self)
{
  const char *section = gtk_stack_get_visible_child_name (self->section_stack);
  gboolean schedule = g_strcmp0 (section, "schedule") == 0;
  g_autoptr(GDateTime) date = g_date_time_new_local (self->year, self->month, self->day, 12, 0, 0);
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *long_date = NULL;
  g_autofree char *short_date = NULL;

  if (!schedule && self->store != NULL)
    {
      int y, m, d;
      gint64 start, end;

      vd_time_today_bounds (_vd_window_zone (self), g_get_real_time () / G_USEC_PER_SEC, &start, &end, &y, &m, &d);
      now = g_date_time_new_local (y, m, d, 12, 0, 0);
    }

  /* Translators: the day shown in the header, strftime format */
  long_date = g_date_time_format (now ? now : date, _("%A, %-d %B %Y"));
  /* Translators: the date button in the header, strftime format */
  short_date = g_date_time_format (date, _("%a %-d %b"));

  adw_window_title_set_title (self->content_title, schedule ? _("Schedule") : _("Today"));
  adw_window_title_set_subtitle (self->content_title, long_date);
  if (g_strcmp0 (section, "sync") == 0)
    {
      adw_window_title_set_title (self->content_title, _("Sync"));
      adw_window_title_set_subtitle (self->content_title, NULL);
    }
  if (g_strcmp0 (section, "clients") == 0 || g_strcmp0 (section, "staff") == 0)
    {
      adw_window_title_set_title (self->content_title,
                                  g_strcmp0 (section, "clients") == 0 ? _("Clients") : _("Staff"));
      adw_window_title_set_subtitle (self->content_title, NULL);
    }
  gtk_menu_button_set_label (self->date_button, short_date);
  gtk_widget_set_visible (self->date_nav, schedule);
  gtk_widget_set_visible (GTK_WIDGET (self->date_button), schedule);
}

void
vd_window_set_date (VdWindow *self,
                    int       year,
                    int       month,
                    int       day)
{
  g_autoptr(GDateTime) noon = NULL;

  g_return_if_fail (VD_IS_WINDOW (self));
  g_return_if_fail (g_date_valid_dmy (day, month, year));

  self->year = year;
  self->month = month;
  self->day = day;

  if (self->day_appointments != NULL)
    vd_appointment_list_set_day (self->day_appointments, year, month, day);
  vd_day_view_set_date (self->day_view, year, month, day);

  noon = g_date_time_new_local (year, month, day, 12, 0, 0);
  gtk_calendar_select_day (self->calendar, noon);
  update_titles (self);
}

void
_vd_window_today_date (VdWindow *self,
                       int      *year,
                       int      *month,
                       int      *day)
{
  gint64 start, end;

  if (self->store != NULL)
    vd_time_today_bounds (_vd_window_zone (self), g_get_real_time () / G_USEC_PER_SEC, &start, &end,
                          year, month, day);
  else
    {
      g_autoptr(GDateTime) now = g_date_time_new_now_local ();

      *year = g_date_time_get_year (now);
      *month = g_date_time_get_month (now);
      *day = g_date_time_get_day_of_month (now);
    }
}

void
_vd_window_shift_date (VdWindow *self,
                       int       days)
{
  g_autoptr(GDate) date = g_date_new_dmy (self->day, self->month, self->year);

  if (days > 0)
    g_date_add_days (date, days);
  else
    g_date_subtract_days (date, -days);
  vd_window_set_date (self, g_date_get_year (date), g_date_get_month (date), g_date_get_day (date));
}

static void
calendar_day_selected_cb (VdWindow *self)
{
  g_autoptr(GDateTime) date = gtk_calendar_get_date (self->calendar);
  int y = g_date_time_get_year (date);
  int m = g_date_time_get_month (date);
  int d = g_date_time_get_day_of_month (date);

  if (y == self->year && m == self->month && d == self->day)
    return;
  vd_window_set_date (self, y, m, d);
  gtk_menu_button_popdown (self->date_button);
}

void
_vd_window_show_section (VdWindow   *self,
                         const char *name)
{
  GtkListBoxRow *row = self->today_row;

  /* Staff records are for clinic admins only: their row is hidden for everyone else. */
  if (g_strcmp0 (name, "staff") == 0 && !gtk_widget_get_visible (GTK_WIDGET (self->staff_row)))
    name = "today";

  /* The sidebar row of a section carries the section's name. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->sidebar_list));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_LIST_BOX_ROW (child) && g_strcmp0 (gtk_widget_get_name (child), name) == 0)
      row = GTK_LIST_BOX_ROW (child);

  gtk_stack_set_visible_child_name (self->section_stack, name);
  gtk_list_box_select_row (self->sidebar_list, row);
  update_titles (self);
  adw_leaflet_set_visible_child (self->leaflet, self->content);
}

static void
show_pending_section_cb (gpointer user_data)
{
  VdWindow *self = user_data;
  g_autofree char *name = g_strdup (g_object_get_data (G_OBJECT (self), "vd-pending-section"));

  if (name != NULL)
    _vd_window_show_section (self, name);
}

/* Unsaved edits in the section on show are asked about (save, discard, cancel) before
 * another section is shown; after Cancel the sidebar keeps the section on show. */
void
_vd_window_leave_section_then_show (VdWindow   *self,
                                    const char *name)
{
  GtkWidget *current = gtk_stack_get_visible_child (self->section_stack);
  const char *current_name = gtk_stack_get_visible_child_name (self->section_stack);

  if (current == NULL || g_strcmp0 (current_name, name) == 0 ||
      !vd_record_forms_any_dirty (current))
    {
      _vd_window_show_section (self, name);
      return;
    }
  g_object_set_data_full (G_OBJECT (self), "vd-pending-section", g_strdup (name), g_free);
  _vd_window_show_section (self, current_name);
  vd_record_forms_leave (current, G_CALLBACK (show_pending_section_cb), self);
}

static void
sidebar_row_activated_cb (VdWindow      *self,
                          GtkListBoxRow *row)
{
  _vd_window_leave_section_then_show (self, gtk_widget_get_name (GTK_WIDGET (row)));
  /* A section's row brings back its list when a narrow window shows a record instead. */
  if (g_strcmp0 (gtk_widget_get_name (GTK_WIDGET (row)), "clients") == 0)
    vd_clients_page_show_list (self->clients_page);
  else if (g_strcmp0 (gtk_widget_get_name (GTK_WIDGET (row)), "staff") == 0)
    vd_staff_page_show_list (self->staff_page);
}

/* ---- the banner under the header ---- */

static void
update_banner (VdWindow *self)
{
  VdSyncState state = self->engine ? vd_sync_engine_get_state (self->engine) : VD_SYNC_UP_TO_DATE;
  const char *text = NULL;
  const char *icon = NULL;
  const char *button = NULL;
  const char *action = NULL;

  switch (state)
    {
    case VD_SYNC_OFFLINE:
      icon = "network-offline-symbolic";
      text = _("Working offline — changes are kept on this computer and will be sent when the connection returns");
      break;
    case VD_SYNC_NEEDS_SIGN_IN:
      icon = "dialog-password-symbolic";
      text = _("Your sign-in has ended. Your work stays on this computer; sign in again to send and receive changes.");
      button = _("Sign In Again…");
      action = "win.sign-in-again";
      break;
    case VD_SYNC_ERROR:
      icon = "dialog-warning-symbolic";
      text = vd_sync_engine_get_error_message (self->engine);
      if (text == NULL || *text == '\0')
        text = _("Changes could not be synced. They are kept on this computer.");
      button = _("Try Again");
      action = "win.sync-now";
      break;
    case VD_SYNC_CONNECTING:
    case VD_SYNC_SYNCING:
    case VD_SYNC_UP_TO_DATE:
    default:
      break;
    }

  if (text != NULL)
    {
      gtk_label_set_text (self->banner_label, text);
      gtk_image_set_from_icon_name (self->banner_icon, icon);
      gtk_widget_set_visible (GTK_WIDGET (self->banner_button), button != NULL);
      if (button != NULL)
        {
          gtk_button_set_label (self->banner_button, button);
          gtk_actionable_set_action_name (GTK_ACTIONABLE (self->banner_button), action);
        }
    }
  gtk_revealer_set_reveal_child (self->banner_revealer, text != NULL);
}

/* ---- showing the desk's session ---- */

static void
engine_state_cb (VdWindow *self)
{
  update_banner (self);
}

/* The views of the session on show come down (the desk has ended it, or another begins). */
static void
hide_session (VdWindow *self)
{
  if (self->editor != NULL)
    gtk_window_destroy (GTK_WINDOW (self->editor));
  if (self->engine != NULL)
    g_signal_handlers_disconnect_by_data (self->engine, self);
  vd_sync_indicator_set_engine (self->sync_indicator, NULL);
  gtk_list_view_set_model (self->today_list, NULL);
  vd_day_view_set_appointments (self->day_view, NULL);
  vd_day_view_set_staff (self->day_view, NULL);
  if (self->today_appointments != NULL)
    g_signal_handlers_disconnect_by_data (self->today_appointments, self);
  g_clear_object (&self->day_appointments);
  g_clear_object (&self->today_appointments);
  g_clear_object (&self->staff);
  g_clear_object (&self->engine);
  g_clear_object (&self->store);
  _vd_window_set_session_on_pages (self);
  _vd_window_set_session_on_records (self);
  _vd_window_update_actions (self);
}

/* The desk's replica and engine on screen: the Today list, the day schedule, the banner. */
static void
show_session (VdWindow *self)
{
  VdStore *store = vd_desk_get_store (self->desk);
  const char *clinic_name = vd_desk_get_clinic_name (self->desk);
  g_autoptr(GtkNoSelection) today_model = NULL;
  int y, m, d;
  gint64 start, end;

  hide_session (self);
  if (store == NULL)
    return;
  self->store = g_object_ref (store);
  self->engine = g_object_ref (vd_desk_get_engine (self->desk));
  g_signal_connect_object (self->engine, "notify::state", G_CALLBACK (engine_state_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "notify::error-message", G_CALLBACK (engine_state_cb), self, G_CONNECT_SWAPPED);
  vd_sync_indicator_set_engine (self->sync_indicator, self->engine);

  adw_window_title_set_title (self->clinic_title, clinic_name ? clinic_name : _("VetDesk"));
  gtk_window_set_title (GTK_WINDOW (self), clinic_name ? clinic_name : _("VetDesk"));

  vd_time_today_bounds (_vd_window_zone (self), g_get_real_time () / G_USEC_PER_SEC, &start, &end, &y, &m, &d);

  self->staff = vd_staff_list_new (store);
  vd_staff_list_set_show_inactive (self->staff, TRUE);
  self->day_appointments = vd_appointment_list_new (store, start, end, NULL);
  self->today_appointments = vd_appointment_list_new (store, start, end, NULL);
  today_model = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->today_appointments)));
  gtk_list_view_set_model (self->today_list, GTK_SELECTION_MODEL (today_model));
  /* After the list view's own handler, so the rows on screen have their new positions. */
  g_signal_connect_object (self->today_appointments, "items-changed", G_CALLBACK (_vd_window_today_changed_cb), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);

  vd_day_view_set_time_zone (self->day_view, _vd_window_zone (self));
  vd_day_view_set_staff (self->day_view, G_LIST_MODEL (self->staff));
  vd_day_view_set_appointments (self->day_view, G_LIST_MODEL (self->day_appointments));
  vd_window_set_date (self, y, m, d);
  _vd_window_today_changed_cb (self);
  update_banner (self);
  _vd_window_set_session_on_pages (self);
  _vd_window_set_session_on_records (self);
  _vd_window_update_actions (self);
}

/* An administrator's session on the Sync Monitor page, or none. */
static void
show_monitor (VdWindow *self)
{
  g_set_object (&self->monitor, vd_desk_get_monitor (self->desk));
  vd_monitor_page_set_client (self->monitor_page, self->monitor,
                              self->monitor != NULL ? vd_desk_get_monitor_user (self->desk) : NULL);
  _vd_window_update_actions (self);
}

static void
desk_warning_cb (VdWindow   *self,
                 const char *message)
{
  _vd_window_toast (self, message);
}

/* While the first sync runs the clinic is behind the bootstrap page: its lists would
 * reload (the day query re-run) for every page of pets and clients for nobody. */
static void
pause_session_lists (VdWindow *self,
                     gboolean  paused)
{
  if (self->today_appointments != NULL)
    vd_store_list_set_paused (G_LIST_MODEL (self->today_appointments), paused);
  if (self->day_appointments != NULL)
    vd_store_list_set_paused (G_LIST_MODEL (self->day_appointments), paused);
  if (self->staff != NULL)
    vd_store_list_set_paused (G_LIST_MODEL (self->staff), paused);
}

static void
update_bootstrap (VdWindow *self)
{
  double progress = vd_sync_engine_get_progress (self->engine);
  GValue pulled = G_VALUE_INIT, total = G_VALUE_INIT;
  g_autofree char *text = NULL;

  g_value_init (&pulled, G_TYPE_INT64);
  g_value_init (&total, G_TYPE_INT64);
  g_object_get_property (G_OBJECT (self->engine), "pulled", &pulled);
  g_object_get_property (G_OBJECT (self->engine), "total", &total);

  if (g_value_get_int64 (&total) > 0)
    {
      gtk_progress_bar_set_fraction (self->bootstrap_bar, CLAMP (progress, 0.0, 1.0));
      /* Translators: during the first sync, e.g. "1200 of 5000 records copied" */
      text = g_strdup_printf (_("%" PRId64 " of %" PRId64 " records copied"),
                              g_value_get_int64 (&pulled), g_value_get_int64 (&total));
    }
  else if (g_value_get_int64 (&pulled) > 0)
    {
      gtk_progress_bar_pulse (self->bootstrap_bar);
      text = g_strdup_printf (_("%" PRId64 " records copied"), g_value_get_int64 (&pulled));
    }
  else
    {
      gtk_progress_bar_pulse (self->bootstrap_bar);
      text = g_strdup (_("Connecting to the server…"));
    }
  gtk_label_set_text (self->bootstrap_label, text);
}

/* The first sync copies the whole clinic: its progress shows while it runs async. */
static void
bootstrap_started_cb (VdWindow *self)
{
  gtk_progress_bar_set_fraction (self->bootstrap_bar, 0);
  gtk_label_set_text (self->bootstrap_label, _("Connecting to the server…"));
  gtk_stack_set_visible_child_name (self->stack, "bootstrap");
  pause_session_lists (self, TRUE);
  g_signal_connect_object (self->engine, "notify::progress", G_CALLBACK (update_bootstrap), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "notify::pulled", G_CALLBACK (update_bootstrap), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "notify::total", G_CALLBACK (update_bootstrap), self, G_CONNECT_SWAPPED);
}

static void
bootstrap_finished_cb (VdWindow   *self,
                       const char *error_message)
{
  if (self->engine != NULL)
    g_signal_handlers_disconnect_by_func (self->engine, update_bootstrap, self);
  pause_session_lists (self, FALSE);
  gtk_stack_set_visible_child_name (self->stack, "main");
  _vd_window_show_section (self, "today");
  if (error_message != NULL)
    _vd_window_toast (self, error_message);
}

static void
signed_in_cb (VdWindow      *self,
              VdLoginResult *result,
              VdClinicInfo  *clinic)
{
  g_autoptr(GError) error = NULL;

  switch (vd_desk_sign_in (self->desk, result, clinic, &error))
    {
    case VD_DESK_SIGN_IN_FAILED:
      {
        AdwToast *t = adw_toast_new (error->message);

        adw_toast_set_timeout (t, 0);
        adw_toast_overlay_add_toast (self->toast_overlay, t);
      }
      break;
    case VD_DESK_SIGN_IN_MONITOR:
      gtk_window_set_title (GTK_WINDOW (self), _("Sync Monitor"));
      gtk_stack_set_visible_child_name (self->stack, "monitor");
      _vd_window_update_actions (self);
      break;
    case VD_DESK_SIGN_IN_RENEWED:
      gtk_stack_set_visible_child_name (self->stack, "main");
      break;
    case VD_DESK_SIGN_IN_OPENED:
      gtk_stack_set_visible_child_name (self->stack, "main");
      _vd_window_show_section (self, "today");
      break;
    case VD_DESK_SIGN_IN_BOOTSTRAP:
    default:
      /* bootstrap_started_cb has shown the bootstrap page. */
      break;
    }
}

static char *
device_for_clinic (VdSignInPage       *page,
                   const VdClinicInfo *clinic,
                   gpointer            user_data)
{
  VdWindow *self = user_data;
  g_autofree char *server = vd_sign_in_page_dup_server_url (page);

  return vd_desk_device_for_clinic (self->desk, server, clinic->tenant_id,
                                    vd_sign_in_page_get_new_device_id (page));
}

static void
show_sign_in (VdWindow *self,
              gboolean  again)
{
  const char *server = vd_desk_get_server_url (self->desk);
  const VdAccount *account = vd_desk_get_account (self->desk);
  g_autofree char *remembered = NULL;

  if (account != NULL && (server == NULL || again))
    server = account->server_url;
  if (server == NULL || *server == '\0')
    server = remembered = vd_desk_dup_remembered_server (self->desk);

  vd_sign_in_page_reset (self->sign_in_page);
  vd_sign_in_page_set_server_url (self->sign_in_page, server);
  vd_sign_in_page_set_username (self->sign_in_page, account ? account->username : NULL);
  if (account != NULL && account->device_id != NULL)
    vd_sign_in_page_set_device_id (self->sign_in_page, account->device_id);
  if (self->store != NULL)
    vd_sign_in_page_set_device_id (self->sign_in_page, vd_store_get_device_id (self->store));
  vd_sign_in_page_set_can_cancel (self->sign_in_page, again && self->store != NULL);
  gtk_stack_set_visible_child_name (self->stack, "sign-in");
  vd_sign_in_page_focus_first_empty (self->sign_in_page);
}

static void
sign_in_cancelled_cb (VdWindow *self)
{
  if (self->store != NULL)
    gtk_stack_set_visible_child_name (self->stack, "main");
}

static void
sign_in_again_cb (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *param)
{
  show_sign_in (VD_WINDOW (widget), TRUE);
}

/* The session ends here and on the server (see vd_desk_sign_out). */
static void
sign_out_cb (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);

  vd_desk_sign_out (self->desk);
  gtk_window_set_title (GTK_WINDOW (self), _("VetDesk"));
  show_sign_in (self, FALSE);
  _vd_window_update_actions (self);
}

/* ---- public ---- */

VdWindow *
vd_window_new (VdApplication *application,
               const char    *server_url)
{
  return g_object_new (VD_TYPE_WINDOW,
                       "application", application,
                       "desk", vd_application_open_desk (application, server_url),
                       NULL);
}

const char *
vd_window_get_page (VdWindow *self)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (self->stack);
}

const char *
vd_window_get_section (VdWindow *self)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (self->section_stack);
}

VdSignInPage *
vd_window_get_sign_in_page (VdWindow *self)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), NULL);

  return self->sign_in_page;
}

VdDayView *
vd_window_get_day_view (VdWindow *self)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), NULL);

  return self->day_view;
}

VdStore *
vd_window_get_store (VdWindow *self)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), NULL);

  return self->store;
}

VdSyncEngine *
vd_window_get_engine (VdWindow *self)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), NULL);

  return self->engine;
}

VdDesk *
vd_window_get_desk (VdWindow *self)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), NULL);

  return self->desk;
}

VdAppointmentEditor *
vd_window_get_editor (VdWindow *self)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), NULL);

  return self->editor;
}

const char *
vd_window_get_banner_text (VdWindow *self)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), NULL);

  if (!gtk_revealer_get_reveal_child (self->banner_revealer))
    return NULL;
  return gtk_label_get_text (self->banner_label);
}

VdClientsPage *
vd_window_get_clients_page (VdWindow *self)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), NULL);

  return self->clients_page;
}

VdStaffPage *
vd_window_get_staff_page (VdWindow *self)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), NULL);

  return self->staff_page;
}

VdMonitorPage *
vd_window_get_monitor_page (VdWindow *self)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), NULL);

  return self->monitor_page;
}

gboolean
vd_window_has_section (VdWindow   *self,
                       const char *name)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), FALSE);

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->sidebar_list));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_LIST_BOX_ROW (child) && g_strcmp0 (gtk_widget_get_name (child), name) == 0)
      return gtk_widget_get_visible (child);
  return FALSE;
}

const char *
vd_window_get_sync_text (VdWindow *self)
{
  g_return_val_if_fail (VD_IS_WINDOW (self), NULL);

  return vd_sync_indicator_get_text (self->sync_indicator);
}

/* ---- GObject ---- */

static void
fill_legend (VdWindow *self)
{
  const char * const *kinds = vd_appointment_kinds ();

  for (guint i = 0; kinds[i] != NULL; i++)
    {
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *dot = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
      GtkWidget *label = gtk_label_new (vd_appointment_kind_label (kinds[i]));
      g_autofree char *kind_class = g_strconcat ("kind-", kinds[i], NULL);

      gtk_widget_add_css_class (dot, "legend-dot");
      gtk_widget_add_css_class (dot, kind_class);
      gtk_widget_set_valign (dot, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (label, "caption");
      gtk_box_append (GTK_BOX (box), dot);
      gtk_box_append (GTK_BOX (box), label);
      gtk_box_append (GTK_BOX (self->legend), box);
    }
}

static void
vd_window_constructed (GObject *object)
{
  VdWindow *self = VD_WINDOW (object);
  GSettings *settings;

  G_OBJECT_CLASS (vd_window_parent_class)->constructed (object);

  /* The desk shown from the start: the saved account it resumed, or signing in. */
  g_signal_connect_object (self->desk, "notify::store", G_CALLBACK (show_session), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->desk, "notify::monitor", G_CALLBACK (show_monitor), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->desk, "bootstrap-started", G_CALLBACK (bootstrap_started_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->desk, "bootstrap-finished", G_CALLBACK (bootstrap_finished_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->desk, "warning", G_CALLBACK (desk_warning_cb), self, G_CONNECT_SWAPPED);

  /* The size the window had when it was last closed; GTK keeps default-width/height in
   * step with the size while it is not maximized. */
  settings = vd_desk_get_settings (self->desk);
  if (settings != NULL)
    {
      g_settings_bind (settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);
    }

  if (vd_desk_get_store (self->desk) != NULL)
    {
      show_session (self);
      gtk_stack_set_visible_child_name (self->stack, "main");
    }
  else
    show_sign_in (self, FALSE);
}

static void
vd_window_dispose (GObject *object)
{
  VdWindow *self = VD_WINDOW (object);

  /* The application ends the desk's session once the window is gone. */
  if (self->desk != NULL)
    g_signal_handlers_disconnect_by_data (self->desk, self);
  hide_session (self);
  if (self->monitor != NULL)
    vd_monitor_page_set_client (self->monitor_page, NULL, NULL);
  g_clear_object (&self->monitor);
  gtk_widget_dispose_template (GTK_WIDGET (self), VD_TYPE_WINDOW);

  G_OBJECT_CLASS (vd_window_parent_class)->dispose (object);
}

static void
vd_window_finalize (GObject *object)
{
  VdWindow *self = VD_WINDOW (object);

  g_clear_object (&self->desk);

  G_OBJECT_CLASS (vd_window_parent_class)->finalize (object);
}

static void
vd_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  VdWindow *self = VD_WINDOW (object);

  switch (prop_id)
    {
    case PROP_DESK:
      g_value_set_object (value, self->desk);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_window_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  VdWindow *self = VD_WINDOW (object);

  switch (prop_id)
    {
    case PROP_DESK:
      self->desk = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
close_after_leave_cb (gpointer user_data)
{
  g_object_set_data (G_OBJECT (user_data), "vd-may-close", GINT_TO_POINTER (1));
  gtk_window_close (GTK_WINDOW (user_data));
}

/* Closing with unsaved edits (a record here, or an appointment being edited on top)
 * asks about each first: Save, Discard or Cancel (which keeps the window open). */
static gboolean
vd_window_close_request (GtkWindow *window)
{
  if (g_object_get_data (G_OBJECT (window), "vd-may-close") == NULL &&
      vd_record_forms_any_dirty (GTK_WIDGET (window)))
    {
      vd_record_forms_leave (GTK_WIDGET (window), G_CALLBACK (close_after_leave_cb), window);
      return TRUE;
    }
  return GTK_WINDOW_CLASS (vd_window_parent_class)->close_request (window);
}

static void
vd_window_class_init (VdWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = vd_window_constructed;
  object_class->dispose = vd_window_dispose;
  object_class->finalize = vd_window_finalize;
  object_class->get_property = vd_window_get_property;
  object_class->set_property = vd_window_set_property;
  GTK_WINDOW_CLASS (klass)->close_request = vd_window_close_request;

  properties[PROP_DESK] =
    g_param_spec_object ("desk", NULL, NULL, VD_TYPE_DESK,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (VD_TYPE_SIGN_IN_PAGE);
  g_type_ensure (VD_TYPE_DAY_VIEW);
  g_type_ensure (VD_TYPE_SYNC_INDICATOR);
  g_type_ensure (VD_TYPE_SEARCH_POPOVER);
  g_type_ensure (VD_TYPE_SYNC_PAGE);
  g_type_ensure (VD_TYPE_CLIENTS_PAGE);
  g_type_ensure (VD_TYPE_STAFF_PAGE);
  g_type_ensure (VD_TYPE_MONITOR_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/vetdesk/VetDesk/vd-window.ui");
  gtk_widget_class_bind_template_child (widget_class, VdWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, sign_in_page);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, bootstrap_bar);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, bootstrap_label);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, sidebar_list);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, today_row);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, schedule_row);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, content);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, clinic_title);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, content_title);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, date_nav);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, date_button);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, calendar);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, sync_indicator);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, banner_icon);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, banner_label);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, banner_button);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, section_stack);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, today_stack);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, today_list);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, day_view);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, legend);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, sync_row);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, sync_badge);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, sync_page);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, search_button);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, search_popover);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, clients_row);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, staff_row);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, clients_page);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, staff_page);
  gtk_widget_class_bind_template_child (widget_class, VdWindow, monitor_page);
  gtk_widget_class_bind_template_callback (widget_class, signed_in_cb);
  gtk_widget_class_bind_template_callback (widget_class, sign_in_cancelled_cb);
  gtk_widget_class_bind_template_callback (widget_class, sidebar_row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, calendar_day_selected_cb);

  gtk_widget_class_install_action (widget_class, "win.sign-in-again", NULL, sign_in_again_cb);
  gtk_widget_class_install_action (widget_class, "win.sign-out", NULL, sign_out_cb);
  _vd_window_class_init_actions (widget_class);
  _vd_window_class_init_today (widget_class);
  _vd_window_class_init_print (widget_class);
}

static void
vd_window_init (VdWindow *self)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GtkBuilder) shortcuts = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->year = g_date_time_get_year (now);
  self->month = g_date_time_get_month (now);
  self->day = g_date_time_get_day_of_month (now);

  fill_legend (self);
  _vd_window_init_today (self);
  vd_sign_in_page_set_device_func (self->sign_in_page, device_for_clinic, self);
  g_signal_connect_object (self->sync_page, "notify::attention", G_CALLBACK (_vd_window_update_sync_badge), self, G_CONNECT_SWAPPED);

  shortcuts = gtk_builder_new_from_resource ("/org/vetdesk/VetDesk/vd-shortcuts.ui");
  gtk_application_window_set_help_overlay (GTK_APPLICATION_WINDOW (self),
                                           GTK_SHORTCUTS_WINDOW (gtk_builder_get_object (shortcuts, "help_overlay")));
  gtk_list_box_select_row (self->sidebar_list, self->today_row);
  gtk_stack_set_visible_child_name (self->section_stack, "today");
  update_titles (self);
  _vd_window_update_actions (self);
}
