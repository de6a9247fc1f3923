/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-codec.c — decode cost of the wire codec alone: a 500-change appointment push (the
 * 5-column edit of vds-bench's scenario c) and a 2,000-change pull answer (a bootstrap page). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "vd-change.h"
#include "vd-protocol.h"
#include "vd-hlc.h"
#include "vd-id.h"
#include "vd-schema.h"

#define N_PUSH  500
#define N_PULL  2000

static void
put_text (VdChange   *change,
          const char *column,
          const char *text)
{
  VdValue value = { .kind = VD_VALUE_NULL };

  vd_value_set_text (&value, text);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static void
put_bool (VdChange   *change,
          const char *column,
          gboolean    b)
{
  VdValue value = { .kind = VD_VALUE_NULL };

  vd_value_set_bool (&value, b);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static char *
timestamp (gint64 seconds)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (seconds);

  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
}

static char *
uuid_for (guint kind,
          guint n)
{
  return g_strdup_printf ("0191d5a3-c2f8-4%03x-8a2b-%012x", kind, n);
}

/* vds-bench's appointment_edit5: room, times, status and reason of an existing row. */
static VdChange *
edit5 (const char *site,
       guint       slot)
{
  g_autofree char *id = uuid_for (1, slot);
  g_autofree char *starts = timestamp (1718000000 + (gint64) slot * 1800 + 300);
  g_autofree char *ends = timestamp (1718000000 + (gint64) slot * 1800 + 1200);
  g_autofree char *room = g_strdup_printf ("Sala %u", slot % 4 + 1);
  VdChange *change = vd_change_new (vd_schema_lookup_table ("appointments"), id,
                                    vd_hlc_make (1718000000000 + slot, slot & 0xffff), site);

  put_text (change, "room", room);
  put_text (change, "starts_at", starts);
  put_text (change, "ends_at", ends);
  put_text (change, "status", "confirmed");
  put_text (change, "reason", "Revisión anual y vacuna");
  return change;
}

/* A whole appointment, as a bootstrap page carries it. */
static VdChange *
create (const char *site,
        guint       slot)
{
  g_autofree char *id = uuid_for (1, slot);
  g_autofree char *pet = uuid_for (2, slot % 300);
  g_autofree char *client = uuid_for (3, slot % 300);
  g_autofree char *staff = uuid_for (4, slot % 2);
  g_autofree char *starts = timestamp (1718000000 + (gint64) slot * 1800);
  g_autofree char *ends = timestamp (1718000000 + (gint64) slot * 1800 + 1500);
  VdChange *change = vd_change_new (vd_schema_lookup_table ("appointments"), id,
                                    vd_hlc_make (1718000000000 + slot, 0), site);

  put_text (change, "pet_id", pet);
  put_text (change, "client_id", client);
  put_text (change, "staff_id", staff);
  put_text (change, "kind", "consultation");
  put_text (change, "starts_at", starts);
  put_text (change, "ends_at", ends);
  put_text (change, "status", "scheduled");
  put_bool (change, "allow_overlap", FALSE);
  change->seq = 1000 + slot;
  return change;
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
report (const char *what,
        double     *times,
        guint       runs,
        guint       n_changes,
        gsize       bytes)
{
  double sum = 0;

  for (guint i = 0; i < runs; i++)
    sum += times[i];
  qsort (times, runs, sizeof *times, compare_double);
  g_print ("%-28s %7zu bytes  p50 %8.3f ms  mean %8.3f ms  p90 %8.3f ms  (%.2f us/change)\n",
           what, bytes, times[runs / 2] * 1e3, sum / runs * 1e3, times[runs * 9 / 10] * 1e3,
           times[runs / 2] * 1e6 / n_changes);
}

int
main (int    argc,
      char **argv)
{
  const char *site = "7d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a";
  g_autoptr(GPtrArray) push_changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  g_autoptr(GPtrArray) pull_changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  g_autofree char *push = NULL;
  g_autofree char *pull = NULL;
  g_autofree double *times = NULL;
  gsize push_len, pull_len;
  guint runs = argc > 1 ? (guint) atoi (argv[1]) : 200;

  if (runs == 0)
    runs = 1;
  times = g_new (double, runs);

  for (guint i = 0; i < N_PUSH; i++)
    g_ptr_array_add (push_changes, edit5 (site, i));
  for (guint i = 0; i < N_PULL; i++)
    g_ptr_array_add (pull_changes, create (site, i));
  push = vd_push_request_encode (site, 1, push_changes, &push_len);
  pull = vd_pull_answer_encode (pull_changes, 3000, TRUE, vd_hlc_make (1718000009999, 0), &pull_len);

  g_print ("bench-codec: %u runs each\n", runs);

  for (guint r = 0; r < runs; r++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(VdPushRequest) request = NULL;
      gint64 start = g_get_monotonic_time ();

      request = vd_push_request_decode (push, push_len, &error);
      times[r] = (g_get_monotonic_time () - start) / 1e6;
      if (request == NULL || request->changes->len != N_PUSH)
        g_error ("push did not decode: %s", error != NULL ? error->message : "rejections");
    }
  report ("push decode, 500 edits", times, runs, N_PUSH, push_len);

  for (guint r = 0; r < runs; r++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(VdPullAnswer) answer = NULL;
      gint64 start = g_get_monotonic_time ();

      answer = vd_pull_answer_decode (pull, pull_len, &error);
      times[r] = (g_get_monotonic_time () - start) / 1e6;
      if (answer == NULL || answer->changes->len != N_PULL)
        g_error ("pull answer did not decode: %s", error != NULL ? error->message : "?");
    }
  report ("pull decode, 2,000 creates", times, runs, N_PULL, pull_len);

  for (guint r = 0; r < runs; r++)
    {
      gint64 start = g_get_monotonic_time ();
      g_autofree char *text = vd_push_request_encode (site, 1, push_changes, NULL);

      times[r] = (g_get_monotonic_time () - start) / 1e6;
    }
  report ("push encode, 500 edits", times, runs, N_PUSH, push_len);

  return 0;
}
