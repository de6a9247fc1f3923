/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-test-change.h — filling a change cell by cell in tests, by column name: text (NULL
 * for a NULL cell) and booleans. Header-only, so any test can include it whatever it links. */
#pragma once

#include "vd-change.h"

G_BEGIN_DECLS

static inline void
vd_test_set_text (VdChange   *change,
                  const char *column,
                  const char *text)
{
  VdValue value = { VD_VALUE_NULL };

  if (text != NULL)
    vd_value_set_text (&value, text);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static inline void
vd_test_set_bool (VdChange   *change,
                  const char *column,
                  gboolean    b)
{
  VdValue value = { VD_VALUE_NULL };

  vd_value_set_bool (&value, b);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

G_END_DECLS
