/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-store-pull.c — what a desk pulls: the clinics' seqs, a pull of the changes after a
 * cursor in one snapshot, and the cache of encoded pull answers, valid while their clinic's
 * seq has not moved. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <inttypes.h>

#include "vds-store.h"

#include <string.h>

#include "vd-id.h"
#include "vd-protocol.h"
#include "vds-store-private.h"

/* ---- Sequences --------------------------------------------------------------------- */

typedef struct
{
  const char *tenant_id;
  gint64      seq;   /* out */
} GetSeq;

static gboolean
get_seq_txn (VdsStore *self,
             VdsDb    *db,
             gpointer  data,
             GError  **error)
{
  GetSeq *gs = data;
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[1] = { VDS_TEXT (gs->tenant_id) };

  result = vds_db_query (db, "SELECT seq FROM vd_seq WHERE tenant_id = $1", params, 1, error);
  if (result == NULL)
    return FALSE;
  gs->seq = vds_result_n_rows (result) > 0 ? vds_result_get_int (result, 0, 0) : 0;
  return TRUE;
}

gboolean
vds_store_get_seq (VdsStore    *self,
                   const char  *tenant_id,
                   gint64      *out_seq,
                   GError     **error)
{
  GetSeq gs = { tenant_id, 0 };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_seq != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!vds_store_check_tenant_id (tenant_id, error))
    return FALSE;
  if (!vds_store_run (self, VDS_TXN_NONE, get_seq_txn, &gs, error))
    return FALSE;
  *out_seq = gs.seq;
  return TRUE;
}

typedef struct
{
  const char *sql;
  const char *list;
  GHashTable *seqs;   /* out */
} GetSeqs;

static gboolean
get_seqs_txn (VdsStore *self,
              VdsDb    *db,
              gpointer  data,
              GError  **error)
{
  GetSeqs *gs = data;
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[1] = { VDS_TEXT (gs->list) };

  g_hash_table_remove_all (gs->seqs);
  result = vds_db_query (db, gs->sql, params, 1, error);
  if (result == NULL)
    return FALSE;
  for (guint r = 0; r < vds_result_n_rows (result); r++)
    g_hash_table_insert (gs->seqs, g_strdup (vds_result_get_text (result, r, 0)),
                         g_memdup2 (&(gint64) { vds_result_get_int (result, r, 1) },
                                    sizeof (gint64)));
  return TRUE;
}

GHashTable *
vds_store_get_seqs (VdsStore           *self,
                    const char * const *tenant_ids,
                    guint               n_ids,
                    GError            **error)
{
  g_autoptr(GPtrArray) valid = g_ptr_array_new ();
  g_autofree char *filter = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *list = NULL;
  GetSeqs gs = { NULL, NULL, NULL };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  gs.seqs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < n_ids; i++)
    if (tenant_ids[i] != NULL && vd_uuid_is_valid (tenant_ids[i]))
      g_ptr_array_add (valid, (gpointer) tenant_ids[i]);
  if (valid->len == 0)
    return gs.seqs;

  list = vds_store_id_list (self, (const char * const *) valid->pdata, valid->len);
  filter = vds_store_in_list (self, "tenant_id", 1);
  sql = g_strdup_printf ("SELECT tenant_id%s, seq FROM vd_seq WHERE %s",
                         vds_db_dialect_text_cast (self->dialect), filter);
  gs.sql = sql;
  gs.list = list;
  if (!vds_store_run (self, VDS_TXN_NONE, get_seqs_txn, &gs, error))
    {
      g_hash_table_unref (gs.seqs);
      return NULL;
    }
  return gs.seqs;
}

/* ---- Pull -------------------------------------------------------------------------- */

typedef struct
{
  const char *tenant_id;
  gint64      after;
  guint       limit;
  gboolean    read_seq;  /* also read the clinic's seq in the same snapshot */
  GPtrArray  *changes;   /* out */
  gint64      cursor;    /* out */
  gboolean    more;      /* out */
  gint64      seq;       /* out, when read_seq */
} Pull;

static gboolean
pull_txn (VdsStore *self,
          VdsDb    *db,
          gpointer  data,
          GError  **error)
{
  Pull *pull = data;
  g_autofree VdsResult **results = g_new0 (VdsResult *, self->n_tables);
  g_autofree guint *pos = g_new0 (guint, self->n_tables);
  VdValue *values = NULL;
  VdCellClock *clocks = NULL;
  guint max_columns = 1;
  gboolean ok = TRUE;

  g_clear_pointer (&pull->changes, g_ptr_array_unref);
  pull->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  pull->cursor = pull->after;
  pull->more = FALSE;

  if (pull->read_seq)
    {
      g_autoptr(VdsResult) seq = NULL;
      VdsParam params[1] = { VDS_TEXT (pull->tenant_id) };

      seq = vds_db_query (db, "SELECT seq FROM vd_seq WHERE tenant_id = $1", params, 1, error);
      if (seq == NULL)
        return FALSE;
      pull->seq = vds_result_n_rows (seq) > 0 ? vds_result_get_int (seq, 0, 0) : 0;
    }

  /* Every row above the cursor yields at least one change, so limit + 1 rows per table
   * decide both where the page ends and whether more remains. */
  for (guint t = 0; ok && t < self->n_tables; t++)
    {
      VdsParam params[3] = {
        VDS_TEXT (pull->tenant_id), VDS_INT (pull->after), VDS_INT ((gint64) pull->limit + 1)
      };

      max_columns = MAX (max_columns, self->tables[t].table->n_columns);
      results[t] = vds_db_query (db, self->tables[t].since, params, 3, error);
      ok = results[t] != NULL;
    }

  if (ok)
    {
      values = g_new0 (VdValue, max_columns);
      clocks = g_new0 (VdCellClock, max_columns);
    }

  /* The per-table streams merged by seq; seqs are unique within a clinic. */
  while (ok)
    {
      const VdTable *table;
      VdsResult *result;
      gint64 row_seq = 0;
      guint best = G_MAXUINT;
      guint before;

      for (guint t = 0; t < self->n_tables; t++)
        {
          guint n = self->tables[t].table->n_columns;

          if (results[t] == NULL || pos[t] >= vds_result_n_rows (results[t]))
            continue;
          if (best == G_MAXUINT ||
              vds_result_get_int (results[t], pos[t], n + 1) <
              vds_result_get_int (results[best], pos[best],
                                  self->tables[best].table->n_columns + 1))
            best = t;
        }
      if (best == G_MAXUINT)
        break;

      table = self->tables[best].table;
      result = results[best];
      if (!vds_store_read_row (result, pos[best], table, values, clocks, &row_seq, error))
        {
          ok = FALSE;
          break;
        }

      before = pull->changes->len;
      vd_row_changes_since (table, vds_result_get_text (result, pos[best], 0), values, clocks,
                            row_seq, pull->after, pull->changes);
      for (guint c = 0; c < table->n_columns; c++)
        vd_value_clear (&values[c]);

      if (before > 0 && pull->changes->len > pull->limit)
        {
          /* A row is never split: it goes whole into the next page. */
          g_ptr_array_set_size (pull->changes, before);
          pull->more = TRUE;
          break;
        }
      pull->cursor = row_seq;
      pos[best]++;
    }

  for (guint t = 0; t < self->n_tables; t++)
    g_clear_pointer (&results[t], vds_result_free);
  g_free (values);
  g_free (clocks);
  return ok;
}

gboolean
vds_store_pull (VdsStore    *self,
                const char  *tenant_id,
                gint64       cursor,
                guint        limit,
                GPtrArray  **out_changes,
                gint64      *out_cursor,
                gboolean    *out_more,
                GError     **error)
{
  Pull pull = { tenant_id, MAX (cursor, 0), MAX (limit, 1), FALSE, NULL, 0, FALSE, 0 };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_changes != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!vds_store_check_tenant_id (tenant_id, error))
    return FALSE;

  if (!vds_store_run (self, VDS_TXN_SNAPSHOT, pull_txn, &pull, error))
    {
      g_clear_pointer (&pull.changes, g_ptr_array_unref);
      return FALSE;
    }

  *out_changes = pull.changes;
  if (out_cursor != NULL)
    *out_cursor = pull.cursor;
  if (out_more != NULL)
    *out_more = pull.more;
  return TRUE;
}

/* ---- The pull answer cache ---------------------------------------------------------- */

/* A full pull of a clinic is the same bytes until its seq moves, and desks pull far more
 * often than anyone pushes, so answers are kept encoded, keyed by (clinic, cursor, limit).
 * Validity is checked against the seq in the database on every pull, never against what
 * this process saw: another syncd on the same PostgreSQL may have pushed. An answer
 * computed at seq S serves any pull that read a seq ≤ S just before (it is at least as
 * fresh as one computed then). Only server_hlc differs between two such answers; it is
 * the answer's last value and has a fixed width, so it is patched in a copy. */

typedef struct
{
  char     *key;
  gint64    seq;         /* the clinic's seq in the snapshot the answer was read in */
  GBytes   *answer;      /* NULL while computing */
  gint64    cursor;
  gboolean  more;
  gboolean  computing;   /* one caller computes; identical misses wait for it */
  GList     link;        /* in lru while it holds an answer */
} CacheEntry;

struct _VdsPullCache
{
  GMutex      lock;
  GCond       done;
  GHashTable *entries;   /* key → CacheEntry */
  GQueue      lru;       /* newest first */
  gsize       bytes;
  gsize       max_bytes;
};

static void
cache_entry_free (gpointer data)
{
  CacheEntry *entry = data;

  g_clear_pointer (&entry->answer, g_bytes_unref);
  g_free (entry->key);
  g_free (entry);
}

VdsPullCache *
vds_pull_cache_new (gsize max_bytes)
{
  VdsPullCache *cache = g_new0 (VdsPullCache, 1);

  g_mutex_init (&cache->lock);
  g_cond_init (&cache->done);
  cache->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, cache_entry_free);
  g_queue_init (&cache->lru);
  cache->max_bytes = max_bytes;
  return cache;
}

void
vds_pull_cache_free (VdsPullCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_unref (cache->entries);
  g_mutex_clear (&cache->lock);
  g_cond_clear (&cache->done);
  g_free (cache);
}

/* What an entry holding an answer counts against the bound: many small answers (one per
 * desk cursor) must not grow the process past it either. */
static gsize
cache_entry_cost (const CacheEntry *entry)
{
  return g_bytes_get_size (entry->answer) + sizeof (CacheEntry) + strlen (entry->key) + 64;
}

/* Drops an entry's answer; called with the lock held. */
static void
cache_forget (VdsPullCache *cache,
              CacheEntry   *entry)
{
  if (entry->answer == NULL)
    return;
  g_queue_unlink (&cache->lru, &entry->link);
  cache->bytes -= cache_entry_cost (entry);
  g_clear_pointer (&entry->answer, g_bytes_unref);
}

/* A copy of the cached answer with the server's current hlc. */
static GBytes *
patch_hlc (VdsStore *self,
           GBytes   *answer)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (answer, &len);
  char *copy = g_memdup2 (data, len);

  vd_pull_answer_restamp (copy, len, vds_store_clock_tick (self));
  return g_bytes_new_take (copy, len);
}

GBytes *
vds_store_pull_answer (VdsStore    *self,
                       const char  *tenant_id,
                       gint64       cursor,
                       guint        limit,
                       gint64      *out_cursor,
                       gboolean    *out_more,
                       GError     **error)
{
  gint64 seq = 0;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!vds_store_check_tenant_id (tenant_id, error) ||
      !vds_store_get_seq (self, tenant_id, &seq, error))
    return NULL;
  return vds_store_pull_answer_at (self, tenant_id, seq, cursor, limit, out_cursor, out_more,
                                   error);
}

GBytes *
vds_store_pull_answer_at (VdsStore    *self,
                          const char  *tenant_id,
                          gint64       seq,
                          gint64       cursor,
                          guint        limit,
                          gint64      *out_cursor,
                          gboolean    *out_more,
                          GError     **error)
{
  VdsPullCache *cache;
  g_autofree char *key = NULL;
  Pull pull = { tenant_id, MAX (cursor, 0), MAX (limit, 1), TRUE, NULL, 0, FALSE, 0 };
  CacheEntry *entry;
  GBytes *answer = NULL;
  GBytes *patched;
  char *data;
  gsize len = 0;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!vds_store_check_tenant_id (tenant_id, error))
    return NULL;

  cache = self->pull_cache;
  key = g_strdup_printf ("%s:%" PRId64 ":%u", tenant_id, pull.after, pull.limit);
  g_mutex_lock (&cache->lock);
  for (;;)
    {
      entry = g_hash_table_lookup (cache->entries, key);
      if (entry == NULL || !entry->computing)
        break;
      g_cond_wait (&cache->done, &cache->lock);
    }
  if (entry != NULL && entry->answer != NULL && entry->seq >= seq)
    {
      g_queue_unlink (&cache->lru, &entry->link);
      g_queue_push_head_link (&cache->lru, &entry->link);
      answer = g_bytes_ref (entry->answer);
      if (out_cursor != NULL)
        *out_cursor = entry->cursor;
      if (out_more != NULL)
        *out_more = entry->more;
      g_mutex_unlock (&cache->lock);
      patched = patch_hlc (self, answer);
      g_bytes_unref (answer);
      return patched;
    }
  if (entry == NULL)
    {
      entry = g_new0 (CacheEntry, 1);
      entry->key = g_strdup (key);
      entry->link.data = entry;
      g_hash_table_insert (cache->entries, entry->key, entry);
    }
  cache_forget (cache, entry);
  entry->computing = TRUE;
  g_mutex_unlock (&cache->lock);

  if (vds_store_run (self, VDS_TXN_SNAPSHOT, pull_txn, &pull, error))
    {
      data = vd_pull_answer_encode (pull.changes, pull.cursor, pull.more,
                                    vds_store_clock_tick (self), &len);
      answer = g_bytes_new_take (data, len);
    }
  g_clear_pointer (&pull.changes, g_ptr_array_unref);

  g_mutex_lock (&cache->lock);
  entry->computing = FALSE;
  if (answer != NULL && len <= cache->max_bytes / 4)
    {
      entry->answer = g_bytes_ref (answer);
      entry->seq = pull.seq;
      entry->cursor = pull.cursor;
      entry->more = pull.more;
      g_queue_push_head_link (&cache->lru, &entry->link);
      cache->bytes += cache_entry_cost (entry);
      while (cache->bytes > cache->max_bytes)
        {
          CacheEntry *old = g_queue_peek_tail (&cache->lru);

          cache_forget (cache, old);
          g_hash_table_remove (cache->entries, old->key);
        }
    }
  else
    g_hash_table_remove (cache->entries, key);
  g_cond_broadcast (&cache->done);
  g_mutex_unlock (&cache->lock);

  if (answer != NULL)
    {
      if (out_cursor != NULL)
        *out_cursor = pull.cursor;
      if (out_more != NULL)
        *out_more = pull.more;
    }
  return answer;
}
