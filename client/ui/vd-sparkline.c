/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-sparkline.c — bars for a short series of counts, scaled to the series' own maximum,
 * drawn as plain colour rectangles (no cairo) so a long list scrolls smoothly. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include "vd-sparkline.h"

#include <adwaita.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#define BAR_GAP     1.0f
#define BAR_MIN_W   3
#define DEFAULT_H   22

struct _VdSparkline
{
  GtkWidget  parent_instance;

  GArray    *values;   /* gint64 */
  gboolean   alert;
};

G_DEFINE_FINAL_TYPE (VdSparkline, vd_sparkline, GTK_TYPE_WIDGET)

static void
vd_sparkline_measure (GtkWidget      *widget,
                      GtkOrientation  orientation,
                      int             for_size,
                      int            *minimum,
                      int            *natural,
                      int            *minimum_baseline,
                      int            *natural_baseline)
{
  VdSparkline *self = VD_SPARKLINE (widget);
  int n = MAX ((int) self->values->len, 1);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = n * 2;
      *natural = n * (BAR_MIN_W + 1);
    }
  else
    {
      *minimum = 12;
      *natural = DEFAULT_H;
    }
  *minimum_baseline = *natural_baseline = -1;
}

static void
vd_sparkline_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  VdSparkline *self = VD_SPARKLINE (widget);
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());
  float width = gtk_widget_get_width (widget);
  float height = gtk_widget_get_height (widget);
  guint n = self->values->len;
  gint64 max = 0;
  float bar_w;
  GdkRGBA bar, base;

  if (n == 0 || width <= 0 || height <= 0)
    return;

  /* Adwaita's accent and error colours (libadwaita 1.2 has no other accent), and a
   * neutral tick for empty hours so the time axis stays visible. */
  gdk_rgba_parse (&bar, self->alert ? (dark ? "#ff7b63" : "#e01b24")
                                    : (dark ? "#78aeed" : "#3584e4"));
  gdk_rgba_parse (&base, dark ? "rgba(255,255,255,0.25)" : "rgba(0,0,0,0.18)");

  for (guint i = 0; i < n; i++)
    max = MAX (max, g_array_index (self->values, gint64, i));

  bar_w = (width - BAR_GAP * (n - 1)) / n;
  if (bar_w < 1)
    bar_w = 1;

  for (guint i = 0; i < n; i++)
    {
      gint64 v = g_array_index (self->values, gint64, i);
      float x = i * (bar_w + BAR_GAP);
      float h;

      if (v <= 0 || max <= 0)
        {
          gtk_snapshot_append_color (snapshot, &base, &GRAPHENE_RECT_INIT (x, height - 1, bar_w, 1));
          continue;
        }
      /* At least two pixels, so one call in a busy day still shows. */
      h = MAX (2.0f, (float) ((double) v / (double) max * height));
      gtk_snapshot_append_color (snapshot, &bar, &GRAPHENE_RECT_INIT (x, height - h, bar_w, h));
    }
}

static void
vd_sparkline_finalize (GObject *object)
{
  VdSparkline *self = VD_SPARKLINE (object);

  g_clear_pointer (&self->values, g_array_unref);

  G_OBJECT_CLASS (vd_sparkline_parent_class)->finalize (object);
}

static void
vd_sparkline_class_init (VdSparklineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = vd_sparkline_finalize;
  widget_class->measure = vd_sparkline_measure;
  widget_class->snapshot = vd_sparkline_snapshot;
  gtk_widget_class_set_css_name (widget_class, "sparkline");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
vd_sparkline_init (VdSparkline *self)
{
  self->values = g_array_new (FALSE, TRUE, sizeof (gint64));
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (gtk_widget_queue_draw), self, G_CONNECT_SWAPPED);
}

GtkWidget *
vd_sparkline_new (void)
{
  return g_object_new (VD_TYPE_SPARKLINE, NULL);
}

void
vd_sparkline_set_values (VdSparkline  *self,
                         const gint64 *values,
                         guint         n)
{
  gint64 total = 0;
  guint shown;
  g_autofree char *text = NULL;

  g_return_if_fail (VD_IS_SPARKLINE (self));
  g_return_if_fail (values != NULL || n == 0);

  if (n == self->values->len && n > 0 &&
      memcmp (self->values->data, values, n * sizeof (gint64)) == 0)
    return;

  g_array_set_size (self->values, 0);
  for (guint i = 0; i < n; i++)
    {
      gint64 v = MAX (values[i], 0);

      g_array_append_val (self->values, v);
      total += v;
    }

  shown = (guint) MIN (total, (gint64) G_MAXUINT);
  /* Translators: the tooltip of a clinic's activity chart */
  text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u sync call in the last %u hours",
                                       "%u sync calls in the last %u hours", shown),
                          shown, n);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

guint
vd_sparkline_get_n_values (VdSparkline *self)
{
  g_return_val_if_fail (VD_IS_SPARKLINE (self), 0);

  return self->values->len;
}

gint64
vd_sparkline_get_value (VdSparkline *self,
                        guint        index)
{
  g_return_val_if_fail (VD_IS_SPARKLINE (self), 0);
  g_return_val_if_fail (index < self->values->len, 0);

  return g_array_index (self->values, gint64, index);
}

void
vd_sparkline_set_alert (VdSparkline *self,
                        gboolean     alert)
{
  g_return_if_fail (VD_IS_SPARKLINE (self));

  alert = !!alert;
  if (self->alert == alert)
    return;
  self->alert = alert;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
