// SPDX-License-Identifier: Apache-2.0
/*
 * tests/boot/boot_fixture.h - what the boot tests share: a signing key,
 * signed test images built with the host image builder, a provisioned
 * simulated device (tests/sim_device.h), and one-call install/boot/confirm helpers on top of the
 * core API (the same calls ota-sim and the update engine make).
 */
#ifndef OTA_TESTS_BOOT_FIXTURE_H
#define OTA_TESTS_BOOT_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/boot.h"
#include "ota/host.h"
#include "ota/image_build.h"
#include "ota/sim.h"
#include "../sim_device.h"

#define FIX_HW_ID "ota-test-board"

struct fix_image {
    uint8_t *data;
    size_t len;
    uint32_t counter;
    struct ota_image_version version;
};

/* Deterministic payload bytes. */
static inline void fix_fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* Build a signed image (major.0.0, security counter, hw id). */
static inline int fix_image_make(struct fix_image *img, const ota_key *key, uint8_t major,
                                 uint32_t counter, const char *hw_id, size_t payload_len,
                                 uint32_t seed)
{
    struct ota_build_params p;
    uint8_t *payload = malloc(payload_len);
    char err[256];
    ota_err e;

    if (!payload)
        return -1;
    fix_fill(payload, payload_len, seed);
    memset(&p, 0, sizeof p);
    p.key = key;
    p.version.major = major;
    p.has_security_counter = 1;
    p.security_counter = counter;
    if (hw_id) {
        p.hw_id = (const uint8_t *)hw_id;
        p.hw_id_len = strlen(hw_id);
    }
    e = ota_image_build(&p, payload, payload_len, &img->data, &img->len, err, sizeof err);
    free(payload);
    if (e) {
        fprintf(stderr, "image build failed: %s\n", err);
        return -1;
    }
    img->counter = counter;
    img->version = p.version;
    return 0;
}

static inline void fix_image_free(struct fix_image *img)
{
    free(img->data);
    img->data = NULL;
}

/* A provisioned device: geometry g with sector_count sectors (0: its own),
 * slot_size (0: max). Returns 0 on success. */
static inline int fix_dev_make(struct fix_dev *d, const struct ota_sim_geometry *g,
                               uint32_t sector_count, uint32_t slot_size, const ota_key *key,
                               const char *hw_id, uint8_t attempts, const struct ota_crypto *c)
{
    struct ota_pubkey pub;
    int rc;
    memset(d, 0, sizeof *d);
    if (ota_sim_init_geometry(&d->sim, g, sector_count) != OTA_OK)
        return -1;
    if (ota_key_pubkey(key, &pub) != OTA_OK)
        return -3;
    rc = fix_dev_provision(d, slot_size, &pub, hw_id, attempts, c);
    if (rc)
        return rc;
    ota_sim_protect(&d->sim, d->cfg.layout.otp_off / d->sim.flash.sector_size, 1);
    return 0;
}

/* Install an image through the core installer in `chunk`-byte writes. */
static inline ota_err fix_install(struct fix_dev *d, const struct fix_image *img, int permanent,
                                  size_t chunk, int *slot)
{
    struct ota_install ins;
    struct ota_diag diag;
    ota_err e = ota_install_begin(&ins, &d->dev, (uint32_t)img->len, &diag);
    for (size_t off = 0; !e && off < img->len; off += chunk) {
        size_t n = img->len - off < chunk ? img->len - off : chunk;
        e = ota_install_write(&ins, img->data + off, n);
    }
    if (!e)
        e = ota_install_finish(&ins, permanent, NULL, &diag);
    if (slot)
        *slot = ins.slot;
    return e;
}

/* 1 when slot `slot` holds exactly this image. */
static inline int fix_slot_holds(struct fix_dev *d, int slot, const struct fix_image *img)
{
    uint32_t off = d->cfg.layout.slot_off[slot];
    if (img->len > d->cfg.layout.slot_size)
        return 0;
    return memcmp(d->sim.mem + off, img->data, img->len) == 0;
}

static inline uint32_t fix_otp(struct fix_dev *d)
{
    struct ota_otp_counter c;
    int powered = d->sim.powered;
    d->sim.powered = 1; /* reading OTP in the test harness, not the device */
    if (ota_otp_read_counter(&d->sim.flash, &d->cfg.layout, &c) != OTA_OK)
        c.value = 0xffffffffu;
    d->sim.powered = powered;
    return c.value;
}

static inline struct ota_boot_state fix_state(struct fix_dev *d)
{
    struct ota_boot_state st;
    int powered = d->sim.powered;
    d->sim.powered = 1;
    if (ota_boot_state_read(&d->sim.flash, &d->cfg.layout, &st, NULL) != OTA_OK)
        memset(&st, 0xee, sizeof st);
    d->sim.powered = powered;
    return st;
}

#endif
