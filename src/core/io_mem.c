// SPDX-License-Identifier: Apache-2.0
/*
 * io_mem.c - struct ota_reader over a memory buffer.
 *
 * Used by tests, the host tools and the server, which hold images in memory;
 * on a device the reader is a flash slot instead.
 */
#include <string.h>

#include "ota/io.h"

static ota_err mem_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    const struct ota_mem_reader *m = ctx;
    if (off > m->len || len > m->len - off)
        return OTA_ERR_IO;
    memcpy(buf, m->data + off, len);
    return OTA_OK;
}

void ota_reader_from_mem(struct ota_reader *r, struct ota_mem_reader *m,
                         const void *data, uint32_t len)
{
    m->data = data;
    m->len = len;
    r->read = mem_read;
    r->ctx = m;
    r->size = len;
}
