/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-search.c — the desk's global search: FTS5 indexes over clients and pets kept in
 * step by SQL triggers, so user commits and pulled pages feed it alike, and its query. */
#define G_LOG_DOMAIN "vdclient"

#include "config.h"

#include "vd-search.h"

#include <glib/gi18n-lib.h>
#include <string.h>

/*
 * Layout. Each kind has a plain "docs" table (what a result shows, and the text it is
 * found by, already derived: full names, digits-only phone suffixes, the owner's name on
 * a pet) and an FTS5 index over it as external content. The docs tables are why the
 * index is external-content rather than contentless or self-contained:
 *  - FTS5 in SQLite 3.40 can only remove a row from an external-content or contentless
 *    index by being told the exact text it indexed. That text is derived (a pet's entry
 *    holds its owner's name, which the owner's rename has already changed by the time
 *    any trigger runs), so it must be kept somewhere; the docs row is that place, and the
 *    docs table's own delete trigger hands FTS5 exactly what it indexed.
 *  - A self-contained FTS5 table would keep the same text, but could only be reached by
 *    rowid; the source rows have no stable integer key (their rowids are implicit and
 *    VACUUM renumbers them), so the docs table's unique (tenant_id, id) is the lookup.
 *  - Results are shown straight from the docs row (title, subtitle), with no join back
 *    to clients and pets.
 * Clients and pets have an index each rather than one index with a kind column: the
 * results are grouped by kind with a limit per kind, and bm25 is meant within a kind, so
 * each kind's query only ever touches that kind's entries.
 *
 * Triggers on clients and pets (AFTER INSERT / UPDATE / DELETE) rebuild the affected docs
 * rows; the cell store's UPSERT fires the insert or the update ones. A client's rename
 * rebuilds its pets' rows (they carry the owner's name); a client arriving after its
 * pets (a pull can bring them in that order) does the same. Soft-deleted rows (deleted
 * = 1) have no docs row. Everything is plain SQL (no application functions), so a write
 * on any connection, with or without this code loaded, keeps the index right.
 */

#define SEARCH_VERSION "2"

/* Words beyond these are ignored: a person types a few words, and a pasted page must not
 * become a huge query. */
#define MAX_INPUT_BYTES 1024
#define MAX_WORDS       16
#define MAX_WORD_CHARS  64

G_DEFINE_QUARK (vd-search-error-quark, vd_search_error)

void
vd_search_result_free (VdSearchResult *result)
{
  if (result == NULL)
    return;
  g_free (result->id);
  g_free (result->title);
  g_free (result->subtitle);
  g_free (result->species);
  g_free (result);
}

/* ---- SQL of the index -------------------------------------------------------------- */

/* Phone punctuation the registry allows (VD_FORMAT_PHONE), removed to get the digits. */
#define DIGITS(x) \
  "replace(replace(replace(replace(replace(replace(" x ", ' ', ''), '+', ''), '-', ''), " \
  "'(', ''), ')', ''), '.', '')"

/* Every suffix of the phone's digits of 3 digits or more, so that a prefix query finds
 * any run of digits inside the number: "61234" finds "+34 612 345 678" through its
 * suffix "612345678" whatever the country code or spacing. */
#define PHONE_TOKENS(x) \
  "(WITH RECURSIVE s(i, d) AS (SELECT 1, " DIGITS (x) \
  " UNION ALL SELECT i + 1, d FROM s WHERE i < length(d) - 2)" \
  " SELECT group_concat(substr(d, i), ' ') FROM s WHERE length(d) >= 3)"

#define CLIENT_TITLE(c) \
  "CASE WHEN coalesce(" c ".last_name, '') = '' THEN coalesce(" c ".first_name, '')" \
  " WHEN coalesce(" c ".first_name, '') = '' THEN " c ".last_name" \
  " ELSE " c ".last_name || ', ' || " c ".first_name END"

#define FULL_NAME(c) \
  "trim(coalesce(" c ".first_name, '') || ' ' || coalesce(" c ".last_name, ''))"

/* " · " is three characters, so substr (…, 4) drops the leading separator. */
#define CLIENT_DOC_SELECT \
  "SELECT c.tenant_id, c.id, " CLIENT_TITLE ("c") ", " \
  "substr(coalesce(' · ' || nullif(c.phone, ''), '') || coalesce(' · ' || nullif(c.email, ''), ''), 4), " \
  FULL_NAME ("c") ", c.email, " PHONE_TOKENS ("c.phone") \
  " FROM clients c WHERE c.deleted = 0"

/* The species is kept as its code: the desk shows it in the reader's language. */
#define PET_DOC_SELECT \
  "SELECT p.tenant_id, p.id, coalesce(p.name, ''), " \
  "substr(coalesce(' · ' || nullif(p.breed, ''), '')" \
  " || coalesce(' · ' || nullif(" CLIENT_TITLE ("c") ", ''), ''), 4), nullif(p.species, ''), " \
  "p.name, p.breed, replace(p.microchip, ' ', ''), nullif(" FULL_NAME ("c") ", '')" \
  " FROM pets p LEFT JOIN clients c ON c.tenant_id = p.tenant_id AND c.id = p.client_id" \
  " WHERE p.deleted = 0"

#define CLIENT_DOC_INSERT \
  "INSERT INTO vd_search_client_docs (tenant_id, id, title, subtitle, name, email, phone) "

#define PET_DOC_INSERT \
  "INSERT INTO vd_search_pet_docs (tenant_id, id, title, subtitle, species, name, breed, microchip, owner) "

/* The docs rows of row R's pets are rebuilt from scratch: few rows, and always right. */
#define REFRESH_PETS_OF(R) \
  "DELETE FROM vd_search_pet_docs WHERE tenant_id = " R ".tenant_id AND id IN" \
  " (SELECT id FROM pets WHERE tenant_id = " R ".tenant_id AND client_id = " R ".id);\n" \
  PET_DOC_INSERT PET_DOC_SELECT " AND p.tenant_id = " R ".tenant_id AND p.client_id = " R ".id;\n"

#define FTS_OPTIONS \
  "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'"

static const char install_tables_sql[] =
  "CREATE TABLE vd_search_client_docs (\n"
  "  docid INTEGER PRIMARY KEY,\n"
  "  tenant_id TEXT NOT NULL,\n"
  "  id TEXT NOT NULL,\n"
  "  title TEXT NOT NULL,\n"
  "  subtitle TEXT NOT NULL,\n"
  "  name TEXT,\n"
  "  email TEXT,\n"
  "  phone TEXT,\n"
  "  UNIQUE (tenant_id, id)\n"
  ");\n"
  "CREATE VIRTUAL TABLE vd_search_clients USING fts5 (name, email, phone,"
  " content = 'vd_search_client_docs', content_rowid = 'docid', " FTS_OPTIONS ");\n"
  "CREATE TABLE vd_search_pet_docs (\n"
  "  docid INTEGER PRIMARY KEY,\n"
  "  tenant_id TEXT NOT NULL,\n"
  "  id TEXT NOT NULL,\n"
  "  title TEXT NOT NULL,\n"
  "  subtitle TEXT NOT NULL,\n"
  "  species TEXT,\n"
  "  name TEXT,\n"
  "  breed TEXT,\n"
  "  microchip TEXT,\n"
  "  owner TEXT,\n"
  "  UNIQUE (tenant_id, id)\n"
  ");\n"
  "CREATE VIRTUAL TABLE vd_search_pets USING fts5 (name, breed, microchip, owner,"
  " content = 'vd_search_pet_docs', content_rowid = 'docid', " FTS_OPTIONS ");\n"
  /* Backfill before the docs triggers exist, then let FTS5 index everything at once. */
  CLIENT_DOC_INSERT CLIENT_DOC_SELECT ";\n"
  PET_DOC_INSERT PET_DOC_SELECT ";\n"
  "INSERT INTO vd_search_clients (vd_search_clients) VALUES ('rebuild');\n"
  "INSERT INTO vd_search_pets (vd_search_pets) VALUES ('rebuild');\n";

static const char install_triggers_sql[] =
  /* docs → FTS5, the external-content pattern: FTS5 is told the old text on removal. */
  "CREATE TRIGGER vd_search_client_docs_insert AFTER INSERT ON vd_search_client_docs BEGIN\n"
  "  INSERT INTO vd_search_clients (rowid, name, email, phone)"
  " VALUES (NEW.docid, NEW.name, NEW.email, NEW.phone);\n"
  "END;\n"
  "CREATE TRIGGER vd_search_client_docs_delete AFTER DELETE ON vd_search_client_docs BEGIN\n"
  "  INSERT INTO vd_search_clients (vd_search_clients, rowid, name, email, phone)"
  " VALUES ('delete', OLD.docid, OLD.name, OLD.email, OLD.phone);\n"
  "END;\n"
  "CREATE TRIGGER vd_search_client_docs_update AFTER UPDATE ON vd_search_client_docs BEGIN\n"
  "  INSERT INTO vd_search_clients (vd_search_clients, rowid, name, email, phone)"
  " VALUES ('delete', OLD.docid, OLD.name, OLD.email, OLD.phone);\n"
  "  INSERT INTO vd_search_clients (rowid, name, email, phone)"
  " VALUES (NEW.docid, NEW.name, NEW.email, NEW.phone);\n"
  "END;\n"
  "CREATE TRIGGER vd_search_pet_docs_insert AFTER INSERT ON vd_search_pet_docs BEGIN\n"
  "  INSERT INTO vd_search_pets (rowid, name, breed, microchip, owner)"
  " VALUES (NEW.docid, NEW.name, NEW.breed, NEW.microchip, NEW.owner);\n"
  "END;\n"
  "CREATE TRIGGER vd_search_pet_docs_delete AFTER DELETE ON vd_search_pet_docs BEGIN\n"
  "  INSERT INTO vd_search_pets (vd_search_pets, rowid, name, breed, microchip, owner)"
  " VALUES ('delete', OLD.docid, OLD.name, OLD.breed, OLD.microchip, OLD.owner);\n"
  "END;\n"
  "CREATE TRIGGER vd_search_pet_docs_update AFTER UPDATE ON vd_search_pet_docs BEGIN\n"
  "  INSERT INTO vd_search_pets (vd_search_pets, rowid, name, breed, microchip, owner)"
  " VALUES ('delete', OLD.docid, OLD.name, OLD.breed, OLD.microchip, OLD.owner);\n"
  "  INSERT INTO vd_search_pets (rowid, name, breed, microchip, owner)"
  " VALUES (NEW.docid, NEW.name, NEW.breed, NEW.microchip, NEW.owner);\n"
  "END;\n"

  /* clients → docs. The cell store rewrites every column on each merge, so the update
   * triggers look at what changed: a change to notes or to the clocks costs nothing. */
  "CREATE TRIGGER vd_search_on_client_insert AFTER INSERT ON clients BEGIN\n"
  "  DELETE FROM vd_search_client_docs WHERE tenant_id = NEW.tenant_id AND id = NEW.id;\n"
  "  " CLIENT_DOC_INSERT CLIENT_DOC_SELECT " AND c.tenant_id = NEW.tenant_id AND c.id = NEW.id;\n"
  "  " REFRESH_PETS_OF ("NEW")
  "END;\n"
  "CREATE TRIGGER vd_search_on_client_update AFTER UPDATE ON clients WHEN"
  " OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name"
  " OR OLD.email IS NOT NEW.email OR OLD.phone IS NOT NEW.phone"
  " OR OLD.deleted IS NOT NEW.deleted OR OLD.id IS NOT NEW.id"
  " OR OLD.tenant_id IS NOT NEW.tenant_id BEGIN\n"
  "  DELETE FROM vd_search_client_docs WHERE tenant_id = OLD.tenant_id AND id = OLD.id;\n"
  "  " CLIENT_DOC_INSERT CLIENT_DOC_SELECT " AND c.tenant_id = NEW.tenant_id AND c.id = NEW.id;\n"
  "END;\n"
  "CREATE TRIGGER vd_search_on_client_rename AFTER UPDATE ON clients WHEN"
  " OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name"
  " OR OLD.id IS NOT NEW.id OR OLD.tenant_id IS NOT NEW.tenant_id BEGIN\n"
  "  " REFRESH_PETS_OF ("NEW")
  "END;\n"
  /* No merge changes a row's key; a hand-made UPDATE that did would orphan these pets. */
  "CREATE TRIGGER vd_search_on_client_rekey AFTER UPDATE ON clients WHEN"
  " OLD.id IS NOT NEW.id OR OLD.tenant_id IS NOT NEW.tenant_id BEGIN\n"
  "  " REFRESH_PETS_OF ("OLD")
  "END;\n"
  "CREATE TRIGGER vd_search_on_client_delete AFTER DELETE ON clients BEGIN\n"
  "  DELETE FROM vd_search_client_docs WHERE tenant_id = OLD.tenant_id AND id = OLD.id;\n"
  "  " REFRESH_PETS_OF ("OLD")
  "END;\n"

  /* pets → docs. */
  "CREATE TRIGGER vd_search_on_pet_insert AFTER INSERT ON pets BEGIN\n"
  "  DELETE FROM vd_search_pet_docs WHERE tenant_id = NEW.tenant_id AND id = NEW.id;\n"
  "  " PET_DOC_INSERT PET_DOC_SELECT " AND p.tenant_id = NEW.tenant_id AND p.id = NEW.id;\n"
  "END;\n"
  "CREATE TRIGGER vd_search_on_pet_update AFTER UPDATE ON pets WHEN"
  " OLD.name IS NOT NEW.name OR OLD.species IS NOT NEW.species"
  " OR OLD.breed IS NOT NEW.breed OR OLD.microchip IS NOT NEW.microchip"
  " OR OLD.client_id IS NOT NEW.client_id OR OLD.deleted IS NOT NEW.deleted"
  " OR OLD.id IS NOT NEW.id OR OLD.tenant_id IS NOT NEW.tenant_id BEGIN\n"
  "  DELETE FROM vd_search_pet_docs WHERE tenant_id = OLD.tenant_id AND id = OLD.id;\n"
  "  " PET_DOC_INSERT PET_DOC_SELECT " AND p.tenant_id = NEW.tenant_id AND p.id = NEW.id;\n"
  "END;\n"
  "CREATE TRIGGER vd_search_on_pet_delete AFTER DELETE ON pets BEGIN\n"
  "  DELETE FROM vd_search_pet_docs WHERE tenant_id = OLD.tenant_id AND id = OLD.id;\n"
  "END;\n";

/* What an older layout may have left, removed before a new one is installed. */
static const char uninstall_sql[] =
  "DROP TRIGGER IF EXISTS vd_search_on_client_insert;\n"
  "DROP TRIGGER IF EXISTS vd_search_on_client_update;\n"
  "DROP TRIGGER IF EXISTS vd_search_on_client_rename;\n"
  "DROP TRIGGER IF EXISTS vd_search_on_client_rekey;\n"
  "DROP TRIGGER IF EXISTS vd_search_on_client_delete;\n"
  "DROP TRIGGER IF EXISTS vd_search_on_pet_insert;\n"
  "DROP TRIGGER IF EXISTS vd_search_on_pet_update;\n"
  "DROP TRIGGER IF EXISTS vd_search_on_pet_delete;\n"
  "DROP TABLE IF EXISTS vd_search_clients;\n"
  "DROP TABLE IF EXISTS vd_search_client_docs;\n"
  "DROP TABLE IF EXISTS vd_search_pets;\n"
  "DROP TABLE IF EXISTS vd_search_pet_docs;\n";

/* Ranking is what costs: bm25 reads every candidate's positions and sizes (about 1 µs
 * each), so a one-letter prefix matching 15,000 pets would take tens of milliseconds.
 * When a kind has more than RANK_CAP candidates, only the RANK_CAP most recently indexed
 * ones are ranked: such a query ("g", "ma") names no one yet, and the next keystroke
 * narrows it below the cap, where ranking is exact again. The newest docids are found
 * by walking the matches backwards without ranking, which FTS5 does cheaply. */
#define RANK_CAP 1000

/* The rowid of the RANK_CAP-th newest match (?2 = RANK_CAP - 1), if there are that many. */
#define CUTOFF_SQL(fts) \
  "SELECT rowid FROM " fts " WHERE " fts " MATCH ?1 ORDER BY rowid DESC LIMIT 1 OFFSET ?2"

/* Ranked within FTS5 alone, then joined to the docs for the tenant and what to show. A
 * desk's replica holds one clinic, so the top rows are that clinic's; a row of another
 * tenant among them (LEFT JOIN gives NULLs) sends the query to the exact form below.
 * bm25 weights follow the FTS5 columns: a match on a name outranks one on an email or a
 * breed, and a pet found through its owner's name comes after pets of that name. */
#define RANKED_SQL(fts, docs, weights, species) \
  "WITH t AS MATERIALIZED (SELECT rowid AS docid, bm25(" fts ", " weights ") AS r" \
  " FROM " fts " WHERE " fts " MATCH ?1 AND rowid >= ?2 ORDER BY r, rowid LIMIT ?3)" \
  " SELECT d.id, d.title, d.subtitle, t.r, " species " FROM t LEFT JOIN " docs " d" \
  " ON d.docid = t.docid AND d.tenant_id = ?4 ORDER BY t.r, t.docid"

#define EXACT_SQL(fts, docs, weights, species) \
  "SELECT d.id, d.title, d.subtitle, bm25(" fts ", " weights ") AS r, " species \
  " FROM " fts " JOIN " docs " d ON d.docid = " fts ".rowid" \
  " WHERE " fts " MATCH ?1 AND " fts ".rowid >= ?2 AND d.tenant_id = ?4" \
  " ORDER BY r, d.docid LIMIT ?3"

#define CLIENT_WEIGHTS "10.0, 3.0, 2.0"
#define PET_WEIGHTS    "10.0, 4.0, 2.0, 1.0"

enum
{
  STMT_CUTOFF,
  STMT_RANKED,
  STMT_EXACT,
  N_STMTS
};

static const char * const query_sql[2][N_STMTS] = {
  [VD_SEARCH_CLIENT] = {
    CUTOFF_SQL ("vd_search_clients"),
    RANKED_SQL ("vd_search_clients", "vd_search_client_docs", CLIENT_WEIGHTS, "NULL"),
    EXACT_SQL ("vd_search_clients", "vd_search_client_docs", CLIENT_WEIGHTS, "NULL"),
  },
  [VD_SEARCH_PET] = {
    CUTOFF_SQL ("vd_search_pets"),
    RANKED_SQL ("vd_search_pets", "vd_search_pet_docs", PET_WEIGHTS, "d.species"),
    EXACT_SQL ("vd_search_pets", "vd_search_pet_docs", PET_WEIGHTS, "d.species"),
  },
};

/* ---- installing ---------------------------------------------------------------------- */

static gboolean
exec_sql (sqlite3     *db,
          const char  *sql,
          GError     **error)
{
  char *errmsg = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &errmsg) != SQLITE_OK)
    {
      g_set_error (error, VD_SEARCH_ERROR, VD_SEARCH_ERROR_FAILED,
                   /* Translators: %s is the database's own message. */
                   _("The search index on this computer could not be prepared: %s."),
                   errmsg != NULL ? errmsg : sqlite3_errmsg (db));
      sqlite3_free (errmsg);
      return FALSE;
    }

  return TRUE;
}

/* The installed layout's version, or NULL when there is none. */
static char *
installed_version (sqlite3  *db,
                   GError  **error)
{
  sqlite3_stmt *stmt = NULL;
  char *version = NULL;
  int rc;

  if (!exec_sql (db, "CREATE TABLE IF NOT EXISTS vd_search_meta (\n"
                     "  key TEXT PRIMARY KEY,\n"
                     "  value TEXT\n"
                     ")", error))
    return NULL;

  rc = sqlite3_prepare_v2 (db, "SELECT value FROM vd_search_meta WHERE key = 'version'", -1,
                           &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        version = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
    }
  sqlite3_finalize (stmt);

  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      g_set_error (error, VD_SEARCH_ERROR, VD_SEARCH_ERROR_FAILED,
                   _("The search index on this computer could not be prepared: %s."),
                   sqlite3_errmsg (db));
      return NULL;
    }

  return version != NULL ? version : g_strdup ("");
}

gboolean
vd_search_install (sqlite3  *db,
                   GError  **error)
{
  g_autofree char *version = NULL;
  gboolean own_transaction;
  gboolean ok;

  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* IMMEDIATE when the transaction is ours: the check and the install are one write,
   * never a read upgraded to a write under another connection's feet. */
  own_transaction = sqlite3_get_autocommit (db) != 0;
  if (!exec_sql (db, own_transaction ? "BEGIN IMMEDIATE" : "SAVEPOINT vd_search_install",
                 error))
    return FALSE;

  version = installed_version (db, error);
  ok = version != NULL;
  if (ok && strcmp (version, SEARCH_VERSION) != 0)
    {
      ok = exec_sql (db, uninstall_sql, error) &&
           exec_sql (db, install_tables_sql, error) &&
           exec_sql (db, install_triggers_sql, error) &&
           exec_sql (db, "INSERT INTO vd_search_meta (key, value) VALUES ('version', '"
                         SEARCH_VERSION "') ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     error);
    }

  if (ok)
    ok = exec_sql (db, own_transaction ? "COMMIT" : "RELEASE vd_search_install", error);

  if (!ok)
    {
      if (own_transaction)
        sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
      else
        sqlite3_exec (db, "ROLLBACK TO vd_search_install; RELEASE vd_search_install",
                      NULL, NULL, NULL);
    }

  return ok;
}

/* ---- the user's words ---------------------------------------------------------------- */

/* The characters FTS5's unicode61 keeps inside a token (its categories L*, N*, Co, and
 * the combining marks it folds away with remove_diacritics); everything else separates
 * words, so quotes, colons, parentheses, stars and operators never reach FTS5. */
static gboolean
is_word_char (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_OTHER_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_UPPERCASE_LETTER:
    case G_UNICODE_DECIMAL_NUMBER:
    case G_UNICODE_LETTER_NUMBER:
    case G_UNICODE_OTHER_NUMBER:
    case G_UNICODE_PRIVATE_USE:
    case G_UNICODE_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_NON_SPACING_MARK:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
is_mark (gunichar c)
{
  GUnicodeType type = g_unichar_type (c);

  return type == G_UNICODE_SPACING_MARK || type == G_UNICODE_ENCLOSING_MARK ||
         type == G_UNICODE_NON_SPACING_MARK;
}

static gboolean
is_ascii_digits (const char *word)
{
  for (const char *p = word; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return *word != '\0';
}

typedef struct
{
  GPtrArray *words;      /* of char*, NFC, lowercase */
  char      *digits;     /* all the digits when the text looks like a phone, else NULL */
} Words;

static void
words_clear (Words *w)
{
  g_clear_pointer (&w->words, g_ptr_array_unref);
  g_clear_pointer (&w->digits, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Words, words_clear)

/* NFC and lowercase, not g_utf8_casefold: unicode61 folds case one character at a time,
 * and full case folding would turn "Strauß" into "strauss", which the index, holding
 * "strauß", does not contain. Accents are left to the tokenizer (remove_diacritics 2)
 * so a word is folded exactly as the indexed text was. */
static void
split_words (const char *text,
             Words      *out)
{
  gsize len = strlen (text);
  g_autofree char *valid = g_utf8_make_valid (text, MIN (len, MAX_INPUT_BYTES));
  g_autofree char *nfc = g_utf8_normalize (valid, -1, G_NORMALIZE_DEFAULT_COMPOSE);
  g_autofree char *lower = g_utf8_strdown (nfc != NULL ? nfc : "", -1);
  g_autoptr(GString) word = g_string_new (NULL);
  g_autoptr(GString) digits = g_string_new (NULL);
  gboolean phone_like = TRUE;
  gboolean has_base = FALSE;
  guint word_chars = 0;

  out->words = g_ptr_array_new_with_free_func (g_free);
  out->digits = NULL;

  for (const char *p = lower; ; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c != 0 && is_word_char (c))
        {
          if (word_chars < MAX_WORD_CHARS)
            {
              g_string_append_unichar (word, c);
              word_chars++;
              has_base |= !is_mark (c);
            }
        }
      else
        {
          /* A word of marks alone would be an empty phrase, which matches nothing and
           * would empty the whole AND. */
          if (has_base && out->words->len < MAX_WORDS)
            g_ptr_array_add (out->words, g_strdup (word->str));
          g_string_truncate (word, 0);
          word_chars = 0;
          has_base = FALSE;
        }

      if (c == 0)
        break;
      if (g_ascii_isdigit (c))
        g_string_append_c (digits, (char) c);
      else if (c >= 0x80 || strchr (" +-().", (int) c) == NULL)
        phone_like = FALSE;
    }

  if (phone_like && digits->len >= 3 && out->words->len > 1)
    out->digits = g_strdup (digits->str);
}

static void
append_phrase (GString    *match,
               const char *word)
{
  g_string_append_c (match, '"');
  for (const char *p = word; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (match, '"');
      g_string_append_c (match, *p);
    }
  g_string_append (match, "\"*");
}

static char *
build_match (const Words  *w,
             VdSearchKind  kind)
{
  /* Short words and words with letters look in the text columns only: "6" or "61"
   * would otherwise match a third of the phone suffixes. */
  const char *text_columns = kind == VD_SEARCH_CLIENT ? "{name email}" : "{name breed owner}";
  const char *digit_column = kind == VD_SEARCH_CLIENT ? "phone" : "microchip";
  GString *match;

  if (w->words->len == 0)
    return NULL;

  match = g_string_new ("(");
  for (guint i = 0; i < w->words->len; i++)
    {
      const char *word = g_ptr_array_index (w->words, i);

      if (i > 0)
        g_string_append (match, " AND ");
      if (!(is_ascii_digits (word) && strlen (word) >= 3))
        g_string_append_printf (match, "%s : ", text_columns);
      append_phrase (match, word);
    }
  g_string_append_c (match, ')');

  /* "612 34 56": the words one by one, or the digits run together. */
  if (w->digits != NULL)
    {
      g_string_append_printf (match, " OR %s : ", digit_column);
      append_phrase (match, w->digits);
    }

  return g_string_free (match, FALSE);
}

char *
vd_search_build_match (const char   *text,
                       VdSearchKind  kind)
{
  g_auto(Words) w = { NULL, NULL };

  g_return_val_if_fail (text != NULL, NULL);

  split_words (text, &w);
  return build_match (&w, kind);
}

/* ---- the same matching outside the index ------------------------------------------- */

/* A word as unicode61 with remove_diacritics 2 indexes it: decomposed, its marks dropped,
 * composed again. */
static char *
fold_word (const char *word)
{
  g_autofree char *nfd = g_utf8_normalize (word, -1, G_NORMALIZE_DEFAULT);
  g_autoptr(GString) bare = g_string_new (NULL);

  for (const char *p = nfd ? nfd : ""; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!is_mark (c))
        g_string_append_unichar (bare, c);
    }
  return g_utf8_normalize (bare->str, -1, G_NORMALIZE_DEFAULT_COMPOSE);
}

char **
vd_search_fold_words (const char *text)
{
  g_auto(Words) w = { NULL, NULL };
  GPtrArray *folded = g_ptr_array_new ();

  g_return_val_if_fail (text != NULL, NULL);

  split_words (text, &w);
  for (guint i = 0; i < w.words->len; i++)
    {
      char *word = fold_word (g_ptr_array_index (w.words, i));

      if (*word != '\0')
        g_ptr_array_add (folded, word);
      else
        g_free (word);
    }
  g_ptr_array_add (folded, NULL);
  return (char **) g_ptr_array_free (folded, FALSE);
}

gboolean
vd_search_words_match (const char * const *query,
                       const char * const *text)
{
  g_return_val_if_fail (query != NULL && text != NULL, FALSE);

  if (query[0] == NULL)
    return FALSE;
  for (guint i = 0; query[i] != NULL; i++)
    {
      gboolean found = FALSE;

      for (guint j = 0; !found && text[j] != NULL; j++)
        found = g_str_has_prefix (text[j], query[i]);
      if (!found)
        return FALSE;
    }
  return TRUE;
}

/* ---- querying ---------------------------------------------------------------------- */

struct _VdSearch
{
  sqlite3      *db;
  sqlite3_stmt *stmts[2][N_STMTS];   /* by VdSearchKind */
};

static VdSearch *
search_new (sqlite3       *db,
            unsigned int   prep_flags,
            GError       **error)
{
  g_autoptr(VdSearch) self = g_new0 (VdSearch, 1);

  self->db = db;
  for (guint k = 0; k < G_N_ELEMENTS (self->stmts); k++)
    for (guint i = 0; i < N_STMTS; i++)
      {
        if (sqlite3_prepare_v3 (db, query_sql[k][i], -1, prep_flags, &self->stmts[k][i],
                                NULL) != SQLITE_OK)
          {
            g_set_error (error, VD_SEARCH_ERROR, VD_SEARCH_ERROR_FAILED,
                         /* Translators: %s is the database's own message. */
                         _("Searching this computer’s copy of the clinic is not possible: %s."),
                         sqlite3_errmsg (db));
            return NULL;
          }
      }

  return g_steal_pointer (&self);
}

VdSearch *
vd_search_new (sqlite3  *db,
               GError  **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return search_new (db, SQLITE_PREPARE_PERSISTENT, error);
}

void
vd_search_free (VdSearch *self)
{
  if (self == NULL)
    return;
  for (guint k = 0; k < G_N_ELEMENTS (self->stmts); k++)
    for (guint i = 0; i < N_STMTS; i++)
      sqlite3_finalize (self->stmts[k][i]);
  g_free (self);
}

static gboolean
step_failed (VdSearch      *self,
             sqlite3_stmt  *stmt,
             GError       **error)
{
  g_set_error (error, VD_SEARCH_ERROR, VD_SEARCH_ERROR_FAILED,
               /* Translators: %s is the database's own message. */
               _("The search could not be run: %s."), sqlite3_errmsg (self->db));
  sqlite3_reset (stmt);
  return FALSE;
}

/* Binds the statement's parameters (those it has) and leaves it ready to step. */
static void
bind_query (sqlite3_stmt *stmt,
            const char   *match,
            gint64        second,
            guint         limit,
            const char   *tenant_id)
{
  int n = sqlite3_bind_parameter_count (stmt);

  sqlite3_reset (stmt);
  sqlite3_bind_text (stmt, 1, match, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, second);
  if (n >= 3)
    sqlite3_bind_int64 (stmt, 3, limit);
  if (n >= 4)
    sqlite3_bind_text (stmt, 4, tenant_id, -1, SQLITE_TRANSIENT);
}

/* Appends the rows of a ranked or exact statement; *out_foreign counts rows of another
 * tenant (NULL id). */
static gboolean
collect (VdSearch      *self,
         sqlite3_stmt  *stmt,
         VdSearchKind   kind,
         GPtrArray     *out,
         guint         *out_foreign,
         GError       **error)
{
  int rc;

  *out_foreign = 0;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      VdSearchResult *result;

      if (sqlite3_column_type (stmt, 0) == SQLITE_NULL)
        {
          (*out_foreign)++;
          continue;
        }
      result = g_new0 (VdSearchResult, 1);
      result->kind = kind;
      result->id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      result->title = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      result->subtitle = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      result->rank = sqlite3_column_double (stmt, 3);
      result->species = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
      g_ptr_array_add (out, result);
    }
  if (rc != SQLITE_DONE)
    return step_failed (self, stmt, error);

  /* Reset now so no statement holds a read transaction between keystrokes. */
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return TRUE;
}

static gboolean
run_kind (VdSearch      *self,
          VdSearchKind   kind,
          const char    *tenant_id,
          const char    *match,
          guint          limit,
          GPtrArray     *out,
          GError       **error)
{
  sqlite3_stmt **stmts = self->stmts[kind];
  gint64 cutoff = G_MININT64;
  guint first = out->len;
  guint foreign;
  int rc;

  bind_query (stmts[STMT_CUTOFF], match, RANK_CAP - 1, 0, NULL);
  rc = sqlite3_step (stmts[STMT_CUTOFF]);
  if (rc == SQLITE_ROW)
    cutoff = sqlite3_column_int64 (stmts[STMT_CUTOFF], 0);
  else if (rc != SQLITE_DONE)
    return step_failed (self, stmts[STMT_CUTOFF], error);
  sqlite3_reset (stmts[STMT_CUTOFF]);

  bind_query (stmts[STMT_RANKED], match, cutoff, limit, tenant_id);
  if (!collect (self, stmts[STMT_RANKED], kind, out, &foreign, error))
    return FALSE;
  if (foreign == 0)
    return TRUE;

  /* Another clinic's rows were among the best: rank this clinic's alone, uncapped
   * (the cap counted the other clinic's rows too). */
  g_ptr_array_remove_range (out, first, out->len - first);
  bind_query (stmts[STMT_EXACT], match, G_MININT64, limit, tenant_id);
  return collect (self, stmts[STMT_EXACT], kind, out, &foreign, error);
}

GPtrArray *
vd_search_run (VdSearch    *self,
               const char  *tenant_id,
               const char  *text,
               guint        limit_per_kind,
               GError     **error)
{
  g_autoptr(GPtrArray) results = NULL;
  g_auto(Words) w = { NULL, NULL };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (tenant_id != NULL, NULL);
  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  results = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_search_result_free);
  if (limit_per_kind == 0)
    return g_steal_pointer (&results);

  split_words (text, &w);
  for (VdSearchKind kind = VD_SEARCH_CLIENT; kind <= VD_SEARCH_PET; kind++)
    {
      g_autofree char *match = build_match (&w, kind);

      if (match == NULL)
        break;
      if (!run_kind (self, kind, tenant_id, match, limit_per_kind, results, error))
        return NULL;
    }

  return g_steal_pointer (&results);
}

GPtrArray *
vd_search_query (sqlite3     *db,
                 const char  *tenant_id,
                 const char  *text,
                 guint        limit_per_kind,
                 GError     **error)
{
  g_autoptr(VdSearch) search = NULL;

  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  search = search_new (db, 0, error);
  if (search == NULL)
    return NULL;
  return vd_search_run (search, tenant_id, text, limit_per_kind, error);
}

/* ---- duplicates ------------------------------------------------------------------- */

void
vd_duplicate_free (VdDuplicate *duplicate)
{
  if (duplicate == NULL)
    return;
  g_free (duplicate->id);
  g_free (duplicate->title);
  g_free (duplicate->phone);
  g_free (duplicate->email);
  g_free (duplicate);
}

/* The digits of a phone number, or NULL when it has fewer than 6 (too short to say two
 * people share it). */
static char *
phone_digits (const char *phone)
{
  GString *digits = g_string_new (NULL);

  for (const char *p = phone != NULL ? phone : ""; *p != '\0'; p++)
    if (g_ascii_isdigit (*p))
      g_string_append_c (digits, *p);
  if (digits->len < 6)
    {
      g_string_free (digits, TRUE);
      return NULL;
    }
  return g_string_free (digits, FALSE);
}

/* The same digits, or one number the other with a country code before it ("+34 612 345
 * 678" and "612345678"): a suffix of 9 digits or more. */
static gboolean
same_phone (const char *a,
            const char *b)
{
  size_t la = strlen (a), lb = strlen (b);

  if (la == lb)
    return g_str_equal (a, b);
  if (MIN (la, lb) < 9)
    return FALSE;
  return la > lb ? g_str_has_suffix (a, b) : g_str_has_suffix (b, a);
}

/* A name's words folded (case and accents away) and joined by one space; "" when none. */
static char *
folded_name (const char *name)
{
  g_auto(GStrv) words = vd_search_fold_words (name != NULL ? name : "");

  return g_strjoinv (" ", words);
}

static char *
folded_email (const char *email)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (email != NULL ? email : ""));

  return g_utf8_casefold (trimmed, -1);
}

static int
duplicate_order (gconstpointer a,
                 gconstpointer b)
{
  const VdDuplicate *x = *(VdDuplicate * const *) a;
  const VdDuplicate *y = *(VdDuplicate * const *) b;

  if ((x->reasons & VD_DUPLICATE_NAME) != (y->reasons & VD_DUPLICATE_NAME))
    return (x->reasons & VD_DUPLICATE_NAME) ? -1 : 1;
  return g_utf8_collate (x->title, y->title);
}

GPtrArray *
vd_search_find_duplicates (sqlite3     *db,
                           const char  *tenant_id,
                           const char  *first_name,
                           const char  *last_name,
                           const char  *email,
                           const char  *phone,
                           GError     **error)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_duplicate_free);
  g_autofree char *want_first = folded_name (first_name);
  g_autofree char *want_last = folded_name (last_name);
  g_autofree char *want_email = folded_email (email);
  g_autofree char *want_digits = phone_digits (phone);
  sqlite3_stmt *stmt = NULL;
  int rc;

  g_return_val_if_fail (db != NULL && tenant_id != NULL, NULL);

  /* A clinic holds thousands of clients at most: folding each in C keeps the matching
   * exactly the search's, which SQL's lower() (ASCII only) would not. */
  if (sqlite3_prepare_v2 (db,
                          "SELECT id, " CLIENT_TITLE ("c") ", coalesce(first_name, ''),"
                          " coalesce(last_name, ''), coalesce(email, ''), coalesce(phone, '')"
                          " FROM clients c WHERE tenant_id = ?1 AND deleted = 0",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      g_set_error (error, VD_SEARCH_ERROR, VD_SEARCH_ERROR_FAILED,
                   "Could not look for duplicate clients: %s", sqlite3_errmsg (db));
      return NULL;
    }
  sqlite3_bind_text (stmt, 1, tenant_id, -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *row_phone = (const char *) sqlite3_column_text (stmt, 5);
      const char *row_email = (const char *) sqlite3_column_text (stmt, 4);
      VdDuplicateReason reasons = 0;

      if (want_digits != NULL)
        {
          g_autofree char *digits = phone_digits (row_phone);

          if (digits != NULL && same_phone (digits, want_digits))
            reasons |= VD_DUPLICATE_PHONE;
        }
      if (*want_email != '\0')
        {
          g_autofree char *other = folded_email (row_email);

          if (g_str_equal (other, want_email))
            reasons |= VD_DUPLICATE_EMAIL;
        }
      if (*want_first != '\0' && *want_last != '\0')
        {
          g_autofree char *first = folded_name ((const char *) sqlite3_column_text (stmt, 2));
          g_autofree char *last = folded_name ((const char *) sqlite3_column_text (stmt, 3));

          if (g_str_equal (first, want_first) && g_str_equal (last, want_last))
            reasons |= VD_DUPLICATE_NAME;
        }
      if (reasons != 0)
        {
          VdDuplicate *d = g_new0 (VdDuplicate, 1);

          d->id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
          d->title = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
          d->phone = g_strdup (row_phone);
          d->email = g_strdup (row_email);
          d->reasons = reasons;
          g_ptr_array_add (found, d);
        }
    }
  if (rc != SQLITE_DONE)
    {
      g_set_error (error, VD_SEARCH_ERROR, VD_SEARCH_ERROR_FAILED,
                   "Could not look for duplicate clients: %s", sqlite3_errmsg (db));
      sqlite3_finalize (stmt);
      return NULL;
    }
  sqlite3_finalize (stmt);
  g_ptr_array_sort (found, duplicate_order);
  return g_steal_pointer (&found);
}
