/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-staff-page.h — the Staff section for clinic admins: every staff member (inactive ones
 * marked), add, edit, colour, and deactivate (active = false: no new bookings, history kept). */
#pragma once

#include <adwaita.h>
#include "vd-store.h"
#include "vd-record-form.h"

G_BEGIN_DECLS

#define VD_TYPE_STAFF_PAGE (vd_staff_page_get_type ())
G_DECLARE_FINAL_TYPE (VdStaffPage, vd_staff_page, VD, STAFF_PAGE, AdwBin)

/* Actions: staff.new, staff.save. Signal ::saved (const char *staff_id). */

VdStaffPage *vd_staff_page_new            (void);
void         vd_staff_page_set_store      (VdStaffPage *self,
                                           VdStore     *store);
/* The staff listed (VdStaffItem, inactive ones included). */
GListModel  *vd_staff_page_get_list       (VdStaffPage *self);
/* NULL: an empty form for a new staff member. FALSE when the row is not here. */
gboolean     vd_staff_page_open           (VdStaffPage *self,
                                           const char  *staff_id);
/* "" while new. */
const char  *vd_staff_page_get_staff_id   (VdStaffPage *self);
gboolean     vd_staff_page_save           (VdStaffPage *self);
const char  *vd_staff_page_get_error      (VdStaffPage *self);
VdRecordForm *vd_staff_page_get_form      (VdStaffPage *self);

/* Brings the list into view when the page is folded (a narrow window). */
void         vd_staff_page_show_list      (VdStaffPage *self);

G_END_DECLS
