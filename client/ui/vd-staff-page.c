/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-staff-page.c — staff records for clinic admins. Deactivating is a field like any
 * other (active = false): the editor's staff picker lists active staff only, while the
 * day view still draws an inactive person's past appointments. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "vd-staff-page.h"
#include "vd-record-form.h"
#include "vd-store-models.h"
#include "vd-id.h"

struct _VdStaffPage
{
  AdwBin          parent_instance;

  AdwLeaflet     *leaflet;
  GtkWidget      *list_pane;
  GtkWidget      *detail_pane;
  GtkListBox     *staff_list;
  GtkStack       *detail_stack;
  GtkLabel       *title_label;
  GtkRevealer    *error_revealer;
  GtkLabel       *error_label;
  AdwEntryRow    *name_row;
  GtkDropDown    *role_drop;
  AdwEntryRow    *email_row;
  AdwEntryRow    *phone_row;
  AdwActionRow   *color_row;
  GtkColorButton *color_button;
  GtkSwitch      *active_switch;

  VdStore        *store;
  VdStaffList    *staff;
  char            staff_id[VD_UUID_LEN + 1];
  VdRecordForm   *form;
  char           *pending_id;   /* to open once the leave question is answered */
};

G_DEFINE_FINAL_TYPE (VdStaffPage, vd_staff_page, ADW_TYPE_BIN)

enum
{
  SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* A palette for new staff, so columns differ without anyone choosing. */
static const char * const palette[] = {
  "#3584e4", "#2ec27e", "#e66100", "#9141ac", "#c64600", "#1c71d8", "#26a269", "#a51d2d",
};

static void
show_error (VdStaffPage *self,
            const char  *message)
{
  if (message != NULL)
    gtk_label_set_text (self->error_label, message);
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

/* ---- the list ---- */

static void
draw_dot (GtkDrawingArea *area,
          cairo_t        *cr,
          int             width,
          int             height,
          gpointer        user_data)
{
  GdkRGBA rgba;

  if (!gdk_rgba_parse (&rgba, g_object_get_data (G_OBJECT (area), "color")))
    gdk_rgba_parse (&rgba, "#77767b");
  gdk_cairo_set_source_rgba (cr, &rgba);
  cairo_arc (cr, width / 2.0, height / 2.0, MIN (width, height) / 2.0, 0, 2 * G_PI);
  cairo_fill (cr);
}

static GtkWidget *
create_staff_row (gpointer item,
                  gpointer user_data)
{
  VdStaffItem *staff = item;
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *dot = gtk_drawing_area_new ();

  gtk_widget_set_name (row, vd_staff_item_get_id (staff));
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), vd_staff_item_get_name (staff));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), vd_staff_role_label (vd_staff_item_get_role (staff)));

  g_object_set_data_full (G_OBJECT (dot), "color", g_strdup (vd_staff_item_get_color (staff)), g_free);
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (dot), 12);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (dot), 12);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (dot), draw_dot, NULL, NULL);
  gtk_widget_set_valign (dot, GTK_ALIGN_CENTER);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), dot);

  if (!vd_staff_item_get_active (staff))
    {
      GtkWidget *tag = gtk_label_new (_("Inactive"));

      gtk_widget_add_css_class (tag, "inactive-tag");
      gtk_widget_set_valign (tag, GTK_ALIGN_CENTER);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), tag);
      gtk_widget_add_css_class (row, "dim-label");
    }
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  return row;
}

static void
select_row (VdStaffPage *self,
            const char  *staff_id)
{
  GtkListBoxRow *found = NULL;

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->staff_list));
       child != NULL; child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_LIST_BOX_ROW (child) && g_strcmp0 (gtk_widget_get_name (child), staff_id) == 0)
      found = GTK_LIST_BOX_ROW (child);
  if (found != NULL)
    gtk_list_box_select_row (self->staff_list, found);
  else
    gtk_list_box_unselect_all (self->staff_list);
}

static void
open_pending_cb (gpointer user_data)
{
  VdStaffPage *self = user_data;
  g_autofree char *id = g_steal_pointer (&self->pending_id);

  vd_staff_page_open (self, id != NULL && *id != '\0' ? id : NULL);
}

/* Opens staff_id (NULL: a new one) once unsaved edits are saved or dropped; the list
 * keeps showing the open one if the person cancels. */
static void
open_after_leave (VdStaffPage *self,
                  const char  *staff_id)
{
  g_free (self->pending_id);
  self->pending_id = g_strdup (staff_id != NULL ? staff_id : "");
  select_row (self, self->staff_id);
  vd_record_form_leave (self->form, G_CALLBACK (open_pending_cb), self, NULL);
}

static void
staff_row_activated_cb (VdStaffPage   *self,
                        GtkListBoxRow *row)
{
  if (g_strcmp0 (gtk_widget_get_name (GTK_WIDGET (row)), self->staff_id) == 0)
    return;
  open_after_leave (self, gtk_widget_get_name (GTK_WIDGET (row)));
}

/* ---- the form ---- */

static void
set_color (VdStaffPage *self,
           const char  *color)
{
  GdkRGBA rgba;

  if (color == NULL || !gdk_rgba_parse (&rgba, color))
    {
      guint n = self->staff ? g_list_model_get_n_items (G_LIST_MODEL (self->staff)) : 0;

      gdk_rgba_parse (&rgba, palette[n % G_N_ELEMENTS (palette)]);
    }
  gtk_color_chooser_set_rgba (GTK_COLOR_CHOOSER (self->color_button), &rgba);
}

static char *
dup_color (VdStaffPage *self)
{
  GdkRGBA rgba;

  gtk_color_chooser_get_rgba (GTK_COLOR_CHOOSER (self->color_button), &rgba);
  return g_strdup_printf ("#%02x%02x%02x",
                          (guint) (CLAMP (rgba.red, 0.0, 1.0) * 255 + 0.5),
                          (guint) (CLAMP (rgba.green, 0.0, 1.0) * 255 + 0.5),
                          (guint) (CLAMP (rgba.blue, 0.0, 1.0) * 255 + 0.5));
}

static void
fill (gpointer  page,
      VdRecord *record)
{
  VdStaffPage *self = page;
  guint pos;

  gtk_editable_set_text (GTK_EDITABLE (self->name_row), record ? vd_record_get_text (record, "name") : "");
  pos = vd_values_index (vd_staff_roles (), record ? vd_record_get_text (record, "role") : "veterinarian");
  gtk_drop_down_set_selected (self->role_drop, pos != GTK_INVALID_LIST_POSITION ? pos : 0);
  gtk_editable_set_text (GTK_EDITABLE (self->email_row), record ? vd_record_get_text (record, "email") : "");
  gtk_editable_set_text (GTK_EDITABLE (self->phone_row), record ? vd_record_get_text (record, "phone") : "");
  set_color (self, record ? vd_record_get_text (record, "color") : NULL);
  gtk_switch_set_active (self->active_switch, record ? vd_record_get_bool (record, "active") : TRUE);
  gtk_label_set_text (self->title_label, record ? vd_record_get_text (record, "name") : _("New Staff Member"));
}

static void
collect (gpointer      page,
         VdFormChange *form)
{
  VdStaffPage *self = page;
  g_autofree char *color = dup_color (self);
  guint pos;

  vd_form_change_text (form, "name", gtk_editable_get_text (GTK_EDITABLE (self->name_row)),
                       GTK_WIDGET (self->name_row));
  pos = gtk_drop_down_get_selected (self->role_drop);
  vd_form_change_text (form, "role", pos < g_strv_length ((char **) vd_staff_roles ()) ? vd_staff_roles ()[pos] : NULL,
                       NULL);
  vd_form_change_text (form, "email", gtk_editable_get_text (GTK_EDITABLE (self->email_row)),
                       GTK_WIDGET (self->email_row));
  vd_form_change_text (form, "phone", gtk_editable_get_text (GTK_EDITABLE (self->phone_row)),
                       GTK_WIDGET (self->phone_row));
  vd_form_change_text (form, "color", color, GTK_WIDGET (self->color_row));
  vd_form_change_bool (form, "active", gtk_switch_get_active (self->active_switch));
}

gboolean
vd_staff_page_open (VdStaffPage *self,
                    const char  *staff_id)
{
  GtkWidget *rows[3];

  g_return_val_if_fail (VD_IS_STAFF_PAGE (self), FALSE);

  if (self->store == NULL)
    return FALSE;
  if (!vd_record_form_load (self->form, staff_id))
    return FALSE;

  rows[0] = GTK_WIDGET (self->name_row);
  rows[1] = GTK_WIDGET (self->email_row);
  rows[2] = GTK_WIDGET (self->phone_row);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    vd_form_mark_valid (rows[i]);
  vd_form_mark_valid (GTK_WIDGET (self->color_row));
  show_error (self, NULL);

  g_strlcpy (self->staff_id, staff_id != NULL ? staff_id : "", sizeof self->staff_id);
  select_row (self, staff_id);
  gtk_stack_set_visible_child_name (self->detail_stack, "form");
  adw_leaflet_set_visible_child (self->leaflet, self->detail_pane);
  if (staff_id == NULL)
    gtk_widget_grab_focus (GTK_WIDGET (self->name_row));
  return TRUE;
}

gboolean
vd_staff_page_save (VdStaffPage *self)
{
  VdFormChange form;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_return_val_if_fail (VD_IS_STAFF_PAGE (self), FALSE);
  g_return_val_if_fail (self->store != NULL, FALSE);

  vd_record_form_collect (self->form, &form);

  if (form.first_error != NULL)
    {
      show_error (self, form.first_error);
      if (form.first_error_widget != NULL)
        gtk_widget_grab_focus (form.first_error_widget);
      vd_form_change_clear (&form);
      return FALSE;
    }

  ok = vd_record_form_commit (self->form, &form, NULL, &error);
  if (!ok)
    show_error (self, error->message);
  else
    {
      show_error (self, NULL);
      g_strlcpy (self->staff_id, form.change->id, sizeof self->staff_id);
      gtk_label_set_text (self->title_label, gtk_editable_get_text (GTK_EDITABLE (self->name_row)));
      vd_store_list_refresh (G_LIST_MODEL (self->staff));
      select_row (self, self->staff_id);
      g_signal_emit (self, signals[SAVED], 0, self->staff_id);
    }
  vd_form_change_clear (&form);
  return ok;
}

static gboolean
save_page (gpointer page)
{
  return vd_staff_page_save (page);
}

static void
save_cb (GtkWidget  *widget,
         const char *action_name,
         GVariant   *param)
{
  VdStaffPage *self = VD_STAFF_PAGE (widget);
  GtkWidget *overlay;

  if (!vd_staff_page_save (self))
    return;
  overlay = gtk_widget_get_ancestor (widget, ADW_TYPE_TOAST_OVERLAY);
  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay),
                                 adw_toast_new (gtk_switch_get_active (self->active_switch)
                                                ? _("Staff member saved")
                                                : _("Staff member saved as inactive: they can no longer be booked")));
}

static void
new_cb (GtkWidget  *widget,
        const char *action_name,
        GVariant   *param)
{
  open_after_leave (VD_STAFF_PAGE (widget), NULL);
}

/* ---- public ---- */

VdStaffPage *
vd_staff_page_new (void)
{
  return g_object_new (VD_TYPE_STAFF_PAGE, NULL);
}

void
vd_staff_page_set_store (VdStaffPage *self,
                         VdStore     *store)
{
  g_return_if_fail (VD_IS_STAFF_PAGE (self));

  if (self->store == store)
    return;
  gtk_list_box_bind_model (self->staff_list, NULL, NULL, NULL, NULL);
  g_clear_object (&self->staff);
  g_set_object (&self->store, store);
  vd_record_form_set_store (self->form, store);
  self->staff_id[0] = '\0';
  gtk_stack_set_visible_child_name (self->detail_stack, "none");
  adw_leaflet_set_visible_child (self->leaflet, self->list_pane);
  if (store == NULL)
    return;
  self->staff = vd_staff_list_new (store);
  vd_staff_list_set_show_inactive (self->staff, TRUE);
  gtk_list_box_bind_model (self->staff_list, G_LIST_MODEL (self->staff), create_staff_row, self, NULL);
}

GListModel *
vd_staff_page_get_list (VdStaffPage *self)
{
  g_return_val_if_fail (VD_IS_STAFF_PAGE (self), NULL);

  return G_LIST_MODEL (self->staff);
}

const char *
vd_staff_page_get_staff_id (VdStaffPage *self)
{
  g_return_val_if_fail (VD_IS_STAFF_PAGE (self), NULL);

  return self->staff_id;
}

VdRecordForm *
vd_staff_page_get_form (VdStaffPage *self)
{
  g_return_val_if_fail (VD_IS_STAFF_PAGE (self), NULL);

  return self->form;
}

const char *
vd_staff_page_get_error (VdStaffPage *self)
{
  g_return_val_if_fail (VD_IS_STAFF_PAGE (self), NULL);

  if (!gtk_revealer_get_reveal_child (self->error_revealer))
    return NULL;
  return gtk_label_get_text (self->error_label);
}

/* ---- GObject ---- */

static void
vd_staff_page_dispose (GObject *object)
{
  VdStaffPage *self = VD_STAFF_PAGE (object);

  if (self->staff_list != NULL)
    gtk_list_box_bind_model (self->staff_list, NULL, NULL, NULL, NULL);
  g_clear_pointer (&self->form, vd_record_form_free);
  g_clear_pointer (&self->pending_id, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), VD_TYPE_STAFF_PAGE);
  g_clear_object (&self->staff);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (vd_staff_page_parent_class)->dispose (object);
}

void
vd_staff_page_show_list (VdStaffPage *self)
{
  g_return_if_fail (VD_IS_STAFF_PAGE (self));

  adw_leaflet_set_visible_child (self->leaflet, self->list_pane);
}

static void
show_list_cb (GtkWidget  *widget,
              const char *action_name,
              GVariant   *param)
{
  vd_staff_page_show_list (VD_STAFF_PAGE (widget));
}

static void
vd_staff_page_class_init (VdStaffPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vd_staff_page_dispose;

  signals[SAVED] = g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                 NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/vetdesk/VetDesk/vd-staff-page.ui");
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, list_pane);
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, staff_list);
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, detail_pane);
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, detail_stack);
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, title_label);
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, name_row);
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, role_drop);
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, email_row);
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, phone_row);
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, color_row);
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, color_button);
  gtk_widget_class_bind_template_child (widget_class, VdStaffPage, active_switch);
  gtk_widget_class_bind_template_callback (widget_class, staff_row_activated_cb);

  gtk_widget_class_install_action (widget_class, "staff.new", NULL, new_cb);
  gtk_widget_class_install_action (widget_class, "staff.save", NULL, save_cb);
  gtk_widget_class_install_action (widget_class, "staff.show-list", NULL, show_list_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "staff.save", NULL);
}

static void
vd_staff_page_init (VdStaffPage *self)
{
  g_autoptr(GListModel) roles = vd_labels_model (vd_staff_roles (), vd_staff_role_label);

  static const VdRecordFormFuncs funcs = { fill, collect, save_page };

  gtk_widget_init_template (GTK_WIDGET (self));
  self->form = vd_record_form_new (GTK_WIDGET (self), "staff", &funcs,
                                   GTK_WIDGET (self->error_revealer));
  /* The bin's own child: not bound as a template child, which the bin disposes itself. */
  self->leaflet = ADW_LEAFLET (adw_bin_get_child (ADW_BIN (self)));
  gtk_drop_down_set_model (self->role_drop, roles);
}
