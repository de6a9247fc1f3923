/* vds-activity.c — why in memory: an upsert per request on the row (clinic, minute) would
 * put every request of a busy clinic in line behind that row's lock, and double the
 * writes of a pull. Counting here and adding the sums every few seconds costs one small
 * transaction per interval; a crash loses at most one interval of monitoring counts,
 * never sync data. Each process adds its own sums, so several processes add up. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-activity.h"

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

  GMutex      flush_lock;   /* one flush at a time, whoever asks */
  gint64      last_prune;
};

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
    }

  g_mutex_unlock (&self->flush_lock);
}

static gpointer
flush_thread (gpointer data)
{
  VdsActivityLog *self = data;

  g_mutex_lock (&self->lock);
  while (!self->stopping)
    {
      gint64 deadline = g_get_monotonic_time () + self->interval_s * G_USEC_PER_SEC;

      while (!self->stopping && g_cond_wait_until (&self->cond, &self->lock, deadline))
        ;
      if (self->stopping)
        break;
      g_mutex_unlock (&self->lock);
      vds_activity_log_flush (self);
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
  self->pending = new_table ();
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

  vds_activity_log_flush (self);
  g_hash_table_unref (self->pending);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->flush_lock);
  g_free (self);
}
