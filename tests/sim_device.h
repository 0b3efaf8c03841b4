// SPDX-License-Identifier: Apache-2.0
/*
 * tests/sim_device.h - the one simulated device the core and boot tests
 * drive: a flash simulator, the boot core's view of it (struct ota_boot_dev
 * with a scratch buffer) and its provisioned configuration.
 *
 * Why it exists: tests/core/fixture.h, tests/boot/boot_fixture.h and
 * tests/core/test_update.c each declared the same struct and the same
 * attach/provision steps; they now build on this header.
 */
#ifndef OTA_TESTS_SIM_DEVICE_H
#define OTA_TESTS_SIM_DEVICE_H

#include <string.h>

#include "ota/boot.h"
#include "ota/sim.h"

struct fix_dev {
    struct ota_sim sim;
    struct ota_boot_dev dev;
    struct ota_boot_config cfg;
    uint8_t buf[2048];
};

/* Point the boot core at the device's flash (after init or a copy). */
static inline void fix_attach(struct fix_dev *d, const struct ota_crypto *c)
{
    memset(&d->dev, 0, sizeof d->dev);
    d->dev.flash = &d->sim.flash;
    d->dev.crypto = c;
    d->dev.buf = d->buf;
    d->dev.buf_len = sizeof d->buf;
    d->dev.prog_chunk = 256;
}

/* Provision the device whose d->sim is already initialised: the default
 * layout with slots of slot_size bytes (0: as large as fits), images signed
 * by `pub` for hardware hw_id (NULL: any), `attempts` trial boots. Nothing is
 * installed. Returns 0, or a negative step number on failure. */
static inline int fix_dev_provision(struct fix_dev *d, uint32_t slot_size,
                                    const struct ota_pubkey *pub, const char *hw_id,
                                    uint8_t attempts, const struct ota_crypto *c)
{
    fix_attach(d, c);
    memset(&d->cfg, 0, sizeof d->cfg);
    if (ota_boot_layout_make(&d->sim.flash, 0, slot_size, &d->cfg.layout) != OTA_OK)
        return -2;
    d->cfg.key = *pub;
    if (hw_id) {
        d->cfg.hw_id_len = (uint8_t)strlen(hw_id);
        memcpy(d->cfg.hw_id, hw_id, d->cfg.hw_id_len);
    }
    d->cfg.max_attempts = attempts;
    if (ota_boot_provision(&d->dev, &d->cfg, NULL) != OTA_OK)
        return -4;
    return 0;
}

#endif
