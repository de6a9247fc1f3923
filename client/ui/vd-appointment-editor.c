/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-appointment-editor.c — books or edits one appointment. Times are entered on the
 * clinic's wall clock and stored as UTC instants; a double booking of the staff member
 * is found in the local replica and asked about before anything is saved. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "vd-appointment-editor.h"
#include "vd-record-form.h"
#include "vd-day-view.h"
#include "vd-picker.h"
#include "vd-store-models.h"
#include "vd-time.h"
#include "vd-id.h"
#include "vd-rules.h"

struct _VdAppointmentEditor
{
  AdwWindow          parent_instance;

  AdwWindowTitle    *title_widget;
  GtkWidget         *save_button;
  GtkRevealer       *error_revealer;
  GtkLabel          *error_label;
  VdPicker          *client_drop;
  GtkDropDown       *pet_drop;
  GtkMenuButton     *client_add_button;
  GtkMenuButton     *pet_add_button;
  VdQuickAdd        *client_quick;   /* owned by their menu buttons */
  VdQuickAdd        *pet_quick;
  AdwActionRow      *allergy_row;
  GtkMenuButton     *date_button;
  GtkCalendar       *calendar;
  GtkSpinButton     *hour_spin;
  GtkSpinButton     *minute_spin;
  AdwActionRow      *duration_row;
  GtkSpinButton     *duration_spin;
  VdPicker          *staff_drop;
  GtkDropDown       *kind_drop;
  AdwEntryRow       *room_row;
  AdwEntryRow       *reason_row;
  GtkTextView       *notes_view;

  VdStore           *store;
  VdClientList      *clients;
  VdPetList         *pets;
  GtkFilterListModel *staff;
  /* Set while editing an existing row; empty for a new one. */
  char               appointment_id[VD_UUID_LEN + 1];
  char              *status;
  gboolean           allow_overlap;
  /* The pet to select once the chosen client's pets are loaded. */
  char              *pending_pet_id;
  AdwMessageDialog  *overlap_dialog;
  VdRecordForm      *form;
  gboolean           may_close;   /* the leave question was answered */
};

G_DEFINE_FINAL_TYPE (VdAppointmentEditor, vd_appointment_editor, ADW_TYPE_WINDOW)

enum
{
  PROP_0,
  PROP_STORE,
  N_PROPS
};

enum
{
  SAVED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
show_error (VdAppointmentEditor *self,
            const char          *message)
{
  if (message != NULL)
    gtk_label_set_text (self->error_label, message);
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

/* ---- pickers ---- */

static char *
client_display_name (VdClientItem *item,
                     gpointer      user_data)
{
  if (item == NULL)
    return g_strdup ("");
  /* Translators: a client in the picker, last name first as the list is sorted */
  return g_strdup_printf (C_("client name", "%s, %s"),
                          vd_client_item_get_last_name (item),
                          vd_client_item_get_first_name (item));
}

static gpointer
get_selected (GtkDropDown *drop)
{
  return gtk_drop_down_get_selected_item (drop);
}

static gpointer
picked (VdPicker *picker)
{
  return vd_picker_get_selected_item (picker);
}

/* A client is found by their names, phone and email, as in the global search. */
static char *
client_search_text (gpointer item)
{
  return g_strjoin (" ", vd_client_item_get_first_name (item), vd_client_item_get_last_name (item),
                    vd_client_item_get_phone (item), vd_client_item_get_email (item), NULL);
}

static guint
position_of (GListModel *model,
             const char *id,
             const char *(*get_id) (gpointer))
{
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; id != NULL && i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (model, i);

      if (g_strcmp0 (get_id (item), id) == 0)
        return i;
    }
  return GTK_INVALID_LIST_POSITION;
}

static const char *
client_id_of (gpointer item)
{
  return vd_client_item_get_id (item);
}

static const char *
pet_id_of (gpointer item)
{
  return vd_pet_item_get_id (item);
}

static const char *
staff_id_of (gpointer item)
{
  return vd_staff_item_get_id (item);
}

static void
update_allergies (VdAppointmentEditor *self)
{
  VdPetItem *pet = get_selected (self->pet_drop);
  const char *allergies = pet ? vd_pet_item_get_allergies (pet) : NULL;

  if (allergies != NULL && *allergies != '\0')
    adw_action_row_set_subtitle (self->allergy_row, allergies);
  gtk_widget_set_visible (GTK_WIDGET (self->allergy_row), allergies != NULL && *allergies != '\0');
}

static void
pets_changed_cb (VdAppointmentEditor *self)
{
  guint pos;

  /* The client's pets arrive at the next reload: honour a pet chosen before that, and
   * with only one pet there is nothing to choose. */
  if (self->pending_pet_id != NULL)
    {
      pos = position_of (G_LIST_MODEL (self->pets), self->pending_pet_id, pet_id_of);
      if (pos != GTK_INVALID_LIST_POSITION)
        {
          gtk_drop_down_set_selected (self->pet_drop, pos);
          g_clear_pointer (&self->pending_pet_id, g_free);
        }
    }
  else if (g_list_model_get_n_items (G_LIST_MODEL (self->pets)) == 1)
    gtk_drop_down_set_selected (self->pet_drop, 0);
  update_allergies (self);
}

static void
client_selected_cb (VdAppointmentEditor *self)
{
  VdClientItem *client = picked (self->client_drop);

  /* Selections change while the models are being set up. */
  if (self->pets == NULL)
    return;

  /* A new pet is added to the client chosen here. */
  if (self->pet_quick != NULL)
    vd_quick_add_set_client_id (self->pet_quick, client ? vd_client_item_get_id (client) : NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->pet_add_button), client != NULL);

  if (self->pending_pet_id == NULL)
    gtk_drop_down_set_selected (self->pet_drop, GTK_INVALID_LIST_POSITION);
  vd_pet_list_set_client_id (self->pets, client ? vd_client_item_get_id (client) : "");
  vd_store_list_refresh (G_LIST_MODEL (self->pets));
  pets_changed_cb (self);
}

static void
pet_selected_cb (VdAppointmentEditor *self)
{
  if (self->pets != NULL)
    update_allergies (self);
}

gboolean
vd_appointment_editor_select_client (VdAppointmentEditor *self,
                                     const char          *client_id)
{
  guint pos;

  g_return_val_if_fail (VD_IS_APPOINTMENT_EDITOR (self), FALSE);

  pos = position_of (G_LIST_MODEL (self->clients), client_id, client_id_of);
  if (pos == GTK_INVALID_LIST_POSITION)
    return FALSE;
  vd_picker_set_selected (self->client_drop, pos);
  return TRUE;
}

gboolean
vd_appointment_editor_set_patient (VdAppointmentEditor *self,
                                   const char          *client_id,
                                   const char          *pet_id)
{
  VdClientItem *current;

  g_return_val_if_fail (VD_IS_APPOINTMENT_EDITOR (self), FALSE);

  /* The pet is chosen once the client's pets are loaded (pets_changed_cb). */
  g_free (self->pending_pet_id);
  self->pending_pet_id = g_strdup (pet_id);
  current = picked (self->client_drop);
  if (current != NULL && g_strcmp0 (vd_client_item_get_id (current), client_id) == 0)
    {
      pets_changed_cb (self);
      return TRUE;
    }
  if (!vd_appointment_editor_select_client (self, client_id))
    {
      g_clear_pointer (&self->pending_pet_id, g_free);
      return FALSE;
    }
  return TRUE;
}

const char *
vd_appointment_editor_get_client_id (VdAppointmentEditor *self)
{
  VdClientItem *client;

  g_return_val_if_fail (VD_IS_APPOINTMENT_EDITOR (self), NULL);

  client = picked (self->client_drop);
  return client ? vd_client_item_get_id (client) : NULL;
}

const char *
vd_appointment_editor_get_pet_id (VdAppointmentEditor *self)
{
  VdPetItem *pet;

  g_return_val_if_fail (VD_IS_APPOINTMENT_EDITOR (self), NULL);

  pet = get_selected (self->pet_drop);
  return pet ? vd_pet_item_get_id (pet) : NULL;
}

VdQuickAdd *
vd_appointment_editor_get_quick_add (VdAppointmentEditor *self,
                                     VdQuickAddKind       kind)
{
  g_return_val_if_fail (VD_IS_APPOINTMENT_EDITOR (self), NULL);

  return kind == VD_QUICK_ADD_CLIENT ? self->client_quick : self->pet_quick;
}

/* ---- new client and new pet without leaving the editor ---- */

static void
client_created_cb (VdAppointmentEditor *self,
                   const char          *client_id)
{
  /* The row is committed: read it now rather than at the list's next idle reload. */
  vd_store_list_refresh (G_LIST_MODEL (self->clients));
  vd_appointment_editor_select_client (self, client_id);
}

static void
pet_created_cb (VdAppointmentEditor *self,
                const char          *pet_id)
{
  g_free (self->pending_pet_id);
  self->pending_pet_id = g_strdup (pet_id);
  vd_store_list_refresh (G_LIST_MODEL (self->pets));
  pets_changed_cb (self);
}

gboolean
vd_appointment_editor_select_pet (VdAppointmentEditor *self,
                                  const char          *pet_id)
{
  guint pos;

  g_return_val_if_fail (VD_IS_APPOINTMENT_EDITOR (self), FALSE);

  pos = position_of (G_LIST_MODEL (self->pets), pet_id, pet_id_of);
  if (pos == GTK_INVALID_LIST_POSITION)
    return FALSE;
  gtk_drop_down_set_selected (self->pet_drop, pos);
  return TRUE;
}

gboolean
vd_appointment_editor_select_staff (VdAppointmentEditor *self,
                                    const char          *staff_id)
{
  guint pos;

  g_return_val_if_fail (VD_IS_APPOINTMENT_EDITOR (self), FALSE);

  pos = position_of (G_LIST_MODEL (self->staff), staff_id, staff_id_of);
  if (pos == GTK_INVALID_LIST_POSITION)
    return FALSE;
  vd_picker_set_selected (self->staff_drop, pos);
  return TRUE;
}

/* ---- date and time ---- */

static gboolean
two_digits_cb (GtkSpinButton *spin,
               gpointer       user_data)
{
  char text[8];

  g_snprintf (text, sizeof text, "%02d", (int) gtk_spin_button_get_value (spin));
  if (g_strcmp0 (text, gtk_editable_get_text (GTK_EDITABLE (spin))) != 0)
    gtk_editable_set_text (GTK_EDITABLE (spin), text);
  return TRUE;
}

static void
get_start (VdAppointmentEditor *self,
           int                 *year,
           int                 *month,
           int                 *day,
           int                 *hour,
           int                 *minute)
{
  g_autoptr(GDateTime) date = gtk_calendar_get_date (self->calendar);

  *year = g_date_time_get_year (date);
  *month = g_date_time_get_month (date);
  *day = g_date_time_get_day_of_month (date);
  *hour = gtk_spin_button_get_value_as_int (self->hour_spin);
  *minute = gtk_spin_button_get_value_as_int (self->minute_spin);
}

static void
time_changed_cb (VdAppointmentEditor *self)
{
  int year, month, day, hour, minute;
  int duration = gtk_spin_button_get_value_as_int (self->duration_spin);
  g_autoptr(GDateTime) date = gtk_calendar_get_date (self->calendar);
  /* Translators: the date on the editor's date button, strftime format */
  g_autofree char *label = g_date_time_format (date, _("%a %-d %b %Y"));
  gint64 starts_at, ends_at;
  g_autoptr(GDateTime) end = NULL;
  g_autofree char *subtitle = NULL;

  if (self->store == NULL)
    return;

  gtk_menu_button_set_label (self->date_button, label);

  get_start (self, &year, &month, &day, &hour, &minute);
  starts_at = vd_time_from_zone (vd_store_get_time_zone (self->store), year, month, day, hour, minute, 0);
  ends_at = starts_at + (gint64) duration * 60;
  end = vd_time_to_zone (ends_at, vd_store_get_time_zone (self->store));
  if (duration > 0)
    /* Translators: under "Duration"; the end time, e.g. "Ends at 10:30" */
    subtitle = g_date_time_format (end, _("Ends at %H:%M"));
  adw_action_row_set_subtitle (self->duration_row, subtitle ? subtitle : "");
}

static void
date_changed_cb (VdAppointmentEditor *self)
{
  time_changed_cb (self);
}

static void
set_start_time (VdAppointmentEditor *self,
                gint64               starts_at)
{
  g_autoptr(GDateTime) local = vd_time_to_zone (starts_at, vd_store_get_time_zone (self->store));
  /* The calendar takes a date-time and shows its calendar day: give it the local day. */
  g_autoptr(GDateTime) day = g_date_time_new_local (g_date_time_get_year (local),
                                                    g_date_time_get_month (local),
                                                    g_date_time_get_day_of_month (local),
                                                    12, 0, 0);

  gtk_calendar_select_day (self->calendar, day);
  gtk_spin_button_set_value (self->hour_spin, g_date_time_get_hour (local));
  gtk_spin_button_set_value (self->minute_spin, g_date_time_get_minute (local));
  time_changed_cb (self);
}

void
vd_appointment_editor_set_start (VdAppointmentEditor *self,
                                 const char          *staff_id,
                                 gint64               starts_at)
{
  g_return_if_fail (VD_IS_APPOINTMENT_EDITOR (self));

  set_start_time (self, starts_at);
  if (staff_id != NULL)
    vd_appointment_editor_select_staff (self, staff_id);
}

void
vd_appointment_editor_set_duration (VdAppointmentEditor *self,
                                    int                  minutes)
{
  g_return_if_fail (VD_IS_APPOINTMENT_EDITOR (self));

  gtk_spin_button_set_value (self->duration_spin, minutes);
}

void
vd_appointment_editor_set_reason (VdAppointmentEditor *self,
                                  const char          *reason)
{
  g_return_if_fail (VD_IS_APPOINTMENT_EDITOR (self));

  gtk_editable_set_text (GTK_EDITABLE (self->reason_row), reason ? reason : "");
}

/* ---- loading an existing appointment ---- */

static const char *
text_or_null (const VdValue *value)
{
  return value->kind == VD_VALUE_TEXT ? value->s : NULL;
}

static const char *
text_or_empty (const VdValue *value)
{
  return value->kind == VD_VALUE_TEXT ? value->s : "";
}

static void
fill (gpointer  page,
      VdRecord *record)
{
  VdAppointmentEditor *self = page;
  const VdTable *table = vd_schema_lookup_table ("appointments");
  VdValue *values;
  gint64 starts_at = 0, ends_at = 0;
  const char *kind;

  /* A new appointment's form has no row to go back to: it keeps what it shows. */
  if (record == NULL)
    return;
  values = record->values;
#define COL(name) (&values[vd_table_lookup_column (table, name)->index])
  g_free (self->status);
  self->status = g_strdup (text_or_null (COL ("status")));
  self->allow_overlap = COL ("allow_overlap")->kind == VD_VALUE_BOOL && COL ("allow_overlap")->b;

  g_free (self->pending_pet_id);
  self->pending_pet_id = g_strdup (text_or_null (COL ("pet_id")));
  vd_appointment_editor_select_client (self, text_or_null (COL ("client_id")));
  vd_appointment_editor_select_staff (self, text_or_null (COL ("staff_id")));

  kind = text_or_null (COL ("kind"));
  for (guint i = 0; vd_appointment_kinds ()[i] != NULL; i++)
    if (g_strcmp0 (vd_appointment_kinds ()[i], kind) == 0)
      gtk_drop_down_set_selected (self->kind_drop, i);

  gtk_editable_set_text (GTK_EDITABLE (self->room_row), text_or_empty (COL ("room")));
  gtk_editable_set_text (GTK_EDITABLE (self->reason_row), text_or_empty (COL ("reason")));
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->notes_view),
                            text_or_empty (COL ("notes")), -1);

  vd_time_parse_utc (text_or_null (COL ("starts_at")), &starts_at, NULL);
  vd_time_parse_utc (text_or_null (COL ("ends_at")), &ends_at, NULL);
  set_start_time (self, starts_at);
  gtk_spin_button_set_value (self->duration_spin, MAX ((ends_at - starts_at) / 60, 0));
#undef COL
}

/* The start and end the widgets give, on the clinic's clock. */
static void
get_times (VdAppointmentEditor *self,
           gint64              *starts_at,
           gint64              *ends_at)
{
  int year, month, day, hour, minute;
  int duration = gtk_spin_button_get_value_as_int (self->duration_spin);

  get_start (self, &year, &month, &day, &hour, &minute);
  *starts_at = vd_time_from_zone (vd_store_get_time_zone (self->store), year, month, day, hour, minute, 0);
  *ends_at = *starts_at + (gint64) duration * 60;
}

static void
collect_id (VdFormChange *form,
            const char   *column,
            const char   *id)
{
  VdValue value = { VD_VALUE_NULL };

  if (id != NULL && *id != '\0')
    vd_value_set_text (&value, id);
  vd_form_change_value (form, column, &value, NULL);
}

static void
collect_time (VdFormChange *form,
              const char   *column,
              gint64        instant)
{
  VdValue value = { VD_VALUE_NULL };

  vd_value_take_text (&value, vd_time_dup_utc (instant));
  vd_form_change_value (form, column, &value, NULL);
}

static void
collect (gpointer      page,
         VdFormChange *form)
{
  VdAppointmentEditor *self = page;
  VdPetItem *pet = get_selected (self->pet_drop);
  VdClientItem *client = picked (self->client_drop);
  VdStaffItem *staff = picked (self->staff_drop);
  g_autofree char *notes = vd_text_view_dup_text (self->notes_view);
  guint kind = gtk_drop_down_get_selected (self->kind_drop);
  gint64 starts_at, ends_at;

  get_times (self, &starts_at, &ends_at);
  collect_id (form, "pet_id", pet ? vd_pet_item_get_id (pet) : NULL);
  collect_id (form, "client_id", client ? vd_client_item_get_id (client) : NULL);
  collect_id (form, "staff_id", staff ? vd_staff_item_get_id (staff) : NULL);
  vd_form_change_text (form, "room", gtk_editable_get_text (GTK_EDITABLE (self->room_row)), NULL);
  vd_form_change_text (form, "kind", vd_appointment_kinds ()[MIN (kind, 6)], NULL);
  collect_time (form, "starts_at", starts_at);
  collect_time (form, "ends_at", ends_at);
  vd_form_change_text (form, "reason", gtk_editable_get_text (GTK_EDITABLE (self->reason_row)), NULL);
  vd_form_change_text (form, "notes", notes, NULL);
  vd_form_change_bool (form, "allow_overlap", self->allow_overlap);
}

gboolean
vd_appointment_editor_load (VdAppointmentEditor *self,
                            const char          *appointment_id,
                            GError             **error)
{
  g_return_val_if_fail (VD_IS_APPOINTMENT_EDITOR (self), FALSE);

  if (!vd_record_form_load (self->form, appointment_id))
    {
      g_set_error_literal (error, VD_STORE_ERROR, VD_STORE_ERROR_NOT_FOUND,
                           _("This appointment no longer exists on this computer."));
      return FALSE;
    }
  g_strlcpy (self->appointment_id, appointment_id, sizeof self->appointment_id);
  adw_window_title_set_title (self->title_widget, _("Edit Appointment"));
  gtk_window_set_title (GTK_WINDOW (self), _("Edit Appointment"));
  gtk_button_set_label (GTK_BUTTON (self->save_button), _("_Save"));
  return TRUE;
}

VdRecordForm *
vd_appointment_editor_get_form (VdAppointmentEditor *self)
{
  g_return_val_if_fail (VD_IS_APPOINTMENT_EDITOR (self), NULL);

  return self->form;
}

/* ---- saving ---- */

static gboolean
close_idle_cb (gpointer user_data)
{
  gtk_window_close (GTK_WINDOW (user_data));
  return G_SOURCE_REMOVE;
}

/* Saved: nothing more to do here. While the double-booking question is still being
 * answered, the editor (its parent) must outlive it, so it closes at idle. */
static void
close_soon (VdAppointmentEditor *self)
{
  gtk_widget_set_sensitive (self->save_button, FALSE);
  if (self->overlap_dialog != NULL)
    g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, close_idle_cb, g_object_ref (self), g_object_unref);
  else
    gtk_window_close (GTK_WINDOW (self));
}

static gboolean
commit (VdAppointmentEditor *self,
        gint64               starts_at,
        gint64               ends_at,
        gboolean             allow_overlap)
{
  VdFormChange form;
  g_autoptr(GError) error = NULL;
  gboolean is_new = self->appointment_id[0] == '\0';
  VdValue value = { VD_VALUE_NULL };
  g_autofree char *id = NULL;
  gboolean previous;

  vd_record_form_collect (self->form, &form);
  /* The times checked by the caller, and the overlap as the person answered. */
  vd_value_take_text (&value, vd_time_dup_utc (starts_at));
  vd_change_take_cell (form.change, vd_table_lookup_column (form.change->table, "starts_at"), &value);
  vd_value_take_text (&value, vd_time_dup_utc (ends_at));
  vd_change_take_cell (form.change, vd_table_lookup_column (form.change->table, "ends_at"), &value);
  vd_value_set_bool (&value, allow_overlap);
  vd_change_take_cell (form.change, vd_table_lookup_column (form.change->table, "allow_overlap"), &value);
  if (is_new)
    {
      vd_value_set_text (&value, "scheduled");
      vd_change_take_cell (form.change, vd_table_lookup_column (form.change->table, "status"), &value);
    }

  /* Set first: what the form gives once saved includes the person's answer. */
  previous = self->allow_overlap;
  self->allow_overlap = allow_overlap;
  if (!vd_record_form_commit (self->form, &form, NULL, &error))
    {
      self->allow_overlap = previous;
      show_error (self, error->message);
      vd_form_change_clear (&form);
      return FALSE;
    }
  id = g_strdup (form.change->id);
  g_strlcpy (self->appointment_id, id, sizeof self->appointment_id);
  vd_form_change_clear (&form);

  g_signal_emit (self, signals[SAVED], 0, id);
  close_soon (self);
  return TRUE;
}

/* Another live appointment of the same staff member that shares some of [start, end).
 * Appointments can last hours, so the search starts a day earlier. */
static VdAppointmentItem *
find_overlap (VdAppointmentEditor *self,
              const char          *staff_id,
              gint64               starts_at,
              gint64               ends_at)
{
  g_autoptr(VdAppointmentList) list =
    vd_appointment_list_new (self->store, starts_at - 86400, ends_at, staff_id);
  guint n;

  vd_store_list_refresh (G_LIST_MODEL (list));
  n = g_list_model_get_n_items (G_LIST_MODEL (list));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(VdAppointmentItem) item = g_list_model_get_item (G_LIST_MODEL (list), i);
      const char *status = vd_appointment_item_get_status (item);

      if (g_strcmp0 (vd_appointment_item_get_id (item), self->appointment_id) == 0 ||
          !vd_rules_status_is_active (status))
        continue;
      if (vd_appointment_item_get_starts_at (item) < ends_at &&
          vd_appointment_item_get_ends_at (item) > starts_at)
        return g_steal_pointer (&item);
    }
  return NULL;
}

typedef struct
{
  gint64 starts_at;
  gint64 ends_at;
} Pending;

static void
overlap_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     gpointer          user_data)
{
  VdAppointmentEditor *self = VD_APPOINTMENT_EDITOR (gtk_window_get_transient_for (GTK_WINDOW (dialog)));
  Pending *pending = user_data;

  if (g_strcmp0 (response, "book") == 0)
    commit (self, pending->starts_at, pending->ends_at, TRUE);
  self->overlap_dialog = NULL;
}

static void
ask_about_overlap (VdAppointmentEditor *self,
                   VdAppointmentItem   *other,
                   gint64               starts_at,
                   gint64               ends_at)
{
  GTimeZone *zone = vd_store_get_time_zone (self->store);
  g_autoptr(GDateTime) from = vd_time_to_zone (vd_appointment_item_get_starts_at (other), zone);
  g_autoptr(GDateTime) to = vd_time_to_zone (vd_appointment_item_get_ends_at (other), zone);
  g_autofree char *from_text = g_date_time_format (from, "%H:%M");
  g_autofree char *to_text = g_date_time_format (to, "%H:%M");
  VdStaffItem *staff = picked (self->staff_drop);
  g_autofree char *body = NULL;
  Pending *pending = g_new0 (Pending, 1);
  GtkWidget *dialog;

  /* Translators: staff name, pet, kind of visit, start and end time */
  body = g_strdup_printf (_("%s already has %s (%s) from %s to %s. Both appointments will be kept and marked as an intended overlap."),
                          vd_staff_item_get_name (staff),
                          vd_appointment_item_get_pet_name (other),
                          vd_appointment_kind_label (vd_appointment_item_get_kind (other)),
                          from_text, to_text);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Book Over Another Appointment?"), body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Change Time"),
                                    "book", _("_Book Anyway"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "book",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");

  pending->starts_at = starts_at;
  pending->ends_at = ends_at;
  g_signal_connect_data (dialog, "response", G_CALLBACK (overlap_response_cb), pending,
                         (GClosureNotify) (void (*) (void)) g_free, 0);
  self->overlap_dialog = ADW_MESSAGE_DIALOG (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}

void
vd_appointment_editor_save (VdAppointmentEditor *self)
{
  int year, month, day, hour, minute;
  int duration;
  gint64 starts_at, ends_at;
  g_autoptr(VdAppointmentItem) other = NULL;

  g_return_if_fail (VD_IS_APPOINTMENT_EDITOR (self));

  if (!gtk_widget_get_sensitive (self->save_button) || self->overlap_dialog != NULL)
    return;

  if (picked (self->client_drop) == NULL)
    {
      show_error (self, _("Choose the client who brings the pet."));
      gtk_widget_grab_focus (GTK_WIDGET (self->client_drop));
      return;
    }
  if (get_selected (self->pet_drop) == NULL)
    {
      show_error (self, g_list_model_get_n_items (G_LIST_MODEL (self->pets)) == 0
                        ? _("This client has no pets yet. Add the pet to the client first.")
                        : _("Choose the pet the appointment is for."));
      gtk_widget_grab_focus (GTK_WIDGET (self->pet_drop));
      return;
    }
  if (picked (self->staff_drop) == NULL)
    {
      show_error (self, _("Choose the staff member who sees the pet."));
      gtk_widget_grab_focus (GTK_WIDGET (self->staff_drop));
      return;
    }

  duration = gtk_spin_button_get_value_as_int (self->duration_spin);
  if (duration <= 0)
    {
      show_error (self, _("The appointment must end after it starts: give it a duration."));
      gtk_widget_grab_focus (GTK_WIDGET (self->duration_spin));
      return;
    }

  get_start (self, &year, &month, &day, &hour, &minute);
  starts_at = vd_time_from_zone (vd_store_get_time_zone (self->store), year, month, day, hour, minute, 0);
  ends_at = starts_at + (gint64) duration * 60;
  if (!vd_rules_appointment_times_ok (starts_at, ends_at))
    {
      show_error (self, _("The appointment must end after it starts."));
      return;
    }

  show_error (self, NULL);

  if (!self->allow_overlap)
    other = find_overlap (self, vd_staff_item_get_id (picked (self->staff_drop)),
                          starts_at, ends_at);
  if (other != NULL)
    {
      ask_about_overlap (self, other, starts_at, ends_at);
      return;
    }

  commit (self, starts_at, ends_at, self->allow_overlap);
}

static gboolean
save_page (gpointer page)
{
  VdAppointmentEditor *self = page;

  vd_appointment_editor_save (self);
  /* Saved, or waiting on the double-booking question: closing goes on once saved. */
  return !vd_record_form_is_dirty (self->form);
}

static void
close_now_cb (gpointer user_data)
{
  VdAppointmentEditor *self = user_data;

  /* A save closes the editor itself. */
  if (self->form == NULL)
    return;
  self->may_close = TRUE;
  gtk_window_close (GTK_WINDOW (self));
}

static gboolean
vd_appointment_editor_close_request (GtkWindow *window)
{
  VdAppointmentEditor *self = VD_APPOINTMENT_EDITOR (window);

  if (!self->may_close && self->overlap_dialog == NULL && vd_record_form_is_dirty (self->form))
    {
      vd_record_form_leave (self->form, G_CALLBACK (close_now_cb), g_object_ref (self),
                            g_object_unref);
      return TRUE;
    }
  return GTK_WINDOW_CLASS (vd_appointment_editor_parent_class)->close_request (window);
}

/* What the editor shows once presented (a new one preset by whoever opened it) is
 * unedited. */
static void
vd_appointment_editor_map (GtkWidget *widget)
{
  VdAppointmentEditor *self = VD_APPOINTMENT_EDITOR (widget);

  GTK_WIDGET_CLASS (vd_appointment_editor_parent_class)->map (widget);
  if (!self->may_close && g_object_get_data (G_OBJECT (self), "vd-snapshot-taken") == NULL)
    {
      vd_record_form_snapshot (self->form);
      g_object_set_data (G_OBJECT (self), "vd-snapshot-taken", GINT_TO_POINTER (1));
    }
}

static void
save_clicked_cb (VdAppointmentEditor *self)
{
  vd_appointment_editor_save (self);
}

static gboolean
save_shortcut_cb (GtkWidget *widget,
                  GVariant  *args,
                  gpointer   user_data)
{
  vd_appointment_editor_save (VD_APPOINTMENT_EDITOR (widget));
  return TRUE;
}

const char *
vd_appointment_editor_get_error (VdAppointmentEditor *self)
{
  g_return_val_if_fail (VD_IS_APPOINTMENT_EDITOR (self), NULL);

  if (!gtk_revealer_get_reveal_child (self->error_revealer))
    return NULL;
  return gtk_label_get_text (self->error_label);
}

AdwMessageDialog *
vd_appointment_editor_get_overlap_dialog (VdAppointmentEditor *self)
{
  g_return_val_if_fail (VD_IS_APPOINTMENT_EDITOR (self), NULL);

  return self->overlap_dialog;
}

/* ---- construction ---- */

static gboolean
is_bookable_staff (gpointer item,
                   gpointer user_data)
{
  return vd_rules_role_takes_appointments (vd_staff_item_get_role (item));
}

static void
setup_models (VdAppointmentEditor *self)
{
  g_autoptr(GtkStringList) kinds = gtk_string_list_new (NULL);
  g_autoptr(GtkExpression) client_name = NULL;
  g_autoptr(GtkExpression) pet_name = NULL;
  g_autoptr(GtkExpression) staff_name = NULL;
  GtkCustomFilter *filter;

  self->clients = vd_client_list_new (self->store, NULL);
  vd_store_list_refresh (G_LIST_MODEL (self->clients));
  client_name = gtk_cclosure_expression_new (G_TYPE_STRING, NULL, 0, NULL,
                                             G_CALLBACK (client_display_name), NULL, NULL);
  vd_picker_set_expression (self->client_drop, client_name);
  vd_picker_set_search_func (self->client_drop, client_search_text);
  vd_picker_set_model (self->client_drop, G_LIST_MODEL (self->clients));
  vd_picker_set_selected (self->client_drop, GTK_INVALID_LIST_POSITION);

  self->pets = vd_pet_list_new (self->store, "");
  /* After the drop-down's own models saw the change, so selecting is safe. */
  g_signal_connect_object (self->pets, "items-changed", G_CALLBACK (pets_changed_cb), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  pet_name = gtk_property_expression_new (VD_TYPE_PET_ITEM, NULL, "name");
  gtk_drop_down_set_expression (self->pet_drop, pet_name);
  gtk_drop_down_set_model (self->pet_drop, G_LIST_MODEL (self->pets));
  gtk_drop_down_set_selected (self->pet_drop, GTK_INVALID_LIST_POSITION);

  filter = gtk_custom_filter_new (is_bookable_staff, NULL, NULL);
  self->staff = gtk_filter_list_model_new (G_LIST_MODEL (vd_staff_list_new (self->store)),
                                           GTK_FILTER (filter));
  vd_store_list_refresh (gtk_filter_list_model_get_model (self->staff));
  staff_name = gtk_property_expression_new (VD_TYPE_STAFF_ITEM, NULL, "name");
  vd_picker_set_expression (self->staff_drop, staff_name);
  vd_picker_set_model (self->staff_drop, G_LIST_MODEL (self->staff));
  vd_picker_set_selected (self->staff_drop, GTK_INVALID_LIST_POSITION);

  self->client_quick = vd_quick_add_new (self->store, VD_QUICK_ADD_CLIENT);
  g_signal_connect_object (self->client_quick, "created", G_CALLBACK (client_created_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_menu_button_set_popover (self->client_add_button, GTK_WIDGET (self->client_quick));
  self->pet_quick = vd_quick_add_new (self->store, VD_QUICK_ADD_PET);
  g_signal_connect_object (self->pet_quick, "created", G_CALLBACK (pet_created_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_menu_button_set_popover (self->pet_add_button, GTK_WIDGET (self->pet_quick));
  gtk_widget_set_sensitive (GTK_WIDGET (self->pet_add_button), FALSE);

  for (guint i = 0; vd_appointment_kinds ()[i] != NULL; i++)
    gtk_string_list_append (kinds, vd_appointment_kind_label (vd_appointment_kinds ()[i]));
  gtk_drop_down_set_model (self->kind_drop, G_LIST_MODEL (kinds));
  gtk_drop_down_set_selected (self->kind_drop, 0);

  set_start_time (self, g_get_real_time () / G_USEC_PER_SEC);
}

VdAppointmentEditor *
vd_appointment_editor_new (GtkWindow *parent,
                           VdStore   *store)
{
  g_return_val_if_fail (VD_IS_STORE (store), NULL);

  return g_object_new (VD_TYPE_APPOINTMENT_EDITOR,
                       "transient-for", parent,
                       "store", store,
                       NULL);
}

static void
vd_appointment_editor_constructed (GObject *object)
{
  VdAppointmentEditor *self = VD_APPOINTMENT_EDITOR (object);

  static const VdRecordFormFuncs funcs = { fill, collect, save_page };

  G_OBJECT_CLASS (vd_appointment_editor_parent_class)->constructed (object);

  g_assert (self->store != NULL);
  setup_models (self);
  self->form = vd_record_form_new (GTK_WIDGET (self), "appointments", &funcs,
                                   GTK_WIDGET (self->error_revealer));
  vd_record_form_set_store (self->form, self->store);
}

static void
vd_appointment_editor_dispose (GObject *object)
{
  VdAppointmentEditor *self = VD_APPOINTMENT_EDITOR (object);

  g_clear_pointer (&self->form, vd_record_form_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), VD_TYPE_APPOINTMENT_EDITOR);
  g_clear_object (&self->clients);
  g_clear_object (&self->pets);
  g_clear_object (&self->staff);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (vd_appointment_editor_parent_class)->dispose (object);
}

static void
vd_appointment_editor_finalize (GObject *object)
{
  VdAppointmentEditor *self = VD_APPOINTMENT_EDITOR (object);

  g_clear_pointer (&self->status, g_free);
  g_clear_pointer (&self->pending_pet_id, g_free);

  G_OBJECT_CLASS (vd_appointment_editor_parent_class)->finalize (object);
}

static void
vd_appointment_editor_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  VdAppointmentEditor *self = VD_APPOINTMENT_EDITOR (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_appointment_editor_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  VdAppointmentEditor *self = VD_APPOINTMENT_EDITOR (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_appointment_editor_class_init (VdAppointmentEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = vd_appointment_editor_constructed;
  object_class->dispose = vd_appointment_editor_dispose;
  object_class->finalize = vd_appointment_editor_finalize;
  object_class->get_property = vd_appointment_editor_get_property;
  object_class->set_property = vd_appointment_editor_set_property;
  widget_class->map = vd_appointment_editor_map;
  GTK_WINDOW_CLASS (klass)->close_request = vd_appointment_editor_close_request;

  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, VD_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SAVED] =
    g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  g_type_ensure (VD_TYPE_PICKER);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/vetdesk/VetDesk/vd-appointment-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, title_widget);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, save_button);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, error_label);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, client_drop);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, pet_drop);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, client_add_button);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, pet_add_button);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, allergy_row);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, date_button);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, calendar);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, hour_spin);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, minute_spin);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, duration_row);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, duration_spin);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, staff_drop);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, kind_drop);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, room_row);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, reason_row);
  gtk_widget_class_bind_template_child (widget_class, VdAppointmentEditor, notes_view);
  gtk_widget_class_bind_template_callback (widget_class, save_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, client_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, pet_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, date_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, time_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, two_digits_cb);

}

static void
vd_appointment_editor_init (VdAppointmentEditor *self)
{
  GtkEventController *book_keys;

  gtk_widget_init_template (GTK_WIDGET (self));
  /* Ctrl+Enter books from any field: caught before the field sees it, as the notes would
   * take it for a new line and a spin button for its own activation. */
  book_keys = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (book_keys, GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (book_keys),
    gtk_shortcut_new (gtk_shortcut_trigger_parse_string ("<Control>Return|<Control>KP_Enter|<Control>ISO_Enter"),
                      gtk_callback_action_new (save_shortcut_cb, NULL, NULL)));
  gtk_widget_add_controller (GTK_WIDGET (self), book_keys);
  /* The rule allows up to a day; the spin offers the lengths a clinic books. */
  gtk_adjustment_set_upper (gtk_spin_button_get_adjustment (self->duration_spin),
                            VD_RULES_EDITOR_MAX_MINUTES);
}
