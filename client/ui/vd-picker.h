/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-picker.h — a button that opens a searchable list to choose one item of a model: the
 * booking dialog's client and staff pickers. Typing filters at once with the global
 * search's accent-blind word prefixes; Enter picks the first match. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define VD_TYPE_PICKER (vd_picker_get_type ())
G_DECLARE_FINAL_TYPE (VdPicker, vd_picker, VD, PICKER, GtkWidget)

/* The words an item is found by (a string, freed by the caller). */
typedef char *(*VdPickerTextFunc) (gpointer item);

/* Properties: model (GListModel), selected (guint, GTK_INVALID_LIST_POSITION for none),
 * selected-item (read-only). */

VdPicker  *vd_picker_new               (void);
void       vd_picker_set_model         (VdPicker         *self,
                                        GListModel       *model);
/* How an item is shown (a string expression). */
void       vd_picker_set_expression    (VdPicker         *self,
                                        GtkExpression    *expression);
/* What an item is found by; NULL to search what is shown. */
void       vd_picker_set_search_func   (VdPicker         *self,
                                        VdPickerTextFunc  func);
guint      vd_picker_get_selected      (VdPicker         *self);
void       vd_picker_set_selected      (VdPicker         *self,
                                        guint             position);
gpointer   vd_picker_get_selected_item (VdPicker         *self);

/* The popup's search, as typed there (tests). */
void       vd_picker_popup             (VdPicker         *self);
GtkEditable *vd_picker_get_search_entry (VdPicker        *self);
/* The items the search shows now. */
GListModel *vd_picker_get_matches      (VdPicker         *self);

G_END_DECLS
