// SPDX-License-Identifier: Apache-2.0
/*
 * tests/sim/vouched.h - the durability invariant the power-cut tests assert
 * after every cut: whatever the boot state or the OTP counter vouches for is
 * really in flash. A slot marked pending or confirmed holds an image that
 * verifies (hash, signature, hardware id), and the OTP anti-rollback counter
 * is not above the security counter of every such image (OTP was not raised
 * on the word of an image that is not there).
 *
 * Why it exists: with writes that stay volatile until sync (the simulator's
 * OTA_SIM_DURABLE_ON_SYNC mode), a missing or misplaced sync shows up as a
 * mark that survived a cut while the data it vouches for did not. The boot,
 * delta and update-engine power-cut loops share this one check.
 */
#ifndef OTA_TESTS_SIM_VOUCHED_H
#define OTA_TESTS_SIM_VOUCHED_H

#include <stdio.h>

#include "ota/boot.h"

/* 0 when the invariant holds; else 1 and the reason in why. */
static inline int sim_vouched_check(const struct ota_boot_dev *dev, char *why, size_t n)
{
    struct ota_boot_config cfg;
    struct ota_boot_state st;
    struct ota_otp_counter otp;
    struct ota_image_info info;
    uint32_t best = 0;
    int vouched = 0;
    uint8_t which[2];
    ota_err e;

    if ((e = ota_boot_config_read(dev->flash, &cfg, NULL)) != OTA_OK ||
        (e = ota_boot_state_read(dev->flash, &cfg.layout, &st, NULL)) != OTA_OK ||
        (e = ota_otp_read_counter(dev->flash, &cfg.layout, &otp)) != OTA_OK) {
        snprintf(why, n, "config/state/OTP unreadable: %s", ota_errname(e));
        return 1;
    }
    which[0] = st.pending;
    which[1] = st.confirmed;
    for (int i = 0; i < 2; i++) {
        if (which[i] > 1)
            continue;
        e = ota_boot_verify_slot(dev, &cfg, which[i], 0, &info, NULL);
        if (e != OTA_OK) {
            snprintf(why, n, "slot %u is marked %s but its image does not verify: %s",
                     which[i], i ? "confirmed" : "pending", ota_errname(e));
            return 1;
        }
        vouched = 1;
        if (info.security_counter > best)
            best = info.security_counter;
    }
    if (vouched && otp.value > best) {
        snprintf(why, n, "OTP counter %u above every marked image's counter (%u)", otp.value,
                 best);
        return 1;
    }
    return 0;
}

#endif
