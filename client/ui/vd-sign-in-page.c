/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-sign-in-page.c — drives the sign-in conversation: probe the server (and ask the
 * person to confirm an unvouched certificate by its fingerprint), log in, pick a clinic.
 * Network work is async so the window never freezes; errors are shown as sentences. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "vd-sign-in-page.h"
#include "vd-id.h"

typedef enum
{
  STEP_FORM,       /* filling in the form */
  STEP_PROBING,
  STEP_LOGGING_IN,
  STEP_CHOOSING,   /* logged in, several clinics */
} Step;

struct _VdSignInPage
{
  GtkWidget        parent_instance;

  GtkImage        *logo;
  AdwEntryRow     *server_row;
  GtkWidget       *trust_group;
  GtkLabel        *fingerprint_label;
  GtkSwitch       *trust_switch;
  GtkWidget       *account_group;
  AdwEntryRow     *username_row;
  AdwEntryRow     *password_row;
  GtkWidget       *clinic_group;
  GtkListBox      *clinic_list;
  GtkLabel        *error_label;
  GtkWidget       *sign_in_button;
  GtkLabel        *sign_in_label;
  GtkSpinner      *spinner;
  GtkWidget       *cancel_button;

  Step             step;
  GCancellable    *cancellable;
  char            *device_id;
  gboolean         device_id_new;  /* made by the page, no replica has it yet */
  /* The last probe: which address, its fingerprint, whether a CA vouched for it. */
  char            *probed_url;
  char            *fingerprint;
  gboolean         trusted_by_ca;
  VdLoginResult   *result;
  VdSignInDeviceFunc device_func;
  gpointer         device_func_data;
  /* The clinic chosen before a second login with that clinic's device id. */
  char            *chosen_tenant_id;
  GPtrArray       *clinic_buttons;   /* GtkCheckButton per clinic, parallel to result->clinics */
};

G_DEFINE_FINAL_TYPE (VdSignInPage, vd_sign_in_page, GTK_TYPE_WIDGET)

enum
{
  SIGNED_IN,
  CANCELLED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
show_error (VdSignInPage *self,
            const char   *message)
{
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
set_step (VdSignInPage *self,
          Step          step)
{
  gboolean busy = step == STEP_PROBING || step == STEP_LOGGING_IN;

  self->step = step;
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->server_row), step == STEP_FORM);
  gtk_widget_set_sensitive (self->trust_group, step == STEP_FORM);
  gtk_widget_set_sensitive (self->account_group, step == STEP_FORM);
  gtk_widget_set_visible (self->clinic_group, step == STEP_CHOOSING);
  gtk_widget_set_sensitive (self->sign_in_button, !busy);

  switch (step)
    {
    case STEP_PROBING:
      gtk_label_set_text (self->sign_in_label, _("Contacting the Server…"));
      break;
    case STEP_LOGGING_IN:
      gtk_label_set_text (self->sign_in_label, _("Signing In…"));
      break;
    case STEP_CHOOSING:
      gtk_label_set_text (self->sign_in_label, _("Continue"));
      break;
    case STEP_FORM:
    default:
      gtk_label_set_text (self->sign_in_label, _("Sign In"));
      break;
    }
}

/* "clinic.example.org:8443" is what people type; the protocol is HTTPS only. */
static char *
normalize_server_url (const char *text)
{
  g_autofree char *stripped = g_strstrip (g_strdup (text));
  gsize len;

  if (*stripped == '\0')
    return NULL;
  if (strstr (stripped, "://") == NULL)
    {
      char *with_scheme = g_strconcat ("https://", stripped, NULL);
      g_free (stripped);
      stripped = with_scheme;
    }
  len = strlen (stripped);
  while (len > 0 && stripped[len - 1] == '/')
    stripped[--len] = '\0';

  if (!g_uri_is_valid (stripped, G_URI_FLAGS_NONE, NULL))
    return NULL;

  return g_steal_pointer (&stripped);
}

static void start_login (VdSignInPage *self);

static void
emit_signed_in (VdSignInPage *self,
                guint         clinic_index)
{
  VdClinicInfo *clinic = g_ptr_array_index (self->result->clinics, clinic_index);
  g_autoptr(VdLoginResult) result = NULL;
  g_autofree char *device_id = NULL;

  if (self->device_func != NULL && self->chosen_tenant_id == NULL)
    device_id = self->device_func (self, clinic, self->device_func_data);
  if (device_id != NULL && g_strcmp0 (device_id, self->device_id) != 0)
    {
      g_free (self->device_id);
      self->device_id = g_steal_pointer (&device_id);
      self->device_id_new = FALSE;
      self->chosen_tenant_id = g_strdup (clinic->tenant_id);
      g_clear_pointer (&self->result, vd_login_result_free);
      start_login (self);
      return;
    }

  /* Keep the result alive through handlers that may reset the page. */
  result = g_steal_pointer (&self->result);
  /* The id is now a replica's: a later sign-in starts from a new one (a replica made
   * again after its file was erased must not reuse an id whose batches the server has);
   * the window sets a kept replica's id before showing the page again. */
  g_free (self->device_id);
  self->device_id = vd_uuid_new ();
  self->device_id_new = TRUE;
  g_clear_pointer (&self->chosen_tenant_id, g_free);
  g_clear_pointer (&self->clinic_buttons, g_ptr_array_unref);
  set_step (self, STEP_FORM);
  gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
  g_signal_emit (self, signals[SIGNED_IN], 0, result, clinic);
}

static void
fill_clinic_list (VdSignInPage *self)
{
  GtkWidget *child;
  GtkCheckButton *group = NULL;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->clinic_list))) != NULL)
    gtk_list_box_remove (self->clinic_list, child);

  g_clear_pointer (&self->clinic_buttons, g_ptr_array_unref);
  self->clinic_buttons = g_ptr_array_new ();

  for (guint i = 0; i < self->result->clinics->len; i++)
    {
      VdClinicInfo *clinic = g_ptr_array_index (self->result->clinics, i);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *check = gtk_check_button_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), clinic->name);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), clinic->timezone);
      gtk_check_button_set_group (GTK_CHECK_BUTTON (check), group);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), i == 0);
      gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
      gtk_list_box_append (self->clinic_list, row);
      g_ptr_array_add (self->clinic_buttons, check);
      if (group == NULL)
        group = GTK_CHECK_BUTTON (check);
    }
}

static void
login_cb (GObject      *source,
          GAsyncResult *res,
          gpointer      user_data)
{
  g_autoptr(VdSignInPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(VdLoginResult) result = NULL;

  result = vd_session_login_finish (res, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  set_step (self, STEP_FORM);
  if (result == NULL)
    {
      g_clear_pointer (&self->chosen_tenant_id, g_free);
      /* A changed certificate means the next attempt must probe and ask again. */
      if (g_error_matches (error, VD_SESSION_ERROR, VD_SESSION_ERROR_CERT_CHANGED) ||
          g_error_matches (error, VD_SESSION_ERROR, VD_SESSION_ERROR_UNTRUSTED_CERT))
        g_clear_pointer (&self->probed_url, g_free);
      if (g_error_matches (error, VD_SESSION_ERROR, VD_SESSION_ERROR_BAD_CREDENTIALS))
        gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
      show_error (self, error->message);
      return;
    }

  /* A device id new to the server came with its secret: kept beside the refresh token,
   * for everyone who signs in at this computer. Not kept, the next sign-in with this id
   * would be refused, so this one stops here and the next try takes a new id. */
  if (!vd_login_result_keep_device_secret (result, &error))
    {
      g_clear_pointer (&self->chosen_tenant_id, g_free);
      if (self->device_id_new)
        {
          g_free (self->device_id);
          self->device_id = vd_uuid_new ();
        }
      show_error (self, error->message);
      return;
    }

  if (result->clinics == NULL || result->clinics->len == 0)
    {
      /* Company and platform administrators work at no clinic: they watch the clinics'
       * sync instead, announced with no clinic. */
      if (result->platform_role != NULL && g_strcmp0 (result->platform_role, "none") != 0)
        {
          g_clear_pointer (&self->chosen_tenant_id, g_free);
          gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
          g_signal_emit (self, signals[SIGNED_IN], 0, result, NULL);
          return;
        }
      show_error (self, _("This account does not work at any clinic. Ask your clinic administrator to add you, or use an account of the clinic."));
      return;
    }

  self->result = g_steal_pointer (&result);

  /* The second login, with the chosen clinic's device id: no second choice. */
  if (self->chosen_tenant_id != NULL)
    {
      for (guint i = 0; i < self->result->clinics->len; i++)
        if (g_strcmp0 (((VdClinicInfo *) g_ptr_array_index (self->result->clinics, i))->tenant_id,
                       self->chosen_tenant_id) == 0)
          {
            emit_signed_in (self, i);
            return;
          }
      g_clear_pointer (&self->chosen_tenant_id, g_free);
      g_clear_pointer (&self->result, vd_login_result_free);
      show_error (self, _("The clinic you chose is no longer available to this account."));
      return;
    }

  if (self->result->clinics->len == 1)
    {
      emit_signed_in (self, 0);
      return;
    }

  fill_clinic_list (self);
  set_step (self, STEP_CHOOSING);
}

static void
start_login (VdSignInPage *self)
{
  g_autofree char *username = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->username_row))));
  const char *password = gtk_editable_get_text (GTK_EDITABLE (self->password_row));
  g_autofree char *secret = NULL;
  g_autoptr(GError) error = NULL;

  if (!self->trusted_by_ca && !gtk_switch_get_active (self->trust_switch))
    {
      show_error (self, _("Compare the fingerprint with the one you were given, then switch on “Trust this server” to go on."));
      return;
    }

  set_step (self, STEP_LOGGING_IN);
  /* The device secret this computer was given for the device id, if any (§6). A
   * keyring that cannot be read leaves it out: a device id the server knows is then
   * refused with a sentence that says so. */
  secret = vd_device_secret_lookup (self->probed_url, self->device_id, &error);
  if (error != NULL)
    g_warning ("%s", error->message);
  vd_session_login_async (self->probed_url,
                          self->trusted_by_ca ? NULL : self->fingerprint,
                          username, password,
                          self->device_id, secret, g_get_host_name (),
                          self->cancellable, login_cb, g_object_ref (self));
  if (secret != NULL)
    memset (secret, 0, strlen (secret));
}

static void
probe_cb (GObject      *source,
          GAsyncResult *res,
          gpointer      user_data)
{
  g_autoptr(VdSignInPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *fingerprint = NULL;
  gboolean trusted = FALSE;

  fingerprint = vd_session_probe_finish (res, &trusted, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  set_step (self, STEP_FORM);
  if (fingerprint == NULL && !trusted)
    {
      g_clear_pointer (&self->probed_url, g_free);
      show_error (self, error ? error->message : _("The server could not be reached. Check the address and the network, then try again."));
      return;
    }

  g_free (self->fingerprint);
  self->fingerprint = g_steal_pointer (&fingerprint);
  self->trusted_by_ca = trusted;

  if (!trusted)
    {
      gtk_label_set_text (self->fingerprint_label, self->fingerprint);
      gtk_switch_set_active (self->trust_switch, FALSE);
      gtk_widget_set_visible (self->trust_group, TRUE);
      show_error (self, NULL);
      gtk_widget_grab_focus (GTK_WIDGET (self->trust_switch));
      return;
    }

  gtk_widget_set_visible (self->trust_group, FALSE);
  start_login (self);
}

static void
sign_in_clicked_cb (VdSignInPage *self)
{
  g_autofree char *url = NULL;
  g_autofree char *username = NULL;

  if (self->step == STEP_CHOOSING)
    {
      for (guint i = 0; self->clinic_buttons != NULL && i < self->clinic_buttons->len; i++)
        if (gtk_check_button_get_active (g_ptr_array_index (self->clinic_buttons, i)))
          {
            emit_signed_in (self, i);
            return;
          }
      show_error (self, _("Choose the clinic this computer serves."));
      return;
    }

  if (self->step != STEP_FORM)
    return;

  url = normalize_server_url (gtk_editable_get_text (GTK_EDITABLE (self->server_row)));
  username = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->username_row))));

  if (url == NULL)
    {
      show_error (self, _("Enter the server address, for example https://clinic.example.org:8443."));
      gtk_widget_grab_focus (GTK_WIDGET (self->server_row));
      return;
    }
  if (!g_str_has_prefix (url, "https://"))
    {
      show_error (self, _("The server address must start with https://: VetDesk only talks to servers over an encrypted connection."));
      gtk_widget_grab_focus (GTK_WIDGET (self->server_row));
      return;
    }
  if (*username == '\0')
    {
      show_error (self, _("Enter your username."));
      gtk_widget_grab_focus (GTK_WIDGET (self->username_row));
      return;
    }
  if (*gtk_editable_get_text (GTK_EDITABLE (self->password_row)) == '\0')
    {
      show_error (self, _("Enter your password."));
      gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
      return;
    }

  show_error (self, NULL);

  if (g_strcmp0 (url, self->probed_url) == 0)
    {
      start_login (self);
      return;
    }

  g_free (self->probed_url);
  self->probed_url = g_steal_pointer (&url);
  set_step (self, STEP_PROBING);
  vd_session_probe_async (self->probed_url, self->cancellable, probe_cb, g_object_ref (self));
}

static void
entry_activated_cb (VdSignInPage *self)
{
  sign_in_clicked_cb (self);
}

static void
server_changed_cb (VdSignInPage *self)
{
  /* A different address is a different server: its certificate must be confirmed anew. */
  g_clear_pointer (&self->probed_url, g_free);
  g_clear_pointer (&self->fingerprint, g_free);
  self->trusted_by_ca = FALSE;
  gtk_widget_set_visible (self->trust_group, FALSE);
  gtk_switch_set_active (self->trust_switch, FALSE);
}

static void
cancel_clicked_cb (VdSignInPage *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  vd_sign_in_page_reset (self);
  g_signal_emit (self, signals[CANCELLED], 0);
}

GtkWidget *
vd_sign_in_page_new (void)
{
  return g_object_new (VD_TYPE_SIGN_IN_PAGE, NULL);
}

void
vd_sign_in_page_set_server_url (VdSignInPage *self,
                                const char   *server_url)
{
  g_return_if_fail (VD_IS_SIGN_IN_PAGE (self));

  gtk_editable_set_text (GTK_EDITABLE (self->server_row), server_url ? server_url : "");
}

char *
vd_sign_in_page_dup_server_url (VdSignInPage *self)
{
  g_return_val_if_fail (VD_IS_SIGN_IN_PAGE (self), NULL);

  if (self->probed_url != NULL)
    return g_strdup (self->probed_url);
  return normalize_server_url (gtk_editable_get_text (GTK_EDITABLE (self->server_row)));
}

void
vd_sign_in_page_set_username (VdSignInPage *self,
                              const char   *username)
{
  g_return_if_fail (VD_IS_SIGN_IN_PAGE (self));

  gtk_editable_set_text (GTK_EDITABLE (self->username_row), username ? username : "");
}

void
vd_sign_in_page_set_device_id (VdSignInPage *self,
                               const char   *device_id)
{
  g_return_if_fail (VD_IS_SIGN_IN_PAGE (self));
  g_return_if_fail (device_id != NULL);

  g_free (self->device_id);
  self->device_id = g_strdup (device_id);
  self->device_id_new = FALSE;
}

const char *
vd_sign_in_page_get_new_device_id (VdSignInPage *self)
{
  g_return_val_if_fail (VD_IS_SIGN_IN_PAGE (self), NULL);

  return self->device_id_new ? self->device_id : NULL;
}

void
vd_sign_in_page_set_device_func (VdSignInPage      *self,
                                 VdSignInDeviceFunc func,
                                 gpointer           user_data)
{
  g_return_if_fail (VD_IS_SIGN_IN_PAGE (self));

  self->device_func = func;
  self->device_func_data = user_data;
}

void
vd_sign_in_page_set_can_cancel (VdSignInPage *self,
                                gboolean      can_cancel)
{
  g_return_if_fail (VD_IS_SIGN_IN_PAGE (self));

  gtk_widget_set_visible (self->cancel_button, can_cancel);
}

void
vd_sign_in_page_reset (VdSignInPage *self)
{
  g_return_if_fail (VD_IS_SIGN_IN_PAGE (self));

  g_clear_pointer (&self->result, vd_login_result_free);
  g_clear_pointer (&self->chosen_tenant_id, g_free);
  g_clear_pointer (&self->clinic_buttons, g_ptr_array_unref);
  gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
  show_error (self, NULL);
  set_step (self, STEP_FORM);
}

void
vd_sign_in_page_focus_first_empty (VdSignInPage *self)
{
  g_return_if_fail (VD_IS_SIGN_IN_PAGE (self));

  if (*gtk_editable_get_text (GTK_EDITABLE (self->server_row)) == '\0')
    gtk_widget_grab_focus (GTK_WIDGET (self->server_row));
  else if (*gtk_editable_get_text (GTK_EDITABLE (self->username_row)) == '\0')
    gtk_widget_grab_focus (GTK_WIDGET (self->username_row));
  else
    gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
}

const char *
vd_sign_in_page_get_error (VdSignInPage *self)
{
  g_return_val_if_fail (VD_IS_SIGN_IN_PAGE (self), NULL);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->error_label)))
    return NULL;
  return gtk_label_get_text (self->error_label);
}

gboolean
vd_sign_in_page_get_busy (VdSignInPage *self)
{
  g_return_val_if_fail (VD_IS_SIGN_IN_PAGE (self), FALSE);

  return self->step == STEP_PROBING || self->step == STEP_LOGGING_IN;
}

static void
vd_sign_in_page_dispose (GObject *object)
{
  VdSignInPage *self = VD_SIGN_IN_PAGE (object);

  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), VD_TYPE_SIGN_IN_PAGE);
  /* The template's root is not bound to a field, so it is still our child. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (vd_sign_in_page_parent_class)->dispose (object);
}

static void
vd_sign_in_page_finalize (GObject *object)
{
  VdSignInPage *self = VD_SIGN_IN_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->device_id, g_free);
  g_clear_pointer (&self->probed_url, g_free);
  g_clear_pointer (&self->fingerprint, g_free);
  g_clear_pointer (&self->result, vd_login_result_free);
  g_clear_pointer (&self->chosen_tenant_id, g_free);
  g_clear_pointer (&self->clinic_buttons, g_ptr_array_unref);

  G_OBJECT_CLASS (vd_sign_in_page_parent_class)->finalize (object);
}

static void
vd_sign_in_page_class_init (VdSignInPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vd_sign_in_page_dispose;
  object_class->finalize = vd_sign_in_page_finalize;

  signals[SIGNED_IN] =
    g_signal_new ("signed-in", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_POINTER);
  signals[CANCELLED] =
    g_signal_new ("cancelled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/vetdesk/VetDesk/vd-sign-in-page.ui");
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, logo);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, server_row);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, trust_group);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, fingerprint_label);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, trust_switch);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, account_group);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, username_row);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, password_row);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, clinic_group);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, clinic_list);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, sign_in_button);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, sign_in_label);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, VdSignInPage, cancel_button);
  gtk_widget_class_bind_template_callback (widget_class, sign_in_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, entry_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, server_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, cancel_clicked_cb);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "signinpage");
}

static void
vd_sign_in_page_init (VdSignInPage *self)
{
  GtkIconTheme *theme;

  gtk_widget_init_template (GTK_WIDGET (self));

  /* Running from the build tree the app icon is not installed yet. */
  theme = gtk_icon_theme_get_for_display (gtk_widget_get_display (GTK_WIDGET (self)));
  if (!gtk_icon_theme_has_icon (theme, APP_ID))
    gtk_image_set_from_icon_name (self->logo, "x-office-calendar-symbolic");

  self->cancellable = g_cancellable_new ();
  self->device_id = vd_uuid_new ();
  self->device_id_new = TRUE;
  set_step (self, STEP_FORM);
}
