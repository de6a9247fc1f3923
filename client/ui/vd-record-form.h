/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-record-form.h — what the record pages (clients, pets, staff, quick add) share:
 * one row read from the store, form fields turned into validated cells, the labels of
 * species, sexes and roles, a pet's age and weight in the person's words. */
#pragma once

#include <adwaita.h>
#include "vd-store.h"

G_BEGIN_DECLS

/* One row of a table as the store has it now. */
typedef struct
{
  const VdTable *table;
  VdValue       *values;   /* table->n_columns */
} VdRecord;

/* NULL when the row is not on this computer. */
VdRecord    *vd_record_load          (VdStore       *store,
                                      const char    *table_name,
                                      const char    *id);
void         vd_record_free          (VdRecord      *record);
/* "" for a NULL or non-text value. */
const char  *vd_record_get_text      (VdRecord      *record,
                                      const char    *column);
gboolean     vd_record_get_bool      (VdRecord      *record,
                                      const char    *column);
/* FALSE when NULL. */
gboolean     vd_record_get_real      (VdRecord      *record,
                                      const char    *column,
                                      double        *out_value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdRecord, vd_record_free)

/* A form being turned into a change: each field is validated on its own (vd_value_validate,
 * whose sentences name the column) so the row at fault can be marked; the first sentence
 * is kept for the page to show. */
typedef struct
{
  VdChange  *change;
  char      *first_error;
  GtkWidget *first_error_widget;
  /* Set by the record form when it only looks (is the form edited?): widgets keep their
   * marks, and the widgets whose text could not become a value are listed in failed. */
  gboolean   quiet;
  GPtrArray *failed;
} VdFormChange;

void         vd_form_change_init     (VdFormChange  *form,
                                      VdStore       *store,
                                      const char    *table_name,
                                      const char    *id);
void         vd_form_change_clear    (VdFormChange  *form);
/* Trimmed text, NULL when empty. widget (may be NULL) gets the "error" style and the
 * sentence as its tooltip when invalid, and loses them when valid. */
void         vd_form_change_text     (VdFormChange  *form,
                                      const char    *column,
                                      const char    *text,
                                      GtkWidget     *widget);
void         vd_form_change_bool     (VdFormChange  *form,
                                      const char    *column,
                                      gboolean       value);
/* Takes value (may be VD_VALUE_NULL). */
void         vd_form_change_value    (VdFormChange  *form,
                                      const char    *column,
                                      VdValue       *value,
                                      GtkWidget     *widget);
/* Records a sentence for a field whose text could not even become a value. */
void         vd_form_change_fail     (VdFormChange  *form,
                                      const char    *message,
                                      GtkWidget     *widget);
/* Marks widget as valid (removes the error style and tooltip). */
void         vd_form_mark_valid      (GtkWidget     *widget);

/* The text of a GtkTextView. */
char        *vd_text_view_dup_text   (GtkTextView   *view);

/* ---- a record page's form ----
 *
 * What every record page (client, pet, staff, appointment, and the ones to come) gets by
 * giving its own two halves, filling the widgets from a row and turning them back into
 * cells:
 *   - Save writes only the fields the person changed (vd_store_commit_edit against what
 *     the widgets showed when filled), and nothing at all when nothing changed;
 *   - while the page is not being edited, it follows the replica when sync changes its
 *     row; with unsaved edits, fields the person did not touch follow too, and fields
 *     both sides changed are listed in a panel under the header ("Changed on another
 *     computer") with "Keep Mine" / "Take Theirs" for each and for all;
 *   - leaving with unsaved edits asks Save / Discard / Cancel (vd_record_form_leave,
 *     and vd_record_forms_leave for a window being closed or a section being left). */

typedef struct _VdRecordForm VdRecordForm;

typedef struct
{
  /* Sets the page's widgets from record; NULL: an empty form for a new row. */
  void     (*fill)    (gpointer      page,
                       VdRecord     *record);
  /* Turns the widgets into cells (vd_form_change_*); reads the widgets only. */
  void     (*collect) (gpointer      page,
                       VdFormChange *form);
  /* What pressing Save does, for the leave question: TRUE once saved. */
  gboolean (*save)    (gpointer      page);
} VdRecordFormFuncs;

/* page: the record page (the funcs' first argument); anchor: a child of a GtkBox after
 * which the changed-underneath panel goes (the page's error revealer). */
VdRecordForm *vd_record_form_new        (GtkWidget               *page,
                                         const char              *table_name,
                                         const VdRecordFormFuncs *funcs,
                                         GtkWidget               *anchor);
void         vd_record_form_free        (VdRecordForm  *form);
void         vd_record_form_set_store   (VdRecordForm  *form,
                                         VdStore       *store);
/* Fills the page from row id (NULL: an empty form for a new row). FALSE, page untouched,
 * when the row is not on this computer. */
gboolean     vd_record_form_load        (VdRecordForm  *form,
                                         const char    *id);
/* What the widgets show now counts as unedited (a new row's form once preset). */
void         vd_record_form_snapshot    (VdRecordForm  *form);
/* "" for a new row. */
const char  *vd_record_form_get_id      (VdRecordForm  *form);
/* The person changed something since the form was filled or saved. */
gboolean     vd_record_form_is_dirty    (VdRecordForm  *form);
/* Inits form_change and collects the page into it, marking fields at fault. */
void         vd_record_form_collect     (VdRecordForm  *form,
                                         VdFormChange  *form_change);
/* Commits the cells the person changed (all of them for a new row); on success the form
 * is clean, shows the row as saved, and form_change->change->id is the row's id.
 * *out_committed (may be NULL): whether anything was written. */
gboolean     vd_record_form_commit      (VdRecordForm  *form,
                                         VdFormChange  *form_change,
                                         gboolean      *out_committed,
                                         GError       **error);
/* Columns changed both here and underneath, waiting for the person's choice; NULL when
 * none. Free with g_strfreev. */
char       **vd_record_form_dup_conflicts (VdRecordForm *form);
/* The person's choice for column (NULL: for all of them). */
void         vd_record_form_resolve     (VdRecordForm  *form,
                                         const char    *column,
                                         gboolean       take_theirs);
/* Runs then (void (*) (gpointer)) at once when the form is clean; else asks Save /
 * Discard / Cancel and runs it after a save that worked or a discard, never after
 * Cancel. destroy (may be NULL) frees user_data once the question is done with. */
void         vd_record_form_leave       (VdRecordForm   *form,
                                         GCallback       then,
                                         gpointer        user_data,
                                         GDestroyNotify  destroy);
/* The same for every form with unsaved edits inside within (a window: also the record
 * windows on top of it), one question after the other. then: void (*) (gpointer). */
void         vd_record_forms_leave      (GtkWidget     *within,
                                         GCallback      then,
                                         gpointer       user_data);
/* Whether some form inside within has unsaved edits. */
gboolean     vd_record_forms_any_dirty  (GtkWidget     *within);

/* ---- labels ---- */

/* The species in schema order, NULL-terminated, and their translated names. */
const char * const *vd_pet_species   (void);
const char  *vd_pet_species_label    (const char    *species);
const char * const *vd_pet_sexes     (void);
const char  *vd_pet_sex_label        (const char    *sex);
const char * const *vd_staff_roles   (void);
const char  *vd_staff_role_label     (const char    *role);
/* A GtkStringList of the labels, for a GtkDropDown. */
GListModel  *vd_labels_model         (const char * const *values,
                                      const char  *(*label) (const char *));
/* The index of value in values, or GTK_INVALID_LIST_POSITION. */
guint        vd_values_index         (const char * const *values,
                                      const char    *value);

/* "3 years, 2 months", "5 months", "12 days", for a birth date "YYYY-MM-DD" seen on
 * today; NULL when the date is unreadable or in the future. */
char        *vd_describe_age         (const char    *birth_date,
                                      GDate         *today);
/* Weight in kilograms with the locale's decimal mark, at most two decimals ("12,5"). */
char        *vd_format_weight        (double         kg);
/* Reads "12.5" or "12,5" (either mark, whatever the locale). FALSE when not a number. */
gboolean     vd_parse_weight         (const char    *text,
                                      double        *out_kg);

/* ---- rows shared by the pages ---- */

/* A pet in a client's list: name, species and breed; allergies in a warning style.
 * item: a VdPetItem. Its action target is the pet's id (for row-activated handlers, the
 * row's widget name is the id). */
GtkWidget   *vd_pet_row_new          (gpointer       item);
/* An appointment in a history: when, what, for whom, its status; upcoming ones marked.
 * item: a VdAppointmentItem. Activating it opens the editor (win.edit-appointment). */
GtkWidget   *vd_history_row_new      (gpointer       item,
                                      GTimeZone     *zone);
/* A dim placeholder row for an empty boxed list. */
GtkWidget   *vd_placeholder_new      (const char    *text);

/* Client's display name "First Last". */
char        *vd_client_display_name  (const char    *first_name,
                                      const char    *last_name);

G_END_DECLS
