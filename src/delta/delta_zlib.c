// SPDX-License-Identifier: Apache-2.0
/*
 * delta_zlib.c - the deflate port (ota/deflate.h) implemented with zlib, for
 * the appliers that run on Linux and the host (`ota delta apply`, ota-agent,
 * ota-sim, tests): raw inflate of the old image's streams and raw deflate of
 * the new image's with the parameters the patch recorded. zlib's memory goes
 * through a counting allocator so the deflate mode's memory bound is
 * measured, not assumed (docs/delta-format.md, "Memory of the deflate mode").
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ota/deflate.h"

struct zport {
    z_stream inf, def;
    int inf_ready, def_ready;
    size_t cur, peak;
};

/* Counting allocator: a size_t header in front of every block. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    struct zport *z = opaque;
    size_t n = (size_t)items * size;
    size_t *p = malloc(sizeof(size_t) + n);
    if (!p)
        return Z_NULL;
    *p = n;
    z->cur += n;
    if (z->cur > z->peak)
        z->peak = z->cur;
    return p + 1;
}

static void z_free(voidpf opaque, voidpf ptr)
{
    struct zport *z = opaque;
    if (!ptr)
        return;
    size_t *p = (size_t *)ptr - 1;
    z->cur -= *p;
    free(p);
}

static void z_init_stream(struct zport *z, z_stream *s)
{
    memset(s, 0, sizeof(*s));
    s->zalloc = z_alloc;
    s->zfree = z_free;
    s->opaque = z;
}

static ota_err zp_inflate_reset(void *ctx)
{
    struct zport *z = ctx;
    if (z->inf_ready)
        return inflateReset(&z->inf) == Z_OK ? OTA_OK : OTA_ERR_INTERNAL;
    z_init_stream(z, &z->inf);
    int r = inflateInit2(&z->inf, -15);
    if (r == Z_MEM_ERROR)
        return OTA_ERR_NO_MEMORY;
    if (r != Z_OK)
        return OTA_ERR_INTERNAL;
    z->inf_ready = 1;
    return OTA_OK;
}

static ota_err zp_inflate(void *ctx, const uint8_t *in, size_t *in_len, uint8_t *out,
                          size_t *out_len, int *end)
{
    struct zport *z = ctx;
    if (!z->inf_ready || *in_len > UINT32_MAX || *out_len > UINT32_MAX)
        return OTA_ERR_INVALID_ARG;
    z->inf.next_in = (Bytef *)(uintptr_t)in;
    z->inf.avail_in = (uInt)*in_len;
    z->inf.next_out = out;
    z->inf.avail_out = (uInt)*out_len;
    int r = *out_len ? inflate(&z->inf, Z_NO_FLUSH) : Z_BUF_ERROR;
    *in_len -= z->inf.avail_in;
    *out_len -= z->inf.avail_out;
    *end = r == Z_STREAM_END;
    if (r == Z_OK || r == Z_STREAM_END || r == Z_BUF_ERROR)
        return OTA_OK;
    return r == Z_MEM_ERROR ? OTA_ERR_NO_MEMORY : OTA_ERR_DELTA_CORRUPT;
}

static ota_err zp_deflate_reset(void *ctx, const struct ota_deflate_params *p)
{
    struct zport *z = ctx;
    if (z->def_ready) {
        deflateEnd(&z->def);
        z->def_ready = 0;
    }
    z_init_stream(z, &z->def);
    int r = deflateInit2(&z->def, p->level, Z_DEFLATED, -(int)p->wbits, p->memlevel,
                         p->strategy);
    if (r == Z_MEM_ERROR)
        return OTA_ERR_NO_MEMORY;
    if (r != Z_OK)
        return OTA_ERR_INVALID_ARG;
    z->def_ready = 1;
    return OTA_OK;
}

static ota_err zp_deflate(void *ctx, const uint8_t *in, size_t *in_len, int finish, uint8_t *out,
                          size_t *out_len, int *end)
{
    struct zport *z = ctx;
    if (!z->def_ready || *in_len > UINT32_MAX || *out_len > UINT32_MAX)
        return OTA_ERR_INVALID_ARG;
    z->def.next_in = (Bytef *)(uintptr_t)in;
    z->def.avail_in = (uInt)*in_len;
    z->def.next_out = out;
    z->def.avail_out = (uInt)*out_len;
    int r = deflate(&z->def, finish ? Z_FINISH : Z_NO_FLUSH);
    *in_len -= z->def.avail_in;
    *out_len -= z->def.avail_out;
    *end = r == Z_STREAM_END;
    if (r == Z_OK || r == Z_STREAM_END || r == Z_BUF_ERROR)
        return OTA_OK;
    return OTA_ERR_INTERNAL;
}

/* The port and everything it owns, in one allocation. */
struct zport_all {
    struct ota_deflate_port port;
    struct zport z;
    struct ota_delta_zspan spans[OTA_DEFLATE_ZLIB_SPANS];
    uint8_t work[OTA_DEFLATE_ZLIB_WORK];
    struct ota_dtok tok;
};

struct ota_deflate_port *ota_deflate_zlib_new(void)
{
    struct zport_all *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->port.name = "zlib";
    a->port.ctx = &a->z;
    a->port.inflate_reset = zp_inflate_reset;
    a->port.inflate = zp_inflate;
    a->port.deflate_reset = zp_deflate_reset;
    a->port.deflate = zp_deflate;
    a->port.spans = a->spans;
    a->port.span_cap = OTA_DEFLATE_ZLIB_SPANS;
    a->port.work = a->work;
    a->port.work_len = sizeof(a->work);
    a->port.tok = &a->tok;
    return &a->port;
}

void ota_deflate_zlib_free(struct ota_deflate_port *p)
{
    if (!p)
        return;
    struct zport_all *a = (struct zport_all *)p; /* port is the first member */
    if (a->z.inf_ready)
        inflateEnd(&a->z.inf);
    if (a->z.def_ready)
        deflateEnd(&a->z.def);
    free(a);
}

size_t ota_deflate_zlib_peak(const struct ota_deflate_port *p)
{
    return p ? ((const struct zport_all *)p)->z.peak : 0;
}
