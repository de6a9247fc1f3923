/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-server.c — syncd's SoupServer: TLS, listening, per-connection header and idle
 * timeouts, the body limit enforced before the body is read, a worker pool for every
 * store call (the main loop never blocks) and the graceful drain on SIGTERM. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsoup/soup.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "vds-server.h"
#include "vds-api.h"
#include "vds-notify.h"
#include "vds-streams.h"
#include "vds-tls.h"
#include "vd-error.h"
#include "vd-protocol.h"

struct _VdsServer
{
  GObject          parent_instance;

  VdsStore        *store;
  VdsServerConfig  config;
  VdsApi          *api;
  SoupServer      *soup;
  GThreadPool     *pool;
  GMainContext    *context;
  char            *fingerprint;
  char            *url;

  /* Live updates and monitoring. */
  VdsStreams      *streams;
  VdsNotify       *notify;
  SoupServer      *metrics_soup;
  char            *metrics_url;

  guint            active;         /* requests between headers and finish */
  gboolean         draining;
  GTask           *drain_task;
  GSource         *drain_timeout;
};

G_DEFINE_FINAL_TYPE (VdsServer, vds_server, G_TYPE_OBJECT)

/* Per message: its header timer, the bytes of a chunked body so far, and whether it is
 * counted as in flight. Lives as the message's data. */
typedef struct
{
  VdsServer         *server;      /* not owned: the server outlives its messages */
  SoupServerMessage *msg;         /* not owned */
  GSource           *header_timer;
  guint64            body_bytes;
  gboolean           counted;
  gboolean           disconnected;
} MessageState;

/* A request handed to a worker; owns a reference on its message. */
typedef struct
{
  VdsServer         *server;
  SoupServerMessage *msg;
  VdsRequest        *req;
} Job;

/* ---- configuration ---- */

void
vds_server_config_init (VdsServerConfig *config)
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
}

void
vds_server_config_clear (VdsServerConfig *config)
{
  g_clear_pointer (&config->listen, g_free);
  g_clear_pointer (&config->tls_cert, g_free);
  g_clear_pointer (&config->tls_key, g_free);
  g_clear_pointer (&config->data_dir, g_free);
  g_clear_pointer (&config->metrics_listen, g_free);
  g_clear_pointer (&config->allowed_origins, g_strfreev);
}

static gboolean
load_string (GKeyFile    *kf,
             const char  *group,
             const char  *key,
             char       **value,
             GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  char *text = g_key_file_get_string (kf, group, key, &local_error);

  if (text == NULL)
    {
      if (g_error_matches (local_error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND)
          || g_error_matches (local_error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_free (*value);
  *value = text;
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
  double d = *value;

  if (!load_double (kf, group, key, min, &d, error))
    return FALSE;
  if (d > max || d != floor (d))
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
vds_server_config_load (VdsServerConfig *config,
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
      || !load_bool (kf, "server", "plain-http", &config->plain_http, error)
      || !load_bool (kf, "server", "metrics-public", &config->metrics_public, error))
    return FALSE;

  if (g_key_file_has_key (kf, "server", "allowed-origins", NULL))
    {
      char **origins = g_key_file_get_string_list (kf, "server", "allowed-origins", NULL,
                                                   &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_strfreev (config->allowed_origins);
      config->allowed_origins = origins;
    }
  return TRUE;
}

void
vds_server_config_apply_env (VdsServerConfig *config)
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
vds_parse_listen_address (const char     *text,
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

/* ---- the idle timeout, one per connection ----
 *
 * A byte must move every idle_timeout seconds while a connection waits on its client: a
 * kept-alive connection between requests, a request body, an answer the client is slow to
 * read. It does not run while a worker prepares the answer. GSocket's own timeout
 * (g_socket_set_timeout) is not used: it never closed an idle kept-alive TLS connection,
 * and under load a few kept-alive connections had their next request left unread for good
 * (docs/benchmarks.md, "Fourth round"). The deadline moves with a plain store; the timer
 * source only looks at it when it fires, so a busy connection costs no timer updates. */

typedef struct
{
  GSocket *socket;    /* not owned: the watchdog lives as the socket's data */
  GSource *timer;
  gint64   idle_us;
  gint64   deadline;
  gboolean busy;      /* a worker has the request */
} Watchdog;

#define WATCHDOG_KEY "vds-watchdog"

static gboolean
watchdog_dispatch (GSource     *source,
                   GSourceFunc  callback,
                   gpointer     data)
{
  return callback (data);
}

static GSourceFuncs watchdog_funcs = { NULL, NULL, watchdog_dispatch, NULL, NULL, NULL };

static gboolean
watchdog_fire_cb (gpointer data)
{
  Watchdog *wd = data;
  gint64 now = g_get_monotonic_time ();

  if (wd->busy || wd->deadline > now)
    {
      g_source_set_ready_time (wd->timer, wd->busy ? now + wd->idle_us : wd->deadline);
      return G_SOURCE_CONTINUE;
    }
  g_info ("Closing a connection: nothing moved on it for %" G_GINT64_FORMAT " s",
          wd->idle_us / G_USEC_PER_SEC);
  g_source_set_ready_time (wd->timer, -1);
  /* As for the header timeout: libsoup's own read or write fails and cleans up. */
  g_socket_shutdown (wd->socket, TRUE, TRUE, NULL);
  return G_SOURCE_CONTINUE;
}

static void
watchdog_free (gpointer data)
{
  Watchdog *wd = data;

  g_source_destroy (wd->timer);
  g_source_unref (wd->timer);
  g_free (wd);
}

/* Gives the connection its watchdog, on its first request. */
static void
watchdog_attach (VdsServer *self,
                 GSocket   *socket)
{
  Watchdog *wd;

  if (g_object_get_data (G_OBJECT (socket), WATCHDOG_KEY) != NULL)
    return;
  wd = g_new0 (Watchdog, 1);
  wd->socket = socket;
  wd->idle_us = (gint64) self->config.idle_timeout_s * G_USEC_PER_SEC;
  wd->deadline = g_get_monotonic_time () + wd->idle_us;
  wd->timer = g_source_new (&watchdog_funcs, sizeof (GSource));
  g_source_set_name (wd->timer, "vds idle timeout");
  g_source_set_callback (wd->timer, watchdog_fire_cb, wd, NULL);
  g_source_set_ready_time (wd->timer, wd->deadline);
  g_source_attach (wd->timer, self->context);
  g_object_set_data_full (G_OBJECT (socket), WATCHDOG_KEY, wd, watchdog_free);
}

/* Something moved on the message's connection: its idle time starts again. */
static void
watchdog_touch (SoupServerMessage *msg,
                gboolean           busy)
{
  GSocket *socket = soup_server_message_get_socket (msg);
  Watchdog *wd = socket != NULL ? g_object_get_data (G_OBJECT (socket), WATCHDOG_KEY) : NULL;

  if (wd == NULL)
    return;
  wd->deadline = g_get_monotonic_time () + wd->idle_us;
  wd->busy = busy;
}

/* The connection leaves the HTTP server (a stream, a refused body): its own code times it. */
static void
watchdog_remove (GSocket *socket)
{
  if (socket != NULL)
    g_object_set_data (G_OBJECT (socket), WATCHDOG_KEY, NULL);
}

/* ---- messages ---- */

static void
message_state_free (MessageState *state)
{
  if (state->header_timer != NULL)
    {
      g_source_destroy (state->header_timer);
      g_source_unref (state->header_timer);
    }
  g_free (state);
}

static MessageState *
get_state (SoupServerMessage *msg)
{
  return g_object_get_data (G_OBJECT (msg), "vds-state");
}

static void
stop_header_timer (MessageState *state)
{
  if (state->header_timer != NULL)
    {
      g_source_destroy (state->header_timer);
      g_clear_pointer (&state->header_timer, g_source_unref);
    }
}

static void
check_drained (VdsServer *self)
{
  GTask *task;

  if (!self->draining || self->active > 0 || self->drain_task == NULL)
    return;

  task = g_steal_pointer (&self->drain_task);
  if (self->drain_timeout != NULL)
    {
      g_source_destroy (self->drain_timeout);
      g_clear_pointer (&self->drain_timeout, g_source_unref);
    }
  soup_server_disconnect (self->soup);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
uncount (MessageState *state)
{
  if (!state->counted)
    return;
  state->counted = FALSE;
  g_assert (state->server->active > 0);
  state->server->active--;
  check_drained (state->server);
}

static gboolean
header_timeout_cb (gpointer data)
{
  MessageState *state = data;
  GSocket *socket = soup_server_message_get_socket (state->msg);

  g_clear_pointer (&state->header_timer, g_source_unref);
  g_info ("Closing a connection from %s: no complete request headers in time",
          soup_server_message_get_remote_host (state->msg));
  /* Shutting the socket down makes libsoup's own read fail and clean up; closing the
   * descriptor under it would not be safe. */
  if (socket != NULL)
    g_socket_shutdown (socket, TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

/* ---- the early 413: answered raw on the stolen connection, then a bounded lingering
 * read so that a client still sending its body sees the answer rather than a reset. ---- */

typedef struct
{
  GIOStream    *stream;
  char         *response;
  gsize         response_len;
  guchar        buf[16384];
  guint64       discarded;
  GCancellable *cancellable;  /* cancelled at the deadline: a silent client is let go */
  GSource      *deadline;
} Rejection;

#define LINGER_MAX_BYTES (8 * 1024 * 1024)
#define LINGER_MAX_MS    3000

static void
rejection_free (Rejection *r)
{
  g_source_destroy (r->deadline);
  g_source_unref (r->deadline);
  g_clear_object (&r->cancellable);
  g_clear_object (&r->stream);
  g_free (r->response);
  g_free (r);
}

static gboolean
rejection_deadline_cb (gpointer data)
{
  Rejection *r = data;

  g_cancellable_cancel (r->cancellable);
  return G_SOURCE_REMOVE;
}

static void
rejection_closed_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  rejection_free (data);
}

static void
rejection_close (Rejection *r)
{
  g_io_stream_close_async (r->stream, G_PRIORITY_DEFAULT, NULL, rejection_closed_cb, r);
}

static void
rejection_read_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  Rejection *r = data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  if (n > 0)
    r->discarded += n;
  if (n <= 0 || r->discarded > LINGER_MAX_BYTES)
    {
      rejection_close (r);
      return;
    }
  g_input_stream_read_async (G_INPUT_STREAM (source), r->buf, sizeof r->buf,
                             G_PRIORITY_LOW, r->cancellable, rejection_read_cb, r);
}

static void
rejection_written_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      data)
{
  Rejection *r = data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL))
    {
      rejection_close (r);
      return;
    }
  g_input_stream_read_async (g_io_stream_get_input_stream (r->stream), r->buf,
                             sizeof r->buf, G_PRIORITY_LOW, r->cancellable,
                             rejection_read_cb, r);
}

static void
reject_too_large (MessageState *state)
{
  g_autofree char *body = NULL;
  g_autofree char *message = NULL;
  gsize body_len;
  Rejection *r;
  GIOStream *stream;

  message = g_strdup_printf (_("The request body is larger than the limit of %d MiB."),
                             VD_PROTOCOL_MAX_BODY / (1024 * 1024));
  body = vds_api_error_json (VD_ERROR_PAYLOAD_TOO_LARGE, message, &body_len);

  g_info ("Refusing a body over %d bytes from %s", VD_PROTOCOL_MAX_BODY,
          soup_server_message_get_remote_host (state->msg));

  stop_header_timer (state);
  watchdog_remove (soup_server_message_get_socket (state->msg));
  stream = soup_server_message_steal_connection (state->msg);
  /* A stolen message never finishes: it is no longer in flight. */
  uncount (state);
  if (stream == NULL)
    return;

  r = g_new0 (Rejection, 1);
  r->stream = stream;
  r->cancellable = g_cancellable_new ();
  r->deadline = g_timeout_source_new (LINGER_MAX_MS);
  g_source_set_callback (r->deadline, rejection_deadline_cb, r, NULL);
  g_source_attach (r->deadline, g_main_context_get_thread_default ());
  r->response = g_strdup_printf ("HTTP/1.1 413 Payload Too Large\r\n"
                                 "Content-Type: application/json; charset=utf-8\r\n"
                                 "Cache-Control: no-store\r\n"
                                 "Connection: close\r\n"
                                 "Content-Length: %" G_GSIZE_FORMAT "\r\n"
                                 "\r\n%s", body_len, body);
  r->response_len = strlen (r->response);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream), r->response,
                                   r->response_len, G_PRIORITY_DEFAULT, r->cancellable,
                                   rejection_written_cb, r);
}

static void
got_chunk_cb (SoupServerMessage *msg,
              GBytes            *chunk,
              gpointer           data)
{
  MessageState *state = get_state (msg);

  if (state == NULL)
    return;
  watchdog_touch (msg, FALSE);
  state->body_bytes += g_bytes_get_size (chunk);
  if (state->body_bytes > VD_PROTOCOL_MAX_BODY)
    reject_too_large (state);
}

static void
got_headers_cb (SoupServerMessage *msg,
                gpointer           data)
{
  MessageState *state = get_state (msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  VdsServer *self;

  if (state == NULL)
    return;
  self = state->server;
  stop_header_timer (state);

  if (!state->counted)
    {
      state->counted = TRUE;
      self->active++;
    }

  if (self->draining)
    {
      g_autofree char *body = NULL;
      gsize len;

      body = vds_api_error_json (VD_ERROR_UNAVAILABLE,
                                 _("The sync server is shutting down. Try again in a few "
                                   "moments."), &len);
      soup_server_message_set_status (msg, 503, NULL);
      soup_server_message_set_response (msg, "application/json; charset=utf-8",
                                        SOUP_MEMORY_TAKE, g_steal_pointer (&body), len);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Connection", "close");
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Retry-After", "5");
      return;
    }

  /* The body limit before a byte of the body is read. */
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
      && soup_message_headers_get_content_length (headers) > VD_PROTOCOL_MAX_BODY)
    {
      reject_too_large (state);
      return;
    }
}

static void
disconnected_cb (SoupServerMessage *msg,
                 gpointer           data)
{
  MessageState *state = get_state (msg);

  if (state != NULL)
    state->disconnected = TRUE;
}

static void
finished_cb (SoupServerMessage *msg,
             gpointer           data)
{
  MessageState *state = get_state (msg);

  if (state != NULL)
    {
      stop_header_timer (state);
      uncount (state);
    }
  watchdog_touch (msg, FALSE);
}

static void
wrote_body_data_cb (SoupServerMessage *msg,
                    guint              chunk_size,
                    gpointer           data)
{
  watchdog_touch (msg, FALSE);
}

static void
request_started_cb (SoupServer        *soup,
                    SoupServerMessage *msg,
                    VdsServer         *self)
{
  MessageState *state = g_new0 (MessageState, 1);
  GSocket *socket = soup_server_message_get_socket (msg);
  gboolean first = TRUE;

  state->server = self;
  state->msg = msg;
  g_object_set_data_full (G_OBJECT (msg), "vds-state", state,
                          (GDestroyNotify) message_state_free);
  /* libsoup caches the peer's address on first use; ask now, while the socket is alive,
   * so logging or rate limiting a request whose client has vanished never touches a
   * closed socket. */
  if (socket != NULL)
    soup_server_message_get_remote_host (msg);

  if (socket != NULL)
    {
      first = g_object_get_data (G_OBJECT (socket), WATCHDOG_KEY) == NULL;
      /* As listen_on set on the listener, for systems where accepted sockets do not
       * inherit it. */
      if (first)
        g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
      watchdog_attach (self, socket);
      watchdog_touch (msg, FALSE);
    }

  /* The first request of a connection gets header_timeout from the accept (TLS handshake
   * included). libsoup starts a later one on a kept-alive connection at its first byte:
   * its headers get the idle timeout, which the watchdog keeps, and no timer of their own. */
  if (first)
    {
      state->header_timer = g_timeout_source_new_seconds (self->config.header_timeout_s);
      g_source_set_callback (state->header_timer, header_timeout_cb, state, NULL);
      g_source_attach (state->header_timer, self->context);
    }

  g_signal_connect (msg, "got-headers", G_CALLBACK (got_headers_cb), NULL);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (got_chunk_cb), NULL);
  g_signal_connect (msg, "finished", G_CALLBACK (finished_cb), NULL);
  g_signal_connect (msg, "wrote-body-data", G_CALLBACK (wrote_body_data_cb), NULL);
  g_signal_connect (msg, "disconnected", G_CALLBACK (disconnected_cb), NULL);
}

/* ---- answering ---- */

static void
apply_answer (VdsServer         *self,
              SoupServerMessage *msg,
              VdsRequest        *req)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  vds_metrics_observe_request (vds_api_get_metrics (self->api), req->route, req->status,
                               (g_get_monotonic_time () - req->started_us) / (double) G_USEC_PER_SEC);

  soup_server_message_set_status (msg, req->status, NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  if (req->headers != NULL)
    for (guint i = 0; i + 1 < req->headers->len; i += 2)
      soup_message_headers_replace (headers, g_ptr_array_index (req->headers, i),
                                    g_ptr_array_index (req->headers, i + 1));
  if (self->draining)
    soup_message_headers_replace (headers, "Connection", "close");

  /* The body takes a reference, not a copy: a pull answer is ~200 kB, and this runs on
   * the main thread that every connection shares. */
  if (req->answer != NULL && !g_str_equal (req->method, "HEAD"))
    {
      soup_message_headers_replace (headers, "Content-Type", req->answer_type != NULL
                                    ? req->answer_type : "application/json; charset=utf-8");
      soup_message_body_append_bytes (soup_server_message_get_response_body (msg),
                                      req->answer);
    }
  else if (req->answer != NULL)
    soup_message_headers_replace (headers, "Content-Type", req->answer_type != NULL
                                  ? req->answer_type : "application/json; charset=utf-8");
}

/* ---- live updates ---- */

/* What the upgrade needs once the 101 is written. */
typedef struct
{
  VdsServer *server;
  char      *tenant_id;
  char      *device_id;
  char      *session_id;
  gint64     expires_at;
  gint64     cursor;
} Upgrade;

static void
upgrade_free (gpointer data,
              GClosure *closure)
{
  Upgrade *up = data;

  g_object_unref (up->server);
  g_free (up->tenant_id);
  g_free (up->device_id);
  g_free (up->session_id);
  g_free (up);
}

/* Probes after idle_s of silence, then every idle_s / 3: a vanished peer is dropped
 * about 2 × idle_s after its last word. */
static void
set_tcp_keepalive (GSocket *socket,
                   guint    idle_s)
{
  g_socket_set_keepalive (socket, TRUE);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPIDLE, (gint) idle_s, NULL);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPINTVL, (gint) MAX (idle_s / 3, 1), NULL);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPCNT, 3, NULL);
}

/* As libsoup's own websocket handler does, but after our checks: the connection leaves
 * the HTTP server and becomes a stream. */
static void
upgrade_written_cb (SoupServerMessage *msg,
                    gpointer           data)
{
  Upgrade *up = data;
  VdsServer *self = up->server;
  MessageState *state = get_state (msg);
  g_autoptr(GIOStream) stream = NULL;
  GSocket *socket;
  const char *origin;

  g_object_ref (msg);
  socket = soup_server_message_get_socket (msg);
  /* Streams idle for long. The desks ping every 30 s and the server answers; a desk that
   * vanished is found by the kernel's keep-alive probes, which cost this process nothing
   * (WebSocket pings of its own would wake a stream loop for every ping and pong). */
  watchdog_remove (socket);
  set_tcp_keepalive (socket, self->config.stream_keepalive_s);
  origin = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Origin");
  stream = soup_server_message_steal_connection (msg);
  if (state != NULL)
    {
      stop_header_timer (state);
      uncount (state);
    }
  if (stream != NULL && !self->draining)
    vds_streams_add (self->streams, stream, soup_server_message_get_uri (msg), origin,
                     up->tenant_id, up->device_id, up->session_id, up->expires_at,
                     up->cursor);
  else if (stream != NULL)
    g_io_stream_close (stream, NULL, NULL);
  g_object_unref (msg);
}

static void
start_upgrade (VdsServer         *self,
               SoupServerMessage *msg,
               VdsRequest        *req)
{
  Upgrade *up;

  vds_metrics_observe_request (vds_api_get_metrics (self->api), req->route, 101,
                               (g_get_monotonic_time () - req->started_us) / (double) G_USEC_PER_SEC);
  /* Checked before the worker ran, so only a vanished peer fails here. */
  if (!soup_websocket_server_process_handshake (msg, NULL, NULL, NULL, NULL))
    return;

  up = g_new0 (Upgrade, 1);
  up->server = g_object_ref (self);
  up->tenant_id = g_strdup (req->stream_tenant);
  up->device_id = g_strdup (req->stream_device);
  up->session_id = g_strdup (req->stream_session);
  up->expires_at = req->stream_expires;
  up->cursor = req->stream_cursor;
  g_signal_connect_data (msg, "wrote-informational", G_CALLBACK (upgrade_written_cb), up,
                         upgrade_free, 0);
}

/* After a worker finished: what it changed that open streams must hear. */
static void
apply_effects (VdsServer  *self,
               VdsRequest *req)
{
  if (req->notify_tenant != NULL)
    vds_streams_notify (self->streams, req->notify_tenant, req->notify_seq);
  if (req->revoked_tenant != NULL)
    vds_streams_revoke_device (self->streams, req->revoked_tenant, req->revoked_device);
  if (req->revoked_sessions != NULL)
    vds_streams_revoke_sessions (self->streams, (const char * const *) req->revoked_sessions);
}

static void
notify_cb (const char *channel,
           const char *payload,
           gpointer    data)
{
  VdsServer *self = data;
  g_autofree char *tenant_id = NULL;
  g_autofree char *device_id = NULL;
  gint64 seq;

  if (g_str_equal (channel, VDS_NOTIFY_SEQ_CHANNEL))
    {
      if (vd_notify_seq_decode (payload, &tenant_id, &seq))
        vds_streams_notify (self->streams, tenant_id, seq);
    }
  else if (g_str_equal (channel, VDS_NOTIFY_REVOKE_CHANNEL))
    {
      if (vd_notify_revoke_decode (payload, &tenant_id, &device_id))
        vds_streams_revoke_device (self->streams, tenant_id, device_id);
    }
}

static void
resync_thread (GTask        *task,
               gpointer      source,
               gpointer      data,
               GCancellable *cancellable)
{
  VdsServer *self = source;
  GPtrArray *tenants = data;
  g_autoptr(GError) error = NULL;
  GHashTable *seqs;

  seqs = vds_store_get_seqs (self->store, (const char * const *) tenants->pdata, tenants->len,
                             &error);
  if (seqs == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, seqs, (GDestroyNotify) g_hash_table_unref);
}

static void
resync_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  VdsServer *self = VDS_SERVER (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) seqs = g_task_propagate_pointer (G_TASK (result), &error);
  GHashTableIter iter;
  gpointer key, value;

  if (seqs == NULL)
    {
      g_warning ("Could not read the clinics' cursors after reconnecting: %s", error->message);
      return;
    }
  if (self->streams == NULL)
    return;
  g_hash_table_iter_init (&iter, seqs);
  while (g_hash_table_iter_next (&iter, &key, &value))
    vds_streams_notify (self->streams, key, *(gint64 *) value);
}

/* The listener is back after an outage: pushes committed meanwhile by other processes
 * were not heard, so every clinic with a stream gets its cursor read afresh. */
static void
notify_ready_cb (gpointer data)
{
  VdsServer *self = data;
  g_autoptr(GTask) task = NULL;
  GPtrArray *tenants = vds_streams_tenants (self->streams);

  if (tenants->len == 0)
    {
      g_ptr_array_unref (tenants);
      return;
    }
  task = g_task_new (self, NULL, resync_done_cb, NULL);
  g_task_set_task_data (task, tenants, (GDestroyNotify) g_ptr_array_unref);
  g_task_run_in_thread (task, resync_thread);
}

static gboolean
job_done_cb (gpointer data)
{
  Job *job = data;
  MessageState *state = get_state (job->msg);

  apply_effects (job->server, job->req);
  if (state == NULL || !state->disconnected)
    {
      if (job->req->status == 101 && job->req->stream_tenant != NULL)
        start_upgrade (job->server, job->msg, job->req);
      else
        apply_answer (job->server, job->msg, job->req);
      watchdog_touch (job->msg, FALSE);
      soup_server_message_unpause (job->msg);
    }
  g_object_unref (job->msg);
  vds_request_free (job->req);
  g_object_unref (job->server);
  g_free (job);
  return G_SOURCE_REMOVE;
}

static void
worker_cb (gpointer data,
           gpointer user_data)
{
  Job *job = data;

  vds_api_run (job->server->api, job->req);
  g_main_context_invoke (job->server->context, job_done_cb, job);
}

/* X-VetDesk-Pending: the number of changes the desk still holds; -1 unless plain digits. */
static gint64
parse_pending (const char *text)
{
  guint64 value;

  if (text == NULL || text[0] == '\0' || strspn (text, "0123456789") != strlen (text)
      || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT32, &value, NULL))
    return -1;
  return (gint64) value;
}

/* Whether an Accept-Encoding list allows gzip: named (or "*") without q=0. */
static gboolean
accepts_gzip (const char *header)
{
  g_auto(GStrv) codings = NULL;

  if (header == NULL)
    return FALSE;
  codings = g_strsplit (header, ",", -1);
  for (guint i = 0; codings[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (codings[i], ";", -1);
      const char *name = g_strstrip (parts[0]);

      if (g_ascii_strcasecmp (name, "gzip") != 0 && g_strcmp0 (name, "*") != 0)
        continue;
      for (guint p = 1; parts[p] != NULL; p++)
        {
          const char *param = g_strstrip (parts[p]);

          if (g_ascii_strncasecmp (param, "q=", 2) == 0 && g_ascii_strtod (param + 2, NULL) <= 0.0)
            return FALSE;
        }
      return TRUE;
    }
  return FALSE;
}

static VdsRequest *
request_from_message (SoupServerMessage *msg,
                      const char        *path,
                      GHashTable        *query)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  VdsRequest *req = g_new0 (VdsRequest, 1);
  const char *content_type;

  req->method = g_strdup (soup_server_message_get_method (msg));
  req->path = g_strdup (path);
  if (query != NULL)
    {
      GHashTableIter iter;
      gpointer key, value;

      req->query = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_iter_init (&iter, query);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (req->query, g_strdup (key), g_strdup (value));
    }
  content_type = soup_message_headers_get_content_type (headers, NULL);
  req->content_type = content_type ? g_ascii_strdown (content_type, -1) : NULL;
  req->authorization = g_strdup (soup_message_headers_get_one (headers, "Authorization"));
  req->user_agent = g_strdup (soup_message_headers_get_one (headers, "User-Agent"));
  req->remote = g_strdup (soup_server_message_get_remote_host (msg));
  if (req->remote == NULL)
    req->remote = g_strdup ("unknown");
  req->origin = g_strdup (soup_message_headers_get_one (headers, "Origin"));
  req->pending = parse_pending (soup_message_headers_get_one (headers, "X-VetDesk-Pending"));
  req->accept_gzip = accepts_gzip (soup_message_headers_get_list (headers, "Accept-Encoding"));
  req->started_us = g_get_monotonic_time ();
  if (body != NULL && body->length > 0)
    req->body = soup_message_body_flatten (body);
  return req;
}

static void
handler_cb (SoupServer        *soup,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           data)
{
  VdsServer *self = data;
  VdsRequest *req = request_from_message (msg, path, query);
  Job *job;

  if (!vds_api_precheck (self->api, req))
    {
      apply_answer (self, msg, req);
      vds_request_free (req);
      return;
    }

  /* A stream must be a real WebSocket handshake before anyone is asked about tokens. */
  if (req->stream_wanted)
    {
      g_autoptr(GError) error = NULL;

      if (!soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, &error))
        {
          vds_request_set_error (req, VD_ERROR_BAD_REQUEST,
                                 _("Live updates need a WebSocket handshake (a GET with "
                                   "Upgrade: websocket)."));
          apply_answer (self, msg, req);
          vds_request_free (req);
          return;
        }
    }

  job = g_new0 (Job, 1);
  job->server = g_object_ref (self);
  job->msg = g_object_ref (msg);
  job->req = req;
  watchdog_touch (msg, TRUE);
  soup_server_message_pause (msg);
  g_thread_pool_push (self->pool, job, NULL);
}

static void
metrics_handler_cb (SoupServer        *soup,
                    SoupServerMessage *msg,
                    const char        *path,
                    GHashTable        *query,
                    gpointer           data)
{
  VdsServer *self = data;
  VdsRequest *req = request_from_message (msg, path, NULL);
  Job *job;

  req->metrics_only = TRUE;
  if (!vds_api_precheck (self->api, req))
    {
      apply_answer (self, msg, req);
      vds_request_free (req);
      return;
    }

  job = g_new0 (Job, 1);
  job->server = g_object_ref (self);
  job->msg = g_object_ref (msg);
  job->req = req;
  soup_server_message_pause (msg);
  g_thread_pool_push (self->pool, job, NULL);
}

/* ---- the object ---- */

static void
vds_server_dispose (GObject *object)
{
  VdsServer *self = VDS_SERVER (object);

  g_clear_pointer (&self->notify, vds_notify_free);
  if (self->pool != NULL)
    {
      g_thread_pool_free (self->pool, FALSE, TRUE);
      self->pool = NULL;
    }
  /* Workers are done: nothing can reach the streams any more. */
  g_clear_pointer (&self->streams, vds_streams_free);
  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
  g_clear_object (&self->soup);
  if (self->metrics_soup != NULL)
    soup_server_disconnect (self->metrics_soup);
  g_clear_object (&self->metrics_soup);
  if (self->drain_timeout != NULL)
    {
      g_source_destroy (self->drain_timeout);
      g_clear_pointer (&self->drain_timeout, g_source_unref);
    }
  g_clear_object (&self->drain_task);

  G_OBJECT_CLASS (vds_server_parent_class)->dispose (object);
}

static void
vds_server_finalize (GObject *object)
{
  VdsServer *self = VDS_SERVER (object);

  g_clear_pointer (&self->api, vds_api_free);
  vds_server_config_clear (&self->config);
  g_free (self->fingerprint);
  g_free (self->url);
  g_free (self->metrics_url);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (vds_server_parent_class)->finalize (object);
}

static void
vds_server_class_init (VdsServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = vds_server_dispose;
  object_class->finalize = vds_server_finalize;
}

static void
vds_server_init (VdsServer *self)
{
}

VdsServer *
vds_server_new (VdsStore              *store,
                const VdsServerConfig *config,
                GError               **error)
{
  g_autoptr(VdsServer) self = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (config != NULL, NULL);

  self = g_object_new (VDS_TYPE_SERVER, NULL);
  self->store = store;
  self->config = *config;
  self->config.listen = g_strdup (config->listen);
  self->config.tls_cert = g_strdup (config->tls_cert);
  self->config.tls_key = g_strdup (config->tls_key);
  self->config.data_dir = g_strdup (config->data_dir);
  self->config.metrics_listen = g_strdup (config->metrics_listen);
  self->config.allowed_origins = g_strdupv (config->allowed_origins);
  self->context = g_main_context_ref_thread_default ();

  if (!self->config.plain_http)
    {
      g_autofree char *cert_path = g_strdup (config->tls_cert);
      g_autofree char *key_path = g_strdup (config->tls_key);

      if ((cert_path == NULL) != (key_path == NULL))
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("Give both a TLS certificate and its key, or neither."));
          return NULL;
        }
      if (cert_path == NULL)
        {
          gboolean created = FALSE;

          if (config->data_dir == NULL)
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                   _("A data directory is needed to keep the TLS "
                                     "certificate."));
              return NULL;
            }
          if (!vds_tls_ensure_self_signed (config->data_dir, &cert_path, &key_path,
                                           &created, error))
            return NULL;
          if (created)
            g_info ("Created a self-signed TLS certificate in %s", config->data_dir);
        }
      certificate = vds_tls_load (cert_path, key_path, error);
      if (certificate == NULL)
        return NULL;
      self->fingerprint = vds_tls_fingerprint (certificate);
    }

  self->soup = soup_server_new ("server-header", "vetdesk-syncd",
                                NULL);
  if (certificate != NULL)
    soup_server_set_tls_certificate (self->soup, certificate);
  g_signal_connect (self->soup, "request-started", G_CALLBACK (request_started_cb), self);
  soup_server_add_handler (self->soup, NULL, handler_cb, self, NULL);

  self->api = vds_api_new (store, &self->config);
  self->streams = vds_streams_new (vds_api_get_metrics (self->api),
                                   self->config.stream_threads);
  self->pool = g_thread_pool_new (worker_cb, NULL, MAX (1, config->workers), FALSE, error);
  if (self->pool == NULL)
    return NULL;
  self->notify = vds_notify_new (store, notify_cb, notify_ready_cb, self);

  return g_steal_pointer (&self);
}

/* Desks reconnect all at once after a restart or a network outage: GSocket's default
 * listen backlog of 10 would make most of them wait for SYN retransmissions, so the
 * socket is made here with a deep one and handed to libsoup. */
#define LISTEN_BACKLOG 4096

static gboolean
listen_on (SoupServer             *soup,
           GSocketAddress         *address,
           SoupServerListenOptions options,
           GError                **error)
{
  g_autoptr(GSocket) socket = NULL;

  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  /* Inherited by accepted sockets on Linux, so the TLS handshake's flights go out at once
   * too: answers and stream messages are small, and Nagle's algorithm would hold them
   * for the peer's delayed ACK (40 ms). */
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error))
    return FALSE;
  return soup_server_listen_socket (soup, socket, options, error);
}

/* /metrics in plain HTTP for a scraper on the same host (or, when the operator says so,
 * on a private network): it shows no clinic data, but nothing outside needs it. */
static gboolean
listen_metrics (VdsServer  *self,
                GError    **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autofree char *host = NULL;
  GSList *uris;
  guint16 port;
  int bound_port = 0;

  if (!vds_parse_listen_address (self->config.metrics_listen, &address, &port, error))
    return FALSE;
  if (!self->config.metrics_public && !g_inet_address_get_is_loopback (address))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The metrics listener serves plain HTTP, so it may only listen on a "
                     "loopback address such as 127.0.0.1, not on %s (set metrics-public=true "
                     "in [server] to allow it)."), self->config.metrics_listen);
      return FALSE;
    }

  self->metrics_soup = soup_server_new ("server-header", "vetdesk-syncd", NULL);
  soup_server_add_handler (self->metrics_soup, NULL, metrics_handler_cb, self, NULL);
  socket_address = g_inet_socket_address_new (address, port);
  if (!listen_on (self->metrics_soup, socket_address, 0, error))
    return FALSE;

  uris = soup_server_get_uris (self->metrics_soup);
  if (uris != NULL)
    bound_port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  host = g_inet_address_to_string (address);
  self->metrics_url = g_strdup_printf ("http://%s%s%s:%d", strchr (host, ':') ? "[" : "", host,
                                       strchr (host, ':') ? "]" : "",
                                       bound_port > 0 ? bound_port : port);
  return TRUE;
}

gboolean
vds_server_listen (VdsServer  *self,
                   GError    **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autofree char *host = NULL;
  GSList *uris;
  guint16 port;
  int bound_port = 0;

  g_return_val_if_fail (VDS_IS_SERVER (self), FALSE);

  if (!vds_parse_listen_address (self->config.listen, &address, &port, error))
    return FALSE;

  if (self->config.plain_http && !g_inet_address_get_is_loopback (address))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Plain HTTP is only allowed on a loopback address such as 127.0.0.1, "
                     "not on %s."), self->config.listen);
      return FALSE;
    }

  socket_address = g_inet_socket_address_new (address, port);
  if (!listen_on (self->soup, socket_address,
                  self->config.plain_http ? 0 : SOUP_SERVER_LISTEN_HTTPS, error))
    return FALSE;

  uris = soup_server_get_uris (self->soup);
  if (uris != NULL)
    bound_port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  host = g_inet_address_to_string (address);
  self->url = g_strdup_printf ("%s://%s%s%s:%d", self->config.plain_http ? "http" : "https",
                               strchr (host, ':') ? "[" : "", host,
                               strchr (host, ':') ? "]" : "",
                               bound_port > 0 ? bound_port : port);

  if (self->config.metrics_listen != NULL && self->config.metrics_listen[0] != '\0')
    return listen_metrics (self, error);
  return TRUE;
}

const char *
vds_server_get_url (VdsServer *self)
{
  g_return_val_if_fail (VDS_IS_SERVER (self), NULL);
  return self->url;
}

const char *
vds_server_get_metrics_url (VdsServer *self)
{
  g_return_val_if_fail (VDS_IS_SERVER (self), NULL);
  return self->metrics_url;
}

const char *
vds_server_get_fingerprint (VdsServer *self)
{
  g_return_val_if_fail (VDS_IS_SERVER (self), NULL);
  return self->fingerprint;
}

static gboolean
drain_timeout_cb (gpointer data)
{
  VdsServer *self = data;
  GTask *task = g_steal_pointer (&self->drain_task);

  g_clear_pointer (&self->drain_timeout, g_source_unref);
  g_warning ("%u requests still running after %u s; closing their connections",
             self->active, self->config.drain_timeout_s);
  soup_server_disconnect (self->soup);
  if (task != NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
  return G_SOURCE_REMOVE;
}

void
vds_server_shutdown_async (VdsServer           *self,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  GSList *listeners;

  g_return_if_fail (VDS_IS_SERVER (self));
  g_return_if_fail (self->drain_task == NULL);

  self->drain_task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (self->drain_task, vds_server_shutdown_async);
  self->draining = TRUE;

  /* Stop accepting: the listener's accept fails once its socket is closed, and libsoup
   * drops the source. Kept-alive connections get "Connection: close" on their answers. */
  listeners = soup_server_get_listeners (self->soup);
  for (GSList *l = listeners; l != NULL; l = l->next)
    g_socket_close (l->data, NULL);
  g_slist_free (listeners);

  /* Desks reconnect (to another instance, or to this one once it is back). */
  if (self->streams != NULL)
    vds_streams_close_all (self->streams, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                           "server shutting down");
  if (self->metrics_soup != NULL)
    soup_server_disconnect (self->metrics_soup);

  g_info ("Shutting down: waiting for %u requests in flight", self->active);
  self->drain_timeout = g_timeout_source_new_seconds (self->config.drain_timeout_s);
  g_source_set_callback (self->drain_timeout, drain_timeout_cb, self, NULL);
  g_source_attach (self->drain_timeout, self->context);
  check_drained (self);
}

gboolean
vds_server_shutdown_finish (VdsServer     *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
