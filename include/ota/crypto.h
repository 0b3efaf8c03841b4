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
