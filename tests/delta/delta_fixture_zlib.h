// SPDX-License-Identifier: Apache-2.0
/*
 * tests/delta/delta_fixture_zlib.h - generators of images with compressed
 * content for the deflate-mode tests (delta.deflate, delta.power_loss):
 * deterministic text files, wrapped as gzip members, zlib streams and zip
 * local entries made with zlib at chosen parameters, and a stream zlib's
 * one-shot deflate cannot reproduce (full flushes in the middle, the way
 * pigz cuts its blocks), plus a "next release" of the text.
 */
#ifndef OTA_TEST_DELTA_FIXTURE_ZLIB_H
#define OTA_TEST_DELTA_FIXTURE_ZLIB_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "delta_fixture.h"

/* Growable byte buffer of the generators. */
struct zx_buf {
    uint8_t *p;
    size_t len, cap;
};

static inline void zx_put(struct zx_buf *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 4096u;
        while (nc < b->len + n)
            nc *= 2u;
        b->p = realloc(b->p, nc);
        b->cap = nc;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static inline void zx_put32le(struct zx_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    zx_put(b, x, 4);
}

/* n bytes of word-salad text from seed (compressible like man pages). */
static inline uint8_t *zx_text(size_t n, uint64_t seed)
{
    static const char *const words[] = {
        "the",   "delta", "update", "device", "slot",    "image",  "patch",   "flash",
        "boot",  "of",    "and",    "a",      "stream",  "block",  "deflate", "window",
        "level", "zlib",  "gzip",   "archive", "member", "kernel", "module",  "firmware"};
    uint8_t *t = malloc(n);
    fx_seed(seed);
    size_t i = 0;
    while (i < n) {
        const char *w = words[fx_rand() % (sizeof words / sizeof words[0])];
        for (size_t k = 0; w[k] && i < n; k++)
            t[i++] = (uint8_t)w[k];
        if (i < n)
            t[i++] = fx_rand() % 9u == 0 ? '\n' : ' ';
    }
    return t;
}

/* The next release of a text: a few words changed, a line inserted. */
static inline void zx_evolve(uint8_t *t, size_t n, uint64_t seed)
{
    fx_seed(seed);
    for (int k = 0; k < 12; k++) {
        size_t at = fx_rand() % (n - 8u);
        memcpy(t + at, "EDITED", 6);
    }
}

/* Raw deflate of d with these parameters; flush_every > 0: a Z_FULL_FLUSH
 * after every flush_every input bytes (what zlib's one-shot deflate never
 * does, so the stream is not reproducible). */
static inline void zx_deflate(struct zx_buf *out, const uint8_t *d, size_t n, int level,
                              int wbits, int memlevel, int strategy, size_t flush_every)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, level, Z_DEFLATED, -wbits, memlevel, strategy);
    uint8_t buf[4096];
    size_t fed = 0;
    int r;
    do {
        size_t step = flush_every ? flush_every : n;
        if (step > n - fed)
            step = n - fed;
        zs.next_in = (Bytef *)(uintptr_t)(d + fed);
        zs.avail_in = (uInt)step;
        fed += step;
        int flush = fed == n ? Z_FINISH : Z_FULL_FLUSH;
        do {
            zs.next_out = buf;
            zs.avail_out = sizeof buf;
            r = deflate(&zs, flush);
            zx_put(out, buf, sizeof buf - zs.avail_out);
        } while (zs.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
    } while (fed < n);
    deflateEnd(&zs);
}

/* A gzip member (no name, mtime 0). */
static inline void zx_gzip(struct zx_buf *out, const uint8_t *d, size_t n, int level,
                           int memlevel, int strategy, size_t flush_every)
{
    /* XFL as zlib's gzip writer sets it: 2 for level 9, 4 for level 1 */
    uint8_t h[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    h[8] = level == 9 ? 2 : level == 1 ? 4 : 0;
    zx_put(out, h, sizeof h);
    zx_deflate(out, d, n, level, 15, memlevel, strategy, flush_every);
    zx_put32le(out, (uint32_t)crc32(0, d, (uInt)n));
    zx_put32le(out, (uint32_t)n);
}

/* A zlib stream (header with this window, Adler-32 trailer). */
static inline void zx_zlib(struct zx_buf *out, const uint8_t *d, size_t n, int level, int wbits,
                           int strategy)
{
    uint8_t h[2];
    h[0] = (uint8_t)(((wbits - 8) << 4) | 8);
    int fl = level < 2 ? 0 : level < 6 ? 1 : level == 6 ? 2 : 3;
    h[1] = (uint8_t)(fl << 6);
    h[1] = (uint8_t)(h[1] + (31 - ((h[0] << 8) | h[1]) % 31));
    zx_put(out, h, 2);
    zx_deflate(out, d, n, level, wbits, 8, strategy, 0);
    uint32_t a = (uint32_t)adler32(1, d, (uInt)n);
    uint8_t t[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
    zx_put(out, t, 4);
}

/* A zip local file entry "name" (deflated, CRC in the header). */
static inline void zx_zip_entry(struct zx_buf *out, const char *name, const uint8_t *d, size_t n,
                                int level)
{
    struct zx_buf body = {0};
    zx_deflate(&body, d, n, level, 15, 8, Z_DEFAULT_STRATEGY, 0);
    uint8_t h[30] = {'P', 'K', 3, 4, 20, 0, 0, 0, 8, 0};
    uint32_t crc = (uint32_t)crc32(0, d, (uInt)n);
    size_t nl = strlen(name);
    memcpy(h + 14, (uint8_t[4]){(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16),
                               (uint8_t)(crc >> 24)}, 4);
    h[18] = (uint8_t)body.len;
    h[19] = (uint8_t)(body.len >> 8);
    h[20] = (uint8_t)(body.len >> 16);
    h[22] = (uint8_t)n;
    h[23] = (uint8_t)(n >> 8);
    h[24] = (uint8_t)(n >> 16);
    h[26] = (uint8_t)nl;
    zx_put(out, h, sizeof h);
    zx_put(out, name, nl);
    zx_put(out, body.p, body.len);
    free(body.p);
}

/*
 * An "archive" image: a plain header, then for each of the nfiles texts a
 * compressed member (gzip, zlib or zip by turns, levels cycling through
 * levels[]), separated by plain bytes; release 0 or 1 (texts evolved).
 * With unreproducible, the last member has full flushes (not reproducible).
 */
static inline uint8_t *zx_archive(int release, int nfiles, size_t text_len, const int *levels,
                                  int nlevels, int unreproducible, size_t *len)
{
    struct zx_buf b = {0};
    uint8_t *pad = zx_text(300, 7);
    zx_put(&b, pad, 300);
    for (int f = 0; f < nfiles; f++) {
        uint8_t *t = zx_text(text_len, 1000u + (uint64_t)f);
        if (release)
            zx_evolve(t, text_len, 2000u + (uint64_t)f);
        int lv = levels[f % nlevels];
        if (unreproducible && f == nfiles - 1)
            zx_gzip(&b, t, text_len, lv, 8, Z_DEFAULT_STRATEGY, 3000);
        else if (f % 3 == 0)
            zx_gzip(&b, t, text_len, lv, f % 2 ? 9 : 8, Z_DEFAULT_STRATEGY, 0);
        else if (f % 3 == 1) /* PNG-style: filtered strategy */
            zx_zlib(&b, t, text_len, lv, f % 2 ? 15 : 12,
                    f % 4 == 2 ? Z_FILTERED : Z_DEFAULT_STRATEGY);
        else
            zx_zip_entry(&b, "doc/file.txt", t, text_len, lv);
        free(t);
        zx_put(&b, pad, 40u + (size_t)f);
    }
    free(pad);
    *len = b.len;
    return b.p;
}

#endif
