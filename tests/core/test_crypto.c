// SPDX-License-Identifier: Apache-2.0
/*
 * test_crypto.c - known-answer tests of the crypto port, run against BOTH
 * backends: NIST SHA-256 vectors (one-shot and streamed in odd chunks), a
 * Wycheproof ECDSA P-256/SHA-256 subset (tests/core/data), invalid public
 * keys, and the strict DER check both backends rely on.
 */
#include "../test.h"

#include "ota/crypto.h"
#include "ota/error.h"

static const struct ota_crypto *backends[2];

static int unhex(const char *s, uint8_t *out, size_t max)
{
    size_t n = strlen(s);
    if (strcmp(s, "-") == 0)
        return 0;
    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return (int)(n / 2);
}

static void hex32(const uint8_t *d, char *out)
{
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha256_nist(void)
{
    static const struct {
        const char *msg;
        const char *digest;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    for (int b = 0; b < 2; b++) {
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
            uint8_t d[32];
            char hex[65];
            CHECK_EQ(ota_sha256(backends[b], v[i].msg, strlen(v[i].msg), d), OTA_OK);
            hex32(d, hex);
            if (strcmp(hex, v[i].digest) != 0) {
                fprintf(stderr, "%s: vector %zu: got %s\n", backends[b]->name, i, hex);
                CHECK(0);
            }
        }
    }
}

/* One million 'a', streamed in chunk sizes 1..997 to exercise buffering. */
static void test_sha256_million_a_streamed(void)
{
    static uint8_t chunk[997];
    memset(chunk, 'a', sizeof(chunk));
    for (int b = 0; b < 2; b++) {
        ota_sha256_ctx ctx;
        uint8_t d[32];
        char hex[65];
        size_t done = 0, step = 1;
        CHECK_EQ(backends[b]->sha256_init(&ctx), OTA_OK);
        while (done < 1000000) {
            size_t n = step;
            if (n > 1000000 - done)
                n = 1000000 - done;
            CHECK_EQ(backends[b]->sha256_update(&ctx, chunk, n), OTA_OK);
            done += n;
            step = step % sizeof(chunk) + 7;
            if (step > sizeof(chunk))
                step = 1;
        }
        CHECK_EQ(backends[b]->sha256_final(&ctx, d), OTA_OK);
        hex32(d, hex);
        CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
    }
}

static void test_wycheproof_subset(void)
{
    FILE *f = fopen(OTA_TEST_DATA "/wycheproof_p256_sha256.txt", "r");
    char line[1024];
    int cases = 0, valid = 0;
    REQUIRE(f != NULL);
    while (fgets(line, sizeof(line), f)) {
        char expect[16], pub_hex[200], msg_hex[200], sig_hex[400];
        int tc;
        uint8_t pub[65], msg[100], sig[200], digest[32];
        int msg_len, sig_len;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        REQUIRE(sscanf(line, "%d %15s %199s %199s %399s", &tc, expect, pub_hex, msg_hex,
                       sig_hex) == 5);
        REQUIRE(unhex(pub_hex, pub, sizeof(pub)) == 65);
        msg_len = unhex(msg_hex, msg, sizeof(msg));
        sig_len = unhex(sig_hex, sig, sizeof(sig));
        REQUIRE(msg_len >= 0 && sig_len >= 0);
        int want_ok = strcmp(expect, "valid") == 0;
        for (int b = 0; b < 2; b++) {
            ota_err e;
            REQUIRE(ota_sha256(backends[b], msg, (size_t)msg_len, digest) == OTA_OK);
            /* The core's contract: only strict DER reaches a backend. */
            e = ota_der_sig_check(sig, (size_t)sig_len);
            if (e == OTA_OK)
                e = backends[b]->p256_verify(pub, digest, sig, (size_t)sig_len);
            if ((e == OTA_OK) != want_ok) {
                fprintf(stderr, "wycheproof tcId %d (%s): %s says %s\n", tc, expect,
                        backends[b]->name, ota_errname(e));
                CHECK(0);
            }
            if (!want_ok)
                CHECK(e == OTA_ERR_IMAGE_SIG_INVALID || e == OTA_ERR_IMAGE_SIG_MALFORMED);
        }
        cases++;
        valid += want_ok;
    }
    fclose(f);
    printf("     wycheproof: %d cases (%d valid) x 2 backends\n", cases, valid);
    CHECK(cases >= 39);
}

/* A point not on the curve is refused, not accepted or crashed on. */
static void test_invalid_pubkey(void)
{
    uint8_t pub[65], digest[32] = {0};
    static const uint8_t sig[] = {0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x01};
    memset(pub, 0x11, sizeof(pub));
    pub[0] = 0x04;
    for (int b = 0; b < 2; b++)
        CHECK_EQ(backends[b]->p256_verify(pub, digest, sig, sizeof(sig)),
                 OTA_ERR_IMAGE_SIG_INVALID);
}

static void test_der_check(void)
{
    /* 33-byte integer without leading zero, negative r, zero-length r. */
    static const uint8_t neg[] = {0x30, 0x06, 0x02, 0x01, 0x85, 0x02, 0x01, 0x01};
    static const uint8_t empty_r[] = {0x30, 0x07, 0x02, 0x00, 0x02, 0x03, 0x01, 0x02, 0x03};
    static const uint8_t ok[] = {0x30, 0x07, 0x02, 0x02, 0x00, 0x85, 0x02, 0x01, 0x01};
    static const uint8_t pad[] = {0x30, 0x07, 0x02, 0x02, 0x00, 0x05, 0x02, 0x01, 0x01};
    CHECK_EQ(ota_der_sig_check(neg, sizeof(neg)), OTA_ERR_IMAGE_SIG_MALFORMED);
    CHECK_EQ(ota_der_sig_check(empty_r, sizeof(empty_r)), OTA_ERR_IMAGE_SIG_MALFORMED);
    CHECK_EQ(ota_der_sig_check(ok, sizeof(ok)), OTA_OK);
    CHECK_EQ(ota_der_sig_check(pad, sizeof(pad)), OTA_ERR_IMAGE_SIG_MALFORMED);
    CHECK_EQ(ota_der_sig_check(NULL, 0), OTA_ERR_IMAGE_SIG_MALFORMED);
}

static void test_ct_memcmp(void)
{
    uint8_t a[40], b[40];
    memset(a, 7, sizeof(a));
    memcpy(b, a, sizeof(b));
    CHECK_EQ(ota_ct_memcmp(a, b, sizeof(a)), 0);
    b[39] ^= 1;
    CHECK(ota_ct_memcmp(a, b, sizeof(a)) != 0);
}

/* Every code has its own name and text; unknown codes say so. */
static void test_error_strings(void)
{
    const char *names[256] = {0};
    int known = 0;
    for (int c = 0; c < 256; c++) {
        const char *n = ota_errname((ota_err)c);
        if (strcmp(n, "OTA_ERR_UNKNOWN") == 0) {
            CHECK(strcmp(ota_strerror((ota_err)c), "unknown error") == 0);
            continue;
        }
        known++;
        CHECK(strcmp(ota_strerror((ota_err)c), "unknown error") != 0);
        for (int p = 0; p < c; p++)
            if (names[p])
                CHECK(strcmp(names[p], n) != 0);
        names[c] = n;
    }
    CHECK(known > 50);
}

int main(void)
{
    backends[0] = ota_crypto_mbedtls();
    backends[1] = ota_crypto_openssl();
    RUN(test_sha256_nist);
    RUN(test_sha256_million_a_streamed);
    RUN(test_wycheproof_subset);
    RUN(test_invalid_pubkey);
    RUN(test_der_check);
    RUN(test_ct_memcmp);
    RUN(test_error_strings);
    return test_summary();
}
