/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-change.c — the change model and one change's JSON form: decoded from the compact
 * tree of vd-json.c (with every rule a cell must meet), encoded by writing JSON text
 * directly. The messages that carry changes are in vd-protocol.c. */
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

/* Integers beyond ±(2^53 - 1) do not survive a trip through a double, which is what many
 * JSON readers turn numbers into, so integer cells refuse them. */
#define SAFE_INTEGER_MAX G_GINT64_CONSTANT (9007199254740991)

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

  quoted = vd_json_quote (name);
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
  const char *text = vd_json_get_string (doc, index);

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
  return VD_JSON_NAME_IS (doc, member, "table") || VD_JSON_NAME_IS (doc, member, "id") ||
         VD_JSON_NAME_IS (doc, member, "hlc") || VD_JSON_NAME_IS (doc, member, "site") ||
         VD_JSON_NAME_IS (doc, member, "set") ||
         (VD_JSON_NAME_IS (doc, member, "seq") && origin == VD_CHANGE_FROM_SERVER);
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
      g_autofree char *quoted = vd_json_quote (name);

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

VdChange *
vd_change_from_doc (const VdJsonDoc  *doc,
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
      if (VD_JSON_NAME_IS (doc, m, "table"))
        table_node = m;
      else if (VD_JSON_NAME_IS (doc, m, "id"))
        id_node = m;
      else if (VD_JSON_NAME_IS (doc, m, "hlc"))
        hlc_node = m;
      else if (VD_JSON_NAME_IS (doc, m, "site"))
        site_node = m;
      else if (VD_JSON_NAME_IS (doc, m, "set"))
        set_node = m;
      else if (VD_JSON_NAME_IS (doc, m, "seq") && origin == VD_CHANGE_FROM_SERVER)
        seq_node = m;
      else if (n_unknown++ == 0)
        unknown = m;
    }
  if (n_unknown > 0)
    {
      g_autofree char *quoted = NULL;

      if (n_unknown > 1)
        {
          g_autoptr(GArray) order = vd_json_members_in_json_glib_order (doc, index);

          for (guint k = 0; k < order->len; k++)
            if (!is_change_member (doc, g_array_index (order, guint, k), origin))
              {
                unknown = g_array_index (order, guint, k);
                break;
              }
        }
      quoted = vd_json_quote (vd_json_name (doc, unknown));
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
      g_autofree char *quoted = vd_json_quote (table_name);

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
      g_autofree char *quoted = vd_json_quote (id);

      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The row id “%s” is not a UUID."), quoted);
      return NULL;
    }
  if (!vd_hlc_parse (hlc_text, &hlc, error))
    return NULL;
  change->hlc = hlc;
  if (!vd_uuid_normalize (site, change->site))
    {
      g_autofree char *quoted = vd_json_quote (site);

      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The site “%s” is not a device id (a UUID)."), quoted);
      return NULL;
    }

  if (seq_node != VD_JSON_NONE)
    {
      if (!vd_json_is_int (doc, seq_node) || doc->nodes[seq_node].i <= 0)
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
          g_autoptr(GArray) order = vd_json_members_in_json_glib_order (doc, set_node);

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
  return vd_change_from_doc (doc, 0, origin, error);
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
        vd_json_append_double (out, (double) value->i);
      else
        vd_json_append_int (out, value->i);
      break;
    case VD_VALUE_REAL:
      vd_json_append_double (out, value->r);
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

void
vd_change_append_json (GString        *out,
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
      vd_json_append_int (out, change->seq);
    }
  g_string_append_c (out, '}');
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
