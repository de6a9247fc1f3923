/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-effect.c — the effects a handled request leaves for the main thread (NOTIFY to a
 * clinic's streams, closing a revoked device's or ended sessions' streams): the records,
 * and the one place they are run. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-effect.h"

void
vds_effect_free (VdsEffect *effect)
{
  if (effect == NULL)
    return;
  g_free (effect->tenant_id);
  g_free (effect->device_id);
  g_strfreev (effect->session_ids);
  g_free (effect);
}

static VdsEffect *
add (GPtrArray     **effects,
     VdsEffectKind   kind)
{
  VdsEffect *effect = g_new0 (VdsEffect, 1);

  effect->kind = kind;
  if (*effects == NULL)
    *effects = g_ptr_array_new_with_free_func ((GDestroyNotify) vds_effect_free);
  g_ptr_array_add (*effects, effect);
  return effect;
}

void
vds_effects_add_notify (GPtrArray  **effects,
                        const char  *tenant_id,
                        gint64       seq)
{
  VdsEffect *effect = add (effects, VDS_EFFECT_NOTIFY);

  effect->tenant_id = g_strdup (tenant_id);
  effect->seq = seq;
}

void
vds_effects_add_revoke_device (GPtrArray  **effects,
                               const char  *tenant_id,
                               const char  *device_id)
{
  VdsEffect *effect = add (effects, VDS_EFFECT_REVOKE_DEVICE);

  effect->tenant_id = g_strdup (tenant_id);
  effect->device_id = g_strdup (device_id);
}

void
vds_effects_add_revoke_sessions (GPtrArray  **effects,
                                 char       **session_ids)
{
  if (session_ids == NULL || session_ids[0] == NULL)
    {
      g_strfreev (session_ids);
      return;
    }
  add (effects, VDS_EFFECT_REVOKE_SESSIONS)->session_ids = session_ids;
}

void
vds_effects_run (GPtrArray  *effects,
                 VdsStreams *streams)
{
  if (effects == NULL)
    return;
  for (guint i = 0; i < effects->len; i++)
    {
      const VdsEffect *effect = g_ptr_array_index (effects, i);

      switch (effect->kind)
        {
        case VDS_EFFECT_NOTIFY:
          vds_streams_notify (streams, effect->tenant_id, effect->seq);
          break;
        case VDS_EFFECT_REVOKE_DEVICE:
          vds_streams_revoke_device (streams, effect->tenant_id, effect->device_id);
          break;
        case VDS_EFFECT_REVOKE_SESSIONS:
          vds_streams_revoke_sessions (streams, (const char * const *) effect->session_ids);
          break;
        default:
          g_assert_not_reached ();
        }
    }
}
