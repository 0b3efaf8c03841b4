// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/fuzz_snap_edit.h - what the two resume fuzzers (fuzz_delta_resume.c,
 * version 1 patches; fuzz_delta_resume_deflate.c, versions 2/3) share: one
 * edit of a delta applier snapshot, read from 7 input bytes, the feeding in
 * pieces, and the recording write callback that checks the applier's writes.
 *
 * An edit: where (LE 16), how, value (LE 32). how bit 4 clear: `where` picks
 * one of the state's scalar fields (mod their number, fzr_fields below);
 * set: a byte offset in the snapshot (mod its size) and bits 0-1 the width
 * (1, 2, 4 or 1 bytes). how bits 2-3: set, xor, add, set. The hash context
 * inside a snapshot is the crypto port's own state: mbedTLS survives any
 * bytes there, OpenSSL's SHA256_CTX trusts its block index (a corrupted one
 * overruns it), so with OpenSSL an edit leaves `sha` alone.
 */
#ifndef OTA_FUZZ_SNAP_EDIT_H
#define OTA_FUZZ_SNAP_EDIT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ota/delta.h"
#include "le.h"

#define FZR_EDIT 7u

/* set / xor / add (how bits 2-3) v into the width bytes at p (LE). */
static void fzr_apply(uint8_t *p, size_t width, unsigned how, uint32_t v)
{
    uint32_t cur = 0;
    for (size_t i = 0; i < width; i++)
        cur |= (uint32_t)p[i] << (8u * i);
    cur = how == 1u ? cur ^ v : how == 2u ? cur + v : v;
    for (size_t i = 0; i < width; i++)
        p[i] = (uint8_t)(cur >> (8u * i));
}

/* Width of a byte edit: how bits 0-1 (1, 2, 4 or 1 bytes). */
static size_t fzr_width(uint8_t how)
{
    return (how & 3u) == 1u ? 2u : (how & 3u) == 2u ? 4u : 1u;
}

/* The scalar fields of the state: where a decoder's invariants live. */
#define F(m) {offsetof(struct ota_delta_apply, m), sizeof(((struct ota_delta_apply *)0)->m)}
static const struct {
    size_t off, size;
} fzr_fields[] = {
    F(err),          F(phase),       F(op),          F(hdr_len),      F(last_lit),
    F(in_total),     F(in_pos),      F(in_len),      F(rc_range),     F(rc_code),
    F(rc_consumed),  F(remaining),   F(extra_len),   F(old_pos),      F(new_pos),
    F(written),      F(old_win_pos), F(old_win_len), F(old_buf_base), F(diff_run),
    F(hist),         F(last_diff),   F(out_len),     F(map_n),        F(map_count),
    F(pred_left),    F(last_rep),    F(a64_lo),      F(a64_q),        F(a64_p),
    F(reps[0]),      F(reps[3]),     F(vmap_n),      F(vmap_count),   F(vmap_end),
    F(map_old[0]),   F(map_disp[0]), F(vmap_start[0]), F(code_start[0]), F(code_end[0]),
    F(code_n),       F(code_count),  F(stream_start), F(z_sec_len),   F(z_nold),
    F(z_nnew),       F(xold_len),    F(xnew_len),    F(z_cur),        F(z_raw),
    F(z_new),        F(z_out),       F(real_written), F(z_buf_len),   F(hdr.version),
    F(hdr.filter),   F(hdr.flags),   F(hdr.opts),    F(hdr.old_len),  F(hdr.new_len),
    F(hdr.stream_len), F(hdr_buf[4]), F(hdr_buf[12]), F(hdr_buf[16]),
};
#undef F

/* One edit (r: FZR_EDIT bytes) of *snap; c is the crypto port resume uses. */
static void fzr_edit(struct ota_delta_apply *snap, const uint8_t *r, const struct ota_crypto *c)
{
    size_t where = (size_t)r[0] | ((size_t)r[1] << 8), off, width;
    if (r[2] & 0x10u) {
        off = where % sizeof(*snap);
        width = fzr_width(r[2]);
    } else {
        size_t f = where % (sizeof(fzr_fields) / sizeof(fzr_fields[0]));
        off = fzr_fields[f].off;
        width = fzr_fields[f].size;
    }
    if (off + width > sizeof(*snap))
        off = sizeof(*snap) - width;
    if (c == ota_crypto_openssl() && off + width > offsetof(struct ota_delta_apply, sha) &&
        off < offsetof(struct ota_delta_apply, sha) + sizeof(snap->sha))
        return;
    fzr_apply((uint8_t *)snap + off, width, (r[2] >> 2) & 3u, ota_le_get32(r + 3));
}

/* Feed len patch bytes to st in pieces of chunk bytes. */
static ota_err fzr_feed(struct ota_delta_apply *st, const uint8_t *p, size_t len, uint32_t chunk)
{
    ota_err e = OTA_OK;
    for (size_t off = 0; e == OTA_OK && off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        e = ota_delta_apply_feed(st, p + off, n);
    }
    return e;
}

/* The new image as written: in order, inside the slot (cap), kept in buf
 * to check the bytes a successful apply claims. */
struct fzr_sink {
    uint32_t pos, cap;
    uint8_t *buf;
};

static ota_err fzr_sink_write(void *ctx, uint32_t off, const void *data, size_t len)
{
    struct fzr_sink *s = ctx;
    if (off != s->pos || len > s->cap - s->pos || !data || !len)
        __builtin_trap();
    memcpy(s->buf + off, data, len);
    s->pos += (uint32_t)len;
    return OTA_OK;
}

/* A resumed apply succeeded: it wrote the whole image, and exactly the one
 * the patch names (else trap). */
static void fzr_check_image(const struct fzr_sink *s, const struct ota_delta_header *h)
{
    uint8_t digest[OTA_SHA256_LEN];
    ota_sha256(ota_crypto_mbedtls(), s->buf, h->new_len, digest);
    if (s->pos != h->new_len || memcmp(digest, h->result_hash, OTA_SHA256_LEN) != 0)
        __builtin_trap();
}

#endif
