/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-convergence.c — replicas with skewed clocks make random edits, exchange them over
 * a network that duplicates, reorders and drops, sync pairwise, then exchange everything:
 * all must hold the same data, and each cell the greatest (hlc, site) ever written.
 * VD_SEED=n replays one seed, VD_SEEDS=N runs seeds 0..N-1 (default 200). */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vd-cell-store.h"

#define N_REPLICAS 5
#define N_STEPS    160
#define TENANT     "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b"

static const char *client_tables[] = { "staff", "clients", "pets", "appointments" };

typedef struct
{
  sqlite3     *db;
  VdCellStore *store;
  VdHlcClock  *clock;
  char         site[VD_UUID_LEN + 1];
  gint64       wall_ms;             /* its wall clock: true time + its skew */
  gint64       cursor[N_REPLICAS];   /* how far this replica has pulled from each other one */
} Replica;

typedef struct
{
  GRand      *rand;
  gint64      now_ms;                /* the simulated true time */
  Replica     replicas[N_REPLICAS];
  GPtrArray  *network;               /* of Message */
  GPtrArray  *ids[G_N_ELEMENTS (client_tables)];
  GHashTable *oracle;                /* "table/id/column" → Write: the greatest write */
  guint       n_writes;
} World;

typedef struct
{
  guint     to;
  VdChange *change;
} Message;

typedef struct
{
  VdHlc   hlc;
  char    site[VD_UUID_LEN + 1];
  VdValue value;
} Write;

static void
write_free (Write *w)
{
  vd_value_clear (&w->value);
  g_free (w);
}

static void
message_free (Message *m)
{
  vd_change_free (m->change);
  g_free (m);
}

/* The wall clock a replica reads: the true time plus its skew, kept current by
 * advance_time (). */
static gint64
wall_cb (gpointer user_data)
{
  Replica *r = user_data;

  return r->wall_ms;
}

static void
advance_time (World *w,
              gint64 step_ms)
{
  w->now_ms += step_ms;
  for (guint i = 0; i < N_REPLICAS; i++)
    w->replicas[i].wall_ms += step_ms;
}

/* A uuid from the seeded generator, so a seed replays the same sites and rows (and so
 * the same site tie-breaks). */
static void
random_uuid (GRand *rand,
             char   out[VD_UUID_LEN + 1])
{
  guint8 bytes[16];

  for (guint i = 0; i < 16; i++)
    bytes[i] = (guint8) g_rand_int_range (rand, 0, 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  vd_uuid_from_bytes (bytes, out);
}

static const char *
random_ref (World      *w,
            const char *table_name)
{
  for (guint t = 0; t < G_N_ELEMENTS (client_tables); t++)
    {
      if (strcmp (client_tables[t], table_name) == 0 && w->ids[t]->len > 0)
        return w->ids[t]->pdata[g_rand_int_range (w->rand, 0, w->ids[t]->len)];
    }
  return NULL;
}

/* A valid value for the column: every generated value passes vd_value_validate. Few
 * distinct values, so concurrent writers often write the same one. */
static void
random_value (World          *w,
              const VdColumn *column,
              VdValue        *value)
{
  GRand *rand = w->rand;
  guint pick = g_rand_int_range (rand, 0, 4);
  g_autoptr(GError) error = NULL;

  if (column->nullable && g_rand_int_range (rand, 0, 8) == 0)
    {
      vd_value_set_null (value);
      return;
    }

  switch (column->type)
    {
    case VD_TYPE_BOOLEAN:
      vd_value_set_bool (value, g_rand_boolean (rand));
      break;
    case VD_TYPE_INTEGER:
      vd_value_set_int (value, (gint64) pick - 2);
      break;
    case VD_TYPE_REAL:
      vd_value_set_real (value, 0.25 + pick * 7.5);
      break;
    case VD_TYPE_DATE:
      vd_value_take_text (value, g_strdup_printf ("20%02u-0%u-2%u", 10 + pick, 1 + pick, pick));
      break;
    case VD_TYPE_TIMESTAMP:
      vd_value_take_text (value, g_strdup_printf ("2025-03-30T0%u:%u0:00Z", pick, pick));
      break;
    case VD_TYPE_UUID:
      {
        const char *ref = column->ref_table != NULL ? random_ref (w, column->ref_table) : NULL;
        char id[VD_UUID_LEN + 1];

        if (ref == NULL)
          {
            random_uuid (rand, id);
            ref = id;
          }
        vd_value_set_text (value, ref);
      }
      break;
    case VD_TYPE_ENUM:
      {
        guint n = g_strv_length ((char **) column->enum_values);

        vd_value_set_text (value, column->enum_values[g_rand_int_range (rand, 0, n)]);
      }
      break;
    case VD_TYPE_TEXT:
    default:
      switch (column->format)
        {
        case VD_FORMAT_EMAIL:
          vd_value_take_text (value, g_strdup_printf ("p%u@example.com", pick));
          break;
        case VD_FORMAT_PHONE:
          vd_value_take_text (value, g_strdup_printf ("+34 600 00%u 0%u", pick, pick));
          break;
        case VD_FORMAT_MICROCHIP:
          vd_value_take_text (value, g_strdup_printf ("98100000000000%u", pick));
          break;
        case VD_FORMAT_COLOR:
          vd_value_take_text (value, g_strdup_printf ("#%02x%02x%02x", pick * 60, 255 - pick, 17));
          break;
        case VD_FORMAT_NONE:
        default:
          vd_value_take_text (value, g_strdup_printf ("%s %u ñ", column->name, pick));
          break;
        }
      break;
    }

  if (!vd_value_validate (column, value, &error))
    g_error ("generated an invalid value: %s", error->message);
}

static void
world_init (World *w,
            guint  seed)
{
  memset (w, 0, sizeof *w);
  w->rand = g_rand_new_with_seed (seed);
  w->now_ms = 1700000000000;
  w->network = g_ptr_array_new_with_free_func ((GDestroyNotify) message_free);
  w->oracle = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) write_free);
  for (guint t = 0; t < G_N_ELEMENTS (client_tables); t++)
    w->ids[t] = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < N_REPLICAS; i++)
    {
      Replica *r = &w->replicas[i];
      g_autoptr(GError) error = NULL;
      /* Mostly in step, so that equal hlcs from different sites are common; some
       * replicas far off. */
      static const gint64 skews[] = { 0, 0, 0, 1, -1, 250, -4000, 60000 };

      g_assert_cmpint (sqlite3_open (":memory:", &r->db), ==, SQLITE_OK);
      r->store = vd_cell_store_new (r->db, TENANT, &error);
      g_assert_no_error (error);
      random_uuid (w->rand, r->site);
      r->wall_ms = w->now_ms + skews[g_rand_int_range (w->rand, 0, G_N_ELEMENTS (skews))];
      r->clock = vd_hlc_clock_new (0, wall_cb, r);
    }
}

static void
world_clear (World *w)
{
  for (guint i = 0; i < N_REPLICAS; i++)
    {
      vd_cell_store_free (w->replicas[i].store);
      sqlite3_close (w->replicas[i].db);
      vd_hlc_clock_free (w->replicas[i].clock);
    }
  g_ptr_array_unref (w->network);
  g_hash_table_unref (w->oracle);
  for (guint t = 0; t < G_N_ELEMENTS (client_tables); t++)
    g_ptr_array_unref (w->ids[t]);
  g_rand_free (w->rand);
}

/* Applies a change at a replica as a receiver: its clock moves past the change's hlc. */
static guint
receive (Replica        *r,
         const VdChange *change)
{
  g_autoptr(GError) error = NULL;
  guint applied = 0;

  g_assert_true (vd_hlc_clock_update (r->clock, change->hlc, 0, &error));
  g_assert_true (vd_cell_store_apply (r->store, change, &applied, &error));
  g_assert_no_error (error);
  return applied;
}

static void
record_write (World          *w,
              const VdChange *change)
{
  for (guint k = 0; k < change->cells->len; k++)
    {
      const VdCell *c = &g_array_index (change->cells, VdCell, k);
      char *key = g_strdup_printf ("%s/%s/%s", change->table->name, change->id, c->column->name);
      Write *held = g_hash_table_lookup (w->oracle, key);
      Write *nw;

      /* The oracle's own order: hlc as a number, then the site's canonical text, which
       * sorts as its bytes do. */
      if (held != NULL &&
          (held->hlc > change->hlc ||
           (held->hlc == change->hlc && strcmp (held->site, change->site) >= 0)))
        {
          g_free (key);
          continue;
        }
      nw = g_new0 (Write, 1);
      nw->hlc = change->hlc;
      memcpy (nw->site, change->site, sizeof nw->site);
      vd_value_copy (&c->value, &nw->value);
      g_hash_table_replace (w->oracle, key, nw);
    }
  w->n_writes++;
}

static gboolean
row_exists (Replica       *r,
            const VdTable *table,
            const char    *id,
            gboolean      *out_deleted)
{
  VdValue values[32] = { { 0 } };
  gboolean found;
  const VdColumn *deleted = vd_table_deleted_column (table);

  found = vd_cell_store_get_row (r->store, table, id, values, NULL, NULL, NULL);
  *out_deleted = found && values[deleted->index].kind == VD_VALUE_BOOL &&
                 values[deleted->index].b;
  for (guint c = 0; c < table->n_columns; c++)
    vd_value_clear (&values[c]);
  return found;
}

/* One user action at replica i: create, edit, delete or undelete a row it holds. */
static void
local_write (World *w,
             guint  i)
{
  Replica *r = &w->replicas[i];
  guint t = g_rand_int_range (w->rand, 0, G_N_ELEMENTS (client_tables));
  const VdTable *table = vd_schema_lookup_table (client_tables[t]);
  const VdColumn *deleted_column = vd_table_deleted_column (table);
  guint action = g_rand_int_range (w->rand, 0, 20);
  const char *id = NULL;
  char new_id[VD_UUID_LEN + 1];
  gboolean deleted = FALSE;
  VdChange *change;
  g_autoptr(GError) error = NULL;
  guint applied = 0;

  if (w->ids[t]->len > 0 && action >= 5)
    {
      id = w->ids[t]->pdata[g_rand_int_range (w->rand, 0, w->ids[t]->len)];
      /* A desk edits only rows it has. */
      if (!row_exists (r, table, id, &deleted))
        id = NULL;
    }

  if (id == NULL)
    {
      random_uuid (w->rand, new_id);
      change = vd_change_new (table, new_id, vd_hlc_clock_tick (r->clock), r->site);
      for (guint c = 0; c < table->n_columns; c++)
        {
          VdValue value = { VD_VALUE_NULL };

          if (&table->columns[c] == deleted_column)
            vd_value_set_bool (&value, FALSE);
          else
            random_value (w, &table->columns[c], &value);
          vd_change_take_cell (change, &table->columns[c], &value);
        }
      g_ptr_array_add (w->ids[t], g_strdup (new_id));
    }
  else
    {
      change = vd_change_new (table, id, vd_hlc_clock_tick (r->clock), r->site);
      if (action < 8 || (deleted && action < 11))
        {
          VdValue value = { VD_VALUE_NULL };

          /* Delete, or undelete a deleted row. */
          vd_value_set_bool (&value, !deleted);
          vd_change_take_cell (change, deleted_column, &value);
        }
      else
        {
          guint n = g_rand_int_range (w->rand, 1, 4);

          for (guint k = 0; k < n; k++)
            {
              const VdColumn *column =
                &table->columns[g_rand_int_range (w->rand, 0, table->n_columns - 1)];
              VdValue value = { VD_VALUE_NULL };

              random_value (w, column, &value);
              vd_change_take_cell (change, column, &value);
            }
        }
    }

  /* The local write always wins locally: its hlc is past everything this replica saw. */
  g_assert_true (vd_cell_store_apply (r->store, change, &applied, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (applied, ==, change->cells->len);
  record_write (w, change);

  /* Sent to each other replica: dropped, once, or duplicated. */
  for (guint j = 0; j < N_REPLICAS; j++)
    {
      guint fate = g_rand_int_range (w->rand, 0, 10);

      if (j == i || fate < 2)
        continue;
      for (guint copies = fate < 8 ? 1 : 2; copies > 0; copies--)
        {
          Message *m = g_new0 (Message, 1);

          m->to = j;
          m->change = vd_change_copy (change);
          g_ptr_array_add (w->network, m);
        }
    }
  vd_change_free (change);
}

/* Delivers one message chosen at random: the network reorders freely. */
static void
deliver_one (World *w)
{
  guint k = g_rand_int_range (w->rand, 0, w->network->len);
  Message *m = g_ptr_array_steal_index_fast (w->network, k);

  receive (&w->replicas[m->to], m->change);
  message_free (m);
}

/* Replica 'to' pulls from replica 'from' after its cursor, in pages. Returns the cells
 * that won. */
static guint
pull (World *w,
      guint  to,
      guint  from,
      guint  limit,
      guint  max_pages)
{
  Replica *dst = &w->replicas[to];
  Replica *src = &w->replicas[from];
  gboolean more = TRUE;
  guint won = 0;

  for (guint page = 0; more && page < max_pages; page++)
    {
      g_autoptr(GError) error = NULL;
      gint64 cursor = 0;
      g_autoptr(GPtrArray) changes =
        vd_cell_store_changes_since (src->store, dst->cursor[from], limit, &cursor, &more, &error);

      g_assert_no_error (error);
      for (guint i = 0; i < changes->len; i++)
        won += receive (dst, changes->pdata[i]);
      dst->cursor[from] = cursor;
    }
  return won;
}

static void
add_listing_line (GPtrArray      *lines,
                  const char     *table,
                  const char     *id,
                  const char     *column,
                  const VdValue  *value,
                  VdHlc           hlc,
                  const char     *site)
{
  g_autofree char *v = NULL;

  switch (value->kind)
    {
    case VD_VALUE_NULL:
      v = g_strdup ("null");
      break;
    case VD_VALUE_INT:
      v = g_strdup_printf ("i:%" G_GINT64_FORMAT, value->i);
      break;
    case VD_VALUE_REAL:
      v = g_strdup_printf ("r:%a", value->r);
      break;
    case VD_VALUE_BOOL:
      v = g_strdup (value->b ? "b:true" : "b:false");
      break;
    case VD_VALUE_TEXT:
    default:
      v = g_strdup_printf ("s:%s", value->s);
      break;
    }
  g_ptr_array_add (lines, g_strdup_printf ("%s|%s|%s|%s|%016" G_GINT64_MODIFIER "x|%s",
                                           table, id, column, v, hlc, site));
}

static int
compare_lines (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Everything a replica lists from cursor 0, as sorted (table,id,column,value,hlc,site)
 * lines, read in pages of a random size. */
static GPtrArray *
listing (World   *w,
         Replica *r)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  gint64 cursor = 0;
  gboolean more = TRUE;
  guint limit = g_rand_int_range (w->rand, 1, 40);

  while (more)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) changes =
        vd_cell_store_changes_since (r->store, cursor, limit, &cursor, &more, &error);

      g_assert_no_error (error);
      for (guint i = 0; i < changes->len; i++)
        {
          const VdChange *change = changes->pdata[i];

          for (guint k = 0; k < change->cells->len; k++)
            {
              const VdCell *c = &g_array_index (change->cells, VdCell, k);

              add_listing_line (lines, change->table->name, change->id, c->column->name,
                                &c->value, change->hlc, change->site);
            }
        }
    }
  g_ptr_array_sort (lines, compare_lines);
  return lines;
}

static GPtrArray *
oracle_listing (World *w)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, w->oracle);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_auto(GStrv) parts = g_strsplit (key, "/", 3);
      Write *write = value;

      add_listing_line (lines, parts[0], parts[1], parts[2], &write->value, write->hlc,
                        write->site);
    }
  g_ptr_array_sort (lines, compare_lines);
  return lines;
}

/* NULL when equal, else the first difference. */
static char *
diff_listings (GPtrArray *a,
               GPtrArray *b)
{
  for (guint i = 0; i < MAX (a->len, b->len); i++)
    {
      const char *la = i < a->len ? a->pdata[i] : "(end)";
      const char *lb = i < b->len ? b->pdata[i] : "(end)";

      if (strcmp (la, lb) != 0)
        return g_strdup_printf ("line %u: '%s' vs '%s' (%u vs %u lines)", i, la, lb, a->len,
                                b->len);
    }
  return NULL;
}

/* One seed; returns NULL on success, else what went wrong. */
static char *
run_seed (guint seed)
{
  World w;
  char *failure = NULL;
  g_autofree char *digest0 = NULL;
  g_autoptr(GPtrArray) expect = NULL;
  guint rounds = 0;

  world_init (&w, seed);

  for (guint step = 0; step < N_STEPS; step++)
    {
      guint what = g_rand_int_range (w.rand, 0, 100);

      /* Time moves on by 0–3 ms mostly (ties in the same millisecond), sometimes more. */
      advance_time (&w, g_rand_int_range (w.rand, 0, 10) < 8 ? g_rand_int_range (w.rand, 0, 4)
                                                               : g_rand_int_range (w.rand, 0, 2000));
      if (what < 45)
        local_write (&w, g_rand_int_range (w.rand, 0, N_REPLICAS));
      else if (what < 90)
        {
          guint n = g_rand_int_range (w.rand, 1, 6);

          for (guint k = 0; k < n && w.network->len > 0; k++)
            deliver_one (&w);
        }
      else
        {
          guint a = g_rand_int_range (w.rand, 0, N_REPLICAS);
          guint b = (a + g_rand_int_range (w.rand, 1, N_REPLICAS)) % N_REPLICAS;

          pull (&w, a, b, g_rand_int_range (w.rand, 1, 20), g_rand_int_range (w.rand, 1, 4));
        }
    }

  /* Some messages are still in flight: deliver half of them late, lose the rest. */
  for (guint k = w.network->len / 2; k > 0; k--)
    deliver_one (&w);
  g_ptr_array_set_size (w.network, 0);

  /* Full exchange: everyone pulls everything from everyone (from 0 first, then from
   * their cursors) until a whole round changes nothing. */
  for (guint i = 0; i < N_REPLICAS; i++)
    memset (w.replicas[i].cursor, 0, sizeof w.replicas[i].cursor);
  for (;;)
    {
      guint won = 0;

      for (guint a = 0; a < N_REPLICAS; a++)
        for (guint b = 0; b < N_REPLICAS; b++)
          if (a != b)
            won += pull (&w, a, b, g_rand_int_range (w.rand, 1, 50), G_MAXUINT);
      rounds++;
      if (won == 0)
        break;
      if (rounds > 10)
        {
          failure = g_strdup ("the full exchange did not become quiescent in 10 rounds");
          goto out;
        }
    }

  expect = oracle_listing (&w);
  for (guint i = 0; i < N_REPLICAS; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *digest = vd_cell_store_digest (w.replicas[i].store, &error);
      g_autoptr(GPtrArray) lines = listing (&w, &w.replicas[i]);
      g_autofree char *diff = NULL;

      g_assert_no_error (error);
      if (i == 0)
        digest0 = g_strdup (digest);
      else if (strcmp (digest, digest0) != 0)
        {
          failure = g_strdup_printf ("replica %u's digest %s differs from replica 0's %s",
                                     i, digest, digest0);
          goto out;
        }
      diff = diff_listings (lines, expect);
      if (diff != NULL)
        {
          failure = g_strdup_printf ("replica %u does not hold the greatest write of every "
                                     "cell: %s", i, diff);
          goto out;
        }
    }

out:
  if (g_test_verbose ())
    g_printerr ("seed %u: %u writes, %u cells, %u exchange rounds\n", seed, w.n_writes,
                g_hash_table_size (w.oracle), rounds);
  world_clear (&w);
  return failure;
}

/* An assertion deep inside a seed aborts; this names the seed before the process dies. */
static volatile guint current_seed;

static void
abort_cb (int sig)
{
  char line[96];
  int n = snprintf (line, sizeof line, "# convergence failed in seed %u (replay with VD_SEED=%u)\n",
                    current_seed, current_seed);

  if (n > 0 && write (STDERR_FILENO, line, (size_t) n) < 0)
    {
      /* Nothing better to do while aborting. */
    }
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
test_convergence (void)
{
  const char *one = g_getenv ("VD_SEED");
  const char *many = g_getenv ("VD_SEEDS");
  guint first = 0, count = 200;
  gint64 start = g_get_monotonic_time ();
  double elapsed;

  if (one != NULL)
    {
      first = (guint) g_ascii_strtoull (one, NULL, 10);
      count = 1;
    }
  else if (many != NULL)
    {
      count = (guint) g_ascii_strtoull (many, NULL, 10);
    }

  signal (SIGABRT, abort_cb);
  for (guint s = first; s < first + count; s++)
    {
      g_autofree char *failure = NULL;

      current_seed = s;
      failure = run_seed (s);

      if (failure != NULL)
        {
          g_test_fail_printf ("seed %u: %s (replay with VD_SEED=%u)", s, failure, s);
          return;
        }
    }

  signal (SIGABRT, SIG_DFL);
  elapsed = (g_get_monotonic_time () - start) / 1e6;
  g_test_message ("%u seeds converged in %.2f s (%.1f ms a seed)", count, elapsed,
                  1000 * elapsed / MAX (count, 1));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/convergence/random-network", test_convergence);

  return g_test_run ();
}
