/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-clients-page.c — the Clients section. The list is a GtkListView over VdClientList,
 * so only the rows on screen have widgets; the filter runs in SQLite as the person types.
 * The list (20,000 clients in a big clinic) is loaded when the page is first shown and
 * is paused while the page is hidden, so a bootstrap's client pages do not reload it. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "vd-clients-page.h"
#include "vd-record-form.h"
#include "vd-store-models.h"

struct _VdClientsPage
{
  AdwBin              parent_instance;

  AdwLeaflet         *leaflet;
  GtkWidget          *list_pane;
  GtkSearchEntry     *search_entry;
  GtkStack           *list_stack;
  GtkListView        *client_view;
  GtkWidget          *detail_pane;
  GtkStack           *detail_stack;
  VdClientDetail     *client_detail;
  VdPetDetail        *pet_detail;

  VdStore            *store;
  VdClientList       *clients;
  GtkSingleSelection *selection;

  /* Where to go once the record shown may be left (unsaved edits asked about). */
  int                 pending_go;
  char               *pending_id;
};

G_DEFINE_FINAL_TYPE (VdClientsPage, vd_clients_page, ADW_TYPE_BIN)

static void
toast (VdClientsPage *self,
       const char    *title)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);
  AdwToast *t;

  if (overlay == NULL)
    return;
  t = adw_toast_new (title);
  adw_toast_set_timeout (t, 4);
  adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), t);
}

/* ---- the list ---- */

static void
setup_row_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *list_item,
              gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name = gtk_label_new (NULL);
  GtkWidget *details = gtk_label_new (NULL);

  /* Capped natural widths keep the list as narrow as its pane, whatever the names. */
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (name), 26);
  gtk_widget_add_css_class (name, "heading");
  gtk_label_set_xalign (GTK_LABEL (details), 0);
  gtk_label_set_ellipsize (GTK_LABEL (details), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (details), 26);
  gtk_widget_add_css_class (details, "dim-label");
  gtk_widget_add_css_class (details, "caption");
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), details);
  gtk_list_item_set_child (list_item, box);
}

static void
bind_row_cb (GtkSignalListItemFactory *factory,
             GtkListItem              *list_item,
             gpointer                  user_data)
{
  VdClientItem *client = gtk_list_item_get_item (list_item);
  GtkWidget *box = gtk_list_item_get_child (list_item);
  GtkWidget *name = gtk_widget_get_first_child (box);
  GtkWidget *details = gtk_widget_get_next_sibling (name);
  const char *phone = vd_client_item_get_phone (client);
  const char *email = vd_client_item_get_email (client);
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;

  /* Translators: a client in the list, last name first as the list is sorted */
  title = g_strdup_printf (C_("client name", "%s, %s"),
                           vd_client_item_get_last_name (client),
                           vd_client_item_get_first_name (client));
  if (*phone != '\0' && *email != '\0')
    /* Translators: phone · email under a client's name */
    subtitle = g_strdup_printf (_("%s · %s"), phone, email);
  else
    subtitle = g_strdup (*phone != '\0' ? phone : email);
  gtk_label_set_text (GTK_LABEL (name), title);
  gtk_label_set_text (GTK_LABEL (details), subtitle);
  gtk_widget_set_visible (details, *subtitle != '\0');
}

static void update_list_state (VdClientsPage *self);

/* The list model, made the first time someone needs it (the page shown, a client opened,
 * a test asking for it) rather than when the session starts. */
static void
ensure_list (VdClientsPage *self)
{
  if (self->store == NULL || self->clients != NULL)
    return;

  self->clients = vd_client_list_new (self->store, gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
  g_signal_connect_object (self->clients, "items-changed", G_CALLBACK (update_list_state), self,
                           G_CONNECT_SWAPPED);
  self->selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->clients)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_single_selection_set_selected (self->selection, GTK_INVALID_LIST_POSITION);
  gtk_list_view_set_model (self->client_view, GTK_SELECTION_MODEL (self->selection));
  vd_store_list_set_paused (G_LIST_MODEL (self->clients), !gtk_widget_get_mapped (GTK_WIDGET (self)));
  update_list_state (self);
}

static void
update_list_state (VdClientsPage *self)
{
  guint n = self->clients ? g_list_model_get_n_items (G_LIST_MODEL (self->clients)) : 0;
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));

  if (n > 0)
    gtk_stack_set_visible_child_name (self->list_stack, "list");
  else
    gtk_stack_set_visible_child_name (self->list_stack, *text != '\0' ? "no-results" : "empty");
}

static guint
position_of_client (VdClientsPage *self,
                    const char    *client_id)
{
  guint n = self->clients ? g_list_model_get_n_items (G_LIST_MODEL (self->clients)) : 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(VdClientItem) item = g_list_model_get_item (G_LIST_MODEL (self->clients), i);

      if (g_strcmp0 (vd_client_item_get_id (item), client_id) == 0)
        return i;
    }
  return GTK_INVALID_LIST_POSITION;
}

static void
select_client (VdClientsPage *self,
               const char    *client_id)
{
  guint pos;

  if (client_id != NULL)
    ensure_list (self);
  pos = client_id ? position_of_client (self, client_id) : GTK_INVALID_LIST_POSITION;
  if (self->selection != NULL)
    gtk_single_selection_set_selected (self->selection, pos);
}

void
vd_clients_page_set_filter (VdClientsPage *self,
                            const char    *filter)
{
  g_return_if_fail (VD_IS_CLIENTS_PAGE (self));

  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->search_entry)), filter ? filter : "") != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->search_entry), filter ? filter : "");
  if (self->clients != NULL)
    {
      vd_client_list_set_filter (self->clients, filter);
      vd_store_list_refresh (G_LIST_MODEL (self->clients));
    }
  update_list_state (self);
}

static void
search_changed_cb (VdClientsPage *self)
{
  if (self->clients == NULL)
    return;
  vd_client_list_set_filter (self->clients, gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
  update_list_state (self);
}

/* Enter in the search opens the first match: find, open, done. */
static void
search_activate_cb (VdClientsPage *self)
{
  g_autoptr(VdClientItem) first = NULL;

  if (self->clients == NULL || g_list_model_get_n_items (G_LIST_MODEL (self->clients)) == 0)
    return;
  first = g_list_model_get_item (G_LIST_MODEL (self->clients), 0);
  vd_clients_page_open_client (self, vd_client_item_get_id (first));
}

static void
client_view_activate_cb (VdClientsPage *self,
                         guint          position)
{
  g_autoptr(VdClientItem) item = g_list_model_get_item (G_LIST_MODEL (self->clients), position);

  if (item != NULL)
    vd_clients_page_open_client (self, vd_client_item_get_id (item));
}

/* ---- the detail side ---- */

static void
show_detail (VdClientsPage *self,
             const char    *name)
{
  gtk_stack_set_visible_child_name (self->detail_stack, name);
  adw_leaflet_set_visible_child (self->leaflet, self->detail_pane);
}

void
vd_clients_page_show_list (VdClientsPage *self)
{
  g_return_if_fail (VD_IS_CLIENTS_PAGE (self));

  adw_leaflet_set_visible_child (self->leaflet, self->list_pane);
}

static void
open_client_now (VdClientsPage *self,
                 const char    *client_id)
{
  if (self->store == NULL)
    return;
  if (!vd_client_detail_load (self->client_detail, client_id))
    {
      toast (self, _("This client is no longer on this computer."));
      return;
    }
  select_client (self, client_id);
  show_detail (self, "client");
}

static void
open_pet_now (VdClientsPage *self,
              const char    *pet_id)
{
  if (self->store == NULL)
    return;
  if (!vd_pet_detail_load (self->pet_detail, pet_id))
    {
      toast (self, _("This pet is no longer on this computer."));
      return;
    }
  select_client (self, vd_pet_detail_get_client_id (self->pet_detail));
  show_detail (self, "pet");
}

/* ---- leaving a record with unsaved edits ---- */

enum
{
  GO_CLIENT,
  GO_PET,
  GO_NEW_CLIENT,
  GO_NEW_PET,
};

static void new_client_now (VdClientsPage *self);

static void
go_pending_cb (gpointer user_data)
{
  VdClientsPage *self = user_data;
  g_autofree char *id = g_steal_pointer (&self->pending_id);

  switch (self->pending_go)
    {
    case GO_CLIENT:
      open_client_now (self, id);
      break;
    case GO_PET:
      open_pet_now (self, id);
      break;
    case GO_NEW_CLIENT:
      new_client_now (self);
      break;
    case GO_NEW_PET:
      vd_pet_detail_load_new (self->pet_detail, id);
      show_detail (self, "pet");
      break;
    default:
      g_assert_not_reached ();
    }
}

/* The record on show, if any. */
static VdRecordForm *
shown_form (VdClientsPage *self)
{
  const char *shown = gtk_stack_get_visible_child_name (self->detail_stack);

  if (g_strcmp0 (shown, "client") == 0)
    return vd_client_detail_get_form (self->client_detail);
  if (g_strcmp0 (shown, "pet") == 0)
    return vd_pet_detail_get_form (self->pet_detail);
  return NULL;
}

/* Goes where asked once the record on show may be left: at once when it has no unsaved
 * edits, else after the person saves or discards them (not after Cancel, when the list
 * keeps the shown record selected). */
static void
go (VdClientsPage *self,
    int            where,
    const char    *id)
{
  VdRecordForm *form = shown_form (self);

  g_free (self->pending_id);
  self->pending_id = g_strdup (id);
  self->pending_go = where;
  if (form == NULL)
    {
      go_pending_cb (self);
      return;
    }
  if (form == vd_client_detail_get_form (self->client_detail))
    select_client (self, vd_client_detail_get_client_id (self->client_detail));
  else
    select_client (self, vd_pet_detail_get_client_id (self->pet_detail));
  vd_record_form_leave (form, G_CALLBACK (go_pending_cb), self, NULL);
}

void
vd_clients_page_open_client (VdClientsPage *self,
                             const char    *client_id)
{
  g_return_if_fail (VD_IS_CLIENTS_PAGE (self));

  /* The client on show stays as it is, edits and all. */
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->detail_stack), "client") == 0 &&
      g_strcmp0 (vd_client_detail_get_client_id (self->client_detail), client_id) == 0 &&
      vd_record_form_is_dirty (vd_client_detail_get_form (self->client_detail)))
    {
      show_detail (self, "client");
      return;
    }
  go (self, GO_CLIENT, client_id);
}

void
vd_clients_page_open_pet (VdClientsPage *self,
                          const char    *pet_id)
{
  g_return_if_fail (VD_IS_CLIENTS_PAGE (self));

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->detail_stack), "pet") == 0 &&
      g_strcmp0 (vd_pet_detail_get_pet_id (self->pet_detail), pet_id) == 0 &&
      vd_record_form_is_dirty (vd_pet_detail_get_form (self->pet_detail)))
    {
      show_detail (self, "pet");
      return;
    }
  go (self, GO_PET, pet_id);
}

static void
client_saved_cb (VdClientsPage *self,
                 const char    *client_id)
{
  toast (self, _("Client saved"));
  if (self->clients != NULL)
    vd_store_list_refresh (G_LIST_MODEL (self->clients));
  update_list_state (self);
  select_client (self, client_id);
}

static void
client_deleted_cb (VdClientsPage *self,
                   const char    *client_id)
{
  toast (self, _("Client deleted"));
  if (self->clients != NULL)
    vd_store_list_refresh (G_LIST_MODEL (self->clients));
  update_list_state (self);
  show_detail (self, "none");
  adw_leaflet_set_visible_child (self->leaflet, self->list_pane);
}

static void
pet_activated_cb (VdClientsPage *self,
                  const char    *pet_id)
{
  vd_clients_page_open_pet (self, pet_id);
}

static void
add_pet_cb (VdClientsPage *self,
            const char    *client_id)
{
  go (self, GO_NEW_PET, client_id);
}

static void
pet_saved_cb (VdClientsPage *self,
              const char    *pet_id)
{
  toast (self, _("Pet saved"));
}

static void
pet_back_cb (VdClientsPage *self,
             const char    *client_id)
{
  if (client_id != NULL && *client_id != '\0')
    vd_clients_page_open_client (self, client_id);
  else
    show_detail (self, "none");
}

static void
pet_deleted_cb (VdClientsPage *self,
                const char    *pet_id)
{
  toast (self, _("Pet deleted"));
  pet_back_cb (self, vd_pet_detail_get_client_id (self->pet_detail));
}

/* ---- actions ---- */

static void
new_client_now (VdClientsPage *self)
{
  if (self->store == NULL)
    return;
  vd_client_detail_load (self->client_detail, NULL);
  select_client (self, NULL);
  show_detail (self, "client");
}

static void
new_client_cb (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  go (VD_CLIENTS_PAGE (widget), GO_NEW_CLIENT, NULL);
}

static void
open_client_cb (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  vd_clients_page_open_client (VD_CLIENTS_PAGE (widget), g_variant_get_string (param, NULL));
}

static void
open_pet_cb (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  vd_clients_page_open_pet (VD_CLIENTS_PAGE (widget), g_variant_get_string (param, NULL));
}

static void
show_list_cb (GtkWidget  *widget,
              const char *action_name,
              GVariant   *param)
{
  vd_clients_page_show_list (VD_CLIENTS_PAGE (widget));
}

/* ---- public ---- */

VdClientsPage *
vd_clients_page_new (void)
{
  return g_object_new (VD_TYPE_CLIENTS_PAGE, NULL);
}

void
vd_clients_page_set_store (VdClientsPage *self,
                           VdStore       *store)
{
  g_return_if_fail (VD_IS_CLIENTS_PAGE (self));

  if (self->store == store)
    return;

  gtk_list_view_set_model (self->client_view, NULL);
  if (self->clients != NULL)
    g_signal_handlers_disconnect_by_data (self->clients, self);
  g_clear_object (&self->selection);
  g_clear_object (&self->clients);
  g_set_object (&self->store, store);
  vd_client_detail_set_store (self->client_detail, store);
  vd_pet_detail_set_store (self->pet_detail, store);
  show_detail (self, "none");
  adw_leaflet_set_visible_child (self->leaflet, self->list_pane);

  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    ensure_list (self);
  update_list_state (self);
}

GListModel *
vd_clients_page_get_list (VdClientsPage *self)
{
  g_return_val_if_fail (VD_IS_CLIENTS_PAGE (self), NULL);

  ensure_list (self);
  return G_LIST_MODEL (self->clients);
}

const char *
vd_clients_page_get_view (VdClientsPage *self)
{
  g_return_val_if_fail (VD_IS_CLIENTS_PAGE (self), NULL);

  return gtk_stack_get_visible_child_name (self->detail_stack);
}

VdClientDetail *
vd_clients_page_get_client_detail (VdClientsPage *self)
{
  g_return_val_if_fail (VD_IS_CLIENTS_PAGE (self), NULL);

  return self->client_detail;
}

VdPetDetail *
vd_clients_page_get_pet_detail (VdClientsPage *self)
{
  g_return_val_if_fail (VD_IS_CLIENTS_PAGE (self), NULL);

  return self->pet_detail;
}

const char *
vd_clients_page_get_list_state (VdClientsPage *self)
{
  g_return_val_if_fail (VD_IS_CLIENTS_PAGE (self), NULL);

  return gtk_stack_get_visible_child_name (self->list_stack);
}

/* ---- GObject ---- */

static void
vd_clients_page_map (GtkWidget *widget)
{
  VdClientsPage *self = VD_CLIENTS_PAGE (widget);

  /* Loaded (or brought up to date) before the page's first frame. */
  ensure_list (self);
  if (self->clients != NULL)
    vd_store_list_set_paused (G_LIST_MODEL (self->clients), FALSE);

  GTK_WIDGET_CLASS (vd_clients_page_parent_class)->map (widget);
}

static void
vd_clients_page_unmap (GtkWidget *widget)
{
  VdClientsPage *self = VD_CLIENTS_PAGE (widget);

  if (self->clients != NULL)
    vd_store_list_set_paused (G_LIST_MODEL (self->clients), TRUE);

  GTK_WIDGET_CLASS (vd_clients_page_parent_class)->unmap (widget);
}

static void
vd_clients_page_dispose (GObject *object)
{
  VdClientsPage *self = VD_CLIENTS_PAGE (object);

  if (self->client_view != NULL)
    gtk_list_view_set_model (self->client_view, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), VD_TYPE_CLIENTS_PAGE);
  g_clear_object (&self->selection);
  g_clear_object (&self->clients);
  g_clear_object (&self->store);
  g_clear_pointer (&self->pending_id, g_free);

  G_OBJECT_CLASS (vd_clients_page_parent_class)->dispose (object);
}

static void
vd_clients_page_class_init (VdClientsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vd_clients_page_dispose;
  widget_class->map = vd_clients_page_map;
  widget_class->unmap = vd_clients_page_unmap;

  g_type_ensure (VD_TYPE_CLIENT_DETAIL);
  g_type_ensure (VD_TYPE_PET_DETAIL);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/vetdesk/VetDesk/vd-clients-page.ui");
  gtk_widget_class_bind_template_child (widget_class, VdClientsPage, list_pane);
  gtk_widget_class_bind_template_child (widget_class, VdClientsPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, VdClientsPage, list_stack);
  gtk_widget_class_bind_template_child (widget_class, VdClientsPage, client_view);
  gtk_widget_class_bind_template_child (widget_class, VdClientsPage, detail_pane);
  gtk_widget_class_bind_template_child (widget_class, VdClientsPage, detail_stack);
  gtk_widget_class_bind_template_child (widget_class, VdClientsPage, client_detail);
  gtk_widget_class_bind_template_child (widget_class, VdClientsPage, pet_detail);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, client_view_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, client_saved_cb);
  gtk_widget_class_bind_template_callback (widget_class, client_deleted_cb);
  gtk_widget_class_bind_template_callback (widget_class, pet_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_pet_cb);
  gtk_widget_class_bind_template_callback (widget_class, pet_saved_cb);
  gtk_widget_class_bind_template_callback (widget_class, pet_deleted_cb);
  gtk_widget_class_bind_template_callback (widget_class, pet_back_cb);

  gtk_widget_class_install_action (widget_class, "clients.new", NULL, new_client_cb);
  gtk_widget_class_install_action (widget_class, "clients.open-client", "s", open_client_cb);
  gtk_widget_class_install_action (widget_class, "clients.open-pet", "s", open_pet_cb);
  gtk_widget_class_install_action (widget_class, "clients.show-list", NULL, show_list_cb);
}

static void
vd_clients_page_init (VdClientsPage *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  /* The bin's own child: not bound as a template child, which the bin disposes itself. */
  self->leaflet = ADW_LEAFLET (adw_bin_get_child (ADW_BIN (self)));
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row_cb), NULL);
  gtk_list_view_set_factory (self->client_view, factory);
  update_list_state (self);
}
