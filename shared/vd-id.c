/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-id.c — canonical UUID text for row, device and tenant ids. */
#define G_LOG_DOMAIN "vdshared"

#include "config.h"

#include <string.h>

#include "vd-id.h"

static gboolean
is_dash_position (guint i)
{
  return i == 8 || i == 13 || i == 18 || i == 23;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

gboolean
vd_uuid_is_valid (const char *str)
{
  if (str == NULL)
    return FALSE;

  for (guint i = 0; i < VD_UUID_LEN; i++)
    {
      char c = str[i];

      if (is_dash_position (i))
        {
          if (c != '-')
            return FALSE;
        }
      else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
        return FALSE;
    }

  return str[VD_UUID_LEN] == '\0';
}

gboolean
vd_uuid_normalize (const char *str,
                   char        out[VD_UUID_LEN + 1])
{
  if (str == NULL || strlen (str) != VD_UUID_LEN)
    return FALSE;

  for (guint i = 0; i < VD_UUID_LEN; i++)
    {
      if (is_dash_position (i))
        {
          if (str[i] != '-')
            return FALSE;
          out[i] = '-';
        }
      else
        {
          if (hex_value (str[i]) < 0)
            return FALSE;
          /* A hex digit: setting 0x20 lowercases A–F and leaves 0–9 as they are. */
          out[i] = (char) (str[i] | 0x20);
        }
    }
  out[VD_UUID_LEN] = '\0';

  return TRUE;
}

gboolean
vd_uuid_to_bytes (const char *str,
                  guint8      out[16])
{
  guint n = 0;

  if (!vd_uuid_is_valid (str))
    return FALSE;

  for (guint i = 0; i < VD_UUID_LEN; i++)
    {
      if (is_dash_position (i))
        continue;
      out[n / 2] = (n % 2 == 0) ? (hex_value (str[i]) << 4) : (out[n / 2] | hex_value (str[i]));
      n++;
    }

  return TRUE;
}

void
vd_uuid_from_bytes (const guint8 bytes[16],
                    char         out[VD_UUID_LEN + 1])
{
  static const char digits[] = "0123456789abcdef";
  guint n = 0;

  for (guint i = 0; i < VD_UUID_LEN; i++)
    {
      if (is_dash_position (i))
        {
          out[i] = '-';
          continue;
        }
      out[i] = digits[(n % 2 == 0) ? (bytes[n / 2] >> 4) : (bytes[n / 2] & 0xf)];
      n++;
    }
  out[VD_UUID_LEN] = '\0';
}

char *
vd_uuid_new (void)
{
  return g_uuid_string_random ();
}
