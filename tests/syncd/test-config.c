/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-config.c — syncd's settings (syncd/http/vds-config.c): the sample configuration
 * holds exactly the defaults and every key in it is one the loader reads; a bad value is
 * refused with a sentence naming its key and group; missing keys keep their value;
 * VDS_RATE_SCALE; the listen address. No server runs. */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "vds-config.h"

static GKeyFile *
key_file_from (const char *text)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&kf);
}

static GKeyFile *
sample_key_file (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "data",
                                                 "vetdesk-syncd.conf.sample", NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&kf);
}

static void
assert_same (const VdsConfig *a,
             const VdsConfig *b)
{
  g_assert_cmpstr (a->listen, ==, b->listen);
  g_assert_cmpstr (a->tls_cert, ==, b->tls_cert);
  g_assert_cmpstr (a->tls_key, ==, b->tls_key);
  g_assert_cmpstr (a->data_dir, ==, b->data_dir);
  g_assert_cmpstr (a->metrics_listen, ==, b->metrics_listen);
  g_assert_true ((a->allowed_origins == NULL) == (b->allowed_origins == NULL));
  if (a->allowed_origins != NULL)
    g_assert_true (g_strv_equal ((const char * const *) a->allowed_origins,
                                 (const char * const *) b->allowed_origins));
  g_assert_cmpint (a->plain_http, ==, b->plain_http);
  g_assert_cmpint (a->metrics_public, ==, b->metrics_public);
  g_assert_cmpuint (a->workers, ==, b->workers);
  g_assert_cmpuint (a->header_timeout_s, ==, b->header_timeout_s);
  g_assert_cmpuint (a->idle_timeout_s, ==, b->idle_timeout_s);
  g_assert_cmpuint (a->drain_timeout_s, ==, b->drain_timeout_s);
  g_assert_cmpfloat (a->address_rate, ==, b->address_rate);
  g_assert_cmpfloat (a->address_burst, ==, b->address_burst);
  g_assert_cmpfloat (a->clinic_rate, ==, b->clinic_rate);
  g_assert_cmpfloat (a->clinic_burst, ==, b->clinic_burst);
  g_assert_cmpfloat (a->login_rate, ==, b->login_rate);
  g_assert_cmpfloat (a->login_burst, ==, b->login_burst);
  g_assert_cmpuint (a->lockout_failures, ==, b->lockout_failures);
  g_assert_cmpuint (a->lockout_seconds, ==, b->lockout_seconds);
  g_assert_cmpuint (a->access_ttl_s, ==, b->access_ttl_s);
  g_assert_cmpuint (a->offline_after_s, ==, b->offline_after_s);
  g_assert_cmpuint (a->activity_flush_s, ==, b->activity_flush_s);
  g_assert_cmpuint (a->listing_max_age_ms, ==, b->listing_max_age_ms);
  g_assert_cmpuint (a->stream_keepalive_s, ==, b->stream_keepalive_s);
  g_assert_cmpuint (a->stream_threads, ==, b->stream_threads);
  g_assert_cmpuint (a->max_connections, ==, b->max_connections);
  g_assert_cmpuint (a->max_connections_per_address, ==, b->max_connections_per_address);
  g_assert_cmpuint (a->max_body_mib, ==, b->max_body_mib);
  g_assert_cmpuint (a->max_body_mib_per_address, ==, b->max_body_mib_per_address);
  g_assert_cmpuint (a->max_streams_per_device, ==, b->max_streams_per_device);
  g_assert_cmpuint (a->max_streams_per_session, ==, b->max_streams_per_session);
  g_assert_cmpuint (a->stream_pings_per_minute, ==, b->stream_pings_per_minute);
}

/* The sample documents the defaults: loading it changes nothing. */
static void
test_sample_is_defaults (void)
{
  g_autoptr(GKeyFile) kf = sample_key_file ();
  g_autoptr(GError) error = NULL;
  g_auto(VdsConfig) defaults = { NULL, };
  g_auto(VdsConfig) loaded = { NULL, };

  vds_config_init (&defaults);
  vds_config_init (&loaded);
  g_assert_true (vds_config_load (&loaded, kf, &error));
  g_assert_no_error (error);
  assert_same (&loaded, &defaults);

  g_assert_cmpstr (defaults.listen, ==, "0.0.0.0:8443");
  g_assert_cmpuint (defaults.workers, ==, 8);
  g_assert_cmpuint (defaults.lockout_seconds, ==, 900);
  g_assert_cmpuint (defaults.access_ttl_s, ==, 900);
  g_assert_cmpuint (defaults.max_connections, ==, 50000);
  g_assert_cmpuint (defaults.stream_threads, ==, 1024);
  g_assert_null (defaults.metrics_listen);
  g_assert_null (defaults.allowed_origins);
}

/* Every key the sample sets is read by the loader: a nonsense value for it is refused
 * with a sentence naming it (the two text keys excepted: any text is one; database is
 * the command's). */
static void
test_sample_keys_are_read (void)
{
  g_autoptr(GKeyFile) sample = sample_key_file ();
  g_auto(GStrv) groups = g_key_file_get_groups (sample, NULL);
  guint checked = 0;

  for (guint g = 0; groups[g] != NULL; g++)
    {
      g_auto(GStrv) keys = g_key_file_get_keys (sample, groups[g], NULL, NULL);

      for (guint k = 0; keys[k] != NULL; k++)
        {
          g_autoptr(GKeyFile) kf = sample_key_file ();
          g_autoptr(GError) error = NULL;
          g_auto(VdsConfig) config = { NULL, };
          g_autofree char *key_part = NULL;

          if (g_str_equal (keys[k], "listen") || g_str_equal (keys[k], "database"))
            continue;
          g_key_file_set_string (kf, groups[g], keys[k], "nonsense");
          vds_config_init (&config);
          g_assert_false (vds_config_load (&config, kf, &error));
          g_assert_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
          key_part = g_strdup_printf ("%s in [%s]", keys[k], groups[g]);
          g_assert_nonnull (strstr (error->message, key_part));
          checked++;
        }
    }
  g_assert_cmpuint (checked, >=, 24);
}

typedef struct
{
  const char *text;
  const char *message;
} BadValue;

static void
test_bad_values (void)
{
  static const BadValue cases[] = {
    { "[server]\nworkers=0\n",
      "The setting workers in [server] must be a whole number from 1 to 256." },
    { "[server]\nworkers=2.5\n",
      "The setting workers in [server] must be a whole number from 1 to 256." },
    { "[server]\nmax-body-memory=3\n",
      "The setting max-body-memory in [server] must be a whole number from 4 to 1048576." },
    { "[server]\nmax-connections=-1\n",
      "The setting max-connections in [server] must be a whole number from 1 to 2147483647." },
    { "[monitor]\nstream-threads=lots\n",
      "The setting stream-threads in [monitor] must be a whole number from 1 to 1024." },
    { "[limits]\naddress-rate=-1\n",
      "The setting address-rate in [limits] must be a number of at least 0." },
    { "[limits]\nclinic-burst=inf\n",
      "The setting clinic-burst in [limits] must be a number of at least 0." },
    { "[limits]\naccess-ttl=901\n",
      "The setting access-ttl in [limits] must be a whole number from 1 to 900." },
    { "[monitor]\noffline-after=59\n",
      "The setting offline-after in [monitor] must be a whole number from 60 to 604800." },
    { "[server]\nplain-http=maybe\n",
      "The setting plain-http in [server] must be true or false." },
    /* GKeyFile's own complaint ("…escape sequence…") names no key: the sentence does. */
    { "[server]\ntls-cert=/etc/a\\qb.pem\n",
      "The setting tls-cert in [server] could not be read: " },
    { "[server]\nallowed-origins=https://a.example;https://b\\q.example\n",
      "The setting allowed-origins in [server] could not be read: " },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GKeyFile) kf = key_file_from (cases[i].text);
      g_autoptr(GError) error = NULL;
      g_auto(VdsConfig) config = { NULL, };

      vds_config_init (&config);
      g_assert_false (vds_config_load (&config, kf, &error));
      g_assert_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
      g_assert_true (g_str_has_prefix (error->message, cases[i].message));
    }
}

/* Keys missing from the file keep the value the config had; present ones replace it. */
static void
test_missing_keys_keep (void)
{
  g_autoptr(GKeyFile) kf = key_file_from ("[server]\n"
                                          "listen=[::1]:9443\n"
                                          "plain-http=true\n"
                                          "allowed-origins=https://a.example;https://b.example\n"
                                          "[limits]\n"
                                          "login-rate=0.5\n"
                                          "[monitor]\n"
                                          "stream-threads=16\n");
  g_autoptr(GError) error = NULL;
  g_auto(VdsConfig) defaults = { NULL, };
  g_auto(VdsConfig) config = { NULL, };
  g_auto(VdsConfig) copy = { NULL, };

  vds_config_init (&defaults);
  vds_config_init (&config);
  config.workers = 3;
  g_assert_true (vds_config_load (&config, kf, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (config.listen, ==, "[::1]:9443");
  g_assert_true (config.plain_http);
  g_assert_cmpuint (g_strv_length (config.allowed_origins), ==, 2);
  g_assert_cmpstr (config.allowed_origins[1], ==, "https://b.example");
  g_assert_cmpfloat (config.login_rate, ==, 0.5);
  g_assert_cmpuint (config.stream_threads, ==, 16);
  g_assert_cmpuint (config.workers, ==, 3);
  g_assert_cmpfloat (config.login_burst, ==, defaults.login_burst);
  g_assert_cmpuint (config.idle_timeout_s, ==, defaults.idle_timeout_s);

  vds_config_copy (&copy, &config);
  assert_same (&copy, &config);
  g_assert_true (copy.listen != config.listen);
  g_assert_true (copy.allowed_origins != config.allowed_origins);
}

static void
test_rate_scale (void)
{
  g_auto(VdsConfig) config = { NULL, };

  vds_config_init (&config);
  g_setenv ("VDS_RATE_SCALE", "2", TRUE);
  vds_config_apply_env (&config);
  g_assert_cmpfloat (config.address_rate, ==, 100);
  g_assert_cmpfloat (config.login_burst, ==, 40);
  g_setenv ("VDS_RATE_SCALE", "-1", TRUE);
  vds_config_apply_env (&config);
  g_assert_cmpfloat (config.clinic_rate, ==, 400);
  g_setenv ("VDS_RATE_SCALE", "0", TRUE);
  vds_config_apply_env (&config);
  g_assert_cmpfloat (config.clinic_burst, ==, 0);
  g_unsetenv ("VDS_RATE_SCALE");
}

static void
test_listen_address (void)
{
  static const char *bad[] = { "8443", "0.0.0.0", "::1:8443", "[::1]8443", "host:8443",
                               "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:+1", "" };
  g_autoptr(GInetAddress) address = NULL;
  g_autofree char *text = NULL;
  guint16 port = 0;

  g_assert_true (vds_config_parse_listen ("[::1]:8443", &address, &port, NULL));
  text = g_inet_address_to_string (address);
  g_assert_cmpstr (text, ==, "::1");
  g_assert_cmpuint (port, ==, 8443);
  g_clear_object (&address);
  g_assert_true (vds_config_parse_listen ("localhost:0", &address, &port, NULL));
  g_assert_true (g_inet_address_get_is_loopback (address));
  g_assert_cmpuint (port, ==, 0);
  g_clear_object (&address);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *quoted = g_strdup_printf ("“%s”", bad[i]);

      g_assert_false (vds_config_parse_listen (bad[i], &address, &port, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, quoted));
      g_assert_null (address);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/sample-is-defaults", test_sample_is_defaults);
  g_test_add_func ("/config/sample-keys-are-read", test_sample_keys_are_read);
  g_test_add_func ("/config/bad-values", test_bad_values);
  g_test_add_func ("/config/missing-keys-keep", test_missing_keys_keep);
  g_test_add_func ("/config/rate-scale", test_rate_scale);
  g_test_add_func ("/config/listen-address", test_listen_address);
  return g_test_run ();
}
