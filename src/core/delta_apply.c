// SPDX-License-Identifier: Apache-2.0
/*
 * delta_apply.c - the streaming delta applier of the portable core.
 *
 * A push decoder: the caller feeds patch bytes as they arrive (any split);
 * the applier keeps at most OTA_DELTA_IN_BUF of them, decodes one symbol
 * group ("step") at a time only when enough input is buffered for any step
 * (DA_STEP_MAX bytes, or the whole rest of the stream), reads the old image
 * through a window, and writes the new image sequentially. All state lives
 * in the caller's struct ota_delta_apply: no malloc, no stdio.
 *
 * Hostile patches: every length and seek is checked against the old and new
 * sizes before use, every command must produce at least one byte (so the
 * number of steps is bounded by the image size), the range decoder never
 * reads past the declared stream, and the result hash is checked at the end.
 */
#include <string.h>

#include "delta_internal.h"
#include "diag.h"

/*
 * Input bytes one step can consume, with margin: the largest step (an address
 * or value map entry) codes 29 modelled bits (<= 2 bytes each, see
 * delta_internal.h) and <= 46 direct bits (<= 7 bytes): 65.
 */
#define DA_STEP_MAX 80u

enum {
    PH_HEADER = 0,
    PH_SECTION, /* version 2: the deflate section */
    PH_STREAM,
    PH_DONE,
    PH_FINISHED
};

#define da_fail ota_delta_fail

enum {
    OP_INIT = 0, /* the range decoder's first 5 bytes */
    OP_MAP_COUNT,
    OP_MAP_ENTRY,
    OP_VMAP_COUNT,
    OP_VMAP_ENTRY,
    OP_VMAP_END,
    OP_CODE_COUNT,
    OP_CODE_ENTRY,
    OP_SEEK,
    OP_DIFF_LEN,
    OP_DIFF,
    OP_EXTRA_LEN,
    OP_EXTRA
};

_Static_assert(OTA_DELTA_IN_BUF >= DA_STEP_MAX + 16u, "input buffer too small");

ota_err ota_delta_fail(struct ota_delta_apply *st, ota_err e, const char *field, uint32_t off,
                       uint32_t expected, uint32_t found, int has_values)
{
    st->err = e;
    return ota_diag_fill(st->cfg.diag, e, field, off, expected, found, has_values);
}

/* Offset in the patch of the next byte the range decoder reads. */
static uint32_t da_patch_off(const struct ota_delta_apply *st)
{
    return st->stream_start + st->rc_consumed;
}

ota_err ota_delta_apply_init(struct ota_delta_apply *st,
                             const struct ota_delta_apply_cfg *cfg)
{
    if (!st || !cfg || !cfg->crypto || !cfg->old || !cfg->old->read || !cfg->write)
        return OTA_ERR_INVALID_ARG;
    memset(st, 0, sizeof(*st));
    st->cfg = *cfg;
    st->phase = PH_HEADER;
    st->op = OP_INIT;
    dm_model_init(st->probs, OTA_DELTA_NPROBS, 0); /* model 2: again in op_init */
    return OTA_OK;
}

const struct ota_delta_header *ota_delta_apply_header(const struct ota_delta_apply *st)
{
    return st && st->phase != PH_HEADER ? &st->hdr : NULL;
}

/* ---- range decoder ---------------------------------------------------- */

static uint8_t rc_byte(struct ota_delta_apply *st)
{
    st->rc_consumed++;
    if (st->in_pos < st->in_len)
        return st->in_buf[st->in_pos++];
    /* Only reachable when the whole stream was buffered: the stream claims
     * more symbols than its bytes can carry. Flagged, checked by the step. */
    st->err = OTA_ERR_DELTA_CORRUPT;
    return 0;
}

/* One bit with a probability of the given precision (bits, one = 2^bits). */
static unsigned rc_bit_p(struct ota_delta_apply *st, uint16_t *p, unsigned shift, unsigned bits)
{
    uint32_t bound = (st->rc_range >> bits) * dm_p(*p);
    unsigned bit;
    if (st->rc_code < bound) {
        st->rc_range = bound;
        bit = 0;
    } else {
        st->rc_code -= bound;
        st->rc_range -= bound;
        bit = 1;
    }
    dm_update(p, bit, shift, 1u << bits);
    while (st->rc_range < DM_TOP) {
        st->rc_range <<= 8;
        st->rc_code = (st->rc_code << 8) | rc_byte(st);
    }
    return bit;
}

static unsigned rc_bit_s(struct ota_delta_apply *st, uint16_t *p, unsigned shift)
{
    return rc_bit_p(st, p, shift, DM_PROB_BITS);
}

static unsigned rc_bit(struct ota_delta_apply *st, uint16_t *p)
{
    return rc_bit_s(st, p, DM_MOVE_BITS);
}

static unsigned rc_direct(struct ota_delta_apply *st)
{
    unsigned bit = 0;
    st->rc_range >>= 1;
    if (st->rc_code >= st->rc_range) {
        st->rc_code -= st->rc_range;
        bit = 1;
    }
    while (st->rc_range < DM_TOP) {
        st->rc_range <<= 8;
        st->rc_code = (st->rc_code << 8) | rc_byte(st);
    }
    return bit;
}

static unsigned rc_tree8(struct ota_delta_apply *st, uint16_t *probs, unsigned shift)
{
    unsigned m = 1;
    while (m < 256u)
        m = (m << 1) | rc_bit_s(st, probs + m, shift);
    return m - 256u;
}

/* A number as coded by renc_num(); returns 0 and sets err when n > 32. */
static uint32_t rc_num(struct ota_delta_apply *st, unsigned kind)
{
    uint16_t *p = st->probs + DM_P_NUM + kind * DM_NUM_SIZE;
    unsigned m = 1;
    while (m < DM_NUM_TREE)
        m = (m << 1) | rc_bit(st, p + m);
    uint32_t n = m - DM_NUM_TREE;
    if (n > 32u) {
        da_fail(st, OTA_ERR_DELTA_CORRUPT, "number bit length", da_patch_off(st), 32, n, 1);
        return 0;
    }
    if (n < 2u)
        return n;
    uint32_t v = 1;
    for (uint32_t k = 0; k + 1u < n; k++) {
        unsigned b;
        if (k < DM_NUM_HI)
            b = rc_bit(st, p + DM_NUM_TREE + n * DM_NUM_HI + k);
        else
            b = rc_direct(st);
        v = (v << 1) | b;
    }
    return v;
}

/* ---- old image window --------------------------------------------------- */

/* Load the window holding pos (see old_byte). */
static ota_err old_reload(struct ota_delta_apply *st, uint32_t pos)
{
    uint32_t old_len = st->xold_len;
    /* Start at the earliest byte op_diff may still ask for (its
     * context, 3 bytes before old_pos), not at pos: a window that began
     * at pos = old_pos + 3 (the end of the 4 bytes predicted) made the
     * next byte at old_pos a backward reload, two reads per edge -- and
     * with a deflate section a backward read re-inflates its stream
     * from the start. Every request lies in [old_pos - 3, old_pos + 19]. */
    uint32_t at = st->old_pos > 3u ? st->old_pos - 3u : 0u;
    uint32_t start = (pos < at ? pos : at) & ~3u;
    uint32_t rs = start >= 4u ? start - 4u : 0u;
    uint32_t n = old_len - rs;
    if (n > sizeof(st->old_buf))
        n = sizeof(st->old_buf);
    ota_err e = ota_delta_old_read(st, rs, st->old_buf, n);
    if (e != OTA_OK)
        return e;
    ota_delta_filter(st->hdr.filter, 0, st->old_buf, n, rs);
    /* Bytes near a window edge are final only when an instruction
     * covering them fits in the window (or the edge is the image's). */
    uint32_t lo = rs ? rs + 4u : 0u;
    uint32_t hi = rs + n < old_len ? rs + n - 4u : old_len;
    st->old_win_pos = lo;
    st->old_win_len = hi - lo;
    st->old_buf_base = rs;
    return OTA_OK;
}

/* Filtered old byte at pos (pos < old_len is checked by the caller). */
static inline ota_err old_byte(struct ota_delta_apply *st, uint32_t pos, uint8_t *out)
{
    if (pos - st->old_win_pos >= st->old_win_len || pos < st->old_win_pos) {
        ota_err e = old_reload(st, pos);
        if (e != OTA_OK)
            return e;
    }
    *out = st->old_buf[pos - st->old_buf_base];
    return OTA_OK;
}

/* ---- output ----------------------------------------------------------- */

static ota_err out_emit(struct ota_delta_apply *st, size_t n)
{
    /* ota_delta_apply_feed_part: stop where the next new stream starts */
    if (st->z_cut) {
        uint32_t cut = ota_delta_section_cut(st);
        if (cut && cut - st->written <= n) {
            n = cut - st->written;
            st->z_cut = 2;
        }
    }
    ota_err e = ota_delta_new_write(st, st->written, st->out_buf, n);
    if (e != OTA_OK)
        return e;
    st->written += (uint32_t)n;
    st->out_len -= (uint32_t)n;
    memmove(st->out_buf, st->out_buf + n, st->out_len);
    return OTA_OK;
}

/* Write what is final; with last, everything. */
static ota_err out_flush(struct ota_delta_apply *st, int last)
{
    size_t n = ota_delta_filter(st->hdr.filter, 1, st->out_buf, st->out_len, st->written);
    if (last)
        n = st->out_len;
    return n ? out_emit(st, n) : OTA_OK;
}

static ota_err out_put(struct ota_delta_apply *st, uint8_t b)
{
    st->out_buf[st->out_len++] = b;
    st->new_pos++;
    if (st->out_len == OTA_DELTA_OUT_BUF)
        return out_flush(st, 0);
    return OTA_OK;
}

/* ---- the stream --------------------------------------------------------- */

static void after_command(struct ota_delta_apply *st)
{
    st->op = OP_SEEK;
    if (st->new_pos == st->xnew_len)
        st->phase = PH_DONE;
}

/* The range decoder's first five bytes. */
static ota_err op_init(struct ota_delta_apply *st)
{
    uint8_t first = rc_byte(st);
    st->rc_code = 0;
    for (int i = 0; i < 4; i++)
        st->rc_code = (st->rc_code << 8) | rc_byte(st);
    st->rc_range = 0xFFFFFFFFu;
    if (first != 0 || st->rc_code == 0xFFFFFFFFu)
        return da_fail(st, OTA_ERR_DELTA_CORRUPT, "range coder start",
                       st->stream_start, 0, first, 1);
    if (st->hdr.opts & OTA_DELTA_OPT_MODEL2)
        dm_model_init(st->probs, OTA_DELTA_NPROBS, 1);
    st->op = OP_MAP_COUNT;
    return st->err;
}

/* After the value map (vmap = 1: the code regions follow when the header
 * says so) or the code regions: the commands. */
static void maps_done(struct ota_delta_apply *st, int vmap)
{
    if (vmap && (st->hdr.opts & OTA_DELTA_OPT_CODE)) {
        st->op = OP_CODE_COUNT;
        return;
    }
    st->op = OP_SEEK;
    if (st->xnew_len == 0)
        st->phase = PH_DONE;
}

/* The number of address map entries. */
static ota_err op_map_count(struct ota_delta_apply *st)
{
    uint32_t off = da_patch_off(st);
    uint32_t n = rc_num(st, DM_NUM_MAP);
    if (st->err)
        return st->err;
    if (n > OTA_DELTA_MAP_MAX)
        return da_fail(st, OTA_ERR_DELTA_CORRUPT, "address map entries", off,
                       OTA_DELTA_MAP_MAX, n, 1);
    st->map_count = n;
    st->map_n = 0;
    st->op = n ? OP_MAP_ENTRY : OP_VMAP_COUNT;
    return st->err;
}

/*
 * One entry of the address or value map: its start and displacement, each
 * coded as a difference from the previous entry's. Starts strictly increase
 * and stay below end (the diag reports `expected` as the bound).
 */
static ota_err map_entry(struct ota_delta_apply *st, uint32_t i, uint32_t *starts,
                         int32_t *disps, uint64_t end, uint32_t expected,
                         const char *field)
{
    uint32_t off = da_patch_off(st);
    uint32_t delta = rc_num(st, DM_NUM_MAP);
    unsigned neg = rc_bit(st, st->probs + DM_P_MAP_SIGN);
    uint32_t dd = rc_num(st, DM_NUM_SEEK);
    if (st->err)
        return st->err;
    uint32_t prev = i ? starts[i - 1u] : 0u;
    if ((i && delta == 0) || (uint64_t)prev + delta >= end)
        return da_fail(st, OTA_ERR_DELTA_CORRUPT, field, off, expected,
                       (uint32_t)(prev + delta), 1);
    uint32_t pd = i ? (uint32_t)disps[i - 1u] : 0u;
    starts[i] = prev + delta;
    disps[i] = (int32_t)(neg ? pd - dd : pd + dd);
    return OTA_OK;
}

/* One address map entry (old offset, displacement). */
static ota_err op_map_entry(struct ota_delta_apply *st)
{
    ota_err e = map_entry(st, st->map_n, st->map_old, st->map_disp, st->xold_len, st->xold_len,
                          "address map offset");
    if (e != OTA_OK)
        return e;
    if (++st->map_n == st->map_count)
        st->op = OP_VMAP_COUNT;
    return st->err;
}

/* The number of value map entries. */
static ota_err op_vmap_count(struct ota_delta_apply *st)
{
    uint32_t off = da_patch_off(st);
    uint32_t n = rc_num(st, DM_NUM_MAP);
    if (st->err)
        return st->err;
    if (n > OTA_DELTA_VMAP_MAX)
        return da_fail(st, OTA_ERR_DELTA_CORRUPT, "value map entries", off,
                       OTA_DELTA_VMAP_MAX, n, 1);
    st->vmap_count = n;
    st->vmap_n = 0;
    if (n)
        st->op = OP_VMAP_ENTRY;
    else
        maps_done(st, 1);
    return st->err;
}

/* One value map entry (start, displacement). */
static ota_err op_vmap_entry(struct ota_delta_apply *st)
{
    ota_err e = map_entry(st, st->vmap_n, st->vmap_start, st->vmap_disp, 0xFFFFFFFFu,
                          0xFFFFFFFEu, "value map start");
    if (e != OTA_OK)
        return e;
    if (++st->vmap_n == st->vmap_count)
        st->op = OP_VMAP_END;
    return st->err;
}

/* The end of the value map's last range. */
static ota_err op_vmap_end(struct ota_delta_apply *st)
{
    uint32_t off = da_patch_off(st);
    uint32_t d = rc_num(st, DM_NUM_MAP);
    if (st->err)
        return st->err;
    uint64_t end = (uint64_t)st->vmap_start[st->vmap_n - 1u] + 1u + d;
    if (end > 0xFFFFFFFFu)
        return da_fail(st, OTA_ERR_DELTA_CORRUPT, "value map end", off, 0xFFFFFFFFu,
                       (uint32_t)end, 1);
    st->vmap_end = (uint32_t)end;
    maps_done(st, 1);
    return st->err;
}

/* The number of code regions (OTA_DELTA_OPT_CODE). */
static ota_err op_code_count(struct ota_delta_apply *st)
{
    uint32_t off = da_patch_off(st);
    uint32_t n = rc_num(st, DM_NUM_MAP);
    if (st->err)
        return st->err;
    if (n > OTA_DELTA_CODE_MAX)
        return da_fail(st, OTA_ERR_DELTA_CORRUPT, "code regions", off, OTA_DELTA_CODE_MAX, n, 1);
    st->code_count = n;
    st->code_n = 0;
    if (n)
        st->op = OP_CODE_ENTRY;
    else
        maps_done(st, 0);
    return st->err;
}

/* One code region: its start after the previous one's end (gap), its length;
 * inside the old image, ascending, not overlapping, not empty. */
static ota_err op_code_entry(struct ota_delta_apply *st)
{
    uint32_t off = da_patch_off(st);
    uint32_t gap = rc_num(st, DM_NUM_MAP);
    uint32_t len = rc_num(st, DM_NUM_MAP);
    if (st->err)
        return st->err;
    uint32_t i = st->code_n;
    uint64_t start = (uint64_t)(i ? st->code_end[i - 1u] : 0u) + gap, end = start + len;
    if (len == 0 || end > st->xold_len)
        return da_fail(st, OTA_ERR_DELTA_CORRUPT, "code region", off, st->xold_len,
                       (uint32_t)(len ? end : 0u), 1);
    st->code_start[i] = (uint32_t)start;
    st->code_end[i] = (uint32_t)end;
    if (++st->code_n == st->code_count)
        maps_done(st, 0);
    return st->err;
}

/* A command's position in the old image: a repeated displacement or a seek. */
static ota_err op_seek(struct ota_delta_apply *st)
{
    uint32_t off = da_patch_off(st);
    unsigned is_rep = rc_bit(st, st->probs + DM_P_IS_REP + st->last_rep);
    st->last_rep = (uint8_t)is_rep;
    unsigned r = DM_REPS - 1u;
    if (is_rep) {
        r = rc_bit(st, st->probs + DM_P_REP_IDX + 1) << 1;
        r |= rc_bit(st, st->probs + DM_P_REP_IDX + 2 + (r >> 1));
        uint32_t to = st->new_pos + st->reps[r];
        if (to > st->xold_len)
            return da_fail(st, OTA_ERR_DELTA_CORRUPT, "repeated displacement out of the old image",
                           off, st->xold_len, to, 1);
        st->old_pos = to;
    } else if (rc_bit(st, st->probs + DM_P_SEEK_ZERO)) {
        unsigned neg = rc_bit(st, st->probs + DM_P_SEEK_SIGN);
        uint32_t mag = rc_num(st, DM_NUM_SEEK);
        if (st->err)
            return st->err;
        uint64_t m = (uint64_t)mag + 1u;
        if (neg ? m > st->old_pos : (uint64_t)st->old_pos + m > st->xold_len)
            return da_fail(st, OTA_ERR_DELTA_CORRUPT, "seek out of the old image",
                           off, st->xold_len, (uint32_t)(neg ? st->old_pos - m : st->old_pos + m), 1);
        st->old_pos = neg ? st->old_pos - (uint32_t)m : st->old_pos + (uint32_t)m;
    }
    for (; r > 0; r--)
        st->reps[r] = st->reps[r - 1u];
    st->reps[0] = st->old_pos - st->new_pos;
    st->op = OP_DIFF_LEN;
    return st->err;
}

/* The length of a command's diff run. */
static ota_err op_diff_len(struct ota_delta_apply *st)
{
    uint32_t off = da_patch_off(st);
    uint32_t n = rc_num(st, DM_NUM_DIFF_LEN);
    if (st->err)
        return st->err;
    if ((uint64_t)st->old_pos + n > st->xold_len)
        return da_fail(st, OTA_ERR_DELTA_CORRUPT, "diff run past the old image",
                       off, st->xold_len - st->old_pos, n, 1);
    if ((uint64_t)st->new_pos + n > st->xnew_len)
        return da_fail(st, OTA_ERR_DELTA_CORRUPT, "diff run past the new image",
                       off, st->xnew_len - st->new_pos, n, 1);
    st->remaining = n;
    st->diff_run = n;
    st->pred_left = 0;
    st->op = n ? OP_DIFF : OP_EXTRA_LEN;
    return st->err;
}

/* One byte of a diff run: old (or predicted) byte plus the coded difference. */
static ota_err diff_byte(struct ota_delta_apply *st)
{
    const struct ota_delta_header *h = &st->hdr;
    uint8_t ob, d;
    ota_err e;
    uint32_t np = st->new_pos, lane = dm_lane(np);
    if (st->pred_left == 0 && h->flags && st->remaining >= 4u) {
        uint8_t o4[4], ctx[3] = {0, 0, 0};
        for (uint32_t i = 0; i < 3u && dm_pred_needs_ctx(h->flags); i++) {
            if (st->old_pos + i < 3u)
                continue;
            e = old_byte(st, st->old_pos + i - 3u, &ctx[i]);
            if (e != OTA_OK)
                return e;
        }
        for (uint32_t i = 0; i < 4u; i++) {
            e = old_byte(st, st->old_pos + i, &o4[i]);
            if (e != OTA_OK)
                return e;
        }
        /* AArch64 ADRP: the instructions after it, for the low 12 bits */
        uint8_t ahead[DM_A64_AHEAD];
        uint32_t na = 0;
        if ((h->flags & OTA_DELTA_PRED_A64_ADRP) && dm_a64_wants_ahead(o4)) {
            na = st->xold_len - st->old_pos - 4u;
            if (na > DM_A64_AHEAD)
                na = DM_A64_AHEAD;
            for (uint32_t i = 0; i < na; i++) {
                e = old_byte(st, st->old_pos + 4u + i, &ahead[i]);
                if (e != OTA_OK)
                    return e;
            }
        }
        struct dm_a64 a = {st->a64_q, st->a64_p, (uint16_t)(st->a64_lo & 0xFFFu),
                           (uint8_t)(st->a64_lo >> 15)};
        const struct dm_pred m = {st->map_old,   st->map_disp, st->map_n,
                                  st->vmap_start, st->vmap_disp, st->vmap_n,
                                  st->vmap_end,  h->flags,     h->ptr_base,
                                  st->xold_len,  ahead,        na,
                                  &a,            h->opts,      st->code_start,
                                  st->code_end,  st->code_n};
        if (ota_delta_predict(&m, o4, ctx, st->old_pos, np, st->pred))
            st->pred_left = 4;
        st->a64_q = a.q;
        st->a64_p = a.p;
        st->a64_lo = (uint16_t)(a.on ? 0x8000u | a.lo : 0u);
    }
    unsigned predicted = st->pred_left != 0;
    if (predicted) {
        ob = st->pred[4u - st->pred_left];
        st->pred_left--;
    } else {
        e = old_byte(st, st->old_pos, &ob);
        if (e != OTA_OK)
            return e;
    }
    unsigned m2 = (st->hdr.opts & OTA_DELTA_OPT_MODEL2) != 0;
    if (!rc_bit_p(st, st->probs + DM_P_ZERO + dm_zero_ctx(np, st->hist, predicted, m2, ob),
                  DM_MOVE_BITS, m2 ? DM_ZPROB_BITS : DM_PROB_BITS)) {
        d = 0;
        st->hist <<= 1;
    } else {
        if (rc_bit(st, st->probs + DM_P_REP + dm_rep_ctx(np, st->hist)))
            d = (uint8_t)(st->last_diff >> (8u * lane));
        else
            d = (uint8_t)rc_tree8(st, st->probs + DM_P_DIFF + lane * 256u, DM_DIFF_SHIFT);
        st->last_diff = (st->last_diff & ~(0xFFu << (8u * lane))) |
                        ((uint32_t)d << (8u * lane));
        st->hist = (st->hist << 1) | 1u;
    }
    st->old_pos++;
    if (m2)
        st->last_lit = (uint8_t)(ob + d); /* model 2: literals' context */
    e = out_put(st, (uint8_t)(ob + d));
    if (e != OTA_OK)
        return e;
    if (--st->remaining == 0)
        st->op = OP_EXTRA_LEN;
    return st->err;
}

static int stream_complete(const struct ota_delta_apply *st);

/* Bytes of a diff run, as long as the run lasts and input for a step is
 * buffered: what run() would check before each step, without going round
 * it per byte (a root filesystem patch is a GiB of diff runs). */
static ota_err op_diff(struct ota_delta_apply *st)
{
    ota_err e;
    do
        e = diff_byte(st);
    while (e == OTA_OK && st->op == OP_DIFF && st->z_cut != 2 &&
           (st->in_len - st->in_pos >= DA_STEP_MAX || stream_complete(st)));
    return e;
}

/* The length of a command's literal run. */
static ota_err op_extra_len(struct ota_delta_apply *st)
{
    uint32_t off = da_patch_off(st);
    uint32_t n = rc_num(st, DM_NUM_EXTRA_LEN);
    if (st->err)
        return st->err;
    if ((uint64_t)st->new_pos + n > st->xnew_len)
        return da_fail(st, OTA_ERR_DELTA_CORRUPT, "literal run past the new image",
                       off, st->xnew_len - st->new_pos, n, 1);
    if (n == 0 && st->diff_run == 0)
        return da_fail(st, OTA_ERR_DELTA_CORRUPT, "empty command", off, 1, 0, 1);
    st->remaining = n;
    if (n)
        st->op = OP_EXTRA;
    else
        after_command(st);
    return st->err;
}

/* One literal byte. */
static ota_err op_extra(struct ota_delta_apply *st)
{
    uint32_t ctx = dm_lit_ctx(st->last_lit, st->new_pos, st->hdr.opts & OTA_DELTA_OPT_LIT3);
    uint8_t b = (uint8_t)rc_tree8(st, st->probs + DM_P_LIT + ctx * 256u, DM_LIT_SHIFT);
    st->last_lit = b;
    ota_err e = out_put(st, b);
    if (e != OTA_OK)
        return e;
    if (--st->remaining == 0)
        after_command(st);
    return st->err;
}

/* Decode one symbol group. The caller guarantees enough buffered input. */
static ota_err step(struct ota_delta_apply *st)
{
    switch (st->op) {
    case OP_INIT:
        return op_init(st);
    case OP_MAP_COUNT:
        return op_map_count(st);
    case OP_MAP_ENTRY:
        return op_map_entry(st);
    case OP_VMAP_COUNT:
        return op_vmap_count(st);
    case OP_VMAP_ENTRY:
        return op_vmap_entry(st);
    case OP_VMAP_END:
        return op_vmap_end(st);
    case OP_CODE_COUNT:
        return op_code_count(st);
    case OP_CODE_ENTRY:
        return op_code_entry(st);
    case OP_SEEK:
        return op_seek(st);
    case OP_DIFF_LEN:
        return op_diff_len(st);
    case OP_DIFF:
        return op_diff(st);
    case OP_EXTRA_LEN:
        return op_extra_len(st);
    case OP_EXTRA:
        return op_extra(st);
    default:
        return da_fail(st, OTA_ERR_INTERNAL, "decoder state", 0, 0, st->op, 1);
    }
}

/* ---- header, base check, feed, finish ----------------------------------- */

static ota_err start_stream(struct ota_delta_apply *st)
{
    struct ota_delta_header *h = &st->hdr;
    ota_err e = ota_delta_header_decode(st->hdr_buf, OTA_DELTA_HEADER_SIZE, h, st->cfg.diag);
    if (e != OTA_OK) {
        st->err = e;
        return e;
    }
    /* A version 2 patch needs the deflate port: refused before the base
     * image is even read. */
    if (OTA_DELTA_HAS_SECTION(h->version)) {
        e = ota_delta_section_check_port(st);
        if (e != OTA_OK)
            return e;
    }
    if (st->cfg.max_new_len && h->new_len > st->cfg.max_new_len)
        return da_fail(st, OTA_ERR_TOO_LARGE, "new image size vs. slot", 12,
                       st->cfg.max_new_len, h->new_len, 1);
    if (st->cfg.old->size < h->old_len)
        return da_fail(st, OTA_ERR_DELTA_BASE_MISMATCH, "old image size", 8,
                       h->old_len, st->cfg.old->size, 1);
    /* The base must be exactly the image the patch was made from: hash it
     * all before anything is written. */
    const struct ota_crypto *c = st->cfg.crypto;
    e = c->sha256_init(&st->sha);
    for (uint32_t off = 0; e == OTA_OK && off < h->old_len;) {
        uint32_t n = h->old_len - off;
        if (n > sizeof(st->old_buf))
            n = sizeof(st->old_buf);
        e = st->cfg.old->read(st->cfg.old->ctx, off, st->old_buf, n);
        if (e != OTA_OK)
            return da_fail(st, e, "old image read", off, 0, 0, 0);
        e = c->sha256_update(&st->sha, st->old_buf, n);
        off += n;
    }
    uint8_t digest[OTA_SHA256_LEN];
    if (e == OTA_OK)
        e = c->sha256_final(&st->sha, digest);
    if (e != OTA_OK)
        return da_fail(st, e, "sha256 of the old image", 0, 0, 0, 0);
    if (memcmp(digest, h->base_hash, OTA_SHA256_LEN) != 0)
        return da_fail(st, OTA_ERR_DELTA_BASE_MISMATCH, "base image sha256", 24,
                       ((uint32_t)h->base_hash[0] << 24) | ((uint32_t)h->base_hash[1] << 16) |
                           ((uint32_t)h->base_hash[2] << 8) | h->base_hash[3],
                       ((uint32_t)digest[0] << 24) | ((uint32_t)digest[1] << 16) |
                           ((uint32_t)digest[2] << 8) | digest[3],
                       1);
    e = c->sha256_init(&st->sha);
    if (e != OTA_OK)
        return da_fail(st, e, "sha256 of the new image", 0, 0, 0, 0);
    st->old_win_pos = 0;
    st->old_win_len = 0;
    st->stream_start = OTA_DELTA_HEADER_SIZE;
    st->xold_len = h->old_len;
    st->xnew_len = h->new_len;
    st->phase = OTA_DELTA_HAS_SECTION(h->version) ? PH_SECTION : PH_STREAM;
    return OTA_OK;
}

static int stream_complete(const struct ota_delta_apply *st)
{
    return st->phase != PH_HEADER && st->phase != PH_SECTION &&
           st->in_total - st->stream_start == st->hdr.stream_len;
}

static ota_err run(struct ota_delta_apply *st)
{
    while (st->phase == PH_STREAM && st->z_cut != 2) {
        if (!stream_complete(st) && st->in_len - st->in_pos < DA_STEP_MAX)
            break;
        ota_err e = step(st);
        if (e != OTA_OK)
            return st->err = e;
    }
    return OTA_OK;
}

/* feed() and feed_part(): *used = the bytes of data taken */
static ota_err feed(struct ota_delta_apply *st, const void *data, size_t len, size_t *used)
{
    *used = 0;
    if (!st || (!data && len))
        return OTA_ERR_INVALID_ARG;
    if (st->err != OTA_OK)
        return st->err;
    if (st->phase == PH_FINISHED)
        return OTA_ERR_UPDATE_STATE;
    const uint8_t *p = data;
    while (len && st->z_cut != 2) {
        if (st->phase == PH_HEADER) {
            size_t take = OTA_DELTA_HEADER_SIZE - st->hdr_len;
            if (take > len)
                take = len;
            memcpy(st->hdr_buf + st->hdr_len, p, take);
            st->hdr_len = (uint8_t)(st->hdr_len + take);
            st->in_total += (uint32_t)take;
            p += take;
            len -= take;
            if (st->hdr_len == OTA_DELTA_HEADER_SIZE) {
                ota_err e = start_stream(st);
                if (e != OTA_OK)
                    return e;
            }
            continue;
        }
        if (st->phase == PH_SECTION) {
            size_t took = 0;
            ota_err e = ota_delta_section_feed(st, p, len, &took);
            if (e != OTA_OK)
                return e;
            st->in_total += (uint32_t)took;
            p += took;
            len -= took;
            if (st->stream_start > OTA_DELTA_HEADER_SIZE)
                st->phase = PH_STREAM;
            continue;
        }
        uint32_t left = st->hdr.stream_len - (st->in_total - st->stream_start);
        if (left == 0)
            return da_fail(st, OTA_ERR_DELTA_CORRUPT, "bytes after the stream", st->in_total,
                           st->stream_start + st->hdr.stream_len,
                           st->in_total + (uint32_t)(len > 0xFFFFFFFFu - st->in_total ? 0xFFFFFFFFu - st->in_total : len), 1);
        size_t take = len < left ? len : left;
        if (st->phase == PH_STREAM) {
            if (st->in_pos) {
                memmove(st->in_buf, st->in_buf + st->in_pos, st->in_len - st->in_pos);
                st->in_len -= st->in_pos;
                st->in_pos = 0;
            }
            /* run() left fewer than DA_STEP_MAX bytes: there is room */
            if (take > OTA_DELTA_IN_BUF - st->in_len)
                take = OTA_DELTA_IN_BUF - st->in_len;
            memcpy(st->in_buf + st->in_len, p, take);
            st->in_len += (uint32_t)take;
        } /* else the last command is decoded: further stream bytes are only
           * counted (finish refuses a stream longer than its commands) */
        st->in_total += (uint32_t)take;
        p += take;
        len -= take;
        ota_err e = run(st);
        if (e != OTA_OK)
            return e;
    }
    *used = (size_t)(p - (const uint8_t *)data);
    return OTA_OK;
}

ota_err ota_delta_apply_feed(struct ota_delta_apply *st, const void *data, size_t len)
{
    size_t used;
    return feed(st, data, len, &used);
}

ota_err ota_delta_apply_feed_part(struct ota_delta_apply *st, const void *data, size_t len,
                                  size_t *used)
{
    if (!used)
        return OTA_ERR_INVALID_ARG;
    if (!st) {
        *used = 0;
        return OTA_ERR_INVALID_ARG;
    }
    st->z_cut = 1;
    ota_err e = feed(st, data, len, used);
    st->z_cut = 0;
    return e;
}

ota_err ota_delta_apply_finish(struct ota_delta_apply *st)
{
    if (!st)
        return OTA_ERR_INVALID_ARG;
    if (st->err != OTA_OK)
        return st->err;
    if (st->phase == PH_FINISHED)
        return OTA_ERR_UPDATE_STATE;
    if (st->phase == PH_HEADER)
        return da_fail(st, OTA_ERR_DELTA_TRUNCATED, "header", st->in_total,
                       OTA_DELTA_HEADER_SIZE, st->in_total, 1);
    if (st->phase == PH_SECTION)
        return da_fail(st, OTA_ERR_DELTA_TRUNCATED, "deflate section", st->in_total,
                       OTA_DELTA_HEADER_SIZE + (st->z_sec_len ? st->z_sec_len : 12u),
                       st->in_total, 1);
    if (!stream_complete(st))
        return da_fail(st, OTA_ERR_DELTA_TRUNCATED, "patch length", st->in_total,
                       st->stream_start + st->hdr.stream_len, st->in_total, 1);
    ota_err e = run(st);
    if (e != OTA_OK)
        return e;
    if (st->phase != PH_DONE)
        return da_fail(st, OTA_ERR_INTERNAL, "decoder did not finish", st->in_total, 0, 0, 0);
    if (st->rc_consumed != st->hdr.stream_len)
        return da_fail(st, OTA_ERR_DELTA_CORRUPT, "stream bytes left after the last command",
                       da_patch_off(st), st->hdr.stream_len, st->rc_consumed, 1);
    e = out_flush(st, 1);
    if (e != OTA_OK)
        return e;
    uint8_t digest[OTA_SHA256_LEN];
    e = st->cfg.crypto->sha256_final(&st->sha, digest);
    if (e != OTA_OK)
        return da_fail(st, e, "sha256 of the new image", 0, 0, 0, 0);
    if (st->written != st->xnew_len || st->real_written != st->hdr.new_len)
        return da_fail(st, OTA_ERR_INTERNAL, "bytes written", st->real_written, st->hdr.new_len,
                       st->real_written, 1);
    if (memcmp(digest, st->hdr.result_hash, OTA_SHA256_LEN) != 0)
        return da_fail(st, OTA_ERR_DELTA_RESULT_MISMATCH, "result image sha256", 56,
                       ((uint32_t)st->hdr.result_hash[0] << 24) | ((uint32_t)st->hdr.result_hash[1] << 16) |
                           ((uint32_t)st->hdr.result_hash[2] << 8) | st->hdr.result_hash[3],
                       ((uint32_t)digest[0] << 24) | ((uint32_t)digest[1] << 16) |
                           ((uint32_t)digest[2] << 8) | digest[3],
                       1);
    st->phase = PH_FINISHED;
    return OTA_OK;
}

/* ---- suspend / resume (docs/delta-format.md#resuming) ------------------- */

ota_err ota_delta_apply_suspend(const struct ota_delta_apply *st, struct ota_delta_apply *snap)
{
    if (!st || !snap)
        return OTA_ERR_INVALID_ARG;
    /* Only inside the coded stream: before it nothing was written (a
     * restart costs nothing). */
    if (st->err != OTA_OK || (st->phase != PH_STREAM && st->phase != PH_DONE))
        return OTA_ERR_UNSUPPORTED;
    /* Versions 2/3: not while a new deflate stream is open (its compressor
     * state lives in the port and cannot be kept): later, between two
     * streams. The old-stream cursor is restarted on resume. */
    if (!ota_delta_section_suspendable(st)) {
        const struct ota_delta_zspan *s = &st->cfg.deflate->spans[st->z_nold + st->z_new];
        ota_diag_fill(st->cfg.diag, OTA_ERR_UNSUPPORTED,
                      "suspend: inside a new deflate stream (possible again after it ends)",
                      st->in_total, s->xoff + s->rlen, st->written, 1);
        return OTA_ERR_UNSUPPORTED;
    }
    memcpy(snap, st, sizeof(*snap));
    memset(&snap->cfg, 0, sizeof(snap->cfg));
    return OTA_OK;
}

/* What is wrong with a snapshot (NULL: nothing), and the values compared. */
struct snap_bad {
    const char *field;
    uint32_t expected, found;
    int has_values;
};

static const char *snap_bad(struct snap_bad *b, const char *field, uint32_t expected,
                            uint32_t found)
{
    b->field = field;
    b->expected = expected;
    b->found = found;
    b->has_values = 1;
    return field;
}

/*
 * The invariants every state between two feed() calls keeps, checked on a
 * snapshot before it is used: each buffer index in range, each position
 * inside the images, the runs in progress inside both images, the byte
 * counts consistent with each other (patch bytes taken = decoded +
 * buffered; new bytes decoded = written + buffered), the header the same as
 * its raw bytes, and the range coder in a state from which every step makes
 * progress (a range below 2^24 would never renormalise: a hang).
 */
static const char *snap_check(const struct ota_delta_apply *snap,
                              const struct ota_delta_apply_cfg *cfg, struct snap_bad *b)
{
    const struct ota_delta_header *h = &snap->hdr;
    struct ota_delta_header raw;
    memset(b, 0, sizeof(*b));
    memset(&raw, 0, sizeof(raw));
    if (snap->err != OTA_OK || (snap->phase != PH_STREAM && snap->phase != PH_DONE))
        return snap_bad(b, "phase", PH_STREAM, snap->phase);
    int sec = OTA_DELTA_HAS_SECTION(h->version);
    if ((h->version != OTA_DELTA_VERSION && !sec) || h->filter >= OTA_DELTA_FILTER_COUNT)
        return snap_bad(b, "header", OTA_DELTA_VERSION, h->version);
    if (snap->hdr_len != OTA_DELTA_HEADER_SIZE ||
        ota_delta_header_decode(snap->hdr_buf, OTA_DELTA_HEADER_SIZE, &raw, NULL) != OTA_OK ||
        memcmp(&raw, h, sizeof(raw)) != 0)
        return snap_bad(b, "header", OTA_DELTA_HEADER_SIZE, snap->hdr_len);
    if (snap->in_pos > snap->in_len || snap->in_len > OTA_DELTA_IN_BUF)
        return snap_bad(b, "input buffer", OTA_DELTA_IN_BUF, snap->in_len);
    if (snap->out_len > OTA_DELTA_OUT_BUF || snap->pred_left > 4u)
        return snap_bad(b, "output buffer", OTA_DELTA_OUT_BUF, snap->out_len);
    if (snap->op > OP_EXTRA || snap->last_rep > 1u)
        return snap_bad(b, "decoder state", OP_EXTRA, snap->op);
    if (snap->old_win_len > sizeof(snap->old_buf) || snap->old_win_pos < snap->old_buf_base ||
        snap->old_win_pos - snap->old_buf_base + snap->old_win_len > sizeof(snap->old_buf))
        return snap_bad(b, "old window", (uint32_t)sizeof(snap->old_buf), snap->old_win_len);
    if (snap->map_n > OTA_DELTA_MAP_MAX || snap->map_count > OTA_DELTA_MAP_MAX ||
        snap->vmap_n > OTA_DELTA_VMAP_MAX || snap->vmap_count > OTA_DELTA_VMAP_MAX ||
        snap->code_count > OTA_DELTA_CODE_MAX || snap->code_n > snap->code_count ||
        snap->map_n > snap->map_count || snap->vmap_n > snap->vmap_count)
        return snap_bad(b, "maps", OTA_DELTA_MAP_MAX, snap->map_n);
    /* versions 2/3: the section's counts and the stream table the caller
     * put back into cfg->deflate->spans, consistent with the expanded
     * sizes and with the real bytes written */
    if (sec) {
        uint32_t ex, fd;
        const char *why = ota_delta_section_snap_check(snap, cfg, &ex, &fd);
        if (why)
            return snap_bad(b, why, ex, fd);
    } else if (snap->xold_len != h->old_len || snap->xnew_len != h->new_len ||
               snap->stream_start != OTA_DELTA_HEADER_SIZE) {
        return snap_bad(b, "positions", h->new_len, snap->xnew_len);
    }
    /* positions in the (expanded) images the coded stream sees */
    if (snap->new_pos > snap->xnew_len || snap->written > snap->new_pos ||
        snap->old_pos > snap->xold_len || snap->rc_consumed > h->stream_len ||
        (uint64_t)snap->in_total > (uint64_t)snap->stream_start + h->stream_len)
        return snap_bad(b, "positions", snap->xnew_len, snap->new_pos);
    /* new bytes: decoded = written + waiting in out_buf, all of them real
     * without a deflate section */
    if (snap->written + snap->out_len != snap->new_pos || (!sec && snap->real_written != snap->written))
        return snap_bad(b, "output count", snap->new_pos, snap->written + snap->out_len);
    /* patch bytes: taken = decoded + buffered (after the last command,
     * further stream bytes are counted only) */
    uint32_t taken = snap->in_total - snap->stream_start;
    uint32_t seen = snap->rc_consumed + (snap->in_len - snap->in_pos);
    if (snap->in_total < snap->stream_start ||
        (snap->phase == PH_STREAM ? seen != taken : seen > taken))
        return snap_bad(b, "input count", taken, seen);
    if (snap->phase == PH_DONE && snap->new_pos != snap->xnew_len)
        return snap_bad(b, "positions", snap->xnew_len, snap->new_pos);
    if (snap->op == OP_INIT ? snap->rc_consumed != 0 : snap->rc_range < DM_TOP)
        return snap_bad(b, "range coder", DM_TOP, snap->rc_range);
    /* the step the decoder takes next stays inside its tables and images */
    int ok = 1;
    switch (snap->op) {
    case OP_MAP_ENTRY:
        ok = snap->map_n < snap->map_count;
        break;
    case OP_VMAP_ENTRY:
        ok = snap->vmap_n < snap->vmap_count;
        break;
    case OP_VMAP_END:
        ok = snap->vmap_n != 0 && snap->vmap_n == snap->vmap_count;
        break;
    case OP_CODE_ENTRY:
        ok = snap->code_n < snap->code_count;
        break;
    case OP_DIFF:
        ok = snap->remaining != 0 && snap->remaining <= snap->xold_len - snap->old_pos &&
             snap->remaining <= snap->xnew_len - snap->new_pos && snap->pred_left <= snap->remaining;
        break;
    case OP_EXTRA:
        ok = snap->remaining != 0 && snap->remaining <= snap->xnew_len - snap->new_pos;
        break;
    default:
        break;
    }
    if (!ok)
        return snap_bad(b, "run in progress", snap->xnew_len - snap->new_pos, snap->remaining);
    if (cfg->max_new_len && h->new_len > cfg->max_new_len)
        return snap_bad(b, "new size", cfg->max_new_len, h->new_len);
    if (cfg->old->size < h->old_len)
        return snap_bad(b, "old image size", h->old_len, cfg->old->size);
    return NULL;
}

ota_err ota_delta_apply_resume(struct ota_delta_apply *st, const struct ota_delta_apply_cfg *cfg,
                               const struct ota_delta_apply *snap)
{
    ota_err e = ota_delta_apply_init(st, cfg);
    if (e != OTA_OK)
        return e;
    if (!snap)
        return OTA_ERR_INVALID_ARG;
    /* A snapshot is the applier's own RAM written to storage: checked like
     * input anyway, so that no index in it can reach outside a buffer. */
    struct snap_bad b;
    if (snap_check(snap, cfg, &b)) {
        ota_diag_fill(cfg->diag, OTA_ERR_INVALID_ARG, b.field, snap->in_total, b.expected,
                      b.found, b.has_values);
        return OTA_ERR_INVALID_ARG;
    }
    memcpy(st, snap, sizeof(*st));
    st->cfg = *cfg;
    st->z_cut = 0;
    if (OTA_DELTA_HAS_SECTION(st->hdr.version))
        ota_delta_section_resumed(st);
    return OTA_OK;
}
