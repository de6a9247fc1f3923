/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-picker.c — a button showing the chosen item of a model, opening a popover with a
 * search entry over a list of the items. GtkDropDown's own search (GTK 4.8) matches the
 * start of the whole shown text with its accents, so "ibanez" or "vicente" found nothing
 * in "Giménez Ibáñez, Rocío" or "Pérez, Vicente"; here every typed word is a prefix of a
 * word of the item, accents and case ignored, as in the global search (vd-search.c). The
 * filter runs on every keystroke, and Enter in the entry picks the first match. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "vd-picker.h"
#include "vd-search.h"

struct _VdPicker
{
  GtkWidget           parent_instance;

  GtkWidget          *button;
  GtkLabel           *label;
  GtkPopover         *popover;
  GtkSearchEntry     *entry;
  GtkListView        *view;

  GListModel         *model;
  GtkSingleSelection *selection;   /* the chosen item, over model */
  GtkCustomFilter    *filter;
  GtkFilterListModel *matches;
  GtkExpression      *expression;
  VdPickerTextFunc    search_func;
  char              **query;       /* the typed words, folded; NULL when none */
};

G_DEFINE_FINAL_TYPE (VdPicker, vd_picker, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_SELECTED,
  PROP_SELECTED_ITEM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* An item's folded words are kept on it, so a keystroke over 20,000 clients folds only
 * the typed text. */
static GQuark words_quark;

static char *
shown_text (VdPicker *self,
            gpointer  item)
{
  g_auto(GValue) value = G_VALUE_INIT;

  if (item == NULL || self->expression == NULL ||
      !gtk_expression_evaluate (self->expression, item, &value))
    return g_strdup ("");
  return g_value_dup_string (&value);
}

static const char * const *
item_words (VdPicker *self,
            gpointer  item)
{
  char **words = g_object_get_qdata (item, words_quark);

  if (words == NULL)
    {
      g_autofree char *text = self->search_func ? self->search_func (item) : shown_text (self, item);

      words = vd_search_fold_words (text ? text : "");
      g_object_set_qdata_full (item, words_quark, words, (GDestroyNotify) g_strfreev);
    }
  return (const char * const *) words;
}

static gboolean
match_item (gpointer item,
            gpointer user_data)
{
  VdPicker *self = user_data;

  if (self->query == NULL)
    return TRUE;
  return vd_search_words_match ((const char * const *) self->query, item_words (self, item));
}

static void
update_label (VdPicker *self)
{
  gpointer item = gtk_single_selection_get_selected_item (self->selection);
  g_autofree char *text = shown_text (self, item);

  gtk_label_set_text (self->label, text);
}

static void
selection_changed_cb (VdPicker *self)
{
  update_label (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_ITEM]);
}

static void
search_changed_cb (VdPicker *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->entry));
  char **query = vd_search_fold_words (text);

  g_clear_pointer (&self->query, g_strfreev);
  if (query[0] != NULL)
    self->query = query;
  else
    g_strfreev (query);
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
}

static void
pick (VdPicker *self,
      gpointer  item)
{
  guint n = self->model ? g_list_model_get_n_items (self->model) : 0;

  /* The model's position of the item the filtered list shows. */
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) candidate = g_list_model_get_item (self->model, i);

      if (candidate == item)
        {
          gtk_single_selection_set_selected (self->selection, i);
          break;
        }
    }
  gtk_popover_popdown (self->popover);
}

static void
entry_activate_cb (VdPicker *self)
{
  g_autoptr(GObject) first = NULL;

  if (g_list_model_get_n_items (G_LIST_MODEL (self->matches)) == 0)
    return;
  first = g_list_model_get_item (G_LIST_MODEL (self->matches), 0);
  pick (self, first);
}

static void
view_activate_cb (VdPicker *self,
                  guint     position)
{
  g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (self->matches), position);

  if (item != NULL)
    pick (self, item);
}

static void
popover_show_cb (VdPicker *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->entry), "");
  search_changed_cb (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->entry));
}

static void
setup_row_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              gpointer                  user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_list_item_set_child (list_item, label);
}

static void
bind_row_cb (GtkSignalListItemFactory *factory,
             GtkListItem              *list_item,
             VdPicker                 *self)
{
  g_autofree char *text = shown_text (self, gtk_list_item_get_item (list_item));

  gtk_label_set_text (GTK_LABEL (gtk_list_item_get_child (list_item)), text);
}

/* ---- public ---- */

VdPicker *
vd_picker_new (void)
{
  return g_object_new (VD_TYPE_PICKER, NULL);
}

void
vd_picker_set_model (VdPicker   *self,
                     GListModel *model)
{
  g_return_if_fail (VD_IS_PICKER (self));

  if (!g_set_object (&self->model, model))
    return;
  gtk_single_selection_set_model (self->selection, model);
  gtk_single_selection_set_selected (self->selection, GTK_INVALID_LIST_POSITION);
  gtk_filter_list_model_set_model (self->matches, model);
  update_label (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
}

void
vd_picker_set_expression (VdPicker      *self,
                          GtkExpression *expression)
{
  g_return_if_fail (VD_IS_PICKER (self));

  g_clear_pointer (&self->expression, gtk_expression_unref);
  self->expression = expression ? gtk_expression_ref (expression) : NULL;
  update_label (self);
}

void
vd_picker_set_search_func (VdPicker         *self,
                           VdPickerTextFunc  func)
{
  g_return_if_fail (VD_IS_PICKER (self));

  self->search_func = func;
}

guint
vd_picker_get_selected (VdPicker *self)
{
  g_return_val_if_fail (VD_IS_PICKER (self), GTK_INVALID_LIST_POSITION);

  return gtk_single_selection_get_selected (self->selection);
}

void
vd_picker_set_selected (VdPicker *self,
                        guint     position)
{
  g_return_if_fail (VD_IS_PICKER (self));

  gtk_single_selection_set_selected (self->selection, position);
}

gpointer
vd_picker_get_selected_item (VdPicker *self)
{
  g_return_val_if_fail (VD_IS_PICKER (self), NULL);

  return gtk_single_selection_get_selected_item (self->selection);
}

void
vd_picker_popup (VdPicker *self)
{
  g_return_if_fail (VD_IS_PICKER (self));

  gtk_menu_button_popup (GTK_MENU_BUTTON (self->button));
}

GtkEditable *
vd_picker_get_search_entry (VdPicker *self)
{
  g_return_val_if_fail (VD_IS_PICKER (self), NULL);

  return GTK_EDITABLE (self->entry);
}

GListModel *
vd_picker_get_matches (VdPicker *self)
{
  g_return_val_if_fail (VD_IS_PICKER (self), NULL);

  return G_LIST_MODEL (self->matches);
}

/* ---- GObject ---- */

static gboolean
vd_picker_grab_focus (GtkWidget *widget)
{
  return gtk_widget_grab_focus (VD_PICKER (widget)->button);
}

static void
vd_picker_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  VdPicker *self = VD_PICKER (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      g_value_set_object (value, self->model);
      break;
    case PROP_SELECTED:
      g_value_set_uint (value, vd_picker_get_selected (self));
      break;
    case PROP_SELECTED_ITEM:
      g_value_set_object (value, vd_picker_get_selected_item (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_picker_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  VdPicker *self = VD_PICKER (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      vd_picker_set_model (self, g_value_get_object (value));
      break;
    case PROP_SELECTED:
      vd_picker_set_selected (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_picker_dispose (GObject *object)
{
  VdPicker *self = VD_PICKER (object);

  if (self->view != NULL)
    gtk_list_view_set_model (self->view, NULL);
  g_clear_pointer (&self->button, gtk_widget_unparent);
  g_clear_object (&self->matches);
  g_clear_object (&self->selection);
  g_clear_object (&self->model);
  g_clear_pointer (&self->expression, gtk_expression_unref);
  g_clear_pointer (&self->query, g_strfreev);

  G_OBJECT_CLASS (vd_picker_parent_class)->dispose (object);
}

static void
vd_picker_class_init (VdPickerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vd_picker_dispose;
  object_class->get_property = vd_picker_get_property;
  object_class->set_property = vd_picker_set_property;
  widget_class->grab_focus = vd_picker_grab_focus;

  properties[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED] =
    g_param_spec_uint ("selected", NULL, NULL, 0, G_MAXUINT, GTK_INVALID_LIST_POSITION,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED_ITEM] =
    g_param_spec_object ("selected-item", NULL, NULL, G_TYPE_OBJECT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "vdpicker");

  words_quark = g_quark_from_static_string ("vd-picker-words");
}

static void
vd_picker_init (VdPicker *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);

  /* Laid out as a GtkDropDown is: the choice at the start, the arrow at the end. */
  self->button = gtk_menu_button_new ();
  self->label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->label, 0);
  gtk_label_set_ellipsize (self->label, PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (GTK_WIDGET (self->label), TRUE);
  gtk_box_append (GTK_BOX (content), GTK_WIDGET (self->label));
  gtk_box_append (GTK_BOX (content), gtk_image_new_from_icon_name ("pan-down-symbolic"));
  gtk_menu_button_set_child (GTK_MENU_BUTTON (self->button), content);
  /* GtkMenuButton centres its child in a box of its own: that box spans the button here. */
  if (gtk_widget_get_parent (content) != NULL && GTK_IS_BOX (gtk_widget_get_parent (content)))
    gtk_widget_set_halign (gtk_widget_get_parent (content), GTK_ALIGN_FILL);
  gtk_widget_set_hexpand (content, TRUE);
  gtk_widget_set_parent (self->button, GTK_WIDGET (self));

  self->entry = GTK_SEARCH_ENTRY (gtk_search_entry_new ());
  gtk_editable_set_width_chars (GTK_EDITABLE (self->entry), 24);
  /* "changed", not "search-changed": the list follows each keystroke, with no delay. */
  g_signal_connect_swapped (self->entry, "changed", G_CALLBACK (search_changed_cb), self);
  g_signal_connect_swapped (self->entry, "activate", G_CALLBACK (entry_activate_cb), self);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->entry));

  self->selection = gtk_single_selection_new (NULL);
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  g_signal_connect_swapped (self->selection, "notify::selected", G_CALLBACK (selection_changed_cb), self);
  /* A reload of the model can replace the chosen item with an equal one at its place. */
  g_signal_connect_swapped (self->selection, "notify::selected-item", G_CALLBACK (update_label), self);

  self->filter = gtk_custom_filter_new (match_item, self, NULL);
  self->matches = gtk_filter_list_model_new (NULL, GTK_FILTER (self->filter));
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row_cb), self);
  self->view = GTK_LIST_VIEW (gtk_list_view_new (GTK_SELECTION_MODEL (gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->matches)))),
                                                 g_object_ref (factory)));
  gtk_list_view_set_single_click_activate (self->view, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->view), "navigation-sidebar");
  g_signal_connect_swapped (self->view, "activate", G_CALLBACK (view_activate_cb), self);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scroller), 320);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (self->view));
  gtk_box_append (GTK_BOX (box), scroller);

  self->popover = GTK_POPOVER (gtk_popover_new ());
  gtk_popover_set_child (self->popover, box);
  g_signal_connect_swapped (self->popover, "show", G_CALLBACK (popover_show_cb), self);
  gtk_menu_button_set_popover (GTK_MENU_BUTTON (self->button), GTK_WIDGET (self->popover));
}
