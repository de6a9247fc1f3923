/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-error.h — the error domain shared by client and daemon; its codes are the
 * protocol's error codes (ARCHITECTURE §5). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VD_ERROR (vd_error_quark ())

typedef enum
{
  VD_ERROR_BAD_REQUEST,
  VD_ERROR_UNAUTHORIZED,
  VD_ERROR_FORBIDDEN,
  VD_ERROR_NOT_FOUND,
  VD_ERROR_PAYLOAD_TOO_LARGE,
  VD_ERROR_INVALID_CHANGE,
  VD_ERROR_RATE_LIMITED,
  VD_ERROR_CLOCK_SKEW,
  VD_ERROR_UNSUPPORTED_PROTOCOL,
  VD_ERROR_UNAVAILABLE,
  VD_ERROR_INTERNAL,
} VdErrorCode;

#define VD_N_ERROR_CODES (VD_ERROR_INTERNAL + 1)

GQuark       vd_error_quark            (void);
/* "bad_request", "unauthorized", ... as on the wire. */
const char  *vd_error_code_to_string   (VdErrorCode  code);
/* Returns FALSE for an unknown string. */
gboolean     vd_error_code_from_string (const char  *str,
                                        VdErrorCode *out_code);
/* The HTTP status the protocol answers with for this code (400, 401, 403, 404, 413, 422,
 * 429, 409, 400, 503, 500). */
guint        vd_error_code_http_status (VdErrorCode  code);

G_END_DECLS
