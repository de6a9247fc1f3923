/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-sync-indicator.c — binds the sync engine's state, pending count and last sync time
 * to a compact header widget: a short state ("Synced", "Offline · 3") that fits the header
 * in any language, and the sentences in a popover under it; the relative time is
 * refreshed every 20 seconds. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "vd-sync-indicator.h"

struct _VdSyncIndicator
{
  GtkWidget     parent_instance;

  GtkWidget    *button;
  GtkWidget    *box;
  GtkSpinner   *spinner;
  GtkImage     *icon;
  GtkLabel     *label;
  GtkLabel     *details_title;
  GtkLabel     *details_label;

  VdSyncEngine *engine;
  guint         tick_id;
};

G_DEFINE_FINAL_TYPE (VdSyncIndicator, vd_sync_indicator, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_ENGINE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

char *
vd_sync_describe_last_sync (gint64 last_sync,
                            gint64 now)
{
  gint64 ago;

  if (last_sync <= 0)
    return g_strdup (_("Not synced yet"));

  ago = MAX (now - last_sync, 0);
  if (ago < 60)
    return g_strdup (_("Synced just now"));
  if (ago < 3600)
    {
      int minutes = (int) (ago / 60);
      return g_strdup_printf (ngettext ("Synced %d minute ago", "Synced %d minutes ago", minutes),
                              minutes);
    }
  if (ago < 86400)
    {
      int hours = (int) (ago / 3600);
      return g_strdup_printf (ngettext ("Synced %d hour ago", "Synced %d hours ago", hours),
                              hours);
    }
  else
    {
      int days = (int) (ago / 86400);
      return g_strdup_printf (ngettext ("Synced %d day ago", "Synced %d days ago", days),
                              days);
    }
}

static void
update (VdSyncIndicator *self)
{
  g_autofree char *text = NULL;
  g_autofree char *details = NULL;
  g_autofree char *last = NULL;
  g_autofree char *shown = NULL;
  const char *icon_name = NULL;
  const char *short_text = NULL;
  gboolean busy = FALSE;
  VdSyncState state;
  guint pending;

  if (self->engine == NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
      gtk_spinner_set_spinning (self->spinner, FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->icon), FALSE);
      gtk_label_set_text (self->label, "");
      gtk_label_set_text (self->details_title, "");
      gtk_label_set_text (self->details_label, "");
      return;
    }

  state = vd_sync_engine_get_state (self->engine);
  pending = vd_sync_engine_get_pending (self->engine);
  last = vd_sync_describe_last_sync (vd_sync_engine_get_last_sync (self->engine),
                                     g_get_real_time () / G_USEC_PER_SEC);

  /* short_text: one or two words for the header; text: the state's sentence; details:
   * what else a person may want to know. */
  switch (state)
    {
    case VD_SYNC_OFFLINE:
      icon_name = "network-offline-symbolic";
      short_text = _("Offline");
      text = g_strdup (_("Offline"));
      details = g_strdup (_("Working offline. Changes are kept on this computer and will be sent when the connection returns."));
      break;
    case VD_SYNC_CONNECTING:
      busy = TRUE;
      short_text = _("Connecting…");
      text = g_strdup (_("Connecting…"));
      break;
    case VD_SYNC_SYNCING:
      {
        double progress = vd_sync_engine_get_progress (self->engine);

        busy = TRUE;
        short_text = _("Syncing…");
        if (progress > 0.0 && progress < 1.0)
          /* Translators: the sync progress, e.g. "Syncing… 40 %" */
          text = g_strdup_printf (_("Syncing… %d %%"), (int) (progress * 100));
        else
          text = g_strdup (_("Syncing…"));
      }
      break;
    case VD_SYNC_UP_TO_DATE:
      icon_name = "emblem-ok-symbolic";
      short_text = _("Up to date");
      text = g_strdup (last);
      break;
    case VD_SYNC_NEEDS_SIGN_IN:
      icon_name = "dialog-password-symbolic";
      short_text = _("Signed out");
      text = g_strdup (_("Signed out"));
      details = g_strdup (_("The server asks you to sign in again. Your work stays on this computer meanwhile."));
      break;
    case VD_SYNC_ERROR:
    default:
      icon_name = "dialog-warning-symbolic";
      short_text = _("Sync problem");
      text = g_strdup (_("Sync problem"));
      details = g_strdup (vd_sync_engine_get_error_message (self->engine));
      break;
    }

  if (pending > 0 && state != VD_SYNC_SYNCING && state != VD_SYNC_CONNECTING)
    {
      g_autofree char *waiting =
        g_strdup_printf (ngettext ("%u change waiting", "%u changes waiting", pending), pending);
      /* Translators: the sync state, then how many changes wait to be sent */
      g_autofree char *joined = g_strdup_printf (_("%s · %s"), text, waiting);
      g_autofree char *count = g_strdup_printf ("%u", pending);

      g_free (text);
      text = g_steal_pointer (&joined);
      /* "Offline · 3" */
      shown = g_strdup_printf (_("%s · %s"), short_text, count);
    }
  else
    shown = g_strdup (short_text);

  /* The popover says when the last sync was whatever the state. */
  if (state != VD_SYNC_UP_TO_DATE)
    {
      g_autofree char *joined = details ? g_strdup_printf ("%s\n%s", details, last) : g_strdup (last);

      g_free (details);
      details = g_steal_pointer (&joined);
    }

  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->icon), !busy && icon_name != NULL);
  if (icon_name != NULL)
    gtk_image_set_from_icon_name (self->icon, icon_name);
  gtk_label_set_text (self->label, shown);
  gtk_label_set_text (self->details_title, text);
  gtk_label_set_text (self->details_label, details ? details : "");
  gtk_widget_set_visible (GTK_WIDGET (self->details_label), details != NULL && *details != '\0');
  gtk_widget_set_tooltip_text (self->button, text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
}

static void
engine_notify_cb (VdSyncIndicator *self)
{
  update (self);
}

static gboolean
tick_cb (gpointer user_data)
{
  update (VD_SYNC_INDICATOR (user_data));
  return G_SOURCE_CONTINUE;
}

VdSyncEngine *
vd_sync_indicator_get_engine (VdSyncIndicator *self)
{
  g_return_val_if_fail (VD_IS_SYNC_INDICATOR (self), NULL);

  return self->engine;
}

void
vd_sync_indicator_set_engine (VdSyncIndicator *self,
                              VdSyncEngine    *engine)
{
  static const char * const watched[] = {
    "notify::state", "notify::pending", "notify::last-sync", "notify::progress",
    "notify::error-message",
  };

  g_return_if_fail (VD_IS_SYNC_INDICATOR (self));
  g_return_if_fail (engine == NULL || VD_IS_SYNC_ENGINE (engine));

  if (self->engine == engine)
    return;

  if (self->engine != NULL)
    g_signal_handlers_disconnect_by_data (self->engine, self);
  g_set_object (&self->engine, engine);

  if (engine != NULL)
    for (guint i = 0; i < G_N_ELEMENTS (watched); i++)
      g_signal_connect_object (engine, watched[i], G_CALLBACK (engine_notify_cb), self,
                               G_CONNECT_SWAPPED);

  update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENGINE]);
}

const char *
vd_sync_indicator_get_text (VdSyncIndicator *self)
{
  g_return_val_if_fail (VD_IS_SYNC_INDICATOR (self), NULL);

  return gtk_label_get_text (self->details_title);
}

const char *
vd_sync_indicator_get_short_text (VdSyncIndicator *self)
{
  g_return_val_if_fail (VD_IS_SYNC_INDICATOR (self), NULL);

  return gtk_label_get_text (self->label);
}

static void
vd_sync_indicator_dispose (GObject *object)
{
  VdSyncIndicator *self = VD_SYNC_INDICATOR (object);
  GtkWidget *child;

  g_clear_handle_id (&self->tick_id, g_source_remove);
  if (self->engine != NULL)
    g_signal_handlers_disconnect_by_data (self->engine, self);
  g_clear_object (&self->engine);

  gtk_widget_dispose_template (GTK_WIDGET (self), VD_TYPE_SYNC_INDICATOR);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (vd_sync_indicator_parent_class)->dispose (object);
}

static void
vd_sync_indicator_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  VdSyncIndicator *self = VD_SYNC_INDICATOR (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      g_value_set_object (value, self->engine);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_sync_indicator_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  VdSyncIndicator *self = VD_SYNC_INDICATOR (object);

  switch (prop_id)
    {
    case PROP_ENGINE:
      vd_sync_indicator_set_engine (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_sync_indicator_class_init (VdSyncIndicatorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vd_sync_indicator_dispose;
  object_class->get_property = vd_sync_indicator_get_property;
  object_class->set_property = vd_sync_indicator_set_property;

  properties[PROP_ENGINE] =
    g_param_spec_object ("engine", NULL, NULL, VD_TYPE_SYNC_ENGINE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/vetdesk/VetDesk/vd-sync-indicator.ui");
  gtk_widget_class_bind_template_child (widget_class, VdSyncIndicator, button);
  gtk_widget_class_bind_template_child (widget_class, VdSyncIndicator, box);
  gtk_widget_class_bind_template_child (widget_class, VdSyncIndicator, details_title);
  gtk_widget_class_bind_template_child (widget_class, VdSyncIndicator, details_label);
  gtk_widget_class_bind_template_child (widget_class, VdSyncIndicator, spinner);
  gtk_widget_class_bind_template_child (widget_class, VdSyncIndicator, icon);
  gtk_widget_class_bind_template_child (widget_class, VdSyncIndicator, label);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "syncindicator");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_STATUS);
}

static void
vd_sync_indicator_init (VdSyncIndicator *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->tick_id = g_timeout_add_seconds (20, tick_cb, self);
  update (self);
}
