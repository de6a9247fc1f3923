/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-json.c — JSON for the wire codec: the checks untrusted text passes first (size,
 * UTF-8, depth, then the whole grammar in one linear scan), the decoders' compact tree (one
 * pass over checked text, no per-value allocation, nothing to walk when freeing), and the
 * writer the encoders append JSON text with. */
#define G_LOG_DOMAIN "vdshared"

#include "config.h"

#include <inttypes.h>

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "vd-json.h"
#include "vd-error.h"
#include "vd-protocol.h"
#include "vd-time.h"

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

/* Names and values quoted from a peer in a message are cut to this many characters. */
#define QUOTE_MAX_CHARS 40
/* ---------------------------------------------------------------------------------- */
/* Checks before parsing */

/* Bytes that end a run of plain text inside a JSON string: controls, '"' and '\\'. The
 * scans below spend most of their time in strings, so they skip runs with one load per
 * byte. (The rest of the 256 entries are 0.) */
static const guint8 string_stop[256] = {
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
};

gboolean
vd_json_precheck (const char *data,
                  gsize       len,
                  gsize       max_size,
                  GError    **error)
{
  gboolean in_string = FALSE;
  guint depth = 0;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len > max_size)
    {
      g_set_error (error, VD_ERROR, VD_ERROR_PAYLOAD_TOO_LARGE,
                   _("The request is %zu bytes long; at most %zu bytes are accepted."),
                   len, max_size);
      return FALSE;
    }

  /* Also refuses NUL bytes, which JSON never allows unescaped. */
  if (len > 0 && !g_utf8_validate_len (data, len, NULL))
    {
      g_set_error_literal (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
                           _("The request is not valid UTF-8 text."));
      return FALSE;
    }

  /* Deep nesting is refused here, by a scan that itself keeps no stack: the tree's
   * builder holds VD_PROTOCOL_MAX_DEPTH open containers, and readers that recurse (as
   * json-glib does, with no limit) would overflow theirs. */
  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];

      if (in_string)
        {
          while (!string_stop[(guchar) data[i]] && i + 1 < len)
            i++;
          c = data[i];
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }

      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '[':
        case '{':
          if (++depth > VD_PROTOCOL_MAX_DEPTH)
            {
              g_set_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
                           _("The request nests arrays and objects more than %d levels deep."),
                           VD_PROTOCOL_MAX_DEPTH);
              return FALSE;
            }
          break;
        case ']':
        case '}':
          if (depth > 0)
            depth--;
          break;
        default:
          break;
        }
    }

  return TRUE;
}

static gboolean
syntax_error (gsize    offset,
              GError **error)
{
  g_set_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
               _("The request is not valid JSON (at byte %zu)."), offset);
  return FALSE;
}

static int
hex_digit (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Four hex digits at data[at], or -1. */
static int
read_hex4 (const char *data,
           gsize       len,
           gsize       at)
{
  int value = 0;

  if (at + 4 > len)
    return -1;
  for (guint k = 0; k < 4; k++)
    {
      int d = hex_digit (data[at + k]);

      if (d < 0)
        return -1;
      value = (value << 4) | d;
    }
  return value;
}

/* A string from the opening quote at *pos; leaves *pos after the closing quote. Escapes
 * json-glib (which decoded requests before vd-json.c) turned into something else than
 * what they mean stay refused: \u0000 (it truncated the string there) and unpaired
 * surrogates (it wrote invalid UTF-8). */
static gboolean
scan_string (const char *data,
             gsize       len,
             gsize      *pos,
             GError    **error)
{
  gsize i = *pos + 1;

  while (i < len)
    {
      guchar c;

      while (i < len && !string_stop[(guchar) data[i]])
        i++;
      if (i >= len)
        break;
      c = (guchar) data[i];
      if (c == '"')
        {
          *pos = i + 1;
          return TRUE;
        }
      if (c < 0x20)
        return syntax_error (i, error);
      if (c != '\\')
        {
          i++;
          continue;
        }

      if (i + 1 >= len)
        return syntax_error (i, error);
      switch (data[i + 1])
        {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          i += 2;
          break;

        case 'u':
          {
            int unit = read_hex4 (data, len, i + 2);

            if (unit < 0)
              return syntax_error (i, error);
            if (unit == 0)
              {
                g_set_error_literal (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
                                     _("The request contains the character U+0000, which is not accepted in text."));
                return FALSE;
              }
            if (unit >= 0xdc00 && unit <= 0xdfff)
              return syntax_error (i, error);
            if (unit >= 0xd800 && unit <= 0xdbff)
              {
                int low;

                if (i + 7 >= len || data[i + 6] != '\\' || data[i + 7] != 'u')
                  return syntax_error (i, error);
                low = read_hex4 (data, len, i + 8);
                if (low < 0xdc00 || low > 0xdfff)
                  return syntax_error (i, error);
                i += 6;
              }
            i += 6;
          }
          break;

        default:
          return syntax_error (i, error);
        }
    }

  return syntax_error (len, error);
}

/* A number at *pos (RFC 8259 grammar). Which numbers are integers is decided when the
 * tree is built (vd-json.c). */
static gboolean
scan_number (const char *data,
             gsize       len,
             gsize      *pos,
             GError    **error)
{
  gsize i = *pos;

  if (data[i] == '-')
    i++;
  if (i >= len || !g_ascii_isdigit (data[i]))
    return syntax_error (i, error);
  if (data[i] == '0')
    i++;
  else
    while (i < len && g_ascii_isdigit (data[i]))
      i++;

  if (i < len && data[i] == '.')
    {
      i++;
      if (i >= len || !g_ascii_isdigit (data[i]))
        return syntax_error (i, error);
      while (i < len && g_ascii_isdigit (data[i]))
        i++;
    }
  if (i < len && (data[i] == 'e' || data[i] == 'E'))
    {
      i++;
      if (i < len && (data[i] == '+' || data[i] == '-'))
        i++;
      if (i >= len || !g_ascii_isdigit (data[i]))
        return syntax_error (i, error);
      while (i < len && g_ascii_isdigit (data[i]))
        i++;
    }

  *pos = i;
  return TRUE;
}

typedef enum
{
  EXPECT_VALUE,
  EXPECT_VALUE_OR_CLOSE,   /* just after '[' */
  EXPECT_KEY,              /* after ',' in an object */
  EXPECT_KEY_OR_CLOSE,     /* just after '{' */
  EXPECT_COLON,
  EXPECT_COMMA_OR_CLOSE,   /* after a value inside an array or object */
  EXPECT_END,              /* after the root value */
} SyntaxState;

/* The whole RFC 8259 grammar, linear and with a bounded stack. The tree builder relies on
 * it. (It was written for json-glib 1.6, which accepts far more than JSON: of
 * JSONTestSuite's n_ files it takes 32, leading zeros, "2.", ".2", hex, "- 1", comments,
 * raw tabs in strings, \x escapes, a BOM, "[][]"; it takes every y_ file.) */
static gboolean
check_syntax (const char *data,
              gsize       len,
              GError    **error)
{
  char stack[VD_PROTOCOL_MAX_DEPTH];
  guint depth = 0;
  SyntaxState state = EXPECT_VALUE;
  gsize i = 0;

  for (;;)
    {
      char c;

      while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
        i++;
      if (i == len)
        return state == EXPECT_END ? TRUE : syntax_error (i, error);
      c = data[i];

      switch (state)
        {
        case EXPECT_END:
          return syntax_error (i, error);

        case EXPECT_COLON:
          if (c != ':')
            return syntax_error (i, error);
          i++;
          state = EXPECT_VALUE;
          continue;

        case EXPECT_KEY_OR_CLOSE:
        case EXPECT_KEY:
          if (c == '}' && state == EXPECT_KEY_OR_CLOSE)
            {
              depth--;
              i++;
              break;
            }
          if (c != '"')
            return syntax_error (i, error);
          if (!scan_string (data, len, &i, error))
            return FALSE;
          state = EXPECT_COLON;
          continue;

        case EXPECT_COMMA_OR_CLOSE:
          if (c == ',')
            {
              state = stack[depth - 1] == '{' ? EXPECT_KEY : EXPECT_VALUE;
              i++;
              continue;
            }
          if ((c == ']' && stack[depth - 1] == '[') || (c == '}' && stack[depth - 1] == '{'))
            {
              depth--;
              i++;
              break;
            }
          return syntax_error (i, error);

        case EXPECT_VALUE_OR_CLOSE:
        case EXPECT_VALUE:
          if (c == ']' && state == EXPECT_VALUE_OR_CLOSE)
            {
              depth--;
              i++;
              break;
            }
          if (c == '[' || c == '{')
            {
              if (depth == VD_PROTOCOL_MAX_DEPTH)
                return syntax_error (i, error);
              stack[depth++] = c;
              state = c == '[' ? EXPECT_VALUE_OR_CLOSE : EXPECT_KEY_OR_CLOSE;
              i++;
              continue;
            }
          if (c == '"')
            {
              if (!scan_string (data, len, &i, error))
                return FALSE;
            }
          else if (c == '-' || g_ascii_isdigit (c))
            {
              if (!scan_number (data, len, &i, error))
                return FALSE;
            }
          else if (c == 't' && len - i >= 4 && memcmp (data + i, "true", 4) == 0)
            i += 4;
          else if (c == 'f' && len - i >= 5 && memcmp (data + i, "false", 5) == 0)
            i += 5;
          else if (c == 'n' && len - i >= 4 && memcmp (data + i, "null", 4) == 0)
            i += 4;
          else
            return syntax_error (i, error);
          break;

        default:
          g_assert_not_reached ();
        }

      /* A value (scalar or closed container) is complete. */
      state = depth == 0 ? EXPECT_END : EXPECT_COMMA_OR_CLOSE;
    }
}

/* ---------------------------------------------------------------------------------- */
/* Parsing */

/* Untrusted bytes to a tree, refusing what json-glib used to be kept from seeing (and
 * so what was refused before this decoder replaced it). */
VdJsonDoc *
vd_json_doc_parse_untrusted (const char  *data,
                 gsize        len,
                 gsize        max_size,
                 GError     **error)
{
  if (!vd_json_precheck (data, len, max_size, error))
    return NULL;
  if (!check_syntax (data, len, error))
    return NULL;
  return vd_json_doc_parse (data, len, error);
}

/* Text from a peer as it may appear in a sentence: short, one line. */
char *
vd_json_quote (const char *s)
{
  GString *out;
  const char *p = s;
  guint n_chars = 0;

  if (s == NULL || !g_utf8_validate (s, -1, NULL))
    return g_strdup ("?");

  out = g_string_new (NULL);
  for (; *p != '\0' && n_chars < QUOTE_MAX_CHARS; p = g_utf8_next_char (p), n_chars++)
    {
      gunichar ch = g_utf8_get_char (p);

      if (g_unichar_iscntrl (ch))
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, ch);
    }
  if (*p != '\0')
    g_string_append (out, "…");

  return g_string_free (out, FALSE);
}

/* The members of an object in the order json-glib 1.6 visited them: its
 * json_object_iter_next walks a GHashTable of the names. Only used when something is
 * wrong, so a message names the same one of several faulty members as it always did. */
GArray *
vd_json_members_in_json_glib_order (const VdJsonDoc *doc,
                            guint            object)
{
  guint n = doc->nodes[object].n;
  GArray *order = g_array_sized_new (FALSE, FALSE, sizeof (guint), n);
  guint m = vd_json_first (object);

  if (doc->json_glib_order)
    {
      for (guint k = 0; k < n; k++, m = vd_json_next (doc, m))
        g_array_append_val (order, m);
    }
  else
    {
      g_autoptr(GHashTable) members = g_hash_table_new (g_str_hash, g_str_equal);
      GHashTableIter iter;
      gpointer value;

      for (guint k = 0; k < n; k++, m = vd_json_next (doc, m))
        g_hash_table_replace (members, (gpointer) vd_json_name (doc, m), GUINT_TO_POINTER (m));
      g_hash_table_iter_init (&iter, members);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          guint index = GPOINTER_TO_UINT (value);

          g_array_append_val (order, index);
        }
    }
  return order;
}

/* ---------------------------------------------------------------------------------- */
/* Encoding */

void
vd_json_append_string (GString    *out,
                       const char *s)
{
  const char *run;
  const char *p;

  if (s == NULL)
    {
      g_string_append (out, "null");
      return;
    }
  run = s;
  g_string_append_c (out, '"');
  for (p = s; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c >= 0x20 && c != '"' && c != '\\')
        continue;

      g_string_append_len (out, run, p - run);
      switch (c)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default: g_string_append_printf (out, "\\u%04x", c); break;
        }
      run = p + 1;
    }
  g_string_append_len (out, run, p - run);
  g_string_append_c (out, '"');
}

void
vd_json_append_utc_or_null (GString *out,
                            gint64   unix_time)
{
  char text[32];

  if (unix_time <= 0)
    {
      g_string_append (out, "null");
      return;
    }
  vd_time_format_utc (unix_time, text);
  vd_json_append_string (out, text);
}

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double, so 0.1 is
 * written "0.1" and every double survives the trip. A fraction point is added to whole
 * numbers so a real stays a real. */
void
vd_json_append_double (GString *out,
               double   r)
{
  static const char * const formats[] = { "%.15g", "%.16g", "%.17g" };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (r))
    {
      /* JSON cannot write it; validation never lets one in. */
      g_warning ("Writing a non-finite number as null");
      g_string_append (out, "null");
      return;
    }

  for (guint k = 0; k < G_N_ELEMENTS (formats); k++)
    {
      g_ascii_formatd (buf, sizeof buf, formats[k], r);
      if (g_ascii_strtod (buf, NULL) == r)
        break;
    }
  g_string_append (out, buf);
  if (strpbrk (buf, ".eE") == NULL)
    g_string_append (out, ".0");
}

void
vd_json_append_int (GString *out,
            gint64   i)
{
  char buf[24];

  g_snprintf (buf, sizeof buf, "%" PRId64, i);
  g_string_append (out, buf);
}
