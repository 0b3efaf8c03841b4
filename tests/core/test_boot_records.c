// SPDX-License-Identifier: Apache-2.0
/*
 * tests/core/test_boot_records.c - direct tests of the boot core's records
 * where the core lives: stage 0 (bootloader region hash against OTP), the
 * OTP anti-rollback counter records and the boot-state log. Each check is
 * exercised by independent accepting and refusing cases, on two geometries.
 *
 * Why it exists: these checks were only reached through whole boot flows
 * (tests/boot), where a broken check can hide behind another one; here each
 * is driven on its own and the refusal's exact error and field asserted.
 */
#include "../test.h"
#include "../boot/boot_fixture.h"

static ota_key *g_key;
static const char *const GEOS[2] = {"generic-4k", "nrf52"};

static void make(struct fix_dev *d, int gi)
{
    if (fix_dev_make(d, ota_sim_geometry_find(GEOS[gi]), 16, 0, g_key, FIX_HW_ID, 3,
                     ota_crypto_openssl()) != 0)
        abort();
}

static void test_stage0(void)
{
    for (int gi = 0; gi < 2; gi++) {
        struct fix_dev d;
        struct ota_diag diag;
        make(&d, gi);
        /* accept: as provisioned */
        CHECK_EQ(ota_boot_stage0(&d.dev, &diag), OTA_OK);
        /* refuse: one bit of the bootloader code region changed */
        d.sim.mem[100] ^= 0x01;
        CHECK_EQ(ota_boot_stage0(&d.dev, &diag), OTA_ERR_BOOT_ROM_HASH);
        CHECK(diag.field && strcmp(diag.field, "bootloader region SHA-256 vs OTP") == 0);
        d.sim.mem[100] ^= 0x01;
        CHECK_EQ(ota_boot_stage0(&d.dev, &diag), OTA_OK); /* back: accepted again */
        /* refuse: the OTP hash differs by one bit */
        d.sim.mem[d.cfg.layout.otp_off + 5] ^= 0x80;
        CHECK_EQ(ota_boot_stage0(&d.dev, &diag), OTA_ERR_BOOT_ROM_HASH);
        d.sim.mem[d.cfg.layout.otp_off + 5] ^= 0x80;
        /* refuse: the config block claims a region size that is not whole
         * sectors (the hash would otherwise cover a different region) */
        d.sim.mem[12] ^= 0x01;
        CHECK_EQ(ota_boot_stage0(&d.dev, &diag), OTA_ERR_BOOT_ROM_HASH);
        CHECK(diag.field && strcmp(diag.field, "bootloader region size (config block)") == 0);
        d.sim.mem[12] ^= 0x01;
        /* refuse: OTP never provisioned (all 0xFF) */
        memset(d.sim.mem + d.cfg.layout.otp_off, 0xff, OTA_SHA256_LEN);
        CHECK_EQ(ota_boot_stage0(&d.dev, &diag), OTA_ERR_OTP);
        CHECK(diag.field && strcmp(diag.field, "OTP bootloader hash (not provisioned)") == 0);
        ota_sim_free(&d.sim);
    }
}

static void test_otp_counter(void)
{
    for (int gi = 0; gi < 2; gi++) {
        struct fix_dev d;
        struct ota_otp_counter c;
        const struct ota_flash *f;
        uint64_t ops;
        uint32_t v = 0;
        make(&d, gi);
        f = &d.sim.flash;
        REQUIRE(ota_otp_read_counter(f, &d.cfg.layout, &c) == OTA_OK);
        CHECK_EQ(c.value, 0);
        CHECK_EQ(c.used, 0);
        CHECK(c.capacity > 4);
        /* accept: raises go up */
        CHECK_EQ(ota_otp_raise_counter(f, &d.cfg.layout, 3), OTA_OK);
        CHECK_EQ(ota_otp_raise_counter(f, &d.cfg.layout, 7), OTA_OK);
        REQUIRE(ota_otp_read_counter(f, &d.cfg.layout, &c) == OTA_OK);
        CHECK_EQ(c.value, 7);
        CHECK_EQ(c.used, 2);
        /* refuse (no-op): a lower or equal value writes nothing */
        ops = d.sim.ops;
        CHECK_EQ(ota_otp_raise_counter(f, &d.cfg.layout, 5), OTA_OK);
        CHECK_EQ(ota_otp_raise_counter(f, &d.cfg.layout, 7), OTA_OK);
        CHECK_EQ(d.sim.ops, ops);
        REQUIRE(ota_otp_read_counter(f, &d.cfg.layout, &c) == OTA_OK);
        CHECK_EQ(c.value, 7);
        /* refuse: a torn record (value and complement disagree) counts as
         * used but never as a value, even a large one */
        {
            /* records: value, ~value (8 bytes) per program unit, after the
             * 32-byte bootloader hash (docs/boot.md); the third unit */
            uint32_t ps = f->prog_size, unit = (8u + ps - 1) / ps * ps;
            uint32_t base = (OTA_SHA256_LEN + unit - 1) / unit * unit;
            uint8_t *third = d.sim.mem + d.cfg.layout.otp_off + base + 2 * unit;
            REQUIRE(third[0] == 0xff && *(third - unit) != 0xff);
            /* what a cut inside the program could leave: value set, no complement */
            third[0] = 0x00;
            third[1] = 0x01;
        }
        REQUIRE(ota_otp_read_counter(f, &d.cfg.layout, &c) == OTA_OK);
        CHECK_EQ(c.value, 7);
        CHECK_EQ(c.used, 3);
        CHECK_EQ(ota_otp_raise_counter(f, &d.cfg.layout, 8), OTA_OK); /* after the torn one */
        REQUIRE(ota_otp_read_counter(f, &d.cfg.layout, &c) == OTA_OK);
        CHECK_EQ(c.value, 8);
        CHECK_EQ(c.used, 4);
        /* refuse: full area */
        for (v = 9; c.used < c.capacity; v++) {
            REQUIRE(ota_otp_raise_counter(f, &d.cfg.layout, v) == OTA_OK);
            REQUIRE(ota_otp_read_counter(f, &d.cfg.layout, &c) == OTA_OK);
        }
        CHECK_EQ(ota_otp_raise_counter(f, &d.cfg.layout, v + 1), OTA_ERR_OTP_FULL);
        CHECK_EQ(ota_otp_raise_counter(f, &d.cfg.layout, v - 1), OTA_OK); /* not a raise */
        CHECK_EQ(d.sim.violations, 0);
        ota_sim_free(&d.sim);
    }
}

static void test_boot_state_log(void)
{
    for (int gi = 0; gi < 2; gi++) {
        struct fix_dev d;
        struct ota_boot_state st, got;
        struct ota_boot_state_info inf;
        const struct ota_flash *f;
        uint32_t rec_off, n;
        make(&d, gi);
        f = &d.sim.flash;
        REQUIRE(ota_boot_state_read(f, &d.cfg.layout, &st, &inf) == OTA_OK);
        CHECK(st.seq >= 1); /* provisioning wrote one */
        CHECK_EQ(inf.bad_records, 0);
        /* accept: a record round-trips with the next sequence number */
        got = st;
        got.confirmed = 1;
        got.pending = 0;
        got.attempts = 2;
        got.rejected = OTA_SLOT_NONE;
        CHECK_EQ(ota_boot_state_write(f, &d.cfg.layout, &got), OTA_OK);
        REQUIRE(ota_boot_state_read(f, &d.cfg.layout, &got, &inf) == OTA_OK);
        CHECK_EQ(got.seq, st.seq + 1);
        CHECK(got.confirmed == 1 && got.pending == 0 && got.attempts == 2 &&
              got.rejected == OTA_SLOT_NONE);
        /* accept: across the sector switch, the newest record wins */
        for (n = 0; n < inf.records_per_sector + 3; n++)
            REQUIRE(ota_boot_state_write(f, &d.cfg.layout, &got) == OTA_OK);
        REQUIRE(ota_boot_state_read(f, &d.cfg.layout, &st, &inf) == OTA_OK);
        CHECK_EQ(st.seq, got.seq + inf.records_per_sector + 3);
        CHECK(inf.valid_records > inf.records_per_sector); /* both sectors in use */
        /* refuse: the newest record corrupted (one bit) is skipped, the one
         * before it counts; the next write goes after the bad one */
        rec_off = d.cfg.layout.state_off + (uint32_t)inf.sector * f->sector_size +
                  (inf.next - 1) * inf.record_size;
        d.sim.mem[rec_off + 8] ^= 0x04;
        REQUIRE(ota_boot_state_read(f, &d.cfg.layout, &got, &inf) == OTA_OK);
        CHECK_EQ(got.seq, st.seq - 1);
        CHECK_EQ(inf.bad_records, 1);
        CHECK_EQ(ota_boot_state_write(f, &d.cfg.layout, &got), OTA_OK);
        REQUIRE(ota_boot_state_read(f, &d.cfg.layout, &st, &inf) == OTA_OK);
        CHECK_EQ(st.seq, got.seq + 1);
        /* refuse: bad magic */
        rec_off = d.cfg.layout.state_off + (uint32_t)inf.sector * f->sector_size +
                  (inf.next - 1) * inf.record_size;
        d.sim.mem[rec_off] ^= 0x01;
        REQUIRE(ota_boot_state_read(f, &d.cfg.layout, &got, &inf) == OTA_OK);
        CHECK_EQ(got.seq, st.seq - 1);
        /* refuse: slot values the log cannot hold, nothing written */
        {
            uint64_t ops = d.sim.ops;
            struct ota_boot_state bad = got;
            bad.pending = 2;
            CHECK_EQ(ota_boot_state_write(f, &d.cfg.layout, &bad), OTA_ERR_INVALID_ARG);
            bad = got;
            bad.confirmed = 7;
            CHECK_EQ(ota_boot_state_write(f, &d.cfg.layout, &bad), OTA_ERR_INVALID_ARG);
            CHECK_EQ(d.sim.ops, ops);
        }
        /* refuse: every record unreadable -> the empty state (seq 0) */
        memset(d.sim.mem + d.cfg.layout.state_off, 0x00, 2 * f->sector_size);
        REQUIRE(ota_boot_state_read(f, &d.cfg.layout, &got, &inf) == OTA_OK);
        CHECK_EQ(got.seq, 0);
        CHECK_EQ(got.confirmed, OTA_SLOT_NONE);
        CHECK(inf.bad_records > 0 && inf.valid_records == 0);
        CHECK_EQ(d.sim.violations, 0);
        ota_sim_free(&d.sim);
    }
}

int main(void)
{
    if (ota_key_generate(&g_key) != OTA_OK)
        return 2;
    RUN(test_stage0);
    RUN(test_otp_counter);
    RUN(test_boot_state_log);
    ota_key_free(g_key);
    return test_summary();
}
