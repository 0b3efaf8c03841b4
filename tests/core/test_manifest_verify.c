// SPDX-License-Identifier: Apache-2.0
/*
 * tests/core/test_manifest_verify.c - the device-side offer checks of
 * src/core/manifest_verify.c driven directly: key id and signature, device
 * id (exact match, never a prefix either way, case-sensitive), hardware id,
 * expiry (void at and after expires_at, unchecked without a clock), the
 * anti-rollback floor and the slot size; and the signed no-offer statement. Every check has at least two
 * accepting and two refusing cases, with the exact error and diag field.
 *
 * Why it exists: these checks were tested through the server's codec test
 * and the update engine only, the device-id match by a single case.
 */
#include "../test.h"
#include "ota/host.h"
#include "ota/manifest.h"
#include "ota/manifest_sign.h"

#define NOW 1800000000ull

static ota_key *g_a, *g_b, *g_c;
static struct ota_pubkey g_pa, g_pb, g_pc;
static const struct ota_crypto *g_cr;

static void base_manifest(struct ota_manifest *m, const char *device)
{
    memset(m, 0, sizeof *m);
    m->payload_kind = OTA_PAYLOAD_FULL;
    m->campaign_id = 9;
    m->issued_at = NOW - 100;
    m->expires_at = NOW + 100;
    memset(m->target_digest, 0x5a, OTA_SHA256_LEN);
    memcpy(m->payload_digest, m->target_digest, OTA_SHA256_LEN);
    m->target_size = m->payload_size = 4096;
    m->target_version.major = 2;
    m->target_security_counter = 5;
    m->device_id_len = (uint8_t)strlen(device);
    memcpy(m->device_id, device, m->device_id_len);
    m->hw_id_len = 6;
    memcpy(m->hw_id, "board1", 6);
}

static void base_policy(struct ota_manifest_policy *p, const struct ota_pubkey *keys, size_t n,
                        const char *device)
{
    memset(p, 0, sizeof *p);
    p->crypto = g_cr;
    p->server_keys = keys;
    p->n_server_keys = n;
    p->device_id = device;
    p->hw_id = (const uint8_t *)"board1";
    p->hw_id_len = 6;
    p->now = NOW;
    p->min_security_counter = 5;
    p->max_target_size = 4096;
}

/* Sign m with key and verify it under p (NULL: parse only); the diag field
 * on failure. */
static ota_err run(const ota_key *key, struct ota_manifest *m, const struct ota_manifest_policy *p,
                   const char **field)
{
    uint8_t buf[OTA_MANIFEST_MAX_LEN];
    size_t len = 0;
    struct ota_manifest out;
    struct ota_diag d;
    ota_err e;
    memset(&d, 0, sizeof d);
    if (ota_manifest_sign(key, m, buf, sizeof buf, &len) != OTA_OK)
        abort();
    /* without a policy: the structure only */
    e = p ? ota_manifest_verify(buf, len, p, &out, &d) : ota_manifest_parse(buf, len, &out, &d);
    if (field)
        *field = d.field;
    return e;
}

static int field_is(const char *got, const char *want)
{
    if (got && strcmp(got, want) == 0)
        return 1;
    fprintf(stderr, "     diag field '%s', expected '%s'\n", got ? got : "(none)", want);
    return 0;
}

static void test_device_id_exact(void)
{
    static const struct {
        const char *manifest, *device;
        int ok;
    } cases[] = {
        {"dev-1", "dev-1", 1},
        {"hub-0042.site-7", "hub-0042.site-7", 1},
        {"dev-10", "dev-1", 0},  /* the device id is a prefix of the manifest's */
        {"dev-1", "dev-10", 0},  /* the manifest's is a prefix of the device id */
        {"dev-2", "dev-1", 0},   /* same length, one byte differs */
        {"DEV-1", "dev-1", 0},   /* case matters */
        {"dev_1", "dev-1", 0},   /* one character differs */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ota_manifest m;
        struct ota_manifest_policy p;
        const char *field = NULL;
        base_manifest(&m, cases[i].manifest);
        base_policy(&p, &g_pa, 1, cases[i].device);
        ota_err e = run(g_a, &m, &p, &field);
        if (cases[i].ok) {
            CHECK_EQ(e, OTA_OK);
        } else {
            CHECK_EQ(e, OTA_ERR_MANIFEST_WRONG_DEVICE);
            CHECK(field_is(field, "device_id"));
        }
    }
}

static void test_key_id_and_signature(void)
{
    struct ota_manifest m;
    struct ota_manifest_policy p;
    const char *field = NULL;
    const struct ota_pubkey ab[2] = {g_pa, g_pb}, ba[2] = {g_pb, g_pa}, cb[2] = {g_pc, g_pb};

    base_manifest(&m, "dev-1");
    /* accept: the key id selects the signing key wherever it is in the list */
    base_policy(&p, ab, 2, "dev-1");
    CHECK_EQ(run(g_a, &m, &p, NULL), OTA_OK);
    base_policy(&p, ba, 2, "dev-1");
    CHECK_EQ(run(g_a, &m, &p, NULL), OTA_OK);
    CHECK_EQ(run(g_b, &m, &p, NULL), OTA_OK);
    /* refuse: signed by a key the device does not trust (no key id matches) */
    base_policy(&p, cb, 2, "dev-1");
    CHECK_EQ(run(g_a, &m, &p, &field), OTA_ERR_MANIFEST_SIG_INVALID);
    CHECK(field_is(field, "key_id"));
    base_policy(&p, &g_pb, 1, "dev-1");
    CHECK_EQ(run(g_c, &m, &p, &field), OTA_ERR_MANIFEST_SIG_INVALID);
    CHECK(field_is(field, "key_id"));
    /* refuse: key id names a trusted key but the signature does not verify */
    {
        uint8_t buf[OTA_MANIFEST_MAX_LEN];
        size_t len = 0;
        struct ota_manifest out;
        struct ota_diag d;
        base_policy(&p, &g_pa, 1, "dev-1");
        REQUIRE(ota_manifest_sign(g_a, &m, buf, sizeof buf, &len) == OTA_OK);
        buf[16] ^= 0x01; /* a signed byte (campaign id) */
        memset(&d, 0, sizeof d);
        CHECK_EQ(ota_manifest_verify(buf, len, &p, &out, &d), OTA_ERR_MANIFEST_SIG_INVALID);
        CHECK(field_is(d.field, "signature"));
        buf[16] ^= 0x01;
        buf[len - 3] ^= 0x01; /* a signature byte */
        CHECK(ota_manifest_verify(buf, len, &p, &out, &d) != OTA_OK);
    }
}

static void test_hw_id(void)
{
    struct ota_manifest m;
    struct ota_manifest_policy p;
    const char *field = NULL;
    base_manifest(&m, "dev-1");
    base_policy(&p, &g_pa, 1, "dev-1");
    CHECK_EQ(run(g_a, &m, &p, NULL), OTA_OK); /* accept: equal */
    p.hw_id = NULL;
    p.hw_id_len = 0;
    CHECK_EQ(run(g_a, &m, &p, NULL), OTA_OK); /* accept: the device does not check */
    base_policy(&p, &g_pa, 1, "dev-1");
    p.hw_id_len = 5; /* "board": a prefix of the manifest's */
    CHECK_EQ(run(g_a, &m, &p, &field), OTA_ERR_IMAGE_HW_MISMATCH);
    CHECK(field_is(field, "hw_id"));
    p.hw_id = (const uint8_t *)"board2";
    p.hw_id_len = 6;
    CHECK_EQ(run(g_a, &m, &p, &field), OTA_ERR_IMAGE_HW_MISMATCH);
}

static void test_expiry(void)
{
    struct ota_manifest m;
    struct ota_manifest_policy p;
    const char *field = NULL;
    base_manifest(&m, "dev-1");
    base_policy(&p, &g_pa, 1, "dev-1");
    p.now = m.expires_at - 1;
    CHECK_EQ(run(g_a, &m, &p, NULL), OTA_OK); /* accept: last valid second */
    p.now = 0;
    CHECK_EQ(run(g_a, &m, &p, NULL), OTA_OK); /* accept: no clock, not checked */
    p.now = m.expires_at;
    CHECK_EQ(run(g_a, &m, &p, &field), OTA_ERR_MANIFEST_EXPIRED); /* void AT expires_at */
    CHECK(field_is(field, "expires_at"));
    p.now = m.expires_at + 86400;
    CHECK_EQ(run(g_a, &m, &p, &field), OTA_ERR_MANIFEST_EXPIRED);
}

static void test_counter_floor_and_size(void)
{
    struct ota_manifest m;
    struct ota_manifest_policy p;
    const char *field = NULL;
    base_manifest(&m, "dev-1");
    base_policy(&p, &g_pa, 1, "dev-1");
    CHECK_EQ(run(g_a, &m, &p, NULL), OTA_OK); /* counter == floor, size == slot */
    p.min_security_counter = 4;
    p.max_target_size = 0; /* no limit */
    CHECK_EQ(run(g_a, &m, &p, NULL), OTA_OK);
    p.min_security_counter = 6;
    CHECK_EQ(run(g_a, &m, &p, &field), OTA_ERR_IMAGE_ROLLBACK);
    base_policy(&p, &g_pa, 1, "dev-1");
    m.target_security_counter = 0;
    CHECK_EQ(run(g_a, &m, &p, &field), OTA_ERR_IMAGE_ROLLBACK);
    base_manifest(&m, "dev-1");
    p.max_target_size = 4095;
    CHECK_EQ(run(g_a, &m, &p, &field), OTA_ERR_IMAGE_TOO_LARGE);
    p.max_target_size = 1;
    CHECK_EQ(run(g_a, &m, &p, &field), OTA_ERR_IMAGE_TOO_LARGE);
}

/* The signed no-offer statement (docs/manifest.md): accepted under a
 * trusted key, every byte of it covered (the signature or the structure
 * rules refuse a flip), a manifest is not a statement nor the reverse, and
 * its fields survive the round trip. */
static void test_no_offer(void)
{
    struct ota_manifest_policy p;
    struct ota_no_offer no, out;
    struct ota_diag d;
    uint8_t buf[OTA_NO_OFFER_MAX_LEN + 1], mbuf[OTA_MANIFEST_MAX_LEN];
    struct ota_manifest m;
    size_t len = 0, mlen = 0;
    const struct ota_pubkey bc[2] = {g_pb, g_pc}, ca[2] = {g_pc, g_pa};

    memset(&no, 0, sizeof no);
    no.issued_at = NOW;
    no.offer_seq = 0x0123456789abcdefull;
    REQUIRE(ota_no_offer_sign(g_a, &no, buf, sizeof buf, &len) == OTA_OK);
    CHECK(len == OTA_NO_OFFER_SIGNED_LEN + 1 + no.sig_len);
    CHECK(memcmp(buf, "OTAN\x01\0\0\0", 8) == 0);
    base_policy(&p, ca, 2, "dev-1");
    memset(&d, 0, sizeof d);
    CHECK_EQ(ota_no_offer_verify(buf, len, &p, &out, &d), OTA_OK);
    CHECK(out.offer_seq == no.offer_seq && out.issued_at == NOW);
    /* an untrusted key */
    base_policy(&p, bc, 2, "dev-1");
    CHECK_EQ(ota_no_offer_verify(buf, len, &p, &out, &d), OTA_ERR_MANIFEST_SIG_INVALID);
    CHECK(field_is(d.field, "key_id"));
    /* every byte flipped is refused */
    base_policy(&p, &g_pa, 1, "dev-1");
    for (size_t i = 0; i < len; i++) {
        ota_err e;
        buf[i] ^= 0x20;
        e = ota_no_offer_verify(buf, len, &p, &out, NULL);
        buf[i] ^= 0x20;
        if (e == OTA_OK)
            fprintf(stderr, "     byte %zu flipped: accepted\n", i);
        CHECK(e != OTA_OK);
    }
    /* truncated, extended, reserved bytes, format */
    CHECK_EQ(ota_no_offer_verify(buf, len - 1, &p, &out, NULL), OTA_ERR_MANIFEST_MALFORMED);
    CHECK_EQ(ota_no_offer_verify(buf, OTA_NO_OFFER_SIGNED_LEN - 1, &p, &out, NULL),
             OTA_ERR_MANIFEST_MALFORMED);
    buf[len] = 0;
    CHECK_EQ(ota_no_offer_verify(buf, len + 1, &p, &out, NULL), OTA_ERR_MANIFEST_MALFORMED);
    buf[7] = 1;
    CHECK_EQ(ota_no_offer_parse(buf, len, &out, &d), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(field_is(d.field, "reserved"));
    buf[7] = 0;
    buf[4] = 2;
    CHECK_EQ(ota_no_offer_parse(buf, len, &out, NULL), OTA_ERR_MANIFEST_VERSION);
    buf[4] = 1;
    CHECK_EQ(ota_no_offer_verify(buf, len, &p, &out, NULL), OTA_OK);
    /* a manifest is not a statement, a statement is not a manifest */
    base_manifest(&m, "dev-1");
    REQUIRE(ota_manifest_sign(g_a, &m, mbuf, sizeof mbuf, &mlen) == OTA_OK);
    CHECK_EQ(ota_no_offer_parse(mbuf, mlen, &out, &d), OTA_ERR_MANIFEST_MALFORMED);
    CHECK_EQ(ota_manifest_parse(buf, len, &m, &d), OTA_ERR_MANIFEST_MALFORMED);
}

/* Sign m and parse it back (parse checks structure, not the signature). */
static ota_err parse_signed(struct ota_manifest *m, const char **field)
{
    return run(g_a, m, NULL, field);
}

/* The codec's own refusals: sizes and digests that contradict each other,
 * lengths, arguments; the encoder refuses what it cannot represent. */
static void test_codec_refusals(void)
{
    struct ota_manifest m, out;
    struct ota_manifest_policy p;
    uint8_t buf[OTA_MANIFEST_MAX_LEN + 8], kid[OTA_MANIFEST_KEY_ID_LEN], dg[OTA_SHA256_LEN];
    uint8_t sig[OTA_P256_SIG_DER_MAX] = {0x30};
    size_t len = 0;
    const char *field = NULL;
    struct ota_diag d;

    base_manifest(&m, "dev-1");
    CHECK_EQ(parse_signed(&m, NULL), OTA_OK);
    m.target_size = 0;
    CHECK_EQ(parse_signed(&m, &field), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(field_is(field, "target_size"));
    base_manifest(&m, "dev-1");
    m.payload_size = 0;
    CHECK_EQ(parse_signed(&m, &field), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(field_is(field, "payload_size"));
    /* a full payload is the target: its size must be the target's ... */
    base_manifest(&m, "dev-1");
    m.payload_size = 4095;
    CHECK_EQ(parse_signed(&m, &field), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(field_is(field, "payload_size"));
    /* ... and it has no base */
    base_manifest(&m, "dev-1");
    m.base_digest[31] = 1;
    CHECK_EQ(parse_signed(&m, &field), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(field_is(field, "base_digest"));
    /* a delta from an image to itself is not an update */
    base_manifest(&m, "dev-1");
    m.payload_kind = OTA_PAYLOAD_DELTA;
    m.payload_digest[0] ^= 1;
    m.payload_size = 100;
    memcpy(m.base_digest, m.target_digest, OTA_SHA256_LEN);
    CHECK_EQ(parse_signed(&m, &field), OTA_ERR_MANIFEST_MALFORMED);
    CHECK(field_is(field, "base_digest"));
    m.base_digest[0] ^= 1;
    CHECK_EQ(parse_signed(&m, NULL), OTA_OK);
    /* lengths and arguments */
    base_manifest(&m, "dev-1");
    REQUIRE(ota_manifest_sign(g_a, &m, buf, OTA_MANIFEST_MAX_LEN, &len) == OTA_OK);
    CHECK_EQ(ota_manifest_parse(buf, OTA_MANIFEST_MAX_LEN + 1, &out, &d),
             OTA_ERR_MANIFEST_MALFORMED);
    CHECK_EQ(d.expected, OTA_MANIFEST_MAX_LEN);
    CHECK_EQ(ota_manifest_parse(NULL, len, &out, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_parse(buf, len, NULL, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_digest(NULL, buf, len, dg), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_digest(g_cr, NULL, len, dg), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_digest(g_cr, buf, len, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_key_id(NULL, &g_pa, kid), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_key_id(g_cr, NULL, kid), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_key_id(g_cr, &g_pa, NULL), OTA_ERR_INVALID_ARG);
    base_policy(&p, &g_pa, 1, "dev-1");
    CHECK_EQ(ota_manifest_verify(buf, len, &p, &out, &d), OTA_OK);
    CHECK_EQ(ota_manifest_verify(buf, len, NULL, &out, &d), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_verify(buf, len, &p, NULL, &d), OTA_ERR_INVALID_ARG);
    p.crypto = NULL;
    CHECK_EQ(ota_manifest_verify(buf, len, &p, &out, &d), OTA_ERR_INVALID_ARG);
    base_policy(&p, &g_pa, 1, NULL);
    CHECK_EQ(ota_manifest_verify(buf, len, &p, &out, &d), OTA_ERR_INVALID_ARG);
    base_policy(&p, NULL, 1, "dev-1"); /* a key count without keys */
    CHECK_EQ(ota_manifest_verify(buf, len, &p, &out, &d), OTA_ERR_INVALID_ARG);
    CHECK(field_is(d.field, "policy"));
    {
        /* a trusted "key" that is not an uncompressed P-256 point */
        struct ota_pubkey bad = g_pa;
        bad.spki[26] = 0x02;
        base_policy(&p, &bad, 1, "dev-1");
        CHECK_EQ(ota_manifest_verify(buf, len, &p, &out, &d), OTA_ERR_MANIFEST_SIG_INVALID);
    }
    /* a delta payload larger than the slot, its target not */
    base_manifest(&m, "dev-1");
    m.payload_kind = OTA_PAYLOAD_DELTA;
    m.payload_digest[0] ^= 1;
    m.base_digest[0] = 1;
    m.payload_size = 4097;
    base_policy(&p, &g_pa, 1, "dev-1");
    CHECK_EQ(run(g_a, &m, &p, &field), OTA_ERR_IMAGE_TOO_LARGE);
    CHECK(field_is(field, "payload_size"));
    m.payload_size = 4096;
    CHECK_EQ(run(g_a, &m, &p, NULL), OTA_OK);

    /* the encoder */
    base_manifest(&m, "dev-1");
    CHECK_EQ(ota_manifest_encode_signed(NULL, buf, sizeof buf, &len), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_encode_signed(&m, NULL, sizeof buf, &len), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof buf, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, 10, &len), OTA_ERR_TOO_LARGE);
    m.format = 9;
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof buf, &len), OTA_ERR_INVALID_ARG);
    m.format = OTA_MANIFEST_FORMAT_1;
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof buf, &len), OTA_OK);
    m.offer_seq = 1; /* format 1 has no room for it */
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof buf, &len), OTA_ERR_INVALID_ARG);
    m.offer_seq = 0, m.flags = 1;
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof buf, &len), OTA_ERR_INVALID_ARG);
    m.format = 0, m.flags = 0x2; /* unknown flag */
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof buf, &len), OTA_ERR_INVALID_ARG);
    m.flags = 0, m.device_id_len = 0;
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof buf, &len), OTA_ERR_INVALID_ARG);
    m.device_id_len = OTA_MANIFEST_DEVICE_ID_MAX + 1;
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof buf, &len), OTA_ERR_INVALID_ARG);
    m.device_id_len = 5, m.hw_id_len = OTA_HW_ID_MAX + 1;
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof buf, &len), OTA_ERR_INVALID_ARG);
    m.hw_id_len = 6, m.payload_kind = 7;
    CHECK_EQ(ota_manifest_encode_signed(&m, buf, sizeof buf, &len), OTA_ERR_INVALID_ARG);
    m.payload_kind = OTA_PAYLOAD_FULL;
    REQUIRE(ota_manifest_encode_signed(&m, buf, sizeof buf, &len) == OTA_OK);
    /* appending the signature */
    size_t total = 0;
    CHECK_EQ(ota_manifest_append_sig(NULL, sizeof buf, len, sig, 70, &total), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_append_sig(buf, sizeof buf, len, NULL, 70, &total), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_append_sig(buf, sizeof buf, len, sig, 70, NULL), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_append_sig(buf, sizeof buf, len, sig, 0, &total), OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_append_sig(buf, sizeof buf, len, sig, OTA_P256_SIG_DER_MAX + 1, &total),
             OTA_ERR_INVALID_ARG);
    CHECK_EQ(ota_manifest_append_sig(buf, len + 70, len, sig, 70, &total), OTA_ERR_TOO_LARGE);
    CHECK_EQ(ota_manifest_append_sig(buf, len + 71, len, sig, 70, &total), OTA_OK);
    CHECK_EQ(total, len + 71);
    CHECK_EQ(buf[len], 70);

    /* the no-offer statement's codec: arguments and lengths */
    {
        struct ota_no_offer no, o2;
        size_t nl = 0;
        memset(&no, 0, sizeof no);
        no.issued_at = NOW;
        CHECK_EQ(ota_no_offer_encode_signed(NULL, buf, sizeof buf, &nl), OTA_ERR_INVALID_ARG);
        CHECK_EQ(ota_no_offer_encode_signed(&no, NULL, sizeof buf, &nl), OTA_ERR_INVALID_ARG);
        CHECK_EQ(ota_no_offer_encode_signed(&no, buf, sizeof buf, NULL), OTA_ERR_INVALID_ARG);
        CHECK_EQ(ota_no_offer_encode_signed(&no, buf, OTA_NO_OFFER_SIGNED_LEN - 1, &nl),
                 OTA_ERR_TOO_LARGE);
        CHECK_EQ(ota_no_offer_encode_signed(&no, buf, OTA_NO_OFFER_SIGNED_LEN, &nl), OTA_OK);
        CHECK_EQ(nl, OTA_NO_OFFER_SIGNED_LEN);
        CHECK_EQ(ota_no_offer_parse(NULL, nl, &o2, &d), OTA_ERR_INVALID_ARG);
        CHECK_EQ(ota_no_offer_parse(buf, nl, NULL, &d), OTA_ERR_INVALID_ARG);
        /* the signed part alone: no signature length byte */
        CHECK_EQ(ota_no_offer_parse(buf, nl, &o2, &d), OTA_ERR_MANIFEST_MALFORMED);
        CHECK_EQ(d.expected, OTA_NO_OFFER_SIGNED_LEN + 1);
        CHECK_EQ(ota_no_offer_parse(buf, OTA_NO_OFFER_MAX_LEN + 1, &o2, &d),
                 OTA_ERR_MANIFEST_MALFORMED);
        CHECK_EQ(d.expected, OTA_NO_OFFER_MAX_LEN);
        base_policy(&p, &g_pa, 1, "dev-1");
        CHECK_EQ(ota_no_offer_verify(buf, nl, NULL, &o2, &d), OTA_ERR_INVALID_ARG);
        CHECK_EQ(ota_no_offer_verify(buf, nl, &p, NULL, &d), OTA_ERR_INVALID_ARG);
        p.crypto = NULL;
        CHECK_EQ(ota_no_offer_verify(buf, nl, &p, &o2, &d), OTA_ERR_INVALID_ARG);
        base_policy(&p, NULL, 1, "dev-1");
        CHECK_EQ(ota_no_offer_verify(buf, nl, &p, &o2, &d), OTA_ERR_INVALID_ARG);
    }
}

int main(void)
{
    if (ota_key_generate(&g_a) || ota_key_generate(&g_b) || ota_key_generate(&g_c))
        return 2;
    ota_key_pubkey(g_a, &g_pa);
    ota_key_pubkey(g_b, &g_pb);
    ota_key_pubkey(g_c, &g_pc);
    for (int b = 0; b < 2; b++) {
        g_cr = b ? ota_crypto_mbedtls() : ota_crypto_openssl();
        printf("     backend %s\n", g_cr->name);
        RUN(test_device_id_exact);
        RUN(test_key_id_and_signature);
        RUN(test_hw_id);
        RUN(test_expiry);
        RUN(test_counter_floor_and_size);
        RUN(test_no_offer);
        RUN(test_codec_refusals);
    }
    ota_key_free(g_a);
    ota_key_free(g_b);
    ota_key_free(g_c);
    return test_summary();
}
