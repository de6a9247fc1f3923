/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-ui.c — the desk in a real window under Xvfb against a real vetdesk-syncd with the
 * demo clinics: sign in (confirming the certificate), see the schedule, book through the
 * editor, see the booking in the day view and on the server, lose the server, book again
 * offline, get the server back and see it sync. Screenshots go to tests/artifacts/. */
#define G_LOG_DOMAIN "test-ui"

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>

#include "vd-application.h"
#include "vd-window.h"
#include "vd-sync-indicator.h"
#include "vd-store-models.h"
#include "vd-test-syncd.h"
#include "vd-test-ui.h"
#include "vd-time.h"
#include "vd-id.h"

#define DEMO_USER      "recepcion.centro"
#define DEMO_PASSWORD  "vetdesk-demo"
#define DEMO_CLINIC    "clinica-centro"
/* A Monday far from the demo's appointments, so the first booking has no overlap. */
#define BOOK_YEAR  2031
#define BOOK_MONTH 3
#define BOOK_DAY   3

/* Short names for the shared helpers (vd-test-ui.h). */
#define WAIT_UNTIL           VD_TEST_UI_WAIT_UNTIL
#define settle               vd_test_ui_settle
#define find_widget          vd_test_ui_find
#define match_type           vd_test_ui_match_type
#define match_row_title      vd_test_ui_match_row_title
#define match_class          vd_test_ui_match_class
#define match_button_class   vd_test_ui_match_button_class
#define click                vd_test_ui_click
#define screenshot           vd_test_ui_screenshot

/* ---- the server, seen through its API ---- */

static gboolean
accept_test_certificate (SoupMessage *msg,
                         GTlsCertificate *certificate,
                         GTlsCertificateFlags errors,
                         gpointer user_data)
{
  return TRUE;
}

static JsonNode *
call_api (SoupSession *session,
          const char  *method,
          const char  *url,
          const char  *token,
          const char  *body)
{
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_test_certificate), NULL);
  if (token != NULL)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", bearer);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  answer = soup_session_send_and_read (session, msg, NULL, &error);
  if (error != NULL)
    {
      vd_test_ui_describe ();
      g_error ("%s %s: %s", method, url, error->message);
    }
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  json_parser_load_from_data (parser, g_bytes_get_data (answer, NULL), g_bytes_get_size (answer), &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

/* The appointment as the server has it: pulls the whole clinic as another device would.
 * Returns its "set" object (ref'd) or NULL. */
/* The device ids of the user's sessions in syncd's SQLite database, one per session. */
static GPtrArray *
server_session_devices (VdTestSyncd *syncd,
                        const char  *username)
{
  const char *uri = vd_test_syncd_get_database (syncd);
  GPtrArray *devices = g_ptr_array_new_with_free_func (g_free);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_true (g_str_has_prefix (uri, "sqlite:"));
  g_assert_cmpint (sqlite3_open_v2 (uri + strlen ("sqlite:"), &db, SQLITE_OPEN_READONLY, NULL),
                   ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT s.device_id FROM sessions s JOIN users u "
                                       "ON u.id = s.user_id WHERE u.username = ?1", -1, &stmt,
                                       NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, username, -1, SQLITE_STATIC);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (devices, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return devices;
}

static JsonObject *
server_appointment (const char *server_url,
                    const char *appointment_id)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *device = vd_uuid_new ();
  g_autofree char *login_body = g_strdup_printf ("{\"username\":\"%s\",\"password\":\"%s\","
                                                 "\"device_id\":\"%s\",\"device_name\":\"test-ui\"}",
                                                 DEMO_USER, DEMO_PASSWORD, device);
  g_autofree char *login_url = g_strconcat (server_url, "/v1/auth/login", NULL);
  g_autoptr(JsonNode) login = call_api (session, "POST", login_url, NULL, login_body);
  JsonObject *root = json_node_get_object (login);
  const char *token = json_object_get_string_member (root, "access_token");
  JsonArray *tenants = json_object_get_array_member (root, "tenants");
  const char *tenant_id = NULL;
  gint64 cursor = 0;
  gboolean more = TRUE;
  JsonObject *found = NULL;

  for (guint i = 0; i < json_array_get_length (tenants); i++)
    {
      JsonObject *tenant = json_array_get_object_element (tenants, i);

      if (g_strcmp0 (json_object_get_string_member (tenant, "slug"), DEMO_CLINIC) == 0)
        tenant_id = json_object_get_string_member (tenant, "id");
    }
  g_assert_nonnull (tenant_id);

  while (more)
    {
      g_autofree char *url = g_strdup_printf ("%s/v1/tenants/%s/sync/pull?cursor=%" G_GINT64_FORMAT "&limit=5000",
                                              server_url, tenant_id, cursor);
      g_autoptr(JsonNode) page = call_api (session, "GET", url, token, NULL);
      JsonObject *object = json_node_get_object (page);
      JsonArray *changes = json_object_get_array_member (object, "changes");

      for (guint i = 0; i < json_array_get_length (changes); i++)
        {
          JsonObject *change = json_array_get_object_element (changes, i);

          if (g_strcmp0 (json_object_get_string_member (change, "table"), "appointments") == 0 &&
              g_strcmp0 (json_object_get_string_member (change, "id"), appointment_id) == 0)
            {
              JsonObject *set = json_object_get_object_member (change, "set");
              GList *members = json_object_get_members (set);

              /* Cells of one row can come as several changes: merge them. */
              if (found == NULL)
                found = json_object_new ();
              for (GList *m = members; m != NULL; m = m->next)
                json_object_set_member (found, m->data,
                                        json_node_copy (json_object_get_member (set, m->data)));
              g_list_free (members);
            }
        }
      cursor = json_object_get_int_member (object, "cursor");
      more = json_object_get_boolean_member (object, "more");
    }
  return found;
}

/* The daemon again on the port and database it had, as after a server reboot: the desk
 * keeps its address. (vd_test_syncd_start picks a new free port each time.) */
static GSubprocess *
restart_syncd_on_same_port (VdTestSyncd *syncd)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", vd_test_syncd_get_port (syncd));
  g_autofree char *out_path = g_build_filename (vd_test_ui_get_home (), "syncd-restart.out", NULL);
  g_autoptr(GError) error = NULL;
  GSubprocess *process;
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  g_subprocess_launcher_set_stdout_file_path (launcher, out_path);
  g_subprocess_launcher_set_stderr_file_path (launcher, out_path);
  process = g_subprocess_launcher_spawn (launcher, &error, VETDESK_SYNCD, "serve",
                                         "--database", vd_test_syncd_get_database (syncd),
                                         "--data-dir", vd_test_syncd_get_data_dir (syncd),
                                         "--listen", listen, NULL);
  g_assert_no_error (error);
  for (;;)
    {
      g_autofree char *text = NULL;

      if (g_file_get_contents (out_path, &text, NULL, NULL) && strstr (text, "listening on") != NULL)
        {
          /* The same certificate: the pinned fingerprint still holds. */
          g_assert_nonnull (strstr (text, vd_test_syncd_get_fingerprint (syncd)));
          return process;
        }
      if (g_get_monotonic_time () > end || g_subprocess_get_identifier (process) == NULL)
        g_error ("vetdesk-syncd did not come back on %s: %s", listen, text ? text : "");
      g_usleep (20000);
    }
}

/* ---- the test ---- */

typedef struct
{
  char *last_saved;
} Saved;

static void
saved_cb (VdAppointmentEditor *editor,
          const char          *id,
          Saved               *saved)
{
  g_free (saved->last_saved);
  saved->last_saved = g_strdup (id);
}

static const char *
store_status (VdStore    *store,
              const char *id,
              char        out[32])
{
  const VdTable *table = vd_schema_lookup_table ("appointments");
  VdValue *row = g_newa (VdValue, table->n_columns);
  guint index = vd_table_lookup_column (table, "status")->index;

  memset (row, 0, sizeof (VdValue) * table->n_columns);
  g_assert_true (vd_store_get_row (store, table, id, row, NULL));
  g_strlcpy (out, row[index].kind == VD_VALUE_TEXT ? row[index].s : "", 32);
  for (guint i = 0; i < table->n_columns; i++)
    vd_value_clear (&row[i]);
  return out;
}

/* The Today list: a row per appointment of the day on screen, in the day's order, made
 * by the list view's factory; a click on a row opens that appointment in the editor. */
static void
check_today_list (VdWindow *window)
{
  VdStore *store = vd_window_get_store (window);
  g_autoptr(VdAppointmentList) day = NULL;
  g_autoptr(VdAppointmentItem) first = NULL;
  g_autoptr(GDateTime) from = NULL;
  g_autofree char *from_text = NULL;
  GtkWidget *list_view;
  VdAppointmentEditor *editor;
  gboolean found_first = FALSE;
  guint n, rows = 0;
  gint64 start, end;
  int y, m, d;

  vd_time_today_bounds (vd_store_get_time_zone (store), g_get_real_time () / G_USEC_PER_SEC,
                        &start, &end, &y, &m, &d);
  day = vd_appointment_list_new (store, start, end, NULL);
  n = g_list_model_get_n_items (G_LIST_MODEL (day));
  if (n == 0)
    {
      g_test_message ("the demo clinic has no appointment today: Today list not checked");
      return;
    }
  first = g_list_model_get_item (G_LIST_MODEL (day), 0);
  from = vd_time_to_zone (vd_appointment_item_get_starts_at (first), vd_store_get_time_zone (store));
  from_text = g_date_time_format (from, "%H:%M");

  list_view = find_widget (GTK_WIDGET (window), match_class, "today-list");
  g_assert_true (GTK_IS_LIST_VIEW (list_view));
  WAIT_UNTIL (gtk_widget_get_mapped (list_view) && gtk_widget_get_first_child (list_view) != NULL, 10,
              "the Today rows");
  for (GtkWidget *child = gtk_widget_get_first_child (list_view); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *row = gtk_widget_get_first_child (child);
      const char *title;

      if (row == NULL || !ADW_IS_ACTION_ROW (row) || !gtk_widget_get_mapped (row))
        continue;
      rows++;
      title = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row));
      if (g_str_has_prefix (title, from_text) &&
          strstr (title, vd_appointment_item_get_pet_name (first)) != NULL &&
          gtk_widget_has_css_class (row, "first"))
        found_first = TRUE;
    }
  g_assert_cmpuint (rows, >, 0);
  g_assert_cmpuint (rows, <=, n);
  g_assert_true (found_first);

  g_signal_emit_by_name (list_view, "activate", 0);
  editor = vd_window_get_editor (window);
  g_assert_nonnull (editor);
  g_assert_cmpstr (vd_appointment_editor_get_pet_id (editor), ==, vd_appointment_item_get_pet_id (first));
  gtk_window_destroy (GTK_WINDOW (editor));
  g_assert_null (vd_window_get_editor (window));
}

static guint
count_columns (VdDayView *day_view,
               GStrv     *columns)
{
  g_strfreev (*columns);
  *columns = vd_day_view_dup_column_ids (day_view);
  return g_strv_length (*columns);
}

/* A client with at least one pet, and that pet. */
static void
pick_client_and_pet (VdStore  *store,
                     char    **client_id,
                     char    **pet_id)
{
  g_autoptr(VdClientList) clients = vd_client_list_new (store, NULL);
  guint n;

  vd_store_list_refresh (G_LIST_MODEL (clients));
  n = g_list_model_get_n_items (G_LIST_MODEL (clients));
  g_assert_cmpuint (n, >, 0);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(VdClientItem) client = g_list_model_get_item (G_LIST_MODEL (clients), i);
      g_autoptr(VdPetList) pets = vd_pet_list_new (store, vd_client_item_get_id (client));

      vd_store_list_refresh (G_LIST_MODEL (pets));
      if (g_list_model_get_n_items (G_LIST_MODEL (pets)) > 0)
        {
          g_autoptr(VdPetItem) pet = g_list_model_get_item (G_LIST_MODEL (pets), 0);

          *client_id = g_strdup (vd_client_item_get_id (client));
          *pet_id = g_strdup (vd_pet_item_get_id (pet));
          return;
        }
    }
  g_error ("No demo client has a pet");
}

static VdAppointmentEditor *
open_editor (VdWindow   *window,
             Saved      *saved,
             const char *client_id,
             const char *pet_id,
             const char *staff_id,
             gint64      starts_at,
             const char *reason)
{
  VdAppointmentEditor *editor;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.new-appointment", NULL));
  editor = vd_window_get_editor (window);
  g_assert_nonnull (editor);
  g_signal_connect (editor, "saved", G_CALLBACK (saved_cb), saved);
  WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (editor)), 10, "the editor to show");

  /* Saving an empty form says what is missing, as a sentence. */
  click (find_widget (GTK_WIDGET (editor), match_button_class, "suggested-action"));
  g_assert_nonnull (vd_appointment_editor_get_error (editor));
  g_assert_nonnull (strstr (vd_appointment_editor_get_error (editor), "client"));

  g_assert_true (vd_appointment_editor_select_client (editor, client_id));
  WAIT_UNTIL (vd_appointment_editor_select_pet (editor, pet_id), 10, "the client's pets");
  vd_appointment_editor_set_start (editor, staff_id, starts_at);
  vd_appointment_editor_set_duration (editor, 0);
  click (find_widget (GTK_WIDGET (editor), match_button_class, "suggested-action"));
  g_assert_nonnull (vd_appointment_editor_get_error (editor));
  g_assert_nonnull (strstr (vd_appointment_editor_get_error (editor), "end after it starts"));

  vd_appointment_editor_set_duration (editor, 30);
  vd_appointment_editor_set_reason (editor, reason);
  return editor;
}

static void
test_desk (void)
{
  g_autoptr(VdTestDesk) desk = vd_test_desk_new ();
  VdTestSyncd *syncd = desk->syncd;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) restarted = NULL;
  g_autofree char *client_id = NULL;
  g_autofree char *pet_id = NULL;
  g_autofree char *first_id = NULL;
  g_auto(GStrv) columns = NULL;
  g_autoptr(JsonObject) on_server = NULL;
  char status[32];
  VdWindow *window;
  VdSignInPage *page;
  VdStore *store;
  VdSyncEngine *engine;
  VdDayView *day_view;
  VdAppointmentEditor *editor;
  AdwMessageDialog *dialog;
  GtkWidget *fingerprint;
  graphene_rect_t area;
  g_autofree char *picked = NULL;
  gint64 starts_at;
  Saved saved = { NULL };

  /* First run: the sign-in page, with the --server address preselected. */
  window = desk->window;
  g_assert_cmpstr (vd_window_get_page (window), ==, "sign-in");
  page = vd_window_get_sign_in_page (window);

  gtk_editable_set_text (GTK_EDITABLE (find_widget (GTK_WIDGET (page), match_row_title, "Username")), DEMO_USER);
  gtk_editable_set_text (GTK_EDITABLE (find_widget (GTK_WIDGET (page), match_type,
                                                    GSIZE_TO_POINTER (ADW_TYPE_PASSWORD_ENTRY_ROW))),
                         "not-the-password");
  click (find_widget (GTK_WIDGET (page), match_button_class, "suggested-action"));

  /* No CA vouches for the test certificate: its fingerprint is shown to confirm. */
  fingerprint = find_widget (GTK_WIDGET (page), match_class, "fingerprint");
  WAIT_UNTIL ((fingerprint = find_widget (GTK_WIDGET (page), match_class, "fingerprint")) != NULL &&
              gtk_widget_is_visible (fingerprint) && !vd_sign_in_page_get_busy (page),
              30, "the fingerprint");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (fingerprint)), ==, vd_test_syncd_get_fingerprint (syncd));

  /* Going on without trusting it says what to do. */
  click (find_widget (GTK_WIDGET (page), match_button_class, "suggested-action"));
  g_assert_nonnull (vd_sign_in_page_get_error (page));
  g_assert_nonnull (strstr (vd_sign_in_page_get_error (page), "Trust this server"));

  gtk_switch_set_active (GTK_SWITCH (find_widget (GTK_WIDGET (page), match_type, GSIZE_TO_POINTER (GTK_TYPE_SWITCH))), TRUE);
  click (find_widget (GTK_WIDGET (page), match_button_class, "suggested-action"));
  WAIT_UNTIL (!vd_sign_in_page_get_busy (page), 30, "the wrong password's answer");
  g_assert_nonnull (vd_sign_in_page_get_error (page));
  g_test_message ("wrong password: %s", vd_sign_in_page_get_error (page));
  g_assert_cmpstr (vd_window_get_page (window), ==, "sign-in");
  screenshot (GTK_WIDGET (window), "sign-in");

  gtk_editable_set_text (GTK_EDITABLE (find_widget (GTK_WIDGET (page), match_type,
                                                    GSIZE_TO_POINTER (ADW_TYPE_PASSWORD_ENTRY_ROW))),
                         DEMO_PASSWORD);
  click (find_widget (GTK_WIDGET (page), match_button_class, "suggested-action"));

  /* The first sync copies the clinic while the window keeps drawing. */
  WAIT_UNTIL (g_strcmp0 (vd_window_get_page (window), "sign-in") != 0, 60, "the sign-in to finish");
  if (g_strcmp0 (vd_window_get_page (window), "bootstrap") == 0)
    screenshot (GTK_WIDGET (window), "bootstrap");
  WAIT_UNTIL (g_strcmp0 (vd_window_get_page (window), "main") == 0, 120, "the first sync");
  g_assert_cmpstr (vd_window_get_section (window), ==, "today");
  store = vd_window_get_store (window);
  engine = vd_window_get_engine (window);
  g_assert_nonnull (store);
  g_assert_nonnull (engine);
  /* One sign-in: the new clinic's replica took the device id it was made with. */
  {
    g_autoptr(GPtrArray) sessions = server_session_devices (syncd, DEMO_USER);

    g_assert_cmpuint (sessions->len, ==, 1);
    g_assert_cmpstr (g_ptr_array_index (sessions, 0), ==, vd_store_get_device_id (store));
  }
  vd_test_ui_watch (syncd, engine);
  g_assert_cmpint (vd_store_get_cursor (store), >, 0);
  screenshot (GTK_WIDGET (window), "today");
  check_today_list (window);

  /* The schedule: one column per bookable staff member. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-section", "s", "schedule"));
  g_assert_cmpstr (vd_window_get_section (window), ==, "schedule");
  day_view = vd_window_get_day_view (window);
  WAIT_UNTIL (count_columns (day_view, &columns) > 0, 10, "staff columns");
  screenshot (GTK_WIDGET (window), "day-view-today");

  vd_window_set_date (window, BOOK_YEAR, BOOK_MONTH, BOOK_DAY);
  starts_at = vd_time_from_zone (vd_store_get_time_zone (store), BOOK_YEAR, BOOK_MONTH, BOOK_DAY, 10, 0, 0);
  pick_client_and_pet (store, &client_id, &pet_id);

  /* Book through the editor. */
  editor = open_editor (window, &saved, client_id, pet_id, columns[0], starts_at, "Booster vaccine (UI test)");
  screenshot (GTK_WIDGET (editor), "editor");
  click (find_widget (GTK_WIDGET (editor), match_button_class, "suggested-action"));
  /* No overlap on that day: no question, the editor saves and closes. */
  g_assert_null (vd_window_get_editor (window));
  g_assert_nonnull (saved.last_saved);
  first_id = g_strdup (saved.last_saved);
  g_assert_cmpstr (store_status (store, first_id, status), ==, "scheduled");

  /* It is drawn in the first staff column at 10:00, and a click there finds it. */
  WAIT_UNTIL (vd_day_view_get_block_area (day_view, first_id, &area), 10, "the new block");
  g_assert_true (vd_day_view_pick (day_view, area.origin.x + area.size.width / 2,
                                   area.origin.y + area.size.height / 2, &picked, NULL, NULL));
  g_assert_cmpstr (picked, ==, first_id);
  screenshot (GTK_WIDGET (window), "day-view");

  /* One-click status step, and its undo. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.set-status", "(ss)", first_id, "confirmed"));
  g_assert_cmpstr (store_status (store, first_id, status), ==, "confirmed");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo-status", "(ss)", first_id, "scheduled"));
  g_assert_cmpstr (store_status (store, first_id, status), ==, "scheduled");

  /* It reaches the server. */
  WAIT_UNTIL (vd_sync_engine_get_pending (engine) == 0 &&
              vd_sync_engine_get_state (engine) == VD_SYNC_UP_TO_DATE, 60, "the booking to be sent");
  on_server = server_appointment (vd_test_syncd_get_url (syncd), first_id);
  g_assert_nonnull (on_server);
  g_assert_cmpstr (json_object_get_string_member (on_server, "reason"), ==, "Booster vaccine (UI test)");
  g_assert_cmpstr (json_object_get_string_member (on_server, "status"), ==, "scheduled");
  g_assert_cmpstr (json_object_get_string_member (on_server, "staff_id"), ==, columns[0]);
  g_clear_pointer (&on_server, json_object_unref);
  g_assert_nonnull (strstr (vd_window_get_sync_text (window), "Synced"));

  /* The server goes away: the desk says it works offline and keeps booking. */
  g_assert_true (vd_test_syncd_stop (syncd, &error));
  g_assert_no_error (error);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.sync-now", NULL));
  WAIT_UNTIL (vd_window_get_banner_text (window) != NULL, 60, "the offline banner");
  g_assert_nonnull (strstr (vd_window_get_banner_text (window), "Working offline"));

  /* Same staff member, same time: the editor asks before double booking. */
  editor = open_editor (window, &saved, client_id, pet_id, columns[0], starts_at, "Second look (offline)");
  click (find_widget (GTK_WIDGET (editor), match_button_class, "suggested-action"));
  dialog = vd_appointment_editor_get_overlap_dialog (editor);
  g_assert_nonnull (dialog);
  settle (300);
  adw_message_dialog_response (dialog, "book");
  WAIT_UNTIL (vd_window_get_editor (window) == NULL, 10, "the editor to close");
  g_assert_cmpstr (saved.last_saved, !=, first_id);
  WAIT_UNTIL (vd_day_view_get_block_area (day_view, saved.last_saved, &area), 10, "the offline block");
  g_assert_cmpuint (vd_sync_engine_get_pending (engine), >, 0);
  screenshot (GTK_WIDGET (window), "offline");

  /* The server comes back on the same port and database: the booking goes through. */
  restarted = restart_syncd_on_same_port (syncd);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.sync-now", NULL));
  WAIT_UNTIL (vd_sync_engine_get_pending (engine) == 0 && vd_window_get_banner_text (window) == NULL,
              90, "the offline booking to be sent");
  on_server = server_appointment (vd_test_syncd_get_url (syncd), saved.last_saved);
  g_assert_nonnull (on_server);
  g_assert_cmpstr (json_object_get_string_member (on_server, "reason"), ==, "Second look (offline)");
  g_assert_true (json_object_get_boolean_member (on_server, "allow_overlap"));
  screenshot (GTK_WIDGET (window), "back-online");

  g_subprocess_send_signal (restarted, SIGTERM);
  g_subprocess_wait (restarted, NULL, &error);
  g_assert_no_error (error);

  g_free (saved.last_saved);
}

static void
test_last_sync_sentence (void)
{
  g_autofree char *never = vd_sync_describe_last_sync (0, 1000);
  g_autofree char *now = vd_sync_describe_last_sync (1000, 1030);
  g_autofree char *minutes = vd_sync_describe_last_sync (1000, 1000 + 150);
  g_autofree char *hours = vd_sync_describe_last_sync (1000, 1000 + 3 * 3600);

  g_assert_cmpstr (never, ==, "Not synced yet");
  g_assert_cmpstr (now, ==, "Synced just now");
  g_assert_cmpstr (minutes, ==, "Synced 2 minutes ago");
  g_assert_cmpstr (hours, ==, "Synced 3 hours ago");
}

/* The renderer: the user's GSK_RENDERER always wins; otherwise cairo exactly when this
 * machine has no GPU render node (GL would run on the CPU), and GTK's choice when it has. */
static void
test_renderer_choice (void)
{
  g_autofree char *saved = g_strdup (g_getenv ("GSK_RENDERER"));
  g_autoptr(GDir) dri = g_dir_open ("/dev/dri", 0, NULL);
  gboolean gpu = FALSE;
  const char *name;

  while (dri != NULL && (name = g_dir_read_name (dri)) != NULL)
    gpu = gpu || g_str_has_prefix (name, "renderD");

  g_setenv ("GSK_RENDERER", "ngl", TRUE);
  g_assert_cmpstr (vd_application_pick_renderer (), ==, "ngl");
  g_assert_cmpstr (g_getenv ("GSK_RENDERER"), ==, "ngl");

  g_unsetenv ("GSK_RENDERER");
  if (gpu)
    {
      g_assert_null (vd_application_pick_renderer ());
      g_assert_null (g_getenv ("GSK_RENDERER"));
    }
  else
    {
      g_assert_cmpstr (vd_application_pick_renderer (), ==, "cairo");
      g_assert_cmpstr (g_getenv ("GSK_RENDERER"), ==, "cairo");
    }

  if (saved != NULL)
    g_setenv ("GSK_RENDERER", saved, TRUE);
  else
    g_unsetenv ("GSK_RENDERER");
}

int
main (int   argc,
      char *argv[])
{
  if (!vd_test_ui_init (&argc, &argv))
    {
      /* Reported as skipped, never as passed: CI runs this under xvfb-run. */
      g_print ("1..0 # SKIP No display: run under xvfb-run\n");
      return vd_test_ui_finish (0);
    }

  g_test_add_func ("/ui/last-sync-sentence", test_last_sync_sentence);
  g_test_add_func ("/ui/renderer-choice", test_renderer_choice);
  g_test_add_func ("/ui/desk", test_desk);
  return vd_test_ui_finish (g_test_run ());
}
