/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-change.h — the change model and one change's JSON form (decoded through vd-json.h,
 * encoded directly). A change sets some columns of one row; all of them take the change’s
 * (hlc, site). The messages that carry changes are in vd-protocol.h. */
#pragma once

#include <glib.h>
#include "vd-hlc.h"
#include "vd-id.h"
#include "vd-json.h"
#include "vd-schema.h"
#include "vd-value.h"

G_BEGIN_DECLS

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

/* The change at index of a checked tree, by every rule of the registry (origin decides
 * server-owned columns); an invalid change gives VD_ERROR_INVALID_CHANGE naming the
 * column and the reason. What the message decoders of vd-protocol.c call per change. */
VdChange *vd_change_from_doc   (const VdJsonDoc     *doc,
                                guint                index,
                                VdChangeOrigin       origin,
                                GError             **error);
/* Appends change as one JSON object, with its seq when with_seq (a pull answer). */
void      vd_change_append_json (GString            *out,
                                 const VdChange     *change,
                                 gboolean            with_seq);

G_END_DECLS
