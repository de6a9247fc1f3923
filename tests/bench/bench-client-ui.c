/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-client-ui.c — the desk app in a real window on a clinic of 100,000 appointments:
 * the first sync from a local syncd (total time and the longest gap between frames while
 * it runs), the app's memory with the clinic on screen, and cold start of a fresh process
 * to the first painted frame of the day. Run under xvfb-run and dbus-run-session. */
#define G_LOG_DOMAIN "bench-client-ui"

#include "config.h"

#include <adwaita.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-clinic.h"
#include "vd-application.h"
#include "vd-protocol.h"
#include "vd-window.h"
#include "vd-store-models.h"
#include "vd-test-syncd.h"
#include "vd-time.h"
#include "vds-auth.h"
#include "vds-store.h"

#define BENCH_USER     "recepcion.bench"
#define BENCH_PASSWORD "vetdesk-bench"
#define BENCH_SLUG     "clinica-bench"
#define GAP_LIMIT_MS   100.0

static char *opt_phase = NULL;
static int opt_runs = 5;
static gboolean opt_cold_cache;
static gboolean opt_keep;
static gboolean opt_empty_window;
static guint opt_seed = BENCH_CLINIC_SEED;
/* Internal: the two child processes this program starts. */
static char *opt_fill_server;
static char *opt_cold_child;
static char *opt_expect_id;

static const GOptionEntry options[] = {
  { "phase", 0, 0, G_OPTION_ARG_STRING, &opt_phase, "all (default) or bootstrap (no cold starts)", "PHASE" },
  { "runs", 0, 0, G_OPTION_ARG_INT, &opt_runs, "Cold starts per variant (default 5)", "N" },
  { "cold-cache", 0, 0, G_OPTION_ARG_NONE, &opt_cold_cache,
    "Also cold starts with the page cache dropped (needs root)", NULL },
  { "seed", 0, 0, G_OPTION_ARG_INT, &opt_seed, "Seed of the clinic (default 20261128)", "N" },
  { "keep", 0, 0, G_OPTION_ARG_NONE, &opt_keep, "Keep the home and syncd's directory", NULL },
  { "empty-window", 0, 0, G_OPTION_ARG_NONE, &opt_empty_window,
    "Only the memory of an empty libadwaita window of the app's size (the renderer's share)", NULL },
  { "fill-server", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_fill_server, NULL, NULL },
  { "cold-child", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_cold_child, NULL, NULL },
  { "expect-id", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_expect_id, NULL, NULL },
  { NULL }
};

static double
ms_between (gint64 from_us,
            gint64 to_us)
{
  return (to_us - from_us) / 1000.0;
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

/* ---- the server's database, filled in a child process ---- */

/* Company, clinic and front-desk user, then the clinic pushed as a desk would (batches of
 * the protocol's maximum), so syncd's own merge writes it. Prints the first appointment
 * of the benchmark day's id for the parent. */
static int
fill_server (const char *database)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BenchClinic) clinic = NULL;
  g_autofree char *company_id = NULL;
  g_autofree char *tenant_id = NULL;
  g_autofree char *user_id = NULL;
  g_autofree char *hash = NULL;
  const char *anchor_id = NULL;
  g_autoptr(GPtrArray) order = NULL;
  VdsStore *store;
  GDate today;
  gint64 t0 = g_get_monotonic_time ();
  gint64 batch_id = 0;
  gint64 anchor_start, anchor_end;
  int y, m, d;

  bench_clinic_today (&today);
  clinic = bench_clinic_new (opt_seed, &today);
  bench_clinic_day (clinic, 0, &y, &m, &d);
  vd_time_day_bounds (clinic->zone, y, m, d, &anchor_start, &anchor_end);

  store = vds_store_open (database, 4, &error);
  if (store == NULL
      || !vds_auth_init (&error)
      || (hash = vds_auth_hash_password (BENCH_PASSWORD, &error)) == NULL
      || !vds_store_add_company (store, "Bench Veterinaria S.L.", &company_id, &error)
      || !vds_store_add_tenant (store, BENCH_SLUG, "Clínica Veterinaria Bench", BENCH_CLINIC_ZONE,
                                "EUR", company_id, &tenant_id, &error)
      || !vds_store_add_user (store, BENCH_USER, "Recepción Bench", hash, "none", &user_id, &error)
      || !vds_store_add_membership (store, user_id, tenant_id, "front_desk", &error))
    g_error ("setting up the server's clinic: %s", error->message);

  /* Staff, clients and pets first (appointments refer to them), then the appointments
   * newest first: syncd's double-booking check looks at every earlier appointment of the
   * staff member (find_overlaps: starts_at < ends AND ends_at > starts has no lower
   * bound), so oldest-first costs O(n²) and did not finish in 15 minutes here. */
  order = g_ptr_array_new ();
  for (guint i = 0; i < clinic->changes->len; i++)
    {
      VdChange *change = g_ptr_array_index (clinic->changes, i);

      if (strcmp (change->table->name, "appointments") != 0)
        g_ptr_array_add (order, change);
    }
  for (guint i = clinic->changes->len; i > 0; i--)
    {
      VdChange *change = g_ptr_array_index (clinic->changes, i - 1);

      if (strcmp (change->table->name, "appointments") == 0)
        g_ptr_array_add (order, change);
    }

  for (guint from = 0; from < order->len; from += VD_PROTOCOL_MAX_PUSH)
    {
      guint n = MIN (VD_PROTOCOL_MAX_PUSH, order->len - from);
      g_autoptr(VdPushRequest) req = g_new0 (VdPushRequest, 1);
      g_autofree char *answer = NULL;

      g_strlcpy (req->device_id, BENCH_CLINIC_SITE, sizeof req->device_id);
      req->batch_id = ++batch_id;
      req->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
      req->indices = g_array_new (FALSE, FALSE, sizeof (guint));
      req->rejected = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_rejection_free);
      req->n_total = n;
      for (guint i = 0; i < n; i++)
        {
          const VdChange *change = g_ptr_array_index (order, from + i);
          const VdCell *start = vd_change_get_cell (change, "starts_at");
          gint64 when;

          g_ptr_array_add (req->changes, vd_change_copy (change));
          g_array_append_val (req->indices, i);
          if (anchor_id == NULL && start != NULL &&
              vd_time_parse_utc (start->value.s, &when, NULL) && when >= anchor_start && when < anchor_end)
            anchor_id = change->id;
        }
      if (!vds_store_push (store, tenant_id, req, &answer, &error))
        g_error ("vds_store_push: %s", error->message);
      if (strstr (answer, "\"rejected\":[]") == NULL)
        g_error ("syncd refused changes of the clinic: %.400s", answer);
    }
  vds_store_free (store);

  g_print ("FILL changes=%u seconds=%.1f anchor_count=%u anchor_id=%s first=%d last=%d day=%04d-%02d-%02d\n",
           clinic->changes->len, ms_between (t0, g_get_monotonic_time ()) / 1000, clinic->anchor_count,
           anchor_id, clinic->first_offset, clinic->last_offset, y, m, d);
  return 0;
}

/* ---- waiting on the main loop ---- */

static gboolean
wake_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Blocks in the main loop until cond holds; a 20 ms timer bounds each wait. */
#define WAIT_UNTIL(cond, seconds, what)                                                  \
  G_STMT_START {                                                                         \
    gint64 wait_end_ = g_get_monotonic_time () + (gint64) (seconds) * G_USEC_PER_SEC;    \
    guint wake_ = g_timeout_add (20, wake_cb, NULL);                                     \
    while (!(cond))                                                                      \
      {                                                                                  \
        if (g_get_monotonic_time () > wait_end_)                                         \
          g_error ("Waited %d s for %s", (int) (seconds), what);                         \
        g_main_context_iteration (NULL, TRUE);                                           \
      }                                                                                  \
    g_source_remove (wake_);                                                             \
  } G_STMT_END

static void
settle (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  WAIT_UNTIL (g_get_monotonic_time () >= end, ms / 1000 + 2, "time to pass");
}

typedef gboolean (*Match) (GtkWidget *widget, gconstpointer data);

static GtkWidget *
find_widget (GtkWidget     *root,
             Match          match,
             gconstpointer  data)
{
  if (match (root, data))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, match, data);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
match_type (GtkWidget     *widget,
            gconstpointer  data)
{
  return G_TYPE_CHECK_INSTANCE_TYPE (widget, GPOINTER_TO_SIZE (data));
}

static gboolean
match_row_title (GtkWidget     *widget,
                 gconstpointer  data)
{
  return ADW_IS_PREFERENCES_ROW (widget) && !ADW_IS_PASSWORD_ENTRY_ROW (widget) &&
         g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), data) == 0;
}

static gboolean
match_class (GtkWidget     *widget,
             gconstpointer  data)
{
  return gtk_widget_has_css_class (widget, data) && gtk_widget_is_visible (widget);
}

static gboolean
match_button_class (GtkWidget     *widget,
                    gconstpointer  data)
{
  return GTK_IS_BUTTON (widget) && match_class (widget, data);
}

static void
click (GtkWidget *button)
{
  g_assert (button != NULL && gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

/* ---- frames ---- */

typedef struct
{
  GArray   *ticks;       /* of gint64: monotonic µs of each frame's update phase */
  gboolean  recording;
  guint64   paints;
} Frames;

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  Frames *frames = user_data;
  gint64 now = g_get_monotonic_time ();

  /* Asking for the next frame at every frame keeps the clock running, so a gap between
   * two ticks is time the main loop could not draw. */
  if (frames->recording)
    g_array_append_val (frames->ticks, now);
  return G_SOURCE_CONTINUE;
}

static void
after_paint_cb (GdkFrameClock *clock,
                Frames        *frames)
{
  frames->paints++;
}

static void
print_gaps (GArray *ticks)
{
  g_autoptr(GArray) gaps = new_samples ();
  guint over = 0;
  double max_gap = 0;
  gint64 max_at = 0;

  for (guint i = 1; i < ticks->len; i++)
    {
      double gap = ms_between (g_array_index (ticks, gint64, i - 1), g_array_index (ticks, gint64, i));

      add_sample (gaps, gap);
      if (gap > GAP_LIMIT_MS)
        over++;
      if (gap > max_gap)
        {
          max_gap = gap;
          max_at = g_array_index (ticks, gint64, i) - g_array_index (ticks, gint64, 0);
        }
    }
  bench_print_stats ("  frame gaps while syncing", gaps);
  g_print ("  frames %u, longest gap %.1f ms (at +%.1f s), gaps over %.0f ms: %u\n",
           ticks->len, max_gap, max_at / 1e6, GAP_LIMIT_MS, over);
  g_print ("SUMMARY_GAPS frames=%u max_gap_ms=%.1f gaps_over_100ms=%u p99_gap_ms=%.1f\n",
           ticks->len, max_gap, over, bench_percentile (gaps, 99));
}

/* ---- the keyring the refresh token goes to ---- */

static gboolean
bus_has_name (GDBusConnection *bus,
              const char      *name)
{
  g_autoptr(GVariant) owner = NULL;
  gboolean has_owner = FALSE;

  owner = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", name),
                                       G_VARIANT_TYPE ("(b)"), 0, 5000, NULL, NULL);
  if (owner != NULL)
    g_variant_get (owner, "(b)", &has_owner);
  return has_owner;
}

static GSubprocess *
start_keyring (void)
{
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autofree char *path = g_find_program_in_path ("gnome-keyring-daemon");
  GSubprocess *keyring;
  gint64 end;

  if (bus == NULL)
    {
      g_print ("(no session bus: the sign-in is not kept; run under dbus-run-session)\n");
      return NULL;
    }
  if (path == NULL || bus_has_name (bus, "org.freedesktop.secrets"))
    return NULL;
  keyring = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE,
                              NULL, path, "--foreground", "--unlock", "--components=secrets", NULL);
  if (keyring == NULL)
    return NULL;
  g_output_stream_write_all (g_subprocess_get_stdin_pipe (keyring), "vd-bench", 8, NULL, NULL, NULL);
  g_output_stream_close (g_subprocess_get_stdin_pipe (keyring), NULL, NULL);
  end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!bus_has_name (bus, "org.freedesktop.secrets") && g_get_monotonic_time () < end)
    g_usleep (50000);
  return keyring;
}

/* ---- bootstrap ---- */

typedef struct
{
  char  *anchor_id;
  guint  anchor_count;
  guint  changes;
} Filled;

static void
run_fill (const char *self_path,
          const char *database,
          Filled     *filled)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) child = NULL;
  g_autofree char *out = NULL;
  g_autofree char *seed = g_strdup_printf ("%u", opt_seed);
  const char *line;

  child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, self_path,
                            "--fill-server", database, "--seed", seed, NULL);
  if (child == NULL || !g_subprocess_communicate_utf8 (child, NULL, NULL, &out, NULL, &error))
    g_error ("filling syncd's database: %s", error->message);
  if (!g_subprocess_get_successful (child) || (line = strstr (out, "FILL ")) == NULL)
    g_error ("filling syncd's database failed: %s", out);
  g_print ("server: %s", line + 5);
  filled->anchor_id = g_strdup (strstr (line, "anchor_id=") + 10);
  *strchr (filled->anchor_id, ' ') = '\0';
  filled->anchor_count = (guint) g_ascii_strtoull (strstr (line, "anchor_count=") + 13, NULL, 10);
  filled->changes = (guint) g_ascii_strtoull (strstr (line, "changes=") + 8, NULL, 10);
}

static guint
count_day (VdWindow *window)
{
  VdStore *store = vd_window_get_store (window);
  g_autoptr(VdAppointmentList) list = NULL;
  gint64 start, end;
  int y, m, d;

  vd_time_today_bounds (vd_store_get_time_zone (store), g_get_real_time () / G_USEC_PER_SEC,
                        &start, &end, &y, &m, &d);
  list = vd_appointment_list_new (store, start, end, NULL);
  return g_list_model_get_n_items (G_LIST_MODEL (list));
}

static void
bootstrap (VdTestSyncd *syncd,
           Filled      *filled)
{
  g_autoptr(VdApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  Frames frames = { g_array_new (FALSE, FALSE, sizeof (gint64)), FALSE, 0 };
  VdWindow *window;
  VdSignInPage *page;
  GtkWidget *fingerprint = NULL;
  VdDayView *day_view;
  graphene_rect_t area;
  gint64 t_click, t_bootstrap_page = 0, t_main;
  guint64 paints;
  double hwm, rss;
  guint tick_id;

  app = vd_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  if (!g_application_register (G_APPLICATION (app), NULL, &error))
    g_error ("g_application_register: %s", error->message);

  window = vd_window_new (app, vd_test_syncd_get_url (syncd));
  gtk_window_present (GTK_WINDOW (window));
  WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (window)), 30, "the window to show");
  tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (window), tick_cb, &frames, NULL);
  g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (window)), "after-paint",
                    G_CALLBACK (after_paint_cb), &frames);
  g_assert (g_strcmp0 (vd_window_get_page (window), "sign-in") == 0);
  page = vd_window_get_sign_in_page (window);
  settle (500);
  bench_memory_mb (&hwm, &rss);
  g_print ("memory of the app process on the sign-in page (GTK, GL, fonts; no clinic yet): VmHWM %.1f MB, VmRSS %.1f MB\n",
           hwm, rss);

  gtk_editable_set_text (GTK_EDITABLE (find_widget (GTK_WIDGET (page), match_row_title, "Username")), BENCH_USER);
  gtk_editable_set_text (GTK_EDITABLE (find_widget (GTK_WIDGET (page), match_type,
                                                    GSIZE_TO_POINTER (ADW_TYPE_PASSWORD_ENTRY_ROW))),
                         BENCH_PASSWORD);
  click (find_widget (GTK_WIDGET (page), match_button_class, "suggested-action"));
  /* The test certificate is trusted by its fingerprint, as a person would confirm it. */
  WAIT_UNTIL ((fingerprint = find_widget (GTK_WIDGET (page), match_class, "fingerprint")) != NULL &&
              gtk_widget_is_visible (fingerprint) && !vd_sign_in_page_get_busy (page),
              30, "the fingerprint");
  gtk_switch_set_active (GTK_SWITCH (find_widget (GTK_WIDGET (page), match_type, GSIZE_TO_POINTER (GTK_TYPE_SWITCH))), TRUE);
  settle (300);

  frames.recording = TRUE;
  paints = frames.paints;
  t_click = g_get_monotonic_time ();
  click (find_widget (GTK_WIDGET (page), match_button_class, "suggested-action"));
  WAIT_UNTIL (g_strcmp0 (vd_window_get_page (window), "sign-in") != 0, 60, "the sign-in to finish");
  if (g_strcmp0 (vd_window_get_page (window), "bootstrap") == 0)
    t_bootstrap_page = g_get_monotonic_time ();
  WAIT_UNTIL (g_strcmp0 (vd_window_get_page (window), "main") == 0, 600, "the first sync");
  t_main = g_get_monotonic_time ();
  frames.recording = FALSE;

  g_print ("bootstrap of %u changes from syncd on this machine (sign-in click -> main page): %.2f s\n",
           filled->changes, ms_between (t_click, t_main) / 1000);
  if (t_bootstrap_page != 0)
    g_print ("  sign-in (login, replica made) %.2f s, then the first sync %.2f s (%.0f changes/s)\n",
             ms_between (t_click, t_bootstrap_page) / 1000, ms_between (t_bootstrap_page, t_main) / 1000,
             filled->changes / (ms_between (t_bootstrap_page, t_main) / 1000));
  g_print ("  frames painted while syncing: %" G_GUINT64_FORMAT "\n", frames.paints - paints);
  print_gaps (frames.ticks);
  if (vd_store_get_cursor (vd_window_get_store (window)) <= 0 || count_day (window) != filled->anchor_count)
    g_error ("after the first sync the benchmark day has %u appointments, the server %u",
             count_day (window), filled->anchor_count);

  /* The day as staff look at it: the schedule of today, drawn. */
  g_assert (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-section", "s", "schedule"));
  day_view = vd_window_get_day_view (window);
  WAIT_UNTIL (gtk_widget_get_mapped (GTK_WIDGET (day_view)) &&
              vd_day_view_get_block_area (day_view, filled->anchor_id, &area), 30, "the day view");
  paints = frames.paints;
  WAIT_UNTIL (frames.paints > paints + 2, 30, "the day view to be painted");
  bench_memory_mb (&hwm, &rss);
  g_print ("memory of the app process with the clinic synced and the day shown: VmHWM %.1f MB, VmRSS %.1f MB\n",
           hwm, rss);
  g_print ("SUMMARY_BOOTSTRAP seconds=%.2f hwm_mb=%.1f rss_mb=%.1f\n",
           ms_between (t_click, t_main) / 1000, hwm, rss);

  gtk_widget_remove_tick_callback (GTK_WIDGET (window), tick_id);
  g_signal_handlers_disconnect_by_func (gtk_widget_get_frame_clock (GTK_WIDGET (window)), after_paint_cb, &frames);
  /* Let the token reach the keyring before the window goes. */
  settle (1000);
  gtk_window_destroy (GTK_WINDOW (window));
  settle (200);
  g_array_unref (frames.ticks);
}

/* ---- cold start: the child ---- */

static gint64 child_t_main;
static gint64 child_t_realize;
static const char *child_section;

static gboolean
today_row (GtkWidget     *widget,
           gconstpointer  data)
{
  return ADW_IS_ACTION_ROW (widget) && gtk_widget_get_mapped (widget);
}

static void
child_after_paint_cb (GdkFrameClock *clock,
                      VdWindow      *window)
{
  static guint paints;
  gboolean ready;
  graphene_rect_t area;
  double hwm, rss;

  paints++;
  if (g_strcmp0 (vd_window_get_page (window), "main") != 0)
    return;
  if (g_strcmp0 (child_section, "schedule") == 0)
    ready = gtk_widget_get_mapped (GTK_WIDGET (vd_window_get_day_view (window))) &&
            vd_day_view_get_block_area (vd_window_get_day_view (window), opt_expect_id, &area);
  else
    ready = find_widget (GTK_WIDGET (window), today_row, NULL) != NULL;
  if (!ready)
    return;

  bench_memory_mb (&hwm, &rss);
  printf ("COLD main=%" G_GINT64_FORMAT " realize=%" G_GINT64_FORMAT " painted=%" G_GINT64_FORMAT
          " paints=%u hwm_mb=%.1f rss_mb=%.1f\n",
          child_t_main, child_t_realize, g_get_monotonic_time (), paints, hwm, rss);
  fflush (stdout);
  /* Measured: no teardown. */
  _exit (0);
}

static void
child_realize_cb (GtkWidget *widget)
{
  VdWindow *window = VD_WINDOW (widget);

  child_t_realize = g_get_monotonic_time ();
  /* The schedule instead of Today, chosen before the first frame. */
  if (g_strcmp0 (child_section, "schedule") == 0)
    gtk_widget_activate_action (widget, "win.show-section", "s", "schedule");
  g_signal_connect (gtk_widget_get_frame_clock (widget), "after-paint",
                    G_CALLBACK (child_after_paint_cb), window);
}

static void
child_window_added_cb (GtkApplication *app,
                       GtkWindow      *window)
{
  if (VD_IS_WINDOW (window))
    g_signal_connect (window, "realize", G_CALLBACK (child_realize_cb), NULL);
}

static gboolean
child_timeout_cb (gpointer data)
{
  g_printerr ("cold start: nothing painted with the day after 60 s\n");
  exit (1);
}

/* What vd-main.c does, with the hooks above. */
static int
cold_child (const char *argv0)
{
  g_autoptr(VdApplication) app = NULL;
  char *app_argv[] = { (char *) argv0, NULL };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_("VetDesk"));
  vd_application_pick_renderer ();

  app = vd_application_new ();
  g_signal_connect (app, "window-added", G_CALLBACK (child_window_added_cb), NULL);
  g_timeout_add_seconds (60, child_timeout_cb, NULL);

  return g_application_run (G_APPLICATION (app), 1, app_argv);
}

/* ---- cold start: the parent ---- */

static void
cold_starts (const char *self_path,
             const char *section,
             gboolean    drop,
             const char *expect_id)
{
  g_autoptr(GArray) to_main = new_samples ();
  g_autoptr(GArray) to_paint = new_samples ();
  g_autoptr(GArray) main_to_paint = new_samples ();
  double hwm_max = 0;
  g_autofree char *name = NULL;

  for (int i = 0; i < opt_runs; i++)
    {
      g_autoptr(GSubprocess) child = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *out = NULL;
      gint64 t0, t_main, t_paint;
      double hwm, rss;
      const char *line;

      if (drop && !drop_caches ())
        {
          g_print ("cold start with the page cache dropped: skipped (%s)\n", g_strerror (errno));
          return;
        }
      t0 = g_get_monotonic_time ();
      child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, self_path,
                                "--cold-child", section, "--expect-id", expect_id, NULL);
      if (child == NULL || !g_subprocess_communicate_utf8 (child, NULL, NULL, &out, NULL, &error))
        g_error ("cold start: %s", error->message);
      if (!g_subprocess_get_successful (child) || (line = strstr (out, "COLD ")) == NULL ||
          sscanf (line, "COLD main=%" G_GINT64_FORMAT " realize=%*d painted=%" G_GINT64_FORMAT
                  " paints=%*u hwm_mb=%lf rss_mb=%lf", &t_main, &t_paint, &hwm, &rss) != 4)
        g_error ("cold start failed: %s", out);
      add_sample (to_main, ms_between (t0, t_main));
      add_sample (to_paint, ms_between (t0, t_paint));
      add_sample (main_to_paint, ms_between (t_main, t_paint));
      hwm_max = MAX (hwm_max, hwm);
    }
  g_print ("cold start to the first painted %s (%s page cache), %d fresh processes:\n",
           g_strcmp0 (section, "schedule") == 0 ? "day view (Schedule)" : "Today list",
           drop ? "dropped" : "warm", opt_runs);
  name = g_strdup_printf ("  %s: exec -> painted", section);
  bench_print_stats (name, to_paint);
  g_free (name);
  name = g_strdup_printf ("  %s: exec -> main()", section);
  bench_print_stats (name, to_main);
  g_free (name);
  name = g_strdup_printf ("  %s: main() -> painted", section);
  bench_print_stats (name, main_to_paint);
  g_print ("  child VmHWM at first paint: max %.1f MB\n", hwm_max);
  g_print ("SUMMARY_COLD section=%s cache=%s p50_ms=%.1f max_ms=%.1f hwm_mb=%.1f\n", section,
           drop ? "dropped" : "warm", bench_percentile (to_paint, 50), bench_percentile (to_paint, 100), hwm_max);
}

/* ---- the baseline: an empty window ---- */

static void
count_paint_cb (GdkFrameClock *clock,
                guint         *paints)
{
  (*paints)++;
}

/* What GTK, libadwaita, the fonts and the renderer cost before the app draws anything:
 * the lead can tell the app's share of its VmHWM from the renderer's. */
static int
empty_window (void)
{
  GtkWidget *window = adw_window_new ();
  guint paints = 0;
  double hwm, rss;

  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_present (GTK_WINDOW (window));
  WAIT_UNTIL (gtk_widget_get_mapped (window), 30, "the window to show");
  g_signal_connect (gtk_widget_get_frame_clock (window), "after-paint", G_CALLBACK (count_paint_cb), &paints);
  gtk_widget_queue_draw (window);
  WAIT_UNTIL (paints > 0, 30, "the window to be painted");
  settle (500);
  bench_memory_mb (&hwm, &rss);
  g_print ("memory of an empty AdwWindow 1280x800 (GSK_RENDERER=%s): VmHWM %.1f MB, VmRSS %.1f MB\n",
           g_getenv ("GSK_RENDERER") ? g_getenv ("GSK_RENDERER") : "default", hwm, rss);
  g_print ("SUMMARY_EMPTY hwm_mb=%.1f rss_mb=%.1f\n", hwm, rss);
  gtk_window_destroy (GTK_WINDOW (window));
  return 0;
}

/* ---- main ---- */

static void
make_home (const char *home)
{
  static const char * const vars[] = { "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME" };

  for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
    {
      g_autofree char *dir = g_build_filename (home, vars[i], NULL);

      g_mkdir_with_parents (dir, 0700);
      g_setenv (vars[i], dir, TRUE);
    }
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

int
main (int   argc,
      char *argv[])
{
  gint64 t_start = g_get_monotonic_time ();
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VdTestSyncd) syncd = NULL;
  g_autoptr(GSubprocess) keyring = NULL;
  g_autofree char *self_path = NULL;
  g_autofree char *home = NULL;
  Filled filled = { NULL, 0, 0 };

  child_t_main = t_start;
  context = g_option_context_new ("- the desk app on a 100,000-appointment clinic");
  g_option_context_add_main_entries (context, options, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_fill_server != NULL)
    return fill_server (opt_fill_server);
  /* As vd-main.c: cairo when there is no GPU, unless GSK_RENDERER says otherwise. */
  if (opt_cold_child == NULL)
    {
      const char *renderer = vd_application_pick_renderer ();

      g_print ("renderer: %s\n", renderer != NULL ? renderer : "GTK's choice (a GPU is present)");
    }
  if (opt_cold_child != NULL)
    {
      child_section = opt_cold_child;
      return cold_child (argv[0]);
    }
  if (opt_phase == NULL)
    opt_phase = g_strdup ("all");

  self_path = g_file_read_link ("/proc/self/exe", NULL);
  home = g_dir_make_tmp ("bench-client-ui-XXXXXX", &error);
  if (home == NULL)
    g_error ("%s", error->message);
  make_home (home);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("GSETTINGS_SCHEMA_DIR", VD_SCHEMAS_DIR, FALSE);
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("LANGUAGE", "C", TRUE);

  if (!gtk_init_check ())
    {
      g_printerr ("No display: run under xvfb-run -a -s \"-screen 0 1920x1080x24\" dbus-run-session -- ...\n");
      return 77;
    }
  adw_init ();
  if (opt_empty_window)
    {
      int rc = empty_window ();

      remove_tree (home);
      return rc;
    }
  g_print ("bench-client-ui: %s, %u cores, seed %u, home %s\n", g_get_host_name (),
           g_get_num_processors (), opt_seed, home);

  keyring = start_keyring ();
  syncd = vd_test_syncd_new (VETDESK_SYNCD, NULL);
  run_fill (self_path, vd_test_syncd_get_database (syncd), &filled);
  if (!vd_test_syncd_start (syncd, &error))
    g_error ("starting syncd: %s", error->message);

  bootstrap (syncd, &filled);

  /* The desk now has its account and replica; start it again without the server, as on
   * a morning the internet is down. */
  if (!vd_test_syncd_stop (syncd, &error))
    g_warning ("stopping syncd: %s", error->message);

  if (g_strcmp0 (opt_phase, "bootstrap") != 0)
    {
      cold_starts (self_path, "schedule", FALSE, filled.anchor_id);
      cold_starts (self_path, "today", FALSE, filled.anchor_id);
      if (opt_cold_cache)
        {
          cold_starts (self_path, "schedule", TRUE, filled.anchor_id);
          cold_starts (self_path, "today", TRUE, filled.anchor_id);
        }
    }

  if (keyring != NULL)
    g_subprocess_force_exit (keyring);
  if (opt_keep)
    g_print ("kept: %s\n", home);
  else
    remove_tree (home);
  g_free (filled.anchor_id);
  return 0;
}
