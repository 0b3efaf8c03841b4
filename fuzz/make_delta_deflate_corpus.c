// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/make_delta_deflate_corpus.c - writes the seed corpus of
 * fuzz_delta_deflate into fuzz/corpus/delta_deflate/: real version 2 patches
 * (ota_delta_create_ex with deflate mode) from the target's fixed old image
 * to edited versions of it (seed-00..03), version 3 patches to versions
 * with a gzip member zlib does not reproduce (full flushes: token form,
 * seed-04..05), and seed-06: seed-04 with the old streams switched to token
 * form (their real token-form lengths), in the layout of
 * fuzz_delta_deflate_input.h.
 * Not part of the build; run by hand:
 *   cc -Iinclude -Ifuzz -Isrc/core fuzz/make_delta_deflate_corpus.c build/src/delta/libota_delta.a \
 *      build/src/delta/libota_deflate_zlib.a build/src/core/libota-crypto-openssl.a \
 *      build/src/core/libota-core.a \
 *      -ldivsufsort -lcrypto -lz -lm -o /tmp/mkz && /tmp/mkz fuzz/corpus/delta_deflate
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"
#include "ota/dtok.h"
#include "fuzz_delta_deflate_input.h"
#include "le.h"

/* A gzip member of t with a full flush in the middle (as pigz cuts its
 * blocks): zlib's one-shot deflate never makes it. */
static uint32_t gzip_flushed(const uint8_t *t, uint32_t n, uint8_t *out, uint32_t cap)
{
    static const uint8_t gz[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memcpy(out, gz, 10);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    zs.next_out = out + 10;
    zs.avail_out = cap - 18;
    zs.next_in = (Bytef *)(uintptr_t)t;
    zs.avail_in = n / 2;
    deflate(&zs, Z_FULL_FLUSH);
    zs.avail_in = n - n / 2;
    deflate(&zs, Z_FINISH);
    uint32_t len = 10 + (uint32_t)zs.total_out;
    deflateEnd(&zs);
    ota_le_put32(out + len, (uint32_t)crc32(0, t, n));
    ota_le_put32(out + len + 4, n);
    return len + 8;
}

static ota_err rd(void *ctx, uint32_t off, uint8_t *buf, uint32_t n)
{
    memcpy(buf, (const uint8_t *)ctx + off, n);
    return OTA_OK;
}

static void write_seed(const char *dir, int k, const uint8_t pre[4], const uint8_t *body, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/seed-%02d", dir, k);
    FILE *f = fopen(path, "wb");
    if (!f)
        exit(1);
    fwrite(pre, 1, 4, f);
    fwrite(body, 1, n, f);
    fclose(f);
}

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
        uint8_t pre[4] = {(uint8_t)(k * 9), p[6], p[12], p[13]};
        write_seed(dir, k, pre, p + OTA_DELTA_HEADER_SIZE, pl - OTA_DELTA_HEADER_SIZE);
        free(p);
    }
    /* version 3: a member only the token form reproduces */
    static uint8_t t[FZZ_TEXT];
    static struct ota_dtok tok;
    for (int k = 4; k < 6; k++) {
        uint32_t nl = fzz_image(nw, (uint32_t)k & 1u);
        fzz_text(t, FZZ_TEXT, 77u);
        nl += gzip_flushed(t, FZZ_TEXT, nw + nl, (uint32_t)sizeof nw - nl);
        uint8_t *p = NULL;
        size_t pl = 0;
        struct ota_delta_create_opts o = {.deflate = 1};
        if (ota_delta_create_ex(old, ol, nw, nl, &o, &p, &pl, NULL) != OTA_OK ||
            p[4] != OTA_DELTA_VERSION_TOKENS || nl >= 0x8000u)
            return 1;
        uint8_t pre[4] = {(uint8_t)(k * 9), p[6], p[12], (uint8_t)(p[13] | 0x80u)};
        write_seed(dir, k, pre, p + OTA_DELTA_HEADER_SIZE, pl - OTA_DELTA_HEADER_SIZE);
        if (k == 4) {
            /* the old entries (16 bytes each after the 12-byte head) as
             * token form, with their token-form lengths */
            uint8_t *sec = p + OTA_DELTA_HEADER_SIZE;
            uint32_t n_old = ota_le_get32(sec + 4);
            for (uint32_t i = 0; i < n_old; i++) {
                uint8_t *e = sec + 12 + 16 * i;
                ota_dtok_puff_reset(&tok, rd, old + ota_le_get32(e), ota_le_get32(e + 4));
                static uint8_t x[65536];
                size_t xl = sizeof x;
                if (ota_dtok_puff_read(&tok, x, &xl, NULL) != OTA_OK)
                    return 1;
                ota_le_put32(e + 8, (uint32_t)xl);
                e[12] = OTA_DEFLATE_TOKENS;
                e[13] = e[14] = e[15] = 0;
            }
            pre[0] = 6 * 9;
            write_seed(dir, 6, pre, p + OTA_DELTA_HEADER_SIZE, pl - OTA_DELTA_HEADER_SIZE);
        }
        free(p);
    }
    return 0;
}
