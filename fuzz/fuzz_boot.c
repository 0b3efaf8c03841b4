// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/fuzz_boot.c - libFuzzer target for the bootloader core reading flash
 * it cannot trust: the fuzz input overwrites the boot-state sectors, the OTP
 * counter area and slot B of a provisioned device (slot A: a confirmed valid
 * image), then the device is booted repeatedly, confirms trials, and takes
 * an install. Any crash or sanitizer report is a bug, and so is any of:
 * a boot of an image below the OTP counter, an OTP counter that decreases,
 * a program of a non-erased unit or an erase of the OTP sector (the flash
 * simulator, ota/sim.h, counts both as violations), a boot state that
 * cannot be read back after the core wrote it.
 *
 * Seeds: fuzz/corpus/boot/ (blank areas and real state logs).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota/boot.h"
#include "ota/host.h"
#include "ota/image_build.h"
#include "ota/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECTOR 1024u
#define SECTORS 32u
static struct ota_sim sim, tmpl; /* the device, and the state each run starts from */
static struct ota_boot_dev dev;
static struct ota_boot_config cfg;
static uint8_t *img2;
static size_t img2_len;

static uint8_t *build(const ota_key *key, uint8_t major, uint32_t counter, size_t *len)
{
    struct ota_build_params p;
    uint8_t payload[1500], *out = NULL;
    char err[128];
    memset(&p, 0, sizeof p);
    memset(payload, major, sizeof payload);
    p.key = key;
    p.version.major = major;
    p.has_security_counter = 1;
    p.security_counter = counter;
    p.hw_id = (const uint8_t *)"fuzz";
    p.hw_id_len = 4;
    if (ota_image_build(&p, payload, sizeof payload, &out, len, err, sizeof err) != OTA_OK)
        abort();
    return out;
}

static ota_err install(const uint8_t *img, size_t len, int permanent)
{
    struct ota_install ins;
    ota_err e = ota_install_begin(&ins, &dev, (uint32_t)len, NULL);
    if (!e)
        e = ota_install_write(&ins, img, len);
    if (!e)
        e = ota_install_finish(&ins, permanent, NULL, NULL);
    return e;
}

static void init(void)
{
    static int done;
    struct ota_boot_result res;
    ota_key *key;
    uint8_t *img1;
    size_t len1;

    if (done)
        return;
    done = 1;
    if (ota_sim_init(&sim, 1, 8, SECTOR, SECTORS) != OTA_OK ||
        ota_sim_init(&tmpl, 1, 8, SECTOR, SECTORS) != OTA_OK)
        abort();
    dev.flash = &sim.flash;
    dev.crypto = ota_crypto_openssl();
    if (ota_key_generate(&key) != OTA_OK)
        abort();
    if (ota_boot_layout_make(&sim.flash, 4096, 4096, &cfg.layout) != OTA_OK ||
        ota_key_pubkey(key, &cfg.key) != OTA_OK)
        abort();
    memcpy(cfg.hw_id, "fuzz", 4);
    cfg.hw_id_len = 4;
    cfg.max_attempts = 2;
    if (ota_boot_provision(&dev, &cfg, NULL) != OTA_OK)
        abort();
    /* OTP is never erased */
    ota_sim_protect(&sim, cfg.layout.otp_off / SECTOR, SECTORS - cfg.layout.otp_off / SECTOR);
    img1 = build(key, 1, 3, &len1);
    img2 = build(key, 2, 5, &img2_len);
    if (install(img1, len1, 1) != OTA_OK || ota_boot(&dev, &res) != OTA_OK || res.slot != 0)
        abort();
    if (ota_sim_copy(&tmpl, &sim) != OTA_OK)
        abort();
    free(img1);
    ota_key_free(key);
}

static uint32_t otp_value(void)
{
    struct ota_otp_counter c;
    if (ota_otp_read_counter(&sim.flash, &cfg.layout, &c) != OTA_OK)
        abort();
    return c.value;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ota_boot_result res;
    struct ota_boot_state st;
    uint32_t state_len = 2 * SECTOR, otp_len = SECTOR - 32, otp, n;
    int k;

    init();
    if (ota_sim_copy(&sim, &tmpl) != OTA_OK)
        abort();
    /* overlay: state sectors, OTP counter records, slot B */
    n = size < state_len ? (uint32_t)size : state_len;
    memcpy(sim.mem + cfg.layout.state_off, data, n);
    data += n;
    size -= n;
    n = size < otp_len ? (uint32_t)size : otp_len;
    for (uint32_t i = 0; i < n; i++) /* OTP bits only ever burn */
        sim.mem[cfg.layout.otp_off + 32 + i] &= data[i];
    data += n;
    size -= n;
    n = size < cfg.layout.slot_size ? (uint32_t)size : cfg.layout.slot_size;
    memcpy(sim.mem + cfg.layout.slot_off[1], data, n);

    for (k = 0; k < 5; k++) {
        otp = otp_value();
        if (ota_boot(&dev, &res) == OTA_OK) {
            if (res.slot < 0 || res.info.security_counter < otp)
                abort();
            if (ota_boot_state_read(&sim.flash, &cfg.layout, &st, NULL) != OTA_OK || st.seq == 0)
                abort(); /* the core wrote or kept a state: it must read back */
            if (res.trial && (k & 1))
                (void)ota_boot_confirm(&dev, res.slot, NULL);
        }
        if (otp_value() < otp)
            abort();
    }
    /* an install on top of whatever state the input left */
    otp = otp_value();
    (void)install(img2, img2_len, 0);
    if (ota_boot(&dev, &res) == OTA_OK && res.info.security_counter < otp)
        abort();
    if (otp_value() < otp)
        abort();
    if (sim.violations)
        abort(); /* a program of a non-erased unit, an erase of OTP */
    return 0;
}
