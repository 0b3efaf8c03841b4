// SPDX-License-Identifier: Apache-2.0
/*
 * manifest_parse.c - decode a manifest's bytes into struct ota_manifest and
 * check its structure (no signature, no policy: see manifest_verify.c); the
 * same for the signed "no offer" statement.
 *
 * Every field is at a fixed offset (docs/manifest.md); the two ids are the
 * only variable-length parts and their lengths are bounded before they are
 * used. Portable: no malloc, no stdio.
 */
#include <string.h>

#include "ota/manifest.h"
#include "le.h"
#include "diag.h"

/* Offsets of the signed part (format 1 ends its fixed part at OFF_SEQ;
 * format 2 adds offer_seq and flags there). */
enum {
    OFF_MAGIC = 0,
    OFF_FORMAT = 4,
    OFF_KIND = 5,
    OFF_DEVID_LEN = 6,
    OFF_HWID_LEN = 7,
    OFF_KEY_ID = 8,
    OFF_CAMPAIGN = 16,
    OFF_ISSUED = 24,
    OFF_EXPIRES = 32,
    OFF_TARGET_DIGEST = 40,
    OFF_TARGET_SIZE = 72,
    OFF_TARGET_VERSION = 76,
    OFF_TARGET_SECCNT = 84,
    OFF_PAYLOAD_DIGEST = 88,
    OFF_PAYLOAD_SIZE = 120,
    OFF_BASE_DIGEST = 124,
    OFF_SEQ = 156,
    OFF_FLAGS = 164,
    OFF_IDS = 168,
};

/* Device ids travel in URLs, logs and file names: a conservative alphabet. */
static int devid_char_ok(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '-' || c == '_' || c == '.' || c == ':';
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* The signature length byte and the DER signature after a signed part of
 * signed_len bytes, ending exactly at len. */
static ota_err parse_sig(const uint8_t *buf, size_t len, size_t signed_len, uint8_t *sig_len,
                         uint8_t *sig, struct ota_diag *diag)
{
    if (len < signed_len + 1)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "length", (uint32_t)len,
                                  (uint32_t)(signed_len + 1), (uint32_t)len);
    *sig_len = buf[signed_len];
    if (*sig_len < 8 || *sig_len > OTA_P256_SIG_DER_MAX)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "sig_len",
                                  (uint32_t)signed_len, OTA_P256_SIG_DER_MAX, *sig_len);
    if (len != signed_len + 1 + *sig_len)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "length", (uint32_t)len,
                                  (uint32_t)(signed_len + 1 + *sig_len), (uint32_t)len);
    memcpy(sig, buf + signed_len + 1, *sig_len);
    if (ota_der_sig_check(sig, *sig_len) != OTA_OK)
        return ota_diag_fail(diag, OTA_ERR_MANIFEST_MALFORMED, "signature",
                             (uint32_t)signed_len + 1);
    return OTA_OK;
}

ota_err ota_manifest_parse(const uint8_t *buf, size_t len, struct ota_manifest *m,
                           struct ota_diag *diag)
{
    size_t off, signed_len, fixed;
    if (!buf || !m)
        return ota_diag_fail(diag, OTA_ERR_INVALID_ARG, "manifest", 0);
    memset(m, 0, sizeof(*m));
    if (len < OTA_MANIFEST_FIXED_LEN_1)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "length", (uint32_t)len,
                                  OTA_MANIFEST_FIXED_LEN_1,
                                  (uint32_t)(len > 0xffffffffu ? 0xffffffffu : len));
    if (len > OTA_MANIFEST_MAX_LEN)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "length", 0,
                                  OTA_MANIFEST_MAX_LEN,
                                  (uint32_t)(len > 0xffffffffu ? 0xffffffffu : len));
    if (memcmp(buf + OFF_MAGIC, OTA_MANIFEST_MAGIC, 4) != 0)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "magic", OFF_MAGIC,
                                  ota_le_get32((const uint8_t *)OTA_MANIFEST_MAGIC),
                                  ota_le_get32(buf));
    m->format = buf[OFF_FORMAT];
    if (m->format != OTA_MANIFEST_FORMAT && m->format != OTA_MANIFEST_FORMAT_1)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_VERSION, "format", OFF_FORMAT,
                                  OTA_MANIFEST_FORMAT, m->format);
    fixed = m->format == OTA_MANIFEST_FORMAT_1 ? OTA_MANIFEST_FIXED_LEN_1 : OTA_MANIFEST_FIXED_LEN;
    if (len < fixed)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "length", (uint32_t)len,
                                  (uint32_t)fixed, (uint32_t)len);
    m->payload_kind = buf[OFF_KIND];
    if (m->payload_kind != OTA_PAYLOAD_FULL && m->payload_kind != OTA_PAYLOAD_DELTA)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "payload_kind", OFF_KIND, 1,
                                  m->payload_kind);
    m->device_id_len = buf[OFF_DEVID_LEN];
    if (m->device_id_len == 0 || m->device_id_len > OTA_MANIFEST_DEVICE_ID_MAX)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "device_id_len", OFF_DEVID_LEN,
                                  OTA_MANIFEST_DEVICE_ID_MAX, m->device_id_len);
    m->hw_id_len = buf[OFF_HWID_LEN];
    if (m->hw_id_len > OTA_HW_ID_MAX)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "hw_id_len", OFF_HWID_LEN,
                                  OTA_HW_ID_MAX, m->hw_id_len);
    memcpy(m->key_id, buf + OFF_KEY_ID, OTA_MANIFEST_KEY_ID_LEN);
    m->campaign_id = ota_le_get64(buf + OFF_CAMPAIGN);
    m->issued_at = ota_le_get64(buf + OFF_ISSUED);
    m->expires_at = ota_le_get64(buf + OFF_EXPIRES);
    if (m->expires_at <= m->issued_at)
        return ota_diag_fail(diag, OTA_ERR_MANIFEST_MALFORMED, "expires_at", OFF_EXPIRES);
    memcpy(m->target_digest, buf + OFF_TARGET_DIGEST, OTA_SHA256_LEN);
    m->target_size = ota_le_get32(buf + OFF_TARGET_SIZE);
    if (m->target_size == 0)
        return ota_diag_fail(diag, OTA_ERR_MANIFEST_MALFORMED, "target_size", OFF_TARGET_SIZE);
    m->target_version.major = buf[OFF_TARGET_VERSION];
    m->target_version.minor = buf[OFF_TARGET_VERSION + 1];
    m->target_version.revision = ota_le_get16(buf + OFF_TARGET_VERSION + 2);
    m->target_version.build = ota_le_get32(buf + OFF_TARGET_VERSION + 4);
    m->target_security_counter = ota_le_get32(buf + OFF_TARGET_SECCNT);
    memcpy(m->payload_digest, buf + OFF_PAYLOAD_DIGEST, OTA_SHA256_LEN);
    m->payload_size = ota_le_get32(buf + OFF_PAYLOAD_SIZE);
    if (m->payload_size == 0)
        return ota_diag_fail(diag, OTA_ERR_MANIFEST_MALFORMED, "payload_size", OFF_PAYLOAD_SIZE);
    memcpy(m->base_digest, buf + OFF_BASE_DIGEST, OTA_SHA256_LEN);
    if (m->payload_kind == OTA_PAYLOAD_FULL) {
        /* A full payload IS the target: the fields must agree. */
        if (memcmp(m->payload_digest, m->target_digest, OTA_SHA256_LEN) != 0)
            return ota_diag_fail(diag, OTA_ERR_MANIFEST_MALFORMED, "payload_digest",
                                 OFF_PAYLOAD_DIGEST);
        if (m->payload_size != m->target_size)
            return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "payload_size",
                                      OFF_PAYLOAD_SIZE, m->target_size, m->payload_size);
        if (!all_zero(m->base_digest, OTA_SHA256_LEN))
            return ota_diag_fail(diag, OTA_ERR_MANIFEST_MALFORMED, "base_digest", OFF_BASE_DIGEST);
    } else {
        if (all_zero(m->base_digest, OTA_SHA256_LEN))
            return ota_diag_fail(diag, OTA_ERR_MANIFEST_MALFORMED, "base_digest", OFF_BASE_DIGEST);
        if (memcmp(m->base_digest, m->target_digest, OTA_SHA256_LEN) == 0)
            return ota_diag_fail(diag, OTA_ERR_MANIFEST_MALFORMED, "base_digest", OFF_BASE_DIGEST);
    }
    if (m->format != OTA_MANIFEST_FORMAT_1) {
        m->offer_seq = ota_le_get64(buf + OFF_SEQ);
        m->flags = ota_le_get32(buf + OFF_FLAGS);
        if (m->flags & ~OTA_MANIFEST_FLAGS_KNOWN)
            return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "flags", OFF_FLAGS,
                                      OTA_MANIFEST_FLAGS_KNOWN, m->flags);
    }
    off = fixed;
    signed_len = fixed + (size_t)m->device_id_len + m->hw_id_len;
    if (len < signed_len + 1)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "length", len,
                                  (uint32_t)(signed_len + 1), (uint32_t)len);
    for (size_t i = 0; i < m->device_id_len; i++) {
        if (!devid_char_ok(buf[off + i]))
            return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "device_id", off + i, 0,
                                      buf[off + i]);
        m->device_id[i] = (char)buf[off + i];
    }
    m->device_id[m->device_id_len] = '\0';
    off += m->device_id_len;
    memcpy(m->hw_id, buf + off, m->hw_id_len);
    m->signed_len = (uint32_t)signed_len;
    return parse_sig(buf, len, signed_len, &m->sig_len, m->sig, diag);
}

ota_err ota_no_offer_parse(const uint8_t *buf, size_t len, struct ota_no_offer *s,
                           struct ota_diag *diag)
{
    if (!buf || !s)
        return ota_diag_fail(diag, OTA_ERR_INVALID_ARG, "no-offer statement", 0);
    memset(s, 0, sizeof(*s));
    if (len < OTA_NO_OFFER_SIGNED_LEN || len > OTA_NO_OFFER_MAX_LEN)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "length", 0,
                                  len < OTA_NO_OFFER_SIGNED_LEN ? OTA_NO_OFFER_SIGNED_LEN
                                                                : OTA_NO_OFFER_MAX_LEN,
                                  (uint32_t)(len > 0xffffffffu ? 0xffffffffu : len));
    if (memcmp(buf, OTA_NO_OFFER_MAGIC, 4) != 0)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_MALFORMED, "magic", 0,
                                  ota_le_get32((const uint8_t *)OTA_NO_OFFER_MAGIC),
                                  ota_le_get32(buf));
    if (buf[4] != OTA_NO_OFFER_FORMAT)
        return ota_diag_fail_vals(diag, OTA_ERR_MANIFEST_VERSION, "format", 4,
                                  OTA_NO_OFFER_FORMAT, buf[4]);
    if (buf[5] || buf[6] || buf[7])
        return ota_diag_fail(diag, OTA_ERR_MANIFEST_MALFORMED, "reserved", 5);
    memcpy(s->key_id, buf + 8, OTA_MANIFEST_KEY_ID_LEN);
    s->issued_at = ota_le_get64(buf + 16);
    s->offer_seq = ota_le_get64(buf + 24);
    return parse_sig(buf, len, OTA_NO_OFFER_SIGNED_LEN, &s->sig_len, s->sig, diag);
}
