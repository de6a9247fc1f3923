/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-quick-add.c — the editor's "+" forms: a client or a pet in a few fields, committed
 * like any other record so the new row is at once in the pickers' models. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "vd-quick-add.h"
#include "vd-record-form.h"
#include "vd-id.h"

struct _VdQuickAdd
{
  GtkPopover      parent_instance;

  GtkLabel       *title_label;
  GtkWidget      *client_box;
  AdwEntryRow    *first_name_row;
  AdwEntryRow    *last_name_row;
  AdwEntryRow    *phone_row;
  AdwEntryRow    *email_row;
  GtkWidget      *pet_box;
  AdwEntryRow    *pet_name_row;
  GtkDropDown    *species_drop;
  GtkDropDown    *sex_drop;
  AdwEntryRow    *allergies_row;
  GtkLabel       *error_label;
  GtkWidget      *add_button;

  VdStore        *store;
  VdQuickAddKind  kind;
  char            client_id[VD_UUID_LEN + 1];
};

G_DEFINE_FINAL_TYPE (VdQuickAdd, vd_quick_add, GTK_TYPE_POPOVER)

enum
{
  CREATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
show_error (VdQuickAdd *self,
            const char *message)
{
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

#define N_ENTRY_ROWS 6

static void
entry_rows (VdQuickAdd  *self,
            AdwEntryRow *rows[N_ENTRY_ROWS])
{
  rows[0] = self->first_name_row;
  rows[1] = self->last_name_row;
  rows[2] = self->phone_row;
  rows[3] = self->email_row;
  rows[4] = self->pet_name_row;
  rows[5] = self->allergies_row;
}

static void
reset (VdQuickAdd *self)
{
  AdwEntryRow *rows[N_ENTRY_ROWS];

  entry_rows (self, rows);
  for (guint i = 0; i < N_ENTRY_ROWS; i++)
    {
      gtk_editable_set_text (GTK_EDITABLE (rows[i]), "");
      vd_form_mark_valid (GTK_WIDGET (rows[i]));
    }
  gtk_drop_down_set_selected (self->species_drop, 0);
  gtk_drop_down_set_selected (self->sex_drop, vd_values_index (vd_pet_sexes (), "unknown"));
  show_error (self, NULL);
}

gboolean
vd_quick_add_save (VdQuickAdd *self)
{
  VdFormChange form;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  gboolean ok;

  g_return_val_if_fail (VD_IS_QUICK_ADD (self), FALSE);

  if (self->kind == VD_QUICK_ADD_PET && self->client_id[0] == '\0')
    {
      show_error (self, _("Choose the client first: the pet is added to them."));
      return FALSE;
    }

  if (self->kind == VD_QUICK_ADD_CLIENT)
    {
      vd_form_change_init (&form, self->store, "clients", NULL);
      vd_form_change_text (&form, "first_name", gtk_editable_get_text (GTK_EDITABLE (self->first_name_row)),
                           GTK_WIDGET (self->first_name_row));
      vd_form_change_text (&form, "last_name", gtk_editable_get_text (GTK_EDITABLE (self->last_name_row)),
                           GTK_WIDGET (self->last_name_row));
      vd_form_change_text (&form, "phone", gtk_editable_get_text (GTK_EDITABLE (self->phone_row)),
                           GTK_WIDGET (self->phone_row));
      vd_form_change_text (&form, "email", gtk_editable_get_text (GTK_EDITABLE (self->email_row)),
                           GTK_WIDGET (self->email_row));
    }
  else
    {
      guint species = gtk_drop_down_get_selected (self->species_drop);
      guint sex = gtk_drop_down_get_selected (self->sex_drop);

      vd_form_change_init (&form, self->store, "pets", NULL);
      vd_form_change_text (&form, "client_id", self->client_id, NULL);
      vd_form_change_text (&form, "name", gtk_editable_get_text (GTK_EDITABLE (self->pet_name_row)),
                           GTK_WIDGET (self->pet_name_row));
      vd_form_change_text (&form, "species", species < g_strv_length ((char **) vd_pet_species ())
                                             ? vd_pet_species ()[species] : "other", NULL);
      vd_form_change_text (&form, "sex", sex < g_strv_length ((char **) vd_pet_sexes ())
                                         ? vd_pet_sexes ()[sex] : "unknown", NULL);
      vd_form_change_text (&form, "allergies", gtk_editable_get_text (GTK_EDITABLE (self->allergies_row)),
                           GTK_WIDGET (self->allergies_row));
    }

  if (form.first_error != NULL)
    {
      show_error (self, form.first_error);
      if (form.first_error_widget != NULL)
        gtk_widget_grab_focus (form.first_error_widget);
      vd_form_change_clear (&form);
      return FALSE;
    }
  ok = vd_store_commit (self->store, form.change, &error);
  if (ok)
    id = g_strdup (form.change->id);
  else
    show_error (self, error->message);
  vd_form_change_clear (&form);
  if (!ok)
    return FALSE;

  reset (self);
  gtk_popover_popdown (GTK_POPOVER (self));
  g_signal_emit (self, signals[CREATED], 0, id);
  return TRUE;
}

static void
add_clicked_cb (VdQuickAdd *self)
{
  vd_quick_add_save (self);
}

static void
entry_activated_cb (VdQuickAdd *self)
{
  vd_quick_add_save (self);
}

/* ---- public ---- */

VdQuickAdd *
vd_quick_add_new (VdStore        *store,
                  VdQuickAddKind  kind)
{
  VdQuickAdd *self;

  g_return_val_if_fail (VD_IS_STORE (store), NULL);

  self = g_object_new (VD_TYPE_QUICK_ADD, NULL);
  self->store = g_object_ref (store);
  self->kind = kind;
  gtk_widget_set_visible (self->client_box, kind == VD_QUICK_ADD_CLIENT);
  gtk_widget_set_visible (self->pet_box, kind == VD_QUICK_ADD_PET);
  gtk_label_set_text (self->title_label, kind == VD_QUICK_ADD_CLIENT ? _("New Client") : _("New Pet"));
  gtk_widget_set_tooltip_text (self->add_button,
                               kind == VD_QUICK_ADD_CLIENT ? _("Add the client and choose them")
                                                           : _("Add the pet and choose it"));
  return self;
}

void
vd_quick_add_set_client_id (VdQuickAdd *self,
                            const char *client_id)
{
  g_return_if_fail (VD_IS_QUICK_ADD (self));

  g_strlcpy (self->client_id, client_id != NULL ? client_id : "", sizeof self->client_id);
}

gboolean
vd_quick_add_set_field (VdQuickAdd *self,
                        const char *title,
                        const char *text)
{
  AdwEntryRow *rows[N_ENTRY_ROWS];

  g_return_val_if_fail (VD_IS_QUICK_ADD (self), FALSE);

  entry_rows (self, rows);
  for (guint i = 0; i < N_ENTRY_ROWS; i++)
    if (gtk_widget_get_visible (gtk_widget_get_parent (GTK_WIDGET (rows[i]))) &&
        g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (rows[i])), title) == 0)
      {
        gtk_editable_set_text (GTK_EDITABLE (rows[i]), text);
        return TRUE;
      }
  return FALSE;
}

const char *
vd_quick_add_get_error (VdQuickAdd *self)
{
  g_return_val_if_fail (VD_IS_QUICK_ADD (self), NULL);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->error_label)))
    return NULL;
  return gtk_label_get_text (self->error_label);
}

/* ---- GObject ---- */

static void
vd_quick_add_dispose (GObject *object)
{
  VdQuickAdd *self = VD_QUICK_ADD (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), VD_TYPE_QUICK_ADD);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (vd_quick_add_parent_class)->dispose (object);
}

static void
vd_quick_add_class_init (VdQuickAddClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vd_quick_add_dispose;

  signals[CREATED] = g_signal_new ("created", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/vetdesk/VetDesk/vd-quick-add.ui");
  gtk_widget_class_bind_template_child (widget_class, VdQuickAdd, title_label);
  gtk_widget_class_bind_template_child (widget_class, VdQuickAdd, client_box);
  gtk_widget_class_bind_template_child (widget_class, VdQuickAdd, first_name_row);
  gtk_widget_class_bind_template_child (widget_class, VdQuickAdd, last_name_row);
  gtk_widget_class_bind_template_child (widget_class, VdQuickAdd, phone_row);
  gtk_widget_class_bind_template_child (widget_class, VdQuickAdd, email_row);
  gtk_widget_class_bind_template_child (widget_class, VdQuickAdd, pet_box);
  gtk_widget_class_bind_template_child (widget_class, VdQuickAdd, pet_name_row);
  gtk_widget_class_bind_template_child (widget_class, VdQuickAdd, species_drop);
  gtk_widget_class_bind_template_child (widget_class, VdQuickAdd, sex_drop);
  gtk_widget_class_bind_template_child (widget_class, VdQuickAdd, allergies_row);
  gtk_widget_class_bind_template_child (widget_class, VdQuickAdd, error_label);
  gtk_widget_class_bind_template_child (widget_class, VdQuickAdd, add_button);
  gtk_widget_class_bind_template_callback (widget_class, add_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, entry_activated_cb);
}

static void
vd_quick_add_init (VdQuickAdd *self)
{
  g_autoptr(GListModel) species = vd_labels_model (vd_pet_species (), vd_pet_species_label);
  g_autoptr(GListModel) sexes = vd_labels_model (vd_pet_sexes (), vd_pet_sex_label);

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_drop_down_set_model (self->species_drop, species);
  gtk_drop_down_set_model (self->sex_drop, sexes);
  reset (self);
}
