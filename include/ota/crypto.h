// SPDX-License-Identifier: Apache-2.0
/*
 * ota/crypto.h - the crypto port of the portable core.
 *
 * The core needs exactly two primitives: streaming SHA-256 and ECDSA P-256
 * verification of a 32-byte digest. They come through this table of function
 * pointers so the same core runs on an MCU (mbedTLS backend) and on Linux
 * (OpenSSL 3 backend), and so tests and benchmarks can run both in one
 * process. Signing and key generation are host-only and live in src/host/.
 *
 * The SHA-256 context is caller-owned storage (no malloc in the core); each
 * backend checks at compile time that its state fits.
 */
#ifndef OTA_CRYPTO_H
#define OTA_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "ota/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA_SHA256_LEN 32
#define OTA_P256_PUBKEY_LEN 65 /* uncompressed point: 0x04 || X || Y */
#define OTA_P256_SIG_DER_MAX 72

typedef struct ota_sha256_ctx {
    _Alignas(16) unsigned char opaque[240];
} ota_sha256_ctx;

struct ota_crypto {
    const char *name; /* "mbedtls" or "openssl" */
    ota_err (*sha256_init)(ota_sha256_ctx *ctx);
    ota_err (*sha256_update)(ota_sha256_ctx *ctx, const void *data, size_t len);
    /* Writes the digest and leaves ctx needing sha256_init before reuse. */
    ota_err (*sha256_final)(ota_sha256_ctx *ctx, uint8_t out[OTA_SHA256_LEN]);
    /*
     * Verify a DER ECDSA-Sig-Value over a 32-byte digest with an uncompressed
     * P-256 public key. Returns OTA_OK, OTA_ERR_IMAGE_SIG_INVALID for a
     * signature that does not verify (or a point not on the curve), or
     * OTA_ERR_CRYPTO when the backend itself failed. Callers pass only
     * signatures that ota_der_sig_check() accepted, so both backends see the
     * same strict DER.
     */
    ota_err (*p256_verify)(const uint8_t pubkey[OTA_P256_PUBKEY_LEN],
                           const uint8_t digest[OTA_SHA256_LEN],
                           const uint8_t *sig_der, size_t sig_len);
};

/* Backends (each is linked only where its library is available). */
const struct ota_crypto *ota_crypto_mbedtls(void);
const struct ota_crypto *ota_crypto_openssl(void);

/*
 * The encryption port: what a device needs to install MCUboot-encrypted
 * images (docs/encrypted-images.md) -- AES-CTR, ECDH P-256, HKDF-SHA256 and
 * HMAC-SHA256. It is a separate table so a bootloader that only verifies
 * (the slot holds plaintext once the update engine has decrypted it) links
 * none of it. Every function is one-shot and allocation-free in the core's
 * view; the backends implement them with their libraries' primitives.
 */
#define OTA_AES_BLOCK_LEN 16
#define OTA_P256_PRIVKEY_LEN 32 /* big-endian scalar */
#define OTA_P256_SHARED_LEN 32  /* x coordinate of the shared point */

struct ota_crypto_enc {
    const char *name; /* "mbedtls" or "openssl" */
    /*
     * AES-CTR (128- or 256-bit key: key_len 16 or 32) over len bytes, the
     * first byte at the start of the block whose 16-byte big-endian counter
     * is `counter`; in and out may be the same buffer. OTA_ERR_INVALID_ARG
     * for another key length.
     */
    ota_err (*aes_ctr)(const uint8_t *key, size_t key_len,
                       const uint8_t counter[OTA_AES_BLOCK_LEN],
                       const uint8_t *in, uint8_t *out, size_t len);
    /*
     * ECDH on P-256: x coordinate of priv * peer. OTA_ERR_IMAGE_ENC_KEY when
     * the peer point is not on the curve or priv is not a valid scalar.
     */
    ota_err (*ecdh_p256)(const uint8_t priv[OTA_P256_PRIVKEY_LEN],
                         const uint8_t peer[OTA_P256_PUBKEY_LEN],
                         uint8_t shared[OTA_P256_SHARED_LEN]);
    /* RFC 5869 HKDF-SHA256 (salt_len 0: the RFC's all-zero salt); okm_len
     * at most 255 * 32. */
    ota_err (*hkdf_sha256)(const uint8_t *salt, size_t salt_len,
                           const uint8_t *ikm, size_t ikm_len,
                           const uint8_t *info, size_t info_len,
                           uint8_t *okm, size_t okm_len);
    /* RFC 2104 HMAC-SHA256. */
    ota_err (*hmac_sha256)(const uint8_t *key, size_t key_len,
                           const uint8_t *data, size_t len,
                           uint8_t out[OTA_SHA256_LEN]);
};

/* Encryption backends (src/crypto/crypto_enc_*.c). */
const struct ota_crypto_enc *ota_crypto_enc_mbedtls(void);
const struct ota_crypto_enc *ota_crypto_enc_openssl(void);

/* One-shot SHA-256 through a backend. */
ota_err ota_sha256(const struct ota_crypto *c, const void *data, size_t len,
                   uint8_t out[OTA_SHA256_LEN]);

/*
 * Strict DER check of an ECDSA-Sig-Value: SEQUENCE { INTEGER r, INTEGER s },
 * definite short/long-form lengths, minimal integer encoding, positive, each
 * integer at most 33 bytes, nothing trailing. Returns OTA_OK or
 * OTA_ERR_IMAGE_SIG_MALFORMED.
 */
ota_err ota_der_sig_check(const uint8_t *sig, size_t len);

/* Constant-time comparison: 0 when equal. */
int ota_ct_memcmp(const void *a, const void *b, size_t len);

/*
 * A P-256 public key as the bootloader embeds it: the 91-byte DER
 * SubjectPublicKeyInfo (what MCUboot/imgtool embed and hash for the KEYHASH
 * TLV). ota_pubkey_point() returns the 65-byte point inside it, or NULL if
 * the SPKI is not a P-256 key.
 */
#define OTA_P256_SPKI_LEN 91
struct ota_pubkey {
    uint8_t spki[OTA_P256_SPKI_LEN];
};
const uint8_t *ota_pubkey_point(const struct ota_pubkey *key);

#ifdef __cplusplus
}
#endif
#endif
