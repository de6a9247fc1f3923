/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-lost-edits.c — a person's save writes only what they changed
 * (vd_store_commit_edit): two desks against a real vetdesk-syncd edit a client's phone
 * while apart, and a stale form saved with no change of its own leaves the other desk's
 * newer value on both; and, for every kind of record, a save with no change queues
 * nothing while a save of some fields queues exactly those. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "vd-store.h"
#include "vd-sync-engine.h"
#include "vd-session.h"
#include "vd-id.h"
#include "vd-test-syncd.h"

#define PASSWORD "correct horse battery"

/* ---- the daemon, one clinic, two desks (as in test-sync.c) ---- */

typedef struct
{
  VdTestSyncd *syncd;
  char        *tenant;
  char        *dir;
} Env;

static char *
cli (Env        *env,
     const char *stdin_text,
     const char *a0, const char *a1, const char *a2, const char *a3, const char *a4,
     const char *a5, const char *a6, const char *a7, const char *a8, const char *a9)
{
  g_autoptr(GError) error = NULL;
  char *out = vd_test_syncd_run (env->syncd, stdin_text, &error,
                                 a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, NULL);

  g_assert_no_error (error);
  return out;
}

static Env *
env_new (void)
{
  Env *env = g_new0 (Env, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *company = NULL;
  const char * const users[] = { "ana", "bruno", NULL };

  env->syncd = vd_test_syncd_new (VETDESK_SYNCD, NULL);
  vd_test_syncd_set_config (env->syncd,
                            "[limits]\naddress-rate=0\nclinic-rate=0\nlogin-rate=0\n");
  g_free (cli (env, NULL, "migrate", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
  company = cli (env, NULL, "add-company", "Grupo Norte", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
  env->tenant = vd_test_syncd_run (env->syncd, NULL, &error, "add-tenant", "--slug", "norte",
                                   "--name", "Norte", "--timezone", "Europe/Madrid",
                                   "--currency", "EUR", "--company", company, NULL);
  g_assert_no_error (error);
  g_assert_true (vd_uuid_is_valid (env->tenant));
  for (guint i = 0; users[i] != NULL; i++)
    g_free (cli (env, PASSWORD "\n", "add-user", "--username", users[i], "--display-name",
                 users[i], "--clinic", "norte:front_desk", NULL, NULL, NULL));
  if (!vd_test_syncd_start (env->syncd, &error))
    g_error ("%s", error->message);
  env->dir = g_dir_make_tmp ("vd-test-lost-edits-XXXXXX", &error);
  g_assert_no_error (error);
  return env;
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
env_free (Env *env)
{
  vd_test_syncd_free (env->syncd);
  remove_tree (env->dir);
  g_free (env->dir);
  g_free (env->tenant);
  g_free (env);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Env, env_free)

typedef struct
{
  gboolean      done;
  GAsyncResult *result;
} Wait;

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
  wait->done = TRUE;
}

static void
wait_run (Wait *wait)
{
  while (!wait->done)
    g_main_context_iteration (NULL, TRUE);
}

typedef struct
{
  VdStore      *store;
  VdSyncEngine *engine;
} Desk;

static Desk *
desk_new (Env        *env,
          const char *username)
{
  Desk *desk = g_new0 (Desk, 1);
  g_autofree char *path = g_strdup_printf ("%s/%s.db", env->dir, username);
  g_autoptr(VdLoginResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  desk->store = vd_store_open (path, env->tenant, &error);
  g_assert_no_error (error);
  vd_session_login_async (vd_test_syncd_get_url (env->syncd), vd_test_syncd_get_fingerprint (env->syncd),
                          username, PASSWORD, vd_store_get_device_id (desk->store), NULL, "test desk",
                          NULL, wait_cb, &wait);
  wait_run (&wait);
  result = vd_session_login_finish (wait.result, &error);
  g_object_unref (wait.result);
  g_assert_no_error (error);
  g_assert_true (vd_store_set_clinic_info (desk->store, g_ptr_array_index (result->clinics, 0), &error));
  desk->engine = vd_sync_engine_new (desk->store, vd_test_syncd_get_url (env->syncd),
                                     vd_test_syncd_get_fingerprint (env->syncd));
  vd_sync_engine_set_tokens (desk->engine, result->access_token, result->refresh_token);
  return desk;
}

static void
desk_free (Desk *desk)
{
  vd_sync_engine_stop (desk->engine);
  g_clear_object (&desk->engine);
  g_clear_object (&desk->store);
  g_free (desk);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Desk, desk_free)

static void
desk_sync (Desk *desk)
{
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  vd_sync_engine_sync_async (desk->engine, NULL, wait_cb, &wait);
  wait_run (&wait);
  vd_sync_engine_sync_finish (desk->engine, wait.result, &error);
  g_object_unref (wait.result);
  g_assert_no_error (error);
  g_assert_cmpint (vd_sync_engine_get_state (desk->engine), ==, VD_SYNC_UP_TO_DATE);
}

/* ---- rows ---- */

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

/* A row as a form shows it: every column's value, to be cleared with row_free. */
static VdValue *
row_load (VdStore    *store,
          const char *table_name,
          const char *id)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  VdValue *values = g_new0 (VdValue, table->n_columns);
  g_autoptr(GError) error = NULL;

  g_assert_true (vd_store_get_row (store, table, id, values, &error));
  g_assert_no_error (error);
  return values;
}

static void
row_free (const VdTable *table,
          VdValue       *values)
{
  for (guint c = 0; c < table->n_columns; c++)
    vd_value_clear (&values[c]);
  g_free (values);
}

static char *
row_text (VdStore    *store,
          const char *table_name,
          const char *id,
          const char *column)
{
  const VdTable *table = vd_schema_lookup_table (table_name);
  VdValue *values = row_load (store, table_name, id);
  const VdValue *v = &values[vd_table_lookup_column (table, column)->index];
  char *text = v->kind == VD_VALUE_TEXT ? g_strdup (v->s) : NULL;

  row_free (table, values);
  return text;
}

/* What pressing Save on a form showing loaded does: every field the form has, with the
 * values the widgets hold (here: still the loaded ones). */
static VdChange *
form_change (VdStore       *store,
             const char    *table_name,
             const char    *id,
             const VdValue *loaded)
{
  VdChange *change = vd_store_new_change (store, table_name, id);

  for (guint c = 0; c < change->table->n_columns; c++)
    {
      const VdColumn *column = &change->table->columns[c];
      VdValue value = { VD_VALUE_NULL };

      if (strcmp (column->name, "deleted") == 0)
        continue;
      vd_value_copy (&loaded[c], &value);
      vd_change_take_cell (change, column, &value);
    }
  return change;
}

/* ---- the two desks ---- */

static void
test_stale_form (void)
{
  g_autoptr(Env) env = env_new ();
  g_autoptr(Desk) a = desk_new (env, "ana");
  g_autoptr(Desk) b = desk_new (env, "bruno");
  const VdTable *clients = vd_schema_lookup_table ("clients");
  g_autoptr(VdChange) create = vd_store_new_change (a->store, "clients", NULL);
  g_autoptr(VdChange) edit_a = NULL;
  g_autoptr(VdChange) edit_b = NULL;
  g_autoptr(VdChange) save = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *client = NULL;
  g_autofree char *phone_a = NULL;
  g_autofree char *phone_b = NULL;
  VdValue *shown;
  gboolean committed = TRUE;

  set_text (create, "first_name", "Begoña");
  set_text (create, "last_name", "Ibáñez");
  set_text (create, "phone", "+34 600 000 000");
  g_assert_true (vd_store_commit (a->store, create, &error));
  client = g_strdup (create->id);
  desk_sync (a);
  desk_sync (b);

  /* Both apart: A sets …001 (and its form shows it), B sets …002 a little later. */
  edit_a = vd_store_new_change (a->store, "clients", client);
  set_text (edit_a, "phone", "+34 600 000 001");
  g_assert_true (vd_store_commit (a->store, edit_a, &error));
  shown = row_load (a->store, "clients", client);
  g_usleep (5 * 1000);
  edit_b = vd_store_new_change (b->store, "clients", client);
  set_text (edit_b, "phone", "+34 600 000 002");
  g_assert_true (vd_store_commit (b->store, edit_b, &error));

  /* Together again: B's later edit wins on both. */
  desk_sync (a);
  desk_sync (b);
  desk_sync (a);
  phone_a = row_text (a->store, "clients", client, "phone");
  g_assert_cmpstr (phone_a, ==, "+34 600 000 002");
  g_assert_cmpuint (vd_store_count_pending (a->store), ==, 0);

  /* A's form, still showing …001, is saved with no change of its own. */
  save = form_change (a->store, "clients", client, shown);
  g_assert_true (vd_store_commit_edit (a->store, save, shown, &committed, &error));
  g_assert_no_error (error);
  g_assert_false (committed);
  g_assert_cmpuint (vd_store_count_pending (a->store), ==, 0);
  desk_sync (a);
  desk_sync (b);

  g_clear_pointer (&phone_a, g_free);
  phone_a = row_text (a->store, "clients", client, "phone");
  phone_b = row_text (b->store, "clients", client, "phone");
  g_assert_cmpstr (phone_a, ==, "+34 600 000 002");
  g_assert_cmpstr (phone_b, ==, "+34 600 000 002");
  row_free (clients, shown);
}

/* ---- saving with no change, for every kind of record ---- */

/* Two valid values for each field a form has, by table and column. */
typedef struct
{
  const char *table;
  const char *column;
  const char *a;   /* "true"/"false" for booleans, a number for reals */
  const char *b;
} Pool;

static const Pool pools[] = {
  { "staff", "name", "Dra. López", "Iñaki Ruiz" },
  { "staff", "role", "veterinarian", "groomer" },
  { "staff", "email", "lopez@example.com", "iruiz@example.org" },
  { "staff", "phone", "+34 600 111 222", NULL },
  { "staff", "color", "#3584e4", "#e01b24" },
  { "staff", "active", "true", "false" },
  { "clients", "first_name", "Begoña", "Vicente" },
  { "clients", "last_name", "Ibáñez", "García" },
  { "clients", "email", "bego@example.com", NULL },
  { "clients", "phone", "+34 600 000 001", "600111222" },
  { "clients", "address", "Calle Mayor 1", NULL },
  { "clients", "notes", "Pays in cash", "Prefers mornings" },
  { "pets", "name", "Luna", "Tofu" },
  { "pets", "species", "dog", "cat" },
  { "pets", "breed", "Galgo", NULL },
  { "pets", "sex", "female", "unknown" },
  { "pets", "neutered", "true", "false" },
  { "pets", "birth_date", "2019-05-06", NULL },
  { "pets", "weight_kg", "12.5", "3.25" },
  { "pets", "microchip", "985141000123456", NULL },
  { "pets", "color", "Brindle", "White" },
  { "pets", "allergies", "Penicillin", NULL },
  { "pets", "deceased", "false", "true" },
  { "pets", "notes", NULL, "Bites" },
  { "appointments", "room", "1", NULL },
  { "appointments", "kind", "consultation", "surgery" },
  { "appointments", "starts_at", "2031-03-03T09:00:00Z", "2031-03-03T10:00:00Z" },
  { "appointments", "ends_at", "2031-03-03T11:00:00Z", "2031-03-03T12:00:00Z" },
  { "appointments", "status", "scheduled", "confirmed" },
  { "appointments", "reason", "Vaccines", NULL },
  { "appointments", "notes", NULL, "Nervous" },
  { "appointments", "allow_overlap", "false", "true" },
};

static void
pool_value (const VdColumn *column,
            const char     *text,
            VdValue        *value)
{
  vd_value_clear (value);
  if (text == NULL)
    return;
  if (column->type == VD_TYPE_BOOLEAN)
    vd_value_set_bool (value, strcmp (text, "true") == 0);
  else if (column->type == VD_TYPE_REAL)
    vd_value_set_real (value, g_ascii_strtod (text, NULL));
  else
    vd_value_set_text (value, text);
}

static char *
new_row (VdStore    *store,
         const char *table_name,
         const char *ref_column_a, const char *ref_a,
         const char *ref_column_b, const char *ref_b,
         const char *ref_column_c, const char *ref_c)
{
  g_autoptr(VdChange) change = vd_store_new_change (store, table_name, NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (pools); i++)
    if (strcmp (pools[i].table, table_name) == 0)
      {
        const VdColumn *column = vd_table_lookup_column (change->table, pools[i].column);
        VdValue value = { VD_VALUE_NULL };

        pool_value (column, pools[i].a, &value);
        vd_change_take_cell (change, column, &value);
      }
  if (ref_column_a != NULL)
    set_text (change, ref_column_a, ref_a);
  if (ref_column_b != NULL)
    set_text (change, ref_column_b, ref_b);
  if (ref_column_c != NULL)
    set_text (change, ref_column_c, ref_c);
  g_assert_true (vd_store_commit (store, change, &error));
  g_assert_no_error (error);
  return g_strdup (change->id);
}

static void
count_changed_cb (VdStore    *store,
                  const char *table,
                  const char *row_id,
                  guint      *count)
{
  (*count)++;
}

static void
test_no_change_pushes_nothing (void)
{
  g_autofree char *dir = g_dir_make_tmp ("vd-test-lost-edits-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "desk.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(VdStore) store = vd_store_open (path, "00000000-0000-4000-8000-000000000001", &error);
  const char * const tables[] = { "staff", "clients", "pets", "appointments" };
  char *ids[4];
  guint changed = 0;
  guint empty_saves = 0, field_saves = 0;

  g_assert_no_error (error);
  ids[0] = new_row (store, "staff", NULL, NULL, NULL, NULL, NULL, NULL);
  ids[1] = new_row (store, "clients", NULL, NULL, NULL, NULL, NULL, NULL);
  ids[2] = new_row (store, "pets", "client_id", ids[1], NULL, NULL, NULL, NULL);
  ids[3] = new_row (store, "appointments", "pet_id", ids[2], "client_id", ids[1], "staff_id", ids[0]);
  g_signal_connect (store, "changed", G_CALLBACK (count_changed_cb), &changed);

  /* Many saves of random records with a random set of fields changed (often none): the
   * outbox grows by one change exactly when some field changed, holding those fields
   * and no other. */
  for (guint round = 0; round < 400; round++)
    {
      guint k = (guint) g_test_rand_int_range (0, G_N_ELEMENTS (tables));
      const VdTable *table = vd_schema_lookup_table (tables[k]);
      VdValue *shown = row_load (store, tables[k], ids[k]);
      g_autoptr(VdChange) save = form_change (store, tables[k], ids[k], shown);
      g_autoptr(GPtrArray) edited = g_ptr_array_new ();
      guint pending = vd_store_count_pending (store);
      guint changed_before = changed;
      gboolean committed = FALSE;

      for (guint i = 0; i < G_N_ELEMENTS (pools); i++)
        {
          const VdColumn *column;
          const VdCell *cell;
          VdValue value = { VD_VALUE_NULL };

          if (strcmp (pools[i].table, tables[k]) != 0 || g_test_rand_int_range (0, 4) != 0)
            continue;
          column = vd_table_lookup_column (table, pools[i].column);
          cell = vd_change_get_cell (save, column->name);
          /* The other value of the pool than the one shown. */
          pool_value (column, pools[i].a, &value);
          if (vd_value_equal (&value, &cell->value))
            pool_value (column, pools[i].b, &value);
          if (vd_value_equal (&value, &cell->value))
            {
              vd_value_clear (&value);
              continue;
            }
          vd_change_take_cell (save, column, &value);
          g_ptr_array_add (edited, (gpointer) column);
        }

      g_assert_true (vd_store_commit_edit (store, save, shown, &committed, &error));
      g_assert_no_error (error);
      g_assert_cmpint (committed, ==, edited->len > 0);
      if (edited->len == 0)
        {
          empty_saves++;
          g_assert_cmpuint (vd_store_count_pending (store), ==, pending);
          g_assert_cmpuint (changed, ==, changed_before);
        }
      else
        {
          field_saves++;
          g_assert_cmpuint (vd_store_count_pending (store), ==, pending + 1);
          g_assert_cmpuint (save->cells->len, ==, edited->len);
          for (guint i = 0; i < edited->len; i++)
            g_assert_nonnull (vd_change_get_cell (save, ((const VdColumn *) edited->pdata[i])->name));
        }
      row_free (table, shown);
    }
  g_test_message ("%u saves with no change, %u with some", empty_saves, field_saves);
  g_assert_cmpuint (empty_saves, >, 0);
  g_assert_cmpuint (field_saves, >, 0);

  /* A store with an empty outbox stays empty through saves with no change. */
  {
    g_autofree char *path2 = g_build_filename (dir, "fresh.db", NULL);
    g_autoptr(VdStore) fresh = vd_store_open (path2, "00000000-0000-4000-8000-000000000001", &error);
    gint64 batch;
    g_autoptr(GPtrArray) batch_changes = NULL;

    g_assert_no_error (error);
    for (guint k = 0; k < G_N_ELEMENTS (tables); k++)
      {
        VdValue *shown = row_load (store, tables[k], ids[k]);
        g_autoptr(VdChange) save = form_change (fresh, tables[k], ids[k], shown);
        gboolean committed = TRUE;

        /* The row is not in this replica: only the loaded values count. */
        g_assert_true (vd_store_commit_edit (fresh, save, shown, &committed, &error));
        g_assert_false (committed);
        row_free (vd_schema_lookup_table (tables[k]), shown);
      }
    g_assert_cmpuint (vd_store_count_pending (fresh), ==, 0);
    g_assert_true (vd_store_next_batch (fresh, 100, &batch, &batch_changes, &error));
    g_assert_null (batch_changes);
  }

  for (guint k = 0; k < G_N_ELEMENTS (ids); k++)
    g_free (ids[k]);
  g_clear_object (&store);
  remove_tree (dir);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *home = NULL;

  g_test_init (&argc, &argv, NULL);
  home = g_dir_make_tmp ("vd-test-lost-edits-home-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", home, TRUE);

  g_test_add_func ("/lost-edits/stale-form", test_stale_form);
  g_test_add_func ("/lost-edits/no-change-pushes-nothing", test_no_change_pushes_nothing);

  return g_test_run ();
}
