// SPDX-License-Identifier: Apache-2.0
/*
 * tests/core/test_image.c - signed images end to end through the C API:
 * ota_image_build (host) -> ota_image_parse / ota_image_verify (core), with
 * BOTH crypto backends. Round trips, then every kind of tampering, each
 * asserted to be refused with its exact ota_err: each header byte, payload
 * and TLV bytes, TLV lengths overflowing or overlapping, truncation at every
 * length, missing/duplicate/misplaced TLVs, foreign keys, policy (hw id,
 * security counter, slot size). Run under ASan+UBSan too.
 */
#include "../test.h"
#include "craft.h"
#include "ota/image_enc.h"

#include "ota/image_build.h"

static ota_key *key_a, *key_b;
static struct ota_pubkey pub_a, pub_b;
static const struct ota_crypto *backends[2];

static const uint8_t HW[] = "dev-A";
#define HW_LEN 5u

struct vopts {
    const uint8_t *hw_id;
    size_t hw_id_len;
    uint32_t min_sec;
    uint32_t max_total;
    const struct ota_pubkey *keys;
    size_t n_keys;
    uint32_t reader_size; /* 0: the buffer length */
    size_t buf_len;       /* scratch buffer, 0: none */
};

static ota_err verify_with(const struct ota_crypto *c, const uint8_t *img, size_t n,
                           const struct vopts *o, struct ota_image_info *info,
                           struct ota_diag *d)
{
    struct ota_reader r;
    struct ota_mem_reader m;
    struct ota_verify_params p;
    static uint8_t scratch[65536];
    memset(&p, 0, sizeof(p));
    p.crypto = c;
    p.keys = o && o->keys ? o->keys : &pub_a;
    p.n_keys = o && o->keys ? o->n_keys : 1;
    if (o) {
        p.hw_id = o->hw_id;
        p.hw_id_len = o->hw_id_len;
        p.min_security_counter = o->min_sec;
        p.max_total_size = o->max_total;
        if (o->buf_len) {
            p.buf = scratch;
            p.buf_len = o->buf_len;
        }
    }
    ota_reader_from_mem(&r, &m, img, (uint32_t)n);
    if (o && o->reader_size)
        r.size = o->reader_size;
    memset(d, 0, sizeof(*d));
    return ota_image_verify(&r, &p, info, d);
}

/* Verify with both backends; both must give the same answer. */
static ota_err verify_both(const uint8_t *img, size_t n, const struct vopts *o)
{
    struct ota_image_info i1, i2;
    struct ota_diag d1, d2;
    ota_err e1 = verify_with(backends[0], img, n, o, &i1, &d1);
    ota_err e2 = verify_with(backends[1], img, n, o, &i2, &d2);
    if (e1 != e2)
        fprintf(stderr, "backends disagree: %s=%s %s=%s\n", backends[0]->name,
                ota_errname(e1), backends[1]->name, ota_errname(e2));
    CHECK_EQ(e1, e2);
    return e1;
}

static ota_err parse_only(const uint8_t *img, size_t n, struct ota_diag *d)
{
    struct ota_reader r;
    struct ota_mem_reader m;
    struct ota_image_info info;
    ota_reader_from_mem(&r, &m, img, (uint32_t)n);
    memset(d, 0, sizeof(*d));
    return ota_image_parse(&r, &info, d);
}

/* A standard signed image: 1000-byte payload, sec counter 5, hw id "dev-A". */
static uint8_t *standard_image(size_t *n)
{
    struct ota_build_params bp;
    uint8_t *payload = malloc(1000), *out = NULL;
    char err[256];
    size_t i;
    for (i = 0; i < 1000; i++)
        payload[i] = craft_payload_byte((uint32_t)i);
    memset(&bp, 0, sizeof(bp));
    bp.key = key_a;
    bp.version.major = 1;
    bp.version.minor = 2;
    bp.version.revision = 3;
    bp.version.build = 4;
    bp.has_security_counter = 1;
    bp.security_counter = 5;
    bp.hw_id = HW;
    bp.hw_id_len = HW_LEN;
    if (ota_image_build(&bp, payload, 1000, &out, n, err, sizeof(err)) != OTA_OK) {
        fprintf(stderr, "build: %s\n", err);
        abort();
    }
    free(payload);
    return out;
}

/* Layout of the standard image. */
#define STD_HDR 32u
#define STD_PAYLOAD_END 1032u
#define STD_PROT_SIZE 21u /* info 4 + SEC_CNT 8 + HW_ID 9 */
#define STD_PROT_END (STD_PAYLOAD_END + STD_PROT_SIZE)
#define STD_SHA_TLV (STD_PROT_END + 4u)
#define STD_KEYHASH_TLV (STD_SHA_TLV + 36u)
#define STD_SIG_TLV (STD_KEYHASH_TLV + 36u)

static void test_roundtrip_standard(void)
{
    size_t n, b;
    uint8_t *img = standard_image(&n);
    struct ota_image_info info;
    struct ota_diag d;
    struct vopts o = {HW, HW_LEN, 5, 0, NULL, 0, 0, 0};
    char vs[32];

    REQUIRE(img != NULL);
    for (b = 0; b < 2; b++) {
        CHECK_EQ(verify_with(backends[b], img, n, &o, &info, &d), OTA_OK);
        CHECK_EQ(info.hdr.img_size, 1000);
        CHECK_EQ(info.signed_size, STD_PROT_END);
        CHECK_EQ(info.total_size, n);
        CHECK_EQ(info.security_counter, 5);
        CHECK_EQ(info.hw_id_len, HW_LEN);
        CHECK(memcmp(info.hw_id, HW, HW_LEN) == 0);
        CHECK_EQ(info.key_index, 0);
        CHECK(strcmp(ota_image_version_str(&info.hdr.version, vs, sizeof(vs)), "1.2.3+4") == 0);
    }
    /* Layout as documented: SHA256, KEYHASH, ECDSA in that order. */
    CHECK_EQ(img[STD_PAYLOAD_END], 0x08);
    CHECK_EQ(img[STD_PAYLOAD_END + 1], 0x69);
    CHECK_EQ(img[STD_PROT_END], 0x07);
    CHECK_EQ(img[STD_PROT_END + 1], 0x69);
    CHECK_EQ(img[STD_SHA_TLV], OTA_TLV_SHA256);
    CHECK_EQ(img[STD_KEYHASH_TLV], OTA_TLV_KEYHASH);
    CHECK_EQ(img[STD_SIG_TLV], OTA_TLV_ECDSA_SIG);
    CHECK_EQ(STD_SIG_TLV + 4u + img[STD_SIG_TLV + 2], n);
    /* Second trusted key list position is reported. */
    {
        struct ota_pubkey two[2] = {pub_b, pub_a};
        struct vopts o2 = {NULL, 0, 0, 0, two, 2, 0, 0};
        CHECK_EQ(verify_with(backends[0], img, n, &o2, &info, &d), OTA_OK);
        CHECK_EQ(info.key_index, 1);
    }
    /* A big scratch buffer and a tiny one give the same answer. */
    o.buf_len = 65536;
    CHECK_EQ(verify_both(img, n, &o), OTA_OK);
    o.buf_len = 1;
    CHECK_EQ(verify_both(img, n, &o), OTA_OK);
    free(img);
}

static void test_roundtrip_variants(void)
{
    static const uint32_t sizes[] = {0, 1, 31, 4096, 70001};
    static const uint16_t hdrs[] = {32, 33, 0x200};
    size_t si, hi;
    for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        for (hi = 0; hi < sizeof(hdrs) / sizeof(hdrs[0]); hi++) {
            struct ota_build_params bp;
            uint8_t *payload = malloc(sizes[si] + 1), *out = NULL;
            size_t n = 0, i;
            char err[256];
            struct ota_image_info info;
            struct ota_diag d;
            for (i = 0; i < sizes[si]; i++)
                payload[i] = (uint8_t)(i * 131u);
            memset(&bp, 0, sizeof(bp));
            bp.key = key_a;
            bp.header_size = hdrs[hi];
            bp.version.major = 9;
            CHECK_EQ(ota_image_build(&bp, payload, sizes[si], &out, &n, err, sizeof(err)), OTA_OK);
            CHECK_EQ(verify_both(out, n, NULL), OTA_OK);
            CHECK_EQ(verify_with(backends[0], out, n, NULL, &info, &d), OTA_OK);
            CHECK_EQ(info.hdr.hdr_size, hdrs[hi]);
            CHECK_EQ(info.has_security_counter, 0);
            CHECK_EQ(info.hdr.protect_tlv_size, 0);
            /* header padding is the erased value, like imgtool --pad-header */
            for (i = OTA_IMAGE_HEADER_SIZE; i < hdrs[hi]; i++)
                CHECK_EQ(out[i], 0xff);
            free(out);
            free(payload);
        }
    }
}

static void test_roundtrip_padded(void)
{
    struct ota_build_params bp;
    uint8_t payload[3000], *out = NULL, magic[16];
    size_t n = 0, i;
    char err[256];
    int confirm;
    struct vopts o = {NULL, 0, 0, 16384, NULL, 0, 0, 0};
    for (i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)i;
    ota_image_boot_magic(8, magic);
    for (confirm = 0; confirm < 2; confirm++) {
        memset(&bp, 0, sizeof(bp));
        bp.key = key_a;
        bp.slot_size = 16384;
        bp.pad = 1;
        bp.confirm = (uint8_t)confirm;
        CHECK_EQ(ota_image_build(&bp, payload, sizeof(payload), &out, &n, err, sizeof(err)),
                 OTA_OK);
        CHECK_EQ(n, 16384);
        CHECK(memcmp(out + n - 16, magic, 16) == 0);
        CHECK_EQ(out[n - 24], confirm ? 0x01 : 0xff); /* image_ok */
        CHECK_EQ(out[n - 32], 0xff);                  /* copy_done */
        CHECK_EQ(verify_both(out, n, &o), OTA_OK);
        free(out);
    }
    /* Does not fit: image + 432-byte trailer > slot. */
    memset(&bp, 0, sizeof(bp));
    bp.key = key_a;
    bp.slot_size = 3000 + 32 + 150;
    bp.pad = 1;
    CHECK_EQ(ota_image_build(&bp, payload, sizeof(payload), &out, &n, err, sizeof(err)),
             OTA_ERR_IMAGE_TOO_LARGE);
    CHECK(strstr(err, "exceeds the slot size") != NULL);
}

/* Flip bit 0 of every header byte: the exact refusal for each. */
static void test_tamper_each_header_byte(void)
{
    static const ota_err expect[32] = {
        /* 0-3 ih_magic */
        OTA_ERR_IMAGE_BAD_MAGIC, OTA_ERR_IMAGE_BAD_MAGIC, OTA_ERR_IMAGE_BAD_MAGIC,
        OTA_ERR_IMAGE_BAD_MAGIC,
        /* 4-7 ih_load_addr: covered by the hash */
        OTA_ERR_IMAGE_HASH_MISMATCH, OTA_ERR_IMAGE_HASH_MISMATCH, OTA_ERR_IMAGE_HASH_MISMATCH,
        OTA_ERR_IMAGE_HASH_MISMATCH,
        /* 8 ih_hdr_size 32->33: protected TLV info read one byte late */
        OTA_ERR_IMAGE_TLV_BAD_MAGIC,
        /* 9 ih_hdr_size 32->288: payload end past the file */
        OTA_ERR_IMAGE_TRUNCATED,
        /* 10-11 ih_protect_tlv_size 21->20 / 277: disagrees with the TLV info */
        OTA_ERR_IMAGE_TLV_MALFORMED, OTA_ERR_IMAGE_TLV_MALFORMED,
        /* 12 ih_img_size 1000->1001: TLV info read one byte late */
        OTA_ERR_IMAGE_TLV_BAD_MAGIC,
        /* 13 ih_img_size 1000->744: TLV info read inside the payload */
        OTA_ERR_IMAGE_TLV_BAD_MAGIC,
        /* 14-15 ih_img_size +64 KiB / +16 MiB: past the file */
        OTA_ERR_IMAGE_TRUNCATED, OTA_ERR_IMAGE_TRUNCATED,
        /* 16-19 ih_flags: PIC, ROM_FIXED, bits 16, 24 - hash covers them */
        OTA_ERR_IMAGE_HASH_MISMATCH, OTA_ERR_IMAGE_HASH_MISMATCH, OTA_ERR_IMAGE_HASH_MISMATCH,
        OTA_ERR_IMAGE_HASH_MISMATCH,
        /* 20-27 ih_ver */
        OTA_ERR_IMAGE_HASH_MISMATCH, OTA_ERR_IMAGE_HASH_MISMATCH, OTA_ERR_IMAGE_HASH_MISMATCH,
        OTA_ERR_IMAGE_HASH_MISMATCH, OTA_ERR_IMAGE_HASH_MISMATCH, OTA_ERR_IMAGE_HASH_MISMATCH,
        OTA_ERR_IMAGE_HASH_MISMATCH, OTA_ERR_IMAGE_HASH_MISMATCH,
        /* 28-31 _pad1 */
        OTA_ERR_IMAGE_HASH_MISMATCH, OTA_ERR_IMAGE_HASH_MISMATCH, OTA_ERR_IMAGE_HASH_MISMATCH,
        OTA_ERR_IMAGE_HASH_MISMATCH,
    };
    size_t n, i;
    uint8_t *img = standard_image(&n);
    for (i = 0; i < 32; i++) {
        ota_err e;
        img[i] ^= 0x01;
        e = verify_both(img, n, NULL);
        if (e != expect[i])
            fprintf(stderr, "header byte %zu: got %s, expected %s\n", i, ota_errname(e),
                    ota_errname(expect[i]));
        CHECK_EQ(e, expect[i]);
        img[i] ^= 0x01;
    }
    /* An encryption flag without the ENC_EC256 key TLV it needs. */
    img[16] ^= 0x04;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TLV_MISSING);
    img[16] ^= 0x04;
    /* Both AES flags at once. */
    img[16] ^= 0x0c;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_BAD_HEADER);
    img[16] ^= 0x0c;
    /* Header size below 32. */
    img[8] = 31;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_BAD_HEADER);
    img[8] = 32;
    /* Protected TLV size 1..3: smaller than its own info header. */
    img[10] = 3;
    img[11] = 0;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_BAD_HEADER);
    img[10] = STD_PROT_SIZE;
    /* Declared sizes near 4 GiB must not wrap. */
    img[12] = img[13] = img[14] = img[15] = 0xff;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TRUNCATED);
    img[8] = img[9] = 0xff;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TRUNCATED);
    free(img);
}

/* Every single-byte change anywhere in the image is refused (three masks). */
static void test_tamper_every_byte(void)
{
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    size_t n, i, m;
    uint8_t *img = standard_image(&n);
    size_t accepted = 0; /* or mis-attributed */
    for (m = 0; m < sizeof(masks); m++) {
        for (i = 0; i < n; i++) {
            ota_err e;
            img[i] ^= masks[m];
            e = verify_both(img, n, NULL);
            if (e == OTA_OK) {
                fprintf(stderr, "byte %zu ^ 0x%02x accepted\n", i, masks[m]);
                accepted++;
            }
            /* Payload bytes can only be caught by the hash. */
            if (i >= STD_HDR && i < STD_PAYLOAD_END && e != OTA_ERR_IMAGE_HASH_MISMATCH) {
                fprintf(stderr, "payload byte %zu: %s\n", i, ota_errname(e));
                accepted++;
            }
            img[i] ^= masks[m];
        }
    }
    CHECK_EQ(accepted, 0);
    free(img);
}

static void test_tamper_payload_and_tlv_values(void)
{
    size_t n;
    uint8_t *img = standard_image(&n);
    struct ota_diag d;
    struct ota_image_info info;
    /* payload: first, middle, last byte */
    img[STD_HDR] ^= 0x10;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_HASH_MISMATCH);
    img[STD_HDR] ^= 0x10;
    img[500] ^= 0x10;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_HASH_MISMATCH);
    img[500] ^= 0x10;
    img[STD_PAYLOAD_END - 1] ^= 0x10;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_HASH_MISMATCH);
    img[STD_PAYLOAD_END - 1] ^= 0x10;
    /* protected values: security counter raised, hw id changed */
    img[STD_PAYLOAD_END + 8] = 99;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_HASH_MISMATCH);
    img[STD_PAYLOAD_END + 8] = 5;
    img[STD_PAYLOAD_END + 16] = 'X';
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_HASH_MISMATCH);
    img[STD_PAYLOAD_END + 16] = 'd';
    /* the recorded hash */
    img[STD_SHA_TLV + 4 + 31] ^= 1;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_HASH_MISMATCH);
    img[STD_SHA_TLV + 4 + 31] ^= 1;
    /* the key hash: names a key nobody trusts */
    img[STD_KEYHASH_TLV + 4] ^= 1;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_UNKNOWN_KEY);
    img[STD_KEYHASH_TLV + 4] ^= 1;
    /* the signature: last byte of s (still strict DER) */
    img[n - 1] ^= 1;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_SIG_INVALID);
    img[n - 1] ^= 1;
    /* the signature's DER SEQUENCE tag */
    img[STD_SIG_TLV + 4] = 0x31;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_SIG_MALFORMED);
    img[STD_SIG_TLV + 4] = 0x30;
    CHECK_EQ(verify_with(backends[0], img, n, NULL, &info, &d), OTA_OK);
    free(img);
}

static void test_tlv_lengths(void)
{
    size_t n;
    uint8_t *img = standard_image(&n);
    uint8_t save[4];
    uint16_t unprot_tot = (uint16_t)(n - STD_PROT_END);
    struct ota_diag d;

    /* SHA256 entry length overflowing its area (0xffff) and off by one. */
    memcpy(save, img + STD_SHA_TLV, 4);
    craft_put16(img + STD_SHA_TLV + 2, 0xffff);
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
    CHECK_EQ(parse_only(img, n, &d), OTA_ERR_IMAGE_TLV_MALFORMED);
    CHECK_EQ(d.offset, STD_SHA_TLV + 2);
    craft_put16(img + STD_SHA_TLV + 2, 33); /* overlaps the next entry */
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
    craft_put16(img + STD_SHA_TLV + 2, 31);
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
    memcpy(img + STD_SHA_TLV, save, 4);
    /* KEYHASH length overlapping into the signature entry. */
    craft_put16(img + STD_KEYHASH_TLV + 2, 40);
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
    craft_put16(img + STD_KEYHASH_TLV + 2, 32);
    /* Signature length running past the area end, and too short. */
    img[STD_SIG_TLV + 2] += 1;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
    img[STD_SIG_TLV + 2] -= 1;
    /* Unprotected area total: larger than the file / smaller than its entries. */
    craft_put16(img + STD_PROT_END + 2, unprot_tot + 1u);
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TRUNCATED);
    craft_put16(img + STD_PROT_END + 2, unprot_tot - 1u);
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
    craft_put16(img + STD_PROT_END + 2, unprot_tot - 2u); /* entry header crosses end */
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
    craft_put16(img + STD_PROT_END + 2, 3); /* smaller than the info header itself */
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
    craft_put16(img + STD_PROT_END + 2, unprot_tot);
    /* Unprotected info magic. */
    img[STD_PROT_END] = 0x08; /* 0x6908 where 0x6907 belongs */
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TLV_BAD_MAGIC);
    img[STD_PROT_END] = 0x07;
    /* Protected area: entry length overflowing (header hash would also
     * change, but structure is checked first). */
    img[STD_PAYLOAD_END + 6] = 200;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
    img[STD_PAYLOAD_END + 6] = 4;
    /* Security counter with the wrong length (3; the hw id then misparses). */
    img[STD_PAYLOAD_END + 6] = 3;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
    img[STD_PAYLOAD_END + 6] = 4;
    /* Protected info magic. */
    img[STD_PAYLOAD_END] = 0x07;
    CHECK_EQ(verify_both(img, n, NULL), OTA_ERR_IMAGE_TLV_BAD_MAGIC);
    img[STD_PAYLOAD_END] = 0x08;
    CHECK_EQ(verify_both(img, n, NULL), OTA_OK);
    free(img);
}

/* Truncating at every length (so at every region boundary) is TRUNCATED. */
static void test_truncation_everywhere(void)
{
    size_t n, len;
    uint8_t *img = standard_image(&n);
    size_t bad = 0;
    static const size_t boundaries[] = {0, 1, 31, 32, 33, STD_PAYLOAD_END - 1, STD_PAYLOAD_END,
                                        STD_PAYLOAD_END + 3, STD_PAYLOAD_END + 4,
                                        STD_PROT_END - 1, STD_PROT_END, STD_PROT_END + 3,
                                        STD_SHA_TLV + 4, STD_KEYHASH_TLV, STD_SIG_TLV};
    for (len = 0; len < n; len++) {
        struct ota_diag d;
        ota_err e = parse_only(img, len, &d);
        if (e != OTA_ERR_IMAGE_TRUNCATED) {
            fprintf(stderr, "truncated to %zu: %s\n", len, ota_errname(e));
            bad++;
        }
    }
    CHECK_EQ(bad, 0);
    for (len = 0; len < sizeof(boundaries) / sizeof(boundaries[0]); len++)
        CHECK_EQ(verify_both(img, boundaries[len], NULL), OTA_ERR_IMAGE_TRUNCATED);
    CHECK_EQ(verify_both(img, n - 1, NULL), OTA_ERR_IMAGE_TRUNCATED);
    CHECK_EQ(verify_both(img, n, NULL), OTA_OK);
    free(img);
}

static const struct craft_tlv T_SHA = {OTA_TLV_SHA256, 32, NULL, 0};
static const struct craft_tlv T_KEY = {OTA_TLV_KEYHASH, 32, NULL, 0};
static const struct craft_tlv T_SIG = {OTA_TLV_ECDSA_SIG, 0, NULL, 0};

/* A crafted image of 777 payload bytes with these TLVs (caller frees). */
static uint8_t *craft_with(uint32_t flags, const struct craft_tlv *prot, size_t np,
                           const struct craft_tlv *unprot, size_t nu, const ota_key *signer,
                           const ota_key *named, size_t *n)
{
    struct craft_spec s;
    memset(&s, 0, sizeof(s));
    s.payload_len = 777;
    s.flags = flags;
    s.prot = prot;
    s.n_prot = np;
    s.unprot = unprot;
    s.n_unprot = nu;
    s.sign_key = signer;
    s.keyhash_key = named;
    return craft_image(&s, n);
}

static ota_err craft_verify(const struct craft_tlv *prot, size_t np,
                            const struct craft_tlv *unprot, size_t nu, const ota_key *signer,
                            const ota_key *named, const struct vopts *o)
{
    size_t n;
    uint8_t *img = craft_with(0, prot, np, unprot, nu, signer, named, &n);
    ota_err e;
    e = verify_both(img, n, o);
    free(img);
    return e;
}

static void test_missing_and_duplicate_tlvs(void)
{
    uint8_t sc[4] = {7, 0, 0, 0};
    struct craft_tlv sec = {OTA_TLV_SEC_CNT, 4, sc, 0};
    struct craft_tlv hw = {OTA_TLV_HW_ID, HW_LEN, HW, 0};
    struct craft_tlv unknown = {0xb7, 3, (const uint8_t *)"abc", 0};

    /* The crafted baseline verifies. */
    {
        struct craft_tlv u[] = {T_SHA, T_KEY, T_SIG};
        CHECK_EQ(craft_verify(NULL, 0, u, 3, key_a, NULL, NULL), OTA_OK);
    }
    /* Order within the unprotected area does not matter (MCUboot neither). */
    {
        struct craft_tlv u[] = {T_SIG, T_KEY, T_SHA};
        CHECK_EQ(craft_verify(NULL, 0, u, 3, key_a, NULL, NULL), OTA_OK);
    }
    /* Unknown TLVs are skipped in both areas. */
    {
        struct craft_tlv p[] = {unknown};
        struct craft_tlv u[] = {T_SHA, unknown, T_KEY, T_SIG};
        CHECK_EQ(craft_verify(p, 1, u, 4, key_a, NULL, NULL), OTA_OK);
    }
    /* Missing hash / signature / key hash. */
    {
        struct craft_tlv u1[] = {T_KEY, T_SIG};
        struct craft_tlv u2[] = {T_SHA, T_KEY};
        struct craft_tlv u3[] = {T_SHA, T_SIG};
        CHECK_EQ(craft_verify(NULL, 0, u1, 2, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_MISSING);
        CHECK_EQ(craft_verify(NULL, 0, u2, 2, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_MISSING);
        CHECK_EQ(craft_verify(NULL, 0, u3, 2, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_MISSING);
        CHECK_EQ(craft_verify(NULL, 0, NULL, 0, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_MISSING);
    }
    /* Duplicates: each known TLV twice. */
    {
        struct craft_tlv u1[] = {T_SHA, T_SHA, T_KEY, T_SIG};
        struct craft_tlv u2[] = {T_SHA, T_KEY, T_KEY, T_SIG};
        struct craft_tlv u3[] = {T_SHA, T_KEY, T_SIG, T_SIG};
        struct craft_tlv p1[] = {sec, sec};
        struct craft_tlv p2[] = {hw, sec, hw};
        struct craft_tlv u[] = {T_SHA, T_KEY, T_SIG};
        CHECK_EQ(craft_verify(NULL, 0, u1, 4, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_DUPLICATE);
        CHECK_EQ(craft_verify(NULL, 0, u2, 4, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_DUPLICATE);
        CHECK_EQ(craft_verify(NULL, 0, u3, 4, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_DUPLICATE);
        CHECK_EQ(craft_verify(p1, 2, u, 3, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_DUPLICATE);
        CHECK_EQ(craft_verify(p2, 3, u, 3, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_DUPLICATE);
    }
    /* Misplaced: policy TLVs unprotected, hash/signature inside the signed area,
     * and a security counter in both areas. */
    {
        struct craft_tlv u1[] = {T_SHA, T_KEY, T_SIG, sec};
        struct craft_tlv u2[] = {hw, T_SHA, T_KEY, T_SIG};
        struct craft_tlv p3[] = {T_KEY};
        struct craft_tlv p4[] = {sec};
        struct craft_tlv u[] = {T_SHA, T_KEY, T_SIG};
        struct craft_tlv bogus_sha = {OTA_TLV_SHA256, 32, sc, 0};
        struct craft_tlv p5[] = {bogus_sha};
        uint8_t zero32[32] = {0};
        bogus_sha.val = zero32;
        p5[0] = bogus_sha;
        CHECK_EQ(craft_verify(NULL, 0, u1, 4, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_UNPROTECTED);
        CHECK_EQ(craft_verify(NULL, 0, u2, 4, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_UNPROTECTED);
        {
            uint8_t kh[32] = {0};
            p3[0].val = kh;
            CHECK_EQ(craft_verify(p3, 1, u, 3, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
        }
        CHECK_EQ(craft_verify(p5, 1, u, 3, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
        {
            struct craft_tlv u3[] = {T_SHA, sec, T_KEY, T_SIG};
            CHECK_EQ(craft_verify(p4, 1, u3, 4, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_DUPLICATE);
        }
    }
    /* Hardware id longer than 32 bytes / empty. */
    {
        uint8_t big[33];
        struct craft_tlv hw33 = {OTA_TLV_HW_ID, 33, big, 0};
        struct craft_tlv hw0 = {OTA_TLV_HW_ID, 0, big, 0};
        struct craft_tlv u[] = {T_SHA, T_KEY, T_SIG};
        memset(big, 'x', sizeof(big));
        CHECK_EQ(craft_verify(&hw33, 1, u, 3, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
        CHECK_EQ(craft_verify(&hw0, 1, u, 3, key_a, NULL, NULL), OTA_ERR_IMAGE_TLV_MALFORMED);
    }
}

/* Parse a crafted image with header flags `flags`; the diag field. */
static ota_err craft_parse_flags(uint32_t flags, const struct craft_tlv *prot, size_t np,
                                 const struct craft_tlv *unprot, size_t nu,
                                 struct ota_image_info *info, const char **field)
{
    struct ota_reader r;
    struct ota_mem_reader m;
    struct ota_diag d;
    size_t n;
    uint8_t *img = craft_with(flags, prot, np, unprot, nu, key_a, NULL, &n);
    ota_err e;
    ota_reader_from_mem(&r, &m, img, (uint32_t)n);
    memset(&d, 0, sizeof d);
    e = ota_image_parse(&r, info, &d);
    *field = d.field ? d.field : "";
    free(img);
    return e;
}

/* Encryption and key TLVs: only ENC_EC256, only unprotected, only with the
 * header's ENCRYPTED flag and sized for its AES key; a public key TLV of
 * exactly one P-256 SPKI. */
static void test_encryption_and_key_tlvs(void)
{
    static uint8_t blob[OTA_ENC_EC256_LEN(32)];
    struct ota_image_info info;
    const char *field;
    const uint16_t others[] = {OTA_TLV_ENC_RSA2048, OTA_TLV_ENC_KW, OTA_TLV_ENC_X25519,
                               OTA_TLV_ENC_X25519_SHA512};
    struct craft_tlv enc16 = {OTA_TLV_ENC_EC256, OTA_ENC_EC256_LEN(16), blob, 0};
    struct craft_tlv enc32 = {OTA_TLV_ENC_EC256, OTA_ENC_EC256_LEN(32), blob, 0};
    memset(blob, 0x42, sizeof blob);
    {
        struct craft_tlv u[] = {T_SHA, T_KEY, T_SIG, enc16};
        CHECK_EQ(craft_parse_flags(OTA_IMAGE_F_ENCRYPTED_AES128, NULL, 0, u, 4, &info, &field),
                 OTA_OK);
        CHECK_EQ(info.enc_aes_len, 16);
        u[3] = enc32;
        CHECK_EQ(craft_parse_flags(OTA_IMAGE_F_ENCRYPTED_AES256, NULL, 0, u, 4, &info, &field),
                 OTA_OK);
        CHECK_EQ(info.enc_aes_len, 32);
        /* sized for the other AES key */
        CHECK_EQ(craft_parse_flags(OTA_IMAGE_F_ENCRYPTED_AES128, NULL, 0, u, 4, &info, &field),
                 OTA_ERR_IMAGE_TLV_MALFORMED);
        CHECK(strstr(field, "ENC_EC256 TLV length") != NULL);
        /* a key TLV on an image that is not flagged encrypted */
        CHECK_EQ(craft_parse_flags(0, NULL, 0, u, 4, &info, &field),
                 OTA_ERR_IMAGE_TLV_MALFORMED);
        CHECK(strstr(field, "not flagged encrypted") != NULL);
        /* flagged, but no key TLV */
        CHECK_EQ(craft_parse_flags(OTA_IMAGE_F_ENCRYPTED_AES128, NULL, 0, u, 3, &info, &field),
                 OTA_ERR_IMAGE_TLV_MISSING);
    }
    {
        /* in the protected (signed) area it is refused */
        struct craft_tlv p[] = {enc16};
        struct craft_tlv u[] = {T_SHA, T_KEY, T_SIG};
        CHECK_EQ(craft_parse_flags(OTA_IMAGE_F_ENCRYPTED_AES128, p, 1, u, 3, &info, &field),
                 OTA_ERR_IMAGE_TLV_MALFORMED);
        CHECK(strstr(field, "not allowed in protected area") != NULL);
    }
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        /* MCUboot's other key-encryption schemes: not supported, said so */
        struct craft_tlv other = {others[i], 40, blob, 0};
        struct craft_tlv u[] = {T_SHA, T_KEY, T_SIG, other};
        CHECK_EQ(craft_parse_flags(OTA_IMAGE_F_ENCRYPTED_AES128, NULL, 0, u, 4, &info, &field),
                 OTA_ERR_UNSUPPORTED);
    }
    {
        /* a public key TLV: exactly one P-256 SPKI */
        struct ota_pubkey pk;
        REQUIRE(ota_key_pubkey(key_a, &pk) == OTA_OK);
        struct craft_tlv pub = {OTA_TLV_PUBKEY, OTA_P256_SPKI_LEN, pk.spki, 0};
        struct craft_tlv u[] = {T_SHA, pub, T_SIG};
        CHECK_EQ(craft_parse_flags(0, NULL, 0, u, 3, &info, &field), OTA_OK);
        CHECK(info.pubkey_off != 0);
        u[1].len = OTA_P256_SPKI_LEN - 1;
        CHECK_EQ(craft_parse_flags(0, NULL, 0, u, 3, &info, &field),
                 OTA_ERR_IMAGE_TLV_MALFORMED);
        CHECK(strcmp(field, "public key TLV length") == 0);
        /* a public key TLV and a key hash TLV naming another key disagree */
        struct ota_pubkey pkb;
        REQUIRE(ota_key_pubkey(key_b, &pkb) == OTA_OK);
        struct craft_tlv pubb = {OTA_TLV_PUBKEY, OTA_P256_SPKI_LEN, pkb.spki, 0};
        struct craft_tlv u2[] = {T_SHA, pubb, T_KEY, T_SIG};
        struct vopts o = {NULL, 0, 0, 0, NULL, 0, 0, 0};
        size_t n;
        uint8_t *img = craft_with(0, NULL, 0, u2, 4, key_a, NULL, &n);
        CHECK_EQ(verify_both(img, n, &o), OTA_ERR_IMAGE_TLV_MALFORMED);
        free(img);
        u2[1] = pub; /* the same key both ways: accepted */
        img = craft_with(0, NULL, 0, u2, 4, key_a, NULL, &n);
        CHECK_EQ(verify_both(img, n, &o), OTA_OK);
        free(img);
    }
    {
        /* a signature TLV too short or too long to be a DER P-256 signature */
        static uint8_t junk[80];
        struct craft_tlv s7 = {OTA_TLV_ECDSA_SIG, 7, junk, 0};
        struct craft_tlv s73 = {OTA_TLV_ECDSA_SIG, OTA_P256_SIG_DER_MAX + 1, junk, 0};
        struct craft_tlv u[] = {T_SHA, T_KEY, s7};
        CHECK_EQ(craft_parse_flags(0, NULL, 0, u, 3, &info, &field), OTA_ERR_IMAGE_SIG_MALFORMED);
        CHECK(strcmp(field, "signature TLV length") == 0);
        u[2] = s73;
        CHECK_EQ(craft_parse_flags(0, NULL, 0, u, 3, &info, &field), OTA_ERR_IMAGE_SIG_MALFORMED);
    }
}

static void test_keys_and_signatures(void)
{
    struct craft_tlv u[] = {T_SHA, T_KEY, T_SIG};
    struct ota_pubkey both[2];
    struct vopts two = {NULL, 0, 0, 0, both, 2, 0, 0};
    struct vopts only_b = {NULL, 0, 0, 0, &pub_b, 1, 0, 0};
    struct vopts none = {NULL, 0, 0, 0, &pub_a, 0, 0, 0};
    both[0] = pub_a;
    both[1] = pub_b;
    /* Signed and named by B; only A trusted. */
    CHECK_EQ(craft_verify(NULL, 0, u, 3, key_b, NULL, NULL), OTA_ERR_IMAGE_UNKNOWN_KEY);
    /* B is trusted too: fine. */
    CHECK_EQ(craft_verify(NULL, 0, u, 3, key_b, NULL, &two), OTA_OK);
    CHECK_EQ(craft_verify(NULL, 0, u, 3, key_b, NULL, &only_b), OTA_OK);
    /* No trusted keys at all. */
    CHECK_EQ(craft_verify(NULL, 0, u, 3, key_a, NULL, &none), OTA_ERR_IMAGE_UNKNOWN_KEY);
    /* Signed by B but claims to be A (KEYHASH of A): signature invalid. */
    CHECK_EQ(craft_verify(NULL, 0, u, 3, key_b, key_a, NULL), OTA_ERR_IMAGE_SIG_INVALID);
    CHECK_EQ(craft_verify(NULL, 0, u, 3, key_b, key_a, &two), OTA_ERR_IMAGE_SIG_INVALID);
    /* Signature padded like imgtool --pad-sig (pre-1.5 MCUboot): not strict DER. */
    {
        struct craft_spec s;
        size_t n;
        uint8_t *img, *padded;
        uint16_t tot;
        memset(&s, 0, sizeof(s));
        s.payload_len = 100;
        s.unprot = u;
        s.n_unprot = 3;
        s.sign_key = key_a;
        img = craft_image(&s, &n);
        padded = calloc(1, n + 1);
        memcpy(padded, img, n);
        padded[n] = 0x00; /* one zero byte after the DER signature */
        /* grow sig length by one, and the area total */
        {
            size_t sig_tlv = 32 + 100 + 4 + 36 + 36;
            padded[sig_tlv + 2] = (uint8_t)(padded[sig_tlv + 2] + 1);
            tot = (uint16_t)(padded[32 + 100 + 2] | padded[32 + 100 + 3] << 8);
            craft_put16(padded + 32 + 100 + 2, tot + 1u);
        }
        CHECK_EQ(verify_both(padded, n + 1, NULL), OTA_ERR_IMAGE_SIG_MALFORMED);
        CHECK_EQ(verify_both(img, n, NULL), OTA_OK);
        free(img);
        free(padded);
    }
    /* A PUBKEY TLV (imgtool --public-key-format full) instead of KEYHASH. */
    {
        struct craft_tlv pk = {OTA_TLV_PUBKEY, OTA_P256_SPKI_LEN, pub_a.spki, 0};
        struct craft_tlv pkb = {OTA_TLV_PUBKEY, OTA_P256_SPKI_LEN, pub_b.spki, 0};
        struct craft_tlv u2[] = {T_SHA, pk, T_SIG};
        struct craft_tlv u3[] = {T_SHA, pkb, T_SIG};
        struct craft_tlv u4[] = {T_SHA, pk, T_KEY, T_SIG};
        CHECK_EQ(craft_verify(NULL, 0, u2, 3, key_a, NULL, NULL), OTA_OK);
        CHECK_EQ(craft_verify(NULL, 0, u3, 3, key_b, NULL, NULL), OTA_ERR_IMAGE_UNKNOWN_KEY);
        /* PUBKEY of A with KEYHASH of B disagree */
        CHECK_EQ(craft_verify(NULL, 0, u4, 4, key_a, key_b, &two), OTA_ERR_IMAGE_TLV_MALFORMED);
    }
}

static void test_policy(void)
{
    size_t n;
    uint8_t *img = standard_image(&n);
    struct vopts o;
    struct ota_image_info info;
    struct ota_diag d;

    memset(&o, 0, sizeof(o));
    o.hw_id = (const uint8_t *)"dev-B";
    o.hw_id_len = 5;
    CHECK_EQ(verify_both(img, n, &o), OTA_ERR_IMAGE_HW_MISMATCH);
    o.hw_id = (const uint8_t *)"dev-A2";
    o.hw_id_len = 6;
    CHECK_EQ(verify_both(img, n, &o), OTA_ERR_IMAGE_HW_MISMATCH);
    o.hw_id = (const uint8_t *)"dev-";
    o.hw_id_len = 4;
    CHECK_EQ(verify_both(img, n, &o), OTA_ERR_IMAGE_HW_MISMATCH);
    o.hw_id = HW;
    o.hw_id_len = HW_LEN;
    CHECK_EQ(verify_both(img, n, &o), OTA_OK);

    o.min_sec = 6;
    CHECK_EQ(verify_both(img, n, &o), OTA_ERR_IMAGE_ROLLBACK);
    CHECK_EQ(verify_with(backends[0], img, n, &o, &info, &d), OTA_ERR_IMAGE_ROLLBACK);
    CHECK_EQ(d.has_values, 1);
    CHECK_EQ(d.expected, 6);
    CHECK_EQ(d.found, 5);
    o.min_sec = 5;
    CHECK_EQ(verify_both(img, n, &o), OTA_OK);

    o.max_total = (uint32_t)n - 1;
    CHECK_EQ(verify_both(img, n, &o), OTA_ERR_IMAGE_TOO_LARGE);
    o.max_total = (uint32_t)n;
    CHECK_EQ(verify_both(img, n, &o), OTA_OK);
    free(img);

    /* An image without hw id / counter, on a device that requires them. */
    {
        struct craft_tlv u[] = {T_SHA, T_KEY, T_SIG};
        struct vopts need_hw = {HW, HW_LEN, 0, 0, NULL, 0, 0, 0};
        struct vopts need_sec = {NULL, 0, 1, 0, NULL, 0, 0, 0};
        CHECK_EQ(craft_verify(NULL, 0, u, 3, key_a, NULL, &need_hw), OTA_ERR_IMAGE_HW_MISMATCH);
        CHECK_EQ(craft_verify(NULL, 0, u, 3, key_a, NULL, &need_sec), OTA_ERR_IMAGE_ROLLBACK);
    }
}

/* The diag says what failed where. */
static void test_diag_contents(void)
{
    size_t n;
    uint8_t *img = standard_image(&n);
    struct ota_image_info info;
    struct ota_diag d;
    img[1] = 0;
    CHECK_EQ(verify_with(backends[1], img, n, NULL, &info, &d), OTA_ERR_IMAGE_BAD_MAGIC);
    CHECK(d.field && strstr(d.field, "magic"));
    CHECK_EQ(d.offset, 0);
    CHECK_EQ(d.has_values, 1);
    CHECK_EQ(d.expected, OTA_IMAGE_MAGIC);
    CHECK_EQ(d.found, OTA_IMAGE_MAGIC & 0xffff00ffu);
    img[1] = 0xb8;
    craft_put16(img + STD_SHA_TLV + 2, 0xffff);
    CHECK_EQ(verify_with(backends[1], img, n, NULL, &info, &d), OTA_ERR_IMAGE_TLV_MALFORMED);
    CHECK(d.field != NULL);
    CHECK_EQ(d.offset, STD_SHA_TLV + 2);
    CHECK_EQ(d.found, 0xffff);
    free(img);
}

/* Random garbage and random mutations never crash (ASan/UBSan watch). */
static void test_garbage_never_crashes(void)
{
    size_t n, i, k;
    uint8_t *img = standard_image(&n);
    uint8_t *buf = malloc(n);
    uint32_t seed = 12345;
    for (k = 0; k < 3000; k++) {
        size_t len = n, flips;
        memcpy(buf, img, n);
        seed = seed * 1103515245u + 12345u;
        flips = 1 + (seed >> 16) % 4;
        for (i = 0; i < flips; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[(seed >> 8) % n] ^= (uint8_t)((seed >> 24) | 1u); /* always a change */
        }
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) % 4 == 0)
            len = (seed >> 3) % n;
        CHECK(verify_both(buf, len, NULL) != OTA_OK);
    }
    for (k = 0; k < 200; k++) {
        for (i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (uint8_t)(seed >> 24);
        }
        if (k % 2) { /* plausible header, garbage after */
            buf[0] = 0x3d, buf[1] = 0xb8, buf[2] = 0xf3, buf[3] = 0x96;
        }
        CHECK(verify_both(buf, n, NULL) != OTA_OK);
    }
    free(buf);
    free(img);
}

int main(void)
{
    if (ota_key_generate(&key_a) != OTA_OK || ota_key_generate(&key_b) != OTA_OK ||
        ota_key_pubkey(key_a, &pub_a) != OTA_OK || ota_key_pubkey(key_b, &pub_b) != OTA_OK) {
        fprintf(stderr, "key setup failed\n");
        return 1;
    }
    backends[0] = ota_crypto_openssl();
    backends[1] = ota_crypto_mbedtls();
    RUN(test_roundtrip_standard);
    RUN(test_roundtrip_variants);
    RUN(test_roundtrip_padded);
    RUN(test_tamper_each_header_byte);
    RUN(test_tamper_every_byte);
    RUN(test_tamper_payload_and_tlv_values);
    RUN(test_tlv_lengths);
    RUN(test_truncation_everywhere);
    RUN(test_missing_and_duplicate_tlvs);
    RUN(test_encryption_and_key_tlvs);
    RUN(test_keys_and_signatures);
    RUN(test_policy);
    RUN(test_diag_contents);
    RUN(test_garbage_never_crashes);
    ota_key_free(key_a);
    ota_key_free(key_b);
    return test_summary();
}
