/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-json.h — a compact read-only JSON tree for the wire decoders: every value a node in
 * one array, every string unescaped into one buffer, built in one pass over checked text. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  VD_JSON_NULL,
  VD_JSON_BOOL,
  VD_JSON_INT,      /* an integer within the 64-bit range */
  VD_JSON_REAL,     /* a fraction, an exponent, or an integer beyond 64 bits */
  VD_JSON_STRING,
  VD_JSON_ARRAY,
  VD_JSON_OBJECT,
  VD_JSON_UNKNOWN,  /* only from a json-glib node that holds no value */
} VdJsonKind;

/* No node has index 0 as a child or member: the root is there. */
#define VD_JSON_NONE 0u

typedef struct
{
  guint32 kind;       /* VdJsonKind */
  guint32 next;       /* the index just past this node's subtree: its next sibling */
  guint32 name;       /* in an object: offset of the member name in text */
  guint32 name_len;   /* in bytes */
  union
  {
    gint64   i;
    double   r;
    gboolean b;
    struct
    {
      guint32 offset;  /* in text, NUL-terminated */
      guint32 len;     /* in bytes */
    } str;
    guint32  n;        /* array or object: elements or members (repeats included) */
  };
} VdJsonNode;

typedef struct
{
  VdJsonNode *nodes;       /* in document order; nodes[0] is the root */
  guint       n_nodes;
  char       *text;        /* member names and strings, each NUL-terminated */
  gsize       text_len;
  /* Built from a json-glib node: members are already in the order json-glib iterates. */
  gboolean    json_glib_order;
  /* < private > */
  guint       nodes_alloc;
  gsize       text_alloc;
} VdJsonDoc;

/* Builds the tree of text that vd_json_precheck and the full grammar check accepted (so
 * valid UTF-8, RFC 8259, at most VD_PROTOCOL_MAX_DEPTH deep, \u escapes paired and not
 * U+0000). Integers within the signed 64-bit range are VD_JSON_INT, other numbers
 * VD_JSON_REAL as g_ascii_strtod reads them. It is no grammar check itself: other text
 * gives VD_ERROR_BAD_REQUEST where no tree can be built, and is never read out of bounds. */
VdJsonDoc  *vd_json_doc_parse      (const char   *data,
                                    gsize         len,
                                    GError      **error);
void        vd_json_doc_free       (VdJsonDoc    *doc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdJsonDoc, vd_json_doc_free)

/* Building a tree by hand (from another representation): append nodes in document order,
 * a container's members right after it, then close it. Node pointers taken before an
 * append are no longer valid after it. */
VdJsonDoc  *vd_json_doc_new        (void);
guint       vd_json_doc_append     (VdJsonDoc    *doc,
                                    guint         parent,
                                    VdJsonKind    kind,
                                    const char   *name);
void        vd_json_doc_set_string (VdJsonDoc    *doc,
                                    guint         index,
                                    const char   *s);
void        vd_json_doc_close      (VdJsonDoc    *doc,
                                    guint         index);

static inline const VdJsonNode *
vd_json_node (const VdJsonDoc *doc,
              guint            index)
{
  return &doc->nodes[index];
}

static inline const char *
vd_json_string (const VdJsonDoc *doc,
                guint            index)
{
  return doc->text + doc->nodes[index].str.offset;
}

static inline const char *
vd_json_name (const VdJsonDoc *doc,
              guint            index)
{
  return doc->text + doc->nodes[index].name;
}

/* Members and elements: for (m = index + 1, k = 0; k < n; k++, m = nodes[m].next). */
static inline guint
vd_json_first (guint index)
{
  return index + 1;
}

static inline guint
vd_json_next (const VdJsonDoc *doc,
              guint            index)
{
  return doc->nodes[index].next;
}

/* The member called name (the last one, if repeated, as json-glib keeps), or
 * VD_JSON_NONE. */
guint       vd_json_object_get     (const VdJsonDoc *doc,
                                    guint            object,
                                    const char      *name);
/* The first member whose name an earlier member already had, or NULL. */
const char *vd_json_object_repeated (const VdJsonDoc *doc,
                                     guint            object);

G_END_DECLS
