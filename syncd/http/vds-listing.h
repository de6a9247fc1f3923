/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-listing.h — the admin listing of clinics (GET /v1/admin/tenants): one snapshot of
 * every clinic's figures, shared by all the admins of this process for a short while and
 * encoded once, so that a platform of 10,000 clinics answers in milliseconds. */
#pragma once

#include <glib.h>
#include "vds-activity.h"
#include "vds-metrics.h"
#include "vds-store.h"

G_BEGIN_DECLS

typedef struct _VdsListing VdsListing;

/* max_age_ms: how long a snapshot may be served; while an admin has looked in the last
 * 30 s a thread builds the next one before that, so listings do not wait for the
 * database. 0: a build for every request, no thread. activity (may be NULL) is flushed
 * before a build, so this process's own counts are in it; builds are counted in metrics
 * (may be NULL). */
VdsListing *vds_listing_new   (VdsStore       *store,
                               VdsActivityLog *activity,
                               VdsMetrics     *metrics,
                               guint           max_age_ms);
void        vds_listing_free  (VdsListing     *self);

/* Any thread. The listing as JSON, {"tenants":[…]}: company_ids NULL = every clinic
 * (platform admin), else only those companies' clinics (an empty vector: none). With gzip
 * the bytes are the gzip-compressed JSON. NULL with error when the store fails. */
GBytes     *vds_listing_get   (VdsListing         *self,
                               const char * const *company_ids,
                               gboolean            gzip,
                               GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdsListing, vds_listing_free)

G_END_DECLS
