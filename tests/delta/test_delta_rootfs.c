// SPDX-License-Identifier: Apache-2.0
/*
 * tests/delta/test_delta_rootfs.c - delta patches of whole root filesystem
 * images (docs/delta-format.md#large-images-and-resuming): the creator's
 * hash index (round trips on a synthetic block filesystem, beside the
 * suffix array it replaces for large images), and the applier's suspend /
 * resume (a "power cut" at random points of a streamed apply, the bytes
 * written after the snapshot lost, continued from the snapshot: the exact
 * image), hostile snapshots refused, and the memory bound of this mode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"
#include "ota/host.h"
#include "ota/update.h"
#include "../test.h"
#include "delta_fixture.h"

#define BLK 4096u

/* A filesystem-like image: files of random bytes in 4 KiB blocks, zero
 * blocks between them, a table of "inodes" (file offsets) at the start. */
struct fsimg {
    uint8_t *b;
    size_t len;
};

static void fs_make(struct fsimg *im, size_t blocks, uint64_t seed, int release)
{
    im->len = blocks * BLK;
    im->b = calloc(1, im->len);
    fx_seed(seed);
    size_t blk = 4;
    unsigned file = 0;
    while (blk < blocks) {
        size_t nb = 1 + fx_rand() % 24u;
        if (blk + nb > blocks)
            nb = blocks - blk;
        uint32_t fseed = fx_rand();
        uint32_t kind = fx_rand() % 16u;
        /* release 1: some files changed (a few bytes), some moved one block
         * later, one in 16 replaced */
        size_t at = blk;
        if (release && kind == 1 && at + nb + 1 <= blocks)
            at++;
        uint64_t save = fx_rng_state;
        fx_seed(release && kind == 2 ? fseed ^ 0xABCDu : fseed);
        for (size_t i = 0; i < nb * BLK && at * BLK + i < im->len; i++)
            im->b[at * BLK + i] = (uint8_t)fx_rand();
        fx_rng_state = save;
        if (release && kind == 3) /* a few bytes changed (offsets from fseed) */
            for (uint32_t k = 0; k < 6u; k++)
                im->b[at * BLK + (fseed * (k + 1u) * 2654435761u) % (nb * BLK)] ^= 0x5Au;
        uint32_t ino = (uint32_t)(at * BLK);
        if (file < BLK) {
            memcpy(im->b + 8u * file, &ino, 4);
            file++;
        }
        blk += nb + fx_rand() % 3u;
    }
}

static uint8_t *create(const struct fsimg *o, const struct fsimg *n, int index, size_t *len,
                       struct ota_delta_stats *st)
{
    uint8_t *p = NULL;
    struct ota_delta_create_opts opts = {.index = index};
    ota_err e = ota_delta_create_ex(o->b, o->len, n->b, n->len, &opts, &p, len, st);
    if (e != OTA_OK)
        fprintf(stderr, "create: %s\n", ota_strerror(e));
    return p;
}

/* The hash index finds what the suffix array finds on block images. */
static void test_hash_index_roundtrip(void)
{
    struct fsimg o, n;
    fs_make(&o, 1536, 7, 0); /* 6 MiB */
    fs_make(&n, 1536, 7, 1);
    size_t lh = 0, ls = 0;
    struct ota_delta_stats sh, ss;
    uint8_t *ph = create(&o, &n, OTA_DELTA_INDEX_HASH, &lh, &sh);
    uint8_t *ps = create(&o, &n, OTA_DELTA_INDEX_SA, &ls, &ss);
    uint8_t *pa = NULL;
    size_t la = 0;
    REQUIRE(ph && ps);
    CHECK_EQ(sh.index, OTA_DELTA_INDEX_HASH);
    CHECK_EQ(ss.index, OTA_DELTA_INDEX_SA);
    CHECK_EQ(sh.filter, OTA_DELTA_FILTER_NONE);
    CHECK_EQ(sh.flags, 0); /* no predictors with the hash index */
    /* below OTA_DELTA_HASH_MIN, auto is the suffix array: the same patch */
    pa = create(&o, &n, OTA_DELTA_INDEX_AUTO, &la, NULL);
    REQUIRE(pa);
    CHECK(la == ls && memcmp(pa, ps, la) == 0);
    printf("     6 MiB block image: hash index %zu bytes, suffix array %zu bytes\n", lh, ls);
    CHECK(lh < n.len / 8);       /* found the unchanged and moved files */
    CHECK(lh <= ls + ls / 4 + 1024u);
    for (int k = 0; k < 2; k++) {
        struct fx_sink s = {malloc(n.len), n.len, 0, 0, 0, OTA_OK, 0};
        CHECK_EQ(fx_apply(ota_crypto_openssl(), o.b, o.len, k ? ps : ph, k ? ls : lh, 0, &s,
                          NULL),
                 OTA_OK);
        CHECK(s.len == n.len && memcmp(s.buf, n.b, n.len) == 0);
        free(s.buf);
    }
    free(ph);
    free(ps);
    free(pa);
    /* images shorter than a hash window, identical and empty ones */
    const uint8_t tiny[] = "short", other[] = "shorter!";
    struct fsimg t1 = {(uint8_t *)tiny, 5}, t2 = {(uint8_t *)other, 8}, e0 = {NULL, 0};
    struct fsimg *cases[][2] = {{&t1, &t2}, {&o, &o}, {&e0, &n}, {&o, &e0}, {&t2, &o}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t l = 0;
        uint8_t *p = create(cases[i][0], cases[i][1], OTA_DELTA_INDEX_HASH, &l, NULL), *out = NULL;
        size_t ol = 0;
        REQUIRE(p);
        CHECK_EQ(ota_delta_apply_buffer(ota_crypto_openssl(), cases[i][0]->b, cases[i][0]->len, p,
                                        l, 4096, &out, &ol, NULL),
                 OTA_OK);
        CHECK(ol == cases[i][1]->len && (!ol || memcmp(out, cases[i][1]->b, ol) == 0));
        free(out);
        free(p);
    }
    free(o.b);
    free(n.b);
}

struct resumable {
    struct ota_delta_apply st, snap;
    struct ota_mem_reader mr;
    struct ota_reader r;
    struct ota_delta_apply_cfg cfg;
};

/* Apply with power cuts: at random feed boundaries a snapshot is taken;
 * later the state is lost (overwritten), the output written since the
 * snapshot is dropped, and the apply continues from the snapshot with the
 * patch bytes after snap.in_total. Returns the number of resumes. */
static int apply_with_cuts(struct resumable *x, const struct fsimg *o, const uint8_t *patch,
                           size_t plen, struct fx_sink *s, uint64_t seed)
{
    ota_reader_from_mem(&x->r, &x->mr, o->b, (uint32_t)o->len);
    memset(&x->cfg, 0, sizeof x->cfg);
    x->cfg.crypto = ota_crypto_mbedtls();
    x->cfg.old = &x->r;
    x->cfg.write = fx_sink_write;
    x->cfg.write_ctx = s;
    fx_seed(seed);
    CHECK_EQ(ota_delta_apply_init(&x->st, &x->cfg), OTA_OK);
    int have = 0, resumes = 0;
    size_t off = 0;
    while (off < plen) {
        size_t k = 1u + fx_rand() % 3000u;
        if (k > plen - off)
            k = plen - off;
        ota_err fe = ota_delta_apply_feed(&x->st, patch + off, k);
        CHECK_EQ(fe, OTA_OK);
        if (fe != OTA_OK)
            return resumes;
        off += k;
        uint32_t r = fx_rand() % 16u;
        if (r == 0) {
            ota_err e = ota_delta_apply_suspend(&x->st, &x->snap);
            /* refused only before the stream (the header is 88 bytes) */
            CHECK(e == OTA_OK || (e == OTA_ERR_UNSUPPORTED && x->st.in_total <= 88u));
            have = e == OTA_OK;
        } else if (r == 1 && have && resumes < 40) {
            memset(&x->st, 0xA5, sizeof x->st); /* the RAM is gone */
            CHECK(x->snap.written <= s->len);
            s->len = x->snap.written; /* written after the snapshot: lost */
            struct ota_diag d;
            memset(&d, 0, sizeof d);
            x->cfg.diag = &d;
            ota_err re = ota_delta_apply_resume(&x->st, &x->cfg, &x->snap);
            x->cfg.diag = NULL;
            if (re != OTA_OK) {
                fprintf(stderr, "resume refused: %s (%s)\n", ota_strerror(re),
                        d.field ? d.field : "-");
                CHECK(0);
                return resumes;
            }
            off = x->snap.in_total;
            resumes++;
        }
    }
    CHECK_EQ(ota_delta_apply_finish(&x->st), OTA_OK);
    return resumes;
}

/* Both releases of a block image and the hash-index patch between them. */
static uint8_t *release_pair(size_t blocks, uint64_t seed, struct fsimg *o, struct fsimg *n,
                             size_t *plen)
{
    fs_make(o, blocks, seed, 0);
    fs_make(n, blocks, seed, 1);
    return create(o, n, OTA_DELTA_INDEX_HASH, plen, NULL);
}

static void test_suspend_resume(void)
{
    struct fsimg o, n;
    size_t plen = 0;
    uint8_t *patch = release_pair(1024, 11, &o, &n, &plen);
    REQUIRE(patch);
    static struct resumable x;
    int total = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        struct fx_sink s = {malloc(n.len), n.len, 0, 0, 0, OTA_OK, 0};
        total += apply_with_cuts(&x, &o, patch, plen, &s, seed);
        CHECK(s.len == n.len && memcmp(s.buf, n.b, n.len) == 0);
        CHECK(!s.order_violation);
        free(s.buf);
    }
    printf("     %d resumes over 6 applies of a %zu-byte patch\n", total, plen);
    CHECK(total >= 6);
    free(patch);
    free(o.b);
    free(n.b);
}

/* Every part of a snapshot that indexes a buffer or bounds a position is
 * checked; the suspended state of a refused one is never used. */
static void test_hostile_snapshots(void)
{
    struct fsimg o, n;
    size_t plen = 0;
    uint8_t *patch = release_pair(512, 3, &o, &n, &plen);
    REQUIRE(patch && plen > 400);
    static struct resumable x;
    static struct ota_delta_apply bad;
    struct fx_sink s = {malloc(n.len), n.len, 0, 0, 0, OTA_OK, 0};
    ota_reader_from_mem(&x.r, &x.mr, o.b, (uint32_t)o.len);
    memset(&x.cfg, 0, sizeof x.cfg);
    x.cfg.crypto = ota_crypto_openssl();
    x.cfg.old = &x.r;
    x.cfg.write = fx_sink_write;
    x.cfg.write_ctx = &s;
    REQUIRE(ota_delta_apply_init(&x.st, &x.cfg) == OTA_OK);
    CHECK_EQ(ota_delta_apply_suspend(&x.st, &x.snap), OTA_ERR_UNSUPPORTED); /* nothing yet */
    CHECK_EQ(ota_delta_apply_feed(&x.st, patch, 60), OTA_OK);
    CHECK_EQ(ota_delta_apply_suspend(&x.st, &x.snap), OTA_ERR_UNSUPPORTED); /* in the header */
    CHECK_EQ(ota_delta_apply_feed(&x.st, patch + 60, plen / 2 - 60), OTA_OK);
    REQUIRE(ota_delta_apply_suspend(&x.st, &x.snap) == OTA_OK);
    CHECK(x.snap.cfg.old == NULL && x.snap.cfg.write == NULL); /* no pointers kept */
    struct {
        const char *what;
        size_t off, size;
        uint32_t value;
    } cases[] = {
        {"input buffer", offsetof(struct ota_delta_apply, in_len), 4, OTA_DELTA_IN_BUF + 1},
        {"input buffer", offsetof(struct ota_delta_apply, in_pos), 4, 0xFFFFu},
        {"output buffer", offsetof(struct ota_delta_apply, out_len), 4, OTA_DELTA_OUT_BUF + 1},
        {"output buffer", offsetof(struct ota_delta_apply, pred_left), 1, 5},
        {"decoder state", offsetof(struct ota_delta_apply, op), 1, 200},
        {"decoder state", offsetof(struct ota_delta_apply, last_rep), 1, 2},
        {"old window", offsetof(struct ota_delta_apply, old_win_len), 4, OTA_DELTA_OLD_BUF + 17},
        {"old window", offsetof(struct ota_delta_apply, old_buf_base), 4, 0x7FFFFFFFu},
        {"maps", offsetof(struct ota_delta_apply, map_n), 4, OTA_DELTA_MAP_MAX + 1},
        {"maps", offsetof(struct ota_delta_apply, vmap_count), 4, OTA_DELTA_VMAP_MAX + 1},
        {"maps", offsetof(struct ota_delta_apply, code_count), 4, OTA_DELTA_CODE_MAX + 1},
        {"maps", offsetof(struct ota_delta_apply, code_n), 4, OTA_DELTA_CODE_MAX + 1},
        {"positions", offsetof(struct ota_delta_apply, new_pos), 4, 0x7FFFFFFFu},
        {"positions", offsetof(struct ota_delta_apply, old_pos), 4, 0x7FFFFFFFu},
        {"positions", offsetof(struct ota_delta_apply, written), 4, 0x7FFFFFFFu},
        {"positions", offsetof(struct ota_delta_apply, rc_consumed), 4, 0x7FFFFFFFu},
        {"phase", offsetof(struct ota_delta_apply, phase), 1, 0},
        {"phase", offsetof(struct ota_delta_apply, err), sizeof(ota_err), OTA_ERR_IO},
        {"header", offsetof(struct ota_delta_apply, hdr.version), 1, OTA_DELTA_VERSION_DEFLATE},
        {"header", offsetof(struct ota_delta_apply, hdr.filter), 1, 9},
        /* consistent with each other (fuzz/fuzz_delta_resume.c) */
        {"header", offsetof(struct ota_delta_apply, hdr_buf) + 12, 1, 0x77},
        {"range coder", offsetof(struct ota_delta_apply, rc_range), 4, 0},
        {"output count", offsetof(struct ota_delta_apply, real_written), 4, 1},
        {"input count", offsetof(struct ota_delta_apply, in_total), 4, 100},
    };
    struct ota_diag d;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&d, 0, sizeof d);
        x.cfg.diag = &d;
        bad = x.snap;
        if (cases[i].size == 1) {
            uint8_t v = (uint8_t)cases[i].value;
            memcpy((uint8_t *)&bad + cases[i].off, &v, 1);
        } else {
            memcpy((uint8_t *)&bad + cases[i].off, &cases[i].value, 4);
        }
        CHECK_EQ(ota_delta_apply_resume(&x.st, &x.cfg, &bad), OTA_ERR_INVALID_ARG);
        if (!d.field || strcmp(d.field, cases[i].what) != 0) {
            fprintf(stderr, "case %zu: field '%s', expected '%s'\n", i, d.field ? d.field : "-",
                    cases[i].what);
            CHECK(0);
        }
    }
    /* a slot smaller than the image, an old image shorter than the base */
    x.cfg.max_new_len = (uint32_t)n.len - 1u;
    CHECK_EQ(ota_delta_apply_resume(&x.st, &x.cfg, &x.snap), OTA_ERR_INVALID_ARG);
    CHECK(d.field && strcmp(d.field, "new size") == 0);
    x.cfg.max_new_len = 0;
    x.r.size = (uint32_t)o.len - 1u;
    CHECK_EQ(ota_delta_apply_resume(&x.st, &x.cfg, &x.snap), OTA_ERR_INVALID_ARG);
    CHECK(d.field && strcmp(d.field, "old image size") == 0);
    x.r.size = (uint32_t)o.len;
    /* the untouched snapshot still resumes to the right image */
    x.cfg.diag = NULL;
    s.len = x.snap.written;
    CHECK_EQ(ota_delta_apply_resume(&x.st, &x.cfg, &x.snap), OTA_OK);
    CHECK_EQ(ota_delta_apply_feed(&x.st, patch + x.snap.in_total, plen - x.snap.in_total),
             OTA_OK);
    CHECK_EQ(ota_delta_apply_finish(&x.st), OTA_OK);
    CHECK(s.len == n.len && memcmp(s.buf, n.b, n.len) == 0);
    free(s.buf);
    free(patch);
    free(o.b);
    free(n.b);
}

/*
 * The applier's memory in this mode: its state plus the snapshot a Linux
 * device keeps (struct ota_update_delta_state, which holds a suspended
 * applier), inside the update engine's state; no allocation, nothing that
 * depends on the image or patch size (the streamed `ota delta apply` of a
 * large image is measured by test_delta_rootfs_cli.py).
 */
static void test_memory_bound(void)
{
    size_t applier = sizeof(struct ota_delta_apply);
    size_t engine = sizeof(struct ota_update);
    size_t snap = sizeof(struct ota_update_delta_state);
    printf("     resumable delta mode: engine state %zu (applier %zu of it) + snapshot %zu = "
           "%zu bytes (bound 1 MiB)\n",
           engine, applier, snap, engine + snap);
    CHECK(engine > applier && snap > applier);
    CHECK(engine + snap <= 1024u * 1024u);
    CHECK(applier + snap <= 64u * 1024u);
}

int main(void)
{
    RUN(test_hash_index_roundtrip);
    RUN(test_suspend_resume);
    RUN(test_hostile_snapshots);
    RUN(test_memory_bound);
    return test_summary();
}
