// SPDX-License-Identifier: Apache-2.0
/*
 * flash.c - checked access to the flash HAL (ota/flash.h): bounds and
 * alignment checks, unaligned reads, a reader over a flash region (so images
 * are verified in place) and a sequential erase-ahead writer.
 *
 * Portable core: no malloc, no stdio; only memcpy/memset from the compiler's
 * freestanding support.
 */
#include <string.h>

#include "ota/flash.h"

ota_err ota_flash_check(const struct ota_flash *f)
{
    if (!f || !f->read || !f->prog || !f->erase)
        return OTA_ERR_INVALID_ARG;
    if (f->read_size == 0 || f->read_size > OTA_FLASH_READ_MAX)
        return OTA_ERR_INVALID_ARG;
    if (f->prog_size == 0 || f->prog_size > OTA_FLASH_PROG_MAX)
        return OTA_ERR_INVALID_ARG;
    if (f->sector_size == 0 || f->sector_count == 0)
        return OTA_ERR_INVALID_ARG;
    if (f->sector_size % f->prog_size || f->sector_size % f->read_size)
        return OTA_ERR_INVALID_ARG;
    if ((uint64_t)f->sector_size * f->sector_count > 0xffffffffULL)
        return OTA_ERR_INVALID_ARG;
    return OTA_OK;
}

uint32_t ota_flash_size(const struct ota_flash *f)
{
    return f->sector_size * f->sector_count;
}

static int in_bounds(const struct ota_flash *f, uint32_t off, size_t len)
{
    uint32_t size = ota_flash_size(f);
    return off <= size && len <= (size_t)(size - off);
}

ota_err ota_flash_read(const struct ota_flash *f, uint32_t off, void *buf, size_t len)
{
    uint8_t *out = buf;
    uint32_t rs;

    if (!f || (!buf && len))
        return OTA_ERR_INVALID_ARG;
    if (!in_bounds(f, off, len))
        return OTA_ERR_FLASH_BOUNDS;
    rs = f->read_size;
    if (rs == 1 || (off % rs == 0 && len % rs == 0))
        return len ? f->read(f->ctx, off, buf, len) : OTA_OK;

    while (len) {
        uint32_t head = off % rs;
        if (head == 0 && len >= rs) {
            /* aligned middle part: straight into the caller's buffer */
            size_t n = len - len % rs;
            ota_err e = f->read(f->ctx, off, out, n);
            if (e)
                return e;
            out += n;
            off += (uint32_t)n;
            len -= n;
        } else {
            /* unaligned edge: read the whole unit and copy the part wanted */
            uint8_t unit[OTA_FLASH_READ_MAX];
            size_t n = rs - head;
            ota_err e;
            if (n > len)
                n = len;
            e = f->read(f->ctx, off - head, unit, rs);
            if (e)
                return e;
            memcpy(out, unit + head, n);
            out += n;
            off += (uint32_t)n;
            len -= n;
        }
    }
    return OTA_OK;
}

ota_err ota_flash_prog(const struct ota_flash *f, uint32_t off, const void *buf,
                       size_t len)
{
    if (!f || (!buf && len))
        return OTA_ERR_INVALID_ARG;
    if (!in_bounds(f, off, len))
        return OTA_ERR_FLASH_BOUNDS;
    if (off % f->prog_size || len % f->prog_size)
        return OTA_ERR_FLASH_ALIGN;
    return len ? f->prog(f->ctx, off, buf, len) : OTA_OK;
}

ota_err ota_flash_erase(const struct ota_flash *f, uint32_t off, uint32_t len)
{
    uint32_t s, first, n;

    if (!f)
        return OTA_ERR_INVALID_ARG;
    if (!in_bounds(f, off, len))
        return OTA_ERR_FLASH_BOUNDS;
    if (off % f->sector_size || len % f->sector_size)
        return OTA_ERR_FLASH_ALIGN;
    first = off / f->sector_size;
    n = len / f->sector_size;
    for (s = 0; s < n; s++) {
        ota_err e = f->erase(f->ctx, first + s);
        if (e)
            return e;
    }
    return OTA_OK;
}

ota_err ota_flash_sync(const struct ota_flash *f)
{
    if (!f)
        return OTA_ERR_INVALID_ARG;
    return f->sync ? f->sync(f->ctx) : OTA_OK;
}

ota_err ota_flash_is_erased(const struct ota_flash *f, uint32_t off, uint32_t len,
                            int *erased)
{
    uint8_t buf[64];

    if (!erased)
        return OTA_ERR_INVALID_ARG;
    *erased = 0;
    while (len) {
        uint32_t n = len < sizeof buf ? len : (uint32_t)sizeof buf;
        uint32_t i;
        ota_err e = ota_flash_read(f, off, buf, n);
        if (e)
            return e;
        for (i = 0; i < n; i++)
            if (buf[i] != 0xff)
                return OTA_OK;
        off += n;
        len -= n;
    }
    *erased = 1;
    return OTA_OK;
}

uint32_t ota_flash_align_prog(const struct ota_flash *f, uint32_t n)
{
    return (n + f->prog_size - 1) / f->prog_size * f->prog_size;
}

uint32_t ota_flash_align_sector(const struct ota_flash *f, uint32_t n)
{
    return (n + f->sector_size - 1) / f->sector_size * f->sector_size;
}

/* ---- reader over a flash region ---- */

static ota_err area_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    const struct ota_flash_area *a = ctx;
    if (off > a->size || len > (size_t)(a->size - off))
        return OTA_ERR_FLASH_BOUNDS;
    return ota_flash_read(a->flash, a->off + off, buf, len);
}

void ota_reader_from_flash(struct ota_reader *r, struct ota_flash_area *area,
                           const struct ota_flash *f, uint32_t off, uint32_t size)
{
    area->flash = f;
    area->off = off;
    area->size = size;
    r->read = area_read;
    r->ctx = area;
    r->size = size;
}

/* ---- sequential erase-ahead writer ---- */

ota_err ota_flash_writer_init(struct ota_flash_writer *w, const struct ota_flash *f,
                              uint32_t off, uint32_t size, uint32_t chunk)
{
    ota_err e;

    if (!w || !f)
        return OTA_ERR_INVALID_ARG;
    e = ota_flash_check(f);
    if (e)
        return e;
    if (!in_bounds(f, off, size))
        return OTA_ERR_FLASH_BOUNDS;
    if (off % f->sector_size)
        return OTA_ERR_FLASH_ALIGN;
    if (chunk && chunk % f->prog_size)
        return OTA_ERR_FLASH_ALIGN;
    memset(w, 0, sizeof *w);
    w->flash = f;
    w->off = off;
    w->size = size;
    w->chunk = chunk;
    return OTA_OK;
}

/* Make sure every sector touched by region bytes [0, end) is erased. */
static ota_err writer_erase_to(struct ota_flash_writer *w, uint32_t end)
{
    const struct ota_flash *f = w->flash;
    while (w->erased_end < end) {
        ota_err e = ota_flash_erase(f, w->off + w->erased_end, f->sector_size);
        if (e)
            return e;
        w->erased_end += f->sector_size;
    }
    return OTA_OK;
}

/* Program `len` (a multiple of prog_size) bytes at region offset `at`. */
static ota_err writer_prog(struct ota_flash_writer *w, uint32_t at, const uint8_t *p,
                           uint32_t len)
{
    ota_err e = writer_erase_to(w, at + len);
    if (e)
        return e;
    while (len) {
        uint32_t n = len;
        if (w->chunk && n > w->chunk)
            n = w->chunk;
        e = ota_flash_prog(w->flash, w->off + at, p, n);
        if (e)
            return e;
        at += n;
        p += n;
        len -= n;
    }
    return OTA_OK;
}

ota_err ota_flash_writer_write(struct ota_flash_writer *w, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t ps;

    if (!w || !w->flash || (!data && len))
        return OTA_ERR_INVALID_ARG;
    if (len > (size_t)(w->size - w->pos))
        return OTA_ERR_TOO_LARGE;
    if (!len)
        return OTA_OK; /* (data may be NULL: never handed to memcpy) */
    ps = w->flash->prog_size;

    /* complete a partial unit first */
    if (w->fill) {
        uint32_t n = ps - w->fill;
        if (n > len)
            n = (uint32_t)len;
        memcpy(w->unit + w->fill, p, n);
        w->fill += n;
        w->pos += n;
        p += n;
        len -= n;
        if (w->fill < ps)
            return OTA_OK;
        {
            ota_err e = writer_prog(w, w->pos - ps, w->unit, ps);
            if (e)
                return e;
        }
        w->fill = 0;
    }
    /* whole units straight from the caller's buffer */
    if (len >= ps) {
        uint32_t n = (uint32_t)(len - len % ps);
        ota_err e = writer_prog(w, w->pos, p, n);
        if (e)
            return e;
        w->pos += n;
        p += n;
        len -= n;
    }
    /* keep the tail for later */
    if (len) {
        memcpy(w->unit, p, len);
        w->fill = (uint32_t)len;
        w->pos += (uint32_t)len;
    }
    return OTA_OK;
}

ota_err ota_flash_writer_finish(struct ota_flash_writer *w)
{
    if (!w || !w->flash)
        return OTA_ERR_INVALID_ARG;
    if (w->fill) {
        uint32_t ps = w->flash->prog_size;
        uint32_t at = w->pos - w->fill;
        ota_err e;
        if (at + ps > w->size)
            return OTA_ERR_TOO_LARGE; /* region not a multiple of prog_size */
        memset(w->unit + w->fill, 0xff, ps - w->fill);
        e = writer_prog(w, at, w->unit, ps);
        if (e)
            return e;
        w->fill = 0;
    }
    return ota_flash_sync(w->flash);
}
