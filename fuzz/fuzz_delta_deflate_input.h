// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/fuzz_delta_deflate_input.h - what fuzz_delta_deflate.c and its seed
 * maker share: the fixed old image (text with a zlib stream, a gzip member
 * and a zip entry made by zlib, so the applier's inflate paths are reached)
 * and the layout of a fuzz input (a version 2 header built from a few input
 * bytes, so the fuzzer does not have to guess a SHA-256, then the raw
 * deflate section and coded stream).
 *
 *   byte 0      feeding pattern (chunk sizes)
 *   byte 1      predictor flags
 *   bytes 2-3   new size (LE, 15 bits, < 32 KiB); bit 15: version 3 (16-byte
 *               old entries, streams in token form) instead of 2
 *   bytes 4-    deflate section (its first 4 bytes: sec_len), then the
 *               coded stream (stream_len = the rest after sec_len bytes)
 */
#ifndef OTA_FUZZ_DELTA_DEFLATE_INPUT_H
#define OTA_FUZZ_DELTA_DEFLATE_INPUT_H

#include <stdint.h>
#include <string.h>
#include <zlib.h>

#define FZZ_PREFIX 4u
#define FZZ_TEXT 3000u
#define FZZ_OLD_MAX 8192u

/* Deterministic text (words), seed-dependent. */
static void fzz_text(uint8_t *t, uint32_t n, uint32_t seed)
{
    static const char *const w[] = {"alpha", "beta", "gamma", "delta", "slot", "flash", " ", "\n"};
    uint32_t x = seed * 2654435761u + 1u, i = 0;
    while (i < n) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        const char *s = w[x % 8u];
        for (uint32_t k = 0; s[k] && i < n; k++)
            t[i++] = (uint8_t)s[k];
    }
}

/* Raw deflate of t into out (room cap), returns the length. */
static uint32_t fzz_deflate(const uint8_t *t, uint32_t n, int level, uint8_t *out, uint32_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = (Bytef *)(uintptr_t)t;
    zs.avail_in = n;
    zs.next_out = out;
    zs.avail_out = cap;
    deflate(&zs, Z_FINISH);
    uint32_t len = (uint32_t)zs.total_out;
    deflateEnd(&zs);
    return len;
}

/*
 * An image of plain text with three compressed members (zlib level 6, gzip
 * level 9, zip entry level 1) of texts seeded by `release`; returns its
 * length (<= FZZ_OLD_MAX).
 */
static uint32_t fzz_image(uint8_t *b, uint32_t release)
{
    static uint8_t t[FZZ_TEXT];
    uint32_t n = 0;
    fzz_text(b, 200, 1);
    n = 200;
    for (int m = 0; m < 3; m++) {
        fzz_text(t, FZZ_TEXT, 10u + (uint32_t)m);
        if (release)
            memcpy(t + 500u * (uint32_t)(m + 1), "EDITED", 6);
        uint32_t crc = (uint32_t)crc32(0, t, FZZ_TEXT);
        if (m == 0) {
            b[n++] = 0x78;
            b[n++] = 0x9c;
        } else if (m == 1) {
            static const uint8_t gz[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3};
            memcpy(b + n, gz, 10);
            n += 10;
        } else {
            uint8_t zh[30] = {'P', 'K', 3, 4, 20, 0, 0, 0, 8, 0};
            zh[14] = (uint8_t)crc;
            zh[15] = (uint8_t)(crc >> 8);
            zh[16] = (uint8_t)(crc >> 16);
            zh[17] = (uint8_t)(crc >> 24);
            memcpy(b + n, zh, 30);
            n += 30;
        }
        n += fzz_deflate(t, FZZ_TEXT, m == 0 ? 6 : m == 1 ? 9 : 1, b + n, FZZ_OLD_MAX - n - 300u);
        if (m == 0) {
            uint32_t a = (uint32_t)adler32(1, t, FZZ_TEXT);
            b[n++] = (uint8_t)(a >> 24);
            b[n++] = (uint8_t)(a >> 16);
            b[n++] = (uint8_t)(a >> 8);
            b[n++] = (uint8_t)a;
        } else if (m == 1) {
            for (int k = 0; k < 4; k++)
                b[n++] = (uint8_t)(crc >> (8 * k));
            for (int k = 0; k < 4; k++)
                b[n++] = (uint8_t)(FZZ_TEXT >> (8 * k));
        }
        fzz_text(b + n, 40, 2u + (uint32_t)m);
        n += 40;
    }
    return n;
}

#endif
