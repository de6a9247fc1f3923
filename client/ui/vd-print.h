/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-print.h — the day's schedule on paper (or PDF): one section per staff member with
 * appointments, starting on a new page, times in the clinic's zone. */
#pragma once

#include <gtk/gtk.h>
#include "vd-store.h"

G_BEGIN_DECLS

/* A print operation for the schedule of year-month-day (a calendar day in the clinic's
 * zone). Run it with GTK_PRINT_OPERATION_ACTION_PRINT_DIALOG (its "Print to File" makes a
 * PDF), or set export-filename and run it with GTK_PRINT_OPERATION_ACTION_EXPORT. */
GtkPrintOperation *vd_print_schedule_new (VdStore *store,
                                          int      year,
                                          int      month,
                                          int      day);

/* How many staff members have appointments that day: the sections the print has. */
guint              vd_print_count_staff  (VdStore *store,
                                          int      year,
                                          int      month,
                                          int      day);

G_END_DECLS
