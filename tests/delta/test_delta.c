// SPDX-License-Identifier: Apache-2.0
/*
 * tests/delta/test_delta.c - unit tests of delta patches: create on the host,
 * apply with the portable core's streaming applier.
 *
 * Round trips (synthetic and, when present, the pybricks corpus) with both
 * crypto backends and patch bytes fed in chunks down to 1 byte; the exact
 * error for corrupt, truncated and hostile patches; the base image refused
 * before any write; the RAM bound (sizeof the state + measured stack).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"
#include "ota/host.h"
#include "../test.h"
#include "delta_fixture.h"
#include "delta_fixture_x86.h"
#include "delta_fixture_a64.h"
#include "delta_internal.h" /* ota_delta_predict on its own */
#include "le.h"
#include "../../src/delta/delta_host.h" /* dencode_run: streams with a chosen map */

#ifndef OTA_CORPUS_DIR
#define OTA_CORPUS_DIR ""
#endif

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static const struct ota_crypto *backend(int i)
{
    return i ? ota_crypto_mbedtls() : ota_crypto_openssl();
}

/* Create old -> new with coder model `model` (1 or 2), apply back in several
 * chunkings with both backends. */
static int roundtrip_model(const uint8_t *old, size_t old_len, const uint8_t *nw,
                           size_t new_len, int model, size_t *patch_len_out)
{
    uint8_t *patch = NULL;
    size_t patch_len = 0;
    struct ota_delta_stats st;
    struct ota_delta_create_opts o = {.model = model};
    ota_err e = ota_delta_create_ex(old, old_len, nw, new_len, &o, &patch, &patch_len, &st);
    if (e != OTA_OK) {
        fprintf(stderr, "create: %s\n", ota_strerror(e));
        return 0;
    }
    if (patch_len_out)
        *patch_len_out = patch_len;
    int ok = 1;
    /* the header says the model it was coded with */
    if (!(patch[7] & OTA_DELTA_OPT_MODEL2) != (model == OTA_DELTA_MODEL_1)) {
        fprintf(stderr, "model %d: header byte 7 = 0x%02x\n", model, patch[7]);
        ok = 0;
    }
    static const long chunks[] = {0, 1, -1, 7, 1 << 20};
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        if (chunks[k] == 1 && patch_len > 20000)
            continue; /* 1-byte feeding of big patches: covered by -1 */
        struct fx_sink s = {malloc(new_len + 1), new_len, 0, 0, 0, OTA_OK, 0};
        struct ota_diag d;
        memset(&d, 0, sizeof(d));
        e = fx_apply(backend((int)(k & 1u)), old, old_len, patch, patch_len, chunks[k], &s, &d);
        if (e != OTA_OK || s.len != new_len || (new_len && memcmp(s.buf, nw, new_len)) ||
            s.order_violation) {
            fprintf(stderr, "apply (chunk %ld, %s): %s (%s at %u), %zu/%zu bytes\n", chunks[k],
                    backend((int)(k & 1u))->name, ota_strerror(e), d.field ? d.field : "-",
                    d.offset, s.len, new_len);
            ok = 0;
        }
        free(s.buf);
    }
    /* The host helper gives the same bytes. */
    uint8_t *out = NULL;
    size_t out_len = 0;
    e = ota_delta_apply_buffer(ota_crypto_openssl(), old, old_len, patch, patch_len, 4096,
                               &out, &out_len, NULL);
    if (e != OTA_OK || out_len != new_len || (new_len && memcmp(out, nw, new_len)))
        ok = 0;
    free(out);
    free(patch);
    return ok;
}

/* Both coder models: model 2 (the default; its size is reported) and model 1,
 * which patches made before model 2 use and every applier still decodes. */
static int roundtrip(const uint8_t *old, size_t old_len, const uint8_t *nw, size_t new_len,
                     size_t *patch_len_out)
{
    return roundtrip_model(old, old_len, nw, new_len, OTA_DELTA_MODEL_1, NULL) &&
           roundtrip_model(old, old_len, nw, new_len, OTA_DELTA_MODEL_DEFAULT, patch_len_out);
}

static uint8_t *random_bytes(size_t n, uint64_t seed)
{
    uint8_t *b = malloc(n ? n : 1);
    fx_seed(seed);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)fx_rand();
    return b;
}

static void test_roundtrip_edge_cases(void)
{
    uint8_t *a = random_bytes(5000, 1), *b = random_bytes(5000, 2);
    CHECK(roundtrip(a, 0, a, 0, NULL));        /* empty -> empty */
    CHECK(roundtrip(a, 0, b, 5000, NULL));     /* from nothing */
    CHECK(roundtrip(a, 5000, b, 0, NULL));     /* to nothing */
    CHECK(roundtrip(a, 5000, a, 5000, NULL));  /* identical */
    CHECK(roundtrip(a, 5000, b, 5000, NULL));  /* unrelated */
    CHECK(roundtrip(a, 1, b, 1, NULL));
    CHECK(roundtrip(a, 3, a, 5, NULL));
    free(a);
    free(b);
}

static void test_roundtrip_edits(void)
{
    /* A base with inserts, deletes, byte edits and a moved block. */
    size_t n = 60000;
    uint8_t *a = random_bytes(n, 3);
    uint8_t *b = malloc(n + 4096);
    size_t bl = 0;
    memcpy(b, a, 10000), bl = 10000;                 /* same */
    memcpy(b + bl, "inserted!", 9), bl += 9;         /* insert */
    memcpy(b + bl, a + 12000, 20000), bl += 20000;   /* delete 2000 */
    for (size_t i = bl - 20000; i < bl; i += 97)
        b[i] ^= 0x5a;                                /* scattered edits */
    memcpy(b + bl, a + 50000, 10000), bl += 10000;   /* moved block */
    memcpy(b + bl, a + 32000, 18000), bl += 18000;
    size_t plen = 0;
    CHECK(roundtrip(a, n, b, bl, &plen));
    CHECK(plen < bl / 4); /* it is a delta, not a copy */
    CHECK(roundtrip(b, bl, a, n, NULL));
    free(a);
    free(b);
}

static void test_roundtrip_firmware(void)
{
    /* Relinked Thumb firmware: predictors must pay and stay exact. */
    static struct fx_fw fw;
    for (int round = 0; round < 4; round++) {
        fx_fw_init(&fw, 300, 100u + (uint64_t)round);
        size_t ol, nl;
        uint32_t base = round & 1 ? 0x08008000u : 0x00100000u;
        uint8_t *old = fx_fw_render(&fw, base, &ol);
        fx_fw_evolve(&fw, 200u + (uint64_t)round, 3 + 4 * round);
        uint8_t *nw = fx_fw_render(&fw, base, &nl);
        uint8_t *patch = NULL;
        size_t patch_len = 0;
        struct ota_delta_stats st;
        REQUIRE(ota_delta_create(old, ol, nw, nl, &patch, &patch_len, &st) == OTA_OK);
        CHECK(st.flags & OTA_DELTA_PRED_THUMB_BL);
        CHECK(st.flags & OTA_DELTA_PRED_PTR);
        CHECK_EQ(st.ptr_base, base);
        free(patch);
        CHECK(roundtrip(old, ol, nw, nl, NULL));
        free(old);
        free(nw);
    }
}

/* Old and new images of a synthetic relink: n functions from seed, the new
 * release with 3 + 4 * round edits, rendered by render. */
typedef uint8_t *(*fx_render_fn)(const struct fx_fw *fw, size_t *len);
static void relinked_pair(fx_render_fn render, uint64_t seed, int round, uint8_t **old,
                          size_t *ol, uint8_t **nw, size_t *nl)
{
    static struct fx_fw fw;
    fx_fw_init(&fw, 300, seed + (uint64_t)round);
    *old = render(&fw, ol);
    fx_fw_evolve(&fw, seed + 100u + (uint64_t)round, 3 + 4 * round);
    *nw = render(&fw, nl);
}

/* The same commands and map of old -> nw coded with predictors `with` and
 * with `without` (0: no predictors at all): the two stream sizes. */
static void coded_sizes(const uint8_t *old, size_t ol, const uint8_t *nw, size_t nl,
                        uint8_t with, uint8_t without, size_t *with_len, size_t *without_len)
{
    struct dctl_list ctl = {0};
    static struct dpred pr;
    int have_base = 0;
    REQUIRE(dmatch_run(old, (uint32_t)ol, nw, (uint32_t)nl, 1, &ctl) == OTA_OK);
    dpred_build(old, (uint32_t)ol, nw, &ctl, &pr, &have_base);
    struct dbuf a = {0}, b = {0};
    pr.flags = with;
    REQUIRE(dencode_run(old, (uint32_t)ol, nw, (uint32_t)nl, &ctl, &pr, OTA_DELTA_OPT_MODEL2, &a) ==
            OTA_OK);
    pr.flags = without;
    REQUIRE(dencode_run(old, (uint32_t)ol, nw, (uint32_t)nl, &ctl, without ? &pr : NULL,
                        OTA_DELTA_OPT_MODEL2, &b) ==
            OTA_OK);
    *with_len = a.len;
    *without_len = b.len;
    free(a.p);
    free(b.p);
    free(ctl.v);
}

static void test_roundtrip_x86(void)
{
    /* Relinked x86-64 code: both x86 predictors must pay and stay exact,
     * and the patch must be smaller than without them. */
    for (int round = 0; round < 3; round++) {
        size_t ol, nl;
        uint8_t *old, *nw;
        relinked_pair(fx86_render, 300u, round, &old, &ol, &nw, &nl);
        uint8_t *patch = NULL;
        size_t patch_len = 0;
        struct ota_delta_stats st;
        REQUIRE(ota_delta_create(old, ol, nw, nl, &patch, &patch_len, &st) == OTA_OK);
        CHECK(st.flags & OTA_DELTA_PRED_X86_BR);
        CHECK(st.flags & OTA_DELTA_PRED_X86_RIP);
        CHECK_EQ(patch[6], st.flags);
        /* the same commands and map coded without the x86 predictors */
        size_t with, without;
        coded_sizes(old, ol, nw, nl, OTA_DELTA_PRED_X86_BR | OTA_DELTA_PRED_X86_RIP, 0, &with,
                    &without);
        if (with * 2u >= without)
            fprintf(stderr, "x86 predictors: %zu bytes, without: %zu\n", with, without);
        CHECK(with * 2u < without);
        free(patch);
        CHECK(roundtrip(old, ol, nw, nl, NULL));
        free(old);
        free(nw);
    }
}

static void test_roundtrip_a64(void)
{
    /* Relinked AArch64 code: the B/BL and ADRP predictors must pay and stay
     * exact; the ADRP one alone must take a clear share off the stream. */
    for (int round = 0; round < 3; round++) {
        size_t ol, nl;
        uint8_t *old, *nw;
        relinked_pair(fxa64_render, 500u, round, &old, &ol, &nw, &nl);
        uint8_t *patch = NULL;
        size_t patch_len = 0;
        struct ota_delta_stats st;
        REQUIRE(ota_delta_create(old, ol, nw, nl, &patch, &patch_len, &st) == OTA_OK);
        CHECK(st.flags & OTA_DELTA_PRED_A64_BR);
        CHECK(st.flags & OTA_DELTA_PRED_A64_ADRP);
        CHECK_EQ(patch[6], st.flags);
        size_t with, without;
        coded_sizes(old, ol, nw, nl, OTA_DELTA_PRED_A64_BR | OTA_DELTA_PRED_A64_ADRP,
                    OTA_DELTA_PRED_A64_BR, &with, &without);
        if (with * 4u >= without * 3u)
            fprintf(stderr, "ADRP predictor: %zu bytes, without: %zu\n", with, without);
        CHECK(with * 4u < without * 3u);
        free(patch);
        CHECK(roundtrip(old, ol, nw, nl, NULL));
        free(old);
        free(nw);
    }
}

/* One ota_delta_predict call for an AArch64 word w at q -> p, with the
 * given words after it (ahead). */
static int a64_call(struct dm_pred *m, uint32_t w, const uint32_t *after, uint32_t n_after,
                    uint32_t q, uint32_t p, uint32_t *out)
{
    uint8_t o[4], ah[DM_A64_AHEAD], res[4];
    const uint8_t none[3] = {0, 0, 0};
    ota_le_put32(o, w);
    for (uint32_t i = 0; i < n_after && i < DM_A64_AHEAD / 4u; i++)
        ota_le_put32(ah + 4u * i, after[i]);
    m->ahead = ah;
    m->n_ahead = n_after * 4u < DM_A64_AHEAD ? n_after * 4u : DM_A64_AHEAD;
    int r = ota_delta_predict(m, o, none, q, p, res);
    *out = ota_le_get32(res);
    return r;
}

/* ADRP + ADD/LDR/STR through a map: adjacent and 4 instructions apart,
 * negative page offsets, a target moved across a page boundary, scaled
 * loads (8 and 16 bytes), the look-alikes it must not take, the ahead
 * bytes cut at the image end, and the map at its limit. */
static void test_predict_a64(void)
{
    static uint32_t map_old[OTA_DELTA_MAP_MAX];
    static int32_t map_disp[OTA_DELTA_MAP_MAX];
    struct dm_a64 a = {0, 0, 0, 0};
    struct dm_pred m = {map_old, map_disp, 2, NULL, NULL, 0, 0,
                        OTA_DELTA_PRED_A64_ADRP, 0, 0x100000u, NULL, 0, &a, 0, NULL, NULL, 0};
    map_old[0] = 0x20000u, map_disp[0] = 0x1F8; /* data from 0x20000 moved +0x1F8 */
    map_old[1] = 0x30000u, map_disp[1] = -0x2010; /* ... from 0x30000 moved back */
    uint32_t out;
    /* ADRP X3 at old 0x1004 -> new 0x1104 to 0x20E40 (+0x1F8: 0x21038, the
     * next page), ADD X3, X3, #0xE40 right after it */
    uint32_t add = fxa64_lo12(0x20E40u, 3, 0);
    CHECK(a64_call(&m, fxa64_adrp(0x1004u, 0x20E40u, 3), &add, 1, 0x1004u, 0x1104u, &out));
    CHECK_EQ(out, fxa64_adrp(0x1104u, 0x21038u, 3));
    CHECK(a.on && a.q == 0x1008u && a.p == 0x1108u && a.lo == 0x038u);
    /* the pending ADD: predicted at exactly (0x1008, 0x1108), once */
    CHECK(!a64_call(&m, add, NULL, 0, 0x1008u, 0x1200u, &out)); /* other new offset */
    CHECK(a64_call(&m, add, NULL, 0, 0x1008u, 0x1108u, &out));
    CHECK_EQ(out, fxa64_lo12(0x21038u, 3, 0));
    CHECK(!a.on);
    CHECK(!a64_call(&m, add, NULL, 0, 0x1008u, 0x1108u, &out));
    /* LDR X8, [X7, #lo] 4 instructions after the ADRP (the furthest looked
     * at); the ADRP at new 0x40000 addresses a page below it (negative
     * offset), its target 0x30208 moved back to 0x2E1F8 */
    uint32_t after[4] = {0xAA0003E0u, 0xD503201Fu, 0x91000000u | (7u << 5) | 1u << 22,
                         fxa64_lo12(0x30208u, 7, 1)};
    CHECK(a64_call(&m, fxa64_adrp(0x3F000u, 0x30208u, 7), after, 4, 0x3F000u, 0x40000u,
                   &out));
    CHECK_EQ(out, fxa64_adrp(0x40000u, 0x2E1F8u, 7));
    CHECK(a.on && a.q == 0x3F010u && a.lo == 0x1F8u);
    CHECK(a64_call(&m, after[3], NULL, 0, 0x3F010u, 0x40010u, &out));
    CHECK_EQ(out, fxa64_lo12(0x2E1F8u, 7, 1));
    /* the user a fifth instruction away, or cut off by the image end (fewer
     * ahead bytes), or on another register, or ADD with LSL #12: no ADRP
     * prediction (the page alone is no better guess) */
    uint32_t five[5] = {0xD503201Fu, 0xD503201Fu, 0xD503201Fu, 0xD503201Fu, add};
    a.on = 0;
    CHECK(!a64_call(&m, fxa64_adrp(0x1004u, 0x20E40u, 3), five, 5, 0x1004u, 0x1104u, &out));
    CHECK(!a64_call(&m, fxa64_adrp(0x1004u, 0x20E40u, 3), &add, 0, 0x1004u, 0x1104u, &out));
    m.ahead = NULL;
    uint32_t other = fxa64_lo12(0x20E40u, 4, 0), shifted = add | (1u << 22);
    CHECK(!a64_call(&m, fxa64_adrp(0x1004u, 0x20E40u, 3), &other, 1, 0x1004u, 0x1104u, &out));
    CHECK(!a64_call(&m, fxa64_adrp(0x1004u, 0x20E40u, 3), &shifted, 1, 0x1004u, 0x1104u,
                    &out));
    CHECK(!a.on);
    /* 16-byte SIMD&FP load LDR Q0, [X2, #0x7F0]: offset scaled by 16 */
    uint32_t ldrq = 0x3DC00000u | ((0x7F0u >> 4) << 10) | (2u << 5);
    CHECK(a64_call(&m, fxa64_adrp(0x2000u, 0x207F0u, 2), &ldrq, 1, 0x2000u, 0x2000u, &out));
    CHECK_EQ(out, fxa64_adrp(0x2000u, 0x209E8u, 2));
    CHECK(a64_call(&m, ldrq, NULL, 0, 0x2004u, 0x2004u, &out));
    CHECK_EQ(out, 0x3DC00000u | ((0x9E0u >> 4) << 10) | (2u << 5)); /* 0x9E8 not 16-aligned */
    /* unaligned, or the predictor off: nothing */
    CHECK(!a64_call(&m, fxa64_adrp(0x2000u, 0x207F0u, 2), &ldrq, 1, 0x2002u, 0x2002u, &out));
    m.flags = OTA_DELTA_PRED_A64_BR;
    CHECK(!a64_call(&m, fxa64_adrp(0x2000u, 0x207F0u, 2), &ldrq, 1, 0x2000u, 0x2000u, &out));
    /* the map at its limit: the target in the last of 256 entries */
    m.flags = OTA_DELTA_PRED_A64_ADRP;
    m.map_n = OTA_DELTA_MAP_MAX;
    for (uint32_t i = 0; i < OTA_DELTA_MAP_MAX; i++)
        map_old[i] = 0x1000u * i, map_disp[i] = (int32_t)(8u * i);
    uint32_t last = 0x1000u * (OTA_DELTA_MAP_MAX - 1u) + 0x10u, nl = last + 8u * 255u;
    add = fxa64_lo12(last, 0, 0);
    CHECK(a64_call(&m, fxa64_adrp(0x100u, last, 0), &add, 1, 0x100u, 0x100u, &out));
    CHECK_EQ(out, fxa64_adrp(0x100u, nl, 0));
    CHECK(a64_call(&m, add, NULL, 0, 0x104u, 0x104u, &out));
    CHECK_EQ(out, fxa64_lo12(nl, 0, 0));

    /* code regions: [0x100, 0x200) and [0x400, 0x404): branch predictors
     * only inside, the pointer predictor only outside (its region edges
     * included) */
    const uint32_t cs[2] = {0x100u, 0x400u}, ce[2] = {0x200u, 0x404u};
    m.flags = OTA_DELTA_PRED_A64_ADRP | OTA_DELTA_PRED_PTR;
    m.opts = OTA_DELTA_OPT_CODE;
    m.code_start = cs, m.code_end = ce, m.code_n = 2;
    uint32_t adrp = fxa64_adrp(0x100u, last, 0);
    CHECK(a64_call(&m, adrp, &add, 1, 0x100u, 0x100u, &out));   /* first byte inside */
    CHECK(a64_call(&m, adrp, &add, 1, 0x400u, 0x400u, &out));
    CHECK(!a64_call(&m, adrp, &add, 1, 0x200u, 0x200u, &out));  /* end: outside */
    CHECK(!a64_call(&m, adrp, &add, 1, 0x0FCu, 0x0FCu, &out));
    CHECK(!a64_call(&m, 0x00000800u, NULL, 0, 0x1FCu, 0x1FCu, &out)); /* pointer in code */
    CHECK(a64_call(&m, 0x00000800u, NULL, 0, 0x200u, 0x200u, &out));  /* ... in data */
    CHECK_EQ(out, 0x800u);
    m.code_n = 0; /* no region: no branch prediction anywhere */
    CHECK(!a64_call(&m, adrp, &add, 1, 0x100u, 0x100u, &out));
    m.opts = 0;
    CHECK(a64_call(&m, adrp, &add, 1, 0x100u, 0x100u, &out));
}

/* ota_delta_predict on single x86 instructions with a one-entry map. */
static void test_predict_x86(void)
{
    const uint32_t map_old[1] = {0x1000u};
    const int32_t map_disp[1] = {0x40};
    struct dm_pred m = {map_old, map_disp, 1, NULL, NULL, 0, 0,
                        OTA_DELTA_PRED_X86_BR | OTA_DELTA_PRED_X86_RIP, 0, 0x10000u, NULL, 0, NULL,
                        0, NULL, NULL, 0};
    uint8_t o[4], out[4];
    /* CALL at old 0x100 (field at 0x101) to 0x2000, now at new 0x180 */
    const uint8_t call[3] = {0x90, 0x90, 0xE8};
    ota_le_put32(o, 0x2000u - 0x105u);
    CHECK(ota_delta_predict(&m, o, call, 0x101u, 0x181u, out));
    CHECK_EQ(ota_le_get32(out), 0x2040u - 0x185u);
    /* JNE rel32 backwards to 0x80 (before the map: not moved) */
    const uint8_t jne[3] = {0x00, 0x0F, 0x85};
    ota_le_put32(o, 0x80u - 0x206u);
    CHECK(ota_delta_predict(&m, o, jne, 0x202u, 0x242u, out));
    CHECK_EQ(ota_le_get32(out), 0x80u - 0x246u);
    /* MOV rax, [rip+disp32] and CALL [rip+disp32] to 0x3000 */
    const uint8_t mov[3] = {0x48, 0x8B, 0x05}, callm[3] = {0x00, 0xFF, 0x15};
    ota_le_put32(o, 0x3000u - 0x304u);
    CHECK(ota_delta_predict(&m, o, mov, 0x300u, 0x300u, out));
    CHECK_EQ(ota_le_get32(out), 0x3040u - 0x304u);
    CHECK(ota_delta_predict(&m, o, callm, 0x300u, 0x300u, out));
    CHECK_EQ(ota_le_get32(out), 0x3040u - 0x304u);
    /* a target outside the old image is not mapped */
    ota_le_put32(o, 0x20000u - 0x304u);
    CHECK(ota_delta_predict(&m, o, mov, 0x300u, 0x310u, out));
    CHECK_EQ(ota_le_get32(out), 0x20000u - 0x314u);
    /* not recognised: mod = 01 (disp8 off a register), no REX, an opcode
     * with an immediate (C7 MOV [rip], imm32), or the predictor disabled */
    const uint8_t disp8[3] = {0x48, 0x8B, 0x45}, norex[3] = {0x00, 0x8B, 0x05},
                  imm[3] = {0x48, 0xC7, 0x05};
    CHECK(!ota_delta_predict(&m, o, disp8, 0x300u, 0x300u, out));
    CHECK(!ota_delta_predict(&m, o, norex, 0x300u, 0x300u, out));
    CHECK(!ota_delta_predict(&m, o, imm, 0x300u, 0x300u, out));
    m.flags = OTA_DELTA_PRED_X86_BR;
    CHECK(!ota_delta_predict(&m, o, mov, 0x300u, 0x300u, out));
    m.flags = OTA_DELTA_PRED_X86_RIP;
    CHECK(!ota_delta_predict(&m, o, call, 0x101u, 0x181u, out));

    /* AArch64: BL at old 0x100 to 0x2000 (moved +0x40), now at new 0x180;
     * B backwards to 0x80 (not moved); a word that is neither */
    const uint8_t none[3] = {0, 0, 0};
    m.flags = OTA_DELTA_PRED_A64_BR;
    ota_le_put32(o, 0x94000000u | ((0x2000u - 0x100u) >> 2));
    CHECK(ota_delta_predict(&m, o, none, 0x100u, 0x180u, out));
    CHECK_EQ(ota_le_get32(out), 0x94000000u | ((0x2040u - 0x180u) >> 2));
    ota_le_put32(o, 0x14000000u | (((0x80u - 0x200u) >> 2) & 0x3FFFFFFu));
    CHECK(ota_delta_predict(&m, o, none, 0x200u, 0x240u, out));
    CHECK_EQ(ota_le_get32(out), 0x14000000u | (((0x80u - 0x240u) >> 2) & 0x3FFFFFFu));
    CHECK(!ota_delta_predict(&m, o, none, 0x202u, 0x240u, out)); /* unaligned */
    ota_le_put32(o, 0xD65F03C0u);                                 /* RET */
    CHECK(!ota_delta_predict(&m, o, none, 0x200u, 0x240u, out));
}

/* A little-endian ELF64 file for machine `mach`: text [0x100, text_end)
 * loaded at its offset, data (n_ptr 64-byte slots of fixed noise, each
 * starting with a 64-bit pointer to another slot; with ins, 0x40 more bytes
 * before slot ins) right after it, loaded at offset + bias. */
static uint8_t *elf_image(uint16_t mach, uint32_t text_len, uint32_t bias, uint32_t n_ptr,
                          uint32_t ins, size_t *len)
{
    uint32_t text_end = 0x100u + text_len, data = (text_end + 15u) & ~15u;
    uint32_t dlen = n_ptr * 64u + (ins ? 0x40u : 0u), sh = data + dlen;
    *len = sh + 3u * 64u; /* section headers: none, .text, .data */
    uint8_t *b = calloc(1, *len);
    fx_seed(5);
    for (uint32_t i = 0x100u; i < text_end; i++)
        b[i] = (uint8_t)fx_rand();
    memcpy(b, "\x7F" "ELF\x02\x01\x01", 7);
    b[16] = 3; /* ET_DYN */
    b[18] = (uint8_t)mach, b[19] = (uint8_t)(mach >> 8);
    b[32] = 64;            /* e_phoff */
    b[54] = 56, b[56] = 2; /* e_phentsize, e_phnum */
    ota_le_put32(b + 40, sh); /* e_shoff */
    b[58] = 64, b[60] = 3;    /* e_shentsize, e_shnum */
    for (int k = 1; k < 3; k++) {
        uint8_t *h = b + sh + 64 * k;
        h[4] = 1;              /* SHT_PROGBITS */
        h[8] = k == 1 ? 6 : 3; /* ALLOC | EXECINSTR, WRITE | ALLOC */
        ota_le_put32(h + 24, k == 1 ? 0x100u : data);
        ota_le_put32(h + 32, k == 1 ? text_len : dlen);
    }
    for (int k = 0; k < 2; k++) {
        uint8_t *ph = b + 64 + 56 * k;
        uint32_t off = k ? data : 0, va = k ? data + bias : 0, sz = k ? dlen : text_end;
        ph[0] = 1;          /* PT_LOAD */
        ph[4] = k ? 6 : 5;  /* RW / RX */
        ota_le_put32(ph + 8, off);
        ota_le_put32(ph + 16, va);
        ota_le_put32(ph + 24, va);
        ota_le_put32(ph + 32, sz);
        ota_le_put32(ph + 40, sz);
    }
    fx_seed(99);
    for (uint32_t k = 0; k < n_ptr; k++) {
        uint32_t at = data + 64u * k + (ins && k >= ins ? 0x40u : 0u);
        uint32_t t = (k * 37u) % n_ptr; /* slot k -> slot t */
        for (uint32_t i = 8; i < 64u; i++)
            b[at + i] = (uint8_t)fx_rand();
        ota_le_put32(b + at, data + bias + 64u * t + (ins && t >= ins ? 0x40u : 0u));
    }
    return b;
}

/* ELF pairs: the address map keyed by load address (the data segment's
 * pointers predicted exactly through it), only the machine's predictors
 * tried; malformed headers make an image "not ELF". */
static void test_elf_map(void)
{
    size_t ol, nl;
    /* the new text is 0x40 bytes longer, and 0x40 bytes come in before data
     * slot 300: the pointers to slots from 300 on move by +0x80, the others
     * by +0x40 */
    uint8_t *old = elf_image(183, 0x3000u, 0x1000u, 600, 0, &ol);
    uint8_t *nw = elf_image(183, 0x3040u, 0x1000u, 600, 300, &nl);
    struct delf e;
    CHECK(delf_parse(old, ol, &e));
    CHECK_EQ(e.machine, 183);
    CHECK_EQ(e.nseg, 2);
    uint32_t a = 0, end = 0;
    CHECK(delf_addr(&e, 0x3110u, &a, &end));
    CHECK_EQ(a, 0x4110u);
    CHECK(!delf_addr(&e, (uint32_t)ol, &a, &end));
    uint32_t cs[OTA_DELTA_CODE_MAX], ce[OTA_DELTA_CODE_MAX];
    CHECK_EQ(delf_code(old, ol, cs, ce), 1); /* .text only */
    CHECK(cs[0] == 0x100u && ce[0] == 0x3100u);
    struct dctl_list ctl = {0};
    static struct dpred pr;
    int have_base = 0;
    REQUIRE(dmatch_run(old, (uint32_t)ol, nw, (uint32_t)nl, 1, &ctl) == OTA_OK);
    dpred_build(old, (uint32_t)ol, nw, &ctl, &pr, &have_base);
    CHECK_EQ(pr.elf_machine, 183);
    int keyed = 0; /* an entry at a data address (offset + 0x1000), moved +0x40 */
    for (uint32_t i = 0; i < pr.n; i++)
        keyed |= pr.old[i] >= 0x4100u && pr.old[i] < 0x4100u + 300u * 64u && pr.disp[i] == 0x40;
    CHECK(keyed);
    uint8_t f = dpred_useful(old, (uint32_t)ol, nw, &ctl, &pr, have_base);
    CHECK(f & OTA_DELTA_PRED_PTR);
    CHECK(!(f & (OTA_DELTA_PRED_X86_BR | OTA_DELTA_PRED_X86_RIP | OTA_DELTA_PRED_THUMB_BL |
                 OTA_DELTA_PRED_ARM_BL)));
    free(ctl.v);
    uint8_t *patch = NULL;
    size_t patch_len = 0;
    struct ota_delta_stats st;
    REQUIRE(ota_delta_create(old, ol, nw, nl, &patch, &patch_len, &st) == OTA_OK);
    CHECK(st.flags & OTA_DELTA_PRED_PTR);
    CHECK_EQ(patch[7], st.opts);
    CHECK_EQ(st.code_regions, (st.opts & OTA_DELTA_OPT_CODE) ? 1u : 0u);
    CHECK(roundtrip(old, ol, nw, nl, NULL));
    /* the same pair coded with its code region: pointers still predicted
     * in the data, applied exactly */
    struct dctl_list ctl2 = {0};
    REQUIRE(dmatch_run(old, (uint32_t)ol, nw, (uint32_t)nl, 1, &ctl2) == OTA_OK);
    dpred_build(old, (uint32_t)ol, nw, &ctl2, &pr, &have_base);
    CHECK_EQ(pr.code_n, 1);
    pr.opts = OTA_DELTA_OPT_CODE;
    CHECK(dpred_useful(old, (uint32_t)ol, nw, &ctl2, &pr, have_base) & OTA_DELTA_PRED_PTR);
    free(ctl2.v);
    free(patch);
    /* the same ELF files behind a 0x200-byte image header (what the server
     * diffs): the same segments and code, at offsets moved by the header */
    {
        enum { H = 0x200 };
        uint8_t *wo = calloc(1, H + ol + 64), *wn = calloc(1, H + nl + 64);
        REQUIRE(wo && wn);
        ota_le_put32(wo, OTA_IMAGE_MAGIC);
        wo[8] = H & 0xff, wo[9] = H >> 8;
        ota_le_put32(wo + 12, (uint32_t)ol);
        memcpy(wo + H, old, ol);
        memset(wo + H + ol, 0x5a, 64); /* TLVs after the payload */
        memcpy(wn, wo, 16);
        ota_le_put32(wn + 12, (uint32_t)nl);
        memcpy(wn + H, nw, nl);
        struct delf w;
        CHECK(delf_parse(old, ol, &e) && delf_parse(wo, H + ol + 64, &w));
        CHECK_EQ(w.nseg, e.nseg);
        for (unsigned i = 0; i < w.nseg && i < e.nseg; i++)
            CHECK(w.seg[i].off == e.seg[i].off + H && w.seg[i].vaddr == e.seg[i].vaddr &&
                  w.seg[i].len == e.seg[i].len);
        CHECK_EQ(delf_code(wo, H + ol + 64, cs, ce), 1);
        CHECK(cs[0] == 0x100u + H && ce[0] == 0x3100u + H);
        struct ota_delta_stats ws;
        REQUIRE(ota_delta_create(wo, H + ol + 64, wn, H + nl + 64, &patch, &patch_len, &ws) ==
                OTA_OK);
        CHECK(ws.flags & OTA_DELTA_PRED_PTR);
        CHECK_EQ(ws.code_regions, st.code_regions);
        free(patch);
        CHECK(roundtrip(wo, H + ol + 64, wn, H + nl + 64, NULL));
        wo[H] = 0; /* no ELF behind the header */
        CHECK(!delf_parse(wo, H + ol + 64, &w));
        CHECK_EQ(delf_code(wo, H + ol + 64, cs, ce), 0);
        wo[H] = 0x7f;
        wo[8] = 0xff, wo[9] = 0xff; /* header size past the end */
        CHECK(!delf_parse(wo, H + ol + 64, &w));
        free(wo);
        free(wn);
    }
    /* not ELF: big-endian, program headers past the end, an address
     * beyond 4 GiB, no magic */
    uint8_t *bad = malloc(ol);
    memcpy(bad, old, ol);
    bad[5] = 2;
    CHECK(!delf_parse(bad, ol, &e));
    memcpy(bad, old, ol);
    ota_le_put32(bad + 32, (uint32_t)ol - 8u);
    CHECK(!delf_parse(bad, ol, &e));
    memcpy(bad, old, ol);
    bad[64 + 56 + 20] = 1; /* data p_vaddr + 2^32 */
    CHECK(!delf_parse(bad, ol, &e));
    bad[0] = 0;
    CHECK(!delf_parse(bad, ol, &e));
    CHECK(!delf_parse(bad, 40, &e));
    free(bad);
    free(old);
    free(nw);
}

static uint8_t *read_corpus(const char *hub, const char *ver, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/pybricks-%s-%s.bin", OTA_CORPUS_DIR, hub, ver);
    uint8_t *d = NULL;
    if (ota_file_read(path, &d, len) != OTA_OK)
        return NULL;
    return d;
}

static void test_roundtrip_corpus(void)
{
    static const char *const hubs[] = {"movehub", "cityhub", "technichub", "essentialhub",
                                       "primehub", "nxt", "ev3"};
    int pairs = 0;
    for (size_t i = 0; i < sizeof(hubs) / sizeof(hubs[0]); i++) {
        for (int far = 0; far < 2; far++) {
            if (far && i > 1)
                break; /* far pairs are slow to feed byte-wise: two suffice */
            size_t ol = 0, nl = 0;
            uint8_t *old = read_corpus(hubs[i], far ? "7.22.0" : "7.27.0", &ol);
            uint8_t *nw = read_corpus(hubs[i], far ? "7.27.0" : "7.28.0", &nl);
            if (old && nw) {
                size_t plen = 0;
                CHECK(roundtrip(old, ol, nw, nl, &plen));
                printf("     corpus %s %s: %zu -> patch %zu\n", hubs[i],
                       far ? "7.22.0->7.27.0" : "7.27.0->7.28.0", nl, plen);
                pairs++;
            }
            free(old);
            free(nw);
        }
    }
    if (!pairs)
        printf("     corpus not found at %s: synthetic tests only\n", OTA_CORPUS_DIR);
}

/* ---- refusals --------------------------------------------------------- */

struct small_patch {
    uint8_t *old, *nw, *patch;
    size_t old_len, new_len, patch_len;
};

static void make_small(struct small_patch *p)
{
    static struct fx_fw fw;
    fx_fw_init(&fw, 40, 77);
    p->old = fx_fw_render(&fw, 0x08000000u, &p->old_len);
    fx_fw_evolve(&fw, 78, 4);
    p->nw = fx_fw_render(&fw, 0x08000000u, &p->new_len);
    REQUIRE(ota_delta_create(p->old, p->old_len, p->nw, p->new_len, &p->patch, &p->patch_len,
                             NULL) == OTA_OK);
}

static void free_small(struct small_patch *p)
{
    free(p->old);
    free(p->nw);
    free(p->patch);
}

static ota_err apply_small(const struct small_patch *p, const uint8_t *patch, size_t len,
                           long chunk, struct fx_sink *s, struct ota_diag *d)
{
    memset(s, 0, sizeof(*s));
    s->buf = malloc(p->new_len + 1);
    s->cap = p->new_len;
    s->len = 0;
    s->calls = 0;
    s->order_violation = 0;
    ota_err e = fx_apply(ota_crypto_mbedtls(), p->old, p->old_len, patch, len, chunk, s, d);
    return e;
}

static void test_header_refusals(void)
{
    struct small_patch p = {0};
    make_small(&p);
    REQUIRE(p.patch);
    uint8_t *bad = malloc(p.patch_len + 8);
    struct fx_sink s;
    struct ota_diag d;
    struct {
        size_t off;
        uint8_t val;
        ota_err want;
    } cases[] = {
        {0, 'X', OTA_ERR_DELTA_BAD_MAGIC},   {3, 0, OTA_ERR_DELTA_BAD_MAGIC},
        {4, 4, OTA_ERR_DELTA_VERSION},       {4, 0, OTA_ERR_DELTA_VERSION},
        /* versions 2 and 3 (deflate section) without a deflate port:
         * refused before the base is read, as an unsupported feature */
        {4, 2, OTA_ERR_UNSUPPORTED},         {4, 3, OTA_ERR_UNSUPPORTED},
        {5, 3, OTA_ERR_DELTA_CORRUPT},
        /* byte 7: an unknown option bit; literal context 3 without model 2 */
        {7, 8, OTA_ERR_DELTA_CORRUPT},       {7, 4, OTA_ERR_DELTA_CORRUPT},
        {24, 0, OTA_ERR_DELTA_BASE_MISMATCH},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(bad, p.patch, p.patch_len);
        if (bad[cases[i].off] == cases[i].val)
            bad[cases[i].off] ^= 1u;
        else
            bad[cases[i].off] = cases[i].val;
        memset(&d, 0, sizeof(d));
        ota_err e = apply_small(&p, bad, p.patch_len, 0, &s, &d);
        CHECK_EQ(e, cases[i].want);
        CHECK_EQ(s.calls, 0); /* nothing written */
        CHECK(d.field != NULL);
        free(s.buf);
    }
    /* stream length field: too short / too long for the bytes given */
    uint32_t sl;
    memcpy(bad, p.patch, p.patch_len);
    memcpy(&sl, bad + 16, 4);
    sl += 1; /* claims one byte more */
    memcpy(bad + 16, &sl, 4);
    CHECK_EQ(apply_small(&p, bad, p.patch_len, 0, &s, &d), OTA_ERR_DELTA_TRUNCATED);
    free(s.buf);
    memcpy(bad, p.patch, p.patch_len);
    sl -= 2; /* one byte fewer than given: a trailing byte */
    memcpy(bad + 16, &sl, 4);
    CHECK_EQ(apply_small(&p, bad, p.patch_len, 0, &s, &d), OTA_ERR_DELTA_CORRUPT);
    free(s.buf);
    /* a stream declared (and sent) much longer than its commands, fed byte
     * by byte: refused at the end, and every feed call returns */
    {
        size_t extra = 3 * OTA_DELTA_IN_BUF + 7;
        uint8_t *longp = calloc(1, p.patch_len + extra);
        memcpy(longp, p.patch, p.patch_len);
        uint32_t sl2;
        memcpy(&sl2, longp + 16, 4);
        sl2 += (uint32_t)extra;
        memcpy(longp + 16, &sl2, 4);
        for (long chunk = 1; chunk <= 2 * (long)OTA_DELTA_IN_BUF; chunk++) {
            CHECK_EQ(apply_small(&p, longp, p.patch_len + extra, chunk, &s, &d),
                     OTA_ERR_DELTA_CORRUPT);
            CHECK(s.len <= p.new_len);
            free(s.buf);
        }
        free(longp);
    }
    /* trailing garbage after a complete patch */
    memcpy(bad, p.patch, p.patch_len);
    bad[p.patch_len] = 0;
    CHECK_EQ(apply_small(&p, bad, p.patch_len + 1, 0, &s, &d), OTA_ERR_DELTA_CORRUPT);
    free(s.buf);
    free(bad);
    free_small(&p);
}

/*
 * Exact refusals of length fields against the declared new size: a valid
 * patch for (old, new) whose header declares `less` bytes fewer than its
 * commands produce. The run that crosses the declared end must be refused
 * with its precise ota_diag field (remaining bytes expected, run length
 * found), and the output callback never receives a byte past new_len
 * (the sink's capacity is the declared size: a write past it is recorded).
 */
static void shrunk_case(const uint8_t *old, size_t old_len, const uint8_t *nw, size_t new_len,
                        uint32_t less, const char *field, uint32_t want_expected,
                        uint32_t want_found)
{
    uint8_t *patch = NULL;
    size_t plen = 0;
    uint32_t declared;
    REQUIRE(ota_delta_create(old, old_len, nw, new_len, &patch, &plen, NULL) == OTA_OK);
    memcpy(&declared, patch + 12, 4); /* new_len, little-endian (x86 host) */
    REQUIRE(declared == new_len && less < declared);
    declared -= less;
    memcpy(patch + 12, &declared, 4);
    for (long chunk = -1; chunk <= 4096; chunk += 4097) {
        struct fx_sink s;
        struct ota_diag d;
        memset(&s, 0, sizeof s);
        memset(&d, 0, sizeof d);
        s.cap = declared;
        s.buf = malloc(declared);
        CHECK_EQ(fx_apply(backend(1), old, old_len, patch, plen, chunk, &s, &d),
                 OTA_ERR_DELTA_CORRUPT);
        CHECK(d.field && strcmp(d.field, field) == 0);
        if (d.field && strcmp(d.field, field) != 0)
            fprintf(stderr, "     got field '%s'\n", d.field);
        CHECK(d.has_values);
        CHECK_EQ(d.expected, want_expected);
        CHECK_EQ(d.found, want_found);
        CHECK_EQ(s.order_violation, 0); /* nothing past new_len, nothing out of order */
        CHECK(s.len <= declared);
        free(s.buf);
    }
    free(patch);
}

static void test_length_fields_past_new_len(void)
{
    uint8_t *old = random_bytes(6000, 11), *lit = random_bytes(3000, 12);
    uint8_t *mixed = malloc(4000);
    memcpy(mixed, old, 3000);
    memcpy(mixed + 3000, lit, 1000);
    /* one literal run of 3000 (unrelated data), declared one byte short */
    shrunk_case(old, 6000, lit, 3000, 1, "literal run past the new image", 2999, 3000);
    /* one copy (diff) run of the whole image (identical data), one byte short */
    shrunk_case(old, 6000, old, 6000, 1, "diff run past the new image", 5999, 6000);
    /* copy of 3000 then literal of 1000: the literal crosses by one byte ... */
    shrunk_case(old, 6000, mixed, 4000, 1, "literal run past the new image", 999, 1000);
    /* ... or the copy itself crosses (declared 2500: 2500 left, 3000 asked) */
    shrunk_case(old, 6000, mixed, 4000, 1500, "diff run past the new image", 2500, 3000);
    free(old);
    free(lit);
    free(mixed);
}

/*
 * Map entries, refused exactly. The address map's entries are offsets into
 * the OLD image (bounded by old_len, strictly ascending); the value map's are
 * 32-bit word values (starts <= 0xFFFFFFFE, strictly ascending, end <=
 * 0xFFFFFFFF). A patch for (old, new) made of one literal run of the whole
 * new image, preceded by the map under test, is coded with the host coder;
 * the header is the one ota_delta_create made (filter forced to none,
 * predictors to `flags`). The maps come before the first command, so a
 * refused map means the output callback received nothing at all; an
 * accepted one means the exact new image.
 */
static ota_err map_case(const uint8_t *old, uint32_t old_len, const uint8_t *nw,
                        uint32_t new_len, const struct dpred *pr, struct fx_sink *s,
                        struct ota_diag *d, uint32_t *stream_end)
{
    uint8_t *patch = NULL;
    size_t plen = 0;
    struct dbuf stream = {0};
    struct dctl one = {0, 0, 0, new_len};
    struct dctl_list ctl = {&one, 1, 1};
    if (ota_delta_create(old, old_len, nw, new_len, &patch, &plen, NULL) != OTA_OK ||
        dencode_run(old, old_len, nw, new_len, &ctl, pr,
                    pr->opts & (OTA_DELTA_OPT_MODEL2 | OTA_DELTA_OPT_LIT3), &stream) != OTA_OK) {
        free(patch);
        free(stream.p);
        return OTA_ERR_INTERNAL;
    }
    uint8_t *mine = malloc(OTA_DELTA_HEADER_SIZE + stream.len);
    uint32_t sl = (uint32_t)stream.len;
    memcpy(mine, patch, OTA_DELTA_HEADER_SIZE);
    mine[5] = 0;         /* filter: none */
    mine[6] = pr->flags; /* predictors */
    mine[7] = pr->opts;  /* predictor options */
    memcpy(mine + 16, &sl, 4);
    memcpy(mine + OTA_DELTA_HEADER_SIZE, stream.p, stream.len);
    *stream_end = OTA_DELTA_HEADER_SIZE + sl;
    memset(s, 0, sizeof *s);
    memset(d, 0, sizeof *d);
    s->cap = new_len;
    s->buf = malloc(new_len);
    ota_err e = fx_apply(backend(0), old, old_len, mine, OTA_DELTA_HEADER_SIZE + stream.len,
                         -1, s, d);
    free(mine);
    free(patch);
    free(stream.p);
    return e;
}

static void map_refused(const uint8_t *old, uint32_t old_len, const uint8_t *nw,
                        uint32_t new_len, const struct dpred *pr, const char *field,
                        uint32_t want_expected, uint32_t want_found)
{
    struct fx_sink s;
    struct ota_diag d;
    uint32_t end = 0;
    CHECK_EQ(map_case(old, old_len, nw, new_len, pr, &s, &d, &end), OTA_ERR_DELTA_CORRUPT);
    CHECK(d.field && strcmp(d.field, field) == 0);
    if (d.field && strcmp(d.field, field) != 0)
        fprintf(stderr, "     got field '%s', want '%s'\n", d.field, field);
    CHECK(d.has_values);
    CHECK_EQ(d.expected, want_expected);
    CHECK_EQ(d.found, want_found);
    CHECK(d.offset > OTA_DELTA_HEADER_SIZE && d.offset < end);
    CHECK_EQ(s.calls, 0); /* not one byte written */
    CHECK_EQ(s.len, 0);
    free(s.buf);
}

static void map_accepted(const uint8_t *old, uint32_t old_len, const uint8_t *nw,
                         uint32_t new_len, const struct dpred *pr)
{
    struct fx_sink s;
    struct ota_diag d;
    uint32_t end = 0;
    CHECK_EQ(map_case(old, old_len, nw, new_len, pr, &s, &d, &end), OTA_OK);
    CHECK_EQ(s.len, new_len);
    CHECK(s.len == new_len && memcmp(s.buf, nw, new_len) == 0);
    CHECK_EQ(s.order_violation, 0);
    free(s.buf);
}

static void test_map_entries_exact_refusals(void)
{
    const uint32_t old_len = 3000, new_len = 2000;
    uint8_t *old = random_bytes(old_len, 21), *nw = random_bytes(new_len, 22);
    static struct dpred pr;

    /* address map: the last offset at old_len - 1 is accepted ... */
    memset(&pr, 0, sizeof pr);
    pr.flags = OTA_DELTA_PRED_PTR;
    pr.n = 3;
    pr.old[0] = 0, pr.old[1] = 100, pr.old[2] = old_len - 1;
    pr.disp[0] = 4, pr.disp[1] = -8, pr.disp[2] = 12;
    map_accepted(old, old_len, nw, new_len, &pr);
    /* ... one past the old image is refused (bound, offset found) */
    pr.old[2] = old_len;
    map_refused(old, old_len, nw, new_len, &pr, "address map offset", old_len, old_len);
    /* ... a first entry already at old_len (the delta of entry 0 itself) */
    pr.n = 1;
    pr.old[0] = old_len;
    map_refused(old, old_len, nw, new_len, &pr, "address map offset", old_len, old_len);
    /* ... and an offset that does not increase (delta 0 after the first) */
    pr.n = 3;
    pr.old[0] = 0, pr.old[1] = 100, pr.old[2] = 100;
    map_refused(old, old_len, nw, new_len, &pr, "address map offset", old_len, 100);
    /* the most entries a patch may carry: accepted */
    pr.n = OTA_DELTA_MAP_MAX;
    for (uint32_t i = 0; i < pr.n; i++)
        pr.old[i] = i * 11u, pr.disp[i] = (int32_t)i;
    map_accepted(old, old_len, nw, new_len, &pr);

    /* value map: starts up to 0xFFFFFFFE and end 0xFFFFFFFF accepted ... */
    memset(&pr, 0, sizeof pr);
    pr.flags = OTA_DELTA_PRED_VALUE;
    pr.vn = 2;
    pr.vstart[0] = 0x08000000u, pr.vstart[1] = 0xFFFFFFFEu;
    pr.vdisp[0] = 0x40, pr.vdisp[1] = -0x40;
    pr.vend = 0xFFFFFFFFu;
    map_accepted(old, old_len, nw, new_len, &pr);
    /* ... a start of 0xFFFFFFFF is refused (no room for its end) */
    pr.vstart[1] = 0xFFFFFFFFu;
    map_refused(old, old_len, nw, new_len, &pr, "value map start", 0xFFFFFFFEu, 0xFFFFFFFFu);
    /* ... an end past 2^32 - 1 (last start 0xFFFFFFFE + 1 + 1 wraps to 0) */
    pr.vstart[1] = 0xFFFFFFFEu;
    pr.vend = 0; /* coded as vend - last start - 1 = 1 */
    map_refused(old, old_len, nw, new_len, &pr, "value map end", 0xFFFFFFFFu, 0);
    /* ... and starts that do not increase */
    pr.vend = 0xFFFFFFFFu;
    pr.vstart[1] = pr.vstart[0];
    map_refused(old, old_len, nw, new_len, &pr, "value map start", 0xFFFFFFFEu, 0x08000000u);
    /* the most value entries a patch may carry: accepted */
    pr.vn = OTA_DELTA_VMAP_MAX;
    for (uint32_t i = 0; i < pr.vn; i++)
        pr.vstart[i] = 0x1000u * (i + 1u), pr.vdisp[i] = (int32_t)i;
    pr.vend = 0x1000u * (OTA_DELTA_VMAP_MAX + 1u);
    map_accepted(old, old_len, nw, new_len, &pr);

    /* code regions: the most a patch may list, the last ending at old_len */
    memset(&pr, 0, sizeof pr);
    pr.flags = OTA_DELTA_PRED_PTR | OTA_DELTA_PRED_A64_BR;
    pr.opts = OTA_DELTA_OPT_CODE;
    pr.code_n = OTA_DELTA_CODE_MAX;
    for (uint32_t i = 0; i < pr.code_n; i++)
        pr.code_start[i] = 100u * i, pr.code_end[i] = 100u * i + 50u;
    pr.code_end[pr.code_n - 1] = old_len;
    map_accepted(old, old_len, nw, new_len, &pr);
    /* ... one past the old image */
    pr.code_end[pr.code_n - 1] = old_len + 1u;
    map_refused(old, old_len, nw, new_len, &pr, "code region", old_len, old_len + 1u);
    /* ... an empty region (found: 0) */
    pr.code_end[pr.code_n - 1] = pr.code_start[pr.code_n - 1];
    map_refused(old, old_len, nw, new_len, &pr, "code region", old_len, 0);
    /* ... one region too many */
    pr.code_n = OTA_DELTA_CODE_MAX + 1u;
    map_refused(old, old_len, nw, new_len, &pr, "code regions", OTA_DELTA_CODE_MAX,
                OTA_DELTA_CODE_MAX + 1u);
    /* ... none at all: accepted (every branch predictor off) */
    pr.code_n = 0;
    map_accepted(old, old_len, nw, new_len, &pr);
    free(old);
    free(nw);
}

static void test_truncation(void)
{
    struct small_patch p = {0};
    make_small(&p);
    REQUIRE(p.patch);
    struct fx_sink s;
    struct ota_diag d;
    /* every header length, then a spread of stream lengths */
    for (size_t len = 0; len < p.patch_len; len += len < OTA_DELTA_HEADER_SIZE ? 1 : 13) {
        ota_err e = apply_small(&p, p.patch, len, -1, &s, &d);
        if (e != OTA_ERR_DELTA_TRUNCATED)
            fprintf(stderr, "truncated at %zu: %s\n", len, ota_errname(e));
        CHECK_EQ(e, OTA_ERR_DELTA_TRUNCATED);
        CHECK(s.len < p.new_len);
        free(s.buf);
    }
    free_small(&p);
}

static void test_corruption_never_accepted(void)
{
    struct small_patch p = {0};
    make_small(&p);
    REQUIRE(p.patch);
    uint8_t *bad = malloc(p.patch_len);
    struct fx_sink s;
    struct ota_diag d;
    unsigned errors = 0, identical = 0;
    for (size_t off = OTA_DELTA_HEADER_SIZE; off < p.patch_len; off++) {
        for (unsigned bit = 0; bit < 8; bit += 3) {
            memcpy(bad, p.patch, p.patch_len);
            bad[off] ^= (uint8_t)(1u << bit);
            ota_err e = apply_small(&p, bad, p.patch_len, 0, &s, &d);
            CHECK(!s.order_violation);
            CHECK(s.len <= p.new_len);
            if (e == OTA_OK) {
                /* only acceptable if the output is exactly right */
                CHECK(s.len == p.new_len && !memcmp(s.buf, p.nw, p.new_len));
                identical++;
            } else {
                CHECK(e == OTA_ERR_DELTA_CORRUPT || e == OTA_ERR_DELTA_RESULT_MISMATCH);
                errors++;
            }
            free(s.buf);
        }
    }
    printf("     %u corrupted patches refused, %u decoded to the right image\n", errors,
           identical);
    CHECK(errors > 0);
    free(bad);
    free_small(&p);
}

static void test_hostile_streams(void)
{
    /* Valid header (right base hash, huge sizes) + random stream bytes. */
    struct small_patch p = {0};
    make_small(&p);
    REQUIRE(p.patch);
    size_t len = OTA_DELTA_HEADER_SIZE + 3000;
    uint8_t *bad = malloc(len);
    struct fx_sink s;
    struct ota_diag d;
    for (uint64_t seed = 0; seed < 300; seed++) {
        memcpy(bad, p.patch, OTA_DELTA_HEADER_SIZE);
        fx_seed(seed + 1000);
        for (size_t i = OTA_DELTA_HEADER_SIZE; i < len; i++)
            bad[i] = (uint8_t)fx_rand();
        bad[OTA_DELTA_HEADER_SIZE] = 0; /* get past the range coder's first byte */
        uint32_t sl = 3000;
        memcpy(bad + 16, &sl, 4);
        bad[6] = (uint8_t)(seed & OTA_DELTA_PRED_ALL);
        bad[5] = (uint8_t)(seed % 3u);
        ota_err e = apply_small(&p, bad, len, 0, &s, &d);
        CHECK(e != OTA_OK);
        CHECK(!s.order_violation);
        free(s.buf);
    }
    free(bad);
    free_small(&p);
}

static void test_feed_always_returns(void)
{
    /* fuzz_delta once found an input on which feed looped forever: the last
     * command was decoded right after the input buffer was refilled to the
     * brim, and further stream bytes could no longer be taken (that exact
     * input is replayed by delta.fuzz_replay). Here, more of the same shape:
     * random streams that end early (tiny new_len) but declare many more
     * bytes, fed in chunks of many sizes; every call must return. */
    struct small_patch p = {0};
    make_small(&p);
    REQUIRE(p.patch);
    size_t len = OTA_DELTA_HEADER_SIZE + 1500;
    uint8_t *bad = malloc(len);
    struct fx_sink s;
    struct ota_diag d;
    unsigned runs = 0;
    for (uint64_t seed = 0; seed < 40; seed++) {
        memcpy(bad, p.patch, OTA_DELTA_HEADER_SIZE);
        fx_seed(seed + 777);
        for (size_t i = OTA_DELTA_HEADER_SIZE; i < len; i++)
            bad[i] = (uint8_t)fx_rand();
        bad[OTA_DELTA_HEADER_SIZE] = 0;
        uint32_t sl = 1500, nl = 1u + (uint32_t)(seed % 5u);
        memcpy(bad + 16, &sl, 4);
        memcpy(bad + 12, &nl, 4);
        bad[5] = 0;
        bad[6] = 0;
        for (long chunk = 24; chunk <= 2 * (long)OTA_DELTA_IN_BUF; chunk += 3) {
            ota_err e = apply_small(&p, bad, len, chunk, &s, &d);
            CHECK(e != OTA_OK);
            free(s.buf);
            runs++;
        }
    }
    printf("     %u random early-ending streams fed in chunks of 24..%u bytes\n", runs,
           2u * OTA_DELTA_IN_BUF);
    free(bad);
    free_small(&p);
}

static void test_base_refused_before_write(void)
{
    struct small_patch p = {0};
    make_small(&p);
    REQUIRE(p.patch);
    struct fx_sink s;
    struct ota_diag d;
    /* a different old image of the same size */
    p.old[100] ^= 1;
    memset(&d, 0, sizeof(d));
    CHECK_EQ(apply_small(&p, p.patch, p.patch_len, 0, &s, &d), OTA_ERR_DELTA_BASE_MISMATCH);
    CHECK_EQ(s.calls, 0);
    CHECK(d.field && strstr(d.field, "sha256"));
    free(s.buf);
    p.old[100] ^= 1;
    /* an old image shorter than the base */
    size_t keep = p.old_len;
    p.old_len = keep - 1;
    CHECK_EQ(apply_small(&p, p.patch, p.patch_len, 0, &s, &d), OTA_ERR_DELTA_BASE_MISMATCH);
    CHECK_EQ(s.calls, 0);
    free(s.buf);
    p.old_len = keep;
    /* slot too small for the result */
    static struct ota_delta_apply st;
    struct ota_mem_reader mr;
    struct ota_reader r;
    ota_reader_from_mem(&r, &mr, p.old, (uint32_t)p.old_len);
    struct fx_sink s2 = {malloc(p.new_len), p.new_len, 0, 0, 0, OTA_OK, 0};
    struct ota_delta_apply_cfg cfg = {ota_crypto_openssl(), &r, fx_sink_write, &s2,
                                      (uint32_t)p.new_len - 1, &d, NULL};
    CHECK_EQ(ota_delta_apply_init(&st, &cfg), OTA_OK);
    CHECK_EQ(ota_delta_apply_feed(&st, p.patch, p.patch_len), OTA_ERR_TOO_LARGE);
    CHECK_EQ(s2.calls, 0);
    /* the error is sticky */
    CHECK_EQ(ota_delta_apply_feed(&st, p.patch, 1), OTA_ERR_TOO_LARGE);
    CHECK_EQ(ota_delta_apply_finish(&st), OTA_ERR_TOO_LARGE);
    free(s2.buf);
    free_small(&p);
}

static void test_write_error_and_state(void)
{
    struct small_patch p = {0};
    make_small(&p);
    REQUIRE(p.patch);
    struct fx_sink s = {malloc(p.new_len), p.new_len, 0, 0, 0, OTA_ERR_IO, 2};
    CHECK_EQ(fx_apply(ota_crypto_openssl(), p.old, p.old_len, p.patch, p.patch_len, 0, &s, NULL),
             OTA_ERR_IO);
    free(s.buf);
    /* finish twice, feed after finish */
    static struct ota_delta_apply st;
    struct ota_mem_reader mr;
    struct ota_reader r;
    ota_reader_from_mem(&r, &mr, p.old, (uint32_t)p.old_len);
    struct fx_sink s2 = {malloc(p.new_len), p.new_len, 0, 0, 0, OTA_OK, 0};
    struct ota_delta_apply_cfg cfg = {ota_crypto_openssl(), &r, fx_sink_write, &s2, 0, NULL, NULL};
    CHECK_EQ(ota_delta_apply_init(&st, &cfg), OTA_OK);
    CHECK(ota_delta_apply_header(&st) == NULL);
    CHECK_EQ(ota_delta_apply_feed(&st, p.patch, p.patch_len), OTA_OK);
    CHECK(ota_delta_apply_header(&st) != NULL);
    CHECK_EQ(ota_delta_apply_finish(&st), OTA_OK);
    CHECK_EQ(ota_delta_apply_finish(&st), OTA_ERR_UPDATE_STATE);
    CHECK_EQ(ota_delta_apply_feed(&st, p.patch, 1), OTA_ERR_UPDATE_STATE);
    CHECK_EQ(ota_delta_apply_feed(NULL, p.patch, 1), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_delta_apply_init(&st, NULL), OTA_ERR_INVALID_ARG);
    /* every required part of the configuration */
    CHECK_EQ(ota_delta_apply_init(NULL, &cfg), OTA_ERR_INVALID_ARG);
    {
        struct ota_delta_apply_cfg c2 = cfg;
        struct ota_reader noread = r;
        c2.crypto = NULL;
        CHECK_EQ(ota_delta_apply_init(&st, &c2), OTA_ERR_INVALID_ARG);
        c2 = cfg, c2.old = NULL;
        CHECK_EQ(ota_delta_apply_init(&st, &c2), OTA_ERR_INVALID_ARG);
        noread.read = NULL;
        c2 = cfg, c2.old = &noread;
        CHECK_EQ(ota_delta_apply_init(&st, &c2), OTA_ERR_INVALID_ARG);
        c2 = cfg, c2.write = NULL;
        CHECK_EQ(ota_delta_apply_init(&st, &c2), OTA_ERR_INVALID_ARG);
    }
    CHECK(ota_delta_apply_header(NULL) == NULL);
    CHECK_EQ(ota_delta_apply_init(&st, &cfg), OTA_OK);
    CHECK_EQ(ota_delta_apply_feed(&st, NULL, 1), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_delta_apply_feed(&st, NULL, 0), OTA_OK);
    CHECK_EQ(ota_delta_apply_finish(NULL), OTA_ERR_INVALID_ARG);
    free(s2.buf);
    /* a wrong result hash is caught at the end */
    uint8_t *bad = malloc(p.patch_len);
    memcpy(bad, p.patch, p.patch_len);
    bad[60] ^= 0xff;
    struct fx_sink s3 = {malloc(p.new_len), p.new_len, 0, 0, 0, OTA_OK, 0};
    CHECK_EQ(fx_apply(ota_crypto_mbedtls(), p.old, p.old_len, bad, p.patch_len, 0, &s3, NULL),
             OTA_ERR_DELTA_RESULT_MISMATCH);
    free(s3.buf);
    free(bad);
    free_small(&p);
}

/* ---- RAM ---------------------------------------------------------------- */

#define PAINT_STACK (256u * 1024u)
#define PAINT 0xA5u

struct stack_job {
    const struct small_patch *p;
    struct fx_sink *sink;
    ota_err result;
};

static void *stack_job_run(void *arg)
{
    struct stack_job *j = arg;
    j->result = fx_apply(ota_crypto_mbedtls(), j->p->old, j->p->old_len, j->p->patch,
                         j->p->patch_len, 512, j->sink, NULL);
    return NULL;
}

static void *noop_thread(void *arg)
{
    return arg;
}

static void test_ram_bound(void)
{
    size_t state = sizeof(struct ota_delta_apply);
    /* Stack high-water of a whole apply (mbedTLS, the MCU backend): run it on
     * a painted stack and find the deepest byte touched. The fixture's own
     * frames (fx_apply, the sink) are included, so this over-estimates. */
    struct small_patch p = {0};
    make_small(&p);
    REQUIRE(p.patch);
    uint8_t *stack = aligned_alloc(4096, PAINT_STACK);
    REQUIRE(stack);
    memset(stack, PAINT, PAINT_STACK);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, stack, PAINT_STACK);
    /* Warm up in this thread first: lazy symbol binding (which saves the
     * whole vector register file on the stack) and the sink's buffer are the
     * test harness's cost, not the applier's. */
    struct fx_sink sink = {malloc(p.new_len), p.new_len, 0, 0, 0, OTA_OK, 0};
    struct stack_job job = {&p, &sink, OTA_ERR_INTERNAL};
    stack_job_run(&job);
    CHECK_EQ(job.result, OTA_OK);
    sink.len = 0;
    job.result = OTA_ERR_INTERNAL;
    pthread_t th;
    REQUIRE(pthread_create(&th, &attr, stack_job_run, &job) == 0);
    pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
    CHECK_EQ(job.result, OTA_OK);
    size_t low = 0;
    while (low < PAINT_STACK && stack[low] == PAINT)
        low++;
    /* glibc keeps thread bookkeeping (TLS, struct pthread) at the top of a
     * user stack: measure from the first frame instead, found by painting a
     * trivial thread the same way. */
    memset(stack, PAINT, PAINT_STACK);
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, stack, PAINT_STACK);
    REQUIRE(pthread_create(&th, &attr, noop_thread, NULL) == 0);
    pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
    size_t base_low = 0;
    while (base_low < PAINT_STACK && stack[base_low] == PAINT)
        base_low++;
    size_t used = base_low > low ? base_low - low : 0;
    free(sink.buf);
    free(stack);
    free_small(&p);
    printf("     RAM: sizeof(struct ota_delta_apply) = %zu, stack high-water = %zu, "
           "total = %zu bytes (limit 16384)%s\n",
           state, used, state + used, UNDER_ASAN ? " [ASan build: stack inflated]" : "");
    CHECK(state <= 16384u - 1024u);
    if (UNDER_ASAN)
        CHECK(state + used <= 64u * 1024u); /* ASan redzones; the real figure is the normal build's */
    else
        CHECK(state + used <= 16384u);
}

int main(void)
{
    RUN(test_ram_bound);
    RUN(test_roundtrip_edge_cases);
    RUN(test_roundtrip_edits);
    RUN(test_roundtrip_firmware);
    RUN(test_roundtrip_x86);
    RUN(test_roundtrip_a64);
    RUN(test_predict_a64);
    RUN(test_elf_map);
    RUN(test_predict_x86);
    RUN(test_roundtrip_corpus);
    RUN(test_header_refusals);
    RUN(test_length_fields_past_new_len);
    RUN(test_map_entries_exact_refusals);
    RUN(test_truncation);
    RUN(test_corruption_never_accepted);
    RUN(test_hostile_streams);
    RUN(test_feed_always_returns);
    RUN(test_base_refused_before_write);
    RUN(test_write_error_and_state);
    return test_summary();
}
