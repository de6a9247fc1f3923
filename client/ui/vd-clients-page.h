/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-clients-page.h — the Clients section: a list of every client filtered as you type,
 * beside the chosen client's page or one of their pets' pages. */
#pragma once

#include <adwaita.h>
#include "vd-store.h"
#include "vd-client-detail.h"
#include "vd-pet-detail.h"

G_BEGIN_DECLS

#define VD_TYPE_CLIENTS_PAGE (vd_clients_page_get_type ())
G_DECLARE_FINAL_TYPE (VdClientsPage, vd_clients_page, VD, CLIENTS_PAGE, AdwBin)

/* Actions: clients.new (an empty client page), clients.open-client "s", clients.open-pet "s",
 * clients.show-list. */

VdClientsPage  *vd_clients_page_new              (void);
/* NULL to empty the page when the session ends. */
void            vd_clients_page_set_store        (VdClientsPage *self,
                                                  VdStore       *store);
/* What the search entry holds; the list follows at once (tests), or after the entry's
 * short typing delay when a person types. */
void            vd_clients_page_set_filter       (VdClientsPage *self,
                                                  const char    *filter);
/* The clients shown (a GListModel of VdClientItem), in order. */
GListModel     *vd_clients_page_get_list         (VdClientsPage *self);
void            vd_clients_page_open_client      (VdClientsPage *self,
                                                  const char    *client_id);
void            vd_clients_page_open_pet         (VdClientsPage *self,
                                                  const char    *pet_id);
/* Brings the list into view when the page is folded (a narrow window shows the list or a
 * record, not both); side by side, the list is already there. */
void            vd_clients_page_show_list        (VdClientsPage *self);
/* "none", "client" or "pet": what the right side shows. */
const char     *vd_clients_page_get_view         (VdClientsPage *self);
VdClientDetail *vd_clients_page_get_client_detail (VdClientsPage *self);
VdPetDetail    *vd_clients_page_get_pet_detail    (VdClientsPage *self);
/* The list's empty state ("list", "empty" or "no-results"). */
const char     *vd_clients_page_get_list_state   (VdClientsPage *self);

G_END_DECLS
