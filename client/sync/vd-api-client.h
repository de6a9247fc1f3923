/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-api-client.h — the desk's one authenticated line to vetdesk-syncd: the libsoup
 * session, the pinned certificate, the bearer token and one serialised token refresh,
 * shared by everything that talks to the server (sync rounds, the stream, the monitor). */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "vd-session-private.h"

G_BEGIN_DECLS

#define VD_TYPE_API_CLIENT (vd_api_client_get_type ())
G_DECLARE_FINAL_TYPE (VdApiClient, vd_api_client, VD, API_CLIENT, GObject)

/* fingerprint: the server certificate's pinned SHA-256, or NULL for the system CAs. */
VdApiClient *vd_api_client_new            (const char   *server_url,
                                           const char   *fingerprint);

const char  *vd_api_client_get_server_url (VdApiClient  *self);
const char  *vd_api_client_get_fingerprint (VdApiClient *self);
SoupSession *vd_api_client_get_session    (VdApiClient  *self);

/* Tokens: either may be NULL (no access token yet: a refresh makes one). */
void         vd_api_client_set_tokens     (VdApiClient  *self,
                                           const char   *access_token,
                                           const char   *refresh_token);
const char  *vd_api_client_get_access_token (VdApiClient *self);
gboolean     vd_api_client_has_refresh_token (VdApiClient *self);
/* A refresh is under way. */
gboolean     vd_api_client_is_refreshing  (VdApiClient  *self);
/* The access token ran out (a 401 or a stream closed with 4001): the next call refreshes. */
void         vd_api_client_forget_access_token (VdApiClient *self);
/* Signed out: both tokens are forgotten (and wiped from memory). */
void         vd_api_client_clear_tokens   (VdApiClient  *self);

/* A message to path on the server: Accept JSON, the bearer token when authorized (and
 * one is held), body as JSON when not NULL, and check connected for the certificate. The
 * check's pin is the client's when it has none yet; what it saw is reset. check must
 * outlive the message's sending. NULL when the server address makes no URL. */
SoupMessage *vd_api_client_new_message    (VdApiClient  *self,
                                           const char   *method,
                                           const char   *path,
                                           GBytes       *body,
                                           gboolean      authorized,
                                           VdPinCheck   *check);

/* Renews the tokens with the refresh token. One refresh runs at a time: a call made
 * while one is under way gets its outcome. A refresh is never cancelled (a spent refresh
 * token whose answer is lost ends the session); on success the new tokens are kept and
 * ::refresh-token-changed is emitted before any caller hears of it. A refresh the server
 * refused with 401 forgets both tokens. */
void         vd_api_client_refresh_async  (VdApiClient         *self,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
/* On failure: error, and what the caller needs to explain it. out_msg (may be NULL) gets
 * the refresh message (its status 0 when no answer came), out_body (may be NULL) the
 * answer's body or NULL when none came, out_check (may be NULL) what the certificate
 * check saw (cleared first). An answer that was 200 but carried no tokens gives
 * VD_ERROR_INTERNAL with its body. */
gboolean     vd_api_client_refresh_finish (VdApiClient         *self,
                                           GAsyncResult        *result,
                                           SoupMessage        **out_msg,
                                           GBytes             **out_body,
                                           VdPinCheck          *out_check,
                                           GError             **error);

G_END_DECLS
