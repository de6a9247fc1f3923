/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-monitor-page.c — the Sync Monitor: a GtkColumnView over every overseen clinic (one
 * GListStore of items updated in place, so a refresh keeps the selection and the scroll),
 * a name search and a health filter, and the open clinic's devices and activity. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include "vd-monitor-page.h"

#include <glib/gi18n-lib.h>

#include "vd-sparkline.h"
#include "vd-time.h"

#define REFRESH_SECONDS 10

struct _VdMonitorPage
{
  GtkWidget            parent_instance;

  AdwLeaflet          *leaflet;
  GtkWidget           *list_pane;
  GtkWidget           *detail_pane;
  AdwWindowTitle      *list_title;
  GtkSpinner          *spinner;
  GtkRevealer         *error_revealer;
  GtkImage            *error_icon;
  GtkLabel            *error_label;
  GtkButton           *error_button;
  GtkSearchEntry      *search_entry;
  GtkDropDown         *health_dropdown;
  GtkStack            *list_stack;
  GtkColumnView       *column_view;
  AdwWindowTitle      *detail_title;
  GtkStack            *detail_stack;
  AdwActionRow        *health_row;
  GtkImage            *health_icon;
  AdwActionRow        *last_sync_row;
  AdwActionRow        *conflicts_row;
  VdSparkline         *activity_chart;
  GtkLabel            *activity_from;
  GtkLabel            *activity_summary;
  GtkListBox          *device_list;

  VdMonitorClient     *client;
  char                *who;
  GListStore          *tenants;        /* VdMonitorTenant, in the server's order */
  GHashTable          *by_id;          /* id → VdMonitorTenant (borrowed from tenants) */
  GtkStringFilter     *name_filter;
  GtkCustomFilter     *health_filter;
  GtkFilterListModel  *filtered;
  GtkSortListModel    *sorted;
  GtkSingleSelection  *selection;
  GListStore          *devices;        /* VdMonitorDevice of the open clinic */
  VdMonitorTenant     *open;           /* the clinic shown beside the list */
  GHashTable          *time_labels;    /* GtkLabel* of bound "last sync" cells → item */
  GCancellable        *list_cancellable;
  GCancellable        *detail_cancellable;
  guint                refresh_id;
  gboolean             loading;
  gboolean             detail_loading;
  guint                n_loads;
  guint                n_device_loads;
};

G_DEFINE_FINAL_TYPE (VdMonitorPage, vd_monitor_page, GTK_TYPE_WIDGET)

static void load_listing (VdMonitorPage *self);
static void load_detail  (VdMonitorPage *self);

/* ---- health and time as a person reads them ---- */

static const struct
{
  const char *health;
  const char *icon;
  const char *css;
  const char *label;
  const char *explanation;
} healths[] = {
  { "ok", "emblem-ok-symbolic", "success", N_("Up to date"),
    N_("Its devices sync normally.") },
  { "lagging", "document-open-recent-symbolic", "warning", N_("Lagging"),
    N_("A device has been behind the server for more than 5 minutes.") },
  { "offline", "network-offline-symbolic", "error", N_("Offline"),
    N_("No device has synced for a while during opening hours.") },
  { "errors", "dialog-error-symbolic", "error", N_("Errors"),
    N_("Changes were refused or requests failed in the last hour.") },
};

static guint
health_index (const char *health)
{
  for (guint i = 0; i < G_N_ELEMENTS (healths); i++)
    if (g_strcmp0 (healths[i].health, health) == 0)
      return i;
  return 0;
}

const char *
vd_monitor_health_label (const char *health)
{
  return _(healths[health_index (health)].label);
}

static void
set_health_style (GtkWidget  *widget,
                  const char *health)
{
  for (guint i = 0; i < G_N_ELEMENTS (healths); i++)
    gtk_widget_remove_css_class (widget, healths[i].css);
  gtk_widget_add_css_class (widget, healths[health_index (health)].css);
}

/* in_sentence: "just now" inside a sentence, "Just now" on its own in a cell. */
static char *
format_ago (gint64   then,
            gint64   now,
            gboolean in_sentence)
{
  gint64 seconds = now - then;
  guint n;

  if (then <= 0)
    return g_strdup (in_sentence ? _("never") : _("Never"));
  /* A server clock a little ahead of ours reads as "just now", not as the future. */
  if (seconds < 60)
    return g_strdup (in_sentence ? _("just now") : _("Just now"));
  if (seconds < 3600)
    {
      n = (guint) (seconds / 60);
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u minute ago", "%u minutes ago", n), n);
    }
  if (seconds < 24 * 3600)
    {
      n = (guint) (seconds / 3600);
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u hour ago", "%u hours ago", n), n);
    }
  n = (guint) MIN (seconds / (24 * 3600), (gint64) G_MAXUINT);
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u day ago", "%u days ago", n), n);
}

/* An exact time in the viewer's own zone, named ("28 November 2026, 12:40:00 CET"), and
 * when the clinic's zone (clinic_zone, an IANA name or NULL) reads otherwise, the clinic's
 * wall clock alongside ("… · 13:40 at the clinic (Europe/Madrid)"). */
static char *
format_local (gint64      when,
              const char *clinic_zone)
{
  g_autoptr(GDateTime) utc = NULL;
  g_autoptr(GDateTime) local = NULL;
  g_autoptr(GTimeZone) zone = NULL;
  g_autoptr(GDateTime) there = NULL;
  g_autofree char *here_text = NULL;
  g_autofree char *there_time = NULL;
  g_autofree char *there_text = NULL;

  if (when <= 0)
    return NULL;
  utc = g_date_time_new_from_unix_utc (when);
  local = g_date_time_to_local (utc);
  /* Translators: an exact time in the viewer's time zone, strftime format; %Z is the
   * zone's abbreviation */
  here_text = g_date_time_format (local, _("%-d %B %Y, %H:%M:%S %Z"));
  if (clinic_zone == NULL || *clinic_zone == '\0' ||
      (zone = vd_time_zone_new (clinic_zone, NULL)) == NULL)
    return g_steal_pointer (&here_text);
  there = vd_time_to_zone (when, zone);
  /* The same wall clock and zone name (a viewer in the clinic's zone): said once. */
  if (g_date_time_get_utc_offset (there) == g_date_time_get_utc_offset (local) &&
      g_strcmp0 (g_date_time_get_timezone_abbreviation (there),
                 g_date_time_get_timezone_abbreviation (local)) == 0)
    return g_steal_pointer (&here_text);
  /* Translators: a time on the clinic's wall clock, strftime format */
  there_time = g_date_time_format (there, _("%H:%M %Z"));
  /* Translators: the time in the viewer's zone, then at the clinic: "28 November 2026,
   * 12:40:00 UTC · 13:40 CET at the clinic (Europe/Madrid)" */
  there_text = g_strdup_printf (_("%s · %s at the clinic (%s)"), here_text, there_time, clinic_zone);
  return g_steal_pointer (&there_text);
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* ---- the error strip ---- */

static void
show_error (VdMonitorPage *self,
            const GError  *error)
{
  gboolean signed_out;

  if (error == NULL)
    {
      gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
      return;
    }
  signed_out = g_error_matches (error, VD_MONITOR_ERROR, VD_MONITOR_ERROR_SIGNED_OUT);
  gtk_label_set_text (self->error_label, error->message);
  gtk_image_set_from_icon_name (self->error_icon,
                                signed_out ? "dialog-password-symbolic"
                                : g_error_matches (error, VD_MONITOR_ERROR, VD_MONITOR_ERROR_UNREACHABLE)
                                ? "network-offline-symbolic" : "dialog-warning-symbolic");
  gtk_button_set_label (self->error_button, signed_out ? _("Sign In Again…") : _("Try Again"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->error_button),
                                  signed_out ? "win.sign-out" : "monitor.refresh");
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
}

/* ---- the list's titles and pages ---- */

static void
update_list_state (VdMonitorPage *self)
{
  guint total = g_list_model_get_n_items (G_LIST_MODEL (self->tenants));
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->sorted));
  guint attention = 0;
  g_autofree char *count = NULL;
  g_autofree char *subtitle = NULL;

  for (guint i = 0; i < total; i++)
    {
      g_autoptr(VdMonitorTenant) tenant = g_list_model_get_item (G_LIST_MODEL (self->tenants), i);

      if (vd_monitor_tenant_get_health_rank (tenant) > 0)
        attention++;
    }

  if (shown != total)
    /* Translators: the Sync Monitor's subtitle while a search or filter is on */
    count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u of %u clinic", "%u of %u clinics", total),
                             shown, total);
  else
    count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u clinic", "%u clinics", total), total);
  if (total == 0)
    subtitle = g_steal_pointer (&count);
  else if (attention > 0)
    /* Translators: "5 clinics · 2 need attention" */
    subtitle = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s · %u needs attention",
                                             "%s · %u need attention", attention),
                                count, attention);
  else
    /* Translators: "5 clinics · all up to date" */
    subtitle = g_strdup_printf (_("%s · all up to date"), count);
  adw_window_title_set_subtitle (self->list_title, subtitle);

  if (self->n_loads == 0)
    gtk_stack_set_visible_child_name (self->list_stack, "loading");
  else if (total == 0)
    gtk_stack_set_visible_child_name (self->list_stack, "none");
  else if (shown == 0)
    gtk_stack_set_visible_child_name (self->list_stack, "no-match");
  else
    gtk_stack_set_visible_child_name (self->list_stack, "list");
}

/* ---- cells ---- */

static void
update_health_cell (GtkWidget       *box,
                    VdMonitorTenant *tenant)
{
  GtkWidget *icon = gtk_widget_get_first_child (box);
  GtkWidget *label = gtk_widget_get_next_sibling (icon);
  const char *health = vd_monitor_tenant_get_health (tenant);
  guint i = health_index (health);

  gtk_image_set_from_icon_name (GTK_IMAGE (icon), healths[i].icon);
  gtk_label_set_text (GTK_LABEL (label), _(healths[i].label));
  gtk_widget_set_tooltip_text (box, _(healths[i].explanation));
  set_health_style (box, health);
}

static void
update_clinic_cell (GtkWidget       *box,
                    VdMonitorTenant *tenant)
{
  GtkWidget *name = gtk_widget_get_first_child (box);
  GtkWidget *detail = gtk_widget_get_next_sibling (name);
  const char *company = vd_monitor_tenant_get_company_name (tenant);
  const char *zone = vd_monitor_tenant_get_timezone (tenant);
  g_autofree char *text = NULL;

  gtk_label_set_text (GTK_LABEL (name), vd_monitor_tenant_get_name (tenant));
  if (company != NULL && zone != NULL)
    /* Translators: under a clinic's name: its company · its time zone */
    text = g_strdup_printf (_("%s · %s"), company, zone);
  else
    text = g_strdup (company != NULL ? company : zone != NULL ? zone : "");
  gtk_label_set_text (GTK_LABEL (detail), text);
}

static void
update_devices_cell (GtkWidget       *label,
                     VdMonitorTenant *tenant)
{
  gint64 online = vd_monitor_tenant_get_devices_online (tenant);
  gint64 total = vd_monitor_tenant_get_devices (tenant);
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT " / %" G_GINT64_FORMAT, online, total);
  g_autofree char *tip = NULL;

  gtk_label_set_text (GTK_LABEL (label), text);
  tip = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u of %u device online", "%u of %u devices online",
                                      (gulong) MAX (total, 0)),
                         (guint) online, (guint) total);
  gtk_widget_set_tooltip_text (label, tip);
}

static void
update_last_sync_cell (GtkWidget       *label,
                       VdMonitorTenant *tenant)
{
  gint64 when = vd_monitor_tenant_get_last_sync (tenant);
  g_autofree char *text = format_ago (when, now_seconds (), FALSE);
  g_autofree char *tip = format_local (when, vd_monitor_tenant_get_timezone (tenant));

  gtk_label_set_text (GTK_LABEL (label), text);
  gtk_widget_set_tooltip_text (label, tip);
}

static void
update_conflicts_cell (GtkWidget       *label,
                       VdMonitorTenant *tenant)
{
  gint64 conflicts = vd_monitor_tenant_get_open_conflicts (tenant);
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, conflicts);

  gtk_label_set_text (GTK_LABEL (label), text);
  if (conflicts > 0)
    {
      gtk_widget_add_css_class (label, "warning");
      gtk_widget_remove_css_class (label, "dim-label");
    }
  else
    {
      gtk_widget_remove_css_class (label, "warning");
      gtk_widget_add_css_class (label, "dim-label");
    }
}

static void
update_activity_cell (GtkWidget       *chart,
                      VdMonitorTenant *tenant)
{
  vd_sparkline_set_values (VD_SPARKLINE (chart), vd_monitor_tenant_get_activity (tenant), VD_MONITOR_HOURS);
  vd_sparkline_set_alert (VD_SPARKLINE (chart), vd_monitor_tenant_get_health_rank (tenant) == 3);
}

typedef void (*UpdateCell) (GtkWidget *cell, VdMonitorTenant *tenant);

static GtkWidget *
new_label (const char *css_class)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

static void
setup_health_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  gtk_box_append (GTK_BOX (box), gtk_image_new ());
  gtk_box_append (GTK_BOX (box), new_label ("health-label"));
  gtk_widget_add_css_class (box, "health-cell");
  gtk_list_item_set_child (item, box);
}

static void
setup_clinic_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *detail = new_label ("caption");

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_box_append (GTK_BOX (box), new_label ("clinic-name"));
  gtk_widget_add_css_class (detail, "dim-label");
  gtk_box_append (GTK_BOX (box), detail);
  gtk_list_item_set_child (item, box);
}

static void
setup_number_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 gpointer                  user_data)
{
  GtkWidget *label = new_label ("numeric");

  gtk_widget_add_css_class (label, user_data);
  gtk_list_item_set_child (item, label);
}

static void
setup_text_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               gpointer                  user_data)
{
  gtk_list_item_set_child (item, new_label (user_data));
}

static void
setup_activity_cb (GtkSignalListItemFactory *factory,
                   GtkListItem              *item,
                   gpointer                  user_data)
{
  GtkWidget *chart = vd_sparkline_new ();

  gtk_widget_set_size_request (chart, 96, 20);
  gtk_widget_set_valign (chart, GTK_ALIGN_CENTER);
  gtk_widget_set_halign (chart, GTK_ALIGN_START);
  gtk_list_item_set_child (item, chart);
}

/* Every column binds the same way: fill the cell now and again whenever the item changes
 * (a refresh updates items in place instead of replacing them). */
static void
bind_cb (GtkSignalListItemFactory *factory,
         GtkListItem              *item,
         gpointer                  user_data)
{
  UpdateCell update = user_data;
  GtkWidget *cell = gtk_list_item_get_child (item);
  VdMonitorTenant *tenant = gtk_list_item_get_item (item);

  update (cell, tenant);
  g_signal_connect_object (tenant, "changed", G_CALLBACK (update), cell, G_CONNECT_SWAPPED);
}

static void
unbind_cb (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           gpointer                  user_data)
{
  GtkWidget *cell = gtk_list_item_get_child (item);
  VdMonitorTenant *tenant = gtk_list_item_get_item (item);

  if (tenant != NULL)
    g_signal_handlers_disconnect_by_data (tenant, cell);
}

/* "5 minutes ago" ages without any change of data: the bound cells are redrawn on each
 * refresh tick. */
static void
bind_last_sync_cb (GtkSignalListItemFactory *factory,
                   GtkListItem              *item,
                   VdMonitorPage            *self)
{
  bind_cb (factory, item, update_last_sync_cell);
  g_hash_table_insert (self->time_labels, gtk_list_item_get_child (item), gtk_list_item_get_item (item));
}

static void
unbind_last_sync_cb (GtkSignalListItemFactory *factory,
                     GtkListItem              *item,
                     VdMonitorPage            *self)
{
  unbind_cb (factory, item, NULL);
  g_hash_table_remove (self->time_labels, gtk_list_item_get_child (item));
}

static GtkColumnViewColumn *
add_column (VdMonitorPage *self,
            const char    *title,
            GCallback      setup,
            gpointer       setup_data,
            UpdateCell     update,
            GtkSorter     *sorter,
            int            fixed_width)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *column;

  g_signal_connect (factory, "setup", setup, setup_data);
  if (update == update_last_sync_cell)
    {
      g_signal_connect (factory, "bind", G_CALLBACK (bind_last_sync_cb), self);
      g_signal_connect (factory, "unbind", G_CALLBACK (unbind_last_sync_cb), self);
    }
  else
    {
      g_signal_connect (factory, "bind", G_CALLBACK (bind_cb), update);
      g_signal_connect (factory, "unbind", G_CALLBACK (unbind_cb), NULL);
    }
  column = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_sorter (column, sorter);
  gtk_column_view_column_set_resizable (column, TRUE);
  if (fixed_width > 0)
    gtk_column_view_column_set_fixed_width (column, fixed_width);
  else
    gtk_column_view_column_set_expand (column, TRUE);
  gtk_column_view_append_column (self->column_view, column);
  g_object_unref (sorter);
  /* The view holds it. */
  g_object_unref (column);
  return column;
}

static GtkSorter *
numeric_sorter (const char  *property,
                GtkSortType  order)
{
  GtkSorter *sorter = GTK_SORTER (gtk_numeric_sorter_new (gtk_property_expression_new (VD_TYPE_MONITOR_TENANT, NULL, property)));

  gtk_numeric_sorter_set_sort_order (GTK_NUMERIC_SORTER (sorter), order);
  return sorter;
}

static void
add_columns (VdMonitorPage *self)
{
  GtkColumnViewColumn *health, *name;

  /* Numbers that are better high (trouble, activity) sort the most first on the first
   * click; the clicked arrow then reverses. */
  health = add_column (self, _("State"), G_CALLBACK (setup_health_cb), NULL, update_health_cell,
                       numeric_sorter ("health-rank", GTK_SORT_ASCENDING), 140);
  name = add_column (self, _("Clinic"), G_CALLBACK (setup_clinic_cb), NULL, update_clinic_cell,
                     GTK_SORTER (gtk_string_sorter_new (gtk_property_expression_new (VD_TYPE_MONITOR_TENANT, NULL, "name"))),
                     -1);
  add_column (self, _("Online"), G_CALLBACK (setup_number_cb), "devices-label", update_devices_cell,
              numeric_sorter ("devices-online", GTK_SORT_ASCENDING), 90);
  add_column (self, _("Last Sync"), G_CALLBACK (setup_text_cb), "last-sync-label", update_last_sync_cell,
              numeric_sorter ("last-sync", GTK_SORT_ASCENDING), 170);
  add_column (self, _("Conflicts"), G_CALLBACK (setup_number_cb), "conflicts-label", update_conflicts_cell,
              numeric_sorter ("open-conflicts", GTK_SORT_ASCENDING), 90);
  add_column (self, _("Activity (24 h)"), G_CALLBACK (setup_activity_cb), NULL, update_activity_cell,
              numeric_sorter ("activity-total", GTK_SORT_ASCENDING), 130);

  /* Worst first, then by name: the clinics that need someone are on top. */
  gtk_column_view_sort_by_column (self->column_view, name, GTK_SORT_ASCENDING);
  gtk_column_view_sort_by_column (self->column_view, health, GTK_SORT_DESCENDING);
}

/* ---- filters ---- */

static gboolean
health_matches (gpointer item,
                gpointer user_data)
{
  VdMonitorPage *self = user_data;
  guint chosen = gtk_drop_down_get_selected (self->health_dropdown);

  if (chosen == 0 || chosen == GTK_INVALID_LIST_POSITION || chosen > G_N_ELEMENTS (healths))
    return TRUE;
  return g_strcmp0 (vd_monitor_tenant_get_health (item), healths[chosen - 1].health) == 0;
}

static void
health_filter_changed_cb (VdMonitorPage *self)
{
  gtk_filter_changed (GTK_FILTER (self->health_filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_list_state (self);
}

static void
search_changed_cb (VdMonitorPage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  g_autofree char *search = g_strstrip (g_strdup (text));

  gtk_string_filter_set_search (self->name_filter, *search != '\0' ? search : NULL);
  update_list_state (self);
}

/* ---- the open clinic ---- */

static void
update_detail_summary (VdMonitorPage *self)
{
  VdMonitorTenant *t = self->open;
  const char *company;
  guint i;
  gint64 conflicts;
  g_autofree char *ago = NULL;
  g_autofree char *exact = NULL;
  g_autofree char *health_text = NULL;
  g_autofree char *conflict_text = NULL;

  if (t == NULL)
    return;

  company = vd_monitor_tenant_get_company_name (t);
  adw_window_title_set_title (self->detail_title, vd_monitor_tenant_get_name (t));
  adw_window_title_set_subtitle (self->detail_title,
                                 company != NULL ? company : vd_monitor_tenant_get_timezone (t));

  i = health_index (vd_monitor_tenant_get_health (t));
  gtk_image_set_from_icon_name (self->health_icon, healths[i].icon);
  set_health_style (GTK_WIDGET (self->health_icon), healths[i].health);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->health_row), _(healths[i].label));
  if (vd_monitor_tenant_get_errors_1h (t) > 0 || vd_monitor_tenant_get_rejected_24h (t) > 0)
    {
      guint errors = (guint) vd_monitor_tenant_get_errors_1h (t);
      guint refused = (guint) vd_monitor_tenant_get_rejected_24h (t);
      g_autofree char *errors_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u error in the last hour",
                                                                   "%u errors in the last hour", errors), errors);
      g_autofree char *refused_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u change refused in the last 24 hours",
                                                                    "%u changes refused in the last 24 hours", refused), refused);

      /* Translators: the state's explanation, then the error counts: "… 1 error in the
       * last hour · 2 changes refused in the last 24 hours" */
      health_text = g_strdup_printf (_("%s\n%s · %s"), _(healths[i].explanation), errors_text, refused_text);
    }
  else
    health_text = g_strdup (_(healths[i].explanation));
  adw_action_row_set_subtitle (self->health_row, health_text);

  ago = format_ago (vd_monitor_tenant_get_last_sync (t), now_seconds (), FALSE);
  exact = format_local (vd_monitor_tenant_get_last_sync (t), vd_monitor_tenant_get_timezone (t));
  if (exact != NULL)
    {
      /* Translators: "5 minutes ago · 28 November 2026, 12:40:00" */
      g_autofree char *both = g_strdup_printf (_("%s · %s"), ago, exact);

      adw_action_row_set_subtitle (self->last_sync_row, both);
    }
  else
    adw_action_row_set_subtitle (self->last_sync_row, ago);

  conflicts = vd_monitor_tenant_get_open_conflicts (t);
  conflict_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u open conflict", "%u open conflicts",
                                                (gulong) MAX (conflicts, 0)),
                                   (guint) conflicts);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->conflicts_row), conflict_text);
  adw_action_row_set_subtitle (self->conflicts_row,
                               conflicts > 0 ? _("Double bookings or references to missing records, shown to the clinic’s staff to resolve.")
                                             : _("Nothing for the clinic’s staff to resolve."));
}

static GtkWidget *
device_line (const char *text,
             const char *css_class)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

static GtkWidget *
create_device_row (gpointer item,
                   gpointer user_data)
{
  VdMonitorDevice *device = item;
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *lines = gtk_box_new (GTK_ORIENTATION_VERTICAL, 3);
  GtkWidget *icon = gtk_image_new_from_icon_name ("computer-symbolic");
  const char *name = vd_monitor_device_get_name (device);
  const char *user = vd_monitor_device_get_user (device);
  const char *version = vd_monitor_device_get_app_version (device);
  const char *code = vd_monitor_device_get_error_code (device);
  gint64 lag = vd_monitor_device_get_lag (device);
  gint64 pending = vd_monitor_device_get_pending (device);
  g_autoptr(GString) who = g_string_new (NULL);
  g_autofree char *seen = NULL;
  g_autofree char *seen_line = NULL;
  g_autofree char *seen_exact = NULL;
  g_autofree char *state = NULL;
  g_autofree char *behind = NULL;
  g_autofree char *waiting = NULL;

  gtk_widget_set_name (row, vd_monitor_device_get_id (device));
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_margin_top (box, 10);
  gtk_widget_set_margin_bottom (box, 10);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_valign (icon, GTK_ALIGN_START);
  gtk_box_append (GTK_BOX (box), icon);
  gtk_widget_set_hexpand (lines, TRUE);
  gtk_box_append (GTK_BOX (box), lines);

  gtk_box_append (GTK_BOX (lines), device_line (name != NULL ? name : _("Unnamed device"), "heading"));

  /* Who, which version, when: "recepcion.petspa · VetDesk 0.3.0 · seen 3 minutes ago". */
  if (user != NULL)
    g_string_append (who, user);
  if (version != NULL)
    {
      if (who->len > 0)
        g_string_append (who, " · ");
      /* Translators: the app version a device runs */
      g_string_append_printf (who, _("version %s"), version);
    }
  seen = format_ago (vd_monitor_device_get_last_seen (device), now_seconds (), TRUE);
  /* Translators: when the server last heard from a device: "seen 5 minutes ago" */
  seen_line = g_strdup_printf (_("seen %s"), seen);
  if (who->len > 0)
    g_string_append (who, " · ");
  g_string_append (who, seen_line);
  gtk_box_append (GTK_BOX (lines), device_line (who->str, "dim-label"));
  /* When exactly, in the viewer's zone and the clinic's. */
  seen_exact = format_local (vd_monitor_device_get_last_seen (device),
                             VD_MONITOR_PAGE (user_data)->open ? vd_monitor_tenant_get_timezone (VD_MONITOR_PAGE (user_data)->open) : NULL);
  gtk_widget_set_tooltip_text (gtk_widget_get_last_child (lines), seen_exact);

  if (lag > 0)
    behind = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u change behind", "%u changes behind", (gulong) lag),
                              (guint) lag);
  else
    behind = g_strdup (_("In step with the server"));
  if (pending > 0)
    waiting = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u change waiting to be sent",
                                            "%u changes waiting to be sent", (gulong) pending),
                               (guint) pending);
  else if (pending == 0)
    waiting = g_strdup (_("nothing waiting to be sent"));
  state = waiting != NULL ? g_strdup_printf (_("%s · %s"), behind, waiting) : g_strdup (behind);
  gtk_box_append (GTK_BOX (lines), device_line (state, lag > 0 ? "warning" : NULL));

  if (code != NULL)
    {
      g_autofree char *when = format_ago (vd_monitor_device_get_error_at (device), now_seconds (), TRUE);
      g_autofree char *text = NULL;

      /* Translators: a device's last error: when, then its code (the server keeps no
       * sentence: it could quote the clinic's data) */
      text = g_strdup_printf (_("Last error, %s: %s"), when, code);
      gtk_box_append (GTK_BOX (lines), device_line (text, "error"));
    }

  if (vd_monitor_device_get_revoked (device))
    {
      GtkWidget *tag = gtk_label_new (_("Revoked"));

      gtk_widget_set_valign (tag, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (tag, "error");
      gtk_widget_add_css_class (tag, "heading");
      gtk_widget_add_css_class (tag, "revoked-label");
      gtk_box_append (GTK_BOX (box), tag);
      gtk_widget_add_css_class (row, "revoked");
    }
  else
    {
      GtkWidget *button = gtk_button_new_with_mnemonic (_("_Revoke…"));

      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (button, "revoke-button");
      gtk_widget_set_tooltip_text (button, _("Sign this device out and refuse it from now on"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "monitor.revoke-device");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "s", vd_monitor_device_get_id (device));
      gtk_box_append (GTK_BOX (box), button);
    }

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  return row;
}

static void
devices_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(VdMonitorPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) devices = NULL;

  devices = vd_monitor_client_list_devices_finish (VD_MONITOR_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->client != VD_MONITOR_CLIENT (source))
    return;
  self->detail_loading = FALSE;
  if (devices == NULL)
    {
      show_error (self, error);
      return;
    }
  g_list_store_splice (self->devices, 0, g_list_model_get_n_items (G_LIST_MODEL (self->devices)),
                       devices->pdata, devices->len);
  self->n_device_loads++;
}

static void
activity_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(VdMonitorPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) minutes = NULL;
  gint64 hours[VD_MONITOR_HOURS] = { 0, };
  gint64 pushes = 0, pulls = 0, changes = 0;
  gint64 now_hour = now_seconds () / 3600;
  g_autofree char *summary = NULL;
  g_autofree char *push_text = NULL;
  g_autofree char *pull_text = NULL;
  g_autofree char *change_text = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autoptr(GDateTime) from = NULL;
  g_autofree char *from_text = NULL;

  minutes = vd_monitor_client_activity_finish (VD_MONITOR_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->client != VD_MONITOR_CLIENT (source))
    return;
  if (minutes == NULL)
    {
      show_error (self, error);
      return;
    }

  /* The minutes into this computer's hours, the current hour last, as the list's chart. */
  for (guint i = 0; i < minutes->len; i++)
    {
      const VdMonitorMinute *m = &g_array_index (minutes, VdMonitorMinute, i);
      gint64 age = now_hour - m->minute / 3600;

      pushes += m->pushes;
      pulls += m->pulls;
      changes += m->changes;
      if (age >= 0 && age < VD_MONITOR_HOURS)
        hours[VD_MONITOR_HOURS - 1 - age] += m->pushes + m->pulls;
    }
  vd_sparkline_set_values (self->activity_chart, hours, VD_MONITOR_HOURS);
  vd_sparkline_set_alert (self->activity_chart,
                          self->open != NULL && vd_monitor_tenant_get_health_rank (self->open) == 3);

  push_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u push", "%u pushes", (gulong) pushes), (guint) pushes);
  pull_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u pull", "%u pulls", (gulong) pulls), (guint) pulls);
  change_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u change merged", "%u changes merged", (gulong) changes),
                                 (guint) changes);
  /* Translators: "12 pushes · 40 pulls · 87 changes merged" */
  summary = g_strdup_printf (_("%s · %s · %s"), push_text, pull_text, change_text);
  gtk_label_set_text (self->activity_summary, summary);

  now = g_date_time_new_now_local ();
  from = g_date_time_add_hours (now, -(VD_MONITOR_HOURS - 1));
  /* Translators: the left end of the activity chart, strftime format */
  from_text = g_date_time_format (from, _("%H:00 yesterday"));
  gtk_label_set_text (self->activity_from, from_text);
}

static void
load_detail (VdMonitorPage *self)
{
  if (self->client == NULL || self->open == NULL)
    return;
  /* A reload that overtakes a slow one replaces it. */
  g_cancellable_cancel (self->detail_cancellable);
  g_clear_object (&self->detail_cancellable);
  self->detail_cancellable = g_cancellable_new ();
  self->detail_loading = TRUE;
  vd_monitor_client_list_devices_async (self->client, vd_monitor_tenant_get_id (self->open),
                                        self->detail_cancellable, devices_done_cb, g_object_ref (self));
  vd_monitor_client_activity_async (self->client, vd_monitor_tenant_get_id (self->open),
                                    self->detail_cancellable, activity_done_cb, g_object_ref (self));
}

static void
open_tenant (VdMonitorPage   *self,
             VdMonitorTenant *tenant)
{
  gboolean same = tenant != NULL && self->open == tenant;

  if (same)
    return;
  g_set_object (&self->open, tenant);
  g_list_store_remove_all (self->devices);
  vd_sparkline_set_values (self->activity_chart, NULL, 0);
  gtk_label_set_text (self->activity_summary, "");
  gtk_label_set_text (self->activity_from, "");

  if (tenant == NULL)
    {
      g_cancellable_cancel (self->detail_cancellable);
      adw_window_title_set_title (self->detail_title, NULL);
      adw_window_title_set_subtitle (self->detail_title, NULL);
      gtk_stack_set_visible_child_name (self->detail_stack, "none");
      return;
    }

  update_detail_summary (self);
  gtk_stack_set_visible_child_name (self->detail_stack, "detail");
  load_detail (self);
}

static void
selection_changed_cb (VdMonitorPage *self)
{
  VdMonitorTenant *tenant = gtk_single_selection_get_selected_item (self->selection);

  open_tenant (self, tenant);
  /* Folded, the clinic's page replaces the list. */
  if (tenant != NULL && adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child (self->leaflet, self->detail_pane);
}

/* Activating a row (Enter, double click) opens the clinic; when folded, on its own. */
static void
row_activated_cb (VdMonitorPage *self,
                  guint          position)
{
  gtk_single_selection_set_selected (self->selection, position);
  if (adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child (self->leaflet, self->detail_pane);
}

/* ---- the listing ---- */

static void
merge (VdMonitorPage *self,
       GPtrArray     *fresh)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) added = g_ptr_array_new ();
  gboolean changed = FALSE;
  guint n;

  for (guint i = 0; i < fresh->len; i++)
    {
      VdMonitorTenant *tenant = fresh->pdata[i];
      const char *id = vd_monitor_tenant_get_id (tenant);
      VdMonitorTenant *existing = g_hash_table_lookup (self->by_id, id);

      if (g_hash_table_contains (seen, id))
        continue;
      g_hash_table_add (seen, (gpointer) id);
      if (existing != NULL)
        changed |= vd_monitor_tenant_update (existing, tenant);
      else
        {
          g_ptr_array_add (added, tenant);
          g_hash_table_insert (self->by_id, (gpointer) id, tenant);
        }
    }

  /* Clinics no longer overseen leave the list (rare: removed one at a time). */
  n = g_list_model_get_n_items (G_LIST_MODEL (self->tenants));
  for (guint i = n; i > 0; i--)
    {
      g_autoptr(VdMonitorTenant) tenant = g_list_model_get_item (G_LIST_MODEL (self->tenants), i - 1);

      if (!g_hash_table_contains (seen, vd_monitor_tenant_get_id (tenant)))
        {
          g_hash_table_remove (self->by_id, vd_monitor_tenant_get_id (tenant));
          g_list_store_remove (self->tenants, i - 1);
        }
    }
  if (added->len > 0)
    g_list_store_splice (self->tenants, g_list_model_get_n_items (G_LIST_MODEL (self->tenants)), 0,
                         added->pdata, added->len);

  /* Items changed in place: the sorted and filtered views are told, and keep the
   * selected row (GtkSingleSelection follows its item) and the scrolled-to row. */
  if (changed)
    {
      gtk_sorter_changed (gtk_column_view_get_sorter (self->column_view), GTK_SORTER_CHANGE_DIFFERENT);
      gtk_filter_changed (GTK_FILTER (self->health_filter), GTK_FILTER_CHANGE_DIFFERENT);
      gtk_filter_changed (GTK_FILTER (self->name_filter), GTK_FILTER_CHANGE_DIFFERENT);
    }
  update_detail_summary (self);
}

static void
listing_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(VdMonitorPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) tenants = NULL;

  tenants = vd_monitor_client_list_tenants_finish (VD_MONITOR_CLIENT (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->client != VD_MONITOR_CLIENT (source))
    return;

  self->loading = FALSE;
  gtk_spinner_stop (self->spinner);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  if (tenants == NULL)
    {
      show_error (self, error);
      return;
    }
  show_error (self, NULL);
  merge (self, tenants);
  self->n_loads++;
  update_list_state (self);
}

static void
load_listing (VdMonitorPage *self)
{
  if (self->client == NULL || self->loading)
    return;
  self->loading = TRUE;
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), TRUE);
  gtk_spinner_start (self->spinner);
  vd_monitor_client_list_tenants_async (self->client, self->list_cancellable, listing_done_cb,
                                        g_object_ref (self));
}

static gboolean
tick_cb (gpointer user_data)
{
  VdMonitorPage *self = user_data;
  GHashTableIter iter;
  gpointer label, tenant;

  g_hash_table_iter_init (&iter, self->time_labels);
  while (g_hash_table_iter_next (&iter, &label, &tenant))
    update_last_sync_cell (label, tenant);

  load_listing (self);
  if (!self->detail_loading)
    load_detail (self);
  return G_SOURCE_CONTINUE;
}

/* ---- actions ---- */

static void
refresh_cb (GtkWidget  *widget,
            const char *action_name,
            GVariant   *param)
{
  vd_monitor_page_refresh (VD_MONITOR_PAGE (widget));
}

static void
show_list_cb (GtkWidget  *widget,
              const char *action_name,
              GVariant   *param)
{
  VdMonitorPage *self = VD_MONITOR_PAGE (widget);

  adw_leaflet_set_visible_child (self->leaflet, self->list_pane);
}

static void
revoke_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(VdMonitorPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!vd_monitor_client_revoke_device_finish (VD_MONITOR_CLIENT (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error);
      return;
    }
  if (self->client != VD_MONITOR_CLIENT (source))
    return;
  /* The row shows the server's word: the device list comes back marked revoked. */
  load_detail (self);
  load_listing (self);
}

static void
revoke_response_cb (VdMonitorPage    *self,
                    const char       *response,
                    AdwMessageDialog *dialog)
{
  const char *tenant_id = g_object_get_data (G_OBJECT (dialog), "tenant-id");
  const char *device_id = g_object_get_data (G_OBJECT (dialog), "device-id");

  if (g_strcmp0 (response, "revoke") != 0 || self->client == NULL)
    return;
  vd_monitor_client_revoke_device_async (self->client, tenant_id, device_id, NULL,
                                         revoke_done_cb, g_object_ref (self));
}

static void
revoke_device_cb (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *param)
{
  VdMonitorPage *self = VD_MONITOR_PAGE (widget);
  const char *device_id = g_variant_get_string (param, NULL);
  VdMonitorDevice *device = NULL;
  GtkWidget *dialog;
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autofree char *heading = NULL;
  g_autofree char *short_id = NULL;
  g_autofree char *seen = NULL;
  g_autofree char *seen_exact = NULL;
  g_autofree char *which = NULL;
  const char *name;
  const char *user;

  if (self->open == NULL)
    return;
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->devices)); i++)
    {
      g_autoptr(VdMonitorDevice) d = g_list_model_get_item (G_LIST_MODEL (self->devices), i);

      if (g_strcmp0 (vd_monitor_device_get_id (d), device_id) == 0)
        device = d;
    }
  if (device == NULL)
    return;

  name = vd_monitor_device_get_name (device);
  heading = g_strdup_printf (_("Revoke “%s”?"), name != NULL ? name : device_id);
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, heading, NULL);
  /* Which one, when two desks have the same name (a reinstalled desk, a copied name):
   * the start of its id, who used it and when it was last seen. */
  short_id = g_strndup (device_id, 8);
  user = vd_monitor_device_get_user (device);
  seen = format_ago (vd_monitor_device_get_last_seen (device), now_seconds (), TRUE);
  seen_exact = format_local (vd_monitor_device_get_last_seen (device), vd_monitor_tenant_get_timezone (self->open));
  /* Translators: which device the revoke dialog is about: "Device 1a2b3c4d ·
   * recepcion.centro · last seen 5 minutes ago (7 December 2026, 17:08:42 CET)" */
  which = g_strdup_printf (_("Device %s · %s · last seen %s (%s)"), short_id,
                           user != NULL ? user : _("no user"), seen,
                           seen_exact != NULL ? seen_exact : _("never"));
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("This device of %s is signed out at once and cannot sync again until someone signs in on it anew. Changes it has not sent stay on that computer."),
                                  vd_monitor_tenant_get_name (self->open));
  {
    g_autofree char *body = g_strdup_printf ("%s\n\n%s", which,
                                             adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)));

    adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (dialog), body);
  }
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "revoke", _("_Revoke"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "revoke",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "tenant-id",
                          g_strdup (vd_monitor_tenant_get_id (self->open)), g_free);
  g_object_set_data_full (G_OBJECT (dialog), "device-id", g_strdup (device_id), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (revoke_response_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- public ---- */

GtkWidget *
vd_monitor_page_new (void)
{
  return g_object_new (VD_TYPE_MONITOR_PAGE, NULL);
}

static void
stop (VdMonitorPage *self)
{
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  g_cancellable_cancel (self->list_cancellable);
  g_clear_object (&self->list_cancellable);
  g_cancellable_cancel (self->detail_cancellable);
  g_clear_object (&self->detail_cancellable);
  self->loading = FALSE;
  self->detail_loading = FALSE;
}

void
vd_monitor_page_set_client (VdMonitorPage   *self,
                            VdMonitorClient *client,
                            const char      *who)
{
  g_return_if_fail (VD_IS_MONITOR_PAGE (self));
  g_return_if_fail (client == NULL || VD_IS_MONITOR_CLIENT (client));

  stop (self);
  gtk_single_selection_set_selected (self->selection, GTK_INVALID_LIST_POSITION);
  open_tenant (self, NULL);
  g_hash_table_remove_all (self->by_id);
  g_list_store_remove_all (self->tenants);
  g_set_object (&self->client, client);
  g_free (self->who);
  self->who = g_strdup (who);
  self->n_loads = 0;
  self->n_device_loads = 0;
  show_error (self, NULL);
  gtk_spinner_stop (self->spinner);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  gtk_drop_down_set_selected (self->health_dropdown, 0);
  adw_leaflet_set_visible_child (self->leaflet, self->list_pane);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->list_title), who);
  update_list_state (self);

  if (client == NULL)
    return;
  self->list_cancellable = g_cancellable_new ();
  self->detail_cancellable = g_cancellable_new ();
  load_listing (self);
  self->refresh_id = g_timeout_add_seconds (REFRESH_SECONDS, tick_cb, self);
}

VdMonitorClient *
vd_monitor_page_get_client (VdMonitorPage *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_PAGE (self), NULL);

  return self->client;
}

void
vd_monitor_page_refresh (VdMonitorPage *self)
{
  g_return_if_fail (VD_IS_MONITOR_PAGE (self));

  load_listing (self);
  load_detail (self);
}

guint
vd_monitor_page_get_n_loads (VdMonitorPage *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_PAGE (self), 0);

  return self->n_loads;
}

GListModel *
vd_monitor_page_get_tenants (VdMonitorPage *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_PAGE (self), NULL);

  return G_LIST_MODEL (self->tenants);
}

GListModel *
vd_monitor_page_get_shown (VdMonitorPage *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_PAGE (self), NULL);

  return G_LIST_MODEL (self->sorted);
}

GtkColumnView *
vd_monitor_page_get_column_view (VdMonitorPage *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_PAGE (self), NULL);

  return self->column_view;
}

GtkEditable *
vd_monitor_page_get_search_entry (VdMonitorPage *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_PAGE (self), NULL);

  return GTK_EDITABLE (self->search_entry);
}

GtkDropDown *
vd_monitor_page_get_health_filter (VdMonitorPage *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_PAGE (self), NULL);

  return self->health_dropdown;
}

gboolean
vd_monitor_page_select_tenant (VdMonitorPage *self,
                               const char    *tenant_id)
{
  guint n;

  g_return_val_if_fail (VD_IS_MONITOR_PAGE (self), FALSE);

  n = g_list_model_get_n_items (G_LIST_MODEL (self->sorted));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(VdMonitorTenant) tenant = g_list_model_get_item (G_LIST_MODEL (self->sorted), i);

      if (g_strcmp0 (vd_monitor_tenant_get_id (tenant), tenant_id) == 0)
        {
          row_activated_cb (self, i);
          return TRUE;
        }
    }
  return FALSE;
}

VdMonitorTenant *
vd_monitor_page_get_selected (VdMonitorPage *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_PAGE (self), NULL);

  return self->open;
}

GListModel *
vd_monitor_page_get_devices (VdMonitorPage *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_PAGE (self), NULL);

  return G_LIST_MODEL (self->devices);
}

guint
vd_monitor_page_get_n_device_loads (VdMonitorPage *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_PAGE (self), 0);

  return self->n_device_loads;
}

const char *
vd_monitor_page_get_error (VdMonitorPage *self)
{
  g_return_val_if_fail (VD_IS_MONITOR_PAGE (self), NULL);

  if (!gtk_revealer_get_reveal_child (self->error_revealer))
    return NULL;
  return gtk_label_get_text (self->error_label);
}

/* ---- GObject ---- */

static void
vd_monitor_page_dispose (GObject *object)
{
  VdMonitorPage *self = VD_MONITOR_PAGE (object);

  stop (self);
  if (self->column_view != NULL)
    gtk_column_view_set_model (self->column_view, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), VD_TYPE_MONITOR_PAGE);
  g_clear_object (&self->selection);
  g_clear_object (&self->client);
  g_clear_object (&self->open);

  G_OBJECT_CLASS (vd_monitor_page_parent_class)->dispose (object);
}

static void
vd_monitor_page_finalize (GObject *object)
{
  VdMonitorPage *self = VD_MONITOR_PAGE (object);

  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_clear_pointer (&self->time_labels, g_hash_table_unref);
  g_clear_object (&self->tenants);
  g_clear_object (&self->devices);
  g_free (self->who);

  G_OBJECT_CLASS (vd_monitor_page_parent_class)->finalize (object);
}

static void
vd_monitor_page_class_init (VdMonitorPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vd_monitor_page_dispose;
  object_class->finalize = vd_monitor_page_finalize;

  g_type_ensure (VD_TYPE_SPARKLINE);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/vetdesk/VetDesk/vd-monitor-page.ui");
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, leaflet);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, list_pane);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, detail_pane);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, list_title);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, error_icon);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, error_button);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, health_dropdown);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, list_stack);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, column_view);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, detail_title);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, detail_stack);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, health_row);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, health_icon);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, last_sync_row);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, conflicts_row);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, activity_chart);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, activity_from);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, activity_summary);
  gtk_widget_class_bind_template_child (widget_class, VdMonitorPage, device_list);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, health_filter_changed_cb);

  gtk_widget_class_install_action (widget_class, "monitor.refresh", NULL, refresh_cb);
  gtk_widget_class_install_action (widget_class, "monitor.show-list", NULL, show_list_cb);
  gtk_widget_class_install_action (widget_class, "monitor.revoke-device", "s", revoke_device_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, GDK_CONTROL_MASK, "monitor.refresh", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "monitor.refresh", NULL);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "monitorpage");
}

static void
vd_monitor_page_init (VdMonitorPage *self)
{
  GtkEveryFilter *filters;
  GtkWidget *placeholder;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->tenants = g_list_store_new (VD_TYPE_MONITOR_TENANT);
  self->devices = g_list_store_new (VD_TYPE_MONITOR_DEVICE);
  self->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->time_labels = g_hash_table_new (NULL, NULL);

  self->name_filter = gtk_string_filter_new (gtk_property_expression_new (VD_TYPE_MONITOR_TENANT, NULL, "name"));
  gtk_string_filter_set_match_mode (self->name_filter, GTK_STRING_FILTER_MATCH_MODE_SUBSTRING);
  gtk_string_filter_set_ignore_case (self->name_filter, TRUE);
  self->health_filter = gtk_custom_filter_new (health_matches, self, NULL);
  filters = gtk_every_filter_new ();
  gtk_multi_filter_append (GTK_MULTI_FILTER (filters), GTK_FILTER (self->name_filter));
  gtk_multi_filter_append (GTK_MULTI_FILTER (filters), GTK_FILTER (self->health_filter));

  add_columns (self);

  self->filtered = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->tenants)), GTK_FILTER (filters));
  self->sorted = gtk_sort_list_model_new (G_LIST_MODEL (self->filtered),
                                          g_object_ref (gtk_column_view_get_sorter (self->column_view)));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (self->sorted));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_single_selection_set_selected (self->selection, GTK_INVALID_LIST_POSITION);
  g_signal_connect_object (self->selection, "notify::selected-item", G_CALLBACK (selection_changed_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (g_object_ref (self->selection)));
  g_signal_connect_object (self->column_view, "activate", G_CALLBACK (row_activated_cb), self, G_CONNECT_SWAPPED);

  gtk_list_box_bind_model (self->device_list, G_LIST_MODEL (self->devices), create_device_row, self, NULL);
  placeholder = gtk_label_new (_("No device has signed in to this clinic yet."));
  gtk_widget_add_css_class (placeholder, "dim-label");
  gtk_widget_set_margin_top (placeholder, 18);
  gtk_widget_set_margin_bottom (placeholder, 18);
  gtk_list_box_set_placeholder (self->device_list, placeholder);
  gtk_search_entry_set_key_capture_widget (self->search_entry, GTK_WIDGET (self));
  update_list_state (self);
}
