// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/manifest_sign.c - sign an update manifest (or a no-offer
 * statement) with the server's online key: encode the signed part (core
 * encoder), hash it, sign with the host key, append the DER signature.
 */
#include <string.h>

#include "ota/manifest_sign.h"

/* Hash out[0, signed_len) and append the signature: the common tail. */
static ota_err sign_tail(const ota_key *key, uint8_t *out, size_t cap, size_t signed_len,
                         uint8_t sig[OTA_P256_SIG_DER_MAX], size_t *sig_len, size_t *len)
{
    uint8_t digest[OTA_SHA256_LEN];
    ota_err e = ota_manifest_digest(ota_crypto_openssl(), out, signed_len, digest);
    if (e == OTA_OK)
        e = ota_key_sign_digest(key, digest, sig, sig_len);
    if (e == OTA_OK)
        e = ota_manifest_append_sig(out, cap, signed_len, sig, *sig_len, len);
    return e;
}

static ota_err key_id_of(const ota_key *key, uint8_t kid[OTA_MANIFEST_KEY_ID_LEN])
{
    struct ota_pubkey pub;
    ota_err e = ota_key_pubkey(key, &pub);
    return e == OTA_OK ? ota_manifest_key_id(ota_crypto_openssl(), &pub, kid) : e;
}

ota_err ota_manifest_sign(const ota_key *key, struct ota_manifest *m, uint8_t *out,
                          size_t cap, size_t *len)
{
    uint8_t sig[OTA_P256_SIG_DER_MAX];
    size_t signed_len = 0, sig_len = sizeof(sig);
    ota_err e;
    if (!key || !m || !out || !len)
        return OTA_ERR_INVALID_ARG;
    e = key_id_of(key, m->key_id);
    if (e == OTA_OK)
        e = ota_manifest_encode_signed(m, out, cap, &signed_len);
    if (e == OTA_OK)
        e = sign_tail(key, out, cap, signed_len, sig, &sig_len, len);
    if (e == OTA_OK) {
        m->signed_len = (uint32_t)signed_len;
        m->sig_len = (uint8_t)sig_len;
        memcpy(m->sig, sig, sig_len);
    }
    return e;
}

ota_err ota_no_offer_sign(const ota_key *key, struct ota_no_offer *s, uint8_t *out, size_t cap,
                          size_t *len)
{
    uint8_t sig[OTA_P256_SIG_DER_MAX];
    size_t signed_len = 0, sig_len = sizeof(sig);
    ota_err e;
    if (!key || !s || !out || !len)
        return OTA_ERR_INVALID_ARG;
    e = key_id_of(key, s->key_id);
    if (e == OTA_OK)
        e = ota_no_offer_encode_signed(s, out, cap, &signed_len);
    if (e == OTA_OK)
        e = sign_tail(key, out, cap, signed_len, sig, &sig_len, len);
    if (e == OTA_OK) {
        s->sig_len = (uint8_t)sig_len;
        memcpy(s->sig, sig, sig_len);
    }
    return e;
}
