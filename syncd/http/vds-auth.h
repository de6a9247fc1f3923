/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-auth.h — password hashing (argon2id through libsodium) and opaque tokens: 256
 * random bits for the client, only their SHA-256 for the database (ARCHITECTURE §6). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* argon2id cost, §6: at least 19 MiB and two passes. */
#define VDS_AUTH_OPSLIMIT 2
#define VDS_AUTH_MEMLIMIT (19 * 1024 * 1024)

/* A password anyone may set (issue #16, item 9): at least VDS_AUTH_MIN_PASSWORD_CHARS
 * characters of UTF-8, not only spaces, at least VDS_AUTH_MIN_DISTINCT_CHARS different
 * characters, and neither one of the common passwords shipped in
 * data/common-passwords.txt nor one of them with digits, signs or spaces around it
 * (case ignored). Else FALSE with a sentence saying what to do. */
#define VDS_AUTH_MIN_PASSWORD_CHARS 10
#define VDS_AUTH_MIN_DISTINCT_CHARS 4
gboolean  vds_auth_check_password  (const char  *password,
                                    GError     **error);

/* Initialises libsodium; call once before anything below. */
gboolean  vds_auth_init            (GError     **error);
/* A crypto_pwhash_str string (argon2id), or NULL with an error (out of memory). */
char     *vds_auth_hash_password   (const char  *password,
                                    GError     **error);
/* TRUE when password matches hash. Costs one full hash either way. */
gboolean  vds_auth_verify_password (const char  *hash,
                                    const char  *password);
/* Spends the time of one verification against a hash nobody can match, so that an
 * unknown user costs what a known one does. */
void      vds_auth_dummy_verify    (const char  *password);
/* A new opaque token: 32 random bytes as unpadded base64url (43 characters). */
char     *vds_auth_new_token       (void);
/* Lowercase hex SHA-256 of a token, the only form the database stores. */
char     *vds_auth_token_hash      (const char  *token);

G_END_DECLS
