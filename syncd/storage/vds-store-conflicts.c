/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-store-conflicts.c — the conflicts a push opens and resolves as the data changes:
 * double bookings (one per overlap cluster of a staff member's appointments) and rows whose
 * references point at deleted rows, each written through the merge as the server's site. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include "vds-store.h"

#include <string.h>

#include "vd-id.h"
#include "vd-rules.h"
#include "vd-time.h"
#include "vds-store-private.h"

/* An appointment lasts at most this long, so the overlap search looks back no further
 * than this from an appointment's start (see find_overlaps). */
#define MAX_APPOINTMENT_SECONDS VD_RULES_APPOINTMENT_MAX_SECONDS

/* ---- Conflicts --------------------------------------------------------------------- */

/* The same conflict gets the same id on every server: a name-based uuid from SHA-256 of
 * what identifies it. */
static void
conflict_id (const char *tenant_id,
             const char *kind,
             const char *a,
             const char *b,
             const char *c,
             char        out[VD_UUID_LEN + 1])
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  const char *parts[] = { tenant_id, kind, a, b, c };
  guint8 digest[32];
  gsize len = sizeof digest;

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    g_checksum_update (checksum, (const guchar *) parts[i], (gssize) strlen (parts[i]) + 1);
  g_checksum_get_digest (checksum, digest, &len);
  digest[6] = (digest[6] & 0x0f) | 0x50;
  digest[8] = (digest[8] & 0x3f) | 0x80;
  vd_uuid_from_bytes (digest, out);
}

typedef struct
{
  char        id[VD_UUID_LEN + 1];
  gboolean    open;
  const char *kind;
  const char *table_name;
  char        row_id[VD_UUID_LEN + 1];
  char        other_row_id[VD_UUID_LEN + 1];  /* "" for none */
  char       *detail;
} Wanted;

static void
wanted_free (gpointer data)
{
  Wanted *wanted = data;

  g_free (wanted->detail);
  g_free (wanted);
}

static gboolean
conflict_is_open (const VdsRow *row)
{
  return row != NULL && (row->exists || row->dirty) &&
         vds_row_text (row, "kind") != NULL &&
         vds_row_value (row, "resolved_at")->kind == VD_VALUE_NULL &&
         !vds_row_is_deleted (row);
}

static void
take_text (VdChange   *change,
           const char *column,
           const char *text)
{
  VdValue value = { VD_VALUE_NULL };

  if (text != NULL && text[0] != '\0')
    vd_value_set_text (&value, text);
  vd_change_take_cell (change, vd_table_lookup_column (change->table, column), &value);
}

/* Writes one conflict row's wanted state through the merge, as the server's site. */
static void
settle_conflict (VdsStore *self,
                 VdsPush  *push,
                 Wanted   *wanted)
{
  const VdTable *conflicts = vd_schema_lookup_table ("conflicts");
  g_autoptr(VdChange) change = NULL;
  VdsRow *row = vds_push_lookup (push, conflicts, wanted->id);
  gboolean open = conflict_is_open (row);
  VdHlc newest = 0;
  VdValue value = { VD_VALUE_NULL };

  if (wanted->open && open &&
      g_strcmp0 (vds_row_text (row, "row_id"), wanted->row_id) == 0 &&
      g_strcmp0 (vds_row_text (row, "other_row_id") != NULL ? vds_row_text (row, "other_row_id") : "",
                 wanted->other_row_id) == 0 &&
      g_strcmp0 (vds_row_text (row, "detail"), wanted->detail) == 0)
    return;
  if (!wanted->open && !open)
    return;

  if (row == NULL)
    {
      row = vds_row_new (conflicts, wanted->id);
      vds_push_insert (push, row);
    }

  /* Another server, or this one before a restart, may have stamped these cells with a
   * later clock than ours: step past them so this write wins. */
  for (guint c = 0; c < conflicts->n_columns; c++)
    newest = MAX (newest, row->clocks[c].clock.hlc);
  vds_store_clock_observe (self, newest);
  change = vd_change_new (conflicts, wanted->id, vds_store_clock_tick (self), VD_SERVER_SITE);

  if (wanted->open)
    {
      take_text (change, "kind", wanted->kind);
      take_text (change, "table_name", wanted->table_name);
      take_text (change, "row_id", wanted->row_id);
      take_text (change, "other_row_id", wanted->other_row_id);
      take_text (change, "detail", wanted->detail);
      if (!open)
        {
          take_text (change, "detected_at", push->now_text);
          take_text (change, "resolved_at", NULL);
          vd_value_set_bool (&value, FALSE);
          vd_change_take_cell (change, vd_table_deleted_column (conflicts), &value);
        }
    }
  else
    {
      take_text (change, "resolved_at", push->now_text);
    }

  if (vd_row_merge (change, row->values, row->clocks, NULL, push->seq + 1) > 0)
    {
      row->seq = ++push->seq;
      row->dirty = TRUE;
    }
}

static Wanted *
wanted_new (GHashTable *wanted,
            const char *id,
            gboolean    open)
{
  Wanted *w = g_new0 (Wanted, 1);

  g_strlcpy (w->id, id, sizeof w->id);
  w->open = open;
  g_hash_table_replace (wanted, w->id, w);
  return w;
}

static gboolean
appointment_active (const VdsRow *row)
{
  const char *status = vds_row_text (row, "status");
  const char *starts = vds_row_text (row, "starts_at");
  const char *ends = vds_row_text (row, "ends_at");

  /* The fixed "YYYY-MM-DDTHH:MM:SSZ" form orders as text the way the instants do. */
  return !vds_row_is_deleted (row) && vds_row_text (row, "staff_id") != NULL &&
         vd_rules_status_is_active (status) &&
         !vds_row_bool (row, "allow_overlap") &&
         starts != NULL && ends != NULL && strcmp (starts, ends) < 0;
}

/* An active appointment of the clinic as the overlap search sees it. */
typedef struct
{
  char   id[VD_UUID_LEN + 1];
  char   staff[VD_UUID_LEN + 1];
  gint64 s, e;
} Booking;

static gint
window_compare (gconstpointer a,
                gconstpointer b)
{
  const VdsWindow *wa = a, *wb = b;
  int c = strcmp (wa->staff, wb->staff);

  if (c != 0)
    return c;
  return wa->low < wb->low ? -1 : wa->low > wb->low;
}

static gint
booking_compare (gconstpointer a,
                 gconstpointer b)
{
  const Booking *ba = *(const Booking * const *) a, *bb = *(const Booking * const *) b;
  int c = strcmp (ba->staff, bb->staff);

  if (c != 0)
    return c;
  if (ba->s != bb->s)
    return ba->s < bb->s ? -1 : 1;
  return strcmp (ba->id, bb->id);
}

static gint
str_ptr_compare (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Whether b overlaps a place the changed appointments held before this push: old holds
 * those places of b's staff member, by start. */
static gboolean
overlaps_old_place (GHashTable    *old,
                    const Booking *b)
{
  GArray *places = g_hash_table_lookup (old, b->staff);
  guint lo = 0, hi;

  if (places == NULL)
    return FALSE;
  hi = places->len;
  /* The first place starting after b's start − the longest appointment. */
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (g_array_index (places, VdsWindow, mid).low > b->s - MAX_APPOINTMENT_SECONDS)
        hi = mid;
      else
        lo = mid + 1;
    }
  for (guint k = lo; k < places->len; k++)
    {
      const VdsWindow *p = &g_array_index (places, VdsWindow, k);

      if (p->low >= b->e)
        break;
      if (p->high > b->s)
        return TRUE;
    }
  return FALSE;
}

/* Sorts windows and merges those of one staff member that touch. */
static void
merge_windows (GArray *windows)
{
  guint out = 0;

  g_array_sort (windows, window_compare);
  for (guint i = 0; i < windows->len; i++)
    {
      VdsWindow *w = &g_array_index (windows, VdsWindow, i);

      if (out > 0)
        {
          VdsWindow *last = &g_array_index (windows, VdsWindow, out - 1);

          if (strcmp (last->staff, w->staff) == 0 && w->low <= last->high)
            {
              last->high = MAX (last->high, w->high);
              continue;
            }
        }
      g_array_index (windows, VdsWindow, out++) = *w;
    }
  g_array_set_size (windows, out);
}

/* Whether the merged windows cover (low, high) of staff. */
static gboolean
windows_cover (GArray     *covered,
               const char *staff,
               gint64      low,
               gint64      high)
{
  for (guint i = 0; i < covered->len; i++)
    {
      const VdsWindow *w = &g_array_index (covered, VdsWindow, i);

      if (strcmp (w->staff, staff) == 0 && w->low <= low && w->high >= high)
        return TRUE;
    }
  return FALSE;
}

static void
found_booking (const char *id,
               const char *staff_id,
               gint64      starts_at,
               gint64      ends_at,
               gpointer    data)
{
  GHashTable *found = data;
  Booking b;

  b.s = starts_at;
  b.e = ends_at;
  g_strlcpy (b.id, id, sizeof b.id);
  g_strlcpy (b.staff, staff_id, sizeof b.staff);
  if (!g_hash_table_contains (found, b.id))
    {
      Booking *copy = g_memdup2 (&b, sizeof b);

      g_hash_table_insert (found, copy->id, copy);
    }
}

/* The active appointments starting inside windows (merged, not empty) go into found (id →
 * Booking), in one query for all windows (vds_db_find_active_appointments). */
static gboolean
query_windows (VdsStore   *self,
               VdsDb      *db,
               VdsPush    *push,
               GArray     *windows,
               GHashTable *found,
               GError    **error)
{
  g_autofree VdsDbWindow *list = g_new (VdsDbWindow, windows->len);

  for (guint i = 0; i < windows->len; i++)
    {
      const VdsWindow *w = &g_array_index (windows, VdsWindow, i);

      list[i] = (VdsDbWindow) { w->staff, w->low, w->high };
    }
  return vds_db_find_active_appointments (db, push->tenant_id, list, windows->len,
                                          found_booking, found, error);
}

/* Where an appointment row is (staff, [s, e)) and whether it takes part in double
 * bookings at all. */
gboolean
vds_appointment_place (const VdsRow *row,
                       VdsWindow    *out)
{
  if (!appointment_active (row) ||
      !vd_uuid_is_valid (vds_row_text (row, "staff_id")) ||
      !vd_time_parse_utc (vds_row_text (row, "starts_at"), &out->low, NULL) ||
      !vd_time_parse_utc (vds_row_text (row, "ends_at"), &out->high, NULL))
    return FALSE;
  g_strlcpy (out->staff, vds_row_text (row, "staff_id"), sizeof out->staff);
  return TRUE;
}

/* The group's conflict: one per overlap cluster (the appointments of one staff member
 * linked by overlaps, directly or through others), so a push of n bookings writes at most
 * n / 2 conflicts whatever their overlaps. The id comes from the group's two smallest
 * appointment ids, which row_id and other_row_id name, so a pair keeps the conflict it
 * had when conflicts were per pair; detail names every appointment of the group, by
 * start. Stored data, not a message: the desk reads the ids from it. */
static void
want_cluster (VdsPush       *push,
              GPtrArray  *members,   /* of Booking, by start */
              GHashTable *wanted)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  GString *detail = g_string_new (NULL);
  gint64 first = G_MAXINT64, last = G_MININT64;
  char first_text[21], last_text[21];
  char id[VD_UUID_LEN + 1];
  guint listed = 0;
  gsize detail_max = vd_table_lookup_column (vd_schema_lookup_table ("conflicts"),
                                             "detail")->max_length;
  Wanted *w;

  for (guint i = 0; i < members->len; i++)
    {
      const Booking *b = g_ptr_array_index (members, i);

      g_ptr_array_add (ids, (gpointer) b->id);
      first = MIN (first, b->s);
      last = MAX (last, b->e);
    }
  g_ptr_array_sort (ids, str_ptr_compare);
  vd_time_format_utc (first, first_text);
  vd_time_format_utc (last, last_text);
  g_string_append_printf (detail, "Overlapping appointments of one staff member: %u from "
                          "%s to %s:", members->len, first_text, last_text);
  for (guint i = 0; i < members->len; i++)
    {
      const Booking *b = g_ptr_array_index (members, i);

      if (detail->len + VD_UUID_LEN + 40 > detail_max)
        break;
      g_string_append_printf (detail, "%s %s", i > 0 ? "," : "", b->id);
      listed++;
    }
  if (listed < members->len)
    g_string_append_printf (detail, " and %u more", members->len - listed);
  g_string_append_c (detail, '.');

  conflict_id (push->tenant_id, "double_booking", ids->pdata[0], ids->pdata[1], "", id);
  w = wanted_new (wanted, id, TRUE);
  w->kind = "double_booking";
  w->table_name = "appointments";
  g_strlcpy (w->row_id, ids->pdata[0], sizeof w->row_id);
  g_strlcpy (w->other_row_id, ids->pdata[1], sizeof w->other_row_id);
  w->detail = g_string_free (detail, FALSE);
}

/* Double bookings, as overlap clusters (want_cluster). The clusters looked at are those
 * the changed appointments are in now and those they were in before this push (their
 * places as loaded): each is read whole, widening the searched windows until no active
 * appointment of that staff member outside it can overlap it. Every open double-booking
 * conflict naming (as row_id or other_row_id) an appointment of those clusters or a
 * changed one, and not wanted, is resolved: a cluster's conflict names its smallest id,
 * and every member of a cluster that changed is among them. */
static gboolean
detect_double_bookings (VdsStore   *self,
                        VdsDb      *db,
                        VdsPush    *push,
                        GPtrArray  *appointments,
                        GHashTable *wanted,
                        GError    **error)
{
  const VdTable *conflicts = vd_schema_lookup_table ("conflicts");
  g_autoptr(GArray) seeds = g_array_new (FALSE, FALSE, sizeof (VdsWindow));
  g_autoptr(GArray) covered = g_array_new (FALSE, FALSE, sizeof (VdsWindow));
  g_autoptr(GArray) todo = g_array_new (FALSE, FALSE, sizeof (VdsWindow));
  g_autoptr(GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autoptr(GHashTable) changed_ids = g_hash_table_new (g_str_hash, g_str_equal);
  /* staff → places (VdsWindow) the changed appointments held before this push */
  g_autoptr(GHashTable) old = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                     (GDestroyNotify) g_array_unref);
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autoptr(GPtrArray) involved = g_ptr_array_new ();
  g_autoptr(GPtrArray) clusters = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);

  if (appointments->len == 0)
    return TRUE;

  for (guint i = 0; i < appointments->len; i++)
    {
      VdsRow *row = g_ptr_array_index (appointments, i);
      VdsWindow place;

      g_hash_table_add (changed_ids, row->id);
      g_ptr_array_add (ids, row->id);
      if (vds_appointment_place (row, &place))
        g_array_append_val (seeds, place);
      if (row->old_active)
        {
          GArray *places = g_hash_table_lookup (old, row->old_place.staff);

          g_array_append_val (seeds, row->old_place);
          if (places == NULL)
            {
              places = g_array_new (FALSE, FALSE, sizeof (VdsWindow));
              g_hash_table_insert (old, row->old_place.staff, places);
            }
          g_array_append_val (places, row->old_place);
        }
    }
  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, old);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_array_sort (value, window_compare);
  }

  /* First every appointment that may overlap a seed, then whole clusters. */
  for (guint i = 0; i < seeds->len; i++)
    {
      VdsWindow w = g_array_index (seeds, VdsWindow, i);

      w.low -= MAX_APPOINTMENT_SECONDS;
      g_array_append_val (todo, w);
    }
  while (todo->len > 0)
    {
      GPtrArray *cluster = NULL;
      g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
      GHashTableIter iter;
      gpointer value;
      gint64 end = G_MININT64;
      gboolean relevant = FALSE;

      merge_windows (todo);
      if (!query_windows (self, db, push, todo, found, error))
        return FALSE;
      g_array_append_vals (covered, todo->data, todo->len);
      merge_windows (covered);
      g_array_set_size (todo, 0);
      g_ptr_array_set_size (clusters, 0);

      /* Clusters by a sweep per staff member; the relevant ones hold a changed
       * appointment or overlap a seed. */
      g_hash_table_iter_init (&iter, found);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        g_ptr_array_add (sorted, value);
      g_ptr_array_sort (sorted, booking_compare);
      for (guint i = 0; i <= sorted->len; i++)
        {
          Booking *b = i < sorted->len ? g_ptr_array_index (sorted, i) : NULL;
          Booking *head = cluster != NULL ? g_ptr_array_index (cluster, 0) : NULL;

          if (cluster != NULL &&
              (b == NULL || strcmp (b->staff, head->staff) != 0 || b->s >= end))
            {
              if (relevant)
                g_ptr_array_add (clusters, cluster);
              else
                g_ptr_array_unref (cluster);
              cluster = NULL;
            }
          if (b == NULL)
            break;
          if (cluster == NULL)
            {
              cluster = g_ptr_array_new ();
              end = G_MININT64;
              relevant = FALSE;
            }
          g_ptr_array_add (cluster, b);
          end = MAX (end, b->e);
          /* An appointment overlapping a changed one's new place is in its cluster. */
          if (g_hash_table_contains (changed_ids, b->id) || overlaps_old_place (old, b))
            relevant = TRUE;
        }

      /* A relevant cluster is whole once every start that could overlap it was read. */
      for (guint c = 0; c < clusters->len; c++)
        {
          GPtrArray *members = g_ptr_array_index (clusters, c);
          Booking *head = g_ptr_array_index (members, 0);
          VdsWindow need;

          g_strlcpy (need.staff, head->staff, sizeof need.staff);
          need.low = head->s - MAX_APPOINTMENT_SECONDS;
          need.high = G_MININT64;
          for (guint m = 0; m < members->len; m++)
            need.high = MAX (need.high, ((Booking *) g_ptr_array_index (members, m))->e);
          if (!windows_cover (covered, need.staff, need.low, need.high))
            g_array_append_val (todo, need);
        }
    }

  for (guint c = 0; c < clusters->len; c++)
    {
      GPtrArray *members = g_ptr_array_index (clusters, c);

      for (guint m = 0; m < members->len; m++)
        {
          Booking *b = g_ptr_array_index (members, m);

          if (!g_hash_table_contains (changed_ids, b->id))
            g_ptr_array_add (ids, b->id);
        }
      if (members->len >= 2)
        want_cluster (push, members, wanted);
    }

  /* The conflicts these appointments take part in, open or not. */
  if (!vds_push_load_rows_either (self, db, push, conflicts, "row_id", "other_row_id", ids,
                                  involved, error))
    return FALSE;
  for (guint i = 0; i < involved->len; i++)
    {
      VdsRow *conflict = g_ptr_array_index (involved, i);
      Wanted *w;

      if (!conflict_is_open (conflict) ||
          g_strcmp0 (vds_row_text (conflict, "kind"), "double_booking") != 0 ||
          g_hash_table_contains (wanted, conflict->id))
        continue;
      w = wanted_new (wanted, conflict->id, FALSE);
      w->kind = "double_booking";
    }
  return TRUE;
}

static gboolean
is_referenced_table (const VdTable *table)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);

  for (guint t = 0; t < n_tables; t++)
    for (guint c = 0; c < tables[t].n_columns; c++)
      if (g_strcmp0 (tables[t].columns[c].ref_table, table->name) == 0)
        return TRUE;
  return FALSE;
}

static gboolean
has_references (const VdTable *table)
{
  for (guint c = 0; c < table->n_columns; c++)
    if (table->columns[c].ref_table != NULL)
      return TRUE;
  return FALSE;
}

static gboolean
detect_dangling (VdsStore   *self,
                 VdsDb      *db,
                 VdsPush    *push,
                 GPtrArray  *changed,
                 GHashTable *wanted,
                 GError    **error)
{
  guint n_tables;
  const VdTable *tables = vd_schema_tables (&n_tables);
  const VdTable *conflicts = vd_schema_lookup_table ("conflicts");
  const VdTable *appt_table = vd_schema_lookup_table ("appointments");
  g_autoptr(GHashTable) check = g_hash_table_new (NULL, NULL);
  g_autoptr(GPtrArray) check_rows = g_ptr_array_new ();
  /* row_id of every cached conflict (strings owned by the cache) */
  g_autoptr(GHashTable) named = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  VdsRow *row;

  /* Rows with references that changed, and the rows that point at a row this push
   * created, deleted or brought back. */
  for (guint i = 0; i < changed->len; i++)
    {
      row = g_ptr_array_index (changed, i);
      if (has_references (row->table))
        g_hash_table_add (check, row);
    }

  for (guint t = 0; t < n_tables; t++)
    {
      g_autoptr(GPtrArray) targets = g_ptr_array_new ();

      if (!is_referenced_table (&tables[t]))
        continue;
      for (guint i = 0; i < changed->len; i++)
        {
          row = g_ptr_array_index (changed, i);
          if (row->table == &tables[t] &&
              (row->created || !row->was_deleted != !vds_row_is_deleted (row)))
            g_ptr_array_add (targets, row->id);
        }
      if (targets->len == 0)
        continue;

      for (guint u = 0; u < n_tables; u++)
        for (guint c = 0; c < tables[u].n_columns; c++)
          {
            g_autoptr(GPtrArray) found = NULL;

            if (g_strcmp0 (tables[u].columns[c].ref_table, tables[t].name) != 0)
              continue;
            found = g_ptr_array_new ();
            if (!vds_push_load_rows (self, db, push, &tables[u], tables[u].columns[c].name,
                                     targets, found, error))
              return FALSE;
            for (guint f = 0; f < found->len; f++)
              g_hash_table_add (check, g_ptr_array_index (found, f));
          }
    }

  /* Every row they point at, one query per referenced table. */
  g_hash_table_iter_init (&iter, check);
  while (g_hash_table_iter_next (&iter, (gpointer *) &row, NULL))
    g_ptr_array_add (check_rows, row);

  for (guint t = 0; t < n_tables; t++)
    {
      g_autoptr(GPtrArray) targets = g_ptr_array_new ();
      g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

      for (guint i = 0; i < check_rows->len; i++)
        {
          row = g_ptr_array_index (check_rows, i);
          for (guint c = 0; c < row->table->n_columns; c++)
            {
              const VdColumn *column = &row->table->columns[c];
              const char *target = row->values[c].kind == VD_VALUE_TEXT ? row->values[c].s : NULL;

              if (g_strcmp0 (column->ref_table, tables[t].name) != 0 || target == NULL ||
                  !vd_uuid_is_valid (target) || vds_push_lookup (push, &tables[t], target) != NULL ||
                  g_hash_table_contains (seen, target))
                continue;
              g_hash_table_add (seen, (gpointer) target);
              g_ptr_array_add (targets, (gpointer) target);
            }
        }
      if (!vds_push_load_rows (self, db, push, &tables[t], "id", targets, NULL, error))
        return FALSE;
    }

  /* The conflicts these rows already have (a dangling reference's conflict names the row
   * as row_id), so that a reference that is fine costs nothing unless a conflict about it
   * exists to be resolved. The changed appointments' ones are loaded already. */
  {
    g_autoptr(GPtrArray) ids = g_ptr_array_new ();

    for (guint i = 0; i < check_rows->len; i++)
      {
        row = g_ptr_array_index (check_rows, i);
        if (!(row->changed && row->table == appt_table))
          g_ptr_array_add (ids, row->id);
      }
    if (!vds_push_load_rows (self, db, push, conflicts, "row_id", ids, NULL, error))
      return FALSE;
  }

  /* So every conflict about a check row is in the cache now: a row none names needs no
   * conflict id (a SHA-256 per reference) unless a reference of it dangles. */
  {
    VdsRow *conflict;

    g_hash_table_iter_init (&iter, push->rows[conflicts->index]);
    while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &conflict))
      if (vds_row_text (conflict, "row_id") != NULL)
        g_hash_table_add (named, (gpointer) vds_row_text (conflict, "row_id"));
  }

  for (guint i = 0; i < check_rows->len; i++)
    {
      row = g_ptr_array_index (check_rows, i);
      for (guint c = 0; c < row->table->n_columns; c++)
        {
          const VdColumn *column = &row->table->columns[c];
          const char *target = row->values[c].kind == VD_VALUE_TEXT ? row->values[c].s : NULL;
          const VdTable *target_table;
          const VdsRow *target_row = NULL;
          char id[VD_UUID_LEN + 1];
          gboolean dangling;
          Wanted *w;

          if (column->ref_table == NULL)
            continue;
          target_table = vd_schema_lookup_table (column->ref_table);
          if (target != NULL && target_table != NULL)
            target_row = vds_push_lookup (push, target_table, target);
          /* Every row in the cache exists: loaded, or created and written by this push. */
          dangling = !vds_row_is_deleted (row) && target != NULL &&
                     (target_row == NULL || vds_row_is_deleted (target_row));
          if (!dangling && !g_hash_table_contains (named, row->id))
            continue;

          conflict_id (push->tenant_id, "dangling_reference", row->table->name, row->id,
                       column->name, id);
          if (!dangling && vds_push_lookup (push, conflicts, id) == NULL)
            continue;
          w = wanted_new (wanted, id, dangling);
          w->kind = "dangling_reference";
          w->table_name = row->table->name;
          g_strlcpy (w->row_id, row->id, sizeof w->row_id);
          if (target != NULL && vd_uuid_is_valid (target))
            g_strlcpy (w->other_row_id, target, sizeof w->other_row_id);
          /* Stored data, not a message: the desk shows it as the server wrote it. */
          w->detail = g_strdup_printf ("The column %s of this %s row refers to a %s row that %s.",
                                       column->name, row->table->name, column->ref_table,
                                       target_row != NULL ? "is deleted" : "does not exist");
        }
    }
  return TRUE;
}

gboolean
vds_push_detect_conflicts (VdsStore  *self,
                           VdsDb     *db,
                           VdsPush   *push,
                           GPtrArray *changed,
                           GError   **error)
{
  const VdTable *conflicts = vd_schema_lookup_table ("conflicts");
  const VdTable *appt_table = vd_schema_lookup_table ("appointments");
  g_autoptr(GHashTable) wanted = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, wanted_free);
  g_autoptr(GPtrArray) appointments = g_ptr_array_new ();
  g_autoptr(GPtrArray) missing = g_ptr_array_new ();
  g_autoptr(GList) keys = NULL;

  for (guint i = 0; i < changed->len; i++)
    {
      VdsRow *row = g_ptr_array_index (changed, i);

      if (row->table == appt_table)
        g_ptr_array_add (appointments, row);
    }

  if (!detect_double_bookings (self, db, push, appointments, wanted, error) ||
      !detect_dangling (self, db, push, changed, wanted, error))
    return FALSE;

  /* The conflict rows to settle, loaded in one query. */
  keys = g_hash_table_get_keys (wanted);
  keys = g_list_sort (keys, (GCompareFunc) strcmp);
  for (GList *l = keys; l != NULL; l = l->next)
    if (vds_push_lookup (push, conflicts, l->data) == NULL)
      g_ptr_array_add (missing, l->data);
  if (!vds_push_load_rows (self, db, push, conflicts, "id", missing, NULL, error))
    return FALSE;

  /* In id order, so the seqs a push gives its conflicts do not depend on hashing. */
  for (GList *l = keys; l != NULL; l = l->next)
    settle_conflict (self, push, g_hash_table_lookup (wanted, l->data));

  return vds_push_write_dirty_rows (self, db, push, conflicts->index, NULL, error);
}
