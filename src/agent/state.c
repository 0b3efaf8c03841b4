// SPDX-License-Identifier: Apache-2.0
/*
 * state.c - what the agent must remember across restarts and power cuts:
 * the accepted manifest, the download's resume point (bytes durably in the
 * slot and the hash of that prefix), "installed, now on trial", and final
 * reports the server has not acknowledged yet. A small JSON file written
 * atomically (temp file, fsync, rename), so a cut leaves old or new.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent.h"
#include "ota/host.h"

void agent_state_clear(struct agent_state *s)
{
    char last[sizeof s->last_result], tok[sizeof s->device_token];
    uint64_t seq = s->offer_seq; /* freshness survives: it never goes back */
    memcpy(last, s->last_result, sizeof last);
    memcpy(tok, s->device_token, sizeof tok);
    memset(s, 0, sizeof *s);
    memcpy(s->last_result, last, sizeof last);
    memcpy(s->device_token, tok, sizeof tok);
    s->offer_seq = seq;
}

void agent_json_put_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char hex[2 * OTA_MANIFEST_MAX_LEN + 1];
    ota_hex_encode(p, n, hex);
    json_object_set_new(o, key, json_string(hex));
}

int agent_json_get_hex(json_t *o, const char *key, uint8_t *out, size_t max, size_t *len)
{
    const char *s = json_string_value(json_object_get(o, key));
    int n;
    if (!s)
        return -1;
    n = ota_hex_decode(s, out, max);
    if (n < 0)
        return -1;
    if (len)
        *len = (size_t)n;
    else if ((size_t)n != max)
        return -1;
    return 0;
}

static void get_str(json_t *o, const char *key, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (s)
        snprintf(out, cap, "%s", s);
}

ota_err agent_state_save(const struct agent_state *s, const char *path)
{
    json_t *o = json_object();
    char *text;
    ota_err e;

    json_object_set_new(o, "phase", json_integer(s->phase));
    if (s->manifest_len)
        agent_json_put_hex(o, "manifest", s->manifest, s->manifest_len);
    json_object_set_new(o, "campaign_id", json_integer((json_int_t)s->campaign_id));
    agent_json_put_hex(o, "target_digest", s->target_digest, OTA_SHA256_LEN);
    json_object_set_new(o, "target_version", json_string(s->target_version));
    if (s->has_progress) {
        json_t *p = json_object();
        agent_json_put_hex(p, "payload_digest", s->progress.payload_digest, OTA_SHA256_LEN);
        agent_json_put_hex(p, "prefix_digest", s->progress.prefix_digest, OTA_SHA256_LEN);
        json_object_set_new(p, "offset", json_integer(s->progress.offset));
        json_object_set_new(p, "slot", json_integer(s->progress.slot));
        json_object_set_new(o, "progress", p);
    }
    json_object_set_new(o, "selftest_failed_reported", json_boolean(s->selftest_failed_reported));
    if (s->pending_state[0]) {
        json_t *r = json_object();
        json_object_set_new(r, "state", json_string(s->pending_state));
        json_object_set_new(r, "code", json_integer(s->pending_code));
        json_object_set_new(r, "detail", json_string(s->pending_detail));
        json_object_set_new(r, "campaign_id", json_integer((json_int_t)s->pending_campaign));
        json_object_set_new(o, "pending_report", r);
    }
    json_object_set_new(o, "last_result", json_string(s->last_result));
    if (s->device_token[0])
        json_object_set_new(o, "device_token", json_string(s->device_token));
    /* a decimal string: offer sequences exceed what JSON numbers keep exactly */
    if (s->offer_seq) {
        char seq[24];
        snprintf(seq, sizeof seq, "%llu", (unsigned long long)s->offer_seq);
        json_object_set_new(o, "offer_seq", json_string(seq));
    }
    text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(o);
    if (!text)
        return OTA_ERR_NO_MEMORY;
    /* may hold the device's token: owner-only */
    e = ota_file_write_atomic_mode(path, text, strlen(text), 0600);
    free(text);
    return e;
}

ota_err agent_state_load(struct agent_state *s, const char *path)
{
    json_error_t je;
    json_t *o, *p, *r;

    memset(s, 0, sizeof *s);
    o = json_load_file(path, 0, &je);
    if (!o) {
        /* absent: a fresh device. Unreadable: say so, start clean. */
        FILE *f = fopen(path, "r");
        if (f) {
            fclose(f);
            LOG_W("state file %s is unreadable (%s, line %d): starting from a clean state",
                  path, je.text, je.line);
        }
        return OTA_OK;
    }
    s->phase = (int)json_integer_value(json_object_get(o, "phase"));
    if (json_object_get(o, "manifest") &&
        agent_json_get_hex(o, "manifest", s->manifest, sizeof s->manifest, &s->manifest_len))
        s->manifest_len = 0;
    s->campaign_id = (uint64_t)json_integer_value(json_object_get(o, "campaign_id"));
    agent_json_get_hex(o, "target_digest", s->target_digest, OTA_SHA256_LEN, NULL);
    get_str(o, "target_version", s->target_version, sizeof s->target_version);
    p = json_object_get(o, "progress");
    if (p && !agent_json_get_hex(p, "payload_digest", s->progress.payload_digest, OTA_SHA256_LEN, NULL) &&
        !agent_json_get_hex(p, "prefix_digest", s->progress.prefix_digest, OTA_SHA256_LEN, NULL)) {
        s->progress.offset = (uint32_t)json_integer_value(json_object_get(p, "offset"));
        s->progress.slot = (uint8_t)json_integer_value(json_object_get(p, "slot"));
        s->has_progress = 1;
    }
    s->selftest_failed_reported = json_is_true(json_object_get(o, "selftest_failed_reported"));
    r = json_object_get(o, "pending_report");
    if (r) {
        get_str(r, "state", s->pending_state, sizeof s->pending_state);
        s->pending_code = json_integer_value(json_object_get(r, "code"));
        get_str(r, "detail", s->pending_detail, sizeof s->pending_detail);
        s->pending_campaign = (uint64_t)json_integer_value(json_object_get(r, "campaign_id"));
    }
    get_str(o, "last_result", s->last_result, sizeof s->last_result);
    get_str(o, "device_token", s->device_token, sizeof s->device_token);
    {
        const char *seq = json_string_value(json_object_get(o, "offer_seq"));
        if (seq)
            s->offer_seq = strtoull(seq, NULL, 10);
    }
    if (s->phase < AGENT_PHASE_IDLE || s->phase > AGENT_PHASE_INSTALLED || !s->manifest_len)
        s->phase = AGENT_PHASE_IDLE;
    json_decref(o);
    return OTA_OK;
}
