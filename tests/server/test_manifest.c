// SPDX-License-Identifier: Apache-2.0
/*
 * test_manifest.c - unit tests of the manifest encoder, parser and verifier
 * (include/ota/manifest.h) with both crypto backends: round trips, every
 * policy refusal with its precise error, key rotation, freshness (offer
 * sequence, downgrade flag, format 1 compatibility), and tampering with
 * every byte / truncating at every length never yielding OTA_OK.
 */
#include <string.h>

#include "ota/crypto.h"
#include "ota/host.h"
#include "ota/manifest.h"
#include "ota/manifest_sign.h"
#include "../test.h"

static ota_key *g_key, *g_key2;
static struct ota_pubkey g_pub, g_pub2;

static void sample(struct ota_manifest *m, int delta)
{
    memset(m, 0, sizeof(*m));
    m->payload_kind = delta ? OTA_PAYLOAD_DELTA : OTA_PAYLOAD_FULL;
    m->campaign_id = 0x0102030405060708ull;
    m->issued_at = 1700000000;
    m->expires_at = 1700086400;
    memset(m->target_digest, 0xab, 32);
    m->target_size = 123456;
    m->target_version.major = 2;
    m->target_version.minor = 3;
    m->target_version.revision = 0x1234;
    m->target_version.build = 99;
    m->target_security_counter = 7;
    if (delta) {
        memset(m->payload_digest, 0xcd, 32);
        m->payload_size = 4321;
        memset(m->base_digest, 0xef, 32);
    } else {
        memcpy(m->payload_digest, m->target_digest, 32);
        m->payload_size = m->target_size;
    }
    m->offer_seq = 0x1122334455667788ull;
    strcpy(m->device_id, "dev-0001");
    m->device_id_len = 8;
    memcpy(m->hw_id, "hub-a", 5);
    m->hw_id_len = 5;
}

static void policy(struct ota_manifest_policy *p, const struct ota_crypto *c)
{
    memset(p, 0, sizeof(*p));
    p->crypto = c;
    p->server_keys = &g_pub;
    p->n_server_keys = 1;
    p->device_id = "dev-0001";
    p->hw_id = (const uint8_t *)"hub-a";
    p->hw_id_len = 5;
    p->now = 1700000100;
    p->min_security_counter = 7;
    p->max_target_size = 200000;
}

static size_t make(struct ota_manifest *m, uint8_t *buf, const ota_key *k)
{
    size_t len = 0;
    ota_err e = ota_manifest_sign(k, m, buf, OTA_MANIFEST_MAX_LEN, &len);
    if (e != OTA_OK)
        fprintf(stderr, "sign failed: %s\n", ota_errname(e));
    return len;
}

static void test_roundtrip(void)
{
    for (int delta = 0; delta < 2; delta++) {
        struct ota_manifest m, got;
        struct ota_diag d;
        uint8_t buf[OTA_MANIFEST_MAX_LEN];
        sample(&m, delta);
        size_t len = make(&m, buf, g_key);
        REQUIRE(len == OTA_MANIFEST_FIXED_LEN + 8 + 5 + 1 + m.sig_len);
        CHECK_EQ(ota_manifest_parse(buf, len, &got, &d), OTA_OK);
        CHECK_EQ(got.format, 2);
        CHECK(got.offer_seq == 0x1122334455667788ull && got.flags == 0);
        CHECK_EQ(got.payload_kind, delta);
        CHECK(got.campaign_id == 0x0102030405060708ull);
        CHECK(got.issued_at == 1700000000ull && got.expires_at == 1700086400ull);
        CHECK(memcmp(got.target_digest, m.target_digest, 32) == 0);
        CHECK_EQ(got.target_size, 123456);
        CHECK_EQ(got.target_version.major, 2);
        CHECK_EQ(got.target_version.minor, 3);
        CHECK_EQ(got.target_version.revision, 0x1234);
        CHECK_EQ(got.target_version.build, 99);
        CHECK_EQ(got.target_security_counter, 7);
        CHECK(memcmp(got.payload_digest, m.payload_digest, 32) == 0);
        CHECK_EQ(got.payload_size, delta ? 4321 : 123456);
        CHECK(memcmp(got.base_digest, m.base_digest, 32) == 0);
        CHECK(strcmp(got.device_id, "dev-0001") == 0);
        CHECK(got.hw_id_len == 5 && memcmp(got.hw_id, "hub-a", 5) == 0);
        CHECK(memcmp(got.key_id, m.key_id, 8) == 0);
        CHECK_EQ(got.signed_len, OTA_MANIFEST_FIXED_LEN + 13);
        /* Magic and layout as documented in docs/manifest.md. */
        CHECK(memcmp(buf, "OTAM", 4) == 0);
        CHECK_EQ(buf[72] | (buf[73] << 8) | (buf[74] << 16), 123456);
        CHECK_EQ(buf[4], 2);
        CHECK(buf[156] == 0x88 && buf[163] == 0x11); /* offer_seq, little-endian */
        CHECK(memcmp(buf + 168, "dev-0001", 8) == 0);
    }
}

static void test_verify_ok_both_backends(void)
{
    const struct ota_crypto *cs[2] = {ota_crypto_openssl(), ota_crypto_mbedtls()};
    struct ota_manifest m, got;
    uint8_t buf[OTA_MANIFEST_MAX_LEN];
    sample(&m, 1);
    size_t len = make(&m, buf, g_key);
    for (int i = 0; i < 2; i++) {
        struct ota_manifest_policy p;
        policy(&p, cs[i]);
        CHECK_EQ(ota_manifest_verify(buf, len, &p, &got, NULL), OTA_OK);
        CHECK_EQ(got.payload_size, 4321);
    }
}

static ota_err verify_with(const struct ota_manifest_policy *p, const uint8_t *buf,
                           size_t len, struct ota_diag *d)
{
    struct ota_manifest got;
    memset(d, 0, sizeof(*d));
    return ota_manifest_verify(buf, len, p, &got, d);
}

static void test_policy_refusals(void)
{
    struct ota_manifest m;
    struct ota_manifest_policy p;
    struct ota_diag d;
    uint8_t buf[OTA_MANIFEST_MAX_LEN];
    sample(&m, 0);
    size_t len = make(&m, buf, g_key);

    policy(&p, ota_crypto_openssl());
    p.device_id = "dev-0002";
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_MANIFEST_WRONG_DEVICE);
    CHECK(d.field && strcmp(d.field, "device_id") == 0);
    p.device_id = "dev-000"; /* prefix must not match */
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_MANIFEST_WRONG_DEVICE);

    policy(&p, ota_crypto_openssl());
    p.hw_id = (const uint8_t *)"hub-b";
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_IMAGE_HW_MISMATCH);
    p.hw_id_len = 4;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_IMAGE_HW_MISMATCH);
    p.hw_id = NULL; /* not checked */
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_OK);

    policy(&p, ota_crypto_openssl());
    p.now = m.expires_at;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_MANIFEST_EXPIRED);
    CHECK(d.has_values && d.expected == (uint32_t)m.expires_at && d.found == (uint32_t)p.now);
    p.now = m.expires_at - 1;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_OK);
    p.now = 0; /* no clock: expiry unchecked */
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_OK);

    policy(&p, ota_crypto_openssl());
    p.min_security_counter = 8;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_IMAGE_ROLLBACK);
    CHECK(d.has_values && d.expected == 8 && d.found == 7);

    policy(&p, ota_crypto_openssl());
    p.max_target_size = 123455;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_IMAGE_TOO_LARGE);
    CHECK(d.field && strcmp(d.field, "target_size") == 0);
    p.max_target_size = 123456;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_OK);
}

static void test_keys(void)
{
    struct ota_manifest m;
    struct ota_manifest_policy p;
    struct ota_diag d;
    uint8_t buf[OTA_MANIFEST_MAX_LEN];
    struct ota_pubkey both[2];
    sample(&m, 0);
    size_t len = make(&m, buf, g_key2);

    policy(&p, ota_crypto_openssl()); /* trusts only key 1 */
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_MANIFEST_SIG_INVALID);
    CHECK(d.field && strcmp(d.field, "key_id") == 0);

    both[0] = g_pub;
    both[1] = g_pub2; /* rotation: old and new key trusted */
    p.server_keys = both;
    p.n_server_keys = 2;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_OK);
    p.crypto = ota_crypto_mbedtls();
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_OK);

    /* Key id claims key 1 but key 2 signed: signature must fail. */
    uint8_t kid[8];
    ota_manifest_key_id(ota_crypto_openssl(), &g_pub, kid);
    memcpy(buf + 8, kid, 8);
    p.crypto = ota_crypto_openssl();
    p.server_keys = &g_pub;
    p.n_server_keys = 1;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_MANIFEST_SIG_INVALID);
    CHECK(d.field && strcmp(d.field, "signature") == 0);

    p.n_server_keys = 0; /* nothing trusted: nothing accepted */
    sample(&m, 0);
    len = make(&m, buf, g_key);
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_MANIFEST_SIG_INVALID);
}

static void test_every_byte_tampered(void)
{
    struct ota_manifest m;
    struct ota_manifest_policy p;
    struct ota_diag d;
    uint8_t buf[OTA_MANIFEST_MAX_LEN], t[OTA_MANIFEST_MAX_LEN];
    sample(&m, 1);
    size_t len = make(&m, buf, g_key);
    policy(&p, ota_crypto_mbedtls());
    p.now = 0;
    p.min_security_counter = 0;
    p.hw_id = NULL;
    p.max_target_size = 0;
    int accepted = 0;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(t, buf, len);
            t[i] ^= (uint8_t)(1u << bit);
            ota_err e = verify_with(&p, t, len, &d);
            if (e == OTA_OK) {
                accepted++;
                fprintf(stderr, "tampered byte %zu bit %d accepted\n", i, bit);
            }
        }
    }
    CHECK_EQ(accepted, 0);
}

static void test_truncated_and_extended(void)
{
    struct ota_manifest m, got;
    struct ota_diag d;
    uint8_t buf[OTA_MANIFEST_MAX_LEN + 4];
    sample(&m, 0);
    size_t len = make(&m, buf, g_key);
    for (size_t n = 0; n < len; n++)
        CHECK_EQ(ota_manifest_parse(buf, n, &got, &d), OTA_ERR_MANIFEST_MALFORMED);
    buf[len] = 0;
    CHECK_EQ(ota_manifest_parse(buf, len + 1, &got, &d), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(d.field && strcmp(d.field, "length") == 0);
    CHECK(d.has_values && d.expected == len && d.found == len + 1);
    CHECK_EQ(ota_manifest_parse(NULL, 10, &got, &d), OTA_ERR_INVALID_ARG);
}

static void test_structure_errors(void)
{
    struct ota_manifest m, got;
    struct ota_diag d;
    uint8_t buf[OTA_MANIFEST_MAX_LEN], t[OTA_MANIFEST_MAX_LEN];
    sample(&m, 0);
    size_t len = make(&m, buf, g_key);

    memcpy(t, buf, len);
    t[4] = 3;
    CHECK_EQ(ota_manifest_parse(t, len, &got, &d), OTA_ERR_MANIFEST_VERSION);
    CHECK(d.has_values && d.expected == 2 && d.found == 3 && d.offset == 4);
    memcpy(t, buf, len);
    t[4] = 1; /* a format 2 body read as format 1: the lengths disagree */
    CHECK_EQ(ota_manifest_parse(t, len, &got, &d), OTA_ERR_MANIFEST_MALFORMED);
    memcpy(t, buf, len);
    t[164] = 2; /* an unknown flag */
    CHECK_EQ(ota_manifest_parse(t, len, &got, &d), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(strcmp(d.field, "flags") == 0 && d.offset == 164 && d.found == 2);
    memcpy(t, buf, len);
    t[0] = 'X';
    CHECK_EQ(ota_manifest_parse(t, len, &got, &d), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(strcmp(d.field, "magic") == 0);
    memcpy(t, buf, len);
    t[5] = 2;
    CHECK_EQ(ota_manifest_parse(t, len, &got, &d), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(strcmp(d.field, "payload_kind") == 0);
    memcpy(t, buf, len);
    t[168] = '/'; /* device id alphabet */
    CHECK_EQ(ota_manifest_parse(t, len, &got, &d), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(strcmp(d.field, "device_id") == 0 && d.offset == 168);
    memcpy(t, buf, len);
    t[6] = 0;
    CHECK_EQ(ota_manifest_parse(t, len, &got, &d), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(strcmp(d.field, "device_id_len") == 0);
    memcpy(t, buf, len);
    t[7] = 33;
    CHECK_EQ(ota_manifest_parse(t, len, &got, &d), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(strcmp(d.field, "hw_id_len") == 0);

    /* Full payload whose payload digest differs from the target's. */
    sample(&m, 0);
    m.payload_digest[0] ^= 1;
    len = make(&m, buf, g_key);
    CHECK_EQ(ota_manifest_parse(buf, len, &got, &d), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(strcmp(d.field, "payload_digest") == 0 && d.offset == 88);
    /* Delta without a base. */
    sample(&m, 1);
    memset(m.base_digest, 0, 32);
    len = make(&m, buf, g_key);
    CHECK_EQ(ota_manifest_parse(buf, len, &got, &d), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(strcmp(d.field, "base_digest") == 0);
    /* Expiry not after issue. */
    sample(&m, 0);
    m.expires_at = m.issued_at;
    len = make(&m, buf, g_key);
    CHECK_EQ(ota_manifest_parse(buf, len, &got, &d), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(strcmp(d.field, "expires_at") == 0);
    /* A non-DER signature. */
    sample(&m, 0);
    len = make(&m, buf, g_key);
    buf[m.signed_len + 1] = 0x31;
    CHECK_EQ(ota_manifest_parse(buf, len, &got, &d), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(strcmp(d.field, "signature") == 0);
}

static void test_encoder_refuses(void)
{
    struct ota_manifest m;
    uint8_t buf[OTA_MANIFEST_MAX_LEN];
    size_t len;
    sample(&m, 0);
    m.device_id_len = 0;
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof(buf), &len), OTA_ERR_INVALID_ARG);
    sample(&m, 0);
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, 100, &len), OTA_ERR_TOO_LARGE);
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof(buf), &len), OTA_OK);
    CHECK_EQ(len, OTA_MANIFEST_FIXED_LEN + 13);
    /* format 1 has no room for a sequence or flags; unknown flags never */
    m.format = 1;
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof(buf), &len), OTA_ERR_INVALID_ARG);
    m.offer_seq = 0;
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof(buf), &len), OTA_OK);
    CHECK_EQ(len, OTA_MANIFEST_FIXED_LEN_1 + 13);
    m.format = 2;
    m.flags = 0x80;
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof(buf), &len), OTA_ERR_INVALID_ARG);
    m.format = 3;
    m.flags = 0;
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof(buf), &len), OTA_ERR_INVALID_ARG);
}

/* Format 1 (no offer_seq, no flags) still round-trips: 12 bytes shorter. */
static void test_format1_roundtrip(void)
{
    struct ota_manifest m, got;
    struct ota_diag d;
    uint8_t buf[OTA_MANIFEST_MAX_LEN];
    sample(&m, 1);
    m.format = 1;
    m.offer_seq = 0;
    size_t len = make(&m, buf, g_key);
    REQUIRE(len == OTA_MANIFEST_FIXED_LEN_1 + 8 + 5 + 1 + m.sig_len);
    CHECK_EQ(ota_manifest_parse(buf, len, &got, &d), OTA_OK);
    CHECK(got.format == 1 && got.offer_seq == 0 && got.flags == 0);
    CHECK(strcmp(got.device_id, "dev-0001") == 0 && got.signed_len == 156 + 13);
    CHECK(memcmp(buf + 156, "dev-0001", 8) == 0);
}

/* Offers are fresh and revocable: never at or below the newest accepted
 * sequence, never a step back without the signed downgrade flag. */
static void test_freshness(void)
{
    struct ota_manifest m;
    struct ota_manifest_policy p;
    struct ota_diag d;
    struct ota_image_version running = {2, 3, 0x1234, 99}; /* == the sample target */
    uint8_t buf[OTA_MANIFEST_MAX_LEN];
    size_t len;

    sample(&m, 0);
    m.offer_seq = 1000;
    len = make(&m, buf, g_key);
    policy(&p, ota_crypto_openssl());
    p.min_offer_seq = 1000; /* newest accepted was 999 */
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_OK);
    p.min_offer_seq = 1001; /* 1000 itself was accepted: a replay */
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_MANIFEST_STALE);
    CHECK(strcmp(d.field, "offer_seq") == 0 && d.expected == 1001 && d.found == 1000);
    p.min_offer_seq = 0;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_OK);

    /* Target equal to (or below) what runs: refused without the flag. */
    p.running_version = &running;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_MANIFEST_DOWNGRADE);
    CHECK(strcmp(d.field, "target_version") == 0);
    running.build = 98; /* now the target is newer */
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_OK);
    running.major = 3;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_MANIFEST_DOWNGRADE);
    m.flags = OTA_MANIFEST_FLAG_DOWNGRADE;
    len = make(&m, buf, g_key);
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_OK);

    /* Format 1 carries no sequence: any floor refuses it; and no flag. */
    sample(&m, 0);
    m.format = 1;
    m.offer_seq = 0;
    len = make(&m, buf, g_key);
    p.min_offer_seq = 1;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_MANIFEST_STALE);
    p.min_offer_seq = 0;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_ERR_MANIFEST_DOWNGRADE);
    p.running_version = NULL;
    CHECK_EQ(verify_with(&p, buf, len, &d), OTA_OK);
}

int main(void)
{
    if (ota_key_generate(&g_key) != OTA_OK || ota_key_generate(&g_key2) != OTA_OK ||
        ota_key_pubkey(g_key, &g_pub) != OTA_OK || ota_key_pubkey(g_key2, &g_pub2) != OTA_OK) {
        fprintf(stderr, "key generation failed\n");
        return 1;
    }
    RUN(test_roundtrip);
    RUN(test_verify_ok_both_backends);
    RUN(test_policy_refusals);
    RUN(test_keys);
    RUN(test_every_byte_tampered);
    RUN(test_truncated_and_extended);
    RUN(test_structure_errors);
    RUN(test_encoder_refuses);
    RUN(test_format1_roundtrip);
    RUN(test_freshness);
    ota_key_free(g_key);
    ota_key_free(g_key2);
    return test_summary();
}
