// SPDX-License-Identifier: Apache-2.0
/*
 * api_tokens.c - named API tokens of the operator API (admin only):
 * POST /v1/tokens makes one with a role and shows it once, GET /v1/tokens
 * lists them (never the tokens), DELETE /v1/tokens/{id} revokes one and its
 * console sessions at once. Only SHA-256(token) is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "log.h"
#include "server.h"

/* Token names: 1..64 of [A-Za-z0-9._-] (no ':', so never "device:..."). */
static int valid_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > SRV_ID_MAX)
        return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

static json_t *token_json(const struct srv_api_token *t)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:s}", "id", (json_int_t)t->id, "name", t->name,
                          "role", role_name(t->role), "created_at",
                          (json_int_t)t->created_at, "created_by", t->created_by);
    json_object_set_new(o, "last_used_at",
                        t->last_used_at ? json_integer(t->last_used_at) : json_null());
    return o;
}

static void add_token(void *ctx, const struct srv_api_token *t)
{
    json_array_append_new(ctx, token_json(t));
}

static void create(struct server *s, struct http_req *r, struct http_resp *out)
{
    static const char *const FIELDS[] = {"name", "role", NULL};
    struct srv_api_token t;
    char role[16] = "", token[TOKEN_STR_MAX];
    memset(&t, 0, sizeof(t));
    json_t *o = jv_parse_object(r, out);
    if (!o)
        return;
    int ok = jv_only(o, FIELDS, out) && jv_string(o, "name", 1, SRV_ID_MAX, t.name, out) &&
             jv_string(o, "role", 1, sizeof(role) - 1, role, out);
    json_decref(o);
    if (!ok)
        return;
    if (!valid_name(t.name)) {
        resp_error(out, 400, "invalid_field",
                   "field \"name\" must be 1..64 characters of A-Z a-z 0-9 . _ -");
        return;
    }
    if (strcmp(t.name, "admin") == 0) {
        resp_error(out, 409, "conflict",
                   "the name \"admin\" belongs to the first-start admin token");
        return;
    }
    t.role = role_parse(role);
    if (t.role == ROLE_NONE) {
        resp_error(out, 400, "invalid_field",
                   "field \"role\" must be \"viewer\", \"operator\" or \"admin\"");
        return;
    }
    t.created_at = srv_now(s);
    snprintf(t.created_by, sizeof(t.created_by), "%.64s", r->actor);
    if (!token_new("otau", token, t.token_hash)) {
        resp_error(out, 500, "internal", "no randomness");
        return;
    }
    enum store_rc rc = s->store->ops->api_token_insert(s->store, &t);
    if (rc == STORE_CONFLICT) {
        resp_error(out, 409, "conflict", "a token named \"%s\" exists already", t.name);
        return;
    }
    if (rc != STORE_OK) {
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    log_msg(LOG_INFO, "api_token_created", "id=%lld name=%s role=%s by=%s", (long long)t.id,
            t.name, role_name(t.role), r->actor);
    json_t *body = token_json(&t);
    json_object_set_new(body, "token", json_string(token));
    resp_json(out, 201, body);
}

static void revoke(struct server *s, struct http_req *r, struct http_resp *out,
                   const char *idstr)
{
    char *end;
    long long id = strtoll(idstr, &end, 10);
    if (*idstr < '1' || *idstr > '9' || *end || strlen(idstr) > 18) {
        resp_error(out, 404, "not_found", "token ids are positive integers");
        return;
    }
    enum store_rc rc = s->store->ops->api_token_delete(s->store, id);
    if (rc == STORE_NOT_FOUND) {
        resp_error(out, 404, "not_found", "no token %lld", id);
        return;
    }
    if (rc != STORE_OK) {
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    log_msg(LOG_INFO, "api_token_revoked", "id=%lld by=%s", id, r->actor);
    resp_empty(out, 204);
}

void api_tokens_route(struct server *s, struct http_req *r, struct http_resp *out)
{
    const char *id = r->path + strlen("/v1/tokens");
    if (!auth_role(s, r, out, role_needed(r->route, r->method)))
        return;
    if (*id == '/') {
        if (strcmp(r->method, "DELETE") != 0) {
            resp_error(out, 405, "method_not_allowed", "use DELETE");
            resp_add_header(out, "Allow", "DELETE");
            return;
        }
        revoke(s, r, out, id + 1);
    } else if (strcmp(r->method, "POST") == 0) {
        create(s, r, out);
    } else if (strcmp(r->method, "GET") == 0) {
        json_t *a = json_array();
        if (s->store->ops->api_token_list(s->store, add_token, a) != STORE_OK) {
            json_decref(a);
            resp_error(out, 503, "storage", "database unavailable");
            return;
        }
        resp_json(out, 200, json_pack("{s:o}", "tokens", a));
    } else {
        resp_error(out, 405, "method_not_allowed", "use GET or POST");
        resp_add_header(out, "Allow", "GET, POST");
    }
}
