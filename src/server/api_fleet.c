// SPDX-License-Identifier: Apache-2.0
/*
 * api_fleet.c - the read endpoints the web console needs to stay fast at
 * 100k devices: fleet aggregates computed by the database (counts by
 * version, hardware, tag and release; online vs silent; last results), a
 * filtered, paged device list with its total, one device's campaigns and
 * the offer it would get now, and a campaign's failure ratio over time
 * (from its devices' final states and the times they were reached).
 * Everything under /v1/fleet/ (docs/api.md, "Fleet views"); SQL in
 * store_sql.h's fleet section, run through store_ops.query.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_cache.h"
#include "jsonv.h"
#include "release_slot.h"
#include "rollout.h"
#include "server.h"
#include "store_sql.h"

#define FLEET_TOP 50        /* rows of each "by" list */
#define FLEET_TAG_SETS 5000 /* distinct tag sets read for by_tag */
#define FLEET_MAX_POINTS 240

/* ---- helpers -------------------------------------------------------------- */

static struct store_param p_text(const char *s)
{
    return (struct store_param){.kind = STORE_P_TEXT, .s = s};
}

static struct store_param p_int(int64_t i)
{
    return (struct store_param){.kind = STORE_P_INT, .i = i};
}

static void storage_error(struct http_resp *out)
{
    resp_error(out, 503, "storage", "database unavailable");
}

static int64_t col_i64(const char *c)
{
    return c ? strtoll(c, NULL, 10) : 0;
}

/* A query whose rows become [{key: col0, "devices": col1}...]. */
struct pairs {
    json_t *arr;
    const char *key;
};

static void pair_row(void *ctx, int n, const char *const *c)
{
    struct pairs *p = ctx;
    if (n >= 2)
        json_array_append_new(p->arr, json_pack("{s:s,s:I}", p->key, c[0] ? c[0] : "",
                                                "devices", (json_int_t)col_i64(c[1])));
}

static void one_int_row(void *ctx, int n, const char *const *c)
{
    int64_t *v = ctx;
    for (int i = 0; i < n && i < 3; i++)
        v[i] = col_i64(c[i]);
}

/* An unsigned decimal query parameter in [min, max]; def when absent. 0
 * with a 400 set when malformed. */
static int query_int(struct http_req *r, struct http_resp *out, const char *name, int64_t min,
                     int64_t max, int64_t def, int64_t *v)
{
    const char *q = req_query(r, name);
    char *end;
    *v = def;
    if (!q)
        return 1;
    long long x = strtoll(q, &end, 10);
    if (!*q || *end || q[0] == '-' || q[0] == '+' || x < min || x > max) {
        resp_error(out, 400, "invalid_query", "query \"%s\" must be an integer in %" PRId64
                   "..%" PRId64 ", got \"%.40s\"", name, min, max, q);
        return 0;
    }
    *v = x;
    return 1;
}

/* Seconds without a check-in after which a device counts as silent. */
static int silent_after(struct server *s, struct http_req *r, struct http_resp *out,
                        int64_t *v)
{
    int64_t def = 3 * (s->poll_interval > 0 ? s->poll_interval : 300);
    return query_int(r, out, "silent_after", 1, 10LL * 365 * 86400, def, v);
}

/* `in` as a LIKE pattern matching itself literally, between pre and post. */
static void like_pattern(const char *pre, const char *in, const char *post, char *out,
                         size_t cap)
{
    size_t n = 0;
    for (const char *p = pre; *p && n + 1 < cap; p++)
        out[n++] = *p;
    for (const char *p = in; *p && n + 2 < cap; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            out[n++] = '\\';
        out[n++] = *p;
    }
    for (const char *p = post; *p && n + 1 < cap; p++)
        out[n++] = *p;
    out[n] = '\0';
}

static void version_text(const struct ota_image_version *v, char *buf, size_t n)
{
    snprintf(buf, n, "%u.%u.%u+%u", v->major, v->minor, v->revision, (unsigned)v->build);
}

/* ---- GET /v1/fleet/summary -------------------------------------------------- */

struct tag_count {
    char tag[40];
    int64_t n;
};
struct tag_acc {
    struct tag_count *v;
    int n, cap;
    int64_t untagged;
};

static void tag_row(void *ctx, int n, const char *const *c)
{
    struct tag_acc *a = ctx;
    if (n < 2 || !c[0])
        return;
    int64_t k = col_i64(c[1]);
    if (!c[0][0] || strcmp(c[0], ",,") == 0) {
        a->untagged += k;
        return;
    }
    /* ",a,b," */
    for (const char *p = c[0]; *p;) {
        while (*p == ',')
            p++;
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!len)
            break;
        char t[40];
        snprintf(t, sizeof(t), "%.*s", (int)(len < 39 ? len : 39), p);
        int i;
        for (i = 0; i < a->n && strcmp(a->v[i].tag, t) != 0; i++)
            ;
        if (i == a->n) {
            if (a->n == a->cap) {
                int ncap = a->cap ? 2 * a->cap : 64;
                struct tag_count *nv = realloc(a->v, (size_t)ncap * sizeof(*nv));
                if (!nv)
                    return;
                a->v = nv;
                a->cap = ncap;
            }
            snprintf(a->v[a->n].tag, sizeof(a->v[0].tag), "%s", t);
            a->v[a->n++].n = 0;
        }
        a->v[i].n += k;
        p += len;
    }
}

static int tag_cmp(const void *x, const void *y)
{
    const struct tag_count *a = x, *b = y;
    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    return strcmp(a->tag, b->tag);
}

static void result_row(void *ctx, int n, const char *const *c)
{
    int64_t *v = ctx;
    for (int i = 0; i < n && i < 5; i++)
        v[i] = col_i64(c[i]);
}

static void release_row(void *ctx, int n, const char *const *c)
{
    if (n >= 2)
        json_array_append_new(ctx, json_pack("{s:I,s:I}", "release_id",
                                             (json_int_t)col_i64(c[0]), "devices",
                                             (json_int_t)col_i64(c[1])));
}

static void fleet_summary(struct server *s, struct http_req *r, struct http_resp *out)
{
    struct store *st = s->store;
    int64_t silent, now = srv_now(s), tot[3] = {0, 0, 0}, res[5] = {0, 0, 0, 0, 0};
    struct store_param top = p_int(FLEET_TOP);
    struct tag_acc tags = {0};
    if (!silent_after(s, r, out, &silent))
        return;
    struct store_param since = p_int(now - silent);
    json_t *o = json_object(), *by_version = json_array(), *by_hw = json_array(),
           *by_tag = json_array(), *by_release = json_array(),
           *failures = json_array();
    struct pairs pv = {by_version, "version"}, ph = {by_hw, "hw_id"},
                 pf = {failures, "last_result"};
    struct store_param tagsets = p_int(FLEET_TAG_SETS), ten = p_int(10);
    enum store_rc rc = st->ops->query(st, SQL_FLEET_TOTALS, &since, 1, one_int_row, tot);
    if (rc == STORE_OK)
        rc = st->ops->query(st, SQL_FLEET_BY_VERSION, &top, 1, pair_row, &pv);
    if (rc == STORE_OK)
        rc = st->ops->query(st, SQL_FLEET_BY_HW, &top, 1, pair_row, &ph);
    if (rc == STORE_OK)
        rc = st->ops->query(st, SQL_FLEET_BY_TAGS, &tagsets, 1, tag_row, &tags);
    if (rc == STORE_OK)
        rc = st->ops->query(st, SQL_FLEET_BY_RELEASE, NULL, 0, release_row, by_release);
    if (rc == STORE_OK)
        rc = st->ops->query(st, SQL_FLEET_RESULTS, NULL, 0, result_row, res);
    if (rc == STORE_OK)
        rc = st->ops->query(st, SQL_FLEET_TOP_FAILURES, &ten, 1, pair_row, &pf);
    if (rc != STORE_OK) {
        free(tags.v);
        json_decref(o);
        json_decref(by_version);
        json_decref(by_hw);
        json_decref(by_tag);
        json_decref(by_release);
        json_decref(failures);
        storage_error(out);
        return;
    }
    if (tags.n)
        qsort(tags.v, (size_t)tags.n, sizeof(*tags.v), tag_cmp);
    for (int i = 0; i < tags.n && i < FLEET_TOP; i++)
        json_array_append_new(by_tag, json_pack("{s:s,s:I}", "tag", tags.v[i].tag, "devices",
                                                (json_int_t)tags.v[i].n));
    free(tags.v);
    json_t *results = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "none", (json_int_t)res[0],
                                "success", (json_int_t)res[1], "failure", (json_int_t)res[2],
                                "rolled-back", (json_int_t)res[3], "in-progress",
                                (json_int_t)res[4], "other",
                                (json_int_t)(tot[0] - res[0] - res[1] - res[2] - res[3] - res[4]));
    json_object_set_new(o, "now", json_integer(now));
    json_object_set_new(o, "silent_after", json_integer(silent));
    json_object_set_new(o, "devices", json_integer(tot[0]));
    json_object_set_new(o, "online", json_integer(tot[1]));
    json_object_set_new(o, "never_seen", json_integer(tot[2]));
    json_object_set_new(o, "silent", json_integer(tot[0] - tot[1] - tot[2]));
    json_object_set_new(o, "by_version", by_version);
    json_object_set_new(o, "by_hw_id", by_hw);
    json_object_set_new(o, "by_tag", by_tag);
    json_object_set_new(o, "untagged", json_integer(tags.untagged));
    json_object_set_new(o, "by_release", by_release);
    json_object_set_new(o, "last_results", results);
    json_object_set_new(o, "top_failures", failures);
    resp_json(out, 200, o);
}

/* ---- GET /v1/fleet/devices ---------------------------------------------------- */

struct page {
    json_t *arr;
    int n;
    char last[SRV_ID_MAX + 1];
};

static void device_row(void *ctx, int n, const char *const *c)
{
    struct page *p = ctx;
    if (n < 9 || !c[0])
        return;
    json_array_append_new(
        p->arr, json_pack("{s:s,s:s,s:o,s:s,s:s,s:s,s:I,s:I,s:o}", "id", c[0], "hw_id",
                          c[1] ? c[1] : "", "tags", tags_json(c[2] ? c[2] : ""),
                          "current_version", c[3] ? c[3] : "", "slot_state", c[4] ? c[4] : "",
                          "last_result", c[5] ? c[5] : "", "last_seen",
                          (json_int_t)col_i64(c[6]), "created_at", (json_int_t)col_i64(c[7]),
                          "running_slot", c[8] && c[8][0] ? json_string(c[8]) : json_null()));
    snprintf(p->last, sizeof(p->last), "%s", c[0]);
    p->n++;
}

static void fleet_devices(struct server *s, struct http_req *r, struct http_resp *out)
{
    struct store *st = s->store;
    const char *version = req_query(r, "version"), *hw = req_query(r, "hw_id"),
               *tag = req_query(r, "tag"), *q = req_query(r, "q"), *seen = req_query(r, "seen"),
               *result = req_query(r, "result"), *after = req_query(r, "after");
    int64_t limit, silent, release_id, seen_kind = 0;
    char tag_pat[80] = "", id_pat[2 * SRV_ID_MAX + 4] = "", res_pat[80] = "";
    struct srv_release rel;
    if (!query_int(r, out, "limit", 1, 1000, 100, &limit) || !silent_after(s, r, out, &silent) ||
        !query_int(r, out, "release", 0, INT64_MAX / 2, 0, &release_id))
        return;
    if ((version && strlen(version) > 23) || (hw && strlen(hw) > SRV_HWID_MAX) ||
        (tag && strlen(tag) > 32) || (q && strlen(q) > SRV_ID_MAX) ||
        (after && strlen(after) > SRV_ID_MAX)) {
        resp_error(out, 400, "invalid_query", "a filter is longer than its field can be");
        return;
    }
    if (seen) {
        static const char *const KINDS[] = {"any", "online", "silent", "never", NULL};
        for (seen_kind = 0; KINDS[seen_kind] && strcmp(KINDS[seen_kind], seen) != 0; seen_kind++)
            ;
        if (!KINDS[seen_kind]) {
            resp_error(out, 400, "invalid_query",
                       "query \"seen\" must be any, online, silent or never");
            return;
        }
    }
    if (result) {
        static const char *const KINDS[] = {"success", "failure", "rolled-back", NULL};
        int i;
        for (i = 0; KINDS[i] && strcmp(KINDS[i], result) != 0; i++)
            ;
        if (!KINDS[i]) {
            resp_error(out, 400, "invalid_query",
                       "query \"result\" must be success, failure or rolled-back");
            return;
        }
        like_pattern("", result, "%", res_pat, sizeof(res_pat));
    }
    if (release_id) {
        enum store_rc rc = st->ops->release_get(st, release_id, &rel);
        if (rc == STORE_NOT_FOUND) {
            resp_error(out, 404, "not_found", "no release %" PRId64, release_id);
            return;
        }
        if (rc != STORE_OK) {
            storage_error(out);
            return;
        }
    }
    if (tag && *tag)
        like_pattern("%,", tag, ",%", tag_pat, sizeof(tag_pat));
    if (q && *q)
        like_pattern("", q, "%", id_pat, sizeof(id_pat));
    /* a per-slot release: devices running either slot's build */
    const uint8_t *other = release_id && rel.has_other ? rel.other_digest : rel.digest;
    struct store_param p[12] = {
        p_text(version ? version : ""),
        p_text(hw ? hw : ""),
        p_text(tag_pat),
        p_text(id_pat),
        p_int(seen_kind),
        p_int(srv_now(s) - silent),
        p_int(release_id ? 1 : 0),
        {.kind = STORE_P_BLOB, .s = release_id ? (const char *)rel.digest : "",
         .i = release_id ? OTA_SHA256_LEN : 0},
        {.kind = STORE_P_BLOB, .s = release_id ? (const char *)other : "",
         .i = release_id ? OTA_SHA256_LEN : 0},
        p_text(res_pat),
        p_text(after ? after : ""),
        p_int(limit),
    };
    int64_t total[3] = {0, 0, 0};
    struct page pg = {json_array(), 0, ""};
    /* The total on the first page only: the next pages keep their filters. */
    enum store_rc rc =
        after ? STORE_OK : st->ops->query(st, SQL_FLEET_DEV_COUNT, p, 10, one_int_row, total);
    if (rc == STORE_OK)
        rc = st->ops->query(st, SQL_FLEET_DEV_PAGE, p, 12, device_row, &pg);
    if (rc != STORE_OK) {
        json_decref(pg.arr);
        storage_error(out);
        return;
    }
    json_t *o = json_pack("{s:o}", "devices", pg.arr);
    if (!after)
        json_object_set_new(o, "total", json_integer(total[0]));
    if (pg.n == limit)
        json_object_set_new(o, "next_after", json_string(pg.last));
    resp_json(out, 200, o);
}

/* ---- GET /v1/fleet/devices/{id} ------------------------------------------------ */

static void action_row(void *ctx, const struct srv_ddi_action *a)
{
    json_array_append_new(ctx, json_pack("{s:I,s:I,s:s,s:s,s:I}", "campaign_id",
                                         (json_int_t)a->campaign_id, "release_id",
                                         (json_int_t)a->release_id, "state",
                                         dc_state_name(a->dc_state), "campaign_state",
                                         campaign_state_name(a->campaign_state), "updated_at",
                                         (json_int_t)a->updated_at));
}

/* What the device's next check-in would get, by the check-in's rule (the
 * newest active campaign whose filter matches decides), read-only. */
static json_t *current_offer(struct server *s, const struct srv_device *d, int *ok)
{
    struct campaign_snapshot *snap = campaign_cache_get(s);
    json_t *o = NULL;
    *ok = snap != NULL;
    if (!snap)
        return NULL;
    for (int i = 0; i < snap->n && !o; i++) {
        const struct srv_campaign *c = &snap->v[i].c;
        const struct srv_release *rel = &snap->v[i].rel;
        const char *why = NULL;
        struct srv_dc dc;
        struct srv_release view;
        char ver[32], note[SRV_DETAIL_MAX + 1];
        view.link_slot[0] = '\0';
        if (rel->raw || !rollout_matches(c, d, d->current_version))
            continue;
        enum store_rc rc = s->store->ops->dc_get(s->store, c->id, d->id, &dc);
        if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
            *ok = 0;
            break;
        }
        if (rollout_runs_release(d, rel))
            why = "runs_release";
        else if (rc == STORE_OK && DC_IS_FINAL(dc.state))
            why = "finished";
        else if (rc == STORE_NOT_FOUND && !rollout_in_stage(c, rollout_bucket(c->id, d->id)))
            why = "not_in_stage_yet";
        else if (!release_for_device(rel, d->running_slot, &view, note, sizeof(note)))
            why = "no_image_for_slot"; /* per-slot release (release_slot.c) */
        version_text(&rel->version, ver, sizeof(ver));
        o = json_pack("{s:I,s:s,s:I,s:s,s:i,s:b,s:s}", "campaign_id", (json_int_t)c->id,
                      "campaign_name", c->name, "release_id", (json_int_t)rel->id, "version",
                      ver, "stage", c->stage, "offered", !why, "reason", why ? why : "offered");
        if (!why && view.link_slot[0]) /* the build it gets */
            json_object_set_new(o, "link_slot", json_string(view.link_slot));
    }
    campaign_cache_put(snap);
    return o;
}

static void fleet_device(struct server *s, struct http_resp *out, const char *id)
{
    struct srv_device d;
    int ok = 1;
    enum store_rc rc =
        strlen(id) > SRV_ID_MAX ? STORE_NOT_FOUND : s->store->ops->device_get(s->store, id, &d);
    if (rc == STORE_NOT_FOUND) {
        resp_error(out, 404, "not_found", "no such device");
        return;
    }
    json_t *camps = json_array();
    if (rc == STORE_OK)
        rc = s->store->ops->ddi_actions(s->store, d.id, action_row, camps);
    json_t *offer = rc == STORE_OK ? current_offer(s, &d, &ok) : NULL;
    if (rc != STORE_OK || !ok) {
        json_decref(camps);
        json_decref(offer);
        storage_error(out);
        return;
    }
    resp_json(out, 200, json_pack("{s:o,s:o,s:o}", "device", device_json(&d), "campaigns", camps,
                                  "offer", offer ? offer : json_null()));
}

/* ---- GET /v1/fleet/campaigns/{id}/timeline ---------------------------------- */

struct timeline {
    int64_t n_points;
    int n_stages;
    /* per bucket and stage: finished, failed (non-cumulative) */
    int64_t (*v)[SRV_STAGES_MAX][2];
};

static void timeline_row(void *ctx, int n, const char *const *c)
{
    struct timeline *t = ctx;
    if (n < 4)
        return;
    int64_t b = col_i64(c[0]), stage = col_i64(c[1]), state = col_i64(c[2]), k = col_i64(c[3]);
    if (b < 0)
        b = 0;
    if (b >= t->n_points)
        b = t->n_points - 1;
    if (stage < 0 || stage >= SRV_STAGES_MAX)
        return;
    t->v[b][stage][0] += k;
    if (state == DC_FAILURE || state == DC_ROLLED_BACK)
        t->v[b][stage][1] += k;
}

static void fleet_timeline(struct server *s, struct http_req *r, struct http_resp *out,
                           const char *idstr)
{
    struct srv_campaign c;
    int64_t id, points;
    char *end;
    id = strtoll(idstr, &end, 10);
    if (*idstr < '1' || *idstr > '9' || *end || strlen(idstr) > 18) {
        resp_error(out, 404, "not_found", "no such campaign");
        return;
    }
    if (!query_int(r, out, "points", 2, FLEET_MAX_POINTS, 60, &points))
        return;
    enum store_rc rc = s->store->ops->campaign_get(s->store, id, &c);
    if (rc == STORE_NOT_FOUND) {
        resp_error(out, 404, "not_found", "no such campaign");
        return;
    }
    if (rc != STORE_OK) {
        storage_error(out);
        return;
    }
    int64_t now = srv_now(s), span = now - c.created_at + 1;
    if (span < 1) /* a campaign created "after" now: a clock set back */
        span = 1;
    int64_t bucket = (span + points - 1) / points;
    if (bucket < 1)
        bucket = 1;
    int64_t n_points = (span + bucket - 1) / bucket;
    struct timeline t = {n_points, c.n_stages, calloc((size_t)n_points, sizeof(*t.v))};
    if (!t.v) {
        resp_error(out, 500, "internal", "out of memory");
        return;
    }
    struct store_param p[3] = {p_int(id), p_int(c.created_at), p_int(bucket)};
    rc = s->store->ops->query(s->store, SQL_FLEET_TIMELINE, p, 3, timeline_row, &t);
    if (rc != STORE_OK) {
        free(t.v);
        storage_error(out);
        return;
    }
    /* Cumulative, as the rollout engine counts (over the whole campaign). */
    json_t *pts = json_array();
    int64_t cum[SRV_STAGES_MAX][2] = {{0}};
    for (int64_t b = 0; b < n_points; b++) {
        int64_t fin = 0, fail = 0;
        json_t *by = json_array();
        for (int k = 0; k < c.n_stages; k++) {
            cum[k][0] += t.v[b][k][0];
            cum[k][1] += t.v[b][k][1];
            fin += cum[k][0];
            fail += cum[k][1];
            json_array_append_new(by, json_pack("{s:I,s:I}", "finished", (json_int_t)cum[k][0],
                                                "failed", (json_int_t)cum[k][1]));
        }
        int64_t at = c.created_at + (b + 1) * bucket;
        json_array_append_new(pts, json_pack("{s:I,s:I,s:I,s:f,s:o}", "t",
                                             (json_int_t)(at < now ? at : now), "finished",
                                             (json_int_t)fin, "failed", (json_int_t)fail,
                                             "failure_ratio", fin ? (double)fail / fin : 0.0,
                                             "by_stage", by));
    }
    free(t.v);
    resp_json(out, 200, json_pack("{s:I,s:I,s:I,s:I,s:o}", "campaign_id", (json_int_t)id, "start",
                                  (json_int_t)c.created_at, "now", (json_int_t)now,
                                  "bucket_seconds", (json_int_t)bucket, "points", pts));
}

/* ---- routing ------------------------------------------------------------------ */

void api_fleet_route(struct server *s, struct http_req *r, struct http_resp *out)
{
    const char *p = r->path + strlen("/v1/fleet/");
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        resp_error(out, 405, "method_not_allowed", "%s is read-only: use GET", r->path);
        resp_add_header(out, "Allow", "GET, HEAD");
        return;
    }
    if (!auth_role(s, r, out, ROLE_VIEWER))
        return;
    if (strcmp(p, "summary") == 0) {
        fleet_summary(s, r, out);
    } else if (strcmp(p, "devices") == 0) {
        fleet_devices(s, r, out);
    } else if (strncmp(p, "devices/", 8) == 0 && p[8] && !strchr(p + 8, '/')) {
        fleet_device(s, out, p + 8);
    } else if (strncmp(p, "campaigns/", 10) == 0) {
        const char *idp = p + 10, *slash = strchr(idp, '/');
        char idstr[24];
        if (!slash || strcmp(slash, "/timeline") != 0 || slash - idp >= (long)sizeof(idstr) ||
            slash == idp) {
            resp_error(out, 404, "not_found", "no route for %s %s", r->method, r->path);
            return;
        }
        snprintf(idstr, sizeof(idstr), "%.*s", (int)(slash - idp), idp);
        fleet_timeline(s, r, out, idstr);
    } else {
        resp_error(out, 404, "not_found", "no route for %s %s", r->method, r->path);
    }
}
