// SPDX-License-Identifier: Apache-2.0
/*
 * image_enc.c - MCUboot's ENC_EC256 key TLV (unwrap for the device, wrap for
 * the build side) and AES-CTR over an image body at any offset, through the
 * encryption port (struct ota_crypto_enc). Why it exists: one place for the
 * ECIES-P256 recipe of ota/image_enc.h, shared by the update engine, the
 * tools and the tests. No malloc, no stdio; keys are wiped after use.
 */
#include <string.h>

#include "ota/image_enc.h"
#include "diag.h"

#define E_OFF 0u
#define TAG_OFF OTA_P256_PUBKEY_LEN
#define KEY_OFF (OTA_P256_PUBKEY_LEN + OTA_ENC_TAG_LEN)

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

void ota_enc_key_wipe(struct ota_enc_key *k)
{
    if (k)
        wipe(k, sizeof *k);
}

/* okm = HKDF(ECDH(priv, pub)): AES key-encryption key, then HMAC key. */
static ota_err derive(const struct ota_crypto_enc *c, const uint8_t *priv, const uint8_t *pub,
                      size_t aes_len, uint8_t okm[32 + OTA_SHA256_LEN])
{
    uint8_t shared[OTA_P256_SHARED_LEN];
    ota_err e = c->ecdh_p256(priv, pub, shared);
    if (e == OTA_OK)
        e = c->hkdf_sha256(NULL, 0, shared, sizeof shared, (const uint8_t *)OTA_ENC_KDF_INFO,
                           OTA_ENC_KDF_INFO_LEN, okm, aes_len + OTA_SHA256_LEN);
    wipe(shared, sizeof shared);
    return e;
}

ota_err ota_enc_unwrap(const struct ota_crypto_enc *c, const struct ota_enc_privkey *dev,
                       const uint8_t *tlv, size_t tlv_len, uint8_t *aes_key, size_t aes_len,
                       struct ota_diag *d)
{
    static const uint8_t zero_counter[OTA_AES_BLOCK_LEN];
    uint8_t okm[32 + OTA_SHA256_LEN], tag[OTA_SHA256_LEN];
    ota_err e;

    if (!c || !tlv || !aes_key)
        return ota_diag_fail(d, OTA_ERR_INVALID_ARG, "arguments", 0);
    if (!dev)
        return ota_diag_fail(d, OTA_ERR_IMAGE_ENC_NO_KEY, "device encryption key", 0);
    if ((aes_len != 16 && aes_len != 32) || tlv_len != OTA_ENC_EC256_LEN(aes_len))
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED, "ENC_EC256 TLV length", 0,
                                  (uint32_t)OTA_ENC_EC256_LEN(aes_len), (uint32_t)tlv_len);
    e = derive(c, dev->d, tlv + E_OFF, aes_len, okm);
    if (e != OTA_OK) {
        wipe(okm, sizeof okm);
        return ota_diag_fail(d, e, "ENC_EC256 TLV ephemeral public key", E_OFF);
    }
    e = c->hmac_sha256(okm + aes_len, OTA_SHA256_LEN, tlv + KEY_OFF, aes_len, tag);
    if (e == OTA_OK && ota_ct_memcmp(tag, tlv + TAG_OFF, OTA_ENC_TAG_LEN) != 0)
        e = ota_diag_fail(d, OTA_ERR_IMAGE_ENC_KEY, "ENC_EC256 TLV HMAC tag", TAG_OFF);
    else if (e != OTA_OK)
        ota_diag_fail(d, e, "HMAC-SHA256", 0);
    if (e == OTA_OK) {
        e = c->aes_ctr(okm, aes_len, zero_counter, tlv + KEY_OFF, aes_key, aes_len);
        if (e != OTA_OK)
            ota_diag_fail(d, e, "AES-CTR (key)", KEY_OFF);
    }
    wipe(okm, sizeof okm);
    wipe(tag, sizeof tag);
    return e;
}

ota_err ota_enc_wrap(const struct ota_crypto_enc *c,
                     const uint8_t eph_priv[OTA_P256_PRIVKEY_LEN],
                     const uint8_t eph_pub[OTA_P256_PUBKEY_LEN],
                     const uint8_t dev_pub[OTA_P256_PUBKEY_LEN], const uint8_t *aes_key,
                     size_t aes_len, uint8_t *tlv)
{
    static const uint8_t zero_counter[OTA_AES_BLOCK_LEN];
    uint8_t okm[32 + OTA_SHA256_LEN];
    ota_err e;

    if (!c || !eph_priv || !eph_pub || !dev_pub || !aes_key || !tlv ||
        (aes_len != 16 && aes_len != 32))
        return OTA_ERR_INVALID_ARG;
    e = derive(c, eph_priv, dev_pub, aes_len, okm);
    if (e == OTA_OK) {
        memcpy(tlv + E_OFF, eph_pub, OTA_P256_PUBKEY_LEN);
        e = c->aes_ctr(okm, aes_len, zero_counter, aes_key, tlv + KEY_OFF, aes_len);
    }
    if (e == OTA_OK)
        e = c->hmac_sha256(okm + aes_len, OTA_SHA256_LEN, tlv + KEY_OFF, aes_len, tlv + TAG_OFF);
    wipe(okm, sizeof okm);
    return e;
}

ota_err ota_enc_image_key(const struct ota_reader *r, const struct ota_image_info *info,
                          const struct ota_crypto_enc *c, const struct ota_enc_privkey *dev,
                          struct ota_enc_key *k, struct ota_diag *d)
{
    uint8_t tlv[OTA_ENC_EC256_MAX];
    ota_err e;

    if (!r || !info || !c || !k)
        return ota_diag_fail(d, OTA_ERR_INVALID_ARG, "arguments", 0);
    memset(k, 0, sizeof *k);
    if (!info->enc_aes_len || !info->enc_off ||
        info->enc_len != OTA_ENC_EC256_LEN(info->enc_aes_len))
        return ota_diag_fail(d, OTA_ERR_INVALID_ARG, "image (not encrypted)", 0);
    if (!dev)
        return ota_diag_fail(d, OTA_ERR_IMAGE_ENC_NO_KEY, "device encryption key", 16);
    if ((uint64_t)info->enc_off + info->enc_len > r->size)
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TRUNCATED, "ENC_EC256 TLV", info->enc_off,
                                  info->enc_off + info->enc_len, r->size);
    e = r->read(r->ctx, info->enc_off, tlv, info->enc_len);
    if (e != OTA_OK)
        return ota_diag_fail(d, e, "ENC_EC256 TLV", info->enc_off);
    e = ota_enc_unwrap(c, dev, tlv, info->enc_len, k->aes, info->enc_aes_len, d);
    if (e != OTA_OK) {
        if (d)
            d->offset += info->enc_off;
        ota_enc_key_wipe(k);
        return e;
    }
    k->c = c;
    k->aes_len = info->enc_aes_len;
    k->body_off = info->hdr.hdr_size;
    k->body_len = info->hdr.img_size;
    return OTA_OK;
}

/* Big-endian 128-bit counter block for body offset off (nonce zero). */
static void counter_at(uint64_t off, uint8_t ctr[OTA_AES_BLOCK_LEN])
{
    uint64_t block = off / OTA_AES_BLOCK_LEN;
    memset(ctr, 0, OTA_AES_BLOCK_LEN);
    for (int i = 15; i >= 8; i--) {
        ctr[i] = (uint8_t)block;
        block >>= 8;
    }
}

ota_err ota_enc_xor(const struct ota_enc_key *k, uint32_t img_off, uint8_t *buf, size_t len)
{
    uint64_t start = img_off, end = (uint64_t)img_off + len;
    uint64_t bstart = k ? k->body_off : 0, bend = k ? (uint64_t)k->body_off + k->body_len : 0;
    uint8_t ctr[OTA_AES_BLOCK_LEN];
    uint64_t off;
    uint8_t *p;
    size_t n;
    ota_err e;

    if (!k || !k->c || (!buf && len))
        return OTA_ERR_INVALID_ARG;
    if (start < bstart)
        start = bstart;
    if (end > bend)
        end = bend;
    if (start >= end)
        return OTA_OK;
    p = buf + (start - img_off);
    off = start - bstart; /* body offset */
    n = (size_t)(end - start);
    if (off % OTA_AES_BLOCK_LEN) {
        /* Head inside a block: run CTR over that block in a scratch copy. */
        uint8_t blk[OTA_AES_BLOCK_LEN] = {0};
        size_t in_blk = (size_t)(off % OTA_AES_BLOCK_LEN);
        size_t take = OTA_AES_BLOCK_LEN - in_blk < n ? OTA_AES_BLOCK_LEN - in_blk : n;
        memcpy(blk + in_blk, p, take);
        counter_at(off, ctr);
        e = k->c->aes_ctr(k->aes, k->aes_len, ctr, blk, blk, sizeof blk);
        if (e != OTA_OK)
            return e;
        memcpy(p, blk + in_blk, take);
        wipe(blk, sizeof blk);
        p += take;
        off += take;
        n -= take;
    }
    if (!n)
        return OTA_OK;
    counter_at(off, ctr);
    return k->c->aes_ctr(k->aes, k->aes_len, ctr, p, p, n);
}

static ota_err enc_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    struct ota_enc_reader *er = ctx;
    ota_err e = er->src->read(er->src->ctx, off, buf, len);
    return e != OTA_OK ? e : ota_enc_xor(er->k, off, buf, len);
}

void ota_reader_enc(struct ota_reader *r, struct ota_enc_reader *er,
                    const struct ota_reader *src, const struct ota_enc_key *k)
{
    er->src = src;
    er->k = k;
    r->read = enc_read;
    r->ctx = er;
    r->size = src->size;
}

uint32_t ota_enc_payload_hdr_len(const uint8_t fixed[OTA_ENC_PAYLOAD_FIXED], ota_err *e)
{
    *e = OTA_OK;
    if (memcmp(fixed, OTA_ENC_PAYLOAD_MAGIC, 4) != 0)
        return 0;
    if (fixed[4] != OTA_ENC_PAYLOAD_FORMAT || (fixed[5] != 16 && fixed[5] != 32) ||
        fixed[6] || fixed[7]) {
        *e = OTA_ERR_DELTA_CORRUPT;
        return 0;
    }
    return OTA_ENC_PAYLOAD_HDR_LEN(fixed[5]);
}

ota_err ota_enc_payload_open(const struct ota_crypto_enc *c, const struct ota_enc_privkey *dev,
                             const uint8_t *hdr, uint32_t hdr_len, uint32_t payload_len,
                             struct ota_enc_key *k, struct ota_diag *d)
{
    ota_err e;
    uint32_t want;

    if (!c || !hdr || !k || hdr_len < OTA_ENC_PAYLOAD_FIXED)
        return ota_diag_fail(d, OTA_ERR_INVALID_ARG, "arguments", 0);
    memset(k, 0, sizeof *k);
    want = ota_enc_payload_hdr_len(hdr, &e);
    if (e || !want)
        return ota_diag_fail(d, OTA_ERR_DELTA_CORRUPT, "encrypted payload header", 0);
    if (hdr_len != want || payload_len < want)
        return ota_diag_fail_vals(d, OTA_ERR_DELTA_TRUNCATED, "encrypted payload header", 0,
                                  want, payload_len < hdr_len ? payload_len : hdr_len);
    e = ota_enc_unwrap(c, dev, hdr + OTA_ENC_PAYLOAD_FIXED, hdr_len - OTA_ENC_PAYLOAD_FIXED,
                       k->aes, hdr[5], d);
    if (e) {
        if (d)
            d->offset += OTA_ENC_PAYLOAD_FIXED;
        ota_enc_key_wipe(k);
        return e;
    }
    k->c = c;
    k->aes_len = hdr[5];
    k->body_off = hdr_len;
    k->body_len = payload_len - hdr_len;
    return OTA_OK;
}
