/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-search.h — the desk's global search over clients, pets, phone numbers and
 * microchips: an FTS5 index kept in step with the replica by triggers, and its query. */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

#define VD_SEARCH_ERROR (vd_search_error_quark ())

typedef enum
{
  VD_SEARCH_ERROR_FAILED,
} VdSearchError;

GQuark vd_search_error_quark (void);

typedef enum
{
  VD_SEARCH_CLIENT,
  VD_SEARCH_PET,
} VdSearchKind;

typedef struct
{
  VdSearchKind  kind;
  char         *id;
  char         *title;      /* "Pérez García, Ana" or the pet's name */
  char         *subtitle;   /* "+34 612 345 678 · ana@example.com" or "Beagle · Pérez García, Ana" */
  double        rank;       /* bm25 within its kind: lower is better */
  char         *species;    /* a pet's species code ("dog"), or NULL: shown translated first */
} VdSearchResult;

void vd_search_result_free (VdSearchResult *result);

/* Creates the index and its triggers on clients and pets when missing (or when an older
 * layout is found), and fills it from the rows already there, in one transaction (a
 * savepoint when the caller has one open). Idempotent and cheap once installed. The
 * cell-store tables must exist. From then on every write to clients or pets, on any
 * connection, keeps the index in step with no code in the writer. */
gboolean vd_search_install (sqlite3  *db,
                            GError  **error);

/* A search bound to one connection, holding its prepared statements: what a search
 * entry keeps for typing (one per connection, used on that connection's thread). Fails
 * when the index is not installed. */
typedef struct _VdSearch VdSearch;

VdSearch  *vd_search_new   (sqlite3      *db,
                            GError      **error);
void       vd_search_free  (VdSearch     *self);

/* The clients, then the pets, of tenant_id matching every word of text as a prefix,
 * accents and case ignored; at most limit_per_kind of each, best first (bm25). Words of
 * 3 digits or more, and a text made only of digits and phone punctuation, also match
 * phone numbers anywhere (digits only) and microchips by prefix. The text is never
 * handed to FTS5 as syntax: quotes, operators and column filters are plain words. An
 * empty text gives an empty array. Returns VdSearchResult*s (free func set). */
GPtrArray *vd_search_run   (VdSearch     *self,
                            const char   *tenant_id,
                            const char   *text,
                            guint         limit_per_kind,
                            GError      **error);

/* vd_search_run with statements prepared for this call only. */
GPtrArray *vd_search_query (sqlite3      *db,
                            const char   *tenant_id,
                            const char   *text,
                            guint         limit_per_kind,
                            GError      **error);

/* The FTS5 query vd_search_run gives a kind's index for text, or NULL when text has no
 * word; exposed so tests can check that it never carries the user's syntax. */
char      *vd_search_build_match (const char   *text,
                                  VdSearchKind  kind);

/* The same matching for lists the index does not hold (staff, a picker's loaded rows):
 * the words of text split and folded as the index folds them (case and accents away),
 * NULL-terminated; then whether every query word is a prefix of some text word, as
 * vd_search_run's words match (an empty query matches nothing). */
char     **vd_search_fold_words  (const char          *text);
gboolean   vd_search_words_match (const char * const  *query,
                                  const char * const  *text);

/* ---- duplicates ---- */

typedef enum
{
  VD_DUPLICATE_PHONE = 1 << 0,   /* the same phone digits (6 or more; a country code aside) */
  VD_DUPLICATE_EMAIL = 1 << 1,   /* the same address, case aside */
  VD_DUPLICATE_NAME  = 1 << 2,   /* the same first and last name, case and accents aside */
} VdDuplicateReason;

typedef struct
{
  char             *id;
  char             *title;   /* "Last, First" as the search shows it */
  char             *phone;
  char             *email;
  VdDuplicateReason reasons;
} VdDuplicate;

void       vd_duplicate_free (VdDuplicate *duplicate);

/* The live clients of tenant_id that look like the one about to be added (any field may be
 * NULL or empty, and then matches nothing), names first; an empty array when none. */
GPtrArray *vd_search_find_duplicates (sqlite3     *db,
                                      const char  *tenant_id,
                                      const char  *first_name,
                                      const char  *last_name,
                                      const char  *email,
                                      const char  *phone,
                                      GError     **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdDuplicate, vd_duplicate_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdSearch, vd_search_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VdSearchResult, vd_search_result_free)

G_END_DECLS
