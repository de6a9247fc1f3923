/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-ws-guard.c — the guard of vds-ws-guard.h: a pollable input stream that parses the
 * client's WebSocket frame headers (RFC 6455 §5.2) in the bytes libsoup reads through it,
 * and the GIOStream that pairs it with the connection's own output stream. Only headers
 * are looked at; payloads pass untouched. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>
#include <string.h>

#include "vds-ws-guard.h"

/* ---- the input stream ---- */

#define VDS_TYPE_WS_GUARD_INPUT (vds_ws_guard_input_get_type ())
G_DECLARE_FINAL_TYPE (VdsWsGuardInput, vds_ws_guard_input, VDS, WS_GUARD_INPUT, GInputStream)

struct _VdsWsGuardInput
{
  GInputStream  parent_instance;

  GInputStream *base;
  guint64       max_message;
  double        ping_rate;      /* per second */
  double        ping_burst;
  double        ping_tokens;
  gint64        ping_last_us;

  guint8        header[14];
  guint         header_len;
  guint         header_need;    /* 2, then the whole header's length once known */
  guint64       payload_left;
  guint64       message_bytes;  /* of the data message whose frames are coming */
  char         *violation;      /* once set, every read fails with it */
};

static void vds_ws_guard_input_pollable_iface_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (VdsWsGuardInput, vds_ws_guard_input, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      vds_ws_guard_input_pollable_iface_init))

static gboolean
take_ping (VdsWsGuardInput *self)
{
  gint64 now = g_get_monotonic_time ();

  if (self->ping_last_us > 0)
    self->ping_tokens = MIN (self->ping_burst,
                             self->ping_tokens + self->ping_rate * (now - self->ping_last_us) / 1e6);
  self->ping_last_us = now;
  if (self->ping_tokens < 1.0)
    return FALSE;
  self->ping_tokens -= 1.0;
  return TRUE;
}

/* A whole frame header is in self->header. */
static void
frame_header (VdsWsGuardInput *self)
{
  guint8 opcode = self->header[0] & 0x0f;
  gboolean fin = (self->header[0] & 0x80) != 0;
  guint8 len7 = self->header[1] & 0x7f;
  guint64 len = len7;

  if (len7 == 126)
    len = ((guint64) self->header[2] << 8) | self->header[3];
  else if (len7 == 127)
    {
      len = 0;
      for (guint i = 0; i < 8; i++)
        len = (len << 8) | self->header[2 + i];
    }
  self->payload_left = len;

  if (opcode & 0x08)
    {
      /* A control frame, between the fragments of a message or not. */
      if (opcode == 0x09 && !take_ping (self))
        self->violation = g_strdup (_("Too many pings on this stream."));
      return;
    }
  if (opcode == 0x00)
    self->message_bytes += len;
  else
    self->message_bytes = len;
  /* A message in one frame is libsoup's to limit (and the stream's, which answers 1009):
   * only the frames that would be appended to it are judged here. */
  if (opcode == 0x00 && self->message_bytes > self->max_message)
    self->violation = g_strdup_printf (_("A stream message is larger than %" PRIu64
                                         " bytes."), (uint64_t) self->max_message);
  else if (fin)
    self->message_bytes = 0;
}

/* Follows the frames through bytes just read. */
static void
scan (VdsWsGuardInput *self,
      const guint8    *data,
      gsize            len)
{
  gsize i = 0;

  while (i < len && self->violation == NULL)
    {
      if (self->payload_left > 0)
        {
          guint64 skip = MIN (self->payload_left, (guint64) (len - i));

          self->payload_left -= skip;
          i += skip;
          continue;
        }
      self->header[self->header_len++] = data[i++];
      if (self->header_len == 2)
        {
          guint8 len7 = self->header[1] & 0x7f;

          self->header_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0)
                              + ((self->header[1] & 0x80) ? 4 : 0);
        }
      if (self->header_len >= 2 && self->header_len == self->header_need)
        {
          frame_header (self);
          self->header_len = 0;
          self->header_need = 2;
        }
    }
}

static gssize
guard_result (VdsWsGuardInput *self,
              void            *buffer,
              gssize           n,
              GError         **error)
{
  if (n > 0)
    scan (self, buffer, n);
  if (self->violation != NULL)
    {
      g_clear_error (error);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, self->violation);
      return -1;
    }
  return n;
}

static gssize
vds_ws_guard_input_read (GInputStream  *stream,
                         void          *buffer,
                         gsize          count,
                         GCancellable  *cancellable,
                         GError       **error)
{
  VdsWsGuardInput *self = VDS_WS_GUARD_INPUT (stream);

  if (self->violation != NULL)
    return guard_result (self, buffer, 0, error);
  return guard_result (self, buffer,
                       g_input_stream_read (self->base, buffer, count, cancellable, error),
                       error);
}

static gboolean
vds_ws_guard_input_close (GInputStream  *stream,
                          GCancellable  *cancellable,
                          GError       **error)
{
  /* The base stream is closed with the whole connection (VdsWsGuard). */
  return TRUE;
}

static gboolean
vds_ws_guard_input_can_poll (GPollableInputStream *stream)
{
  return g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (VDS_WS_GUARD_INPUT (stream)->base));
}

static gboolean
vds_ws_guard_input_is_readable (GPollableInputStream *stream)
{
  VdsWsGuardInput *self = VDS_WS_GUARD_INPUT (stream);

  return self->violation != NULL
         || g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (self->base));
}

static GSource *
vds_ws_guard_input_create_source (GPollableInputStream *stream,
                                  GCancellable         *cancellable)
{
  VdsWsGuardInput *self = VDS_WS_GUARD_INPUT (stream);
  g_autoptr(GSource) base_source = NULL;

  base_source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (self->base),
                                                       NULL);
  return g_pollable_source_new_full (self, base_source, cancellable);
}

static gssize
vds_ws_guard_input_read_nonblocking (GPollableInputStream  *stream,
                                     void                  *buffer,
                                     gsize                  count,
                                     GError               **error)
{
  VdsWsGuardInput *self = VDS_WS_GUARD_INPUT (stream);

  if (self->violation != NULL)
    return guard_result (self, buffer, 0, error);
  return guard_result (self, buffer,
                       g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->base),
                                                                 buffer, count, NULL, error),
                       error);
}

static void
vds_ws_guard_input_pollable_iface_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = vds_ws_guard_input_can_poll;
  iface->is_readable = vds_ws_guard_input_is_readable;
  iface->create_source = vds_ws_guard_input_create_source;
  iface->read_nonblocking = vds_ws_guard_input_read_nonblocking;
}

static void
vds_ws_guard_input_finalize (GObject *object)
{
  VdsWsGuardInput *self = VDS_WS_GUARD_INPUT (object);

  g_clear_object (&self->base);
  g_free (self->violation);
  G_OBJECT_CLASS (vds_ws_guard_input_parent_class)->finalize (object);
}

static void
vds_ws_guard_input_class_init (VdsWsGuardInputClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  object_class->finalize = vds_ws_guard_input_finalize;
  input_class->read_fn = vds_ws_guard_input_read;
  input_class->close_fn = vds_ws_guard_input_close;
}

static void
vds_ws_guard_input_init (VdsWsGuardInput *self)
{
  self->header_need = 2;
}

/* ---- the GIOStream ---- */

#define VDS_TYPE_WS_GUARD (vds_ws_guard_get_type ())
G_DECLARE_FINAL_TYPE (VdsWsGuard, vds_ws_guard, VDS, WS_GUARD, GIOStream)

struct _VdsWsGuard
{
  GIOStream        parent_instance;
  GIOStream       *base;
  VdsWsGuardInput *input;
};

G_DEFINE_FINAL_TYPE (VdsWsGuard, vds_ws_guard, G_TYPE_IO_STREAM)

static GInputStream *
vds_ws_guard_get_input_stream (GIOStream *stream)
{
  return G_INPUT_STREAM (VDS_WS_GUARD (stream)->input);
}

static GOutputStream *
vds_ws_guard_get_output_stream (GIOStream *stream)
{
  return g_io_stream_get_output_stream (VDS_WS_GUARD (stream)->base);
}

static gboolean
vds_ws_guard_close (GIOStream     *stream,
                    GCancellable  *cancellable,
                    GError       **error)
{
  return g_io_stream_close (VDS_WS_GUARD (stream)->base, cancellable, error);
}

static void
base_closed_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  g_autoptr(GTask) task = data;
  GError *error = NULL;

  if (g_io_stream_close_finish (G_IO_STREAM (source), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* In the caller's context, as the base stream closes: the default would close in a
 * thread of its own. */
static void
vds_ws_guard_close_async (GIOStream           *stream,
                          int                  io_priority,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  GTask *task = g_task_new (stream, cancellable, callback, user_data);

  g_io_stream_close_async (VDS_WS_GUARD (stream)->base, io_priority, cancellable,
                           base_closed_cb, task);
}

static gboolean
vds_ws_guard_close_finish (GIOStream     *stream,
                           GAsyncResult  *result,
                           GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
vds_ws_guard_finalize (GObject *object)
{
  VdsWsGuard *self = VDS_WS_GUARD (object);

  g_clear_object (&self->input);
  g_clear_object (&self->base);
  G_OBJECT_CLASS (vds_ws_guard_parent_class)->finalize (object);
}

static void
vds_ws_guard_class_init (VdsWsGuardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->finalize = vds_ws_guard_finalize;
  stream_class->get_input_stream = vds_ws_guard_get_input_stream;
  stream_class->get_output_stream = vds_ws_guard_get_output_stream;
  stream_class->close_fn = vds_ws_guard_close;
  stream_class->close_async = vds_ws_guard_close_async;
  stream_class->close_finish = vds_ws_guard_close_finish;
}

static void
vds_ws_guard_init (VdsWsGuard *self)
{
}

GIOStream *
vds_ws_guard_new (GIOStream *base,
                  guint64    max_message,
                  guint      pings_per_minute)
{
  VdsWsGuard *self;

  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);

  self = g_object_new (VDS_TYPE_WS_GUARD, NULL);
  self->base = g_object_ref (base);
  self->input = g_object_new (VDS_TYPE_WS_GUARD_INPUT, NULL);
  self->input->base = g_object_ref (g_io_stream_get_input_stream (base));
  self->input->max_message = max_message;
  self->input->ping_burst = MAX (pings_per_minute, 1);
  self->input->ping_rate = self->input->ping_burst / 60.0;
  self->input->ping_tokens = self->input->ping_burst;
  return G_IO_STREAM (self);
}
