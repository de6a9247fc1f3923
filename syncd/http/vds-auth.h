/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-auth.h — password hashing (argon2id through libsodium) and opaque tokens: 256
 * random bits for the client, only their SHA-256 for the database (ARCHITECTURE §6). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* argon2id cost, §6: at least 19 MiB and two passes. */
#define VDS_AUTH_OPSLIMIT 2
#define VDS_AUTH_MEMLIMIT (19 * 1024 * 1024)

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
