/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-search-popover.h — the global search (Ctrl+K): a search entry over the clinic's
 * clients and pets (names, phone numbers, microchips), results grouped by kind. */
#pragma once

#include <gtk/gtk.h>
#include "vd-store.h"

G_BEGIN_DECLS

#define VD_TYPE_SEARCH_POPOVER (vd_search_popover_get_type ())
G_DECLARE_FINAL_TYPE (VdSearchPopover, vd_search_popover, VD, SEARCH_POPOVER, GtkPopover)

/* Signals:
 *   ::result-activated (const char *kind, const char *id) — kind is "client" or "pet";
 *     emitted before the popover closes and activates win.show-client / win.show-pet. */

GtkWidget   *vd_search_popover_new              (void);
/* The store searched (NULL: nothing to search). */
void         vd_search_popover_set_store        (VdSearchPopover *self,
                                                 VdStore         *store);
GtkEditable *vd_search_popover_get_entry        (VdSearchPopover *self);

/* What tests look at: the results shown now, and how long the last query took on the
 * main thread (microseconds). */
guint        vd_search_popover_get_n_results    (VdSearchPopover *self);
const char  *vd_search_popover_get_result_title (VdSearchPopover *self,
                                                 guint            index);
/* The line under the title, as shown: a pet's starts with its species, translated. */
const char  *vd_search_popover_get_result_subtitle (VdSearchPopover *self,
                                                    guint            index);
const char  *vd_search_popover_get_result_id    (VdSearchPopover *self,
                                                 guint            index);
const char  *vd_search_popover_get_selected_id  (VdSearchPopover *self);
gint64       vd_search_popover_get_last_search_us (VdSearchPopover *self);

G_END_DECLS
