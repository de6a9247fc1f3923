/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-sync-engine.c — rounds of push-then-pull against vetdesk-syncd over libsoup, the
 * triggers that start them, retries with backoff, token refresh, and the state the
 * window shows. Pulled pages are applied on a worker thread. */
#define G_LOG_DOMAIN "vdclient"

#include "config.h"

#include <inttypes.h>

#include "vd-sync-engine.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "vd-api-client.h"
#include "vd-error.h"
#include "vd-protocol.h"
#include "vd-session.h"
#include "vd-session-private.h"

#define PUSH_BATCH        500
#define PULL_PAGE         1000
/* A bootstrap asks for pages of 2,000: twice the usual page for fewer round trips, while
 * the up to three pages in the pipeline (JSON, parse tree, changes) stay small. With the
 * protocol's 5,000 the 100,000-appointment clinic came in 9.5 s instead of 13 s but the
 * app peaked at 201 MB instead of 182 MB (tests/bench/bench-client-ui). */
#define BOOTSTRAP_PAGE    2000
#define DEBOUNCE_MS       1000
/* With the stream up the other desks hear of a push at once, so a change waits less for
 * company: a user action is already one commit, the wait only gathers a quick burst. */
#define LIVE_DEBOUNCE_MS  150
#define PERIODIC_S        30
/* While the stream is up the periodic pull is only a safety net. */
#define LIVE_PERIODIC_S   300
#define STREAM_KEEPALIVE_S 30
#define BACKOFF_MAX_MS    60000
#define MAX_RATE_WAITS    5
#define MAX_SKEW_RESTAMPS 2
#define SKEW_NOTICE_MS    60000

G_DEFINE_ENUM_TYPE (VdSyncState, vd_sync_state,
                    G_DEFINE_ENUM_VALUE (VD_SYNC_OFFLINE, "offline"),
                    G_DEFINE_ENUM_VALUE (VD_SYNC_CONNECTING, "connecting"),
                    G_DEFINE_ENUM_VALUE (VD_SYNC_SYNCING, "syncing"),
                    G_DEFINE_ENUM_VALUE (VD_SYNC_UP_TO_DATE, "up-to-date"),
                    G_DEFINE_ENUM_VALUE (VD_SYNC_NEEDS_SIGN_IN, "needs-sign-in"),
                    G_DEFINE_ENUM_VALUE (VD_SYNC_ERROR, "error"))

struct _VdSyncEngine
{
  GObject          parent_instance;

  VdStore         *store;
  char            *server_url;
  char            *fingerprint;
  VdApiClient     *api;            /* the session, the pin, the tokens, the refresh */
  GNetworkMonitor *monitor;

  VdSyncState      state;
  double           progress;
  guint            pending;
  gint64           last_sync;
  char            *error_message;
  gint64           clock_offset_ms;
  guint            pulled;
  guint            total;

  gboolean         started;
  /* The certificate changed, or no token works: retrying cannot help until someone acts. */
  gboolean         halted;
  guint            debounce_id;
  guint            periodic_id;
  guint            retry_id;
  guint            failures;
  GRand           *rand;

  GTask           *round;          /* the running round, or NULL */
  GCancellable    *round_cancellable;
  GPtrArray       *waiters;        /* sync_async tasks answered by the running round */
  GPtrArray       *next_waiters;   /* … by the round after it */
  gboolean         again;          /* something changed during the round: run another */
  guint            changed_id;     /* the idle that reads what the store's ::changed implies */
  guint            periodic_s;     /* the periodic pull's interval without a stream */
  gint64           periodic_at;    /* monotonic µs of the last periodic pull */

  /* The live stream: the server tells it when the clinic's cursor moves. */
  SoupWebsocketConnection *ws;
  SoupMessage     *ws_msg;         /* the handshake being made */
  VdPinCheck       ws_check;
  GCancellable    *ws_cancellable;
  guint            ws_retry_id;
  guint            ws_failures;
  gboolean         live;
};

G_DEFINE_FINAL_TYPE (VdSyncEngine, vd_sync_engine, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_STORE,
  PROP_SERVER_URL,
  PROP_PINNED_FINGERPRINT,
  PROP_STATE,
  PROP_PROGRESS,
  PROP_PENDING,
  PROP_LAST_SYNC,
  PROP_ERROR_MESSAGE,
  PROP_CLOCK_OFFSET_MS,
  PROP_PULLED,
  PROP_TOTAL,
  PROP_LIVE,
  PROP_PERIODIC_INTERVAL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  REFRESH_TOKEN_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* What a round goes back to after a token refresh or a Retry-After wait. */
typedef enum
{
  STEP_PUSH,
  STEP_PULL,
  STEP_REFRESH,
} Step;

/* Pulling is a pipeline: while page n is applied on a thread, page n + 1 is on its way
 * (at most one request in flight, one page decoded and waiting, one being applied). The
 * store moves its cursor only in the transaction that applies a page, and pages are
 * applied one at a time in order, so a round that fails leaves the cursor after the last
 * page applied. */
typedef struct
{
  VdPinCheck   check;
  SoupMessage *msg;
  gint64       batch_id;
  gint64       start_cursor;
  gint64       server_seq;     /* the server's cursor as a push answer gave it, or 0 */
  gboolean     bootstrap;
  gboolean     refreshed;
  guint        skew_restamps;
  guint        rate_waits;
  Step         resume;
  guint        wait_id;

  gint64        next_cursor;   /* where the next pull request starts */
  gboolean      in_flight;     /* a pull request is on its way */
  gboolean      decoding;      /* a pulled page is being decoded on a thread */
  gboolean      applying;      /* a page is being applied on a thread */
  VdPullAnswer *ready;         /* decoded, waiting for the page before it to be applied */
  gboolean      over;          /* the round has its answer (or will when applying ends) */
  GError       *deferred;      /* the error to return once the page being applied is in */
} Round;

static void round_push (GTask *task);
static void round_pull (GTask *task);
static void round_refresh (GTask *task, Step resume);
static void start_round (VdSyncEngine *self);
static void stream_ensure (VdSyncEngine *self);
static void stream_close (VdSyncEngine *self);

/* ---- Properties ------------------------------------------------------------------- */

static void
set_state (VdSyncEngine *self,
           VdSyncState   state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
set_error_message (VdSyncEngine *self,
                   const char   *message)
{
  if (g_strcmp0 (self->error_message, message) == 0)
    return;
  g_free (self->error_message);
  self->error_message = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_MESSAGE]);
}

static void
set_progress (VdSyncEngine *self,
              double        progress,
              guint         pulled,
              guint         total)
{
  progress = CLAMP (progress, 0.0, 1.0);
  g_object_freeze_notify (G_OBJECT (self));
  if (self->progress != progress)
    {
      self->progress = progress;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
    }
  if (self->pulled != pulled)
    {
      self->pulled = pulled;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PULLED]);
    }
  if (self->total != total)
    {
      self->total = total;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOTAL]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static void
update_pending (VdSyncEngine *self)
{
  guint pending = vd_store_count_pending (self->store);

  if (self->pending == pending)
    return;
  self->pending = pending;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PENDING]);
}

static void
update_clock_offset (VdSyncEngine *self)
{
  gint64 offset = vd_hlc_clock_get_offset (vd_store_get_clock (self->store));

  if (self->clock_offset_ms == offset)
    return;
  self->clock_offset_ms = offset;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLOCK_OFFSET_MS]);
}

/* The notice while the computer's clock is known to be wrong, or NULL. */
static char *
skew_message (VdSyncEngine *self)
{
  gint64 offset = ABS (self->clock_offset_ms);
  gint64 minutes = (offset + 30000) / 60000;

  if (offset < SKEW_NOTICE_MS)
    return NULL;
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                       "This computer’s clock is off by %" PRId64 " minute. VetDesk corrects for it, but please set the right date and time.",
                                       "This computer’s clock is off by %" PRId64 " minutes. VetDesk corrects for it, but please set the right date and time.",
                                       (gulong) minutes),
                          minutes);
}

/* ---- Round plumbing --------------------------------------------------------------- */

/* Every error answer of a round goes through here. A page still being applied on a
 * thread is let finish first: the next round must not start, read the cursor and apply
 * pages of its own while this one's last transaction is under way. A round already
 * answered keeps its first error (a request still out when it failed may end later). */
static void
round_return_error (GTask  *task,
                    GError *error)
{
  Round *round = g_task_get_task_data (task);

  if (round->over)
    {
      g_error_free (error);
      return;
    }
  round->over = TRUE;
  if (round->applying)
    {
      round->deferred = error;
      return;
    }
  g_task_return_error (task, error);
}

static void
round_free (Round *round)
{
  g_clear_pointer (&round->ready, vd_pull_answer_free);
  g_clear_error (&round->deferred);
  g_clear_handle_id (&round->wait_id, g_source_remove);
  g_clear_object (&round->msg);
  vd_pin_check_clear (&round->check);
  g_free (round);
}

/* Ends the round with a state, a sentence for the person, and an error for callers. */
static void
round_fail (GTask       *task,
            VdSyncState  state,
            const char  *message,
            GError      *error)
{
  VdSyncEngine *self = g_task_get_source_object (task);
  Round *round = g_task_get_task_data (task);

  if (round->over)
    {
      g_error_free (error);
      return;
    }
  set_state (self, state);
  set_error_message (self, message);
  set_progress (self, self->progress, self->pulled, self->total);
  round_return_error (task, error);
}

static void
round_succeed (GTask *task)
{
  VdSyncEngine *self = g_task_get_source_object (task);
  Round *round = g_task_get_task_data (task);
  g_autofree char *notice = skew_message (self);
  g_autoptr(GPtrArray) rejected = vd_store_list_rejected (self->store, NULL);

  g_assert (!round->over && !round->applying && !round->in_flight && !round->decoding);
  round->over = TRUE;
  /* Refused changes stay on this computer until someone looks at them: say so. */
  if (notice == NULL && rejected != NULL && rejected->len > 0)
    notice = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                           "%u change was refused by the server and is kept on this computer for review.",
                                           "%u changes were refused by the server and are kept on this computer for review.",
                                           rejected->len),
                              rejected->len);
  self->halted = FALSE;
  self->failures = 0;
  self->last_sync = g_get_real_time () / G_USEC_PER_SEC;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_SYNC]);
  set_progress (self, 1.0, self->pulled, MAX (self->total, self->pulled));
  set_error_message (self, notice);
  set_state (self, VD_SYNC_UP_TO_DATE);
  update_pending (self);
  g_task_return_boolean (task, TRUE);
}

static const char *
offline_message (void)
{
  return _("Working offline — changes are kept on this computer and will be sent when the connection returns");
}

/* A request that brought no HTTP answer. */
static void
fail_transport (GTask  *task,
                GError *error)
{
  VdSyncEngine *self = g_task_get_source_object (task);
  Round *round = g_task_get_task_data (task);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      round_return_error (task, error);
      return;
    }
  if (round->check.mismatch)
    {
      g_autofree char *message = g_strdup_printf (_("The server’s certificate has changed (it is now %s). Syncing has stopped so no data goes to a server that may not be yours. Ask your administrator before signing in again."),
                                                  round->check.seen);

      self->halted = TRUE;
      g_clear_error (&error);
      round_fail (task, VD_SYNC_ERROR, message,
                  g_error_new_literal (VD_SESSION_ERROR, VD_SESSION_ERROR_CERT_CHANGED, message));
      return;
    }
  /* A handshake cut short is the network's doing; a certificate refused is not. */
  if (round->check.untrusted ||
      g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE) ||
      g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED))
    {
      g_autofree char *message = g_strdup_printf (_("A secure connection to the server could not be made: %s. Syncing has stopped; ask your administrator."),
                                                  error->message);

      self->halted = TRUE;
      round_fail (task, VD_SYNC_ERROR, message, error);
      return;
    }
  if (vd_http_error_is_offline (error) || error->domain == G_TLS_ERROR)
    {
      round_fail (task, VD_SYNC_OFFLINE, offline_message (), error);
      return;
    }
  {
    g_autofree char *message = g_strdup_printf (_("Syncing failed: %s. It will be tried again shortly."),
                                                error->message);

    round_fail (task, VD_SYNC_ERROR, message, error);
  }
}

static SoupMessage *
round_message (GTask      *task,
               const char *method,
               const char *path,
               GBytes     *body,
               gboolean    authorized)
{
  VdSyncEngine *self = g_task_get_source_object (task);
  Round *round = g_task_get_task_data (task);
  SoupMessage *msg = vd_api_client_new_message (self->api, method, path, body, authorized,
                                                &round->check);

  if (msg == NULL)
    return NULL;
  /* libsoup opens a new connection (a whole TLS handshake) for every POST unless told
   * the request is idempotent. A push is: a replayed batch_id returns the stored answer.
   * (A refresh is not, and VdApiClient sends it so.) */
  if (authorized)
    soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
  g_set_object (&round->msg, msg);
  return msg;
}

static void
send_message (GTask               *task,
              SoupMessage         *msg,
              GAsyncReadyCallback  callback)
{
  VdSyncEngine *self = g_task_get_source_object (task);

  soup_session_send_and_read_async (vd_api_client_get_session (self->api), msg, G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task), callback, g_object_ref (task));
}

static gboolean
resume_cb (gpointer user_data)
{
  GTask *task = user_data;
  Round *round = g_task_get_task_data (task);
  GError *error = NULL;

  round->wait_id = 0;
  /* A wait or a token refresh that ends after the round failed elsewhere. */
  if (round->over)
    return G_SOURCE_REMOVE;
  if (g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error))
    {
      round_return_error (task, g_steal_pointer (&error));
      return G_SOURCE_REMOVE;
    }
  switch (round->resume)
    {
    case STEP_PUSH:
      round_push (task);
      break;
    case STEP_PULL:
      round_pull (task);
      break;
    case STEP_REFRESH:
    default:
      round_refresh (task, STEP_PUSH);
      break;
    }
  return G_SOURCE_REMOVE;
}

/* Answers every call but 200. step: what to repeat once the cause is dealt with. */
static void
handle_status (GTask  *task,
               GBytes *body,
               Step    step)
{
  VdSyncEngine *self = g_task_get_source_object (task);
  Round *round = g_task_get_task_data (task);
  guint status = soup_message_get_status (round->msg);
  g_autofree char *code = NULL;
  g_autofree char *text = vd_http_error_text (body, &code);
  g_autofree char *message = NULL;

  if (status == SOUP_STATUS_UNAUTHORIZED && step != STEP_REFRESH && !round->refreshed &&
      vd_api_client_has_refresh_token (self->api))
    {
      /* The access token expired (15 minutes) or the server restarted: one refresh. */
      round->refreshed = TRUE;
      round_refresh (task, step);
      return;
    }
  if (status == SOUP_STATUS_UNAUTHORIZED ||
      (step == STEP_REFRESH && (status == SOUP_STATUS_BAD_REQUEST || status == SOUP_STATUS_FORBIDDEN)))
    {
      self->halted = TRUE;
      round_fail (task, VD_SYNC_NEEDS_SIGN_IN,
                  _("Your sign-in has expired or was ended. Sign in again to keep syncing; your work on this computer is kept."),
                  g_error_new_literal (VD_ERROR, VD_ERROR_UNAUTHORIZED, text != NULL ? text : "unauthorized"));
      return;
    }
  if (status == 429)
    {
      guint seconds = vd_http_retry_after (round->msg, 1);

      if (++round->rate_waits <= MAX_RATE_WAITS && seconds <= 300)
        {
          /* The server says when: ask again exactly then, not sooner. */
          g_debug ("Rate limited; waiting %u s as the server asked", seconds);
          round->resume = step;
          round->wait_id = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, MAX (seconds, 1),
                                                       resume_cb, g_object_ref (task),
                                                       g_object_unref);
          return;
        }
      message = g_strdup_printf (_("The server is busy and asked to wait %u seconds; syncing will resume then."), seconds);
      round_fail (task, VD_SYNC_ERROR, message,
                  g_error_new_literal (VD_ERROR, VD_ERROR_RATE_LIMITED, message));
      return;
    }
  if (status == SOUP_STATUS_FORBIDDEN)
    {
      self->halted = TRUE;
      round_fail (task, VD_SYNC_ERROR,
                  _("This account may not sync this clinic’s records. Ask your clinic’s administrator to check its role."),
                  g_error_new_literal (VD_ERROR, VD_ERROR_FORBIDDEN, text != NULL ? text : "forbidden"));
      return;
    }
  if (status >= 500)
    message = g_strdup_printf (_("The server has a problem (%s). Your changes are kept and syncing will be tried again shortly."),
                               text != NULL ? text : soup_message_get_reason_phrase (round->msg));
  else
    message = g_strdup_printf (_("The server refused to sync: %s"),
                               text != NULL ? text : soup_message_get_reason_phrase (round->msg));
  round_fail (task, VD_SYNC_ERROR, message,
              g_error_new (VD_ERROR, status >= 500 ? VD_ERROR_UNAVAILABLE : VD_ERROR_BAD_REQUEST,
                           "%u: %s", status, message));
}

/* ---- Refresh ---------------------------------------------------------------------- */

static void
refresh_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Round *round = g_task_get_task_data (task);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  if (!vd_api_client_refresh_finish (VD_API_CLIENT (source), result, &msg, &body,
                                     &round->check, &error))
    {
      if (msg == NULL)
        {
          round_fail (task, VD_SYNC_NEEDS_SIGN_IN,
                      _("Sign in to start syncing; your work on this computer is kept."),
                      g_steal_pointer (&error));
          return;
        }
      g_set_object (&round->msg, msg);
      if (body == NULL)
        fail_transport (task, g_steal_pointer (&error));
      else if (soup_message_get_status (msg) != SOUP_STATUS_OK)
        handle_status (task, body, STEP_REFRESH);
      else
        round_fail (task, VD_SYNC_ERROR, _("The server’s answer to a sign-in renewal could not be understood."),
                    g_steal_pointer (&error));
      return;
    }

  round->resume = round->resume == STEP_REFRESH ? STEP_PUSH : round->resume;
  resume_cb (task);
}

/* One refresh for everything on the API client: a refresh already under way (the
 * monitor's, say) is waited for, not repeated. */
static void
round_refresh (GTask *task,
               Step   resume)
{
  VdSyncEngine *self = g_task_get_source_object (task);
  Round *round = g_task_get_task_data (task);

  round->resume = resume;
  vd_api_client_refresh_async (self->api, refresh_done_cb, g_object_ref (task));
}

/* ---- Push ------------------------------------------------------------------------- */

static void
push_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  VdSyncEngine *self = g_task_get_source_object (task);
  Round *round = g_task_get_task_data (task);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VdPushAnswer) answer = NULL;
  gconstpointer data;
  gsize len = 0;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (body == NULL)
    {
      fail_transport (task, g_steal_pointer (&error));
      return;
    }
  if (soup_message_get_status (round->msg) != SOUP_STATUS_OK)
    {
      handle_status (task, body, STEP_PUSH);
      return;
    }

  set_state (self, VD_SYNC_SYNCING);
  data = g_bytes_get_data (body, &len);
  answer = vd_push_answer_decode (data, len, &error);
  if (answer == NULL)
    {
      GError *bad = g_error_new (VD_STORE_ERROR, VD_STORE_ERROR_FAILED,
                                 _("The server’s answer to batch %" PRId64 " could not be understood (%s); the changes stay on this computer and will be sent again."),
                                 round->batch_id, error->message);

      round_fail (task, VD_SYNC_ERROR, bad->message, bad);
      return;
    }
  if (!vd_store_ack_batch (self->store, round->batch_id, answer, &error))
    {
      round_fail (task, VD_SYNC_ERROR, error->message, g_steal_pointer (&error));
      return;
    }

  if (vd_push_answer_has_code (answer, "clock_skew"))
    {
      if (++round->skew_restamps > MAX_SKEW_RESTAMPS)
        {
          g_autofree char *message = skew_message (self);

          round_fail (task, VD_SYNC_ERROR,
                      message != NULL ? message : _("The server keeps refusing this computer’s changes because of its clock. Please set the right date and time."),
                      g_error_new_literal (VD_ERROR, VD_ERROR_CLOCK_SKEW, "clock skew"));
          return;
        }
      if (!vd_store_restamp_pending (self->store, &error))
        {
          round_fail (task, VD_SYNC_ERROR, error->message, g_steal_pointer (&error));
          return;
        }
      update_clock_offset (self);
      {
        g_autofree char *message = skew_message (self);

        set_error_message (self, message);
      }
    }
  round->server_seq = MAX (round->server_seq, answer->cursor);
  update_pending (self);
  round_push (task);
}

static void
round_push (GTask *task)
{
  VdSyncEngine *self = g_task_get_source_object (task);
  Round *round = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GPtrArray) changes = NULL;
  g_autofree char *path = NULL;
  char *data;
  gsize len = 0;

  if (!vd_store_next_batch (self->store, PUSH_BATCH, &round->batch_id, &changes, &error))
    {
      if (error == NULL)
        g_set_error_literal (&error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED,
                             _("The changes waiting on this computer could not be read."));
      round_fail (task, VD_SYNC_ERROR, error->message, g_steal_pointer (&error));
      return;
    }
  if (changes == NULL)
    {
      round_pull (task);
      return;
    }
  data = vd_push_request_encode (vd_store_get_device_id (self->store), round->batch_id,
                                 changes, &len);
  body = g_bytes_new_take (data, len);
  path = g_strdup_printf ("/v1/tenants/%s/sync/push", vd_store_get_tenant_id (self->store));
  send_message (task, round_message (task, SOUP_METHOD_POST, path, body, TRUE), push_done_cb);
}

/* ---- Pull ------------------------------------------------------------------------- */

typedef struct
{
  guint    n_changes;
  gint64   cursor;
  gboolean more;
} PageInfo;

static void start_apply (GTask *task, VdPullAnswer *page);

/* The next request, when the pipeline has room for it. */
static void
pull_more (GTask *task)
{
  Round *round = g_task_get_task_data (task);

  if (!round->over && !round->in_flight && !round->decoding && round->ready == NULL)
    round_pull (task);
}

static void
page_fail (GTask  *task,
           GError *error)
{
  g_autofree char *message = g_strdup_printf (_("Changes from the server could not be saved on this computer: %s"),
                                              error->message);

  round_fail (task, VD_SYNC_ERROR, message, error);
}

static void
apply_page_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  VdSyncEngine *self = source_object;
  VdPullAnswer *page = task_data;
  g_autoptr(GError) error = NULL;
  PageInfo *info;

  if (!vd_store_apply_pull (self->store, page, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  info = g_new0 (PageInfo, 1);
  info->n_changes = page->changes->len;
  info->cursor = page->cursor;
  info->more = page->more;
  g_task_return_pointer (task, info, g_free);
}

static void
page_applied_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  VdSyncEngine *self = VD_SYNC_ENGINE (source);
  Round *round = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree PageInfo *info = NULL;
  guint pulled;
  guint total;
  double progress;

  round->applying = FALSE;
  info = g_task_propagate_pointer (G_TASK (result), &error);
  if (round->over)
    {
      /* The round failed while this page was applied: now it may say so. */
      if (round->deferred != NULL)
        g_task_return_error (task, g_steal_pointer (&round->deferred));
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      round_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (info == NULL)
    {
      page_fail (task, g_steal_pointer (&error));
      return;
    }

  pulled = self->pulled + info->n_changes;
  if (!info->more)
    {
      progress = 1.0;
      total = pulled;
    }
  else if (round->server_seq > info->cursor && info->cursor > round->start_cursor)
    {
      double done = (double) (info->cursor - round->start_cursor) /
                    (double) (round->server_seq - round->start_cursor);

      progress = done;
      total = (guint) (pulled / MAX (done, 0.001));
    }
  else
    {
      /* No idea how far the log goes: creep towards the end one page at a time. */
      total = pulled + (round->bootstrap ? BOOTSTRAP_PAGE : PULL_PAGE);
      progress = (double) pulled / total;
    }
  if (!round->bootstrap)
    progress = info->more ? self->progress : 1.0;
  set_progress (self, progress, pulled, MAX (total, pulled));

  if (round->ready != NULL)
    {
      gboolean more = round->ready->more;

      start_apply (task, g_steal_pointer (&round->ready));
      if (more)
        pull_more (task);
    }
  else if (info->more)
    pull_more (task);
  else
    round_succeed (task);
}

/* Takes page. */
static void
start_apply (GTask        *task,
             VdPullAnswer *page)
{
  VdSyncEngine *self = g_task_get_source_object (task);
  Round *round = g_task_get_task_data (task);
  g_autoptr(GTask) apply = NULL;

  g_assert (!round->applying);
  round->applying = TRUE;
  apply = g_task_new (self, g_task_get_cancellable (task), page_applied_cb, g_object_ref (task));
  g_task_set_source_tag (apply, apply_page_thread);
  g_task_set_task_data (apply, page, (GDestroyNotify) vd_pull_answer_free);
  g_task_run_in_thread (apply, apply_page_thread);
}

/* json-glib takes ~30 % of a page's time: decoded on a thread, so the next request can
 * leave before the page is applied. */
static void
decode_page_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  GBytes *body = task_data;
  g_autoptr(GError) error = NULL;
  VdPullAnswer *page;
  gconstpointer data;
  gsize len = 0;

  data = g_bytes_get_data (body, &len);
  page = vd_pull_answer_decode (data, len, &error);
  if (page == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, page, (GDestroyNotify) vd_pull_answer_free);
}

static void
page_decoded_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Round *round = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  VdPullAnswer *page;
  gboolean more;

  round->decoding = FALSE;
  page = g_task_propagate_pointer (G_TASK (result), &error);
  if (round->over)
    {
      g_clear_pointer (&page, vd_pull_answer_free);
      return;
    }
  if (page == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        round_return_error (task, g_steal_pointer (&error));
      else
        page_fail (task, g_steal_pointer (&error));
      return;
    }

  more = page->more;
  if (more)
    round->next_cursor = page->cursor;
  if (!round->applying)
    start_apply (task, page);
  else
    round->ready = page;
  if (more)
    pull_more (task);
}

static void
pull_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  VdSyncEngine *self = g_task_get_source_object (task);
  Round *round = g_task_get_task_data (task);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) decode = NULL;

  round->in_flight = FALSE;
  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (round->over)
    return;
  if (body == NULL)
    {
      fail_transport (task, g_steal_pointer (&error));
      return;
    }
  if (soup_message_get_status (round->msg) != SOUP_STATUS_OK)
    {
      handle_status (task, body, STEP_PULL);
      return;
    }

  set_state (self, VD_SYNC_SYNCING);
  round->decoding = TRUE;
  decode = g_task_new (self, g_task_get_cancellable (task), page_decoded_cb, g_object_ref (task));
  g_task_set_source_tag (decode, decode_page_thread);
  g_task_set_task_data (decode, g_steal_pointer (&body), (GDestroyNotify) g_bytes_unref);
  g_task_run_in_thread (decode, decode_page_thread);
}

static void
round_pull (GTask *task)
{
  VdSyncEngine *self = g_task_get_source_object (task);
  Round *round = g_task_get_task_data (task);
  g_autofree char *path = NULL;
  int limit = PULL_PAGE;

  g_assert (!round->in_flight);
  /* A bootstrap's first page is an ordinary one, so the first rows and the progress bar
   * move within a second; the rest come in the largest pages. */
  if (round->bootstrap && round->next_cursor != round->start_cursor)
    limit = BOOTSTRAP_PAGE;
  path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=%" PRId64 "&limit=%d",
                          vd_store_get_tenant_id (self->store), round->next_cursor, limit);
  round->in_flight = TRUE;
  send_message (task, round_message (task, SOUP_METHOD_GET, path, NULL, TRUE), pull_done_cb);
}

/* ---- Scheduling ------------------------------------------------------------------- */

static gboolean
retry_cb (gpointer user_data)
{
  VdSyncEngine *self = user_data;

  self->retry_id = 0;
  vd_sync_engine_sync_now (self);
  return G_SOURCE_REMOVE;
}

/* 1 s, 2 s, 4 s … 60 s after that many failures, each drawn from its upper half so
 * desks that failed together do not come back together. */
static guint
backoff_delay (VdSyncEngine *self,
               guint         failures)
{
  guint base = DEBOUNCE_MS;

  for (guint i = 0; i < failures && base < BACKOFF_MAX_MS; i++)
    base *= 2;
  base = MIN (base, BACKOFF_MAX_MS);
  return base / 2 + (guint) g_rand_int_range (self->rand, 0, (gint32) (base / 2 + 1));
}

static void
schedule_retry (VdSyncEngine *self)
{
  guint delay = backoff_delay (self, self->failures++);

  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->retry_id = g_timeout_add (delay, retry_cb, self);
}

static void
round_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  VdSyncEngine *self = VD_SYNC_ENGINE (source);
  g_autoptr(GPtrArray) waiters = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = g_task_propagate_boolean (G_TASK (result), &error);
  g_clear_object (&self->round);

  waiters = g_steal_pointer (&self->waiters);
  self->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *waiter = g_ptr_array_index (waiters, i);

      if (ok)
        g_task_return_boolean (waiter, TRUE);
      else
        g_task_return_error (waiter, g_error_copy (error));
    }
  g_assert (ok || error != NULL);

  if (!ok && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (!ok && self->started && !self->halted)
    schedule_retry (self);
  /* The stream opens once a round has shown the server, the certificate and the token
   * are good; a desk that must stop syncing stops listening too. */
  if (self->halted)
    stream_close (self);
  else if (ok && self->started)
    stream_ensure (self);

  if ((self->again || self->next_waiters->len > 0) && !self->halted)
    start_round (self);
  else if (self->next_waiters->len > 0)
    {
      /* Halted: those callers get this round's answer too. */
      g_ptr_array_extend_and_steal (self->waiters, g_steal_pointer (&self->next_waiters));
      self->next_waiters = g_ptr_array_new_with_free_func (g_object_unref);
      for (guint i = 0; i < self->waiters->len; i++)
        g_task_return_error (g_ptr_array_index (self->waiters, i), g_error_copy (error));
      g_ptr_array_set_size (self->waiters, 0);
    }
}

static void
start_round (VdSyncEngine *self)
{
  Round *round;

  g_assert (self->round == NULL);

  self->again = FALSE;
  g_ptr_array_extend_and_steal (self->waiters, g_steal_pointer (&self->next_waiters));
  self->next_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  g_clear_handle_id (&self->retry_id, g_source_remove);

  g_clear_object (&self->round_cancellable);
  self->round_cancellable = g_cancellable_new ();
  self->round = g_task_new (self, self->round_cancellable, round_done_cb, NULL);
  g_task_set_source_tag (self->round, start_round);

  round = g_new0 (Round, 1);
  round->check.pinned = g_strdup (self->fingerprint);
  round->start_cursor = vd_store_get_cursor (self->store);
  round->next_cursor = round->start_cursor;
  round->bootstrap = round->start_cursor == 0;
  g_task_set_task_data (self->round, round, (GDestroyNotify) round_free);

  if (self->state != VD_SYNC_SYNCING)
    set_state (self, VD_SYNC_CONNECTING);
  set_progress (self, round->bootstrap ? 0.0 : self->progress, 0, 0);

  if (vd_api_client_get_access_token (self->api) == NULL &&
      !vd_api_client_has_refresh_token (self->api))
    {
      self->halted = TRUE;
      round_fail (self->round, VD_SYNC_NEEDS_SIGN_IN,
                  _("Sign in to start syncing; your work on this computer is kept."),
                  g_error_new_literal (VD_ERROR, VD_ERROR_UNAUTHORIZED, "no tokens"));
      return;
    }
  if (vd_api_client_get_access_token (self->api) == NULL)
    {
      round->refreshed = TRUE;
      round_refresh (self->round, STEP_PUSH);
    }
  else
    round_push (self->round);
}

/* ---- Triggers --------------------------------------------------------------------- */

static gboolean
debounce_cb (gpointer user_data)
{
  VdSyncEngine *self = user_data;

  self->debounce_id = 0;
  if (self->pending > 0)
    vd_sync_engine_sync_now (self);
  return G_SOURCE_REMOVE;
}

static gboolean
changed_idle_cb (gpointer user_data)
{
  VdSyncEngine *self = user_data;

  self->changed_id = 0;
  update_pending (self);
  if (!self->started || self->pending == 0)
    return G_SOURCE_REMOVE;
  /* A burst of edits (a form with many fields, a booking and its reminder) goes as one
   * push a moment after the last of them: a second when polling, less with the stream up,
   * so another desk shows the change within a second. */
  g_clear_handle_id (&self->debounce_id, g_source_remove);
  self->debounce_id = g_timeout_add (self->live ? LIVE_DEBOUNCE_MS : DEBOUNCE_MS,
                                     debounce_cb, self);
  return G_SOURCE_REMOVE;
}

static void
store_changed_cb (VdSyncEngine *self,
                  const char   *table,
                  const char   *row_id,
                  VdStore      *store)
{
  /* Counting the outbox is a query: once for all the changes the main loop delivers
   * together, not once per row. */
  if (self->changed_id == 0)
    self->changed_id = g_idle_add_full (G_PRIORITY_DEFAULT, changed_idle_cb, self, NULL);
}

static gboolean
periodic_cb (gpointer user_data)
{
  VdSyncEngine *self = user_data;

  gint64 now = g_get_monotonic_time ();

  /* With the stream up the server says when there is something to pull: this is only a
   * safety net, at a longer interval. */
  if (self->live && now - self->periodic_at < (gint64) LIVE_PERIODIC_S * G_USEC_PER_SEC)
    return G_SOURCE_CONTINUE;
  self->periodic_at = now;
  /* A pending retry keeps its backoff; otherwise look for others' changes. */
  if (self->retry_id == 0 && !self->halted)
    vd_sync_engine_sync_now (self);
  return G_SOURCE_CONTINUE;
}

static void
network_changed_cb (VdSyncEngine *self,
                    gboolean      available,
                    GNetworkMonitor *monitor)
{
  if (!self->started || !available || self->halted)
    return;
  /* The network came back: no reason to sit out the rest of a backoff. */
  self->failures = 0;
  self->ws_failures = 0;
  if (self->ws_retry_id != 0)
    {
      g_clear_handle_id (&self->ws_retry_id, g_source_remove);
      stream_ensure (self);
    }
  vd_sync_engine_sync_now (self);
}

/* ---- The live stream -------------------------------------------------------------- */

static void
set_live (VdSyncEngine *self,
          gboolean      live)
{
  if (self->live == live)
    return;
  self->live = live;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIVE]);
}

static void
stream_drop (VdSyncEngine *self)
{
  if (self->ws == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->ws, self);
  if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&self->ws);
  set_live (self, FALSE);
}

static void
stream_close (VdSyncEngine *self)
{
  g_clear_handle_id (&self->ws_retry_id, g_source_remove);
  if (self->ws_cancellable != NULL)
    g_cancellable_cancel (self->ws_cancellable);
  g_clear_object (&self->ws_cancellable);
  stream_drop (self);
}

static gboolean
stream_retry_cb (gpointer user_data)
{
  VdSyncEngine *self = user_data;

  self->ws_retry_id = 0;
  stream_ensure (self);
  return G_SOURCE_REMOVE;
}

/* The same backoff as rounds (1 s doubling to 60 s, drawn from the upper half), counted
 * apart: a stream that keeps dropping must not slow the rounds down. */
static void
stream_schedule_reconnect (VdSyncEngine *self)
{
  guint delay;

  if (!self->started || self->halted)
    return;
  delay = backoff_delay (self, self->ws_failures++);
  g_debug ("Stream reconnects in %u ms", delay);

  g_clear_handle_id (&self->ws_retry_id, g_source_remove);
  self->ws_retry_id = g_timeout_add (delay, stream_retry_cb, self);
}

/* The access token ran out: a round renews it through the usual refresh, and the stream
 * opens again when that round succeeds. */
static void
stream_token_expired (VdSyncEngine *self)
{
  vd_api_client_forget_access_token (self->api);
  self->ws_failures = 0;
  vd_sync_engine_sync_now (self);
}

static void
stream_message_cb (SoupWebsocketConnection *conn,
                   gint                     type,
                   GBytes                  *message,
                   VdSyncEngine            *self)
{
  VdStreamEvent event;
  gconstpointer data;
  gsize len = 0;

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  data = g_bytes_get_data (message, &len);
  if (vd_stream_event_decode (data, len, &event) != VD_STREAM_EVENT_CURSOR)
    return;
  /* The stream is known good once the server speaks on it. */
  self->ws_failures = 0;
  /* A running round is followed by another (sync_now coalesces): the change may have
   * landed after that round's pull read its page. */
  if (event.cursor > vd_store_get_cursor (self->store) && !self->halted)
    vd_sync_engine_sync_now (self);
}

static void
stream_closed_cb (SoupWebsocketConnection *conn,
                  VdSyncEngine            *self)
{
  g_autoptr(SoupWebsocketConnection) keep = g_object_ref (conn);
  gushort code = soup_websocket_connection_get_close_code (conn);

  g_debug ("Stream closed (%u)", code);
  stream_drop (self);
  if (!self->started || self->halted)
    return;
  switch (code)
    {
    case 4001:
      stream_token_expired (self);
      break;
    case 4003:
      /* The session was revoked or signed out elsewhere: as a refused refresh. */
      self->halted = TRUE;
      g_clear_handle_id (&self->retry_id, g_source_remove);
      set_state (self, VD_SYNC_NEEDS_SIGN_IN);
      set_error_message (self, _("Your sign-in has expired or was ended. Sign in again to keep syncing; your work on this computer is kept."));
      break;
    default:
      stream_schedule_reconnect (self);
      break;
    }
}

static void
stream_connected_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(VdSyncEngine) self = user_data;
  g_autoptr(SoupMessage) msg = g_steal_pointer (&self->ws_msg);
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *conn;

  conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->ws_cancellable);
  if (conn == NULL)
    {
      g_debug ("Stream not opened (%u): %s", soup_message_get_status (msg), error->message);
      if (!self->started || self->halted)
        return;
      if (soup_message_get_status (msg) == SOUP_STATUS_UNAUTHORIZED &&
          vd_api_client_has_refresh_token (self->api))
        stream_token_expired (self);
      else
        stream_schedule_reconnect (self);
      return;
    }
  if (!self->started || self->halted)
    {
      soup_websocket_connection_close (conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (conn);
      return;
    }
  self->ws = conn;
  soup_websocket_connection_set_keepalive_interval (conn, STREAM_KEEPALIVE_S);
  g_signal_connect (conn, "message", G_CALLBACK (stream_message_cb), self);
  g_signal_connect (conn, "closed", G_CALLBACK (stream_closed_cb), self);
  set_live (self, TRUE);
}

/* Opens the stream unless it is open, on its way, or waiting to retry. */
static void
stream_ensure (VdSyncEngine *self)
{
  g_autofree char *path = NULL;
  SoupMessage *msg;

  if (!self->started || self->halted || self->ws != NULL || self->ws_cancellable != NULL ||
      self->ws_retry_id != 0)
    return;
  if (vd_api_client_get_access_token (self->api) == NULL)
    {
      /* A round fetches a token first and calls back here when it succeeds. */
      vd_sync_engine_sync_now (self);
      return;
    }

  path = g_strdup_printf ("/v1/tenants/%s/sync/stream", vd_store_get_tenant_id (self->store));
  vd_pin_check_clear (&self->ws_check);
  msg = vd_api_client_new_message (self->api, SOUP_METHOD_GET, path, NULL, TRUE, &self->ws_check);
  if (msg == NULL)
    return;
  self->ws_msg = msg;
  self->ws_cancellable = g_cancellable_new ();
  soup_session_websocket_connect_async (vd_api_client_get_session (self->api), msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->ws_cancellable, stream_connected_cb,
                                        g_object_ref (self));
}

/* ---- GObject ---------------------------------------------------------------------- */

static void
api_refresh_token_changed_cb (VdSyncEngine *self,
                              const char   *token)
{
  g_signal_emit (self, signals[REFRESH_TOKEN_CHANGED], 0, token);
}

static void
vd_sync_engine_constructed (GObject *object)
{
  VdSyncEngine *self = VD_SYNC_ENGINE (object);

  G_OBJECT_CLASS (vd_sync_engine_parent_class)->constructed (object);

  g_return_if_fail (VD_IS_STORE (self->store));
  g_return_if_fail (self->server_url != NULL);

  self->api = vd_api_client_new (self->server_url, self->fingerprint);
  g_signal_connect_object (self->api, "refresh-token-changed",
                           G_CALLBACK (api_refresh_token_changed_cb), self, G_CONNECT_SWAPPED);
  self->pending = vd_store_count_pending (self->store);
  self->clock_offset_ms = vd_hlc_clock_get_offset (vd_store_get_clock (self->store));
  g_signal_connect_object (self->store, "changed", G_CALLBACK (store_changed_cb), self,
                           G_CONNECT_SWAPPED);
}

static void
vd_sync_engine_dispose (GObject *object)
{
  VdSyncEngine *self = VD_SYNC_ENGINE (object);

  vd_sync_engine_stop (self);
  g_clear_handle_id (&self->changed_id, g_source_remove);
  if (self->round_cancellable != NULL)
    g_cancellable_cancel (self->round_cancellable);
  if (self->api != NULL)
    soup_session_abort (vd_api_client_get_session (self->api));

  G_OBJECT_CLASS (vd_sync_engine_parent_class)->dispose (object);
}

static void
vd_sync_engine_finalize (GObject *object)
{
  VdSyncEngine *self = VD_SYNC_ENGINE (object);

  g_clear_object (&self->api);
  g_clear_object (&self->store);
  g_clear_object (&self->round_cancellable);
  g_clear_pointer (&self->waiters, g_ptr_array_unref);
  g_clear_pointer (&self->next_waiters, g_ptr_array_unref);
  g_clear_pointer (&self->rand, g_rand_free);
  vd_pin_check_clear (&self->ws_check);
  g_free (self->server_url);
  g_free (self->fingerprint);
  g_free (self->error_message);

  G_OBJECT_CLASS (vd_sync_engine_parent_class)->finalize (object);
}

static void
vd_sync_engine_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  VdSyncEngine *self = VD_SYNC_ENGINE (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_SERVER_URL:
      g_value_set_string (value, self->server_url);
      break;
    case PROP_PINNED_FINGERPRINT:
      g_value_set_string (value, self->fingerprint);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_PROGRESS:
      g_value_set_double (value, self->progress);
      break;
    case PROP_PENDING:
      g_value_set_uint (value, self->pending);
      break;
    case PROP_LAST_SYNC:
      g_value_set_int64 (value, self->last_sync);
      break;
    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, self->error_message);
      break;
    case PROP_CLOCK_OFFSET_MS:
      g_value_set_int64 (value, self->clock_offset_ms);
      break;
    case PROP_PULLED:
      g_value_set_uint (value, self->pulled);
      break;
    case PROP_TOTAL:
      g_value_set_uint (value, self->total);
      break;
    case PROP_LIVE:
      g_value_set_boolean (value, self->live);
      break;
    case PROP_PERIODIC_INTERVAL:
      g_value_set_uint (value, self->periodic_s);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_sync_engine_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  VdSyncEngine *self = VD_SYNC_ENGINE (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      break;
    case PROP_SERVER_URL:
      self->server_url = g_value_dup_string (value);
      break;
    case PROP_PINNED_FINGERPRINT:
      self->fingerprint = g_value_dup_string (value);
      if (self->fingerprint != NULL && self->fingerprint[0] == '\0')
        g_clear_pointer (&self->fingerprint, g_free);
      break;
    case PROP_PERIODIC_INTERVAL:
      if (self->periodic_s == g_value_get_uint (value))
        break;
      self->periodic_s = g_value_get_uint (value);
      if (self->periodic_id != 0)
        {
          g_source_remove (self->periodic_id);
          self->periodic_id = g_timeout_add_seconds (self->periodic_s, periodic_cb, self);
        }
      g_object_notify_by_pspec (object, pspec);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_sync_engine_class_init (VdSyncEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  GParamFlags co = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->constructed = vd_sync_engine_constructed;
  object_class->dispose = vd_sync_engine_dispose;
  object_class->finalize = vd_sync_engine_finalize;
  object_class->get_property = vd_sync_engine_get_property;
  object_class->set_property = vd_sync_engine_set_property;

  properties[PROP_STORE] = g_param_spec_object ("store", NULL, NULL, VD_TYPE_STORE, co);
  properties[PROP_SERVER_URL] = g_param_spec_string ("server-url", NULL, NULL, NULL, co);
  properties[PROP_PINNED_FINGERPRINT] = g_param_spec_string ("pinned-fingerprint", NULL, NULL, NULL, co);
  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, VD_TYPE_SYNC_STATE,
                                              VD_SYNC_OFFLINE, ro);
  properties[PROP_PROGRESS] = g_param_spec_double ("progress", NULL, NULL, 0.0, 1.0, 0.0, ro);
  properties[PROP_PENDING] = g_param_spec_uint ("pending", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_LAST_SYNC] = g_param_spec_int64 ("last-sync", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[PROP_ERROR_MESSAGE] = g_param_spec_string ("error-message", NULL, NULL, NULL, ro);
  properties[PROP_CLOCK_OFFSET_MS] = g_param_spec_int64 ("clock-offset-ms", NULL, NULL,
                                                         G_MININT64, G_MAXINT64, 0, ro);
  properties[PROP_PULLED] = g_param_spec_uint ("pulled", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_TOTAL] = g_param_spec_uint ("total", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_LIVE] = g_param_spec_boolean ("live", NULL, NULL, FALSE, ro);
  properties[PROP_PERIODIC_INTERVAL] = g_param_spec_uint ("periodic-interval", NULL, NULL, 1,
                                                          G_MAXUINT / 1000, PERIODIC_S,
                                                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                                                          G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * VdSyncEngine::refresh-token-changed:
   * @token: the new refresh token
   *
   * The refresh token rotated; the old one no longer works. Save this one now.
   */
  signals[REFRESH_TOKEN_CHANGED] = g_signal_new ("refresh-token-changed",
                                                 G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                                 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                                                 G_TYPE_STRING);
}

static void
vd_sync_engine_init (VdSyncEngine *self)
{
  self->state = VD_SYNC_OFFLINE;
  self->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  self->next_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  self->rand = g_rand_new ();
  self->periodic_s = PERIODIC_S;
}

/* ---- Public ----------------------------------------------------------------------- */

VdSyncEngine *
vd_sync_engine_new (VdStore    *store,
                    const char *server_url,
                    const char *pinned_fingerprint)
{
  g_return_val_if_fail (VD_IS_STORE (store), NULL);
  g_return_val_if_fail (server_url != NULL, NULL);

  return g_object_new (VD_TYPE_SYNC_ENGINE,
                       "store", store,
                       "server-url", server_url,
                       "pinned-fingerprint", pinned_fingerprint,
                       NULL);
}

VdSyncState
vd_sync_engine_get_state (VdSyncEngine *self)
{
  g_return_val_if_fail (VD_IS_SYNC_ENGINE (self), VD_SYNC_OFFLINE);
  return self->state;
}

double
vd_sync_engine_get_progress (VdSyncEngine *self)
{
  g_return_val_if_fail (VD_IS_SYNC_ENGINE (self), 0.0);
  return self->progress;
}

guint
vd_sync_engine_get_pending (VdSyncEngine *self)
{
  g_return_val_if_fail (VD_IS_SYNC_ENGINE (self), 0);
  return self->pending;
}

gint64
vd_sync_engine_get_last_sync (VdSyncEngine *self)
{
  g_return_val_if_fail (VD_IS_SYNC_ENGINE (self), 0);
  return self->last_sync;
}

const char *
vd_sync_engine_get_error_message (VdSyncEngine *self)
{
  g_return_val_if_fail (VD_IS_SYNC_ENGINE (self), NULL);
  return self->error_message;
}

VdApiClient *
vd_sync_engine_get_api_client (VdSyncEngine *self)
{
  g_return_val_if_fail (VD_IS_SYNC_ENGINE (self), NULL);
  return self->api;
}

void
vd_sync_engine_set_tokens (VdSyncEngine *self,
                           const char   *access_token,
                           const char   *refresh_token)
{
  g_return_if_fail (VD_IS_SYNC_ENGINE (self));

  vd_api_client_set_tokens (self->api, access_token, refresh_token);

  /* New tokens are someone signing in again: sync may go on. */
  if (self->state == VD_SYNC_NEEDS_SIGN_IN)
    {
      self->halted = FALSE;
      self->failures = 0;
      if (self->started)
        vd_sync_engine_sync_now (self);
    }
}

void
vd_sync_engine_start (VdSyncEngine *self)
{
  g_return_if_fail (VD_IS_SYNC_ENGINE (self));

  if (self->started)
    return;
  self->started = TRUE;
  self->periodic_id = g_timeout_add_seconds (self->periodic_s, periodic_cb, self);
  self->monitor = g_network_monitor_get_default ();
  g_signal_connect_object (self->monitor, "network-changed", G_CALLBACK (network_changed_cb),
                           self, G_CONNECT_SWAPPED);
  vd_sync_engine_sync_now (self);
}

void
vd_sync_engine_stop (VdSyncEngine *self)
{
  g_return_if_fail (VD_IS_SYNC_ENGINE (self));

  self->started = FALSE;
  g_clear_handle_id (&self->debounce_id, g_source_remove);
  g_clear_handle_id (&self->periodic_id, g_source_remove);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  stream_close (self);
  self->ws_failures = 0;
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  self->monitor = NULL;
}

void
vd_sync_engine_sync_now (VdSyncEngine *self)
{
  g_return_if_fail (VD_IS_SYNC_ENGINE (self));

  g_clear_handle_id (&self->debounce_id, g_source_remove);
  if (self->round != NULL)
    {
      self->again = TRUE;
      return;
    }
  start_round (self);
}

void
vd_sync_engine_sync_async (VdSyncEngine        *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (VD_IS_SYNC_ENGINE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, vd_sync_engine_sync_async);

  /* A round already under way may have read the outbox before the caller's last edit:
   * the caller is answered by the next one. */
  if (self->round != NULL)
    {
      g_ptr_array_add (self->next_waiters, task);
      self->again = TRUE;
      return;
    }
  g_ptr_array_add (self->next_waiters, task);
  start_round (self);
}

gboolean
vd_sync_engine_sync_finish (VdSyncEngine  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
vd_sync_engine_get_live (VdSyncEngine *self)
{
  g_return_val_if_fail (VD_IS_SYNC_ENGINE (self), FALSE);
  return self->live;
}
