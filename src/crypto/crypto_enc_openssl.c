// SPDX-License-Identifier: Apache-2.0
/*
 * crypto_enc_openssl.c - the encryption port (struct ota_crypto_enc) on
 * OpenSSL 3 for Linux hosts: AES-CTR, ECDH P-256, HKDF-SHA256 and
 * HMAC-SHA256, each a thin call into OpenSSL's EVP/EVP_KDF/EVP_MAC API.
 * Separate from crypto_openssl.c because a verify-only program needs none of
 * it. Nothing here implements a primitive.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "ota/crypto.h"

static ota_err os_aes_ctr(const uint8_t *key, size_t key_len,
                          const uint8_t counter[OTA_AES_BLOCK_LEN], const uint8_t *in,
                          uint8_t *out, size_t len)
{
    const EVP_CIPHER *cipher = key_len == 16 ? EVP_aes_128_ctr()
                               : key_len == 32 ? EVP_aes_256_ctr() : NULL;
    EVP_CIPHER_CTX *ctx;
    ota_err e = OTA_OK;

    if (!cipher || !key || !counter || (len && (!in || !out)))
        return OTA_ERR_INVALID_ARG;
    if (len == 0)
        return OTA_OK;
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx || EVP_EncryptInit_ex(ctx, cipher, NULL, key, counter) != 1)
        e = OTA_ERR_CRYPTO;
    /* EVP lengths are int; CTR state carries over between updates. */
    while (e == OTA_OK && len) {
        int n = len > (1u << 30) ? (1 << 30) : (int)len, outl = 0;
        if (EVP_EncryptUpdate(ctx, out, &outl, in, n) != 1 || outl != n)
            e = OTA_ERR_CRYPTO;
        in += n;
        out += n;
        len -= (size_t)n;
    }
    EVP_CIPHER_CTX_free(ctx);
    return e;
}

static EVP_PKEY *p256_from(const uint8_t *priv, const uint8_t *pub, int selection)
{
    char group[] = "prime256v1";
    uint8_t point[OTA_P256_PUBKEY_LEN];
    OSSL_PARAM params[4];
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;
    BIGNUM *d = NULL;
    unsigned char dbuf[OTA_P256_PRIVKEY_LEN];
    int n = 0;

    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    if (pub) {
        memcpy(point, pub, sizeof point);
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point,
                                                        sizeof point);
    }
    if (priv) {
        /* OSSL_PARAM integers are native-endian unsigned byte strings. */
        d = BN_bin2bn(priv, OTA_P256_PRIVKEY_LEN, NULL);
        if (!d || BN_bn2nativepad(d, dbuf, sizeof dbuf) < 0)
            goto out;
        params[n++] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, dbuf, sizeof dbuf);
    }
    params[n] = OSSL_PARAM_construct_end();
    if (!kctx || EVP_PKEY_fromdata_init(kctx) != 1 ||
        EVP_PKEY_fromdata(kctx, &pkey, selection, params) != 1)
        pkey = NULL;
out:
    BN_clear_free(d);
    memset(dbuf, 0, sizeof dbuf);
    EVP_PKEY_CTX_free(kctx);
    return pkey;
}

static ota_err os_ecdh_p256(const uint8_t priv[OTA_P256_PRIVKEY_LEN],
                            const uint8_t peer[OTA_P256_PUBKEY_LEN],
                            uint8_t shared[OTA_P256_SHARED_LEN])
{
    EVP_PKEY *mine = NULL, *theirs = NULL;
    EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
    size_t len = OTA_P256_SHARED_LEN;
    ota_err e = OTA_ERR_IMAGE_ENC_KEY;

    theirs = p256_from(NULL, peer, EVP_PKEY_PUBLIC_KEY);
    if (!theirs)
        goto out; /* not a point on the curve */
    chk = EVP_PKEY_CTX_new_from_pkey(NULL, theirs, NULL);
    if (!chk || EVP_PKEY_public_check(chk) != 1)
        goto out;
    mine = p256_from(priv, NULL, EVP_PKEY_KEYPAIR);
    if (!mine)
        goto out;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
    if (!ctx || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, theirs) != 1 ||
        EVP_PKEY_derive(ctx, shared, &len) != 1 || len != OTA_P256_SHARED_LEN)
        goto out;
    e = OTA_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_CTX_free(chk);
    EVP_PKEY_free(mine);
    EVP_PKEY_free(theirs);
    return e;
}

static ota_err os_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                              size_t ikm_len, const uint8_t *info, size_t info_len,
                              uint8_t *okm, size_t okm_len)
{
    char digest[] = "SHA256";
    static const uint8_t zero_salt[OTA_SHA256_LEN];
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[5];
    ota_err e = OTA_ERR_CRYPTO;
    int n = 0;

    if (okm_len == 0 || okm_len > 255u * OTA_SHA256_LEN) {
        e = OTA_ERR_INVALID_ARG;
        goto out;
    }
    if (!salt || salt_len == 0) {
        salt = zero_salt;
        salt_len = sizeof zero_salt;
    }
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    params[n] = OSSL_PARAM_construct_end();
    if (ctx && EVP_KDF_derive(ctx, okm, okm_len, params) == 1)
        e = OTA_OK;
out:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return e;
}

static ota_err os_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data,
                              size_t len, uint8_t out[OTA_SHA256_LEN])
{
    static const uint8_t empty[1];
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key_len ? key : empty, key_len,
                   len ? data : empty, len, out, OTA_SHA256_LEN, NULL))
        return OTA_ERR_CRYPTO;
    return OTA_OK;
}

static const struct ota_crypto_enc OPENSSL_ENC = {
    .name = "openssl",
    .aes_ctr = os_aes_ctr,
    .ecdh_p256 = os_ecdh_p256,
    .hkdf_sha256 = os_hkdf_sha256,
    .hmac_sha256 = os_hmac_sha256,
};

const struct ota_crypto_enc *ota_crypto_enc_openssl(void)
{
    return &OPENSSL_ENC;
}
