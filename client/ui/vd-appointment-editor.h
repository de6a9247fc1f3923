/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-appointment-editor.h — the booking form: client and pet with type-ahead, staff
 * member, room, kind, date, start time, duration, reason and notes. Validates with
 * sentences, warns of a double booking for the staff member before saving, and saves
 * through vd_store_commit. Also edits an existing appointment. */
#pragma once

#include <adwaita.h>
#include "vd-store.h"
#include "vd-record-form.h"
#include "vd-quick-add.h"

G_BEGIN_DECLS

#define VD_TYPE_APPOINTMENT_EDITOR (vd_appointment_editor_get_type ())
G_DECLARE_FINAL_TYPE (VdAppointmentEditor, vd_appointment_editor, VD, APPOINTMENT_EDITOR, AdwWindow)

/* Signals:
 *   ::saved (const char *appointment_id) — committed; the editor closes itself. */

VdAppointmentEditor *vd_appointment_editor_new          (GtkWindow           *parent,
                                                         VdStore             *store);
/* A new appointment for staff_id (may be NULL) at starts_at (Unix seconds). */
void                 vd_appointment_editor_set_start    (VdAppointmentEditor *self,
                                                         const char          *staff_id,
                                                         gint64               starts_at);
/* Edit an existing appointment. FALSE with a sentence when it cannot be read. */
gboolean             vd_appointment_editor_load         (VdAppointmentEditor *self,
                                                         const char          *appointment_id,
                                                         GError             **error);
/* The form (unsaved edits, following sync, the leave question on closing). */
VdRecordForm        *vd_appointment_editor_get_form     (VdAppointmentEditor *self);

/* A new appointment for this client and pet ("Book Appointment" on a pet's page): both
 * pickers preset. FALSE when the client is not offered. */
gboolean             vd_appointment_editor_set_patient  (VdAppointmentEditor *self,
                                                         const char          *client_id,
                                                         const char          *pet_id);
/* The "+" forms beside the client and pet pickers (new client / new pet without leaving
 * the editor); on ::created the picker selects the new row. */
VdQuickAdd          *vd_appointment_editor_get_quick_add (VdAppointmentEditor *self,
                                                          VdQuickAddKind       kind);
/* The id of the client / pet chosen now, or NULL. */
const char          *vd_appointment_editor_get_client_id (VdAppointmentEditor *self);
const char          *vd_appointment_editor_get_pet_id    (VdAppointmentEditor *self);

/* What a person does with the form, for tests: choose by id in each picker (FALSE when
 * the id is not offered), set the fields, press Save. */
gboolean             vd_appointment_editor_select_client (VdAppointmentEditor *self,
                                                          const char          *client_id);
gboolean             vd_appointment_editor_select_pet    (VdAppointmentEditor *self,
                                                          const char          *pet_id);
gboolean             vd_appointment_editor_select_staff  (VdAppointmentEditor *self,
                                                          const char          *staff_id);
void                 vd_appointment_editor_set_duration  (VdAppointmentEditor *self,
                                                          int                  minutes);
void                 vd_appointment_editor_set_reason    (VdAppointmentEditor *self,
                                                          const char          *reason);
void                 vd_appointment_editor_save          (VdAppointmentEditor *self);
/* The sentence shown, or NULL. */
const char          *vd_appointment_editor_get_error     (VdAppointmentEditor *self);
/* The double-booking question while it is open, or NULL. */
AdwMessageDialog    *vd_appointment_editor_get_overlap_dialog (VdAppointmentEditor *self);

G_END_DECLS
