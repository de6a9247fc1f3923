/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-notify.c — a libpq connection of its own, opened with PQconnectStart/PQconnectPoll
 * and read with PQconsumeInput/PQnotifies from a GLib fd source, so the main loop never
 * waits on PostgreSQL; when the connection drops it is made again with backoff. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-notify.h"

#include <glib-unix.h>
#include <libpq-fe.h>

#include "vds-store-private.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS (30 * 1000)

typedef enum
{
  STATE_IDLE,          /* waiting for the retry timer */
  STATE_CONNECTING,
  STATE_SUBSCRIBING,   /* LISTEN sent, results not all read */
  STATE_LISTENING,
} State;

struct _VdsNotify
{
  char               *uri;
  GMainContext       *context;
  VdsNotifyFunc       func;
  VdsNotifyReadyFunc  ready;
  gpointer            data;

  State               state;
  PGconn             *conn;
  GSource            *watch;
  int                 watch_fd;
  GIOCondition        watch_condition;
  GSource            *retry;
  guint               backoff_ms;
  gboolean            warned;
};

static void start_connect (VdsNotify *self);

static void
clear_watch (VdsNotify *self)
{
  if (self->watch != NULL)
    {
      g_source_destroy (self->watch);
      g_clear_pointer (&self->watch, g_source_unref);
    }
  self->watch_fd = -1;
}

static gboolean fd_cb (int fd, GIOCondition condition, gpointer data);

/* Watches the connection's socket (which PQconnectPoll may change) for condition. */
static void
watch (VdsNotify    *self,
       GIOCondition  condition)
{
  int fd = PQsocket (self->conn);

  if (self->watch != NULL && fd == self->watch_fd && condition == self->watch_condition)
    return;
  clear_watch (self);
  if (fd < 0)
    return;
  self->watch = g_unix_fd_source_new (fd, condition | G_IO_ERR | G_IO_HUP);
  g_source_set_callback (self->watch, G_SOURCE_FUNC (fd_cb), self, NULL);
  g_source_attach (self->watch, self->context);
  self->watch_fd = fd;
  self->watch_condition = condition;
}

static gboolean
retry_cb (gpointer data)
{
  VdsNotify *self = data;

  g_clear_pointer (&self->retry, g_source_unref);
  start_connect (self);
  return G_SOURCE_REMOVE;
}

static void
fail (VdsNotify  *self,
      const char *what)
{
  g_autofree char *detail = g_strdup (self->conn != NULL ? PQerrorMessage (self->conn) : "");
  gboolean was_listening = self->state == STATE_LISTENING;

  g_strstrip (detail);
  /* One warning per outage: a database that stays down must not fill the log. */
  if (!self->warned || was_listening)
    g_warning ("Live updates from other syncd processes are paused (%s: %s); retrying",
               what, detail[0] != '\0' ? detail : "no detail");
  self->warned = TRUE;

  clear_watch (self);
  g_clear_pointer (&self->conn, PQfinish);
  self->state = STATE_IDLE;

  self->retry = g_timeout_source_new (self->backoff_ms);
  g_source_set_callback (self->retry, retry_cb, self, NULL);
  g_source_attach (self->retry, self->context);
  self->backoff_ms = MIN (self->backoff_ms * 2, BACKOFF_MAX_MS);
}

static void
subscribe (VdsNotify *self)
{
  if (PQsetnonblocking (self->conn, 1) != 0
      || !PQsendQuery (self->conn, "LISTEN " VDS_NOTIFY_SEQ_CHANNEL "; "
                                   "LISTEN " VDS_NOTIFY_REVOKE_CHANNEL "; "
                                   "LISTEN " VDS_NOTIFY_SESSION_CHANNEL)
      || PQflush (self->conn) < 0)
    {
      fail (self, "LISTEN");
      return;
    }
  self->state = STATE_SUBSCRIBING;
  watch (self, G_IO_IN);
}

static void
read_input (VdsNotify *self)
{
  PGnotify *notify;

  if (!PQconsumeInput (self->conn))
    {
      fail (self, "connection lost");
      return;
    }
  if (PQflush (self->conn) < 0)
    {
      fail (self, "connection lost");
      return;
    }

  /* The LISTEN's own results (and nothing else is ever sent on this connection). */
  while (!PQisBusy (self->conn))
    {
      PGresult *res = PQgetResult (self->conn);

      if (res == NULL)
        {
          if (self->state == STATE_SUBSCRIBING)
            {
              self->state = STATE_LISTENING;
              self->backoff_ms = BACKOFF_MIN_MS;
              if (self->warned)
                g_message ("Live updates from other syncd processes resumed");
              self->warned = FALSE;
              if (self->ready != NULL)
                self->ready (self->data);
            }
          break;
        }
      if (PQresultStatus (res) != PGRES_COMMAND_OK)
        {
          PQclear (res);
          fail (self, "LISTEN refused");
          return;
        }
      PQclear (res);
    }

  while ((notify = PQnotifies (self->conn)) != NULL)
    {
      if (self->func != NULL)
        self->func (notify->relname, notify->extra, self->data);
      PQfreemem (notify);
    }

  if (PQstatus (self->conn) == CONNECTION_BAD)
    fail (self, "connection lost");
}

static gboolean
fd_cb (int           fd,
       GIOCondition  condition,
       gpointer      data)
{
  VdsNotify *self = data;

  if (self->state == STATE_CONNECTING)
    {
      switch (PQconnectPoll (self->conn))
        {
        case PGRES_POLLING_READING:
          watch (self, G_IO_IN);
          break;
        case PGRES_POLLING_WRITING:
          watch (self, G_IO_OUT);
          break;
        case PGRES_POLLING_OK:
          subscribe (self);
          break;
        case PGRES_POLLING_FAILED:
        case PGRES_POLLING_ACTIVE:
        default:
          fail (self, "connect");
          break;
        }
      /* watch () replaced this source, or fail () removed it. */
      return G_SOURCE_CONTINUE;
    }

  read_input (self);
  return G_SOURCE_CONTINUE;
}

static void
start_connect (VdsNotify *self)
{
  self->conn = PQconnectStart (self->uri);
  if (self->conn == NULL || PQstatus (self->conn) == CONNECTION_BAD)
    {
      fail (self, "connect");
      return;
    }
  self->state = STATE_CONNECTING;
  /* As libpq's documentation says: after PQconnectStart, poll as if WRITING. */
  watch (self, G_IO_OUT);
}

VdsNotify *
vds_notify_new (VdsStore           *store,
                VdsNotifyFunc       func,
                VdsNotifyReadyFunc  ready,
                gpointer            data)
{
  VdsNotify *self;

  g_return_val_if_fail (store != NULL, NULL);

  if (store->dialect != VDS_DB_POSTGRES)
    return NULL;

  self = g_new0 (VdsNotify, 1);
  self->uri = g_strdup (store->uri);
  self->context = g_main_context_ref_thread_default ();
  self->func = func;
  self->ready = ready;
  self->data = data;
  self->watch_fd = -1;
  self->backoff_ms = BACKOFF_MIN_MS;
  start_connect (self);
  return self;
}

void
vds_notify_free (VdsNotify *self)
{
  if (self == NULL)
    return;
  clear_watch (self);
  if (self->retry != NULL)
    {
      g_source_destroy (self->retry);
      g_clear_pointer (&self->retry, g_source_unref);
    }
  g_clear_pointer (&self->conn, PQfinish);
  g_main_context_unref (self->context);
  g_free (self->uri);
  g_free (self);
}

gboolean
vds_notify_is_listening (VdsNotify *self)
{
  return self != NULL && self->state == STATE_LISTENING;
}
