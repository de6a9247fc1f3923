/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-rules.h — the clinic's domain rules in one place, for the desk and syncd alike: which
 * appointment statuses are live and which steps lead on from each, how long an
 * appointment may last, what a new row must set, which staff take appointments, and the
 * registry's per-table flags (write-once rows, the clinic roles that may write a table). */
#pragma once

#include <glib.h>
#include "vd-change.h"
#include "vd-schema.h"

G_BEGIN_DECLS

/* ---- Appointments ---- */

/* An appointment is live unless cancelled or a no-show: only live ones take up their
 * staff member's time (overlaps, upcoming counts, the day view's full colour). A NULL
 * status (a row still arriving cell by cell) counts as live. */
gboolean            vd_rules_status_is_active     (const char *status);

/* The same rule for SQL: the inactive statuses as a parenthesised list of literals,
 * "status NOT IN " VD_RULES_INACTIVE_STATUSES_SQL. test-rules checks that it names
 * exactly the statuses vd_rules_status_is_active calls inactive. */
#define VD_RULES_INACTIVE_STATUSES_SQL "('cancelled', 'no_show')"

/* The statuses a person may move an appointment to from status, most likely first,
 * NULL-terminated; an empty list for a finished or unknown one. The server does not
 * enforce them: two desks may step the same appointment at once, and the later write
 * wins as for any cell. */
const char * const *vd_rules_next_statuses        (const char *status);

/* An appointment ends after it starts and lasts at most this long. syncd rejects a push
 * that breaks it (invalid_change) and the desk refuses to save it; the editor offers
 * durations up to VD_RULES_EDITOR_MAX_MINUTES only as a convenience. */
#define VD_RULES_APPOINTMENT_MAX_SECONDS (24 * 3600)
#define VD_RULES_EDITOR_MAX_MINUTES      720

/* TRUE when [starts_at, ends_at) (Unix seconds) is a possible appointment. */
gboolean            vd_rules_appointment_times_ok (gint64      starts_at,
                                                   gint64      ends_at);
/* The same on the stored UTC text ("YYYY-MM-DDTHH:MM:SSZ"). A missing or unreadable time
 * is not judged here (TRUE): validation of the cell reports it. */
gboolean            vd_rules_appointment_text_times_ok (const char *starts_at,
                                                        const char *ends_at);

/* Staff of this role appear in the day view and can be booked. */
gboolean            vd_rules_role_takes_appointments (const char *staff_role);

/* ---- Rows ---- */

/* The value a new row's boolean column takes when the change leaves it out: FALSE but for
 * a staff member's "active" (someone added to the staff works here). */
gboolean            vd_rules_bool_default         (const VdColumn *column);

/* The first column a change that creates a row must set but does not: a column that is
 * not nullable and has no value in change (a NULL value counts as none). "deleted" is
 * never required: a row never deleted is not deleted. NULL when the row is whole. */
const VdColumn     *vd_rules_missing_required     (const VdChange *change);

/* ---- Tables: write-once rows and who may write ---- */

/* Rows of table are never changed once made (ARCHITECTURE §9). */
gboolean            vd_rules_table_is_write_once  (const VdTable *table);

/* The clinic roles of a membership, NULL-terminated: "front_desk", "veterinarian",
 * "technician", "groomer", "clinic_admin". */
const char * const *vd_rules_clinic_roles         (void);
/* The flag of a clinic role's name; 0 for a name that is not a clinic role. */
VdClinicRole        vd_rules_clinic_role_from_name (const char *role);
/* A member of role may write rows of table (§5 "Roles per table"): never a server-owned
 * table; a clinic_admin every other table; any other role the tables that name it. */
gboolean            vd_rules_role_may_write       (const char    *role,
                                                   const VdTable *table);

G_END_DECLS
