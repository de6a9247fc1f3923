/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-store-devices.c — the desks of a clinic as syncd sees them: a device row touched on
 * every sync, the pulls it reported, and the cursor and lag the monitoring reads. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-store.h"

#include "vd-id.h"
#include "vds-store-private.h"

/* ---- Devices ----------------------------------------------------------------------- */

typedef struct
{
  VdsParam params[13];
} TouchDevice;

static gboolean
touch_device_txn (VdsStore *self,
                  VdsDb    *db,
                  gpointer  data,
                  GError  **error)
{
  TouchDevice *td = data;

  /* lag_since: a pull that reached the clinic's sequence ends the device's lag; one that
   * did not keeps when it began (a push may have set it meanwhile). excluded.lag_since
   * carries "NULL = caught up" from the VALUES. */
  return vds_db_exec (db,
                      "INSERT INTO devices (tenant_id, device_id, user_id, name, app_version, "
                      "first_seen, last_seen, last_push_at, last_pull_at, cursor, pending, "
                      "last_error_code, last_error_message, last_error_at, rejected, lag_since) "
                      "VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, $12, "
                      "CASE WHEN CAST ($11 AS TEXT) IS NULL THEN NULL "
                      "ELSE CAST ($6 AS BIGINT) END, $13, "
                      "CASE WHEN COALESCE (CAST ($9 AS BIGINT), 0) >= "
                      "COALESCE ((SELECT s.seq FROM vd_seq s WHERE s.tenant_id = $1), 0) "
                      "THEN NULL ELSE CAST ($6 AS BIGINT) END) "
                      "ON CONFLICT (tenant_id, device_id) DO UPDATE SET "
                      "user_id = COALESCE (excluded.user_id, devices.user_id), "
                      "name = COALESCE (excluded.name, devices.name), "
                      "app_version = COALESCE (excluded.app_version, devices.app_version), "
                      "last_seen = excluded.last_seen, "
                      "last_push_at = COALESCE (excluded.last_push_at, devices.last_push_at), "
                      "last_pull_at = COALESCE (excluded.last_pull_at, devices.last_pull_at), "
                      "cursor = COALESCE (excluded.cursor, devices.cursor), "
                      "pending = COALESCE (excluded.pending, devices.pending), "
                      "last_error_code = COALESCE (excluded.last_error_code, devices.last_error_code), "
                      "last_error_message = CASE WHEN excluded.last_error_code IS NULL "
                      "THEN devices.last_error_message ELSE excluded.last_error_message END, "
                      "last_error_at = COALESCE (excluded.last_error_at, devices.last_error_at), "
                      "rejected = devices.rejected + excluded.rejected, "
                      "lag_since = CASE WHEN excluded.cursor IS NULL THEN devices.lag_since "
                      "WHEN excluded.lag_since IS NULL THEN NULL "
                      "ELSE COALESCE (devices.lag_since, excluded.lag_since) END",
                      td->params, G_N_ELEMENTS (td->params), error);
}

gboolean
vds_store_report_device (VdsStore              *self,
                         const VdsDeviceReport *report,
                         GError               **error)
{
  TouchDevice td;
  const char *user_id;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (report != NULL && report->device_id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!vds_store_check_tenant_id (report->tenant_id, error))
    return FALSE;

  user_id = report->user_id;
  td.params[0] = VDS_TEXT (report->tenant_id);
  td.params[1] = VDS_TEXT (report->device_id);
  td.params[2] = VDS_TEXT (user_id != NULL && vd_uuid_is_valid (user_id) ? user_id : NULL);
  td.params[3] = VDS_NULL;
  td.params[4] = VDS_TEXT (report->app_version);
  td.params[5] = VDS_INT (report->now);
  td.params[6] = report->event == VDS_DEVICE_PUSHED ? VDS_INT (report->now) : VDS_NULL;
  td.params[7] = report->event == VDS_DEVICE_PULLED ? VDS_INT (report->now) : VDS_NULL;
  td.params[8] = report->event == VDS_DEVICE_PULLED ? VDS_INT (report->cursor) : VDS_NULL;
  td.params[9] = report->pending >= 0 ? VDS_INT (report->pending) : VDS_NULL;
  td.params[10] = VDS_TEXT (report->error_code);
  /* Only the code is kept: a refusal's sentence may quote the clinic's data, and
   * monitoring is for administrators, who must not see it. */
  td.params[11] = VDS_NULL;
  td.params[12] = VDS_INT (MAX (report->rejected, 0));
  return vds_store_run (self, VDS_TXN_NONE, touch_device_txn, &td, error);
}

typedef struct
{
  const VdsDeviceReport *reports;
  guint                  n_reports;
} ReportPulls;

static gboolean
report_pulls_txn (VdsStore *self,
                  VdsDb    *db,
                  gpointer  data,
                  GError  **error)
{
  ReportPulls *rp = data;

  for (guint i = 0; i < rp->n_reports; i++)
    {
      const VdsDeviceReport *r = &rp->reports[i];
      const char *user_id = r->user_id != NULL && vd_uuid_is_valid (r->user_id) ? r->user_id
                                                                                : NULL;
      VdsParam params[8] = {
        VDS_TEXT (r->tenant_id),
        VDS_TEXT (r->device_id),
        VDS_TEXT (user_id),
        VDS_TEXT (r->app_version),
        VDS_INT (r->now),
        VDS_INT (r->cursor),
        r->pending >= 0 ? VDS_INT (r->pending) : VDS_NULL,
        VDS_BOOL (r->reached),
      };

      /* As touch_device_txn for a pull, except last_seen (never backwards: a push of the
       * same device may have been written meanwhile) and lag_since (see the header). */
      if (!vds_db_exec (db,
                        "INSERT INTO devices (tenant_id, device_id, user_id, app_version, "
                        "first_seen, last_seen, last_pull_at, cursor, pending, lag_since) "
                        "VALUES ($1, $2, $3, $4, $5, $5, $5, $6, $7, "
                        "CASE WHEN CAST ($6 AS BIGINT) >= "
                        "COALESCE ((SELECT s.seq FROM vd_seq s WHERE s.tenant_id = $1), 0) "
                        "THEN NULL ELSE CAST ($5 AS BIGINT) END) "
                        "ON CONFLICT (tenant_id, device_id) DO UPDATE SET "
                        "user_id = COALESCE (excluded.user_id, devices.user_id), "
                        "app_version = COALESCE (excluded.app_version, devices.app_version), "
                        "last_seen = CASE WHEN excluded.last_seen > devices.last_seen "
                        "THEN excluded.last_seen ELSE devices.last_seen END, "
                        "last_pull_at = excluded.last_pull_at, "
                        "cursor = CASE WHEN excluded.cursor < devices.cursor THEN devices.cursor "
                        "ELSE excluded.cursor END, "  /* the greater: instances flush apart */
                        "pending = COALESCE (excluded.pending, devices.pending), "
                        "lag_since = CASE WHEN excluded.cursor < devices.cursor "
                        "THEN devices.lag_since WHEN excluded.lag_since IS NULL THEN NULL "
                        "WHEN CAST ($8 AS BOOLEAN) THEN excluded.lag_since "
                        "ELSE COALESCE (devices.lag_since, excluded.lag_since) END",
                        params, G_N_ELEMENTS (params), error))
        return FALSE;
    }
  return TRUE;
}

gboolean
vds_store_report_pulls (VdsStore              *self,
                        const VdsDeviceReport *reports,
                        guint                  n_reports,
                        GError               **error)
{
  ReportPulls rp = { reports, n_reports };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (reports != NULL || n_reports == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < n_reports; i++)
    {
      g_return_val_if_fail (reports[i].device_id != NULL, FALSE);
      if (!vds_store_check_tenant_id (reports[i].tenant_id, error))
        return FALSE;
    }
  if (n_reports == 0)
    return TRUE;
  return vds_store_run (self, VDS_TXN_WRITE, report_pulls_txn, &rp, error);
}

gboolean
vds_store_touch_device (VdsStore       *self,
                        const char     *tenant_id,
                        const char     *device_id,
                        const char     *user_id,
                        const char     *device_name,
                        const char     *app_version,
                        VdsDeviceEvent  event,
                        gint64          cursor,
                        gint64          now,
                        GError        **error)
{
  TouchDevice td;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (device_id != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!vds_store_check_tenant_id (tenant_id, error))
    return FALSE;

  td.params[0] = VDS_TEXT (tenant_id);
  td.params[1] = VDS_TEXT (device_id);
  td.params[2] = VDS_TEXT (user_id != NULL && vd_uuid_is_valid (user_id) ? user_id : NULL);
  td.params[3] = VDS_TEXT (device_name);
  td.params[4] = VDS_TEXT (app_version);
  td.params[5] = VDS_INT (now);
  td.params[6] = event == VDS_DEVICE_PUSHED ? VDS_INT (now) : VDS_NULL;
  td.params[7] = event == VDS_DEVICE_PULLED ? VDS_INT (now) : VDS_NULL;
  td.params[8] = event == VDS_DEVICE_PULLED ? VDS_INT (cursor) : VDS_NULL;
  td.params[9] = VDS_NULL;
  td.params[10] = VDS_NULL;
  td.params[11] = VDS_NULL;
  td.params[12] = VDS_INT (0);
  return vds_store_run (self, VDS_TXN_NONE, touch_device_txn, &td, error);
}
