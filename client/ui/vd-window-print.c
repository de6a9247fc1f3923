/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-window-print.c — the main window's printing: the day's schedule to the print dialog
 * (win.print-schedule, Ctrl+P) or straight to a PDF file (win.export-pdf). */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "vd-window-private.h"
#include "vd-print.h"

/* The day the schedule shows, or today on the other sections. */
static void
print_date (VdWindow *self,
            int      *year,
            int      *month,
            int      *day)
{
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->section_stack), "schedule") == 0)
    {
      *year = self->year;
      *month = self->month;
      *day = self->day;
    }
  else
    _vd_window_today_date (self, year, month, day);
}

static void
print_schedule_cb (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);
  g_autoptr(GtkPrintOperation) operation = NULL;
  g_autoptr(GError) error = NULL;
  int y, m, d;

  if (self->store == NULL)
    return;
  print_date (self, &y, &m, &d);
  operation = vd_print_schedule_new (self->store, y, m, d);
  /* The dialog's "Print to File" is how a PDF is made from here. */
  gtk_print_operation_set_allow_async (operation, TRUE);
  if (gtk_print_operation_run (operation, GTK_PRINT_OPERATION_ACTION_PRINT_DIALOG,
                               GTK_WINDOW (self), &error) == GTK_PRINT_OPERATION_RESULT_ERROR)
    _vd_window_toast (self, error->message);
}

static void
export_pdf_cb (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  VdWindow *self = VD_WINDOW (widget);
  g_autoptr(GtkPrintOperation) operation = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_strdup (g_variant_get_string (param, NULL));
  g_autofree char *sentence = NULL;
  int y, m, d;

  if (self->store == NULL)
    return;
  print_date (self, &y, &m, &d);
  /* No file named: the Documents folder, under a name that says which day it is. */
  if (*path == '\0')
    {
      const char *dir = g_get_user_special_dir (G_USER_DIRECTORY_DOCUMENTS);
      /* Translators: the file name of an exported schedule; keep the .pdf */
      g_autofree char *name = g_strdup_printf (_("Schedule %04d-%02d-%02d.pdf"), y, m, d);

      g_free (path);
      path = g_build_filename (dir != NULL ? dir : g_get_home_dir (), name, NULL);
    }

  operation = vd_print_schedule_new (self->store, y, m, d);
  gtk_print_operation_set_export_filename (operation, path);
  if (gtk_print_operation_run (operation, GTK_PRINT_OPERATION_ACTION_EXPORT,
                               GTK_WINDOW (self), &error) == GTK_PRINT_OPERATION_RESULT_ERROR)
    {
      _vd_window_toast (self, error->message);
      return;
    }
  /* Translators: a toast, %s is the PDF file's path */
  sentence = g_strdup_printf (_("Schedule saved as %s"), path);
  _vd_window_toast (self, sentence);
}

void
_vd_window_class_init_print (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.print-schedule", NULL, print_schedule_cb);
  gtk_widget_class_install_action (widget_class, "win.export-pdf", "s", export_pdf_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_p, GDK_CONTROL_MASK, "win.print-schedule", NULL);
}
