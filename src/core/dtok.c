// SPDX-License-Identifier: Apache-2.0
/*
 * dtok.c - the deflate token form (ota/dtok.h, docs/delta-format.md#token-form):
 * the "puffer" rewrites a raw deflate stream (RFC 1951) as token bytes and
 * the "huffer" re-encodes token bytes into exactly the original bits, for
 * deflate streams zlib does not reproduce (GNU gzip, pigz, 7-Zip, ...).
 * Freestanding (no libc beyond memset/memcpy/memmove, no allocation, no
 * window): all state is struct ota_dtok. Used by the device applier
 * (delta_deflate.c) and, through the same code, by the host creator to check
 * each stream round-trips before the patch relies on it.
 */
#include <string.h>

#include "ota/dtok.h"

/* RFC 1951 3.2.5: length and distance codes. */
static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
/* Order of the code length code lengths (RFC 1951 3.2.7). */
static const uint8_t cl_order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

#define DT_NLIT 288u
#define DT_NDIST 32u
#define DT_NONE 0xFFFFFFFFu

static ota_err bad(const char **why, const char *what)
{
    if (why)
        *why = what;
    return OTA_ERR_DELTA_CORRUPT;
}

/* Fixed-Huffman code lengths (RFC 1951 3.2.6) into lens[0..288+32). */
static void fixed_lens(uint8_t *lens)
{
    for (unsigned i = 0; i < DT_NLIT; i++)
        lens[i] = i < 144u ? 8u : i < 256u ? 9u : i < 280u ? 7u : 8u;
    for (unsigned i = 0; i < DT_NDIST; i++)
        lens[DT_NLIT + i] = 5u;
}

/* Counts per length; -1 when the lengths over-subscribe the code space,
 * else the number of unused codes (0: complete). */
static int32_t code_space(const uint8_t *lens, unsigned n, uint16_t count[16])
{
    memset(count, 0, 16u * sizeof(count[0]));
    for (unsigned i = 0; i < n; i++)
        count[lens[i]]++;
    int32_t left = 1;
    for (unsigned l = 1; l < 16u; l++) {
        left = (left << 1) - count[l];
        if (left < 0)
            return -1;
    }
    return left;
}

/* Decoding table of a canonical code; the code_space() result. */
static int32_t build(struct ota_dtok_huff *h, const uint8_t *lens, unsigned n)
{
    int32_t left = code_space(lens, n, h->count);
    if (left < 0)
        return left;
    uint16_t offs[16];
    offs[1] = 0;
    for (unsigned l = 1; l < 15u; l++)
        offs[l + 1u] = (uint16_t)(offs[l] + h->count[l]);
    for (unsigned s = 0; s < n; s++)
        if (lens[s])
            h->sym[offs[lens[s]]++] = (uint16_t)s;
    return left;
}

/* ---- bit sources: the stream (puffer) or a recorded header (huffer) ---- */

static ota_err p_byte(struct ota_dtok *t, uint8_t *b, const char **why)
{
    if (t->in_pos == t->in_fill) {
        if (t->in_off == t->in_len)
            return bad(why, "deflate stream: data past its end");
        uint32_t m = t->in_len - t->in_off;
        if (m > sizeof(t->in))
            m = sizeof(t->in);
        ota_err e = t->read(t->read_ctx, t->in_off, t->in, m);
        if (e != OTA_OK) {
            if (why)
                *why = "deflate stream: read";
            return e;
        }
        t->in_off += m;
        t->in_pos = 0;
        t->in_fill = m;
    }
    *b = t->in[t->in_pos++];
    return OTA_OK;
}

struct dt_src {
    struct ota_dtok *t;
    const uint8_t *mem; /* NULL: the puffer's stream */
    uint32_t pos, end;  /* memory source, in bits */
};

static ota_err src_bits(struct dt_src *s, unsigned n, uint32_t *v, const char **why)
{
    struct ota_dtok *t = s->t;
    if (s->mem) {
        if (s->end - s->pos < n)
            return bad(why, "dynamic block header: shorter than its fields");
        uint32_t x = 0;
        for (unsigned i = 0; i < n; i++, s->pos++)
            x |= (uint32_t)((s->mem[s->pos >> 3] >> (s->pos & 7u)) & 1u) << i;
        *v = x;
        return OTA_OK;
    }
    while (t->bitcnt < n) {
        uint8_t b;
        ota_err e = p_byte(t, &b, why);
        if (e != OTA_OK)
            return e;
        t->bitbuf |= (uint32_t)b << t->bitcnt;
        t->bitcnt += 8u;
    }
    uint32_t x = t->bitbuf & ((1u << n) - 1u);
    t->bitbuf = n < 32u ? t->bitbuf >> n : 0u;
    t->bitcnt -= n;
    if (t->p_rec) {
        /* the header bits go into the DYNAMIC record being built */
        if (t->rec_bits + n > OTA_DTOK_HDR_MAX * 8u)
            return bad(why, "dynamic block header: too long");
        uint8_t *rec = t->pend + t->pend_len;
        for (unsigned i = 0; i < n; i++, t->rec_bits++) {
            if (!(t->rec_bits & 7u))
                rec[t->rec_bits >> 3] = 0;
            rec[t->rec_bits >> 3] |= (uint8_t)(((x >> i) & 1u) << (t->rec_bits & 7u));
        }
    }
    *v = x;
    return OTA_OK;
}

/* One symbol of a canonical code, read a bit at a time (codes are sent
 * most significant bit first). */
static ota_err decode(struct dt_src *s, const struct ota_dtok_huff *h, uint32_t *sym,
                      const char **why)
{
    int32_t code = 0, first = 0, index = 0;
    for (unsigned l = 1; l < 16u; l++) {
        uint32_t b;
        ota_err e = src_bits(s, 1, &b, why);
        if (e != OTA_OK)
            return e;
        code |= (int32_t)b;
        int32_t count = h->count[l];
        if (code - first < count) {
            *sym = h->sym[index + code - first];
            return OTA_OK;
        }
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return bad(why, "deflate stream: invalid Huffman code");
}

/*
 * A dynamic block header after its 3 block bits (RFC 1951 3.2.7): the
 * literal/length lengths into t->lens[0..288), the distance lengths into
 * t->lens[288..320) (unused codes 0). Refuses what zlib's inflate refuses
 * (HLIT > 286, HDIST > 30, incomplete or over-subscribed code length code,
 * over-subscribed codes, no end-of-block code).
 */
static ota_err dyn_header(struct dt_src *s, const char **why)
{
    struct ota_dtok *t = s->t;
    uint32_t hlit, hdist, hclen, v;
    ota_err e = src_bits(s, 5, &hlit, why);
    if (e == OTA_OK)
        e = src_bits(s, 5, &hdist, why);
    if (e == OTA_OK)
        e = src_bits(s, 4, &hclen, why);
    if (e != OTA_OK)
        return e;
    hlit += 257u;
    hdist += 1u;
    hclen += 4u;
    if (hlit > 286u || hdist > 30u)
        return bad(why, "dynamic block header: HLIT > 286 or HDIST > 30");
    uint8_t cll[19];
    memset(cll, 0, sizeof cll);
    for (uint32_t i = 0; i < hclen; i++) {
        e = src_bits(s, 3, &v, why);
        if (e != OTA_OK)
            return e;
        cll[cl_order[i]] = (uint8_t)v;
    }
    if (build(&t->cl, cll, 19) != 0)
        return bad(why, "dynamic block header: code length code not complete");
    memset(t->lens, 0, sizeof t->lens);
    for (uint32_t i = 0; i < hlit + hdist;) {
        uint32_t sym, rep;
        uint8_t val = 0;
        e = decode(s, &t->cl, &sym, why);
        if (e != OTA_OK)
            return e;
        if (sym < 16u) {
            t->lens[i < hlit ? i : DT_NLIT + i - hlit] = (uint8_t)sym;
            i++;
            continue;
        }
        if (sym == 16u) {
            if (i == 0)
                return bad(why, "dynamic block header: repeat with no previous length");
            val = t->lens[i - 1u < hlit ? i - 1u : DT_NLIT + i - 1u - hlit];
            e = src_bits(s, 2, &rep, why);
            rep += 3u;
        } else if (sym == 17u) {
            e = src_bits(s, 3, &rep, why);
            rep += 3u;
        } else {
            e = src_bits(s, 7, &rep, why);
            rep += 11u;
        }
        if (e != OTA_OK)
            return e;
        if (i + rep > hlit + hdist)
            return bad(why, "dynamic block header: lengths repeat past HLIT + HDIST");
        for (; rep; rep--, i++)
            t->lens[i < hlit ? i : DT_NLIT + i - hlit] = val;
    }
    uint16_t count[16];
    if (t->lens[256] == 0)
        return bad(why, "dynamic block header: no end-of-block code");
    if (code_space(t->lens, DT_NLIT, count) < 0 || code_space(t->lens + DT_NLIT, DT_NDIST, count) < 0)
        return bad(why, "dynamic block header: over-subscribed code");
    return OTA_OK;
}

/* ---- puffer ------------------------------------------------------------ */

enum { P_BLOCK, P_SYMS, P_STORED, P_DONE };

void ota_dtok_puff_reset(struct ota_dtok *t, ota_dtok_read_fn read, void *ctx, uint32_t in_len)
{
    t->read = read;
    t->read_ctx = ctx;
    t->in_len = in_len;
    t->in_off = t->in_pos = t->in_fill = 0;
    t->bitbuf = t->bitcnt = 0;
    t->p_mode = P_BLOCK;
    t->p_final = t->p_rec = 0;
    t->rec_bits = t->stored_left = 0;
    t->run_at = DT_NONE;
    t->pend_pos = t->pend_len = t->pend_ready = 0;
    t->out_total = t->hdr_off = 0;
    t->hdr_bitbuf = t->hdr_bitcnt = 0;
    t->cp_n = 0;
    t->cp_spacing = OTA_DTOK_CP_SPACING;
}

uint32_t ota_dtok_puff_consumed(const struct ota_dtok *t)
{
    return t->in_off - (t->in_fill - t->in_pos);
}

/* The input restarts at byte off with these bits left over of the byte
 * before it. */
static void p_seek(struct ota_dtok *t, uint32_t off, uint8_t bitbuf, uint8_t bitcnt)
{
    t->in_off = off;
    t->in_pos = t->in_fill = 0;
    t->bitbuf = bitbuf;
    t->bitcnt = bitcnt;
}

static ota_err p_block(struct ota_dtok *t, const char **why);

static uint32_t cp_find(const struct ota_dtok *t, uint32_t xpos)
{
    uint32_t lo = 0, hi = t->cp_n; /* the last k with cp[k].xpos <= xpos */
    while (hi - lo > 1u) {
        uint32_t mid = lo + (hi - lo) / 2u;
        if (t->cp[mid].xpos <= xpos)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

uint32_t ota_dtok_puff_checkpoint(const struct ota_dtok *t, uint32_t xpos)
{
    uint32_t x = t->cp_n ? t->cp[cp_find(t, xpos)].xpos : 0u;
    return x <= xpos ? x : 0u;
}

void ota_dtok_puff_rewind(struct ota_dtok *t, uint32_t xpos, uint32_t *at)
{
    uint32_t k = cp_find(t, xpos);
    uint32_t n = t->cp_n, spacing = t->cp_spacing;
    ota_dtok_puff_reset(t, t->read, t->read_ctx, t->in_len);
    t->cp_n = n;
    t->cp_spacing = spacing;
    *at = 0;
    if (!n || t->cp[k].xpos == 0 || t->cp[k].xpos > xpos)
        return; /* from the start */
    const struct ota_dtok_cp *c = &t->cp[k];
    /* the block's header again (its codes), then the checkpoint; a failure
     * (a read error: the header decoded before) restarts from the start */
    p_seek(t, c->hdr_off, c->hdr_bitbuf, c->hdr_bitcnt);
    if (p_block(t, NULL) != OTA_OK || t->p_mode != P_SYMS) {
        ota_dtok_puff_reset(t, t->read, t->read_ctx, t->in_len);
        t->cp_n = n;
        t->cp_spacing = spacing;
        return;
    }
    t->pend_len = t->pend_pos = t->pend_ready = 0;
    t->run_at = DT_NONE;
    p_seek(t, c->in_off, c->bitbuf, c->bitcnt);
    t->hdr_off = c->hdr_off;
    t->hdr_bitbuf = c->hdr_bitbuf;
    t->hdr_bitcnt = c->hdr_bitcnt;
    t->out_total = c->xpos;
    *at = c->xpos;
}

/* Between records of a Huffman block (or before a block), no literal run
 * open: remember the place when it is far enough from the last one. */
static void p_checkpoint(struct ota_dtok *t)
{
    uint32_t x = t->out_total + (t->pend_len - t->pend_pos);
    if (t->cp_n && x < t->cp[t->cp_n - 1u].xpos + t->cp_spacing)
        return;
    if (t->cp_n == OTA_DTOK_CHECKPOINTS) {
        /* full: keep every other one, twice the spacing */
        for (uint32_t i = 0; i < OTA_DTOK_CHECKPOINTS / 2u; i++)
            t->cp[i] = t->cp[2u * i];
        t->cp_n = OTA_DTOK_CHECKPOINTS / 2u;
        t->cp_spacing *= 2u;
        if (x < t->cp[t->cp_n - 1u].xpos + t->cp_spacing)
            return;
    }
    struct ota_dtok_cp *c = &t->cp[t->cp_n++];
    c->xpos = x;
    c->in_off = ota_dtok_puff_consumed(t);
    c->bitbuf = (uint8_t)t->bitbuf;
    c->bitcnt = (uint8_t)t->bitcnt;
    c->hdr_off = t->hdr_off;
    c->hdr_bitbuf = t->hdr_bitbuf;
    c->hdr_bitcnt = t->hdr_bitcnt;
}

static void p_put(struct ota_dtok *t, uint8_t b)
{
    t->pend[t->pend_len++] = b;
}

/* The block ended: the next one, or the END record with the last byte's
 * remaining bits. */
static void p_block_end(struct ota_dtok *t)
{
    if (!t->p_final) {
        t->p_mode = P_BLOCK;
        return;
    }
    p_put(t, OTA_DTOK_END);
    p_put(t, (uint8_t)(t->bitbuf & ((1u << t->bitcnt) - 1u)));
    t->bitbuf = t->bitcnt = 0;
    t->p_mode = P_DONE;
}

static ota_err p_block(struct ota_dtok *t, const char **why)
{
    struct dt_src s = {t, NULL, 0, 0};
    uint32_t v;
    ota_err e = src_bits(&s, 3, &v, why);
    if (e != OTA_OK)
        return e;
    t->p_final = (uint8_t)(v & 1u);
    uint32_t type = v >> 1;
    if (type == 0) {
        /* stored: the rest of the byte is padding, then LEN and NLEN */
        uint8_t pad = (uint8_t)(t->bitbuf & ((1u << t->bitcnt) - 1u));
        uint32_t len, nlen;
        t->bitbuf = t->bitcnt = 0;
        e = src_bits(&s, 16, &len, why);
        if (e == OTA_OK)
            e = src_bits(&s, 16, &nlen, why);
        if (e != OTA_OK)
            return e;
        if (nlen != (~len & 0xFFFFu))
            return bad(why, "stored block: NLEN is not the complement of LEN");
        p_put(t, (uint8_t)(OTA_DTOK_STORED + t->p_final));
        p_put(t, pad);
        p_put(t, (uint8_t)len);
        p_put(t, (uint8_t)(len >> 8));
        t->stored_left = len;
        if (len)
            t->p_mode = P_STORED;
        else
            p_block_end(t);
        return OTA_OK;
    }
    if (type == 1) {
        fixed_lens(t->lens);
        build(&t->lit, t->lens, DT_NLIT);
        build(&t->dist, t->lens + DT_NLIT, DT_NDIST);
        p_put(t, (uint8_t)(OTA_DTOK_FIXED + t->p_final));
        t->p_mode = P_SYMS;
        return OTA_OK;
    }
    if (type == 3)
        return bad(why, "deflate stream: block type 3");
    /* dynamic: the header's bits are recorded as they are read */
    uint32_t at = t->pend_len;
    p_put(t, (uint8_t)(OTA_DTOK_DYNAMIC + t->p_final));
    t->pend_len += 2u;
    t->p_rec = 1;
    t->rec_bits = 0;
    e = dyn_header(&s, why);
    t->p_rec = 0;
    if (e != OTA_OK)
        return e;
    t->pend[at + 1u] = (uint8_t)t->rec_bits;
    t->pend[at + 2u] = (uint8_t)(t->rec_bits >> 8);
    t->pend_len += (t->rec_bits + 7u) / 8u;
    if (build(&t->lit, t->lens, DT_NLIT) < 0 || build(&t->dist, t->lens + DT_NLIT, DT_NDIST) < 0)
        return bad(why, "dynamic block header: over-subscribed code");
    t->p_mode = P_SYMS;
    return OTA_OK;
}

static ota_err p_symbol(struct ota_dtok *t, const char **why)
{
    struct dt_src s = {t, NULL, 0, 0};
    uint32_t sym, x;
    ota_err e = decode(&s, &t->lit, &sym, why);
    if (e != OTA_OK)
        return e;
    if (sym < 256u) {
        if (t->run_at == DT_NONE || t->pend[t->run_at] == OTA_DTOK_LIT_MAX - 1u) {
            t->run_at = t->pend_len;
            p_put(t, 0);
        } else {
            t->pend[t->run_at]++;
        }
        p_put(t, (uint8_t)sym);
        return OTA_OK;
    }
    t->run_at = DT_NONE;
    if (sym == 256u) {
        p_put(t, OTA_DTOK_EOB);
        p_block_end(t);
        return OTA_OK;
    }
    sym -= 257u;
    if (sym >= 29u)
        return bad(why, "deflate stream: length code 286 or 287");
    e = src_bits(&s, len_extra[sym], &x, why);
    if (e != OTA_OK)
        return e;
    uint32_t len = len_base[sym] + x;
    if (len > 258u || (sym == 27u && len == 258u))
        return bad(why, "deflate stream: length 258 not coded as 285");
    e = decode(&s, &t->dist, &sym, why);
    if (e != OTA_OK)
        return e;
    if (sym >= 30u)
        return bad(why, "deflate stream: distance code 30 or 31");
    e = src_bits(&s, dist_extra[sym], &x, why);
    if (e != OTA_OK)
        return e;
    uint32_t d = dist_base[sym] + x - 1u;
    p_put(t, (uint8_t)(OTA_DTOK_MATCH + (d >> 8)));
    p_put(t, (uint8_t)d);
    p_put(t, (uint8_t)(len - 3u));
    return OTA_OK;
}

static ota_err p_step(struct ota_dtok *t, const char **why)
{
    if (t->p_mode == P_BLOCK) {
        t->hdr_off = ota_dtok_puff_consumed(t);
        t->hdr_bitbuf = (uint8_t)t->bitbuf;
        t->hdr_bitcnt = (uint8_t)t->bitcnt;
        return p_block(t, why);
    }
    if (t->p_mode == P_SYMS) {
        if (t->run_at == DT_NONE)
            p_checkpoint(t);
        return p_symbol(t, why);
    }
    /* stored bytes, as many as fit */
    while (t->stored_left && t->pend_len < sizeof(t->pend)) {
        uint8_t b;
        ota_err e = p_byte(t, &b, why);
        if (e != OTA_OK)
            return e;
        p_put(t, b);
        t->stored_left--;
    }
    if (!t->stored_left)
        p_block_end(t);
    return OTA_OK;
}

ota_err ota_dtok_puff_read(struct ota_dtok *t, uint8_t *out, size_t *n, const char **why)
{
    size_t want = *n, got = 0;
    *n = 0;
    while (got < want) {
        if (t->pend_pos < t->pend_ready) {
            size_t m = t->pend_ready - t->pend_pos;
            if (m > want - got)
                m = want - got;
            memcpy(out + got, t->pend + t->pend_pos, m);
            t->pend_pos += (uint32_t)m;
            t->out_total += (uint32_t)m;
            got += m;
            continue;
        }
        if (t->p_mode == P_DONE)
            break;
        /* everything before pend_pos was read: keep only the open run, and
         * move it only when the largest record might not fit after it */
        if (t->pend_pos == t->pend_len) {
            t->pend_pos = t->pend_len = 0;
        } else if (t->pend_pos && t->pend_len > sizeof(t->pend) - OTA_DTOK_HDR_MAX - 8u) {
            memmove(t->pend, t->pend + t->pend_pos, t->pend_len - t->pend_pos);
            if (t->run_at != DT_NONE)
                t->run_at -= t->pend_pos;
            t->pend_len -= t->pend_pos;
            t->pend_pos = 0;
        }
        ota_err e = p_step(t, why);
        if (e != OTA_OK)
            return e;
        t->pend_ready = t->run_at != DT_NONE && t->p_mode != P_DONE ? t->run_at : t->pend_len;
    }
    *n = got;
    return OTA_OK;
}

/* ---- huffer -------------------------------------------------------------- */

enum { H_LEAD, H_LIT, H_MATCH, H_DYNLEN, H_DYNHDR, H_STHDR, H_STDATA, H_ENDPAD, H_DONE };

void ota_dtok_huff_reset(struct ota_dtok *t)
{
    t->h_mode = H_LEAD;
    t->h_final = t->h_block = 0;
    t->h_need = t->h_have = t->h_left = t->h_nbits = 0;
    t->acc = 0;
    t->acc_bits = 0;
    t->out_len = 0;
}

struct dt_sink {
    ota_dtok_emit_fn emit;
    void *ctx;
};

static ota_err put(struct ota_dtok *t, const struct dt_sink *k, uint32_t v, unsigned n)
{
    t->acc |= (uint64_t)v << t->acc_bits;
    t->acc_bits += n;
    while (t->acc_bits >= 8u) {
        t->out[t->out_len++] = (uint8_t)t->acc;
        t->acc >>= 8;
        t->acc_bits -= 8u;
        if (t->out_len == sizeof(t->out)) {
            t->out_len = 0;
            ota_err e = k->emit(k->ctx, t->out, sizeof(t->out));
            if (e != OTA_OK)
                return e;
        }
    }
    return OTA_OK;
}

/* Canonical codes (bit-reversed, as they are sent) from t->len. */
static void codes(struct ota_dtok *t, unsigned from, unsigned n)
{
    uint16_t count[16], next[16];
    code_space(t->len + from, n, count);
    count[0] = 0;
    uint32_t c = 0;
    for (unsigned l = 1; l < 16u; l++) {
        c = (c + count[l - 1u]) << 1;
        next[l] = (uint16_t)c;
    }
    for (unsigned s = 0; s < n; s++) {
        unsigned l = t->len[from + s];
        uint32_t r = 0;
        if (l) {
            uint32_t x = next[l]++;
            for (unsigned i = 0; i < l; i++)
                r |= ((x >> i) & 1u) << (l - 1u - i);
        }
        t->code[from + s] = (uint16_t)r;
    }
}

static ota_err put_sym(struct ota_dtok *t, const struct dt_sink *k, unsigned i, const char **why)
{
    if (!t->len[i])
        return bad(why, "token form: symbol without a code in this block");
    return put(t, k, t->code[i], t->len[i]);
}

/* The pad bits up to the next byte boundary. */
static ota_err put_pad(struct ota_dtok *t, const struct dt_sink *k, uint8_t pad, const char **why)
{
    unsigned n = (8u - t->acc_bits) & 7u;
    if (pad >> n)
        return bad(why, "token form: pad bits beyond the byte boundary");
    return put(t, k, pad, n);
}

static ota_err h_match(struct ota_dtok *t, const struct dt_sink *k, const char **why)
{
    uint32_t d = (((uint32_t)t->hdr[0] - OTA_DTOK_MATCH) << 8 | t->hdr[1]) + 1u;
    uint32_t len = t->hdr[2] + 3u;
    unsigned ls = 28, ds = 29;
    while (len_base[ls] > len)
        ls--;
    while (dist_base[ds] > d)
        ds--;
    ota_err e = put_sym(t, k, 257u + ls, why);
    if (e == OTA_OK)
        e = put(t, k, len - len_base[ls], len_extra[ls]);
    if (e == OTA_OK)
        e = put_sym(t, k, DT_NLIT + ds, why);
    if (e == OTA_OK)
        e = put(t, k, d - dist_base[ds], dist_extra[ds]);
    return e;
}

static ota_err h_block_done(struct ota_dtok *t)
{
    t->h_block = 0;
    t->h_mode = H_LEAD;
    return OTA_OK;
}

static ota_err h_lead(struct ota_dtok *t, const struct dt_sink *k, uint8_t b, const char **why)
{
    if ((b < OTA_DTOK_FIXED || b == OTA_DTOK_EOB) && !t->h_block)
        return bad(why, "token form: literal, match or end of block outside a block");
    if (b < OTA_DTOK_MATCH) {
        t->h_left = b + 1u;
        t->h_mode = H_LIT;
        return OTA_OK;
    }
    if (b < OTA_DTOK_FIXED) {
        t->hdr[0] = b;
        t->h_have = 1;
        t->h_mode = H_MATCH;
        return OTA_OK;
    }
    if (b == OTA_DTOK_EOB) {
        ota_err e = put_sym(t, k, 256, why);
        if (e != OTA_OK)
            return e;
        return h_block_done(t);
    }
    if (b == OTA_DTOK_END) {
        if (t->h_block || !t->h_final)
            return bad(why, "token form: end of stream before the final block ended");
        t->h_mode = H_ENDPAD;
        return OTA_OK;
    }
    if (b > OTA_DTOK_END)
        return bad(why, "token form: unknown record");
    /* a block starts */
    if (t->h_block || t->h_final)
        return bad(why, "token form: block inside a block or after the final one");
    t->h_final = b & 1u;
    unsigned kind = (b - OTA_DTOK_FIXED) >> 1; /* 0 fixed, 1 dynamic, 2 stored */
    static const uint8_t btype[3] = {1, 2, 0};
    ota_err e = put(t, k, t->h_final | (uint32_t)btype[kind] << 1, 3);
    if (e != OTA_OK)
        return e;
    t->h_have = 0;
    if (kind == 0) {
        fixed_lens(t->len);
        codes(t, 0, DT_NLIT);
        codes(t, DT_NLIT, DT_NDIST);
        t->h_block = 1;
        t->h_mode = H_LEAD;
    } else {
        t->h_need = kind == 1 ? 2u : 3u;
        t->h_mode = kind == 1 ? H_DYNLEN : H_STHDR;
    }
    return OTA_OK;
}

/* A dynamic header's recorded bits are in hdr: check them, send them, make
 * the block's codes. */
static ota_err h_dynamic(struct ota_dtok *t, const struct dt_sink *k, const char **why)
{
    struct dt_src s = {t, t->hdr, 0, t->h_nbits};
    ota_err e = dyn_header(&s, why);
    if (e != OTA_OK)
        return e;
    if (s.pos != t->h_nbits)
        return bad(why, "token form: dynamic header longer than its fields");
    if (t->h_nbits & 7u && t->hdr[t->h_nbits >> 3] >> (t->h_nbits & 7u))
        return bad(why, "token form: dynamic header padding not zero");
    for (uint32_t i = 0; i < t->h_nbits && e == OTA_OK; i += 8u) {
        unsigned n = t->h_nbits - i < 8u ? t->h_nbits - i : 8u;
        e = put(t, k, t->hdr[i >> 3] & ((1u << n) - 1u), n);
    }
    if (e != OTA_OK)
        return e;
    memcpy(t->len, t->lens, sizeof t->len);
    codes(t, 0, DT_NLIT);
    codes(t, DT_NLIT, DT_NDIST);
    t->h_block = 1;
    t->h_mode = H_LEAD;
    return OTA_OK;
}

static ota_err h_byte(struct ota_dtok *t, const struct dt_sink *k, uint8_t b, const char **why)
{
    ota_err e;
    switch (t->h_mode) {
    case H_LEAD:
        return h_lead(t, k, b, why);
    case H_LIT:
        e = put_sym(t, k, b, why);
        if (--t->h_left == 0)
            t->h_mode = H_LEAD;
        return e;
    case H_MATCH:
        t->hdr[t->h_have++] = b;
        if (t->h_have < 3u)
            return OTA_OK;
        t->h_mode = H_LEAD;
        return h_match(t, k, why);
    case H_DYNLEN:
        t->hdr[t->h_have++] = b;
        if (t->h_have < 2u)
            return OTA_OK;
        t->h_nbits = (uint32_t)t->hdr[0] | (uint32_t)t->hdr[1] << 8;
        if (t->h_nbits < 14u || t->h_nbits > OTA_DTOK_HDR_MAX * 8u)
            return bad(why, "token form: dynamic header size");
        t->h_need = (t->h_nbits + 7u) / 8u;
        t->h_have = 0;
        t->h_mode = H_DYNHDR;
        return OTA_OK;
    case H_DYNHDR:
        t->hdr[t->h_have++] = b;
        if (t->h_have < t->h_need)
            return OTA_OK;
        return h_dynamic(t, k, why);
    case H_STHDR:
        t->hdr[t->h_have++] = b;
        if (t->h_have < 3u)
            return OTA_OK;
        t->h_left = (uint32_t)t->hdr[1] | (uint32_t)t->hdr[2] << 8;
        e = put_pad(t, k, t->hdr[0], why);
        if (e == OTA_OK)
            e = put(t, k, t->h_left, 16);
        if (e == OTA_OK)
            e = put(t, k, ~t->h_left & 0xFFFFu, 16);
        if (e != OTA_OK)
            return e;
        if (t->h_left == 0)
            return h_block_done(t);
        t->h_mode = H_STDATA;
        return OTA_OK;
    case H_STDATA:
        e = put(t, k, b, 8);
        if (e == OTA_OK && --t->h_left == 0)
            return h_block_done(t);
        return e;
    case H_ENDPAD:
        e = put_pad(t, k, b, why);
        t->h_mode = H_DONE;
        return e;
    default:
        return bad(why, "token form: bytes after the end of the stream");
    }
}

ota_err ota_dtok_huff_feed(struct ota_dtok *t, const uint8_t *in, size_t n, ota_dtok_emit_fn emit,
                           void *ctx, const char **why)
{
    struct dt_sink k = {emit, ctx};
    for (size_t i = 0; i < n; i++) {
        ota_err e = h_byte(t, &k, in[i], why);
        if (e != OTA_OK)
            return e;
    }
    return OTA_OK;
}

ota_err ota_dtok_huff_finish(struct ota_dtok *t, ota_dtok_emit_fn emit, void *ctx,
                             const char **why)
{
    if (t->h_mode != H_DONE)
        return bad(why, "token form: ends before its END record");
    if (t->out_len) {
        uint32_t n = t->out_len;
        t->out_len = 0;
        return emit(ctx, t->out, n);
    }
    return OTA_OK;
}
