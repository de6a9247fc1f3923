/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-activity.h — per-clinic, per-minute activity counters (pushes, pulls, changes,
 * refusals, failures) and the devices' last pulls, gathered in memory and written to the
 * store every few seconds (pulls: every second) by one thread, instead of one more upsert
 * per request. */
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

/* A pull's device report (event VDS_DEVICE_PULLED), kept in memory: the device's newest
 * one is written within about a second (vds_store_report_pulls). Never touches the
 * database. */
void            vds_activity_log_pulled       (VdsActivityLog        *self,
                                               const VdsDeviceReport *report);
/* Writes the device's kept pull report now, if any: call it before writing another report
 * of that device, so the older one cannot land after it. */
void            vds_activity_log_flush_device (VdsActivityLog        *self,
                                               const char            *tenant_id,
                                               const char            *device_id);
/* Writes every kept pull report before returning (an admin reading devices sees this
 * process's pulls at once). */
void            vds_activity_log_flush_pulls  (VdsActivityLog        *self);

G_END_DECLS
