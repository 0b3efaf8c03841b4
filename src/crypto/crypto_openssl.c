// SPDX-License-Identifier: Apache-2.0
/*
 * crypto_openssl.c - the crypto port's OpenSSL 3 backend, for Linux hosts
 * (tools, server, agent, simulator).
 *
 * SHA-256 uses OpenSSL's low-level SHA256_CTX: it is the same assembly (SHA-NI
 * / AVX2) that EVP dispatches to, but its state fits in the caller's
 * ota_sha256_ctx, so the core's no-allocation contract holds on the host too
 * and an abandoned hash leaks nothing. The API is deprecated in OpenSSL 3 but
 * present; we silence that one warning deliberately.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "ota/crypto.h"

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((ota_sha256_ctx *)0)->opaque),
               "ota_sha256_ctx too small for SHA256_CTX");

static SHA256_CTX *state(ota_sha256_ctx *ctx)
{
    return (SHA256_CTX *)(void *)ctx->opaque;
}

static ota_err os_sha256_init(ota_sha256_ctx *ctx)
{
    return SHA256_Init(state(ctx)) == 1 ? OTA_OK : OTA_ERR_CRYPTO;
}

static ota_err os_sha256_update(ota_sha256_ctx *ctx, const void *data, size_t len)
{
    return SHA256_Update(state(ctx), data, len) == 1 ? OTA_OK : OTA_ERR_CRYPTO;
}

static ota_err os_sha256_final(ota_sha256_ctx *ctx, uint8_t out[OTA_SHA256_LEN])
{
    int rc = SHA256_Final(out, state(ctx));
    memset(ctx->opaque, 0, sizeof(SHA256_CTX));
    return rc == 1 ? OTA_OK : OTA_ERR_CRYPTO;
}

static ota_err os_p256_verify(const uint8_t pubkey[OTA_P256_PUBKEY_LEN],
                              const uint8_t digest[OTA_SHA256_LEN],
                              const uint8_t *sig_der, size_t sig_len)
{
    char group[] = "prime256v1";
    uint8_t point[OTA_P256_PUBKEY_LEN];
    EVP_PKEY_CTX *kctx = NULL, *vctx = NULL;
    EVP_PKEY *pkey = NULL;
    ota_err result = OTA_ERR_CRYPTO;
    int rc;

    if (ota_der_sig_check(sig_der, sig_len) != OTA_OK)
        return OTA_ERR_IMAGE_SIG_MALFORMED;

    memcpy(point, pubkey, sizeof(point));
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
        OSSL_PARAM_END,
    };

    kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!kctx || EVP_PKEY_fromdata_init(kctx) != 1)
        goto out;
    if (EVP_PKEY_fromdata(kctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        result = OTA_ERR_IMAGE_SIG_INVALID; /* point not on the curve */
        goto out;
    }
    vctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!vctx || EVP_PKEY_verify_init(vctx) != 1)
        goto out;
    rc = EVP_PKEY_verify(vctx, sig_der, sig_len, digest, OTA_SHA256_LEN);
    /* 1: valid; 0: invalid; <0: also "does not verify" for a well-formed
     * DER whose r or s is out of range. */
    result = rc == 1 ? OTA_OK : OTA_ERR_IMAGE_SIG_INVALID;
out:
    EVP_PKEY_CTX_free(vctx);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(kctx);
    return result;
}

static const struct ota_crypto OPENSSL_BACKEND = {
    .name = "openssl",
    .sha256_init = os_sha256_init,
    .sha256_update = os_sha256_update,
    .sha256_final = os_sha256_final,
    .p256_verify = os_p256_verify,
};

const struct ota_crypto *ota_crypto_openssl(void)
{
    return &OPENSSL_BACKEND;
}
