/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-config.c — syncd's settings: their defaults, the key file read key by key with a
 * sentence naming the key and its group for a bad value, VDS_RATE_SCALE, and the listen
 * address split into address and port. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "vds-config.h"
#include "vds-streams.h"
#include "vd-protocol.h"

void
vds_config_init (VdsConfig *config)
{
  memset (config, 0, sizeof *config);
  config->listen = g_strdup ("0.0.0.0:8443");
  config->workers = 8;
  config->header_timeout_s = 10;
  config->idle_timeout_s = 30;
  config->drain_timeout_s = 10;
  config->address_rate = 50;
  config->address_burst = 100;
  config->clinic_rate = 200;
  config->clinic_burst = 400;
  config->login_rate = 5;
  config->login_burst = 20;
  config->lockout_failures = 10;
  config->lockout_seconds = 15 * 60;
  config->access_ttl_s = VD_PROTOCOL_ACCESS_TTL_S;
  config->offline_after_s = 30 * 60;
  config->activity_flush_s = 5;
  config->listing_max_age_ms = 2000;
  config->stream_keepalive_s = VDS_STREAM_KEEPALIVE_S;
  config->stream_threads = VDS_STREAM_THREADS_MAX;
  config->max_connections = 50000;
  config->max_connections_per_address = 256;
  config->max_body_mib = 256;
  config->max_body_mib_per_address = 16;
  config->max_streams_per_device = 4;
  config->max_streams_per_session = 2;
  config->stream_pings_per_minute = 6;
}

void
vds_config_clear (VdsConfig *config)
{
  g_clear_pointer (&config->listen, g_free);
  g_clear_pointer (&config->tls_cert, g_free);
  g_clear_pointer (&config->tls_key, g_free);
  g_clear_pointer (&config->data_dir, g_free);
  g_clear_pointer (&config->metrics_listen, g_free);
  g_clear_pointer (&config->allowed_origins, g_strfreev);
}

void
vds_config_copy (VdsConfig       *dest,
                 const VdsConfig *src)
{
  *dest = *src;
  dest->listen = g_strdup (src->listen);
  dest->tls_cert = g_strdup (src->tls_cert);
  dest->tls_key = g_strdup (src->tls_key);
  dest->data_dir = g_strdup (src->data_dir);
  dest->metrics_listen = g_strdup (src->metrics_listen);
  dest->allowed_origins = g_strdupv (src->allowed_origins);
}

/* GKeyFile hands back a value with a bad escape ("\\q") and an error beside it: such a
 * value is refused, not taken as written. */
static gboolean
load_string (GKeyFile    *kf,
             const char  *group,
             const char  *key,
             char       **value,
             GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = g_key_file_get_string (kf, group, key, &local_error);

  if (local_error != NULL)
    {
      if (g_error_matches (local_error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND)
          || g_error_matches (local_error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
        return TRUE;
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   _("The setting %s in [%s] could not be read: %s."),
                   key, group, local_error->message);
      return FALSE;
    }
  g_free (*value);
  *value = g_steal_pointer (&text);
  return TRUE;
}

static gboolean
load_double (GKeyFile   *kf,
             const char *group,
             const char *key,
             double      min,
             double     *value,
             GError    **error)
{
  g_autoptr(GError) local_error = NULL;
  double d;

  if (!g_key_file_has_key (kf, group, key, NULL))
    return TRUE;
  d = g_key_file_get_double (kf, group, key, &local_error);
  if (local_error != NULL || !isfinite (d) || d < min)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   _("The setting %s in [%s] must be a number of at least %g."),
                   key, group, min);
      return FALSE;
    }
  *value = d;
  return TRUE;
}

static gboolean
load_uint (GKeyFile   *kf,
           const char *group,
           const char *key,
           guint       min,
           guint       max,
           guint      *value,
           GError    **error)
{
  g_autoptr(GError) local_error = NULL;
  double d;

  if (!g_key_file_has_key (kf, group, key, NULL))
    return TRUE;
  d = g_key_file_get_double (kf, group, key, &local_error);
  if (local_error != NULL || !isfinite (d) || d < min || d > max || d != floor (d))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   _("The setting %s in [%s] must be a whole number from %u to %u."),
                   key, group, min, max);
      return FALSE;
    }
  *value = (guint) d;
  return TRUE;
}

static gboolean
load_bool (GKeyFile   *kf,
           const char *group,
           const char *key,
           gboolean   *value,
           GError    **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean b;

  if (!g_key_file_has_key (kf, group, key, NULL))
    return TRUE;
  b = g_key_file_get_boolean (kf, group, key, &local_error);
  if (local_error != NULL)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   _("The setting %s in [%s] must be true or false."), key, group);
      return FALSE;
    }
  *value = b;
  return TRUE;
}

gboolean
vds_config_load (VdsConfig *config,
                        GKeyFile        *kf,
                        GError         **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!load_string (kf, "server", "listen", &config->listen, error)
      || !load_string (kf, "server", "tls-cert", &config->tls_cert, error)
      || !load_string (kf, "server", "tls-key", &config->tls_key, error)
      || !load_string (kf, "server", "data-dir", &config->data_dir, error)
      || !load_uint (kf, "server", "workers", 1, 256, &config->workers, error)
      || !load_uint (kf, "limits", "header-timeout", 1, 3600, &config->header_timeout_s, error)
      || !load_uint (kf, "limits", "idle-timeout", 1, 3600, &config->idle_timeout_s, error)
      || !load_uint (kf, "limits", "drain-timeout", 0, 3600, &config->drain_timeout_s, error)
      || !load_double (kf, "limits", "address-rate", 0, &config->address_rate, error)
      || !load_double (kf, "limits", "address-burst", 0, &config->address_burst, error)
      || !load_double (kf, "limits", "clinic-rate", 0, &config->clinic_rate, error)
      || !load_double (kf, "limits", "clinic-burst", 0, &config->clinic_burst, error)
      || !load_double (kf, "limits", "login-rate", 0, &config->login_rate, error)
      || !load_double (kf, "limits", "login-burst", 0, &config->login_burst, error)
      || !load_uint (kf, "limits", "lockout-failures", 1, 1000, &config->lockout_failures, error)
      || !load_uint (kf, "limits", "lockout-seconds", 1, 30 * 24 * 3600,
                     &config->lockout_seconds, error)
      || !load_uint (kf, "limits", "access-ttl", 1, VD_PROTOCOL_ACCESS_TTL_S,
                     &config->access_ttl_s, error)
      || !load_string (kf, "server", "metrics-listen", &config->metrics_listen, error)
      || !load_uint (kf, "monitor", "offline-after", 60, 7 * 24 * 3600,
                     &config->offline_after_s, error)
      || !load_uint (kf, "monitor", "activity-flush", 1, 300, &config->activity_flush_s, error)
      || !load_uint (kf, "monitor", "listing-max-age-ms", 0, 60000, &config->listing_max_age_ms,
                     error)
      || !load_uint (kf, "monitor", "stream-keepalive", 1, 3600,
                     &config->stream_keepalive_s, error)
      || !load_uint (kf, "monitor", "stream-threads", 1, VDS_STREAM_THREADS_MAX,
                     &config->stream_threads, error)
      || !load_uint (kf, "server", "max-connections", 1, G_MAXINT, &config->max_connections,
                     error)
      || !load_uint (kf, "server", "max-connections-per-address", 1, G_MAXINT,
                     &config->max_connections_per_address, error)
      || !load_uint (kf, "server", "max-body-memory", 4, 1024 * 1024, &config->max_body_mib,
                     error)
      || !load_uint (kf, "server", "max-body-memory-per-address", 4, 1024 * 1024,
                     &config->max_body_mib_per_address, error)
      || !load_uint (kf, "server", "max-streams-per-device", 1, 1000,
                     &config->max_streams_per_device, error)
      || !load_uint (kf, "server", "max-streams-per-session", 1, 1000,
                     &config->max_streams_per_session, error)
      || !load_uint (kf, "server", "stream-pings-per-minute", 1, 6000,
                     &config->stream_pings_per_minute, error)
      || !load_bool (kf, "server", "plain-http", &config->plain_http, error)
      || !load_bool (kf, "server", "metrics-public", &config->metrics_public, error))
    return FALSE;

  if (g_key_file_has_key (kf, "server", "allowed-origins", NULL))
    {
      char **origins = g_key_file_get_string_list (kf, "server", "allowed-origins", NULL,
                                                   &local_error);
      if (local_error != NULL)
        {
          g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                       _("The setting %s in [%s] could not be read: %s."),
                       "allowed-origins", "server", local_error->message);
          g_strfreev (origins);
          return FALSE;
        }
      g_strfreev (config->allowed_origins);
      config->allowed_origins = origins;
    }
  return TRUE;
}

void
vds_config_apply_env (VdsConfig *config)
{
  const char *scale_text = g_getenv ("VDS_RATE_SCALE");
  double scale;

  if (scale_text == NULL || scale_text[0] == '\0')
    return;
  scale = g_ascii_strtod (scale_text, NULL);
  if (!isfinite (scale) || scale < 0)
    return;
  config->address_rate *= scale;
  config->address_burst *= scale;
  config->clinic_rate *= scale;
  config->clinic_burst *= scale;
  config->login_rate *= scale;
  config->login_burst *= scale;
}

gboolean
vds_config_parse_listen (const char     *text,
                          GInetAddress  **out_address,
                          guint16        *out_port,
                          GError        **error)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) address = NULL;
  const char *port_text;
  guint64 port;

  if (text == NULL)
    goto bad;

  if (text[0] == '[')
    {
      const char *end = strchr (text, ']');
      if (end == NULL || end[1] != ':')
        goto bad;
      host = g_strndup (text + 1, end - text - 1);
      port_text = end + 2;
    }
  else
    {
      const char *colon = strrchr (text, ':');
      if (colon == NULL || strchr (text, ':') != colon)
        goto bad;
      host = g_strndup (text, colon - text);
      port_text = colon + 1;
    }

  if (g_str_equal (host, "localhost"))
    address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  else
    address = g_inet_address_new_from_string (host);
  if (address == NULL || port_text[0] == '\0'
      || strspn (port_text, "0123456789") != strlen (port_text)
      || !g_ascii_string_to_unsigned (port_text, 10, 0, 65535, &port, NULL))
    goto bad;

  *out_address = g_steal_pointer (&address);
  *out_port = (guint16) port;
  return TRUE;

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               _("“%s” is not an address to listen on; write ADDRESS:PORT, such as "
                 "0.0.0.0:8443 or [::1]:8443."), text ? text : "");
  return FALSE;
}
