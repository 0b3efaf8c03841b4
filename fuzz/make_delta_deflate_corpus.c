// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/make_delta_deflate_corpus.c - writes the seed corpus of
 * fuzz_delta_deflate into fuzz/corpus/delta_deflate/: real version 2 patches
 * (ota_delta_create_ex with deflate mode) from the target's fixed old image
 * to edited versions of it (seed-00..03), version 3 patches to versions
 * with a gzip member zlib does not reproduce (full flushes: token form,
 * seed-04..05), and seed-06: seed-04 with the old streams switched to token
 * form (their real token-form lengths), in the layout of
 * fuzz_delta_deflate_input.h. With a second directory, also the seed corpus
 * of fuzz_delta_resume_deflate (fuzz/corpus/delta_resume_deflate/): each of
 * those patches whole (seed-06's does not apply: its old streams are read
 * as tokens), suspended from the start of the coded stream, a third, two
 * thirds and the end on (seed-NN-atK), without edits; patches to images
 * whose new streams lie far apart (seed-07..10, spread_image); and seed-07
 * suspended at the end with one edit of the snapshot or of the kept stream
 * table (seed-07-edit-field, -table).
 * Not part of the build; run by hand (the second directory is optional; a
 * first directory "-" writes only the second: today's creator no longer
 * makes fuzz/corpus/delta_deflate's seeds byte for byte, and they stay):
 *   cc -Iinclude -Ifuzz -Isrc/core fuzz/make_delta_deflate_corpus.c build/src/delta/libota_delta.a \
 *      build/src/delta/libota_deflate_zlib.a build/src/core/libota-crypto-openssl.a \
 *      build/src/core/libota-core.a \
 *      -ldivsufsort -lcrypto -lz -lm -o /tmp/mkz && \
 *      /tmp/mkz fuzz/corpus/delta_deflate fuzz/corpus/delta_resume_deflate
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

/* A zlib (gzip 0) or gzip (1) member of t at b, returns its length. */
static uint32_t member(uint8_t *b, const uint8_t *t, uint32_t n, int gzip, int level)
{
    static const uint8_t gz[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    uint32_t len = gzip ? 10u : 2u;
    if (gzip)
        memcpy(b, gz, 10);
    else
        b[0] = 0x78, b[1] = 0x9c;
    len += fzz_deflate(t, n, level, b + len, 8192u);
    if (gzip) {
        ota_le_put32(b + len, (uint32_t)crc32(0, t, n));
        ota_le_put32(b + len + 4, n);
        return len + 8;
    }
    uint32_t a = (uint32_t)adler32(1, t, n);
    for (int k = 0; k < 4; k++)
        b[len++] = (uint8_t)(a >> (24 - 8 * k));
    return len;
}

/*
 * A new image for the resume seeds: its streams far apart (new plain text
 * between and after them, which the coded stream carries), so a patch fed in small
 * pieces can be suspended between two new streams, and after the last
 * (ext4-like, docs/delta-format.md#resuming). variant 1: also a gzip member
 * only the token form reproduces (version 3); 2: also a tiny zlib stream,
 * larger compressed than expanded; 3: first a gzip member of random bytes
 * (stored blocks: larger compressed than expanded too).
 */
static uint32_t spread_image(uint8_t *b, int variant)
{
    static uint8_t t[FZZ_TEXT];
    uint32_t n = 300;
    fzz_text(b, 300, 1);
    if (variant == 3) {
        /* an incompressible member (a compressed file gzipped again) */
        uint32_t x = 2463534242u;
        for (uint32_t i = 0; i < 2000u; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            t[i] = (uint8_t)(x >> 11);
        }
        n += member(b + n, t, 2000u, 1, 6);
        fzz_text(b + n, 1800, 44);
        n += 1800;
    }
    fzz_text(t, FZZ_TEXT, 10);
    memcpy(t + 700, "EDITED", 6);
    n += member(b + n, t, FZZ_TEXT, 0, 6);
    fzz_text(b + n, 1800, 41);
    n += 1800;
    if (variant == 2)
        n += member(b + n, (const uint8_t *)"ok\n", 3, 0, 6);
    fzz_text(t, FZZ_TEXT, 11);
    memcpy(t + 1500, "EDITED", 6);
    n += member(b + n, t, FZZ_TEXT, 1, 9);
    fzz_text(b + n, 1800, 42);
    n += 1800;
    if (variant == 1) {
        fzz_text(t, FZZ_TEXT, 77u);
        n += gzip_flushed(t, FZZ_TEXT, b + n, 8192u);
    }
    fzz_text(b + n, 1200, 43);
    return n + 1200;
}

static ota_err rd(void *ctx, uint32_t off, uint8_t *buf, uint32_t n)
{
    memcpy(buf, (const uint8_t *)ctx + off, n);
    return OTA_OK;
}

static void write_seed(const char *dir, int k, const uint8_t pre[4], const uint8_t *body, size_t n)
{
    char path[512];
    if (!strcmp(dir, "-"))
        return;
    snprintf(path, sizeof(path), "%s/seed-%02d", dir, k);
    FILE *f = fopen(path, "wb");
    if (!f)
        exit(1);
    fwrite(pre, 1, 4, f);
    fwrite(body, 1, n, f);
    fclose(f);
}

/* fuzz_delta_resume_deflate's seeds of the whole patch p (pl bytes), whose
 * new image is nw (nl bytes; NULL: the patch is not expected to apply). */
static int write_resume_seeds(const char *dir, int k, const uint8_t *old, uint32_t ol,
                              const uint8_t *p, size_t pl, const uint8_t *nw, uint32_t nl)
{
    if (!dir)
        return 0;
    uint8_t *got = NULL;
    size_t gl = 0;
    if (nw && (ota_delta_apply_buffer(ota_crypto_openssl(), old, ol, p, pl, 7, &got, &gl, NULL) !=
                   OTA_OK ||
               gl != nl || memcmp(got, nw, nl) != 0))
        return 1;
    free(got);
    size_t start = OTA_DELTA_HEADER_SIZE + ota_le_get32(p + OTA_DELTA_HEADER_SIZE);
    size_t at[4] = {start, pl / 3, 2 * pl / 3, pl};
    for (int j = 0; j < 4; j++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/seed-%02d-at%d", dir, k, j);
        FILE *f = fopen(path, "wb");
        if (!f)
            return 1;
        /* a feeding pattern per point, OpenSSL on odd points; no edits */
        uint8_t pre[4] = {(uint8_t)at[j], (uint8_t)(at[j] >> 8),
                          (uint8_t)(((k + 5 * j) & 15) | (j & 1 ? 0x10 : 0)), 0};
        fwrite(pre, 1, 4, f);
        fwrite(p, 1, pl, f);
        fclose(f);
    }
    for (int j = 0; k == 7 && j < 2; j++) {
        /* suspended at the end: one edit of the snapshot (field 50, z_new:
         * add 1) or of the kept table (the first new stream's rlen: xor 1) */
        char path[512];
        snprintf(path, sizeof(path), "%s/seed-07-edit-%s", dir, j ? "table" : "field");
        FILE *f = fopen(path, "wb");
        if (!f)
            return 1;
        uint32_t nold = ota_le_get32(p + OTA_DELTA_HEADER_SIZE + 4);
        uint32_t rl = nold * (uint32_t)sizeof(struct ota_delta_zspan) + 12u;
        uint8_t pre[4 + 7] = {(uint8_t)pl, (uint8_t)(pl >> 8), 3, 1, 50, 0, 0x08, 1, 0, 0, 0};
        if (j) {
            pre[4] = (uint8_t)rl;
            pre[5] = (uint8_t)(rl >> 8);
            pre[6] = 0x26;
        }
        fwrite(pre, 1, sizeof pre, f);
        fwrite(p, 1, pl, f);
        fclose(f);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "fuzz/corpus/delta_deflate";
    const char *rdir = argc > 2 ? argv[2] : NULL;
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
        if (write_resume_seeds(rdir, k, old, ol, p, pl, nw, nl))
            return 1;
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
        if (write_resume_seeds(rdir, k, old, ol, p, pl, nw, nl))
            return 1;
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
            if (write_resume_seeds(rdir, 6, old, ol, p, pl, NULL, 0))
                return 1;
        }
        free(p);
    }
    /* resume seeds only: new streams far apart (seed-07..10) */
    for (int k = 7; rdir && k < 11; k++) {
        static uint8_t sw[3 * FZZ_OLD_MAX];
        uint32_t nl = spread_image(sw, k - 7);
        uint8_t *p = NULL;
        size_t pl = 0;
        struct ota_delta_create_opts o = {.deflate = 1};
        if (ota_delta_create_ex(old, ol, sw, nl, &o, &p, &pl, NULL) != OTA_OK ||
            p[4] != (k == 8 ? OTA_DELTA_VERSION_TOKENS : OTA_DELTA_VERSION_DEFLATE) ||
            write_resume_seeds(rdir, k, old, ol, p, pl, sw, nl))
            return 1;
        free(p);
    }
    return 0;
}
