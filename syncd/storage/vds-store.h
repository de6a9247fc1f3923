/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-store.h — everything syncd keeps: companies, clinics (tenants), users, sessions and
 * tokens, devices, and each clinic's synced rows with their merge, conflicts and pull.
 * Written once on VdsDb, so the SQLite and PostgreSQL backends run the same logic.
 *
 * Thread-safe: every call borrows a connection from a pool (one per worker thread) and
 * returns it; calls block, so the HTTP layer runs them in worker threads. Times are Unix
 * seconds. Strings in returned structs are owned by the struct. */
#pragma once

#include <glib.h>
#include "vd-change.h"
#include "vd-protocol.h"
#include "vd-hlc.h"

G_BEGIN_DECLS

#define VDS_STORE_ERROR (vds_store_error_quark ())

typedef enum
{
  VDS_STORE_ERROR_FAILED,
  VDS_STORE_ERROR_UNAVAILABLE,   /* database unreachable: answer 503 and retry */
  VDS_STORE_ERROR_EXISTS,        /* unique name/slug/username taken */
  VDS_STORE_ERROR_NOT_FOUND,
  VDS_STORE_ERROR_INVALID,       /* bad argument (unknown zone, bad role…), message says which */
  VDS_STORE_ERROR_BATCH_ORDER,   /* push with a batch_id older than the device's last */
  VDS_STORE_ERROR_BATCH_JUMP,    /* push with a batch_id too far past the device's last */
} VdsStoreError;

GQuark vds_store_error_quark (void);

typedef struct _VdsStore VdsStore;

/* uri: "sqlite:PATH" or a PostgreSQL URI. Applies the forward-only numbered migrations
 * (schema version kept in the database) before returning. pool_size connections at most. */
VdsStore   *vds_store_open        (const char  *uri,
                                   guint        pool_size,
                                   GError     **error);
void        vds_store_free        (VdsStore    *self);
/* The schema version after migration. */
guint       vds_store_get_schema_version (VdsStore *self);
/* TRUE when the backend is PostgreSQL. */
gboolean    vds_store_is_postgres (VdsStore    *self);
/* The server's clock (thread-safe through the store's own lock): its hlc now. */
VdHlc       vds_store_server_hlc  (VdsStore    *self);
/* For tests: replaces the wall clock the store uses for hlc and skew checks. */
void        vds_store_set_wall_clock (VdsStore      *self,
                                      VdHlcWallFunc  wall,
                                      gpointer       data);

/* ---- companies, clinics, people (admin subcommands and demo loader) ---- */

gboolean    vds_store_add_company (VdsStore    *self,
                                   const char  *name,
                                   char       **out_id,
                                   GError     **error);
/* timezone must be a known IANA id, currency 3 uppercase letters, slug [a-z0-9-]{1,64}. */
gboolean    vds_store_add_tenant  (VdsStore    *self,
                                   const char  *slug,
                                   const char  *name,
                                   const char  *timezone,
                                   const char  *currency,
                                   const char  *company_id,
                                   char       **out_id,
                                   GError     **error);
/* platform_role: "none", "company_admin" or "platform_admin". password_hash: a libsodium
 * crypto_pwhash_str string. */
gboolean    vds_store_add_user    (VdsStore    *self,
                                   const char  *username,
                                   const char  *display_name,
                                   const char  *password_hash,
                                   const char  *platform_role,
                                   char       **out_id,
                                   GError     **error);
/* Whether role is a clinic role (front_desk, veterinarian, technician, groomer,
 * clinic_admin). */
gboolean    vds_store_clinic_role_is_valid (const char *role);
/* vds_store_add_user, its memberships (tenant_ids[i] with roles[i]) and the companies it
 * administers, all checked first and written in one transaction: on any error nothing
 * is written. The arrays are NULL-terminated (roles as long as tenant_ids) or NULL. */
gboolean    vds_store_add_account (VdsStore           *self,
                                   const char         *username,
                                   const char         *display_name,
                                   const char         *password_hash,
                                   const char         *platform_role,
                                   const char * const *tenant_ids,
                                   const char * const *roles,
                                   const char * const *company_ids,
                                   char              **out_id,
                                   GError            **error);
/* role: front_desk, veterinarian, technician, groomer, clinic_admin. */
gboolean    vds_store_add_membership    (VdsStore   *self,
                                         const char *user_id,
                                         const char *tenant_id,
                                         const char *role,
                                         GError    **error);
gboolean    vds_store_add_company_admin (VdsStore   *self,
                                         const char *user_id,
                                         const char *company_id,
                                         GError    **error);
/* Looks up by slug or id. NULL without error when none. */
char       *vds_store_find_company_id   (VdsStore   *self,
                                         const char *name_or_id,
                                         GError    **error);
char       *vds_store_find_tenant_id    (VdsStore   *self,
                                         const char *slug_or_id,
                                         GError    **error);

typedef struct
{
  char   *id;
  char   *username;
  char   *display_name;
  char   *password_hash;
  char   *platform_role;
  gint    failed_logins;
  gint64  locked_until;   /* 0 = not locked */
} VdsUser;

void        vds_user_free         (VdsUser     *user);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdsUser, vds_user_free)

/* NULL without error when there is no such user. */
VdsUser    *vds_store_find_user   (VdsStore    *self,
                                   const char  *username,
                                   GError     **error);
/* By id; NULL with VDS_STORE_ERROR_NOT_FOUND when there is no such user. */
VdsUser    *vds_store_get_user    (VdsStore    *self,
                                   const char  *user_id,
                                   GError     **error);
/* A sign-in's three steps (ARCHITECTURE §6 lockout, issue #18 item 2). reserve: before
 * the password is checked, atomically counts the attempt unless the account is locked or
 * max_failures attempts are counted already (then it locks now + lock_seconds);
 * *out_locked_until is 0 when the attempt may go on, else the end of the lock. failed:
 * the attempt (counted already) failed; locks when the count has reached max_failures;
 * out_locked_until: the lock in force after it (0 = none). succeeded: resets the count
 * unless the account was locked meanwhile; *out_locked_until (may be NULL) is then the
 * end of that lock, which the sign-in must answer with. */
gboolean    vds_store_login_reserve   (VdsStore   *self,
                                       const char *user_id,
                                       gint64      now,
                                       gint        max_failures,
                                       gint64      lock_seconds,
                                       gint64     *out_locked_until,
                                       GError    **error);
gboolean    vds_store_login_failed    (VdsStore   *self,
                                       const char *user_id,
                                       gint64      now,
                                       gint        max_failures,
                                       gint64      lock_seconds,
                                       gint64     *out_locked_until,
                                       GError    **error);
/* Failed sign-ins with a username no user has, counted as vds_store_login_failed counts a
 * user's (so the lockout answers alike). count_failure FALSE only reads: *out_locked_until
 * is the end of the name's current lock, 0 when none. Entries unlocked and untried for
 * VDS_LOGIN_FAILURES_KEEP_S go with vds_store_prune_sessions. */
#define VDS_LOGIN_FAILURES_KEEP_S (30 * 24 * 3600)
gboolean    vds_store_unknown_login   (VdsStore   *self,
                                       const char *username,
                                       gboolean    count_failure,
                                       gint64      now,
                                       gint        max_failures,
                                       gint64      lock_seconds,
                                       gint64     *out_locked_until,
                                       GError    **error);
gboolean    vds_store_login_succeeded (VdsStore   *self,
                                       const char *user_id,
                                       gint64      now,
                                       gint64     *out_locked_until,
                                       GError    **error);

typedef struct
{
  char *id;
  char *slug;
  char *name;
  char *timezone;
  char *currency;
  char *company_id;
  char *role;           /* the caller's clinic role, when listed for a user */
} VdsTenant;

void        vds_tenant_free       (VdsTenant   *tenant);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdsTenant, vds_tenant_free)

/* The clinics the user is a member of, with the role, ordered by name. */
GPtrArray  *vds_store_user_tenants (VdsStore   *self,
                                    const char *user_id,
                                    GError    **error);
/* The user's clinic role in that clinic; NULL without error when not a member. */
char       *vds_store_get_membership (VdsStore   *self,
                                      const char *user_id,
                                      const char *tenant_id,
                                      GError    **error);
/* The companies a company_admin oversees (ids). */
GStrv       vds_store_admin_company_ids (VdsStore   *self,
                                         const char *user_id,
                                         GError    **error);
/* NULL with VDS_STORE_ERROR_NOT_FOUND when there is no such clinic. */
VdsTenant  *vds_store_get_tenant   (VdsStore   *self,
                                    const char *tenant_id,
                                    GError    **error);

/* ---- sessions and tokens (ARCHITECTURE §6) ---- */

typedef struct
{
  char    *session_id;
  char    *user_id;
  char    *device_id;
  char    *kind;              /* "access" or "refresh" */
  gint64   expires_at;
  gboolean spent;             /* a refresh token already used */
  gboolean session_revoked;
  gint64   session_expires_at;  /* the absolute 30-day limit */
} VdsToken;

void        vds_token_free        (VdsToken    *token);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdsToken, vds_token_free)

/* A new session (refresh-token family) with its first access and refresh tokens; hashes
 * are lowercase hex SHA-256 of the opaque tokens, which the store never sees. */
gboolean    vds_store_create_session (VdsStore   *self,
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
                                      GError    **error);
typedef enum
{
  VDS_DEVICE_UNCHECKED,   /* no device proof asked for */
  VDS_DEVICE_NEW,         /* a device id not seen before: it took the new secret */
  VDS_DEVICE_PROVEN,      /* the secret presented is the device's */
  VDS_DEVICE_REFUSED,     /* a known device id without its secret: no session made */
} VdsDeviceProof;

/* A sign-in (ARCHITECTURE §6): vds_store_create_session once the device proved itself,
 * in one transaction. A device id never seen takes new_secret_hash (the SHA-256 of the
 * secret the login answer then carries); a known one must present the SHA-256 of its
 * secret (presented_secret_hash, NULL when none was sent), else *out_proof is
 * VDS_DEVICE_REFUSED, no session is made and *out_session_id is left alone. */
gboolean    vds_store_create_device_session (VdsStore       *self,
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
                                             GError        **error);
/* NULL without error for an unknown hash. */
VdsToken   *vds_store_lookup_token   (VdsStore   *self,
                                      const char *token_hash,
                                      GError    **error);
/* vds_store_lookup_token, and in the same statement the user's clinic role in tenant_id
 * (*out_role NULL when not a member or tenant_id is not a uuid) and the clinic's sequence
 * (*out_seq, 0 when nothing was pushed): one round trip for a sync call's checks. */
VdsToken   *vds_store_lookup_member  (VdsStore   *self,
                                      const char *token_hash,
                                      const char *tenant_id,
                                      char      **out_role,
                                      gint64     *out_seq,
                                      GError    **error);

typedef enum
{
  VDS_ROTATE_OK,
  VDS_ROTATE_UNKNOWN,     /* no such refresh token */
  VDS_ROTATE_REPLAYED,    /* it was already spent: the whole session is now revoked */
  VDS_ROTATE_EXPIRED,     /* token or session past its limit */
  VDS_ROTATE_REVOKED,     /* session revoked before */
} VdsRotateResult;

/* In one transaction: checks the refresh token, marks it spent, adds the new pair to
 * the same session. On replay revokes the session (RFC 9700 family revocation).
 * out_token (may be NULL): the spent token's row (user, device, session) on OK, and on
 * REPLAYED (the session then revoked, whose streams must close). */
gboolean    vds_store_rotate_refresh (VdsStore        *self,
                                      const char      *refresh_hash,
                                      gint64           now,
                                      const char      *new_access_hash,
                                      gint64           access_expires_at,
                                      const char      *new_refresh_hash,
                                      gint64           refresh_expires_at,
                                      VdsRotateResult *out_result,
                                      VdsToken       **out_token,
                                      GError         **error);
/* Deletes the tokens that expired before `before` (Unix seconds), then the sessions that
 * ended before it and have no token left. */
gboolean    vds_store_prune_sessions (VdsStore   *self,
                                      gint64      before,
                                      GError    **error);
gboolean    vds_store_revoke_session (VdsStore   *self,
                                      const char *session_id,
                                      GError    **error);

/* ---- devices ---- */

typedef enum
{
  VDS_DEVICE_SEEN,
  VDS_DEVICE_PUSHED,
  VDS_DEVICE_PULLED,
} VdsDeviceEvent;

/* Upserts the device of a clinic: first/last seen, last push or pull, cursor (pull),
 * app version (may be NULL: unchanged). */
gboolean    vds_store_touch_device (VdsStore       *self,
                                    const char     *tenant_id,
                                    const char     *device_id,
                                    const char     *user_id,
                                    const char     *device_name,
                                    const char     *app_version,
                                    VdsDeviceEvent  event,
                                    gint64          cursor,
                                    gint64          now,
                                    GError        **error);

/* What a request tells about the device that made it, beyond vds_store_touch_device:
 * the number of changes the desk still holds (X-VetDesk-Pending; -1 = not told), the
 * changes of this request that were refused, and a failure to remember as its last
 * error (error_code NULL = none). */
typedef struct
{
  const char     *tenant_id;
  const char     *device_id;
  const char     *user_id;
  const char     *app_version;
  VdsDeviceEvent  event;
  gint64          cursor;          /* pulls: the cursor answered */
  gint64          pending;
  gint64          rejected;
  const char     *error_code;
  const char     *error_message;
  gint64          now;
  /* vds_store_report_pulls only: the answer's cursor reached the clinic's seq as read for
   * that pull (so the device was up to date then, whatever came since). */
  gboolean        reached;
} VdsDeviceReport;

/* The upsert of vds_store_touch_device with the report's extra fields. A pull that
 * reaches the clinic's sequence clears the device's lag; one that does not keeps the time
 * it first fell behind. */
gboolean    vds_store_report_device (VdsStore              *self,
                                     const VdsDeviceReport *report,
                                     GError               **error);
/* Pull reports (event VDS_DEVICE_PULLED, no error) gathered in memory and written later,
 * in one transaction: the device's last pull, cursor, pending count and last seen. Since
 * they land up to a few seconds late, last_seen never moves backwards, and a device that
 * was up to date at its pull (reached) but is behind now counts as behind since that
 * pull, not since an older lag. */
gboolean    vds_store_report_pulls  (VdsStore              *self,
                                     const VdsDeviceReport *reports,
                                     guint                  n_reports,
                                     GError               **error);

/* ---- sync (ARCHITECTURE §4) ---- */

/* Applies a decoded push of one device in one transaction and returns the answer's JSON
 * ({batch_id, accepted, rejected:[{index,code,message}], cursor, server_hlc}), which is
 * stored with the device's batch so a replay returns it unchanged and changes nothing.
 * Changes whose hlc is ahead of the server's clock by more than VD_PROTOCOL_MAX_SKEW_MS
 * are rejected with code "clock_skew"; a change creating a row that lacks a required
 * column, or a row id of another table, is rejected "invalid_change". Request-level
 * rejections (req->rejected, from the decoder) are merged into the answer by index.
 * Conflicts (double bookings per staff member unless allow_overlap, references to missing
 * or deleted rows) are opened and resolved as server-owned rows of "conflicts" in the same
 * transaction. A batch_id lower than the device's last → VDS_STORE_ERROR_BATCH_ORDER. */
gboolean    vds_store_push         (VdsStore       *self,
                                    const char     *tenant_id,
                                    VdPushRequest  *req,
                                    char          **out_answer_json,
                                    GError        **error);
/* What a push did, for fan-out and metrics. */
typedef struct
{
  gint64     cursor;       /* the clinic's sequence after it */
  gboolean   advanced;     /* this push moved the sequence (streams must hear of it) */
  gboolean   replayed;     /* a replayed batch: nothing was done */
  guint      accepted;
  GPtrArray *rejected;     /* of VdRejection, by index: the decoder's and the store's */
} VdsPushResult;

void        vds_push_result_clear  (VdsPushResult  *result);

/* vds_store_push, also filling out_result (cleared first). On PostgreSQL a push that
 * moves the sequence sends NOTIFY vetdesk_seq '<tenant_id>:<seq>' in its transaction, so
 * every syncd process hears of it once it commits. */
gboolean    vds_store_push_full    (VdsStore       *self,
                                    const char     *tenant_id,
                                    VdPushRequest  *req,
                                    char          **out_answer_json,
                                    VdsPushResult  *out_result,
                                    GError        **error);
/* vds_store_push_full for a session (session_id): the stored answer of the device's last
 * batch is replayed to that session only; another session sending the same batch id has
 * the batch merged again (which changes nothing already merged). A batch_id more than
 * VD_PROTOCOL_MAX_BATCH_JUMP past the device's last (or past 0 for its first) →
 * VDS_STORE_ERROR_BATCH_JUMP. */
gboolean    vds_store_push_session (VdsStore       *self,
                                    const char     *tenant_id,
                                    const char     *session_id,
                                    VdPushRequest  *req,
                                    char          **out_answer_json,
                                    VdsPushResult  *out_result,
                                    GError        **error);
/* The clinic's current sequence (0 when nothing was ever pushed). */
gboolean    vds_store_get_seq      (VdsStore       *self,
                                    const char     *tenant_id,
                                    gint64         *out_seq,
                                    GError        **error);
/* The sequences of several clinics: tenant id (char*) → gint64* (both owned). */
GHashTable *vds_store_get_seqs     (VdsStore           *self,
                                    const char * const *tenant_ids,
                                    guint               n_ids,
                                    GError            **error);

/* Changes after cursor (VdChange*, each with seq), at most limit (see
 * vd_cell_store_changes_since for the page rules). */
gboolean    vds_store_pull         (VdsStore       *self,
                                    const char     *tenant_id,
                                    gint64          cursor,
                                    guint           limit,
                                    GPtrArray     **out_changes,
                                    gint64         *out_cursor,
                                    gboolean       *out_more,
                                    GError        **error);
/* The same page as vd_pull_answer_encode bytes with a fresh server_hlc, served from an
 * in-memory cache (per process, bounded in bytes) while the clinic's seq, read from the
 * database on every call, has not moved; identical misses at once compute it once. */
GBytes     *vds_store_pull_answer  (VdsStore       *self,
                                    const char     *tenant_id,
                                    gint64          cursor,
                                    guint           limit,
                                    gint64         *out_cursor,
                                    gboolean       *out_more,
                                    GError        **error);
/* The same with the clinic's seq already read from the database by the caller just
 * before (vds_store_lookup_member), so a cached answer costs no statement at all. */
GBytes     *vds_store_pull_answer_at (VdsStore     *self,
                                      const char   *tenant_id,
                                      gint64        seq,
                                      gint64        cursor,
                                      guint         limit,
                                      gint64       *out_cursor,
                                      gboolean     *out_more,
                                      GError      **error);

/* ---- monitoring ---- */

typedef struct
{
  char   *id;
  char   *slug;
  char   *name;
  char   *company_id;
  char   *company_name;   /* may be NULL: a clinic of no company */
  char   *timezone;
  gint64  clients;        /* rows not deleted */
  gint64  pets;
  gint64  appointments;
  gint64  staff;
  gint64  devices;
  gint64  last_sync_at;   /* 0 = never */
  gint64  open_conflicts;
  gint64  seq;            /* the clinic's sequence */
  /* Monitoring (vds-store-monitor.c). */
  const char *health;     /* static: "ok", "lagging", "offline" or "errors" */
  gint64  devices_online; /* seen in the last 5 minutes, not revoked */
  gint64  rejected_24h;   /* changes refused this UTC hour and the 23 before */
  gint64  errors_1h;      /* devices whose last error (a refused change or a failed
                           * request) is less than an hour old */
  gint64  activity[24];   /* pushes + pulls per UTC hour, oldest first; [23] = this hour */
} VdsTenantStats;

void        vds_tenant_stats_free  (VdsTenantStats *stats);

/* company_ids NULL = every clinic (platform admin); else only those companies'. Ordered by
 * name. Health, at the store's wall clock:
 * - "offline": now is within the clinic's opening hours (Mon–Fri 09–20, Sat 10–14 in its
 *   time zone) and no device has pushed or pulled for offline_after seconds of opening
 *   time (the clinic's creation counts as its first sync);
 * - "errors": a device had a change refused or a request fail in the last hour;
 * - "lagging": a device seen within offline_after has been behind the clinic's sequence
 *   for more than 5 minutes;
 * - "ok" otherwise. The first that applies wins, in that order. */
GPtrArray  *vds_store_admin_tenants (VdsStore           *self,
                                     const char * const *company_ids,
                                     GError            **error);
/* Seconds of opening time without a sync after which a clinic is offline (default 1800). */
void        vds_store_set_offline_after (VdsStore   *self,
                                         gint64      seconds);
/* The health rule above for one clinic, exposed for tests: open seconds of the clinic's
 * opening hours within [from, to), counted up to at most cap. */
gint64      vds_store_open_seconds      (GTimeZone  *zone,
                                         gint64      from,
                                         gint64      to,
                                         gint64      cap);

typedef struct
{
  char    *device_id;
  char    *name;             /* the device name of its newest session; may be NULL */
  char    *username;         /* may be NULL */
  char    *app_version;      /* may be NULL */
  gint64   first_seen;
  gint64   last_seen;
  gint64   last_push_at;     /* 0 = never */
  gint64   last_pull_at;     /* 0 = never */
  gint64   cursor;           /* -1 = never pulled */
  gint64   lag;              /* the clinic's sequence minus the cursor, at least 0 */
  gint64   pending;          /* -1 = never told */
  gint64   rejected;         /* changes refused, in total */
  char    *last_error_code;  /* NULL = none */
  char    *last_error_message;
  gint64   last_error_at;
  gboolean revoked;
} VdsDeviceInfo;

void        vds_device_info_free   (VdsDeviceInfo *info);

/* The clinic's devices, the most recently seen first. */
GPtrArray  *vds_store_admin_devices (VdsStore   *self,
                                     const char *tenant_id,
                                     GError    **error);

typedef struct
{
  char   *tenant_id;
  gint64  minute;      /* Unix time / 60 */
  gint64  pushes;
  gint64  pulls;
  gint64  changes;     /* changes merged */
  gint64  rejected;    /* changes refused */
  gint64  errors;      /* failed requests */
} VdsActivity;

/* Adds counts (a flush of one process's in-memory aggregate; several processes add up)
 * in one transaction. */
gboolean    vds_store_add_activity  (VdsStore           *self,
                                     const VdsActivity  *entries,
                                     guint               n_entries,
                                     GError            **error);
/* Deletes activity of minutes before before_minute. */
gboolean    vds_store_prune_activity (VdsStore   *self,
                                      gint64      before_minute,
                                      GError    **error);
/* The clinic's minutes from since_minute on with any push, pull or change, oldest first
 * (VdsActivity*, tenant_id NULL). */
GPtrArray  *vds_store_admin_activity (VdsStore   *self,
                                      const char *tenant_id,
                                      gint64      since_minute,
                                      GError    **error);

/* Revokes at once every session of device_id whose user is a member of the clinic, and
 * marks the device revoked (a new login from it clears the mark). out_found: the device
 * was known in the clinic or had such a session. out_session_ids (may be NULL): the
 * sessions revoked. On PostgreSQL sends NOTIFY vetdesk_revoke '<tenant_id>:<device_id>'. */
gboolean    vds_store_revoke_device (VdsStore   *self,
                                     const char *tenant_id,
                                     const char *device_id,
                                     gboolean   *out_found,
                                     GStrv      *out_session_ids,
                                     GError    **error);

/* Open conflicts of every clinic together (the metrics gauge). */
gboolean    vds_store_count_open_conflicts (VdsStore  *self,
                                            gint64    *out_count,
                                            GError   **error);
/* Connections borrowed now, and the pool's size. Thread-safe, never blocks. */
void        vds_store_pool_stats   (VdsStore   *self,
                                    guint      *out_in_use,
                                    guint      *out_size);

G_END_DECLS
