/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-streams.c — live updates at scale: a real vetdesk-syncd on a throwaway PostgreSQL
 * with N clinics × M desks, every desk holding its WebSocket stream open over TLS. Prints
 * syncd's memory and CPU at idle, the time from a push to all of that clinic's desks
 * hearing of it, and the time of the admin listing of every clinic. It prints figures and
 * never judges them.
 *
 * Clinics, users and sessions are made through vds_store_* in this process (tokens whose
 * hashes it computes), so 40,000 desks cost no argon2 logins. The desks of the measured
 * clinics live on loops of their own in this process, apart from the one that sends the
 * pushes; the others in loader processes, each loop with its own source address (one
 * address has only ~28,000 ephemeral ports). */
#define G_LOG_DOMAIN "bench-streams"

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <poll.h>
#include <unistd.h>

#include "vd-change.h"
#include "vd-protocol.h"
#include "vd-hlc.h"
#include "vd-id.h"
#include "vd-schema.h"
#include "vds-auth.h"
#include "vds-store.h"
#include "vd-test-pg.h"
#include "vd-test-syncd.h"

#define TOKEN_TTL_S    (6 * 3600)
#define CONNECT_WINDOW 128      /* handshakes in flight per process, shared by its loops */

static int opt_clinics = 10000;
static int opt_desks = 4;
static int opt_pushes = 500;
static int opt_measured = 500;
static int opt_idle = 60;
static int opt_syncds = 3;
static int opt_procs = 3;
static int opt_threads = 128;
static int opt_measured_threads = 8;
static int opt_desk_keepalive = 30;
static int opt_listings = 20;
static int opt_setup_threads = 8;
static int opt_stream_threads = 0;
static char *opt_syncd;
static gboolean opt_listing_only;
/* Loader mode (this binary started by itself). */
static char *opt_loader;
static char *opt_cert;
static int opt_ip = 2;

static const GOptionEntry entries[] = {
  { "clinics", 0, 0, G_OPTION_ARG_INT, &opt_clinics, "Clinics (default 10000)", "N" },
  { "desks", 0, 0, G_OPTION_ARG_INT, &opt_desks, "Desks (streams) per clinic (default 4)", "N" },
  { "pushes", 0, 0, G_OPTION_ARG_INT, &opt_pushes, "Pushes measured (default 500)", "N" },
  { "measured", 0, 0, G_OPTION_ARG_INT, &opt_measured,
    "Clinics whose desks are timed, in this process (default 500)", "N" },
  { "idle", 0, 0, G_OPTION_ARG_INT, &opt_idle, "Seconds of idle measurement (default 60)", "S" },
  { "syncds", 0, 0, G_OPTION_ARG_INT, &opt_syncds,
    "syncd processes on the one database; desks are dealt to them in turn (default 3)", "N" },
  { "procs", 0, 0, G_OPTION_ARG_INT, &opt_procs,
    "Loader processes holding the other desks (default 3)", "N" },
  { "threads", 0, 0, G_OPTION_ARG_INT, &opt_threads, "Threads per loader process (default 128)", "N" },
  { "measured-threads", 0, 0, G_OPTION_ARG_INT, &opt_measured_threads,
    "Threads holding the measured desks in this process (default 8)", "N" },
  { "desk-keepalive", 0, 0, G_OPTION_ARG_INT, &opt_desk_keepalive,
    "Seconds between each desk's own pings, as the app sends them (default 30; 0: none)", "S" },
  { "listings", 0, 0, G_OPTION_ARG_INT, &opt_listings, "Admin listings timed (default 20)", "N" },
  { "setup-threads", 0, 0, G_OPTION_ARG_INT, &opt_setup_threads, "Threads making clinics (default 8)", "N" },
  { "stream-threads", 0, 0, G_OPTION_ARG_INT, &opt_stream_threads,
    "syncd's [monitor] stream-threads (default: syncd's own)", "N" },
  { "syncd", 0, 0, G_OPTION_ARG_FILENAME, &opt_syncd, "The vetdesk-syncd binary", "PATH" },
  { "listing-only", 0, 0, G_OPTION_ARG_NONE, &opt_listing_only,
    "Only time the admin listing (no streams, one syncd)", NULL },
  { "loader", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &opt_loader, NULL, NULL },
  { "cert", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &opt_cert, NULL, NULL },
  { "ip", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &opt_ip, NULL, NULL },
  { NULL }
};

typedef struct _Clinic Clinic;
typedef struct _Loop Loop;

typedef struct
{
  Clinic                  *clinic;
  Loop                    *loop;
  char                    *tenant_id;
  char                    *device_id;
  char                    *token;
  const char              *url;         /* the syncd it streams from */
  SoupWebsocketConnection *conn;
  gint64                   cursor;      /* the newest cursor heard (under bench.heard_lock) */
  gint64                   heard_at;    /* monotonic µs when it was heard (same) */
} Desk;

struct _Clinic
{
  char   *id;
  char   *user_id;
  Desk   *desks;
  gint64  batch;
};

/* One main loop holding desks: the bench's own thread or a loader thread. */
struct _Loop
{
  GMainContext *context;
  SoupSession  *session;
  GThread      *thread;
  GPtrArray    *desks;         /* Desk*, to connect */
  guint         next;
  guint         in_flight;
  guint         window;        /* handshakes it may have in flight */
  gint          connected;     /* atomic */
  gint          failed;        /* atomic */
  gint          closed;        /* atomic */
};

/* A loader process and what it last said. */
typedef struct
{
  GSubprocess      *process;
  GDataInputStream *out;
  guint             total;
  guint             connected;
  guint             failed;
  guint             closed;
} Proc;

static struct
{
  VdTestPg      *pg;
  VdTestSyncd  **syncds;
  char         **urls;
  int           *pids;
  VdsStore      *store;
  GTlsDatabase  *tls_database;
  char          *cert_path;
  char          *run;
  char          *company_id;
  char          *password_hash;
  char          *admin_token;
  Clinic        *clinics;
  gint           setup_done;     /* atomic */
  gint           setup_failed;   /* atomic */
  GPtrArray     *measured_loops; /* Loop*, each on a thread of its own */
  GMutex         heard_lock;     /* the desks' cursor and heard_at */
  GCond          heard_cond;
  Proc          *procs;
} bench;

/* ---- the syncd processes ---- */

static int
find_syncd_pid (VdTestSyncd *syncd)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;
  const char *data_dir = vd_test_syncd_get_data_dir (syncd);

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *cmdline = NULL;
      gsize len;

      if (!g_ascii_isdigit (name[0]))
        continue;
      path = g_strdup_printf ("/proc/%s/cmdline", name);
      if (!g_file_get_contents (path, &cmdline, &len, NULL))
        continue;
      for (gsize i = 0; i + 1 < len; i++)
        if (cmdline[i] == '\0')
          cmdline[i] = ' ';
      if (strstr (cmdline, "serve") != NULL && strstr (cmdline, data_dir) != NULL)
        return atoi (name);
    }
  return -1;
}

/* User + system CPU seconds of a process. */
static double
cpu_seconds (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (after = strrchr (text, ')')) == NULL)
    return -1;
  fields = g_strsplit (after + 2, " ", -1);
  /* After "pid (comm) ": state is field 0, utime 11, stime 12. */
  if (g_strv_length (fields) < 13)
    return -1;
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL))
         / sysconf (_SC_CLK_TCK);
}

static double
rss_mib (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *text = NULL;
  const char *line;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (line = strstr (text, "VmRSS:")) == NULL)
    return -1;
  return g_ascii_strtod (line + strlen ("VmRSS:"), NULL) / 1024.0;
}

static double
all_cpu (void)
{
  double total = 0;

  for (int i = 0; i < opt_syncds; i++)
    total += cpu_seconds (bench.pids[i]);
  return total;
}

/* ---- setup through the store ---- */

static void
make_clinic (gpointer data,
             gpointer user_data)
{
  int i = GPOINTER_TO_INT (data) - 1;
  Clinic *clinic = &bench.clinics[i];
  g_autoptr(GError) error = NULL;
  g_autofree char *slug = g_strdup_printf ("s%s-%d", bench.run, i);
  g_autofree char *name = g_strdup_printf ("Clínica %05d", i);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (!vds_store_add_tenant (bench.store, slug, name, i % 2 ? "Europe/Madrid" : "America/Mexico_City",
                             "EUR", bench.company_id, &clinic->id, &error)
      || !vds_store_add_user (bench.store, slug, name, bench.password_hash, "none",
                              &clinic->user_id, &error)
      || !vds_store_add_membership (bench.store, clinic->user_id, clinic->id, "front_desk", &error))
    goto failed;

  clinic->desks = g_new0 (Desk, opt_desks);
  for (int d = 0; d < opt_desks; d++)
    {
      Desk *desk = &clinic->desks[d];
      g_autofree char *access_hash = NULL;
      g_autofree char *refresh = vds_auth_new_token ();
      g_autofree char *refresh_hash = vds_auth_token_hash (refresh);

      desk->clinic = clinic;
      desk->tenant_id = clinic->id;
      desk->device_id = vd_uuid_new ();
      desk->token = vds_auth_new_token ();
      desk->cursor = -1;
      access_hash = vds_auth_token_hash (desk->token);
      if (!vds_store_create_session (bench.store, clinic->user_id, desk->device_id, "Bench desk",
                                     now, now + TOKEN_TTL_S, access_hash, now + TOKEN_TTL_S,
                                     refresh_hash, now + TOKEN_TTL_S, NULL, &error))
        goto failed;

      /* Each desk synced once, a few minutes ago: the listing's device figures. */
      {
        VdsDeviceReport report = { clinic->id, desk->device_id, clinic->user_id, "0.1.0",
                                   VDS_DEVICE_PULLED, 0, 0, 0, NULL, NULL, now - 60 * (i % 10) };
        if (!vds_store_report_device (bench.store, &report, &error))
          goto failed;
      }
    }

  /* A working day of activity: 11 of the last 24 hours, as a clinic open 09–20 has. */
  {
    VdsActivity activity[11];

    for (int h = 0; h < 11; h++)
      activity[h] = (VdsActivity) { clinic->id, (now - h * 3600) / 60, 40, 80, 90, 0, 0 };
    if (!vds_store_add_activity (bench.store, activity, G_N_ELEMENTS (activity), &error))
      goto failed;
  }
  g_atomic_int_inc (&bench.setup_done);
  return;

failed:
  g_printerr ("clinic %d: %s\n", i, error->message);
  g_atomic_int_inc (&bench.setup_failed);
}

/* ---- desks ---- */

/* The desks' side wants small messages out at once too (Nagle would hold a request's
 * second TLS record for the server's delayed ACK). */
static void
network_event_cb (SoupMessage        *msg,
                  GSocketClientEvent  event,
                  GIOStream          *connection,
                  gpointer            data)
{
  if (event == G_SOCKET_CLIENT_CONNECTED && G_IS_SOCKET_CONNECTION (connection))
    g_socket_set_option (g_socket_connection_get_socket (G_SOCKET_CONNECTION (connection)),
                         IPPROTO_TCP, TCP_NODELAY, 1, NULL);
}

static void
message_cb (SoupWebsocketConnection *conn,
            gint                     type,
            GBytes                  *message,
            Desk                    *desk)
{
  gsize len;
  const char *data = g_bytes_get_data (message, &len);
  const char *p = g_strstr_len (data, len, "\"cursor\":");

  /* {"type":"cursor","cursor":N}: the one message the server sends. */
  if (p != NULL)
    {
      gint64 cursor = g_ascii_strtoll (p + strlen ("\"cursor\":"), NULL, 10);

      g_mutex_lock (&bench.heard_lock);
      if (cursor > desk->cursor)
        {
          desk->cursor = cursor;
          desk->heard_at = g_get_monotonic_time ();
          g_cond_broadcast (&bench.heard_cond);
        }
      g_mutex_unlock (&bench.heard_lock);
    }
}

static void
closed_cb (SoupWebsocketConnection *conn,
           Desk                    *desk)
{
  g_atomic_int_inc (&desk->loop->closed);
}

static void connect_next (Loop *loop);

static void
connected_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Desk *desk = data;
  Loop *loop = desk->loop;
  g_autoptr(GError) error = NULL;

  desk->conn = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  loop->in_flight--;
  if (desk->conn == NULL)
    {
      if (g_atomic_int_add (&loop->failed, 1) < 3)
        g_printerr ("a desk could not connect: %s\n", error->message);
    }
  else
    {
      g_signal_connect (desk->conn, "message", G_CALLBACK (message_cb), desk);
      g_signal_connect (desk->conn, "closed", G_CALLBACK (closed_cb), desk);
      /* The app pings every 30 s (vd-sync-engine.c). GLib fires each process's
       * second-granular timers at one instant of the second, so each loader has an
       * instant of its own (its HOSTNAME), as desks on separate machines do. */
      if (opt_desk_keepalive > 0)
        soup_websocket_connection_set_keepalive_interval (desk->conn, opt_desk_keepalive);
      g_atomic_int_inc (&loop->connected);
    }
  connect_next (loop);
}

static void
connect_next (Loop *loop)
{
  while (loop->in_flight < loop->window && loop->next < loop->desks->len)
    {
      Desk *desk = loop->desks->pdata[loop->next++];
      g_autofree char *uri = g_strdup_printf ("%s/v1/tenants/%s/sync/stream", desk->url,
                                              desk->tenant_id);
      g_autofree char *auth = g_strconcat ("Bearer ", desk->token, NULL);
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);

      g_signal_connect (msg, "network-event", G_CALLBACK (network_event_cb), NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
      loop->in_flight++;
      soup_session_websocket_connect_async (loop->session, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                            NULL, connected_cb, desk);
    }
}

/* A loop of its own, one of n_loops in its process, whose connections leave from
 * 127.0.0.ip: one address has only ~28,000 ephemeral ports. */
static Loop *
loop_new (guint ip,
          guint n_loops)
{
  Loop *loop = g_new0 (Loop, 1);
  g_autofree char *text = g_strdup_printf ("127.0.0.%u", ip);
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (text);
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (address, 0);

  loop->context = g_main_context_new ();
  loop->desks = g_ptr_array_new ();
  /* Too many handshakes at once and syncd's header timeout drops some. */
  loop->window = MAX (1, CONNECT_WINDOW / n_loops);
  g_main_context_push_thread_default (loop->context);
  /* Trusting syncd's own certificates (rather than failing against the system's CAs and
   * accepting a fingerprint) keeps the desks' side of each handshake cheaper. */
  loop->session = soup_session_new_with_options ("local-address", local,
                                                 "tls-database", bench.tls_database,
                                                 "max-conns", 4 * loop->window,
                                                 "max-conns-per-host", 4 * loop->window,
                                                 "timeout", 120, "idle-timeout", 0, NULL);
  g_main_context_pop_thread_default (loop->context);
  return loop;
}

static gpointer
loader_thread (gpointer data)
{
  Loop *loop = data;

  g_main_context_push_thread_default (loop->context);
  connect_next (loop);
  for (;;)
    g_main_context_iteration (loop->context, TRUE);
  return NULL;
}

/* Loader mode: connects the desks listed in a file ("url\ttenant\ttoken" lines), says how
 * far it got on stdout every second, and holds them until its stdin closes. */
static int
loader_main (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) loops = g_ptr_array_new ();
  guint n = 0;
  char buf[16];

  bench.tls_database = g_tls_file_database_new (opt_cert, &error);
  if (bench.tls_database == NULL || !g_file_get_contents (opt_loader, &text, NULL, &error))
    {
      g_printerr ("bench-streams loader: %s\n", error->message);
      return 1;
    }
  for (int t = 0; t < MAX (opt_threads, 1); t++)
    g_ptr_array_add (loops, loop_new (2 + (opt_ip - 2 + t) % 253, MAX (opt_threads, 1)));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) f = g_strsplit (lines[i], "\t", 3);
      Desk *desk;
      Loop *loop;

      if (g_strv_length (f) != 3)
        continue;
      loop = loops->pdata[n++ % loops->len];
      desk = g_new0 (Desk, 1);
      desk->url = g_strdup (f[0]);
      desk->tenant_id = g_strdup (f[1]);
      desk->token = g_strdup (f[2]);
      desk->cursor = -1;
      desk->loop = loop;
      g_ptr_array_add (loop->desks, desk);
    }
  for (guint i = 0; i < loops->len; i++)
    {
      Loop *loop = loops->pdata[i];
      loop->thread = g_thread_new ("loader", loader_thread, loop);
    }

  /* Progress until the parent closes stdin. */
  for (;;)
    {
      guint connected = 0, failed = 0, closed = 0;
      struct pollfd pfd = { 0, POLLIN, 0 };

      for (guint i = 0; i < loops->len; i++)
        {
          Loop *loop = loops->pdata[i];
          connected += g_atomic_int_get (&loop->connected);
          failed += g_atomic_int_get (&loop->failed);
          closed += g_atomic_int_get (&loop->closed);
        }
      printf ("%u %u %u %u\n", n, connected, failed, closed);
      fflush (stdout);
      if (poll (&pfd, 1, 1000) > 0 && read (0, buf, sizeof buf) <= 0)
        break;
    }
  /* The desks go with the process. */
  _exit (0);
}

/* ---- the pushes ---- */

typedef struct
{
  gboolean done;
  gint64   cursor;
  guint    status;
} PushResult;

static void
push_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  PushResult *pr = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);

  pr->done = TRUE;
  pr->status = msg != NULL ? soup_message_get_status (msg) : 0;
  if (body != NULL && pr->status == 200)
    {
      const char *text = g_bytes_get_data (body, NULL);
      const char *p = g_strstr_len (text, g_bytes_get_size (body), "\"cursor\":");

      pr->cursor = p != NULL ? g_ascii_strtoll (p + strlen ("\"cursor\":"), NULL, 10) : -1;
    }
}

static SoupMessage *
push_message (Clinic *clinic)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  g_autofree char *uri = g_strdup_printf ("%s/v1/tenants/%s/sync/push", clinic->desks[0].url,
                                          clinic->id);
  g_autofree char *auth = g_strconcat ("Bearer ", clinic->desks[0].token, NULL);
  g_autofree char *id = vd_uuid_new ();
  g_autoptr(GBytes) body = NULL;
  SoupMessage *msg = soup_message_new ("POST", uri);
  VdChange *change = vd_change_new (vd_schema_lookup_table ("clients"), id,
                                    vd_hlc_make (g_get_real_time () / 1000, 0),
                                    clinic->desks[0].device_id);
  VdValue v = { 0, };
  char *text;
  gsize len;

  vd_value_set_text (&v, "Ana");
  vd_change_take_cell (change, vd_table_lookup_column (change->table, "first_name"), &v);
  vd_value_set_text (&v, "Bench");
  vd_change_take_cell (change, vd_table_lookup_column (change->table, "last_name"), &v);
  g_ptr_array_add (changes, change);
  text = vd_push_request_encode (clinic->desks[0].device_id, ++clinic->batch, changes, &len);
  body = g_bytes_new_take (text, len);
  g_signal_connect (msg, "network-event", G_CALLBACK (network_event_cb), NULL);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  /* A push is idempotent (a replayed batch changes nothing): libsoup 3.2 opens a new
   * connection for every POST unless told so, and a TLS handshake per push would be
   * measured instead of the push. */
  soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
  return msg;
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
percentile (GArray *values,
            double  p)
{
  guint i;

  if (values->len == 0)
    return -1;
  i = (guint) MIN (values->len - 1, (guint) (p / 100.0 * values->len));
  return g_array_index (values, double, i);
}

/* Whether every desk of clinic heard cursor; under bench.heard_lock. */
static gboolean
all_heard (Clinic *clinic,
           gint64  cursor)
{
  for (int d = 0; d < opt_desks; d++)
    if (clinic->desks[d].cursor < cursor)
      return FALSE;
  return TRUE;
}

/* Sequential pushes to measured clinics; for each, the time until all its desks heard. */
static void
run_pushes (GRand *rand)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 60, "tls-database",
                                                                  bench.tls_database, NULL);
  g_autoptr(GArray) latencies = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) fanouts = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GString) slow = g_string_new (NULL);
  gint64 start = g_get_monotonic_time ();
  guint missed = 0, failed = 0;

  for (int n = 0; n < opt_pushes; n++)
    {
      Clinic *clinic = &bench.clinics[g_rand_int_range (rand, 0, MIN (opt_measured, opt_clinics))];
      g_autoptr(SoupMessage) msg = push_message (clinic);
      PushResult pr = { FALSE, -1, 0 };
      gint64 t0 = g_get_monotonic_time (), answered, last = 0;
      gint64 deadline = t0 + 10 * G_USEC_PER_SEC;
      gboolean all;

      /* This loop holds the push alone; the desks hear on their own threads. */
      soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, push_done_cb, &pr);
      while (!pr.done)
        g_main_context_iteration (NULL, TRUE);
      answered = g_get_monotonic_time ();
      if (pr.status != 200)
        {
          failed++;
          continue;
        }
      g_mutex_lock (&bench.heard_lock);
      while (!(all = all_heard (clinic, pr.cursor))
             && g_cond_wait_until (&bench.heard_cond, &bench.heard_lock, deadline))
        ;
      all = all_heard (clinic, pr.cursor);
      for (int d = 0; all && d < opt_desks; d++)
        last = MAX (last, clinic->desks[d].heard_at);
      g_mutex_unlock (&bench.heard_lock);
      if (!all)
        {
          missed++;
          continue;
        }
      {
        double total, fanout;

        total = (last - t0) / 1000.0;
        fanout = (last - answered) / 1000.0;
        g_array_append_val (latencies, total);
        g_array_append_val (fanouts, fanout);
        /* The slow ones, to see whether they come together or at regular moments. */
        if (total > 100)
          g_string_append_printf (slow, "    push %d at +%.1f s to %s: %.0f ms (answer after "
                                  "%.0f ms)\n", n, (t0 - start) / 1e6, clinic->desks[0].url,
                                  total, (answered - t0) / 1000.0);
      }
    }

  g_array_sort (latencies, compare_doubles);
  g_array_sort (fanouts, compare_doubles);
  g_print ("push → all %d desks of the clinic notified (ms, from sending the push): "
           "p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (%u pushes, %u failed, %u not heard in 10 s)\n",
           opt_desks, percentile (latencies, 50), percentile (latencies, 90),
           percentile (latencies, 99), percentile (latencies, 100), latencies->len, failed, missed);
  g_print ("  of which after the push's answer arrived (ms; negative: the desks heard first): "
           "p50 %.1f  p99 %.1f\n", percentile (fanouts, 50), percentile (fanouts, 99));
  if (slow->len > 0)
    g_print ("  pushes over 100 ms:\n%s", slow->str);
  g_print ("SUMMARY streams push_p50_ms=%.1f push_p99_ms=%.1f\n", percentile (latencies, 50),
           percentile (latencies, 99));
}

/* One admin listing over HTTPS; its milliseconds, or -1. */
static double
time_listing (SoupSession *session,
              const char  *uri,
              const char  *auth,
              gsize       *out_size,
              guint       *out_tenants,
              gboolean    *out_gzip)
{
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  gint64 t0;
  double ms;

  g_signal_connect (msg, "network-event", G_CALLBACK (network_event_cb), NULL);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  t0 = g_get_monotonic_time ();
  body = soup_session_send_and_read (session, msg, NULL, &error);
  ms = (g_get_monotonic_time () - t0) / 1000.0;
  if (body == NULL || soup_message_get_status (msg) != 200)
    {
      g_printerr ("admin listing failed: %u %s\n", soup_message_get_status (msg),
                  error ? error->message : "");
      return -1;
    }
  *out_size = g_bytes_get_size (body);
  *out_gzip = g_strcmp0 (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                       "Content-Encoding"), "gzip") == 0;
  if (out_tenants != NULL)
    {
      const char *text = g_bytes_get_data (body, NULL);

      *out_tenants = 0;
      for (const char *p = text; (p = g_strstr_len (p, *out_size - (p - text), "\"health\":")) != NULL; p++)
        (*out_tenants)++;
    }
  return ms;
}

/* The listing as admins see it: the first one after a quiet spell (read from the
 * database), back to back (several admins at once) and spaced beyond a snapshot's life (a
 * lone admin's monitor refreshing), when syncd's refresher has the next snapshot ready. */
static void
run_listings (void)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 120, "tls-database",
                                                                  bench.tls_database, NULL);
  g_autoptr(GArray) shared = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) fresh = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) store_times = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *uri = g_strconcat (bench.urls[0], "/v1/admin/tenants", NULL);
  g_autofree char *auth = g_strconcat ("Bearer ", bench.admin_token, NULL);
  gboolean gzip = FALSE;
  gsize size = 0;
  guint tenants = 0;
  double first, ms;

  /* The first one opens the TLS connection and reads the clinics. */
  if ((first = time_listing (session, uri, auth, &size, &tenants, &gzip)) < 0)
    return;
  for (int i = 0; i < opt_listings; i++)
    {
      if ((ms = time_listing (session, uri, auth, &size, NULL, &gzip)) < 0)
        return;
      g_array_append_val (shared, ms);
    }
  for (int i = 0; i < MAX (opt_listings / 2, 1); i++)
    {
      /* syncd's default listing-max-age-ms is 2000. */
      g_usleep (2100 * 1000);
      if ((ms = time_listing (session, uri, auth, &size, NULL, &gzip)) < 0)
        return;
      g_array_append_val (fresh, ms);
    }

  for (int i = 0; i < opt_listings; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) stats = NULL;
      gint64 t0 = g_get_monotonic_time ();

      stats = vds_store_admin_tenants (bench.store, NULL, &error);
      ms = (g_get_monotonic_time () - t0) / 1000.0;
      if (stats != NULL)
        g_array_append_val (store_times, ms);
    }

  g_array_sort (shared, compare_doubles);
  g_array_sort (fresh, compare_doubles);
  g_array_sort (store_times, compare_doubles);
  g_print ("admin listing of %u clinics over HTTPS, %.1f MiB of JSON, %s (ms):\n", tenants,
           size / (1024.0 * 1024.0), gzip ? "sent gzip-compressed" : "sent plain");
  g_print ("  the first, after a quiet spell (TLS handshake, read, encoded, compressed): %.1f\n", first);
  g_print ("  back to back:                    min %.1f  p50 %.1f  p99 %.1f  max %.1f\n",
           percentile (shared, 0), percentile (shared, 50), percentile (shared, 99),
           percentile (shared, 100));
  g_print ("  one every 2.1 s (snapshot life 2 s): min %.1f  p50 %.1f  max %.1f\n",
           percentile (fresh, 0), percentile (fresh, 50), percentile (fresh, 100));
  g_print ("  the store's queries and health alone (in this process): min %.1f  p50 %.1f\n",
           percentile (store_times, 0), percentile (store_times, 50));
  g_print ("SUMMARY streams listing_p50_ms=%.1f listing_spaced_p50_ms=%.1f listing_first_ms=%.1f "
           "listing_clinics=%u\n", percentile (shared, 50), percentile (fresh, 50), first, tenants);
}

/* ---- main ---- */

static void
read_progress_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  Proc *proc = data;
  g_autofree char *line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source),
                                                                result, NULL, NULL);
  guint total, connected, failed, closed;

  if (line == NULL)
    return;
  if (sscanf (line, "%u %u %u %u", &total, &connected, &failed, &closed) == 4)
    {
      proc->total = total;
      proc->connected = connected;
      proc->failed = failed;
      proc->closed = closed;
    }
  g_data_input_stream_read_line_async (proc->out, G_PRIORITY_DEFAULT, NULL, read_progress_cb, proc);
}

static void
count_streams (guint *out_connected,
               guint *out_failed,
               guint *out_closed)
{
  *out_connected = *out_failed = *out_closed = 0;
  for (guint i = 0; i < bench.measured_loops->len; i++)
    {
      Loop *loop = bench.measured_loops->pdata[i];

      *out_connected += g_atomic_int_get (&loop->connected);
      *out_failed += g_atomic_int_get (&loop->failed);
      *out_closed += g_atomic_int_get (&loop->closed);
    }
  for (int i = 0; i < opt_procs; i++)
    {
      *out_connected += bench.procs[i].connected;
      *out_failed += bench.procs[i].failed;
      *out_closed += bench.procs[i].closed;
    }
}

static gboolean
wait_connected (guint total)
{
  gint64 start = g_get_monotonic_time (), last_print = 0;

  for (;;)
    {
      guint connected, failed, closed;

      while (g_main_context_iteration (NULL, FALSE))
        ;
      count_streams (&connected, &failed, &closed);
      if (g_get_monotonic_time () - last_print > 15 * G_USEC_PER_SEC || connected + failed == total)
        {
          last_print = g_get_monotonic_time ();
          g_print ("  %u streams open, %u failed (%.0f s)\n", connected, failed,
                   (last_print - start) / 1e6);
        }
      if (connected + failed == total)
        return failed == 0;
      g_usleep (5000);
    }
}

static void
print_syncds (const char *when,
              double      cpu_pct,
              guint       streams)
{
  double total = 0;
  GString *each = g_string_new (NULL);

  for (int i = 0; i < opt_syncds; i++)
    {
      double rss = rss_mib (bench.pids[i]);

      total += rss;
      g_string_append_printf (each, "%s%.0f", i > 0 ? " + " : "", rss);
    }
  g_print ("syncd %s: %.1f MiB resident in all (%s MiB), %.1f KiB per stream%s", when, total,
           each->str, streams > 0 ? total * 1024.0 / streams : 0.0,
           cpu_pct >= 0 ? "" : "\n");
  if (cpu_pct >= 0)
    g_print (", CPU %.2f%% of one core in all\n", cpu_pct);
  g_string_free (each, TRUE);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("— live-update streams at scale");
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240601);
  g_autoptr(GString) certs = g_string_new (NULL);
  g_autofree char *config = NULL;
  g_autofree char *admin_id = NULL;
  g_autofree char *tmp_dir = NULL;
  GThreadPool *pool = NULL;
  struct rlimit nofile;
  guint total, connected, failed, closed;
  gint64 t0;
  double cpu0, cpu1, rss;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-streams: %s\n", error->message);
      return 2;
    }

  /* Every process holds one descriptor per stream. The hard limit can only be raised
   * with CAP_SYS_RESOURCE; without it each process gets what the hard limit allows
   * (syncd raises its own soft limit too), which is why streams are spread over several
   * syncd and loader processes. */
  if (getrlimit (RLIMIT_NOFILE, &nofile) == 0)
    {
      struct rlimit want = { 1 << 20, 1 << 20 };

      if (setrlimit (RLIMIT_NOFILE, &want) != 0)
        {
          nofile.rlim_cur = nofile.rlim_max;
          setrlimit (RLIMIT_NOFILE, &nofile);
        }
      getrlimit (RLIMIT_NOFILE, &nofile);
    }
  if (opt_loader != NULL)
    return loader_main ();

  if (opt_listing_only)
    opt_syncds = 1;
  opt_syncds = CLAMP (opt_syncds, 1, 16);
  opt_procs = CLAMP (opt_procs, 1, 16);
  opt_measured = CLAMP (opt_measured, 1, opt_clinics);
  total = opt_clinics * opt_desks;
  g_print ("%d clinics × %d desks = %u streams over %d syncd processes on one PostgreSQL; "
           "open-file limit %lu per process; %ld cores\n", opt_clinics, opt_desks, total,
           opt_syncds, (unsigned long) nofile.rlim_cur, sysconf (_SC_NPROCESSORS_ONLN));

  if (!vds_auth_init (&error))
    goto failed;
  bench.run = g_strdup_printf ("%04x", g_random_int_range (0, 0xffff));
  tmp_dir = g_dir_make_tmp ("bench-streams-XXXXXX", &error);
  if (tmp_dir == NULL)
    goto failed;
  bench.pg = vd_test_pg_start (&error);
  if (bench.pg == NULL)
    goto failed;
  g_print ("throwaway PostgreSQL at %s\n", vd_test_pg_get_uri (bench.pg));

  bench.store = vds_store_open (vd_test_pg_get_uri (bench.pg), opt_setup_threads, &error);
  if (bench.store == NULL)
    goto failed;
  bench.password_hash = vds_auth_hash_password ("bench-password-1", &error);
  if (bench.password_hash == NULL
      || !vds_store_add_company (bench.store, "Bench", &bench.company_id, &error))
    goto failed;

  /* The platform admin's session, made like the desks'. */
  {
    g_autofree char *access_hash = NULL;
    g_autofree char *refresh = vds_auth_new_token ();
    g_autofree char *refresh_hash = vds_auth_token_hash (refresh);
    gint64 now = g_get_real_time () / G_USEC_PER_SEC;

    bench.admin_token = vds_auth_new_token ();
    access_hash = vds_auth_token_hash (bench.admin_token);
    if (!vds_store_add_user (bench.store, "bench-admin", "Bench admin", bench.password_hash,
                             "platform_admin", &admin_id, &error)
        || !vds_store_create_session (bench.store, admin_id, "00000000-0000-4000-8000-000000000001",
                                      "bench", now, now + TOKEN_TTL_S, access_hash,
                                      now + TOKEN_TTL_S, refresh_hash, now + TOKEN_TTL_S, NULL,
                                      &error))
      goto failed;
  }

  t0 = g_get_monotonic_time ();
  bench.clinics = g_new0 (Clinic, opt_clinics);
  pool = g_thread_pool_new (make_clinic, NULL, opt_setup_threads, FALSE, &error);
  if (pool == NULL)
    goto failed;
  for (int i = 0; i < opt_clinics; i++)
    g_thread_pool_push (pool, GINT_TO_POINTER (i + 1), NULL);
  /* Waits for every clinic. */
  g_thread_pool_free (g_steal_pointer (&pool), FALSE, TRUE);
  if (g_atomic_int_get (&bench.setup_failed) > 0)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "%d clinics could not be made",
                   g_atomic_int_get (&bench.setup_failed));
      goto failed;
    }
  g_print ("made %d clinics, %d users, %d sessions, as many devices and 11 hours of "
           "activity per clinic through the store in %.1f s\n",
           opt_clinics, opt_clinics, total, (g_get_monotonic_time () - t0) / 1e6);

  /* The syncd processes, each with its own certificate: the desks trust all of them. */
  /* Every loader's desks come from 127.0.0.1: the per-address caps of a real deployment
   * would refuse them. */
#define BENCH_CAPS "[server]\nmax-connections-per-address=1000000\n" \
                   "max-body-memory-per-address=1048576\nmax-body-memory=1048576\n"
  config = opt_stream_threads > 0
           ? g_strdup_printf (BENCH_CAPS "[limits]\nheader-timeout=60\n[monitor]\n"
                              "stream-threads=%d\n", opt_stream_threads)
           : g_strdup (BENCH_CAPS "[limits]\nheader-timeout=60\n");
  bench.syncds = g_new0 (VdTestSyncd *, opt_syncds);
  bench.urls = g_new0 (char *, opt_syncds);
  bench.pids = g_new0 (int, opt_syncds);
  for (int i = 0; i < opt_syncds; i++)
    {
      g_autofree char *cert_path = NULL;
      g_autofree char *pem = NULL;

      bench.syncds[i] = vd_test_syncd_new (opt_syncd ? opt_syncd : VETDESK_SYNCD,
                                           vd_test_pg_get_uri (bench.pg));
      vd_test_syncd_setenv (bench.syncds[i], "VDS_RATE_SCALE", "0");
      vd_test_syncd_set_config (bench.syncds[i], config);
      if (!vd_test_syncd_start (bench.syncds[i], &error))
        goto failed;
      bench.urls[i] = g_strdup (vd_test_syncd_get_url (bench.syncds[i]));
      bench.pids[i] = find_syncd_pid (bench.syncds[i]);
      cert_path = g_build_filename (vd_test_syncd_get_data_dir (bench.syncds[i]), "tls-cert.pem", NULL);
      if (!g_file_get_contents (cert_path, &pem, NULL, &error))
        goto failed;
      g_string_append (certs, pem);
    }
  bench.cert_path = g_build_filename (tmp_dir, "certs.pem", NULL);
  if (!g_file_set_contents (bench.cert_path, certs->str, -1, &error))
    goto failed;
  bench.tls_database = g_tls_file_database_new (bench.cert_path, &error);
  if (bench.tls_database == NULL)
    goto failed;
  print_syncds ("before any stream", -1, 0);
  if (opt_listing_only)
    {
      run_listings ();
      for (int i = 0; i < opt_syncds; i++)
        {
          vd_test_syncd_stop (bench.syncds[i], NULL);
          vd_test_syncd_free (bench.syncds[i]);
        }
      vds_store_free (bench.store);
      vd_test_pg_stop (bench.pg);
      g_unlink (bench.cert_path);
      g_rmdir (tmp_dir);
      return 0;
    }

  /* The desks are dealt to the syncd processes in turn, as a load balancer would spread
   * them: a clinic's desks sit on different processes, and a push made on one reaches the
   * others through NOTIFY. The measured clinics' desks are on loops of this process (not
   * the one sending the pushes: a GLib loop's wakeup costs time for every stream it holds),
   * the rest in loader processes. */
  bench.measured_loops = g_ptr_array_new ();
  for (int t = 0; t < MAX (opt_measured_threads, 1); t++)
    g_ptr_array_add (bench.measured_loops, loop_new (1, MAX (opt_measured_threads, 1)));
  bench.procs = g_new0 (Proc, opt_procs);
  {
    GString **files = g_new0 (GString *, opt_procs);

    for (int i = 0; i < opt_procs; i++)
      files[i] = g_string_new (NULL);
    for (int c = 0; c < opt_clinics; c++)
      for (int d = 0; d < opt_desks; d++)
        {
          Desk *desk = &bench.clinics[c].desks[d];

          desk->url = bench.urls[(c * opt_desks + d) % opt_syncds];
          if (c < opt_measured)
            {
              desk->loop = bench.measured_loops->pdata[(c * opt_desks + d) % bench.measured_loops->len];
              g_ptr_array_add (desk->loop->desks, desk);
            }
          else
            g_string_append_printf (files[c % opt_procs], "%s\t%s\t%s\n", desk->url,
                                    desk->tenant_id, desk->token);
        }
    for (int i = 0; i < opt_procs; i++)
      {
        g_autofree char *path = g_strdup_printf ("%s/desks-%d.txt", tmp_dir, i);
        g_autofree char *ip = g_strdup_printf ("%d", 2 + i * MAX (opt_threads, 1));
        g_autofree char *threads = g_strdup_printf ("%d", opt_threads);
        g_autofree char *keepalive = g_strdup_printf ("%d", opt_desk_keepalive);
        g_autofree char *host = g_strdup_printf ("bench-streams-loader-%d", i);
        g_autoptr(GSubprocessLauncher) launcher =
          g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);

        if (!g_file_set_contents (path, files[i]->str, -1, &error))
          goto failed;
        g_string_free (files[i], TRUE);
        /* GLib fires a process's second-granular timers (libsoup's keep-alive pings) at one
         * instant of each second, taken from a hash of DBUS_SESSION_BUS_ADDRESS or else
         * HOSTNAME: desks on separate machines ping at different instants, so each loader
         * gets an instant of its own. */
        g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
        g_subprocess_launcher_setenv (launcher, "HOSTNAME", host, TRUE);
        bench.procs[i].process = g_subprocess_launcher_spawn (launcher, &error, argv[0],
                                                              "--loader", path, "--cert",
                                                              bench.cert_path, "--ip", ip,
                                                              "--threads", threads,
                                                              "--desk-keepalive", keepalive, NULL);
        if (bench.procs[i].process == NULL)
          goto failed;
        bench.procs[i].out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bench.procs[i].process));
        g_data_input_stream_read_line_async (bench.procs[i].out, G_PRIORITY_DEFAULT, NULL,
                                             read_progress_cb, &bench.procs[i]);
      }
    g_free (files);
  }

  t0 = g_get_monotonic_time ();
  cpu0 = all_cpu ();
  g_print ("opening %u streams (a TLS handshake and a token check each)…\n", total);
  for (guint i = 0; i < bench.measured_loops->len; i++)
    {
      Loop *loop = bench.measured_loops->pdata[i];
      loop->thread = g_thread_new ("measured", loader_thread, loop);
    }
  if (!wait_connected (total))
    g_print ("  (some streams failed; the figures below are for those that opened)\n");
  cpu1 = all_cpu ();
  g_print ("opened in %.1f s; syncd used %.1f s of CPU for it (%.2f ms per stream)\n",
           (g_get_monotonic_time () - t0) / 1e6, cpu1 - cpu0, (cpu1 - cpu0) * 1000.0 / total);
  count_streams (&connected, &failed, &closed);

  /* Idle: nothing but the keep-alive pings every 30 s. */
  g_print ("idle for %d s…\n", opt_idle);
  t0 = g_get_monotonic_time ();
  cpu0 = all_cpu ();
  while (g_get_monotonic_time () - t0 < (gint64) opt_idle * G_USEC_PER_SEC)
    g_main_context_iteration (NULL, TRUE);
  cpu1 = all_cpu ();
  {
    double pct = (cpu1 - cpu0) * 100.0 / ((g_get_monotonic_time () - t0) / 1e6);

    print_syncds ("at idle", pct, connected);
    rss = 0;
    for (int i = 0; i < opt_syncds; i++)
      rss += rss_mib (bench.pids[i]);
    g_print ("SUMMARY streams streams=%u syncds=%d idle_rss_mib=%.1f idle_cpu_pct=%.2f\n",
             connected, opt_syncds, rss, pct);
  }

  cpu0 = all_cpu ();
  t0 = g_get_monotonic_time ();
  run_pushes (rand);
  cpu1 = all_cpu ();
  g_print ("  syncd CPU during the pushes: %.1f%% of one core in all\n",
           (cpu1 - cpu0) * 100.0 / ((g_get_monotonic_time () - t0) / 1e6));

  run_listings ();

  count_streams (&connected, &failed, &closed);
  g_print ("streams closed by the server during the run: %u\n", closed);

  /* Each syncd closes its streams (1001) as it stops; the loaders answer the frames. */
  t0 = g_get_monotonic_time ();
  for (int i = 0; i < opt_syncds; i++)
    if (!vd_test_syncd_stop (bench.syncds[i], &error))
      goto failed;
  g_print ("syncd processes stopped (closing their streams) in %.1f s\n",
           (g_get_monotonic_time () - t0) / 1e6);
  for (int i = 0; i < opt_procs; i++)
    {
      g_output_stream_close (g_subprocess_get_stdin_pipe (bench.procs[i].process), NULL, NULL);
      g_subprocess_wait (bench.procs[i].process, NULL, NULL);
    }
  for (int i = 0; i < opt_syncds; i++)
    vd_test_syncd_free (bench.syncds[i]);
  vds_store_free (bench.store);
  vd_test_pg_stop (bench.pg);
  g_unlink (bench.cert_path);
  for (int i = 0; i < opt_procs; i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/desks-%d.txt", tmp_dir, i);
      g_unlink (path);
    }
  g_rmdir (tmp_dir);
  return 0;

failed:
  g_printerr ("bench-streams: %s\n", error ? error->message : "failed");
  for (int i = 0; bench.procs != NULL && i < opt_procs; i++)
    if (bench.procs[i].process != NULL)
      g_subprocess_force_exit (bench.procs[i].process);
  for (int i = 0; bench.syncds != NULL && i < opt_syncds; i++)
    if (bench.syncds[i] != NULL)
      {
        g_autofree char *log = vd_test_syncd_get_log (bench.syncds[i]);
        g_printerr ("syncd %d's log (end):\n%s\n", i,
                    strlen (log) > 2000 ? log + strlen (log) - 2000 : log);
        vd_test_syncd_free (bench.syncds[i]);
      }
  if (bench.store != NULL)
    vds_store_free (bench.store);
  if (bench.pg != NULL)
    vd_test_pg_stop (bench.pg);
  return 1;
}
