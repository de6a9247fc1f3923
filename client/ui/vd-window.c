/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-window.c — the main window and the desk's session: resumes the saved account (the
 * local replica opens at once, the network comes later), or signs in, copies the clinic
 * on the first sync without blocking, and then shows Today and the day schedule. Status
 * steps are one click with an Undo toast. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <inttypes.h>

#include <glib/gi18n-lib.h>
#include <string.h>

#include "vd-window.h"
#include "vd-session.h"
#include "vd-store-models.h"
#include "vd-sync-indicator.h"
#include "vd-time.h"
#include "vd-print.h"
#include "vd-search-popover.h"
#include "vd-sync-page.h"
#include "vd-clients-page.h"
#include "vd-staff-page.h"
#include "vd-monitor-page.h"
#include "vd-monitor-client.h"

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
  GSettings            *settings;         /* NULL when the schema is not installed */
  VdMonitorPage        *monitor_page;
  VdMonitorClient      *monitor;          /* an administrator's session, or NULL */
  char                 *refresh_token;    /* the desk's latest, for signing out */

  char                 *server_url;       /* from --server */
  VdAccount            *account;
  VdStore              *store;
  VdStore              *pending_store;    /* opened during sign-in for its device id */
  VdSyncEngine         *engine;
  VdAppointmentList    *day_appointments;
  VdAppointmentList    *today_appointments;
  VdStaffList          *staff;
  GCancellable         *cancellable;
  VdAppointmentEditor  *editor;           /* weak */
  int                   year, month, day;
  gboolean              credentials_warned;
};

G_DEFINE_FINAL_TYPE (VdWindow, vd_window, ADW_TYPE_APPLICATION_WINDOW)

enum
{
  PROP_0,
  PROP_SERVER_URL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- status steps ---- */

static const struct
{
  const char *from;
  const char *to[4];
} status_steps[] = {
  { "scheduled",   { "confirmed", "checked_in", "no_show", "cancelled" } },
  { "confirmed",   { "checked_in", "no_show", "cancelled", NULL } },
  { "checked_in",  { "in_progress", "cancelled", NULL } },
  { "in_progress", { "completed", NULL } },
};

static const char * const *
next_statuses (const char *status)
{
  for (guint i = 0; i < G_N_ELEMENTS (status_steps); i++)
    if (g_strcmp0 (status_steps[i].from, status) == 0)
      return status_steps[i].to;
  return NULL;
}

/* The verb on a button or menu item that moves an appointment to status. */
static const char *
status_verb (const char *status)
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

static void
toast (VdWindow   *self,
       const char *title)
{
  AdwToast *t = adw_toast_new (title);

  adw_toast_set_timeout (t, 4);
  adw_toast_overlay_add_toast (self->toast_overlay, t);
}

static GTimeZone *
zone (VdWindow *self)
{
  return vd_store_get_time_zone (self->store);
}

static void
update_actions (VdWindow *self)
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

      vd_time_today_bounds (zone (self), g_get_real_time () / G_USEC_PER_SEC, &start, &end, &y, &m, &d);
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

static void
today_date (VdWindow *self,
            int      *year,
            int      *month,
            int      *day)
{
  gint64 start, end;

  if (self->store != NULL)
    vd_time_today_bounds (zone (self), g_get_real_time () / G_USEC_PER_SEC, &start, &end,
                          year, month, day);
  else
    {
      g_autoptr(GDateTime) now = g_date_time_new_now_local ();

      *year = g_date_time_get_year (now);
      *month = g_date_time_get_month (now);
      *day = g_date_time_get_day_of_month (now);
    }
}

static void
shift_date (VdWindow *self,
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

static void
show_section (VdWindow   *self,
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
sidebar_row_activated_cb (VdWindow      *self,
                          GtkListBoxRow *row)
{
  show_section (self, gtk_widget_get_name (GTK_WIDGET (row)));
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

/* ---- the Today list ---- */

/* The Today list is a GtkListView: rows exist only for the appointments on screen and
 * are recycled as it scrolls, so a day of 200 appointments arriving in a bootstrap or at
 * start costs a screenful of rows. Each row is an AdwActionRow (the look and accessible
 * labels of a boxed list); what bind changes is kept on it. */
typedef struct
{
  VdWindow          *window;
  GtkListItem       *list_item;
  GtkWidget         *row;
  GtkWidget         *dot;
  GtkWidget         *allergy;
  GtkWidget         *status;
  GtkWidget         *button;
  char              *kind_class;
  VdAppointmentItem *item;        /* bound, or NULL */
} TodayRow;

static void
today_row_free (TodayRow *parts)
{
  g_clear_object (&parts->item);
  g_free (parts->kind_class);
  g_free (parts);
}

static TodayRow *
today_row_parts (GtkWidget *row)
{
  return g_object_get_data (G_OBJECT (row), "vd-today-row");
}

/* The list view's rows are one card: the first and last round it off (by position in the
 * model, not among the widgets, which are only the rows on screen). */
static void
today_row_update_position (TodayRow *parts)
{
  VdWindow *self = parts->window;
  guint pos = gtk_list_item_get_position (parts->list_item);
  guint n = self->today_appointments
            ? g_list_model_get_n_items (G_LIST_MODEL (self->today_appointments)) : 0;

  if (pos == 0)
    gtk_widget_add_css_class (parts->row, "first");
  else
    gtk_widget_remove_css_class (parts->row, "first");
  if (n > 0 && pos == n - 1)
    gtk_widget_add_css_class (parts->row, "last");
  else
    gtk_widget_remove_css_class (parts->row, "last");
}

static void
today_row_fill (TodayRow *parts)
{
  VdWindow *self = parts->window;
  VdAppointmentItem *appointment = parts->item;
  g_autoptr(GDateTime) from = vd_time_to_zone (vd_appointment_item_get_starts_at (appointment), zone (self));
  g_autoptr(GDateTime) to = vd_time_to_zone (vd_appointment_item_get_ends_at (appointment), zone (self));
  g_autofree char *from_text = g_date_time_format (from, "%H:%M");
  g_autofree char *to_text = g_date_time_format (to, "%H:%M");
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *kind_class = g_strconcat ("kind-", vd_appointment_item_get_kind (appointment), NULL);
  const char *allergies = vd_appointment_item_get_pet_allergies (appointment);
  const char * const *next = next_statuses (vd_appointment_item_get_status (appointment));

  /* Translators: a row of the Today list: start–end time, then the pet */
  title = g_strdup_printf (_("%s–%s  %s"), from_text, to_text, vd_appointment_item_get_pet_name (appointment));
  /* Translators: client · staff member · kind of visit */
  subtitle = g_strdup_printf (_("%s · %s · %s"),
                              vd_appointment_item_get_client_name (appointment),
                              vd_appointment_item_get_staff_name (appointment),
                              vd_appointment_kind_label (vd_appointment_item_get_kind (appointment)));
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (parts->row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (parts->row), subtitle);

  if (g_strcmp0 (parts->kind_class, kind_class) != 0)
    {
      if (parts->kind_class != NULL)
        gtk_widget_remove_css_class (parts->dot, parts->kind_class);
      gtk_widget_add_css_class (parts->dot, kind_class);
      g_free (parts->kind_class);
      parts->kind_class = g_steal_pointer (&kind_class);
    }

  if (allergies != NULL && *allergies != '\0')
    {
      g_autofree char *tip = g_strdup_printf (_("Allergies: %s"), allergies);

      gtk_widget_set_tooltip_text (parts->allergy, tip);
      gtk_widget_set_visible (parts->allergy, TRUE);
    }
  else
    {
      gtk_widget_set_tooltip_text (parts->allergy, NULL);
      gtk_widget_set_visible (parts->allergy, FALSE);
    }

  gtk_label_set_text (GTK_LABEL (parts->status),
                      vd_appointment_status_label (vd_appointment_item_get_status (appointment)));

  if (next != NULL && next[0] != NULL)
    {
      gtk_button_set_label (GTK_BUTTON (parts->button), status_verb (next[0]));
      gtk_actionable_set_action_target (GTK_ACTIONABLE (parts->button), "(ss)",
                                        vd_appointment_item_get_id (appointment), next[0]);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (parts->button), "win.set-status");
      gtk_widget_set_visible (parts->button, TRUE);
    }
  else
    gtk_widget_set_visible (parts->button, FALSE);
}

/* Reloads update items in place: a bound row follows its item. */
static void
today_item_notify_cb (GtkWidget *row)
{
  TodayRow *parts = today_row_parts (row);

  if (parts->item != NULL)
    today_row_fill (parts);
}

static void
today_position_cb (GtkWidget *row)
{
  today_row_update_position (today_row_parts (row));
}

static void
today_setup_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *list_item,
                VdWindow                 *self)
{
  TodayRow *parts = g_new0 (TodayRow, 1);

  parts->window = self;
  parts->list_item = list_item;
  parts->row = adw_action_row_new ();
  parts->dot = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  parts->allergy = gtk_image_new_from_icon_name ("dialog-warning-symbolic");
  parts->status = gtk_label_new (NULL);
  parts->button = gtk_button_new ();
  g_object_set_data_full (G_OBJECT (parts->row), "vd-today-row", parts, (GDestroyNotify) today_row_free);

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (parts->row), FALSE);
  /* The list view's own row takes the focus and the activation (today_activate_cb). */
  gtk_widget_set_focusable (parts->row, FALSE);
  gtk_widget_add_css_class (parts->row, "today-row");

  gtk_widget_add_css_class (parts->dot, "legend-dot");
  gtk_widget_set_valign (parts->dot, GTK_ALIGN_CENTER);
  adw_action_row_add_prefix (ADW_ACTION_ROW (parts->row), parts->dot);

  gtk_widget_add_css_class (parts->allergy, "error");
  gtk_widget_set_visible (parts->allergy, FALSE);
  adw_action_row_add_suffix (ADW_ACTION_ROW (parts->row), parts->allergy);

  gtk_widget_add_css_class (parts->status, "dim-label");
  adw_action_row_add_suffix (ADW_ACTION_ROW (parts->row), parts->status);

  /* Its action is set with its target, at bind. */
  gtk_widget_set_valign (parts->button, GTK_ALIGN_CENTER);
  gtk_widget_set_visible (parts->button, FALSE);
  adw_action_row_add_suffix (ADW_ACTION_ROW (parts->row), parts->button);

  gtk_list_item_set_child (list_item, parts->row);
  /* Connected to the row: gone with it, whatever order the list view tears down in. */
  g_signal_connect_object (list_item, "notify::position", G_CALLBACK (today_position_cb), parts->row,
                           G_CONNECT_SWAPPED);
}

static void
today_bind_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *list_item,
               VdWindow                 *self)
{
  GtkWidget *row = gtk_list_item_get_child (list_item);
  TodayRow *parts = today_row_parts (row);

  parts->item = g_object_ref (gtk_list_item_get_item (list_item));
  g_signal_connect_object (parts->item, "notify", G_CALLBACK (today_item_notify_cb), row, G_CONNECT_SWAPPED);
  today_row_fill (parts);
  today_row_update_position (parts);
}

static void
today_unbind_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *list_item,
                 VdWindow                 *self)
{
  GtkWidget *row = gtk_list_item_get_child (list_item);
  TodayRow *parts = row != NULL ? today_row_parts (row) : NULL;

  if (parts == NULL || parts->item == NULL)
    return;
  g_signal_handlers_disconnect_by_func (parts->item, today_item_notify_cb, row);
  g_clear_object (&parts->item);
}

/* A click on a row (or Enter on it) opens the appointment, as the boxed list's rows did. */
static void
today_activate_cb (VdWindow *self,
                   guint     position)
{
  g_autoptr(VdAppointmentItem) item = NULL;

  if (self->today_appointments == NULL)
    return;
  item = g_list_model_get_item (G_LIST_MODEL (self->today_appointments), position);
  if (item != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "win.edit-appointment", "s",
                                vd_appointment_item_get_id (item));
}

static void
today_changed_cb (VdWindow *self)
{
  guint n = self->today_appointments
            ? g_list_model_get_n_items (G_LIST_MODEL (self->today_appointments)) : 0;

  gtk_stack_set_visible_child_name (self->today_stack, n > 0 ? "list" : "empty");

  /* The row that was last may still be on screen with the same position. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->today_list));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *row = gtk_widget_get_first_child (child);
      TodayRow *parts = row != NULL ? today_row_parts (row) : NULL;

      if (parts != NULL && parts->item != NULL)
        today_row_update_position (parts);
    }
}

/* ---- appointments: editor and status ---- */

static void
editor_saved_cb (VdWindow   *self,
                 const char *appointment_id)
{
  toast (self, _("Appointment saved"));
}

static VdAppointmentEditor *
open_editor (VdWindow *self)
{
  if (self->editor != NULL)
    gtk_window_destroy (GTK_WINDOW (self->editor));

  self->editor = vd_appointment_editor_new (GTK_WINDOW (self), self->store);
  g_object_add_weak_pointer (G_OBJECT (self->editor), (gpointer *) &self->editor);
  g_signal_connect_object (self->editor, "saved", G_CALLBACK (editor_saved_cb), self,
                           G_CONNECT_SWAPPED);
  return self->editor;
}

static void
slot_activated_cb (VdWindow   *self,
                   const char *staff_id,
                   gint64      starts_at)
{
  VdAppointmentEditor *editor;

  if (self->store == NULL)
    return;
  editor = open_editor (self);
  vd_appointment_editor_set_start (editor, staff_id, starts_at);
  gtk_window_present (GTK_WINDOW (editor));
}

static void
appointment_activated_cb (VdWindow *self,
                          GObject  *item)
{
  VdAppointmentItem *appointment = VD_APPOINTMENT_ITEM (item);
  const char *id = vd_appointment_item_get_id (appointment);
  const char * const *next = next_statuses (vd_appointment_item_get_status (appointment));
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) steps = g_menu_new ();
  g_autoptr(GMenu) more = g_menu_new ();
  g_autoptr(GMenuItem) edit = NULL;

  for (guint i = 0; next != NULL && i < 4 && next[i] != NULL; i++)
    {
      g_autoptr(GMenuItem) step = g_menu_item_new (status_verb (next[i]), NULL);

      g_menu_item_set_action_and_target (step, "win.set-status", "(ss)", id, next[i]);
      g_menu_append_item (steps, step);
    }
  edit = g_menu_item_new (_("Edit…"), NULL);
  g_menu_item_set_action_and_target (edit, "win.edit-appointment", "s", id);
  g_menu_append_item (more, edit);

  g_menu_append_section (menu, NULL, G_MENU_MODEL (steps));
  g_menu_append_section (menu, NULL, G_MENU_MODEL (more));
  vd_day_view_popup_menu (self->day_view, id, G_MENU_MODEL (menu));
}

/* One user action: the appointment's status, committed like any other change. */
static gboolean
commit_status (VdWindow   *self,
               const char *appointment_id,
               const char *status,
               char      **out_previous,
               char      **out_pet_id)
{
  const VdTable *table = vd_schema_lookup_table ("appointments");
  const VdColumn *status_column = vd_table_lookup_column (table, "status");
  const VdColumn *pet_column = vd_table_lookup_column (table, "pet_id");
  VdValue *row = g_newa (VdValue, table->n_columns);
  g_autoptr(VdChange) change = NULL;
  g_autoptr(GError) error = NULL;
  VdValue value = { VD_VALUE_NULL };
  gboolean found;

  memset (row, 0, sizeof (VdValue) * table->n_columns);
  found = vd_store_get_row (self->store, table, appointment_id, row, &error);
  if (found)
    {
      if (out_previous)
        *out_previous = g_strdup (row[status_column->index].kind == VD_VALUE_TEXT ? row[status_column->index].s : NULL);
      if (out_pet_id)
        *out_pet_id = g_strdup (row[pet_column->index].kind == VD_VALUE_TEXT ? row[pet_column->index].s : NULL);
    }
  for (guint i = 0; i < table->n_columns; i++)
    vd_value_clear (&row[i]);
  if (!found)
    {
      toast (self, error ? error->message : _("This appointment no longer exists on this computer."));
      return FALSE;
    }

  change = vd_change_new (table, appointment_id, 0, vd_store_get_device_id (self->store));
  vd_value_set_text (&value, status);
  vd_change_take_cell (change, status_column, &value);
  if (!vd_store_commit (self->store, change, &error))
    {
      toast (self, error->message);
      return FALSE;
    }
  return TRUE;
}

static char *
pet_name (VdWindow   *self,
          const char *pet_id)
{
  const VdTable *table = vd_schema_lookup_table ("pets");
  const VdColumn *name_column = vd_table_lookup_column (table, "name");
  VdValue *row = g_newa (VdValue, table->n_columns);
  char *name = NULL;

  memset (row, 0, sizeof (VdValue) * table->n_columns);
  if (pet_id != NULL && vd_store_get_row (self->store, table, pet_id, row, NULL) &&
      row[name_column->index].kind == VD_VALUE_TEXT)
    name = g_strdup (row[name_column->index].s);
  for (guint i = 0; i < table->n_columns; i++)
    vd_value_clear (&row[i]);
  return name ? name : g_strdup (_("The pet"));
}

static void
set_status_cb (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);
  const char *id, *status;
  g_autofree char *previous = NULL;
  g_autofree char *pet_id = NULL;
  g_autofree char *pet = NULL;
  g_autofree char *title = NULL;
  AdwToast *t;

  g_variant_get (param, "(&s&s)", &id, &status);
  if (!commit_status (self, id, status, &previous, &pet_id))
    return;

  pet = pet_name (self, pet_id);
  /* Translators: a toast after a status step, e.g. "Rex: Checked in" */
  title = g_strdup_printf (_("%s: %s"), pet, vd_appointment_status_label (status));
  t = adw_toast_new (title);
  adw_toast_set_timeout (t, 6);
  if (previous != NULL)
    {
      adw_toast_set_button_label (t, _("_Undo"));
      adw_toast_set_action_name (t, "win.undo-status");
      adw_toast_set_action_target_value (t, g_variant_new ("(ss)", id, previous));
    }
  adw_toast_overlay_add_toast (self->toast_overlay, t);
}

static void
undo_status_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);
  const char *id, *status;

  /* Undo is a change like any other: the previous status, newly stamped. */
  g_variant_get (param, "(&s&s)", &id, &status);
  commit_status (self, id, status, NULL, NULL);
}

static void
edit_appointment_cb (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);
  g_autoptr(GError) error = NULL;
  VdAppointmentEditor *editor = open_editor (self);

  if (!vd_appointment_editor_load (editor, g_variant_get_string (param, NULL), &error))
    {
      gtk_window_destroy (GTK_WINDOW (editor));
      toast (self, error->message);
      return;
    }
  gtk_window_present (GTK_WINDOW (editor));
}

static void
new_appointment_cb (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);
  VdAppointmentEditor *editor;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  int y, m, d;
  gint64 starts_at;

  today_date (self, &y, &m, &d);
  /* On today: the next quarter hour. On another day of the schedule: its opening. */
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->section_stack), "schedule") == 0 &&
      (y != self->year || m != self->month || d != self->day))
    starts_at = vd_time_from_zone (zone (self), self->year, self->month, self->day, 9, 0, 0);
  else
    starts_at = (now / 900 + 1) * 900;

  editor = open_editor (self);
  vd_appointment_editor_set_start (editor, NULL, starts_at);
  gtk_window_present (GTK_WINDOW (editor));
}

/* "Book Appointment" on a pet's page: the editor with that client and pet chosen. */
static void
book_appointment_cb (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);
  VdAppointmentEditor *editor;
  const char *client_id, *pet_id;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (self->store == NULL)
    return;
  g_variant_get (param, "(&s&s)", &client_id, &pet_id);
  editor = open_editor (self);
  vd_appointment_editor_set_start (editor, NULL, (now / 900 + 1) * 900);
  if (!vd_appointment_editor_set_patient (editor, client_id, pet_id))
    toast (self, _("This client is no longer on this computer."));
  gtk_window_present (GTK_WINDOW (editor));
}

/* Search results and the Sync page open records through these. */
static void
show_client_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);

  if (self->store == NULL)
    return;
  show_section (self, "clients");
  vd_clients_page_open_client (self->clients_page, g_variant_get_string (param, NULL));
}

static void
show_pet_cb (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);

  if (self->store == NULL)
    return;
  show_section (self, "clients");
  vd_clients_page_open_pet (self->clients_page, g_variant_get_string (param, NULL));
}

/* The record pages follow the session; the Staff section only for a clinic admin. */
static void
set_session_on_records (VdWindow *self)
{
  g_autoptr(VdClinicInfo) clinic = self->store ? vd_store_dup_clinic_info (self->store) : NULL;
  gboolean admin = clinic != NULL && g_strcmp0 (clinic->role, "clinic_admin") == 0;

  vd_clients_page_set_store (self->clients_page, self->store);
  vd_staff_page_set_store (self->staff_page, admin ? self->store : NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->staff_row), admin);
  if (!admin && g_strcmp0 (gtk_stack_get_visible_child_name (self->section_stack), "staff") == 0)
    show_section (self, "today");
}

/* ---- navigation actions ---- */

static void
go_today_cb (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);
  int y, m, d;
  g_autoptr(GDateTime) now = NULL;

  today_date (self, &y, &m, &d);
  vd_window_set_date (self, y, m, d);
  if (self->store != NULL)
    {
      now = vd_time_to_zone (g_get_real_time () / G_USEC_PER_SEC, zone (self));
      vd_day_view_scroll_to_minute (self->day_view,
                                    MAX (g_date_time_get_hour (now) * 60 - 60, 0));
    }
}

static void
go_previous_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  shift_date (VD_WINDOW (widget), -1);
}

static void
go_next_cb (GtkWidget  *widget,
            const char *action_name,
            GVariant   *param)
{
  shift_date (VD_WINDOW (widget), 1);
}

static void
show_section_cb (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *param)
{
  show_section (VD_WINDOW (widget), g_variant_get_string (param, NULL));
}

static void
show_sidebar_cb (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);

  adw_leaflet_set_visible_child (self->leaflet, self->sidebar);
}

static void
sync_now_cb (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);

  /* Ctrl+R on the Sync Monitor reloads the clinics. */
  if (self->monitor != NULL)
    vd_monitor_page_refresh (self->monitor_page);
  else if (self->engine != NULL)
    vd_sync_engine_sync_now (self->engine);
}

/* ---- search, the Sync page, printing ---- */

static void
search_cb (GtkWidget  *widget,
           const char *action_name,
           GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);

  /* The search button sits in the content header: show it when the sidebar is folded over it. */
  adw_leaflet_set_visible_child (self->leaflet, self->content);
  gtk_menu_button_popup (self->search_button);
}

static void
update_sync_badge (VdWindow *self)
{
  guint attention = vd_sync_page_get_attention (self->sync_page);
  g_autofree char *text = g_strdup_printf ("%u", attention);
  g_autofree char *tip = NULL;

  gtk_label_set_text (self->sync_badge, text);
  gtk_widget_set_visible (GTK_WIDGET (self->sync_badge), attention > 0);
  if (attention > 0)
    tip = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u thing needs your attention",
                                        "%u things need your attention", attention), attention);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->sync_row), tip);
}

/* The day the schedule shows, or today on the other sections. */
static void
print_date (VdWindow *self,
            int      *year,
            int      *month,
            int      *day)
{
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->section_stack), "schedule") == 0)
    {
      *year = self->year;
      *month = self->month;
      *day = self->day;
    }
  else
    today_date (self, year, month, day);
}

static void
print_schedule_cb (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);
  g_autoptr(GtkPrintOperation) operation = NULL;
  g_autoptr(GError) error = NULL;
  int y, m, d;

  if (self->store == NULL)
    return;
  print_date (self, &y, &m, &d);
  operation = vd_print_schedule_new (self->store, y, m, d);
  /* The dialog's "Print to File" is how a PDF is made from here. */
  gtk_print_operation_set_allow_async (operation, TRUE);
  if (gtk_print_operation_run (operation, GTK_PRINT_OPERATION_ACTION_PRINT_DIALOG,
                               GTK_WINDOW (self), &error) == GTK_PRINT_OPERATION_RESULT_ERROR)
    toast (self, error->message);
}

static void
export_pdf_cb (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);
  g_autoptr(GtkPrintOperation) operation = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_strdup (g_variant_get_string (param, NULL));
  g_autofree char *sentence = NULL;
  int y, m, d;

  if (self->store == NULL)
    return;
  print_date (self, &y, &m, &d);
  /* No file named: the Documents folder, under a name that says which day it is. */
  if (*path == '\0')
    {
      const char *dir = g_get_user_special_dir (G_USER_DIRECTORY_DOCUMENTS);
      /* Translators: the file name of an exported schedule; keep the .pdf */
      g_autofree char *name = g_strdup_printf (_("Schedule %04d-%02d-%02d.pdf"), y, m, d);

      g_free (path);
      path = g_build_filename (dir != NULL ? dir : g_get_home_dir (), name, NULL);
    }

  operation = vd_print_schedule_new (self->store, y, m, d);
  gtk_print_operation_set_export_filename (operation, path);
  if (gtk_print_operation_run (operation, GTK_PRINT_OPERATION_ACTION_EXPORT,
                               GTK_WINDOW (self), &error) == GTK_PRINT_OPERATION_RESULT_ERROR)
    {
      toast (self, error->message);
      return;
    }
  /* Translators: a toast, %s is the PDF file's path */
  sentence = g_strdup_printf (_("Schedule saved as %s"), path);
  toast (self, sentence);
}

/* The pages that follow the session: the search and the Sync page. */
static void
set_session_on_pages (VdWindow *self)
{
  vd_search_popover_set_store (self->search_popover, self->store);
  vd_sync_page_set_session (self->sync_page, self->store, self->engine);
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
      toast (self, _("Your sign-in could not be kept in the keyring: you will be asked to sign in again next time VetDesk starts."));
    }
}

static void
keep_refresh_token (VdWindow   *self,
                    const char *token)
{
  if (self->refresh_token != NULL)
    memset (self->refresh_token, 0, strlen (self->refresh_token));
  g_free (self->refresh_token);
  self->refresh_token = g_strdup (token);
}

static void
save_refresh_token (VdWindow   *self,
                    const char *token)
{
  g_autoptr(GTask) task = NULL;
  Credentials *c;

  if (self->account == NULL || token == NULL)
    return;
  keep_refresh_token (self, token);

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
  update_actions (self);
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
  set_session_on_pages (self);
  set_session_on_records (self);
  update_actions (self);
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

  vd_time_today_bounds (zone (self), g_get_real_time () / G_USEC_PER_SEC, &start, &end, &y, &m, &d);

  self->staff = vd_staff_list_new (store);
  vd_staff_list_set_show_inactive (self->staff, TRUE);
  self->day_appointments = vd_appointment_list_new (store, start, end, NULL);
  self->today_appointments = vd_appointment_list_new (store, start, end, NULL);
  today_model = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->today_appointments)));
  gtk_list_view_set_model (self->today_list, GTK_SELECTION_MODEL (today_model));
  /* After the list view's own handler, so the rows on screen have their new positions. */
  g_signal_connect_object (self->today_appointments, "items-changed", G_CALLBACK (today_changed_cb), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);

  vd_day_view_set_time_zone (self->day_view, zone (self));
  vd_day_view_set_staff (self->day_view, G_LIST_MODEL (self->staff));
  vd_day_view_set_appointments (self->day_view, G_LIST_MODEL (self->day_appointments));
  vd_window_set_date (self, y, m, d);
  today_changed_cb (self);
  update_banner (self);
  set_session_on_pages (self);
  set_session_on_records (self);
  update_actions (self);
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
  keep_refresh_token (self, token);
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
  show_section (self, "today");
  if (error != NULL)
    toast (self, error->message);
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
  update_actions (self);
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
      show_section (self, "today");
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

      /* The engine's access token is not shared: the logout refreshes first. */
      if (self->refresh_token != NULL && self->account->server_url != NULL)
        server = vd_monitor_client_new (self->account->server_url, self->account->fingerprint,
                                        NULL, self->refresh_token);
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
  keep_refresh_token (self, NULL);
  if (server != NULL)
    vd_monitor_client_sign_out_async (server, NULL, server_sign_out_done, NULL);
  gtk_window_set_title (GTK_WINDOW (self), _("VetDesk"));
  show_sign_in (self, FALSE);
  update_actions (self);
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
  keep_refresh_token (self, NULL);

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
vd_window_class_init (VdWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = vd_window_constructed;
  object_class->dispose = vd_window_dispose;
  object_class->finalize = vd_window_finalize;
  object_class->get_property = vd_window_get_property;
  object_class->set_property = vd_window_set_property;

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
  gtk_widget_class_bind_template_callback (widget_class, slot_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, appointment_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, today_activate_cb);

  gtk_widget_class_install_action (widget_class, "win.sync-now", NULL, sync_now_cb);
  gtk_widget_class_install_action (widget_class, "win.new-appointment", NULL, new_appointment_cb);
  gtk_widget_class_install_action (widget_class, "win.go-today", NULL, go_today_cb);
  gtk_widget_class_install_action (widget_class, "win.go-previous", NULL, go_previous_cb);
  gtk_widget_class_install_action (widget_class, "win.go-next", NULL, go_next_cb);
  gtk_widget_class_install_action (widget_class, "win.show-section", "s", show_section_cb);
  gtk_widget_class_install_action (widget_class, "win.show-sidebar", NULL, show_sidebar_cb);
  gtk_widget_class_install_action (widget_class, "win.sign-in-again", NULL, sign_in_again_cb);
  gtk_widget_class_install_action (widget_class, "win.sign-out", NULL, sign_out_cb);
  gtk_widget_class_install_action (widget_class, "win.set-status", "(ss)", set_status_cb);
  gtk_widget_class_install_action (widget_class, "win.undo-status", "(ss)", undo_status_cb);
  gtk_widget_class_install_action (widget_class, "win.edit-appointment", "s", edit_appointment_cb);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_cb);
  gtk_widget_class_install_action (widget_class, "win.print-schedule", NULL, print_schedule_cb);
  gtk_widget_class_install_action (widget_class, "win.export-pdf", "s", export_pdf_cb);
  gtk_widget_class_install_action (widget_class, "win.book-appointment", "(ss)", book_appointment_cb);
  gtk_widget_class_install_action (widget_class, "win.show-client", "s", show_client_cb);
  gtk_widget_class_install_action (widget_class, "win.show-pet", "s", show_pet_cb);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK, "win.sync-now", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "win.new-appointment", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Home, GDK_ALT_MASK, "win.go-today", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "win.go-previous", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, GDK_ALT_MASK, "win.go-next", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_ALT_MASK, "win.show-section", "s", "today");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_2, GDK_ALT_MASK, "win.show-section", "s", "schedule");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_k, GDK_CONTROL_MASK, "win.search", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_p, GDK_CONTROL_MASK, "win.print-schedule", NULL);
}

static void
vd_window_init (VdWindow *self)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GtkBuilder) shortcuts = NULL;
  g_autoptr(GtkListItemFactory) today_factory = gtk_signal_list_item_factory_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->year = g_date_time_get_year (now);
  self->month = g_date_time_get_month (now);
  self->day = g_date_time_get_day_of_month (now);

  fill_legend (self);
  g_signal_connect (today_factory, "setup", G_CALLBACK (today_setup_cb), self);
  g_signal_connect (today_factory, "bind", G_CALLBACK (today_bind_cb), self);
  g_signal_connect (today_factory, "unbind", G_CALLBACK (today_unbind_cb), self);
  gtk_list_view_set_factory (self->today_list, today_factory);
  vd_sign_in_page_set_device_func (self->sign_in_page, device_for_clinic, self);
  g_signal_connect_object (self->sync_page, "notify::attention", G_CALLBACK (update_sync_badge), self, G_CONNECT_SWAPPED);

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
  update_actions (self);
}
