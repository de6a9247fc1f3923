/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-db.c — the engine-independent half of VdsDb: the error domain, choosing the engine
 * from the URI, the transaction bookkeeping and the result getters' argument checks. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-db.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "vds-db-private.h"

G_DEFINE_QUARK (vds-db-error-quark, vds_db_error)

VdsDb *
vds_db_open (const char  *uri,
             GError     **error)
{
  g_return_val_if_fail (uri != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_str_has_prefix (uri, "postgresql://") || g_str_has_prefix (uri, "postgres://"))
    return vds_db_pg_open (uri, error);

  if (g_str_has_prefix (uri, "sqlite:"))
    {
      const char *path = uri + strlen ("sqlite:");

      /* "sqlite:///abs/path" is how people tend to write it next to postgresql:// */
      if (g_str_has_prefix (path, "//"))
        path += 2;
      if (*path == '\0')
        {
          g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
                       _("The database address “%s” names no file."), uri);
          return NULL;
        }
      return vds_db_sqlite_open (path, error);
    }

  g_set_error (error, VDS_DB_ERROR, VDS_DB_ERROR_FAILED,
               _("The database address “%s” is not supported: use sqlite:/path/to/file.db "
                 "or postgresql://…"), uri);
  return NULL;
}

void
vds_db_close (VdsDb *db)
{
  if (db == NULL)
    return;

  db->engine->close (db);
}

VdsDbDialect
vds_db_get_dialect (VdsDb *db)
{
  g_return_val_if_fail (db != NULL, VDS_DB_SQLITE);

  return db->engine->dialect;
}

VdsResult *
vds_db_query (VdsDb           *db,
              const char      *sql,
              const VdsParam  *params,
              guint            n_params,
              GError         **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (sql != NULL, NULL);
  g_return_val_if_fail (params != NULL || n_params == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return db->engine->query (db, sql, params, n_params, error);
}

gboolean
vds_db_exec (VdsDb           *db,
             const char      *sql,
             const VdsParam  *params,
             guint            n_params,
             GError         **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (sql != NULL, FALSE);
  g_return_val_if_fail (params != NULL || n_params == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return db->engine->exec (db, sql, params, n_params, error);
}

gboolean
vds_db_exec_script (VdsDb       *db,
                    const char  *sql,
                    GError     **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (sql != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return db->engine->exec_script (db, sql, error);
}

gboolean
vds_db_begin (VdsDb   *db,
              GError **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (!db->in_txn, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!db->engine->begin (db, error))
    return FALSE;

  db->in_txn = TRUE;
  return TRUE;
}

gboolean
vds_db_commit (VdsDb   *db,
               GError **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (db->in_txn, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The engines end the transaction even when COMMIT fails, so a caller that rolls back
   * after a failed commit (the usual pattern) finds nothing left to undo. */
  db->in_txn = FALSE;
  return db->engine->commit (db, error);
}

void
vds_db_rollback (VdsDb *db)
{
  g_return_if_fail (db != NULL);

  db->in_txn = FALSE;
  db->engine->rollback (db);
}

gboolean
vds_db_is_broken (VdsDb *db)
{
  g_return_val_if_fail (db != NULL, TRUE);

  return db->engine->is_broken (db);
}

const char *
vds_db_dialect_text_cast (VdsDbDialect dialect)
{
  return dialect == VDS_DB_POSTGRES ? "::text" : "";
}

gboolean
vds_db_notify (VdsDb       *db,
               const char  *channel,
               const char  *payload,
               GError     **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (channel != NULL && payload != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return db->engine->notify (db, channel, payload, error);
}

gboolean
vds_db_find_active_appointments (VdsDb                *db,
                                 const char           *tenant_id,
                                 const VdsDbWindow    *windows,
                                 guint                 n_windows,
                                 VdsDbAppointmentFunc  func,
                                 gpointer              data,
                                 GError              **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (tenant_id != NULL, FALSE);
  g_return_val_if_fail (windows != NULL || n_windows == 0, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return db->engine->find_active_appointments (db, tenant_id, windows, n_windows, func, data,
                                               error);
}

guint
vds_result_n_rows (VdsResult *result)
{
  g_return_val_if_fail (result != NULL, 0);

  return result->n_rows;
}

guint
vds_result_n_cols (VdsResult *result)
{
  g_return_val_if_fail (result != NULL, 0);

  return result->n_cols;
}

gboolean
vds_result_is_null (VdsResult *result,
                    guint      row,
                    guint      col)
{
  g_return_val_if_fail (result != NULL, TRUE);
  g_return_val_if_fail (row < result->n_rows, TRUE);
  g_return_val_if_fail (col < result->n_cols, TRUE);

  return result->klass->is_null (result, row, col);
}

const char *
vds_result_get_text (VdsResult *result,
                     guint      row,
                     guint      col)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (row < result->n_rows, NULL);
  g_return_val_if_fail (col < result->n_cols, NULL);

  return result->klass->get_text (result, row, col);
}

gint64
vds_result_get_int (VdsResult *result,
                    guint      row,
                    guint      col)
{
  g_return_val_if_fail (result != NULL, 0);
  g_return_val_if_fail (row < result->n_rows, 0);
  g_return_val_if_fail (col < result->n_cols, 0);

  return result->klass->get_int (result, row, col);
}

double
vds_result_get_real (VdsResult *result,
                     guint      row,
                     guint      col)
{
  g_return_val_if_fail (result != NULL, 0.0);
  g_return_val_if_fail (row < result->n_rows, 0.0);
  g_return_val_if_fail (col < result->n_cols, 0.0);

  return result->klass->get_real (result, row, col);
}

gboolean
vds_result_get_bool (VdsResult *result,
                     guint      row,
                     guint      col)
{
  g_return_val_if_fail (result != NULL, FALSE);
  g_return_val_if_fail (row < result->n_rows, FALSE);
  g_return_val_if_fail (col < result->n_cols, FALSE);

  return result->klass->get_bool (result, row, col);
}

const guint8 *
vds_result_get_blob (VdsResult *result,
                     guint      row,
                     guint      col,
                     gsize     *out_len)
{
  g_return_val_if_fail (out_len != NULL, NULL);
  *out_len = 0;
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (row < result->n_rows, NULL);
  g_return_val_if_fail (col < result->n_cols, NULL);

  return result->klass->get_blob (result, row, col, out_len);
}

void
vds_result_free (VdsResult *result)
{
  if (result == NULL)
    return;

  result->klass->free (result);
}

gint64
vds_db_text_to_int (const char *text)
{
  if (text == NULL)
    return 0;
  /* PostgreSQL booleans, when someone reads one as a number */
  if (text[0] == 't' && text[1] == '\0')
    return 1;
  if (text[0] == 'f' && text[1] == '\0')
    return 0;
  return g_ascii_strtoll (text, NULL, 10);
}

double
vds_db_text_to_real (const char *text)
{
  if (text == NULL)
    return 0.0;
  return g_ascii_strtod (text, NULL);
}

gboolean
vds_db_text_to_bool (const char *text)
{
  if (text == NULL || text[0] == '\0')
    return FALSE;
  switch (text[0])
    {
    case 't': case 'T': case 'y': case 'Y':
      return TRUE;
    case 'f': case 'F': case 'n': case 'N':
      return FALSE;
    default:
      return g_ascii_strtod (text, NULL) != 0.0;
    }
}
