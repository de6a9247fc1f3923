/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-a11y-day-view.c — the Schedule's day view as assistive technologies and keyboard
 * users meet it. A desk signed in to a real syncd shows a demo day with allergies and a
 * double booking; tests/ui/a11y-day-view.py then reads the desk through AT-SPI (pyatspi)
 * from another process: every block is in the tree under its full name, the grid is a
 * table with staff and hour headers, and the keyboard alone opens a block's menu and
 * books a free slot. The drawing's colour pairs are checked for contrast in light, dark
 * and high contrast, the grid's sizes follow 1.5× text, and screenshots are taken. */
#define G_LOG_DOMAIN "test-a11y-day-view"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "vd-test-ui.h"
#include "vd-store-models.h"
#include "vd-time.h"

#define DEMO_USER "recepcion.centro"

static VdTestDesk *desk;
static int shown_year, shown_month, shown_day;

/* ---- the day under test ---- */

static gboolean
is_active (VdAppointmentItem *item)
{
  return g_strcmp0 (vd_appointment_item_get_status (item), "cancelled") != 0 &&
         g_strcmp0 (vd_appointment_item_get_status (item), "no_show") != 0;
}

/* Whether another active appointment of the same staff member overlaps item. */
static gboolean
is_double_booked (GListModel        *day,
                  VdAppointmentItem *item)
{
  if (!is_active (item))
    return FALSE;
  for (guint i = 0; i < g_list_model_get_n_items (day); i++)
    {
      g_autoptr(VdAppointmentItem) other = g_list_model_get_item (day, i);

      if (other != item && is_active (other) &&
          g_strcmp0 (vd_appointment_item_get_id (other), vd_appointment_item_get_id (item)) != 0 &&
          g_strcmp0 (vd_appointment_item_get_staff_id (other), vd_appointment_item_get_staff_id (item)) == 0 &&
          vd_appointment_item_get_starts_at (other) < vd_appointment_item_get_ends_at (item) &&
          vd_appointment_item_get_starts_at (item) < vd_appointment_item_get_ends_at (other))
        return TRUE;
    }
  return FALSE;
}

/* The name the issue asks for, built here from the item, not by the view's code:
 * "09:30–09:45, Dana, Inés Delgado Díaz, Vaccination, Completed, allergies: penicillin". */
static char *
expected_name (GListModel        *day,
               VdAppointmentItem *item,
               GTimeZone         *zone)
{
  g_autoptr(GDateTime) from = vd_time_to_zone (vd_appointment_item_get_starts_at (item), zone);
  g_autoptr(GDateTime) to = vd_time_to_zone (vd_appointment_item_get_ends_at (item), zone);
  GString *name = g_string_new (NULL);
  g_autofree char *allergies = g_strstrip (g_strdup (vd_appointment_item_get_pet_allergies (item)));

  g_string_append_printf (name, "%02d:%02d–%02d:%02d, %s, %s, %s, %s",
                          g_date_time_get_hour (from), g_date_time_get_minute (from),
                          g_date_time_get_hour (to), g_date_time_get_minute (to),
                          vd_appointment_item_get_pet_name (item),
                          vd_appointment_item_get_client_name (item),
                          vd_appointment_kind_label (vd_appointment_item_get_kind (item)),
                          vd_appointment_status_label (vd_appointment_item_get_status (item)));
  if (*allergies != '\0')
    g_string_append_printf (name, ", allergies: %s", allergies);
  if (is_double_booked (day, item))
    g_string_append (name, ", double-booked");
  return g_string_free (name, FALSE);
}

/* A day of the demo clinic with a double booking and a pet with allergies, within the
 * next weeks (the demo makes double bookings from tomorrow on). */
static void
find_day (VdStore *store,
          int     *year,
          int     *month,
          int     *day)
{
  GTimeZone *zone = vd_store_get_time_zone (store);
  g_autoptr(GDateTime) now = g_date_time_new_now (zone);

  for (int offset = 1; offset < 60; offset++)
    {
      g_autoptr(GDateTime) date = g_date_time_add_days (now, offset);
      g_autoptr(VdAppointmentList) list = vd_appointment_list_new (store, 0, 0, NULL);
      gboolean allergy = FALSE, overlap = FALSE;
      guint n;

      vd_appointment_list_set_day (list, g_date_time_get_year (date), g_date_time_get_month (date),
                                   g_date_time_get_day_of_month (date));
      vd_store_list_refresh (G_LIST_MODEL (list));
      n = g_list_model_get_n_items (G_LIST_MODEL (list));
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(VdAppointmentItem) item = g_list_model_get_item (G_LIST_MODEL (list), i);

          allergy |= *vd_appointment_item_get_pet_allergies (item) != '\0';
          overlap |= is_double_booked (G_LIST_MODEL (list), item);
        }
      if (allergy && overlap)
        {
          *year = g_date_time_get_year (date);
          *month = g_date_time_get_month (date);
          *day = g_date_time_get_day_of_month (date);
          return;
        }
    }
  g_error ("No demo day in the next 60 has both a double booking and an allergy");
}

static void
ensure_desk (void)
{
  VdDayView *day_view;

  if (desk != NULL)
    return;
  desk = vd_test_desk_new ();
  gtk_window_set_default_size (GTK_WINDOW (desk->window), 1440, 900);
  vd_test_desk_sign_in (desk, DEMO_USER);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (desk->window), "win.show-section", "s", "schedule"));
  find_day (desk->store, &shown_year, &shown_month, &shown_day);
  vd_window_set_date (desk->window, shown_year, shown_month, shown_day);
  day_view = vd_window_get_day_view (desk->window);
  VD_TEST_UI_WAIT_UNTIL (vd_day_view_get_appointments (day_view) != NULL &&
                         g_list_model_get_n_items (vd_day_view_get_appointments (day_view)) > 0,
                         30, "the day's appointments");
  vd_test_ui_settle (300);
}

/* ---- AT-SPI and the keyboard ---- */

static void
write_expectations (const char *path,
                    GStrv      *out_blocks)
{
  VdDayView *day_view = vd_window_get_day_view (desk->window);
  GListModel *day = vd_day_view_get_appointments (day_view);
  GTimeZone *zone = vd_store_get_time_zone (desk->store);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  g_auto(GStrv) columns = vd_day_view_dup_column_ids (day_view);
  g_autoptr(GError) error = NULL;
  int first_hour = 24, last_hour = 0;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "pid");
  json_builder_add_int_value (builder, getpid ());

  json_builder_set_member_name (builder, "blocks");
  json_builder_begin_array (builder);
  for (guint i = 0; i < g_list_model_get_n_items (day); i++)
    {
      g_autoptr(VdAppointmentItem) item = g_list_model_get_item (day, i);
      g_autofree char *name = expected_name (day, item, zone);
      g_autoptr(GDateTime) from = vd_time_to_zone (vd_appointment_item_get_starts_at (item), zone);
      g_autoptr(GDateTime) to = vd_time_to_zone (vd_appointment_item_get_ends_at (item), zone);

      first_hour = MIN (first_hour, g_date_time_get_hour (from));
      last_hour = MAX (last_hour, g_date_time_get_hour (to) + (g_date_time_get_minute (to) > 0));
      json_builder_add_string_value (builder, name);
      g_strv_builder_add (names, name);
    }
  json_builder_end_array (builder);

  /* The staff columns, by the staff list's names and roles. */
  json_builder_set_member_name (builder, "columns");
  json_builder_begin_array (builder);
  for (guint c = 0; columns[c] != NULL; c++)
    {
      g_autoptr(VdStaffList) staff = vd_staff_list_new (desk->store);
      gboolean found = FALSE;

      vd_store_list_refresh (G_LIST_MODEL (staff));
      for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (staff)) && !found; i++)
        {
          g_autoptr(VdStaffItem) s = g_list_model_get_item (G_LIST_MODEL (staff), i);

          if (g_strcmp0 (vd_staff_item_get_id (s), columns[c]) == 0)
            {
              json_builder_add_string_value (builder, vd_staff_item_get_name (s));
              found = TRUE;
            }
        }
      g_assert_true (found);
    }
  json_builder_end_array (builder);

  /* Hours 08:00 to 21:00 at least, more when appointments lie outside. */
  json_builder_set_member_name (builder, "hours");
  json_builder_begin_array (builder);
  for (int hour = MIN (first_hour, 8); hour < MAX (last_hour, 21); hour++)
    {
      g_autofree char *text = g_strdup_printf ("%02d:00", hour);

      json_builder_add_string_value (builder, text);
    }
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "column_header_is_filler");
  json_builder_add_boolean_value (builder, gtk_check_version (4, 10, 0) != NULL);
  /* The grid's name begins with the word its label has ("Schedule for …"). */
  json_builder_set_member_name (builder, "table_name");
  json_builder_add_string_value (builder, _("Schedule"));
  json_builder_set_member_name (builder, "edit_label");
  json_builder_add_string_value (builder, _("Edit…"));
  json_builder_set_member_name (builder, "editor_title");
  json_builder_add_string_value (builder, _("New Appointment"));
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  g_assert_true (json_generator_to_file (generator, path, &error));
  g_assert_no_error (error);
  *out_blocks = g_strv_builder_end (names);
}

typedef struct
{
  gboolean  done;
  char     *out;
  char     *err;
  GError   *error;
} Checker;

static void
checker_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Checker *checker = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &checker->out,
                                        &checker->err, &checker->error);
  checker->done = TRUE;
}

static gboolean
checker_timeout_cb (gpointer user_data)
{
  vd_test_ui_describe ();
  g_error ("The AT-SPI checker did not finish in 500 s");
  return G_SOURCE_REMOVE;
}

/* Runs the AT-SPI checker with the expectations; returns what it wrote as its result. */
static JsonObject *
run_checker (const char *expect,
             const char *result)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "ui", "a11y-day-view.py", NULL);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  JsonParser *parser = json_parser_new ();
  JsonObject *obj;
  Checker checker = { 0 };
  guint timeout;

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                              g_getenv ("VD_TEST_PYTHON3") ? g_getenv ("VD_TEST_PYTHON3") : "python3",
                              script, expect, result,
                              g_getenv ("VD_TEST_A11Y_DUMP") ? "--dump" : NULL, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, checker_done_cb, &checker);
  /* Blocking iterations: the checker's many AT-SPI calls are answered at once. Its own
   * waits are bounded; this one only stops a hang. */
  timeout = g_timeout_add_seconds (500, checker_timeout_cb, NULL);
  while (!checker.done)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout);
  g_assert_no_error (checker.error);
  {
    g_autofree char *all = g_strconcat (checker.out, checker.err, NULL);
    g_auto(GStrv) lines = g_strsplit (all, "\n", -1);

    for (guint i = 0; lines[i] != NULL; i++)
      if (*lines[i] != '\0')
        g_test_message ("checker: %s", lines[i]);
  }
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    g_error ("The AT-SPI checker failed (its output is above)");
  g_free (checker.out);
  g_free (checker.err);

  g_assert_true (json_parser_load_from_file (parser, result, &error));
  g_assert_no_error (error);
  obj = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
  g_object_unref (parser);
  return obj;
}

static void
test_atspi (void)
{
  VdDayView *day_view;
  GListModel *day;
  g_autofree char *dir = g_build_filename (vd_test_ui_get_home (), "a11y", NULL);
  g_autofree char *expect = g_build_filename (dir, "expect.json", NULL);
  g_autofree char *result = g_build_filename (dir, "result.json", NULL);
  g_auto(GStrv) blocks = NULL;
  g_autoptr(JsonObject) obj = NULL;
  const char *slot;
  gboolean booked = FALSE;
  guint n_before;

  ensure_desk ();
  day_view = vd_window_get_day_view (desk->window);
  day = vd_day_view_get_appointments (day_view);
  g_mkdir_with_parents (dir, 0700);
  write_expectations (expect, &blocks);
  g_assert_cmpuint (g_strv_length (blocks), >, 0);
  n_before = g_list_model_get_n_items (day);

  obj = run_checker (expect, result);
  /* The focus ring on the booked block. The focus is in the grid; the window shows focus
   * rings after keyboard use (made sure of for the screenshot: Xvfb's pointer may have
   * turned them off). */
  {
    GtkWidget *focus = gtk_window_get_focus (GTK_WINDOW (desk->window));

    g_assert_nonnull (focus);
    g_assert_true (gtk_widget_is_ancestor (focus, GTK_WIDGET (day_view)));
    g_test_message ("focus visible after the checker: %d",
                    gtk_window_get_focus_visible (GTK_WINDOW (desk->window)));
    gtk_window_set_focus_visible (GTK_WINDOW (desk->window), TRUE);
    vd_test_ui_settle (300);
    vd_test_ui_screenshot (GTK_WIDGET (desk->window), "a11y-schedule-keyboard");
  }

  /* The slot booked from the keyboard is an appointment now, at its time and staff. */
  slot = json_object_get_string_member (obj, "booked_slot");
  g_assert_nonnull (slot);
  VD_TEST_UI_WAIT_UNTIL (g_list_model_get_n_items (day) > n_before, 30, "the booked appointment");
  for (guint i = 0; i < g_list_model_get_n_items (day) && !booked; i++)
    {
      g_autoptr(VdAppointmentItem) item = g_list_model_get_item (day, i);
      g_autoptr(GDateTime) from = vd_time_to_zone (vd_appointment_item_get_starts_at (item),
                                                   vd_store_get_time_zone (desk->store));
      g_autofree char *prefix = g_strdup_printf ("%02d:%02d–", g_date_time_get_hour (from),
                                                 g_date_time_get_minute (from));
      g_autofree char *staff = g_strdup_printf (", %s, ", vd_appointment_item_get_staff_name (item));

      booked = g_str_has_prefix (slot, prefix) && strstr (slot, staff) != NULL;
    }
  if (!booked)
    g_error ("No appointment at the free slot booked from the keyboard: %s", slot);
}

/* ---- contrast, large text, screenshots ---- */

/* WCAG 2 relative luminance and contrast ratio, written here rather than taken from the
 * view's code. */
static double
channel (double c)
{
  return c <= 0.03928 ? c / 12.92 : pow ((c + 0.055) / 1.055, 2.4);
}

static double
luminance (const GdkRGBA *rgba)
{
  return 0.2126 * channel (rgba->red) + 0.7152 * channel (rgba->green) + 0.0722 * channel (rgba->blue);
}

static double
contrast (const GdkRGBA *a,
          const GdkRGBA *b)
{
  double la = luminance (a), lb = luminance (b);

  return (MAX (la, lb) + 0.05) / (MIN (la, lb) + 0.05);
}

static void
set_style (gboolean dark,
           gboolean high_contrast)
{
  AdwStyleManager *manager = adw_style_manager_get_default ();
  g_autoptr(GSettings) a11y = g_settings_new ("org.gnome.desktop.a11y.interface");

  adw_style_manager_set_color_scheme (manager, dark ? ADW_COLOR_SCHEME_FORCE_DARK : ADW_COLOR_SCHEME_FORCE_LIGHT);
  /* No portal under the test's bus: libadwaita follows this setting (memory backend). */
  g_settings_set_boolean (a11y, "high-contrast", high_contrast);
  VD_TEST_UI_WAIT_UNTIL (adw_style_manager_get_dark (manager) == dark &&
                         adw_style_manager_get_high_contrast (manager) == high_contrast,
                         10, "the style to change");
  vd_test_ui_settle (300);
}

static void
test_contrast (void)
{
  static const struct { const char *name; gboolean dark, hc; } styles[] = {
    { "light", FALSE, FALSE },
    { "dark", TRUE, FALSE },
    { "high contrast", FALSE, TRUE },
    { "dark high contrast", TRUE, TRUE },
  };
  VdDayView *day_view;
  guint failures = 0;

  ensure_desk ();
  day_view = vd_window_get_day_view (desk->window);
  for (guint s = 0; s < G_N_ELEMENTS (styles); s++)
    {
      g_autoptr(GArray) pairs = NULL;

      set_style (styles[s].dark, styles[s].hc);
      pairs = vd_day_view_dup_contrast_pairs (day_view);
      g_assert_cmpuint (pairs->len, >, 10);
      for (guint i = 0; i < pairs->len; i++)
        {
          VdDayViewContrastPair *pair = &g_array_index (pairs, VdDayViewContrastPair, i);
          double ratio = contrast (&pair->fg, &pair->bg);

          if (ratio < pair->min_ratio)
            {
              g_autofree char *fg = gdk_rgba_to_string (&pair->fg);
              g_autofree char *bg = gdk_rgba_to_string (&pair->bg);

              g_test_message ("%s: %s at %.2f:1 (%s on %s), needs %.1f:1", styles[s].name,
                              pair->what, ratio, fg, bg, pair->min_ratio);
              failures++;
            }
        }
    }
  set_style (FALSE, FALSE);
  g_assert_cmpuint (failures, ==, 0);
}

static void
screenshot_at (const char *name,
               int         width,
               int         height)
{
  gtk_window_set_default_size (GTK_WINDOW (desk->window), width, height);
  /* Within what decorations and the screen's edge may take. */
  VD_TEST_UI_WAIT_UNTIL (ABS (gtk_widget_get_width (GTK_WIDGET (desk->window)) - width) < 80, 10, "the window's size");
  vd_test_ui_settle (500);
  g_test_message ("%s: the window is %d×%d", name, gtk_widget_get_width (GTK_WIDGET (desk->window)),
                  gtk_widget_get_height (GTK_WIDGET (desk->window)));
  vd_test_ui_screenshot (GTK_WIDGET (desk->window), name);
}

/* At 1.5× text (gtk-xft-dpi, as GNOME's text scaling sets it) the hour labels fit their
 * column, the staff header its two lines, and a quarter-hour block a line of text. */
static void
test_large_text (void)
{
  GtkSettings *settings = gtk_settings_get_default ();
  VdDayView *day_view;
  GListModel *day;
  g_autoptr(PangoLayout) layout = NULL;
  GtkBorder border = { 0 };
  int label_w, label_h, dpi = 0;
  gboolean found = FALSE;

  ensure_desk ();
  day_view = vd_window_get_day_view (desk->window);
  day = vd_day_view_get_appointments (day_view);

  screenshot_at ("a11y-schedule-1440x900", 1440, 900);
  screenshot_at ("a11y-schedule-720x600", 720, 600);
  set_style (TRUE, FALSE);
  screenshot_at ("a11y-schedule-dark", 1440, 900);
  set_style (FALSE, TRUE);
  screenshot_at ("a11y-schedule-high-contrast", 1440, 900);
  set_style (FALSE, FALSE);

  g_object_get (settings, "gtk-xft-dpi", &dpi, NULL);
  if (dpi <= 0)
    dpi = 96 * 1024;
  g_object_set (settings, "gtk-xft-dpi", dpi * 3 / 2, NULL);
  vd_test_ui_settle (500);
  screenshot_at ("a11y-schedule-large-text", 1440, 900);

  layout = gtk_widget_create_pango_layout (GTK_WIDGET (day_view), "00:00");
  pango_layout_get_pixel_size (layout, &label_w, &label_h);
  g_assert_true (gtk_scrollable_get_border (GTK_SCROLLABLE (day_view), &border));
  g_test_message ("at 1.5× text: \"00:00\" is %d×%d px, the hour column %d px, the header %d px",
                  label_w, label_h, border.left, border.top);
  g_assert_cmpint (border.left, >=, label_w + 10);
  g_assert_cmpint (border.top, >=, 2 * label_h);

  /* A quarter-hour block holds a line of text. */
  for (guint i = 0; i < g_list_model_get_n_items (day) && !found; i++)
    {
      g_autoptr(VdAppointmentItem) item = g_list_model_get_item (day, i);
      graphene_rect_t area;

      if (vd_appointment_item_get_ends_at (item) - vd_appointment_item_get_starts_at (item) != 15 * 60)
        continue;
      g_assert_true (vd_day_view_get_block_area (day_view, vd_appointment_item_get_id (item), &area));
      g_test_message ("a quarter-hour block is %.0f px high", area.size.height);
      g_assert_cmpfloat (area.size.height - 4, >=, label_h);
      found = TRUE;
    }
  g_assert_true (found);

  g_object_set (settings, "gtk-xft-dpi", dpi, NULL);
  gtk_window_set_default_size (GTK_WINDOW (desk->window), 1440, 900);
  vd_test_ui_settle (300);
}

int
main (int    argc,
      char **argv)
{
  int status;

  if (!vd_test_ui_init (&argc, &argv))
    {
      g_print ("1..0 # SKIP no display\n");
      return vd_test_ui_finish (0);
    }
  /* vd_test_ui_init turns accessibility off for the other UI tests; GTK reads GTK_A11Y
   * when the first widget is made, which is after this. */
  g_setenv ("GTK_A11Y", "atspi", TRUE);

  g_test_add_func ("/a11y/day-view/contrast", test_contrast);
  g_test_add_func ("/a11y/day-view/large-text", test_large_text);
  g_test_add_func ("/a11y/day-view/atspi", test_atspi);
  status = g_test_run ();
  if (desk != NULL)
    vd_test_desk_free (desk);
  return vd_test_ui_finish (status);
}
