// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/make_delta_corpus.c - writes the seed corpus of fuzz_delta into
 * fuzz/corpus/delta/: real patches (created by ota_delta_create) from the
 * fuzz target's fixed old image to edited versions of it, in the fuzz input
 * layout of fuzz_delta_input.h. Not part of the build; run by hand:
 *   cc -Iinclude -Isrc/core fuzz/make_delta_corpus.c build/src/delta/libota_delta.a \
 *      build/src/delta/libota_deflate_zlib.a build/src/core/libota-crypto-openssl.a \
 *      build/src/core/libota-core.a -ldivsufsort -lcrypto -lz -lm -o /tmp/mk &&
 *      /tmp/mk fuzz/corpus/delta
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"
#include "fuzz_delta_input.h"

static void emit(const char *dir, int idx, const uint8_t *patch, size_t len, uint8_t pattern,
                 uint8_t opts)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/seed-%02d", dir, idx);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    uint8_t pre[FZD_PREFIX];
    pre[0] = (uint8_t)(opts << 1);
    pre[1] = patch[5];
    pre[2] = patch[6];
    memcpy(pre + 3, patch + 20, 4);
    pre[7] = patch[12];
    pre[8] = patch[13];
    pre[9] = pattern;
    fwrite(pre, 1, sizeof(pre), f);
    fwrite(patch + OTA_DELTA_HEADER_SIZE, 1, len - OTA_DELTA_HEADER_SIZE, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "fuzz/corpus/delta";
    static uint8_t old[FZD_OLD_LEN], nw[FZD_OLD_LEN + 512];
    fzd_old_image(old);
    for (int k = 0; k < 8; k++) {
        size_t nl = FZD_OLD_LEN;
        memcpy(nw, old, FZD_OLD_LEN);
        if (k & 1) { /* insert: everything after moves */
            memmove(nw + 1000 + 64, nw + 1000, FZD_OLD_LEN - 1000);
            memset(nw + 1000, 0x11 * k, 64);
            nl += 64;
        }
        if (k & 2) /* edits */
            for (size_t i = 200; i < nl; i += 301)
                nw[i] ^= (uint8_t)(k + 1);
        if (k & 4) /* shorter */
            nl -= 700;
        if (k == 6) /* unrelated tail */
            for (size_t i = 3000; i < nl; i++)
                nw[i] = (uint8_t)(i * 7u);
        uint8_t *p = NULL;
        size_t pl = 0;
        /* seeds 00-10: coder model 1; 11-14: model 2 (k = 0, 1, 3, 6),
         * 15: model 2 with 3-bit literal contexts */
        struct ota_delta_create_opts m1 = {.model = OTA_DELTA_MODEL_1};
        struct ota_delta_create_opts m2 = {.model = OTA_DELTA_MODEL_2};
        if (k == 0 || k == 1 || k == 3 || k == 6) {
            if (ota_delta_create_ex(old, FZD_OLD_LEN, nw, nl, &m2, &p, &pl, NULL) != OTA_OK)
                return 1;
            int idx = k == 0 ? 11 : k == 1 ? 12 : k == 3 ? 13 : 14;
            emit(dir, idx, p, pl, (uint8_t)(k * 5 + 1), (uint8_t)(p[7] & 7u));
            if (k == 6) {
                /* the same stream read with 3-bit literal contexts */
                emit(dir, 15, p, pl, 2, (uint8_t)((p[7] & 7u) | OTA_DELTA_OPT_LIT3));
            }
            free(p);
        }
        if (ota_delta_create_ex(old, FZD_OLD_LEN, nw, nl, &m1, &p, &pl, NULL) != OTA_OK)
            return 1;
        emit(dir, k, p, pl, (uint8_t)(k * 5), 0);
        if (k == 1) {
            /* seed-08: the same stream with the x86 and AArch64 predictors on,
             * so their decoding paths (opcode context before the field) are
             * reached; it decodes to another image (result mismatch) */
            p[6] |= OTA_DELTA_PRED_X86_BR | OTA_DELTA_PRED_X86_RIP | OTA_DELTA_PRED_A64_BR;
            emit(dir, 8, p, pl, 3, 0);
            /* seed-09: with the AArch64 ADRP predictor (look-ahead and the
             * pending completer) and B/BL, without the x86 ones */
            p[6] = (uint8_t)((p[6] & ~(OTA_DELTA_PRED_X86_BR | OTA_DELTA_PRED_X86_RIP)) |
                             OTA_DELTA_PRED_A64_ADRP);
            emit(dir, 9, p, pl, 5, 0);
            /* seed-10: the same with code regions announced (the stream
             * then reads its first numbers as regions: the region
             * decoder's paths, mostly refusals) */
            emit(dir, 10, p, pl, 5, OTA_DELTA_OPT_CODE);
        }
        free(p);
    }
    return 0;
}
