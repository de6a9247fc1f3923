/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-demo.c — the seed system's demo data: 3 companies, 5 clinics with their staff,
 * clients, pets and five weeks of appointments, and demo users, written into a store. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <sodium.h>
#include <string.h>

#include "vds-demo.h"

#include "vd-protocol.h"
#include "vd-time.h"

/* The demo's rows come from this device, as if a desk had typed them in. */
#define DEMO_SITE      "5e3d0c1a-7d2b-4c7e-9a61-0de30de30de3"
#define DEMO_SEED      20240601u
#define DAYS_BACK      21
#define DAYS_AHEAD     14

/* ---------------------------------------------------------------------------------- */
/* The fixed part: companies, clinics and the word lists the rows are drawn from */

typedef enum
{
  ROLE_VET,
  ROLE_TECH,
  ROLE_GROOMER,
  ROLE_FRONT,
  ROLE_MANAGER,
  N_ROLES
} Role;

static const char * const role_names[N_ROLES] = {
  "veterinarian", "technician", "groomer", "front_desk", "manager",
};

typedef enum
{
  KIND_CONSULTATION,
  KIND_VACCINATION,
  KIND_SURGERY,
  KIND_GROOMING,
  KIND_DENTAL,
  KIND_FOLLOW_UP,
  KIND_OTHER,
  N_KINDS
} Kind;

static const char * const kind_names[N_KINDS] = {
  "consultation", "vaccination", "surgery", "grooming", "dental", "follow_up", "other",
};

typedef enum
{
  SPECIES_DOG,
  SPECIES_CAT,
  SPECIES_RABBIT,
  SPECIES_BIRD,
  SPECIES_RODENT,
  SPECIES_REPTILE,
  N_SPECIES
} Species;

static const char * const species_names[N_SPECIES] = {
  "dog", "cat", "rabbit", "bird", "rodent", "reptile",
};

typedef enum
{
  CITY_MADRID_NORTE,
  CITY_MADRID_CENTRO,
  CITY_BARCELONA,
  CITY_VALENCIA,
  CITY_CDMX,
} City;

typedef struct
{
  const char *name;
  const char *admin_username;
  const char *admin_name;
} DemoCompany;

static const DemoCompany companies[] = {
  { "Grupo Veterinario Norte", "gerencia.gruponorte", "Ignacio Salvador Rey" },
  { "Pet Spa Group", "gerencia.petspa", "Montserrat Puig Ferrer" },
  { "VetGroom S.L.", "gerencia.vetgroom", "Álvaro Benítez Carmona" },
};

typedef struct
{
  const char *slug;
  const char *name;
  guint       company;
  const char *timezone;
  const char *currency;
  City        city;
  const char *domain;        /* staff email addresses */
  const char *user_suffix;   /* recepcion.<suffix>, admin.<suffix> */
  guint       n_clients;
  guint       n_pets;
  guint       n_appointments;
  guint       staff[N_ROLES];
  guint       kind_weight[N_KINDS];
  guint       dog_percent;
  guint       cat_percent;   /* the rest are rabbits, birds, rodents and reptiles */
  guint       n_double;      /* double bookings made on purpose */
  gboolean    vet_user;      /* gets the demo veterinarian user */
} DemoClinic;

/* Counts from the seed system's report (ARCHITECTURE §1): they must stay exact. */
static const DemoClinic clinics[] = {
  { "hospital-norte", "Hospital Veterinario Norte", 0, "Europe/Madrid", "EUR",
    CITY_MADRID_NORTE, "hvnorte.es", "norte", 16, 24, 356,
    { 6, 4, 0, 3, 1 }, { 40, 20, 8, 0, 6, 20, 6 }, 55, 35, 3, TRUE },
  { "pet-spa-deluxe", "Pet Spa Deluxe", 1, "Europe/Madrid", "EUR",
    CITY_BARCELONA, "petspadeluxe.es", "petspa", 26, 55, 351,
    { 3, 2, 6, 2, 1 }, { 14, 12, 0, 62, 4, 6, 2 }, 80, 18, 2, FALSE },
  { "clinica-centro", "Clínica Veterinaria Centro", 0, "Europe/Madrid", "EUR",
    CITY_MADRID_CENTRO, "cvcentro.es", "centro", 16, 24, 351,
    { 6, 4, 0, 3, 1 }, { 42, 20, 7, 0, 5, 20, 6 }, 50, 38, 3, FALSE },
  { "vetgroom1", "Vetgroom1", 2, "Europe/Madrid", "EUR",
    CITY_VALENCIA, "vetgroom.es", "vetgroom1", 108, 216, 129,
    { 1, 1, 3, 1, 1 }, { 10, 10, 0, 75, 0, 5, 0 }, 85, 15, 2, FALSE },
  { "vetgroom-central", "VetGroom Central", 2, "America/Mexico_City", "MXN",
    CITY_CDMX, "vetgroom.mx", "central", 10, 12, 8,
    { 1, 0, 1, 1, 1 }, { 20, 15, 0, 65, 0, 0, 0 }, 80, 20, 0, FALSE },
};

static const char * const es_male[] = {
  "Antonio", "José", "Manuel", "Francisco", "David", "Juan", "Javier", "Daniel", "Carlos",
  "Jesús", "Alejandro", "Miguel", "Rafael", "Pablo", "Sergio", "Fernando", "Jorge", "Luis",
  "Alberto", "Álvaro", "Adrián", "Diego", "Raúl", "Enrique", "Ramón", "Andrés", "Iván",
  "Rubén", "Óscar", "Víctor", "Mario", "Hugo", "Marcos", "Gonzalo", "Íñigo", "José Luis",
  "Juan Carlos", "Jordi", "Xavier", "Vicente",
};

static const char * const es_female[] = {
  "María", "Carmen", "Ana", "Isabel", "Laura", "Cristina", "Marta", "Lucía", "Elena",
  "Paula", "Sara", "Raquel", "Pilar", "Rocío", "Beatriz", "Patricia", "Silvia", "Nuria",
  "Irene", "Alicia", "Andrea", "Julia", "Claudia", "Sofía", "Marina", "Inés", "Noelia",
  "Alba", "Natalia", "Montserrat", "Begoña", "Lorena", "Esther", "Rosa", "Teresa",
  "María José", "Ana Belén", "Núria", "Amparo", "Vicenta",
};

static const char * const es_surnames[] = {
  "García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez",
  "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
  "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos",
  "Gil", "Ramírez", "Serrano", "Blanco", "Molina", "Morales", "Suárez", "Ortega",
  "Delgado", "Castro", "Ortiz", "Rubio", "Marín", "Sanz", "Núñez", "Iglesias", "Medina",
  "Garrido", "Cortés", "Castillo", "Santos", "Lozano", "Guerrero", "Cano", "Prieto",
  "Méndez", "Cruz", "Calvo", "Gallego", "Vidal", "León", "Márquez", "Herrera", "Peña",
  "Flores", "Cabrera", "Campos", "Vega", "Fuentes", "Carrasco", "Diez", "Caballero",
  "Reyes", "Nieto", "Aguilar", "Pascual", "Herrero", "Lorenzo", "Montero", "Hidalgo",
  "Giménez", "Ibáñez", "Ferrer", "Durán", "Benítez", "Mora", "Vicente", "Vargas", "Arias",
  "Carmona", "Crespo", "Román", "Pastor", "Soto", "Sáez", "Velasco", "Soler", "Parra",
  "Esteban", "Bravo", "Gallardo", "Rojas", "Puig", "Vila", "Martí",
};

static const char * const mx_male[] = {
  "José Luis", "Juan Carlos", "Jesús", "Miguel Ángel", "Alejandro", "Luis", "Fernando",
  "Eduardo", "Arturo", "Ricardo", "Jorge", "Rodrigo", "Emiliano", "Santiago", "Diego",
  "Sergio", "Raúl", "Héctor", "Francisco Javier", "Gerardo",
};

static const char * const mx_female[] = {
  "Guadalupe", "María Fernanda", "Ximena", "Valeria", "Daniela", "Alejandra", "Mariana",
  "Andrea", "Gabriela", "Verónica", "Adriana", "Claudia", "Leticia", "Sofía", "Regina",
  "Paola", "Karla", "Rosa María", "Itzel", "Araceli",
};

static const char * const mx_surnames[] = {
  "Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez",
  "Ramírez", "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez",
  "Torres", "Díaz", "Gutiérrez", "Ruiz", "Mendoza", "Aguilar", "Ortiz", "Moreno",
  "Castillo", "Romero", "Álvarez", "Méndez", "Chávez", "Rivera", "Juárez", "Ramos",
  "Domínguez", "Herrera", "Medina", "Castro", "Vargas", "Guzmán", "Velázquez", "Rojas",
};

static const char * const es_mail_domains[] = {
  "gmail.com", "hotmail.com", "yahoo.es", "outlook.es", "icloud.com", "telefonica.net",
};

static const char * const mx_mail_domains[] = {
  "gmail.com", "hotmail.com", "outlook.com", "yahoo.com.mx", "prodigy.net.mx",
};

static const char * const madrid_norte_streets[] = {
  "Calle de Bravo Murillo", "Paseo de la Castellana", "Calle de Sinesio Delgado",
  "Avenida de Monforte de Lemos", "Calle de Ginzo de Limia", "Calle de Francos Rodríguez",
  "Avenida de Asturias", "Calle de Orense", "Calle del Capitán Haya",
  "Calle de la Infanta Mercedes",
};
static const char * const madrid_norte_postcodes[] = {
  "28020", "28029", "28034", "28039", "28046",
};

static const char * const madrid_centro_streets[] = {
  "Calle de Atocha", "Calle de Toledo", "Calle de Embajadores", "Calle de Fuencarral",
  "Calle de Hortaleza", "Calle del Príncipe", "Calle de la Montera", "Calle de Segovia",
  "Calle Mayor", "Calle de Lavapiés",
};
static const char * const madrid_centro_postcodes[] = {
  "28004", "28005", "28012", "28013", "28014",
};

static const char * const barcelona_streets[] = {
  "Carrer de Balmes", "Carrer d'Aragó", "Passeig de Gràcia", "Carrer de Muntaner",
  "Avinguda Diagonal", "Carrer de Mallorca", "Carrer de València",
  "Carrer del Consell de Cent", "Carrer de Provença", "Carrer de Sants",
};
static const char * const barcelona_postcodes[] = {
  "08006", "08007", "08008", "08011", "08021", "08036", "08037",
};

static const char * const valencia_streets[] = {
  "Calle de Colón", "Avenida del Puerto", "Calle de Cirilo Amorós",
  "Gran Vía Marqués del Turia", "Calle de Sueca", "Avenida de Blasco Ibáñez",
  "Calle de Cuba", "Calle de Císcar", "Avenida de Aragón", "Calle de Jesús",
};
static const char * const valencia_postcodes[] = {
  "46001", "46004", "46005", "46006", "46010", "46021", "46023",
};

static const char * const cdmx_streets[] = {
  "Av. Insurgentes Sur", "Calle Durango", "Av. Álvaro Obregón", "Calle Ámsterdam",
  "Av. División del Norte", "Calle Tonalá", "Av. Coyoacán", "Calle Orizaba",
  "Av. Cuauhtémoc", "Calle Río Lerma",
};
/* Colonia and its postcode, which go together in Mexico City. */
static const char * const cdmx_colonias[][2] = {
  { "Col. Roma Norte", "06700" }, { "Col. Condesa", "06140" }, { "Col. Del Valle", "03100" },
  { "Col. Narvarte", "03020" }, { "Col. Juárez", "06600" }, { "Col. Cuauhtémoc", "06500" },
};

typedef struct
{
  Species     species;
  const char *breed;
  guint       min_g;
  guint       max_g;
  gboolean    large;   /* a longer grooming slot */
} Breed;

static const Breed breeds[] = {
  { SPECIES_DOG, "Labrador Retriever", 25000, 36000, TRUE },
  { SPECIES_DOG, "Golden Retriever", 25000, 34000, TRUE },
  { SPECIES_DOG, "Pastor Alemán", 28000, 40000, TRUE },
  { SPECIES_DOG, "Yorkshire Terrier", 2000, 3500, FALSE },
  { SPECIES_DOG, "Caniche", 3000, 8000, FALSE },
  { SPECIES_DOG, "Bulldog Francés", 8000, 14000, FALSE },
  { SPECIES_DOG, "Chihuahua", 1500, 3000, FALSE },
  { SPECIES_DOG, "Beagle", 9000, 14000, FALSE },
  { SPECIES_DOG, "Border Collie", 14000, 22000, TRUE },
  { SPECIES_DOG, "Shih Tzu", 4500, 8000, FALSE },
  { SPECIES_DOG, "Mestizo", 6000, 28000, FALSE },
  { SPECIES_DOG, "Mestizo", 5000, 20000, FALSE },
  { SPECIES_DOG, "Galgo Español", 22000, 30000, TRUE },
  { SPECIES_DOG, "Podenco", 15000, 25000, TRUE },
  { SPECIES_DOG, "Schnauzer Miniatura", 5000, 9000, FALSE },
  { SPECIES_DOG, "Bichón Maltés", 2500, 4500, FALSE },
  { SPECIES_DOG, "Cocker Spaniel", 12000, 15000, FALSE },
  { SPECIES_DOG, "Teckel", 6000, 9000, FALSE },
  { SPECIES_DOG, "Pomerania", 1800, 3500, FALSE },
  { SPECIES_DOG, "Samoyedo", 18000, 30000, TRUE },
  { SPECIES_CAT, "Europeo Común", 3500, 6000, FALSE },
  { SPECIES_CAT, "Europeo Común", 3000, 5500, FALSE },
  { SPECIES_CAT, "Siamés", 3000, 5000, FALSE },
  { SPECIES_CAT, "Persa", 3500, 5500, FALSE },
  { SPECIES_CAT, "Maine Coon", 5500, 9000, TRUE },
  { SPECIES_CAT, "British Shorthair", 4000, 7000, FALSE },
  { SPECIES_CAT, "Ragdoll", 4500, 8000, FALSE },
  { SPECIES_CAT, "Bengalí", 3500, 6500, FALSE },
  { SPECIES_RABBIT, "Belier", 1500, 2500, FALSE },
  { SPECIES_RABBIT, "Cabeza de León", 1200, 1800, FALSE },
  { SPECIES_BIRD, "Periquito", 30, 45, FALSE },
  { SPECIES_BIRD, "Agapornis", 40, 60, FALSE },
  { SPECIES_BIRD, "Ninfa", 80, 110, FALSE },
  { SPECIES_RODENT, "Cobaya", 700, 1200, FALSE },
  { SPECIES_RODENT, "Hámster sirio", 100, 180, FALSE },
  { SPECIES_RODENT, "Chinchilla", 400, 700, FALSE },
  { SPECIES_REPTILE, "Gecko leopardo", 50, 90, FALSE },
  { SPECIES_REPTILE, "Tortuga mediterránea", 600, 1500, FALSE },
};

static const char * const male_pet_names[] = {
  "Max", "Coco", "Rocky", "Toby", "Simba", "Bruno", "Thor", "Zeus", "Milo", "Leo", "Paco",
  "Rufo", "Oreo", "Lucas", "Café", "Chocolate", "Golfo", "Jack", "Tango", "Boby", "Enzo",
  "Hachi", "Neo", "Otto", "Rayo", "Sultán", "Wally", "Pancho", "Tobías", "Yako",
};

static const char * const female_pet_names[] = {
  "Luna", "Kira", "Nala", "Lola", "Mía", "Chispa", "Canela", "Trufa", "Bimba", "Nina",
  "Duna", "Kiara", "Olivia", "Sombra", "Pelusa", "Arya", "Bella", "Frida", "Nube", "Pipa",
  "Yoko", "Chloe", "Dana", "Gala", "India", "Lúa", "Perla", "Tita", "Vera", "Zoe",
};

static const char * const small_pet_names[] = {
  "Kiwi", "Pipo", "Bolita", "Copito", "Pistacho", "Galleta", "Nemo", "Rulo", "Sol",
  "Piolín", "Tambor", "Fideo", "Mango", "Lenteja", "Manolita",
};

static const char * const dog_colors[] = {
  "Negro", "Marrón", "Dorado", "Blanco", "Tricolor", "Atigrado", "Negro y fuego", "Crema",
  "Gris", "Blanco y negro", "Canela",
};
static const char * const cat_colors[] = {
  "Atigrado", "Negro", "Blanco", "Carey", "Naranja", "Gris azulado", "Calicó",
  "Blanco y negro",
};
static const char * const small_colors[] = {
  "Blanco", "Gris", "Marrón", "Verde", "Amarillo", "Canela", "Moteado", "Blanco y marrón",
};

static const char * const allergies[] = {
  "Pollo", "Penicilina", "Dermatitis alérgica a la picadura de pulga", "Cereales en el pienso",
  "Ácaros del polvo", "Polen de gramíneas", "Ternera", "Metamizol",
};

static const char * const pet_notes[] = {
  "Muy nervioso en la consulta, usar bozal.", "Muerde al cortar las uñas.",
  "Dieta renal de por vida.", "En tratamiento para la leishmaniosis.",
  "Cardiópata: evitar sedación sin control previo.", "Sordo, acercarse de frente.",
  "Se asusta con el secador.", "Adoptado en protectora.",
};

static const char * const client_notes[] = {
  "Prefiere que le llamen por la tarde.", "Avisar por WhatsApp antes de las citas.",
  "Cliente desde 2015.", "Paga siempre con tarjeta.", "Tiene descuento de protectora.",
  "Pide factura a nombre de la empresa.",
};

static const char * const staff_colors[] = {
  "#1c71d8", "#2ec27e", "#e5a50a", "#c01c28", "#9141ac", "#e66100", "#3584e4", "#26a269",
  "#986a44", "#f66151", "#613583", "#33d17a", "#1a5fb4", "#a51d2d", "#63452c", "#5e5c64",
};

static const char * const reasons_consultation[] = {
  "Vómitos desde ayer", "Cojera de la pata trasera", "Picor y rascado constante",
  "Revisión anual", "Diarrea", "Tos seca", "Pérdida de apetito", "Otitis", "Bulto en el costado",
  "Se lame mucho una pata", "Ojo rojo y lagrimeo", "Bebe y orina más de lo normal",
};
static const char * const reasons_vaccination_dog[] = {
  "Vacuna antirrábica", "Vacuna polivalente", "Vacuna de la leishmaniosis", "Refuerzo anual",
  "Primera vacuna de cachorro",
};
static const char * const reasons_vaccination_cat[] = {
  "Trivalente felina", "Vacuna de la leucemia felina", "Vacuna antirrábica", "Refuerzo anual",
};
static const char * const reasons_vaccination_rabbit[] = {
  "Mixomatosis y enfermedad hemorrágica vírica",
};
static const char * const reasons_surgery[] = {
  "Castración", "Esterilización", "Extirpación de nódulo cutáneo",
  "Sutura de herida con sedación", "Extracción de cuerpo extraño",
};
static const char * const reasons_grooming[] = {
  "Baño y corte", "Baño y cepillado", "Corte de uñas y limpieza de oídos", "Deslanado",
  "Corte de raza", "Baño antiparasitario",
};
static const char * const reasons_dental[] = {
  "Limpieza dental", "Extracción de pieza dental", "Revisión de sarro y encías",
};
static const char * const reasons_follow_up[] = {
  "Revisión postoperatoria", "Control de peso", "Retirada de puntos",
  "Control del tratamiento", "Revisión de analítica",
};
static const char * const reasons_other[] = {
  "Certificado de viaje", "Implantación de microchip", "Pasaporte europeo",
  "Consulta de comportamiento",
};

/* Opening hours in the clinic's own time zone: Monday–Friday 09:00–20:00, Saturday
 * 10:00–14:00, closed on Sunday. */
static gboolean
opening_hours (GDateWeekday  weekday,
               int          *out_open,
               int          *out_close)
{
  if (weekday == G_DATE_SUNDAY)
    return FALSE;
  if (weekday == G_DATE_SATURDAY)
    {
      *out_open = 10;
      *out_close = 14;
      return TRUE;
    }
  *out_open = 9;
  *out_close = 20;
  return TRUE;
}

/* ---------------------------------------------------------------------------------- */
/* Generating one clinic in memory */

typedef struct
{
  char  id[VD_UUID_LEN + 1];
  Role  role;
  char *name;
  guint role_index;   /* the n-th vet, groomer… (rooms) */
} Staff;

typedef struct
{
  char        id[VD_UUID_LEN + 1];
  guint       client;
  Species     species;
  const Breed *breed;
  const char *name;
} Pet;

typedef struct
{
  guint       staff;
  guint       pet;
  Kind        kind;
  gint64      start;
  gint64      end;
  const char *status;
  gboolean    double_booked;   /* the second of an intentional pair */
} Appointment;

typedef struct
{
  gint64 start;
  gint64 close;
} Slot;

typedef struct
{
  const DemoClinic *info;
  GTimeZone        *zone;
  GRand            *rand;
  GDate             today;
  gint64            now;
  VdHlc            *hlc;          /* the next hlc to hand out, shared by all clinics */
  GPtrArray        *changes;      /* of VdChange, in dependency order */
  Staff            *staff;
  guint             n_staff;
  Pet              *pets;
  GArray           *appointments; /* of Appointment */
  GHashTable       *used_names;
} Clinic;

static void
clinic_free (Clinic *clinic)
{
  for (guint i = 0; i < clinic->n_staff; i++)
    g_free (clinic->staff[i].name);
  g_free (clinic->staff);
  g_free (clinic->pets);
  g_clear_pointer (&clinic->appointments, g_array_unref);
  g_clear_pointer (&clinic->changes, g_ptr_array_unref);
  g_clear_pointer (&clinic->used_names, g_hash_table_unref);
  g_clear_pointer (&clinic->rand, g_rand_free);
  g_clear_pointer (&clinic->zone, g_time_zone_unref);
  g_free (clinic);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Clinic, clinic_free)

#define PICK(rand, array) ((array)[g_rand_int_range ((rand), 0, G_N_ELEMENTS (array))])

static gboolean
chance (GRand *rand,
        guint  percent)
{
  return (guint) g_rand_int_range (rand, 0, 100) < percent;
}

/* A row id from a hash of the clinic, the table and the row's number, so every load
 * makes the same ids. Marked as a version 8 (custom) uuid. */
static void
demo_uuid (const char *slug,
           const char *table,
           guint       n,
           char        out[VD_UUID_LEN + 1])
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *key = g_strdup_printf ("vetdesk-demo/%s/%s/%u", slug, table, n);
  guint8 digest[32];
  gsize len = sizeof digest;

  g_checksum_update (sum, (const guchar *) key, -1);
  g_checksum_get_digest (sum, digest, &len);
  digest[6] = (digest[6] & 0x0f) | 0x80;
  digest[8] = (digest[8] & 0x3f) | 0x80;
  vd_uuid_from_bytes (digest, out);
}

/* "Íñigo José" → "inigojose": the part of an email address made from a name. */
static char *
mail_part (const char *name)
{
  g_autofree char *ascii = g_str_to_ascii (name, "C");
  GString *out = g_string_new (NULL);

  for (const char *p = ascii; *p != '\0'; p++)
    if (g_ascii_isalnum (*p))
      g_string_append_c (out, g_ascii_tolower (*p));

  return g_string_free (out, FALSE);
}

static gboolean
is_mexico (const Clinic *clinic)
{
  return clinic->info->city == CITY_CDMX;
}

/* A person's first name and two surnames, unique within the clinic. */
static void
person_name (Clinic      *clinic,
             gboolean     female,
             const char **out_first,
             char       **out_last)
{
  for (;;)
    {
      const char *first;
      const char *s1;
      const char *s2;
      char *full;

      if (is_mexico (clinic))
        {
          first = female ? PICK (clinic->rand, mx_female) : PICK (clinic->rand, mx_male);
          s1 = PICK (clinic->rand, mx_surnames);
          s2 = PICK (clinic->rand, mx_surnames);
        }
      else
        {
          first = female ? PICK (clinic->rand, es_female) : PICK (clinic->rand, es_male);
          s1 = PICK (clinic->rand, es_surnames);
          s2 = PICK (clinic->rand, es_surnames);
        }
      if (s1 == s2)
        continue;

      full = g_strdup_printf ("%s %s %s", first, s1, s2);
      if (g_hash_table_contains (clinic->used_names, full))
        {
          g_free (full);
          continue;
        }
      g_hash_table_add (clinic->used_names, full);
      *out_first = first;
      *out_last = g_strdup_printf ("%s %s", s1, s2);
      return;
    }
}

static char *
phone_number (Clinic *clinic)
{
  if (is_mexico (clinic))
    return g_strdup_printf ("+52 55 %04d %04d",
                            g_rand_int_range (clinic->rand, 1000, 10000),
                            g_rand_int_range (clinic->rand, 0, 10000));

  return g_strdup_printf ("+34 %d%02d %03d %03d",
                          chance (clinic->rand, 80) ? 6 : 7,
                          g_rand_int_range (clinic->rand, 0, 100),
                          g_rand_int_range (clinic->rand, 0, 1000),
                          g_rand_int_range (clinic->rand, 0, 1000));
}

static char *
postal_address (Clinic *clinic)
{
  GRand *rand = clinic->rand;
  guint number = g_rand_int_range (rand, 1, 180);
  const char *street;
  const char *postcode;
  const char *city;
  char door[32];

  switch (clinic->info->city)
    {
    case CITY_CDMX:
      {
        guint colonia = g_rand_int_range (rand, 0, G_N_ELEMENTS (cdmx_colonias));

        return g_strdup_printf ("%s %u, int. %d, %s, %s Ciudad de México, CDMX",
                                PICK (rand, cdmx_streets), number,
                                g_rand_int_range (rand, 1, 40),
                                cdmx_colonias[colonia][0], cdmx_colonias[colonia][1]);
      }
    case CITY_MADRID_NORTE:
      street = PICK (rand, madrid_norte_streets);
      postcode = PICK (rand, madrid_norte_postcodes);
      city = "Madrid";
      break;
    case CITY_MADRID_CENTRO:
      street = PICK (rand, madrid_centro_streets);
      postcode = PICK (rand, madrid_centro_postcodes);
      city = "Madrid";
      break;
    case CITY_BARCELONA:
      street = PICK (rand, barcelona_streets);
      postcode = PICK (rand, barcelona_postcodes);
      city = "Barcelona";
      break;
    case CITY_VALENCIA:
    default:
      street = PICK (rand, valencia_streets);
      postcode = PICK (rand, valencia_postcodes);
      city = "Valencia";
      break;
    }

  if (chance (rand, 15))
    g_strlcpy (door, "bajo", sizeof door);
  else
    g_snprintf (door, sizeof door, "%dº %c", g_rand_int_range (rand, 1, 9),
                "ABCD"[g_rand_int_range (rand, 0, 4)]);

  return g_strdup_printf ("%s %u, %s, %s %s", street, number, door, postcode, city);
}

/* ---- building changes ---- */

static VdChange *
new_change (Clinic     *clinic,
            const char *table_name,
            const char *id)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  VdChange *change;

  g_assert (table != NULL);
  change = vd_change_new (table, id, *clinic->hlc, DEMO_SITE);
  *clinic->hlc += 1;
  g_ptr_array_add (clinic->changes, change);

  return change;
}

static const VdColumn *
column_of (VdChange   *change,
           const char *name)
{
  const VdColumn *column = vd_table_lookup_column (change->table, name);

  g_assert (column != NULL);
  return column;
}

/* NULL text leaves the cell unwritten (null). */
static void
set_text (VdChange   *change,
          const char *name,
          const char *text)
{
  VdValue value = { 0 };

  if (text == NULL)
    return;
  vd_value_set_text (&value, text);
  vd_change_take_cell (change, column_of (change, name), &value);
}

static void
set_bool (VdChange   *change,
          const char *name,
          gboolean    b)
{
  VdValue value = { 0 };

  vd_value_set_bool (&value, b);
  vd_change_take_cell (change, column_of (change, name), &value);
}

static void
set_real (VdChange   *change,
          const char *name,
          double      r)
{
  VdValue value = { 0 };

  vd_value_set_real (&value, r);
  vd_change_take_cell (change, column_of (change, name), &value);
}

static void
set_time (VdChange   *change,
          const char *name,
          gint64      unix_time)
{
  VdValue value = { 0 };

  vd_value_take_text (&value, vd_time_dup_utc (unix_time));
  vd_change_take_cell (change, column_of (change, name), &value);
}

static void
make_staff (Clinic *clinic)
{
  const DemoClinic *info = clinic->info;
  g_autoptr(GHashTable) emails = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n = 0;

  for (guint r = 0; r < N_ROLES; r++)
    clinic->n_staff += info->staff[r];
  g_assert (clinic->n_staff <= G_N_ELEMENTS (staff_colors));
  clinic->staff = g_new0 (Staff, clinic->n_staff);

  for (guint r = 0; r < N_ROLES; r++)
    for (guint k = 0; k < info->staff[r]; k++, n++)
      {
        Staff *staff = &clinic->staff[n];
        /* Groomers and front desks skew female, as in the seed's clinics. */
        gboolean female = chance (clinic->rand, (r == ROLE_GROOMER || r == ROLE_FRONT) ? 75 : 60);
        const char *first;
        g_autofree char *last = NULL;
        g_autofree char *first_part = NULL;
        g_autofree char *last_part = NULL;
        g_autofree char *email = NULL;
        g_autofree char *phone = NULL;
        char **surnames;
        VdChange *change;

        person_name (clinic, female, &first, &last);
        surnames = g_strsplit (last, " ", 2);
        first_part = mail_part (first);
        last_part = mail_part (surnames[0]);
        g_strfreev (surnames);
        email = g_strdup_printf ("%s.%s@%s", first_part, last_part, info->domain);
        for (guint i = 2; g_hash_table_contains (emails, email); i++)
          {
            g_free (email);
            email = g_strdup_printf ("%s.%s%u@%s", first_part, last_part, i, info->domain);
          }
        g_hash_table_add (emails, g_strdup (email));
        phone = phone_number (clinic);

        demo_uuid (info->slug, "staff", n, staff->id);
        staff->role = r;
        staff->role_index = k;
        staff->name = g_strdup_printf ("%s %s", first, last);

        change = new_change (clinic, "staff", staff->id);
        set_text (change, "name", staff->name);
        set_text (change, "role", role_names[r]);
        set_text (change, "email", email);
        set_text (change, "phone", phone);
        set_text (change, "color", staff_colors[n]);
        set_bool (change, "active", TRUE);
        set_bool (change, "deleted", FALSE);
      }
}

static void
make_clients (Clinic *clinic)
{
  const DemoClinic *info = clinic->info;

  for (guint n = 0; n < info->n_clients; n++)
    {
      char id[VD_UUID_LEN + 1];
      const char *first;
      g_autofree char *last = NULL;
      g_autofree char *email = NULL;
      g_autofree char *phone = NULL;
      g_autofree char *address = NULL;
      VdChange *change;

      person_name (clinic, chance (clinic->rand, 55), &first, &last);
      phone = phone_number (clinic);
      if (!chance (clinic->rand, 12))
        {
          g_autofree char *first_part = mail_part (first);
          char **surnames = g_strsplit (last, " ", 2);
          g_autofree char *last_part = mail_part (surnames[0]);
          const char *domain = is_mexico (clinic) ? PICK (clinic->rand, mx_mail_domains)
                                                  : PICK (clinic->rand, es_mail_domains);

          g_strfreev (surnames);
          if (chance (clinic->rand, 40))
            email = g_strdup_printf ("%s.%s%d@%s", first_part, last_part,
                                     g_rand_int_range (clinic->rand, 1, 99), domain);
          else
            email = g_strdup_printf ("%s.%s@%s", first_part, last_part, domain);
        }
      if (!chance (clinic->rand, 8))
        address = postal_address (clinic);

      demo_uuid (info->slug, "clients", n, id);
      change = new_change (clinic, "clients", id);
      set_text (change, "first_name", first);
      set_text (change, "last_name", last);
      set_text (change, "email", email);
      set_text (change, "phone", phone);
      set_text (change, "address", address);
      if (chance (clinic->rand, 10))
        set_text (change, "notes", PICK (clinic->rand, client_notes));
      set_bool (change, "deleted", FALSE);
    }
}

static const Breed *
pick_breed (GRand   *rand,
            Species  species)
{
  guint matches = 0;
  guint which;

  for (guint i = 0; i < G_N_ELEMENTS (breeds); i++)
    if (breeds[i].species == species)
      matches++;
  g_assert (matches > 0);

  which = g_rand_int_range (rand, 0, matches);
  for (guint i = 0; i < G_N_ELEMENTS (breeds); i++)
    if (breeds[i].species == species && which-- == 0)
      return &breeds[i];

  g_assert_not_reached ();
}

static Species
pick_species (Clinic *clinic)
{
  guint roll = g_rand_int_range (clinic->rand, 0, 100);
  static const Species others[] = {
    SPECIES_RABBIT, SPECIES_RABBIT, SPECIES_BIRD, SPECIES_RODENT, SPECIES_RODENT,
    SPECIES_REPTILE,
  };

  if (roll < clinic->info->dog_percent)
    return SPECIES_DOG;
  if (roll < clinic->info->dog_percent + clinic->info->cat_percent)
    return SPECIES_CAT;
  return PICK (clinic->rand, others);
}

static gboolean
name_taken (Clinic *clinic,
            guint   n)
{
  for (guint i = 0; i < n; i++)
    if (clinic->pets[i].client == clinic->pets[n].client &&
        g_str_equal (clinic->pets[i].name, clinic->pets[n].name))
      return TRUE;
  return FALSE;
}

static void
make_pets (Clinic *clinic)
{
  const DemoClinic *info = clinic->info;
  GRand *rand = clinic->rand;

  clinic->pets = g_new0 (Pet, info->n_pets);

  for (guint n = 0; n < info->n_pets; n++)
    {
      Pet *pet = &clinic->pets[n];
      gboolean dog_or_cat;
      gboolean small;
      guint max_age_days;
      guint grams;
      const char *sex;
      GDate birth;
      char birth_text[11];
      char client_id[VD_UUID_LEN + 1];
      VdChange *change;

      /* Every client has a pet; the rest go to clients at random. */
      pet->client = n < info->n_clients ? n : (guint) g_rand_int_range (rand, 0, info->n_clients);
      pet->species = pick_species (clinic);
      pet->breed = pick_breed (rand, pet->species);
      dog_or_cat = pet->species == SPECIES_DOG || pet->species == SPECIES_CAT;
      small = pet->species == SPECIES_BIRD || pet->species == SPECIES_RODENT ||
              pet->species == SPECIES_REPTILE;

      max_age_days = dog_or_cat ? 16 * 365 : pet->species == SPECIES_REPTILE ? 20 * 365
                                                                                : 6 * 365;
      birth = clinic->today;
      g_date_subtract_days (&birth, g_rand_int_range (rand, 100, max_age_days));
      vd_date_format (g_date_get_year (&birth), g_date_get_month (&birth),
                      g_date_get_day (&birth), birth_text);
      grams = g_rand_int_range (rand, pet->breed->min_g, pet->breed->max_g + 1);

      demo_uuid (info->slug, "pets", n, pet->id);
      demo_uuid (info->slug, "clients", pet->client, client_id);
      change = new_change (clinic, "pets", pet->id);
      set_text (change, "client_id", client_id);
      /* Birds are often not sexed; names follow the sex like owners choose them. */
      sex = pet->species == SPECIES_BIRD && chance (rand, 50) ? "unknown"
            : chance (rand, 50) ? "male" : "female";
      /* Two pets of one home do not share a name. */
      do
        pet->name = small || pet->species == SPECIES_RABBIT ? PICK (rand, small_pet_names)
                    : g_str_equal (sex, "male") ? PICK (rand, male_pet_names)
                    : PICK (rand, female_pet_names);
      while (name_taken (clinic, n));
      set_text (change, "name", pet->name);
      set_text (change, "species", species_names[pet->species]);
      set_text (change, "breed", pet->breed->breed);
      set_text (change, "sex", sex);
      set_bool (change, "neutered", dog_or_cat && chance (rand, 55));
      set_text (change, "birth_date", birth_text);
      /* Grams to kilograms with the precision a scale of that size shows. */
      set_real (change, "weight_kg", grams < 1000 ? grams / 1000.0
                                                  : (double) ((grams + 50) / 100) / 10.0);
      if ((pet->species == SPECIES_DOG && chance (rand, 95)) ||
          (pet->species == SPECIES_CAT && chance (rand, 60)) ||
          (pet->species == SPECIES_RABBIT && chance (rand, 20)))
        {
          g_autofree char *chip = g_strdup_printf ("%s%06d%06d", is_mexico (clinic) ? "484" : "724",
                                                   g_rand_int_range (rand, 0, 1000000),
                                                   g_rand_int_range (rand, 0, 1000000));
          set_text (change, "microchip", chip);
        }
      set_text (change, "color", pet->species == SPECIES_DOG ? PICK (rand, dog_colors)
                                 : pet->species == SPECIES_CAT ? PICK (rand, cat_colors)
                                 : PICK (rand, small_colors));
      if (chance (rand, 10))
        set_text (change, "allergies", PICK (rand, allergies));
      if (dog_or_cat && chance (rand, 15))
        set_text (change, "notes", PICK (rand, pet_notes));
      set_bool (change, "deceased", FALSE);
      set_bool (change, "deleted", FALSE);
    }
}

/* ---- appointments ---- */

static guint
kind_minutes (Kind        kind,
              const Pet  *pet)
{
  switch (kind)
    {
    case KIND_CONSULTATION: return 30;
    case KIND_VACCINATION:  return 15;
    case KIND_SURGERY:      return 60;
    case KIND_GROOMING:     return pet->breed->large ? 60 : 45;
    case KIND_DENTAL:       return 45;
    case KIND_FOLLOW_UP:    return 15;
    case KIND_OTHER:        return 30;
    case N_KINDS:
    default:
      g_assert_not_reached ();
    }
}

static gboolean
staff_suits (const Staff *staff,
             Kind         kind)
{
  switch (kind)
    {
    case KIND_GROOMING:
      return staff->role == ROLE_GROOMER;
    case KIND_VACCINATION:
    case KIND_OTHER:
      return staff->role == ROLE_VET || staff->role == ROLE_TECH;
    case KIND_CONSULTATION:
    case KIND_SURGERY:
    case KIND_DENTAL:
    case KIND_FOLLOW_UP:
      return staff->role == ROLE_VET;
    case N_KINDS:
    default:
      g_assert_not_reached ();
    }
}

static gboolean
pet_suits (const Pet *pet,
           Kind       kind)
{
  switch (kind)
    {
    case KIND_GROOMING:
    case KIND_DENTAL:
      return pet->species == SPECIES_DOG || pet->species == SPECIES_CAT;
    case KIND_SURGERY:
    case KIND_VACCINATION:
      return pet->species == SPECIES_DOG || pet->species == SPECIES_CAT ||
             pet->species == SPECIES_RABBIT;
    case KIND_CONSULTATION:
    case KIND_FOLLOW_UP:
    case KIND_OTHER:
      return TRUE;
    case N_KINDS:
    default:
      g_assert_not_reached ();
    }
}

static Kind
pick_kind (Clinic *clinic)
{
  guint total = 0;
  guint roll;

  for (guint k = 0; k < N_KINDS; k++)
    total += clinic->info->kind_weight[k];
  roll = g_rand_int_range (clinic->rand, 0, total);
  for (guint k = 0; k < N_KINDS; k++)
    {
      if (roll < clinic->info->kind_weight[k])
        return k;
      roll -= clinic->info->kind_weight[k];
    }
  g_assert_not_reached ();
}

/* Whether [start, end) overlaps an appointment of the staff member or the pet, other
 * than skip (G_MAXUINT for none). */
static gboolean
busy (Clinic *clinic,
      guint   staff,
      guint   pet,
      gint64  start,
      gint64  end,
      guint   skip)
{
  for (guint i = 0; i < clinic->appointments->len; i++)
    {
      const Appointment *a = &g_array_index (clinic->appointments, Appointment, i);

      if (i == skip || (a->staff != staff && a->pet != pet))
        continue;
      if (a->start < end && start < a->end)
        return TRUE;
    }
  return FALSE;
}

static const char *
status_at (Clinic *clinic,
           gint64  start,
           gint64  end)
{
  if (end <= clinic->now)
    {
      guint roll = g_rand_int_range (clinic->rand, 0, 100);

      return roll < 84 ? "completed" : roll < 93 ? "cancelled" : "no_show";
    }
  if (start <= clinic->now)
    return "in_progress";
  /* Reminders go out two days ahead, so near appointments are mostly confirmed. */
  if (start - clinic->now < 2 * 24 * 3600)
    return chance (clinic->rand, 75) ? "confirmed" : "scheduled";
  return chance (clinic->rand, 20) ? "confirmed" : "scheduled";
}

static GArray *
opening_slots (Clinic *clinic)
{
  GArray *slots = g_array_new (FALSE, FALSE, sizeof (Slot));

  for (int offset = -DAYS_BACK; offset <= DAYS_AHEAD; offset++)
    {
      GDate date = clinic->today;
      int open, close, y, m, d;
      gint64 close_at;

      if (offset < 0)
        g_date_subtract_days (&date, -offset);
      else
        g_date_add_days (&date, offset);
      if (!opening_hours (g_date_get_weekday (&date), &open, &close))
        continue;

      y = g_date_get_year (&date);
      m = g_date_get_month (&date);
      d = g_date_get_day (&date);
      close_at = vd_time_from_zone (clinic->zone, y, m, d, close, 0, 0);
      for (int quarter = open * 4; quarter < close * 4; quarter++)
        {
          Slot slot;

          slot.start = vd_time_from_zone (clinic->zone, y, m, d, quarter / 4,
                                          (quarter % 4) * 15, 0);
          slot.close = close_at;
          g_array_append_val (slots, slot);
        }
    }

  return slots;
}

/* One appointment of a random kind in a free slot; FALSE when the attempt did not fit. */
static gboolean
try_appointment (Clinic *clinic,
                 GArray *slots)
{
  const Slot *slot = &g_array_index (slots, Slot, g_rand_int_range (clinic->rand, 0, slots->len));
  Kind kind = pick_kind (clinic);
  guint pet = g_rand_int_range (clinic->rand, 0, clinic->info->n_pets);
  guint staff = g_rand_int_range (clinic->rand, 0, clinic->n_staff);
  Appointment appointment = { 0 };

  if (!pet_suits (&clinic->pets[pet], kind) || !staff_suits (&clinic->staff[staff], kind))
    return FALSE;

  appointment.staff = staff;
  appointment.pet = pet;
  appointment.kind = kind;
  appointment.start = slot->start;
  appointment.end = slot->start + 60 * kind_minutes (kind, &clinic->pets[pet]);
  if (appointment.end > slot->close ||
      busy (clinic, staff, pet, appointment.start, appointment.end, G_MAXUINT))
    return FALSE;

  appointment.status = status_at (clinic, appointment.start, appointment.end);
  g_array_append_val (clinic->appointments, appointment);
  return TRUE;
}

/* A second booking of the same staff member over an upcoming appointment, as two desks
 * that could not see each other during an outage would make: the server opens a
 * double-booking conflict for it. It overlaps that one appointment and no other. */
static gboolean
try_double_booking (Clinic *clinic)
{
  guint other = g_rand_int_range (clinic->rand, 0, clinic->appointments->len);
  const Appointment *a = &g_array_index (clinic->appointments, Appointment, other);
  guint pet = g_rand_int_range (clinic->rand, 0, clinic->info->n_pets);
  Appointment appointment = { 0 };
  gint64 close;
  GDateTime *local;
  int open_h, close_h;

  if (a->double_booked || a->start < clinic->now + 24 * 3600 || pet == a->pet ||
      !pet_suits (&clinic->pets[pet], a->kind))
    return FALSE;
  for (guint i = 0; i < clinic->appointments->len; i++)
    {
      const Appointment *b = &g_array_index (clinic->appointments, Appointment, i);

      /* One conflict per pair: the first appointment is not part of another pair. */
      if (b->double_booked && b->staff == a->staff && b->start < a->end && a->start < b->end)
        return FALSE;
    }

  appointment.staff = a->staff;
  appointment.pet = pet;
  appointment.kind = a->kind;
  appointment.start = a->start + 15 * 60 * g_rand_int_range (clinic->rand, 0, (a->end - a->start) / (15 * 60));
  appointment.end = appointment.start + 60 * kind_minutes (a->kind, &clinic->pets[pet]);
  appointment.double_booked = TRUE;

  local = vd_time_to_zone (a->start, clinic->zone);
  if (!opening_hours (g_date_time_get_day_of_week (local), &open_h, &close_h))
    g_assert_not_reached ();
  close = vd_time_from_zone (clinic->zone, g_date_time_get_year (local),
                             g_date_time_get_month (local),
                             g_date_time_get_day_of_month (local), close_h, 0, 0);
  g_date_time_unref (local);

  if (appointment.end > close ||
      busy (clinic, appointment.staff, G_MAXUINT, appointment.start, appointment.end, other) ||
      busy (clinic, G_MAXUINT, pet, appointment.start, appointment.end, G_MAXUINT))
    return FALSE;

  appointment.status = status_at (clinic, appointment.start, appointment.end);
  g_array_append_val (clinic->appointments, appointment);
  return TRUE;
}

static int
compare_appointments (gconstpointer a,
                      gconstpointer b)
{
  const Appointment *x = a;
  const Appointment *y = b;

  if (x->start != y->start)
    return x->start < y->start ? -1 : 1;
  if (x->staff != y->staff)
    return x->staff < y->staff ? -1 : 1;
  if (x->pet != y->pet)
    return x->pet < y->pet ? -1 : 1;
  return 0;
}

static const char *
pick_reason (GRand     *rand,
             Kind       kind,
             const Pet *pet)
{
  switch (kind)
    {
    case KIND_CONSULTATION: return PICK (rand, reasons_consultation);
    case KIND_VACCINATION:
      return pet->species == SPECIES_DOG ? PICK (rand, reasons_vaccination_dog)
             : pet->species == SPECIES_CAT ? PICK (rand, reasons_vaccination_cat)
             : PICK (rand, reasons_vaccination_rabbit);
    case KIND_SURGERY:      return PICK (rand, reasons_surgery);
    case KIND_GROOMING:     return PICK (rand, reasons_grooming);
    case KIND_DENTAL:       return PICK (rand, reasons_dental);
    case KIND_FOLLOW_UP:    return PICK (rand, reasons_follow_up);
    case KIND_OTHER:        return PICK (rand, reasons_other);
    case N_KINDS:
    default:
      g_assert_not_reached ();
    }
}

static char *
room_for (const Staff *staff,
          Kind         kind)
{
  if (kind == KIND_GROOMING)
    return g_strdup_printf ("Peluquería %u", staff->role_index + 1);
  if (kind == KIND_SURGERY || kind == KIND_DENTAL)
    return g_strdup_printf ("Quirófano %u", staff->role_index % 2 + 1);
  if (staff->role == ROLE_TECH)
    return g_strdup ("Sala de curas");
  return g_strdup_printf ("Consulta %u", staff->role_index + 1);
}

static gboolean
make_appointments (Clinic  *clinic,
                   GError **error)
{
  const DemoClinic *info = clinic->info;
  g_autoptr(GArray) slots = opening_slots (clinic);
  guint attempts = 0;

  clinic->appointments = g_array_new (FALSE, FALSE, sizeof (Appointment));

  while (clinic->appointments->len < info->n_appointments - info->n_double)
    if (!try_appointment (clinic, slots) && ++attempts > 1000000)
      break;
  while (clinic->appointments->len < info->n_appointments && attempts <= 1000000)
    if (!try_double_booking (clinic))
      attempts++;

  /* Only a broken table of clinics can get here; say so rather than load short. */
  if (clinic->appointments->len != info->n_appointments)
    {
      g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
                   _("The demo appointments of “%s” do not fit in its opening hours."),
                   info->name);
      return FALSE;
    }

  g_array_sort (clinic->appointments, compare_appointments);

  for (guint n = 0; n < clinic->appointments->len; n++)
    {
      const Appointment *a = &g_array_index (clinic->appointments, Appointment, n);
      const Pet *pet = &clinic->pets[a->pet];
      char id[VD_UUID_LEN + 1];
      char client_id[VD_UUID_LEN + 1];
      g_autofree char *room = room_for (&clinic->staff[a->staff], a->kind);
      const char *notes = NULL;
      VdChange *change;

      if (a->double_booked)
        notes = "Reservada desde otro puesto durante un corte de conexión.";
      else if (g_strcmp0 (a->status, "cancelled") == 0)
        notes = "Cancelada por el cliente por teléfono.";
      else if (g_strcmp0 (a->status, "no_show") == 0)
        notes = "No se presentó; se le ha llamado para volver a citar.";

      demo_uuid (info->slug, "appointments", n, id);
      demo_uuid (info->slug, "clients", pet->client, client_id);
      change = new_change (clinic, "appointments", id);
      set_text (change, "pet_id", pet->id);
      set_text (change, "client_id", client_id);
      set_text (change, "staff_id", clinic->staff[a->staff].id);
      set_text (change, "room", room);
      set_text (change, "kind", kind_names[a->kind]);
      set_time (change, "starts_at", a->start);
      set_time (change, "ends_at", a->end);
      set_text (change, "status", a->status);
      set_text (change, "reason", pick_reason (clinic->rand, a->kind, pet));
      set_text (change, "notes", notes);
      set_bool (change, "allow_overlap", FALSE);
      set_bool (change, "deleted", FALSE);
    }

  return TRUE;
}

static Clinic *
make_clinic (guint    index,
             gint64   now,
             VdHlc   *hlc,
             GError **error)
{
  g_autoptr(Clinic) clinic = g_new0 (Clinic, 1);
  int y, m, d;
  gint64 start, end;

  clinic->info = &clinics[index];
  clinic->zone = vd_time_zone_new (clinic->info->timezone, error);
  if (clinic->zone == NULL)
    return NULL;
  clinic->rand = g_rand_new_with_seed (DEMO_SEED + index);
  clinic->now = now;
  clinic->hlc = hlc;
  clinic->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  clinic->used_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  vd_time_today_bounds (clinic->zone, now, &start, &end, &y, &m, &d);
  g_date_clear (&clinic->today, 1);
  g_date_set_dmy (&clinic->today, d, m, y);

  make_staff (clinic);
  make_clients (clinic);
  make_pets (clinic);
  if (!make_appointments (clinic, error))
    return NULL;

  /* Every cell checked against the schema here, so a mistake in this file shows as a
   * clear error before anything is written. */
  for (guint i = 0; i < clinic->changes->len; i++)
    {
      VdChange *change = g_ptr_array_index (clinic->changes, i);

      for (guint c = 0; c < change->cells->len; c++)
        {
          VdCell *cell = &g_array_index (change->cells, VdCell, c);
          g_autoptr(GError) local_error = NULL;

          if (!vd_value_validate (cell->column, &cell->value, &local_error))
            {
              g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
                           _("The demo data is not valid (%s %s): %s"),
                           change->table->name, change->id, local_error->message);
              return NULL;
            }
        }
    }

  return g_steal_pointer (&clinic);
}

/* ---------------------------------------------------------------------------------- */
/* Users */

typedef struct
{
  char       *username;
  char       *display_name;
  const char *platform_role;   /* none, company_admin, platform_admin */
  int         clinic;          /* -1 for none */
  const char *clinic_role;
  int         company;         /* -1 for none */
  char       *hash;
} DemoUser;

static void
demo_user_clear (gpointer data)
{
  DemoUser *user = data;

  g_free (user->username);
  g_free (user->display_name);
  g_free (user->hash);
}

static void
add_user (GArray     *users,
          char       *username,
          const char *display_name,
          const char *platform_role,
          int         clinic,
          const char *clinic_role,
          int         company)
{
  DemoUser user = { 0 };

  user.username = username;
  user.display_name = g_strdup (display_name);
  user.platform_role = platform_role;
  user.clinic = clinic;
  user.clinic_role = clinic_role;
  user.company = company;
  g_array_append_val (users, user);
}

static const char *
first_staff_name (Clinic *clinic,
                  Role    role)
{
  for (guint i = 0; i < clinic->n_staff; i++)
    if (clinic->staff[i].role == role)
      return clinic->staff[i].name;
  return clinic->info->name;
}

/* The demo's people: the front desk and clinic admin of each clinic are members of its
 * staff, so names on screen match the schedule. */
static GArray *
demo_users (Clinic **made)
{
  GArray *users = g_array_new (FALSE, TRUE, sizeof (DemoUser));

  g_array_set_clear_func (users, demo_user_clear);
  add_user (users, g_strdup ("plataforma"), "Administración de la plataforma",
            "platform_admin", -1, NULL, -1);
  for (guint c = 0; c < G_N_ELEMENTS (companies); c++)
    add_user (users, g_strdup (companies[c].admin_username), companies[c].admin_name,
              "company_admin", -1, NULL, c);
  for (guint i = 0; i < G_N_ELEMENTS (clinics); i++)
    {
      add_user (users, g_strdup_printf ("recepcion.%s", clinics[i].user_suffix),
                first_staff_name (made[i], ROLE_FRONT), "none", i, "front_desk", -1);
      add_user (users, g_strdup_printf ("admin.%s", clinics[i].user_suffix),
                first_staff_name (made[i], ROLE_MANAGER), "none", i, "clinic_admin", -1);
      if (clinics[i].vet_user)
        add_user (users, g_strdup_printf ("veterinario.%s", clinics[i].user_suffix),
                  first_staff_name (made[i], ROLE_VET), "none", i, "veterinarian", -1);
    }

  return users;
}

/* ---------------------------------------------------------------------------------- */
/* Writing */

static gboolean
check_answer (const char  *answer,
              guint        n_changes,
              const char  *clinic_name,
              GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;
  JsonArray *rejected;

  if (!json_parser_load_from_data (parser, answer, -1, error))
    return FALSE;
  object = json_node_get_object (json_parser_get_root (parser));
  rejected = json_object_get_array_member (object, "rejected");
  if (rejected != NULL && json_array_get_length (rejected) > 0)
    {
      JsonObject *first = json_array_get_object_element (rejected, 0);

      g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
                   _("The store refused %u of the demo changes of “%s”; the first: %s"),
                   json_array_get_length (rejected), clinic_name,
                   json_object_get_string_member_with_default (first, "message", "?"));
      return FALSE;
    }
  if (json_object_get_int_member_with_default (object, "accepted", -1) != (gint64) n_changes)
    {
      g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
                   _("The store did not accept every demo change of “%s”."), clinic_name);
      return FALSE;
    }
  return TRUE;
}

/* Pushes the clinic's changes as a desk would, in batches the protocol allows, so the
 * server's own merge opens the conflicts. */
static gboolean
push_clinic (VdsStore    *store,
             const char  *tenant_id,
             const char  *user_id,
             Clinic      *clinic,
             gint64      *batch_id,
             GError     **error)
{
  if (!vds_store_touch_device (store, tenant_id, DEMO_SITE, user_id, "Demo data loader",
                               PACKAGE_VERSION, VDS_DEVICE_SEEN, 0, clinic->now, error))
    return FALSE;

  for (guint from = 0; from < clinic->changes->len; from += VD_PROTOCOL_MAX_PUSH)
    {
      guint n = MIN (VD_PROTOCOL_MAX_PUSH, clinic->changes->len - from);
      g_autoptr(VdPushRequest) req = g_new0 (VdPushRequest, 1);
      g_autofree char *answer = NULL;

      g_strlcpy (req->device_id, DEMO_SITE, sizeof req->device_id);
      req->batch_id = ++*batch_id;
      req->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
      req->indices = g_array_new (FALSE, FALSE, sizeof (guint));
      req->rejected = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_rejection_free);
      req->n_total = n;
      for (guint i = 0; i < n; i++)
        {
          g_ptr_array_add (req->changes,
                           vd_change_copy (g_ptr_array_index (clinic->changes, from + i)));
          g_array_append_val (req->indices, i);
        }

      if (!vds_store_push (store, tenant_id, req, &answer, error) ||
          !check_answer (answer, n, clinic->info->name, error))
        return FALSE;
    }

  return vds_store_touch_device (store, tenant_id, DEMO_SITE, user_id, "Demo data loader",
                                 PACKAGE_VERSION, VDS_DEVICE_PUSHED, 0, clinic->now, error);
}

/* Refuses a second load before anything is written: any demo company, clinic or user
 * already there means the demo (or something in its way) is loaded. */
static gboolean
check_not_loaded (VdsStore  *store,
                  GError   **error)
{
  guint found = 0;
  guint total = 0;

  for (guint c = 0; c < G_N_ELEMENTS (companies); c++)
    {
      g_autofree char *id = NULL;
      g_autoptr(VdsUser) user = NULL;
      g_autoptr(GError) local_error = NULL;

      id = vds_store_find_company_id (store, companies[c].name, &local_error);
      if (local_error == NULL)
        user = vds_store_find_user (store, companies[c].admin_username, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      found += (id != NULL) + (user != NULL);
      total += 2;
    }
  for (guint i = 0; i < G_N_ELEMENTS (clinics); i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autofree char *id = vds_store_find_tenant_id (store, clinics[i].slug, &local_error);
      g_autofree char *front = g_strdup_printf ("recepcion.%s", clinics[i].user_suffix);
      g_autoptr(VdsUser) user = NULL;

      if (local_error == NULL)
        user = vds_store_find_user (store, front, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      found += (id != NULL) + (user != NULL);
      total += 2;
    }

  if (found == 0)
    return TRUE;
  if (found == total)
    g_set_error_literal (error, VDS_STORE_ERROR, VDS_STORE_ERROR_EXISTS,
                         _("The demo data is already loaded."));
  else
    g_set_error_literal (error, VDS_STORE_ERROR, VDS_STORE_ERROR_EXISTS,
                         _("The demo data cannot be loaded: some of its companies, clinics "
                           "or user names already exist. Load it into an empty database."));
  return FALSE;
}

static void
print_users (GArray *users)
{
  g_autoptr(GString) out = g_string_new (NULL);

  g_string_append_printf (out, _("Demo data loaded: %u companies, %u clinics.\n"),
                          (guint) G_N_ELEMENTS (companies), (guint) G_N_ELEMENTS (clinics));
  g_string_append_printf (out, _("Demo users (the password of every one is “%s”):\n"),
                          VDS_DEMO_PASSWORD);
  for (guint i = 0; i < users->len; i++)
    {
      const DemoUser *user = &g_array_index (users, DemoUser, i);
      const char *role = user->clinic >= 0 ? user->clinic_role : user->platform_role;
      const char *where = user->clinic >= 0 ? clinics[user->clinic].name
                          : user->company >= 0 ? companies[user->company].name
                          : _("every clinic");

      g_string_append_printf (out, "  %-22s %-15s %s\n", user->username, role, where);
    }
  g_print ("%s", out->str);
}

gboolean
vds_demo_load (VdsStore  *store,
               GError   **error)
{
  Clinic *made[G_N_ELEMENTS (clinics)] = { NULL, };
  char *company_ids[G_N_ELEMENTS (companies)] = { NULL, };
  char *tenant_ids[G_N_ELEMENTS (clinics)] = { NULL, };
  g_autoptr(GArray) users = NULL;
  VdHlc start;
  VdHlc next;
  gint64 now;
  gint64 batch_id = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_not_loaded (store, error))
    return FALSE;
  if (sodium_init () < 0)
    {
      g_set_error_literal (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
                           _("The password library could not be started."));
      return FALSE;
    }

  /* The store's clock is "now", so a test that sets it gets the same data every time,
   * and the demo's hlcs are just after the server's: never rejected as clock skew. */
  start = vds_store_server_hlc (store);
  now = vd_hlc_ms (start) / 1000;
  next = start + 1;

  /* Everything is made in memory first, so a failure here writes nothing. */
  for (guint i = 0; i < G_N_ELEMENTS (clinics); i++)
    if ((made[i] = make_clinic (i, now, &next, error)) == NULL)
      goto out;

  users = demo_users (made);
  for (guint i = 0; i < users->len; i++)
    {
      DemoUser *user = &g_array_index (users, DemoUser, i);

      user->hash = g_malloc0 (crypto_pwhash_STRBYTES);
      if (crypto_pwhash_str (user->hash, VDS_DEMO_PASSWORD, strlen (VDS_DEMO_PASSWORD), 2,
                             19 * 1024 * 1024) != 0)
        {
          g_set_error_literal (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
                               _("There is not enough memory to hash the demo passwords."));
          goto out;
        }
    }

  for (guint c = 0; c < G_N_ELEMENTS (companies); c++)
    if (!vds_store_add_company (store, companies[c].name, &company_ids[c], error))
      goto out;
  for (guint i = 0; i < G_N_ELEMENTS (clinics); i++)
    if (!vds_store_add_tenant (store, clinics[i].slug, clinics[i].name, clinics[i].timezone,
                               clinics[i].currency, company_ids[clinics[i].company],
                               &tenant_ids[i], error))
      goto out;

  for (guint i = 0; i < users->len; i++)
    {
      const DemoUser *user = &g_array_index (users, DemoUser, i);
      g_autofree char *user_id = NULL;

      if (!vds_store_add_user (store, user->username, user->display_name, user->hash,
                               user->platform_role, &user_id, error))
        goto out;
      if (user->clinic >= 0 &&
          !vds_store_add_membership (store, user_id, tenant_ids[user->clinic],
                                     user->clinic_role, error))
        goto out;
      if (user->company >= 0 &&
          !vds_store_add_company_admin (store, user_id, company_ids[user->company], error))
        goto out;
    }

  for (guint i = 0; i < G_N_ELEMENTS (clinics); i++)
    {
      g_autofree char *front = g_strdup_printf ("recepcion.%s", clinics[i].user_suffix);
      g_autoptr(VdsUser) user = vds_store_find_user (store, front, error);

      if (user == NULL)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
                         _("The demo user “%s” was not saved."), front);
          goto out;
        }
      if (!push_clinic (store, tenant_ids[i], user->id, made[i], &batch_id, error))
        goto out;
    }

  print_users (users);
  ok = TRUE;

out:
  for (guint i = 0; i < G_N_ELEMENTS (clinics); i++)
    {
      g_clear_pointer (&made[i], clinic_free);
      g_free (tenant_ids[i]);
    }
  for (guint c = 0; c < G_N_ELEMENTS (companies); c++)
    g_free (company_ids[c]);

  return ok;
}
