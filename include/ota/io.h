// SPDX-License-Identifier: Apache-2.0
/*
 * ota/io.h - the byte-source interface the portable core reads through.
 *
 * The core never holds a whole image in RAM: image verification, the
 * bootloader, the delta applier and the update engine read what they need,
 * when they need it, through a reader: a callback plus a context, with the
 * total size known up front. Adapters exist for flash (src/core/flash.c) and
 * for memory buffers (below); host tools add one for files.
 */
#ifndef OTA_IO_H
#define OTA_IO_H

#include <stddef.h>
#include <stdint.h>
#include "ota/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ota_reader {
    /* Read exactly len bytes at off (off + len <= size is guaranteed by the
     * caller). Return OTA_OK or an error (OTA_ERR_IO, OTA_ERR_POWER_LOSS, ...). */
    ota_err (*read)(void *ctx, uint32_t off, void *buf, size_t len);
    void *ctx;
    uint32_t size; /* bytes available */
};

/* A reader over a memory buffer. `mem` must outlive the reader. */
struct ota_mem_reader {
    const uint8_t *data;
    uint32_t len;
};
void ota_reader_from_mem(struct ota_reader *r, struct ota_mem_reader *m,
                         const void *data, uint32_t len);

#ifdef __cplusplus
}
#endif
#endif
