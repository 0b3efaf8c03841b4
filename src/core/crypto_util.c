// SPDX-License-Identifier: Apache-2.0
/*
 * crypto_util.c - backend-independent helpers of the crypto port: one-shot
 * SHA-256, the strict DER check every ECDSA signature passes before a backend
 * sees it (so mbedTLS and OpenSSL accept exactly the same encodings), a
 * constant-time compare, and the P-256 SPKI layout.
 */
#include <string.h>

#include "ota/crypto.h"

ota_err ota_sha256(const struct ota_crypto *c, const void *data, size_t len,
                   uint8_t out[OTA_SHA256_LEN])
{
    ota_sha256_ctx ctx;
    ota_err e;
    if (!c)
        return OTA_ERR_INVALID_ARG;
    e = c->sha256_init(&ctx);
    if (e == OTA_OK)
        e = c->sha256_update(&ctx, data, len);
    if (e == OTA_OK)
        e = c->sha256_final(&ctx, out);
    return e;
}

/* One DER INTEGER holding a positive value of at most 256 bits. */
static int der_uint(const uint8_t *p, size_t avail, size_t *used)
{
    size_t len;
    if (avail < 3 || p[0] != 0x02)
        return 0;
    len = p[1];
    if (len == 0 || len > 33 || len > avail - 2)
        return 0;
    if (p[2] & 0x80)
        return 0; /* negative */
    if (len > 1 && p[2] == 0x00 && !(p[3] & 0x80))
        return 0; /* non-minimal leading zero */
    if (len == 33 && p[2] != 0x00)
        return 0; /* more than 256 bits */
    *used = 2 + len;
    return 1;
}

ota_err ota_der_sig_check(const uint8_t *sig, size_t len)
{
    size_t r_used, s_used;
    if (!sig || len < 8 || len > OTA_P256_SIG_DER_MAX)
        return OTA_ERR_IMAGE_SIG_MALFORMED;
    /* SEQUENCE with a short-form length (content is at most 70 bytes). */
    if (sig[0] != 0x30 || sig[1] >= 0x80 || (size_t)sig[1] != len - 2)
        return OTA_ERR_IMAGE_SIG_MALFORMED;
    if (!der_uint(sig + 2, len - 2, &r_used))
        return OTA_ERR_IMAGE_SIG_MALFORMED;
    if (!der_uint(sig + 2 + r_used, len - 2 - r_used, &s_used))
        return OTA_ERR_IMAGE_SIG_MALFORMED;
    if (2 + r_used + s_used != len)
        return OTA_ERR_IMAGE_SIG_MALFORMED;
    return OTA_OK;
}

int ota_ct_memcmp(const void *a, const void *b, size_t len)
{
    const volatile uint8_t *pa = a, *pb = b;
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= (uint8_t)(pa[i] ^ pb[i]);
    return acc != 0;
}

/* DER prefix of a SubjectPublicKeyInfo for id-ecPublicKey / prime256v1 with
 * an uncompressed point: the 65-byte point follows. */
static const uint8_t P256_SPKI_PREFIX[26] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};

const uint8_t *ota_pubkey_point(const struct ota_pubkey *key)
{
    if (!key || memcmp(key->spki, P256_SPKI_PREFIX, sizeof(P256_SPKI_PREFIX)) != 0)
        return 0;
    if (key->spki[sizeof(P256_SPKI_PREFIX)] != 0x04)
        return 0;
    return key->spki + sizeof(P256_SPKI_PREFIX);
}
