// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/manifest_sign.c - sign an update manifest with the server's
 * online key: encode the signed part (core encoder), hash it, sign with the
 * host key, append the DER signature.
 */
#include <string.h>

#include "ota/manifest_sign.h"

ota_err ota_manifest_sign(const ota_key *key, struct ota_manifest *m, uint8_t *out,
                          size_t cap, size_t *len)
{
    const struct ota_crypto *c = ota_crypto_openssl();
    struct ota_pubkey pub;
    uint8_t digest[OTA_SHA256_LEN], sig[OTA_P256_SIG_DER_MAX];
    size_t signed_len = 0, sig_len = sizeof(sig);
    ota_err e;
    if (!key || !m || !out || !len)
        return OTA_ERR_INVALID_ARG;
    e = ota_key_pubkey(key, &pub);
    if (e == OTA_OK)
        e = ota_manifest_key_id(c, &pub, m->key_id);
    if (e == OTA_OK)
        e = ota_manifest_encode_signed(m, out, cap, &signed_len);
    if (e == OTA_OK)
        e = ota_manifest_digest(c, out, signed_len, digest);
    if (e == OTA_OK)
        e = ota_key_sign_digest(key, digest, sig, &sig_len);
    if (e == OTA_OK)
        e = ota_manifest_append_sig(out, cap, signed_len, sig, sig_len, len);
    if (e == OTA_OK) {
        m->signed_len = (uint32_t)signed_len;
        m->sig_len = (uint8_t)sig_len;
        memcpy(m->sig, sig, sig_len);
    }
    return e;
}
