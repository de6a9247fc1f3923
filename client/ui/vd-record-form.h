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
