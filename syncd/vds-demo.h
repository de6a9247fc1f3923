/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-demo.h — the `load-demo` subcommand: the seed system's companies, clinics, staff
 * and records (ARCHITECTURE §1), loaded into an empty database for demos and tests. */
#pragma once

#include <glib.h>
#include "vds-store.h"

G_BEGIN_DECLS

/* The password of every demo user; vds_demo_load prints it once, with the user list. */
#define VDS_DEMO_PASSWORD "vetdesk-demo"

/* Loads the demo data set into store. FALSE with a sentence when it cannot (for example
 * because the demo clinics exist already). */
gboolean  vds_demo_load  (VdsStore  *store,
                          GError   **error);

G_END_DECLS
