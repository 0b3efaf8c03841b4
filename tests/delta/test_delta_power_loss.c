// SPDX-License-Identifier: Apache-2.0
/*
 * tests/delta/test_delta_power_loss.c - the power-loss proof of delta
 * installs (issue item 4) on the flash simulator.
 *
 * Slot A holds the running signed image; a patch to the next signed image is
 * applied into slot B through the flash HAL (reader over A, sequential
 * erase+program writer over B). Power is cut at EVERY flash operation of the
 * install, once with the operation not happening and once with it torn. After
 * each cut: slot A is byte-for-byte unchanged (and its sectors were never
 * erased), still verifies as a signed image (the device stays bootable on
 * it), and the simulator saw no NOR-rule violation. Then the install is
 * restarted from the beginning, as the update engine does, and slot B
 * verifies as the new image, also after one more power cut right after the
 * install returned (what it reported done is durable). Then the same again
 * with writes volatile until sync (OTA_SIM_DURABLE_ON_SYNC, syncs are cut
 * points too), every 4th operation index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"
#include "ota/flash.h"
#include "ota/host.h"
#include "ota/image.h"
#include "ota/image_build.h"
#include "ota/sim.h"
#include "../test.h"
#include "delta_fixture.h"
#include "delta_fixture_zlib.h"
#include "delta_fixture_a64.h"

#ifndef OTA_CORPUS_DIR
#define OTA_CORPUS_DIR ""
#endif

#define SECTORS_PER_SLOT 64u /* 256 KiB slots of 4 KiB sectors */
#define FEED_CHUNK 1000u     /* patch bytes per "network read" */

struct pl_ctx {
    ota_key *key;
    struct ota_pubkey pub;
    uint8_t *old_img, *new_img, *patch;
    size_t old_len, new_len, patch_len;
    uint32_t slot_size, slot_a, slot_b;
    struct ota_deflate_port *port; /* deflate mode: created with it, applied with it */
};

static uint8_t *sign(const struct pl_ctx *c, const uint8_t *payload, size_t len, uint8_t major,
                     size_t *out_len)
{
    struct ota_build_params p;
    memset(&p, 0, sizeof(p));
    p.key = c->key;
    p.version.major = major;
    uint8_t *img = NULL;
    char err[256];
    if (ota_image_build(&p, payload, len, &img, out_len, err, sizeof(err)) != OTA_OK) {
        fprintf(stderr, "image build: %s\n", err);
        return NULL;
    }
    return img;
}

static ota_err verify_slot(const struct pl_ctx *c, struct ota_sim *s, uint32_t off,
                           uint8_t expect_hash[OTA_SHA256_LEN])
{
    struct ota_flash_area area;
    struct ota_reader r;
    ota_reader_from_flash(&r, &area, &s->flash, off, c->slot_size);
    struct ota_verify_params vp;
    memset(&vp, 0, sizeof(vp));
    vp.crypto = ota_crypto_mbedtls();
    vp.keys = &c->pub;
    vp.n_keys = 1;
    struct ota_image_info info;
    ota_err e = ota_image_verify(&r, &vp, &info, NULL);
    if (e == OTA_OK && expect_hash && memcmp(info.hash, expect_hash, OTA_SHA256_LEN) != 0)
        e = OTA_ERR_IMAGE_HASH_MISMATCH;
    return e;
}

/* The install as a device runs it: patch streamed in, A read, B written. */
static ota_err install(const struct pl_ctx *c, struct ota_sim *s)
{
    static struct ota_delta_apply st;
    struct ota_flash_area area;
    struct ota_reader old;
    struct ota_flash_writer w;
    ota_reader_from_flash(&old, &area, &s->flash, c->slot_a, c->slot_size);
    ota_err e = ota_flash_writer_init(&w, &s->flash, c->slot_b, c->slot_size, 256);
    if (e != OTA_OK)
        return e;
    struct ota_delta_apply_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.crypto = ota_crypto_mbedtls();
    cfg.old = &old;
    cfg.write = ota_delta_write_flash;
    cfg.write_ctx = &w;
    cfg.max_new_len = c->slot_size;
    cfg.deflate = c->port;
    e = ota_delta_apply_init(&st, &cfg);
    for (size_t off = 0; e == OTA_OK && off < c->patch_len; off += FEED_CHUNK) {
        size_t n = c->patch_len - off < FEED_CHUNK ? c->patch_len - off : FEED_CHUNK;
        e = ota_delta_apply_feed(&st, c->patch + off, n);
    }
    if (e == OTA_OK)
        e = ota_delta_apply_finish(&st);
    if (e == OTA_OK)
        e = ota_flash_writer_finish(&w);
    return e;
}

static int setup(struct pl_ctx *c, const uint8_t *old_payload, size_t old_pl,
                 const uint8_t *new_payload, size_t new_pl)
{
    c->old_img = sign(c, old_payload, old_pl, 1, &c->old_len);
    c->new_img = sign(c, new_payload, new_pl, 2, &c->new_len);
    if (!c->old_img || !c->new_img)
        return 0;
    struct ota_delta_create_opts o = {.deflate = c->port != NULL};
    if (ota_delta_create_ex(c->old_img, c->old_len, c->new_img, c->new_len, &o, &c->patch,
                            &c->patch_len, NULL) != OTA_OK)
        return 0;
    /* deflate mode: the patch really is version 3 (the archives hold
     * members zlib does not reproduce: kept in token form) */
    return !c->port || c->patch[4] == OTA_DELTA_VERSION_TOKENS;
}

static void run_cuts(struct pl_ctx *c, const char *name)
{
    static struct ota_sim base, work;
    const struct ota_sim_geometry *g = ota_sim_geometry_find("generic-4k");
    REQUIRE(g);
    REQUIRE(ota_sim_init_geometry(&base, g, 2u * SECTORS_PER_SLOT) == OTA_OK);
    REQUIRE(ota_sim_init_geometry(&work, g, 2u * SECTORS_PER_SLOT) == OTA_OK);
    c->slot_size = SECTORS_PER_SLOT * g->sector_size;
    c->slot_a = 0;
    c->slot_b = c->slot_size;
    REQUIRE(c->old_len <= c->slot_size && c->new_len <= c->slot_size);

    /* Slot A: the running image. */
    struct ota_flash_writer w;
    REQUIRE(ota_flash_writer_init(&w, &base.flash, c->slot_a, c->slot_size, 0) == OTA_OK);
    REQUIRE(ota_flash_writer_write(&w, c->old_img, c->old_len) == OTA_OK);
    REQUIRE(ota_flash_writer_finish(&w) == OTA_OK);
    REQUIRE(verify_slot(c, &base, c->slot_a, NULL) == OTA_OK);
    uint8_t *a_before = malloc(c->slot_size);
    memcpy(a_before, base.mem + c->slot_a, c->slot_size);
    uint32_t a_erases[SECTORS_PER_SLOT];
    memcpy(a_erases, base.erase_count, sizeof(a_erases));

    uint8_t new_hash[OTA_SHA256_LEN];
    struct ota_image_info ni;
    struct ota_mem_reader mr;
    struct ota_reader nr;
    ota_reader_from_mem(&nr, &mr, c->new_img, (uint32_t)c->new_len);
    REQUIRE(ota_image_parse(&nr, &ni, NULL) == OTA_OK);
    memcpy(new_hash, ni.hash, sizeof(new_hash));

    /* A clean install, to count its flash operations. */
    REQUIRE(ota_sim_copy(&work, &base) == OTA_OK);
    uint64_t ops0 = work.ops;
    CHECK_EQ(install(c, &work), OTA_OK);
    uint64_t total = work.ops - ops0;
    CHECK_EQ(verify_slot(c, &work, c->slot_b, new_hash), OTA_OK);
    CHECK_EQ(work.violations, 0);

    unsigned cuts = 0, a_ok = 0, resumed_ok = 0, vol_cuts = 0;
    for (int dur = OTA_SIM_DURABLE_AT_ONCE; dur <= OTA_SIM_DURABLE_ON_SYNC; dur++) {
    uint64_t dur_total = total, stride = dur == OTA_SIM_DURABLE_ON_SYNC ? 4 : 1;
    REQUIRE(ota_sim_set_durability(&work, (enum ota_sim_durability)dur) == OTA_OK);
    if (dur == OTA_SIM_DURABLE_ON_SYNC) {
        /* syncs count on the cut clock now */
        REQUIRE(ota_sim_copy(&work, &base) == OTA_OK);
        ops0 = work.ops;
        CHECK_EQ(install(c, &work), OTA_OK);
        dur_total = work.ops - ops0;
    }
    for (int mode = OTA_SIM_CUT_BEFORE; mode <= OTA_SIM_CUT_TORN; mode++) {
        for (uint64_t n = 0; n < dur_total; n += stride) {
            REQUIRE(ota_sim_copy(&work, &base) == OTA_OK);
            ota_sim_arm_cut(&work, (enum ota_sim_cut)mode, n, 1000u + n);
            ota_err e = install(c, &work);
            CHECK(work.cut_fired);
            CHECK_EQ(e, OTA_ERR_POWER_LOSS);
            cuts++;
            ota_sim_power_on(&work);
            /* slot A untouched and still a valid signed image */
            int same = !memcmp(work.mem + c->slot_a, a_before, c->slot_size) &&
                       !memcmp(work.erase_count, a_erases, sizeof(a_erases));
            CHECK(same);
            ota_err va = verify_slot(c, &work, c->slot_a, NULL);
            CHECK_EQ(va, OTA_OK);
            a_ok += same && va == OTA_OK;
            /* restart the install from the beginning */
            e = install(c, &work);
            CHECK_EQ(e, OTA_OK);
            /* what the install reported done survives the next cut */
            ota_sim_power_cut(&work, 2000u + n);
            ota_sim_power_on(&work);
            ota_err vb = verify_slot(c, &work, c->slot_b, new_hash);
            CHECK_EQ(vb, OTA_OK);
            resumed_ok += e == OTA_OK && vb == OTA_OK;
            vol_cuts += dur == OTA_SIM_DURABLE_ON_SYNC;
            CHECK_EQ(work.violations, 0);
        }
    }
    }
    printf("     %s: patch %zu bytes, %llu flash ops per install, %u cuts (before + torn; "
           "%u of them with writes volatile until sync): slot A intact and verified %u, "
           "restarted install verified after one more cut %u\n",
           name, c->patch_len, (unsigned long long)total, cuts, vol_cuts, a_ok, resumed_ok);
    CHECK(total > 0);
    CHECK_EQ(a_ok, cuts);
    CHECK_EQ(resumed_ok, cuts);
    free(a_before);
    ota_sim_free(&base);
    ota_sim_free(&work);
}

static void free_ctx(struct pl_ctx *c)
{
    free(c->old_img);
    free(c->new_img);
    free(c->patch);
    ota_key_free(c->key);
    ota_deflate_zlib_free(c->port);
}

/* A relinked pair of nfunc synthetic functions (6 edits) rendered by
 * render, signed and cut at every operation; the patch must use want
 * (predictor flags, 0 for any). */
static void cuts_relinked(uint8_t *(*render)(const struct fx_fw *, size_t *), int nfunc,
                          uint64_t seed, uint8_t want, const char *name)
{
    struct pl_ctx c;
    memset(&c, 0, sizeof(c));
    REQUIRE(ota_key_generate(&c.key) == OTA_OK);
    REQUIRE(ota_key_pubkey(c.key, &c.pub) == OTA_OK);
    static struct fx_fw fw;
    size_t ol, nl;
    fx_fw_init(&fw, nfunc, seed);
    uint8_t *o = render(&fw, &ol);
    fx_fw_evolve(&fw, seed + 101u, 6);
    uint8_t *n = render(&fw, &nl);
    int ok = setup(&c, o, ol, n, nl);
    free(o);
    free(n);
    CHECK(ok);
    if (ok) {
        CHECK((c.patch[6] & want) == want);
        run_cuts(&c, name);
    }
    free_ctx(&c);
}

static uint8_t *thumb_render(const struct fx_fw *fw, size_t *len)
{
    return fx_fw_render(fw, 0x08008000u, len);
}

static void test_power_cuts_synthetic(void)
{
    cuts_relinked(thumb_render, 200, 4242, 0, "synthetic firmware");
}

/* Relinked AArch64 code: the patch predicts ADRP pairs (the applier keeps a
 * pending completer across calls and reads ahead of the ADRP). */
static void test_power_cuts_a64(void)
{
    cuts_relinked(fxa64_render, 150, 5151, OTA_DELTA_PRED_A64_ADRP,
                  "relinked AArch64 code (ADRP predictor)");
}

static void test_power_cuts_corpus(void)
{
    char po[512], pn[512];
    snprintf(po, sizeof(po), "%s/pybricks-movehub-7.27.0.bin", OTA_CORPUS_DIR);
    snprintf(pn, sizeof(pn), "%s/pybricks-movehub-7.28.0.bin", OTA_CORPUS_DIR);
    uint8_t *o = NULL, *n = NULL;
    size_t ol = 0, nl = 0;
    if (ota_file_read(po, &o, &ol) != OTA_OK || ota_file_read(pn, &n, &nl) != OTA_OK) {
        printf("     corpus not found at %s: synthetic firmware only\n", OTA_CORPUS_DIR);
        free(o);
        return;
    }
    struct pl_ctx c;
    memset(&c, 0, sizeof(c));
    REQUIRE(ota_key_generate(&c.key) == OTA_OK);
    REQUIRE(ota_key_pubkey(c.key, &c.pub) == OTA_OK);
    int ok = setup(&c, o, ol, n, nl);
    free(o);
    free(n);
    if (ok)
        run_cuts(&c, "pybricks movehub 7.27.0 -> 7.28.0");
    CHECK(ok);
    free_ctx(&c);
}

/* A version 3 patch (gzip/zlib/zip members inflated from slot A and
 * re-compressed into slot B through the zlib port; pigz-style members with
 * full flushes rewritten as tokens from slot A and re-encoded from tokens
 * into slot B), cut at every operation. */
static void test_power_cuts_deflate(void)
{
    struct pl_ctx c;
    memset(&c, 0, sizeof(c));
    REQUIRE(ota_key_generate(&c.key) == OTA_OK);
    REQUIRE(ota_key_pubkey(c.key, &c.pub) == OTA_OK);
    c.port = ota_deflate_zlib_new();
    REQUIRE(c.port);
    static const int levels[] = {9, 6, 1};
    size_t ol, nl;
    uint8_t *o = zx_archive(0, 6, 12000, levels, 3, 1, &ol);
    uint8_t *n = zx_archive(1, 6, 12000, levels, 3, 1, &nl);
    int ok = setup(&c, o, ol, n, nl);
    free(o);
    free(n);
    if (ok)
        run_cuts(&c, "compressed members (deflate mode)");
    CHECK(ok);
    free_ctx(&c);
}

int main(void)
{
    RUN(test_power_cuts_deflate);
    RUN(test_power_cuts_synthetic);
    RUN(test_power_cuts_a64);
    RUN(test_power_cuts_corpus);
    return test_summary();
}
