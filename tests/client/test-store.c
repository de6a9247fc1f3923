/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-store.c — the desk's replica without a server: one transaction per user action,
 * identity and clock across restarts, the in-flight batch, push answers, pulled pages,
 * re-stamping after clock skew, the list models and day bounds across DST. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "vd-store.h"
#include "vd-store-models.h"
#include "vd-error.h"
#include "vd-id.h"
#include "vd-time.h"

#define TENANT "6f1c2b9e-3a4d-4e5f-8a7b-1c2d3e4f5a6b"
#define OTHER_SITE "7a7a7a7a-1111-4222-8333-944444444444"

static GThread *main_thread;

typedef struct
{
  char    *dir;
  char    *path;
  VdStore *store;
} Fixture;

static VdStore *
open_store (const char *path)
{
  g_autoptr(GError) error = NULL;
  VdStore *store = vd_store_open (path, TENANT, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("vd-test-store-XXXXXX", &error);
  g_assert_no_error (error);
  fx->path = g_build_filename (fx->dir, "clinic", TENANT ".db", NULL);
  fx->store = open_store (fx->path);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        remove_tree (child);
      }
  g_remove (path);
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  g_clear_object (&fx->store);
  remove_tree (fx->dir);
  g_free (fx->path);
  g_free (fx->dir);
}

static void
reopen (Fixture *fx)
{
  g_clear_object (&fx->store);
  fx->store = open_store (fx->path);
}

/* ---- Building changes ---- */

static VdChange *
change_new (const char *table_name,
            const char *id)
{
  const VdTable *table = vd_schema_lookup_table (table_name);

  VdChange *change;

  g_assert_nonnull (table);
  /* As vd_store_new_change makes them, without needing the store here. */
  change = vd_change_new (table, id != NULL ? id : OTHER_SITE, 0, OTHER_SITE);
  if (id == NULL)
    change->id[0] = '\0';
  return change;
}

static void
set_text (VdChange   *change,
          const char *column,
          const char *text)
{
  VdValue value = { VD_VALUE_NULL };

  if (text != NULL)
    vd_value_set_text (&value, text);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static void
set_bool (VdChange   *change,
          const char *column,
          gboolean    b)
{
  VdValue value = { VD_VALUE_NULL };

  vd_value_set_bool (&value, b);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

static char *
commit_or_die (VdStore  *store,
               VdChange *change)
{
  g_autoptr(GError) error = NULL;

  vd_store_commit (store, change, &error);
  g_assert_no_error (error);
  g_assert_true (vd_uuid_is_valid (change->id));
  return g_strdup (change->id);
}

static char *
add_client (VdStore    *store,
            const char *first,
            const char *last)
{
  g_autoptr(VdChange) change = change_new ("clients", NULL);

  set_text (change, "first_name", first);
  set_text (change, "last_name", last);
  return commit_or_die (store, change);
}

static char *
add_staff (VdStore    *store,
           const char *name)
{
  g_autoptr(VdChange) change = change_new ("staff", NULL);

  set_text (change, "name", name);
  set_text (change, "role", "veterinarian");
  set_text (change, "color", "#3584e4");
  return commit_or_die (store, change);
}

static char *
add_pet (VdStore    *store,
         const char *client_id,
         const char *name)
{
  g_autoptr(VdChange) change = change_new ("pets", NULL);

  set_text (change, "client_id", client_id);
  set_text (change, "name", name);
  set_text (change, "species", "dog");
  set_text (change, "sex", "female");
  set_text (change, "allergies", "penicillin");
  return commit_or_die (store, change);
}

static char *
add_appointment (VdStore    *store,
                 const char *pet_id,
                 const char *client_id,
                 const char *staff_id,
                 const char *starts,
                 const char *ends)
{
  g_autoptr(VdChange) change = change_new ("appointments", NULL);

  set_text (change, "pet_id", pet_id);
  set_text (change, "client_id", client_id);
  set_text (change, "staff_id", staff_id);
  set_text (change, "kind", "consultation");
  set_text (change, "status", "scheduled");
  set_text (change, "starts_at", starts);
  set_text (change, "ends_at", ends);
  return commit_or_die (store, change);
}

/* ---- Raw reads of the file ---- */

static gint64
count_rows (VdStore    *store,
            const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 n;

  g_assert_cmpint (sqlite3_prepare_v2 (vd_store_get_db (store), sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return n;
}

static char *
meta_value (VdStore    *store,
            const char *key)
{
  sqlite3_stmt *stmt = NULL;
  char *value = NULL;

  g_assert_cmpint (sqlite3_prepare_v2 (vd_store_get_db (store),
                                       "SELECT value FROM meta WHERE key = ?1", -1, &stmt, NULL),
                   ==, SQLITE_OK);
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return value;
}

static VdHlc
cell_hlc (VdStore    *store,
          const char *table_name,
          const char *id,
          const char *column)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  VdValue *values = g_newa (VdValue, table->n_columns);
  VdCellClock *clocks = g_newa (VdCellClock, table->n_columns);
  g_autoptr(GError) error = NULL;
  VdHlc hlc;

  memset (values, 0, table->n_columns * sizeof (VdValue));
  g_assert_true (vd_cell_store_get_row (vd_store_get_cell_store (store), table, id, values,
                                        clocks, NULL, &error));
  g_assert_no_error (error);
  hlc = clocks[vd_table_lookup_column (table, column)->index].clock.hlc;
  for (guint c = 0; c < table->n_columns; c++)
    vd_value_clear (&values[c]);
  return hlc;
}

static char *
row_text (VdStore    *store,
          const char *table_name,
          const char *id,
          const char *column)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  VdValue *values = g_newa (VdValue, table->n_columns);
  g_autoptr(GError) error = NULL;
  char *text;

  memset (values, 0, table->n_columns * sizeof (VdValue));
  if (!vd_store_get_row (store, table, id, values, &error))
    {
      g_assert_error (error, VD_STORE_ERROR, VD_STORE_ERROR_NOT_FOUND);
      return NULL;
    }
  text = g_strdup (values[vd_table_lookup_column (table, column)->index].s);
  for (guint c = 0; c < table->n_columns; c++)
    vd_value_clear (&values[c]);
  return text;
}

/* ---- Tests ---- */

static void
test_commit (Fixture       *fx,
             gconstpointer  data)
{
  g_autoptr(VdChange) bad = NULL;
  g_autoptr(VdChange) bad_enum = NULL;
  g_autoptr(VdChange) trapped = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *client = NULL;
  g_autofree char *name = NULL;
  g_autofree char *hlc_before = NULL;
  g_autofree char *hlc_after = NULL;
  char *errmsg = NULL;

  {
    g_autoptr(VdChange) fresh = vd_store_new_change (fx->store, "clients", NULL);

    g_assert_cmpstr (fresh->id, ==, "");
    set_text (fresh, "first_name", "Ana");
    set_text (fresh, "last_name", "García");
    client = commit_or_die (fx->store, fresh);
    g_assert_cmpstr (fresh->site, ==, vd_store_get_device_id (fx->store));
    g_assert_null (vd_store_new_change (fx->store, "nonsense", NULL));
  }
  name = row_text (fx->store, "clients", client, "first_name");
  g_assert_cmpstr (name, ==, "Ana");
  g_assert_cmpuint (vd_store_count_pending (fx->store), ==, 1);
  g_assert_cmpint (count_rows (fx->store, "SELECT count(*) FROM outbox"), ==, 1);
  hlc_before = meta_value (fx->store, "hlc");
  g_assert_nonnull (hlc_before);

  /* A new pet without its species is refused whole: no row, no outbox entry, no tick. */
  bad = change_new ("pets", NULL);
  set_text (bad, "client_id", client);
  set_text (bad, "name", "Luna");
  set_text (bad, "sex", "female");
  g_assert_false (vd_store_commit (fx->store, bad, &error));
  g_assert_error (error, VD_STORE_ERROR, VD_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "species"));
  g_clear_error (&error);
  g_assert_cmpint (count_rows (fx->store, "SELECT count(*) FROM pets"), ==, 0);
  g_assert_cmpint (count_rows (fx->store, "SELECT count(*) FROM outbox"), ==, 1);
  hlc_after = meta_value (fx->store, "hlc");
  g_assert_cmpstr (hlc_after, ==, hlc_before);

  bad_enum = change_new ("pets", NULL);
  set_text (bad_enum, "client_id", client);
  set_text (bad_enum, "name", "Luna");
  set_text (bad_enum, "species", "dragon");
  set_text (bad_enum, "sex", "female");
  g_assert_false (vd_store_commit (fx->store, bad_enum, &error));
  g_assert_error (error, VD_STORE_ERROR, VD_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpint (count_rows (fx->store, "SELECT count(*) FROM pets"), ==, 0);

  /* The outbox insert fails after the row was written: the row must go with it. */
  g_assert_cmpint (sqlite3_exec (vd_store_get_db (fx->store),
                                 "CREATE TEMP TRIGGER trap BEFORE INSERT ON main.outbox "
                                 "BEGIN SELECT RAISE (ABORT, 'trapped'); END;",
                                 NULL, NULL, &errmsg), ==, SQLITE_OK);
  trapped = change_new ("clients", NULL);
  set_text (trapped, "first_name", "Trap");
  set_text (trapped, "last_name", "Ped");
  g_assert_false (vd_store_commit (fx->store, trapped, &error));
  g_assert_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_cmpint (count_rows (fx->store, "SELECT count(*) FROM clients"), ==, 1);
  g_assert_cmpint (count_rows (fx->store, "SELECT count(*) FROM outbox"), ==, 1);
  g_assert_cmpint (sqlite3_exec (vd_store_get_db (fx->store), "DROP TRIGGER temp.trap",
                                 NULL, NULL, NULL), ==, SQLITE_OK);

  /* An appointment that ends before it starts is refused. */
  {
    g_autoptr(VdChange) backwards = change_new ("appointments", NULL);

    set_text (backwards, "pet_id", client);
    set_text (backwards, "client_id", client);
    set_text (backwards, "staff_id", client);
    set_text (backwards, "kind", "consultation");
    set_text (backwards, "status", "scheduled");
    set_text (backwards, "starts_at", "2024-05-02T10:00:00Z");
    set_text (backwards, "ends_at", "2024-05-02T09:30:00Z");
    g_assert_false (vd_store_commit (fx->store, backwards, &error));
    g_assert_error (error, VD_STORE_ERROR, VD_STORE_ERROR_INVALID);
    g_clear_error (&error);
  }

  /* The file really is WAL with synchronous=FULL (2). */
  g_assert_cmpint (count_rows (fx->store, "PRAGMA synchronous"), ==, 2);
  {
    sqlite3_stmt *stmt = NULL;

    sqlite3_prepare_v2 (vd_store_get_db (fx->store), "PRAGMA journal_mode", -1, &stmt, NULL);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
    sqlite3_finalize (stmt);
  }
}

static void
test_identity_and_clock (Fixture       *fx,
                         gconstpointer  data)
{
  g_autofree char *device = g_strdup (vd_store_get_device_id (fx->store));
  g_autofree char *client = NULL;
  g_autofree char *other_path = NULL;
  g_autoptr(VdStore) other = NULL;
  g_autoptr(VdChange) edit = NULL;
  VdHlc before;
  VdHlc after;

  g_assert_true (vd_uuid_is_valid (device));
  client = add_client (fx->store, "Ana", "García");
  before = vd_hlc_clock_last (vd_store_get_clock (fx->store));

  /* The computer's clock is set back an hour before the next start. */
  g_setenv ("VD_TEST_CLOCK_OFFSET_MS", "-3600000", TRUE);
  reopen (fx);
  g_unsetenv ("VD_TEST_CLOCK_OFFSET_MS");

  g_assert_cmpstr (vd_store_get_device_id (fx->store), ==, device);
  g_assert_cmpuint (vd_hlc_clock_last (vd_store_get_clock (fx->store)), >=, before);
  edit = change_new ("clients", client);
  set_text (edit, "phone", "+34 600 000 000");
  g_free (commit_or_die (fx->store, edit));
  after = edit->hlc;
  g_assert_cmpuint (after, >, before);
  g_assert_cmpuint (cell_hlc (fx->store, "clients", client, "phone"), ==, after);

  /* Another file is another device. */
  other_path = g_build_filename (fx->dir, "other.db", NULL);
  other = open_store (other_path);
  g_assert_cmpstr (vd_store_get_device_id (other), !=, device);

  /* A new file may take the device id a sign-in used; a file keeps the one it has. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(VdStore) adopted = NULL;
    g_autofree char *proposed = vd_uuid_new ();
    g_autofree char *adopted_path = g_build_filename (fx->dir, "adopted.db", NULL);
    g_autofree char *bad_path = g_build_filename (fx->dir, "bad-proposal.db", NULL);

    adopted = vd_store_open_for_device (adopted_path, TENANT, proposed, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (vd_store_get_device_id (adopted), ==, proposed);
    g_clear_object (&adopted);
    adopted = vd_store_open_for_device (adopted_path, TENANT, device, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (vd_store_get_device_id (adopted), ==, proposed);
    g_clear_object (&adopted);
    adopted = vd_store_open_for_device (bad_path, TENANT, "not-a-uuid", &error);
    g_assert_no_error (error);
    g_assert_true (vd_uuid_is_valid (vd_store_get_device_id (adopted)));
  }

  /* The wrong clinic for a file is refused. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(VdStore) wrong = NULL;

    g_clear_object (&fx->store);
    wrong = vd_store_open (fx->path, "11111111-2222-4333-8444-555555555555", &error);
    g_assert_null (wrong);
    g_assert_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED);
    fx->store = open_store (fx->path);
  }
}

/* The store's next batch as the sync engine sends it: its push body, or NULL. */
static gboolean
next_batch_body (VdStore  *store,
                 guint     max_changes,
                 gint64   *out_batch_id,
                 char    **out_body,
                 gsize    *out_len,
                 GError  **error)
{
  g_autoptr(GPtrArray) changes = NULL;

  *out_body = NULL;
  if (!vd_store_next_batch (store, max_changes, out_batch_id, &changes, error))
    return FALSE;
  if (changes != NULL)
    *out_body = vd_push_request_encode (vd_store_get_device_id (store), *out_batch_id,
                                        changes, out_len);
  return TRUE;
}

/* An answer's text, decoded as the sync engine does, given to the store. */
static gboolean
ack_json (VdStore     *store,
          gint64       batch_id,
          const char  *json,
          GError     **error)
{
  g_autoptr(VdPushAnswer) answer = vd_push_answer_decode (json, strlen (json), error);

  return answer != NULL && vd_store_ack_batch (store, batch_id, answer, error);
}

static void
test_inflight_batch (Fixture       *fx,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *body1 = NULL;
  g_autofree char *body2 = NULL;
  g_autofree char *body3 = NULL;
  g_autofree char *answer = NULL;
  g_autoptr(VdPushRequest) request = NULL;
  gint64 id1 = 0, id2 = 0, id3 = 0;
  gsize len1 = 0, len2 = 0, len3 = 0;

  g_assert_true (next_batch_body (fx->store, 500, &id1, &body1, &len1, &error));
  g_assert_no_error (error);
  g_assert_null (body1);

  for (int i = 0; i < 3; i++)
    {
      g_autofree char *first = g_strdup_printf ("Client%d", i);

      g_free (add_client (fx->store, first, "Pérez"));
    }

  g_assert_true (next_batch_body (fx->store, 2, &id1, &body1, &len1, &error));
  g_assert_no_error (error);
  g_assert_nonnull (body1);
  g_assert_cmpint (id1, ==, 1);
  request = vd_push_request_decode (body1, len1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (request->n_total, ==, 2);
  g_assert_cmpuint (request->changes->len, ==, 2);
  g_assert_cmpstr (request->device_id, ==, vd_store_get_device_id (fx->store));

  /* A crash before the answer: the same batch goes out again, byte for byte, even
   * with more edits made since. */
  g_free (add_client (fx->store, "Later", "Edit"));
  reopen (fx);
  g_assert_true (next_batch_body (fx->store, 500, &id2, &body2, &len2, &error));
  g_assert_no_error (error);
  g_assert_cmpint (id2, ==, id1);
  g_assert_cmpuint (len2, ==, len1);
  g_assert_cmpstr (body2, ==, body1);

  answer = g_strdup_printf ("{\"batch_id\":%" G_GINT64_FORMAT ",\"accepted\":2,\"rejected\":[],"
                            "\"cursor\":2,\"server_hlc\":\"0000000000000001\"}", id1);
  g_assert_true (ack_json (fx->store, id1, answer, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vd_store_count_pending (fx->store), ==, 2);

  /* A replayed answer changes nothing. */
  g_assert_true (ack_json (fx->store, id1, answer, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (vd_store_count_pending (fx->store), ==, 2);

  g_assert_true (next_batch_body (fx->store, 500, &id3, &body3, &len3, &error));
  g_assert_no_error (error);
  g_assert_cmpint (id3, ==, 2);
  g_assert_nonnull (strstr (body3, "Later"));
  g_assert_null (strstr (body3, "Client0"));
}

static void
test_ack (Fixture       *fx,
          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *wrong = NULL;
  g_autofree char *ids[4] = { NULL };
  g_autoptr(GPtrArray) rejected = NULL;
  VdRejected *r;
  gint64 batch = 0;
  gsize len = 0;

  for (int i = 0; i < 4; i++)
    {
      g_autofree char *first = g_strdup_printf ("Client%d", i);

      ids[i] = add_client (fx->store, first, "Ruiz");
    }
  g_assert_true (next_batch_body (fx->store, 500, &batch, &body, &len, &error));
  g_assert_no_error (error);

  /* An answer for another batch, or whose counts do not add up, removes nothing. */
  wrong = g_strdup_printf ("{\"batch_id\":%" G_GINT64_FORMAT ",\"accepted\":4,\"rejected\":[]}", batch + 7);
  g_assert_false (ack_json (fx->store, batch, wrong, &error));
  g_assert_error (error, VD_STORE_ERROR, VD_STORE_ERROR_FAILED);
  g_clear_error (&error);
  g_free (wrong);
  wrong = g_strdup_printf ("{\"batch_id\":%" G_GINT64_FORMAT ",\"accepted\":4,"
                           "\"rejected\":[{\"index\":1,\"code\":\"invalid_change\",\"message\":\"x\"}]}", batch);
  g_assert_false (ack_json (fx->store, batch, wrong, &error));
  g_clear_error (&error);
  g_assert_cmpuint (vd_store_count_pending (fx->store), ==, 4);

  answer = g_strdup_printf ("{\"batch_id\":%" G_GINT64_FORMAT ",\"accepted\":2,\"rejected\":["
                            "{\"index\":1,\"code\":\"invalid_change\",\"message\":\"The phone number is not valid.\"},"
                            "{\"index\":3,\"code\":\"clock_skew\",\"message\":\"ahead\"}],"
                            "\"cursor\":9,\"server_hlc\":\"0000000000000001\"}", batch);
  g_assert_true (ack_json (fx->store, batch, answer, &error));
  g_assert_no_error (error);

  /* Accepted ones are gone; the invalid one is kept with its reason, out of the pending
   * count; the clock-skewed one waits to go again. */
  g_assert_cmpint (count_rows (fx->store, "SELECT count(*) FROM outbox"), ==, 2);
  g_assert_cmpuint (vd_store_count_pending (fx->store), ==, 1);
  rejected = vd_store_list_rejected (fx->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rejected->len, ==, 1);
  r = g_ptr_array_index (rejected, 0);
  g_assert_cmpstr (r->table, ==, "clients");
  g_assert_cmpstr (r->row_id, ==, ids[1]);
  g_assert_cmpstr (r->code, ==, "invalid_change");
  g_assert_cmpstr (r->message, ==, "The phone number is not valid.");
  g_assert_nonnull (strstr (r->change_json, "Client1"));

  /* The skewed change goes out in the next batch; the rejected one never again. */
  g_clear_pointer (&body, g_free);
  g_assert_true (next_batch_body (fx->store, 500, &batch, &body, &len, &error));
  g_assert_nonnull (strstr (body, ids[3]));
  g_assert_null (strstr (body, ids[1]));

  g_assert_true (vd_store_discard_rejected (fx->store, r->outbox_id, &error));
  g_assert_no_error (error);
  g_assert_false (vd_store_discard_rejected (fx->store, r->outbox_id, &error));
  g_assert_error (error, VD_STORE_ERROR, VD_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_pointer (&rejected, g_ptr_array_unref);
  rejected = vd_store_list_rejected (fx->store, &error);
  g_assert_cmpuint (rejected->len, ==, 0);
}

static VdChange *
remote_client (const char *id,
               VdHlc       hlc,
               const char *first,
               gint64      seq)
{
  VdChange *change = vd_change_new (vd_schema_lookup_table ("clients"), id, hlc, OTHER_SITE);

  set_text (change, "first_name", first);
  set_text (change, "last_name", "Remote");
  change->seq = seq;
  return change;
}

static VdPullAnswer *
page_new (gint64 cursor,
          VdHlc  server_hlc)
{
  VdPullAnswer *page = g_new0 (VdPullAnswer, 1);

  page->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  page->cursor = cursor;
  page->server_hlc = server_hlc;
  return page;
}

static void
test_apply_pull (Fixture       *fx,
                 gconstpointer  data)
{
  g_autoptr(VdPullAnswer) page = NULL;
  g_autoptr(VdPullAnswer) bad = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id1 = vd_uuid_new ();
  g_autofree char *id2 = vd_uuid_new ();
  g_autofree char *id3 = vd_uuid_new ();
  g_autofree char *name = NULL;
  gint64 now_ms = g_get_real_time () / 1000;
  VdHlc ahead = vd_hlc_make (now_ms + 60000, 5);
  VdChange *broken;

  g_assert_cmpint (vd_store_get_cursor (fx->store), ==, 0);

  page = page_new (10, vd_hlc_make (now_ms, 0));
  g_ptr_array_add (page->changes, remote_client (id1, vd_hlc_make (now_ms - 1000, 0), "Uno", 4));
  g_ptr_array_add (page->changes, remote_client (id2, ahead, "Dos", 10));
  g_assert_true (vd_store_apply_pull (fx->store, page, &error));
  g_assert_no_error (error);
  g_assert_cmpint (vd_store_get_cursor (fx->store), ==, 10);
  name = row_text (fx->store, "clients", id2, "first_name");
  g_assert_cmpstr (name, ==, "Dos");
  /* A received hlc moves the local clock: the next local write comes after it. */
  g_assert_cmpuint (vd_hlc_clock_last (vd_store_get_clock (fx->store)), >=, ahead);
  /* Pulled rows are not ours to push. */
  g_assert_cmpuint (vd_store_count_pending (fx->store), ==, 0);

  /* A page whose second change cannot be applied: nothing of it, cursor unchanged. */
  bad = page_new (20, vd_hlc_make (now_ms, 0));
  g_ptr_array_add (bad->changes, remote_client (id3, vd_hlc_make (now_ms, 1), "Tres", 15));
  broken = remote_client (id1, vd_hlc_make (now_ms, 2), "Broken", 20);
  g_strlcpy (broken->site, "not-a-device", sizeof broken->site);
  g_ptr_array_add (bad->changes, broken);
  g_assert_false (vd_store_apply_pull (fx->store, bad, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (vd_store_get_cursor (fx->store), ==, 10);
  g_clear_pointer (&name, g_free);
  name = row_text (fx->store, "clients", id3, "first_name");
  g_assert_null (name);
  name = row_text (fx->store, "clients", id1, "first_name");
  g_assert_cmpstr (name, ==, "Uno");

  /* Reopened, the cursor is where the last good page left it. */
  reopen (fx);
  g_assert_cmpint (vd_store_get_cursor (fx->store), ==, 10);
}

/* A pull applied from a worker thread, while the main thread keeps committing. */
typedef struct
{
  VdStore *store;
  GPtrArray *pages;
} PullThreadData;

static gpointer
pull_thread (gpointer user_data)
{
  PullThreadData *data = user_data;

  for (guint i = 0; i < data->pages->len; i++)
    {
      g_autoptr(GError) error = NULL;

      if (!vd_store_apply_pull (data->store, g_ptr_array_index (data->pages, i), &error))
        return g_strdup (error->message);
    }
  return NULL;
}

/* ::changed seen: [0] for one row (a commit), [1] for a pulled page's rows. */
static void
count_changed_cb (VdStore    *store,
                  const char *table,
                  const char *row_id,
                  guint      *n_changed)
{
  /* Only ever on the main thread, whoever applied the change. */
  g_assert_true (g_thread_self () == main_thread);
  g_assert_cmpstr (table, ==, "clients");
  n_changed[row_id == NULL ? 1 : 0]++;
}

static void
assert_integrity (VdStore *store)
{
  sqlite3_stmt *stmt = NULL;

  sqlite3_prepare_v2 (vd_store_get_db (store), "PRAGMA integrity_check", -1, &stmt, NULL);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
  sqlite3_finalize (stmt);
}

static void
test_pull_thread (Fixture       *fx,
                  gconstpointer  data)
{
  PullThreadData td = { fx->store, NULL };
  guint n_changed[2] = { 0, 0 };
  GThread *thread;
  char *failure;
  gint64 now_ms = g_get_real_time () / 1000;
  guint n_remote = 0;

  td.pages = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_pull_answer_free);
  for (int p = 0; p < 20; p++)
    {
      VdPullAnswer *page = page_new ((p + 1) * 50, vd_hlc_make (now_ms, 0));

      for (int i = 0; i < 50; i++)
        {
          g_autofree char *id = vd_uuid_new ();

          g_ptr_array_add (page->changes, remote_client (id, vd_hlc_make (now_ms, p * 50 + i), "R", p * 50 + i + 1));
          n_remote++;
        }
      g_ptr_array_add (td.pages, page);
    }

  g_signal_connect (fx->store, "changed", G_CALLBACK (count_changed_cb), n_changed);
  thread = g_thread_new ("pull", pull_thread, &td);
  for (int i = 0; i < 50; i++)
    g_free (add_client (fx->store, "Local", "Desk"));
  failure = g_thread_join (thread);
  g_assert_null (failure);
  g_ptr_array_unref (td.pages);

  /* ::changed for pulled rows arrives on the main context. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpint (count_rows (fx->store, "SELECT count(*) FROM clients"), ==, n_remote + 50);
  g_assert_cmpint (vd_store_get_cursor (fx->store), ==, 1000);
  g_assert_cmpuint (vd_store_count_pending (fx->store), ==, 50);
  /* One emission per commit, and one per pulled page (not per row: a list reloads once). */
  g_assert_cmpuint (n_changed[0], ==, 50);
  g_assert_cmpuint (n_changed[1], ==, 20);
  assert_integrity (fx->store);
}

/* Saves never checkpoint the WAL inside their own commit (that made one save in a
 * hundred several ms slower): the WAL grows past SQLite's automatic 1,000 pages while
 * the database file stays as it was, and the end of a pull round has the store's own
 * thread copy it over without the caller waiting. */
static goffset
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (goffset) st.st_size : -1;
}

static void
test_checkpoint (Fixture       *fx,
                 gconstpointer  data)
{
  g_autoptr(VdPullAnswer) page = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *wal = g_strconcat (fx->path, "-wal", NULL);
  g_autofree char *id = vd_uuid_new ();
  gint64 now_ms = g_get_real_time () / 1000;
  gint64 deadline;
  goffset db_size;
  goffset frames;

  db_size = file_size (fx->path);
  g_assert_cmpint (db_size, >, 0);
  for (int i = 0; i < 300; i++)
    {
      g_autofree char *first = g_strdup_printf ("Cliente %d", i);

      g_free (add_client (fx->store, first, "Guardado"));
    }
  /* A WAL frame is a 24-byte header and a 4 KiB page. */
  frames = file_size (wal) / (24 + 4096);
  g_test_message ("300 saves: %" G_GOFFSET_FORMAT " WAL frames", frames);
  g_assert_cmpint (frames, >, 1000);
  g_assert_cmpint (file_size (fx->path), ==, db_size);

  /* A round's last page: the checkpoint runs on the store's thread, not in this call. */
  page = page_new (1, vd_hlc_make (now_ms, 0));
  g_ptr_array_add (page->changes, remote_client (id, vd_hlc_make (now_ms - 1000, 0), "Remota", 1));
  g_assert_true (vd_store_apply_pull (fx->store, page, &error));
  g_assert_no_error (error);
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (file_size (fx->path) == db_size && g_get_monotonic_time () < deadline)
    g_usleep (10000);
  g_assert_cmpint (file_size (fx->path), >, db_size);

  reopen (fx);
  g_assert_cmpint (count_rows (fx->store, "SELECT count(*) FROM clients"), ==, 301);
  g_assert_cmpuint (vd_store_count_pending (fx->store), ==, 300);
}

static void
test_restamp (Fixture       *fx,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;
  g_autoptr(GPtrArray) rejected = NULL;
  char server_hlc[VD_HLC_STRING_LEN + 1];
  gint64 batch = 0;
  gint64 now_ms;
  gsize len = 0;
  VdHlc old_b, new_b;
  VdHlc next;

  /* This desk's clock runs ten minutes ahead. */
  g_setenv ("VD_TEST_CLOCK_OFFSET_MS", "600000", TRUE);
  reopen (fx);
  g_unsetenv ("VD_TEST_CLOCK_OFFSET_MS");

  a = add_client (fx->store, "Ahead", "One");
  b = add_client (fx->store, "Ahead", "Two");
  old_b = cell_hlc (fx->store, "clients", b, "first_name");
  now_ms = g_get_real_time () / 1000;
  g_assert_cmpint (vd_hlc_ms (old_b) - now_ms, >, 9 * 60 * 1000);

  g_assert_true (next_batch_body (fx->store, 500, &batch, &body, &len, &error));
  vd_hlc_format (vd_hlc_make (now_ms, 0), server_hlc);
  answer = g_strdup_printf ("{\"batch_id\":%" G_GINT64_FORMAT ",\"accepted\":0,\"rejected\":["
                            "{\"index\":0,\"code\":\"clock_skew\",\"message\":\"ahead\"},"
                            "{\"index\":1,\"code\":\"clock_skew\",\"message\":\"ahead\"}],"
                            "\"cursor\":0,\"server_hlc\":\"%s\"}", batch, server_hlc);
  g_assert_true (ack_json (fx->store, batch, answer, &error));
  g_assert_no_error (error);

  /* One more edit before the re-stamp, still on the wrong clock. */
  c = add_client (fx->store, "Ahead", "Three");
  g_clear_pointer (&body, g_free);

  g_assert_true (vd_store_restamp_pending (fx->store, &error));
  g_assert_no_error (error);

  /* The clock now runs at the server's time, about ten minutes back. */
  g_assert_cmpint (vd_hlc_clock_get_offset (vd_store_get_clock (fx->store)), <, -9 * 60 * 1000);
  g_assert_cmpint (vd_hlc_clock_get_offset (vd_store_get_clock (fx->store)), >, -11 * 60 * 1000);
  new_b = cell_hlc (fx->store, "clients", b, "first_name");
  g_assert_cmpuint (new_b, <, old_b);
  g_assert_cmpint (ABS (vd_hlc_ms (new_b) - now_ms), <, 60 * 1000);
  /* Cells and outbox agree: the row still carries the write that will be pushed. */
  g_assert_cmpuint (cell_hlc (fx->store, "clients", b, "last_name"), ==, new_b);
  g_assert_cmpuint (cell_hlc (fx->store, "clients", a, "first_name"), <, new_b);

  g_assert_true (next_batch_body (fx->store, 500, &batch, &body, &len, &error));
  {
    g_autoptr(VdPushRequest) request = vd_push_request_decode (body, len, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (request->changes->len, ==, 3);
    for (guint i = 0; i < request->changes->len; i++)
      {
        VdChange *change = g_ptr_array_index (request->changes, i);

        g_assert_cmpint (ABS (vd_hlc_ms (change->hlc) - now_ms), <, 60 * 1000);
        g_assert_cmpuint (change->hlc, ==, cell_hlc (fx->store, "clients", change->id, "first_name"));
      }
  }

  /* The correction survives a restart of the same wrong computer. */
  g_setenv ("VD_TEST_CLOCK_OFFSET_MS", "600000", TRUE);
  reopen (fx);
  g_unsetenv ("VD_TEST_CLOCK_OFFSET_MS");
  {
    g_autoptr(VdChange) edit = change_new ("clients", a);

    set_text (edit, "notes", "after the fix");
    g_free (commit_or_die (fx->store, edit));
    next = edit->hlc;
    g_assert_cmpint (ABS (vd_hlc_ms (next) - g_get_real_time () / 1000), <, 60 * 1000);
    g_assert_cmpuint (next, >, new_b);
  }
  rejected = vd_store_list_rejected (fx->store, &error);
  g_assert_cmpuint (rejected->len, ==, 0);
}

/* ---- Models ---- */

typedef struct
{
  guint calls;
  guint position;
  guint removed;
  guint added;
} ItemsChanged;

static void
items_changed_cb (GListModel   *model,
                  guint         position,
                  guint         removed,
                  guint         added,
                  ItemsChanged *seen)
{
  seen->calls++;
  seen->position = position;
  seen->removed = removed;
  seen->added = added;
}

static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_models (Fixture       *fx,
             gconstpointer  data)
{
  g_autoptr(VdAppointmentList) day = NULL;
  g_autoptr(VdAppointmentList) day_other = NULL;
  g_autoptr(VdStaffList) staff_list = NULL;
  g_autoptr(VdClientList) clients = NULL;
  g_autoptr(VdPetList) pets = NULL;
  g_autoptr(VdAppointmentItem) item = NULL;
  g_autoptr(VdChange) edit = NULL;
  g_autoptr(VdPullAnswer) page = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *staff = NULL;
  g_autofree char *staff2 = NULL;
  g_autofree char *client = NULL;
  g_autofree char *pet = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *remote_id = vd_uuid_new ();
  g_autofree char *status = NULL;
  ItemsChanged seen = { 0 };
  gint64 start, end;
  gint64 now_ms = g_get_real_time () / 1000;

  staff = add_staff (fx->store, "Dra. López");
  staff2 = add_staff (fx->store, "Dr. Martín");
  client = add_client (fx->store, "Ana", "García");
  pet = add_pet (fx->store, client, "Luna");

  vd_time_day_bounds (vd_store_get_time_zone (fx->store), 2024, 5, 2, &start, &end);
  day = vd_appointment_list_new (fx->store, start, end, NULL);
  day_other = vd_appointment_list_new (fx->store, start, end, staff2);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (day)), ==, 0);
  g_signal_connect (day, "items-changed", G_CALLBACK (items_changed_cb), &seen);

  second = add_appointment (fx->store, pet, client, staff, "2024-05-02T11:00:00Z", "2024-05-02T11:30:00Z");
  first = add_appointment (fx->store, pet, client, staff, "2024-05-02T09:00:00Z", "2024-05-02T09:30:00Z");
  g_free (add_appointment (fx->store, pet, client, staff, "2024-05-03T09:00:00Z", "2024-05-03T09:30:00Z"));
  drain ();
  /* Reloads are coalesced: one reload for the burst. */
  g_assert_cmpuint (seen.calls, ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (day)), ==, 2);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (day_other)), ==, 0);
  item = g_list_model_get_item (G_LIST_MODEL (day), 0);
  g_assert_cmpstr (vd_appointment_item_get_id (item), ==, first);
  g_assert_cmpstr (vd_appointment_item_get_pet_name (item), ==, "Luna");
  g_assert_cmpstr (vd_appointment_item_get_client_name (item), ==, "Ana García");
  g_assert_cmpstr (vd_appointment_item_get_staff_name (item), ==, "Dra. López");
  g_assert_cmpstr (vd_appointment_item_get_staff_color (item), ==, "#3584e4");
  g_assert_cmpstr (vd_appointment_item_get_pet_allergies (item), ==, "penicillin");
  g_assert_cmpint (vd_appointment_item_get_starts_at (item), ==, start + 9 * 3600);

  /* Checking in the second appointment changes exactly its position. */
  seen.calls = 0;
  edit = change_new ("appointments", second);
  set_text (edit, "status", "checked_in");
  g_free (commit_or_die (fx->store, edit));
  drain ();
  g_assert_cmpuint (seen.calls, ==, 1);
  g_assert_cmpuint (seen.position, ==, 1);
  g_assert_cmpuint (seen.removed, ==, 1);
  g_assert_cmpuint (seen.added, ==, 1);
  {
    g_autoptr(VdAppointmentItem) again = g_list_model_get_item (G_LIST_MODEL (day), 1);

    g_object_get (again, "status", &status, NULL);
    g_assert_cmpstr (status, ==, "checked_in");
  }
  /* The unchanged first item is the same object, untouched. */
  {
    g_autoptr(VdAppointmentItem) same = g_list_model_get_item (G_LIST_MODEL (day), 0);

    g_assert_true (same == item);
  }

  /* A pulled page adds one between them: one insertion at position 1. */
  seen.calls = 0;
  page = page_new (5, vd_hlc_make (now_ms, 0));
  {
    VdChange *change = vd_change_new (vd_schema_lookup_table ("appointments"), remote_id,
                                      vd_hlc_make (now_ms, 1), OTHER_SITE);

    set_text (change, "pet_id", pet);
    set_text (change, "client_id", client);
    set_text (change, "staff_id", staff2);
    set_text (change, "kind", "vaccination");
    set_text (change, "status", "confirmed");
    set_text (change, "starts_at", "2024-05-02T10:00:00Z");
    set_text (change, "ends_at", "2024-05-02T10:15:00Z");
    set_bool (change, "allow_overlap", FALSE);
    set_bool (change, "deleted", FALSE);
    change->seq = 5;
    g_ptr_array_add (page->changes, change);
  }
  g_assert_true (vd_store_apply_pull (fx->store, page, &error));
  g_assert_no_error (error);
  drain ();
  g_assert_cmpuint (seen.calls, ==, 1);
  g_assert_cmpuint (seen.position, ==, 1);
  g_assert_cmpuint (seen.removed, ==, 0);
  g_assert_cmpuint (seen.added, ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (day_other)), ==, 1);

  /* Deleting removes it. */
  seen.calls = 0;
  g_clear_pointer (&edit, vd_change_free);
  edit = change_new ("appointments", first);
  set_bool (edit, "deleted", TRUE);
  g_free (commit_or_die (fx->store, edit));
  drain ();
  g_assert_cmpuint (seen.calls, ==, 1);
  g_assert_cmpuint (seen.position, ==, 0);
  g_assert_cmpuint (seen.removed, ==, 1);
  g_assert_cmpuint (seen.added, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (day)), ==, 2);

  /* Staff, clients with a filter, a client's pets. */
  staff_list = vd_staff_list_new (fx->store);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (staff_list)), ==, 2);
  g_clear_pointer (&edit, vd_change_free);
  edit = change_new ("staff", staff2);
  set_bool (edit, "active", FALSE);
  g_free (commit_or_die (fx->store, edit));
  drain ();
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (staff_list)), ==, 1);
  vd_staff_list_set_show_inactive (staff_list, TRUE);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (staff_list)), ==, 2);

  g_free (add_client (fx->store, "Bruno", "Díaz"));
  g_free (add_client (fx->store, "Carla", "50%_off"));
  clients = vd_client_list_new (fx->store, NULL);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (clients)), ==, 3);
  vd_client_list_set_filter (clients, "ana gar");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (clients)), ==, 1);
  vd_client_list_set_filter (clients, "%");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (clients)), ==, 1);
  vd_client_list_set_filter (clients, "  ");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (clients)), ==, 3);

  pets = vd_pet_list_new (fx->store, client);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (pets)), ==, 1);
  vd_pet_list_set_client_id (pets, staff);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (pets)), ==, 0);
}

/* A remote appointment of the day, in a page of its own. */
static VdPullAnswer *
appointment_page (gint64      cursor,
                  const char *pet,
                  const char *client,
                  const char *staff,
                  const char *starts,
                  const char *ends)
{
  gint64 now_ms = g_get_real_time () / 1000;
  VdPullAnswer *page = page_new (cursor, vd_hlc_make (now_ms, 0));
  g_autofree char *id = vd_uuid_new ();
  VdChange *change = vd_change_new (vd_schema_lookup_table ("appointments"), id,
                                    vd_hlc_make (now_ms, (guint) cursor), OTHER_SITE);

  set_text (change, "pet_id", pet);
  set_text (change, "client_id", client);
  set_text (change, "staff_id", staff);
  set_text (change, "kind", "vaccination");
  set_text (change, "status", "confirmed");
  set_text (change, "starts_at", starts);
  set_text (change, "ends_at", ends);
  change->seq = cursor;
  g_ptr_array_add (page->changes, change);
  return page;
}

static void
apply_or_die (VdStore      *store,
              VdPullAnswer *page)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (vd_store_apply_pull (store, page, &error));
  g_assert_no_error (error);
  vd_pull_answer_free (page);
}

/* Pulled pages in quick succession (a bootstrap) reload a list at most every 250 ms;
 * someone's own save is shown at once even while such a reload is held back. */
static void
test_models_pulled_pages (Fixture       *fx,
                          gconstpointer  data)
{
  g_autoptr(VdAppointmentList) day = NULL;
  g_autofree char *staff = add_staff (fx->store, "Dra. López");
  g_autofree char *client = add_client (fx->store, "Ana", "García");
  g_autofree char *pet = add_pet (fx->store, client, "Luna");
  gint64 start, end, deadline;
  ItemsChanged seen = { 0 };

  vd_time_day_bounds (vd_store_get_time_zone (fx->store), 2024, 5, 2, &start, &end);
  day = vd_appointment_list_new (fx->store, start, end, NULL);
  g_signal_connect (day, "items-changed", G_CALLBACK (items_changed_cb), &seen);

  /* The first page after a quiet spell shows at once. */
  apply_or_die (fx->store, appointment_page (1, pet, client, staff, "2024-05-02T09:00:00Z", "2024-05-02T09:30:00Z"));
  drain ();
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (day)), ==, 1);

  /* The next one right after it waits for its turn, then shows. */
  apply_or_die (fx->store, appointment_page (2, pet, client, staff, "2024-05-02T10:00:00Z", "2024-05-02T10:30:00Z"));
  drain ();
  if (g_list_model_get_n_items (G_LIST_MODEL (day)) != 1)
    {
      /* More than 250 ms went by since the first page: nothing left to check here. */
      g_test_incomplete ("the machine is too slow to see a held-back reload");
      return;
    }
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (g_list_model_get_n_items (G_LIST_MODEL (day)) != 2 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (day)), ==, 2);

  /* A page held back, then a save: both show on the next idle. */
  apply_or_die (fx->store, appointment_page (3, pet, client, staff, "2024-05-02T11:00:00Z", "2024-05-02T11:30:00Z"));
  drain ();
  if (g_list_model_get_n_items (G_LIST_MODEL (day)) != 2)
    {
      g_test_incomplete ("the machine is too slow to see a held-back reload");
      return;
    }
  g_free (add_appointment (fx->store, pet, client, staff, "2024-05-02T12:00:00Z", "2024-05-02T12:30:00Z"));
  seen.calls = 0;
  drain ();
  g_assert_cmpuint (seen.calls, ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (day)), ==, 4);
}

static void
test_dst_days (Fixture       *fx,
               gconstpointer  data)
{
  VdClinicInfo info = {
    .tenant_id = (char *) TENANT, .slug = (char *) "norte", .name = (char *) "Hospital Veterinario Norte",
    .timezone = (char *) "Europe/Madrid", .currency = (char *) "EUR", .role = (char *) "front_desk",
  };
  g_autoptr(VdClinicInfo) back = NULL;
  g_autoptr(VdAppointmentList) day = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *staff = NULL;
  g_autofree char *client = NULL;
  g_autofree char *pet = NULL;
  static const struct
  {
    const char *starts;
    int         day;   /* 0 = not on either DST day */
  } appointments[] = {
    { "2024-03-30T22:30:00Z", 0 },    /* 23:30 on the 30th, CET */
    { "2024-03-30T23:30:00Z", 31 },   /* 00:30 on the 31st, CET */
    { "2024-03-31T21:30:00Z", 31 },   /* 23:30 on the 31st, CEST */
    { "2024-03-31T22:30:00Z", 0 },    /* 00:30 on 1 April */
    { "2024-10-26T21:30:00Z", 0 },    /* 23:30 on the 26th, CEST */
    { "2024-10-26T22:30:00Z", 27 },   /* 00:30 on the 27th, CEST */
    { "2024-10-27T00:30:00Z", 27 },   /* 02:30 CEST, the first of the two */
    { "2024-10-27T01:30:00Z", 27 },   /* 02:30 CET, the second */
    { "2024-10-27T22:30:00Z", 27 },   /* 23:30 on the 27th, CET */
    { "2024-10-27T23:30:00Z", 0 },    /* 00:30 on the 28th */
  };
  gint64 start, end;
  guint expect_31 = 0, expect_27 = 0;

  g_assert_true (vd_store_set_clinic_info (fx->store, &info, &error));
  g_assert_no_error (error);
  back = vd_store_dup_clinic_info (fx->store);
  g_assert_cmpstr (back->name, ==, "Hospital Veterinario Norte");
  g_assert_cmpstr (back->timezone, ==, "Europe/Madrid");
  g_assert_cmpstr (g_time_zone_get_identifier (vd_store_get_time_zone (fx->store)), ==, "Europe/Madrid");

  staff = add_staff (fx->store, "Dra. López");
  client = add_client (fx->store, "Ana", "García");
  pet = add_pet (fx->store, client, "Luna");
  for (guint i = 0; i < G_N_ELEMENTS (appointments); i++)
    {
      g_autofree char *ends = NULL;
      gint64 t;

      vd_time_parse_utc (appointments[i].starts, &t, NULL);
      ends = vd_time_dup_utc (t + 900);
      g_free (add_appointment (fx->store, pet, client, staff, appointments[i].starts, ends));
      expect_31 += appointments[i].day == 31;
      expect_27 += appointments[i].day == 27;
    }

  day = vd_appointment_list_new (fx->store, 0, 0, NULL);
  vd_appointment_list_set_day (day, 2024, 3, 31);
  vd_appointment_list_get_range (day, &start, &end);
  g_assert_cmpint (end - start, ==, 23 * 3600);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (day)), ==, expect_31);

  vd_appointment_list_set_day (day, 2024, 10, 27);
  vd_appointment_list_get_range (day, &start, &end);
  g_assert_cmpint (end - start, ==, 25 * 3600);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (day)), ==, expect_27);
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (day)); i++)
    {
      g_autoptr(VdAppointmentItem) item = g_list_model_get_item (G_LIST_MODEL (day), i);
      g_autoptr(GDateTime) local = vd_time_to_zone (vd_appointment_item_get_starts_at (item),
                                                    vd_store_get_time_zone (fx->store));

      g_assert_cmpint (g_date_time_get_day_of_month (local), ==, 27);
    }
}

/* ---- Measurements (-m perf) ---- */

/* A client's and a pet's history: every appointment of theirs, newest first, deleted ones
 * left out, and a new booking at the top after a reload. */
static void
test_history (Fixture       *fx,
              gconstpointer  data)
{
  g_autofree char *staff = add_staff (fx->store, "Dra. López");
  g_autofree char *ana = add_client (fx->store, "Ana", "García");
  g_autofree char *luis = add_client (fx->store, "Luis", "Pérez");
  g_autofree char *luna = add_pet (fx->store, ana, "Luna");
  g_autofree char *sol = add_pet (fx->store, ana, "Sol");
  g_autofree char *rex = add_pet (fx->store, luis, "Rex");
  g_autofree char *a1 = add_appointment (fx->store, luna, ana, staff, "2024-01-10T09:00:00Z", "2024-01-10T09:30:00Z");
  g_autofree char *a2 = add_appointment (fx->store, sol, ana, staff, "2024-03-10T09:00:00Z", "2024-03-10T09:30:00Z");
  g_autofree char *a3 = add_appointment (fx->store, luna, ana, staff, "2030-05-01T09:00:00Z", "2030-05-01T09:30:00Z");
  g_autofree char *gone = add_appointment (fx->store, luna, ana, staff, "2024-02-01T09:00:00Z", "2024-02-01T09:30:00Z");
  g_autofree char *other = add_appointment (fx->store, rex, luis, staff, "2024-02-15T09:00:00Z", "2024-02-15T09:30:00Z");
  g_autofree char *a4 = NULL;
  g_autoptr(VdAppointmentList) of_client = NULL;
  g_autoptr(VdAppointmentList) of_pet = NULL;
  g_autoptr(VdChange) remove = change_new ("appointments", gone);
  const char *client_expected[] = { a3, a2, a1 };
  const char *pet_expected[] = { a3, a1 };

  set_bool (remove, "deleted", TRUE);
  g_free (commit_or_die (fx->store, remove));

  of_client = vd_appointment_list_new_history (fx->store, ana, NULL);
  of_pet = vd_appointment_list_new_history (fx->store, NULL, luna);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (of_client)), ==, G_N_ELEMENTS (client_expected));
  for (guint i = 0; i < G_N_ELEMENTS (client_expected); i++)
    {
      g_autoptr(VdAppointmentItem) item = g_list_model_get_item (G_LIST_MODEL (of_client), i);

      g_assert_cmpstr (vd_appointment_item_get_id (item), ==, client_expected[i]);
      g_assert_cmpstr (vd_appointment_item_get_client_id (item), ==, ana);
    }
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (of_pet)), ==, G_N_ELEMENTS (pet_expected));
  for (guint i = 0; i < G_N_ELEMENTS (pet_expected); i++)
    {
      g_autoptr(VdAppointmentItem) item = g_list_model_get_item (G_LIST_MODEL (of_pet), i);

      g_assert_cmpstr (vd_appointment_item_get_id (item), ==, pet_expected[i]);
      g_assert_cmpstr (vd_appointment_item_get_pet_name (item), ==, "Luna");
      g_assert_cmpstr (vd_appointment_item_get_pet_allergies (item), ==, "penicillin");
    }

  /* A later booking goes to the top once the store's change reaches the list. */
  a4 = add_appointment (fx->store, luna, ana, staff, "2031-01-01T09:00:00Z", "2031-01-01T09:30:00Z");
  drain ();
  drain ();
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (of_client)), ==, 4);
  {
    g_autoptr(VdAppointmentItem) top = g_list_model_get_item (G_LIST_MODEL (of_client), 0);

    g_assert_cmpstr (vd_appointment_item_get_id (top), ==, a4);
  }
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (of_pet)), ==, 3);
  (void) other;
}

/* The Clients page lists 20,000 clients through VdClientList, filtered as the person
 * types: its items are made when a list (re)loads, so this measures that cost and checks
 * the filter finds exactly what it should. */
static void
test_many_clients (Fixture       *fx,
                   gconstpointer  data)
{
  static const char * const first[] = { "Ana", "Luis", "María", "José", "Carmen", "Pedro", "Lucía", "Jorge" };
  static const char * const last[] = { "García", "Pérez", "López", "Sánchez", "Romero", "Navarro", "Ortega" };
  VdCellStore *cells = vd_store_get_cell_store (fx->store);
  sqlite3 *db = vd_store_get_db (fx->store);
  g_autoptr(VdClientList) list = NULL;
  guint n_clients = 20000, n_expected = 0;
  gint64 t0;
  double load_ms, filter_ms, narrow_ms, clear_ms;

  t0 = g_get_monotonic_time ();
  sqlite3_exec (db, "BEGIN", NULL, NULL, NULL);
  for (guint i = 0; i < n_clients; i++)
    {
      g_autofree char *id = vd_uuid_new ();
      g_autofree char *phone = g_strdup_printf ("+34 600 %06u", i);
      g_autoptr(VdChange) change = vd_change_new (vd_schema_lookup_table ("clients"), id,
                                                  vd_hlc_make (1700000000000 + i, 0), OTHER_SITE);

      set_text (change, "first_name", first[i % G_N_ELEMENTS (first)]);
      set_text (change, "last_name", last[(i / G_N_ELEMENTS (first)) % G_N_ELEMENTS (last)]);
      set_text (change, "phone", phone);
      set_bool (change, "deleted", FALSE);
      g_assert_true (vd_cell_store_apply (cells, change, NULL, NULL));
      /* "ortega" in a last name, or "0123" somewhere in the phone number. */
      if (g_str_equal (last[(i / G_N_ELEMENTS (first)) % G_N_ELEMENTS (last)], "Ortega"))
        n_expected++;
    }
  sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
  g_test_message ("bulk insert of %u clients: %.1f s", n_clients, (g_get_monotonic_time () - t0) / 1e6);

  t0 = g_get_monotonic_time ();
  list = vd_client_list_new (fx->store, NULL);
  load_ms = (g_get_monotonic_time () - t0) / 1000.0;
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, n_clients);

  t0 = g_get_monotonic_time ();
  vd_client_list_set_filter (list, "orte");
  filter_ms = (g_get_monotonic_time () - t0) / 1000.0;
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, n_expected);
  for (guint i = 0; i < n_expected; i += 97)
    {
      g_autoptr(VdClientItem) item = g_list_model_get_item (G_LIST_MODEL (list), i);

      g_assert_cmpstr (vd_client_item_get_last_name (item), ==, "Ortega");
    }

  t0 = g_get_monotonic_time ();
  vd_client_list_set_filter (list, "600 012345");
  narrow_ms = (g_get_monotonic_time () - t0) / 1000.0;
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, 1);

  t0 = g_get_monotonic_time ();
  vd_client_list_set_filter (list, "");
  clear_ms = (g_get_monotonic_time () - t0) / 1000.0;
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (list)), ==, n_clients);

  g_test_message ("%u clients: first load %.1f ms; filter “orte” (%u left) %.1f ms; "
                  "“600 012345” %.1f ms; back to all %.1f ms",
                  n_clients, load_ms, n_expected, filter_ms, narrow_ms, clear_ms);
}

static int
cmp_double (gconstpointer a,
            gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
test_perf (Fixture       *fx,
           gconstpointer  data)
{
  g_autofree char *staff = add_staff (fx->store, "Dra. López");
  g_autofree char *client = add_client (fx->store, "Ana", "García");
  g_autofree char *pet = add_pet (fx->store, client, "Luna");
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(VdAppointmentList) day = NULL;
  gint64 base, start, end, t0;
  guint n_bulk = 100000;
  double load_ms[5];

  vd_time_parse_utc ("2024-01-01T08:00:00Z", &base, NULL);

  /* 1,000 saves, each its own durable transaction. */
  for (int i = 0; i < 1000; i++)
    {
      g_autofree char *s = vd_time_dup_utc (base + i * 1800);
      g_autofree char *e = vd_time_dup_utc (base + i * 1800 + 1200);
      double ms;

      t0 = g_get_monotonic_time ();
      g_free (add_appointment (fx->store, pet, client, staff, s, e));
      ms = (g_get_monotonic_time () - t0) / 1000.0;
      g_array_append_val (times, ms);
    }
  g_array_sort (times, cmp_double);
  g_test_minimized_result (g_array_index (times, double, 500), "commit p50 %.3f ms", g_array_index (times, double, 500));
  g_test_message ("commit (synchronous=FULL): p50 %.3f ms, p99 %.3f ms, max %.3f ms",
                  g_array_index (times, double, 500), g_array_index (times, double, 990),
                  g_array_index (times, double, 999));

  /* 100,000 appointments over about a year, written through the cell store in bulk. */
  {
    VdCellStore *cells = vd_store_get_cell_store (fx->store);
    sqlite3 *db = vd_store_get_db (fx->store);

    t0 = g_get_monotonic_time ();
    sqlite3_exec (db, "BEGIN", NULL, NULL, NULL);
    for (guint i = 0; i < n_bulk; i++)
      {
        g_autofree char *id = vd_uuid_new ();
        g_autofree char *s = vd_time_dup_utc (base + (gint64) (i / 300) * 86400 + (i % 300) * 120);
        g_autofree char *e = vd_time_dup_utc (base + (gint64) (i / 300) * 86400 + (i % 300) * 120 + 900);
        g_autoptr(VdChange) change = vd_change_new (vd_schema_lookup_table ("appointments"), id,
                                                    vd_hlc_make (1700000000000 + i, 0), OTHER_SITE);

        set_text (change, "pet_id", pet);
        set_text (change, "client_id", client);
        set_text (change, "staff_id", staff);
        set_text (change, "kind", "consultation");
        set_text (change, "status", "scheduled");
        set_text (change, "starts_at", s);
        set_text (change, "ends_at", e);
        set_bool (change, "deleted", FALSE);
        vd_cell_store_apply (cells, change, NULL, NULL);
      }
    sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
    g_test_message ("bulk insert of %u appointments: %.1f s", n_bulk,
                    (g_get_monotonic_time () - t0) / 1e6);
  }

  vd_time_day_bounds (vd_store_get_time_zone (fx->store), 2024, 3, 15, &start, &end);
  for (int k = 0; k < 5; k++)
    {
      t0 = g_get_monotonic_time ();
      if (day == NULL)
        day = vd_appointment_list_new (fx->store, start, end, NULL);
      else
        {
          vd_appointment_list_set_range (day, 0, 0);
          vd_appointment_list_set_range (day, start, end);
        }
      load_ms[k] = (g_get_monotonic_time () - t0) / 1000.0;
    }
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (day)), ==, 300);
  g_test_message ("loading a day (300 of %u appointments): first %.2f ms, then %.2f %.2f %.2f %.2f ms",
                  n_bulk + 1000, load_ms[0], load_ms[1], load_ms[2], load_ms[3], load_ms[4]);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *data_home = NULL;

  g_test_init (&argc, &argv, NULL);
  main_thread = g_thread_self ();

  /* Never the developer's own data. */
  data_home = g_dir_make_tmp ("vd-test-xdg-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_unsetenv ("VD_TEST_CLOCK_OFFSET_MS");

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/store/commit", test_commit);
  ADD ("/store/identity-and-clock", test_identity_and_clock);
  ADD ("/store/inflight-batch", test_inflight_batch);
  ADD ("/store/ack", test_ack);
  ADD ("/store/apply-pull", test_apply_pull);
  ADD ("/store/pull-thread", test_pull_thread);
  ADD ("/store/checkpoint", test_checkpoint);
  ADD ("/store/restamp", test_restamp);
  ADD ("/store/models", test_models);
  ADD ("/store/models-pulled-pages", test_models_pulled_pages);
  ADD ("/store/dst-days", test_dst_days);
  ADD ("/store/history", test_history);
  ADD ("/store/many-clients", test_many_clients);
  if (g_test_perf ())
    ADD ("/store/perf", test_perf);
#undef ADD

  return g_test_run ();
}
