/* vds-activity.h — per-clinic, per-minute activity counters (pushes, pulls, changes,
 * refusals, failures) gathered in memory and written to the store every few seconds by
 * one thread, instead of one more upsert per request. */
#pragma once

#include <glib.h>

#include "vds-store.h"

G_BEGIN_DECLS

typedef struct _VdsActivityLog VdsActivityLog;

/* Starts the flushing thread; interval_s between flushes (at least 1). */
VdsActivityLog *vds_activity_log_new   (VdsStore       *store,
                                        guint           interval_s);
/* Flushes what is left and stops the thread. */
void            vds_activity_log_free  (VdsActivityLog *self);
/* Thread-safe; never touches the database. now: Unix seconds. */
void            vds_activity_log_add   (VdsActivityLog *self,
                                        const char     *tenant_id,
                                        gint64          now,
                                        gint64          pushes,
                                        gint64          pulls,
                                        gint64          changes,
                                        gint64          rejected,
                                        gint64          errors);
/* Writes everything counted so far before returning (an admin reading activity sees its
 * own process's counts at once). */
void            vds_activity_log_flush (VdsActivityLog *self);

G_END_DECLS
