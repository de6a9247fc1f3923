/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-json.h — a compact read-only JSON tree for the wire decoders: every value a node in
 * one array, every string unescaped into one buffer, built in one pass over checked text. */
#pragma once

#include <glib.h>
#include <string.h>

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

/* ---- Untrusted text ---- */

/* Before any parsing: size <= max_size (else VD_ERROR_PAYLOAD_TOO_LARGE), valid UTF-8,
 * nesting of arrays/objects <= VD_PROTOCOL_MAX_DEPTH outside strings (else
 * VD_ERROR_BAD_REQUEST). Linear, no recursion. */
gboolean    vd_json_precheck       (const char   *data,
                                    gsize         len,
                                    gsize         max_size,
                                    GError      **error);
/* vd_json_precheck, the whole RFC 8259 grammar (one linear scan, bounded stack), then
 * vd_json_doc_parse: what every decoder of bytes from a peer starts with. */
VdJsonDoc  *vd_json_doc_parse_untrusted (const char *data,
                                         gsize       len,
                                         gsize       max_size,
                                         GError    **error);

/* ---- Reading a tree ---- */

/* Whether member index of an object is called literal (a string literal). */
#define VD_JSON_NAME_IS(doc, index, literal) \
  ((doc)->nodes[index].name_len == sizeof (literal) - 1 && \
   memcmp ((doc)->text + (doc)->nodes[index].name, literal, sizeof (literal) - 1) == 0)

/* The string at index, or NULL when index is VD_JSON_NONE or holds no string. */
static inline const char *
vd_json_get_string (const VdJsonDoc *doc,
                    guint            index)
{
  if (index != VD_JSON_NONE && doc->nodes[index].kind == VD_JSON_STRING)
    return vd_json_string (doc, index);
  return NULL;
}

static inline gboolean
vd_json_is_int (const VdJsonDoc *doc,
                guint            index)
{
  return index != VD_JSON_NONE && doc->nodes[index].kind == VD_JSON_INT;
}

/* The members of object (their indices) in the order json-glib 1.6 visited them. Only
 * for messages, so one of several faulty members is named as it always was. */
GArray     *vd_json_members_in_json_glib_order (const VdJsonDoc *doc,
                                                guint            object);
/* Text from a peer as it may appear in a sentence: short, one line. */
char       *vd_json_quote          (const char   *s);

/* ---- Writing ---- */

/* Appends text as a JSON string literal (control characters escaped; the text must be
 * valid UTF-8), or null for NULL. */
void        vd_json_append_string  (GString      *out,
                                    const char   *s);
/* Appends a Unix time as a JSON string in the protocol's UTC form, or null for 0 or less. */
void        vd_json_append_utc_or_null (GString  *out,
                                        gint64    unix_time);
/* The shortest form that reads back as the same double, with a fraction point on whole
 * numbers so a real stays a real; null (with a warning) for a non-finite one. */
void        vd_json_append_double  (GString      *out,
                                    double        r);
void        vd_json_append_int     (GString      *out,
                                    gint64        i);

G_END_DECLS
