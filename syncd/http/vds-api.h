/* vds-api.h — the routes of protocol v1 (ARCHITECTURE §5) and their JSON answers. The
 * server hands each request over as plain data: checks that need no database run on the
 * main thread (vds_api_precheck), the rest in a worker thread (vds_api_run). */
#pragma once

#include <glib.h>
#include "vds-server.h"
#include "vds-store.h"
#include "vd-error.h"

G_BEGIN_DECLS

typedef struct
{
  /* in, copied from the message on the main thread */
  char       *method;
  char       *path;
  GHashTable *query;           /* char* → char*, may be NULL */
  char       *content_type;
  char       *authorization;
  char       *user_agent;
  char       *remote;          /* the client's address */
  GBytes     *body;

  /* out */
  guint       status;          /* 0 until answered */
  GBytes     *answer;          /* JSON, NULL for none (204) */
  GPtrArray  *headers;         /* name, value, name, value… (char*) */
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
                                     const VdsServerConfig *config);
void        vds_api_free            (VdsApi                *self);
/* Main thread. Routing (404, 405), rate limits per address, media type: answers req and
 * returns FALSE when nothing is left to do; TRUE when vds_api_run must follow. */
gboolean    vds_api_precheck        (VdsApi                *self,
                                     VdsRequest            *req);
/* Worker thread: authentication, tenancy, the call itself. Always answers req. */
void        vds_api_run             (VdsApi                *self,
                                     VdsRequest            *req);

G_END_DECLS
