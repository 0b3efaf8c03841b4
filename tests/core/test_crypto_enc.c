// SPDX-License-Identifier: Apache-2.0
/*
 * test_crypto_enc.c - the encryption port (struct ota_crypto_enc) and the
 * ENC_EC256 module (ota/image_enc.h) on BOTH backends: known answers (NIST
 * SP 800-38A AES-CTR, RFC 5869 HKDF, RFC 4231 HMAC, NIST CAVS P-256 ECDH),
 * key wrap/unwrap round trips across backends, refusal of tampered TLVs and
 * of another device's key, and CTR at every alignment against one pass.
 */
#include "../test.h"

#include "ota/crypto.h"
#include "ota/error.h"
#include "ota/image_enc.h"

static const struct ota_crypto_enc *backends[2];

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = strlen(s) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

#define CHECK_HEX(buf, len, hex)                                               \
    do {                                                                       \
        uint8_t want_[256];                                                    \
        size_t wn_ = unhex(hex, want_);                                        \
        CHECK_EQ((len), wn_);                                                  \
        CHECK(memcmp((buf), want_, wn_) == 0);                                 \
    } while (0)

static const char *SP800_38A_PT =
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

static void test_aes_ctr_nist(void)
{
    static const struct {
        const char *key, *ct;
    } v[] = {
        /* F.5.1 CTR-AES128.Encrypt */
        {"2b7e151628aed2a6abf7158809cf4f3c",
         "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
         "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee"},
        /* F.5.5 CTR-AES256.Encrypt */
        {"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
         "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
         "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6"},
    };
    for (int b = 0; b < 2; b++) {
        for (size_t i = 0; i < 2; i++) {
            uint8_t key[32], ctr[16], pt[64], out[64];
            size_t kl = unhex(v[i].key, key);
            unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", ctr);
            unhex(SP800_38A_PT, pt);
            CHECK_EQ(backends[b]->aes_ctr(key, kl, ctr, pt, out, 64), OTA_OK);
            CHECK_HEX(out, (size_t)64, v[i].ct);
            /* in place, and decrypting is the same operation */
            CHECK_EQ(backends[b]->aes_ctr(key, kl, ctr, out, out, 64), OTA_OK);
            CHECK(memcmp(out, pt, 64) == 0);
            /* an odd length: a prefix of the same keystream */
            CHECK_EQ(backends[b]->aes_ctr(key, kl, ctr, pt, out, 21), OTA_OK);
            {
                uint8_t want[64];
                unhex(v[i].ct, want);
                CHECK(memcmp(out, want, 21) == 0);
            }
            CHECK_EQ(backends[b]->aes_ctr(key, 24, ctr, pt, out, 16), OTA_ERR_INVALID_ARG);
        }
    }
}

static void test_hkdf_rfc5869(void)
{
    for (int b = 0; b < 2; b++) {
        uint8_t ikm[22], salt[13], info[10], okm[42];
        memset(ikm, 0x0b, sizeof ikm);
        unhex("000102030405060708090a0b0c", salt);
        unhex("f0f1f2f3f4f5f6f7f8f9", info);
        /* Test Case 1 */
        CHECK_EQ(backends[b]->hkdf_sha256(salt, 13, ikm, 22, info, 10, okm, 42), OTA_OK);
        CHECK_HEX(okm, (size_t)42,
                  "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                  "34007208d5b887185865");
        /* Test Case 3: no salt, no info (what MCUboot's KDF uses: no salt) */
        CHECK_EQ(backends[b]->hkdf_sha256(NULL, 0, ikm, 22, NULL, 0, okm, 42), OTA_OK);
        CHECK_HEX(okm, (size_t)42,
                  "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                  "9d201395faa4b61a96c8");
        CHECK_EQ(backends[b]->hkdf_sha256(NULL, 0, ikm, 22, NULL, 0, okm, 0),
                 OTA_ERR_INVALID_ARG);
    }
}

static void test_hmac_rfc4231(void)
{
    for (int b = 0; b < 2; b++) {
        uint8_t key[131], out[32];
        memset(key, 0x0b, 20);
        CHECK_EQ(backends[b]->hmac_sha256(key, 20, (const uint8_t *)"Hi There", 8, out), OTA_OK);
        CHECK_HEX(out, (size_t)32,
                  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        CHECK_EQ(backends[b]->hmac_sha256((const uint8_t *)"Jefe", 4,
                                          (const uint8_t *)"what do ya want for nothing?", 28,
                                          out),
                 OTA_OK);
        CHECK_HEX(out, (size_t)32,
                  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        memset(key, 0xaa, sizeof key);
        {
            const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
            CHECK_EQ(backends[b]->hmac_sha256(key, 131, (const uint8_t *)m, strlen(m), out),
                     OTA_OK);
        }
        CHECK_HEX(out, (size_t)32,
                  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }
}

/* NIST CAVS ECC CDH primitive, P-256, COUNT = 0. */
static const char *CDH_QX = "700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287";
static const char *CDH_QY = "db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac";
static const char *CDH_D = "7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534";
static const char *CDH_Z = "46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b";

static void test_ecdh_cavs(void)
{
    for (int b = 0; b < 2; b++) {
        uint8_t q[65], d[32], z[32];
        q[0] = 0x04;
        unhex(CDH_QX, q + 1);
        unhex(CDH_QY, q + 33);
        unhex(CDH_D, d);
        CHECK_EQ(backends[b]->ecdh_p256(d, q, z), OTA_OK);
        CHECK_HEX(z, (size_t)32, CDH_Z);
        /* a point off the curve is refused, not used */
        q[64] ^= 1;
        CHECK_EQ(backends[b]->ecdh_p256(d, q, z), OTA_ERR_IMAGE_ENC_KEY);
        q[64] ^= 1;
        /* a zero scalar is not a key */
        memset(d, 0, sizeof d);
        CHECK_EQ(backends[b]->ecdh_p256(d, q, z), OTA_ERR_IMAGE_ENC_KEY);
    }
}

/* The CAVS pair as (device key, device public point) and a second pair from
 * the same file's COUNT = 1 as the ephemeral key. */
static void fixed_keys(struct ota_enc_privkey *dev, uint8_t dev_pub[65], uint8_t eph[32],
                       uint8_t eph_pub[65])
{
    unhex(CDH_D, dev->d);
    /* dev_pub = d * G: NIST's QIUT for COUNT = 0 */
    dev_pub[0] = 0x04;
    unhex("ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b230", dev_pub + 1);
    unhex("28af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141", dev_pub + 33);
    unhex("38f65d6dce47676044d58ce5139582d568f64bb16098d179dbab07741dd5caf5", eph);
    eph_pub[0] = 0x04;
    unhex("119f2f047902782ab0c9e27a54aff5eb9b964829ca99c06b02ddba95b0a3f6d0", eph_pub + 1);
    unhex("8f52b726664cac366fc98ac7a012b2682cbd962e5acb544671d41b9445704d1d", eph_pub + 33);
}

static void test_wrap_unwrap(void)
{
    struct ota_enc_privkey dev, other;
    uint8_t dev_pub[65], eph[32], eph_pub[65];
    fixed_keys(&dev, dev_pub, eph, eph_pub);
    memset(&other, 0, sizeof other);
    other.d[31] = 7;
    for (size_t aes_len = 16; aes_len <= 32; aes_len += 16) {
        uint8_t key[32], tlv[2][OTA_ENC_EC256_MAX], got[32];
        for (size_t i = 0; i < aes_len; i++)
            key[i] = (uint8_t)(0xa0 + i);
        for (int b = 0; b < 2; b++)
            CHECK_EQ(ota_enc_wrap(backends[b], eph, eph_pub, dev_pub, key, aes_len, tlv[b]),
                     OTA_OK);
        /* deterministic for a fixed ephemeral key: both backends agree */
        CHECK(memcmp(tlv[0], tlv[1], OTA_ENC_EC256_LEN(aes_len)) == 0);
        CHECK(memcmp(tlv[0], eph_pub, 65) == 0);
        for (int b = 0; b < 2; b++) {
            struct ota_diag d;
            memset(got, 0, sizeof got);
            CHECK_EQ(ota_enc_unwrap(backends[b], &dev, tlv[1 - b], OTA_ENC_EC256_LEN(aes_len),
                                    got, aes_len, &d),
                     OTA_OK);
            CHECK(memcmp(got, key, aes_len) == 0);
            /* another device's key */
            CHECK_EQ(ota_enc_unwrap(backends[b], &other, tlv[b], OTA_ENC_EC256_LEN(aes_len),
                                    got, aes_len, &d),
                     OTA_ERR_IMAGE_ENC_KEY);
            /* every byte of the TLV matters */
            for (size_t i = 0; i < OTA_ENC_EC256_LEN(aes_len); i++) {
                uint8_t t[OTA_ENC_EC256_MAX];
                memcpy(t, tlv[b], sizeof t);
                t[i] ^= 0x01;
                CHECK_EQ(ota_enc_unwrap(backends[b], &dev, t, OTA_ENC_EC256_LEN(aes_len), got,
                                        aes_len, &d),
                         OTA_ERR_IMAGE_ENC_KEY);
            }
            CHECK_EQ(ota_enc_unwrap(backends[b], &dev, tlv[b], OTA_ENC_EC256_LEN(aes_len) - 1,
                                    got, aes_len, &d),
                     OTA_ERR_IMAGE_TLV_MALFORMED);
            CHECK_EQ(ota_enc_unwrap(backends[b], NULL, tlv[b], OTA_ENC_EC256_LEN(aes_len), got,
                                    aes_len, &d),
                     OTA_ERR_IMAGE_ENC_NO_KEY);
        }
    }
}

/* ota_enc_xor at every start offset and length equals one pass over the
 * body, leaves header and trailer alone, on both backends. */
static void test_xor_alignment(void)
{
    static uint8_t plain[300], once[300], piece[300];
    for (int b = 0; b < 2; b++) {
        struct ota_enc_key k;
        memset(&k, 0, sizeof k);
        k.c = backends[b];
        k.aes_len = 16;
        for (int i = 0; i < 16; i++)
            k.aes[i] = (uint8_t)(i * 7 + b);
        k.body_off = 37;
        k.body_len = 200;
        for (size_t i = 0; i < sizeof plain; i++)
            plain[i] = (uint8_t)(i * 13);
        memcpy(once, plain, sizeof once);
        CHECK_EQ(ota_enc_xor(&k, 0, once, sizeof once), OTA_OK);
        CHECK(memcmp(once, plain, 37) == 0);
        CHECK(memcmp(once + 237, plain + 237, sizeof plain - 237) == 0);
        CHECK(memcmp(once + 37, plain + 37, 200) != 0);
        {
            /* body byte 0 is keystream block 0, byte 0 (counter 0) */
            uint8_t zero[16] = {0}, ks[16];
            CHECK_EQ(backends[b]->aes_ctr(k.aes, 16, zero, zero, ks, 16), OTA_OK);
            CHECK_EQ(once[37], (uint8_t)(plain[37] ^ ks[0]));
        }
        for (uint32_t start = 0; start < 60; start++) {
            for (uint32_t len = 1; len < 40; len += 3) {
                memcpy(piece, plain, sizeof piece);
                CHECK_EQ(ota_enc_xor(&k, start, piece + start, len), OTA_OK);
                CHECK(memcmp(piece + start, once + start, len) == 0);
            }
        }
        /* inverse */
        CHECK_EQ(ota_enc_xor(&k, 0, once, sizeof once), OTA_OK);
        CHECK(memcmp(once, plain, sizeof plain) == 0);
    }
}

int main(void)
{
    backends[0] = ota_crypto_enc_mbedtls();
    backends[1] = ota_crypto_enc_openssl();
    RUN(test_aes_ctr_nist);
    RUN(test_hkdf_rfc5869);
    RUN(test_hmac_rfc4231);
    RUN(test_ecdh_cavs);
    RUN(test_wrap_unwrap);
    RUN(test_xor_alignment);
    return test_summary();
}
