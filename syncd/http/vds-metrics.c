/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-metrics.c — the metrics behind /metrics: one mutex around plain counters (a few
 * increments per request, never contended long), rendered on demand. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-metrics.h"

#include <string.h>

#include "vd-change.h"
#include "vd-protocol.h"

/* Request durations: from 1 ms (a cached answer) to 10 s (a large push on a slow disk). */
static const double buckets[] = {
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
#define N_BUCKETS G_N_ELEMENTS (buckets)

typedef struct
{
  guint64 counts[N_BUCKETS];   /* cumulative at render time, per bucket here */
  guint64 count;
  double  sum;
} Histogram;

struct _VdsMetrics
{
  GMutex      lock;
  GHashTable *requests;     /* "route\tstatus" → guint64* */
  GHashTable *durations;    /* route → Histogram* */
  GHashTable *rejected;     /* code → guint64* */
  guint64     pushes;
  guint64     merged;
  guint64     listing_builds;
  double      listing_seconds;
  gint        streams;      /* atomic */
};

VdsMetrics *
vds_metrics_new (void)
{
  VdsMetrics *self = g_new0 (VdsMetrics, 1);

  g_mutex_init (&self->lock);
  self->requests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->durations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->rejected = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
vds_metrics_free (VdsMetrics *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->requests);
  g_hash_table_unref (self->durations);
  g_hash_table_unref (self->rejected);
  g_mutex_clear (&self->lock);
  g_free (self);
}

static void
bump (GHashTable *table,
      const char *key,
      guint64     n)
{
  guint64 *value = g_hash_table_lookup (table, key);

  if (value == NULL)
    {
      value = g_new0 (guint64, 1);
      g_hash_table_insert (table, g_strdup (key), value);
    }
  *value += n;
}

void
vds_metrics_observe_request (VdsMetrics *self,
                             const char *route,
                             guint       status,
                             double      seconds)
{
  char key[96];
  Histogram *h;

  g_return_if_fail (self != NULL);

  if (route == NULL)
    route = "none";
  g_snprintf (key, sizeof key, "%s\t%u", route, status);

  g_mutex_lock (&self->lock);
  bump (self->requests, key, 1);
  h = g_hash_table_lookup (self->durations, route);
  if (h == NULL)
    {
      h = g_new0 (Histogram, 1);
      g_hash_table_insert (self->durations, g_strdup (route), h);
    }
  for (guint i = 0; i < N_BUCKETS; i++)
    if (seconds <= buckets[i])
      {
        h->counts[i]++;
        break;
      }
  h->count++;
  h->sum += MAX (seconds, 0);
  g_mutex_unlock (&self->lock);
}

void
vds_metrics_count_push (VdsMetrics *self,
                        guint       merged,
                        GPtrArray  *rejected)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  self->pushes++;
  self->merged += merged;
  if (rejected != NULL)
    for (guint i = 0; i < rejected->len; i++)
      {
        const VdRejection *r = rejected->pdata[i];
        bump (self->rejected, r->code != NULL ? r->code : "unknown", 1);
      }
  g_mutex_unlock (&self->lock);
}

void
vds_metrics_count_listing_build (VdsMetrics *self,
                                 double      seconds)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->lock);
  self->listing_builds++;
  self->listing_seconds += seconds;
  g_mutex_unlock (&self->lock);
}

void
vds_metrics_add_streams (VdsMetrics *self,
                         gint        delta)
{
  g_return_if_fail (self != NULL);
  g_atomic_int_add (&self->streams, delta);
}

gint64
vds_metrics_get_streams (VdsMetrics *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return g_atomic_int_get (&self->streams);
}

/* Label values are our own route names and error codes; escaped anyway as the format
 * says (backslash, quote, newline). */
static void
append_label (GString    *out,
              const char *value)
{
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '\\' || *p == '"')
        g_string_append_c (out, '\\');
      if (*p == '\n')
        {
          g_string_append (out, "\\n");
          continue;
        }
      g_string_append_c (out, *p);
    }
}

static void
append_double (GString *out,
               double   value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (out, g_ascii_dtostr (buf, sizeof buf, value));
}

static gint
compare_keys (gconstpointer a,
              gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The keys of table, sorted, so that the exposition is stable between scrapes. */
static GPtrArray *
sorted_keys (GHashTable *table)
{
  GPtrArray *keys = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_keys);
  return keys;
}

static void
header (GString    *out,
        const char *name,
        const char *type,
        const char *help)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *
vds_metrics_render (VdsMetrics *self,
                    gint64      open_conflicts,
                    guint       pool_in_use,
                    guint       pool_size)
{
  GString *out = g_string_sized_new (4096);
  g_autoptr(GPtrArray) keys = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  g_mutex_lock (&self->lock);

  header (out, "vetdesk_http_requests_total", "counter",
          "HTTP requests answered, by route and status.");
  keys = sorted_keys (self->requests);
  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = keys->pdata[i];
      const char *tab = strchr (key, '\t');
      g_autofree char *route = g_strndup (key, tab - key);

      g_string_append (out, "vetdesk_http_requests_total{route=\"");
      append_label (out, route);
      g_string_append_printf (out, "\",status=\"%s\"} %" G_GUINT64_FORMAT "\n", tab + 1,
                              *(guint64 *) g_hash_table_lookup (self->requests, key));
    }
  g_clear_pointer (&keys, g_ptr_array_unref);

  header (out, "vetdesk_http_request_duration_seconds", "histogram",
          "Time from a request's headers to its answer, by route.");
  keys = sorted_keys (self->durations);
  for (guint i = 0; i < keys->len; i++)
    {
      const char *route = keys->pdata[i];
      const Histogram *h = g_hash_table_lookup (self->durations, route);
      guint64 cumulative = 0;

      for (guint b = 0; b < N_BUCKETS; b++)
        {
          cumulative += h->counts[b];
          g_string_append (out, "vetdesk_http_request_duration_seconds_bucket{route=\"");
          append_label (out, route);
          g_string_append (out, "\",le=\"");
          append_double (out, buckets[b]);
          g_string_append_printf (out, "\"} %" G_GUINT64_FORMAT "\n", cumulative);
        }
      g_string_append (out, "vetdesk_http_request_duration_seconds_bucket{route=\"");
      append_label (out, route);
      g_string_append_printf (out, "\",le=\"+Inf\"} %" G_GUINT64_FORMAT "\n", h->count);
      g_string_append (out, "vetdesk_http_request_duration_seconds_sum{route=\"");
      append_label (out, route);
      g_string_append (out, "\"} ");
      append_double (out, h->sum);
      g_string_append (out, "\nvetdesk_http_request_duration_seconds_count{route=\"");
      append_label (out, route);
      g_string_append_printf (out, "\"} %" G_GUINT64_FORMAT "\n", h->count);
    }
  g_clear_pointer (&keys, g_ptr_array_unref);

  header (out, "vetdesk_push_total", "counter", "Pushes committed (replays not counted).");
  g_string_append_printf (out, "vetdesk_push_total %" G_GUINT64_FORMAT "\n", self->pushes);
  header (out, "vetdesk_changes_merged_total", "counter", "Changes accepted and merged.");
  g_string_append_printf (out, "vetdesk_changes_merged_total %" G_GUINT64_FORMAT "\n",
                          self->merged);

  header (out, "vetdesk_admin_listing_builds_total", "counter",
          "Snapshots of every clinic's figures read for the admin listing.");
  g_string_append_printf (out, "vetdesk_admin_listing_builds_total %" G_GUINT64_FORMAT "\n",
                          self->listing_builds);
  header (out, "vetdesk_admin_listing_build_seconds_total", "counter",
          "Time spent reading those snapshots.");
  g_string_append (out, "vetdesk_admin_listing_build_seconds_total ");
  append_double (out, self->listing_seconds);
  g_string_append_c (out, '\n');

  header (out, "vetdesk_changes_rejected_total", "counter", "Changes refused, by code.");
  keys = sorted_keys (self->rejected);
  for (guint i = 0; i < keys->len; i++)
    {
      g_string_append (out, "vetdesk_changes_rejected_total{code=\"");
      append_label (out, keys->pdata[i]);
      g_string_append_printf (out, "\"} %" G_GUINT64_FORMAT "\n",
                              *(guint64 *) g_hash_table_lookup (self->rejected, keys->pdata[i]));
    }
  g_mutex_unlock (&self->lock);

  /* A database-wide figure, the same from every instance on one database: labelled so,
   * to be aggregated with max(), never summed (issue #18 item 5). */
  header (out, "vetdesk_open_conflicts", "gauge",
          "Conflicts open in every clinic of the database, the same figure from every "
          "instance: aggregate with max, not sum (read at most every 10 s).");
  g_string_append_printf (out, "vetdesk_open_conflicts{scope=\"database\"} %" G_GINT64_FORMAT
                          "\n", open_conflicts);
  header (out, "vetdesk_stream_connections", "gauge", "Live-update streams open.");
  g_string_append_printf (out, "vetdesk_stream_connections %" G_GINT64_FORMAT "\n",
                          vds_metrics_get_streams (self));
  header (out, "vetdesk_db_pool_in_use", "gauge", "Database connections borrowed now.");
  g_string_append_printf (out, "vetdesk_db_pool_in_use %u\n", pool_in_use);
  header (out, "vetdesk_db_pool_size", "gauge", "Database connections the pool may open.");
  g_string_append_printf (out, "vetdesk_db_pool_size %u\n", pool_size);

  return g_string_free (out, FALSE);
}
