// SPDX-License-Identifier: Apache-2.0
/*
 * auth.c - who is calling: a user of the operator API (the first-start
 * admin token, a named API token with a role, or a console session cookie),
 * a device (its own bearer token, only for its own records), or nobody; and
 * whether that user's role may use the route (role_needed, the table of
 * docs/api.md "Roles"). Tokens are compared as SHA-256 hashes; a wrong token
 * never says whose it is. Named tokens and sessions are read from the store
 * on every request, so a revocation holds at once on every node.
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server.h"

/* A named token's last_used_at is written at most this often (seconds). */
#define TOKEN_TOUCH_EVERY 60

static const char *const ROLE_NAMES[] = {"none", "viewer", "operator", "admin"};

const char *role_name(int role)
{
    return role >= ROLE_NONE && role <= ROLE_ADMIN ? ROLE_NAMES[role] : "none";
}

int role_parse(const char *name)
{
    for (int i = ROLE_VIEWER; i <= ROLE_ADMIN; i++)
        if (name && strcmp(name, ROLE_NAMES[i]) == 0)
            return i;
    return ROLE_NONE;
}

static int safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

int role_needed(int route, const char *method)
{
    if (safe_method(method))
        return route == ROUTE_TOKENS ? ROLE_ADMIN : ROLE_VIEWER;
    switch (route) {
    case ROUTE_RELEASES:
    case ROUTE_RELEASE:
    case ROUTE_RELEASE_DELTAS:
    case ROUTE_RELEASE_IMAGES:
    case ROUTE_CAMPAIGNS:
    case ROUTE_CAMPAIGN:
    case ROUTE_CAMPAIGN_ACTION:
    case ROUTE_CAMPAIGN_DEVICES:
        return ROLE_OPERATOR;
    default:
        return ROLE_ADMIN;
    }
}

const char *auth_bearer(const struct http_req *r)
{
    const char *h = req_header(r, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    if (!*h || strlen(h) >= TOKEN_STR_MAX)
        return NULL;
    return h;
}

/* The admin token's hash. With a store shared by several nodes, another
 * node may have replaced it (--reset-admin-token): re-read it from the
 * store at most once a second per thread. */
static void admin_hash(struct server *s, uint8_t out[OTA_SHA256_LEN])
{
    static _Thread_local uint8_t cached[OTA_SHA256_LEN];
    static _Thread_local time_t loaded;
    char hex[2 * OTA_SHA256_LEN + 1];
    time_t now = time(NULL);
    if (!s->store->ops->shared) {
        memcpy(out, s->admin_hash, OTA_SHA256_LEN);
        return;
    }
    if (!loaded || now != loaded) {
        if (s->store->ops->setting_get(s->store, "admin_token_sha256", hex, sizeof(hex)) ==
                STORE_OK &&
            ota_hex_decode(hex, cached, OTA_SHA256_LEN) == OTA_SHA256_LEN)
            loaded = now;
        else if (!loaded)
            memcpy(cached, s->admin_hash, OTA_SHA256_LEN);
    }
    memcpy(out, cached, OTA_SHA256_LEN);
}

int auth_principal(struct server *s, const uint8_t hash[OTA_SHA256_LEN], struct principal *p)
{
    uint8_t a[OTA_SHA256_LEN];
    struct srv_api_token t;
    admin_hash(s, a);
    memset(p, 0, sizeof(*p));
    if (ota_ct_memcmp(hash, a, OTA_SHA256_LEN) == 0) {
        snprintf(p->name, sizeof(p->name), "admin");
        p->role = ROLE_ADMIN;
        return 1;
    }
    /* The store finds the row by its hash (an index lookup): the hash of a
     * 256-bit random token reveals nothing usable about it. */
    switch (s->store->ops->api_token_by_hash(s->store, hash, &t)) {
    case STORE_OK:
        if (t.role < ROLE_VIEWER || t.role > ROLE_ADMIN)
            return 0;
        snprintf(p->name, sizeof(p->name), "%s", t.name);
        p->role = t.role;
        p->token_id = t.id;
        /* "Last used", for the token list: one write a minute at most. */
        if (srv_now(s) - t.last_used_at >= TOKEN_TOUCH_EVERY)
            s->store->ops->api_token_touch(s->store, t.id, srv_now(s));
        return 1;
    case STORE_NOT_FOUND:
        return 0;
    default:
        return -1;
    }
}

static void set_caller(struct http_req *r, const struct principal *p, int via_session)
{
    snprintf(r->actor, sizeof(r->actor), "%s", p->name);
    snprintf(r->who, sizeof(r->who), "%s", p->name);
    r->role = p->role;
    r->via_session = via_session;
    r->audit = 1;
}

/* The user of the request: its bearer token if it has one (a bearer token
 * always wins over a cookie), else its console session. 1 (p set), 0 none
 * or unknown, -1 storage error. *via_cookie: the session decided. */
static int identify(struct server *s, struct http_req *r, struct principal *p, int *via_cookie,
                    char csrf[2 * OTA_SHA256_LEN + 1])
{
    const char *tok = auth_bearer(r);
    uint8_t h[OTA_SHA256_LEN];
    *via_cookie = 0;
    csrf[0] = '\0';
    if (tok) {
        token_hash(tok, h);
        return auth_principal(s, h, p);
    }
    if (!req_cookie(r, SESSION_COOKIE))
        return 0;
    *via_cookie = 1;
    return session_principal(s, r, p, csrf);
}

int auth_is_user(struct server *s, struct http_req *r)
{
    struct principal p;
    char csrf[2 * OTA_SHA256_LEN + 1];
    int via;
    if (identify(s, r, &p, &via, csrf) != 1)
        return 0;
    set_caller(r, &p, via);
    return 1;
}

static void unauthorized(struct http_resp *out, const char *why)
{
    resp_error(out, 401, "unauthorized", "%s", why);
    resp_add_header(out, "WWW-Authenticate", "Bearer realm=\"ota\"");
}

int auth_role(struct server *s, struct http_req *r, struct http_resp *out, int need)
{
    struct principal p;
    char csrf[2 * OTA_SHA256_LEN + 1];
    int via;
    int found = identify(s, r, &p, &via, csrf);
    if (found < 0) {
        resp_error(out, 503, "storage", "database unavailable");
        return 0;
    }
    if (found == 0) {
        struct srv_device d;
        uint8_t h[OTA_SHA256_LEN];
        const char *tok = auth_bearer(r);
        if (tok) {
            token_hash(tok, h);
            if (s->store->ops->device_by_token(s->store, h, &d) == STORE_OK) {
                snprintf(r->who, sizeof(r->who), "device:%s", d.id);
                snprintf(r->actor, sizeof(r->actor), "device:%s", d.id);
                r->role = ROLE_NONE;
                r->audit = 1;
                resp_error(out, 403, "forbidden",
                           "device tokens cannot use operator routes (this one needs role %s)",
                           role_name(need));
            } else {
                unauthorized(out, "invalid token");
            }
        } else if (via) {
            unauthorized(out, "the console session expired, was logged out or its token was "
                              "revoked: log in again (POST /v1/session)");
        } else {
            unauthorized(out, "this route needs a token (Authorization: Bearer ...) or a "
                              "console session");
        }
        return 0;
    }
    set_caller(r, &p, via);
    if (via && !safe_method(r->method)) {
        /* Cross-site requests carry the cookie but cannot read the CSRF
         * token (it is only in the login and GET /v1/session answers). */
        const char *h = req_header(r, "X-CSRF-Token");
        if (!h || strlen(h) != 2 * OTA_SHA256_LEN ||
            ota_ct_memcmp(h, csrf, 2 * OTA_SHA256_LEN) != 0) {
            resp_error(out, 403, "csrf",
                       "requests authenticated by the console session cookie need header "
                       "X-CSRF-Token (the \"csrf\" of POST or GET /v1/session)");
            return 0;
        }
    }
    if (p.role < need) {
        resp_error(out, 403, "forbidden", "%s %s needs role %s; \"%s\" has role %s",
                   r->method, route_name(r->route), role_name(need), p.name,
                   role_name(p.role));
        return 0;
    }
    return 1;
}

int auth_device(struct server *s, struct http_req *r, struct http_resp *out,
                const char *id, struct srv_device *d)
{
    const char *tok = auth_bearer(r);
    if (!tok) {
        unauthorized(out, "this route needs the device's token (Authorization: Bearer ...)");
        return 0;
    }
    return auth_device_token(s, r, out, id, tok, d);
}

int auth_device_token(struct server *s, struct http_req *r, struct http_resp *out,
                      const char *id, const char *tok, struct srv_device *d)
{
    uint8_t h[OTA_SHA256_LEN];
    enum store_rc rc;
    token_hash(tok, h);
    rc = s->store->ops->device_get_auth(s->store, id, d);
    if (rc == STORE_ERR) {
        resp_error(out, 503, "storage", "database unavailable");
        return 0;
    }
    if (rc == STORE_OK && ota_ct_memcmp(h, d->token_hash, sizeof(h)) == 0) {
        snprintf(r->who, sizeof(r->who), "device:%s", d->id);
        return 1;
    }
    /* Not this device's token: is it someone's? (403 vs 401) */
    {
        struct srv_device other;
        if (s->store->ops->device_by_token(s->store, h, &other) == STORE_OK) {
            snprintf(r->who, sizeof(r->who), "device:%s", other.id);
            resp_error(out, 403, "forbidden",
                       "a device may only access its own records");
            return 0;
        }
    }
    if (auth_is_user(s, r)) {
        resp_error(out, 403, "forbidden", "this route is for the device itself");
        return 0;
    }
    unauthorized(out, "invalid device token");
    return 0;
}

int auth_any(struct server *s, struct http_req *r, struct http_resp *out)
{
    const char *tok = auth_bearer(r);
    uint8_t h[OTA_SHA256_LEN];
    struct srv_device d;
    struct principal p;
    int found;
    if (!tok && !req_cookie(r, SESSION_COOKIE)) {
        unauthorized(out, "this route needs a device token or a user's token or session");
        return 0;
    }
    if (tok) {
        /* Devices first: artifact downloads and check-ins are the bulk. */
        token_hash(tok, h);
        enum store_rc rc = s->store->ops->device_by_token(s->store, h, &d);
        if (rc == STORE_OK) {
            snprintf(r->who, sizeof(r->who), "device:%s", d.id);
            return 1;
        }
        found = rc == STORE_ERR ? -1 : auth_principal(s, h, &p);
    } else {
        found = session_principal(s, r, &p, NULL);
    }
    if (found > 0) {
        snprintf(r->who, sizeof(r->who), "%s", p.name);
        return 1;
    }
    if (found < 0) {
        resp_error(out, 503, "storage", "database unavailable");
        return 0;
    }
    unauthorized(out, tok ? "invalid token" : "the console session expired or was logged out");
    return 0;
}
