// SPDX-License-Identifier: Apache-2.0
/*
 * api_session.c - console login: POST /v1/session exchanges a user's token
 * for a session cookie (ota_session: 256 random bits made by the server at
 * each login, stored only as SHA-256, HttpOnly, SameSite=Strict, Secure
 * under TLS); GET /v1/session describes it; DELETE /v1/session logs out.
 * A session ends after SESSION_IDLE_SECONDS unused, SESSION_MAX_SECONDS
 * after login, or as soon as the token that logged in is revoked. Its CSRF
 * token is derived from the cookie (SHA-256 with a label), so it is never
 * stored and cannot be computed from what the database holds.
 */
#include <stdio.h>
#include <string.h>

#include "jsonv.h"
#include "log.h"
#include "server.h"

/* last_used is written at most this often (seconds) per session. */
#define SESSION_TOUCH_EVERY 60

static void csrf_of(const char *cookie, char out[2 * OTA_SHA256_LEN + 1])
{
    char buf[16 + TOKEN_STR_MAX];
    uint8_t h[OTA_SHA256_LEN];
    int n = snprintf(buf, sizeof(buf), "ota-csrf:%s", cookie);
    ota_sha256(ota_crypto_openssl(), buf, (size_t)n, h);
    ota_hex_encode(h, OTA_SHA256_LEN, out);
}

static int64_t expires_at(const struct srv_session *ss)
{
    int64_t idle = ss->last_used + SESSION_IDLE_SECONDS;
    int64_t max = ss->created_at + SESSION_MAX_SECONDS;
    return idle < max ? idle : max;
}

/* The request's session, checked: 1 (p, ss set), 0 none/expired/revoked
 * (an expired or orphaned row is deleted), -1 storage error. */
static int session_load(struct server *s, struct http_req *r, struct principal *p,
                        struct srv_session *ss, char *csrf)
{
    const char *c = req_cookie(r, SESSION_COOKIE);
    uint8_t idh[OTA_SHA256_LEN];
    int64_t now = srv_now(s);
    if (!c || !*c || strlen(c) >= TOKEN_STR_MAX)
        return 0;
    token_hash(c, idh);
    enum store_rc rc = s->store->ops->session_get(s->store, idh, ss);
    if (rc == STORE_NOT_FOUND)
        return 0;
    if (rc != STORE_OK)
        return -1;
    if (now >= expires_at(ss)) {
        s->store->ops->session_delete(s->store, idh);
        return 0;
    }
    int found = auth_principal(s, ss->token_hash, p);
    if (found == 0) /* its token was revoked (or the admin token reset) */
        s->store->ops->session_delete(s->store, idh);
    if (found != 1)
        return found;
    if (now - ss->last_used >= SESSION_TOUCH_EVERY &&
        s->store->ops->session_touch(s->store, idh, now) == STORE_OK)
        ss->last_used = now;
    if (csrf)
        csrf_of(c, csrf);
    return 1;
}

int session_principal(struct server *s, struct http_req *r, struct principal *p, char *csrf)
{
    struct srv_session ss;
    return session_load(s, r, p, &ss, csrf);
}

static void set_cookie(struct server *s, struct http_resp *out, const char *value,
                       int64_t max_age)
{
    char h[256];
    snprintf(h, sizeof(h), "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
             SESSION_COOKIE, value, (long long)max_age, s->ddi.https ? "; Secure" : "");
    resp_add_header(out, "Set-Cookie", h);
}

static json_t *session_json(const struct principal *p, const char *csrf,
                            const struct srv_session *ss)
{
    return json_pack("{s:s,s:s,s:s,s:I}", "name", p->name, "role", role_name(p->role), "csrf",
                     csrf, "expires_at", (json_int_t)expires_at(ss));
}

static void login(struct server *s, struct http_req *r, struct http_resp *out)
{
    static const char *const FIELDS[] = {"token", NULL};
    char tok[TOKEN_STR_MAX], cookie[TOKEN_STR_MAX], csrf[2 * OTA_SHA256_LEN + 1];
    struct principal p;
    struct srv_session ss;
    /* Login CSRF: other sites can POST a body without a Content-Type (or
     * with text/plain) and no preflight; application/json needs one. */
    const char *ct = req_header(r, "Content-Type");
    if (!ct || !media_type_is(ct, "application/json")) {
        resp_error(out, 415, "unsupported_media_type",
                   "log in with Content-Type: application/json");
        return;
    }
    json_t *o = jv_parse_object(r, out);
    if (!o)
        return;
    int ok = jv_only(o, FIELDS, out) && jv_string(o, "token", 1, TOKEN_STR_MAX - 1, tok, out);
    json_decref(o);
    if (!ok)
        return;
    memset(&ss, 0, sizeof(ss));
    token_hash(tok, ss.token_hash);
    int found = auth_principal(s, ss.token_hash, &p);
    if (found < 0) {
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    if (found == 0) {
        resp_error(out, 401, "unauthorized",
                   "unknown token: log in with a viewer, operator or admin token "
                   "(device and enrollment tokens cannot log in)");
        return;
    }
    /* Never keep a session id the client brought: every login makes a new
     * one, and the cookie sent along (if any) ends here. */
    const char *old = req_cookie(r, SESSION_COOKIE);
    if (old && *old && strlen(old) < TOKEN_STR_MAX) {
        uint8_t oldh[OTA_SHA256_LEN];
        token_hash(old, oldh);
        s->store->ops->session_delete(s->store, oldh);
    }
    if (!token_new("otas", cookie, ss.id_hash)) {
        resp_error(out, 500, "internal", "no randomness");
        return;
    }
    ss.created_at = ss.last_used = srv_now(s);
    if (s->store->ops->session_put(s->store, &ss, ss.created_at - SESSION_IDLE_SECONDS,
                                   ss.created_at - SESSION_MAX_SECONDS) != STORE_OK) {
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    snprintf(r->actor, sizeof(r->actor), "%s", p.name);
    snprintf(r->who, sizeof(r->who), "%s", p.name);
    r->role = p.role;
    r->audit = 1;
    csrf_of(cookie, csrf);
    log_msg(LOG_INFO, "session_login", "user=%s role=%s", p.name, role_name(p.role));
    resp_json(out, 200, session_json(&p, csrf, &ss));
    set_cookie(s, out, cookie, SESSION_MAX_SECONDS);
}

void api_session_route(struct server *s, struct http_req *r, struct http_resp *out)
{
    struct principal p;
    struct srv_session ss;
    char csrf[2 * OTA_SHA256_LEN + 1];
    if (strcmp(r->method, "POST") == 0) {
        login(s, r, out);
        return;
    }
    if (strcmp(r->method, "GET") == 0) {
        int found = session_load(s, r, &p, &ss, csrf);
        if (found < 0) {
            resp_error(out, 503, "storage", "database unavailable");
        } else if (found == 0) {
            resp_error(out, 401, "unauthorized",
                       "no console session: log in with POST /v1/session");
        } else {
            snprintf(r->who, sizeof(r->who), "%s", p.name);
            resp_json(out, 200, session_json(&p, csrf, &ss));
        }
        return;
    }
    if (strcmp(r->method, "DELETE") == 0) {
        const char *c = req_cookie(r, SESSION_COOKIE);
        if (!c || auth_bearer(r)) {
            resp_error(out, 401, "unauthorized",
                       "no console session to log out (send its cookie, no bearer token)");
            return;
        }
        if (!auth_role(s, r, out, ROLE_VIEWER)) { /* the session, and its CSRF token */
            if (out->status == 401)
                set_cookie(s, out, "", 0);
            return;
        }
        uint8_t idh[OTA_SHA256_LEN];
        token_hash(c, idh);
        if (s->store->ops->session_delete(s->store, idh) == STORE_ERR) {
            resp_error(out, 503, "storage", "database unavailable");
            return;
        }
        log_msg(LOG_INFO, "session_logout", "user=%s", r->actor);
        resp_empty(out, 204);
        set_cookie(s, out, "", 0);
        return;
    }
    resp_error(out, 405, "method_not_allowed", "use POST (log in), GET or DELETE (log out)");
    resp_add_header(out, "Allow", "GET, POST, DELETE");
}
