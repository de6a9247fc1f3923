/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-store.h — the desk's local replica of one clinic: one SQLite file per (server,
 * clinic) in WAL mode with synchronous=FULL, on shared/'s cell store. Every user action
 * is one transaction covering the row, its cell clocks and its outbox entry; pulled pages
 * are applied with the cursor in the same transaction. */
#pragma once

#include <gio/gio.h>
#include "vd-cell-store.h"
#include "vd-change.h"
#include "vd-protocol.h"
#include "vd-hlc.h"

G_BEGIN_DECLS

#define VD_STORE_ERROR (vd_store_error_quark ())

typedef enum
{
  VD_STORE_ERROR_FAILED,     /* the database said no; the message is a sentence */
  VD_STORE_ERROR_INVALID,    /* a value or a missing required field; names the field */
  VD_STORE_ERROR_NOT_FOUND,
} VdStoreError;

GQuark vd_store_error_quark (void);

#define VD_TYPE_STORE (vd_store_get_type ())
G_DECLARE_FINAL_TYPE (VdStore, vd_store, VD, STORE, GObject)

/* The clinic as the server described it at sign-in, kept in the store. */
typedef struct
{
  char *tenant_id;
  char *slug;
  char *name;
  char *timezone;
  char *currency;
  char *role;
} VdClinicInfo;

void          vd_clinic_info_free (VdClinicInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdClinicInfo, vd_clinic_info_free)

/* path: the file ("$XDG_DATA_HOME/vetdesk/<server-host>/<tenant_id>.db" by
 * vd_store_default_path). Creates and migrates (forward-only) the file; makes the device
 * id once and keeps it. */
VdStore      *vd_store_open            (const char   *path,
                                        const char   *tenant_id,
                                        GError      **error);
/* The same; a file that has no device id yet takes new_device_id (a UUID) as its own:
 * the one a first sign-in already bound its session to. */
VdStore      *vd_store_open_for_device (const char   *path,
                                        const char   *tenant_id,
                                        const char   *new_device_id,
                                        GError      **error);
char         *vd_store_default_path    (const char   *server_url,
                                        const char   *tenant_id);
const char   *vd_store_get_path        (VdStore      *self);
const char   *vd_store_get_tenant_id   (VdStore      *self);
const char   *vd_store_get_device_id   (VdStore      *self);
sqlite3      *vd_store_get_db          (VdStore      *self);
VdCellStore  *vd_store_get_cell_store  (VdStore      *self);
VdHlcClock   *vd_store_get_clock       (VdStore      *self);

/* Clinic info (name, zone, currency, role) saved at sign-in; NULL before. */
VdClinicInfo *vd_store_dup_clinic_info (VdStore            *self);
gboolean      vd_store_set_clinic_info (VdStore            *self,
                                        const VdClinicInfo *info,
                                        GError            **error);
/* The clinic's zone (UTC until clinic info is set); owned by the store. */
GTimeZone    *vd_store_get_time_zone   (VdStore      *self);

/* A user action: validates each cell (vd_value_validate), checks a new row has every
 * required column, stamps the change with a fresh hlc and this device's site, applies it
 * and queues it in the outbox, all in one transaction. change->id empty = a new row: the
 * store makes an id and writes it back into change->id. Emits ::changed. */
gboolean      vd_store_commit          (VdStore      *self,
                                        VdChange     *change,
                                        GError      **error);

/* A person's edit of a row they were shown as loaded (table->n_columns values: what the
 * form was filled from), or of a new row when loaded is NULL. Cells equal to what was
 * loaded are dropped first, so only the fields the person changed get a new clock and
 * another desk's newer value in a field they did not touch is never overwritten; when
 * nothing is left, nothing is written, queued or emitted. Otherwise as vd_store_commit.
 * *out_committed (may be NULL) says whether anything was written. */
gboolean      vd_store_commit_edit     (VdStore       *self,
                                        VdChange      *change,
                                        const VdValue *loaded,
                                        gboolean      *out_committed,
                                        GError       **error);

/* A change of table_name to fill (vd_change_take_cell) and commit: of row id, or of a
 * new row when id is NULL (its id is then empty until vd_store_commit makes one). NULL
 * for an unknown table. */
VdChange     *vd_store_new_change      (VdStore      *self,
                                        const char   *table_name,
                                        const char   *id);

/* Reads one row (values of table->n_columns, caller clears them). */
gboolean      vd_store_get_row         (VdStore       *self,
                                        const VdTable *table,
                                        const char    *id,
                                        VdValue       *values,
                                        GError       **error);

/* ---- what the sync engine uses ---- */

/* Outbox entries not yet acknowledged and not rejected. */
guint         vd_store_count_pending   (VdStore      *self);
/* The batch to push: the one already in flight (sent but not acknowledged, kept across
 * restarts, so a crash re-sends exactly the same batch id and changes) or else a new one
 * of at most max_changes entries, its batch id persisted. *out_changes (of VdChange, in
 * outbox order) is NULL when nothing is to push. */
gboolean      vd_store_next_batch      (VdStore      *self,
                                        guint         max_changes,
                                        gint64       *out_batch_id,
                                        GPtrArray   **out_changes,
                                        GError      **error);
/* The server's answer to batch_id: deletes accepted entries, keeps rejected ones with
 * their code and reason (never silently dropped), in one transaction. An answer to
 * another batch, or whose counts and indices do not fit the batch, changes nothing. */
gboolean      vd_store_ack_batch       (VdStore            *self,
                                        gint64              batch_id,
                                        const VdPushAnswer *answer,
                                        GError            **error);
gint64        vd_store_get_cursor      (VdStore      *self);
/* Applies a decoded pull page and moves the cursor in one transaction. Safe to call from
 * a worker thread: it uses the store's second connection, then emits ::changed on the
 * main context. */
gboolean      vd_store_apply_pull      (VdStore      *self,
                                        VdPullAnswer *page,
                                        GError      **error);
/* After the server said clock_skew: rewinds the clock to the corrected wall clock and
 * re-stamps every unacknowledged change (outbox and local cells) with fresh hlcs. */
gboolean      vd_store_restamp_pending (VdStore      *self,
                                        GError      **error);

typedef struct
{
  gint64  outbox_id;
  char   *table;
  char   *row_id;
  char   *code;
  char   *message;
  char   *change_json;
} VdRejected;

void          vd_rejected_free         (VdRejected   *rejected);
/* The changes the server refused, with their reasons. */
GPtrArray    *vd_store_list_rejected   (VdStore      *self,
                                        GError      **error);
/* Discard a rejected change by the user's choice. */
gboolean      vd_store_discard_rejected (VdStore     *self,
                                         gint64       outbox_id,
                                         GError     **error);

G_END_DECLS
