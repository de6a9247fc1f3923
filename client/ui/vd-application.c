/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-application.c — the vetdesk application: parses --server, loads the style sheet,
 * opens the desk's session (VdDesk: the saved account resumed, or none) and the main
 * window that shows it, and ends the session when its window goes. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "vd-application.h"
#include "vd-window.h"
#include "vd-record-form.h"

struct _VdApplication
{
  AdwApplication  parent_instance;

  char           *server_url;
  GPtrArray      *desks;        /* of VdDesk*, one per window */
};

G_DEFINE_FINAL_TYPE (VdApplication, vd_application, ADW_TYPE_APPLICATION)

enum
{
  PROP_0,
  PROP_SERVER_URL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
has_render_node (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/dev/dri", 0, NULL);
  const char *name;

  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "renderD"))
      return TRUE;
  return FALSE;
}

const char *
vd_application_pick_renderer (void)
{
  const char *chosen = g_getenv ("GSK_RENDERER");

  if (chosen != NULL && *chosen != '\0')
    return chosen;
  if (has_render_node ())
    return NULL;
  g_setenv ("GSK_RENDERER", "cairo", TRUE);
  return "cairo";
}

VdApplication *
vd_application_new (void)
{
  return g_object_new (VD_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/org/vetdesk/VetDesk",
                       NULL);
}

const char *
vd_application_get_server_url (VdApplication *self)
{
  g_return_val_if_fail (VD_IS_APPLICATION (self), NULL);

  return self->server_url;
}

void
vd_application_set_server_url (VdApplication *self,
                               const char    *server_url)
{
  g_return_if_fail (VD_IS_APPLICATION (self));

  if (g_strcmp0 (self->server_url, server_url) == 0)
    return;

  g_free (self->server_url);
  self->server_url = g_strdup (server_url);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER_URL]);
}

VdDesk *
vd_application_open_desk (VdApplication *self,
                          const char    *server_url)
{
  g_autoptr(VdDesk) desk = NULL;

  g_return_val_if_fail (VD_IS_APPLICATION (self), NULL);

  desk = vd_desk_new (server_url);
  vd_desk_resume (desk);
  g_ptr_array_add (self->desks, g_object_ref (desk));
  return desk;
}

/* A window gone takes its desk's session with it: the engine stops, the replica closes. */
static void
vd_application_window_removed (GtkApplication *app,
                               GtkWindow      *window)
{
  VdApplication *self = VD_APPLICATION (app);

  if (VD_IS_WINDOW (window))
    {
      VdDesk *desk = vd_window_get_desk (VD_WINDOW (window));
      guint i;

      if (desk != NULL && g_ptr_array_find (self->desks, desk, &i))
        {
          vd_desk_close (desk);
          g_ptr_array_remove_index (self->desks, i);
        }
    }
  GTK_APPLICATION_CLASS (vd_application_parent_class)->window_removed (app, window);
}

/* --server is handled in the primary instance only: a second `vetdesk --server …` raises
 * the running window rather than starting a second desk on the same replica. */
static int
vd_application_handle_local_options (GApplication *app,
                                     GVariantDict *options)
{
  VdApplication *self = VD_APPLICATION (app);
  const char *server = NULL;

  if (g_variant_dict_lookup (options, "server", "&s", &server))
    {
      g_autofree char *url = NULL;

      /* "host:port" is what people type; the protocol is HTTPS only. */
      if (strstr (server, "://") == NULL)
        url = g_strconcat ("https://", server, NULL);
      else
        url = g_strdup (server);
      if (!g_str_has_prefix (url, "https://") ||
          !g_uri_is_valid (url, G_URI_FLAGS_NONE, NULL))
        {
          g_printerr (_("The server address must be https://HOST:PORT, for example https://clinic.example.org:8443\n"));
          return 1;
        }
      vd_application_set_server_url (self, url);
    }

  return -1;
}

static void
vd_application_activate (GApplication *app)
{
  VdApplication *self = VD_APPLICATION (app);
  GtkWindow *window;

  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (window == NULL)
    window = GTK_WINDOW (vd_window_new (self, self->server_url));

  gtk_window_present (window);
}

static void
quit_cb (GSimpleAction *action,
         GVariant      *param,
         gpointer       user_data)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (user_data));

  /* Unsaved edits are asked about as when the window is closed; the application ends
   * with its last window. */
  if (window != NULL && gtk_window_get_transient_for (window) != NULL)
    window = gtk_window_get_transient_for (window);
  if (window != NULL && vd_record_forms_any_dirty (GTK_WIDGET (window)))
    {
      gtk_window_close (window);
      return;
    }
  g_application_quit (G_APPLICATION (user_data));
}

static void
about_cb (GSimpleAction *action,
          GVariant      *param,
          gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  const char *developers[] = { "VetDesk contributors", NULL };
  /* Translators: your names, one per line, to be credited in the About window */
  const char *translators = _("translator-credits");

  /* Untranslated, the placeholder would show as a credit. */
  if (g_str_equal (translators, "translator-credits"))
    translators = "";

  adw_show_about_window (gtk_application_get_active_window (app),
                         "application-name", _("VetDesk"),
                         "application-icon", APP_ID,
                         "version", PACKAGE_VERSION,
                         "developers", developers,
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "comments", _("The front desk of a veterinary clinic, working with or without the internet."),
                         "developer-name", _("The VetDesk developers"),
                         "copyright", _("© 2026 The VetDesk developers"),
                         "translator-credits", translators,
                         NULL);
}

static void
vd_application_startup (GApplication *app)
{
  static const GActionEntry entries[] = {
    { "quit", quit_cb, NULL, NULL, NULL, { 0 } },
    { "about", about_cb, NULL, NULL, NULL, { 0 } },
  };
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *help_accels[] = { "<Control>question", NULL };

  G_APPLICATION_CLASS (vd_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), entries, G_N_ELEMENTS (entries), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.show-help-overlay", help_accels);
}

static void
vd_application_finalize (GObject *object)
{
  VdApplication *self = VD_APPLICATION (object);

  g_clear_pointer (&self->server_url, g_free);
  g_clear_pointer (&self->desks, g_ptr_array_unref);

  G_OBJECT_CLASS (vd_application_parent_class)->finalize (object);
}

static void
vd_application_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  VdApplication *self = VD_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_SERVER_URL:
      g_value_set_string (value, self->server_url);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_application_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  VdApplication *self = VD_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_SERVER_URL:
      vd_application_set_server_url (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_application_class_init (VdApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = vd_application_finalize;
  object_class->get_property = vd_application_get_property;
  object_class->set_property = vd_application_set_property;

  app_class->handle_local_options = vd_application_handle_local_options;
  app_class->startup = vd_application_startup;
  app_class->activate = vd_application_activate;
  GTK_APPLICATION_CLASS (klass)->window_removed = vd_application_window_removed;

  properties[PROP_SERVER_URL] =
    g_param_spec_string ("server-url", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
vd_application_init (VdApplication *self)
{
  const GOptionEntry options[] = {
    { "server", 's', G_OPTION_FLAG_NONE, G_OPTION_ARG_STRING, NULL,
      N_("The VetDesk server to sign in to"), N_("https://HOST:PORT") },
    { NULL }
  };

  self->desks = g_ptr_array_new_with_free_func (g_object_unref);
  g_application_add_main_option_entries (G_APPLICATION (self), options);
  g_application_set_option_context_parameter_string (G_APPLICATION (self), NULL);
}
