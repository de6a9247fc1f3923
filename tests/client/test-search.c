/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-search.c — the desk's global search over a replica written the way the desk
 * writes it (the cell store's apply): accents, prefixes, phones, microchips, owners,
 * grouping, deletes, renames, pulled changes, tenants and hostile input. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "vd-cell-store.h"
#include "vd-search.h"

#define TENANT_A "11111111-1111-4111-8111-111111111111"
#define TENANT_B "22222222-2222-4222-8222-222222222222"
#define SITE_A   "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define SITE_B   "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

typedef struct
{
  sqlite3     *db;
  VdCellStore *a;
  VdCellStore *b;
  guint64      ms;   /* the next write's hlc milliseconds */
} Fixture;

static void
fixture_set_up (Fixture       *fx,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (sqlite3_open (":memory:", &fx->db), ==, SQLITE_OK);
  fx->a = vd_cell_store_new (fx->db, TENANT_A, &error);
  g_assert_no_error (error);
  fx->b = vd_cell_store_new (fx->db, TENANT_B, &error);
  g_assert_no_error (error);
  fx->ms = G_GUINT64_CONSTANT (1700000000000);

  vd_search_install (fx->db, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fx,
                   gconstpointer  data)
{
  g_clear_pointer (&fx->a, vd_cell_store_free);
  g_clear_pointer (&fx->b, vd_cell_store_free);
  sqlite3_close (fx->db);
}

/* Applies one change to table/id from site: name/value pairs of text cells ending with
 * NULL; "deleted" takes "1" or "0", a NULL value sets the cell to NULL. Returns the
 * number of cells that won. */
static guint
apply_at (VdCellStore *store,
          VdHlc        hlc,
          const char  *site,
          const char  *table_name,
          const char  *id,
          ...)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  g_autoptr(VdChange) change = vd_change_new (table, id, hlc, site);
  g_autoptr(GError) error = NULL;
  const char *name;
  guint applied = 0;
  va_list ap;

  va_start (ap, id);
  while ((name = va_arg (ap, const char *)) != NULL)
    {
      const char *text = va_arg (ap, const char *);
      const VdColumn *column = vd_table_lookup_column (table, name);
      VdValue value = { VD_VALUE_NULL };

      g_assert_nonnull (column);
      if (text == NULL)
        vd_value_set_null (&value);
      else if (column->type == VD_TYPE_BOOLEAN)
        vd_value_set_bool (&value, strcmp (text, "1") == 0);
      else
        vd_value_set_text (&value, text);
      vd_change_take_cell (change, column, &value);
    }
  va_end (ap);

  vd_cell_store_apply (store, change, &applied, &error);
  g_assert_no_error (error);
  return applied;
}

static VdHlc
next_hlc (Fixture *fx)
{
  return vd_hlc_make (fx->ms++, 0);
}

static void
add_client (Fixture     *fx,
            VdCellStore *store,
            const char  *id,
            const char  *first,
            const char  *last,
            const char  *email,
            const char  *phone)
{
  apply_at (store, next_hlc (fx), SITE_A, "clients", id,
            "first_name", first, "last_name", last, "email", email, "phone", phone,
            "deleted", "0", NULL);
}

static void
add_pet (Fixture     *fx,
         VdCellStore *store,
         const char  *id,
         const char  *client_id,
         const char  *name,
         const char  *species,
         const char  *breed,
         const char  *microchip)
{
  apply_at (store, next_hlc (fx), SITE_A, "pets", id,
            "client_id", client_id, "name", name, "species", species, "breed", breed,
            "sex", "unknown", "microchip", microchip, "deleted", "0", NULL);
}

static GPtrArray *
search (Fixture    *fx,
        const char *tenant,
        const char *text,
        guint       limit)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *results = vd_search_query (fx->db, tenant, text, limit, &error);

  g_assert_no_error (error);
  g_assert_nonnull (results);
  return results;
}

/* The index of the result with this id, or -1. */
static int
find_id (GPtrArray  *results,
         const char *id)
{
  for (guint i = 0; i < results->len; i++)
    {
      VdSearchResult *r = g_ptr_array_index (results, i);

      if (strcmp (r->id, id) == 0)
        return (int) i;
    }
  return -1;
}

static gboolean
finds (Fixture    *fx,
       const char *text,
       const char *id)
{
  g_autoptr(GPtrArray) results = search (fx, TENANT_A, text, 20);

  return find_id (results, id) >= 0;
}

#define ANA     "a0000000-0000-4000-8000-000000000001"   /* Ana Pérez García */
#define JORGE   "a0000000-0000-4000-8000-000000000002"   /* Jorge Muñoz */
#define BEGONA  "a0000000-0000-4000-8000-000000000003"   /* Begoña Ruiz */
#define LUIS    "a0000000-0000-4000-8000-000000000004"   /* Luis Perez (no accent) */
#define ANA2    "a0000000-0000-4000-8000-000000000005"   /* Ana Muñoz Vidal */
#define CARMEN  "a0000000-0000-4000-8000-000000000006"   /* Carmen Luna */
#define LUNA    "b0000000-0000-4000-8000-000000000001"   /* Ana's Labrador */
#define NALA    "b0000000-0000-4000-8000-000000000002"   /* Ana's cat */
#define TOBY    "b0000000-0000-4000-8000-000000000003"   /* Carmen Luna's dog */
#define LUNA2   "b0000000-0000-4000-8000-000000000004"   /* Jorge's Luna */
#define CHIP    "941000024681357"

static void
add_clinic (Fixture *fx)
{
  add_client (fx, fx->a, ANA, "Ana", "Pérez García", "ana.perez@example.com", "+34 612 345 678");
  add_client (fx, fx->a, JORGE, "Jorge", "Muñoz", NULL, "(+34) 699-11-22-33");
  add_client (fx, fx->a, BEGONA, "Begoña", "Ruiz", "bego@example.es", NULL);
  add_client (fx, fx->a, LUIS, "Luis", "Perez", NULL, "933 000 111");
  add_client (fx, fx->a, ANA2, "Ana", "Muñoz Vidal", NULL, NULL);
  add_client (fx, fx->a, CARMEN, "Carmen", "Luna", NULL, "611 222 333");
  add_pet (fx, fx->a, LUNA, ANA, "Luna", "dog", "Labrador Retriever", CHIP);
  add_pet (fx, fx->a, NALA, ANA, "Nala", "cat", "Común europeo", NULL);
  add_pet (fx, fx->a, TOBY, CARMEN, "Toby", "dog", "Beagle", NULL);
  add_pet (fx, fx->a, LUNA2, JORGE, "Luna", "cat", NULL, "941000099999999");
}

static void
test_accents (Fixture       *fx,
              gconstpointer  data)
{
  g_autoptr(GPtrArray) results = NULL;
  VdSearchResult *r;

  add_clinic (fx);

  /* Accents and case ignored in both directions. */
  g_assert_true (finds (fx, "perez", ANA));
  g_assert_true (finds (fx, "Pérez", ANA));
  g_assert_true (finds (fx, "Pérez", LUIS));
  g_assert_true (finds (fx, "PEREZ", LUIS));
  g_assert_true (finds (fx, "munoz", JORGE));
  g_assert_true (finds (fx, "MUÑOZ", JORGE));
  g_assert_true (finds (fx, "begona", BEGONA));
  g_assert_true (finds (fx, "Begoña", BEGONA));
  g_assert_true (finds (fx, "begoña", BEGONA));
  g_assert_false (finds (fx, "begoña", ANA));

  /* Decomposed text (e + U+0301), typed or stored, is the same word. */
  g_assert_true (finds (fx, "Pe\xcc\x81rez", ANA));
  add_client (fx, fx->a, "a0000000-0000-4000-8000-0000000000ff", "Marta", "Ga\xcc\x81mez",
              NULL, NULL);
  g_assert_true (finds (fx, "gámez", "a0000000-0000-4000-8000-0000000000ff"));
  g_assert_true (finds (fx, "gamez", "a0000000-0000-4000-8000-0000000000ff"));

  /* What a result shows. */
  results = search (fx, TENANT_A, "garcía", 20);
  g_assert_cmpuint (results->len, >=, 1);
  r = g_ptr_array_index (results, 0);
  g_assert_cmpint (r->kind, ==, VD_SEARCH_CLIENT);
  g_assert_cmpstr (r->id, ==, ANA);
  g_assert_cmpstr (r->title, ==, "Pérez García, Ana");
  g_assert_cmpstr (r->subtitle, ==, "+34 612 345 678 · ana.perez@example.com");
  g_assert_null (r->species);
}

/* The matching for lists outside the index (the booking dialog's pickers) says what the
 * index says, for the names of the clinic and the words a receptionist types. */
static void
test_fold_words (Fixture       *fx,
                 gconstpointer  data)
{
  static const struct { const char *id; const char *name; } names[] = {
    { ANA, "Pérez García, Ana" }, { JORGE, "Muñoz, Jorge" }, { BEGONA, "Ruiz, Begoña" },
    { LUIS, "Perez, Luis" }, { ANA2, "Muñoz Vidal, Ana" }, { CARMEN, "Luna, Carmen" },
  };
  static const char * const typed[] = {
    "perez", "Pérez", "PEREZ", "munoz", "MUÑOZ", "bego", "begoña", "ana", "ana mu",
    "garcia ana", "Pe\xcc\x81rez", "vidal ana", "ruiz b", "arcia", "luna", "carmen l",
    "x", "ana, garcía", NULL,
  };
  g_auto(GStrv) folded = vd_search_fold_words ("Ibáñez Vicente, José-Luis");

  add_clinic (fx);

  g_assert_cmpuint (g_strv_length (folded), ==, 4);
  g_assert_cmpstr (folded[0], ==, "ibanez");
  g_assert_cmpstr (folded[1], ==, "vicente");
  g_assert_cmpstr (folded[2], ==, "jose");
  g_assert_cmpstr (folded[3], ==, "luis");

  for (guint t = 0; typed[t] != NULL; t++)
    {
      g_auto(GStrv) query = vd_search_fold_words (typed[t]);

      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        {
          g_auto(GStrv) text = vd_search_fold_words (names[i].name);

          g_test_message ("“%s” in “%s”", typed[t], names[i].name);
          g_assert_cmpint (vd_search_words_match ((const char * const *) query,
                                                  (const char * const *) text), ==,
                           finds (fx, typed[t], names[i].id));
        }
    }

  /* The issue's words: prefixes of any word, accents away. */
  {
    g_auto(GStrv) text = vd_search_fold_words ("Giménez Ibáñez, Rocío");
    g_auto(GStrv) q1 = vd_search_fold_words ("ibanez");
    g_auto(GStrv) q2 = vd_search_fold_words ("roci");
    g_auto(GStrv) q3 = vd_search_fold_words ("");

    g_assert_true (vd_search_words_match ((const char * const *) q1, (const char * const *) text));
    g_assert_true (vd_search_words_match ((const char * const *) q2, (const char * const *) text));
    g_assert_false (vd_search_words_match ((const char * const *) q3, (const char * const *) text));
  }
}

static void
test_prefixes (Fixture       *fx,
               gconstpointer  data)
{
  add_clinic (fx);

  g_assert_true (finds (fx, "g", ANA));
  g_assert_true (finds (fx, "ga", ANA));
  g_assert_true (finds (fx, "gar", ANA));
  g_assert_true (finds (fx, "garc", ANA));
  g_assert_true (finds (fx, "garcia", ANA));
  g_assert_false (finds (fx, "garcias", ANA));
  /* Prefixes, not substrings. */
  g_assert_false (finds (fx, "arcia", ANA));
  /* The email's words. */
  g_assert_true (finds (fx, "bego@", BEGONA));
  g_assert_true (finds (fx, "example.es", BEGONA));
}

static void
test_words_and (Fixture       *fx,
                gconstpointer  data)
{
  g_autoptr(GPtrArray) results = NULL;

  add_clinic (fx);

  results = search (fx, TENANT_A, "ana gar", 20);
  g_assert_cmpint (find_id (results, ANA), ==, 0);
  g_assert_cmpint (find_id (results, ANA2), <, 0);      /* Ana, but no "gar…" */
  g_assert_cmpint (find_id (results, LUIS), <, 0);
  g_clear_pointer (&results, g_ptr_array_unref);

  /* Order of words does not matter; every word must match. */
  g_assert_true (finds (fx, "gar ana", ANA));
  g_assert_true (finds (fx, "  Muñoz   ana ", ANA2));
  g_assert_false (finds (fx, "Muñoz ana", JORGE));
  g_assert_false (finds (fx, "ana perez zzz", ANA));
}

static void
test_phone (Fixture       *fx,
            gconstpointer  data)
{
  add_clinic (fx);

  /* "+34 612 345 678": digits only, anywhere in the number. */
  g_assert_true (finds (fx, "61234", ANA));
  g_assert_true (finds (fx, "612 34", ANA));
  g_assert_true (finds (fx, "612-345-678", ANA));
  g_assert_true (finds (fx, "+34 612", ANA));
  g_assert_true (finds (fx, "34612345678", ANA));
  g_assert_true (finds (fx, "345678", ANA));
  g_assert_false (finds (fx, "61234", JORGE));
  g_assert_false (finds (fx, "613", ANA));
  /* "(+34) 699-11-22-33" typed with other punctuation. */
  g_assert_true (finds (fx, "699 112 233", JORGE));
  g_assert_true (finds (fx, "69911", JORGE));
  /* Short digit runs do not scatter over every phone. */
  g_assert_false (finds (fx, "61", ANA));
}

static void
test_microchip (Fixture       *fx,
                gconstpointer  data)
{
  g_autoptr(GPtrArray) results = NULL;

  add_clinic (fx);

  results = search (fx, TENANT_A, "9410000246", 20);
  g_assert_cmpuint (results->len, ==, 1);
  g_assert_cmpint (((VdSearchResult *) g_ptr_array_index (results, 0))->kind, ==, VD_SEARCH_PET);
  g_assert_cmpstr (((VdSearchResult *) g_ptr_array_index (results, 0))->id, ==, LUNA);
  g_clear_pointer (&results, g_ptr_array_unref);

  /* Both chips start with 941000. */
  results = search (fx, TENANT_A, "941000", 20);
  g_assert_cmpint (find_id (results, LUNA), >=, 0);
  g_assert_cmpint (find_id (results, LUNA2), >=, 0);
  g_assert_true (finds (fx, CHIP, LUNA));
  g_assert_true (finds (fx, "941 000 024", LUNA));
  g_assert_false (finds (fx, "941000024681358", LUNA));
}

static void
test_pets (Fixture       *fx,
           gconstpointer  data)
{
  g_autoptr(GPtrArray) results = NULL;
  VdSearchResult *r;
  int i;

  add_clinic (fx);

  g_assert_true (finds (fx, "lun", LUNA));
  g_assert_true (finds (fx, "labr", LUNA));
  g_assert_true (finds (fx, "retriever", LUNA));
  g_assert_true (finds (fx, "comun", NALA));
  g_assert_true (finds (fx, "beagle", TOBY));
  g_assert_false (finds (fx, "beagle", LUNA));

  i = find_id ((results = search (fx, TENANT_A, "labrador", 20)), LUNA);
  g_assert_cmpint (i, >=, 0);
  r = g_ptr_array_index (results, i);
  g_assert_cmpstr (r->title, ==, "Luna");
  /* The species stays a code: the desk names it in the reader's language. */
  g_assert_cmpstr (r->subtitle, ==, "Labrador Retriever · Pérez García, Ana");
  g_assert_cmpstr (r->species, ==, "dog");
  g_clear_pointer (&results, g_ptr_array_unref);

  /* A pet found through its owner's surname comes after the owner, and a pet found
   * through its own name ranks before one found through its owner's. */
  results = search (fx, TENANT_A, "perez", 20);
  g_assert_cmpint (find_id (results, ANA), <, find_id (results, LUNA));
  g_assert_cmpint (find_id (results, ANA), <, find_id (results, NALA));
  g_assert_cmpint (find_id (results, NALA), >=, 0);
  g_clear_pointer (&results, g_ptr_array_unref);

  results = search (fx, TENANT_A, "luna", 20);
  g_assert_cmpint (find_id (results, CARMEN), >=, 0);
  g_assert_cmpint (find_id (results, CARMEN), <, find_id (results, LUNA));
  g_assert_cmpint (find_id (results, LUNA), <, find_id (results, TOBY));
  g_assert_cmpint (find_id (results, LUNA2), <, find_id (results, TOBY));
}

static void
test_grouping_and_limit (Fixture       *fx,
                         gconstpointer  data)
{
  g_autoptr(GPtrArray) results = NULL;

  for (guint i = 0; i < 30; i++)
    {
      g_autofree char *client = g_strdup_printf ("c0000000-0000-4000-8000-%012u", i);
      g_autofree char *pet = g_strdup_printf ("d0000000-0000-4000-8000-%012u", i);
      g_autofree char *first = g_strdup_printf ("Nombre%u", i);

      add_client (fx, fx->a, client, first, "Sánchez", NULL, NULL);
      add_pet (fx, fx->a, pet, client, i % 2 ? "Sancho" : "Kira", "dog", NULL, NULL);
    }

  results = search (fx, TENANT_A, "sanch", 7);
  g_assert_cmpuint (results->len, ==, 14);
  for (guint i = 0; i < results->len; i++)
    {
      VdSearchResult *r = g_ptr_array_index (results, i);

      g_assert_cmpint (r->kind, ==, i < 7 ? VD_SEARCH_CLIENT : VD_SEARCH_PET);
      if (i > 0 && i != 7)
        g_assert_cmpfloat (((VdSearchResult *) g_ptr_array_index (results, i - 1))->rank, <=,
                           r->rank);
    }
  /* Pets named Sancho rank before pets found only through the owner. */
  g_assert_cmpstr (((VdSearchResult *) g_ptr_array_index (results, 7))->title, ==, "Sancho");
  g_clear_pointer (&results, g_ptr_array_unref);

  results = search (fx, TENANT_A, "sanch", 100);
  g_assert_cmpuint (results->len, ==, 60);
  g_clear_pointer (&results, g_ptr_array_unref);

  results = search (fx, TENANT_A, "sanch", 0);
  g_assert_cmpuint (results->len, ==, 0);
}

static void
test_delete (Fixture       *fx,
             gconstpointer  data)
{
  add_clinic (fx);

  g_assert_true (finds (fx, "begoña", BEGONA));
  apply_at (fx->a, next_hlc (fx), SITE_A, "clients", BEGONA, "deleted", "1", NULL);
  g_assert_false (finds (fx, "begoña", BEGONA));
  g_assert_false (finds (fx, "bego@example.es", BEGONA));

  /* A concurrent edit of another column does not bring it back into the index... */
  apply_at (fx->a, next_hlc (fx), SITE_B, "clients", BEGONA, "notes", "llamar", NULL);
  g_assert_false (finds (fx, "begoña", BEGONA));
  /* ...a later undelete does. */
  apply_at (fx->a, next_hlc (fx), SITE_B, "clients", BEGONA, "deleted", "0", NULL);
  g_assert_true (finds (fx, "begoña", BEGONA));

  g_assert_true (finds (fx, "nala", NALA));
  apply_at (fx->a, next_hlc (fx), SITE_A, "pets", NALA, "deleted", "1", NULL);
  g_assert_false (finds (fx, "nala", NALA));
  g_assert_false (finds (fx, "perez", NALA));
  g_assert_true (finds (fx, "perez", LUNA));

  /* A row removed outright (no path does this today) leaves no entry behind. */
  g_assert_cmpint (sqlite3_exec (fx->db, "DELETE FROM pets WHERE id = '" LUNA "'",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_false (finds (fx, "luna", LUNA));
  g_assert_true (finds (fx, "luna", LUNA2));
}

static void
test_rename (Fixture       *fx,
             gconstpointer  data)
{
  g_autoptr(GPtrArray) results = NULL;
  int i;

  add_clinic (fx);

  apply_at (fx->a, next_hlc (fx), SITE_A, "clients", ANA, "last_name", "Romero Sanz", NULL);
  g_assert_false (finds (fx, "garcia", ANA));
  g_assert_true (finds (fx, "romero", ANA));
  g_assert_true (finds (fx, "ana sanz", ANA));
  /* Her pets follow their owner. */
  g_assert_false (finds (fx, "garcia", LUNA));
  g_assert_true (finds (fx, "romero", LUNA));
  g_assert_true (finds (fx, "romero", NALA));
  results = search (fx, TENANT_A, "nala", 20);
  i = find_id (results, NALA);
  g_assert_cmpint (i, >=, 0);
  g_assert_cmpstr (((VdSearchResult *) g_ptr_array_index (results, i))->subtitle, ==,
                   "Común europeo · Romero Sanz, Ana");
  g_assert_cmpstr (((VdSearchResult *) g_ptr_array_index (results, i))->species, ==, "cat");

  /* Pets and phones change too. */
  apply_at (fx->a, next_hlc (fx), SITE_A, "pets", TOBY, "name", "Bruno", "breed", NULL, NULL);
  g_assert_false (finds (fx, "toby", TOBY));
  g_assert_false (finds (fx, "beagle", TOBY));
  g_assert_true (finds (fx, "bruno", TOBY));
  apply_at (fx->a, next_hlc (fx), SITE_A, "clients", JORGE, "phone", "+34 655 000 000", NULL);
  g_assert_false (finds (fx, "69911", JORGE));
  g_assert_true (finds (fx, "655000", JORGE));

  /* A pet moved to another owner is found by the new owner's name only. */
  apply_at (fx->a, next_hlc (fx), SITE_A, "pets", TOBY, "client_id", BEGONA, NULL);
  g_assert_true (finds (fx, "ruiz bruno", TOBY));
  g_assert_false (finds (fx, "carmen bruno", TOBY));
}

static void
test_pulled (Fixture       *fx,
             gconstpointer  data)
{
  VdHlc older;

  add_clinic (fx);

  /* Another desk's later write, as a pulled page applies it. */
  older = next_hlc (fx);
  g_assert_cmpuint (apply_at (fx->a, next_hlc (fx), SITE_B, "clients", LUIS,
                              "first_name", "Luisa", NULL), ==, 1);
  g_assert_true (finds (fx, "luisa perez", LUIS));
  /* An older write from elsewhere loses the merge and leaves the index alone. */
  g_assert_cmpuint (apply_at (fx->a, older, SITE_B, "clients", LUIS,
                              "first_name", "Luis", NULL), ==, 0);
  g_assert_true (finds (fx, "luisa perez", LUIS));

  /* A page may bring a pet before its owner: the owner's arrival completes it. */
  apply_at (fx->a, next_hlc (fx), SITE_B, "pets", "b0000000-0000-4000-8000-0000000000aa",
            "client_id", "a0000000-0000-4000-8000-0000000000aa", "name", "Chispa",
            "species", "dog", "sex", "female", "deleted", "0", NULL);
  g_assert_true (finds (fx, "chispa", "b0000000-0000-4000-8000-0000000000aa"));
  g_assert_false (finds (fx, "ortega", "b0000000-0000-4000-8000-0000000000aa"));
  apply_at (fx->a, next_hlc (fx), SITE_B, "clients", "a0000000-0000-4000-8000-0000000000aa",
            "first_name", "Pilar", "last_name", "Ortega", "deleted", "0", NULL);
  g_assert_true (finds (fx, "ortega", "b0000000-0000-4000-8000-0000000000aa"));
  g_assert_true (finds (fx, "ortega", "a0000000-0000-4000-8000-0000000000aa"));
}

static void
test_tenants (Fixture       *fx,
              gconstpointer  data)
{
  g_autoptr(GPtrArray) in_a = NULL;
  g_autoptr(GPtrArray) in_b = NULL;

  add_clinic (fx);
  /* The same ids and names in another clinic stay that clinic's. */
  add_client (fx, fx->b, ANA, "Ana", "Pérez Blanco", NULL, "+34 612 345 678");
  add_client (fx, fx->b, "e0000000-0000-4000-8000-000000000001", "Ana", "Pérez Soto", NULL, NULL);

  in_a = search (fx, TENANT_A, "ana perez", 20);
  in_b = search (fx, TENANT_B, "ana perez", 20);
  g_assert_cmpint (find_id (in_a, "e0000000-0000-4000-8000-000000000001"), <, 0);
  g_assert_cmpint (find_id (in_b, "e0000000-0000-4000-8000-000000000001"), >=, 0);
  g_assert_cmpuint (in_b->len, ==, 2);
  for (guint i = 0; i < in_a->len; i++)
    g_assert_null (strstr (((VdSearchResult *) g_ptr_array_index (in_a, i))->title, "Blanco"));
  g_assert_false (finds (fx, "blanco", ANA));
  g_clear_pointer (&in_b, g_ptr_array_unref);

  in_b = search (fx, TENANT_B, "garcia", 20);
  g_assert_cmpuint (in_b->len, ==, 0);
  g_clear_pointer (&in_b, g_ptr_array_unref);

  /* B's rows rank as well as A's: A's best still comes back, not nothing. */
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *id = g_strdup_printf ("e1000000-0000-4000-8000-%012u", i);

      add_client (fx, fx->b, id, "Ana", "Pérez", NULL, NULL);
    }
  in_b = search (fx, TENANT_A, "ana perez", 1);
  g_assert_cmpuint (in_b->len, ==, 2);   /* one client, one pet (through its owner) */
  g_assert_cmpstr (((VdSearchResult *) g_ptr_array_index (in_b, 0))->id, ==, ANA);

  /* Deleting B's Ana leaves A's. */
  apply_at (fx->b, next_hlc (fx), SITE_A, "clients", ANA, "deleted", "1", NULL);
  g_assert_true (finds (fx, "garcia", ANA));
}

/* Thousands of candidates: a short prefix is ranked over a capped set, still only
 * matches, still limited per kind, and one more letter narrows it to the exact best. */
static void
test_many (Fixture       *fx,
           gconstpointer  data)
{
  g_autoptr(GPtrArray) results = NULL;

  sqlite3_exec (fx->db, "BEGIN", NULL, NULL, NULL);
  for (guint i = 0; i < 3000; i++)
    {
      g_autofree char *id = g_strdup_printf ("c0000000-0000-4000-8000-%012u", i);
      g_autofree char *first = g_strdup_printf ("Nombre%u", i);

      add_client (fx, fx->a, id, first, i == 17 ? "Gil" : "Gil Gómez Gutiérrez", NULL, NULL);
    }
  sqlite3_exec (fx->db, "COMMIT", NULL, NULL, NULL);

  results = search (fx, TENANT_A, "g", 20);
  g_assert_cmpuint (results->len, ==, 20);
  for (guint i = 0; i < results->len; i++)
    g_assert_nonnull (strstr (((VdSearchResult *) g_ptr_array_index (results, i))->title, "Gil"));
  g_clear_pointer (&results, g_ptr_array_unref);

  /* The shortest name holding the word ranks first, wherever it sits among 3,000. */
  results = search (fx, TENANT_A, "gil nombre17", 20);
  g_assert_cmpuint (results->len, >=, 1);
  g_assert_cmpstr (((VdSearchResult *) g_ptr_array_index (results, 0))->title, ==, "Gil, Nombre17");
}

static void
test_empty (Fixture       *fx,
            gconstpointer  data)
{
  const char *empties[] = { "", " ", "\t\n  ", "*", "\"\"", "()", ":", "-+.", "\xcc\x81" };

  add_clinic (fx);

  for (guint i = 0; i < G_N_ELEMENTS (empties); i++)
    {
      g_autoptr(GPtrArray) results = search (fx, TENANT_A, empties[i], 20);

      g_assert_cmpuint (results->len, ==, 0);
      g_assert_null (vd_search_build_match (empties[i], VD_SEARCH_CLIENT));
    }
}

static void
test_hostile (Fixture       *fx,
              gconstpointer  data)
{
  const char *inputs[] = {
    "\"", "\"perez", "perez\"", "\"perez\"", "'", "'perez'", "NEAR(perez garcia)",
    "NEAR(perez garcia, 1)", "perez NEAR garcia", "name:perez", "name : perez",
    "{name email}:perez", "- perez", "-perez", "^perez", "perez*", "pe*rez", "* *", "**",
    "(", ")", "((perez", "perez))", "(perez OR", "AND", "OR", "NOT", "perez AND",
    "OR garcia", "perez NOT garcia", "\"\"\"\"", "perez + garcia", "rowid:1",
    "'; DROP TABLE clients; --", "\\", "%", "_", "?1", "$x", "@x", ":x",
    "\xff\xfe perez", "perez \xc3", "\xf0\x9f\x90\xb6 luna", "perez\x01garcia",
    "ǅemal", "İstanbul", "Straße", "ＧＡＲＣＩＡ", "６１２", "\xef\xa3\xbf", "a\xe2\x80\x8b" "b",
  };
  g_autoptr(GString) long_text = g_string_new (NULL);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  add_clinic (fx);

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(GPtrArray) found = search (fx, TENANT_A, inputs[i], 20);

      g_test_message ("input %u: %u results", i, found->len);
    }

  /* The syntax is gone, the words remain. */
  g_assert_true (finds (fx, "\"perez", ANA));
  g_assert_true (finds (fx, "perez*", ANA));
  g_assert_true (finds (fx, "(perez) (garcia", ANA));
  g_assert_false (finds (fx, "NEAR(perez garcia)", ANA));
  g_assert_false (finds (fx, "perez NOT garcia", ANA));
  g_assert_true (finds (fx, "\xf0\x9f\x90\xb6 luna", LUNA));
  {
    g_autofree char *m = vd_search_build_match ("a\" OR b:c* NEAR(d)", VD_SEARCH_CLIENT);

    g_assert_cmpstr (m, ==, "({name email} : \"a\"* AND {name email} : \"or\"* AND "
                            "{name email} : \"b\"* AND {name email} : \"c\"* AND "
                            "{name email} : \"near\"* AND {name email} : \"d\"*)");
  }

  /* Very long input: a thousand words, quotes and parentheses, and 100 kB of one word. */
  for (guint i = 0; i < 1000; i++)
    g_string_append (long_text, "perez \"( garcia* ");
  results = search (fx, TENANT_A, long_text->str, 20);
  g_assert_cmpint (find_id (results, ANA), >=, 0);
  g_clear_pointer (&results, g_ptr_array_unref);
  g_string_truncate (long_text, 0);
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (long_text, i % 7 == 0 ? '"' : 'a');
  results = search (fx, TENANT_A, long_text->str, 20);
  g_clear_pointer (&results, g_ptr_array_unref);

  /* The cached-statement path says the same. */
  {
    g_autoptr(VdSearch) s = vd_search_new (fx->db, &error);

    g_assert_no_error (error);
    for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
      {
        g_autoptr(GPtrArray) found = vd_search_run (s, TENANT_A, inputs[i], 5, &error);

        g_assert_no_error (error);
        g_assert_nonnull (found);
      }
  }
}

static void
test_install (Fixture       *fx,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db = NULL;
  VdCellStore *store;

  /* Rows written before the index exists are found once it is installed. */
  g_assert_cmpint (sqlite3_open (":memory:", &db), ==, SQLITE_OK);
  store = vd_cell_store_new (db, TENANT_A, &error);
  g_assert_no_error (error);
  {
    VdCellStore *saved = fx->a;

    fx->a = store;
    add_clinic (fx);
    apply_at (store, next_hlc (fx), SITE_A, "clients", LUIS, "deleted", "1", NULL);
    fx->a = saved;
  }
  g_assert_null (vd_search_new (db, &error));
  g_assert_error (error, VD_SEARCH_ERROR, VD_SEARCH_ERROR_FAILED);
  g_clear_error (&error);

  for (guint i = 0; i < 3; i++)
    {
      g_assert_true (vd_search_install (db, &error));
      g_assert_no_error (error);
    }
  /* Inside the caller's transaction too. */
  g_assert_cmpint (sqlite3_exec (db, "BEGIN", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_true (vd_search_install (db, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_exec (db, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);

  results = vd_search_query (db, TENANT_A, "perez", 20, &error);
  g_assert_no_error (error);
  g_assert_cmpint (find_id (results, ANA), ==, 0);
  g_assert_cmpint (find_id (results, LUIS), <, 0);        /* deleted before install */
  g_assert_cmpint (find_id (results, LUNA), >=, 0);       /* through the owner */
  g_clear_pointer (&results, g_ptr_array_unref);
  results = vd_search_query (db, TENANT_A, "61234", 20, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 1);

  /* The FTS5 indexes agree with their docs tables. */
  g_assert_cmpint (sqlite3_exec (db,
                                 "INSERT INTO vd_search_clients (vd_search_clients) VALUES ('integrity-check');"
                                 "INSERT INTO vd_search_pets (vd_search_pets) VALUES ('integrity-check');",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT count(*) FROM vd_search_client_docs", -1,
                                       &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, 5);
  sqlite3_finalize (stmt);

  vd_cell_store_free (store);
  sqlite3_close (db);
}

/* Every connection keeps the index, with no search code on the writer's side: the
 * desk's worker connection applies pulled pages. Checked on a WAL file. */
static void
test_other_connection (Fixture       *fx,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-search-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "replica.db", NULL);
  g_autoptr(GPtrArray) results = NULL;
  sqlite3 *reader = NULL;
  sqlite3 *writer = NULL;
  VdCellStore *store;

  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_open (path, &reader), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (reader, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
                                 NULL, NULL, NULL), ==, SQLITE_OK);
  store = vd_cell_store_new (reader, TENANT_A, &error);
  g_assert_no_error (error);
  vd_cell_store_free (store);
  g_assert_true (vd_search_install (reader, &error));
  g_assert_no_error (error);

  g_assert_cmpint (sqlite3_open (path, &writer), ==, SQLITE_OK);
  store = vd_cell_store_new (writer, TENANT_A, &error);
  g_assert_no_error (error);
  {
    VdCellStore *saved = fx->a;

    fx->a = store;
    add_clinic (fx);
    fx->a = saved;
  }

  results = vd_search_query (reader, TENANT_A, "luna", 20, &error);
  g_assert_no_error (error);
  g_assert_cmpint (find_id (results, CARMEN), ==, 0);
  g_assert_cmpint (find_id (results, LUNA), >, 0);

  vd_cell_store_free (store);
  sqlite3_close (writer);
  sqlite3_close (reader);
  g_unlink (path);
  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (path, "-shm", NULL);

    g_unlink (wal);
    g_unlink (shm);
  }
  g_rmdir (dir);
}

/* A new client's look-alikes (issue #15): the same phone digits however punctuated, the
 * same email in any case, the same first and last name with or without accents; a deleted
 * client, another clinic's or a partial name is none. */
static gboolean
duplicates_hold (Fixture           *fx,
                 const char        *tenant,
                 const char        *first,
                 const char        *last,
                 const char        *email,
                 const char        *phone,
                 const char        *id,
                 VdDuplicateReason  reasons)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) found = vd_search_find_duplicates (fx->db, tenant, first, last, email,
                                                          phone, &error);

  g_assert_no_error (error);
  if (id == NULL)
    return found->len == 0;
  for (guint i = 0; i < found->len; i++)
    {
      VdDuplicate *d = g_ptr_array_index (found, i);

      if (g_str_equal (d->id, id))
        return d->reasons == reasons;
    }
  return FALSE;
}

static void
test_duplicates (Fixture       *fx,
                 gconstpointer  data)
{
  add_clinic (fx);

  g_assert_true (duplicates_hold (fx, TENANT_A, "Eva", "Sanz", NULL, "612345678", ANA, VD_DUPLICATE_PHONE));
  g_assert_true (duplicates_hold (fx, TENANT_A, "Eva", "Sanz", NULL, "+34 (612) 34-56-78", ANA, VD_DUPLICATE_PHONE));
  g_assert_true (duplicates_hold (fx, TENANT_A, "Eva", "Sanz", " ANA.Perez@Example.COM ", NULL, ANA, VD_DUPLICATE_EMAIL));
  g_assert_true (duplicates_hold (fx, TENANT_A, "ana", "perez garcia", NULL, NULL, ANA, VD_DUPLICATE_NAME));
  g_assert_true (duplicates_hold (fx, TENANT_A, "BEGONA", "Ruíz", "bego@example.es", NULL, BEGONA,
                                  VD_DUPLICATE_NAME | VD_DUPLICATE_EMAIL));
  /* Not the same person: half a name, a partial number, nothing typed. */
  g_assert_true (duplicates_hold (fx, TENANT_A, "Eva", "Sanz", NULL, "34612345678", ANA, VD_DUPLICATE_PHONE));
  g_assert_true (duplicates_hold (fx, TENANT_A, "Eva", "Sanz", NULL, "45678", NULL, 0));
  g_assert_true (duplicates_hold (fx, TENANT_A, "Ana", "Pérez", NULL, NULL, NULL, 0));
  g_assert_true (duplicates_hold (fx, TENANT_A, "Eva", "Sanz", NULL, "612 345", NULL, 0));
  g_assert_true (duplicates_hold (fx, TENANT_A, "", "", "", "", NULL, 0));
  g_assert_true (duplicates_hold (fx, TENANT_A, NULL, NULL, NULL, NULL, NULL, 0));
  /* Another clinic's clients are not looked at. */
  g_assert_true (duplicates_hold (fx, TENANT_B, "Ana", "Pérez García", NULL, "612345678", NULL, 0));
  /* A deleted client is not offered. */
  apply_at (fx->a, next_hlc (fx), SITE_A, "clients", BEGONA, "deleted", "1", NULL);
  g_assert_true (duplicates_hold (fx, TENANT_A, "Begoña", "Ruiz", NULL, NULL, NULL, 0));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add ("/search/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("accents", test_accents);
  ADD ("prefixes", test_prefixes);
  ADD ("fold-words", test_fold_words);
  ADD ("words-and", test_words_and);
  ADD ("phone", test_phone);
  ADD ("microchip", test_microchip);
  ADD ("pets", test_pets);
  ADD ("grouping-and-limit", test_grouping_and_limit);
  ADD ("delete", test_delete);
  ADD ("rename", test_rename);
  ADD ("pulled", test_pulled);
  ADD ("tenants", test_tenants);
  ADD ("many", test_many);
  ADD ("empty", test_empty);
  ADD ("hostile", test_hostile);
  ADD ("install", test_install);
  ADD ("duplicates", test_duplicates);
  ADD ("other-connection", test_other_connection);

  return g_test_run ();
}
