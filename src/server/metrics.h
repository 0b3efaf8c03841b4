// SPDX-License-Identifier: Apache-2.0
/*
 * metrics.h - counters behind GET /metrics (Prometheus text format):
 * requests by route and status, check-ins, offers, bytes served, reports.
 * Lock-free (relaxed atomics); campaign state counts are read from the store
 * at scrape time.
 */
#ifndef OTA_SERVER_METRICS_H
#define OTA_SERVER_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum route {
    ROUTE_UNKNOWN = 0,
    ROUTE_HEALTHZ,
    ROUTE_METRICS,
    ROUTE_RELEASES,
    ROUTE_RELEASE,
    ROUTE_RELEASE_DELTAS,
    ROUTE_DEVICES,
    ROUTE_DEVICE,
    ROUTE_DEVICE_TOKEN,
    ROUTE_DEVICE_REPORTS,
    ROUTE_CHECKIN,
    ROUTE_ENROLL,
    ROUTE_ENROLL_TOKENS,
    ROUTE_CAMPAIGNS,
    ROUTE_CAMPAIGN,
    ROUTE_CAMPAIGN_ACTION,
    ROUTE_CAMPAIGN_DEVICES,
    ROUTE_ARTIFACT,
    ROUTE_CLOCK,
    ROUTE_SERVER_KEY,
    ROUTE_DDI_POLL,
    ROUTE_DDI_ACTION,
    ROUTE_DDI_FEEDBACK,
    ROUTE_DDI_CONFIG,
    ROUTE_DDI_ARTIFACT,
    ROUTE_DDI_GATEWAY_TOKEN,
    ROUTE_DEVICE_ATTRIBUTES,
    ROUTE_TOKENS,
    ROUTE_SESSION,
    ROUTE_AUDIT,
    ROUTE_CONSOLE,
    ROUTE_FLEET,
    ROUTE_DEVICE_HEALTH,
    ROUTE_RELEASE_IMAGES,
    ROUTE_COUNT
};

#define METRICS_N_STATUS 20
#define METRICS_N_DC 7

struct metrics {
    atomic_uint_fast64_t requests[ROUTE_COUNT][METRICS_N_STATUS];
    atomic_uint_fast64_t checkins;
    atomic_uint_fast64_t offers_full;
    atomic_uint_fast64_t offers_delta;
    atomic_uint_fast64_t bytes_served;
    atomic_uint_fast64_t reports[METRICS_N_DC];
    atomic_uint_fast64_t deltas_generated;
};

const char *route_name(int route);
void metrics_request(struct metrics *m, int route, int status);
struct server;
/* Render the exposition text (malloc'd, caller frees). */
char *metrics_render(struct server *s, size_t *len);

#endif
