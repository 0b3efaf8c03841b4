// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_manifest.c - libFuzzer target for the manifest parser and verifier
 * (src/core/manifest_*.c). Properties: never crash, hang or read out of
 * bounds; whatever parses re-encodes to exactly the same signed bytes; the
 * verifier (both crypto backends, same answer) never accepts a manifest the
 * parser refuses. The seeds in fuzz/corpus/manifest/ are signed with the keys
 * whose public halves are below (their private halves were discarded):
 * format 1 seeds (seed-full-*, seed-delta-*) with SEED_KEY, format 2 seeds
 * (seed-v2-*: offer_seq, flags) with SEED_KEY_2. The last input byte picks
 * the freshness policy (a sequence floor, a running version), so the
 * offer_seq and downgrade checks are exercised too. Every input is also
 * tried as a signed no-offer statement (same properties; seed-no-offer.bin is
 * signed by a discarded key, so it exercises parsing and a refused
 * signature).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota/manifest.h"

static const struct ota_pubkey SEED_KEY = {{
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
    0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03,
    0x42, 0x00, 0x04, 0xb8, 0x0f, 0x96, 0x2e, 0x44, 0x97, 0x03, 0x6a, 0x08,
    0x30, 0xc4, 0x89, 0xac, 0xcc, 0x62, 0x8c, 0x79, 0x7d, 0x7e, 0xf7, 0x72,
    0xa4, 0x1a, 0x5d, 0x24, 0x30, 0x63, 0x76, 0xcb, 0xd4, 0x30, 0xb5, 0x2f,
    0x1c, 0x01, 0x9c, 0x80, 0x71, 0x3c, 0xde, 0x04, 0xf9, 0x4d, 0x6c, 0x72,
    0x70, 0x03, 0xcf, 0x00, 0x01, 0xe0, 0x92, 0xbd, 0x70, 0xc6, 0x9f, 0x47,
    0x5e, 0xbb, 0x7e, 0x2d, 0x87, 0x18, 0xd6,
}};

static const struct ota_pubkey SEED_KEY_2 = {{
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
    0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03,
    0x42, 0x00, 0x04, 0x93, 0xd5, 0x0b, 0xf4, 0xb8, 0x3c, 0x39, 0x5a, 0xdb,
    0xc0, 0x2f, 0x66, 0x97, 0x0d, 0x81, 0x9a, 0x98, 0x99, 0xa2, 0x17, 0x2b,
    0xed, 0xde, 0xaa, 0xaa, 0x9c, 0x9b, 0x6a, 0x6f, 0x53, 0xb7, 0xb8, 0xf8,
    0xa8, 0x42, 0x51, 0x30, 0x96, 0x09, 0x6a, 0xfc, 0xf7, 0x06, 0xfa, 0x04,
    0x2d, 0x5b, 0x3e, 0x95, 0xa6, 0xe0, 0xec, 0x4d, 0x41, 0xa3, 0xfa, 0xb7,
    0x14, 0xd7, 0xdf, 0x35, 0xe2, 0x1b, 0xb7
}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ota_manifest m, v1, v2;
    struct ota_diag d;
    struct ota_manifest_policy p;
    struct ota_pubkey keys[2];
    struct ota_image_version running = {1, 2, 0, 0};
    uint8_t pick = size > 0 ? data[size - 1] : 0;
    uint8_t re[OTA_MANIFEST_MAX_LEN];
    size_t relen = 0;
    ota_err e = ota_manifest_parse(data, size, &m, &d);
    if (e == OTA_OK) {
        if (ota_manifest_encode_signed(&m, re, sizeof(re), &relen) != OTA_OK ||
            relen != m.signed_len || memcmp(re, data, relen) != 0)
            abort();
    }
    memset(&p, 0, sizeof(p));
    keys[0] = SEED_KEY;
    keys[1] = SEED_KEY_2;
    p.server_keys = keys;
    p.n_server_keys = 2;
    p.min_offer_seq = (pick & 2) ? 1700000000123456ull + (pick & 4) : 0;
    p.running_version = (pick & 8) ? &running : NULL;
    p.device_id = size > 0 && (data[0] & 1) ? "fuzz-device" : "d1";
    p.now = 1700001000;
    p.crypto = ota_crypto_openssl();
    ota_err e1 = ota_manifest_verify(data, size, &p, &v1, &d);
    p.crypto = ota_crypto_mbedtls();
    ota_err e2 = ota_manifest_verify(data, size, &p, &v2, &d);
    if (e1 != e2)
        abort();
    if (e != OTA_OK && e1 == OTA_OK)
        abort();

    /* the same bytes as a no-offer statement: parse, re-encode, and both
     * backends agree on its signature */
    struct ota_no_offer no, n1, n2;
    e = ota_no_offer_parse(data, size, &no, &d);
    if (e == OTA_OK && (ota_no_offer_encode_signed(&no, re, sizeof(re), &relen) != OTA_OK ||
                        relen != OTA_NO_OFFER_SIGNED_LEN || memcmp(re, data, relen) != 0 ||
                        size != relen + 1 + no.sig_len))
        abort();
    p.crypto = ota_crypto_openssl();
    e1 = ota_no_offer_verify(data, size, &p, &n1, &d);
    p.crypto = ota_crypto_mbedtls();
    e2 = ota_no_offer_verify(data, size, &p, &n2, &d);
    if (e1 != e2 || (e != OTA_OK && e1 == OTA_OK))
        abort();
    return 0;
}
