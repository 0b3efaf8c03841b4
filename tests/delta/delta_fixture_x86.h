// SPDX-License-Identifier: Apache-2.0
/*
 * tests/delta/delta_fixture_x86.h - synthetic x86-64 code for the delta
 * tests: functions (from struct fx_fw, so fx_fw_evolve() makes the next
 * release) that CALL/JMP each other with rel32, branch inside themselves with
 * Jcc rel32, and reach a data area after the code with RIP-relative LEA/MOV
 * and CALL [rip+disp32]; when a function grows, every such field that
 * crosses it changes, which is what the x86 predictors must undo.
 */
#ifndef OTA_TEST_DELTA_FIXTURE_X86_H
#define OTA_TEST_DELTA_FIXTURE_X86_H

#include "delta_fixture.h"

static inline void fx86_put32(uint8_t *b, uint32_t v)
{
    memcpy(b, &v, 4);
}

/* Render (malloc'd): functions back to back, then 4 KiB of data. */
static inline uint8_t *fx86_render(const struct fx_fw *fw, size_t *out_len)
{
    uint32_t pos[FX_MAXF + 1];
    uint32_t p = 64;
    for (int i = 0; i < fw->nfunc; i++) {
        pos[i] = p;
        p += fw->len[i] + 8u;
    }
    pos[fw->nfunc] = p;
    uint32_t data = (p + 15u) & ~15u, total = data + 4096u;
    uint8_t *b = calloc(1, total);
    for (uint32_t i = data; i < total; i++)
        b[i] = (uint8_t)((i - data) * 7u + ((i - data) >> 8));
    for (int i = 0; i < fw->nfunc; i++) {
        uint64_t save = fx_rng_state;
        fx_seed(fw->seed[i]);
        uint32_t q = pos[i], end = q + fw->len[i];
        while (q < end) {
            uint32_t r = fx_rand();
            uint32_t kind = r & 15u, room = end - q;
            if (kind == 0 && room >= 5u) { /* CALL / JMP rel32 */
                uint32_t t = pos[(r >> 8) % (uint32_t)fw->ncall];
                b[q] = (r & 0x10u) ? 0xE9u : 0xE8u;
                fx86_put32(b + q + 1u, t - (q + 5u));
                q += 5u;
            } else if (kind == 1 && room >= 6u) { /* Jcc rel32 to the function's end */
                b[q] = 0x0Fu;
                b[q + 1u] = (uint8_t)(0x80u | ((r >> 8) & 15u));
                fx86_put32(b + q + 2u, end - (q + 6u));
                q += 6u;
            } else if (kind == 2 && room >= 7u) { /* LEA / MOV reg, [rip+disp32] */
                uint32_t t = data + ((r >> 8) & 0xFF0u);
                b[q] = (r & 0x10u) ? 0x4Cu : 0x48u;
                b[q + 1u] = (r & 0x20u) ? 0x8Du : 0x8Bu;
                b[q + 2u] = (uint8_t)(0x05u | ((r >> 6) & 0x38u));
                fx86_put32(b + q + 3u, t - (q + 7u));
                q += 7u;
            } else if (kind == 3 && room >= 6u) { /* CALL [rip+disp32] */
                uint32_t t = data + ((r >> 8) & 0xFF8u);
                b[q] = 0xFFu;
                b[q + 1u] = 0x15u;
                fx86_put32(b + q + 2u, t - (q + 6u));
                q += 6u;
            } else { /* other bytes (may look like anything, as in real code) */
                b[q++] = (uint8_t)(r >> 8);
            }
        }
        for (uint32_t k = end; k < pos[i + 1]; k++)
            b[k] = 0xCCu; /* int3 padding */
        fx_rng_state = save;
    }
    *out_len = total;
    return b;
}

#endif
