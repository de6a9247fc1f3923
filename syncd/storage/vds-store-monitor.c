/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-store-monitor.c — what company and platform administrators see of their clinics'
 * sync: the tenant listing with health, devices, per-minute activity, device revocation,
 * and the figures /metrics reads from the database. Never a clinic record. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-store.h"

#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>

#include "vd-id.h"
#include "vd-time.h"
#include "vds-notify.h"
#include "vds-store-private.h"

/* A device seen this recently counts as online. */
#define ONLINE_WINDOW_S  (5 * 60)
/* A device behind the clinic for longer than this makes the clinic "lagging". */
#define LAG_LIMIT_S      (5 * 60)
#define ERRORS_WINDOW_S  3600
/* How far back opening time is counted; far more than any offline threshold needs. */
#define MAX_DAYS_BACK    62

static gint64
now_seconds (VdsStore *self)
{
  return vds_store_wall_ms (self) / 1000;
}

static gboolean
valid_tenant (const char  *tenant_id,
              GError     **error)
{
  if (tenant_id != NULL && vd_uuid_is_valid (tenant_id))
    return TRUE;
  g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
               _("There is no clinic with the id “%s”."), tenant_id != NULL ? tenant_id : "");
  return FALSE;
}

void
vds_store_set_offline_after (VdsStore *self,
                             gint64    seconds)
{
  g_return_if_fail (self != NULL);
  self->offline_after = MAX (seconds, 1);
}

void
vds_store_pool_stats (VdsStore *self,
                      guint    *out_in_use,
                      guint    *out_size)
{
  gint idle;
  guint open;

  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->pool_lock);
  open = self->n_open;
  g_mutex_unlock (&self->pool_lock);
  idle = g_async_queue_length (self->idle);
  if (out_in_use != NULL)
    *out_in_use = idle >= 0 && (guint) idle < open ? open - (guint) idle : 0;
  if (out_size != NULL)
    *out_size = self->pool_size;
}

/* ---- Opening hours ----------------------------------------------------------------- */

/* The clinic's hours on a weekday (G_DATE_MONDAY = 1 … G_DATE_SUNDAY = 7), in local hours
 * [open, close); FALSE when closed all day. */
static gboolean
opening_hours (GDateWeekday  weekday,
               int          *out_open,
               int          *out_close)
{
  if (weekday >= G_DATE_MONDAY && weekday <= G_DATE_FRIDAY)
    {
      *out_open = 9;
      *out_close = 20;
      return TRUE;
    }
  if (weekday == G_DATE_SATURDAY)
    {
      *out_open = 10;
      *out_close = 14;
      return TRUE;
    }
  return FALSE;
}

static gboolean
is_open (GTimeZone *zone,
         gint64     now)
{
  g_autoptr(GDateTime) local = vd_time_to_zone (now, zone);
  int open, close, hour;

  if (!opening_hours (g_date_time_get_day_of_week (local), &open, &close))
    return FALSE;
  hour = g_date_time_get_hour (local);
  return hour >= open && hour < close;
}

gint64
vds_store_open_seconds (GTimeZone *zone,
                        gint64     from,
                        gint64     to,
                        gint64     cap)
{
  g_autoptr(GDateTime) local = NULL;
  GDate date;
  gint64 total = 0;

  g_return_val_if_fail (zone != NULL, 0);

  if (to <= from)
    return 0;

  local = vd_time_to_zone (to, zone);
  g_date_clear (&date, 1);
  g_date_set_dmy (&date, g_date_time_get_day_of_month (local),
                  g_date_time_get_month (local), g_date_time_get_year (local));

  /* Day by day backwards from the day of `to`, so a long silence costs only as many days
   * as it takes to reach the cap. Each day's hours come from vd_time_from_zone, so a DST
   * day's opening hours are its real length. */
  for (guint i = 0; i < MAX_DAYS_BACK && total < cap; i++)
    {
      int y = g_date_get_year (&date), m = g_date_get_month (&date), d = g_date_get_day (&date);
      gint64 day_start, day_end;
      int open, close;

      if (opening_hours (g_date_get_weekday (&date), &open, &close))
        {
          gint64 start = vd_time_from_zone (zone, y, m, d, open, 0, 0);
          gint64 end = vd_time_from_zone (zone, y, m, d, close, 0, 0);

          start = MAX (start, from);
          end = MIN (end, to);
          if (end > start)
            total += end - start;
        }

      vd_time_day_bounds (zone, y, m, d, &day_start, &day_end);
      if (day_start <= from)
        break;
      g_date_subtract_days (&date, 1);
    }
  return MIN (total, cap);
}

/* ---- The tenant listing ------------------------------------------------------------ */

void
vds_tenant_stats_free (VdsTenantStats *stats)
{
  if (stats == NULL)
    return;

  g_free (stats->id);
  g_free (stats->slug);
  g_free (stats->name);
  g_free (stats->company_id);
  g_free (stats->company_name);
  g_free (stats->timezone);
  g_free (stats);
}

typedef struct
{
  const char *list;        /* the companies' id list parameter, NULL = every clinic */
  gint64      now;
  GPtrArray  *out;         /* of VdsTenantStats */
  GHashTable *by_id;       /* id → its index in out, plus one */
  GArray     *created;     /* gint64 per out index */
  GArray     *lagging;     /* gint64 per out index */
} Listing;

static void
listing_reset (Listing *l)
{
  g_clear_pointer (&l->out, g_ptr_array_unref);
  g_clear_pointer (&l->by_id, g_hash_table_unref);
  g_clear_pointer (&l->created, g_array_unref);
  g_clear_pointer (&l->lagging, g_array_unref);
  l->out = g_ptr_array_new_with_free_func ((GDestroyNotify) vds_tenant_stats_free);
  l->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  l->created = g_array_new (FALSE, TRUE, sizeof (gint64));
  l->lagging = g_array_new (FALSE, TRUE, sizeof (gint64));
}

/* "x.tenant_id IN (the companies' clinics)" for the per-table figures, or "" for all.
 * param: the number of the list parameter. */
static char *
scope_filter (VdsStore   *self,
              Listing    *l,
              const char *prefix,
              const char *column,
              guint       param)
{
  g_autofree char *in_list = NULL;

  if (l->list == NULL)
    return g_strdup ("");
  in_list = vds_store_in_list (self, "sc.company_id", param);
  return g_strdup_printf ("%s %s IN (SELECT sc.id FROM tenants sc WHERE %s)", prefix, column,
                          in_list);
}

/* The stats of the clinic whose id is in column 0 of row, or NULL; out_index its index. */
static VdsTenantStats *
stats_of (Listing   *l,
          VdsResult *result,
          guint      row,
          guint     *out_index)
{
  guint index = GPOINTER_TO_UINT (g_hash_table_lookup (l->by_id,
                                                       vds_result_get_text (result, row, 0)));

  if (index == 0)
    return NULL;
  if (out_index != NULL)
    *out_index = index - 1;
  return l->out->pdata[index - 1];
}

static gint64
int_or_zero (VdsResult *result,
             guint      row,
             guint      col)
{
  return vds_result_is_null (result, row, col) ? 0 : vds_result_get_int (result, row, col);
}

static gboolean
listing_txn (VdsStore *self,
             VdsDb    *db,
             gpointer  data,
             GError  **error)
{
  Listing *l = data;
  g_autoptr(VdsResult) tenants = NULL;
  g_autoptr(VdsResult) counts = NULL;
  g_autoptr(VdsResult) devices = NULL;
  g_autoptr(VdsResult) activity = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *where = NULL;
  g_autofree char *in_list = NULL;
  gint64 now_hour = l->now / 3600;
  VdsParam params[5];
  guint n_params;

  listing_reset (l);

  /* The clinics themselves. */
  if (l->list != NULL)
    in_list = vds_store_in_list (self, "t.company_id", 1);
  sql = g_strdup_printf ("SELECT t.id, t.slug, t.name, t.company_id, t.timezone, t.created_at, "
                         "s.seq, c.name FROM tenants t LEFT JOIN vd_seq s ON s.tenant_id = t.id "
                         "LEFT JOIN companies c ON c.id = t.company_id "
                         "%s%s ORDER BY t.name, t.id",
                         in_list != NULL ? "WHERE " : "", in_list != NULL ? in_list : "");
  params[0] = VDS_TEXT (l->list);
  tenants = vds_db_query (db, sql, params, l->list != NULL ? 1 : 0, error);
  if (tenants == NULL)
    return FALSE;
  for (guint r = 0; r < vds_result_n_rows (tenants); r++)
    {
      VdsTenantStats *s = g_new0 (VdsTenantStats, 1);
      gint64 created = vds_result_get_int (tenants, r, 5);
      gint64 zero = 0;

      s->id = g_strdup (vds_result_get_text (tenants, r, 0));
      s->slug = g_strdup (vds_result_get_text (tenants, r, 1));
      s->name = g_strdup (vds_result_get_text (tenants, r, 2));
      s->company_id = g_strdup (vds_result_get_text (tenants, r, 3));
      s->timezone = g_strdup (vds_result_get_text (tenants, r, 4));
      s->seq = int_or_zero (tenants, r, 6);
      s->company_name = g_strdup (vds_result_get_text (tenants, r, 7));
      s->health = "ok";
      g_ptr_array_add (l->out, s);
      g_hash_table_insert (l->by_id, s->id, GUINT_TO_POINTER (l->out->len));
      g_array_append_val (l->created, created);
      g_array_append_val (l->lagging, zero);
    }
  if (l->out->len == 0)
    return TRUE;

  /* Grouped per table rather than a subquery per clinic: one pass over each table,
   * whatever the number of clinics. */
  g_clear_pointer (&sql, g_free);
  where = scope_filter (self, l, "AND", "x.tenant_id", 1);
  sql = g_strdup_printf (
    "SELECT x.tenant_id, 0, count(*) FROM clients x WHERE NOT x.deleted %s GROUP BY x.tenant_id "
    "UNION ALL SELECT x.tenant_id, 1, count(*) FROM pets x WHERE NOT x.deleted %s GROUP BY x.tenant_id "
    "UNION ALL SELECT x.tenant_id, 2, count(*) FROM appointments x WHERE NOT x.deleted %s "
    "GROUP BY x.tenant_id "
    "UNION ALL SELECT x.tenant_id, 3, count(*) FROM staff x WHERE NOT x.deleted %s GROUP BY x.tenant_id "
    "UNION ALL SELECT x.tenant_id, 4, count(*) FROM conflicts x WHERE x.resolved_at IS NULL "
    "AND NOT x.deleted %s GROUP BY x.tenant_id",
    where, where, where, where, where);
  counts = vds_db_query (db, sql, params, l->list != NULL ? 1 : 0, error);
  if (counts == NULL)
    return FALSE;
  for (guint r = 0; r < vds_result_n_rows (counts); r++)
    {
      VdsTenantStats *s = stats_of (l, counts, r, NULL);
      gint64 n = vds_result_get_int (counts, r, 2);

      if (s == NULL)
        continue;
      switch (vds_result_get_int (counts, r, 1))
        {
        case 0: s->clients = n; break;
        case 1: s->pets = n; break;
        case 2: s->appointments = n; break;
        case 3: s->staff = n; break;
        case 4: s->open_conflicts = n; break;
        default: break;
        }
    }

  /* Devices: how many, the last sync, online now, behind for too long while active. */
  g_clear_pointer (&sql, g_free);
  g_clear_pointer (&where, g_free);
  where = scope_filter (self, l, "WHERE", "d.tenant_id", 5);
  sql = g_strdup_printf (
    "SELECT d.tenant_id, count(*), max(d.last_push_at), max(d.last_pull_at), "
    "sum(CASE WHEN d.last_seen >= CAST ($1 AS BIGINT) AND NOT d.revoked THEN 1 ELSE 0 END), "
    "sum(CASE WHEN d.lag_since IS NOT NULL AND d.lag_since < CAST ($2 AS BIGINT) "
    "AND d.last_seen >= CAST ($3 AS BIGINT) AND NOT d.revoked THEN 1 ELSE 0 END), "
    "sum(CASE WHEN d.last_error_at >= CAST ($4 AS BIGINT) THEN 1 ELSE 0 END) "
    "FROM devices d %s GROUP BY d.tenant_id", where);
  params[0] = VDS_INT (l->now - ONLINE_WINDOW_S);
  params[1] = VDS_INT (l->now - LAG_LIMIT_S);
  params[2] = VDS_INT (l->now - self->offline_after);
  params[3] = VDS_INT (l->now - ERRORS_WINDOW_S);
  params[4] = VDS_TEXT (l->list);
  n_params = l->list != NULL ? 5 : 4;
  devices = vds_db_query (db, sql, params, n_params, error);
  if (devices == NULL)
    return FALSE;
  for (guint r = 0; r < vds_result_n_rows (devices); r++)
    {
      guint index = 0;
      VdsTenantStats *s = stats_of (l, devices, r, &index);

      if (s == NULL)
        continue;
      s->devices = vds_result_get_int (devices, r, 1);
      s->last_sync_at = MAX (int_or_zero (devices, r, 2), int_or_zero (devices, r, 3));
      s->devices_online = int_or_zero (devices, r, 4);
      g_array_index (l->lagging, gint64, index) = int_or_zero (devices, r, 5);
      s->errors_1h = int_or_zero (devices, r, 6);
    }

  /* Activity: the current UTC hour and the 23 before it, from the hourly rollup (at most
   * 24 rows per clinic). */
  g_clear_pointer (&sql, g_free);
  g_clear_pointer (&where, g_free);
  where = scope_filter (self, l, "AND", "a.tenant_id", 2);
  sql = g_strdup_printf ("SELECT a.tenant_id, a.hour, a.requests, a.rejected "
                         "FROM activity_hourly a WHERE a.hour > CAST ($1 AS BIGINT) - 24 "
                         "AND a.hour <= CAST ($1 AS BIGINT) %s", where);
  params[0] = VDS_INT (now_hour);
  params[1] = VDS_TEXT (l->list);
  activity = vds_db_query (db, sql, params, l->list != NULL ? 2 : 1, error);
  if (activity == NULL)
    return FALSE;
  for (guint r = 0; r < vds_result_n_rows (activity); r++)
    {
      VdsTenantStats *s = stats_of (l, activity, r, NULL);
      gint64 hours_ago = now_hour - vds_result_get_int (activity, r, 1);

      if (s == NULL || hours_ago < 0 || hours_ago > 23)
        continue;
      s->activity[23 - hours_ago] += vds_result_get_int (activity, r, 2);
      s->rejected_24h += vds_result_get_int (activity, r, 3);
    }
  return TRUE;
}

/* A clinic's time zone, and whether its clinics are open now: worked out once per zone
 * for the whole listing, not once per clinic. */
typedef struct
{
  GTimeZone *zone;     /* NULL: not a zone this build knows */
  gboolean   open;
} Zone;

static void
zone_free (Zone *z)
{
  g_clear_pointer (&z->zone, g_time_zone_unref);
  g_free (z);
}

static const char *
health_of (VdsStore       *self,
           VdsTenantStats *s,
           gint64          created_at,
           gint64          lagging,
           GHashTable     *zones,
           gint64          now)
{
  Zone *z = g_hash_table_lookup (zones, s->timezone);

  if (z == NULL)
    {
      z = g_new0 (Zone, 1);
      z->zone = vd_time_zone_new (s->timezone, NULL);
      z->open = z->zone != NULL && is_open (z->zone, now);
      g_hash_table_insert (zones, g_strdup (s->timezone), z);
    }

  if (z->open)
    {
      gint64 since = s->last_sync_at > 0 ? s->last_sync_at : created_at;

      if (vds_store_open_seconds (z->zone, since, now, self->offline_after) >= self->offline_after)
        return "offline";
    }
  if (s->errors_1h > 0)
    return "errors";
  if (lagging > 0)
    return "lagging";
  return "ok";
}

GPtrArray *
vds_store_admin_tenants (VdsStore           *self,
                         const char * const *company_ids,
                         GError            **error)
{
  g_autoptr(GPtrArray) valid_ids = g_ptr_array_new ();
  g_autoptr(GHashTable) zones = NULL;
  g_autofree char *list = NULL;
  Listing l = { NULL, };
  GPtrArray *out;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (company_ids != NULL)
    {
      /* Ids that are not uuids cannot name a company; PostgreSQL would refuse them. */
      for (guint i = 0; company_ids[i] != NULL; i++)
        if (vd_uuid_is_valid (company_ids[i]))
          g_ptr_array_add (valid_ids, (gpointer) company_ids[i]);
      if (valid_ids->len == 0)
        return g_ptr_array_new_with_free_func ((GDestroyNotify) vds_tenant_stats_free);
      list = vds_store_id_list (self, (const char * const *) valid_ids->pdata, valid_ids->len);
    }

  l.list = list;
  l.now = now_seconds (self);
  if (!vds_store_run (self, VDS_TXN_NONE, listing_txn, &l, error))
    {
      g_clear_pointer (&l.out, g_ptr_array_unref);
      g_clear_pointer (&l.by_id, g_hash_table_unref);
      g_clear_pointer (&l.created, g_array_unref);
      g_clear_pointer (&l.lagging, g_array_unref);
      return NULL;
    }

  zones = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) zone_free);
  for (guint i = 0; i < l.out->len; i++)
    {
      VdsTenantStats *s = l.out->pdata[i];

      s->health = health_of (self, s, g_array_index (l.created, gint64, i),
                             g_array_index (l.lagging, gint64, i), zones, l.now);
    }

  out = g_steal_pointer (&l.out);
  g_hash_table_unref (l.by_id);
  g_array_unref (l.created);
  g_array_unref (l.lagging);
  return out;
}

/* ---- Devices ----------------------------------------------------------------------- */

void
vds_device_info_free (VdsDeviceInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->device_id);
  g_free (info->name);
  g_free (info->username);
  g_free (info->app_version);
  g_free (info->last_error_code);
  g_free (info->last_error_message);
  g_free (info);
}

typedef struct
{
  const char *tenant_id;
  GPtrArray  *out;
} Devices;

static gboolean
devices_txn (VdsStore *self,
             VdsDb    *db,
             gpointer  data,
             GError  **error)
{
  Devices *dv = data;
  g_autoptr(VdsResult) seq = NULL;
  g_autoptr(VdsResult) rows = NULL;
  VdsParam params[1] = { VDS_TEXT (dv->tenant_id) };
  gint64 clinic_seq;

  g_clear_pointer (&dv->out, g_ptr_array_unref);
  dv->out = g_ptr_array_new_with_free_func ((GDestroyNotify) vds_device_info_free);

  seq = vds_db_query (db, "SELECT seq FROM vd_seq WHERE tenant_id = $1", params, 1, error);
  if (seq == NULL)
    return FALSE;
  clinic_seq = vds_result_n_rows (seq) > 0 ? vds_result_get_int (seq, 0, 0) : 0;

  /* The name comes from the device's newest session with the same user: the desk names
   * itself when it signs in. */
  rows = vds_db_query (db,
                       "SELECT d.device_id, (SELECT s.device_name FROM sessions s "
                       "WHERE s.device_id = d.device_id AND s.user_id = d.user_id "
                       "ORDER BY s.created_at DESC LIMIT 1), d.name, u.username, "
                       "d.app_version, d.first_seen, d.last_seen, d.last_push_at, "
                       "d.last_pull_at, d.cursor, d.pending, d.rejected, d.last_error_code, "
                       "d.last_error_message, d.last_error_at, d.revoked "
                       "FROM devices d LEFT JOIN users u ON u.id = d.user_id "
                       "WHERE d.tenant_id = $1 ORDER BY d.last_seen DESC, d.device_id",
                       params, 1, error);
  if (rows == NULL)
    return FALSE;

  for (guint r = 0; r < vds_result_n_rows (rows); r++)
    {
      VdsDeviceInfo *info = g_new0 (VdsDeviceInfo, 1);

      info->device_id = g_strdup (vds_result_get_text (rows, r, 0));
      info->name = g_strdup (vds_result_get_text (rows, r, vds_result_is_null (rows, r, 1) ? 2 : 1));
      info->username = g_strdup (vds_result_get_text (rows, r, 3));
      info->app_version = g_strdup (vds_result_get_text (rows, r, 4));
      info->first_seen = vds_result_get_int (rows, r, 5);
      info->last_seen = vds_result_get_int (rows, r, 6);
      info->last_push_at = int_or_zero (rows, r, 7);
      info->last_pull_at = int_or_zero (rows, r, 8);
      info->cursor = vds_result_is_null (rows, r, 9) ? -1 : vds_result_get_int (rows, r, 9);
      info->lag = MAX (clinic_seq - MAX (info->cursor, 0), 0);
      info->pending = vds_result_is_null (rows, r, 10) ? -1 : vds_result_get_int (rows, r, 10);
      info->rejected = int_or_zero (rows, r, 11);
      info->last_error_code = g_strdup (vds_result_get_text (rows, r, 12));
      info->last_error_message = g_strdup (vds_result_get_text (rows, r, 13));
      info->last_error_at = int_or_zero (rows, r, 14);
      info->revoked = vds_result_get_bool (rows, r, 15);
      g_ptr_array_add (dv->out, info);
    }
  return TRUE;
}

GPtrArray *
vds_store_admin_devices (VdsStore   *self,
                         const char *tenant_id,
                         GError    **error)
{
  Devices dv = { tenant_id, NULL };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!valid_tenant (tenant_id, error))
    return NULL;
  if (!vds_store_run (self, VDS_TXN_SNAPSHOT, devices_txn, &dv, error))
    {
      g_clear_pointer (&dv.out, g_ptr_array_unref);
      return NULL;
    }
  return dv.out;
}

/* ---- Activity ---------------------------------------------------------------------- */

typedef struct
{
  const VdsActivity *entries;
  guint              n_entries;
} AddActivity;

static gboolean
add_activity_txn (VdsStore *self,
                  VdsDb    *db,
                  gpointer  data,
                  GError  **error)
{
  AddActivity *aa = data;

  /* Every minute row first, then every hour row, each in (clinic, time) order: two
   * instances' flushes then take their row locks in one order and cannot deadlock (issue
   * #18 item 5); the entries come sorted from vds_store_add_activity. */
  for (guint i = 0; i < aa->n_entries; i++)
    {
      const VdsActivity *e = &aa->entries[i];
      VdsParam params[7];

      if (e->tenant_id == NULL || !vd_uuid_is_valid (e->tenant_id))
        continue;
      params[0] = VDS_TEXT (e->tenant_id);
      params[1] = VDS_INT (e->minute);
      params[2] = VDS_INT (e->pushes);
      params[3] = VDS_INT (e->pulls);
      params[4] = VDS_INT (e->changes);
      params[5] = VDS_INT (e->rejected);
      params[6] = VDS_INT (e->errors);
      if (!vds_db_exec (db,
                        "INSERT INTO activity (tenant_id, minute, pushes, pulls, changes, "
                        "rejected, errors) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                        "ON CONFLICT (tenant_id, minute) DO UPDATE SET "
                        "pushes = activity.pushes + excluded.pushes, "
                        "pulls = activity.pulls + excluded.pulls, "
                        "changes = activity.changes + excluded.changes, "
                        "rejected = activity.rejected + excluded.rejected, "
                        "errors = activity.errors + excluded.errors",
                        params, 7, error))
        return FALSE;
    }
  for (guint i = 0; i < aa->n_entries; i++)
    {
      const VdsActivity *e = &aa->entries[i];
      VdsParam params[6];

      if (e->tenant_id == NULL || !vd_uuid_is_valid (e->tenant_id))
        continue;
      params[0] = VDS_TEXT (e->tenant_id);
      params[1] = VDS_INT (e->minute / 60);
      params[2] = VDS_INT (e->pushes + e->pulls);
      params[3] = VDS_INT (e->changes);
      params[4] = VDS_INT (e->rejected);
      params[5] = VDS_INT (e->errors);
      if (!vds_db_exec (db,
                        "INSERT INTO activity_hourly (tenant_id, hour, requests, changes, "
                        "rejected, errors) VALUES ($1, $2, $3, $4, $5, $6) "
                        "ON CONFLICT (tenant_id, hour) DO UPDATE SET "
                        "requests = activity_hourly.requests + excluded.requests, "
                        "changes = activity_hourly.changes + excluded.changes, "
                        "rejected = activity_hourly.rejected + excluded.rejected, "
                        "errors = activity_hourly.errors + excluded.errors",
                        params, 6, error))
        return FALSE;
    }
  return TRUE;
}

static int
compare_activity (const void *a,
                  const void *b)
{
  const VdsActivity *ea = a;
  const VdsActivity *eb = b;
  int c = g_strcmp0 (ea->tenant_id, eb->tenant_id);

  if (c != 0)
    return c;
  return ea->minute < eb->minute ? -1 : ea->minute > eb->minute;
}

gboolean
vds_store_add_activity (VdsStore          *self,
                        const VdsActivity *entries,
                        guint              n_entries,
                        GError           **error)
{
  g_autofree VdsActivity *sorted = NULL;
  AddActivity aa = { NULL, n_entries };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (n_entries == 0)
    return TRUE;
  sorted = g_memdup2 (entries, n_entries * sizeof (VdsActivity));
  qsort (sorted, n_entries, sizeof (VdsActivity), compare_activity);
  aa.entries = sorted;
  return vds_store_run (self, VDS_TXN_WRITE, add_activity_txn, &aa, error);
}

typedef struct
{
  const char     *sql;
  const VdsParam *params;
  guint           n_params;
  VdsResult      *result;   /* out */
} Query;

static gboolean
query_txn (VdsStore *self,
           VdsDb    *db,
           gpointer  data,
           GError  **error)
{
  Query *q = data;

  g_clear_pointer (&q->result, vds_result_free);
  q->result = vds_db_query (db, q->sql, q->params, q->n_params, error);
  return q->result != NULL;
}

static VdsResult *
query (VdsStore       *self,
       VdsTxnFlags     flags,
       const char     *sql,
       const VdsParam *params,
       guint           n_params,
       GError        **error)
{
  Query q = { sql, params, n_params, NULL };

  if (!vds_store_run (self, flags, query_txn, &q, error))
    {
      g_clear_pointer (&q.result, vds_result_free);
      return NULL;
    }
  return q.result;
}

gboolean
vds_store_prune_activity (VdsStore  *self,
                          gint64     before_minute,
                          GError   **error)
{
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[1] = { VDS_INT (before_minute) };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  result = query (self, VDS_TXN_NONE, "DELETE FROM activity WHERE minute < $1", params, 1,
                  error);
  if (result == NULL)
    return FALSE;
  g_clear_pointer (&result, vds_result_free);
  /* An hour is kept while any of its minutes is. */
  params[0] = VDS_INT (before_minute / 60);
  result = query (self, VDS_TXN_NONE, "DELETE FROM activity_hourly WHERE hour < $1", params, 1,
                  error);
  return result != NULL;
}

static void
activity_free (VdsActivity *a)
{
  g_free (a->tenant_id);
  g_free (a);
}

GPtrArray *
vds_store_admin_activity (VdsStore   *self,
                          const char *tenant_id,
                          gint64      since_minute,
                          GError    **error)
{
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[2] = { VDS_TEXT (tenant_id), VDS_INT (since_minute) };
  GPtrArray *out;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!valid_tenant (tenant_id, error))
    return NULL;
  result = query (self, VDS_TXN_NONE,
                  "SELECT minute, pushes, pulls, changes, rejected, errors FROM activity "
                  "WHERE tenant_id = $1 AND minute >= $2 AND pushes + pulls + changes > 0 "
                  "ORDER BY minute",
                  params, 2, error);
  if (result == NULL)
    return NULL;

  out = g_ptr_array_new_with_free_func ((GDestroyNotify) activity_free);
  for (guint r = 0; r < vds_result_n_rows (result); r++)
    {
      VdsActivity *a = g_new0 (VdsActivity, 1);

      a->minute = vds_result_get_int (result, r, 0);
      a->pushes = vds_result_get_int (result, r, 1);
      a->pulls = vds_result_get_int (result, r, 2);
      a->changes = vds_result_get_int (result, r, 3);
      a->rejected = vds_result_get_int (result, r, 4);
      a->errors = vds_result_get_int (result, r, 5);
      g_ptr_array_add (out, a);
    }
  return out;
}

/* ---- Revocation -------------------------------------------------------------------- */

typedef struct
{
  const char *tenant_id;
  const char *device_id;
  gboolean    found;      /* out */
  GStrv       sessions;   /* out */
} Revoke;

static gboolean
revoke_txn (VdsStore *self,
            VdsDb    *db,
            gpointer  data,
            GError  **error)
{
  Revoke *rv = data;
  g_autoptr(VdsResult) sessions = NULL;
  g_autoptr(VdsResult) devices = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  VdsParam params[2] = { VDS_TEXT (rv->tenant_id), VDS_TEXT (rv->device_id) };

  g_clear_pointer (&rv->sessions, g_strfreev);
  rv->found = FALSE;

  sessions = vds_db_query (db,
                           "UPDATE sessions SET revoked = true WHERE device_id = $2 "
                           "AND NOT revoked AND user_id IN (SELECT m.user_id FROM memberships m "
                           "WHERE m.tenant_id = $1) RETURNING id",
                           params, 2, error);
  if (sessions == NULL)
    return FALSE;
  devices = vds_db_query (db,
                          "UPDATE devices SET revoked = true WHERE tenant_id = $1 "
                          "AND device_id = $2 RETURNING device_id",
                          params, 2, error);
  if (devices == NULL)
    return FALSE;

  for (guint r = 0; r < vds_result_n_rows (sessions); r++)
    g_strv_builder_add (builder, vds_result_get_text (sessions, r, 0));
  rv->sessions = g_strv_builder_end (builder);
  rv->found = vds_result_n_rows (sessions) > 0 || vds_result_n_rows (devices) > 0;

  if (rv->found && self->dialect == VDS_DB_POSTGRES)
    {
      g_autofree char *payload = vd_notify_revoke_encode (rv->tenant_id, rv->device_id);
      g_autoptr(VdsResult) notified = NULL;
      VdsParam notify_params[2] = { VDS_TEXT (VDS_NOTIFY_REVOKE_CHANNEL), VDS_TEXT (payload) };

      notified = vds_db_query (db, "SELECT pg_notify ($1, $2)", notify_params, 2, error);
      if (notified == NULL)
        return FALSE;
    }
  return TRUE;
}

gboolean
vds_store_revoke_device (VdsStore   *self,
                         const char *tenant_id,
                         const char *device_id,
                         gboolean   *out_found,
                         GStrv      *out_session_ids,
                         GError    **error)
{
  Revoke rv = { tenant_id, device_id, FALSE, NULL };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_found != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *out_found = FALSE;
  if (!valid_tenant (tenant_id, error))
    return FALSE;
  /* Device ids are the desks' uuids; anything else names no device. */
  if (device_id == NULL || !vd_uuid_is_valid (device_id))
    return TRUE;

  if (!vds_store_run (self, VDS_TXN_WRITE, revoke_txn, &rv, error))
    {
      g_clear_pointer (&rv.sessions, g_strfreev);
      return FALSE;
    }
  *out_found = rv.found;
  if (out_session_ids != NULL)
    *out_session_ids = g_steal_pointer (&rv.sessions);
  g_strfreev (rv.sessions);
  return TRUE;
}

/* ---- Metrics ----------------------------------------------------------------------- */

gboolean
vds_store_count_open_conflicts (VdsStore  *self,
                                gint64    *out_count,
                                GError   **error)
{
  g_autoptr(VdsResult) result = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_count != NULL, FALSE);

  result = query (self, VDS_TXN_NONE,
                  "SELECT count(*) FROM conflicts WHERE resolved_at IS NULL AND NOT deleted",
                  NULL, 0, error);
  if (result == NULL)
    return FALSE;
  *out_count = vds_result_get_int (result, 0, 0);
  return TRUE;
}
