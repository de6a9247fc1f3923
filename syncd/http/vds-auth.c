/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-auth.c — argon2id password hashes and opaque tokens with libsodium. Everything here
 * is thread-safe: logins verify passwords in worker threads. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <sodium.h>
#include <string.h>

#include "vds-auth.h"
#include "vds-resources.h"
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

/* The shipped list of common passwords (data/common-passwords.txt, compiled in), as a
 * set of lowercase lines; comment lines start with '#'. */
static gpointer
load_common_passwords (gpointer data)
{
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;
  const char *raw;

  bytes = g_resource_lookup_data (vds_get_resource (),
                                  "/org/vetdesk/syncd/common-passwords.txt",
                                  G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  if (bytes == NULL)
    return set;
  raw = g_bytes_get_data (bytes, &len);
  text = g_strndup (raw, len);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);

      if (line[0] != '\0' && line[0] != '#')
        g_hash_table_add (set, g_utf8_strdown (line, -1));
    }
  return set;
}

static gboolean
is_common (const char *password)
{
  static GOnce once = G_ONCE_INIT;
  GHashTable *set = g_once (&once, load_common_passwords, NULL);
  g_autofree char *lower = g_utf8_strdown (password, -1);
  const char *start = lower;
  const char *end;
  g_autofree char *core = NULL;

  if (g_hash_table_contains (set, lower))
    return TRUE;
  /* A common word with digits, signs or spaces around it ("Password2024!") is as weak. */
  while (*start != '\0' && !g_ascii_isalpha (*start) && !((guchar) *start & 0x80))
    start++;
  end = start + strlen (start);
  while (end > start && !g_ascii_isalpha (end[-1]) && !((guchar) end[-1] & 0x80))
    end--;
  if (end == start)
    return FALSE;
  core = g_strndup (start, end - start);
  return g_hash_table_contains (set, core);
}

gboolean
vds_auth_check_password (const char  *password,
                         GError     **error)
{
  g_autoptr(GHashTable) distinct = g_hash_table_new (NULL, NULL);
  gboolean blank = TRUE;

  g_return_val_if_fail (password != NULL, FALSE);

  if (!g_utf8_validate (password, -1, NULL))
    {
      g_set_error_literal (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
                           _("The password is not valid UTF-8 text. Type it again."));
      return FALSE;
    }
  if (g_utf8_strlen (password, -1) < VDS_AUTH_MIN_PASSWORD_CHARS)
    {
      g_set_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
                   _("The password is too short: use at least %d characters. A few "
                     "unrelated words make a good one."), VDS_AUTH_MIN_PASSWORD_CHARS);
      return FALSE;
    }
  for (const char *p = password; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!g_unichar_isspace (c))
        blank = FALSE;
      g_hash_table_add (distinct, GUINT_TO_POINTER (c));
    }
  if (blank || g_hash_table_size (distinct) < VDS_AUTH_MIN_DISTINCT_CHARS)
    {
      g_set_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
                   _("The password repeats too few characters (it needs at least %d "
                     "different ones) and would be guessed at once. Choose another, such "
                     "as a few unrelated words."), VDS_AUTH_MIN_DISTINCT_CHARS);
      return FALSE;
    }
  if (is_common (password))
    {
      g_set_error_literal (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
                           _("The password is one of the most common ones, which are "
                             "tried first by anyone guessing. Choose another, such as a "
                             "few unrelated words."));
      return FALSE;
    }
  return TRUE;
}
