/* vds-api.c — the calls of protocol v1: routing and cheap checks on the main thread, then
 * authentication, tenancy and the store call in a worker thread, each answered with the
 * exact JSON shapes of ARCHITECTURE §5 or an error body a person can read. */
#define G_LOG_DOMAIN "vetdesk-syncd"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <string.h>

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
} Route;

struct _VdsApi
{
  VdsStore   *store;
  VdsLimiter *per_address;
  VdsLimiter *per_clinic;
  VdsLimiter *logins;
  guint       lockout_failures;
  guint       lockout_seconds;
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
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(GBytes) bytes = NULL;
  gconstpointer data;
  gsize len;
  char *text;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, vd_error_code_to_string (code));
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  bytes = builder_to_bytes (builder);
  data = g_bytes_get_data (bytes, &len);
  text = g_malloc (len + 1);
  memcpy (text, data, len);
  text[len] = '\0';
  if (out_len != NULL)
    *out_len = len;
  return text;
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
             const char **out_method)
{
  g_auto(GStrv) parts = NULL;
  guint n;

  *out_tenant_id = NULL;
  *out_method = NULL;

  if (!g_str_has_prefix (path, VD_PROTOCOL_BASE_PATH "/"))
    return ROUTE_NONE;

  parts = g_strsplit (path + strlen (VD_PROTOCOL_BASE_PATH "/"), "/", 6);
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
  if (n == 2 && g_str_equal (parts[0], "admin") && g_str_equal (parts[1], "tenants"))
    return (*out_method = "GET", ROUTE_ADMIN_TENANTS);
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
             const VdsServerConfig *config)
{
  VdsApi *self = g_new0 (VdsApi, 1);

  self->store = store;
  self->per_address = vds_limiter_new (config->address_rate, config->address_burst);
  self->per_clinic = vds_limiter_new (config->clinic_rate, config->clinic_burst);
  self->logins = vds_limiter_new (config->login_rate, config->login_burst);
  self->lockout_failures = MAX (1, config->lockout_failures);
  self->lockout_seconds = config->lockout_seconds;
  return self;
}

void
vds_api_free (VdsApi *self)
{
  if (self == NULL)
    return;
  vds_limiter_free (self->per_address);
  vds_limiter_free (self->per_clinic);
  vds_limiter_free (self->logins);
  g_free (self);
}

gboolean
vds_api_precheck (VdsApi     *self,
                  VdsRequest *req)
{
  g_autofree char *tenant_id = NULL;
  const char *method = NULL;
  guint retry_after = 1;
  Route route;

  if (!vds_limiter_take (self->per_address, req->remote, g_get_monotonic_time (),
                         &retry_after))
    {
      set_rate_limited (req, retry_after,
                        _("Too many requests from this address. Wait a moment and try "
                          "again."));
      return FALSE;
    }

  route = match_route (req->path, &tenant_id, &method);
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

/* The access token of the request, checked: known, an access token, not expired, its
 * session neither revoked nor past its absolute limit. NULL when req is answered. */
static VdsToken *
authenticate (VdsApi     *self,
              VdsRequest *req)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsToken) token = NULL;
  g_autofree char *hash = NULL;
  const char *value = req->authorization;
  gint64 now = now_seconds ();

  if (value == NULL || g_ascii_strncasecmp (value, "Bearer ", 7) != 0
      || value[7] == '\0' || strlen (value + 7) > 256)
    {
      set_unauthorized (req, _("Sign in first: this call needs an access token."));
      return NULL;
    }

  hash = vds_auth_token_hash (value + 7);
  token = vds_store_lookup_token (self->store, hash, &error);
  if (error != NULL)
    {
      set_store_failed (req, error);
      return NULL;
    }
  if (token == NULL || g_strcmp0 (token->kind, "access") != 0
      || token->expires_at <= now || token->session_revoked
      || token->session_expires_at <= now)
    {
      set_unauthorized (req, _("The access token is not valid or has expired. Refresh it "
                               "or sign in again."));
      return NULL;
    }
  return g_steal_pointer (&token);
}

/* Answers a new access/refresh pair. */
static void
add_token_pair (JsonBuilder *builder,
                const char  *access,
                const char  *refresh)
{
  json_builder_set_member_name (builder, "access_token");
  json_builder_add_string_value (builder, access);
  json_builder_set_member_name (builder, "refresh_token");
  json_builder_add_string_value (builder, refresh);
  json_builder_set_member_name (builder, "expires_in");
  json_builder_add_int_value (builder, VD_PROTOCOL_ACCESS_TTL_S);
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
  const char *username, *password, *device_id_in, *device_name;
  char device_id[VD_UUID_LEN + 1];
  JsonObject *body;
  gint64 now;

  body = parse_object (req, &parser);
  if (body == NULL)
    return;

  username = get_string (body, "username", 150);
  password = get_string (body, "password", 1024);
  device_id_in = get_string (body, "device_id", VD_UUID_LEN);
  device_name = get_string (body, "device_name", 200);
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
      vds_auth_dummy_verify (password);
      set_invalid_credentials (req);
      return;
    }

  if (user->locked_until > now)
    {
      set_locked (req, user->locked_until, now);
      return;
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

  if (!vds_store_login_succeeded (self->store, user->id, &error))
    {
      set_store_failed (req, error);
      return;
    }

  access = vds_auth_new_token ();
  refresh = vds_auth_new_token ();
  access_hash = vds_auth_token_hash (access);
  refresh_hash = vds_auth_token_hash (refresh);
  if (!vds_store_create_session (self->store, user->id, device_id, device_name, now,
                                 now + VD_PROTOCOL_SESSION_MAX_S,
                                 access_hash, now + VD_PROTOCOL_ACCESS_TTL_S,
                                 refresh_hash, now + VD_PROTOCOL_SESSION_MAX_S,
                                 &session_id, &error))
    {
      set_store_failed (req, error);
      return;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  add_token_pair (builder, access, refresh);
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
                                 access_hash, now + VD_PROTOCOL_ACCESS_TTL_S,
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
  add_token_pair (builder, access, refresh);
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

/* The clinic of the path, for the caller: a member passes; an administrator is refused
 * (monitoring only, §5); for anyone else the clinic does not exist, so that ids of other
 * clinics cannot be probed. Then the clinic's rate limit. */
static gboolean
check_tenant (VdsApi     *self,
              VdsRequest *req,
              VdsToken   *token,
              const char *tenant_id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *role = NULL;
  g_autoptr(VdsUser) user = NULL;
  guint retry_after = 1;

  if (vd_uuid_is_valid (tenant_id))
    {
      role = vds_store_get_membership (self->store, token->user_id, tenant_id, &error);
      if (error != NULL)
        {
          set_store_failed (req, error);
          return FALSE;
        }
    }

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

  if (!vds_limiter_take (self->per_clinic, tenant_id, g_get_monotonic_time (),
                         &retry_after))
    {
      set_rate_limited (req, retry_after,
                        _("This clinic is sending too many requests. Wait a moment and "
                          "try again."));
      return FALSE;
    }
  return TRUE;
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

static void
touch_device (VdsApi         *self,
              VdsRequest     *req,
              VdsToken       *token,
              const char     *tenant_id,
              VdsDeviceEvent  event,
              gint64          cursor)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *version = app_version (req->user_agent);

  /* Bookkeeping for monitoring: the sync itself already succeeded, so a failure here is
   * logged and not the client's problem. */
  if (!vds_store_touch_device (self->store, tenant_id, token->device_id, token->user_id,
                               NULL, version, event, cursor, now_seconds (), &error))
    g_warning ("Could not record device %s of clinic %s: %s", token->device_id, tenant_id,
               error->message);
}

static void
run_push (VdsApi     *self,
          VdsRequest *req,
          const char *tenant_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsToken) token = authenticate (self, req);
  g_autoptr(VdPushRequest) push = NULL;
  g_autofree char *answer = NULL;
  gsize len = 0;
  const char *data;

  if (token == NULL || !check_tenant (self, req, token, tenant_id))
    return;

  data = req->body ? g_bytes_get_data (req->body, &len) : NULL;
  if (data == NULL)
    data = "";
  if (!vd_json_precheck (data, len, VD_PROTOCOL_MAX_BODY, &error))
    {
      set_vd_error (req, error);
      return;
    }
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

  if (!vds_store_push (self->store, tenant_id, push, &answer, &error))
    {
      if (g_error_matches (error, VDS_STORE_ERROR, VDS_STORE_ERROR_BATCH_ORDER))
        vds_request_set_error (req, VD_ERROR_BAD_REQUEST,
                               _("This batch is older than one this device already sent. "
                                 "Batch ids must increase."));
      else
        set_store_failed (req, error);
      return;
    }

  touch_device (self, req, token, tenant_id, VDS_DEVICE_PUSHED, -1);
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
  g_autoptr(VdsToken) token = authenticate (self, req);
  g_autoptr(GPtrArray) changes = NULL;
  gint64 cursor, limit, new_cursor = 0;
  gboolean more = FALSE;
  char *answer;
  gsize len = 0;

  if (token == NULL || !check_tenant (self, req, token, tenant_id))
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

  if (!vds_store_pull (self->store, tenant_id, cursor, (guint) limit, &changes,
                       &new_cursor, &more, &error))
    {
      set_store_failed (req, error);
      return;
    }

  answer = vd_pull_answer_encode (changes, new_cursor, more,
                                  vds_store_server_hlc (self->store), &len);
  touch_device (self, req, token, tenant_id, VDS_DEVICE_PULLED, new_cursor);
  req->status = 200;
  req->answer = g_bytes_new_take (answer, len);
}

static void
run_admin_tenants (VdsApi     *self,
                   VdsRequest *req)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VdsToken) token = authenticate (self, req);
  g_autoptr(VdsUser) user = NULL;
  g_auto(GStrv) company_ids = NULL;
  g_autoptr(GPtrArray) stats = NULL;
  g_autoptr(JsonBuilder) builder = NULL;

  if (token == NULL)
    return;

  user = vds_store_get_user (self->store, token->user_id, &error);
  if (error != NULL)
    {
      set_store_failed (req, error);
      return;
    }

  if (user != NULL && g_strcmp0 (user->platform_role, "platform_admin") == 0)
    stats = vds_store_admin_tenants (self->store, NULL, &error);
  else if (user != NULL && g_strcmp0 (user->platform_role, "company_admin") == 0)
    {
      company_ids = vds_store_admin_company_ids (self->store, user->id, &error);
      if (error != NULL)
        {
          set_store_failed (req, error);
          return;
        }
      /* No company: nothing to see (never NULL, which would mean every clinic). */
      if (company_ids == NULL || company_ids[0] == NULL)
        stats = g_ptr_array_new ();
      else
        stats = vds_store_admin_tenants (self->store,
                                         (const char * const *) company_ids, &error);
    }
  else
    {
      vds_request_set_error (req, VD_ERROR_FORBIDDEN,
                             _("Only company and platform administrators can see the "
                               "clinics’ sync status."));
      return;
    }
  if (stats == NULL)
    {
      set_store_failed (req, error);
      return;
    }
  g_ptr_array_set_free_func (stats, (GDestroyNotify) vds_tenant_stats_free);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "tenants");
  json_builder_begin_array (builder);
  for (guint i = 0; i < stats->len; i++)
    {
      const VdsTenantStats *s = g_ptr_array_index (stats, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, s->id);
      json_builder_set_member_name (builder, "slug");
      json_builder_add_string_value (builder, s->slug);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, s->name);
      json_builder_set_member_name (builder, "company_id");
      json_builder_add_string_value (builder, s->company_id);
      json_builder_set_member_name (builder, "timezone");
      json_builder_add_string_value (builder, s->timezone);
      json_builder_set_member_name (builder, "counts");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "clients");
      json_builder_add_int_value (builder, s->clients);
      json_builder_set_member_name (builder, "pets");
      json_builder_add_int_value (builder, s->pets);
      json_builder_set_member_name (builder, "appointments");
      json_builder_add_int_value (builder, s->appointments);
      json_builder_set_member_name (builder, "staff");
      json_builder_add_int_value (builder, s->staff);
      json_builder_end_object (builder);
      json_builder_set_member_name (builder, "devices");
      json_builder_add_int_value (builder, s->devices);
      json_builder_set_member_name (builder, "last_sync_at");
      if (s->last_sync_at > 0)
        {
          g_autofree char *when = vd_time_dup_utc (s->last_sync_at);
          json_builder_add_string_value (builder, when);
        }
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "open_conflicts");
      json_builder_add_int_value (builder, s->open_conflicts);
      json_builder_set_member_name (builder, "seq");
      json_builder_add_int_value (builder, s->seq);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  set_answer (req, builder);
}

void
vds_api_run (VdsApi     *self,
             VdsRequest *req)
{
  g_autofree char *tenant_id = NULL;
  const char *method;

  switch (match_route (req->path, &tenant_id, &method))
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
    case ROUTE_ADMIN_TENANTS:
      run_admin_tenants (self, req);
      break;
    case ROUTE_NONE:
    default:
      vds_request_set_error (req, VD_ERROR_NOT_FOUND,
                             _("There is no such address on the sync server."));
      break;
    }

  if (req->status == 0)
    vds_request_set_error (req, VD_ERROR_INTERNAL,
                           _("Something went wrong on the sync server. The error has been "
                             "logged; try again later."));
}
