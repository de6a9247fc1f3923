/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-flatpak.c — the Flatpak manifest builds the desk from what the GNOME 43 runtime has,
 * with the sandbox holes the app needs, and the files it exports are named as Flatpak wants. */
#define G_LOG_DOMAIN "test-flatpak"

#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#define RUNTIME_VERSION "43"

/* pkg-config names the GNOME 43 Platform (on the freedesktop 22.08 base) ships, so the
 * manifest needs no module for them. A client dependency outside this list needs one. */
static const char * const runtime_provides[] = {
  "glib-2.0", "gobject-2.0", "gio-2.0", "gio-unix-2.0", "gmodule-2.0", "gthread-2.0",
  "gtk4", "libadwaita-1", "libsoup-3.0", "json-glib-1.0", "libsecret-1", "sqlite3",
  "gnutls", "libxml-2.0", "zlib", "threads", "cairo", "pango", "gdk-pixbuf-2.0",
  "graphene-1.0",
  NULL
};

/* Modules whose name is not the pkg-config name they provide. Only syncd needs libpq and
 * libsodium; were the client to need them, these are the modules that would bring them. */
static const struct {
  const char *dependency;
  const char *module;
} module_for_dependency[] = {
  { "libpq", "postgresql" },
  { "libsodium", "libsodium" },
};

/* What the desk does with each hole: syncs over HTTPS, draws under Wayland or X11 with
 * the GPU, and keeps its refresh token in the Secret Service through libsecret. */
static const char * const required_finish_args[] = {
  "--share=network",
  "--share=ipc",
  "--socket=fallback-x11",
  "--socket=wayland",
  "--device=dri",
  "--talk-name=org.freedesktop.secrets",
  NULL
};

/* Holes the desk has no use for: a plain x11 socket defeats fallback-x11, and the desk
 * reads no files of the user's. */
static const char * const forbidden_finish_args[] = {
  "--socket=x11",
  "--filesystem=host",
  "--filesystem=home",
  "--talk-name=org.freedesktop.Flatpak",
  NULL
};

static const char * const meson_builtin_options[] = {
  "prefix", "libdir", "bindir", "datadir", "buildtype", "optimization", "debug",
  "warning_level", "werror", "c_args", "c_link_args", "default_library",
  NULL
};

static char *
source_path (const char *first, ...)
{
  const char *root = g_getenv ("VD_SOURCE_ROOT");
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  const char *part;
  va_list ap;

  /* VD_SOURCE_ROOT lets a person point the test at an edited copy of the tree. */
  g_ptr_array_add (parts, (gpointer) (root != NULL ? root : VD_SOURCE_ROOT));
  va_start (ap, first);
  for (part = first; part != NULL; part = va_arg (ap, const char *))
    g_ptr_array_add (parts, (gpointer) part);
  va_end (ap);
  g_ptr_array_add (parts, NULL);

  return g_build_filenamev ((char **) parts->pdata);
}

static char *
read_source (const char *relative)
{
  g_autofree char *path = source_path (relative, NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &error))
    g_error ("cannot read %s: %s", path, error->message);

  return contents;
}

static JsonObject *
load_manifest (JsonParser **parser_out)
{
  g_autofree char *path = source_path ("flatpak", APP_ID ".json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  if (!json_parser_load_from_file (parser, path, &error))
    g_error ("%s is not JSON: %s", path, error->message);
  root = json_parser_get_root (parser);
  g_assert_nonnull (root);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));

  *parser_out = g_steal_pointer (&parser);
  return json_node_get_object (root);
}

/* Members read through these fail the test with the member's name when it is missing or
 * of another type, rather than through a json-glib critical. */
static const char *
string_member (JsonObject *object,
               const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_test_fail_printf ("\"%s\" is missing or not a string", name);
      return NULL;
    }

  return json_node_get_string (node);
}

static JsonArray *
array_member (JsonObject *object,
              const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    g_error ("\"%s\" is missing or not an array", name);

  return json_node_get_array (node);
}

static gboolean
strv_contains_json (JsonArray  *array,
                    const char *value)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (node)
          && json_node_get_value_type (node) == G_TYPE_STRING
          && g_strcmp0 (json_node_get_string (node), value) == 0)
        return TRUE;
    }

  return FALSE;
}

static JsonObject *
app_module (JsonObject *manifest)
{
  JsonArray *modules;
  JsonNode *last;

  modules = array_member (manifest, "modules");
  g_assert_cmpuint (json_array_get_length (modules), >, 0);

  /* flatpak-builder builds modules in order, so the app comes after what it links. */
  last = json_array_get_element (modules, json_array_get_length (modules) - 1);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (last));

  return json_node_get_object (last);
}

/* Every name captured by @pattern's first group in @text, with # comments left out. */
static void
collect_matches (const char *text,
                 GRegex     *pattern,
                 GHashTable *into)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(GMatchInfo) match = NULL;
      char *hash = strchr (lines[i], '#');

      if (hash != NULL)
        *hash = '\0';
      g_regex_match (pattern, lines[i], 0, &match);
      while (g_match_info_matches (match))
        {
          g_hash_table_add (into, g_match_info_fetch (match, 1));
          g_match_info_next (match, NULL);
        }
    }
}

/* The dependency() names of every meson.build a client-only build reads: the top level,
 * shared/, data/, po/, tests/ and everything under client/. */
static GHashTable *
client_build_dependencies (void)
{
  static const char * const fixed[] = {
    "meson.build", "shared/meson.build", "data/meson.build", "po/meson.build",
    "tests/meson.build", NULL
  };
  g_autoptr(GRegex) pattern = g_regex_new ("(?<![A-Za-z0-9_])dependency\\s*\\(\\s*'([^']+)'",
                                           0, 0, NULL);
  GHashTable *names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  guint scanned = 0;

  for (guint i = 0; fixed[i] != NULL; i++)
    {
      g_autofree char *path = source_path (fixed[i], NULL);
      g_autofree char *text = NULL;

      if (g_file_get_contents (path, &text, NULL, NULL))
        {
          collect_matches (text, pattern, names);
          scanned++;
        }
    }

  g_ptr_array_add (dirs, source_path ("client", NULL));
  while (dirs->len > 0)
    {
      g_autofree char *dir = g_ptr_array_steal_index (dirs, dirs->len - 1);
      g_autofree char *build_file = g_build_filename (dir, "meson.build", NULL);
      g_autofree char *text = NULL;
      g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
      const char *name;

      if (g_file_get_contents (build_file, &text, NULL, NULL))
        {
          collect_matches (text, pattern, names);
          scanned++;
        }
      while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
        {
          char *child = g_build_filename (dir, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR))
            g_ptr_array_add (dirs, child);
          else
            g_free (child);
        }
    }

  /* Without the top level and client/ there is nothing to check against. */
  g_assert_cmpuint (scanned, >=, 2);
  return names;
}

static const char *
module_name_for (const char *dependency)
{
  for (guint i = 0; i < G_N_ELEMENTS (module_for_dependency); i++)
    if (strcmp (module_for_dependency[i].dependency, dependency) == 0)
      return module_for_dependency[i].module;

  return dependency;
}

static void
test_identity (void)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *manifest = load_manifest (&parser);
  const char *id;
  g_autofree char *build = read_source ("client/meson.build");

  /* flatpak-builder takes "id" or the older "app-id"; exactly one, and the app's. */
  g_assert_true (json_object_has_member (manifest, "app-id")
                 != json_object_has_member (manifest, "id"));
  id = string_member (manifest,
                                      json_object_has_member (manifest, "id") ? "id" : "app-id");
  g_assert_cmpstr (id, ==, APP_ID);

  g_assert_cmpstr (string_member (manifest, "runtime"), ==, "org.gnome.Platform");
  g_assert_cmpstr (string_member (manifest, "sdk"), ==, "org.gnome.Sdk");
  g_assert_cmpstr (string_member (manifest, "runtime-version"), ==, RUNTIME_VERSION);

  /* The command is the executable the client installs. */
  g_assert_cmpstr (string_member (manifest, "command"), ==, "vetdesk");
  g_assert_true (g_regex_match_simple ("executable\\s*\\(\\s*'vetdesk'[^)]*install\\s*:\\s*true",
                                       build, G_REGEX_DOTALL, 0));
}

static void
test_finish_args (void)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *manifest = load_manifest (&parser);
  g_autoptr(GString) problems = g_string_new (NULL);
  JsonArray *args;

  args = array_member (manifest, "finish-args");

  for (guint i = 0; required_finish_args[i] != NULL; i++)
    if (!strv_contains_json (args, required_finish_args[i]))
      g_string_append_printf (problems, " finish-args lack %s;", required_finish_args[i]);
  for (guint i = 0; forbidden_finish_args[i] != NULL; i++)
    if (strv_contains_json (args, forbidden_finish_args[i]))
      g_string_append_printf (problems, " finish-args hold %s, a hole the desk does not need;",
                              forbidden_finish_args[i]);
  if (problems->len > 0)
    g_test_fail_printf ("%s", problems->str + 1);
}

static void
test_app_module (void)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *manifest = load_manifest (&parser);
  JsonObject *module = app_module (manifest);
  g_autofree char *options_text = read_source ("meson_options.txt");
  g_autoptr(GHashTable) options = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GRegex) option_pattern = g_regex_new ("option\\s*\\(\\s*'([^']+)'", 0, 0, NULL);
  JsonArray *opts, *sources;
  gboolean has_dir = FALSE;

  g_assert_cmpstr (string_member (module, "name"), ==, "vetdesk");
  g_assert_cmpstr (string_member (module, "buildsystem"), ==, "meson");

  /* The client alone: syncd's libpq and libsodium are not in the runtime. */
  opts = array_member (module, "config-opts");
  g_assert_nonnull (opts);
  g_assert_true (strv_contains_json (opts, "-Dsyncd=false"));

  /* meson setup stops on an option it does not know: each -D must be declared. */
  collect_matches (options_text, option_pattern, options);
  for (guint i = 0; i < json_array_get_length (opts); i++)
    {
      const char *opt = json_array_get_string_element (opts, i);
      g_autofree char *name = NULL;

      if (!g_str_has_prefix (opt, "-D") || strchr (opt, '=') == NULL)
        continue;
      name = g_strndup (opt + 2, strchr (opt, '=') - (opt + 2));
      if (!g_hash_table_contains (options, name)
          && !g_strv_contains (meson_builtin_options, name)
          && !g_str_has_prefix (name, "b_"))
        g_test_fail_printf ("config-opts set %s, which meson_options.txt does not declare", name);
    }

  sources = array_member (module, "sources");
  g_assert_nonnull (sources);
  for (guint i = 0; i < json_array_get_length (sources); i++)
    {
      JsonObject *source = json_array_get_object_element (sources, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (source, "type", ""), "dir") == 0
          && g_strcmp0 (json_object_get_string_member_with_default (source, "path", ""), "..") == 0)
        has_dir = TRUE;
    }
  g_assert_true (has_dir);
}

static void
test_modules_cover_dependencies (void)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *manifest = load_manifest (&parser);
  JsonArray *modules = array_member (manifest, "modules");
  g_autoptr(GHashTable) needed = client_build_dependencies ();
  g_autoptr(GHashTable) module_names = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) wanted_modules = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GString) problems = g_string_new (NULL);
  GHashTableIter iter;
  gpointer key;

  /* The client's own libraries must be found, or the scan read nothing useful. */
  g_assert_true (g_hash_table_contains (needed, "gtk4"));
  g_assert_true (g_hash_table_contains (needed, "libsoup-3.0"));

  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonNode *node = json_array_get_element (modules, i);

      const char *name;

      /* A string is a path to a module file of its own, not checked here. */
      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      name = string_member (json_node_get_object (node), "name");
      if (name != NULL)
        g_hash_table_add (module_names, (gpointer) name);
    }

  g_hash_table_iter_init (&iter, needed);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      const char *dependency = key;
      const char *module;

      if (g_strv_contains (runtime_provides, dependency))
        continue;
      module = module_name_for (dependency);
      g_hash_table_add (wanted_modules, (gpointer) module);
      if (!g_hash_table_contains (module_names, module))
        g_string_append_printf (problems, " the client build needs %s, which the GNOME %s "
                                "runtime lacks: the manifest needs a module \"%s\" for it;",
                                dependency, RUNTIME_VERSION, module);
    }

  /* And the converse: no module builds what nothing in the client build asks for. */
  g_hash_table_iter_init (&iter, module_names);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (strcmp (key, "vetdesk") != 0 && !g_hash_table_contains (wanted_modules, key))
      g_string_append_printf (problems,
                              " module \"%s\" builds something the client build does not use;",
                              (const char *) key);
  if (problems->len > 0)
    g_test_fail_printf ("%s", problems->str + 1);
}

static void
test_exports (void)
{
  g_autoptr(GKeyFile) desktop = g_key_file_new ();
  g_autofree char *desktop_path = source_path ("data", APP_ID ".desktop.in", NULL);
  g_autofree char *icon = NULL;
  g_autofree char *exec = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = NULL;
  JsonObject *manifest = load_manifest (&parser);
  g_auto(GStrv) argv = NULL;
  const char * const exported[] = {
    "data/icons/hicolor/scalable/apps/" APP_ID ".svg",
    "data/icons/hicolor/symbolic/apps/" APP_ID "-symbolic.svg",
    "data/" APP_ID ".metainfo.xml.in",
    "data/" APP_ID ".gschema.xml",
  };

  /* Flatpak exports only files named by the app id, so the desktop entry must point at
   * an icon of that name and start the manifest's command. */
  g_key_file_load_from_file (desktop, desktop_path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  icon = g_key_file_get_string (desktop, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_ICON, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (icon, ==, APP_ID);
  exec = g_key_file_get_string (desktop, G_KEY_FILE_DESKTOP_GROUP, G_KEY_FILE_DESKTOP_KEY_EXEC, &error);
  g_assert_no_error (error);
  g_assert_true (g_shell_parse_argv (exec, NULL, &argv, NULL));
  g_assert_cmpstr (argv[0], ==, string_member (manifest, "command"));

  for (guint i = 0; i < G_N_ELEMENTS (exported); i++)
    {
      g_autofree char *path = source_path (exported[i], NULL);

      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_test_fail_printf ("%s is missing", exported[i]);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/flatpak/identity", test_identity);
  g_test_add_func ("/flatpak/finish-args", test_finish_args);
  g_test_add_func ("/flatpak/app-module", test_app_module);
  g_test_add_func ("/flatpak/modules-cover-dependencies", test_modules_cover_dependencies);
  g_test_add_func ("/flatpak/exports", test_exports);

  return g_test_run ();
}
