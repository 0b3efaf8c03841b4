// SPDX-License-Identifier: Apache-2.0
/*
 * tests/delta/test_delta_deflate.c - the deflate mode of delta patches
 * (version 2, docs/delta-format.md#deflate-section): round trips byte for
 * byte on gzip/zlib/zip content made by zlib at several levels, window sizes,
 * memLevels and strategies; content zlib cannot reproduce (kept compressed,
 * still applies); an applier without a deflate port refusing the patch
 * before writing; every section field refused with its error; wrong
 * recorded parameters caught; the memory bound of the zlib port measured;
 * suspend/resume of version 2 and 3 patches at every feed boundary allowed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"
#include "../test.h"
#include "delta_fixture.h"
#include "delta_fixture_zlib.h"
#include "le.h"

static const int LEVELS[] = {1, 6, 9, 3, 5};

struct pair {
    uint8_t *old, *new_, *patch;
    size_t old_len, new_len, patch_len;
    struct ota_delta_stats st;
};

static void make_pair(struct pair *p, int nfiles, size_t text_len, int unrepro, int deflate)
{
    memset(p, 0, sizeof(*p));
    p->old = zx_archive(0, nfiles, text_len, LEVELS, 5, unrepro, &p->old_len);
    p->new_ = zx_archive(1, nfiles, text_len, LEVELS, 5, unrepro, &p->new_len);
    struct ota_delta_create_opts o = {.deflate = deflate};
    ota_err e = ota_delta_create_ex(p->old, p->old_len, p->new_, p->new_len, &o, &p->patch,
                                    &p->patch_len, &p->st);
    if (e != OTA_OK) {
        free(p->patch);
        p->patch = NULL;
    }
}

static void free_pair(struct pair *p)
{
    free(p->old);
    free(p->new_);
    free(p->patch);
}

/* Apply through the core with the port, chunked; 1 when the result is new_. */
static ota_err apply_port(const struct pair *p, const uint8_t *patch, size_t len,
                          const struct ota_deflate_port *port, long chunk, struct fx_sink *s,
                          struct ota_diag *d)
{
    s->buf = malloc(p->new_len + 1);
    s->cap = p->new_len;
    s->len = 0;
    s->calls = 0;
    s->order_violation = 0;
    s->fail_with = OTA_OK;
    fx_port = port;
    ota_err e = fx_apply(ota_crypto_mbedtls(), p->old, p->old_len, patch, len, chunk, s, d);
    fx_port = NULL;
    return e;
}

static void test_roundtrip_levels(void)
{
    struct pair p;
    make_pair(&p, 15, 20000, 0, 1);
    REQUIRE(p.patch);
    CHECK_EQ(p.patch[4], OTA_DELTA_VERSION_DEFLATE);
    CHECK_EQ(p.st.zold, 15);
    CHECK_EQ(p.st.znew, 15); /* every level, window, memLevel, strategy found */
    CHECK_EQ(p.st.zskipped, 0);
    /* the same pair without deflate mode: version 1, much larger */
    struct pair q;
    make_pair(&q, 15, 20000, 0, 0);
    REQUIRE(q.patch);
    CHECK_EQ(q.patch[4], OTA_DELTA_VERSION);
    CHECK(p.patch_len * 10u < q.patch_len);
    printf("     15 members (gzip/zlib/zip, levels 1-9): %zu -> %zu bytes; patch %zu bytes "
           "(version 1: %zu)\n", p.old_len, p.new_len, p.patch_len, q.patch_len);
    struct ota_deflate_port *port = ota_deflate_zlib_new();
    REQUIRE(port);
    const long chunks[] = {0, 1, 7, -1, 100000};
    for (unsigned i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        struct fx_sink s;
        struct ota_diag d;
        memset(&d, 0, sizeof d);
        ota_err e = apply_port(&p, p.patch, p.patch_len, port, chunks[i], &s, &d);
        CHECK_EQ(e, OTA_OK);
        CHECK_EQ(s.len, p.new_len);
        CHECK(s.len == p.new_len && memcmp(s.buf, p.new_, p.new_len) == 0);
        CHECK_EQ(s.order_violation, 0);
        free(s.buf);
    }
    ota_deflate_zlib_free(port);
    /* the host convenience (openssl) and the `ota delta apply` path */
    uint8_t *out = NULL;
    size_t out_len = 0;
    CHECK_EQ(ota_delta_apply_buffer(ota_crypto_openssl(), p.old, p.old_len, p.patch, p.patch_len,
                                    333, &out, &out_len, NULL),
             OTA_OK);
    CHECK(out_len == p.new_len && out && memcmp(out, p.new_, p.new_len) == 0);
    free(out);
    free_pair(&q);
    free_pair(&p);
}

/* A gzip member whose deflate stream codes length 258 as 284 + 31 (valid
 * for zlib's inflate, but neither zlib nor the token form writes it): 20
 * literals, that match at distance 1 (a fixed block), copies text[0..off). */
static void gzip_284(struct zx_buf *out, uint8_t lit0)
{
    uint8_t raw[20 + 258];
    uint8_t c[64];
    memset(c, 0, sizeof c);
    size_t bit = 0;
#define PUTB(v, n)                                                                 \
    for (unsigned i_ = 0; i_ < (n); i_++, bit++)                                   \
        c[bit >> 3] |= (uint8_t)((((v) >> i_) & 1u) << (bit & 7u));
#define PUTCODE(v, n) /* Huffman codes: most significant bit first */            \
    for (unsigned i_ = 0; i_ < (n); i_++, bit++)                                   \
        c[bit >> 3] |= (uint8_t)((((v) >> ((n) - 1u - i_)) & 1u) << (bit & 7u));
    PUTB(1u, 1); /* BFINAL */
    PUTB(1u, 2); /* fixed */
    for (unsigned k = 0; k < 20; k++) {
        raw[k] = (uint8_t)(lit0 + k);
        PUTCODE(0x30u + raw[k], 8);
    }
    PUTCODE(0xC0u + (284u - 280u), 8);
    PUTB(31u, 5);
    PUTCODE(0u, 5); /* distance 1 */
    for (unsigned k = 0; k < 258; k++)
        raw[20 + k] = raw[19];
    PUTCODE(0u, 7); /* end of block */
#undef PUTB
#undef PUTCODE
    uint8_t h[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    zx_put(out, h, sizeof h);
    zx_put(out, c, (bit + 7u) / 8u);
    zx_put32le(out, (uint32_t)crc32(0, raw, sizeof raw));
    zx_put32le(out, (uint32_t)sizeof raw);
}

static void test_unreproducible_falls_back(void)
{
    /* the last member has full flushes (pigz-style): zlib does not
     * reproduce it, the token form does (version 3) */
    struct pair p;
    make_pair(&p, 4, 20000, 1, 1);
    REQUIRE(p.patch);
    CHECK_EQ(p.patch[4], OTA_DELTA_VERSION_TOKENS);
    CHECK_EQ(p.st.znew, 4);
    CHECK_EQ(p.st.zold, 4);
    CHECK_EQ(p.st.ztokens, 2); /* one in old, one in new */
    CHECK_EQ(p.st.zskipped, 0);
    uint8_t *out = NULL;
    size_t out_len = 0;
    CHECK_EQ(ota_delta_apply_buffer(ota_crypto_openssl(), p.old, p.old_len, p.patch, p.patch_len,
                                    0, &out, &out_len, NULL),
             OTA_OK);
    CHECK(out_len == p.new_len && out && memcmp(out, p.new_, p.new_len) == 0);
    free(out);
    free_pair(&p);
    /* only content neither reproduces: a plain version 1 patch */
    struct zx_buf a = {0}, b = {0};
    uint8_t pad[64];
    memset(pad, 'x', sizeof pad);
    zx_put(&a, pad, sizeof pad);
    gzip_284(&a, 'a');
    zx_put(&b, pad, sizeof pad);
    gzip_284(&b, 'b');
    zx_put(&b, pad, sizeof pad);
    uint8_t *patch = NULL;
    size_t plen = 0;
    struct ota_delta_stats st;
    struct ota_delta_create_opts o = {.deflate = 1};
    CHECK_EQ(ota_delta_create_ex(a.p, a.len, b.p, b.len, &o, &patch, &plen, &st), OTA_OK);
    REQUIRE(patch);
    CHECK_EQ(patch[4], OTA_DELTA_VERSION);
    CHECK_EQ(st.zskipped, 2);
    CHECK_EQ(st.ztokens, 0);
    CHECK_EQ(ota_delta_apply_buffer(ota_crypto_openssl(), a.p, a.len, patch, plen, 0, &out,
                                    &out_len, NULL),
             OTA_OK);
    CHECK(out_len == b.len && memcmp(out, b.p, b.len) == 0);
    free(out);
    free(patch);
    free(a.p);
    free(b.p);
}

static void test_no_port_refused(void)
{
    struct pair p;
    make_pair(&p, 3, 5000, 0, 1);
    REQUIRE(p.patch);
    struct fx_sink s;
    struct ota_diag d;
    memset(&d, 0, sizeof d);
    CHECK_EQ(apply_port(&p, p.patch, p.patch_len, NULL, 0, &s, &d), OTA_ERR_UNSUPPORTED);
    CHECK_EQ(s.calls, 0);
    CHECK(d.field && strstr(d.field, "no deflate port"));
    CHECK(d.has_values && d.expected == 1 && d.found == 2 && p.patch[4] == 2);
    free(s.buf);
    {
        struct pair t; /* a version 3 patch names its own version */
        make_pair(&t, 4, 20000, 1, 1);
        REQUIRE(t.patch && t.patch[4] == OTA_DELTA_VERSION_TOKENS);
        memset(&d, 0, sizeof d);
        CHECK_EQ(apply_port(&t, t.patch, t.patch_len, NULL, 0, &s, &d), OTA_ERR_UNSUPPORTED);
        CHECK_EQ(s.calls, 0);
        CHECK(d.has_values && d.found == OTA_DELTA_VERSION_TOKENS);
        free(s.buf);
        free_pair(&t);
    }
    /* a port missing its work buffer is a configuration error */
    struct ota_deflate_port *port = ota_deflate_zlib_new();
    REQUIRE(port);
    struct ota_deflate_port bad = *port;
    bad.work_len = OTA_DEFLATE_WORK_MIN - 1u;
    CHECK_EQ(apply_port(&p, p.patch, p.patch_len, &bad, 0, &s, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(s.calls, 0);
    free(s.buf);
    /* a span table too small for the patch's streams */
    bad = *port;
    bad.span_cap = 5;
    CHECK_EQ(apply_port(&p, p.patch, p.patch_len, &bad, 0, &s, NULL), OTA_ERR_TOO_LARGE);
    CHECK_EQ(s.calls, 0);
    free(s.buf);
    ota_deflate_zlib_free(port);
    free_pair(&p);
}

/* Section field refusals: each edit gives its error and writes nothing. */
static void test_section_refusals(void)
{
    struct pair p;
    make_pair(&p, 3, 5000, 0, 1);
    REQUIRE(p.patch);
    const uint8_t *sec = p.patch + OTA_DELTA_HEADER_SIZE;
    uint32_t nold = ota_le_get32(sec + 4), nnew = ota_le_get32(sec + 8);
    REQUIRE(nold == 3 && nnew == 3);
    size_t o0 = OTA_DELTA_HEADER_SIZE + 12u;        /* first old entry */
    size_t n0 = o0 + 12u * nold;                    /* first new entry */
    struct {
        size_t off;
        uint32_t val;
        int width;
        ota_err want;
        const char *what;
    } cases[] = {
        {OTA_DELTA_HEADER_SIZE, 13, 4, OTA_ERR_DELTA_CORRUPT, "sec_len"},
        {OTA_DELTA_HEADER_SIZE + 4, 2, 4, OTA_ERR_DELTA_CORRUPT, "sec_len"},
        {OTA_DELTA_HEADER_SIZE + 4, 0x40000000u, 4, OTA_ERR_DELTA_CORRUPT, "sec_len"},
        {o0 + 12, 0, 4, OTA_ERR_DELTA_CORRUPT, "stream offset"},     /* 2nd before 1st */
        {o0 + 4, 0, 4, OTA_ERR_DELTA_CORRUPT, "stream length"},      /* clen 0 */
        {o0 + 8, 0, 4, OTA_ERR_DELTA_CORRUPT, "stream length"},      /* rlen 0 */
        {o0 + 4, 0x7FFFFFFFu, 4, OTA_ERR_DELTA_CORRUPT, "stream"},   /* past the image */
        {n0 + 12, 10, 1, OTA_ERR_DELTA_CORRUPT, "zlib parameters"},  /* level 10 */
        {n0 + 13, 8, 1, OTA_ERR_DELTA_CORRUPT, "zlib parameters"},   /* wbits 8 */
        {n0 + 14, 0, 1, OTA_ERR_DELTA_CORRUPT, "zlib parameters"},   /* memLevel 0 */
        {n0 + 15, 5, 1, OTA_ERR_DELTA_CORRUPT, "zlib parameters"},   /* strategy 5 */
        {n0 + 8, 0xFFFFFFF0u, 4, OTA_ERR_DELTA_CORRUPT, "expanded size"},
    };
    struct ota_deflate_port *port = ota_deflate_zlib_new();
    REQUIRE(port);
    uint8_t *bad = malloc(p.patch_len);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(bad, p.patch, p.patch_len);
        if (cases[i].width == 4)
            ota_le_put32(bad + cases[i].off, cases[i].val);
        else
            bad[cases[i].off] = (uint8_t)cases[i].val;
        struct fx_sink s;
        struct ota_diag d;
        memset(&d, 0, sizeof d);
        ota_err e = apply_port(&p, bad, p.patch_len, port, 0, &s, &d);
        CHECK_EQ(e, cases[i].want);
        CHECK_EQ(s.calls, 0);
        CHECK(d.field && strstr(d.field, cases[i].what));
        if (e != cases[i].want || !d.field || !strstr(d.field, cases[i].what))
            fprintf(stderr, "     case %zu: %s (%s)\n", i, d.field ? d.field : "-",
                    ota_errname(e));
        free(s.buf);
    }
    /* truncated inside the section, at every length */
    size_t sec_end = OTA_DELTA_HEADER_SIZE + ota_le_get32(sec);
    for (size_t cut = OTA_DELTA_HEADER_SIZE; cut < sec_end; cut++) {
        struct fx_sink s;
        ota_err e = apply_port(&p, p.patch, cut, port, 3, &s, NULL);
        CHECK_EQ(e, OTA_ERR_DELTA_TRUNCATED);
        CHECK_EQ(s.calls, 0);
        free(s.buf);
    }
    /* wrong parameters recorded for a new stream (level 9 -> 1 etc.): the
     * re-compressed bytes differ; caught, never a wrong image accepted */
    for (uint32_t k = 0; k < nnew; k++) {
        memcpy(bad, p.patch, p.patch_len);
        size_t at = n0 + 16u * k + 12u;
        bad[at] = bad[at] == 1 ? 9 : 1;
        struct fx_sink s;
        struct ota_diag d;
        memset(&d, 0, sizeof d);
        ota_err e = apply_port(&p, bad, p.patch_len, port, 0, &s, &d);
        CHECK_EQ(e, OTA_ERR_DELTA_RESULT_MISMATCH);
        free(s.buf);
    }
    /* an old stream pointed one byte off: not deflate there (or another
     * stream): refused as corrupt or as the wrong result */
    for (uint32_t k = 0; k < nold; k++) {
        memcpy(bad, p.patch, p.patch_len);
        size_t at = o0 + 12u * k;
        ota_le_put32(bad + at, ota_le_get32(bad + at) + 1u);
        struct fx_sink s;
        ota_err e = apply_port(&p, bad, p.patch_len, port, 0, &s, NULL);
        CHECK(e == OTA_ERR_DELTA_CORRUPT || e == OTA_ERR_DELTA_RESULT_MISMATCH);
        free(s.buf);
    }
    free(bad);
    ota_deflate_zlib_free(port);
    free_pair(&p);
}

/* Every byte of the section and stream flipped: refused or right, never
 * a crash or a wrong image accepted (ASan build). */
static void test_bitflips(void)
{
    struct pair p;
    make_pair(&p, 3, 3000, 0, 1);
    REQUIRE(p.patch);
    struct ota_deflate_port *port = ota_deflate_zlib_new();
    REQUIRE(port);
    uint8_t *bad = malloc(p.patch_len);
    unsigned refused = 0, right = 0;
    for (size_t i = OTA_DELTA_HEADER_SIZE; i < p.patch_len; i += 3) {
        memcpy(bad, p.patch, p.patch_len);
        bad[i] ^= (uint8_t)(1u << (i % 8u));
        struct fx_sink s;
        ota_err e = apply_port(&p, bad, p.patch_len, port, 0, &s, NULL);
        if (e == OTA_OK) {
            CHECK(s.len == p.new_len && memcmp(s.buf, p.new_, p.new_len) == 0);
            right++;
        } else {
            refused++;
        }
        free(s.buf);
    }
    printf("     %u flipped patches refused, %u decoded to the right image\n", refused, right);
    CHECK(refused > 0);
    free(bad);
    ota_deflate_zlib_free(port);
    free_pair(&p);
}

/*
 * The memory of the deflate mode: the applier state, the zlib port's own
 * block (span table + work buffer) and what zlib allocates at most: raw
 * inflate 32 KiB window + ~7 KiB state; raw deflate 2^(wbits+2) +
 * 2^(memLevel+9) + ~6 KiB (zlib.h's formula), at most 128 + 256 + 6 KiB for
 * wbits 15, memLevel 9: ZLIB_HEAP_BOUND; with the rest, at most 1 MiB.
 */
#define ZLIB_HEAP_BOUND (32u * 1024u + 8u * 1024u + 128u * 1024u + 256u * 1024u + 8u * 1024u)

static void test_memory_bound(void)
{
    struct pair p;
    make_pair(&p, 6, 60000, 0, 1);
    REQUIRE(p.patch);
    struct ota_deflate_port *port = ota_deflate_zlib_new();
    REQUIRE(port);
    struct fx_sink s;
    CHECK_EQ(apply_port(&p, p.patch, p.patch_len, port, 0, &s, NULL), OTA_OK);
    CHECK(s.len == p.new_len && memcmp(s.buf, p.new_, p.new_len) == 0);
    free(s.buf);
    size_t peak_apply = ota_deflate_zlib_peak(port);
    /* the worst parameters a patch may record (level 9, window 15,
     * memLevel 9) with an inflate open at the same time */
    const struct ota_deflate_params worst = {9, 15, 9, 0};
    CHECK_EQ(port->inflate_reset(port->ctx), OTA_OK);
    CHECK_EQ(port->deflate_reset(port->ctx, &worst), OTA_OK);
    uint8_t *t = zx_text(200000, 77), out[4096];
    size_t fed = 0;
    int end = 0;
    while (!end) {
        size_t il = 200000 - fed, ol = sizeof out;
        CHECK_EQ(port->deflate(port->ctx, t + fed, &il, 1, out, &ol, &end), OTA_OK);
        fed += il;
    }
    free(t);
    size_t peak = ota_deflate_zlib_peak(port);
    /* span table, work buffer, token codec state (version 3) */
    size_t own = sizeof(struct ota_delta_zspan) * OTA_DEFLATE_ZLIB_SPANS + OTA_DEFLATE_ZLIB_WORK +
                 sizeof(struct ota_dtok);
    size_t total = sizeof(struct ota_delta_apply) + own + peak;
    printf("     deflate mode memory: applier state %zu + port tables %zu + zlib peak %zu "
           "(this patch: %zu) = %zu bytes (zlib bound %u, total bound 1 MiB)\n",
           sizeof(struct ota_delta_apply), own, peak, peak_apply, total, ZLIB_HEAP_BOUND);
    CHECK(peak_apply > 32u * 1024u && peak_apply <= peak);
    CHECK(peak > 128u * 1024u + 256u * 1024u); /* really measured the worst case */
    CHECK(peak <= ZLIB_HEAP_BOUND);
    CHECK(total <= 1024u * 1024u);
    ota_deflate_zlib_free(port);
    free_pair(&p);
}

/* Identical images with compressed content; old streams only; empty new. */
static void test_edges(void)
{
    size_t l1, l2;
    int lv[] = {6};
    uint8_t *a = zx_archive(0, 3, 4000, lv, 1, 0, &l1);
    uint8_t *b = zx_archive(1, 3, 4000, lv, 1, 0, &l2);
    const struct {
        const uint8_t *o, *n;
        size_t ol, nl;
    } cases[] = {{a, a, l1, l1}, {a, (const uint8_t *)"plain", l1, 5}, {a, NULL, l1, 0},
                 {(const uint8_t *)"plain", b, 5, l2}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *patch = NULL, *out = NULL;
        size_t plen = 0, out_len = 0;
        struct ota_delta_create_opts o = {.deflate = 1};
        CHECK_EQ(ota_delta_create_ex(cases[i].o, cases[i].ol, cases[i].n, cases[i].nl, &o,
                                     &patch, &plen, NULL),
                 OTA_OK);
        REQUIRE(patch);
        CHECK_EQ(ota_delta_apply_buffer(ota_crypto_openssl(), cases[i].o, cases[i].ol, patch,
                                        plen, 5, &out, &out_len, NULL),
                 OTA_OK);
        CHECK(out_len == cases[i].nl && (!out_len || memcmp(out, cases[i].n, out_len) == 0));
        free(out);
        free(patch);
    }
    free(a);
    free(b);
}

/* ---- suspend / resume of version 2 and 3 patches ------------------------ */

struct rs_ctx {
    struct ota_delta_apply_cfg cfg;
    struct ota_reader r;
    struct ota_mem_reader mr;
    struct fx_sink sink;
    struct ota_deflate_port *port;
    struct ota_diag diag;
};

static void rs_init(struct rs_ctx *c, const struct pair *p)
{
    memset(c, 0, sizeof(*c));
    ota_reader_from_mem(&c->r, &c->mr, p->old, (uint32_t)p->old_len);
    c->sink.buf = malloc(p->new_len + 1);
    c->sink.cap = p->new_len;
    c->port = ota_deflate_zlib_new();
    c->cfg.crypto = ota_crypto_mbedtls();
    c->cfg.old = &c->r;
    c->cfg.write = fx_sink_write;
    c->cfg.write_ctx = &c->sink;
    c->cfg.diag = &c->diag;
    c->cfg.deflate = c->port;
}

static void rs_free(struct rs_ctx *c)
{
    free(c->sink.buf);
    ota_deflate_zlib_free(c->port);
}

/*
 * Feed the patch in chunks of `chunk` bytes; at every boundary try a
 * suspend. Every `step`-th snapshot taken is resumed in a fresh applier
 * with a fresh port (the stream table put back, the new image's bytes so
 * far copied, as the slot keeps them) and must give exactly the new image.
 * Refusals inside a new stream must name it. Returns snapshots resumed;
 * *mid_old: of them, taken while an old stream's cursor stood inside it.
 */
/* Feed n bytes: with part, through ota_delta_apply_feed_part (which may
 * take fewer: *took says how many). */
static ota_err rs_feed(struct ota_delta_apply *st, const uint8_t *d, size_t n, int part,
                       size_t *took)
{
    *took = n;
    return part ? ota_delta_apply_feed_part(st, d, n, took) : ota_delta_apply_feed(st, d, n);
}

/* part: fed through ota_delta_apply_feed_part, which also stops inside a
 * chunk where a new stream starts (each stop a boundary tried; the resumed
 * applier is fed the same way). *at_start: snapshots taken exactly where a
 * new stream starts with bytes of the image still to come. */
static unsigned resume_everywhere(const struct pair *p, size_t chunk, unsigned step, int part,
                                  unsigned *mid_old, unsigned *refused, unsigned *at_start)
{
    static struct ota_delta_apply a, b, snap;
    struct rs_ctx ca, cb;
    rs_init(&ca, p);
    unsigned taken = 0, resumed = 0;
    *mid_old = *refused = *at_start = 0;
    ota_err ea = ota_delta_apply_init(&a, &ca.cfg);
    CHECK_EQ(ea, OTA_OK);
    for (size_t off = 0, end = 0; ea == OTA_OK && off < p->patch_len;) {
        if (off == end)
            end = p->patch_len - off < chunk ? p->patch_len : off + chunk;
        size_t took = 0;
        ea = rs_feed(&a, p->patch + off, end - off, part, &took);
        CHECK_EQ(ea, OTA_OK);
        CHECK(took <= end - off);
        off += took;
        memset(&ca.diag, 0, sizeof ca.diag);
        ota_err e = ota_delta_apply_suspend(&a, &snap);
        if (e != OTA_OK) {
            CHECK_EQ(e, OTA_ERR_UNSUPPORTED);
            if (a.written > 0) { /* in the stream: only inside a new deflate stream */
                CHECK(ca.diag.field && strstr(ca.diag.field, "inside a new deflate stream"));
                (*refused)++;
            }
            continue;
        }
        for (uint32_t k = snap.z_new; k < snap.z_nnew; k++)
            *at_start += ca.port->spans[snap.z_nold + k].xoff == snap.written;
        if (taken++ % step)
            continue;
        /* a fresh process: new applier, new port, table restored */
        rs_init(&cb, p);
        uint32_t nspans = snap.z_nold + snap.z_nnew;
        memcpy(cb.port->spans, ca.port->spans, nspans * sizeof(*cb.port->spans));
        memcpy(cb.sink.buf, ca.sink.buf, ca.sink.len);
        cb.sink.len = ca.sink.len;
        CHECK_EQ(snap.real_written, ca.sink.len);
        if (snap.z_cur != 0 && snap.z_raw < ca.port->spans[snap.z_cur - 1u].rlen)
            (*mid_old)++;
        ota_err r = ota_delta_apply_resume(&b, &cb.cfg, &snap);
        CHECK_EQ(r, OTA_OK);
        for (size_t o2 = snap.in_total; r == OTA_OK && o2 < p->patch_len;) {
            size_t m = p->patch_len - o2 < chunk ? p->patch_len - o2 : chunk, t2 = 0;
            r = rs_feed(&b, p->patch + o2, m, part, &t2);
            o2 += t2;
        }
        if (r == OTA_OK)
            r = ota_delta_apply_finish(&b);
        CHECK_EQ(r, OTA_OK);
        CHECK(cb.sink.len == p->new_len && memcmp(cb.sink.buf, p->new_, p->new_len) == 0);
        if (nspans > snap.z_nold) {
            /* a restored table that does not match the snapshot is refused */
            cb.port->spans[snap.z_nold].rlen++;
            CHECK_EQ(ota_delta_apply_resume(&b, &cb.cfg, &snap), OTA_ERR_INVALID_ARG);
            cb.port->spans[snap.z_nold].rlen--;
            snap.real_written++;
            CHECK_EQ(ota_delta_apply_resume(&b, &cb.cfg, &snap), OTA_ERR_INVALID_ARG);
            snap.real_written--;
        }
        rs_free(&cb);
        resumed++;
    }
    CHECK_EQ(ota_delta_apply_finish(&a), OTA_OK);
    CHECK(ca.sink.len == p->new_len && memcmp(ca.sink.buf, p->new_, p->new_len) == 0);
    rs_free(&ca);
    return resumed;
}

/* An ext4-like image: gzip members between blocks of plain bytes that
 * change between releases (random: coded as literals). */
static uint8_t *rs_image(int release, int unrepro, size_t *len)
{
    struct zx_buf b = {0};
    for (int f = 0; f < 5; f++) {
        uint8_t plain[1500];
        for (size_t i = 0; i < sizeof plain; i++)
            plain[i] = (uint8_t)((i * 131u + (unsigned)f * 7u) >> 3);
        for (size_t i = (size_t)release * 700u; i < (size_t)release * 700u + 300u; i++)
            plain[i] = (uint8_t)(fx_rand() >> 3);
        zx_put(&b, plain, sizeof plain);
        uint8_t *t = zx_text(6000, 1000u + (uint64_t)f);
        if (release)
            zx_evolve(t, 6000, 2000u + (uint64_t)f);
        zx_gzip(&b, t, 6000, 6, 8, Z_DEFAULT_STRATEGY, unrepro && f == 4 ? 1500 : 0);
        free(t);
    }
    *len = b.len;
    return b.p;
}

static void test_suspend_resume(void)
{
    /* version 2 (zlib streams) and 3 (one stream each side in token form) */
    for (int unrepro = 0; unrepro <= 1; unrepro++) {
        struct pair p;
        memset(&p, 0, sizeof p);
        p.old = rs_image(0, unrepro, &p.old_len);
        p.new_ = rs_image(1, unrepro, &p.new_len);
        struct ota_delta_create_opts o = {.deflate = 1};
        CHECK_EQ(ota_delta_create_ex(p.old, p.old_len, p.new_, p.new_len, &o, &p.patch,
                                     &p.patch_len, &p.st),
                 OTA_OK);
        REQUIRE(p.patch);
        CHECK_EQ(p.patch[4], unrepro ? OTA_DELTA_VERSION_TOKENS : OTA_DELTA_VERSION_DEFLATE);
        unsigned mid_old = 0, refused = 0, at_start = 0;
        unsigned n = resume_everywhere(&p, 7, 1, 0, &mid_old, &refused, &at_start);
        printf("  version %u: %zu patch bytes, %u resumed (%u inside an old stream), %u refused\n",
               p.patch[4], p.patch_len, n, mid_old, refused);
        CHECK(n >= 5);
        CHECK(refused > 0);   /* feed boundaries inside new streams exist */
        CHECK(mid_old > 0);   /* and ones where the old cursor must restart */
        free_pair(&p);
    }
}

/* A squashfs-like image: a 96-byte superblock, then data blocks that are
 * each a zlib stream, back to back (mksquashfs with gzip), then a table.
 * Between releases every block changes a little (in its random tail, coded
 * as literals: the patch's bytes lie inside new streams). */
static uint8_t *sq_image(int release, size_t *len)
{
    struct zx_buf b = {0};
    uint8_t head[96];
    for (size_t i = 0; i < sizeof head; i++)
        head[i] = (uint8_t)(i * 7u + (unsigned)release);
    zx_put(&b, head, sizeof head);
    for (int k = 0; k < 10; k++) {
        uint8_t *t = zx_text(3000, 500u + (uint64_t)k);
        fx_seed(900u + (uint64_t)k * 2u + (uint64_t)release);
        for (size_t i = 2600; i < 3000; i++)
            t[i] = (uint8_t)fx_rand();
        zx_zlib(&b, t, 3000, 9, 15, Z_DEFAULT_STRATEGY);
        free(t);
    }
    zx_put(&b, head, 40);
    *len = b.len;
    return b.p;
}

/*
 * Streams back to back: fed in writes, suspend is almost never allowed at
 * a write's end; ota_delta_apply_feed_part stops where each new stream
 * starts, and every such stop resumes (fresh applier, fresh port) to the
 * exact image.
 */
static void test_feed_part_resume(void)
{
    struct pair p;
    memset(&p, 0, sizeof p);
    p.old = sq_image(0, &p.old_len);
    p.new_ = sq_image(1, &p.new_len);
    struct ota_delta_create_opts o = {.deflate = 1};
    CHECK_EQ(ota_delta_create_ex(p.old, p.old_len, p.new_, p.new_len, &o, &p.patch,
                                 &p.patch_len, &p.st),
             OTA_OK);
    REQUIRE(p.patch);
    CHECK_EQ(p.patch[4], OTA_DELTA_VERSION_DEFLATE);
    CHECK_EQ(p.st.znew, 10u);
    for (size_t chunk = 61; chunk <= 4096; chunk *= 4) {
        unsigned mid_old = 0, refused = 0, feed_start = 0, part_start = 0;
        unsigned nf = resume_everywhere(&p, chunk, 1, 0, &mid_old, &refused, &feed_start);
        unsigned np = resume_everywhere(&p, chunk, 1, 1, &mid_old, &refused, &part_start);
        printf("  %zu-byte writes, %zu patch bytes: %u resumed with feed (%u at a stream start), "
               "%u with feed_part (%u at a stream start)\n",
               chunk, p.patch_len, nf, feed_start, np, part_start);
        /* every new stream starts at a stop */
        CHECK(part_start >= 10u);
        CHECK(np > nf);
    }
    /* version 1 and an applier never stopped: feed_part is feed */
    struct rs_ctx c;
    static struct ota_delta_apply st;
    rs_init(&c, &p);
    size_t took = 1;
    CHECK_EQ(ota_delta_apply_feed_part(NULL, p.patch, 1, &took), OTA_ERR_INVALID_ARG);
    CHECK_EQ(took, 0u);
    CHECK_EQ(ota_delta_apply_init(&st, &c.cfg), OTA_OK);
    CHECK_EQ(ota_delta_apply_feed_part(&st, p.patch, 1, NULL), OTA_ERR_INVALID_ARG);
    rs_free(&c);
    free_pair(&p);
}

int main(void)
{
    RUN(test_roundtrip_levels);
    RUN(test_unreproducible_falls_back);
    RUN(test_no_port_refused);
    RUN(test_section_refusals);
    RUN(test_bitflips);
    RUN(test_memory_bound);
    RUN(test_edges);
    RUN(test_suspend_resume);
    RUN(test_feed_part_resume);
    return test_summary();
}
