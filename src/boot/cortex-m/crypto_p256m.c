// SPDX-License-Identifier: Apache-2.0
/*
 * crypto_p256m.c - the crypto port of the MCU build (ota_crypto_mbedtls()
 * for the bootloader, the ROM and the apps): SHA-256 from mbedTLS 3.6 and
 * ECDSA P-256 verification from p256-m, the small P-256 implementation
 * mbedTLS 3.6 bundles (3rdparty/p256-m), called through its own API, not
 * PSA (ota_mbedtls_config.h says why). The host's src/crypto/crypto_mbedtls.c
 * is the same contract over Debian 12's mbedTLS 2.28 (bignum/ECP); this file
 * exists because the MCU build uses another library version and another
 * P-256 code, small enough for a 16 KiB bootloader. No heap: p256-m keeps
 * everything on the stack.
 */
#include <string.h>

#include <mbedtls/sha256.h>

#include "p256-m.h"

#include "ota/crypto.h"

_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(((ota_sha256_ctx *)0)->opaque),
               "ota_sha256_ctx too small for mbedtls_sha256_context");

static mbedtls_sha256_context *state(ota_sha256_ctx *ctx)
{
    return (mbedtls_sha256_context *)(void *)ctx->opaque;
}

static ota_err mcu_sha256_init(ota_sha256_ctx *ctx)
{
    mbedtls_sha256_init(state(ctx));
    return mbedtls_sha256_starts(state(ctx), 0) == 0 ? OTA_OK : OTA_ERR_CRYPTO;
}

static ota_err mcu_sha256_update(ota_sha256_ctx *ctx, const void *data, size_t len)
{
    return mbedtls_sha256_update(state(ctx), data, len) == 0 ? OTA_OK : OTA_ERR_CRYPTO;
}

static ota_err mcu_sha256_final(ota_sha256_ctx *ctx, uint8_t out[OTA_SHA256_LEN])
{
    int rc = mbedtls_sha256_finish(state(ctx), out);
    mbedtls_sha256_free(state(ctx));
    return rc == 0 ? OTA_OK : OTA_ERR_CRYPTO;
}

/* One INTEGER of a DER signature already checked by ota_der_sig_check (1 to
 * 33 bytes, a 33rd only as a leading zero) as 32 big-endian bytes. */
static const uint8_t *int_to_32(const uint8_t *p, uint8_t out[32])
{
    size_t len = p[1];
    const uint8_t *v = p + 2;
    const uint8_t *next = v + len;
    if (len == 33) {
        v++;
        len--;
    }
    memset(out, 0, 32 - len);
    memcpy(out + 32 - len, v, len);
    return next;
}

static ota_err mcu_p256_verify(const uint8_t pubkey[OTA_P256_PUBKEY_LEN],
                               const uint8_t digest[OTA_SHA256_LEN],
                               const uint8_t *sig_der, size_t sig_len)
{
    uint8_t rs[64];
    int rc;

    if (ota_der_sig_check(sig_der, sig_len) != OTA_OK)
        return OTA_ERR_IMAGE_SIG_MALFORMED;
    if (pubkey[0] != 0x04)
        return OTA_ERR_IMAGE_SIG_INVALID; /* not an uncompressed point */
    int_to_32(int_to_32(sig_der + 2, rs), rs + 32);
    /* p256-m checks that the key is a point on the curve and that r and s
     * are in [1, n-1]. */
    rc = p256_ecdsa_verify(rs, pubkey + 1, digest, OTA_SHA256_LEN);
    if (rc == P256_SUCCESS)
        return OTA_OK;
    if (rc == P256_INVALID_SIGNATURE || rc == P256_INVALID_PUBKEY)
        return OTA_ERR_IMAGE_SIG_INVALID;
    return OTA_ERR_CRYPTO;
}

static const struct ota_crypto MCU_BACKEND = {
    .name = "mbedtls",
    .sha256_init = mcu_sha256_init,
    .sha256_update = mcu_sha256_update,
    .sha256_final = mcu_sha256_final,
    .p256_verify = mcu_p256_verify,
};

const struct ota_crypto *ota_crypto_mbedtls(void)
{
    return &MCU_BACKEND;
}
