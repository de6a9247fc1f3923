/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-sign-in-page.h — the first-run (and signed-out) page: server address, the server's
 * certificate fingerprint to confirm when no CA vouches for it, username and password,
 * and the clinic to work in when the person belongs to several. */
#pragma once

#include <gtk/gtk.h>
#include "vd-session.h"

G_BEGIN_DECLS

#define VD_TYPE_SIGN_IN_PAGE (vd_sign_in_page_get_type ())
G_DECLARE_FINAL_TYPE (VdSignInPage, vd_sign_in_page, VD, SIGN_IN_PAGE, GtkWidget)

/* Signals:
 *   ::signed-in (VdLoginResult *result, VdClinicInfo *clinic) — both owned by the page,
 *     valid during the emission only. clinic is NULL for a company or platform
 *     administrator who belongs to no clinic (the Sync Monitor).
 *   ::cancelled () — the Cancel button, shown when can-cancel is set. */

GtkWidget  *vd_sign_in_page_new            (void);
void        vd_sign_in_page_set_server_url (VdSignInPage *self,
                                            const char   *server_url);
/* The normalised address being signed in to (https://host:port), or NULL. */
char       *vd_sign_in_page_dup_server_url (VdSignInPage *self);
void        vd_sign_in_page_set_username   (VdSignInPage *self,
                                            const char   *username);
/* The device id sent with the login (the desk's, kept in the account). */
void        vd_sign_in_page_set_device_id  (VdSignInPage *self,
                                            const char   *device_id);
/* The device id the page signs in with when the page made it itself (no replica has
 * it yet), else NULL: a clinic new to this computer may take it as its own. */
const char *vd_sign_in_page_get_new_device_id (VdSignInPage *self);
/* Called once the clinic is known, before ::signed-in: returns the device id the desk
 * uses for that clinic (its replica's). When it differs from the one the login was made
 * with, the page signs in again with it, since the server ties a session to one device.
 * (A replica's device id is made when its file is created, after the clinic is known.) */
typedef char *(*VdSignInDeviceFunc) (VdSignInPage       *page,
                                     const VdClinicInfo *clinic,
                                     gpointer            user_data);
void        vd_sign_in_page_set_device_func (VdSignInPage      *self,
                                             VdSignInDeviceFunc func,
                                             gpointer           user_data);
void        vd_sign_in_page_set_can_cancel (VdSignInPage *self,
                                            gboolean      can_cancel);
/* Focus on the first field still to fill in. */
void        vd_sign_in_page_focus_first_empty (VdSignInPage *self);
/* Back to a fresh form (keeps server and username, clears password and errors). */
void        vd_sign_in_page_reset          (VdSignInPage *self);
/* The sentence shown now, or NULL (tests). */
const char *vd_sign_in_page_get_error      (VdSignInPage *self);
gboolean    vd_sign_in_page_get_busy       (VdSignInPage *self);

G_END_DECLS
