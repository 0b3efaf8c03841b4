// SPDX-License-Identifier: Apache-2.0
/*
 * api_device.c - the device API: enrollment, check-in (nothing to do, or a
 * signed manifest offering an update), and status reports stored durably
 * before they are acknowledged. A device token only ever opens that
 * device's own records.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "artifact.h"
#include "campaign_cache.h"
#include "jsonv.h"
#include "log.h"
#include "ota/manifest_sign.h"
#include "release_slot.h"
#include "rollout.h"

#define MANIFEST_MEDIA_TYPE "application/vnd.ota.manifest"

static const char *const DC_API_NAMES[DC_STATE_COUNT] = {
    "offered", "downloading", "installing", "installed-rebooting",
    "success", "failure",     "rolled-back"};

static int dc_state_from_name(const char *n)
{
    for (int i = DC_DOWNLOADING; i < DC_STATE_COUNT; i++)
        if (strcmp(n, DC_API_NAMES[i]) == 0)
            return i;
    return -1;
}

const char *dc_state_name(int st)
{
    return st >= 0 && st < DC_STATE_COUNT ? DC_API_NAMES[st] : "unknown";
}

static json_t *hex_json(const uint8_t *d, size_t n)
{
    char hex[2 * 128 + 1];
    if (n > 128)
        return json_null();
    ota_hex_encode(d, n, hex);
    return json_string(hex);
}

/* ---- check-in ----------------------------------------------------------- */

/* What the device says about itself. */
struct checkin_info {
    char last_result[SRV_DETAIL_MAX + 1];
    char hw_id[SRV_HWID_MAX + 1];
    char version[24];
    char slot_state[32];
    char running_slot[2]; /* "A", "B", "" */
    uint8_t digest[OTA_SHA256_LEN];
    int has_digest;
    int64_t manifest_format;
    unsigned delta_features; /* SRV_DELTA_* */
};

/* "delta_features": what the device's delta applier supports (optional; an
 * array of strings, unknown ones ignored so newer devices keep working). */
static int checkin_delta_features(json_t *o, unsigned *features, struct http_resp *out)
{
    json_t *a = json_object_get(o, "delta_features");
    size_t i;
    json_t *v;
    *features = 0;
    if (!a)
        return 1;
    if (!json_is_array(a) || json_array_size(a) > 16) {
        resp_error(out, 400, "invalid_field",
                   "field \"delta_features\" must be an array of at most 16 strings");
        return 0;
    }
    json_array_foreach(a, i, v) {
        if (!json_is_string(v)) {
            resp_error(out, 400, "invalid_field",
                       "field \"delta_features\" item %zu must be a string", i);
            return 0;
        }
        if (strcmp(json_string_value(v), "deflate") == 0)
            *features |= SRV_DELTA_DEFLATE;
        else if (strcmp(json_string_value(v), "model2") == 0)
            *features |= SRV_DELTA_MODEL2;
    }
    return 1;
}

static void version_str(const struct ota_image_version *v, char *buf, size_t n)
{
    snprintf(buf, n, "%u.%u.%u+%u", v->major, v->minor, v->revision, (unsigned)v->build);
}

/* 1 if the device already runs the campaign's target (either slot's build
 * of a per-slot release). */
static int on_target(const struct checkin_info *ci, const struct srv_release *rel)
{
    if (ci->has_digest)
        return release_has_image(rel, ci->digest);
    struct ota_image_version v;
    return ci->version[0] && parse_version(ci->version, &v) &&
           ota_image_version_cmp(&v, &rel->version) == 0;
}

/* The offer sequence (manifest format 2, docs/manifest.md): wall-clock
 * microseconds, strictly increasing in this process. Devices keep the newest
 * one they accepted and refuse anything at or below it, so an offer made
 * before a newer one can never be replayed. Time-based rather than a stored
 * per-device counter: no database write on the check-in path, and several
 * nodes with synchronised clocks issue consistent values. */
static _Atomic uint64_t g_last_seq; /* the newest offer sequence issued */

static uint64_t next_offer_seq(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    uint64_t prev = atomic_load_explicit(&g_last_seq, memory_order_relaxed), next;
    do {
        next = now > prev ? now : prev + 1;
    } while (!atomic_compare_exchange_weak_explicit(&g_last_seq, &prev, next,
                                                    memory_order_relaxed, memory_order_relaxed));
    return next;
}

/* The signed no-offer statement every "nothing to do" answer carries
 * (docs/manifest.md), base64: one signature serves all idle check-ins until
 * this process issues another offer sequence (an offer) or NO_OFFER_MAX_AGE_MS
 * pass -- so a statement a device gets is always newer than every offer this
 * node signed before it, and newer than other nodes' offers but the last
 * NO_OFFER_MAX_AGE_MS. 0, or -1 when signing failed. */
#define NO_OFFER_MAX_AGE_MS 1000
static struct {
    pthread_mutex_t lock;
    uint64_t seq;
    int64_t at_ms;
    char b64[4 * ((OTA_NO_OFFER_MAX_LEN + 2) / 3) + 1];
} g_no_offer = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int no_offer_statement(struct server *s, char *out, size_t cap)
{
    struct timespec ts;
    int rc = 0;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    pthread_mutex_lock(&g_no_offer.lock);
    if (!g_no_offer.seq || g_no_offer.seq != atomic_load(&g_last_seq) ||
        now_ms - g_no_offer.at_ms >= NO_OFFER_MAX_AGE_MS) {
        struct ota_no_offer no;
        uint8_t buf[OTA_NO_OFFER_MAX_LEN];
        size_t len = 0;
        memset(&no, 0, sizeof(no));
        no.issued_at = (uint64_t)srv_now(s);
        no.offer_seq = next_offer_seq();
        ota_err e = ota_no_offer_sign(s->manifest_key, &no, buf, sizeof(buf), &len);
        if (e == OTA_OK) {
            EVP_EncodeBlock((unsigned char *)g_no_offer.b64, buf, (int)len);
            g_no_offer.seq = no.offer_seq;
            g_no_offer.at_ms = now_ms;
        } else {
            log_msg(LOG_ERROR, "no_offer_sign_failed", "err=%s", ota_errname(e));
            g_no_offer.seq = 0;
            rc = -1;
        }
    }
    if (rc == 0)
        snprintf(out, cap, "%s", g_no_offer.b64);
    pthread_mutex_unlock(&g_no_offer.lock);
    return rc;
}

/* A delta for this device is being generated: nothing yet, check in again
 * soon (documented in docs/api.md; agents treat it like any "none"). */
#define DELTA_RETRY_S 5
static void retry_later(struct server *s, struct http_req *r, struct http_resp *out)
{
    char ra[24], body[112];
    long long wait = s->poll_interval < DELTA_RETRY_S ? (long long)s->poll_interval
                                                      : DELTA_RETRY_S;
    const char *accept = req_header(r, "Accept");
    snprintf(ra, sizeof(ra), "%lld", wait);
    if (accept && strstr(accept, MANIFEST_MEDIA_TYPE)) {
        resp_empty(out, 204);
    } else {
        snprintf(body, sizeof(body),
                 "{\"action\":\"none\",\"poll_interval\":%lld,\"reason\":\"delta_pending\"}",
                 wait);
        resp_text(out, 200, "application/json", body);
    }
    resp_add_header(out, "Retry-After", ra);
}

/* The payload (delta_for's verdict, digest and size) was chosen by the
 * caller before any offer was recorded. */
static void send_offer(struct server *s, struct http_req *r, struct http_resp *out,
                       const struct srv_device *d, const struct checkin_info *ci,
                       const struct srv_campaign *c, const struct srv_release *rel,
                       enum delta_verdict dv, const uint8_t delta_digest[OTA_SHA256_LEN],
                       uint64_t psize)
{
    struct ota_manifest m;
    uint8_t buf[OTA_MANIFEST_MAX_LEN];
    size_t len = 0;
    int64_t now = srv_now(s);
    memset(&m, 0, sizeof(m));
    m.format = (uint8_t)ci->manifest_format;
    if (m.format != OTA_MANIFEST_FORMAT_1) {
        struct ota_image_version cur;
        m.offer_seq = next_offer_seq();
        /* a campaign whose release is not newer than what the device runs
         * is a deliberate downgrade: say so in the signed offer */
        if (ci->version[0] && parse_version(ci->version, &cur) &&
            ota_image_version_cmp(&rel->version, &cur) <= 0)
            m.flags |= OTA_MANIFEST_FLAG_DOWNGRADE;
    }
    m.campaign_id = (uint64_t)c->id;
    m.issued_at = (uint64_t)now;
    m.expires_at = (uint64_t)(now + s->offer_ttl);
    memcpy(m.target_digest, rel->digest, OTA_SHA256_LEN);
    m.target_size = (uint32_t)rel->size;
    m.target_version = rel->version;
    m.target_security_counter = rel->security_counter;
    if (dv == DELTA_READY) {
        memcpy(m.payload_digest, delta_digest, OTA_SHA256_LEN);
        m.payload_kind = OTA_PAYLOAD_DELTA;
        m.payload_size = (uint32_t)psize;
        memcpy(m.base_digest, ci->digest, OTA_SHA256_LEN);
    } else {
        m.payload_kind = OTA_PAYLOAD_FULL;
        memcpy(m.payload_digest, rel->digest, OTA_SHA256_LEN);
        m.payload_size = (uint32_t)rel->size;
    }
    m.device_id_len = (uint8_t)strlen(d->id);
    memcpy(m.device_id, d->id, m.device_id_len);
    int hwn = hw_id_to_bytes(rel->hw_id, m.hw_id);
    if (hwn <= 0) {
        resp_error(out, 500, "internal", "release %lld has an invalid hardware id",
                   (long long)rel->id);
        return;
    }
    m.hw_id_len = (uint8_t)hwn;
    ota_err e = ota_manifest_sign(s->manifest_key, &m, buf, sizeof(buf), &len);
    if (e != OTA_OK) {
        log_msg(LOG_ERROR, "manifest_sign_failed", "device=%s err=%s", d->id, ota_errname(e));
        resp_error(out, 500, "internal", "manifest signing failed: %s", ota_strerror(e));
        return;
    }
    atomic_fetch_add_explicit(m.payload_kind == OTA_PAYLOAD_DELTA ? &s->metrics.offers_delta
                                                                  : &s->metrics.offers_full,
                              1, memory_order_relaxed);
    const char *accept = req_header(r, "Accept");
    if (accept && strstr(accept, MANIFEST_MEDIA_TYPE)) {
        resp_bytes(out, 200, MANIFEST_MEDIA_TYPE, buf, len);
        return;
    }
    char b64[4 * ((OTA_MANIFEST_MAX_LEN + 2) / 3) + 1];
    EVP_EncodeBlock((unsigned char *)b64, buf, (int)len);
    char url[128], hex[65], ver[32];
    ota_hex_encode(m.payload_digest, OTA_SHA256_LEN, hex);
    snprintf(url, sizeof(url), "/v1/artifacts/%s", hex);
    version_str(&rel->version, ver, sizeof(ver));
    json_t *payload = json_pack("{s:s,s:s,s:o,s:I}", "kind",
                                m.payload_kind == OTA_PAYLOAD_DELTA ? "delta" : "full", "url",
                                url, "digest", hex_json(m.payload_digest, OTA_SHA256_LEN),
                                "size", (json_int_t)m.payload_size);
    if (m.payload_kind == OTA_PAYLOAD_DELTA)
        json_object_set_new(payload, "base_digest", hex_json(m.base_digest, OTA_SHA256_LEN));
    else if (artifact_encrypted(s, rel->digest))
        json_object_set_new(payload, "encrypted", json_true());
    resp_json(out, 200,
              json_pack("{s:s,s:I,s:s,s:o,s:{s:s,s:o,s:I,s:I,s:s},s:I,s:I}", "action",
                        "update", "campaign_id", (json_int_t)c->id, "manifest", b64,
                        "payload", payload, "target", "version", ver, "digest",
                        hex_json(rel->digest, OTA_SHA256_LEN), "size", (json_int_t)rel->size,
                        "security_counter", (json_int_t)rel->security_counter, "hw_id",
                        rel->hw_id, "expires_at", (json_int_t)m.expires_at, "poll_interval",
                        (json_int_t)s->poll_interval));
}

/* Nothing to do. A device that understands manifest format 2 also gets the
 * signed no-offer statement: it raises its offer-sequence floor to it, so
 * no offer signed before this answer -- one of a campaign aborted since,
 * captured on its way and never accepted -- can be replayed to it later
 * (docs/manifest.md). */
static void nothing(struct server *s, struct http_req *r, struct http_resp *out,
                    const struct checkin_info *ci)
{
    const char *accept = req_header(r, "Accept");
    if (accept && strstr(accept, MANIFEST_MEDIA_TYPE)) {
        resp_empty(out, 204);
        return;
    }
    char b64[sizeof(g_no_offer.b64)] = "", body[sizeof(b64) + 96];
    if (ci->manifest_format != OTA_MANIFEST_FORMAT_1 && no_offer_statement(s, b64, sizeof(b64))) {
        resp_error(out, 500, "internal", "no-offer statement signing failed");
        return;
    }
    snprintf(body, sizeof(body), "{\"action\":\"none\",\"poll_interval\":%lld%s%s%s}",
             (long long)s->poll_interval, b64[0] ? ",\"no_offer\":\"" : "", b64,
             b64[0] ? "\"" : "");
    resp_text(out, 200, "application/json", body);
}

/* What the campaigns decide for one device: campaign index (-1: nothing
 * to do), its progress row (dc_rc: STORE_OK or STORE_NOT_FOUND), the image
 * picked for the device's slot, or why no image fits (per-slot releases). */
struct pick {
    int i;
    enum store_rc dc_rc;
    struct srv_dc dc;
    struct srv_release view;
    char why[SRV_DETAIL_MAX + 1];
};

/* The newest active campaign whose filter matches decides. 0 on storage
 * failure. No writes. */
static int pick_campaign(struct server *s, const struct campaign_snapshot *snap,
                         const struct srv_device *d, const struct checkin_info *ci, struct pick *p)
{
    struct store *st = s->store;
    p->i = -1;
    p->why[0] = '\0';
    for (int i = 0; i < snap->n; i++) {
        const struct srv_campaign *c = &snap->v[i].c;
        const struct srv_release *rel = &snap->v[i].rel;
        if (rel->raw) /* an opaque artifact: for hawkBit DDI devices only (ddi.c) */
            continue;
        if (!rollout_matches(c, d, ci->version))
            continue;
        if (on_target(ci, rel))
            return 1;
        p->dc_rc = st->ops->dc_get(st, c->id, d->id, &p->dc);
        if (p->dc_rc == STORE_OK && DC_IS_FINAL(p->dc.state))
            return 1; /* finished with this campaign (success, failure, rollback) */
        if (p->dc_rc != STORE_OK && p->dc_rc != STORE_NOT_FOUND)
            return 0;
        if (p->dc_rc == STORE_NOT_FOUND && !rollout_in_stage(c, rollout_bucket(c->id, d->id)))
            return 1;
        /* per-slot release: the build for the slot the update goes into */
        if (release_for_device(rel, ci->running_slot, &p->view, p->why, sizeof(p->why)))
            p->i = i;
        return 1;
    }
    return 1;
}

static void checkin(struct server *s, struct http_req *r, struct http_resp *out,
                    const struct srv_device *d)
{
    static const char *const FIELDS[] = {"hw_id",           "current_version",
                                         "current_digest",  "slot_state",
                                         "manifest_format", "last_result",
                                         "running_slot",    "delta_features",
                                         NULL};
    struct checkin_info ci;
    char digest_hex[80] = "";
    struct store *st = s->store;
    memset(&ci, 0, sizeof(ci));
    ci.manifest_format = OTA_MANIFEST_FORMAT_1; /* devices that do not say */
    json_t *o = jv_parse_object(r, out);
    if (!o)
        return;
    int ok = jv_only(o, FIELDS, out) &&
             jv_string(o, "hw_id", 0, SRV_HWID_MAX, ci.hw_id, out) &&
             jv_string(o, "current_version", 0, sizeof(ci.version) - 1, ci.version, out) &&
             jv_string(o, "current_digest", 0, sizeof(digest_hex) - 1, digest_hex, out) &&
             jv_string(o, "slot_state", 0, sizeof(ci.slot_state) - 1, ci.slot_state, out) &&
             jv_int(o, "manifest_format", 0, 1, 255, &ci.manifest_format, out) &&
             jv_string(o, "last_result", 0, SRV_DETAIL_MAX, ci.last_result, out) &&
             jv_string(o, "running_slot", 0, sizeof(ci.running_slot) - 1, ci.running_slot,
                       out) &&
             checkin_delta_features(o, &ci.delta_features, out);
    json_decref(o);
    if (!ok)
        return;
    if (ci.running_slot[0] && slot_index(ci.running_slot) < 0) {
        resp_error(out, 400, "invalid_field", "field \"running_slot\" must be \"A\" or \"B\"");
        return;
    }
    struct ota_image_version v;
    if (ci.version[0] && !parse_version(ci.version, &v)) {
        resp_error(out, 400, "invalid_field",
                   "field \"current_version\" must be MAJOR.MINOR.REVISION[+BUILD]");
        return;
    }
    if (digest_hex[0]) {
        if (!parse_digest_hex(digest_hex, ci.digest)) {
            resp_error(out, 400, "invalid_field",
                       "field \"current_digest\" must be 64 lowercase hex digits (SHA-256)");
            return;
        }
        ci.has_digest = 1;
    }
    if (ci.hw_id[0] && strcmp(ci.hw_id, d->hw_id) != 0) {
        resp_error(out, 409, "hw_id_mismatch",
                   "device reports hardware id \"%s\" but is registered as \"%s\"", ci.hw_id,
                   d->hw_id);
        return;
    }
    if (ci.manifest_format != OTA_MANIFEST_FORMAT &&
        ci.manifest_format != OTA_MANIFEST_FORMAT_1) {
        resp_error(out, 400, "unsupported_manifest_format",
                   "this server issues manifest formats %u and %u only", OTA_MANIFEST_FORMAT_1,
                   OTA_MANIFEST_FORMAT);
        return;
    }
    struct srv_seen seen;
    memset(&seen, 0, sizeof(seen));
    snprintf(seen.device_id, sizeof(seen.device_id), "%s", d->id);
    seen.at = srv_now(s);
    snprintf(seen.current_version, sizeof(seen.current_version), "%s", ci.version);
    memcpy(seen.current_digest, ci.digest, OTA_SHA256_LEN);
    seen.has_digest = (uint8_t)ci.has_digest;
    snprintf(seen.slot_state, sizeof(seen.slot_state), "%s", ci.slot_state);
    snprintf(seen.running_slot, sizeof(seen.running_slot), "%s", ci.running_slot);

    struct campaign_snapshot *snap = campaign_cache_get(s);
    struct pick pk;
    int picked = snap && pick_campaign(s, snap, d, &ci, &pk);
    /* A per-slot release with no image for this device's slot: the
     * inventory says why instead of the device's own last result. */
    const char *result = picked && pk.why[0] ? pk.why : ci.last_result;
    /* Keep at most SRV_SEEN_RESULT_MAX bytes, cut on a UTF-8 boundary. */
    size_t rl = strlen(result);
    if (rl > SRV_SEEN_RESULT_MAX) {
        rl = SRV_SEEN_RESULT_MAX;
        while (rl > 0 && ((unsigned char)result[rl] & 0xC0) == 0x80)
            rl--;
    }
    memcpy(seen.last_result, result, rl);
    seen.last_result[rl] = '\0';
    /* Last seen is refreshed by every check-in (a narrow row, batched); the
     * device row itself only when the reported state changed. */
    seen.state_changed =
        strcmp(seen.current_version, d->current_version) != 0 ||
        seen.has_digest != d->has_digest ||
        memcmp(seen.current_digest, d->current_digest, OTA_SHA256_LEN) != 0 ||
        strcmp(seen.slot_state, d->slot_state) != 0 ||
        strcmp(seen.running_slot, d->running_slot) != 0 ||
        (seen.last_result[0] && strcmp(seen.last_result, d->last_result) != 0);
    seen_push(s, &seen);
    atomic_fetch_add_explicit(&s->metrics.checkins, 1, memory_order_relaxed);

    if (!picked) {
        if (snap)
            campaign_cache_put(snap);
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    if (pk.i < 0) {
        campaign_cache_put(snap);
        nothing(s, r, out, &ci);
        return;
    }
    const struct srv_campaign *c = &snap->v[pk.i].c;
    const struct srv_release *rel = &pk.view;
    /* The payload first: while its delta is being generated the device is
     * told to come back, and no offer is recorded (a campaign halted
     * meanwhile must not count it as in progress). The delta pairs the
     * image the device runs with the image picked for its slot. */
    uint8_t pdig[OTA_SHA256_LEN];
    uint64_t psize = 0;
    enum delta_verdict dv =
        ci.has_digest ? delta_for(s, rel, ci.digest, d->id, ci.delta_features, pdig, &psize)
                      : DELTA_FULL;
    if (dv == DELTA_PENDING) {
        campaign_cache_put(snap);
        retry_later(s, r, out);
        return;
    }
    if (pk.dc_rc == STORE_NOT_FOUND) {
        struct srv_dc dc;
        memset(&dc, 0, sizeof(dc));
        dc.campaign_id = c->id;
        snprintf(dc.device_id, sizeof(dc.device_id), "%s", d->id);
        dc.stage = c->stage;
        dc.updated_at = srv_now(s);
        if (st->ops->dc_offer(st, &dc) != STORE_OK) {
            campaign_cache_put(snap);
            resp_error(out, 503, "storage", "database unavailable");
            return;
        }
    }
    send_offer(s, r, out, d, &ci, c, rel, dv, pdig, psize);
    campaign_cache_put(snap);
}

/* ---- reports ------------------------------------------------------------ */

/* Final states are final: a report for a campaign this device has already
 * finished (success, failure, rolled back) changes nothing - not the
 * campaign's record, not the report log, not the inventory - and is answered
 * 200 so the device stops re-sending it. */
static void already_final(struct http_resp *out, const char *device_id,
                          const struct srv_report *rep, int final)
{
    log_msg(LOG_INFO, "report_ignored", "device=%s campaign=%lld state=%s final_state=%s",
            device_id, (long long)rep->campaign_id, dc_state_name(rep->state),
            dc_state_name(final));
    resp_json(out, 200,
              json_pack("{s:n,s:b,s:s,s:s}", "report_id", "stored", 0, "reason",
                        "already_final", "final_state", dc_state_name(final)));
}

static void report(struct server *s, struct http_req *r, struct http_resp *out,
                   const struct srv_device *d)
{
    static const char *const FIELDS[] = {"campaign_id", "state", "code", "detail", NULL};
    struct srv_report rep;
    char state[32] = "", last[SRV_DETAIL_MAX + 64];
    memset(&rep, 0, sizeof(rep));
    json_t *o = jv_parse_object(r, out);
    if (!o)
        return;
    int ok = jv_only(o, FIELDS, out) &&
             jv_int(o, "campaign_id", 0, 0, INT64_MAX, &rep.campaign_id, out) &&
             jv_string(o, "state", 1, sizeof(state) - 1, state, out) &&
             jv_int(o, "code", 0, INT32_MIN, INT32_MAX, &rep.code, out) &&
             jv_string(o, "detail", 0, SRV_DETAIL_MAX, rep.detail, out);
    json_decref(o);
    if (!ok)
        return;
    rep.state = dc_state_from_name(state);
    if (rep.state < 0) {
        resp_error(out, 400, "invalid_field",
                   "field \"state\" must be one of downloading, installing, "
                   "installed-rebooting, success, failure, rolled-back");
        return;
    }
    if (rep.campaign_id) {
        struct srv_dc dc;
        enum store_rc rc = s->store->ops->dc_get(s->store, rep.campaign_id, d->id, &dc);
        if (rc == STORE_NOT_FOUND) {
            resp_error(out, 409, "not_offered",
                       "campaign %lld made no offer to device %s", (long long)rep.campaign_id,
                       d->id);
            return;
        }
        if (rc != STORE_OK) {
            resp_error(out, 503, "storage", "database unavailable");
            return;
        }
        if (DC_IS_FINAL(dc.state)) {
            already_final(out, d->id, &rep, dc.state);
            return;
        }
    }
    snprintf(rep.device_id, sizeof(rep.device_id), "%s", d->id);
    rep.created_at = srv_now(s);
    if (rep.code || rep.detail[0])
        snprintf(last, sizeof(last), "%s code=%lld %s", state, (long long)rep.code, rep.detail);
    else
        snprintf(last, sizeof(last), "%s", state);
    enum store_rc irc = s->store->ops->report_insert(s->store, &rep, last);
    if (irc == STORE_REFUSED) { /* a final report won the race */
        struct srv_dc dc;
        if (s->store->ops->dc_get(s->store, rep.campaign_id, d->id, &dc) == STORE_OK &&
            DC_IS_FINAL(dc.state)) {
            already_final(out, d->id, &rep, dc.state);
            return;
        }
        irc = STORE_ERR;
    }
    if (irc != STORE_OK) {
        resp_error(out, 503, "storage", "report not stored; retry");
        return;
    }
    if (rep.state < METRICS_N_DC)
        atomic_fetch_add_explicit(&s->metrics.reports[rep.state], 1, memory_order_relaxed);
    log_msg(LOG_INFO, "report", "device=%s campaign=%lld state=%s code=%lld id=%lld", d->id,
            (long long)rep.campaign_id, state, (long long)rep.code, (long long)rep.id);
    if (rep.campaign_id && DC_IS_FINAL(rep.state))
        rollout_evaluate(s, rep.campaign_id);
    resp_json(out, 201, json_pack("{s:I,s:b}", "report_id", (json_int_t)rep.id, "stored", 1));
}

struct report_list {
    json_t *arr;
    int64_t last;
};

static void add_report(void *ctx, const struct srv_report *rep)
{
    struct report_list *l = ctx;
    json_array_append_new(
        l->arr, json_pack("{s:I,s:I,s:s,s:I,s:s,s:I}", "id", (json_int_t)rep->id,
                          "campaign_id", (json_int_t)rep->campaign_id, "state",
                          dc_state_name(rep->state), "code", (json_int_t)rep->code, "detail",
                          rep->detail, "created_at", (json_int_t)rep->created_at));
    l->last = rep->id;
}

void list_reports(struct server *s, struct http_req *r, struct http_resp *out,
                  const char *device_id)
{
    const char *after = req_query(r, "after"), *lim = req_query(r, "limit");
    long long a = after ? atoll(after) : 0, n = lim ? atoll(lim) : 1000;
    if (n <= 0 || n > 10000)
        n = 1000;
    struct report_list l = {json_array(), 0};
    if (s->store->ops->report_list(s->store, device_id, a, (int)n, add_report, &l) !=
        STORE_OK) {
        json_decref(l.arr);
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    size_t cnt = json_array_size(l.arr);
    json_t *body = json_pack("{s:o}", "reports", l.arr);
    if ((long long)cnt == n)
        json_object_set_new(body, "next_after", json_integer(l.last));
    resp_json(out, 200, body);
}

/* ---- enrollment --------------------------------------------------------- */

static void enroll(struct server *s, struct http_req *r, struct http_resp *out)
{
    static const char *const FIELDS[] = {"enrollment_token", "device_id", "hw_id", NULL};
    char tok[TOKEN_STR_MAX] = "", dev_token[TOKEN_STR_MAX];
    struct srv_device d;
    struct srv_enroll_token et;
    uint8_t h[OTA_SHA256_LEN];
    memset(&d, 0, sizeof(d));
    json_t *o = jv_parse_object(r, out);
    if (!o)
        return;
    int ok = jv_only(o, FIELDS, out) &&
             jv_string(o, "enrollment_token", 1, sizeof(tok) - 1, tok, out) &&
             jv_string(o, "device_id", 1, SRV_ID_MAX, d.id, out) &&
             jv_string(o, "hw_id", 1, SRV_HWID_MAX, d.hw_id, out);
    json_decref(o);
    if (!ok)
        return;
    if (!jv_device_ids("device_id", d.id, d.hw_id, out))
        return;
    token_hash(tok, h);
    if (!token_new("otad", dev_token, d.token_hash)) {
        resp_error(out, 500, "internal", "no randomness");
        return;
    }
    d.created_at = srv_now(s);
    enum store_rc rc = s->store->ops->enroll_use(s->store, h, srv_now(s), &d, &et);
    if (rc == STORE_REFUSED) {
        resp_error(out, 403, "forbidden", "this enrollment token is for hardware \"%s\"",
                   et.hw_id);
        return;
    }
    if (rc == STORE_NOT_FOUND) {
        resp_error(out, 401, "unauthorized",
                   "enrollment token unknown, expired or used up");
        return;
    }
    if (rc == STORE_CONFLICT) {
        resp_error(out, 409, "conflict", "device id \"%s\" is already registered", d.id);
        return;
    }
    if (rc != STORE_OK) {
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    snprintf(r->who, sizeof(r->who), "device:%s", d.id);
    log_msg(LOG_INFO, "device_enrolled", "device=%s hw_id=%s token_id=%lld", d.id, d.hw_id,
            (long long)et.id);
    resp_json(out, 201, json_pack("{s:s,s:s,s:s,s:o}", "device_id", d.id, "token", dev_token,
                                  "hw_id", d.hw_id, "tags", tags_json(d.tags)));
}

/* ---- dispatch ----------------------------------------------------------- */

void api_device_route(struct server *s, struct http_req *r, struct http_resp *out)
{
    struct srv_device d;
    char id[SRV_ID_MAX + 1];
    const char *p = r->path;
    if (r->route == ROUTE_ENROLL) {
        enroll(s, r, out);
        return;
    }
    /* /v1/devices/{id}/checkin or /v1/devices/{id}/reports */
    const char *rest = p + strlen("/v1/devices/");
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : 0;
    if (n == 0 || n > SRV_ID_MAX) {
        resp_error(out, 404, "not_found", "no such route");
        return;
    }
    memcpy(id, rest, n);
    id[n] = '\0';
    if (r->route == ROUTE_DEVICE_REPORTS && strcmp(r->method, "GET") == 0) {
        if (auth_is_user(s, r)) {
            if (s->store->ops->device_get(s->store, id, &d) != STORE_OK) {
                resp_error(out, 404, "not_found", "no device \"%s\"", id);
                return;
            }
        } else if (!auth_device(s, r, out, id, &d)) {
            return;
        }
        list_reports(s, r, out, id);
        return;
    }
    if (strcmp(r->method, "POST") != 0) {
        resp_error(out, 405, "method_not_allowed", "use POST");
        resp_add_header(out, "Allow", r->route == ROUTE_DEVICE_REPORTS ? "GET, POST" : "POST");
        return;
    }
    if (!auth_device(s, r, out, id, &d))
        return;
    if (r->route == ROUTE_CHECKIN)
        checkin(s, r, out, &d);
    else
        report(s, r, out, &d);
}
