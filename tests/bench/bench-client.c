/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-client.c — the desk's local replica on a clinic of 100,000 appointments, without a
 * display: loading a day (VdAppointmentList built and read), saving a new appointment
 * (vd_store_commit, synchronous=FULL) and the memory the store and its lists take. */
#define G_LOG_DOMAIN "bench-client"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#include "bench-clinic.h"
#include "vd-store.h"
#include "vd-store-models.h"
#include "vd-time.h"

#define TENANT    "7e4a1d2c-0000-4000-8000-00000000be4c"
#define PAGE_SIZE 1000   /* the sync engine's pull page */

static guint opt_seed = BENCH_CLINIC_SEED;
static int opt_days = 100;
static int opt_saves = 1000;
static int opt_cold = 5;
static char *opt_dir;
static gboolean opt_keep;

static const GOptionEntry options[] = {
  { "seed", 0, 0, G_OPTION_ARG_INT, &opt_seed, "Seed of the clinic (default 20261128)", "N" },
  { "days", 0, 0, G_OPTION_ARG_INT, &opt_days, "Different days to load (default 100)", "N" },
  { "saves", 0, 0, G_OPTION_ARG_INT, &opt_saves, "Appointments to save (default 1000)", "N" },
  { "cold", 0, 0, G_OPTION_ARG_INT, &opt_cold,
    "Page-cache-cold opens (drop_caches, needs root; 0 = none; default 5)", "N" },
  { "dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir,
    "Where to make the store (default: a new directory in $TMPDIR; the disk matters)", "DIR" },
  { "keep", 0, 0, G_OPTION_ARG_NONE, &opt_keep, "Keep the store file", NULL },
  { NULL }
};

static double
ms_since (gint64 start_us)
{
  return (g_get_monotonic_time () - start_us) / 1000.0;
}

static void
drain_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static GArray *
new_samples (void)
{
  return g_array_new (FALSE, FALSE, sizeof (double));
}

static void
add_sample (GArray *samples,
            double  ms)
{
  g_array_append_val (samples, ms);
}

/* Forgets the high-water mark so VmHWM covers only what follows (Linux 4.0+). */
static gboolean
reset_hwm (void)
{
  int fd = open ("/proc/self/clear_refs", O_WRONLY);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = write (fd, "5", 1) == 1;
  close (fd);
  return ok;
}

static gboolean
drop_caches (void)
{
  int fd;
  gboolean ok;

  sync ();
  fd = open ("/proc/sys/vm/drop_caches", O_WRONLY);
  if (fd < 0)
    return FALSE;
  ok = write (fd, "3", 1) == 1;
  close (fd);
  return ok;
}

static VdStore *
open_store (const char *path)
{
  g_autoptr(GError) error = NULL;
  VdStore *store = vd_store_open (path, TENANT, &error);

  if (store == NULL)
    g_error ("vd_store_open: %s", error->message);
  return store;
}

/* The clinic through vd_store_apply_pull in the engine's pages: what a bootstrap writes,
 * without the network and JSON. */
static void
fill_store (VdStore     *store,
            BenchClinic *clinic)
{
  VdClinicInfo info = { (char *) TENANT, (char *) "clinica-bench", (char *) "Clínica Veterinaria Bench",
                        (char *) BENCH_CLINIC_ZONE, (char *) "EUR", (char *) "front_desk" };
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  double ms;

  if (!vd_store_set_clinic_info (store, &info, &error))
    g_error ("vd_store_set_clinic_info: %s", error->message);

  for (guint from = 0; from < clinic->changes->len; from += PAGE_SIZE)
    {
      guint n = MIN (PAGE_SIZE, clinic->changes->len - from);
      VdPullAnswer page = { 0 };

      page.changes = g_ptr_array_new ();
      for (guint i = 0; i < n; i++)
        {
          VdChange *change = g_ptr_array_index (clinic->changes, from + i);

          change->seq = from + i + 1;
          g_ptr_array_add (page.changes, change);
        }
      page.cursor = from + n;
      page.more = from + n < clinic->changes->len;
      page.server_hlc = ((VdChange *) g_ptr_array_index (page.changes, n - 1))->hlc;
      if (!vd_store_apply_pull (store, &page, &error))
        g_error ("vd_store_apply_pull: %s", error->message);
      g_ptr_array_unref (page.changes);
      drain_main_context ();
    }
  ms = ms_since (start);
  g_print ("fill: %u changes applied in pages of %d in %.1f s (%.0f changes/s)\n",
           clinic->changes->len, PAGE_SIZE, ms / 1000, clinic->changes->len / (ms / 1000));
}

static guint
read_all (GListModel *list)
{
  guint n = g_list_model_get_n_items (list);
  gsize chars = 0;

  /* Everything a row of the day view or Today list shows. */
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(VdAppointmentItem) item = g_list_model_get_item (list, i);

      chars += strlen (vd_appointment_item_get_pet_name (item));
      chars += strlen (vd_appointment_item_get_client_name (item));
      chars += strlen (vd_appointment_item_get_staff_name (item));
      chars += (gsize) (vd_appointment_item_get_ends_at (item) - vd_appointment_item_get_starts_at (item)) / 60;
    }
  g_assert (n == 0 || chars > 0);
  return n;
}

static void
day_bounds (BenchClinic *clinic,
            int          offset,
            gint64      *start,
            gint64      *end)
{
  int y, m, d;

  bench_clinic_day (clinic, offset, &y, &m, &d);
  vd_time_day_bounds (clinic->zone, y, m, d, start, end);
}

static guint
expected_count (BenchClinic *clinic,
                int          offset)
{
  return g_array_index (clinic->day_counts, guint, offset - clinic->first_offset);
}

static void
bench_load_days (VdStore     *store,
                 BenchClinic *clinic,
                 GRand       *rand)
{
  g_autoptr(GArray) offsets = g_array_copy (clinic->full_days);
  g_autoptr(GArray) build = new_samples ();
  g_autoptr(GArray) nav = new_samples ();
  g_autoptr(VdAppointmentList) shown = NULL;
  gint64 start, end;
  guint rows = 0;
  int n_days = MIN (opt_days, (int) offsets->len);

  /* n different full days, in a random order. */
  for (guint i = offsets->len - 1; i > 0; i--)
    {
      guint j = g_rand_int_range (rand, 0, i + 1);
      int tmp = g_array_index (offsets, int, i);

      g_array_index (offsets, int, i) = g_array_index (offsets, int, j);
      g_array_index (offsets, int, j) = tmp;
    }

  for (int i = 0; i < n_days; i++)
    {
      int offset = g_array_index (offsets, int, i);
      gint64 t0;
      guint n;

      day_bounds (clinic, offset, &start, &end);
      t0 = g_get_monotonic_time ();
      {
        g_autoptr(VdAppointmentList) list = vd_appointment_list_new (store, start, end, NULL);

        n = read_all (G_LIST_MODEL (list));
      }
      add_sample (build, ms_since (t0));
      if (n != expected_count (clinic, offset))
        g_error ("day %+d: the list has %u appointments, the clinic %u", offset, n, expected_count (clinic, offset));
      rows += n;
    }
  g_print ("load a day (new VdAppointmentList + read every item): %d days, %.0f appointments a day on average\n",
           n_days, (double) rows / n_days);
  bench_print_stats ("  load day: build + fetch all", build);

  /* The window keeps one list and moves it from day to day (Alt+Left/Right, calendar). */
  day_bounds (clinic, 0, &start, &end);
  shown = vd_appointment_list_new (store, start, end, NULL);
  for (int i = 0; i < n_days; i++)
    {
      int offset = g_array_index (offsets, int, (i + 1) % n_days);
      int y, m, d;
      gint64 t0;

      bench_clinic_day (clinic, offset, &y, &m, &d);
      t0 = g_get_monotonic_time ();
      vd_appointment_list_set_day (shown, y, m, d);
      read_all (G_LIST_MODEL (shown));
      add_sample (nav, ms_since (t0));
    }
  bench_print_stats ("  go to another day: set_day + fetch all", nav);
}

/* The first day shown after opening the store with an empty page cache (a desk just
 * switched on). */
static void
bench_cold (const char  *path,
            BenchClinic *clinic)
{
  g_autoptr(GArray) open_ms = new_samples ();
  g_autoptr(GArray) load_ms = new_samples ();
  gint64 start, end;

  if (opt_cold <= 0)
    return;
  day_bounds (clinic, 0, &start, &end);
  for (int i = 0; i < opt_cold; i++)
    {
      g_autoptr(VdStore) store = NULL;
      g_autoptr(VdAppointmentList) list = NULL;
      gint64 t0;

      if (!drop_caches ())
        {
          g_print ("page-cache-cold load: skipped (cannot write /proc/sys/vm/drop_caches: %s)\n",
                   g_strerror (errno));
          return;
        }
      t0 = g_get_monotonic_time ();
      store = open_store (path);
      add_sample (open_ms, ms_since (t0));
      t0 = g_get_monotonic_time ();
      list = vd_appointment_list_new (store, start, end, NULL);
      read_all (G_LIST_MODEL (list));
      add_sample (load_ms, ms_since (t0));
    }
  g_print ("page cache dropped before each (echo 3 > /proc/sys/vm/drop_caches):\n");
  bench_print_stats ("  cold: vd_store_open", open_ms);
  bench_print_stats ("  cold: first day (benchmark day)", load_ms);
}

/* The floor under a synchronous=FULL commit: one 4 KiB write and fdatasync on the same
 * disk, as SQLite syncs the WAL at each commit. */
static void
bench_disk (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "fsync-probe", NULL);
  g_autoptr(GArray) samples = new_samples ();
  char block[4096];
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

  if (fd < 0)
    return;
  memset (block, 'x', sizeof block);
  for (int i = 0; i < 300; i++)
    {
      gint64 t0 = g_get_monotonic_time ();

      if (pwrite (fd, block, sizeof block, (off_t) (i % 64) * sizeof block) != sizeof block || fdatasync (fd) != 0)
        break;
      add_sample (samples, ms_since (t0));
    }
  close (fd);
  g_unlink (path);
  bench_print_stats ("  disk: 4 KiB pwrite + fdatasync", samples);
}

/* The WAL header's checkpoint sequence: it moves when a writer restarts the WAL after a
 * complete checkpoint, i.e. at the commit after the one that ran the checkpoint. */
static guint32
wal_checkpoint_seq (const char *wal_path)
{
  guint8 header[16];
  int fd = open (wal_path, O_RDONLY);
  gboolean ok;

  if (fd < 0)
    return 0;
  ok = pread (fd, header, sizeof header, 0) == sizeof header;
  close (fd);
  return ok ? ((guint32) header[12] << 24 | header[13] << 16 | header[14] << 8 | header[15]) : 0;
}

static void
items_changed_cb (GListModel *list,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gboolean   *seen)
{
  *seen = TRUE;
}

static void
bench_saves (VdStore     *store,
             BenchClinic *clinic,
             GRand       *rand,
             const char  *wal_path)
{
  g_autoptr(GArray) commit = new_samples ();
  g_autoptr(GArray) plain = new_samples ();
  g_autoptr(GArray) checkpointing = new_samples ();
  g_autoptr(GArray) seqs = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) all = NULL;
  g_autoptr(GArray) shown = new_samples ();
  g_autoptr(VdAppointmentList) today = NULL;
  gint64 start, end;
  gboolean seen = FALSE;
  guint pending_before = vd_store_count_pending (store);
  int n_shown = MIN (100, opt_saves);

  /* As in the window: the day on screen listens to the store. */
  day_bounds (clinic, 0, &start, &end);
  today = vd_appointment_list_new (store, start, end, NULL);
  g_signal_connect (today, "items-changed", G_CALLBACK (items_changed_cb), &seen);

  for (int i = 0; i < opt_saves; i++)
    {
      /* Bookings on future days, at a random quarter hour (the store does not check
       * overlaps; syncd does). */
      int offset = g_rand_int_range (rand, 1, clinic->last_offset + 1);
      gint64 day_start, day_end, t0;
      g_autoptr(VdChange) change = NULL;
      g_autoptr(GError) error = NULL;

      day_bounds (clinic, offset, &day_start, &day_end);
      change = bench_clinic_new_appointment (clinic, rand, day_start + 9 * 3600 + 900 * g_rand_int_range (rand, 0, 36), 30);
      t0 = g_get_monotonic_time ();
      if (!vd_store_commit (store, change, &error))
        g_error ("vd_store_commit: %s", error->message);
      add_sample (commit, ms_since (t0));
      {
        guint32 seq = wal_checkpoint_seq (wal_path);

        g_array_append_val (seqs, seq);
      }
      drain_main_context ();
    }
  /* Split the samples: commits that ran an automatic checkpoint, and the rest. */
  all = g_array_copy (commit);
  for (guint i = 0; i < all->len; i++)
    {
      gboolean ran = i + 1 < seqs->len &&
                     g_array_index (seqs, guint32, i + 1) != g_array_index (seqs, guint32, i);

      add_sample (ran ? checkpointing : plain, g_array_index (all, double, i));
    }
  if (vd_store_count_pending (store) != pending_before + (guint) opt_saves)
    g_error ("the outbox holds %u changes, expected %u", vd_store_count_pending (store),
             pending_before + opt_saves);
  g_print ("save a new appointment (12 columns, vd_store_commit, WAL, synchronous=FULL): %d saves\n", opt_saves);
  bench_print_stats ("  save: vd_store_commit", commit);
  bench_print_stats ("  save: commits without a checkpoint", plain);
  bench_print_stats ("  save: commits that ran the auto-checkpoint", checkpointing);

  /* Saved on the day on screen: until the list shows it (its reload runs at idle). */
  for (int i = 0; i < n_shown; i++)
    {
      g_autoptr(VdChange) change = bench_clinic_new_appointment (clinic, rand, start + 20 * 3600 + 60 * i, 1);
      g_autoptr(GError) error = NULL;
      guint before = g_list_model_get_n_items (G_LIST_MODEL (today));
      gint64 t0;

      seen = FALSE;
      t0 = g_get_monotonic_time ();
      if (!vd_store_commit (store, change, &error))
        g_error ("vd_store_commit: %s", error->message);
      while (!seen)
        g_main_context_iteration (NULL, TRUE);
      add_sample (shown, ms_since (t0));
      if (g_list_model_get_n_items (G_LIST_MODEL (today)) != before + 1)
        g_error ("the day on screen did not gain the saved appointment");
    }
  bench_print_stats ("  save on the shown day -> list reloaded", shown);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- the desk's local store on a 100,000-appointment clinic");
  g_autoptr(GError) error = NULL;
  g_autoptr(BenchClinic) clinic = NULL;
  g_autoptr(VdStore) store = NULL;
  g_autoptr(GRand) rand = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *wal = NULL;
  g_autofree char *shm = NULL;
  GDate today;
  GStatBuf st;
  double hwm, rss;
  gint64 t0;
  int y, m, d;

  g_option_context_add_main_entries (context, options, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  if (opt_dir != NULL)
    {
      g_mkdir_with_parents (opt_dir, 0700);
      dir = g_strdup (opt_dir);
    }
  else
    dir = g_dir_make_tmp ("bench-client-XXXXXX", &error);
  if (dir == NULL)
    g_error ("%s", error->message);
  path = g_build_filename (dir, "clinic.db", NULL);
  wal = g_strconcat (path, "-wal", NULL);
  shm = g_strconcat (path, "-shm", NULL);
  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);

  g_print ("bench-client: %s, %u cores, seed %u, store %s\n", g_get_host_name (),
           g_get_num_processors (), opt_seed, path);

  bench_clinic_today (&today);
  t0 = g_get_monotonic_time ();
  clinic = bench_clinic_new (opt_seed, &today);
  bench_clinic_day (clinic, 0, &y, &m, &d);
  g_print ("clinic: %u staff, %u clients, %u pets, %u appointments (%u changes) made in %.1f s\n",
           BENCH_CLINIC_STAFF, BENCH_CLINIC_CLIENTS, BENCH_CLINIC_PETS, BENCH_CLINIC_APPOINTMENTS,
           clinic->changes->len, ms_since (t0) / 1000);
  g_print ("  days %+d..%+d around the benchmark day %04d-%02d-%02d (%s), which has %u appointments; %u full days\n",
           clinic->first_offset, clinic->last_offset, y, m, d, BENCH_CLINIC_ZONE,
           clinic->anchor_count, clinic->full_days->len);

  store = open_store (path);
  fill_store (store, clinic);
  g_stat (path, &st);
  g_print ("  store file %.1f MB\n", st.st_size / 1048576.0);

  /* The generated changes are no part of a desk's memory. */
  g_ptr_array_set_size (clinic->changes, 0);
  g_clear_object (&store);
  malloc_trim (0);

  rand = g_rand_new_with_seed (opt_seed + 1);

  /* Warm: the file in the page cache, as on a desk that has been running. */
  {
    g_autofree char *bytes = NULL;
    gsize len;

    g_file_get_contents (path, &bytes, &len, NULL);
  }
  if (!reset_hwm ())
    g_print ("(VmHWM could not be reset: it includes the generator)\n");
  t0 = g_get_monotonic_time ();
  store = open_store (path);
  g_print ("open the store (page cache warm): %.2f ms\n", ms_since (t0));
  bench_load_days (store, clinic, rand);
  bench_memory_mb (&hwm, &rss);
  g_print ("memory after opening the store and loading %d days: VmHWM %.1f MB, VmRSS %.1f MB\n",
           opt_days, hwm, rss);

  bench_disk (dir);
  bench_saves (store, clinic, rand, wal);
  g_clear_object (&store);

  bench_cold (path, clinic);

  g_clear_object (&store);
  if (!opt_keep)
    {
      g_unlink (path);
      g_unlink (wal);
      g_unlink (shm);
      if (opt_dir == NULL)
        g_rmdir (dir);
    }
  return 0;
}
