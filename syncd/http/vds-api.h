/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-api.h — the routes of protocol v1 (ARCHITECTURE §5) and their JSON answers. The
 * server hands each request over as plain data: checks that need no database run on the
 * main thread (vds_api_precheck), the rest in a worker thread (vds_api_run). */
#pragma once

#include <glib.h>
#include "vds-effect.h"
#include "vds-server.h"
#include "vds-store.h"
#include "vd-error.h"
#include "vds-metrics.h"

G_BEGIN_DECLS

/* Status 101: the stream the main thread opens once the handshake is written. */
typedef struct
{
  char       *tenant_id;       /* the stream's clinic, device, session */
  char       *device_id;
  char       *session_id;
  gint64      expires;         /* its token's end, Unix seconds */
  gint64      cursor;          /* the clinic's sequence when it was authorised */
} VdsStreamGrant;

/* One request in three parts: what it is (from the message, on the main thread, plus who
 * it acts for once a worker checked), what the handler answers, and the effects the main
 * thread runs once the worker is done (vds-effect.h). */
typedef struct
{
  /* What the request is: copied from the message on the main thread. */
  char       *method;
  char       *path;
  GHashTable *query;           /* char* → char*, may be NULL */
  char       *content_type;
  char       *authorization;
  char       *user_agent;
  char       *remote;          /* the client's address */
  GBytes     *body;
  char       *origin;          /* Origin header (browsers send it; desks do not) */
  gint64      pending;         /* X-VetDesk-Pending, -1 when absent or malformed */
  gboolean    metrics_only;    /* from the metrics listener: /metrics, no auth */
  gboolean    accept_gzip;     /* Accept-Encoding allows gzip */
  gint64      started_us;      /* monotonic, when the headers were in */
  const char *route;           /* static route name (precheck), for metrics */
  gboolean    stream_wanted;   /* precheck: the stream route; the handshake is checked */
  /* …and, worker side, the member device it acts for once checked. */
  char       *member_tenant;
  char       *member_device;
  char       *member_user;

  /* What the handler answers. */
  guint       status;          /* 0 until answered; 101: upgrade to a stream */
  GBytes     *answer;          /* JSON, NULL for none (204) */
  GPtrArray  *headers;         /* name, value, name, value… (char*) */
  const char *answer_type;     /* NULL = JSON */
  VdErrorCode error_code;      /* when status >= 400 */
  char       *error_message;
  VdsStreamGrant stream;       /* status 101 */

  /* What the main thread does once the worker is done: VdsEffect records, in order, NULL
   * for none (vds_effects_add_…, vds_effects_run). */
  GPtrArray  *effects;
} VdsRequest;

void        vds_request_free        (VdsRequest *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdsRequest, vds_request_free)

/* Answers req with {"error":{"code","message"}} and the code's HTTP status. */
void        vds_request_set_error   (VdsRequest  *req,
                                     VdErrorCode  code,
                                     const char  *message);
void        vds_request_add_header  (VdsRequest  *req,
                                     const char  *name,
                                     const char  *value);
/* The error body alone, for answers written outside a VdsRequest. */
char       *vds_api_error_json      (VdErrorCode  code,
                                     const char  *message,
                                     gsize       *out_len);

typedef struct _VdsApi VdsApi;

VdsApi     *vds_api_new             (VdsStore              *store,
                                     const VdsConfig       *config);
void        vds_api_free            (VdsApi                *self);
/* The process's metrics (owned by the api; the server and streams count into it). */
VdsMetrics *vds_api_get_metrics     (VdsApi                *self);
/* Main thread. Routing (404, 405), rate limits per address, media type: answers req and
 * returns FALSE when nothing is left to do; TRUE when vds_api_run must follow. */
gboolean    vds_api_precheck        (VdsApi                *self,
                                     VdsRequest            *req);
/* Worker thread: authentication, tenancy, the call itself. Always answers req. */
void        vds_api_run             (VdsApi                *self,
                                     VdsRequest            *req);

/* What a route without a body may still carry (an empty JSON object, say): bodies past it
 * are refused before they are read. */
#define VDS_API_SMALL_BODY 1024
/* Main thread, after a passing precheck: the largest body req's route takes. */
gsize       vds_api_body_limit      (const VdsRequest      *req);
/* Worker thread, once the headers are in and before a byte of the body is read: a route
 * whose caller must hold a token (push) has it checked, membership included (not the
 * clinic's rate limit, which the push itself takes). FALSE when req is answered (401,
 * 403, 404, 503); TRUE when the body may be read. */
gboolean    vds_api_preauth         (VdsApi                *self,
                                     VdsRequest            *req);

G_END_DECLS
