// SPDX-License-Identifier: Apache-2.0
/*
 * router.c - map method + path to a route (for metrics and logs) and hand
 * the request to the admin API, the device API, the artifact server or the
 * operations endpoints; hawkBit DDI paths (/{tenant}/controller/v1/...) and
 * raw release uploads go to ddi*.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "jsonv.h"
#include "server.h"

static int count_segments(const char *p)
{
    int n = 0;
    for (; *p; p++)
        if (*p == '/')
            n++;
    return n;
}

int route_classify(const char *path)
{
    int segs = count_segments(path);
    if (strcmp(path, "/healthz") == 0)
        return ROUTE_HEALTHZ;
    if (strcmp(path, "/metrics") == 0)
        return ROUTE_METRICS;
    if (strcmp(path, "/") == 0 ||
        (strncmp(path, "/console/", 9) == 0 && ddi_classify(path) == ROUTE_UNKNOWN))
        return ROUTE_CONSOLE;
    if (strncmp(path, "/v1/", 4) != 0)
        return ddi_classify(path);
    if (path[strlen(path) - 1] == '/' || strstr(path, "//"))
        return ROUTE_UNKNOWN;
    if (strcmp(path, "/v1/releases") == 0)
        return ROUTE_RELEASES;
    if (strncmp(path, "/v1/releases/", 13) == 0 && segs == 3)
        return ROUTE_RELEASE;
    if (strncmp(path, "/v1/releases/", 13) == 0 && segs == 4 &&
        strcmp(strrchr(path, '/'), "/deltas") == 0)
        return ROUTE_RELEASE_DELTAS;
    if (strncmp(path, "/v1/releases/", 13) == 0 && segs == 4 &&
        strcmp(strrchr(path, '/'), "/images") == 0)
        return ROUTE_RELEASE_IMAGES;
    if (strcmp(path, "/v1/devices") == 0)
        return ROUTE_DEVICES;
    if (strncmp(path, "/v1/devices/", 12) == 0) {
        const char *tail = strrchr(path, '/');
        if (segs == 3)
            return ROUTE_DEVICE;
        if (segs == 4 && strcmp(tail, "/checkin") == 0)
            return ROUTE_CHECKIN;
        if (segs == 4 && strcmp(tail, "/reports") == 0)
            return ROUTE_DEVICE_REPORTS;
        if (segs == 4 && strcmp(tail, "/token") == 0)
            return ROUTE_DEVICE_TOKEN;
        if (segs == 4 && strcmp(tail, "/attributes") == 0)
            return ROUTE_DEVICE_ATTRIBUTES;
        if (segs == 4 && strcmp(tail, "/health") == 0)
            return ROUTE_DEVICE_HEALTH;
        return ROUTE_UNKNOWN;
    }
    if (strncmp(path, "/v1/fleet/", 10) == 0)
        return ROUTE_FLEET;
    if (strcmp(path, "/v1/enroll") == 0)
        return ROUTE_ENROLL;
    if (strcmp(path, "/v1/enrollment-tokens") == 0 ||
        (strncmp(path, "/v1/enrollment-tokens/", 22) == 0 && segs == 3))
        return ROUTE_ENROLL_TOKENS;
    if (strcmp(path, "/v1/campaigns") == 0)
        return ROUTE_CAMPAIGNS;
    if (strncmp(path, "/v1/campaigns/", 14) == 0) {
        if (segs == 3)
            return ROUTE_CAMPAIGN;
        if (segs == 4 && strcmp(strrchr(path, '/'), "/devices") == 0)
            return ROUTE_CAMPAIGN_DEVICES;
        return segs == 4 ? ROUTE_CAMPAIGN_ACTION : ROUTE_UNKNOWN;
    }
    if (strncmp(path, "/v1/artifacts/", 14) == 0 && segs == 3)
        return ROUTE_ARTIFACT;
    if (strcmp(path, "/v1/admin/clock") == 0)
        return ROUTE_CLOCK;
    if (strcmp(path, "/v1/server-key") == 0)
        return ROUTE_SERVER_KEY;
    if (strcmp(path, "/v1/ddi/gateway-token") == 0)
        return ROUTE_DDI_GATEWAY_TOKEN;
    if (strcmp(path, "/v1/tokens") == 0 || (strncmp(path, "/v1/tokens/", 11) == 0 && segs == 3))
        return ROUTE_TOKENS;
    if (strcmp(path, "/v1/session") == 0)
        return ROUTE_SESSION;
    if (strcmp(path, "/v1/audit") == 0)
        return ROUTE_AUDIT;
    return ROUTE_UNKNOWN;
}

void route_request(struct server *s, struct http_req *r, struct http_resp *out)
{
    r->route = route_classify(r->path);
    switch (r->route) {
    case ROUTE_HEALTHZ: {
        /* Healthy = the database answers. */
        char v[32];
        if (s->store->ops->setting_get(s->store, "campaign_generation", v, sizeof(v)) !=
            STORE_OK) {
            resp_text(out, 503, "application/json", "{\"status\":\"database unavailable\"}");
            return;
        }
        resp_text(out, 200, "application/json", "{\"status\":\"ok\"}");
        return;
    }
    case ROUTE_METRICS: {
        size_t len = 0;
        char *text;
        if (!auth_role(s, r, out, role_needed(r->route, r->method)))
            return;
        text = metrics_render(s, &len);
        if (!text) {
            resp_error(out, 500, "internal", "out of memory");
            return;
        }
        resp_bytes(out, 200, "text/plain; version=0.0.4", text, len);
        free(text);
        return;
    }
    case ROUTE_CHECKIN:
    case ROUTE_ENROLL:
        api_device_route(s, r, out);
        return;
    case ROUTE_DEVICE_REPORTS:
        if (strcmp(r->method, "GET") == 0 || !auth_is_user(s, r)) {
            api_device_route(s, r, out);
            return;
        }
        resp_error(out, 403, "forbidden", "reports are written by the device itself");
        return;
    case ROUTE_DEVICE:
        if (strcmp(r->method, "GET") == 0 && auth_bearer(r) && !auth_is_user(s, r)) {
            /* A device may read its own record. */
            struct srv_device d;
            const char *id = r->path + strlen("/v1/devices/");
            if (strlen(id) > SRV_ID_MAX) {
                resp_error(out, 404, "not_found", "no such device");
                return;
            }
            if (auth_device(s, r, out, id, &d)) {
                if (s->store->ops->device_get(s->store, id, &d) != STORE_OK)
                    resp_error(out, 503, "storage", "database unavailable");
                else
                    resp_json(out, 200, device_json(&d));
            }
            return;
        }
        api_admin_route(s, r, out);
        return;
    case ROUTE_ARTIFACT:
        api_artifact(s, r, out, r->path + strlen("/v1/artifacts/"));
        return;
    case ROUTE_DDI_POLL:
    case ROUTE_DDI_ACTION:
    case ROUTE_DDI_FEEDBACK:
    case ROUTE_DDI_CONFIG:
    case ROUTE_DDI_ARTIFACT:
        ddi_route(s, r, out);
        return;
    case ROUTE_DDI_GATEWAY_TOKEN:
        ddi_gateway_token_route(s, r, out);
        return;
    case ROUTE_DEVICE_ATTRIBUTES:
        ddi_attributes_route(s, r, out);
        return;
    case ROUTE_DEVICE_HEALTH:
        api_health_route(s, r, out);
        return;
    case ROUTE_TOKENS:
        api_tokens_route(s, r, out);
        return;
    case ROUTE_SESSION:
        api_session_route(s, r, out);
        return;
    case ROUTE_AUDIT:
        api_audit_route(s, r, out);
        return;
    case ROUTE_RELEASES: {
        const char *fmt = req_query(r, "format");
        if (strcmp(r->method, "POST") == 0 && fmt && strcmp(fmt, "raw") == 0) {
            ddi_release_upload(s, r, out);
            return;
        }
        if (strcmp(r->method, "POST") == 0 && fmt && strcmp(fmt, "image") != 0) {
            resp_error(out, 400, "invalid_query",
                       "query \"format\" must be image (a signed ota image, the default) "
                       "or raw (an opaque artifact for DDI devices)");
            return;
        }
        api_admin_route(s, r, out);
        return;
    }
    case ROUTE_CONSOLE:
        console_route(s, r, out);
        return;
    case ROUTE_FLEET:
        api_fleet_route(s, r, out);
        return;
    case ROUTE_UNKNOWN:
        resp_error(out, 404, "not_found", "no route for %s %s", r->method, r->path);
        return;
    default:
        api_admin_route(s, r, out);
        return;
    }
}
