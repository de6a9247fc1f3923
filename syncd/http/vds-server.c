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
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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
  VdsConfig        config;
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

  /* Against hostile clients: what connections and request bodies hold, the descriptor
   * past which an accepted connection is closed at once, the listener's watches. */
  struct _Usage   *usage;
  int              fd_budget;
  GPtrArray       *watches;
  GSource         *sweep;

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
  gboolean           saw_headers;  /* got-headers ran: libsoup parsed the request */
  guint              refuse_status; /* 429/503: the connection is over a cap */
  VdsRequest        *req;          /* from the headers, until the handler takes it */
  char              *address;      /* the client's, for the body accounting */
  guint64            body_limit;   /* the route's largest body */
  guint64            reserved;     /* body bytes counted in Usage */
} MessageState;

/* A request handed to a worker; owns a reference on its message. */
typedef struct
{
  VdsServer         *server;
  SoupServerMessage *msg;
  VdsRequest        *req;
} Job;

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

/* ---- what connections and request bodies hold, by client address ----
 *
 * All on the main thread. A connection is counted from its accept until its socket is
 * closed, whoever closes it (libsoup, a stream's shard, a refusal): libsoup 3.2 tells of
 * no closing, and its objects may outlive the socket, so the list is swept for closed
 * sockets every second, and before a new connection is refused for a cap. Body bytes are
 * counted from the headers (Content-Length) or as chunks arrive, until the message is
 * done. */

typedef struct
{
  guint   connections;   /* HTTP connections (a stream no longer counts) */
  guint64 body_bytes;
} AddressUse;

typedef struct
{
  GSocket *socket;
  char    *address;
  gboolean http;
} ConnTrack;

typedef struct _Usage
{
  GMutex      lock;          /* for the body bytes: messages may be freed off the loop */
  GPtrArray  *conns;         /* ConnTrack*: every accepted socket not closed yet */
  gint64      swept_us;
  guint64     body_bytes;
  GHashTable *addresses;     /* char* → AddressUse* */
} Usage;

#define CONN_KEY "vds-conn"

static void
conn_track_free (gpointer data)
{
  ConnTrack *track = data;

  g_object_set_data (G_OBJECT (track->socket), CONN_KEY, NULL);
  g_object_unref (track->socket);
  g_free (track->address);
  g_free (track);
}

static Usage *
usage_new (void)
{
  Usage *usage = g_new0 (Usage, 1);

  g_mutex_init (&usage->lock);
  usage->conns = g_ptr_array_new_with_free_func (conn_track_free);
  usage->addresses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return usage;
}

static void
usage_free (Usage *usage)
{
  g_ptr_array_unref (usage->conns);
  g_hash_table_unref (usage->addresses);
  g_mutex_clear (&usage->lock);
  g_free (usage);
}

/* Under the lock. */
static AddressUse *
usage_address (Usage      *usage,
               const char *address)
{
  AddressUse *use = g_hash_table_lookup (usage->addresses, address);

  if (use == NULL)
    {
      use = g_new0 (AddressUse, 1);
      g_hash_table_insert (usage->addresses, g_strdup (address), use);
    }
  return use;
}

/* Under the lock: an address that holds nothing is forgotten. */
static void
usage_address_done (Usage      *usage,
                    const char *address)
{
  AddressUse *use = g_hash_table_lookup (usage->addresses, address);

  if (use != NULL && use->connections == 0 && use->body_bytes == 0)
    g_hash_table_remove (usage->addresses, address);
}

/* Forgets the connections whose socket is closed. */
static void
usage_sweep (Usage *usage)
{
  usage->swept_us = g_get_monotonic_time ();
  g_mutex_lock (&usage->lock);
  for (guint i = usage->conns->len; i > 0; i--)
    {
      ConnTrack *track = usage->conns->pdata[i - 1];

      if (!g_socket_is_closed (track->socket))
        continue;
      if (track->http)
        {
          usage_address (usage, track->address)->connections--;
          usage_address_done (usage, track->address);
        }
      g_ptr_array_remove_index_fast (usage->conns, i - 1);
    }
  g_mutex_unlock (&usage->lock);
}

static gboolean
sweep_cb (gpointer data)
{
  usage_sweep (data);
  return G_SOURCE_CONTINUE;
}

/* A new connection: counted, and 0 when it is within the caps, else the status its
 * first request gets (503 past the total, 429 past its address's share). */
static guint
track_connection (VdsServer  *self,
                  GSocket    *socket,
                  const char *address)
{
  Usage *usage = self->usage;
  ConnTrack *track;
  AddressUse *use;
  guint status = 0;

  g_mutex_lock (&usage->lock);
  use = g_hash_table_lookup (usage->addresses, address);
  g_mutex_unlock (&usage->lock);
  /* Closed sockets may still be counted: look before refusing (at most every 100 ms). */
  if ((usage->conns->len >= self->config.max_connections
       || (use != NULL && use->connections >= self->config.max_connections_per_address))
      && g_get_monotonic_time () - usage->swept_us > G_USEC_PER_SEC / 10)
    usage_sweep (usage);

  track = g_new0 (ConnTrack, 1);
  track->socket = g_object_ref (socket);
  track->address = g_strdup (address);
  track->http = TRUE;
  g_object_set_data (G_OBJECT (socket), CONN_KEY, track);

  g_mutex_lock (&usage->lock);
  g_ptr_array_add (usage->conns, track);
  use = usage_address (usage, address);
  use->connections++;
  if (usage->conns->len > self->config.max_connections)
    status = 503;
  else if (use->connections > self->config.max_connections_per_address)
    status = 429;
  g_mutex_unlock (&usage->lock);
  return status;
}

/* The connection became a stream: it leaves its address's count of HTTP connections
 * (streams have caps of their own) and stays in the total. */
static void
untrack_http (VdsServer *self,
              GSocket   *socket)
{
  ConnTrack *track = socket != NULL ? g_object_get_data (G_OBJECT (socket), CONN_KEY) : NULL;

  if (track == NULL || !track->http)
    return;
  g_mutex_lock (&self->usage->lock);
  track->http = FALSE;
  usage_address (self->usage, track->address)->connections--;
  usage_address_done (self->usage, track->address);
  g_mutex_unlock (&self->usage->lock);
}

/* Counts bytes more of the message's body; 0 when they fit, else the status to refuse
 * it with (503 past the total, 429 past the address's share). */
static guint
reserve_body (MessageState *state,
              guint64       bytes)
{
  VdsServer *self = state->server;
  Usage *usage = self->usage;
  guint64 total_max = (guint64) self->config.max_body_mib * 1024 * 1024;
  guint64 address_max = (guint64) self->config.max_body_mib_per_address * 1024 * 1024;
  AddressUse *use;
  guint status = 0;

  if (bytes == 0)
    return 0;
  g_mutex_lock (&usage->lock);
  use = usage_address (usage, state->address);
  if (usage->body_bytes + bytes > total_max)
    status = 503;
  else if (use->body_bytes + bytes > address_max)
    status = 429;
  else
    {
      usage->body_bytes += bytes;
      use->body_bytes += bytes;
      state->reserved += bytes;
    }
  usage_address_done (usage, state->address);
  g_mutex_unlock (&usage->lock);
  return status;
}

static void
release_body (MessageState *state)
{
  Usage *usage = state->server->usage;

  if (state->reserved == 0)
    return;
  g_mutex_lock (&usage->lock);
  usage->body_bytes -= state->reserved;
  usage_address (usage, state->address)->body_bytes -= state->reserved;
  usage_address_done (usage, state->address);
  g_mutex_unlock (&usage->lock);
  state->reserved = 0;
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
  release_body (state);
  g_clear_pointer (&state->req, vds_request_free);
  g_free (state->address);
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

/* Answers the request on its stolen connection and closes it: its body (if any) is never
 * read into memory, only discarded by the bounded lingering read. headers: name, value…
 * (may be NULL). */
static void
reject_raw (MessageState *state,
            guint         status,
            GPtrArray    *headers,
            GBytes       *body)
{
  VdsServer *self = state->server;
  g_autoptr(GString) response = g_string_new (NULL);
  GSocket *socket = soup_server_message_get_socket (state->msg);
  gsize body_len = body != NULL ? g_bytes_get_size (body) : 0;
  Rejection *r;
  GIOStream *stream;

  g_info ("Refusing a request from %s with %u before reading its body",
          soup_server_message_get_remote_host (state->msg), status);

  stop_header_timer (state);
  release_body (state);
  watchdog_remove (socket);
  stream = soup_server_message_steal_connection (state->msg);
  /* A stolen message never finishes: it is no longer in flight. */
  uncount (state);
  if (stream == NULL)
    return;

  g_string_append_printf (response, "HTTP/1.1 %u %s\r\n", status, soup_status_get_phrase (status));
  g_string_append (response, "Content-Type: application/json; charset=utf-8\r\n"
                             "Cache-Control: no-store\r\n"
                             "Connection: close\r\n"
                             "Server: vetdesk-syncd\r\n");
  if (headers != NULL)
    for (guint i = 0; i + 1 < headers->len; i += 2)
      g_string_append_printf (response, "%s: %s\r\n", (const char *) headers->pdata[i],
                              (const char *) headers->pdata[i + 1]);
  g_string_append_printf (response, "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n", body_len);
  if (body_len > 0)
    g_string_append_len (response, g_bytes_get_data (body, NULL), body_len);

  r = g_new0 (Rejection, 1);
  r->stream = stream;
  r->cancellable = g_cancellable_new ();
  r->deadline = g_timeout_source_new (LINGER_MAX_MS);
  g_source_set_callback (r->deadline, rejection_deadline_cb, r, NULL);
  g_source_attach (r->deadline, self->context);
  r->response_len = response->len;
  r->response = g_string_free (g_steal_pointer (&response), FALSE);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream), r->response,
                                   r->response_len, G_PRIORITY_DEFAULT, r->cancellable,
                                   rejection_written_cb, r);
}

/* A refusal of the server's own: the code's status (or status when not 0), its JSON
 * body, and Retry-After when retry_after is not 0. */
static void
reject_error (MessageState *state,
              guint         status,
              VdErrorCode   code,
              const char   *message,
              guint         retry_after)
{
  g_autoptr(VdsRequest) req = g_new0 (VdsRequest, 1);

  vds_request_set_error (req, code, message);
  if (status != 0)
    req->status = status;
  if (retry_after > 0)
    {
      g_autofree char *text = g_strdup_printf ("%u", retry_after);
      vds_request_add_header (req, "Retry-After", text);
    }
  vds_metrics_observe_request (vds_api_get_metrics (state->server->api), "none", req->status, 0);
  reject_raw (state, req->status, req->headers, req->answer);
}

static void
reject_too_large (MessageState *state)
{
  g_autofree char *message = NULL;

  message = g_strdup_printf (_("The request body is larger than the limit of %d MiB."),
                             VD_PROTOCOL_MAX_BODY / (1024 * 1024));
  reject_error (state, 0, VD_ERROR_PAYLOAD_TOO_LARGE, message, 0);
}

/* Past a cap on connections or body bytes: 503 past the server's, 429 past the
 * address's share. */
static void
reject_busy (MessageState *state,
             guint         status)
{
  if (status == 503)
    reject_error (state, 503, VD_ERROR_UNAVAILABLE,
                  _("The sync server is busy. Try again in a few moments."), 5);
  else
    reject_error (state, 429, VD_ERROR_RATE_LIMITED,
                  _("Too many connections or uploads from this address. Wait a moment and "
                    "try again."), 5);
}

static void
got_chunk_cb (SoupServerMessage *msg,
              GBytes            *chunk,
              gpointer           data)
{
  MessageState *state = get_state (msg);
  guint status;

  if (state == NULL)
    return;
  watchdog_touch (msg, FALSE);
  state->body_bytes += g_bytes_get_size (chunk);
  if (state->body_bytes > state->body_limit)
    {
      reject_too_large (state);
      return;
    }
  /* A chunked body is counted as it comes; a Content-Length one was at its headers. */
  if (state->body_bytes > state->reserved
      && (status = reserve_body (state, state->body_bytes - state->reserved)) != 0)
    reject_busy (state, status);
}

/* A JSON error body for a status libsoup set itself (a path with "..", a scheme that does
 * not match the connection): the message goes on without a handler. */
static void
set_soup_error_body (SoupServerMessage *msg)
{
  guint status = soup_server_message_get_status (msg);
  g_autofree char *body = NULL;
  g_autofree char *message = NULL;
  VdErrorCode code;
  gsize len;

  switch (status)
    {
    case 404:
      code = VD_ERROR_NOT_FOUND;
      message = g_strdup (_("There is no such address on the sync server."));
      break;
    case 413:
      code = VD_ERROR_PAYLOAD_TOO_LARGE;
      message = g_strdup (_("The request is too large."));
      break;
    case 501:
      code = VD_ERROR_BAD_REQUEST;
      message = g_strdup (_("The sync server does not implement what this request asks "
                            "(an unknown Transfer-Encoding or method)."));
      break;
    case 505:
      code = VD_ERROR_BAD_REQUEST;
      message = g_strdup (_("The sync server speaks HTTP/1.1 and HTTP/1.0 only."));
      break;
    default:
      code = status >= 500 ? VD_ERROR_INTERNAL : VD_ERROR_BAD_REQUEST;
      message = g_strdup_printf (_("The request is malformed (%u %s)."), status,
                                 soup_status_get_phrase (status));
      break;
    }
  body = vds_api_error_json (code, message, &len);
  soup_server_message_set_response (msg, "application/json; charset=utf-8", SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&body), len);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Cache-Control", "no-store");
}

/* libsoup answers a request it cannot parse (a NUL in a header, an unknown
 * Transfer-Encoding, HTTP/2.0 on the request line…) without got-headers: the response was
 * given EOF framing at request-started, so its body can still be added once the status
 * line is out. */
static void
wrote_headers_cb (SoupServerMessage *msg,
                  gpointer           data)
{
  MessageState *state = get_state (msg);

  if (state == NULL || state->saw_headers)
    return;
  if (soup_server_message_get_status (msg) >= 400)
    set_soup_error_body (msg);
  soup_message_body_complete (soup_server_message_get_response_body (msg));
}

/* The token of a push, checked by a worker while the message waits paused: its body is
 * read only for a member of the clinic. */
typedef struct
{
  VdsServer         *server;
  SoupServerMessage *msg;
  VdsRequest        *req;   /* a copy of the fields preauth reads */
  gboolean           ok;
} Preauth;

static gboolean
preauth_done_cb (gpointer data)
{
  Preauth *pa = data;
  MessageState *state = get_state (pa->msg);

  if (state != NULL && !state->disconnected)
    {
      if (pa->ok)
        soup_server_message_unpause (pa->msg);
      else
        {
          vds_metrics_observe_request (vds_api_get_metrics (pa->server->api), pa->req->route,
                                       pa->req->status,
                                       (g_get_monotonic_time () - pa->req->started_us)
                                       / (double) G_USEC_PER_SEC);
          /* Stolen while paused: its body is never read. */
          reject_raw (state, pa->req->status, pa->req->headers, pa->req->answer);
        }
    }
  g_object_unref (pa->msg);
  vds_request_free (pa->req);
  g_object_unref (pa->server);
  g_free (pa);
  return G_SOURCE_REMOVE;
}

static void
preauth_thread (GTask        *task,
                gpointer      source,
                gpointer      data,
                GCancellable *cancellable)
{
  Preauth *pa = data;

  pa->ok = vds_api_preauth (pa->server->api, pa->req);
  g_main_context_invoke (pa->server->context, preauth_done_cb, pa);
}

static void
start_preauth (MessageState *state)
{
  VdsServer *self = state->server;
  Preauth *pa = g_new0 (Preauth, 1);
  g_autoptr(GTask) task = NULL;

  pa->server = g_object_ref (self);
  pa->msg = g_object_ref (state->msg);
  pa->req = g_new0 (VdsRequest, 1);
  pa->req->method = g_strdup (state->req->method);
  pa->req->path = g_strdup (state->req->path);
  pa->req->authorization = g_strdup (state->req->authorization);
  pa->req->remote = g_strdup (state->req->remote);
  pa->req->route = state->req->route;
  pa->req->started_us = state->req->started_us;
  soup_server_message_pause (state->msg);
  task = g_task_new (NULL, NULL, NULL, NULL);
  g_task_set_task_data (task, pa, NULL);
  g_task_run_in_thread (task, preauth_thread);
}

static gboolean
has_body (SoupMessageHeaders *headers)
{
  SoupEncoding encoding = soup_message_headers_get_encoding (headers);

  return encoding == SOUP_ENCODING_CHUNKED
         || (encoding == SOUP_ENCODING_CONTENT_LENGTH
             && soup_message_headers_get_content_length (headers) > 0);
}

static VdsRequest *request_from_message (SoupServerMessage *msg,
                                         const char        *path,
                                         GHashTable        *query);
static void        watch_free           (gpointer           data);
static void        apply_answer         (VdsServer         *self,
                                         SoupServerMessage *msg,
                                         VdsRequest        *req);

/* Everything decided from the headers alone, before libsoup reads a byte of the body:
 * shutting down, the caps on connections, framing, the route and its method, the rate
 * limits, the body's size and the bytes in flight, and a push's token. A request with a
 * body that is refused here is answered on its stolen connection, which then closes; one
 * without a body is answered as usual and its connection kept. */
static void
got_headers_cb (SoupServerMessage *msg,
                gpointer           data)
{
  MessageState *state = get_state (msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (msg);
  g_autoptr(VdsRequest) req = NULL;
  VdsServer *self;
  gboolean body;
  const char *path;
  guint status;

  if (state == NULL)
    return;
  self = state->server;
  stop_header_timer (state);
  state->saw_headers = TRUE;
  soup_message_headers_set_encoding (response_headers, SOUP_ENCODING_CONTENT_LENGTH);
  soup_message_headers_remove (response_headers, "Content-Type");
  soup_message_headers_remove (response_headers, "Connection");

  if (!state->counted)
    {
      state->counted = TRUE;
      self->active++;
    }
  body = has_body (headers);

  if (self->draining)
    {
      g_autofree char *text = NULL;
      gsize len;

      text = vds_api_error_json (VD_ERROR_UNAVAILABLE,
                                 _("The sync server is shutting down. Try again in a few "
                                   "moments."), &len);
      soup_server_message_set_status (msg, 503, NULL);
      soup_server_message_set_response (msg, "application/json; charset=utf-8",
                                        SOUP_MEMORY_TAKE, g_steal_pointer (&text), len);
      soup_message_headers_replace (response_headers, "Connection", "close");
      soup_message_headers_replace (response_headers, "Retry-After", "5");
      return;
    }

  /* Both framings at once is how requests are smuggled past proxies: refused, and the
   * connection closed (RFC 9112 §6.1). */
  if (soup_message_headers_get_one (headers, "Content-Length") != NULL
      && soup_message_headers_get_one (headers, "Transfer-Encoding") != NULL)
    {
      reject_error (state, 0, VD_ERROR_BAD_REQUEST,
                    _("The request has both Content-Length and Transfer-Encoding; send "
                      "one of them."), 0);
      return;
    }

  if (state->refuse_status != 0)
    {
      reject_busy (state, state->refuse_status);
      return;
    }

  /* libsoup refused it already (a path with "..", a scheme that does not match). */
  if (soup_server_message_get_status (msg) != 0)
    {
      if (body)
        {
          g_autoptr(GBytes) text = NULL;

          set_soup_error_body (msg);
          text = soup_message_body_flatten (soup_server_message_get_response_body (msg));
          reject_raw (state, soup_server_message_get_status (msg), NULL, text);
        }
      else
        set_soup_error_body (msg);
      return;
    }

  path = soup_server_message_is_options_ping (msg)
         ? "*" : g_uri_get_path (soup_server_message_get_uri (msg));
  req = request_from_message (msg, path != NULL && path[0] != '\0' ? path : "/", NULL);
  g_free (state->address);
  state->address = g_strdup (req->remote);

  if (!vds_api_precheck (self->api, req))
    {
      if (body)
        {
          vds_metrics_observe_request (vds_api_get_metrics (self->api), req->route,
                                       req->status, 0);
          reject_raw (state, req->status, req->headers, req->answer);
        }
      else
        apply_answer (self, msg, req);
      return;
    }

  state->body_limit = vds_api_body_limit (req);
  if (body)
    {
      SoupEncoding encoding = soup_message_headers_get_encoding (headers);
      goffset length = soup_message_headers_get_content_length (headers);

      if (encoding == SOUP_ENCODING_CONTENT_LENGTH && (guint64) length > state->body_limit)
        {
          if (state->body_limit >= VD_PROTOCOL_MAX_BODY)
            reject_too_large (state);
          else
            reject_error (state, 0, VD_ERROR_PAYLOAD_TOO_LARGE,
                          _("This address takes no request body."), 0);
          return;
        }
      if (encoding == SOUP_ENCODING_CONTENT_LENGTH
          && (status = reserve_body (state, length)) != 0)
        {
          reject_busy (state, status);
          return;
        }
    }

  state->req = g_steal_pointer (&req);
  if (body && state->body_limit >= VD_PROTOCOL_MAX_BODY)
    start_preauth (state);
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
      release_body (state);
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
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (msg);
  gboolean first = TRUE;
  const char *remote = NULL;

  state->server = self;
  state->msg = msg;
  state->body_limit = VD_PROTOCOL_MAX_BODY;
  g_object_set_data_full (G_OBJECT (msg), "vds-state", state,
                          (GDestroyNotify) message_state_free);
  /* libsoup caches the peer's address on first use; ask now, while the socket is alive,
   * so logging or rate limiting a request whose client has vanished never touches a
   * closed socket. */
  if (socket != NULL)
    remote = soup_server_message_get_remote_host (msg);
  state->address = g_strdup (remote != NULL ? remote : "unknown");

  /* A new connection (libsoup starts its first request at the accept, before the TLS
   * handshake). Past the descriptor budget it is closed at once, before libsoup
   * touches it: the next accept() must not fail (libsoup 3.2 then stops listening). */
  if (socket != NULL && g_object_get_data (G_OBJECT (socket), CONN_KEY) == NULL)
    {
      if (g_socket_get_fd (socket) >= self->fd_budget)
        {
          g_info ("Closing a connection from %s at once: %d descriptors are in use",
                  state->address, g_socket_get_fd (socket));
          g_socket_close (socket, NULL);
          return;
        }
      state->refuse_status = track_connection (self, socket, state->address);
    }

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

  /* Until got-headers says libsoup parsed the request, the answer is framed by the
   * connection's end, so that wrote-headers can still give libsoup's own refusals
   * (400, 501, 505) the JSON body every error has. */
  soup_message_headers_set_encoding (response_headers, SOUP_ENCODING_EOF);
  soup_message_headers_replace (response_headers, "Content-Type",
                                "application/json; charset=utf-8");
  soup_message_headers_replace (response_headers, "Connection", "close");

  g_signal_connect (msg, "got-headers", G_CALLBACK (got_headers_cb), NULL);
  g_signal_connect (msg, "got-chunk", G_CALLBACK (got_chunk_cb), NULL);
  g_signal_connect (msg, "finished", G_CALLBACK (finished_cb), NULL);
  g_signal_connect (msg, "wrote-headers", G_CALLBACK (wrote_headers_cb), NULL);
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
  untrack_http (self, socket);
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
  up->tenant_id = g_strdup (req->stream.tenant_id);
  up->device_id = g_strdup (req->stream.device_id);
  up->session_id = g_strdup (req->stream.session_id);
  up->expires_at = req->stream.expires;
  up->cursor = req->stream.cursor;
  g_signal_connect_data (msg, "wrote-informational", G_CALLBACK (upgrade_written_cb), up,
                         upgrade_free, 0);
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
  else if (g_str_equal (channel, VDS_NOTIFY_SESSION_CHANNEL) && vd_uuid_is_valid (payload))
    {
      const char *sessions[2] = { payload, NULL };

      vds_streams_revoke_sessions (self->streams, sessions);
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

  /* After a worker finished: what it changed that open streams must hear. */
  vds_effects_run (job->req->effects, job->server->streams);
  if (state == NULL || !state->disconnected)
    {
      if (job->req->status == 101 && job->req->stream.tenant_id != NULL)
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

/* What the handler adds to the request kept from got-headers. */
static void
request_add_body (VdsRequest        *req,
                  SoupServerMessage *msg,
                  GHashTable        *query)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);

  if (query != NULL)
    {
      GHashTableIter iter;
      gpointer key, value;

      req->query = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_iter_init (&iter, query);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (req->query, g_strdup (key), g_strdup (value));
    }
  if (body != NULL && body->length > 0)
    req->body = soup_message_body_flatten (body);
}

static void
handler_cb (SoupServer        *soup,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           data)
{
  VdsServer *self = data;
  MessageState *state = get_state (msg);
  VdsRequest *req;
  Job *job;

  /* got-headers checked it (precheck) and kept it; only its query and body are new. */
  if (state == NULL || state->req == NULL)
    {
      soup_server_message_set_status (msg, 500, NULL);
      set_soup_error_body (msg);
      return;
    }
  req = g_steal_pointer (&state->req);
  request_add_body (req, msg, query);

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
  if (self->sweep != NULL)
    {
      g_source_destroy (self->sweep);
      g_clear_pointer (&self->sweep, g_source_unref);
    }
  if (self->watches != NULL)
    {
      g_ptr_array_foreach (self->watches, (GFunc) watch_free, NULL);
      g_clear_pointer (&self->watches, g_ptr_array_unref);
    }
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
  g_clear_pointer (&self->usage, usage_free);
  vds_config_clear (&self->config);
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
  self->usage = usage_new ();
  self->watches = g_ptr_array_new ();
  self->fd_budget = G_MAXINT;
}

VdsServer *
vds_server_new (VdsStore         *store,
                const VdsConfig  *config,
                GError          **error)
{
  g_autoptr(VdsServer) self = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (config != NULL, NULL);

  self = g_object_new (VDS_TYPE_SERVER, NULL);
  self->store = store;
  vds_config_copy (&self->config, config);
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
  vds_streams_set_limits (self->streams, self->config.max_streams_per_device,
                          self->config.max_streams_per_session,
                          self->config.stream_pings_per_minute);
  self->pool = g_thread_pool_new (worker_cb, NULL, MAX (1, config->workers), FALSE, error);
  if (self->pool == NULL)
    return NULL;
  self->notify = vds_notify_new (store, notify_cb, notify_ready_cb, self);

  return g_steal_pointer (&self);
}

/* ---- the listener's watch ----
 *
 * libsoup 3.2's listener stops for good at its first failed accept() (EMFILE, a peer gone
 * before it was accepted, even EAGAIN): it removes its source, and the daemon looks alive
 * while nobody can connect. A watch of low priority waits on the same socket: both wait
 * for the same readiness and libsoup's runs first, so the watch only runs when libsoup's
 * source is gone. Then the listener is started again after a back-off (100 ms, doubling
 * up to 5 s while it keeps failing); if that fails, the daemon exits non-zero so that its
 * supervisor restarts it. */

typedef struct
{
  VdsServer               *server;   /* not owned: the server frees its watches */
  GSocket                 *socket;
  SoupServerListenOptions  options;
  GSource                 *watch;
  GSource                 *rearm;
  guint                    backoff_ms;
  gint64                   last_rearm_us;
} ListenerWatch;

#define REARM_MIN_MS 100
#define REARM_MAX_MS 5000

static void watch_start (ListenerWatch *lw);

static gboolean
rearm_cb (gpointer data)
{
  ListenerWatch *lw = data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&lw->rearm, g_source_unref);
  if (lw->server->draining)
    return G_SOURCE_REMOVE;
  if (!soup_server_listen_socket (lw->server->soup, lw->socket, lw->options, &error))
    {
      g_printerr (_("vetdesk-syncd: could not listen again after the listener failed: %s\n"),
                  error->message);
      exit (EXIT_FAILURE);
    }
  lw->last_rearm_us = g_get_monotonic_time ();
  g_info ("Listening again");
  watch_start (lw);
  return G_SOURCE_REMOVE;
}

static gboolean
watch_cb (GSocket      *socket,
          GIOCondition  condition,
          gpointer      data)
{
  ListenerWatch *lw = data;

  g_clear_pointer (&lw->watch, g_source_unref);
  if (lw->server->draining || (condition & (G_IO_NVAL | G_IO_ERR | G_IO_HUP)) != 0)
    return G_SOURCE_REMOVE;

  /* Failing again soon after the last start: wait longer. */
  if (lw->last_rearm_us > 0 && g_get_monotonic_time () - lw->last_rearm_us < 30 * G_USEC_PER_SEC)
    lw->backoff_ms = MIN (MAX (lw->backoff_ms * 2, REARM_MIN_MS), REARM_MAX_MS);
  else
    lw->backoff_ms = REARM_MIN_MS;
  g_warning ("The listener stopped accepting connections (an accept failed); listening "
             "again in %u ms", lw->backoff_ms);
  lw->rearm = g_timeout_source_new (lw->backoff_ms);
  g_source_set_callback (lw->rearm, rearm_cb, lw, NULL);
  g_source_attach (lw->rearm, lw->server->context);
  return G_SOURCE_REMOVE;
}

static void
watch_start (ListenerWatch *lw)
{
  lw->watch = g_socket_create_source (lw->socket, G_IO_IN, NULL);
  g_source_set_priority (lw->watch, G_PRIORITY_LOW);
  g_source_set_name (lw->watch, "vds listener watch");
  g_source_set_callback (lw->watch, G_SOURCE_FUNC (watch_cb), lw, NULL);
  g_source_attach (lw->watch, lw->server->context);
}

static void
watch_free (gpointer data)
{
  ListenerWatch *lw = data;

  if (lw->watch != NULL)
    {
      g_source_destroy (lw->watch);
      g_source_unref (lw->watch);
    }
  if (lw->rearm != NULL)
    {
      g_source_destroy (lw->rearm);
      g_source_unref (lw->rearm);
    }
  g_object_unref (lw->socket);
  g_free (lw);
}

/* The descriptor budget: accepted connections stay below the open-file limit with room
 * for the database, the stream threads' wakeups and the files syncd opens. */
static int
fd_budget (void)
{
  struct rlimit nofile;
  rlim_t headroom;

  if (getrlimit (RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur == RLIM_INFINITY
      || nofile.rlim_cur > G_MAXINT)
    return G_MAXINT;
  headroom = CLAMP (nofile.rlim_cur / 8, 32, 4096);
  if (nofile.rlim_cur <= headroom * 2)
    return (int) (nofile.rlim_cur / 2);
  return (int) (nofile.rlim_cur - headroom);
}

/* Desks reconnect all at once after a restart or a network outage: GSocket's default
 * listen backlog of 10 would make most of them wait for SYN retransmissions, so the
 * socket is made here with a deep one and handed to libsoup. */
#define LISTEN_BACKLOG 4096

static gboolean
listen_on (SoupServer             *soup,
           GSocketAddress         *address,
           SoupServerListenOptions options,
           GSocket               **out_socket,
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
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error)
      || !soup_server_listen_socket (soup, socket, options, error))
    return FALSE;
  if (out_socket != NULL)
    *out_socket = g_steal_pointer (&socket);
  return TRUE;
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

  if (!vds_config_parse_listen (self->config.metrics_listen, &address, &port, error))
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
  if (!listen_on (self->metrics_soup, socket_address, 0, NULL, error))
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
  g_autoptr(GSocket) socket = NULL;
  g_autofree char *host = NULL;
  SoupServerListenOptions options;
  ListenerWatch *lw;
  GSList *uris;
  guint16 port;
  int bound_port = 0;

  g_return_val_if_fail (VDS_IS_SERVER (self), FALSE);

  if (!vds_config_parse_listen (self->config.listen, &address, &port, error))
    return FALSE;

  if (self->config.plain_http && !g_inet_address_get_is_loopback (address))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Plain HTTP is only allowed on a loopback address such as 127.0.0.1, "
                     "not on %s."), self->config.listen);
      return FALSE;
    }

  socket_address = g_inet_socket_address_new (address, port);
  options = self->config.plain_http ? 0 : SOUP_SERVER_LISTEN_HTTPS;
  if (!listen_on (self->soup, socket_address, options, &socket, error))
    return FALSE;
  self->fd_budget = fd_budget ();
  self->sweep = g_timeout_source_new_seconds (1);
  g_source_set_name (self->sweep, "vds connection sweep");
  g_source_set_callback (self->sweep, sweep_cb, self->usage, NULL);
  g_source_attach (self->sweep, self->context);
  lw = g_new0 (ListenerWatch, 1);
  lw->server = self;
  lw->socket = g_steal_pointer (&socket);
  lw->options = options;
  watch_start (lw);
  g_ptr_array_add (self->watches, lw);

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

gboolean
vds_server_accept_stream (VdsServer       *self,
                          GIOStream       *stream,
                          GSocketAddress  *local,
                          GSocketAddress  *remote,
                          GError         **error)
{
  g_return_val_if_fail (VDS_IS_SERVER (self), FALSE);
  return soup_server_accept_iostream (self->soup, stream, local, remote, error);
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
  for (guint i = 0; i < self->watches->len; i++)
    {
      ListenerWatch *lw = self->watches->pdata[i];

      if (lw->watch != NULL)
        g_source_destroy (lw->watch);
      if (lw->rearm != NULL)
        g_source_destroy (lw->rearm);
    }
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
