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

/* TLS 1.2 and 1.3 only (ARCHITECTURE §5): sets glib-networking's GnuTLS priority string,
 * unless the operator set one, before the first TLS connection is made. Call it first
 * thing in main, while the process has one thread. */
#define VDS_TLS_PRIORITY "NORMAL:-VERS-TLS1.1:-VERS-TLS1.0"
void             vds_tls_restrict_versions  (void);

G_END_DECLS
