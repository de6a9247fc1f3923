/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-pet-detail.h — one pet's page: species, breed, sex, neutered, birth date with the
 * age, weight, microchip, colour, allergies (a warning row on top), notes, deceased, and
 * its appointments; new, save, delete (soft) and "Book Appointment". */
#pragma once

#include <adwaita.h>
#include "vd-store.h"
#include "vd-record-form.h"

G_BEGIN_DECLS

#define VD_TYPE_PET_DETAIL (vd_pet_detail_get_type ())
G_DECLARE_FINAL_TYPE (VdPetDetail, vd_pet_detail, VD, PET_DETAIL, AdwBin)

/* Signals:
 *   ::saved (const char *pet_id)
 *   ::deleted (const char *pet_id)
 *   ::back (const char *client_id) — the owner's page is wanted
 * Actions: pet.save, pet.delete, pet.back, pet.book (activates
 * win.book-appointment "(ss)" with the client and pet ids). */

VdPetDetail *vd_pet_detail_new            (void);
void         vd_pet_detail_set_store      (VdPetDetail *self,
                                           VdStore     *store);
/* FALSE when the pet is not on this computer. */
gboolean     vd_pet_detail_load           (VdPetDetail *self,
                                           const char  *pet_id);
/* An empty form for a new pet of client_id. */
void         vd_pet_detail_load_new       (VdPetDetail *self,
                                           const char  *client_id);
const char  *vd_pet_detail_get_pet_id     (VdPetDetail *self);
const char  *vd_pet_detail_get_client_id  (VdPetDetail *self);
gboolean     vd_pet_detail_save           (VdPetDetail *self);
const char  *vd_pet_detail_get_error      (VdPetDetail *self);
/* The birth date (0 year = none) as picked on the calendar. */
void         vd_pet_detail_set_birth_date (VdPetDetail *self,
                                           int          year,
                                           int          month,
                                           int          day);
/* "3 years, 2 months" as shown under the birth date, or NULL when none. */
const char  *vd_pet_detail_get_age_text   (VdPetDetail *self);
/* The allergies warning row's text while it is shown, or NULL. */
const char  *vd_pet_detail_get_allergy_warning (VdPetDetail *self);
VdRecordForm     *vd_pet_detail_get_form          (VdPetDetail *self);
AdwMessageDialog *vd_pet_detail_get_delete_dialog (VdPetDetail *self);
/* What the breed or colour row ("breed", "color") offers under it for what is typed and
 * the species picked, while the list shows; NULL when it does not. */
char            **vd_pet_detail_dup_suggestions   (VdPetDetail *self,
                                                   const char  *field);

G_END_DECLS
