/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-store-models.h — GListModel faces of the store for list views: a day of
 * appointments, the clinic's staff, clients (with a search filter) and pets. Each list
 * reloads itself (coalesced, at idle) when the store emits ::changed for a table it
 * shows, and reports only the range that really changed. */
#pragma once

#include <gio/gio.h>
#include "vd-store.h"

G_BEGIN_DECLS

/* ---- Items: read-only snapshots of one row, updated in place on reload ---- */

#define VD_TYPE_APPOINTMENT_ITEM (vd_appointment_item_get_type ())
G_DECLARE_FINAL_TYPE (VdAppointmentItem, vd_appointment_item, VD, APPOINTMENT_ITEM, GObject)

/* Properties: id, pet-id, pet-name, client-id, client-name, staff-id, staff-name,
 * staff-color, kind, status, starts-at (gint64 Unix), ends-at, room, reason, notes,
 * allow-overlap, pet-allergies. Strings are "" when the row has no value. */
const char *vd_appointment_item_get_id            (VdAppointmentItem *self);
const char *vd_appointment_item_get_pet_id        (VdAppointmentItem *self);
const char *vd_appointment_item_get_pet_name      (VdAppointmentItem *self);
const char *vd_appointment_item_get_client_id     (VdAppointmentItem *self);
const char *vd_appointment_item_get_client_name   (VdAppointmentItem *self);
const char *vd_appointment_item_get_staff_id      (VdAppointmentItem *self);
const char *vd_appointment_item_get_staff_name    (VdAppointmentItem *self);
const char *vd_appointment_item_get_staff_color   (VdAppointmentItem *self);
const char *vd_appointment_item_get_kind          (VdAppointmentItem *self);
const char *vd_appointment_item_get_status        (VdAppointmentItem *self);
gint64      vd_appointment_item_get_starts_at     (VdAppointmentItem *self);
gint64      vd_appointment_item_get_ends_at       (VdAppointmentItem *self);
const char *vd_appointment_item_get_room          (VdAppointmentItem *self);
const char *vd_appointment_item_get_reason        (VdAppointmentItem *self);
const char *vd_appointment_item_get_notes         (VdAppointmentItem *self);
gboolean    vd_appointment_item_get_allow_overlap (VdAppointmentItem *self);
const char *vd_appointment_item_get_pet_allergies (VdAppointmentItem *self);

#define VD_TYPE_STAFF_ITEM (vd_staff_item_get_type ())
G_DECLARE_FINAL_TYPE (VdStaffItem, vd_staff_item, VD, STAFF_ITEM, GObject)

/* Properties: id, name, role, color, active. */
const char *vd_staff_item_get_id     (VdStaffItem *self);
const char *vd_staff_item_get_name   (VdStaffItem *self);
const char *vd_staff_item_get_role   (VdStaffItem *self);
const char *vd_staff_item_get_color  (VdStaffItem *self);
gboolean    vd_staff_item_get_active (VdStaffItem *self);

#define VD_TYPE_CLIENT_ITEM (vd_client_item_get_type ())
G_DECLARE_FINAL_TYPE (VdClientItem, vd_client_item, VD, CLIENT_ITEM, GObject)

/* Properties: id, first-name, last-name, phone, email. */
const char *vd_client_item_get_id         (VdClientItem *self);
const char *vd_client_item_get_first_name (VdClientItem *self);
const char *vd_client_item_get_last_name  (VdClientItem *self);
const char *vd_client_item_get_phone      (VdClientItem *self);
const char *vd_client_item_get_email      (VdClientItem *self);

#define VD_TYPE_PET_ITEM (vd_pet_item_get_type ())
G_DECLARE_FINAL_TYPE (VdPetItem, vd_pet_item, VD, PET_ITEM, GObject)

/* Properties: id, client-id, name, species, breed, allergies. */
const char *vd_pet_item_get_id        (VdPetItem *self);
const char *vd_pet_item_get_client_id (VdPetItem *self);
const char *vd_pet_item_get_name      (VdPetItem *self);
const char *vd_pet_item_get_species   (VdPetItem *self);
const char *vd_pet_item_get_breed     (VdPetItem *self);
const char *vd_pet_item_get_allergies (VdPetItem *self);

/* ---- Lists ---- */

/* The base of every list below: a GListModel of items read by one query, reloaded (at
 * idle, coalesced) when the store emits ::changed for a table the list shows. A new list
 * is a subclass that says which items it makes and implements query. */
#define VD_TYPE_STORE_LIST (vd_store_list_get_type ())
G_DECLARE_DERIVABLE_TYPE (VdStoreList, vd_store_list, VD, STORE_LIST, GObject)

struct _VdStoreListClass
{
  GObjectClass parent_class;

  /* The list's query, bound and ready to step, its columns in the item's field order;
   * NULL when it cannot be prepared. */
  sqlite3_stmt *(*query) (VdStoreList *self);

  gpointer padding[4];
};

/* Appointments (not deleted) starting in [start, end) (Unix seconds), optionally of one
 * staff member (NULL = everyone), ordered by start time. */
#define VD_TYPE_APPOINTMENT_LIST (vd_appointment_list_get_type ())
G_DECLARE_FINAL_TYPE (VdAppointmentList, vd_appointment_list, VD, APPOINTMENT_LIST, VdStoreList)

VdAppointmentList *vd_appointment_list_new          (VdStore           *store,
                                                     gint64             start,
                                                     gint64             end,
                                                     const char        *staff_id);
void               vd_appointment_list_set_range    (VdAppointmentList *self,
                                                     gint64             start,
                                                     gint64             end);
/* The calendar day in the clinic's zone (vd_store_get_time_zone, vd_time_day_bounds). */
void               vd_appointment_list_set_day      (VdAppointmentList *self,
                                                     int                year,
                                                     int                month,
                                                     int                day);
void               vd_appointment_list_set_staff_id (VdAppointmentList *self,
                                                     const char        *staff_id);
void               vd_appointment_list_get_range    (VdAppointmentList *self,
                                                     gint64            *out_start,
                                                     gint64            *out_end);

/* A history: every appointment (not deleted) of one client and/or one pet (NULL = any),
 * newest first, whatever its date; for a client's and a pet's page. set_range and
 * set_day do not apply to it. */
VdAppointmentList *vd_appointment_list_new_history  (VdStore           *store,
                                                     const char        *client_id,
                                                     const char        *pet_id);

/* Active staff (not deleted), by name; set_show_inactive(TRUE) adds the inactive ones. */
#define VD_TYPE_STAFF_LIST (vd_staff_list_get_type ())
G_DECLARE_FINAL_TYPE (VdStaffList, vd_staff_list, VD, STAFF_LIST, VdStoreList)

VdStaffList       *vd_staff_list_new                (VdStore           *store);
void               vd_staff_list_set_show_inactive  (VdStaffList       *self,
                                                     gboolean           show_inactive);

/* Clients (not deleted) by last then first name; the filter matches any part of the
 * first name, last name, full name, phone or email (case-insensitive for ASCII). */
#define VD_TYPE_CLIENT_LIST (vd_client_list_get_type ())
G_DECLARE_FINAL_TYPE (VdClientList, vd_client_list, VD, CLIENT_LIST, VdStoreList)

VdClientList      *vd_client_list_new               (VdStore           *store,
                                                     const char        *filter);
void               vd_client_list_set_filter        (VdClientList      *self,
                                                     const char        *filter);

/* Pets (not deleted) of one client (NULL = every pet of the clinic), by name. */
#define VD_TYPE_PET_LIST (vd_pet_list_get_type ())
G_DECLARE_FINAL_TYPE (VdPetList, vd_pet_list, VD, PET_LIST, VdStoreList)

VdPetList         *vd_pet_list_new                  (VdStore           *store,
                                                     const char        *client_id);
void               vd_pet_list_set_client_id        (VdPetList         *self,
                                                     const char        *client_id);

/* Every list (a VdStoreList): reload now rather than at the next idle (for tests and
 * after a bulk change the caller wants shown at once). */
void               vd_store_list_refresh            (GListModel        *list);
/* Every list: while paused, the store's changes do not reload the list (nobody sees it:
 * a hidden page, a bootstrap); they mark it stale, and unpausing reloads it at once if
 * any came. vd_store_list_refresh still reloads a paused list. */
void               vd_store_list_set_paused         (GListModel        *list,
                                                     gboolean           paused);
gboolean           vd_store_list_get_paused         (GListModel        *list);

/* ---- Conflicts: the server-owned rows the Sync page shows ---- */

#define VD_TYPE_CONFLICT_ITEM (vd_conflict_item_get_type ())
G_DECLARE_FINAL_TYPE (VdConflictItem, vd_conflict_item, VD, CONFLICT_ITEM, GObject)

/* Properties: id, kind ("double_booking" or "dangling_reference"), table-name, row-id,
 * other-row-id, detail (the server's own words, not translated), detected-at (Unix). */
const char *vd_conflict_item_get_id           (VdConflictItem *self);
const char *vd_conflict_item_get_kind         (VdConflictItem *self);
const char *vd_conflict_item_get_table_name   (VdConflictItem *self);
const char *vd_conflict_item_get_row_id       (VdConflictItem *self);
const char *vd_conflict_item_get_other_row_id (VdConflictItem *self);
const char *vd_conflict_item_get_detail       (VdConflictItem *self);
gint64      vd_conflict_item_get_detected_at  (VdConflictItem *self);

/* Open conflicts (resolved_at NULL, not deleted), newest first; vd_store_list_refresh
 * works on it too. */
#define VD_TYPE_CONFLICT_LIST (vd_conflict_list_get_type ())
G_DECLARE_FINAL_TYPE (VdConflictList, vd_conflict_list, VD, CONFLICT_LIST, VdStoreList)

VdConflictList    *vd_conflict_list_new             (VdStore           *store);

/* One appointment (deleted or not) with its pet, client and staff names, read now; NULL
 * when this computer has no such row. */
VdAppointmentItem *vd_appointment_item_load         (VdStore           *store,
                                                     const char        *appointment_id);

G_END_DECLS
