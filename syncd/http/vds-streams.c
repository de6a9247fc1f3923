/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-streams.c — streams are cheap on purpose, and spread over many shard threads: a
 * GMainContext polls and prepares every source it holds on each iteration, so one loop
 * with 40,000 connections spends its time walking them. Each shard is a thread with its
 * own context holding the streams of the clinics hashed to it, started when the first of
 * them streams or pushes. Inside a shard a stream is a struct in a per-clinic array,
 * token expiry is one timer for all of them (a sequence ordered by expiry), and a cursor is sent only when it is newer than the last one that
 * stream got (the local fan-out and PostgreSQL's NOTIFY both deliver the same push). The
 * public calls come from the main thread and are handed to the shard that owns the clinic
 * with g_main_context_invoke; connections are only ever touched by their shard. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-streams.h"
#include "vds-ws-guard.h"

#include <string.h>

#include "vd-protocol.h"

/* How long the shards may take, when syncd stops, to send their close frames. */
#define CLOSE_GRACE_US (2 * G_USEC_PER_SEC)

typedef struct _Shard Shard;
typedef struct _Stream Stream;

struct _Shard
{
  VdsStreams   *owner;
  GMainContext *context;        /* NULL until the shard's first stream or push (atomic) */
  GMainLoop    *loop;
  GThread      *thread;
  GHashTable   *by_tenant;      /* tenant id → GPtrArray of Stream* (borrowed) */
  GHashTable   *known;          /* tenant id → gint64*: the newest seq heard of */
  GSequence    *expiries;       /* Stream*, by expires_at */
  GSource      *expiry_timer;
  GHashTable   *all;            /* Stream* set: owns them */
  gint64        stop_deadline;  /* monotonic µs, 0 = running */
};

struct _VdsStreams
{
  VdsMetrics   *metrics;        /* borrowed */
  Shard        *shards;
  guint         n_shards;
  gint          count;          /* atomic: attached streams */

  GMutex        tenants_lock;
  GHashTable   *tenants;        /* tenant id → streams of it (GPOINTER_TO_UINT) */
  GMutex        start_lock;

  guint         per_device;     /* streams of one device, and of one session, in a clinic */
  guint         per_session;
  guint         pings_per_minute;
};

struct _Stream
{
  Shard                   *shard;
  SoupWebsocketConnection *conn;
  char                    *tenant_id;
  char                    *device_id;
  char                    *session_id;
  gint64                   expires_at;
  gint64                   sent;       /* the last cursor sent */
  GSequenceIter           *expiry;
  gboolean                 attached;   /* in by_tenant and expiries */
  gint64                   opened_us;
  double                   ping_tokens; /* the desk's {"type":"ping"} messages */
  gint64                   ping_last_us;
};

static void arm_expiry_timer (Shard *shard);

/* ---- inside a shard ---- */

static void
stream_free (Stream *s)
{
  if (s->conn != NULL)
    {
      g_signal_handlers_disconnect_by_data (s->conn, s);
      g_object_unref (s->conn);
    }
  g_free (s->tenant_id);
  g_free (s->device_id);
  g_free (s->session_id);
  g_free (s);
}

static void
count_tenant (VdsStreams *self,
              const char *tenant_id,
              gint        delta)
{
  guint n;

  g_mutex_lock (&self->tenants_lock);
  n = GPOINTER_TO_UINT (g_hash_table_lookup (self->tenants, tenant_id));
  if (delta < 0 && n <= 1)
    g_hash_table_remove (self->tenants, tenant_id);
  else
    g_hash_table_insert (self->tenants, g_strdup (tenant_id), GUINT_TO_POINTER (n + delta));
  g_mutex_unlock (&self->tenants_lock);
}

/* Out of the clinic's list and the expiry order: it gets no more cursors. */
static void
detach (Stream *s)
{
  Shard *shard = s->shard;
  GPtrArray *list;

  if (!s->attached)
    return;
  s->attached = FALSE;
  list = g_hash_table_lookup (shard->by_tenant, s->tenant_id);
  if (list != NULL)
    {
      g_ptr_array_remove_fast (list, s);
      if (list->len == 0)
        g_hash_table_remove (shard->by_tenant, s->tenant_id);
    }
  g_sequence_remove (s->expiry);
  s->expiry = NULL;
  g_atomic_int_add (&shard->owner->count, -1);
  vds_metrics_add_streams (shard->owner->metrics, -1);
  count_tenant (shard->owner, s->tenant_id, -1);
}

static void
close_stream (Stream     *s,
              gushort     code,
              const char *reason)
{
  detach (s);
  if (soup_websocket_connection_get_state (s->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (s->conn, code, reason);
}

static void
send_json (Stream     *s,
           const char *text)
{
  if (soup_websocket_connection_get_state (s->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (s->conn, text);
}

static void
send_cursor (Stream *s,
             gint64  cursor)
{
  VdStreamEvent event = { VD_STREAM_EVENT_CURSOR, cursor };
  char text[VD_STREAM_EVENT_MAX_LEN];

  if (s->sent >= 0 && cursor <= s->sent)
    return;
  s->sent = cursor;
  vd_stream_event_encode (&event, text);
  send_json (s, text);
}

static void
closed_cb (SoupWebsocketConnection *conn,
           Stream                  *s)
{
  Shard *shard = s->shard;

  detach (s);
  g_hash_table_remove (shard->all, s);
  if (shard->stop_deadline > 0 && g_hash_table_size (shard->all) == 0)
    g_main_loop_quit (shard->loop);
}

/* A desk may only ping: anything else is refused by closing, so a misbehaving or hostile
 * peer cannot make the server parse much. */
static void
message_cb (SoupWebsocketConnection *conn,
            gint                     type,
            GBytes                  *message,
            Stream                  *s)
{
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  VdStreamEvent event;

  if (len > VDS_STREAM_MAX_INCOMING)
    {
      close_stream (s, SOUP_WEBSOCKET_CLOSE_TOO_BIG, "Message too big");
      return;
    }
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      close_stream (s, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA,
                    "Only text messages are accepted");
      return;
    }

  /* Desks ping twice a minute; a peer that pings faster only makes the server work. */
  {
    double burst = MAX (s->shard->owner->pings_per_minute, 1);
    gint64 now = g_get_monotonic_time ();

    s->ping_tokens = MIN (burst, s->ping_tokens + burst / 60.0 * (now - s->ping_last_us) / 1e6);
    s->ping_last_us = now;
    if (s->ping_tokens < 1.0)
      {
        close_stream (s, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "Too many pings");
        return;
      }
    s->ping_tokens -= 1.0;
  }

  if (vd_stream_event_decode (data, len, &event) == VD_STREAM_EVENT_PING)
    {
      VdStreamEvent pong = { VD_STREAM_EVENT_PONG, 0 };
      char text[VD_STREAM_EVENT_MAX_LEN];

      vd_stream_event_encode (&pong, text);
      send_json (s, text);
      return;
    }

  close_stream (s, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                "Only {\"type\":\"ping\"} messages are accepted");
}

/* A device (or a session) about to have one stream too many in the clinic: its oldest
 * ones are closed. A desk that reconnects after a network blip opens a new stream before
 * the kernel found its old one dead; a peer that opens streams in a loop holds no more
 * than the cap. */
static void
enforce_caps (VdsStreams *self,
              GPtrArray  *list,
              Stream     *s)
{
  for (;;)
    {
      Stream *oldest_device = NULL, *oldest_session = NULL;
      guint devices = 0, sessions = 0;

      for (guint i = 0; i < list->len; i++)
        {
          Stream *o = list->pdata[i];

          if (g_strcmp0 (o->device_id, s->device_id) == 0)
            {
              devices++;
              if (oldest_device == NULL || o->opened_us < oldest_device->opened_us)
                oldest_device = o;
            }
          if (g_strcmp0 (o->session_id, s->session_id) == 0)
            {
              sessions++;
              if (oldest_session == NULL || o->opened_us < oldest_session->opened_us)
                oldest_session = o;
            }
        }
      if (devices + 1 > self->per_device)
        close_stream (oldest_device, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                      "Too many streams for this device");
      else if (sessions + 1 > self->per_session)
        close_stream (oldest_session, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                      "Too many streams for this session");
      else
        return;
    }
}

static gint
compare_expiry (gconstpointer a,
                gconstpointer b,
                gpointer      data)
{
  const Stream *sa = a, *sb = b;

  if (sa->expires_at != sb->expires_at)
    return sa->expires_at < sb->expires_at ? -1 : 1;
  return sa < sb ? -1 : sa > sb;
}

static gboolean
expiry_cb (gpointer data)
{
  Shard *shard = data;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_clear_pointer (&shard->expiry_timer, g_source_unref);
  while (g_sequence_get_length (shard->expiries) > 0)
    {
      Stream *s = g_sequence_get (g_sequence_get_begin_iter (shard->expiries));

      if (s->expires_at > now)
        break;
      g_debug ("Closing the stream of device %s: its access token expired", s->device_id);
      close_stream (s, VDS_STREAM_CLOSE_TOKEN_EXPIRED, "token expired");
    }
  arm_expiry_timer (shard);
  return G_SOURCE_REMOVE;
}

/* One timer per shard: set to its soonest expiry. */
static void
arm_expiry_timer (Shard *shard)
{
  Stream *first;
  gint64 now_ms, delay_ms;

  if (shard->expiry_timer != NULL)
    {
      g_source_destroy (shard->expiry_timer);
      g_clear_pointer (&shard->expiry_timer, g_source_unref);
    }
  if (g_sequence_get_length (shard->expiries) == 0)
    return;

  first = g_sequence_get (g_sequence_get_begin_iter (shard->expiries));
  now_ms = g_get_real_time () / 1000;
  delay_ms = CLAMP (first->expires_at * 1000 - now_ms, 0, G_MAXUINT);
  shard->expiry_timer = g_timeout_source_new ((guint) delay_ms);
  g_source_set_callback (shard->expiry_timer, expiry_cb, shard, NULL);
  g_source_attach (shard->expiry_timer, shard->context);
}

static gint64
known_seq (Shard      *shard,
           const char *tenant_id)
{
  gint64 *seq = g_hash_table_lookup (shard->known, tenant_id);

  return seq != NULL ? *seq : -1;
}

/* Closes the matching streams of list; collected first, since closing edits list. */
static void
close_matching (GPtrArray  *list,
                const char *device_id,
                GHashTable *sessions,
                gushort     code,
                const char *reason)
{
  g_autoptr(GPtrArray) doomed = g_ptr_array_new ();

  for (guint i = 0; i < list->len; i++)
    {
      Stream *s = list->pdata[i];

      if ((device_id != NULL && g_strcmp0 (s->device_id, device_id) == 0)
          || (sessions != NULL && s->session_id != NULL
              && g_hash_table_contains (sessions, s->session_id)))
        g_ptr_array_add (doomed, s);
    }
  for (guint i = 0; i < doomed->len; i++)
    close_stream (doomed->pdata[i], code, reason);
}

static void
close_all_in (Shard      *shard,
              gushort     code,
              const char *reason)
{
  g_autoptr(GPtrArray) streams = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, shard->all);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (streams, key);
  for (guint i = 0; i < streams->len; i++)
    close_stream (streams->pdata[i], code, reason);
}

static gpointer
shard_thread (gpointer data)
{
  Shard *shard = data;

  g_main_context_push_thread_default (shard->context);
  g_main_loop_run (shard->loop);
  g_main_context_pop_thread_default (shard->context);
  return NULL;
}

/* ---- what the main thread hands over ---- */

typedef enum
{
  OP_ADD,
  OP_NOTIFY,
  OP_REVOKE_DEVICE,
  OP_REVOKE_SESSIONS,
  OP_CLOSE_ALL,
  OP_STOP,
} OpKind;

typedef struct
{
  OpKind     kind;
  Shard     *shard;
  GIOStream *stream;       /* OP_ADD */
  GUri      *uri;
  char      *origin;
  char      *tenant_id;
  char      *device_id;
  char      *session_id;
  gint64     expires_at;
  gint64     seq;          /* OP_ADD: cursor; OP_NOTIFY: seq */
  GStrv      sessions;
  gushort    code;
  char      *reason;
} Op;

static void
op_free (gpointer data)
{
  Op *op = data;

  g_clear_object (&op->stream);
  g_clear_pointer (&op->uri, g_uri_unref);
  g_free (op->origin);
  g_free (op->tenant_id);
  g_free (op->device_id);
  g_free (op->session_id);
  g_strfreev (op->sessions);
  g_free (op->reason);
  g_free (op);
}

static void
do_add (Shard *shard,
        Op    *op)
{
  Stream *s = g_new0 (Stream, 1);
  g_autoptr(GIOStream) guarded = NULL;
  GPtrArray *list;

  /* Made here so that its sources belong to this shard's context. The guard counts a
   * message's bytes frame by frame (libsoup only limits single frames) and the pings. */
  guarded = vds_ws_guard_new (op->stream, VDS_STREAM_MAX_INCOMING,
                              shard->owner->pings_per_minute);
  s->conn = soup_websocket_connection_new (guarded, op->uri, SOUP_WEBSOCKET_CONNECTION_SERVER,
                                           op->origin, NULL, NULL);
  s->opened_us = g_get_monotonic_time ();
  s->ping_tokens = MAX (shard->owner->pings_per_minute, 1);
  s->ping_last_us = s->opened_us;
  s->shard = shard;
  s->tenant_id = g_steal_pointer (&op->tenant_id);
  s->device_id = g_steal_pointer (&op->device_id);
  s->session_id = g_steal_pointer (&op->session_id);
  s->expires_at = op->expires_at;
  s->sent = -1;
  g_hash_table_add (shard->all, s);

  soup_websocket_connection_set_max_incoming_payload_size (s->conn, VDS_STREAM_MAX_FRAME);
  g_signal_connect (s->conn, "message", G_CALLBACK (message_cb), s);
  g_signal_connect (s->conn, "closed", G_CALLBACK (closed_cb), s);

  if (shard->stop_deadline > 0
      || soup_websocket_connection_get_state (s->conn) != SOUP_WEBSOCKET_STATE_OPEN)
    {
      if (soup_websocket_connection_get_state (s->conn) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (s->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                                         "server shutting down");
      return;
    }

  list = g_hash_table_lookup (shard->by_tenant, s->tenant_id);
  if (list == NULL)
    {
      list = g_ptr_array_new ();
      g_hash_table_insert (shard->by_tenant, g_strdup (s->tenant_id), list);
    }
  enforce_caps (shard->owner, list, s);
  g_ptr_array_add (list, s);
  s->expiry = g_sequence_insert_sorted (shard->expiries, s, compare_expiry, NULL);
  s->attached = TRUE;
  g_atomic_int_inc (&shard->owner->count);
  vds_metrics_add_streams (shard->owner->metrics, 1);
  count_tenant (shard->owner, s->tenant_id, 1);

  if (g_sequence_iter_is_begin (s->expiry))
    arm_expiry_timer (shard);

  /* A push that committed between reading the cursor and now was heard already. */
  send_cursor (s, MAX (op->seq, known_seq (shard, s->tenant_id)));
}

static void
do_notify (Shard      *shard,
           const char *tenant_id,
           gint64      seq)
{
  GPtrArray *list;
  gint64 *known = g_hash_table_lookup (shard->known, tenant_id);

  if (known == NULL)
    {
      known = g_new (gint64, 1);
      *known = seq;
      g_hash_table_insert (shard->known, g_strdup (tenant_id), known);
    }
  else if (seq > *known)
    *known = seq;

  list = g_hash_table_lookup (shard->by_tenant, tenant_id);
  if (list == NULL)
    return;
  for (guint i = 0; i < list->len; i++)
    send_cursor (list->pdata[i], seq);
}

static void
do_revoke_sessions (Shard      *shard,
                    const GStrv sessions_ids)
{
  g_autoptr(GHashTable) sessions = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) lists = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  GHashTableIter iter;
  gpointer value;

  for (guint i = 0; sessions_ids[i] != NULL; i++)
    g_hash_table_add (sessions, sessions_ids[i]);
  /* Sessions are not per clinic: look through every clinic's streams. */
  g_hash_table_iter_init (&iter, shard->by_tenant);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (lists, g_ptr_array_ref (value));
  for (guint i = 0; i < lists->len; i++)
    close_matching (lists->pdata[i], NULL, sessions, VDS_STREAM_CLOSE_REVOKED,
                    "session revoked");
}

static gboolean
stop_check_cb (gpointer data)
{
  Shard *shard = data;

  if (g_hash_table_size (shard->all) == 0 || g_get_monotonic_time () >= shard->stop_deadline)
    {
      g_main_loop_quit (shard->loop);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
run_op (gpointer data)
{
  Op *op = data;
  Shard *shard = op->shard;
  GPtrArray *list;

  switch (op->kind)
    {
    case OP_ADD:
      do_add (shard, op);
      break;
    case OP_NOTIFY:
      do_notify (shard, op->tenant_id, op->seq);
      break;
    case OP_REVOKE_DEVICE:
      list = g_hash_table_lookup (shard->by_tenant, op->tenant_id);
      if (list != NULL)
        close_matching (list, op->device_id, NULL, VDS_STREAM_CLOSE_REVOKED, "device revoked");
      break;
    case OP_REVOKE_SESSIONS:
      do_revoke_sessions (shard, op->sessions);
      break;
    case OP_CLOSE_ALL:
      close_all_in (shard, op->code, op->reason);
      break;
    case OP_STOP:
      /* Close frames out, then quit once every peer answered or the grace ran out. */
      close_all_in (shard, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "server shutting down");
      shard->stop_deadline = g_get_monotonic_time () + CLOSE_GRACE_US;
      if (g_hash_table_size (shard->all) == 0)
        g_main_loop_quit (shard->loop);
      else
        {
          GSource *check = g_timeout_source_new (50);
          g_source_set_callback (check, stop_check_cb, shard, NULL);
          g_source_attach (check, shard->context);
          g_source_unref (check);
        }
      break;
    default:
      break;
    }
  return G_SOURCE_REMOVE;
}

/* A shard's thread starts with its first stream or push, so many shards cost a small
 * deployment nothing. */
static void
shard_start (Shard *shard)
{
  VdsStreams *self = shard->owner;
  GMainContext *context;

  g_mutex_lock (&self->start_lock);
  if (shard->context == NULL)
    {
      context = g_main_context_new ();
      shard->loop = g_main_loop_new (context, FALSE);
      shard->by_tenant = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                (GDestroyNotify) g_ptr_array_unref);
      shard->known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      shard->expiries = g_sequence_new (NULL);
      shard->all = g_hash_table_new_full (g_direct_hash, g_direct_equal,
                                          (GDestroyNotify) stream_free, NULL);
      g_atomic_pointer_set (&shard->context, context);
      shard->thread = g_thread_new ("vds-streams", shard_thread, shard);
    }
  g_mutex_unlock (&self->start_lock);
}

/* Runs op on shard's thread. Only an op that may leave something behind (a stream, a
 * clinic's newest seq) starts the shard; the others have nothing to do on one that
 * never started. */
static void
hand_over (Shard    *shard,
           Op       *op,
           gboolean  start)
{
  if (start)
    shard_start (shard);
  else if (g_atomic_pointer_get (&shard->context) == NULL)
    {
      op_free (op);
      return;
    }
  op->shard = shard;
  g_main_context_invoke_full (shard->context, G_PRIORITY_DEFAULT, run_op, op, op_free);
}

static Shard *
shard_of (VdsStreams *self,
          const char *tenant_id)
{
  return &self->shards[g_str_hash (tenant_id) % self->n_shards];
}

/* ---- the public side (main thread) ---- */

VdsStreams *
vds_streams_new (VdsMetrics *metrics,
                 guint       n_shards)
{
  VdsStreams *self = g_new0 (VdsStreams, 1);

  self->metrics = metrics;
  self->n_shards = CLAMP (n_shards, 1, VDS_STREAM_THREADS_MAX);
  self->shards = g_new0 (Shard, self->n_shards);
  g_mutex_init (&self->tenants_lock);
  self->tenants = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_mutex_init (&self->start_lock);
  for (guint i = 0; i < self->n_shards; i++)
    self->shards[i].owner = self;
  self->per_device = 4;
  self->per_session = 2;
  self->pings_per_minute = 6;
  return self;
}

void
vds_streams_set_limits (VdsStreams *self,
                        guint       per_device,
                        guint       per_session,
                        guint       pings_per_minute)
{
  self->per_device = MAX (per_device, 1);
  self->per_session = MAX (per_session, 1);
  self->pings_per_minute = MAX (pings_per_minute, 1);
}

void
vds_streams_free (VdsStreams *self)
{
  if (self == NULL)
    return;

  for (guint i = 0; i < self->n_shards; i++)
    {
      Op *op = g_new0 (Op, 1);

      op->kind = OP_STOP;
      hand_over (&self->shards[i], op, FALSE);
    }
  for (guint i = 0; i < self->n_shards; i++)
    {
      Shard *shard = &self->shards[i];

      if (shard->context == NULL)
        continue;
      g_thread_join (shard->thread);
      if (shard->expiry_timer != NULL)
        {
          g_source_destroy (shard->expiry_timer);
          g_clear_pointer (&shard->expiry_timer, g_source_unref);
        }
      /* Streams still closing after the grace go with their connections. */
      g_hash_table_unref (shard->all);
      g_hash_table_unref (shard->by_tenant);
      g_hash_table_unref (shard->known);
      g_sequence_free (shard->expiries);
      g_main_loop_unref (shard->loop);
      g_main_context_unref (shard->context);
    }
  g_free (self->shards);
  g_hash_table_unref (self->tenants);
  g_mutex_clear (&self->tenants_lock);
  g_mutex_clear (&self->start_lock);
  g_free (self);
}

void
vds_streams_add (VdsStreams *self,
                 GIOStream  *stream,
                 GUri       *uri,
                 const char *origin,
                 const char *tenant_id,
                 const char *device_id,
                 const char *session_id,
                 gint64      expires_at,
                 gint64      cursor)
{
  Op *op;

  g_return_if_fail (self != NULL);
  g_return_if_fail (G_IS_IO_STREAM (stream));
  g_return_if_fail (tenant_id != NULL);

  op = g_new0 (Op, 1);
  op->kind = OP_ADD;
  op->stream = g_object_ref (stream);
  op->uri = uri != NULL ? g_uri_ref (uri) : NULL;
  op->origin = g_strdup (origin);
  op->tenant_id = g_strdup (tenant_id);
  op->device_id = g_strdup (device_id);
  op->session_id = g_strdup (session_id);
  op->expires_at = expires_at;
  op->seq = cursor;
  hand_over (shard_of (self, tenant_id), op, TRUE);
}

void
vds_streams_notify (VdsStreams *self,
                    const char *tenant_id,
                    gint64      seq)
{
  Op *op;

  g_return_if_fail (self != NULL);
  g_return_if_fail (tenant_id != NULL);

  op = g_new0 (Op, 1);
  op->kind = OP_NOTIFY;
  op->tenant_id = g_strdup (tenant_id);
  op->seq = seq;
  hand_over (shard_of (self, tenant_id), op, TRUE);
}

void
vds_streams_revoke_device (VdsStreams *self,
                           const char *tenant_id,
                           const char *device_id)
{
  Op *op;

  g_return_if_fail (self != NULL);

  if (tenant_id == NULL || device_id == NULL)
    return;
  op = g_new0 (Op, 1);
  op->kind = OP_REVOKE_DEVICE;
  op->tenant_id = g_strdup (tenant_id);
  op->device_id = g_strdup (device_id);
  hand_over (shard_of (self, tenant_id), op, FALSE);
}

void
vds_streams_revoke_sessions (VdsStreams         *self,
                             const char * const *session_ids)
{
  g_return_if_fail (self != NULL);

  if (session_ids == NULL || session_ids[0] == NULL)
    return;
  for (guint i = 0; i < self->n_shards; i++)
    {
      Op *op = g_new0 (Op, 1);

      op->kind = OP_REVOKE_SESSIONS;
      op->sessions = g_strdupv ((GStrv) session_ids);
      hand_over (&self->shards[i], op, FALSE);
    }
}

void
vds_streams_close_all (VdsStreams *self,
                       gushort     code,
                       const char *reason)
{
  g_return_if_fail (self != NULL);

  for (guint i = 0; i < self->n_shards; i++)
    {
      Op *op = g_new0 (Op, 1);

      op->kind = OP_CLOSE_ALL;
      op->code = code;
      op->reason = g_strdup (reason);
      hand_over (&self->shards[i], op, FALSE);
    }
}

guint
vds_streams_count (VdsStreams *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return (guint) g_atomic_int_get (&self->count);
}

GPtrArray *
vds_streams_tenants (VdsStreams *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (self != NULL, out);

  g_mutex_lock (&self->tenants_lock);
  g_hash_table_iter_init (&iter, self->tenants);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (out, g_strdup (key));
  g_mutex_unlock (&self->tenants_lock);
  return out;
}
