/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-client-detail.c — a client's record: fields validated one by one so the row at fault
 * is marked, one commit per save, and a soft delete (deleted = true) that also retires the
 * client's pets while their appointments stay in the history. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "vd-client-detail.h"
#include "vd-record-form.h"
#include "vd-store-models.h"
#include "vd-id.h"
#include "vd-rules.h"
#include "vd-search.h"

struct _VdClientDetail
{
  AdwBin             parent_instance;

  GtkLabel          *title_label;
  GtkWidget         *delete_button;
  GtkWidget         *save_button;
  GtkRevealer       *error_revealer;
  GtkLabel          *error_label;
  AdwEntryRow       *first_name_row;
  AdwEntryRow       *last_name_row;
  AdwEntryRow       *email_row;
  AdwEntryRow       *phone_row;
  AdwEntryRow       *address_row;
  GtkTextView       *notes_view;
  GtkWidget         *pets_group;
  GtkListBox        *pets_list;
  GtkWidget         *history_group;
  GtkListBox        *history_list;

  VdStore           *store;
  VdPetList         *pets;
  VdAppointmentList *history;
  char               client_id[VD_UUID_LEN + 1];
  AdwMessageDialog  *delete_dialog;
  AdwMessageDialog  *duplicate_dialog;
  char               duplicate_id[VD_UUID_LEN + 1];   /* the look-alike "Use This Client" opens */
  gboolean           duplicates_accepted;             /* "Add Anyway" pressed for this form */
  VdRecordForm      *form;
};

G_DEFINE_FINAL_TYPE (VdClientDetail, vd_client_detail, ADW_TYPE_BIN)

enum
{
  SAVED,
  DELETED,
  PET_ACTIVATED,
  ADD_PET,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
show_error (VdClientDetail *self,
            const char     *message)
{
  if (message != NULL)
    gtk_label_set_text (self->error_label, message);
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

static void
clear_marks (VdClientDetail *self)
{
  GtkWidget *rows[] = {
    GTK_WIDGET (self->first_name_row), GTK_WIDGET (self->last_name_row),
    GTK_WIDGET (self->email_row), GTK_WIDGET (self->phone_row), GTK_WIDGET (self->address_row),
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    vd_form_mark_valid (rows[i]);
  show_error (self, NULL);
}

static void
update_title (VdClientDetail *self)
{
  g_autofree char *name = NULL;
  gboolean is_new = self->client_id[0] == '\0';

  if (is_new)
    gtk_label_set_text (self->title_label, _("New Client"));
  else
    {
      name = vd_client_display_name (gtk_editable_get_text (GTK_EDITABLE (self->first_name_row)),
                                     gtk_editable_get_text (GTK_EDITABLE (self->last_name_row)));
      gtk_label_set_text (self->title_label, name);
    }
  gtk_widget_set_visible (self->delete_button, !is_new);
  gtk_widget_set_visible (self->pets_group, !is_new);
  gtk_widget_set_visible (self->history_group, !is_new);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "client.delete", !is_new);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "client.add-pet", !is_new);
}

/* ---- lists ---- */

static GtkWidget *
create_pet_row (gpointer item,
                gpointer user_data)
{
  return vd_pet_row_new (item);
}

static GtkWidget *
create_history_row (gpointer item,
                    gpointer user_data)
{
  VdClientDetail *self = user_data;

  return vd_history_row_new (item, vd_store_get_time_zone (self->store));
}

static void
pet_row_activated_cb (VdClientDetail *self,
                      GtkListBoxRow  *row)
{
  g_signal_emit (self, signals[PET_ACTIVATED], 0, gtk_widget_get_name (GTK_WIDGET (row)));
}

static void
bind_lists (VdClientDetail *self)
{
  gtk_list_box_bind_model (self->pets_list, NULL, NULL, NULL, NULL);
  gtk_list_box_bind_model (self->history_list, NULL, NULL, NULL, NULL);
  g_clear_object (&self->pets);
  g_clear_object (&self->history);
  if (self->store == NULL || self->client_id[0] == '\0')
    return;

  self->pets = vd_pet_list_new (self->store, self->client_id);
  gtk_list_box_bind_model (self->pets_list, G_LIST_MODEL (self->pets), create_pet_row, self, NULL);
  self->history = vd_appointment_list_new_history (self->store, self->client_id, NULL);
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
fill (gpointer  page,
      VdRecord *record)
{
  VdClientDetail *self = page;

  set_text (self->first_name_row, record ? vd_record_get_text (record, "first_name") : NULL);
  set_text (self->last_name_row, record ? vd_record_get_text (record, "last_name") : NULL);
  set_text (self->email_row, record ? vd_record_get_text (record, "email") : NULL);
  set_text (self->phone_row, record ? vd_record_get_text (record, "phone") : NULL);
  set_text (self->address_row, record ? vd_record_get_text (record, "address") : NULL);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->notes_view),
                            record ? vd_record_get_text (record, "notes") : "", -1);
  update_title (self);
}

static void
collect (gpointer      page,
         VdFormChange *form)
{
  VdClientDetail *self = page;
  g_autofree char *notes = vd_text_view_dup_text (self->notes_view);

  vd_form_change_text (form, "first_name", gtk_editable_get_text (GTK_EDITABLE (self->first_name_row)),
                       GTK_WIDGET (self->first_name_row));
  vd_form_change_text (form, "last_name", gtk_editable_get_text (GTK_EDITABLE (self->last_name_row)),
                       GTK_WIDGET (self->last_name_row));
  vd_form_change_text (form, "email", gtk_editable_get_text (GTK_EDITABLE (self->email_row)),
                       GTK_WIDGET (self->email_row));
  vd_form_change_text (form, "phone", gtk_editable_get_text (GTK_EDITABLE (self->phone_row)),
                       GTK_WIDGET (self->phone_row));
  vd_form_change_text (form, "address", gtk_editable_get_text (GTK_EDITABLE (self->address_row)),
                       GTK_WIDGET (self->address_row));
  vd_form_change_text (form, "notes", notes, NULL);
}

gboolean
vd_client_detail_load (VdClientDetail *self,
                       const char     *client_id)
{
  g_return_val_if_fail (VD_IS_CLIENT_DETAIL (self), FALSE);
  g_return_val_if_fail (self->store != NULL, FALSE);

  if (!vd_record_form_load (self->form, client_id))
    return FALSE;
  clear_marks (self);
  self->duplicates_accepted = FALSE;
  g_strlcpy (self->client_id, vd_record_form_get_id (self->form), sizeof self->client_id);
  update_title (self);
  bind_lists (self);
  if (client_id == NULL)
    gtk_widget_grab_focus (GTK_WIDGET (self->first_name_row));
  return TRUE;
}

/* ---- save ---- */

static void
duplicate_response_cb (AdwMessageDialog *dialog,
                       const char       *response,
                       VdClientDetail   *self)
{
  g_autofree char *id = g_strdup (self->duplicate_id);

  self->duplicate_dialog = NULL;
  if (g_strcmp0 (response, "add") == 0)
    {
      self->duplicates_accepted = TRUE;
      vd_client_detail_save (self);
    }
  else if (g_strcmp0 (response, "use") == 0)
    {
      /* The new form is dropped: the existing client is shown in its place, selected in
       * the list when the window is there to do it. */
      vd_client_detail_load (self, id);
      gtk_widget_activate_action (GTK_WIDGET (self), "win.show-client", "s", id);
    }
}

static const char *
duplicate_reason (VdDuplicateReason reasons)
{
  if (reasons & VD_DUPLICATE_NAME)
    return (reasons & (VD_DUPLICATE_PHONE | VD_DUPLICATE_EMAIL)) ? _("same name and contact")
                                                                 : _("same name");
  if ((reasons & VD_DUPLICATE_PHONE) && (reasons & VD_DUPLICATE_EMAIL))
    return _("same phone and email");
  return (reasons & VD_DUPLICATE_PHONE) ? _("same phone") : _("same email");
}

/* Before a new client is saved: the clients already here that look like them, asked
 * about (use that one, add anyway, keep editing). TRUE when the dialog is shown. */
static gboolean
ask_about_duplicates (VdClientDetail *self)
{
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) body = g_string_new (NULL);
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog;

  if (self->client_id[0] != '\0' || self->duplicates_accepted || self->duplicate_dialog != NULL)
    return self->duplicate_dialog != NULL;
  found = vd_search_find_duplicates (vd_store_get_db (self->store), vd_store_get_tenant_id (self->store),
                                     gtk_editable_get_text (GTK_EDITABLE (self->first_name_row)),
                                     gtk_editable_get_text (GTK_EDITABLE (self->last_name_row)),
                                     gtk_editable_get_text (GTK_EDITABLE (self->email_row)),
                                     gtk_editable_get_text (GTK_EDITABLE (self->phone_row)),
                                     &error);
  if (found == NULL)
    {
      /* The look-up is a courtesy: saving goes on without it. */
      g_warning ("%s", error->message);
      return FALSE;
    }
  if (found->len == 0)
    return FALSE;

  g_string_append (body, g_dngettext (GETTEXT_PACKAGE,
                                      "This client may already be here:",
                                      "These clients may already be here:", found->len));
  for (guint i = 0; i < MIN (found->len, 5); i++)
    {
      VdDuplicate *d = g_ptr_array_index (found, i);

      g_string_append_printf (body, "\n• %s (%s)", d->title, duplicate_reason (d->reasons));
      if (d->phone != NULL && d->phone[0] != '\0')
        g_string_append_printf (body, " · %s", d->phone);
      if (d->email != NULL && d->email[0] != '\0')
        g_string_append_printf (body, " · %s", d->email);
    }
  if (found->len > 1)
    g_string_append_printf (body, "\n\n%s", _("“Use This Client” opens the first one."));
  g_strlcpy (self->duplicate_id, ((VdDuplicate *) g_ptr_array_index (found, 0))->id,
             sizeof self->duplicate_id);

  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("Already a Client?"), body->str);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Keep Editing"),
                                    "add", _("_Add Anyway"),
                                    "use", _("_Use This Client"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "use",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "use");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (duplicate_response_cb), self, 0);
  self->duplicate_dialog = ADW_MESSAGE_DIALOG (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  return TRUE;
}

gboolean
vd_client_detail_save (VdClientDetail *self)
{
  VdFormChange form;
  g_autoptr(GError) error = NULL;
  gboolean is_new;
  gboolean ok;

  g_return_val_if_fail (VD_IS_CLIENT_DETAIL (self), FALSE);
  g_return_val_if_fail (self->store != NULL, FALSE);

  is_new = self->client_id[0] == '\0';
  vd_record_form_collect (self->form, &form);

  if (form.first_error != NULL)
    {
      show_error (self, form.first_error);
      if (form.first_error_widget != NULL)
        gtk_widget_grab_focus (form.first_error_widget);
      vd_form_change_clear (&form);
      return FALSE;
    }

  /* A new client who may already be here is asked about first; the answer saves or not. */
  if (is_new && ask_about_duplicates (self))
    {
      vd_form_change_clear (&form);
      return FALSE;
    }

  /* Only what the person changed; the store checks again (a new row needs its required
   * fields) and has the last word. */
  ok = vd_record_form_commit (self->form, &form, NULL, &error);
  if (!ok)
    show_error (self, error->message);
  else
    {
      show_error (self, NULL);
      g_strlcpy (self->client_id, form.change->id, sizeof self->client_id);
      update_title (self);
      if (is_new)
        bind_lists (self);
      g_signal_emit (self, signals[SAVED], 0, self->client_id);
    }
  vd_form_change_clear (&form);
  return ok;
}

static gboolean
save_page (gpointer page)
{
  return vd_client_detail_save (page);
}

static void
save_cb (GtkWidget  *widget,
         const char *action_name,
         GVariant   *param)
{
  vd_client_detail_save (VD_CLIENT_DETAIL (widget));
}

/* ---- delete ---- */

static gboolean
mark_deleted (VdStore     *store,
              const char  *table,
              const char  *id,
              GError     **error)
{
  g_autoptr(VdChange) change = vd_store_new_change (store, table, id);
  VdValue value = { VD_VALUE_NULL };

  vd_value_set_bool (&value, TRUE);
  vd_change_take_cell (change, vd_table_deleted_column (change->table), &value);
  return vd_store_commit (store, change, error);
}

static void
delete_response_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    VdClientDetail   *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = g_strdup (self->client_id);
  guint n;

  self->delete_dialog = NULL;
  if (g_strcmp0 (response, "delete") != 0 || self->pets == NULL)
    return;

  /* The pets first: a pet never points at a client that is gone while it is not. */
  vd_store_list_refresh (G_LIST_MODEL (self->pets));
  n = g_list_model_get_n_items (G_LIST_MODEL (self->pets));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(VdPetItem) pet = g_list_model_get_item (G_LIST_MODEL (self->pets), i);

      if (!mark_deleted (self->store, "pets", vd_pet_item_get_id (pet), &error))
        {
          show_error (self, error->message);
          return;
        }
    }
  if (!mark_deleted (self->store, "clients", id, &error))
    {
      show_error (self, error->message);
      return;
    }
  g_signal_emit (self, signals[DELETED], 0, id);
}

static guint
count_upcoming (VdClientDetail *self)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint n, upcoming = 0;

  vd_store_list_refresh (G_LIST_MODEL (self->history));
  n = g_list_model_get_n_items (G_LIST_MODEL (self->history));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(VdAppointmentItem) item = g_list_model_get_item (G_LIST_MODEL (self->history), i);
      const char *status = vd_appointment_item_get_status (item);

      /* Newest first: the rest are in the past. */
      if (vd_appointment_item_get_starts_at (item) <= now)
        break;
      if (vd_rules_status_is_active (status) && g_strcmp0 (status, "completed") != 0)
        upcoming++;
    }
  return upcoming;
}

static void
delete_cb (GtkWidget  *widget,
           const char *action_name,
           GVariant   *param)
{
  VdClientDetail *self = VD_CLIENT_DETAIL (widget);
  g_autofree char *name = NULL;
  g_autofree char *body = NULL;
  GtkWidget *dialog;
  GtkRoot *root = gtk_widget_get_root (widget);
  guint pets, upcoming;

  if (self->client_id[0] == '\0' || self->delete_dialog != NULL)
    return;

  name = vd_client_display_name (gtk_editable_get_text (GTK_EDITABLE (self->first_name_row)),
                                 gtk_editable_get_text (GTK_EDITABLE (self->last_name_row)));
  vd_store_list_refresh (G_LIST_MODEL (self->pets));
  pets = g_list_model_get_n_items (G_LIST_MODEL (self->pets));
  upcoming = count_upcoming (self);

  if (upcoming > 0)
    body = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "“%s” has %u upcoming appointment. Cancel it first, then delete the client.",
                                         "“%s” has %u upcoming appointments. Cancel them first, then delete the client.",
                                         upcoming),
                            name, upcoming);
  else if (pets > 0)
    body = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "“%s” and their pet will no longer appear in lists and searches. Past appointments stay in the history.",
                                         "“%s” and their %u pets will no longer appear in lists and searches. Past appointments stay in the history.",
                                         pets),
                            name, pets);
  else
    body = g_strdup_printf (_("“%s” will no longer appear in lists and searches. Past appointments stay in the history."),
                            name);

  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("Delete Client?"), body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Keep"),
                                    "delete", _("_Delete"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (dialog), "delete", upcoming == 0);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (delete_response_cb), self, 0);
  self->delete_dialog = ADW_MESSAGE_DIALOG (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
add_pet_cb (GtkWidget  *widget,
            const char *action_name,
            GVariant   *param)
{
  VdClientDetail *self = VD_CLIENT_DETAIL (widget);

  if (self->client_id[0] != '\0')
    g_signal_emit (self, signals[ADD_PET], 0, self->client_id);
}

/* ---- public ---- */

VdClientDetail *
vd_client_detail_new (void)
{
  return g_object_new (VD_TYPE_CLIENT_DETAIL, NULL);
}

void
vd_client_detail_set_store (VdClientDetail *self,
                            VdStore        *store)
{
  g_return_if_fail (VD_IS_CLIENT_DETAIL (self));

  if (!g_set_object (&self->store, store))
    return;
  vd_record_form_set_store (self->form, store);
  self->client_id[0] = '\0';
  bind_lists (self);
}

VdRecordForm *
vd_client_detail_get_form (VdClientDetail *self)
{
  g_return_val_if_fail (VD_IS_CLIENT_DETAIL (self), NULL);

  return self->form;
}

const char *
vd_client_detail_get_client_id (VdClientDetail *self)
{
  g_return_val_if_fail (VD_IS_CLIENT_DETAIL (self), NULL);

  return self->client_id;
}

const char *
vd_client_detail_get_error (VdClientDetail *self)
{
  g_return_val_if_fail (VD_IS_CLIENT_DETAIL (self), NULL);

  if (!gtk_revealer_get_reveal_child (self->error_revealer))
    return NULL;
  return gtk_label_get_text (self->error_label);
}

AdwMessageDialog *
vd_client_detail_get_delete_dialog (VdClientDetail *self)
{
  g_return_val_if_fail (VD_IS_CLIENT_DETAIL (self), NULL);

  return self->delete_dialog;
}

AdwMessageDialog *
vd_client_detail_get_duplicate_dialog (VdClientDetail *self)
{
  g_return_val_if_fail (VD_IS_CLIENT_DETAIL (self), NULL);

  return self->duplicate_dialog;
}

/* ---- GObject ---- */

static void
vd_client_detail_dispose (GObject *object)
{
  VdClientDetail *self = VD_CLIENT_DETAIL (object);

  if (self->delete_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->delete_dialog));
  if (self->duplicate_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->duplicate_dialog));
  g_clear_pointer (&self->form, vd_record_form_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), VD_TYPE_CLIENT_DETAIL);
  g_clear_object (&self->pets);
  g_clear_object (&self->history);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (vd_client_detail_parent_class)->dispose (object);
}

static void
vd_client_detail_class_init (VdClientDetailClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vd_client_detail_dispose;

  signals[SAVED] = g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                 NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[DELETED] = g_signal_new ("deleted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[PET_ACTIVATED] = g_signal_new ("pet-activated", G_TYPE_FROM_CLASS (klass),
                                         G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                         G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[ADD_PET] = g_signal_new ("add-pet", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/vetdesk/VetDesk/vd-client-detail.ui");
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, title_label);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, delete_button);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, save_button);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, error_label);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, first_name_row);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, last_name_row);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, email_row);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, phone_row);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, address_row);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, notes_view);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, pets_group);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, pets_list);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, history_group);
  gtk_widget_class_bind_template_child (widget_class, VdClientDetail, history_list);
  gtk_widget_class_bind_template_callback (widget_class, pet_row_activated_cb);

  gtk_widget_class_install_action (widget_class, "client.save", NULL, save_cb);
  gtk_widget_class_install_action (widget_class, "client.delete", NULL, delete_cb);
  gtk_widget_class_install_action (widget_class, "client.add-pet", NULL, add_pet_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "client.save", NULL);
}

static void
vd_client_detail_init (VdClientDetail *self)
{
  static const VdRecordFormFuncs funcs = { fill, collect, save_page };

  gtk_widget_init_template (GTK_WIDGET (self));
  self->form = vd_record_form_new (GTK_WIDGET (self), "clients", &funcs,
                                   GTK_WIDGET (self->error_revealer));
  gtk_list_box_set_placeholder (self->pets_list, vd_placeholder_new (_("No pets yet. Add one with “Add Pet”.")));
  gtk_list_box_set_placeholder (self->history_list, vd_placeholder_new (_("No appointments yet.")));
  update_title (self);
}
