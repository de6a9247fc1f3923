/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-application.h — the vetdesk application: one process per desk, one main window
 * showing the desk's session (VdDesk) the application owns, the --server option and the
 * app-level actions (quit, about). */
#pragma once

#include <adwaita.h>

#include "vd-desk.h"

G_BEGIN_DECLS

#define VD_TYPE_APPLICATION (vd_application_get_type ())
G_DECLARE_FINAL_TYPE (VdApplication, vd_application, VD, APPLICATION, AdwApplication)

/* Before GTK draws anything: with no GPU (no DRM render node, as in a VM, over remote
 * desktop or a PC without graphics drivers) GTK's GL renderer would run on Mesa's
 * software llvmpipe, costing ~100 MB and frames that wait for the CPU the desk needs to
 * sync; the cairo renderer draws the same window for less. GSK_RENDERER, when set,
 * decides. Returns the renderer chosen, or NULL for GTK's own choice. */
const char    *vd_application_pick_renderer  (void);
VdApplication *vd_application_new            (void);
/* The server given with --server (NULL when none). */
const char    *vd_application_get_server_url (VdApplication *self);
void           vd_application_set_server_url (VdApplication *self,
                                              const char    *server_url);
/* A new desk session for a window on server_url (NULL: the saved account's or the last
 * one used), resumed from the saved account when it can be. The application owns it and
 * ends it when the window that shows it is removed. */
VdDesk        *vd_application_open_desk      (VdApplication *self,
                                              const char    *server_url);

G_END_DECLS
