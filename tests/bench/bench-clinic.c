/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-clinic.c — makes the desk benchmarks' clinic from a fixed seed: realistic names,
 * owners with one to four pets, and a schedule per staff member with no overlaps, as the
 * changes a desk would have pushed. */
#define G_LOG_DOMAIN "bench-clinic"

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench-clinic.h"
#include "vd-hlc.h"
#include "vd-time.h"

static const char * const first_names[] = {
  "Antonio", "José", "Manuel", "Francisco", "David", "Juan", "Javier", "Daniel", "Carlos",
  "Jesús", "Alejandro", "Miguel", "Rafael", "Pablo", "Sergio", "Fernando", "Jorge", "Luis",
  "Alberto", "Álvaro", "Adrián", "Diego", "Raúl", "Iván", "Rubén", "Óscar", "Andrés",
  "María", "Carmen", "Ana", "Isabel", "Laura", "Cristina", "Marta", "Lucía", "Dolores",
  "Paula", "Elena", "Sara", "Raquel", "Rosa", "Pilar", "Julia", "Beatriz", "Nuria",
  "Silvia", "Irene", "Patricia", "Rocío", "Alba", "Andrea", "Inés", "Ainhoa",
};

static const char * const surnames[] = {
  "García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez",
  "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
  "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos",
  "Gil", "Ramírez", "Serrano", "Blanco", "Molina", "Morales", "Suárez", "Ortega", "Delgado",
  "Castro", "Ortiz", "Rubio", "Marín", "Sanz", "Núñez", "Iglesias", "Medina", "Garrido",
  "Cortés", "Castillo", "Santos", "Lozano", "Guerrero", "Cano", "Prieto", "Méndez", "Cruz",
};

static const char * const streets[] = {
  "Calle Mayor", "Avenida de la Constitución", "Calle Real", "Plaza de España",
  "Calle del Carmen", "Paseo de la Castellana", "Calle San Juan", "Avenida de Andalucía",
};

static const char * const pet_names[] = {
  "Luna", "Max", "Coco", "Rocky", "Nala", "Toby", "Lola", "Bruno", "Simba", "Kira", "Thor",
  "Milo", "Lucky", "Chispa", "Canela", "Rex", "Zeus", "Mia", "Bimba", "Kiara", "Duna",
  "Leo", "Lúa", "Oliver", "Nina", "Golfo", "Trufa", "Pipa", "Sultán", "Chloe", "Moka",
};

static const char * const dog_breeds[] = {
  "Mestizo", "Labrador Retriever", "Pastor Alemán", "Yorkshire Terrier", "Chihuahua",
  "Bulldog Francés", "Golden Retriever", "Beagle", "Podenco Andaluz", "Galgo Español",
};

static const char * const cat_breeds[] = {
  "Común europeo", "Siamés", "Persa", "Maine Coon", "British Shorthair",
};

static const char * const colors[] = {
  "Negro", "Blanco", "Marrón", "Atigrado", "Canela", "Gris", "Tricolor", "Blanco y negro",
};

static const char * const allergies[] = {
  "Penicilina", "Pollo", "Picadura de pulga", "Cereales", "Ternera", "Látex",
};

static const char * const reasons_consult[] = {
  "Revisión general", "Vómitos desde ayer", "Cojea de la pata trasera", "Picor y rascado",
  "Diarrea", "No come", "Revisión de oído", "Tos", "Bulto en el costado",
};

typedef enum
{
  ROLE_VET,
  ROLE_TECH,
  ROLE_GROOMER,
} Role;

static const struct
{
  const char *name;
  const char *role;
  Role        kind;
  const char *color;
  const char *room;
} staff_info[BENCH_CLINIC_STAFF] = {
  { "Dra. Elena Navarro",   "veterinarian", ROLE_VET,     "#3584e4", "Consulta 1" },
  { "Dr. Javier Ortega",    "veterinarian", ROLE_VET,     "#33d17a", "Consulta 2" },
  { "Dra. Lucía Serrano",   "veterinarian", ROLE_VET,     "#f6d32d", "Consulta 3" },
  { "Dr. Pablo Medina",     "veterinarian", ROLE_VET,     "#ff7800", "Consulta 4" },
  { "Dra. Carmen Iglesias", "veterinarian", ROLE_VET,     "#e01b24", "Quirófano" },
  { "Dr. Andrés Molina",    "veterinarian", ROLE_VET,     "#9141ac", "Consulta 5" },
  { "Sara Domínguez",       "technician",   ROLE_TECH,    "#986a44", "Enfermería 1" },
  { "Iván Castro",          "technician",   ROLE_TECH,    "#26a269", "Enfermería 2" },
  { "Rocío Prieto",         "groomer",      ROLE_GROOMER, "#c061cb", "Peluquería 1" },
  { "Nuria Rubio",          "groomer",      ROLE_GROOMER, "#1c71d8", "Peluquería 2" },
};

typedef struct
{
  GRand   *rand;
  guint64  hlc_ms;
  guint    hlc_counter;
  guint    id_serial;
  guint32  seed;
} Gen;

#define PICK(g, array) (array[g_rand_int_range ((g)->rand, 0, G_N_ELEMENTS (array))])

static gboolean
chance (Gen    *g,
        double  p)
{
  return g_rand_double (g->rand) < p;
}

/* Deterministic v4-shaped ids: the seed and a serial, so runs with one seed match. */
static char *
make_id (Gen *g)
{
  guint n = ++g->id_serial;

  return g_strdup_printf ("%08x-%04x-4%03x-8%03x-%012x", g->seed, (n >> 16) & 0xffff,
                          n & 0xfff, (n >> 12) & 0xf, n);
}

static VdChange *
new_change (Gen        *g,
            const char *table,
            const char *id)
{
  VdHlc hlc;

  /* 65,536 counters per millisecond: unique and increasing across the whole clinic. */
  hlc = vd_hlc_make (g->hlc_ms, g->hlc_counter);
  if (++g->hlc_counter == 0x10000)
    {
      g->hlc_counter = 0;
      g->hlc_ms++;
    }
  return vd_change_new (vd_schema_lookup_table (table), id, hlc, BENCH_CLINIC_SITE);
}

static void
set_text (VdChange   *change,
          const char *column,
          const char *text)
{
  VdValue value = { VD_VALUE_NULL };

  if (text != NULL)
    vd_value_set_text (&value, text);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static void
take_text (VdChange   *change,
           const char *column,
           char       *text)
{
  set_text (change, column, text);
  g_free (text);
}

static void
set_bool (VdChange   *change,
          const char *column,
          gboolean    b)
{
  VdValue value = { VD_VALUE_NULL };

  vd_value_set_bool (&value, b);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static void
set_real (VdChange   *change,
          const char *column,
          double      r)
{
  VdValue value = { VD_VALUE_NULL };

  vd_value_set_real (&value, r);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static void
set_time (VdChange   *change,
          const char *column,
          gint64      unix_time)
{
  char text[21];

  vd_time_format_utc (unix_time, text);
  set_text (change, column, text);
}

/* Index i with weight 1 / (i + 10): the common names are as common as at a real desk. */
static guint
pick_zipf (Gen   *g,
           guint  n)
{
  double total = 0, x;

  for (guint i = 0; i < n; i++)
    total += 1.0 / (i + 10);
  x = g_rand_double (g->rand) * total;
  for (guint i = 0; i < n; i++)
    {
      x -= 1.0 / (i + 10);
      if (x <= 0)
        return i;
    }
  return n - 1;
}

static void
make_staff (BenchClinic *clinic,
            Gen         *g)
{
  for (guint i = 0; i < BENCH_CLINIC_STAFF; i++)
    {
      char *id = make_id (g);
      VdChange *change = new_change (g, "staff", id);

      set_text (change, "name", staff_info[i].name);
      set_text (change, "role", staff_info[i].role);
      take_text (change, "email", g_strdup_printf ("staff%u@clinica-bench.es", i + 1));
      take_text (change, "phone", g_strdup_printf ("+34 6%02u %03u %03u", i, 100 + i, 200 + i));
      set_text (change, "color", staff_info[i].color);
      set_bool (change, "active", TRUE);
      set_bool (change, "deleted", FALSE);
      g_ptr_array_add (clinic->changes, change);
      g_ptr_array_add (clinic->staff_ids, id);
    }
}

static void
make_clients (BenchClinic *clinic,
              Gen         *g,
              GPtrArray   *client_ids)
{
  for (guint i = 0; i < BENCH_CLINIC_CLIENTS; i++)
    {
      char *id = make_id (g);
      VdChange *change = new_change (g, "clients", id);

      set_text (change, "first_name", first_names[pick_zipf (g, G_N_ELEMENTS (first_names))]);
      take_text (change, "last_name",
                 g_strdup_printf ("%s %s", surnames[pick_zipf (g, G_N_ELEMENTS (surnames))],
                                  surnames[pick_zipf (g, G_N_ELEMENTS (surnames))]));
      if (chance (g, 0.7))
        take_text (change, "email", g_strdup_printf ("cliente%05u@correo.es", i));
      take_text (change, "phone", g_strdup_printf ("+34 6%02d %03d %03d", g_rand_int_range (g->rand, 0, 100),
                                                   g_rand_int_range (g->rand, 0, 1000),
                                                   g_rand_int_range (g->rand, 0, 1000)));
      if (chance (g, 0.6))
        take_text (change, "address", g_strdup_printf ("%s %d, %d%c, 280%02d Madrid", PICK (g, streets),
                                                       g_rand_int_range (g->rand, 1, 200),
                                                       g_rand_int_range (g->rand, 1, 9),
                                                       'A' + g_rand_int_range (g->rand, 0, 4),
                                                       g_rand_int_range (g->rand, 1, 60)));
      if (chance (g, 0.1))
        set_text (change, "notes", "Prefiere que le llamen por la tarde. Paga con tarjeta.");
      set_bool (change, "deleted", FALSE);
      g_ptr_array_add (clinic->changes, change);
      g_ptr_array_add (client_ids, id);
    }
}

static void
make_pets (BenchClinic *clinic,
           Gen         *g,
           GPtrArray   *client_ids)
{
  for (guint i = 0; i < BENCH_CLINIC_PETS; i++)
    {
      char *id = make_id (g);
      VdChange *change = new_change (g, "pets", id);
      /* Every client has a pet; the second half goes to owners of several. */
      const char *owner = i < client_ids->len
                          ? g_ptr_array_index (client_ids, i)
                          : g_ptr_array_index (client_ids, g_rand_int_range (g->rand, 0, client_ids->len / 3));
      double r = g_rand_double (g->rand);
      const char *species = r < 0.55 ? "dog" : r < 0.9 ? "cat" : r < 0.95 ? "rabbit" : r < 0.98 ? "bird" : "rodent";

      set_text (change, "client_id", owner);
      set_text (change, "name", pet_names[pick_zipf (g, G_N_ELEMENTS (pet_names))]);
      set_text (change, "species", species);
      if (strcmp (species, "dog") == 0)
        set_text (change, "breed", PICK (g, dog_breeds));
      else if (strcmp (species, "cat") == 0)
        set_text (change, "breed", PICK (g, cat_breeds));
      set_text (change, "sex", chance (g, 0.5) ? "male" : "female");
      set_bool (change, "neutered", chance (g, 0.6));
      take_text (change, "birth_date", g_strdup_printf ("%04d-%02d-%02d", g_rand_int_range (g->rand, 2008, 2026),
                                                        g_rand_int_range (g->rand, 1, 13),
                                                        g_rand_int_range (g->rand, 1, 29)));
      set_real (change, "weight_kg", round (g_rand_double_range (g->rand, 0.5, 45.0) * 10) / 10);
      if (strcmp (species, "dog") == 0 || chance (g, 0.3))
        take_text (change, "microchip", g_strdup_printf ("724%06u%06u", g_rand_int_range (g->rand, 0, 1000000), i));
      set_text (change, "color", PICK (g, colors));
      if (chance (g, 0.06))
        set_text (change, "allergies", PICK (g, allergies));
      if (chance (g, 0.15))
        set_text (change, "notes", "Se pone nervioso en la sala de espera; mejor entrar directamente.");
      set_bool (change, "deceased", FALSE);
      set_bool (change, "deleted", FALSE);
      g_ptr_array_add (clinic->changes, change);
      g_ptr_array_add (clinic->pet_ids, id);
      g_ptr_array_add (clinic->pet_owners, g_strdup (owner));
    }
}

/* A kind the staff member does and its length in minutes. */
static const char *
pick_kind (Gen   *g,
           Role   role,
           guint *minutes)
{
  double r = g_rand_double (g->rand);

  switch (role)
    {
    case ROLE_GROOMER:
      *minutes = r < 0.6 ? 60 : 90;
      return "grooming";
    case ROLE_TECH:
      *minutes = r < 0.5 ? 15 : r < 0.85 ? 15 : 30;
      return r < 0.5 ? "vaccination" : r < 0.85 ? "follow_up" : "other";
    case ROLE_VET:
    default:
      if (r < 0.45) { *minutes = 20; return "consultation"; }
      if (r < 0.65) { *minutes = 15; return "vaccination"; }
      if (r < 0.80) { *minutes = 15; return "follow_up"; }
      if (r < 0.87) { *minutes = 45; return "dental"; }
      if (r < 0.95) { *minutes = 60 + 30 * g_rand_int_range (g->rand, 0, 3); return "surgery"; }
      *minutes = 30;
      return "other";
    }
}

static const char *
pick_status (Gen *g,
             int  offset,
             int  minute_of_day)
{
  double r = g_rand_double (g->rand);

  if (offset < 0)
    return r < 0.84 ? "completed" : r < 0.93 ? "cancelled" : "no_show";
  if (offset > 0)
    return r < 0.6 ? "scheduled" : r < 0.95 ? "confirmed" : "cancelled";
  /* The benchmark day, as a desk sees it around noon. */
  if (minute_of_day < 11 * 60)
    return r < 0.85 ? "completed" : r < 0.92 ? "no_show" : "cancelled";
  if (minute_of_day < 12 * 60)
    return r < 0.5 ? "in_progress" : "checked_in";
  return r < 0.5 ? "scheduled" : "confirmed";
}

static void
add_appointment (BenchClinic *clinic,
                 Gen         *g,
                 guint        staff,
                 const char  *kind,
                 gint64       start,
                 guint        minutes,
                 const char  *status)
{
  guint pet = g_rand_int_range (g->rand, 0, clinic->pet_ids->len);
  char *id = make_id (g);
  VdChange *change = new_change (g, "appointments", id);

  set_text (change, "pet_id", g_ptr_array_index (clinic->pet_ids, pet));
  set_text (change, "client_id", g_ptr_array_index (clinic->pet_owners, pet));
  set_text (change, "staff_id", g_ptr_array_index (clinic->staff_ids, staff));
  set_text (change, "room", staff_info[staff].room);
  set_text (change, "kind", kind);
  set_time (change, "starts_at", start);
  set_time (change, "ends_at", start + minutes * 60);
  set_text (change, "status", status);
  if (strcmp (kind, "consultation") == 0 || chance (g, 0.3))
    set_text (change, "reason", PICK (g, reasons_consult));
  if (chance (g, 0.2))
    set_text (change, "notes", "Traer la cartilla de vacunación. Ayuno de 8 horas si hay analítica.");
  set_bool (change, "allow_overlap", FALSE);
  set_bool (change, "deleted", FALSE);
  g_ptr_array_add (clinic->changes, change);
  g_free (id);
}

/* One day of every staff member's schedule: back-to-back slots with a gap now and then,
 * none overlapping, none past closing. */
static guint
make_day (BenchClinic *clinic,
          Gen         *g,
          int          offset,
          guint        budget)
{
  int pattern = ((offset % 7) + 7) % 7;
  int open, close, y, m, d;
  guint made = 0;

  if (pattern == 6)
    return 0;
  open = pattern == 5 ? 10 * 60 : 9 * 60;
  close = pattern == 5 ? 14 * 60 : 19 * 60;
  bench_clinic_day (clinic, offset, &y, &m, &d);

  for (guint s = 0; s < BENCH_CLINIC_STAFF && made < budget; s++)
    {
      int t = open;

      for (;;)
        {
          guint minutes;
          const char *kind = pick_kind (g, staff_info[s].kind, &minutes);
          gint64 start;

          if (chance (g, 0.2))
            t += 15;
          if (t + (int) minutes > close || made >= budget)
            break;
          start = vd_time_from_zone (clinic->zone, y, m, d, t / 60, t % 60, 0);
          add_appointment (clinic, g, s, kind, start, minutes, pick_status (g, offset, t));
          made++;
          t += minutes;
        }
    }
  if (pattern < 5)
    g_array_append_val (clinic->full_days, offset);
  return made;
}

void
bench_clinic_day (BenchClinic *clinic,
                  int          offset,
                  int         *year,
                  int         *month,
                  int         *day)
{
  GDate date = clinic->anchor;

  if (offset > 0)
    g_date_add_days (&date, offset);
  else if (offset < 0)
    g_date_subtract_days (&date, -offset);
  *year = g_date_get_year (&date);
  *month = g_date_get_month (&date);
  *day = g_date_get_day (&date);
}

void
bench_clinic_today (GDate *out)
{
  g_autoptr(GTimeZone) zone = vd_time_zone_new (BENCH_CLINIC_ZONE, NULL);
  gint64 start, end;
  int y, m, d;

  vd_time_today_bounds (zone, g_get_real_time () / G_USEC_PER_SEC, &start, &end, &y, &m, &d);
  g_date_clear (out, 1);
  g_date_set_dmy (out, d, m, y);
}

BenchClinic *
bench_clinic_new (guint32      seed,
                  const GDate *anchor)
{
  BenchClinic *clinic = g_new0 (BenchClinic, 1);
  g_autoptr(GPtrArray) client_ids = g_ptr_array_new_with_free_func (g_free);
  Gen g = { 0 };
  guint total = 0;
  int offset;

  g.rand = g_rand_new_with_seed (seed);
  g.seed = seed;
  g.hlc_ms = (guint64) (g_get_real_time () / 1000) - 10 * 60 * 1000;

  clinic->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  clinic->staff_ids = g_ptr_array_new_with_free_func (g_free);
  clinic->pet_ids = g_ptr_array_new_with_free_func (g_free);
  clinic->pet_owners = g_ptr_array_new_with_free_func (g_free);
  clinic->zone = vd_time_zone_new (BENCH_CLINIC_ZONE, NULL);
  clinic->anchor = *anchor;
  clinic->full_days = g_array_new (FALSE, FALSE, sizeof (int));
  clinic->day_counts = g_array_new (FALSE, TRUE, sizeof (guint));

  make_staff (clinic, &g);
  make_clients (clinic, &g, client_ids);
  make_pets (clinic, &g, client_ids);

  clinic->first_offset = -364;
  for (offset = clinic->first_offset; total < BENCH_CLINIC_APPOINTMENTS; offset++)
    {
      guint n = make_day (clinic, &g, offset, BENCH_CLINIC_APPOINTMENTS - total);

      g_array_append_val (clinic->day_counts, n);
      if (offset == 0)
        clinic->anchor_count = n;
      total += n;
    }
  clinic->last_offset = offset - 1;
  /* The last day may be cut short by the budget: it is not a full day. */
  if (clinic->full_days->len > 0 &&
      g_array_index (clinic->full_days, int, clinic->full_days->len - 1) == clinic->last_offset)
    g_array_set_size (clinic->full_days, clinic->full_days->len - 1);

  g_rand_free (g.rand);
  return clinic;
}

VdChange *
bench_clinic_new_appointment (BenchClinic *clinic,
                              GRand       *rand,
                              gint64       start,
                              guint        minutes)
{
  const VdTable *table = vd_schema_lookup_table ("appointments");
  guint staff = g_rand_int_range (rand, 0, BENCH_CLINIC_STAFF);
  guint pet = g_rand_int_range (rand, 0, clinic->pet_ids->len);
  VdChange *change;

  /* vd_change_new wants a valid id; the store replaces the emptied one. */
  change = vd_change_new (table, BENCH_CLINIC_SITE, 0, BENCH_CLINIC_SITE);
  change->id[0] = '\0';
  set_text (change, "pet_id", g_ptr_array_index (clinic->pet_ids, pet));
  set_text (change, "client_id", g_ptr_array_index (clinic->pet_owners, pet));
  set_text (change, "staff_id", g_ptr_array_index (clinic->staff_ids, staff));
  set_text (change, "room", staff_info[staff].room);
  set_text (change, "kind", "consultation");
  set_time (change, "starts_at", start);
  set_time (change, "ends_at", start + minutes * 60);
  set_text (change, "status", "scheduled");
  set_text (change, "reason", "Revisión anual y vacuna de la rabia");
  set_text (change, "notes", "Reservada por teléfono.");
  set_bool (change, "allow_overlap", FALSE);
  set_bool (change, "deleted", FALSE);
  g_assert (change->cells->len == table->n_columns);
  return change;
}

void
bench_clinic_free (BenchClinic *clinic)
{
  if (clinic == NULL)
    return;
  g_ptr_array_unref (clinic->changes);
  g_ptr_array_unref (clinic->staff_ids);
  g_ptr_array_unref (clinic->pet_ids);
  g_ptr_array_unref (clinic->pet_owners);
  g_time_zone_unref (clinic->zone);
  g_array_unref (clinic->full_days);
  g_array_unref (clinic->day_counts);
  g_free (clinic);
}

/* ---- figures ---- */

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

double
bench_percentile (GArray *sorted_ms,
                  double  p)
{
  guint rank;

  if (sorted_ms->len == 0)
    return 0;
  /* Nearest rank: the smallest sample with at least p% of samples at or below it. */
  rank = (guint) ceil (p / 100.0 * sorted_ms->len);
  rank = CLAMP (rank, 1, sorted_ms->len);
  return g_array_index (sorted_ms, double, rank - 1);
}

void
bench_print_stats (const char *name,
                   GArray     *samples_ms)
{
  double sum = 0;

  g_array_sort (samples_ms, compare_doubles);
  for (guint i = 0; i < samples_ms->len; i++)
    sum += g_array_index (samples_ms, double, i);
  g_print ("%-44s n=%-5u mean %8.3f  p50 %8.3f  p95 %8.3f  p99 %8.3f  max %8.3f ms\n",
           name, samples_ms->len, samples_ms->len ? sum / samples_ms->len : 0,
           bench_percentile (samples_ms, 50), bench_percentile (samples_ms, 95),
           bench_percentile (samples_ms, 99), bench_percentile (samples_ms, 100));
}

void
bench_memory_mb (double *out_hwm,
                 double *out_rss)
{
  g_autofree char *status = NULL;
  const char *line;
  long kb;

  *out_hwm = *out_rss = 0;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return;
  if ((line = strstr (status, "VmHWM:")) != NULL && sscanf (line + 6, "%ld", &kb) == 1)
    *out_hwm = kb / 1024.0;
  if ((line = strstr (status, "VmRSS:")) != NULL && sscanf (line + 6, "%ld", &kb) == 1)
    *out_rss = kb / 1024.0;
}
