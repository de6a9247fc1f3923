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

/* The smallest header, hour column and hour row; larger text makes them larger
 * (update_metrics). */
#define MIN_HEADER      52
#define MIN_GUTTER      60
#define MIN_HOUR        96
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
  char            *name;        /* what assistive technologies read */
  char            *description; /* the reason, which the name leaves out */
  gint64           starts_at;
  gint64           ends_at;
  int              start_min;   /* wall-clock minutes since the day's midnight */
  int              end_min;
  guint            index;       /* in blocks, and of its cell in block_cells */
  guint            column;
  guint            lane;
  guint            n_lanes;
  guint            double_booked : 1;  /* overlaps another active block of its column */
  guint            inactive : 1;       /* cancelled or no-show */
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

  /* Sizes from the font (update_metrics). */
  int             header_height;
  int             gutter_width;
  int             hour_height;
  guint           metrics_dirty : 1;
  PangoFontDescription *font;   /* the one the metrics are for */

  /* Accessible objects: one cell per block (same index as blocks), one per column and
   * per hour as headers, and two cells taking turns for the free slot under the keyboard
   * cursor (each move is a focus change a screen reader announces). */
  GPtrArray      *block_cells;
  GPtrArray      *column_cells;
  GPtrArray      *hour_cells;
  GtkWidget      *slot_cells[2];
  guint           slot_turn;

  /* The keyboard cursor: a block (cursor_id) or a free slot (cursor_staff_id and
   * cursor_minute, a quarter hour). */
  char           *cursor_id;
  char           *cursor_staff_id;
  int             cursor_minute;

  /* The tooltip's content beside the item focused by keyboard. */
  GtkWidget      *info;
  GtkWidget      *info_label;
};

/* ---- accessible cells ---- */

/* A child without content of its own: the day view draws it; it carries an accessible
 * role and name, takes focus and shows the focus ring (CSS outline). */
#define VD_TYPE_DAY_CELL (vd_day_cell_get_type ())
G_DECLARE_FINAL_TYPE (VdDayCell, vd_day_cell, VD, DAY_CELL, GtkWidget)

struct _VdDayCell
{
  GtkWidget  parent_instance;
  char      *name;
  char      *description;
  int        minute;       /* slot cells: the quarter hour */
  guint      column;       /* slot cells */
};

G_DEFINE_FINAL_TYPE (VdDayCell, vd_day_cell, GTK_TYPE_WIDGET)

static void
vd_day_cell_finalize (GObject *object)
{
  VdDayCell *cell = VD_DAY_CELL (object);

  g_free (cell->name);
  g_free (cell->description);
  G_OBJECT_CLASS (vd_day_cell_parent_class)->finalize (object);
}

static void
vd_day_cell_class_init (VdDayCellClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = vd_day_cell_finalize;
}

static void
vd_day_cell_init (VdDayCell *cell)
{
}

static GtkWidget *
day_cell_new (GtkWidget         *parent,
              const char        *css_name,
              GtkAccessibleRole  role,
              gboolean           focusable)
{
  GtkWidget *cell = g_object_new (VD_TYPE_DAY_CELL,
                                  "css-name", css_name,
                                  "accessible-role", role,
                                  "focusable", focusable,
                                  "can-target", FALSE,
                                  NULL);

  gtk_widget_set_parent (cell, parent);
  return cell;
}

/* Only what changed reaches the accessibility bus. */
static void
day_cell_set_name (GtkWidget  *widget,
                   const char *name,
                   const char *description)
{
  VdDayCell *cell = VD_DAY_CELL (widget);

  if (g_strcmp0 (cell->name, name) == 0 && g_strcmp0 (cell->description, description) == 0)
    return;
  g_free (cell->name);
  g_free (cell->description);
  cell->name = g_strdup (name);
  cell->description = g_strdup (description);
  if (description != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (widget),
                                    GTK_ACCESSIBLE_PROPERTY_LABEL, name,
                                    GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description,
                                    -1);
  else
    gtk_accessible_update_property (GTK_ACCESSIBLE (widget),
                                    GTK_ACCESSIBLE_PROPERTY_LABEL, name,
                                    -1);
}

/* Grows or shrinks a pool of cells to n. */
static void
resize_pool (VdDayView         *self,
             GPtrArray         *pool,
             guint              n,
             const char        *css_name,
             GtkAccessibleRole  role,
             gboolean           focusable)
{
  while (pool->len > n)
    {
      GtkWidget *cell = g_ptr_array_steal_index (pool, pool->len - 1);

      gtk_widget_unparent (cell);
    }
  while (pool->len < n)
    g_ptr_array_add (pool, day_cell_new (GTK_WIDGET (self), css_name, role, focusable));
}

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
  g_free (block->name);
  g_free (block->description);
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

/* ---- colours ---- */

/* Every colour the drawing uses, for the style in effect. Text is drawn at full strength
 * in every status (the status is written, not faded); high contrast draws solid lines and
 * outlines and keeps tints light. vd_day_view_dup_contrast_pairs lists what sits on what. */
typedef struct
{
  GdkRGBA     bg;          /* the view's background (theme) */
  GdkRGBA     text;        /* block and header text */
  GdkRGBA     dim_text;    /* hour labels, the empty message */
  GdkRGBA     line;        /* hour and column lines */
  GdkRGBA     faint;       /* half-hour lines */
  GdkRGBA     closed;      /* hours the clinic is closed */
  GdkRGBA     now;         /* the current-time line */
  GdkRGBA     mark;        /* the double-booking dashes, high-contrast outlines */
  const char *alert_bg;    /* the allergy chip */
  const char *alert_fg;
  float       tint;        /* the kind colour's alpha on a block */
  float       inactive_tint;
  gboolean    high_contrast;
} Palette;

static gboolean
is_dark (void)
{
  return adw_style_manager_get_dark (adw_style_manager_get_default ());
}

static gboolean
is_high_contrast (void)
{
  return adw_style_manager_get_high_contrast (adw_style_manager_get_default ());
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
get_palette (VdDayView *self,
             Palette   *p)
{
  gboolean dark = is_dark ();
  gboolean hc = is_high_contrast ();

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (!gtk_style_context_lookup_color (gtk_widget_get_style_context (GTK_WIDGET (self)),
                                       "view_bg_color", &p->bg) || p->bg.alpha < 1)
    gdk_rgba_parse (&p->bg, dark ? "#1e1e1e" : "#ffffff");
  G_GNUC_END_IGNORE_DEPRECATIONS

  fg_color (&p->text, hc ? 1.0 : 0.9);
  fg_color (&p->dim_text, hc ? 1.0 : 0.7);
  fg_color (&p->line, hc ? 0.6 : 0.15);
  fg_color (&p->faint, hc ? 0.45 : 0.06);
  fg_color (&p->closed, dark ? 0.10 : 0.05);
  fg_color (&p->mark, hc ? 1.0 : 0.85);
  gdk_rgba_parse (&p->now, dark ? "#ff7b63" : "#c01c28");
  p->alert_bg = dark ? "#c01c28" : "#a51d2d";
  p->alert_fg = "#ffffff";
  p->tint = hc ? 0.12f : (dark ? 0.38f : 0.22f);
  p->inactive_tint = hc ? 0.12f : (dark ? 0.16f : 0.08f);
  p->high_contrast = hc;
}

/* ---- blocks ---- */

static Block *
block_from_item (VdDayView     *self,
                 const Palette *palette,
                 GObject       *item,
                 gint64         day_start,
                 gint64         day_end)
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
  g_autofree char *allergy_text = NULL;
  g_autofree char *allergy_chip = NULL;
  g_autofree char *allergies_nb = NULL;
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
  block->inactive = !vd_rules_status_is_active (block->status);

  has_allergies = allergies != NULL && *g_strstrip (allergies) != '\0';
  from = format_minute (block->start_min);
  to = format_minute (block->end_min);
  pet_e = g_markup_escape_text (pet ? pet : _("Unknown pet"), -1);
  client_e = g_markup_escape_text (client ? client : "", -1);
  allergies_e = has_allergies ? g_markup_escape_text (allergies, -1) : NULL;
  /* The chip stays on one line with the pet's name (no-break spaces inside). */
  if (has_allergies)
    {
      g_auto(GStrv) words = g_strsplit (allergies_e, " ", -1);

      allergies_nb = g_strjoinv ("\u00a0", words);
    }

  /* The allergy mark is a chip of its own colours (AA on every block) with the allergen
   * written after the ⚠, not a red glyph on the kind's tint. */
  if (has_allergies)
    allergy_chip = g_strdup_printf (" <span background=\"%s\" foreground=\"%s\" weight=\"bold\">\u00a0⚠\u00a0%s\u00a0</span>",
                                    palette->alert_bg, palette->alert_fg, allergies_nb);
  block->line_one = g_strdup_printf ("<b>%s</b>%s", pet_e, allergy_chip ? allergy_chip : "");
  block->line_two = g_strdup (client_e);
  block->line_three = g_markup_printf_escaped ("%s · %s · %s–%s",
                                               vd_appointment_kind_label (block->kind),
                                               vd_appointment_status_label (block->status),
                                               from, to);

  reason_e = reason && *reason ? g_markup_escape_text (reason, -1) : NULL;
  block->tooltip = g_strdup_printf ("<b>%s</b> — %s\n%s–%s · %s · %s%s%s%s%s",
                                    pet_e, client_e, from, to,
                                    vd_appointment_kind_label (block->kind),
                                    vd_appointment_status_label (block->status),
                                    reason_e ? "\n" : "", reason_e ? reason_e : "",
                                    allergies_e ? "\n⚠ " : "", allergies_e ? allergies_e : "");

  /* "09:30–09:45, Dana, Inés Delgado Díaz, Vaccination, Completed, allergies: penicillin" */
  /* TRANSLATORS: said by a screen reader after an appointment's other details */
  allergy_text = has_allergies ? g_strdup_printf (_("allergies: %s"), allergies) : NULL;
  block->name = g_strdup_printf ("%s–%s, %s, %s, %s, %s%s%s", from, to,
                                 pet ? pet : _("Unknown pet"), client ? client : "",
                                 vd_appointment_kind_label (block->kind),
                                 vd_appointment_status_label (block->status),
                                 allergy_text ? ", " : "", allergy_text ? allergy_text : "");
  if (reason != NULL && *reason != '\0')
    block->description = g_strdup (reason);
  return block;
}

/* Marks blocks that overlap another active block of their column; run on blocks sorted by
 * column and start. Appends the mark to their text and name. */
static void
mark_double_bookings (VdDayView *self)
{
  for (guint i = 0; i < self->blocks->len; i++)
    {
      Block *a = g_ptr_array_index (self->blocks, i);

      if (a->inactive)
        continue;
      for (guint j = i + 1; j < self->blocks->len; j++)
        {
          Block *b = g_ptr_array_index (self->blocks, j);

          if (b->column != a->column || b->start_min >= a->end_min)
            break;
          if (b->inactive)
            continue;
          a->double_booked = b->double_booked = TRUE;
        }
    }

  for (guint i = 0; i < self->blocks->len; i++)
    {
      Block *b = g_ptr_array_index (self->blocks, i);
      char *text;

      if (!b->double_booked)
        continue;
      text = g_strdup_printf ("%s <small><b>⧉ %s</b></small>", b->line_one, _("Double-booked"));
      g_free (b->line_one);
      b->line_one = text;
      /* TRANSLATORS: appended to an appointment's name for a screen reader */
      text = g_strdup_printf ("%s, %s", b->name, _("double-booked"));
      g_free (b->name);
      b->name = text;
    }
}

/* One stop of the keyboard cursor in a column: a block, or a free quarter hour. */
typedef struct
{
  Block *block;
  int    minute;
} Stop;

static GtkWidget *cursor_cell     (VdDayView *self);
static gboolean   focus_cursor_full (VdDayView *self,
                                     gboolean   show);
static Stop       stop_at         (VdDayView *self,
                                   guint      column,
                                   int        minute);
static void       set_cursor      (VdDayView *self,
                                   guint      column,
                                   Stop       stop);
static void       hide_info       (VdDayView *self);
static void       menu_closed_cb  (VdDayView *self);

/* Brings the accessible cells in line with the blocks, columns and hours just built. A
 * focused cell keeps the focus on the same appointment (or slot) where it still exists. */
static void
sync_cells (VdDayView *self)
{
  GtkWidget *focus = gtk_widget_get_focus_child (GTK_WIDGET (self));
  gboolean had_focus = focus != NULL && VD_IS_DAY_CELL (focus);

  resize_pool (self, self->block_cells, self->blocks->len, "dayblock",
               GTK_ACCESSIBLE_ROLE_BUTTON, TRUE);
  for (guint i = 0; i < self->blocks->len; i++)
    {
      Block *b = g_ptr_array_index (self->blocks, i);

      day_cell_set_name (g_ptr_array_index (self->block_cells, i), b->name, b->description);
    }

  resize_pool (self, self->column_cells, self->columns->len, "dayheader",
               GTK_ACCESSIBLE_ROLE_COLUMN_HEADER, FALSE);
  for (guint c = 0; c < self->columns->len; c++)
    {
      Column *column = &g_array_index (self->columns, Column, c);
      const char *role = vd_enum_label ("staff", "role", column->role);
      g_autofree char *name = *role ? g_strdup_printf ("%s, %s", column->name, role)
                                    : g_strdup (column->name);

      day_cell_set_name (g_ptr_array_index (self->column_cells, c), name, NULL);
    }

  resize_pool (self, self->hour_cells, MAX (self->last_hour - self->first_hour, 0), "dayheader",
               GTK_ACCESSIBLE_ROLE_ROW_HEADER, FALSE);
  for (int hour = self->first_hour; hour < self->last_hour; hour++)
    {
      g_autofree char *name = format_minute (hour * 60);

      day_cell_set_name (g_ptr_array_index (self->hour_cells, hour - self->first_hour), name, NULL);
    }

  /* A free slot the cursor is on that a booking has just filled: the cursor moves to the
   * new block. */
  if (self->cursor_id == NULL && self->cursor_staff_id != NULL &&
      find_column (self, self->cursor_staff_id) != G_MAXUINT)
    {
      guint column = find_column (self, self->cursor_staff_id);
      Stop stop = stop_at (self, column, self->cursor_minute);

      if (stop.block != NULL && stop.block->start_min <= self->cursor_minute &&
          self->cursor_minute < stop.block->end_min)
        {
          set_cursor (self, column, stop);
          if (!had_focus)
            for (guint k = 0; k < G_N_ELEMENTS (self->slot_cells); k++)
              gtk_widget_set_visible (self->slot_cells[k], FALSE);
        }
    }

  if (had_focus && cursor_cell (self) != gtk_widget_get_focus_child (GTK_WIDGET (self)))
    focus_cursor_full (self, FALSE);
}

static void
rebuild (VdDayView *self)
{
  gint64 day_start, day_end;
  guint n;
  int first_min = DEFAULT_START * 60;
  int last_min = DEFAULT_END * 60;
  Palette palette;

  get_palette (self, &palette);
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
      Block *block = block_from_item (self, &palette, item, day_start, day_end);

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
  mark_double_bookings (self);
  for (guint i = 0; i < self->blocks->len; i++)
    ((Block *) g_ptr_array_index (self->blocks, i))->index = i;

  self->laid_out_width = -1;
  self->layout_dirty = FALSE;
  sync_cells (self);
}

/* Header, hour column and hour rows follow the font (large text, gtk-xft-dpi): hour
 * labels fit their column, the header its two lines, and a quarter-hour block one line
 * of text. Returns whether anything changed. */
static gboolean
update_metrics (VdDayView *self)
{
  g_autoptr(PangoLayout) layout = NULL;
  int label_w, label_h, header_h, block_h;
  int header, gutter, hour;

  if (!self->metrics_dirty)
    return FALSE;
  self->metrics_dirty = FALSE;

  layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), "00:00");
  pango_layout_get_pixel_size (layout, &label_w, &label_h);
  pango_layout_set_markup (layout, "<b>Xg</b>\n<small>Xg</small>", -1);
  pango_layout_get_pixel_size (layout, NULL, &header_h);
  pango_layout_set_markup (layout, "<b>Xg</b> <small>Xg</small>", -1);
  pango_layout_get_pixel_size (layout, NULL, &block_h);

  gutter = MAX (MIN_GUTTER, label_w + 20);
  header = MAX (MIN_HEADER, header_h + 16);
  /* A quarter hour: one line, the 4 px of padding and the 2 px between blocks. */
  hour = MAX (MIN_HOUR, 4 * (block_h + 6));
  if (gutter == self->gutter_width && header == self->header_height && hour == self->hour_height)
    return FALSE;

  self->gutter_width = gutter;
  self->header_height = header;
  self->hour_height = hour;
  self->laid_out_width = -1;
  return TRUE;
}

static void
metrics_changed (VdDayView *self)
{
  /* Text layouts and the allergy chip's colours are built with the blocks. */
  self->metrics_dirty = TRUE;
  self->layout_dirty = TRUE;
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

static double
grid_height (VdDayView *self)
{
  return (self->last_hour - self->first_hour) * self->hour_height;
}

static double
y_of_minute (VdDayView *self,
             int        minute)
{
  return (minute - self->first_hour * 60) * (double) self->hour_height / 60.0;
}

/* Rectangles depend on the width; text layouts on the rectangles. */
static void
place_blocks (VdDayView *self,
              double     width)
{
  guint n_columns = MAX (self->columns->len, 1);

  self->column_width = MAX (MIN_COLUMN, floor ((width - self->gutter_width) / n_columns));
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
  update_metrics (self);
  if (self->layout_dirty)
    rebuild (self);
  place_blocks (self, gtk_widget_get_width (GTK_WIDGET (self)));
}

/* ---- scrolling ---- */

static void
adjustment_changed_cb (VdDayView *self)
{
  /* The cells move with the grid. */
  gtk_widget_queue_allocate (GTK_WIDGET (self));
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
allocate_cell (GtkWidget *cell,
               double     x,
               double     y,
               double     width,
               double     height)
{
  int min;

  /* Cells have no size of their own; measuring keeps GTK's bookkeeping right. */
  gtk_widget_measure (cell, GTK_ORIENTATION_HORIZONTAL, -1, &min, NULL, NULL, NULL);
  gtk_widget_size_allocate (cell,
                            &(GtkAllocation) { (int) floor (x), (int) floor (y),
                                               MAX ((int) width, 1), MAX ((int) height, 1) },
                            -1);
}

static void
vd_day_view_size_allocate (GtkWidget *widget,
                           int        width,
                           int        height,
                           int        baseline)
{
  VdDayView *self = VD_DAY_VIEW (widget);
  double hval, vval;

  update_metrics (self);
  if (self->layout_dirty)
    rebuild (self);
  place_blocks (self, width);

  configure_adjustment (self->hadjustment, self->column_width * MAX (self->columns->len, 1),
                        width - self->gutter_width);
  configure_adjustment (self->vadjustment, grid_height (self), height - self->header_height);

  /* The cells lie where their block, header or slot is drawn (scrolled). */
  hval = gtk_adjustment_get_value (self->hadjustment);
  vval = gtk_adjustment_get_value (self->vadjustment);
  for (guint i = 0; i < self->blocks->len; i++)
    {
      Block *b = g_ptr_array_index (self->blocks, i);

      allocate_cell (g_ptr_array_index (self->block_cells, i),
                     b->rect.origin.x + self->gutter_width - hval,
                     b->rect.origin.y + self->header_height - vval,
                     b->rect.size.width, b->rect.size.height);
    }
  for (guint c = 0; c < self->column_cells->len; c++)
    allocate_cell (g_ptr_array_index (self->column_cells, c),
                   self->gutter_width + c * self->column_width - hval, 0,
                   self->column_width, self->header_height);
  for (guint h = 0; h < self->hour_cells->len; h++)
    allocate_cell (g_ptr_array_index (self->hour_cells, h),
                   0, self->header_height + h * self->hour_height - vval,
                   self->gutter_width, self->hour_height);
  for (guint k = 0; k < G_N_ELEMENTS (self->slot_cells); k++)
    {
      VdDayCell *cell = VD_DAY_CELL (self->slot_cells[k]);

      if (gtk_widget_get_visible (self->slot_cells[k]))
        allocate_cell (self->slot_cells[k],
                       cell->column * self->column_width + self->gutter_width - hval + BLOCK_MARGIN,
                       y_of_minute (self, cell->minute) + self->header_height - vval + 1,
                       self->column_width - 2 * BLOCK_MARGIN, self->hour_height / 4.0 - 2);
    }

  if (self->popover != NULL)
    gtk_popover_present (GTK_POPOVER (self->popover));
  if (self->info != NULL)
    gtk_popover_present (GTK_POPOVER (self->info));
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

  update_metrics (self);
  if (self->layout_dirty)
    rebuild (self);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = self->gutter_width + MIN_COLUMN;
      *natural = self->gutter_width + MIN_COLUMN * MAX (self->columns->len, 1);
    }
  else
    {
      *minimum = self->header_height + self->hour_height * 2;
      *natural = self->header_height + (int) grid_height (self);
    }
}

/* ---- drawing ---- */

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
draw_block (VdDayView     *self,
            GtkSnapshot   *snapshot,
            const Palette *palette,
            Block         *b)
{
  GskRoundedRect rounded;
  GdkRGBA kind_color, tint;

  gdk_rgba_parse (&kind_color, vd_appointment_kind_color (b->kind));
  tint = kind_color;
  tint.alpha = b->inactive ? palette->inactive_tint : palette->tint;

  /* The block's own background: its text's contrast does not depend on what lies under
   * it (closed hours). Cancelled and no-show are lighter and say so in words, never a
   * faded text. */
  gsk_rounded_rect_init_from_rect (&rounded, &b->rect, 6);
  gtk_snapshot_push_rounded_clip (snapshot, &rounded);
  gtk_snapshot_append_color (snapshot, &palette->bg, &b->rect);
  gtk_snapshot_append_color (snapshot, &tint, &b->rect);
  fill (snapshot, &kind_color, b->rect.origin.x, b->rect.origin.y, STRIPE_WIDTH, b->rect.size.height);

  /* A double booking: a dashed edge on the right, besides the words. */
  if (b->double_booked)
    for (double y = b->rect.origin.y + 2; y < b->rect.origin.y + b->rect.size.height - 2; y += 8)
      fill (snapshot, &palette->mark, b->rect.origin.x + b->rect.size.width - 4, y, 3,
            MIN (4, b->rect.origin.y + b->rect.size.height - 2 - y));

  if (b->layout == NULL)
    {
      g_autofree char *markup = NULL;
      int line_height;
      int lines;

      b->layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), "X");
      pango_layout_get_pixel_size (b->layout, NULL, &line_height);
      lines = (int) ((b->rect.size.height - 4) / MAX (line_height, 1));

      /* As much as the block's height shows: a short visit keeps pet, kind, status and
       * client on one line rather than losing them to the ellipsis; kind and status come
       * first, the client's name is the longest. */
      if (lines <= 1)
        markup = g_strdup_printf ("%s  <small>%s · %s · %s</small>", b->line_one,
                                  vd_appointment_kind_label (b->kind),
                                  vd_appointment_status_label (b->status), b->line_two);
      else if (lines == 2)
        markup = g_strdup_printf ("%s\n<small>%s · %s · %s</small>", b->line_one,
                                  vd_appointment_kind_label (b->kind),
                                  vd_appointment_status_label (b->status), b->line_two);
      else
        markup = g_strdup_printf ("%s\n%s\n<small>%s</small>", b->line_one, b->line_two,
                                  b->line_three);
      pango_layout_set_markup (b->layout, markup, -1);
      pango_layout_set_ellipsize (b->layout, PANGO_ELLIPSIZE_END);
      pango_layout_set_width (b->layout, (int) ((b->rect.size.width - STRIPE_WIDTH - 8 - (b->double_booked ? 4 : 0)) * PANGO_SCALE));
      /* Each line ellipsized on its own: the allergy chip never pushes the next line
       * out of the block. */
      pango_layout_set_height (b->layout, -1);
    }

  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (b->rect.origin.x + STRIPE_WIDTH + 5,
                                                          b->rect.origin.y + 2));
  gtk_snapshot_append_layout (snapshot, b->layout, &palette->text);
  gtk_snapshot_restore (snapshot);
  gtk_snapshot_pop (snapshot);

  /* High contrast: every block outlined. */
  if (palette->high_contrast)
    {
      GdkRGBA border[4] = { palette->mark, palette->mark, palette->mark, palette->mark };

      gtk_snapshot_append_border (snapshot, &rounded, (float[4]) { 1, 1, 1, 1 }, border);
    }
}

static void
vd_day_view_snapshot (GtkWidget   *widget,
                      GtkSnapshot *snapshot)
{
  VdDayView *self = VD_DAY_VIEW (widget);
  double width = gtk_widget_get_width (widget);
  double height = gtk_widget_get_height (widget);
  double hval, vval, body_w, body_h, grid_w, grid_h;
  Palette palette;
  int open_min = 0, close_min = 0;
  gboolean open;
  gint64 now;
  g_autoptr(PangoLayout) layout = NULL;

  ensure_layout (self);

  hval = gtk_adjustment_get_value (self->hadjustment);
  vval = gtk_adjustment_get_value (self->vadjustment);
  body_w = width - self->gutter_width;
  body_h = height - self->header_height;
  grid_w = self->column_width * MAX (self->columns->len, 1);
  grid_h = grid_height (self);
  get_palette (self, &palette);
  open = opening_hours (weekday (self), &open_min, &close_min);

  /* The body: closed hours shaded, hour lines, columns, blocks, now. */
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (self->gutter_width, self->header_height, body_w, body_h));
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (self->gutter_width - hval, self->header_height - vval));

  if (!open)
    fill (snapshot, &palette.closed, 0, 0, grid_w, grid_h);
  else
    {
      double open_y = CLAMP (y_of_minute (self, open_min), 0, grid_h);
      double close_y = CLAMP (y_of_minute (self, close_min), 0, grid_h);

      fill (snapshot, &palette.closed, 0, 0, grid_w, open_y);
      fill (snapshot, &palette.closed, 0, close_y, grid_w, grid_h - close_y);
    }

  for (int hour = self->first_hour; hour <= self->last_hour; hour++)
    {
      double y = y_of_minute (self, hour * 60);

      if (y < vval - self->hour_height || y > vval + body_h + self->hour_height)
        continue;
      fill (snapshot, &palette.line, 0, y, grid_w, 1);
      if (hour < self->last_hour)
        fill (snapshot, &palette.faint, 0, y + self->hour_height / 2.0, grid_w, 1);
    }
  for (guint c = 1; c < self->columns->len; c++)
    fill (snapshot, &palette.line, c * self->column_width, 0, 1, grid_h);

  for (guint i = 0; i < self->blocks->len; i++)
    {
      Block *b = g_ptr_array_index (self->blocks, i);

      if (b->rect.origin.y > vval + body_h || b->rect.origin.y + b->rect.size.height < vval ||
          b->rect.origin.x > hval + body_w || b->rect.origin.x + b->rect.size.width < hval)
        continue;
      draw_block (self, snapshot, &palette, b);
    }

  if (showing_today (self, &now))
    {
      g_autoptr(GDateTime) local = vd_time_to_zone (now, get_zone (self));
      int minute = g_date_time_get_hour (local) * 60 + g_date_time_get_minute (local);
      double y = y_of_minute (self, minute);

      if (y >= 0 && y <= grid_h)
        {
          GskRoundedRect dot;

          fill (snapshot, &palette.now, 0, y - 1, grid_w, 2);
          gsk_rounded_rect_init_from_rect (&dot, &GRAPHENE_RECT_INIT (-5 + hval, y - 5, 10, 10), 5);
          gtk_snapshot_push_rounded_clip (snapshot, &dot);
          gtk_snapshot_append_color (snapshot, &palette.now, &dot.bounds);
          gtk_snapshot_pop (snapshot);
        }
    }

  gtk_snapshot_restore (snapshot);
  gtk_snapshot_pop (snapshot);

  /* The hour gutter scrolls vertically only. */
  layout = gtk_widget_create_pango_layout (widget, NULL);
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, self->header_height, self->gutter_width, body_h));
  for (int hour = self->first_hour; hour < self->last_hour; hour++)
    {
      char text[8];
      double y = self->header_height + y_of_minute (self, hour * 60) - vval;

      if (y < self->header_height - self->hour_height || y > height)
        continue;
      g_snprintf (text, sizeof text, "%02d:00", hour);
      pango_layout_set_text (layout, text, -1);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (10, y + 3));
      gtk_snapshot_append_layout (snapshot, layout, &palette.dim_text);
      gtk_snapshot_restore (snapshot);
    }
  gtk_snapshot_pop (snapshot);
  fill (snapshot, &palette.line, self->gutter_width - 1, self->header_height, 1, body_h);

  /* The staff header scrolls horizontally only. */
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (self->gutter_width, 0, body_w, self->header_height));
  for (guint c = 0; c < self->columns->len; c++)
    {
      Column *column = &g_array_index (self->columns, Column, c);
      double x = self->gutter_width + c * self->column_width - hval;
      g_autofree char *name = g_markup_escape_text (column->name ? column->name : "", -1);
      g_autofree char *markup = g_strdup_printf ("<b>%s</b>\n<small>%s</small>", name, vd_enum_label ("staff", "role", column->role));
      GdkRGBA stripe;

      if (x + self->column_width < self->gutter_width || x > width)
        continue;
      if (column->color == NULL || !gdk_rgba_parse (&stripe, column->color))
        fg_color (&stripe, 0.3);
      fill (snapshot, &stripe, x + 8, 10, 4, self->header_height - 20);
      pango_layout_set_markup (layout, markup, -1);
      pango_layout_set_width (layout, (int) ((self->column_width - 28) * PANGO_SCALE));
      pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x + 18, 8));
      gtk_snapshot_append_layout (snapshot, layout, &palette.text);
      gtk_snapshot_restore (snapshot);
      if (c > 0)
        fill (snapshot, &palette.line, x, 0, 1, self->header_height);
    }
  gtk_snapshot_pop (snapshot);
  fill (snapshot, &palette.line, 0, self->header_height - 1, width, 1);

  if (self->columns->len == 0)
    {
      pango_layout_set_width (layout, (int) ((body_w - 24) * PANGO_SCALE));
      pango_layout_set_text (layout, _("No veterinarians, groomers or technicians yet. Staff appear here once they are synced."), -1);
      gtk_snapshot_save (snapshot);
      gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (self->gutter_width + 12, 16));
      gtk_snapshot_append_layout (snapshot, layout, &palette.dim_text);
      gtk_snapshot_restore (snapshot);
    }

  /* The focused cell draws its focus ring over the grid (not over header or gutter). */
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (self->gutter_width - 4, self->header_height - 4,
                                                         body_w + 4, body_h + 4));
  {
    GtkWidget *focus = gtk_widget_get_focus_child (widget);

    if (focus != NULL && VD_IS_DAY_CELL (focus))
      gtk_widget_snapshot_child (widget, focus, snapshot);
  }
  gtk_snapshot_pop (snapshot);

  if (self->popover != NULL)
    gtk_widget_snapshot_child (widget, self->popover, snapshot);
  if (self->info != NULL)
    gtk_widget_snapshot_child (widget, self->info, snapshot);
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
  double cx = x - self->gutter_width + gtk_adjustment_get_value (self->hadjustment);
  double cy = y - self->header_height + gtk_adjustment_get_value (self->vadjustment);

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
  if (x < self->gutter_width || y < self->header_height)
    return FALSE;

  block = block_at (self, x, y);
  if (block != NULL)
    {
      if (out_appointment_id)
        *out_appointment_id = g_strdup (block->id);
      return TRUE;
    }

  cx = x - self->gutter_width + gtk_adjustment_get_value (self->hadjustment);
  cy = y - self->header_height + gtk_adjustment_get_value (self->vadjustment);
  column = (guint) (cx / self->column_width);
  if (column >= self->columns->len || cy < 0 || cy >= grid_height (self))
    return FALSE;

  minute = self->first_hour * 60 + (int) (cy * 60.0 / self->hour_height);
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
  hide_info (self);
  if (appointment_id != NULL)
    {
      Block *block = find_block (self, appointment_id);

      /* The keyboard goes on from what was clicked. */
      set_cursor (self, block->column, (Stop) { block, block->start_min });

      g_signal_emit (self, signals[APPOINTMENT_ACTIVATED], 0, block->item);
    }
  else
    {
      g_autoptr(GDateTime) local = vd_time_to_zone (starts_at, get_zone (self));

      set_cursor (self, find_column (self, staff_id),
                  (Stop) { NULL, g_date_time_get_hour (local) * 60 + g_date_time_get_minute (local) });
      g_signal_emit (self, signals[SLOT_ACTIVATED], 0, staff_id, starts_at);
    }
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

  if (keyboard || x < self->gutter_width || y < self->header_height)
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
                      block->rect.origin.x + self->gutter_width - gtk_adjustment_get_value (self->hadjustment),
                      block->rect.origin.y + self->header_height - gtk_adjustment_get_value (self->vadjustment),
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
      g_signal_connect_object (self->popover, "closed", G_CALLBACK (menu_closed_cb), self,
                               G_CONNECT_SWAPPED);
    }
  hide_info (self);
  gtk_popover_menu_set_menu_model (GTK_POPOVER_MENU (self->popover), menu);

  /* Point at the visible part of the block. */
  rect.x = (int) MAX (area.origin.x, self->gutter_width);
  rect.y = (int) MAX (area.origin.y, self->header_height);
  rect.width = (int) MAX (area.size.width, 1);
  rect.height = (int) MAX (MIN (area.size.height, gtk_widget_get_height (GTK_WIDGET (self)) - rect.y), 1);
  gtk_popover_set_pointing_to (GTK_POPOVER (self->popover), &rect);
  gtk_popover_popup (GTK_POPOVER (self->popover));
}

/* ---- keyboard ---- */

/* A column's stops in time order: its blocks (overlapping ones one after the other) and
 * the quarter hours of the grid no block touches. */
static GArray *
column_stops (VdDayView *self,
              guint      column)
{
  GArray *stops = g_array_new (FALSE, FALSE, sizeof (Stop));
  guint i = 0;

  /* Blocks are sorted by column, then start. */
  while (i < self->blocks->len && ((Block *) g_ptr_array_index (self->blocks, i))->column < column)
    i++;
  for (int m = self->first_hour * 60; m < self->last_hour * 60; m += 15)
    {
      gboolean covered = FALSE;

      for (; i < self->blocks->len; i++)
        {
          Block *b = g_ptr_array_index (self->blocks, i);

          if (b->column != column || b->start_min >= m + 15)
            break;
          g_array_append_val (stops, ((Stop) { b, b->start_min }));
        }
      for (guint j = 0; j < stops->len && !covered; j++)
        {
          Stop *stop = &g_array_index (stops, Stop, j);

          covered = stop->block != NULL && stop->block->start_min < m + 15 && stop->block->end_min > m;
        }
      if (!covered)
        g_array_append_val (stops, ((Stop) { NULL, m }));
    }
  return stops;
}

static guint
cursor_column (VdDayView *self)
{
  Block *b = self->cursor_id ? find_block (self, self->cursor_id) : NULL;

  if (b != NULL)
    return b->column;
  return self->cursor_staff_id ? find_column (self, self->cursor_staff_id) : G_MAXUINT;
}

/* The stop of column at minute: the first block there, or the free quarter hour. */
static Stop
stop_at (VdDayView *self,
         guint      column,
         int        minute)
{
  g_autoptr(GArray) stops = column_stops (self, column);
  Stop found = { NULL, -1 };

  for (guint i = 0; i < stops->len; i++)
    {
      Stop *stop = &g_array_index (stops, Stop, i);
      int end = stop->block ? stop->block->end_min : stop->minute + 15;

      if (stop->minute <= minute && minute < end)
        return *stop;
      if (found.minute < 0 || ABS (stop->minute - minute) < ABS (found.minute - minute))
        found = *stop;
    }
  return found;
}

static void
set_cursor (VdDayView *self,
            guint      column,
            Stop       stop)
{
  g_free (self->cursor_id);
  self->cursor_id = stop.block ? g_strdup (stop.block->id) : NULL;
  g_free (self->cursor_staff_id);
  self->cursor_staff_id = g_strdup (g_array_index (self->columns, Column, column).staff_id);
  self->cursor_minute = stop.minute;
}

static GtkWidget *
cursor_cell (VdDayView *self)
{
  Block *b = self->cursor_id ? find_block (self, self->cursor_id) : NULL;
  guint column;

  if (b != NULL)
    return g_ptr_array_index (self->block_cells, b->index);
  column = self->cursor_staff_id ? find_column (self, self->cursor_staff_id) : G_MAXUINT;
  for (guint k = 0; k < G_N_ELEMENTS (self->slot_cells); k++)
    {
      VdDayCell *cell = VD_DAY_CELL (self->slot_cells[k]);

      if (gtk_widget_get_visible (self->slot_cells[k]) && cell->column == column &&
          cell->minute == self->cursor_minute)
        return self->slot_cells[k];
    }
  return NULL;
}

static void
scroll_into_view (VdDayView *self,
                  double     x,
                  double     y,
                  double     w,
                  double     h)
{
  double body_w = gtk_widget_get_width (GTK_WIDGET (self)) - self->gutter_width;
  double body_h = gtk_widget_get_height (GTK_WIDGET (self)) - self->header_height;
  double hval = gtk_adjustment_get_value (self->hadjustment);
  double vval = gtk_adjustment_get_value (self->vadjustment);

  if (body_w <= 0 || body_h <= 0)
    return;
  if (x + MIN (w, body_w) > hval + body_w)
    hval = x + MIN (w, body_w) - body_w;
  if (x < hval)
    hval = x;
  if (y + MIN (h, body_h) > vval + body_h)
    vval = y + MIN (h, body_h) - body_h;
  if (y < vval)
    vval = y;
  gtk_adjustment_set_value (self->hadjustment, hval);
  gtk_adjustment_set_value (self->vadjustment, vval);
}

static void
hide_info (VdDayView *self)
{
  if (self->info != NULL && gtk_widget_get_visible (self->info))
    gtk_popover_popdown (GTK_POPOVER (self->info));
}

/* The tooltip's content beside a block focused from the keyboard. */
static void
show_info (VdDayView *self,
           Block     *b)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  double hval = gtk_adjustment_get_value (self->hadjustment);
  double vval = gtk_adjustment_get_value (self->vadjustment);
  GdkRectangle rect;

  if (b == NULL || !GTK_IS_WINDOW (root) || !gtk_window_get_focus_visible (GTK_WINDOW (root)) ||
      (self->popover != NULL && gtk_widget_get_visible (self->popover)))
    {
      hide_info (self);
      return;
    }

  if (self->info == NULL)
    {
      self->info = gtk_popover_new ();
      gtk_popover_set_autohide (GTK_POPOVER (self->info), FALSE);
      gtk_popover_set_position (GTK_POPOVER (self->info), GTK_POS_RIGHT);
      gtk_widget_set_can_focus (self->info, FALSE);
      gtk_widget_set_can_target (self->info, FALSE);
      gtk_widget_add_css_class (self->info, "dayview-info");
      self->info_label = gtk_label_new (NULL);
      gtk_label_set_wrap (GTK_LABEL (self->info_label), TRUE);
      gtk_label_set_max_width_chars (GTK_LABEL (self->info_label), 40);
      gtk_label_set_xalign (GTK_LABEL (self->info_label), 0);
      gtk_popover_set_child (GTK_POPOVER (self->info), self->info_label);
      gtk_widget_set_parent (self->info, GTK_WIDGET (self));
    }
  gtk_label_set_markup (GTK_LABEL (self->info_label), b->tooltip);
  rect.x = (int) MAX (b->rect.origin.x + self->gutter_width - hval, self->gutter_width);
  rect.y = (int) MAX (b->rect.origin.y + self->header_height - vval, self->header_height);
  rect.width = (int) MAX (b->rect.size.width, 1);
  rect.height = (int) MAX (MIN (b->rect.size.height, gtk_widget_get_height (GTK_WIDGET (self)) - rect.y), 1);
  gtk_popover_set_pointing_to (GTK_POPOVER (self->info), &rect);
  gtk_popover_popup (GTK_POPOVER (self->info));
}

/* Moves the focus to the cursor's block or slot (a default one when there is none) and
 * scrolls it into view. FALSE when the day has no columns. */
static gboolean
focus_cursor_full (VdDayView *self,
                   gboolean   show)
{
  Block *b;
  GtkWidget *cell;

  ensure_layout (self);
  if (self->columns->len == 0)
    return FALSE;

  b = self->cursor_id ? find_block (self, self->cursor_id) : NULL;
  if (b == NULL)
    {
      guint column = cursor_column (self);
      int minute = self->cursor_minute;

      if (column == G_MAXUINT)
        {
          /* First time: the top of the visible part of the first column. */
          column = 0;
          minute = self->first_hour * 60 +
                   (int) (gtk_adjustment_get_value (self->vadjustment) * 60.0 / self->hour_height);
        }
      set_cursor (self, column, stop_at (self, column, minute));
      b = self->cursor_id ? find_block (self, self->cursor_id) : NULL;
    }

  if (b != NULL)
    {
      cell = g_ptr_array_index (self->block_cells, b->index);
      scroll_into_view (self, b->rect.origin.x, b->rect.origin.y, b->rect.size.width, b->rect.size.height);
    }
  else
    {
      guint column = find_column (self, self->cursor_staff_id);
      Column *c = &g_array_index (self->columns, Column, column);
      g_autofree char *from = format_minute (self->cursor_minute);
      g_autofree char *to = format_minute (self->cursor_minute + 15);
      g_autofree char *name = NULL;
      GtkWidget *old;

      cell = cursor_cell (self);
      if (cell == NULL)
        {
          /* The other slot cell takes the new slot, so that the focus really moves. */
          self->slot_turn ^= 1;
          cell = self->slot_cells[self->slot_turn];
          old = self->slot_cells[self->slot_turn ^ 1];
          VD_DAY_CELL (cell)->column = column;
          VD_DAY_CELL (cell)->minute = self->cursor_minute;
          /* TRANSLATORS: an empty quarter hour of the schedule, for a screen reader:
           * "10:15–10:30, Marta Ruiz, free" */
          name = g_strdup_printf (_("%s–%s, %s, free"), from, to, c->name);
          day_cell_set_name (cell, name, _("Press Enter to book an appointment here."));
          gtk_widget_set_visible (cell, TRUE);
          gtk_widget_grab_focus (cell);
          gtk_widget_set_visible (old, FALSE);
        }
      scroll_into_view (self, column * self->column_width, y_of_minute (self, self->cursor_minute),
                        self->column_width, self->hour_height / 4.0);
    }

  gtk_widget_grab_focus (cell);
  if (b != NULL)
    for (guint k = 0; k < G_N_ELEMENTS (self->slot_cells); k++)
      gtk_widget_set_visible (self->slot_cells[k], FALSE);
  gtk_widget_queue_allocate (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
  if (show)
    show_info (self, b);
  return TRUE;
}

/* Arrow keys: up and down through a column's blocks and free quarter hours, left and
 * right to the same time in the next column (Home and End: move_cursor_to_edge). */
static gboolean
move_cursor (VdDayView        *self,
             GtkDirectionType  direction)
{
  guint column = cursor_column (self);
  g_autoptr(GArray) stops = NULL;
  Block *b;
  guint i;

  ensure_layout (self);
  if (column == G_MAXUINT || self->columns->len == 0)
    return focus_cursor_full (self, TRUE);

  b = self->cursor_id ? find_block (self, self->cursor_id) : NULL;
  stops = column_stops (self, column);
  for (i = 0; i < stops->len; i++)
    {
      Stop *stop = &g_array_index (stops, Stop, i);

      if (b != NULL ? stop->block == b : stop->block == NULL && stop->minute == self->cursor_minute)
        break;
    }

  switch (direction)
    {
    case GTK_DIR_UP:
      if (i == 0 || i >= stops->len)
        return FALSE;
      set_cursor (self, column, g_array_index (stops, Stop, i - 1));
      break;
    case GTK_DIR_DOWN:
      if (i + 1 >= stops->len)
        return FALSE;
      set_cursor (self, column, g_array_index (stops, Stop, i + 1));
      break;
    case GTK_DIR_LEFT:
    case GTK_DIR_RIGHT:
      {
        int minute = b ? b->start_min : self->cursor_minute;

        if (direction == GTK_DIR_LEFT ? column == 0 : column + 1 >= self->columns->len)
          return FALSE;
        column = direction == GTK_DIR_LEFT ? column - 1 : column + 1;
        set_cursor (self, column, stop_at (self, column, minute));
      }
      break;
    case GTK_DIR_TAB_FORWARD:
    case GTK_DIR_TAB_BACKWARD:
    default:
      return FALSE;
    }
  return focus_cursor_full (self, TRUE);
}

/* Home and End: the first and the last stop of the cursor's column. */
static gboolean
move_cursor_to_edge (VdDayView *self,
                     gboolean   last)
{
  guint column = cursor_column (self);
  g_autoptr(GArray) stops = NULL;

  ensure_layout (self);
  if (column == G_MAXUINT || self->columns->len == 0)
    return focus_cursor_full (self, TRUE);
  stops = column_stops (self, column);
  if (stops->len == 0)
    return FALSE;
  set_cursor (self, column, g_array_index (stops, Stop, last ? stops->len - 1 : 0));
  return focus_cursor_full (self, TRUE);
}

/* Enter, Space, Menu or Shift+F10 on the cursor: a block's menu, or booking a slot. */
static gboolean
activate_cursor (VdDayView *self)
{
  Block *b = self->cursor_id ? find_block (self, self->cursor_id) : NULL;

  hide_info (self);
  if (b != NULL)
    {
      g_signal_emit (self, signals[APPOINTMENT_ACTIVATED], 0, b->item);
      return TRUE;
    }
  if (self->cursor_staff_id != NULL && find_column (self, self->cursor_staff_id) != G_MAXUINT)
    {
      gint64 starts_at = vd_time_from_zone (get_zone (self), self->year, self->month, self->day,
                                            self->cursor_minute / 60, self->cursor_minute % 60, 0);

      g_signal_emit (self, signals[SLOT_ACTIVATED], 0, self->cursor_staff_id, starts_at);
      return TRUE;
    }
  return FALSE;
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                VdDayView             *self)
{
  GtkWidget *focus = gtk_widget_get_focus_child (GTK_WIDGET (self));
  GdkModifierType mods = state & gtk_accelerator_get_default_mod_mask ();

  if (focus == NULL || !VD_IS_DAY_CELL (focus))
    return GDK_EVENT_PROPAGATE;

  if (mods == GDK_SHIFT_MASK && keyval == GDK_KEY_F10)
    return activate_cursor (self);
  if (mods != 0)
    return GDK_EVENT_PROPAGATE;

  switch (keyval)
    {
    case GDK_KEY_Up:
    case GDK_KEY_KP_Up:
      move_cursor (self, GTK_DIR_UP);
      return GDK_EVENT_STOP;
    case GDK_KEY_Down:
    case GDK_KEY_KP_Down:
      move_cursor (self, GTK_DIR_DOWN);
      return GDK_EVENT_STOP;
    case GDK_KEY_Left:
    case GDK_KEY_KP_Left:
      move_cursor (self, GTK_DIR_LEFT);
      return GDK_EVENT_STOP;
    case GDK_KEY_Right:
    case GDK_KEY_KP_Right:
      move_cursor (self, GTK_DIR_RIGHT);
      return GDK_EVENT_STOP;
    case GDK_KEY_Home:
    case GDK_KEY_KP_Home:
      move_cursor_to_edge (self, FALSE);
      return GDK_EVENT_STOP;
    case GDK_KEY_End:
    case GDK_KEY_KP_End:
      move_cursor_to_edge (self, TRUE);
      return GDK_EVENT_STOP;
    case GDK_KEY_Return:
    case GDK_KEY_KP_Enter:
    case GDK_KEY_ISO_Enter:
    case GDK_KEY_space:
    case GDK_KEY_KP_Space:
    case GDK_KEY_Menu:
      return activate_cursor (self);
    case GDK_KEY_Escape:
      if (self->info != NULL && gtk_widget_get_visible (self->info))
        {
          hide_info (self);
          return GDK_EVENT_STOP;
        }
      return GDK_EVENT_PROPAGATE;
    default:
      return GDK_EVENT_PROPAGATE;
    }
}

/* Tab enters the grid at the cursor and leaves it at once: the grid is one Tab stop and
 * the arrows move inside it. */
static gboolean
vd_day_view_focus (GtkWidget        *widget,
                   GtkDirectionType  direction)
{
  VdDayView *self = VD_DAY_VIEW (widget);
  GtkWidget *focus = gtk_widget_get_focus_child (widget);

  if (focus != NULL && !VD_IS_DAY_CELL (focus))
    return gtk_widget_child_focus (focus, direction);
  if (focus != NULL)
    {
      if (direction == GTK_DIR_TAB_FORWARD || direction == GTK_DIR_TAB_BACKWARD)
        {
          hide_info (self);
          return FALSE;
        }
      return move_cursor (self, direction);
    }
  return focus_cursor_full (self, TRUE);
}

static gboolean
vd_day_view_grab_focus (GtkWidget *widget)
{
  return focus_cursor_full (VD_DAY_VIEW (widget), FALSE);
}

static void
focus_leave_cb (VdDayView *self)
{
  hide_info (self);
}

static void
menu_closed_cb (VdDayView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = GTK_IS_WINDOW (root) ? gtk_window_get_focus (GTK_WINDOW (root)) : NULL;

  /* Back to the block the menu was for, unless the menu moved the focus elsewhere. */
  if (focus == NULL || focus == GTK_WIDGET (root) || gtk_widget_is_ancestor (focus, self->popover))
    focus_cursor_full (self, FALSE);
}

/* ---- contrast ---- */

static GdkRGBA
over (const GdkRGBA *fg,
      const GdkRGBA *bg)
{
  return (GdkRGBA) { fg->red * fg->alpha + bg->red * (1 - fg->alpha),
                     fg->green * fg->alpha + bg->green * (1 - fg->alpha),
                     fg->blue * fg->alpha + bg->blue * (1 - fg->alpha), 1 };
}

static void
add_pair (GArray        *pairs,
          char          *what,
          const GdkRGBA *fg,
          const GdkRGBA *bg,
          double         min_ratio)
{
  VdDayViewContrastPair pair = { what, over (fg, bg), *bg, min_ratio };

  g_array_append_val (pairs, pair);
}

static void
clear_pair (VdDayViewContrastPair *pair)
{
  g_free (pair->what);
}

GArray *
vd_day_view_dup_contrast_pairs (VdDayView *self)
{
  GArray *pairs = g_array_new (FALSE, FALSE, sizeof (VdDayViewContrastPair));
  const char * const *kinds_list = vd_appointment_kinds ();
  Palette p;
  GdkRGBA closed, alert_bg, alert_fg;

  g_return_val_if_fail (VD_IS_DAY_VIEW (self), NULL);

  g_array_set_clear_func (pairs, (GDestroyNotify) clear_pair);
  get_palette (self, &p);
  closed = over (&p.closed, &p.bg);
  gdk_rgba_parse (&alert_bg, p.alert_bg);
  gdk_rgba_parse (&alert_fg, p.alert_fg);

  /* Blocks: their text, the double-booking dashes and (high contrast) the outline on the
   * block's own background, active and cancelled, for every kind. */
  for (guint i = 0; kinds_list[i] != NULL; i++)
    for (int inactive = 0; inactive <= 1; inactive++)
      {
        GdkRGBA tint, block_bg;

        gdk_rgba_parse (&tint, vd_appointment_kind_color (kinds_list[i]));
        tint.alpha = inactive ? p.inactive_tint : p.tint;
        block_bg = over (&tint, &p.bg);
        add_pair (pairs, g_strdup_printf ("text of a %s%s block", kinds_list[i], inactive ? " cancelled" : ""),
                  &p.text, &block_bg, 4.5);
        add_pair (pairs, g_strdup_printf ("double-booking mark of a %s%s block", kinds_list[i], inactive ? " cancelled" : ""),
                  &p.mark, &block_bg, 3.0);
        if (p.high_contrast)
          add_pair (pairs, g_strdup_printf ("outline of a %s%s block", kinds_list[i], inactive ? " cancelled" : ""),
                    &p.mark, &p.bg, 3.0);
      }
  add_pair (pairs, g_strdup ("allergy mark"), &alert_fg, &alert_bg, 4.5);
  add_pair (pairs, g_strdup ("hour label"), &p.dim_text, &p.bg, 4.5);
  add_pair (pairs, g_strdup ("staff header"), &p.text, &p.bg, 4.5);
  add_pair (pairs, g_strdup ("current-time line"), &p.now, &p.bg, 3.0);
  add_pair (pairs, g_strdup ("current-time line in closed hours"), &p.now, &closed, 3.0);
  if (p.high_contrast)
    {
      add_pair (pairs, g_strdup ("hour line"), &p.line, &p.bg, 3.0);
      add_pair (pairs, g_strdup ("hour line in closed hours"), &p.line, &closed, 3.0);
    }
  return pairs;
}

GListModel *
vd_day_view_get_appointments (VdDayView *self)
{
  g_return_val_if_fail (VD_IS_DAY_VIEW (self), NULL);

  return self->appointments;
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

/* The grid's accessible name says which day it shows. */
static void
update_label (VdDayView *self)
{
  g_autoptr(GDateTime) date = g_date_time_new_local (self->year, self->month, self->day, 12, 0, 0);
  g_autofree char *day = date ? g_date_time_format (date, "%A %x") : NULL;
  /* TRANSLATORS: the day grid's name for a screen reader; %s is a date */
  g_autofree char *label = g_strdup_printf (_("Schedule for %s"), day ? day : "");

  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
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
  hide_info (self);
  update_label (self);
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
style_changed_cb (VdDayView *self)
{
  /* Dark and high contrast change the colours written into the blocks' text. */
  metrics_changed (self);
}

static void
vd_day_view_css_changed (GtkWidget         *widget,
                         GtkCssStyleChange *change)
{
  VdDayView *self = VD_DAY_VIEW (widget);
  const PangoFontDescription *font;

  GTK_WIDGET_CLASS (vd_day_view_parent_class)->css_changed (widget, change);

  /* Focus and hover change the style too: only a new font lays the grid out again. */
  font = pango_context_get_font_description (gtk_widget_get_pango_context (widget));
  if (self->font != NULL && font != NULL && pango_font_description_equal (self->font, font))
    return;
  g_clear_pointer (&self->font, pango_font_description_free);
  self->font = font ? pango_font_description_copy (font) : NULL;
  metrics_changed (self);
}

static void
vd_day_view_system_setting_changed (GtkWidget        *widget,
                                    GtkSystemSetting  setting)
{
  GTK_WIDGET_CLASS (vd_day_view_parent_class)->system_setting_changed (widget, setting);

  /* Text scaling (gtk-xft-dpi) and the font. */
  if (setting == GTK_SYSTEM_SETTING_DPI || setting == GTK_SYSTEM_SETTING_FONT_NAME ||
      setting == GTK_SYSTEM_SETTING_FONT_CONFIG)
    metrics_changed (VD_DAY_VIEW (widget));
}

static gboolean
vd_day_view_scrollable_get_border (GtkScrollable *scrollable,
                                   GtkBorder     *border)
{
  VdDayView *self = VD_DAY_VIEW (scrollable);

  /* The header and gutter stay put: scrolled windows place their undershoot below them. */
  update_metrics (self);
  border->top = self->header_height;
  border->left = self->gutter_width;
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
  g_clear_pointer (&self->info, gtk_widget_unparent);
  for (guint k = 0; k < G_N_ELEMENTS (self->slot_cells); k++)
    g_clear_pointer (&self->slot_cells[k], gtk_widget_unparent);
  if (self->block_cells != NULL)
    {
      resize_pool (self, self->block_cells, 0, NULL, GTK_ACCESSIBLE_ROLE_NONE, FALSE);
      resize_pool (self, self->column_cells, 0, NULL, GTK_ACCESSIBLE_ROLE_NONE, FALSE);
      resize_pool (self, self->hour_cells, 0, NULL, GTK_ACCESSIBLE_ROLE_NONE, FALSE);
    }
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
  g_clear_pointer (&self->block_cells, g_ptr_array_unref);
  g_clear_pointer (&self->column_cells, g_ptr_array_unref);
  g_clear_pointer (&self->hour_cells, g_ptr_array_unref);
  g_clear_pointer (&self->font, pango_font_description_free);
  g_free (self->cursor_id);
  g_free (self->cursor_staff_id);

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
  widget_class->focus = vd_day_view_focus;
  widget_class->grab_focus = vd_day_view_grab_focus;
  widget_class->css_changed = vd_day_view_css_changed;
  widget_class->system_setting_changed = vd_day_view_system_setting_changed;

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
  GtkEventController *key, *focus;
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
  /* Not a Tab stop itself: the focus goes to a block or a free slot (vd_day_view_focus). */
  gtk_widget_set_focusable (GTK_WIDGET (self), FALSE);
  gtk_widget_add_css_class (GTK_WIDGET (self), "view");
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);

  self->metrics_dirty = TRUE;
  self->header_height = MIN_HEADER;
  self->gutter_width = MIN_GUTTER;
  self->hour_height = MIN_HOUR;
  self->block_cells = g_ptr_array_new ();
  self->column_cells = g_ptr_array_new ();
  self->hour_cells = g_ptr_array_new ();
  for (guint k = 0; k < G_N_ELEMENTS (self->slot_cells); k++)
    {
      self->slot_cells[k] = day_cell_new (GTK_WIDGET (self), "dayslot", GTK_ACCESSIBLE_ROLE_BUTTON, TRUE);
      gtk_widget_set_visible (self->slot_cells[k], FALSE);
    }

  key = gtk_event_controller_key_new ();
  g_signal_connect (key, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), key);
  focus = gtk_event_controller_focus_new ();
  g_signal_connect_swapped (focus, "leave", G_CALLBACK (focus_leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), focus);

  self->now_timer = g_timeout_add_seconds (30, now_tick_cb, self);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (style_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::high-contrast",
                           G_CALLBACK (style_changed_cb), self, G_CONNECT_SWAPPED);
  update_label (self);
}
