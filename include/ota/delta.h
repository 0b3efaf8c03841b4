// SPDX-License-Identifier: Apache-2.0
/*
 * ota/delta.h - delta (binary patch) updates: creation on the host, streaming
 * application in the portable core.
 *
 * A patch turns one exact base image (identified by its SHA-256) into one
 * target image (identified by its SHA-256). The host creates it with
 * ota_delta_create() (bsdiff-style approximate matching over a suffix array,
 * optional ARM/Thumb branch filtering, adaptive binary range coding). The
 * device applies it with struct ota_delta_apply: a fixed-size state the
 * caller owns (no malloc, no stdio), fed patch bytes in chunks of any size as
 * they arrive, reading the old image through a struct ota_reader and writing
 * the new image strictly sequentially through a write callback. Nothing is
 * written before the base image's hash has been checked; the result hash is
 * checked at the end. Byte-level format: docs/delta-format.md.
 */
#ifndef OTA_DELTA_H
#define OTA_DELTA_H

#include <stddef.h>
#include <stdint.h>
#include "ota/crypto.h"
#include "ota/deflate.h"
#include "ota/error.h"
#include "ota/io.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA_DELTA_MAGIC "OTAD"
#define OTA_DELTA_VERSION 1u
/* Version 2: the header is followed by a deflate section (streams of the old
 * and new image the coded stream sees decompressed; needs a deflate port). */
#define OTA_DELTA_VERSION_DEFLATE 2u
/* Version 3: the deflate section's old entries carry parameters too, and a
 * stream may be kept in token form (ota/dtok.h: any encoder's deflate). */
#define OTA_DELTA_VERSION_TOKENS 3u
#define OTA_DELTA_HAS_SECTION(v) ((v) == OTA_DELTA_VERSION_DEFLATE || (v) == OTA_DELTA_VERSION_TOKENS)
#define OTA_DELTA_HEADER_SIZE 88u

/* Executable filters (header byte 5): how branch targets are rewritten
 * before matching so that moved code produces identical bytes. */
#define OTA_DELTA_FILTER_NONE 0u
#define OTA_DELTA_FILTER_THUMB 1u /* Thumb-2 BL / B.W: relative -> absolute */
#define OTA_DELTA_FILTER_ARM 2u   /* ARM BL (cond AL): relative -> absolute */
#define OTA_DELTA_FILTER_COUNT 3u

/* Predictors (header byte 6, bit flags): with the old-to-new address map
 * carried at the start of the stream, a difference run codes these fields
 * against where the moved target now is instead of against the old bytes. */
#define OTA_DELTA_PRED_PTR 0x01u      /* 32-bit pointers into the image */
#define OTA_DELTA_PRED_THUMB_BL 0x02u /* Thumb BL / B.W targets */
#define OTA_DELTA_PRED_ARM_BL 0x04u   /* ARM BL targets */
#define OTA_DELTA_PRED_VALUE 0x08u    /* 32-bit words remapped by the value map
                                         (e.g. pointers into RAM) */
#define OTA_DELTA_PRED_X86_BR 0x10u   /* x86 CALL/JMP/Jcc rel32 targets */
#define OTA_DELTA_PRED_X86_RIP 0x20u  /* x86-64 RIP-relative disp32 targets */
#define OTA_DELTA_PRED_A64_BR 0x40u   /* AArch64 B / BL imm26 targets */
#define OTA_DELTA_PRED_A64_ADRP 0x80u /* AArch64 ADRP + ADD/LDR/STR targets */
#define OTA_DELTA_PRED_ALL 0xFFu

/* Predictor options (header byte 7). */
#define OTA_DELTA_OPT_CODE 0x01u /* the stream lists code regions: the branch
                                    predictors apply inside them, the pointer
                                    and value predictors outside */
#define OTA_DELTA_OPT_MODEL2 0x02u /* coder model 2: finer zero/non-zero flags of
                                      the differences, literals in the context of
                                      the previous byte (docs/delta-format.md) */
#define OTA_DELTA_OPT_LIT3 0x04u   /* model 2 only: literals in the context of the
                                      top 3 bits of the previous byte (without
                                      it: its top 2 and the position's parity) */
#define OTA_DELTA_OPT_ALL 0x07u
#define OTA_DELTA_CODE_MAX 8u    /* code regions a patch may list */

/* Most entries of the address map and of the value map a patch may carry. */
#define OTA_DELTA_MAP_MAX 256u
#define OTA_DELTA_VMAP_MAX 64u

/* The decoded header of a patch. */
struct ota_delta_header {
    uint8_t version;    /* OTA_DELTA_VERSION or OTA_DELTA_VERSION_DEFLATE */
    uint8_t filter;
    uint8_t flags;      /* OTA_DELTA_PRED_* */
    uint8_t opts;       /* OTA_DELTA_OPT_* */
    uint32_t ptr_base;  /* address of image byte 0, for OTA_DELTA_PRED_PTR */
    uint32_t old_len;
    uint32_t new_len;
    uint32_t stream_len; /* coded bytes after the header */
    uint8_t base_hash[OTA_SHA256_LEN];
    uint8_t result_hash[OTA_SHA256_LEN];
};

/* Decode and check the fixed header (magic, version, reserved fields).
 * Returns OTA_ERR_DELTA_TRUNCATED when len < OTA_DELTA_HEADER_SIZE. */
ota_err ota_delta_header_decode(const uint8_t *raw, size_t len,
                                struct ota_delta_header *hdr,
                                struct ota_diag *diag);

/* ------------------------------------------------------------------ */
/* Host: patch creation (library ota_delta, src/delta/).               */

struct ota_delta_stats {
    uint32_t old_len;
    uint32_t new_len;
    uint32_t commands;      /* control triples */
    uint32_t diff_bytes;    /* bytes produced as old + difference */
    uint32_t diff_nonzero;  /* ... of which the difference was not zero */
    uint32_t extra_bytes;   /* bytes coded as literals */
    uint8_t filter;         /* OTA_DELTA_FILTER_* chosen */
    uint8_t flags;          /* OTA_DELTA_PRED_* chosen */
    uint8_t opts;           /* OTA_DELTA_OPT_* chosen */
    uint32_t code_regions;  /* ... code regions listed (OTA_DELTA_OPT_CODE) */
    uint32_t ptr_base;
    uint32_t map_entries;
    size_t size_by_filter[OTA_DELTA_FILTER_COUNT]; /* 0 = not tried */
    /* deflate mode: streams expanded in old and new, streams found that zlib
     * does not reproduce, and the expanded sizes the stream was made on */
    uint32_t zold, znew, zskipped;
    uint32_t ztokens; /* of zold + znew: streams kept in token form (version 3) */
    uint32_t xold_len, xnew_len;
    uint8_t index;          /* OTA_DELTA_INDEX_SA or _HASH: the finder used */
};

/* Options of ota_delta_create_ex(). */
struct ota_delta_create_opts {
    /* Look for deflate streams (gzip, zlib, zip entries) that zlib
     * re-compresses bit for bit and diff their decompressed bytes: a
     * version 2 patch when any is found, which only an applier with a
     * deflate port (ota/deflate.h) applies. */
    int deflate;
    /* Match finder: OTA_DELTA_INDEX_AUTO (a suffix array below
     * OTA_DELTA_HASH_MIN bytes of old image, the hash index from there on),
     * _SA or _HASH. The hash index bounds the creator's memory for root
     * filesystem images (docs/delta-format.md#creation-host). */
    int index;
    /* When set, called once the creator will not read the caller's old
     * (which 0) or new (which 1) image again: in deflate mode, after that
     * image was hashed and expanded (the patch is made between the expanded
     * copies). A caller that mapped the files can drop their pages there
     * (`ota delta create` does: docs/delta-format.md, memory bound of
     * create). Never called for an image without deflate streams. */
    void (*release)(void *ctx, int which);
    void *release_ctx;
    /* Coder model: OTA_DELTA_MODEL_DEFAULT (= 2), 1 (every applier decodes
     * it) or 2 (OTA_DELTA_OPT_MODEL2: smaller patches, above all for large
     * images; appliers older than it refuse the patch with
     * OTA_ERR_DELTA_CORRUPT, field "predictor options", before writing). */
    int model;
};
enum { OTA_DELTA_MODEL_DEFAULT = 0, OTA_DELTA_MODEL_1 = 1, OTA_DELTA_MODEL_2 = 2 };
enum { OTA_DELTA_INDEX_AUTO = 0, OTA_DELTA_INDEX_SA = 1, OTA_DELTA_INDEX_HASH = 2 };
#define OTA_DELTA_HASH_MIN (64u << 20)

/*
 * Create a patch from old to new_. *patch is malloc'd (caller frees) and
 * holds *patch_len bytes. stats may be NULL. Tries each applicable filter
 * and keeps the smallest patch (never larger than the unfiltered one).
 * Sizes above 2^31 - 1 bytes are refused with OTA_ERR_TOO_LARGE.
 */
ota_err ota_delta_create(const uint8_t *old, size_t old_len, const uint8_t *new_,
                         size_t new_len, uint8_t **patch, size_t *patch_len,
                         struct ota_delta_stats *stats);

/* ota_delta_create() with options (opts may be NULL: the defaults). */
ota_err ota_delta_create_ex(const uint8_t *old, size_t old_len, const uint8_t *new_,
                            size_t new_len, const struct ota_delta_create_opts *opts,
                            uint8_t **patch, size_t *patch_len, struct ota_delta_stats *stats);

/*
 * Host convenience: apply a whole patch held in memory with the core applier
 * (fed in chunks of `chunk` bytes; 0 = all at once) and return the new image
 * malloc'd in *out (caller frees). diag may be NULL.
 */
ota_err ota_delta_apply_buffer(const struct ota_crypto *crypto, const uint8_t *old,
                               size_t old_len, const uint8_t *patch, size_t patch_len,
                               size_t chunk, uint8_t **out, size_t *out_len,
                               struct ota_diag *diag);

/* ------------------------------------------------------------------ */
/* Core: streaming application.                                        */

/*
 * Sequential sink for the new image: called with off = 0, then off = previous
 * off + previous len, ... Data is only valid during the call.
 */
typedef ota_err (*ota_delta_write_fn)(void *ctx, uint32_t off, const void *data,
                                      size_t len);

struct ota_delta_apply_cfg {
    const struct ota_crypto *crypto; /* required: SHA-256 */
    const struct ota_reader *old;    /* the base image (size >= old_len) */
    ota_delta_write_fn write;        /* required */
    void *write_ctx;
    uint32_t max_new_len;            /* e.g. slot size; 0 = no limit */
    struct ota_diag *diag;           /* optional: where/why it failed */
    /* optional: inflate/re-deflate for version 2 patches (ota/deflate.h);
     * NULL refuses them (OTA_ERR_UNSUPPORTED) */
    const struct ota_deflate_port *deflate;
};

/* Sizes of the applier's buffers (all inside struct ota_delta_apply). */
#define OTA_DELTA_IN_BUF 112u  /* patch bytes waiting to be decoded */
#define OTA_DELTA_OLD_BUF 512u /* window of the old image (+ filter context) */
#define OTA_DELTA_OUT_BUF 512u /* new bytes before the write callback */

/* Number of 16-bit adaptive probabilities of the model. */
#define OTA_DELTA_NPROBS 4660u

/*
 * The whole applier state: every buffer and the complete decoder model. Treat
 * as opaque. sizeof(struct ota_delta_apply) is the applier's RAM apart from
 * its (small, bounded) stack; tests assert it stays <= 16 KiB with the stack.
 */
struct ota_delta_apply {
    struct ota_delta_apply_cfg cfg;
    struct ota_delta_header hdr;
    ota_err err;       /* sticky: once failed, every call returns it */
    uint8_t phase;
    uint8_t op;        /* what the stream decodes next */
    uint8_t hdr_len;
    uint8_t last_lit;
    uint32_t in_total; /* patch bytes received (header included) */
    uint32_t in_pos, in_len;
    uint32_t rc_range, rc_code;
    uint32_t rc_consumed; /* stream bytes consumed by the range decoder */
    uint32_t remaining; /* bytes left in the current diff/extra run */
    uint32_t extra_len;
    uint32_t old_pos;
    uint32_t new_pos;   /* bytes decoded (before filtering/writing) */
    uint32_t written;   /* bytes handed to the write callback */
    uint32_t old_win_pos, old_win_len; /* valid filtered old bytes */
    uint32_t old_buf_base; /* old image offset of old_buf[0] */
    uint32_t diff_run;  /* diff length of the current command */
    uint32_t hist;      /* recent zero/non-zero pattern of the differences */
    uint32_t last_diff; /* recent non-zero differences, one byte per lane */
    uint32_t out_len;
    uint32_t map_n;     /* address map entries decoded */
    uint32_t map_count; /* ... announced */
    uint8_t pred[4];    /* predicted bytes for the next pred_left outputs */
    uint8_t pred_left;
    uint8_t last_rep;   /* previous command used a repeated displacement */
    uint16_t a64_lo;    /* an AArch64 ADRP's pending completer: 0x8000 | the
                           new low 12 bits of its target (0: none) ... */
    uint32_t a64_q, a64_p; /* ... for the word at old/new offset q/p */
    uint32_t reps[4];   /* recent displacements old - new (mod 2^32) */
    uint32_t vmap_n, vmap_count, vmap_end;
    uint32_t map_old[OTA_DELTA_MAP_MAX]; /* ascending old offsets */
    int32_t map_disp[OTA_DELTA_MAP_MAX]; /* new - old from there on */
    uint32_t vmap_start[OTA_DELTA_VMAP_MAX]; /* ascending word values */
    int32_t vmap_disp[OTA_DELTA_VMAP_MAX];   /* new - old from there on */
    uint32_t code_start[OTA_DELTA_CODE_MAX]; /* code regions [start, end) */
    uint32_t code_end[OTA_DELTA_CODE_MAX];
    uint32_t code_n, code_count;
    uint16_t probs[OTA_DELTA_NPROBS];
    uint8_t in_buf[OTA_DELTA_IN_BUF];
    uint8_t hdr_buf[OTA_DELTA_HEADER_SIZE];
    /* deflate section (version 2): parse state, then the expanded sizes,
     * the streams in cfg.deflate->spans ([0, z_nold) old, then new) and
     * the inflate cursor of the old and the deflate cursor of the new */
    uint32_t stream_start; /* patch offset of the coded stream */
    uint32_t z_sec_len, z_sec_pos, z_nold, z_nnew;
    uint32_t xold_len, xnew_len;
    uint32_t z_cur, z_raw, z_comp, z_in_pos, z_in_len; /* inflate cursor */
    uint32_t z_new, z_out;  /* current new stream, its compressed bytes so far */
    uint32_t real_written;  /* bytes of the real new image written */
    uint8_t z_buf[16];      /* one section entry being received; then the last
                             * bytes the old-stream cursor produced */
    uint8_t z_buf_len;
    uint8_t z_cut;          /* inside ota_delta_apply_feed_part: 1 = stop where
                             * the next new stream starts, 2 = stopped there;
                             * 0 between calls */
    uint8_t old_buf[OTA_DELTA_OLD_BUF + 16];
    uint8_t out_buf[OTA_DELTA_OUT_BUF];
    ota_sha256_ctx sha;
};

/* Prepare st for one patch. cfg is copied. */
ota_err ota_delta_apply_init(struct ota_delta_apply *st,
                             const struct ota_delta_apply_cfg *cfg);

/*
 * Feed the next len patch bytes (any split, len may be 0). Once the header is
 * complete, hashes the old image and refuses a mismatch
 * (OTA_ERR_DELTA_BASE_MISMATCH) before writing anything. Decodes as far as
 * the bytes received allow and writes the new image as it goes.
 */
ota_err ota_delta_apply_feed(struct ota_delta_apply *st, const void *data,
                             size_t len);

/*
 * ota_delta_apply_feed() that returns early at a point where the applier can
 * be suspended: for a version 2/3 patch (deflate section) without an
 * executable filter, it stops as soon as the bytes handed to the new-image
 * side end exactly where the next new deflate stream starts (its compressor
 * not yet reset: every earlier new stream finished), and *used says how
 * many of the len bytes it took (the rest is fed by the next call, which
 * goes on from there). ota_delta_apply_suspend() then succeeds. Otherwise
 * (version 1, a filter, no new stream left) it is feed() and *used = len.
 * On images whose streams lie back to back (squashfs) this is the only
 * place a suspend is possible: the update engine uses it while a checkpoint
 * is wanted (ota_update_want_checkpoint_delta, ota/update.h). An error is
 * sticky as with feed (*used is then meaningless).
 */
ota_err ota_delta_apply_feed_part(struct ota_delta_apply *st, const void *data, size_t len,
                                  size_t *used);

/*
 * Resuming after a restart (Linux root filesystem slots; docs/delta-format.md
 * #resuming). Between two feed() calls, once the header was accepted and
 * everything handed to the write callback is durable, suspend copies the
 * applier's state (its configuration's pointers left out) into *snap, which
 * the caller stores; OTA_ERR_UNSUPPORTED before the stream started (nothing
 * was written: start again). Versions 2/3 (deflate section): only while no
 * new deflate stream is open, i.e. every byte written so far (written) lies
 * at or before the expanded offset of the next new stream not finished
 * (its compressor state lives in the port and cannot be kept); otherwise
 * OTA_ERR_UNSUPPORTED with diag field "suspend: inside a new deflate
 * stream ..." (offset: in_total, expected: that stream's expanded end,
 * found: written): try again after a later feed, or stop the feed where
 * the next stream starts (ota_delta_apply_feed_part: on images whose
 * streams lie back to back, squashfs, a feed() boundary is almost never
 * outside a stream). The stream table is
 * not in the snapshot: it is cfg.deflate->spans[0, z_nold + z_nnew), which
 * the caller keeps beside the snapshot and puts back into the port given
 * to resume before calling it. resume = init with cfg, then continue from
 * *snap: feed the patch from byte snap->in_total on. A snapshot whose buffer
 * indices or positions are out of range, or whose counts, header, run in
 * progress or range coder are inconsistent, or (versions 2/3) whose
 * restored stream table is not one the section parser accepts, does not
 * add up to the expanded sizes, or has a new stream open, or whose real
 * bytes written differ from written - sum(rlen - clen) over the finished
 * new streams, is refused (OTA_ERR_INVALID_ARG, diag names the part); its
 * hash context is the crypto port's and is used as it is. The old-stream
 * inflate cursor restarts that stream from its start on the next read.
 */
ota_err ota_delta_apply_suspend(const struct ota_delta_apply *st, struct ota_delta_apply *snap);
ota_err ota_delta_apply_resume(struct ota_delta_apply *st, const struct ota_delta_apply_cfg *cfg,
                               const struct ota_delta_apply *snap);

/* All bytes were fed: decode the rest, flush, and check the result hash
 * (OTA_ERR_DELTA_RESULT_MISMATCH) and that the patch was complete
 * (OTA_ERR_DELTA_TRUNCATED) and had nothing after its stream
 * (OTA_ERR_DELTA_CORRUPT). */
ota_err ota_delta_apply_finish(struct ota_delta_apply *st);

/*
 * Write callback over the flash HAL (ota/flash.h): pass a struct
 * ota_flash_writer * (initialised on the target slot) as write_ctx. It erases
 * each sector when the new image first reaches it and programs whole units;
 * call ota_flash_writer_finish() after ota_delta_apply_finish() succeeded.
 * Refuses out-of-order offsets (OTA_ERR_INTERNAL).
 */
ota_err ota_delta_write_flash(void *ctx, uint32_t off, const void *data, size_t len);

/* The header, once ota_delta_apply_feed has seen all of it (else NULL). */
const struct ota_delta_header *ota_delta_apply_header(const struct ota_delta_apply *st);

#ifdef __cplusplus
}
#endif
#endif
