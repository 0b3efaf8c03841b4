// SPDX-License-Identifier: Apache-2.0
/*
 * api_sealed_delta.c - POST /v1/releases/{to}/deltas?from={from}: an admin
 * uploads a delta the build side made between two ENCRYPTED releases and
 * sealed for the fleet's decryption key (`ota delta create OLD NEW
 * --enc-key`, an OTAE envelope: docs/encrypted-images.md). The server holds
 * only ciphertext and no device key, so it can never make such a delta
 * itself; once uploaded, check-ins of devices running `from` are offered it
 * (delta_serve.c: delta_for) like any delta, the signed manifest naming the
 * published `from` file as its base.
 *
 * What the server can check: both releases exist, are encrypted, are for
 * the same hardware; the body is an OTAE envelope (magic, format, key size)
 * and smaller than the full target. What only the device can check (the
 * envelope's key, the patch, the image it rebuilds) it does before pending.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact.h"
#include "jsonv.h"
#include "log.h"
#include "ota/image_enc.h"

static int release_arg(struct server *s, const char *idstr, const char *what,
                       struct srv_release *rel, struct http_resp *out)
{
    char *end;
    long long id = idstr && *idstr >= '1' && *idstr <= '9' ? strtoll(idstr, &end, 10) : 0;
    if (!id || *end) {
        resp_error(out, 400, "invalid_field", "%s must be a release id (a positive integer)",
                   what);
        return 0;
    }
    enum store_rc rc = s->store->ops->release_get(s->store, id, rel);
    if (rc == STORE_NOT_FOUND)
        resp_error(out, 404, "not_found", "%s: no release %lld", what, id);
    else if (rc != STORE_OK)
        resp_error(out, 503, "storage", "database unavailable");
    return rc == STORE_OK;
}

/* The body's first bytes (it may sit in a temporary file). */
static int body_head(const struct http_req *r, uint8_t *buf, size_t n)
{
    if (r->body_len < n)
        return 0;
    if (r->body_fd >= 0)
        return pread(r->body_fd, buf, n, 0) == (ssize_t)n;
    memcpy(buf, r->body, n);
    return 1;
}

void sealed_delta_upload(struct server *s, struct http_req *r, struct http_resp *out,
                         const char *to_id)
{
    struct srv_release from, to;
    uint8_t head[OTA_ENC_PAYLOAD_FIXED], digest[OTA_SHA256_LEN];
    char hex[2 * OTA_SHA256_LEN + 1], url[128];
    const char *ct = req_header(r, "Content-Type");
    ota_err e = OTA_OK;

    if (strcmp(r->method, "POST") != 0) {
        resp_error(out, 405, "method_not_allowed", "use POST");
        resp_add_header(out, "Allow", "POST");
        return;
    }
    if (ct && !media_type_is(ct, "application/octet-stream")) {
        resp_error(out, 415, "unsupported_media_type",
                   "upload the sealed delta as application/octet-stream");
        return;
    }
    if (!release_arg(s, to_id, "the target release (path)", &to, out) ||
        !release_arg(s, req_query(r, "from"), "query \"from\"", &from, out))
        return;
    if (from.id == to.id || strcmp(from.hw_id, to.hw_id) != 0) {
        resp_error(out, 422, "delta_refused",
                   "a delta goes between two different releases of the same hardware "
                   "(from %lld for \"%s\", to %lld for \"%s\")", (long long)from.id, from.hw_id,
                   (long long)to.id, to.hw_id);
        return;
    }
    if (!artifact_encrypted(s, from.digest) || !artifact_encrypted(s, to.digest)) {
        resp_error(out, 422, "delta_refused",
                   "sealed deltas are for ENCRYPTED releases (release %lld is not); the server "
                   "makes the deltas between plain releases itself",
                   (long long)(artifact_encrypted(s, from.digest) ? to.id : from.id));
        return;
    }
    uint32_t hdr = body_head(r, head, sizeof(head)) ? ota_enc_payload_hdr_len(head, &e) : 0;
    if (!hdr || e || r->body_len <= hdr) {
        resp_error(out, 422, "delta_refused",
                   "the body is not a sealed delta: an OTAE envelope (format %u, AES-128 or "
                   "-256) with a patch after its %u-byte header, as `ota delta create OLD NEW "
                   "--enc-key` writes", OTA_ENC_PAYLOAD_FORMAT,
                   hdr ? hdr : (uint32_t)OTA_ENC_PAYLOAD_HDR_LEN(16u));
        return;
    }
    if (r->body_len >= to.size) {
        resp_error(out, 422, "delta_refused",
                   "the sealed delta (%zu bytes) is not smaller than release %lld (%llu bytes): "
                   "devices get the full image anyway", r->body_len, (long long)to.id,
                   (unsigned long long)to.size);
        return;
    }
    if (artifact_hash_body(r, digest) != OTA_OK) {
        resp_error(out, 500, "internal", "cannot hash the sealed delta");
        return;
    }
    if (artifact_store_body(s, r, digest) != OTA_OK) {
        resp_error(out, 507, "storage", "cannot write the artifact file");
        return;
    }
    if (s->store->ops->delta_put(s->store, from.digest, to.digest, digest, r->body_len) !=
        STORE_OK) {
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    ota_hex_encode(digest, OTA_SHA256_LEN, hex);
    snprintf(url, sizeof(url), "/v1/artifacts/%s", hex);
    log_msg(LOG_INFO, "sealed_delta_added", "from=%lld to=%lld size=%zu digest=%s",
            (long long)from.id, (long long)to.id, r->body_len, hex);
    resp_json(out, 201, json_pack("{s:I,s:I,s:s,s:I,s:s}", "from_release", (json_int_t)from.id,
                                  "to_release", (json_int_t)to.id, "digest", hex, "size",
                                  (json_int_t)r->body_len, "url", url));
}
