/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-clinic.h — the desk benchmarks' clinic: 10 staff, 20,000 clients, 40,000 pets and
 * 100,000 appointments over about two years around a benchmark day, made from a fixed
 * seed as the changes a desk would have pushed, for the local store and for syncd. */
#pragma once

#include <glib.h>
#include "vd-change.h"

G_BEGIN_DECLS

#define BENCH_CLINIC_SEED         20261128u
#define BENCH_CLINIC_STAFF        10
#define BENCH_CLINIC_CLIENTS      20000
#define BENCH_CLINIC_PETS         40000
#define BENCH_CLINIC_APPOINTMENTS 100000
#define BENCH_CLINIC_ZONE         "Europe/Madrid"
/* The device that "made" the data: every change carries it as its site. */
#define BENCH_CLINIC_SITE         "b0b0b0b0-0000-4000-8000-000000000001"

typedef struct
{
  GPtrArray *changes;        /* of VdChange: staff, clients, pets, then appointments by time */
  GPtrArray *staff_ids;      /* of char*: the 10 bookable staff members */
  GPtrArray *pet_ids;        /* of char* */
  GPtrArray *pet_owners;     /* of char*: the client of each pet (same index) */
  GTimeZone *zone;
  GDate      anchor;         /* the benchmark day: a full working day */
  guint      anchor_count;   /* appointments on it */
  int        first_offset;   /* first and last day with appointments, in days from anchor */
  int        last_offset;
  GArray    *full_days;      /* of int: offsets of every full working day */
  GArray    *day_counts;     /* of guint: appointments per day, index = offset - first_offset */
} BenchClinic;

/* anchor: the benchmark day (usually today in the clinic's zone). The clinic's week is
 * laid out from it: five full days (09:00–19:00) from the anchor on, a short sixth day
 * (10:00–14:00), a closed seventh, so the anchor is always a full day. Appointments start
 * about a year before it and run until there are 100,000; hlcs start 10 minutes before
 * now (so syncd takes them) and stay unique. */
BenchClinic *bench_clinic_new        (guint32       seed,
                                      const GDate  *anchor);
void         bench_clinic_free       (BenchClinic  *clinic);
/* The calendar date offset days from the anchor. */
void         bench_clinic_day        (BenchClinic  *clinic,
                                      int           offset,
                                      int          *year,
                                      int          *month,
                                      int          *day);
/* Today in the clinic's zone. */
void         bench_clinic_today      (GDate        *out);
/* A new appointment change with all 12 columns set (the desk's editor sets every one),
 * id empty (the store makes it), at start for minutes, on a random staff member. */
VdChange    *bench_clinic_new_appointment (BenchClinic *clinic,
                                           GRand       *rand,
                                           gint64       start,
                                           guint        minutes);

/* Sorted copy helpers for figures: p in [0, 100]. */
double       bench_percentile        (GArray       *sorted_ms,
                                      double        p);
/* Sorts samples (double, ms) and prints "name: n=… p50 … p95 … p99 … max … ms". */
void         bench_print_stats       (const char   *name,
                                      GArray       *samples_ms);
/* VmHWM and VmRSS of this process, in MB (from /proc/self/status). */
void         bench_memory_mb         (double       *out_hwm,
                                      double       *out_rss);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BenchClinic, bench_clinic_free)

G_END_DECLS
