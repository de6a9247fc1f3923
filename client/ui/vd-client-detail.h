/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-client-detail.h — one client's page: contact fields, notes, their pets (rows that
 * open the pet, with allergies marked) and their appointments, newest first; new, save,
 * and delete (soft, after a confirmation). */
#pragma once

#include <adwaita.h>
#include "vd-store.h"
#include "vd-record-form.h"

G_BEGIN_DECLS

#define VD_TYPE_CLIENT_DETAIL (vd_client_detail_get_type ())
G_DECLARE_FINAL_TYPE (VdClientDetail, vd_client_detail, VD, CLIENT_DETAIL, AdwBin)

/* Signals:
 *   ::saved (const char *client_id)   — committed (a new client has its id now)
 *   ::deleted (const char *client_id) — the client (and their pets) marked deleted
 *   ::pet-activated (const char *pet_id) — a pet row was activated
 *   ::add-pet (const char *client_id) — "Add Pet" pressed for this saved client
 * Actions: client.save, client.delete, client.add-pet. */

VdClientDetail   *vd_client_detail_new           (void);
void              vd_client_detail_set_store     (VdClientDetail *self,
                                                  VdStore        *store);
/* client_id NULL: an empty form for a new client. FALSE when the row is not here. */
gboolean          vd_client_detail_load          (VdClientDetail *self,
                                                  const char     *client_id);
/* "" while the client is new. */
const char       *vd_client_detail_get_client_id (VdClientDetail *self);
/* What pressing Save does; FALSE with the sentence shown (vd_client_detail_get_error). */
gboolean          vd_client_detail_save          (VdClientDetail *self);
/* The sentence shown above the form, or NULL. */
const char       *vd_client_detail_get_error     (VdClientDetail *self);
/* The delete confirmation while it is open, or NULL. */
AdwMessageDialog *vd_client_detail_get_delete_dialog (VdClientDetail *self);
/* Before a new client is saved: "Already a Client?" while it is open, or NULL. Its
 * responses: "use" (the look-alike is loaded instead), "add" (saved anyway), "cancel". */
AdwMessageDialog *vd_client_detail_get_duplicate_dialog (VdClientDetail *self);
/* The form (unsaved edits, following sync, the leave question). */
VdRecordForm     *vd_client_detail_get_form      (VdClientDetail *self);

G_END_DECLS
