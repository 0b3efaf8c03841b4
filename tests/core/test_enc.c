// SPDX-License-Identifier: Apache-2.0
/*
 * test_enc.c - encrypted images through the device side (ota/image_enc.h,
 * the installer and the update engine) on the project's NOR flash
 * simulator, with both crypto backends:
 *   - an encrypted full image (AES-128 and AES-256) installs: the slot holds
 *     exactly the plaintext image, the bootloader runs it;
 *   - a tampered key TLV, another device's key, no device key, a truncated
 *     image and a short download are refused with their exact ota_err,
 *     before anything is marked pending (the key ones before any write);
 *   - without random access to the payload the engine never marks an
 *     encrypted image pending (ciphertext in the slot is refused);
 *   - a delta between two encrypted releases, computed on their plaintexts
 *     and sealed for the device, installs; sealed for another device or
 *     tampered, it is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/boot.h"
#include "ota/delta.h"
#include "ota/host.h"
#include "ota/image_build.h"
#include "ota/image_enc.h"
#include "ota/manifest_sign.h"
#include "ota/sim.h"
#include "ota/update.h"
#include "../test.h"
#include "fixture.h"

#define HW "hub-enc"
#define NOW 1800000000ull

static ota_key *g_fw, *g_srv, *g_dev, *g_other;
static struct ota_pubkey g_fw_pub, g_srv_pub;
static struct ota_enc_privkey g_dev_d, g_other_d;
static const struct ota_crypto *g_c;
static const struct ota_crypto_enc *g_ce;

/* v<major>, encrypted for g_dev when aes_bits != 0. */
static uint8_t *make_image(int major, uint32_t len, int edits, unsigned aes_bits, size_t *out_len)
{
    uint8_t *payload = cfx_payload(len, edits);
    uint8_t *img = cfx_image(g_fw, major, HW, payload, len, aes_bits ? g_dev : NULL, aes_bits,
                             out_len);
    free(payload);
    return img;
}

/* A copy of img with its body decrypted (what the slot must hold). */
static uint8_t *plain_of(const uint8_t *img, size_t len)
{
    uint8_t *p = malloc(len);
    memcpy(p, img, len);
    if (ota_image_decrypt(p, len, g_dev, NULL) != OTA_OK)
        abort();
    return p;
}

/* Factory: provisioned, `v1` (clear, or encrypted and installed through
 * the decrypting installer) confirmed in slot A. */
static void factory(struct fix_dev *d, const uint8_t *v1, size_t v1_len)
{
    struct ota_image_info info;
    struct ota_mem_reader m;
    struct ota_reader r;
    struct ota_enc_key k;
    cfx_provision(d, g_c, &g_fw_pub, HW);
    ota_reader_from_mem(&r, &m, v1, (uint32_t)v1_len);
    if (ota_image_parse(&r, &info, NULL))
        abort();
    if (info.enc_aes_len && ota_enc_image_key(&r, &info, g_ce, &g_dev_d, &k, NULL))
        abort();
    cfx_factory_install(d, v1, v1_len, info.enc_aes_len ? &k : NULL);
}

static size_t sign_manifest(uint8_t *out, const uint8_t *target, size_t target_len,
                            const uint8_t *payload, size_t payload_len, const uint8_t *base,
                            size_t base_len)
{
    return cfx_offer(g_srv, g_c, "dev-enc", HW, NOW, target, target_len, payload, payload_len,
                     base, base_len, out);
}

/*
 * One install attempt through the engine: begin, write `deliver` payload
 * bytes in odd chunks, finish. Returns the first error (0: pending).
 * *at_begin says whether the refusal came from begin.
 */
static ota_err install(struct fix_dev *d, const uint8_t *man, size_t man_len,
                       const uint8_t *payload, size_t deliver, size_t payload_len,
                       const struct ota_enc_privkey *key, int random_access, int *at_begin)
{
    struct ota_update u;
    struct ota_update_cfg uc;
    struct ota_diag diag;
    struct cfx_mem_payload mp = {payload, payload_len};
    ota_err e;
    memset(&uc, 0, sizeof uc);
    uc.dev = &d->dev;
    uc.server_keys = &g_srv_pub;
    uc.n_server_keys = 1;
    uc.device_id = "dev-enc";
    uc.clock.now = NULL;
    uc.running_slot = 0;
    uc.enc_key = key;
    uc.enc = g_ce;
    if (random_access) {
        uc.payload_at.read = cfx_payload_at;
        uc.payload_at.ctx = &mp;
    }
    *at_begin = 1;
    e = ota_update_begin(&u, &uc, man, man_len, NULL, &diag);
    if (e)
        return e;
    *at_begin = 0;
    for (size_t off = 0; !e && off < deliver;) {
        size_t n = 1 + (off * 7919u) % 1500u;
        if (n > deliver - off)
            n = deliver - off;
        e = ota_update_write(&u, payload + off, n);
        off += n;
    }
    if (!e)
        e = ota_update_finish(&u, NULL);
    return e;
}

static int pending_slot(struct fix_dev *d)
{
    struct ota_boot_state st;
    if (ota_boot_state_read(&d->sim.flash, &d->cfg.layout, &st, NULL))
        abort();
    return st.pending == OTA_SLOT_NONE ? -1 : st.pending;
}

static int slot_equals(struct fix_dev *d, int slot, const uint8_t *want, size_t len)
{
    uint8_t *got = malloc(len);
    int eq;
    if (ota_flash_read(&d->sim.flash, d->cfg.layout.slot_off[slot], got, len))
        abort();
    eq = memcmp(got, want, len) == 0;
    free(got);
    return eq;
}

static uint64_t g_v1_ops_marker;

static void test_full_install(void)
{
    size_t v1_len, v2_len, man_len;
    uint8_t *v1 = make_image(1, 30000, 0, 0, &v1_len), man[OTA_MANIFEST_MAX_LEN];
    for (unsigned bits = 128; bits <= 256; bits += 128) {
        struct fix_dev d;
        struct ota_boot_result res;
        int at_begin;
        uint8_t *v2 = make_image(2, 31001, 25, bits, &v2_len), *plain = plain_of(v2, v2_len);
        /* the published file carries ciphertext, the flag and the key TLV */
        CHECK(memcmp(v2 + 32, plain + 32, 64) != 0);
        CHECK_EQ(v2[16], bits == 128 ? 0x04 : 0x08);
        factory(&d, v1, v1_len);
        man_len = sign_manifest(man, v2, v2_len, v2, v2_len, NULL, 0);
        CHECK_EQ(install(&d, man, man_len, v2, v2_len, v2_len, &g_dev_d, 1, &at_begin), OTA_OK);
        CHECK_EQ(pending_slot(&d), 1);
        /* no ciphertext ever reached the slot: it holds the plaintext image */
        CHECK(slot_equals(&d, 1, plain, v2_len));
        CHECK_EQ(ota_boot(&d.dev, &res), OTA_OK);
        CHECK_EQ(res.slot, 1);
        CHECK_EQ(res.info.hdr.version.major, 2);
        CHECK_EQ(res.info.enc_aes_len, bits / 8);
        free(v2);
        free(plain);
        ota_sim_free(&d.sim);
    }
    (void)g_v1_ops_marker;
    free(v1);
}

/* Nothing pending, slot B still erased (nothing written), error exact. */
static void expect_refusal(const char *what, uint8_t *img, size_t img_len, size_t deliver,
                           const struct ota_enc_privkey *key, int random_access,
                           ota_err want, int want_at_begin, int untouched)
{
    struct fix_dev d;
    size_t v1_len, man_len;
    uint8_t *v1 = make_image(1, 30000, 0, 0, &v1_len), man[OTA_MANIFEST_MAX_LEN];
    uint8_t erased[512];
    int at_begin = -1;
    ota_err e;
    factory(&d, v1, v1_len);
    man_len = sign_manifest(man, img, img_len, img, img_len, NULL, 0);
    e = install(&d, man, man_len, img, deliver, img_len, key, random_access, &at_begin);
    if (e != want || at_begin != want_at_begin)
        fprintf(stderr, "%s: got %s (at begin %d), want %s (at begin %d)\n", what,
                ota_errname(e), at_begin, ota_errname(want), want_at_begin);
    CHECK_EQ(e, want);
    CHECK_EQ(at_begin, want_at_begin);
    CHECK_EQ(pending_slot(&d), -1);
    if (untouched) {
        memset(erased, 0xff, sizeof erased);
        CHECK(slot_equals(&d, 1, erased, sizeof erased));
    }
    ota_sim_free(&d.sim);
    free(v1);
}

static void test_refusals(void)
{
    size_t len;
    uint8_t *v2 = make_image(2, 31001, 25, 128, &len);
    struct ota_image_info info;
    struct ota_mem_reader m;
    struct ota_reader r;
    ota_reader_from_mem(&r, &m, v2, (uint32_t)len);
    REQUIRE(ota_image_parse(&r, &info, NULL) == OTA_OK);
    REQUIRE(info.enc_off && info.enc_len == 113);

    expect_refusal("another device's key", v2, len, len, &g_other_d, 1, OTA_ERR_IMAGE_ENC_KEY,
                   1, 1);
    expect_refusal("no device key", v2, len, len, NULL, 1, OTA_ERR_IMAGE_ENC_NO_KEY, 1, 1);
    /* tampered key TLV: ephemeral point, tag, encrypted key */
    for (uint32_t at = 0; at < 113; at += 40) {
        v2[info.enc_off + at] ^= 0x20;
        expect_refusal("tampered key TLV", v2, len, len, &g_dev_d, 1,
                       at == 0 ? OTA_ERR_IMAGE_ENC_KEY : OTA_ERR_IMAGE_ENC_KEY, 1, 1);
        v2[info.enc_off + at] ^= 0x20;
    }
    /* truncated ciphertext: the file ends inside the TLV area / the body */
    expect_refusal("truncated file (TLV area)", v2, len - 40, len - 40, &g_dev_d, 1,
                   OTA_ERR_IMAGE_TRUNCATED, 1, 1);
    expect_refusal("truncated file (body)", v2, 20000, 20000, &g_dev_d, 1,
                   OTA_ERR_IMAGE_TRUNCATED, 1, 1);
    /* a download that stops short of the manifest's size */
    expect_refusal("short download", v2, len, len - 1000, &g_dev_d, 1,
                   OTA_ERR_UPDATE_PAYLOAD_SIZE, 0, 0);
    /* ciphertext flipped in the body: decrypts to a wrong plaintext */
    v2[32 + 5000] ^= 1;
    expect_refusal("body bit flip", v2, len, len, &g_dev_d, 1, OTA_ERR_IMAGE_HASH_MISMATCH, 0,
                   0);
    v2[32 + 5000] ^= 1;
    /* no random access to the payload: the key cannot be opened first */
    expect_refusal("no payload_at", v2, len, len, &g_dev_d, 0, OTA_ERR_IMAGE_ENC_NO_KEY, 0, 0);
    free(v2);
}

static void test_encrypted_delta(void)
{
    size_t v1_len, v2_len, patch_len, sealed_len, man_len;
    uint8_t *v1 = make_image(1, 30000, 0, 128, &v1_len);
    uint8_t *v2 = make_image(2, 30000, 25, 256, &v2_len);
    uint8_t *p1 = plain_of(v1, v1_len), *p2 = plain_of(v2, v2_len);
    uint8_t *patch = NULL, *sealed = NULL, man[OTA_MANIFEST_MAX_LEN];
    struct ota_delta_stats st;
    struct fix_dev d;
    struct ota_boot_result res;
    char err[256];
    int at_begin;

    /* build side: delta over the plaintexts, sealed for the device key */
    REQUIRE(ota_delta_create(p1, v1_len, p2, v2_len, &patch, &patch_len, &st) == OTA_OK);
    REQUIRE(ota_payload_seal(patch, patch_len, g_dev, 128, &sealed, &sealed_len, err,
                             sizeof err) == OTA_OK);
    CHECK(memcmp(sealed, "OTAE", 4) == 0);
    CHECK(memmem(sealed, sealed_len, patch + 8, 32) == NULL); /* patch bytes are hidden */
    printf("     encrypted delta: %zu-byte image, %zu-byte patch, %zu bytes sealed\n", v2_len,
           patch_len, sealed_len);

    /* the device runs v1 (installed decrypted); the manifest names the
     * published v2 file as target, the plaintext slot image as base */
    factory(&d, v1, v1_len);
    man_len = sign_manifest(man, v2, v2_len, sealed, sealed_len, p1, v1_len);
    CHECK_EQ(install(&d, man, man_len, sealed, sealed_len, sealed_len, &g_dev_d, 0, &at_begin),
             OTA_OK);
    CHECK_EQ(pending_slot(&d), 1);
    CHECK(slot_equals(&d, 1, p2, v2_len));
    CHECK_EQ(ota_boot(&d.dev, &res), OTA_OK);
    CHECK_EQ(res.slot, 1);
    CHECK_EQ(res.info.hdr.version.major, 2);
    ota_sim_free(&d.sim);

    /* the base named by its published (encrypted) file, as ota-server knows
     * it: the engine re-encrypts the running plaintext to compare */
    factory(&d, v1, v1_len);
    man_len = sign_manifest(man, v2, v2_len, sealed, sealed_len, v1, v1_len);
    CHECK_EQ(install(&d, man, man_len, sealed, sealed_len, sealed_len, &g_dev_d, 0, &at_begin),
             OTA_OK);
    CHECK_EQ(pending_slot(&d), 1);
    CHECK(slot_equals(&d, 1, p2, v2_len));
    ota_sim_free(&d.sim);
    /* ... but only with a key that opens it: a device without one cannot
     * tell its base and refuses before anything is written */
    factory(&d, v1, v1_len);
    CHECK_EQ(install(&d, man, man_len, sealed, sealed_len, sealed_len, &g_other_d, 0, &at_begin),
             OTA_ERR_DELTA_BASE_MISMATCH);
    CHECK(at_begin);
    CHECK_EQ(pending_slot(&d), -1);
    ota_sim_free(&d.sim);
    man_len = sign_manifest(man, v2, v2_len, sealed, sealed_len, p1, v1_len);

    /* another device's key: the sealed patch does not open */
    factory(&d, v1, v1_len);
    CHECK_EQ(install(&d, man, man_len, sealed, sealed_len, sealed_len, &g_other_d, 0, &at_begin),
             OTA_ERR_IMAGE_ENC_KEY);
    CHECK_EQ(pending_slot(&d), -1);
    ota_sim_free(&d.sim);

    /* a tampered envelope key */
    sealed[8 + 70] ^= 4;
    man_len = sign_manifest(man, v2, v2_len, sealed, sealed_len, p1, v1_len);
    factory(&d, v1, v1_len);
    CHECK_EQ(install(&d, man, man_len, sealed, sealed_len, sealed_len, &g_dev_d, 0, &at_begin),
             OTA_ERR_IMAGE_ENC_KEY);
    CHECK_EQ(pending_slot(&d), -1);
    ota_sim_free(&d.sim);

    free(v1);
    free(v2);
    free(p1);
    free(p2);
    free(patch);
    free(sealed);
}

int main(void)
{
    const char *backend = getenv("OTA_TEST_BACKEND");
    int rounds = backend ? 1 : 2;
    if (ota_key_generate(&g_fw) || ota_key_generate(&g_srv) || ota_key_generate(&g_dev) ||
        ota_key_generate(&g_other))
        return 2;
    ota_key_pubkey(g_fw, &g_fw_pub);
    ota_key_pubkey(g_srv, &g_srv_pub);
    if (ota_key_private_scalar(g_dev, &g_dev_d) || ota_key_private_scalar(g_other, &g_other_d))
        return 2;
    for (int i = 0; i < rounds; i++) {
        int mb = backend ? strcmp(backend, "mbedtls") == 0 : i == 0;
        g_c = mb ? ota_crypto_mbedtls() : ota_crypto_openssl();
        g_ce = mb ? ota_crypto_enc_mbedtls() : ota_crypto_enc_openssl();
        printf("backend %s\n", g_c->name);
        RUN(test_full_install);
        RUN(test_refusals);
        RUN(test_encrypted_delta);
    }
    ota_key_free(g_fw);
    ota_key_free(g_srv);
    ota_key_free(g_dev);
    ota_key_free(g_other);
    return test_summary();
}
