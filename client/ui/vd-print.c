/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-print.c — prints a day's schedule with GtkPrintOperation: rows are measured with
 * Pango in begin-print so each staff member's section starts on its own page and a long
 * day runs on to the next one, then each page is drawn with cairo. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "vd-print.h"
#include "vd-day-view.h"
#include "vd-store-models.h"
#include "vd-time.h"

#define BODY_FONT    "Sans 9"
#define HEADING_FONT "Sans Bold 9"
#define TITLE_FONT   "Sans Bold 15"
#define STAFF_FONT   "Sans Bold 12"
#define SMALL_FONT   "Sans 8"
#define CELL_PAD     3.0
#define N_COLUMNS    6

/* Shares of the page width: time, pet, client, kind, status, allergies. */
static const double column_share[N_COLUMNS] = { 0.13, 0.15, 0.22, 0.14, 0.14, 0.22 };

typedef struct
{
  char      *staff_id;
  char      *staff_name;
  char      *role;
  guint      order;          /* the staff list's order; unknown staff last */
  GPtrArray *appointments;   /* VdAppointmentItem*, by start time */
} Section;

typedef struct
{
  guint section;
  guint first;
  guint n;
} Page;

typedef struct
{
  VdStore   *store;
  int        year, month, day;
  GPtrArray *sections;
  GArray    *pages;
  char      *clinic_name;
  char      *date_text;
  char      *printed_text;
} Job;

static void
section_free (Section *section)
{
  g_free (section->staff_id);
  g_free (section->staff_name);
  g_free (section->role);
  g_ptr_array_unref (section->appointments);
  g_free (section);
}

static int
compare_sections (gconstpointer a,
                  gconstpointer b)
{
  const Section *x = *(const Section * const *) a;
  const Section *y = *(const Section * const *) b;

  if (x->order != y->order)
    return x->order < y->order ? -1 : 1;
  return g_utf8_collate (x->staff_name, y->staff_name);
}

/* The day's appointments grouped by staff member, in the staff list's order. */
static GPtrArray *
load_sections (VdStore *store,
               int      year,
               int      month,
               int      day)
{
  g_autoptr(VdStaffList) staff = vd_staff_list_new (store);
  g_autoptr(VdAppointmentList) appointments = NULL;
  g_autoptr(GHashTable) by_staff = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) staff_order = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *sections = g_ptr_array_new_with_free_func ((GDestroyNotify) section_free);
  gint64 start, end;
  guint n_staff, n;

  vd_staff_list_set_show_inactive (staff, TRUE);
  vd_store_list_refresh (G_LIST_MODEL (staff));
  n_staff = g_list_model_get_n_items (G_LIST_MODEL (staff));
  for (guint i = 0; i < n_staff; i++)
    {
      VdStaffItem *item = g_list_model_get_item (G_LIST_MODEL (staff), i);

      g_hash_table_insert (staff_order, (gpointer) vd_staff_item_get_id (item), item);
      g_object_set_data (G_OBJECT (item), "vd-print-order", GUINT_TO_POINTER (i + 1));
      g_object_unref (item);   /* the list keeps it alive */
    }

  vd_time_day_bounds (vd_store_get_time_zone (store), year, month, day, &start, &end);
  appointments = vd_appointment_list_new (store, start, end, NULL);
  n = g_list_model_get_n_items (G_LIST_MODEL (appointments));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(VdAppointmentItem) item = g_list_model_get_item (G_LIST_MODEL (appointments), i);
      const char *staff_id = vd_appointment_item_get_staff_id (item);
      Section *section = g_hash_table_lookup (by_staff, staff_id);

      if (section == NULL)
        {
          VdStaffItem *member = g_hash_table_lookup (staff_order, staff_id);
          const char *name = vd_appointment_item_get_staff_name (item);

          section = g_new0 (Section, 1);
          section->staff_id = g_strdup (staff_id);
          section->staff_name = g_strdup (name != NULL && *name != '\0' ? name : _("No staff member"));
          section->role = g_strdup (member ? vd_enum_label ("staff", "role", vd_staff_item_get_role (member)) : "");
          section->order = member ? GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (member), "vd-print-order"))
                                  : G_MAXUINT;
          section->appointments = g_ptr_array_new_with_free_func (g_object_unref);
          g_hash_table_insert (by_staff, section->staff_id, section);
          g_ptr_array_add (sections, section);
        }
      g_ptr_array_add (section->appointments, g_object_ref (item));
    }
  g_ptr_array_sort (sections, compare_sections);
  return sections;
}

guint
vd_print_count_staff (VdStore *store,
                      int      year,
                      int      month,
                      int      day)
{
  g_autoptr(GPtrArray) sections = NULL;

  g_return_val_if_fail (VD_IS_STORE (store), 0);

  sections = load_sections (store, year, month, day);
  return sections->len;
}

/* ---- text ---- */

static PangoLayout *
text_layout (GtkPrintContext *context,
             const char      *text,
             const char      *font,
             double           width)
{
  PangoLayout *layout = gtk_print_context_create_pango_layout (context);
  g_autoptr(PangoFontDescription) description = pango_font_description_from_string (font);

  pango_layout_set_font_description (layout, description);
  pango_layout_set_text (layout, text != NULL ? text : "", -1);
  if (width > 0)
    {
      pango_layout_set_width (layout, pango_units_from_double (width));
      pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
    }
  return layout;
}

static double
layout_height (PangoLayout *layout)
{
  int height;

  pango_layout_get_size (layout, NULL, &height);
  return pango_units_to_double (height);
}

static double
text_height (GtkPrintContext *context,
             const char      *text,
             const char      *font,
             double           width)
{
  g_autoptr(PangoLayout) layout = text_layout (context, text, font, width);

  return layout_height (layout);
}

/* Draws text at (x, y); returns its height. */
static double
draw_text (GtkPrintContext *context,
           const char      *text,
           const char      *font,
           double           x,
           double           y,
           double           width)
{
  cairo_t *cr = gtk_print_context_get_cairo_context (context);
  g_autoptr(PangoLayout) layout = text_layout (context, text, font, width);

  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
  return layout_height (layout);
}

/* ---- rows ---- */

static void
row_cells (Job               *job,
           VdAppointmentItem *item,
           char              *cells[N_COLUMNS])
{
  GTimeZone *zone = vd_store_get_time_zone (job->store);
  g_autoptr(GDateTime) from = vd_time_to_zone (vd_appointment_item_get_starts_at (item), zone);
  g_autoptr(GDateTime) to = vd_time_to_zone (vd_appointment_item_get_ends_at (item), zone);
  g_autofree char *from_text = g_date_time_format (from, "%H:%M");
  g_autofree char *to_text = g_date_time_format (to, "%H:%M");

  /* Translators: start–end time in the printed schedule */
  cells[0] = g_strdup_printf (_("%s–%s"), from_text, to_text);
  cells[1] = g_strdup (vd_appointment_item_get_pet_name (item));
  cells[2] = g_strdup (vd_appointment_item_get_client_name (item));
  cells[3] = g_strdup (vd_appointment_kind_label (vd_appointment_item_get_kind (item)));
  cells[4] = g_strdup (vd_appointment_status_label (vd_appointment_item_get_status (item)));
  cells[5] = g_strdup (vd_appointment_item_get_pet_allergies (item));
}

static void
cells_free (char *cells[N_COLUMNS])
{
  for (guint c = 0; c < N_COLUMNS; c++)
    g_free (cells[c]);
}

static double
row_height (Job               *job,
            GtkPrintContext   *context,
            VdAppointmentItem *item,
            double             width)
{
  char *cells[N_COLUMNS];
  double height = 0;

  row_cells (job, item, cells);
  for (guint c = 0; c < N_COLUMNS; c++)
    height = MAX (height, text_height (context, cells[c], BODY_FONT, width * column_share[c] - 2 * CELL_PAD));
  cells_free (cells);
  return height + 2 * CELL_PAD;
}

static const char *
column_title (guint column)
{
  switch (column)
    {
    case 0: return _("Time");
    case 1: return _("Pet");
    case 2: return _("Client");
    case 3: return _("Kind");
    case 4: return _("Status");
    case 5: return _("Allergies");
    default: g_assert_not_reached ();
    }
}

/* ---- page geometry, shared by begin-print and draw-page ---- */

static double
page_header_height (GtkPrintContext *context,
                    Job             *job,
                    double           width)
{
  return text_height (context, job->clinic_name, TITLE_FONT, width) +
         text_height (context, job->date_text, BODY_FONT, width) + 12;
}

static double
section_header_height (GtkPrintContext *context,
                       double           width)
{
  return text_height (context, "Xg", STAFF_FONT, width) + text_height (context, "Xg", BODY_FONT, width) + 8 +
         text_height (context, "Xg", HEADING_FONT, width) + 2 * CELL_PAD + 2;
}

static double
footer_height (GtkPrintContext *context,
               double           width)
{
  return text_height (context, "Xg", SMALL_FONT, width) + 8;
}

static void
begin_print_cb (GtkPrintOperation *operation,
                GtkPrintContext   *context,
                Job               *job)
{
  double width = gtk_print_context_get_width (context);
  double height = gtk_print_context_get_height (context);
  double room = height - page_header_height (context, job, width) -
                section_header_height (context, width) - footer_height (context, width);

  g_array_set_size (job->pages, 0);
  for (guint s = 0; s < job->sections->len; s++)
    {
      Section *section = g_ptr_array_index (job->sections, s);
      Page page = { s, 0, 0 };
      double used = 0;

      for (guint r = 0; r < section->appointments->len; r++)
        {
          double h = row_height (job, context, g_ptr_array_index (section->appointments, r), width);

          /* A row taller than a page still goes on a page of its own. */
          if (page.n > 0 && used + h > room)
            {
              g_array_append_val (job->pages, page);
              page.first = r;
              page.n = 0;
              used = 0;
            }
          page.n++;
          used += h;
        }
      g_array_append_val (job->pages, page);
    }

  /* A day without appointments still prints one page that says so. */
  gtk_print_operation_set_n_pages (operation, MAX (job->pages->len, 1));
}

static void
draw_page_cb (GtkPrintOperation *operation,
              GtkPrintContext   *context,
              int                page_nr,
              Job               *job)
{
  cairo_t *cr = gtk_print_context_get_cairo_context (context);
  double width = gtk_print_context_get_width (context);
  double height = gtk_print_context_get_height (context);
  double y = 0;
  double x;
  g_autofree char *footer = NULL;
  g_autofree char *staff_line = NULL;
  g_autofree char *detail_line = NULL;
  const Page *page;
  Section *section;

  cairo_set_source_rgb (cr, 0, 0, 0);
  y += draw_text (context, job->clinic_name, TITLE_FONT, 0, y, width);
  y += draw_text (context, job->date_text, BODY_FONT, 0, y, width) + 12;

  /* Translators: the printed schedule's footer */
  footer = g_strdup_printf (_("Printed %s · Page %d of %u"), job->printed_text, page_nr + 1,
                            MAX (job->pages->len, 1));
  draw_text (context, footer, SMALL_FONT, 0, height - footer_height (context, width) + 8, width);

  if (job->pages->len == 0)
    {
      draw_text (context, _("No appointments on this day."), BODY_FONT, 0, y, width);
      return;
    }

  page = &g_array_index (job->pages, Page, page_nr);
  section = g_ptr_array_index (job->sections, page->section);

  if (page->first > 0)
    /* Translators: a staff member's section going on over another page */
    staff_line = g_strdup_printf (_("%s (continued)"), section->staff_name);
  else
    staff_line = g_strdup (section->staff_name);
  y += draw_text (context, staff_line, STAFF_FONT, 0, y, width);
  if (*section->role != '\0')
    /* Translators: under a staff member's name: their role and how many appointments */
    detail_line = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s · %u appointment", "%s · %u appointments",
                                                section->appointments->len),
                                   section->role, section->appointments->len);
  else
    detail_line = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u appointment", "%u appointments",
                                                section->appointments->len),
                                   section->appointments->len);
  y += draw_text (context, detail_line, BODY_FONT, 0, y, width) + 8;

  /* Column headings on a light band. */
  cairo_set_source_rgb (cr, 0.9, 0.9, 0.9);
  cairo_rectangle (cr, 0, y, width, text_height (context, "Xg", HEADING_FONT, width) + 2 * CELL_PAD);
  cairo_fill (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  x = 0;
  for (guint c = 0; c < N_COLUMNS; c++)
    {
      draw_text (context, column_title (c), HEADING_FONT, x + CELL_PAD, y + CELL_PAD,
                 width * column_share[c] - 2 * CELL_PAD);
      x += width * column_share[c];
    }
  y += text_height (context, "Xg", HEADING_FONT, width) + 2 * CELL_PAD + 2;

  for (guint r = page->first; r < page->first + page->n; r++)
    {
      VdAppointmentItem *item = g_ptr_array_index (section->appointments, r);
      double h = row_height (job, context, item, width);
      char *cells[N_COLUMNS];

      row_cells (job, item, cells);
      x = 0;
      for (guint c = 0; c < N_COLUMNS; c++)
        {
          /* Allergies are what must not be missed on paper: in red where printed in colour. */
          if (c == 5 && cells[c] != NULL && *cells[c] != '\0')
            cairo_set_source_rgb (cr, 0.75, 0, 0);
          draw_text (context, cells[c], c == 5 ? HEADING_FONT : BODY_FONT, x + CELL_PAD, y + CELL_PAD,
                     width * column_share[c] - 2 * CELL_PAD);
          cairo_set_source_rgb (cr, 0, 0, 0);
          x += width * column_share[c];
        }
      cells_free (cells);

      y += h;
      cairo_set_source_rgb (cr, 0.8, 0.8, 0.8);
      cairo_set_line_width (cr, 0.5);
      cairo_move_to (cr, 0, y);
      cairo_line_to (cr, width, y);
      cairo_stroke (cr);
      cairo_set_source_rgb (cr, 0, 0, 0);
    }
}

static void
job_free (Job *job)
{
  g_clear_object (&job->store);
  g_clear_pointer (&job->sections, g_ptr_array_unref);
  g_clear_pointer (&job->pages, g_array_unref);
  g_free (job->clinic_name);
  g_free (job->date_text);
  g_free (job->printed_text);
  g_free (job);
}

GtkPrintOperation *
vd_print_schedule_new (VdStore *store,
                       int      year,
                       int      month,
                       int      day)
{
  GtkPrintOperation *operation;
  g_autoptr(VdClinicInfo) clinic = NULL;
  g_autoptr(GDateTime) date = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *long_date = NULL;
  g_autofree char *job_name = NULL;
  Job *job;

  g_return_val_if_fail (VD_IS_STORE (store), NULL);
  g_return_val_if_fail (g_date_valid_dmy (day, month, year), NULL);

  job = g_new0 (Job, 1);
  job->store = g_object_ref (store);
  job->year = year;
  job->month = month;
  job->day = day;
  job->sections = load_sections (store, year, month, day);
  job->pages = g_array_new (FALSE, FALSE, sizeof (Page));

  clinic = vd_store_dup_clinic_info (store);
  job->clinic_name = g_strdup (clinic != NULL && clinic->name != NULL ? clinic->name : _("VetDesk"));
  date = g_date_time_new (vd_store_get_time_zone (store), year, month, day, 12, 0, 0);
  /* Translators: the printed schedule's day, strftime format */
  long_date = g_date_time_format (date, _("%A, %-d %B %Y"));
  /* Translators: under the clinic's name on the printed schedule */
  job->date_text = g_strdup_printf (_("Schedule for %s"), long_date);
  now = vd_time_to_zone (g_get_real_time () / G_USEC_PER_SEC, vd_store_get_time_zone (store));
  /* Translators: when the schedule was printed, strftime format */
  job->printed_text = g_date_time_format (now, _("%-d %b %Y, %H:%M"));

  operation = gtk_print_operation_new ();
  /* Translators: the print job's name, %s is the day */
  job_name = g_strdup_printf (_("Schedule %04d-%02d-%02d"), year, month, day);
  gtk_print_operation_set_job_name (operation, job_name);
  gtk_print_operation_set_unit (operation, GTK_UNIT_POINTS);
  gtk_print_operation_set_use_full_page (operation, FALSE);
  gtk_print_operation_set_embed_page_setup (operation, TRUE);
  g_object_set_data_full (G_OBJECT (operation), "vd-print-job", job, (GDestroyNotify) job_free);
  g_signal_connect (operation, "begin-print", G_CALLBACK (begin_print_cb), job);
  g_signal_connect (operation, "draw-page", G_CALLBACK (draw_page_cb), job);
  return operation;
}
