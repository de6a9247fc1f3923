/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-rules.c — the clinic's domain rules, stated once: live and finished appointment
 * statuses and the steps between them, appointment length, whole new rows, bookable staff
 * roles, and the registry's per-table write rules. The desk and syncd both call these. */
#define G_LOG_DOMAIN "vdshared"

#include "config.h"

#include <string.h>

#include "vd-rules.h"
#include "vd-time.h"

/* ---- Appointments ---------------------------------------------------------------- */

/* Keep VD_RULES_INACTIVE_STATUSES_SQL in step (test-rules checks it). */
static const char * const inactive_statuses[] = { "cancelled", "no_show", NULL };

gboolean
vd_rules_status_is_active (const char *status)
{
  return status == NULL || !g_strv_contains (inactive_statuses, status);
}

static const struct
{
  const char *from;
  const char *to[5];
} status_steps[] = {
  { "scheduled",   { "confirmed", "checked_in", "no_show", "cancelled", NULL } },
  { "confirmed",   { "checked_in", "no_show", "cancelled", NULL } },
  { "checked_in",  { "in_progress", "cancelled", NULL } },
  { "in_progress", { "completed", NULL } },
};

const char * const *
vd_rules_next_statuses (const char *status)
{
  static const char * const none[] = { NULL };

  for (guint i = 0; i < G_N_ELEMENTS (status_steps); i++)
    if (g_strcmp0 (status_steps[i].from, status) == 0)
      return status_steps[i].to;
  return none;
}

gboolean
vd_rules_appointment_times_ok (gint64 starts_at,
                               gint64 ends_at)
{
  /* Unsigned: once the order is known the difference always fits, even between extreme
   * values where the signed one would overflow. */
  return ends_at > starts_at &&
         (guint64) ends_at - (guint64) starts_at <= VD_RULES_APPOINTMENT_MAX_SECONDS;
}

gboolean
vd_rules_appointment_text_times_ok (const char *starts_at,
                                    const char *ends_at)
{
  gint64 s, e;

  if (starts_at == NULL || ends_at == NULL ||
      !vd_time_parse_utc (starts_at, &s, NULL) || !vd_time_parse_utc (ends_at, &e, NULL))
    return TRUE;
  return vd_rules_appointment_times_ok (s, e);
}

gboolean
vd_rules_role_takes_appointments (const char *staff_role)
{
  static const char * const bookable[] = { "veterinarian", "groomer", "technician", NULL };

  return staff_role != NULL && g_strv_contains (bookable, staff_role);
}

/* ---- Rows ------------------------------------------------------------------------ */

gboolean
vd_rules_bool_default (const VdColumn *column)
{
  g_return_val_if_fail (column != NULL && column->table != NULL, FALSE);

  return column->type == VD_TYPE_BOOLEAN && strcmp (column->table->name, "staff") == 0 &&
         strcmp (column->name, "active") == 0;
}

const VdColumn *
vd_rules_missing_required (const VdChange *change)
{
  const VdTable *table;
  const VdColumn *deleted;

  g_return_val_if_fail (change != NULL && change->table != NULL, NULL);

  table = change->table;
  deleted = vd_table_deleted_column (table);
  for (guint c = 0; c < table->n_columns; c++)
    {
      const VdColumn *column = &table->columns[c];
      const VdCell *cell;

      if (column->nullable || column == deleted)
        continue;
      cell = vd_change_get_cell (change, column->name);
      if (cell == NULL || cell->value.kind == VD_VALUE_NULL)
        return column;
    }
  return NULL;
}

/* ---- Tables ---------------------------------------------------------------------- */

gboolean
vd_rules_table_is_write_once (const VdTable *table)
{
  g_return_val_if_fail (table != NULL, FALSE);

  return table->write_once;
}

/* In the order of their VdClinicRole flags: the flag of clinic_roles[i] is 1 << i. */
static const char * const clinic_roles[] = {
  "front_desk", "veterinarian", "technician", "groomer", "clinic_admin", NULL
};

G_STATIC_ASSERT (VD_CLINIC_ROLE_CLINIC_ADMIN == 1 << 4);
G_STATIC_ASSERT (VD_CLINIC_ROLES_ALL == (1 << (G_N_ELEMENTS (clinic_roles) - 1)) - 1);

const char * const *
vd_rules_clinic_roles (void)
{
  return clinic_roles;
}

VdClinicRole
vd_rules_clinic_role_from_name (const char *role)
{
  for (guint i = 0; role != NULL && clinic_roles[i] != NULL; i++)
    if (strcmp (clinic_roles[i], role) == 0)
      return (VdClinicRole) (1 << i);
  return 0;
}

gboolean
vd_rules_role_may_write (const char    *role,
                         const VdTable *table)
{
  VdClinicRole flag;

  g_return_val_if_fail (table != NULL, FALSE);

  flag = vd_rules_clinic_role_from_name (role);
  if (flag == 0 || table->server_owned)
    return FALSE;
  /* §5: a clinic_admin may also do what every other clinic role may. */
  if (flag == VD_CLINIC_ROLE_CLINIC_ADMIN)
    return TRUE;
  return (table->writers & flag) != 0;
}
