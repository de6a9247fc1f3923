/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-bench.c — load generator for vetdesk-syncd: starts a real syncd (SQLite or a
 * throwaway PostgreSQL), makes clinics, users and devices, drives the sync protocol over
 * HTTPS with libsoup and prints throughput, latency, errors and syncd's memory and CPU.
 * It prints figures and never judges them: build-aux/bench.sh collects the summaries. */
#define G_LOG_DOMAIN "vds-bench"

#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libpq-fe.h>
#include <libsoup/soup.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "vd-change.h"
#include "vd-hlc.h"
#include "vd-id.h"
#include "vd-protocol.h"
#include "vd-schema.h"
#include "vds-auth.h"
#include "vds-demo.h"
#include "vds-store.h"
#include "vd-test-pg.h"
#include "vd-test-syncd.h"

#define BENCH_PASSWORD   "bench-password-1"
#define DEMO_CLINIC_SLUG "hospital-norte"
#define DEMO_USERNAME    "recepcion.norte"
#define SLOT_SECONDS     1800      /* one appointment slot per clinic: never overlapping */
#define MAX_EDITABLE     256       /* appointment ids a simulated clinic keeps for edits */

/* ---- options ---- */

typedef struct
{
  char    *scenario;
  char    *backend;
  char    *database;
  char    *syncd;
  int      clinics;
  int      devices_per_clinic;
  double   seconds;
  double   warmup;
  int      requests;
  int      concurrency;
  int      bursts;
  int      batches;
  int      batch_size;
  int      connections;
  int      workers;
  int      idle_timeout;
  double   calls_per_day;
  double   day_hours;
  double   peak;
  int      push_percent;
  int      http_logins;
  int      bare_connections;
  int      setup_threads;
  int      seed;
} Options;

/* ---- measurements ---- */

typedef struct
{
  GArray     *latency_ms;   /* double: from the intended start (open loop) or the send */
  GArray     *service_ms;   /* double: from the send */
  GHashTable *errors;       /* "what" → count */
  guint64     bytes_in;
  guint64     changes;
} Stats;

typedef struct
{
  int      pid;
  gint64   rss_max_kb;
  guint64  cpu_start;        /* syncd utime + stime, clock ticks */
  guint64  busy_start;       /* the machine, /proc/stat ticks */
  guint64  total_start;
  double   self_start;       /* our own CPU seconds */
  gint64   t_start;
  guint    timer;
} Usage;

typedef struct _Bench  Bench;
typedef struct _Clinic Clinic;
typedef struct _Device Device;
typedef struct _Call   Call;

typedef enum
{
  CALL_LOGIN,
  CALL_PULL,
  CALL_PUSH,
} CallKind;

typedef void (*CallDone) (Call *call);

struct _Call
{
  Bench       *bench;
  SoupMessage *msg;
  CallKind     kind;
  Device      *device;
  Stats       *stats;         /* NULL: not recorded */
  Stats       *stats_all;     /* also recorded there, may be NULL */
  gint64       scheduled_us;
  gint64       sent_us;
  guint        n_changes;
  guint        n_creates;
  SoupMessageFlags flags;
  CallDone     done;
  gpointer     data;
  /* The outcome. */
  guint        status;
  GBytes      *body;
  char        *error;         /* NULL when it succeeded */
};

/* An arrival waiting for its device (scenario b): a desk syncs one call at a time. */
typedef struct
{
  gint64   scheduled_us;
  CallKind kind;
  gboolean record;
} Pending;

struct _Device
{
  char        id[VD_UUID_LEN + 1];
  char       *token;
  Clinic     *clinic;
  gint64      cursor;
  gint64      batch_id;
  VdHlcClock *clock;
  gboolean    busy;
  gboolean    ready;          /* in bench->ready */
  GQueue      pending;
  /* scenario c: the bodies of this device's pushes, sent in order */
  GPtrArray  *bodies;
  guint       next_body;
};

struct _Clinic
{
  guint      index;
  char      *id;
  char      *slug;
  char      *user_id;
  char      *username;
  char       staff[2][VD_UUID_LEN + 1];
  char       clients[3][VD_UUID_LEN + 1];
  char       pets[3][VD_UUID_LEN + 1];
  GPtrArray *appointments;      /* ids (char *) that edits pick from */
  guint      next_slot;
  guint64    expected_appointments;
  GPtrArray *devices;           /* Device */
};

struct _Bench
{
  Options      *opt;
  gboolean      postgres;
  char         *run_id;
  VdTestPg     *pg;
  VdTestSyncd  *syncd;
  char         *database;
  SoupSession  *session;
  char         *url;
  char         *fingerprint;
  GRand        *rand;
  gint64        base_time;      /* Unix seconds of slot 0 */
  guint         in_flight;
  GHashTable   *sent;           /* Call* in flight, for what is left at the end */
  guint         queued;         /* arrivals not sent yet */
  GQueue        ready;          /* Device: has a waiting arrival and nothing in flight */
  GPtrArray    *clinics;        /* Clinic */
  char         *company_id;
  char         *password_hash;
  Usage         usage;
  GString      *summary;        /* "key=value ..." for bench.sh */

  /* setup */
  VdsStore     *store;
  GMutex        setup_lock;
  char         *setup_error;
  guint         setup_done;

  /* scenario state */
  guint         outstanding;    /* closed loops: calls or devices still running */
  guint         issued;
  guint         target;
  gint64        a_from;         /* scenario a: the cursor each pull starts from */
  gboolean      arrivals_done;
  gint64        next_arrival_us;
  gint64        measure_start_us;
  gint64        end_us;
  double        rate;
  gboolean      bulk_creating;
  gint64        max_dispatch_lag_us;
  guint64       arrivals;
  Stats         stats_all;
  Stats         stats_pull;
  Stats         stats_push;
  Stats         stats_login;
};

/* ---- small helpers ---- */

static gint64
now_us (void)
{
  return g_get_monotonic_time ();
}

static void
stats_init (Stats *stats)
{
  stats->latency_ms = g_array_new (FALSE, FALSE, sizeof (double));
  stats->service_ms = g_array_new (FALSE, FALSE, sizeof (double));
  stats->errors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  stats->bytes_in = 0;
  stats->changes = 0;
}

static void
stats_clear (Stats *stats)
{
  g_clear_pointer (&stats->latency_ms, g_array_unref);
  g_clear_pointer (&stats->service_ms, g_array_unref);
  g_clear_pointer (&stats->errors, g_hash_table_unref);
}

static void
stats_count_error (Stats      *stats,
                   const char *what)
{
  gpointer old = g_hash_table_lookup (stats->errors, what);

  g_hash_table_replace (stats->errors, g_strdup (what),
                        GUINT_TO_POINTER (GPOINTER_TO_UINT (old) + 1));
}

static guint64
stats_n_errors (Stats *stats)
{
  GHashTableIter iter;
  gpointer value;
  guint64 n = 0;

  g_hash_table_iter_init (&iter, stats->errors);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    n += GPOINTER_TO_UINT (value);
  return n;
}

static int
compare_double (gconstpointer a,
                gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y ? 1 : 0;
}

/* Nearest-rank percentile of a sorted array. */
static double
percentile (GArray *sorted,
            double  p)
{
  guint rank;

  if (sorted->len == 0)
    return 0;
  rank = (guint) ceil (p / 100.0 * sorted->len);
  rank = CLAMP (rank, 1, sorted->len);
  return g_array_index (sorted, double, rank - 1);
}

static double
mean (GArray *values)
{
  double sum = 0;

  if (values->len == 0)
    return 0;
  for (guint i = 0; i < values->len; i++)
    sum += g_array_index (values, double, i);
  return sum / values->len;
}

/* Prints one block of figures; with key (not NULL) adds them to the summary line. */
static void
stats_print (Bench      *bench,
             Stats      *stats,
             const char *title,
             double      elapsed_s,
             gboolean    open_loop,
             const char *key)
{
  GHashTableIter iter;
  gpointer name, value;
  guint64 errors = stats_n_errors (stats);
  guint n = stats->latency_ms->len;
  double m, p50, p95, p99, max;

  g_array_sort (stats->latency_ms, compare_double);
  g_array_sort (stats->service_ms, compare_double);
  m = mean (stats->latency_ms);
  p50 = percentile (stats->latency_ms, 50);
  p95 = percentile (stats->latency_ms, 95);
  p99 = percentile (stats->latency_ms, 99);
  max = percentile (stats->latency_ms, 100);

  g_print ("  %s: %u answered in %.1f s = %.1f req/s; %" G_GUINT64_FORMAT " errors; "
           "%.1f MB received\n", title, n, elapsed_s, elapsed_s > 0 ? n / elapsed_s : 0,
           errors, stats->bytes_in / 1e6);
  if (n > 0)
    g_print ("    latency ms%s: mean %.2f  p50 %.2f  p95 %.2f  p99 %.2f  max %.2f\n",
             open_loop ? " (from the scheduled arrival)" : "", m, p50, p95, p99, max);
  if (open_loop && n > 0)
    g_print ("    latency ms (from the send): mean %.2f  p50 %.2f  p95 %.2f  p99 %.2f\n",
             mean (stats->service_ms), percentile (stats->service_ms, 50),
             percentile (stats->service_ms, 95), percentile (stats->service_ms, 99));
  g_hash_table_iter_init (&iter, stats->errors);
  while (g_hash_table_iter_next (&iter, &name, &value))
    g_print ("    error %-40s %u\n", (char *) name, GPOINTER_TO_UINT (value));

  if (key != NULL)
    g_string_append_printf (bench->summary,
                            " %s_n=%u %s_rps=%.1f %s_mean_ms=%.2f %s_p50_ms=%.2f "
                            "%s_p95_ms=%.2f %s_p99_ms=%.2f %s_max_ms=%.2f %s_errors=%"
                            G_GUINT64_FORMAT,
                            key, n, key, elapsed_s > 0 ? n / elapsed_s : 0, key, m, key,
                            p50, key, p95, key, p99, key, max, key, errors);
}

static char *
format_timestamp (gint64 unix_s)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (unix_s);

  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
}

/* ---- the syncd process: memory and CPU from /proc ---- */

static char *
read_proc_file (int         pid,
                const char *name)
{
  g_autofree char *path = pid > 0 ? g_strdup_printf ("/proc/%d/%s", pid, name)
                                  : g_strdup_printf ("/proc/%s", name);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

/* A field of /proc/PID/status in kB ("VmRSS:"), or -1. */
static gint64
read_status_kb (int         pid,
                const char *field)
{
  g_autofree char *text = read_proc_file (pid, "status");
  const char *p;

  if (text == NULL || (p = strstr (text, field)) == NULL)
    return -1;
  return g_ascii_strtoll (p + strlen (field), NULL, 10);
}

/* utime + stime of a process, in clock ticks. */
static guint64
read_process_ticks (int pid)
{
  g_autofree char *text = read_proc_file (pid, "stat");
  g_auto(GStrv) fields = NULL;
  const char *p;

  /* The command name may hold spaces: count fields after its closing parenthesis. */
  if (text == NULL || (p = strrchr (text, ')')) == NULL)
    return 0;
  fields = g_strsplit (p + 2, " ", -1);
  if (g_strv_length (fields) < 13)
    return 0;
  /* Fields 14 and 15 of stat(5); fields[0] is field 3. */
  return g_ascii_strtoull (fields[11], NULL, 10) + g_ascii_strtoull (fields[12], NULL, 10);
}

static void
read_machine_ticks (guint64 *out_busy,
                    guint64 *out_total)
{
  g_autofree char *text = read_proc_file (0, "stat");
  g_auto(GStrv) fields = NULL;
  guint64 total = 0, idle = 0;

  *out_busy = *out_total = 0;
  if (text == NULL || !g_str_has_prefix (text, "cpu "))
    return;
  text[strcspn (text, "\n")] = '\0';
  fields = g_strsplit_set (text + 4, " ", -1);
  for (guint i = 0, col = 0; fields[i] != NULL; i++)
    {
      guint64 v;

      if (fields[i][0] == '\0')
        continue;
      v = g_ascii_strtoull (fields[i], NULL, 10);
      /* user nice system idle iowait irq softirq steal (guest is inside user) */
      if (col < 8)
        total += v;
      if (col == 3 || col == 4)
        idle += v;
      col++;
    }
  *out_busy = total - idle;
  *out_total = total;
}

static double
self_cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
         + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The pid of the syncd serving from data_dir: its command line names that directory. */
static int
find_syncd_pid (const char *data_dir)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *cmdline = NULL;
      gsize len;
      gboolean serve = FALSE, ours = FALSE;

      if (strspn (name, "0123456789") != strlen (name))
        continue;
      path = g_strdup_printf ("/proc/%s/cmdline", name);
      if (!g_file_get_contents (path, &cmdline, &len, NULL))
        continue;
      for (gsize off = 0; off < len; off += strlen (cmdline + off) + 1)
        {
          if (g_str_equal (cmdline + off, "serve"))
            serve = TRUE;
          if (g_str_equal (cmdline + off, data_dir))
            ours = TRUE;
        }
      if (serve && ours)
        return atoi (name);
    }
  return -1;
}

static gboolean
usage_sample_cb (gpointer data)
{
  Bench *bench = data;
  gint64 rss = read_status_kb (bench->usage.pid, "VmRSS:");

  bench->usage.rss_max_kb = MAX (bench->usage.rss_max_kb, rss);
  return G_SOURCE_CONTINUE;
}

/* Starts a measured window: CPU counters now, RSS sampled every 200 ms until the end. */
static void
usage_begin (Bench *bench)
{
  Usage *u = &bench->usage;

  u->rss_max_kb = read_status_kb (u->pid, "VmRSS:");
  u->cpu_start = read_process_ticks (u->pid);
  read_machine_ticks (&u->busy_start, &u->total_start);
  u->self_start = self_cpu_seconds ();
  u->t_start = now_us ();
  if (u->timer == 0)
    u->timer = g_timeout_add (200, usage_sample_cb, bench);
}

/* Ends the window; the figures go to out, printed after the latency figures. */
static void
usage_end (Bench      *bench,
           const char *key,
           GString    *out)
{
  Usage *u = &bench->usage;
  double tick = sysconf (_SC_CLK_TCK);
  double elapsed = (now_us () - u->t_start) / 1e6;
  guint64 busy, total;
  double syncd_cpu, self_cpu, machine, ncpu = g_get_num_processors ();
  gint64 rss = read_status_kb (u->pid, "VmRSS:");
  gint64 hwm = read_status_kb (u->pid, "VmHWM:");

  g_clear_handle_id (&u->timer, g_source_remove);
  u->rss_max_kb = MAX (u->rss_max_kb, rss);
  read_machine_ticks (&busy, &total);
  syncd_cpu = (read_process_ticks (u->pid) - u->cpu_start) / tick / elapsed * 100;
  self_cpu = (self_cpu_seconds () - u->self_start) / elapsed * 100;
  machine = total > u->total_start
            ? (double) (busy - u->busy_start) / (total - u->total_start) * 100 * ncpu : 0;

  g_string_append_printf (out, "    syncd (pid %d): RSS %.1f MB at the end, %.1f MB max "
                          "sampled in the window, VmHWM %.1f MB since it started\n", u->pid,
                          rss / 1024.0, u->rss_max_kb / 1024.0, hwm / 1024.0);
  g_string_append_printf (out, "    CPU in the window, %% of one core: syncd %.0f, load "
                          "generator %.0f, everything else (PostgreSQL, other processes) "
                          "%.0f; machine %.0f of %.0f\n", syncd_cpu, self_cpu,
                          MAX (0, machine - syncd_cpu - self_cpu), machine, ncpu * 100);
  if (key != NULL)
    g_string_append_printf (bench->summary,
                            " %s_rss_mb=%.1f %s_rss_max_mb=%.1f %s_hwm_mb=%.1f "
                            "%s_syncd_cpu=%.0f %s_gen_cpu=%.0f %s_other_cpu=%.0f",
                            key, rss / 1024.0, key, u->rss_max_kb / 1024.0, key, hwm / 1024.0,
                            key, syncd_cpu, key, self_cpu, key,
                            MAX (0, machine - syncd_cpu - self_cpu));
}

/* ---- HTTPS calls ---- */

/* "code" of an error answer, or NULL. */
static char *
error_code_of (GBytes *body)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *error;
  gsize len = 0;
  const char *data = body ? g_bytes_get_data (body, &len) : NULL;

  if (data == NULL || !json_parser_load_from_data (parser, data, len, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root)
      || (error = json_object_get_object_member (json_node_get_object (root), "error")) == NULL
      || !json_object_has_member (error, "code"))
    return NULL;
  return g_strdup (json_object_get_string_member (error, "code"));
}

static void
call_free (Call *call)
{
  g_clear_object (&call->msg);
  g_clear_pointer (&call->body, g_bytes_unref);
  g_free (call->error);
  g_free (call);
}

static void
stats_add (Stats  *stats,
           Call   *call,
           gint64  done_us)
{
  double latency = (done_us - call->scheduled_us) / 1000.0;
  double service = (done_us - call->sent_us) / 1000.0;

  if (call->error != NULL)
    {
      stats_count_error (stats, call->error);
      return;
    }
  g_array_append_val (stats->latency_ms, latency);
  g_array_append_val (stats->service_ms, service);
  stats->bytes_in += call->body ? g_bytes_get_size (call->body) : 0;
  stats->changes += call->n_changes;
}

static void
call_finished_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  Call *call = data;
  g_autoptr(GError) error = NULL;
  gint64 done = now_us ();

  call->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  call->bench->in_flight--;
  g_hash_table_remove (call->bench->sent, call);
  call->status = soup_message_get_status (call->msg);
  if (call->body == NULL)
    call->error = g_strdup_printf ("transport: %s", error->message);
  else if (call->status < 200 || call->status >= 300)
    {
      g_autofree char *code = error_code_of (call->body);
      call->error = g_strdup_printf ("HTTP %u %s", call->status, code ? code : "(no code)");
    }

  if (call->stats != NULL)
    stats_add (call->stats, call, done);
  if (call->stats_all != NULL)
    stats_add (call->stats_all, call, done);
  if (call->done != NULL)
    call->done (call);
  call_free (call);
}

static Call *
call_new (Bench    *bench,
          CallKind  kind,
          Device   *device,
          CallDone  done,
          gpointer  data)
{
  Call *call = g_new0 (Call, 1);

  call->bench = bench;
  call->kind = kind;
  call->device = device;
  call->done = done;
  call->data = data;
  call->scheduled_us = now_us ();
  return call;
}

/* Sends; takes body. The answer comes to call->done, then call is freed. */
static void
call_send (Call       *call,
           const char *method,
           const char *path,
           GBytes     *body)
{
  Bench *bench = call->bench;
  g_autofree char *url = g_strconcat (bench->url, path, NULL);
  SoupMessageHeaders *headers;

  call->msg = soup_message_new (method, url);
  g_assert (call->msg != NULL);
  soup_message_add_flags (call->msg, call->flags);
  headers = soup_message_get_request_headers (call->msg);
  soup_message_headers_replace (headers, "User-Agent", "VetDesk/0.1.0 vds-bench");
  if (call->device != NULL && call->device->token != NULL)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", call->device->token, NULL);
      soup_message_headers_replace (headers, "Authorization", auth);
    }
  if (body != NULL)
    {
      soup_message_set_request_body_from_bytes (call->msg, "application/json", body);
      g_bytes_unref (body);
    }
  g_signal_connect (call->msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                    bench->fingerprint);
  call->sent_us = now_us ();
  bench->in_flight++;
  g_hash_table_add (bench->sent, call);
  soup_session_send_and_read_async (bench->session, call->msg, G_PRIORITY_DEFAULT, NULL,
                                    call_finished_cb, call);
}

static void
call_send_pull (Call *call)
{
  g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/pull?cursor=%" G_GINT64_FORMAT,
                                           call->device->clinic->id, call->device->cursor);

  call_send (call, "GET", path, NULL);
}

static void
call_send_push (Call   *call,
                GBytes *body)
{
  g_autofree char *path = g_strdup_printf ("/v1/tenants/%s/sync/push", call->device->clinic->id);

  /* libsoup gives a POST a new connection (a TLS handshake each) unless it is marked
   * idempotent; a push is (a replayed batch_id returns the stored answer), so it may
   * reuse a kept-alive connection as a desk would. */
  call->flags |= SOUP_MESSAGE_IDEMPOTENT;
  call_send (call, "POST", path, body);
}

/* Iterates the main context until *flag is set. */
static void
run_until (gboolean *flag)
{
  while (!*flag)
    g_main_context_iteration (NULL, TRUE);
}

/* The value after "key": in a pull answer (no key "cursor" or "more" can occur inside the
 * changes, whose strings escape their quotes), without parsing the whole body. The search
 * runs back from the end, where the answer's own members follow the changes: a forward
 * search through ~200 kB of changes was a fifth of this generator's time. */
static const char *
scan_key (GBytes     *body,
          const char *key)
{
  gsize len;
  const char *data = g_bytes_get_data (body, &len);
  g_autofree char *needle = g_strdup_printf ("\"%s\":", key);
  gsize n = strlen (needle);
  const char *p = NULL;

  for (const char *q = len >= n ? data + len - n + 1 : data; q > data; )
    {
      q = memrchr (data, '"', q - data);
      if (q == NULL)
        break;
      if (memcmp (q, needle, n) == 0)
        {
          p = q;
          break;
        }
    }
  if (p == NULL)
    return NULL;
  p += n;
  while (p < data + len && (*p == ' ' || *p == '\n'))
    p++;
  return p < data + len ? p : NULL;
}

/* The cursor and more of a pull answer, and with out_changes, how many changes it holds. */
static gboolean
scan_pull_answer (GBytes   *body,
                  gint64   *out_cursor,
                  gboolean *out_more,
                  guint    *out_changes)
{
  gsize len;
  const char *data = g_bytes_get_data (body, &len);
  const char *cursor = scan_key (body, "cursor");
  const char *more = scan_key (body, "more");
  const char *p = data;
  guint n = 0;

  if (cursor == NULL || more == NULL)
    return FALSE;
  *out_cursor = g_ascii_strtoll (cursor, NULL, 10);
  *out_more = g_str_has_prefix (more, "true");
  if (out_changes == NULL)
    return TRUE;
  while ((p = memmem (p, len - (p - data), "\"seq\":", 6)) != NULL)
    {
      n++;
      p += 6;
    }
  *out_changes = n;
  return TRUE;
}

/* Counts the rejected changes of a push answer as errors of stats; the accepted count. */
static guint
check_push_answer (Call  *call,
                   Stats *stats)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len;
  const char *data = g_bytes_get_data (call->body, &len);
  JsonObject *answer;
  JsonArray *rejected;

  if (!json_parser_load_from_data (parser, data, len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      if (stats != NULL)
        stats_count_error (stats, "push answer is not JSON");
      return 0;
    }
  answer = json_node_get_object (json_parser_get_root (parser));
  rejected = json_object_get_array_member (answer, "rejected");
  for (guint i = 0; stats != NULL && rejected != NULL && i < json_array_get_length (rejected); i++)
    {
      JsonObject *r = json_array_get_object_element (rejected, i);
      g_autofree char *what = g_strdup_printf ("rejected change: %s (%s)",
                                               json_object_get_string_member (r, "code"),
                                               json_object_get_string_member (r, "message"));
      stats_count_error (stats, what);
    }
  return (guint) json_object_get_int_member (answer, "accepted");
}

/* ---- changes ---- */

static void
put_text (VdChange   *change,
          const char *column,
          const char *text)
{
  VdValue value = { 0 };

  vd_value_set_text (&value, text);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static void
put_bool (VdChange   *change,
          const char *column,
          gboolean    b)
{
  VdValue value = { 0 };

  vd_value_set_bool (&value, b);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static VdChange *
new_change (const char *table,
            const char *id,
            Device     *device)
{
  return vd_change_new (vd_schema_lookup_table (table), id,
                        vd_hlc_clock_tick (device->clock), device->id);
}

/* A whole new appointment in its own slot: slots never overlap, so no double booking. */
static VdChange *
appointment_create (Bench      *bench,
                    Clinic     *clinic,
                    Device     *device,
                    const char *id,
                    guint       slot)
{
  VdChange *change = new_change ("appointments", id, device);
  guint p = slot % 3;
  g_autofree char *starts = format_timestamp (bench->base_time + (gint64) slot * SLOT_SECONDS);
  g_autofree char *ends = format_timestamp (bench->base_time + (gint64) slot * SLOT_SECONDS + 1500);

  put_text (change, "pet_id", clinic->pets[p]);
  put_text (change, "client_id", clinic->clients[p]);
  put_text (change, "staff_id", clinic->staff[slot % 2]);
  put_text (change, "kind", "consultation");
  put_text (change, "starts_at", starts);
  put_text (change, "ends_at", ends);
  put_text (change, "status", "scheduled");
  put_bool (change, "allow_overlap", FALSE);
  return change;
}

/* The 5-column edit of scenario c: times move inside their own slot. */
static VdChange *
appointment_edit5 (Bench      *bench,
                   Device     *device,
                   const char *id,
                   guint       slot)
{
  VdChange *change = new_change ("appointments", id, device);
  g_autofree char *starts = format_timestamp (bench->base_time + (gint64) slot * SLOT_SECONDS + 300);
  g_autofree char *ends = format_timestamp (bench->base_time + (gint64) slot * SLOT_SECONDS + 1200);
  g_autofree char *room = g_strdup_printf ("Sala %u", slot % 4 + 1);

  put_text (change, "room", room);
  put_text (change, "starts_at", starts);
  put_text (change, "ends_at", ends);
  put_text (change, "status", "confirmed");
  put_text (change, "reason", "Revisión anual y vacuna");
  return change;
}

/* A clinic's staff, clients and pets, and n_appointments appointments. */
static GPtrArray *
seed_changes (Bench  *bench,
              Clinic *clinic,
              Device *device,
              guint   n_appointments)
{
  GPtrArray *changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);

  for (guint i = 0; i < 2; i++)
    {
      VdChange *c = new_change ("staff", clinic->staff[i], device);
      g_autofree char *name = g_strdup_printf ("Dra. Prueba %u", i + 1);

      put_text (c, "name", name);
      put_text (c, "role", "veterinarian");
      put_bool (c, "active", TRUE);
      g_ptr_array_add (changes, c);
    }
  for (guint i = 0; i < 3; i++)
    {
      VdChange *c = new_change ("clients", clinic->clients[i], device);
      g_autofree char *last = g_strdup_printf ("Cliente %u", i + 1);

      put_text (c, "first_name", "Lucía");
      put_text (c, "last_name", last);
      put_text (c, "phone", "+34 600 000 000");
      g_ptr_array_add (changes, c);
    }
  for (guint i = 0; i < 3; i++)
    {
      VdChange *c = new_change ("pets", clinic->pets[i], device);
      g_autofree char *name = g_strdup_printf ("Mascota %u", i + 1);

      put_text (c, "client_id", clinic->clients[i]);
      put_text (c, "name", name);
      put_text (c, "species", "dog");
      put_text (c, "sex", "female");
      put_bool (c, "neutered", FALSE);
      put_bool (c, "deceased", FALSE);
      g_ptr_array_add (changes, c);
    }
  for (guint i = 0; i < n_appointments; i++)
    {
      g_autofree char *id = vd_uuid_new ();

      g_ptr_array_add (changes, appointment_create (bench, clinic, device, id, clinic->next_slot++));
      g_ptr_array_add (clinic->appointments, g_steal_pointer (&id));
      clinic->expected_appointments++;
    }
  return changes;
}

static GBytes *
encode_push (Device    *device,
             GPtrArray *changes)
{
  gsize len;
  char *body = vd_push_request_encode (device->id, ++device->batch_id, changes, &len);

  return g_bytes_new_take (body, len);
}

/* ---- clinics and devices ---- */

static Device *
device_new (Clinic *clinic)
{
  Device *device = g_new0 (Device, 1);
  g_autofree char *id = vd_uuid_new ();

  memcpy (device->id, id, VD_UUID_LEN + 1);
  device->clinic = clinic;
  device->clock = vd_hlc_clock_new (0, NULL, NULL);
  g_queue_init (&device->pending);
  return device;
}

static void
device_free (gpointer data)
{
  Device *device = data;

  g_free (device->token);
  vd_hlc_clock_free (device->clock);
  g_queue_clear_full (&device->pending, g_free);
  g_clear_pointer (&device->bodies, g_ptr_array_unref);
  g_free (device);
}

static Clinic *
clinic_new (Bench *bench,
            guint  index)
{
  Clinic *clinic = g_new0 (Clinic, 1);

  clinic->index = index;
  clinic->slug = g_strdup_printf ("bench-%s-%05u", bench->run_id, index);
  clinic->username = g_strdup_printf ("bench.%s.%05u", bench->run_id, index);
  clinic->appointments = g_ptr_array_new_with_free_func (g_free);
  clinic->devices = g_ptr_array_new_with_free_func (device_free);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *id = vd_uuid_new ();
      memcpy (clinic->staff[i], id, VD_UUID_LEN + 1);
    }
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *c = vd_uuid_new ();
      g_autofree char *p = vd_uuid_new ();
      memcpy (clinic->clients[i], c, VD_UUID_LEN + 1);
      memcpy (clinic->pets[i], p, VD_UUID_LEN + 1);
    }
  return clinic;
}

static void
clinic_free (gpointer data)
{
  Clinic *clinic = data;

  g_free (clinic->id);
  g_free (clinic->slug);
  g_free (clinic->user_id);
  g_free (clinic->username);
  g_ptr_array_unref (clinic->appointments);
  g_ptr_array_unref (clinic->devices);
  g_free (clinic);
}

/* ---- setup through the store (fast: no argon2 per device, no HTTP) ---- */

typedef struct
{
  guint n_store_devices;   /* sessions made directly in the store */
  guint n_appointments;    /* seeded per clinic */
} SetupPlan;

static gboolean
setup_clinic (Bench     *bench,
              Clinic    *clinic,
              SetupPlan *plan,
              GError   **error)
{
  g_autofree char *name = g_strdup_printf ("Clínica de prueba %u", clinic->index);
  g_autofree char *answer = NULL;
  g_autoptr(GPtrArray) changes = NULL;
  g_autoptr(VdPushRequest) req = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GBytes) body = NULL;
  Device *seeder;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 cursor;
  gsize len;
  const char *data;

  if (!vds_store_add_tenant (bench->store, clinic->slug, name, "Europe/Madrid", "EUR",
                             bench->company_id, &clinic->id, error)
      || !vds_store_add_user (bench->store, clinic->username, name, bench->password_hash,
                              "none", &clinic->user_id, error)
      || !vds_store_add_membership (bench->store, clinic->user_id, clinic->id, "front_desk",
                                    error))
    return FALSE;

  for (guint d = 0; d < plan->n_store_devices; d++)
    {
      Device *device = device_new (clinic);
      g_autofree char *access_hash = NULL;
      g_autofree char *refresh = vds_auth_new_token ();
      g_autofree char *refresh_hash = vds_auth_token_hash (refresh);
      g_autofree char *device_name = g_strdup_printf ("Recepción %u", d + 1);

      device->token = vds_auth_new_token ();
      access_hash = vds_auth_token_hash (device->token);
      g_ptr_array_add (clinic->devices, device);
      /* What a sign-in stores; the access token outlives the run instead of 15 min. */
      if (!vds_store_create_session (bench->store, clinic->user_id, device->id, device_name,
                                     now, now + VD_PROTOCOL_SESSION_MAX_S, access_hash,
                                     now + 6 * 3600, refresh_hash,
                                     now + VD_PROTOCOL_SESSION_MAX_S, NULL, error))
        return FALSE;
    }

  /* The seed comes from a device of its own, so the bench devices start at batch 1. */
  seeder = device_new (clinic);
  changes = seed_changes (bench, clinic, seeder, plan->n_appointments);
  body = encode_push (seeder, changes);
  device_free (seeder);
  data = g_bytes_get_data (body, &len);
  req = vd_push_request_decode (data, len, error);
  if (req == NULL || !vds_store_push (bench->store, clinic->id, req, &answer, error))
    return FALSE;

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, answer, -1, error))
    return FALSE;
  cursor = json_object_get_int_member (json_node_get_object (json_parser_get_root (parser)),
                                       "cursor");
  /* The devices start up to date, as desks in steady state. */
  for (guint d = 0; d < clinic->devices->len; d++)
    ((Device *) clinic->devices->pdata[d])->cursor = cursor;
  return TRUE;
}

typedef struct
{
  Bench     *bench;
  SetupPlan *plan;
} SetupContext;

static void
setup_worker_cb (gpointer data,
                 gpointer user_data)
{
  Clinic *clinic = data;
  SetupContext *ctx = user_data;
  Bench *bench = ctx->bench;
  g_autoptr(GError) error = NULL;
  guint done, n = bench->clinics->len;

  g_mutex_lock (&bench->setup_lock);
  if (bench->setup_error != NULL)
    {
      g_mutex_unlock (&bench->setup_lock);
      return;
    }
  g_mutex_unlock (&bench->setup_lock);

  if (!setup_clinic (bench, clinic, ctx->plan, &error))
    {
      g_mutex_lock (&bench->setup_lock);
      if (bench->setup_error == NULL)
        bench->setup_error = g_strdup_printf ("clinic %u: %s", clinic->index, error->message);
      g_mutex_unlock (&bench->setup_lock);
      return;
    }
  g_mutex_lock (&bench->setup_lock);
  done = ++bench->setup_done;
  g_mutex_unlock (&bench->setup_lock);
  if (n >= 100 && done % (n / 10) == 0)
    g_print ("    %u of %u clinics\n", done, n);
}

/* Companies, clinics, users, store sessions and seed data, in parallel threads. */
static gboolean
setup_clinics (Bench     *bench,
               guint      n_clinics,
               SetupPlan *plan,
               GError   **error)
{
  SetupContext ctx = { bench, plan };
  g_autofree char *company = g_strdup_printf ("Bench %s", bench->run_id);
  GThreadPool *pool;
  guint threads = bench->postgres ? (guint) bench->opt->setup_threads : 1;
  gint64 t0 = now_us ();

  bench->store = vds_store_open (bench->database, threads, error);
  if (bench->store == NULL)
    return FALSE;
  bench->password_hash = vds_auth_hash_password (BENCH_PASSWORD, error);
  if (bench->password_hash == NULL
      || !vds_store_add_company (bench->store, company, &bench->company_id, error))
    goto fail;

  for (guint i = 0; i < n_clinics; i++)
    g_ptr_array_add (bench->clinics, clinic_new (bench, i));

  g_print ("  setup: %u clinics, %u store sessions and %u appointments each, %u threads\n",
           n_clinics, plan->n_store_devices, plan->n_appointments, threads);
  pool = g_thread_pool_new (setup_worker_cb, &ctx, threads, TRUE, error);
  if (pool == NULL)
    goto fail;
  for (guint i = 0; i < n_clinics; i++)
    g_thread_pool_push (pool, bench->clinics->pdata[i], NULL);
  g_thread_pool_free (pool, FALSE, TRUE);

  if (bench->setup_error != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "setup failed: %s", bench->setup_error);
      goto fail;
    }
  g_print ("  setup took %.1f s (%.0f clinics/s)\n", (now_us () - t0) / 1e6,
           n_clinics / ((now_us () - t0) / 1e6));
  vds_store_free (g_steal_pointer (&bench->store));
  return TRUE;

fail:
  vds_store_free (g_steal_pointer (&bench->store));
  return FALSE;
}

/* After the run, with syncd stopped: what the store holds for the bench's clinics. */
static void
verify_store (Bench *bench)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) ours = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) stats = NULL;
  VdsStore *store;
  guint64 expected = 0, appointments = 0, conflicts = 0;

  for (guint i = 0; i < bench->clinics->len; i++)
    {
      Clinic *clinic = bench->clinics->pdata[i];

      if (clinic->id != NULL)
        g_hash_table_add (ours, clinic->id);
      expected += clinic->expected_appointments;
    }
  store = vds_store_open (bench->database, 1, &error);
  if (store != NULL)
    stats = vds_store_admin_tenants (store, NULL, &error);
  if (stats == NULL)
    {
      g_print ("  verify: could not read the store: %s\n", error->message);
      vds_store_free (store);
      return;
    }
  for (guint i = 0; i < stats->len; i++)
    {
      VdsTenantStats *s = stats->pdata[i];

      if (g_hash_table_contains (ours, s->id))
        {
          appointments += s->appointments;
          conflicts += s->open_conflicts;
        }
    }
  g_print ("  verify: %" G_GUINT64_FORMAT " appointments in the store (%" G_GUINT64_FORMAT
           " acknowledged by syncd), %" G_GUINT64_FORMAT " open conflicts\n",
           appointments, expected, conflicts);
  g_string_append_printf (bench->summary, " verify_appointments=%" G_GUINT64_FORMAT
                          " verify_expected=%" G_GUINT64_FORMAT " verify_conflicts=%"
                          G_GUINT64_FORMAT, appointments, expected, conflicts);
  g_ptr_array_set_free_func (stats, (GDestroyNotify) vds_tenant_stats_free);
  vds_store_free (store);
}

/* ---- sign-in over HTTPS ---- */

typedef struct
{
  const char *slug;        /* the clinic to take the id of, or NULL */
  guint       remaining;
  gboolean    done;
  char       *error;
} LoginBatch;

static void
login_done (Call *call)
{
  LoginBatch *batch = call->data;
  Device *device = call->device;
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize len;
  const char *data;

  if (call->error == NULL)
    {
      JsonObject *answer;
      JsonArray *tenants;

      data = g_bytes_get_data (call->body, &len);
      if (!json_parser_load_from_data (parser, data, len, NULL))
        goto bad;
      answer = json_node_get_object (json_parser_get_root (parser));
      device->token = g_strdup (json_object_get_string_member (answer, "access_token"));
      tenants = json_object_get_array_member (answer, "tenants");
      for (guint i = 0; batch->slug != NULL && i < json_array_get_length (tenants); i++)
        {
          JsonObject *t = json_array_get_object_element (tenants, i);

          if (g_strcmp0 (json_object_get_string_member (t, "slug"), batch->slug) == 0
              && device->clinic->id == NULL)
            device->clinic->id = g_strdup (json_object_get_string_member (t, "id"));
        }
    }
  else if (batch->error == NULL)
    batch->error = g_strdup (call->error);
  goto out;

bad:
  if (batch->error == NULL)
    batch->error = g_strdup ("the sign-in answer is not JSON");
out:
  if (--batch->remaining == 0)
    batch->done = TRUE;
}

/* Signs every device in, all at once (argon2 runs in syncd's workers in parallel). */
static gboolean
login_devices (Bench      *bench,
               GPtrArray  *devices,
               const char *password,
               const char *slug,
               GError    **error)
{
  LoginBatch batch = { slug, devices->len, devices->len == 0, NULL };
  gint64 t0 = now_us ();

  for (guint i = 0; i < devices->len; i++)
    {
      Device *device = devices->pdata[i];
      /* The device has no token yet: no Authorization header. */
      Call *call = call_new (bench, CALL_LOGIN, device, login_done, &batch);
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonGenerator) gen = json_generator_new ();
      g_autofree char *name = g_strdup_printf ("Banco de pruebas %u", i + 1);
      char *text;
      gsize len;

      call->stats = &bench->stats_login;
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "username");
      json_builder_add_string_value (builder, device->clinic->username);
      json_builder_set_member_name (builder, "password");
      json_builder_add_string_value (builder, password);
      json_builder_set_member_name (builder, "device_id");
      json_builder_add_string_value (builder, device->id);
      json_builder_set_member_name (builder, "device_name");
      json_builder_add_string_value (builder, name);
      json_builder_end_object (builder);
      json_generator_set_root (gen, json_builder_get_root (builder));
      text = json_generator_to_data (gen, &len);
      call_send (call, "POST", "/v1/auth/login", g_bytes_new_take (text, len));
    }
  run_until (&batch.done);
  if (batch.error != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "sign-in failed: %s", batch.error);
      g_free (batch.error);
      return FALSE;
    }
  g_print ("  %u devices signed in over HTTPS at once in %.2f s; one sign-in took %.0f ms "
           "on average (argon2id)\n", devices->len, (now_us () - t0) / 1e6,
           mean (bench->stats_login.latency_ms));
  return TRUE;
}

/* ---- scenario a: the seed's 20 concurrent full pulls of a demo clinic ---- */

static void pull_a_send (Bench *bench, Device *device, gint64 cursor, gboolean record);

static void
pull_a_done (Call *call)
{
  Bench *bench = call->bench;
  gint64 cursor;
  gboolean more = FALSE;

  if (call->error == NULL
      && !scan_pull_answer (call->body, &cursor, &more, NULL))
    stats_count_error (&bench->stats_all, "pull answer without cursor");
  /* A full pull goes on while there is more; a new one starts over. */
  if (call->error == NULL && more)
    {
      pull_a_send (bench, call->device, cursor, call->stats != NULL);
      return;
    }
  if (bench->issued < bench->target)
    {
      bench->issued++;
      pull_a_send (bench, call->device, bench->a_from, call->stats != NULL);
      return;
    }
  if (--bench->outstanding == 0)
    bench->arrivals_done = TRUE;
}

static void
pull_a_send (Bench    *bench,
             Device   *device,
             gint64    cursor,
             gboolean  record)
{
  Call *call = call_new (bench, CALL_PULL, device, pull_a_done, NULL);

  device->cursor = cursor;
  call->stats = record ? &bench->stats_all : NULL;
  call_send_pull (call);
}

/* n closed loops, each pulling from bench->a_from until target pulls were issued. */
static double
run_closed_pulls (Bench    *bench,
                  guint     n,
                  guint     target,
                  gboolean  record)
{
  gint64 t0 = now_us ();

  bench->issued = MIN (n, target);
  bench->target = target;
  bench->outstanding = bench->issued;
  bench->arrivals_done = bench->outstanding == 0;
  for (guint i = 0; i < bench->issued; i++)
    {
      Clinic *clinic = bench->clinics->pdata[0];
      pull_a_send (bench, clinic->devices->pdata[i % clinic->devices->len], bench->a_from,
                   record);
    }
  run_until (&bench->arrivals_done);
  return (now_us () - t0) / 1e6;
}

/* The seed's moment: the clinic's desks all pull at once, then nothing for a while. Each
 * burst starts on a quiet machine; the latency of all its pulls is recorded. */
static void
run_bursts (Bench      *bench,
            const char *title,
            const char *key)
{
  Options *opt = bench->opt;
  double elapsed = 0;

  stats_clear (&bench->stats_all);
  stats_init (&bench->stats_all);
  for (int b = 0; b < opt->bursts; b++)
    {
      g_usleep (100 * 1000);
      elapsed += run_closed_pulls (bench, opt->concurrency, opt->concurrency, TRUE);
    }
  g_print ("  results, %d bursts of %d pulls sent at the same moment, 100 ms apart:\n",
           opt->bursts, opt->concurrency);
  stats_print (bench, &bench->stats_all, title, elapsed, FALSE, key);
}

static gboolean
scenario_a (Bench   *bench,
            GError **error)
{
  Options *opt = bench->opt;
  g_autofree char *out = NULL;
  g_autoptr(GPtrArray) devices = g_ptr_array_new ();
  g_autoptr(GString) usage = g_string_new (NULL);
  Clinic *clinic;
  gint64 clinic_cursor;
  double elapsed;

  g_print ("scenario a: %d concurrent full pulls of %s (load-demo), %d requests\n",
           opt->concurrency, DEMO_CLINIC_SLUG, opt->requests);
  out = vd_test_syncd_run (bench->syncd, NULL, error, "load-demo", NULL);
  if (out == NULL)
    {
      /* An existing database may have the demo already: then use it as it is. */
      if (opt->database == NULL)
        return FALSE;
      g_print ("  load-demo: %s (using the data already there)\n", (*error)->message);
      g_clear_error (error);
    }
  if (!vd_test_syncd_start (bench->syncd, error))
    return FALSE;
  bench->url = g_strdup (vd_test_syncd_get_url (bench->syncd));
  bench->fingerprint = g_strdup (vd_test_syncd_get_fingerprint (bench->syncd));

  clinic = clinic_new (bench, 0);
  g_free (clinic->username);
  clinic->username = g_strdup (DEMO_USERNAME);
  g_ptr_array_add (bench->clinics, clinic);
  for (int i = 0; i < opt->concurrency; i++)
    {
      Device *device = device_new (clinic);
      g_ptr_array_add (clinic->devices, device);
      g_ptr_array_add (devices, device);
    }
  bench->usage.pid = find_syncd_pid (vd_test_syncd_get_data_dir (bench->syncd));
  if (!login_devices (bench, devices, VDS_DEMO_PASSWORD, DEMO_CLINIC_SLUG, error))
    return FALSE;
  if (clinic->id == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s is not among %s's clinics",
                   DEMO_CLINIC_SLUG, DEMO_USERNAME);
      return FALSE;
    }

  /* One pull decoded in full with the shared codec: what a full pull carries. */
  {
    Call *call = call_new (bench, CALL_PULL, clinic->devices->pdata[0], NULL, NULL);
    g_autoptr(SoupMessage) msg = NULL;
    g_autoptr(GBytes) body = NULL;
    g_autoptr(VdPullAnswer) answer = NULL;
    g_autofree char *url = g_strdup_printf ("%s/v1/tenants/%s/sync/pull?cursor=0", bench->url,
                                            clinic->id);
    g_autofree char *auth = g_strconcat ("Bearer ", ((Device *) clinic->devices->pdata[0])->token, NULL);
    gsize len;
    const char *data;

    call_free (call);
    msg = soup_message_new ("GET", url);
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    g_signal_connect (msg, "accept-certificate", G_CALLBACK (vd_test_accept_fingerprint_cb),
                    bench->fingerprint);
    body = soup_session_send_and_read (bench->session, msg, NULL, error);
    if (body == NULL)
      return FALSE;
    data = g_bytes_get_data (body, &len);
    answer = vd_pull_answer_decode (data, len, error);
    if (answer == NULL)
      {
        g_prefix_error (error, "HTTP %u: ", soup_message_get_status (msg));
        return FALSE;
      }
    g_print ("  a full pull: %u changes, %.1f kB, cursor %" G_GINT64_FORMAT ", more %s, "
             "HTTP/1.%d\n", answer->changes->len, len / 1024.0, answer->cursor,
             answer->more ? "yes" : "no",
             soup_message_get_http_version (msg) == SOUP_HTTP_1_1 ? 1 : 0);
    g_string_append_printf (bench->summary, " pull_changes=%u pull_kb=%.1f",
                            answer->changes->len, len / 1024.0);
    clinic_cursor = answer->cursor;
  }

  /* Warm-up: every connection made, every worker's statements prepared. */
  run_closed_pulls (bench, opt->concurrency, opt->concurrency * 2, FALSE);

  usage_begin (bench);
  elapsed = run_closed_pulls (bench, opt->concurrency, opt->requests, TRUE);
  usage_end (bench, "a", usage);
  g_print ("  results, %d closed loops (each pull follows the last at once: the machine's "
           "throughput, shared with this generator, sets the latency):\n", opt->concurrency);
  stats_print (bench, &bench->stats_all, "full pulls", elapsed, FALSE, "pull");
  g_print ("%s", usage->str);

  run_bursts (bench, "full pulls in bursts", "burst");

  /* The same desks once up to date, as they pull on every change they hear of or every
   * 30 s without a stream: each pull from the clinic's cursor, answered with no changes. */
  bench->a_from = clinic_cursor;
  stats_clear (&bench->stats_all);
  stats_init (&bench->stats_all);
  elapsed = run_closed_pulls (bench, opt->concurrency, opt->requests, TRUE);
  g_print ("  results, %d closed loops of pulls from the clinic's cursor (desks up to date):\n",
           opt->concurrency);
  stats_print (bench, &bench->stats_all, "up-to-date pulls", elapsed, FALSE, "current");
  run_bursts (bench, "up-to-date pulls in bursts", "current_burst");
  return TRUE;
}

/* ---- scenario b: clinics at the seed's usage profile, open loop ---- */

static void device_start_next (Bench *bench, Device *device);

static void
sim_done (Call *call)
{
  Bench *bench = call->bench;
  Device *device = call->device;

  if (call->error == NULL && call->kind == CALL_PULL)
    {
      gint64 cursor;
      gboolean more;
      guint n;

      if (scan_pull_answer (call->body, &cursor, &more, &n))
        {
          device->cursor = cursor;
          if (call->stats != NULL)
            call->stats->changes += n;
        }
      else if (call->stats != NULL)
        stats_count_error (call->stats, "pull answer without cursor");
    }
  else if (call->error == NULL && call->kind == CALL_PUSH)
    {
      guint accepted = check_push_answer (call, call->stats);

      if (accepted == call->n_changes)
        device->clinic->expected_appointments += call->n_creates;
      else if (call->stats == NULL)
        g_printerr ("warm-up push: %u of %u accepted\n", accepted, call->n_changes);
    }
  device->busy = FALSE;
  device_start_next (bench, device);
}

/* 1-20 appointment changes: half new bookings, half edits of existing ones. */
static GBytes *
sim_push_body (Bench  *bench,
               Device *device,
               guint  *out_n,
               guint  *out_creates)
{
  Clinic *clinic = device->clinic;
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  guint n = g_rand_int_range (bench->rand, 1, 21);
  guint creates = 0;

  for (guint i = 0; i < n; i++)
    {
      if (clinic->appointments->len == 0 || g_rand_boolean (bench->rand))
        {
          g_autofree char *id = vd_uuid_new ();

          g_ptr_array_add (changes, appointment_create (bench, clinic, device, id,
                                                        clinic->next_slot++));
          if (clinic->appointments->len < MAX_EDITABLE)
            g_ptr_array_add (clinic->appointments, g_steal_pointer (&id));
          else
            {
              guint k = g_rand_int_range (bench->rand, 0, clinic->appointments->len);
              g_free (clinic->appointments->pdata[k]);
              clinic->appointments->pdata[k] = g_steal_pointer (&id);
            }
          creates++;
        }
      else
        {
          static const char * const statuses[] = { "confirmed", "checked_in", "in_progress",
                                                    "completed" };
          const char *id = clinic->appointments->pdata[
            g_rand_int_range (bench->rand, 0, clinic->appointments->len)];
          VdChange *change = new_change ("appointments", id, device);
          g_autofree char *notes = g_strdup_printf ("Nota %u de la recepción", i);

          put_text (change, "status", statuses[g_rand_int_range (bench->rand, 0, 4)]);
          put_text (change, "notes", notes);
          g_ptr_array_add (changes, change);
        }
    }
  *out_n = n;
  *out_creates = creates;
  return encode_push (device, changes);
}

static void
device_start (Bench   *bench,
              Device  *device,
              Pending *pending)
{
  Call *call = call_new (bench, pending->kind, device, sim_done, NULL);

  device->busy = TRUE;
  call->scheduled_us = pending->scheduled_us;
  if (pending->record)
    {
      call->stats = pending->kind == CALL_PUSH ? &bench->stats_push : &bench->stats_pull;
      call->stats_all = &bench->stats_all;
    }
  if (pending->kind == CALL_PUSH)
    {
      GBytes *body = sim_push_body (bench, device, &call->n_changes, &call->n_creates);
      call_send_push (call, body);
    }
  else
    call_send_pull (call);
}

/* Starts waiting calls while fewer than --connections are in flight. The backlog waits
 * here, in arrival order per device, and not in libsoup, whose queue costs O(length)
 * per message once it grows; the latency still counts from the scheduled arrival. */
static void
pump (Bench *bench)
{
  Device *device;

  while (bench->in_flight < (guint) bench->opt->connections
         && (device = g_queue_pop_head (&bench->ready)) != NULL)
    {
      g_autofree Pending *pending = g_queue_pop_head (&device->pending);

      device->ready = FALSE;
      bench->queued--;
      device_start (bench, device, pending);
    }
}

/* A device with work and no call in flight waits for a connection. */
static void
device_start_next (Bench  *bench,
                   Device *device)
{
  if (!device->busy && !device->ready && !g_queue_is_empty (&device->pending))
    {
      device->ready = TRUE;
      g_queue_push_tail (&bench->ready, device);
    }
  pump (bench);
}

static gboolean
arrival_tick_cb (gpointer data)
{
  Bench *bench = data;
  gint64 now = now_us ();

  while (bench->next_arrival_us <= now && bench->next_arrival_us < bench->end_us)
    {
      Clinic *clinic = bench->clinics->pdata[g_rand_int_range (bench->rand, 0,
                                                                bench->clinics->len)];
      Device *device = clinic->devices->pdata[g_rand_int_range (bench->rand, 0,
                                                                 clinic->devices->len)];
      Pending *pending = g_new0 (Pending, 1);
      double u = g_rand_double (bench->rand);

      pending->scheduled_us = bench->next_arrival_us;
      pending->kind = g_rand_int_range (bench->rand, 0, 100) < bench->opt->push_percent
                      ? CALL_PUSH : CALL_PULL;
      pending->record = pending->scheduled_us >= bench->measure_start_us;
      bench->max_dispatch_lag_us = MAX (bench->max_dispatch_lag_us,
                                        now - pending->scheduled_us);
      bench->arrivals++;
      g_queue_push_tail (&device->pending, pending);
      bench->queued++;
      device_start_next (bench, device);
      /* Poisson: exponential gaps at the aggregate rate. */
      bench->next_arrival_us += (gint64) (-log1p (-u) / bench->rate * 1e6);
    }
  if (bench->next_arrival_us >= bench->end_us)
    return G_SOURCE_REMOVE;
  return G_SOURCE_CONTINUE;
}

static gboolean
scenario_b (Bench   *bench,
            GError **error)
{
  Options *opt = bench->opt;
  SetupPlan plan = { (guint) opt->devices_per_clinic, 6 };
  g_autoptr(GPtrArray) login = g_ptr_array_new ();
  g_autoptr(GString) usage = g_string_new (NULL);
  GSource *ticker;
  gint64 t0, drain_deadline;
  double per_clinic = opt->calls_per_day / (opt->day_hours * 3600) * opt->peak;
  guint64 unfinished;

  bench->rate = per_clinic * opt->clinics;
  g_print ("scenario b: %d clinics x %.4f req/s (%.0f calls per %.0f h day, peak x%.1f) = "
           "%.1f req/s, %d%% pushes of 1-20 changes, %d devices per clinic, %.0f s + %.0f s "
           "warm-up, Poisson seed %d\n",
           opt->clinics, per_clinic, opt->calls_per_day, opt->day_hours, opt->peak,
           bench->rate, opt->push_percent, opt->devices_per_clinic, opt->seconds, opt->warmup,
           opt->seed);
  g_string_append_printf (bench->summary, " clinics=%d target_rps=%.1f", opt->clinics, bench->rate);

  if (!setup_clinics (bench, opt->clinics, &plan, error))
    return FALSE;
  if (!vd_test_syncd_start (bench->syncd, error))
    return FALSE;
  bench->url = g_strdup (vd_test_syncd_get_url (bench->syncd));
  bench->fingerprint = g_strdup (vd_test_syncd_get_fingerprint (bench->syncd));
  bench->usage.pid = find_syncd_pid (vd_test_syncd_get_data_dir (bench->syncd));

  /* A few real sign-ins too: they become extra devices of the first clinics. */
  for (int i = 0; i < MIN (opt->http_logins, opt->clinics); i++)
    {
      Clinic *clinic = bench->clinics->pdata[i];
      Device *device = device_new (clinic);

      device->cursor = ((Device *) clinic->devices->pdata[0])->cursor;
      g_ptr_array_add (clinic->devices, device);
      g_ptr_array_add (login, device);
    }
  if (!login_devices (bench, login, BENCH_PASSWORD, NULL, error))
    return FALSE;

  t0 = now_us () + 100 * 1000;
  bench->next_arrival_us = t0;
  bench->measure_start_us = t0 + (gint64) (opt->warmup * 1e6);
  bench->end_us = bench->measure_start_us + (gint64) (opt->seconds * 1e6);
  ticker = g_timeout_source_new (1);
  g_source_set_priority (ticker, G_PRIORITY_HIGH);
  g_source_set_callback (ticker, arrival_tick_cb, bench, NULL);
  g_source_attach (ticker, NULL);
  g_source_unref (ticker);

  while (now_us () < bench->measure_start_us)
    g_main_context_iteration (NULL, TRUE);
  usage_begin (bench);
  while (now_us () < bench->end_us)
    g_main_context_iteration (NULL, TRUE);
  usage_end (bench, "b", usage);
  drain_deadline = now_us () + 60 * G_USEC_PER_SEC;
  g_print ("  the end: %u calls in flight, waiting up to 60 s for them\n", bench->in_flight);
  while ((bench->in_flight > 0 || bench->queued > 0) && now_us () < drain_deadline)
    g_main_context_iteration (NULL, TRUE);
  unfinished = bench->in_flight + bench->queued;
  if (unfinished > 0)
    {
      GHashTableIter iter;
      gpointer key;

      g_print ("  unfinished 60 s after the end: %u sent and unanswered, %" G_GUINT64_FORMAT
               " never sent (waiting for their device or a connection)\n",
               bench->in_flight, (guint64) bench->queued);
      g_hash_table_iter_init (&iter, bench->sent);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        {
          Call *call = key;

          g_print ("    %s %s sent at +%.3f s\n", soup_message_get_method (call->msg),
                   g_uri_get_path (soup_message_get_uri (call->msg)),
                   (call->sent_us - bench->measure_start_us) / 1e6);
        }
      for (guint64 i = 0; i < unfinished; i++)
        stats_count_error (&bench->stats_all, "unanswered 60 s after the end");
    }

  g_print ("  results (%" G_GUINT64_FORMAT " arrivals; the generator dispatched at most "
           "%.1f ms late):\n", bench->arrivals, bench->max_dispatch_lag_us / 1000.0);
  stats_print (bench, &bench->stats_all, "all sync calls", opt->seconds, TRUE, "all");
  stats_print (bench, &bench->stats_pull, "pulls", opt->seconds, TRUE, "pull");
  stats_print (bench, &bench->stats_push, "pushes", opt->seconds, TRUE, "push");
  g_print ("    changes pulled %" G_GUINT64_FORMAT ", pushed %" G_GUINT64_FORMAT "\n",
           bench->stats_pull.changes, bench->stats_push.changes);
  g_print ("%s", usage->str);
  return TRUE;
}

/* ---- scenario c: bulk merge of 500-change batches, and bare INSERT ... ON CONFLICT ---- */

static void bulk_next (Bench *bench, Device *device);

static void
bulk_done (Call *call)
{
  Bench *bench = call->bench;

  if (call->error == NULL)
    {
      guint accepted = check_push_answer (call, call->stats);
      call->device->clinic->expected_appointments += accepted == call->n_changes
                                                     ? call->n_creates : 0;
    }
  bulk_next (bench, call->device);
}

static void
bulk_next (Bench  *bench,
           Device *device)
{
  Call *call;

  if (device->next_body >= device->bodies->len)
    {
      if (--bench->outstanding == 0)
        bench->arrivals_done = TRUE;
      return;
    }
  call = call_new (bench, CALL_PUSH, device, bulk_done, NULL);
  call->stats = &bench->stats_push;
  call->n_changes = bench->opt->batch_size;
  call->n_creates = bench->bulk_creating ? call->n_changes : 0;
  call_send_push (call, g_bytes_ref (device->bodies->pdata[device->next_body++]));
}

/* Every device pushes its bodies one after the other; all devices at once. Changes/s. */
static double
run_bulk_phase (Bench      *bench,
                GPtrArray  *devices,
                const char *title,
                const char *key)
{
  g_autoptr(GString) usage = g_string_new (NULL);
  double elapsed;
  guint64 total = 0;
  gint64 t0;

  stats_clear (&bench->stats_push);
  stats_init (&bench->stats_push);
  bench->outstanding = devices->len;
  bench->arrivals_done = FALSE;
  usage_begin (bench);
  t0 = now_us ();
  for (guint i = 0; i < devices->len; i++)
    {
      Device *device = devices->pdata[i];

      device->next_body = 0;
      total += (guint64) device->bodies->len * bench->opt->batch_size;
      bulk_next (bench, device);
    }
  run_until (&bench->arrivals_done);
  elapsed = (now_us () - t0) / 1e6;
  usage_end (bench, key, usage);
  g_print ("  %s: %" G_GUINT64_FORMAT " changes in %.2f s = %.0f changes/s\n", title, total,
           elapsed, total / elapsed);
  stats_print (bench, &bench->stats_push, "pushes", elapsed, FALSE, NULL);
  g_print ("%s", usage->str);
  g_string_append_printf (bench->summary, " %s_cps=%.0f %s_push_p99_ms=%.1f %s_errors=%"
                          G_GUINT64_FORMAT, key, total / elapsed, key,
                          percentile (bench->stats_push.latency_ms, 99), key,
                          stats_n_errors (&bench->stats_push));
  return total / elapsed;
}

/* One row of the bare comparison: its parameters as text, for both statements. */
typedef struct
{
  const char *create[10];   /* tenant_id id pet_id client_id staff_id kind starts ends status overlap */
  const char *edit[7];      /* tenant_id id room starts ends status reason */
} BareRow;

typedef struct
{
  const char *uri;
  BareRow    *rows;
  guint       start;
  guint       end;
  guint       batch;
  gboolean    edit;
  GMutex     *lock;
  GCond      *cond;
  guint      *ready;
  gboolean   *go;
  char       *error;
} BareJob;

static char *
bare_sql (guint    n,
          gboolean edit)
{
  GString *sql = g_string_new (NULL);
  guint cols = edit ? 7 : 10;

  if (edit)
    g_string_append (sql, "INSERT INTO bench_bare (tenant_id, id, room, starts_at, ends_at, "
                          "status, reason) VALUES ");
  else
    g_string_append (sql, "INSERT INTO bench_bare (tenant_id, id, pet_id, client_id, staff_id, "
                          "kind, starts_at, ends_at, status, allow_overlap) VALUES ");
  for (guint r = 0; r < n; r++)
    {
      g_string_append (sql, r ? ", (" : "(");
      for (guint c = 0; c < cols; c++)
        g_string_append_printf (sql, c ? ", $%u" : "$%u", r * cols + c + 1);
      g_string_append_c (sql, ')');
    }
  if (edit)
    g_string_append (sql, " ON CONFLICT (tenant_id, id) DO UPDATE SET room = EXCLUDED.room, "
                          "starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at, "
                          "status = EXCLUDED.status, reason = EXCLUDED.reason");
  else
    g_string_append (sql, " ON CONFLICT (tenant_id, id) DO UPDATE SET pet_id = EXCLUDED.pet_id, "
                          "client_id = EXCLUDED.client_id, staff_id = EXCLUDED.staff_id, "
                          "kind = EXCLUDED.kind, starts_at = EXCLUDED.starts_at, "
                          "ends_at = EXCLUDED.ends_at, status = EXCLUDED.status, "
                          "allow_overlap = EXCLUDED.allow_overlap");
  return g_string_free (sql, FALSE);
}

static gpointer
bare_thread (gpointer data)
{
  BareJob *job = data;
  PGconn *conn = PQconnectdb (job->uri);
  guint cols = job->edit ? 7 : 10;
  g_autofree const char **values = g_new0 (const char *, (gsize) job->batch * cols);
  gboolean prepared_full = FALSE;

  if (PQstatus (conn) != CONNECTION_OK)
    job->error = g_strdup (PQerrorMessage (conn));
  else
    {
      g_autofree char *sql = bare_sql (job->batch, job->edit);
      PGresult *res = PQprepare (conn, "full", sql, 0, NULL);

      prepared_full = PQresultStatus (res) == PGRES_COMMAND_OK;
      if (!prepared_full)
        job->error = g_strdup (PQerrorMessage (conn));
      PQclear (res);
    }

  g_mutex_lock (job->lock);
  (*job->ready)++;
  g_cond_broadcast (job->cond);
  while (!*job->go)
    g_cond_wait (job->cond, job->lock);
  g_mutex_unlock (job->lock);

  for (guint r = job->start; job->error == NULL && r < job->end; r += job->batch)
    {
      guint n = MIN (job->batch, job->end - r);
      PGresult *res;

      for (guint i = 0; i < n; i++)
        memcpy (values + (gsize) i * cols, job->edit ? job->rows[r + i].edit : job->rows[r + i].create,
                cols * sizeof (char *));
      if (n == job->batch)
        res = PQexecPrepared (conn, "full", n * cols, values, NULL, NULL, 0);
      else
        {
          g_autofree char *sql = bare_sql (n, job->edit);
          res = PQexecParams (conn, sql, n * cols, NULL, values, NULL, NULL, 0);
        }
      if (PQresultStatus (res) != PGRES_COMMAND_OK)
        job->error = g_strdup (PQerrorMessage (conn));
      PQclear (res);
    }
  PQfinish (conn);
  return NULL;
}

/* rows/s of one bare phase over n connections. */
static double
run_bare_phase (const char  *uri,
                BareRow     *rows,
                guint        n_rows,
                guint        batch,
                gboolean     edit,
                guint        n_conns,
                GError     **error)
{
  GMutex lock;
  GCond cond;
  guint ready = 0;
  gboolean go = FALSE;
  g_autofree BareJob *jobs = g_new0 (BareJob, n_conns);
  g_autofree GThread **threads = g_new0 (GThread *, n_conns);
  guint per = (n_rows + n_conns - 1) / n_conns;
  gint64 t0;
  double elapsed;
  char *failure = NULL;

  g_mutex_init (&lock);
  g_cond_init (&cond);
  for (guint i = 0; i < n_conns; i++)
    {
      jobs[i] = (BareJob) { uri, rows, MIN (i * per, n_rows), MIN ((i + 1) * per, n_rows), batch,
                            edit, &lock, &cond, &ready, &go, NULL };
      threads[i] = g_thread_new ("bare", bare_thread, &jobs[i]);
    }
  g_mutex_lock (&lock);
  while (ready < n_conns)
    g_cond_wait (&cond, &lock);
  t0 = now_us ();
  go = TRUE;
  g_cond_broadcast (&cond);
  g_mutex_unlock (&lock);
  for (guint i = 0; i < n_conns; i++)
    g_thread_join (threads[i]);
  elapsed = (now_us () - t0) / 1e6;
  for (guint i = 0; i < n_conns; i++)
    {
      if (jobs[i].error != NULL && failure == NULL)
        failure = g_strdup (jobs[i].error);
      g_free (jobs[i].error);
    }
  g_mutex_clear (&lock);
  g_cond_clear (&cond);
  if (failure != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "bare insert: %s", failure);
      g_free (failure);
      return 0;
    }
  return n_rows / elapsed;
}

static void
ignore_notice (void       *data,
               const char *message)
{
}

static gboolean
exec_sql (PGconn      *conn,
          const char  *sql,
          GError     **error)
{
  PGresult *res = PQexec (conn, sql);
  gboolean ok = PQresultStatus (res) == PGRES_COMMAND_OK;

  if (!ok)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", sql, PQerrorMessage (conn));
  PQclear (res);
  return ok;
}

static gboolean
run_bare (Bench     *bench,
          GPtrArray *devices,
          double     merge_create_cps,
          double     merge_edit_cps,
          GError   **error)
{
  Options *opt = bench->opt;
  guint per_device = (guint) (opt->batches * opt->batch_size);
  guint n_rows = devices->len * per_device;
  g_autofree BareRow *rows = g_new0 (BareRow, n_rows);
  g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func (g_free);
  const guint batches[] = { 50, 500 };
  PGconn *conn;

  /* Every value as text before the clock starts, like the merge's pre-encoded bodies. */
  for (guint d = 0; d < devices->len; d++)
    {
      Device *device = devices->pdata[d];
      Clinic *clinic = device->clinic;

      for (guint i = 0; i < per_device; i++)
        {
          BareRow *row = &rows[d * per_device + i];
          const char *id = clinic->appointments->pdata[i];
          char *s1 = format_timestamp (bench->base_time + (gint64) i * SLOT_SECONDS);
          char *e1 = format_timestamp (bench->base_time + (gint64) i * SLOT_SECONDS + 1500);
          char *s2 = format_timestamp (bench->base_time + (gint64) i * SLOT_SECONDS + 300);
          char *e2 = format_timestamp (bench->base_time + (gint64) i * SLOT_SECONDS + 1200);
          char *room = g_strdup_printf ("Sala %u", i % 4 + 1);

          g_ptr_array_add (strings, s1);
          g_ptr_array_add (strings, e1);
          g_ptr_array_add (strings, s2);
          g_ptr_array_add (strings, e2);
          g_ptr_array_add (strings, room);
          *row = (BareRow) {
            { clinic->id, id, clinic->pets[i % 3], clinic->clients[i % 3],
              clinic->staff[i % 2], "consultation", s1, e1, "scheduled", "false" },
            { clinic->id, id, room, s2, e2, "confirmed", "Revisión anual y vacuna" },
          };
        }
    }

  conn = PQconnectdb (bench->database);
  if (PQstatus (conn) != CONNECTION_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", PQerrorMessage (conn));
      PQfinish (conn);
      return FALSE;
    }
  PQsetNoticeProcessor (conn, ignore_notice, NULL);
  /* The same columns, keys and indexes as syncd's appointments table, no merge. */
  if (!exec_sql (conn, "DROP TABLE IF EXISTS bench_bare", error)
      || !exec_sql (conn, "CREATE TABLE bench_bare (LIKE appointments INCLUDING ALL)", error))
    {
      PQfinish (conn);
      return FALSE;
    }

  g_print ("  bare INSERT ... ON CONFLICT into bench_bare (LIKE appointments INCLUDING ALL), "
           "%u rows, %d libpq connections:\n", n_rows, opt->bare_connections);
  for (guint b = 0; b < G_N_ELEMENTS (batches); b++)
    {
      double create, edit;

      if (!exec_sql (conn, "TRUNCATE bench_bare", error))
        break;
      create = run_bare_phase (bench->database, rows, n_rows, batches[b], FALSE,
                               opt->bare_connections, error);
      if (create == 0)
        break;
      edit = run_bare_phase (bench->database, rows, n_rows, batches[b], TRUE,
                             opt->bare_connections, error);
      if (edit == 0)
        break;
      g_print ("    %3u-row statements: create %.0f rows/s, 5-column upsert %.0f rows/s; "
               "merge / bare: create %.2f, edit %.2f\n", batches[b], create, edit,
               merge_create_cps / create, merge_edit_cps / edit);
      g_string_append_printf (bench->summary, " bare%u_create_rps=%.0f bare%u_edit_rps=%.0f "
                              "ratio%u_create=%.3f ratio%u_edit=%.3f", batches[b], create,
                              batches[b], edit, batches[b], merge_create_cps / create,
                              batches[b], merge_edit_cps / edit);
    }
  if (*error == NULL)
    exec_sql (conn, "DROP TABLE bench_bare", error);
  PQfinish (conn);
  return *error == NULL;
}

static gboolean
scenario_c (Bench   *bench,
            GError **error)
{
  Options *opt = bench->opt;
  SetupPlan plan = { 0, 0 };
  g_autoptr(GPtrArray) devices = g_ptr_array_new ();
  double create_cps, edit_cps;

  g_print ("scenario c: bulk merge, %d devices in %d clinics, each %d pushes of %d "
           "appointment changes, then the same rows edited in 5 columns\n",
           opt->clinics, opt->clinics, opt->batches, opt->batch_size);
  if (!setup_clinics (bench, opt->clinics, &plan, error))
    return FALSE;
  if (!vd_test_syncd_start (bench->syncd, error))
    return FALSE;
  bench->url = g_strdup (vd_test_syncd_get_url (bench->syncd));
  bench->fingerprint = g_strdup (vd_test_syncd_get_fingerprint (bench->syncd));
  bench->usage.pid = find_syncd_pid (vd_test_syncd_get_data_dir (bench->syncd));

  for (guint i = 0; i < bench->clinics->len; i++)
    {
      Clinic *clinic = bench->clinics->pdata[i];
      Device *device = device_new (clinic);

      g_ptr_array_add (clinic->devices, device);
      g_ptr_array_add (devices, device);
    }
  if (!login_devices (bench, devices, BENCH_PASSWORD, NULL, error))
    return FALSE;

  /* Bodies made before the clock starts: the measured time is syncd's. The new rows'
   * slots start after the seed's. */
  g_print ("  encoding %u creating pushes...\n", devices->len * opt->batches);
  for (guint d = 0; d < devices->len; d++)
    {
      Device *device = devices->pdata[d];
      Clinic *clinic = device->clinic;

      g_ptr_array_set_size (clinic->appointments, 0);
      device->bodies = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      for (int b = 0; b < opt->batches; b++)
        {
          g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);

          for (int i = 0; i < opt->batch_size; i++)
            {
              char *id = vd_uuid_new ();
              guint slot = clinic->appointments->len;

              g_ptr_array_add (changes, appointment_create (bench, clinic, device, id, slot));
              g_ptr_array_add (clinic->appointments, id);
            }
          g_ptr_array_add (device->bodies, encode_push (device, changes));
        }
    }
  bench->bulk_creating = TRUE;
  create_cps = run_bulk_phase (bench, devices, "merge, new rows (8 columns each)", "create");

  g_print ("  encoding %u editing pushes...\n", devices->len * opt->batches);
  for (guint d = 0; d < devices->len; d++)
    {
      Device *device = devices->pdata[d];
      Clinic *clinic = device->clinic;

      g_ptr_array_set_size (device->bodies, 0);
      for (int b = 0; b < opt->batches; b++)
        {
          g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);

          for (int i = 0; i < opt->batch_size; i++)
            {
              guint slot = (guint) (b * opt->batch_size + i);
              g_ptr_array_add (changes, appointment_edit5 (bench, device,
                                                           clinic->appointments->pdata[slot], slot));
            }
          g_ptr_array_add (device->bodies, encode_push (device, changes));
        }
    }
  bench->bulk_creating = FALSE;
  edit_cps = run_bulk_phase (bench, devices, "merge, 5-column edits of those rows", "edit");

  if (bench->postgres)
    return run_bare (bench, devices, create_cps, edit_cps, error);
  g_print ("  (bare INSERT ... ON CONFLICT needs PostgreSQL: skipped on SQLite)\n");
  return TRUE;
}

/* ---- main ---- */

static void
print_machine (Bench *bench)
{
  g_autofree char *cpuinfo = read_proc_file (0, "cpuinfo");
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format_iso8601 (now);
  const char *model = cpuinfo ? strstr (cpuinfo, "model name") : NULL;
  g_autofree char *model_name = NULL;
  struct utsname un;

  uname (&un);
  if (model != NULL && (model = strchr (model, ':')) != NULL)
    model_name = g_strndup (model + 2, strcspn (model + 2, "\n"));
  g_print ("vds-bench %s on %s (%s %s), %u cores: %s; %.1f GB RAM\n", date, un.nodename,
           un.sysname, un.release, g_get_num_processors (), model_name ? model_name : "?",
           sysconf (_SC_PHYS_PAGES) * (double) sysconf (_SC_PAGESIZE) / 1e9);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) context = NULL;
  Options opt = {
    .clinics = -1, .devices_per_clinic = 2, .seconds = 60, .warmup = 5, .requests = 2000,
    .concurrency = 20, .bursts = 50, .batches = 25, .batch_size = 500, .connections = 64, .workers = 0,
    .calls_per_day = 1000, .day_hours = 10, .peak = 3, .push_percent = 20, .http_logins = 4,
    .bare_connections = 4, .setup_threads = 4, .seed = 1,
  };
  const GOptionEntry entries[] = {
    { "scenario", 's', 0, G_OPTION_ARG_STRING, &opt.scenario,
      "a: 20 concurrent full pulls of a demo clinic; b: clinics at the seed's usage "
      "profile; c: bulk merge against bare INSERT ... ON CONFLICT", "a|b|c" },
    { "backend", 'b', 0, G_OPTION_ARG_STRING, &opt.backend,
      "sqlite (a new file) or postgres (a throwaway cluster); default sqlite", "NAME" },
    { "database", 'd', 0, G_OPTION_ARG_STRING, &opt.database,
      "Use this database instead (sqlite:PATH or a postgresql:// URI)", "URI" },
    { "syncd", 0, 0, G_OPTION_ARG_FILENAME, &opt.syncd, "The vetdesk-syncd binary", "PATH" },
    { "clinics", 'n', 0, G_OPTION_ARG_INT, &opt.clinics,
      "Clinics to simulate (b: default 1000; c: devices, one per clinic, default 4)", "N" },
    { "devices-per-clinic", 0, 0, G_OPTION_ARG_INT, &opt.devices_per_clinic,
      "b: desks per clinic (default 2)", "N" },
    { "seconds", 't', 0, G_OPTION_ARG_DOUBLE, &opt.seconds, "b: measured seconds (60)", "S" },
    { "warmup", 0, 0, G_OPTION_ARG_DOUBLE, &opt.warmup, "b: unmeasured seconds first (5)", "S" },
    { "requests", 0, 0, G_OPTION_ARG_INT, &opt.requests, "a: measured pulls (2000)", "N" },
    { "bursts", 0, 0, G_OPTION_ARG_INT, &opt.bursts, "a: bursts of --concurrency pulls (50)", "N" },
    { "concurrency", 'c', 0, G_OPTION_ARG_INT, &opt.concurrency,
      "a: concurrent requests (20)", "N" },
    { "batches", 0, 0, G_OPTION_ARG_INT, &opt.batches, "c: pushes per device and phase (25)", "N" },
    { "batch-size", 0, 0, G_OPTION_ARG_INT, &opt.batch_size, "c: changes per push (500)", "N" },
    { "connections", 0, 0, G_OPTION_ARG_INT, &opt.connections,
      "Most HTTPS connections the generator keeps open (64)", "N" },
    { "workers", 'w', 0, G_OPTION_ARG_INT, &opt.workers,
      "syncd's worker threads (its default when 0)", "N" },
    { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &opt.idle_timeout,
      "syncd's [limits] idle-timeout in seconds (its default when 0)", "S" },
    { "calls-per-day", 0, 0, G_OPTION_ARG_DOUBLE, &opt.calls_per_day,
      "b: sync calls per clinic per day (1000)", "N" },
    { "day-hours", 0, 0, G_OPTION_ARG_DOUBLE, &opt.day_hours, "b: working day (10)", "H" },
    { "peak", 0, 0, G_OPTION_ARG_DOUBLE, &opt.peak, "b: peak factor (3)", "F" },
    { "push-percent", 0, 0, G_OPTION_ARG_INT, &opt.push_percent, "b: pushes (20 %)", "P" },
    { "http-logins", 0, 0, G_OPTION_ARG_INT, &opt.http_logins,
      "b: devices that sign in over HTTPS (4); the rest get sessions in the store", "N" },
    { "bare-connections", 0, 0, G_OPTION_ARG_INT, &opt.bare_connections,
      "c: libpq connections of the bare insert (4)", "N" },
    { "setup-threads", 0, 0, G_OPTION_ARG_INT, &opt.setup_threads,
      "Threads making clinics on PostgreSQL (4)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &opt.seed, "Random seed (1)", "N" },
    { NULL }
  };
  Bench bench = { 0 };
  struct rlimit nofile;
  gboolean ok = FALSE;
  g_autofree char *config = NULL;
  g_autofree char *syncd_path = NULL;

  context = g_option_context_new ("— load generator for vetdesk-syncd");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("vds-bench: %s\n", error->message);
      return 2;
    }
  if (opt.scenario == NULL)
    opt.scenario = g_strdup ("a");
  if (opt.backend == NULL)
    opt.backend = g_strdup ("sqlite");
  if (!g_str_equal (opt.scenario, "a") && !g_str_equal (opt.scenario, "b")
      && !g_str_equal (opt.scenario, "c"))
    {
      g_printerr ("vds-bench: --scenario is a, b or c\n");
      return 2;
    }
  if (!g_str_equal (opt.backend, "sqlite") && !g_str_equal (opt.backend, "postgres"))
    {
      g_printerr ("vds-bench: --backend is sqlite or postgres\n");
      return 2;
    }
  if (opt.clinics < 0)
    opt.clinics = g_str_equal (opt.scenario, "c") ? 4 : 1000;
  if (opt.clinics < 1 || opt.devices_per_clinic < 1 || opt.concurrency < 1
      || opt.batches < 1 || opt.batch_size < 1 || opt.batch_size > VD_PROTOCOL_MAX_PUSH
      || opt.connections < 1 || opt.bare_connections < 1 || opt.setup_threads < 1
      || opt.seconds <= 0 || opt.requests < 1 || opt.bursts < 1)
    {
      g_printerr ("vds-bench: counts must be positive (and a batch at most %d)\n",
                  VD_PROTOCOL_MAX_PUSH);
      return 2;
    }

  /* Many connections need many descriptors. */
  if (getrlimit (RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max)
    {
      nofile.rlim_cur = nofile.rlim_max;
      setrlimit (RLIMIT_NOFILE, &nofile);
    }
  if (!vds_auth_init (&error))
    goto out;

  bench.opt = &opt;
  bench.summary = g_string_new (NULL);
  bench.rand = g_rand_new_with_seed ((guint32) opt.seed);
  bench.run_id = g_strdup_printf ("%06x", g_random_int_range (0, 0xffffff));
  bench.clinics = g_ptr_array_new_with_free_func (clinic_free);
  g_mutex_init (&bench.setup_lock);
  stats_init (&bench.stats_all);
  stats_init (&bench.stats_pull);
  stats_init (&bench.stats_push);
  stats_init (&bench.stats_login);
  {
    g_autoptr(GDateTime) base = g_date_time_new_utc (2025, 3, 3, 8, 0, 0);
    bench.base_time = g_date_time_to_unix (base);
  }
  print_machine (&bench);

  if (opt.database != NULL)
    {
      bench.postgres = !g_str_has_prefix (opt.database, "sqlite:");
      bench.database = g_strdup (opt.database);
    }
  else if (g_str_equal (opt.backend, "postgres"))
    {
      bench.pg = vd_test_pg_start (&error);
      if (bench.pg == NULL)
        goto out;
      bench.postgres = TRUE;
      bench.database = g_strdup (vd_test_pg_get_uri (bench.pg));
      g_print ("throwaway PostgreSQL at %s (fsync=off, shared_buffers=128MB)\n", bench.database);
    }

  syncd_path = g_strdup (opt.syncd ? opt.syncd
                         : g_getenv ("VETDESK_SYNCD") ? g_getenv ("VETDESK_SYNCD")
                         : VETDESK_SYNCD);
  bench.syncd = vd_test_syncd_new (syncd_path, bench.database);
  if (bench.database == NULL)
    bench.database = g_strdup (vd_test_syncd_get_database (bench.syncd));
  /* Rate limits off: one address sends every clinic's traffic here. */
  vd_test_syncd_setenv (bench.syncd, "VDS_RATE_SCALE", "0");
    {
      g_autoptr(GString) text = g_string_new (NULL);

      /* Every simulated desk comes from 127.0.0.1: the per-address caps of a real
       * deployment would refuse them. */
      g_string_append (text, "[server]\nmax-connections-per-address=1000000\n"
                             "max-body-memory-per-address=1048576\n"
                             "max-body-memory=1048576\n");
      if (opt.workers > 0)
        g_string_append_printf (text, "workers=%d\n", opt.workers);
      if (opt.idle_timeout > 0)
        g_string_append_printf (text, "[limits]\nidle-timeout=%d\n", opt.idle_timeout);
      config = g_string_free (g_steal_pointer (&text), FALSE);
      vd_test_syncd_set_config (bench.syncd, config);
    }
  g_string_append_printf (bench.summary, "scenario=%s backend=%s workers=%d", opt.scenario,
                          bench.postgres ? "postgres" : "sqlite", opt.workers);
  g_print ("syncd %s, data in %s, database %s, workers %s, rate limits off "
           "(VDS_RATE_SCALE=0)\n", syncd_path, vd_test_syncd_get_data_dir (bench.syncd),
           bench.database, opt.workers > 0 ? "set" : "default");

  bench.sent = g_hash_table_new (NULL, NULL);
  bench.session = soup_session_new_with_options ("max-conns", opt.connections,
                                                 "max-conns-per-host", opt.connections,
                                                 "timeout", 120,
                                                 NULL);
  /* VDS_BENCH_LOG=headers (or body) shows every exchange on stderr, for debugging. */
  if (g_getenv ("VDS_BENCH_LOG") != NULL)
    {
      g_autoptr(SoupLogger) logger =
        soup_logger_new (g_str_equal (g_getenv ("VDS_BENCH_LOG"), "body")
                         ? SOUP_LOGGER_LOG_BODY : SOUP_LOGGER_LOG_HEADERS);
      soup_session_add_feature (bench.session, SOUP_SESSION_FEATURE (logger));
    }

  if (g_str_equal (opt.scenario, "a"))
    ok = scenario_a (&bench, &error);
  else if (g_str_equal (opt.scenario, "b"))
    ok = scenario_b (&bench, &error);
  else
    ok = scenario_c (&bench, &error);

  if (ok && !vd_test_syncd_stop (bench.syncd, &error))
    ok = FALSE;
  if (ok && !g_str_equal (opt.scenario, "a"))
    verify_store (&bench);
  if (!ok && bench.syncd != NULL)
    {
      g_autofree char *log = vd_test_syncd_get_log (bench.syncd);
      g_printerr ("syncd's log:\n%s\n", log);
    }

out:
  if (error != NULL)
    g_printerr ("vds-bench: %s\n", error->message);
  if (bench.summary != NULL)
    g_print ("SUMMARY %s%s\n", bench.summary->str, ok ? "" : " failed=1");
  g_clear_object (&bench.session);
  g_clear_pointer (&bench.syncd, vd_test_syncd_free);
  g_clear_pointer (&bench.pg, vd_test_pg_stop);
  g_clear_pointer (&bench.clinics, g_ptr_array_unref);
  if (bench.summary != NULL)
    g_string_free (bench.summary, TRUE);
  g_clear_pointer (&bench.rand, g_rand_free);
  stats_clear (&bench.stats_all);
  stats_clear (&bench.stats_pull);
  stats_clear (&bench.stats_push);
  stats_clear (&bench.stats_login);
  g_free (bench.run_id);
  g_free (bench.database);
  g_free (bench.url);
  g_free (bench.fingerprint);
  g_free (bench.company_id);
  g_free (bench.password_hash);
  g_free (bench.setup_error);
  g_free (opt.scenario);
  g_free (opt.backend);
  g_free (opt.database);
  g_free (opt.syncd);
  return ok ? 0 : 1;
}
