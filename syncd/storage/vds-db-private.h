/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-db-private.h — what vds-db.c shares with the two engines (vds-db-sqlite.c,
 * vds-db-pg.c) and nobody else: the engine table a connection dispatches through and the
 * table a result reads its cells through. */
#pragma once

#include "vds-db.h"

G_BEGIN_DECLS

typedef struct
{
  VdsDbDialect dialect;
  void       (*close)       (VdsDb          *db);
  VdsResult *(*query)       (VdsDb          *db,
                             const char     *sql,
                             const VdsParam *params,
                             guint           n_params,
                             GError        **error);
  gboolean   (*exec)        (VdsDb          *db,
                             const char     *sql,
                             const VdsParam *params,
                             guint           n_params,
                             GError        **error);
  gboolean   (*exec_script) (VdsDb          *db,
                             const char     *sql,
                             GError        **error);
  gboolean   (*begin)       (VdsDb          *db,
                             GError        **error);
  /* Must leave no transaction open, whether it succeeds or not. */
  gboolean   (*commit)      (VdsDb          *db,
                             GError        **error);
  void       (*rollback)    (VdsDb          *db);
  gboolean   (*is_broken)   (VdsDb          *db);
  /* The SQL that differs per dialect (see vds-db.h). */
  gboolean   (*notify)      (VdsDb          *db,
                             const char     *channel,
                             const char     *payload,
                             GError        **error);
  gboolean   (*find_active_appointments) (VdsDb                *db,
                                          const char           *tenant_id,
                                          const VdsDbWindow    *windows,
                                          guint                 n_windows,
                                          VdsDbAppointmentFunc  func,
                                          gpointer              data,
                                          GError              **error);
} VdsDbEngine;

/* Each engine's connection struct starts with this. */
struct _VdsDb
{
  const VdsDbEngine *engine;
  /* Kept by vds-db.c: TRUE between a successful begin and commit/rollback. */
  gboolean           in_txn;
};

typedef struct
{
  gboolean      (*is_null)  (VdsResult *result,
                             guint      row,
                             guint      col);
  const char   *(*get_text) (VdsResult *result,
                             guint      row,
                             guint      col);
  gint64        (*get_int)  (VdsResult *result,
                             guint      row,
                             guint      col);
  double        (*get_real) (VdsResult *result,
                             guint      row,
                             guint      col);
  gboolean      (*get_bool) (VdsResult *result,
                             guint      row,
                             guint      col);
  const guint8 *(*get_blob) (VdsResult *result,
                             guint      row,
                             guint      col,
                             gsize     *out_len);
  void          (*free)     (VdsResult *result);
} VdsResultClass;

/* Each engine's result struct starts with this. */
struct _VdsResult
{
  const VdsResultClass *klass;
  guint                 n_rows;
  guint                 n_cols;
};

VdsDb    *vds_db_sqlite_open   (const char *path,
                                GError    **error);
VdsDb    *vds_db_pg_open       (const char *uri,
                                GError    **error);

/* Text-to-value conversions both engines use when a getter asks for another type than
 * the cell holds (PostgreSQL answers everything as text). */
gint64    vds_db_text_to_int   (const char *text);
double    vds_db_text_to_real  (const char *text);
gboolean  vds_db_text_to_bool  (const char *text);

G_END_DECLS
