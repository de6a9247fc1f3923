/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-monitor-ui.c — the Sync Monitor in a real window under Xvfb against a real
 * vetdesk-syncd with the demo clinics: the platform admin sees every clinic with the
 * health the server reports (one made "errors" by a desk's refused change), sorts,
 * filters, watches a clinic turn red without losing the selection, signs out; a company
 * admin sees only their clinic, revokes a desk device, and that desk is refused. */
#define G_LOG_DOMAIN "test-monitor-ui"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <locale.h>
#include <sqlite3.h>
#include <string.h>

#include "vd-test-ui.h"
#include "vd-monitor-page.h"
#include "vd-sparkline.h"
#include "vd-session.h"
#include "vd-change.h"
#include "vd-protocol.h"
#include "vd-hlc.h"
#include "vd-id.h"
#include "vd-schema.h"
#include "vd-value.h"

#define PLATFORM_ADMIN "plataforma"
#define COMPANY_ADMIN  "gerencia.petspa"
#define PETSPA_DESK    "recepcion.petspa"
#define CENTRO_DESK    "recepcion.centro"
#define VETGROOM_DESK  "recepcion.vetgroom1"
#define TEST_DEVICE    "Mostrador de pruebas"

/* ---- the server, spoken to directly (not through the code under test) ---- */

typedef struct
{
  guint     status;
  JsonNode *root;
} Answer;

static void
answer_free (Answer *a)
{
  g_clear_pointer (&a->root, json_node_unref);
  g_free (a);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Answer, answer_free)

static gboolean
accept_test_certificate (SoupMessage *msg,
                         GTlsCertificate *certificate,
                         GTlsCertificateFlags errors,
                         gpointer user_data)
{
  /* The test's own daemon on 127.0.0.1, with its self-signed certificate. */
  return TRUE;
}

static Answer *
call (VdTestDesk *desk,
      const char *method,
      const char *path,
      const char *token,
      const char *body)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (vd_test_syncd_get_url (desk->syncd), path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  Answer *a = g_new0 (Answer, 1);
  gsize len = 0;
  const char *data;

  g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_test_certificate), NULL);
  if (token != NULL)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", bearer);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) request = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (msg, "application/json", request);
    }
  bytes = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  a->status = soup_message_get_status (msg);
  data = g_bytes_get_data (bytes, &len);
  if (len > 0 && json_parser_load_from_data (parser, data, (gssize) len, NULL))
    a->root = json_node_ref (json_parser_get_root (parser));
  return a;
}

static gboolean
status_is (VdTestDesk *desk,
           const char *method,
           const char *path,
           const char *body,
           guint       status)
{
  g_autoptr(Answer) a = call (desk, method, path, NULL, body);

  return a->status == status;
}

static JsonObject *
obj (Answer *a)
{
  g_assert_nonnull (a->root);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (a->root));
  return json_node_get_object (a->root);
}

typedef struct
{
  char   *access;
  char   *device_id;
  char   *tenant_id;
  gint64  batch;
} Session;

static void
session_free (Session *s)
{
  g_free (s->access);
  g_free (s->device_id);
  g_free (s->tenant_id);
  g_free (s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Session, session_free)

static Session *
login (VdTestDesk *desk,
       const char *username,
       const char *device_name)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;
  g_autoptr(Answer) a = NULL;
  Session *s = g_new0 (Session, 1);
  JsonArray *tenants;

  s->device_id = vd_uuid_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "username");
  json_builder_add_string_value (b, username);
  json_builder_set_member_name (b, "password");
  json_builder_add_string_value (b, VD_TEST_DEMO_PASSWORD);
  json_builder_set_member_name (b, "device_id");
  json_builder_add_string_value (b, s->device_id);
  json_builder_set_member_name (b, "device_name");
  json_builder_add_string_value (b, device_name);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  body = json_generator_to_data (gen, NULL);

  a = call (desk, "POST", "/v1/auth/login", NULL, body);
  g_assert_cmpuint (a->status, ==, 200);
  s->access = g_strdup (json_object_get_string_member (obj (a), "access_token"));
  tenants = json_object_get_array_member (obj (a), "tenants");
  if (json_array_get_length (tenants) > 0)
    s->tenant_id = g_strdup (json_object_get_string_member (json_array_get_object_element (tenants, 0), "id"));
  return s;
}

/* A push of one change: a valid new client, or a pet of an unknown species, which the
 * server refuses (and counts as an error of the clinic and of the device). */
static void
push (VdTestDesk *desk,
      Session    *s,
      gboolean    bad)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  g_autofree char *id = vd_uuid_new ();
  g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/push", s->tenant_id);
  g_autofree char *body = NULL;
  g_autoptr(Answer) a = NULL;
  VdChange *change;
  VdValue v = { 0, };
  gsize len;

  change = vd_change_new (vd_schema_lookup_table (bad ? "pets" : "clients"), id,
                          vd_hlc_make (g_get_real_time () / 1000, 1), s->device_id);
  if (bad)
    {
      vd_value_set_text (&v, "dragon");
      vd_change_take_cell (change, vd_table_lookup_column (change->table, "species"), &v);
    }
  else
    {
      vd_value_set_text (&v, "Ana");
      vd_change_take_cell (change, vd_table_lookup_column (change->table, "first_name"), &v);
      vd_value_set_text (&v, "Monitor");
      vd_change_take_cell (change, vd_table_lookup_column (change->table, "last_name"), &v);
    }
  g_ptr_array_add (changes, change);
  body = vd_push_request_encode (s->device_id, ++s->batch, changes, &len);
  a = call (desk, "POST", path, s->access, body);
  g_assert_cmpuint (a->status, ==, 200);
  g_assert_cmpint (json_object_get_int_member (obj (a), "accepted"), ==, bad ? 0 : 1);
}

static guint
pull_status (VdTestDesk *desk,
             Session    *s)
{
  g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=0&limit=1", s->tenant_id);
  g_autoptr(Answer) a = call (desk, "GET", path, s->access, NULL);

  return a->status;
}

/* The listing as the server gives it to this administrator. */
static Answer *
server_listing (VdTestDesk *desk,
                Session    *admin)
{
  Answer *a = call (desk, "GET", "/v1/admin/tenants", admin->access, NULL);

  g_assert_cmpuint (a->status, ==, 200);
  return a;
}

static JsonObject *
find_tenant (Answer     *listing,
             const char *name)
{
  JsonArray *tenants = json_object_get_array_member (obj (listing), "tenants");

  for (guint i = 0; i < json_array_get_length (tenants); i++)
    {
      JsonObject *t = json_array_get_object_element (tenants, i);

      if (g_strcmp0 (json_object_get_string_member (t, "name"), name) == 0)
        return t;
    }
  return NULL;
}

/* ---- the window ---- */

/* The health names as a person reads them, in the test's language. */
static const char *
health_text (const char *health)
{
  if (g_strcmp0 (health, "ok") == 0)
    return g_dgettext (GETTEXT_PACKAGE, "Up to date");
  if (g_strcmp0 (health, "lagging") == 0)
    return g_dgettext (GETTEXT_PACKAGE, "Lagging");
  if (g_strcmp0 (health, "offline") == 0)
    return g_dgettext (GETTEXT_PACKAGE, "Offline");
  if (g_strcmp0 (health, "errors") == 0)
    return g_dgettext (GETTEXT_PACKAGE, "Errors");
  g_error ("unknown health %s", health);
}

static const char *
health_css (const char *health)
{
  if (g_strcmp0 (health, "ok") == 0)
    return "success";
  if (g_strcmp0 (health, "lagging") == 0)
    return "warning";
  return "error";
}

static gboolean
match_class_and_text (GtkWidget     *widget,
                      gconstpointer  data)
{
  const char * const *pair = data;

  return GTK_IS_LABEL (widget) && gtk_widget_has_css_class (widget, pair[0]) &&
         gtk_widget_get_mapped (widget) &&
         g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), pair[1]) == 0;
}

/* The drawn row of a clinic in the column view, found by its name as shown; NULL when no
 * such row is on screen. */
static GtkWidget *
clinic_row (VdMonitorPage *page,
            const char    *name)
{
  const char *pair[] = { "clinic-name", name };
  GtkWidget *label = vd_test_ui_find (GTK_WIDGET (vd_monitor_page_get_column_view (page)),
                                      match_class_and_text, pair);

  /* label → its cell's box → the cell → the row */
  if (label == NULL)
    return NULL;
  return gtk_widget_get_parent (gtk_widget_get_parent (gtk_widget_get_parent (label)));
}

static const char *
row_label (GtkWidget  *row,
           const char *css_class)
{
  GtkWidget *label = vd_test_ui_find (row, vd_test_ui_match_class, css_class);

  g_assert_nonnull (label);
  g_assert_true (GTK_IS_LABEL (label));
  return gtk_label_get_text (GTK_LABEL (label));
}

/* The row of name shows the server's health, devices and conflicts. */
static gboolean
row_shows (VdMonitorPage *page,
           JsonObject    *tenant)
{
  GtkWidget *row = clinic_row (page, json_object_get_string_member (tenant, "name"));
  const char *health = json_object_get_string_member (tenant, "health");
  GtkWidget *cell;
  g_autofree char *devices = NULL;
  g_autofree char *conflicts = NULL;

  if (row == NULL)
    return FALSE;
  cell = vd_test_ui_find (row, vd_test_ui_match_class, "health-cell");
  devices = g_strdup_printf ("%" G_GINT64_FORMAT " / %" G_GINT64_FORMAT,
                             json_object_get_int_member (tenant, "devices_online"),
                             json_object_get_int_member (tenant, "devices"));
  conflicts = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (tenant, "open_conflicts"));
  return g_strcmp0 (row_label (row, "health-label"), health_text (health)) == 0 &&
         cell != NULL && gtk_widget_has_css_class (cell, health_css (health)) &&
         g_strcmp0 (row_label (row, "devices-label"), devices) == 0 &&
         g_strcmp0 (row_label (row, "conflicts-label"), conflicts) == 0;
}

static void
assert_row_shows (VdMonitorPage *page,
                  JsonObject    *tenant)
{
  GtkWidget *row = clinic_row (page, json_object_get_string_member (tenant, "name"));

  if (row_shows (page, tenant))
    return;
  g_assert_nonnull (row);
  g_error ("The row of %s shows “%s”, devices “%s”, conflicts “%s”; the server says %s, %" G_GINT64_FORMAT
           " / %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT,
           json_object_get_string_member (tenant, "name"), row_label (row, "health-label"),
           row_label (row, "devices-label"), row_label (row, "conflicts-label"),
           json_object_get_string_member (tenant, "health"),
           json_object_get_int_member (tenant, "devices_online"),
           json_object_get_int_member (tenant, "devices"),
           json_object_get_int_member (tenant, "open_conflicts"));
}

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

/* Ctrl+R, then the listing it asked for. */
static void
refresh_now (VdTestDesk    *desk,
             VdMonitorPage *page)
{
  guint loads;

  /* A tick's load may be under way; the refresh after it is the one waited for. */
  VD_TEST_UI_WAIT_UNTIL (gtk_widget_get_visible (vd_test_ui_find (GTK_WIDGET (page), vd_test_ui_match_type,
                                                                  GSIZE_TO_POINTER (GTK_TYPE_SPINNER))) == FALSE,
                         30, "a running load to end");
  loads = vd_monitor_page_get_n_loads (page);
  press_shortcut (GTK_WIDGET (desk->window), "<Control>r");
  VD_TEST_UI_WAIT_UNTIL (vd_monitor_page_get_n_loads (page) > loads, 30, "the refresh");
  vd_test_ui_settle (100);
}

static gboolean
menu_has_action (GMenuModel *menu,
                 const char *action)
{
  for (int i = 0; i < g_menu_model_get_n_items (menu); i++)
    {
      g_autoptr(GVariant) value = g_menu_model_get_item_attribute_value (menu, i, G_MENU_ATTRIBUTE_ACTION,
                                                                         G_VARIANT_TYPE_STRING);
      g_autoptr(GMenuModel) section = g_menu_model_get_item_link (menu, i, G_MENU_LINK_SECTION);

      if (value != NULL && g_strcmp0 (g_variant_get_string (value, NULL), action) == 0)
        return TRUE;
      if (section != NULL && menu_has_action (section, action))
        return TRUE;
    }
  return FALSE;
}

static gboolean
match_primary_menu (GtkWidget     *widget,
                    gconstpointer  data)
{
  return GTK_IS_MENU_BUTTON (widget) && gtk_widget_is_visible (widget) &&
         gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (widget)) != NULL &&
         menu_has_action (gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (widget)), data);
}

static GtkWidget *
find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();   /* not ours */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type) && gtk_widget_get_visible (window))
        return window;
    }
  return NULL;
}

static VdMonitorDevice *
find_device (VdMonitorPage *page,
             const char    *device_id)
{
  GListModel *devices = vd_monitor_page_get_devices (page);

  for (guint i = 0; i < g_list_model_get_n_items (devices); i++)
    {
      g_autoptr(VdMonitorDevice) d = g_list_model_get_item (devices, i);

      if (g_strcmp0 (vd_monitor_device_get_id (d), device_id) == 0)
        return d;
    }
  return NULL;
}

static gboolean
match_name (GtkWidget     *widget,
            gconstpointer  data)
{
  return g_strcmp0 (gtk_widget_get_name (widget), data) == 0;
}

static const char *
tenant_id_of (Answer     *listing,
              const char *name)
{
  JsonObject *t = find_tenant (listing, name);

  g_assert_nonnull (t);
  return json_object_get_string_member (t, "id");
}

static void
test_monitor (void)
{
  g_autoptr(VdTestDesk) desk = vd_test_desk_new ();
  g_autoptr(Session) centro = NULL;
  g_autoptr(Session) petspa = NULL;
  g_autoptr(Session) vetgroom = NULL;
  g_autoptr(Session) platform = NULL;
  g_autoptr(Session) company = NULL;
  g_autoptr(Answer) listing = NULL;
  g_autoptr(Answer) later = NULL;
  g_autoptr(Answer) own = NULL;
  VdMonitorPage *page = vd_window_get_monitor_page (desk->window);
  GListModel *shown = vd_monitor_page_get_shown (page);
  GListModel *columns;
  JsonArray *tenants;
  JsonObject *t;
  GtkWidget *row, *button, *dialog;
  g_autofree char *centro_id = NULL;
  guint errors = 0, device_loads;

  /* Desks at work: Centro's pushes a pet of an unknown species (refused), Pet Spa's a
   * client (accepted). */
  centro = login (desk, CENTRO_DESK, "Recepción Centro");
  push (desk, centro, FALSE);
  push (desk, centro, TRUE);
  petspa = login (desk, PETSPA_DESK, TEST_DEVICE);
  push (desk, petspa, FALSE);
  g_assert_cmpuint (pull_status (desk, petspa), ==, 200);

  /* ---- the platform administrator: every clinic, with the server's health ---- */
  vd_test_desk_sign_in_admin (desk, PLATFORM_ADMIN);
  g_assert_cmpstr (vd_window_get_page (desk->window), ==, "monitor");
  VD_TEST_UI_WAIT_UNTIL (vd_monitor_page_get_n_loads (page) > 0, 30, "the clinics");
  g_assert_null (vd_monitor_page_get_error (page));

  platform = login (desk, PLATFORM_ADMIN, "test");
  listing = server_listing (desk, platform);
  tenants = json_object_get_array_member (obj (listing), "tenants");
  g_assert_cmpuint (json_array_get_length (tenants), ==, 5);
  /* The refused change made Centro "errors"; no other demo clinic had a desk fail. */
  g_assert_cmpstr (json_object_get_string_member (find_tenant (listing, "Clínica Veterinaria Centro"), "health"), ==, "errors");
  centro_id = g_strdup (tenant_id_of (listing, "Clínica Veterinaria Centro"));

  /* The window shows the same, asked again so both are of the same moment. */
  refresh_now (desk, page);
  g_assert_cmpuint (g_list_model_get_n_items (vd_monitor_page_get_tenants (page)), ==, 5);
  g_assert_cmpuint (g_list_model_get_n_items (shown), ==, 5);
  for (guint i = 0; i < json_array_get_length (tenants); i++)
    {
      t = json_array_get_object_element (tenants, i);
      if (g_strcmp0 (json_object_get_string_member (t, "health"), "errors") == 0)
        errors++;
      VD_TEST_UI_WAIT_UNTIL (clinic_row (page, json_object_get_string_member (t, "name")) != NULL, 10,
                             "every clinic's row");
      assert_row_shows (page, t);
    }

  /* Worst first: the clinic with errors tops the list. */
  {
    g_autoptr(VdMonitorTenant) first = g_list_model_get_item (shown, 0);

    g_assert_cmpstr (vd_monitor_tenant_get_health (first), ==, "errors");
  }
  vd_test_ui_screenshot (GTK_WIDGET (desk->window), "monitor");

  /* ---- sorting: by name, then by activity ---- */
  columns = gtk_column_view_get_columns (vd_monitor_page_get_column_view (page));
  g_assert_cmpuint (g_list_model_get_n_items (columns), ==, 6);
  {
    g_autoptr(GtkColumnViewColumn) name_column = g_list_model_get_item (columns, 1);
    g_autoptr(GtkColumnViewColumn) activity_column = g_list_model_get_item (columns, 5);

    gtk_column_view_sort_by_column (vd_monitor_page_get_column_view (page), name_column, GTK_SORT_ASCENDING);
    for (guint i = 1; i < g_list_model_get_n_items (shown); i++)
      {
        g_autoptr(VdMonitorTenant) a = g_list_model_get_item (shown, i - 1);
        g_autoptr(VdMonitorTenant) b = g_list_model_get_item (shown, i);
        g_autofree char *fa = g_utf8_casefold (vd_monitor_tenant_get_name (a), -1);
        g_autofree char *fb = g_utf8_casefold (vd_monitor_tenant_get_name (b), -1);

        g_assert_cmpint (g_utf8_collate (fa, fb), <=, 0);
      }
    gtk_column_view_sort_by_column (vd_monitor_page_get_column_view (page), activity_column, GTK_SORT_DESCENDING);
    for (guint i = 1; i < g_list_model_get_n_items (shown); i++)
      {
        g_autoptr(VdMonitorTenant) a = g_list_model_get_item (shown, i - 1);
        g_autoptr(VdMonitorTenant) b = g_list_model_get_item (shown, i);

        g_assert_cmpint (vd_monitor_tenant_get_activity_total (a), >=, vd_monitor_tenant_get_activity_total (b));
      }
    /* Centro pushed twice this hour: its chart's last bar counts the calls. */
    row = clinic_row (page, "Clínica Veterinaria Centro");
    g_assert_nonnull (row);
    {
      VdSparkline *chart = VD_SPARKLINE (vd_test_ui_find (row, vd_test_ui_match_type,
                                                          GSIZE_TO_POINTER (VD_TYPE_SPARKLINE)));

      g_assert_cmpuint (vd_sparkline_get_n_values (chart), ==, 24);
      g_assert_cmpint (vd_sparkline_get_value (chart, 23) + vd_sparkline_get_value (chart, 22), >=, 2);
    }
    gtk_column_view_sort_by_column (vd_monitor_page_get_column_view (page), name_column, GTK_SORT_ASCENDING);
  }

  /* ---- filtering: a name, a state ---- */
  gtk_editable_set_text (vd_monitor_page_get_search_entry (page), "spa");
  VD_TEST_UI_WAIT_UNTIL (g_list_model_get_n_items (shown) == 1, 10, "the search");
  {
    g_autoptr(VdMonitorTenant) only = g_list_model_get_item (shown, 0);

    g_assert_cmpstr (vd_monitor_tenant_get_name (only), ==, "Pet Spa Deluxe");
  }
  gtk_editable_set_text (vd_monitor_page_get_search_entry (page), "");
  VD_TEST_UI_WAIT_UNTIL (g_list_model_get_n_items (shown) == 5, 10, "the search to clear");
  gtk_drop_down_set_selected (vd_monitor_page_get_health_filter (page), 4);
  g_assert_cmpuint (g_list_model_get_n_items (shown), ==, errors);
  for (guint i = 0; i < g_list_model_get_n_items (shown); i++)
    {
      g_autoptr(VdMonitorTenant) tenant = g_list_model_get_item (shown, i);

      g_assert_cmpstr (vd_monitor_tenant_get_health (tenant), ==, "errors");
    }
  gtk_drop_down_set_selected (vd_monitor_page_get_health_filter (page), 0);
  g_assert_cmpuint (g_list_model_get_n_items (shown), ==, 5);

  /* ---- drill-down: Centro's devices, its desk's last error ---- */
  g_assert_true (vd_monitor_page_select_tenant (page, centro_id));
  VD_TEST_UI_WAIT_UNTIL (vd_monitor_page_get_n_device_loads (page) > 0, 30, "Centro's devices");
  {
    VdMonitorDevice *d = find_device (page, centro->device_id);

    g_assert_nonnull (d);
    g_assert_cmpstr (vd_monitor_device_get_name (d), ==, "Recepción Centro");
    g_assert_cmpstr (vd_monitor_device_get_user (d), ==, CENTRO_DESK);
    g_assert_cmpstr (vd_monitor_device_get_error_code (d), ==, "invalid_change");
    g_assert_false (vd_monitor_device_get_revoked (d));
    row = vd_test_ui_find (GTK_WIDGET (page), match_name, centro->device_id);
    g_assert_nonnull (row);
    g_assert_nonnull (vd_test_ui_find (row, vd_test_ui_match_class, "error"));
  }
  vd_test_ui_screenshot (GTK_WIDGET (desk->window), "monitor-clinic");

  /* A narrow window (the other pages keep it above 600 pixels) folds: the list alone, a
   * clinic on its own page. */
  gtk_window_set_default_size (GTK_WINDOW (desk->window), 600, 800);
  VD_TEST_UI_WAIT_UNTIL (gtk_widget_get_width (GTK_WIDGET (desk->window)) < 700, 10, "the narrow window");
  g_assert_true (vd_monitor_page_select_tenant (page, centro_id));
  vd_test_ui_screenshot (GTK_WIDGET (desk->window), "monitor-narrow");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "monitor.show-list", NULL));
  vd_test_ui_settle (300);
  g_assert_nonnull (clinic_row (page, "Clínica Veterinaria Centro"));
  gtk_window_set_default_size (GTK_WINDOW (desk->window), 1280, 800);
  VD_TEST_UI_WAIT_UNTIL (gtk_widget_get_width (GTK_WIDGET (desk->window)) > 1000, 10, "the wide window");

  /* ---- live: another clinic fails; the next automatic refresh (10 s) shows it and the
   * open clinic stays selected ---- */
  vetgroom = login (desk, VETGROOM_DESK, "Recepción Vetgroom");
  push (desk, vetgroom, TRUE);
  /* The server's listing is a snapshot of up to 2 s: wait for one taken after the push. */
  for (gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;;)
    {
      g_clear_pointer (&later, answer_free);
      later = server_listing (desk, platform);
      t = find_tenant (later, "Vetgroom1");
      if (g_strcmp0 (json_object_get_string_member (t, "health"), "errors") == 0
          || g_get_monotonic_time () > until)
        break;
      vd_test_ui_settle (200);
    }
  g_assert_cmpstr (json_object_get_string_member (t, "health"), ==, "errors");
  VD_TEST_UI_WAIT_UNTIL (row_shows (page, t), 25, "Vetgroom1 to show its errors");
  g_assert_nonnull (vd_monitor_page_get_selected (page));
  g_assert_cmpstr (vd_monitor_tenant_get_id (vd_monitor_page_get_selected (page)), ==, centro_id);
  {
    GtkSelectionModel *selection = gtk_column_view_get_model (vd_monitor_page_get_column_view (page));
    VdMonitorTenant *selected = gtk_single_selection_get_selected_item (GTK_SINGLE_SELECTION (selection));

    g_assert_nonnull (selected);
    g_assert_cmpstr (vd_monitor_tenant_get_id (selected), ==, centro_id);
  }

  /* ---- signing out, from the primary menu's action ---- */
  g_assert_nonnull (vd_test_ui_find (GTK_WIDGET (page), match_primary_menu, "win.sign-out"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "win.sign-out", NULL));
  VD_TEST_UI_WAIT_UNTIL (g_strcmp0 (vd_window_get_page (desk->window), "sign-in") == 0, 10, "the sign-in page");
  g_assert_null (vd_monitor_page_get_client (page));
  g_assert_cmpuint (g_list_model_get_n_items (vd_monitor_page_get_tenants (page)), ==, 0);

  /* ---- a company administrator: their clinic only ---- */
  vd_test_desk_sign_in_admin (desk, COMPANY_ADMIN);
  VD_TEST_UI_WAIT_UNTIL (vd_monitor_page_get_n_loads (page) > 0, 30, "the company's clinics");
  company = login (desk, COMPANY_ADMIN, "test");
  own = server_listing (desk, company);
  tenants = json_object_get_array_member (obj (own), "tenants");
  g_assert_cmpuint (json_array_get_length (tenants), ==, 1);
  t = json_array_get_object_element (tenants, 0);
  g_assert_cmpstr (json_object_get_string_member (t, "name"), ==, "Pet Spa Deluxe");
  g_assert_cmpuint (g_list_model_get_n_items (vd_monitor_page_get_tenants (page)), ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (shown), ==, 1);
  VD_TEST_UI_WAIT_UNTIL (clinic_row (page, "Pet Spa Deluxe") != NULL, 10, "Pet Spa Deluxe's row");
  g_assert_null (clinic_row (page, "Clínica Veterinaria Centro"));
  refresh_now (desk, page);
  {
    g_autoptr(Answer) now = server_listing (desk, company);

    assert_row_shows (page, json_array_get_object_element (json_object_get_array_member (obj (now), "tenants"), 0));
  }

  /* ---- revoking the test desk ---- */
  g_assert_true (vd_monitor_page_select_tenant (page, petspa->tenant_id));
  VD_TEST_UI_WAIT_UNTIL (find_device (page, petspa->device_id) != NULL, 30, "the test desk among the devices");
  g_assert_cmpstr (vd_monitor_device_get_name (find_device (page, petspa->device_id)), ==, TEST_DEVICE);
  g_assert_false (vd_monitor_device_get_revoked (find_device (page, petspa->device_id)));
  row = vd_test_ui_find (GTK_WIDGET (page), match_name, petspa->device_id);
  g_assert_nonnull (row);
  button = vd_test_ui_find (row, vd_test_ui_match_button_class, "revoke-button");
  g_assert_nonnull (button);
  device_loads = vd_monitor_page_get_n_device_loads (page);
  vd_test_ui_click (button);
  VD_TEST_UI_WAIT_UNTIL ((dialog = find_toplevel (ADW_TYPE_MESSAGE_DIALOG)) != NULL, 10, "the confirmation");
  vd_test_ui_screenshot (dialog, "monitor-revoke-dialog");
  /* Asking first: nothing is revoked before the answer. */
  g_assert_cmpuint (pull_status (desk, petspa), ==, 200);
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "revoke");
  VD_TEST_UI_WAIT_UNTIL (vd_monitor_page_get_n_device_loads (page) > device_loads &&
                         find_device (page, petspa->device_id) != NULL &&
                         vd_monitor_device_get_revoked (find_device (page, petspa->device_id)), 30,
                         "the device to show revoked");
  row = vd_test_ui_find (GTK_WIDGET (page), match_name, petspa->device_id);
  g_assert_nonnull (row);
  g_assert_nonnull (vd_test_ui_find (row, vd_test_ui_match_class, "revoked-label"));
  g_assert_null (vd_test_ui_find (row, vd_test_ui_match_button_class, "revoke-button"));
  vd_test_ui_screenshot (GTK_WIDGET (desk->window), "monitor-revoked");

  /* The revoked desk's next call is refused. */
  g_assert_cmpuint (pull_status (desk, petspa), ==, 401);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (page), "win.sign-out", NULL));
  VD_TEST_UI_WAIT_UNTIL (g_strcmp0 (vd_window_get_page (desk->window), "sign-in") == 0, 10, "the sign-in page");

  /* ---- a desk signs out the same way ---- */
  vd_test_desk_sign_in (desk, CENTRO_DESK);
  {
    g_autoptr(VdAccount) account = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *token = NULL;
    g_autofree char *body = NULL;
    char *left = NULL;

    account = vd_account_load (&error);
    g_assert_no_error (error);
    g_assert_nonnull (account);
    VD_TEST_UI_WAIT_UNTIL ((token = vd_credentials_lookup (account->server_url, account->username, NULL)) != NULL,
                           10, "the desk's sign-in in the keyring");
    g_assert_nonnull (vd_test_ui_find (GTK_WIDGET (desk->window), match_primary_menu, "win.sign-out"));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (desk->window), "win.sign-out", NULL));
    VD_TEST_UI_WAIT_UNTIL (g_strcmp0 (vd_window_get_page (desk->window), "sign-in") == 0, 10, "the sign-in page");
    g_assert_null (vd_window_get_store (desk->window));
    /* Forgotten here (account and keyring) and ended on the server. */
    g_clear_pointer (&account, vd_account_free);
    account = vd_account_load (&error);
    g_assert_no_error (error);
    g_assert_null (account);
    VD_TEST_UI_WAIT_UNTIL ((left = vd_credentials_lookup (vd_test_syncd_get_url (desk->syncd), CENTRO_DESK, NULL)) == NULL,
                           10, "the keyring entry to go");
    body = g_strdup_printf ("{\"refresh_token\":\"%s\"}", token);
    VD_TEST_UI_WAIT_UNTIL (status_is (desk, "POST", "/v1/auth/refresh", body, 401), 10,
                           "the desk's session to end on the server");
  }
}

/* ---- ten thousand clinics ---- */

#define MANY_CLINICS 10000

/* Copies a demo clinic's row MANY_CLINICS - 5 times straight into the daemon's SQLite
 * file (SQLite's locking lets another process write it): the real listing query then
 * serves ten thousand clinics. */
static void
add_clinics (VdTestDesk *desk)
{
  g_autofree char *path = g_build_filename (vd_test_syncd_get_data_dir (desk->syncd), "vetdesk.db", NULL);
  g_autofree char *sql = NULL;
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 10000);
  sql = g_strdup_printf ("WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
                         "INSERT INTO tenants (id, slug, name, timezone, currency, company_id, created_at) "
                         "SELECT printf ('%%08x-0000-4000-8000-%%012x', i, i), 'many-' || i, "
                         "       'Clínica de prueba ' || i, t.timezone, t.currency, t.company_id, t.created_at "
                         "FROM n, (SELECT * FROM tenants WHERE slug = 'clinica-centro') AS t",
                         MANY_CLINICS - 5);
  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("Could not add the clinics: %s", message);
  sqlite3_close (db);
}

/* The longest the main loop went without running, while work happens. */
typedef struct
{
  gint64 last;
  gint64 longest;
} Stall;

static gboolean
stall_tick (gpointer data)
{
  Stall *stall = data;
  gint64 now = g_get_monotonic_time ();

  if (stall->last > 0)
    stall->longest = MAX (stall->longest, now - stall->last);
  stall->last = now;
  return G_SOURCE_CONTINUE;
}

static void
test_many (void)
{
  g_autoptr(VdTestDesk) desk = vd_test_desk_new ();
  VdMonitorPage *page = vd_window_get_monitor_page (desk->window);
  GListModel *shown = vd_monitor_page_get_shown (page);
  Stall stall = { 0, };
  guint stall_id;
  gint64 start, loaded, refreshed;
  g_autofree char *wanted = NULL;

  add_clinics (desk);
  vd_test_desk_sign_in_admin (desk, PLATFORM_ADMIN);
  start = g_get_monotonic_time ();
  VD_TEST_UI_WAIT_UNTIL (vd_monitor_page_get_n_loads (page) > 0, 60, "ten thousand clinics");
  loaded = g_get_monotonic_time () - start;
  g_assert_cmpuint (g_list_model_get_n_items (shown), ==, MANY_CLINICS);
  g_assert_null (vd_monitor_page_get_error (page));

  /* A refresh of all of them, with a row selected: the window keeps drawing (the answer is
   * parsed off the main thread, the items are updated in place) and the row stays. */
  wanted = g_strdup_printf ("%08x-0000-4000-8000-%012x", 4321, 4321);
  g_assert_true (vd_monitor_page_select_tenant (page, wanted));
  stall_id = g_timeout_add (5, stall_tick, &stall);
  start = g_get_monotonic_time ();
  refresh_now (desk, page);
  refreshed = g_get_monotonic_time () - start;
  g_source_remove (stall_id);
  g_assert_cmpstr (vd_monitor_tenant_get_id (vd_monitor_page_get_selected (page)), ==, wanted);

  /* A search over all of them. */
  start = g_get_monotonic_time ();
  gtk_editable_set_text (vd_monitor_page_get_search_entry (page), "prueba 4321");
  /* The entry waits a moment after the last keystroke (GtkSearchEntry's delay). */
  VD_TEST_UI_WAIT_UNTIL (g_list_model_get_n_items (shown) == 1, 10, "the search among ten thousand");
  g_test_message ("%d clinics: first load %.0f ms, refresh %.0f ms with the main loop held at most %.0f ms, "
                  "search %.1f ms", MANY_CLINICS, loaded / 1000.0, refreshed / 1000.0, stall.longest / 1000.0,
                  (g_get_monotonic_time () - start) / 1000.0);
  vd_test_ui_screenshot (GTK_WIDGET (desk->window), "monitor-many");

  /* Not a benchmark: bounds far above what it takes, that an O(n²) step would break. */
  g_assert_cmpint (stall.longest, <, 1500 * 1000);
  g_assert_cmpint (refreshed, <, 20 * G_USEC_PER_SEC);
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

  g_test_add_func ("/ui/monitor/admins", test_monitor);
  g_test_add_func ("/ui/monitor/ten-thousand", test_many);
  return vd_test_ui_finish (g_test_run ());
}
