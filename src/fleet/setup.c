// SPDX-License-Identifier: Apache-2.0
/*
 * setup.c - what ota-fleet learns before its devices start: the firmware
 * key its devices trust (--trusted-key), the image they run at start
 * (--image, verified like any image, which also gives the hardware id), the
 * server's manifest key (--server-key, or GET /v1/server-key with the admin
 * token) and the server's test clock offset (GET /v1/admin/clock), so that
 * manifest expiry is checked against the server's notion of now.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exit_codes.h"
#include "fleet.h"
#include "ota/host.h"
#include "ota/io.h"

/* 0, or the exit code: 3 unreadable file, 4 not a usable key. */
static int load_pub(const char *path, struct ota_pubkey *out, char *err, size_t cap)
{
    ota_key *k = NULL;
    char kerr[256];
    ota_err e = ota_key_load(path, &k, kerr, sizeof kerr);
    if (e != OTA_OK) {
        snprintf(err, cap, "%s", kerr);
        return e == OTA_ERR_FILE || e == OTA_ERR_IO ? OTA_EXIT_FILE : OTA_EXIT_KEY;
    }
    ota_key_pubkey(k, out);
    ota_key_free(k);
    return 0;
}

/* GET an admin route: its HTTP status (0: transport failure, err says why)
 * and its JSON answer in *o (NULL when it is not JSON; caller decrefs). */
static long admin_get(struct fleet *f, const char *path, json_t **o, char *raw, size_t rawcap,
                      char *err, size_t cap)
{
    char *resp = NULL;
    long st = fleet_http_sync(f->o->server, "GET", path, f->o->admin_token, NULL, &resp, err,
                              cap);
    *o = resp ? json_loads(resp, 0, NULL) : NULL;
    snprintf(raw, rawcap, "%s", resp ? resp : "");
    free(resp);
    return st;
}

static int server_key(struct fleet *f, char *err, size_t cap)
{
    char raw[320];
    const char *hex;
    json_t *o;
    long st;
    int ok;
    if (f->o->server_key[0])
        return load_pub(f->o->server_key, &f->server_key, err, cap);
    if (!f->o->admin_token[0]) {
        snprintf(err, cap, "give --server-key (the server's manifest public key) or "
                 "--admin-token-file to fetch it");
        return OTA_EXIT_USAGE;
    }
    st = admin_get(f, "/v1/server-key", &o, raw, sizeof raw, err, cap);
    if (st == 0)
        return OTA_EXIT_ERROR;
    hex = json_string_value(json_object_get(o, "spki"));
    ok = st == 200 && hex &&
         ota_hex_decode(hex, f->server_key.spki, sizeof f->server_key.spki) ==
             (int)sizeof f->server_key.spki;
    json_decref(o);
    if (!ok) {
        snprintf(err, cap, "GET /v1/server-key: HTTP %ld: %s", st, raw);
        return OTA_EXIT_ERROR;
    }
    return 0;
}

static int clock_offset(struct fleet *f, char *err, size_t cap)
{
    char raw[320];
    json_t *o;
    long st;
    int ok;
    if (!f->o->admin_token[0])
        return f->o->clock_rate > 0 ? (snprintf(err, cap, "--clock-rate needs the admin token"),
                                       OTA_EXIT_USAGE) : 0;
    st = admin_get(f, "/v1/admin/clock", &o, raw, sizeof raw, err, cap);
    if (st == 0)
        return OTA_EXIT_ERROR;
    ok = st == 200 && json_is_integer(json_object_get(o, "offset"));
    if (ok)
        f->clock_offset = json_integer_value(json_object_get(o, "offset"));
    json_decref(o);
    if (!ok && f->o->clock_rate > 0) {
        snprintf(err, cap, "--clock-rate: the server has no test clock (GET /v1/admin/clock: "
                 "HTTP %ld; start it with --test-clock)", st);
        return OTA_EXIT_CONFIG;
    }
    return 0;
}

static int initial_image(struct fleet *f, char *err, size_t cap)
{
    uint8_t *img = NULL;
    size_t len = 0;
    char rerr[300];
    ota_err e;
    int r;
    if (ota_file_read(f->o->image, &img, &len) != OTA_OK) {
        snprintf(err, cap, "%s: cannot read the image", f->o->image);
        return OTA_EXIT_FILE;
    }
    if (!f->o->hw_id[0]) { /* the image names its hardware */
        struct ota_reader rd;
        struct ota_mem_reader mr;
        struct ota_image_info info;
        ota_reader_from_mem(&rd, &mr, img, (uint32_t)len);
        if (ota_image_parse(&rd, &info, NULL) != OTA_OK || !info.hw_id_len) {
            snprintf(err, cap, "%s: no hardware id in the image: give --hw-id", f->o->image);
            free(img);
            return OTA_EXIT_ERROR;
        }
        memcpy(f->hw_id, info.hw_id, info.hw_id_len);
        f->hw_id_len = info.hw_id_len;
    }
    r = fleet_release_add(f, img, len, &e, rerr, sizeof rerr);
    free(img);
    if (r < 0) {
        snprintf(err, cap, "%s: %s", f->o->image, rerr);
        return OTA_EXIT_ERROR;
    }
    return 0;
}

int fleet_setup(struct fleet *f, char *err, size_t cap)
{
    int rc;
    if (f->o->hw_id[0]) {
        int n = ota_hw_id_parse(f->o->hw_id, f->hw_id);
        if (n < 0) {
            snprintf(err, cap, "--hw-id '%s': %s", f->o->hw_id, OTA_HW_ID_RULE);
            return OTA_EXIT_USAGE;
        }
        f->hw_id_len = (size_t)n;
    }
    if ((rc = load_pub(f->o->trusted_key, &f->fw_key, err, cap)) ||
        (rc = initial_image(f, err, cap)) || (rc = server_key(f, err, cap)) ||
        (rc = clock_offset(f, err, cap)))
        return rc;
    if (fleet_tokens_load(f) < 0)
        return OTA_EXIT_FILE;
    if (fleet_enrollment_token(f, err, cap))
        return OTA_EXIT_ERROR;
    return 0;
}
