// SPDX-License-Identifier: Apache-2.0
/*
 * api.c - the device side of ota-server's device API (docs/api.md):
 * check-in (what I run -> nothing to do, or a signed manifest + where to
 * download its payload) and status reports. JSON through jansson; the
 * manifest arrives base64-encoded (ota_base64_decode, src/host/base64.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent.h"
#include "ota/host.h"

static const char *api_error_text(const char *body)
{
    static char msg[300];
    json_t *o = json_loads(body ? body : "", 0, NULL);
    json_t *e = o ? json_object_get(o, "error") : NULL;
    const char *m = e ? json_string_value(json_object_get(e, "message")) : NULL;
    snprintf(msg, sizeof msg, "%s", m ? m : (body && *body ? body : "(no body)"));
    json_decref(o);
    return msg;
}

ota_err agent_api_checkin(struct agent_http *h, const struct agent_config *c,
                          const struct agent_device_info *dev, const char *last_result,
                          struct agent_offer *offer, char *err, size_t errlen)
{
    char path[AGENT_STR], ver[32], hex[2 * OTA_SHA256_LEN + 1];
    char *req, *resp = NULL;
    json_t *o, *p;
    const char *action, *man, *url;
    int status;
    ota_err e;

    char last[121];
    memset(offer, 0, sizeof *offer);
    /* the outcome of the last update, for the inventory (reports carry it
     * durably; this is a summary the server keeps per device) */
    snprintf(last, sizeof last, "%s", last_result ? last_result : "");
    ota_image_version_str(&dev->version, ver, sizeof ver);
    ota_hex_encode(dev->digest, OTA_SHA256_LEN, hex);
    /* an all-zero digest: the backend does not know it (an SMP gateway lists
     * the image's hash TLV, not the file's digest): the version stands alone */
    if (!memcmp(dev->digest, (const uint8_t[OTA_SHA256_LEN]){0}, OTA_SHA256_LEN))
        hex[0] = 0;
    o = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "hw_id", dev->hw_id, "current_version",
                  dev->running_slot >= 0 ? ver : "", "current_digest",
                  dev->running_slot >= 0 ? hex : "", "slot_state", dev->slot_state,
                  "manifest_format", (int)OTA_MANIFEST_FORMAT, "last_result", last);
    /* the slot the firmware runs from: the server offers per-slot releases'
     * build for the other one (docs/api.md); unknown: not sent */
    if (dev->running_slot == 0 || dev->running_slot == 1)
        json_object_set_new(o, "running_slot", json_string(dev->running_slot ? "B" : "A"));
    /* delta patch versions beyond 1 this device applies (docs/api.md) */
    json_t *feat = json_array();
    if (feat && dev->delta_deflate)
        json_array_append_new(feat, json_string("deflate"));
    if (feat && dev->delta_model2)
        json_array_append_new(feat, json_string("model2"));
    if (o && feat && json_array_size(feat))
        json_object_set(o, "delta_features", feat);
    json_decref(feat);
    req = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!req)
        return OTA_ERR_NO_MEMORY;
    snprintf(path, sizeof path, "/v1/devices/%s/checkin", c->device_id);
    e = agent_http_json(h, "POST", path, req, &status, &resp, err, errlen);
    free(req);
    if (e)
        return e;
    if (status != 200) {
        snprintf(err, errlen, "check-in: HTTP %d: %s", status, api_error_text(resp));
        free(resp);
        return OTA_ERR_HTTP;
    }
    o = json_loads(resp, 0, NULL);
    free(resp);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        snprintf(err, errlen, "check-in: answer is not a JSON object");
        return OTA_ERR_PROTOCOL;
    }
    if (json_is_integer(json_object_get(o, "poll_interval")))
        offer->poll_interval = (double)json_integer_value(json_object_get(o, "poll_interval"));
    action = json_string_value(json_object_get(o, "action"));
    if (action && !strcmp(action, "none")) {
        const char *no = json_string_value(json_object_get(o, "no_offer"));
        if (no && ota_base64_decode(no, offer->no_offer, sizeof offer->no_offer,
                                    &offer->no_offer_len))
            offer->no_offer_len = 0; /* unusable: as if absent (the engine decides nothing) */
        json_decref(o);
        return OTA_OK;
    }
    p = json_object_get(o, "payload");
    man = json_string_value(json_object_get(o, "manifest"));
    url = p ? json_string_value(json_object_get(p, "url")) : NULL;
    if (!action || strcmp(action, "update") || !man || !url ||
        strlen(url) >= sizeof offer->artifact_path) {
        json_decref(o);
        snprintf(err, errlen, "check-in: answer has no valid action/manifest/payload.url");
        return OTA_ERR_PROTOCOL;
    }
    if (ota_base64_decode(man, offer->manifest, sizeof offer->manifest, &offer->manifest_len)) {
        json_decref(o);
        snprintf(err, errlen, "check-in: manifest is not valid base64 of at most %u bytes",
                 (unsigned)OTA_MANIFEST_MAX_LEN);
        return OTA_ERR_PROTOCOL;
    }
    snprintf(offer->artifact_path, sizeof offer->artifact_path, "%s", url);
    offer->encrypted = json_is_true(json_object_get(p, "encrypted"));
    offer->update = 1;
    json_decref(o);
    return OTA_OK;
}

ota_err agent_api_enroll(struct agent_http *h, const struct agent_config *c,
                         const char *hw_id, char *token, size_t cap, char *err,
                         size_t errlen)
{
    char *req, *resp = NULL;
    const char *t;
    json_t *o;
    int status;
    ota_err e;

    o = json_pack("{s:s,s:s,s:s}", "enrollment_token", c->enrollment_token, "device_id",
                  c->device_id, "hw_id", hw_id);
    req = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!req)
        return OTA_ERR_NO_MEMORY;
    e = agent_http_json(h, "POST", "/v1/enroll", req, &status, &resp, err, errlen);
    free(req);
    if (e)
        return e;
    if (status != 201 && status != 200) {
        snprintf(err, errlen, "enrollment: HTTP %d: %s", status, api_error_text(resp));
        free(resp);
        return status == 401 || status == 403 || status == 409 ? OTA_ERR_CONFIG : OTA_ERR_HTTP;
    }
    o = json_loads(resp, 0, NULL);
    free(resp);
    t = o ? json_string_value(json_object_get(o, "token")) : NULL;
    if (!t || !*t || strlen(t) >= cap) {
        json_decref(o);
        snprintf(err, errlen, "enrollment: answer has no device token");
        return OTA_ERR_PROTOCOL;
    }
    snprintf(token, cap, "%s", t);
    json_decref(o);
    return OTA_OK;
}

ota_err agent_api_report(struct agent_http *h, const struct agent_config *c,
                         uint64_t campaign, const char *state, int64_t code,
                         const char *detail, char *err, size_t errlen)
{
    char path[AGENT_STR];
    char *req, *resp = NULL;
    json_t *o;
    int status;
    ota_err e;

    o = json_pack("{s:I,s:s,s:I,s:s}", "campaign_id", (json_int_t)campaign, "state", state,
                  "code", (json_int_t)code, "detail", detail ? detail : "");
    req = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!req)
        return OTA_ERR_NO_MEMORY;
    snprintf(path, sizeof path, "/v1/devices/%s/reports", c->device_id);
    e = agent_http_json(h, "POST", path, req, &status, &resp, err, errlen);
    free(req);
    if (e)
        return e;
    if (status != 201 && status != 200) {
        snprintf(err, errlen, "report %s: HTTP %d: %s", state, status, api_error_text(resp));
        free(resp);
        /* 4xx: the server will never take it (e.g. campaign gone): drop */
        return status >= 400 && status < 500 ? OTA_ERR_PROTOCOL : OTA_ERR_HTTP;
    }
    free(resp);
    return OTA_OK;
}
