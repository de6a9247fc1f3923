/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-sync-indicator.h — the header bar's view of the sync engine: spinner while syncing,
 * a state icon and a short state ("Synced", "Offline · 3"); its popover has the sentences
 * ("Synced 2 minutes ago · 3 changes waiting") and Sync Now. */
#pragma once

#include <gtk/gtk.h>
#include "vd-sync-engine.h"

G_BEGIN_DECLS

#define VD_TYPE_SYNC_INDICATOR (vd_sync_indicator_get_type ())
G_DECLARE_FINAL_TYPE (VdSyncIndicator, vd_sync_indicator, VD, SYNC_INDICATOR, GtkWidget)

VdSyncEngine *vd_sync_indicator_get_engine (VdSyncIndicator *self);
void          vd_sync_indicator_set_engine (VdSyncIndicator *self,
                                            VdSyncEngine    *engine);
/* The state's sentence ("Synced 2 minutes ago · 3 changes waiting"), at the top of the
 * popover and the widget's accessible label. */
const char   *vd_sync_indicator_get_text   (VdSyncIndicator *self);
/* What the header shows: one or two words and the changes waiting ("Offline · 3"). */
const char   *vd_sync_indicator_get_short_text (VdSyncIndicator *self);

/* "Synced just now", "Synced 2 minutes ago", … for a last sync at last_sync (Unix
 * seconds, 0 = never) seen at now. */
char         *vd_sync_describe_last_sync   (gint64           last_sync,
                                            gint64           now);

G_END_DECLS
