// SPDX-License-Identifier: Apache-2.0
/*
 * tests/delta/delta_fixture.h - shared helpers of the delta tests: a
 * deterministic generator of Thumb-like firmware (functions calling each
 * other with BL, literal pools of pointers into the image) and its "next
 * release" with functions grown, shrunk and edited, so predictors and
 * matching are exercised the way real relinked firmware does; plus a
 * counting sequential sink and a chunked feeder for the core applier.
 */
#ifndef OTA_TEST_DELTA_FIXTURE_H
#define OTA_TEST_DELTA_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"

static uint64_t fx_rng_state = 88172645463325252ull;

static inline uint32_t fx_rand(void)
{
    fx_rng_state ^= fx_rng_state << 13;
    fx_rng_state ^= fx_rng_state >> 7;
    fx_rng_state ^= fx_rng_state << 17;
    return (uint32_t)(fx_rng_state >> 16);
}

static inline void fx_seed(uint64_t s)
{
    fx_rng_state = s * 2654435761ull + 0x9E3779B97F4A7C15ull;
    if (!fx_rng_state)
        fx_rng_state = 1;
}

#define FX_MAXF 512

struct fx_fw {
    int nfunc;
    int ncall;              /* functions that are called (stable across releases) */
    uint32_t len[FX_MAXF];  /* code bytes (even) */
    uint32_t seed[FX_MAXF]; /* content of the function */
};

static inline void fx_fw_init(struct fx_fw *fw, int nfunc, uint64_t seed)
{
    fx_seed(seed);
    fw->nfunc = nfunc;
    fw->ncall = nfunc;
    for (int i = 0; i < nfunc; i++) {
        fw->len[i] = 32u + (fx_rand() % 200u) * 2u;
        fw->seed[i] = fx_rand();
    }
}

/* Render into out (malloc'd): functions at 4-aligned offsets, each followed
 * by a literal pool of 4 pointers (base + offset of some function, | 1). */
static inline uint8_t *fx_fw_render(const struct fx_fw *fw, uint32_t base, size_t *out_len)
{
    uint32_t pos[FX_MAXF + 1];
    uint32_t p = 64; /* a small vector table first */
    for (int i = 0; i < fw->nfunc; i++) {
        pos[i] = p;
        p += fw->len[i] + 16u;
        p = (p + 3u) & ~3u;
    }
    pos[fw->nfunc] = p;
    uint8_t *b = calloc(1, p);
    for (int i = 0; i < 16; i++) {
        uint32_t v = base + pos[(uint32_t)i % (uint32_t)fw->ncall] + 1u;
        memcpy(b + 4 * i, &v, 4);
    }
    for (int i = 0; i < fw->nfunc; i++) {
        uint64_t save = fx_rng_state;
        fx_seed(fw->seed[i]);
        uint32_t q = pos[i];
        for (uint32_t k = 0; k < fw->len[i];) {
            uint32_t r = fx_rand();
            if ((r & 7u) == 0 && k + 4u <= fw->len[i]) {
                /* BL to another function */
                uint32_t t = pos[(r >> 8) % (uint32_t)fw->ncall];
                uint32_t off = ((t - (q + k + 4u)) >> 1) & 0x3FFFFFu;
                uint32_t h1 = 0xF000u | (off >> 11), h2 = 0xF800u | (off & 0x7FFu);
                b[q + k] = (uint8_t)h1;
                b[q + k + 1] = (uint8_t)(h1 >> 8);
                b[q + k + 2] = (uint8_t)h2;
                b[q + k + 3] = (uint8_t)(h2 >> 8);
                k += 4;
            } else {
                /* an ordinary 16-bit instruction (never a BL prefix) */
                uint32_t hw = (r >> 3) & 0xFFFFu;
                if ((hw & 0xF800u) >= 0xE800u)
                    hw &= 0x7FFFu;
                b[q + k] = (uint8_t)hw;
                b[q + k + 1] = (uint8_t)(hw >> 8);
                k += 2;
            }
        }
        uint32_t lp = (q + fw->len[i] + 3u) & ~3u;
        for (uint32_t k = 0; k < 3 && lp + 4u * k + 4u <= pos[i + 1]; k++) {
            uint32_t v = base + pos[fx_rand() % (uint32_t)fw->ncall] + 1u;
            memcpy(b + lp + 4u * k, &v, 4);
        }
        fx_rng_state = save;
    }
    *out_len = p;
    return b;
}

/* The next release: some functions change size, some change content, a few
 * are added. */
static inline void fx_fw_evolve(struct fx_fw *fw, uint64_t seed, int edits)
{
    fx_seed(seed);
    for (int e = 0; e < edits; e++) {
        int i = (int)(fx_rand() % (uint32_t)fw->nfunc);
        switch (fx_rand() % 3u) {
        case 0: fw->len[i] += 2u * (1u + fx_rand() % 40u); break;
        case 1: fw->seed[i] = fx_rand(); break;
        default:
            if (fw->len[i] > 64u)
                fw->len[i] -= 2u * (1u + fx_rand() % 10u);
            break;
        }
    }
    if (fw->nfunc < FX_MAXF) {
        fw->len[fw->nfunc] = 100;
        fw->seed[fw->nfunc] = fx_rand();
        fw->nfunc++;
    }
}

/* A sink that checks the applier's contract (sequential, in bounds). */
struct fx_sink {
    uint8_t *buf;
    size_t cap, len;
    unsigned calls;
    int order_violation;
    ota_err fail_with; /* returned from call number fail_at */
    unsigned fail_at;
};

static inline ota_err fx_sink_write(void *ctx, uint32_t off, const void *data, size_t len)
{
    struct fx_sink *s = ctx;
    s->calls++;
    if (s->fail_with != OTA_OK && s->calls == s->fail_at)
        return s->fail_with;
    if (off != s->len || len > s->cap - s->len) {
        s->order_violation = 1;
        return OTA_ERR_INTERNAL;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return OTA_OK;
}

/* The deflate port fx_apply() gives the applier (NULL: none, as on an MCU). */
static const struct ota_deflate_port *fx_port;

/*
 * Apply patch to old through the core with chunk sizes from `chunk` (>0:
 * fixed; 0: random 1..4096; -1: random 1..16). Output in sink (cap = the
 * header's new size or `cap` when non-zero).
 */
static inline ota_err fx_apply(const struct ota_crypto *c, const uint8_t *old, size_t old_len,
                               const uint8_t *patch, size_t patch_len, long chunk,
                               struct fx_sink *sink, struct ota_diag *diag)
{
    static struct ota_delta_apply st;
    struct ota_mem_reader mr;
    struct ota_reader r;
    ota_reader_from_mem(&r, &mr, old, (uint32_t)old_len);
    struct ota_delta_apply_cfg cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.crypto = c;
    cfg.old = &r;
    cfg.write = fx_sink_write;
    cfg.write_ctx = sink;
    cfg.diag = diag;
    cfg.deflate = fx_port;
    ota_err e = ota_delta_apply_init(&st, &cfg);
    size_t off = 0;
    while (e == OTA_OK && off < patch_len) {
        size_t n = chunk > 0    ? (size_t)chunk
                   : chunk == 0 ? 1u + fx_rand() % 4096u
                                : 1u + fx_rand() % 16u;
        if (n > patch_len - off)
            n = patch_len - off;
        e = ota_delta_apply_feed(&st, patch + off, n);
        off += n;
    }
    if (e == OTA_OK)
        e = ota_delta_apply_finish(&st);
    return e;
}

#endif
