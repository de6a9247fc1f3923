/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-sparkline.h — a small bar chart of counts (a clinic's sync calls per hour), drawn
 * with GtkSnapshot: cheap enough for every visible row of a list of thousands. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define VD_TYPE_SPARKLINE (vd_sparkline_get_type ())
G_DECLARE_FINAL_TYPE (VdSparkline, vd_sparkline, VD, SPARKLINE, GtkWidget)

GtkWidget *vd_sparkline_new        (void);
/* Copies n counts, oldest first (negative counts are drawn as 0). */
void       vd_sparkline_set_values (VdSparkline  *self,
                                    const gint64 *values,
                                    guint         n);
guint      vd_sparkline_get_n_values (VdSparkline *self);
gint64     vd_sparkline_get_value  (VdSparkline  *self,
                                    guint         index);
/* Bars of a clinic in trouble are drawn in the error colour. */
void       vd_sparkline_set_alert  (VdSparkline  *self,
                                    gboolean      alert);

G_END_DECLS
