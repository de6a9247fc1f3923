/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vds-api.c — the calls of protocol v1: routing and cheap checks on the main thread, then
 * authentication, tenancy and the store call in a worker thread, each answered with the
 * exact JSON shapes of ARCHITECTURE §5 or an error body a person can read. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "vds-activity.h"
#include "vds-listing.h"
#include "vds-api.h"
#include "vds-auth.h"
#include "vds-limits.h"
#include "vd-change.h"
#include "vd-id.h"
#include "vd-protocol.h"
#include "vd-time.h"

/* A uuid no clinic has: the health check asks the database for it. */
#define NIL_UUID "00000000-0000-0000-0000-000000000000"

typedef enum
{
  ROUTE_NONE,
  ROUTE_HEALTH,
  ROUTE_LOGIN,
  ROUTE_REFRESH,
  ROUTE_LOGOUT,
  ROUTE_ME,
  ROUTE_PUSH,
  ROUTE_PULL,
  ROUTE_ADMIN_TENANTS,
  ROUTE_STREAM,
  ROUTE_ADMIN_DEVICES,
  ROUTE_ADMIN_ACTIVITY,
  ROUTE_ADMIN_REVOKE,
  ROUTE_METRICS,
  N_ROUTES
} Route;

/* The route label of metrics: fixed names, never paths. */
static const char * const route_names[N_ROUTES] = {
  [ROUTE_NONE] = "none",
  [ROUTE_HEALTH] = "health",
  [ROUTE_LOGIN] = "login",
  [ROUTE_REFRESH] = "refresh",
  [ROUTE_LOGOUT] = "logout",
  [ROUTE_ME] = "me",
  [ROUTE_PUSH] = "push",
  [ROUTE_PULL] = "pull",
  [ROUTE_ADMIN_TENANTS] = "admin_tenants",
  [ROUTE_STREAM] = "stream",
  [ROUTE_ADMIN_DEVICES] = "admin_devices",
  [ROUTE_ADMIN_ACTIVITY] = "admin_activity",
  [ROUTE_ADMIN_REVOKE] = "admin_revoke",
  [ROUTE_METRICS] = "metrics",
};

/* The open-conflicts gauge is a count over every clinic: read at most this often. */
#define CONFLICTS_CACHE_US (10 * G_USEC_PER_SEC)

struct _VdsApi
{
  VdsStore       *store;
  VdsLimiter     *per_address;
  VdsLimiter     *per_clinic;
  VdsLimiter     *logins;
  guint           lockout_failures;
  guint           lockout_seconds;
  guint           access_ttl_s;
  char          **allowed_origins;
  VdsMetrics     *metrics;
  VdsActivityLog *activity;
  VdsListing     *listing;

  GMutex          conflicts_lock;
  gint64          conflicts;
  gint64          conflicts_read_at;   /* monotonic µs, 0 = never */
};

/* ---- requests and answers ---- */

void
vds_request_free (VdsRequest *req)
{
  if (req == NULL)
    return;
  g_free (req->method);
  g_free (req->path);
  g_clear_pointer (&req->query, g_hash_table_unref);
  g_free (req->content_type);
  g_free (req->authorization);
  g_free (req->user_agent);
  g_free (req->remote);
  g_clear_pointer (&req->body, g_bytes_unref);
  g_clear_pointer (&req->answer, g_bytes_unref);
  g_clear_pointer (&req->headers, g_ptr_array_unref);
  g_free (req->origin);
  g_free (req->error_message);
  g_free (req->stream.tenant_id);
  g_free (req->stream.device_id);
  g_free (req->stream.session_id);
  g_clear_pointer (&req->effects, g_ptr_array_unref);
  g_free (req->member_tenant);
  g_free (req->member_device);
  g_free (req->member_user);
  g_free (req);
}

void
vds_request_add_header (VdsRequest *req,
                        const char *name,
                        const char *value)
{
  if (req->headers == NULL)
    req->headers = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (req->headers, g_strdup (name));
  g_ptr_array_add (req->headers, g_strdup (value));
}

static GBytes *
builder_to_bytes (JsonBuilder *builder)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  gsize len;
  char *text;

  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &len);
  return g_bytes_new_take (text, len);
}

char *
vds_api_error_json (VdErrorCode  code,
                    const char  *message,
                    gsize       *out_len)
{
  return vd_error_body_encode (vd_error_code_to_string (code), message, out_len);
}

void
vds_request_set_error (VdsRequest  *req,
                       VdErrorCode  code,
                       const char  *message)
{
  gsize len;
  char *text = vds_api_error_json (code, message, &len);

  req->status = vd_error_code_http_status (code);
  g_clear_pointer (&req->answer, g_bytes_unref);
  req->answer = g_bytes_new_take (text, len);
  req->answer_type = NULL;
  req->error_code = code;
  g_free (req->error_message);
  req->error_message = g_strdup (message);
}

static void
set_answer (VdsRequest  *req,
            JsonBuilder *builder)
{
  req->status = 200;
  g_clear_pointer (&req->answer, g_bytes_unref);
  req->answer = builder_to_bytes (builder);
}

static void
set_rate_limited (VdsRequest *req,
                  guint       retry_after,
                  const char *message)
{
  g_autofree char *seconds = g_strdup_printf ("%u", retry_after);

  vds_request_set_error (req, VD_ERROR_RATE_LIMITED, message);
  vds_request_add_header (req, "Retry-After", seconds);
}

/* Store failures: an unreachable database is the client's cue to retry; anything else
 * is our fault and goes to the log, not to the client. */
static void
set_store_failed (VdsRequest *req,
                  GError     *error)
{
  if (g_error_matches (error, VDS_STORE_ERROR, VDS_STORE_ERROR_UNAVAILABLE))
    {
      g_warning ("Database unavailable during %s %s: %s", req->method, req->path,
                 error->message);
      vds_request_set_error (req, VD_ERROR_UNAVAILABLE,
                             _("The sync server cannot reach its database right now. "
                               "Your changes are kept on this computer; try again in a "
                               "few moments."));
      vds_request_add_header (req, "Retry-After", "5");
      return;
    }

  g_warning ("Request %s %s failed: %s", req->method, req->path,
             error ? error->message : "(no detail)");
  vds_request_set_error (req, VD_ERROR_INTERNAL,
                         _("Something went wrong on the sync server. The error has been "
                           "logged; try again later."));
}

/* An error of the shared domain (decoder, precheck) goes out with its own code. */
static void
set_vd_error (VdsRequest *req,
              GError     *error)
{
  if (error->domain == VD_ERROR && (guint) error->code < VD_N_ERROR_CODES)
    vds_request_set_error (req, error->code, error->message);
  else
    vds_request_set_error (req, VD_ERROR_BAD_REQUEST, error->message);
}

/* ---- routing ---- */

static Route
match_route (const char  *path,
             char       **out_tenant_id,
             char       **out_device_id,
             const char **out_method)
{
  g_auto(GStrv) parts = NULL;
  guint n;

  *out_tenant_id = NULL;
  *out_device_id = NULL;
  *out_method = NULL;

  if (!g_str_has_prefix (path, VD_PROTOCOL_BASE_PATH "/"))
    return ROUTE_NONE;

  parts = g_strsplit (path + strlen (VD_PROTOCOL_BASE_PATH "/"), "/", 7);
  n = g_strv_length (parts);

  if (n == 1 && g_str_equal (parts[0], "health"))
    return (*out_method = "GET", ROUTE_HEALTH);
  if (n == 1 && g_str_equal (parts[0], "me"))
    return (*out_method = "GET", ROUTE_ME);
  if (n == 2 && g_str_equal (parts[0], "auth"))
    {
      *out_method = "POST";
      if (g_str_equal (parts[1], "login"))
        return ROUTE_LOGIN;
      if (g_str_equal (parts[1], "refresh"))
        return ROUTE_REFRESH;
      if (g_str_equal (parts[1], "logout"))
        return ROUTE_LOGOUT;
      *out_method = NULL;
      return ROUTE_NONE;
    }
  if (n == 1 && g_str_equal (parts[0], "metrics"))
    return (*out_method = "GET", ROUTE_METRICS);
  if (n == 2 && g_str_equal (parts[0], "admin") && g_str_equal (parts[1], "tenants"))
    return (*out_method = "GET", ROUTE_ADMIN_TENANTS);
  if (n == 4 && g_str_equal (parts[0], "admin") && g_str_equal (parts[1], "tenants")
      && parts[2][0] != '\0')
    {
      *out_method = "GET";
      *out_tenant_id = g_strdup (parts[2]);
      if (g_str_equal (parts[3], "devices"))
        return ROUTE_ADMIN_DEVICES;
      if (g_str_equal (parts[3], "activity"))
        return ROUTE_ADMIN_ACTIVITY;
      *out_method = NULL;
      g_clear_pointer (out_tenant_id, g_free);
      return ROUTE_NONE;
    }
  if (n == 6 && g_str_equal (parts[0], "admin") && g_str_equal (parts[1], "tenants")
      && parts[2][0] != '\0' && g_str_equal (parts[3], "devices") && parts[4][0] != '\0'
      && g_str_equal (parts[5], "revoke"))
    {
      *out_method = "POST";
      *out_tenant_id = g_strdup (parts[2]);
      *out_device_id = g_strdup (parts[4]);
      return ROUTE_ADMIN_REVOKE;
    }
  if (n == 4 && g_str_equal (parts[0], "tenants") && g_str_equal (parts[2], "sync")
      && parts[1][0] != '\0')
    {
      if (g_str_equal (parts[3], "push"))
        {
          *out_method = "POST";
          *out_tenant_id = g_strdup (parts[1]);
          return ROUTE_PUSH;
        }
      if (g_str_equal (parts[3], "pull"))
        {
          *out_method = "GET";
          *out_tenant_id = g_strdup (parts[1]);
          return ROUTE_PULL;
        }
      if (g_str_equal (parts[3], "stream"))
        {
          *out_method = "GET";
          *out_tenant_id = g_strdup (parts[1]);
          return ROUTE_STREAM;
        }
    }
  return ROUTE_NONE;
}

static gboolean
route_has_body (Route route)
{
  return route == ROUTE_LOGIN || route == ROUTE_REFRESH || route == ROUTE_PUSH;
}

VdsApi *
vds_api_new (VdsStore              *store,
             const VdsConfig       *config)
{
  VdsApi *self = g_new0 (VdsApi, 1);

  self->store = store;
  self->per_address = vds_limiter_new (config->address_rate, config->address_burst);
  self->per_clinic = vds_limiter_new (config->clinic_rate, config->clinic_burst);
  self->logins = vds_limiter_new (config->login_rate, config->login_burst);
  self->lockout_failures = MAX (1, config->lockout_failures);
  self->lockout_seconds = config->lockout_seconds;
  self->access_ttl_s = config->access_ttl_s > 0 ? config->access_ttl_s : VD_PROTOCOL_ACCESS_TTL_S;
  self->allowed_origins = g_strdupv (config->allowed_origins);
  self->metrics = vds_metrics_new ();
  self->activity = vds_activity_log_new (store, MAX (config->activity_flush_s, 1));
  self->listing = vds_listing_new (store, self->activity, self->metrics,
                                   config->listing_max_age_ms);
  g_mutex_init (&self->conflicts_lock);
  vds_store_set_offline_after (store, config->offline_after_s > 0 ? config->offline_after_s
                                                                  : 30 * 60);
  return self;
}

VdsMetrics *
vds_api_get_metrics (VdsApi *self)
{
  return self->metrics;
}

void
vds_api_free (VdsApi *self)
{
  if (self == NULL)
    return;
  vds_limiter_free (self->per_address);
  vds_limiter_free (self->per_clinic);
  vds_limiter_free (self->logins);
  vds_listing_free (self->listing);
  vds_activity_log_free (self->activity);
  vds_metrics_free (self->metrics);
  g_strfreev (self->allowed_origins);
  g_mutex_clear (&self->conflicts_lock);
  g_free (self);
}

gboolean
vds_api_precheck (VdsApi     *self,
                  VdsRequest *req)
{
  g_autofree char *tenant_id = NULL;
  g_autofree char *device_id = NULL;
  const char *method = NULL;
  guint retry_after = 1;
  Route route;

  route = match_route (req->path, &tenant_id, &device_id, &method);
  req->route = route_names[route];

  /* The metrics listener serves /metrics and nothing else, without the per-address
   * limit (a scraper is one address asking every few seconds). */
  if (req->metrics_only)
    {
      if (!g_str_equal (req->path, "/metrics"))
        {
          req->route = route_names[ROUTE_NONE];
          vds_request_set_error (req, VD_ERROR_NOT_FOUND,
                                 _("This listener only serves /metrics."));
          return FALSE;
        }
      req->route = route_names[ROUTE_METRICS];
      if (!g_str_equal (req->method, "GET") && !g_str_equal (req->method, "HEAD"))
        {
          vds_request_set_error (req, VD_ERROR_BAD_REQUEST,
                                 _("This address does not accept that method."));
          req->status = 405;
          vds_request_add_header (req, "Allow", "GET");
          return FALSE;
        }
      return TRUE;
    }

  if (!vds_limiter_take (self->per_address, req->remote, g_get_monotonic_time (),
                         &retry_after))
    {
      set_rate_limited (req, retry_after,
                        _("Too many requests from this address. Wait a moment and try "
                          "again."));
      return FALSE;
    }

  if (route == ROUTE_NONE)
    {
      vds_request_set_error (req, VD_ERROR_NOT_FOUND,
                             _("There is no such address on the sync server."));
      return FALSE;
    }

  if (!g_str_equal (req->method, method)
      && !(g_str_equal (method, "GET") && g_str_equal (req->method, "HEAD")))
    {
      vds_request_set_error (req, VD_ERROR_BAD_REQUEST,
                             _("This address does not accept that method."));
      req->status = 405;
      vds_request_add_header (req, "Allow", method);
      return FALSE;
    }

  if ((route == ROUTE_LOGIN || route == ROUTE_REFRESH)
      && !vds_limiter_take (self->logins, req->remote, g_get_monotonic_time (),
                            &retry_after))
    {
      set_rate_limited (req, retry_after,
                        _("Too many sign-in attempts from this address. Wait a moment "
                          "and try again."));
      return FALSE;
    }

  /* A browser page may only open a stream from an origin the operator allowed; a desk
   * sends no Origin at all. */
  if (route == ROUTE_STREAM)
    {
      if (req->origin != NULL
          && (self->allowed_origins == NULL
              || !g_strv_contains ((const char * const *) self->allowed_origins, req->origin)))
        {
          vds_request_set_error (req, VD_ERROR_FORBIDDEN,
                                 _("Live updates cannot be opened from this web page's "
                                   "origin."));
          return FALSE;
        }
      req->stream_wanted = TRUE;
    }

  /* 415 rather than 400: the status says what is wrong; the code stays bad_request,
   * since the protocol has no code of its own for it. */
  if (route_has_body (route) && g_strcmp0 (req->content_type, "application/json") != 0)
    {
      vds_request_set_error (req, VD_ERROR_BAD_REQUEST,
                             _("Send the request body as JSON, with the Content-Type "
                               "application/json."));
      req->status = 415;
      return FALSE;
    }

  return TRUE;
}

/* ---- helpers of the worker side ---- */

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* Parses a JSON object body after the depth and UTF-8 precheck. */
static JsonObject *
parse_object (VdsRequest  *req,
              JsonParser **out_parser)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = NULL;
  gsize len = 0;
  const char *data = req->body ? g_bytes_get_data (req->body, &len) : NULL;
  JsonNode *root;

  if (!vd_json_precheck (data ? data : "", len, VD_PROTOCOL_MAX_BODY, &error))
    {
      set_vd_error (req, error);
      return NULL;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data ? data : "", len, &error))
    {
      vds_request_set_error (req, VD_ERROR_BAD_REQUEST,
                             _("The request body is not valid JSON."));
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      vds_request_set_error (req, VD_ERROR_BAD_REQUEST,
                             _("The request body must be a JSON object."));
      return NULL;
    }

  *out_parser = g_steal_pointer (&parser);
  return json_node_get_object (root);
}

/* A string member of 1..max_chars characters, or NULL. */
static const char *
get_string (JsonObject *object,
            const char *name,
            guint       max_chars)
{
  JsonNode *node = json_object_get_member (object, name);
  const char *value;

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  value = json_node_get_string (node);
  if (value == NULL || value[0] == '\0' || g_utf8_strlen (value, -1) > max_chars)
    return NULL;
  return value;
}

static void
add_user (JsonBuilder   *builder,
          const VdsUser *user)
{
  json_builder_set_member_name (builder, "user");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, user->id);
  json_builder_set_member_name (builder, "username");
  json_builder_add_string_value (builder, user->username);
  json_builder_set_member_name (builder, "display_name");
  json_builder_add_string_value (builder, user->display_name);
  json_builder_set_member_name (builder, "platform_role");
  json_builder_add_string_value (builder, user->platform_role);
  json_builder_end_object (builder);
}

static void
add_tenants (JsonBuilder *builder,
             GPtrArray   *tenants)
{
  json_builder_set_member_name (builder, "tenants");
  json_builder_begin_array (builder);
  for (guint i = 0; i < tenants->len; i++)
    {
      const VdsTenant *t = g_ptr_array_index (tenants, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, t->id);
      json_builder_set_member_name (builder, "slug");
      json_builder_add_string_value (builder, t->slug);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, t->name);
      json_builder_set_member_name (builder, "timezone");
      json_builder_add_string_value (builder, t->timezone);
      json_builder_set_member_name (builder, "currency");
      json_builder_add_string_value (builder, t->currency);
      json_builder_set_member_name (builder, "company_id");
      json_builder_add_string_value (builder, t->company_id);
      json_builder_set_member_name (builder, "role");
      json_builder_add_string_value (builder, t->role);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

/* The user and their clinics, as login and me answer them. FALSE when the store failed
 * (req answered). */
static gboolean
add_user_and_tenants (VdsApi      *self,
                      VdsRequest  *req,
                      JsonBuilder *builder,
                      const char  *user_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsUser) user = NULL;
  g_autoptr(GPtrArray) tenants = NULL;

  user = vds_store_get_user (self->store, user_id, &error);
  if (user == NULL)
    {
      if (error == NULL)
        vds_request_set_error (req, VD_ERROR_UNAUTHORIZED,
                               _("This account no longer exists."));
      else
        set_store_failed (req, error);
      return FALSE;
    }
  tenants = vds_store_user_tenants (self->store, user_id, &error);
  if (tenants == NULL)
    {
      set_store_failed (req, error);
      return FALSE;
    }
  add_user (builder, user);
  add_tenants (builder, tenants);
  return TRUE;
}

static void
set_unauthorized (VdsRequest *req,
                  const char *message)
{
  vds_request_set_error (req, VD_ERROR_UNAUTHORIZED, message);
  vds_request_add_header (req, "WWW-Authenticate", "Bearer realm=\"vetdesk\"");
}

/* The SHA-256 of the request's bearer token; NULL when req is answered (none sent). */
static char *
bearer_hash (VdsRequest *req)
{
  const char *value = req->authorization;

  if (value == NULL || g_ascii_strncasecmp (value, "Bearer ", 7) != 0
      || value[7] == '\0' || strlen (value + 7) > 256)
    {
      set_unauthorized (req, _("Sign in first: this call needs an access token."));
      return NULL;
    }
  return vds_auth_token_hash (value + 7);
}

/* Known, an access token, not expired, its session neither revoked nor past its absolute
 * limit; else req is answered. */
static gboolean
token_usable (VdsRequest *req,
              VdsToken   *token)
{
  gint64 now = now_seconds ();

  if (token == NULL || g_strcmp0 (token->kind, "access") != 0
      || token->expires_at <= now || token->session_revoked
      || token->session_expires_at <= now)
    {
      set_unauthorized (req, _("The access token is not valid or has expired. Refresh it "
                               "or sign in again."));
      return FALSE;
    }
  return TRUE;
}

/* The access token of the request, checked (token_usable). NULL when req is answered. */
static VdsToken *
authenticate (VdsApi     *self,
              VdsRequest *req)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsToken) token = NULL;
  g_autofree char *hash = bearer_hash (req);

  if (hash == NULL)
    return NULL;
  token = vds_store_lookup_token (self->store, hash, &error);
  if (error != NULL)
    {
      set_store_failed (req, error);
      return NULL;
    }
  if (!token_usable (req, token))
    return NULL;
  return g_steal_pointer (&token);
}

/* Answers a new access/refresh pair. */
static void
add_token_pair (JsonBuilder *builder,
                const char  *access,
                const char  *refresh,
                guint        access_ttl_s)
{
  json_builder_set_member_name (builder, "access_token");
  json_builder_add_string_value (builder, access);
  json_builder_set_member_name (builder, "refresh_token");
  json_builder_add_string_value (builder, refresh);
  json_builder_set_member_name (builder, "expires_in");
  json_builder_add_int_value (builder, access_ttl_s);
}

/* ---- the calls ---- */

static void
run_health (VdsApi     *self,
            VdsRequest *req)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsTenant) tenant = NULL;
  g_autoptr(JsonBuilder) builder = NULL;

  /* One real round trip: a daemon whose database is gone is not healthy. */
  tenant = vds_store_get_tenant (self->store, NIL_UUID, &error);
  if (error != NULL && !g_error_matches (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND))
    {
      g_warning ("Health check: %s", error->message);
      vds_request_set_error (req, VD_ERROR_UNAVAILABLE,
                             _("The sync server cannot reach its database right now."));
      vds_request_add_header (req, "Retry-After", "5");
      return;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, "ok");
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, PACKAGE_VERSION);
  json_builder_end_object (builder);
  set_answer (req, builder);
}

static void
set_invalid_credentials (VdsRequest *req)
{
  /* The same words whether the user is unknown or the password wrong. */
  vds_request_set_error (req, VD_ERROR_UNAUTHORIZED,
                         _("The username or password is not correct."));
}

static void
set_locked (VdsRequest *req,
            gint64      locked_until,
            gint64      now)
{
  g_autofree char *until = vd_time_dup_utc (locked_until);
  g_autofree char *message = NULL;

  message = g_strdup_printf (_("Too many failed sign-ins: this account is locked until %s "
                               "(UTC). Try again then, or ask an administrator."), until);
  set_rate_limited (req, (guint) MAX (1, locked_until - now), message);
}

static void
run_login (VdsApi     *self,
           VdsRequest *req)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(VdsUser) user = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  g_autofree char *access_hash = NULL;
  g_autofree char *refresh_hash = NULL;
  g_autofree char *session_id = NULL;
  g_autofree char *new_secret = NULL;
  g_autofree char *new_secret_hash = NULL;
  g_autofree char *presented_hash = NULL;
  const char *username, *password, *device_id_in, *device_name, *device_secret;
  char device_id[VD_UUID_LEN + 1];
  VdsDeviceProof proof = VDS_DEVICE_UNCHECKED;
  JsonObject *body;
  gint64 now;

  body = parse_object (req, &parser);
  if (body == NULL)
    return;

  username = get_string (body, "username", 150);
  password = get_string (body, "password", 1024);
  device_id_in = get_string (body, "device_id", VD_UUID_LEN);
  device_name = get_string (body, "device_name", 200);
  device_secret = get_string (body, "device_secret", 256);
  if (username == NULL || password == NULL || device_name == NULL)
    {
      vds_request_set_error (req, VD_ERROR_BAD_REQUEST,
                             _("Signing in needs a username, a password, a device id and "
                               "a device name."));
      return;
    }
  if (device_id_in == NULL || !vd_uuid_normalize (device_id_in, device_id))
    {
      vds_request_set_error (req, VD_ERROR_BAD_REQUEST,
                             _("The device id must be a UUID."));
      return;
    }

  user = vds_store_find_user (self->store, username, &error);
  if (error != NULL)
    {
      set_store_failed (req, error);
      return;
    }

  now = now_seconds ();
  if (user == NULL)
    {
      gint64 locked_until = 0;

      /* Counted and locked as a user's failures are, so that the answers do not tell
       * which usernames exist. */
      if (!vds_store_unknown_login (self->store, username, FALSE, now, self->lockout_failures,
                                    self->lockout_seconds, &locked_until, &error))
        {
          set_store_failed (req, error);
          return;
        }
      if (locked_until > now)
        {
          set_locked (req, locked_until, now);
          return;
        }
      vds_auth_dummy_verify (password);
      if (!vds_store_unknown_login (self->store, username, TRUE, now, self->lockout_failures,
                                    self->lockout_seconds, &locked_until, &error))
        {
          set_store_failed (req, error);
          return;
        }
      if (locked_until > now)
        set_locked (req, locked_until, now);
      else
        set_invalid_credentials (req);
      return;
    }

  /* The attempt takes its place before the password is checked (issue #18 item 2):
   * concurrent attempts, here or on another instance, cannot all be checked. */
  {
    gint64 locked_until = 0;

    if (!vds_store_login_reserve (self->store, user->id, now, self->lockout_failures,
                                  self->lockout_seconds, &locked_until, &error))
      {
        set_store_failed (req, error);
        return;
      }
    if (locked_until > now)
      {
        set_locked (req, locked_until, now);
        return;
      }
  }

  if (!vds_auth_verify_password (user->password_hash, password))
    {
      gint64 locked_until = 0;

      if (!vds_store_login_failed (self->store, user->id, now, self->lockout_failures,
                                   self->lockout_seconds, &locked_until, &error))
        {
          set_store_failed (req, error);
          return;
        }
      if (locked_until > now)
        {
          g_info ("Account %s locked after %u failed sign-ins from %s", user->username,
                  self->lockout_failures, req->remote);
          set_locked (req, locked_until, now);
        }
      else
        set_invalid_credentials (req);
      return;
    }

  {
    gint64 locked_until = 0;

    /* A lock taken while the password was being checked stands, right password or not. */
    if (!vds_store_login_succeeded (self->store, user->id, now, &locked_until, &error))
      {
        set_store_failed (req, error);
        return;
      }
    if (locked_until > now)
      {
        set_locked (req, locked_until, now);
        return;
      }
  }

  access = vds_auth_new_token ();
  refresh = vds_auth_new_token ();
  access_hash = vds_auth_token_hash (access);
  refresh_hash = vds_auth_token_hash (refresh);
  /* The device proves itself (§6): a new device id is given a secret, a known one must
   * send the one it was given. */
  new_secret = vds_auth_new_token ();
  new_secret_hash = vds_auth_token_hash (new_secret);
  if (device_secret != NULL)
    presented_hash = vds_auth_token_hash (device_secret);
  if (!vds_store_create_device_session (self->store, user->id, device_id, device_name,
                                        presented_hash, new_secret_hash, now,
                                        now + VD_PROTOCOL_SESSION_MAX_S,
                                        access_hash, now + self->access_ttl_s,
                                        refresh_hash, now + VD_PROTOCOL_SESSION_MAX_S,
                                        &proof, &session_id, &error))
    {
      set_store_failed (req, error);
      return;
    }
  if (proof == VDS_DEVICE_REFUSED)
    {
      g_warning ("%s signed in from %s with device %s without that device's secret; "
                 "refused", user->username, req->remote, device_id);
      vds_request_set_error (req, VD_ERROR_FORBIDDEN,
                             device_secret == NULL
                             ? _("This device id is already registered to a computer, and "
                                 "the sign-in did not send that computer’s device secret. "
                                 "Sign in from that computer, or let the app make a new "
                                 "device id.")
                             : _("The device secret sent does not belong to this device id. "
                                 "Sign in from the computer that holds it, or let the app "
                                 "make a new device id."));
      return;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  add_token_pair (builder, access, refresh, self->access_ttl_s);
  if (proof == VDS_DEVICE_NEW)
    {
      json_builder_set_member_name (builder, "device_secret");
      json_builder_add_string_value (builder, new_secret);
    }
  if (!add_user_and_tenants (self, req, builder, user->id))
    return;
  json_builder_end_object (builder);
  set_answer (req, builder);
  g_info ("%s signed in from %s (device %s)", user->username, req->remote, device_id);
}

static void
run_refresh (VdsApi     *self,
             VdsRequest *req)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(VdsToken) old = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  g_autofree char *access_hash = NULL;
  g_autofree char *refresh_hash = NULL;
  VdsRotateResult result = VDS_ROTATE_UNKNOWN;
  const char *token;
  JsonObject *body;
  gint64 now = now_seconds ();

  body = parse_object (req, &parser);
  if (body == NULL)
    return;
  token = get_string (body, "refresh_token", 256);
  if (token == NULL)
    {
      vds_request_set_error (req, VD_ERROR_BAD_REQUEST,
                             _("Send the refresh token as “refresh_token”."));
      return;
    }

  hash = vds_auth_token_hash (token);
  access = vds_auth_new_token ();
  refresh = vds_auth_new_token ();
  access_hash = vds_auth_token_hash (access);
  refresh_hash = vds_auth_token_hash (refresh);
  if (!vds_store_rotate_refresh (self->store, hash, now,
                                 access_hash, now + self->access_ttl_s,
                                 refresh_hash, now + VD_PROTOCOL_SESSION_MAX_S,
                                 &result, &old, &error))
    {
      set_store_failed (req, error);
      return;
    }

  switch (result)
    {
    case VDS_ROTATE_OK:
      break;
    case VDS_ROTATE_REPLAYED:
      g_warning ("A spent refresh token was presented from %s; its session is revoked",
                 req->remote);
      /* Its streams end with it, here (and on other instances through the NOTIFY). */
      if (old != NULL)
        {
          char **sessions = g_new0 (char *, 2);

          sessions[0] = g_strdup (old->session_id);
          vds_effects_add_revoke_sessions (&req->effects, sessions);
        }
      set_unauthorized (req, _("This refresh token was already used, so the session has "
                               "been ended to keep the account safe. Sign in again."));
      return;
    case VDS_ROTATE_EXPIRED:
      set_unauthorized (req, _("The session has expired. Sign in again."));
      return;
    case VDS_ROTATE_REVOKED:
    case VDS_ROTATE_UNKNOWN:
    default:
      set_unauthorized (req, _("The refresh token is not valid. Sign in again."));
      return;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  add_token_pair (builder, access, refresh, self->access_ttl_s);
  json_builder_end_object (builder);
  set_answer (req, builder);
}

static void
run_logout (VdsApi     *self,
            VdsRequest *req)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsToken) token = authenticate (self, req);

  if (token == NULL)
    return;
  if (!vds_store_revoke_session (self->store, token->session_id, &error))
    {
      set_store_failed (req, error);
      return;
    }
  /* Its streams end with it. */
  {
    char **sessions = g_new0 (char *, 2);

    sessions[0] = g_strdup (token->session_id);
    vds_effects_add_revoke_sessions (&req->effects, sessions);
  }
  req->status = 204;
  g_clear_pointer (&req->answer, g_bytes_unref);
}

static void
run_me (VdsApi     *self,
        VdsRequest *req)
{
  g_autoptr(VdsToken) token = authenticate (self, req);
  g_autoptr(JsonBuilder) builder = NULL;

  if (token == NULL)
    return;
  builder = json_builder_new ();
  json_builder_begin_object (builder);
  if (!add_user_and_tenants (self, req, builder, token->user_id))
    return;
  json_builder_end_object (builder);
  set_answer (req, builder);
}

/* The clinic of the path, for the caller whose role there is role (NULL: none): a
 * member passes; an administrator is refused (monitoring only, §5); for anyone else the
 * clinic does not exist, so that ids of other clinics cannot be probed. Then the clinic's
 * rate limit, unless rate is FALSE (the check before a push's body: the push itself takes
 * its token). */
static gboolean
check_tenant (VdsApi     *self,
              VdsRequest *req,
              VdsToken   *token,
              const char *tenant_id,
              const char *role,
              gboolean    rate)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsUser) user = NULL;
  guint retry_after = 1;

  if (role == NULL)
    {
      user = vds_store_get_user (self->store, token->user_id, &error);
      if (error != NULL)
        {
          set_store_failed (req, error);
          return FALSE;
        }
      if (user != NULL && g_strcmp0 (user->platform_role, "none") != 0)
        vds_request_set_error (req, VD_ERROR_FORBIDDEN,
                               _("Administrators see the clinics’ sync status only, not "
                                 "their records."));
      else
        vds_request_set_error (req, VD_ERROR_NOT_FOUND,
                               _("There is no clinic with this id among yours."));
      return FALSE;
    }

  if (rate && !vds_limiter_take (self->per_clinic, tenant_id, g_get_monotonic_time (),
                                 &retry_after))
    {
      set_rate_limited (req, retry_after,
                        _("This clinic is sending too many requests. Wait a moment and "
                          "try again."));
      return FALSE;
    }

  /* From here on a failure is this device's problem, shown to its administrators. */
  req->member_tenant = g_strdup (tenant_id);
  req->member_device = g_strdup (token->device_id);
  req->member_user = g_strdup (token->user_id);
  return TRUE;
}

/* A sync call's checks, asked of the database in one statement: the access token
 * (authenticate), the caller's membership of the clinic of the path (check_tenant) and
 * the clinic's seq (*out_seq, for the pull cache and the stream). Every call asks again,
 * so a revocation through any syncd process stops the token at once. NULL when req is
 * answered. */
static VdsToken *
authenticate_member_full (VdsApi     *self,
                          VdsRequest *req,
                          const char *tenant_id,
                          gint64     *out_seq,
                          gboolean    rate)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsToken) token = NULL;
  g_autofree char *hash = bearer_hash (req);
  g_autofree char *role = NULL;

  if (hash == NULL)
    return NULL;
  token = vds_store_lookup_member (self->store, hash, tenant_id, &role, out_seq, &error);
  if (error != NULL)
    {
      set_store_failed (req, error);
      return NULL;
    }
  if (!token_usable (req, token) || !check_tenant (self, req, token, tenant_id, role, rate))
    return NULL;
  return g_steal_pointer (&token);
}

static VdsToken *
authenticate_member (VdsApi     *self,
                     VdsRequest *req,
                     const char *tenant_id,
                     gint64     *out_seq)
{
  return authenticate_member_full (self, req, tenant_id, out_seq, TRUE);
}

/* "VetDesk/1.2.3 …" → "1.2.3"; NULL when the agent is something else. */
static char *
app_version (const char *user_agent)
{
  const char *p;
  gsize n = 0;

  if (user_agent == NULL || !g_str_has_prefix (user_agent, "VetDesk/"))
    return NULL;
  p = user_agent + strlen ("VetDesk/");
  while (p[n] != '\0' && n < 32
         && (g_ascii_isalnum (p[n]) || strchr (".+-~", p[n]) != NULL))
    n++;
  return n > 0 ? g_strndup (p, n) : NULL;
}

/* Bookkeeping for monitoring: the sync itself already succeeded (or failed on its own),
 * so a failure here is logged and not the client's problem. */
static void
report_device (VdsApi         *self,
               VdsRequest     *req,
               VdsToken       *token,
               const char     *tenant_id,
               VdsDeviceEvent  event,
               gint64          cursor,
               gint64          rejected,
               const char     *error_code,
               const char     *error_message)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *version = app_version (req->user_agent);
  VdsDeviceReport report = {
    .tenant_id = tenant_id,
    .device_id = token->device_id,
    .user_id = token->user_id,
    .app_version = version,
    .event = event,
    .cursor = cursor,
    .pending = req->pending,
    .rejected = rejected,
    .error_code = error_code,
    .error_message = error_message,
    .now = now_seconds (),
  };

  /* This device's last pull, still in memory, must not land after this. */
  vds_activity_log_flush_device (self->activity, tenant_id, token->device_id);
  if (!vds_store_report_device (self->store, &report, &error))
    g_warning ("Could not record device %s of clinic %s: %s", token->device_id, tenant_id,
               error->message);
}

/* A change's site is the device that wrote it (§4), and a desk pushes only its own
 * writes (and may hand back the server's): a change naming any other site would let one
 * member write as another desk, so it is refused with code forbidden. */
static void
refuse_foreign_sites (VdPushRequest *push)
{
  guint i = 0;

  while (i < push->changes->len)
    {
      VdChange *change = g_ptr_array_index (push->changes, i);
      VdRejection *rejection;

      if (g_strcmp0 (change->site, push->device_id) == 0 ||
          g_strcmp0 (change->site, VD_SERVER_SITE) == 0)
        {
          i++;
          continue;
        }
      rejection = g_new0 (VdRejection, 1);
      rejection->index = g_array_index (push->indices, guint, i);
      rejection->code = g_strdup (vd_error_code_to_string (VD_ERROR_FORBIDDEN));
      rejection->message = g_strdup (_("This change names another device as its origin "
                                       "(site): a device may push only its own changes."));
      if (push->rejected == NULL)
        push->rejected = g_ptr_array_new_with_free_func ((GDestroyNotify) vd_rejection_free);
      g_ptr_array_add (push->rejected, rejection);
      g_ptr_array_remove_index (push->changes, i);
      g_array_remove_index (push->indices, i);
    }
}

static void
run_push (VdsApi     *self,
          VdsRequest *req,
          const char *tenant_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsToken) token = NULL;
  g_autoptr(VdPushRequest) push = NULL;
  g_autofree char *answer = NULL;
  VdsPushResult result = { 0, };
  const VdRejection *last = NULL;
  gint64 seq = 0;
  gsize len = 0;
  const char *data;

  token = authenticate_member (self, req, tenant_id, &seq);
  if (token == NULL)
    return;

  data = req->body ? g_bytes_get_data (req->body, &len) : NULL;
  if (data == NULL)
    data = "";
  /* The decoder runs vd_json_precheck (depth, size, UTF-8) before parsing. */
  push = vd_push_request_decode (data, len, &error);
  if (push == NULL)
    {
      set_vd_error (req, error);
      return;
    }
  if (g_strcmp0 (push->device_id, token->device_id) != 0)
    {
      vds_request_set_error (req, VD_ERROR_FORBIDDEN,
                             _("The device id of this push is not the device this session "
                               "signed in from."));
      return;
    }

  refuse_foreign_sites (push);

  if (!vds_store_push_session (self->store, tenant_id, token->session_id, push, &answer,
                               &result, &error))
    {
      if (g_error_matches (error, VDS_STORE_ERROR, VDS_STORE_ERROR_BATCH_ORDER))
        vds_request_set_error (req, VD_ERROR_BAD_REQUEST,
                               _("This batch is older than one this device already sent. "
                                 "Batch ids must increase."));
      else if (g_error_matches (error, VDS_STORE_ERROR, VDS_STORE_ERROR_BATCH_JUMP))
        {
          g_autofree char *message =
            g_strdup_printf (_("This batch id is too far past the last one this device "
                               "sent: each batch id may be at most %d more than the "
                               "last."), VD_PROTOCOL_MAX_BATCH_JUMP);

          vds_request_set_error (req, VD_ERROR_BAD_REQUEST, message);
        }
      else
        set_store_failed (req, error);
      return;
    }

  if (!result.replayed)
    {
      vds_metrics_count_push (self->metrics, result.accepted, result.rejected);
      vds_activity_log_add (self->activity, tenant_id, now_seconds (), 1, 0, result.accepted,
                            result.rejected->len, 0);
      if (result.rejected->len > 0)
        last = result.rejected->pdata[result.rejected->len - 1];
    }
  report_device (self, req, token, tenant_id, VDS_DEVICE_PUSHED, -1,
                 result.rejected != NULL ? result.rejected->len : 0,
                 last != NULL ? last->code : NULL, last != NULL ? last->message : NULL);

  /* The main thread tells the clinic's streams once the answer goes out. */
  if (result.advanced)
    vds_effects_add_notify (&req->effects, tenant_id, result.cursor);
  vds_push_result_clear (&result);

  req->status = 200;
  len = strlen (answer);
  req->answer = g_bytes_new_take (g_steal_pointer (&answer), len);
}

/* A query parameter as an integer in [min, max]; absent gives fallback. */
static gboolean
query_int (VdsRequest *req,
           const char *name,
           gint64      min,
           gint64      max,
           gint64      fallback,
           gint64     *out)
{
  const char *text = req->query ? g_hash_table_lookup (req->query, name) : NULL;
  guint64 value;

  if (text == NULL)
    {
      *out = fallback;
      return TRUE;
    }
  /* Digits only: no sign, no spaces, no hex. */
  if (text[0] == '\0' || strspn (text, "0123456789") != strlen (text)
      || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT64, &value, NULL)
      || (gint64) value < min || (gint64) value > max)
    return FALSE;
  *out = (gint64) value;
  return TRUE;
}

static void
run_pull (VdsApi     *self,
          VdsRequest *req,
          const char *tenant_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsToken) token = NULL;
  g_autofree char *version = NULL;
  gint64 cursor, limit, new_cursor = 0, seq = 0;
  gboolean more = FALSE;
  GBytes *answer;
  VdsDeviceReport report = { 0, };

  token = authenticate_member (self, req, tenant_id, &seq);
  if (token == NULL)
    return;

  if (!query_int (req, "cursor", 0, G_MAXINT64, 0, &cursor))
    {
      vds_request_set_error (req, VD_ERROR_BAD_REQUEST,
                             _("The cursor must be a whole number, 0 or more."));
      return;
    }
  if (!query_int (req, "limit", 1, VD_PROTOCOL_PULL_MAX, VD_PROTOCOL_PULL_DEFAULT, &limit))
    {
      g_autofree char *message =
        g_strdup_printf (_("The limit must be a whole number from 1 to %d."),
                         VD_PROTOCOL_PULL_MAX);
      vds_request_set_error (req, VD_ERROR_BAD_REQUEST, message);
      return;
    }

  /* Cached while the clinic's seq stays: 20 desks pulling one clinic cost one pull. The
   * seq was read with the token, just now. */
  answer = vds_store_pull_answer_at (self->store, tenant_id, seq, cursor, (guint) limit,
                                     &new_cursor, &more, &error);
  if (answer == NULL)
    {
      set_store_failed (req, error);
      return;
    }

  /* Monitoring learns of the pull within a second, written with the others: a pull
   * itself writes nothing. */
  version = app_version (req->user_agent);
  report.tenant_id = tenant_id;
  report.device_id = token->device_id;
  report.user_id = token->user_id;
  report.app_version = version;
  report.event = VDS_DEVICE_PULLED;
  report.cursor = new_cursor;
  report.pending = req->pending;
  report.now = now_seconds ();
  report.reached = new_cursor >= seq;
  vds_activity_log_add (self->activity, tenant_id, report.now, 0, 1, 0, 0, 0);
  vds_activity_log_pulled (self->activity, &report);
  req->status = 200;
  req->answer = answer;
}

/* ---- live updates ---- */

static void
run_stream (VdsApi     *self,
            VdsRequest *req,
            const char *tenant_id)
{
  g_autoptr(VdsToken) token = NULL;
  gint64 seq = 0;

  token = authenticate_member (self, req, tenant_id, &seq);
  if (token == NULL)
    return;

  /* 101: the main thread completes the handshake and keeps the connection. */
  req->status = 101;
  req->stream.tenant_id = g_strdup (tenant_id);
  req->stream.device_id = g_strdup (token->device_id);
  req->stream.session_id = g_strdup (token->session_id);
  req->stream.expires = MIN (token->expires_at, token->session_expires_at);
  req->stream.cursor = seq;
}

/* ---- monitoring ---- */

typedef enum
{
  SCOPE_NONE,        /* clinic roles and nobody: 403 */
  SCOPE_COMPANIES,   /* company_admin: the clinics of company_ids */
  SCOPE_ALL,         /* platform_admin */
} Scope;

/* What the caller may oversee. FALSE when req is answered (store failure). */
static gboolean
admin_scope (VdsApi     *self,
             VdsRequest *req,
             VdsToken   *token,
             Scope      *out_scope,
             GStrv      *out_company_ids)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsUser) user = NULL;

  *out_scope = SCOPE_NONE;
  *out_company_ids = NULL;
  user = vds_store_get_user (self->store, token->user_id, &error);
  if (error != NULL && !g_error_matches (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND))
    {
      set_store_failed (req, error);
      return FALSE;
    }
  if (user != NULL && g_strcmp0 (user->platform_role, "platform_admin") == 0)
    *out_scope = SCOPE_ALL;
  else if (user != NULL && g_strcmp0 (user->platform_role, "company_admin") == 0)
    {
      *out_company_ids = vds_store_admin_company_ids (self->store, user->id, &error);
      if (error != NULL)
        {
          set_store_failed (req, error);
          return FALSE;
        }
      *out_scope = SCOPE_COMPANIES;
    }
  return TRUE;
}

static void
set_not_admin (VdsRequest *req)
{
  vds_request_set_error (req, VD_ERROR_FORBIDDEN,
                         _("Only company and platform administrators can see the clinics’ "
                           "sync status."));
}

/* The clinic of the path for an administrator: a platform admin sees every clinic, a
 * company admin those of their companies; any other clinic does not exist for them (404,
 * so ids cannot be probed), and clinic roles are refused (403). */
static gboolean
check_admin_tenant (VdsApi     *self,
                    VdsRequest *req,
                    VdsToken   *token,
                    const char *tenant_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsTenant) tenant = NULL;
  g_auto(GStrv) company_ids = NULL;
  Scope scope;

  if (!admin_scope (self, req, token, &scope, &company_ids))
    return FALSE;
  if (scope == SCOPE_NONE)
    {
      set_not_admin (req);
      return FALSE;
    }

  tenant = vds_store_get_tenant (self->store, tenant_id, &error);
  if (error != NULL && !g_error_matches (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND))
    {
      set_store_failed (req, error);
      return FALSE;
    }
  if (tenant == NULL
      || (scope == SCOPE_COMPANIES
          && (tenant->company_id == NULL || company_ids == NULL
              || !g_strv_contains ((const char * const *) company_ids, tenant->company_id))))
    {
      vds_request_set_error (req, VD_ERROR_NOT_FOUND,
                             _("There is no clinic with this id among those you oversee."));
      return FALSE;
    }
  return TRUE;
}

/* JSON text written directly: a JsonBuilder tree of many objects costs more than the
 * queries behind them. */
static void
append_member (GString    *out,
               gboolean    first,
               const char *name)
{
  if (!first)
    g_string_append_c (out, ',');
  g_string_append_c (out, '"');
  g_string_append (out, name);
  g_string_append (out, "\":");
}

static void
set_answer_text (VdsRequest *req,
                 GString    *out)
{
  gsize len = out->len;

  req->status = 200;
  g_clear_pointer (&req->answer, g_bytes_unref);
  req->answer = g_bytes_new_take (g_string_free (out, FALSE), len);
}

static void
run_admin_tenants (VdsApi     *self,
                   VdsRequest *req)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsToken) token = authenticate (self, req);
  g_auto(GStrv) company_ids = NULL;
  const char * const no_company[] = { NULL };
  GBytes *answer;
  Scope scope;

  if (token == NULL)
    return;
  if (!admin_scope (self, req, token, &scope, &company_ids))
    return;
  if (scope == SCOPE_NONE)
    {
      set_not_admin (req);
      return;
    }

  /* A company admin of no company sees nothing (never NULL, which would mean every clinic). */
  answer = vds_listing_get (self->listing,
                            scope == SCOPE_ALL ? NULL
                            : company_ids != NULL ? (const char * const *) company_ids : no_company,
                            req->accept_gzip, &error);
  if (answer == NULL)
    {
      set_store_failed (req, error);
      return;
    }
  req->status = 200;
  g_clear_pointer (&req->answer, g_bytes_unref);
  req->answer = answer;
  if (req->accept_gzip)
    vds_request_add_header (req, "Content-Encoding", "gzip");
  vds_request_add_header (req, "Vary", "Accept-Encoding");
}

static void
run_admin_devices (VdsApi     *self,
                   VdsRequest *req,
                   const char *tenant_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsToken) token = authenticate (self, req);
  g_autoptr(GPtrArray) devices = NULL;
  GString *out;

  if (token == NULL || !check_admin_tenant (self, req, token, tenant_id))
    return;

  /* This process's pulls of the last second are in before the devices are read. */
  vds_activity_log_flush_pulls (self->activity);
  devices = vds_store_admin_devices (self->store, tenant_id, &error);
  if (devices == NULL)
    {
      set_store_failed (req, error);
      return;
    }

  out = g_string_sized_new (256 + devices->len * 512);
  g_string_append (out, "{\"devices\":[");
  for (guint i = 0; i < devices->len; i++)
    {
      const VdsDeviceInfo *d = devices->pdata[i];

      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, '{');
      append_member (out, TRUE, "device_id");
      vd_json_append_string (out, d->device_id);
      append_member (out, FALSE, "name");
      vd_json_append_string (out, d->name);
      append_member (out, FALSE, "user");
      vd_json_append_string (out, d->username);
      append_member (out, FALSE, "app_version");
      vd_json_append_string (out, d->app_version);
      append_member (out, FALSE, "first_seen");
      vd_json_append_utc_or_null (out, d->first_seen);
      append_member (out, FALSE, "last_seen");
      vd_json_append_utc_or_null (out, d->last_seen);
      append_member (out, FALSE, "last_push_at");
      vd_json_append_utc_or_null (out, d->last_push_at);
      append_member (out, FALSE, "last_pull_at");
      vd_json_append_utc_or_null (out, d->last_pull_at);
      append_member (out, FALSE, "cursor");
      if (d->cursor >= 0)
        g_string_append_printf (out, "%" G_GINT64_FORMAT, d->cursor);
      else
        g_string_append (out, "null");
      g_string_append_printf (out, ",\"lag\":%" G_GINT64_FORMAT, d->lag);
      append_member (out, FALSE, "pending");
      if (d->pending >= 0)
        g_string_append_printf (out, "%" G_GINT64_FORMAT, d->pending);
      else
        g_string_append (out, "null");
      g_string_append_printf (out, ",\"rejected\":%" G_GINT64_FORMAT, d->rejected);
      append_member (out, FALSE, "last_error");
      if (d->last_error_code != NULL)
        {
          /* The code only: a refusal's sentence may quote the clinic's data, which
           * administrators must not see (§5). */
          g_string_append (out, "{\"code\":");
          vd_json_append_string (out, d->last_error_code);
          g_string_append (out, ",\"at\":");
          vd_json_append_utc_or_null (out, d->last_error_at);
          g_string_append_c (out, '}');
        }
      else
        g_string_append (out, "null");
      g_string_append_printf (out, ",\"revoked\":%s}", d->revoked ? "true" : "false");
    }
  g_string_append (out, "]}");
  set_answer_text (req, out);
}

static void
run_admin_activity (VdsApi     *self,
                    VdsRequest *req,
                    const char *tenant_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsToken) token = authenticate (self, req);
  g_autoptr(GPtrArray) minutes = NULL;
  gint64 now_minute = now_seconds () / 60;
  GString *out;

  if (token == NULL || !check_admin_tenant (self, req, token, tenant_id))
    return;

  vds_activity_log_flush (self->activity);
  /* The last 24 hours, this minute included. */
  minutes = vds_store_admin_activity (self->store, tenant_id, now_minute - 24 * 60 + 1, &error);
  if (minutes == NULL)
    {
      set_store_failed (req, error);
      return;
    }

  out = g_string_sized_new (64 + minutes->len * 96);
  g_string_append (out, "{\"minutes\":[");
  for (guint i = 0; i < minutes->len; i++)
    {
      const VdsActivity *a = minutes->pdata[i];

      g_string_append (out, i > 0 ? ",{" : "{");
      append_member (out, TRUE, "minute");
      vd_json_append_utc_or_null (out, a->minute * 60);
      g_string_append_printf (out, ",\"pushes\":%" G_GINT64_FORMAT ",\"pulls\":%" G_GINT64_FORMAT
                              ",\"changes\":%" G_GINT64_FORMAT "}",
                              a->pushes, a->pulls, a->changes);
    }
  g_string_append (out, "]}");
  set_answer_text (req, out);
}

static void
run_admin_revoke (VdsApi     *self,
                  VdsRequest *req,
                  const char *tenant_id,
                  const char *device_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsToken) token = authenticate (self, req);
  g_auto(GStrv) sessions = NULL;
  gboolean found = FALSE;

  if (token == NULL || !check_admin_tenant (self, req, token, tenant_id))
    return;

  if (!vds_store_revoke_device (self->store, tenant_id, device_id, &found, &sessions, &error))
    {
      set_store_failed (req, error);
      return;
    }
  if (!found)
    {
      vds_request_set_error (req, VD_ERROR_NOT_FOUND,
                             _("This clinic has no device with this id."));
      return;
    }

  g_info ("Device %s of clinic %s revoked (%u sessions) from %s", device_id, tenant_id,
          sessions != NULL ? g_strv_length (sessions) : 0, req->remote);
  vds_effects_add_revoke_device (&req->effects, tenant_id, device_id);
  vds_effects_add_revoke_sessions (&req->effects, g_steal_pointer (&sessions));
  req->status = 204;
  g_clear_pointer (&req->answer, g_bytes_unref);
}

static void
run_metrics (VdsApi     *self,
             VdsRequest *req)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gint64 conflicts, now = g_get_monotonic_time ();
  guint in_use = 0, size = 0;
  gsize len;

  /* On the main port only the platform administrator may read them. */
  if (!req->metrics_only)
    {
      g_autoptr(VdsToken) token = authenticate (self, req);
      g_autoptr(VdsUser) user = NULL;

      if (token == NULL)
        return;
      user = vds_store_get_user (self->store, token->user_id, &error);
      if (error != NULL && !g_error_matches (error, VDS_STORE_ERROR, VDS_STORE_ERROR_NOT_FOUND))
        {
          set_store_failed (req, error);
          return;
        }
      if (user == NULL || g_strcmp0 (user->platform_role, "platform_admin") != 0)
        {
          vds_request_set_error (req, VD_ERROR_FORBIDDEN,
                                 _("Only the platform administrator can read the server's "
                                   "metrics."));
          return;
        }
      g_clear_error (&error);
    }

  g_mutex_lock (&self->conflicts_lock);
  if (self->conflicts_read_at == 0 || now - self->conflicts_read_at > CONFLICTS_CACHE_US)
    {
      if (vds_store_count_open_conflicts (self->store, &conflicts, &error))
        {
          self->conflicts = conflicts;
          self->conflicts_read_at = now;
        }
      else
        g_warning ("Metrics: could not count open conflicts: %s", error->message);
    }
  conflicts = self->conflicts;
  g_mutex_unlock (&self->conflicts_lock);

  vds_store_pool_stats (self->store, &in_use, &size);
  text = vds_metrics_render (self->metrics, conflicts, in_use, size);
  req->status = 200;
  req->answer_type = VDS_METRICS_CONTENT_TYPE;
  len = strlen (text);
  req->answer = g_bytes_new_take (g_steal_pointer (&text), len);
}

void
vds_api_run (VdsApi     *self,
             VdsRequest *req)
{
  g_autofree char *tenant_id = NULL;
  g_autofree char *device_id = NULL;
  const char *method;
  Route route;

  route = req->metrics_only ? ROUTE_METRICS
                            : match_route (req->path, &tenant_id, &device_id, &method);
  req->route = route_names[route];
  switch (route)
    {
    case ROUTE_HEALTH:
      run_health (self, req);
      break;
    case ROUTE_LOGIN:
      run_login (self, req);
      break;
    case ROUTE_REFRESH:
      run_refresh (self, req);
      break;
    case ROUTE_LOGOUT:
      run_logout (self, req);
      break;
    case ROUTE_ME:
      run_me (self, req);
      break;
    case ROUTE_PUSH:
      run_push (self, req, tenant_id);
      break;
    case ROUTE_PULL:
      run_pull (self, req, tenant_id);
      break;
    case ROUTE_STREAM:
      run_stream (self, req, tenant_id);
      break;
    case ROUTE_ADMIN_TENANTS:
      run_admin_tenants (self, req);
      break;
    case ROUTE_ADMIN_DEVICES:
      run_admin_devices (self, req, tenant_id);
      break;
    case ROUTE_ADMIN_ACTIVITY:
      run_admin_activity (self, req, tenant_id);
      break;
    case ROUTE_ADMIN_REVOKE:
      run_admin_revoke (self, req, tenant_id, device_id);
      break;
    case ROUTE_METRICS:
      run_metrics (self, req);
      break;
    case ROUTE_NONE:
    case N_ROUTES:
    default:
      vds_request_set_error (req, VD_ERROR_NOT_FOUND,
                             _("There is no such address on the sync server."));
      break;
    }

  if (req->status == 0)
    vds_request_set_error (req, VD_ERROR_INTERNAL,
                           _("Something went wrong on the sync server. The error has been "
                             "logged; try again later."));

  /* A member device's failed call is its last error and counts against the clinic's
   * health ("errors" within the hour). */
  if (req->status >= 400 && req->member_tenant != NULL && req->member_device != NULL)
    {
      g_autoptr(GError) error = NULL;
      VdsDeviceReport report = {
        .tenant_id = req->member_tenant,
        .device_id = req->member_device,
        .user_id = req->member_user,
        .event = VDS_DEVICE_SEEN,
        .cursor = -1,
        .pending = req->pending,
        .error_code = vd_error_code_to_string (req->error_code),
        .error_message = req->error_message != NULL ? req->error_message : "",
        .now = now_seconds (),
      };

      vds_activity_log_add (self->activity, req->member_tenant, report.now, 0, 0, 0, 0, 1);
      vds_activity_log_flush_device (self->activity, req->member_tenant, req->member_device);
      if (!vds_store_report_device (self->store, &report, &error))
        g_warning ("Could not record the failure of device %s: %s", req->member_device,
                   error->message);
    }
}

/* ---- before the body (vds-server.c, issue #16) ---- */

gsize
vds_api_body_limit (const VdsRequest *req)
{
  const char *route = req->route;

  if (g_strcmp0 (route, route_names[ROUTE_LOGIN]) == 0
      || g_strcmp0 (route, route_names[ROUTE_REFRESH]) == 0
      || g_strcmp0 (route, route_names[ROUTE_PUSH]) == 0)
    return VD_PROTOCOL_MAX_BODY;
  return VDS_API_SMALL_BODY;
}

gboolean
vds_api_preauth (VdsApi     *self,
                 VdsRequest *req)
{
  g_autofree char *tenant_id = NULL;
  g_autofree char *device_id = NULL;
  g_autoptr(VdsToken) token = NULL;
  const char *method;
  gint64 seq = 0;

  if (match_route (req->path, &tenant_id, &device_id, &method) != ROUTE_PUSH)
    return TRUE;
  token = authenticate_member_full (self, req, tenant_id, &seq, FALSE);
  return token != NULL;
}
