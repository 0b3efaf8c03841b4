// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/make_delta_deflate_corpus.c - writes the seed corpus of
 * fuzz_delta_deflate into fuzz/corpus/delta_deflate/: real version 2 patches
 * (ota_delta_create_ex with deflate mode) from the target's fixed old image
 * to edited versions of it, in the layout of fuzz_delta_deflate_input.h.
 * Not part of the build; run by hand:
 *   cc -Iinclude -Ifuzz fuzz/make_delta_deflate_corpus.c build/src/delta/libota_delta.a \
 *      build/src/core/libota-crypto-openssl.a build/src/core/libota-core.a \
 *      -ldivsufsort -lcrypto -lz -lm -o /tmp/mkz && /tmp/mkz fuzz/corpus/delta_deflate
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"
#include "fuzz_delta_deflate_input.h"

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "fuzz/corpus/delta_deflate";
    static uint8_t old[FZZ_OLD_MAX], nw[FZZ_OLD_MAX + 64];
    uint32_t ol = fzz_image(old, 0);
    for (int k = 0; k < 4; k++) {
        uint32_t nl = fzz_image(nw, k & 1 ? 1u : 0u);
        if (k & 2) { /* plain bytes edited and the image shorter */
            memset(nw + 50, 'Z', 20);
            nl -= 30;
        }
        uint8_t *p = NULL;
        size_t pl = 0;
        struct ota_delta_create_opts o = {.deflate = 1};
        if (ota_delta_create_ex(old, ol, nw, nl, &o, &p, &pl, NULL) != OTA_OK ||
            p[4] != OTA_DELTA_VERSION_DEFLATE)
            return 1;
        char path[512];
        snprintf(path, sizeof(path), "%s/seed-%02d", dir, k);
        FILE *f = fopen(path, "wb");
        if (!f)
            return 1;
        uint8_t pre[4] = {(uint8_t)(k * 9), p[6], p[12], p[13]};
        fwrite(pre, 1, sizeof pre, f);
        fwrite(p + OTA_DELTA_HEADER_SIZE, 1, pl - OTA_DELTA_HEADER_SIZE, f);
        fclose(f);
        free(p);
    }
    return 0;
}
