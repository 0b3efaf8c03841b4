// SPDX-License-Identifier: Apache-2.0
/*
 * manifest_verify.c - decide whether a device may act on an offer: the
 * signature by a trusted server key first, then the policy (device id,
 * hardware id, expiry, anti-rollback floor, freshness (offer sequence),
 * downgrade, slot size); and whether a signed no-offer statement is
 * genuine. Portable: no malloc,
 * no stdio; crypto through struct ota_crypto.
 */
#include <string.h>

#include "ota/manifest.h"
#include "diag.h"

ota_err ota_manifest_digest(const struct ota_crypto *c, const uint8_t *buf,
                            size_t signed_len, uint8_t out[OTA_SHA256_LEN])
{
    if (!c || !buf || !out)
        return OTA_ERR_INVALID_ARG;
    return ota_sha256(c, buf, signed_len, out);
}

ota_err ota_manifest_key_id(const struct ota_crypto *c, const struct ota_pubkey *k,
                            uint8_t out[OTA_MANIFEST_KEY_ID_LEN])
{
    uint8_t h[OTA_SHA256_LEN];
    ota_err e;
    if (!c || !k || !out)
        return OTA_ERR_INVALID_ARG;
    e = ota_sha256(c, k->spki, sizeof(k->spki), h);
    if (e == OTA_OK)
        memcpy(out, h, OTA_MANIFEST_KEY_ID_LEN);
    return e;
}

/* Verify with one key: OTA_OK, OTA_ERR_MANIFEST_SIG_INVALID or a crypto error. */
static ota_err verify_with(const struct ota_crypto *c, const struct ota_pubkey *k,
                           const uint8_t digest[OTA_SHA256_LEN], const uint8_t *sig,
                           size_t sig_len)
{
    const uint8_t *pt = ota_pubkey_point(k);
    ota_err e;
    if (!pt)
        return OTA_ERR_MANIFEST_SIG_INVALID;
    e = c->p256_verify(pt, digest, sig, sig_len);
    if (e == OTA_ERR_IMAGE_SIG_INVALID)
        return OTA_ERR_MANIFEST_SIG_INVALID;
    return e;
}

/* The signature over buf[0, signed_len) (a manifest or a no-offer
 * statement) by the trusted key key_id names. */
static ota_err check_signature(const struct ota_manifest_policy *p, const uint8_t *buf,
                               uint32_t signed_len, const uint8_t key_id[OTA_MANIFEST_KEY_ID_LEN],
                               const uint8_t *sig, size_t sig_len, struct ota_diag *diag)
{
    uint8_t digest[OTA_SHA256_LEN], kid[OTA_MANIFEST_KEY_ID_LEN];
    ota_err e = ota_manifest_digest(p->crypto, buf, signed_len, digest);
    int matched = 0;
    if (e != OTA_OK)
        return e;
    /* Normal path: the key id names the key; verify with exactly that one. */
    for (size_t i = 0; i < p->n_server_keys; i++) {
        e = ota_manifest_key_id(p->crypto, &p->server_keys[i], kid);
        if (e != OTA_OK)
            return e;
        if (memcmp(kid, key_id, sizeof(kid)) != 0)
            continue;
        matched = 1;
        e = verify_with(p->crypto, &p->server_keys[i], digest, sig, sig_len);
        if (e != OTA_ERR_MANIFEST_SIG_INVALID)
            return e; /* OTA_OK or a backend failure */
    }
    if (matched)
        return ota_diag_fill(diag, OTA_ERR_MANIFEST_SIG_INVALID, "signature", signed_len + 1,
                             0, 0, 0);
    return ota_diag_fill(diag, OTA_ERR_MANIFEST_SIG_INVALID, "key_id", 8, 0, 0, 0);
}

ota_err ota_no_offer_verify(const uint8_t *buf, size_t len, const struct ota_manifest_policy *p,
                            struct ota_no_offer *s, struct ota_diag *diag)
{
    ota_err e;
    if (!p || !p->crypto || !s || (!p->server_keys && p->n_server_keys))
        return ota_diag_fill(diag, OTA_ERR_INVALID_ARG, "policy", 0, 0, 0, 0);
    e = ota_no_offer_parse(buf, len, s, diag);
    if (e == OTA_OK)
        e = check_signature(p, buf, OTA_NO_OFFER_SIGNED_LEN, s->key_id, s->sig, s->sig_len,
                            diag);
    return e;
}

ota_err ota_manifest_verify(const uint8_t *buf, size_t len,
                            const struct ota_manifest_policy *p,
                            struct ota_manifest *m, struct ota_diag *diag)
{
    ota_err e;
    size_t devlen;
    uint32_t ids;
    if (!p || !p->crypto || !p->device_id || !m || (!p->server_keys && p->n_server_keys))
        return ota_diag_fill(diag, OTA_ERR_INVALID_ARG, "policy", 0, 0, 0, 0);
    e = ota_manifest_parse(buf, len, m, diag);
    if (e != OTA_OK)
        return e;
    e = check_signature(p, buf, m->signed_len, m->key_id, m->sig, m->sig_len, diag);
    if (e != OTA_OK)
        return e;
    ids = m->signed_len - m->device_id_len - m->hw_id_len;
    devlen = strlen(p->device_id);
    if (devlen != m->device_id_len || memcmp(p->device_id, m->device_id, devlen) != 0)
        return ota_diag_fill(diag, OTA_ERR_MANIFEST_WRONG_DEVICE, "device_id", ids, 0, 0, 0);
    if (p->hw_id && (p->hw_id_len != m->hw_id_len ||
                     memcmp(p->hw_id, m->hw_id, m->hw_id_len) != 0))
        return ota_diag_fill(diag, OTA_ERR_IMAGE_HW_MISMATCH, "hw_id", ids + m->device_id_len,
                             (uint32_t)p->hw_id_len, m->hw_id_len, 1);
    if (p->now != 0 && p->now >= m->expires_at)
        return ota_diag_fill(diag, OTA_ERR_MANIFEST_EXPIRED, "expires_at", 32,
                             (uint32_t)m->expires_at, (uint32_t)p->now, 1);
    if (m->target_security_counter < p->min_security_counter)
        return ota_diag_fill(diag, OTA_ERR_IMAGE_ROLLBACK, "target_security_counter", 84,
                             p->min_security_counter, m->target_security_counter, 1);
    if (p->min_offer_seq && m->offer_seq < p->min_offer_seq)
        /* values: the low 32 bits (diag fields are 32-bit) */
        return ota_diag_fill(diag, OTA_ERR_MANIFEST_STALE, "offer_seq", 156,
                             (uint32_t)p->min_offer_seq, (uint32_t)m->offer_seq, 1);
    if (p->running_version && !(m->flags & OTA_MANIFEST_FLAG_DOWNGRADE) &&
        ota_image_version_cmp(&m->target_version, p->running_version) <= 0)
        return ota_diag_fill(diag, OTA_ERR_MANIFEST_DOWNGRADE, "target_version", 76, 0, 0, 0);
    if (p->max_target_size && m->target_size > p->max_target_size)
        return ota_diag_fill(diag, OTA_ERR_IMAGE_TOO_LARGE, "target_size", 72,
                             p->max_target_size, m->target_size, 1);
    if (p->max_target_size && m->payload_size > p->max_target_size)
        return ota_diag_fill(diag, OTA_ERR_IMAGE_TOO_LARGE, "payload_size", 120,
                             p->max_target_size, m->payload_size, 1);
    return OTA_OK;
}
