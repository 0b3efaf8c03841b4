// SPDX-License-Identifier: Apache-2.0
/*
 * ota/deflate.h - the deflate port of the delta applier: what a device needs
 * to apply a patch with a deflate section (format version 2,
 * docs/delta-format.md#deflate-section), i.e. a patch made between the
 * decompressed contents of the gzip/zlib/zip streams inside two images.
 *
 * The portable core stays freestanding: it never links zlib. It inflates the
 * old image's streams and re-compresses the new image's through this table
 * of function pointers, which a Linux port implements with zlib
 * (ota_deflate_port_zlib(), library ota_delta). A device whose applier has
 * no port (the MCU applier) refuses such patches with OTA_ERR_UNSUPPORTED
 * before writing anything.
 *
 * All storage the core needs beyond struct ota_delta_apply comes with the
 * port: the stream table (spans) and a work buffer; the compressor state
 * is the port's own.
 */
#ifndef OTA_DEFLATE_H
#define OTA_DEFLATE_H

#include <stddef.h>
#include <stdint.h>
#include "ota/dtok.h"
#include "ota/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* zlib's deflateInit2() parameters a new stream is re-compressed with. */
struct ota_deflate_params {
    uint8_t level;    /* 0 .. 9 */
    uint8_t wbits;    /* 9 .. 15: window of 2^wbits bytes (raw deflate) */
    uint8_t memlevel; /* 1 .. 9 */
    uint8_t strategy; /* 0 default, 1 filtered, 2 Huffman only, 3 RLE, 4 fixed */
};

/* level of a stream kept in token form (version 3; the other fields 0):
 * re-encoded from its tokens (ota/dtok.h), not by zlib. */
#define OTA_DEFLATE_TOKENS 0xFFu

/*
 * One deflate stream of the old or new image, as the core keeps it: the
 * compressed bytes [off, off + clen) of the real image become the rlen
 * decompressed bytes [xoff, xoff + rlen) of the expanded image.
 */
struct ota_delta_zspan {
    uint32_t off, clen;
    uint32_t xoff, rlen;
    struct ota_deflate_params par; /* new streams only */
};

/* Smallest work buffer the core accepts (half inflate input, half scratch). */
#define OTA_DEFLATE_WORK_MIN 1024u

struct ota_deflate_port {
    const char *name;
    void *ctx; /* the port's own state (compressor, decompressor) */
    /* Start a raw inflate (32 KiB window). */
    ota_err (*inflate_reset)(void *ctx);
    /*
     * Inflate: consume up to *in_len bytes of in, produce up to *out_len
     * bytes into out; on return *in_len / *out_len hold what was consumed /
     * produced and *end is 1 once the stream's last block ended.
     * OTA_ERR_DELTA_CORRUPT for data that is not deflate.
     */
    ota_err (*inflate)(void *ctx, const uint8_t *in, size_t *in_len, uint8_t *out,
                       size_t *out_len, int *end);
    /* Start a raw deflate with these parameters (OTA_ERR_INVALID_ARG if
     * the port does not support them). */
    ota_err (*deflate_reset)(void *ctx, const struct ota_deflate_params *p);
    /*
     * Deflate: as inflate; with finish, the input given is the last of the
     * stream, and *end becomes 1 once all output was produced.
     */
    ota_err (*deflate)(void *ctx, const uint8_t *in, size_t *in_len, int finish, uint8_t *out,
                       size_t *out_len, int *end);
    /* Storage for the patch's stream table: at most span_cap streams (old
     * and new together); more are refused with OTA_ERR_TOO_LARGE. */
    struct ota_delta_zspan *spans;
    uint32_t span_cap;
    /* Work buffer (>= OTA_DEFLATE_WORK_MIN bytes). */
    uint8_t *work;
    size_t work_len;
    /* Token codec state for version 3 patches (streams in token form);
     * NULL: such patches are refused with OTA_ERR_UNSUPPORTED. */
    struct ota_dtok *tok;
};

/*
 * The zlib port (library ota_delta, Linux and host): a heap-allocated port
 * with its own span table (OTA_DEFLATE_ZLIB_SPANS entries), work buffer and
 * token codec state;
 * one per applier at a time. zlib's allocations go through a counting
 * allocator: ota_deflate_zlib_peak() is the most bytes zlib held at once.
 * NULL when out of memory.
 */
#define OTA_DEFLATE_ZLIB_SPANS 16384u
#define OTA_DEFLATE_ZLIB_WORK 8192u
struct ota_deflate_port *ota_deflate_zlib_new(void);
void ota_deflate_zlib_free(struct ota_deflate_port *p);
size_t ota_deflate_zlib_peak(const struct ota_deflate_port *p);

#ifdef __cplusplus
}
#endif
#endif
