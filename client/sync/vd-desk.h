/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-desk.h — the desk's session, owned by the application and shown by the window: the
 * saved account resumed at start (the local replica opens at once, the network comes
 * later), sign-in completion (the clinic's replica, its sync engine, or an
 * administrator's monitor client), the first sync of a new replica, the refresh token in
 * the keyring, and sign-out. No GTK: the window follows its properties and signals. */
#pragma once

#include <gio/gio.h>

#include "vd-store.h"
#include "vd-sync-engine.h"
#include "vd-monitor-client.h"
#include "vd-session.h"

G_BEGIN_DECLS

#define VD_TYPE_DESK (vd_desk_get_type ())
G_DECLARE_FINAL_TYPE (VdDesk, vd_desk, VD, DESK, GObject)

/* How a completed sign-in went on (vd_desk_sign_in). */
typedef enum
{
  VD_DESK_SIGN_IN_FAILED,     /* the clinic's replica could not be opened: error set */
  VD_DESK_SIGN_IN_MONITOR,    /* an administrator: :monitor is set, nothing is saved */
  VD_DESK_SIGN_IN_RENEWED,    /* the same clinic again: the replica and engine carry on */
  VD_DESK_SIGN_IN_OPENED,     /* a replica with data: the engine runs */
  VD_DESK_SIGN_IN_BOOTSTRAP,  /* a new replica: the first sync runs (::bootstrap-started) */
} VdDeskSignIn;

/* server_url: from --server (may be NULL); it wins over the saved account's server. */
VdDesk          *vd_desk_new                (const char          *server_url);

/* Opens the saved account's replica and engine, and reads its token from the keyring in
 * a thread. FALSE (nothing opened) when there is no account, or it names another server
 * than --server, or its replica is missing. */
gboolean         vd_desk_resume             (VdDesk              *self);

/* Completes a sign-in from the sign-in page; clinic NULL means an administrator. */
VdDeskSignIn     vd_desk_sign_in            (VdDesk              *self,
                                             VdLoginResult       *result,
                                             VdClinicInfo        *clinic,
                                             GError             **error);

/* The device id the desk uses for clinic on server_url (its replica's, opened or made
 * now with new_device_id when new to this computer), or NULL when it cannot be opened. */
char            *vd_desk_device_for_clinic  (VdDesk              *self,
                                             const char          *server_url,
                                             const char          *tenant_id,
                                             const char          *new_device_id);

/* Ends the session here and on the server. A desk forgets its account's clinic and
 * keyring entry (the username stays for the next sign-in); its replica stays on disk. */
void             vd_desk_sign_out           (VdDesk              *self);

/* Stops the engine, the first sync and the monitor client, and lets go of the replica. */
void             vd_desk_close              (VdDesk              *self);

const char      *vd_desk_get_server_url     (VdDesk              *self);
/* The account signed in (or, after sign-out, the one last signed in), or NULL. */
const VdAccount *vd_desk_get_account        (VdDesk              *self);
VdStore         *vd_desk_get_store          (VdDesk              *self);
VdSyncEngine    *vd_desk_get_engine         (VdDesk              *self);
/* The clinic's name while a replica is open, or NULL. */
const char      *vd_desk_get_clinic_name    (VdDesk              *self);
/* An administrator's session and the name to show for them, or NULL. */
VdMonitorClient *vd_desk_get_monitor        (VdDesk              *self);
const char      *vd_desk_get_monitor_user   (VdDesk              *self);
/* The app's settings, or NULL when the schema is not installed. */
GSettings       *vd_desk_get_settings       (VdDesk              *self);
/* The server the last sign-in used (settings), or NULL. */
char            *vd_desk_dup_remembered_server (VdDesk           *self);

G_END_DECLS
