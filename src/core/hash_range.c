// SPDX-License-Identifier: Apache-2.0
/*
 * hash_range.c - the one chunked read-and-hash loop of the core
 * (hash_range.h), used by image verification, stage 0's bootloader check and
 * provisioning, and the update engine's delta-base and resume checks.
 */
#include "hash_range.h"

#include "diag.h"

#define HASH_STACK_BUF 256u

ota_err ota_hash_range_feed(const struct ota_crypto *c, ota_sha256_ctx *ctx,
                            const struct ota_reader *r, uint32_t off, uint32_t len,
                            uint8_t *buf, size_t cap, struct ota_diag *d, const char *what)
{
    uint8_t stack_buf[HASH_STACK_BUF];
    uint8_t scrap[OTA_SHA256_LEN];
    ota_err e;

    if (!buf || !cap) {
        buf = stack_buf;
        cap = sizeof stack_buf;
    }
    while (len) {
        uint32_t n = len < cap ? len : (uint32_t)cap;
        if ((e = r->read(r->ctx, off, buf, n)) != OTA_OK) {
            (void)c->sha256_final(ctx, scrap);
            return ota_diag_fail(d, e, what, off);
        }
        if ((e = c->sha256_update(ctx, buf, n)) != OTA_OK) {
            (void)c->sha256_final(ctx, scrap);
            return ota_diag_fail(d, e, "SHA-256 update", off);
        }
        off += n;
        len -= n;
    }
    return OTA_OK;
}

ota_err ota_hash_range(const struct ota_crypto *c, const struct ota_reader *r, uint32_t off,
                       uint32_t len, uint8_t *buf, size_t cap, uint8_t out[OTA_SHA256_LEN],
                       struct ota_diag *d, const char *what)
{
    ota_sha256_ctx ctx;
    ota_err e;

    if ((e = c->sha256_init(&ctx)) != OTA_OK)
        return ota_diag_fail(d, e, "SHA-256 init", off);
    if ((e = ota_hash_range_feed(c, &ctx, r, off, len, buf, cap, d, what)) != OTA_OK)
        return e;
    if ((e = c->sha256_final(&ctx, out)) != OTA_OK)
        return ota_diag_fail(d, e, "SHA-256 final", off);
    return OTA_OK;
}
