// SPDX-License-Identifier: Apache-2.0
/*
 * delta_internal.h - the parts of the delta format that the host encoder
 * (src/delta/) and the device applier (src/core/delta_apply.c) must agree on
 * bit for bit: the layout of the adaptive probability model, the context
 * functions, the range-coder constants and the executable filters.
 *
 * Not a public header: the format is specified in docs/delta-format.md.
 */
#ifndef OTA_DELTA_INTERNAL_H
#define OTA_DELTA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "ota/delta.h"

/*
 * Range coder (LZMA style) with 12-bit probabilities (of a 0, in 1/4096) and
 * a fast adaptation shift of 3: measured on the pybricks corpus, the shift
 * LZMA uses (5, with 11 bits) gives patches ~11 % larger, and a per-cell
 * adaptive rate (1 -> 5) was no better than a fixed 3. A probability stays
 * within [7, 4089], so one coded bit consumes at most 2 input bytes.
 */
#define DM_PROB_BITS 12u
#define DM_PROB_ONE (1u << DM_PROB_BITS)
#define DM_PROB_INIT (DM_PROB_ONE / 2u)
#define DM_MOVE_BITS 3u

/*
 * Model 2 (header byte 7, OTA_DELTA_OPT_MODEL2) codes the zero/non-zero flag
 * of a difference byte with 16-bit probabilities (in 1/65536, within [7,
 * 65529]): a byte copied exactly costs 1/400 of a bit with 12 bits, which
 * on a 1 GiB root filesystem image is 0.33 MB of the patch; with 16 bits
 * 1/6000 (measured: the 1 GiB ext4 pair of bench/delta/rootfs.sh, 4.13 ->
 * 3.92 MB). Only those flags: 16 bits everywhere made the Cortex-M corpus
 * 0.3 % larger (a surprise costs more at the extremes). A bit still moves
 * range by at least 7 * 2^8 and so consumes at most 2 stream bytes.
 */
#define DM_ZPROB_BITS 16u
#define DM_ZPROB_ONE (1u << DM_ZPROB_BITS)

static inline uint32_t dm_p(uint16_t cell)
{
    return cell;
}

#ifndef DM_LIT_SHIFT
#define DM_LIT_SHIFT 4u /* literals: a little slower */
#endif
#ifndef DM_DIFF_SHIFT
#define DM_DIFF_SHIFT 3u /* difference values */
#endif

/* Adapt a probability of precision one (DM_PROB_ONE or DM_ZPROB_ONE). */
static inline void dm_update(uint16_t *cell, unsigned bit, unsigned shift, uint32_t one)
{
    uint32_t p = *cell;
    if (bit)
        p -= p >> shift;
    else
        p += (one - p) >> shift;
    *cell = (uint16_t)p;
}

#define DM_TOP (1u << 24)

/*
 * Numbers (lengths, seek magnitudes): bit count n (0..32) by a 6-bit tree,
 * then the DM_NUM_HI bits under the leading one with a probability per
 * (n, bit index), then the rest as direct bits.
 */
#define DM_NUM_HI 8u
#define DM_NUM_TREE 64u
#define DM_NUM_SIZE (DM_NUM_TREE + 33u * DM_NUM_HI)

/* Kinds of number, each with its own tables, split by a small context. */
enum dm_num_kind {
    DM_NUM_DIFF_LEN = 0,
    DM_NUM_EXTRA_LEN = 1,
    DM_NUM_SEEK = 2,
    DM_NUM_MAP = 3,
    DM_NUM_KINDS = 4
};

/* Repeated displacements (old position - new position), most recent first. */
#define DM_REPS 4u

/* Differences: lane = new position mod 4 (Thumb halfwords, 32-bit words). */
#define DM_LANES 4u
#define DM_HIST_BITS 4u
/* model 1 uses the first half; model 2 also splits by "the base byte is 0" */
#define DM_ZERO_CTX (2u * 2u * DM_LANES << DM_HIST_BITS)
#define DM_REP_CTX (DM_LANES * 2u)
#define DM_DIFF_CTX DM_LANES
#define DM_LIT_CTX 8u /* new position parity, top 2 bits of the previous literal
                         (model 2: of the previous byte of the new image) */

/* Probability table layout (offsets into the uint16_t array). */
#define DM_P_NUM 0u
#define DM_P_SEEK_SIGN (DM_P_NUM + DM_NUM_KINDS * DM_NUM_SIZE)
#define DM_P_SEEK_ZERO (DM_P_SEEK_SIGN + 2u)
#define DM_P_IS_REP (DM_P_SEEK_ZERO + 2u)
#define DM_P_REP_IDX (DM_P_IS_REP + 2u)
#define DM_P_MAP_SIGN (DM_P_REP_IDX + 4u)
#define DM_P_ZERO (DM_P_MAP_SIGN + 2u)
#define DM_P_REP (DM_P_ZERO + DM_ZERO_CTX)
#define DM_P_DIFF (DM_P_REP + DM_REP_CTX)
#define DM_P_LIT (DM_P_DIFF + DM_DIFF_CTX * 256u)
#define DM_P_END (DM_P_LIT + DM_LIT_CTX * 256u)

_Static_assert(DM_P_END == OTA_DELTA_NPROBS, "model and the state's table differ");

/* Context of the zero/non-zero flag of a difference byte: lane, predicted,
 * the last flags; model 2 also whether the base byte (old or predicted) is
 * 0 (ext4 pair: 7 % fewer flag bytes, Cortex-M corpus 0.1 %). */
static inline uint32_t dm_zero_ctx(uint32_t new_pos, uint32_t hist, unsigned predicted,
                                   unsigned model2, uint8_t base)
{
    uint32_t c = ((((new_pos & (DM_LANES - 1u)) << 1) | (predicted ? 1u : 0u)) << DM_HIST_BITS) |
                 (hist & ((1u << DM_HIST_BITS) - 1u));
    return model2 ? (c << 1) | (base == 0u) : c;
}

/* Initial probabilities: every cell at 1/2, in its precision. */
static inline void dm_model_init(uint16_t *probs, uint32_t n, unsigned model2)
{
    for (uint32_t i = 0; i < n; i++)
        probs[i] = (uint16_t)DM_PROB_INIT;
    for (uint32_t i = 0; model2 && i < DM_ZERO_CTX; i++)
        probs[DM_P_ZERO + i] = (uint16_t)(DM_ZPROB_ONE / 2u);
}

/* Context of the "same as the last non-zero difference in this lane" flag. */
static inline uint32_t dm_rep_ctx(uint32_t new_pos, uint32_t hist)
{
    return ((new_pos & (DM_LANES - 1u)) << 1) | (hist & 1u);
}

static inline uint32_t dm_lane(uint32_t new_pos)
{
    return new_pos & (DM_LANES - 1u);
}

/* Context of a literal (extra) byte from the previous literal (model 2:
 * the previous byte): its top 2 bits and the new position's parity (Thumb
 * halfwords), or with OTA_DELTA_OPT_LIT3 its top 3 bits (root filesystem
 * images: 3 % fewer literal bytes; the Cortex-M corpus: 2.7 % more). */
static inline uint32_t dm_lit_ctx(uint8_t prev, uint32_t new_pos, unsigned lit3)
{
    return lit3 ? (uint32_t)prev >> 5 : ((new_pos & 1u) << 2) | ((uint32_t)prev >> 6);
}

/* Bit count of v: 0 for 0, else 1 + floor(log2 v). */
static inline uint32_t dm_bitlen(uint32_t v)
{
    uint32_t n = 0;
    while (v) {
        n++;
        v >>= 1;
    }
    return n;
}

/*
 * Executable filters. Forward (encode) rewrites relative branch offsets into
 * absolute targets; inverse undoes it. Both act in place on buf, which holds
 * the image bytes starting at image offset `base`. An instruction is
 * rewritten only when all its 4 bytes are inside buf. Returns the index in
 * buf from which an instruction could still start but not fit (the caller
 * keeps those bytes for the next call, or they are final at the image end).
 *
 * Thumb: at even image offsets, a halfword 11110xxxxxxxxxxx followed by a
 * halfword 1x111xxxxxxxxxxx (BL or B.W T4 with J1 = J2 = 1, i.e. any target
 * within +-4 MiB) is one instruction; its 22 offset bits (S:imm10:imm11) get
 * (offset/2 + position/2) mod 2^22. The first pattern can never be a second
 * halfword and vice versa, so every offset is decided locally, with no parse
 * state: filtered bytes can be computed at any position (random access).
 * ARM: a word at a 4-aligned offset whose top byte is 0xEB (BL, condition
 * always); its imm24 gets (imm24 + position/4) mod 2^24.
 */
size_t ota_delta_filter(uint8_t filter, int inverse, uint8_t *buf, size_t len,
                        uint32_t base);

/*
 * Prediction through the address map and the value map.
 *
 * Address map: map_old[] ascending; an old offset x maps to x + map_disp[k]
 * for the last k with map_old[k] <= x (x itself when none, or when x is
 * outside the old image). Value map: for a 32-bit word w with
 * vmap_start[0] <= w < vmap_end, the prediction is w + vmap_disp[k] for the
 * last k with vmap_start[k] <= w (pointers into RAM or other images, whose
 * targets moved but are not in the patched image).
 */
/* An AArch64 ADRP's pending second half: the ADD/LDR/STR at old offset q,
 * new offset p gets lo as the low 12 bits of its address (on = 1). */
struct dm_a64 {
    uint32_t q, p;
    uint16_t lo;
    uint8_t on;
};

struct dm_pred {
    const uint32_t *map_old;
    const int32_t *map_disp;
    uint32_t map_n;
    const uint32_t *vmap_start;
    const int32_t *vmap_disp;
    uint32_t vmap_n;
    uint32_t vmap_end;
    uint8_t flags;
    uint32_t ptr_base;
    uint32_t old_len;
    /* OTA_DELTA_PRED_A64_ADRP only: the n_ahead (<= DM_A64_AHEAD) old bytes
     * after o[] (fewer only at the image end), read when
     * dm_a64_wants_ahead(o); and the pending state, kept by the caller
     * across calls (zeroed at the start of the stream) */
    const uint8_t *ahead;
    uint32_t n_ahead;
    struct dm_a64 *a64;
    /* OTA_DELTA_OPT_CODE in opts: the code regions [code_start[i],
     * code_end[i]) of the old image (branch predictors inside, pointer and
     * value predictors outside) */
    uint8_t opts;
    const uint32_t *code_start, *code_end;
    uint32_t code_n;
};

/* Bytes after an ADRP searched for the ADD/LDR/STR that completes it. */
#define DM_A64_AHEAD 16u

/* Is o[] an AArch64 ADRP (whose prediction reads ahead[])? */
static inline int dm_a64_wants_ahead(const uint8_t o[4])
{
    return (o[3] & 0x9Fu) == 0x90u;
}

/*
 * At new offset p, old offset q, with the 4 old bytes o[] there (the run has
 * >= 4 bytes left) and the 3 old bytes before them in ctx[] (ctx[2] is the
 * byte at q - 1; bytes before the image start are 0; only read by the x86
 * predictors, whose opcode precedes the 32-bit field): when an enabled
 * predictor recognises o[], write the predicted new bytes to out[] and
 * return 1; else 0. Pure function.
 */
int ota_delta_predict(const struct dm_pred *m, const uint8_t o[4], const uint8_t ctx[3],
                      uint32_t q, uint32_t p, uint8_t out[4]);

/* Does an enabled predictor read ctx[] (so the caller must fill it)? */
static inline int dm_pred_needs_ctx(uint8_t flags)
{
    return (flags & (OTA_DELTA_PRED_X86_BR | OTA_DELTA_PRED_X86_RIP)) != 0;
}

/* ---- applier internals shared by delta_apply.c and delta_deflate.c ---- */

/* Record a failure in st (sticky) and in the diag; returns e. */
ota_err ota_delta_fail(struct ota_delta_apply *st, ota_err e, const char *field, uint32_t off,
                       uint32_t expected, uint32_t found, int has_values);

/* Version 2: refuse the patch unless cfg.deflate is a usable port. */
ota_err ota_delta_section_check_port(struct ota_delta_apply *st);

/* Version 2: take deflate-section bytes (*took of len); once the whole
 * section is in, sets stream_start, xold_len and xnew_len. */
ota_err ota_delta_section_feed(struct ota_delta_apply *st, const uint8_t *p, size_t len,
                               size_t *took);

/* n bytes of the expanded old image from pos (version 1: the old image). */
ota_err ota_delta_old_read(struct ota_delta_apply *st, uint32_t pos, uint8_t *buf, uint32_t n);

/* The next n bytes of the expanded new image, at expanded offset xpos:
 * hashed and written (version 2: new streams re-compressed first). */
/* Suspend/resume of a version 2/3 applier: 1 when no new deflate stream
 * is open (a snapshot is possible); the snapshot's section fields and the
 * restored stream table in cfg->deflate->spans (NULL: consistent, else
 * which part is not, with the values compared); the old-stream cursor
 * reset after a resume. */
int ota_delta_section_suspendable(const struct ota_delta_apply *st);
const char *ota_delta_section_snap_check(const struct ota_delta_apply *snap,
                                         const struct ota_delta_apply_cfg *cfg, uint32_t *expected,
                                         uint32_t *found);
void ota_delta_section_resumed(struct ota_delta_apply *st);

/* ota_delta_apply_feed_part: the expanded offset after written where the
 * next new stream starts (a point where the applier can be suspended), or
 * 0 when there is none to stop at (version 1, a filter, no stream left). */
uint32_t ota_delta_section_cut(const struct ota_delta_apply *st);

ota_err ota_delta_new_write(struct ota_delta_apply *st, uint32_t xpos, const uint8_t *data,
                            size_t n);

#endif
