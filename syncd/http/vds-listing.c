/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-listing.c — the admin listing of clinics: a snapshot of every clinic's figures kept
 * for a short while, its JSON written once for the platform admin and kept gzip-compressed
 * too. Company admins get their clinics filtered from the same snapshot. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-listing.h"

#include <gio/gio.h>
#include <string.h>

#include "vd-change.h"
#include "vds-metrics.h"

/* While an admin has looked within this many seconds, a thread keeps the snapshot fresh,
 * so that a listing never waits for the database. */
#define WATCH_S 30

typedef struct
{
  GPtrArray *stats;       /* VdsTenantStats*, every clinic, by name */
  gint64     built_at;    /* monotonic µs */
  GMutex     lock;        /* for the two below */
  GBytes    *all_json;    /* every clinic, written on first use */
  GBytes    *all_gzip;
} Snapshot;

struct _VdsListing
{
  VdsStore       *store;
  VdsActivityLog *activity;
  VdsMetrics     *metrics;
  gint64          max_age_us;

  GMutex          build_lock;   /* one build at a time; taken before lock */
  GMutex          lock;         /* the fields below */
  GCond           cond;
  Snapshot       *current;
  gint64          watched_at;   /* monotonic µs of the last listing, 0 = never */
  gint64          all_watched_at; /* … of the last listing of every clinic */
  gboolean        stopping;
  GThread        *refresher;
};

static void
snapshot_clear (Snapshot *snap)
{
  g_clear_pointer (&snap->stats, g_ptr_array_unref);
  g_clear_pointer (&snap->all_json, g_bytes_unref);
  g_clear_pointer (&snap->all_gzip, g_bytes_unref);
  g_mutex_clear (&snap->lock);
}

static Snapshot *
snapshot_ref (Snapshot *snap)
{
  return g_atomic_rc_box_acquire (snap);
}

static void
snapshot_unref (Snapshot *snap)
{
  g_atomic_rc_box_release_full (snap, (GDestroyNotify) snapshot_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Snapshot, snapshot_unref)

static gpointer refresher_main (gpointer data);

VdsListing *
vds_listing_new (VdsStore       *store,
                 VdsActivityLog *activity,
                 VdsMetrics     *metrics,
                 guint           max_age_ms)
{
  VdsListing *self = g_new0 (VdsListing, 1);

  self->store = store;
  self->activity = activity;
  self->metrics = metrics;
  self->max_age_us = (gint64) max_age_ms * 1000;
  g_mutex_init (&self->build_lock);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  if (self->max_age_us > 0)
    self->refresher = g_thread_new ("listing", refresher_main, self);
  return self;
}

void
vds_listing_free (VdsListing *self)
{
  if (self == NULL)
    return;
  g_mutex_lock (&self->lock);
  self->stopping = TRUE;
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
  g_clear_pointer (&self->refresher, g_thread_join);
  g_clear_pointer (&self->current, snapshot_unref);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->build_lock);
  g_free (self);
}

/* ---- JSON ---- */

static void
append_tenant (GString              *out,
               const VdsTenantStats *s)
{
  g_string_append (out, "{\"id\":");
  vd_json_append_string (out, s->id);
  g_string_append (out, ",\"slug\":");
  vd_json_append_string (out, s->slug);
  g_string_append (out, ",\"name\":");
  vd_json_append_string (out, s->name);
  g_string_append (out, ",\"company_id\":");
  vd_json_append_string (out, s->company_id);
  g_string_append (out, ",\"company_name\":");
  vd_json_append_string (out, s->company_name);
  g_string_append (out, ",\"timezone\":");
  vd_json_append_string (out, s->timezone);
  g_string_append_printf (out, ",\"counts\":{\"clients\":%" G_GINT64_FORMAT
                          ",\"pets\":%" G_GINT64_FORMAT ",\"appointments\":%" G_GINT64_FORMAT
                          ",\"staff\":%" G_GINT64_FORMAT "},\"devices\":%" G_GINT64_FORMAT,
                          s->clients, s->pets, s->appointments, s->staff, s->devices);
  g_string_append (out, ",\"last_sync_at\":");
  vd_json_append_utc_or_null (out, s->last_sync_at);
  g_string_append_printf (out, ",\"open_conflicts\":%" G_GINT64_FORMAT
                          ",\"seq\":%" G_GINT64_FORMAT ",\"health\":",
                          s->open_conflicts, s->seq);
  vd_json_append_string (out, s->health);
  g_string_append_printf (out, ",\"devices_online\":%" G_GINT64_FORMAT
                          ",\"rejected_24h\":%" G_GINT64_FORMAT
                          ",\"errors_1h\":%" G_GINT64_FORMAT ",\"activity\":[",
                          s->devices_online, s->rejected_24h, s->errors_1h);
  for (guint h = 0; h < G_N_ELEMENTS (s->activity); h++)
    g_string_append_printf (out, h > 0 ? ",%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT,
                            s->activity[h]);
  g_string_append (out, "]}");
}

/* company_ids NULL: every clinic of stats. */
static GBytes *
encode (GPtrArray          *stats,
        const char * const *company_ids)
{
  GString *out = g_string_sized_new (64 + stats->len * 448);
  gboolean first = TRUE;

  g_string_append (out, "{\"tenants\":[");
  for (guint i = 0; i < stats->len; i++)
    {
      const VdsTenantStats *s = g_ptr_array_index (stats, i);

      if (company_ids != NULL
          && (s->company_id == NULL || !g_strv_contains (company_ids, s->company_id)))
        continue;
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      append_tenant (out, s);
    }
  g_string_append (out, "]}");
  return g_string_free_to_bytes (out);
}

/* Level 1: the keys repeat in every object, so even the fastest level takes 4 MiB of
 * listing to a few hundred KiB, in a fraction of the time level 6 takes. */
static GBytes *
gzip_bytes (GBytes  *data,
            GError **error)
{
  g_autoptr(GZlibCompressor) zlib = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 1);
  g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) out = g_converter_output_stream_new (mem, G_CONVERTER (zlib));
  gsize len;
  gconstpointer bytes = g_bytes_get_data (data, &len);

  if (!g_output_stream_write_all (out, bytes, len, NULL, NULL, error)
      || !g_output_stream_close (out, NULL, error))
    return NULL;
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
}

/* ---- snapshots ---- */

static Snapshot *
snapshot_build (VdsListing         *self,
                const char * const *company_ids,
                GError            **error)
{
  g_autoptr(GPtrArray) stats = NULL;
  gint64 started = g_get_monotonic_time ();
  Snapshot *snap;

  /* This process's own counts and devices' pulls are in before the figures are read. */
  if (self->activity != NULL)
    {
      vds_activity_log_flush (self->activity);
      vds_activity_log_flush_pulls (self->activity);
    }
  stats = vds_store_admin_tenants (self->store, company_ids, error);
  if (stats == NULL)
    return NULL;
  g_ptr_array_set_free_func (stats, (GDestroyNotify) vds_tenant_stats_free);

  snap = g_atomic_rc_box_new0 (Snapshot);
  g_mutex_init (&snap->lock);
  snap->stats = g_steal_pointer (&stats);
  snap->built_at = g_get_monotonic_time ();
  if (self->metrics != NULL)
    vds_metrics_count_listing_build (self->metrics,
                                     (snap->built_at - started) / (double) G_USEC_PER_SEC);
  return snap;
}

/* The whole platform's JSON (or gzip) of snap, written once. */
static GBytes *
snapshot_all (Snapshot *snap,
              gboolean  gzip,
              GError  **error)
{
  GBytes *bytes;

  g_mutex_lock (&snap->lock);
  if (snap->all_json == NULL)
    snap->all_json = encode (snap->stats, NULL);
  if (gzip && snap->all_gzip == NULL)
    snap->all_gzip = gzip_bytes (snap->all_json, error);
  bytes = gzip ? snap->all_gzip : snap->all_json;
  if (bytes != NULL)
    g_bytes_ref (bytes);
  g_mutex_unlock (&snap->lock);
  return bytes;
}

/* With lock held: the current snapshot if it may still be served, else NULL. */
static Snapshot *
current_if_fresh (VdsListing *self,
                  gint64      now)
{
  if (self->current == NULL || now - self->current->built_at >= self->max_age_us)
    return NULL;
  return snapshot_ref (self->current);
}

/* The current snapshot of every clinic, built when there is none or it is too old. */
static Snapshot *
snapshot_get (VdsListing *self,
              gboolean    all,
              GError    **error)
{
  Snapshot *snap;
  Snapshot *fresh;

  g_mutex_lock (&self->lock);
  self->watched_at = g_get_monotonic_time ();
  if (all)
    self->all_watched_at = self->watched_at;
  /* A first look after a quiet spell: the refresher takes over from here. */
  g_cond_signal (&self->cond);
  snap = current_if_fresh (self, self->watched_at);
  g_mutex_unlock (&self->lock);
  if (snap != NULL)
    return snap;

  g_mutex_lock (&self->build_lock);
  g_mutex_lock (&self->lock);
  snap = current_if_fresh (self, g_get_monotonic_time ());
  g_mutex_unlock (&self->lock);
  if (snap == NULL && (fresh = snapshot_build (self, NULL, error)) != NULL)
    {
      g_mutex_lock (&self->lock);
      g_clear_pointer (&self->current, snapshot_unref);
      self->current = fresh;
      snap = snapshot_ref (fresh);
      g_mutex_unlock (&self->lock);
    }
  g_mutex_unlock (&self->build_lock);
  return snap;
}

/* While someone watches, a new snapshot is made when the current one is three quarters
 * through its life, so a listing finds a fresh one ready; the platform's JSON and its gzip
 * are written ahead too when the platform admin is among the watchers. */
static gpointer
refresher_main (gpointer data)
{
  VdsListing *self = data;

  g_mutex_lock (&self->lock);
  while (!self->stopping)
    {
      gint64 now = g_get_monotonic_time ();
      gboolean watched = self->watched_at > 0 && now - self->watched_at < WATCH_S * G_USEC_PER_SEC;
      gboolean all = self->all_watched_at > 0 && now - self->all_watched_at < WATCH_S * G_USEC_PER_SEC;
      gint64 due = self->current != NULL ? self->current->built_at + self->max_age_us * 3 / 4 : now;
      g_autoptr(GError) error = NULL;
      Snapshot *fresh;

      if (!watched)
        {
          /* Nobody looks: sleep until a listing comes. */
          g_cond_wait (&self->cond, &self->lock);
          continue;
        }
      if (now < due)
        {
          g_cond_wait_until (&self->cond, &self->lock, due);
          continue;
        }
      g_mutex_unlock (&self->lock);

      g_mutex_lock (&self->build_lock);
      fresh = snapshot_build (self, NULL, &error);
      if (fresh == NULL)
        g_warning ("Could not read the clinics for the admin listing: %s", error->message);
      else if (all)
        {
          g_autoptr(GBytes) ahead = snapshot_all (fresh, TRUE, NULL);
        }
      g_mutex_lock (&self->lock);
      if (fresh != NULL)
        {
          g_clear_pointer (&self->current, snapshot_unref);
          self->current = fresh;
        }
      else if (!self->stopping)
        {
          /* The database is away: try again in a while, not in a loop. */
          g_mutex_unlock (&self->build_lock);
          g_cond_wait_until (&self->cond, &self->lock, g_get_monotonic_time () + self->max_age_us);
          continue;
        }
      g_mutex_unlock (&self->build_lock);
    }
  g_mutex_unlock (&self->lock);
  return NULL;
}

GBytes *
vds_listing_get (VdsListing         *self,
                 const char * const *company_ids,
                 gboolean            gzip,
                 GError            **error)
{
  g_autoptr(Snapshot) snap = NULL;
  g_autoptr(GBytes) json = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (company_ids != NULL && company_ids[0] == NULL)
    json = g_bytes_new_static ("{\"tenants\":[]}", strlen ("{\"tenants\":[]}"));
  else if (self->max_age_us == 0)
    {
      /* No sharing: only the clinics asked for are read. */
      snap = snapshot_build (self, company_ids, error);
      if (snap == NULL)
        return NULL;
      json = encode (snap->stats, NULL);
    }
  else
    {
      snap = snapshot_get (self, company_ids == NULL, error);
      if (snap == NULL)
        return NULL;
      if (company_ids == NULL)
        return snapshot_all (snap, gzip, error);
      json = encode (snap->stats, company_ids);
    }

  return gzip ? gzip_bytes (json, error) : g_steal_pointer (&json);
}
