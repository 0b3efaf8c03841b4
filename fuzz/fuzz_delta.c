// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/fuzz_delta.c - libFuzzer target for the delta applier of the portable
 * core (issue item 3: a hostile patch gives an error, never an out-of-bounds
 * access or a hang). The input becomes a patch against a fixed old image
 * (see fuzz_delta_input.h), fed in varying chunk sizes; the sink traps on any
 * write that is out of order or beyond the announced size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"
#include "fuzz_delta_input.h"
#include "fuzz_sink.h"

static uint8_t old_img[FZD_OLD_LEN];
static uint8_t old_hash[OTA_SHA256_LEN];
static uint8_t patch[OTA_DELTA_HEADER_SIZE + 70000];
static struct ota_delta_apply st;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fzd_init(old_img, old_hash);
    if (size < FZD_PREFIX || size > 60000)
        return 0;
    uint8_t pattern = data[9];
    const struct ota_crypto *c = (pattern & 1) ? ota_crypto_openssl() : ota_crypto_mbedtls();
    size_t plen = fzd_patch(data, size, old_hash, patch);
    struct ota_mem_reader mr;
    struct ota_reader r;
    ota_reader_from_mem(&r, &mr, old_img, FZD_OLD_LEN);
    struct sink s = {0, 0};
    struct ota_delta_header h;
    if (ota_delta_header_decode(patch, plen, &h, NULL) == OTA_OK)
        s.cap = h.new_len;
    struct ota_diag diag;
    struct ota_delta_apply_cfg cfg = {c, &r, sink_write, &s, 0, &diag, NULL};
    ota_err e = ota_delta_apply_init(&st, &cfg);
    size_t off = 0;
    uint32_t chunk = 1u + (pattern >> 1) * 37u;
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
