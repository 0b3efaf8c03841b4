// SPDX-License-Identifier: Apache-2.0
/*
 * auth.c - who is calling: the admin (one bearer token), a device (its own
 * bearer token, only for its own records), or nobody. Tokens are compared
 * as SHA-256 hashes in constant time; a wrong token never says whose it is.
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server.h"

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

int auth_is_admin(struct server *s, const struct http_req *r)
{
    const char *tok = auth_bearer(r);
    uint8_t h[OTA_SHA256_LEN], a[OTA_SHA256_LEN];
    if (!tok)
        return 0;
    token_hash(tok, h);
    admin_hash(s, a);
    return ota_ct_memcmp(h, a, sizeof(h)) == 0;
}

static void unauthorized(struct http_resp *out, const char *why)
{
    resp_error(out, 401, "unauthorized", "%s", why);
    resp_add_header(out, "WWW-Authenticate", "Bearer realm=\"ota\"");
}

int auth_admin(struct server *s, struct http_req *r, struct http_resp *out)
{
    if (!auth_bearer(r)) {
        unauthorized(out, "this route needs the admin token (Authorization: Bearer ...)");
        return 0;
    }
    if (!auth_is_admin(s, r)) {
        struct srv_device d;
        uint8_t h[OTA_SHA256_LEN];
        token_hash(auth_bearer(r), h);
        if (s->store->ops->device_by_token(s->store, h, &d) == STORE_OK) {
            snprintf(r->who, sizeof(r->who), "device:%s", d.id);
            resp_error(out, 403, "forbidden", "device tokens cannot use admin routes");
        } else {
            unauthorized(out, "invalid admin token");
        }
        return 0;
    }
    snprintf(r->who, sizeof(r->who), "admin");
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
    if (auth_is_admin(s, r)) {
        snprintf(r->who, sizeof(r->who), "admin");
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
    if (!tok) {
        unauthorized(out, "this route needs a device or admin token");
        return 0;
    }
    if (auth_is_admin(s, r)) {
        snprintf(r->who, sizeof(r->who), "admin");
        return 1;
    }
    token_hash(tok, h);
    enum store_rc rc = s->store->ops->device_by_token(s->store, h, &d);
    if (rc == STORE_OK) {
        snprintf(r->who, sizeof(r->who), "device:%s", d.id);
        return 1;
    }
    if (rc == STORE_ERR) {
        resp_error(out, 503, "storage", "database unavailable");
        return 0;
    }
    unauthorized(out, "invalid token");
    return 0;
}
