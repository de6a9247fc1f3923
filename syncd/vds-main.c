/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-main.c — the vetdesk-syncd command: `serve` runs the HTTPS sync daemon; migrate,
 * add-company, add-tenant, add-user and load-demo administer its database. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include "vds-auth.h"
#include "vds-config.h"
#include "vds-demo.h"
#include "vds-server.h"
#include "vds-store.h"
#include "vds-tls.h"

#define EXIT_USAGE 2

/* Options every subcommand takes. */
static char *opt_database;
static char *opt_config;
static char *opt_data_dir;

static const GOptionEntry common_entries[] = {
  { "database", 'd', 0, G_OPTION_ARG_STRING, &opt_database,
    N_("The database: sqlite:PATH or a postgresql:// URI"), N_("URI") },
  { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
    N_("Read settings from this file (group [server]; the command line wins)"), N_("FILE") },
  { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_data_dir,
    N_("Where the TLS certificate and the default SQLite database live"), N_("DIR") },
  { NULL }
};

static int
usage_error (const char *format,
             ...) G_GNUC_PRINTF (1, 2);

static int
usage_error (const char *format,
             ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("vetdesk-syncd: %s\n", text);
  return EXIT_USAGE;
}

static int
failure (GError *error)
{
  g_printerr ("vetdesk-syncd: %s\n", error->message);
  return EXIT_FAILURE;
}

/* Parses argv for one subcommand; on bad arguments prints one line and returns FALSE. */
static gboolean
parse_args (const char         *command,
            const char         *parameter,
            const char         *summary,
            const GOptionEntry *entries,
            int                *argc,
            char             ***argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *title = g_strdup_printf ("%s%s%s", command, parameter ? " " : "",
                                            parameter ? parameter : "");

  context = g_option_context_new (title);
  g_option_context_set_summary (context, summary);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, common_entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      usage_error ("%s", error->message);
      return FALSE;
    }
  return TRUE;
}

/* The key file of --config, or NULL (no file, or an error set). */
static GKeyFile *
load_config (GError **error)
{
  g_autoptr(GKeyFile) kf = NULL;

  if (opt_config == NULL)
    return NULL;
  kf = g_key_file_new ();
  if (!g_key_file_load_from_file (kf, opt_config, G_KEY_FILE_NONE, error))
    return NULL;
  return g_steal_pointer (&kf);
}

/* Under systemd, StateDirectory= sets $STATE_DIRECTORY (maybe a list); elsewhere the XDG
 * state directory. */
static char *
default_data_dir (void)
{
  const char *state = g_getenv ("STATE_DIRECTORY");

  if (state != NULL && state[0] != '\0')
    {
      const char *colon = strchr (state, ':');
      return colon ? g_strndup (state, colon - state) : g_strdup (state);
    }
  return g_build_filename (g_get_user_state_dir (), "vetdesk-syncd", NULL);
}

/* Settles --data-dir and --database from the command line, the config file and the
 * defaults, in that order. */
static gboolean
resolve_locations (GKeyFile  *kf,
                   char     **out_data_dir,
                   char     **out_database,
                   GError   **error)
{
  g_autofree char *data_dir = g_strdup (opt_data_dir);
  g_autofree char *database = g_strdup (opt_database);

  if (data_dir == NULL && kf != NULL)
    data_dir = g_key_file_get_string (kf, "server", "data-dir", NULL);
  if (data_dir == NULL)
    data_dir = default_data_dir ();
  if (database == NULL && kf != NULL)
    database = g_key_file_get_string (kf, "server", "database", NULL);
  if (database == NULL)
    {
      g_autofree char *path = g_build_filename (data_dir, "vetdesk.db", NULL);
      database = g_strconcat ("sqlite:", path, NULL);
    }

  if (g_str_has_prefix (database, "sqlite:"))
    {
      g_autofree char *dir = g_path_get_dirname (database + strlen ("sqlite:"));
      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("The database directory “%s” could not be created: %s."), dir,
                       g_strerror (saved));
          return FALSE;
        }
    }
  else if (!g_str_has_prefix (database, "postgresql://")
           && !g_str_has_prefix (database, "postgres://"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The database must be sqlite:PATH or a postgresql:// URI, not “%s”."),
                   database);
      return FALSE;
    }

  *out_data_dir = g_steal_pointer (&data_dir);
  *out_database = g_steal_pointer (&database);
  return TRUE;
}

/* Opens the store of the resolved database (migrating it). Exit status in *out_status
 * when it fails. */
static VdsStore *
open_store (guint  pool_size,
            char **out_data_dir,
            int   *out_status)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GKeyFile) kf = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *database = NULL;
  VdsStore *store;

  kf = load_config (&error);
  if (error != NULL)
    {
      *out_status = usage_error ("%s", error->message);
      return NULL;
    }
  if (!resolve_locations (kf, &data_dir, &database, &error))
    {
      *out_status = usage_error ("%s", error->message);
      return NULL;
    }
  store = vds_store_open (database, pool_size, &error);
  if (store == NULL)
    {
      *out_status = failure (error);
      return NULL;
    }
  if (out_data_dir != NULL)
    *out_data_dir = g_steal_pointer (&data_dir);
  return store;
}

/* ---- serve ---- */

/* Every live-update stream holds a socket: take every descriptor the hard limit allows
 * (systemd's default soft limit of 1024 would cap a server at about a thousand desks). */
static void
raise_fd_limit (void)
{
  struct rlimit nofile;

  if (getrlimit (RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max)
    {
      nofile.rlim_cur = nofile.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &nofile) != 0)
        g_warning ("Could not raise the open-file limit: %s", g_strerror (errno));
    }
}

typedef struct
{
  GMainLoop *loop;
  VdsServer *server;
  gboolean   stopping;
} ServeState;

static void
shutdown_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  ServeState *state = data;

  vds_server_shutdown_finish (VDS_SERVER (source), result, NULL);
  g_main_loop_quit (state->loop);
}

static gboolean
signal_cb (gpointer data)
{
  ServeState *state = data;

  if (!state->stopping)
    {
      state->stopping = TRUE;
      g_message ("Stopping: finishing the requests in flight");
      vds_server_shutdown_async (state->server, shutdown_done_cb, state);
    }
  return G_SOURCE_CONTINUE;
}

static int
cmd_serve (int    argc,
           char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GKeyFile) kf = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(VdsServer) server = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *database = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *tls_cert = NULL;
  g_autofree char *tls_key = NULL;
  g_autofree char *metrics_listen = NULL;
  g_auto(VdsConfig) config = { NULL, };
  VdsStore *store;
  gboolean plain_http = FALSE;
  int workers = 0;
  guint sigterm_id, sigint_id;
  ServeState state = { NULL, };
  const GOptionEntry entries[] = {
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
      N_("Address and port to listen on (default 0.0.0.0:8443)"), N_("ADDR:PORT") },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &tls_cert,
      N_("PEM certificate (chain); without it a self-signed one is made"), N_("FILE") },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &tls_key,
      N_("PEM private key of the certificate"), N_("FILE") },
    { "plain-http", 0, 0, G_OPTION_ARG_NONE, &plain_http,
      N_("Serve plain HTTP (only on a loopback address, for tests)"), NULL },
    { "workers", 'w', 0, G_OPTION_ARG_INT, &workers,
      N_("Worker threads for database calls (default 8)"), N_("N") },
    { "metrics-listen", 0, 0, G_OPTION_ARG_STRING, &metrics_listen,
      N_("Also serve Prometheus /metrics in plain HTTP here (loopback only unless "
         "metrics-public=true)"), N_("ADDR:PORT") },
    { NULL }
  };

  if (!parse_args ("serve", NULL, _("Runs the HTTPS sync server until SIGTERM or SIGINT."),
                   entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return usage_error (_("serve takes no arguments, but “%s” was given."), argv[1]);
  if (workers < 0 || workers > 256)
    return usage_error (_("--workers must be between 1 and 256."));

  vds_config_init (&config);
  kf = load_config (&error);
  if (error != NULL)
    return usage_error ("%s", error->message);
  if ((kf != NULL && !vds_config_load (&config, kf, &error))
      || !resolve_locations (kf, &data_dir, &database, &error))
    return usage_error ("%s", error->message);
  vds_config_apply_env (&config);

  /* The command line wins over the file. */
  if (listen != NULL)
    {
      g_free (config.listen);
      config.listen = g_strdup (listen);
    }
  if (tls_cert != NULL)
    {
      g_free (config.tls_cert);
      config.tls_cert = g_strdup (tls_cert);
    }
  if (tls_key != NULL)
    {
      g_free (config.tls_key);
      config.tls_key = g_strdup (tls_key);
    }
  if (plain_http)
    config.plain_http = TRUE;
  if (metrics_listen != NULL)
    {
      g_free (config.metrics_listen);
      config.metrics_listen = g_strdup (metrics_listen);
    }
  if (workers > 0)
    config.workers = workers;
  g_free (config.data_dir);
  config.data_dir = g_strdup (data_dir);

  {
    g_autoptr(GInetAddress) address = NULL;
    guint16 port;

    if (!vds_config_parse_listen (config.listen, &address, &port, &error))
      return usage_error ("%s", error->message);
    if (config.plain_http && !g_inet_address_get_is_loopback (address))
      return usage_error (_("Plain HTTP is only allowed on a loopback address "
                            "(127.0.0.1 or [::1]), not on %s."), config.listen);
  }

  if (!vds_auth_init (&error))
    return failure (error);
  raise_fd_limit ();

  /* A connection per worker, and one for the health check to get through. */
  store = vds_store_open (database, config.workers + 1, &error);
  if (store == NULL)
    return failure (error);

  server = vds_server_new (store, &config, &error);
  vds_config_clear (&config);
  if (server == NULL || !vds_server_listen (server, &error))
    {
      g_clear_object (&server);
      vds_store_free (store);
      return failure (error);
    }

  if (vds_server_get_fingerprint (server) != NULL)
    {
      g_print ("TLS certificate SHA-256 fingerprint: %s\n", vds_server_get_fingerprint (server));
      g_info ("TLS certificate SHA-256 fingerprint: %s", vds_server_get_fingerprint (server));
    }

  loop = g_main_loop_new (NULL, FALSE);
  state.loop = loop;
  state.server = server;
  sigterm_id = g_unix_signal_add (SIGTERM, signal_cb, &state);
  sigint_id = g_unix_signal_add (SIGINT, signal_cb, &state);

  /* Before the "listening on" line, which tells a supervisor the daemon is ready. */
  if (vds_server_get_metrics_url (server) != NULL)
    g_print ("vetdesk-syncd metrics on %s/metrics\n", vds_server_get_metrics_url (server));
  g_print ("vetdesk-syncd listening on %s\n", vds_server_get_url (server));
  fflush (stdout);
  g_info ("Listening on %s (database %s, schema version %u)", vds_server_get_url (server),
          vds_store_is_postgres (store) ? "PostgreSQL" : "SQLite",
          vds_store_get_schema_version (store));

  g_main_loop_run (loop);

  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);
  /* Waits for the workers, then the store can go. */
  g_clear_object (&server);
  vds_store_free (store);
  g_info ("Stopped");
  return EXIT_SUCCESS;
}

/* ---- administration ---- */

static int
cmd_migrate (int    argc,
             char **argv)
{
  VdsStore *store;
  int status = EXIT_SUCCESS;

  if (!parse_args ("migrate", NULL,
                   _("Applies the database migrations and prints the schema version."),
                   NULL, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return usage_error (_("migrate takes no arguments, but “%s” was given."), argv[1]);

  store = open_store (1, NULL, &status);
  if (store == NULL)
    return status;
  g_print ("%u\n", vds_store_get_schema_version (store));
  vds_store_free (store);
  return EXIT_SUCCESS;
}

static int
cmd_add_company (int    argc,
                 char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  VdsStore *store;
  int status = EXIT_SUCCESS;

  if (!parse_args ("add-company", "NAME", _("Adds a company and prints its id."),
                   NULL, &argc, &argv))
    return EXIT_USAGE;
  if (argc != 2)
    return usage_error (_("add-company takes exactly one argument: the company’s name."));

  store = open_store (1, NULL, &status);
  if (store == NULL)
    return status;
  if (!vds_store_add_company (store, argv[1], &id, &error))
    status = failure (error);
  else
    g_print ("%s\n", id);
  vds_store_free (store);
  return status;
}

static int
cmd_add_tenant (int    argc,
                char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *slug = NULL;
  g_autofree char *name = NULL;
  g_autofree char *timezone = NULL;
  g_autofree char *currency = NULL;
  g_autofree char *company = NULL;
  g_autofree char *company_id = NULL;
  g_autofree char *id = NULL;
  VdsStore *store;
  int status = EXIT_SUCCESS;
  const GOptionEntry entries[] = {
    { "slug", 0, 0, G_OPTION_ARG_STRING, &slug,
      N_("Short name: lowercase letters, digits and dashes"), N_("SLUG") },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, N_("The clinic’s name"), N_("NAME") },
    { "timezone", 0, 0, G_OPTION_ARG_STRING, &timezone,
      N_("IANA time zone, such as Europe/Madrid"), N_("ZONE") },
    { "currency", 0, 0, G_OPTION_ARG_STRING, &currency,
      N_("ISO 4217 code, such as EUR"), N_("CODE") },
    { "company", 0, 0, G_OPTION_ARG_STRING, &company,
      N_("The owning company (id or name)"), N_("COMPANY") },
    { NULL }
  };

  if (!parse_args ("add-tenant", NULL, _("Adds a clinic and prints its id."),
                   entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return usage_error (_("add-tenant takes no arguments, but “%s” was given."), argv[1]);
  if (slug == NULL || name == NULL || timezone == NULL || currency == NULL || company == NULL)
    return usage_error (_("add-tenant needs --slug, --name, --timezone, --currency and "
                          "--company."));

  store = open_store (1, NULL, &status);
  if (store == NULL)
    return status;
  company_id = vds_store_find_company_id (store, company, &error);
  if (company_id == NULL)
    {
      if (error == NULL)
        g_set_error (&error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
                     _("There is no company “%s”."), company);
      status = failure (error);
    }
  else if (!vds_store_add_tenant (store, slug, name, timezone, currency, company_id, &id,
                                  &error))
    status = failure (error);
  else
    g_print ("%s\n", id);
  vds_store_free (store);
  return status;
}

/* One line from stdin; on a terminal, asked twice without echo. NULL on end of input. */
static char *
read_password (GError **error)
{
  gboolean tty = isatty (STDIN_FILENO);
  struct termios saved, quiet;
  char *first = NULL;
  char *second = NULL;
  char buf[1100];

  for (int round = 0; round < (tty ? 2 : 1); round++)
    {
      char *line;

      if (tty)
        {
          g_printerr (round == 0 ? _("Password: ") : _("Password again: "));
          tcgetattr (STDIN_FILENO, &saved);
          quiet = saved;
          quiet.c_lflag &= ~ECHO;
          tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
        }
      line = fgets (buf, sizeof buf, stdin);
      if (tty)
        {
          tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
          g_printerr ("\n");
        }
      if (line == NULL)
        {
          g_free (first);
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("No password was given on standard input."));
          return NULL;
        }
      buf[strcspn (buf, "\r\n")] = '\0';
      if (round == 0)
        first = g_strdup (buf);
      else
        second = g_strdup (buf);
      memset (buf, 0, sizeof buf);
    }

  if (second != NULL && strcmp (first, second) != 0)
    {
      g_free (first);
      g_free (second);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("The two passwords differ."));
      return NULL;
    }
  g_free (second);
  /* At least ten characters, not one of the common ones (issue #16, item 9). */
  if (!vds_auth_check_password (first, error))
    {
      memset (first, 0, strlen (first));
      g_free (first);
      return NULL;
    }
  return first;
}

static int
cmd_add_user (int    argc,
              char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *username = NULL;
  g_autofree char *display_name = NULL;
  g_auto(GStrv) clinics = NULL;
  g_auto(GStrv) companies = NULL;
  g_autofree char *password = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *id = NULL;
  g_autoptr(GPtrArray) tenant_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) roles = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) company_ids = g_ptr_array_new_with_free_func (g_free);
  gboolean platform_admin = FALSE;
  const char *platform_role;
  VdsStore *store;
  int status = EXIT_SUCCESS;
  const GOptionEntry entries[] = {
    { "username", 0, 0, G_OPTION_ARG_STRING, &username, N_("Sign-in name"), N_("NAME") },
    { "display-name", 0, 0, G_OPTION_ARG_STRING, &display_name,
      N_("Name shown to people"), N_("NAME") },
    { "clinic", 0, 0, G_OPTION_ARG_STRING_ARRAY, &clinics,
      N_("Membership: clinic slug and role (front_desk, veterinarian, technician, groomer, "
         "clinic_admin); repeatable"), N_("SLUG:ROLE") },
    { "company-admin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &companies,
      N_("Make the user an administrator of this company (id or name); repeatable"),
      N_("COMPANY") },
    { "platform-admin", 0, 0, G_OPTION_ARG_NONE, &platform_admin,
      N_("Make the user the platform administrator"), NULL },
    { NULL }
  };

  if (!parse_args ("add-user", NULL,
                   _("Adds a user and prints the id. The password is read from standard "
                     "input (asked twice without echo on a terminal), never from the "
                     "command line."),
                   entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return usage_error (_("add-user takes no arguments, but “%s” was given."), argv[1]);
  if (username == NULL || display_name == NULL)
    return usage_error (_("add-user needs --username and --display-name."));
  if (platform_admin && companies != NULL)
    return usage_error (_("A user is either a platform administrator or a company "
                          "administrator, not both."));
  for (guint i = 0; clinics != NULL && clinics[i] != NULL; i++)
    {
      const char *colon = strchr (clinics[i], ':');
      if (colon == NULL || colon == clinics[i] || colon[1] == '\0')
        return usage_error (_("--clinic takes SLUG:ROLE, such as centro:front_desk, not "
                              "“%s”."), clinics[i]);
      /* Checked before anything is read or written. */
      if (!vds_store_clinic_role_is_valid (colon + 1))
        return usage_error (_("“%s” is not a clinic role: use front_desk, veterinarian, "
                              "technician, groomer or clinic_admin."), colon + 1);
    }

  if (!vds_auth_init (&error))
    return failure (error);

  store = open_store (1, NULL, &status);
  if (store == NULL)
    return status;

  /* Every name is resolved before anything is written. */
  for (guint i = 0; clinics != NULL && clinics[i] != NULL; i++)
    {
      const char *colon = strchr (clinics[i], ':');
      g_autofree char *slug = g_strndup (clinics[i], colon - clinics[i]);
      char *tenant_id = vds_store_find_tenant_id (store, slug, &error);

      if (tenant_id == NULL)
        {
          if (error == NULL)
            g_set_error (&error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
                         _("There is no clinic “%s”."), slug);
          goto out;
        }
      g_ptr_array_add (tenant_ids, tenant_id);
      g_ptr_array_add (roles, g_strdup (colon + 1));
    }
  for (guint i = 0; companies != NULL && companies[i] != NULL; i++)
    {
      char *company_id = vds_store_find_company_id (store, companies[i], &error);

      if (company_id == NULL)
        {
          if (error == NULL)
            g_set_error (&error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
                         _("There is no company “%s”."), companies[i]);
          goto out;
        }
      g_ptr_array_add (company_ids, company_id);
    }

  password = read_password (&error);
  if (password == NULL)
    goto out;
  hash = vds_auth_hash_password (password, &error);
  memset (password, 0, strlen (password));
  if (hash == NULL)
    goto out;

  platform_role = platform_admin ? "platform_admin"
                  : company_ids->len > 0 ? "company_admin" : "none";
  g_ptr_array_add (tenant_ids, NULL);
  g_ptr_array_add (roles, NULL);
  g_ptr_array_add (company_ids, NULL);
  /* The user, its memberships and companies in one transaction. */
  if (!vds_store_add_account (store, username, display_name, hash, platform_role,
                              (const char * const *) tenant_ids->pdata,
                              (const char * const *) roles->pdata,
                              (const char * const *) company_ids->pdata, &id, &error))
    goto out;
  g_print ("%s\n", id);

out:
  if (error != NULL)
    status = failure (error);
  vds_store_free (store);
  return status;
}

static int
cmd_load_demo (int    argc,
               char **argv)
{
  g_autoptr(GError) error = NULL;
  VdsStore *store;
  int status = EXIT_SUCCESS;

  if (!parse_args ("load-demo", NULL,
                   _("Loads the demo companies, clinics, people and records."),
                   NULL, &argc, &argv))
    return EXIT_USAGE;
  if (argc > 1)
    return usage_error (_("load-demo takes no arguments, but “%s” was given."), argv[1]);
  if (!vds_auth_init (&error))
    return failure (error);

  store = open_store (2, NULL, &status);
  if (store == NULL)
    return status;
  if (!vds_demo_load (store, &error))
    status = failure (error);
  vds_store_free (store);
  return status;
}

static const struct
{
  const char *name;
  int       (*run) (int argc, char **argv);
  const char *summary;
} commands[] = {
  { "serve", cmd_serve, N_("Run the HTTPS sync server") },
  { "migrate", cmd_migrate, N_("Apply database migrations and print the schema version") },
  { "add-company", cmd_add_company, N_("Add a company") },
  { "add-tenant", cmd_add_tenant, N_("Add a clinic") },
  { "add-user", cmd_add_user, N_("Add a user (password on standard input)") },
  { "load-demo", cmd_load_demo, N_("Load the demo data") },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "%s\n\n%s\n", _("Usage: vetdesk-syncd COMMAND [OPTION…]"),
           _("Commands:"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-12s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, "\n%s\n", _("Run “vetdesk-syncd COMMAND --help” for its options."));
}

int
main (int    argc,
      char **argv)
{
  vds_tls_restrict_versions ();
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("vetdesk-syncd");

  if (argc < 2)
    {
      print_usage (stderr);
      return EXIT_USAGE;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h")
      || g_str_equal (argv[1], "help"))
    {
      print_usage (stdout);
      return EXIT_SUCCESS;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      g_print ("vetdesk-syncd %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      {
        int status;

        /* The subcommand parses its own options, as if it were the program. */
        status = commands[i].run (argc - 1, argv + 1);
        g_free (opt_database);
        g_free (opt_config);
        g_free (opt_data_dir);
        return status;
      }

  return usage_error (_("“%s” is not a command. Run “vetdesk-syncd --help” for the list."),
                      argv[1]);
}
