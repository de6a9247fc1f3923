/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-breeds.h — the breeds and coat colours the pet form offers as completion: a static
 * list per species, in English, shown in the desk's language. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  VD_BREED_LIST_BREEDS,
  VD_BREED_LIST_COLOURS,
} VdBreedList;

/* The suggestions of list for species ("dog", "cat"; any other has no breeds, and the
 * colours of dogs) whose words start with the words typed, accents and case aside, in
 * the desk's language, at most limit; NULL-terminated, an empty vector when none. The
 * text is only a suggestion: the field keeps whatever is typed. */
char **vd_breeds_complete (const char  *species,
                           VdBreedList  list,
                           const char  *typed,
                           guint        limit);

G_END_DECLS
