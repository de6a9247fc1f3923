/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-value.h — one typed cell value, and its validation against a column. */
#pragma once

#include <glib.h>
#include "vd-schema.h"

G_BEGIN_DECLS

typedef enum
{
  VD_VALUE_NULL,
  VD_VALUE_INT,
  VD_VALUE_REAL,
  VD_VALUE_BOOL,
  VD_VALUE_TEXT,   /* text, date, timestamp, uuid, enum */
} VdValueKind;

typedef struct
{
  VdValueKind kind;
  union
  {
    gint64    i;
    double    r;
    gboolean  b;
    char     *s;   /* owned */
  };
} VdValue;

void      vd_value_clear      (VdValue       *value);
void      vd_value_copy       (const VdValue *src,
                               VdValue       *dest);
gboolean  vd_value_equal      (const VdValue *a,
                               const VdValue *b);
void      vd_value_set_null   (VdValue       *value);
void      vd_value_set_int    (VdValue       *value,
                               gint64         i);
void      vd_value_set_real   (VdValue       *value,
                               double         r);
void      vd_value_set_bool   (VdValue       *value,
                               gboolean       b);
void      vd_value_set_text   (VdValue       *value,
                               const char    *s);
void      vd_value_take_text  (VdValue       *value,
                               char          *s);

/* Checks a value for a column: kind for the column's type (an integer is accepted for a
 * real column and stored as real), nullability, max length in characters, UTF-8, enum
 * membership, date/timestamp/uuid form, format. On failure sets VD_ERROR_INVALID_CHANGE
 * with a translated sentence naming the column ("The email address “x” is not valid.",
 * "The species must be one of: dog, cat, …"). May normalise value in place (integer to
 * real, uuid to lowercase). */
gboolean  vd_value_validate   (const VdColumn *column,
                               VdValue        *value,
                               GError        **error);

G_END_DECLS
