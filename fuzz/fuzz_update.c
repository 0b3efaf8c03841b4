// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/fuzz_update.c - libFuzzer target for the update engine
 * (include/ota/update.h) fed payload streams it cannot trust, on a
 * provisioned device (slot A: confirmed v1). The first input byte picks a
 * mode, the second the chunking of the stream:
 *   0  byte edits (u16 offset, u8 xor) of a valid v2 image; the manifest
 *      names the ORIGINAL v2: any effective edit must be refused;
 *   1  the same edits, but the manifest honestly names the edited bytes:
 *      only image verification (hash, signature, policy) stands in the way;
 *   2  the rest of the input is a full image (manifest names it);
 *   3  the rest of the input is a delta patch against v1 towards v2.
 * Any crash or sanitizer report is a bug, and so is: finish succeeding with
 * a slot that does not hash to the manifest's target digest or does not
 * verify as the bootloader will; finish failing yet the device booting
 * anything but v1; a program of a non-erased unit or an erase of OTP (the
 * flash simulator, ota/sim.h, counts both as violations).
 *
 * The firmware key is the test-only fuzz/image-fuzz-key.pem (found next to
 * this file); the server key is generated at start-up. Empty input = the
 * valid update (mode 0 without edits).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/boot.h"
#include "ota/host.h"
#include "ota/image_build.h"
#include "ota/manifest_sign.h"
#include "ota/sim.h"
#include "ota/update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECTOR 1024u
#define SECTORS 64u
static struct ota_sim sim, tmpl; /* the device, and the state each run starts from */

#define NOW 1800000000ull
static struct ota_boot_dev dev;
static struct ota_boot_config cfg;
static ota_key *srv_key;
static struct ota_pubkey srv_pub;
static uint8_t *v1, *v2;
static size_t v1_len, v2_len;
static uint8_t v1_digest[OTA_SHA256_LEN], v2_digest[OTA_SHA256_LEN];

static uint64_t fixed_now(void *ctx)
{
    (void)ctx;
    return NOW;
}

static uint8_t *build(const ota_key *key, uint8_t major, size_t n, size_t *len)
{
    struct ota_build_params p;
    uint8_t *payload = malloc(n), *out = NULL;
    char err[128];
    for (size_t i = 0; i < n; i++)
        payload[i] = (uint8_t)(i * 31 + (i > n / 2 ? major : 0));
    memset(&p, 0, sizeof p);
    p.key = key;
    p.version.major = major;
    p.has_security_counter = 1;
    p.security_counter = major;
    p.hw_id = (const uint8_t *)"fuzz-board";
    p.hw_id_len = 10;
    if (ota_image_build(&p, payload, n, &out, len, err, sizeof err) != OTA_OK)
        abort();
    free(payload);
    return out;
}

static void init(void)
{
    static int done;
    struct ota_install ins;
    struct ota_boot_result res;
    char path[4096], err[256];
    const char *slash;
    ota_key *fw;

    if (done)
        return;
    done = 1;
    if (ota_sim_init(&sim, 1, 8, SECTOR, SECTORS) != OTA_OK ||
        ota_sim_init(&tmpl, 1, 8, SECTOR, SECTORS) != OTA_OK)
        abort();
    dev.flash = &sim.flash;
    dev.crypto = ota_crypto_openssl();
    slash = strrchr(__FILE__, '/');
    snprintf(path, sizeof path, "%.*simage-fuzz-key.pem",
             slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__);
    if (ota_key_load(path, &fw, err, sizeof err) != OTA_OK) {
        fprintf(stderr, "fuzz_update: %s\n", err);
        abort();
    }
    if (ota_key_generate(&srv_key) != OTA_OK || ota_key_pubkey(srv_key, &srv_pub) != OTA_OK)
        abort();
    if (ota_boot_layout_make(&sim.flash, 4096, 0, &cfg.layout) != OTA_OK ||
        ota_key_pubkey(fw, &cfg.key) != OTA_OK)
        abort();
    memcpy(cfg.hw_id, "fuzz-board", 10);
    cfg.hw_id_len = 10;
    cfg.max_attempts = 2;
    if (ota_boot_provision(&dev, &cfg, NULL) != OTA_OK)
        abort();
    /* OTP is never erased */
    ota_sim_protect(&sim, cfg.layout.otp_off / SECTOR, SECTORS - cfg.layout.otp_off / SECTOR);
    v1 = build(fw, 1, 6000, &v1_len);
    v2 = build(fw, 2, 6200, &v2_len);
    ota_sha256(dev.crypto, v1, v1_len, v1_digest);
    ota_sha256(dev.crypto, v2, v2_len, v2_digest);
    if (ota_install_begin(&ins, &dev, (uint32_t)v1_len, NULL) ||
        ota_install_write(&ins, v1, v1_len) || ota_install_finish(&ins, 1, NULL, NULL) ||
        ota_boot(&dev, &res) != OTA_OK || res.slot != 0)
        abort();
    if (ota_sim_copy(&tmpl, &sim) != OTA_OK)
        abort();
    ota_key_free(fw);
}

/* A manifest for this device, signed by the trusted server key. Full: the
 * payload IS the named target (payload is ignored). Delta: payload is the
 * patch, the target is named separately. */
static size_t make_manifest(int delta, const uint8_t *target_digest, uint32_t target_size,
                            const uint8_t *payload, size_t plen, uint8_t *out)
{
    struct ota_manifest m;
    size_t len = 0;
    memset(&m, 0, sizeof m);
    m.payload_kind = delta ? OTA_PAYLOAD_DELTA : OTA_PAYLOAD_FULL;
    m.campaign_id = 1;
    m.issued_at = NOW - 1;
    m.expires_at = NOW + 60;
    memcpy(m.target_digest, target_digest, OTA_SHA256_LEN);
    m.target_size = target_size;
    m.target_version.major = 2;
    m.target_security_counter = 2;
    if (delta) {
        ota_sha256(dev.crypto, payload, plen, m.payload_digest);
        m.payload_size = (uint32_t)plen;
        memcpy(m.base_digest, v1_digest, OTA_SHA256_LEN);
    } else {
        memcpy(m.payload_digest, target_digest, OTA_SHA256_LEN);
        m.payload_size = target_size;
    }
    memcpy(m.device_id, "fuzz-dev", 8);
    m.device_id_len = 8;
    memcpy(m.hw_id, "fuzz-board", 10);
    m.hw_id_len = 10;
    if (ota_manifest_sign(srv_key, &m, out, OTA_MANIFEST_MAX_LEN, &len) != OTA_OK)
        return 0; /* e.g. a zero-size payload the encoder refuses */
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t man[OTA_MANIFEST_MAX_LEN], digest[OTA_SHA256_LEN], *payload;
    struct ota_update_cfg uc;
    static struct ota_update u;
    struct ota_boot_result res;
    struct ota_image_info info;
    struct ota_diag diag;
    size_t plen, mlen, off, step;
    uint8_t mode = size ? data[0] & 3 : 0;
    uint8_t chunk = size > 1 ? data[1] : 7;
    int delta = 0;
    ota_err e;

    init();
    if (ota_sim_copy(&sim, &tmpl) != OTA_OK)
        abort();
    if (size > 2) {
        data += 2;
        size -= 2;
    } else {
        size = 0;
    }

    if (mode <= 1) {
        plen = v2_len;
        payload = malloc(plen);
        memcpy(payload, v2, plen);
        for (size_t i = 0; i + 3 <= size; i += 3)
            payload[(data[i] | (size_t)data[i + 1] << 8) % plen] ^= data[i + 2];
        if (mode == 0) {
            mlen = make_manifest(0, v2_digest, (uint32_t)v2_len, NULL, 0, man);
        } else {
            ota_sha256(dev.crypto, payload, plen, digest);
            mlen = make_manifest(0, digest, (uint32_t)plen, payload, plen, man);
        }
    } else {
        plen = size;
        payload = malloc(plen ? plen : 1);
        memcpy(payload, data, plen);
        delta = mode == 3;
        if (delta) {
            mlen = make_manifest(1, v2_digest, (uint32_t)v2_len, payload, plen, man);
        } else {
            ota_sha256(dev.crypto, payload, plen, digest);
            mlen = make_manifest(0, digest, (uint32_t)plen, payload, plen, man);
        }
    }
    if (mlen == 0) {
        free(payload);
        return 0;
    }

    memset(&uc, 0, sizeof uc);
    uc.dev = &dev;
    uc.server_keys = &srv_pub;
    uc.n_server_keys = 1;
    uc.device_id = "fuzz-dev";
    uc.clock.now = fixed_now;
    uc.running_slot = 0;
    e = ota_update_begin(&u, &uc, man, mlen, NULL, &diag);
    for (off = 0, step = (size_t)chunk % 61 + 1; !e && off < plen; off += step) {
        if (step > plen - off)
            step = plen - off;
        e = ota_update_write(&u, payload + off, step);
        step = step * 7 % 509 + 1;
    }
    if (!e)
        e = ota_update_finish(&u, &info);

    if (e == OTA_OK) {
        const struct ota_manifest *m = ota_update_manifest(&u);
        uint32_t slot_off = cfg.layout.slot_off[1];
        ota_sha256(dev.crypto, sim.mem + slot_off, m->target_size, digest);
        if (memcmp(digest, m->target_digest, OTA_SHA256_LEN) != 0)
            abort(); /* pending, but not the promised image */
        if (ota_boot_verify_slot(&dev, &cfg, 1, 1, &info, &diag) != OTA_OK)
            abort(); /* pending, but the bootloader would refuse it */
        if (mode == 0 && memcmp(payload, v2, v2_len) != 0)
            abort(); /* edited bytes accepted against the original manifest */
        if (ota_boot(&dev, &res) != OTA_OK || res.slot != 1 || !res.trial)
            abort();
    } else {
        if (ota_boot(&dev, &res) != OTA_OK || res.slot != 0 || res.trial)
            abort(); /* a refused update must leave v1 running, untouched */
    }
    if (sim.violations)
        abort(); /* a program of a non-erased unit, an erase of OTP */
    free(payload);
    return 0;
}
