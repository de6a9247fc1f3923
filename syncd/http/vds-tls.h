/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-tls.h — syncd's TLS certificate: a self-signed one made on first start in the data
 * directory (ECDSA P-256, ten years), and the SHA-256 fingerprint people confirm once. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Makes data_dir/tls-cert.pem and data_dir/tls-key.pem (key 0600) unless both exist, and
 * returns their paths. *out_created tells whether they are new. */
gboolean         vds_tls_ensure_self_signed (const char  *data_dir,
                                             char       **out_cert_path,
                                             char       **out_key_path,
                                             gboolean    *out_created,
                                             GError     **error);
/* Loads a PEM certificate (chain) and its key. */
GTlsCertificate *vds_tls_load               (const char  *cert_path,
                                             const char  *key_path,
                                             GError     **error);
/* SHA-256 of the DER certificate as colon-separated uppercase hex ("AB:01:…"). */
char            *vds_tls_fingerprint        (GTlsCertificate *certificate);

G_END_DECLS
