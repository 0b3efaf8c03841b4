// SPDX-License-Identifier: Apache-2.0
/*
 * tests/boot/test_boot.c - the bootloader core case by case: layout and
 * config block, OTP (ROM hash, counter records, torn records, exhaustion),
 * boot-state log, stage 0 against tampering, the boot flow (trial, confirm,
 * revert, fallback, recovery, rollback, wrong key / hw id / size), with both
 * crypto backends.
 */
#include "../test.h"
#include "boot_fixture.h"

static ota_key *key, *other_key;
static struct fix_image v1, v2, v3, foreign, wrong_hw, no_hw;

static const struct ota_sim_geometry *geo(void)
{
    return ota_sim_geometry_find("generic-4k");
}

static void test_layout(void)
{
    for (size_t i = 0; i < ota_sim_geometry_count(); i++) {
        const struct ota_sim_geometry *g = ota_sim_geometry_at(i);
        struct ota_sim s;
        struct ota_boot_layout l;
        REQUIRE(ota_sim_init_geometry(&s, g, 0) == OTA_OK);
        CHECK(ota_boot_layout_make(&s.flash, 0, 0, &l) == OTA_OK);
        CHECK(ota_boot_layout_check(&s.flash, &l) == OTA_OK);
        CHECK_EQ(l.otp_off, ota_flash_size(&s.flash) - g->sector_size);
        CHECK(l.slot_size >= 256 * 1024); /* every named geometry holds a 256 KiB image */
        CHECK(l.slot_off[1] == l.slot_off[0] + l.slot_size);
        /* overlapping or misplaced regions are refused */
        l.slot_off[1] -= g->sector_size;
        CHECK(ota_boot_layout_check(&s.flash, &l) == OTA_ERR_BOOT_LAYOUT);
        l.slot_off[1] += g->sector_size;
        l.otp_off -= g->sector_size;
        CHECK(ota_boot_layout_check(&s.flash, &l) == OTA_ERR_BOOT_LAYOUT);
        CHECK(ota_boot_layout_make(&s.flash, 0, ota_flash_size(&s.flash) / 2, &l) ==
              OTA_ERR_BOOT_LAYOUT);
        ota_sim_free(&s);
    }
}

static void test_config_block(void)
{
    struct fix_dev *d = calloc(1, sizeof *d);
    struct ota_boot_config cfg;
    struct ota_diag diag;
    uint8_t raw[OTA_BOOT_CFG_SIZE];
    REQUIRE(fix_dev_make(d, geo(), 32, 0, key, FIX_HW_ID, 3, ota_crypto_openssl()) == 0);
    CHECK(ota_boot_config_read(&d->sim.flash, &cfg, &diag) == OTA_OK);
    CHECK(memcmp(&cfg.layout, &d->cfg.layout, sizeof cfg.layout) == 0);
    CHECK(memcmp(cfg.key.spki, d->cfg.key.spki, OTA_P256_SPKI_LEN) == 0);
    CHECK_EQ(cfg.hw_id_len, strlen(FIX_HW_ID));
    CHECK_EQ(cfg.max_attempts, 3);
    ota_boot_config_encode(&d->cfg, raw);
    raw[100] ^= 1;
    CHECK(ota_boot_config_decode(&d->sim.flash, raw, &cfg, &diag) == OTA_ERR_BOOT_LAYOUT);
    CHECK(strstr(diag.field, "CRC") != NULL);
    raw[0] = 'X';
    CHECK(ota_boot_config_decode(&d->sim.flash, raw, &cfg, &diag) == OTA_ERR_BOOT_LAYOUT);
    CHECK(strstr(diag.field, "magic") != NULL);
    ota_sim_free(&d->sim);
    free(d);
}

static void test_otp(void)
{
    struct fix_dev *d = calloc(1, sizeof *d);
    struct ota_otp_counter c;
    uint8_t h[OTA_SHA256_LEN];
    int prov = 0;
    uint32_t base;
    REQUIRE(fix_dev_make(d, geo(), 32, 0, key, NULL, 3, ota_crypto_openssl()) == 0);
    CHECK(ota_otp_read_rom_hash(&d->sim.flash, &d->cfg.layout, h, &prov) == OTA_OK && prov);
    CHECK(ota_otp_read_counter(&d->sim.flash, &d->cfg.layout, &c) == OTA_OK);
    CHECK_EQ(c.value, 0);
    CHECK_EQ(c.used, 0);
    CHECK_EQ(c.capacity, (4096 - 32) / 8);
    CHECK(ota_otp_raise_counter(&d->sim.flash, &d->cfg.layout, 5) == OTA_OK);
    CHECK(ota_otp_raise_counter(&d->sim.flash, &d->cfg.layout, 3) == OTA_OK); /* no-op */
    CHECK(ota_otp_raise_counter(&d->sim.flash, &d->cfg.layout, 5) == OTA_OK); /* no-op */
    CHECK(ota_otp_read_counter(&d->sim.flash, &d->cfg.layout, &c) == OTA_OK);
    CHECK_EQ(c.value, 5);
    CHECK_EQ(c.used, 1);
    /* a torn record (value half burned) is never read as a value */
    base = d->cfg.layout.otp_off + 32;
    d->sim.mem[base + 8] = 0x00; /* unit 1: value bytes burned ... */
    d->sim.mem[base + 9] = 0x00;
    d->sim.mem[base + 10] = 0x00; /* ... complement never written */
    d->sim.mem[base + 11] = 0x00;
    CHECK(ota_otp_read_counter(&d->sim.flash, &d->cfg.layout, &c) == OTA_OK);
    CHECK_EQ(c.value, 5);
    CHECK_EQ(c.used, 2);
    CHECK(ota_otp_raise_counter(&d->sim.flash, &d->cfg.layout, 0x01020003u) == OTA_OK);
    CHECK(ota_otp_read_counter(&d->sim.flash, &d->cfg.layout, &c) == OTA_OK);
    CHECK_EQ(c.value, 0x01020003u); /* imgtool's "auto" counters fit */
    CHECK_EQ(d->sim.violations, 0);  /* the torn unit was skipped, not reprogrammed */
    /* exhaustion */
    for (uint32_t v = 0x01020004u; c.used < c.capacity; v++) {
        REQUIRE(ota_otp_raise_counter(&d->sim.flash, &d->cfg.layout, v) == OTA_OK);
        REQUIRE(ota_otp_read_counter(&d->sim.flash, &d->cfg.layout, &c) == OTA_OK);
    }
    CHECK(ota_otp_raise_counter(&d->sim.flash, &d->cfg.layout, 0xffffff00u) == OTA_ERR_OTP_FULL);
    CHECK_EQ(d->sim.violations, 0);
    ota_sim_free(&d->sim);
    free(d);
}

static void test_state_log(void)
{
    struct fix_dev *d = calloc(1, sizeof *d);
    struct ota_boot_state st, rd;
    struct ota_boot_state_info inf;
    uint32_t i, state_sector;
    REQUIRE(fix_dev_make(d, geo(), 32, 0, key, NULL, 3, ota_crypto_openssl()) == 0);
    CHECK(ota_boot_state_read(&d->sim.flash, &d->cfg.layout, &rd, &inf) == OTA_OK);
    CHECK_EQ(rd.seq, 1); /* provisioning wrote the first record */
    CHECK_EQ(rd.confirmed, OTA_SLOT_NONE);
    CHECK_EQ(inf.records_per_sector, 64);
    state_sector = d->cfg.layout.state_off / 4096;
    /* 300 updates: each readable, old sector erased once per 64 records */
    for (i = 0; i < 300; i++) {
        st.seq = 0;
        st.confirmed = (uint8_t)(i & 1);
        st.pending = (uint8_t)(i % 3 == 0 ? OTA_SLOT_NONE : 1 - (i & 1));
        st.attempts = (uint8_t)i;
        st.rejected = OTA_SLOT_NONE;
        REQUIRE(ota_boot_state_write(&d->sim.flash, &d->cfg.layout, &st) == OTA_OK);
        REQUIRE(ota_boot_state_read(&d->sim.flash, &d->cfg.layout, &rd, &inf) == OTA_OK);
        CHECK_EQ(rd.seq, i + 2);
        CHECK_EQ(rd.confirmed, st.confirmed);
        CHECK_EQ(rd.pending, st.pending);
        CHECK_EQ(rd.attempts, st.attempts);
    }
    /* 301 records = 4 full sector switches after the first; 1 erase at chip
     * erase + at most ceil(301/64)/2+1 per sector */
    CHECK(d->sim.erase_count[state_sector] <= 5);
    CHECK(d->sim.erase_count[state_sector + 1] <= 5);
    CHECK(d->sim.erase_count[state_sector] + d->sim.erase_count[state_sector + 1] >= 6);
    /* a corrupted newest record falls back to the one before */
    {
        uint32_t off = d->cfg.layout.state_off + (uint32_t)inf.sector * 4096 + (inf.next - 1) * 64;
        d->sim.mem[off + 8] ^= 0x01;
        REQUIRE(ota_boot_state_read(&d->sim.flash, &d->cfg.layout, &rd, &inf) == OTA_OK);
        CHECK_EQ(rd.seq, 300);
        CHECK_EQ(inf.bad_records, 1);
        /* the next write skips the damaged slot */
        REQUIRE(ota_boot_state_write(&d->sim.flash, &d->cfg.layout, &st) == OTA_OK);
        REQUIRE(ota_boot_state_read(&d->sim.flash, &d->cfg.layout, &rd, &inf) == OTA_OK);
        CHECK_EQ(rd.seq, 301);
    }
    CHECK_EQ(d->sim.violations, 0);
    ota_sim_free(&d->sim);
    free(d);
}

static void test_stage0_tamper(void)
{
    struct fix_dev *d = calloc(1, sizeof *d);
    struct ota_boot_result res;
    struct ota_diag diag;
    REQUIRE(fix_dev_make(d, geo(), 32, 0, key, FIX_HW_ID, 3, ota_crypto_openssl()) == 0);
    REQUIRE(fix_install(d, &v1, 1, 4096, NULL) == OTA_OK);
    CHECK(ota_boot_stage0(&d->dev, &diag) == OTA_OK);
    CHECK(ota_boot(&d->dev, &res) == OTA_OK && res.slot == 0);
    /* bootloader code changed: refused by stage 0, nothing runs */
    d->sim.mem[8000] ^= 0x40;
    CHECK(ota_boot_stage0(&d->dev, &diag) == OTA_ERR_BOOT_ROM_HASH);
    CHECK(ota_boot(&d->dev, &res) == OTA_ERR_BOOT_ROM_HASH && res.slot == -1);
    CHECK(res.reason == OTA_ERR_BOOT_ROM_HASH);
    d->sim.mem[8000] ^= 0x40;
    /* trusted key swapped for an attacker's (CRC fixed up): still refused */
    {
        struct ota_boot_config cfg = d->cfg;
        uint8_t raw[OTA_BOOT_CFG_SIZE];
        REQUIRE(ota_key_pubkey(other_key, &cfg.key) == OTA_OK);
        ota_boot_config_encode(&cfg, raw);
        memcpy(d->sim.mem, raw, sizeof raw);
        CHECK(ota_boot(&d->dev, &res) == OTA_ERR_BOOT_ROM_HASH);
        ota_boot_config_encode(&d->cfg, raw);
        memcpy(d->sim.mem, raw, sizeof raw);
    }
    /* a shrunken region size in the config does not dodge the hash */
    d->sim.mem[12] = 0x00;
    d->sim.mem[13] = 0x10; /* 4096 instead of 16384 */
    CHECK(ota_boot_stage0(&d->dev, &diag) == OTA_ERR_BOOT_ROM_HASH);
    d->sim.mem[12] = 0x00;
    d->sim.mem[13] = 0x40;
    CHECK(ota_boot_stage0(&d->dev, &diag) == OTA_OK);
    /* OTP never provisioned */
    memset(d->sim.mem + d->cfg.layout.otp_off, 0xff, 32);
    CHECK(ota_boot_stage0(&d->dev, &diag) == OTA_ERR_OTP);
    ota_sim_free(&d->sim);
    free(d);
}

/* The whole life cycle, with one crypto backend. */
static void flow(const struct ota_crypto *c)
{
    struct fix_dev *d = calloc(1, sizeof *d);
    struct ota_boot_result res;
    struct ota_boot_state st;
    struct ota_diag diag;
    int slot;

    REQUIRE(fix_dev_make(d, geo(), 64, 0, key, FIX_HW_ID, 2, c) == 0);
    /* empty device: recovery, with both slots' reasons */
    CHECK(ota_boot(&d->dev, &res) == OTA_ERR_BOOT_NO_VALID_SLOT);
    CHECK(res.slot == -1 && res.slot_err[0] == OTA_ERR_IMAGE_BAD_MAGIC &&
          res.slot_err[1] == OTA_ERR_IMAGE_BAD_MAGIC);
    /* first install goes to A, trial, confirm */
    CHECK(fix_install(d, &v1, 0, 1000, &slot) == OTA_OK && slot == 0);
    CHECK(ota_boot(&d->dev, &res) == OTA_OK);
    CHECK(res.slot == 0 && res.trial && res.attempts_left == 1);
    CHECK(ota_boot_confirm(&d->dev, 0, &diag) == OTA_OK);
    CHECK_EQ(fix_otp(d), 1);
    CHECK(ota_boot_confirm(&d->dev, 0, &diag) == OTA_OK); /* idempotent */
    CHECK(ota_boot_confirm(&d->dev, 1, &diag) == OTA_ERR_BOOT_NOT_ON_TRIAL);
    CHECK(ota_boot(&d->dev, &res) == OTA_OK && res.slot == 0 && !res.trial);

    /* refusals at install: foreign key, wrong hw id, missing hw id, too big;
     * none of them touches the boot state */
    st = fix_state(d);
    CHECK(fix_install(d, &foreign, 0, 1000, &slot) == OTA_ERR_IMAGE_UNKNOWN_KEY);
    CHECK(fix_install(d, &wrong_hw, 0, 1000, &slot) == OTA_ERR_IMAGE_HW_MISMATCH);
    CHECK(fix_install(d, &no_hw, 0, 1000, &slot) == OTA_ERR_IMAGE_HW_MISMATCH);
    CHECK(fix_state(d).seq == st.seq);
    {
        struct ota_install ins;
        CHECK(ota_install_begin(&ins, &d->dev, d->cfg.layout.slot_size + 1, &diag) ==
              OTA_ERR_IMAGE_TOO_LARGE);
    }
    /* the device still boots v1 */
    CHECK(ota_boot(&d->dev, &res) == OTA_OK && res.slot == 0 && !res.trial);

    /* v2 to B: trial twice, never confirmed: revert, B rejected */
    CHECK(fix_install(d, &v2, 0, 777, &slot) == OTA_OK && slot == 1);
    /* the running A may confirm itself again while B waits; B stays pending */
    CHECK(ota_boot_confirm(&d->dev, 0, &diag) == OTA_OK);
    CHECK(fix_state(d).pending == 1 && fix_state(d).confirmed == 0);
    CHECK(ota_boot(&d->dev, &res) == OTA_OK && res.slot == 1 && res.trial);
    CHECK(ota_boot(&d->dev, &res) == OTA_OK && res.slot == 1 && res.trial &&
          res.attempts_left == 0);
    CHECK(ota_boot(&d->dev, &res) == OTA_OK && res.slot == 0 && res.reverted && !res.trial);
    st = fix_state(d);
    CHECK(st.rejected == 1 && st.pending == OTA_SLOT_NONE && st.confirmed == 0);
    CHECK(ota_boot_confirm(&d->dev, 1, &diag) == OTA_ERR_BOOT_NOT_ON_TRIAL);

    /* v3 (counter 2) to B again: confirm raises OTP; v1 can no longer run */
    CHECK(fix_install(d, &v3, 0, 4096, &slot) == OTA_OK && slot == 1);
    CHECK(fix_state(d).rejected == OTA_SLOT_NONE);
    CHECK(ota_boot(&d->dev, &res) == OTA_OK && res.slot == 1 && res.trial);
    CHECK(ota_boot_confirm(&d->dev, 1, &diag) == OTA_OK);
    CHECK_EQ(fix_otp(d), 2);
    /* v1 (counter 1) is below the OTP counter: refused at install */
    CHECK(fix_install(d, &v1, 0, 4096, &slot) == OTA_ERR_IMAGE_ROLLBACK && slot == 0);

    /* confirmed slot corrupted: fall back to A?  A now holds the refused v1
     * (counter 1 < 2) -> recovery, never a rollback */
    d->sim.mem[d->cfg.layout.slot_off[1] + 100] ^= 1;
    CHECK(ota_boot(&d->dev, &res) == OTA_ERR_BOOT_NO_VALID_SLOT);
    CHECK(res.slot_err[1] == OTA_ERR_IMAGE_HASH_MISMATCH);
    CHECK(res.slot_err[0] == OTA_ERR_IMAGE_ROLLBACK);
    d->sim.mem[d->cfg.layout.slot_off[1] + 100] ^= 1;
    CHECK(ota_boot(&d->dev, &res) == OTA_OK && res.slot == 1);

    /* fallback to a valid other slot, recorded in the state */
    {
        struct fix_image v4;
        REQUIRE(fix_image_make(&v4, key, 4, 2, FIX_HW_ID, 3000, 44) == 0);
        CHECK(fix_install(d, &v4, 1, 4096, &slot) == OTA_OK && slot == 0); /* permanent */
        CHECK(fix_state(d).confirmed == 0);
        d->sim.mem[d->cfg.layout.slot_off[0] + 40] ^= 1;
        CHECK(ota_boot(&d->dev, &res) == OTA_OK && res.slot == 1 && res.fell_back);
        CHECK(fix_state(d).confirmed == 1);
        fix_image_free(&v4);
    }
    /* a pending image damaged before its trial: reverted, never run */
    CHECK(fix_install(d, &v2, 0, 4096, &slot) == OTA_ERR_IMAGE_ROLLBACK); /* counter 1 */
    CHECK(fix_install(d, &v3, 0, 4096, &slot) == OTA_OK && slot == 0);
    d->sim.mem[d->cfg.layout.slot_off[0] + 5000] ^= 0x80;
    CHECK(ota_boot(&d->dev, &res) == OTA_OK && res.slot == 1 && res.reverted);
    CHECK(res.slot_err[0] == OTA_ERR_IMAGE_HASH_MISMATCH);
    CHECK_EQ(d->sim.violations, 0);
    ota_sim_free(&d->sim);
    free(d);
}

static void test_flow_openssl(void) { flow(ota_crypto_openssl()); }
static void test_flow_mbedtls(void) { flow(ota_crypto_mbedtls()); }

/* Installing while a trial is pending ends that trial first. */
static void test_reinstall_over_pending(void)
{
    struct fix_dev *d = calloc(1, sizeof *d);
    struct ota_boot_result res;
    struct ota_install ins;
    struct ota_diag diag;
    int slot;
    REQUIRE(fix_dev_make(d, geo(), 32, 0, key, FIX_HW_ID, 3, ota_crypto_openssl()) == 0);
    REQUIRE(fix_install(d, &v1, 1, 4096, &slot) == OTA_OK);
    REQUIRE(fix_install(d, &v2, 0, 4096, &slot) == OTA_OK && slot == 1);
    CHECK(fix_state(d).pending == 1);
    CHECK(ota_install_begin(&ins, &d->dev, (uint32_t)v3.len, &diag) == OTA_OK && ins.slot == 1);
    CHECK(fix_state(d).pending == OTA_SLOT_NONE); /* before any byte of B changes */
    /* abandoned half way: B holds garbage, A still runs */
    CHECK(ota_install_write(&ins, v3.data, 3000) == OTA_OK);
    CHECK(ota_install_finish(&ins, 0, NULL, &diag) == OTA_ERR_UPDATE_PAYLOAD_SIZE);
    CHECK(ota_install_write(&ins, v3.data, 1) == OTA_ERR_UPDATE_STATE);
    CHECK(ota_boot(&d->dev, &res) == OTA_OK && res.slot == 0 && !res.trial);
    ota_sim_free(&d->sim);
    free(d);
}

/* A boot state that cannot be written (worn-out or failing sector) never
 * runs an uncounted trial and never strands the device: the confirmed image
 * runs. */
static void test_state_unwritable(void)
{
    struct fix_dev *d = calloc(1, sizeof *d);
    struct ota_boot_result res;
    struct ota_boot_state st;
    struct ota_boot_state_info inf;
    int slot;
    REQUIRE(fix_dev_make(d, geo(), 32, 0, key, FIX_HW_ID, 3, ota_crypto_openssl()) == 0);
    REQUIRE(fix_install(d, &v1, 1, 4096, &slot) == OTA_OK);
    REQUIRE(ota_boot(&d->dev, &res) == OTA_OK && res.slot == 0);
    REQUIRE(fix_install(d, &v2, 0, 4096, &slot) == OTA_OK && slot == 1);
    /* fill the current state sector, then forbid erasing the other one */
    for (;;) {
        REQUIRE(ota_boot_state_read(&d->sim.flash, &d->cfg.layout, &st, &inf) == OTA_OK);
        if (inf.next == inf.records_per_sector)
            break;
        REQUIRE(ota_boot_state_write(&d->sim.flash, &d->cfg.layout, &st) == OTA_OK);
    }
    ota_sim_protect(&d->sim, d->cfg.layout.state_off / 4096 + (uint32_t)(1 - inf.sector), 1);
    for (int k = 0; k < 5; k++) {
        CHECK(ota_boot(&d->dev, &res) == OTA_OK);
        CHECK(res.slot == 0 && !res.trial); /* never the uncounted trial */
        CHECK(res.slot_err[1] == OTA_OK);   /* B was fine, just not countable */
        CHECK(fix_state(d).pending == 1);   /* nothing could be recorded */
    }
    ota_sim_free(&d->sim);
    free(d);
}

int main(void)
{
    if (ota_key_generate(&key) != OTA_OK || ota_key_generate(&other_key) != OTA_OK)
        return 1;
    if (fix_image_make(&v1, key, 1, 1, FIX_HW_ID, 9000, 1) ||
        fix_image_make(&v2, key, 2, 1, FIX_HW_ID, 9000, 2) ||
        fix_image_make(&v3, key, 3, 2, FIX_HW_ID, 9000, 3) ||
        fix_image_make(&foreign, other_key, 5, 9, FIX_HW_ID, 9000, 5) ||
        fix_image_make(&wrong_hw, key, 6, 9, "other-board", 9000, 6) ||
        fix_image_make(&no_hw, key, 7, 9, NULL, 9000, 7))
        return 1;
    RUN(test_layout);
    RUN(test_config_block);
    RUN(test_otp);
    RUN(test_state_log);
    RUN(test_stage0_tamper);
    RUN(test_flow_openssl);
    RUN(test_flow_mbedtls);
    RUN(test_reinstall_over_pending);
    RUN(test_state_unwritable);
    fix_image_free(&v1);
    fix_image_free(&v2);
    fix_image_free(&v3);
    fix_image_free(&foreign);
    fix_image_free(&wrong_hw);
    fix_image_free(&no_hw);
    ota_key_free(key);
    ota_key_free(other_key);
    return test_summary();
}
