/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-json.c — the wire decoders' JSON tree: one linear pass over text already checked by
 * the grammar scan, no per-value allocation, no signals, nothing to walk when freeing. */
#define G_LOG_DOMAIN "vdshared"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "vd-json.h"
#include "vd-error.h"
#include "vd-protocol.h"

/* Numbers longer than this are copied to the heap to be read; JSON sends short ones. */
#define NUMBER_BUF 64

/* Objects with more members than this find repeats with a hash table, not by pairs. */
#define REPEAT_LINEAR_MAX 16

static void
grow_nodes (VdJsonDoc *doc)
{
  doc->nodes_alloc = MAX (16, doc->nodes_alloc * 2);
  doc->nodes = g_renew (VdJsonNode, doc->nodes, doc->nodes_alloc);
}

static void
reserve_text (VdJsonDoc *doc,
              gsize      extra)
{
  if (doc->text_len + extra <= doc->text_alloc)
    return;
  doc->text_alloc = MAX (doc->text_len + extra, doc->text_alloc * 2);
  doc->text = g_realloc (doc->text, doc->text_alloc);
}

VdJsonDoc *
vd_json_doc_new (void)
{
  VdJsonDoc *doc = g_new0 (VdJsonDoc, 1);

  reserve_text (doc, 64);
  return doc;
}

void
vd_json_doc_free (VdJsonDoc *doc)
{
  if (doc == NULL)
    return;

  g_free (doc->nodes);
  g_free (doc->text);
  g_free (doc);
}

static guint
append_text (VdJsonDoc  *doc,
             const char *s,
             gsize       len)
{
  gsize at = doc->text_len;

  reserve_text (doc, len + 1);
  memcpy (doc->text + at, s, len);
  doc->text[at + len] = '\0';
  doc->text_len += len + 1;
  return (guint) at;
}

guint
vd_json_doc_append (VdJsonDoc  *doc,
                    guint       parent,
                    VdJsonKind  kind,
                    const char *name)
{
  VdJsonNode *node;
  guint index;

  g_return_val_if_fail (doc != NULL, 0);
  g_return_val_if_fail (doc->n_nodes == 0 || parent < doc->n_nodes, 0);

  if (doc->n_nodes == doc->nodes_alloc)
    grow_nodes (doc);
  index = doc->n_nodes++;
  node = &doc->nodes[index];
  memset (node, 0, sizeof *node);
  node->kind = kind;
  node->next = index + 1;
  if (name != NULL)
    {
      gsize len = strlen (name);

      node->name = append_text (doc, name, len);
      node = &doc->nodes[index];
      node->name_len = (guint32) len;
    }
  if (index > 0)
    doc->nodes[parent].n++;
  return index;
}

void
vd_json_doc_set_string (VdJsonDoc  *doc,
                        guint       index,
                        const char *s)
{
  gsize len;
  guint offset;

  g_return_if_fail (doc != NULL && index < doc->n_nodes && s != NULL);

  len = strlen (s);
  offset = append_text (doc, s, len);
  doc->nodes[index].kind = VD_JSON_STRING;
  doc->nodes[index].str.offset = offset;
  doc->nodes[index].str.len = (guint32) len;
}

void
vd_json_doc_close (VdJsonDoc *doc,
                   guint      index)
{
  g_return_if_fail (doc != NULL && index < doc->n_nodes);

  doc->nodes[index].next = doc->n_nodes;
}

/* ---------------------------------------------------------------------------------- */
/* Parsing */

static gboolean
not_json (gsize    offset,
          GError **error)
{
  g_set_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
               _("The request is not valid JSON (at byte %zu)."), offset);
  return FALSE;
}

static inline gsize
skip_space (const char *data,
            gsize       len,
            gsize       i)
{
  while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t'))
    i++;
  return i;
}

static inline int
hex4 (const char *p)
{
  int value = 0;

  for (guint k = 0; k < 4; k++)
    {
      char c = p[k];
      int d;

      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        return -1;
      value = (value << 4) | d;
    }
  return value;
}

/* The string whose opening quote is at *pos, unescaped into doc->text (which has room:
 * no unescaped string is longer than its JSON spelling, quotes included). Leaves *pos
 * after the closing quote. */
static gboolean
parse_string (VdJsonDoc  *doc,
              const char *data,
              gsize       len,
              gsize      *pos,
              guint32    *offset,
              guint32    *out_len)
{
  char *out = doc->text + doc->text_len;
  char *start = out;
  gsize i = *pos + 1;

  for (;;)
    {
      gsize run = i;
      guchar c;

      while (i < len && data[i] != '"' && data[i] != '\\')
        i++;
      memcpy (out, data + run, i - run);
      out += i - run;
      if (i >= len)
        return FALSE;
      c = (guchar) data[i];
      if (c == '"')
        break;

      if (i + 1 >= len)
        return FALSE;
      switch (data[i + 1])
        {
        case '"': *out++ = '"'; i += 2; break;
        case '\\': *out++ = '\\'; i += 2; break;
        case '/': *out++ = '/'; i += 2; break;
        case 'b': *out++ = '\b'; i += 2; break;
        case 'f': *out++ = '\f'; i += 2; break;
        case 'n': *out++ = '\n'; i += 2; break;
        case 'r': *out++ = '\r'; i += 2; break;
        case 't': *out++ = '\t'; i += 2; break;
        case 'u':
          {
            int unit = i + 6 <= len ? hex4 (data + i + 2) : -1;
            gunichar ch;

            /* The grammar check let through only what json-glib read as meant: no
             * U+0000, surrogates only as high-low pairs. */
            if (unit <= 0 || (unit >= 0xdc00 && unit <= 0xdfff))
              return FALSE;
            i += 6;
            if (unit >= 0xd800 && unit <= 0xdbff)
              {
                int low = i + 6 <= len && data[i] == '\\' && data[i + 1] == 'u'
                          ? hex4 (data + i + 2) : -1;

                if (low < 0xdc00 || low > 0xdfff)
                  return FALSE;
                ch = 0x10000 + (((gunichar) unit - 0xd800) << 10) + ((gunichar) low - 0xdc00);
                i += 6;
              }
            else
              ch = (gunichar) unit;
            out += g_unichar_to_utf8 (ch, out);
          }
          break;
        default:
          return FALSE;
        }
    }

  *out = '\0';
  *offset = (guint32) doc->text_len;
  *out_len = (guint32) (out - start);
  doc->text_len += (out - start) + 1;
  *pos = i + 1;
  return TRUE;
}

/* A number at *pos. Integers json-glib read as integers (within 64 bits) stay integers;
 * the rest are doubles exactly as g_ascii_strtod reads the text. */
static gboolean
parse_number (const char *data,
              gsize       len,
              gsize      *pos,
              VdJsonNode *node)
{
  gsize i = *pos, digits_start;
  gboolean negative = FALSE, fraction = FALSE;
  gsize n_digits;

  if (data[i] == '-')
    {
      negative = TRUE;
      i++;
    }
  digits_start = i;
  while (i < len && g_ascii_isdigit (data[i]))
    i++;
  n_digits = i - digits_start;
  if (n_digits == 0)
    return FALSE;
  while (i < len && (g_ascii_isdigit (data[i]) || data[i] == '.' || data[i] == 'e' ||
                     data[i] == 'E' || data[i] == '+' || data[i] == '-'))
    {
      fraction = TRUE;
      i++;
    }

  if (!fraction)
    {
      const char *limit = negative ? "9223372036854775808" : "9223372036854775807";

      if (n_digits < 19 ||
          (n_digits == 19 && memcmp (data + digits_start, limit, 19) <= 0))
        {
          guint64 u = 0;

          for (gsize k = digits_start; k < i; k++)
            u = u * 10 + (guint64) (data[k] - '0');
          node->kind = VD_JSON_INT;
          node->i = negative ? (gint64) (G_GUINT64_CONSTANT (0) - u) : (gint64) u;
          *pos = i;
          return TRUE;
        }
    }

  {
    char buf[NUMBER_BUF];
    g_autofree char *heap = NULL;
    char *text = buf;
    char *end = NULL;
    gsize n = i - *pos;

    if (n >= sizeof buf)
      text = heap = g_malloc (n + 1);
    memcpy (text, data + *pos, n);
    text[n] = '\0';
    node->kind = VD_JSON_REAL;
    node->r = g_ascii_strtod (text, &end);
    if (end != text + n)
      return FALSE;
  }
  *pos = i;
  return TRUE;
}

VdJsonDoc *
vd_json_doc_parse (const char  *data,
                   gsize        len,
                   GError     **error)
{
  g_autoptr(VdJsonDoc) doc = NULL;
  guint stack[VD_PROTOCOL_MAX_DEPTH];
  guint depth = 0;
  gsize i;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (len >= G_MAXUINT32)
    {
      g_set_error (error, VD_ERROR, VD_ERROR_PAYLOAD_TOO_LARGE,
                   _("The request is %zu bytes long; at most %zu bytes are accepted."),
                   len, (gsize) G_MAXUINT32 - 1);
      return NULL;
    }

  doc = g_new0 (VdJsonDoc, 1);
  /* Every string unescapes to at most its own length, quotes included: one allocation. */
  doc->text_alloc = len + 1;
  doc->text = g_malloc (doc->text_alloc);
  doc->nodes_alloc = (guint) MIN (len / 16 + 16, 1u << 20);
  doc->nodes = g_new (VdJsonNode, doc->nodes_alloc);

  i = skip_space (data, len, 0);
  for (;;)
    {
      VdJsonNode *node;
      guint index;
      guint32 name = 0, name_len = 0;
      char c;

      /* A value, after its member name when inside an object. */
      if (depth > 0 && doc->nodes[stack[depth - 1]].kind == VD_JSON_OBJECT)
        {
          if (i >= len || data[i] != '"' || !parse_string (doc, data, len, &i, &name, &name_len))
            return not_json (i, error), NULL;
          i = skip_space (data, len, i);
          if (i >= len || data[i] != ':')
            return not_json (i, error), NULL;
          i = skip_space (data, len, i + 1);
        }
      if (i >= len)
        return not_json (i, error), NULL;

      if (doc->n_nodes == doc->nodes_alloc)
        grow_nodes (doc);
      index = doc->n_nodes++;
      node = &doc->nodes[index];
      node->name = name;
      node->name_len = name_len;
      node->next = index + 1;
      node->i = 0;
      if (depth > 0)
        doc->nodes[stack[depth - 1]].n++;

      c = data[i];
      switch (c)
        {
        case '{':
        case '[':
          if (depth == G_N_ELEMENTS (stack))
            return not_json (i, error), NULL;
          node->kind = c == '{' ? VD_JSON_OBJECT : VD_JSON_ARRAY;
          node->n = 0;
          stack[depth++] = index;
          i = skip_space (data, len, i + 1);
          if (i < len && data[i] == (c == '{' ? '}' : ']'))
            {
              /* Empty: closed below, like any finished container. */
              break;
            }
          continue;

        case '"':
          node->kind = VD_JSON_STRING;
          if (!parse_string (doc, data, len, &i, &name, &name_len))
            return not_json (i, error), NULL;
          node = &doc->nodes[index];
          node->str.offset = name;
          node->str.len = name_len;
          break;

        case 't':
        case 'f':
        case 'n':
          {
            const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
            gsize word_len = c == 'f' ? 5 : 4;

            if (len - i < word_len || memcmp (data + i, word, word_len) != 0)
              return not_json (i, error), NULL;
            node->kind = c == 'n' ? VD_JSON_NULL : VD_JSON_BOOL;
            node->b = c == 't';
            i += word_len;
          }
          break;

        default:
          if (!(c == '-' || g_ascii_isdigit (c)) || !parse_number (data, len, &i, node))
            return not_json (i, error), NULL;
          break;
        }

      /* A value is complete: close the containers it completes, then go on to the next
       * member or element, or stop after the root. */
      i = skip_space (data, len, i);
      for (;;)
        {
          VdJsonNode *open;

          if (depth == 0)
            {
              if (i != len)
                return not_json (i, error), NULL;
              return g_steal_pointer (&doc);
            }
          if (i >= len)
            return not_json (i, error), NULL;
          open = &doc->nodes[stack[depth - 1]];
          if (data[i] == ',')
            {
              i = skip_space (data, len, i + 1);
              break;
            }
          if (data[i] != (open->kind == VD_JSON_OBJECT ? '}' : ']'))
            return not_json (i, error), NULL;
          open->next = doc->n_nodes;
          depth--;
          i = skip_space (data, len, i + 1);
        }
    }
}

/* ---------------------------------------------------------------------------------- */
/* Looking up members */

static inline gboolean
same_name (const VdJsonDoc  *doc,
           const VdJsonNode *a,
           const VdJsonNode *b)
{
  return a->name_len == b->name_len &&
         memcmp (doc->text + a->name, doc->text + b->name, a->name_len) == 0;
}

guint
vd_json_object_get (const VdJsonDoc *doc,
                    guint            object,
                    const char      *name)
{
  gsize name_len;
  guint found = VD_JSON_NONE;
  guint m;

  g_return_val_if_fail (doc != NULL && object < doc->n_nodes, VD_JSON_NONE);
  g_return_val_if_fail (name != NULL, VD_JSON_NONE);

  if (doc->nodes[object].kind != VD_JSON_OBJECT)
    return VD_JSON_NONE;
  name_len = strlen (name);
  m = vd_json_first (object);
  for (guint k = 0; k < doc->nodes[object].n; k++, m = doc->nodes[m].next)
    if (doc->nodes[m].name_len == name_len &&
        memcmp (doc->text + doc->nodes[m].name, name, name_len) == 0)
      found = m;
  return found;
}

const char *
vd_json_object_repeated (const VdJsonDoc *doc,
                         guint            object)
{
  g_autoptr(GHashTable) seen = NULL;
  guint members[REPEAT_LINEAR_MAX];
  const VdJsonNode *node;
  guint m;

  g_return_val_if_fail (doc != NULL && object < doc->n_nodes, NULL);

  node = &doc->nodes[object];
  if (node->kind != VD_JSON_OBJECT || node->n < 2)
    return NULL;

  m = vd_json_first (object);
  if (node->n <= REPEAT_LINEAR_MAX)
    {
      for (guint k = 0; k < node->n; k++, m = doc->nodes[m].next)
        {
          for (guint j = 0; j < k; j++)
            if (same_name (doc, &doc->nodes[members[j]], &doc->nodes[m]))
              return vd_json_name (doc, m);
          members[k] = m;
        }
      return NULL;
    }

  /* Names hold no NUL (the grammar check refuses \u0000), so they hash as C strings. */
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint k = 0; k < node->n; k++, m = doc->nodes[m].next)
    if (!g_hash_table_add (seen, (gpointer) vd_json_name (doc, m)))
      return vd_json_name (doc, m);
  return NULL;
}
