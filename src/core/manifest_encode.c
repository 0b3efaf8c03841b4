// SPDX-License-Identifier: Apache-2.0
/*
 * manifest_encode.c - write a manifest's signed part and append its
 * signature; the server uses it to build offers and tests use it to build
 * good and bad manifests (and the signed no-offer statement). Portable (the device core never needs it, but it
 * costs nothing there and keeps encoder and parser side by side).
 */
#include <string.h>

#include "ota/manifest.h"
#include "le.h"

ota_err ota_manifest_encode_signed(const struct ota_manifest *m, uint8_t *buf,
                                   size_t cap, size_t *len)
{
    size_t n, fixed;
    uint8_t format;
    if (!m || !buf || !len)
        return OTA_ERR_INVALID_ARG;
    format = m->format ? m->format : (uint8_t)OTA_MANIFEST_FORMAT;
    if (format != OTA_MANIFEST_FORMAT && format != OTA_MANIFEST_FORMAT_1)
        return OTA_ERR_INVALID_ARG;
    /* format 1 has no room for a sequence or flags; unknown flags never */
    if ((format == OTA_MANIFEST_FORMAT_1 && (m->offer_seq || m->flags)) ||
        (m->flags & ~OTA_MANIFEST_FLAGS_KNOWN))
        return OTA_ERR_INVALID_ARG;
    fixed = format == OTA_MANIFEST_FORMAT_1 ? OTA_MANIFEST_FIXED_LEN_1 : OTA_MANIFEST_FIXED_LEN;
    if (m->device_id_len == 0 || m->device_id_len > OTA_MANIFEST_DEVICE_ID_MAX ||
        m->hw_id_len > OTA_HW_ID_MAX ||
        (m->payload_kind != OTA_PAYLOAD_FULL && m->payload_kind != OTA_PAYLOAD_DELTA))
        return OTA_ERR_INVALID_ARG;
    n = fixed + (size_t)m->device_id_len + m->hw_id_len;
    if (cap < n)
        return OTA_ERR_TOO_LARGE;
    memset(buf, 0, fixed);
    memcpy(buf, OTA_MANIFEST_MAGIC, 4);
    buf[4] = format;
    buf[5] = m->payload_kind;
    buf[6] = m->device_id_len;
    buf[7] = m->hw_id_len;
    memcpy(buf + 8, m->key_id, OTA_MANIFEST_KEY_ID_LEN);
    ota_le_put64(buf + 16, m->campaign_id);
    ota_le_put64(buf + 24, m->issued_at);
    ota_le_put64(buf + 32, m->expires_at);
    memcpy(buf + 40, m->target_digest, OTA_SHA256_LEN);
    ota_le_put32(buf + 72, m->target_size);
    buf[76] = m->target_version.major;
    buf[77] = m->target_version.minor;
    ota_le_put16(buf + 78, m->target_version.revision);
    ota_le_put32(buf + 80, m->target_version.build);
    ota_le_put32(buf + 84, m->target_security_counter);
    memcpy(buf + 88, m->payload_digest, OTA_SHA256_LEN);
    ota_le_put32(buf + 120, m->payload_size);
    memcpy(buf + 124, m->base_digest, OTA_SHA256_LEN);
    if (format != OTA_MANIFEST_FORMAT_1) {
        ota_le_put64(buf + 156, m->offer_seq);
        ota_le_put32(buf + 164, m->flags);
    }
    memcpy(buf + fixed, m->device_id, m->device_id_len);
    memcpy(buf + fixed + m->device_id_len, m->hw_id, m->hw_id_len);
    *len = n;
    return OTA_OK;
}

ota_err ota_manifest_append_sig(uint8_t *buf, size_t cap, size_t signed_len,
                                const uint8_t *sig, size_t sig_len, size_t *len)
{
    if (!buf || !sig || !len || sig_len == 0 || sig_len > OTA_P256_SIG_DER_MAX)
        return OTA_ERR_INVALID_ARG;
    if (cap < signed_len + 1 + sig_len)
        return OTA_ERR_TOO_LARGE;
    buf[signed_len] = (uint8_t)sig_len;
    memcpy(buf + signed_len + 1, sig, sig_len);
    *len = signed_len + 1 + sig_len;
    return OTA_OK;
}

ota_err ota_no_offer_encode_signed(const struct ota_no_offer *s, uint8_t *buf, size_t cap,
                                   size_t *len)
{
    if (!s || !buf || !len)
        return OTA_ERR_INVALID_ARG;
    if (cap < OTA_NO_OFFER_SIGNED_LEN)
        return OTA_ERR_TOO_LARGE;
    memset(buf, 0, OTA_NO_OFFER_SIGNED_LEN);
    memcpy(buf, OTA_NO_OFFER_MAGIC, 4);
    buf[4] = OTA_NO_OFFER_FORMAT;
    memcpy(buf + 8, s->key_id, OTA_MANIFEST_KEY_ID_LEN);
    ota_le_put64(buf + 16, s->issued_at);
    ota_le_put64(buf + 24, s->offer_seq);
    *len = OTA_NO_OFFER_SIGNED_LEN;
    return OTA_OK;
}
