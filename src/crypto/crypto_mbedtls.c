// SPDX-License-Identifier: Apache-2.0
/*
 * crypto_mbedtls.c - the crypto port's mbedTLS backend: the one that runs on
 * MCUs. SHA-256 state lives in the caller's ota_sha256_ctx (no allocation);
 * ECDSA P-256 verification uses mbedTLS's ECP/bignum code (which, on a
 * device, allocates from mbedTLS's own configured heap).
 */
#include <string.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/sha256.h>

#include "ota/crypto.h"

_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(((ota_sha256_ctx *)0)->opaque),
               "ota_sha256_ctx too small for mbedtls_sha256_context");

static mbedtls_sha256_context *state(ota_sha256_ctx *ctx)
{
    return (mbedtls_sha256_context *)(void *)ctx->opaque;
}

static ota_err mb_sha256_init(ota_sha256_ctx *ctx)
{
    mbedtls_sha256_init(state(ctx));
    return mbedtls_sha256_starts_ret(state(ctx), 0) == 0 ? OTA_OK : OTA_ERR_CRYPTO;
}

static ota_err mb_sha256_update(ota_sha256_ctx *ctx, const void *data, size_t len)
{
    return mbedtls_sha256_update_ret(state(ctx), data, len) == 0 ? OTA_OK : OTA_ERR_CRYPTO;
}

static ota_err mb_sha256_final(ota_sha256_ctx *ctx, uint8_t out[OTA_SHA256_LEN])
{
    int rc = mbedtls_sha256_finish_ret(state(ctx), out);
    mbedtls_sha256_free(state(ctx));
    return rc == 0 ? OTA_OK : OTA_ERR_CRYPTO;
}

/* Read one INTEGER of a DER signature already checked by ota_der_sig_check. */
static const uint8_t *read_int(const uint8_t *p, mbedtls_mpi *x, int *rc)
{
    size_t len = p[1];
    *rc = mbedtls_mpi_read_binary(x, p + 2, len);
    return p + 2 + len;
}

static ota_err mb_p256_verify(const uint8_t pubkey[OTA_P256_PUBKEY_LEN],
                              const uint8_t digest[OTA_SHA256_LEN],
                              const uint8_t *sig_der, size_t sig_len)
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
    mbedtls_mpi r, s;
    ota_err result = OTA_ERR_CRYPTO;
    int rc;

    if (ota_der_sig_check(sig_der, sig_len) != OTA_OK)
        return OTA_ERR_IMAGE_SIG_MALFORMED;

    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);

    if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0)
        goto out;
    if (mbedtls_ecp_point_read_binary(&grp, &q, pubkey, OTA_P256_PUBKEY_LEN) != 0 ||
        mbedtls_ecp_check_pubkey(&grp, &q) != 0) {
        result = OTA_ERR_IMAGE_SIG_INVALID; /* not a point on the curve */
        goto out;
    }
    {
        const uint8_t *p = read_int(sig_der + 2, &r, &rc);
        if (rc != 0)
            goto out;
        read_int(p, &s, &rc);
        if (rc != 0)
            goto out;
    }
    rc = mbedtls_ecdsa_verify(&grp, digest, OTA_SHA256_LEN, &q, &r, &s);
    if (rc == 0)
        result = OTA_OK;
    else if (rc == MBEDTLS_ERR_ECP_VERIFY_FAILED || rc == MBEDTLS_ERR_ECP_INVALID_KEY)
        result = OTA_ERR_IMAGE_SIG_INVALID;
out:
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    return result;
}

static const struct ota_crypto MBEDTLS_BACKEND = {
    .name = "mbedtls",
    .sha256_init = mb_sha256_init,
    .sha256_update = mb_sha256_update,
    .sha256_final = mb_sha256_final,
    .p256_verify = mb_p256_verify,
};

const struct ota_crypto *ota_crypto_mbedtls(void)
{
    return &MBEDTLS_BACKEND;
}
