/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-store-auth.c — accounts as login sees them (failure counting and locks), and
 * sessions with their access and refresh tokens, rotated and revoked per RFC 9700. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-store.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "vd-id.h"
#include "vds-notify.h"
#include "vds-store-private.h"

/* ---- Users ------------------------------------------------------------------------- */

void
vds_user_free (VdsUser *user)
{
  if (user == NULL)
    return;

  g_free (user->id);
  g_free (user->username);
  g_free (user->display_name);
  g_free (user->password_hash);
  g_free (user->platform_role);
  g_free (user);
}

#define USER_COLUMNS \
  "id, username, display_name, password_hash, platform_role, failed_logins, locked_until"

typedef struct
{
  const char *sql;
  const char *key;
  VdsUser    *user;   /* out */
} FindUser;

static gboolean
find_user_txn (VdsStore *self,
               VdsDb    *db,
               gpointer  data,
               GError  **error)
{
  FindUser *find = data;
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[1] = { VDS_TEXT (find->key) };
  VdsUser *user;

  g_clear_pointer (&find->user, vds_user_free);
  result = vds_db_query (db, find->sql, params, 1, error);
  if (result == NULL)
    return FALSE;
  if (vds_result_n_rows (result) == 0)
    return TRUE;

  user = g_new0 (VdsUser, 1);
  user->id = g_strdup (vds_result_get_text (result, 0, 0));
  user->username = g_strdup (vds_result_get_text (result, 0, 1));
  user->display_name = g_strdup (vds_result_get_text (result, 0, 2));
  user->password_hash = g_strdup (vds_result_get_text (result, 0, 3));
  user->platform_role = g_strdup (vds_result_get_text (result, 0, 4));
  user->failed_logins = (gint) vds_result_get_int (result, 0, 5);
  user->locked_until = vds_result_get_int (result, 0, 6);
  find->user = user;
  return TRUE;
}

VdsUser *
vds_store_find_user (VdsStore    *self,
                     const char  *username,
                     GError     **error)
{
  FindUser find = { "SELECT " USER_COLUMNS " FROM users WHERE username = $1", username, NULL };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (username == NULL)
    return NULL;
  if (!vds_store_run (self, VDS_TXN_NONE, find_user_txn, &find, error))
    return NULL;
  return find.user;
}

VdsUser *
vds_store_get_user (VdsStore    *self,
                    const char  *user_id,
                    GError     **error)
{
  FindUser find = { "SELECT " USER_COLUMNS " FROM users WHERE id = $1", user_id, NULL };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (user_id != NULL && vd_uuid_is_valid (user_id))
    {
      if (!vds_store_run (self, VDS_TXN_NONE, find_user_txn, &find, error))
        return NULL;
      if (find.user != NULL)
        return find.user;
    }

  g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
               _("There is no user with the id “%s”."), user_id != NULL ? user_id : "");
  return NULL;
}

typedef struct
{
  const char *user_id;
  gint64      now;
  gint64      lock_until;
  gint        max_failures;
  gint64      locked_until;   /* out */
  gboolean    found;          /* out: the user exists */
  gboolean    done;           /* out: the statement's condition held */
} LoginStep;

static gboolean
login_read_lock (VdsDb      *db,
                 LoginStep  *ls,
                 GError    **error)
{
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[1] = { VDS_TEXT (ls->user_id) };

  result = vds_db_query (db, "SELECT locked_until FROM users WHERE id = $1", params, 1, error);
  if (result == NULL)
    return FALSE;
  ls->found = vds_result_n_rows (result) > 0;
  ls->locked_until = ls->found ? vds_result_get_int (result, 0, 0) : 0;
  return TRUE;
}

static gboolean
login_reserve_txn (VdsStore *self,
                   VdsDb    *db,
                   gpointer  data,
                   GError  **error)
{
  LoginStep *ls = data;
  g_autoptr(VdsResult) result = NULL;
  g_autoptr(VdsResult) locked = NULL;
  VdsParam params[4];

  /* The attempt is counted before the password is checked, in one statement that also
   * reads the lock: concurrent attempts (on any instance) each take one of the
   * max_failures places, and none is checked once they are taken or the account is
   * locked. */
  params[0] = VDS_TEXT (ls->user_id);
  params[1] = VDS_INT (ls->now);
  params[2] = VDS_INT (ls->max_failures);
  params[3] = VDS_INT (ls->lock_until);
  result = vds_db_query (db,
                         "UPDATE users SET failed_logins = failed_logins + 1 "
                         "WHERE id = $1 AND locked_until <= $2 AND failed_logins < $3 "
                         "RETURNING failed_logins",
                         params, 3, error);
  if (result == NULL)
    return FALSE;
  ls->done = vds_result_n_rows (result) > 0;
  if (ls->done)
    {
      ls->found = TRUE;
      ls->locked_until = 0;
      return TRUE;
    }

  /* Refused: locked already, or every place is taken by attempts still being checked;
   * the latter locks now. */
  locked = vds_db_query (db,
                         "UPDATE users SET locked_until = $4, failed_logins = 0 "
                         "WHERE id = $1 AND locked_until <= $2 AND failed_logins >= $3 "
                         "RETURNING locked_until",
                         params, 4, error);
  if (locked == NULL)
    return FALSE;
  return login_read_lock (db, ls, error);
}

gboolean
vds_store_login_reserve (VdsStore   *self,
                         const char *user_id,
                         gint64      now,
                         gint        max_failures,
                         gint64      lock_seconds,
                         gint64     *out_locked_until,
                         GError    **error)
{
  LoginStep ls = { user_id, now, now + lock_seconds, MAX (max_failures, 1), 0, FALSE, FALSE };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (out_locked_until != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (user_id == NULL || !vd_uuid_is_valid (user_id) ||
      !vds_store_run (self, VDS_TXN_NONE, login_reserve_txn, &ls, error) || !ls.found)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
                     _("There is no user with the id “%s”."), user_id != NULL ? user_id : "");
      return FALSE;
    }

  *out_locked_until = ls.done ? 0 : MAX (ls.locked_until, now + 1);
  return TRUE;
}

static gboolean
login_failed_txn (VdsStore *self,
                  VdsDb    *db,
                  gpointer  data,
                  GError  **error)
{
  LoginStep *ls = data;
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[4];

  /* The failure was counted when the attempt was reserved; it locks once the count has
   * reached max_failures (unless a lock is in force already). */
  params[0] = VDS_TEXT (ls->user_id);
  params[1] = VDS_INT (ls->now);
  params[2] = VDS_INT (ls->max_failures);
  params[3] = VDS_INT (ls->lock_until);
  result = vds_db_query (db,
                         "UPDATE users SET locked_until = $4, failed_logins = 0 "
                         "WHERE id = $1 AND locked_until <= $2 AND failed_logins >= $3 "
                         "RETURNING locked_until",
                         params, 4, error);
  if (result == NULL)
    return FALSE;
  return login_read_lock (db, ls, error);
}

gboolean
vds_store_login_failed (VdsStore   *self,
                        const char *user_id,
                        gint64      now,
                        gint        max_failures,
                        gint64      lock_seconds,
                        gint64     *out_locked_until,
                        GError    **error)
{
  LoginStep ls = { user_id, now, now + lock_seconds, MAX (max_failures, 1), 0, FALSE, FALSE };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (user_id == NULL || !vd_uuid_is_valid (user_id) ||
      !vds_store_run (self, VDS_TXN_NONE, login_failed_txn, &ls, error) || !ls.found)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
                     _("There is no user with the id “%s”."), user_id != NULL ? user_id : "");
      return FALSE;
    }

  if (out_locked_until != NULL)
    *out_locked_until = ls.locked_until > now ? ls.locked_until : 0;
  return TRUE;
}

typedef struct
{
  const char *username;
  gint64      now;
  gint64      lock_until;
  gint        max_failures;
  gboolean    count;          /* count a failure (else only read the lock) */
  gint64      locked_until;   /* out */
} UnknownLogin;

static gboolean
unknown_login_txn (VdsStore *self,
                   VdsDb    *db,
                   gpointer  data,
                   GError  **error)
{
  UnknownLogin *ul = data;
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[4];

  params[0] = VDS_TEXT (ul->username);
  if (!ul->count)
    {
      result = vds_db_query (db, "SELECT locked_until FROM login_failures WHERE username = $1",
                             params, 1, error);
      if (result == NULL)
        return FALSE;
      ul->locked_until = vds_result_n_rows (result) > 0 ? vds_result_get_int (result, 0, 0) : 0;
      return TRUE;
    }

  /* The same arithmetic as login_failed_txn, in one statement. */
  params[1] = VDS_INT (ul->lock_until);
  params[2] = VDS_INT (ul->max_failures);
  params[3] = VDS_INT (ul->now);
  result = vds_db_query (db,
                         "INSERT INTO login_failures (username, failed_logins, locked_until, "
                         "last_failed_at) VALUES ($1, "
                         "CASE WHEN 1 >= CAST ($3 AS BIGINT) THEN 0 ELSE 1 END, "
                         "CASE WHEN 1 >= CAST ($3 AS BIGINT) THEN CAST ($2 AS BIGINT) "
                         "ELSE 0 END, $4) "
                         "ON CONFLICT (username) DO UPDATE SET "
                         "failed_logins = CASE WHEN login_failures.failed_logins + 1 >= "
                         "CAST ($3 AS BIGINT) THEN 0 ELSE login_failures.failed_logins + 1 END, "
                         "locked_until = CASE WHEN login_failures.failed_logins + 1 >= "
                         "CAST ($3 AS BIGINT) THEN CAST ($2 AS BIGINT) "
                         "ELSE login_failures.locked_until END, "
                         "last_failed_at = excluded.last_failed_at "
                         "RETURNING locked_until",
                         params, 4, error);
  if (result == NULL)
    return FALSE;
  ul->locked_until = vds_result_n_rows (result) > 0 ? vds_result_get_int (result, 0, 0) : 0;
  return TRUE;
}

gboolean
vds_store_unknown_login (VdsStore   *self,
                         const char *username,
                         gboolean    count_failure,
                         gint64      now,
                         gint        max_failures,
                         gint64      lock_seconds,
                         gint64     *out_locked_until,
                         GError    **error)
{
  UnknownLogin ul = { username, now, now + lock_seconds, MAX (max_failures, 1), count_failure, 0 };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (username != NULL && out_locked_until != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!vds_store_run (self, count_failure ? VDS_TXN_WRITE : VDS_TXN_NONE, unknown_login_txn,
                      &ul, error))
    return FALSE;
  *out_locked_until = ul.locked_until > now ? ul.locked_until : 0;
  return TRUE;
}

static gboolean
login_succeeded_txn (VdsStore *self,
                     VdsDb    *db,
                     gpointer  data,
                     GError  **error)
{
  LoginStep *ls = data;
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[2] = { VDS_TEXT (ls->user_id), VDS_INT (ls->now) };

  /* Only an account that is not locked is cleared: a lock taken while this attempt's
   * password was being checked (by attempts on this or another instance) stands. */
  result = vds_db_query (db,
                         "UPDATE users SET failed_logins = 0 "
                         "WHERE id = $1 AND locked_until <= $2 RETURNING id",
                         params, 2, error);
  if (result == NULL)
    return FALSE;
  ls->done = vds_result_n_rows (result) > 0;
  if (ls->done)
    {
      ls->found = TRUE;
      return TRUE;
    }
  return login_read_lock (db, ls, error);
}

gboolean
vds_store_login_succeeded (VdsStore   *self,
                           const char *user_id,
                           gint64      now,
                           gint64     *out_locked_until,
                           GError    **error)
{
  LoginStep ls = { user_id, now, 0, 1, 0, FALSE, FALSE };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (user_id == NULL || !vd_uuid_is_valid (user_id) ||
      !vds_store_run (self, VDS_TXN_NONE, login_succeeded_txn, &ls, error) || !ls.found)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
                     _("There is no user with the id “%s”."), user_id != NULL ? user_id : "");
      return FALSE;
    }
  if (out_locked_until != NULL)
    *out_locked_until = ls.done ? 0 : MAX (ls.locked_until, now + 1);
  return TRUE;
}

/* ---- Sessions and tokens ----------------------------------------------------------- */

void
vds_token_free (VdsToken *token)
{
  if (token == NULL)
    return;

  g_free (token->session_id);
  g_free (token->user_id);
  g_free (token->device_id);
  g_free (token->kind);
  g_free (token);
}

static gboolean
insert_token (VdsDb      *db,
              const char *hash,
              const char *session_id,
              const char *kind,
              gint64      expires_at,
              GError    **error)
{
  VdsParam params[4];

  params[0] = VDS_TEXT (hash);
  params[1] = VDS_TEXT (session_id);
  params[2] = VDS_TEXT (kind);
  params[3] = VDS_INT (expires_at);
  return vds_db_exec (db,
                      "INSERT INTO tokens (hash, session_id, kind, expires_at, spent) "
                      "VALUES ($1, $2, $3, $4, false)",
                      params, 4, error);
}

typedef struct
{
  const char *session_id;
  const char *user_id;
  const char *device_id;
  const char *device_name;
  gint64      now;
  gint64      session_expires_at;
  const char *access_hash;
  gint64      access_expires_at;
  const char *refresh_hash;
  gint64      refresh_expires_at;
  gboolean    prove;               /* check the device's secret (a sign-in) */
  const char *presented_hash;      /* SHA-256 of the secret sent, NULL for none */
  const char *new_secret_hash;     /* stored when the device id is new */
  VdsDeviceProof proof;            /* out */
} CreateSession;

/* The device id's secret: a new id takes new_secret_hash (of two first sign-ins racing,
 * one inserts and the other must prove itself like any later one); a known id must
 * present the secret it was given. */
static gboolean
prove_device (VdsDb         *db,
              CreateSession *cs,
              GError       **error)
{
  g_autoptr(VdsResult) inserted = NULL;
  g_autoptr(VdsResult) known = NULL;
  VdsParam params[3];
  const char *stored;

  params[0] = VDS_TEXT (cs->device_id);
  params[1] = VDS_TEXT (cs->new_secret_hash);
  params[2] = VDS_INT (cs->now);
  inserted = vds_db_query (db,
                           "INSERT INTO device_keys (device_id, secret_hash, created_at) "
                           "VALUES ($1, $2, $3) ON CONFLICT (device_id) DO NOTHING "
                           "RETURNING device_id",
                           params, 3, error);
  if (inserted == NULL)
    return FALSE;
  if (vds_result_n_rows (inserted) > 0)
    {
      cs->proof = VDS_DEVICE_NEW;
      return TRUE;
    }

  known = vds_db_query (db, "SELECT secret_hash FROM device_keys WHERE device_id = $1",
                        params, 1, error);
  if (known == NULL)
    return FALSE;
  stored = vds_result_n_rows (known) > 0 ? vds_result_get_text (known, 0, 0) : NULL;
  /* Hashes of 256 random bits: comparing them tells nothing about the secret. */
  cs->proof = stored != NULL && cs->presented_hash != NULL &&
              strcmp (stored, cs->presented_hash) == 0
              ? VDS_DEVICE_PROVEN : VDS_DEVICE_REFUSED;
  return TRUE;
}

static gboolean
create_session_txn (VdsStore *self,
                    VdsDb    *db,
                    gpointer  data,
                    GError  **error)
{
  CreateSession *cs = data;
  VdsParam params[6];

  cs->proof = VDS_DEVICE_UNCHECKED;
  if (cs->prove && cs->device_id != NULL)
    {
      if (!prove_device (db, cs, error))
        return FALSE;
      if (cs->proof == VDS_DEVICE_REFUSED)
        return TRUE;
    }

  /* A new sign-in from a device an administrator revoked lifts the mark: the person
   * signing in knows a password of the clinic. */
  if (cs->device_id != NULL)
    {
      params[0] = VDS_TEXT (cs->device_id);
      params[1] = VDS_TEXT (cs->user_id);
      if (!vds_db_exec (db,
                        "UPDATE devices SET revoked = false WHERE device_id = $1 AND revoked "
                        "AND tenant_id IN (SELECT m.tenant_id FROM memberships m "
                        "WHERE m.user_id = $2)",
                        params, 2, error))
        return FALSE;
    }

  params[0] = VDS_TEXT (cs->session_id);
  params[1] = VDS_TEXT (cs->user_id);
  params[2] = VDS_TEXT (cs->device_id);
  params[3] = VDS_TEXT (cs->device_name);
  params[4] = VDS_INT (cs->now);
  params[5] = VDS_INT (cs->session_expires_at);
  return vds_db_exec (db,
                      "INSERT INTO sessions (id, user_id, device_id, device_name, created_at, "
                      "expires_at, revoked) VALUES ($1, $2, $3, $4, $5, $6, false)",
                      params, 6, error) &&
         insert_token (db, cs->access_hash, cs->session_id, "access",
                       MIN (cs->access_expires_at, cs->session_expires_at), error) &&
         insert_token (db, cs->refresh_hash, cs->session_id, "refresh",
                       MIN (cs->refresh_expires_at, cs->session_expires_at), error);
}

static gboolean
create_session (VdsStore       *self,
                CreateSession  *cs,
                char          **out_session_id,
                GError        **error)
{
  g_autofree char *session_id = vd_uuid_new ();

  cs->session_id = session_id;
  if (cs->user_id == NULL || !vd_uuid_is_valid (cs->user_id))
    {
      g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND,
                   _("There is no user with the id “%s”."),
                   cs->user_id != NULL ? cs->user_id : "");
      return FALSE;
    }

  if (!vds_store_run (self, VDS_TXN_WRITE, create_session_txn, cs, error))
    return FALSE;

  if (out_session_id != NULL && cs->proof != VDS_DEVICE_REFUSED)
    *out_session_id = g_steal_pointer (&session_id);
  return TRUE;
}

gboolean
vds_store_create_device_session (VdsStore       *self,
                                 const char     *user_id,
                                 const char     *device_id,
                                 const char     *device_name,
                                 const char     *presented_secret_hash,
                                 const char     *new_secret_hash,
                                 gint64          now,
                                 gint64          session_expires_at,
                                 const char     *access_hash,
                                 gint64          access_expires_at,
                                 const char     *refresh_hash,
                                 gint64          refresh_expires_at,
                                 VdsDeviceProof *out_proof,
                                 char          **out_session_id,
                                 GError        **error)
{
  CreateSession cs = {
    NULL, user_id, device_id, device_name, now, session_expires_at,
    access_hash, access_expires_at, refresh_hash, refresh_expires_at,
    TRUE, presented_secret_hash, new_secret_hash, VDS_DEVICE_UNCHECKED
  };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (device_id != NULL && new_secret_hash != NULL, FALSE);
  g_return_val_if_fail (access_hash != NULL && refresh_hash != NULL, FALSE);
  g_return_val_if_fail (out_proof != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!create_session (self, &cs, out_session_id, error))
    return FALSE;
  *out_proof = cs.proof;
  return TRUE;
}

gboolean
vds_store_create_session (VdsStore   *self,
                          const char *user_id,
                          const char *device_id,
                          const char *device_name,
                          gint64      now,
                          gint64      session_expires_at,
                          const char *access_hash,
                          gint64      access_expires_at,
                          const char *refresh_hash,
                          gint64      refresh_expires_at,
                          char      **out_session_id,
                          GError    **error)
{
  CreateSession cs = {
    NULL, user_id, device_id, device_name, now, session_expires_at,
    access_hash, access_expires_at, refresh_hash, refresh_expires_at,
    FALSE, NULL, NULL, VDS_DEVICE_UNCHECKED
  };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (access_hash != NULL && refresh_hash != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return create_session (self, &cs, out_session_id, error);
}

#define TOKEN_SELECT \
  "SELECT s.id, s.user_id, s.device_id, t.kind, t.expires_at, t.spent, s.revoked, " \
  "s.expires_at FROM tokens t JOIN sessions s ON s.id = t.session_id WHERE t.hash = $1"

typedef struct
{
  const char *hash;
  VdsToken   *token;   /* out */
} LookupToken;

static VdsToken *
token_from_result (VdsResult *result)
{
  VdsToken *token = g_new0 (VdsToken, 1);

  token->session_id = g_strdup (vds_result_get_text (result, 0, 0));
  token->user_id = g_strdup (vds_result_get_text (result, 0, 1));
  token->device_id = g_strdup (vds_result_get_text (result, 0, 2));
  token->kind = g_strdup (vds_result_get_text (result, 0, 3));
  token->expires_at = vds_result_get_int (result, 0, 4);
  token->spent = vds_result_get_bool (result, 0, 5);
  token->session_revoked = vds_result_get_bool (result, 0, 6);
  token->session_expires_at = vds_result_get_int (result, 0, 7);
  return token;
}

static gboolean
lookup_token_txn (VdsStore *self,
                  VdsDb    *db,
                  gpointer  data,
                  GError  **error)
{
  LookupToken *lt = data;
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[1] = { VDS_TEXT (lt->hash) };

  g_clear_pointer (&lt->token, vds_token_free);
  result = vds_db_query (db, TOKEN_SELECT, params, 1, error);
  if (result == NULL)
    return FALSE;
  if (vds_result_n_rows (result) > 0)
    lt->token = token_from_result (result);
  return TRUE;
}

VdsToken *
vds_store_lookup_token (VdsStore   *self,
                        const char *token_hash,
                        GError    **error)
{
  LookupToken lt = { token_hash, NULL };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (token_hash == NULL)
    return NULL;
  if (!vds_store_run (self, VDS_TXN_NONE, lookup_token_txn, &lt, error))
    return NULL;
  return lt.token;
}

/* The token's row, the user's role in the clinic and the clinic's seq in one statement:
 * a pull asks the database once, and still asks it every time (a revocation through any
 * syncd process on the same database counts at once). */
#define MEMBER_SELECT \
  "SELECT s.id, s.user_id, s.device_id, t.kind, t.expires_at, t.spent, s.revoked, " \
  "s.expires_at, m.role, " \
  "COALESCE ((SELECT q.seq FROM vd_seq q WHERE q.tenant_id = $2), 0) " \
  "FROM tokens t JOIN sessions s ON s.id = t.session_id " \
  "LEFT JOIN memberships m ON m.user_id = s.user_id AND m.tenant_id = $2 " \
  "WHERE t.hash = $1"

typedef struct
{
  const char *hash;
  const char *tenant_id;
  VdsToken   *token;   /* out */
  char       *role;    /* out */
  gint64      seq;     /* out */
} LookupMember;

static gboolean
lookup_member_txn (VdsStore *self,
                   VdsDb    *db,
                   gpointer  data,
                   GError  **error)
{
  LookupMember *lm = data;
  g_autoptr(VdsResult) result = NULL;
  VdsParam params[2] = { VDS_TEXT (lm->hash), VDS_TEXT (lm->tenant_id) };

  g_clear_pointer (&lm->token, vds_token_free);
  g_clear_pointer (&lm->role, g_free);
  lm->seq = 0;
  result = vds_db_query (db, MEMBER_SELECT, params, 2, error);
  if (result == NULL)
    return FALSE;
  if (vds_result_n_rows (result) == 0)
    return TRUE;
  lm->token = token_from_result (result);
  lm->role = g_strdup (vds_result_get_text (result, 0, 8));
  lm->seq = vds_result_get_int (result, 0, 9);
  return TRUE;
}

VdsToken *
vds_store_lookup_member (VdsStore    *self,
                         const char  *token_hash,
                         const char  *tenant_id,
                         char       **out_role,
                         gint64      *out_seq,
                         GError     **error)
{
  LookupMember lm = { token_hash, tenant_id, NULL, NULL, 0 };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (out_role != NULL && out_seq != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  *out_role = NULL;
  *out_seq = 0;
  if (token_hash == NULL)
    return NULL;
  /* PostgreSQL would refuse a malformed uuid: such a clinic has no members. */
  if (tenant_id == NULL || !vd_uuid_is_valid (tenant_id))
    return vds_store_lookup_token (self, token_hash, error);
  if (!vds_store_run (self, VDS_TXN_NONE, lookup_member_txn, &lm, error))
    return NULL;
  *out_role = lm.role;
  *out_seq = lm.seq;
  return lm.token;
}

/* Revokes the session and, on PostgreSQL, tells every instance at commit (the NOTIFY
 * goes with the transaction), so that each closes the session's streams. */
static gboolean
revoke_family (VdsStore   *self,
               VdsDb      *db,
               const char *session_id,
               GError    **error)
{
  g_autoptr(VdsResult) result = NULL;
  g_autoptr(VdsResult) notified = NULL;
  VdsParam params[1] = { VDS_TEXT (session_id) };
  VdsParam notify_params[2] = { VDS_TEXT (VDS_NOTIFY_SESSION_CHANNEL), VDS_TEXT (session_id) };

  result = vds_db_query (db, "UPDATE sessions SET revoked = true WHERE id = $1 RETURNING id",
                         params, 1, error);
  if (result == NULL)
    return FALSE;
  if (vds_result_n_rows (result) == 0 || self->dialect != VDS_DB_POSTGRES)
    return TRUE;
  notified = vds_db_query (db, "SELECT pg_notify ($1, $2)", notify_params, 2, error);
  return notified != NULL;
}

typedef struct
{
  const char      *refresh_hash;
  gint64           now;
  const char      *new_access_hash;
  gint64           access_expires_at;
  const char      *new_refresh_hash;
  gint64           refresh_expires_at;
  VdsRotateResult  result;   /* out */
  VdsToken        *token;    /* out */
} Rotate;

static gboolean
rotate_txn (VdsStore *self,
            VdsDb    *db,
            gpointer  data,
            GError  **error)
{
  Rotate *rot = data;
  g_autoptr(VdsResult) result = NULL;
  g_autoptr(VdsResult) claimed = NULL;
  VdsParam params[1] = { VDS_TEXT (rot->refresh_hash) };
  VdsToken *token;

  g_clear_pointer (&rot->token, vds_token_free);
  rot->result = VDS_ROTATE_UNKNOWN;

  result = vds_db_query (db, TOKEN_SELECT, params, 1, error);
  if (result == NULL)
    return FALSE;
  if (vds_result_n_rows (result) == 0)
    return TRUE;

  token = rot->token = token_from_result (result);
  if (g_strcmp0 (token->kind, "refresh") != 0)
    return TRUE;
  if (token->session_revoked)
    {
      rot->result = VDS_ROTATE_REVOKED;
      return TRUE;
    }
  if (token->spent)
    {
      /* A spent refresh token seen again means two holders: end the whole family. */
      rot->result = VDS_ROTATE_REPLAYED;
      return revoke_family (self, db, token->session_id, error);
    }
  if (token->expires_at <= rot->now || token->session_expires_at <= rot->now)
    {
      rot->result = VDS_ROTATE_EXPIRED;
      return TRUE;
    }

  /* Claimed with a condition, so of two rotations racing with one token exactly one
   * wins; the other finds it spent and is a replay. */
  claimed = vds_db_query (db,
                          "UPDATE tokens SET spent = true WHERE hash = $1 AND NOT spent "
                          "RETURNING hash",
                          params, 1, error);
  if (claimed == NULL)
    return FALSE;
  if (vds_result_n_rows (claimed) == 0)
    {
      rot->result = VDS_ROTATE_REPLAYED;
      return revoke_family (self, db, token->session_id, error);
    }

  if (!insert_token (db, rot->new_access_hash, token->session_id, "access",
                     MIN (rot->access_expires_at, token->session_expires_at), error) ||
      !insert_token (db, rot->new_refresh_hash, token->session_id, "refresh",
                     MIN (rot->refresh_expires_at, token->session_expires_at), error))
    return FALSE;

  token->spent = TRUE;
  rot->result = VDS_ROTATE_OK;
  return TRUE;
}

gboolean
vds_store_rotate_refresh (VdsStore         *self,
                          const char       *refresh_hash,
                          gint64            now,
                          const char       *new_access_hash,
                          gint64            access_expires_at,
                          const char       *new_refresh_hash,
                          gint64            refresh_expires_at,
                          VdsRotateResult  *out_result,
                          VdsToken        **out_token,
                          GError          **error)
{
  Rotate rot = {
    refresh_hash, now, new_access_hash, access_expires_at, new_refresh_hash,
    refresh_expires_at, VDS_ROTATE_UNKNOWN, NULL
  };

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (refresh_hash != NULL, FALSE);
  g_return_val_if_fail (new_access_hash != NULL && new_refresh_hash != NULL, FALSE);
  g_return_val_if_fail (out_result != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!vds_store_run (self, VDS_TXN_WRITE, rotate_txn, &rot, error))
    {
      vds_token_free (rot.token);
      return FALSE;
    }

  *out_result = rot.result;
  if (out_token != NULL && (rot.result == VDS_ROTATE_OK || rot.result == VDS_ROTATE_REPLAYED))
    *out_token = g_steal_pointer (&rot.token);
  vds_token_free (rot.token);
  return TRUE;
}

static gboolean
prune_sessions_txn (VdsStore *self,
                    VdsDb    *db,
                    gpointer  data,
                    GError  **error)
{
  VdsParam params[1] = { VDS_INT (*(gint64 *) data) };

  /* A refresh token lives as long as its session, so only access tokens go before their
   * session ends: a spent refresh token is kept while replaying it could still matter. */
  VdsParam old[1] = { VDS_INT (*(gint64 *) data - VDS_LOGIN_FAILURES_KEEP_S) };

  /* A username nobody has, unlocked and not tried for a month, is forgotten: the table
   * stays bounded by the login rate limit times that month. */
  return vds_db_exec (db,
                      "DELETE FROM login_failures WHERE last_failed_at < $1 "
                      "AND locked_until < $1",
                      old, 1, error) &&
         vds_db_exec (db, "DELETE FROM tokens WHERE expires_at < $1", params, 1, error) &&
         vds_db_exec (db,
                      "DELETE FROM sessions WHERE expires_at < $1 AND NOT EXISTS "
                      "(SELECT 1 FROM tokens t WHERE t.session_id = sessions.id)",
                      params, 1, error);
}

gboolean
vds_store_prune_sessions (VdsStore  *self,
                          gint64     before,
                          GError   **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return vds_store_run (self, VDS_TXN_WRITE, prune_sessions_txn, &before, error);
}

static gboolean
revoke_session_txn (VdsStore *self,
                    VdsDb    *db,
                    gpointer  data,
                    GError  **error)
{
  return revoke_family (self, db, data, error);
}

gboolean
vds_store_revoke_session (VdsStore   *self,
                          const char *session_id,
                          GError    **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Revoking what does not exist leaves nothing usable either: not an error. */
  if (session_id == NULL || !vd_uuid_is_valid (session_id))
    return TRUE;
  return vds_store_run (self, VDS_TXN_WRITE, revoke_session_txn, (gpointer) session_id, error);
}
