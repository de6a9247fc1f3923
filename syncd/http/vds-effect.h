/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-effect.h — what a handled request leaves for the main thread to do once its worker
 * is done: tell a clinic's streams that its sequence moved (the NOTIFY of this process),
 * close a revoked device's streams, close the streams of ended sessions. A handler adds
 * records to its request's list; the server runs the list in one place, in order. */
#pragma once

#include <glib.h>
#include "vds-streams.h"

G_BEGIN_DECLS

typedef enum
{
  VDS_EFFECT_NOTIFY,           /* tenant_id's sequence is now seq */
  VDS_EFFECT_REVOKE_DEVICE,    /* close tenant_id's streams of device_id (4003) */
  VDS_EFFECT_REVOKE_SESSIONS,  /* close the streams of session_ids (4003) */
} VdsEffectKind;

typedef struct
{
  VdsEffectKind  kind;
  char          *tenant_id;
  char          *device_id;
  char         **session_ids;
  gint64         seq;
} VdsEffect;

void       vds_effect_free               (VdsEffect   *effect);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdsEffect, vds_effect_free)

/* Each appends one record to *effects, making the array (of VdsEffect, freed with it)
 * when it is NULL. */
void       vds_effects_add_notify        (GPtrArray  **effects,
                                          const char  *tenant_id,
                                          gint64       seq);
void       vds_effects_add_revoke_device (GPtrArray  **effects,
                                          const char  *tenant_id,
                                          const char  *device_id);
/* Takes session_ids (a NULL-terminated array, NULL or empty: nothing is added). */
void       vds_effects_add_revoke_sessions (GPtrArray  **effects,
                                            char       **session_ids);
/* Main thread: runs effects (may be NULL) in the order they were added. */
void       vds_effects_run               (GPtrArray   *effects,
                                          VdsStreams  *streams);

G_END_DECLS
