/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-search-popover.c — the global search: each pause in typing runs one FTS5 query
 * (vd-search, a few ms) on the main thread and shows clients, then pets, under headers.
 * Arrows move through the results while the entry keeps the focus; Enter opens one. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "vd-search-popover.h"
#include "vd-record-form.h"
#include "vd-search.h"

/* Enough to find someone by a fragment; more is a sign to type another letter. */
#define RESULTS_PER_KIND 8

struct _VdSearchPopover
{
  GtkPopover      parent_instance;

  GtkSearchEntry *entry;
  GtkStack       *results_stack;
  GtkLabel       *empty_label;
  GtkListBox     *list;

  VdStore        *store;
  VdSearch       *search;
  GPtrArray      *results;      /* VdSearchResult*, in the order shown */
  gint64          last_search_us;
};

G_DEFINE_FINAL_TYPE (VdSearchPopover, vd_search_popover, GTK_TYPE_POPOVER)

enum
{
  RESULT_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const char *
kind_name (VdSearchKind kind)
{
  return kind == VD_SEARCH_CLIENT ? "client" : "pet";
}

static VdSearchResult *
row_result (VdSearchPopover *self,
            GtkListBoxRow   *row)
{
  int index = row != NULL ? gtk_list_box_row_get_index (row) : -1;

  if (index < 0 || self->results == NULL || (guint) index >= self->results->len)
    return NULL;
  return g_ptr_array_index (self->results, index);
}

static void
header_func (GtkListBoxRow *row,
             GtkListBoxRow *before,
             gpointer       user_data)
{
  VdSearchPopover *self = user_data;
  VdSearchResult *result = row_result (self, row);
  VdSearchResult *previous = row_result (self, before);
  GtkWidget *header;

  if (result == NULL || (previous != NULL && previous->kind == result->kind))
    {
      gtk_list_box_row_set_header (row, NULL);
      return;
    }
  header = gtk_label_new (result->kind == VD_SEARCH_CLIENT ? _("Clients") : _("Pets"));
  gtk_label_set_xalign (GTK_LABEL (header), 0);
  gtk_widget_set_margin_start (header, 8);
  gtk_widget_set_margin_top (header, previous != NULL ? 12 : 4);
  gtk_widget_set_margin_bottom (header, 4);
  gtk_widget_add_css_class (header, "heading");
  gtk_widget_add_css_class (header, "dim-label");
  gtk_list_box_row_set_header (row, header);
}

/* A pet's line starts with its species in the reader's language: the index keeps the
 * code ("dog"), so the line is finished here. */
static void
describe_species (VdSearchResult *result)
{
  const char *label;
  char *line;

  if (result->species == NULL)
    return;
  label = vd_pet_species_label (result->species);
  if (result->subtitle == NULL || *result->subtitle == '\0')
    line = g_strdup (label);
  else
    /* Translators: species · breed, under a pet's name */
    line = g_strdup_printf (_("%s · %s"), label, result->subtitle);
  g_free (result->subtitle);
  result->subtitle = line;
}

static GtkWidget *
create_row (VdSearchResult *result)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *icon = gtk_image_new_from_icon_name (result->kind == VD_SEARCH_CLIENT
                                                  ? "avatar-default-symbolic"
                                                  : "emblem-favorite-symbolic");
  GtkWidget *title = gtk_label_new (result->title);
  GtkWidget *subtitle = gtk_label_new (result->subtitle);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  gtk_label_set_xalign (GTK_LABEL (subtitle), 0);
  gtk_label_set_ellipsize (GTK_LABEL (subtitle), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_widget_add_css_class (subtitle, "caption");
  gtk_widget_set_visible (subtitle, result->subtitle != NULL && *result->subtitle != '\0');
  gtk_widget_set_valign (icon, GTK_ALIGN_CENTER);

  gtk_box_append (GTK_BOX (text), title);
  gtk_box_append (GTK_BOX (text), subtitle);
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), text);
  gtk_widget_set_margin_top (box, 4);
  gtk_widget_set_margin_bottom (box, 4);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  return row;
}

static void
clear_rows (VdSearchPopover *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);
  g_clear_pointer (&self->results, g_ptr_array_unref);
}

static void
run_search (VdSearchPopover *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->entry));
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autofree char *stripped = g_strstrip (g_strdup (text));
  gint64 start;

  clear_rows (self);
  if (*stripped == '\0' || self->store == NULL)
    {
      gtk_stack_set_visible_child_name (self->results_stack, "hint");
      return;
    }

  if (self->search == NULL)
    self->search = vd_search_new (vd_store_get_db (self->store), &error);
  start = g_get_monotonic_time ();
  if (self->search != NULL)
    results = vd_search_run (self->search, vd_store_get_tenant_id (self->store), stripped,
                             RESULTS_PER_KIND, &error);
  self->last_search_us = g_get_monotonic_time () - start;

  if (results == NULL)
    {
      g_warning ("Search failed: %s", error ? error->message : "no index");
      gtk_label_set_text (self->empty_label, _("Search is not available right now. Try again in a moment."));
      gtk_stack_set_visible_child_name (self->results_stack, "empty");
      return;
    }
  if (results->len == 0)
    {
      g_autofree char *sentence = NULL;

      /* Translators: %s is what was typed in the search */
      sentence = g_strdup_printf (_("No client or pet matches “%s”."), stripped);
      gtk_label_set_text (self->empty_label, sentence);
      gtk_stack_set_visible_child_name (self->results_stack, "empty");
      return;
    }

  self->results = g_steal_pointer (&results);
  for (guint i = 0; i < self->results->len; i++)
    {
      describe_species (g_ptr_array_index (self->results, i));
      gtk_list_box_append (self->list, create_row (g_ptr_array_index (self->results, i)));
    }
  gtk_list_box_select_row (self->list, gtk_list_box_get_row_at_index (self->list, 0));
  gtk_stack_set_visible_child_name (self->results_stack, "results");
}

static void
open_result (VdSearchPopover *self,
             VdSearchResult  *result)
{
  g_autofree char *id = NULL;
  const char *kind;

  if (result == NULL)
    return;
  /* The results go away with the popover; keep what the action needs. */
  id = g_strdup (result->id);
  kind = kind_name (result->kind);
  g_signal_emit (self, signals[RESULT_ACTIVATED], 0, kind, id);
  gtk_popover_popdown (GTK_POPOVER (self));
  if (!gtk_widget_activate_action (GTK_WIDGET (self),
                                   g_str_equal (kind, "client") ? "win.show-client" : "win.show-pet",
                                   "s", id))
    g_debug ("No detail page for %s %s yet", kind, id);
}

static void
search_changed_cb (VdSearchPopover *self)
{
  run_search (self);
}

static void
entry_activate_cb (VdSearchPopover *self)
{
  GtkListBoxRow *row;

  /* Enter right after typing, before the pause: search now rather than open stale rows. */
  run_search (self);
  row = gtk_list_box_get_selected_row (self->list);
  if (row == NULL)
    row = gtk_list_box_get_row_at_index (self->list, 0);
  open_result (self, row_result (self, row));
}

static void
stop_search_cb (VdSearchPopover *self)
{
  gtk_popover_popdown (GTK_POPOVER (self));
}

static void
row_activated_cb (VdSearchPopover *self,
                  GtkListBoxRow   *row)
{
  open_result (self, row_result (self, row));
}

static gboolean
move_selection (VdSearchPopover *self,
                int              delta)
{
  GtkListBoxRow *row = gtk_list_box_get_selected_row (self->list);
  GtkAdjustment *adjustment = gtk_list_box_get_adjustment (self->list);
  int n = self->results != NULL ? (int) self->results->len : 0;
  graphene_rect_t bounds;
  int index;

  if (n == 0)
    return FALSE;
  index = row != NULL ? gtk_list_box_row_get_index (row) + delta : 0;
  index = CLAMP (index, 0, n - 1);
  row = gtk_list_box_get_row_at_index (self->list, index);
  gtk_list_box_select_row (self->list, row);
  /* Keep the selected row in sight without taking the focus from the entry. */
  gtk_widget_grab_focus (GTK_WIDGET (self->entry));
  if (adjustment != NULL &&
      gtk_widget_compute_bounds (GTK_WIDGET (row), GTK_WIDGET (self->list), &bounds))
    gtk_adjustment_clamp_page (adjustment, bounds.origin.y, bounds.origin.y + bounds.size.height);
  return TRUE;
}

static gboolean
key_pressed_cb (VdSearchPopover       *self,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                GtkEventControllerKey *controller)
{
  switch (keyval)
    {
    case GDK_KEY_Down:
    case GDK_KEY_KP_Down:
      return move_selection (self, 1);
    case GDK_KEY_Up:
    case GDK_KEY_KP_Up:
      return move_selection (self, -1);
    case GDK_KEY_Page_Down:
      return move_selection (self, 5);
    case GDK_KEY_Page_Up:
      return move_selection (self, -5);
    default:
      return FALSE;
    }
}

static void
vd_search_popover_show (GtkWidget *widget)
{
  VdSearchPopover *self = VD_SEARCH_POPOVER (widget);

  GTK_WIDGET_CLASS (vd_search_popover_parent_class)->show (widget);
  /* Ctrl+K again starts a new search: the old text is selected, ready to be typed over. */
  gtk_widget_grab_focus (GTK_WIDGET (self->entry));
  gtk_editable_select_region (GTK_EDITABLE (self->entry), 0, -1);
}

/* ---- public ---- */

GtkWidget *
vd_search_popover_new (void)
{
  return g_object_new (VD_TYPE_SEARCH_POPOVER, NULL);
}

void
vd_search_popover_set_store (VdSearchPopover *self,
                             VdStore         *store)
{
  g_return_if_fail (VD_IS_SEARCH_POPOVER (self));
  g_return_if_fail (store == NULL || VD_IS_STORE (store));

  if (self->store == store)
    return;
  clear_rows (self);
  g_clear_pointer (&self->search, vd_search_free);
  g_set_object (&self->store, store);
  gtk_editable_set_text (GTK_EDITABLE (self->entry), "");
  gtk_stack_set_visible_child_name (self->results_stack, "hint");
}

GtkEditable *
vd_search_popover_get_entry (VdSearchPopover *self)
{
  g_return_val_if_fail (VD_IS_SEARCH_POPOVER (self), NULL);

  return GTK_EDITABLE (self->entry);
}

guint
vd_search_popover_get_n_results (VdSearchPopover *self)
{
  g_return_val_if_fail (VD_IS_SEARCH_POPOVER (self), 0);

  return self->results != NULL ? self->results->len : 0;
}

static VdSearchResult *
result_at (VdSearchPopover *self,
           guint            index)
{
  if (self->results == NULL || index >= self->results->len)
    return NULL;
  return g_ptr_array_index (self->results, index);
}

const char *
vd_search_popover_get_result_title (VdSearchPopover *self,
                                    guint            index)
{
  VdSearchResult *result;

  g_return_val_if_fail (VD_IS_SEARCH_POPOVER (self), NULL);

  result = result_at (self, index);
  return result != NULL ? result->title : NULL;
}

const char *
vd_search_popover_get_result_subtitle (VdSearchPopover *self,
                                       guint            index)
{
  VdSearchResult *result;

  g_return_val_if_fail (VD_IS_SEARCH_POPOVER (self), NULL);

  result = result_at (self, index);
  return result != NULL ? result->subtitle : NULL;
}

const char *
vd_search_popover_get_result_id (VdSearchPopover *self,
                                 guint            index)
{
  VdSearchResult *result;

  g_return_val_if_fail (VD_IS_SEARCH_POPOVER (self), NULL);

  result = result_at (self, index);
  return result != NULL ? result->id : NULL;
}

const char *
vd_search_popover_get_selected_id (VdSearchPopover *self)
{
  VdSearchResult *result;

  g_return_val_if_fail (VD_IS_SEARCH_POPOVER (self), NULL);

  result = row_result (self, gtk_list_box_get_selected_row (self->list));
  return result != NULL ? result->id : NULL;
}

gint64
vd_search_popover_get_last_search_us (VdSearchPopover *self)
{
  g_return_val_if_fail (VD_IS_SEARCH_POPOVER (self), 0);

  return self->last_search_us;
}

/* ---- GObject ---- */

static void
vd_search_popover_dispose (GObject *object)
{
  VdSearchPopover *self = VD_SEARCH_POPOVER (object);

  if (self->list != NULL)
    clear_rows (self);
  g_clear_pointer (&self->search, vd_search_free);
  g_clear_object (&self->store);
  gtk_widget_dispose_template (GTK_WIDGET (self), VD_TYPE_SEARCH_POPOVER);

  G_OBJECT_CLASS (vd_search_popover_parent_class)->dispose (object);
}

static void
vd_search_popover_class_init (VdSearchPopoverClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vd_search_popover_dispose;
  widget_class->show = vd_search_popover_show;

  signals[RESULT_ACTIVATED] =
    g_signal_new ("result-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/vetdesk/VetDesk/vd-search-popover.ui");
  gtk_widget_class_bind_template_child (widget_class, VdSearchPopover, entry);
  gtk_widget_class_bind_template_child (widget_class, VdSearchPopover, results_stack);
  gtk_widget_class_bind_template_child (widget_class, VdSearchPopover, empty_label);
  gtk_widget_class_bind_template_child (widget_class, VdSearchPopover, list);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, entry_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, stop_search_cb);
  gtk_widget_class_bind_template_callback (widget_class, row_activated_cb);
}

static void
vd_search_popover_init (VdSearchPopover *self)
{
  GtkEventController *keys = gtk_event_controller_key_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_list_box_set_header_func (self->list, header_func, self, NULL);

  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect_object (keys, "key-pressed", G_CALLBACK (key_pressed_cb), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->entry), keys);
}
