/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-protocol.h — wire protocol v1 (ARCHITECTURE §4, §5): its constants and the one codec
 * of its messages. The push request and its answer, the pull answer, stream events, the
 * NOTIFY payloads syncd processes tell each other, and error bodies are each written and
 * read here and nowhere else; the changes inside them are vd-change.h's. */
#pragma once

#include <glib.h>
#include "vd-change.h"
#include "vd-hlc.h"
#include "vd-id.h"

G_BEGIN_DECLS

#define VD_PROTOCOL_VERSION        1
#define VD_PROTOCOL_BASE_PATH      "/v1"
#define VD_PROTOCOL_MAX_BODY       (4 * 1024 * 1024)   /* bytes; over → 413 before parsing */
#define VD_PROTOCOL_MAX_DEPTH      32                   /* JSON nesting; over → 400 */
#define VD_PROTOCOL_MAX_PUSH       5000                 /* changes in one push; over → 413 */
#define VD_PROTOCOL_PULL_DEFAULT   1000
#define VD_PROTOCOL_PULL_MAX       5000
#define VD_PROTOCOL_MAX_SKEW_MS    (5 * 60 * 1000)      /* hlc ahead of server → clock_skew */
#define VD_PROTOCOL_ACCESS_TTL_S   (15 * 60)
#define VD_PROTOCOL_SESSION_MAX_S  (30 * 24 * 3600)
/* A push's batch_id may be at most this far past the device's last (desks count 1, 2,
 * 3…): a hostile or broken client cannot spend a device's id space (INT64_MAX). */
#define VD_PROTOCOL_MAX_BATCH_JUMP 1000000

/* The site the server writes server-owned cells (conflicts) with. It sorts below every
 * random (version 4) device id. */
#define VD_SERVER_SITE "00000000-0000-0000-0000-000000000000"

/* ---- Push request ---- */

typedef struct
{
  guint    index;
  char    *code;      /* "invalid_change" or "clock_skew" */
  char    *message;   /* a sentence naming the column and the reason */
} VdRejection;

void      vd_rejection_free    (VdRejection    *rejection);

typedef struct
{
  char      device_id[VD_UUID_LEN + 1];
  gint64    batch_id;
  GPtrArray *changes;      /* of VdChange: the valid ones */
  GArray    *indices;      /* of guint: each valid change's index in the request */
  GPtrArray *rejected;     /* of VdRejection: the invalid ones, by index */
  guint      n_total;      /* changes in the request */
} VdPushRequest;

void      vd_push_request_free (VdPushRequest  *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdPushRequest, vd_push_request_free)

/* Decodes a push body from untrusted bytes. Structural faults (not JSON, not an object,
 * missing or wrong device_id/batch_id/changes, more than VD_PROTOCOL_MAX_PUSH changes →
 * VD_ERROR_PAYLOAD_TOO_LARGE) fail the whole request. A change that is itself invalid
 * (unknown table or column, wrong type, bad enum, too long, server-owned column, bad id or
 * hlc or site, empty set) goes to rejected with its index and reason; the rest decode. */
VdPushRequest *vd_push_request_decode (const char *data,
                                       gsize       len,
                                       GError    **error);
/* Deterministic: keys in a fixed order, cells in schema order. */
char          *vd_push_request_encode (const char      *device_id,
                                       gint64           batch_id,
                                       GPtrArray       *changes,
                                       gsize           *out_len);

/* ---- Push answer ---- */

typedef struct
{
  gint64     batch_id;
  gint64     accepted;     /* -1 when a decoded answer does not say */
  GPtrArray *rejected;     /* of VdRejection, in index order */
  gint64     cursor;       /* the clinic's log after the push; 0 when not said */
  VdHlc      server_hlc;   /* 0 when not said */
} VdPushAnswer;

void      vd_push_answer_free  (VdPushAnswer   *answer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdPushAnswer, vd_push_answer_free)

/* Deterministic: batch_id, accepted, rejected (index, code, message), cursor, server_hlc. */
char         *vd_push_answer_encode   (const VdPushAnswer *answer,
                                       gsize              *out_len);
/* Decodes a push answer from the server's untrusted bytes. Fails (VD_ERROR_BAD_REQUEST,
 * a short English reason) when it is no object, has no whole batch_id, a rejected that
 * is no list of objects, or a server_hlc that is no hlc. Whether it answers the batch
 * that was sent (its id and counts) is the caller's to check. A rejection without a
 * whole index has index G_MAXUINT; without code, "invalid_change"; without message, "". */
VdPushAnswer *vd_push_answer_decode   (const char         *data,
                                       gsize               len,
                                       GError            **error);
/* Whether some change was refused with code (such as "clock_skew"). */
gboolean      vd_push_answer_has_code (const VdPushAnswer *answer,
                                       const char         *code);

/* ---- Pull answer ---- */

typedef struct
{
  GPtrArray *changes;     /* of VdChange, each with seq */
  gint64     cursor;
  gboolean   more;
  VdHlc      server_hlc;
} VdPullAnswer;

void      vd_pull_answer_free  (VdPullAnswer   *answer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdPullAnswer, vd_pull_answer_free)

/* Decodes a pull answer from untrusted bytes (server origin). Any invalid change fails
 * the whole answer with an error naming the change index, the column and the reason. */
VdPullAnswer *vd_pull_answer_decode (const char *data,
                                     gsize       len,
                                     GError    **error);
char         *vd_pull_answer_encode (GPtrArray  *changes,
                                     gint64      cursor,
                                     gboolean    more,
                                     VdHlc       server_hlc,
                                     gsize      *out_len);
/* An encoded answer ends with its server_hlc: rewrites it in place (a cached answer sent
 * again). FALSE, with data unchanged, when data is too short to be an answer. */
gboolean      vd_pull_answer_restamp (char      *data,
                                      gsize      len,
                                      VdHlc      server_hlc);

/* ---- Stream events (WebSocket text messages) ---- */

typedef enum
{
  VD_STREAM_EVENT_NONE,     /* anything this version does not know */
  VD_STREAM_EVENT_CURSOR,   /* server → desk: the clinic's log reached cursor */
  VD_STREAM_EVENT_PING,     /* desk → server */
  VD_STREAM_EVENT_PONG,     /* server → desk */
} VdStreamEventType;

typedef struct
{
  VdStreamEventType type;
  gint64            cursor;   /* VD_STREAM_EVENT_CURSOR */
} VdStreamEvent;

/* Room for any encoded event, its NUL included. */
#define VD_STREAM_EVENT_MAX_LEN 64

/* Writes event into buf (VD_STREAM_EVENT_MAX_LEN bytes); returns its length. */
gsize             vd_stream_event_encode (const VdStreamEvent *event,
                                          char                *buf);
/* Reads a message from the peer: NONE (and out->type NONE) for anything that is not a
 * known event, a cursor event without a whole cursor included. */
VdStreamEventType vd_stream_event_decode (const char          *data,
                                          gsize                len,
                                          VdStreamEvent       *out);

/* ---- NOTIFY payloads (PostgreSQL, between syncd processes) ---- */

/* "tenant:seq": the clinic's log reached seq. */
char     *vd_notify_seq_encode     (const char  *tenant_id,
                                    gint64       seq);
gboolean  vd_notify_seq_decode     (const char  *payload,
                                    char       **out_tenant_id,
                                    gint64      *out_seq);
/* "tenant:device": the device was revoked. */
char     *vd_notify_revoke_encode  (const char  *tenant_id,
                                    const char  *device_id);
gboolean  vd_notify_revoke_decode  (const char  *payload,
                                    char       **out_tenant_id,
                                    char       **out_device_id);

/* ---- Error bodies ---- */

/* {"error":{"code":…,"message":…}} */
char     *vd_error_body_encode     (const char  *code,
                                    const char  *message,
                                    gsize       *out_len);
/* The message of an error body (and its code, when out_code is not NULL), or NULL for
 * anything else (empty, too long, not JSON, no error object). */
char     *vd_error_body_decode     (const char  *data,
                                    gsize        len,
                                    char       **out_code);

G_END_DECLS
