// SPDX-License-Identifier: Apache-2.0
/*
 * delta_apply_host.c - ota_delta_apply_buffer(): runs the portable core's
 * streaming applier over in-memory buffers, for the `ota` tool, the server
 * (to check a patch it generated) and tests. The state struct is on the heap
 * here only because it is host code; the core never allocates. Version 2
 * patches get the zlib deflate port (delta_zlib.c).
 */
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"

struct membuf {
    uint8_t *p;
    size_t len, cap;
};

/* Grows as the image arrives: a hostile header's new size is not trusted
 * for an up-front allocation. */
static ota_err mem_write(void *ctx, uint32_t off, const void *data, size_t len)
{
    struct membuf *m = ctx;
    if (off != m->len)
        return OTA_ERR_INTERNAL;
    if (len > m->cap - m->len) {
        size_t nc = m->cap ? m->cap : 65536u;
        while (nc - m->len < len)
            nc *= 2u;
        uint8_t *np = realloc(m->p, nc);
        if (!np)
            return OTA_ERR_NO_MEMORY;
        m->p = np;
        m->cap = nc;
    }
    memcpy(m->p + m->len, data, len);
    m->len += len;
    return OTA_OK;
}

ota_err ota_delta_apply_buffer(const struct ota_crypto *crypto, const uint8_t *old,
                               size_t old_len, const uint8_t *patch, size_t patch_len,
                               size_t chunk, uint8_t **out, size_t *out_len,
                               struct ota_diag *diag)
{
    if (!crypto || !out || !out_len || (!old && old_len) || (!patch && patch_len))
        return OTA_ERR_INVALID_ARG;
    *out = NULL;
    *out_len = 0;
    if (old_len > 0xFFFFFFFFu)
        return OTA_ERR_TOO_LARGE;
    struct ota_delta_header h;
    ota_err e = ota_delta_header_decode(patch, patch_len, &h, diag);
    if (e != OTA_OK)
        return e;
    struct membuf m = {NULL, 0, 0};
    struct ota_delta_apply *st = malloc(sizeof(*st));
    if (!st)
        return OTA_ERR_NO_MEMORY;
    struct ota_mem_reader mr;
    struct ota_reader r;
    ota_reader_from_mem(&r, &mr, old, (uint32_t)old_len);
    struct ota_delta_apply_cfg cfg = {
        .crypto = crypto, .old = &r, .write = mem_write, .write_ctx = &m, .diag = diag};
    /* version 2 (deflate section): zlib inflates and re-compresses */
    struct ota_deflate_port *zp = NULL;
    if (OTA_DELTA_HAS_SECTION(h.version)) {
        zp = ota_deflate_zlib_new();
        if (!zp) {
            free(st);
            return OTA_ERR_NO_MEMORY;
        }
        cfg.deflate = zp;
    }
    e = ota_delta_apply_init(st, &cfg);
    if (chunk == 0)
        chunk = patch_len ? patch_len : 1u;
    for (size_t off = 0; e == OTA_OK && off < patch_len; off += chunk) {
        size_t n = patch_len - off < chunk ? patch_len - off : chunk;
        e = ota_delta_apply_feed(st, patch + off, n);
    }
    if (e == OTA_OK)
        e = ota_delta_apply_finish(st);
    free(st);
    ota_deflate_zlib_free(zp);
    if (e != OTA_OK) {
        free(m.p);
        return e;
    }
    if (!m.p)
        m.p = malloc(1); /* an empty image: still a buffer to free */
    if (!m.p)
        return OTA_ERR_NO_MEMORY;
    *out = m.p;
    *out_len = m.len;
    return OTA_OK;
}
