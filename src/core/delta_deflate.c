// SPDX-License-Identifier: Apache-2.0
/*
 * delta_deflate.c - the deflate section of a version 2 delta patch
 * (docs/delta-format.md#deflate-section), on the device side: parses the
 * table of old and new deflate streams, presents the coded stream with the
 * "expanded" old image (old streams inflated on demand through the deflate
 * port) and turns the expanded new image it produces back into the real one
 * (new streams re-compressed through the port with their recorded zlib
 * parameters). Freestanding: the compressor is the port's (ota/deflate.h);
 * this file only keeps cursors and checks, and all memory is the caller's.
 *
 * Version 3 adds streams in token form (ota/dtok.h): old ones are rewritten
 * as tokens by the port's token codec instead of inflated, new ones are
 * re-encoded from their tokens instead of re-compressed by zlib.
 *
 * Version 1 patches go straight through (old reads and new writes are
 * unchanged), so their behaviour is exactly the one before version 2.
 */
#include <string.h>

#include "delta_internal.h"
#include "le.h"

#define ZS_HEAD 12u /* sec_len, n_old, n_new */
#define ZS_OLD 12u  /* off, clen, rlen (version 2) */
#define ZS_NEW 16u  /* off, clen, rlen, level, wbits, memlevel, strategy */

/* Old entries: 12 bytes in version 2, 16 (with parameters) in version 3. */
static uint32_t old_entry_size(const struct ota_delta_apply *st)
{
    return st->hdr.version == OTA_DELTA_VERSION_TOKENS ? ZS_NEW : ZS_OLD;
}

static int is_tokens(const struct ota_delta_zspan *s)
{
    return s->par.level == OTA_DEFLATE_TOKENS;
}

ota_err ota_delta_section_check_port(struct ota_delta_apply *st)
{
    const struct ota_deflate_port *z = st->cfg.deflate;
    if (!z)
        return ota_delta_fail(st, OTA_ERR_UNSUPPORTED,
                              "version 2/3 (deflate section): no deflate port in this applier",
                              4, OTA_DELTA_VERSION, st->hdr.version, 1);
    if (!z->inflate_reset || !z->inflate || !z->deflate_reset || !z->deflate || !z->spans ||
        !z->work || z->work_len < OTA_DEFLATE_WORK_MIN)
        return ota_delta_fail(st, OTA_ERR_INVALID_ARG, "deflate port (functions, spans, work)",
                              0, OTA_DEFLATE_WORK_MIN, (uint32_t)z->work_len, 1);
    if (st->hdr.version == OTA_DELTA_VERSION_TOKENS && !z->tok)
        return ota_delta_fail(st, OTA_ERR_UNSUPPORTED,
                              "version 3 (token form): no token codec in this deflate port", 4,
                              OTA_DELTA_VERSION_DEFLATE, OTA_DELTA_VERSION_TOKENS, 1);
    return OTA_OK;
}

static int params_ok(const struct ota_deflate_params *p)
{
    return p->level <= 9u && p->wbits >= 9u && p->wbits <= 15u && p->memlevel >= 1u &&
           p->memlevel <= 9u && p->strategy <= 4u;
}

static int params_ok_entry(uint8_t version, const struct ota_delta_zspan *s)
{
    int tokens = version == OTA_DELTA_VERSION_TOKENS && is_tokens(s) && !s->par.wbits &&
                 !s->par.memlevel && !s->par.strategy;
    return tokens || params_ok(&s->par);
}

/* What is wrong with entry i of a stream table whose entries [first, i)
 * were accepted (streams ascend, do not overlap, lie inside the image of
 * len bytes, are not empty): 0 nothing (*xoff: where it starts expanded),
 * 1 its offset, 2 its length, 3 its expanded end. Shared by the section
 * parser and the resume check of a restored table. */
static int span_bad(const struct ota_delta_zspan *spans, uint32_t first, uint32_t i, uint32_t len,
                    uint64_t *xoff)
{
    const struct ota_delta_zspan *s = &spans[i];
    uint64_t prev_end = i > first ? (uint64_t)spans[i - 1u].off + spans[i - 1u].clen : 0u;
    if (s->off < prev_end)
        return 1;
    if (s->clen == 0 || s->rlen == 0 || (uint64_t)s->off + s->clen > len)
        return 2;
    *xoff = i > first ? (uint64_t)spans[i - 1u].xoff + spans[i - 1u].rlen + (s->off - prev_end)
                      : s->off;
    if (*xoff + s->rlen > 0xFFFFFFFFu)
        return 3;
    return 0;
}

/* One entry: index i of the table (old streams first), entry bytes in b. */
static ota_err section_entry(struct ota_delta_apply *st, uint32_t i, const uint8_t *b,
                             uint32_t at)
{
    struct ota_delta_zspan *spans = st->cfg.deflate->spans;
    int is_old = i < st->z_nold;
    uint32_t first = is_old ? 0u : st->z_nold;
    uint32_t len = is_old ? st->hdr.old_len : st->hdr.new_len;
    struct ota_delta_zspan *s = &spans[i];
    memset(s, 0, sizeof(*s));
    s->off = ota_le_get32(b);
    s->clen = ota_le_get32(b + 4);
    s->rlen = ota_le_get32(b + 8);
    if (!is_old || st->hdr.version == OTA_DELTA_VERSION_TOKENS) {
        s->par.level = b[12];
        s->par.wbits = b[13];
        s->par.memlevel = b[14];
        s->par.strategy = b[15];
        if (!params_ok_entry(st->hdr.version, s))
            return ota_delta_fail(st, OTA_ERR_DELTA_CORRUPT,
                                  "deflate section: zlib parameters (level, wbits, memlevel, strategy)",
                                  at + 12u, 0, ota_le_get32(b + 12), 1);
    }
    uint64_t xoff = 0;
    switch (span_bad(spans, first, i, len, &xoff)) {
    case 1:
        return ota_delta_fail(st, OTA_ERR_DELTA_CORRUPT, "deflate section: stream offset", at,
                              i > first ? spans[i - 1u].off + spans[i - 1u].clen : 0u, s->off, 1);
    case 2:
        return ota_delta_fail(st, OTA_ERR_DELTA_CORRUPT, "deflate section: stream length", at + 4u,
                              len - s->off, s->clen, 1);
    case 3:
        return ota_delta_fail(st, OTA_ERR_DELTA_CORRUPT, "deflate section: expanded size", at + 8u,
                              0xFFFFFFFFu, s->rlen, 1);
    default:
        break;
    }
    s->xoff = (uint32_t)xoff;
    return OTA_OK;
}

/* Expanded length of an image of len bytes whose streams are spans[a, b). */
static uint64_t expanded_len(const struct ota_delta_zspan *spans, uint32_t a, uint32_t b,
                             uint32_t len)
{
    if (a == b)
        return len;
    const struct ota_delta_zspan *l = &spans[b - 1u];
    return (uint64_t)l->xoff + l->rlen + (len - l->off - l->clen);
}

/* The whole section is in: expanded sizes, where the coded stream starts. */
static ota_err section_done(struct ota_delta_apply *st)
{
    const struct ota_delta_zspan *spans = st->cfg.deflate->spans;
    uint32_t n = st->z_nold + st->z_nnew;
    uint64_t xo = expanded_len(spans, 0, st->z_nold, st->hdr.old_len);
    uint64_t xn = expanded_len(spans, st->z_nold, n, st->hdr.new_len);
    if (xo > 0xFFFFFFFFu || xn > 0xFFFFFFFFu)
        return ota_delta_fail(st, OTA_ERR_DELTA_CORRUPT, "deflate section: expanded size",
                              OTA_DELTA_HEADER_SIZE, 0xFFFFFFFFu,
                              (uint32_t)((xo > xn ? xo : xn) >> 32), 1);
    if ((uint64_t)OTA_DELTA_HEADER_SIZE + st->z_sec_len + st->hdr.stream_len > 0xFFFFFFFFu)
        return ota_delta_fail(st, OTA_ERR_DELTA_CORRUPT, "deflate section: patch size", 16,
                              0xFFFFFFFFu - OTA_DELTA_HEADER_SIZE - st->z_sec_len,
                              st->hdr.stream_len, 1);
    st->xold_len = (uint32_t)xo;
    st->xnew_len = (uint32_t)xn;
    st->z_cur = 0;
    st->z_new = 0;
    st->z_out = 0;
    st->stream_start = OTA_DELTA_HEADER_SIZE + st->z_sec_len;
    return OTA_OK;
}

ota_err ota_delta_section_feed(struct ota_delta_apply *st, const uint8_t *p, size_t len,
                               size_t *took)
{
    *took = 0;
    while (len && st->stream_start == OTA_DELTA_HEADER_SIZE) {
        uint32_t at = OTA_DELTA_HEADER_SIZE + st->z_sec_pos;
        uint32_t idx = st->z_sec_pos < ZS_HEAD ? 0u : 1u;
        uint32_t want = ZS_HEAD;
        uint32_t entry = 0;
        if (idx) {
            uint32_t rel = st->z_sec_pos - ZS_HEAD;
            uint32_t eo = old_entry_size(st);
            uint32_t old_bytes = st->z_nold * eo;
            entry = rel < old_bytes ? rel / eo : st->z_nold + (rel - old_bytes) / ZS_NEW;
            want = entry < st->z_nold ? eo : ZS_NEW;
            at = OTA_DELTA_HEADER_SIZE + ZS_HEAD +
                 (entry < st->z_nold ? entry * eo : old_bytes + (entry - st->z_nold) * ZS_NEW);
        }
        size_t take = want - st->z_buf_len;
        if (take > len)
            take = len;
        memcpy(st->z_buf + st->z_buf_len, p, take);
        st->z_buf_len = (uint8_t)(st->z_buf_len + take);
        st->z_sec_pos += (uint32_t)take;
        *took += take;
        p += take;
        len -= take;
        if (st->z_buf_len < want)
            break;
        st->z_buf_len = 0;
        ota_err e;
        if (!idx) {
            st->z_sec_len = ota_le_get32(st->z_buf);
            st->z_nold = ota_le_get32(st->z_buf + 4);
            st->z_nnew = ota_le_get32(st->z_buf + 8);
            uint64_t n = (uint64_t)st->z_nold + st->z_nnew;
            uint64_t need = ZS_HEAD + (uint64_t)st->z_nold * old_entry_size(st) +
                            (uint64_t)st->z_nnew * ZS_NEW;
            if (need != st->z_sec_len)
                return ota_delta_fail(st, OTA_ERR_DELTA_CORRUPT,
                                      st->hdr.version == OTA_DELTA_VERSION_TOKENS
                                          ? "deflate section: sec_len vs. 12 + 16 (n_old + n_new)"
                                          : "deflate section: sec_len vs. 12 + 12 n_old + 16 n_new",
                                      OTA_DELTA_HEADER_SIZE, (uint32_t)need, st->z_sec_len, 1);
            if (n > st->cfg.deflate->span_cap)
                return ota_delta_fail(st, OTA_ERR_TOO_LARGE,
                                      "deflate section: streams vs. the port's span table",
                                      OTA_DELTA_HEADER_SIZE + 4u, st->cfg.deflate->span_cap,
                                      (uint32_t)n, 1);
        } else {
            e = section_entry(st, entry, st->z_buf, at);
            if (e != OTA_OK)
                return e;
        }
        if (st->z_sec_pos == st->z_sec_len) {
            e = section_done(st);
            if (e != OTA_OK)
                return e;
        }
    }
    return OTA_OK;
}

/* ---- the expanded old image ------------------------------------------- */

static ota_err old_raw(struct ota_delta_apply *st, uint32_t off, uint8_t *buf, uint32_t n)
{
    ota_err e = st->cfg.old->read(st->cfg.old->ctx, off, buf, n);
    if (e != OTA_OK)
        return ota_delta_fail(st, e, "old image read", off, 0, 0, 0);
    return OTA_OK;
}

/*
 * The last bytes the old-stream cursor produced, in z_buf (free once the
 * section is parsed; z_buf_len of them valid): the applier's old window
 * re-reads a few bytes before where its last read ended (instruction
 * context at the window edge), which must not restart the stream.
 */
#define ZS_HIST sizeof(((struct ota_delta_apply *)0)->z_buf)

static void hist_push(struct ota_delta_apply *st, const uint8_t *d, size_t n)
{
    if (n >= ZS_HIST) {
        memcpy(st->z_buf, d + n - ZS_HIST, ZS_HIST);
        st->z_buf_len = (uint8_t)ZS_HIST;
        return;
    }
    memmove(st->z_buf, st->z_buf + n, ZS_HIST - n);
    memcpy(st->z_buf + ZS_HIST - n, d, n);
    st->z_buf_len = (uint8_t)(st->z_buf_len + n > ZS_HIST ? ZS_HIST : st->z_buf_len + n);
}

/* The old-stream cursor produced ol bytes into dst (the caller's buffer,
 * or scratch while it skips ahead to r): count them, keep the last ones,
 * and move the caller's request on when they were its bytes. */
static void cursor_took(struct ota_delta_apply *st, const uint8_t *dst, size_t ol, uint8_t **buf,
                        uint32_t *n, uint32_t *r)
{
    st->z_raw += (uint32_t)ol;
    hist_push(st, dst, ol);
    if (dst == *buf) {
        *buf += ol;
        *n -= (uint32_t)ol;
        *r += (uint32_t)ol;
    }
}

/* The token codec reads the current old stream's compressed bytes. */
static ota_err tok_read(void *ctx, uint32_t off, uint8_t *buf, uint32_t n)
{
    struct ota_delta_apply *st = ctx;
    const struct ota_delta_zspan *s = &st->cfg.deflate->spans[st->z_cur - 1u];
    return old_raw(st, s->off + off, buf, n);
}

/* A token codec failure: recorded unless the read under it already was. */
static ota_err tok_fail(struct ota_delta_apply *st, ota_err e, const char *why, uint32_t off,
                        ota_err code)
{
    if (st->err != OTA_OK)
        return st->err;
    return ota_delta_fail(st, e == OTA_ERR_DELTA_CORRUPT ? code : e, why ? why : "token form",
                          off, 0, 0, 0);
}

/* n token-form bytes of old stream k from its byte r: as old_inflated(),
 * one cursor, which a read before it moves back to the last checkpoint
 * (block start) before r. */
static ota_err old_tokens(struct ota_delta_apply *st, uint32_t k, uint32_t r, uint8_t *buf,
                          uint32_t n)
{
    const struct ota_deflate_port *z = st->cfg.deflate;
    const struct ota_delta_zspan *s = &z->spans[k];
    size_t half = z->work_len / 2u;
    uint8_t *scratch = z->work + half;
    if (st->z_cur != k + 1u) {
        st->z_cur = k + 1u;
        st->z_raw = 0;
        st->z_buf_len = 0;
        ota_dtok_puff_reset(z->tok, tok_read, st, s->clen);
    } else if (r < st->z_raw || ota_dtok_puff_checkpoint(z->tok, r) > st->z_raw) {
        /* back, or forward past a checkpoint: restart from the checkpoint */
        ota_dtok_puff_rewind(z->tok, r, &st->z_raw);
        st->z_buf_len = 0;
    }
    while (n) {
        uint8_t *dst = buf;
        size_t ol = n;
        if (st->z_raw < r) {
            dst = scratch;
            ol = r - st->z_raw < half ? r - st->z_raw : half;
        }
        const char *why = NULL;
        ota_err e = ota_dtok_puff_read(z->tok, dst, &ol, &why);
        if (e != OTA_OK)
            return tok_fail(st, e, why, s->off, OTA_ERR_DELTA_CORRUPT);
        if (ol == 0)
            return ota_delta_fail(st, OTA_ERR_DELTA_CORRUPT,
                                  "old deflate stream (token form): ends before its rlen", s->off,
                                  s->rlen, st->z_raw, 1);
        cursor_took(st, dst, ol, &buf, &n, &r);
    }
    return OTA_OK;
}

/*
 * n decompressed bytes of old stream k from its byte r. One inflate cursor:
 * reading on from where it stands continues it, anything before restarts
 * the stream (the coded stream mostly reads forward).
 */
static ota_err old_inflated(struct ota_delta_apply *st, uint32_t k, uint32_t r, uint8_t *buf,
                            uint32_t n)
{
    const struct ota_deflate_port *z = st->cfg.deflate;
    const struct ota_delta_zspan *s = &z->spans[k];
    size_t half = z->work_len / 2u;
    uint8_t *in = z->work, *scratch = z->work + half;
    ota_err e;
    if (st->z_cur != k + 1u || r < st->z_raw) {
        e = z->inflate_reset(z->ctx);
        if (e != OTA_OK)
            return ota_delta_fail(st, e, "inflate reset (old deflate stream)", s->off, 0, 0, 0);
        st->z_cur = k + 1u;
        st->z_raw = st->z_comp = st->z_in_pos = st->z_in_len = 0;
        st->z_buf_len = 0;
    }
    while (n) {
        if (st->z_in_pos == st->z_in_len && st->z_comp < s->clen) {
            uint32_t m = s->clen - st->z_comp;
            if (m > half)
                m = (uint32_t)half;
            e = old_raw(st, s->off + st->z_comp, in, m);
            if (e != OTA_OK)
                return e;
            st->z_comp += m;
            st->z_in_pos = 0;
            st->z_in_len = m;
        }
        uint8_t *dst = buf;
        size_t ol = n;
        if (st->z_raw < r) {
            dst = scratch;
            ol = r - st->z_raw < half ? r - st->z_raw : half;
        }
        size_t il = st->z_in_len - st->z_in_pos;
        int end = 0;
        e = z->inflate(z->ctx, in + st->z_in_pos, &il, dst, &ol, &end);
        if (e != OTA_OK)
            return ota_delta_fail(st, OTA_ERR_DELTA_CORRUPT, "old deflate stream: inflate",
                                  s->off + st->z_comp, 0, e, 1);
        if (il == 0 && ol == 0)
            return ota_delta_fail(st, OTA_ERR_DELTA_CORRUPT,
                                  "old deflate stream: ends before its rlen", s->off, s->rlen,
                                  st->z_raw, 1);
        st->z_in_pos += (uint32_t)il;
        cursor_took(st, dst, ol, &buf, &n, &r);
    }
    return OTA_OK;
}

ota_err ota_delta_old_read(struct ota_delta_apply *st, uint32_t pos, uint8_t *buf, uint32_t n)
{
    if (!OTA_DELTA_HAS_SECTION(st->hdr.version) || st->z_nold == 0)
        return old_raw(st, pos, buf, n);
    const struct ota_delta_zspan *spans = st->cfg.deflate->spans;
    while (n) {
        /* k: the last stream starting at or before pos (binary search) */
        uint32_t lo = 0, hi = st->z_nold;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2u;
            if (spans[mid].xoff <= pos)
                lo = mid + 1u;
            else
                hi = mid;
        }
        uint32_t take;
        ota_err e;
        if (lo && pos - spans[lo - 1u].xoff < spans[lo - 1u].rlen) {
            const struct ota_delta_zspan *s = &spans[lo - 1u];
            uint32_t r = pos - s->xoff;
            take = s->rlen - r < n ? s->rlen - r : n;
            if (st->z_cur == lo && r < st->z_raw && st->z_raw - r <= st->z_buf_len) {
                uint32_t back = st->z_raw - r;
                take = back < take ? back : take;
                memcpy(buf, st->z_buf + ZS_HIST - back, take);
                e = OTA_OK;
            } else {
                e = is_tokens(s) ? old_tokens(st, lo - 1u, r, buf, take)
                                 : old_inflated(st, lo - 1u, r, buf, take);
            }
        } else {
            /* plain bytes: shifted by what the streams before pos grew */
            uint32_t real = lo ? pos - (spans[lo - 1u].xoff + spans[lo - 1u].rlen) +
                                     spans[lo - 1u].off + spans[lo - 1u].clen
                               : pos;
            uint32_t limit = lo < st->z_nold ? spans[lo].xoff - pos : n;
            take = limit < n ? limit : n;
            e = old_raw(st, real, buf, take);
        }
        if (e != OTA_OK)
            return e;
        pos += take;
        buf += take;
        n -= take;
    }
    return OTA_OK;
}

/* ---- the real new image ------------------------------------------------- */

static ota_err new_real(struct ota_delta_apply *st, const uint8_t *data, size_t n)
{
    ota_err e = st->cfg.crypto->sha256_update(&st->sha, data, n);
    if (e != OTA_OK)
        return ota_delta_fail(st, e, "sha256 of the new image", st->real_written, 0, 0, 0);
    e = st->cfg.write(st->cfg.write_ctx, st->real_written, data, n);
    if (e != OTA_OK)
        return ota_delta_fail(st, e, "write of the new image", st->real_written, 0, 0, 0);
    st->real_written += (uint32_t)n;
    return OTA_OK;
}

/* Feed n expanded bytes of new stream s into the compressor (last: they end
 * it) and write what comes out. */
static ota_err new_deflate(struct ota_delta_apply *st, const struct ota_delta_zspan *s,
                           const uint8_t *data, size_t n, int last)
{
    const struct ota_deflate_port *z = st->cfg.deflate;
    size_t half = z->work_len / 2u;
    uint8_t *scratch = z->work + half;
    int end = 0;
    while (n || (last && !end)) {
        size_t il = n, ol = half;
        ota_err e = z->deflate(z->ctx, data, &il, last, scratch, &ol, &end);
        if (e != OTA_OK)
            return ota_delta_fail(st, e, "re-compression of a new deflate stream", s->off, 0, 0, 0);
        if (il == 0 && ol == 0 && !end)
            return ota_delta_fail(st, OTA_ERR_INTERNAL, "re-compression made no progress", s->off,
                                  0, 0, 0);
        data += il;
        n -= il;
        if (ol) {
            if ((uint64_t)st->z_out + ol > s->clen)
                return ota_delta_fail(st, OTA_ERR_DELTA_RESULT_MISMATCH,
                                      "re-compressed new deflate stream: longer than clen",
                                      s->off, s->clen, (uint32_t)(st->z_out + ol), 1);
            e = new_real(st, scratch, ol);
            if (e != OTA_OK)
                return e;
            st->z_out += (uint32_t)ol;
        }
    }
    if (last && st->z_out != s->clen)
        return ota_delta_fail(st, OTA_ERR_DELTA_RESULT_MISMATCH,
                              "re-compressed new deflate stream: length vs. clen", s->off, s->clen,
                              st->z_out, 1);
    return OTA_OK;
}

/* Compressed bytes of the current new stream from the token codec. */
static ota_err tok_emit(void *ctx, const uint8_t *data, size_t n)
{
    struct ota_delta_apply *st = ctx;
    const struct ota_delta_zspan *s = &st->cfg.deflate->spans[st->z_nold + st->z_new];
    if ((uint64_t)st->z_out + n > s->clen)
        return ota_delta_fail(st, OTA_ERR_DELTA_RESULT_MISMATCH,
                              "re-encoded new deflate stream (token form): longer than clen",
                              s->off, s->clen, (uint32_t)(st->z_out + n), 1);
    ota_err e = new_real(st, data, n);
    st->z_out += (uint32_t)n;
    return e;
}

/* n token-form bytes of new stream s into the token codec (last: they end
 * it): it writes the compressed bytes. */
static ota_err new_tokens(struct ota_delta_apply *st, const struct ota_delta_zspan *s,
                          const uint8_t *data, size_t n, int last)
{
    struct ota_dtok *t = st->cfg.deflate->tok;
    const char *why = NULL;
    ota_err e = ota_dtok_huff_feed(t, data, n, tok_emit, st, &why);
    if (e == OTA_OK && last)
        e = ota_dtok_huff_finish(t, tok_emit, st, &why);
    if (e != OTA_OK)
        return tok_fail(st, e, why, s->off, OTA_ERR_DELTA_RESULT_MISMATCH);
    if (last && st->z_out != s->clen)
        return ota_delta_fail(st, OTA_ERR_DELTA_RESULT_MISMATCH,
                              "re-encoded new deflate stream (token form): length vs. clen",
                              s->off, s->clen, st->z_out, 1);
    return OTA_OK;
}

ota_err ota_delta_new_write(struct ota_delta_apply *st, uint32_t xpos, const uint8_t *data,
                            size_t n)
{
    if (!OTA_DELTA_HAS_SECTION(st->hdr.version) || st->z_nnew == 0)
        return new_real(st, data, n);
    const struct ota_deflate_port *z = st->cfg.deflate;
    while (n) {
        const struct ota_delta_zspan *s =
            st->z_new < st->z_nnew ? &z->spans[st->z_nold + st->z_new] : NULL;
        size_t take = n;
        ota_err e;
        if (s && xpos >= s->xoff) {
            if (xpos == s->xoff && is_tokens(s)) {
                ota_dtok_huff_reset(z->tok);
                st->z_out = 0;
            } else if (xpos == s->xoff) {
                e = z->deflate_reset(z->ctx, &s->par);
                if (e != OTA_OK)
                    return ota_delta_fail(st, e, "deflate reset (new deflate stream)", s->off,
                                          0, 0, 0);
                st->z_out = 0;
            }
            uint32_t left = s->xoff + s->rlen - xpos;
            if (take > left)
                take = left;
            e = is_tokens(s) ? new_tokens(st, s, data, take, take == left)
                             : new_deflate(st, s, data, take, take == left);
            if (e == OTA_OK && take == left)
                st->z_new++;
        } else {
            if (s && take > s->xoff - xpos)
                take = s->xoff - xpos;
            e = new_real(st, data, take);
        }
        if (e != OTA_OK)
            return e;
        xpos += (uint32_t)take;
        data += take;
        n -= take;
    }
    return OTA_OK;
}

/* ---- suspend / resume (docs/delta-format.md#resuming) ------------------- */

/* No new stream open in st, whose stream table is spans. */
static int no_new_open(const struct ota_delta_apply *st, const struct ota_delta_zspan *spans)
{
    if (st->z_new >= st->z_nnew)
        return 1;
    /* the next new stream starts at or after every byte written so far:
     * its compressor was not reset yet (ota_delta_new_write resets it when
     * the byte at its xoff is written) */
    return st->written <= spans[st->z_nold + st->z_new].xoff;
}

int ota_delta_section_suspendable(const struct ota_delta_apply *st)
{
    return !OTA_DELTA_HAS_SECTION(st->hdr.version) || no_new_open(st, st->cfg.deflate->spans);
}

uint32_t ota_delta_section_cut(const struct ota_delta_apply *st)
{
    /* with a filter, the bytes after a cut would already be filtered: no cut */
    if (!OTA_DELTA_HAS_SECTION(st->hdr.version) || st->hdr.filter != OTA_DELTA_FILTER_NONE)
        return 0;
    const struct ota_delta_zspan *spans = st->cfg.deflate->spans;
    uint32_t i = st->z_new;
    /* the stream z_new is open (or about to be, at its start): the next */
    if (i < st->z_nnew && st->written >= spans[st->z_nold + i].xoff)
        i++;
    return i < st->z_nnew ? spans[st->z_nold + i].xoff : 0u;
}

const char *ota_delta_section_snap_check(const struct ota_delta_apply *snap,
                                         const struct ota_delta_apply_cfg *cfg, uint32_t *expected,
                                         uint32_t *found)
{
    const struct ota_deflate_port *z = cfg->deflate;
    uint8_t v = snap->hdr.version;
    uint32_t n = snap->z_nold + snap->z_nnew;
    *expected = *found = 0;
    if (!z || !z->inflate_reset || !z->inflate || !z->deflate_reset || !z->deflate || !z->spans ||
        !z->work || z->work_len < OTA_DEFLATE_WORK_MIN || (v == OTA_DELTA_VERSION_TOKENS && !z->tok))
        return "deflate port (functions, spans, work, token codec)";
    uint64_t need = ZS_HEAD + (uint64_t)snap->z_nold * (v == OTA_DELTA_VERSION_TOKENS ? ZS_NEW : ZS_OLD) +
                    (uint64_t)snap->z_nnew * ZS_NEW;
    *expected = (uint32_t)need;
    *found = snap->z_sec_len;
    if (snap->z_nold > z->span_cap || snap->z_nnew > z->span_cap - snap->z_nold ||
        need != snap->z_sec_len || snap->z_sec_pos != snap->z_sec_len ||
        snap->stream_start != OTA_DELTA_HEADER_SIZE + snap->z_sec_len)
        return "deflate section (counts, length)";
    /* the restored table, checked as the section parser checks it */
    const struct ota_delta_zspan *spans = z->spans;
    for (uint32_t i = 0; i < n; i++) {
        int is_old = i < snap->z_nold;
        uint64_t xoff = 0;
        *expected = i;
        *found = spans[i].off;
        if ((!is_old || v == OTA_DELTA_VERSION_TOKENS) && !params_ok_entry(v, &spans[i]))
            return "deflate section: restored stream parameters";
        if (span_bad(spans, is_old ? 0u : snap->z_nold, i, is_old ? snap->hdr.old_len : snap->hdr.new_len,
                     &xoff) ||
            spans[i].xoff != xoff)
            return "deflate section: restored stream table";
    }
    uint64_t xo = expanded_len(spans, 0, snap->z_nold, snap->hdr.old_len);
    uint64_t xn = expanded_len(spans, snap->z_nold, n, snap->hdr.new_len);
    *expected = (uint32_t)xo;
    *found = snap->xold_len;
    if (xo != snap->xold_len)
        return "deflate section: restored table vs. expanded old size";
    *expected = (uint32_t)xn;
    *found = snap->xnew_len;
    if (xn != snap->xnew_len)
        return "deflate section: restored table vs. expanded new size";
    /* no new stream open; those before the next one all finished */
    *expected = snap->z_nnew;
    *found = snap->z_new;
    if (snap->z_new > snap->z_nnew || !no_new_open(snap, spans))
        return "deflate section: inside a new deflate stream";
    /* signed: a stream may be larger compressed than expanded (stored
     * blocks of incompressible data) */
    int64_t shrink = 0;
    for (uint32_t k = 0; k < snap->z_new; k++)
        shrink += (int64_t)spans[snap->z_nold + k].rlen - spans[snap->z_nold + k].clen;
    if (snap->z_new && spans[snap->z_nold + snap->z_new - 1u].xoff +
                               (uint64_t)spans[snap->z_nold + snap->z_new - 1u].rlen > snap->written)
        return "deflate section: inside a new deflate stream";
    int64_t real = (int64_t)snap->written - shrink;
    *expected = (uint32_t)real;
    *found = snap->real_written;
    if (real < 0 || real != (int64_t)snap->real_written)
        return "output count (real image)";
    return NULL;
}

void ota_delta_section_resumed(struct ota_delta_apply *st)
{
    /* the inflate/token cursor of the old streams lives in the port, which
     * is new: the next read of an old stream restarts it from its start */
    st->z_cur = st->z_raw = st->z_comp = st->z_in_pos = st->z_in_len = 0;
    st->z_buf_len = 0;
    st->z_out = 0;
}
