/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-window.c — the main window's chrome and the desk's session: resumes the saved
 * account (the local replica opens at once, the network comes later), or signs in, copies
 * the clinic on the first sync without blocking, and then shows Today and the day
 * schedule. The Today list, the actions and printing are in vd-window-today.c,
 * vd-window-actions.c and vd-window-print.c. */
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

G_DEFINE_FINAL_TYPE (VdWindow, vd_window, ADW_TYPE_APPLICATION_WINDOW)

enum
{
  PROP_0,
  PROP_SERVER_URL,
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
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.sign-out", self->account != NULL || self->monitor != NULL);
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

/* ---- settings: window geometry, server address, last clinic ---- */

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
remember_sign_in (VdWindow   *self,
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
  VdWindow *self = VD_WINDOW (source);
  g_autoptr(GError) error = NULL;

  if (g_task_propagate_boolean (G_TASK (result), &error))
    return;
  g_warning ("Could not keep the sign-in in the keyring: %s", error->message);
  if (!self->credentials_warned)
    {
      self->credentials_warned = TRUE;
      _vd_window_toast (self, _("Your sign-in could not be kept in the keyring: you will be asked to sign in again next time VetDesk starts."));
    }
}

static void
save_refresh_token (VdWindow   *self,
                    const char *token)
{
  g_autoptr(GTask) task = NULL;
  Credentials *c;

  if (self->account == NULL || token == NULL)
    return;

  c = g_new0 (Credentials, 1);
  c->server_url = g_strdup (self->account->server_url);
  c->username = g_strdup (self->account->username);
  c->token = g_strdup (token);
  task = g_task_new (self, NULL, store_credentials_done, NULL);
  g_task_set_task_data (task, c, (GDestroyNotify) credentials_free);
  g_task_run_in_thread (task, store_credentials_thread);
}

static void
refresh_token_changed_cb (VdWindow   *self,
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

/* ---- an administrator's session: the Sync Monitor ---- */

static void
end_monitor (VdWindow *self)
{
  if (self->monitor == NULL)
    return;
  vd_monitor_page_set_client (self->monitor_page, NULL, NULL);
  g_clear_object (&self->monitor);
  _vd_window_update_actions (self);
}

/* ---- the session ---- */

static void
engine_state_cb (VdWindow *self)
{
  update_banner (self);
}

static void
end_session (VdWindow *self)
{
  if (self->editor != NULL)
    gtk_window_destroy (GTK_WINDOW (self->editor));
  if (self->engine != NULL)
    {
      vd_sync_engine_stop (self->engine);
      g_signal_handlers_disconnect_by_data (self->engine, self);
    }
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

/* Opens the views on store and the engine on the server; tokens come separately. */
static void
begin_session (VdWindow   *self,
               VdStore    *store,
               const char *server_url,
               const char *fingerprint)
{
  g_autoptr(VdClinicInfo) clinic = NULL;
  g_autoptr(GtkNoSelection) today_model = NULL;
  int y, m, d;
  gint64 start, end;

  end_session (self);
  end_monitor (self);
  self->store = g_object_ref (store);
  self->engine = vd_sync_engine_new (store, server_url, fingerprint);
  g_signal_connect_object (self->engine, "notify::state", G_CALLBACK (engine_state_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "notify::error-message", G_CALLBACK (engine_state_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "refresh-token-changed", G_CALLBACK (refresh_token_changed_cb), self, G_CONNECT_SWAPPED);
  vd_sync_indicator_set_engine (self->sync_indicator, self->engine);

  clinic = vd_store_dup_clinic_info (store);
  adw_window_title_set_title (self->clinic_title, clinic && clinic->name ? clinic->name : _("VetDesk"));
  gtk_window_set_title (GTK_WINDOW (self), clinic && clinic->name ? clinic->name : _("VetDesk"));

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

static void
lookup_credentials_done (GObject      *source,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  VdWindow *self = VD_WINDOW (source);
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

/* The account saved on this computer, its replica and its token: the window opens on
 * the local data at once, whatever the network does. */
static gboolean
resume (VdWindow *self)
{
  g_autoptr(VdAccount) account = NULL;
  g_autoptr(VdStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VdClinicInfo) clinic = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GTask) task = NULL;
  Credentials *c;

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
  gtk_stack_set_visible_child_name (self->stack, "main");

  c = g_new0 (Credentials, 1);
  c->server_url = g_strdup (self->account->server_url);
  c->username = g_strdup (self->account->username);
  task = g_task_new (self, NULL, lookup_credentials_done, NULL);
  g_task_set_task_data (task, c, (GDestroyNotify) credentials_free);
  g_task_run_in_thread (task, lookup_credentials_thread);
  return TRUE;
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

static void
bootstrap_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(VdWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!vd_sync_engine_sync_finish (VD_SYNC_ENGINE (source), result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (self->engine != VD_SYNC_ENGINE (source))
    return;

  g_signal_handlers_disconnect_by_func (self->engine, update_bootstrap, self);
  pause_session_lists (self, FALSE);
  gtk_stack_set_visible_child_name (self->stack, "main");
  _vd_window_show_section (self, "today");
  if (error != NULL)
    _vd_window_toast (self, error->message);
  vd_sync_engine_start (self->engine);
}

/* Administrators get the Sync Monitor; their session lives in memory only (nothing of it
 * is saved: the next start asks again), and a desk's saved account stays as it was. */
static void
begin_monitor (VdWindow      *self,
               VdLoginResult *result)
{
  end_session (self);
  end_monitor (self);
  g_clear_object (&self->pending_store);
  remember_sign_in (self, result->server_url, NULL);

  self->monitor = vd_monitor_client_new (result->server_url, result->fingerprint,
                                         result->access_token, result->refresh_token);
  vd_monitor_page_set_client (self->monitor_page, self->monitor,
                              result->display_name != NULL ? result->display_name : result->username);
  gtk_window_set_title (GTK_WINDOW (self), _("Sync Monitor"));
  gtk_stack_set_visible_child_name (self->stack, "monitor");
  _vd_window_update_actions (self);
}

static void
signed_in_cb (VdWindow      *self,
              VdLoginResult *result,
              VdClinicInfo  *clinic)
{
  g_autoptr(VdAccount) account = g_new0 (VdAccount, 1);
  g_autoptr(VdStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  if (clinic == NULL)
    {
      begin_monitor (self, result);
      return;
    }

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
      if (!vd_account_save (account, &error))
        g_warning ("Could not save the account: %s", error->message);
      g_clear_pointer (&self->account, vd_account_free);
      self->account = g_steal_pointer (&account);
      save_refresh_token (self, result->refresh_token);
      vd_store_set_clinic_info (self->store, clinic, NULL);
      vd_sync_engine_set_tokens (self->engine, result->access_token, result->refresh_token);
      gtk_stack_set_visible_child_name (self->stack, "main");
      vd_sync_engine_sync_now (self->engine);
      return;
    }

  if (self->pending_store != NULL &&
      g_strcmp0 (vd_store_get_tenant_id (self->pending_store), clinic->tenant_id) == 0)
    store = g_steal_pointer (&self->pending_store);
  else
    {
      g_clear_object (&self->pending_store);
      path = vd_store_default_path (result->server_url, clinic->tenant_id);
      store = vd_store_open (path, clinic->tenant_id, &error);
    }
  if (store == NULL || !vd_store_set_clinic_info (store, clinic, &error))
    {
      AdwToast *t = adw_toast_new (error->message);

      adw_toast_set_timeout (t, 0);
      adw_toast_overlay_add_toast (self->toast_overlay, t);
      return;
    }

  account->device_id = g_strdup (vd_store_get_device_id (store));
  if (!vd_account_save (account, &error))
    {
      g_warning ("Could not save the account: %s", error->message);
      g_clear_error (&error);
    }
  g_clear_pointer (&self->account, vd_account_free);
  self->account = g_steal_pointer (&account);
  save_refresh_token (self, result->refresh_token);

  begin_session (self, store, result->server_url, result->fingerprint);
  vd_sync_engine_set_tokens (self->engine, result->access_token, result->refresh_token);

  if (vd_store_get_cursor (store) > 0)
    {
      gtk_stack_set_visible_child_name (self->stack, "main");
      _vd_window_show_section (self, "today");
      vd_sync_engine_start (self->engine);
      return;
    }

  /* The first sync copies the whole clinic: show its progress while it runs async. */
  gtk_progress_bar_set_fraction (self->bootstrap_bar, 0);
  gtk_label_set_text (self->bootstrap_label, _("Connecting to the server…"));
  gtk_stack_set_visible_child_name (self->stack, "bootstrap");
  pause_session_lists (self, TRUE);
  g_signal_connect_object (self->engine, "notify::progress", G_CALLBACK (update_bootstrap), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "notify::pulled", G_CALLBACK (update_bootstrap), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->engine, "notify::total", G_CALLBACK (update_bootstrap), self, G_CONNECT_SWAPPED);
  vd_sync_engine_sync_async (self->engine, self->cancellable, bootstrap_done_cb, g_object_ref (self));
}

/* The replica of the chosen clinic is opened (made, the first time) before the final
 * login, whose session must carry the replica's device id. */
static char *
device_for_clinic (VdSignInPage       *page,
                   const VdClinicInfo *clinic,
                   gpointer            user_data)
{
  VdWindow *self = user_data;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *server = NULL;

  if (self->store != NULL && g_strcmp0 (vd_store_get_tenant_id (self->store), clinic->tenant_id) == 0)
    return g_strdup (vd_store_get_device_id (self->store));

  g_clear_object (&self->pending_store);
  server = vd_sign_in_page_dup_server_url (page);
  path = vd_store_default_path (server, clinic->tenant_id);
  /* A clinic new to this computer takes the device id the sign-in just used, so that
   * session is the desk's and no second sign-in is needed. */
  self->pending_store = vd_store_open_for_device (path, clinic->tenant_id,
                                                  vd_sign_in_page_get_new_device_id (page),
                                                  &error);
  if (self->pending_store == NULL)
    {
      g_warning ("Could not open %s: %s", path, error->message);
      return NULL;
    }
  return g_strdup (vd_store_get_device_id (self->pending_store));
}

static void
show_sign_in (VdWindow *self,
              gboolean  again)
{
  const char *server = self->server_url;

  g_autofree char *remembered = NULL;

  if (self->account != NULL && (server == NULL || again))
    server = self->account->server_url;
  if ((server == NULL || *server == '\0') && self->settings != NULL)
    {
      remembered = g_settings_get_string (self->settings, "server-url");
      server = *remembered != '\0' ? remembered : NULL;
    }

  vd_sign_in_page_reset (self->sign_in_page);
  vd_sign_in_page_set_server_url (self->sign_in_page, server);
  vd_sign_in_page_set_username (self->sign_in_page, self->account ? self->account->username : NULL);
  if (self->account != NULL && self->account->device_id != NULL)
    vd_sign_in_page_set_device_id (self->sign_in_page, self->account->device_id);
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

/* ---- signing out ---- */

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

/* The session ends here and on the server. A desk forgets its account and keyring entry;
 * its local copy stays on disk, so changes not sent yet go out at the next sign-in. */
static void
sign_out_cb (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);
  g_autoptr(VdMonitorClient) server = NULL;
  g_autoptr(GError) error = NULL;

  if (self->monitor != NULL)
    {
      server = g_object_ref (self->monitor);
      end_monitor (self);
    }
  else if (self->account != NULL)
    {
      g_autoptr(GTask) task = NULL;
      Credentials *c;

      /* The logout goes on the engine's line to the server, with its tokens. */
      if (self->engine != NULL &&
          vd_api_client_has_refresh_token (vd_sync_engine_get_api_client (self->engine)))
        server = vd_monitor_client_new_for_api (vd_sync_engine_get_api_client (self->engine));
      end_session (self);
      if (!vd_account_forget (&error))
        g_warning ("%s", error->message);
      if (self->account->username != NULL)
        {
          c = g_new0 (Credentials, 1);
          c->server_url = g_strdup (self->account->server_url);
          c->username = g_strdup (self->account->username);
          task = g_task_new (self, NULL, NULL, NULL);
          g_task_set_task_data (task, c, (GDestroyNotify) credentials_free);
          g_task_run_in_thread (task, clear_credentials_thread);
        }
      g_clear_pointer (&self->account->tenant_id, g_free);
    }
  if (server != NULL)
    vd_monitor_client_sign_out_async (server, NULL, server_sign_out_done, NULL);
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
                       "server-url", server_url,
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

  G_OBJECT_CLASS (vd_window_parent_class)->constructed (object);

  if (!resume (self))
    show_sign_in (self, FALSE);
}

static void
vd_window_dispose (GObject *object)
{
  VdWindow *self = VD_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  end_session (self);
  end_monitor (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), VD_TYPE_WINDOW);

  G_OBJECT_CLASS (vd_window_parent_class)->dispose (object);
}

static void
vd_window_finalize (GObject *object)
{
  VdWindow *self = VD_WINDOW (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->pending_store);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->server_url, g_free);
  g_clear_pointer (&self->account, vd_account_free);

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
    case PROP_SERVER_URL:
      g_value_set_string (value, self->server_url);
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
    case PROP_SERVER_URL:
      self->server_url = g_value_dup_string (value);
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

  properties[PROP_SERVER_URL] =
    g_param_spec_string ("server-url", NULL, NULL, NULL,
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
  self->cancellable = g_cancellable_new ();
  self->year = g_date_time_get_year (now);
  self->month = g_date_time_get_month (now);
  self->day = g_date_time_get_day_of_month (now);

  fill_legend (self);
  _vd_window_init_today (self);
  vd_sign_in_page_set_device_func (self->sign_in_page, device_for_clinic, self);
  g_signal_connect_object (self->sync_page, "notify::attention", G_CALLBACK (_vd_window_update_sync_badge), self, G_CONNECT_SWAPPED);

  /* The size the window had when it was last closed; GTK keeps default-width/height in
   * step with the size while it is not maximized. */
  self->settings = open_settings ();
  if (self->settings != NULL)
    {
      g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);
    }

  shortcuts = gtk_builder_new_from_resource ("/org/vetdesk/VetDesk/vd-shortcuts.ui");
  gtk_application_window_set_help_overlay (GTK_APPLICATION_WINDOW (self),
                                           GTK_SHORTCUTS_WINDOW (gtk_builder_get_object (shortcuts, "help_overlay")));
  gtk_list_box_select_row (self->sidebar_list, self->today_row);
  gtk_stack_set_visible_child_name (self->section_stack, "today");
  update_titles (self);
  _vd_window_update_actions (self);
}
