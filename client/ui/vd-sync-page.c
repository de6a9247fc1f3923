/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-sync-page.c — the Sync section. Conflicts are rows of the server-owned conflicts
 * table that reach the desk by pull; every fix here is an ordinary user action through
 * vd_store_commit, and the server closes the conflict when the synced data no longer
 * breaks the rule. Refused changes are never dropped without a person's choice. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <inttypes.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "vd-sync-page.h"
#include "vd-day-view.h"
#include "vd-store-models.h"
#include "vd-sync-indicator.h"
#include "vd-time.h"

struct _VdSyncPage
{
  GtkWidget          parent_instance;

  GtkWidget         *page;
  GtkWidget         *sync_button;
  AdwActionRow      *state_row;
  GtkImage          *state_icon;
  GtkLabel          *pending_label;
  GtkLabel          *last_sync_label;
  AdwActionRow      *clock_row;
  GtkLabel          *device_label;
  AdwPreferencesGroup *conflicts_group;
  GtkListBox        *conflicts_list;
  AdwPreferencesGroup *rejected_group;
  GtkListBox        *rejected_list;

  VdStore           *store;
  VdSyncEngine      *engine;
  VdConflictList    *conflicts;
  GPtrArray         *rejected;          /* VdRejected*, as shown */
  AdwMessageDialog  *discard_dialog;    /* weak */
  guint              refresh_id;
  guint              tick_id;
  guint              attention;
};

G_DEFINE_FINAL_TYPE (VdSyncPage, vd_sync_page, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_ATTENTION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- small helpers ---- */

static void
toast (VdSyncPage *self,
       AdwToast   *t)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);

  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), t);
  else
    g_object_unref (g_object_ref_sink (t));
}

static void
toast_text (VdSyncPage *self,
            const char *text)
{
  AdwToast *t = adw_toast_new (text);

  adw_toast_set_timeout (t, 5);
  toast (self, t);
}

static char *
format_instant (VdSyncPage *self,
                gint64      when,
                const char *format)
{
  g_autoptr(GDateTime) local = vd_time_to_zone (when, vd_store_get_time_zone (self->store));

  return g_date_time_format (local, format);
}

/* "Mon 3 Mar, 10:00–10:30" in the clinic's zone. */
static char *
describe_span (VdSyncPage *self,
               gint64      starts_at,
               gint64      ends_at)
{
  /* Translators: a day and time in the Sync page, strftime format */
  g_autofree char *from = format_instant (self, starts_at, _("%a %-d %b, %H:%M"));
  g_autofree char *to = format_instant (self, ends_at, "%H:%M");

  /* Translators: an appointment's day and start, then its end time */
  return g_strdup_printf (_("%s–%s"), from, to);
}

static const char *
or_unknown (const char *text)
{
  return text != NULL && *text != '\0' ? text : _("(unknown)");
}

/* The noun for what a reference column points at. */
static const char *
target_noun (const char *column)
{
  if (g_strcmp0 (column, "pet_id") == 0)
    return _("pet");
  if (g_strcmp0 (column, "client_id") == 0)
    return _("client");
  if (g_strcmp0 (column, "staff_id") == 0)
    return _("staff member");
  return _("record");
}

/* The kind of record a table holds, for a person. */
static const char *
table_noun (const char *table)
{
  if (g_strcmp0 (table, "appointments") == 0)
    return _("Appointment");
  if (g_strcmp0 (table, "clients") == 0)
    return _("Client");
  if (g_strcmp0 (table, "pets") == 0)
    return _("Pet");
  if (g_strcmp0 (table, "staff") == 0)
    return _("Staff member");
  return table;
}

/* A text cell of a row as this desk has it (deleted rows included), or NULL. */
static char *
row_text (VdSyncPage *self,
          const char *table_name,
          const char *id,
          const char *column_name)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  const VdColumn *column = table ? vd_table_lookup_column (table, column_name) : NULL;
  VdValue *row;
  char *text = NULL;

  if (column == NULL || id == NULL || *id == '\0')
    return NULL;
  row = g_newa (VdValue, table->n_columns);
  memset (row, 0, sizeof (VdValue) * table->n_columns);
  if (vd_store_get_row (self->store, table, id, row, NULL) &&
      row[column->index].kind == VD_VALUE_TEXT)
    text = g_strdup (row[column->index].s);
  for (guint i = 0; i < table->n_columns; i++)
    vd_value_clear (&row[i]);
  return text;
}

/* Which reference column of the row points at target: the one holding its id, else the
 * column the server's detail names ("The column pet_id of …"). */
static char *
dangling_column (VdSyncPage     *self,
                 VdConflictItem *conflict)
{
  const VdTable *table = vd_schema_lookup_table (vd_conflict_item_get_table_name (conflict));
  const char *target = vd_conflict_item_get_other_row_id (conflict);
  const char *detail = vd_conflict_item_get_detail (conflict);

  if (table == NULL)
    return NULL;
  for (guint c = 0; c < table->n_columns; c++)
    {
      const VdColumn *column = &table->columns[c];
      g_autofree char *value = NULL;

      if (column->ref_table == NULL)
        continue;
      value = row_text (self, table->name, vd_conflict_item_get_row_id (conflict), column->name);
      if (value != NULL && *target != '\0' && g_str_equal (value, target))
        return g_strdup (column->name);
    }
  for (guint c = 0; c < table->n_columns; c++)
    {
      const VdColumn *column = &table->columns[c];
      g_autofree char *needle = NULL;

      if (column->ref_table == NULL)
        continue;
      needle = g_strdup_printf ("column %s ", column->name);
      if (strstr (detail, needle) != NULL)
        return g_strdup (column->name);
    }
  return NULL;
}

/* ---- This desk ---- */

static void
update_state (VdSyncPage *self)
{
  VdSyncState state = self->engine ? vd_sync_engine_get_state (self->engine) : VD_SYNC_OFFLINE;
  const char *sentence = NULL;
  const char *icon = "emblem-ok-symbolic";
  g_autofree char *pending = NULL;
  g_autofree char *last = NULL;
  gint64 offset_ms = 0;
  guint n;

  if (self->engine == NULL)
    {
      adw_action_row_set_subtitle (self->state_row, _("Not signed in"));
      gtk_label_set_text (self->pending_label, "");
      gtk_label_set_text (self->last_sync_label, "");
      gtk_label_set_text (self->device_label, "");
      gtk_widget_set_visible (GTK_WIDGET (self->clock_row), FALSE);
      return;
    }

  switch (state)
    {
    case VD_SYNC_OFFLINE:
      icon = "network-offline-symbolic";
      sentence = _("Working offline: changes are kept on this computer");
      break;
    case VD_SYNC_CONNECTING:
      icon = "network-transmit-receive-symbolic";
      sentence = _("Connecting to the server…");
      break;
    case VD_SYNC_SYNCING:
      icon = "emblem-synchronizing-symbolic";
      sentence = _("Syncing…");
      break;
    case VD_SYNC_UP_TO_DATE:
      sentence = _("Up to date");
      break;
    case VD_SYNC_NEEDS_SIGN_IN:
      icon = "dialog-password-symbolic";
      sentence = _("Sign in again to send and receive changes");
      break;
    case VD_SYNC_ERROR:
    default:
      icon = "dialog-warning-symbolic";
      sentence = vd_sync_engine_get_error_message (self->engine);
      if (sentence == NULL || *sentence == '\0')
        sentence = _("Changes could not be synced. They are kept on this computer.");
      break;
    }
  gtk_image_set_from_icon_name (self->state_icon, icon);
  adw_action_row_set_subtitle (self->state_row, sentence);

  n = vd_sync_engine_get_pending (self->engine);
  pending = n == 0 ? g_strdup (_("None"))
                   : g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u change", "%u changes", n), n);
  gtk_label_set_text (self->pending_label, pending);

  last = vd_sync_describe_last_sync (vd_sync_engine_get_last_sync (self->engine),
                                     g_get_real_time () / G_USEC_PER_SEC);
  gtk_label_set_text (self->last_sync_label, last);
  gtk_label_set_text (self->device_label, vd_store_get_device_id (self->store));

  g_object_get (self->engine, "clock-offset-ms", &offset_ms, NULL);
  /* Under a second is the network's noise, not a wrong clock. */
  gtk_widget_set_visible (GTK_WIDGET (self->clock_row), ABS (offset_ms) >= 1000);
  if (ABS (offset_ms) >= 1000)
    {
      g_autofree char *text = NULL;
      gint64 seconds = ABS (offset_ms) / 1000;

      if (offset_ms > 0)
        /* Translators: the desk's clock compared with the server's */
        text = g_strdup_printf (_("This computer’s clock is %" PRId64 " s ahead of the server’s; VetDesk corrects for it."), seconds);
      else
        text = g_strdup_printf (_("This computer’s clock is %" PRId64 " s behind the server’s; VetDesk corrects for it."), seconds);
      adw_action_row_set_subtitle (self->clock_row, text);
    }
}

static gboolean
tick_cb (gpointer user_data)
{
  update_state (VD_SYNC_PAGE (user_data));
  return G_SOURCE_CONTINUE;
}

/* ---- Conflicts ---- */

static GtkWidget *
label_new (const char *text,
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
action_button (const char *label,
               const char *action,
               GVariant   *target,
               const char *css_class)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  if (target != NULL)
    gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button), target);
  if (css_class != NULL)
    gtk_widget_add_css_class (button, css_class);
  return button;
}

/* One appointment of a double booking: when, who, and what can be done with it. */
static GtkWidget *
appointment_card (VdSyncPage *self,
                  const char *appointment_id)
{
  g_autoptr(VdAppointmentItem) item = vd_appointment_item_load (self->store, appointment_id);
  GtkWidget *card = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *buttons = gtk_flow_box_new ();
  g_autofree char *when = NULL;
  g_autofree char *who = NULL;
  g_autofree char *staff = NULL;
  g_autofree char *status = NULL;

  gtk_widget_add_css_class (card, "card");
  gtk_widget_add_css_class (card, "conflict-card");
  gtk_widget_set_hexpand (card, TRUE);

  if (item == NULL)
    {
      gtk_box_append (GTK_BOX (card), label_new (_("This appointment has not reached this computer yet. Sync to see it."), "dim-label"));
      return card;
    }

  when = describe_span (self, vd_appointment_item_get_starts_at (item), vd_appointment_item_get_ends_at (item));
  /* Translators: a pet and its owner, e.g. "Rex · Ana Pérez" */
  who = g_strdup_printf (_("%s · %s"), or_unknown (vd_appointment_item_get_pet_name (item)),
                         or_unknown (vd_appointment_item_get_client_name (item)));
  /* Translators: the staff member of an appointment */
  staff = g_strdup_printf (_("With %s"), or_unknown (vd_appointment_item_get_staff_name (item)));
  /* Translators: an appointment's kind and status, e.g. "Consultation · Confirmed" */
  status = g_strdup_printf (_("%s · %s"), vd_appointment_kind_label (vd_appointment_item_get_kind (item)),
                            vd_appointment_status_label (vd_appointment_item_get_status (item)));

  gtk_box_append (GTK_BOX (card), label_new (when, "heading"));
  gtk_box_append (GTK_BOX (card), label_new (who, NULL));
  gtk_box_append (GTK_BOX (card), label_new (staff, "dim-label"));
  gtk_box_append (GTK_BOX (card), label_new (status, "dim-label"));
  if (vd_appointment_item_get_allow_overlap (item))
    gtk_box_append (GTK_BOX (card), label_new (_("Overlap allowed"), "success"));

  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (buttons), GTK_SELECTION_NONE);
  gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (buttons), 6);
  gtk_flow_box_set_row_spacing (GTK_FLOW_BOX (buttons), 6);
  gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (buttons), 3);
  gtk_widget_set_margin_top (buttons, 6);
  gtk_flow_box_append (GTK_FLOW_BOX (buttons),
                       action_button (_("_Move…"), "win.edit-appointment",
                                      g_variant_new_string (appointment_id), "move-button"));
  if (g_strcmp0 (vd_appointment_item_get_status (item), "cancelled") != 0)
    gtk_flow_box_append (GTK_FLOW_BOX (buttons),
                         action_button (_("_Cancel It"), "win.set-status",
                                        g_variant_new ("(ss)", appointment_id, "cancelled"),
                                        "cancel-button"));
  if (!vd_appointment_item_get_allow_overlap (item))
    gtk_flow_box_append (GTK_FLOW_BOX (buttons),
                         action_button (_("_Allow Overlap"), "sync-page.allow-overlap",
                                        g_variant_new_string (appointment_id), "allow-button"));
  gtk_box_append (GTK_BOX (card), buttons);
  return card;
}

/* The appointments of a double booking: the server names every one of the group in the
 * conflict's detail (one conflict per group of overlapping appointments); row_id and
 * other_row_id are two of them, kept for a detail that names none. */
static GPtrArray *
double_booking_members (VdConflictItem *conflict)
{
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  const char *detail = vd_conflict_item_get_detail (conflict);

  for (const char *p = detail; p != NULL && strlen (p) >= VD_UUID_LEN; p++)
    {
      g_autofree char *candidate = g_strndup (p, VD_UUID_LEN);

      if (vd_uuid_is_valid (candidate))
        {
          g_ptr_array_add (ids, g_steal_pointer (&candidate));
          p += VD_UUID_LEN - 1;
        }
    }
  if (ids->len < 2)
    {
      g_ptr_array_set_size (ids, 0);
      g_ptr_array_add (ids, g_strdup (vd_conflict_item_get_row_id (conflict)));
      if (vd_conflict_item_get_other_row_id (conflict) != NULL)
        g_ptr_array_add (ids, g_strdup (vd_conflict_item_get_other_row_id (conflict)));
    }
  return ids;
}

/* At most this many appointments of one group get a card; the rest are counted. */
#define MAX_GROUP_CARDS 12

static GtkWidget *
double_booking_row (VdSyncPage     *self,
                    VdConflictItem *conflict)
{
  g_autoptr(VdAppointmentItem) first = vd_appointment_item_load (self->store, vd_conflict_item_get_row_id (conflict));
  g_autoptr(GPtrArray) members = double_booking_members (conflict);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  g_autofree char *title = NULL;
  const char *staff = first != NULL ? or_unknown (vd_appointment_item_get_staff_name (first)) : NULL;

  if (members->len <= 2)
    {
      GtkWidget *pair = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);

      if (staff != NULL)
        /* Translators: a double-booking conflict, %s is the staff member */
        title = g_strdup_printf (_("%s is booked twice at the same time"), staff);
      else
        title = g_strdup (_("A staff member is booked twice at the same time"));
      gtk_box_append (GTK_BOX (box), label_new (title, "heading"));
      gtk_box_append (GTK_BOX (box), label_new (_("Move or cancel one of them, or allow the overlap if both really happen."), "dim-label"));
      gtk_box_set_homogeneous (GTK_BOX (pair), TRUE);
      for (guint i = 0; i < members->len; i++)
        gtk_box_append (GTK_BOX (pair), appointment_card (self, members->pdata[i]));
      gtk_box_append (GTK_BOX (box), pair);
      return box;
    }

  {
    GtkWidget *group = gtk_flow_box_new ();
    guint shown = MIN (members->len, MAX_GROUP_CARDS);

    if (staff != NULL)
      /* Translators: a double booking of several appointments; %s is the staff member,
       * %u how many appointments overlap one another */
      title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                            "%s has %u appointments that overlap",
                                            "%s has %u appointments that overlap",
                                            members->len),
                               staff, members->len);
    else
      title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                            "A staff member has %u appointments that overlap",
                                            "A staff member has %u appointments that overlap",
                                            members->len),
                               members->len);
    gtk_box_append (GTK_BOX (box), label_new (title, "heading"));
    gtk_box_append (GTK_BOX (box), label_new (_("Each overlaps at least one of the others. Move or cancel them until none overlap, or allow the overlap where both really happen."), "dim-label"));
    gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (group), GTK_SELECTION_NONE);
    gtk_flow_box_set_homogeneous (GTK_FLOW_BOX (group), TRUE);
    gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (group), 12);
    gtk_flow_box_set_row_spacing (GTK_FLOW_BOX (group), 12);
    gtk_flow_box_set_min_children_per_line (GTK_FLOW_BOX (group), 2);
    gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (group), 3);
    gtk_widget_add_css_class (group, "conflict-group");
    for (guint i = 0; i < shown; i++)
      gtk_flow_box_append (GTK_FLOW_BOX (group), appointment_card (self, members->pdata[i]));
    gtk_box_append (GTK_BOX (box), group);
    if (shown < members->len)
      {
        g_autofree char *more = NULL;

        /* Translators: below the first appointments of a large double booking */
        more = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "… and %u more appointment in this group. Resolve these first; the rest show here as they do.",
                                             "… and %u more appointments in this group. Resolve these first; the rest show here as they do.",
                                             members->len - shown),
                                members->len - shown);
        gtk_box_append (GTK_BOX (box), label_new (more, "dim-label"));
      }
  }
  return box;
}

static GtkWidget *
dangling_row (VdSyncPage     *self,
              VdConflictItem *conflict)
{
  const char *table = vd_conflict_item_get_table_name (conflict);
  const char *row_id = vd_conflict_item_get_row_id (conflict);
  g_autofree char *column = dangling_column (self, conflict);
  const char *noun = target_noun (column);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  g_autofree char *title = NULL;
  g_autofree char *sentence = NULL;
  g_autofree char *name = NULL;

  /* Translators: a missing-reference conflict, %s is "pet", "client" or "staff member" */
  title = g_strdup_printf (_("A missing %s"), noun);

  if (g_strcmp0 (table, "appointments") == 0)
    {
      g_autoptr(VdAppointmentItem) item = vd_appointment_item_load (self->store, row_id);
      g_autofree char *when = item ? describe_span (self, vd_appointment_item_get_starts_at (item),
                                                    vd_appointment_item_get_ends_at (item)) : NULL;

      /* Translators: first %s is a day and time, second "pet", "client" or "staff member" */
      sentence = g_strdup_printf (_("The appointment on %s refers to a %s that was deleted or never reached the server. Open it to choose another %s, or delete the appointment."),
                                  when ? when : _("(unknown day)"), noun, noun);
      gtk_box_append (GTK_BOX (buttons),
                      action_button (_("_Open Appointment"), "win.edit-appointment",
                                     g_variant_new_string (row_id), "open-button"));
    }
  else
    {
      name = row_text (self, table, row_id, g_strcmp0 (table, "clients") == 0 ? "last_name" : "name");
      /* Translators: first %s is a kind of record ("Pet"), second its name, third and
       * fourth "pet", "client" or "staff member" */
      sentence = g_strdup_printf (_("%s “%s” refers to a %s that was deleted or never reached the server. Open it to choose another %s, or delete it."),
                                  table_noun (table), or_unknown (name), noun, noun);
      gtk_box_append (GTK_BOX (buttons),
                      action_button (_("_Open"), "sync-page.open-record",
                                     g_variant_new ("(ss)", table, row_id), "open-button"));
    }
  gtk_box_append (GTK_BOX (buttons),
                  action_button (_("_Delete…"), "sync-page.delete-row",
                                 g_variant_new ("(ss)", table, row_id), "destructive-action"));

  gtk_box_append (GTK_BOX (box), label_new (title, "heading"));
  gtk_box_append (GTK_BOX (box), label_new (sentence, NULL));
  gtk_box_append (GTK_BOX (box), buttons);
  return box;
}

static void
rebuild_conflicts (VdSyncPage *self)
{
  GtkWidget *child;
  guint n = self->conflicts ? g_list_model_get_n_items (G_LIST_MODEL (self->conflicts)) : 0;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->conflicts_list))) != NULL)
    gtk_list_box_remove (self->conflicts_list, child);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(VdConflictItem) conflict = g_list_model_get_item (G_LIST_MODEL (self->conflicts), i);
      GtkWidget *row = gtk_list_box_row_new ();
      GtkWidget *content;

      if (g_strcmp0 (vd_conflict_item_get_kind (conflict), "double_booking") == 0)
        content = double_booking_row (self, conflict);
      else
        content = dangling_row (self, conflict);
      gtk_widget_set_margin_top (content, 12);
      gtk_widget_set_margin_bottom (content, 12);
      gtk_widget_set_margin_start (content, 12);
      gtk_widget_set_margin_end (content, 12);
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), content);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
      gtk_widget_set_name (row, vd_conflict_item_get_id (conflict));
      gtk_list_box_append (self->conflicts_list, row);
    }
}

/* ---- Refused changes ---- */

/* "status, start" from a change's JSON: what the refused change tried to set. */
static char *
changed_columns (const char *table_name,
                 const char *change_json)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GString) text = g_string_new (NULL);
  JsonNode *root;
  JsonObject *set;
  g_autoptr(GList) members = NULL;

  if (change_json == NULL || !json_parser_load_from_data (parser, change_json, -1, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root) ||
      !json_object_has_member (json_node_get_object (root), "set") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (json_node_get_object (root), "set")))
    return NULL;
  set = json_object_get_object_member (json_node_get_object (root), "set");
  members = json_object_get_members (set);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const VdColumn *column = table ? vd_table_lookup_column (table, l->data) : NULL;

      /* "deleted" rides along with every new row; it says nothing to a person. */
      if (g_strcmp0 (l->data, "deleted") == 0)
        continue;
      g_string_append_printf (text, "%s%s", text->len > 0 ? ", " : "",
                              column != NULL ? vd_column_label (column) : (const char *) l->data);
    }
  return text->len > 0 ? g_strdup (text->str) : NULL;
}

/* "Appointment of Rex, Mon 3 Mar, 10:00–10:30", "Client Pérez García", … */
static char *
describe_record (VdSyncPage *self,
                 const char *table,
                 const char *row_id)
{
  g_autofree char *name = NULL;

  if (g_strcmp0 (table, "appointments") == 0)
    {
      g_autoptr(VdAppointmentItem) item = vd_appointment_item_load (self->store, row_id);
      g_autofree char *when = NULL;

      if (item == NULL)
        return g_strdup (_("A new appointment"));
      when = describe_span (self, vd_appointment_item_get_starts_at (item), vd_appointment_item_get_ends_at (item));
      /* Translators: a refused change's record: the pet, then day and time */
      return g_strdup_printf (_("Appointment of %s, %s"), or_unknown (vd_appointment_item_get_pet_name (item)), when);
    }
  if (g_strcmp0 (table, "clients") == 0)
    {
      g_autofree char *first = row_text (self, table, row_id, "first_name");

      name = row_text (self, table, row_id, "last_name");
      if (first != NULL)
        {
          char *full = g_strdup_printf ("%s %s", first, name ? name : "");

          g_free (name);
          name = full;
        }
    }
  else
    name = row_text (self, table, row_id, "name");
  /* Translators: a refused change's record: its kind ("Pet") and name */
  return g_strdup_printf (_("%s %s"), table_noun (table), or_unknown (name));
}

static GtkWidget *
rejected_row (VdSyncPage *self,
              VdRejected *rejected)
{
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *title = describe_record (self, rejected->table, rejected->row_id);
  g_autofree char *columns = changed_columns (rejected->table, rejected->change_json);
  g_autofree char *subtitle = NULL;
  GtkWidget *fix;
  GtkWidget *discard;
  gboolean can_open = g_strcmp0 (rejected->table, "appointments") == 0 ||
                      g_strcmp0 (rejected->table, "clients") == 0 ||
                      g_strcmp0 (rejected->table, "pets") == 0;

  if (columns != NULL)
    /* Translators: why the server refused a change, then the fields it changed */
    subtitle = g_strdup_printf (_("%s (changed: %s)"), or_unknown (rejected->message), columns);
  else
    subtitle = g_strdup (or_unknown (rejected->message));

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 4);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("dialog-warning-symbolic"));

  fix = action_button (_("_Fix…"), "sync-page.open-record",
                       g_variant_new ("(ss)", rejected->table, rejected->row_id), "fix-button");
  gtk_widget_set_valign (fix, GTK_ALIGN_CENTER);
  gtk_widget_set_sensitive (fix, can_open);
  discard = action_button (_("_Discard…"), "sync-page.discard",
                           g_variant_new_int64 (rejected->outbox_id), "destructive-action");
  gtk_widget_set_valign (discard, GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), fix);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), discard);
  return row;
}

static void
rebuild_rejected (VdSyncPage *self)
{
  GtkWidget *child;
  g_autoptr(GError) error = NULL;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->rejected_list))) != NULL)
    gtk_list_box_remove (self->rejected_list, child);
  g_clear_pointer (&self->rejected, g_ptr_array_unref);
  if (self->store == NULL)
    return;

  self->rejected = vd_store_list_rejected (self->store, &error);
  if (self->rejected == NULL)
    {
      g_warning ("Could not read the refused changes: %s", error->message);
      return;
    }
  for (guint i = 0; i < self->rejected->len; i++)
    gtk_list_box_append (self->rejected_list, rejected_row (self, g_ptr_array_index (self->rejected, i)));
}

static void
update_attention (VdSyncPage *self)
{
  guint n_conflicts = vd_sync_page_get_n_conflicts (self);
  guint n_rejected = vd_sync_page_get_n_rejected (self);

  /* An empty list still says so, rather than leaving a group with nothing under it. */
  gtk_widget_set_visible (GTK_WIDGET (self->rejected_group), n_rejected > 0);
  if (self->attention == n_conflicts + n_rejected)
    return;
  self->attention = n_conflicts + n_rejected;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTENTION]);
}

static void
refresh (VdSyncPage *self)
{
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  rebuild_conflicts (self);
  rebuild_rejected (self);
  update_state (self);
  update_attention (self);
}

static gboolean
refresh_idle_cb (gpointer user_data)
{
  VdSyncPage *self = user_data;

  self->refresh_id = 0;
  refresh (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_refresh (VdSyncPage *self)
{
  if (self->refresh_id == 0)
    self->refresh_id = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, refresh_idle_cb, self, NULL);
}

static void
store_changed_cb (VdSyncPage *self,
                  const char *table)
{
  /* What the cards show, and the outbox behind the refused list. */
  schedule_refresh (self);
}

/* ---- actions ---- */

static gboolean
commit_bool (VdSyncPage  *self,
             const char  *table_name,
             const char  *id,
             const char  *column_name,
             gboolean     value,
             GError     **error)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  const VdColumn *column = table ? vd_table_lookup_column (table, column_name) : NULL;
  g_autoptr(VdChange) change = NULL;
  VdValue cell = { VD_VALUE_NULL };

  g_assert (column != NULL);
  change = vd_store_new_change (self->store, table_name, id);
  vd_value_set_bool (&cell, value);
  vd_change_take_cell (change, column, &cell);
  return vd_store_commit (self->store, change, error);
}

typedef struct
{
  VdSyncPage *self;   /* weak: the toast may outlive the page */
  char       *table;
  char       *id;
  char       *column;
  gboolean    value;
} Undo;

static void
undo_free (gpointer data)
{
  Undo *undo = data;

  g_clear_weak_pointer (&undo->self);
  g_free (undo->table);
  g_free (undo->id);
  g_free (undo->column);
  g_free (undo);
}

static void
undo_clicked_cb (AdwToast *t,
                 Undo     *undo)
{
  g_autoptr(GError) error = NULL;

  if (undo->self == NULL || undo->self->store == NULL)
    return;
  /* Undo is a change like any other: the old value, newly stamped. */
  if (!commit_bool (undo->self, undo->table, undo->id, undo->column, undo->value, &error))
    toast_text (undo->self, error->message);
}

/* A boolean cell set as one user action, with an Undo toast. */
static void
set_with_undo (VdSyncPage *self,
               const char *table,
               const char *id,
               const char *column,
               gboolean    value,
               const char *done)
{
  g_autoptr(GError) error = NULL;
  AdwToast *t;
  Undo *undo;

  if (!commit_bool (self, table, id, column, value, &error))
    {
      toast_text (self, error->message);
      return;
    }
  undo = g_new0 (Undo, 1);
  g_set_weak_pointer (&undo->self, self);
  undo->table = g_strdup (table);
  undo->id = g_strdup (id);
  undo->column = g_strdup (column);
  undo->value = !value;

  t = adw_toast_new (done);
  adw_toast_set_timeout (t, 6);
  adw_toast_set_button_label (t, _("_Undo"));
  g_signal_connect_data (t, "button-clicked", G_CALLBACK (undo_clicked_cb), undo,
                         (GClosureNotify) (void (*) (void)) undo_free, 0);
  toast (self, t);
  schedule_refresh (self);
}

static void
allow_overlap_cb (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *param)
{
  VdSyncPage *self = VD_SYNC_PAGE (widget);

  if (self->store == NULL)
    return;
  set_with_undo (self, "appointments", g_variant_get_string (param, NULL), "allow_overlap", TRUE,
                 _("Overlap allowed: both appointments stay booked"));
}

static void
delete_response_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    VdSyncPage       *self)
{
  const char *table = g_object_get_data (G_OBJECT (dialog), "table");
  const char *id = g_object_get_data (G_OBJECT (dialog), "id");
  g_autofree char *done = NULL;

  if (g_strcmp0 (response, "delete") != 0 || self->store == NULL)
    return;
  /* Translators: a toast, %s is "Appointment", "Pet", … */
  done = g_strdup_printf (_("%s deleted"), table_noun (table));
  set_with_undo (self, table, id, "deleted", TRUE, done);
}

static void
delete_row_cb (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  VdSyncPage *self = VD_SYNC_PAGE (widget);
  const char *table, *id;
  g_autofree char *record = NULL;
  GtkWidget *dialog;

  if (self->store == NULL)
    return;
  g_variant_get (param, "(&s&s)", &table, &id);
  record = describe_record (self, table, id);
  dialog = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (widget)),
                                   _("Delete This Record?"), NULL);
  /* Translators: %s names the record, e.g. "Appointment of Rex, Mon 3 Mar, 10:00–10:30" */
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("%s will be deleted on every desk of the clinic. You can undo it right after."),
                                  record);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Keep"),
                                    "delete", _("_Delete"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "table", g_strdup (table), g_free);
  g_object_set_data_full (G_OBJECT (dialog), "id", g_strdup (id), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (delete_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
open_record_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  const char *table, *id;
  const char *action = NULL;

  g_variant_get (param, "(&s&s)", &table, &id);
  if (g_strcmp0 (table, "appointments") == 0)
    action = "win.edit-appointment";
  else if (g_strcmp0 (table, "clients") == 0)
    action = "win.show-client";
  else if (g_strcmp0 (table, "pets") == 0)
    action = "win.show-pet";
  if (action == NULL || !gtk_widget_activate_action (widget, action, "s", id))
    toast_text (VD_SYNC_PAGE (widget), _("This record cannot be opened on this desk yet."));
}

static void
discard_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     VdSyncPage       *self)
{
  gint64 outbox_id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (dialog), "outbox-id"));
  g_autoptr(GError) error = NULL;

  if (g_strcmp0 (response, "discard") != 0 || self->store == NULL)
    return;
  if (!vd_store_discard_rejected (self->store, outbox_id, &error))
    {
      toast_text (self, error->message);
      return;
    }
  toast_text (self, _("Change discarded"));
  refresh (self);
}

static void
discard_cb (GtkWidget  *widget,
            const char *action_name,
            GVariant   *param)
{
  VdSyncPage *self = VD_SYNC_PAGE (widget);
  gint64 outbox_id = g_variant_get_int64 (param);
  VdRejected *rejected = NULL;
  g_autofree char *record = NULL;
  GtkWidget *dialog;

  for (guint i = 0; self->rejected != NULL && i < self->rejected->len; i++)
    if (((VdRejected *) g_ptr_array_index (self->rejected, i))->outbox_id == outbox_id)
      rejected = g_ptr_array_index (self->rejected, i);
  if (rejected == NULL)
    return;

  record = describe_record (self, rejected->table, rejected->row_id);
  dialog = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (widget)),
                                   _("Discard This Change?"), NULL);
  /* Translators: first %s names the record, the second is the server's reason */
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("The change to %s will be lost. The server refused it: %s"),
                                  record, or_unknown (rejected->message));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Keep It"),
                                    "discard", _("_Discard"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "discard",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data (G_OBJECT (dialog), "outbox-id", GSIZE_TO_POINTER ((gsize) outbox_id));
  g_signal_connect_object (dialog, "response", G_CALLBACK (discard_response_cb), self, 0);
  g_set_weak_pointer (&self->discard_dialog, ADW_MESSAGE_DIALOG (dialog));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- public ---- */

GtkWidget *
vd_sync_page_new (void)
{
  return g_object_new (VD_TYPE_SYNC_PAGE, NULL);
}

void
vd_sync_page_set_session (VdSyncPage   *self,
                          VdStore      *store,
                          VdSyncEngine *engine)
{
  g_return_if_fail (VD_IS_SYNC_PAGE (self));
  g_return_if_fail (store == NULL || VD_IS_STORE (store));
  g_return_if_fail (engine == NULL || VD_IS_SYNC_ENGINE (engine));

  if (self->store == store && self->engine == engine)
    return;

  if (self->store != NULL)
    g_signal_handlers_disconnect_by_data (self->store, self);
  if (self->engine != NULL)
    g_signal_handlers_disconnect_by_data (self->engine, self);
  if (self->conflicts != NULL)
    g_signal_handlers_disconnect_by_data (self->conflicts, self);
  g_clear_object (&self->conflicts);
  g_set_object (&self->store, store);
  g_set_object (&self->engine, engine);

  if (store != NULL)
    {
      self->conflicts = vd_conflict_list_new (store);
      g_signal_connect_object (self->conflicts, "items-changed", G_CALLBACK (schedule_refresh), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (store, "changed", G_CALLBACK (store_changed_cb), self, G_CONNECT_SWAPPED);
    }
  if (engine != NULL)
    {
      g_signal_connect_object (engine, "notify::state", G_CALLBACK (schedule_refresh), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (engine, "notify::pending", G_CALLBACK (schedule_refresh), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (engine, "notify::last-sync", G_CALLBACK (schedule_refresh), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (engine, "notify::error-message", G_CALLBACK (update_state), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (engine, "notify::clock-offset-ms", G_CALLBACK (update_state), self, G_CONNECT_SWAPPED);
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sync-page.allow-overlap", store != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sync-page.delete-row", store != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sync-page.discard", store != NULL);
  refresh (self);
}

guint
vd_sync_page_get_attention (VdSyncPage *self)
{
  g_return_val_if_fail (VD_IS_SYNC_PAGE (self), 0);

  return self->attention;
}

void
vd_sync_page_refresh (VdSyncPage *self)
{
  g_return_if_fail (VD_IS_SYNC_PAGE (self));

  if (self->conflicts != NULL)
    vd_store_list_refresh (G_LIST_MODEL (self->conflicts));
  refresh (self);
}

guint
vd_sync_page_get_n_conflicts (VdSyncPage *self)
{
  g_return_val_if_fail (VD_IS_SYNC_PAGE (self), 0);

  return self->conflicts ? g_list_model_get_n_items (G_LIST_MODEL (self->conflicts)) : 0;
}

guint
vd_sync_page_get_n_rejected (VdSyncPage *self)
{
  g_return_val_if_fail (VD_IS_SYNC_PAGE (self), 0);

  return self->rejected ? self->rejected->len : 0;
}

GtkWidget *
vd_sync_page_get_conflict_row (VdSyncPage *self,
                               guint       index)
{
  g_return_val_if_fail (VD_IS_SYNC_PAGE (self), NULL);

  return GTK_WIDGET (gtk_list_box_get_row_at_index (self->conflicts_list, (int) index));
}

GtkWidget *
vd_sync_page_get_rejected_row (VdSyncPage *self,
                               guint       index)
{
  g_return_val_if_fail (VD_IS_SYNC_PAGE (self), NULL);

  return GTK_WIDGET (gtk_list_box_get_row_at_index (self->rejected_list, (int) index));
}

const char *
vd_sync_page_get_conflict_id (VdSyncPage *self,
                              guint       index)
{
  GtkWidget *row;

  g_return_val_if_fail (VD_IS_SYNC_PAGE (self), NULL);

  row = vd_sync_page_get_conflict_row (self, index);
  return row != NULL ? gtk_widget_get_name (row) : NULL;
}

AdwMessageDialog *
vd_sync_page_get_discard_dialog (VdSyncPage *self)
{
  g_return_val_if_fail (VD_IS_SYNC_PAGE (self), NULL);

  return self->discard_dialog;
}

/* ---- GObject ---- */

static void
vd_sync_page_map (GtkWidget *widget)
{
  VdSyncPage *self = VD_SYNC_PAGE (widget);

  GTK_WIDGET_CLASS (vd_sync_page_parent_class)->map (widget);
  /* "Synced 2 minutes ago" moves on while the page is in sight. */
  update_state (self);
  if (self->tick_id == 0)
    self->tick_id = g_timeout_add_seconds (30, tick_cb, self);
}

static void
vd_sync_page_unmap (GtkWidget *widget)
{
  VdSyncPage *self = VD_SYNC_PAGE (widget);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  GTK_WIDGET_CLASS (vd_sync_page_parent_class)->unmap (widget);
}

static void
vd_sync_page_dispose (GObject *object)
{
  VdSyncPage *self = VD_SYNC_PAGE (object);

  g_clear_handle_id (&self->refresh_id, g_source_remove);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  if (self->discard_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->discard_dialog));
  g_clear_weak_pointer (&self->discard_dialog);
  if (self->conflicts != NULL)
    g_signal_handlers_disconnect_by_data (self->conflicts, self);
  g_clear_object (&self->conflicts);
  g_clear_object (&self->engine);
  g_clear_object (&self->store);
  g_clear_pointer (&self->rejected, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), VD_TYPE_SYNC_PAGE);

  G_OBJECT_CLASS (vd_sync_page_parent_class)->dispose (object);
}

static void
vd_sync_page_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  VdSyncPage *self = VD_SYNC_PAGE (object);

  switch (prop_id)
    {
    case PROP_ATTENTION:
      g_value_set_uint (value, self->attention);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_sync_page_class_init (VdSyncPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vd_sync_page_dispose;
  object_class->get_property = vd_sync_page_get_property;
  widget_class->map = vd_sync_page_map;
  widget_class->unmap = vd_sync_page_unmap;

  properties[PROP_ATTENTION] =
    g_param_spec_uint ("attention", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/vetdesk/VetDesk/vd-sync-page.ui");
  gtk_widget_class_bind_template_child (widget_class, VdSyncPage, page);
  gtk_widget_class_bind_template_child (widget_class, VdSyncPage, sync_button);
  gtk_widget_class_bind_template_child (widget_class, VdSyncPage, state_row);
  gtk_widget_class_bind_template_child (widget_class, VdSyncPage, state_icon);
  gtk_widget_class_bind_template_child (widget_class, VdSyncPage, pending_label);
  gtk_widget_class_bind_template_child (widget_class, VdSyncPage, last_sync_label);
  gtk_widget_class_bind_template_child (widget_class, VdSyncPage, clock_row);
  gtk_widget_class_bind_template_child (widget_class, VdSyncPage, device_label);
  gtk_widget_class_bind_template_child (widget_class, VdSyncPage, conflicts_group);
  gtk_widget_class_bind_template_child (widget_class, VdSyncPage, conflicts_list);
  gtk_widget_class_bind_template_child (widget_class, VdSyncPage, rejected_group);
  gtk_widget_class_bind_template_child (widget_class, VdSyncPage, rejected_list);

  gtk_widget_class_install_action (widget_class, "sync-page.allow-overlap", "s", allow_overlap_cb);
  gtk_widget_class_install_action (widget_class, "sync-page.delete-row", "(ss)", delete_row_cb);
  gtk_widget_class_install_action (widget_class, "sync-page.open-record", "(ss)", open_record_cb);
  gtk_widget_class_install_action (widget_class, "sync-page.discard", "x", discard_cb);
}

static void
vd_sync_page_init (VdSyncPage *self)
{
  GtkWidget *placeholder;

  gtk_widget_init_template (GTK_WIDGET (self));

  placeholder = gtk_label_new (_("No open conflicts"));
  gtk_widget_add_css_class (placeholder, "dim-label");
  gtk_widget_set_margin_top (placeholder, 18);
  gtk_widget_set_margin_bottom (placeholder, 18);
  gtk_list_box_set_placeholder (self->conflicts_list, placeholder);
  update_state (self);
  update_attention (self);
}
