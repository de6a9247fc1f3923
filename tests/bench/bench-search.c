/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-search.c — the desk's global search on a clinic of 20,000 clients, 40,000 pets
 * and 100,000 appointments written through the cell store: backfill time, index size,
 * write overhead of the triggers, and per-keystroke query times (p50/p99/max). */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "vd-cell-store.h"
#include "vd-search.h"

#define TENANT "11111111-1111-4111-8111-111111111111"
#define SITE   "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"

#define N_CLIENTS      20000
#define N_PETS         40000
#define N_APPOINTMENTS 100000
#define REPEATS        30

static const char * const first_names[] = {
  "Antonio", "José", "Manuel", "Francisco", "David", "Juan", "Javier", "Daniel", "Carlos",
  "Jesús", "Alejandro", "Miguel", "Rafael", "Pablo", "Sergio", "Fernando", "Jorge", "Luis",
  "Alberto", "Álvaro", "Adrián", "Diego", "Raúl", "Iván", "Rubén", "Óscar", "Andrés",
  "Ramón", "Joaquín", "Santiago", "Íñigo", "María", "Carmen", "Ana", "Isabel", "Laura",
  "Cristina", "Marta", "Lucía", "Dolores", "Paula", "Elena", "Sara", "Raquel", "Rosa",
  "Pilar", "Concepción", "Manuela", "Mercedes", "Julia", "Beatriz", "Nuria", "Silvia",
  "Irene", "Patricia", "Rocío", "Alba", "Andrea", "Begoña", "Inés", "Mª José", "Ainhoa",
};

/* In rough order of frequency in Spain, so García and friends are as common as they are
 * at a real front desk. */
static const char * const surnames[] = {
  "García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez",
  "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
  "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos",
  "Gil", "Ramírez", "Serrano", "Blanco", "Molina", "Morales", "Suárez", "Ortega", "Delgado",
  "Castro", "Ortiz", "Rubio", "Marín", "Sanz", "Núñez", "Iglesias", "Medina", "Garrido",
  "Cortés", "Castillo", "Santos", "Lozano", "Guerrero", "Cano", "Prieto", "Méndez", "Cruz",
  "Calvo", "Gallego", "Herrera", "Márquez", "León", "Peña", "Flores", "Cabrera", "Campos",
  "Vega", "Fuentes", "Carrasco", "Díez", "Reyes", "Caballero", "Nieto", "Aguilar", "Pascual",
  "Santana", "Herrero", "Montero", "Lorenzo", "Hidalgo", "Giménez", "Ibáñez", "Ferrer",
  "Durán", "Santiago", "Benítez", "Vidal", "Mora", "Arias", "Vicente", "Carmona", "Crespo",
  "Román", "Pastor", "Soto", "Sáez", "Velasco", "Moya", "Soler", "Parra", "Esteban", "Bravo",
  "Gallardo", "Rojas", "Pardo", "Luna", "Echeverría", "Goicoechea", "Urquiza", "Begoña",
};

static const char * const pet_names[] = {
  "Luna", "Max", "Coco", "Rocky", "Nala", "Toby", "Lola", "Bruno", "Simba", "Kira", "Thor",
  "Milo", "Lucky", "Chispa", "Canela", "Rex", "Zeus", "Mia", "Bimba", "Kiara", "Duna",
  "Leo", "Lúa", "Oliver", "Nina", "Golfo", "Trufa", "Pipa", "Sultán", "Chloe", "Moka",
  "Lía", "Bobby", "Tango", "Gala", "Sira", "Dana", "Pancho", "Ñoño", "Manchas", "Misi",
  "Garbancito", "Churro", "Perla", "Sombra", "Nube", "Lucas", "Nieve", "Cuca", "Piolín",
};

static const char * const dog_breeds[] = {
  "Mestizo", "Labrador Retriever", "Pastor Alemán", "Yorkshire Terrier", "Chihuahua",
  "Bulldog Francés", "Golden Retriever", "Beagle", "Podenco Andaluz", "Galgo Español",
  "Bodeguero Andaluz", "Caniche", "Border Collie", "Schnauzer", "Teckel", "Mastín Español",
};

static const char * const cat_breeds[] = {
  "Común europeo", "Siamés", "Persa", "Maine Coon", "British Shorthair", "Bengalí", "Sphynx",
};

static const char * const other_species[] = { "bird", "rabbit", "reptile", "rodent", "other" };

static const char * const kinds[] = {
  "consultation", "vaccination", "surgery", "grooming", "dental", "follow_up",
};

static const char * const statuses[] = {
  "scheduled", "confirmed", "completed", "completed", "completed", "cancelled", "no_show",
};

static GRand *rng;
static guint64 hlc_ms = G_GUINT64_CONSTANT (1700000000000);

/* A Zipf-like pick: index i with weight 1 / (i + 10), which gives the first surname
 * (García) about 4% of the picks and the first pet name (Luna) about 6%: a little above
 * their real share in Spain, so the heaviest searches are no lighter than a real desk's. */
static guint
pick_zipf (guint n)
{
  double total = 0, x;

  for (guint i = 0; i < n; i++)
    total += 1.0 / (i + 10);
  x = g_rand_double (rng) * total;
  for (guint i = 0; i < n; i++)
    {
      x -= 1.0 / (i + 10);
      if (x <= 0)
        return i;
    }
  return n - 1;
}

#define PICK(array) (array[g_rand_int_range (rng, 0, G_N_ELEMENTS (array))])

static void
put_text (VdChange   *change,
          const char *column,
          const char *text)
{
  VdValue value = { VD_VALUE_NULL };

  if (text != NULL)
    vd_value_set_text (&value, text);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static void
put_bool (VdChange   *change,
          const char *column,
          gboolean    b)
{
  VdValue value = { VD_VALUE_NULL };

  vd_value_set_bool (&value, b);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static void
apply (VdCellStore *store,
       VdChange    *change)
{
  g_autoptr(GError) error = NULL;

  if (!vd_cell_store_apply (store, change, NULL, &error))
    g_error ("apply: %s", error->message);
}

static VdChange *
new_change (const char *table,
            const char *id)
{
  return vd_change_new (vd_schema_lookup_table (table), id, vd_hlc_make (hlc_ms++, 0), SITE);
}

static char *
make_id (guint kind,
         guint n)
{
  return g_strdup_printf ("%08x-0000-4000-8000-%012x", kind, n);
}

static void
exec_or_die (sqlite3    *db,
             const char *sql)
{
  char *msg = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
}

static void
add_client (VdCellStore *store,
            guint        n)
{
  g_autofree char *id = make_id (1, n);
  g_autoptr(VdChange) change = new_change ("clients", id);
  const char *first = PICK (first_names);
  const char *s1 = surnames[pick_zipf (G_N_ELEMENTS (surnames))];
  const char *s2 = surnames[pick_zipf (G_N_ELEMENTS (surnames))];
  g_autofree char *last = g_strdup_printf ("%s %s", s1, s2);
  g_autofree char *phone = NULL;
  g_autofree char *email = NULL;
  guint number = g_rand_int_range (rng, 0, 100000000);

  switch (g_rand_int_range (rng, 0, 4))
    {
    case 0:
      phone = g_strdup_printf ("+34 6%02u %03u %03u", number / 1000000, number / 1000 % 1000,
                               number % 1000);
      break;
    case 1:
      phone = g_strdup_printf ("6%02u %02u %02u %02u", number / 1000000, number / 10000 % 100,
                               number / 100 % 100, number % 100);
      break;
    case 2:
      phone = g_strdup_printf ("9%08u", number);
      break;
    default:
      phone = g_strdup_printf ("(+34) 7%02u-%03u-%03u", number / 1000000, number / 1000 % 1000,
                               number % 1000);
      break;
    }
  if (g_rand_int_range (rng, 0, 10) < 6)
    {
      g_autofree char *a = g_str_to_ascii (first, "C");
      g_autofree char *b = g_str_to_ascii (s1, "C");
      g_autofree char *local = g_strdup_printf ("%s.%s%u", a, b, n % 100);

      for (char *p = local; *p != '\0'; p++)
        *p = *p == ' ' ? '.' : g_ascii_tolower (*p);
      email = g_strdup_printf ("%s@%s", local,
                               PICK (((const char * const[]) { "gmail.com", "hotmail.es", "yahoo.es", "telefonica.net" })));
    }

  put_text (change, "first_name", first);
  put_text (change, "last_name", last);
  put_text (change, "email", email);
  put_text (change, "phone", phone);
  put_text (change, "address", "Calle Mayor 1, 28013 Madrid");
  put_bool (change, "deleted", FALSE);
  apply (store, change);
}

static void
add_pet (VdCellStore *store,
         guint        n,
         guint        n_clients)
{
  g_autofree char *id = make_id (2, n);
  g_autofree char *client_id = make_id (1, g_rand_int_range (rng, 0, n_clients));
  g_autoptr(VdChange) change = new_change ("pets", id);
  guint r = g_rand_int_range (rng, 0, 100);
  const char *species = r < 55 ? "dog" : r < 90 ? "cat" : PICK (other_species);
  const char *breed = strcmp (species, "dog") == 0 ? PICK (dog_breeds) :
                      strcmp (species, "cat") == 0 ? PICK (cat_breeds) : NULL;
  g_autofree char *chip = NULL;

  if (breed != NULL && g_rand_int_range (rng, 0, 10) < 7)
    chip = g_strdup_printf ("%s%09u", g_rand_boolean (rng) ? "941000" : "985112",
                            g_rand_int_range (rng, 0, 1000000000));

  put_text (change, "client_id", client_id);
  put_text (change, "name", pet_names[pick_zipf (G_N_ELEMENTS (pet_names))]);
  put_text (change, "species", species);
  put_text (change, "breed", breed);
  put_text (change, "sex", g_rand_boolean (rng) ? "male" : "female");
  put_text (change, "microchip", chip);
  put_bool (change, "deleted", FALSE);
  apply (store, change);
}

static void
add_appointment (VdCellStore *store,
                 guint        n)
{
  g_autofree char *id = make_id (3, n);
  g_autofree char *pet_id = make_id (2, g_rand_int_range (rng, 0, N_PETS));
  g_autofree char *client_id = make_id (1, g_rand_int_range (rng, 0, N_CLIENTS));
  g_autofree char *staff_id = make_id (4, g_rand_int_range (rng, 0, 10));
  g_autoptr(VdChange) change = new_change ("appointments", id);
  gint64 start = G_GINT64_CONSTANT (1672531200) + (gint64) n * 900;
  g_autoptr(GDateTime) s = g_date_time_new_from_unix_utc (start);
  g_autoptr(GDateTime) e = g_date_time_add_minutes (s, 30);
  g_autofree char *starts = g_date_time_format (s, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *ends = g_date_time_format (e, "%Y-%m-%dT%H:%M:%SZ");

  put_text (change, "pet_id", pet_id);
  put_text (change, "client_id", client_id);
  put_text (change, "staff_id", staff_id);
  put_text (change, "kind", PICK (kinds));
  put_text (change, "starts_at", starts);
  put_text (change, "ends_at", ends);
  put_text (change, "status", PICK (statuses));
  put_text (change, "reason", "Revisión anual y vacunas");
  put_bool (change, "allow_overlap", FALSE);
  put_bool (change, "deleted", FALSE);
  apply (store, change);
}

static gint64
query_int (sqlite3    *db,
           const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 v = -1;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) == SQLITE_OK && sqlite3_step (stmt) == SQLITE_ROW)
    v = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return v;
}

static int
cmp_double (gconstpointer a,
            gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
percentile (GArray *sorted,
            double  p)
{
  guint i = (guint) (p * (sorted->len - 1) + 0.5);

  return g_array_index (sorted, double, i);
}

/* A batch shaped like a pulled page: new clients, each with two pets, and renames. */
static double
write_batch (sqlite3     *db,
             VdCellStore *store,
             guint        first,
             guint        n)
{
  gint64 t0 = g_get_monotonic_time ();

  exec_or_die (db, "BEGIN IMMEDIATE");
  for (guint i = 0; i < n; i++)
    {
      add_client (store, first + i);
      add_pet (store, first * 2 + 2 * i, first + i + 1);
      add_pet (store, first * 2 + 2 * i + 1, first + i + 1);
    }
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = make_id (1, g_rand_int_range (rng, 0, N_CLIENTS));
      g_autoptr(VdChange) change = new_change ("clients", id);

      put_text (change, "last_name", surnames[pick_zipf (G_N_ELEMENTS (surnames))]);
      apply (store, change);
    }
  exec_or_die (db, "COMMIT");
  return (g_get_monotonic_time () - t0) / 1000.0 / (4.0 * n);
}

static void
type_word (VdSearch   *search,
           const char *word)
{
  g_autoptr(GArray) all = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GString) prefixes = g_string_new (NULL);
  glong n_chars = g_utf8_strlen (word, -1);

  for (glong len = 1; len <= n_chars; len++)
    {
      g_autofree char *prefix = g_utf8_substring (word, 0, len);
      g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (double));
      guint n_results = 0;

      for (guint r = 0; r < REPEATS; r++)
        {
          g_autoptr(GError) error = NULL;
          gint64 t0 = g_get_monotonic_time ();
          g_autoptr(GPtrArray) results = vd_search_run (search, TENANT, prefix, 20, &error);
          double ms = (g_get_monotonic_time () - t0) / 1000.0;

          if (results == NULL)
            g_error ("search “%s”: %s", prefix, error->message);
          n_results = results->len;
          g_array_append_val (times, ms);
          g_array_append_val (all, ms);
        }
      g_array_sort (times, cmp_double);
      g_string_append_printf (prefixes, "  %-8s %6.2f ms (%u results)\n", prefix,
                              percentile (times, 0.5), n_results);
    }

  g_array_sort (all, cmp_double);
  g_print ("typing “%s”: p50 %.2f ms, p99 %.2f ms, max %.2f ms over %u queries\n%s",
           word, percentile (all, 0.5), percentile (all, 0.99),
           g_array_index (all, double, all->len - 1), all->len, prefixes->str);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdSearch) search = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  const char *seed_env = g_getenv ("VD_SEED");
  guint32 seed = seed_env != NULL ? (guint32) g_ascii_strtoull (seed_env, NULL, 10) : 20240901;
  VdCellStore *store;
  sqlite3 *db = NULL;
  gint64 t0, pages_before, pages_after, page_size;
  double before_ms, after_ms;

  rng = g_rand_new_with_seed (seed);
  dir = g_dir_make_tmp ("bench-search-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, "replica.db", NULL);
  g_print ("bench-search: seed %u (VD_SEED to replay), %s\n", seed, path);

  if (sqlite3_open (path, &db) != SQLITE_OK)
    g_error ("open %s", path);
  exec_or_die (db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  store = vd_cell_store_new (db, TENANT, &error);
  g_assert_no_error (error);

  t0 = g_get_monotonic_time ();
  exec_or_die (db, "BEGIN IMMEDIATE");
  for (guint i = 0; i < N_CLIENTS; i++)
    add_client (store, i);
  for (guint i = 0; i < N_PETS; i++)
    add_pet (store, i, N_CLIENTS);
  for (guint i = 0; i < N_APPOINTMENTS; i++)
    add_appointment (store, i);
  exec_or_die (db, "COMMIT");
  g_print ("load: %u clients, %u pets, %u appointments through the cell store in %.1f s\n",
           N_CLIENTS, N_PETS, N_APPOINTMENTS, (g_get_monotonic_time () - t0) / 1e6);

  before_ms = write_batch (db, store, N_CLIENTS, 500);

  exec_or_die (db, "PRAGMA wal_checkpoint(TRUNCATE)");
  page_size = query_int (db, "PRAGMA page_size");
  pages_before = query_int (db, "PRAGMA page_count") - query_int (db, "PRAGMA freelist_count");
  t0 = g_get_monotonic_time ();
  if (!vd_search_install (db, &error))
    g_error ("install: %s", error->message);
  g_print ("install + backfill: %.0f ms (%" G_GINT64_FORMAT " client and %" G_GINT64_FORMAT
           " pet entries)\n", (g_get_monotonic_time () - t0) / 1000.0,
           query_int (db, "SELECT count(*) FROM vd_search_client_docs"),
           query_int (db, "SELECT count(*) FROM vd_search_pet_docs"));
  t0 = g_get_monotonic_time ();
  if (!vd_search_install (db, &error))
    g_error ("install: %s", error->message);
  g_print ("install again (already there): %.2f ms\n", (g_get_monotonic_time () - t0) / 1000.0);
  exec_or_die (db, "PRAGMA wal_checkpoint(TRUNCATE)");
  pages_after = query_int (db, "PRAGMA page_count") - query_int (db, "PRAGMA freelist_count");
  g_print ("index size: %.1f MiB (database %.1f MiB before)\n",
           (pages_after - pages_before) * page_size / 1048576.0,
           pages_before * page_size / 1048576.0);

  after_ms = write_batch (db, store, N_CLIENTS + 500, 500);
  g_print ("writes (new client + 2 pets + a rename, per change): %.3f ms without the index, "
           "%.3f ms with it\n", before_ms, after_ms);

  search = vd_search_new (db, &error);
  g_assert_no_error (error);
  type_word (search, "garcia");
  type_word (search, "612345");
  type_word (search, "luna");
  type_word (search, "ana gar");

  {
    g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (double));

    for (guint r = 0; r < REPEATS; r++)
      {
        gint64 t1 = g_get_monotonic_time ();
        g_autoptr(GPtrArray) results = vd_search_query (db, TENANT, "garc", 20, &error);
        double ms = (g_get_monotonic_time () - t1) / 1000.0;

        g_assert_no_error (error);
        g_array_append_val (times, ms);
      }
    g_array_sort (times, cmp_double);
    g_print ("vd_search_query (statements prepared per call), “garc”: p50 %.2f ms\n",
             percentile (times, 0.5));
  }

  g_clear_pointer (&search, vd_search_free);
  vd_cell_store_free (store);
  sqlite3_close (db);
  if (g_getenv ("VD_BENCH_KEEP") != NULL)
    {
      g_print ("kept %s\n", path);
      return 0;
    }
  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (path, "-shm", NULL);

    g_unlink (wal);
    g_unlink (shm);
  }
  g_unlink (path);
  g_rmdir (dir);
  g_rand_free (rng);
  return 0;
}
