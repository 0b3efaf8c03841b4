// SPDX-License-Identifier: Apache-2.0
/*
 * ddi_admin.c - the admin side of hawkBit DDI support (docs/ddi.md):
 * releases that are opaque artifacts (a .swu, .raucb or Zephyr image
 * uploaded with POST /v1/releases?format=raw, its version and hardware id
 * given by the admin), the gateway token (one fleet token that acts for any
 * controller) and the configData attributes a device sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ddi.h"
#include "jsonv.h"
#include "log.h"

/* File names DDI devices download: used in URLs without escaping. */
static int valid_filename(const char *f)
{
    size_t n = strlen(f);
    if (n == 0 || n > SRV_FILENAME_MAX || f[0] == '.')
        return 0;
    return strspn(f, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") == n;
}

static int hash_mem(const uint8_t *p, size_t n, struct srv_release *rel)
{
    return EVP_Digest(p, n, rel->digest, NULL, EVP_sha256(), NULL) == 1 &&
           EVP_Digest(p, n, rel->md5, NULL, EVP_md5(), NULL) == 1 &&
           EVP_Digest(p, n, rel->sha1, NULL, EVP_sha1(), NULL) == 1;
}

static json_t *raw_release_json(const struct srv_release *rel)
{
    char md5[2 * DDI_MD5_LEN + 1], sha1[2 * DDI_SHA1_LEN + 1];
    json_t *o = release_json(rel);
    ota_hex_encode(rel->md5, DDI_MD5_LEN, md5);
    ota_hex_encode(rel->sha1, DDI_SHA1_LEN, sha1);
    json_object_set_new(o, "md5", json_string(md5));
    json_object_set_new(o, "sha1", json_string(sha1));
    return o;
}

void ddi_release_upload(struct server *s, struct http_req *r, struct http_resp *out)
{
    struct srv_release rel;
    const char *ct = req_header(r, "Content-Type"), *version = req_query(r, "version"),
               *hw_id = req_query(r, "hw_id"), *filename = req_query(r, "filename"),
               *name = req_query(r, "name");
    memset(&rel, 0, sizeof(rel));
    if (!auth_role(s, r, out, role_needed(r->route, r->method)))
        return;
    if (ct && !media_type_is(ct, "application/octet-stream")) {
        resp_error(out, 415, "unsupported_media_type",
                   "upload the artifact as application/octet-stream");
        return;
    }
    if (!version || !parse_version(version, &rel.version)) {
        resp_error(out, 400, "invalid_query",
                   "query \"version\" is required: MAJOR.MINOR.REVISION[+BUILD]");
        return;
    }
    if (!hw_id || strlen(hw_id) > SRV_HWID_MAX || !valid_hw_id(hw_id)) {
        resp_error(out, 400, "invalid_query",
                   "query \"hw_id\" is required: 1..32 printable characters, or 0x and hex "
                   "digits");
        return;
    }
    if (!filename || !valid_filename(filename)) {
        resp_error(out, 400, "invalid_query",
                   "query \"filename\" is required: 1..%d characters of A-Z a-z 0-9 . _ + -, "
                   "not starting with '.' (e.g. update.swu)",
                   SRV_FILENAME_MAX);
        return;
    }
    if (name && (strlen(name) == 0 || strlen(name) > SRV_ID_MAX || !valid_device_id(name))) {
        resp_error(out, 400, "invalid_query",
                   "query \"name\" must be 1..64 characters of A-Z a-z 0-9 - _ . :");
        return;
    }
    if (r->body_len == 0) {
        resp_error(out, 400, "empty_body", "the body must be the artifact");
        return;
    }
    rel.raw = 1;
    rel.has_hashes = 1;
    rel.size = r->body_len;
    rel.created_at = srv_now(s);
    snprintf(rel.hw_id, sizeof(rel.hw_id), "%s", hw_id);
    snprintf(rel.filename, sizeof(rel.filename), "%s", filename);
    snprintf(rel.name, sizeof(rel.name), "%s", name ? name : version);
    int hashed = r->body_fd >= 0
                     ? ddi_hash_fd(r->body_fd, r->body_len, rel.digest, rel.md5, rel.sha1)
                     : hash_mem(r->body, r->body_len, &rel);
    if (!hashed) {
        resp_error(out, 500, "internal", "cannot hash the uploaded artifact");
        return;
    }
    if (release_commit(s, r, out, &rel))
        resp_json(out, 201, raw_release_json(&rel));
}

void ddi_gateway_token_route(struct server *s, struct http_req *r, struct http_resp *out)
{
    char hex[2 * OTA_SHA256_LEN + 1] = "", token[TOKEN_STR_MAX];
    uint8_t h[OTA_SHA256_LEN];
    if (!auth_role(s, r, out, role_needed(r->route, r->method)))
        return;
    if (strcmp(r->method, "GET") == 0) {
        enum store_rc rc = s->store->ops->setting_get(s->store, DDI_GATEWAY_SETTING, hex,
                                                      sizeof(hex));
        if (rc == STORE_ERR) {
            resp_error(out, 503, "storage", "database unavailable");
            return;
        }
        resp_json(out, 200, json_pack("{s:b}", "enabled", rc == STORE_OK && hex[0]));
    } else if (strcmp(r->method, "POST") == 0) {
        /* a new token replaces the old one at once */
        if (!token_new("otag", token, h)) {
            resp_error(out, 500, "internal", "no randomness");
            return;
        }
        ota_hex_encode(h, OTA_SHA256_LEN, hex);
        if (s->store->ops->setting_put(s->store, DDI_GATEWAY_SETTING, hex) != STORE_OK) {
            resp_error(out, 503, "storage", "database unavailable");
            return;
        }
        log_msg(LOG_INFO, "ddi_gateway_token_created", "by=admin");
        resp_json(out, 201, json_pack("{s:s,s:s}", "token", token, "authorization",
                                      "GatewayToken <token>"));
    } else if (strcmp(r->method, "DELETE") == 0) {
        if (s->store->ops->setting_put(s->store, DDI_GATEWAY_SETTING, "") != STORE_OK) {
            resp_error(out, 503, "storage", "database unavailable");
            return;
        }
        log_msg(LOG_INFO, "ddi_gateway_token_revoked", "by=admin");
        resp_empty(out, 204);
    } else {
        resp_error(out, 405, "method_not_allowed", "use GET, POST or DELETE");
        resp_add_header(out, "Allow", "GET, POST, DELETE");
    }
}

void ddi_attributes_route(struct server *s, struct http_req *r, struct http_resp *out)
{
    char id[SRV_ID_MAX + 1];
    struct srv_device d;
    int64_t at = 0;
    if (!auth_role(s, r, out, role_needed(r->route, r->method)))
        return;
    if (strcmp(r->method, "GET") != 0) {
        resp_error(out, 405, "method_not_allowed", "use GET");
        resp_add_header(out, "Allow", "GET");
        return;
    }
    /* /v1/devices/{id}/attributes */
    const char *b = r->path + strlen("/v1/devices/"), *e = strchr(b, '/');
    if (!e || e == b || (size_t)(e - b) > SRV_ID_MAX) {
        resp_error(out, 404, "not_found", "no such device");
        return;
    }
    memcpy(id, b, (size_t)(e - b));
    id[e - b] = '\0';
    enum store_rc rc = s->store->ops->device_get(s->store, id, &d);
    if (rc == STORE_NOT_FOUND) {
        resp_error(out, 404, "not_found", "no device \"%s\"", id);
        return;
    }
    char *text = malloc(SRV_DDI_ATTRS_MAX + 1);
    if (rc == STORE_OK)
        rc = text ? s->store->ops->ddi_attrs_get(s->store, id, text, SRV_DDI_ATTRS_MAX + 1, &at)
                  : STORE_ERR;
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
        free(text);
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    json_t *attrs = rc == STORE_OK ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (!attrs)
        attrs = json_object();
    json_t *o = json_pack("{s:s,s:o}", "device_id", id, "attributes", attrs);
    json_object_set_new(o, "updated_at", at ? json_integer(at) : json_null());
    resp_json(out, 200, o);
}
