// SPDX-License-Identifier: Apache-2.0
/*
 * tests/delta/delta_fixture_a64.h - synthetic AArch64 code for the delta
 * tests: functions (from struct fx_fw, so fx_fw_evolve() makes the next
 * release) of 32-bit instructions that BL/B each other with imm26; when a
 * function grows, every branch across it changes, which is what the AArch64
 * predictor must undo.
 */
#ifndef OTA_TEST_DELTA_FIXTURE_A64_H
#define OTA_TEST_DELTA_FIXTURE_A64_H

#include "delta_fixture.h"

/* Render (malloc'd): functions back to back (lengths rounded to words). */
static inline uint8_t *fxa64_render(const struct fx_fw *fw, size_t *out_len)
{
    uint32_t pos[FX_MAXF + 1];
    uint32_t p = 64;
    for (int i = 0; i < fw->nfunc; i++) {
        pos[i] = p;
        p += ((fw->len[i] + 3u) & ~3u) + 8u;
    }
    pos[fw->nfunc] = p;
    uint8_t *b = calloc(1, p);
    for (int i = 0; i < fw->nfunc; i++) {
        uint64_t save = fx_rng_state;
        fx_seed(fw->seed[i]);
        for (uint32_t q = pos[i]; q < pos[i + 1]; q += 4u) {
            uint32_t r = fx_rand(), w;
            if (q + 8u >= pos[i + 1]) {
                w = 0xD65F03C0u; /* RET, then padding */
            } else if ((r & 7u) == 0) { /* BL / B to a function */
                uint32_t t = pos[(r >> 8) % (uint32_t)fw->ncall];
                w = ((r & 8u) ? 0x94000000u : 0x14000000u) | (((t - q) >> 2) & 0x3FFFFFFu);
            } else { /* another instruction (never a B/BL) */
                w = (fx_rand() & ~0x7C000000u) | 0x08000000u;
            }
            memcpy(b + q, &w, 4);
        }
        fx_rng_state = save;
    }
    *out_len = p;
    return b;
}

#endif
