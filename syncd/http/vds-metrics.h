/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-metrics.h — syncd's counters and histograms in memory, rendered in the Prometheus
 * text exposition format (version 0.0.4) for /metrics. Thread-safe. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _VdsMetrics VdsMetrics;

VdsMetrics *vds_metrics_new              (void);
void        vds_metrics_free             (VdsMetrics  *self);

/* route: a fixed name ("push", "pull"…), never a path (ids would explode the series). */
void        vds_metrics_observe_request  (VdsMetrics  *self,
                                          const char  *route,
                                          guint        status,
                                          double       seconds);
/* One push that committed (a replay is not counted): its merged changes and the codes of
 * its refused ones (GPtrArray of VdRejection, may be NULL). */
void        vds_metrics_count_push       (VdsMetrics  *self,
                                          guint        merged,
                                          GPtrArray   *rejected);
/* One snapshot of the admin listing read, and how long it took. */
void        vds_metrics_count_listing_build (VdsMetrics *self,
                                             double      seconds);
void        vds_metrics_add_streams      (VdsMetrics  *self,
                                          gint         delta);
gint64      vds_metrics_get_streams      (VdsMetrics  *self);

/* The whole exposition; the gauges read from elsewhere are passed in. */
char       *vds_metrics_render           (VdsMetrics  *self,
                                          gint64       open_conflicts,
                                          guint        pool_in_use,
                                          guint        pool_size);

#define VDS_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

G_END_DECLS
