// SPDX-License-Identifier: Apache-2.0
/*
 * audit.c - the audit log of the operator API: every request other than
 * GET/HEAD that reached a role check with a known credential (users, and
 * device tokens refused there) is appended once answered: who, role,
 * action, target, status, when; refusals (403 forbidden, 403 csrf) too.
 * GET /v1/audit pages through it, oldest first (order=oldest, after=) or
 * newest first (order=newest, before=). Entries older than
 * AUDIT_RETENTION_SECONDS are deleted as new ones arrive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"

#define AUDIT_RETENTION_SECONDS (365LL * 86400)
#define AUDIT_PRUNE_EVERY 256 /* entries */

void audit_record(struct server *s, const struct http_req *r, int status)
{
    struct srv_audit a;
    size_t i = 0;
    if (!r->audit || strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
        return;
    memset(&a, 0, sizeof(a));
    a.at = srv_now(s);
    snprintf(a.actor, sizeof(a.actor), "%s", r->actor);
    snprintf(a.role, sizeof(a.role), "%s", role_name(r->role));
    snprintf(a.action, sizeof(a.action), "%.15s %.47s", r->method, route_name(r->route));
    /* Paths arrive percent-decoded: keep the target printable ASCII. */
    for (const char *p = r->path; *p && i < sizeof(a.target) - 1; p++)
        a.target[i++] = (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ? '?' : *p;
    a.status = status;
    if (s->store->ops->audit_insert(s->store, &a) != STORE_OK) {
        log_msg(LOG_ERROR, "audit_write_failed", "actor=%s action=\"%s\" status=%d", a.actor,
                a.action, status);
        return;
    }
    if (a.id % AUDIT_PRUNE_EVERY == 0)
        s->store->ops->audit_prune(s->store, a.at - AUDIT_RETENTION_SECONDS);
}

struct audit_page {
    json_t *arr;
    int64_t last;
};

static void add_entry(void *ctx, const struct srv_audit *a)
{
    struct audit_page *p = ctx;
    json_array_append_new(p->arr,
                          json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:i}", "id", (json_int_t)a->id,
                                    "at", (json_int_t)a->at, "actor", a->actor, "role",
                                    a->role, "action", a->action, "target", a->target,
                                    "status", a->status));
    p->last = a->id;
}

static int query_int(const char *v, long long min, long long max, long long *out)
{
    char *end;
    if (!v)
        return 1;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || x < min || x > max)
        return 0;
    *out = x;
    return 1;
}

void api_audit_route(struct server *s, struct http_req *r, struct http_resp *out)
{
    long long after = 0, before = INT64_MAX, limit = 100;
    const char *order = req_query(r, "order");
    int newest = order && strcmp(order, "newest") == 0;
    if (!auth_role(s, r, out, role_needed(r->route, r->method)))
        return;
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        resp_error(out, 405, "method_not_allowed", "use GET");
        resp_add_header(out, "Allow", "GET");
        return;
    }
    if ((order && !newest && strcmp(order, "oldest") != 0) ||
        !query_int(req_query(r, "after"), 0, INT64_MAX, &after) ||
        !query_int(req_query(r, "before"), 1, INT64_MAX, &before) ||
        !query_int(req_query(r, "limit"), 1, 1000, &limit) ||
        req_query(r, newest ? "after" : "before")) {
        resp_error(out, 400, "invalid_query",
                   "\"order\" is oldest (default; page with \"after\") or newest (page "
                   "with \"before\"), ids >= 0, \"limit\" 1..1000");
        return;
    }
    struct audit_page p = {json_array(), 0};
    if (s->store->ops->audit_list(s->store, newest ? before : after, newest, (int)limit,
                                  add_entry, &p) != STORE_OK) {
        json_decref(p.arr);
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    json_t *body = json_pack("{s:o}", "entries", p.arr);
    json_object_set_new(body, newest ? "next_before" : "next_after",
                        (long long)json_array_size(p.arr) == limit ? json_integer(p.last)
                                                                   : json_null());
    resp_json(out, 200, body);
}
