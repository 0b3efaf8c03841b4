// SPDX-License-Identifier: Apache-2.0
/*
 * tests/core/fixture.h - the shared fixtures of the core tests that drive the
 * device-side update chain on the flash simulator: deterministic payloads,
 * signed images (clear or encrypted for a device key), a provisioned device
 * (generic-4k geometry) with an image confirmed in slot A, and signed offers
 * (manifests) for a full or delta payload.
 *
 * Why it exists: test_enc.c, test_update_power_cuts.c and test_port_faults.c
 * each built the same images, devices and manifests with their own copy of
 * this code. Everything here aborts on a fixture failure (it is not what a
 * test checks).
 */
#ifndef OTA_TESTS_CORE_FIXTURE_H
#define OTA_TESTS_CORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/boot.h"
#include "ota/host.h"
#include "ota/image_build.h"
#include "ota/image_enc.h"
#include "ota/manifest_sign.h"
#include "ota/sim.h"
#include "ota/update.h"
#include "../sim_device.h"

/* `len` bytes of a fixed pseudo-random sequence with `edits` bytes changed
 * (so two releases share most of their content). Caller frees. */
static inline uint8_t *cfx_payload(uint32_t len, int edits)
{
    uint8_t *p = malloc(len ? len : 1);
    uint32_t x = 7;
    if (!p)
        abort();
    for (uint32_t i = 0; i < len; i++) {
        x = x * 1664525u + 1013904223u;
        p[i] = (uint8_t)(x >> 24);
    }
    for (int i = 0; len && i < edits; i++)
        p[((uint32_t)i * 6007u) % len] ^= 0xa5;
    return p;
}

/* A signed image of version major.0.0 (security counter = major) for
 * hardware `hw`, encrypted for enc_key when it is not NULL (aes_bits 0: the
 * builder's default). Caller frees. */
static inline uint8_t *cfx_image(const ota_key *key, int major, const char *hw,
                                 const uint8_t *payload, uint32_t len, const ota_key *enc_key,
                                 unsigned aes_bits, size_t *out_len)
{
    struct ota_build_params p;
    uint8_t *out = NULL;
    char err[256];
    memset(&p, 0, sizeof p);
    p.key = key;
    p.version.major = (uint8_t)major;
    p.has_security_counter = 1;
    p.security_counter = (uint32_t)major;
    p.hw_id = (const uint8_t *)hw;
    p.hw_id_len = strlen(hw);
    p.enc_key = enc_key;
    p.enc_aes_bits = (uint16_t)aes_bits;
    if (ota_image_build(&p, payload, len, &out, out_len, err, sizeof err) != OTA_OK) {
        fprintf(stderr, "fixture: image build: %s\n", err);
        abort();
    }
    return out;
}

/* A blank generic-4k device (64 sectors), provisioned for images signed by
 * fw_pub for hardware `hw` (3 trial attempts); nothing installed. */
static inline void cfx_provision(struct fix_dev *d, const struct ota_crypto *c,
                                 const struct ota_pubkey *fw_pub, const char *hw)
{
    memset(d, 0, sizeof *d);
    if (ota_sim_init_geometry(&d->sim, ota_sim_geometry_find("generic-4k"), 64) != OTA_OK ||
        fix_dev_provision(d, 0, fw_pub, hw, 3, c))
        abort();
}

/* Install img confirmed in slot A (factory state), decrypting it with key k
 * when it is not NULL. */
static inline void cfx_factory_install(struct fix_dev *d, const uint8_t *img, size_t len,
                                       const struct ota_enc_key *k)
{
    struct ota_install ins;
    if (ota_install_begin(&ins, &d->dev, (uint32_t)len, NULL) ||
        (k && ota_install_decrypt(&ins, k)) || ota_install_write(&ins, img, len) ||
        ota_install_finish(&ins, 1, NULL, NULL))
        abort();
}

/* Random access to a payload held in memory, for ota_update_cfg's
 * payload_at (ctx: a struct cfx_mem_payload). */
struct cfx_mem_payload {
    const uint8_t *p;
    size_t len;
};

static inline ota_err cfx_payload_at(void *ctx, uint32_t off, void *buf, size_t len)
{
    const struct cfx_mem_payload *mp = ctx;
    if ((size_t)off + len > mp->len)
        return OTA_ERR_IO;
    memcpy(buf, mp->p + off, len);
    return OTA_OK;
}

/* A signed offer of `target` to device `device` on hardware `hw`, issued at
 * now - 5 and valid for an hour, campaign 1: a full payload, or a delta from
 * `base` when it is not NULL. The target's version comes from its header
 * (which is all that is read: the target may be deliberately broken), its
 * security counter is its major version (as cfx_image makes them). Returns
 * the manifest's length in out. */
static inline size_t cfx_offer(const ota_key *srv, const struct ota_crypto *c, const char *device,
                               const char *hw, uint64_t now, const uint8_t *target,
                               size_t target_len, const uint8_t *payload, size_t payload_len,
                               const uint8_t *base, size_t base_len,
                               uint8_t out[OTA_MANIFEST_MAX_LEN])
{
    struct ota_manifest m;
    struct ota_image_header h;
    size_t n = 0;
    memset(&m, 0, sizeof m);
    if (target_len < OTA_IMAGE_HEADER_SIZE)
        abort();
    ota_image_header_decode(target, &h);
    m.payload_kind = base ? OTA_PAYLOAD_DELTA : OTA_PAYLOAD_FULL;
    m.campaign_id = 1;
    m.issued_at = now - 5;
    m.expires_at = now + 3600;
    ota_sha256(c, target, target_len, m.target_digest);
    ota_sha256(c, payload, payload_len, m.payload_digest);
    if (base)
        ota_sha256(c, base, base_len, m.base_digest);
    m.target_size = (uint32_t)target_len;
    m.payload_size = (uint32_t)payload_len;
    m.target_version = h.version;
    m.target_security_counter = h.version.major;
    m.device_id_len = (uint8_t)strlen(device);
    memcpy(m.device_id, device, m.device_id_len);
    m.hw_id_len = (uint8_t)strlen(hw);
    memcpy(m.hw_id, hw, m.hw_id_len);
    if (ota_manifest_sign(srv, &m, out, OTA_MANIFEST_MAX_LEN, &n))
        abort();
    return n;
}

/* A power-cut case's device: a copy of base (contents, wear, OTP
 * protection) with writes durable as dur says, attached for crypto c. */
static inline void cfx_case_device(struct fix_dev *d, const struct fix_dev *base,
                                   enum ota_sim_durability dur, const struct ota_crypto *c)
{
    memset(&d->sim, 0, sizeof d->sim);
    if (ota_sim_init_geometry(&d->sim, ota_sim_geometry_find("generic-4k"), 64) ||
        ota_sim_set_durability(&d->sim, dur) || ota_sim_copy(&d->sim, &base->sim))
        abort();
    ota_sim_protect(&d->sim, base->sim.protect_first, base->sim.protect_count);
    fix_attach(d, c);
}

static inline uint64_t cfx_fixed_now(void *ctx);

/* The update engine's configuration of the power-cut loops: device
 * "dev-sim" on d, offers signed by srv, the fixed clock. */
static inline void cfx_update_cfg(struct ota_update_cfg *uc, struct fix_dev *d,
                                  const struct ota_pubkey *srv)
{
    memset(uc, 0, sizeof *uc);
    uc->dev = &d->dev;
    uc->server_keys = srv;
    uc->n_server_keys = 1;
    uc->device_id = "dev-sim";
    uc->clock.now = cfx_fixed_now;
}

/* The fixed clock of the power-cut loops (ota_update_cfg.clock.now). */
#define CFX_NOW 1800000000ull
static inline uint64_t cfx_fixed_now(void *ctx)
{
    (void)ctx;
    return CFX_NOW;
}

/* A power-cut loop's case failed: say which (its locals n, mode, seed, dur),
 * count it in out->failures and leave through its label `done`. */
#define CFX_CUT_FAILF(...)                                                                  \
    do {                                                                                    \
        fprintf(stderr, "cut %llu %s seed %llu%s: ", (unsigned long long)n,                 \
                mode == OTA_SIM_CUT_TORN ? "torn" : "before", (unsigned long long)seed,    \
                dur == OTA_SIM_DURABLE_ON_SYNC ? " (volatile until sync)" : "");           \
        fprintf(stderr, __VA_ARGS__);                                                       \
        fputc('\n', stderr);                                                                \
        out->failures++;                                                                    \
        goto done;                                                                          \
    } while (0)
#endif
