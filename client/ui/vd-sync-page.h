/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-sync-page.h — the Sync section: this desk's sync state, the conflicts the server
 * opened (double bookings, missing references) with their fixes, and the changes the
 * server refused, each kept until a person fixes or discards it. */
#pragma once

#include <adwaita.h>
#include "vd-store.h"
#include "vd-sync-engine.h"

G_BEGIN_DECLS

#define VD_TYPE_SYNC_PAGE (vd_sync_page_get_type ())
G_DECLARE_FINAL_TYPE (VdSyncPage, vd_sync_page, VD, SYNC_PAGE, GtkWidget)

/* Properties: "attention" (guint, read-only): open conflicts + refused changes, what the
 * sidebar badge counts. */

GtkWidget        *vd_sync_page_new                 (void);
/* The desk's store and engine (both NULL when signed out). */
void              vd_sync_page_set_session         (VdSyncPage   *self,
                                                    VdStore      *store,
                                                    VdSyncEngine *engine);
guint             vd_sync_page_get_attention       (VdSyncPage   *self);
/* Reads the conflicts and refused changes again now rather than at the next idle. */
void              vd_sync_page_refresh             (VdSyncPage   *self);

/* What tests look at. */
guint             vd_sync_page_get_n_conflicts     (VdSyncPage   *self);
guint             vd_sync_page_get_n_rejected      (VdSyncPage   *self);
/* The row of the index-th open conflict / refused change, or NULL. */
GtkWidget        *vd_sync_page_get_conflict_row    (VdSyncPage   *self,
                                                    guint         index);
GtkWidget        *vd_sync_page_get_rejected_row    (VdSyncPage   *self,
                                                    guint         index);
/* The id of the index-th open conflict, or NULL. */
const char       *vd_sync_page_get_conflict_id     (VdSyncPage   *self,
                                                    guint         index);
/* The "discard this change?" question while it is open, or NULL. */
AdwMessageDialog *vd_sync_page_get_discard_dialog  (VdSyncPage   *self);

G_END_DECLS
