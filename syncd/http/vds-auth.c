/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-auth.c — argon2id password hashes and opaque tokens with libsodium. Everything here
 * is thread-safe: logins verify passwords in worker threads. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <sodium.h>
#include <string.h>

#include "vds-auth.h"
#include "vd-error.h"

gboolean
vds_auth_init (GError **error)
{
  if (sodium_init () < 0)
    {
      g_set_error_literal (error, VD_ERROR, VD_ERROR_INTERNAL,
                           _("The cryptography library could not be initialised."));
      return FALSE;
    }
  return TRUE;
}

char *
vds_auth_hash_password (const char  *password,
                        GError     **error)
{
  char out[crypto_pwhash_STRBYTES];

  g_return_val_if_fail (password != NULL, NULL);

  if (crypto_pwhash_str_alg (out, password, strlen (password),
                             VDS_AUTH_OPSLIMIT, VDS_AUTH_MEMLIMIT,
                             crypto_pwhash_ALG_ARGON2ID13) != 0)
    {
      g_set_error_literal (error, VD_ERROR, VD_ERROR_INTERNAL,
                           _("There is not enough memory to hash the password."));
      return NULL;
    }
  return g_strdup (out);
}

gboolean
vds_auth_verify_password (const char *hash,
                          const char *password)
{
  g_return_val_if_fail (hash != NULL, FALSE);
  g_return_val_if_fail (password != NULL, FALSE);

  return crypto_pwhash_str_verify (hash, password, strlen (password)) == 0;
}

/* Made once, from random bytes nobody keeps, with the same cost as real hashes. */
static gpointer
make_dummy_hash (gpointer data)
{
  char secret[33];
  char *hash;

  randombytes_buf (secret, 32);
  for (guint i = 0; i < 32; i++)
    secret[i] = 'a' + ((guchar) secret[i] % 26);
  secret[32] = '\0';
  hash = vds_auth_hash_password (secret, NULL);
  sodium_memzero (secret, sizeof secret);
  return hash;
}

void
vds_auth_dummy_verify (const char *password)
{
  static GOnce once = G_ONCE_INIT;
  const char *hash;

  hash = g_once (&once, make_dummy_hash, NULL);
  if (hash != NULL && password != NULL)
    (void) vds_auth_verify_password (hash, password);
}

char *
vds_auth_new_token (void)
{
  guchar raw[32];
  char out[sodium_base64_ENCODED_LEN (32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

  randombytes_buf (raw, sizeof raw);
  sodium_bin2base64 (out, sizeof out, raw, sizeof raw,
                     sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero (raw, sizeof raw);
  return g_strdup (out);
}

char *
vds_auth_token_hash (const char *token)
{
  g_return_val_if_fail (token != NULL, NULL);

  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);
}
