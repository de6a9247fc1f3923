/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-limits.c — token buckets in a hash table under one mutex. Full buckets are
 * forgotten from time to time, so a scan of many addresses cannot grow memory forever. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <math.h>

#include "vds-limits.h"

/* Past this many keys, a take first drops the buckets that have refilled. */
#define PRUNE_THRESHOLD 4096

typedef struct
{
  double tokens;
  gint64 last_us;
} Bucket;

struct _VdsLimiter
{
  GMutex      lock;
  double      rate;
  double      burst;
  GHashTable *buckets;    /* key → Bucket */
  guint       prune_at;
};

VdsLimiter *
vds_limiter_new (double rate,
                 double burst)
{
  VdsLimiter *self = g_new0 (VdsLimiter, 1);

  g_mutex_init (&self->lock);
  self->rate = rate;
  self->burst = burst;
  self->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->prune_at = PRUNE_THRESHOLD;
  return self;
}

void
vds_limiter_free (VdsLimiter *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->buckets);
  g_mutex_clear (&self->lock);
  g_free (self);
}

static void
refill (VdsLimiter *self,
        Bucket     *bucket,
        gint64      now_us)
{
  if (now_us > bucket->last_us)
    {
      bucket->tokens = MIN (self->burst,
                            bucket->tokens + self->rate * (now_us - bucket->last_us) / 1e6);
      bucket->last_us = now_us;
    }
}

static void
prune (VdsLimiter *self,
       gint64      now_us)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->buckets);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      refill (self, value, now_us);
      if (((Bucket *) value)->tokens >= self->burst)
        g_hash_table_iter_remove (&iter);
    }
  /* Keys that stay busy are real clients; move the threshold past them. */
  self->prune_at = MAX (PRUNE_THRESHOLD, 2 * g_hash_table_size (self->buckets));
}

gboolean
vds_limiter_take (VdsLimiter *self,
                  const char *key,
                  gint64      now_us,
                  guint      *out_retry_after)
{
  Bucket *bucket;
  gboolean ok;

  g_return_val_if_fail (self != NULL, TRUE);
  g_return_val_if_fail (key != NULL, TRUE);

  if (self->rate <= 0 || self->burst < 1)
    return TRUE;

  g_mutex_lock (&self->lock);
  bucket = g_hash_table_lookup (self->buckets, key);
  if (bucket == NULL)
    {
      if (g_hash_table_size (self->buckets) >= self->prune_at)
        prune (self, now_us);
      bucket = g_new0 (Bucket, 1);
      bucket->tokens = self->burst;
      bucket->last_us = now_us;
      g_hash_table_insert (self->buckets, g_strdup (key), bucket);
    }
  refill (self, bucket, now_us);
  ok = bucket->tokens >= 1.0;
  if (ok)
    bucket->tokens -= 1.0;
  else if (out_retry_after != NULL)
    *out_retry_after = (guint) MAX (1.0, ceil ((1.0 - bucket->tokens) / self->rate));
  g_mutex_unlock (&self->lock);
  return ok;
}

guint
vds_limiter_size (VdsLimiter *self)
{
  guint n;

  g_mutex_lock (&self->lock);
  n = g_hash_table_size (self->buckets);
  g_mutex_unlock (&self->lock);
  return n;
}
