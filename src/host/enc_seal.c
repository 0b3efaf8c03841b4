// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/enc_seal.c - the build side of encryption (ota/image_enc.h): a
 * fresh random AES key wrapped for a device key in an ENC_EC256 TLV value
 * (what imgtool's ecies_hkdf does), used by the image builder for encrypted
 * images and by ota_payload_seal() for encrypted delta payloads. Keys come
 * from OpenSSL's RNG; the recipe itself is the core's ota_enc_wrap().
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ota/host.h"
#include "ota/image_enc.h"
#include "errmsg.h"

ota_err ota_enc_new_key(const ota_key *dev, size_t aes_len, uint8_t *tlv,
                        struct ota_enc_key *k, char *err, size_t errlen)
{
    struct ota_pubkey dev_pub, eph_pub;
    struct ota_enc_privkey eph_priv;
    const uint8_t *dev_point, *eph_point;
    ota_key *eph = NULL;
    ota_err rc;

    memset(k, 0, sizeof *k);
    if (aes_len != 16 && aes_len != 32) {
        ota_host_errf(err, errlen, "AES key size must be 128 or 256 bits");
        return OTA_ERR_USAGE;
    }
    rc = dev ? ota_key_pubkey(dev, &dev_pub) : OTA_ERR_INVALID_ARG;
    dev_point = rc == OTA_OK ? ota_pubkey_point(&dev_pub) : NULL;
    if (!dev_point) {
        ota_host_errf(err, errlen, "device encryption key is not a P-256 key");
        return OTA_ERR_KEY_FORMAT;
    }
    rc = ota_key_generate(&eph);
    if (rc == OTA_OK)
        rc = ota_key_private_scalar(eph, &eph_priv);
    if (rc == OTA_OK)
        rc = ota_key_pubkey(eph, &eph_pub);
    eph_point = rc == OTA_OK ? ota_pubkey_point(&eph_pub) : NULL;
    if (rc == OTA_OK && (!eph_point || RAND_priv_bytes(k->aes, (int)aes_len) != 1))
        rc = OTA_ERR_CRYPTO;
    if (rc == OTA_OK)
        rc = ota_enc_wrap(ota_crypto_enc_openssl(), eph_priv.d, eph_point, dev_point, k->aes,
                          aes_len, tlv);
    OPENSSL_cleanse(&eph_priv, sizeof eph_priv);
    ota_key_free(eph);
    if (rc != OTA_OK) {
        ota_host_errf(err, errlen, "wrapping the image key failed: %s", ota_strerror(rc));
        ota_enc_key_wipe(k);
        return rc;
    }
    k->c = ota_crypto_enc_openssl();
    k->aes_len = (uint8_t)aes_len;
    return OTA_OK;
}

ota_err ota_payload_seal(const uint8_t *payload, size_t len, const ota_key *dev,
                         unsigned aes_bits, uint8_t **out, size_t *out_len, char *err,
                         size_t errlen)
{
    size_t aes_len = aes_bits == 256 ? 32 : 16, hdr_len;
    struct ota_enc_key k;
    uint8_t *buf;
    ota_err rc;

    if (!out || !out_len || (!payload && len) || (aes_bits != 128 && aes_bits != 256)) {
        ota_host_errf(err, errlen, "invalid argument");
        return OTA_ERR_INVALID_ARG;
    }
    hdr_len = OTA_ENC_PAYLOAD_HDR_LEN(aes_len);
    if (len > 0xffffffffu - hdr_len) {
        ota_host_errf(err, errlen, "payload too large");
        return OTA_ERR_TOO_LARGE;
    }
    buf = malloc(hdr_len + len + 1);
    if (!buf) {
        ota_host_errf(err, errlen, "out of memory");
        return OTA_ERR_NO_MEMORY;
    }
    memcpy(buf, OTA_ENC_PAYLOAD_MAGIC, 4);
    buf[4] = OTA_ENC_PAYLOAD_FORMAT;
    buf[5] = (uint8_t)aes_len;
    buf[6] = buf[7] = 0;
    rc = ota_enc_new_key(dev, aes_len, buf + OTA_ENC_PAYLOAD_FIXED, &k, err, errlen);
    if (rc == OTA_OK) {
        if (len)
            memcpy(buf + hdr_len, payload, len);
        k.body_off = (uint32_t)hdr_len;
        k.body_len = (uint32_t)len;
        rc = ota_enc_xor(&k, (uint32_t)hdr_len, buf + hdr_len, len);
        if (rc != OTA_OK)
            ota_host_errf(err, errlen, "AES-CTR failed: %s", ota_strerror(rc));
    }
    ota_enc_key_wipe(&k);
    if (rc != OTA_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = hdr_len + len;
    return OTA_OK;
}
