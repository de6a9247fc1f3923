/* vd-application.h — the vetdesk application: one process per desk, one main window,
 * the --server option and the app-level actions (quit, about). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define VD_TYPE_APPLICATION (vd_application_get_type ())
G_DECLARE_FINAL_TYPE (VdApplication, vd_application, VD, APPLICATION, AdwApplication)

VdApplication *vd_application_new            (void);
/* The server given with --server (NULL when none). */
const char    *vd_application_get_server_url (VdApplication *self);
void           vd_application_set_server_url (VdApplication *self,
                                              const char    *server_url);

G_END_DECLS
