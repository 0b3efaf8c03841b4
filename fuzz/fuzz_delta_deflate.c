// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/fuzz_delta_deflate.c - libFuzzer target for version 2 and 3 delta
 * patches (the deflate section and a coded stream over expanded images,
 * streams inflated/re-compressed by zlib or rewritten as tokens and
 * re-encoded by the token codec): a hostile
 * section or stream gives an error, never an out-of-bounds access, a hang
 * or an out-of-order write. The input becomes a version 2 patch against a
 * fixed old image holding zlib, gzip and zip streams (see
 * fuzz_delta_deflate_input.h), applied through the zlib deflate port and fed
 * in varying chunk sizes; the sink traps on any write out of order or
 * beyond the announced size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"
#include "fuzz_delta_deflate_input.h"
#include "fuzz_sink.h"
#include "le.h"

static uint8_t old_img[FZZ_OLD_MAX];
static uint32_t old_len;
static uint8_t old_hash[OTA_SHA256_LEN];
static uint8_t patch[OTA_DELTA_HEADER_SIZE + 70000];
static struct ota_delta_apply st;
static struct ota_deflate_port *port;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!port) {
        old_len = fzz_image(old_img, 0);
        ota_sha256(ota_crypto_mbedtls(), old_img, old_len, old_hash);
        port = ota_deflate_zlib_new();
        if (!port)
            __builtin_trap();
    }
    if (size < FZZ_PREFIX + 4u || size > 60000)
        return 0;
    size_t body = size - FZZ_PREFIX;
    uint32_t sec_len = ota_le_get32(data + FZZ_PREFIX);
    uint32_t stream_len = sec_len < body && body - sec_len >= 5u ? (uint32_t)(body - sec_len) : 5u;
    memset(patch, 0, OTA_DELTA_HEADER_SIZE);
    memcpy(patch, OTA_DELTA_MAGIC, 4);
    uint32_t new_len = (uint32_t)data[2] | ((uint32_t)(data[3] & 0x7Fu) << 8);
    patch[4] = data[3] & 0x80u ? OTA_DELTA_VERSION_TOKENS : OTA_DELTA_VERSION_DEFLATE;
    patch[6] = data[1] & OTA_DELTA_PRED_ALL;
    ota_le_put32(patch + 8, old_len);
    ota_le_put32(patch + 12, new_len);
    ota_le_put32(patch + 16, stream_len);
    memcpy(patch + 24, old_hash, OTA_SHA256_LEN);
    memcpy(patch + OTA_DELTA_HEADER_SIZE, data + FZZ_PREFIX, body);
    size_t plen = OTA_DELTA_HEADER_SIZE + body;

    struct ota_mem_reader mr;
    struct ota_reader r;
    ota_reader_from_mem(&r, &mr, old_img, old_len);
    struct sink s = {0, new_len};
    struct ota_diag diag;
    const struct ota_crypto *c = (data[0] & 1) ? ota_crypto_openssl() : ota_crypto_mbedtls();
    struct ota_delta_apply_cfg cfg = {c, &r, sink_write, &s, 0, &diag, port};
    ota_err e = ota_delta_apply_init(&st, &cfg);
    size_t off = 0;
    uint32_t chunk = 1u + (uint32_t)(data[0] >> 1) * 37u;
    while (e == OTA_OK && off < plen) {
        size_t n = plen - off < chunk ? plen - off : chunk;
        e = ota_delta_apply_feed(&st, patch + off, n);
        off += n;
    }
    if (e == OTA_OK)
        e = ota_delta_apply_finish(&st);
    if (e == OTA_OK && s.pos != s.cap)
        __builtin_trap(); /* success must mean the whole image was written */
    return 0;
}
