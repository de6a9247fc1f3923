/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-merge.c — the LWW order of cell clocks, the packed clock layout, and the merge
 * of changes into one row: commutative, idempotent, and deletes stay deletes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "vd-merge.h"
#include "vd-change.h"
#include "vd-merge.h"

static const char *site_texts[] = {
  "00000000-0000-4000-8000-000000000001",
  "7fffffff-ffff-4fff-bfff-ffffffffffff",
  "80000000-0000-4000-8000-000000000000",
  "ffffffff-ffff-4fff-bfff-fffffffffffe",
};

static VdClock
make_clock (VdHlc       hlc,
            const char *site)
{
  VdClock clock = { 0 };

  clock.hlc = hlc;
  g_assert_true (vd_uuid_to_bytes (site, clock.site));
  return clock;
}

/* An independent statement of the order, to check vd_clock_compare against: the hlc as
 * a number, then the site's canonical text (whose order equals its bytes' order). */
static int
reference_compare (VdHlc       hlc_a,
                   const char *site_a,
                   VdHlc       hlc_b,
                   const char *site_b)
{
  if (hlc_a < hlc_b)
    return -1;
  if (hlc_a > hlc_b)
    return 1;
  return CLAMP (strcmp (site_a, site_b), -1, 1);
}

static int
sign (int v)
{
  return v < 0 ? -1 : v > 0 ? 1 : 0;
}

static void
test_compare_truth_table (void)
{
  static const struct
  {
    VdHlc hlc_a;
    guint site_a;
    VdHlc hlc_b;
    guint site_b;
    int   expect;
  } cases[] = {
    /* Equal hlc: the site decides, bytewise and unsigned (0x80 > 0x7f). */
    { 5, 0, 5, 1, -1 },
    { 5, 1, 5, 2, -1 },
    { 5, 2, 5, 1, 1 },
    { 5, 3, 5, 2, 1 },
    /* The same write. */
    { 5, 2, 5, 2, 0 },
    /* A newer hlc wins whatever the sites. */
    { 6, 0, 5, 3, 1 },
    { 5, 3, 6, 0, -1 },
    /* Numeric, not textual: 0x10000 (counter carried into the ms) beats 0xffff, which
     * would win as unpadded hex text ("ffff" > "10000") or as its low 16 bits. */
    { 0x10000, 0, 0xffff, 3, 1 },
    { 0xffff, 3, 0x10000, 0, -1 },
    /* Differences above 32 bits and in the top bit: no truncation, no signed compare. */
    { G_GUINT64_CONSTANT (0x100000000), 0, G_GUINT64_CONSTANT (0xffffffff), 3, 1 },
    { G_GUINT64_CONSTANT (0x8000000000000000), 0, G_GUINT64_CONSTANT (0x7fffffffffffffff), 3, 1 },
    { G_GUINT64_CONSTANT (0x0191d5a3c2f80001), 0, G_GUINT64_CONSTANT (0x0191d5a3c2f80000), 3, 1 },
    /* A realistic pair one millisecond apart, counter of the older one high. */
    { vd_hlc_make (1700000000001, 0), 0, vd_hlc_make (1700000000000, 0xfffe), 3, 1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      VdClock a = make_clock (cases[i].hlc_a, site_texts[cases[i].site_a]);
      VdClock b = make_clock (cases[i].hlc_b, site_texts[cases[i].site_b]);

      g_test_message ("case %u", i);
      g_assert_cmpint (sign (vd_clock_compare (&a, &b)), ==, cases[i].expect);
      g_assert_cmpint (sign (vd_clock_compare (&b, &a)), ==, -cases[i].expect);
      g_assert_cmpint (vd_merge_wins (&a, &b), ==, cases[i].expect > 0);
      g_assert_cmpint (vd_merge_wins (&b, &a), ==, cases[i].expect < 0);
    }
}

static void
test_zero_clock_loses (void)
{
  VdClock zero = { 0 };
  GRand *rand = g_rand_new_with_seed (7);

  /* A never-written cell takes any write, even one from the server's all-zero site or
   * with the smallest hlc; and it never replaces a written one. */
  for (guint i = 0; i < 1000; i++)
    {
      VdClock x = { 0 };

      x.hlc = i < 2 ? (VdHlc) (i + 1) : ((VdHlc) g_rand_int (rand) << 32 | g_rand_int (rand));
      for (guint b = 0; b < 16; b++)
        x.site[b] = i < 2 ? 0 : (guint8) g_rand_int_range (rand, 0, 256);
      if (x.hlc == 0)
        x.hlc = 1;

      g_assert_true (vd_merge_wins (&x, &zero));
      g_assert_false (vd_merge_wins (&zero, &x));
    }
  g_assert_false (vd_merge_wins (&zero, &zero));
  g_assert_cmpint (vd_clock_compare (&zero, &zero), ==, 0);

  /* hlc 0 with a site still loses to any later hlc. */
  {
    VdClock site_only = make_clock (0, site_texts[3]);
    VdClock later = make_clock (1, site_texts[0]);

    g_assert_true (vd_merge_wins (&later, &site_only));
    g_assert_true (vd_merge_wins (&site_only, &zero));
  }

  g_rand_free (rand);
}

/* Random clocks against the reference order: antisymmetric, and transitive because it
 * equals a lexicographic order. Small hlc and site sets make ties common. */
static void
test_compare_random (void)
{
  GRand *rand = g_rand_new_with_seed (11);

  for (guint i = 0; i < 20000; i++)
    {
      VdHlc ha = g_rand_int_range (rand, 0, 4) == 0 ? 0x10000 : g_rand_int_range (rand, 0xfffe, 0x10002);
      VdHlc hb = g_rand_int_range (rand, 0, 4) == 0 ? 0xffff : g_rand_int_range (rand, 0xfffe, 0x10002);
      const char *sa = site_texts[g_rand_int_range (rand, 0, G_N_ELEMENTS (site_texts))];
      const char *sb = site_texts[g_rand_int_range (rand, 0, G_N_ELEMENTS (site_texts))];
      VdClock a = make_clock (ha, sa);
      VdClock b = make_clock (hb, sb);

      g_assert_cmpint (sign (vd_clock_compare (&a, &b)), ==, reference_compare (ha, sa, hb, sb));
      g_assert_cmpint (vd_merge_wins (&a, &b), ==, reference_compare (ha, sa, hb, sb) > 0);
    }

  g_rand_free (rand);
}

static void
test_pack_layout (void)
{
  VdCellClock clocks[2] = { 0 };
  VdCellClock back[2];
  g_autofree guint8 *data = NULL;
  gsize len = 0;
  static const guint8 expect_first[32] = {
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x4f, 0xff, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x2c,
  };

  clocks[0].clock = make_clock (G_GUINT64_CONSTANT (0x0102030405060708), site_texts[1]);
  clocks[0].seq = 300;
  clocks[1].clock = make_clock (G_GUINT64_CONSTANT (0xfedcba9876543210), site_texts[2]);
  clocks[1].seq = G_MAXINT64;

  data = vd_cell_clocks_pack (clocks, 2, &len);
  g_assert_cmpuint (len, ==, 64);
  g_assert_cmpmem (data, 32, expect_first, 32);
  g_assert_cmpuint (data[32], ==, 0xfe);
  g_assert_cmpuint (data[39], ==, 0x10);
  g_assert_cmpuint (data[56], ==, 0x7f);
  g_assert_cmpuint (data[63], ==, 0xff);

  memset (back, 0xaa, sizeof back);
  g_assert_true (vd_cell_clocks_unpack (data, len, back, 2));
  g_assert_cmpmem (back, sizeof back, clocks, sizeof clocks);
}

static void
test_pack_round_trip (void)
{
  GRand *rand = g_rand_new_with_seed (3);

  for (guint round = 0; round < 200; round++)
    {
      guint n = g_rand_int_range (rand, 0, 20);
      guint extra = g_rand_int_range (rand, 0, 4);
      g_autofree VdCellClock *clocks = g_new0 (VdCellClock, MAX (n, 1));
      g_autofree VdCellClock *back = g_new (VdCellClock, n + extra + 1);
      g_autofree guint8 *data = NULL;
      gsize len = 0;

      for (guint i = 0; i < n; i++)
        {
          clocks[i].clock.hlc = (VdHlc) g_rand_int (rand) << 32 | g_rand_int (rand);
          for (guint b = 0; b < 16; b++)
            clocks[i].clock.site[b] = (guint8) g_rand_int_range (rand, 0, 256);
          clocks[i].seq = (gint64) ((guint64) g_rand_int (rand) << 31 | g_rand_int (rand));
        }

      data = vd_cell_clocks_pack (clocks, n, &len);
      g_assert_nonnull (data);
      g_assert_cmpuint (len, ==, (gsize) n * VD_CELL_CLOCK_PACKED_SIZE);

      /* Unpacking into a table that has since gained columns zeroes the new ones. */
      memset (back, 0xaa, (n + extra + 1) * sizeof (VdCellClock));
      g_assert_true (vd_cell_clocks_unpack (data, len, back, n + extra));
      if (n > 0)
        g_assert_cmpmem (back, n * sizeof (VdCellClock), clocks, n * sizeof (VdCellClock));
      for (guint i = n; i < n + extra; i++)
        {
          VdCellClock zero = { 0 };

          g_assert_cmpmem (&back[i], sizeof zero, &zero, sizeof zero);
        }
      /* Nothing beyond n + extra is touched. */
      g_assert_cmpuint (((guint8 *) &back[n + extra])[0], ==, 0xaa);
    }

  g_rand_free (rand);
}

static void
test_unpack_malformed (void)
{
  guint8 data[4 * VD_CELL_CLOCK_PACKED_SIZE] = { 0 };
  VdCellClock clocks[3];

  g_assert_true (vd_cell_clocks_unpack (data, 0, clocks, 3));
  g_assert_true (vd_cell_clocks_unpack (NULL, 0, clocks, 3));
  g_assert_true (vd_cell_clocks_unpack (data, 96, clocks, 3));
  g_assert_false (vd_cell_clocks_unpack (data, 31, clocks, 3));
  g_assert_false (vd_cell_clocks_unpack (data, 33, clocks, 3));
  g_assert_false (vd_cell_clocks_unpack (data, 95, clocks, 3));
  g_assert_false (vd_cell_clocks_unpack (data, 97, clocks, 3));
  /* Longer than the table: cells the registry does not know. */
  g_assert_false (vd_cell_clocks_unpack (data, 128, clocks, 3));
  g_assert_false (vd_cell_clocks_unpack (data, 32, clocks, 0));
}

/* ---- vd_row_merge ---------------------------------------------------------------- */

static void
random_value (GRand          *rand,
              const VdColumn *column,
              VdValue        *value)
{
  switch (column->type)
    {
    case VD_TYPE_BOOLEAN:
      vd_value_set_bool (value, g_rand_boolean (rand));
      break;
    case VD_TYPE_INTEGER:
      vd_value_set_int (value, g_rand_int_range (rand, -5, 5));
      break;
    case VD_TYPE_REAL:
      vd_value_set_real (value, g_rand_int_range (rand, 1, 40) / 4.0);
      break;
    default:
      if (column->nullable && g_rand_int_range (rand, 0, 5) == 0)
        vd_value_set_null (value);
      else
        vd_value_take_text (value, g_strdup_printf ("v%d", g_rand_int_range (rand, 0, 1000)));
      break;
    }
}

/* Writes with pairwise distinct (hlc, site), drawn from few hlcs and sites so that ties
 * on hlc are the rule, each setting a random subset of the table's columns. */
static GPtrArray *
random_writes (GRand         *rand,
               const VdTable *table)
{
  GPtrArray *changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  guint n_combos = 4 * G_N_ELEMENTS (site_texts);
  guint order[4 * G_N_ELEMENTS (site_texts)];
  guint n = g_rand_int_range (rand, 1, 10);

  for (guint i = 0; i < n_combos; i++)
    order[i] = i;
  for (guint i = n_combos - 1; i > 0; i--)
    {
      guint j = g_rand_int_range (rand, 0, i + 1);
      guint tmp = order[i];

      order[i] = order[j];
      order[j] = tmp;
    }

  for (guint k = 0; k < n; k++)
    {
      VdHlc hlc = 0xfffe + order[k] / G_N_ELEMENTS (site_texts);
      const char *site = site_texts[order[k] % G_N_ELEMENTS (site_texts)];
      VdChange *change = vd_change_new (table, "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b", hlc, site);

      for (guint c = 0; c < table->n_columns; c++)
        {
          VdValue value = { VD_VALUE_NULL };

          if (g_rand_int_range (rand, 0, 3) != 0)
            continue;
          random_value (rand, &table->columns[c], &value);
          vd_change_take_cell (change, &table->columns[c], &value);
        }
      if (change->cells->len == 0)
        {
          VdValue value = { VD_VALUE_NULL };
          const VdColumn *column = &table->columns[g_rand_int_range (rand, 0, table->n_columns)];

          random_value (rand, column, &value);
          vd_change_take_cell (change, column, &value);
        }
      g_ptr_array_add (changes, change);
    }

  return changes;
}

typedef struct
{
  VdValue     *values;
  VdCellClock *clocks;
  guint        n;
} Row;

static void
row_init (Row           *row,
          const VdTable *table)
{
  row->n = table->n_columns;
  row->values = g_new0 (VdValue, row->n);
  row->clocks = g_new0 (VdCellClock, row->n);
}

static void
row_clear (Row *row)
{
  for (guint i = 0; i < row->n; i++)
    vd_value_clear (&row->values[i]);
  g_free (row->values);
  g_free (row->clocks);
}

static gboolean
rows_equal (const Row *a,
            const Row *b)
{
  for (guint i = 0; i < a->n; i++)
    {
      if (!vd_value_equal (&a->values[i], &b->values[i]) ||
          memcmp (&a->clocks[i].clock, &b->clocks[i].clock, sizeof (VdClock)) != 0)
        return FALSE;
    }
  return TRUE;
}

/* Applies the writes in a random order, each one to three times. */
static void
apply_shuffled (GRand     *rand,
                GPtrArray *changes,
                Row       *row)
{
  g_autoptr(GPtrArray) deliveries = g_ptr_array_new ();

  for (guint i = 0; i < changes->len; i++)
    {
      guint copies = g_rand_int_range (rand, 1, 4);

      for (guint k = 0; k < copies; k++)
        g_ptr_array_add (deliveries, changes->pdata[i]);
    }
  for (guint i = deliveries->len - 1; i > 0; i--)
    {
      guint j = g_rand_int_range (rand, 0, i + 1);
      gpointer tmp = deliveries->pdata[i];

      deliveries->pdata[i] = deliveries->pdata[j];
      deliveries->pdata[j] = tmp;
    }
  for (guint i = 0; i < deliveries->len; i++)
    vd_row_merge (deliveries->pdata[i], row->values, row->clocks, NULL, i + 1);
}

static guint
seed_count (void)
{
  const char *seed = g_getenv ("VD_SEED");

  return seed != NULL ? 1 : 500;
}

static guint
seed_at (guint i)
{
  const char *seed = g_getenv ("VD_SEED");

  return seed != NULL ? (guint) g_ascii_strtoull (seed, NULL, 10) : i;
}

static void
test_row_merge_random (void)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);

  for (guint s = 0; s < seed_count (); s++)
    {
      guint seed = seed_at (s);
      GRand *rand = g_rand_new_with_seed (seed);
      const VdTable *table = &tables[seed % n_tables];
      g_autoptr(GPtrArray) changes = random_writes (rand, table);
      Row a, b, expect;
      g_autofree gboolean *changed = g_new0 (gboolean, table->n_columns);
      gboolean failed = FALSE;

      row_init (&a, table);
      row_init (&b, table);
      row_init (&expect, table);

      /* The expected row, cell by cell: the value of the greatest (hlc, site) that set it. */
      for (guint i = 0; i < changes->len; i++)
        {
          const VdChange *change = changes->pdata[i];

          for (guint k = 0; k < change->cells->len; k++)
            {
              const VdCell *cell = &g_array_index (change->cells, VdCell, k);
              guint idx = cell->column->index;
              char held[VD_UUID_LEN + 1];

              vd_uuid_from_bytes (expect.clocks[idx].clock.site, held);
              if (expect.clocks[idx].clock.hlc != 0 &&
                  reference_compare (change->hlc, change->site,
                                     expect.clocks[idx].clock.hlc, held) <= 0)
                continue;
              vd_value_copy (&cell->value, &expect.values[idx]);
              expect.clocks[idx].clock = make_clock (change->hlc, change->site);
            }
        }

      apply_shuffled (rand, changes, &a);
      apply_shuffled (rand, changes, &b);
      if (!rows_equal (&a, &expect) || !rows_equal (&b, &expect))
        {
          g_test_fail_printf ("seed %u: two delivery orders of %u writes disagree with the "
                              "greatest clock per cell (replay with VD_SEED=%u)",
                              seed, changes->len, seed);
          failed = TRUE;
        }

      /* Idempotent: everything again changes nothing and reports nothing. */
      for (guint i = 0; i < changes->len && !failed; i++)
        {
          if (vd_row_merge (changes->pdata[i], a.values, a.clocks, changed, 99) != 0)
            {
              g_test_fail_printf ("seed %u: a write merged twice won twice "
                                  "(replay with VD_SEED=%u)", seed, seed);
              failed = TRUE;
            }
        }
      for (guint c = 0; c < table->n_columns; c++)
        g_assert_false (changed[c]);

      row_clear (&a);
      row_clear (&b);
      row_clear (&expect);
      g_rand_free (rand);
      if (failed)
        break;
    }
}

static VdChange *
change_with (const VdTable *table,
             VdHlc          hlc,
             const char    *site,
             const char    *column,
             const VdValue *value)
{
  VdChange *change = vd_change_new (table, "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b", hlc, site);
  VdValue copy = { VD_VALUE_NULL };

  vd_value_copy (value, &copy);
  vd_change_take_cell (change, vd_table_lookup_column (table, column), &copy);
  return change;
}

static void
test_row_merge_counts_and_seq (void)
{
  const VdTable *clients = vd_schema_lookup_table ("clients");
  const VdColumn *first = vd_table_lookup_column (clients, "first_name");
  const VdColumn *last = vd_table_lookup_column (clients, "last_name");
  g_autoptr(VdChange) create = vd_change_new (clients, "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b",
                                              100, site_texts[0]);
  g_autoptr(VdChange) edit = NULL;
  VdValue v = { VD_VALUE_NULL };
  Row row;
  g_autofree gboolean *changed = g_new0 (gboolean, clients->n_columns);

  row_init (&row, clients);
  vd_value_set_text (&v, "Ana");
  vd_change_take_cell (create, first, &v);
  vd_value_set_text (&v, "Ruiz");
  vd_change_take_cell (create, last, &v);

  g_assert_cmpuint (vd_row_merge (create, row.values, row.clocks, changed, 7), ==, 2);
  g_assert_true (changed[first->index]);
  g_assert_true (changed[last->index]);
  g_assert_false (changed[vd_table_deleted_column (clients)->index]);
  g_assert_cmpint (row.clocks[first->index].seq, ==, 7);
  g_assert_cmpuint (row.clocks[first->index].clock.hlc, ==, 100);

  /* One cell newer, one older. */
  edit = vd_change_new (clients, create->id, 100, site_texts[1]);
  vd_value_set_text (&v, "Ana María");
  vd_change_take_cell (edit, first, &v);
  g_assert_cmpuint (vd_row_merge (edit, row.values, row.clocks, NULL, 8), ==, 1);
  g_assert_cmpstr (row.values[first->index].s, ==, "Ana María");
  g_assert_cmpint (row.clocks[first->index].seq, ==, 8);
  g_assert_cmpint (row.clocks[last->index].seq, ==, 7);

  row_clear (&row);
}

static void
test_row_merge_delete_stays (void)
{
  const VdTable *pets = vd_schema_lookup_table ("pets");
  guint deleted = vd_table_deleted_column (pets)->index;
  guint name = vd_table_lookup_column (pets, "name")->index;
  VdValue yes = { VD_VALUE_BOOL, { .b = TRUE } };
  VdValue no = { VD_VALUE_BOOL, { .b = FALSE } };
  VdValue rex = { VD_VALUE_TEXT, { .s = (char *) "Rex" } };
  VdValue max = { VD_VALUE_TEXT, { .s = (char *) "Max" } };
  g_autoptr(VdChange) create = change_with (pets, 10, site_texts[0], "deleted", &no);
  g_autoptr(VdChange) del = change_with (pets, 20, site_texts[0], "deleted", &yes);
  g_autoptr(VdChange) edit = change_with (pets, 15, site_texts[1], "name", &rex);
  g_autoptr(VdChange) later_edit = change_with (pets, 25, site_texts[1], "name", &max);
  g_autoptr(VdChange) undelete = change_with (pets, 30, site_texts[2], "deleted", &no);
  VdChange *orders[2][4] = {
    { create, del, edit, later_edit },
    { later_edit, edit, del, create },
  };

  for (guint o = 0; o < 2; o++)
    {
      Row row;

      row_init (&row, pets);
      for (guint i = 0; i < 4; i++)
        vd_row_merge (orders[o][i], row.values, row.clocks, NULL, i + 1);
      /* Edits concurrent with or after the delete do not bring the row back. */
      g_assert_cmpint (row.values[deleted].kind, ==, VD_VALUE_BOOL);
      g_assert_true (row.values[deleted].b);
      g_assert_cmpstr (row.values[name].s, ==, "Max");

      g_assert_cmpuint (vd_row_merge (undelete, row.values, row.clocks, NULL, 9), ==, 1);
      g_assert_false (row.values[deleted].b);
      row_clear (&row);
    }
}

static void
test_row_changes_since (void)
{
  const VdTable *pets = vd_schema_lookup_table ("pets");
  const char *id = "0191d5a3-c2f8-4001-8a2b-1c2d3e4f5a6b";
  Row row;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  const VdChange *c0, *c1, *c2;
  guint name = vd_table_lookup_column (pets, "name")->index;
  guint breed = vd_table_lookup_column (pets, "breed")->index;
  guint species = vd_table_lookup_column (pets, "species")->index;
  guint deleted = vd_table_deleted_column (pets)->index;

  row_init (&row, pets);
  /* name and deleted: (200, site 1) seq 5; species: (100, site 3) seq 3; breed: (200,
   * site 0) seq 4; every other cell never written. */
  vd_value_set_text (&row.values[name], "Rex");
  row.clocks[name].clock = make_clock (200, site_texts[1]);
  row.clocks[name].seq = 5;
  vd_value_set_bool (&row.values[deleted], FALSE);
  row.clocks[deleted].clock = make_clock (200, site_texts[1]);
  row.clocks[deleted].seq = 5;
  vd_value_set_text (&row.values[species], "dog");
  row.clocks[species].clock = make_clock (100, site_texts[3]);
  row.clocks[species].seq = 3;
  vd_value_set_null (&row.values[breed]);
  row.clocks[breed].clock = make_clock (200, site_texts[0]);
  row.clocks[breed].seq = 4;

  vd_row_changes_since (pets, id, row.values, row.clocks, 5, 0, out);
  g_assert_cmpuint (out->len, ==, 3);
  c0 = out->pdata[0];
  c1 = out->pdata[1];
  c2 = out->pdata[2];
  /* (hlc, site) order; each change carries the row's seq. */
  g_assert_cmpuint (c0->hlc, ==, 100);
  g_assert_cmpstr (c0->site, ==, site_texts[3]);
  g_assert_cmpuint (c0->cells->len, ==, 1);
  g_assert_cmpuint (c1->hlc, ==, 200);
  g_assert_cmpstr (c1->site, ==, site_texts[0]);
  g_assert_cmpuint (c1->cells->len, ==, 1);
  g_assert_cmpint (g_array_index (c1->cells, VdCell, 0).value.kind, ==, VD_VALUE_NULL);
  g_assert_cmpstr (c2->site, ==, site_texts[1]);
  g_assert_cmpuint (c2->cells->len, ==, 2);
  g_assert_cmpstr (g_array_index (c2->cells, VdCell, 0).column->name, ==, "name");
  g_assert_cmpstr (g_array_index (c2->cells, VdCell, 0).value.s, ==, "Rex");
  g_assert_cmpstr (g_array_index (c2->cells, VdCell, 1).column->name, ==, "deleted");
  for (guint i = 0; i < out->len; i++)
    {
      const VdChange *c = out->pdata[i];

      g_assert_cmpint (c->seq, ==, 5);
      g_assert_cmpstr (c->id, ==, id);
      g_assert_true (c->table == pets);
    }

  /* Only the cells written after the cursor. */
  g_ptr_array_set_size (out, 0);
  vd_row_changes_since (pets, id, row.values, row.clocks, 5, 3, out);
  g_assert_cmpuint (out->len, ==, 2);
  g_ptr_array_set_size (out, 0);
  vd_row_changes_since (pets, id, row.values, row.clocks, 5, 4, out);
  g_assert_cmpuint (out->len, ==, 1);
  g_assert_cmpuint (((VdChange *) out->pdata[0])->cells->len, ==, 2);
  g_ptr_array_set_size (out, 0);
  vd_row_changes_since (pets, id, row.values, row.clocks, 5, 5, out);
  g_assert_cmpuint (out->len, ==, 0);

  row_clear (&row);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/merge/compare/truth-table", test_compare_truth_table);
  g_test_add_func ("/merge/compare/zero-clock-loses", test_zero_clock_loses);
  g_test_add_func ("/merge/compare/random", test_compare_random);
  g_test_add_func ("/merge/pack/layout", test_pack_layout);
  g_test_add_func ("/merge/pack/round-trip", test_pack_round_trip);
  g_test_add_func ("/merge/pack/malformed", test_unpack_malformed);
  g_test_add_func ("/merge/row/random-orders", test_row_merge_random);
  g_test_add_func ("/merge/row/counts-and-seq", test_row_merge_counts_and_seq);
  g_test_add_func ("/merge/row/delete-stays", test_row_merge_delete_stays);
  g_test_add_func ("/merge/row/changes-since", test_row_changes_since);

  return g_test_run ();
}
