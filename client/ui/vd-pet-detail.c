/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-pet-detail.c — a pet's record. The age is counted on the clinic's calendar; the
 * weight is read with either decimal mark and shown with the locale's; a microchip is
 * checked by the schema (15 digits) after spaces are taken out. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "vd-pet-detail.h"
#include "vd-breeds.h"
#include "vd-record-form.h"
#include "vd-store-models.h"
#include "vd-time.h"
#include "vd-id.h"

/* A list of suggestions under a free-text row (breed, colour): shown while what is typed
 * starts a known name; a click puts the name in the row, typing on ignores it. */
typedef struct
{
  VdPetDetail *self;
  AdwEntryRow *row;
  VdBreedList  list;
  GtkPopover  *popover;
  GtkListBox  *box;
  char       **shown;
} VdCompletion;

struct _VdPetDetail
{
  AdwBin             parent_instance;

  GtkWidget         *back_button;
  GtkLabel          *title_label;
  GtkLabel          *owner_label;
  GtkWidget         *book_button;
  GtkWidget         *delete_button;
  GtkWidget         *save_button;
  GtkRevealer       *error_revealer;
  GtkLabel          *error_label;
  GtkWidget         *allergy_group;
  AdwActionRow      *allergy_warning_row;
  AdwEntryRow       *name_row;
  AdwActionRow      *species_row;
  GtkDropDown       *species_drop;
  AdwEntryRow       *breed_row;
  GtkDropDown       *sex_drop;
  GtkSwitch         *neutered_switch;
  AdwActionRow      *birth_row;
  GtkMenuButton     *birth_button;
  GtkCalendar       *birth_calendar;
  GtkWidget         *birth_clear_button;
  AdwEntryRow       *weight_row;
  AdwEntryRow       *microchip_row;
  AdwEntryRow       *color_row;
  AdwEntryRow       *allergies_row;
  GtkSwitch         *deceased_switch;
  GtkTextView       *notes_view;
  GtkWidget         *history_group;
  GtkListBox        *history_list;

  VdStore           *store;
  VdAppointmentList *history;
  char               pet_id[VD_UUID_LEN + 1];
  char               client_id[VD_UUID_LEN + 1];
  int                birth_year, birth_month, birth_day;   /* 0 year: none */
  char              *age_text;
  gboolean           loading;
  AdwMessageDialog  *delete_dialog;
  VdRecordForm      *form;
  VdCompletion       completions[2];   /* breed, colour */
};

G_DEFINE_FINAL_TYPE (VdPetDetail, vd_pet_detail, ADW_TYPE_BIN)

enum
{
  SAVED,
  DELETED,
  BACK,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
show_error (VdPetDetail *self,
            const char  *message)
{
  if (message != NULL)
    gtk_label_set_text (self->error_label, message);
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

static void
clear_marks (VdPetDetail *self)
{
  GtkWidget *rows[] = {
    GTK_WIDGET (self->name_row), GTK_WIDGET (self->breed_row), GTK_WIDGET (self->weight_row),
    GTK_WIDGET (self->microchip_row), GTK_WIDGET (self->color_row),
    GTK_WIDGET (self->allergies_row), GTK_WIDGET (self->birth_row),
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    vd_form_mark_valid (rows[i]);
  show_error (self, NULL);
}

static void
update_header (VdPetDetail *self)
{
  gboolean is_new = self->pet_id[0] == '\0';
  g_autoptr(VdRecord) owner = vd_record_load (self->store, "clients", self->client_id);
  g_autofree char *owner_name = NULL;
  g_autofree char *owner_text = NULL;

  if (is_new)
    gtk_label_set_text (self->title_label, _("New Pet"));
  else
    gtk_label_set_text (self->title_label, gtk_editable_get_text (GTK_EDITABLE (self->name_row)));
  if (owner != NULL)
    {
      owner_name = vd_client_display_name (vd_record_get_text (owner, "first_name"),
                                           vd_record_get_text (owner, "last_name"));
      /* Translators: under a pet's name, its owner */
      owner_text = g_strdup_printf (_("Owner: %s"), owner_name);
    }
  gtk_label_set_text (self->owner_label, owner_text ? owner_text : "");
  gtk_widget_set_visible (self->delete_button, !is_new);
  gtk_widget_set_visible (self->history_group, !is_new);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "pet.delete", !is_new);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "pet.book", !is_new);
}

static void
allergies_changed_cb (VdPetDetail *self)
{
  g_autofree char *allergies = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->allergies_row))));

  adw_action_row_set_subtitle (self->allergy_warning_row, allergies);
  gtk_widget_set_visible (self->allergy_group, *allergies != '\0');
}

/* ---- birth date and age ---- */

static void
update_birth (VdPetDetail *self)
{
  g_autofree char *date_text = NULL;
  GDate today;
  int y, m, d;
  gint64 start, end;

  g_clear_pointer (&self->age_text, g_free);
  if (self->birth_year != 0)
    {
      g_autoptr(GDateTime) date = g_date_time_new_local (self->birth_year, self->birth_month,
                                                         self->birth_day, 12, 0, 0);
      char iso[11];

      /* Translators: a birth date on its button, strftime format */
      date_text = g_date_time_format (date, _("%-d %b %Y"));
      g_snprintf (iso, sizeof iso, "%04d-%02d-%02d", self->birth_year, self->birth_month, self->birth_day);
      vd_time_today_bounds (vd_store_get_time_zone (self->store), g_get_real_time () / G_USEC_PER_SEC,
                            &start, &end, &y, &m, &d);
      g_date_clear (&today, 1);
      g_date_set_dmy (&today, d, m, y);
      self->age_text = vd_describe_age (iso, &today);
    }
  gtk_menu_button_set_label (self->birth_button, date_text ? date_text : _("Not Set"));
  adw_action_row_set_subtitle (self->birth_row,
                               self->age_text ? self->age_text
                                              : (self->birth_year != 0 ? _("Born in the future?") : ""));
  gtk_widget_set_visible (self->birth_clear_button, self->birth_year != 0);
}

void
vd_pet_detail_set_birth_date (VdPetDetail *self,
                              int          year,
                              int          month,
                              int          day)
{
  g_return_if_fail (VD_IS_PET_DETAIL (self));
  g_return_if_fail (year == 0 || g_date_valid_dmy (day, month, year));

  self->birth_year = year;
  self->birth_month = year != 0 ? month : 0;
  self->birth_day = year != 0 ? day : 0;
  if (year != 0)
    {
      g_autoptr(GDateTime) noon = g_date_time_new_local (year, month, day, 12, 0, 0);
      gboolean loading = self->loading;

      self->loading = TRUE;
      gtk_calendar_select_day (self->birth_calendar, noon);
      self->loading = loading;
    }
  update_birth (self);
}

static void
birth_day_selected_cb (VdPetDetail *self)
{
  g_autoptr(GDateTime) date = NULL;

  if (self->loading)
    return;
  date = gtk_calendar_get_date (self->birth_calendar);
  vd_pet_detail_set_birth_date (self, g_date_time_get_year (date), g_date_time_get_month (date),
                                g_date_time_get_day_of_month (date));
  gtk_menu_button_popdown (self->birth_button);
}

static void
birth_clear_cb (VdPetDetail *self)
{
  vd_pet_detail_set_birth_date (self, 0, 0, 0);
}

/* ---- history ---- */

static GtkWidget *
create_history_row (gpointer item,
                    gpointer user_data)
{
  VdPetDetail *self = user_data;

  return vd_history_row_new (item, vd_store_get_time_zone (self->store));
}

static void
bind_history (VdPetDetail *self)
{
  gtk_list_box_bind_model (self->history_list, NULL, NULL, NULL, NULL);
  g_clear_object (&self->history);
  if (self->store == NULL || self->pet_id[0] == '\0')
    return;
  self->history = vd_appointment_list_new_history (self->store, NULL, self->pet_id);
  gtk_list_box_bind_model (self->history_list, G_LIST_MODEL (self->history),
                           create_history_row, self, NULL);
}

/* ---- load ---- */

static void
set_text (AdwEntryRow *row,
          const char  *text)
{
  gtk_editable_set_text (GTK_EDITABLE (row), text != NULL ? text : "");
}

static void
fill (VdPetDetail *self,
      VdRecord    *record)
{
  double weight;
  guint pos;
  int y = 0, m = 0, d = 0;
  const char *birth = record ? vd_record_get_text (record, "birth_date") : "";

  self->loading = TRUE;
  set_text (self->name_row, record ? vd_record_get_text (record, "name") : NULL);
  pos = vd_values_index (vd_pet_species (), record ? vd_record_get_text (record, "species") : "dog");
  gtk_drop_down_set_selected (self->species_drop, pos != GTK_INVALID_LIST_POSITION ? pos : 0);
  set_text (self->breed_row, record ? vd_record_get_text (record, "breed") : NULL);
  pos = vd_values_index (vd_pet_sexes (), record ? vd_record_get_text (record, "sex") : "unknown");
  gtk_drop_down_set_selected (self->sex_drop, pos != GTK_INVALID_LIST_POSITION ? pos : 2);
  gtk_switch_set_active (self->neutered_switch, record ? vd_record_get_bool (record, "neutered") : FALSE);
  if (sscanf (birth, "%4d-%2d-%2d", &y, &m, &d) != 3 || !g_date_valid_dmy (d, m, y))
    y = m = d = 0;
  vd_pet_detail_set_birth_date (self, y, m, d);
  if (record != NULL && vd_record_get_real (record, "weight_kg", &weight))
    {
      g_autofree char *text = vd_format_weight (weight);

      set_text (self->weight_row, text);
    }
  else
    set_text (self->weight_row, NULL);
  set_text (self->microchip_row, record ? vd_record_get_text (record, "microchip") : NULL);
  set_text (self->color_row, record ? vd_record_get_text (record, "color") : NULL);
  set_text (self->allergies_row, record ? vd_record_get_text (record, "allergies") : NULL);
  gtk_switch_set_active (self->deceased_switch, record ? vd_record_get_bool (record, "deceased") : FALSE);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->notes_view),
                            record ? vd_record_get_text (record, "notes") : "", -1);
  allergies_changed_cb (self);
  self->loading = FALSE;
}

static void
fill_page (gpointer  page,
           VdRecord *record)
{
  VdPetDetail *self = page;

  fill (self, record);
  if (self->pet_id[0] != '\0')
    update_header (self);
}

gboolean
vd_pet_detail_load (VdPetDetail *self,
                    const char  *pet_id)
{
  g_autoptr(VdRecord) record = NULL;

  g_return_val_if_fail (VD_IS_PET_DETAIL (self), FALSE);
  g_return_val_if_fail (self->store != NULL, FALSE);

  record = vd_record_load (self->store, "pets", pet_id);
  if (record == NULL)
    return FALSE;
  /* Before the form is filled: what it collects includes the owner. */
  g_strlcpy (self->pet_id, pet_id, sizeof self->pet_id);
  g_strlcpy (self->client_id, vd_record_get_text (record, "client_id"), sizeof self->client_id);
  if (!vd_record_form_load (self->form, pet_id))
    return FALSE;
  clear_marks (self);
  update_header (self);
  bind_history (self);
  return TRUE;
}

void
vd_pet_detail_load_new (VdPetDetail *self,
                        const char  *client_id)
{
  g_return_if_fail (VD_IS_PET_DETAIL (self));
  g_return_if_fail (self->store != NULL);

  self->pet_id[0] = '\0';
  g_strlcpy (self->client_id, client_id != NULL ? client_id : "", sizeof self->client_id);
  vd_record_form_load (self->form, NULL);
  clear_marks (self);
  update_header (self);
  bind_history (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->name_row));
}

/* ---- save ---- */

static char *
without_spaces (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; p != NULL && *p != '\0'; p++)
    if (!g_ascii_isspace (*p))
      g_string_append_c (out, *p);
  return g_string_free (out, FALSE);
}

static void
collect (gpointer      page,
         VdFormChange *form)
{
  VdPetDetail *self = page;
  g_autofree char *notes = NULL;
  g_autofree char *microchip = NULL;
  const char *weight_text;
  VdValue value = { VD_VALUE_NULL };
  guint pos;
  double kg;

  vd_form_change_text (form, "client_id", self->client_id, NULL);
  vd_form_change_text (form, "name", gtk_editable_get_text (GTK_EDITABLE (self->name_row)),
                       GTK_WIDGET (self->name_row));
  pos = gtk_drop_down_get_selected (self->species_drop);
  vd_form_change_text (form, "species", pos < g_strv_length ((char **) vd_pet_species ()) ? vd_pet_species ()[pos] : NULL,
                       GTK_WIDGET (self->species_row));
  vd_form_change_text (form, "breed", gtk_editable_get_text (GTK_EDITABLE (self->breed_row)),
                       GTK_WIDGET (self->breed_row));
  pos = gtk_drop_down_get_selected (self->sex_drop);
  vd_form_change_text (form, "sex", pos < g_strv_length ((char **) vd_pet_sexes ()) ? vd_pet_sexes ()[pos] : NULL, NULL);
  vd_form_change_bool (form, "neutered", gtk_switch_get_active (self->neutered_switch));

  if (self->birth_year != 0)
    vd_value_take_text (&value, g_strdup_printf ("%04d-%02d-%02d", self->birth_year,
                                                 self->birth_month, self->birth_day));
  vd_form_change_value (form, "birth_date", &value, GTK_WIDGET (self->birth_row));

  weight_text = gtk_editable_get_text (GTK_EDITABLE (self->weight_row));
  if (vd_parse_weight (weight_text, &kg))
    {
      vd_value_set_real (&value, kg);
      vd_form_change_value (form, "weight_kg", &value, GTK_WIDGET (self->weight_row));
    }
  else if (strspn (weight_text, " \t") == strlen (weight_text))
    vd_form_change_value (form, "weight_kg", &value, GTK_WIDGET (self->weight_row));
  else
    {
      g_autofree char *example = vd_format_weight (12.5);
      /* Translators: the second %s is an example weight, e.g. "12.5" */
      g_autofree char *message = g_strdup_printf (_("The weight “%s” is not a number: write the kilograms like %s."),
                                                  weight_text, example);

      vd_form_change_fail (form, message, GTK_WIDGET (self->weight_row));
    }

  microchip = without_spaces (gtk_editable_get_text (GTK_EDITABLE (self->microchip_row)));
  vd_form_change_text (form, "microchip", microchip, GTK_WIDGET (self->microchip_row));
  vd_form_change_text (form, "color", gtk_editable_get_text (GTK_EDITABLE (self->color_row)),
                       GTK_WIDGET (self->color_row));
  vd_form_change_text (form, "allergies", gtk_editable_get_text (GTK_EDITABLE (self->allergies_row)),
                       GTK_WIDGET (self->allergies_row));
  vd_form_change_bool (form, "deceased", gtk_switch_get_active (self->deceased_switch));
  notes = vd_text_view_dup_text (self->notes_view);
  vd_form_change_text (form, "notes", notes, NULL);
}

gboolean
vd_pet_detail_save (VdPetDetail *self)
{
  VdFormChange form;
  g_autoptr(GError) error = NULL;
  g_autofree char *microchip = NULL;
  gboolean is_new;
  gboolean ok;

  g_return_val_if_fail (VD_IS_PET_DETAIL (self), FALSE);
  g_return_val_if_fail (self->store != NULL, FALSE);

  is_new = self->pet_id[0] == '\0';
  microchip = without_spaces (gtk_editable_get_text (GTK_EDITABLE (self->microchip_row)));
  vd_record_form_collect (self->form, &form);

  if (form.first_error != NULL)
    {
      show_error (self, form.first_error);
      if (form.first_error_widget != NULL)
        gtk_widget_grab_focus (form.first_error_widget);
      vd_form_change_clear (&form);
      return FALSE;
    }

  if (microchip != NULL && *microchip != '\0')
    set_text (self->microchip_row, microchip);
  ok = vd_record_form_commit (self->form, &form, NULL, &error);
  if (!ok)
    show_error (self, error->message);
  else
    {
      show_error (self, NULL);
      g_strlcpy (self->pet_id, form.change->id, sizeof self->pet_id);
      update_header (self);
      if (is_new)
        bind_history (self);
      g_signal_emit (self, signals[SAVED], 0, self->pet_id);
    }
  vd_form_change_clear (&form);
  return ok;
}

static gboolean
save_page (gpointer page)
{
  return vd_pet_detail_save (page);
}

static void
save_cb (GtkWidget  *widget,
         const char *action_name,
         GVariant   *param)
{
  vd_pet_detail_save (VD_PET_DETAIL (widget));
}

static void
back_cb (GtkWidget  *widget,
         const char *action_name,
         GVariant   *param)
{
  VdPetDetail *self = VD_PET_DETAIL (widget);

  g_signal_emit (self, signals[BACK], 0, self->client_id);
}

static void
book_cb (GtkWidget  *widget,
         const char *action_name,
         GVariant   *param)
{
  VdPetDetail *self = VD_PET_DETAIL (widget);

  if (self->pet_id[0] == '\0')
    return;
  gtk_widget_activate_action (widget, "win.book-appointment", "(ss)", self->client_id, self->pet_id);
}

/* ---- delete ---- */

static void
delete_response_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    VdPetDetail      *self)
{
  g_autoptr(VdChange) change = NULL;
  g_autoptr(GError) error = NULL;
  VdValue value = { VD_VALUE_NULL };

  self->delete_dialog = NULL;
  if (g_strcmp0 (response, "delete") != 0 || self->pet_id[0] == '\0')
    return;

  change = vd_store_new_change (self->store, "pets", self->pet_id);
  vd_value_set_bool (&value, TRUE);
  vd_change_take_cell (change, vd_table_deleted_column (change->table), &value);
  if (!vd_store_commit (self->store, change, &error))
    {
      show_error (self, error->message);
      return;
    }
  g_signal_emit (self, signals[DELETED], 0, self->pet_id);
}

static void
delete_cb (GtkWidget  *widget,
           const char *action_name,
           GVariant   *param)
{
  VdPetDetail *self = VD_PET_DETAIL (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autofree char *body = NULL;
  GtkWidget *dialog;

  if (self->pet_id[0] == '\0' || self->delete_dialog != NULL)
    return;

  body = g_strdup_printf (_("“%s” will no longer appear in lists and searches. Past appointments stay in the history. A pet that has died can instead be marked as deceased."),
                          gtk_editable_get_text (GTK_EDITABLE (self->name_row)));
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("Delete Pet?"), body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Keep"),
                                    "delete", _("_Delete"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (delete_response_cb), self, 0);
  self->delete_dialog = ADW_MESSAGE_DIALOG (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- public ---- */

VdPetDetail *
vd_pet_detail_new (void)
{
  return g_object_new (VD_TYPE_PET_DETAIL, NULL);
}

void
vd_pet_detail_set_store (VdPetDetail *self,
                         VdStore     *store)
{
  g_return_if_fail (VD_IS_PET_DETAIL (self));

  if (!g_set_object (&self->store, store))
    return;
  vd_record_form_set_store (self->form, store);
  self->pet_id[0] = '\0';
  bind_history (self);
}

VdRecordForm *
vd_pet_detail_get_form (VdPetDetail *self)
{
  g_return_val_if_fail (VD_IS_PET_DETAIL (self), NULL);

  return self->form;
}

const char *
vd_pet_detail_get_pet_id (VdPetDetail *self)
{
  g_return_val_if_fail (VD_IS_PET_DETAIL (self), NULL);

  return self->pet_id;
}

const char *
vd_pet_detail_get_client_id (VdPetDetail *self)
{
  g_return_val_if_fail (VD_IS_PET_DETAIL (self), NULL);

  return self->client_id;
}

const char *
vd_pet_detail_get_error (VdPetDetail *self)
{
  g_return_val_if_fail (VD_IS_PET_DETAIL (self), NULL);

  if (!gtk_revealer_get_reveal_child (self->error_revealer))
    return NULL;
  return gtk_label_get_text (self->error_label);
}

const char *
vd_pet_detail_get_age_text (VdPetDetail *self)
{
  g_return_val_if_fail (VD_IS_PET_DETAIL (self), NULL);

  return self->age_text;
}

const char *
vd_pet_detail_get_allergy_warning (VdPetDetail *self)
{
  g_return_val_if_fail (VD_IS_PET_DETAIL (self), NULL);

  if (!gtk_widget_get_visible (self->allergy_group))
    return NULL;
  return adw_action_row_get_subtitle (self->allergy_warning_row);
}

AdwMessageDialog *
vd_pet_detail_get_delete_dialog (VdPetDetail *self)
{
  g_return_val_if_fail (VD_IS_PET_DETAIL (self), NULL);

  return self->delete_dialog;
}

/* ---- breed and colour completion ---- */

static const char *
current_species (VdPetDetail *self)
{
  const char * const *values = vd_pet_species ();
  guint pos = gtk_drop_down_get_selected (self->species_drop);

  return pos < g_strv_length ((char **) values) ? values[pos] : NULL;
}

static void
completion_hide (VdCompletion *c)
{
  GtkWidget *child;

  g_clear_pointer (&c->shown, g_strfreev);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (c->box))) != NULL)
    gtk_list_box_remove (c->box, child);
  gtk_popover_popdown (c->popover);
}

static void
completion_update (VdCompletion *c)
{
  VdPetDetail *self = c->self;
  const char *typed = gtk_editable_get_text (GTK_EDITABLE (c->row));
  g_auto(GStrv) found = NULL;

  completion_hide (c);
  if (self->loading || typed[0] == '\0' || !gtk_widget_get_mapped (GTK_WIDGET (c->row)))
    return;
  found = vd_breeds_complete (current_species (self), c->list, typed, 8);
  /* Nothing to offer, or the one offer is what is typed already. */
  if (found[0] == NULL || (found[1] == NULL && g_str_equal (found[0], typed)))
    return;
  for (guint i = 0; found[i] != NULL; i++)
    {
      GtkWidget *label = gtk_label_new (found[i]);

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_widget_set_margin_start (label, 6);
      gtk_widget_set_margin_end (label, 6);
      gtk_widget_set_margin_top (label, 4);
      gtk_widget_set_margin_bottom (label, 4);
      gtk_list_box_append (c->box, label);
    }
  c->shown = g_steal_pointer (&found);
  gtk_popover_popup (c->popover);
}

static void
completion_changed_cb (GtkEditable  *editable,
                       VdCompletion *c)
{
  completion_update (c);
}

static void
completion_activated_cb (GtkListBox    *box,
                         GtkListBoxRow *row,
                         VdCompletion  *c)
{
  int index = gtk_list_box_row_get_index (row);
  g_autofree char *name = NULL;

  if (c->shown == NULL || index < 0 || (guint) index >= g_strv_length (c->shown))
    return;
  name = g_strdup (c->shown[index]);
  completion_hide (c);
  gtk_editable_set_text (GTK_EDITABLE (c->row), name);
  gtk_editable_set_position (GTK_EDITABLE (c->row), -1);
  completion_hide (c);
  gtk_widget_grab_focus (GTK_WIDGET (c->row));
}

static void
completion_init (VdPetDetail  *self,
                 VdCompletion *c,
                 AdwEntryRow  *row,
                 VdBreedList   list)
{
  GtkWidget *scroller = gtk_scrolled_window_new ();

  c->self = self;
  c->row = row;
  c->list = list;
  c->box = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_activate_on_single_click (c->box, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (c->box), "navigation-sidebar");
  g_signal_connect (c->box, "row-activated", G_CALLBACK (completion_activated_cb), c);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scroller), 280);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (c->box));
  c->popover = GTK_POPOVER (gtk_popover_new ());
  /* Typing goes on in the row while the list shows. */
  gtk_popover_set_autohide (c->popover, FALSE);
  gtk_popover_set_has_arrow (c->popover, FALSE);
  gtk_popover_set_position (c->popover, GTK_POS_BOTTOM);
  gtk_widget_set_halign (GTK_WIDGET (c->popover), GTK_ALIGN_START);
  gtk_widget_set_size_request (GTK_WIDGET (c->popover), 280, -1);
  gtk_popover_set_child (c->popover, scroller);
  gtk_widget_set_parent (GTK_WIDGET (c->popover), GTK_WIDGET (row));
  g_signal_connect (row, "changed", G_CALLBACK (completion_changed_cb), c);
}

static void
completion_fini (VdCompletion *c)
{
  g_clear_pointer (&c->shown, g_strfreev);
  if (c->popover != NULL)
    gtk_widget_unparent (GTK_WIDGET (c->popover));
  c->popover = NULL;
}

char **
vd_pet_detail_dup_suggestions (VdPetDetail *self,
                               const char  *field)
{
  VdCompletion *c;

  g_return_val_if_fail (VD_IS_PET_DETAIL (self), NULL);

  c = &self->completions[g_strcmp0 (field, "color") == 0 ? 1 : 0];
  if (c->shown == NULL || !gtk_widget_get_visible (GTK_WIDGET (c->popover)))
    return NULL;
  return g_strdupv (c->shown);
}

/* ---- GObject ---- */

static void
vd_pet_detail_dispose (GObject *object)
{
  VdPetDetail *self = VD_PET_DETAIL (object);

  if (self->delete_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->delete_dialog));
  g_clear_pointer (&self->form, vd_record_form_free);
  for (guint i = 0; i < G_N_ELEMENTS (self->completions); i++)
    completion_fini (&self->completions[i]);
  gtk_widget_dispose_template (GTK_WIDGET (self), VD_TYPE_PET_DETAIL);
  g_clear_object (&self->history);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (vd_pet_detail_parent_class)->dispose (object);
}

static void
vd_pet_detail_finalize (GObject *object)
{
  VdPetDetail *self = VD_PET_DETAIL (object);

  g_clear_pointer (&self->age_text, g_free);

  G_OBJECT_CLASS (vd_pet_detail_parent_class)->finalize (object);
}

static void
vd_pet_detail_class_init (VdPetDetailClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vd_pet_detail_dispose;
  object_class->finalize = vd_pet_detail_finalize;

  signals[SAVED] = g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                 NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[DELETED] = g_signal_new ("deleted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[BACK] = g_signal_new ("back", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/vetdesk/VetDesk/vd-pet-detail.ui");
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, back_button);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, title_label);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, owner_label);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, book_button);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, delete_button);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, save_button);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, error_label);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, allergy_group);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, allergy_warning_row);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, name_row);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, species_row);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, species_drop);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, breed_row);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, sex_drop);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, neutered_switch);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, birth_row);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, birth_button);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, birth_calendar);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, birth_clear_button);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, weight_row);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, microchip_row);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, color_row);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, allergies_row);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, deceased_switch);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, notes_view);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, history_group);
  gtk_widget_class_bind_template_child (widget_class, VdPetDetail, history_list);
  gtk_widget_class_bind_template_callback (widget_class, allergies_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, birth_day_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, birth_clear_cb);

  gtk_widget_class_install_action (widget_class, "pet.save", NULL, save_cb);
  gtk_widget_class_install_action (widget_class, "pet.delete", NULL, delete_cb);
  gtk_widget_class_install_action (widget_class, "pet.back", NULL, back_cb);
  gtk_widget_class_install_action (widget_class, "pet.book", NULL, book_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "pet.save", NULL);
}

static void
vd_pet_detail_init (VdPetDetail *self)
{
  g_autoptr(GListModel) species = vd_labels_model (vd_pet_species (), vd_pet_species_label);
  g_autoptr(GListModel) sexes = vd_labels_model (vd_pet_sexes (), vd_pet_sex_label);

  static const VdRecordFormFuncs funcs = { fill_page, collect, save_page };

  gtk_widget_init_template (GTK_WIDGET (self));
  self->form = vd_record_form_new (GTK_WIDGET (self), "pets", &funcs,
                                   GTK_WIDGET (self->error_revealer));
  gtk_drop_down_set_model (self->species_drop, species);
  gtk_drop_down_set_model (self->sex_drop, sexes);
  completion_init (self, &self->completions[0], self->breed_row, VD_BREED_LIST_BREEDS);
  completion_init (self, &self->completions[1], self->color_row, VD_BREED_LIST_COLOURS);
  gtk_list_box_set_placeholder (self->history_list, vd_placeholder_new (_("No appointments yet.")));
}
