/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-db.c — VdsDb, the SQL interface syncd's storage is written on: the same checks on
 * SQLite (a temporary file) and on PostgreSQL (a throwaway cluster), plus what only one
 * engine has (SQLite's writer lock at begin; PostgreSQL restarts and pipelined writes). */
#define G_LOG_DOMAIN "test-db"

#include "config.h"

#include <math.h>
#include <float.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "vds-db.h"
#include "../vd-test-pg.h"

typedef struct
{
  VdsDbDialect dialect;
} Engine;

static const Engine sqlite_engine = { VDS_DB_SQLITE };
static const Engine postgres_engine = { VDS_DB_POSTGRES };

static char *tmp_dir;
static guint db_counter;
static VdTestPg *pg;
static GError *pg_error;
static gboolean pg_tried;

#define PARAMS(...) (const VdsParam[]) { __VA_ARGS__ }, \
                    G_N_ELEMENTS (((const VdsParam[]) { __VA_ARGS__ }))

/* A new, empty database of the engine; NULL (and the test skipped) when PostgreSQL is
 * not available here. */
static VdsDb *
open_fresh (const Engine  *engine,
            char         **out_uri)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  VdsDb *db;

  if (engine->dialect == VDS_DB_POSTGRES)
    {
      g_autofree char *name = NULL;

      if (!vd_test_pg_available ())
        {
          g_test_skip (vd_test_pg_unavailable_reason ());
          return NULL;
        }
      if (!pg_tried)
        {
          pg_tried = TRUE;
          pg = vd_test_pg_start (&pg_error);
        }
      g_assert_no_error (pg_error);
      name = g_strdup_printf ("t%u", ++db_counter);
      uri = vd_test_pg_create_db (pg, name);
    }
  else
    uri = g_strdup_printf ("sqlite:%s/t%u.db", tmp_dir, ++db_counter);

  db = vds_db_open (uri, &error);
  g_assert_no_error (error);
  g_assert_nonnull (db);
  g_assert_cmpint (vds_db_get_dialect (db), ==, engine->dialect);
  if (out_uri != NULL)
    *out_uri = g_steal_pointer (&uri);
  return db;
}

static VdsDb *
open_again (const char *uri)
{
  g_autoptr(GError) error = NULL;
  VdsDb *db = vds_db_open (uri, &error);

  g_assert_no_error (error);
  g_assert_nonnull (db);
  return db;
}

static void
exec_ok (VdsDb          *db,
         const char     *sql,
         const VdsParam *params,
         guint           n_params)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = vds_db_exec (db, sql, params, n_params, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static VdsResult *
query_ok (VdsDb          *db,
          const char     *sql,
          const VdsParam *params,
          guint           n_params)
{
  g_autoptr(GError) error = NULL;
  VdsResult *result = vds_db_query (db, sql, params, n_params, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  return result;
}

static void
script_ok (VdsDb      *db,
           const char *sql)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = vds_db_exec_script (db, sql, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
begin_ok (VdsDb *db)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = vds_db_begin (db, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
commit_ok (VdsDb *db)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = vds_db_commit (db, &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

static gint64
query_int (VdsDb      *db,
           const char *sql)
{
  g_autoptr(VdsResult) result = query_ok (db, sql, NULL, 0);

  g_assert_cmpuint (vds_result_n_rows (result), ==, 1);
  g_assert_cmpuint (vds_result_n_cols (result), >=, 1);
  return vds_result_get_int (result, 0, 0);
}

static const char *
blob_type (VdsDb *db)
{
  return vds_db_get_dialect (db) == VDS_DB_POSTGRES ? "BYTEA" : "BLOB";
}

static void
assert_same_double (double expected,
                    double actual)
{
  if (memcmp (&expected, &actual, sizeof expected) != 0)
    g_error ("double did not round-trip: sent %.17g, got %.17g", expected, actual);
}

/* Every parameter kind in, every getter out, including NULL, empty and binary blobs. */
static void
test_round_trip (gconstpointer data)
{
  g_autoptr(VdsDb) db = open_fresh (data, NULL);
  g_autoptr(VdsResult) result = NULL;
  g_autofree char *ddl = NULL;
  g_autofree char *long_text = NULL;
  g_autofree guint8 *big_blob = NULL;
  static const char *unicode = "Ünïcödé — 🐕 日本語 ﷽ \"quoted\" 'single' \\ \t\n end";
  static const char *tricky = "it's $1 and $2 -- not a comment /* nor this */";
  guint8 all_bytes[256];
  const guint8 nuls[] = { 0, 0, 0 };
  const guint8 *blob;
  gsize len;
  const double doubles[] = {
    0.1, 1.0 / 3.0, -2.5e300, 5e-324, DBL_MIN, DBL_MAX, 1e-300, 123456789.123456789,
    G_PI, -G_E, 0.0, 1e22, 9007199254740993.0, INFINITY, -INFINITY,
  };
  const gint64 ints[] = {
    G_MININT64, G_MAXINT64, 0, -1, 1, (G_GINT64_CONSTANT (1) << 53) + 1, G_MININT32,
    (gint64) G_MAXUINT32 + 1,
  };
  const char *insert = "INSERT INTO vals (k, t, i, r, b, bl) VALUES ($1, $2, $3, $4, $5, $6)";

  if (db == NULL)
    return;

  for (guint i = 0; i < 256; i++)
    all_bytes[i] = (guint8) i;
  long_text = g_strnfill (100000, 'x');
  memcpy (long_text + 50000, "ü", strlen ("ü"));
  big_blob = g_malloc (1 << 20);
  for (guint i = 0; i < (1 << 20); i++)
    big_blob[i] = (guint8) ((i * 131u + 7u) ^ (i >> 8));

  ddl = g_strdup_printf ("CREATE TABLE vals (k BIGINT PRIMARY KEY, t TEXT, i BIGINT, "
                         "r DOUBLE PRECISION, b BOOLEAN, bl %s)", blob_type (db));
  script_ok (db, ddl);

  exec_ok (db, insert, PARAMS (VDS_INT (1), VDS_TEXT (NULL), VDS_NULL, VDS_NULL, VDS_NULL, VDS_NULL));
  exec_ok (db, insert, PARAMS (VDS_INT (2), VDS_TEXT (""), VDS_INT (0), VDS_REAL (0.0),
                               VDS_BOOL (FALSE), VDS_BLOB ((const guint8 *) "", 0)));
  exec_ok (db, insert, PARAMS (VDS_INT (3), VDS_TEXT (unicode), VDS_INT (G_MAXINT64),
                               VDS_REAL (-2.5e300), VDS_BOOL (TRUE),
                               VDS_BLOB (all_bytes, sizeof all_bytes)));
  exec_ok (db, insert, PARAMS (VDS_INT (4), VDS_TEXT (tricky), VDS_INT (G_MININT64),
                               VDS_REAL (1.0 / 3.0), VDS_BOOL (TRUE), VDS_BLOB (nuls, sizeof nuls)));
  exec_ok (db, insert, PARAMS (VDS_INT (5), VDS_TEXT (long_text), VDS_INT (-1),
                               VDS_REAL (5e-324), VDS_BOOL (FALSE), VDS_BLOB (big_blob, 1 << 20)));
  exec_ok (db, insert, PARAMS (VDS_INT (6), VDS_TEXT ("x"), VDS_INT (1), VDS_REAL (1),
                               VDS_BOOL (TRUE), VDS_BLOB (NULL, 0)));

  result = query_ok (db, "SELECT k, t, i, r, b, bl FROM vals ORDER BY k", NULL, 0);
  g_assert_cmpuint (vds_result_n_rows (result), ==, 6);
  g_assert_cmpuint (vds_result_n_cols (result), ==, 6);

  /* row 1: all NULL */
  g_assert_cmpint (vds_result_get_int (result, 0, 0), ==, 1);
  for (guint c = 1; c < 6; c++)
    {
      g_assert_true (vds_result_is_null (result, 0, c));
      g_assert_null (vds_result_get_text (result, 0, c));
      g_assert_null (vds_result_get_blob (result, 0, c, &len));
      g_assert_cmpuint (len, ==, 0);
    }
  g_assert_false (vds_result_is_null (result, 0, 0));

  /* row 2: empty and zero, none of them NULL */
  for (guint c = 0; c < 6; c++)
    g_assert_false (vds_result_is_null (result, 1, c));
  g_assert_cmpstr (vds_result_get_text (result, 1, 1), ==, "");
  g_assert_cmpint (vds_result_get_int (result, 1, 2), ==, 0);
  assert_same_double (0.0, vds_result_get_real (result, 1, 3));
  g_assert_false (vds_result_get_bool (result, 1, 4));
  blob = vds_result_get_blob (result, 1, 5, &len);
  g_assert_nonnull (blob);
  g_assert_cmpuint (len, ==, 0);

  /* row 3 */
  g_assert_cmpstr (vds_result_get_text (result, 2, 1), ==, unicode);
  g_assert_cmpint (vds_result_get_int (result, 2, 2), ==, G_MAXINT64);
  assert_same_double (-2.5e300, vds_result_get_real (result, 2, 3));
  g_assert_true (vds_result_get_bool (result, 2, 4));
  blob = vds_result_get_blob (result, 2, 5, &len);
  g_assert_cmpmem (blob, len, all_bytes, sizeof all_bytes);
  /* the decoded blob is kept: a second call answers the same bytes */
  g_assert_true (vds_result_get_blob (result, 2, 5, &len) == blob);

  /* row 4: "$1" inside a parameter's text is data, not a placeholder */
  g_assert_cmpstr (vds_result_get_text (result, 3, 1), ==, tricky);
  g_assert_cmpint (vds_result_get_int (result, 3, 2), ==, G_MININT64);
  assert_same_double (1.0 / 3.0, vds_result_get_real (result, 3, 3));
  blob = vds_result_get_blob (result, 3, 5, &len);
  g_assert_cmpmem (blob, len, nuls, sizeof nuls);

  /* row 5: big values */
  g_assert_cmpstr (vds_result_get_text (result, 4, 1), ==, long_text);
  g_assert_cmpint (vds_result_get_int (result, 4, 2), ==, -1);
  assert_same_double (5e-324, vds_result_get_real (result, 4, 3));
  blob = vds_result_get_blob (result, 4, 5, &len);
  g_assert_cmpmem (blob, len, big_blob, 1 << 20);

  /* row 6: a blob given as (NULL, 0) is an empty blob, not SQL NULL */
  g_assert_false (vds_result_is_null (result, 5, 5));
  blob = vds_result_get_blob (result, 5, 5, &len);
  g_assert_cmpuint (len, ==, 0);
  g_assert_cmpint (vds_result_get_int (result, 5, 2), ==, 1);
  assert_same_double (1.0, vds_result_get_real (result, 5, 3));
  g_clear_pointer (&result, vds_result_free);

  /* doubles and integers at their edges */
  script_ok (db, "CREATE TABLE nums (k BIGINT PRIMARY KEY, r DOUBLE PRECISION, i BIGINT)");
  for (guint n = 0; n < G_N_ELEMENTS (doubles); n++)
    exec_ok (db, "INSERT INTO nums (k, r, i) VALUES ($1, $2, $3)",
             PARAMS (VDS_INT (n), VDS_REAL (doubles[n]), VDS_INT (ints[n % G_N_ELEMENTS (ints)])));
  for (guint n = 0; n < G_N_ELEMENTS (ints); n++)
    {
      g_autoptr(VdsResult) row = query_ok (db, "SELECT k FROM nums WHERE i = $1 ORDER BY k",
                                           PARAMS (VDS_INT (ints[n])));

      g_assert_cmpuint (vds_result_n_rows (row), >=, 1);
      g_assert_cmpint (vds_result_get_int (row, 0, 0), ==, n);
    }
  result = query_ok (db, "SELECT k, r, i FROM nums ORDER BY k", NULL, 0);
  g_assert_cmpuint (vds_result_n_rows (result), ==, G_N_ELEMENTS (doubles));
  for (guint n = 0; n < G_N_ELEMENTS (doubles); n++)
    {
      g_assert_cmpint (vds_result_get_int (result, n, 0), ==, n);
      assert_same_double (doubles[n], vds_result_get_real (result, n, 1));
      g_assert_cmpint (vds_result_get_int (result, n, 2), ==, ints[n % G_N_ELEMENTS (ints)]);
    }
  g_clear_pointer (&result, vds_result_free);

  /* a statement without rows answers an empty result; a query with none has its columns */
  result = query_ok (db, "UPDATE nums SET i = i WHERE k = $1", PARAMS (VDS_INT (-5)));
  g_assert_cmpuint (vds_result_n_rows (result), ==, 0);
  g_clear_pointer (&result, vds_result_free);
  result = query_ok (db, "SELECT k, r FROM nums WHERE k < $1", PARAMS (VDS_INT (0)));
  g_assert_cmpuint (vds_result_n_rows (result), ==, 0);
  g_assert_cmpuint (vds_result_n_cols (result), ==, 2);
  g_clear_pointer (&result, vds_result_free);

  /* RETURNING, which the store uses for sequences */
  result = query_ok (db, "INSERT INTO nums (k, r, i) VALUES ($1, $2, $3) RETURNING k, i",
                     PARAMS (VDS_INT (1000), VDS_NULL, VDS_INT (77)));
  g_assert_cmpuint (vds_result_n_rows (result), ==, 1);
  g_assert_cmpint (vds_result_get_int (result, 0, 0), ==, 1000);
  g_assert_cmpint (vds_result_get_int (result, 0, 1), ==, 77);
}

/* "$N" placeholders: reused, out of order, several digits, and left alone in literals. */
static void
test_placeholders (gconstpointer data)
{
  g_autoptr(VdsDb) db = open_fresh (data, NULL);
  g_autoptr(VdsResult) result = NULL;
  g_autoptr(GError) error = NULL;

  if (db == NULL)
    return;

  script_ok (db, "CREATE TABLE p (a BIGINT, b TEXT)");
  exec_ok (db, "INSERT INTO p (a, b) VALUES ($2, $1)", PARAMS (VDS_TEXT ("x"), VDS_INT (5)));
  exec_ok (db, "INSERT INTO p (a, b) VALUES ($2, $1)", PARAMS (VDS_TEXT ("y"), VDS_INT (9)));

  result = query_ok (db, "SELECT a, b FROM p WHERE a = $1 OR a = $1 + 1 OR b = $2 ORDER BY a",
                     PARAMS (VDS_INT (4), VDS_TEXT ("y")));
  g_assert_cmpuint (vds_result_n_rows (result), ==, 2);
  g_assert_cmpint (vds_result_get_int (result, 0, 0), ==, 5);
  g_assert_cmpstr (vds_result_get_text (result, 0, 1), ==, "x");
  g_assert_cmpint (vds_result_get_int (result, 1, 0), ==, 9);
  g_assert_cmpstr (vds_result_get_text (result, 1, 1), ==, "y");
  g_clear_pointer (&result, vds_result_free);

  /* "$2" in a literal (with an escaped quote before it) is text, not a parameter */
  result = query_ok (db, "SELECT 'it''s $2 -- no comment', b FROM p WHERE b = $1",
                     PARAMS (VDS_TEXT ("x")));
  g_assert_cmpuint (vds_result_n_rows (result), ==, 1);
  g_assert_cmpstr (vds_result_get_text (result, 0, 0), ==, "it's $2 -- no comment");
  g_assert_cmpstr (vds_result_get_text (result, 0, 1), ==, "x");
  g_clear_pointer (&result, vds_result_free);

  /* $10 is not $1 followed by 0 */
  result = query_ok (db, "SELECT a FROM p WHERE a IN ($10, $9, $8, $7, $6, $5, $4, $3, $2, $1) ORDER BY a",
                     PARAMS (VDS_INT (1), VDS_INT (2), VDS_INT (3), VDS_INT (4), VDS_INT (5),
                             VDS_INT (6), VDS_INT (7), VDS_INT (8), VDS_INT (10), VDS_INT (11)));
  g_assert_cmpuint (vds_result_n_rows (result), ==, 1);
  g_assert_cmpint (vds_result_get_int (result, 0, 0), ==, 5);
  g_clear_pointer (&result, vds_result_free);
  result = query_ok (db, "SELECT a FROM p WHERE a = $10 OR a = $1 OR a IN ($2, $3, $4, $5, $6, $7, $8, $9) ORDER BY a",
                     PARAMS (VDS_INT (9), VDS_INT (0), VDS_INT (0), VDS_INT (0), VDS_INT (0),
                             VDS_INT (0), VDS_INT (0), VDS_INT (0), VDS_INT (0), VDS_INT (5)));
  g_assert_cmpuint (vds_result_n_rows (result), ==, 2);
  g_clear_pointer (&result, vds_result_free);

  /* the wrong number of parameters is an error, and leaves the connection usable */
  g_assert_null (vds_db_query (db, "SELECT a FROM p WHERE a = $1", NULL, 0, &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_false (vds_db_is_broken (db));
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM p"), ==, 2);
}

static void
test_transactions (gconstpointer data)
{
  g_autofree char *uri = NULL;
  g_autoptr(VdsDb) db = open_fresh (data, &uri);
  g_autoptr(VdsDb) other = NULL;
  g_autoptr(GError) error = NULL;
  const char *insert = "INSERT INTO t (k, v) VALUES ($1, $2)";

  if (db == NULL)
    return;
  other = open_again (uri);

  script_ok (db, "CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT)");

  /* rollback undoes, and the transaction saw its own write */
  begin_ok (db);
  exec_ok (db, insert, PARAMS (VDS_INT (1), VDS_TEXT ("one")));
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM t"), ==, 1);
  vds_db_rollback (db);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM t"), ==, 0);

  /* rollback with nothing open is harmless, twice */
  vds_db_rollback (db);
  vds_db_rollback (db);

  /* others see a write only once committed */
  begin_ok (db);
  exec_ok (db, insert, PARAMS (VDS_INT (2), VDS_TEXT ("two")));
  exec_ok (db, insert, PARAMS (VDS_INT (3), VDS_TEXT ("three")));
  g_assert_cmpint (query_int (other, "SELECT count(*) FROM t"), ==, 0);
  commit_ok (db);
  g_assert_cmpint (query_int (other, "SELECT count(*) FROM t"), ==, 2);

  /* after an error inside a transaction, rollback leaves the connection usable */
  begin_ok (db);
  exec_ok (db, insert, PARAMS (VDS_INT (4), VDS_TEXT ("four")));
  g_assert_null (vds_db_query (db, "SELEC nonsense", NULL, 0, &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "syntax error"));
  g_clear_error (&error);
  vds_db_rollback (db);
  g_assert_false (vds_db_is_broken (db));
  begin_ok (db);
  exec_ok (db, insert, PARAMS (VDS_INT (5), VDS_TEXT ("five")));
  commit_ok (db);
  g_assert_cmpint (query_int (other, "SELECT count(*) FROM t"), ==, 3);
  g_assert_cmpint (query_int (other, "SELECT count(*) FROM t WHERE k = 4"), ==, 0);

  /* statements outside a transaction commit by themselves */
  exec_ok (db, insert, PARAMS (VDS_INT (6), VDS_TEXT ("six")));
  g_assert_cmpint (query_int (other, "SELECT count(*) FROM t"), ==, 4);
}

static void
test_nested_begin (gconstpointer data)
{
  g_autoptr(VdsDb) db = open_fresh (data, NULL);

  if (db == NULL)
    return;

  begin_ok (db);
  g_test_expect_message ("vetdesk-syncd", G_LOG_LEVEL_CRITICAL, "*!db->in_txn*");
  g_assert_false (vds_db_begin (db, NULL));
  g_test_assert_expected_messages ();
  commit_ok (db);

  g_test_expect_message ("vetdesk-syncd", G_LOG_LEVEL_CRITICAL, "*db->in_txn*");
  g_assert_false (vds_db_commit (db, NULL));
  g_test_assert_expected_messages ();

  begin_ok (db);
  vds_db_rollback (db);
}

/* A violated constraint is VDS_DB_ERROR_CONSTRAINT, on its own or inside a transaction,
 * and the connection stays usable after rollback. */
static void
test_constraint (gconstpointer data)
{
  const Engine *engine = data;
  g_autoptr(VdsDb) db = open_fresh (data, NULL);
  g_autoptr(GError) error = NULL;
  const char *insert = "INSERT INTO c (k, n) VALUES ($1, $2)";
  gboolean ok;

  if (db == NULL)
    return;

  script_ok (db, "CREATE TABLE c (k BIGINT PRIMARY KEY, n BIGINT NOT NULL CHECK (n > 0))");
  exec_ok (db, insert, PARAMS (VDS_INT (1), VDS_INT (1)));

  /* unique, outside a transaction */
  g_assert_false (vds_db_exec (db, insert, PARAMS (VDS_INT (1), VDS_INT (2)), &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_CONSTRAINT);
  g_clear_error (&error);
  g_assert_null (vds_db_query (db, "INSERT INTO c (k, n) VALUES ($1, $2) RETURNING k",
                               PARAMS (VDS_INT (1), VDS_INT (3)), &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_CONSTRAINT);
  g_clear_error (&error);

  /* not null and check */
  g_assert_false (vds_db_exec (db, insert, PARAMS (VDS_INT (2), VDS_NULL), &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_CONSTRAINT);
  g_clear_error (&error);
  g_assert_false (vds_db_exec (db, insert, PARAMS (VDS_INT (2), VDS_INT (-1)), &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_CONSTRAINT);
  g_clear_error (&error);

  /* inside a transaction, after many good writes: the error surfaces at the latest at
   * commit (PostgreSQL pipelines the writes), and nothing of the transaction stays */
  begin_ok (db);
  for (gint64 k = 100; k < 300; k++)
    exec_ok (db, insert, PARAMS (VDS_INT (k), VDS_INT (k)));
  ok = vds_db_exec (db, insert, PARAMS (VDS_INT (1), VDS_INT (5)), &error);
  if (engine->dialect == VDS_DB_POSTGRES)
    {
      /* queued, not yet checked */
      g_assert_no_error (error);
      g_assert_true (ok);
      exec_ok (db, insert, PARAMS (VDS_INT (300), VDS_INT (300)));
      g_assert_false (vds_db_commit (db, &error));
    }
  else
    g_assert_false (ok);
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_CONSTRAINT);
  g_clear_error (&error);
  vds_db_rollback (db);
  g_assert_false (vds_db_is_broken (db));
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM c"), ==, 1);

  /* the same, surfacing at the next query */
  begin_ok (db);
  exec_ok (db, insert, PARAMS (VDS_INT (7), VDS_INT (7)));
  ok = vds_db_exec (db, insert, PARAMS (VDS_INT (7), VDS_INT (8)), &error);
  if (ok)
    {
      g_assert_cmpint (engine->dialect, ==, VDS_DB_POSTGRES);
      g_assert_null (vds_db_query (db, "SELECT count(*) FROM c", NULL, 0, &error));
    }
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_CONSTRAINT);
  g_clear_error (&error);
  vds_db_rollback (db);

  /* and the connection is as good as new */
  begin_ok (db);
  exec_ok (db, insert, PARAMS (VDS_INT (2), VDS_INT (2)));
  commit_ok (db);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM c"), ==, 2);
}

/* Errors other than constraints keep the engine's own message. */
static void
test_errors (gconstpointer data)
{
  g_autoptr(VdsDb) db = open_fresh (data, NULL);
  g_autoptr(GError) error = NULL;

  if (db == NULL)
    return;

  g_assert_false (vds_db_exec (db, "INSERT INTO missing_table (a) VALUES ($1)",
                               PARAMS (VDS_INT (1)), &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "missing_table"));
  g_clear_error (&error);

  /* a statement that failed to prepare is not kept: once the table exists it works */
  script_ok (db, "CREATE TABLE missing_table (a BIGINT)");
  exec_ok (db, "INSERT INTO missing_table (a) VALUES ($1)", PARAMS (VDS_INT (1)));

  g_assert_false (vds_db_exec_script (db, "CREATE TABLE s1 (a BIGINT); SELEC 1;", &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "syntax error"));
  g_clear_error (&error);

  script_ok (db, "CREATE TABLE s2 (a BIGINT); INSERT INTO s2 VALUES (1); INSERT INTO s2 VALUES (2);");
  g_assert_cmpint (query_int (db, "SELECT sum(a) FROM s2"), ==, 3);
  g_assert_false (vds_db_is_broken (db));

  /* the error a caller sees for bad input is not mistaken for a lost connection */
  g_assert_false (vds_db_exec (db, "INSERT INTO s2 (a) VALUES ($1)", NULL, 0, &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_false (vds_db_is_broken (db));
}

/* One SQL text is prepared once: 10,000 runs reuse it (counted by the engine itself). */
static void
test_statement_cache (gconstpointer data)
{
  g_autoptr(VdsDb) db = open_fresh (data, NULL);
  g_autoptr(VdsResult) result = NULL;
  g_autoptr(GTimer) timer = g_timer_new ();
  const char *select = "SELECT v FROM c WHERE k = $1";
  const guint n = 10000;
  guint8 payload[512];

  if (db == NULL)
    return;

  memset (payload, 0xa5, sizeof payload);
  script_ok (db, vds_db_get_dialect (db) == VDS_DB_POSTGRES
                 ? "CREATE TABLE c (k BIGINT PRIMARY KEY, v TEXT, p BYTEA)"
                 : "CREATE TABLE c (k BIGINT PRIMARY KEY, v TEXT, p BLOB)");

  begin_ok (db);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *v = g_strdup_printf ("v%u", i);

      payload[0] = (guint8) i;
      exec_ok (db, "INSERT INTO c (k, v, p) VALUES ($1, $2, $3)",
               PARAMS (VDS_INT (i), VDS_TEXT (v), VDS_BLOB (payload, sizeof payload)));
    }
  commit_ok (db);
  g_test_message ("%u inserts in one transaction: %.3f s", n, g_timer_elapsed (timer, NULL));

  g_timer_start (timer);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(VdsResult) row = query_ok (db, select, PARAMS (VDS_INT (i)));
      char v[32];

      g_snprintf (v, sizeof v, "v%u", i);
      g_assert_cmpuint (vds_result_n_rows (row), ==, 1);
      g_assert_cmpstr (vds_result_get_text (row, 0, 0), ==, v);
    }
  g_test_message ("%u queries: %.3f s", n, g_timer_elapsed (timer, NULL));
  g_assert_cmpfloat (g_timer_elapsed (timer, NULL), <, 30.0);

  if (vds_db_get_dialect (db) == VDS_DB_POSTGRES)
    result = query_ok (db, "SELECT generic_plans + custom_plans FROM pg_prepared_statements "
                           "WHERE statement = $1", PARAMS (VDS_TEXT (select)));
  else
    result = query_ok (db, "SELECT run FROM sqlite_stmt WHERE sql = $1",
                       PARAMS (VDS_TEXT ("SELECT v FROM c WHERE k = ?1")));
  g_assert_cmpuint (vds_result_n_rows (result), ==, 1);
  g_assert_cmpint (vds_result_get_int (result, 0, 0), ==, n);
  g_clear_pointer (&result, vds_result_free);

  result = query_ok (db, "SELECT count(*), min(k), max(k) FROM c", NULL, 0);
  g_assert_cmpint (vds_result_get_int (result, 0, 0), ==, n);
  g_assert_cmpint (vds_result_get_int (result, 0, 2), ==, n - 1);
  g_clear_pointer (&result, vds_result_free);

  /* a big result, every row read back */
  result = query_ok (db, "SELECT k, v, p FROM c ORDER BY k", NULL, 0);
  g_assert_cmpuint (vds_result_n_rows (result), ==, n);
  for (guint i = 0; i < n; i++)
    {
      gsize len;
      const guint8 *p = vds_result_get_blob (result, i, 2, &len);

      g_assert_cmpint (vds_result_get_int (result, i, 0), ==, i);
      g_assert_cmpuint (len, ==, sizeof payload);
      g_assert_cmpuint (p[0], ==, (guint8) i);
      g_assert_cmpuint (p[len - 1], ==, 0xa5);
    }
}

/* SQLite: a writer waits at begin for the one before it (so it cannot commit before it),
 * and a wait that runs out is VDS_DB_ERROR_BUSY. */
typedef struct
{
  char *uri;
  gint  begun;
} WriterData;

static gpointer
second_writer (gpointer data)
{
  WriterData *writer = data;
  g_autoptr(VdsDb) db = open_again (writer->uri);

  begin_ok (db);
  g_atomic_int_set (&writer->begun, 1);
  exec_ok (db, "INSERT INTO w (k) VALUES ($1)", PARAMS (VDS_INT (2)));
  commit_ok (db);
  return NULL;
}

static void
test_sqlite_writers (void)
{
  g_autofree char *uri = NULL;
  g_autoptr(VdsDb) db = open_fresh (&sqlite_engine, &uri);
  g_autoptr(VdsDb) other = open_again (uri);
  g_autoptr(GError) error = NULL;
  g_autoptr(GTimer) timer = g_timer_new ();
  WriterData writer = { uri, 0 };
  GThread *thread;

  script_ok (db, "CREATE TABLE w (k BIGINT PRIMARY KEY)");

  begin_ok (db);
  thread = g_thread_new ("second-writer", second_writer, &writer);
  g_usleep (300 * 1000);
  g_assert_cmpint (g_atomic_int_get (&writer.begun), ==, 0);
  exec_ok (db, "INSERT INTO w (k) VALUES ($1)", PARAMS (VDS_INT (1)));
  commit_ok (db);
  g_thread_join (thread);
  g_assert_cmpint (g_atomic_int_get (&writer.begun), ==, 1);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM w"), ==, 2);

  /* a short busy timeout runs out while the other holds the write lock */
  script_ok (other, "PRAGMA busy_timeout = 100");
  begin_ok (db);
  g_timer_start (timer);
  g_assert_false (vds_db_begin (other, &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_BUSY);
  g_assert_cmpfloat (g_timer_elapsed (timer, NULL), >=, 0.09);
  g_clear_error (&error);
  vds_db_rollback (other);
  vds_db_rollback (db);
  begin_ok (other);
  commit_ok (other);

  /* the file really is in WAL mode */
  {
    g_autoptr(VdsResult) result = query_ok (db, "PRAGMA journal_mode", NULL, 0);

    g_assert_cmpstr (vds_result_get_text (result, 0, 0), ==, "wal");
  }
  g_assert_cmpint (query_int (db, "PRAGMA synchronous"), ==, 2 /* FULL */);
  g_assert_cmpint (query_int (db, "PRAGMA busy_timeout"), ==, 10000);
}

/* PostgreSQL: a serialization failure is VDS_DB_ERROR_BUSY (retry the transaction). */
static void
test_postgres_busy (void)
{
  g_autofree char *uri = NULL;
  g_autoptr(VdsDb) db = open_fresh (&postgres_engine, &uri);
  g_autoptr(VdsDb) other = NULL;
  g_autoptr(GError) error = NULL;

  if (db == NULL)
    return;
  other = open_again (uri);

  script_ok (db, "CREATE TABLE s (k BIGINT PRIMARY KEY, v BIGINT); INSERT INTO s VALUES (1, 0)");
  begin_ok (db);
  exec_ok (db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", NULL, 0);
  g_assert_cmpint (query_int (db, "SELECT v FROM s WHERE k = 1"), ==, 0);
  exec_ok (other, "UPDATE s SET v = $1 WHERE k = 1", PARAMS (VDS_INT (1)));
  g_assert_null (vds_db_query (db, "UPDATE s SET v = $1 WHERE k = 1 RETURNING v",
                               PARAMS (VDS_INT (2)), &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "40001"));
  g_clear_error (&error);
  vds_db_rollback (db);

  /* the retry succeeds */
  begin_ok (db);
  exec_ok (db, "UPDATE s SET v = $1 WHERE k = 1", PARAMS (VDS_INT (2)));
  commit_ok (db);
  g_assert_cmpint (query_int (other, "SELECT v FROM s WHERE k = 1"), ==, 2);
}

/* PostgreSQL: queued writes whose statements were never prepared, or failed to prepare,
 * are not remembered as prepared. */
static void
test_postgres_pipeline_prepare (void)
{
  g_autoptr(VdsDb) db = open_fresh (&postgres_engine, NULL);
  g_autoptr(GError) error = NULL;

  if (db == NULL)
    return;

  script_ok (db, "CREATE TABLE q (k BIGINT PRIMARY KEY)");
  exec_ok (db, "INSERT INTO q (k) VALUES ($1)", PARAMS (VDS_INT (1)));

  /* a failing write, then a statement seen for the first time: its PREPARE is skipped by
   * the server along with everything after the error */
  begin_ok (db);
  exec_ok (db, "INSERT INTO q (k) VALUES ($1)", PARAMS (VDS_INT (1)));
  exec_ok (db, "INSERT INTO q (k) VALUES ($1 + 1000)", PARAMS (VDS_INT (5)));
  g_assert_false (vds_db_commit (db, &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_CONSTRAINT);
  g_clear_error (&error);
  vds_db_rollback (db);
  exec_ok (db, "INSERT INTO q (k) VALUES ($1 + 1000)", PARAMS (VDS_INT (5)));
  g_assert_cmpint (query_int (db, "SELECT max(k) FROM q"), ==, 1005);

  /* a statement whose PREPARE itself fails in the pipeline */
  begin_ok (db);
  exec_ok (db, "INSERT INTO later (k) VALUES ($1)", PARAMS (VDS_INT (1)));
  g_assert_false (vds_db_commit (db, &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "later"));
  g_clear_error (&error);
  vds_db_rollback (db);
  script_ok (db, "CREATE TABLE later (k BIGINT)");
  begin_ok (db);
  exec_ok (db, "INSERT INTO later (k) VALUES ($1)", PARAMS (VDS_INT (1)));
  commit_ok (db);
  g_assert_cmpint (query_int (db, "SELECT count(*) FROM later"), ==, 1);

  /* commit of a transaction whose error the caller ignored does not pass for success */
  begin_ok (db);
  g_assert_null (vds_db_query (db, "SELECT nonexistent FROM q", NULL, 0, NULL));
  g_assert_false (vds_db_commit (db, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  vds_db_rollback (db);
  g_assert_false (vds_db_is_broken (db));
}

/* PostgreSQL: a restarted server breaks existing connections (UNAVAILABLE, is_broken),
 * rollback on them is safe, and new connections see the committed data. */
static void
test_postgres_restart (void)
{
  g_autofree char *uri = NULL;
  g_autoptr(VdsDb) db = open_fresh (&postgres_engine, &uri);
  g_autoptr(VdsDb) idle = NULL;
  g_autoptr(VdsDb) in_txn = NULL;
  g_autoptr(VdsDb) fresh = NULL;
  g_autoptr(GError) error = NULL;

  if (db == NULL)
    return;
  idle = open_again (uri);
  in_txn = open_again (uri);

  script_ok (db, "CREATE TABLE r (k BIGINT PRIMARY KEY)");
  exec_ok (db, "INSERT INTO r (k) VALUES ($1)", PARAMS (VDS_INT (1)));
  g_assert_cmpint (query_int (idle, "SELECT count(*) FROM r"), ==, 1);
  begin_ok (in_txn);
  exec_ok (in_txn, "INSERT INTO r (k) VALUES ($1)", PARAMS (VDS_INT (2)));
  g_assert_false (vds_db_is_broken (db));

  vd_test_pg_restart (pg, &error);
  g_assert_no_error (error);

  /* noticed without a query */
  g_assert_true (vds_db_is_broken (idle));

  /* noticed by a query */
  g_assert_null (vds_db_query (db, "SELECT count(*) FROM r", NULL, 0, &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_UNAVAILABLE);
  g_clear_error (&error);
  g_assert_true (vds_db_is_broken (db));
  g_assert_false (vds_db_begin (db, &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_UNAVAILABLE);
  g_clear_error (&error);
  vds_db_rollback (db);

  /* noticed at commit, with writes queued */
  exec_ok (in_txn, "INSERT INTO r (k) VALUES ($1)", PARAMS (VDS_INT (3)));
  g_assert_false (vds_db_commit (in_txn, &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_UNAVAILABLE);
  g_clear_error (&error);
  vds_db_rollback (in_txn);
  g_assert_true (vds_db_is_broken (in_txn));

  fresh = open_again (uri);
  g_assert_false (vds_db_is_broken (fresh));
  g_assert_cmpint (query_int (fresh, "SELECT count(*) FROM r"), ==, 1);
  exec_ok (fresh, "INSERT INTO r (k) VALUES ($1)", PARAMS (VDS_INT (2)));
  g_assert_cmpint (query_int (fresh, "SELECT count(*) FROM r"), ==, 2);

  /* a server that is not there is UNAVAILABLE at open */
  {
    g_autofree char *nowhere = g_strdup_printf ("postgresql://vetdesk@127.0.0.1:%u/nowhere",
                                                vd_test_pg_get_port (pg));
    g_autoptr(VdsDb) none = vds_db_open (nowhere, &error);

    g_assert_null (none);
    g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_UNAVAILABLE);
    g_clear_error (&error);
  }
}

static void
test_open_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *in_missing_dir = g_strdup_printf ("sqlite:%s/no/such/dir/x.db", tmp_dir);

  g_assert_null (vds_db_open ("mysql://localhost/x", &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_null (vds_db_open (in_missing_dir, &error));
  g_assert_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED);
  g_clear_error (&error);
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR))
            remove_tree (child);
          else
            g_unlink (child);
        }
      g_dir_close (dir);
    }
  g_rmdir (path);
}

static void
add_both (const char    *name,
          GTestDataFunc  func)
{
  g_autofree char *sqlite_path = g_strdup_printf ("/db/sqlite/%s", name);
  g_autofree char *postgres_path = g_strdup_printf ("/db/postgres/%s", name);

  g_test_add_data_func (sqlite_path, &sqlite_engine, func);
  g_test_add_data_func (postgres_path, &postgres_engine, func);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  tmp_dir = g_dir_make_tmp ("vd-test-db-XXXXXX", &error);
  g_assert_no_error (error);

  add_both ("round-trip", test_round_trip);
  add_both ("placeholders", test_placeholders);
  add_both ("transactions", test_transactions);
  add_both ("nested-begin", test_nested_begin);
  add_both ("constraint", test_constraint);
  add_both ("errors", test_errors);
  add_both ("statement-cache", test_statement_cache);
  g_test_add_func ("/db/sqlite/writers", test_sqlite_writers);
  g_test_add_func ("/db/postgres/busy", test_postgres_busy);
  g_test_add_func ("/db/postgres/pipeline-prepare", test_postgres_pipeline_prepare);
  g_test_add_func ("/db/postgres/restart", test_postgres_restart);
  g_test_add_func ("/db/open-errors", test_open_errors);

  ret = g_test_run ();

  g_clear_pointer (&pg, vd_test_pg_stop);
  g_clear_error (&pg_error);
  remove_tree (tmp_dir);
  g_free (tmp_dir);
  return ret;
}
