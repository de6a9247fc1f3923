/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-day-view.h — one clinic day as a grid: a column per staff member, a time axis in
 * the clinic's zone, appointment blocks coloured by kind, the current-time line. One
 * widget drawn with GtkSnapshot; it scrolls (GtkScrollable) with a sticky staff header
 * and hour gutter. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define VD_TYPE_DAY_VIEW (vd_day_view_get_type ())
G_DECLARE_FINAL_TYPE (VdDayView, vd_day_view, VD, DAY_VIEW, GtkWidget)

/* Signals:
 *   ::slot-activated (const char *staff_id, gint64 starts_at) — a click on an empty slot,
 *     rounded down to the quarter hour.
 *   ::appointment-activated (GObject *item) — a click on a block; vd_day_view_popup_menu
 *     can then point a menu at it. */

GtkWidget  *vd_day_view_new             (void);
/* A GListModel of appointment items (properties id, staff-id, pet-name, client-name,
 * kind, status, starts-at, ends-at, pet-allergies, …) for the shown day. */
void        vd_day_view_set_appointments (VdDayView  *self,
                                          GListModel *appointments);
/* A GListModel of staff items (id, name, role, color, active). */
void        vd_day_view_set_staff        (VdDayView  *self,
                                          GListModel *staff);
void        vd_day_view_set_time_zone    (VdDayView  *self,
                                          GTimeZone  *zone);
void        vd_day_view_set_date         (VdDayView  *self,
                                          int         year,
                                          int         month,
                                          int         day);
void        vd_day_view_get_date         (VdDayView  *self,
                                          int        *year,
                                          int        *month,
                                          int        *day);
/* Scrolls so that the given minute of the day (wall clock) is near the top. */
void        vd_day_view_scroll_to_minute (VdDayView  *self,
                                          int         minute);
/* Shows a popover menu pointing at the block of appointment_id. */
void        vd_day_view_popup_menu       (VdDayView  *self,
                                          const char *appointment_id,
                                          GMenuModel *menu);

/* For tests and accessibility: the staff ids of the columns, in order, and where a block
 * is drawn (widget coordinates; FALSE when that appointment is not shown). */
GStrv       vd_day_view_dup_column_ids   (VdDayView  *self);
gboolean    vd_day_view_get_block_area   (VdDayView       *self,
                                          const char      *appointment_id,
                                          graphene_rect_t *out_rect);
/* What a click at (x, y) hits: an appointment id (out_appointment_id) or an empty slot
 * (out_staff_id and out_starts_at). FALSE outside the grid. */
gboolean    vd_day_view_pick             (VdDayView  *self,
                                          double      x,
                                          double      y,
                                          char      **out_appointment_id,
                                          char      **out_staff_id,
                                          gint64     *out_starts_at);

/* For the contrast test: what the drawing puts on what in the style in effect now (dark,
 * high contrast), every colour made opaque over its background; min_ratio is 4.5 for
 * text and 3 for marks that carry meaning. An array of VdDayViewContrastPair. */
typedef struct
{
  char    *what;
  GdkRGBA  fg;
  GdkRGBA  bg;
  double   min_ratio;
} VdDayViewContrastPair;

GArray     *vd_day_view_dup_contrast_pairs (VdDayView *self);
/* The appointments model set with vd_day_view_set_appointments (may be NULL). */
GListModel *vd_day_view_get_appointments   (VdDayView *self);

/* Labels and colours shared by the day view, the legend and the editor. */
const char *vd_appointment_kind_label    (const char *kind);
const char *vd_appointment_kind_color    (const char *kind);
const char *vd_appointment_status_label  (const char *status);
const char * const *vd_appointment_kinds (void);

G_END_DECLS
