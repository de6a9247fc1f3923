/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-test-pg.h — a throwaway PostgreSQL cluster for tests: initdb and pg_ctl on a
 * temporary directory and a free port on 127.0.0.1, stopped and removed when done. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _VdTestPg VdTestPg;

/* FALSE when VD_TEST_POSTGRES is "0" or the server binaries (VD_PG_BINDIR, default
 * /usr/lib/postgresql/15/bin) are missing; tests then g_test_skip with the reason. */
gboolean     vd_test_pg_available          (void);
const char  *vd_test_pg_unavailable_reason (void);

/* initdb + start + a database "vetdesk". Stopped at exit, and by a watchdog process when
 * the test dies any other way (abort, kill, timeout). */
VdTestPg    *vd_test_pg_start              (GError   **error);
/* "postgresql://vetdesk@127.0.0.1:PORT/vetdesk" */
const char  *vd_test_pg_get_uri            (VdTestPg  *pg);
guint16      vd_test_pg_get_port           (VdTestPg  *pg);
/* The cluster's temporary directory (data/, log, the socket). */
const char  *vd_test_pg_get_dir            (VdTestPg  *pg);
/* Drops (forcing off any connections) and creates database name ([a-z0-9_]+); returns
 * its URI. Fails the test (assertion) when the server refuses. */
char        *vd_test_pg_create_db          (VdTestPg  *pg,
                                            const char *name);
/* pg_ctl stop -m fast, then start again on the same port and data: existing connections
 * break, new ones work. */
gboolean     vd_test_pg_restart            (VdTestPg  *pg,
                                            GError   **error);
/* Stops the server, removes the directory, frees pg. */
void         vd_test_pg_stop               (VdTestPg  *pg);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdTestPg, vd_test_pg_stop)

G_END_DECLS
