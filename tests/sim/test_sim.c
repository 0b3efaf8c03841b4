// SPDX-License-Identifier: Apache-2.0
/*
 * tests/sim/test_sim.c - the flash simulator itself must be right before it
 * can prove anything: NOR semantics, bug reports, wear and operation
 * counters, both power-cut models (and their determinism), file round trip,
 * writes volatile until sync, worn cells that lie.
 */
#include <unistd.h>

#include "../test.h"
#include "ota/sim.h"

static struct ota_sim s;

static void fresh(uint32_t prog, uint32_t sector, uint32_t count)
{
    ota_sim_free(&s);
    REQUIRE(ota_sim_init(&s, 1, prog, sector, count) == OTA_OK);
}

static int all(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

static void test_geometries(void)
{
    CHECK(ota_sim_geometry_count() >= 4);
    for (size_t i = 0; i < ota_sim_geometry_count(); i++) {
        const struct ota_sim_geometry *g = ota_sim_geometry_at(i);
        struct ota_sim t;
        CHECK(ota_sim_geometry_find(g->name) == g);
        CHECK(ota_sim_init_geometry(&t, g, 0) == OTA_OK);
        CHECK(ota_flash_check(&t.flash) == OTA_OK);
        ota_sim_free(&t);
    }
    CHECK(ota_sim_geometry_find("generic-4k")->prog_size == 8);
    CHECK(ota_sim_geometry_find("generic-4k")->sector_size == 4096);
    CHECK(ota_sim_geometry_find("stm32f4")->sector_size == 131072);
    CHECK(ota_sim_geometry_find("nope") == NULL);
    CHECK(ota_sim_init(&s, 1, 3, 4096, 4) == OTA_ERR_INVALID_ARG); /* 4096 % 3 */
}

static void test_nor_semantics(void)
{
    uint8_t buf[16], out[16];
    fresh(8, 4096, 4);
    CHECK(all(s.mem, 4 * 4096, 0xff));
    memset(buf, 0x0f, sizeof buf);
    CHECK(ota_flash_prog(&s.flash, 16, buf, 16) == OTA_OK);
    CHECK(ota_flash_read(&s.flash, 16, out, 16) == OTA_OK);
    CHECK(memcmp(out, buf, 16) == 0);
    /* programming again (even only clearing more bits) is a bug */
    memset(buf, 0x0e, sizeof buf);
    CHECK(ota_flash_prog(&s.flash, 16, buf, 8) == OTA_ERR_FLASH_NOT_ERASED);
    CHECK_EQ(s.violations, 1);
    CHECK(strstr(s.violation, "non-erased") != NULL);
    CHECK(s.mem[16] == 0x0f); /* refused: nothing changed */
    /* alignment and bounds */
    CHECK(ota_flash_prog(&s.flash, 4, buf, 8) == OTA_ERR_FLASH_ALIGN);
    CHECK(ota_flash_prog(&s.flash, 0, buf, 4) == OTA_ERR_FLASH_ALIGN);
    CHECK(ota_flash_prog(&s.flash, 4 * 4096 - 8, buf, 16) == OTA_ERR_FLASH_BOUNDS);
    CHECK(ota_flash_erase(&s.flash, 100, 4096) == OTA_ERR_FLASH_ALIGN);
    /* erase restores 0xFF and counts wear */
    CHECK(ota_flash_erase(&s.flash, 0, 4096) == OTA_OK);
    CHECK(all(s.mem, 4096, 0xff));
    CHECK_EQ(s.erase_count[0], 1);
    CHECK_EQ(s.erase_count[1], 0);
    CHECK(ota_flash_prog(&s.flash, 16, buf, 16) == OTA_OK);
    CHECK_EQ(s.ops, 3); /* prog, erase, prog (refused calls before the clock) */
    CHECK_EQ(s.stats.progs, 2);
    CHECK_EQ(s.stats.erases, 1);
    CHECK_EQ(s.stats.bytes_programmed, 32);
    /* protected (OTP) sectors refuse erase */
    ota_sim_protect(&s, 3, 1);
    CHECK(ota_flash_erase(&s.flash, 3 * 4096, 4096) == OTA_ERR_FLASH_PROTECTED);
    CHECK_EQ(s.violations, 2);
    CHECK(ota_flash_erase(&s.flash, 2 * 4096, 4096) == OTA_OK);
}

static void test_cut_before(void)
{
    uint8_t buf[8] = {0}, out[8];
    fresh(8, 4096, 2);
    ota_sim_arm_cut(&s, OTA_SIM_CUT_BEFORE, 1, 7);
    CHECK(ota_flash_prog(&s.flash, 0, buf, 8) == OTA_OK);     /* op 0 */
    CHECK(ota_flash_prog(&s.flash, 8, buf, 8) == OTA_ERR_POWER_LOSS); /* op 1: cut */
    CHECK(s.cut_fired);
    CHECK(all(s.mem + 8, 8, 0xff)); /* never happened */
    CHECK(ota_flash_read(&s.flash, 0, out, 8) == OTA_ERR_POWER_LOSS);
    CHECK(ota_flash_erase(&s.flash, 0, 4096) == OTA_ERR_POWER_LOSS);
    CHECK_EQ(s.erase_count[0], 0);
    ota_sim_power_on(&s);
    CHECK(ota_flash_read(&s.flash, 0, out, 8) == OTA_OK);
    CHECK(all(out, 8, 0));
    CHECK(ota_flash_prog(&s.flash, 8, buf, 8) == OTA_OK);
}

/* Torn program: only bits the target clears may be cleared, some bytes are
 * left unwritten or half written; same seed, same result. */
static void test_cut_torn_prog(void)
{
    uint8_t target[256], first[256];
    int partial = 0, differ = 0;
    for (size_t i = 0; i < sizeof target; i++)
        target[i] = (uint8_t)(i * 37 + 11);
    for (uint64_t seed = 1; seed <= 40; seed++) {
        for (int rep = 0; rep < 2; rep++) {
            fresh(8, 4096, 2);
            ota_sim_arm_cut(&s, OTA_SIM_CUT_TORN, 0, seed);
            CHECK(ota_flash_prog(&s.flash, 0, target, sizeof target) == OTA_ERR_POWER_LOSS);
            for (size_t i = 0; i < sizeof target; i++)
                CHECK((s.mem[i] & target[i]) == target[i]); /* never a bit the target keeps */
            if (rep == 0) {
                memcpy(first, s.mem, sizeof first);
                if (memcmp(first, target, sizeof target) != 0 && !all(first, sizeof first, 0xff))
                    partial++;
            } else if (memcmp(first, s.mem, sizeof first) != 0) {
                differ++;
            }
        }
    }
    CHECK(partial >= 30);  /* nearly every torn program is really partial */
    CHECK_EQ(differ, 0);   /* deterministic from the seed */
}

static void test_cut_torn_erase(void)
{
    int partial = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        uint8_t zero[4096];
        memset(zero, 0, sizeof zero);
        fresh(4, 4096, 2);
        CHECK(ota_flash_prog(&s.flash, 0, zero, sizeof zero) == OTA_OK);
        ota_sim_arm_cut(&s, OTA_SIM_CUT_TORN, 0, seed);
        CHECK(ota_flash_erase(&s.flash, 0, 4096) == OTA_ERR_POWER_LOSS);
        CHECK_EQ(s.erase_count[0], 1); /* a started erase wears the sector */
        if (!all(s.mem, 4096, 0xff) && !all(s.mem, 4096, 0))
            partial++;
    }
    CHECK(partial >= 18);
}

static void test_file_round_trip(void)
{
    char path[] = "/tmp/ota-test-sim-XXXXXX";
    char err[512];
    struct ota_sim t;
    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    fresh(8, 4096, 8);
    snprintf(s.geometry, sizeof s.geometry, "test-geo");
    s.running_slot = 1;
    s.boot_count = 7;
    ota_sim_protect(&s, 7, 1);
    CHECK(ota_flash_prog(&s.flash, 4096, buf, 8) == OTA_OK);
    CHECK(ota_flash_erase(&s.flash, 0, 8192) == OTA_OK);
    CHECK(ota_sim_save(&s, path, err, sizeof err) == OTA_OK);
    CHECK(ota_sim_load(&t, path, err, sizeof err) == OTA_OK);
    CHECK(memcmp(t.mem, s.mem, 8 * 4096) == 0);
    CHECK_EQ(t.erase_count[0], 1);
    CHECK_EQ(t.erase_count[1], 1);
    CHECK_EQ(t.running_slot, 1);
    CHECK_EQ(t.boot_count, 7);
    CHECK_EQ(t.protect_first, 7);
    CHECK_EQ(t.ops, s.ops);
    CHECK(strcmp(t.geometry, "test-geo") == 0);
    CHECK(t.flash.ctx == &t);
    ota_sim_free(&t);
    /* truncated and foreign files are refused with the file name */
    CHECK(truncate(path, 1000) == 0);
    CHECK(ota_sim_load(&t, path, err, sizeof err) == OTA_ERR_FILE);
    CHECK(strstr(err, path) != NULL);
    {
        FILE *f = fopen(path, "wb");
        fputs("definitely not a flash image, but long enough to hold a header ...........", f);
        for (int i = 0; i < 10; i++)
            fputs("padding padding padding padding", f);
        fclose(f);
    }
    CHECK(ota_sim_load(&t, path, err, sizeof err) == OTA_ERR_FILE);
    CHECK(strstr(err, "not an ota-sim flash file") != NULL);
    unlink(path);
    CHECK(ota_sim_load(&t, path, err, sizeof err) == OTA_ERR_FILE);
}

static void test_copy_snapshot(void)
{
    struct ota_sim t;
    uint8_t buf[8] = {0};
    fresh(8, 4096, 4);
    REQUIRE(ota_sim_init(&t, 1, 8, 4096, 4) == OTA_OK);
    CHECK(ota_flash_prog(&s.flash, 0, buf, 8) == OTA_OK);
    ota_sim_arm_cut(&t, OTA_SIM_CUT_BEFORE, 0, 1);
    CHECK(ota_sim_copy(&t, &s) == OTA_OK);
    CHECK(t.mem[0] == 0 && t.flash.ctx == &t && t.mem != s.mem);
    CHECK(t.cut_mode == OTA_SIM_CUT_NONE);
    CHECK(ota_flash_prog(&t.flash, 8, buf, 8) == OTA_OK);
    CHECK(s.mem[8] == 0xff); /* independent */
    ota_sim_free(&t);
    REQUIRE(ota_sim_init(&t, 1, 8, 4096, 5) == OTA_OK);
    CHECK(ota_sim_copy(&t, &s) == OTA_ERR_INVALID_ARG);
    ota_sim_free(&t);
}

/* ON_SYNC: a synced program survives any cut; an unsynced one is kept,
 * lost or torn depending on the seed; the default mode loses nothing. */
static void test_durable_on_sync(void)
{
    uint8_t a[4096], b[4096];
    int kept = 0, lost = 0, torn = 0;
    memset(a, 0x11, sizeof a);
    memset(b, 0x22, sizeof b);
    for (uint64_t seed = 1; seed <= 60; seed++) {
        fresh(8, 4096, 4);
        REQUIRE(ota_sim_set_durability(&s, OTA_SIM_DURABLE_ON_SYNC) == OTA_OK);
        CHECK(ota_flash_prog(&s.flash, 0, a, sizeof a) == OTA_OK);
        CHECK(ota_flash_sync(&s.flash) == OTA_OK);
        CHECK(ota_flash_prog(&s.flash, 4096, b, sizeof b) == OTA_OK);
        CHECK(ota_flash_erase(&s.flash, 0, 4096) == OTA_OK); /* unsynced erase */
        ota_sim_power_cut(&s, seed);
        CHECK(ota_flash_read(&s.flash, 0, b, 8) == OTA_ERR_POWER_LOSS);
        ota_sim_power_on(&s);
        /* sector 0: synced 0x11, then an unsynced erase; sector 1: unsynced 0x22 */
        for (int sec = 0; sec < 2; sec++) {
            const uint8_t *m = s.mem + sec * 4096;
            uint8_t old = sec ? 0xff : 0x11, new = sec ? 0x22 : 0xff;
            int n_old = 0, n_new = 0;
            for (int i = 0; i < 4096; i++) {
                n_old += m[i] == old;
                n_new += m[i] == new;
            }
            CHECK_EQ(n_old + n_new, 4096); /* only old or new bytes, nothing else */
            if (n_new == 4096)
                kept++;
            else if (n_old == 4096)
                lost++;
            else
                torn++;
        }
        CHECK(all(s.mem + 2 * 4096, 2 * 4096, 0xff));
    }
    CHECK(kept > 10 && lost > 10 && torn > 10);
    /* same cut seed, same outcome; default mode keeps everything */
    fresh(8, 4096, 4);
    CHECK(ota_flash_prog(&s.flash, 0, a, sizeof a) == OTA_OK);
    ota_sim_power_cut(&s, 5);
    ota_sim_power_on(&s);
    CHECK(all(s.mem, 4096, 0x11));
    CHECK_EQ(s.stats.sectors_lost, 0);
}

/* An armed cut in ON_SYNC mode also drops what came before it unsynced, and
 * a snapshot copy keeps the destination's mode. */
static void test_durable_armed_cut_and_copy(void)
{
    uint8_t a[8] = {0};
    struct ota_sim t;
    int rolled_back = 0;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        fresh(8, 4096, 2);
        REQUIRE(ota_sim_set_durability(&s, OTA_SIM_DURABLE_ON_SYNC) == OTA_OK);
        CHECK(ota_flash_prog(&s.flash, 0, a, 8) == OTA_OK);
        ota_sim_arm_cut(&s, OTA_SIM_CUT_BEFORE, 0, seed);
        CHECK(ota_flash_prog(&s.flash, 4096, a, 8) == OTA_ERR_POWER_LOSS);
        rolled_back += all(s.mem, 8, 0xff);
    }
    CHECK(rolled_back > 0);
    CHECK(s.stats.syncs == 0);
    REQUIRE(ota_sim_init(&t, 1, 8, 4096, 2) == OTA_OK);
    REQUIRE(ota_sim_set_durability(&t, OTA_SIM_DURABLE_ON_SYNC) == OTA_OK);
    fresh(8, 4096, 2);
    CHECK(ota_flash_prog(&s.flash, 0, a, 8) == OTA_OK);
    CHECK(ota_sim_copy(&t, &s) == OTA_OK);
    CHECK(t.durability == OTA_SIM_DURABLE_ON_SYNC && s.durability == OTA_SIM_DURABLE_AT_ONCE);
    CHECK(ota_flash_prog(&t.flash, 8, a, 8) == OTA_OK);
    ota_sim_power_cut(&t, 1);
    ota_sim_power_on(&t);
    CHECK(all(t.mem, 8, 0)); /* what the copy brought counts as synced */
    ota_sim_free(&t);
    CHECK(ota_sim_set_durability(&s, (enum ota_sim_durability)7) == OTA_ERR_INVALID_ARG);
}

/* Worn cells: the program reports success, one byte per program in the
 * region is wrong, reads show it; outside the region and after the budget
 * everything is right. */
static void test_worn_cells(void)
{
    uint8_t want[256], out[256];
    for (size_t i = 0; i < sizeof want; i++)
        want[i] = (uint8_t)(i * 7 + 1) & 0x7f; /* every byte has a 0 bit */
    for (int how = OTA_SIM_LIE_UNPROGRAMMED; how <= OTA_SIM_LIE_FLIP; how++) {
        fresh(8, 4096, 4);
        ota_sim_set_worn(&s, 4096, 4096, (enum ota_sim_lie)how, 9, 2);
        CHECK(ota_flash_prog(&s.flash, 0, want, sizeof want) == OTA_OK); /* outside */
        CHECK(memcmp(s.mem, want, sizeof want) == 0);
        for (int k = 0; k < 3; k++) {
            int wrong = 0;
            CHECK(ota_flash_prog(&s.flash, 4096 + k * 256, want, sizeof want) == OTA_OK);
            CHECK(ota_flash_read(&s.flash, 4096 + k * 256, out, sizeof out) == OTA_OK);
            for (size_t i = 0; i < sizeof want; i++) {
                if (out[i] != want[i]) {
                    wrong++;
                    if (how == OTA_SIM_LIE_UNPROGRAMMED)
                        CHECK((out[i] & want[i]) == want[i]); /* only bits left at 1 */
                    CHECK(__builtin_popcount((unsigned)(out[i] ^ want[i])) == 1);
                }
            }
            CHECK_EQ(wrong, k < 2 ? 1 : 0); /* budget of 2 lies */
        }
        CHECK_EQ(s.stats.lies, 2);
        CHECK_EQ(s.violations, 0);
    }
}

int main(void)
{
    RUN(test_geometries);
    RUN(test_nor_semantics);
    RUN(test_cut_before);
    RUN(test_cut_torn_prog);
    RUN(test_cut_torn_erase);
    RUN(test_file_round_trip);
    RUN(test_copy_snapshot);
    RUN(test_durable_on_sync);
    RUN(test_durable_armed_cut_and_copy);
    RUN(test_worn_cells);
    ota_sim_free(&s);
    return test_summary();
}
