// SPDX-License-Identifier: Apache-2.0
/*
 * ota/dtok.h - the deflate token form (docs/delta-format.md#token-form):
 * a byte-oriented, encoder-independent rewriting of a raw deflate stream
 * (block headers, literal runs, length/distance pairs, padding bits) from
 * which the exact compressed bytes are re-encoded, whatever compressor made
 * them (GNU gzip, pigz, 7-Zip, zopfli, kernels' own). Puffin's idea: the
 * delta is made between token forms where zlib cannot reproduce a stream.
 *
 * Both directions are freestanding, need no window (back-references are
 * kept as references, never resolved) and use only struct ota_dtok
 * (OTA_DTOK_STATE_BYTES, a few KiB): the "puffer" turns deflate bits into
 * token bytes, pulled through a read callback; the "huffer" turns token
 * bytes, pushed in any chunks, back into deflate bits through an emit
 * callback. The host creator uses the same code to check every stream
 * re-encodes bit for bit before it relies on it.
 */
#ifndef OTA_DTOK_H
#define OTA_DTOK_H

#include <stddef.h>
#include <stdint.h>
#include "ota/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Token form records (first byte). */
#define OTA_DTOK_LIT_MAX 64u     /* 0x00..0x3F: literal run of 1..64 bytes */
#define OTA_DTOK_MATCH 0x40u     /* 0x40..0xBF: match (3 bytes) */
#define OTA_DTOK_FIXED 0xC0u     /* + final: fixed-Huffman block */
#define OTA_DTOK_DYNAMIC 0xC2u   /* + final: dynamic block, u16 nbits, header bits */
#define OTA_DTOK_STORED 0xC4u    /* + final: stored block, pad, u16 len, bytes */
#define OTA_DTOK_EOB 0xC6u       /* end of a fixed/dynamic block */
#define OTA_DTOK_END 0xC7u       /* end of the stream, pad bits */
#define OTA_DTOK_HDR_MAX 292u    /* largest dynamic header, bytes (2 283 bits) */

typedef ota_err (*ota_dtok_read_fn)(void *ctx, uint32_t off, uint8_t *buf, uint32_t n);
typedef ota_err (*ota_dtok_emit_fn)(void *ctx, const uint8_t *buf, size_t n);

/* Where the puffer can restart: between two records of a block (no literal
 * run open), by token-form position, compressed byte and the bits left over
 * of the byte before, and where that block's header starts (to rebuild its
 * codes). */
#define OTA_DTOK_CHECKPOINTS 256u
#define OTA_DTOK_CP_SPACING 1024u /* token bytes between checkpoints, at first */
struct ota_dtok_cp {
    uint32_t xpos, in_off, hdr_off;
    uint8_t bitbuf, bitcnt, hdr_bitbuf, hdr_bitcnt;
};

/* Canonical Huffman decoding table: counts per length, symbols by code. */
struct ota_dtok_huff {
    uint16_t count[16];
    uint16_t sym[288];
};

struct ota_dtok {
    /* ---- puffer (deflate -> tokens) ---- */
    ota_dtok_read_fn read;
    void *read_ctx;
    uint32_t in_len, in_off, in_pos, in_fill; /* stream length, next read, buffer */
    uint32_t bitbuf, bitcnt;
    uint8_t p_mode, p_final, p_rec;
    uint32_t rec_bits;                /* recording a dynamic header */
    uint32_t stored_left;
    uint32_t run_at;                  /* pend index of the open literal run (or ~0) */
    uint32_t pend_pos, pend_len, pend_ready;
    uint32_t out_total;               /* token bytes handed out */
    uint32_t hdr_off;                 /* where the current block's header starts */
    uint8_t hdr_bitbuf, hdr_bitcnt;
    uint32_t cp_n, cp_spacing;        /* checkpoints, at least cp_spacing apart */
    struct ota_dtok_cp cp[OTA_DTOK_CHECKPOINTS];
    struct ota_dtok_huff lit, dist;
    uint8_t in[256];
    uint8_t pend[512];
    /* ---- huffer (tokens -> deflate) ---- */
    uint8_t h_mode, h_final, h_block;
    uint32_t h_need, h_have, h_left;
    uint32_t h_nbits;
    uint64_t acc;
    uint32_t acc_bits;
    uint32_t out_len;
    uint16_t code[320];
    uint8_t len[320]; /* 0..287 literal/length, 288..319 distance */
    uint8_t hdr[OTA_DTOK_HDR_MAX + 4];
    uint8_t out[256];
    /* shared scratch: code lengths while a dynamic header is parsed */
    uint8_t lens[320];
    struct ota_dtok_huff cl;
};

#define OTA_DTOK_STATE_BYTES sizeof(struct ota_dtok)

/* Puffer: start on a raw deflate stream of in_len bytes read through
 * read(ctx, off, buf, n) (off from the stream's first byte). */
void ota_dtok_puff_reset(struct ota_dtok *t, ota_dtok_read_fn read, void *ctx, uint32_t in_len);
/* Next token bytes: up to *n into out; *n = bytes produced, 0 once the
 * stream's token form is complete. OTA_ERR_DELTA_CORRUPT (with *why) for a
 * stream that is not deflate or that the token form cannot express (e.g.
 * length 258 coded as 284 + 31, or data past in_len). */
ota_err ota_dtok_puff_read(struct ota_dtok *t, uint8_t *out, size_t *n, const char **why);
/* Restart the puffer on the same stream at the last checkpoint at or before
 * token-form position xpos (one it passed before; the stream's start at
 * worst); *at = that position. Checkpoints are kept every cp_spacing token
 * bytes (OTA_DTOK_CP_SPACING at first), at most OTA_DTOK_CHECKPOINTS: when
 * they run out every other one goes and the spacing doubles, so a read
 * backwards re-decodes at most 2 x len / OTA_DTOK_CHECKPOINTS token bytes
 * of a stream whose token form is len bytes (plus one block header). */
void ota_dtok_puff_rewind(struct ota_dtok *t, uint32_t xpos, uint32_t *at);
/* The position of the last checkpoint at or before xpos (0 if none). */
uint32_t ota_dtok_puff_checkpoint(const struct ota_dtok *t, uint32_t xpos);
/* Compressed bytes consumed so far (all of them once the form is complete). */
uint32_t ota_dtok_puff_consumed(const struct ota_dtok *t);

/* Huffer: start a stream; compressed bytes leave through emit(ctx, ...). */
void ota_dtok_huff_reset(struct ota_dtok *t);
/* Push n token bytes. OTA_ERR_DELTA_CORRUPT (with *why) for bytes that are
 * not a token form; an emit error is returned as is. */
ota_err ota_dtok_huff_feed(struct ota_dtok *t, const uint8_t *in, size_t n, ota_dtok_emit_fn emit,
                           void *ctx, const char **why);
/* The token form ended: it must be complete (END record seen); flushes. */
ota_err ota_dtok_huff_finish(struct ota_dtok *t, ota_dtok_emit_fn emit, void *ctx,
                             const char **why);

#ifdef __cplusplus
}
#endif
#endif
