/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-quick-add.h — a small popover form that adds a client or a pet without leaving the
 * appointment editor: the few fields the desk needs at booking time, validated like the
 * full pages; the rest can be filled in later on the record's page. */
#pragma once

#include <adwaita.h>
#include "vd-store.h"

G_BEGIN_DECLS

#define VD_TYPE_QUICK_ADD (vd_quick_add_get_type ())
G_DECLARE_FINAL_TYPE (VdQuickAdd, vd_quick_add, VD, QUICK_ADD, GtkPopover)

typedef enum
{
  VD_QUICK_ADD_CLIENT,
  VD_QUICK_ADD_PET,
} VdQuickAddKind;

/* Signal ::created (const char *id) — committed; the popover pops down and resets. */

VdQuickAdd  *vd_quick_add_new           (VdStore        *store,
                                         VdQuickAddKind  kind);
/* The owner of a new pet (a pet form adds nothing without one). */
void         vd_quick_add_set_client_id (VdQuickAdd     *self,
                                         const char     *client_id);
/* Sets a field by its row title, as a person types it (tests). FALSE when no such row. */
gboolean     vd_quick_add_set_field     (VdQuickAdd     *self,
                                         const char     *title,
                                         const char     *text);
gboolean     vd_quick_add_save          (VdQuickAdd     *self);
const char  *vd_quick_add_get_error     (VdQuickAdd     *self);

G_END_DECLS
