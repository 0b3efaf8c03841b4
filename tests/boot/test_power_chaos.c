// SPDX-License-Identifier: Apache-2.0
/*
 * tests/boot/test_power_chaos.c - a long random life of a device, beside the
 * exhaustive scenario proof (test_power_loss.c): thousands of random steps
 * (install one of several images with different security counters, reboot,
 * confirm when on trial) with power cut at random points of random steps,
 * before or torn. Deterministic from a fixed seed.
 *
 * Asserted throughout: once an image has been confirmed the device never
 * ends in recovery; every boot runs a slot holding one of the signed test
 * images byte for byte, with a security counter >= the OTP counter; the OTP
 * counter never decreases; the boot state is never lost; the core never
 * breaks a NOR rule.
 */
#include "../test.h"
#include "boot_fixture.h"

#define N_IMG 8

static uint64_t rng = 0x5eed5eedULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void life(const char *geo, uint32_t sectors, uint32_t slot_size, ota_key *key,
                 struct fix_image *img, unsigned steps)
{
    const struct ota_sim_geometry *g = ota_sim_geometry_find(geo);
    struct fix_dev *d = calloc(1, sizeof *d);
    struct ota_boot_result res;
    unsigned cuts = 0, boots = 0, confirms = 0, installs = 0, refused = 0, step;
    uint32_t max_otp = 0, last_seq = 0;
    int running = -1, ever_confirmed = 0;

    REQUIRE(g && d);
    REQUIRE(fix_dev_make(d, g, sectors, slot_size, key, FIX_HW_ID, 2, ota_crypto_openssl()) == 0);
    for (step = 0; step < steps; step++) {
        uint32_t what = rnd(10);
        int cut = rnd(10) < 3;
        ota_err e;

        /* cut somewhere inside the step: installs take ~30-40 flash
         * operations, boots and confirms 0-3 */
        if (cut)
            ota_sim_arm_cut(&d->sim, rnd(2) ? OTA_SIM_CUT_TORN : OTA_SIM_CUT_BEFORE,
                            what < 3 ? rnd(40) : rnd(3), rng);
        if (what < 3) { /* install: mostly images the device can accept */
            int k = (int)rnd(N_IMG), slot;
            if (rnd(4) != 0)
                while (img[k].counter < fix_otp(d))
                    k = (int)rnd(N_IMG);
            e = fix_install(d, &img[k], 0, 1024, &slot);
            if (e == OTA_OK)
                installs++;
            else if (e == OTA_ERR_IMAGE_ROLLBACK)
                refused++;
            else if (e != OTA_ERR_POWER_LOSS) {
                fprintf(stderr, "step %u: install: %s\n", step, ota_errname(e));
                CHECK(0);
            }
        } else if (what < 5 && running >= 0) { /* healthy firmware confirms */
            e = ota_boot_confirm(&d->dev, running, NULL);
            if (e == OTA_OK) {
                confirms++;
                ever_confirmed = 1;
            } else if (e != OTA_ERR_POWER_LOSS && e != OTA_ERR_BOOT_NOT_ON_TRIAL) {
                fprintf(stderr, "step %u: confirm: %s\n", step, ota_errname(e));
                CHECK(0);
            }
        } else { /* reset */
            uint32_t otp = fix_otp(d);
            struct ota_boot_state st = fix_state(d);
            if (ever_confirmed)
                CHECK(st.seq != 0 && st.seq >= last_seq);
            e = ota_boot(&d->dev, &res);
            running = -1;
            if (e == OTA_OK) {
                int ok = 0;
                boots++;
                running = res.slot;
                for (int k = 0; k < N_IMG; k++)
                    ok |= fix_slot_holds(d, res.slot, &img[k]);
                CHECK(ok);
                CHECK(res.info.security_counter >= otp);
                if (res.state.confirmed == res.slot && !res.trial)
                    ever_confirmed = 1;
            } else if (e != OTA_ERR_POWER_LOSS) {
                if (ever_confirmed) {
                    fprintf(stderr, "step %u: recovery after a confirmed image: %s\n", step,
                            ota_errname(e));
                    CHECK(0);
                }
            }
        }
        if (d->sim.cut_fired) {
            cuts++;
            running = -1;
        }
        ota_sim_power_on(&d->sim);
        CHECK(fix_otp(d) >= max_otp);
        max_otp = fix_otp(d);
        if (fix_state(d).seq > last_seq)
            last_seq = fix_state(d).seq;
        if (d->sim.violations) {
            fprintf(stderr, "step %u: %s\n", step, d->sim.violation);
            CHECK(0);
            break;
        }
    }
    printf("  %-11s %u steps: %u power cuts, %u boots, %u installs (+%u refused), %u confirms, "
           "OTP counter %u\n",
           geo, steps, cuts, boots, installs, refused, confirms, max_otp);
    CHECK(cuts > steps / 16 && boots > steps / 10 && confirms > 10 && installs > steps / 10);
    ota_sim_free(&d->sim);
    free(d);
}

static void test_random_life(void)
{
    static const uint32_t COUNTERS[N_IMG] = {1, 1, 2, 2, 3, 3, 4, 4};
    struct fix_image img[N_IMG];
    ota_key *key;
    REQUIRE(ota_key_generate(&key) == OTA_OK);
    for (int k = 0; k < N_IMG; k++)
        REQUIRE(fix_image_make(&img[k], key, (uint8_t)(k + 1), COUNTERS[k], FIX_HW_ID, 6000,
                               (uint32_t)k + 10) == 0);
    life("generic-4k", 16, 8192, key, img, 3000);
    life("stm32f4", 6, 131072, key, img, 1500);
    life("spi-nor", 16, 8192, key, img, 3000);
    for (int k = 0; k < N_IMG; k++)
        fix_image_free(&img[k]);
    ota_key_free(key);
}

int main(void)
{
    RUN(test_random_life);
    return test_summary();
}
