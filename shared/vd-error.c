/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-error.c — the shared error domain and its wire names. */
#define G_LOG_DOMAIN "vdshared"

#include "config.h"

#include <string.h>

#include "vd-error.h"

G_DEFINE_QUARK (vd-error-quark, vd_error)

static const struct
{
  const char *name;
  guint       status;
} codes[VD_N_ERROR_CODES] = {
  [VD_ERROR_BAD_REQUEST]          = { "bad_request", 400 },
  [VD_ERROR_UNAUTHORIZED]         = { "unauthorized", 401 },
  [VD_ERROR_FORBIDDEN]            = { "forbidden", 403 },
  [VD_ERROR_NOT_FOUND]            = { "not_found", 404 },
  [VD_ERROR_PAYLOAD_TOO_LARGE]    = { "payload_too_large", 413 },
  [VD_ERROR_INVALID_CHANGE]       = { "invalid_change", 422 },
  [VD_ERROR_RATE_LIMITED]         = { "rate_limited", 429 },
  [VD_ERROR_CLOCK_SKEW]           = { "clock_skew", 409 },
  [VD_ERROR_UNSUPPORTED_PROTOCOL] = { "unsupported_protocol", 400 },
  [VD_ERROR_UNAVAILABLE]          = { "unavailable", 503 },
  [VD_ERROR_INTERNAL]             = { "internal", 500 },
};

const char *
vd_error_code_to_string (VdErrorCode code)
{
  g_return_val_if_fail ((guint) code < VD_N_ERROR_CODES, "internal");

  return codes[code].name;
}

gboolean
vd_error_code_from_string (const char  *str,
                           VdErrorCode *out_code)
{
  g_return_val_if_fail (out_code != NULL, FALSE);

  if (str == NULL)
    return FALSE;

  for (guint i = 0; i < VD_N_ERROR_CODES; i++)
    if (strcmp (codes[i].name, str) == 0)
      {
        *out_code = (VdErrorCode) i;
        return TRUE;
      }

  return FALSE;
}

guint
vd_error_code_http_status (VdErrorCode code)
{
  g_return_val_if_fail ((guint) code < VD_N_ERROR_CODES, 500);

  return codes[code].status;
}
