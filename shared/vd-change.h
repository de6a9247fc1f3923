/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-change.h — the change model and its JSON codec (decoded through vd-json.h, encoded
 * directly). A change sets some columns of one row; all of them take the change’s (hlc, site). */
#pragma once

#include <glib.h>
#include "vd-hlc.h"
#include "vd-id.h"
#include "vd-schema.h"
#include "vd-value.h"

G_BEGIN_DECLS

/* Appends text as a JSON string literal (control characters escaped; the text must be
 * valid UTF-8), or null for NULL. */
void      vd_json_append_string (GString        *out,
                                 const char     *s);
/* Appends a Unix time as a JSON string in the protocol's UTC form, or null for 0 or less. */
void      vd_json_append_utc_or_null (GString   *out,
                                      gint64     unix_time);

typedef struct
{
  const VdColumn *column;
  VdValue         value;
} VdCell;

typedef struct
{
  const VdTable *table;
  char           id[VD_UUID_LEN + 1];
  VdHlc          hlc;
  char           site[VD_UUID_LEN + 1];
  GArray        *cells;   /* of VdCell, in schema column order, each column at most once */
  gint64         seq;     /* in a pull answer: the server's seq; else 0 */
} VdChange;

VdChange *vd_change_new        (const VdTable  *table,
                                const char     *id,
                                VdHlc           hlc,
                                const char     *site);
void      vd_change_free       (VdChange       *change);
VdChange *vd_change_copy       (const VdChange *change);
/* Takes ownership of value's contents. Keeps cells in schema order; a second set of the
 * same column replaces the first. */
void      vd_change_take_cell  (VdChange       *change,
                                const VdColumn *column,
                                VdValue        *value);
const VdCell *vd_change_get_cell (const VdChange *change,
                                  const char     *column_name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdChange, vd_change_free)

/* Who produced the bytes being decoded: a desk (server-owned columns and the conflicts
 * table are refused) or the server (everything in the registry is accepted). */
typedef enum
{
  VD_CHANGE_FROM_CLIENT,
  VD_CHANGE_FROM_SERVER,
} VdChangeOrigin;

/* Before any parsing: size <= max_size (else VD_ERROR_PAYLOAD_TOO_LARGE), valid UTF-8,
 * nesting of arrays/objects <= VD_PROTOCOL_MAX_DEPTH outside strings (else
 * VD_ERROR_BAD_REQUEST). Linear, no recursion. */
gboolean  vd_json_precheck     (const char     *data,
                                gsize           len,
                                gsize           max_size,
                                GError        **error);

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

/* One change as a JSON object, and back (origin decides server-owned columns). The
 * decoder of one change is what both request decoders use. */
struct _JsonBuilder;
struct _JsonNode;
void      vd_change_to_json    (const VdChange      *change,
                                struct _JsonBuilder *builder);
VdChange *vd_change_from_json  (struct _JsonNode    *node,
                                VdChangeOrigin       origin,
                                GError             **error);
/* One JSON value as a cell of column: JSON integer, double, boolean, string and null
 * become VD_VALUE_INT, REAL, BOOL, TEXT and NULL, then vd_value_validate. An integer
 * column refuses values beyond ±(2^53 - 1). out must be initialised; it is cleared. */
gboolean  vd_value_from_json   (const VdColumn      *column,
                                struct _JsonNode    *node,
                                VdValue             *out,
                                GError             **error);

G_END_DECLS
