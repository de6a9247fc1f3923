/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-record-form.c — rows in and out of the record pages: each field is validated on its
 * own so its row can be marked, and the store's commit still has the final word. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vd-record-form.h"
#include "vd-store-models.h"
#include "vd-day-view.h"
#include "vd-rules.h"
#include "vd-time.h"

/* ---- one row ---- */

VdRecord *
vd_record_load (VdStore    *store,
                const char *table_name,
                const char *id)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  VdRecord *record;

  g_return_val_if_fail (VD_IS_STORE (store), NULL);
  g_return_val_if_fail (table != NULL, NULL);

  if (id == NULL || *id == '\0')
    return NULL;
  record = g_new0 (VdRecord, 1);
  record->table = table;
  record->values = g_new0 (VdValue, table->n_columns);
  if (!vd_store_get_row (store, table, id, record->values, NULL))
    {
      vd_record_free (record);
      return NULL;
    }
  return record;
}

void
vd_record_free (VdRecord *record)
{
  if (record == NULL)
    return;
  for (guint i = 0; i < record->table->n_columns; i++)
    vd_value_clear (&record->values[i]);
  g_free (record->values);
  g_free (record);
}

static const VdValue *
record_value (VdRecord   *record,
              const char *column)
{
  const VdColumn *c = vd_table_lookup_column (record->table, column);

  g_return_val_if_fail (c != NULL, NULL);
  return &record->values[c->index];
}

const char *
vd_record_get_text (VdRecord   *record,
                    const char *column)
{
  const VdValue *value = record_value (record, column);

  return value != NULL && value->kind == VD_VALUE_TEXT ? value->s : "";
}

gboolean
vd_record_get_bool (VdRecord   *record,
                    const char *column)
{
  const VdValue *value = record_value (record, column);

  return value != NULL && value->kind == VD_VALUE_BOOL && value->b;
}

gboolean
vd_record_get_real (VdRecord   *record,
                    const char *column,
                    double     *out_value)
{
  const VdValue *value = record_value (record, column);

  if (value == NULL)
    return FALSE;
  if (value->kind == VD_VALUE_REAL)
    *out_value = value->r;
  else if (value->kind == VD_VALUE_INT)
    *out_value = (double) value->i;
  else
    return FALSE;
  return TRUE;
}

/* ---- a form becoming a change ---- */

void
vd_form_change_init (VdFormChange *form,
                     VdStore      *store,
                     const char   *table_name,
                     const char   *id)
{
  memset (form, 0, sizeof *form);
  form->change = vd_store_new_change (store, table_name, id != NULL && *id != '\0' ? id : NULL);
}

void
vd_form_change_clear (VdFormChange *form)
{
  g_clear_pointer (&form->change, vd_change_free);
  g_clear_pointer (&form->first_error, g_free);
  g_clear_pointer (&form->failed, g_ptr_array_unref);
  form->first_error_widget = NULL;
}

void
vd_form_mark_valid (GtkWidget *widget)
{
  if (widget == NULL)
    return;
  gtk_widget_remove_css_class (widget, "error");
  gtk_widget_set_tooltip_text (widget, NULL);
}

void
vd_form_change_fail (VdFormChange *form,
                     const char   *message,
                     GtkWidget    *widget)
{
  if (form->quiet)
    {
      if (form->failed == NULL)
        form->failed = g_ptr_array_new ();
      if (widget != NULL)
        g_ptr_array_add (form->failed, widget);
    }
  else if (widget != NULL)
    {
      gtk_widget_add_css_class (widget, "error");
      gtk_widget_set_tooltip_text (widget, message);
    }
  if (form->first_error == NULL)
    {
      form->first_error = g_strdup (message);
      form->first_error_widget = widget;
    }
}

void
vd_form_change_value (VdFormChange *form,
                      const char   *column,
                      VdValue      *value,
                      GtkWidget    *widget)
{
  const VdColumn *c = vd_table_lookup_column (form->change->table, column);
  g_autoptr(GError) error = NULL;

  g_return_if_fail (c != NULL);

  if (!vd_value_validate (c, value, &error))
    {
      vd_form_change_fail (form, error->message, widget);
      vd_value_clear (value);
      return;
    }
  if (!form->quiet)
    vd_form_mark_valid (widget);
  vd_change_take_cell (form->change, c, value);
}

void
vd_form_change_text (VdFormChange *form,
                     const char   *column,
                     const char   *text,
                     GtkWidget    *widget)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (text != NULL ? text : ""));
  VdValue value = { VD_VALUE_NULL };

  if (*trimmed != '\0')
    vd_value_take_text (&value, g_steal_pointer (&trimmed));
  vd_form_change_value (form, column, &value, widget);
}

void
vd_form_change_bool (VdFormChange *form,
                     const char   *column,
                     gboolean      b)
{
  VdValue value = { VD_VALUE_NULL };

  vd_value_set_bool (&value, b);
  vd_form_change_value (form, column, &value, NULL);
}

char *
vd_text_view_dup_text (GtkTextView *view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

/* ---- a record page's form ---- */

typedef struct
{
  const VdColumn *column;
  char           *theirs;   /* as the person reads them */
  char           *mine;
} Conflict;

struct _VdRecordForm
{
  GtkWidget               *page;        /* not owned: the page owns the form */
  const VdTable           *table;
  VdRecordFormFuncs        funcs;
  VdStore                 *store;
  gulong                   changed_id;
  char                     id[VD_UUID_LEN + 1];
  VdRecord                *base;        /* the row as last shown; NULL for a new row */
  VdChange                *pristine;    /* what the widgets gave when last filled or saved */
  gboolean                 committing;
  gboolean                 filling;
  GPtrArray               *conflicts;   /* of Conflict */

  guint                    unselect_id;

  GtkRevealer             *panel;
  GtkLabel                *panel_body;
  GtkListBox              *panel_list;
  AdwMessageDialog        *leave_dialog;
};

static GList *live_forms;

static void
conflict_free (gpointer data)
{
  Conflict *conflict = data;

  g_free (conflict->theirs);
  g_free (conflict->mine);
  g_free (conflict);
}

static VdRecord *
record_copy (VdRecord *record)
{
  VdRecord *copy = g_new0 (VdRecord, 1);

  copy->table = record->table;
  copy->values = g_new0 (VdValue, record->table->n_columns);
  for (guint i = 0; i < record->table->n_columns; i++)
    vd_value_copy (&record->values[i], &copy->values[i]);
  return copy;
}

static gboolean
cells_equal (const VdCell *a,
             const VdCell *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return vd_value_equal (&a->value, &b->value);
}

/* The widgets as cells, without touching their marks. */
static VdFormChange *
collect_quietly (VdRecordForm *form)
{
  VdFormChange *fc = g_new0 (VdFormChange, 1);

  vd_form_change_init (fc, form->store, form->table->name, form->id);
  fc->quiet = TRUE;
  form->funcs.collect (form->page, fc);
  return fc;
}

static void
form_change_free (VdFormChange *fc)
{
  vd_form_change_clear (fc);
  g_free (fc);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdFormChange, form_change_free)

/* Whether the person changed column: what the widgets give now differs from what they
 * gave when filled (a field whose text is not a value yet has no cell: changed). */
static gboolean
column_edited (VdRecordForm   *form,
               VdFormChange   *mine,
               const VdColumn *column)
{
  return !cells_equal (vd_change_get_cell (mine->change, column->name),
                       vd_change_get_cell (form->pristine, column->name));
}

static void
take_pristine (VdRecordForm *form)
{
  VdFormChange *fc = collect_quietly (form);

  g_clear_pointer (&form->pristine, vd_change_free);
  form->pristine = g_steal_pointer (&fc->change);
  form_change_free (fc);
}

/* The texts of fields that could not become a value (a weight being typed), to put
 * back after a fill: they are the person's. */
static GPtrArray *
stash_texts (GPtrArray *widgets)
{
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; widgets != NULL && i < widgets->len; i++)
    g_ptr_array_add (texts, GTK_IS_EDITABLE (widgets->pdata[i])
                            ? g_strdup (gtk_editable_get_text (GTK_EDITABLE (widgets->pdata[i])))
                            : NULL);
  return texts;
}

static void
restore_texts (GPtrArray *widgets,
               GPtrArray *texts)
{
  for (guint i = 0; widgets != NULL && i < widgets->len; i++)
    if (texts->pdata[i] != NULL)
      gtk_editable_set_text (GTK_EDITABLE (widgets->pdata[i]), texts->pdata[i]);
}

/* Fills the widgets; keep (may be NULL): widgets whose text stays as the person typed. */
static void
fill (VdRecordForm *form,
      VdRecord     *record,
      GPtrArray    *keep)
{
  g_autoptr(GPtrArray) texts = stash_texts (keep);

  form->filling = TRUE;
  form->funcs.fill (form->page, record);
  restore_texts (keep, texts);
  form->filling = FALSE;
}

/* A value as the person reads it, for the changed-underneath panel. */
static char *
describe_value (VdRecordForm   *form,
                const VdColumn *column,
                const VdValue  *value)
{
  switch (value->kind)
    {
    case VD_VALUE_NULL:
      return g_strdup (C_("field value", "(empty)"));
    case VD_VALUE_BOOL:
      return g_strdup (value->b ? _("Yes") : _("No"));
    case VD_VALUE_INT:
      return g_strdup_printf ("%" G_GINT64_FORMAT, value->i);
    case VD_VALUE_REAL:
      return vd_format_weight (value->r);
    case VD_VALUE_TEXT:
    default:
      break;
    }

  if (column->type == VD_TYPE_TIMESTAMP && form->store != NULL)
    {
      gint64 instant;

      if (vd_time_parse_utc (value->s, &instant, NULL))
        {
          g_autoptr(GDateTime) local = vd_time_to_zone (instant, vd_store_get_time_zone (form->store));

          /* Translators: a date and time in the changed-underneath panel, strftime format */
          return g_date_time_format (local, _("%a %-d %b %Y, %H:%M"));
        }
    }
  if (column->ref_table != NULL && form->store != NULL)
    {
      g_autoptr(VdRecord) other = vd_record_load (form->store, column->ref_table, value->s);

      if (other != NULL && vd_table_lookup_column (other->table, "first_name") != NULL)
        return vd_client_display_name (vd_record_get_text (other, "first_name"),
                                       vd_record_get_text (other, "last_name"));
      if (other != NULL && vd_table_lookup_column (other->table, "name") != NULL)
        return g_strdup (vd_record_get_text (other, "name"));
    }
  if (column->type == VD_TYPE_ENUM)
    {
      if (strcmp (column->name, "species") == 0)
        return g_strdup (vd_pet_species_label (value->s));
      if (strcmp (column->name, "sex") == 0)
        return g_strdup (vd_pet_sex_label (value->s));
      if (strcmp (column->name, "role") == 0)
        return g_strdup (vd_staff_role_label (value->s));
      if (strcmp (column->name, "kind") == 0)
        return g_strdup (vd_appointment_kind_label (value->s));
      if (strcmp (column->name, "status") == 0)
        return g_strdup (vd_appointment_status_label (value->s));
    }
  return g_strdup (value->s);
}

static void update_panel (VdRecordForm *form, GPtrArray *updated);

static void
keep_mine_clicked_cb (GtkButton    *button,
                      VdRecordForm *form)
{
  vd_record_form_resolve (form, g_object_get_data (G_OBJECT (button), "column"), FALSE);
}

static void
take_theirs_clicked_cb (GtkButton    *button,
                        VdRecordForm *form)
{
  vd_record_form_resolve (form, g_object_get_data (G_OBJECT (button), "column"), TRUE);
}

static GtkWidget *
panel_button (VdRecordForm *form,
              const char   *label,
              const char   *name,
              const char   *column,
              GCallback     callback)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);
  g_autofree char *widget_name = g_strdup_printf ("%s:%s", name, column != NULL ? column : "all");

  gtk_widget_set_name (button, widget_name);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  g_object_set_data_full (G_OBJECT (button), "column", g_strdup (column), g_free);
  g_signal_connect (button, "clicked", callback, form);
  return button;
}

/* updated: labels of fields that followed the other computer silently (may be NULL). */
static void
update_panel (VdRecordForm *form,
              GPtrArray    *updated)
{
  GtkWidget *child;

  if (form->panel == NULL)
    return;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (form->panel_list))) != NULL)
    gtk_list_box_remove (form->panel_list, child);

  for (guint i = 0; i < form->conflicts->len; i++)
    {
      Conflict *conflict = form->conflicts->pdata[i];
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      /* Translators: in the changed-underneath panel: the other computer's value, then
       * the one being edited here */
      g_autofree char *subtitle = g_strdup_printf (_("Other computer: %s · Yours: %s"),
                                                   conflict->theirs, conflict->mine);
      const char *label = vd_column_label (conflict->column);
      g_autofree char *first = g_utf8_strup (label, g_utf8_next_char (label) - label);
      g_autofree char *title = g_strconcat (first, g_utf8_next_char (label), NULL);

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      /* The column's label is for the middle of a sentence: capitalised as a title. */
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_box_append (GTK_BOX (box), panel_button (form, _("Keep _Mine"), "keep-mine",
                                                   conflict->column->name,
                                                   G_CALLBACK (keep_mine_clicked_cb)));
      gtk_box_append (GTK_BOX (box), panel_button (form, _("Take _Theirs"), "take-theirs",
                                                   conflict->column->name,
                                                   G_CALLBACK (take_theirs_clicked_cb)));
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), box);
      gtk_list_box_append (form->panel_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (form->panel_list), form->conflicts->len > 0);

  if (updated != NULL && updated->len > 0)
    {
      g_autofree char *list = NULL;
      g_autofree char *text = NULL;

      g_ptr_array_add (updated, NULL);
      /* Translators: separates field names in a list, e.g. "Phone, Email" */
      list = g_strjoinv (_(", "), (char **) updated->pdata);
      g_ptr_array_remove_index (updated, updated->len - 1);
      if (form->conflicts->len > 0)
        /* Translators: %s is a list of fields */
        text = g_strdup_printf (_("Someone changed this record on another computer while you were editing it. Fields you had not touched now show their values (%s). Choose which value to keep for the fields you both changed."), list);
      else
        /* Translators: %s is a list of fields */
        text = g_strdup_printf (_("Someone changed this record on another computer while you were editing it. Fields you had not touched now show their values: %s. Your edits are kept."), list);
      gtk_label_set_text (form->panel_body, text);
    }
  else if (form->conflicts->len > 0)
    gtk_label_set_text (form->panel_body, _("Someone changed this record on another computer while you were editing it. Choose which value to keep for the fields you both changed."));
  gtk_revealer_set_reveal_child (form->panel, form->conflicts->len > 0 ||
                                              (updated != NULL && updated->len > 0));
  gtk_widget_set_visible (g_object_get_data (G_OBJECT (form->panel), "all-buttons"),
                          form->conflicts->len > 1);
}

static void
clear_conflicts (VdRecordForm *form)
{
  g_ptr_array_set_size (form->conflicts, 0);
  update_panel (form, NULL);
}

static Conflict *
find_conflict (VdRecordForm *form,
               const char   *column,
               guint        *out_index)
{
  for (guint i = 0; i < form->conflicts->len; i++)
    {
      Conflict *conflict = form->conflicts->pdata[i];

      if (strcmp (conflict->column->name, column) == 0)
        {
          if (out_index != NULL)
            *out_index = i;
          return conflict;
        }
    }
  return NULL;
}

static gboolean
changes_equal (const VdChange *a,
               const VdChange *b)
{
  if (a->cells->len != b->cells->len)
    return FALSE;
  for (guint i = 0; i < a->cells->len; i++)
    {
      const VdCell *x = &g_array_index (a->cells, VdCell, i);

      if (!cells_equal (x, vd_change_get_cell (b, x->column->name)))
        return FALSE;
    }
  return TRUE;
}

/* The field being typed in keeps its exact text and cursor through a refill when they
 * mean the same ("12,50" against the refill's "12,5", a trailing space). */
static void
keep_typing (VdRecordForm *form,
             GtkWidget    *focus,
             const char   *text,
             int           position)
{
  g_autoptr(VdFormChange) filled = NULL;
  g_autoptr(VdFormChange) typed = NULL;
  g_autofree char *refilled = NULL;

  if (focus == NULL || g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (focus)), text) == 0)
    return;
  refilled = g_strdup (gtk_editable_get_text (GTK_EDITABLE (focus)));
  filled = collect_quietly (form);
  gtk_editable_set_text (GTK_EDITABLE (focus), text);
  typed = collect_quietly (form);
  if (changes_equal (filled->change, typed->change))
    gtk_editable_set_position (GTK_EDITABLE (focus), position);
  else
    gtk_editable_set_text (GTK_EDITABLE (focus), refilled);
}

/* The row changed underneath (sync, or another page of this desk). */
static void
follow (VdRecordForm *form)
{
  g_autoptr(VdRecord) theirs = vd_record_load (form->store, form->table->name, form->id);
  g_autoptr(VdFormChange) mine = NULL;
  g_autoptr(VdChange) old_pristine = NULL;
  g_autoptr(VdRecord) merged = NULL;
  g_autoptr(GPtrArray) updated = g_ptr_array_new ();
  g_autoptr(GPtrArray) texts = NULL;
  g_autofree char *focus_text = NULL;
  GtkRoot *root = gtk_widget_get_root (form->page);
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;
  int focus_position = 0;
  gboolean same = TRUE;

  if (theirs == NULL || form->base == NULL)
    return;
  if (focus != NULL && GTK_IS_EDITABLE (focus) && gtk_widget_is_ancestor (focus, form->page))
    {
      focus_text = g_strdup (gtk_editable_get_text (GTK_EDITABLE (focus)));
      focus_position = gtk_editable_get_position (GTK_EDITABLE (focus));
    }
  else
    focus = NULL;
  for (guint c = 0; same && c < form->table->n_columns; c++)
    same = vd_value_equal (&theirs->values[c], &form->base->values[c]);
  if (same)
    return;

  if (!vd_record_form_is_dirty (form))
    {
      /* Nobody is editing: show the row as it is now. */
      fill (form, theirs, NULL);
      vd_record_free (form->base);
      form->base = g_steal_pointer (&theirs);
      take_pristine (form);
      clear_conflicts (form);
      return;
    }

  /* Edited here and changed there: what the widgets give for the new row, then the
   * person's edits put back over it. */
  mine = collect_quietly (form);
  texts = stash_texts (mine->failed);
  old_pristine = g_steal_pointer (&form->pristine);
  fill (form, theirs, NULL);
  take_pristine (form);

  merged = record_copy (theirs);
  for (guint c = 0; c < form->table->n_columns; c++)
    {
      const VdColumn *column = &form->table->columns[c];
      const VdCell *mine_cell = vd_change_get_cell (mine->change, column->name);
      const VdCell *was = vd_change_get_cell (old_pristine, column->name);
      gboolean edited = !cells_equal (mine_cell, was);
      gboolean changed = !vd_value_equal (&theirs->values[c], &form->base->values[c]);
      Conflict *conflict;
      guint index;

      if (edited && mine_cell != NULL)
        {
          vd_value_clear (&merged->values[c]);
          vd_value_copy (&mine_cell->value, &merged->values[c]);
        }
      if (!changed)
        continue;
      if (!edited)
        {
          if (was != NULL)
            g_ptr_array_add (updated, (gpointer) vd_column_label (column));
          continue;
        }
      conflict = find_conflict (form, column->name, &index);
      if (cells_equal (mine_cell, vd_change_get_cell (form->pristine, column->name)))
        {
          /* Both wrote the same: nothing to choose. */
          if (conflict != NULL)
            g_ptr_array_remove_index (form->conflicts, index);
          continue;
        }
      if (conflict == NULL)
        {
          conflict = g_new0 (Conflict, 1);
          conflict->column = column;
          g_ptr_array_add (form->conflicts, conflict);
        }
      g_free (conflict->theirs);
      g_free (conflict->mine);
      conflict->theirs = describe_value (form, column, &theirs->values[c]);
      conflict->mine = mine_cell != NULL
                       ? describe_value (form, column, &mine_cell->value)
                       : g_strdup (C_("field value", "(not valid yet)"));
    }

  fill (form, merged, NULL);
  restore_texts (mine->failed, texts);
  form->filling = TRUE;
  keep_typing (form, focus, focus_text, focus_position);
  form->filling = FALSE;
  vd_record_free (form->base);
  form->base = g_steal_pointer (&theirs);
  update_panel (form, updated);
}

static void
store_changed_cb (VdStore      *store,
                  const char   *table,
                  const char   *row_id,
                  VdRecordForm *form)
{
  if (form->committing || form->filling || form->id[0] == '\0' ||
      g_strcmp0 (table, form->table->name) != 0 ||
      (row_id != NULL && g_strcmp0 (row_id, form->id) != 0))
    return;
  follow (form);
}

static void
resolve_all_keep_cb (GtkButton    *button,
                     VdRecordForm *form)
{
  vd_record_form_resolve (form, NULL, FALSE);
}

static void
resolve_all_take_cb (GtkButton    *button,
                     VdRecordForm *form)
{
  vd_record_form_resolve (form, NULL, TRUE);
}

static GtkWidget *
panel_new (VdRecordForm *form)
{
  GtkWidget *revealer = gtk_revealer_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *title = gtk_label_new (_("Changed on Another Computer"));
  GtkWidget *body = gtk_label_new (NULL);
  GtkWidget *list = gtk_list_box_new ();
  GtkWidget *all = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *keep = gtk_button_new_with_mnemonic (_("_Keep All Mine"));
  GtkWidget *take = gtk_button_new_with_mnemonic (_("Take _All Theirs"));

  gtk_widget_set_name (revealer, "changed-underneath");
  gtk_widget_add_css_class (box, "changed-underneath");
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_widget_add_css_class (title, "heading");
  gtk_label_set_xalign (GTK_LABEL (body), 0);
  gtk_label_set_wrap (GTK_LABEL (body), TRUE);
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  gtk_widget_set_name (keep, "keep-mine:all");
  gtk_widget_set_name (take, "take-theirs:all");
  g_signal_connect (keep, "clicked", G_CALLBACK (resolve_all_keep_cb), form);
  g_signal_connect (take, "clicked", G_CALLBACK (resolve_all_take_cb), form);
  gtk_widget_set_halign (all, GTK_ALIGN_END);
  gtk_box_append (GTK_BOX (all), keep);
  gtk_box_append (GTK_BOX (all), take);
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), body);
  gtk_box_append (GTK_BOX (box), list);
  gtk_box_append (GTK_BOX (box), all);
  gtk_revealer_set_child (GTK_REVEALER (revealer), box);
  g_object_set_data (G_OBJECT (revealer), "all-buttons", all);

  form->panel = GTK_REVEALER (revealer);
  form->panel_body = GTK_LABEL (body);
  form->panel_list = GTK_LIST_BOX (list);
  return revealer;
}

VdRecordForm *
vd_record_form_new (GtkWidget               *page,
                    const char              *table_name,
                    const VdRecordFormFuncs *funcs,
                    GtkWidget               *anchor)
{
  VdRecordForm *form;
  GtkWidget *parent;

  g_return_val_if_fail (GTK_IS_WIDGET (page), NULL);
  g_return_val_if_fail (vd_schema_lookup_table (table_name) != NULL, NULL);

  form = g_new0 (VdRecordForm, 1);
  form->page = page;
  form->table = vd_schema_lookup_table (table_name);
  form->funcs = *funcs;
  form->conflicts = g_ptr_array_new_with_free_func (conflict_free);
  parent = anchor != NULL ? gtk_widget_get_parent (anchor) : NULL;
  if (GTK_IS_BOX (parent))
    gtk_box_insert_child_after (GTK_BOX (parent), panel_new (form), anchor);
  live_forms = g_list_prepend (live_forms, form);
  return form;
}

void
vd_record_form_free (VdRecordForm *form)
{
  if (form == NULL)
    return;
  live_forms = g_list_remove (live_forms, form);
  g_clear_handle_id (&form->unselect_id, g_source_remove);
  if (form->leave_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (form->leave_dialog));
  vd_record_form_set_store (form, NULL);
  g_ptr_array_unref (form->conflicts);
  g_free (form);
}

void
vd_record_form_set_store (VdRecordForm *form,
                          VdStore      *store)
{
  if (form->store == store)
    return;
  if (form->store != NULL)
    {
      g_clear_signal_handler (&form->changed_id, form->store);
      g_clear_object (&form->store);
    }
  if (store != NULL)
    {
      form->store = g_object_ref (store);
      form->changed_id = g_signal_connect (store, "changed", G_CALLBACK (store_changed_cb), form);
    }
  form->id[0] = '\0';
  g_clear_pointer (&form->base, vd_record_free);
  g_clear_pointer (&form->pristine, vd_change_free);
  g_ptr_array_set_size (form->conflicts, 0);
  if (form->panel != NULL)
    gtk_revealer_set_reveal_child (form->panel, FALSE);
}

/* Opening a record can move the keyboard focus into its first field (GtkStack and
 * AdwLeaflet move it into the child they show when the old one had it), and a GtkText
 * given the focus that way selects all its text, so the first key typed replaced the
 * name. A record opens with nothing selected: the cursor goes to the end instead. */
static gboolean
unselect_cb (gpointer user_data)
{
  VdRecordForm *form = user_data;
  GtkRoot *root = gtk_widget_get_root (form->page);
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;
  int start, end;

  form->unselect_id = 0;
  if (focus != NULL && GTK_IS_EDITABLE (focus) && gtk_widget_is_ancestor (focus, form->page) &&
      gtk_editable_get_selection_bounds (GTK_EDITABLE (focus), &start, &end))
    gtk_editable_set_position (GTK_EDITABLE (focus), -1);
  return G_SOURCE_REMOVE;
}

gboolean
vd_record_form_load (VdRecordForm *form,
                     const char   *id)
{
  g_autoptr(VdRecord) record = NULL;

  g_return_val_if_fail (form != NULL && form->store != NULL, FALSE);

  if (id != NULL && *id != '\0')
    {
      record = vd_record_load (form->store, form->table->name, id);
      if (record == NULL)
        return FALSE;
    }
  g_strlcpy (form->id, record != NULL ? id : "", sizeof form->id);
  fill (form, record, NULL);
  vd_record_free (form->base);
  form->base = g_steal_pointer (&record);
  take_pristine (form);
  clear_conflicts (form);
  /* Once the page that asked for the record has shown it. */
  if (form->unselect_id == 0)
    form->unselect_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE, unselect_cb, form, NULL);
  return TRUE;
}

void
vd_record_form_snapshot (VdRecordForm *form)
{
  g_return_if_fail (form != NULL);

  if (form->store != NULL)
    take_pristine (form);
}

const char *
vd_record_form_get_id (VdRecordForm *form)
{
  return form->id;
}

gboolean
vd_record_form_is_dirty (VdRecordForm *form)
{
  g_autoptr(VdFormChange) mine = NULL;

  if (form == NULL || form->store == NULL || form->pristine == NULL)
    return FALSE;
  mine = collect_quietly (form);
  for (guint c = 0; c < form->table->n_columns; c++)
    if (column_edited (form, mine, &form->table->columns[c]))
      return TRUE;
  return FALSE;
}

void
vd_record_form_collect (VdRecordForm *form,
                        VdFormChange *form_change)
{
  vd_form_change_init (form_change, form->store, form->table->name, form->id);
  form->funcs.collect (form->page, form_change);
}

gboolean
vd_record_form_commit (VdRecordForm  *form,
                       VdFormChange  *form_change,
                       gboolean      *out_committed,
                       GError       **error)
{
  VdValue *loaded = NULL;
  gboolean ok;

  g_return_val_if_fail (form != NULL && form->store != NULL, FALSE);

  /* What each field showed when filled: a cell the widgets still give unchanged is not
   * the person's, whatever the replica holds by now. */
  if (form->base != NULL)
    {
      loaded = g_new0 (VdValue, form->table->n_columns);
      for (guint c = 0; c < form->table->n_columns; c++)
        {
          const VdColumn *column = &form->table->columns[c];
          const VdCell *was = form->pristine ? vd_change_get_cell (form->pristine, column->name) : NULL;

          vd_value_copy (was != NULL ? &was->value : &form->base->values[c], &loaded[c]);
        }
    }
  form->committing = TRUE;
  ok = vd_store_commit_edit (form->store, form_change->change, loaded, out_committed, error);
  form->committing = FALSE;
  for (guint c = 0; loaded != NULL && c < form->table->n_columns; c++)
    vd_value_clear (&loaded[c]);
  g_free (loaded);
  if (!ok)
    return FALSE;

  /* The change may have lost every cell: the id is the form's then. */
  if (form_change->change->id[0] == '\0' || form->id[0] != '\0')
    g_strlcpy (form_change->change->id, form->id, sizeof form_change->change->id);
  g_strlcpy (form->id, form_change->change->id, sizeof form->id);
  vd_record_free (form->base);
  form->base = vd_record_load (form->store, form->table->name, form->id);
  take_pristine (form);
  clear_conflicts (form);
  return TRUE;
}

char **
vd_record_form_dup_conflicts (VdRecordForm *form)
{
  g_autoptr(GStrvBuilder) builder = NULL;

  if (form->conflicts->len == 0)
    return NULL;
  builder = g_strv_builder_new ();
  for (guint i = 0; i < form->conflicts->len; i++)
    g_strv_builder_add (builder, ((Conflict *) form->conflicts->pdata[i])->column->name);
  return g_strv_builder_end (builder);
}

void
vd_record_form_resolve (VdRecordForm *form,
                        const char   *column,
                        gboolean      take_theirs)
{
  g_return_if_fail (form != NULL);

  if (take_theirs && form->base != NULL)
    {
      g_autoptr(VdFormChange) mine = collect_quietly (form);
      g_autoptr(VdRecord) merged = record_copy (form->base);

      /* The row as it is, with the person's other edits put back. */
      for (guint c = 0; c < form->table->n_columns; c++)
        {
          const VdColumn *col = &form->table->columns[c];
          const VdCell *cell = vd_change_get_cell (mine->change, col->name);
          gboolean chosen = column == NULL ? find_conflict (form, col->name, NULL) != NULL
                                           : strcmp (col->name, column) == 0;

          if (!chosen && cell != NULL && column_edited (form, mine, col))
            {
              vd_value_clear (&merged->values[c]);
              vd_value_copy (&cell->value, &merged->values[c]);
            }
        }
      fill (form, merged, mine->failed);
    }
  if (column == NULL)
    g_ptr_array_set_size (form->conflicts, 0);
  else
    {
      guint index;

      if (find_conflict (form, column, &index) != NULL)
        g_ptr_array_remove_index (form->conflicts, index);
    }
  update_panel (form, NULL);
}

/* ---- leaving ---- */

typedef struct
{
  VdRecordForm   *form;
  GCallback       then;
  gpointer        user_data;
  GDestroyNotify  destroy;
} Leave;

static void
leave_free (gpointer data,
            GClosure *closure)
{
  Leave *leave = data;

  if (leave->destroy != NULL)
    leave->destroy (leave->user_data);
  g_free (leave);
}

static const char *
unsaved_sentence (VdRecordForm *form)
{
  const char *table = form->table->name;

  if (strcmp (table, "clients") == 0)
    return _("This client has changes that are not saved yet.");
  if (strcmp (table, "pets") == 0)
    return _("This pet has changes that are not saved yet.");
  if (strcmp (table, "staff") == 0)
    return _("This staff member has changes that are not saved yet.");
  if (strcmp (table, "appointments") == 0)
    return _("This appointment has changes that are not saved yet.");
  return _("This record has changes that are not saved yet.");
}

static void
leave_response_cb (AdwMessageDialog *dialog,
                   const char       *response,
                   Leave            *leave)
{
  VdRecordForm *form = leave->form;
  gboolean go = FALSE;

  form->leave_dialog = NULL;
  if (g_strcmp0 (response, "save") == 0)
    go = form->funcs.save (form->page);
  else if (g_strcmp0 (response, "discard") == 0)
    {
      /* Back to the row as it is (a new row's form empties). */
      fill (form, form->base, NULL);
      take_pristine (form);
      clear_conflicts (form);
      go = TRUE;
    }
  if (go && leave->then != NULL)
    ((void (*) (gpointer)) leave->then) (leave->user_data);
}

static void
leave_full (VdRecordForm   *form,
            GCallback       then,
            gpointer        user_data,
            GDestroyNotify  destroy)
{
  GtkRoot *root;
  GtkWidget *dialog;
  Leave *leave;

  if (!vd_record_form_is_dirty (form))
    {
      if (then != NULL)
        ((void (*) (gpointer)) then) (user_data);
      if (destroy != NULL)
        destroy (user_data);
      return;
    }
  if (form->leave_dialog != NULL)
    {
      gtk_window_present (GTK_WINDOW (form->leave_dialog));
      if (destroy != NULL)
        destroy (user_data);
      return;
    }

  root = gtk_widget_get_root (form->page);
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("Save Changes?"), unsaved_sentence (form));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "discard", _("_Discard"),
                                    "save", _("_Save"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "discard",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "save",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "save");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  leave = g_new0 (Leave, 1);
  leave->form = form;
  leave->then = then;
  leave->user_data = user_data;
  leave->destroy = destroy;
  g_signal_connect_data (dialog, "response", G_CALLBACK (leave_response_cb), leave,
                         leave_free, 0);
  form->leave_dialog = ADW_MESSAGE_DIALOG (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}

void
vd_record_form_leave (VdRecordForm   *form,
                      GCallback       then,
                      gpointer        user_data,
                      GDestroyNotify  destroy)
{
  g_return_if_fail (form != NULL);

  leave_full (form, then, user_data, destroy);
}

static gboolean
form_within (VdRecordForm *form,
             GtkWidget    *within)
{
  GtkRoot *root = gtk_widget_get_root (form->page);

  if (form->page == within || gtk_widget_is_ancestor (form->page, within))
    return TRUE;
  /* A record window (the appointment editor) on top of the window being closed. */
  return GTK_IS_WINDOW (within) && GTK_IS_WINDOW (root) && GTK_WIDGET (root) != within &&
         gtk_window_get_transient_for (GTK_WINDOW (root)) == GTK_WINDOW (within);
}

static VdRecordForm *
find_dirty (GtkWidget *within)
{
  for (GList *l = live_forms; l != NULL; l = l->next)
    if (form_within (l->data, within) && vd_record_form_is_dirty (l->data))
      return l->data;
  return NULL;
}

gboolean
vd_record_forms_any_dirty (GtkWidget *within)
{
  return find_dirty (within) != NULL;
}

typedef struct
{
  GtkWidget *within;
  GCallback  then;
  gpointer   user_data;
} LeaveAll;

static void
leave_all_clear (gpointer data)
{
  LeaveAll *all = data;

  g_object_unref (all->within);
}

static void
leave_all_release (gpointer data)
{
  g_rc_box_release_full (data, leave_all_clear);
}

/* One question at a time: the next form is asked about once this one may be left. */
static void
leave_next_cb (gpointer user_data)
{
  LeaveAll *all = user_data;
  VdRecordForm *form = find_dirty (all->within);

  if (form != NULL)
    leave_full (form, G_CALLBACK (leave_next_cb), g_rc_box_acquire (all), leave_all_release);
  else if (all->then != NULL)
    ((void (*) (gpointer)) all->then) (all->user_data);
}

void
vd_record_forms_leave (GtkWidget *within,
                       GCallback  then,
                       gpointer   user_data)
{
  LeaveAll *all;

  g_return_if_fail (GTK_IS_WIDGET (within));

  all = g_rc_box_new0 (LeaveAll);
  all->within = g_object_ref (within);
  all->then = then;
  all->user_data = user_data;
  leave_next_cb (all);
  leave_all_release (all);
}
/* ---- labels ---- */

/* The registry's values and labels (vd-schema.h), under the names the pages use. */

const char * const *
vd_pet_species (void)
{
  return vd_enum_values ("pets", "species");
}

const char *
vd_pet_species_label (const char *value)
{
  return vd_enum_label ("pets", "species", value);
}

const char * const *
vd_pet_sexes (void)
{
  return vd_enum_values ("pets", "sex");
}

const char *
vd_pet_sex_label (const char *value)
{
  return vd_enum_label ("pets", "sex", value);
}

const char * const *
vd_staff_roles (void)
{
  return vd_enum_values ("staff", "role");
}

const char *
vd_staff_role_label (const char *value)
{
  return vd_enum_label ("staff", "role", value);
}

GListModel *
vd_labels_model (const char * const *values,
                 const char        *(*label) (const char *))
{
  GtkStringList *list = gtk_string_list_new (NULL);

  for (guint i = 0; values[i] != NULL; i++)
    gtk_string_list_append (list, label (values[i]));
  return G_LIST_MODEL (list);
}

guint
vd_values_index (const char * const *values,
                 const char         *value)
{
  for (guint i = 0; values[i] != NULL; i++)
    if (g_strcmp0 (values[i], value) == 0)
      return i;
  return GTK_INVALID_LIST_POSITION;
}

/* ---- age and weight ---- */

char *
vd_describe_age (const char *birth_date,
                 GDate      *today)
{
  int y, m, d;
  int years, months, days;
  GDate born;

  if (birth_date == NULL || sscanf (birth_date, "%4d-%2d-%2d", &y, &m, &d) != 3 ||
      !g_date_valid_dmy (d, m, y))
    return NULL;
  g_date_clear (&born, 1);
  g_date_set_dmy (&born, d, m, y);
  if (g_date_compare (&born, today) > 0)
    return NULL;

  /* Whole months first, counted on the calendar (a birthday on the 31st has its monthly
   * anniversary on the month's last day), then the days left over. */
  months = (g_date_get_year (today) - y) * 12 + (int) g_date_get_month (today) - m;
  if ((int) g_date_get_day (today) < d &&
      g_date_get_day (today) < g_date_get_days_in_month (g_date_get_month (today), g_date_get_year (today)))
    months--;
  years = months / 12;
  months %= 12;

  if (years > 0 && months > 0)
    {
      g_autofree char *y_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d year", "%d years", years), years);
      g_autofree char *m_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d month", "%d months", months), months);

      /* Translators: a pet's age in years and months, e.g. "3 years, 2 months" */
      return g_strdup_printf (_("%s, %s"), y_text, m_text);
    }
  if (years > 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d year", "%d years", years), years);
  if (months > 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d month", "%d months", months), months);

  days = g_date_days_between (&born, today);
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d day", "%d days", days), days);
}

char *
vd_format_weight (double kg)
{
  /* printf follows LC_NUMERIC, which GTK set from the person's locale. */
  char *text = g_strdup_printf ("%.2f", kg);
  char *end = text + strlen (text) - 1;

  /* "12.50" → "12.5", "12.00" → "12". */
  while (end > text && *end == '0')
    *end-- = '\0';
  if (end > text && !g_ascii_isdigit (*end))
    *end = '\0';
  return text;
}

gboolean
vd_parse_weight (const char *text,
                 double     *out_kg)
{
  g_autofree char *copy = g_strstrip (g_strdup (text != NULL ? text : ""));
  char *end = NULL;
  double value;

  if (*copy == '\0')
    return FALSE;
  /* Either mark is the decimal one: a weight has no thousands. */
  for (char *p = copy; *p != '\0'; p++)
    if (*p == ',')
      *p = '.';
  value = g_ascii_strtod (copy, &end);
  if (end == copy || *end != '\0' || !isfinite (value))
    return FALSE;
  *out_kg = value;
  return TRUE;
}

char *
vd_client_display_name (const char *first_name,
                        const char *last_name)
{
  /* Translators: a client's full name, first name then last name */
  return g_strstrip (g_strdup_printf (C_("client full name", "%s %s"),
                                      first_name != NULL ? first_name : "",
                                      last_name != NULL ? last_name : ""));
}

/* ---- rows shared by the pages ---- */

GtkWidget *
vd_pet_row_new (gpointer item)
{
  VdPetItem *pet = item;
  GtkWidget *row = adw_action_row_new ();
  const char *breed = vd_pet_item_get_breed (pet);
  const char *allergies = vd_pet_item_get_allergies (pet);
  g_autofree char *subtitle = NULL;

  if (breed != NULL && *breed != '\0')
    /* Translators: species · breed, under a pet's name */
    subtitle = g_strdup_printf (_("%s · %s"), vd_pet_species_label (vd_pet_item_get_species (pet)), breed);
  else
    subtitle = g_strdup (vd_pet_species_label (vd_pet_item_get_species (pet)));

  gtk_widget_set_name (row, vd_pet_item_get_id (pet));
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), vd_pet_item_get_name (pet));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);

  if (allergies != NULL && *allergies != '\0')
    {
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *icon = gtk_image_new_from_icon_name ("dialog-warning-symbolic");
      g_autofree char *text = g_strdup_printf (_("Allergies: %s"), allergies);
      GtkWidget *label = gtk_label_new (text);

      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 32);
      gtk_widget_set_tooltip_text (box, text);
      gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
      gtk_box_append (GTK_BOX (box), icon);
      gtk_box_append (GTK_BOX (box), label);
      gtk_widget_add_css_class (box, "allergy-tag");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), box);
      gtk_widget_add_css_class (row, "allergy-row");
    }
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  return row;
}

GtkWidget *
vd_history_row_new (gpointer   item,
                    GTimeZone *zone)
{
  VdAppointmentItem *appointment = item;
  GtkWidget *row = adw_action_row_new ();
  gint64 starts_at = vd_appointment_item_get_starts_at (appointment);
  g_autoptr(GDateTime) from = vd_time_to_zone (starts_at, zone);
  /* Translators: when an appointment was or will be, in a history, strftime format */
  g_autofree char *when = g_date_time_format (from, _("%a %-d %b %Y, %H:%M"));
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;
  const char *status = vd_appointment_item_get_status (appointment);
  const char *reason = vd_appointment_item_get_reason (appointment);
  GtkWidget *status_label = gtk_label_new (vd_appointment_status_label (status));

  /* Translators: an appointment in a history: date and time · kind of visit */
  title = g_strdup_printf (_("%s · %s"), when, vd_appointment_kind_label (vd_appointment_item_get_kind (appointment)));
  if (reason != NULL && *reason != '\0')
    /* Translators: pet · staff member · reason, under an appointment in a history */
    subtitle = g_strdup_printf (_("%s · %s · %s"), vd_appointment_item_get_pet_name (appointment),
                                vd_appointment_item_get_staff_name (appointment), reason);
  else
    /* Translators: pet · staff member, under an appointment in a history */
    subtitle = g_strdup_printf (_("%s · %s"), vd_appointment_item_get_pet_name (appointment),
                                vd_appointment_item_get_staff_name (appointment));

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 1);

  if (starts_at > g_get_real_time () / G_USEC_PER_SEC &&
      vd_rules_status_is_active (status))
    {
      GtkWidget *tag = gtk_label_new (_("Upcoming"));

      gtk_widget_add_css_class (tag, "upcoming-tag");
      gtk_widget_set_valign (tag, GTK_ALIGN_CENTER);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), tag);
    }
  gtk_widget_add_css_class (status_label, "dim-label");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), status_label);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (row), "win.edit-appointment");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (row), "s", vd_appointment_item_get_id (appointment));
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  return row;
}

GtkWidget *
vd_placeholder_new (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_set_margin_top (label, 18);
  gtk_widget_set_margin_bottom (label, 18);
  gtk_widget_set_margin_start (label, 12);
  gtk_widget_set_margin_end (label, 12);
  gtk_widget_add_css_class (label, "dim-label");
  return label;
}
