// SPDX-License-Identifier: Apache-2.0
/*
 * tests/core/test_api_args.c - the core's public functions refuse what they
 * are documented to refuse, with the exact ota_err, and accept the edge
 * that is still valid: NULL or out-of-range arguments, flash geometries the
 * HAL contract excludes, layouts and bootloader config blocks that do not
 * fit the device, calls out of order, readers and writers used outside
 * their region.
 *
 * Why it exists: a port (a new bootloader, the Linux backend, the agent)
 * calls these functions with whatever its own code computed; a refusal
 * must be the documented one, never a crash or a write. The other core
 * tests drive the valid paths; this file is the contract's refuse side, one
 * case per check, next to its accepted neighbour.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"
#include "ota/update.h"
#include "../test.h"
#include "fixture.h"

#define HW "hub-args"

static ota_key *g_fw, *g_dev, *g_srv;
static struct ota_pubkey g_fw_pub, g_srv_pub;
static struct ota_enc_privkey g_dev_d;
static const struct ota_crypto *g_c;

static ota_err nop_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    (void)ctx, (void)off, (void)buf, (void)len;
    return OTA_OK;
}

static ota_err nop_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    (void)ctx, (void)off, (void)buf, (void)len;
    return OTA_OK;
}

static ota_err nop_erase(void *ctx, uint32_t sector)
{
    (void)ctx, (void)sector;
    return OTA_OK;
}

/* A flash HAL that is fine except for what each case changes. */
static struct ota_flash good_flash(void)
{
    struct ota_flash f = {nop_read, nop_prog, nop_erase, NULL, NULL, 4, 8, 4096, 16};
    return f;
}

static void test_flash_geometry(void)
{
    struct ota_flash f = good_flash();
    CHECK_EQ(ota_flash_check(&f), OTA_OK);
    CHECK_EQ(ota_flash_check(NULL), OTA_ERR_INVALID_ARG);
    f.read = NULL;
    CHECK_EQ(ota_flash_check(&f), OTA_ERR_INVALID_ARG);
    f = good_flash(), f.prog = NULL;
    CHECK_EQ(ota_flash_check(&f), OTA_ERR_INVALID_ARG);
    f = good_flash(), f.erase = NULL;
    CHECK_EQ(ota_flash_check(&f), OTA_ERR_INVALID_ARG);
    f = good_flash(), f.read_size = 0;
    CHECK_EQ(ota_flash_check(&f), OTA_ERR_INVALID_ARG);
    f = good_flash(), f.read_size = OTA_FLASH_READ_MAX * 2;
    CHECK_EQ(ota_flash_check(&f), OTA_ERR_INVALID_ARG);
    f = good_flash(), f.prog_size = 0;
    CHECK_EQ(ota_flash_check(&f), OTA_ERR_INVALID_ARG);
    f = good_flash(), f.prog_size = OTA_FLASH_PROG_MAX * 2;
    CHECK_EQ(ota_flash_check(&f), OTA_ERR_INVALID_ARG);
    f = good_flash(), f.sector_size = 0;
    CHECK_EQ(ota_flash_check(&f), OTA_ERR_INVALID_ARG);
    f = good_flash(), f.sector_count = 0;
    CHECK_EQ(ota_flash_check(&f), OTA_ERR_INVALID_ARG);
    f = good_flash(), f.sector_size = 4100; /* not a multiple of prog_size 8 */
    CHECK_EQ(ota_flash_check(&f), OTA_ERR_INVALID_ARG);
    f = good_flash(), f.prog_size = 4, f.read_size = 8, f.sector_size = 4092; /* % read 8 */
    CHECK_EQ(ota_flash_check(&f), OTA_ERR_INVALID_ARG);
    f = good_flash(), f.sector_count = 1u << 20; /* 4 GiB: one byte too many */
    CHECK_EQ(ota_flash_check(&f), OTA_ERR_INVALID_ARG);
    f.sector_count = (1u << 20) - 1;
    CHECK_EQ(ota_flash_check(&f), OTA_OK);
}

static void test_flash_calls(void)
{
    struct ota_sim sim;
    struct ota_flash_writer w;
    uint8_t buf[16] = {0};
    int erased = 0;
    REQUIRE(ota_sim_init(&sim, 1, 8, 4096, 8) == OTA_OK);
    const struct ota_flash *f = &sim.flash;
    CHECK_EQ(ota_flash_read(NULL, 0, buf, 4), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_flash_read(f, 0, NULL, 4), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_flash_read(f, 0, NULL, 0), OTA_OK);
    CHECK_EQ(ota_flash_read(f, 8 * 4096 - 2, buf, 4), OTA_ERR_FLASH_BOUNDS);
    CHECK_EQ(ota_flash_prog(NULL, 0, buf, 8), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_flash_prog(f, 0, NULL, 8), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_flash_prog(f, 0, buf, 0), OTA_OK); /* nothing to program */
    CHECK_EQ(ota_flash_prog(f, 0, NULL, 0), OTA_OK);
    CHECK_EQ(sim.stats.progs, 0);
    CHECK_EQ(ota_flash_prog(f, 4, buf, 8), OTA_ERR_FLASH_ALIGN);
    CHECK_EQ(ota_flash_erase(NULL, 0, 4096), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_flash_erase(f, 7 * 4096, 2 * 4096), OTA_ERR_FLASH_BOUNDS);
    CHECK_EQ(ota_flash_erase(f, 100, 4096), OTA_ERR_FLASH_ALIGN);
    CHECK_EQ(ota_flash_erase(f, 0, 100), OTA_ERR_FLASH_ALIGN);
    CHECK_EQ(ota_flash_erase(f, 4096, 4096), OTA_OK);
    CHECK_EQ(ota_flash_sync(NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_flash_sync(f), OTA_OK);
    {
        struct ota_flash nosync = *f; /* a HAL whose writes are durable at once */
        nosync.sync = NULL;
        CHECK_EQ(ota_flash_sync(&nosync), OTA_OK);
    }
    CHECK_EQ(ota_flash_is_erased(f, 0, 16, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_flash_is_erased(f, 0, 16, &erased), OTA_OK);
    CHECK_EQ(erased, 1);
    CHECK_EQ(ota_flash_is_erased(f, 8 * 4096, 16, &erased), OTA_ERR_FLASH_BOUNDS);

    /* the sequential writer */
    CHECK_EQ(ota_flash_writer_init(NULL, f, 0, 4096, 0), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_flash_writer_init(&w, NULL, 0, 4096, 0), OTA_ERR_INVALID_ARG);
    {
        struct ota_flash bad = *f;
        bad.sector_size = 0;
        CHECK_EQ(ota_flash_writer_init(&w, &bad, 0, 4096, 0), OTA_ERR_INVALID_ARG);
    }
    CHECK_EQ(ota_flash_writer_init(&w, f, 4096, 8 * 4096, 0), OTA_ERR_FLASH_BOUNDS);
    CHECK_EQ(ota_flash_writer_init(&w, f, 100, 4096, 0), OTA_ERR_FLASH_ALIGN);
    CHECK_EQ(ota_flash_writer_init(&w, f, 0, 4096, 12), OTA_ERR_FLASH_ALIGN);
    CHECK_EQ(ota_flash_writer_write(NULL, buf, 4), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_flash_writer_finish(NULL), OTA_ERR_INVALID_ARG);
    memset(&w, 0, sizeof w);
    CHECK_EQ(ota_flash_writer_write(&w, buf, 4), OTA_ERR_INVALID_ARG); /* not initialised */
    CHECK_EQ(ota_flash_writer_finish(&w), OTA_ERR_INVALID_ARG);
    /* a region of 5 bytes cannot hold the padded 8-byte unit */
    REQUIRE(ota_flash_writer_init(&w, f, 0, 5, 0) == OTA_OK);
    CHECK_EQ(ota_flash_writer_write(&w, NULL, 4), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_flash_writer_write(&w, buf, 6), OTA_ERR_TOO_LARGE);
    CHECK_EQ(ota_flash_writer_write(&w, buf, 5), OTA_OK);
    CHECK_EQ(ota_flash_writer_write(&w, NULL, 0), OTA_OK);
    CHECK_EQ(ota_flash_writer_finish(&w), OTA_ERR_TOO_LARGE);
    /* the delta applier's flash sink: sequential only */
    REQUIRE(ota_flash_writer_init(&w, f, 0, 4096, 0) == OTA_OK);
    CHECK_EQ(ota_delta_write_flash(NULL, 0, buf, 4), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_delta_write_flash(&w, 0, NULL, 4), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_delta_write_flash(&w, 4, buf, 4), OTA_ERR_INTERNAL); /* not at pos 0 */
    CHECK_EQ(ota_delta_write_flash(&w, 0, NULL, 0), OTA_OK);
    CHECK_EQ(ota_delta_write_flash(&w, 0, buf, 4), OTA_OK);
    CHECK_EQ(w.pos, 4);
    /* a flash region reader refuses reads past its region */
    {
        struct ota_flash_area area;
        struct ota_reader r;
        ota_reader_from_flash(&r, &area, f, 4096, 100);
        CHECK_EQ(r.read(r.ctx, 96, buf, 4), OTA_OK);
        CHECK_EQ(r.read(r.ctx, 97, buf, 4), OTA_ERR_FLASH_BOUNDS);
        CHECK_EQ(r.read(r.ctx, 101, buf, 0), OTA_ERR_FLASH_BOUNDS);
    }
    /* a memory reader likewise */
    {
        struct ota_mem_reader m;
        struct ota_reader r;
        ota_reader_from_mem(&r, &m, buf, 10);
        CHECK_EQ(r.read(r.ctx, 6, buf, 4), OTA_OK);
        CHECK_EQ(r.read(r.ctx, 7, buf, 4), OTA_ERR_IO);
        CHECK_EQ(r.read(r.ctx, 11, buf, 0), OTA_ERR_IO);
    }
    ota_sim_free(&sim);
}

/* A flash whose read number g_fail_read (from 0) fails with OTA_ERR_IO. */
static struct ota_flash g_real;
static int g_reads, g_fail_read;

static ota_err failing_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    (void)ctx;
    if (g_reads++ == g_fail_read)
        return OTA_ERR_IO;
    return g_real.read(g_real.ctx, off, buf, len);
}

/* Unaligned reads on a flash with a 4-byte read unit go through a bounce
 * unit at each edge and straight into the buffer in between: a failure of
 * any of those reads is the caller's error. */
static void test_flash_unaligned_read_errors(void)
{
    struct ota_sim sim;
    struct ota_flash f;
    uint8_t want[16], got[16];
    REQUIRE(ota_sim_init(&sim, 4, 8, 4096, 4) == OTA_OK);
    for (int i = 0; i < 16; i++)
        want[i] = (uint8_t)(0x10 + i);
    REQUIRE(ota_flash_prog(&sim.flash, 0, want, 16) == OTA_OK);
    g_real = sim.flash;
    f = sim.flash;
    f.read = failing_read;
    /* off 2, 12 bytes: edge [0,4), middle [4,12), edge [12,16) */
    for (g_fail_read = 0; g_fail_read < 3; g_fail_read++) {
        g_reads = 0;
        CHECK_EQ(ota_flash_read(&f, 2, got, 12), OTA_ERR_IO);
    }
    g_reads = 0;
    CHECK_EQ(ota_flash_read(&f, 2, got, 12), OTA_OK);
    CHECK_EQ(g_reads, 3);
    CHECK(memcmp(got, want + 2, 12) == 0);
    ota_sim_free(&sim);
}

static void test_layouts(void)
{
    struct ota_sim sim;
    struct ota_boot_layout l, ok;
    REQUIRE(ota_sim_init(&sim, 1, 8, 4096, 64) == OTA_OK);
    const struct ota_flash *f = &sim.flash;
    struct ota_flash bad = *f;
    bad.sector_count = 0;
    CHECK_EQ(ota_boot_layout_make(NULL, 0, 0, &l), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_layout_make(f, 0, 0, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_layout_make(&bad, 0, 0, &l), OTA_ERR_INVALID_ARG);
    /* a region smaller than the config block is rounded up to one sector */
    CHECK_EQ(ota_boot_layout_make(f, 10, 0, &l), OTA_OK);
    CHECK_EQ(l.boot_size, 4096);
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_OK);
    /* too few sectors for boot + 2 slots + state + OTP */
    {
        struct ota_sim tiny;
        REQUIRE(ota_sim_init(&tiny, 1, 8, 4096, 8) == OTA_OK);
        CHECK_EQ(ota_boot_layout_make(&tiny.flash, 0, 0, &l), OTA_ERR_BOOT_LAYOUT);
        CHECK_EQ(ota_boot_layout_make(&tiny.flash, 4096, 0, &l), OTA_OK);
        CHECK_EQ(l.slot_size, 8192); /* 8 - boot - 2 state - OTP = 4 sectors */
        ota_sim_free(&tiny);
    }
    /* slots larger than what fits */
    CHECK_EQ(ota_boot_layout_make(f, 0, 64 * 4096, &l), OTA_ERR_BOOT_LAYOUT);
    REQUIRE(ota_boot_layout_make(f, 0, 0, &ok) == OTA_OK);
    CHECK_EQ(ota_boot_layout_check(NULL, &ok), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_layout_check(f, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_layout_check(&bad, &ok), OTA_ERR_INVALID_ARG);
    l = ok, l.boot_off = 4096;
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_ERR_BOOT_LAYOUT);
    l = ok, l.boot_size = 100;
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_ERR_BOOT_LAYOUT);
    l = ok, l.otp_off -= 4096;
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_ERR_BOOT_LAYOUT);
    l = ok, l.otp_size = 8192;
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_ERR_BOOT_LAYOUT);
    l = ok, l.slot_size = 0;
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_ERR_BOOT_LAYOUT);
    l = ok, l.slot_size = 65 * 4096;
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_ERR_BOOT_LAYOUT);
    l = ok, l.slot_off[1] += 8; /* not on a sector boundary */
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_ERR_BOOT_LAYOUT);
    l = ok, l.boot_size = ok.boot_size + 8;
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_ERR_BOOT_LAYOUT);
    l = ok, l.slot_off[1] = 63 * 4096; /* runs past the end of the device */
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_ERR_BOOT_LAYOUT);
    l = ok, l.slot_off[1] = ok.slot_off[0] + 4096; /* overlaps slot A */
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_ERR_BOOT_LAYOUT);
    l = ok, l.state_off = ok.slot_off[1]; /* overlaps slot B */
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_ERR_BOOT_LAYOUT);
    l = ok, l.slot_off[1] = 70 * 4096; /* starts past the end of the device */
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_ERR_BOOT_LAYOUT);
    /* the slots in the other order: still a valid layout */
    l = ok, l.slot_off[0] = ok.slot_off[1], l.slot_off[1] = ok.slot_off[0];
    CHECK_EQ(ota_boot_layout_check(f, &l), OTA_OK);
    /* sectors smaller than one boot-state record (64 bytes) */
    {
        struct ota_flash small = good_flash();
        struct ota_boot_state st;
        small.sector_size = 32;
        REQUIRE(ota_flash_check(&small) == OTA_OK);
        CHECK_EQ(ota_boot_state_read(&small, &ok, &st, NULL), OTA_ERR_BOOT_LAYOUT);
    }
    ota_sim_free(&sim);
}

/* Encode cfg, change one field of the block, decode: the exact refusal. */
static ota_err decode_changed(const struct ota_flash *f, const struct ota_boot_config *cfg,
                              size_t at, uint8_t val, struct ota_diag *d)
{
    uint8_t raw[OTA_BOOT_CFG_SIZE];
    struct ota_boot_config out;
    ota_boot_config_encode(cfg, raw);
    raw[at] = val;
    memset(d, 0, sizeof *d);
    return ota_boot_config_decode(f, raw, &out, d);
}

static void test_config_block(void)
{
    struct fix_dev dev;
    struct ota_boot_config cfg, out;
    struct ota_diag d;
    uint8_t raw[OTA_BOOT_CFG_SIZE];
    cfx_provision(&dev, g_c, &g_fw_pub, HW);
    cfg = dev.cfg;
    const struct ota_flash *f = &dev.sim.flash;
    ota_boot_config_encode(&cfg, raw);
    CHECK_EQ(ota_boot_config_decode(f, raw, &out, &d), OTA_OK);
    CHECK(memcmp(&out.layout, &cfg.layout, sizeof out.layout) == 0);
    CHECK_EQ(ota_boot_config_decode(NULL, raw, &out, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_config_decode(f, NULL, &out, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_config_decode(f, raw, NULL, &d), OTA_ERR_INVALID_ARG);
    /* format word (offset 8) */
    CHECK_EQ(decode_changed(f, &cfg, 8, raw[8] + 1, &d), OTA_ERR_BOOT_LAYOUT);
    CHECK(d.field && strcmp(d.field, "bootloader config format") == 0);
    CHECK_EQ(d.offset, 8);
    /* max_attempts (offset 40) 0, hw_id_len (41) above the maximum */
    cfg.max_attempts = 0;
    ota_boot_config_encode(&cfg, raw);
    CHECK_EQ(ota_boot_config_decode(f, raw, &out, &d), OTA_ERR_BOOT_LAYOUT);
    CHECK(d.field && strcmp(d.field, "bootloader config max_attempts") == 0);
    cfg = dev.cfg;
    cfg.hw_id_len = OTA_HW_ID_MAX + 1;
    ota_boot_config_encode(&cfg, raw);
    CHECK_EQ(ota_boot_config_decode(f, raw, &out, &d), OTA_ERR_BOOT_LAYOUT);
    CHECK(d.field && strcmp(d.field, "bootloader config hw_id_len") == 0);
    CHECK_EQ(d.expected, OTA_HW_ID_MAX);
    CHECK_EQ(d.found, OTA_HW_ID_MAX + 1);
    /* a layout that does not fit this flash */
    cfg = dev.cfg;
    cfg.layout.slot_size = 0;
    ota_boot_config_encode(&cfg, raw);
    CHECK_EQ(ota_boot_config_decode(f, raw, &out, &d), OTA_ERR_BOOT_LAYOUT);
    /* a key that is not an uncompressed P-256 SPKI: another algorithm's
     * prefix, or a compressed point */
    cfg = dev.cfg;
    cfg.key.spki[5] ^= 1;
    ota_boot_config_encode(&cfg, raw);
    CHECK_EQ(ota_boot_config_decode(f, raw, &out, &d), OTA_ERR_BOOT_LAYOUT);
    cfg = dev.cfg;
    cfg.key.spki[26] = 0x02;
    ota_boot_config_encode(&cfg, raw);
    CHECK_EQ(ota_boot_config_decode(f, raw, &out, &d), OTA_ERR_BOOT_LAYOUT);
    /* reading it: arguments and a bad geometry */
    CHECK_EQ(ota_boot_config_read(NULL, &out, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_config_read(f, NULL, &d), OTA_ERR_INVALID_ARG);
    {
        struct ota_flash bad = *f;
        bad.prog_size = 0;
        CHECK_EQ(ota_boot_config_read(&bad, &out, &d), OTA_ERR_INVALID_ARG);
        CHECK(d.field && strcmp(d.field, "flash geometry") == 0);
    }
    CHECK_EQ(ota_boot_config_read(f, &out, &d), OTA_OK);
    ota_sim_free(&dev.sim);
}

static void test_boot_calls(void)
{
    struct fix_dev dev;
    struct ota_boot_dev bd;
    struct ota_boot_result res;
    struct ota_boot_config cfg;
    struct ota_image_info info;
    struct ota_diag d;
    size_t len;
    uint8_t *payload = cfx_payload(3000, 0);
    uint8_t *img = cfx_image(g_fw, 1, HW, payload, 3000, NULL, 0, &len);
    cfx_provision(&dev, g_c, &g_fw_pub, HW);
    cfg = dev.cfg;
    bd = dev.dev;
    bd.crypto = NULL;
    CHECK_EQ(ota_boot_stage0(NULL, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_stage0(&bd, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot(NULL, &res), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot(&dev.dev, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_confirm(NULL, 0, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_confirm(&dev.dev, 2, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_confirm(&dev.dev, -1, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_verify_slot(NULL, &cfg, 0, 0, &info, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_verify_slot(&dev.dev, NULL, 0, 0, &info, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_verify_slot(&dev.dev, &cfg, 2, 0, &info, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_verify_slot(&dev.dev, &cfg, 0, 0, NULL, &d), OTA_ERR_INVALID_ARG);
    /* provisioning refuses what would not boot */
    CHECK_EQ(ota_boot_provision(NULL, &cfg, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_provision(&dev.dev, NULL, &d), OTA_ERR_INVALID_ARG);
    cfg.layout.slot_size = 0;
    CHECK_EQ(ota_boot_provision(&dev.dev, &cfg, &d), OTA_ERR_BOOT_LAYOUT);
    cfg = dev.cfg, cfg.max_attempts = 0;
    CHECK_EQ(ota_boot_provision(&dev.dev, &cfg, &d), OTA_ERR_INVALID_ARG);
    cfg = dev.cfg, cfg.hw_id_len = OTA_HW_ID_MAX + 1;
    CHECK_EQ(ota_boot_provision(&dev.dev, &cfg, &d), OTA_ERR_INVALID_ARG);
    cfg = dev.cfg, cfg.key.spki[26] = 0x03;
    CHECK_EQ(ota_boot_provision(&dev.dev, &cfg, &d), OTA_ERR_INVALID_ARG);
    /* none of these refusals touched the provisioned device */
    CHECK_EQ(ota_boot_stage0(&dev.dev, &d), OTA_OK);
    /* a bootloader region whose config block declares an impossible size:
     * stage 0 refuses it before hashing (the hash would cover it anyway) */
    {
        struct fix_dev bad;
        uint8_t raw[16];
        cfx_provision(&bad, g_c, &g_fw_pub, HW);
        REQUIRE(ota_flash_read(&bad.sim.flash, 0, raw, sizeof raw) == OTA_OK);
        /* the size field (offset 12, LE): 0, not whole sectors, into OTP */
        static const uint32_t sizes[] = {0, 16384 + 1, 64 * 4096};
        for (size_t i = 0; i < 3; i++) {
            bad.sim.mem[12] = (uint8_t)sizes[i], bad.sim.mem[13] = (uint8_t)(sizes[i] >> 8);
            bad.sim.mem[14] = (uint8_t)(sizes[i] >> 16), bad.sim.mem[15] = 0;
            CHECK_EQ(ota_boot_stage0(&bad.dev, &d), OTA_ERR_BOOT_ROM_HASH);
            CHECK(d.field && strcmp(d.field, "bootloader region size (config block)") == 0);
            CHECK_EQ(d.found, sizes[i]);
        }
        ota_sim_free(&bad.sim);
    }
    /* stage 0 on a blank device: OTP not provisioned */
    {
        struct ota_sim blank;
        struct ota_boot_dev b2 = dev.dev;
        REQUIRE(ota_sim_init_geometry(&blank, ota_sim_geometry_find("generic-4k"), 64) == 0);
        b2.flash = &blank.flash;
        CHECK_EQ(ota_boot_stage0(&b2, &d), OTA_ERR_OTP);
        ota_sim_free(&blank);
    }
    /* confirm of a slot neither pending nor confirmed */
    cfx_factory_install(&dev, img, len, NULL);
    CHECK_EQ(ota_boot_confirm(&dev.dev, 1, &d), OTA_ERR_BOOT_NOT_ON_TRIAL);
    CHECK_EQ(ota_boot_confirm(&dev.dev, 0, &d), OTA_OK); /* the confirmed one: again */
    CHECK_EQ(ota_boot(&dev.dev, &res), OTA_OK);
    CHECK_EQ(res.slot, 0);
    /* no scratch buffer: the core hashes through its own small one */
    bd = dev.dev;
    bd.buf = NULL;
    bd.buf_len = 4096; /* ignored without a buffer */
    CHECK_EQ(ota_boot(&bd, &res), OTA_OK);
    CHECK_EQ(res.slot, 0);
    free(payload);
    free(img);
    ota_sim_free(&dev.sim);
}

static void test_otp_and_state(void)
{
    struct fix_dev dev;
    struct ota_boot_state st;
    struct ota_boot_state_info si;
    struct ota_otp_counter c;
    uint8_t hash[OTA_SHA256_LEN];
    int prov = 0;
    cfx_provision(&dev, g_c, &g_fw_pub, HW);
    const struct ota_flash *f = &dev.sim.flash;
    struct ota_boot_layout l = dev.cfg.layout;
    struct ota_flash bad = *f;
    bad.read = NULL;
    /* OTP */
    CHECK_EQ(ota_otp_read_rom_hash(NULL, &l, hash, &prov), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_otp_read_rom_hash(f, NULL, hash, &prov), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_otp_read_rom_hash(&bad, &l, hash, &prov), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_otp_read_rom_hash(f, &l, hash, &prov), OTA_OK);
    CHECK_EQ(prov, 1);
    CHECK_EQ(ota_otp_read_counter(f, &l, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_otp_read_counter(NULL, &l, &c), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_otp_raise_counter(NULL, &l, 1), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_otp_write_rom_hash(NULL, &l, hash), OTA_ERR_INVALID_ARG);
    {
        struct ota_boot_layout small = l;
        small.otp_size = 16; /* no room for the hash and one counter record */
        CHECK_EQ(ota_otp_read_counter(f, &small, &c), OTA_ERR_OTP);
        CHECK_EQ(ota_otp_read_rom_hash(f, &small, hash, &prov), OTA_ERR_OTP);
    }
    CHECK_EQ(ota_otp_read_counter(f, &l, &c), OTA_OK);
    CHECK_EQ(c.value, 0);
    CHECK_EQ(ota_otp_raise_counter(f, &l, 5), OTA_OK);
    CHECK_EQ(ota_otp_read_counter(f, &l, &c), OTA_OK);
    CHECK_EQ(c.value, 5);
    /* boot state */
    CHECK_EQ(ota_boot_state_read(NULL, &l, &st, &si), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_state_read(f, NULL, &st, &si), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_state_read(f, &l, NULL, &si), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_state_read(&bad, &l, &st, &si), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_state_read(f, &l, &st, &si), OTA_OK);
    st.pending = 2; /* neither slot nor OTA_SLOT_NONE */
    CHECK_EQ(ota_boot_state_write(f, &l, &st), OTA_ERR_INVALID_ARG);
    st.pending = OTA_SLOT_NONE, st.confirmed = 7;
    CHECK_EQ(ota_boot_state_write(f, &l, &st), OTA_ERR_INVALID_ARG);
    st.confirmed = OTA_SLOT_NONE, st.rejected = 3;
    CHECK_EQ(ota_boot_state_write(f, &l, &st), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_boot_state_write(f, &l, NULL), OTA_ERR_INVALID_ARG);
    st.rejected = OTA_SLOT_NONE, st.confirmed = 0;
    CHECK_EQ(ota_boot_state_write(f, &l, &st), OTA_OK);
    CHECK_EQ(ota_boot_state_read(f, &l, &st, &si), OTA_OK);
    CHECK_EQ(st.confirmed, 0);
    ota_sim_free(&dev.sim);
}

static void test_installer_calls(void)
{
    struct fix_dev dev;
    struct ota_install ins;
    struct ota_boot_dev bd;
    struct ota_diag d;
    struct ota_enc_key k;
    uint8_t buf[8] = {0};
    cfx_provision(&dev, g_c, &g_fw_pub, HW);
    bd = dev.dev;
    bd.crypto = NULL;
    CHECK_EQ(ota_install_begin(NULL, &dev.dev, 100, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_install_begin(&ins, NULL, 100, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_install_begin(&ins, &bd, 100, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_install_begin(&ins, &dev.dev, 0, &d), OTA_ERR_IMAGE_TOO_LARGE);
    CHECK_EQ(ota_install_begin(&ins, &dev.dev, dev.cfg.layout.slot_size + 1, &d),
             OTA_ERR_IMAGE_TOO_LARGE);
    CHECK_EQ(d.expected, dev.cfg.layout.slot_size);
    CHECK_EQ(ota_install_resume(NULL, 0, &d), OTA_ERR_UPDATE_STATE);
    CHECK_EQ(ota_install_decrypt(NULL, &k), OTA_ERR_UPDATE_STATE);
    CHECK_EQ(ota_install_write(NULL, buf, 1), OTA_ERR_UPDATE_STATE);
    CHECK_EQ(ota_install_finish(NULL, 0, NULL, &d), OTA_ERR_UPDATE_STATE);
    REQUIRE(ota_install_begin(&ins, &dev.dev, 100, &d) == OTA_OK);
    CHECK_EQ(ota_install_decrypt(&ins, NULL), OTA_ERR_UPDATE_STATE);
    memset(&k, 0, sizeof k);
    CHECK_EQ(ota_install_decrypt(&ins, &k), OTA_ERR_UPDATE_STATE); /* no port in the key */
    CHECK_EQ(ota_install_resume(&ins, 100, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(d.expected, 100);
    CHECK_EQ(ota_install_write(&ins, buf, 8), OTA_OK);
    /* after the first byte: no resume, no decryption */
    CHECK_EQ(ota_install_resume(&ins, 0, &d), OTA_ERR_UPDATE_STATE);
    k.c = ota_crypto_enc_openssl();
    CHECK_EQ(ota_install_decrypt(&ins, &k), OTA_ERR_UPDATE_STATE);
    CHECK_EQ(ota_install_write(&ins, buf, 93), OTA_ERR_UPDATE_PAYLOAD_SIZE);
    /* finished (here: refused, 8 of 100 bytes): the install is over */
    CHECK_EQ(ota_install_finish(&ins, 0, NULL, &d), OTA_ERR_UPDATE_PAYLOAD_SIZE);
    CHECK_EQ(ota_install_finish(&ins, 0, NULL, &d), OTA_ERR_UPDATE_STATE);
    CHECK_EQ(ota_install_resume(&ins, 0, &d), OTA_ERR_UPDATE_STATE);
    CHECK_EQ(ota_install_decrypt(&ins, &k), OTA_ERR_UPDATE_STATE);
    CHECK_EQ(ota_install_write(&ins, buf, 1), OTA_ERR_UPDATE_STATE);
    /* a boot device whose flash geometry is not valid */
    {
        struct ota_flash badf = dev.sim.flash;
        struct ota_boot_dev badd = dev.dev;
        struct ota_boot_result res;
        badf.sector_count = 0;
        badd.flash = &badf;
        CHECK_EQ(ota_install_begin(&ins, &badd, 100, &d), OTA_ERR_INVALID_ARG);
        CHECK_EQ(ota_boot(&badd, &res), OTA_ERR_INVALID_ARG);
        CHECK_EQ(ota_boot_stage0(&badd, &d), OTA_ERR_INVALID_ARG);
    }
    ota_sim_free(&dev.sim);
}

static ota_err zero_read(void *ctx, void *buf, size_t cap, size_t *got)
{
    (void)ctx, (void)buf, (void)cap;
    *got = 0;
    return OTA_OK;
}

static ota_err net_down(void *ctx, void *buf, size_t cap, size_t *got)
{
    (void)ctx, (void)buf, (void)cap;
    *got = 0;
    return OTA_ERR_NET;
}

/* An engine configuration for device bd trusting g_srv, device id "dev". */
static void engine_cfg(struct ota_update_cfg *c, const struct ota_boot_dev *bd)
{
    memset(c, 0, sizeof *c);
    c->dev = bd;
    c->server_keys = &g_srv_pub;
    c->n_server_keys = 1;
    c->device_id = "dev";
    c->running_slot = -1;
}

static void test_update_calls(void)
{
    struct fix_dev dev;
    struct ota_update *u = calloc(1, sizeof *u);
    struct ota_update_cfg uc;
    struct ota_update_progress p;
    struct ota_update_transport t = {NULL, NULL};
    uint8_t man[8] = {0}, buf[64];
    struct ota_diag d;
    cfx_provision(&dev, g_c, &g_fw_pub, HW);
    memset(&uc, 0, sizeof uc);
    uc.dev = &dev.dev;
    uc.device_id = "dev";
    CHECK_EQ(ota_update_begin(NULL, &uc, man, sizeof man, NULL, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_begin(u, NULL, man, sizeof man, NULL, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_begin(u, &uc, NULL, 0, NULL, &d), OTA_ERR_INVALID_ARG);
    uc.n_server_keys = 1; /* a count without keys */
    CHECK_EQ(ota_update_begin(u, &uc, man, sizeof man, NULL, &d), OTA_ERR_INVALID_ARG);
    uc.n_server_keys = 0, uc.device_id = NULL;
    CHECK_EQ(ota_update_begin(u, &uc, man, sizeof man, NULL, &d), OTA_ERR_INVALID_ARG);
    CHECK(d.field && strcmp(d.field, "update config") == 0);
    {
        struct ota_update_cfg c2 = uc;
        struct ota_boot_dev nof = dev.dev, noc = dev.dev;
        c2.device_id = "dev";
        c2.dev = NULL;
        CHECK_EQ(ota_update_begin(u, &c2, man, sizeof man, NULL, &d), OTA_ERR_INVALID_ARG);
        nof.flash = NULL;
        c2.dev = &nof;
        CHECK_EQ(ota_update_begin(u, &c2, man, sizeof man, NULL, &d), OTA_ERR_INVALID_ARG);
        noc.crypto = NULL;
        c2.dev = &noc;
        CHECK_EQ(ota_update_begin(u, &c2, man, sizeof man, NULL, &d), OTA_ERR_INVALID_ARG);
        /* a running slot that is neither unknown (-1) nor A/B would skip the
         * downgrade rule: refused, naming the field and the value */
        c2.dev = &dev.dev;
        c2.running_slot = 2;
        CHECK_EQ(ota_update_begin(u, &c2, man, sizeof man, NULL, &d), OTA_ERR_INVALID_ARG);
        CHECK(d.field && strstr(d.field, "running_slot") && d.has_values && d.found == 2);
        c2.running_slot = -2;
        CHECK_EQ(ota_update_begin(u, &c2, man, sizeof man, NULL, &d), OTA_ERR_INVALID_ARG);
        CHECK(d.field && strstr(d.field, "running_slot"));
    }
    /* the engine after a refused begin: failed, every call says why */
    CHECK_EQ(ota_update_write(u, buf, 4), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_finish(u, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_checkpoint(u, &p), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_offset(u), 0);
    /* NULL engine */
    CHECK_EQ(ota_update_write(NULL, buf, 4), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_write(u, NULL, 4), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_finish(NULL, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_checkpoint(NULL, &p), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_checkpoint(u, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_pump(NULL, &t, buf, sizeof buf, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_pump(u, NULL, buf, sizeof buf, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_pump(u, &t, buf, sizeof buf, NULL), OTA_ERR_INVALID_ARG); /* no read */
    t.read = zero_read;
    CHECK_EQ(ota_update_pump(u, &t, NULL, sizeof buf, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_pump(u, &t, buf, 0, NULL), OTA_ERR_INVALID_ARG);
    /* a failed engine stays failed under pump too */
    CHECK_EQ(ota_update_pump(u, &t, buf, sizeof buf, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_update_offset(NULL), 0);
    CHECK(ota_update_manifest(NULL) == NULL);
    CHECK_EQ(ota_update_slot(NULL), -1);
    /* an engine that failed after a good begin stays failed, saying why */
    {
        size_t len, mlen;
        uint8_t *payload = cfx_payload(2000, 0), mbuf[OTA_MANIFEST_MAX_LEN];
        uint8_t *img = cfx_image(g_fw, 1, HW, payload, 2000, NULL, 0, &len);
        struct ota_update_cfg good;
        mlen = cfx_offer(g_srv, g_c, "dev", HW, 1800000000ull, img, len, img, len, NULL, 0,
                         mbuf);
        engine_cfg(&good, &dev.dev);
        REQUIRE(ota_update_begin(u, &good, mbuf, mlen, NULL, &d) == OTA_OK);
        CHECK_EQ(ota_update_write(u, NULL, 0), OTA_OK);
        CHECK_EQ(ota_update_write(u, img, len + 1), OTA_ERR_UPDATE_PAYLOAD_SIZE);
        CHECK_EQ(ota_update_checkpoint(u, &p), OTA_ERR_UPDATE_PAYLOAD_SIZE);
        CHECK_EQ(ota_update_write(u, img, 1), OTA_ERR_UPDATE_PAYLOAD_SIZE);
        CHECK_EQ(ota_update_finish(u, NULL), OTA_ERR_UPDATE_PAYLOAD_SIZE);
        CHECK_EQ(ota_update_pump(u, &t, buf, sizeof buf, NULL), OTA_ERR_UPDATE_PAYLOAD_SIZE);
        free(payload);
        free(img);
    }
    /* encrypted offers need the encryption port as well as the key */
    {
        size_t len, mlen, slen;
        char err[256];
        uint8_t *payload = cfx_payload(2000, 0), *sealed = NULL, mbuf[OTA_MANIFEST_MAX_LEN];
        uint8_t *img = cfx_image(g_fw, 2, HW, payload, 2000, g_dev, 0, &len);
        struct cfx_mem_payload at = {img, len};
        struct ota_update_cfg enc;
        engine_cfg(&enc, &dev.dev);
        enc.enc_key = &g_dev_d;
        enc.payload_at.read = cfx_payload_at;
        enc.payload_at.ctx = &at;
        mlen = cfx_offer(g_srv, g_c, "dev", HW, 1800000000ull, img, len, img, len, NULL, 0,
                         mbuf);
        CHECK_EQ(ota_update_begin(u, &enc, mbuf, mlen, NULL, &d), OTA_ERR_IMAGE_ENC_NO_KEY);
        CHECK(d.field && strcmp(d.field, "encryption port (none configured)") == 0);
        enc.enc = ota_crypto_enc_openssl();
        CHECK_EQ(ota_update_begin(u, &enc, mbuf, mlen, NULL, &d), OTA_OK);
        /* a sealed delta (here over a first install: v1 in slot A) */
        REQUIRE(ota_payload_seal(payload, 2000, g_dev, 128, &sealed, &slen, err, sizeof err) ==
                OTA_OK);
        {
            struct fix_dev dv;
            size_t v1len;
            uint8_t *v1 = cfx_image(g_fw, 1, HW, payload, 1000, NULL, 0, &v1len);
            cfx_provision(&dv, g_c, &g_fw_pub, HW);
            cfx_factory_install(&dv, v1, v1len, NULL);
            mlen = cfx_offer(g_srv, g_c, "dev", HW, 1800000000ull, img, len, sealed, slen, v1,
                             v1len, mbuf);
            enc.dev = &dv.dev;
            enc.enc = NULL;
            REQUIRE(ota_update_begin(u, &enc, mbuf, mlen, NULL, &d) == OTA_OK);
            CHECK_EQ(ota_update_write(u, sealed, 100), OTA_ERR_IMAGE_ENC_NO_KEY);
            free(v1);
            ota_sim_free(&dv.sim);
        }
        free(sealed);
        free(payload);
        free(img);
    }
    /* pull mode: a transport error is returned as it is */
    {
        size_t len, mlen;
        uint8_t *payload = cfx_payload(2000, 0), mbuf[OTA_MANIFEST_MAX_LEN];
        uint8_t *img = cfx_image(g_fw, 1, HW, payload, 2000, NULL, 0, &len);
        struct ota_update_cfg good;
        struct ota_update_transport bad = {net_down, NULL};
        engine_cfg(&good, &dev.dev);
        mlen = cfx_offer(g_srv, g_c, "dev", HW, 1800000000ull, img, len, img, len, NULL, 0,
                         mbuf);
        REQUIRE(ota_update_begin(u, &good, mbuf, mlen, NULL, &d) == OTA_OK);
        CHECK_EQ(ota_update_pump(u, &bad, buf, sizeof buf, NULL), OTA_ERR_NET);
        free(payload);
        free(img);
    }
    /* a never-begun (zeroed) engine: out of order */
    memset(u, 0, sizeof *u);
    CHECK(ota_update_manifest(u) == NULL); /* valid only after a successful begin */
    CHECK_EQ(ota_update_write(u, buf, 4), OTA_ERR_UPDATE_STATE);
    CHECK_EQ(ota_update_finish(u, NULL), OTA_ERR_UPDATE_STATE);
    free(u);
    ota_sim_free(&dev.sim);
}

static void test_delta_header(void)
{
    uint8_t raw[OTA_DELTA_HEADER_SIZE];
    struct ota_delta_header h;
    struct ota_diag d;
    uint8_t *patch = NULL;
    size_t plen = 0;
    uint8_t a[64] = {1}, b[64] = {2};
    REQUIRE(ota_delta_create(a, sizeof a, b, sizeof b, &patch, &plen, NULL) == OTA_OK);
    memcpy(raw, patch, sizeof raw);
    CHECK_EQ(ota_delta_header_decode(raw, sizeof raw, &h, &d), OTA_OK);
    CHECK_EQ(h.new_len, 64);
    CHECK_EQ(ota_delta_header_decode(NULL, sizeof raw, &h, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_delta_header_decode(raw, sizeof raw, NULL, &d), OTA_ERR_INVALID_ARG);
    /* a prefix of the magic is a truncated header, anything else a bad magic */
    CHECK_EQ(ota_delta_header_decode(raw, 3, &h, &d), OTA_ERR_DELTA_TRUNCATED);
    CHECK_EQ(ota_delta_header_decode(raw, 0, &h, &d), OTA_ERR_DELTA_TRUNCATED);
    raw[2] ^= 1;
    CHECK_EQ(ota_delta_header_decode(raw, 3, &h, &d), OTA_ERR_DELTA_BAD_MAGIC);
    CHECK_EQ(ota_delta_header_decode(raw, sizeof raw, &h, &d), OTA_ERR_DELTA_BAD_MAGIC);
    raw[2] ^= 1;
    CHECK_EQ(ota_delta_header_decode(raw, sizeof raw - 1, &h, &d), OTA_ERR_DELTA_TRUNCATED);
    CHECK(d.field && strcmp(d.field, "header") == 0);
    /* stream_len (offset 16): at least 5 (the coder's start), and the patch
     * size must fit 32 bits */
    uint32_t v = 4;
    memcpy(raw + 16, &v, 4);
    CHECK_EQ(ota_delta_header_decode(raw, sizeof raw, &h, &d), OTA_ERR_DELTA_CORRUPT);
    CHECK(d.field && strcmp(d.field, "stream_len") == 0);
    CHECK_EQ(d.expected, 5);
    CHECK_EQ(d.found, 4);
    v = 0xFFFFFFFFu - OTA_DELTA_HEADER_SIZE + 1;
    memcpy(raw + 16, &v, 4);
    CHECK_EQ(ota_delta_header_decode(raw, sizeof raw, &h, &d), OTA_ERR_DELTA_CORRUPT);
    v = 0xFFFFFFFFu - OTA_DELTA_HEADER_SIZE;
    memcpy(raw + 16, &v, 4);
    CHECK_EQ(ota_delta_header_decode(raw, sizeof raw, &h, &d), OTA_OK);
    free(patch);
}

static ota_err fail_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    (void)ctx, (void)off, (void)buf, (void)len;
    return OTA_ERR_IO;
}

static void test_enc_calls(void)
{
    const struct ota_crypto_enc *ce = ota_crypto_enc_openssl();
    uint8_t tlv[OTA_ENC_EC256_MAX], aes[32], buf[16] = {0}, priv[OTA_P256_PRIVKEY_LEN] = {1};
    uint8_t pub[OTA_P256_PUBKEY_LEN] = {4};
    struct ota_enc_key k;
    struct ota_image_info info;
    struct ota_mem_reader mr;
    struct ota_reader r;
    struct ota_diag d;
    size_t len;
    ota_err e;
    uint8_t *payload = cfx_payload(2000, 0);
    uint8_t *img = cfx_image(g_fw, 1, HW, payload, 2000, g_dev, 0, &len);

    /* unwrap / wrap: arguments and AES key sizes (16 or 32 only) */
    CHECK_EQ(ota_enc_unwrap(NULL, &g_dev_d, tlv, OTA_ENC_EC256_LEN(16), aes, 16, &d),
             OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_unwrap(ce, &g_dev_d, NULL, OTA_ENC_EC256_LEN(16), aes, 16, &d),
             OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_unwrap(ce, &g_dev_d, tlv, OTA_ENC_EC256_LEN(16), NULL, 16, &d),
             OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_unwrap(ce, NULL, tlv, OTA_ENC_EC256_LEN(16), aes, 16, &d),
             OTA_ERR_IMAGE_ENC_NO_KEY);
    CHECK_EQ(ota_enc_unwrap(ce, &g_dev_d, tlv, OTA_ENC_EC256_LEN(24), aes, 24, &d),
             OTA_ERR_IMAGE_TLV_MALFORMED);
    CHECK_EQ(ota_enc_unwrap(ce, &g_dev_d, tlv, OTA_ENC_EC256_LEN(16) + 1, aes, 16, &d),
             OTA_ERR_IMAGE_TLV_MALFORMED);
    CHECK_EQ(d.expected, OTA_ENC_EC256_LEN(16));
    CHECK_EQ(d.found, OTA_ENC_EC256_LEN(16) + 1);
    CHECK_EQ(ota_enc_wrap(NULL, priv, pub, pub, aes, 16, tlv), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_wrap(ce, NULL, pub, pub, aes, 16, tlv), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_wrap(ce, priv, NULL, pub, aes, 16, tlv), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_wrap(ce, priv, pub, NULL, aes, 16, tlv), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_wrap(ce, priv, pub, pub, NULL, 16, tlv), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_wrap(ce, priv, pub, pub, aes, 16, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_wrap(ce, priv, pub, pub, aes, 24, tlv), OTA_ERR_INVALID_ARG);

    /* the image's key: arguments, an image that is not encrypted, a key
     * TLV past the end of what the reader holds, a reader that fails */
    ota_reader_from_mem(&r, &mr, img, (uint32_t)len);
    REQUIRE(ota_image_parse(&r, &info, NULL) == OTA_OK && info.enc_aes_len);
    CHECK_EQ(ota_enc_image_key(&r, &info, ce, &g_dev_d, &k, &d), OTA_OK);
    CHECK_EQ(k.aes_len, info.enc_aes_len);
    CHECK_EQ(ota_enc_image_key(NULL, &info, ce, &g_dev_d, &k, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_image_key(&r, NULL, ce, &g_dev_d, &k, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_image_key(&r, &info, NULL, &g_dev_d, &k, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_image_key(&r, &info, ce, &g_dev_d, NULL, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_image_key(&r, &info, ce, NULL, &k, &d), OTA_ERR_IMAGE_ENC_NO_KEY);
    {
        struct ota_image_info clear = info;
        clear.enc_aes_len = 0;
        CHECK_EQ(ota_enc_image_key(&r, &clear, ce, &g_dev_d, &k, &d), OTA_ERR_INVALID_ARG);
        clear = info, clear.enc_off = 0;
        CHECK_EQ(ota_enc_image_key(&r, &clear, ce, &g_dev_d, &k, &d), OTA_ERR_INVALID_ARG);
        clear = info, clear.enc_len -= 1;
        CHECK_EQ(ota_enc_image_key(&r, &clear, ce, &g_dev_d, &k, &d), OTA_ERR_INVALID_ARG);
    }
    {
        struct ota_reader shortr = r, failr = r;
        shortr.size = info.enc_off + info.enc_len - 1;
        CHECK_EQ(ota_enc_image_key(&shortr, &info, ce, &g_dev_d, &k, &d),
                 OTA_ERR_IMAGE_TRUNCATED);
        CHECK_EQ(d.expected, info.enc_off + info.enc_len);
        CHECK_EQ(d.found, shortr.size);
        failr.read = fail_read;
        CHECK_EQ(ota_enc_image_key(&failr, &info, ce, &g_dev_d, &k, &d), OTA_ERR_IO);
        CHECK_EQ(d.offset, info.enc_off);
    }
    /* xor: arguments; the key is wiped */
    REQUIRE(ota_enc_image_key(&r, &info, ce, &g_dev_d, &k, &d) == OTA_OK);
    CHECK_EQ(ota_enc_xor(NULL, 0, buf, sizeof buf), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_xor(&k, 0, NULL, 4), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_enc_xor(&k, 0, NULL, 0), OTA_OK);
    ota_enc_key_wipe(&k);
    CHECK(k.c == NULL && k.aes_len == 0 && k.aes[0] == 0 && k.aes[15] == 0);
    CHECK_EQ(ota_enc_xor(&k, 0, buf, sizeof buf), OTA_ERR_INVALID_ARG);
    ota_enc_key_wipe(NULL); /* allowed, like free(NULL) */

    /* the encrypted-payload envelope's fixed header */
    uint8_t fixed[OTA_ENC_PAYLOAD_FIXED] = {'O', 'T', 'A', 'E', OTA_ENC_PAYLOAD_FORMAT, 16, 0, 0};
    CHECK_EQ(ota_enc_payload_hdr_len(fixed, &e), OTA_ENC_PAYLOAD_HDR_LEN(16));
    CHECK_EQ(e, OTA_OK);
    fixed[0] = 'X'; /* not an envelope: a plain patch */
    CHECK_EQ(ota_enc_payload_hdr_len(fixed, &e), 0);
    CHECK_EQ(e, OTA_OK);
    fixed[0] = 'O', fixed[4] = 2;
    CHECK_EQ(ota_enc_payload_hdr_len(fixed, &e), 0);
    CHECK_EQ(e, OTA_ERR_DELTA_CORRUPT);
    fixed[4] = OTA_ENC_PAYLOAD_FORMAT, fixed[5] = 24;
    CHECK_EQ(ota_enc_payload_hdr_len(fixed, &e), 0);
    CHECK_EQ(e, OTA_ERR_DELTA_CORRUPT);
    fixed[5] = 32, fixed[7] = 1;
    CHECK_EQ(ota_enc_payload_hdr_len(fixed, &e), 0);
    CHECK_EQ(e, OTA_ERR_DELTA_CORRUPT);
    fixed[7] = 0, fixed[6] = 1;
    CHECK_EQ(ota_enc_payload_hdr_len(fixed, &e), 0);
    CHECK_EQ(e, OTA_ERR_DELTA_CORRUPT);
    fixed[6] = 0;
    CHECK_EQ(ota_enc_payload_hdr_len(fixed, &e), OTA_ENC_PAYLOAD_HDR_LEN(32));
    {
        uint8_t hdr[OTA_ENC_PAYLOAD_HDR_MAX];
        uint32_t hl = OTA_ENC_PAYLOAD_HDR_LEN(16);
        memset(hdr, 0, sizeof hdr);
        memcpy(hdr, "OTAE", 4);
        hdr[4] = OTA_ENC_PAYLOAD_FORMAT, hdr[5] = 16;
        CHECK_EQ(ota_enc_payload_open(NULL, &g_dev_d, hdr, hl, 1000, &k, &d),
                 OTA_ERR_INVALID_ARG);
        CHECK_EQ(ota_enc_payload_open(ce, &g_dev_d, NULL, hl, 1000, &k, &d),
                 OTA_ERR_INVALID_ARG);
        CHECK_EQ(ota_enc_payload_open(ce, &g_dev_d, hdr, hl, 1000, NULL, &d),
                 OTA_ERR_INVALID_ARG);
        CHECK_EQ(ota_enc_payload_open(ce, &g_dev_d, hdr, 7, 1000, &k, &d), OTA_ERR_INVALID_ARG);
        CHECK_EQ(ota_enc_payload_open(ce, &g_dev_d, hdr, hl - 1, 1000, &k, &d),
                 OTA_ERR_DELTA_TRUNCATED);
        CHECK_EQ(d.expected, hl);
        CHECK_EQ(d.found, hl - 1);
        CHECK_EQ(ota_enc_payload_open(ce, &g_dev_d, hdr, hl, hl - 2, &k, &d),
                 OTA_ERR_DELTA_TRUNCATED);
        CHECK_EQ(d.found, hl - 2);
        hdr[4] = 9;
        CHECK_EQ(ota_enc_payload_open(ce, &g_dev_d, hdr, hl, 1000, &k, &d),
                 OTA_ERR_DELTA_CORRUPT);
        hdr[4] = OTA_ENC_PAYLOAD_FORMAT, hdr[0] = 'X';
        CHECK_EQ(ota_enc_payload_open(ce, &g_dev_d, hdr, hl, 1000, &k, &d),
                 OTA_ERR_DELTA_CORRUPT);
    }
    free(payload);
    free(img);
}

/* The crypto helpers every check uses. */
static void test_crypto_helpers(void)
{
    uint8_t out[OTA_SHA256_LEN];
    /* SEQUENCE { INTEGER 1, INTEGER 1 }: the smallest well-formed signature */
    static const uint8_t ok[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
    /* r takes every byte of the SEQUENCE: no room for s */
    static const uint8_t r_only[] = {0x30, 0x06, 0x02, 0x04, 0x01, 0x02, 0x03, 0x04};
    /* bytes after s inside the SEQUENCE */
    static const uint8_t trailing[] = {0x30, 0x08, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00, 0x00};
    CHECK_EQ(ota_der_sig_check(ok, sizeof ok), OTA_OK);
    CHECK_EQ(ota_der_sig_check(r_only, sizeof r_only), OTA_ERR_IMAGE_SIG_MALFORMED);
    CHECK_EQ(ota_der_sig_check(trailing, sizeof trailing), OTA_ERR_IMAGE_SIG_MALFORMED);
    CHECK_EQ(ota_sha256(NULL, "a", 1, out), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_sha256(g_c, "a", 1, out), OTA_OK);
    CHECK(ota_pubkey_point(NULL) == NULL);
    CHECK(ota_pubkey_point(&g_fw_pub) == g_fw_pub.spki + 26);
}

static void test_image_calls(void)
{
    struct ota_image_info info;
    struct ota_verify_params vp;
    struct ota_mem_reader mr;
    struct ota_reader r, noread;
    struct ota_diag d;
    struct ota_image_version a = {1, 2, 3, 4}, b;
    char s[24];
    size_t len;
    uint8_t *payload = cfx_payload(500, 0);
    uint8_t *img = cfx_image(g_fw, 1, HW, payload, 500, NULL, 0, &len);
    ota_reader_from_mem(&r, &mr, img, (uint32_t)len);
    noread = r;
    noread.read = NULL;
    memset(&vp, 0, sizeof vp);
    vp.crypto = g_c;
    vp.keys = &g_fw_pub;
    vp.n_keys = 1;
    CHECK_EQ(ota_image_parse(&r, &info, &d), OTA_OK);
    CHECK_EQ(ota_image_parse(NULL, &info, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_image_parse(&noread, &info, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_image_parse(&r, NULL, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_image_verify(&r, &vp, &info, &d), OTA_OK);
    CHECK_EQ(ota_image_verify(&r, NULL, &info, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_image_verify(&r, &vp, NULL, &d), OTA_ERR_INVALID_ARG);
    vp.crypto = NULL;
    CHECK_EQ(ota_image_verify(&r, &vp, &info, &d), OTA_ERR_INVALID_ARG);
    /* versions: text cut to the buffer, always terminated */
    CHECK(strcmp(ota_image_version_str(&a, s, sizeof s), "1.2.3+4") == 0);
    CHECK(strcmp(ota_image_version_str(&a, s, 4), "1.2") == 0);
    CHECK(strcmp(ota_image_version_str(&a, s, 5), "1.2.") == 0);
    CHECK(strcmp(ota_image_version_str(&a, s, 7), "1.2.3+") == 0);
    CHECK(strcmp(ota_image_version_str(&a, s, 1), "") == 0);
    s[0] = 'x';
    CHECK(ota_image_version_str(&a, s, 0) == s && s[0] == 'x'); /* no room: untouched */
    CHECK(ota_image_version_str(&a, NULL, 8) == NULL);
    /* order: major, minor, revision, build */
    b = a, b.minor = 3;
    CHECK(ota_image_version_cmp(&a, &b) < 0 && ota_image_version_cmp(&b, &a) > 0);
    b = a, b.revision = 2;
    CHECK(ota_image_version_cmp(&a, &b) > 0 && ota_image_version_cmp(&b, &a) < 0);
    b = a, b.build = 5;
    CHECK(ota_image_version_cmp(&a, &b) < 0 && ota_image_version_cmp(&b, &a) > 0);
    b = a;
    CHECK_EQ(ota_image_version_cmp(&a, &b), 0);
    free(payload);
    free(img);
}

int main(void)
{
    g_c = ota_crypto_openssl();
    if (ota_key_generate(&g_fw) || ota_key_generate(&g_dev) || ota_key_generate(&g_srv) ||
        ota_key_private_scalar(g_dev, &g_dev_d))
        return 2;
    ota_key_pubkey(g_fw, &g_fw_pub);
    ota_key_pubkey(g_srv, &g_srv_pub);
    RUN(test_flash_geometry);
    RUN(test_flash_calls);
    RUN(test_flash_unaligned_read_errors);
    RUN(test_layouts);
    RUN(test_config_block);
    RUN(test_boot_calls);
    RUN(test_otp_and_state);
    RUN(test_installer_calls);
    RUN(test_update_calls);
    RUN(test_delta_header);
    RUN(test_enc_calls);
    RUN(test_image_calls);
    RUN(test_crypto_helpers);
    ota_key_free(g_fw);
    ota_key_free(g_dev);
    ota_key_free(g_srv);
    return test_summary();
}
