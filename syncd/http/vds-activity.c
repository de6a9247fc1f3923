/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-activity.c — why in memory: an upsert per request on the row (clinic, minute) would
 * put every request of a busy clinic in line behind that row's lock, and double the
 * writes of a pull. Counting here and adding the sums every few seconds costs one small
 * transaction per interval; a crash loses at most one interval of monitoring counts,
 * never sync data. Each process adds its own sums, so several processes add up.
 * The same goes for the devices' last pull (cursor, pending): kept per device, the
 * newest wins, written every second, so a pull writes nothing (on SQLite a write is a
 * WAL commit that every pull would wait for). */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-activity.h"

/* Pull reports are written this often: monitoring sees a pull within about a second. */
#define PULLS_INTERVAL_US G_USEC_PER_SEC
/* Old minutes are deleted this often (by whichever process gets there). */
#define PRUNE_INTERVAL_US (10 * 60 * G_USEC_PER_SEC)
#define KEEP_MINUTES      (24 * 60)

struct _VdsActivityLog
{
  VdsStore   *store;
  guint       interval_s;

  GMutex      lock;
  GCond       cond;
  GHashTable *pending;      /* "tenant\tminute" → VdsActivity* */
  gboolean    stopping;
  GThread    *thread;

  GHashTable *pulls;        /* "tenant\tdevice" → PullReport*, under lock */

  GMutex      flush_lock;   /* one flush at a time, whoever asks */
  gint64      last_prune;
  GMutex      pulls_lock;   /* pull reports are written by one caller at a time, so a
                             * device's older report never lands after its newer one */
};

/* A pull's VdsDeviceReport, owning its strings. */
typedef struct
{
  char     *tenant_id;
  char     *device_id;
  char     *user_id;
  char     *app_version;
  gint64    now;
  gint64    cursor;
  gint64    pending;
  gboolean  reached;
} PullReport;

static void
pull_report_free (gpointer data)
{
  PullReport *p = data;

  if (p == NULL)
    return;
  g_free (p->tenant_id);
  g_free (p->device_id);
  g_free (p->user_id);
  g_free (p->app_version);
  g_free (p);
}

static GHashTable *
new_pulls_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, pull_report_free);
}

static char *
device_key (const char *tenant_id,
            const char *device_id)
{
  return g_strconcat (tenant_id, "\t", device_id, NULL);
}

static void
entry_free (VdsActivity *entry)
{
  g_free (entry->tenant_id);
  g_free (entry);
}

static GHashTable *
new_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) entry_free);
}

static void
merge (GHashTable        *table,
       const char        *key,
       const VdsActivity *delta)
{
  VdsActivity *entry = g_hash_table_lookup (table, key);

  if (entry == NULL)
    {
      entry = g_new0 (VdsActivity, 1);
      entry->tenant_id = g_strdup (delta->tenant_id);
      entry->minute = delta->minute;
      g_hash_table_insert (table, g_strdup (key), entry);
    }
  entry->pushes += delta->pushes;
  entry->pulls += delta->pulls;
  entry->changes += delta->changes;
  entry->rejected += delta->rejected;
  entry->errors += delta->errors;
}

void
vds_activity_log_add (VdsActivityLog *self,
                      const char     *tenant_id,
                      gint64          now,
                      gint64          pushes,
                      gint64          pulls,
                      gint64          changes,
                      gint64          rejected,
                      gint64          errors)
{
  VdsActivity delta = { (char *) tenant_id, now / 60, pushes, pulls, changes, rejected, errors };
  char key[128];

  g_return_if_fail (self != NULL);

  if (tenant_id == NULL)
    return;
  g_snprintf (key, sizeof key, "%s\t%" G_GINT64_FORMAT, tenant_id, delta.minute);
  g_mutex_lock (&self->lock);
  merge (self->pending, key, &delta);
  g_mutex_unlock (&self->lock);
}

void
vds_activity_log_flush (VdsActivityLog *self)
{
  g_autoptr(GHashTable) batch = NULL;
  g_autoptr(GArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  gpointer value;
  gint64 now = g_get_real_time ();

  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->flush_lock);

  g_mutex_lock (&self->lock);
  batch = g_steal_pointer (&self->pending);
  self->pending = new_table ();
  g_mutex_unlock (&self->lock);

  entries = g_array_sized_new (FALSE, FALSE, sizeof (VdsActivity), g_hash_table_size (batch));
  g_hash_table_iter_init (&iter, batch);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_array_append_val (entries, *(VdsActivity *) value);

  if (!vds_store_add_activity (self->store, (const VdsActivity *) entries->data, entries->len,
                               &error))
    {
      GHashTableIter back;
      gpointer key;
      gint64 oldest = now / G_USEC_PER_SEC / 60 - KEEP_MINUTES;

      g_warning ("Could not record sync activity (kept for the next try): %s", error->message);
      /* Back into the pending table, unless too old to matter any more. */
      g_mutex_lock (&self->lock);
      g_hash_table_iter_init (&back, batch);
      while (g_hash_table_iter_next (&back, &key, &value))
        if (((VdsActivity *) value)->minute > oldest)
          merge (self->pending, key, value);
      g_mutex_unlock (&self->lock);
    }

  if (now - self->last_prune > PRUNE_INTERVAL_US)
    {
      g_autoptr(GError) prune_error = NULL;

      self->last_prune = now;
      if (!vds_store_prune_activity (self->store, now / G_USEC_PER_SEC / 60 - KEEP_MINUTES,
                                     &prune_error))
        g_warning ("Could not prune old sync activity: %s", prune_error->message);
      g_clear_error (&prune_error);
      /* The same hourly housekeeping drops tokens and sessions an hour after they ended
       * (an hour, so a just-expired token still gets its usual answer). */
      if (!vds_store_prune_sessions (self->store, now / G_USEC_PER_SEC - 3600,
                                     &prune_error))
        g_warning ("Could not remove expired sign-in tokens: %s", prune_error->message);
    }

  g_mutex_unlock (&self->flush_lock);
}

/* Later pulls of the same device replace earlier ones, whose "told" values still fill
 * what the later one did not tell. returned: report is older than any kept one (a failed
 * write going back). Takes key and report. */
static void
merge_pull (GHashTable *table,
            char       *key,
            PullReport *report,
            gboolean    returned)
{
  PullReport *old = g_hash_table_lookup (table, key);
  PullReport *newer, *older;

  if (old == NULL)
    {
      g_hash_table_replace (table, key, report);
      return;
    }
  newer = returned ? old : report;
  older = returned ? report : old;
  if (newer->pending < 0)
    newer->pending = older->pending;
  if (newer->app_version == NULL)
    newer->app_version = g_steal_pointer (&older->app_version);
  if (newer->user_id == NULL)
    newer->user_id = g_steal_pointer (&older->user_id);
  if (returned)
    {
      g_free (key);
      pull_report_free (report);
    }
  else
    g_hash_table_replace (table, key, report);
}

void
vds_activity_log_pulled (VdsActivityLog        *self,
                         const VdsDeviceReport *report)
{
  PullReport *p;

  g_return_if_fail (self != NULL);
  g_return_if_fail (report != NULL);

  if (report->tenant_id == NULL || report->device_id == NULL)
    return;
  p = g_new0 (PullReport, 1);
  p->tenant_id = g_strdup (report->tenant_id);
  p->device_id = g_strdup (report->device_id);
  p->user_id = g_strdup (report->user_id);
  p->app_version = g_strdup (report->app_version);
  p->now = report->now;
  p->cursor = report->cursor;
  p->pending = report->pending;
  p->reached = report->reached;
  g_mutex_lock (&self->lock);
  merge_pull (self->pulls, device_key (p->tenant_id, p->device_id), p, FALSE);
  g_mutex_unlock (&self->lock);
}

static gint
compare_pull_reports (gconstpointer a,
                      gconstpointer b)
{
  const PullReport *pa = *(PullReport * const *) a;
  const PullReport *pb = *(PullReport * const *) b;
  gint c = g_strcmp0 (pa->tenant_id, pb->tenant_id);

  return c != 0 ? c : g_strcmp0 (pa->device_id, pb->device_id);
}

/* Writes reports (PullReport*); on failure they go back unless a newer one came.
 * Called with pulls_lock held. */
static void
write_pulls (VdsActivityLog *self,
             GPtrArray      *reports)
{
  g_autoptr(GError) error = NULL;
  g_autofree VdsDeviceReport *rows = NULL;

  if (reports->len == 0)
    return;
  /* In one order on every instance, so that two instances' flushes lock the devices'
   * rows in the same order and cannot deadlock (issue #18 item 5). */
  g_ptr_array_sort (reports, compare_pull_reports);
  rows = g_new0 (VdsDeviceReport, reports->len);
  for (guint i = 0; i < reports->len; i++)
    {
      PullReport *p = reports->pdata[i];

      rows[i].tenant_id = p->tenant_id;
      rows[i].device_id = p->device_id;
      rows[i].user_id = p->user_id;
      rows[i].app_version = p->app_version;
      rows[i].event = VDS_DEVICE_PULLED;
      rows[i].cursor = p->cursor;
      rows[i].pending = p->pending;
      rows[i].now = p->now;
      rows[i].reached = p->reached;
    }
  if (vds_store_report_pulls (self->store, rows, reports->len, &error))
    return;

  g_warning ("Could not record the last pull of %u devices (kept for the next try): %s",
             reports->len, error->message);
  g_mutex_lock (&self->lock);
  /* Ownership of each report moves back into the table. */
  for (guint i = 0; i < reports->len; i++)
    {
      PullReport *p = reports->pdata[i];

      merge_pull (self->pulls, device_key (p->tenant_id, p->device_id), p, TRUE);
      reports->pdata[i] = NULL;
    }
  g_mutex_unlock (&self->lock);
}

void
vds_activity_log_flush_pulls (VdsActivityLog *self)
{
  g_autoptr(GHashTable) batch = NULL;
  g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func (pull_report_free);
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->pulls_lock);
  g_mutex_lock (&self->lock);
  batch = g_steal_pointer (&self->pulls);
  self->pulls = new_pulls_table ();
  g_mutex_unlock (&self->lock);

  g_hash_table_iter_init (&iter, batch);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_ptr_array_add (reports, value);
      g_hash_table_iter_steal (&iter);
    }
  write_pulls (self, reports);
  g_mutex_unlock (&self->pulls_lock);
}

void
vds_activity_log_flush_device (VdsActivityLog *self,
                               const char     *tenant_id,
                               const char     *device_id)
{
  g_autoptr(GPtrArray) reports = g_ptr_array_new_with_free_func (pull_report_free);
  g_autofree char *key = NULL;
  gpointer stolen_key = NULL, value = NULL;

  g_return_if_fail (self != NULL);

  if (tenant_id == NULL || device_id == NULL)
    return;
  key = device_key (tenant_id, device_id);
  /* pulls_lock first: a flush of everything may be writing this device's report now, and
   * what comes after must land after it. */
  g_mutex_lock (&self->pulls_lock);
  g_mutex_lock (&self->lock);
  if (g_hash_table_steal_extended (self->pulls, key, &stolen_key, &value))
    {
      g_free (stolen_key);
      g_ptr_array_add (reports, value);
    }
  g_mutex_unlock (&self->lock);
  write_pulls (self, reports);
  g_mutex_unlock (&self->pulls_lock);
}

/* Pull reports every second; counters every interval_s. */
static gpointer
flush_thread (gpointer data)
{
  VdsActivityLog *self = data;
  gint64 next_counts = g_get_monotonic_time () + self->interval_s * G_USEC_PER_SEC;

  g_mutex_lock (&self->lock);
  while (!self->stopping)
    {
      gint64 deadline = MIN (g_get_monotonic_time () + PULLS_INTERVAL_US, next_counts);

      while (!self->stopping && g_cond_wait_until (&self->cond, &self->lock, deadline))
        ;
      if (self->stopping)
        break;
      g_mutex_unlock (&self->lock);
      vds_activity_log_flush_pulls (self);
      if (g_get_monotonic_time () >= next_counts)
        {
          vds_activity_log_flush (self);
          next_counts = g_get_monotonic_time () + self->interval_s * G_USEC_PER_SEC;
        }
      g_mutex_lock (&self->lock);
    }
  g_mutex_unlock (&self->lock);
  return NULL;
}

VdsActivityLog *
vds_activity_log_new (VdsStore *store,
                      guint     interval_s)
{
  VdsActivityLog *self = g_new0 (VdsActivityLog, 1);

  self->store = store;
  self->interval_s = MAX (interval_s, 1);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_mutex_init (&self->flush_lock);
  g_mutex_init (&self->pulls_lock);
  self->pending = new_table ();
  self->pulls = new_pulls_table ();
  self->thread = g_thread_new ("vds-activity", flush_thread, self);
  return self;
}

void
vds_activity_log_free (VdsActivityLog *self)
{
  if (self == NULL)
    return;

  g_mutex_lock (&self->lock);
  self->stopping = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
  g_thread_join (self->thread);

  vds_activity_log_flush_pulls (self);
  vds_activity_log_flush (self);
  g_hash_table_unref (self->pending);
  g_hash_table_unref (self->pulls);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->flush_lock);
  g_mutex_clear (&self->pulls_lock);
  g_free (self);
}
