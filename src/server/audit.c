// SPDX-License-Identifier: Apache-2.0
/*
 * audit.c - the audit log of the operator API: every request other than
 * GET/HEAD that reached a role check with a known credential (users, and
 * device tokens refused there) is appended once answered: who, role,
 * action, target, status, when; refusals (403 forbidden, 403 csrf) too.
 * GET /v1/audit pages through it, oldest first. Entries older than
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
    long long after = 0, limit = 100;
    if (!auth_role(s, r, out, role_needed(r->route, r->method)))
        return;
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        resp_error(out, 405, "method_not_allowed", "use GET");
        resp_add_header(out, "Allow", "GET");
        return;
    }
    if (!query_int(req_query(r, "after"), 0, INT64_MAX, &after) ||
        !query_int(req_query(r, "limit"), 1, 1000, &limit)) {
        resp_error(out, 400, "invalid_query",
                   "\"after\" must be an entry id (>= 0) and \"limit\" 1..1000");
        return;
    }
    struct audit_page p = {json_array(), 0};
    if (s->store->ops->audit_list(s->store, after, (int)limit, add_entry, &p) != STORE_OK) {
        json_decref(p.arr);
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    json_t *body = json_pack("{s:o}", "entries", p.arr);
    json_object_set_new(body, "next_after",
                        (long long)json_array_size(p.arr) == limit ? json_integer(p.last)
                                                                   : json_null());
    resp_json(out, 200, body);
}
