// SPDX-License-Identifier: Apache-2.0
/*
 * delta_host.h - internal interfaces of the host-side patch creator
 * (library ota_delta): the matcher that finds bsdiff-style control triples
 * and the entropy coder that turns them into the patch stream.
 */
#ifndef OTA_DELTA_HOST_H
#define OTA_DELTA_HOST_H

#include <stddef.h>
#include <stdint.h>
#include "ota/delta.h"
#include "ota/error.h"
#include "delta_internal.h" /* struct dm_pred, for dpred_ahead() */

/* One command: the old position moves by seek, then diff_len bytes are
 * produced as old + difference, then extra_len literal bytes. */
struct dctl {
    int32_t seek;       /* relative, as the matcher finds it */
    uint32_t old_start; /* absolute old position of the diff run */
    uint32_t diff_len;
    uint32_t extra_len;
};

struct dctl_list {
    struct dctl *v;
    size_t n, cap;
};

/* Approximate matching of new against old (both already filtered). Fills
 * seek and old_start of every command. With refine, literal runs are then
 * searched for shorter matches (new or repeated displacements) that pay.
 * hashed: find matches through the hash index (delta_hindex.c) instead of a
 * suffix array (large images). */
ota_err dmatch_run_idx(const uint8_t *old, uint32_t old_len, const uint8_t *new_,
                       uint32_t new_len, int refine, int hashed, struct dctl_list *out);
/* dmatch_run_idx() with the suffix array. */
ota_err dmatch_run(const uint8_t *old, uint32_t old_len, const uint8_t *new_,
                   uint32_t new_len, int refine, struct dctl_list *out);

/* Hash index of the old image for large images (delta_hindex.c): windows of
 * DHX_WIN bytes at every DHX_STRIDE-th old offset. */
#define DHX_WIN 16u
#define DHX_STRIDE 16u
struct dhindex {
    const uint8_t *old;
    uint32_t old_len;
    unsigned bits;  /* the table has 2^bits slots */
    uint32_t *tab;  /* old offset + 1, 0 = empty */
};
ota_err dhindex_build(const uint8_t *old, uint32_t old_len, struct dhindex *ix);
void dhindex_free(struct dhindex *ix);
/* Length of the match found for nw[0..nlen) (0: none), its old offset in *pos. */
uint32_t dhindex_find(const struct dhindex *ix, const uint8_t *nw, uint32_t nlen, uint32_t *pos);

/* Repeated displacements (old position - new position) the coder tracks. */
#define DREP_N 4u

/* Growable byte buffer. */
struct dbuf {
    uint8_t *p;
    size_t len, cap;
};
ota_err dbuf_put(struct dbuf *b, uint8_t byte);

/* Predictor configuration and the address map the stream carries. */
struct dpred {
    uint8_t flags;     /* OTA_DELTA_PRED_* */
    uint32_t ptr_base;
    uint32_t n;
    uint32_t old[OTA_DELTA_MAP_MAX];
    int32_t disp[OTA_DELTA_MAP_MAX];
    uint32_t vn, vend;
    uint32_t vstart[OTA_DELTA_VMAP_MAX];
    int32_t vdisp[OTA_DELTA_VMAP_MAX];
    uint8_t opts;         /* OTA_DELTA_OPT_* the stream is coded with */
    uint32_t code_n;      /* code regions of the old image (ELF sections) */
    uint32_t code_start[OTA_DELTA_CODE_MAX], code_end[OTA_DELTA_CODE_MAX];
    uint16_t elf_machine; /* both images ELF for this machine (else 0): the
                             map is keyed by load address, and only this
                             machine's predictors are tried */
};

/* ELF images (delta_elf.c): the machine and the loadable segments. */
#define DELF_MAX_SEG 16u
struct delf_seg {
    uint32_t off, vaddr, len; /* file bytes [off, off + len) load at vaddr */
    uint8_t exec;
};
struct delf {
    uint16_t machine; /* e_machine: 3 i386, 40 ARM, 62 x86-64, 183 AArch64 */
    unsigned nseg;
    struct delf_seg seg[DELF_MAX_SEG];
};
/* 1 when img is a little-endian ELF file with loadable segments below 4 GiB
 * (out filled), else 0. img may also be a signed image whose payload is
 * such a file (offsets are then the whole image's). */
int delf_parse(const uint8_t *img, size_t len, struct delf *out);
/* The machine most ELF files inside a filesystem image are for: the
 * e_machine of little-endian ELF headers at 4 KiB-aligned offsets (where
 * ext4, squashfs-expanded and cpio-aligned files start), the most frequent
 * one of i386, ARM, x86-64 and AArch64; 0 when there is none. */
uint16_t delf_embedded_machine(const uint8_t *img, size_t len);
/* The executable sections of an ELF image (bare or behind an image header,
 * as delf_parse) as at most OTA_DELTA_CODE_MAX ascending file ranges
 * [start, end) (close ones merged); 0 when none or not ELF. */
int delf_code(const uint8_t *img, size_t len, uint32_t start[OTA_DELTA_CODE_MAX],
              uint32_t end[OTA_DELTA_CODE_MAX]);
/* The address file offset x loads at and the end of its segment's file
 * bytes; 0 when x is in no loadable segment. */
int delf_addr(const struct delf *e, uint32_t x, uint32_t *addr, uint32_t *seg_end);

/* Build the address map from the difference runs (keyed by load address
 * when both images are ELF for the same machine); pick a pointer base for
 * OTA_DELTA_PRED_PTR (*have_ptr_base = 0 when no base predicts enough
 * pointers); build the value map (pr->vn = 0 when none pays). */
/* The core's predictor view (struct dm_pred) of pr, predicting `flags`
 * with vn value-map entries; a64: the caller's ADRP state (zeroed). */
struct dm_pred dpred_view(const struct dpred *pr, uint8_t flags, uint32_t vn, uint32_t old_len,
                          struct dm_a64 *a64);

void dpred_build(const uint8_t *old, uint32_t old_len, const uint8_t *new_,
                 const struct dctl_list *ctl, struct dpred *pr, int *have_ptr_base);

/* The predictors that, each on its own, fix more bytes than they break. */
uint8_t dpred_useful(const uint8_t *old, uint32_t old_len, const uint8_t *new_,
                     const struct dctl_list *ctl, const struct dpred *pr, int have_ptr_base);

/* The 3 old bytes before old offset q, as ota_delta_predict() reads them. */
static inline void dpred_ctx(const uint8_t *old, uint32_t q, uint8_t ctx[3])
{
    for (uint32_t i = 0; i < 3u; i++)
        ctx[i] = q + i >= 3u ? old[q + i - 3u] : 0u;
}

/* The old bytes after the 4 at q, as the applier reads them for an AArch64
 * ADRP (m->ahead, m->n_ahead). */
static inline void dpred_ahead(struct dm_pred *m, const uint8_t *old, uint32_t old_len,
                               uint32_t q)
{
    uint32_t n = old_len - q - 4u;
    m->ahead = old + q + 4u;
    m->n_ahead = n < DM_A64_AHEAD ? n : DM_A64_AHEAD;
}

/* Entropy-code the commands into out (appended). pr may be NULL. copts:
 * the coder's options of header byte 7 (OTA_DELTA_OPT_MODEL2, _LIT3). */
ota_err dencode_run(const uint8_t *old, uint32_t old_len, const uint8_t *new_,
                    uint32_t new_len, const struct dctl_list *ctl, const struct dpred *pr,
                    uint8_t copts, struct dbuf *out);

/* One deflate stream of an image that zlib re-compresses bit for bit
 * (par: its parameters), or that is kept in token form (par.level
 * OTA_DEFLATE_TOKENS). */
struct dz_stream {
    uint32_t off, clen, rlen; /* compressed bytes [off, off + clen) of the image */
    struct ota_deflate_params par;
};

/* An image with its reproducible deflate streams decompressed. */
struct dz_image {
    uint8_t *x; /* the expanded image */
    size_t xlen;
    struct dz_stream *s; /* ascending */
    size_t n;
    size_t skipped; /* streams found that neither zlib nor tokens reproduce */
    size_t tokens;  /* of the n streams: kept in token form */
};

/* Find the streams of img (gzip, zlib, zip entries), keep the reproducible
 * ones and build the expanded image. Free with dz_image_free(). */
ota_err dz_expand(const uint8_t *img, uint32_t len, struct dz_image *out);
void dz_image_free(struct dz_image *im);

#endif
