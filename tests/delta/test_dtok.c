// SPDX-License-Identifier: Apache-2.0
/*
 * tests/delta/test_dtok.c - the deflate token codec (ota/dtok.h,
 * docs/delta-format.md#token-form) on its own: every stream re-encodes bit
 * for bit from its token form (zlib at every level and strategy, full and
 * sync flushes, stored and fixed blocks, empty input, GNU gzip -9n on a text
 * large enough that zlib does not reproduce it); reading the token form in
 * random chunks and jumping back and forth through the checkpoints gives the
 * same bytes; streams the form cannot express and garbage are refused,
 * never crash; the state's size (the codec's whole memory) is bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ota/dtok.h"
#include "../test.h"
#include "delta_fixture.h"
#include "delta_fixture_zlib.h"

static struct ota_dtok T;

static ota_err mem_read(void *ctx, uint32_t off, uint8_t *buf, uint32_t n)
{
    memcpy(buf, (const uint8_t *)ctx + off, n);
    return OTA_OK;
}

static ota_err buf_emit(void *ctx, const uint8_t *b, size_t n)
{
    zx_put(ctx, b, n);
    return OTA_OK;
}

/* The whole token form of c (NULL on error). */
static uint8_t *puff_all(const uint8_t *c, size_t clen, size_t *len, size_t chunk)
{
    struct zx_buf out = {0};
    ota_dtok_puff_reset(&T, mem_read, (void *)(uintptr_t)c, (uint32_t)clen);
    uint8_t tmp[4096];
    for (;;) {
        size_t n = chunk ? chunk : sizeof tmp;
        const char *why = NULL;
        if (ota_dtok_puff_read(&T, tmp, &n, &why) != OTA_OK) {
            free(out.p);
            return NULL;
        }
        if (!n)
            break;
        zx_put(&out, tmp, n);
    }
    *len = out.len;
    if (!out.p)
        out.p = malloc(1);
    return out.p;
}

/* Token form -> deflate, fed in chunks; 1 when it gives exactly c. */
static int huff_is(const uint8_t *tok, size_t len, const uint8_t *c, size_t clen, size_t chunk)
{
    struct zx_buf out = {0};
    const char *why = NULL;
    ota_dtok_huff_reset(&T);
    ota_err e = OTA_OK;
    for (size_t i = 0; i < len && e == OTA_OK; i += chunk) {
        size_t n = len - i < chunk ? len - i : chunk;
        e = ota_dtok_huff_feed(&T, tok + i, n, buf_emit, &out, &why);
    }
    if (e == OTA_OK)
        e = ota_dtok_huff_finish(&T, buf_emit, &out, &why);
    int ok = e == OTA_OK && out.len == clen && (clen == 0 || memcmp(out.p, c, clen) == 0);
    if (!ok)
        fprintf(stderr, "huff: %s, %zu vs %zu bytes\n", e ? why : "ok", out.len, clen);
    free(out.p);
    return ok;
}

/* Round trip of one stream; returns its token form length. */
static size_t roundtrip(const uint8_t *c, size_t clen)
{
    size_t len = 0;
    uint8_t *tok = puff_all(c, clen, &len, 0);
    CHECK(tok != NULL);
    if (!tok)
        return 0;
    CHECK_EQ(ota_dtok_puff_consumed(&T), clen);
    size_t len7 = 0;
    uint8_t *tok7 = puff_all(c, clen, &len7, 7);
    CHECK(tok7 && len7 == len && memcmp(tok7, tok, len) == 0);
    free(tok7);
    CHECK(huff_is(tok, len, c, clen, len ? len : 1));
    CHECK(huff_is(tok, len, c, clen, 1));
    CHECK(huff_is(tok, len, c, clen, 333));
    free(tok);
    return len;
}

static void test_zlib_streams(void)
{
    size_t n = 100000;
    uint8_t *text = zx_text(n, 7);
    for (int strategy = 0; strategy <= 4; strategy++) {
        for (int level = 0; level <= 9; level++) {
            if (strategy && level % 3 != 1) /* other strategies: levels 1, 4, 7 */
                continue;
            struct zx_buf c = {0};
            zx_deflate(&c, text, n, level, 15, 8, strategy, 0);
            CHECK(roundtrip(c.p, c.len) > 0);
            free(c.p);
        }
    }
    /* full flushes (pigz's block cuts: empty stored blocks), small window */
    struct zx_buf c = {0};
    zx_deflate(&c, text, n, 6, 15, 8, 0, 20000);
    CHECK(roundtrip(c.p, c.len) > 0);
    free(c.p);
    memset(&c, 0, sizeof c);
    zx_deflate(&c, text, n, 9, 10, 9, 0, 0);
    CHECK(roundtrip(c.p, c.len) > 0);
    free(c.p);
    /* empty input: one fixed block with only end-of-block */
    memset(&c, 0, sizeof c);
    zx_deflate(&c, text, 0, 6, 15, 8, 0, 0);
    CHECK(roundtrip(c.p, c.len) > 0);
    free(c.p);
    /* random bytes: stored blocks */
    uint8_t *rnd = malloc(100000);
    fx_seed(3);
    for (size_t i = 0; i < 100000; i++)
        rnd[i] = (uint8_t)fx_rand();
    memset(&c, 0, sizeof c);
    zx_deflate(&c, rnd, 100000, 9, 15, 8, 0, 0);
    CHECK(roundtrip(c.p, c.len) > 0);
    free(c.p);
    free(rnd);
    free(text);
}

/* GNU gzip -9n of text (gzip is Essential in Debian): the raw deflate
 * stream between its 10-byte header and 8-byte trailer, at *d. */
static uint8_t *gnu_gzip(const uint8_t *text, size_t n, size_t *off, size_t *clen)
{
    char path[] = "/tmp/ota-dtok-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "wb");
    size_t wrote = fwrite(text, 1, n, f);
    fclose(f);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "gzip -9n < %s", path);
    FILE *p = popen(cmd, "r");
    struct zx_buf gz = {0};
    uint8_t tmp[8192];
    size_t got;
    while (p && (got = fread(tmp, 1, sizeof tmp, p)) > 0)
        zx_put(&gz, tmp, got);
    int rc = p ? pclose(p) : -1;
    remove(path);
    if (wrote != n || rc != 0 || gz.len <= 18 || gz.p[0] != 0x1f || gz.p[1] != 0x8b) {
        free(gz.p);
        return NULL;
    }
    *off = 10;
    *clen = gz.len - 18;
    return gz.p;
}

/* GNU gzip -9n on a text large enough that its blocks are not zlib's: the
 * stream the token form exists for. */
static void test_gnu_gzip(void)
{
    size_t n = 400000, off = 0, clen = 0;
    uint8_t *text = zx_text(n, 11);
    uint8_t *gz = gnu_gzip(text, n, &off, &clen);
    REQUIRE(gz);
    /* zlib -9 does not make the same stream */
    struct zx_buf z = {0};
    zx_deflate(&z, text, n, 9, 15, 8, 0, 0);
    CHECK(z.len != clen || memcmp(z.p, gz + off, clen) != 0);
    free(z.p);
    CHECK(roundtrip(gz + off, clen) > clen);
    free(gz);
    free(text);
}

/* Random chunks and random jumps through the checkpoints read the same
 * token form as one sequential pass. */
static void test_rewind(void)
{
    size_t n = 1000000, off = 0, clen = 0;
    uint8_t *text = zx_text(n, 5);
    uint8_t *gz = gnu_gzip(text, n, &off, &clen);
    REQUIRE(gz);
    struct zx_buf c = {gz + off, clen, clen};
    size_t len = 0;
    uint8_t *ref = puff_all(c.p, c.len, &len, 0);
    REQUIRE(ref);
    CHECK(T.cp_n > 64u); /* checkpoints inside blocks, not only at their starts */
    ota_dtok_puff_reset(&T, mem_read, c.p, (uint32_t)c.len);
    uint8_t *buf = malloc(70000);
    uint32_t pos = 0;
    fx_seed(9);
    int mismatches = 0, jumps = 0;
    for (int k = 0; k < 1500; k++) {
        /* one jump in ten to the first few hundred bytes, before the first
         * checkpoint */
        uint32_t want = (uint32_t)(fx_rand() % (k % 10 ? len : 300));
        uint32_t at = pos;
        if (want < pos || ota_dtok_puff_checkpoint(&T, want) > pos) {
            ota_dtok_puff_rewind(&T, want, &at);
            CHECK(at <= want);
            jumps++;
        }
        /* skip to want, then read a random amount */
        while (at < want) {
            size_t m = want - at < 70000 ? want - at : 70000;
            REQUIRE(ota_dtok_puff_read(&T, buf, &m, NULL) == OTA_OK && m > 0);
            mismatches += memcmp(buf, ref + at, m) != 0;
            at += (uint32_t)m;
        }
        size_t m = 1 + fx_rand() % 60000;
        if (m > len - at)
            m = len - at;
        REQUIRE(ota_dtok_puff_read(&T, buf, &m, NULL) == OTA_OK);
        mismatches += memcmp(buf, ref + at, m) != 0;
        pos = at + (uint32_t)m;
    }
    CHECK_EQ(mismatches, 0);
    CHECK(jumps > 500);
    free(buf);
    free(ref);
    free(gz);
    free(text);
}

/* What the token form refuses, and garbage in both directions. */
static void test_refusals(void)
{
    size_t n = 50000;
    uint8_t *text = zx_text(n, 2);
    struct zx_buf c = {0};
    zx_deflate(&c, text, n, 6, 15, 8, 0, 0);
    size_t len = 0;
    uint8_t *tok = puff_all(c.p, c.len, &len, 0);
    REQUIRE(tok);
    /* every truncation of the compressed stream is refused */
    for (size_t cut = 0; cut < c.len; cut += 1 + cut / 8) {
        size_t l2 = 0;
        uint8_t *t2 = puff_all(c.p, cut, &l2, 0);
        CHECK(t2 == NULL);
        free(t2);
    }
    /* block type 3 */
    uint8_t bt3[4] = {0x07, 0, 0, 0};
    size_t l3 = 0;
    CHECK(puff_all(bt3, sizeof bt3, &l3, 0) == NULL);
    /* stored block whose NLEN is not ~LEN */
    uint8_t st[7] = {0x01, 0x02, 0x00, 0xfc, 0xff, 'a', 'b'};
    CHECK(puff_all(st, sizeof st, &l3, 0) == NULL);
    st[3] = 0xfd; /* now NLEN = ~LEN */
    uint8_t *ok = puff_all(st, sizeof st, &l3, 0);
    CHECK(ok != NULL);
    free(ok);
    /* every truncation of the token form and every flipped byte: refused or
     * re-encoded to something; never a crash (ASan build) */
    struct zx_buf out = {0};
    int refused = 0;
    for (size_t cut = 0; cut < len; cut += 1 + cut / 4) {
        const char *why = NULL;
        out.len = 0;
        ota_dtok_huff_reset(&T);
        ota_err e = ota_dtok_huff_feed(&T, tok, cut, buf_emit, &out, &why);
        if (e == OTA_OK)
            e = ota_dtok_huff_finish(&T, buf_emit, &out, &why);
        refused += e == OTA_ERR_DELTA_CORRUPT && why != NULL;
    }
    CHECK(refused > 0);
    fx_seed(4);
    for (int k = 0; k < 500; k++) {
        uint8_t *m = malloc(len);
        memcpy(m, tok, len);
        m[fx_rand() % len] ^= (uint8_t)(1u << (fx_rand() % 8u));
        const char *why = NULL;
        out.len = 0;
        ota_dtok_huff_reset(&T);
        ota_err e = ota_dtok_huff_feed(&T, m, len, buf_emit, &out, &why);
        if (e == OTA_OK)
            e = ota_dtok_huff_finish(&T, buf_emit, &out, &why);
        CHECK(e == OTA_OK || e == OTA_ERR_DELTA_CORRUPT);
        free(m);
    }
    /* random bytes as a deflate stream, as a token form */
    uint8_t *rnd = malloc(5000);
    for (int k = 0; k < 200; k++) {
        for (size_t i = 0; i < 5000; i++)
            rnd[i] = (uint8_t)fx_rand();
        size_t l4 = 0;
        uint8_t *t4 = puff_all(rnd, 5000, &l4, 0);
        free(t4);
        const char *why = NULL;
        out.len = 0;
        ota_dtok_huff_reset(&T);
        ota_err e = ota_dtok_huff_feed(&T, rnd, 5000, buf_emit, &out, &why);
        CHECK(e == OTA_OK || e == OTA_ERR_DELTA_CORRUPT);
    }
    free(rnd);
    free(out.p);
    free(tok);
    free(c.p);
    free(text);
}

/* The codec's whole memory is its state: no window, no allocation. */
static void test_memory_bound(void)
{
    printf("struct ota_dtok: %zu bytes\n", sizeof(struct ota_dtok));
    CHECK(sizeof(struct ota_dtok) <= 12u * 1024u);
}

int main(void)
{
    RUN(test_zlib_streams);
    RUN(test_gnu_gzip);
    RUN(test_rewind);
    RUN(test_refusals);
    RUN(test_memory_bound);
    return test_summary();
}
