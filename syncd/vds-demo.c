/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-demo.c — the `load-demo` loader. The seed system's demo (3 companies, 5 clinics
 * with their staff, clients, pets and five weeks of appointments, and the demo users) is
 * data: data/demo/demo.json and data/demo/clinics/SLUG.json, compiled into syncd as a
 * GResource. This file reads it, turns each row into a change as a desk would, and
 * writes companies, clinics and users into the store, then pushes each clinic's changes
 * so the server's own merge opens the double-booking conflicts. Dates in the data are
 * relative to the day of the load, so the demo always shows the past three weeks and
 * the coming two; data/demo/README.md describes the format. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <sodium.h>
#include <string.h>

#include "vds-demo.h"
#include "vds-demo-resources.h"

#include "vd-protocol.h"
#include "vd-time.h"

/* The demo's rows come from this device, as if a desk had typed them in. */
#define DEMO_SITE      "5e3d0c1a-7d2b-4c7e-9a61-0de30de30de3"
#define RESOURCE_DIR   "/org/vetdesk/syncd/demo/"
/* The appointments' five weeks start this many days before today. */
#define WINDOW_BACK    21

typedef struct
{
  JsonObject *info;          /* its entry in demo.json */
  const char *slug;
  const char *name;
  guint       company;       /* its index in the companies */
  int         pusher;        /* the index of its first user, who pushes its rows */
  GTimeZone  *zone;
  GDate       today;
  gint64      now;
  JsonParser *rows;          /* clinics/SLUG.json */
  GPtrArray  *changes;       /* of VdChange, in dependency order */
  GArray     *pet_clients;   /* guint: each pet's client, by index */
} Clinic;

static void
clinic_free (Clinic *clinic)
{
  g_clear_pointer (&clinic->zone, g_time_zone_unref);
  g_clear_object (&clinic->rows);
  g_clear_pointer (&clinic->changes, g_ptr_array_unref);
  g_clear_pointer (&clinic->pet_clients, g_array_unref);
  g_free (clinic);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Clinic, clinic_free)

/* ---------------------------------------------------------------------------------- */
/* Reading the data */

static gboolean
bad_data (GError    **error,
          const char *where,
          const char *what)
{
  g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
               _("The demo data is not valid (%s): %s"), where, what);
  return FALSE;
}

static JsonParser *
load_json (const char  *name,
           GError     **error)
{
  g_autofree char *path = g_strconcat (RESOURCE_DIR, name, NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;

  bytes = g_resource_lookup_data (vds_demo_get_resource (), path,
                                  G_RESOURCE_LOOKUP_FLAGS_NONE, &local_error);
  if (bytes == NULL ||
      !json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                   g_bytes_get_size (bytes), &local_error))
    return bad_data (error, name, local_error->message), NULL;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return bad_data (error, name, _("it is not a JSON object")), NULL;
  return g_steal_pointer (&parser);
}

static JsonArray *
get_array (JsonObject  *object,
           const char  *member,
           const char  *where,
           GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);
  g_autofree char *what = NULL;

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    return json_node_get_array (node);
  what = g_strdup_printf (_("“%s” must be a list"), member);
  bad_data (error, where, what);
  return NULL;
}

/* The object at index of array, or NULL with an error. */
static JsonObject *
get_object (JsonArray   *array,
            guint        index,
            const char  *where,
            GError     **error)
{
  JsonNode *node = json_array_get_element (array, index);

  if (JSON_NODE_HOLDS_OBJECT (node))
    return json_node_get_object (node);
  bad_data (error, where, _("each entry must be a JSON object"));
  return NULL;
}

/* A member that must be a string (optional: NULL without an error when absent). */
static const char *
get_string (JsonObject  *object,
            const char  *member,
            gboolean     optional,
            const char  *where,
            GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);
  g_autofree char *what = NULL;

  if (node == NULL && optional)
    return NULL;
  if (node != NULL && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  what = g_strdup_printf (_("“%s” must be a string"), member);
  bad_data (error, where, what);
  return NULL;
}

/* A whole-number member in [min, max]. */
static gboolean
get_int (JsonObject  *object,
         const char  *member,
         gint64       min,
         gint64       max,
         gint64      *out,
         const char  *where,
         GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);
  g_autofree char *what = NULL;

  if (node != NULL && json_node_get_value_type (node) == G_TYPE_INT64)
    {
      *out = json_node_get_int (node);
      if (*out >= min && *out <= max)
        return TRUE;
    }
  what = g_strdup_printf (_("“%s” must be a whole number from %" PRId64
                            " to %" PRId64), member, (int64_t) min, (int64_t) max);
  return bad_data (error, where, what);
}

/* ---------------------------------------------------------------------------------- */
/* Rows into changes */

/* A row id from a hash of the clinic, the table and the row's number, so every load
 * makes the same ids. Marked as a version 8 (custom) uuid. */
static void
demo_uuid (const char *slug,
           const char *table,
           guint       n,
           char        out[VD_UUID_LEN + 1])
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *key = g_strdup_printf ("vetdesk-demo/%s/%s/%u", slug, table, n);
  guint8 digest[32];
  gsize len = sizeof digest;

  g_checksum_update (sum, (const guchar *) key, -1);
  g_checksum_get_digest (sum, digest, &len);
  digest[6] = (digest[6] & 0x0f) | 0x80;
  digest[8] = (digest[8] & 0x3f) | 0x80;
  vd_uuid_from_bytes (digest, out);
}

static gboolean
set_cell (VdChange   *change,
          const char *column_name,
          VdValue    *value,
          const char *where,
          GError    **error)
{
  const VdColumn *column = vd_table_lookup_column (change->table, column_name);
  g_autoptr(GError) local_error = NULL;

  if (column == NULL || !vd_value_validate (column, value, &local_error))
    {
      g_autofree char *what = NULL;

      vd_value_clear (value);
      if (local_error != NULL)
        return bad_data (error, where, local_error->message);
      what = g_strdup_printf (_("the table has no column “%s”"), column_name);
      return bad_data (error, where, what);
    }
  vd_change_take_cell (change, column, value);
  return TRUE;
}

static gboolean
set_text (VdChange    *change,
          const char  *column_name,
          const char  *text,
          const char  *where,
          GError     **error)
{
  VdValue value = { 0 };

  if (text == NULL)
    return TRUE;
  vd_value_set_text (&value, text);
  return set_cell (change, column_name, &value, where, error);
}

static gboolean
set_bool (VdChange    *change,
          const char  *column_name,
          gboolean     b,
          const char  *where,
          GError     **error)
{
  VdValue value = { 0 };

  vd_value_set_bool (&value, b);
  return set_cell (change, column_name, &value, where, error);
}

/* The members of a row that are not columns: the loader makes cells of them. */
static gboolean
is_loader_member (const char *name)
{
  static const char * const names[] = {
    "client", "pet", "staff", "age_days", "weekday", "week", "time", "minutes", "outcome",
    "booking", "double_booking", NULL,
  };

  return g_strv_contains (names, name);
}

/* Every other member of the row is the cell of the column it names, as JSON types it
 * (a whole number in a real column is that real). */
static gboolean
set_columns (VdChange    *change,
             JsonObject  *row,
             const char  *where,
             GError     **error)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  json_object_iter_init_ordered (&iter, row);
  while (json_object_iter_next_ordered (&iter, &name, &node))
    {
      const VdColumn *column = vd_table_lookup_column (change->table, name);
      GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_NONE;
      VdValue value = { 0 };

      if (is_loader_member (name))
        continue;
      if (type == G_TYPE_STRING)
        vd_value_set_text (&value, json_node_get_string (node));
      else if (type == G_TYPE_BOOLEAN)
        vd_value_set_bool (&value, json_node_get_boolean (node));
      else if (type == G_TYPE_DOUBLE || (type == G_TYPE_INT64 && column != NULL &&
                                         column->type == VD_TYPE_REAL))
        vd_value_set_real (&value, json_node_get_double (node));
      else if (type == G_TYPE_INT64)
        vd_value_set_int (&value, json_node_get_int (node));
      else if (!JSON_NODE_HOLDS_NULL (node))
        {
          g_autofree char *what = g_strdup_printf (_("“%s” must be a single value"), name);
          return bad_data (error, where, what);
        }
      if (!set_cell (change, name, &value, where, error))
        return FALSE;
    }
  return set_bool (change, "deleted", FALSE, where, error);
}

/* An appointment's day: "weekday" (1 = Monday) and "week" (0–4) pick one of the five
 * weeks from WINDOW_BACK days before today, which hold each weekday five times. */
static gboolean
appointment_times (Clinic      *clinic,
                   JsonObject  *row,
                   gint64      *out_start,
                   gint64      *out_end,
                   const char  *where,
                   GError     **error)
{
  const char *time = get_string (row, "time", FALSE, where, error);
  gint64 weekday, week, minutes;
  GDate date = clinic->today;
  int hour, minute;

  if (time == NULL ||
      !get_int (row, "weekday", 1, 7, &weekday, where, error) ||
      !get_int (row, "week", 0, 4, &week, where, error) ||
      !get_int (row, "minutes", 1, 24 * 60, &minutes, where, error))
    return FALSE;
  if (strlen (time) != 5 || time[2] != ':' || !g_ascii_isdigit (time[0]) ||
      !g_ascii_isdigit (time[1]) || !g_ascii_isdigit (time[3]) || !g_ascii_isdigit (time[4]) ||
      (hour = g_ascii_digit_value (time[0]) * 10 + g_ascii_digit_value (time[1])) > 23 ||
      (minute = g_ascii_digit_value (time[3]) * 10 + g_ascii_digit_value (time[4])) > 59)
    return bad_data (error, where, _("“time” must be HH:MM"));

  g_date_subtract_days (&date, WINDOW_BACK);
  g_date_add_days (&date, (weekday - g_date_get_weekday (&date) + 7) % 7 + 7 * week);
  *out_start = vd_time_from_zone (clinic->zone, g_date_get_year (&date),
                                  g_date_get_month (&date), g_date_get_day (&date),
                                  hour, minute, 0);
  *out_end = *out_start + 60 * minutes;
  return TRUE;
}

/* The status as of now: the "outcome" once over, "in_progress" while on, the "booking"
 * before; and the note a desk would have written for it. */
static gboolean
appointment_status (Clinic      *clinic,
                    JsonObject  *row,
                    JsonObject  *notes,
                    gint64       start,
                    gint64       end,
                    const char **out_status,
                    const char **out_note,
                    const char  *where,
                    GError     **error)
{
  gboolean double_booking = json_object_get_boolean_member_with_default (row, "double_booking",
                                                                         FALSE);

  if (end <= clinic->now)
    *out_status = get_string (row, "outcome", FALSE, where, error);
  else if (start <= clinic->now)
    *out_status = "in_progress";
  else
    *out_status = get_string (row, "booking", FALSE, where, error);
  if (*out_status == NULL)
    return FALSE;
  *out_note = json_object_get_string_member_with_default (
                notes, double_booking ? "double_booking" : *out_status, NULL);
  return TRUE;
}

/* The changes of one table of the clinic's file, numbered from 0 in file order. */
static gboolean
make_rows (Clinic      *clinic,
           const char  *table_name,
           JsonObject  *notes,
           VdHlc       *hlc,
           GError     **error)
{
  JsonObject *root = json_node_get_object (json_parser_get_root (clinic->rows));
  const VdTable *table = vd_schema_lookup_table (table_name);
  g_autofree char *file_where = g_strdup_printf ("clinics/%s.json", clinic->slug);
  JsonArray *rows = get_array (root, table_name, file_where, error);
  guint n_clients = json_array_get_length (json_object_get_array_member (root, "clients"));
  guint n_staff = json_array_get_length (json_object_get_array_member (root, "staff"));

  g_assert (table != NULL);
  if (rows == NULL)
    return FALSE;

  for (guint n = 0; n < json_array_get_length (rows); n++)
    {
      g_autofree char *where = g_strdup_printf ("%s, %s %u", file_where, table_name, n);
      JsonObject *row = get_object (rows, n, where, error);
      char id[VD_UUID_LEN + 1];
      char ref[VD_UUID_LEN + 1];
      VdChange *change;
      gint64 index;

      if (row == NULL)
        return FALSE;
      demo_uuid (clinic->slug, table_name, n, id);
      change = vd_change_new (table, id, (*hlc)++, DEMO_SITE);
      g_ptr_array_add (clinic->changes, change);
      if (!set_columns (change, row, where, error))
        return FALSE;

      if (g_str_equal (table_name, "pets"))
        {
          gint64 age_days;
          GDate birth = clinic->today;
          char birth_text[11];
          guint client;

          if (!get_int (row, "client", 0, (gint64) n_clients - 1, &index, where, error) ||
              !get_int (row, "age_days", 0, 100 * 365, &age_days, where, error))
            return FALSE;
          client = index;
          g_array_append_val (clinic->pet_clients, client);
          demo_uuid (clinic->slug, "clients", client, ref);
          g_date_subtract_days (&birth, age_days);
          vd_date_format (g_date_get_year (&birth), g_date_get_month (&birth),
                          g_date_get_day (&birth), birth_text);
          if (!set_text (change, "client_id", ref, where, error) ||
              !set_text (change, "birth_date", birth_text, where, error))
            return FALSE;
        }
      else if (g_str_equal (table_name, "appointments"))
        {
          const char *status = NULL;
          const char *note = NULL;
          gint64 start, end;

          if (!get_int (row, "pet", 0, (gint64) clinic->pet_clients->len - 1, &index, where,
                        error))
            return FALSE;
          demo_uuid (clinic->slug, "pets", index, ref);
          if (!set_text (change, "pet_id", ref, where, error))
            return FALSE;
          demo_uuid (clinic->slug, "clients",
                     g_array_index (clinic->pet_clients, guint, index), ref);
          if (!set_text (change, "client_id", ref, where, error) ||
              !get_int (row, "staff", 0, (gint64) n_staff - 1, &index, where, error))
            return FALSE;
          demo_uuid (clinic->slug, "staff", index, ref);
          if (!set_text (change, "staff_id", ref, where, error) ||
              !appointment_times (clinic, row, &start, &end, where, error) ||
              !appointment_status (clinic, row, notes, start, end, &status, &note, where,
                                   error))
            return FALSE;

          {
            VdValue starts_at = { 0 }, ends_at = { 0 };

            vd_value_take_text (&starts_at, vd_time_dup_utc (start));
            vd_value_take_text (&ends_at, vd_time_dup_utc (end));
            if (!set_cell (change, "starts_at", &starts_at, where, error) ||
                !set_cell (change, "ends_at", &ends_at, where, error) ||
                !set_text (change, "status", status, where, error) ||
                !set_text (change, "notes", note, where, error) ||
                !set_bool (change, "allow_overlap", FALSE, where, error))
              return FALSE;
          }
        }
    }
  return TRUE;
}

/* The "name" of every company, "slug" of every clinic and "username" of every user. */
static GPtrArray *
names_of (JsonArray  *array,
          const char *member)
{
  GPtrArray *names = g_ptr_array_new ();

  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (names, (gpointer) json_object_get_string_member_with_default (
                              json_array_get_object_element (array, i), member, ""));
  return names;
}

static Clinic *
make_clinic (JsonObject  *info,
             JsonArray   *companies,
             JsonObject  *notes,
             gint64       now,
             VdHlc       *hlc,
             GError     **error)
{
  static const char * const tables[] = { "staff", "clients", "pets", "appointments" };
  g_autoptr(Clinic) clinic = g_new0 (Clinic, 1);
  g_autoptr(GPtrArray) company_names = names_of (companies, "name");
  g_autofree char *file = NULL;
  const char *timezone, *company;
  gint64 start, end;
  int y, m, d;

  clinic->info = info;
  clinic->pusher = -1;
  clinic->slug = get_string (info, "slug", FALSE, "demo.json", error);
  clinic->name = clinic->slug ? get_string (info, "name", FALSE, clinic->slug, error) : NULL;
  timezone = clinic->name ? get_string (info, "timezone", FALSE, clinic->slug, error) : NULL;
  company = timezone ? get_string (info, "company", FALSE, clinic->slug, error) : NULL;
  if (company == NULL || get_string (info, "currency", FALSE, clinic->slug, error) == NULL)
    return NULL;
  if (!g_ptr_array_find_with_equal_func (company_names, company, g_str_equal, &clinic->company))
    return bad_data (error, clinic->slug, _("its company is not in the list of companies")), NULL;
  if ((clinic->zone = vd_time_zone_new (timezone, error)) == NULL)
    return NULL;
  clinic->now = now;
  vd_time_today_bounds (clinic->zone, now, &start, &end, &y, &m, &d);
  g_date_clear (&clinic->today, 1);
  g_date_set_dmy (&clinic->today, d, m, y);
  clinic->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
  clinic->pet_clients = g_array_new (FALSE, FALSE, sizeof (guint));

  file = g_strdup_printf ("clinics/%s.json", clinic->slug);
  clinic->rows = load_json (file, error);
  if (clinic->rows == NULL)
    return NULL;
  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    if (!make_rows (clinic, tables[t], notes, hlc, error))
      return NULL;
  return g_steal_pointer (&clinic);
}

/* ---------------------------------------------------------------------------------- */
/* Writing */

static gboolean
check_answer (const char  *answer,
              guint        n_changes,
              const char  *clinic_name,
              GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;
  JsonArray *rejected;

  if (!json_parser_load_from_data (parser, answer, -1, error))
    return FALSE;
  object = json_node_get_object (json_parser_get_root (parser));
  rejected = json_object_get_array_member (object, "rejected");
  if (rejected != NULL && json_array_get_length (rejected) > 0)
    {
      JsonObject *first = json_array_get_object_element (rejected, 0);

      g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
                   _("The store refused %u of the demo changes of “%s”; the first: %s"),
                   json_array_get_length (rejected), clinic_name,
                   json_object_get_string_member_with_default (first, "message", "?"));
      return FALSE;
    }
  if (json_object_get_int_member_with_default (object, "accepted", -1) != (gint64) n_changes)
    {
      g_set_error (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
                   _("The store did not accept every demo change of “%s”."), clinic_name);
      return FALSE;
    }
  return TRUE;
}

/* Pushes the clinic's changes as a desk would, in batches the protocol allows, so the
 * server's own merge opens the conflicts. */
static gboolean
push_clinic (VdsStore    *store,
             const char  *tenant_id,
             const char  *user_id,
             Clinic      *clinic,
             gint64      *batch_id,
             GError     **error)
{
  if (!vds_store_touch_device (store, tenant_id, DEMO_SITE, user_id, "Demo data loader",
                               PACKAGE_VERSION, VDS_DEVICE_SEEN, 0, clinic->now, error))
    return FALSE;

  for (guint from = 0; from < clinic->changes->len; from += VD_PROTOCOL_MAX_PUSH)
    {
      guint n = MIN (VD_PROTOCOL_MAX_PUSH, clinic->changes->len - from);
      g_autoptr(VdPushRequest) req = g_new0 (VdPushRequest, 1);
      g_autofree char *answer = NULL;

      g_strlcpy (req->device_id, DEMO_SITE, sizeof req->device_id);
      req->batch_id = ++*batch_id;
      req->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_change_free);
      req->indices = g_array_new (FALSE, FALSE, sizeof (guint));
      req->rejected = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_rejection_free);
      req->n_total = n;
      for (guint i = 0; i < n; i++)
        {
          g_ptr_array_add (req->changes,
                           vd_change_copy (g_ptr_array_index (clinic->changes, from + i)));
          g_array_append_val (req->indices, i);
        }

      if (!vds_store_push (store, tenant_id, req, &answer, error) ||
          !check_answer (answer, n, clinic->name, error))
        return FALSE;
    }

  return vds_store_touch_device (store, tenant_id, DEMO_SITE, user_id, "Demo data loader",
                                 PACKAGE_VERSION, VDS_DEVICE_PUSHED, 0, clinic->now, error);
}

/* Refuses a second load before anything is written: any demo company, clinic or user
 * already there means the demo (or something in its way) is loaded. */
static gboolean
check_not_loaded (VdsStore   *store,
                  JsonObject *demo,
                  GError    **error)
{
  g_autoptr(GPtrArray) companies = names_of (json_object_get_array_member (demo, "companies"), "name");
  g_autoptr(GPtrArray) clinics = names_of (json_object_get_array_member (demo, "clinics"), "slug");
  g_autoptr(GPtrArray) users = names_of (json_object_get_array_member (demo, "users"), "username");
  guint found = 0;
  guint total = companies->len + clinics->len + users->len;

  for (guint i = 0; i < total; i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autofree char *id = NULL;
      g_autoptr(VdsUser) user = NULL;

      if (i < companies->len)
        id = vds_store_find_company_id (store, companies->pdata[i], &local_error);
      else if (i < companies->len + clinics->len)
        id = vds_store_find_tenant_id (store, clinics->pdata[i - companies->len], &local_error);
      else
        user = vds_store_find_user (store, users->pdata[i - companies->len - clinics->len],
                                    &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      found += id != NULL || user != NULL;
    }

  if (found == 0)
    return TRUE;
  if (found == total)
    g_set_error_literal (error, VDS_STORE_ERROR, VDS_STORE_ERROR_EXISTS,
                         _("The demo data is already loaded."));
  else
    g_set_error_literal (error, VDS_STORE_ERROR, VDS_STORE_ERROR_EXISTS,
                         _("The demo data cannot be loaded: some of its companies, clinics "
                           "or user names already exist. Load it into an empty database."));
  return FALSE;
}

/* A user's clinic (its index in clinics) or company, checked against the lists; -1 for
 * none. */
static gboolean
user_scope (JsonObject  *user,
            JsonArray   *clinics,
            JsonArray   *companies,
            int         *out_clinic,
            int         *out_company,
            GError     **error)
{
  const char *username = json_object_get_string_member_with_default (user, "username", "?");
  const char *slug = json_object_get_string_member_with_default (user, "clinic", NULL);
  const char *company = json_object_get_string_member_with_default (user, "company", NULL);
  g_autoptr(GPtrArray) slugs = names_of (clinics, "slug");
  g_autoptr(GPtrArray) names = names_of (companies, "name");
  guint index;

  *out_clinic = *out_company = -1;
  if (slug != NULL && g_ptr_array_find_with_equal_func (slugs, slug, g_str_equal, &index))
    *out_clinic = index;
  else if (slug != NULL)
    return bad_data (error, username, _("its clinic is not in the list of clinics"));
  if (company != NULL && g_ptr_array_find_with_equal_func (names, company, g_str_equal, &index))
    *out_company = index;
  else if (company != NULL)
    return bad_data (error, username, _("its company is not in the list of companies"));
  return TRUE;
}

static void
print_users (JsonObject *demo)
{
  JsonArray *companies = json_object_get_array_member (demo, "companies");
  JsonArray *clinics = json_object_get_array_member (demo, "clinics");
  JsonArray *users = json_object_get_array_member (demo, "users");
  g_autoptr(GString) out = g_string_new (NULL);

  g_string_append_printf (out, _("Demo data loaded: %u companies, %u clinics.\n"),
                          json_array_get_length (companies), json_array_get_length (clinics));
  g_string_append_printf (out, _("Demo users (the password of every one is “%s”):\n"),
                          VDS_DEMO_PASSWORD);
  for (guint i = 0; i < json_array_get_length (users); i++)
    {
      JsonObject *user = json_array_get_object_element (users, i);
      int clinic, company;
      const char *role, *where;

      user_scope (user, clinics, companies, &clinic, &company, NULL);
      role = clinic >= 0 ? json_object_get_string_member (user, "role")
                         : json_object_get_string_member (user, "platform_role");
      where = clinic >= 0 ? json_object_get_string_member (
                              json_array_get_object_element (clinics, clinic), "name")
              : company >= 0 ? json_object_get_string_member (
                                 json_array_get_object_element (companies, company), "name")
              : _("every clinic");
      g_string_append_printf (out, "  %-22s %-15s %s\n",
                              json_object_get_string_member (user, "username"), role, where);
    }
  g_print ("%s", out->str);
}

/* Checks the users' entries and hashes the demo password once for each. */
static GPtrArray *
hash_passwords (JsonObject  *demo,
                GPtrArray   *made,
                GError     **error)
{
  JsonArray *users = get_array (demo, "users", "demo.json", error);
  JsonArray *clinics = json_object_get_array_member (demo, "clinics");
  JsonArray *companies = json_object_get_array_member (demo, "companies");
  g_autoptr(GPtrArray) hashes = g_ptr_array_new_with_free_func (g_free);

  if (users == NULL)
    return NULL;
  for (guint i = 0; i < json_array_get_length (users); i++)
    {
      JsonObject *user = get_object (users, i, "demo.json, users", error);
      const char *username = user ? get_string (user, "username", FALSE, "demo.json", error) : NULL;
      int clinic, company;
      char *hash;

      if (username == NULL ||
          get_string (user, "display_name", FALSE, username, error) == NULL ||
          !user_scope (user, clinics, companies, &clinic, &company, error) ||
          (clinic >= 0 && get_string (user, "role", FALSE, username, error) == NULL) ||
          (clinic < 0 && get_string (user, "platform_role", FALSE, username, error) == NULL))
        return NULL;
      if (clinic >= 0 && ((Clinic *) made->pdata[clinic])->pusher < 0)
        ((Clinic *) made->pdata[clinic])->pusher = i;

      hash = g_malloc0 (crypto_pwhash_STRBYTES);
      g_ptr_array_add (hashes, hash);
      if (crypto_pwhash_str (hash, VDS_DEMO_PASSWORD, strlen (VDS_DEMO_PASSWORD), 2,
                             19 * 1024 * 1024) != 0)
        {
          g_set_error_literal (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
                               _("There is not enough memory to hash the demo passwords."));
          return NULL;
        }
    }
  for (guint i = 0; i < made->len; i++)
    if (((Clinic *) made->pdata[i])->pusher < 0)
      return bad_data (error, ((Clinic *) made->pdata[i])->slug,
                       _("the clinic has no user to load its rows")), NULL;
  return g_steal_pointer (&hashes);
}

gboolean
vds_demo_load (VdsStore  *store,
               GError   **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GPtrArray) made = g_ptr_array_new_with_free_func ((GDestroyNotify) clinic_free);
  g_autoptr(GPtrArray) company_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) tenant_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) user_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) hashes = NULL;
  JsonObject *demo, *notes;
  JsonArray *companies, *clinics, *users;
  VdHlc start, next;
  gint64 now, batch_id = 0;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if ((parser = load_json ("demo.json", error)) == NULL)
    return FALSE;
  demo = json_node_get_object (json_parser_get_root (parser));
  if ((companies = get_array (demo, "companies", "demo.json", error)) == NULL ||
      (clinics = get_array (demo, "clinics", "demo.json", error)) == NULL ||
      (users = get_array (demo, "users", "demo.json", error)) == NULL)
    return FALSE;
  notes = json_object_get_object_member (demo, "appointment_notes");
  if (notes == NULL)
    return bad_data (error, "demo.json", _("“appointment_notes” must be an object"));

  if (!check_not_loaded (store, demo, error))
    return FALSE;
  if (sodium_init () < 0)
    {
      g_set_error_literal (error, VDS_STORE_ERROR, VDS_STORE_ERROR_FAILED,
                           _("The password library could not be started."));
      return FALSE;
    }

  /* The store's clock is "now", so a test that sets it gets the same data every time,
   * and the demo's hlcs are just after the server's: never rejected as clock skew. */
  start = vds_store_server_hlc (store);
  now = vd_hlc_ms (start) / 1000;
  next = start + 1;

  /* Everything is read and checked in memory first, so bad data writes nothing. */
  for (guint i = 0; i < json_array_get_length (clinics); i++)
    {
      JsonObject *info = get_object (clinics, i, "demo.json, clinics", error);
      Clinic *clinic = info ? make_clinic (info, companies, notes, now, &next, error) : NULL;

      if (clinic == NULL)
        return FALSE;
      g_ptr_array_add (made, clinic);
    }
  for (guint c = 0; c < json_array_get_length (companies); c++)
    if (get_object (companies, c, "demo.json, companies", error) == NULL ||
        get_string (json_array_get_object_element (companies, c), "name", FALSE, "demo.json",
                    error) == NULL)
      return FALSE;
  if ((hashes = hash_passwords (demo, made, error)) == NULL)
    return FALSE;

  for (guint c = 0; c < json_array_get_length (companies); c++)
    {
      char *id = NULL;

      if (!vds_store_add_company (store, json_object_get_string_member (
                                    json_array_get_object_element (companies, c), "name"),
                                  &id, error))
        return FALSE;
      g_ptr_array_add (company_ids, id);
    }
  for (guint i = 0; i < made->len; i++)
    {
      Clinic *clinic = g_ptr_array_index (made, i);
      char *id = NULL;

      if (!vds_store_add_tenant (store, clinic->slug, clinic->name,
                                 json_object_get_string_member (clinic->info, "timezone"),
                                 json_object_get_string_member (clinic->info, "currency"),
                                 company_ids->pdata[clinic->company], &id, error))
        return FALSE;
      g_ptr_array_add (tenant_ids, id);
    }

  for (guint i = 0; i < json_array_get_length (users); i++)
    {
      JsonObject *user = json_array_get_object_element (users, i);
      g_autofree char *user_id = NULL;
      int clinic, company;

      user_scope (user, clinics, companies, &clinic, &company, NULL);
      if (!vds_store_add_user (store, json_object_get_string_member (user, "username"),
                               json_object_get_string_member (user, "display_name"),
                               hashes->pdata[i],
                               clinic >= 0 ? "none"
                                           : json_object_get_string_member (user, "platform_role"),
                               &user_id, error))
        return FALSE;
      if (clinic >= 0 &&
          !vds_store_add_membership (store, user_id, tenant_ids->pdata[clinic],
                                     json_object_get_string_member (user, "role"), error))
        return FALSE;
      if (company >= 0 &&
          !vds_store_add_company_admin (store, user_id, company_ids->pdata[company], error))
        return FALSE;
      g_ptr_array_add (user_ids, g_steal_pointer (&user_id));
    }

  for (guint i = 0; i < made->len; i++)
    {
      Clinic *clinic = g_ptr_array_index (made, i);

      if (!push_clinic (store, tenant_ids->pdata[i], user_ids->pdata[clinic->pusher], clinic,
                        &batch_id, error))
        return FALSE;
    }

  print_users (demo);
  return TRUE;
}
