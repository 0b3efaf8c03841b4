// SPDX-License-Identifier: Apache-2.0
/*
 * metrics.c - Prometheus text exposition of ota-server's counters (see
 * metrics.h) plus gauges read from the store at scrape time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "server.h"

static const char *const ROUTE_NAMES[ROUTE_COUNT] = {
    [ROUTE_UNKNOWN] = "unknown",
    [ROUTE_HEALTHZ] = "/healthz",
    [ROUTE_METRICS] = "/metrics",
    [ROUTE_RELEASES] = "/v1/releases",
    [ROUTE_RELEASE] = "/v1/releases/{id}",
    [ROUTE_RELEASE_DELTAS] = "/v1/releases/{id}/deltas",
    [ROUTE_RELEASE_IMAGES] = "/v1/releases/{id}/images",
    [ROUTE_DEVICES] = "/v1/devices",
    [ROUTE_DEVICE] = "/v1/devices/{id}",
    [ROUTE_DEVICE_TOKEN] = "/v1/devices/{id}/token",
    [ROUTE_DEVICE_REPORTS] = "/v1/devices/{id}/reports",
    [ROUTE_CHECKIN] = "/v1/devices/{id}/checkin",
    [ROUTE_ENROLL] = "/v1/enroll",
    [ROUTE_ENROLL_TOKENS] = "/v1/enrollment-tokens",
    [ROUTE_CAMPAIGNS] = "/v1/campaigns",
    [ROUTE_CAMPAIGN] = "/v1/campaigns/{id}",
    [ROUTE_CAMPAIGN_ACTION] = "/v1/campaigns/{id}/{action}",
    [ROUTE_CAMPAIGN_DEVICES] = "/v1/campaigns/{id}/devices",
    [ROUTE_ARTIFACT] = "/v1/artifacts/{digest}",
    [ROUTE_CLOCK] = "/v1/admin/clock",
    [ROUTE_SERVER_KEY] = "/v1/server-key",
    [ROUTE_DDI_POLL] = "/{tenant}/controller/v1/{id}",
    [ROUTE_DDI_ACTION] = "/{tenant}/controller/v1/{id}/{action}/{actionId}",
    [ROUTE_DDI_FEEDBACK] = "/{tenant}/controller/v1/{id}/{action}/{actionId}/feedback",
    [ROUTE_DDI_CONFIG] = "/{tenant}/controller/v1/{id}/configData",
    [ROUTE_DDI_ARTIFACT] = "/{tenant}/controller/v1/{id}/softwaremodules/{m}/artifacts/{f}",
    [ROUTE_DDI_GATEWAY_TOKEN] = "/v1/ddi/gateway-token",
    [ROUTE_DEVICE_ATTRIBUTES] = "/v1/devices/{id}/attributes",
    [ROUTE_TOKENS] = "/v1/tokens",
    [ROUTE_SESSION] = "/v1/session",
    [ROUTE_AUDIT] = "/v1/audit",
    [ROUTE_CONSOLE] = "/console",
    [ROUTE_FLEET] = "/v1/fleet",
    [ROUTE_DEVICE_HEALTH] = "/v1/devices/{id}/health",
};

/* Status codes tracked individually; anything else lands in the last slot. */
static const int STATUSES[METRICS_N_STATUS] = {200, 201, 204, 206, 304, 400, 401,
                                               403, 404, 405, 409, 411, 413, 415,
                                               416, 422, 500, 503, 507, 0};

static const char *const DC_NAMES[METRICS_N_DC] = {
    "offered", "downloading", "installing", "installed-rebooting",
    "success", "failure",     "rolled-back"};

static const char *const CAMPAIGN_STATE_NAMES[CAMPAIGN_STATE_COUNT] = {
    "active", "paused", "halted", "aborted"};

const char *route_name(int route)
{
    if (route < 0 || route >= ROUTE_COUNT)
        return "unknown";
    return ROUTE_NAMES[route];
}

void metrics_request(struct metrics *m, int route, int status)
{
    int i;
    if (route < 0 || route >= ROUTE_COUNT)
        route = ROUTE_UNKNOWN;
    for (i = 0; i < METRICS_N_STATUS - 1; i++)
        if (STATUSES[i] == status)
            break;
    atomic_fetch_add_explicit(&m->requests[route][i], 1, memory_order_relaxed);
}

struct buf {
    char *p;
    size_t len, cap;
};

static void add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = b->p ? vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap ? b->cap * 2 : 8192;
        char *np = realloc(b->p, ncap);
        if (!np)
            return;
        b->p = np;
        b->cap = ncap;
    }
}

static unsigned long long ld(atomic_uint_fast64_t *v)
{
    return (unsigned long long)atomic_load_explicit(v, memory_order_relaxed);
}

struct camp_count {
    int64_t n[CAMPAIGN_STATE_COUNT];
};

static void count_campaign(void *ctx, const struct srv_campaign *c)
{
    struct camp_count *cc = ctx;
    if (c->state >= 0 && c->state < CAMPAIGN_STATE_COUNT)
        cc->n[c->state]++;
}

char *metrics_render(struct server *s, size_t *len)
{
    struct metrics *m = &s->metrics;
    struct buf b = {0};
    struct camp_count cc = {{0}};
    add(&b, "# HELP ota_http_requests_total HTTP requests by route and status.\n"
            "# TYPE ota_http_requests_total counter\n");
    for (int r = 0; r < ROUTE_COUNT; r++)
        for (int i = 0; i < METRICS_N_STATUS; i++) {
            unsigned long long v = ld(&m->requests[r][i]);
            if (!v)
                continue;
            if (STATUSES[i])
                add(&b, "ota_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                    ROUTE_NAMES[r], STATUSES[i], v);
            else
                add(&b, "ota_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                    ROUTE_NAMES[r], v);
        }
    add(&b, "# HELP ota_checkins_total Device check-ins answered.\n"
            "# TYPE ota_checkins_total counter\nota_checkins_total %llu\n",
        ld(&m->checkins));
    add(&b, "# HELP ota_offers_total Update offers made, by payload kind.\n"
            "# TYPE ota_offers_total counter\n"
            "ota_offers_total{kind=\"full\"} %llu\nota_offers_total{kind=\"delta\"} %llu\n",
        ld(&m->offers_full), ld(&m->offers_delta));
    add(&b, "# HELP ota_artifact_bytes_served_total Artifact bytes sent to clients.\n"
            "# TYPE ota_artifact_bytes_served_total counter\n"
            "ota_artifact_bytes_served_total %llu\n",
        ld(&m->bytes_served));
    add(&b, "# HELP ota_reports_total Device status reports stored, by state.\n"
            "# TYPE ota_reports_total counter\n");
    for (int i = 1; i < METRICS_N_DC; i++)
        add(&b, "ota_reports_total{state=\"%s\"} %llu\n", DC_NAMES[i], ld(&m->reports[i]));
    add(&b, "# HELP ota_deltas_generated_total Delta patches generated.\n"
            "# TYPE ota_deltas_generated_total counter\nota_deltas_generated_total %llu\n",
        ld(&m->deltas_generated));
    s->store->ops->campaign_list(s->store, 0, count_campaign, &cc);
    add(&b, "# HELP ota_campaigns Campaigns by state.\n# TYPE ota_campaigns gauge\n");
    for (int i = 0; i < CAMPAIGN_STATE_COUNT; i++)
        add(&b, "ota_campaigns{state=\"%s\"} %lld\n", CAMPAIGN_STATE_NAMES[i],
            (long long)cc.n[i]);
    add(&b, "# HELP ota_devices Registered devices.\n# TYPE ota_devices gauge\n"
            "ota_devices %lld\n",
        (long long)s->store->ops->device_count(s->store));
    *len = b.len;
    return b.p;
}
