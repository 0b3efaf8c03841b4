// SPDX-License-Identifier: Apache-2.0
/*
 * tests/delta/delta_fixture_a64.h - synthetic AArch64 code for the delta
 * tests: functions (from struct fx_fw, so fx_fw_evolve() makes the next
 * release) of 32-bit instructions that BL/B each other with imm26; when a
 * function grows, every branch across it changes, which is what the AArch64
 * predictor must undo; and ADRP + ADD / LDR pairs (adjacent or with one
 * instruction between) addressing objects of a data area after the code,
 * which moves when the code grows (pages and low 12 bits change).
 */
#ifndef OTA_TEST_DELTA_FIXTURE_A64_H
#define OTA_TEST_DELTA_FIXTURE_A64_H

#include "delta_fixture.h"

#define FXA64_OBJS 300u   /* objects in the data area, 40 bytes apart */
#define FXA64_DATA 0x3000u /* bytes of the data area */

/* ADRP Xd to the page of t from q, then the :lo12: ADD or 8-byte LDR. */
static inline uint32_t fxa64_adrp(uint32_t q, uint32_t t, uint32_t d)
{
    uint32_t imm = ((t >> 12) - (q >> 12)) & 0x1FFFFFu;
    return 0x90000000u | ((imm & 3u) << 29) | ((imm >> 2) << 5) | d;
}
static inline uint32_t fxa64_lo12(uint32_t t, uint32_t d, int ldr)
{
    return ldr ? 0xF9400000u | (((t & 0xFFFu) >> 3) << 10) | (d << 5) | ((d + 1u) & 31u)
               : 0x91000000u | ((t & 0xFFFu) << 10) | (d << 5) | d;
}

/* Render (malloc'd): functions back to back (lengths rounded to words),
 * then the data area. */
static inline uint8_t *fxa64_render(const struct fx_fw *fw, size_t *out_len)
{
    uint32_t pos[FX_MAXF + 1];
    uint32_t p = 64;
    for (int i = 0; i < fw->nfunc; i++) {
        pos[i] = p;
        p += ((fw->len[i] + 3u) & ~3u) + 8u;
    }
    pos[fw->nfunc] = p;
    uint32_t data = (p + 15u) & ~15u;
    uint8_t *b = calloc(1, data + FXA64_DATA);
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
            } else if ((r & 7u) == 1 && q + 20u < pos[i + 1]) { /* ADRP pair */
                uint32_t t = data + 40u * ((r >> 8) % FXA64_OBJS), d = (r >> 20) & 15u;
                w = fxa64_adrp(q, t, d);
                memcpy(b + q, &w, 4);
                if (r & 0x10u) { /* one unrelated instruction between */
                    q += 4u;
                    w = 0xAA0003E0u | ((d + 2u) & 31u); /* MOV X(d+2), X0 */
                    memcpy(b + q, &w, 4);
                }
                q += 4u;
                w = fxa64_lo12(t, d, (r & 0x20u) != 0);
            } else { /* another instruction (never a B/BL or an ADRP pair) */
                w = (fx_rand() & ~0x7C000000u) | 0x08000000u;
            }
            memcpy(b + q, &w, 4);
        }
        fx_rng_state = save;
    }
    uint64_t save = fx_rng_state; /* the data area: the same in every release */
    fx_seed(77);
    for (uint32_t k = 0; k < FXA64_DATA; k++)
        b[data + k] = (uint8_t)fx_rand();
    fx_rng_state = save;
    *out_len = data + FXA64_DATA;
    return b;
}

#endif
