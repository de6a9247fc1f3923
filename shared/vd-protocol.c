/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vd-protocol.c — the one codec of wire protocol v1's messages: push request and answer,
 * pull answer, stream events, NOTIFY payloads and error bodies. Decoders take untrusted
 * bytes through vd-json.c's checks and tree; encoders write JSON text directly. */
#define G_LOG_DOMAIN "vdshared"

#include "config.h"

#include <inttypes.h>

#include <glib/gi18n-lib.h>
#include <string.h>

#include "vd-change.h"
#include "vd-error.h"
#include "vd-json.h"
#include "vd-protocol.h"

/* A pull page of 5,000 changes may carry long notes, so the desk accepts answers larger
 * than the 4 MiB the server accepts in a request. */
#define PULL_MAX_ANSWER (64 * 1024 * 1024)

void
vd_rejection_free (VdRejection *rejection)
{
  if (rejection == NULL)
    return;

  g_free (rejection->code);
  g_free (rejection->message);
  g_free (rejection);
}

void
vd_push_request_free (VdPushRequest *request)
{
  if (request == NULL)
    return;

  g_clear_pointer (&request->changes, g_ptr_array_unref);
  g_clear_pointer (&request->indices, g_array_unref);
  g_clear_pointer (&request->rejected, g_ptr_array_unref);
  g_free (request);
}

void
vd_pull_answer_free (VdPullAnswer *answer)
{
  if (answer == NULL)
    return;

  g_clear_pointer (&answer->changes, g_ptr_array_unref);
  g_free (answer);
}

static gboolean
bad_request (GError     **error,
             const char  *message)
{
  g_set_error_literal (error, VD_ERROR, VD_ERROR_BAD_REQUEST, message);
  return FALSE;
}

/* A repeated member at the top of a request cannot be a change's fault. */
static gboolean
check_top_repeated (const VdJsonDoc  *doc,
                    GError          **error)
{
  const char *name = vd_json_object_repeated (doc, 0);
  g_autofree char *quoted = NULL;

  if (name == NULL)
    return TRUE;
  quoted = vd_json_quote (name);
  g_set_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
               _("The member “%s” appears more than once in the request."), quoted);
  return FALSE;
}

static gboolean
is_push_member (const VdJsonDoc *doc,
                guint            member)
{
  return VD_JSON_NAME_IS (doc, member, "device_id") || VD_JSON_NAME_IS (doc, member, "batch_id") ||
         VD_JSON_NAME_IS (doc, member, "changes");
}

VdPushRequest *
vd_push_request_decode (const char  *data,
                        gsize        len,
                        GError     **error)
{
  g_autoptr(VdJsonDoc) doc = NULL;
  g_autoptr(VdPushRequest) request = NULL;
  guint device_node = VD_JSON_NONE, batch_node = VD_JSON_NONE, changes_node = VD_JSON_NONE;
  guint n_unknown = 0, unknown = VD_JSON_NONE;
  const char *device_id;
  guint m;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  doc = vd_json_doc_parse_untrusted (data, len, VD_PROTOCOL_MAX_BODY, error);
  if (doc == NULL)
    return NULL;

  if (doc->nodes[0].kind != VD_JSON_OBJECT)
    return bad_request (error, _("The push must be a JSON object.")), NULL;
  if (!check_top_repeated (doc, error))
    return NULL;

  m = vd_json_first (0);
  for (guint k = 0; k < doc->nodes[0].n; k++, m = vd_json_next (doc, m))
    {
      if (VD_JSON_NAME_IS (doc, m, "device_id"))
        device_node = m;
      else if (VD_JSON_NAME_IS (doc, m, "batch_id"))
        batch_node = m;
      else if (VD_JSON_NAME_IS (doc, m, "changes"))
        changes_node = m;
      else if (n_unknown++ == 0)
        unknown = m;
    }
  if (n_unknown > 0)
    {
      g_autofree char *quoted = NULL;

      if (n_unknown > 1)
        {
          g_autoptr(GArray) order = vd_json_members_in_json_glib_order (doc, 0);

          for (guint k = 0; k < order->len; k++)
            if (!is_push_member (doc, g_array_index (order, guint, k)))
              {
                unknown = g_array_index (order, guint, k);
                break;
              }
        }
      quoted = vd_json_quote (vd_json_name (doc, unknown));
      g_set_error (error, VD_ERROR, VD_ERROR_BAD_REQUEST,
                   _("The push has an unknown member “%s”."), quoted);
      return NULL;
    }

  request = g_new0 (VdPushRequest, 1);

  device_id = vd_json_get_string (doc, device_node);
  if (device_id == NULL || !vd_uuid_normalize (device_id, request->device_id))
    return bad_request (error, _("The push needs a “device_id” that is a UUID.")), NULL;

  if (!vd_json_is_int (doc, batch_node) || doc->nodes[batch_node].i <= 0)
    return bad_request (error, _("The push needs a “batch_id” that is a positive whole number.")), NULL;
  request->batch_id = doc->nodes[batch_node].i;

  if (changes_node == VD_JSON_NONE || doc->nodes[changes_node].kind != VD_JSON_ARRAY)
    return bad_request (error, _("The push needs a “changes” list.")), NULL;
  request->n_total = doc->nodes[changes_node].n;
  if (request->n_total > VD_PROTOCOL_MAX_PUSH)
    {
      g_set_error (error, VD_ERROR, VD_ERROR_PAYLOAD_TOO_LARGE,
                   _("The push has %u changes; at most %d are accepted at once."),
                   request->n_total, VD_PROTOCOL_MAX_PUSH);
      return NULL;
    }

  request->changes = g_ptr_array_new_full (request->n_total, (GDestroyNotify) vd_change_free);
  request->indices = g_array_sized_new (FALSE, FALSE, sizeof (guint), request->n_total);
  request->rejected = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_rejection_free);

  m = vd_json_first (changes_node);
  for (guint i = 0; i < request->n_total; i++, m = vd_json_next (doc, m))
    {
      g_autoptr(GError) change_error = NULL;
      VdChange *change;

      change = vd_change_from_doc (doc, m, VD_CHANGE_FROM_CLIENT, &change_error);
      if (change != NULL)
        {
          g_ptr_array_add (request->changes, change);
          g_array_append_val (request->indices, i);
        }
      else
        {
          VdRejection *rejection = g_new0 (VdRejection, 1);

          rejection->index = i;
          rejection->code = g_strdup (vd_error_code_to_string (VD_ERROR_INVALID_CHANGE));
          rejection->message = g_strdup (change_error->message);
          g_ptr_array_add (request->rejected, rejection);
        }
    }

  return g_steal_pointer (&request);
}

VdPullAnswer *
vd_pull_answer_decode (const char  *data,
                       gsize        len,
                       GError     **error)
{
  g_autoptr(VdJsonDoc) doc = NULL;
  g_autoptr(VdPullAnswer) answer = NULL;
  guint member, changes_node, n_changes, m;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  doc = vd_json_doc_parse_untrusted (data, len, PULL_MAX_ANSWER, error);
  if (doc == NULL)
    return NULL;

  if (doc->nodes[0].kind != VD_JSON_OBJECT)
    return bad_request (error, _("The pull answer is not a JSON object.")), NULL;
  if (!check_top_repeated (doc, error))
    return NULL;

  /* Members this version does not know are ignored: a newer server may add some. */
  answer = g_new0 (VdPullAnswer, 1);

  member = vd_json_object_get (doc, 0, "cursor");
  if (!vd_json_is_int (doc, member) || doc->nodes[member].i < 0)
    return bad_request (error, _("The pull answer has no valid “cursor”.")), NULL;
  answer->cursor = doc->nodes[member].i;

  member = vd_json_object_get (doc, 0, "more");
  if (member == VD_JSON_NONE || doc->nodes[member].kind != VD_JSON_BOOL)
    return bad_request (error, _("The pull answer has no valid “more”.")), NULL;
  answer->more = doc->nodes[member].b;

  if (!vd_hlc_parse (vd_json_get_string (doc, vd_json_object_get (doc, 0, "server_hlc")),
                     &answer->server_hlc, NULL))
    return bad_request (error, _("The pull answer has no valid “server_hlc”.")), NULL;

  changes_node = vd_json_object_get (doc, 0, "changes");
  if (changes_node == VD_JSON_NONE || doc->nodes[changes_node].kind != VD_JSON_ARRAY)
    return bad_request (error, _("The pull answer has no “changes” list.")), NULL;
  n_changes = doc->nodes[changes_node].n;

  answer->changes = g_ptr_array_new_full (n_changes, (GDestroyNotify) vd_change_free);
  m = vd_json_first (changes_node);
  for (guint i = 0; i < n_changes; i++, m = vd_json_next (doc, m))
    {
      g_autoptr(GError) change_error = NULL;
      VdChange *change;

      change = vd_change_from_doc (doc, m, VD_CHANGE_FROM_SERVER, &change_error);
      if (change != NULL && change->seq == 0)
        {
          g_clear_pointer (&change, vd_change_free);
          g_set_error_literal (&change_error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                               _("The change has no “seq”."));
        }
      if (change == NULL)
        {
          g_set_error (error, VD_ERROR, VD_ERROR_INVALID_CHANGE,
                       _("Change %u: %s"), i, change_error->message);
          return NULL;
        }
      g_ptr_array_add (answer->changes, change);
    }

  return g_steal_pointer (&answer);
}

static char *
finish (GString *out,
        gsize   *out_len)
{
  if (out_len != NULL)
    *out_len = out->len;
  return g_string_free (out, FALSE);
}

char *
vd_push_request_encode (const char *device_id,
                        gint64      batch_id,
                        GPtrArray  *changes,
                        gsize      *out_len)
{
  GString *out;

  g_return_val_if_fail (device_id != NULL, NULL);
  g_return_val_if_fail (changes != NULL, NULL);

  out = g_string_sized_new (128 + 256 * changes->len);
  g_string_append (out, "{\"device_id\":");
  vd_json_append_string (out, device_id);
  g_string_append (out, ",\"batch_id\":");
  vd_json_append_int (out, batch_id);
  g_string_append (out, ",\"changes\":[");
  for (guint i = 0; i < changes->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      vd_change_append_json (out, g_ptr_array_index (changes, i), FALSE);
    }
  g_string_append (out, "]}");

  return finish (out, out_len);
}

char *
vd_pull_answer_encode (GPtrArray *changes,
                       gint64     cursor,
                       gboolean   more,
                       VdHlc      server_hlc,
                       gsize     *out_len)
{
  GString *out;
  char hlc[VD_HLC_STRING_LEN + 1];

  g_return_val_if_fail (changes != NULL, NULL);

  out = g_string_sized_new (128 + 256 * changes->len);
  g_string_append (out, "{\"changes\":[");
  for (guint i = 0; i < changes->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      vd_change_append_json (out, g_ptr_array_index (changes, i), TRUE);
    }
  g_string_append (out, "],\"cursor\":");
  vd_json_append_int (out, cursor);
  g_string_append (out, ",\"more\":");
  g_string_append (out, more ? "true" : "false");
  vd_hlc_format (server_hlc, hlc);
  g_string_append (out, ",\"server_hlc\":\"");
  g_string_append (out, hlc);
  g_string_append (out, "\"}");

  return finish (out, out_len);
}

/* ---------------------------------------------------------------------------------- */
/* Push answer */

void
vd_push_answer_free (VdPushAnswer *answer)
{
  if (answer == NULL)
    return;

  g_clear_pointer (&answer->rejected, g_ptr_array_unref);
  g_free (answer);
}

char *
vd_push_answer_encode (const VdPushAnswer *answer,
                       gsize              *out_len)
{
  GString *out;
  char hlc[VD_HLC_STRING_LEN + 1];
  guint n_rejected;

  g_return_val_if_fail (answer != NULL, NULL);

  n_rejected = answer->rejected != NULL ? answer->rejected->len : 0;
  out = g_string_sized_new (128 + 96 * n_rejected);
  g_string_append (out, "{\"batch_id\":");
  vd_json_append_int (out, answer->batch_id);
  g_string_append (out, ",\"accepted\":");
  vd_json_append_int (out, answer->accepted);
  g_string_append (out, ",\"rejected\":[");
  for (guint i = 0; i < n_rejected; i++)
    {
      const VdRejection *rejection = g_ptr_array_index (answer->rejected, i);

      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append (out, "{\"index\":");
      vd_json_append_int (out, rejection->index);
      g_string_append (out, ",\"code\":");
      vd_json_append_string (out, rejection->code);
      g_string_append (out, ",\"message\":");
      vd_json_append_string (out, rejection->message);
      g_string_append_c (out, '}');
    }
  g_string_append (out, "],\"cursor\":");
  vd_json_append_int (out, answer->cursor);
  vd_hlc_format (answer->server_hlc, hlc);
  g_string_append (out, ",\"server_hlc\":\"");
  g_string_append (out, hlc);
  g_string_append (out, "\"}");

  return finish (out, out_len);
}

VdPushAnswer *
vd_push_answer_decode (const char  *data,
                       gsize        len,
                       GError     **error)
{
  g_autoptr(VdJsonDoc) doc = NULL;
  g_autoptr(VdPushAnswer) answer = NULL;
  guint member, rejected_node, m;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  doc = vd_json_doc_parse_untrusted (data, len, VD_PROTOCOL_MAX_BODY, NULL);
  if (doc == NULL || doc->nodes[0].kind != VD_JSON_OBJECT)
    return bad_request (error, "not a JSON object"), NULL;

  answer = g_new0 (VdPushAnswer, 1);
  answer->rejected = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_rejection_free);

  member = vd_json_object_get (doc, 0, "batch_id");
  if (!vd_json_is_int (doc, member))
    return bad_request (error, "another batch id"), NULL;
  answer->batch_id = doc->nodes[member].i;

  member = vd_json_object_get (doc, 0, "accepted");
  answer->accepted = vd_json_is_int (doc, member) ? doc->nodes[member].i : -1;

  member = vd_json_object_get (doc, 0, "cursor");
  answer->cursor = vd_json_is_int (doc, member) ? doc->nodes[member].i : 0;

  member = vd_json_object_get (doc, 0, "server_hlc");
  if (member != VD_JSON_NONE &&
      !vd_hlc_parse (vd_json_get_string (doc, member), &answer->server_hlc, NULL))
    return bad_request (error, "bad server_hlc"), NULL;

  rejected_node = vd_json_object_get (doc, 0, "rejected");
  if (rejected_node == VD_JSON_NONE)
    return g_steal_pointer (&answer);
  if (doc->nodes[rejected_node].kind != VD_JSON_ARRAY)
    return bad_request (error, "rejected is not a list"), NULL;

  m = vd_json_first (rejected_node);
  for (guint k = 0; k < doc->nodes[rejected_node].n; k++, m = vd_json_next (doc, m))
    {
      VdRejection *rejection;
      const char *text;

      if (doc->nodes[m].kind != VD_JSON_OBJECT)
        return bad_request (error, "a rejection is not an object"), NULL;

      rejection = g_new0 (VdRejection, 1);
      member = vd_json_object_get (doc, m, "index");
      rejection->index = vd_json_is_int (doc, member) && doc->nodes[member].i >= 0 &&
                         doc->nodes[member].i < G_MAXUINT
                         ? (guint) doc->nodes[member].i : G_MAXUINT;
      text = vd_json_get_string (doc, vd_json_object_get (doc, m, "code"));
      rejection->code = g_strdup (text != NULL ? text : "invalid_change");
      text = vd_json_get_string (doc, vd_json_object_get (doc, m, "message"));
      rejection->message = g_strdup (text != NULL ? text : "");
      g_ptr_array_add (answer->rejected, rejection);
    }

  return g_steal_pointer (&answer);
}

gboolean
vd_push_answer_has_code (const VdPushAnswer *answer,
                         const char         *code)
{
  g_return_val_if_fail (answer != NULL, FALSE);

  for (guint i = 0; answer->rejected != NULL && i < answer->rejected->len; i++)
    {
      const VdRejection *rejection = g_ptr_array_index (answer->rejected, i);

      if (g_strcmp0 (rejection->code, code) == 0)
        return TRUE;
    }
  return FALSE;
}

/* ---------------------------------------------------------------------------------- */
/* Pull answer, sent again */

/* ",\"server_hlc\":\"" + 16 hex digits + "\"}" ends every pull answer. */
#define HLC_TAIL (VD_HLC_STRING_LEN + 2)

gboolean
vd_pull_answer_restamp (char  *data,
                        gsize  len,
                        VdHlc  server_hlc)
{
  char hlc[VD_HLC_STRING_LEN + 1];

  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (len < HLC_TAIL)
    return FALSE;
  vd_hlc_format (server_hlc, hlc);
  memcpy (data + len - HLC_TAIL, hlc, VD_HLC_STRING_LEN);
  return TRUE;
}

/* ---------------------------------------------------------------------------------- */
/* Stream events */

gsize
vd_stream_event_encode (const VdStreamEvent *event,
                        char                *buf)
{
  int n;

  g_return_val_if_fail (event != NULL && buf != NULL, 0);

  switch (event->type)
    {
    case VD_STREAM_EVENT_CURSOR:
      n = g_snprintf (buf, VD_STREAM_EVENT_MAX_LEN,
                      "{\"type\":\"cursor\",\"cursor\":%" G_GINT64_FORMAT "}", event->cursor);
      break;
    case VD_STREAM_EVENT_PING:
      n = g_snprintf (buf, VD_STREAM_EVENT_MAX_LEN, "{\"type\":\"ping\"}");
      break;
    case VD_STREAM_EVENT_PONG:
      n = g_snprintf (buf, VD_STREAM_EVENT_MAX_LEN, "{\"type\":\"pong\"}");
      break;
    case VD_STREAM_EVENT_NONE:
    default:
      g_return_val_if_reached (0);
    }
  return (gsize) n;
}

VdStreamEventType
vd_stream_event_decode (const char    *data,
                        gsize          len,
                        VdStreamEvent *out)
{
  g_autoptr(VdJsonDoc) doc = NULL;
  const char *type;
  guint cursor;

  g_return_val_if_fail (out != NULL, VD_STREAM_EVENT_NONE);

  out->type = VD_STREAM_EVENT_NONE;
  out->cursor = 0;
  if (data == NULL || len == 0)
    return VD_STREAM_EVENT_NONE;
  doc = vd_json_doc_parse_untrusted (data, len, VD_PROTOCOL_MAX_BODY, NULL);
  if (doc == NULL || doc->nodes[0].kind != VD_JSON_OBJECT)
    return VD_STREAM_EVENT_NONE;

  type = vd_json_get_string (doc, vd_json_object_get (doc, 0, "type"));
  if (g_strcmp0 (type, "cursor") == 0)
    {
      cursor = vd_json_object_get (doc, 0, "cursor");
      if (!vd_json_is_int (doc, cursor))
        return VD_STREAM_EVENT_NONE;
      out->cursor = doc->nodes[cursor].i;
      out->type = VD_STREAM_EVENT_CURSOR;
    }
  else if (g_strcmp0 (type, "ping") == 0)
    out->type = VD_STREAM_EVENT_PING;
  else if (g_strcmp0 (type, "pong") == 0)
    out->type = VD_STREAM_EVENT_PONG;
  return out->type;
}

/* ---------------------------------------------------------------------------------- */
/* NOTIFY payloads */

char *
vd_notify_seq_encode (const char *tenant_id,
                      gint64      seq)
{
  g_return_val_if_fail (tenant_id != NULL, NULL);

  return g_strdup_printf ("%s:%" PRId64, tenant_id, seq);
}

gboolean
vd_notify_seq_decode (const char  *payload,
                      char       **out_tenant_id,
                      gint64      *out_seq)
{
  const char *colon = payload != NULL ? strrchr (payload, ':') : NULL;
  guint64 seq;

  g_return_val_if_fail (out_tenant_id != NULL && out_seq != NULL, FALSE);

  *out_tenant_id = NULL;
  *out_seq = 0;
  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 0, G_MAXINT64, &seq, NULL))
    return FALSE;
  *out_tenant_id = g_strndup (payload, colon - payload);
  *out_seq = (gint64) seq;
  return TRUE;
}

char *
vd_notify_revoke_encode (const char *tenant_id,
                         const char *device_id)
{
  g_return_val_if_fail (tenant_id != NULL && device_id != NULL, NULL);

  return g_strdup_printf ("%s:%s", tenant_id, device_id);
}

gboolean
vd_notify_revoke_decode (const char  *payload,
                         char       **out_tenant_id,
                         char       **out_device_id)
{
  /* Tenant ids are uuids: the device id is what follows the first colon. */
  const char *colon = payload != NULL ? strchr (payload, ':') : NULL;

  g_return_val_if_fail (out_tenant_id != NULL && out_device_id != NULL, FALSE);

  *out_tenant_id = NULL;
  *out_device_id = NULL;
  if (colon == NULL)
    return FALSE;
  *out_tenant_id = g_strndup (payload, colon - payload);
  *out_device_id = g_strdup (colon + 1);
  return TRUE;
}

/* ---------------------------------------------------------------------------------- */
/* Error bodies */

/* An error body is a sentence or two: anything longer is not one. */
#define ERROR_BODY_MAX 65536

char *
vd_error_body_encode (const char *code,
                      const char *message,
                      gsize      *out_len)
{
  GString *out = g_string_sized_new (64 + (message != NULL ? strlen (message) : 0));

  g_string_append (out, "{\"error\":{\"code\":");
  vd_json_append_string (out, code);
  g_string_append (out, ",\"message\":");
  vd_json_append_string (out, message);
  g_string_append (out, "}}");

  return finish (out, out_len);
}

char *
vd_error_body_decode (const char  *data,
                      gsize        len,
                      char       **out_code)
{
  g_autoptr(VdJsonDoc) doc = NULL;
  guint error;

  if (out_code != NULL)
    *out_code = NULL;
  if (data == NULL || len == 0 || len > ERROR_BODY_MAX)
    return NULL;
  doc = vd_json_doc_parse_untrusted (data, len, ERROR_BODY_MAX, NULL);
  if (doc == NULL || doc->nodes[0].kind != VD_JSON_OBJECT)
    return NULL;
  error = vd_json_object_get (doc, 0, "error");
  if (error == VD_JSON_NONE || doc->nodes[error].kind != VD_JSON_OBJECT)
    return NULL;
  if (out_code != NULL)
    *out_code = g_strdup (vd_json_get_string (doc, vd_json_object_get (doc, error, "code")));
  return g_strdup (vd_json_get_string (doc, vd_json_object_get (doc, error, "message")));
}
