/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-session-private.h — what the session and the sync engine share about talking to
 * vetdesk-syncd: the HTTP session, certificate pinning, and reading error answers. */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define VD_USER_AGENT "VetDesk/" PACKAGE_VERSION

/* "AA:BB:…": SHA-256 of the certificate's DER, uppercase hex, colon-separated. */
char        *vd_tls_fingerprint        (GTlsCertificate *certificate);

/* A session for one server. With a pinned fingerprint no CA database is used, so every
 * certificate goes through vd_pin_message's check; without, the system CAs decide. */
SoupSession *vd_http_session_new       (const char      *pinned_fingerprint);

/* What a message saw of the server's certificate. */
typedef struct
{
  char     *pinned;       /* the expected fingerprint, or NULL */
  char     *seen;         /* the fingerprint offered, when the check ran */
  gboolean  mismatch;     /* pinned and different: the certificate changed */
  gboolean  untrusted;    /* no pin and no CA vouched for it */
} VdPinCheck;

/* Connects accept-certificate on msg; check must outlive the message's sending. */
void         vd_pin_message            (SoupMessage     *msg,
                                        VdPinCheck      *check);
void         vd_pin_check_clear        (VdPinCheck      *check);

/* The "message" of a protocol error answer, or NULL. out_code (may be NULL) gets its
 * "code". */
char        *vd_http_error_text        (GBytes          *body,
                                        char           **out_code);
/* The Retry-After seconds of a response (fallback when missing or not a number). */
guint        vd_http_retry_after       (SoupMessage     *msg,
                                        guint            fallback);
/* A transport failure that means "no connection" (refused, unreachable, timed out, no
 * name resolution), as opposed to TLS or protocol trouble. */
gboolean     vd_http_error_is_offline  (const GError    *error);

/* "https://host:port" + path (path starts with '/'); the base's trailing '/' dropped. */
char        *vd_http_url               (const char      *server_url,
                                        const char      *path);

G_END_DECLS
