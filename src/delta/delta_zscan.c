// SPDX-License-Identifier: Apache-2.0
/*
 * delta_zscan.c - the host half of deflate-aware deltas: finds the deflate
 * streams inside an image (gzip members, zlib streams, zip/jar/apk local
 * file entries), keeps those that zlib re-compresses bit for bit with some
 * parameters (searched: level, memLevel, strategy; windowBits from the zlib
 * header, else 15), and builds the "expanded" image in which each kept
 * stream is replaced by its decompressed bytes. Streams zlib cannot
 * reproduce (another compressor, e.g. GNU gzip on large files, pigz,
 * zopfli, 7-Zip) are replaced by their token form (ota/dtok.h) when the
 * token codec re-encodes them bit for bit (checked here, on every stream),
 * else stay as compressed bytes. Format: docs/delta-format.md.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "delta_host.h"
#include "le.h"
#include "ota/dtok.h"

#define DZ_MIN_CLEN 16u /* shorter streams are not worth a table entry */
#define DZ_CMP_BUF 4096u

static ota_err dz_reserve(uint8_t **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return OTA_OK;
    size_t nc = *cap ? *cap : 65536u;
    while (nc < need)
        nc *= 2u;
    uint8_t *np = realloc(*p, nc);
    if (!np)
        return OTA_ERR_NO_MEMORY;
    *p = np;
    *cap = nc;
    return OTA_OK;
}

/*
 * Inflate the raw deflate stream at img[d..len) onto the end of the
 * expanded buffer. Returns 1 (with *clen, *rlen) when it is a complete
 * stream; 0 (the buffer unchanged) otherwise.
 */
static int dz_inflate(z_stream *zs, const uint8_t *img, size_t d, size_t len, uint8_t **x,
                      size_t *xlen, size_t *xcap, uint32_t *clen, uint32_t *rlen, ota_err *err)
{
    if (inflateReset(zs) != Z_OK)
        return 0;
    zs->next_in = (Bytef *)(uintptr_t)(img + d);
    zs->avail_in = (uInt)(len - d > 0x7FFFFFFFu ? 0x7FFFFFFFu : len - d);
    size_t start = *xlen, pos = start;
    for (;;) {
        if (dz_reserve(x, xcap, pos + 65536u) != OTA_OK) {
            *err = OTA_ERR_NO_MEMORY;
            return 0;
        }
        zs->next_out = *x + pos;
        zs->avail_out = 65536u;
        int r = inflate(zs, Z_NO_FLUSH);
        pos += 65536u - zs->avail_out;
        if (r == Z_STREAM_END)
            break;
        if (r != Z_OK || pos - start > 0x7FFFFFFFu)
            return 0;
    }
    if (zs->total_in < DZ_MIN_CLEN || pos == start)
        return 0;
    *clen = (uint32_t)zs->total_in;
    *rlen = (uint32_t)(pos - start);
    *xlen = pos;
    return 1;
}

/*
 * Does deflate with p reproduce c[0..clen) from raw exactly? Stops at the
 * first output byte that differs. Returns 1 when it does; else 0 and in
 * *same how many output bytes were equal before the difference.
 */
static int dz_try(const uint8_t *raw, uint32_t rlen, const uint8_t *c, uint32_t clen,
                  const struct ota_deflate_params *p, size_t *same)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, p->level, Z_DEFLATED, -(int)p->wbits, p->memlevel, p->strategy) != Z_OK)
        return 0;
    uint8_t out[DZ_CMP_BUF];
    zs.next_in = (Bytef *)(uintptr_t)raw;
    zs.avail_in = rlen;
    size_t done = 0;
    int ok = 0;
    for (;;) {
        zs.next_out = out;
        zs.avail_out = sizeof out;
        int r = deflate(&zs, Z_FINISH);
        size_t got = sizeof out - zs.avail_out;
        if (got > clen - done || memcmp(out, c + done, got) != 0) {
            size_t k = 0;
            while (k < got && done + k < clen && out[k] == c[done + k])
                k++;
            done += k;
            break;
        }
        done += got;
        if (r == Z_STREAM_END) {
            ok = done == clen;
            break;
        }
        if (r != Z_OK && r != Z_BUF_ERROR)
            break;
    }
    deflateEnd(&zs);
    *same = done;
    return ok;
}

/* A try that reproduced this many output bytes before differing had the
 * right parameters and the compressor's block splitting was another's
 * (GNU gzip's): no other parameters will do, the search stops. */
#define DZ_SAME_GIVE_UP 8192u

/*
 * Search zlib parameters that reproduce the stream; *hint (the last ones
 * that worked in this image) first. flevel: the level class the wrapper
 * announces, as zlib writes it: 0 = level 0 or 1 (or Huffman-only / RLE),
 * 1 = levels 2-5, 2 = level 6, 3 = levels 7-9 (zlib FLEVEL; gzip XFL 4 and
 * 2 are classes 0 and 3); 4 = gzip XFL 0 (levels 2-6 first, then all);
 * -1 unknown (zip: every level, 6 and 9 first). Level 0 only when the first block is stored. Levels with
 * memLevel 8, then with 9; the filtered strategy only for zlib streams
 * (PNG's default). Each try stops at the first output byte that differs.
 */
static int dz_search(const uint8_t *raw, uint32_t rlen, const uint8_t *c, uint32_t clen,
                     uint8_t wbits, int flevel, int kind, struct ota_deflate_params *hint,
                     struct ota_deflate_params *found)
{
    size_t same = 0;
    if (hint->level <= 9u && hint->wbits == wbits) {
        if (dz_try(raw, rlen, c, clen, hint, &same)) {
            *found = *hint;
            return 1;
        }
        if (same >= DZ_SAME_GIVE_UP)
            return 0;
    }
    static const uint8_t by_class[5][11] = {
        {1, 0, 0xFF},
        {2, 3, 4, 5, 0xFF},
        {6, 0xFF},
        {9, 7, 8, 0xFF},
        {6, 9, 1, 5, 4, 3, 2, 7, 8, 0, 0xFF},
    };
    /* gzip's XFL only says "9", "1" or "other"; writers that do not set it
     * (Java's GZIPOutputStream) write "other" too: every level, 2-6 first */
    const uint8_t gz_other[] = {6, 2, 3, 4, 5, 9, 1, 7, 8, 0, 0xFF};
    const uint8_t *levels = flevel == 4 ? gz_other : by_class[flevel >= 0 && flevel < 4 ? flevel : 4];
    static const uint8_t memlevels[] = {8, 9};
    static const uint8_t strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_RLE, Z_HUFFMAN_ONLY};
    int stored = (c[0] & 6u) == 0;
    for (unsigned si = 0; si < sizeof strategies; si++) {
        if (strategies[si] == Z_FILTERED && kind != 2)
            continue;
        /* Huffman-only and RLE: the wrapper announces level class 0 */
        if (strategies[si] >= Z_RLE && flevel > 0)
            continue;
        for (unsigned mi = 0; mi < sizeof memlevels; mi++) {
            for (unsigned li = 0; levels[li] != 0xFF; li++) {
                uint8_t lv = levels[li];
                if ((lv == 0) != stored)
                    continue;
                /* Huffman-only and RLE do not depend on the level above 0 */
                if (strategies[si] >= Z_RLE && lv > 1)
                    continue;
                struct ota_deflate_params p = {lv, wbits, memlevels[mi], strategies[si]};
                if (dz_try(raw, rlen, c, clen, &p, &same)) {
                    *found = *hint = p;
                    return 1;
                }
                if (same >= DZ_SAME_GIVE_UP)
                    return 0;
            }
        }
    }
    return 0;
}

static ota_err dz_mem_read(void *ctx, uint32_t off, uint8_t *buf, uint32_t n)
{
    memcpy(buf, (const uint8_t *)ctx + off, n);
    return OTA_OK;
}

/* The huffer's output compared with the original compressed bytes. */
struct dz_cmp {
    const uint8_t *c;
    uint32_t clen, at;
};

static ota_err dz_cmp_emit(void *ctx, const uint8_t *b, size_t n)
{
    struct dz_cmp *k = ctx;
    if (n > k->clen - k->at || memcmp(k->c + k->at, b, n) != 0)
        return OTA_ERR_DELTA_RESULT_MISMATCH;
    k->at += (uint32_t)n;
    return OTA_OK;
}

/*
 * The token form of the raw deflate stream c[0..clen) onto *x from mark,
 * checked to re-encode to exactly c (the device runs the same code). 1 with
 * *xl the new end; 0 when the form does not cover the stream or does not
 * round-trip (the buffer is then to be ignored from mark).
 */
static int dz_tokens(struct ota_dtok *t, const uint8_t *c, uint32_t clen, uint8_t **x,
                     size_t mark, size_t *xl, size_t *xcap, ota_err *err)
{
    ota_dtok_puff_reset(t, dz_mem_read, (void *)(uintptr_t)c, clen);
    size_t pos = mark;
    for (;;) {
        if (dz_reserve(x, xcap, pos + 65536u) != OTA_OK) {
            *err = OTA_ERR_NO_MEMORY;
            return 0;
        }
        size_t n = 65536u;
        if (ota_dtok_puff_read(t, *x + pos, &n, NULL) != OTA_OK)
            return 0;
        if (!n)
            break;
        pos += n;
        if (pos - mark > 0x7FFFFFFFu)
            return 0;
    }
    if (ota_dtok_puff_consumed(t) != clen)
        return 0;
    struct dz_cmp k = {c, clen, 0};
    ota_dtok_huff_reset(t);
    if (ota_dtok_huff_feed(t, *x + mark, pos - mark, dz_cmp_emit, &k, NULL) != OTA_OK ||
        ota_dtok_huff_finish(t, dz_cmp_emit, &k, NULL) != OTA_OK || k.at != clen)
        return 0;
    *xl = pos;
    return 1;
}

/* Where a stream could start at i: the raw deflate offset, the window bits
 * and FLEVEL; 0 when nothing starts there. */
static size_t dz_candidate(const uint8_t *img, size_t len, size_t i, uint8_t *wbits,
                           int *flevel, int *kind)
{
    const uint8_t *b = img + i;
    size_t left = len - i;
    *wbits = 15;
    *flevel = -1;
    if (left >= 18 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8 && (b[3] & 0xE0) == 0) {
        size_t d = 10;
        if (b[3] & 4) { /* FEXTRA */
            if (left < d + 2)
                return 0;
            d += 2u + ota_le_get16(b + d);
        }
        for (unsigned f = 8; f <= 16; f <<= 1) { /* FNAME, FCOMMENT */
            if (!(b[3] & f))
                continue;
            const uint8_t *z = d < left ? memchr(b + d, 0, left - d) : NULL;
            if (!z)
                return 0;
            d = (size_t)(z - b) + 1u;
        }
        if (b[3] & 2)
            d += 2;
        *kind = 1;
        *flevel = b[8] == 2 ? 3 : b[8] == 4 ? 0 : 4; /* XFL: 9 / 0-1 / other */
        return d < left ? i + d : 0;
    }
    if (left >= 30 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4 &&
        ota_le_get16(b + 8) == 8) {
        size_t d = 30u + ota_le_get16(b + 26) + ota_le_get16(b + 28);
        *kind = 3;
        unsigned opt = (ota_le_get16(b + 6) >> 1) & 3u; /* 1 maximum, 2/3 fast */
        *flevel = opt == 1 ? 3 : opt ? 0 : -1; /* 0 "normal": often unset */
        return d < left ? i + d : 0;
    }
    if (left >= 8 && (b[0] & 0x0F) == 8 && (b[0] >> 4) <= 7 && !(b[1] & 0x20) &&
        ((b[0] << 8) | b[1]) % 31 == 0) {
        *wbits = (uint8_t)((b[0] >> 4) + 8 < 9 ? 9 : (b[0] >> 4) + 8);
        *flevel = b[1] >> 6;
        *kind = 2;
        return i + 2;
    }
    return 0;
}

/* The checksum that follows (gzip CRC-32 + size, zlib Adler-32) or that the
 * zip entry declares must match the decompressed bytes. */
static int dz_check(int kind, const uint8_t *img, size_t len, size_t i, size_t end,
                    const uint8_t *raw, uint32_t rlen)
{
    if (kind == 1) {
        if (end + 8 > len)
            return 0;
        return ota_le_get32(img + end) == crc32(0, raw, rlen) && ota_le_get32(img + end + 4) == rlen;
    }
    if (kind == 2) {
        if (end + 4 > len)
            return 0;
        uint32_t a = (uint32_t)adler32(1, raw, rlen);
        const uint8_t *t = img + end;
        return ((uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3]) == a;
    }
    /* zip: with a data descriptor (flag bit 3) the header's CRC may be 0 */
    const uint8_t *b = img + i;
    return (ota_le_get16(b + 6) & 8u) || ota_le_get32(b + 14) == crc32(0, raw, rlen);
}

ota_err dz_expand(const uint8_t *img, uint32_t len, struct dz_image *out)
{
    memset(out, 0, sizeof(*out));
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK)
        return OTA_ERR_NO_MEMORY;
    struct ota_dtok *tok = malloc(sizeof(*tok));
    if (!tok) {
        inflateEnd(&zs);
        return OTA_ERR_NO_MEMORY;
    }
    ota_err err = OTA_OK;
    size_t xcap = 0, scap = 0;
    size_t plain = 0; /* img[plain..i) not yet copied */
    struct ota_deflate_params hint = {0xFF, 0, 0, 0};
    for (size_t i = 0; i + 8 <= len && !err;) {
        uint8_t wbits;
        int flevel, kind = 0;
        size_t d = dz_candidate(img, len, i, &wbits, &flevel, &kind);
        if (!d) {
            i++;
            continue;
        }
        /* inflate it behind room for the plain bytes up to it; those are
         * copied only once it is a stream (copying them for every false
         * candidate was quadratic: minutes on a 40 MiB ext4 image) */
        err = dz_reserve(&out->x, &xcap, out->xlen + (d - plain));
        if (err)
            break;
        size_t mark = out->xlen + (d - plain);
        size_t xl = mark;
        uint32_t clen = 0, rlen = 0;
        struct ota_deflate_params par;
        if (!dz_inflate(&zs, img, d, len, &out->x, &xl, &xcap, &clen, &rlen, &err) ||
            !dz_check(kind, img, len, i, d + clen, out->x + mark, rlen)) {
            i++;
            continue;
        }
        if (!dz_search(out->x + mark, rlen, img + d, clen, wbits, flevel, kind, &hint, &par)) {
            /* a real stream zlib does not reproduce: its token form, or
             * it stays compressed */
            if (!dz_tokens(tok, img + d, clen, &out->x, mark, &xl, &xcap, &err)) {
                out->skipped++;
                i = d + clen;
                continue;
            }
            rlen = (uint32_t)(xl - mark);
            memset(&par, 0, sizeof par);
            par.level = OTA_DEFLATE_TOKENS;
            out->tokens++;
        }
        if (out->n == scap) {
            size_t nc = scap ? scap * 2u : 64u;
            struct dz_stream *ns = realloc(out->s, nc * sizeof(*ns));
            if (!ns) {
                err = OTA_ERR_NO_MEMORY;
                break;
            }
            out->s = ns;
            scap = nc;
        }
        memcpy(out->x + out->xlen, img + plain, d - plain);
        struct dz_stream *s = &out->s[out->n++];
        s->off = (uint32_t)d;
        s->clen = clen;
        s->rlen = rlen;
        s->par = par;
        out->xlen = xl;
        plain = d + clen;
        i = plain;
    }
    if (!err) {
        err = dz_reserve(&out->x, &xcap, out->xlen + (len - plain) + 1u);
        if (!err && len > plain) {
            memcpy(out->x + out->xlen, img + plain, len - plain);
            out->xlen += len - plain;
        }
    }
    inflateEnd(&zs);
    free(tok);
    if (!err && out->xlen > 0x7FFFFFFFu)
        err = OTA_ERR_TOO_LARGE;
    if (err)
        dz_image_free(out);
    return err;
}

void dz_image_free(struct dz_image *im)
{
    free(im->x);
    free(im->s);
    memset(im, 0, sizeof(*im));
}
