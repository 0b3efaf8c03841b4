// SPDX-License-Identifier: Apache-2.0
/*
 * crypto_enc_mbedtls.c - the encryption port (struct ota_crypto_enc) on
 * mbedTLS 2.28, the library MCU SDKs ship: AES-CTR (mbedtls_aes_crypt_ctr),
 * ECDH P-256 (mbedtls_ecdh_compute_shared), HKDF (mbedtls_hkdf) and HMAC
 * (mbedtls_md_hmac). Separate from crypto_mbedtls.c so the bootloader, which
 * never decrypts, links none of it. Nothing here implements a primitive.
 */
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/ecp.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include "ota/crypto.h"

static ota_err mb_aes_ctr(const uint8_t *key, size_t key_len,
                          const uint8_t counter[OTA_AES_BLOCK_LEN], const uint8_t *in,
                          uint8_t *out, size_t len)
{
    mbedtls_aes_context aes;
    unsigned char nonce_counter[16], stream_block[16];
    size_t nc_off = 0;
    ota_err e = OTA_ERR_CRYPTO;

    if ((key_len != 16 && key_len != 32) || !key || !counter || (len && (!in || !out)))
        return OTA_ERR_INVALID_ARG;
    if (len == 0)
        return OTA_OK;
    memcpy(nonce_counter, counter, sizeof nonce_counter);
    mbedtls_aes_init(&aes);
    if (mbedtls_aes_setkey_enc(&aes, key, (unsigned)key_len * 8) == 0 &&
        mbedtls_aes_crypt_ctr(&aes, len, &nc_off, nonce_counter, stream_block, in, out) == 0)
        e = OTA_OK;
    mbedtls_aes_free(&aes);
    mbedtls_platform_zeroize(stream_block, sizeof stream_block);
    return e;
}

static ota_err mb_ecdh_p256(const uint8_t priv[OTA_P256_PRIVKEY_LEN],
                            const uint8_t peer[OTA_P256_PUBKEY_LEN],
                            uint8_t shared[OTA_P256_SHARED_LEN])
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
    mbedtls_mpi d, z;
    ota_err e = OTA_ERR_CRYPTO;

    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&d);
    mbedtls_mpi_init(&z);
    if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0)
        goto out;
    e = OTA_ERR_IMAGE_ENC_KEY;
    if (mbedtls_ecp_point_read_binary(&grp, &q, peer, OTA_P256_PUBKEY_LEN) != 0 ||
        mbedtls_ecp_check_pubkey(&grp, &q) != 0)
        goto out; /* not a point on the curve */
    if (mbedtls_mpi_read_binary(&d, priv, OTA_P256_PRIVKEY_LEN) != 0 ||
        mbedtls_ecp_check_privkey(&grp, &d) != 0)
        goto out;
    e = OTA_ERR_CRYPTO;
    /* No RNG: mbedTLS then uses its internal one for blinding. */
    if (mbedtls_ecdh_compute_shared(&grp, &z, &q, &d, NULL, NULL) != 0 ||
        mbedtls_mpi_write_binary(&z, shared, OTA_P256_SHARED_LEN) != 0)
        goto out;
    e = OTA_OK;
out:
    mbedtls_mpi_free(&z);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    return e;
}

static ota_err mb_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                              size_t ikm_len, const uint8_t *info, size_t info_len,
                              uint8_t *okm, size_t okm_len)
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (okm_len == 0 || okm_len > 255u * OTA_SHA256_LEN)
        return OTA_ERR_INVALID_ARG;
    /* salt NULL/0: mbedtls_hkdf uses the RFC's HashLen zero bytes. */
    return md && mbedtls_hkdf(md, salt_len ? salt : NULL, salt_len, ikm, ikm_len, info,
                              info_len, okm, okm_len) == 0
               ? OTA_OK
               : OTA_ERR_CRYPTO;
}

static ota_err mb_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data,
                              size_t len, uint8_t out[OTA_SHA256_LEN])
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    return md && mbedtls_md_hmac(md, key, key_len, data, len, out) == 0 ? OTA_OK
                                                                       : OTA_ERR_CRYPTO;
}

static const struct ota_crypto_enc MBEDTLS_ENC = {
    .name = "mbedtls",
    .aes_ctr = mb_aes_ctr,
    .ecdh_p256 = mb_ecdh_p256,
    .hkdf_sha256 = mb_hkdf_sha256,
    .hmac_sha256 = mb_hmac_sha256,
};

const struct ota_crypto_enc *ota_crypto_enc_mbedtls(void)
{
    return &MBEDTLS_ENC;
}
