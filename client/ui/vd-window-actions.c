/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-window-actions.c — the main window's actions ("win.*"): the appointment editor and
 * one-click status steps with Undo, moving between days and sections, search and syncing
 * now (printing is in vd-window-print.c). */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <inttypes.h>

#include <glib/gi18n-lib.h>
#include <string.h>

#include "vd-window-private.h"
#include "vd-rules.h"
#include "vd-time.h"

/* ---- appointments: editor and status ---- */

static void
editor_saved_cb (VdWindow   *self,
                 const char *appointment_id)
{
  _vd_window_toast (self, _("Appointment saved"));
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
  const char * const *next = vd_rules_next_statuses (vd_appointment_item_get_status (appointment));
  g_autoptr(GMenu) menu = g_menu_new ();
  g_autoptr(GMenu) steps = g_menu_new ();
  g_autoptr(GMenu) more = g_menu_new ();
  g_autoptr(GMenuItem) edit = NULL;

  for (guint i = 0; next != NULL && i < 4 && next[i] != NULL; i++)
    {
      g_autoptr(GMenuItem) step = g_menu_item_new (_vd_window_status_verb (next[i]), NULL);

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
      _vd_window_toast (self, error ? error->message : _("This appointment no longer exists on this computer."));
      return FALSE;
    }

  change = vd_change_new (table, appointment_id, 0, vd_store_get_device_id (self->store));
  vd_value_set_text (&value, status);
  vd_change_take_cell (change, status_column, &value);
  if (!vd_store_commit (self->store, change, &error))
    {
      _vd_window_toast (self, error->message);
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
      _vd_window_toast (self, error->message);
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

  _vd_window_today_date (self, &y, &m, &d);
  /* On today: the next quarter hour. On another day of the schedule: its opening. */
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->section_stack), "schedule") == 0 &&
      (y != self->year || m != self->month || d != self->day))
    starts_at = vd_time_from_zone (_vd_window_zone (self), self->year, self->month, self->day, 9, 0, 0);
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
    _vd_window_toast (self, _("This client is no longer on this computer."));
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
  _vd_window_show_section (self, "clients");
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
  _vd_window_show_section (self, "clients");
  vd_clients_page_open_pet (self->clients_page, g_variant_get_string (param, NULL));
}

/* The record pages follow the session; the Staff section only for a clinic admin. */
void
_vd_window_set_session_on_records (VdWindow *self)
{
  g_autoptr(VdClinicInfo) clinic = self->store ? vd_store_dup_clinic_info (self->store) : NULL;
  gboolean admin = clinic != NULL && g_strcmp0 (clinic->role, "clinic_admin") == 0;

  vd_clients_page_set_store (self->clients_page, self->store);
  vd_staff_page_set_store (self->staff_page, admin ? self->store : NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->staff_row), admin);
  if (!admin && g_strcmp0 (gtk_stack_get_visible_child_name (self->section_stack), "staff") == 0)
    _vd_window_show_section (self, "today");
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

  _vd_window_today_date (self, &y, &m, &d);
  vd_window_set_date (self, y, m, d);
  if (self->store != NULL)
    {
      now = vd_time_to_zone (g_get_real_time () / G_USEC_PER_SEC, _vd_window_zone (self));
      vd_day_view_scroll_to_minute (self->day_view,
                                    MAX (g_date_time_get_hour (now) * 60 - 60, 0));
    }
}

static void
go_previous_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  _vd_window_shift_date (VD_WINDOW (widget), -1);
}

static void
go_next_cb (GtkWidget  *widget,
            const char *action_name,
            GVariant   *param)
{
  _vd_window_shift_date (VD_WINDOW (widget), 1);
}

static void
show_section_cb (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);
  const char *name = g_variant_get_string (param, NULL);

  /* Alt+1…5 follow the sidebar's rows; a hidden row (Staff, for everyone but a clinic
   * admin) is not a section to go to, and the Sync Monitor has no sections. */
  if (self->monitor != NULL ||
      (g_strcmp0 (name, "staff") == 0 && !gtk_widget_get_visible (GTK_WIDGET (self->staff_row))))
    return;
  _vd_window_leave_section_then_show (self, name);
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

/* ---- search and the Sync page ---- */

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

void
_vd_window_update_sync_badge (VdWindow *self)
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

/* The pages that follow the session: the search and the Sync page. */
void
_vd_window_set_session_on_pages (VdWindow *self)
{
  vd_search_popover_set_store (self->search_popover, self->store);
  vd_sync_page_set_session (self->sync_page, self->store, self->engine);
}

void
_vd_window_class_init_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_bind_template_callback (widget_class, slot_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, appointment_activated_cb);

  gtk_widget_class_install_action (widget_class, "win.sync-now", NULL, sync_now_cb);
  gtk_widget_class_install_action (widget_class, "win.new-appointment", NULL, new_appointment_cb);
  gtk_widget_class_install_action (widget_class, "win.go-today", NULL, go_today_cb);
  gtk_widget_class_install_action (widget_class, "win.go-previous", NULL, go_previous_cb);
  gtk_widget_class_install_action (widget_class, "win.go-next", NULL, go_next_cb);
  gtk_widget_class_install_action (widget_class, "win.show-section", "s", show_section_cb);
  gtk_widget_class_install_action (widget_class, "win.show-sidebar", NULL, show_sidebar_cb);
  gtk_widget_class_install_action (widget_class, "win.set-status", "(ss)", set_status_cb);
  gtk_widget_class_install_action (widget_class, "win.undo-status", "(ss)", undo_status_cb);
  gtk_widget_class_install_action (widget_class, "win.edit-appointment", "s", edit_appointment_cb);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_cb);
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
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_3, GDK_ALT_MASK, "win.show-section", "s", "clients");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_4, GDK_ALT_MASK, "win.show-section", "s", "staff");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_5, GDK_ALT_MASK, "win.show-section", "s", "sync");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_k, GDK_CONTROL_MASK, "win.search", NULL);
}
