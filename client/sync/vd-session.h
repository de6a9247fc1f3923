/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-session.h — signing in to vetdesk-syncd: the login call (with the server's
 * certificate fingerprint for the user to confirm when no system CA vouches for it), the
 * account kept between runs, and the refresh token in the Secret Service (libsecret). */
#pragma once

#include <gio/gio.h>
#include "vd-store.h"

G_BEGIN_DECLS

#define VD_SESSION_ERROR (vd_session_error_quark ())

typedef enum
{
  VD_SESSION_ERROR_UNREACHABLE,      /* "The server could not be reached. …" */
  VD_SESSION_ERROR_UNTRUSTED_CERT,   /* no CA vouches for it; error carries the fingerprint */
  VD_SESSION_ERROR_CERT_CHANGED,     /* pinned fingerprint differs: sync stops and says so */
  VD_SESSION_ERROR_BAD_CREDENTIALS,  /* "The username or password is not right." */
  VD_SESSION_ERROR_LOCKED,           /* "This account is locked until 14:05 …" */
  VD_SESSION_ERROR_NO_CLINIC,        /* the account belongs to no clinic and is no admin */
  VD_SESSION_ERROR_DEVICE_REFUSED,   /* the device id is another computer's (no secret) */
  VD_SESSION_ERROR_FAILED,
} VdSessionError;

GQuark vd_session_error_quark (void);

typedef struct
{
  char      *server_url;       /* "https://host:port" */
  char      *fingerprint;      /* pinned SHA-256, "AA:BB:…", or NULL for system CAs */
  char      *username;
  char      *user_id;
  char      *display_name;
  char      *platform_role;    /* "none", "company_admin", "platform_admin" */
  char      *access_token;
  char      *refresh_token;
  GPtrArray *clinics;          /* of VdClinicInfo* */
  char      *device_id;        /* the device id this sign-in used */
  char      *device_secret;    /* issued by this sign-in (a device id new to the server):
                                * keep it (vd_device_secret_store) and send it at every
                                * later sign-in with device_id; NULL when none was issued */
} VdLoginResult;

void           vd_login_result_free   (VdLoginResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdLoginResult, vd_login_result_free)

/* The server's certificate fingerprint as a person reads it ("AA:BB:…", SHA-256), or
 * NULL with VD_SESSION_ERROR_UNREACHABLE. Used before login when the certificate is not
 * trusted by system CAs, so the user can confirm it. */
void           vd_session_probe_async  (const char          *server_url,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
char          *vd_session_probe_finish (GAsyncResult        *result,
                                        gboolean            *out_trusted_by_ca,
                                        GError             **error);

/* POST /v1/auth/login. fingerprint: the pinned one (or NULL for system CAs).
 * device_secret: the secret an earlier sign-in with device_id was given (ARCHITECTURE §6),
 * NULL when none; a server that knows the device id refuses the sign-in without it
 * (VD_SESSION_ERROR_DEVICE_REFUSED). */
void           vd_session_login_async  (const char          *server_url,
                                        const char          *fingerprint,
                                        const char          *username,
                                        const char          *password,
                                        const char          *device_id,
                                        const char          *device_secret,
                                        const char          *device_name,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
VdLoginResult *vd_session_login_finish (GAsyncResult        *result,
                                        GError             **error);

/* The account of this computer between runs (GKeyFile in $XDG_CONFIG_HOME/vetdesk/):
 * server, fingerprint, username, user id, chosen clinic. No secrets. */
typedef struct
{
  char *server_url;
  char *fingerprint;
  char *username;
  char *user_id;
  char *tenant_id;
  char *device_id;
} VdAccount;

void           vd_account_free         (VdAccount     *account);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdAccount, vd_account_free)
VdAccount     *vd_account_load         (GError       **error);   /* NULL, no error: none */
gboolean       vd_account_save         (const VdAccount *account,
                                        GError       **error);
gboolean       vd_account_forget       (GError       **error);

/* The refresh token in the Secret Service (libsecret, schema "org.vetdesk.VetDesk.Session",
 * attributes server + username). Synchronous variants run in a thread for tests. */
gboolean       vd_credentials_store    (const char   *server_url,
                                        const char   *username,
                                        const char   *refresh_token,
                                        GError      **error);
char          *vd_credentials_lookup   (const char   *server_url,
                                        const char   *username,
                                        GError      **error);
gboolean       vd_credentials_clear    (const char   *server_url,
                                        const char   *username,
                                        GError      **error);

/* The device secret (ARCHITECTURE §6) in the Secret Service, beside the refresh token
 * (schema "org.vetdesk.VetDesk.Device", attributes server + device-id): every person
 * signing in at this computer with that device id sends it. lookup: NULL without error
 * when none is kept. */
gboolean       vd_device_secret_store  (const char   *server_url,
                                        const char   *device_id,
                                        const char   *secret,
                                        GError      **error);
char          *vd_device_secret_lookup (const char   *server_url,
                                        const char   *device_id,
                                        GError      **error);
gboolean       vd_device_secret_clear  (const char   *server_url,
                                        const char   *device_id,
                                        GError      **error);
/* Keeps the device secret a sign-in was given (result->device_secret) for its server and
 * device id, so the next sign-in there sends it; TRUE with nothing to do when none was
 * given. */
gboolean       vd_login_result_keep_device_secret (const VdLoginResult *result,
                                                   GError             **error);

G_END_DECLS
