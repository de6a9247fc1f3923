/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-lost-edits.c — edits are never lost, in a real window under Xvfb against a real
 * vetdesk-syncd with the demo clinics, with a second desk (a store and sync engine of its
 * own, signed in as the clinic's front desk) changing the same rows: an open client, pet,
 * staff or appointment form follows the other desk's change; one being edited shows what
 * changed underneath with "Keep Mine" / "Take Theirs"; a Save with no change pushes
 * nothing; leaving a record, switching sections, closing the editor or the window with
 * unsaved edits asks Save / Discard / Cancel. Screenshots go to tests/artifacts/. */
#define G_LOG_DOMAIN "test-lost-edits"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "vd-test-ui.h"
#include "vd-record-form.h"
#include "vd-store-models.h"
#include "vd-session.h"
#include "vd-id.h"

#define ADMIN_USER      "admin.centro"
#define FRONT_DESK_USER "recepcion.centro"

#define T(s) g_dgettext (GETTEXT_PACKAGE, s)

/* ---- the other desk ---- */

typedef struct
{
  VdStore      *store;
  VdSyncEngine *engine;
  char         *dir;
} Other;

typedef struct
{
  gboolean      done;
  GAsyncResult *result;
} Wait;

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
  wait->done = TRUE;
}

static void
other_sync (Other *other)
{
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  vd_sync_engine_sync_async (other->engine, NULL, wait_cb, &wait);
  VD_TEST_UI_WAIT_UNTIL (wait.done, 60, "the other desk's sync");
  vd_sync_engine_sync_finish (other->engine, wait.result, &error);
  g_object_unref (wait.result);
  g_assert_no_error (error);
}

static Other *
other_new (VdTestDesk *desk)
{
  Other *other = g_new0 (Other, 1);
  g_autofree char *path = NULL;
  g_autoptr(VdLoginResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *tenant = vd_store_get_tenant_id (desk->store);
  Wait wait = { 0 };

  other->dir = g_dir_make_tmp ("vd-test-other-desk-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (other->dir, "other.db", NULL);
  other->store = vd_store_open (path, tenant, &error);
  g_assert_no_error (error);
  vd_session_login_async (vd_test_syncd_get_url (desk->syncd), vd_test_syncd_get_fingerprint (desk->syncd),
                          FRONT_DESK_USER, VD_TEST_DEMO_PASSWORD, vd_store_get_device_id (other->store),
                          NULL, "other desk", NULL, wait_cb, &wait);
  VD_TEST_UI_WAIT_UNTIL (wait.done, 30, "the other desk's sign-in");
  result = vd_session_login_finish (wait.result, &error);
  g_object_unref (wait.result);
  g_assert_no_error (error);
  for (guint i = 0; i < result->clinics->len; i++)
    {
      VdClinicInfo *clinic = g_ptr_array_index (result->clinics, i);

      if (g_strcmp0 (clinic->tenant_id, tenant) == 0)
        g_assert_true (vd_store_set_clinic_info (other->store, clinic, &error));
    }
  other->engine = vd_sync_engine_new (other->store, vd_test_syncd_get_url (desk->syncd),
                                      vd_test_syncd_get_fingerprint (desk->syncd));
  vd_sync_engine_set_tokens (other->engine, result->access_token, result->refresh_token);
  other_sync (other);
  return other;
}

static void
other_free (Other *other)
{
  g_autofree char *path = g_build_filename (other->dir, "other.db", NULL);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);

  vd_sync_engine_stop (other->engine);
  g_clear_object (&other->engine);
  g_clear_object (&other->store);
  g_remove (path);
  g_remove (wal);
  g_remove (shm);
  g_rmdir (other->dir);
  g_free (other->dir);
  g_free (other);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Other, other_free)

static void
take (VdChange   *change,
      const char *column,
      const char *text)
{
  VdValue value = { VD_VALUE_NULL };

  if (text != NULL)
    vd_value_set_text (&value, text);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

/* The other desk sets column (to text) on its own and syncs; this desk hears of it. */
static char *
other_commit (Other      *other,
              VdTestDesk *desk,
              const char *table,
              const char *id,
              ...)
{
  g_autoptr(VdChange) change = vd_store_new_change (other->store, table, id);
  g_autoptr(GError) error = NULL;
  const char *column;
  va_list ap;

  va_start (ap, id);
  while ((column = va_arg (ap, const char *)) != NULL)
    take (change, column, va_arg (ap, const char *));
  va_end (ap);
  g_assert_true (vd_store_commit (other->store, change, &error));
  g_assert_no_error (error);
  other_sync (other);
  vd_sync_engine_sync_now (desk->engine);
  return g_strdup (change->id);
}

static char *
row_text (VdStore    *store,
          const char *table,
          const char *id,
          const char *column)
{
  g_autoptr(VdRecord) record = vd_record_load (store, table, id);

  return record != NULL ? g_strdup (vd_record_get_text (record, column)) : NULL;
}

static gboolean
row_is (VdStore    *store,
        const char *table,
        const char *id,
        const char *column,
        const char *text)
{
  g_autofree char *now = row_text (store, table, id, column);

  return g_strcmp0 (now, text) == 0;
}

/* ---- widgets ---- */

static gboolean
match_entry_row (GtkWidget     *widget,
                 gconstpointer  data)
{
  return ADW_IS_ENTRY_ROW (widget) && vd_test_ui_match_row_title (widget, data);
}

static GtkEditable *
entry (GtkWidget  *root,
       const char *title)
{
  GtkWidget *found = vd_test_ui_find (root, match_entry_row, T (title));

  if (found == NULL)
    g_error ("No entry row “%s” in %s", title, G_OBJECT_TYPE_NAME (root));
  return GTK_EDITABLE (found);
}

static gboolean
shows (GtkWidget  *root,
       const char *title,
       const char *text)
{
  return g_strcmp0 (gtk_editable_get_text (entry (root, title)), text) == 0;
}

static void
type_into (GtkWidget  *root,
           const char *title,
           const char *text)
{
  gtk_editable_set_text (entry (root, title), text);
}

static gboolean
match_name (GtkWidget     *widget,
            gconstpointer  data)
{
  return g_strcmp0 (gtk_widget_get_name (widget), data) == 0;
}

static GtkWidget *
named (GtkWidget  *root,
       const char *name)
{
  GtkWidget *found = vd_test_ui_find (root, match_name, name);

  if (found == NULL)
    g_error ("No widget named “%s” in %s", name, G_OBJECT_TYPE_NAME (root));
  return found;
}

/* Whether the changed-underneath panel of the page is shown. */
static gboolean
panel_shown (GtkWidget *page)
{
  return gtk_revealer_get_reveal_child (GTK_REVEALER (named (page, "changed-underneath")));
}

static void
assert_conflicts (VdRecordForm *form,
                  const char   *columns)
{
  g_auto(GStrv) conflicts = vd_record_form_dup_conflicts (form);
  g_autofree char *joined = conflicts ? g_strjoinv (",", conflicts) : g_strdup ("");

  g_assert_cmpstr (joined, ==, columns);
}

/* A record opens with nothing selected, wherever the keyboard focus went. */
static void
assert_nothing_selected (GtkWidget *root)
{
  GtkWidget *focus;
  int start = 0, end = 0;

  vd_test_ui_settle (200);
  focus = gtk_root_get_focus (gtk_widget_get_root (root));
  g_test_message ("focus after opening: %s", focus ? G_OBJECT_TYPE_NAME (focus) : "none");
  if (focus != NULL && GTK_IS_EDITABLE (focus))
    g_assert_false (gtk_editable_get_selection_bounds (GTK_EDITABLE (focus), &start, &end));
}

static void
press_save (GtkWidget *root)
{
  vd_test_ui_click (vd_test_ui_find (root, vd_test_ui_match_button_class, "suggested-action"));
}

static AdwMessageDialog *
find_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  guint n = g_list_model_get_n_items (toplevels);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_visible (window))
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

/* The leave question is up: answers it (and screenshots it first when asked). */
static void
answer (const char *response,
        const char *screenshot)
{
  AdwMessageDialog *dialog = NULL;

  VD_TEST_UI_WAIT_UNTIL ((dialog = find_dialog ()) != NULL, 5, "the leave question");
  g_assert_true (adw_message_dialog_has_response (dialog, "save"));
  g_assert_true (adw_message_dialog_has_response (dialog, "discard"));
  g_assert_true (adw_message_dialog_has_response (dialog, "cancel"));
  if (screenshot != NULL)
    vd_test_ui_screenshot (GTK_WIDGET (dialog), screenshot);
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &dialog);
  adw_message_dialog_response (dialog, response);
  if (dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (dialog));
  VD_TEST_UI_WAIT_UNTIL (find_dialog () == NULL, 5, "the leave question to go");
}

static void
wait_pushed (VdTestDesk *desk)
{
  vd_sync_engine_sync_now (desk->engine);
  VD_TEST_UI_WAIT_UNTIL (vd_store_count_pending (desk->store) == 0, 30, "this desk's changes pushed");
}

/* ---- clients ---- */

static void
check_client (VdTestDesk *desk,
              Other      *other)
{
  VdWindow *window = desk->window;
  VdClientsPage *page = vd_window_get_clients_page (window);
  VdClientDetail *detail = vd_clients_page_get_client_detail (page);
  GtkWidget *form_widget = GTK_WIDGET (detail);
  VdRecordForm *form = vd_client_detail_get_form (detail);
  g_autofree char *client = NULL;
  g_autofree char *second = NULL;

  client = other_commit (other, desk, "clients", NULL, "first_name", "Begoña", "last_name", "Ibáñez",
                         "phone", "+34 600 000 000", "email", "bego@example.com", NULL);
  second = other_commit (other, desk, "clients", NULL, "first_name", "Vicente", "last_name", "Lost-Edits",
                         NULL);
  VD_TEST_UI_WAIT_UNTIL (row_is (desk->store, "clients", second, "first_name", "Vicente"), 20,
                         "the other desk's clients");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-section", "s", "clients"));
  vd_clients_page_open_client (page, client);
  g_assert_cmpstr (vd_client_detail_get_client_id (detail), ==, client);
  g_assert_true (shows (form_widget, "Phone", "+34 600 000 000"));
  g_assert_false (vd_record_form_is_dirty (form));
  assert_nothing_selected (form_widget);

  /* Nobody editing here: the form follows the other desk at once. */
  g_free (other_commit (other, desk, "clients", client, "phone", "+34 600 000 002", NULL));
  VD_TEST_UI_WAIT_UNTIL (shows (form_widget, "Phone", "+34 600 000 002"), 20, "the form to follow");
  g_assert_false (panel_shown (form_widget));
  g_assert_false (vd_record_form_is_dirty (form));
  vd_test_ui_screenshot (GTK_WIDGET (window), "lost-edits-client-followed");

  /* Save with no change of its own: nothing written, nothing pushed, …002 stays. */
  wait_pushed (desk);
  press_save (form_widget);
  g_assert_null (vd_client_detail_get_error (detail));
  g_assert_cmpuint (vd_store_count_pending (desk->store), ==, 0);
  g_assert_true (row_is (desk->store, "clients", client, "phone", "+34 600 000 002"));

  /* Edited here (phone) while the other desk changes phone and email: the email
   * follows, the phone is asked about; "Keep Mine" keeps and saves this desk's. */
  type_into (form_widget, "Phone", "+34 600 000 011");
  g_free (other_commit (other, desk, "clients", client, "phone", "+34 600 000 022",
                        "email", "ibanez@example.org", NULL));
  VD_TEST_UI_WAIT_UNTIL (shows (form_widget, "Email", "ibanez@example.org"), 20, "the email to follow");
  g_assert_true (shows (form_widget, "Phone", "+34 600 000 011"));
  g_assert_true (panel_shown (form_widget));
  assert_conflicts (form, "phone");
  vd_test_ui_settle (300);
  vd_test_ui_screenshot (GTK_WIDGET (window), "lost-edits-client-conflict");
  vd_test_ui_click (named (form_widget, "keep-mine:phone"));
  assert_conflicts (form, "");
  g_assert_true (shows (form_widget, "Phone", "+34 600 000 011"));
  g_assert_true (vd_record_form_is_dirty (form));
  press_save (form_widget);
  g_assert_true (row_is (desk->store, "clients", client, "phone", "+34 600 000 011"));
  g_assert_true (row_is (desk->store, "clients", client, "email", "ibanez@example.org"));
  wait_pushed (desk);
  other_sync (other);
  g_assert_true (row_is (other->store, "clients", client, "phone", "+34 600 000 011"));

  /* "Take Theirs": the form shows the other desk's value and has nothing to save. */
  type_into (form_widget, "Phone", "+34 600 000 033");
  g_free (other_commit (other, desk, "clients", client, "phone", "+34 600 000 044", NULL));
  VD_TEST_UI_WAIT_UNTIL (panel_shown (form_widget), 20, "the changed-underneath panel");
  assert_conflicts (form, "phone");
  vd_test_ui_click (named (form_widget, "take-theirs:phone"));
  assert_conflicts (form, "");
  g_assert_false (panel_shown (form_widget));
  g_assert_true (shows (form_widget, "Phone", "+34 600 000 044"));
  g_assert_false (vd_record_form_is_dirty (form));

  /* Two fields both sides changed: "Take All Theirs". */
  type_into (form_widget, "Phone", "+34 600 000 055");
  type_into (form_widget, "Address", "Calle Mía 5");
  g_free (other_commit (other, desk, "clients", client, "phone", "+34 600 000 066",
                        "address", "Calle Suya 6", NULL));
  VD_TEST_UI_WAIT_UNTIL (panel_shown (form_widget), 20, "the changed-underneath panel");
  assert_conflicts (form, "phone,address");
  vd_test_ui_click (named (form_widget, "take-theirs:all"));
  g_assert_true (shows (form_widget, "Phone", "+34 600 000 066"));
  g_assert_true (shows (form_widget, "Address", "Calle Suya 6"));
  g_assert_false (vd_record_form_is_dirty (form));

  /* … and "Keep All Mine", saved over theirs. */
  type_into (form_widget, "Phone", "+34 600 000 057");
  type_into (form_widget, "Address", "Calle Mía 7");
  g_free (other_commit (other, desk, "clients", client, "phone", "+34 600 000 067",
                        "address", "Calle Suya 7", NULL));
  VD_TEST_UI_WAIT_UNTIL (panel_shown (form_widget), 20, "the changed-underneath panel");
  assert_conflicts (form, "phone,address");
  vd_test_ui_click (named (form_widget, "keep-mine:all"));
  assert_conflicts (form, "");
  g_assert_true (shows (form_widget, "Phone", "+34 600 000 057"));
  g_assert_true (shows (form_widget, "Address", "Calle Mía 7"));
  press_save (form_widget);
  g_assert_true (row_is (desk->store, "clients", client, "phone", "+34 600 000 057"));
  g_assert_true (row_is (desk->store, "clients", client, "address", "Calle Mía 7"));
  g_free (other_commit (other, desk, "clients", client, "phone", "+34 600 000 066",
                        "address", "Calle Suya 6", NULL));
  VD_TEST_UI_WAIT_UNTIL (shows (form_widget, "Phone", "+34 600 000 066"), 20, "the form to follow");

  /* Leaving with unsaved edits: Cancel keeps them, Discard drops them, Save saves. */
  type_into (form_widget, "Phone", "+34 600 000 077");
  vd_clients_page_open_client (page, second);
  answer ("cancel", "lost-edits-leave-question");
  g_assert_cmpstr (vd_client_detail_get_client_id (detail), ==, client);
  g_assert_true (shows (form_widget, "Phone", "+34 600 000 077"));

  vd_clients_page_open_client (page, second);
  answer ("discard", NULL);
  g_assert_cmpstr (vd_client_detail_get_client_id (detail), ==, second);
  g_assert_true (row_is (desk->store, "clients", client, "phone", "+34 600 000 066"));

  vd_clients_page_open_client (page, client);
  g_assert_true (shows (form_widget, "Phone", "+34 600 000 066"));
  type_into (form_widget, "Phone", "+34 600 000 088");
  vd_clients_page_open_client (page, second);
  answer ("save", NULL);
  g_assert_cmpstr (vd_client_detail_get_client_id (detail), ==, second);
  g_assert_true (row_is (desk->store, "clients", client, "phone", "+34 600 000 088"));

  /* Switching sections asks too; Cancel stays on Clients with the edit. */
  type_into (form_widget, "First Name", "Vicenta");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-section", "s", "schedule"));
  answer ("cancel", NULL);
  g_assert_cmpstr (vd_window_get_section (window), ==, "clients");
  g_assert_true (shows (form_widget, "First Name", "Vicenta"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-section", "s", "schedule"));
  answer ("discard", NULL);
  g_assert_cmpstr (vd_window_get_section (window), ==, "schedule");
  g_assert_true (shows (form_widget, "First Name", "Vicente"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-section", "s", "clients"));

  /* Closing the window asks; Cancel keeps the window and the edit. */
  type_into (form_widget, "First Name", "Vicenta");
  gtk_window_close (GTK_WINDOW (window));
  answer ("cancel", NULL);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));
  g_assert_true (shows (form_widget, "First Name", "Vicenta"));
  /* Ctrl+Q (app.quit) asks the same. */
  g_action_group_activate_action (G_ACTION_GROUP (desk->app), "quit", NULL);
  answer ("cancel", NULL);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));
  vd_clients_page_open_client (page, client);
  answer ("discard", NULL);
}

/* ---- pets ---- */

static void
check_pet (VdTestDesk *desk,
           Other      *other)
{
  VdWindow *window = desk->window;
  VdClientsPage *page = vd_window_get_clients_page (window);
  VdPetDetail *detail = vd_clients_page_get_pet_detail (page);
  GtkWidget *form_widget = GTK_WIDGET (detail);
  VdRecordForm *form = vd_pet_detail_get_form (detail);
  g_autofree char *client = NULL;
  g_autofree char *pet = NULL;

  client = other_commit (other, desk, "clients", NULL, "first_name", "Ana", "last_name", "Pet-Owner", NULL);
  pet = other_commit (other, desk, "pets", NULL, "client_id", client, "name", "Luna",
                      "species", "dog", "sex", "female", "breed", "Galgo", NULL);
  VD_TEST_UI_WAIT_UNTIL (row_is (desk->store, "pets", pet, "name", "Luna"), 20, "the other desk's pet");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-section", "s", "clients"));
  vd_clients_page_open_pet (page, pet);
  g_assert_cmpstr (vd_clients_page_get_view (page), ==, "pet");
  /* Just opened: nothing to ask about when leaving, nothing selected. */
  g_assert_false (vd_record_form_is_dirty (form));
  assert_nothing_selected (form_widget);

  g_free (other_commit (other, desk, "pets", pet, "breed", "Podenco", NULL));
  VD_TEST_UI_WAIT_UNTIL (shows (form_widget, "Breed", "Podenco"), 20, "the pet form to follow");
  wait_pushed (desk);
  press_save (form_widget);
  g_assert_null (vd_pet_detail_get_error (detail));
  g_assert_cmpuint (vd_store_count_pending (desk->store), ==, 0);

  /* The field being typed in keeps its text (not the refill's "12.5") and its cursor
   * while the form follows another field. */
  g_assert_true (gtk_widget_grab_focus (GTK_WIDGET (entry (form_widget, "Weight (kg)"))));
  type_into (form_widget, "Weight (kg)", "12,50");
  g_free (other_commit (other, desk, "pets", pet, "breed", "Podenco Ibicenco", NULL));
  VD_TEST_UI_WAIT_UNTIL (shows (form_widget, "Breed", "Podenco Ibicenco"), 20, "the breed to follow");
  g_assert_true (shows (form_widget, "Weight (kg)", "12,50"));

  /* A weight being typed that is not a number yet stays as typed while the breed
   * follows; the colour both changed is asked about. */
  type_into (form_widget, "Weight (kg)", "doce");
  type_into (form_widget, "Colour", "Brindle");
  g_free (other_commit (other, desk, "pets", pet, "breed", "Greyhound", "color", "Black", NULL));
  VD_TEST_UI_WAIT_UNTIL (shows (form_widget, "Breed", "Greyhound"), 20, "the breed to follow");
  g_assert_true (shows (form_widget, "Weight (kg)", "doce"));
  g_assert_true (shows (form_widget, "Colour", "Brindle"));
  assert_conflicts (form, "color");
  vd_test_ui_settle (300);
  vd_test_ui_screenshot (GTK_WIDGET (window), "lost-edits-pet-conflict");
  vd_test_ui_click (named (form_widget, "take-theirs:color"));
  g_assert_true (shows (form_widget, "Colour", "Black"));
  g_assert_true (shows (form_widget, "Weight (kg)", "doce"));

  /* Back to the owner with the weight unsaved: asked; Save with a bad weight fails and
   * stays; Discard goes. */
  g_assert_true (gtk_widget_activate_action (form_widget, "pet.back", NULL));
  answer ("save", NULL);
  g_assert_cmpstr (vd_clients_page_get_view (page), ==, "pet");
  g_assert_nonnull (vd_pet_detail_get_error (detail));
  type_into (form_widget, "Weight (kg)", "12,5");
  g_assert_true (gtk_widget_activate_action (form_widget, "pet.back", NULL));
  answer ("save", NULL);
  g_assert_cmpstr (vd_clients_page_get_view (page), ==, "client");
  {
    g_autoptr(VdRecord) record = vd_record_load (desk->store, "pets", pet);
    double kg = 0;

    g_assert_true (vd_record_get_real (record, "weight_kg", &kg));
    g_assert_cmpfloat (kg, ==, 12.5);
    g_assert_cmpstr (vd_record_get_text (record, "color"), ==, "Black");
  }
}

/* ---- staff ---- */

static void
check_staff (VdTestDesk *desk,
             Other      *other)
{
  VdWindow *window = desk->window;
  VdStaffPage *page = vd_window_get_staff_page (window);
  GtkWidget *form_widget = GTK_WIDGET (page);
  VdRecordForm *form = vd_staff_page_get_form (page);
  g_autofree char *staff = NULL;

  staff = other_commit (other, desk, "staff", NULL, "name", "Dra. Lost Edits", "role", "veterinarian",
                        "phone", "+34 611 000 000", NULL);
  VD_TEST_UI_WAIT_UNTIL (row_is (desk->store, "staff", staff, "name", "Dra. Lost Edits"), 20,
                         "the other desk's staff member");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-section", "s", "staff"));
  g_assert_true (vd_staff_page_open (page, staff));
  g_assert_false (vd_record_form_is_dirty (form));
  assert_nothing_selected (form_widget);

  g_free (other_commit (other, desk, "staff", staff, "phone", "+34 611 000 001", NULL));
  VD_TEST_UI_WAIT_UNTIL (shows (form_widget, "Phone", "+34 611 000 001"), 20, "the staff form to follow");
  wait_pushed (desk);
  press_save (form_widget);
  g_assert_null (vd_staff_page_get_error (page));
  g_assert_cmpuint (vd_store_count_pending (desk->store), ==, 0);

  type_into (form_widget, "Name", "Dra. Mine");
  g_free (other_commit (other, desk, "staff", staff, "name", "Dra. Theirs", NULL));
  VD_TEST_UI_WAIT_UNTIL (panel_shown (form_widget), 20, "the staff changed-underneath panel");
  assert_conflicts (form, "name");
  vd_test_ui_settle (300);
  vd_test_ui_screenshot (GTK_WIDGET (window), "lost-edits-staff-conflict");
  vd_test_ui_click (named (form_widget, "keep-mine:name"));
  g_assert_true (shows (form_widget, "Name", "Dra. Mine"));

  /* A new staff member asked for with the name unsaved: Cancel, then Save. */
  g_assert_true (gtk_widget_activate_action (form_widget, "staff.new", NULL));
  answer ("cancel", NULL);
  g_assert_cmpstr (vd_staff_page_get_staff_id (page), ==, staff);
  g_assert_true (gtk_widget_activate_action (form_widget, "staff.new", NULL));
  answer ("save", NULL);
  g_assert_cmpstr (vd_staff_page_get_staff_id (page), ==, "");
  g_assert_true (row_is (desk->store, "staff", staff, "name", "Dra. Mine"));
}

/* ---- appointments ---- */

static VdAppointmentEditor *
find_editor (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();
  guint n = g_list_model_get_n_items (toplevels);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);

      if (VD_IS_APPOINTMENT_EDITOR (window) && gtk_widget_get_visible (window))
        return VD_APPOINTMENT_EDITOR (window);
    }
  return NULL;
}

static void
check_appointment (VdTestDesk *desk,
                   Other      *other)
{
  VdWindow *window = desk->window;
  VdAppointmentEditor *editor = NULL;
  g_autofree char *client = NULL;
  g_autofree char *pet = NULL;
  g_autofree char *staff = NULL;
  g_autofree char *appointment = NULL;

  client = other_commit (other, desk, "clients", NULL, "first_name", "Iñaki", "last_name", "Booked", NULL);
  pet = other_commit (other, desk, "pets", NULL, "client_id", client, "name", "Tofu",
                      "species", "cat", "sex", "male", NULL);
  staff = other_commit (other, desk, "staff", NULL, "name", "Dr. Appointment", "role", "veterinarian", NULL);
  appointment = other_commit (other, desk, "appointments", NULL, "pet_id", pet, "client_id", client,
                              "staff_id", staff, "kind", "consultation", "status", "scheduled",
                              "starts_at", "2031-03-05T09:00:00Z", "ends_at", "2031-03-05T09:30:00Z",
                              "reason", "Vaccines", NULL);
  VD_TEST_UI_WAIT_UNTIL (row_is (desk->store, "appointments", appointment, "reason", "Vaccines"), 20,
                         "the other desk's appointment");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.edit-appointment", "s", appointment));
  VD_TEST_UI_WAIT_UNTIL ((editor = find_editor ()) != NULL, 5, "the editor");
  g_object_add_weak_pointer (G_OBJECT (editor), (gpointer *) &editor);
  vd_test_ui_settle (100);
  g_assert_false (vd_record_form_is_dirty (vd_appointment_editor_get_form (editor)));

  g_free (other_commit (other, desk, "appointments", appointment, "reason", "Vaccines and nails", NULL));
  VD_TEST_UI_WAIT_UNTIL (shows (GTK_WIDGET (editor), "Reason", "Vaccines and nails"), 20,
                         "the editor to follow");

  type_into (GTK_WIDGET (editor), "Room", "2");
  g_free (other_commit (other, desk, "appointments", appointment, "room", "3", NULL));
  VD_TEST_UI_WAIT_UNTIL (panel_shown (GTK_WIDGET (editor)), 20, "the editor's changed-underneath panel");
  assert_conflicts (vd_appointment_editor_get_form (editor), "room");
  vd_test_ui_settle (300);
  vd_test_ui_screenshot (GTK_WIDGET (editor), "lost-edits-appointment-conflict");
  vd_test_ui_click (named (GTK_WIDGET (editor), "take-theirs:room"));
  g_assert_true (shows (GTK_WIDGET (editor), "Room", "3"));

  /* Closing with unsaved edits: Cancel keeps the editor, Discard closes it. */
  type_into (GTK_WIDGET (editor), "Reason", "Mine");
  gtk_window_close (GTK_WINDOW (editor));
  answer ("cancel", NULL);
  g_assert_nonnull (editor);
  g_assert_true (shows (GTK_WIDGET (editor), "Reason", "Mine"));
  gtk_window_close (GTK_WINDOW (editor));
  answer ("discard", NULL);
  VD_TEST_UI_WAIT_UNTIL (editor == NULL, 5, "the editor to close");
  g_assert_true (row_is (desk->store, "appointments", appointment, "reason", "Vaccines and nails"));

  /* Opened again and saved with no change: nothing pushed. */
  wait_pushed (desk);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.edit-appointment", "s", appointment));
  VD_TEST_UI_WAIT_UNTIL ((editor = find_editor ()) != NULL, 5, "the editor");
  g_object_add_weak_pointer (G_OBJECT (editor), (gpointer *) &editor);
  press_save (GTK_WIDGET (editor));
  VD_TEST_UI_WAIT_UNTIL (editor == NULL, 5, "the editor to close");
  g_assert_cmpuint (vd_store_count_pending (desk->store), ==, 0);
}

static void
test_lost_edits (void)
{
  g_autoptr(VdTestDesk) desk = vd_test_desk_new ();
  g_autoptr(Other) other = NULL;

  vd_test_desk_sign_in (desk, ADMIN_USER);
  other = other_new (desk);

  check_client (desk, other);
  check_pet (desk, other);
  check_staff (desk, other);
  check_appointment (desk, other);
}

int
main (int   argc,
      char *argv[])
{
  if (!vd_test_ui_init (&argc, &argv))
    {
      g_print ("1..0 # SKIP No display: run under xvfb-run\n");
      return vd_test_ui_finish (0);
    }

  g_test_add_func ("/lost-edits/records", test_lost_edits);
  return vd_test_ui_finish (g_test_run ());
}
