/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-tls.c — creates syncd's self-signed certificate with GnuTLS and computes the
 * fingerprint clients pin. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/crypto.h>
#include <string.h>
#include <arpa/inet.h>

#include "vds-tls.h"
#include "vd-error.h"

#define TEN_YEARS (10 * 365 * 24 * 3600 + 3 * 24 * 3600)

static gboolean
gnutls_failed (int      rc,
               GError **error)
{
  if (rc >= 0)
    return FALSE;
  g_set_error (error, VD_ERROR, VD_ERROR_INTERNAL,
               _("The TLS certificate could not be created: %s."), gnutls_strerror (rc));
  return TRUE;
}

static gboolean
export_pem (gnutls_datum_t *datum,
            const char     *path,
            int             mode,
            GError        **error)
{
  return g_file_set_contents_full (path, (const char *) datum->data, datum->size,
                                   G_FILE_SET_CONTENTS_CONSISTENT
                                   | G_FILE_SET_CONTENTS_DURABLE,
                                   mode, error);
}

static gboolean
create_self_signed (const char  *cert_path,
                    const char  *key_path,
                    GError     **error)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t key_pem = { NULL, 0 };
  gnutls_datum_t crt_pem = { NULL, 0 };
  guchar serial[16];
  guchar ip4[4], ip6[16];
  const char *host = g_get_host_name ();
  g_autofree char *dn = NULL;
  time_t now = time (NULL);
  gboolean ok = FALSE;

  gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial);
  serial[0] &= 0x7f;   /* a positive serial number */
  inet_pton (AF_INET, "127.0.0.1", ip4);
  inet_pton (AF_INET6, "::1", ip6);
  dn = g_strdup_printf ("CN=%s,O=VetDesk sync server", host);

  if (gnutls_failed (gnutls_x509_privkey_init (&key), error)
      || gnutls_failed (gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                                      GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                                                      0), error)
      || gnutls_failed (gnutls_x509_crt_init (&crt), error)
      || gnutls_failed (gnutls_x509_crt_set_version (crt, 3), error)
      || gnutls_failed (gnutls_x509_crt_set_serial (crt, serial, sizeof serial), error)
      || gnutls_failed (gnutls_x509_crt_set_activation_time (crt, now - 3600), error)
      || gnutls_failed (gnutls_x509_crt_set_expiration_time (crt, now + TEN_YEARS), error)
      || gnutls_failed (gnutls_x509_crt_set_dn (crt, dn, NULL), error)
      || gnutls_failed (gnutls_x509_crt_set_key (crt, key), error)
      || gnutls_failed (gnutls_x509_crt_set_basic_constraints (crt, 0, -1), error)
      || gnutls_failed (gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE), error)
      || gnutls_failed (gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0), error)
      || gnutls_failed (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, "localhost",
                                                              strlen ("localhost"), GNUTLS_FSAN_APPEND), error)
      || gnutls_failed (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS, ip4,
                                                              sizeof ip4, GNUTLS_FSAN_APPEND), error)
      || gnutls_failed (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS, ip6,
                                                              sizeof ip6, GNUTLS_FSAN_APPEND), error))
    goto out;

  if (g_strcmp0 (host, "localhost") != 0
      && gnutls_failed (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, host,
                                                              strlen (host), GNUTLS_FSAN_APPEND), error))
    goto out;

  if (gnutls_failed (gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0), error)
      || gnutls_failed (gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                                           GNUTLS_PKCS_PLAIN, &key_pem), error)
      || gnutls_failed (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &crt_pem), error))
    goto out;

  /* The key first: a certificate without its key would be reused and fail to load. */
  ok = export_pem (&key_pem, key_path, 0600, error)
       && export_pem (&crt_pem, cert_path, 0644, error);

out:
  if (key_pem.data != NULL)
    {
      gnutls_memset (key_pem.data, 0, key_pem.size);
      gnutls_free (key_pem.data);
    }
  gnutls_free (crt_pem.data);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  return ok;
}

gboolean
vds_tls_ensure_self_signed (const char  *data_dir,
                            char       **out_cert_path,
                            char       **out_key_path,
                            gboolean    *out_created,
                            GError     **error)
{
  g_autofree char *cert_path = NULL;
  g_autofree char *key_path = NULL;
  gboolean created = FALSE;

  g_return_val_if_fail (data_dir != NULL, FALSE);

  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("The data directory “%s” could not be created: %s."),
                   data_dir, g_strerror (saved));
      return FALSE;
    }

  cert_path = g_build_filename (data_dir, "tls-cert.pem", NULL);
  key_path = g_build_filename (data_dir, "tls-key.pem", NULL);

  if (!g_file_test (cert_path, G_FILE_TEST_EXISTS)
      || !g_file_test (key_path, G_FILE_TEST_EXISTS))
    {
      if (!create_self_signed (cert_path, key_path, error))
        return FALSE;
      created = TRUE;
    }

  if (out_cert_path != NULL)
    *out_cert_path = g_steal_pointer (&cert_path);
  if (out_key_path != NULL)
    *out_key_path = g_steal_pointer (&key_path);
  if (out_created != NULL)
    *out_created = created;
  return TRUE;
}

GTlsCertificate *
vds_tls_load (const char  *cert_path,
              const char  *key_path,
              GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  GTlsCertificate *cert;

  cert = g_tls_certificate_new_from_files (cert_path, key_path, &local_error);
  if (cert == NULL)
    g_set_error (error, VD_ERROR, VD_ERROR_INTERNAL,
                 _("The TLS certificate “%s” or its key “%s” could not be loaded: %s."),
                 cert_path, key_path, local_error->message);
  return cert;
}

char *
vds_tls_fingerprint (GTlsCertificate *certificate)
{
  g_autoptr(GByteArray) der = NULL;
  guint8 digest[32];
  gsize len = sizeof digest;
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  GString *out = g_string_sized_new (96);

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  g_object_get (certificate, "certificate", &der, NULL);
  g_checksum_update (sum, der->data, der->len);
  g_checksum_get_digest (sum, digest, &len);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, i ? ":%02X" : "%02X", digest[i]);
  return g_string_free (out, FALSE);
}

void
vds_tls_restrict_versions (void)
{
  g_setenv ("G_TLS_GNUTLS_PRIORITY", VDS_TLS_PRIORITY, FALSE);
}
