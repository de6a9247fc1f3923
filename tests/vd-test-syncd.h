/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-test-syncd.h — a real vetdesk-syncd for tests: started on a free port of 127.0.0.1
 * with its own data directory (database and self-signed certificate), its stdout and
 * stderr in files there, stopped with SIGTERM (or killed -9) and started again. Should
 * the test end without freeing it (an abort, a kill, a timeout), the daemon is killed
 * with it and the data directory removed soon after; start daemons from a thread that
 * lives as long as they do (the main thread), since the kill follows the thread. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _VdTestSyncd VdTestSyncd;

/* binary: the vetdesk-syncd executable (tests get VETDESK_SYNCD). database_uri: a
 * PostgreSQL URI, or NULL for a new SQLite file in the data directory. */
VdTestSyncd *vd_test_syncd_new             (const char   *binary,
                                            const char   *database_uri);
/* Text of a GKeyFile (groups [server], [limits]) passed with --config; NULL for none.
 * Takes effect at the next start. */
void         vd_test_syncd_set_config      (VdTestSyncd  *self,
                                            const char   *key_file_text);
/* Extra environment for the daemon ("VDS_RATE_SCALE", "0"…); NULL value unsets. */
void         vd_test_syncd_setenv          (VdTestSyncd  *self,
                                            const char   *name,
                                            const char   *value);
/* Starts serve and waits (at most 30 s) for its "listening on" line. */
gboolean     vd_test_syncd_start           (VdTestSyncd  *self,
                                            GError      **error);
/* SIGTERM and wait (at most 30 s); FALSE with an error when it did not exit 0. */
gboolean     vd_test_syncd_stop            (VdTestSyncd  *self,
                                            GError      **error);
/* kill -9, and reap it. */
void         vd_test_syncd_kill            (VdTestSyncd  *self);
gboolean     vd_test_syncd_is_running      (VdTestSyncd  *self);
/* Sends a signal to the running daemon without waiting. */
void         vd_test_syncd_send_signal     (VdTestSyncd  *self,
                                            int           signum);
/* Waits (at most timeout_ms) for the daemon to exit; FALSE when it did not. Then
 * out_status (may be NULL) is its exit status (128 + signal when killed). */
gboolean     vd_test_syncd_wait            (VdTestSyncd  *self,
                                            guint         timeout_ms,
                                            int          *out_status);

/* "https://127.0.0.1:PORT" of the running daemon. */
const char  *vd_test_syncd_get_url         (VdTestSyncd  *self);
guint16      vd_test_syncd_get_port        (VdTestSyncd  *self);
/* The running daemon's process id, or 0. */
GPid         vd_test_syncd_get_pid         (VdTestSyncd  *self);
/* "AA:BB:…", as the daemon printed it. */
const char  *vd_test_syncd_get_fingerprint (VdTestSyncd  *self);
const char  *vd_test_syncd_get_database    (VdTestSyncd  *self);
const char  *vd_test_syncd_get_data_dir    (VdTestSyncd  *self);
/* What the daemon wrote to stderr so far (for failure messages). */
char        *vd_test_syncd_get_log         (VdTestSyncd  *self);

/* The SHA-256 of cert's DER as "AA:BB:…" (uppercase), computed by the tests themselves
 * rather than by syncd's code, so the two can be checked against each other. */
char        *vd_test_certificate_fingerprint (GTlsCertificate *cert);
/* A TLS connection to 127.0.0.1:port that trusts any certificate, its handshake done, or
 * NULL. timeout_s bounds the connect and every later read and write (0: none); the
 * socket goes to *out_socket if asked. */
GIOStream   *vd_test_tls_connect             (guint16              port,
                                              guint                timeout_s,
                                              GSocket            **out_socket,
                                              GError             **error);
/* A SoupMessage "accept-certificate" handler: accepts exactly the certificate whose
 * fingerprint is expected (a const char *, "AA:BB:…", that outlives the message). */
gboolean     vd_test_accept_fingerprint_cb   (gpointer             msg,
                                              GTlsCertificate     *cert,
                                              GTlsCertificateFlags errors,
                                              gpointer             expected);

/* Runs an administrative subcommand (migrate, add-user…) on the same database, with
 * stdin_text as its standard input. Returns its stdout without the final newline; NULL
 * with an error (holding its stderr) when it exits non-zero. NULL-terminated args. */
char        *vd_test_syncd_run             (VdTestSyncd  *self,
                                            const char   *stdin_text,
                                            GError      **error,
                                            const char   *command,
                                            ...) G_GNUC_NULL_TERMINATED;

/* Device secrets (ARCHITECTURE §6) the tests' daemons gave, by device id, for the
 * process: a test that signs in again with a device id sends the secret its first
 * sign-in got, as a desk does. keep takes the "device_secret" of a login answer's JSON
 * (answer_json; nothing when it has none). */
void         vd_test_device_secret_keep    (const char   *device_id,
                                            const char   *answer_json);
void         vd_test_device_secret_set     (const char   *device_id,
                                            const char   *secret);
/* NULL when none was kept. */
const char  *vd_test_device_secret         (const char   *device_id);

/* Stops it (SIGTERM, then -9 if needed) and removes the data directory. */
void         vd_test_syncd_free            (VdTestSyncd  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdTestSyncd, vd_test_syncd_free)

G_END_DECLS
