/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-test-ui.c — the shared half of the UI tests: a throwaway home, main-loop waits,
 * widget lookup, screenshots, and a desk signed in to a demo clinic of a real syncd. */
#define G_LOG_DOMAIN "vd-test-ui"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <locale.h>

#include "vd-test-ui.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

static char *tmp_home;
/* One application per process: a second one could not register its object path. */
static VdApplication *shared_app;
static VdTestSyncd *watched_syncd;
static VdSyncEngine *watched_engine;

/* ---- set-up ---- */

gboolean
vd_test_ui_init (int    *argc,
                 char ***argv)
{
  static const char * const vars[] = { "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME" };
  const char *language = g_getenv ("VD_TEST_LANGUAGE");

  /* The account, the replica and the keyring live in a home of the test's own. */
  tmp_home = g_dir_make_tmp ("vd-test-ui-XXXXXX", NULL);
  g_assert_nonnull (tmp_home);
  for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
    {
      g_autofree char *dir = g_build_filename (tmp_home, vars[i], NULL);

      g_mkdir_with_parents (dir, 0700);
      g_setenv (vars[i], dir, TRUE);
    }
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("LANGUAGE", language != NULL && *language != '\0' ? language : "C", TRUE);
  g_setenv ("GTK_A11Y", "none", TRUE);

  /* The build's own translations, as the app binds its installed ones: gettext ignores
   * LANGUAGE under the plain C locale, so a language asked for needs C.UTF-8. */
  if (language != NULL && *language != '\0')
    setlocale (LC_ALL, "C.UTF-8");
  else
    setlocale (LC_ALL, "");
  {
    g_autofree char *exe_dir = g_path_get_dirname ((*argv)[0]);
    g_autofree char *locale_dir = g_build_filename (exe_dir, "..", "po", NULL);

    bindtextdomain (GETTEXT_PACKAGE, locale_dir);
    bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
    textdomain (GETTEXT_PACKAGE);
  }

  g_test_init (argc, argv, NULL);
  /* GTK under Xvfb warns about things a test cannot change (no portal, no settings
   * daemon); criticals still fail the test. */
  g_log_set_always_fatal (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL);

  if (!gtk_init_check ())
    return FALSE;
  adw_init ();
  return TRUE;
}

int
vd_test_ui_finish (int status)
{
  /* VD_KEEP_HOME=1 keeps the account and replica for a look with the real app. */
  if (g_getenv ("VD_KEEP_HOME") != NULL)
    g_printerr ("kept %s\n", tmp_home);
  else if (tmp_home != NULL)
    {
      const char *rm[] = { "rm", "-rf", tmp_home, NULL };

      g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    }
  g_clear_pointer (&tmp_home, g_free);
  return status;
}

const char *
vd_test_ui_get_home (void)
{
  return tmp_home;
}

/* ---- waiting ---- */

void
vd_test_ui_iterate (void)
{
  if (!g_main_context_iteration (NULL, FALSE))
    g_usleep (2000);
}

void
vd_test_ui_settle (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end)
    vd_test_ui_iterate ();
}

void
vd_test_ui_watch (VdTestSyncd  *syncd,
                  VdSyncEngine *engine)
{
  watched_syncd = syncd;
  watched_engine = engine;
}

void
vd_test_ui_describe (void)
{
  if (watched_syncd != NULL)
    {
      g_autofree char *log = vd_test_syncd_get_log (watched_syncd);
      int exit_status = 0;

      g_printerr ("syncd log:\n%s\n", log);
      if (vd_test_syncd_wait (watched_syncd, 0, &exit_status))
        g_printerr ("syncd is not running: exit status %d\n", exit_status);
    }
  if (watched_engine != NULL)
    g_printerr ("sync engine: state %d, pending %u, error “%s”\n",
                vd_sync_engine_get_state (watched_engine),
                vd_sync_engine_get_pending (watched_engine),
                vd_sync_engine_get_error_message (watched_engine));
}

/* ---- finding and clicking ---- */

GtkWidget *
vd_test_ui_find (GtkWidget     *root,
                 VdTestUiMatch  match,
                 gconstpointer  data)
{
  if (root == NULL)
    return NULL;
  if (match (root, data))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = vd_test_ui_find (child, match, data);

      if (found != NULL)
        return found;
    }
  return NULL;
}

gboolean
vd_test_ui_match_type (GtkWidget     *widget,
                       gconstpointer  data)
{
  return G_TYPE_CHECK_INSTANCE_TYPE (widget, GPOINTER_TO_SIZE (data));
}

gboolean
vd_test_ui_match_row_title (GtkWidget     *widget,
                            gconstpointer  data)
{
  return ADW_IS_PREFERENCES_ROW (widget) && !ADW_IS_PASSWORD_ENTRY_ROW (widget) &&
         g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), data) == 0;
}

gboolean
vd_test_ui_match_class (GtkWidget     *widget,
                        gconstpointer  data)
{
  return gtk_widget_has_css_class (widget, data) && gtk_widget_is_visible (widget);
}

gboolean
vd_test_ui_match_button_class (GtkWidget     *widget,
                               gconstpointer  data)
{
  return GTK_IS_BUTTON (widget) && vd_test_ui_match_class (widget, data);
}

gboolean
vd_test_ui_match_label (GtkWidget     *widget,
                        gconstpointer  data)
{
  return GTK_IS_LABEL (widget) && gtk_widget_is_visible (widget) &&
         g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), data) == 0;
}

void
vd_test_ui_click (GtkWidget *button)
{
  g_assert_nonnull (button);
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

/* ---- screenshots ---- */

void
vd_test_ui_screenshot (GtkWidget  *widget,
                       const char *name)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *dir = g_build_filename (g_test_get_dir (G_TEST_BUILT), "artifacts", NULL);
  g_autofree char *path = NULL;
  g_autofree char *file = NULL;
  const char *language = g_getenv ("VD_TEST_LANGUAGE");
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  int width, height;

  if (language != NULL && *language != '\0')
    file = g_strconcat ("ui-", name, "-", language, ".png", NULL);
  else
    file = g_strconcat ("ui-", name, ".png", NULL);

  /* Let pending layout, transitions and drawing happen first; the paintable is empty
   * until the widget has been drawn since its last change. */
  gtk_widget_queue_draw (widget);
  vd_test_ui_settle (800);
  VD_TEST_UI_WAIT_UNTIL (gtk_widget_get_width (widget) > 0, 10, "the window to get its size");
  width = gtk_widget_get_width (widget);
  height = gtk_widget_get_height (widget);
  for (guint tries = 0; node == NULL && tries < 100; tries++)
    {
      GtkSnapshot *snapshot = gtk_snapshot_new ();

      gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
      node = gtk_snapshot_free_to_node (snapshot);
      if (node == NULL)
        {
          gtk_widget_queue_draw (widget);
          vd_test_ui_settle (50);
        }
    }
  if (node == NULL)
    g_error ("Nothing drawn for %s (%s, %dx%d, mapped %d)", name, G_OBJECT_TYPE_NAME (widget),
             width, height, gtk_widget_get_mapped (widget));
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));

  g_mkdir_with_parents (dir, 0755);
  path = g_build_filename (dir, file, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
}

/* ---- the keyring the sign-in is kept in ---- */

static gboolean
bus_has_name (GDBusConnection *bus,
              const char      *name)
{
  g_autoptr(GVariant) owner = NULL;
  gboolean has_owner = FALSE;

  owner = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", name),
                                       G_VARIANT_TYPE ("(b)"), 0, 5000, NULL, NULL);
  if (owner != NULL)
    g_variant_get (owner, "(b)", &has_owner);
  return has_owner;
}

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

GSubprocess *
vd_test_ui_start_keyring (void)
{
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autoptr(GError) error = NULL;
  GSubprocess *keyring;
  g_autofree char *path = g_find_program_in_path ("gnome-keyring-daemon");
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  gint64 end;

  if (bus == NULL || path == NULL || bus_has_name (bus, "org.freedesktop.secrets"))
    return NULL;

  /* An unlocked login keyring with an empty password, in the test's own data dir, so
   * storing the token never waits for a prompt. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  /* A test that aborts must not leave it running (and holding the test's output open). */
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  keyring = g_subprocess_launcher_spawn (launcher, &error, path, "--foreground", "--unlock",
                                         "--components=secrets", NULL);
  if (keyring == NULL)
    {
      g_test_message ("No keyring: %s", error->message);
      return NULL;
    }
  g_output_stream_write_all (g_subprocess_get_stdin_pipe (keyring), "vd-test", 7, NULL, NULL, NULL);
  g_output_stream_close (g_subprocess_get_stdin_pipe (keyring), NULL, NULL);

  end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!bus_has_name (bus, "org.freedesktop.secrets") && g_get_monotonic_time () < end)
    g_usleep (50000);
  return keyring;
}

/* ---- a desk ---- */

VdTestDesk *
vd_test_desk_new (void)
{
  VdTestDesk *desk = g_new0 (VdTestDesk, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *output = NULL;

  desk->keyring = vd_test_ui_start_keyring ();

  desk->syncd = vd_test_syncd_new (VETDESK_SYNCD, NULL);
  output = vd_test_syncd_run (desk->syncd, NULL, &error, "load-demo", NULL);
  g_assert_no_error (error);
  g_assert_true (vd_test_syncd_start (desk->syncd, &error));
  g_assert_no_error (error);
  vd_test_ui_watch (desk->syncd, NULL);

  if (shared_app == NULL)
    {
      shared_app = vd_application_new ();
      g_application_set_flags (G_APPLICATION (shared_app), G_APPLICATION_NON_UNIQUE);
      g_assert_true (g_application_register (G_APPLICATION (shared_app), NULL, &error));
      g_assert_no_error (error);
    }
  desk->app = g_object_ref (shared_app);

  desk->window = vd_window_new (desk->app, vd_test_syncd_get_url (desk->syncd));
  gtk_window_set_default_size (GTK_WINDOW (desk->window), 1280, 800);
  gtk_window_present (GTK_WINDOW (desk->window));
  return desk;
}

/* Fills in and submits the sign-in page, trusting the test certificate when asked; the
 * window then leaves the sign-in page. */
static void
submit_sign_in (VdTestDesk *desk,
                const char *username)
{
  VdSignInPage *page = vd_window_get_sign_in_page (desk->window);
  GtkWidget *page_widget = GTK_WIDGET (page);
  GtkWidget *fingerprint = NULL;

  g_assert_cmpstr (vd_window_get_page (desk->window), ==, "sign-in");
  gtk_editable_set_text (GTK_EDITABLE (vd_test_ui_find (page_widget, vd_test_ui_match_row_title, g_dgettext (GETTEXT_PACKAGE, "Username"))),
                         username);
  gtk_editable_set_text (GTK_EDITABLE (vd_test_ui_find (page_widget, vd_test_ui_match_type,
                                                        GSIZE_TO_POINTER (ADW_TYPE_PASSWORD_ENTRY_ROW))),
                         VD_TEST_DEMO_PASSWORD);
  vd_test_ui_click (vd_test_ui_find (page_widget, vd_test_ui_match_button_class, "suggested-action"));

  /* No CA vouches for the test certificate: trust the fingerprint shown, then go on. */
  VD_TEST_UI_WAIT_UNTIL (g_strcmp0 (vd_window_get_page (desk->window), "sign-in") != 0 ||
                         ((fingerprint = vd_test_ui_find (page_widget, vd_test_ui_match_class, "fingerprint")) != NULL &&
                          !vd_sign_in_page_get_busy (page)),
                         30, "the fingerprint");
  if (g_strcmp0 (vd_window_get_page (desk->window), "sign-in") == 0)
    {
      g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (fingerprint)), ==,
                       vd_test_syncd_get_fingerprint (desk->syncd));
      gtk_switch_set_active (GTK_SWITCH (vd_test_ui_find (page_widget, vd_test_ui_match_type,
                                                          GSIZE_TO_POINTER (GTK_TYPE_SWITCH))), TRUE);
      vd_test_ui_click (vd_test_ui_find (page_widget, vd_test_ui_match_button_class, "suggested-action"));
    }
}

void
vd_test_desk_sign_in (VdTestDesk *desk,
                      const char *username)
{
  submit_sign_in (desk, username);
  VD_TEST_UI_WAIT_UNTIL (g_strcmp0 (vd_window_get_page (desk->window), "main") == 0, 120,
                         "the sign-in and first sync");
  desk->store = vd_window_get_store (desk->window);
  desk->engine = vd_window_get_engine (desk->window);
  g_assert_nonnull (desk->store);
  g_assert_nonnull (desk->engine);
  vd_test_ui_watch (desk->syncd, desk->engine);
}

void
vd_test_desk_sign_in_admin (VdTestDesk *desk,
                            const char *username)
{
  VdSignInPage *page = vd_window_get_sign_in_page (desk->window);

  submit_sign_in (desk, username);
  VD_TEST_UI_WAIT_UNTIL (g_strcmp0 (vd_window_get_page (desk->window), "monitor") == 0 ||
                         (g_strcmp0 (vd_window_get_page (desk->window), "sign-in") == 0 &&
                          vd_sign_in_page_get_error (page) != NULL),
                         60, "the sign-in of an administrator");
  if (g_strcmp0 (vd_window_get_page (desk->window), "monitor") != 0)
    g_error ("%s was not let in: %s", username, vd_sign_in_page_get_error (page));
  g_assert_null (vd_window_get_store (desk->window));
  vd_test_ui_watch (desk->syncd, NULL);
}

void
vd_test_desk_free (VdTestDesk *desk)
{
  if (desk == NULL)
    return;
  vd_test_ui_watch (NULL, NULL);
  if (desk->window != NULL)
    {
      gtk_window_destroy (GTK_WINDOW (desk->window));
      vd_test_ui_settle (100);
    }
  g_clear_object (&desk->app);
  g_clear_pointer (&desk->syncd, vd_test_syncd_free);
  if (desk->keyring != NULL)
    {
      g_subprocess_force_exit (desk->keyring);
      g_subprocess_wait (desk->keyring, NULL, NULL);
      g_clear_object (&desk->keyring);
    }
  g_free (desk);
}
