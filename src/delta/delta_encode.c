// SPDX-License-Identifier: Apache-2.0
/*
 * delta_encode.c - the entropy coder of the patch stream: an adaptive binary
 * range coder (LZMA style) over the model in src/core/delta_internal.h.
 * Mirrors the decoder in src/core/delta_apply.c symbol for symbol.
 * With OTA_DELTA_DEBUG set in the environment it prints, per coding, how many
 * bytes each part of the stream cost (seeks, lengths, zero flags, difference
 * values, literals): the measurement used to tune the model.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta_host.h"
#include "delta_internal.h"

ota_err dbuf_put(struct dbuf *b, uint8_t byte)
{
    if (b->len == b->cap) {
        size_t nc = b->cap ? b->cap * 2u : 4096u;
        uint8_t *np = realloc(b->p, nc);
        if (!np)
            return OTA_ERR_NO_MEMORY;
        b->p = np;
        b->cap = nc;
    }
    b->p[b->len++] = byte;
    return OTA_OK;
}

struct renc {
    uint64_t low;
    uint32_t range;
    uint8_t cache;
    uint64_t cache_size;
    struct dbuf *out;
    ota_err err;
    int debug, cat;     /* cost accounting (OTA_DELTA_DEBUG) */
    double cost[8];
    uint16_t probs[OTA_DELTA_NPROBS];
};

static void renc_shift_low(struct renc *e)
{
    if ((uint32_t)e->low < 0xFF000000u || (e->low >> 32) != 0) {
        uint8_t carry = (uint8_t)(e->low >> 32);
        uint8_t temp = e->cache;
        do {
            if (dbuf_put(e->out, (uint8_t)(temp + carry)) != OTA_OK)
                e->err = OTA_ERR_NO_MEMORY;
            temp = 0xFF;
        } while (--e->cache_size != 0);
        e->cache = (uint8_t)(e->low >> 24);
    }
    e->cache_size++;
    e->low = (e->low & 0x00FFFFFFu) << 8;
}

/* One bit with a probability of the given precision (bits, one = 2^bits). */
static void renc_bit_p(struct renc *e, uint16_t *p, unsigned bit, unsigned shift, unsigned bits)
{
    uint32_t one = 1u << bits;
    if (e->debug)
        e->cost[e->cat] -= log2((bit ? one - dm_p(*p) : dm_p(*p)) / (double)one);
    uint32_t bound = (e->range >> bits) * dm_p(*p);
    if (!bit) {
        e->range = bound;
    } else {
        e->low += bound;
        e->range -= bound;
    }
    dm_update(p, bit, shift, one);
    while (e->range < DM_TOP) {
        e->range <<= 8;
        renc_shift_low(e);
    }
}

static void renc_bit_s(struct renc *e, uint16_t *p, unsigned bit, unsigned shift)
{
    renc_bit_p(e, p, bit, shift, DM_PROB_BITS);
}

static void renc_bit(struct renc *e, uint16_t *p, unsigned bit)
{
    renc_bit_s(e, p, bit, DM_MOVE_BITS);
}

static void renc_direct(struct renc *e, unsigned bit)
{
    if (e->debug)
        e->cost[e->cat] += 1.0;
    e->range >>= 1;
    if (bit)
        e->low += e->range;
    while (e->range < DM_TOP) {
        e->range <<= 8;
        renc_shift_low(e);
    }
}

static void renc_tree8(struct renc *e, uint16_t *probs, unsigned sym, unsigned shift)
{
    unsigned m = 1;
    for (int i = 7; i >= 0; i--) {
        unsigned b = (sym >> i) & 1u;
        renc_bit_s(e, probs + m, b, shift);
        m = (m << 1) | b;
    }
}

static void renc_num(struct renc *e, unsigned kind, uint32_t v)
{
    uint16_t *p = e->probs + DM_P_NUM + kind * DM_NUM_SIZE;
    uint32_t n = dm_bitlen(v);
    unsigned m = 1;
    for (int i = 5; i >= 0; i--) {
        unsigned b = (n >> i) & 1u;
        renc_bit(e, p + m, b);
        m = (m << 1) | b;
    }
    if (n < 2)
        return;
    for (uint32_t k = 0; k + 1 < n; k++) {
        uint32_t bitpos = n - 2u - k;
        unsigned b = (v >> bitpos) & 1u;
        if (k < DM_NUM_HI)
            renc_bit(e, p + DM_NUM_TREE + n * DM_NUM_HI + k, b);
        else
            renc_direct(e, b);
    }
}

ota_err dencode_run(const uint8_t *old, uint32_t old_len, const uint8_t *new_,
                    uint32_t new_len, const struct dctl_list *ctl, const struct dpred *pr,
                    uint8_t copts, struct dbuf *out)
{
    unsigned model2 = (copts & OTA_DELTA_OPT_MODEL2) != 0, lit3 = (copts & OTA_DELTA_OPT_LIT3) != 0;
    static const struct dpred none;
    if (!pr)
        pr = &none;
    struct renc *e = calloc(1, sizeof(*e));
    if (!e)
        return OTA_ERR_NO_MEMORY;
    e->range = 0xFFFFFFFFu;
    e->cache_size = 1;
    e->out = out;
    e->debug = getenv("OTA_DELTA_DEBUG") != NULL;
    dm_model_init(e->probs, OTA_DELTA_NPROBS, model2);

    uint32_t np = 0, op = 0, hist = 0, last_diff = 0;
    int64_t rep[DM_REPS] = {0};
    unsigned last_rep = 0;
    uint8_t last_lit = 0;
    e->cat = 7;
    renc_num(e, DM_NUM_MAP, pr->flags ? pr->n : 0u);
    for (uint32_t i = 0; pr->flags && i < pr->n; i++) {
        renc_num(e, DM_NUM_MAP, pr->old[i] - (i ? pr->old[i - 1] : 0u));
        int64_t dd = (int64_t)pr->disp[i] - (i ? pr->disp[i - 1] : 0);
        renc_bit(e, e->probs + DM_P_MAP_SIGN, dd < 0);
        renc_num(e, DM_NUM_SEEK, (uint32_t)(dd < 0 ? -dd : dd));
    }
    uint32_t vn = (pr->flags & OTA_DELTA_PRED_VALUE) ? pr->vn : 0u;
    renc_num(e, DM_NUM_MAP, vn);
    for (uint32_t i = 0; i < vn; i++) {
        renc_num(e, DM_NUM_MAP, pr->vstart[i] - (i ? pr->vstart[i - 1] : 0u));
        int64_t dd = (int64_t)pr->vdisp[i] - (i ? pr->vdisp[i - 1] : 0);
        renc_bit(e, e->probs + DM_P_MAP_SIGN, dd < 0);
        renc_num(e, DM_NUM_SEEK, (uint32_t)(dd < 0 ? -dd : dd));
    }
    if (vn)
        renc_num(e, DM_NUM_MAP, pr->vend - pr->vstart[vn - 1] - 1u);
    if (pr->opts & OTA_DELTA_OPT_CODE) {
        renc_num(e, DM_NUM_MAP, pr->code_n);
        for (uint32_t i = 0; i < pr->code_n && i < OTA_DELTA_CODE_MAX; i++) {
            renc_num(e, DM_NUM_MAP, pr->code_start[i] - (i ? pr->code_end[i - 1] : 0u));
            renc_num(e, DM_NUM_MAP, pr->code_end[i] - pr->code_start[i]);
        }
    }
    struct dm_a64 a64 = {0, 0, 0, 0};
    struct dm_pred pm = dpred_view(pr, pr->flags, vn, old_len, &a64);
    for (size_t c = 0; c < ctl->n; c++) {
        const struct dctl *k = &ctl->v[c];
        int64_t to = k->old_start;
        if (to > (int64_t)old_len || k->diff_len + k->extra_len == 0 ||
            (uint64_t)to + k->diff_len > old_len ||
            (uint64_t)np + k->diff_len + k->extra_len > new_len) {
            free(e);
            return OTA_ERR_INTERNAL;
        }
        e->cat = 0;
        int64_t disp = to - (int64_t)np;
        unsigned r = 0;
        while (r < DM_REPS && rep[r] != disp)
            r++;
        renc_bit(e, e->probs + DM_P_IS_REP + last_rep, r < DM_REPS);
        last_rep = r < DM_REPS;
        if (r < DM_REPS) {
            renc_bit(e, e->probs + DM_P_REP_IDX + 1, r >> 1);
            renc_bit(e, e->probs + DM_P_REP_IDX + 2 + (r >> 1), r & 1u);
        } else {
            int64_t seek = to - (int64_t)op;
            uint32_t mag = seek < 0 ? (uint32_t)(-seek) : (uint32_t)seek;
            renc_bit(e, e->probs + DM_P_SEEK_ZERO, mag != 0);
            if (mag) {
                renc_bit(e, e->probs + DM_P_SEEK_SIGN, seek < 0);
                renc_num(e, DM_NUM_SEEK, mag - 1u);
            }
            r = DM_REPS - 1u;
        }
        for (; r > 0; r--)
            rep[r] = rep[r - 1];
        rep[0] = disp;
        op = (uint32_t)to;
        e->cat = 1;
        renc_num(e, DM_NUM_DIFF_LEN, k->diff_len);
        unsigned pred_left = 0;
        uint8_t pred[4];
        for (uint32_t i = 0; i < k->diff_len; i++) {
            if (pred_left == 0 && pr->flags && k->diff_len - i >= 4u) {
                uint8_t ctx[3];
                dpred_ctx(old, op, ctx);
                dpred_ahead(&pm, old, old_len, op);
                if (ota_delta_predict(&pm, old + op, ctx, op, np, pred))
                    pred_left = 4;
            }
            unsigned predicted = pred_left != 0;
            uint8_t base = predicted ? pred[4u - pred_left--] : old[op];
            uint8_t d = (uint8_t)(new_[np] - base);
            uint32_t lane = dm_lane(np);
            uint16_t *zc = e->probs + DM_P_ZERO + dm_zero_ctx(np, hist, predicted, model2, base);
            unsigned zbits = model2 ? DM_ZPROB_BITS : DM_PROB_BITS;
            e->cat = 2;
            renc_bit_p(e, zc, d != 0, DM_MOVE_BITS, zbits);
            if (d == 0) {
                hist <<= 1;
            } else {
                e->cat = 3;
                uint8_t last = (uint8_t)(last_diff >> (8u * lane));
                unsigned same = d == last;
                renc_bit(e, e->probs + DM_P_REP + dm_rep_ctx(np, hist), same);
                if (!same)
                    e->cat = 4, renc_tree8(e, e->probs + DM_P_DIFF + lane * 256u, d, DM_DIFF_SHIFT);
                last_diff = (last_diff & ~(0xFFu << (8u * lane))) | ((uint32_t)d << (8u * lane));
                hist = (hist << 1) | 1u;
            }
            if (model2)
                last_lit = new_[np]; /* model 2: literals' context */
            np++;
            op++;
        }
        e->cat = 5;
        renc_num(e, DM_NUM_EXTRA_LEN, k->extra_len);
        e->cat = 6;
        for (uint32_t i = 0; i < k->extra_len; i++) {
            renc_tree8(e, e->probs + DM_P_LIT + dm_lit_ctx(last_lit, np, lit3) * 256u, new_[np],
                       DM_LIT_SHIFT);
            last_lit = new_[np];
            np++;
        }
    }
    if (np != new_len) {
        free(e);
        return OTA_ERR_INTERNAL;
    }
    for (int i = 0; i < 5; i++)
        renc_shift_low(e);
    if (getenv("OTA_DELTA_DEBUG"))
        fprintf(stderr, "cost bytes: seek %.0f difflen %.0f zero %.0f rep %.0f diffval %.0f "
                        "extralen %.0f literal %.0f (commands %zu)\n",
                e->cost[0] / 8, e->cost[1] / 8, e->cost[2] / 8, e->cost[3] / 8,
                e->cost[4] / 8, e->cost[5] / 8, e->cost[6] / 8, ctl->n);
    ota_err err = e->err;
    free(e);
    return err;
}
