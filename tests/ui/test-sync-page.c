/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-sync-page.c — the desk's global search, Sync page and printing in a real window
 * under Xvfb against a real vetdesk-syncd with the demo clinics: Ctrl+K, a client found
 * by a surname typed without accents, a pet by name, Enter; the demo's double bookings
 * listed and one resolved by cancelling an appointment, closed by the server; a change
 * the server refuses shown with its reason and discarded only after asking; the day's
 * schedule exported to PDF, one page per staff member. Screenshots go to artifacts/. */
#define G_LOG_DOMAIN "test-sync-page"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "vd-test-ui.h"
#include "vd-record-form.h"
#include "vd-search-popover.h"
#include "vd-clients-page.h"
#include "vd-sync-page.h"
#include "vd-print.h"
#include "vd-store-models.h"
#include "vd-time.h"

#define DEMO_USER "recepcion.centro"

static char *
artifact_path (const char *name,
               const char *extension)
{
  g_autofree char *dir = g_build_filename (g_test_get_dir (G_TEST_BUILT), "artifacts", NULL);
  const char *language = g_getenv ("VD_TEST_LANGUAGE");
  g_autofree char *file = NULL;

  g_mkdir_with_parents (dir, 0755);
  if (language != NULL && *language != '\0')
    file = g_strdup_printf ("%s-%s%s", name, language, extension);
  else
    file = g_strconcat (name, extension, NULL);
  return g_build_filename (dir, file, NULL);
}

/* ---- reading the replica ---- */

static char *
query_text (VdStore    *store,
            const char *sql,
            const char *arg)
{
  sqlite3_stmt *stmt = NULL;
  char *text = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (vd_store_get_db (store), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, vd_store_get_tenant_id (store), -1, SQLITE_STATIC);
  if (arg != NULL)
    sqlite3_bind_text (stmt, 2, arg, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_type (stmt, 0) != SQLITE_NULL)
    text = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return text;
}

static gboolean
has_non_ascii (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p >= 0x80)
      return TRUE;
  return FALSE;
}

/* A demo client whose last name carries an accent ("Pérez"), so typing it without one
 * must still find them. */
static char *
accented_client (VdStore  *store,
                 char    **out_last_name)
{
  g_autoptr(VdClientList) clients = vd_client_list_new (store, NULL);
  guint n;

  vd_store_list_refresh (G_LIST_MODEL (clients));
  n = g_list_model_get_n_items (G_LIST_MODEL (clients));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(VdClientItem) client = g_list_model_get_item (G_LIST_MODEL (clients), i);
      g_auto(GStrv) words = g_strsplit (vd_client_item_get_last_name (client), " ", -1);

      for (guint w = 0; words[w] != NULL; w++)
        if (has_non_ascii (words[w]))
          {
            *out_last_name = g_strdup (words[w]);
            return g_strdup (vd_client_item_get_id (client));
          }
    }
  g_error ("No demo client has an accented last name");
}

/* ---- widgets ---- */

static gboolean
match_action (GtkWidget     *widget,
              gconstpointer  data)
{
  return GTK_IS_ACTIONABLE (widget) && gtk_widget_is_visible (widget) &&
         g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), data) == 0;
}

/* The shortcut the window's class binds to trigger ("<Control>k"), activated as a key
 * press would: checks the binding, not just the action behind it. */
static void
press_shortcut (GtkWidget  *widget,
                const char *trigger)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint s = 0; s < g_list_model_get_n_items (G_LIST_MODEL (controller)); s++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), s);
          g_autofree char *text = gtk_shortcut_trigger_to_string (gtk_shortcut_get_trigger (shortcut));

          if (g_strcmp0 (text, trigger) == 0)
            {
              g_assert_true (gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), 0, widget,
                                                           gtk_shortcut_get_arguments (shortcut)));
              return;
            }
        }
    }
  g_error ("No shortcut %s on %s", trigger, G_OBJECT_TYPE_NAME (widget));
}

static GtkWidget *
find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();   /* owned by GTK */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type) && gtk_widget_get_visible (window))
        return window;
    }
  return NULL;
}

typedef struct
{
  char *kind;
  char *id;
} Opened;

static void
result_activated_cb (VdSearchPopover *popover,
                     const char      *kind,
                     const char      *id,
                     Opened          *opened)
{
  g_free (opened->kind);
  g_free (opened->id);
  opened->kind = g_strdup (kind);
  opened->id = g_strdup (id);
}

/* Enter in the entry: its text field's "activate", which the Enter binding emits. */
static void
press_enter (VdSearchPopover *popover)
{
  GtkWidget *text = vd_test_ui_find (GTK_WIDGET (vd_search_popover_get_entry (popover)), vd_test_ui_match_type,
                                     GSIZE_TO_POINTER (GTK_TYPE_TEXT));

  g_assert_nonnull (text);
  g_signal_emit_by_name (text, "activate");
}

static void
type_search (VdSearchPopover *popover,
             const char      *text)
{
  gtk_editable_set_text (vd_search_popover_get_entry (popover), text);
  /* The entry waits for a pause in typing; the query then runs once. */
  VD_TEST_UI_WAIT_UNTIL (vd_search_popover_get_n_results (popover) > 0, 10, "search results");
}

static gboolean
search_found (VdSearchPopover *popover,
              const char      *id)
{
  for (guint i = 0; i < vd_search_popover_get_n_results (popover); i++)
    if (g_strcmp0 (vd_search_popover_get_result_id (popover, i), id) == 0)
      return TRUE;
  return FALSE;
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* ---- the test ---- */

static void
test_search (VdTestDesk *desk)
{
  GtkWidget *window = GTK_WIDGET (desk->window);
  VdSearchPopover *popover = VD_SEARCH_POPOVER (vd_test_ui_find (window, vd_test_ui_match_type,
                                                                 GSIZE_TO_POINTER (VD_TYPE_SEARCH_POPOVER)));
  g_autofree char *last_name = NULL;
  g_autofree char *client_id = accented_client (desk->store, &last_name);
  g_autofree char *plain = g_str_to_ascii (last_name, "C");
  g_autofree char *pet_name = NULL;
  g_autofree char *pet_id = NULL;
  g_autofree char *first_id = NULL;
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (gint64));
  GtkWidget *focus;
  gboolean found = FALSE;
  Opened opened = { NULL, NULL };
  guint n;

  g_assert_nonnull (popover);
  g_signal_connect (popover, "result-activated", G_CALLBACK (result_activated_cb), &opened);

  /* Ctrl+K opens the search with the focus in its entry. */
  press_shortcut (window, "<Control>k");
  VD_TEST_UI_WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (popover)), 10, "the search popover");
  focus = gtk_root_get_focus (GTK_ROOT (window));
  g_assert_nonnull (focus);
  g_assert_true (focus == GTK_WIDGET (vd_search_popover_get_entry (popover)) ||
                 gtk_widget_is_ancestor (focus, GTK_WIDGET (vd_search_popover_get_entry (popover))));

  /* A surname typed without its accent, a keystroke at a time: each query stays well
   * inside a frame's worth of the main thread. */
  g_assert_cmpstr (plain, !=, last_name);
  for (glong len = 2; len <= (glong) strlen (plain); len++)
    {
      g_autofree char *prefix = g_strndup (plain, len);
      gint64 us;

      type_search (popover, prefix);
      us = vd_search_popover_get_last_search_us (popover);
      g_array_append_val (times, us);
    }
  g_array_sort (times, compare_gint64);
  g_test_message ("search: median %" G_GINT64_FORMAT " µs, max %" G_GINT64_FORMAT " µs over %u keystrokes",
                  g_array_index (times, gint64, times->len / 2), g_array_index (times, gint64, times->len - 1),
                  times->len);
  g_assert_cmpint (g_array_index (times, gint64, times->len / 2), <=, 20000);

  n = vd_search_popover_get_n_results (popover);
  for (guint i = 0; i < n; i++)
    if (strstr (vd_search_popover_get_result_title (popover, i), last_name) != NULL)
      found = TRUE;
  g_assert_true (found);
  g_assert_true (search_found (popover, client_id));
  vd_test_ui_screenshot (GTK_WIDGET (popover), "search");

  /* A pet by its name. */
  pet_id = query_text (desk->store,
                       "SELECT id FROM pets WHERE tenant_id = ?1 AND deleted = 0 AND name IS NOT NULL "
                       "AND length (name) >= 3 ORDER BY name LIMIT 1", NULL);
  pet_name = query_text (desk->store, "SELECT name FROM pets WHERE tenant_id = ?1 AND id = ?2", pet_id);
  g_assert_nonnull (pet_name);
  type_search (popover, pet_name);
  g_assert_true (search_found (popover, pet_id));
  found = FALSE;
  n = vd_search_popover_get_n_results (popover);
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (vd_search_popover_get_result_id (popover, i), pet_id) == 0)
      {
        g_autofree char *species = query_text (desk->store, "SELECT species FROM pets "
                                               "WHERE tenant_id = ?1 AND id = ?2", pet_id);
        const char *subtitle = vd_search_popover_get_result_subtitle (popover, i);

        g_assert_cmpstr (vd_search_popover_get_result_title (popover, i), ==, pet_name);
        /* The species as the pet's page names it, not its stored code. */
        g_assert_nonnull (species);
        g_test_message ("%s: “%s” (species %s)", pet_name, subtitle, species);
        g_assert_true (g_str_has_prefix (subtitle, vd_pet_species_label (species)));
        g_assert_false (g_str_has_prefix (subtitle, species));
        found = TRUE;
      }
  g_assert_true (found);

  /* Enter opens the first result, and closes the search. */
  press_enter (popover);
  g_assert_nonnull (opened.id);
  VD_TEST_UI_WAIT_UNTIL (!gtk_widget_get_mapped (GTK_WIDGET (popover)), 10, "the search to close");
  g_test_message ("Enter opened %s %s", opened.kind, opened.id);
  /* … on the record's own page. */
  if (g_strcmp0 (opened.kind, "pet") == 0)
    {
      VD_TEST_UI_WAIT_UNTIL (g_strcmp0 (vd_clients_page_get_view (vd_window_get_clients_page (desk->window)), "pet") == 0,
                             10, "the pet's page");
      vd_test_ui_screenshot (GTK_WIDGET (window), "search-opened-pet");
    }

  /* The client found by the accent-less surname, opened with Enter too. */
  press_shortcut (window, "<Control>k");
  VD_TEST_UI_WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (popover)), 10, "the search popover again");
  type_search (popover, plain);
  g_assert_nonnull (strstr (vd_search_popover_get_result_title (popover, 0), last_name));
  first_id = g_strdup (vd_search_popover_get_selected_id (popover));
  g_assert_nonnull (first_id);
  press_enter (popover);
  g_assert_cmpstr (opened.kind, ==, "client");
  g_assert_cmpstr (opened.id, ==, first_id);
  VD_TEST_UI_WAIT_UNTIL (!gtk_widget_get_mapped (GTK_WIDGET (popover)), 10, "the search to close");
  VD_TEST_UI_WAIT_UNTIL (g_strcmp0 (vd_clients_page_get_view (vd_window_get_clients_page (desk->window)), "client") == 0,
                         10, "the client's page");

  g_free (opened.kind);
  g_free (opened.id);
  g_signal_handlers_disconnect_by_func (popover, result_activated_cb, &opened);
}

static GtkWidget *
sync_badge (VdTestDesk *desk)
{
  return vd_test_ui_find (GTK_WIDGET (desk->window), vd_test_ui_match_class, "sidebar-badge");
}

static guint
badge_count (VdTestDesk *desk)
{
  GtkWidget *badge = sync_badge (desk);

  return badge != NULL ? (guint) g_ascii_strtoull (gtk_label_get_text (GTK_LABEL (badge)), NULL, 10) : 0;
}

static gboolean
page_has_conflict (VdSyncPage *page,
                   const char *conflict_id)
{
  for (guint i = 0; i < vd_sync_page_get_n_conflicts (page); i++)
    if (g_strcmp0 (vd_sync_page_get_conflict_id (page, i), conflict_id) == 0)
      return TRUE;
  return FALSE;
}

static void
test_conflicts (VdTestDesk *desk,
                VdSyncPage *page)
{
  GtkWidget *row;
  GtkWidget *cancel;
  g_autofree char *conflict_id = NULL;
  g_autofree char *kind = NULL;
  g_autofree char *resolved = NULL;
  g_autofree char *appointment_id = NULL;
  g_autofree char *status = NULL;
  guint before;
  guint n;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (desk->window), "win.show-section", "s", "sync"));
  g_assert_cmpstr (vd_window_get_section (desk->window), ==, "sync");

  /* load-demo makes a few double bookings per clinic; the server opened a conflict for each. */
  vd_sync_page_refresh (page);
  n = vd_sync_page_get_n_conflicts (page);
  g_test_message ("%u open conflicts", n);
  g_assert_cmpuint (n, >=, 1);
  g_assert_cmpuint (vd_sync_page_get_attention (page), ==, n + vd_sync_page_get_n_rejected (page));
  g_assert_nonnull (sync_badge (desk));
  g_assert_cmpuint (badge_count (desk), ==, vd_sync_page_get_attention (page));
  vd_test_ui_screenshot (GTK_WIDGET (desk->window), "sync-page");

  /* Resolve the first double booking from the page: cancel one of its appointments. */
  conflict_id = g_strdup (vd_sync_page_get_conflict_id (page, 0));
  kind = query_text (desk->store, "SELECT kind FROM conflicts WHERE tenant_id = ?1 AND id = ?2", conflict_id);
  g_assert_cmpstr (kind, ==, "double_booking");
  row = vd_sync_page_get_conflict_row (page, 0);
  cancel = vd_test_ui_find (row, match_action, "win.set-status");
  g_assert_nonnull (cancel);
  g_variant_get (gtk_actionable_get_action_target_value (GTK_ACTIONABLE (cancel)), "(ss)", &appointment_id, NULL);
  before = badge_count (desk);
  vd_test_ui_click (cancel);
  status = query_text (desk->store, "SELECT status FROM appointments WHERE tenant_id = ?1 AND id = ?2", appointment_id);
  g_assert_cmpstr (status, ==, "cancelled");

  /* The server sees the cancellation and closes the conflict; the pull brings it back. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (desk->window), "win.sync-now", NULL));
  VD_TEST_UI_WAIT_UNTIL (!page_has_conflict (page, conflict_id), 90, "the conflict to close");
  resolved = query_text (desk->store, "SELECT resolved_at FROM conflicts WHERE tenant_id = ?1 AND id = ?2", conflict_id);
  g_assert_nonnull (resolved);
  VD_TEST_UI_WAIT_UNTIL (badge_count (desk) == before - 1, 10, "the badge to count one less");
  g_assert_cmpuint (vd_sync_page_get_attention (page), ==, before - 1);
}

static guint
count_class (GtkWidget  *widget,
             const char *css_class)
{
  guint n = gtk_widget_has_css_class (widget, css_class) ? 1 : 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n += count_class (child, css_class);
  return n;
}

/* Whether one open conflict names the original and its three copies. */
static gboolean
group_open (VdStore            *store,
            const char         *original,
            const char * const *copies)
{
  g_autofree char *detail = query_text (store,
                                        "SELECT detail FROM conflicts WHERE tenant_id = ?1 "
                                        "AND resolved_at IS NULL AND NOT deleted "
                                        "AND detail LIKE '%' || ?2 || '%'", copies[2]);

  return detail != NULL && strstr (detail, copies[0]) != NULL &&
         strstr (detail, copies[1]) != NULL && strstr (detail, original) != NULL;
}

/* Three more bookings at the time of one: the server makes one conflict of the group
 * (issue #16), and the page shows a card for every appointment of it. */
static void
test_conflict_group (VdTestDesk *desk,
                     VdSyncPage *page)
{
  g_autofree char *appointment_id = NULL;
  g_autoptr(GError) error = NULL;
  const VdTable *table = vd_schema_lookup_table ("appointments");
  char *copies[3];
  GtkWidget *row = NULL;
  guint index = 0;
  gboolean found = FALSE;

  appointment_id = query_text (desk->store,
                               "SELECT id FROM appointments WHERE tenant_id = ?1 AND deleted = 0 "
                               "AND status NOT IN ('cancelled', 'no_show') AND NOT allow_overlap "
                               "ORDER BY starts_at DESC LIMIT 1", NULL);
  g_assert_nonnull (appointment_id);
  for (guint i = 0; i < G_N_ELEMENTS (copies); i++)
    {
      g_autoptr(VdChange) change = NULL;
      VdValue *values = g_newa (VdValue, table->n_columns);

      memset (values, 0, sizeof (VdValue) * table->n_columns);
      g_assert_true (vd_store_get_row (desk->store, table, appointment_id, values, NULL));
      copies[i] = vd_uuid_new ();
      change = vd_store_new_change (desk->store, "appointments", copies[i]);
      for (guint c = 0; c < table->n_columns; c++)
        if (values[c].kind != VD_VALUE_NULL)
          vd_change_take_cell (change, &table->columns[c], &values[c]);
      for (guint c = 0; c < table->n_columns; c++)
        vd_value_clear (&values[c]);
      g_assert_true (vd_store_commit (desk->store, change, &error));
      g_assert_no_error (error);
    }

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (desk->window), "win.sync-now", NULL));
  VD_TEST_UI_WAIT_UNTIL (group_open (desk->store, appointment_id, (const char * const *) copies),
                         90, "one conflict naming the whole group");
  vd_sync_page_refresh (page);
  for (guint i = 0; i < vd_sync_page_get_n_conflicts (page) && !found; i++)
    {
      g_autofree char *detail = query_text (desk->store,
                                            "SELECT detail FROM conflicts WHERE tenant_id = ?1 AND id = ?2",
                                            vd_sync_page_get_conflict_id (page, i));

      if (detail != NULL && strstr (detail, copies[0]) != NULL)
        {
          found = TRUE;
          index = i;
        }
    }
  g_assert_true (found);
  row = vd_sync_page_get_conflict_row (page, index);
  /* The original and its three copies (and any other booking they overlap), each a card
   * with its own Move button. */
  g_assert_cmpuint (count_class (row, "move-button"), >=, 4);
  vd_test_ui_screenshot (GTK_WIDGET (desk->window), "sync-page-group");

  for (guint i = 0; i < G_N_ELEMENTS (copies); i++)
    g_free (copies[i]);
}

static void
test_rejected (VdTestDesk *desk,
               VdSyncPage *page)
{
  g_autofree char *appointment_id = NULL;
  g_autofree char *pet_id = NULL;
  g_autoptr(VdChange) change = NULL;
  g_autoptr(GPtrArray) rejected = NULL;
  g_autoptr(GError) error = NULL;
  const VdTable *table;
  AdwMessageDialog *dialog;
  GtkWidget *rejected_row;
  VdValue *row;
  guint before;

  /* A booking whose id is already a pet's: valid on this desk, which cannot know every
   * id of the clinic, but the server refuses it (ids are unique across tables). */
  appointment_id = query_text (desk->store,
                               "SELECT id FROM appointments WHERE tenant_id = ?1 AND deleted = 0 "
                               "ORDER BY starts_at DESC LIMIT 1", NULL);
  pet_id = query_text (desk->store, "SELECT id FROM pets WHERE tenant_id = ?1 AND deleted = 0 LIMIT 1", NULL);
  table = vd_schema_lookup_table ("appointments");
  row = g_newa (VdValue, table->n_columns);
  memset (row, 0, sizeof (VdValue) * table->n_columns);
  g_assert_true (vd_store_get_row (desk->store, table, appointment_id, row, NULL));
  change = vd_store_new_change (desk->store, "appointments", pet_id);
  for (guint c = 0; c < table->n_columns; c++)
    if (row[c].kind != VD_VALUE_NULL && strcmp (table->columns[c].name, "deleted") != 0)
      vd_change_take_cell (change, &table->columns[c], &row[c]);
  for (guint c = 0; c < table->n_columns; c++)
    vd_value_clear (&row[c]);
  g_assert_true (vd_store_commit (desk->store, change, &error));
  g_assert_no_error (error);

  before = badge_count (desk);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (desk->window), "win.sync-now", NULL));
  VD_TEST_UI_WAIT_UNTIL (vd_sync_page_get_n_rejected (page) == 1, 90, "the refused change on the page");
  VD_TEST_UI_WAIT_UNTIL (badge_count (desk) == before + 1, 10, "the badge to count the refused change");

  /* Shown with the server's reason. */
  rejected = vd_store_list_rejected (desk->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rejected->len, ==, 1);
  g_test_message ("refused: %s: %s", ((VdRejected *) rejected->pdata[0])->code,
                  ((VdRejected *) rejected->pdata[0])->message);
  g_assert_cmpstr (((VdRejected *) rejected->pdata[0])->code, ==, "invalid_change");
  rejected_row = vd_sync_page_get_rejected_row (page, 0);
  g_assert_nonnull (rejected_row);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (rejected_row)),
                            ((VdRejected *) rejected->pdata[0])->message));
  vd_test_ui_screenshot (GTK_WIDGET (desk->window), "sync-page-refused");

  /* Discard asks first; keeping it loses nothing. The row is looked up again: the
   * screenshot ran the main loop, and a sync meanwhile rebuilds the page's rows. */
  rejected_row = vd_sync_page_get_rejected_row (page, 0);
  g_assert_nonnull (rejected_row);
  vd_test_ui_click (vd_test_ui_find (rejected_row, vd_test_ui_match_button_class, "destructive-action"));
  dialog = vd_sync_page_get_discard_dialog (page);
  g_assert_nonnull (dialog);
  vd_test_ui_screenshot (GTK_WIDGET (dialog), "sync-discard-dialog");
  adw_message_dialog_response (dialog, "cancel");
  vd_test_ui_settle (200);
  g_clear_pointer (&rejected, g_ptr_array_unref);
  rejected = vd_store_list_rejected (desk->store, &error);
  g_assert_cmpuint (rejected->len, ==, 1);
  g_assert_cmpuint (vd_sync_page_get_n_rejected (page), ==, 1);

  rejected_row = vd_sync_page_get_rejected_row (page, 0);
  vd_test_ui_click (vd_test_ui_find (rejected_row, vd_test_ui_match_button_class, "destructive-action"));
  dialog = vd_sync_page_get_discard_dialog (page);
  g_assert_nonnull (dialog);
  adw_message_dialog_response (dialog, "discard");
  vd_test_ui_settle (200);
  g_clear_pointer (&rejected, g_ptr_array_unref);
  rejected = vd_store_list_rejected (desk->store, &error);
  g_assert_cmpuint (rejected->len, ==, 0);
  g_assert_cmpuint (vd_sync_page_get_n_rejected (page), ==, 0);
  VD_TEST_UI_WAIT_UNTIL (badge_count (desk) == before, 10, "the badge to drop the discarded change");
}

static char *
run_tool (const char * const *argv)
{
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, &status, &error) ||
      !g_spawn_check_wait_status (status, NULL))
    return NULL;
  return g_steal_pointer (&out);
}

static void
test_export_pdf (VdTestDesk *desk)
{
  g_autofree char *path = artifact_path ("schedule", ".pdf");
  g_autofree char *contents = NULL;
  g_autofree char *pdftoppm = g_find_program_in_path ("pdftoppm");
  g_autofree char *pdfinfo = g_find_program_in_path ("pdfinfo");
  GTimeZone *zone = vd_store_get_time_zone (desk->store);
  gsize length = 0;
  guint staff = 0;
  int y = 0, m = 0, d = 0;
  gint64 start, end;

  /* The first day from today with at least two staff members booked. */
  vd_time_today_bounds (zone, g_get_real_time () / G_USEC_PER_SEC, &start, &end, &y, &m, &d);
  for (guint i = 0; i < 14 && staff < 2; i++)
    {
      g_autoptr(GDateTime) day = vd_time_to_zone (start + (gint64) i * 86400 + 43200, zone);

      y = g_date_time_get_year (day);
      m = g_date_time_get_month (day);
      d = g_date_time_get_day_of_month (day);
      staff = vd_print_count_staff (desk->store, y, m, d);
    }
  g_assert_cmpuint (staff, >=, 2);
  g_test_message ("printing %04d-%02d-%02d: %u staff members", y, m, d, staff);

  /* The schedule's day is what is printed. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (desk->window), "win.show-section", "s", "schedule"));
  vd_window_set_date (desk->window, y, m, d);
  g_remove (path);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (desk->window), "win.export-pdf", "s", path));

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_assert_cmpuint (length, >, 1000);
  g_assert_true (g_str_has_prefix (contents, "%PDF-"));

  if (pdfinfo != NULL)
    {
      const char *argv[] = { pdfinfo, path, NULL };
      g_autofree char *info = run_tool (argv);
      const char *pages;

      g_assert_nonnull (info);
      pages = strstr (info, "Pages:");
      g_assert_nonnull (pages);
      /* One page per staff member with appointments that day. */
      g_assert_cmpuint (g_ascii_strtoull (pages + strlen ("Pages:"), NULL, 10), ==, staff);
    }
  else
    g_test_message ("pdfinfo not found (poppler-utils): page count not checked");

  if (pdftoppm != NULL)
    {
      g_autofree char *prefix = artifact_path ("ui-schedule-pdf", "");
      const char *argv[] = { pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", path, prefix, NULL };
      g_autofree char *out = run_tool (argv);
      g_autofree char *png = g_strconcat (prefix, ".png", NULL);

      g_assert_nonnull (out);
      g_assert_true (g_file_test (png, G_FILE_TEST_EXISTS));
      g_test_message ("PDF page: %s", png);
    }
}

static void
test_shortcuts_and_about (VdTestDesk *desk)
{
  GtkShortcutsWindow *shortcuts;
  GtkWidget *about;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (desk->window), "win.show-help-overlay", NULL));
  shortcuts = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (desk->window));
  g_assert_nonnull (shortcuts);
  VD_TEST_UI_WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (shortcuts)), 10, "the shortcuts window");
  vd_test_ui_screenshot (GTK_WIDGET (shortcuts), "shortcuts");
  gtk_widget_set_visible (GTK_WIDGET (shortcuts), FALSE);

  g_action_group_activate_action (G_ACTION_GROUP (desk->app), "about", NULL);
  VD_TEST_UI_WAIT_UNTIL ((about = find_toplevel (ADW_TYPE_ABOUT_WINDOW)) != NULL &&
                         gtk_widget_get_mapped (about), 10, "the About window");
  vd_test_ui_screenshot (about, "about");
  gtk_window_destroy (GTK_WINDOW (about));
}

static void
test_desk (void)
{
  g_autoptr(VdTestDesk) desk = vd_test_desk_new ();
  VdSyncPage *page;

  vd_test_desk_sign_in (desk, DEMO_USER);
  page = VD_SYNC_PAGE (vd_test_ui_find (GTK_WIDGET (desk->window), vd_test_ui_match_type,
                                        GSIZE_TO_POINTER (VD_TYPE_SYNC_PAGE)));
  g_assert_nonnull (page);

  test_search (desk);
  test_conflicts (desk, page);
  test_conflict_group (desk, page);
  test_rejected (desk, page);
  test_export_pdf (desk);
  test_shortcuts_and_about (desk);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *locale_dir = NULL;

  if (!vd_test_ui_init (&argc, &argv))
    {
      /* Reported as skipped, never as passed: CI runs this under xvfb-run. */
      g_print ("1..0 # SKIP No display: run under xvfb-run\n");
      return 0;
    }

  /* The build's own translations, for the screenshots in VD_TEST_LANGUAGE; gettext
   * ignores LANGUAGE under the plain C locale. */
  if (g_getenv ("VD_TEST_LANGUAGE") != NULL && setlocale (LC_MESSAGES, NULL) != NULL &&
      g_str_equal (setlocale (LC_MESSAGES, NULL), "C"))
    setlocale (LC_ALL, "C.UTF-8");
  locale_dir = g_build_filename (g_test_get_dir (G_TEST_BUILT), "..", "po", NULL);
  bindtextdomain (GETTEXT_PACKAGE, locale_dir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");

  g_test_add_func ("/ui/sync-page/desk", test_desk);
  return vd_test_ui_finish (g_test_run ());
}
