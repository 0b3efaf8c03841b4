// SPDX-License-Identifier: Apache-2.0
/*
 * image.c - parse and verify MCUboot-compatible signed images, streaming.
 *
 * The image is read through a struct ota_reader: a header read, a few TLV
 * reads, and one pass over the signed region in buffer-sized chunks. Every
 * length and offset is checked against the reader's size before use (in 64-bit
 * arithmetic, so nothing wraps). Stack use is bounded; nothing is allocated.
 * On failure a struct ota_diag says which field, at which offset, expected
 * what and found what. Format: docs/image-format.md.
 */
#include <string.h>

#include "ota/image.h"
#include "ota/image_enc.h"
#include "le.h"
#include "diag.h"
#include "hash_range.h"

void ota_image_header_decode(const uint8_t raw[OTA_IMAGE_HEADER_SIZE],
                             struct ota_image_header *hdr)
{
    hdr->magic = ota_le_get32(raw + 0);
    hdr->load_addr = ota_le_get32(raw + 4);
    hdr->hdr_size = ota_le_get16(raw + 8);
    hdr->protect_tlv_size = ota_le_get16(raw + 10);
    hdr->img_size = ota_le_get32(raw + 12);
    hdr->flags = ota_le_get32(raw + 16);
    hdr->version.major = raw[20];
    hdr->version.minor = raw[21];
    hdr->version.revision = ota_le_get16(raw + 22);
    hdr->version.build = ota_le_get32(raw + 24);
    /* raw[28..31]: _pad1, zero when written, covered by the hash. */
}

void ota_image_header_encode(const struct ota_image_header *hdr,
                             uint8_t raw[OTA_IMAGE_HEADER_SIZE])
{
    memset(raw, 0, OTA_IMAGE_HEADER_SIZE);
    ota_le_put32(raw + 0, hdr->magic);
    ota_le_put32(raw + 4, hdr->load_addr);
    ota_le_put16(raw + 8, hdr->hdr_size);
    ota_le_put16(raw + 10, hdr->protect_tlv_size);
    ota_le_put32(raw + 12, hdr->img_size);
    ota_le_put32(raw + 16, hdr->flags);
    raw[20] = hdr->version.major;
    raw[21] = hdr->version.minor;
    ota_le_put16(raw + 22, hdr->version.revision);
    ota_le_put32(raw + 24, hdr->version.build);
}

/* Read [off, off+len) or fail with TRUNCATED if it is past the reader's end. */
static ota_err read_at(const struct ota_reader *r, uint64_t off, void *buf,
                       size_t len, struct ota_diag *d, const char *field)
{
    ota_err e;
    if (off + len > r->size)
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TRUNCATED, field, (uint32_t)off,
                                  (uint32_t)(off + len), r->size);
    e = r->read(r->ctx, (uint32_t)off, buf, len);
    if (e != OTA_OK)
        return ota_diag_fail(d, e, field, (uint32_t)off);
    return OTA_OK;
}

/* Bits recording which known TLVs were seen (duplicate detection). */
enum {
    SEEN_KEYHASH = 1u << 0,
    SEEN_PUBKEY = 1u << 1,
    SEEN_SHA256 = 1u << 2,
    SEEN_SIG = 1u << 3,
    SEEN_SEC_CNT = 1u << 4,
    SEEN_HW_ID = 1u << 5,
    SEEN_ENC = 1u << 6,
};

static unsigned seen_bit(uint16_t type)
{
    switch (type) {
    case OTA_TLV_KEYHASH: return SEEN_KEYHASH;
    case OTA_TLV_PUBKEY: return SEEN_PUBKEY;
    case OTA_TLV_SHA256: return SEEN_SHA256;
    case OTA_TLV_ECDSA_SIG: return SEEN_SIG;
    case OTA_TLV_SEC_CNT: return SEEN_SEC_CNT;
    case OTA_TLV_HW_ID: return SEEN_HW_ID;
    case OTA_TLV_ENC_EC256: return SEEN_ENC;
    default: return 0;
    }
}

/* Handle one TLV entry whose value lies at [voff, voff+len). */
static ota_err take_tlv(const struct ota_reader *r, int protected_area,
                        uint16_t type, uint16_t len, uint32_t voff,
                        unsigned *seen, struct ota_image_info *info,
                        struct ota_diag *d)
{
    uint8_t v[4];
    unsigned bit = seen_bit(type);
    ota_err e;

    if (bit && (*seen & bit))
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_DUPLICATE, "TLV type",
                                  voff - OTA_TLV_HDR_SIZE, 0, type);
    *seen |= bit;

    switch (type) {
    case OTA_TLV_SEC_CNT:
    case OTA_TLV_HW_ID:
        if (!protected_area)
            return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_UNPROTECTED, "TLV type",
                                      voff - OTA_TLV_HDR_SIZE, 0, type);
        if (type == OTA_TLV_SEC_CNT) {
            if (len != 4)
                return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED,
                                          "security counter TLV length", voff - 2, 4, len);
            if ((e = read_at(r, voff, v, 4, d, "security counter TLV")) != OTA_OK)
                return e;
            info->security_counter = ota_le_get32(v);
            info->has_security_counter = 1;
        } else {
            if (len == 0 || len > OTA_HW_ID_MAX)
                return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED,
                                          "hardware id TLV length", voff - 2, OTA_HW_ID_MAX, len);
            if ((e = read_at(r, voff, info->hw_id, len, d, "hardware id TLV")) != OTA_OK)
                return e;
            info->hw_id_len = (uint8_t)len;
        }
        return OTA_OK;
    case OTA_TLV_ENC_RSA2048:
    case OTA_TLV_ENC_KW:
    case OTA_TLV_ENC_X25519:
    case OTA_TLV_ENC_X25519_SHA512:
        return ota_diag_fail_vals(d, OTA_ERR_UNSUPPORTED,
                                  "encryption key TLV (only ENC_EC256 0x32 is supported)",
                                  voff - OTA_TLV_HDR_SIZE, OTA_TLV_ENC_EC256, type);
    case OTA_TLV_ENC_EC256:
        /* Like imgtool: in the unprotected area (it is not signed; its HMAC
         * and the plaintext hash protect it). Length checked against the
         * header flag once both are known. */
        if (protected_area)
            return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED,
                                      "TLV type (not allowed in protected area)",
                                      voff - OTA_TLV_HDR_SIZE, 0, type);
        info->enc_off = voff;
        info->enc_len = len > 0xff ? 0xff : (uint8_t)len;
        return OTA_OK;
    case OTA_TLV_SHA256:
    case OTA_TLV_KEYHASH:
    case OTA_TLV_PUBKEY:
    case OTA_TLV_ECDSA_SIG:
        /* These vouch for the signed region, so they cannot be inside it. */
        if (protected_area)
            return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED,
                                      "TLV type (not allowed in protected area)",
                                      voff - OTA_TLV_HDR_SIZE, 0, type);
        break;
    default:
        return OTA_OK; /* unknown TLVs are skipped, as MCUboot does */
    }

    if (type == OTA_TLV_SHA256 || type == OTA_TLV_KEYHASH) {
        uint8_t *dst = type == OTA_TLV_SHA256 ? info->hash : info->keyhash;
        if (len != OTA_SHA256_LEN)
            return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED,
                                      type == OTA_TLV_SHA256 ? "SHA-256 TLV length"
                                                             : "key hash TLV length",
                                      voff - 2, OTA_SHA256_LEN, len);
        if ((e = read_at(r, voff, dst, OTA_SHA256_LEN, d, "hash TLV")) != OTA_OK)
            return e;
        if (type == OTA_TLV_SHA256)
            info->has_hash = 1;
        else
            info->has_keyhash = 1;
    } else if (type == OTA_TLV_PUBKEY) {
        if (len != OTA_P256_SPKI_LEN)
            return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED, "public key TLV length",
                                      voff - 2, OTA_P256_SPKI_LEN, len);
        info->pubkey_off = voff;
    } else { /* ECDSA signature */
        if (len < 8 || len > OTA_P256_SIG_DER_MAX)
            return ota_diag_fail_vals(d, OTA_ERR_IMAGE_SIG_MALFORMED, "signature TLV length",
                                      voff - 2, OTA_P256_SIG_DER_MAX, len);
        info->sig_off = voff;
        info->sig_len = len;
        info->has_signature = 1;
    }
    return OTA_OK;
}

/*
 * Walk one TLV area starting at `off`. For the protected area the caller knows
 * the size from the header (`expect_tot`); for the unprotected one it is
 * whatever the info header says. Returns the end offset in *end.
 */
static ota_err walk_area(const struct ota_reader *r, uint64_t off, uint16_t magic,
                         uint32_t expect_tot, unsigned *seen,
                         struct ota_image_info *info, uint64_t *end,
                         struct ota_diag *d)
{
    uint8_t raw[4];
    uint16_t tot;
    uint64_t pos, limit;
    int prot = magic == OTA_TLV_PROT_INFO_MAGIC;
    ota_err e;

    if ((e = read_at(r, off, raw, 4, d,
                     prot ? "protected TLV info" : "TLV info")) != OTA_OK)
        return e;
    if (ota_le_get16(raw) != magic)
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_BAD_MAGIC,
                                  prot ? "protected TLV info magic" : "TLV info magic",
                                  (uint32_t)off, magic, ota_le_get16(raw));
    tot = ota_le_get16(raw + 2);
    if (prot && tot != expect_tot)
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED,
                                  "protected TLV info length (vs header ih_protect_tlv_size)",
                                  (uint32_t)off + 2, expect_tot, tot);
    if (tot < OTA_TLV_INFO_SIZE)
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED, "TLV info length",
                                  (uint32_t)off + 2, OTA_TLV_INFO_SIZE, tot);
    limit = off + tot;
    if (limit > r->size)
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TRUNCATED,
                                  prot ? "protected TLV area" : "TLV area", (uint32_t)off,
                                  (uint32_t)limit, r->size);

    pos = off + OTA_TLV_INFO_SIZE;
    while (pos < limit) {
        uint16_t type, len;
        if (limit - pos < OTA_TLV_HDR_SIZE)
            return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED,
                                      "TLV entry header (crosses end of area)", (uint32_t)pos,
                                      (uint32_t)limit, (uint32_t)(pos + OTA_TLV_HDR_SIZE));
        if ((e = read_at(r, pos, raw, 4, d, "TLV entry")) != OTA_OK)
            return e;
        type = ota_le_get16(raw);
        len = ota_le_get16(raw + 2);
        if (pos + OTA_TLV_HDR_SIZE + len > limit)
            return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED,
                                      "TLV entry length (overflows area)", (uint32_t)pos + 2,
                                      (uint32_t)(limit - pos - OTA_TLV_HDR_SIZE), len);
        e = take_tlv(r, prot, type, len, (uint32_t)(pos + OTA_TLV_HDR_SIZE), seen,
                     info, d);
        if (e != OTA_OK)
            return e;
        pos += OTA_TLV_HDR_SIZE + (uint64_t)len;
    }
    *end = limit;
    return OTA_OK;
}

/* The ENCRYPTED flag and the ENC_EC256 TLV come together, sized alike. */
static ota_err check_enc(struct ota_image_info *info, struct ota_diag *d)
{
    uint32_t f = info->hdr.flags;
    uint8_t aes = f & OTA_IMAGE_F_ENCRYPTED_AES128   ? 16
                  : f & OTA_IMAGE_F_ENCRYPTED_AES256 ? 32 : 0;
    if (!aes && info->enc_off)
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED,
                                  "ENC_EC256 TLV (image not flagged encrypted)",
                                  info->enc_off - OTA_TLV_HDR_SIZE, 0, f);
    if (aes && !info->enc_off)
        return ota_diag_fail(d, OTA_ERR_IMAGE_TLV_MISSING,
                             "ENC_EC256 TLV (0x32) of an encrypted image", info->signed_size);
    if (aes && info->enc_len != OTA_ENC_EC256_LEN(aes))
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED,
                                  "ENC_EC256 TLV length (vs ih_flags AES key size)",
                                  info->enc_off - 2, OTA_ENC_EC256_LEN(aes), info->enc_len);
    info->enc_aes_len = aes;
    return OTA_OK;
}

ota_err ota_image_parse(const struct ota_reader *r, struct ota_image_info *info,
                        struct ota_diag *d)
{
    uint8_t raw[OTA_IMAGE_HEADER_SIZE];
    uint64_t tlv_off, end;
    unsigned seen = 0;
    ota_err e;

    if (!r || !r->read || !info)
        return ota_diag_fail(d, OTA_ERR_INVALID_ARG, "arguments", 0);
    memset(info, 0, sizeof(*info));
    info->key_index = -1;

    if ((e = read_at(r, 0, raw, sizeof(raw), d, "header")) != OTA_OK)
        return e;
    ota_image_header_decode(raw, &info->hdr);
    if (info->hdr.magic != OTA_IMAGE_MAGIC)
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_BAD_MAGIC, "ih_magic", 0, OTA_IMAGE_MAGIC,
                                  info->hdr.magic);
    if (info->hdr.hdr_size < OTA_IMAGE_HEADER_SIZE)
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_BAD_HEADER, "ih_hdr_size (too small)", 8,
                                  OTA_IMAGE_HEADER_SIZE, info->hdr.hdr_size);
    if ((info->hdr.flags & OTA_IMAGE_F_ENCRYPTED_AES128) &&
        (info->hdr.flags & OTA_IMAGE_F_ENCRYPTED_AES256))
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_BAD_HEADER,
                                  "ih_flags (both ENCRYPTED_AES128 and _AES256)", 16, 0,
                                  info->hdr.flags);
    if (info->hdr.protect_tlv_size != 0 && info->hdr.protect_tlv_size < OTA_TLV_INFO_SIZE)
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_BAD_HEADER, "ih_protect_tlv_size", 10,
                                  OTA_TLV_INFO_SIZE, info->hdr.protect_tlv_size);

    tlv_off = (uint64_t)info->hdr.hdr_size + info->hdr.img_size;
    if (tlv_off > r->size)
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TRUNCATED, "ih_img_size (payload end)", 12,
                                  (uint32_t)(tlv_off > 0xffffffffu ? 0xffffffffu : tlv_off),
                                  r->size);

    if (info->hdr.protect_tlv_size) {
        e = walk_area(r, tlv_off, OTA_TLV_PROT_INFO_MAGIC, info->hdr.protect_tlv_size,
                      &seen, info, &end, d);
        if (e != OTA_OK)
            return e;
    } else {
        end = tlv_off;
    }
    info->signed_size = (uint32_t)end;

    e = walk_area(r, end, OTA_TLV_INFO_MAGIC, 0, &seen, info, &end, d);
    if (e != OTA_OK)
        return e;
    info->total_size = (uint32_t)end;
    return check_enc(info, d);
}

/* Which trusted key does the image name? Returns its index or -1. */
static ota_err find_key(const struct ota_reader *r, const struct ota_verify_params *p,
                        struct ota_image_info *info, struct ota_diag *d)
{
    uint8_t spki[OTA_P256_SPKI_LEN];
    ota_err e;

    if (info->pubkey_off) {
        if ((e = read_at(r, info->pubkey_off, spki, sizeof(spki), d,
                         "public key TLV")) != OTA_OK)
            return e;
        uint8_t h[OTA_SHA256_LEN];
        if ((e = ota_sha256(p->crypto, spki, sizeof(spki), h)) != OTA_OK)
            return ota_diag_fail(d, e, "key hash", info->pubkey_off);
        /* A PUBKEY TLV and a KEYHASH TLV must not disagree. */
        if (info->has_keyhash && memcmp(h, info->keyhash, OTA_SHA256_LEN) != 0)
            return ota_diag_fail(d, OTA_ERR_IMAGE_TLV_MALFORMED,
                                 "public key TLV (disagrees with key hash TLV)", info->pubkey_off);
        memcpy(info->keyhash, h, OTA_SHA256_LEN);
        info->has_keyhash = 1;
    } else if (!info->has_keyhash) {
        return ota_diag_fail(d, OTA_ERR_IMAGE_TLV_MISSING,
                             "key hash TLV (0x01) or public key TLV (0x02)", info->signed_size);
    }
    for (size_t i = 0; i < p->n_keys; i++) {
        uint8_t h[OTA_SHA256_LEN];
        if ((e = ota_sha256(p->crypto, p->keys[i].spki, OTA_P256_SPKI_LEN, h)) != OTA_OK)
            return ota_diag_fail(d, e, "trusted key hash", 0);
        if (ota_ct_memcmp(h, info->keyhash, OTA_SHA256_LEN) == 0) {
            info->key_index = (int)i;
            return OTA_OK;
        }
    }
    return ota_diag_fail(d, OTA_ERR_IMAGE_UNKNOWN_KEY, "key hash (no trusted key matches)",
                         info->signed_size);
}

ota_err ota_image_verify(const struct ota_reader *r, const struct ota_verify_params *p,
                         struct ota_image_info *info, struct ota_diag *d)
{
    uint8_t digest[OTA_SHA256_LEN];
    uint8_t sig[OTA_P256_SIG_DER_MAX];
    const uint8_t *point;
    ota_err e;

    if (!p || !p->crypto || !info)
        return ota_diag_fail(d, OTA_ERR_INVALID_ARG, "arguments", 0);
    if ((e = ota_image_parse(r, info, d)) != OTA_OK)
        return e;
    if (p->max_total_size && info->total_size > p->max_total_size)
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TOO_LARGE, "image size (vs slot size)", 0,
                                  p->max_total_size, info->total_size);
    if (!info->has_hash)
        return ota_diag_fail(d, OTA_ERR_IMAGE_TLV_MISSING, "SHA-256 TLV (0x10)", info->signed_size);
    if (!info->has_signature)
        return ota_diag_fail(d, OTA_ERR_IMAGE_TLV_MISSING, "ECDSA signature TLV (0x22)",
                             info->signed_size);

    if (info->enc_aes_len && p->enc_hash_unchecked) {
        memcpy(digest, info->hash, OTA_SHA256_LEN); /* of the plaintext: not ours to check */
    } else {
        if ((e = ota_hash_range(p->crypto, r, 0, info->signed_size, p->buf, p->buf_len, digest,
                                d, "signed region")) != OTA_OK)
            return e;
        if (ota_ct_memcmp(digest, info->hash, OTA_SHA256_LEN) != 0)
            return ota_diag_fail(d, OTA_ERR_IMAGE_HASH_MISMATCH,
                                 "SHA-256 of header+payload+protected TLVs", 0);
    }

    if ((e = find_key(r, p, info, d)) != OTA_OK)
        return e;
    point = ota_pubkey_point(&p->keys[info->key_index]);
    if (!point)
        return ota_diag_fail(d, OTA_ERR_KEY_FORMAT, "trusted key (not a P-256 SPKI)", 0);
    if ((e = read_at(r, info->sig_off, sig, info->sig_len, d, "signature TLV")) != OTA_OK)
        return e;
    if (ota_der_sig_check(sig, info->sig_len) != OTA_OK)
        return ota_diag_fail(d, OTA_ERR_IMAGE_SIG_MALFORMED, "signature TLV (not strict DER)",
                             info->sig_off);
    e = p->crypto->p256_verify(point, digest, sig, info->sig_len);
    if (e != OTA_OK)
        return ota_diag_fail(d, e, "ECDSA P-256 signature", info->sig_off);

    /* Policy: only now are the protected values known to be genuine. */
    if (p->hw_id) {
        if (info->hw_id_len != p->hw_id_len ||
            memcmp(info->hw_id, p->hw_id, p->hw_id_len) != 0)
            return ota_diag_fail_vals(d, OTA_ERR_IMAGE_HW_MISMATCH,
                                      info->hw_id_len ? "hardware id TLV"
                                                      : "hardware id TLV (absent)",
                                      0, (uint32_t)p->hw_id_len, info->hw_id_len);
    }
    if (info->security_counter < p->min_security_counter)
        return ota_diag_fail_vals(d, OTA_ERR_IMAGE_ROLLBACK, "security counter", 0,
                                  p->min_security_counter, info->security_counter);
    return OTA_OK;
}

static char *put_uint(char *out, char *end, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n && out < end)
        *out++ = tmp[--n];
    return out;
}

char *ota_image_version_str(const struct ota_image_version *v, char *buf, size_t len)
{
    char *o = buf, *end;
    if (!buf || len == 0)
        return buf;
    end = buf + len - 1;
    o = put_uint(o, end, v->major);
    if (o < end) *o++ = '.';
    o = put_uint(o, end, v->minor);
    if (o < end) *o++ = '.';
    o = put_uint(o, end, v->revision);
    if (o < end) *o++ = '+';
    o = put_uint(o, end, v->build);
    *o = '\0';
    return buf;
}

int ota_image_version_cmp(const struct ota_image_version *a,
                          const struct ota_image_version *b)
{
    if (a->major != b->major) return a->major < b->major ? -1 : 1;
    if (a->minor != b->minor) return a->minor < b->minor ? -1 : 1;
    if (a->revision != b->revision) return a->revision < b->revision ? -1 : 1;
    if (a->build != b->build) return a->build < b->build ? -1 : 1;
    return 0;
}
