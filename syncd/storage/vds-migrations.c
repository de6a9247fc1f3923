/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-migrations.c — syncd's forward-only numbered schema migrations, each applied in a
 * transaction of its own at start, with the version kept in vd_schema_version. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "vds-store-private.h"

/* Any constant will do as long as nothing else in the database uses it: it makes two
 * syncd processes that start together on one PostgreSQL migrate one after the other. */
#define MIGRATION_LOCK_KEY "7664657364657631"

typedef gboolean (*MigrationFunc) (VdsDb   *db,
                                   GError **error);

/* The meta tables as one script for both dialects: @ID@ is a uuid column (PostgreSQL
 * uuid, so it joins the clinic tables' tenant_id), @INT@ a bigint, @BOOL@ a boolean. Times
 * are Unix seconds. Device ids stay text: they come from desks, and a malformed one must
 * not turn a login into a type error. */
static const char meta_tables_template[] =
  "CREATE TABLE companies (\n"
  "  id @ID@ PRIMARY KEY,\n"
  "  name TEXT NOT NULL UNIQUE,\n"
  "  created_at @INT@ NOT NULL\n"
  ");\n"
  "CREATE TABLE tenants (\n"
  "  id @ID@ PRIMARY KEY,\n"
  "  slug TEXT NOT NULL UNIQUE,\n"
  "  name TEXT NOT NULL,\n"
  "  timezone TEXT NOT NULL,\n"
  "  currency TEXT NOT NULL,\n"
  "  company_id @ID@ REFERENCES companies (id),\n"
  "  created_at @INT@ NOT NULL\n"
  ");\n"
  "CREATE INDEX tenants_company_idx ON tenants (company_id);\n"
  "CREATE TABLE users (\n"
  "  id @ID@ PRIMARY KEY,\n"
  "  username TEXT NOT NULL UNIQUE,\n"
  "  display_name TEXT NOT NULL,\n"
  "  password_hash TEXT NOT NULL,\n"
  "  platform_role TEXT NOT NULL,\n"
  "  failed_logins @INT@ NOT NULL DEFAULT 0,\n"
  "  locked_until @INT@ NOT NULL DEFAULT 0,\n"
  "  created_at @INT@ NOT NULL\n"
  ");\n"
  "CREATE TABLE memberships (\n"
  "  user_id @ID@ NOT NULL REFERENCES users (id),\n"
  "  tenant_id @ID@ NOT NULL REFERENCES tenants (id),\n"
  "  role TEXT NOT NULL,\n"
  "  PRIMARY KEY (user_id, tenant_id)\n"
  ");\n"
  "CREATE TABLE company_admins (\n"
  "  user_id @ID@ NOT NULL REFERENCES users (id),\n"
  "  company_id @ID@ NOT NULL REFERENCES companies (id),\n"
  "  PRIMARY KEY (user_id, company_id)\n"
  ");\n"
  "CREATE TABLE sessions (\n"
  "  id @ID@ PRIMARY KEY,\n"
  "  user_id @ID@ NOT NULL REFERENCES users (id),\n"
  "  device_id TEXT,\n"
  "  device_name TEXT,\n"
  "  created_at @INT@ NOT NULL,\n"
  "  expires_at @INT@ NOT NULL,\n"
  "  revoked @BOOL@ NOT NULL DEFAULT false\n"
  ");\n"
  "CREATE INDEX sessions_user_idx ON sessions (user_id);\n"
  "CREATE TABLE tokens (\n"
  "  hash TEXT PRIMARY KEY,\n"
  "  session_id @ID@ NOT NULL REFERENCES sessions (id),\n"
  "  kind TEXT NOT NULL,\n"
  "  expires_at @INT@ NOT NULL,\n"
  "  spent @BOOL@ NOT NULL DEFAULT false\n"
  ");\n"
  "CREATE INDEX tokens_session_idx ON tokens (session_id);\n"
  "CREATE TABLE devices (\n"
  "  tenant_id @ID@ NOT NULL REFERENCES tenants (id),\n"
  "  device_id TEXT NOT NULL,\n"
  "  user_id @ID@,\n"
  "  name TEXT,\n"
  "  app_version TEXT,\n"
  "  first_seen @INT@ NOT NULL,\n"
  "  last_seen @INT@ NOT NULL,\n"
  "  last_push_at @INT@,\n"
  "  last_pull_at @INT@,\n"
  "  cursor @INT@,\n"
  "  PRIMARY KEY (tenant_id, device_id)\n"
  ");\n"
  /* Only the last answer per device: a desk retries its newest batch, never an older one. */
  "CREATE TABLE device_batches (\n"
  "  tenant_id @ID@ NOT NULL,\n"
  "  device_id TEXT NOT NULL,\n"
  "  batch_id @INT@ NOT NULL,\n"
  "  answer TEXT NOT NULL,\n"
  "  PRIMARY KEY (tenant_id, device_id)\n"
  ");\n"
  /* The conflict detector's lookups: one staff member's appointments by time, the rows
   * that reference a row, and the conflicts a row takes part in. */
  "CREATE INDEX appointments_staff_idx ON appointments (tenant_id, staff_id, starts_at);\n"
  "CREATE INDEX appointments_pet_idx ON appointments (tenant_id, pet_id);\n"
  "CREATE INDEX appointments_client_idx ON appointments (tenant_id, client_id);\n"
  "CREATE INDEX conflicts_row_idx ON conflicts (tenant_id, row_id);\n"
  "CREATE INDEX conflicts_other_row_idx ON conflicts (tenant_id, other_row_id);\n";

static char *
render_template (const char   *template,
                 VdsDbDialect  dialect)
{
  gboolean pg = dialect == VDS_DB_POSTGRES;
  GString *sql = g_string_new (template);

  g_string_replace (sql, "@ID@", pg ? "uuid" : "TEXT", 0);
  g_string_replace (sql, "@INT@", pg ? "bigint" : "INTEGER", 0);
  g_string_replace (sql, "@BOOL@", pg ? "boolean" : "INTEGER", 0);
  return g_string_free (sql, FALSE);
}

/* Migration 1: the clinic tables from the registry, then the meta tables. The registry's
 * DDL is taken as this build generates it; a later change to the registry comes as a
 * migration of its own. */
static gboolean
migration_1 (VdsDb   *db,
             GError **error)
{
  VdsDbDialect dialect = vds_db_get_dialect (db);
  g_autofree char *clinic = NULL;
  g_autofree char *meta = NULL;

  clinic = dialect == VDS_DB_POSTGRES ? vd_schema_postgres_ddl () : vd_schema_sqlite_ddl ();
  if (!vds_db_exec_script (db, clinic, error))
    return FALSE;

  meta = render_template (meta_tables_template, dialect);
  return vds_db_exec_script (db, meta, error);
}

/* Migration 2: sync monitoring. Per device: the pending count the desk reports, its last
 * error, how many of its changes were refused, since when it has been behind the clinic
 * (lag_since, NULL when up to date) and whether an administrator revoked it. Per clinic
 * and minute: the activity counters, kept for 24 hours. */
static const char monitoring_template[] =
  "ALTER TABLE devices ADD COLUMN pending @INT@;\n"
  "ALTER TABLE devices ADD COLUMN last_error_code TEXT;\n"
  "ALTER TABLE devices ADD COLUMN last_error_message TEXT;\n"
  "ALTER TABLE devices ADD COLUMN last_error_at @INT@;\n"
  "ALTER TABLE devices ADD COLUMN rejected @INT@ NOT NULL DEFAULT 0;\n"
  "ALTER TABLE devices ADD COLUMN lag_since @INT@;\n"
  "ALTER TABLE devices ADD COLUMN revoked @BOOL@ NOT NULL DEFAULT false;\n"
  "CREATE INDEX sessions_device_idx ON sessions (device_id);\n"
  "CREATE TABLE activity (\n"
  "  tenant_id @ID@ NOT NULL,\n"
  "  minute @INT@ NOT NULL,\n"
  "  pushes @INT@ NOT NULL DEFAULT 0,\n"
  "  pulls @INT@ NOT NULL DEFAULT 0,\n"
  "  changes @INT@ NOT NULL DEFAULT 0,\n"
  "  rejected @INT@ NOT NULL DEFAULT 0,\n"
  "  errors @INT@ NOT NULL DEFAULT 0,\n"
  "  PRIMARY KEY (tenant_id, minute)\n"
  ");\n"
  "CREATE INDEX activity_minute_idx ON activity (minute);\n";

/* Migration 3: the same counts per clinic and UTC hour, so the listing's 24-hour sparkline
 * reads at most 24 rows per clinic instead of up to 1,440. Filled from here on. */
static const char hourly_template[] =
  "CREATE TABLE activity_hourly (\n"
  "  tenant_id @ID@ NOT NULL,\n"
  "  hour @INT@ NOT NULL,\n"
  "  requests @INT@ NOT NULL DEFAULT 0,\n"
  "  changes @INT@ NOT NULL DEFAULT 0,\n"
  "  rejected @INT@ NOT NULL DEFAULT 0,\n"
  "  errors @INT@ NOT NULL DEFAULT 0,\n"
  "  PRIMARY KEY (tenant_id, hour)\n"
  ");\n"
  "CREATE INDEX activity_hourly_hour_idx ON activity_hourly (hour);\n";

static gboolean
migration_2 (VdsDb   *db,
             GError **error)
{
  g_autofree char *sql = render_template (monitoring_template, vds_db_get_dialect (db));

  return vds_db_exec_script (db, sql, error);
}

static gboolean
migration_3 (VdsDb   *db,
             GError **error)
{
  g_autofree char *sql = render_template (hourly_template, vds_db_get_dialect (db));

  return vds_db_exec_script (db, sql, error);
}

/* Migration 4: the hourly removal of expired tokens finds them by an index rather than by
 * reading every token (a desk adds two every 15 minutes). */
static gboolean
migration_4 (VdsDb   *db,
             GError **error)
{
  return vds_db_exec_script (db, "CREATE INDEX tokens_expires_idx ON tokens (expires_at);\n",
                             error);
}

/* Migration 5: devices prove themselves (ARCHITECTURE §6). device_keys holds the
 * SHA-256 of each device id's secret, issued at the id's first sign-in and asked for at
 * every later one; it is per device id, not per clinic or person, since the ids are
 * random uuids made on the desk and every member signing in at that desk shares it. A
 * stored batch answer is also keyed to the session that pushed it (session_id), so it is
 * never served to another session. Failed sign-ins with unknown usernames are counted
 * (login_failures) as a user's are. The last refusal message of a device is dropped: it
 * quoted the refused value, and administrators saw it (issue #16, item 7). */
static const char device_keys_template[] =
  "CREATE TABLE device_keys (\n"
  "  device_id TEXT PRIMARY KEY,\n"
  "  secret_hash TEXT NOT NULL,\n"
  "  created_at @INT@ NOT NULL\n"
  ");\n"
  "ALTER TABLE device_batches ADD COLUMN session_id TEXT;\n"
  /* Failed sign-ins with a username nobody has, counted as a user's are, so that the
   * lockout does not tell which usernames exist (issue #16, item 8). */
  "CREATE TABLE login_failures (\n"
  "  username TEXT PRIMARY KEY,\n"
  "  failed_logins @INT@ NOT NULL DEFAULT 0,\n"
  "  locked_until @INT@ NOT NULL DEFAULT 0,\n"
  "  last_failed_at @INT@ NOT NULL\n"
  ");\n"
  "CREATE INDEX login_failures_last_idx ON login_failures (last_failed_at);\n"
  "UPDATE devices SET last_error_message = NULL;\n";

static gboolean
migration_5 (VdsDb   *db,
             GError **error)
{
  g_autofree char *sql = render_template (device_keys_template, vds_db_get_dialect (db));

  return vds_db_exec_script (db, sql, error);
}

static const MigrationFunc migrations[] = {
  migration_1,
  migration_2,
  migration_3,
  migration_4,
  migration_5,
};

guint
vds_migrations_latest (void)
{
  return G_N_ELEMENTS (migrations);
}

/* In the current transaction: the applied version (0 for a new database). */
static gboolean
read_version (VdsDb   *db,
              guint   *out_version,
              GError **error)
{
  g_autoptr(VdsResult) result = NULL;

  if (!vds_db_exec_script (db,
                           "CREATE TABLE IF NOT EXISTS vd_schema_version (\n"
                           "  version INTEGER PRIMARY KEY,\n"
                           "  applied_at BIGINT NOT NULL\n"
                           ");",
                           error))
    return FALSE;

  result = vds_db_query (db, "SELECT COALESCE(MAX(version), 0) FROM vd_schema_version",
                         NULL, 0, error);
  if (result == NULL)
    return FALSE;
  *out_version = (guint) vds_result_get_int (result, 0, 0);
  return TRUE;
}

/* One step: locks, reads the version, applies the next migration when there is one.
 * *out_done when the schema is current. */
static gboolean
migrate_step (VdsDb    *db,
              guint    *out_version,
              gboolean *out_done,
              GError  **error)
{
  guint version = 0;
  VdsParam params[2];

  if (!vds_db_begin (db, error))
    return FALSE;

  if (vds_db_get_dialect (db) == VDS_DB_POSTGRES)
    {
      g_autoptr(VdsResult) lock = NULL;

      lock = vds_db_query (db, "SELECT pg_advisory_xact_lock (" MIGRATION_LOCK_KEY ")",
                           NULL, 0, error);
      if (lock == NULL)
        goto fail;
    }

  if (!read_version (db, &version, error))
    goto fail;

  if (version > G_N_ELEMENTS (migrations))
    {
      g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
                   _("The database has schema version %u, newer than this vetdesk-syncd knows (%u): run a newer vetdesk-syncd."),
                   version, (guint) G_N_ELEMENTS (migrations));
      goto fail;
    }

  if (version == G_N_ELEMENTS (migrations))
    {
      *out_version = version;
      *out_done = TRUE;
      vds_db_rollback (db);
      return TRUE;
    }

  if (!migrations[version] (db, error))
    {
      g_prefix_error (error, _("Migrating the database to schema version %u failed: "),
                      version + 1);
      goto fail;
    }

  params[0] = VDS_INT (version + 1);
  params[1] = VDS_INT (g_get_real_time () / G_USEC_PER_SEC);
  if (!vds_db_exec (db, "INSERT INTO vd_schema_version (version, applied_at) VALUES ($1, $2)",
                    params, 2, error))
    goto fail;
  if (!vds_db_commit (db, error))
    goto fail;

  g_info ("Database migrated to schema version %u", version + 1);
  *out_version = version + 1;
  *out_done = FALSE;
  return TRUE;

fail:
  vds_db_rollback (db);
  return FALSE;
}

gboolean
vds_migrations_apply (VdsDb   *db,
                      guint   *out_version,
                      GError **error)
{
  gboolean done = FALSE;
  guint version = 0;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  while (!done)
    {
      if (!migrate_step (db, &version, &done, error))
        return FALSE;
    }

  if (out_version != NULL)
    *out_version = version;
  return TRUE;
}
