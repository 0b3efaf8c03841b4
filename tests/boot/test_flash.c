// SPDX-License-Identifier: Apache-2.0
/*
 * tests/boot/test_flash.c - the checked flash helpers of the core
 * (src/core/flash.c): bounds/alignment refusals, unaligned reads on a
 * read-granular device, the flash-region reader, the erase-ahead writer.
 */
#include "../test.h"
#include "ota/flash.h"
#include "ota/sim.h"

static void test_check_geometry(void)
{
    struct ota_sim s;
    REQUIRE(ota_sim_init(&s, 1, 8, 4096, 4) == OTA_OK);
    CHECK(ota_flash_check(&s.flash) == OTA_OK);
    CHECK_EQ(ota_flash_size(&s.flash), 16384);
    CHECK_EQ(ota_flash_align_prog(&s.flash, 9), 16);
    CHECK_EQ(ota_flash_align_sector(&s.flash, 4097), 8192);
    s.flash.prog_size = 0;
    CHECK(ota_flash_check(&s.flash) == OTA_ERR_INVALID_ARG);
    s.flash.prog_size = 512; /* > OTA_FLASH_PROG_MAX */
    CHECK(ota_flash_check(&s.flash) == OTA_ERR_INVALID_ARG);
    s.flash.prog_size = 8;
    s.flash.erase = NULL;
    CHECK(ota_flash_check(&s.flash) == OTA_ERR_INVALID_ARG);
    CHECK(ota_flash_check(NULL) == OTA_ERR_INVALID_ARG);
    ota_sim_free(&s);
}

static void test_unaligned_read(void)
{
    struct ota_sim s;
    uint8_t data[64], out[64];
    for (int i = 0; i < 64; i++)
        data[i] = (uint8_t)(i + 1);
    REQUIRE(ota_sim_init(&s, 4, 4, 1024, 2) == OTA_OK); /* 4-byte reads only */
    REQUIRE(ota_flash_prog(&s.flash, 0, data, 64) == OTA_OK);
    for (uint32_t off = 0; off < 8; off++)
        for (size_t len = 0; len < 20; len++) {
            memset(out, 0, sizeof out);
            CHECK(ota_flash_read(&s.flash, off, out, len) == OTA_OK);
            CHECK(memcmp(out, data + off, len) == 0);
        }
    CHECK(ota_flash_read(&s.flash, 2047, out, 2) == OTA_ERR_FLASH_BOUNDS);
    CHECK(ota_flash_read(&s.flash, 0xffffffffu, out, 2) == OTA_ERR_FLASH_BOUNDS);
    ota_sim_free(&s);
}

static void test_is_erased_and_reader(void)
{
    struct ota_sim s;
    struct ota_flash_area a;
    struct ota_reader r;
    uint8_t b[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8];
    int erased = 0;
    REQUIRE(ota_sim_init(&s, 1, 8, 1024, 4) == OTA_OK);
    CHECK(ota_flash_is_erased(&s.flash, 0, 4096, &erased) == OTA_OK && erased);
    REQUIRE(ota_flash_prog(&s.flash, 1024 + 8, b, 8) == OTA_OK);
    CHECK(ota_flash_is_erased(&s.flash, 1024, 1024, &erased) == OTA_OK && !erased);
    CHECK(ota_flash_is_erased(&s.flash, 1024, 8, &erased) == OTA_OK && erased);
    ota_reader_from_flash(&r, &a, &s.flash, 1024, 1024);
    CHECK_EQ(r.size, 1024);
    CHECK(r.read(r.ctx, 8, out, 8) == OTA_OK && memcmp(out, b, 8) == 0);
    CHECK(r.read(r.ctx, 1020, out, 8) == OTA_ERR_FLASH_BOUNDS); /* not past the region */
    ota_sim_free(&s);
}

/* The writer: odd-sized writes land exactly, sectors are erased just
 * ahead, the tail is 0xFF-padded, nothing beyond is touched. */
static void test_writer(void)
{
    struct ota_sim s;
    struct ota_flash_writer w;
    uint8_t data[5000];
    size_t sizes[] = {1, 7, 8, 9, 100, 1023, 2048, 1};
    size_t pos = 0;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    REQUIRE(ota_sim_init(&s, 1, 8, 1024, 16) == OTA_OK);
    memset(s.mem, 0x00, 16 * 1024); /* old content everywhere */
    REQUIRE(ota_flash_writer_init(&w, &s.flash, 2048, 8192, 256) == OTA_OK);
    for (size_t k = 0; pos < sizeof data; k = (k + 1) % 8) {
        size_t n = sizes[k];
        if (n > sizeof data - pos)
            n = sizeof data - pos;
        REQUIRE(ota_flash_writer_write(&w, data + pos, n) == OTA_OK);
        pos += n;
    }
    REQUIRE(ota_flash_writer_finish(&w) == OTA_OK);
    CHECK(memcmp(s.mem + 2048, data, sizeof data) == 0);
    for (size_t i = 2048 + sizeof data; i < 2048 + 5120; i++)
        CHECK(s.mem[i] == 0xff); /* padding + rest of the last erased sector */
    CHECK(s.mem[2048 + 5120] == 0x00); /* sector after the data: untouched */
    CHECK(s.mem[2047] == 0x00);        /* before the region: untouched */
    CHECK_EQ(s.stats.erases, 5);       /* ceil(5000 / 1024) sectors */
    CHECK_EQ(s.violations, 0);
    /* overflow of the region is refused without writing */
    REQUIRE(ota_flash_writer_init(&w, &s.flash, 0, 1024, 0) == OTA_OK);
    CHECK(ota_flash_writer_write(&w, data, 1025) == OTA_ERR_TOO_LARGE);
    CHECK(ota_flash_writer_init(&w, &s.flash, 100, 1024, 0) == OTA_ERR_FLASH_ALIGN);
    CHECK(ota_flash_writer_init(&w, &s.flash, 0, 1024, 12) == OTA_ERR_FLASH_ALIGN);
    CHECK(ota_flash_writer_init(&w, &s.flash, 15 * 1024, 2048, 0) == OTA_ERR_FLASH_BOUNDS);
    ota_sim_free(&s);
}

int main(void)
{
    RUN(test_check_geometry);
    RUN(test_unaligned_read);
    RUN(test_is_erased_and_reader);
    RUN(test_writer);
    return test_summary();
}
