/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-main.c — the vetdesk command: sets up translations and runs the application. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>

#include "vd-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(VdApplication) app = NULL;
  const char *locale_dir = g_getenv ("VETDESK_LOCALEDIR");

  setlocale (LC_ALL, "");
  /* VETDESK_LOCALEDIR: the build tree's translations when run uninstalled. */
  bindtextdomain (GETTEXT_PACKAGE, locale_dir != NULL && *locale_dir != '\0' ? locale_dir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_("VetDesk"));
  vd_application_pick_renderer ();

  app = vd_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
