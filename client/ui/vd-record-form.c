/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-record-form.c — rows in and out of the record pages: each field is validated on its
 * own so its row can be marked, and the store's commit still has the final word. */
#define G_LOG_DOMAIN "vetdesk"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vd-record-form.h"
#include "vd-store-models.h"
#include "vd-day-view.h"
#include "vd-rules.h"
#include "vd-time.h"

/* ---- one row ---- */

VdRecord *
vd_record_load (VdStore    *store,
                const char *table_name,
                const char *id)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  VdRecord *record;

  g_return_val_if_fail (VD_IS_STORE (store), NULL);
  g_return_val_if_fail (table != NULL, NULL);

  if (id == NULL || *id == '\0')
    return NULL;
  record = g_new0 (VdRecord, 1);
  record->table = table;
  record->values = g_new0 (VdValue, table->n_columns);
  if (!vd_store_get_row (store, table, id, record->values, NULL))
    {
      vd_record_free (record);
      return NULL;
    }
  return record;
}

void
vd_record_free (VdRecord *record)
{
  if (record == NULL)
    return;
  for (guint i = 0; i < record->table->n_columns; i++)
    vd_value_clear (&record->values[i]);
  g_free (record->values);
  g_free (record);
}

static const VdValue *
record_value (VdRecord   *record,
              const char *column)
{
  const VdColumn *c = vd_table_lookup_column (record->table, column);

  g_return_val_if_fail (c != NULL, NULL);
  return &record->values[c->index];
}

const char *
vd_record_get_text (VdRecord   *record,
                    const char *column)
{
  const VdValue *value = record_value (record, column);

  return value != NULL && value->kind == VD_VALUE_TEXT ? value->s : "";
}

gboolean
vd_record_get_bool (VdRecord   *record,
                    const char *column)
{
  const VdValue *value = record_value (record, column);

  return value != NULL && value->kind == VD_VALUE_BOOL && value->b;
}

gboolean
vd_record_get_real (VdRecord   *record,
                    const char *column,
                    double     *out_value)
{
  const VdValue *value = record_value (record, column);

  if (value == NULL)
    return FALSE;
  if (value->kind == VD_VALUE_REAL)
    *out_value = value->r;
  else if (value->kind == VD_VALUE_INT)
    *out_value = (double) value->i;
  else
    return FALSE;
  return TRUE;
}

/* ---- a form becoming a change ---- */

void
vd_form_change_init (VdFormChange *form,
                     VdStore      *store,
                     const char   *table_name,
                     const char   *id)
{
  memset (form, 0, sizeof *form);
  form->change = vd_store_new_change (store, table_name, id != NULL && *id != '\0' ? id : NULL);
}

void
vd_form_change_clear (VdFormChange *form)
{
  g_clear_pointer (&form->change, vd_change_free);
  g_clear_pointer (&form->first_error, g_free);
  form->first_error_widget = NULL;
}

void
vd_form_mark_valid (GtkWidget *widget)
{
  if (widget == NULL)
    return;
  gtk_widget_remove_css_class (widget, "error");
  gtk_widget_set_tooltip_text (widget, NULL);
}

void
vd_form_change_fail (VdFormChange *form,
                     const char   *message,
                     GtkWidget    *widget)
{
  if (widget != NULL)
    {
      gtk_widget_add_css_class (widget, "error");
      gtk_widget_set_tooltip_text (widget, message);
    }
  if (form->first_error == NULL)
    {
      form->first_error = g_strdup (message);
      form->first_error_widget = widget;
    }
}

void
vd_form_change_value (VdFormChange *form,
                      const char   *column,
                      VdValue      *value,
                      GtkWidget    *widget)
{
  const VdColumn *c = vd_table_lookup_column (form->change->table, column);
  g_autoptr(GError) error = NULL;

  g_return_if_fail (c != NULL);

  if (!vd_value_validate (c, value, &error))
    {
      vd_form_change_fail (form, error->message, widget);
      vd_value_clear (value);
      return;
    }
  vd_form_mark_valid (widget);
  vd_change_take_cell (form->change, c, value);
}

void
vd_form_change_text (VdFormChange *form,
                     const char   *column,
                     const char   *text,
                     GtkWidget    *widget)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (text != NULL ? text : ""));
  VdValue value = { VD_VALUE_NULL };

  if (*trimmed != '\0')
    vd_value_take_text (&value, g_steal_pointer (&trimmed));
  vd_form_change_value (form, column, &value, widget);
}

void
vd_form_change_bool (VdFormChange *form,
                     const char   *column,
                     gboolean      b)
{
  VdValue value = { VD_VALUE_NULL };

  vd_value_set_bool (&value, b);
  vd_form_change_value (form, column, &value, NULL);
}

char *
vd_text_view_dup_text (GtkTextView *view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

/* ---- labels ---- */

/* The registry's values and labels (vd-schema.h), under the names the pages use. */

const char * const *
vd_pet_species (void)
{
  return vd_enum_values ("pets", "species");
}

const char *
vd_pet_species_label (const char *value)
{
  return vd_enum_label ("pets", "species", value);
}

const char * const *
vd_pet_sexes (void)
{
  return vd_enum_values ("pets", "sex");
}

const char *
vd_pet_sex_label (const char *value)
{
  return vd_enum_label ("pets", "sex", value);
}

const char * const *
vd_staff_roles (void)
{
  return vd_enum_values ("staff", "role");
}

const char *
vd_staff_role_label (const char *value)
{
  return vd_enum_label ("staff", "role", value);
}

GListModel *
vd_labels_model (const char * const *values,
                 const char        *(*label) (const char *))
{
  GtkStringList *list = gtk_string_list_new (NULL);

  for (guint i = 0; values[i] != NULL; i++)
    gtk_string_list_append (list, label (values[i]));
  return G_LIST_MODEL (list);
}

guint
vd_values_index (const char * const *values,
                 const char         *value)
{
  for (guint i = 0; values[i] != NULL; i++)
    if (g_strcmp0 (values[i], value) == 0)
      return i;
  return GTK_INVALID_LIST_POSITION;
}

/* ---- age and weight ---- */

char *
vd_describe_age (const char *birth_date,
                 GDate      *today)
{
  int y, m, d;
  int years, months, days;
  GDate born;

  if (birth_date == NULL || sscanf (birth_date, "%4d-%2d-%2d", &y, &m, &d) != 3 ||
      !g_date_valid_dmy (d, m, y))
    return NULL;
  g_date_clear (&born, 1);
  g_date_set_dmy (&born, d, m, y);
  if (g_date_compare (&born, today) > 0)
    return NULL;

  /* Whole months first, counted on the calendar (a birthday on the 31st has its monthly
   * anniversary on the month's last day), then the days left over. */
  months = (g_date_get_year (today) - y) * 12 + (int) g_date_get_month (today) - m;
  if ((int) g_date_get_day (today) < d &&
      g_date_get_day (today) < g_date_get_days_in_month (g_date_get_month (today), g_date_get_year (today)))
    months--;
  years = months / 12;
  months %= 12;

  if (years > 0 && months > 0)
    {
      g_autofree char *y_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d year", "%d years", years), years);
      g_autofree char *m_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d month", "%d months", months), months);

      /* Translators: a pet's age in years and months, e.g. "3 years, 2 months" */
      return g_strdup_printf (_("%s, %s"), y_text, m_text);
    }
  if (years > 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d year", "%d years", years), years);
  if (months > 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d month", "%d months", months), months);

  days = g_date_days_between (&born, today);
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d day", "%d days", days), days);
}

char *
vd_format_weight (double kg)
{
  /* printf follows LC_NUMERIC, which GTK set from the person's locale. */
  char *text = g_strdup_printf ("%.2f", kg);
  char *end = text + strlen (text) - 1;

  /* "12.50" → "12.5", "12.00" → "12". */
  while (end > text && *end == '0')
    *end-- = '\0';
  if (end > text && !g_ascii_isdigit (*end))
    *end = '\0';
  return text;
}

gboolean
vd_parse_weight (const char *text,
                 double     *out_kg)
{
  g_autofree char *copy = g_strstrip (g_strdup (text != NULL ? text : ""));
  char *end = NULL;
  double value;

  if (*copy == '\0')
    return FALSE;
  /* Either mark is the decimal one: a weight has no thousands. */
  for (char *p = copy; *p != '\0'; p++)
    if (*p == ',')
      *p = '.';
  value = g_ascii_strtod (copy, &end);
  if (end == copy || *end != '\0' || !isfinite (value))
    return FALSE;
  *out_kg = value;
  return TRUE;
}

char *
vd_client_display_name (const char *first_name,
                        const char *last_name)
{
  /* Translators: a client's full name, first name then last name */
  return g_strstrip (g_strdup_printf (C_("client full name", "%s %s"),
                                      first_name != NULL ? first_name : "",
                                      last_name != NULL ? last_name : ""));
}

/* ---- rows shared by the pages ---- */

GtkWidget *
vd_pet_row_new (gpointer item)
{
  VdPetItem *pet = item;
  GtkWidget *row = adw_action_row_new ();
  const char *breed = vd_pet_item_get_breed (pet);
  const char *allergies = vd_pet_item_get_allergies (pet);
  g_autofree char *subtitle = NULL;

  if (breed != NULL && *breed != '\0')
    /* Translators: species · breed, under a pet's name */
    subtitle = g_strdup_printf (_("%s · %s"), vd_pet_species_label (vd_pet_item_get_species (pet)), breed);
  else
    subtitle = g_strdup (vd_pet_species_label (vd_pet_item_get_species (pet)));

  gtk_widget_set_name (row, vd_pet_item_get_id (pet));
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), vd_pet_item_get_name (pet));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);

  if (allergies != NULL && *allergies != '\0')
    {
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *icon = gtk_image_new_from_icon_name ("dialog-warning-symbolic");
      g_autofree char *text = g_strdup_printf (_("Allergies: %s"), allergies);
      GtkWidget *label = gtk_label_new (text);

      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 32);
      gtk_widget_set_tooltip_text (box, text);
      gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
      gtk_box_append (GTK_BOX (box), icon);
      gtk_box_append (GTK_BOX (box), label);
      gtk_widget_add_css_class (box, "allergy-tag");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), box);
      gtk_widget_add_css_class (row, "allergy-row");
    }
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  return row;
}

GtkWidget *
vd_history_row_new (gpointer   item,
                    GTimeZone *zone)
{
  VdAppointmentItem *appointment = item;
  GtkWidget *row = adw_action_row_new ();
  gint64 starts_at = vd_appointment_item_get_starts_at (appointment);
  g_autoptr(GDateTime) from = vd_time_to_zone (starts_at, zone);
  /* Translators: when an appointment was or will be, in a history, strftime format */
  g_autofree char *when = g_date_time_format (from, _("%a %-d %b %Y, %H:%M"));
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;
  const char *status = vd_appointment_item_get_status (appointment);
  const char *reason = vd_appointment_item_get_reason (appointment);
  GtkWidget *status_label = gtk_label_new (vd_appointment_status_label (status));

  /* Translators: an appointment in a history: date and time · kind of visit */
  title = g_strdup_printf (_("%s · %s"), when, vd_appointment_kind_label (vd_appointment_item_get_kind (appointment)));
  if (reason != NULL && *reason != '\0')
    /* Translators: pet · staff member · reason, under an appointment in a history */
    subtitle = g_strdup_printf (_("%s · %s · %s"), vd_appointment_item_get_pet_name (appointment),
                                vd_appointment_item_get_staff_name (appointment), reason);
  else
    /* Translators: pet · staff member, under an appointment in a history */
    subtitle = g_strdup_printf (_("%s · %s"), vd_appointment_item_get_pet_name (appointment),
                                vd_appointment_item_get_staff_name (appointment));

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 1);

  if (starts_at > g_get_real_time () / G_USEC_PER_SEC &&
      vd_rules_status_is_active (status))
    {
      GtkWidget *tag = gtk_label_new (_("Upcoming"));

      gtk_widget_add_css_class (tag, "upcoming-tag");
      gtk_widget_set_valign (tag, GTK_ALIGN_CENTER);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), tag);
    }
  gtk_widget_add_css_class (status_label, "dim-label");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), status_label);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (row), "win.edit-appointment");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (row), "s", vd_appointment_item_get_id (appointment));
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  return row;
}

GtkWidget *
vd_placeholder_new (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_set_margin_top (label, 18);
  gtk_widget_set_margin_bottom (label, 18);
  gtk_widget_set_margin_start (label, 12);
  gtk_widget_set_margin_end (label, 12);
  gtk_widget_add_css_class (label, "dim-label");
  return label;
}
