/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-day-view.c — the day grid. Layout (columns, lanes for overlapping blocks, block
 * rectangles, their text) is computed once per model change or width change and cached;
 * a frame only draws what lies in the visible part, so hundreds of appointments a day
 * scroll smoothly. Times are placed by their wall clock in the clinic's zone. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "vd-day-view.h"
#include "vd-rules.h"
#include "vd-time.h"

#define HEADER_HEIGHT   52
#define GUTTER_WIDTH    60
#define HOUR_HEIGHT     96
#define MIN_COLUMN      150
#define BLOCK_MARGIN    2
#define STRIPE_WIDTH    4
#define DEFAULT_START   8
#define DEFAULT_END     21

typedef struct
{
  GObject         *item;
  char            *id;
  char            *staff_id;
  char            *kind;
  char            *status;
  char            *line_one;    /* pet and allergy marker, markup */
  char            *line_two;    /* client, escaped */
  char            *line_three;  /* status and times, escaped */
  char            *tooltip;
  gint64           starts_at;
  gint64           ends_at;
  int              start_min;   /* wall-clock minutes since the day's midnight */
  int              end_min;
  guint            column;
  guint            lane;
  guint            n_lanes;
  graphene_rect_t  rect;        /* content coordinates (grid origin at 0,0) */
  PangoLayout     *layout;      /* cached for the rect's width */
} Block;

typedef struct
{
  char *staff_id;
  char *name;
  char *role;
  char *color;
} Column;

struct _VdDayView
{
  GtkWidget       parent_instance;

  GListModel     *appointments;
  GListModel     *staff;
  GTimeZone      *zone;
  int             year, month, day;

  GtkAdjustment  *hadjustment;
  GtkAdjustment  *vadjustment;
  guint           hscroll_policy : 1;
  guint           vscroll_policy : 1;
  guint           layout_dirty : 1;

  GArray         *columns;      /* of Column */
  GPtrArray      *blocks;       /* of Block*, in drawing order */
  int             first_hour;
  int             last_hour;
  double          column_width;
  double          laid_out_width;

  GtkWidget      *popover;
  guint           now_timer;
};

static void vd_day_view_scrollable_init (GtkScrollableInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (VdDayView, vd_day_view, GTK_TYPE_WIDGET,
                               G_IMPLEMENT_INTERFACE (GTK_TYPE_SCROLLABLE, vd_day_view_scrollable_init))

enum
{
  PROP_0,
  PROP_HADJUSTMENT,
  PROP_VADJUSTMENT,
  PROP_HSCROLL_POLICY,
  PROP_VSCROLL_POLICY,
  N_PROPS
};

enum
{
  SLOT_ACTIVATED,
  APPOINTMENT_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* ---- labels and palette ---- */

/* The labels are the registry's (vd_enum_label); the colours are the day view's own. */
static const struct
{
  const char *kind;
  const char *color;   /* the same values as the .kind-* classes in style.css */
} kinds[] = {
  { "consultation", "#3584e4" },
  { "vaccination",  "#2ec27e" },
  { "surgery",      "#e01b24" },
  { "grooming",     "#9141ac" },
  { "dental",       "#e66100" },
  { "follow_up",    "#c88800" },
  { "other",        "#77767b" },
};

const char * const *
vd_appointment_kinds (void)
{
  return vd_enum_values ("appointments", "kind");
}

const char *
vd_appointment_kind_label (const char *kind)
{
  return vd_enum_label ("appointments", "kind", kind);
}

const char *
vd_appointment_kind_color (const char *kind)
{
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_strcmp0 (kind, kinds[i].kind) == 0)
      return kinds[i].color;
  return "#77767b";
}

const char *
vd_appointment_status_label (const char *status)
{
  return vd_enum_label ("appointments", "status", status);
}

/* Opening hours until clinic settings carry them (a later issue): Monday to Friday
 * 09:00–20:00, Saturday 10:00–14:00, closed on Sunday. Minutes of the day. */
static gboolean
opening_hours (int  weekday,
               int *open_min,
               int *close_min)
{
  if (weekday >= 1 && weekday <= 5)
    {
      *open_min = 9 * 60;
      *close_min = 20 * 60;
      return TRUE;
    }
  if (weekday == 6)
    {
      *open_min = 10 * 60;
      *close_min = 14 * 60;
      return TRUE;
    }
  return FALSE;
}

/* ---- layout ---- */

static void
block_free (Block *block)
{
  g_clear_object (&block->item);
  g_free (block->id);
  g_free (block->staff_id);
  g_free (block->kind);
  g_free (block->status);
  g_free (block->line_one);
  g_free (block->line_two);
  g_free (block->line_three);
  g_free (block->tooltip);
  g_clear_object (&block->layout);
  g_free (block);
}

static void
column_clear (Column *column)
{
  g_free (column->staff_id);
  g_free (column->name);
  g_free (column->role);
  g_free (column->color);
}

static GTimeZone *
get_zone (VdDayView *self)
{
  if (self->zone == NULL)
    self->zone = g_time_zone_new_utc ();
  return self->zone;
}

static void
day_bounds (VdDayView *self,
            gint64    *start,
            gint64    *end)
{
  vd_time_day_bounds (get_zone (self), self->year, self->month, self->day, start, end);
}

/* Wall-clock minutes since the shown day's midnight; instants before the day give 0 and
 * after it 24 h, so a block crossing midnight is cut at the edge of the grid. */
static int
minute_of_day (VdDayView *self,
               gint64     instant,
               gint64     day_start,
               gint64     day_end)
{
  g_autoptr(GDateTime) local = NULL;

  if (instant <= day_start)
    return 0;
  if (instant >= day_end)
    return 24 * 60;

  local = vd_time_to_zone (instant, get_zone (self));
  return g_date_time_get_hour (local) * 60 + g_date_time_get_minute (local);
}

static guint
find_column (VdDayView  *self,
             const char *staff_id)
{
  for (guint i = 0; i < self->columns->len; i++)
    if (g_strcmp0 (g_array_index (self->columns, Column, i).staff_id, staff_id) == 0)
      return i;
  return G_MAXUINT;
}

static char *
format_minute (int minute)
{
  return g_strdup_printf ("%02d:%02d", (minute / 60) % 24, minute % 60);
}

static int
compare_blocks (gconstpointer a,
                gconstpointer b)
{
  const Block *x = *(const Block * const *) a;
  const Block *y = *(const Block * const *) b;

  if (x->column != y->column)
    return x->column < y->column ? -1 : 1;
  if (x->start_min != y->start_min)
    return x->start_min < y->start_min ? -1 : 1;
  if (x->end_min != y->end_min)
    return x->end_min > y->end_min ? -1 : 1;
  return g_strcmp0 (x->id, y->id);
}

static Block *
block_from_item (VdDayView *self,
                 GObject   *item,
                 gint64     day_start,
                 gint64     day_end)
{
  Block *block = g_new0 (Block, 1);
  g_autofree char *pet = NULL;
  g_autofree char *client = NULL;
  g_autofree char *allergies = NULL;
  g_autofree char *staff_name = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *pet_e = NULL;
  g_autofree char *client_e = NULL;
  g_autofree char *allergies_e = NULL;
  g_autofree char *reason_e = NULL;
  gboolean has_allergies;

  block->item = g_object_ref (item);
  g_object_get (item,
                "id", &block->id,
                "staff-id", &block->staff_id,
                "kind", &block->kind,
                "status", &block->status,
                "starts-at", &block->starts_at,
                "ends-at", &block->ends_at,
                "pet-name", &pet,
                "client-name", &client,
                "pet-allergies", &allergies,
                "staff-name", &staff_name,
                "reason", &reason,
                NULL);

  block->start_min = minute_of_day (self, block->starts_at, day_start, day_end);
  block->end_min = minute_of_day (self, block->ends_at, day_start, day_end);
  /* A block stays clickable even when its times are odd (zero length, reversed). */
  if (block->end_min < block->start_min + 10)
    block->end_min = MIN (block->start_min + 10, 24 * 60);

  has_allergies = allergies != NULL && *g_strstrip (allergies) != '\0';
  from = format_minute (block->start_min);
  to = format_minute (block->end_min);
  pet_e = g_markup_escape_text (pet ? pet : _("Unknown pet"), -1);
  client_e = g_markup_escape_text (client ? client : "", -1);

  block->line_one = g_strdup_printf ("<b>%s</b>%s", pet_e,
                                     has_allergies ? " <span foreground=\"#e01b24\" weight=\"bold\">⚠</span>" : "");
  block->line_two = g_strdup (client_e);
  block->line_three = g_markup_printf_escaped ("%s · %s–%s", vd_appointment_status_label (block->status),
                                               from, to);

  allergies_e = has_allergies ? g_markup_escape_text (allergies, -1) : NULL;
  reason_e = reason && *reason ? g_markup_escape_text (reason, -1) : NULL;
  block->tooltip = g_strdup_printf ("<b>%s</b> — %s\n%s–%s · %s · %s%s%s%s%s",
                                    pet_e, client_e, from, to,
                                    vd_appointment_kind_label (block->kind),
                                    vd_appointment_status_label (block->status),
                                    reason_e ? "\n" : "", reason_e ? reason_e : "",
                                    allergies_e ? "\n⚠ " : "", allergies_e ? allergies_e : "");
  return block;
}

static void
rebuild (VdDayView *self)
{
  gint64 day_start, day_end;
  guint n;
  int first_min = DEFAULT_START * 60;
  int last_min = DEFAULT_END * 60;

  g_ptr_array_set_size (self->blocks, 0);
  g_array_set_size (self->columns, 0);
  day_bounds (self, &day_start, &day_end);

  /* Columns: bookable, active staff in the model's order … */
  n = self->staff ? g_list_model_get_n_items (self->staff) : 0;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (self->staff, i);
      Column column = { 0 };
      gboolean active = FALSE;

      g_object_get (item, "id", &column.staff_id, "name", &column.name, "role", &column.role,
                    "color", &column.color, "active", &active, NULL);
      if (active && vd_rules_role_takes_appointments (column.role))
        g_array_append_val (self->columns, column);
      else
        column_clear (&column);
    }

  n = self->appointments ? g_list_model_get_n_items (self->appointments) : 0;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (self->appointments, i);
      Block *block = block_from_item (self, item, day_start, day_end);

      /* … plus anyone who has appointments that day (a manager, someone made inactive). */
      block->column = find_column (self, block->staff_id);
      if (block->column == G_MAXUINT)
        {
          Column column = { 0 };

          column.staff_id = g_strdup (block->staff_id);
          for (guint j = 0; self->staff && j < g_list_model_get_n_items (self->staff); j++)
            {
              g_autoptr(GObject) staff = g_list_model_get_item (self->staff, j);
              g_autofree char *id = NULL;

              g_object_get (staff, "id", &id, NULL);
              if (g_strcmp0 (id, block->staff_id) == 0)
                {
                  g_object_get (staff, "name", &column.name, "role", &column.role,
                                "color", &column.color, NULL);
                  break;
                }
            }
          if (column.name == NULL)
            g_object_get (item, "staff-name", &column.name, NULL);
          if (column.name == NULL || *column.name == '\0')
            {
              g_free (column.name);
              column.name = g_strdup (_("Unknown staff member"));
            }
          g_array_append_val (self->columns, column);
          block->column = self->columns->len - 1;
        }

      first_min = MIN (first_min, block->start_min);
      last_min = MAX (last_min, block->end_min);
      g_ptr_array_add (self->blocks, block);
    }

  self->first_hour = first_min / 60;
  self->last_hour = MIN ((last_min + 59) / 60, 24);

  /* Lanes: overlapping blocks of one column share its width side by side. A cluster is
   * a run of blocks that overlap transitively; each takes the first free lane. */
  g_ptr_array_sort (self->blocks, compare_blocks);
  for (guint i = 0; i < self->blocks->len;)
    {
      guint j = i;
      guint n_lanes = 0;
      int cluster_end = -1;
      g_autoptr(GArray) lane_end = g_array_new (FALSE, TRUE, sizeof (int));

      for (; j < self->blocks->len; j++)
        {
          Block *b = g_ptr_array_index (self->blocks, j);
          guint lane;

          if (j > i && (b->column != ((Block *) g_ptr_array_index (self->blocks, i))->column ||
                        b->start_min >= cluster_end))
            break;
          for (lane = 0; lane < lane_end->len; lane++)
            if (g_array_index (lane_end, int, lane) <= b->start_min)
              break;
          if (lane == lane_end->len)
            g_array_set_size (lane_end, lane + 1);
          g_array_index (lane_end, int, lane) = b->end_min;
          b->lane = lane;
          n_lanes = MAX (n_lanes, lane + 1);
          cluster_end = MAX (cluster_end, b->end_min);
        }
      for (guint k = i; k < j; k++)
        ((Block *) g_ptr_array_index (self->blocks, k))->n_lanes = n_lanes;
      i = j;
    }

  self->laid_out_width = -1;
  self->layout_dirty = FALSE;
}

static double
grid_height (VdDayView *self)
{
  return (self->last_hour - self->first_hour) * HOUR_HEIGHT;
}

static double
y_of_minute (VdDayView *self,
             int        minute)
{
  return (minute - self->first_hour * 60) * (double) HOUR_HEIGHT / 60.0;
}

/* Rectangles depend on the width; text layouts on the rectangles. */
static void
place_blocks (VdDayView *self,
              double     width)
{
  guint n_columns = MAX (self->columns->len, 1);

  self->column_width = MAX (MIN_COLUMN, floor ((width - GUTTER_WIDTH) / n_columns));
  if (self->laid_out_width == self->column_width)
    return;

  for (guint i = 0; i < self->blocks->len; i++)
    {
      Block *b = g_ptr_array_index (self->blocks, i);
      double lane_w = (self->column_width - 2 * BLOCK_MARGIN) / b->n_lanes;
      double x = b->column * self->column_width + BLOCK_MARGIN + b->lane * lane_w;
      double y = y_of_minute (self, b->start_min) + 1;
      double h = MAX (y_of_minute (self, b->end_min) - y - 1, 14);

      graphene_rect_init (&b->rect, x, y, MAX (lane_w - BLOCK_MARGIN, 8), h);
      g_clear_object (&b->layout);
    }
  self->laid_out_width = self->column_width;
}

static void
ensure_layout (VdDayView *self)
{
  if (self->layout_dirty)
    rebuild (self);
  place_blocks (self, gtk_widget_get_width (GTK_WIDGET (self)));
}

/* ---- scrolling ---- */

static void
adjustment_changed_cb (VdDayView *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
set_adjustment (VdDayView      *self,
                GtkAdjustment **slot,
                GtkAdjustment  *adjustment,
                guint           prop_id)
{
  if (adjustment != NULL && *slot == adjustment)
    return;

  if (*slot != NULL)
    g_signal_handlers_disconnect_by_func (*slot, adjustment_changed_cb, self);
  g_clear_object (slot);
  /* Adjustments are floating when new: sink so the view holds a real reference. */
  if (adjustment == NULL)
    adjustment = gtk_adjustment_new (0, 0, 0, 0, 0, 0);
  *slot = g_object_ref_sink (adjustment);
  g_signal_connect_object (adjustment, "value-changed", G_CALLBACK (adjustment_changed_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_widget_queue_allocate (GTK_WIDGET (self));
  g_object_notify (G_OBJECT (self), prop_id == PROP_HADJUSTMENT ? "hadjustment" : "vadjustment");
}

static void
configure_adjustment (GtkAdjustment *adjustment,
                      double         content,
                      double         viewport)
{
  double value = gtk_adjustment_get_value (adjustment);

  viewport = MAX (viewport, 0);
  value = CLAMP (value, 0, MAX (content - viewport, 0));
  gtk_adjustment_configure (adjustment, value, 0, MAX (content, viewport),
                            viewport * 0.1, viewport * 0.9, viewport);
}

static void
vd_day_view_size_allocate (GtkWidget *widget,
                           int        width,
                           int        height,
                           int        baseline)
{
  VdDayView *self = VD_DAY_VIEW (widget);

  if (self->layout_dirty)
    rebuild (self);
  place_blocks (self, width);

  configure_adjustment (self->hadjustment, self->column_width * MAX (self->columns->len, 1),
                        width - GUTTER_WIDTH);
  configure_adjustment (self->vadjustment, grid_height (self), height - HEADER_HEIGHT);

  if (self->popover != NULL)
    gtk_popover_present (GTK_POPOVER (self->popover));
}

static void
vd_day_view_measure (GtkWidget      *widget,
                     GtkOrientation  orientation,
                     int             for_size,
                     int            *minimum,
                     int            *natural,
                     int            *minimum_baseline,
                     int            *natural_baseline)
{
  VdDayView *self = VD_DAY_VIEW (widget);

  if (self->layout_dirty)
    rebuild (self);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = GUTTER_WIDTH + MIN_COLUMN;
      *natural = GUTTER_WIDTH + MIN_COLUMN * MAX (self->columns->len, 1);
    }
  else
    {
      *minimum = HEADER_HEIGHT + HOUR_HEIGHT * 2;
      *natural = HEADER_HEIGHT + (int) grid_height (self);
    }
}

/* ---- drawing ---- */

static gboolean
is_dark (void)
{
  return adw_style_manager_get_dark (adw_style_manager_get_default ());
}

static void
fg_color (GdkRGBA *rgba,
          float    alpha)
{
  if (is_dark ())
    *rgba = (GdkRGBA) { 1, 1, 1, alpha };
  else
    *rgba = (GdkRGBA) { 0, 0, 0, alpha };
}

static void
fill (GtkSnapshot *snapshot,
      const GdkRGBA *color,
      double x, double y, double w, double h)
{
  gtk_snapshot_append_color (snapshot, color, &GRAPHENE_RECT_INIT (x, y, w, h));
}

static gboolean
showing_today (VdDayView *self,
               gint64    *now)
{
  gint64 start, end;

  *now = g_get_real_time () / G_USEC_PER_SEC;
  day_bounds (self, &start, &end);
  return *now >= start && *now < end;
}

static int
weekday (VdDayView *self)
{
  g_autoptr(GDate) date = g_date_new_dmy (self->day, self->month, self->year);

  return g_date_get_weekday (date);   /* 1 = Monday … 7 = Sunday */
}

static void
draw_block (VdDayView   *self,
            GtkSnapshot *snapshot,
            Block       *b)
{
  GskRoundedRect rounded;
  GdkRGBA kind_color, tint, text;
  gboolean faded = !vd_rules_status_is_active (b->status);
  gboolean done = g_strcmp0 (b->status, "completed") == 0;

  gdk_rgba_parse (&kind_color, vd_appointment_kind_color (b->kind));
  tint = kind_color;
  tint.alpha = is_dark () ? 0.38 : 0.22;
  fg_color (&text, 0.9);

  if (faded || done)
    gtk_snapshot_push_opacity (snapshot, faded ? 0.45 : 0.7);

  gsk_rounded_rect_init_from_rect (&rounded, &b->rect, 6);
  gtk_snapshot_push_rounded_clip (snapshot, &rounded);
  gtk_snapshot_append_color (snapshot, &tint, &b->rect);
  fill (snapshot, &kind_color, b->rect.origin.x, b->rect.origin.y, STRIPE_WIDTH, b->rect.size.height);

  if (b->layout == NULL)
    {
      g_autofree char *markup = NULL;
      int line_height;
      int lines;

      b->layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), "X");
      pango_layout_get_pixel_size (b->layout, NULL, &line_height);
      lines = (int) ((b->rect.size.height - 4) / MAX (line_height, 1));

      /* As much as the block's height shows: a short visit keeps pet, client and status
       * on one line rather than losing the client to the ellipsis. */
      if (lines <= 1)
        markup = g_strdup_printf ("%s  <small>%s · %s</small>", b->line_one, b->line_two,
                                  vd_appointment_status_label (b->status));
      else if (lines == 2)
        markup = g_strdup_printf ("%s  <small>%s</small>\n<small>%s</small>", b->line_one,
                                  vd_appointment_status_label (b->status), b->line_two);
      else
        markup = g_strdup_printf ("%s\n%s\n<small>%s</small>", b->line_one, b->line_two,
                                  b->line_three);
      pango_layout_set_markup (b->layout, markup, -1);
      pango_layout_set_ellipsize (b->layout, PANGO_ELLIPSIZE_END);
      pango_layout_set_width (b->layout, (int) ((b->rect.size.width - STRIPE_WIDTH - 8) * PANGO_SCALE));
      pango_layout_set_height (b->layout, (int) ((b->rect.size.height - 4) * PANGO_SCALE));
    }

  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (b->rect.origin.x + STRIPE_WIDTH + 5,
                                                          b->rect.origin.y + 2));
  gtk_snapshot_append_layout (snapshot, b->layout, &text);
  gtk_snapshot_restore (snapshot);
  gtk_snapshot_pop (snapshot);

  if (faded || done)
    gtk_snapshot_pop (snapshot);
}

static void
vd_day_view_snapshot (GtkWidget   *widget,
                      GtkSnapshot *snapshot)
{
  VdDayView *self = VD_DAY_VIEW (widget);
  double width = gtk_widget_get_width (widget);
  double height = gtk_widget_get_height (widget);
  double hval, vval, body_w, body_h, grid_w, grid_h;
  GdkRGBA line, faint, closed, now_color;
  int open_min = 0, close_min = 0;
  gboolean open;
  gint64 now;
  g_autoptr(PangoLayout) layout = NULL;

  ensure_layout (self);

  hval = gtk_adjustment_get_value (self->hadjustment);
  vval = gtk_adjustment_get_value (self->vadjustment);
  body_w = width - GUTTER_WIDTH;
  body_h = height - HEADER_HEIGHT;
  grid_w = self->column_width * MAX (self->columns->len, 1);
  grid_h = grid_height (self);
  fg_color (&line, 0.15);
  fg_color (&faint, 0.06);
  fg_color (&closed, is_dark () ? 0.10 : 0.05);
  gdk_rgba_parse (&now_color, "#e01b24");
  open = opening_hours (weekday (self), &open_min, &close_min);

  /* The body: closed hours shaded, hour lines, columns, blocks, now. */
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (GUTTER_WIDTH, HEADER_HEIGHT, body_w, body_h));
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (GUTTER_WIDTH - hval, HEADER_HEIGHT - vval));

  if (!open)
    fill (snapshot, &closed, 0, 0, grid_w, grid_h);
  else
    {
      double open_y = CLAMP (y_of_minute (self, open_min), 0, grid_h);
      double close_y = CLAMP (y_of_minute (self, close_min), 0, grid_h);

      fill (snapshot, &closed, 0, 0, grid_w, open_y);
      fill (snapshot, &closed, 0, close_y, grid_w, grid_h - close_y);
    }

  for (int hour = self->first_hour; hour <= self->last_hour; hour++)
    {
      double y = y_of_minute (self, hour * 60);

      if (y < vval - HOUR_HEIGHT || y > vval + body_h + HOUR_HEIGHT)
        continue;
      fill (snapshot, &line, 0, y, grid_w, 1);
      if (hour < self->last_hour)
        fill (snapshot, &faint, 0, y + HOUR_HEIGHT / 2.0, grid_w, 1);
    }
  for (guint c = 1; c < self->columns->len; c++)
    fill (snapshot, &line, c * self->column_width, 0, 1, grid_h);

  for (guint i = 0; i < self->blocks->len; i++)
    {
      Block *b = g_ptr_array_index (self->blocks, i);

      if (b->rect.origin.y > vval + body_h || b->rect.origin.y + b->rect.size.height < vval ||
          b->rect.origin.x > hval + body_w || b->rect.origin.x + b->rect.size.width < hval)
        continue;
      draw_block (self, snapshot, b);
    }

  if (showing_today (self, &now))
    {
      g_autoptr(GDateTime) local = vd_time_to_zone (now, get_zone (self));
      int minute = g_date_time_get_hour (local) * 60 + g_date_time_get_minute (local);
      double y = y_of_minute (self, minute);

      if (y >= 0 && y <= grid_h)
        {
          GskRoundedRect dot;

          fill (snapshot, &now_color, 0, y - 1, grid_w, 2);
          gsk_rounded_rect_init_from_rect (&dot, &GRAPHENE_RECT_INIT (-5 + hval, y - 5, 10, 10), 5);
          gtk_snapshot_push_rounded_clip (snapshot, &dot);
          gtk_snapshot_append_color (snapshot, &now_color, &dot.bounds);
          gtk_snapshot_pop (snapshot);
        }
    }

  gtk_snapshot_restore (snapshot);
  gtk_snapshot_pop (snapshot);

  /* The hour gutter scrolls vertically only. */
  layout = gtk_widget_create_pango_layout (widget, NULL);
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, HEADER_HEIGHT, GUTTER_WIDTH, body_h));
  for (int hour = self->first_hour; hour < self->last_hour; hour++)
    {
      char text[8];
      double y = HEADER_HEIGHT + y_of_minute (self, hour * 60) - vval;
      GdkRGBA label;

      if (y < HEADER_HEIGHT - HOUR_HEIGHT || y > height)
        continue;
      g_snprintf (text, sizeof text, "%02d:00", hour);
      pango_layout_set_text (layout, text, -1);
      fg_color (&label, 0.55);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (10, y + 3));
      gtk_snapshot_append_layout (snapshot, layout, &label);
      gtk_snapshot_restore (snapshot);
    }
  gtk_snapshot_pop (snapshot);
  fill (snapshot, &line, GUTTER_WIDTH - 1, HEADER_HEIGHT, 1, body_h);

  /* The staff header scrolls horizontally only. */
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (GUTTER_WIDTH, 0, body_w, HEADER_HEIGHT));
  for (guint c = 0; c < self->columns->len; c++)
    {
      Column *column = &g_array_index (self->columns, Column, c);
      double x = GUTTER_WIDTH + c * self->column_width - hval;
      g_autofree char *name = g_markup_escape_text (column->name ? column->name : "", -1);
      g_autofree char *markup = g_strdup_printf ("<b>%s</b>\n<small>%s</small>", name, vd_enum_label ("staff", "role", column->role));
      GdkRGBA stripe, label;

      if (x + self->column_width < GUTTER_WIDTH || x > width)
        continue;
      if (column->color == NULL || !gdk_rgba_parse (&stripe, column->color))
        fg_color (&stripe, 0.3);
      fill (snapshot, &stripe, x + 8, 10, 4, HEADER_HEIGHT - 20);
      pango_layout_set_markup (layout, markup, -1);
      pango_layout_set_width (layout, (int) ((self->column_width - 28) * PANGO_SCALE));
      pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
      fg_color (&label, 0.9);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x + 18, 8));
      gtk_snapshot_append_layout (snapshot, layout, &label);
      gtk_snapshot_restore (snapshot);
      if (c > 0)
        fill (snapshot, &line, x, 0, 1, HEADER_HEIGHT);
    }
  gtk_snapshot_pop (snapshot);
  fill (snapshot, &line, 0, HEADER_HEIGHT - 1, width, 1);

  if (self->columns->len == 0)
    {
      GdkRGBA label;

      pango_layout_set_width (layout, (int) ((body_w - 24) * PANGO_SCALE));
      pango_layout_set_text (layout, _("No veterinarians, groomers or technicians yet. Staff appear here once they are synced."), -1);
      fg_color (&label, 0.55);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (GUTTER_WIDTH + 12, 16));
      gtk_snapshot_append_layout (snapshot, layout, &label);
      gtk_snapshot_restore (snapshot);
    }

  if (self->popover != NULL)
    gtk_widget_snapshot_child (widget, self->popover, snapshot);
}

/* ---- hit testing ---- */

static Block *
find_block (VdDayView  *self,
            const char *id)
{
  for (guint i = 0; i < self->blocks->len; i++)
    {
      Block *b = g_ptr_array_index (self->blocks, i);

      if (g_strcmp0 (b->id, id) == 0)
        return b;
    }
  return NULL;
}

static Block *
block_at (VdDayView *self,
          double     x,
          double     y)
{
  double cx = x - GUTTER_WIDTH + gtk_adjustment_get_value (self->hadjustment);
  double cy = y - HEADER_HEIGHT + gtk_adjustment_get_value (self->vadjustment);

  /* Later blocks are drawn on top, so they win. */
  for (guint i = self->blocks->len; i > 0; i--)
    {
      Block *b = g_ptr_array_index (self->blocks, i - 1);

      if (graphene_rect_contains_point (&b->rect, &GRAPHENE_POINT_INIT (cx, cy)))
        return b;
    }
  return NULL;
}

gboolean
vd_day_view_pick (VdDayView  *self,
                  double      x,
                  double      y,
                  char      **out_appointment_id,
                  char      **out_staff_id,
                  gint64     *out_starts_at)
{
  Block *block;
  double cx, cy;
  guint column;
  int minute;

  g_return_val_if_fail (VD_IS_DAY_VIEW (self), FALSE);

  if (out_appointment_id)
    *out_appointment_id = NULL;
  if (out_staff_id)
    *out_staff_id = NULL;
  if (out_starts_at)
    *out_starts_at = 0;

  ensure_layout (self);
  if (x < GUTTER_WIDTH || y < HEADER_HEIGHT)
    return FALSE;

  block = block_at (self, x, y);
  if (block != NULL)
    {
      if (out_appointment_id)
        *out_appointment_id = g_strdup (block->id);
      return TRUE;
    }

  cx = x - GUTTER_WIDTH + gtk_adjustment_get_value (self->hadjustment);
  cy = y - HEADER_HEIGHT + gtk_adjustment_get_value (self->vadjustment);
  column = (guint) (cx / self->column_width);
  if (column >= self->columns->len || cy < 0 || cy >= grid_height (self))
    return FALSE;

  minute = self->first_hour * 60 + (int) (cy * 60.0 / HOUR_HEIGHT);
  minute -= minute % 15;
  if (out_staff_id)
    *out_staff_id = g_strdup (g_array_index (self->columns, Column, column).staff_id);
  if (out_starts_at)
    *out_starts_at = vd_time_from_zone (get_zone (self), self->year, self->month, self->day,
                                        minute / 60, minute % 60, 0);
  return TRUE;
}

static void
click_released_cb (GtkGestureClick *gesture,
                   int              n_press,
                   double           x,
                   double           y,
                   VdDayView       *self)
{
  g_autofree char *appointment_id = NULL;
  g_autofree char *staff_id = NULL;
  gint64 starts_at = 0;

  if (n_press != 1)
    return;
  if (!vd_day_view_pick (self, x, y, &appointment_id, &staff_id, &starts_at))
    return;

  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  if (appointment_id != NULL)
    {
      Block *block = find_block (self, appointment_id);

      g_signal_emit (self, signals[APPOINTMENT_ACTIVATED], 0, block->item);
    }
  else
    g_signal_emit (self, signals[SLOT_ACTIVATED], 0, staff_id, starts_at);
}

static gboolean
vd_day_view_query_tooltip (GtkWidget  *widget,
                           int         x,
                           int         y,
                           gboolean    keyboard,
                           GtkTooltip *tooltip)
{
  VdDayView *self = VD_DAY_VIEW (widget);
  Block *block;

  if (keyboard || x < GUTTER_WIDTH || y < HEADER_HEIGHT)
    return FALSE;
  ensure_layout (self);
  block = block_at (self, x, y);
  if (block == NULL)
    return FALSE;
  gtk_tooltip_set_markup (tooltip, block->tooltip);
  return TRUE;
}

gboolean
vd_day_view_get_block_area (VdDayView       *self,
                            const char      *appointment_id,
                            graphene_rect_t *out_rect)
{
  Block *block;

  g_return_val_if_fail (VD_IS_DAY_VIEW (self), FALSE);

  ensure_layout (self);
  block = find_block (self, appointment_id);
  if (block == NULL)
    return FALSE;

  graphene_rect_init (out_rect,
                      block->rect.origin.x + GUTTER_WIDTH - gtk_adjustment_get_value (self->hadjustment),
                      block->rect.origin.y + HEADER_HEIGHT - gtk_adjustment_get_value (self->vadjustment),
                      block->rect.size.width, block->rect.size.height);
  return TRUE;
}

GStrv
vd_day_view_dup_column_ids (VdDayView *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (VD_IS_DAY_VIEW (self), NULL);

  ensure_layout (self);
  for (guint i = 0; i < self->columns->len; i++)
    g_strv_builder_add (builder, g_array_index (self->columns, Column, i).staff_id);
  return g_strv_builder_end (builder);
}

void
vd_day_view_popup_menu (VdDayView  *self,
                        const char *appointment_id,
                        GMenuModel *menu)
{
  graphene_rect_t area;
  GdkRectangle rect;

  g_return_if_fail (VD_IS_DAY_VIEW (self));
  g_return_if_fail (G_IS_MENU_MODEL (menu));

  if (!vd_day_view_get_block_area (self, appointment_id, &area))
    return;

  if (self->popover == NULL)
    {
      self->popover = gtk_popover_menu_new_from_model (NULL);
      gtk_widget_set_parent (self->popover, GTK_WIDGET (self));
      gtk_popover_set_position (GTK_POPOVER (self->popover), GTK_POS_RIGHT);
    }
  gtk_popover_menu_set_menu_model (GTK_POPOVER_MENU (self->popover), menu);

  /* Point at the visible part of the block. */
  rect.x = (int) MAX (area.origin.x, GUTTER_WIDTH);
  rect.y = (int) MAX (area.origin.y, HEADER_HEIGHT);
  rect.width = (int) MAX (area.size.width, 1);
  rect.height = (int) MAX (MIN (area.size.height, gtk_widget_get_height (GTK_WIDGET (self)) - rect.y), 1);
  gtk_popover_set_pointing_to (GTK_POPOVER (self->popover), &rect);
  gtk_popover_popup (GTK_POPOVER (self->popover));
}

/* ---- models and properties ---- */

static void
model_changed_cb (VdDayView *self)
{
  self->layout_dirty = TRUE;
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

static void
set_model (VdDayView   *self,
           GListModel **slot,
           GListModel  *model)
{
  if (*slot == model)
    return;
  if (*slot != NULL)
    g_signal_handlers_disconnect_by_func (*slot, model_changed_cb, self);
  g_set_object (slot, model);
  if (model != NULL)
    g_signal_connect_object (model, "items-changed", G_CALLBACK (model_changed_cb), self,
                             G_CONNECT_SWAPPED);
  model_changed_cb (self);
}

void
vd_day_view_set_appointments (VdDayView  *self,
                              GListModel *appointments)
{
  g_return_if_fail (VD_IS_DAY_VIEW (self));

  set_model (self, &self->appointments, appointments);
}

void
vd_day_view_set_staff (VdDayView  *self,
                       GListModel *staff)
{
  g_return_if_fail (VD_IS_DAY_VIEW (self));

  set_model (self, &self->staff, staff);
}

void
vd_day_view_set_time_zone (VdDayView *self,
                           GTimeZone *zone)
{
  g_return_if_fail (VD_IS_DAY_VIEW (self));

  if (self->zone == zone)
    return;
  g_clear_pointer (&self->zone, g_time_zone_unref);
  self->zone = zone ? g_time_zone_ref (zone) : NULL;
  model_changed_cb (self);
}

void
vd_day_view_set_date (VdDayView *self,
                      int        year,
                      int        month,
                      int        day)
{
  g_return_if_fail (VD_IS_DAY_VIEW (self));
  g_return_if_fail (g_date_valid_dmy (day, month, year));

  if (self->year == year && self->month == month && self->day == day)
    return;
  self->year = year;
  self->month = month;
  self->day = day;
  if (self->popover != NULL)
    gtk_popover_popdown (GTK_POPOVER (self->popover));
  model_changed_cb (self);
}

void
vd_day_view_get_date (VdDayView *self,
                      int       *year,
                      int       *month,
                      int       *day)
{
  g_return_if_fail (VD_IS_DAY_VIEW (self));

  *year = self->year;
  *month = self->month;
  *day = self->day;
}

void
vd_day_view_scroll_to_minute (VdDayView *self,
                              int        minute)
{
  g_return_if_fail (VD_IS_DAY_VIEW (self));

  ensure_layout (self);
  gtk_adjustment_set_value (self->vadjustment, MAX (y_of_minute (self, minute), 0));
}

GtkWidget *
vd_day_view_new (void)
{
  return g_object_new (VD_TYPE_DAY_VIEW, NULL);
}

static gboolean
now_tick_cb (gpointer user_data)
{
  VdDayView *self = user_data;
  gint64 now;

  if (showing_today (self, &now))
    gtk_widget_queue_draw (GTK_WIDGET (self));
  return G_SOURCE_CONTINUE;
}

static void
dark_changed_cb (VdDayView *self)
{
  self->laid_out_width = -1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
vd_day_view_scrollable_get_border (GtkScrollable *scrollable,
                                   GtkBorder     *border)
{
  /* The header and gutter stay put: scrolled windows place their undershoot below them. */
  border->top = HEADER_HEIGHT;
  border->left = GUTTER_WIDTH;
  return TRUE;
}

static void
vd_day_view_scrollable_init (GtkScrollableInterface *iface)
{
  iface->get_border = vd_day_view_scrollable_get_border;
}

static void
vd_day_view_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  VdDayView *self = VD_DAY_VIEW (object);

  switch (prop_id)
    {
    case PROP_HADJUSTMENT:
      g_value_set_object (value, self->hadjustment);
      break;
    case PROP_VADJUSTMENT:
      g_value_set_object (value, self->vadjustment);
      break;
    case PROP_HSCROLL_POLICY:
      g_value_set_enum (value, self->hscroll_policy);
      break;
    case PROP_VSCROLL_POLICY:
      g_value_set_enum (value, self->vscroll_policy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_day_view_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  VdDayView *self = VD_DAY_VIEW (object);

  switch (prop_id)
    {
    case PROP_HADJUSTMENT:
      set_adjustment (self, &self->hadjustment, g_value_get_object (value), prop_id);
      break;
    case PROP_VADJUSTMENT:
      set_adjustment (self, &self->vadjustment, g_value_get_object (value), prop_id);
      break;
    case PROP_HSCROLL_POLICY:
      if (self->hscroll_policy != (guint) g_value_get_enum (value))
        {
          self->hscroll_policy = g_value_get_enum (value);
          gtk_widget_queue_resize (GTK_WIDGET (self));
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_VSCROLL_POLICY:
      if (self->vscroll_policy != (guint) g_value_get_enum (value))
        {
          self->vscroll_policy = g_value_get_enum (value);
          gtk_widget_queue_resize (GTK_WIDGET (self));
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vd_day_view_dispose (GObject *object)
{
  VdDayView *self = VD_DAY_VIEW (object);

  g_clear_handle_id (&self->now_timer, g_source_remove);
  g_clear_pointer (&self->popover, gtk_widget_unparent);
  set_model (self, &self->appointments, NULL);
  set_model (self, &self->staff, NULL);
  if (self->hadjustment != NULL)
    g_signal_handlers_disconnect_by_func (self->hadjustment, adjustment_changed_cb, self);
  if (self->vadjustment != NULL)
    g_signal_handlers_disconnect_by_func (self->vadjustment, adjustment_changed_cb, self);
  g_clear_object (&self->hadjustment);
  g_clear_object (&self->vadjustment);

  G_OBJECT_CLASS (vd_day_view_parent_class)->dispose (object);
}

static void
vd_day_view_finalize (GObject *object)
{
  VdDayView *self = VD_DAY_VIEW (object);

  g_clear_pointer (&self->blocks, g_ptr_array_unref);
  g_clear_pointer (&self->columns, g_array_unref);
  g_clear_pointer (&self->zone, g_time_zone_unref);

  G_OBJECT_CLASS (vd_day_view_parent_class)->finalize (object);
}

static void
vd_day_view_class_init (VdDayViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = vd_day_view_dispose;
  object_class->finalize = vd_day_view_finalize;
  object_class->get_property = vd_day_view_get_property;
  object_class->set_property = vd_day_view_set_property;

  widget_class->measure = vd_day_view_measure;
  widget_class->size_allocate = vd_day_view_size_allocate;
  widget_class->snapshot = vd_day_view_snapshot;
  widget_class->query_tooltip = vd_day_view_query_tooltip;

  g_object_class_override_property (object_class, PROP_HADJUSTMENT, "hadjustment");
  g_object_class_override_property (object_class, PROP_VADJUSTMENT, "vadjustment");
  g_object_class_override_property (object_class, PROP_HSCROLL_POLICY, "hscroll-policy");
  g_object_class_override_property (object_class, PROP_VSCROLL_POLICY, "vscroll-policy");

  signals[SLOT_ACTIVATED] =
    g_signal_new ("slot-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_INT64);
  signals[APPOINTMENT_ACTIVATED] =
    g_signal_new ("appointment-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_OBJECT);

  gtk_widget_class_set_css_name (widget_class, "dayview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GRID);
}

static void
vd_day_view_init (VdDayView *self)
{
  GtkGesture *click;
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  self->blocks = g_ptr_array_new_with_free_func ((GDestroyNotify) block_free);
  self->columns = g_array_new (FALSE, TRUE, sizeof (Column));
  g_array_set_clear_func (self->columns, (GDestroyNotify) column_clear);
  self->first_hour = DEFAULT_START;
  self->last_hour = DEFAULT_END;
  self->year = g_date_time_get_year (now);
  self->month = g_date_time_get_month (now);
  self->day = g_date_time_get_day_of_month (now);
  self->layout_dirty = TRUE;
  self->laid_out_width = -1;

  set_adjustment (self, &self->hadjustment, NULL, PROP_HADJUSTMENT);
  set_adjustment (self, &self->vadjustment, NULL, PROP_VADJUSTMENT);

  click = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect (click, "released", G_CALLBACK (click_released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));

  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self), "view");
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);

  self->now_timer = g_timeout_add_seconds (30, now_tick_cb, self);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (dark_changed_cb), self, G_CONNECT_SWAPPED);
}
