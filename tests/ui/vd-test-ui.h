/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-test-ui.h — what every UI test shares: a throwaway home, waiting on the main loop,
 * finding and clicking widgets, PNG screenshots, and a desk signed in to a demo clinic. */
#pragma once

#include <adwaita.h>

#include "vd-application.h"
#include "vd-window.h"
#include "vd-test-syncd.h"

G_BEGIN_DECLS

/* ---- set-up ---- */

/* Makes a throwaway home (XDG_* dirs), sets GSETTINGS_BACKEND=memory, GTK_A11Y=none and
 * LANGUAGE to $VD_TEST_LANGUAGE or "C"; then g_test_init and gtk_init/adw_init. Returns
 * FALSE when there is no display: main should then print "1..0 # SKIP" and return 0. */
gboolean     vd_test_ui_init             (int          *argc,
                                          char       ***argv);
/* Removes the home (kept, with its path printed, when VD_KEEP_HOME is set); returns status. */
int          vd_test_ui_finish           (int           status);
const char  *vd_test_ui_get_home         (void);

/* ---- waiting ---- */

/* One non-blocking main-loop iteration (sleeps 2 ms when nothing was pending). */
void         vd_test_ui_iterate          (void);
/* Runs the main loop for ms milliseconds. */
void         vd_test_ui_settle           (guint         ms);
/* Prints the watched syncd's log and engine's state; called before a wait fails. */
void         vd_test_ui_watch            (VdTestSyncd  *syncd,
                                          VdSyncEngine *engine);
void         vd_test_ui_describe         (void);

/* Iterates until cond holds; g_error naming what after seconds. */
#define VD_TEST_UI_WAIT_UNTIL(cond, seconds, what)                                    \
  G_STMT_START {                                                                      \
    gint64 wait_end_ = g_get_monotonic_time () + (gint64) (seconds) * G_USEC_PER_SEC; \
    while (!(cond))                                                                   \
      {                                                                               \
        if (g_get_monotonic_time () > wait_end_)                                      \
          {                                                                           \
            vd_test_ui_describe ();                                                   \
            g_error ("Waited %d s for %s", (int) (seconds), what);                    \
          }                                                                           \
        vd_test_ui_iterate ();                                                        \
      }                                                                               \
  } G_STMT_END

/* ---- finding and clicking ---- */

typedef gboolean (*VdTestUiMatch) (GtkWidget *widget, gconstpointer data);

/* Depth first, root included; NULL when nothing matches. */
GtkWidget   *vd_test_ui_find             (GtkWidget     *root,
                                          VdTestUiMatch  match,
                                          gconstpointer  data);
/* data: GSIZE_TO_POINTER (a GType) */
gboolean     vd_test_ui_match_type       (GtkWidget *widget, gconstpointer data);
/* data: the title of an AdwPreferencesRow (password rows excluded) */
gboolean     vd_test_ui_match_row_title  (GtkWidget *widget, gconstpointer data);
/* data: a CSS class; the widget must be visible */
gboolean     vd_test_ui_match_class      (GtkWidget *widget, gconstpointer data);
/* data: a CSS class; a visible GtkButton */
gboolean     vd_test_ui_match_button_class (GtkWidget *widget, gconstpointer data);
/* data: the exact text of a visible GtkLabel */
gboolean     vd_test_ui_match_label      (GtkWidget *widget, gconstpointer data);
/* Asserts the button exists and is sensitive, then emits "clicked". */
void         vd_test_ui_click            (GtkWidget    *button);

/* ---- screenshots ---- */

/* Draws widget (usually a window) to tests/artifacts/ui-<name>.png in the build dir,
 * ui-<name>-<lang>.png when VD_TEST_LANGUAGE is set. */
void         vd_test_ui_screenshot       (GtkWidget    *widget,
                                          const char   *name);

/* ---- a desk ---- */

/* gnome-keyring-daemon on the session bus when none owns org.freedesktop.secrets;
 * NULL when one already runs or none can start. */
GSubprocess *vd_test_ui_start_keyring    (void);

typedef struct
{
  GSubprocess   *keyring;   /* NULL when another keyring serves the bus */
  VdTestSyncd   *syncd;     /* serving the demo clinics (load-demo) */
  VdApplication *app;
  VdWindow      *window;    /* 1280x800, presented */
  VdStore       *store;     /* set by vd_test_desk_sign_in */
  VdSyncEngine  *engine;    /* set by vd_test_desk_sign_in */
} VdTestDesk;

/* A keyring, a syncd with the demo data, the app and its window on the sign-in page. */
VdTestDesk  *vd_test_desk_new            (void);
/* Signs in on the sign-in page (trusting the test certificate) as username with the demo
 * password, and waits until the first sync is done and the main page shows. */
void         vd_test_desk_sign_in        (VdTestDesk   *desk,
                                          const char   *username);
/* Signs in as a company or platform administrator (no clinic) and waits for the Sync
 * Monitor page; store and engine stay NULL. */
void         vd_test_desk_sign_in_admin  (VdTestDesk   *desk,
                                          const char   *username);
/* Destroys the window and stops syncd and the keyring. */
void         vd_test_desk_free           (VdTestDesk   *desk);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdTestDesk, vd_test_desk_free)

#define VD_TEST_DEMO_PASSWORD "vetdesk-demo"

G_END_DECLS
