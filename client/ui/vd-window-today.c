/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-window-today.c — the main window's Today list: a recycled GtkListView of the day's
 * appointments, each row with its time, pet, client, allergy warning and next status
 * step, kept in step with the store as the day changes. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "vd-window-private.h"
#include "vd-rules.h"
#include "vd-time.h"

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
  g_autoptr(GDateTime) from = vd_time_to_zone (vd_appointment_item_get_starts_at (appointment), _vd_window_zone (self));
  g_autoptr(GDateTime) to = vd_time_to_zone (vd_appointment_item_get_ends_at (appointment), _vd_window_zone (self));
  g_autofree char *from_text = g_date_time_format (from, "%H:%M");
  g_autofree char *to_text = g_date_time_format (to, "%H:%M");
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *kind_class = g_strconcat ("kind-", vd_appointment_item_get_kind (appointment), NULL);
  const char *allergies = vd_appointment_item_get_pet_allergies (appointment);
  const char * const *next = vd_rules_next_statuses (vd_appointment_item_get_status (appointment));

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
      gtk_button_set_label (GTK_BUTTON (parts->button), _vd_window_status_verb (next[0]));
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

void
_vd_window_today_changed_cb (VdWindow *self)
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

void
_vd_window_init_today (VdWindow *self)
{
  g_autoptr(GtkListItemFactory) today_factory = gtk_signal_list_item_factory_new ();

  g_signal_connect (today_factory, "setup", G_CALLBACK (today_setup_cb), self);
  g_signal_connect (today_factory, "bind", G_CALLBACK (today_bind_cb), self);
  g_signal_connect (today_factory, "unbind", G_CALLBACK (today_unbind_cb), self);
  gtk_list_view_set_factory (self->today_list, today_factory);
}

void
_vd_window_class_init_today (GtkWidgetClass *widget_class)
{
  gtk_widget_class_bind_template_callback (widget_class, today_activate_cb);
}
