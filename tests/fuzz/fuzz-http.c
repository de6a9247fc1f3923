/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-http.c — libFuzzer target for syncd's HTTP layer: each input is the bytes a client
 * sends on one connection (request lines, headers, chunked or sized bodies, several
 * requests kept alive), served by a real VdsServer on a SQLite store through libsoup, as
 * the listener would (plain HTTP: TLS is glib-networking's). Whatever comes back must be
 * HTTP/1.x, and every error answer the contract's JSON error body. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vds-auth.h"
#include "vds-server.h"
#include "vds-store.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static VdsServer *server;
static GSocketAddress *local_address;
static GSocketAddress *remote_address;

static void
remove_dir (void)
{
  /* The fuzzer exits through exit(); the SQLite files of the run go with it. */
  const char *dir = g_getenv ("VD_FUZZ_HTTP_DIR");
  g_autoptr(GDir) d = dir != NULL ? g_dir_open (dir, 0, NULL) : NULL;
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *uri = NULL;
  VdsConfig config;
  VdsStore *store;

  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL);
  /* The daemon's own messages (refusals, sign-in failures) are not findings. */
  g_log_set_handler ("vetdesk-syncd", G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO
                     | G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_WARNING,
                     g_log_default_handler, NULL);
  g_setenv ("G_MESSAGES_DEBUG", "", TRUE);

  dir = g_dir_make_tmp ("vd-fuzz-http-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("VD_FUZZ_HTTP_DIR", dir, TRUE);
  atexit (remove_dir);
  uri = g_strdup_printf ("sqlite:%s/fuzz.db", dir);

  if (!vds_auth_init (&error))
    g_error ("%s", error->message);
  store = vds_store_open (uri, 3, &error);
  g_assert_no_error (error);

  vds_config_init (&config);
  config.plain_http = TRUE;
  config.workers = 2;
  config.address_rate = 0;
  config.clinic_rate = 0;
  config.login_rate = 0;
  g_free (config.data_dir);
  config.data_dir = g_strdup (dir);
  server = vds_server_new (store, &config, &error);
  g_assert_no_error (error);
  vds_config_clear (&config);

  /* As g_main_loop_run does in the daemon: the main thread owns the context for good,
   * or a worker's g_main_context_invoke would run its callback in the worker while this
   * thread is inside libsoup. */
  if (!g_main_context_acquire (g_main_context_default ()))
    g_error ("the main context is owned elsewhere");

  local_address = g_inet_socket_address_new_from_string ("127.0.0.1", 8443);
  remote_address = g_inet_socket_address_new_from_string ("127.0.0.1", 40000);
  return 0;
}

static gboolean
deadline_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Every answer in out: a status line of HTTP/1.0 or 1.1, and a JSON error body for each
 * status of 400 and up whose framing shows where its body ends. An answer to HEAD has no
 * body whatever its headers say, and the input alone does not tell which answer is
 * HEAD's once requests are pipelined: with a HEAD anywhere in the input, only the first
 * status line is checked. */
static void
check_output (const char *out,
              gsize       len,
              gboolean    has_head)
{
  const char *p = out;
  const char *end;

  if (out == NULL || len == 0)
    return;
  end = out + len;
  while (p < end)
    {
      const char *head_end;
      const char *cl;
      guint status;
      gsize body_len;

      g_assert_true (len - (p - out) >= 12);
      g_assert_true (strncmp (p, "HTTP/1.1 ", 9) == 0 || strncmp (p, "HTTP/1.0 ", 9) == 0);
      status = (guint) g_ascii_strtoull (p + 9, NULL, 10);
      g_assert_cmpuint (status, >=, 100);
      g_assert_cmpuint (status, <, 600);
      if (has_head)
        return;
      head_end = g_strstr_len (p, end - p, "\r\n\r\n");
      if (head_end == NULL)
        return;   /* the connection went before the whole answer was written */
      cl = g_strstr_len (p, head_end - p, "\r\nContent-Length: ");
      if (status == 101)
        return;   /* a stream: frames follow */
      if (cl == NULL)
        {
          /* Framed by the connection's end: the rest is this answer's body. */
          if (status >= 400)
            g_assert_true (end - (head_end + 4) > 0 && head_end[4] == '{');
          return;
        }
      body_len = g_ascii_strtoull (cl + strlen ("\r\nContent-Length: "), NULL, 10);
      if ((gsize) (end - (head_end + 4)) < body_len)
        return;
      if (status >= 400 && body_len > 0)
        g_assert_true (strncmp (head_end + 4, "{\"error\":{\"code\":", 17) == 0);
      p = head_end + 4 + body_len;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GInputStream) input = NULL;
  g_autoptr(GOutputStream) output = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  GMainContext *context = g_main_context_default ();
  gboolean timed_out = FALSE;
  GSource *deadline;

  input = g_memory_input_stream_new_from_data (g_memdup2 (data, size), size, g_free);
  output = g_memory_output_stream_new_resizable ();
  stream = g_simple_io_stream_new (input, output);
  if (!vds_server_accept_stream (server, stream, local_address, remote_address, &error))
    g_error ("%s", error->message);

  /* The connection closes once libsoup has read to the end and answered; workers answer
   * through the main context. The deadline only guards against a hang. */
  deadline = g_timeout_source_new (3000);
  g_source_set_callback (deadline, deadline_cb, &timed_out, NULL);
  g_source_attach (deadline, context);
  while (!g_io_stream_is_closed (stream) && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (deadline);
  g_source_unref (deadline);
  if (!g_io_stream_is_closed (stream))
    g_io_stream_close (stream, NULL, NULL);
  while (g_main_context_iteration (context, FALSE))
    ;

  check_output (g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (output)),
                g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (output)),
                memmem (data, size, "HEAD", 4) != NULL);
  return 0;
}
