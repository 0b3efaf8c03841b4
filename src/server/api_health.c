// SPDX-License-Identifier: Apache-2.0
/*
 * api_health.c - POST /v1/devices/{id}/health: a device's health report
 * (docs/api.md, docs/health.md) - increments of crashes, resets and named
 * counters over `period_s` seconds of uptime on the release it runs -
 * validated field by field and added to the per-device, per-release sums
 * the stage health gates read (health_gate.c).
 */
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "jsonv.h"
#include "log.h"

#define HEALTH_PERIOD_MAX (30LL * 86400) /* one report covers at most 30 days */
#define HEALTH_EVENTS_MAX 1000000LL      /* crashes/resets in one report */
#define HEALTH_COUNTER_MAX 1000000000LL  /* one counter's increment in one report */

static int parse_counters(json_t *o, struct srv_health_report *h, struct http_resp *out)
{
    json_t *c = json_object_get(o, "counters"), *v;
    const char *name;
    if (!c)
        return 1;
    if (!json_is_object(c) || json_object_size(c) > SRV_HEALTH_COUNTERS_MAX) {
        resp_error(out, 400, "invalid_field",
                   "field \"counters\" must be an object of at most %d name: count pairs",
                   SRV_HEALTH_COUNTERS_MAX);
        return 0;
    }
    json_object_foreach(c, name, v) {
        if (!valid_tag(name)) {
            resp_error(out, 400, "invalid_field",
                       "counters: name \"%.40s\" must be 1..%d of A-Z a-z 0-9 . _ -", name,
                       SRV_HEALTH_NAME_MAX);
            return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > HEALTH_COUNTER_MAX) {
            resp_error(out, 400, "invalid_field",
                       "counters.%s must be an integer in [0, %lld] (the increment over "
                       "period_s, not a running total)",
                       name, HEALTH_COUNTER_MAX);
            return 0;
        }
        snprintf(h->names[h->n_counters], sizeof(h->names[0]), "%s", name);
        h->values[h->n_counters++] = (int64_t)json_integer_value(v);
    }
    return 1;
}

static void health_post(struct server *s, struct http_req *r, struct http_resp *out,
                        const char *id)
{
    static const char *const FIELDS[] = {"release", "period_s", "crashes", "resets",
                                         "counters", NULL};
    struct srv_device d;
    struct srv_health_report h;
    struct ota_image_version v;
    char release[32];
    if (!auth_device(s, r, out, id, &d))
        return;
    memset(&h, 0, sizeof(h));
    json_t *o = jv_parse_object(r, out);
    if (!o)
        return;
    int ok = jv_only(o, FIELDS, out) &&
             jv_string(o, "release", 1, sizeof(release) - 1, release, out) &&
             jv_int(o, "period_s", 1, 1, HEALTH_PERIOD_MAX, &h.period_s, out) &&
             jv_int(o, "crashes", 0, 0, HEALTH_EVENTS_MAX, &h.crashes, out) &&
             jv_int(o, "resets", 0, 0, HEALTH_EVENTS_MAX, &h.resets, out) &&
             parse_counters(o, &h, out);
    json_decref(o);
    if (!ok)
        return;
    if (!parse_version(release, &v)) {
        resp_error(out, 400, "invalid_field",
                   "field \"release\" must be the version the device runs, "
                   "MAJOR.MINOR.REVISION[+BUILD], not \"%s\"",
                   release);
        return;
    }
    health_version_text(&v, h.release, sizeof(h.release));
    snprintf(h.device_id, sizeof(h.device_id), "%s", d.id);
    h.at = srv_now(s);
    if (s->store->ops->health_add(s->store, &h) != STORE_OK) {
        resp_error(out, 503, "storage", "health report not stored; retry");
        return;
    }
    log_msg(LOG_DEBUG, "health", "device=%s release=%s period_s=%lld crashes=%lld resets=%lld "
            "counters=%d", d.id, h.release, (long long)h.period_s, (long long)h.crashes,
            (long long)h.resets, h.n_counters);
    resp_empty(out, 204);
}

void api_health_route(struct server *s, struct http_req *r, struct http_resp *out)
{
    char id[SRV_ID_MAX + 1];
    const char *p = r->path + strlen("/v1/devices/");
    const char *slash = strchr(p, '/');
    if (!slash || (size_t)(slash - p) > SRV_ID_MAX) {
        resp_error(out, 404, "not_found", "no such device");
        return;
    }
    memcpy(id, p, (size_t)(slash - p));
    id[slash - p] = '\0';
    if (strcmp(r->method, "POST") != 0) {
        resp_error(out, 405, "method_not_allowed",
                   "use POST (a device sends its health; operators read it in "
                   "GET /v1/campaigns/{id})");
        resp_add_header(out, "Allow", "POST");
        return;
    }
    health_post(s, r, out, id);
}
