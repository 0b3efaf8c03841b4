/*
 * delta_encode.c - the entropy coder of the patch stream: an adaptive binary
 * range coder (LZMA style) over the model in src/core/delta_internal.h.
 * Mirrors the decoder in src/core/delta_apply.c symbol for symbol.
 */
#include <stdlib.h>
#include <string.h>

#include "delta_host.h"
#include "../core/delta_internal.h"

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

static void renc_bit(struct renc *e, uint16_t *p, unsigned bit)
{
    uint32_t bound = (e->range >> DM_PROB_BITS) * *p;
    if (!bit) {
        e->range = bound;
        *p = (uint16_t)(*p + ((DM_PROB_ONE - *p) >> DM_MOVE_BITS));
    } else {
        e->low += bound;
        e->range -= bound;
        *p = (uint16_t)(*p - (*p >> DM_MOVE_BITS));
    }
    while (e->range < DM_TOP) {
        e->range <<= 8;
        renc_shift_low(e);
    }
}

static void renc_direct(struct renc *e, unsigned bit)
{
    e->range >>= 1;
    if (bit)
        e->low += e->range;
    while (e->range < DM_TOP) {
        e->range <<= 8;
        renc_shift_low(e);
    }
}

static void renc_tree8(struct renc *e, uint16_t *probs, unsigned sym)
{
    unsigned m = 1;
    for (int i = 7; i >= 0; i--) {
        unsigned b = (sym >> i) & 1u;
        renc_bit(e, probs + m, b);
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
                    uint32_t new_len, const struct dctl_list *ctl, struct dbuf *out)
{
    struct renc *e = calloc(1, sizeof(*e));
    if (!e)
        return OTA_ERR_NO_MEMORY;
    e->range = 0xFFFFFFFFu;
    e->cache_size = 1;
    e->out = out;
    for (size_t i = 0; i < OTA_DELTA_NPROBS; i++)
        e->probs[i] = (uint16_t)DM_PROB_INIT;

    uint32_t np = 0, op = 0, hist = 0, last_diff = 0;
    uint8_t last_lit = 0;
    for (size_t c = 0; c < ctl->n; c++) {
        const struct dctl *k = &ctl->v[c];
        int64_t to = (int64_t)op + k->seek;
        if (to < 0 || to > (int64_t)old_len || k->diff_len + k->extra_len == 0 ||
            (uint64_t)to + k->diff_len > old_len ||
            (uint64_t)np + k->diff_len + k->extra_len > new_len) {
            free(e);
            return OTA_ERR_INTERNAL;
        }
        uint32_t mag = k->seek < 0 ? (uint32_t)(-(int64_t)k->seek) : (uint32_t)k->seek;
        renc_bit(e, e->probs + DM_P_SEEK_ZERO, mag != 0);
        if (mag) {
            renc_bit(e, e->probs + DM_P_SEEK_SIGN, k->seek < 0);
            renc_num(e, DM_NUM_SEEK, mag - 1u);
        }
        op = (uint32_t)to;
        renc_num(e, DM_NUM_DIFF_LEN, k->diff_len);
        for (uint32_t i = 0; i < k->diff_len; i++) {
            uint8_t d = (uint8_t)(new_[np] - old[op]);
            uint32_t lane = dm_lane(np);
            if (d == 0) {
                renc_bit(e, e->probs + DM_P_ZERO + dm_zero_ctx(np, hist), 0);
                hist <<= 1;
            } else {
                renc_bit(e, e->probs + DM_P_ZERO + dm_zero_ctx(np, hist), 1);
                uint8_t last = (uint8_t)(last_diff >> (8u * lane));
                unsigned rep = d == last;
                renc_bit(e, e->probs + DM_P_REP + dm_rep_ctx(np, hist), rep);
                if (!rep)
                    renc_tree8(e, e->probs + DM_P_DIFF + lane * 256u, d);
                last_diff = (last_diff & ~(0xFFu << (8u * lane))) | ((uint32_t)d << (8u * lane));
                hist = (hist << 1) | 1u;
            }
            np++;
            op++;
        }
        renc_num(e, DM_NUM_EXTRA_LEN, k->extra_len);
        for (uint32_t i = 0; i < k->extra_len; i++) {
            renc_tree8(e, e->probs + DM_P_LIT + dm_lit_ctx(last_lit) * 256u, new_[np]);
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
    ota_err err = e->err;
    free(e);
    return err;
}
