// SPDX-License-Identifier: Apache-2.0
/*
 * delta_create.c - ota_delta_create(): the host entry point that turns an old
 * and a new image into a patch. Filters both images for each applicable
 * executable filter, matches, codes, and keeps the smallest result, so a
 * filter can never make a patch larger than the unfiltered one.
 */
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"
#include "delta_host.h"
#include "delta_internal.h"
#include "le.h"

/* Count candidate branch instructions, to skip filters that cannot pay. */
static size_t count_candidates(uint8_t filter, const uint8_t *img, size_t len)
{
    size_t n = 0;
    if (filter == OTA_DELTA_FILTER_THUMB) {
        for (size_t i = 0; i + 4 <= len; i += 2) {
            if ((img[i + 1] & 0xF8u) == 0xF0u && (img[i + 3] & 0xB8u) == 0xB8u) {
                n++;
                i += 2;
            }
        }
    } else if (filter == OTA_DELTA_FILTER_ARM) {
        for (size_t i = 0; i + 4 <= len; i += 4)
            n += img[i + 3] == 0xEBu;
    }
    return n;
}

/* Match once for this filter, then code with each useful predictor set and
 * keep the smallest stream in out (pr_out receives the chosen set). */
static ota_err encode_with(uint8_t filter, const uint8_t *old, uint32_t old_len,
                           const uint8_t *nw, uint32_t new_len, int hashed, unsigned model2,
                           struct dbuf *out, struct ota_delta_stats *st)
{
    uint8_t *fo = NULL, *fn = NULL;
    struct dctl_list ctl = {0};
    struct dpred *pr = NULL;
    ota_err err = OTA_OK;
    if (filter != OTA_DELTA_FILTER_NONE) {
        fo = malloc(old_len ? old_len : 1u);
        fn = malloc(new_len ? new_len : 1u);
        if (!fo || !fn) {
            err = OTA_ERR_NO_MEMORY;
            goto out;
        }
        memcpy(fo, old, old_len);
        memcpy(fn, nw, new_len);
        ota_delta_filter(filter, 0, fo, old_len, 0);
        ota_delta_filter(filter, 0, fn, new_len, 0);
        old = fo;
        nw = fn;
    }
    err = dmatch_run_idx(old, old_len, nw, new_len, 1, hashed, &ctl);
    if (err)
        goto out;
    pr = calloc(1, sizeof(*pr));
    if (!pr) {
        err = OTA_ERR_NO_MEMORY;
        goto out;
    }
    int have_base = 0;
    uint8_t best_flags = 0, best_opts = 0;
    /* Large images (hash index): only the predictors of the machine the
     * ELF files inside are for, none without ELF files; each candidate
     * scans all difference runs again (the 1 GiB ext4 root filesystem of
     * bench/delta/rootfs.sh, x86-64: RIP-relative operands pay, 8 % smaller
     * patch; trying every predictor took 272 s of a 311 s create). */
    uint16_t inside = hashed ? delf_embedded_machine(nw, new_len) : 0;
    if (filter == OTA_DELTA_FILTER_NONE && old_len && (!hashed || inside)) {
        dpred_build(old, old_len, nw, &ctl, pr, &have_base);
        if (!pr->elf_machine)
            pr->elf_machine = inside;
    }
    /* Coder model 2: literals by 3 bits of the previous byte for large
     * images; for the others, tried below on the best predictor set. */
    uint8_t copts = model2 ? (uint8_t)(OTA_DELTA_OPT_MODEL2 | (hashed ? OTA_DELTA_OPT_LIT3 : 0u))
                           : 0u;
    err = dencode_run(old, old_len, nw, new_len, &ctl, NULL, copts, out);
    /* Predictor sets: only with the unfiltered images and a non-empty map
     * (or a pointer base); the plain stream above is the fallback. */
    /* The predictors that each pay on their own, coded together; kept only
     * when that beats the plain coding above. */
    /* With the old image's code regions (ELF sections) too, when it has
     * them: each predictor set chosen and coded again with them. */
    for (uint8_t opts = 0; !err && opts <= (pr->code_n ? OTA_DELTA_OPT_CODE : 0u); opts++) {
        uint8_t sets[2] = {0, 0};
        pr->opts = opts;
        if (filter == OTA_DELTA_FILTER_NONE && (pr->n || have_base || pr->vn))
            sets[0] = dpred_useful(old, old_len, nw, &ctl, pr, have_base);
        /* The value map is a coarser guess: also try without it. */
        if (sets[0] & OTA_DELTA_PRED_VALUE)
            sets[1] = (uint8_t)(sets[0] & ~OTA_DELTA_PRED_VALUE);
        for (unsigned si = 0; !err && si < 2; si++) {
            uint8_t f = sets[si];
            if (!f)
                continue;
            struct dbuf cur = {0};
            pr->flags = f;
            err = dencode_run(old, old_len, nw, new_len, &ctl, pr, copts, &cur);
            if (!err && cur.len < out->len) {
                free(out->p);
                *out = cur;
                best_flags = f;
                best_opts = opts;
            } else {
                free(cur.p);
            }
        }
    }
    if (!err && model2 && !hashed) {
        struct dbuf cur = {0};
        pr->flags = best_flags;
        pr->opts = best_opts;
        err = dencode_run(old, old_len, nw, new_len, &ctl, best_flags ? pr : NULL,
                          (uint8_t)(copts | OTA_DELTA_OPT_LIT3), &cur);
        if (!err && cur.len < out->len) {
            free(out->p);
            *out = cur;
            copts |= OTA_DELTA_OPT_LIT3;
        } else {
            free(cur.p);
        }
    }
    if (err)
        goto out;
    if (st) {
        memset(st, 0, sizeof(*st));
        st->commands = (uint32_t)ctl.n;
        st->flags = best_flags;
        st->opts = (uint8_t)(best_opts | copts);
        st->code_regions = best_opts ? pr->code_n : 0;
        st->ptr_base = best_flags & OTA_DELTA_PRED_PTR ? pr->ptr_base : 0;
        st->map_entries = best_flags ? pr->n : 0;
        uint32_t np = 0;
        for (size_t i = 0; i < ctl.n; i++) {
            uint32_t op = ctl.v[i].old_start;
            for (uint32_t j = 0; j < ctl.v[i].diff_len; j++)
                st->diff_nonzero += old[op + j] != nw[np + j];
            np += ctl.v[i].diff_len + ctl.v[i].extra_len;
            st->diff_bytes += ctl.v[i].diff_len;
            st->extra_bytes += ctl.v[i].extra_len;
        }
    }
out:
    free(pr);
    free(ctl.v);
    free(fo);
    free(fn);
    return err;
}

/* The coded stream for old -> new_ (both as the stream sees them): every
 * applicable filter tried, the smallest kept. */
static ota_err make_stream(const uint8_t *old, size_t old_len, const uint8_t *new_,
                           size_t new_len, int hashed, unsigned model2, struct dbuf *best,
                           uint8_t *best_filter,
                           struct ota_delta_stats *best_st, size_t sizes[OTA_DELTA_FILTER_COUNT])
{
    struct ota_delta_stats cur_st;
    memset(best_st, 0, sizeof(*best_st));
    memset(best, 0, sizeof(*best));
    *best_filter = 0;
    for (uint8_t f = 0; f < OTA_DELTA_FILTER_COUNT; f++) {
        sizes[f] = 0;
        /* Filters are the fallback for when no predictor paid off (they
         * rewrite the same branches less precisely). */
        if (f != OTA_DELTA_FILTER_NONE &&
            (hashed || best_st->flags ||
             count_candidates(f, new_, new_len) < 16u + new_len / 4096u))
            continue;
        struct dbuf cur = {0};
        ota_err err = encode_with(f, old, (uint32_t)old_len, new_, (uint32_t)new_len, hashed,
                                  model2, &cur, &cur_st);
        if (err) {
            free(cur.p);
            free(best->p);
            best->p = NULL;
            return err;
        }
        sizes[f] = OTA_DELTA_HEADER_SIZE + cur.len;
        if (!best->p || cur.len < best->len) {
            free(best->p);
            *best = cur;
            *best_filter = f;
            *best_st = cur_st;
        } else {
            free(cur.p);
        }
    }
    return OTA_OK;
}

/* The deflate section (docs/delta-format.md#deflate-section) into sec. */
static ota_err make_section(const struct dz_image *xo, const struct dz_image *xn,
                            struct dbuf *sec)
{
    /* version 3 (any stream in token form): old entries carry parameters */
    unsigned eo = xo->tokens || xn->tokens ? 16u : 12u;
    uint64_t len = 12u + eo * (uint64_t)xo->n + 16u * (uint64_t)xn->n;
    if (len > 0x7FFFFFFFu)
        return OTA_ERR_TOO_LARGE;
    uint8_t b[16];
    ota_le_put32(b, (uint32_t)len);
    ota_le_put32(b + 4, (uint32_t)xo->n);
    ota_le_put32(b + 8, (uint32_t)xn->n);
    ota_err err = OTA_OK;
    for (unsigned k = 0; k < 12u && !err; k++)
        err = dbuf_put(sec, b[k]);
    for (int side = 0; side < 2 && !err; side++) {
        const struct dz_image *im = side ? xn : xo;
        for (size_t i = 0; i < im->n && !err; i++) {
            const struct dz_stream *z = &im->s[i];
            ota_le_put32(b, z->off);
            ota_le_put32(b + 4, z->clen);
            ota_le_put32(b + 8, z->rlen);
            b[12] = z->par.level;
            b[13] = z->par.wbits;
            b[14] = z->par.memlevel;
            b[15] = z->par.strategy;
            for (unsigned k = 0; k < (side ? 16u : eo) && !err; k++)
                err = dbuf_put(sec, b[k]);
        }
    }
    return err;
}

/* Expand img (deflate mode). Without streams the copy is dropped (the
 * image is its own expansion); with streams the caller's image is no longer
 * read: opts->release is told. */
static ota_err expand_one(const uint8_t *img, size_t len, int which,
                          const struct ota_delta_create_opts *opts, struct dz_image *x)
{
    ota_err err = dz_expand(img, (uint32_t)len, x);
    if (err)
        return err;
    if (!x->n) {
        free(x->x);
        x->x = NULL;
        x->xlen = len;
    } else if (opts->release) {
        opts->release(opts->release_ctx, which);
    }
    return OTA_OK;
}

ota_err ota_delta_create(const uint8_t *old, size_t old_len, const uint8_t *new_,
                         size_t new_len, uint8_t **patch, size_t *patch_len,
                         struct ota_delta_stats *stats)
{
    return ota_delta_create_ex(old, old_len, new_, new_len, NULL, patch, patch_len, stats);
}

ota_err ota_delta_create_ex(const uint8_t *old, size_t old_len, const uint8_t *new_,
                            size_t new_len, const struct ota_delta_create_opts *opts,
                            uint8_t **patch, size_t *patch_len, struct ota_delta_stats *stats)
{
    if (!patch || !patch_len || (!old && old_len) || (!new_ && new_len))
        return OTA_ERR_INVALID_ARG;
    *patch = NULL;
    *patch_len = 0;
    if (old_len > 0x7FFFFFFFu || new_len > 0x7FFFFFFFu)
        return OTA_ERR_TOO_LARGE;

    const struct ota_crypto *c = ota_crypto_openssl();
    int deflate = opts && opts->deflate;
    uint8_t hdr[OTA_DELTA_HEADER_SIZE];
    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, OTA_DELTA_MAGIC, 4);
    hdr[4] = OTA_DELTA_VERSION;
    ota_le_put32(hdr + 8, (uint32_t)old_len);
    ota_le_put32(hdr + 12, (uint32_t)new_len);
    /* Deflate mode: the stream is made between the expanded images. Each
     * image is hashed and expanded in turn, then released, so that at most
     * one of the caller's images is read beside the expanded ones. */
    struct dz_image xo, xn;
    memset(&xo, 0, sizeof xo);
    memset(&xn, 0, sizeof xn);
    struct dbuf sec = {0};
    ota_err err = ota_sha256(c, old, old_len, hdr + 24);
    if (!err && deflate)
        err = expand_one(old, old_len, 0, opts, &xo);
    if (!err)
        err = ota_sha256(c, new_, new_len, hdr + 56);
    if (!err && deflate)
        err = expand_one(new_, new_len, 1, opts, &xn);
    if (!err && (xo.n || xn.n)) {
        hdr[4] = xo.tokens || xn.tokens ? OTA_DELTA_VERSION_TOKENS : OTA_DELTA_VERSION_DEFLATE;
        err = make_section(&xo, &xn, &sec);
    }
    if (err)
        goto fail;
    /* An image without streams expands to itself: its own bytes are used */
    const uint8_t *so = xo.n ? xo.x : old, *sn = xn.n ? xn.x : new_;
    size_t sol = xo.n ? xo.xlen : old_len, snl = xn.n ? xn.xlen : new_len;

    struct ota_delta_stats best_st;
    struct dbuf best = {0};
    uint8_t best_filter = 0;
    size_t sizes[OTA_DELTA_FILTER_COUNT] = {0};
    /* Large images: the hash index instead of a suffix array, no filters
     * (ARM firmware's fallback; each one would match the images again). */
    int index = opts ? opts->index : OTA_DELTA_INDEX_AUTO;
    int hashed = index == OTA_DELTA_INDEX_HASH ||
                 (index == OTA_DELTA_INDEX_AUTO && sol >= OTA_DELTA_HASH_MIN);
    unsigned model2 = !opts || opts->model != OTA_DELTA_MODEL_1;
    err = make_stream(so, sol, sn, snl, hashed, model2, &best, &best_filter, &best_st, sizes);
    if (err)
        goto fail;
    if (best.len + sec.len > 0xFFFFFFFFu - OTA_DELTA_HEADER_SIZE) {
        free(best.p);
        err = OTA_ERR_TOO_LARGE;
        goto fail;
    }
    hdr[5] = best_filter;
    hdr[6] = best_st.flags;
    hdr[7] = best_st.opts;
    ota_le_put32(hdr + 20, best_st.ptr_base);
    ota_le_put32(hdr + 16, (uint32_t)best.len);
    size_t total = OTA_DELTA_HEADER_SIZE + sec.len + best.len;
    uint8_t *p = malloc(total);
    if (!p) {
        free(best.p);
        err = OTA_ERR_NO_MEMORY;
        goto fail;
    }
    memcpy(p, hdr, OTA_DELTA_HEADER_SIZE);
    if (sec.len)
        memcpy(p + OTA_DELTA_HEADER_SIZE, sec.p, sec.len);
    if (best.len)
        memcpy(p + OTA_DELTA_HEADER_SIZE + sec.len, best.p, best.len);
    free(best.p);
    *patch = p;
    *patch_len = total;
    if (stats) {
        *stats = best_st;
        stats->old_len = (uint32_t)old_len;
        stats->new_len = (uint32_t)new_len;
        stats->filter = best_filter;
        memcpy(stats->size_by_filter, sizes, sizeof(sizes));
        stats->zold = (uint32_t)xo.n;
        stats->znew = (uint32_t)xn.n;
        stats->zskipped = (uint32_t)(xo.skipped + xn.skipped);
        stats->ztokens = (uint32_t)(xo.tokens + xn.tokens);
        stats->xold_len = (uint32_t)sol;
        stats->xnew_len = (uint32_t)snl;
        stats->index = hashed ? OTA_DELTA_INDEX_HASH : OTA_DELTA_INDEX_SA;
    }
fail:
    free(sec.p);
    dz_image_free(&xo);
    dz_image_free(&xn);
    return err;
}
