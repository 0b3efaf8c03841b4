// SPDX-License-Identifier: Apache-2.0
/*
 * api_admin.c - the admin API (bearer admin token, JSON): releases (signed
 * images verified against the trusted firmware keys), devices and their
 * inventory, enrollment tokens, campaigns with staged rollout plans and
 * their status, and the test clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "artifact.h"
#include "campaign_cache.h"
#include "health.h"
#include "jsonv.h"
#include "log.h"
#include "ota/image_slot.h"
#include "release_slot.h"
#include "rollout.h"
#include "trusted.h"

static const char *const CAMPAIGN_STATES[CAMPAIGN_STATE_COUNT] = {"active", "paused",
                                                                  "halted", "aborted"};

static json_t *hex_json(const uint8_t *d, size_t n)
{
    char hex[2 * 128 + 1];
    if (n > 128)
        return json_null();
    ota_hex_encode(d, n, hex);
    return json_string(hex);
}

static void version_str(const struct ota_image_version *v, char *buf, size_t n)
{
    snprintf(buf, n, "%u.%u.%u+%u", v->major, v->minor, v->revision, (unsigned)v->build);
}

static int parse_id(const char *s, int64_t *out)
{
    char *end;
    if (!s || *s < '1' || *s > '9' || strlen(s) > 18)
        return 0;
    long long v = strtoll(s, &end, 10);
    if (*end)
        return 0;
    *out = v;
    return 1;
}

static void storage_error(struct http_resp *out)
{
    resp_error(out, 503, "storage", "database unavailable");
}

/* ---- releases ----------------------------------------------------------- */

/* One image of a release: its link slot (null: any slot), digest, size, URL. */
static json_t *image_json(const char *link_slot, const uint8_t digest[OTA_SHA256_LEN],
                          uint64_t size)
{
    char url[128], hex[65];
    ota_hex_encode(digest, OTA_SHA256_LEN, hex);
    snprintf(url, sizeof(url), "/v1/artifacts/%s", hex);
    return json_pack("{s:o,s:s,s:I,s:s}", "link_slot",
                     link_slot[0] ? json_string(link_slot) : json_null(), "digest", hex, "size",
                     (json_int_t)size, "url", url);
}

json_t *release_json(const struct srv_release *r)
{
    char ver[32], url[128], hex[65];
    version_str(&r->version, ver, sizeof(ver));
    ota_hex_encode(r->digest, OTA_SHA256_LEN, hex);
    snprintf(url, sizeof(url), "/v1/artifacts/%s", hex);
    json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:s,s:s,s:I,s:s,s:I}", "id", (json_int_t)r->id,
                          "name", r->name, "version", ver, "security_counter",
                          (json_int_t)r->security_counter, "hw_id", r->hw_id, "digest", hex,
                          "size", (json_int_t)r->size, "url", url, "created_at",
                          (json_int_t)r->created_at);
    /* raw: an opaque artifact for hawkBit DDI devices only (docs/ddi.md) */
    json_object_set_new(o, "format", json_string(r->raw ? "raw" : "image"));
    if (r->filename[0])
        json_object_set_new(o, "filename", json_string(r->filename));
    /* per-slot builds: the slot of the image above, and every image */
    json_object_set_new(o, "link_slot", r->link_slot[0] ? json_string(r->link_slot) : json_null());
    json_t *imgs = json_array();
    json_array_append_new(imgs, image_json(r->link_slot, r->digest, r->size));
    if (r->has_other)
        json_array_append_new(imgs, image_json(other_slot_name(r->link_slot), r->other_digest,
                                               r->other_size));
    json_object_set_new(o, "images", imgs);
    return o;
}

/* Verify an uploaded image against the trusted keys (streamed from its
 * temporary file): 1 with *info and *link_slot (OTA_LINK_SLOT_ANY, 0, 1),
 * else the answer is written. */
static int verify_upload(struct server *s, struct http_req *r, struct http_resp *out,
                         struct ota_image_info *info, int *link_slot)
{
    struct ota_reader rd;
    struct ota_mem_reader mr;
    struct ota_fd_reader fr;
    struct ota_diag diag;
    struct ota_verify_params vp;
    uint8_t scratch[4096];
    const char *ct = req_header(r, "Content-Type");
    if (ct && !media_type_is(ct, "application/octet-stream")) {
        resp_error(out, 415, "unsupported_media_type",
                   "upload the signed image as application/octet-stream");
        return 0;
    }
    if (r->body_len == 0) {
        resp_error(out, 400, "empty_body", "the body must be a signed ota image");
        return 0;
    }
    if (r->body_len > UINT32_MAX) {
        resp_error(out, 413, "body_too_large", "image larger than 4 GiB");
        return 0;
    }
    /* The set of this moment: a SIGHUP reload swaps in a new one. */
    struct trusted_set *trusted = trusted_acquire(s);
    if (trusted->n == 0) {
        trusted_release(trusted);
        resp_error(out, 422, "no_trusted_keys",
                   "the server has no trusted firmware keys: start it with --trusted-key "
                   "PUB.pem (or put keys in DATA/trusted-keys/)");
        return 0;
    }
    memset(&vp, 0, sizeof(vp));
    vp.crypto = ota_crypto_openssl();
    vp.keys = trusted->keys;
    vp.n_keys = trusted->n;
    vp.buf = scratch;
    vp.buf_len = sizeof(scratch);
    /* an encrypted release: the server never holds its key, so its plaintext
     * hash is the devices' to check; the signature over it is checked here */
    vp.enc_hash_unchecked = 1;
    memset(&diag, 0, sizeof(diag));
    /* Uploads arrive in a temporary file (http.c), never whole in RAM. */
    if (r->body_fd >= 0)
        ota_reader_from_fd(&rd, &fr, r->body_fd, (uint32_t)r->body_len);
    else
        ota_reader_from_mem(&rd, &mr, r->body, (uint32_t)r->body_len);
    ota_err e = ota_image_verify(&rd, &vp, info, &diag);
    trusted_release(trusted);
    if (e == OTA_OK && info->total_size != r->body_len) {
        e = OTA_ERR_IMAGE_TRAILING_DATA;
        diag.field = "image end";
        diag.offset = info->total_size;
        diag.has_values = 1;
        diag.expected = info->total_size;
        diag.found = (uint32_t)r->body_len;
    }
    /* the link slot TLV (signed: read only now) */
    if (e == OTA_OK)
        e = ota_image_link_slot(&rd, info, link_slot, &diag);
    if (e != OTA_OK) {
        char where[OTA_DIAG_STR_MAX + 4] = "", dd[OTA_DIAG_STR_MAX];
        if (ota_diag_str(&diag, dd, sizeof(dd))[0])
            snprintf(where, sizeof(where), " (%s)", dd);
        log_msg(LOG_WARN, "release_refused", "err=%s%s", ota_errname(e), where);
        json_t *body = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", "image_refused",
                                 "message", "", "ota_error", ota_errname(e));
        char msg[320];
        snprintf(msg, sizeof(msg), "image refused: %s%s", ota_strerror(e), where);
        json_object_set_new(json_object_get(body, "error"), "message", json_string(msg));
        resp_json(out, 422, body);
        return 0;
    }
    if (info->hw_id_len == 0) {
        resp_error(out, 422, "image_refused",
                   "image has no hardware id TLV; sign it with a hardware id so devices "
                   "of other hardware can never be offered it");
        return 0;
    }
    return 1;
}

static void release_upload(struct server *s, struct http_req *r, struct http_resp *out)
{
    struct srv_release rel;
    struct ota_image_info info;
    int slot;
    const char *name = req_query(r, "name");
    memset(&rel, 0, sizeof(rel));
    if (name && (strlen(name) == 0 || strlen(name) > SRV_ID_MAX || !valid_device_id(name))) {
        resp_error(out, 400, "invalid_field",
                   "query \"name\" must be 1..64 characters of A-Z a-z 0-9 - _ . :");
        return;
    }
    if (!verify_upload(s, r, out, &info, &slot))
        return;
    hw_id_to_text(info.hw_id, info.hw_id_len, rel.hw_id);
    rel.version = info.hdr.version;
    rel.security_counter = info.has_security_counter ? info.security_counter : 0;
    rel.size = r->body_len;
    rel.created_at = srv_now(s);
    if (slot != OTA_LINK_SLOT_ANY)
        snprintf(rel.link_slot, sizeof(rel.link_slot), "%s", ota_link_slot_name(slot));
    if (artifact_hash_body(r, rel.digest) != OTA_OK) {
        resp_error(out, 500, "internal", "cannot hash the uploaded image");
        return;
    }
    if (name)
        snprintf(rel.name, sizeof(rel.name), "%s", name);
    else
        version_str(&rel.version, rel.name, sizeof(rel.name));
    if (release_commit(s, r, out, &rel))
        resp_json(out, 201, release_json(&rel));
}

/* 409 with the release that already holds this file. */
static int already_a_release(struct server *s, struct http_resp *out,
                             const uint8_t digest[OTA_SHA256_LEN])
{
    struct srv_release old;
    if (s->store->ops->release_by_digest(s->store, digest, &old) != STORE_OK)
        return 0;
    resp_json(out, 409,
              json_pack("{s:{s:s,s:s},s:o}", "error", "code", "conflict", "message",
                        "this file is already a release", "release", release_json(&old)));
    return 1;
}

/* POST /v1/releases/{id}/images: the same release built for the other slot
 * (per-slot builds, docs/api.md). Its version, security counter and
 * hardware id must be the release's, and it must be linked for the slot
 * the release has no image for yet. */
void release_image_upload(struct server *s, struct http_req *r, struct http_resp *out,
                          const char *idstr)
{
    struct srv_release rel;
    struct ota_image_info info;
    uint8_t digest[OTA_SHA256_LEN];
    char hw[SRV_HWID_MAX + 1], want[32], got[32];
    int64_t id;
    int slot;
    if (strcmp(r->method, "POST") != 0) {
        resp_error(out, 405, "method_not_allowed", "use POST");
        resp_add_header(out, "Allow", "POST");
        return;
    }
    if (!parse_id(idstr, &id)) {
        resp_error(out, 404, "not_found", "release ids are positive integers");
        return;
    }
    enum store_rc rc = s->store->ops->release_get(s->store, id, &rel);
    if (rc != STORE_OK) {
        if (rc == STORE_NOT_FOUND)
            resp_error(out, 404, "not_found", "no release %lld", (long long)id);
        else
            storage_error(out);
        return;
    }
    if (rel.raw || !rel.link_slot[0]) {
        resp_error(out, 409, "not_per_slot",
                   "release %lld %s: it takes no per-slot image (a per-slot release starts "
                   "with an image signed with 'ota sign --link-slot A' or B)",
                   (long long)id,
                   rel.raw ? "is a raw artifact" : "runs from any slot (no link slot TLV)");
        return;
    }
    if (rel.has_other) {
        resp_error(out, 409, "conflict", "release %lld already has images for slots A and B",
                   (long long)id);
        return;
    }
    if (!verify_upload(s, r, out, &info, &slot))
        return;
    const char *other = other_slot_name(rel.link_slot);
    hw_id_to_text(info.hw_id, info.hw_id_len, hw);
    version_str(&info.hdr.version, got, sizeof(got));
    version_str(&rel.version, want, sizeof(want));
    if (slot == OTA_LINK_SLOT_ANY || strcmp(ota_link_slot_name(slot), other) != 0) {
        resp_error(out, 422, "image_mismatch",
                   "link slot: release %lld has the image linked for slot %s and needs the one "
                   "linked for slot %s; this image is linked for %s",
                   (long long)id, rel.link_slot, other,
                   slot == OTA_LINK_SLOT_ANY ? "any slot (no link slot TLV)"
                                             : ota_link_slot_name(slot));
        return;
    }
    if (ota_image_version_cmp(&info.hdr.version, &rel.version) != 0) {
        resp_error(out, 422, "image_mismatch",
                   "version: release %lld is %s, this image is %s (both slots' builds of a "
                   "release have the same version)",
                   (long long)id, want, got);
        return;
    }
    uint32_t sc = info.has_security_counter ? info.security_counter : 0;
    if (sc != rel.security_counter) {
        resp_error(out, 422, "image_mismatch",
                   "security counter: release %lld has %u, this image %u (both slots' "
                   "builds of a release have the same security counter)",
                   (long long)id, (unsigned)rel.security_counter, (unsigned)sc);
        return;
    }
    if (strcmp(hw, rel.hw_id) != 0) {
        resp_error(out, 422, "image_mismatch",
                   "hardware id: release %lld is for \"%s\", this image for \"%s\"",
                   (long long)id, rel.hw_id, hw);
        return;
    }
    if (artifact_hash_body(r, digest) != OTA_OK) {
        resp_error(out, 500, "internal", "cannot hash the uploaded image");
        return;
    }
    if (already_a_release(s, out, digest))
        return;
    if (artifact_store_body(s, r, digest) != OTA_OK) {
        resp_error(out, 507, "storage", "cannot write the artifact file");
        return;
    }
    rc = s->store->ops->release_set_other(s->store, id, digest, r->body_len);
    if (rc == STORE_CONFLICT) {
        if (!already_a_release(s, out, digest))
            resp_error(out, 409, "conflict",
                       "release %lld got its slot %s image meanwhile", (long long)id, other);
        return;
    }
    if (rc != STORE_OK) {
        storage_error(out);
        return;
    }
    log_msg(LOG_INFO, "release_image_added", "id=%lld link_slot=%s size=%llu", (long long)id,
            other, (unsigned long long)r->body_len);
    if (s->store->ops->release_get(s->store, id, &rel) != STORE_OK) {
        storage_error(out);
        return;
    }
    resp_json(out, 201, release_json(&rel));
}

int release_commit(struct server *s, struct http_req *r, struct http_resp *out,
                   struct srv_release *rel)
{
    /* a file may be one release's image only (either slot's) */
    if (already_a_release(s, out, rel->digest))
        return 0;
    if (artifact_store_body(s, r, rel->digest) != OTA_OK) {
        resp_error(out, 507, "storage", "cannot write the artifact file");
        return 0;
    }
    enum store_rc rc = s->store->ops->release_insert(s->store, rel);
    if (rc == STORE_CONFLICT && already_a_release(s, out, rel->digest))
        return 0;
    if (rc != STORE_OK) {
        storage_error(out);
        return 0;
    }
    log_msg(LOG_INFO, "release_created", "id=%lld name=%s hw_id=%s size=%llu format=%s",
            (long long)rel->id, rel->name, rel->hw_id, (unsigned long long)rel->size,
            rel->raw ? "raw" : "image");
    return 1;
}

static void add_release(void *ctx, const struct srv_release *r)
{
    json_array_append_new(ctx, release_json(r));
}

static void releases(struct server *s, struct http_req *r, struct http_resp *out)
{
    if (strcmp(r->method, "POST") == 0) {
        release_upload(s, r, out);
    } else if (strcmp(r->method, "GET") == 0) {
        json_t *a = json_array();
        if (s->store->ops->release_list(s->store, add_release, a) != STORE_OK) {
            json_decref(a);
            storage_error(out);
            return;
        }
        resp_json(out, 200, json_pack("{s:o}", "releases", a));
    } else {
        resp_error(out, 405, "method_not_allowed", "use GET or POST");
        resp_add_header(out, "Allow", "GET, POST");
    }
}

static void release_one(struct server *s, struct http_req *r, struct http_resp *out,
                        const char *idstr)
{
    int64_t id;
    struct srv_release rel;
    if (!parse_id(idstr, &id)) {
        resp_error(out, 404, "not_found", "release ids are positive integers");
        return;
    }
    enum store_rc rc = s->store->ops->release_get(s->store, id, &rel);
    if (rc == STORE_NOT_FOUND) {
        resp_error(out, 404, "not_found", "no release %lld", (long long)id);
        return;
    }
    if (rc != STORE_OK) {
        storage_error(out);
        return;
    }
    if (strcmp(r->method, "GET") == 0) {
        resp_json(out, 200, release_json(&rel));
    } else if (strcmp(r->method, "DELETE") == 0) {
        rc = s->store->ops->release_delete(s->store, id);
        if (rc == STORE_CONFLICT) {
            resp_error(out, 409, "in_use",
                       "release %lld is the target of a campaign; delete is refused",
                       (long long)id);
            return;
        }
        if (rc != STORE_OK) {
            storage_error(out);
            return;
        }
        artifact_remove(s, rel.digest);
        if (rel.has_other)
            artifact_remove(s, rel.other_digest);
        log_msg(LOG_INFO, "release_deleted", "id=%lld", (long long)id);
        resp_empty(out, 204);
    } else {
        resp_error(out, 405, "method_not_allowed", "use GET or DELETE");
        resp_add_header(out, "Allow", "GET, DELETE");
    }
}

/* ---- devices ------------------------------------------------------------ */

json_t *device_json(const struct srv_device *d)
{
    json_t *o = json_pack("{s:s,s:s,s:o,s:s,s:s,s:s,s:I,s:I}", "id", d->id, "hw_id", d->hw_id,
                          "tags", tags_json(d->tags), "current_version", d->current_version,
                          "slot_state", d->slot_state, "last_result", d->last_result,
                          "last_seen", (json_int_t)d->last_seen, "created_at",
                          (json_int_t)d->created_at);
    json_object_set_new(o, "current_digest",
                        d->has_digest ? hex_json(d->current_digest, OTA_SHA256_LEN)
                                      : json_null());
    json_object_set_new(o, "running_slot",
                        d->running_slot[0] ? json_string(d->running_slot) : json_null());
    return o;
}

static void device_create(struct server *s, struct http_req *r, struct http_resp *out)
{
    static const char *const FIELDS[] = {"id", "hw_id", "tags", NULL};
    struct srv_device d;
    char token[TOKEN_STR_MAX];
    memset(&d, 0, sizeof(d));
    json_t *o = jv_parse_object(r, out);
    if (!o)
        return;
    int ok = jv_only(o, FIELDS, out) && jv_string(o, "id", 1, SRV_ID_MAX, d.id, out) &&
             jv_string(o, "hw_id", 1, SRV_HWID_MAX, d.hw_id, out) &&
             jv_tags(o, "tags", d.tags, sizeof(d.tags), out);
    json_decref(o);
    if (!ok)
        return;
    if (!jv_device_ids("id", d.id, d.hw_id, out))
        return;
    if (!token_new("otad", token, d.token_hash)) {
        resp_error(out, 500, "internal", "no randomness");
        return;
    }
    d.created_at = srv_now(s);
    enum store_rc rc = s->store->ops->device_insert(s->store, &d);
    if (rc == STORE_CONFLICT) {
        resp_error(out, 409, "conflict", "device \"%s\" already exists", d.id);
        return;
    }
    if (rc != STORE_OK) {
        storage_error(out);
        return;
    }
    json_t *body = device_json(&d);
    json_object_set_new(body, "token", json_string(token));
    resp_json(out, 201, body);
}

static void add_device(void *ctx, const struct srv_device *d)
{
    json_array_append_new(ctx, device_json(d));
}

static void devices(struct server *s, struct http_req *r, struct http_resp *out)
{
    if (strcmp(r->method, "POST") == 0) {
        device_create(s, r, out);
        return;
    }
    if (strcmp(r->method, "GET") != 0) {
        resp_error(out, 405, "method_not_allowed", "use GET or POST");
        resp_add_header(out, "Allow", "GET, POST");
        return;
    }
    const char *after = req_query(r, "after"), *lim = req_query(r, "limit");
    long long n = lim ? atoll(lim) : 100;
    if (n <= 0 || n > 1000)
        n = 100;
    json_t *a = json_array();
    if (s->store->ops->device_list(s->store, after ? after : "", (int)n, add_device, a) !=
        STORE_OK) {
        json_decref(a);
        storage_error(out);
        return;
    }
    json_t *body = json_pack("{s:o}", "devices", a);
    size_t cnt = json_array_size(a);
    if ((long long)cnt == n)
        json_object_set(body, "next_after",
                        json_object_get(json_array_get(a, cnt - 1), "id"));
    resp_json(out, 200, body);
}

static void device_one(struct server *s, struct http_req *r, struct http_resp *out,
                       const char *id, const char *sub)
{
    struct srv_device d;
    enum store_rc rc = s->store->ops->device_get(s->store, id, &d);
    if (rc == STORE_NOT_FOUND) {
        resp_error(out, 404, "not_found", "no device \"%s\"", id);
        return;
    }
    if (rc != STORE_OK) {
        storage_error(out);
        return;
    }
    if (sub && strcmp(sub, "token") == 0) {
        char token[TOKEN_STR_MAX];
        uint8_t h[OTA_SHA256_LEN];
        if (strcmp(r->method, "POST") != 0) {
            resp_error(out, 405, "method_not_allowed", "use POST");
            resp_add_header(out, "Allow", "POST");
            return;
        }
        if (!token_new("otad", token, h) ||
            s->store->ops->device_set_token(s->store, id, h) != STORE_OK) {
            storage_error(out);
            return;
        }
        log_msg(LOG_INFO, "device_token_rotated", "device=%s", id);
        resp_json(out, 200, json_pack("{s:s,s:s}", "device_id", id, "token", token));
        return;
    }
    if (strcmp(r->method, "GET") == 0) {
        resp_json(out, 200, device_json(&d));
    } else if (strcmp(r->method, "PATCH") == 0) {
        static const char *const FIELDS[] = {"tags", NULL};
        char tags[SRV_TAGS_MAX + 1] = "";
        json_t *o = jv_parse_object(r, out);
        if (!o)
            return;
        int ok = jv_only(o, FIELDS, out) && jv_tags(o, "tags", tags, sizeof(tags), out);
        int has = json_object_get(o, "tags") != NULL;
        json_decref(o);
        if (!ok)
            return;
        if (has && s->store->ops->device_set_tags(s->store, id, tags) != STORE_OK) {
            storage_error(out);
            return;
        }
        if (has)
            snprintf(d.tags, sizeof(d.tags), "%s", tags);
        resp_json(out, 200, device_json(&d));
    } else if (strcmp(r->method, "DELETE") == 0) {
        if (s->store->ops->device_delete(s->store, id) != STORE_OK) {
            storage_error(out);
            return;
        }
        resp_empty(out, 204);
    } else {
        resp_error(out, 405, "method_not_allowed", "use GET, PATCH or DELETE");
        resp_add_header(out, "Allow", "GET, PATCH, DELETE");
    }
}

/* Enrollment tokens are bounded by default: a week and one device. */
#define ENROLL_DEFAULT_EXPIRES_IN (7 * 86400)
#define ENROLL_DEFAULT_MAX_USES 1

static json_t *enroll_token_json(const struct srv_enroll_token *t)
{
    return json_pack("{s:I,s:o,s:s,s:I,s:I,s:I,s:I}", "id", (json_int_t)t->id, "tags",
                     tags_json(t->tags), "hw_id", t->hw_id, "expires_at",
                     (json_int_t)t->expires_at, "max_uses", (json_int_t)t->max_uses, "uses",
                     (json_int_t)t->uses, "created_at", (json_int_t)t->created_at);
}

struct enroll_arr {
    json_t *a;
    int64_t now;
};

static void add_enroll_token(void *ctx, const struct srv_enroll_token *t)
{
    struct enroll_arr *ea = ctx;
    json_t *o = enroll_token_json(t);
    int usable = !(t->expires_at && ea->now >= t->expires_at) &&
                 !(t->max_uses && t->uses >= t->max_uses);
    json_object_set_new(o, "usable", json_boolean(usable));
    json_array_append_new(ea->a, o);
}

/* GET /v1/enrollment-tokens/{id} is not offered: the list says it all. */
static void enrollment_token_one(struct server *s, struct http_req *r, struct http_resp *out,
                                 const char *idstr)
{
    int64_t id;
    if (strcmp(r->method, "DELETE") != 0) {
        resp_error(out, 405, "method_not_allowed", "use DELETE");
        resp_add_header(out, "Allow", "DELETE");
        return;
    }
    if (!parse_id(idstr, &id)) {
        resp_error(out, 404, "not_found", "enrollment token ids are positive integers");
        return;
    }
    enum store_rc rc = s->store->ops->enroll_delete(s->store, id);
    if (rc == STORE_NOT_FOUND) {
        resp_error(out, 404, "not_found", "no enrollment token %lld", (long long)id);
        return;
    }
    if (rc != STORE_OK) {
        storage_error(out);
        return;
    }
    log_msg(LOG_INFO, "enrollment_token_revoked", "id=%lld", (long long)id);
    resp_empty(out, 204);
}

static void enrollment_tokens(struct server *s, struct http_req *r, struct http_resp *out)
{
    static const char *const FIELDS[] = {"tags", "hw_id", "expires_in", "max_uses", NULL};
    struct srv_enroll_token t;
    char token[TOKEN_STR_MAX];
    int64_t expires_in = ENROLL_DEFAULT_EXPIRES_IN;
    if (strcmp(r->method, "GET") == 0) {
        struct enroll_arr ea = {json_array(), srv_now(s)};
        if (s->store->ops->enroll_list(s->store, add_enroll_token, &ea) != STORE_OK) {
            json_decref(ea.a);
            storage_error(out);
            return;
        }
        resp_json(out, 200, json_pack("{s:o}", "enrollment_tokens", ea.a));
        return;
    }
    if (strcmp(r->method, "POST") != 0) {
        resp_error(out, 405, "method_not_allowed", "use GET or POST");
        resp_add_header(out, "Allow", "GET, POST");
        return;
    }
    memset(&t, 0, sizeof(t));
    t.max_uses = ENROLL_DEFAULT_MAX_USES;
    json_t *o = jv_parse_object(r, out);
    if (!o)
        return;
    int ok = jv_only(o, FIELDS, out) && jv_tags(o, "tags", t.tags, sizeof(t.tags), out) &&
             jv_string(o, "hw_id", 0, SRV_HWID_MAX, t.hw_id, out) &&
             jv_int(o, "expires_in", 0, 1, 10LL * 365 * 86400, &expires_in, out) &&
             jv_int(o, "max_uses", 0, 1, INT32_MAX, &t.max_uses, out);
    json_decref(o);
    if (!ok)
        return;
    if (t.hw_id[0] && !valid_hw_id(t.hw_id)) {
        resp_error(out, 400, "invalid_field", "field \"hw_id\" is not a valid hardware id");
        return;
    }
    t.created_at = srv_now(s);
    t.expires_at = t.created_at + expires_in;
    if (!token_new("otae", token, t.token_hash) ||
        s->store->ops->enroll_insert(s->store, &t) != STORE_OK) {
        storage_error(out);
        return;
    }
    log_msg(LOG_INFO, "enrollment_token_created", "id=%lld expires_at=%lld max_uses=%lld",
            (long long)t.id, (long long)t.expires_at, (long long)t.max_uses);
    json_t *body = enroll_token_json(&t);
    json_object_set_new(body, "token", json_string(token));
    resp_json(out, 201, body);
}

/* ---- campaigns ---------------------------------------------------------- */

const char *campaign_state_name(int state)
{
    return state >= 0 && state < CAMPAIGN_STATE_COUNT ? CAMPAIGN_STATES[state] : "unknown";
}

json_t *campaign_json(struct server *s, const struct srv_campaign *c, int with_counts)
{
    json_t *stages = json_array();
    for (int i = 0; i < c->n_stages; i++)
        json_array_append_new(
            stages, json_pack("{s:f,s:I,s:I,s:f,s:o}", "percent", c->stages[i].percent,
                              "soak_seconds", (json_int_t)c->stages[i].soak_seconds,
                              "min_finished", (json_int_t)c->stages[i].min_finished,
                              "max_failure_ratio", c->stages[i].max_failure_ratio,
                              "health_gates", health_gates_json(&c->stages[i])));
    json_t *filter = json_pack("{s:s*,s:o,s:s*,s:s*}", "hw_id",
                               c->f_hw_id[0] ? c->f_hw_id : NULL, "tags", tags_json(c->f_tags),
                               "min_version", c->f_min_version[0] ? c->f_min_version : NULL,
                               "max_version", c->f_max_version[0] ? c->f_max_version : NULL);
    json_t *o = json_pack(
        "{s:I,s:s,s:I,s:o,s:o,s:s,s:I,s:f,s:I,s:b,s:s*,s:I,s:I}", "id", (json_int_t)c->id,
        "name", c->name, "release_id", (json_int_t)c->release_id, "filter", filter, "stages",
        stages, "state", CAMPAIGN_STATES[c->state], "stage", (json_int_t)c->stage,
        "stage_percent", c->n_stages ? c->stages[c->stage].percent : 0.0, "stage_started_at",
        (json_int_t)c->stage_started_at, "rollout_complete", c->complete, "halt_reason",
        c->halt_reason[0] ? c->halt_reason : NULL, "created_at", (json_int_t)c->created_at,
        "updated_at", (json_int_t)c->updated_at);
    json_object_set_new(o, "warnings", campaign_warnings_json(c->warnings, c->n_warnings));
    if (!with_counts)
        return o;
    struct srv_counts k;
    struct rollout_totals t;
    if (s->store->ops->campaign_counts(s->store, c->id, &k) != STORE_OK)
        return o;
    rollout_totals(&k, &t);
    json_t *per_stage = json_array(), *per_state = json_object();
    int64_t tot[DC_STATE_COUNT] = {0};
    for (int i = 0; i < c->n_stages; i++) {
        json_t *st = json_object();
        for (int j = 0; j < DC_STATE_COUNT; j++) {
            json_object_set_new(st, dc_state_name(j), json_integer(k.by_stage_state[i][j]));
            tot[j] += k.by_stage_state[i][j];
        }
        json_array_append_new(per_stage, st);
    }
    for (int j = 0; j < DC_STATE_COUNT; j++)
        json_object_set_new(per_state, dc_state_name(j), json_integer(tot[j]));
    json_object_set_new(o, "counts_by_stage", per_stage);
    json_object_set_new(o, "health", health_campaign_json(s, c));
    json_object_set_new(o, "counts", per_state);
    json_object_set_new(o, "finished", json_integer(t.finished));
    json_object_set_new(o, "failed", json_integer(t.failed));
    json_object_set_new(o, "in_progress", json_integer(t.in_progress));
    json_object_set_new(o, "failure_ratio",
                        json_real(t.finished ? (double)t.failed / (double)t.finished : 0.0));
    if (c->state == CAMPAIGN_ACTIVE && !c->complete && c->n_stages) {
        const struct srv_stage *sg = &c->stages[c->stage];
        int64_t wait = c->stage_started_at + sg->soak_seconds - srv_now(s);
        json_object_set_new(o, "next_stage_in_seconds", json_integer(wait > 0 ? wait : 0));
        json_object_set_new(o, "finished_needed",
                            json_integer(sg->min_finished > t.finished
                                             ? sg->min_finished - t.finished
                                             : 0));
    }
    return o;
}

int campaign_parse_stages(json_t *arr, struct srv_campaign *c, struct http_resp *out)
{
    static const char *const FIELDS[] = {"percent", "soak_seconds", "min_finished",
                                         "max_failure_ratio", "health_gates", NULL};
    size_t i;
    json_t *e;
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > SRV_STAGES_MAX) {
        resp_error(out, 400, "invalid_field",
                   "field \"stages\" must be an array of 1..%d stages", SRV_STAGES_MAX);
        return 0;
    }
    double prev = 0;
    json_array_foreach(arr, i, e) {
        struct srv_stage *st = &c->stages[i];
        st->percent = 0;
        st->soak_seconds = 0;
        st->min_finished = 0;
        /* Never 1.0 by surprise: a stage without a limit keeps the previous
         * stage's; the first one the default plan's. */
        st->max_failure_ratio = i ? c->stages[i - 1].max_failure_ratio : CAMPAIGN_DEFAULT_RATIO;
        if (!json_is_object(e)) {
            resp_error(out, 400, "invalid_field", "stages[%zu] must be an object", i);
            return 0;
        }
        if (!jv_only(e, FIELDS, out) ||
            !jv_number(e, "percent", 1, 0.01, 100.0, &st->percent, out) ||
            !jv_int(e, "soak_seconds", 0, 0, 365LL * 86400, &st->soak_seconds, out) ||
            !jv_int(e, "min_finished", 0, 0, 100000000, &st->min_finished, out) ||
            !jv_number(e, "max_failure_ratio", 0, 0.0, 1.0, &st->max_failure_ratio, out) ||
            !health_gates_parse(e, i, st, i ? &c->stages[i - 1] : NULL, out))
            return 0;
        if (st->percent <= prev) {
            resp_error(out, 400, "invalid_field",
                       "stages[%zu].percent must be greater than the previous stage's "
                       "(percentages are cumulative)",
                       i);
            return 0;
        }
        prev = st->percent;
    }
    c->n_stages = (int)json_array_size(arr);
    return 1;
}

static void campaign_create(struct server *s, struct http_req *r, struct http_resp *out,
                            int dry_run)
{
    static const char *const FIELDS[] = {"name", "release_id", "filter", "stages", NULL};
    static const char *const FFIELDS[] = {"hw_id", "tags", "min_version", "max_version", NULL};
    struct srv_campaign c;
    struct srv_release rel;
    struct ota_image_version v;
    memset(&c, 0, sizeof(c));
    json_t *o = jv_parse_object(r, out);
    if (!o)
        return;
    json_t *f = json_object_get(o, "filter");
    int ok = jv_only(o, FIELDS, out) && jv_string(o, "name", 0, SRV_ID_MAX, c.name, out) &&
             jv_int(o, "release_id", 1, 1, INT64_MAX, &c.release_id, out);
    if (ok && f && !json_is_null(f)) {
        if (!json_is_object(f)) {
            resp_error(out, 400, "invalid_field", "field \"filter\" must be an object");
            ok = 0;
        } else {
            ok = jv_only(f, FFIELDS, out) &&
                 jv_string(f, "hw_id", 0, SRV_HWID_MAX, c.f_hw_id, out) &&
                 jv_tags(f, "tags", c.f_tags, sizeof(c.f_tags), out) &&
                 jv_string(f, "min_version", 0, sizeof(c.f_min_version) - 1, c.f_min_version,
                           out) &&
                 jv_string(f, "max_version", 0, sizeof(c.f_max_version) - 1, c.f_max_version,
                           out);
        }
    }
    if (ok) {
        json_t *st = json_object_get(o, "stages");
        if (!st) {
            /* Default plan: everything at once, halting on 20% failures. */
            c.n_stages = 1;
            c.stages[0].percent = 100;
            c.stages[0].max_failure_ratio = CAMPAIGN_DEFAULT_RATIO;
        } else {
            ok = campaign_parse_stages(st, &c, out);
        }
    }
    json_decref(o);
    if (!ok)
        return;
    if ((c.f_min_version[0] && !parse_version(c.f_min_version, &v)) ||
        (c.f_max_version[0] && !parse_version(c.f_max_version, &v))) {
        resp_error(out, 400, "invalid_field",
                   "filter versions must be MAJOR.MINOR.REVISION[+BUILD]");
        return;
    }
    enum store_rc rc = s->store->ops->release_get(s->store, c.release_id, &rel);
    if (rc == STORE_NOT_FOUND) {
        resp_error(out, 422, "unknown_release", "no release %lld", (long long)c.release_id);
        return;
    }
    if (rc != STORE_OK) {
        storage_error(out);
        return;
    }
    if (c.f_hw_id[0] && strcmp(c.f_hw_id, rel.hw_id) != 0) {
        resp_error(out, 422, "hw_id_mismatch",
                   "filter hardware id \"%s\" differs from the release's \"%s\"", c.f_hw_id,
                   rel.hw_id);
        return;
    }
    /* A release only ever goes to its own hardware. */
    snprintf(c.f_hw_id, sizeof(c.f_hw_id), "%s", rel.hw_id);
    if (!c.name[0])
        snprintf(c.name, sizeof(c.name), "%s", rel.name);
    if (dry_run) {
        campaign_preview(s, &c, &rel, out);
        return;
    }
    c.state = CAMPAIGN_ACTIVE;
    c.stage = 0;
    c.created_at = c.updated_at = c.stage_started_at = srv_now(s);
    enum store_rc irc = s->store->ops->campaign_insert(s->store, &c);
    campaign_cache_invalidate(s);
    if (irc != STORE_OK) {
        storage_error(out);
        return;
    }
    log_msg(LOG_INFO, "campaign_created", "id=%lld release=%lld stages=%d", (long long)c.id,
            (long long)c.release_id, c.n_stages);
    campaign_warn_created(s, &c, &rel);
    rollout_evaluate(s, c.id);
    s->store->ops->campaign_get(s->store, c.id, &c);
    resp_json(out, 201, campaign_json(s, &c, 1));
}

struct camp_arr {
    struct server *s;
    json_t *a;
};

static void add_campaign(void *ctx, const struct srv_campaign *c)
{
    struct camp_arr *ca = ctx;
    json_array_append_new(ca->a, campaign_json(ca->s, c, 0));
}

static void campaigns(struct server *s, struct http_req *r, struct http_resp *out)
{
    if (strcmp(r->method, "POST") == 0) {
        const char *dry = req_query(r, "dry_run");
        campaign_create(s, r, out, dry && strcmp(dry, "0") != 0 && strcmp(dry, "false") != 0);
        return;
    }
    if (strcmp(r->method, "GET") != 0) {
        resp_error(out, 405, "method_not_allowed", "use GET or POST");
        resp_add_header(out, "Allow", "GET, POST");
        return;
    }
    struct camp_arr ca = {s, json_array()};
    if (s->store->ops->campaign_list(s->store, 0, add_campaign, &ca) != STORE_OK) {
        json_decref(ca.a);
        storage_error(out);
        return;
    }
    resp_json(out, 200, json_pack("{s:o}", "campaigns", ca.a));
}

static void campaign_one(struct server *s, struct http_req *r, struct http_resp *out,
                         const char *idstr, const char *action)
{
    int64_t id;
    struct srv_campaign c;
    if (!parse_id(idstr, &id)) {
        resp_error(out, 404, "not_found", "campaign ids are positive integers");
        return;
    }
    if (!action) {
        if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "PATCH") != 0) {
            resp_error(out, 405, "method_not_allowed", "use GET or PATCH");
            resp_add_header(out, "Allow", "GET, PATCH");
            return;
        }
        rollout_evaluate(s, id);
    }
    enum store_rc rc = s->store->ops->campaign_get(s->store, id, &c);
    if (rc == STORE_NOT_FOUND) {
        resp_error(out, 404, "not_found", "no campaign %lld", (long long)id);
        return;
    }
    if (rc != STORE_OK) {
        storage_error(out);
        return;
    }
    if (!action && strcmp(r->method, "PATCH") == 0) {
        campaign_patch(s, r, &c, out);
        return;
    }
    if (!action) {
        resp_json(out, 200, campaign_json(s, &c, 1));
        return;
    }
    if (strcmp(r->method, "POST") != 0) {
        resp_error(out, 405, "method_not_allowed", "use POST");
        resp_add_header(out, "Allow", "POST");
        return;
    }
    if (strcmp(action, "advance") == 0) {
        campaign_advance(s, &c, out);
        return;
    }
    int from = c.state, to;
    if (strcmp(action, "pause") == 0) {
        if (c.state != CAMPAIGN_ACTIVE) {
            resp_error(out, 409, "invalid_state", "campaign is %s; only an active one pauses",
                       CAMPAIGN_STATES[c.state]);
            return;
        }
        to = CAMPAIGN_PAUSED;
    } else if (strcmp(action, "resume") == 0) {
        if (c.state != CAMPAIGN_PAUSED) {
            resp_error(out, 409, "invalid_state",
                       "campaign is %s; only a paused one resumes%s",
                       CAMPAIGN_STATES[c.state],
                       c.state == CAMPAIGN_HALTED
                           ? " (a halted campaign stays halted: fix the release and "
                             "start a new campaign)"
                           : "");
            return;
        }
        to = CAMPAIGN_ACTIVE;
        c.stage_started_at = srv_now(s); /* soak again from now */
    } else if (strcmp(action, "abort") == 0) {
        if (c.state == CAMPAIGN_ABORTED) {
            resp_error(out, 409, "invalid_state", "campaign is already aborted");
            return;
        }
        to = CAMPAIGN_ABORTED;
    } else {
        resp_error(out, 404, "not_found", "unknown action \"%s\" (pause, resume, abort, advance)",
                   action);
        return;
    }
    c.state = to;
    c.updated_at = srv_now(s);
    rc = s->store->ops->campaign_update(s->store, &c, from, c.stage);
    campaign_cache_invalidate(s);
    if (rc == STORE_CONFLICT) {
        resp_error(out, 409, "conflict", "campaign changed meanwhile; retry");
        return;
    }
    if (rc != STORE_OK) {
        storage_error(out);
        return;
    }
    log_msg(LOG_INFO, "campaign_action", "id=%lld action=%s from=%s to=%s", (long long)id,
            action, CAMPAIGN_STATES[from], CAMPAIGN_STATES[to]);
    if (to == CAMPAIGN_ACTIVE)
        rollout_evaluate(s, id);
    s->store->ops->campaign_get(s->store, id, &c);
    resp_json(out, 200, campaign_json(s, &c, 1));
}

struct dc_page {
    json_t *arr;
    char last[SRV_ID_MAX + 1];
};

static void add_dc(void *ctx, const struct srv_dc *dc)
{
    struct dc_page *p = ctx;
    json_array_append_new(p->arr, json_pack("{s:s,s:s,s:I,s:I}", "device_id", dc->device_id,
                                            "state", dc_state_name(dc->state), "stage",
                                            (json_int_t)dc->stage, "updated_at",
                                            (json_int_t)dc->updated_at));
    snprintf(p->last, sizeof(p->last), "%s", dc->device_id);
}

/* GET /v1/campaigns/{id}/devices?state=failure&after=ID&limit=N */
static void campaign_devices(struct server *s, struct http_req *r, struct http_resp *out,
                             const char *idstr)
{
    int64_t id;
    struct srv_campaign c;
    const char *state = req_query(r, "state"), *after = req_query(r, "after"),
               *lim = req_query(r, "limit");
    int st = -1;
    if (strcmp(r->method, "GET") != 0) {
        resp_error(out, 405, "method_not_allowed", "use GET");
        resp_add_header(out, "Allow", "GET");
        return;
    }
    if (!parse_id(idstr, &id) ||
        s->store->ops->campaign_get(s->store, id, &c) != STORE_OK) {
        resp_error(out, 404, "not_found", "no campaign %s", idstr);
        return;
    }
    if (state) {
        for (int i = 0; i < DC_STATE_COUNT; i++)
            if (strcmp(state, dc_state_name(i)) == 0)
                st = i;
        if (st < 0) {
            resp_error(out, 400, "invalid_query",
                       "state must be one of offered, downloading, installing, "
                       "installed-rebooting, success, failure, rolled-back");
            return;
        }
    }
    long long n = lim ? atoll(lim) : 100;
    if (n <= 0 || n > 1000)
        n = 100;
    struct dc_page p = {json_array(), ""};
    if (s->store->ops->dc_list(s->store, id, st, after ? after : "", (int)n, add_dc, &p) !=
        STORE_OK) {
        json_decref(p.arr);
        storage_error(out);
        return;
    }
    json_t *body = json_pack("{s:o}", "devices", p.arr);
    if ((long long)json_array_size(p.arr) == n)
        json_object_set_new(body, "next_after", json_string(p.last));
    resp_json(out, 200, body);
}

/* ---- test clock and server key ----------------------------------------- */

static void clock_route(struct server *s, struct http_req *r, struct http_resp *out)
{
    static const char *const FIELDS[] = {"advance_seconds", NULL};
    int64_t adv = 0;
    if (!s->test_clock) {
        resp_error(out, 404, "not_found", "the test clock is off (start with --test-clock)");
        return;
    }
    if (strcmp(r->method, "POST") == 0) {
        json_t *o = jv_parse_object(r, out);
        if (!o)
            return;
        int ok = jv_only(o, FIELDS, out) &&
                 jv_int(o, "advance_seconds", 1, 0, 100LL * 365 * 86400, &adv, out);
        json_decref(o);
        if (!ok)
            return;
        atomic_fetch_add(&s->clock_offset, adv);
        log_msg(LOG_INFO, "clock_advanced", "seconds=%lld offset=%lld", (long long)adv,
                (long long)atomic_load(&s->clock_offset));
        rollout_evaluate_all(s);
    } else if (strcmp(r->method, "GET") != 0) {
        resp_error(out, 405, "method_not_allowed", "use GET or POST");
        return;
    }
    resp_json(out, 200, json_pack("{s:I,s:I}", "now", (json_int_t)srv_now(s), "offset",
                                  (json_int_t)atomic_load(&s->clock_offset)));
}

static void server_key(struct server *s, struct http_req *r, struct http_resp *out)
{
    char kid[2 * OTA_MANIFEST_KEY_ID_LEN + 1];
    char b64[4 * ((OTA_P256_SPKI_LEN + 2) / 3) + 1], pem[256];
    size_t used;
    (void)r;
    ota_hex_encode(s->manifest_key_id, OTA_MANIFEST_KEY_ID_LEN, kid);
    EVP_EncodeBlock((unsigned char *)b64, s->manifest_pub.spki, OTA_P256_SPKI_LEN);
    used = (size_t)snprintf(pem, sizeof(pem), "-----BEGIN PUBLIC KEY-----\n");
    size_t b64_len = strlen(b64);
    for (size_t i = 0; i < b64_len; i += 64)
        used += (size_t)snprintf(pem + used, sizeof(pem) - used, "%.64s\n", b64 + i);
    snprintf(pem + used, sizeof(pem) - used, "-----END PUBLIC KEY-----\n");
    resp_json(out, 200, json_pack("{s:s,s:s,s:o}", "key_id", kid, "public_key_pem", pem,
                                  "spki", hex_json(s->manifest_pub.spki, OTA_P256_SPKI_LEN)));
}

/* ---- dispatch ----------------------------------------------------------- */

void api_admin_route(struct server *s, struct http_req *r, struct http_resp *out)
{
    char seg[3][SRV_ID_MAX + 2] = {"", "", ""};
    int nseg = 0;
    if (!auth_role(s, r, out, role_needed(r->route, r->method)))
        return;
    /* split the path after /v1/ into at most 3 segments */
    const char *p = r->path + 4;
    while (*p && nseg < 3) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > SRV_ID_MAX) {
            resp_error(out, 404, "not_found", "no such resource");
            return;
        }
        memcpy(seg[nseg], p, n);
        seg[nseg][n] = '\0';
        nseg++;
        p += n;
        if (*p == '/')
            p++;
    }
    switch (r->route) {
    case ROUTE_RELEASES:
        releases(s, r, out);
        break;
    case ROUTE_RELEASE:
        release_one(s, r, out, seg[1]);
        break;
    case ROUTE_RELEASE_DELTAS:
        sealed_delta_upload(s, r, out, seg[1]);
        break;
    case ROUTE_RELEASE_IMAGES:
        release_image_upload(s, r, out, seg[1]);
        break;
    case ROUTE_DEVICES:
        devices(s, r, out);
        break;
    case ROUTE_DEVICE:
        device_one(s, r, out, seg[1], NULL);
        break;
    case ROUTE_DEVICE_TOKEN:
        device_one(s, r, out, seg[1], "token");
        break;
    case ROUTE_ENROLL_TOKENS:
        if (nseg == 2)
            enrollment_token_one(s, r, out, seg[1]);
        else
            enrollment_tokens(s, r, out);
        break;
    case ROUTE_CAMPAIGNS:
        campaigns(s, r, out);
        break;
    case ROUTE_CAMPAIGN:
        campaign_one(s, r, out, seg[1], NULL);
        break;
    case ROUTE_CAMPAIGN_ACTION:
        campaign_one(s, r, out, seg[1], seg[2]);
        break;
    case ROUTE_CAMPAIGN_DEVICES:
        campaign_devices(s, r, out, seg[1]);
        break;
    case ROUTE_CLOCK:
        clock_route(s, r, out);
        break;
    case ROUTE_SERVER_KEY:
        server_key(s, r, out);
        break;
    default:
        resp_error(out, 404, "not_found", "no such route");
    }
}
