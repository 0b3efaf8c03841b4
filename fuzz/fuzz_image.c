// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/fuzz_image.c - libFuzzer target for the image parser and verifier of
 * the portable core (ota_image_parse, ota_image_verify) with both crypto
 * backends, a fixed trusted key and a device policy (hardware id, security
 * counter floor, slot size), with a tiny hashing buffer to exercise chunked
 * reads. Any crash, sanitizer report, or disagreement between parse and
 * verify, or between the two backends, is a bug.
 *
 * Seeds: fuzz/corpus/image/ (made by fuzz/make_image_corpus.sh with the
 * test-only key fuzz/image-fuzz-key.pem, whose public key is below).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* SPKI of fuzz/image-fuzz-key.pem (ota pubkey fuzz/image-fuzz-key.pem --format c). */
static const struct ota_pubkey trusted = {{
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03,
    0x42, 0x00, 0x04, 0xff, 0x69, 0xb8, 0xdf, 0x74,
    0x38, 0xcb, 0x34, 0xa8, 0x9a, 0x55, 0x3b, 0xa2,
    0x1d, 0x7f, 0x89, 0x96, 0x5f, 0x22, 0xdf, 0x3f,
    0xe6, 0x71, 0xf8, 0x1b, 0x0b, 0xeb, 0x5d, 0x66,
    0x6d, 0x2e, 0x23, 0x5e, 0x27, 0x60, 0x33, 0xe3,
    0xe3, 0x3b, 0x7c, 0xdc, 0x64, 0x25, 0x48, 0xb5,
    0x18, 0x9a, 0x94, 0x58, 0x91, 0x96, 0x39, 0xb1,
    0x76, 0x43, 0x97, 0x5b, 0xad, 0x48, 0x48, 0xea,
    0x9a, 0xcd, 0x50,
}};

static ota_err verify(const struct ota_crypto *c, const uint8_t *data, size_t size,
                      struct ota_image_info *info)
{
    static uint8_t scratch[7]; /* odd size: many short chunks */
    struct ota_reader r;
    struct ota_mem_reader m;
    struct ota_verify_params p;
    struct ota_diag d;
    memset(&p, 0, sizeof(p));
    p.crypto = c;
    p.keys = &trusted;
    p.n_keys = 1;
    p.hw_id = (const uint8_t *)"fuzz-board";
    p.hw_id_len = 10;
    p.min_security_counter = 2;
    p.max_total_size = 1u << 20;
    p.buf = scratch;
    p.buf_len = sizeof(scratch);
    ota_reader_from_mem(&r, &m, data, (uint32_t)size);
    return ota_image_verify(&r, &p, info, &d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ota_reader r;
    struct ota_mem_reader m;
    struct ota_image_info info, vi1, vi2;
    struct ota_diag d;
    ota_err pe, e1, e2;

    if (size > (1u << 20))
        return 0;
    ota_reader_from_mem(&r, &m, data, (uint32_t)size);
    pe = ota_image_parse(&r, &info, &d);
    if (pe != OTA_OK && d.field == NULL)
        abort(); /* every failure names its field */
    if (pe == OTA_OK && (info.signed_size > info.total_size || info.total_size > size))
        abort();

    e1 = verify(ota_crypto_openssl(), data, size, &vi1);
    e2 = verify(ota_crypto_mbedtls(), data, size, &vi2);
    if (e1 != e2)
        abort(); /* backends must agree */
    if (pe != OTA_OK && e1 != pe)
        abort(); /* verify starts with the same parse */
    if (e1 == OTA_OK && (vi1.key_index != 0 || vi1.security_counter < 2))
        abort();
    return 0;
}
