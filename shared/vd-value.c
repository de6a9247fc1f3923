/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-value.c — one typed cell value, and its validation against a registry column with
 * sentences a person can act on. */
#define G_LOG_DOMAIN "vdshared"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "vd-value.h"
#include "vd-error.h"
#include "vd-id.h"

/* Offending values are quoted in messages only up to this many characters, so a 10,000
 * character note does not end up in a dialog or a log line. */
#define DISPLAY_MAX_CHARS 40

void
vd_value_clear (VdValue *value)
{
  g_return_if_fail (value != NULL);

  if (value->kind == VD_VALUE_TEXT)
    g_free (value->s);
  memset (value, 0, sizeof *value);
  value->kind = VD_VALUE_NULL;
}

/* Like the setters, replaces what dest held, so dest must be initialised ({ 0 } is a
 * null value). */
void
vd_value_copy (const VdValue *src,
               VdValue       *dest)
{
  g_return_if_fail (src != NULL);
  g_return_if_fail (dest != NULL);

  if (src == dest)
    return;

  if (src->kind == VD_VALUE_TEXT)
    {
      char *copy = g_strdup (src->s);

      vd_value_clear (dest);
      dest->kind = VD_VALUE_TEXT;
      dest->s = copy;
      return;
    }

  vd_value_clear (dest);
  *dest = *src;
}

gboolean
vd_value_equal (const VdValue *a,
                const VdValue *b)
{
  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);

  if (a->kind != b->kind)
    return FALSE;

  switch (a->kind)
    {
    case VD_VALUE_NULL:
      return TRUE;
    case VD_VALUE_INT:
      return a->i == b->i;
    case VD_VALUE_REAL:
      return a->r == b->r;
    case VD_VALUE_BOOL:
      return (!a->b) == (!b->b);
    case VD_VALUE_TEXT:
      return g_strcmp0 (a->s, b->s) == 0;
    default:
      return FALSE;
    }
}

void
vd_value_set_null (VdValue *value)
{
  g_return_if_fail (value != NULL);

  vd_value_clear (value);
}

void
vd_value_set_int (VdValue *value,
                  gint64   i)
{
  g_return_if_fail (value != NULL);

  vd_value_clear (value);
  value->kind = VD_VALUE_INT;
  value->i = i;
}

void
vd_value_set_real (VdValue *value,
                   double   r)
{
  g_return_if_fail (value != NULL);

  vd_value_clear (value);
  value->kind = VD_VALUE_REAL;
  value->r = r;
}

void
vd_value_set_bool (VdValue  *value,
                   gboolean  b)
{
  g_return_if_fail (value != NULL);

  vd_value_clear (value);
  value->kind = VD_VALUE_BOOL;
  value->b = b ? TRUE : FALSE;
}

void
vd_value_set_text (VdValue    *value,
                   const char *s)
{
  g_return_if_fail (value != NULL);

  vd_value_take_text (value, g_strdup (s));
}

/* A NULL string makes a null value, so callers need not special-case missing text. */
void
vd_value_take_text (VdValue *value,
                    char    *s)
{
  g_return_if_fail (value != NULL);

  if (value->kind == VD_VALUE_TEXT && value->s == s)
    return;

  vd_value_clear (value);
  if (s == NULL)
    return;
  value->kind = VD_VALUE_TEXT;
  value->s = s;
}

/* Validation */

/* Numeric bounds that the registry has no field for. */
static const struct
{
  const char *table;
  const char *column;
  double      above;   /* exclusive lower bound */
  double      max;     /* inclusive upper bound */
} real_ranges[] = {
  { "pets", "weight_kg", 0.0, 2000.0 },
};

/* The value as it may be quoted in a message: at most DISPLAY_MAX_CHARS characters and
 * control characters replaced, so the sentence stays one readable line. s must be valid
 * UTF-8. */
static char *
display_text (const char *s)
{
  GString *out = g_string_new (NULL);
  guint n = 0;

  for (const char *p = s; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (n == DISPLAY_MAX_CHARS)
        {
          g_string_append (out, "…");
          break;
        }
      if (g_unichar_iscntrl (c))
        g_string_append_c (out, '?');
      else
        g_string_append_unichar (out, c);
      n++;
    }

  return g_string_free (out, FALSE);
}

static gboolean
is_leap_year (int year)
{
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int
days_in_month (int year,
               int month)
{
  static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

  g_assert (month >= 1 && month <= 12);
  if (month == 2 && is_leap_year (year))
    return 29;
  return days[month - 1];
}

/* Reads n ASCII digits; FALSE on anything else. */
static gboolean
read_digits (const char *s,
             guint       n,
             int        *out)
{
  int v = 0;

  for (guint i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit (s[i]))
        return FALSE;
      v = v * 10 + (s[i] - '0');
    }
  *out = v;
  return TRUE;
}

/* "YYYY-MM-DD" at the start of s, a real calendar day of years 0001–9999. Does not look
 * past the tenth byte. */
static gboolean
parse_date_prefix (const char *s)
{
  int year, month, day;

  if (!read_digits (s, 4, &year) || s[4] != '-' ||
      !read_digits (s + 5, 2, &month) || s[7] != '-' ||
      !read_digits (s + 8, 2, &day))
    return FALSE;

  if (year < 1 || month < 1 || month > 12)
    return FALSE;

  return day >= 1 && day <= days_in_month (year, month);
}

static gboolean
is_date (const char *s)
{
  return strlen (s) == 10 && parse_date_prefix (s);
}

/* "YYYY-MM-DDTHH:MM:SSZ" exactly: uppercase T and Z, no fraction, no offset, no leap
 * second (GDateTime and the other replicas could not represent it). */
static gboolean
is_timestamp (const char *s)
{
  int hour, minute, second;

  if (strlen (s) != 20 || !parse_date_prefix (s) || s[10] != 'T')
    return FALSE;

  if (!read_digits (s + 11, 2, &hour) || s[13] != ':' ||
      !read_digits (s + 14, 2, &minute) || s[16] != ':' ||
      !read_digits (s + 17, 2, &second) || s[19] != 'Z')
    return FALSE;

  return hour <= 23 && minute <= 59 && second <= 59;
}

static gboolean
is_email (const char *s)
{
  const char *at = strchr (s, '@');
  const char *domain;

  if (at == NULL || at == s || strchr (at + 1, '@') != NULL)
    return FALSE;
  if (g_utf8_strlen (s, -1) > 254)
    return FALSE;

  for (const char *p = s; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c) || g_unichar_iscntrl (c))
        return FALSE;
    }

  domain = at + 1;
  if (strchr (domain, '.') == NULL || domain[0] == '.' ||
      domain[strlen (domain) - 1] == '.' || strstr (domain, "..") != NULL)
    return FALSE;

  return TRUE;
}

static gboolean
is_phone (const char *s)
{
  guint digits = 0;

  for (const char *p = s; *p != '\0'; p++)
    {
      if (g_ascii_isdigit (*p))
        digits++;
      else if (strchr (" +-().", *p) == NULL)
        return FALSE;
    }

  return digits >= 3;
}

static gboolean
is_microchip (const char *s)
{
  guint n = 0;

  for (const char *p = s; *p != '\0'; p++, n++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
    }

  return n == 15;
}

static gboolean
is_color (const char *s)
{
  if (s[0] != '#' || strlen (s) != 7)
    return FALSE;

  for (guint i = 1; i < 7; i++)
    {
      if (!g_ascii_isxdigit (s[i]))
        return FALSE;
    }

  return TRUE;
}

static char *
join_enum_values (const VdColumn *column)
{
  return g_strjoinv (", ", (char **) column->enum_values);
}

/* The sentence for a value of the wrong kind, saying what the column expects. */
static void
set_wrong_kind_error (const VdColumn  *column,
                      GError         **error)
{
  const char *label = vd_column_label (column);
  g_autofree char *allowed = NULL;

  switch (column->type)
    {
    case VD_TYPE_TEXT:
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s must be text."), label);
      break;
    case VD_TYPE_INTEGER:
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s must be a whole number."), label);
      break;
    case VD_TYPE_REAL:
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s must be a number."), label);
      break;
    case VD_TYPE_BOOLEAN:
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s must be true or false."), label);
      break;
    case VD_TYPE_DATE:
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s must be a date written as YYYY-MM-DD."), label);
      break;
    case VD_TYPE_TIMESTAMP:
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s must be a UTC time written as YYYY-MM-DDTHH:MM:SSZ."), label);
      break;
    case VD_TYPE_UUID:
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s must be an id written as a UUID."), label);
      break;
    case VD_TYPE_ENUM:
      allowed = join_enum_values (column);
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s must be one of: %s."), label, allowed);
      break;
    default:
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s has a value of the wrong kind."), label);
      break;
    }
}

static gboolean
validate_real (const VdColumn  *column,
               VdValue         *value,
               GError         **error)
{
  const char *label = vd_column_label (column);

  if (value->kind == VD_VALUE_INT)
    {
      gint64 i = value->i;

      vd_value_set_real (value, (double) i);
    }

  if (value->kind != VD_VALUE_REAL)
    {
      set_wrong_kind_error (column, error);
      return FALSE;
    }

  if (!isfinite (value->r))
    {
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s must be a finite number."), label);
      return FALSE;
    }

  for (guint i = 0; i < G_N_ELEMENTS (real_ranges); i++)
    {
      if (strcmp (real_ranges[i].table, column->table->name) != 0 ||
          strcmp (real_ranges[i].column, column->name) != 0)
        continue;

      if (!(value->r > real_ranges[i].above && value->r <= real_ranges[i].max))
        {
          g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                       _("The %s %g is out of range: it must be more than %g and at most %g."),
                       label, value->r, real_ranges[i].above, real_ranges[i].max);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
validate_format (const VdColumn  *column,
                 const char      *s,
                 GError         **error)
{
  const char *label = vd_column_label (column);
  g_autofree char *shown = NULL;

  switch (column->format)
    {
    case VD_FORMAT_NONE:
      return TRUE;
    case VD_FORMAT_EMAIL:
      if (is_email (s))
        return TRUE;
      shown = display_text (s);
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s “%s” is not valid: it must look like name@example.com, without spaces."),
                   label, shown);
      return FALSE;
    case VD_FORMAT_PHONE:
      if (is_phone (s))
        return TRUE;
      shown = display_text (s);
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s “%s” is not valid: use only digits, spaces and + - ( ) ., with at least 3 digits."),
                   label, shown);
      return FALSE;
    case VD_FORMAT_MICROCHIP:
      if (is_microchip (s))
        return TRUE;
      shown = display_text (s);
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s “%s” is not valid: it must be exactly 15 digits."),
                   label, shown);
      return FALSE;
    case VD_FORMAT_COLOR:
      if (is_color (s))
        return TRUE;
      shown = display_text (s);
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s “%s” is not valid: it must be # followed by 6 hexadecimal digits, like #3584e4."),
                   label, shown);
      return FALSE;
    default:
      return TRUE;
    }
}

static gboolean
validate_text (const VdColumn  *column,
               VdValue         *value,
               GError         **error)
{
  const char *label = vd_column_label (column);
  const char *s = value->s;
  g_autofree char *shown = NULL;
  g_autofree char *allowed = NULL;
  char uuid[VD_UUID_LEN + 1];

  if (value->kind != VD_VALUE_TEXT || s == NULL)
    {
      set_wrong_kind_error (column, error);
      return FALSE;
    }

  /* Not quoted: bytes that are not UTF-8 cannot be shown safely. */
  if (!g_utf8_validate (s, -1, NULL))
    {
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s must be valid UTF-8 text."), label);
      return FALSE;
    }

  if (column->max_length > 0)
    {
      glong n = g_utf8_strlen (s, -1);

      if (n > (glong) column->max_length)
        {
          g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                       g_dngettext (GETTEXT_PACKAGE,
                                    "The %s must be at most %u character long; it has %ld.",
                                    "The %s must be at most %u characters long; it has %ld.",
                                    column->max_length),
                       label, column->max_length, n);
          return FALSE;
        }
    }

  switch (column->type)
    {
    case VD_TYPE_TEXT:
      return validate_format (column, s, error);

    case VD_TYPE_DATE:
      if (is_date (s))
        return TRUE;
      shown = display_text (s);
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s “%s” is not a valid date: it must be a real day written as YYYY-MM-DD."),
                   label, shown);
      return FALSE;

    case VD_TYPE_TIMESTAMP:
      if (is_timestamp (s))
        return TRUE;
      shown = display_text (s);
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s “%s” is not a valid time: it must be a real UTC time written as YYYY-MM-DDTHH:MM:SSZ."),
                   label, shown);
      return FALSE;

    case VD_TYPE_UUID:
      if (vd_uuid_normalize (s, uuid))
        {
          /* Same length, so the canonical form fits in place. */
          memcpy (value->s, uuid, sizeof uuid);
          return TRUE;
        }
      shown = display_text (s);
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s “%s” is not a valid id: it must be a UUID such as 0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b."),
                   label, shown);
      return FALSE;

    case VD_TYPE_ENUM:
      g_assert (column->enum_values != NULL);
      if (g_strv_contains (column->enum_values, s))
        return TRUE;
      shown = display_text (s);
      allowed = join_enum_values (column);
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s must be one of: %s; “%s” is not."),
                   label, allowed, shown);
      return FALSE;

    case VD_TYPE_INTEGER:
    case VD_TYPE_REAL:
    case VD_TYPE_BOOLEAN:
    default:
      g_assert_not_reached ();
      return FALSE;
    }
}

gboolean
vd_value_validate (const VdColumn  *column,
                   VdValue         *value,
                   GError         **error)
{
  g_return_val_if_fail (column != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (value->kind == VD_VALUE_NULL)
    {
      if (column->nullable)
        return TRUE;
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s is required."), vd_column_label (column));
      return FALSE;
    }

  switch (column->type)
    {
    case VD_TYPE_BOOLEAN:
      if (value->kind == VD_VALUE_BOOL)
        return TRUE;
      set_wrong_kind_error (column, error);
      return FALSE;

    case VD_TYPE_INTEGER:
      if (value->kind == VD_VALUE_INT)
        return TRUE;
      set_wrong_kind_error (column, error);
      return FALSE;

    case VD_TYPE_REAL:
      return validate_real (column, value, error);

    case VD_TYPE_TEXT:
    case VD_TYPE_DATE:
    case VD_TYPE_TIMESTAMP:
    case VD_TYPE_UUID:
    case VD_TYPE_ENUM:
      return validate_text (column, value, error);

    default:
      g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                   _("The %s has a type this version does not know."),
                   vd_column_label (column));
      return FALSE;
    }
}
