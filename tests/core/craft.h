// SPDX-License-Identifier: Apache-2.0
/*
 * tests/core/craft.h - build arbitrary (also deliberately broken) images for
 * tests: any header values, any TLV list in either area, in any order, with
 * the hash, key hash and signature filled in on request.
 *
 * Why it exists: ota_image_build only makes correct images; tamper tests
 * need images that are wrong in exactly one controlled way (a duplicate TLV,
 * a TLV in the wrong area, a missing hash, a signature by another key) while
 * everything else stays valid.
 */
#ifndef OTA_TEST_CRAFT_H
#define OTA_TEST_CRAFT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota/host.h"
#include "ota/image.h"

/* Value markers: NULL val with one of these fills the value in. */
#define CRAFT_AUTO 1 /* SHA256: digest; KEYHASH: hash of keyhash_key; sig: sig by sign_key */

struct craft_tlv {
    uint16_t type;
    uint16_t len;        /* ignored for auto values unless len_override */
    const uint8_t *val;  /* NULL: auto (see above) */
    int len_override;    /* write `len` into the entry header even for auto values */
};

struct craft_spec {
    uint16_t hdr_size;       /* 0: 32 */
    uint32_t flags;
    uint32_t load_addr;
    struct ota_image_version version;
    uint32_t payload_len;
    const struct craft_tlv *prot;
    size_t n_prot;
    const struct craft_tlv *unprot;
    size_t n_unprot;
    const ota_key *sign_key;    /* key that makes the signature */
    const ota_key *keyhash_key; /* key whose hash goes in KEYHASH (NULL: sign_key) */
};

static inline void craft_put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline uint8_t craft_payload_byte(uint32_t i)
{
    /* Deterministic, never forms the TLV magics 0x6907/0x6908 in LE order. */
    return (uint8_t)((i * 7u + 3u) % 0x61u);
}

/* Returns a malloc'ed image (caller frees) and its length in *len. */
static inline uint8_t *craft_image(const struct craft_spec *s, size_t *len)
{
    uint32_t hdr = s->hdr_size ? s->hdr_size : OTA_IMAGE_HEADER_SIZE;
    size_t cap = hdr + s->payload_len + 4096, off, i, prot_start;
    uint8_t *b = calloc(1, cap);
    uint8_t digest[OTA_SHA256_LEN], keyhash[OTA_SHA256_LEN], sig[OTA_P256_SIG_DER_MAX];
    size_t sig_len = 0, prot_size = 0;
    struct ota_image_header h;
    struct ota_pubkey pub;
    const ota_key *kh = s->keyhash_key ? s->keyhash_key : s->sign_key;

    if (!b)
        abort();
    for (i = 0; i < s->n_prot; i++)
        prot_size += OTA_TLV_HDR_SIZE + s->prot[i].len;
    if (s->n_prot)
        prot_size += OTA_TLV_INFO_SIZE;
    memset(&h, 0, sizeof(h));
    h.magic = OTA_IMAGE_MAGIC;
    h.load_addr = s->load_addr;
    h.hdr_size = (uint16_t)hdr;
    h.protect_tlv_size = (uint16_t)prot_size;
    h.img_size = s->payload_len;
    h.flags = s->flags;
    h.version = s->version;
    ota_image_header_encode(&h, b);
    for (i = 0; i < s->payload_len; i++)
        b[hdr + i] = craft_payload_byte((uint32_t)i);
    off = hdr + s->payload_len;
    prot_start = off;
    if (s->n_prot) {
        craft_put16(b + off, OTA_TLV_PROT_INFO_MAGIC);
        craft_put16(b + off + 2, (uint32_t)prot_size);
        off += 4;
        for (i = 0; i < s->n_prot; i++) {
            craft_put16(b + off, s->prot[i].type);
            craft_put16(b + off + 2, s->prot[i].len);
            if (s->prot[i].val)
                memcpy(b + off + 4, s->prot[i].val, s->prot[i].len);
            off += 4u + s->prot[i].len;
        }
    }
    (void)prot_start;
    if (ota_sha256(ota_crypto_openssl(), b, off, digest) != OTA_OK)
        abort();
    if (kh) {
        if (ota_key_pubkey(kh, &pub) != OTA_OK ||
            ota_sha256(ota_crypto_openssl(), pub.spki, sizeof(pub.spki), keyhash) != OTA_OK)
            abort();
    } else {
        memset(keyhash, 0, sizeof(keyhash));
    }
    if (s->sign_key && ota_key_sign_digest(s->sign_key, digest, sig, &sig_len) != OTA_OK)
        abort();
    {
        size_t info = off, tot = OTA_TLV_INFO_SIZE;
        off += 4;
        for (i = 0; i < s->n_unprot; i++) {
            const struct craft_tlv *t = &s->unprot[i];
            const uint8_t *v = t->val;
            size_t l = t->len;
            if (!v) {
                if (t->type == OTA_TLV_SHA256) {
                    v = digest;
                    l = OTA_SHA256_LEN;
                } else if (t->type == OTA_TLV_KEYHASH) {
                    v = keyhash;
                    l = OTA_SHA256_LEN;
                } else {
                    v = sig;
                    l = sig_len;
                }
            }
            craft_put16(b + off, t->type);
            craft_put16(b + off + 2, (uint32_t)(t->len_override ? t->len : l));
            memcpy(b + off + 4, v, l);
            off += 4 + l;
            tot += 4 + l;
        }
        craft_put16(b + info, OTA_TLV_INFO_MAGIC);
        craft_put16(b + info + 2, (uint32_t)tot);
    }
    *len = off;
    return b;
}

#endif
