// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/image_build.c - build and sign an MCUboot-compatible image.
 *
 * Why it exists: one implementation of the image layout for every producer
 * (ota sign, server tests, simulator, e2e tests), kept byte-identical with
 * MCUboot's imgtool for the same inputs:
 *   header (32 B) + header padding (erased value, like imgtool --pad-header)
 *   + payload
 *   + protected TLVs   (info 0x6908: SEC_CNT 0x50, then vendor HW_ID 0xa0)
 *   + unprotected TLVs (info 0x6907: SHA256 0x10, KEYHASH 0x01 (or PUBKEY
 *     0x02), ECDSA 0x22)
 *   [+ erased padding + MCUboot trailer (image_ok, boot magic) with --pad]
 * The SHA-256 covers header..end of protected TLVs; the signature is ECDSA
 * P-256 over that digest (same as imgtool signing the bytes with SHA-256).
 * Encrypted (imgtool --encrypt): payload zero-padded to 16 bytes, hashed
 * and signed in clear, ENC_EC256 0x32 appended to the unprotected TLVs, then
 * the body AES-CTR encrypted (ota/image_enc.h).
 */
#include "ota/image_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ota/image_enc.h"
#include "le.h"
#include "errmsg.h"

/* Append one TLV (type u16 LE, length u16 LE, value) at buf + *off. */
static void put_tlv(uint8_t *buf, size_t *off, uint16_t type, const void *val,
                    uint16_t len)
{
    ota_le_put16(buf + *off, type);
    ota_le_put16(buf + *off + 2, len);
    memcpy(buf + *off + OTA_TLV_HDR_SIZE, val, len);
    *off += OTA_TLV_HDR_SIZE + len;
}

static int is_pow2_align(uint32_t a)
{
    return a == 1 || a == 2 || a == 4 || a == 8 || a == 16 || a == 32;
}

static uint32_t align_up(uint32_t n, uint32_t a)
{
    return (n + a - 1) & ~(a - 1);
}

static uint32_t eff_align(const struct ota_build_params *p)
{
    return p->align ? p->align : OTA_TRAILER_DEFAULT_ALIGN;
}

static uint32_t eff_max_align(const struct ota_build_params *p)
{
    uint32_t a = eff_align(p);
    if (p->max_align)
        return p->max_align;
    return a > OTA_TRAILER_DEFAULT_MAX_ALIGN ? a : OTA_TRAILER_DEFAULT_MAX_ALIGN;
}

uint32_t ota_image_trailer_size(const struct ota_build_params *p)
{
    uint32_t max_align = eff_max_align(p), align = eff_align(p);
    uint32_t sectors = p->max_sectors ? p->max_sectors : OTA_TRAILER_DEFAULT_MAX_SECTORS;
    uint32_t magic_align;
    if (!is_pow2_align(max_align) || !is_pow2_align(align) || sectors > 0x10000)
        return 0;
    magic_align = align_up(OTA_TRAILER_MAGIC_SIZE, max_align);
    if (p->overwrite_only)
        return max_align * 2 + magic_align;
    /* swap status area, image_ok/copy_done/swap_info/swap_size, magic */
    return sectors * 3 * align + max_align * 4 + magic_align;
}

void ota_image_boot_magic(uint32_t max_align, uint8_t out[OTA_TRAILER_MAGIC_SIZE])
{
    static const uint8_t classic[OTA_TRAILER_MAGIC_SIZE] = {
        0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
        0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80,
    };
    static const uint8_t aligned[OTA_TRAILER_MAGIC_SIZE - 2] = {
        0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a,
    };
    if (max_align == OTA_TRAILER_DEFAULT_MAX_ALIGN) {
        memcpy(out, classic, sizeof(classic));
        return;
    }
    /* Larger write sizes: the first two bytes carry the alignment. */
    out[0] = (uint8_t)(max_align & 0xff);
    out[1] = (uint8_t)((max_align >> 8) & 0xff);
    memcpy(out + 2, aligned, sizeof(aligned));
}

ota_err ota_image_decrypt(uint8_t *img, size_t len, const ota_key *dev_key,
                          struct ota_diag *diag)
{
    struct ota_reader r;
    struct ota_mem_reader m;
    struct ota_image_info info;
    struct ota_enc_privkey d;
    struct ota_enc_key k;
    ota_err rc;

    if (!img || len > 0xffffffffu)
        return OTA_ERR_INVALID_ARG;
    ota_reader_from_mem(&r, &m, img, (uint32_t)len);
    rc = ota_image_parse(&r, &info, diag);
    if (rc != OTA_OK)
        return rc;
    if (!info.enc_aes_len)
        return OTA_OK; /* not encrypted: nothing to do */
    if (!dev_key)
        return OTA_ERR_IMAGE_ENC_NO_KEY;
    rc = ota_key_private_scalar(dev_key, &d);
    if (rc != OTA_OK)
        return rc;
    rc = ota_enc_image_key(&r, &info, ota_crypto_enc_openssl(), &d, &k, diag);
    OPENSSL_cleanse(&d, sizeof d);
    if (rc == OTA_OK)
        rc = ota_enc_xor(&k, k.body_off, img + k.body_off, k.body_len);
    ota_enc_key_wipe(&k);
    return rc;
}

ota_err ota_image_build(const struct ota_build_params *p, const uint8_t *payload,
                        size_t payload_len, uint8_t **out, size_t *out_len,
                        char *err, size_t errlen)
{
    uint32_t hdr_size, prot_size = 0, unprot_size, trailer = 0, flags;
    uint64_t signed_size, total;
    size_t off, buf_len;
    uint8_t *buf;
    uint8_t digest[OTA_SHA256_LEN], sig[OTA_P256_SIG_DER_MAX];
    size_t sig_len = 0;
    struct ota_pubkey pub;
    uint8_t keyhash[OTA_SHA256_LEN];
    struct ota_image_header hdr;
    uint8_t erased = p && p->erased_val_set ? p->erased_val : 0xff;
    ota_err rc;
    int pad;
    size_t aes_len = 0, enc_pad = 0, body_len;

    if (!p || (!payload && payload_len) || !out || !out_len) {
        ota_host_errf(err, errlen, "invalid argument");
        return OTA_ERR_INVALID_ARG;
    }
    *out = NULL;
    *out_len = 0;
    pad = p->pad || p->confirm;
    hdr_size = p->header_size ? p->header_size : OTA_IMAGE_HEADER_SIZE;
    if (hdr_size < OTA_IMAGE_HEADER_SIZE) {
        ota_host_errf(err, errlen, "header size %u is smaller than the %u-byte header",
                      (unsigned)hdr_size, (unsigned)OTA_IMAGE_HEADER_SIZE);
        return OTA_ERR_USAGE;
    }
    if (p->erased_val_set && erased != 0 && erased != 0xff) {
        ota_host_errf(err, errlen, "erased value must be 0 or 0xff, not 0x%02x", erased);
        return OTA_ERR_USAGE;
    }
    if (p->load_addr && p->rom_fixed) {
        ota_host_errf(err, errlen, "a load address (RAM load) and a fixed ROM address "
                             "cannot both be set");
        return OTA_ERR_USAGE;
    }
    if (p->hw_id && (p->hw_id_len == 0 || p->hw_id_len > OTA_HW_ID_MAX)) {
        ota_host_errf(err, errlen, "hardware id is %zu bytes; it must be 1..%u bytes",
                      p->hw_id_len, (unsigned)OTA_HW_ID_MAX);
        return OTA_ERR_USAGE;
    }
    if (p->has_link_slot && p->link_slot > 1) {
        ota_host_errf(err, errlen, "link slot must be 0 (A) or 1 (B), not %u",
                      (unsigned)p->link_slot);
        return OTA_ERR_USAGE;
    }
    if (pad && p->slot_size == 0) {
        ota_host_errf(err, errlen, "padding (--pad/--confirm) needs a slot size");
        return OTA_ERR_USAGE;
    }
    if (p->slot_size) {
        trailer = ota_image_trailer_size(p);
        if (trailer == 0) {
            ota_host_errf(err, errlen, "invalid alignment: align %u, max align %u "
                                 "(each must be 1, 2, 4, 8, 16 or 32)",
                          (unsigned)eff_align(p), (unsigned)eff_max_align(p));
            return OTA_ERR_USAGE;
        }
    }
    if (p->key && !ota_key_has_private(p->key)) {
        ota_host_errf(err, errlen, "the signing key is a public key; signing needs the "
                             "private key");
        return OTA_ERR_KEY_FORMAT;
    }

    if (p->enc_key) {
        if (p->enc_aes_bits && p->enc_aes_bits != 128 && p->enc_aes_bits != 256) {
            ota_host_errf(err, errlen, "AES key size must be 128 or 256, not %u",
                          (unsigned)p->enc_aes_bits);
            return OTA_ERR_USAGE;
        }
        aes_len = p->enc_aes_bits == 256 ? 32 : 16;
        /* imgtool pads the payload to the AES block size before hashing. */
        enc_pad = (OTA_AES_BLOCK_LEN - payload_len % OTA_AES_BLOCK_LEN) % OTA_AES_BLOCK_LEN;
    }

    /* Protected TLV area: SEC_CNT first, then vendor TLVs (imgtool order). */
    if (p->has_security_counter)
        prot_size += OTA_TLV_HDR_SIZE + 4;
    if (p->hw_id)
        prot_size += OTA_TLV_HDR_SIZE + (uint32_t)p->hw_id_len;
    if (p->has_link_slot)
        prot_size += OTA_TLV_HDR_SIZE + 1;
    if (prot_size)
        prot_size += OTA_TLV_INFO_SIZE;

    unprot_size = OTA_TLV_INFO_SIZE + OTA_TLV_HDR_SIZE + OTA_SHA256_LEN;
    if (p->key)
        unprot_size += OTA_TLV_HDR_SIZE + OTA_P256_SPKI_LEN + OTA_TLV_HDR_SIZE +
                       OTA_P256_SIG_DER_MAX; /* upper bound */
    if (aes_len)
        unprot_size += OTA_TLV_HDR_SIZE + (uint32_t)OTA_ENC_EC256_LEN(aes_len);

    if (payload_len > 0xffffffffu - enc_pad) {
        ota_host_errf(err, errlen, "payload of %zu bytes is too large for the 32-bit "
                             "image size field", payload_len);
        return OTA_ERR_IMAGE_TOO_LARGE;
    }
    body_len = payload_len + enc_pad;
    signed_size = (uint64_t)hdr_size + body_len + prot_size;
    total = signed_size + unprot_size; /* upper bound (signature length varies) */
    if (body_len > 0xffffffffu - hdr_size || total > 0xffffffffu) {
        ota_host_errf(err, errlen, "payload of %zu bytes is too large for the 32-bit "
                             "image size field", payload_len);
        return OTA_ERR_IMAGE_TOO_LARGE;
    }
    buf_len = (size_t)total;
    if (pad && p->slot_size > buf_len)
        buf_len = p->slot_size;
    buf = malloc(buf_len ? buf_len : 1);
    if (!buf) {
        ota_host_errf(err, errlen, "out of memory (%zu bytes)", buf_len);
        return OTA_ERR_NO_MEMORY;
    }

    /* Header, then header padding with the erased value (imgtool --pad-header). */
    flags = p->extra_flags;
    if (aes_len)
        flags |= aes_len == 32 ? OTA_IMAGE_F_ENCRYPTED_AES256 : OTA_IMAGE_F_ENCRYPTED_AES128;
    if (p->load_addr)
        flags |= OTA_IMAGE_F_RAM_LOAD;
    if (p->rom_fixed)
        flags |= OTA_IMAGE_F_ROM_FIXED;
    memset(&hdr, 0, sizeof(hdr));
    hdr.magic = OTA_IMAGE_MAGIC;
    hdr.load_addr = p->rom_fixed ? p->rom_fixed : p->load_addr;
    hdr.hdr_size = (uint16_t)hdr_size;
    hdr.protect_tlv_size = (uint16_t)prot_size;
    hdr.img_size = (uint32_t)body_len;
    hdr.flags = flags;
    hdr.version = p->version;
    memset(buf, erased, hdr_size);
    ota_image_header_encode(&hdr, buf);
    if (payload_len)
        memcpy(buf + hdr_size, payload, payload_len);
    memset(buf + hdr_size + payload_len, 0, enc_pad);
    off = hdr_size + body_len;

    if (prot_size) {
        ota_le_put16(buf + off, OTA_TLV_PROT_INFO_MAGIC);
        ota_le_put16(buf + off + 2, prot_size);
        off += OTA_TLV_INFO_SIZE;
        if (p->has_security_counter) {
            uint8_t v[4];
            ota_le_put32(v, p->security_counter);
            put_tlv(buf, &off, OTA_TLV_SEC_CNT, v, 4);
        }
        if (p->hw_id)
            put_tlv(buf, &off, OTA_TLV_HW_ID, p->hw_id, (uint16_t)p->hw_id_len);
        if (p->has_link_slot)
            put_tlv(buf, &off, OTA_TLV_LINK_SLOT, &p->link_slot, 1);
    }

    rc = ota_sha256(ota_crypto_openssl(), buf, off, digest);
    if (rc != OTA_OK) {
        ota_host_errf(err, errlen, "SHA-256 failed");
        goto fail;
    }
    if (p->key) {
        rc = ota_key_pubkey(p->key, &pub);
        if (rc == OTA_OK)
            rc = ota_sha256(ota_crypto_openssl(), pub.spki, sizeof(pub.spki), keyhash);
        if (rc == OTA_OK)
            rc = ota_key_sign_digest(p->key, digest, sig, &sig_len);
        if (rc != OTA_OK) {
            ota_host_errf(err, errlen, "signing failed: %s", ota_strerror(rc));
            goto fail;
        }
        unprot_size = OTA_TLV_INFO_SIZE + 3 * OTA_TLV_HDR_SIZE + OTA_SHA256_LEN +
                      (p->pubkey_full ? OTA_P256_SPKI_LEN : OTA_SHA256_LEN) +
                      (uint32_t)sig_len;
    } else {
        unprot_size = OTA_TLV_INFO_SIZE + OTA_TLV_HDR_SIZE + OTA_SHA256_LEN;
    }
    if (aes_len)
        unprot_size += OTA_TLV_HDR_SIZE + (uint32_t)OTA_ENC_EC256_LEN(aes_len);

    /* Unprotected TLV area: SHA256, KEYHASH, signature (imgtool order). */
    ota_le_put16(buf + off, OTA_TLV_INFO_MAGIC);
    ota_le_put16(buf + off + 2, unprot_size);
    off += OTA_TLV_INFO_SIZE;
    put_tlv(buf, &off, OTA_TLV_SHA256, digest, OTA_SHA256_LEN);
    if (p->key) {
        if (p->pubkey_full)
            put_tlv(buf, &off, OTA_TLV_PUBKEY, pub.spki, OTA_P256_SPKI_LEN);
        else
            put_tlv(buf, &off, OTA_TLV_KEYHASH, keyhash, OTA_SHA256_LEN);
        put_tlv(buf, &off, OTA_TLV_ECDSA_SIG, sig, (uint16_t)sig_len);
    }
    if (aes_len) {
        /* Last, as imgtool: the key TLV; then the body is encrypted. */
        uint8_t enc_tlv[OTA_ENC_EC256_MAX];
        struct ota_enc_key k;
        rc = ota_enc_new_key(p->enc_key, aes_len, enc_tlv, &k, err, errlen);
        if (rc != OTA_OK)
            goto fail;
        k.body_off = hdr_size;
        k.body_len = (uint32_t)body_len;
        put_tlv(buf, &off, OTA_TLV_ENC_EC256, enc_tlv, (uint16_t)OTA_ENC_EC256_LEN(aes_len));
        rc = ota_enc_xor(&k, hdr_size, buf + hdr_size, body_len);
        ota_enc_key_wipe(&k);
        if (rc != OTA_OK) {
            ota_host_errf(err, errlen, "AES-CTR failed: %s", ota_strerror(rc));
            goto fail;
        }
    }

    if (p->slot_size && (uint64_t)off + trailer > p->slot_size) {
        ota_host_errf(err, errlen,
                      "image size (0x%zx) + trailer (0x%x) exceeds the slot size 0x%x",
                      off, (unsigned)trailer, (unsigned)p->slot_size);
        rc = OTA_ERR_IMAGE_TOO_LARGE;
        goto fail;
    }
    if (pad) {
        uint32_t magic_align = align_up(OTA_TRAILER_MAGIC_SIZE, eff_max_align(p));
        uint8_t *end = buf + p->slot_size;
        memset(buf + off, erased, p->slot_size - off);
        ota_image_boot_magic(eff_max_align(p), end - OTA_TRAILER_MAGIC_SIZE);
        if (p->confirm && !p->overwrite_only)
            end[-(long)(magic_align + eff_max_align(p))] = 0x01; /* image_ok */
        off = p->slot_size;
    }
    *out = buf;
    *out_len = off;
    return OTA_OK;
fail:
    free(buf);
    return rc;
}

/* One decimal component without leading zeros (imgtool's grammar). */
static int parse_num(const char **s, uint64_t max, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    if (*p < '0' || *p > '9')
        return -1;
    if (*p == '0' && p[1] >= '0' && p[1] <= '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return -1;
        p++;
    }
    *s = p;
    *out = v;
    return 0;
}

ota_err ota_image_version_parse(const char *s, struct ota_image_version *v)
{
    uint64_t major = 0, minor = 0, rev = 0, build = 0;
    if (!s || !v)
        return OTA_ERR_VERSION_FORMAT;
    if (parse_num(&s, 255, &major))
        return OTA_ERR_VERSION_FORMAT;
    if (*s == '.') {
        s++;
        if (parse_num(&s, 255, &minor))
            return OTA_ERR_VERSION_FORMAT;
        if (*s == '.') {
            s++;
            if (parse_num(&s, 65535, &rev))
                return OTA_ERR_VERSION_FORMAT;
            if (*s == '+') {
                s++;
                if (parse_num(&s, 0xffffffffu, &build))
                    return OTA_ERR_VERSION_FORMAT;
            }
        }
    }
    if (*s != '\0')
        return OTA_ERR_VERSION_FORMAT;
    v->major = (uint8_t)major;
    v->minor = (uint8_t)minor;
    v->revision = (uint16_t)rev;
    v->build = (uint32_t)build;
    return OTA_OK;
}

uint32_t ota_image_version_security_counter(const struct ota_image_version *v)
{
    return ((uint32_t)v->major << 24) + ((uint32_t)v->minor << 16) + v->revision;
}
