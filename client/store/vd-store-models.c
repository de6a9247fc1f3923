/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-store-models.c — list models over the store's main connection: VdStoreList, the
 * base every list shares (reloading, coalescing, pausing), and the lists, each only its
 * query. Items are kept across reloads (matched by id) and updated in place, so a reload
 * reports only the positions whose rows came, went or changed. */
#define G_LOG_DOMAIN "vdclient"

#include "config.h"

#include "vd-store-models.h"

#include <string.h>

#include "vd-time.h"

/* ---- Items ------------------------------------------------------------------------ */

typedef struct
{
  const char *name;
  GType       type;       /* G_TYPE_STRING, G_TYPE_INT64 or G_TYPE_BOOLEAN */
  gboolean    timestamp;  /* an INT64 read from a UTC timestamp column */
} Field;

typedef struct
{
  const Field *fields;
  guint        n_fields;
  GParamSpec **pspecs;    /* n_fields + 1; [0] unused so a property id is its index + 1 */
} ItemKind;

/* Every item type has this layout: its fields' values in order, the id first. */
typedef struct
{
  GObject parent_instance;
  GValue  values[1];
} AnyItem;

#define ITEM_VALUES(obj) (((AnyItem *) (obj))->values)

static void
item_init_values (GObject        *object,
                  const ItemKind *kind)
{
  GValue *values = ITEM_VALUES (object);

  for (guint i = 0; i < kind->n_fields; i++)
    {
      g_value_init (&values[i], kind->fields[i].type);
      if (kind->fields[i].type == G_TYPE_STRING)
        g_value_set_static_string (&values[i], "");
    }
}

static void
item_clear_values (GObject        *object,
                   const ItemKind *kind)
{
  GValue *values = ITEM_VALUES (object);

  for (guint i = 0; i < kind->n_fields; i++)
    g_value_unset (&values[i]);
}

static void
item_get_property (GObject        *object,
                   const ItemKind *kind,
                   guint           prop_id,
                   GValue         *value,
                   GParamSpec     *pspec)
{
  if (prop_id == 0 || prop_id > kind->n_fields)
    {
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }
  g_value_copy (&ITEM_VALUES (object)[prop_id - 1], value);
}

static void
item_install_properties (GObjectClass   *klass,
                         const ItemKind *kind)
{
  for (guint i = 0; i < kind->n_fields; i++)
    {
      const Field *field = &kind->fields[i];
      GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

      if (field->type == G_TYPE_STRING)
        kind->pspecs[i + 1] = g_param_spec_string (field->name, NULL, NULL, "", flags);
      else if (field->type == G_TYPE_INT64)
        kind->pspecs[i + 1] = g_param_spec_int64 (field->name, NULL, NULL,
                                                  G_MININT64, G_MAXINT64, 0, flags);
      else
        kind->pspecs[i + 1] = g_param_spec_boolean (field->name, NULL, NULL, FALSE, flags);
    }
  g_object_class_install_properties (klass, kind->n_fields + 1, kind->pspecs);
}

static gboolean
values_equal (const GValue *a,
              const GValue *b)
{
  if (G_VALUE_TYPE (a) == G_TYPE_STRING)
    return g_strcmp0 (g_value_get_string (a), g_value_get_string (b)) == 0;
  if (G_VALUE_TYPE (a) == G_TYPE_INT64)
    return g_value_get_int64 (a) == g_value_get_int64 (b);
  return g_value_get_boolean (a) == g_value_get_boolean (b);
}

/* Copies the values that differ and notifies them; TRUE when any did. */
static gboolean
item_update (GObject        *object,
             const ItemKind *kind,
             const GValue   *fresh,
             gboolean        notify)
{
  GValue *values = ITEM_VALUES (object);
  gboolean changed = FALSE;

  g_object_freeze_notify (object);
  for (guint i = 0; i < kind->n_fields; i++)
    {
      if (values_equal (&values[i], &fresh[i]))
        continue;
      g_value_copy (&fresh[i], &values[i]);
      changed = TRUE;
      if (notify)
        g_object_notify_by_pspec (object, kind->pspecs[i + 1]);
    }
  g_object_thaw_notify (object);
  return changed;
}

#define DEFINE_ITEM(TypeName, type_name, kind_var, fields_array)                         \
  struct _##TypeName                                                                     \
  {                                                                                      \
    GObject parent_instance;                                                             \
    GValue  values[G_N_ELEMENTS (fields_array)];                                         \
  };                                                                                     \
  static GParamSpec *type_name##_pspecs[G_N_ELEMENTS (fields_array) + 1];                \
  static const ItemKind kind_var = {                                                     \
    fields_array, G_N_ELEMENTS (fields_array), type_name##_pspecs                        \
  };                                                                                     \
  G_DEFINE_FINAL_TYPE (TypeName, type_name, G_TYPE_OBJECT)                               \
  static void                                                                            \
  type_name##_get_property (GObject    *object,                                          \
                            guint       prop_id,                                         \
                            GValue     *value,                                           \
                            GParamSpec *pspec)                                           \
  {                                                                                      \
    item_get_property (object, &kind_var, prop_id, value, pspec);                        \
  }                                                                                      \
  static void                                                                            \
  type_name##_finalize (GObject *object)                                                 \
  {                                                                                      \
    item_clear_values (object, &kind_var);                                               \
    G_OBJECT_CLASS (type_name##_parent_class)->finalize (object);                        \
  }                                                                                      \
  static void                                                                            \
  type_name##_class_init (TypeName##Class *klass)                                        \
  {                                                                                      \
    GObjectClass *object_class = G_OBJECT_CLASS (klass);                                 \
                                                                                         \
    object_class->get_property = type_name##_get_property;                               \
    object_class->finalize = type_name##_finalize;                                       \
    item_install_properties (object_class, &kind_var);                                   \
  }                                                                                      \
  static void                                                                            \
  type_name##_init (TypeName *self)                                                      \
  {                                                                                      \
    G_STATIC_ASSERT (G_STRUCT_OFFSET (TypeName, values) == G_STRUCT_OFFSET (AnyItem, values)); \
    item_init_values (G_OBJECT (self), &kind_var);                                       \
  }

#define STRING_GETTER(TypeName, type_name, prop, idx)                                    \
  const char *                                                                           \
  type_name##_get_##prop (TypeName *self)                                                \
  {                                                                                      \
    g_return_val_if_fail (G_TYPE_CHECK_INSTANCE_TYPE (self, type_name##_get_type ()), NULL); \
    return g_value_get_string (&self->values[idx]);                                      \
  }

#define INT64_GETTER(TypeName, type_name, prop, idx)                                     \
  gint64                                                                                 \
  type_name##_get_##prop (TypeName *self)                                                \
  {                                                                                      \
    g_return_val_if_fail (G_TYPE_CHECK_INSTANCE_TYPE (self, type_name##_get_type ()), 0); \
    return g_value_get_int64 (&self->values[idx]);                                       \
  }

#define BOOLEAN_GETTER(TypeName, type_name, prop, idx)                                   \
  gboolean                                                                               \
  type_name##_get_##prop (TypeName *self)                                                \
  {                                                                                      \
    g_return_val_if_fail (G_TYPE_CHECK_INSTANCE_TYPE (self, type_name##_get_type ()), FALSE); \
    return g_value_get_boolean (&self->values[idx]);                                     \
  }

#define S(n) { n, G_TYPE_STRING, FALSE }
#define B(n) { n, G_TYPE_BOOLEAN, FALSE }
#define T(n) { n, G_TYPE_INT64, TRUE }

static const Field appointment_fields[] = {
  S ("id"), S ("pet-id"), S ("pet-name"), S ("client-id"), S ("client-name"), S ("staff-id"),
  S ("staff-name"), S ("staff-color"), S ("kind"), S ("status"), T ("starts-at"),
  T ("ends-at"), S ("room"), S ("reason"), S ("notes"), B ("allow-overlap"),
  S ("pet-allergies"),
};

static const Field staff_fields[] = {
  S ("id"), S ("name"), S ("role"), S ("color"), B ("active"),
};

static const Field client_fields[] = {
  S ("id"), S ("first-name"), S ("last-name"), S ("phone"), S ("email"),
};

static const Field pet_fields[] = {
  S ("id"), S ("client-id"), S ("name"), S ("species"), S ("breed"), S ("allergies"),
};

#undef S
#undef B
#undef T

DEFINE_ITEM (VdAppointmentItem, vd_appointment_item, appointment_kind, appointment_fields)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, id, 0)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, pet_id, 1)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, pet_name, 2)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, client_id, 3)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, client_name, 4)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, staff_id, 5)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, staff_name, 6)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, staff_color, 7)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, kind, 8)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, status, 9)
INT64_GETTER (VdAppointmentItem, vd_appointment_item, starts_at, 10)
INT64_GETTER (VdAppointmentItem, vd_appointment_item, ends_at, 11)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, room, 12)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, reason, 13)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, notes, 14)
BOOLEAN_GETTER (VdAppointmentItem, vd_appointment_item, allow_overlap, 15)
STRING_GETTER (VdAppointmentItem, vd_appointment_item, pet_allergies, 16)

DEFINE_ITEM (VdStaffItem, vd_staff_item, staff_kind, staff_fields)
STRING_GETTER (VdStaffItem, vd_staff_item, id, 0)
STRING_GETTER (VdStaffItem, vd_staff_item, name, 1)
STRING_GETTER (VdStaffItem, vd_staff_item, role, 2)
STRING_GETTER (VdStaffItem, vd_staff_item, color, 3)
BOOLEAN_GETTER (VdStaffItem, vd_staff_item, active, 4)

DEFINE_ITEM (VdClientItem, vd_client_item, client_kind, client_fields)
STRING_GETTER (VdClientItem, vd_client_item, id, 0)
STRING_GETTER (VdClientItem, vd_client_item, first_name, 1)
STRING_GETTER (VdClientItem, vd_client_item, last_name, 2)
STRING_GETTER (VdClientItem, vd_client_item, phone, 3)
STRING_GETTER (VdClientItem, vd_client_item, email, 4)

DEFINE_ITEM (VdPetItem, vd_pet_item, pet_kind, pet_fields)
STRING_GETTER (VdPetItem, vd_pet_item, id, 0)
STRING_GETTER (VdPetItem, vd_pet_item, client_id, 1)
STRING_GETTER (VdPetItem, vd_pet_item, name, 2)
STRING_GETTER (VdPetItem, vd_pet_item, species, 3)
STRING_GETTER (VdPetItem, vd_pet_item, breed, 4)
STRING_GETTER (VdPetItem, vd_pet_item, allergies, 5)

/* ---- VdStoreList: the base every list shares ---------------------------------------- */

typedef struct
{
  VdStore            *store;
  const ItemKind     *kind;
  GType               item_type;
  const char * const *tables;        /* changes in these reload the list */
  GHashTable         *statements;    /* SQL text (a constant) → its prepared statement */
  GPtrArray          *items;
  guint               idle_id;
  gboolean            idle_is_late;  /* idle_id is the throttled timeout, not an idle */
  gint64              pulled_at;     /* monotonic µs of the last reload for a pulled page */
  gboolean            paused;        /* nobody looks: changes only mark the list stale */
  gboolean            stale;         /* a change came while paused */
} VdStoreListPrivate;

static void vd_store_list_list_model_init (GListModelInterface *iface);

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (VdStoreList, vd_store_list, G_TYPE_OBJECT,
                                  G_ADD_PRIVATE (VdStoreList)
                                  G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                         vd_store_list_list_model_init))

#define PRIV(list) ((VdStoreListPrivate *) vd_store_list_get_instance_private (VD_STORE_LIST (list)))

/* The store a list reads, for its query. */
static VdStore *
list_store (gpointer list)
{
  return PRIV (list)->store;
}

/* For a query: the list's statement for sql, a string constant, prepared on its first use
 * and kept; reset and without bindings. NULL when it cannot be prepared. */
static sqlite3_stmt *
list_prepare (gpointer    list,
              const char *sql)
{
  VdStoreListPrivate *priv = PRIV (list);
  sqlite3_stmt *stmt = g_hash_table_lookup (priv->statements, sql);

  if (stmt == NULL)
    {
      sqlite3 *db = vd_store_get_db (priv->store);

      if (sqlite3_prepare_v3 (db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
        {
          g_critical ("A list query could not be prepared: %s", sqlite3_errmsg (db));
          sqlite3_finalize (stmt);
          return NULL;
        }
      g_hash_table_insert (priv->statements, (gpointer) sql, stmt);
    }
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return stmt;
}

/* Reads the current row into values (initialised here). */
static void
read_row (sqlite3_stmt   *stmt,
          const ItemKind *kind,
          GValue         *values)
{
  for (guint i = 0; i < kind->n_fields; i++)
    {
      const Field *field = &kind->fields[i];

      memset (&values[i], 0, sizeof (GValue));
      g_value_init (&values[i], field->type);
      if (field->type == G_TYPE_STRING)
        {
          const char *text = (const char *) sqlite3_column_text (stmt, (int) i);

          g_value_set_string (&values[i], text != NULL ? text : "");
        }
      else if (field->timestamp)
        {
          gint64 when = 0;

          if (sqlite3_column_type (stmt, (int) i) == SQLITE_TEXT)
            vd_time_parse_utc ((const char *) sqlite3_column_text (stmt, (int) i), &when, NULL);
          g_value_set_int64 (&values[i], when);
        }
      else if (field->type == G_TYPE_INT64)
        g_value_set_int64 (&values[i], sqlite3_column_int64 (stmt, (int) i));
      else
        g_value_set_boolean (&values[i], sqlite3_column_int64 (stmt, (int) i) != 0);
    }
}

static void
store_list_reload (VdStoreList *self)
{
  VdStoreListPrivate *priv = PRIV (self);
  g_autoptr(GPtrArray) fresh = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GHashTable) old_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) touched = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) old = NULL;
  const ItemKind *kind = priv->kind;
  GValue *row = g_newa (GValue, kind->n_fields);
  sqlite3_stmt *stmt;
  guint prefix = 0;
  guint suffix = 0;
  int rc;

  g_clear_handle_id (&priv->idle_id, g_source_remove);
  priv->stale = FALSE;

  stmt = VD_STORE_LIST_GET_CLASS (self)->query (self);
  if (stmt == NULL)
    return;

  for (guint i = 0; i < priv->items->len; i++)
    {
      GObject *item = g_ptr_array_index (priv->items, i);

      g_hash_table_insert (old_by_id, (gpointer) g_value_get_string (&ITEM_VALUES (item)[0]), item);
    }

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *id;
      GObject *item;

      read_row (stmt, kind, row);
      id = g_value_get_string (&row[0]);
      item = g_hash_table_lookup (old_by_id, id);
      if (item != NULL)
        {
          /* Each old item is used once even if a bad join repeated a row. */
          g_hash_table_remove (old_by_id, id);
          if (item_update (item, kind, row, TRUE))
            g_hash_table_add (touched, item);
          g_ptr_array_add (fresh, g_object_ref (item));
        }
      else
        {
          item = g_object_new (priv->item_type, NULL);
          item_update (item, kind, row, FALSE);
          g_ptr_array_add (fresh, item);
        }
      for (guint i = 0; i < kind->n_fields; i++)
        g_value_unset (&row[i]);
    }
  if (rc != SQLITE_DONE)
    {
      g_warning ("Reading a list from the clinic’s data failed: %s",
                 sqlite3_errmsg (vd_store_get_db (priv->store)));
      sqlite3_reset (stmt);
      return;
    }
  sqlite3_reset (stmt);

  /* The smallest window outside which both lists hold the same unchanged items. */
  while (prefix < priv->items->len && prefix < fresh->len &&
         g_ptr_array_index (priv->items, prefix) == g_ptr_array_index (fresh, prefix) &&
         !g_hash_table_contains (touched, g_ptr_array_index (fresh, prefix)))
    prefix++;
  while (suffix < priv->items->len - prefix && suffix < fresh->len - prefix &&
         g_ptr_array_index (priv->items, priv->items->len - 1 - suffix) ==
           g_ptr_array_index (fresh, fresh->len - 1 - suffix) &&
         !g_hash_table_contains (touched, g_ptr_array_index (fresh, fresh->len - 1 - suffix)))
    suffix++;

  old = g_steal_pointer (&priv->items);
  priv->items = g_steal_pointer (&fresh);
  if (old->len - prefix - suffix > 0 || priv->items->len - prefix - suffix > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), prefix,
                                old->len - prefix - suffix,
                                priv->items->len - prefix - suffix);
}

static gboolean
reload_idle_cb (gpointer user_data)
{
  VdStoreList *self = user_data;

  PRIV (self)->idle_id = 0;
  store_list_reload (self);
  return G_SOURCE_REMOVE;
}

static void
store_list_schedule (VdStoreList *self)
{
  VdStoreListPrivate *priv = PRIV (self);

  /* Several changes before the main loop is idle: one reload after them all. A reload
   * held back for pulled pages (store_list_schedule_pulled) comes now: this is someone's
   * own change. */
  if (priv->paused)
    {
      priv->stale = TRUE;
      return;
    }
  if (priv->idle_id != 0 && priv->idle_is_late)
    g_clear_handle_id (&priv->idle_id, g_source_remove);
  if (priv->idle_id == 0)
    priv->idle_id = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, reload_idle_cb, self, NULL);
  priv->idle_is_late = FALSE;
}

/* Pulled pages (a bootstrap brings one every few hundred ms, for 30 s) reload a list at
 * most every PULLED_RELOAD_MS: the window stays free to draw between them. The first
 * page after a quiet spell is shown at once. */
#define PULLED_RELOAD_MS 250

static void
store_list_schedule_pulled (VdStoreList *self)
{
  VdStoreListPrivate *priv = PRIV (self);
  gint64 now = g_get_monotonic_time ();
  gint64 wait_ms = PULLED_RELOAD_MS - (now - priv->pulled_at) / 1000;

  if (priv->paused)
    {
      priv->stale = TRUE;
      return;
    }
  if (priv->idle_id != 0)
    return;
  if (wait_ms <= 0)
    {
      store_list_schedule (self);
      priv->pulled_at = now;
      return;
    }
  priv->idle_id = g_timeout_add_full (G_PRIORITY_DEFAULT_IDLE, (guint) wait_ms,
                                      reload_idle_cb, self, NULL);
  priv->idle_is_late = TRUE;
  priv->pulled_at = now + wait_ms * 1000;
}

/* VdStore::changed. row_id NULL: a pulled page changed rows of table. */
static void
store_changed_cb (VdStoreList *self,
                  const char  *table,
                  const char  *row_id,
                  VdStore     *store)
{
  VdStoreListPrivate *priv = PRIV (self);

  for (guint i = 0; priv->tables[i] != NULL; i++)
    if (g_strcmp0 (priv->tables[i], table) == 0)
      {
        if (row_id != NULL)
          store_list_schedule (self);
        else
          store_list_schedule_pulled (self);
        return;
      }
}

/* For a list's _init: the items it makes, of which type, and the tables it shows. */
static void
store_list_set_kind (VdStoreList        *self,
                     const ItemKind     *kind,
                     GType               item_type,
                     const char * const *tables)
{
  VdStoreListPrivate *priv = PRIV (self);

  priv->kind = kind;
  priv->item_type = item_type;
  priv->tables = tables;
}

/* For a list's constructor, once the list knows what to query: reads it, then follows
 * the store's changes. */
static void
store_list_start (VdStoreList *self,
                  VdStore     *store)
{
  VdStoreListPrivate *priv = PRIV (self);

  priv->store = g_object_ref (store);
  g_signal_connect_object (store, "changed", G_CALLBACK (store_changed_cb), self,
                           G_CONNECT_SWAPPED);
  store_list_reload (self);
}

static GType
vd_store_list_get_item_type (GListModel *model)
{
  return PRIV (model)->item_type;
}

static guint
vd_store_list_get_n_items (GListModel *model)
{
  return PRIV (model)->items->len;
}

static gpointer
vd_store_list_get_item (GListModel *model,
                        guint       position)
{
  GPtrArray *items = PRIV (model)->items;

  return position < items->len ? g_object_ref (g_ptr_array_index (items, position)) : NULL;
}

static void
vd_store_list_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = vd_store_list_get_item_type;
  iface->get_n_items = vd_store_list_get_n_items;
  iface->get_item = vd_store_list_get_item;
}

static void
vd_store_list_finalize (GObject *object)
{
  VdStoreListPrivate *priv = PRIV (object);

  g_clear_handle_id (&priv->idle_id, g_source_remove);
  g_clear_pointer (&priv->items, g_ptr_array_unref);
  /* The statements go before the store (and its database) may. */
  g_clear_pointer (&priv->statements, g_hash_table_unref);
  g_clear_object (&priv->store);

  G_OBJECT_CLASS (vd_store_list_parent_class)->finalize (object);
}

static void
vd_store_list_class_init (VdStoreListClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = vd_store_list_finalize;
}

static void
vd_store_list_init (VdStoreList *self)
{
  PRIV (self)->items = g_ptr_array_new_with_free_func (g_object_unref);
  PRIV (self)->statements = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                   (GDestroyNotify) sqlite3_finalize);
}

void
vd_store_list_refresh (GListModel *list)
{
  g_return_if_fail (VD_IS_STORE_LIST (list));

  store_list_reload (VD_STORE_LIST (list));
}

void
vd_store_list_set_paused (GListModel *list,
                          gboolean    paused)
{
  VdStoreListPrivate *priv;

  g_return_if_fail (VD_IS_STORE_LIST (list));

  priv = PRIV (list);
  paused = !!paused;
  if (priv->paused == paused)
    return;
  priv->paused = paused;
  if (paused)
    {
      /* A reload already scheduled is owed to the change that scheduled it. */
      if (priv->idle_id != 0)
        {
          g_clear_handle_id (&priv->idle_id, g_source_remove);
          priv->stale = TRUE;
        }
      return;
    }
  if (priv->stale)
    store_list_reload (VD_STORE_LIST (list));
}

gboolean
vd_store_list_get_paused (GListModel *list)
{
  g_return_val_if_fail (VD_IS_STORE_LIST (list), FALSE);

  return PRIV (list)->paused;
}

/* ---- Appointments ----------------------------------------------------------------- */

struct _VdAppointmentList
{
  VdStoreList   parent_instance;
  gint64        start;
  gint64        end;
  char         *staff_id;
  /* A history list (vd_appointment_list_new_history) instead of a time range. */
  gboolean      history;
  char         *history_client_id;
  char         *history_pet_id;
};

G_DEFINE_FINAL_TYPE (VdAppointmentList, vd_appointment_list, VD_TYPE_STORE_LIST)

/* A day's rows come from the (tenant_id, starts_at) index, or (tenant_id, staff_id,
 * starts_at) for one person; the joins are primary-key lookups. */
#define APPOINTMENT_SELECT                                                               \
  "SELECT a.id, a.pet_id, p.name, a.client_id, "                                         \
  "trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')), "               \
  "a.staff_id, s.name, s.color, a.kind, a.status, a.starts_at, a.ends_at, a.room, "      \
  "a.reason, a.notes, a.allow_overlap, p.allergies "                                     \
  "FROM appointments a "                                                                 \
  "LEFT JOIN pets p ON p.tenant_id = a.tenant_id AND p.id = a.pet_id "                   \
  "LEFT JOIN clients c ON c.tenant_id = a.tenant_id AND c.id = a.client_id "             \
  "LEFT JOIN staff s ON s.tenant_id = a.tenant_id AND s.id = a.staff_id "                \
  "WHERE a.tenant_id = ?1 AND a.starts_at >= ?2 AND a.starts_at < ?3 AND a.deleted = 0 "

#define APPOINTMENT_HISTORY_SELECT                                                       \
  "SELECT a.id, a.pet_id, p.name, a.client_id, "                                         \
  "trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')), "               \
  "a.staff_id, s.name, s.color, a.kind, a.status, a.starts_at, a.ends_at, a.room, "      \
  "a.reason, a.notes, a.allow_overlap, p.allergies "                                     \
  "FROM appointments a "                                                                 \
  "LEFT JOIN pets p ON p.tenant_id = a.tenant_id AND p.id = a.pet_id "                   \
  "LEFT JOIN clients c ON c.tenant_id = a.tenant_id AND c.id = a.client_id "             \
  "LEFT JOIN staff s ON s.tenant_id = a.tenant_id AND s.id = a.staff_id "                \
  "WHERE a.tenant_id = ?1 AND a.deleted = 0 AND a.starts_at IS NOT NULL "

static sqlite3_stmt *
appointment_query (VdStoreList *list)
{
  VdAppointmentList *self = VD_APPOINTMENT_LIST (list);
  VdStore *store = list_store (self);
  char start[21];
  char end[21];
  sqlite3_stmt *stmt;

  if (self->history)
    {
      /* A client's few hundred rows at most; without an index on client_id this scans
       * the clinic's appointments, a few milliseconds per 10,000. */
      stmt = list_prepare (self,
                           APPOINTMENT_HISTORY_SELECT
                           "AND (?2 IS NULL OR a.client_id = ?2) AND (?3 IS NULL OR a.pet_id = ?3) "
                           "ORDER BY a.starts_at DESC, a.id");
      if (stmt == NULL)
        return NULL;
      sqlite3_bind_text (stmt, 1, vd_store_get_tenant_id (store), -1, SQLITE_STATIC);
      if (self->history_client_id != NULL)
        sqlite3_bind_text (stmt, 2, self->history_client_id, -1, SQLITE_STATIC);
      if (self->history_pet_id != NULL)
        sqlite3_bind_text (stmt, 3, self->history_pet_id, -1, SQLITE_STATIC);
      return stmt;
    }
  if (self->staff_id != NULL)
    stmt = list_prepare (self,
                         APPOINTMENT_SELECT "AND a.staff_id = ?4 ORDER BY a.starts_at, a.id");
  else
    stmt = list_prepare (self, APPOINTMENT_SELECT "ORDER BY a.starts_at, a.id");
  if (stmt == NULL)
    return NULL;

  /* Stored instants are canonical UTC text: their order is the order of time. */
  vd_time_format_utc (self->start, start);
  vd_time_format_utc (self->end, end);
  sqlite3_bind_text (stmt, 1, vd_store_get_tenant_id (store), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, start, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, end, -1, SQLITE_TRANSIENT);
  if (self->staff_id != NULL)
    sqlite3_bind_text (stmt, 4, self->staff_id, -1, SQLITE_STATIC);
  return stmt;
}

static const char * const appointment_tables[] = {
  "appointments", "pets", "clients", "staff", NULL
};

static void
vd_appointment_list_finalize (GObject *object)
{
  VdAppointmentList *self = VD_APPOINTMENT_LIST (object);

  g_free (self->staff_id);
  g_free (self->history_client_id);
  g_free (self->history_pet_id);

  G_OBJECT_CLASS (vd_appointment_list_parent_class)->finalize (object);
}

static void
vd_appointment_list_class_init (VdAppointmentListClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = vd_appointment_list_finalize;
  VD_STORE_LIST_CLASS (klass)->query = appointment_query;
}

static void
vd_appointment_list_init (VdAppointmentList *self)
{
  store_list_set_kind (VD_STORE_LIST (self), &appointment_kind, VD_TYPE_APPOINTMENT_ITEM,
                       appointment_tables);
}

VdAppointmentList *
vd_appointment_list_new (VdStore    *store,
                         gint64      start,
                         gint64      end,
                         const char *staff_id)
{
  VdAppointmentList *self;

  g_return_val_if_fail (VD_IS_STORE (store), NULL);

  self = g_object_new (VD_TYPE_APPOINTMENT_LIST, NULL);
  self->start = start;
  self->end = end;
  self->staff_id = g_strdup (staff_id);
  store_list_start (VD_STORE_LIST (self), store);
  return self;
}

VdAppointmentList *
vd_appointment_list_new_history (VdStore    *store,
                                 const char *client_id,
                                 const char *pet_id)
{
  VdAppointmentList *self;

  g_return_val_if_fail (VD_IS_STORE (store), NULL);

  self = g_object_new (VD_TYPE_APPOINTMENT_LIST, NULL);
  self->history = TRUE;
  self->history_client_id = g_strdup (client_id);
  self->history_pet_id = g_strdup (pet_id);
  store_list_start (VD_STORE_LIST (self), store);
  return self;
}

void
vd_appointment_list_set_range (VdAppointmentList *self,
                               gint64             start,
                               gint64             end)
{
  g_return_if_fail (VD_IS_APPOINTMENT_LIST (self));

  if (self->start == start && self->end == end)
    return;
  self->start = start;
  self->end = end;
  store_list_reload (VD_STORE_LIST (self));
}

void
vd_appointment_list_set_day (VdAppointmentList *self,
                             int                year,
                             int                month,
                             int                day)
{
  gint64 start, end;

  g_return_if_fail (VD_IS_APPOINTMENT_LIST (self));

  vd_time_day_bounds (vd_store_get_time_zone (list_store (self)), year, month, day, &start, &end);
  vd_appointment_list_set_range (self, start, end);
}

void
vd_appointment_list_set_staff_id (VdAppointmentList *self,
                                  const char        *staff_id)
{
  g_return_if_fail (VD_IS_APPOINTMENT_LIST (self));

  if (g_strcmp0 (self->staff_id, staff_id) == 0)
    return;
  g_free (self->staff_id);
  self->staff_id = g_strdup (staff_id);
  store_list_reload (VD_STORE_LIST (self));
}

void
vd_appointment_list_get_range (VdAppointmentList *self,
                               gint64            *out_start,
                               gint64            *out_end)
{
  g_return_if_fail (VD_IS_APPOINTMENT_LIST (self));

  if (out_start != NULL)
    *out_start = self->start;
  if (out_end != NULL)
    *out_end = self->end;
}

/* ---- Staff ------------------------------------------------------------------------ */

struct _VdStaffList
{
  VdStoreList   parent_instance;
  gboolean      show_inactive;
};

G_DEFINE_FINAL_TYPE (VdStaffList, vd_staff_list, VD_TYPE_STORE_LIST)

static sqlite3_stmt *
staff_query (VdStoreList *list)
{
  VdStaffList *self = VD_STAFF_LIST (list);
  sqlite3_stmt *stmt;

  stmt = list_prepare (self,
                       "SELECT id, name, role, color, active FROM staff "
                       "WHERE tenant_id = ?1 AND deleted = 0 AND name IS NOT NULL "
                       "AND (?2 OR active = 1) ORDER BY name COLLATE NOCASE, id");
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, vd_store_get_tenant_id (list_store (self)), -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 2, self->show_inactive ? 1 : 0);
  return stmt;
}

static const char * const staff_tables[] = { "staff", NULL };

static void
vd_staff_list_class_init (VdStaffListClass *klass)
{
  VD_STORE_LIST_CLASS (klass)->query = staff_query;
}

static void
vd_staff_list_init (VdStaffList *self)
{
  store_list_set_kind (VD_STORE_LIST (self), &staff_kind, VD_TYPE_STAFF_ITEM, staff_tables);
}

VdStaffList *
vd_staff_list_new (VdStore *store)
{
  VdStaffList *self;

  g_return_val_if_fail (VD_IS_STORE (store), NULL);

  self = g_object_new (VD_TYPE_STAFF_LIST, NULL);
  store_list_start (VD_STORE_LIST (self), store);
  return self;
}

void
vd_staff_list_set_show_inactive (VdStaffList *self,
                                 gboolean     show_inactive)
{
  g_return_if_fail (VD_IS_STAFF_LIST (self));

  show_inactive = !!show_inactive;
  if (self->show_inactive == show_inactive)
    return;
  self->show_inactive = show_inactive;
  store_list_reload (VD_STORE_LIST (self));
}

/* ---- Clients ---------------------------------------------------------------------- */

struct _VdClientList
{
  VdStoreList   parent_instance;
  char         *pattern;   /* a LIKE pattern, or NULL for every client */
  char         *digits;    /* "%600111%" when the filter looks like part of a phone number */
};

G_DEFINE_FINAL_TYPE (VdClientList, vd_client_list, VD_TYPE_STORE_LIST)

#define CLIENT_SELECT                                                                    \
  "SELECT id, first_name, last_name, phone, email FROM clients "                         \
  "WHERE tenant_id = ?1 AND deleted = 0 "
#define CLIENT_ORDER " ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE, id"

static sqlite3_stmt *
client_query (VdStoreList *list)
{
  VdClientList *self = VD_CLIENT_LIST (list);
  sqlite3_stmt *stmt;

  if (self->pattern != NULL)
    stmt = list_prepare (self,
                         CLIENT_SELECT
                         "AND (first_name LIKE ?2 ESCAPE '\\' OR last_name LIKE ?2 ESCAPE '\\' "
                         "OR (first_name || ' ' || last_name) LIKE ?2 ESCAPE '\\' "
                         "OR phone LIKE ?2 ESCAPE '\\' OR email LIKE ?2 ESCAPE '\\' "
                         /* The digits alone, as the global search finds them: "600111"
                          * finds "+34 600 111 222". */
                         "OR replace(replace(replace(replace(replace(replace(phone, ' ', ''), "
                         "'+', ''), '-', ''), '(', ''), ')', ''), '.', '') LIKE ?3)"
                         CLIENT_ORDER);
  else
    stmt = list_prepare (self, CLIENT_SELECT CLIENT_ORDER);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, vd_store_get_tenant_id (list_store (self)), -1, SQLITE_STATIC);
  if (self->pattern != NULL)
    {
      sqlite3_bind_text (stmt, 2, self->pattern, -1, SQLITE_STATIC);
      /* NULL matches nothing. */
      sqlite3_bind_text (stmt, 3, self->digits, -1, SQLITE_STATIC);
    }
  return stmt;
}

static const char * const client_tables[] = { "clients", NULL };

/* "%text%" with LIKE's own characters escaped, so "50%" finds "50%". */
static char *
like_pattern (const char *filter)
{
  g_autofree char *trimmed = NULL;
  GString *pattern;

  if (filter == NULL)
    return NULL;
  trimmed = g_strstrip (g_strdup (filter));
  if (*trimmed == '\0')
    return NULL;

  pattern = g_string_new ("%");
  for (const char *p = trimmed; *p != '\0'; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (pattern, '\\');
      g_string_append_c (pattern, *p);
    }
  g_string_append_c (pattern, '%');
  return g_string_free (pattern, FALSE);
}

/* "%digits%" when filter is made of digits and phone punctuation only, with 3 digits or
 * more (as the global search's phone match); NULL otherwise. */
static char *
digits_pattern (const char *filter)
{
  g_autoptr(GString) digits = g_string_new ("%");

  if (filter == NULL)
    return NULL;
  for (const char *p = filter; *p != '\0'; p++)
    {
      if (g_ascii_isdigit (*p))
        g_string_append_c (digits, *p);
      else if (strchr (" +-().", *p) == NULL)
        return NULL;
    }
  if (digits->len < 4)
    return NULL;
  g_string_append_c (digits, '%');
  return g_string_free (g_steal_pointer (&digits), FALSE);
}

static void
vd_client_list_finalize (GObject *object)
{
  VdClientList *self = VD_CLIENT_LIST (object);

  g_free (self->pattern);
  g_free (self->digits);

  G_OBJECT_CLASS (vd_client_list_parent_class)->finalize (object);
}

static void
vd_client_list_class_init (VdClientListClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = vd_client_list_finalize;
  VD_STORE_LIST_CLASS (klass)->query = client_query;
}

static void
vd_client_list_init (VdClientList *self)
{
  store_list_set_kind (VD_STORE_LIST (self), &client_kind, VD_TYPE_CLIENT_ITEM, client_tables);
}

VdClientList *
vd_client_list_new (VdStore    *store,
                    const char *filter)
{
  VdClientList *self;

  g_return_val_if_fail (VD_IS_STORE (store), NULL);

  self = g_object_new (VD_TYPE_CLIENT_LIST, NULL);
  self->pattern = like_pattern (filter);
  self->digits = digits_pattern (filter);
  store_list_start (VD_STORE_LIST (self), store);
  return self;
}

void
vd_client_list_set_filter (VdClientList *self,
                           const char   *filter)
{
  g_autofree char *pattern = NULL;

  g_return_if_fail (VD_IS_CLIENT_LIST (self));

  pattern = like_pattern (filter);
  if (g_strcmp0 (pattern, self->pattern) == 0)
    return;
  g_free (self->pattern);
  self->pattern = g_steal_pointer (&pattern);
  g_free (self->digits);
  self->digits = digits_pattern (filter);
  store_list_reload (VD_STORE_LIST (self));
}

/* ---- Pets ------------------------------------------------------------------------- */

struct _VdPetList
{
  VdStoreList   parent_instance;
  char         *client_id;
};

G_DEFINE_FINAL_TYPE (VdPetList, vd_pet_list, VD_TYPE_STORE_LIST)

#define PET_SELECT                                                                       \
  "SELECT id, client_id, name, species, breed, allergies FROM pets "                     \
  "WHERE tenant_id = ?1 AND deleted = 0 "
#define PET_ORDER " ORDER BY name COLLATE NOCASE, id"

static sqlite3_stmt *
pet_query (VdStoreList *list)
{
  VdPetList *self = VD_PET_LIST (list);
  sqlite3_stmt *stmt;

  if (self->client_id != NULL)
    stmt = list_prepare (self, PET_SELECT "AND client_id = ?2" PET_ORDER);
  else
    stmt = list_prepare (self, PET_SELECT PET_ORDER);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, vd_store_get_tenant_id (list_store (self)), -1, SQLITE_STATIC);
  if (self->client_id != NULL)
    sqlite3_bind_text (stmt, 2, self->client_id, -1, SQLITE_STATIC);
  return stmt;
}

static const char * const pet_tables[] = { "pets", NULL };

static void
vd_pet_list_finalize (GObject *object)
{
  VdPetList *self = VD_PET_LIST (object);

  g_free (self->client_id);

  G_OBJECT_CLASS (vd_pet_list_parent_class)->finalize (object);
}

static void
vd_pet_list_class_init (VdPetListClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = vd_pet_list_finalize;
  VD_STORE_LIST_CLASS (klass)->query = pet_query;
}

static void
vd_pet_list_init (VdPetList *self)
{
  store_list_set_kind (VD_STORE_LIST (self), &pet_kind, VD_TYPE_PET_ITEM, pet_tables);
}

VdPetList *
vd_pet_list_new (VdStore    *store,
                 const char *client_id)
{
  VdPetList *self;

  g_return_val_if_fail (VD_IS_STORE (store), NULL);

  self = g_object_new (VD_TYPE_PET_LIST, NULL);
  self->client_id = g_strdup (client_id);
  store_list_start (VD_STORE_LIST (self), store);
  return self;
}

void
vd_pet_list_set_client_id (VdPetList  *self,
                           const char *client_id)
{
  g_return_if_fail (VD_IS_PET_LIST (self));

  if (g_strcmp0 (self->client_id, client_id) == 0)
    return;
  g_free (self->client_id);
  self->client_id = g_strdup (client_id);
  store_list_reload (VD_STORE_LIST (self));
}

/* ---- Conflicts -------------------------------------------------------------------- */

static const Field conflict_fields[] = {
  { "id", G_TYPE_STRING, FALSE },
  { "kind", G_TYPE_STRING, FALSE },
  { "table-name", G_TYPE_STRING, FALSE },
  { "row-id", G_TYPE_STRING, FALSE },
  { "other-row-id", G_TYPE_STRING, FALSE },
  { "detail", G_TYPE_STRING, FALSE },
  { "detected-at", G_TYPE_INT64, TRUE },
};

DEFINE_ITEM (VdConflictItem, vd_conflict_item, conflict_kind, conflict_fields)
STRING_GETTER (VdConflictItem, vd_conflict_item, id, 0)
STRING_GETTER (VdConflictItem, vd_conflict_item, kind, 1)
STRING_GETTER (VdConflictItem, vd_conflict_item, table_name, 2)
STRING_GETTER (VdConflictItem, vd_conflict_item, row_id, 3)
STRING_GETTER (VdConflictItem, vd_conflict_item, other_row_id, 4)
STRING_GETTER (VdConflictItem, vd_conflict_item, detail, 5)
INT64_GETTER (VdConflictItem, vd_conflict_item, detected_at, 6)

struct _VdConflictList
{
  VdStoreList   parent_instance;
};

G_DEFINE_FINAL_TYPE (VdConflictList, vd_conflict_list, VD_TYPE_STORE_LIST)

static sqlite3_stmt *
conflict_query (VdStoreList *list)
{
  VdConflictList *self = VD_CONFLICT_LIST (list);
  sqlite3_stmt *stmt;

  /* A handful of rows: the server resolves them as the data changes. */
  stmt = list_prepare (self,
                       "SELECT id, kind, table_name, row_id, other_row_id, detail, detected_at "
                       "FROM conflicts WHERE tenant_id = ?1 AND deleted = 0 "
                       "AND resolved_at IS NULL AND kind IS NOT NULL "
                       "ORDER BY detected_at DESC, id");
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, vd_store_get_tenant_id (list_store (self)), -1, SQLITE_STATIC);
  return stmt;
}

static const char * const conflict_tables[] = { "conflicts", NULL };

static void
vd_conflict_list_class_init (VdConflictListClass *klass)
{
  VD_STORE_LIST_CLASS (klass)->query = conflict_query;
}

static void
vd_conflict_list_init (VdConflictList *self)
{
  store_list_set_kind (VD_STORE_LIST (self), &conflict_kind, VD_TYPE_CONFLICT_ITEM,
                       conflict_tables);
}

VdConflictList *
vd_conflict_list_new (VdStore *store)
{
  VdConflictList *self;

  g_return_val_if_fail (VD_IS_STORE (store), NULL);

  self = g_object_new (VD_TYPE_CONFLICT_LIST, NULL);
  store_list_start (VD_STORE_LIST (self), store);
  return self;
}

/* ---- One appointment -------------------------------------------------------------- */

VdAppointmentItem *
vd_appointment_item_load (VdStore    *store,
                          const char *appointment_id)
{
  static const char sql[] =
    "SELECT a.id, a.pet_id, p.name, a.client_id, "
    "trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')), "
    "a.staff_id, s.name, s.color, a.kind, a.status, a.starts_at, a.ends_at, a.room, "
    "a.reason, a.notes, a.allow_overlap, p.allergies "
    "FROM appointments a "
    "LEFT JOIN pets p ON p.tenant_id = a.tenant_id AND p.id = a.pet_id "
    "LEFT JOIN clients c ON c.tenant_id = a.tenant_id AND c.id = a.client_id "
    "LEFT JOIN staff s ON s.tenant_id = a.tenant_id AND s.id = a.staff_id "
    "WHERE a.tenant_id = ?1 AND a.id = ?2";
  sqlite3 *db;
  sqlite3_stmt *stmt = NULL;
  VdAppointmentItem *item = NULL;
  GValue *row = g_newa (GValue, appointment_kind.n_fields);

  g_return_val_if_fail (VD_IS_STORE (store), NULL);
  g_return_val_if_fail (appointment_id != NULL, NULL);

  db = vd_store_get_db (store);
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      g_warning ("Reading an appointment failed: %s", sqlite3_errmsg (db));
      return NULL;
    }
  sqlite3_bind_text (stmt, 1, vd_store_get_tenant_id (store), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, appointment_id, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      read_row (stmt, &appointment_kind, row);
      item = g_object_new (VD_TYPE_APPOINTMENT_ITEM, NULL);
      item_update (G_OBJECT (item), &appointment_kind, row, FALSE);
      for (guint i = 0; i < appointment_kind.n_fields; i++)
        g_value_unset (&row[i]);
    }
  sqlite3_finalize (stmt);
  return item;
}
