// SPDX-License-Identifier: Apache-2.0
/*
 * tests/tool/test_host.c - the host library (src/host): key generation,
 * loading every key encoding users have (PKCS#8/SEC1 PEM, DER, SPKI PEM/DER)
 * and refusing the rest with a clear message, signing, files, hex, version
 * parsing and the image builder's parameter checks and trailer layout.
 */
#include "../test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ota/host.h"
#include "ota/image_build.h"

static char dir[] = "/tmp/ota-test-host-XXXXXX";

static const char *path_in(const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
    return buf[i];
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (len)
        fwrite(data, 1, len, f);
    fclose(f);
}

/* Write an OpenSSL key in one encoding. */
static void write_with(EVP_PKEY *k, const char *path, int kind)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    switch (kind) {
    case 0: PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL); break;  /* PKCS#8 PEM */
    case 1: i2d_PrivateKey_fp(f, k); break;                                /* SEC1 DER */
    case 2: i2d_PKCS8PrivateKey_fp(f, k, NULL, NULL, 0, NULL, NULL); break;/* PKCS#8 DER */
    case 3: PEM_write_PUBKEY(f, k); break;                                 /* SPKI PEM */
    case 4: i2d_PUBKEY_fp(f, k); break;                                    /* SPKI DER */
    case 5: PEM_write_PKCS8PrivateKey(f, k, EVP_aes_128_cbc(), "pw", 2, NULL, NULL); break;
    default: abort();
    }
    fclose(f);
}

static void test_generate_save_load(void)
{
    ota_key *k = NULL, *priv = NULL, *pub = NULL;
    struct ota_pubkey a, b, c;
    struct stat st;
    char err[256];
    REQUIRE(ota_key_generate(&k) == OTA_OK);
    CHECK(ota_key_has_private(k));
    CHECK_EQ(ota_key_pubkey(k, &a), OTA_OK);
    CHECK(ota_pubkey_point(&a) != NULL);
    CHECK_EQ(ota_key_save_private(k, path_in("k.pem")), OTA_OK);
    CHECK_EQ(ota_key_save_public(k, path_in("p.pem")), OTA_OK);
    REQUIRE(stat(path_in("k.pem"), &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    CHECK_EQ(ota_key_load(path_in("k.pem"), &priv, err, sizeof(err)), OTA_OK);
    CHECK_EQ(ota_key_load(path_in("p.pem"), &pub, err, sizeof(err)), OTA_OK);
    REQUIRE(priv && pub);
    CHECK(ota_key_has_private(priv));
    CHECK(!ota_key_has_private(pub));
    CHECK_EQ(ota_key_pubkey(priv, &b), OTA_OK);
    CHECK_EQ(ota_key_pubkey(pub, &c), OTA_OK);
    CHECK(memcmp(a.spki, b.spki, sizeof(a.spki)) == 0);
    CHECK(memcmp(a.spki, c.spki, sizeof(a.spki)) == 0);
    /* a public key cannot sign or be saved as private */
    {
        uint8_t dg[32] = {1}, sig[OTA_P256_SIG_DER_MAX];
        size_t sl;
        CHECK_EQ(ota_key_sign_digest(pub, dg, sig, &sl), OTA_ERR_KEY_FORMAT);
        CHECK_EQ(ota_key_save_private(pub, path_in("x.pem")), OTA_ERR_KEY_FORMAT);
    }
    ota_key_free(k);
    ota_key_free(priv);
    ota_key_free(pub);
}

static void test_load_encodings(void)
{
    static const char *names[] = {"pkcs8.pem", "sec1.der", "pkcs8.der", "spki.pem", "spki.der"};
    EVP_PKEY *e = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char *der = NULL;
    int dlen, kind;
    char err[256];
    REQUIRE(e != NULL);
    dlen = i2d_PUBKEY(e, &der);
    REQUIRE(dlen == OTA_P256_SPKI_LEN);
    for (kind = 0; kind < 5; kind++) {
        ota_key *k = NULL;
        struct ota_pubkey p;
        write_with(e, path_in(names[kind]), kind);
        CHECK_EQ(ota_key_load(path_in(names[kind]), &k, err, sizeof(err)), OTA_OK);
        if (!k) {
            fprintf(stderr, "%s: %s\n", names[kind], err);
            continue;
        }
        CHECK_EQ(ota_key_has_private(k), kind < 3);
        CHECK_EQ(ota_key_pubkey(k, &p), OTA_OK);
        CHECK(memcmp(p.spki, der, OTA_P256_SPKI_LEN) == 0);
        ota_key_free(k);
    }
    /* SEC1 "EC PRIVATE KEY" PEM, the form MCUboot's root-ec-p256.pem uses. */
    {
        FILE *f = fopen(path_in("sec1.pem"), "wb");
        ota_key *k = NULL;
        OSSL_ENCODER_CTX *ec = OSSL_ENCODER_CTX_new_for_pkey(e, EVP_PKEY_KEYPAIR, "PEM",
                                                             "type-specific", NULL);
        REQUIRE(f && ec);
        CHECK_EQ(OSSL_ENCODER_to_fp(ec, f), 1);
        OSSL_ENCODER_CTX_free(ec);
        fclose(f);
        {
            uint8_t *d = NULL;
            size_t n = 0;
            CHECK_EQ(ota_file_read(path_in("sec1.pem"), &d, &n), OTA_OK);
            CHECK(d && n > 30 && memcmp(d, "-----BEGIN EC PRIVATE KEY-----", 30) == 0);
            free(d);
        }
        CHECK_EQ(ota_key_load(path_in("sec1.pem"), &k, err, sizeof(err)), OTA_OK);
        CHECK(ota_key_has_private(k));
        ota_key_free(k);
    }
    OPENSSL_free(der);
    EVP_PKEY_free(e);
}

static void test_load_refusals(void)
{
    char err[512];
    ota_key *k = NULL;
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    REQUIRE(rsa && p384 && p256);

    write_with(rsa, path_in("rsa.pem"), 0);
    CHECK_EQ(ota_key_load(path_in("rsa.pem"), &k, err, sizeof(err)), OTA_ERR_KEY_FORMAT);
    CHECK(strstr(err, "rsa.pem") && strstr(err, "RSA") && strstr(err, "P-256"));
    CHECK(k == NULL);

    write_with(p384, path_in("p384.pem"), 3);
    CHECK_EQ(ota_key_load(path_in("p384.pem"), &k, err, sizeof(err)), OTA_ERR_KEY_FORMAT);
    CHECK(strstr(err, "secp384r1") != NULL);

    write_with(p256, path_in("enc.pem"), 5);
    CHECK_EQ(ota_key_load(path_in("enc.pem"), &k, err, sizeof(err)), OTA_ERR_KEY_FORMAT);
    CHECK(strstr(err, "encrypted") != NULL);

    write_file(path_in("empty.pem"), "", 0);
    CHECK_EQ(ota_key_load(path_in("empty.pem"), &k, err, sizeof(err)), OTA_ERR_KEY_FORMAT);
    CHECK(strstr(err, "empty") != NULL);

    write_file(path_in("junk.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 58);
    CHECK_EQ(ota_key_load(path_in("junk.pem"), &k, err, sizeof(err)), OTA_ERR_KEY_FORMAT);
    write_file(path_in("junk.der"), "\x30\x03\x02\x01\x01", 5);
    CHECK_EQ(ota_key_load(path_in("junk.der"), &k, err, sizeof(err)), OTA_ERR_KEY_FORMAT);
    CHECK(strstr(err, "junk.der") != NULL);

    CHECK_EQ(ota_key_load(path_in("missing.pem"), &k, err, sizeof(err)), OTA_ERR_FILE);
    CHECK(strstr(err, "missing.pem") && strstr(err, "No such file"));
    CHECK_EQ(ota_key_load(dir, &k, err, sizeof(err)), OTA_ERR_FILE);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(p256);
}

static void test_sign_digest_both_backends(void)
{
    ota_key *k = NULL;
    struct ota_pubkey p;
    uint8_t dg[32], sig[OTA_P256_SIG_DER_MAX];
    size_t sl = 0;
    int i;
    REQUIRE(ota_key_generate(&k) == OTA_OK);
    REQUIRE(ota_key_pubkey(k, &p) == OTA_OK);
    for (i = 0; i < 20; i++) {
        memset(dg, i, sizeof(dg));
        CHECK_EQ(ota_key_sign_digest(k, dg, sig, &sl), OTA_OK);
        CHECK(sl >= 8 && sl <= OTA_P256_SIG_DER_MAX);
        CHECK_EQ(ota_der_sig_check(sig, sl), OTA_OK);
        CHECK_EQ(ota_crypto_openssl()->p256_verify(ota_pubkey_point(&p), dg, sig, sl), OTA_OK);
        CHECK_EQ(ota_crypto_mbedtls()->p256_verify(ota_pubkey_point(&p), dg, sig, sl), OTA_OK);
        dg[0] ^= 1;
        CHECK_EQ(ota_crypto_openssl()->p256_verify(ota_pubkey_point(&p), dg, sig, sl),
                 OTA_ERR_IMAGE_SIG_INVALID);
        CHECK_EQ(ota_crypto_mbedtls()->p256_verify(ota_pubkey_point(&p), dg, sig, sl),
                 OTA_ERR_IMAGE_SIG_INVALID);
    }
    ota_key_free(k);
}

static void test_files(void)
{
    uint8_t *d = NULL;
    size_t n = 0;
    static uint8_t big[300000];
    struct ota_reader r;
    struct ota_fd_reader fr;
    uint8_t chunk[16];
    int fd;
    size_t i;
    for (i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 13);
    CHECK_EQ(ota_file_write_atomic(path_in("f.bin"), big, sizeof(big)), OTA_OK);
    CHECK_EQ(ota_file_read(path_in("f.bin"), &d, &n), OTA_OK);
    CHECK_EQ(n, sizeof(big));
    CHECK(d && memcmp(d, big, n) == 0);
    free(d);
    /* overwrite is atomic and leaves no temporary behind */
    CHECK_EQ(ota_file_write_atomic(path_in("f.bin"), "xy", 2), OTA_OK);
    CHECK_EQ(ota_file_read(path_in("f.bin"), &d, &n), OTA_OK);
    CHECK_EQ(n, 2);
    free(d);
    {
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "ls %s | grep -c tmp >/dev/null", dir);
        CHECK(system(cmd) != 0);
    }
    CHECK_EQ(ota_file_write_atomic_mode(path_in("m.bin"), "a", 1, 0600), OTA_OK);
    {
        struct stat st;
        CHECK(stat(path_in("m.bin"), &st) == 0 && (st.st_mode & 0777) == 0600);
    }
    CHECK_EQ(ota_file_write_atomic("/nonexistent-dir/x", "a", 1), OTA_ERR_FILE);
    CHECK_EQ(errno, ENOENT);
    CHECK_EQ(ota_file_read(path_in("nope"), &d, &n), OTA_ERR_FILE);
    CHECK_EQ(errno, ENOENT);
    CHECK_EQ(ota_file_read(dir, &d, &n), OTA_ERR_FILE);
    CHECK_EQ(ota_file_write_atomic(path_in("e.bin"), NULL, 0), OTA_OK);
    CHECK_EQ(ota_file_read(path_in("e.bin"), &d, &n), OTA_OK);
    CHECK_EQ(n, 0);
    free(d);

    /* fd reader */
    CHECK_EQ(ota_file_write_atomic(path_in("f.bin"), big, sizeof(big)), OTA_OK);
    fd = open(path_in("f.bin"), O_RDONLY);
    REQUIRE(fd >= 0);
    ota_reader_from_fd(&r, &fr, fd, sizeof(big));
    CHECK_EQ(r.size, sizeof(big));
    CHECK_EQ(r.read(r.ctx, 123456, chunk, sizeof(chunk)), OTA_OK);
    CHECK(memcmp(chunk, big + 123456, sizeof(chunk)) == 0);
    CHECK_EQ(r.read(r.ctx, sizeof(big) - 8, chunk, sizeof(chunk)), OTA_ERR_IO); /* short */
    close(fd);
}

/* ota_file_map (read-only mapping, dropped pages read again) and the fd
 * reader with a read-ahead window: every read equals the file's bytes,
 * sequential 512-byte reads, jumps back and forth, reads across the
 * window's edge and larger than it. */
static void test_file_map_and_window(void)
{
    static uint8_t big[300000], got[70000], win[65536];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + (i >> 9));
    CHECK_EQ(ota_file_write_atomic(path_in("w.bin"), big, sizeof(big)), OTA_OK);
    struct ota_file_map m;
    REQUIRE(ota_file_map(path_in("w.bin"), &m) == OTA_OK);
    CHECK(m.mapped && m.len == sizeof(big) && memcmp(m.data, big, m.len) == 0);
    ota_file_map_drop(&m);
    CHECK(memcmp(m.data, big, m.len) == 0); /* read from the file again */
    ota_file_unmap(&m);
    CHECK(m.data == NULL && m.len == 0);
    /* an empty file is read (nothing to map); a directory is refused */
    CHECK_EQ(ota_file_write_atomic(path_in("e0.bin"), NULL, 0), OTA_OK);
    CHECK_EQ(ota_file_map(path_in("e0.bin"), &m), OTA_OK);
    CHECK(!m.mapped && m.len == 0);
    ota_file_map_drop(&m);
    ota_file_unmap(&m);
    CHECK_EQ(ota_file_map(dir, &m), OTA_ERR_FILE);
    CHECK_EQ(ota_file_map(path_in("nope"), &m), OTA_ERR_FILE);

    int fd = open(path_in("w.bin"), O_RDONLY);
    REQUIRE(fd >= 0);
    struct ota_reader r;
    struct ota_fd_reader_buf fr;
    ota_reader_from_fd_buffered(&r, &fr, fd, sizeof(big), win, sizeof(win));
    CHECK_EQ(r.size, sizeof(big));
    int bad = 0;
    for (uint32_t off = 0; off + 512u <= sizeof(big); off += 500u) { /* sequential */
        bad += r.read(r.ctx, off, got, 512) != OTA_OK || memcmp(got, big + off, 512) != 0;
    }
    CHECK(fr.want == sizeof(win)); /* the window grew to its cap */
    uint64_t x = 12345;
    for (int k = 0; k < 2000; k++) { /* jumps, edges, larger than the window */
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t len = (uint32_t)(x >> 33) % (k % 50 ? 600u : sizeof(got));
        uint32_t off = (uint32_t)(x >> 13) % (uint32_t)(sizeof(big) - len + 1u);
        if (k % 7 == 0 && fr.len) /* straddle the window's end */
            off = fr.base + (uint32_t)fr.len - (len / 2u) > sizeof(big) - len
                      ? (uint32_t)(sizeof(big) - len)
                      : fr.base + (uint32_t)fr.len - len / 2u;
        bad += r.read(r.ctx, off, got, len) != OTA_OK || memcmp(got, big + off, len) != 0;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(r.read(r.ctx, sizeof(big) - 8, got, 8), OTA_OK);
    CHECK(memcmp(got, big + sizeof(big) - 8, 8) == 0);
    /* the file shrank under the reader: an error, not stale bytes */
    ota_reader_from_fd_buffered(&r, &fr, fd, sizeof(big) + 100u, win, sizeof(win));
    CHECK_EQ(r.read(r.ctx, sizeof(big) - 8, got, 16), OTA_ERR_IO);
    close(fd);
}

static void test_hex(void)
{
    uint8_t in[] = {0x00, 0x7f, 0x80, 0xff, 0xab};
    uint8_t out[8];
    char s[11];
    ota_hex_encode(in, sizeof(in), s);
    CHECK(strcmp(s, "007f80ffab") == 0);
    CHECK_EQ(ota_hex_decode("007F80ffAB", out, sizeof(out)), 5);
    CHECK(memcmp(in, out, 5) == 0);
    CHECK_EQ(ota_hex_decode("", out, sizeof(out)), 0);
    CHECK_EQ(ota_hex_decode("abc", out, sizeof(out)), -1);
    CHECK_EQ(ota_hex_decode("zz", out, sizeof(out)), -1);
    CHECK_EQ(ota_hex_decode("0011223344556677889", out, sizeof(out)), -1);
    CHECK_EQ(ota_hex_decode("001122334455667788", out, sizeof(out)), -1); /* 9 > 8 */
    CHECK_EQ(ota_hex_decode(NULL, out, sizeof(out)), -1);
}

static void test_version_parse(void)
{
    static const struct { const char *s; int ok; uint8_t ma, mi; uint16_t rev; uint32_t b; } cases[] = {
        {"1.2.3+4", 1, 1, 2, 3, 4},
        {"1.2.3", 1, 1, 2, 3, 0},
        {"1.2", 1, 1, 2, 0, 0},
        {"7", 1, 7, 0, 0, 0},
        {"0.0.0+0", 1, 0, 0, 0, 0},
        {"255.255.65535+4294967295", 1, 255, 255, 65535, 4294967295u},
        {"256.0.0", 0, 0, 0, 0, 0},
        {"1.256.0", 0, 0, 0, 0, 0},
        {"1.2.65536", 0, 0, 0, 0, 0},
        {"1.2.3+4294967296", 0, 0, 0, 0, 0},
        {"1.2+3", 0, 0, 0, 0, 0},
        {"01.2.3", 0, 0, 0, 0, 0},
        {"1.2.3+", 0, 0, 0, 0, 0},
        {"1..3", 0, 0, 0, 0, 0},
        {"", 0, 0, 0, 0, 0},
        {"v1.2.3", 0, 0, 0, 0, 0},
        {"1.2.3.4", 0, 0, 0, 0, 0},
        {"1.2.3-rc1", 0, 0, 0, 0, 0},
        {" 1.2.3", 0, 0, 0, 0, 0},
    };
    size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ota_image_version v;
        ota_err e = ota_image_version_parse(cases[i].s, &v);
        CHECK_EQ(e, cases[i].ok ? OTA_OK : OTA_ERR_VERSION_FORMAT);
        if (e != (cases[i].ok ? OTA_OK : OTA_ERR_VERSION_FORMAT))
            fprintf(stderr, "version '%s'\n", cases[i].s);
        if (cases[i].ok && e == OTA_OK) {
            CHECK_EQ(v.major, cases[i].ma);
            CHECK_EQ(v.minor, cases[i].mi);
            CHECK_EQ(v.revision, cases[i].rev);
            CHECK_EQ(v.build, cases[i].b);
        }
    }
    {
        struct ota_image_version v = {1, 2, 3, 99};
        CHECK_EQ(ota_image_version_security_counter(&v), 0x01020003u);
    }
}

static void test_build_params(void)
{
    ota_key *k = NULL, *pub = NULL;
    struct ota_build_params bp;
    uint8_t payload[100] = {0}, *out = NULL, hw[40] = {0};
    size_t n;
    char err[256];
    REQUIRE(ota_key_generate(&k) == OTA_OK);
    REQUIRE(ota_key_save_public(k, path_in("bp.pem")) == OTA_OK);
    REQUIRE(ota_key_load(path_in("bp.pem"), &pub, err, sizeof(err)) == OTA_OK);

    memset(&bp, 0, sizeof(bp));
    bp.key = k;
    bp.header_size = 31;
    CHECK_EQ(ota_image_build(&bp, payload, sizeof(payload), &out, &n, err, sizeof(err)), OTA_ERR_USAGE);
    bp.header_size = 0;
    bp.pad = 1;
    CHECK_EQ(ota_image_build(&bp, payload, sizeof(payload), &out, &n, err, sizeof(err)), OTA_ERR_USAGE);
    CHECK(strstr(err, "slot size") != NULL);
    bp.pad = 0;
    bp.hw_id = hw;
    bp.hw_id_len = 33;
    CHECK_EQ(ota_image_build(&bp, payload, sizeof(payload), &out, &n, err, sizeof(err)), OTA_ERR_USAGE);
    bp.hw_id_len = 0;
    CHECK_EQ(ota_image_build(&bp, payload, sizeof(payload), &out, &n, err, sizeof(err)), OTA_ERR_USAGE);
    bp.hw_id = NULL;
    bp.load_addr = 0x20000000;
    bp.rom_fixed = 0x8000000;
    CHECK_EQ(ota_image_build(&bp, payload, sizeof(payload), &out, &n, err, sizeof(err)), OTA_ERR_USAGE);
    bp.rom_fixed = 0;
    bp.erased_val_set = 1;
    bp.erased_val = 0x55;
    CHECK_EQ(ota_image_build(&bp, payload, sizeof(payload), &out, &n, err, sizeof(err)), OTA_ERR_USAGE);
    bp.erased_val_set = 0;
    bp.slot_size = 4096;
    bp.align = 3;
    CHECK_EQ(ota_image_build(&bp, payload, sizeof(payload), &out, &n, err, sizeof(err)), OTA_ERR_USAGE);
    bp.align = 0;
    bp.key = pub;
    CHECK_EQ(ota_image_build(&bp, payload, sizeof(payload), &out, &n, err, sizeof(err)), OTA_ERR_KEY_FORMAT);
    CHECK(out == NULL);
    bp.key = k;
    /* RAM load sets the flag and the address */
    CHECK_EQ(ota_image_build(&bp, payload, sizeof(payload), &out, &n, err, sizeof(err)), OTA_OK);
    REQUIRE(out != NULL);
    {
        struct ota_image_header h;
        ota_image_header_decode(out, &h);
        CHECK_EQ(h.load_addr, 0x20000000);
        CHECK_EQ(h.flags, OTA_IMAGE_F_RAM_LOAD);
    }
    free(out);
    /* erased value 0: header padding and slot padding are zeros */
    bp.load_addr = 0;
    bp.header_size = 64;
    bp.erased_val_set = 1;
    bp.erased_val = 0;
    bp.pad = 1;
    CHECK_EQ(ota_image_build(&bp, payload, sizeof(payload), &out, &n, err, sizeof(err)), OTA_OK);
    REQUIRE(out != NULL);
    CHECK_EQ(n, 4096);
    CHECK_EQ(out[40], 0x00);
    CHECK_EQ(out[n - 24], 0x00); /* image_ok unset, erased value */
    CHECK_EQ(out[n - 100], 0x00);
    free(out);
    ota_key_free(k);
    ota_key_free(pub);
}

static void test_trailer_layout(void)
{
    struct ota_build_params bp;
    uint8_t m[16];
    static const uint8_t classic[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                        0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
    memset(&bp, 0, sizeof(bp));
    CHECK_EQ(ota_image_trailer_size(&bp), 128 * 3 * 1 + 8 * 4 + 16); /* imgtool default: 432 */
    bp.align = 8;
    CHECK_EQ(ota_image_trailer_size(&bp), 128 * 3 * 8 + 8 * 4 + 16);
    bp.align = 32; /* max_align follows: magic padded to 32 */
    CHECK_EQ(ota_image_trailer_size(&bp), 128 * 3 * 32 + 32 * 4 + 32);
    bp.align = 4;
    bp.max_sectors = 64;
    CHECK_EQ(ota_image_trailer_size(&bp), 64 * 3 * 4 + 8 * 4 + 16);
    bp.overwrite_only = 1;
    CHECK_EQ(ota_image_trailer_size(&bp), 8 * 2 + 16);
    bp.align = 5;
    CHECK_EQ(ota_image_trailer_size(&bp), 0);
    ota_image_boot_magic(8, m);
    CHECK(memcmp(m, classic, 16) == 0);
    ota_image_boot_magic(32, m);
    CHECK_EQ(m[0], 32);
    CHECK_EQ(m[1], 0);
    CHECK_EQ(m[2], 0x2d);
    CHECK_EQ(m[15], 0x8a);
}

int main(void)
{
    char cmd[300];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_generate_save_load);
    RUN(test_load_encodings);
    RUN(test_load_refusals);
    RUN(test_sign_digest_both_backends);
    RUN(test_files);
    RUN(test_file_map_and_window);
    RUN(test_hex);
    RUN(test_version_parse);
    RUN(test_build_params);
    RUN(test_trailer_layout);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
