/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-change.c — the change model and its JSON codec: untrusted bytes are checked by a
 * linear scan, read into a compact tree (vd-json.c), and encoding writes JSON text directly. */
#define G_LOG_DOMAIN "vdshared"

#include "config.h"

#include <inttypes.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "vd-change.h"
#include "vd-error.h"
#include "vd-json.h"
#include "vd-protocol.h"
#include "vd-time.h"

/* A pull page of 5,000 changes may carry long notes, so the desk accepts answers larger
 * than the 4 MiB the server accepts in a request. */
#define PULL_MAX_ANSWER (64 * 1024 * 1024)

/* Integers beyond ±(2^53 - 1) do not survive a trip through a double, which is what many
 * JSON readers turn numbers into, so integer cells refuse them. */
#define SAFE_INTEGER_MAX G_GINT64_CONSTANT (9007199254740991)

/* Names and values quoted from a peer in a message are cut to this many characters. */
#define QUOTE_MAX_CHARS 40

/* ---------------------------------------------------------------------------------- */
/* The change model */

static void
cell_clear (gpointer data)
{
  VdCell *cell = data;

  vd_value_clear (&cell->value);
}

static GArray *
cells_new (guint reserve)
{
  GArray *cells = g_array_sized_new (FALSE, TRUE, sizeof (VdCell), reserve);

  g_array_set_clear_func (cells, cell_clear);
  return cells;
}

VdChange *
vd_change_new (const VdTable *table,
               const char    *id,
               VdHlc          hlc,
               const char    *site)
{
  char canonical_id[VD_UUID_LEN + 1];
  char canonical_site[VD_UUID_LEN + 1];
  VdChange *change;

  g_return_val_if_fail (table != NULL, NULL);
  g_return_val_if_fail (vd_uuid_normalize (id, canonical_id), NULL);
  g_return_val_if_fail (vd_uuid_normalize (site, canonical_site), NULL);

  change = g_new0 (VdChange, 1);
  change->table = table;
  memcpy (change->id, canonical_id, sizeof change->id);
  change->hlc = hlc;
  memcpy (change->site, canonical_site, sizeof change->site);
  change->cells = cells_new (4);
  change->seq = 0;

  return change;
}

void
vd_change_free (VdChange *change)
{
  if (change == NULL)
    return;

  g_array_unref (change->cells);
  g_free (change);
}

VdChange *
vd_change_copy (const VdChange *change)
{
  VdChange *copy;

  g_return_val_if_fail (change != NULL, NULL);

  copy = g_new0 (VdChange, 1);
  copy->table = change->table;
  memcpy (copy->id, change->id, sizeof copy->id);
  copy->hlc = change->hlc;
  memcpy (copy->site, change->site, sizeof copy->site);
  copy->seq = change->seq;
  copy->cells = cells_new (change->cells->len);
  g_array_set_size (copy->cells, change->cells->len);
  for (guint i = 0; i < change->cells->len; i++)
    {
      const VdCell *src = &g_array_index (change->cells, VdCell, i);
      VdCell *dest = &g_array_index (copy->cells, VdCell, i);

      dest->column = src->column;
      dest->value.kind = VD_VALUE_NULL;
      vd_value_copy (&src->value, &dest->value);
    }

  return copy;
}

void
vd_change_take_cell (VdChange       *change,
                     const VdColumn *column,
                     VdValue        *value)
{
  VdCell cell;
  guint pos;

  g_return_if_fail (change != NULL);
  g_return_if_fail (column != NULL);
  g_return_if_fail (value != NULL);
  g_return_if_fail (column->table == change->table);

  /* Cells stay sorted by schema position: a change has a handful of cells, so a linear
   * walk is cheaper than anything cleverer. */
  for (pos = 0; pos < change->cells->len; pos++)
    {
      VdCell *existing = &g_array_index (change->cells, VdCell, pos);

      if (existing->column->index == column->index)
        {
          vd_value_clear (&existing->value);
          existing->value = *value;
          memset (value, 0, sizeof *value);
          value->kind = VD_VALUE_NULL;
          return;
        }
      if (existing->column->index > column->index)
        break;
    }

  cell.column = column;
  cell.value = *value;
  memset (value, 0, sizeof *value);
  value->kind = VD_VALUE_NULL;
  g_array_insert_val (change->cells, pos, cell);
}

const VdCell *
vd_change_get_cell (const VdChange *change,
                    const char     *column_name)
{
  g_return_val_if_fail (change != NULL, NULL);
  g_return_val_if_fail (column_name != NULL, NULL);

  for (guint i = 0; i < change->cells->len; i++)
    {
      const VdCell *cell = &g_array_index (change->cells, VdCell, i);

      if (strcmp (cell->column->name, column_name) == 0)
        return cell;
    }

  return NULL;
}

void
vd_rejection_free (VdRejection *rejection)
{
  if (rejection == NULL)
    return;

  g_free (rejection->code);
  g_free (rejection->message);
  g_free (rejection);
}

void
vd_push_request_free (VdPushRequest *request)
{
  if (request == NULL)
    return;

  g_clear_pointer (&request->changes, g_ptr_array_unref);
  g_clear_pointer (&request->indices, g_array_unref);
  g_clear_pointer (&request->rejected, g_ptr_array_unref);
  g_free (request);
}

void
vd_pull_answer_free (VdPullAnswer *answer)
{
  if (answer == NULL)
    return;

  g_clear_pointer (&answer->changes, g_ptr_array_unref);
  g_free (answer);
}

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
static VdJsonDoc *
parse_untrusted (const char  *data,
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
static char *
quote (const char *s)
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

#define NAME_IS(doc, index, literal) \
  ((doc)->nodes[index].name_len == sizeof (literal) - 1 && \
   memcmp ((doc)->text + (doc)->nodes[index].name, literal, sizeof (literal) - 1) == 0)

static const char *
node_string (const VdJsonDoc *doc,
             guint            index)
{
  if (index != VD_JSON_NONE && doc->nodes[index].kind == VD_JSON_STRING)
    return vd_json_string (doc, index);
  return NULL;
}

static gboolean
node_is_int (const VdJsonDoc *doc,
             guint            index)
{
  return index != VD_JSON_NONE && doc->nodes[index].kind == VD_JSON_INT;
}

/* The members of an object in the order json-glib 1.6 visited them: its
 * json_object_iter_next walks a GHashTable of the names. Only used when something is
 * wrong, so a message names the same one of several faulty members as it always did. */
static GArray *
members_in_json_glib_order (const VdJsonDoc *doc,
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

/* The rules for one JSON value as a cell of column, shared by both decoders. */
static gboolean
cell_value_from_node (const VdColumn  *column,
                      const VdJsonDoc *doc,
                      guint            index,
                      VdValue         *out,
                      GError         **error)
{
  const VdJsonNode *node = vd_json_node (doc, index);

  /* The column's label is translated, so it is looked up only for a message. */
  vd_value_clear (out);

  switch (node->kind)
    {
    case VD_JSON_NULL:
      break;

    case VD_JSON_ARRAY:
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s must be a single value, not a list."), vd_column_label (column));
      return FALSE;

    case VD_JSON_OBJECT:
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s must be a single value, not an object."), vd_column_label (column));
      return FALSE;

    case VD_JSON_INT:
      if (column->type == VD_TYPE_INTEGER && (node->i > SAFE_INTEGER_MAX || node->i < -SAFE_INTEGER_MAX))
        goto out_of_range;
      vd_value_set_int (out, node->i);
      break;

    case VD_JSON_REAL:
      if (column->type == VD_TYPE_INTEGER && node->r == floor (node->r) &&
          fabs (node->r) > (double) SAFE_INTEGER_MAX)
        goto out_of_range;
      vd_value_set_real (out, node->r);
      break;

    case VD_JSON_BOOL:
      vd_value_set_bool (out, node->b);
      break;

    case VD_JSON_STRING:
      vd_value_take_text (out, g_strndup (vd_json_string (doc, index), node->str.len));
      break;

    case VD_JSON_UNKNOWN:
    default:
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s has a value of an unknown kind."), vd_column_label (column));
      return FALSE;
    }

  if (!vd_value_validate (column, out, error))
    {
      vd_value_clear (out);
      return FALSE;
    }
  return TRUE;

out_of_range:
  g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
               _("The %s is too large: it must be a whole number between -%" PRId64
                 " and %" PRId64 "."),
               vd_column_label (column), SAFE_INTEGER_MAX, SAFE_INTEGER_MAX);
  return FALSE;
}

/* A json-glib node as a tree, for the public json-glib entry points. Containers below
 * levels are kept without their contents: the change decoder never looks that deep. */
static void
append_json_node (VdJsonDoc  *doc,
                  guint       parent,
                  const char *name,
                  JsonNode   *node,
                  guint       levels)
{
  guint index;

  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      index = vd_json_doc_append (doc, parent, VD_JSON_OBJECT, name);
      if (levels > 0)
        {
          JsonObjectIter iter;
          const char *member_name;
          JsonNode *member;

          json_object_iter_init (&iter, json_node_get_object (node));
          while (json_object_iter_next (&iter, &member_name, &member))
            append_json_node (doc, index, member_name, member, levels - 1);
        }
      vd_json_doc_close (doc, index);
      break;

    case JSON_NODE_ARRAY:
      index = vd_json_doc_append (doc, parent, VD_JSON_ARRAY, name);
      if (levels > 0)
        {
          JsonArray *array = json_node_get_array (node);

          for (guint k = 0; k < json_array_get_length (array); k++)
            append_json_node (doc, index, NULL, json_array_get_element (array, k), levels - 1);
        }
      vd_json_doc_close (doc, index);
      break;

    case JSON_NODE_NULL:
      vd_json_doc_append (doc, parent, VD_JSON_NULL, name);
      break;

    case JSON_NODE_VALUE:
    default:
      {
        GType type = json_node_get_value_type (node);

        if (type == G_TYPE_INT64)
          {
            index = vd_json_doc_append (doc, parent, VD_JSON_INT, name);
            doc->nodes[index].i = json_node_get_int (node);
          }
        else if (type == G_TYPE_DOUBLE)
          {
            index = vd_json_doc_append (doc, parent, VD_JSON_REAL, name);
            doc->nodes[index].r = json_node_get_double (node);
          }
        else if (type == G_TYPE_BOOLEAN)
          {
            index = vd_json_doc_append (doc, parent, VD_JSON_BOOL, name);
            doc->nodes[index].b = json_node_get_boolean (node);
          }
        else if (type == G_TYPE_STRING && json_node_get_string (node) == NULL)
          vd_json_doc_append (doc, parent, VD_JSON_NULL, name);   /* as vd_value_set_text takes it */
        else if (type == G_TYPE_STRING)
          {
            index = vd_json_doc_append (doc, parent, VD_JSON_STRING, name);
            vd_json_doc_set_string (doc, index, json_node_get_string (node));
          }
        else
          vd_json_doc_append (doc, parent, VD_JSON_UNKNOWN, name);
      }
      break;
    }
}

static VdJsonDoc *
doc_from_json_node (JsonNode *node,
                    guint     levels)
{
  VdJsonDoc *doc = vd_json_doc_new ();

  /* Members go in as json-glib iterates them, so faults are met in the same order. */
  doc->json_glib_order = TRUE;
  append_json_node (doc, 0, NULL, node, levels);
  return doc;
}

gboolean
vd_value_from_json (const VdColumn *column,
                    JsonNode       *node,
                    VdValue        *out,
                    GError        **error)
{
  g_autoptr(VdJsonDoc) doc = NULL;

  g_return_val_if_fail (column != NULL, FALSE);
  g_return_val_if_fail (node != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  doc = doc_from_json_node (node, 0);
  return cell_value_from_node (column, doc, 0, out, error);
}

static gboolean
repeated_member_error (const VdJsonDoc  *doc,
                       guint             object,
                       GError          **error)
{
  const char *name = vd_json_object_repeated (doc, object);
  g_autofree char *quoted = NULL;

  if (name == NULL)
    return FALSE;

  quoted = quote (name);
  g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
               _("The member “%s” appears more than once in the change."), quoted);
  return TRUE;
}

/* The text member name of a change, or NULL with an error. */
static const char *
get_text_member (const VdJsonDoc  *doc,
                 guint             index,
                 const char       *name,
                 GError          **error)
{
  const char *text = node_string (doc, index);

  if (text == NULL)
    g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                 _("The change has no “%s”, or it is not text."), name);
  return text;
}

static gboolean
is_change_member (const VdJsonDoc *doc,
                  guint            member,
                  VdChangeOrigin   origin)
{
  return NAME_IS (doc, member, "table") || NAME_IS (doc, member, "id") ||
         NAME_IS (doc, member, "hlc") || NAME_IS (doc, member, "site") ||
         NAME_IS (doc, member, "set") ||
         (NAME_IS (doc, member, "seq") && origin == VD_CHANGE_FROM_SERVER);
}

/* One member of a change's set, as a cell of change. */
static gboolean
take_set_member (VdChange         *change,
                 const VdJsonDoc  *doc,
                 guint             member,
                 VdChangeOrigin    origin,
                 GError          **error)
{
  const char *name = vd_json_name (doc, member);
  const VdColumn *column = vd_table_lookup_column (change->table, name);
  VdValue value = { .kind = VD_VALUE_NULL };

  if (column == NULL)
    {
      g_autofree char *quoted = quote (name);

      if (strcmp (name, "id") == 0)
        g_set_error_literal (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                             _("The id of a row cannot be changed."));
      else
        g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                     _("The table “%s” has no column “%s”."), change->table->name, quoted);
      return FALSE;
    }
  if (column->server_owned && origin == VD_CHANGE_FROM_CLIENT)
    {
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s is written by the server only."), vd_column_label (column));
      return FALSE;
    }
  if (!cell_value_from_node (column, doc, member, &value, error))
    return FALSE;
  vd_change_take_cell (change, column, &value);
  return TRUE;
}

static VdChange *
change_from_doc (const VdJsonDoc  *doc,
                 guint             index,
                 VdChangeOrigin    origin,
                 GError          **error)
{
  g_autoptr(VdChange) change = NULL;
  g_autoptr(GError) set_error = NULL;
  guint table_node = VD_JSON_NONE, id_node = VD_JSON_NONE, hlc_node = VD_JSON_NONE;
  guint site_node = VD_JSON_NONE, set_node = VD_JSON_NONE, seq_node = VD_JSON_NONE;
  const char *table_name, *id, *hlc_text, *site;
  const VdTable *table;
  guint n_unknown = 0, unknown = VD_JSON_NONE;
  guint m, n;
  VdHlc hlc;

  if (doc->nodes[index].kind != VD_JSON_OBJECT)
    {
      g_set_error_literal (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                           _("The change is not a JSON object."));
      return NULL;
    }
  if (repeated_member_error (doc, index, error))
    return NULL;

  /* One walk over the members finds the known ones (no name repeats by now). */
  n = doc->nodes[index].n;
  m = vd_json_first (index);
  for (guint k = 0; k < n; k++, m = vd_json_next (doc, m))
    {
      if (NAME_IS (doc, m, "table"))
        table_node = m;
      else if (NAME_IS (doc, m, "id"))
        id_node = m;
      else if (NAME_IS (doc, m, "hlc"))
        hlc_node = m;
      else if (NAME_IS (doc, m, "site"))
        site_node = m;
      else if (NAME_IS (doc, m, "set"))
        set_node = m;
      else if (NAME_IS (doc, m, "seq") && origin == VD_CHANGE_FROM_SERVER)
        seq_node = m;
      else if (n_unknown++ == 0)
        unknown = m;
    }
  if (n_unknown > 0)
    {
      g_autofree char *quoted = NULL;

      if (n_unknown > 1)
        {
          g_autoptr(GArray) order = members_in_json_glib_order (doc, index);

          for (guint k = 0; k < order->len; k++)
            if (!is_change_member (doc, g_array_index (order, guint, k), origin))
              {
                unknown = g_array_index (order, guint, k);
                break;
              }
        }
      quoted = quote (vd_json_name (doc, unknown));
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The change has an unknown member “%s”."), quoted);
      return NULL;
    }

  table_name = get_text_member (doc, table_node, "table", error);
  if (table_name == NULL)
    return NULL;
  table = vd_schema_lookup_table (table_name);
  if (table == NULL)
    {
      g_autofree char *quoted = quote (table_name);

      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("There is no table “%s”."), quoted);
      return NULL;
    }
  if (table->server_owned && origin == VD_CHANGE_FROM_CLIENT)
    {
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The table “%s” is written by the server only."), table->name);
      return NULL;
    }

  if ((id = get_text_member (doc, id_node, "id", error)) == NULL ||
      (hlc_text = get_text_member (doc, hlc_node, "hlc", error)) == NULL ||
      (site = get_text_member (doc, site_node, "site", error)) == NULL)
    return NULL;

  change = g_new0 (VdChange, 1);
  change->table = table;
  change->cells = cells_new (4);
  if (!vd_uuid_normalize (id, change->id))
    {
      g_autofree char *quoted = quote (id);

      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The row id “%s” is not a UUID."), quoted);
      return NULL;
    }
  if (!vd_hlc_parse (hlc_text, &hlc, error))
    return NULL;
  change->hlc = hlc;
  if (!vd_uuid_normalize (site, change->site))
    {
      g_autofree char *quoted = quote (site);

      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The site “%s” is not a device id (a UUID)."), quoted);
      return NULL;
    }

  if (seq_node != VD_JSON_NONE)
    {
      if (!node_is_int (doc, seq_node) || doc->nodes[seq_node].i <= 0)
        {
          g_set_error_literal (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                               _("The change’s seq must be a positive whole number."));
          return NULL;
        }
      change->seq = doc->nodes[seq_node].i;
    }

  if (set_node == VD_JSON_NONE || doc->nodes[set_node].kind != VD_JSON_OBJECT)
    {
      g_set_error_literal (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                           _("The change has no “set” object with the columns it sets."));
      return NULL;
    }
  n = doc->nodes[set_node].n;
  if (n == 0)
    {
      g_set_error_literal (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                           _("The change sets no column."));
      return NULL;
    }
  if (repeated_member_error (doc, set_node, error))
    return NULL;

  m = vd_json_first (set_node);
  for (guint k = 0; k < n; k++, m = vd_json_next (doc, m))
    if (!take_set_member (change, doc, m, origin, &set_error))
      break;
  if (set_error != NULL)
    {
      /* Of several faulty columns, name the one json-glib's order met first. */
      if (n > 1)
        {
          g_autoptr(GArray) order = members_in_json_glib_order (doc, set_node);

          g_clear_error (&set_error);
          for (guint k = 0; k < order->len; k++)
            if (!take_set_member (change, doc, g_array_index (order, guint, k), origin, &set_error))
              break;
        }
      g_assert (set_error != NULL);
      g_propagate_error (error, g_steal_pointer (&set_error));
      return NULL;
    }

  return g_steal_pointer (&change);
}

VdChange *
vd_change_from_json (JsonNode        *node,
                     VdChangeOrigin   origin,
                     GError         **error)
{
  g_autoptr(VdJsonDoc) doc = NULL;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* The change, its members, the set's members: values inside those are refused as
   * lists or objects without a look inside. */
  doc = doc_from_json_node (node, 2);
  return change_from_doc (doc, 0, origin, error);
}

static gboolean
bad_request (GError     **error,
             const char  *message)
{
  g_set_error_literal (error, VD_ERROR, VD_ERROR_BAD_REQUEST, message);
  return FALSE;
}

/* A repeated member at the top of a request cannot be a change's fault. */
static gboolean
check_top_repeated (const VdJsonDoc  *doc,
                    GError          **error)
{
  const char *name = vd_json_object_repeated (doc, 0);
  g_autofree char *quoted = NULL;

  if (name == NULL)
    return TRUE;
  quoted = quote (name);
  g_set_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
               _("The member “%s” appears more than once in the request."), quoted);
  return FALSE;
}

static gboolean
is_push_member (const VdJsonDoc *doc,
                guint            member)
{
  return NAME_IS (doc, member, "device_id") || NAME_IS (doc, member, "batch_id") ||
         NAME_IS (doc, member, "changes");
}

VdPushRequest *
vd_push_request_decode (const char  *data,
                        gsize        len,
                        GError     **error)
{
  g_autoptr(VdJsonDoc) doc = NULL;
  g_autoptr(VdPushRequest) request = NULL;
  guint device_node = VD_JSON_NONE, batch_node = VD_JSON_NONE, changes_node = VD_JSON_NONE;
  guint n_unknown = 0, unknown = VD_JSON_NONE;
  const char *device_id;
  guint m;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  doc = parse_untrusted (data, len, VD_PROTOCOL_MAX_BODY, error);
  if (doc == NULL)
    return NULL;

  if (doc->nodes[0].kind != VD_JSON_OBJECT)
    return bad_request (error, _("The push must be a JSON object.")), NULL;
  if (!check_top_repeated (doc, error))
    return NULL;

  m = vd_json_first (0);
  for (guint k = 0; k < doc->nodes[0].n; k++, m = vd_json_next (doc, m))
    {
      if (NAME_IS (doc, m, "device_id"))
        device_node = m;
      else if (NAME_IS (doc, m, "batch_id"))
        batch_node = m;
      else if (NAME_IS (doc, m, "changes"))
        changes_node = m;
      else if (n_unknown++ == 0)
        unknown = m;
    }
  if (n_unknown > 0)
    {
      g_autofree char *quoted = NULL;

      if (n_unknown > 1)
        {
          g_autoptr(GArray) order = members_in_json_glib_order (doc, 0);

          for (guint k = 0; k < order->len; k++)
            if (!is_push_member (doc, g_array_index (order, guint, k)))
              {
                unknown = g_array_index (order, guint, k);
                break;
              }
        }
      quoted = quote (vd_json_name (doc, unknown));
      g_set_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
                   _("The push has an unknown member “%s”."), quoted);
      return NULL;
    }

  request = g_new0 (VdPushRequest, 1);

  device_id = node_string (doc, device_node);
  if (device_id == NULL || !vd_uuid_normalize (device_id, request->device_id))
    return bad_request (error, _("The push needs a “device_id” that is a UUID.")), NULL;

  if (!node_is_int (doc, batch_node) || doc->nodes[batch_node].i <= 0)
    return bad_request (error, _("The push needs a “batch_id” that is a positive whole number.")), NULL;
  request->batch_id = doc->nodes[batch_node].i;

  if (changes_node == VD_JSON_NONE || doc->nodes[changes_node].kind != VD_JSON_ARRAY)
    return bad_request (error, _("The push needs a “changes” list.")), NULL;
  request->n_total = doc->nodes[changes_node].n;
  if (request->n_total > VD_PROTOCOL_MAX_PUSH)
    {
      g_set_error (error, VD_ERROR, VD_ERROR_PAYLOAD_TOO_LARGE,
                   _("The push has %u changes; at most %d are accepted at once."),
                   request->n_total, VD_PROTOCOL_MAX_PUSH);
      return NULL;
    }

  request->changes = g_ptr_array_new_full (request->n_total, (GDestroyNotify) vd_change_free);
  request->indices = g_array_sized_new (FALSE, FALSE, sizeof (guint), request->n_total);
  request->rejected = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_rejection_free);

  m = vd_json_first (changes_node);
  for (guint i = 0; i < request->n_total; i++, m = vd_json_next (doc, m))
    {
      g_autoptr(GError) change_error = NULL;
      VdChange *change;

      change = change_from_doc (doc, m, VD_CHANGE_FROM_CLIENT, &change_error);
      if (change != NULL)
        {
          g_ptr_array_add (request->changes, change);
          g_array_append_val (request->indices, i);
        }
      else
        {
          VdRejection *rejection = g_new0 (VdRejection, 1);

          rejection->index = i;
          rejection->code = g_strdup (vd_error_code_to_string (VD_ERROR_INVALID_CHANGE));
          rejection->message = g_strdup (change_error->message);
          g_ptr_array_add (request->rejected, rejection);
        }
    }

  return g_steal_pointer (&request);
}

VdPullAnswer *
vd_pull_answer_decode (const char  *data,
                       gsize        len,
                       GError     **error)
{
  g_autoptr(VdJsonDoc) doc = NULL;
  g_autoptr(VdPullAnswer) answer = NULL;
  guint member, changes_node, n_changes, m;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  doc = parse_untrusted (data, len, PULL_MAX_ANSWER, error);
  if (doc == NULL)
    return NULL;

  if (doc->nodes[0].kind != VD_JSON_OBJECT)
    return bad_request (error, _("The pull answer is not a JSON object.")), NULL;
  if (!check_top_repeated (doc, error))
    return NULL;

  /* Members this version does not know are ignored: a newer server may add some. */
  answer = g_new0 (VdPullAnswer, 1);

  member = vd_json_object_get (doc, 0, "cursor");
  if (!node_is_int (doc, member) || doc->nodes[member].i < 0)
    return bad_request (error, _("The pull answer has no valid “cursor”.")), NULL;
  answer->cursor = doc->nodes[member].i;

  member = vd_json_object_get (doc, 0, "more");
  if (member == VD_JSON_NONE || doc->nodes[member].kind != VD_JSON_BOOL)
    return bad_request (error, _("The pull answer has no valid “more”.")), NULL;
  answer->more = doc->nodes[member].b;

  if (!vd_hlc_parse (node_string (doc, vd_json_object_get (doc, 0, "server_hlc")),
                     &answer->server_hlc, NULL))
    return bad_request (error, _("The pull answer has no valid “server_hlc”.")), NULL;

  changes_node = vd_json_object_get (doc, 0, "changes");
  if (changes_node == VD_JSON_NONE || doc->nodes[changes_node].kind != VD_JSON_ARRAY)
    return bad_request (error, _("The pull answer has no “changes” list.")), NULL;
  n_changes = doc->nodes[changes_node].n;

  answer->changes = g_ptr_array_new_full (n_changes, (GDestroyNotify) vd_change_free);
  m = vd_json_first (changes_node);
  for (guint i = 0; i < n_changes; i++, m = vd_json_next (doc, m))
    {
      g_autoptr(GError) change_error = NULL;
      VdChange *change;

      change = change_from_doc (doc, m, VD_CHANGE_FROM_SERVER, &change_error);
      if (change != NULL && change->seq == 0)
        {
          g_clear_pointer (&change, vd_change_free);
          g_set_error_literal (&change_error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                               _("The change has no “seq”."));
        }
      if (change == NULL)
        {
          g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                       _("Change %u: %s"), i, change_error->message);
          return NULL;
        }
      g_ptr_array_add (answer->changes, change);
    }

  return g_steal_pointer (&answer);
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
static void
append_double (GString *out,
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

static void
append_int (GString *out,
            gint64   i)
{
  char buf[24];

  g_snprintf (buf, sizeof buf, "%" PRId64, i);
  g_string_append (out, buf);
}

static void
append_value (GString        *out,
              const VdColumn *column,
              const VdValue  *value)
{
  switch (value->kind)
    {
    case VD_VALUE_NULL:
      g_string_append (out, "null");
      break;
    case VD_VALUE_INT:
      /* A real column holds reals: written as one, it decodes to the same kind. */
      if (column->type == VD_TYPE_REAL)
        append_double (out, (double) value->i);
      else
        append_int (out, value->i);
      break;
    case VD_VALUE_REAL:
      append_double (out, value->r);
      break;
    case VD_VALUE_BOOL:
      g_string_append (out, value->b ? "true" : "false");
      break;
    case VD_VALUE_TEXT:
      vd_json_append_string (out, value->s != NULL ? value->s : "");
      break;
    default:
      g_string_append (out, "null");
      break;
    }
}

static void
append_change (GString        *out,
               const VdChange *change,
               gboolean        with_seq)
{
  char hlc[VD_HLC_STRING_LEN + 1];

  vd_hlc_format (change->hlc, hlc);

  g_string_append (out, "{\"table\":");
  vd_json_append_string (out, change->table->name);
  g_string_append (out, ",\"id\":\"");
  g_string_append (out, change->id);
  g_string_append (out, "\",\"hlc\":\"");
  g_string_append (out, hlc);
  g_string_append (out, "\",\"site\":\"");
  g_string_append (out, change->site);
  g_string_append (out, "\",\"set\":{");
  for (guint i = 0; i < change->cells->len; i++)
    {
      const VdCell *cell = &g_array_index (change->cells, VdCell, i);

      if (i > 0)
        g_string_append_c (out, ',');
      vd_json_append_string (out, cell->column->name);
      g_string_append_c (out, ':');
      append_value (out, cell->column, &cell->value);
    }
  g_string_append_c (out, '}');
  if (with_seq)
    {
      g_string_append (out, ",\"seq\":");
      append_int (out, change->seq);
    }
  g_string_append_c (out, '}');
}

static char *
finish (GString *out,
        gsize   *out_len)
{
  if (out_len != NULL)
    *out_len = out->len;
  return g_string_free (out, FALSE);
}

char *
vd_push_request_encode (const char *device_id,
                        gint64      batch_id,
                        GPtrArray  *changes,
                        gsize      *out_len)
{
  GString *out;

  g_return_val_if_fail (device_id != NULL, NULL);
  g_return_val_if_fail (changes != NULL, NULL);

  out = g_string_sized_new (128 + 256 * changes->len);
  g_string_append (out, "{\"device_id\":");
  vd_json_append_string (out, device_id);
  g_string_append (out, ",\"batch_id\":");
  append_int (out, batch_id);
  g_string_append (out, ",\"changes\":[");
  for (guint i = 0; i < changes->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      append_change (out, g_ptr_array_index (changes, i), FALSE);
    }
  g_string_append (out, "]}");

  return finish (out, out_len);
}

char *
vd_pull_answer_encode (GPtrArray *changes,
                       gint64     cursor,
                       gboolean   more,
                       VdHlc      server_hlc,
                       gsize     *out_len)
{
  GString *out;
  char hlc[VD_HLC_STRING_LEN + 1];

  g_return_val_if_fail (changes != NULL, NULL);

  out = g_string_sized_new (128 + 256 * changes->len);
  g_string_append (out, "{\"changes\":[");
  for (guint i = 0; i < changes->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      append_change (out, g_ptr_array_index (changes, i), TRUE);
    }
  g_string_append (out, "],\"cursor\":");
  append_int (out, cursor);
  g_string_append (out, ",\"more\":");
  g_string_append (out, more ? "true" : "false");
  vd_hlc_format (server_hlc, hlc);
  g_string_append (out, ",\"server_hlc\":\"");
  g_string_append (out, hlc);
  g_string_append (out, "\"}");

  return finish (out, out_len);
}

/* For callers building a larger document. The wire encoders above do not use it: the
 * json-glib 1.6 generator writes some doubles as invalid JSON (1e-300 as "1e-300.0"). */
void
vd_change_to_json (const VdChange *change,
                   JsonBuilder    *builder)
{
  char hlc[VD_HLC_STRING_LEN + 1];

  g_return_if_fail (change != NULL);
  g_return_if_fail (JSON_IS_BUILDER (builder));

  vd_hlc_format (change->hlc, hlc);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "table");
  json_builder_add_string_value (builder, change->table->name);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, change->id);
  json_builder_set_member_name (builder, "hlc");
  json_builder_add_string_value (builder, hlc);
  json_builder_set_member_name (builder, "site");
  json_builder_add_string_value (builder, change->site);
  json_builder_set_member_name (builder, "set");
  json_builder_begin_object (builder);
  for (guint i = 0; i < change->cells->len; i++)
    {
      const VdCell *cell = &g_array_index (change->cells, VdCell, i);

      json_builder_set_member_name (builder, cell->column->name);
      switch (cell->value.kind)
        {
        case VD_VALUE_INT:
          if (cell->column->type == VD_TYPE_REAL)
            json_builder_add_double_value (builder, (double) cell->value.i);
          else
            json_builder_add_int_value (builder, cell->value.i);
          break;
        case VD_VALUE_REAL:
          json_builder_add_double_value (builder, cell->value.r);
          break;
        case VD_VALUE_BOOL:
          json_builder_add_boolean_value (builder, cell->value.b);
          break;
        case VD_VALUE_TEXT:
          json_builder_add_string_value (builder, cell->value.s);
          break;
        case VD_VALUE_NULL:
        default:
          json_builder_add_null_value (builder);
          break;
        }
    }
  json_builder_end_object (builder);
  if (change->seq > 0)
    {
      json_builder_set_member_name (builder, "seq");
      json_builder_add_int_value (builder, change->seq);
    }
  json_builder_end_object (builder);
}
