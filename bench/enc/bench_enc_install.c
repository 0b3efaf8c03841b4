// SPDX-License-Identifier: Apache-2.0
/*
 * bench/enc/bench_enc_install.c - what encryption costs a device: the same
 * firmware installed through the update engine (ota_update_begin / write /
 * finish: manifest check, key TLV opened through payload_at, every payload
 * chunk hashed and written -- decrypted on its way for an encrypted image --,
 * the slot read back against the target digest -- re-encrypted on the fly --
 * and verified as the bootloader will) as a plain image, as an AES-128 and
 * as an AES-256 image, on the flash simulator, per crypto backend, in one
 * run. Each figure is the best of N installs (the machine is shared and
 * noisy); the ratio is encrypted throughput over plain throughput.
 *
 * Usage: bench_enc_install [payload_KiB] [runs]   (defaults: 2048, 5)
 * Output: one line per measurement,
 *   "<backend> <plain|aes128|aes256> <image bytes> <seconds> <MB/s> <ratio>"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ota/boot.h"
#include "ota/host.h"
#include "ota/image_build.h"
#include "ota/manifest_sign.h"
#include "ota/sim.h"
#include "ota/update.h"

#define HW "bench-enc"

static ota_key *g_fw, *g_srv, *g_dev;
static struct ota_pubkey g_fw_pub, g_srv_pub;
static struct ota_enc_privkey g_dev_d;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_enc_install: %s\n", what);
    exit(1);
}

/* Version `major` of a firmware of len pseudo-random bytes, encrypted for
 * the device key when aes_bits != 0. */
static uint8_t *image(int major, size_t len, unsigned aes_bits, size_t *out_len)
{
    struct ota_build_params p;
    uint8_t *payload = malloc(len), *out = NULL;
    char err[256];
    uint32_t x = 12345;
    if (!payload)
        die("out of memory");
    for (size_t i = 0; i < len; i++) {
        x = x * 1664525u + 1013904223u;
        payload[i] = (uint8_t)(x >> 24);
    }
    memset(&p, 0, sizeof p);
    p.key = g_fw;
    p.version.major = (uint8_t)major;
    p.hw_id = (const uint8_t *)HW;
    p.hw_id_len = strlen(HW);
    p.enc_key = aes_bits ? g_dev : NULL;
    p.enc_aes_bits = (uint16_t)aes_bits;
    if (ota_image_build(&p, payload, len, &out, out_len, err, sizeof err) != OTA_OK)
        die(err);
    free(payload);
    return out;
}

struct device {
    struct ota_sim sim;
    struct ota_boot_dev bd;
    uint8_t scratch[4096];
};

/* Provisioned, a small v1 confirmed in slot A, running. */
static void factory(struct device *d, const struct ota_crypto *c, uint32_t sectors,
                    const uint8_t *v1, size_t v1_len)
{
    struct ota_boot_config cfg;
    struct ota_install ins;
    memset(d, 0, sizeof *d);
    memset(&cfg, 0, sizeof cfg);
    if (ota_sim_init_geometry(&d->sim, ota_sim_geometry_find("generic-4k"), sectors))
        die("flash simulator");
    d->bd.flash = &d->sim.flash;
    d->bd.crypto = c;
    d->bd.buf = d->scratch;
    d->bd.buf_len = sizeof d->scratch;
    d->bd.prog_chunk = 256;
    if (ota_boot_layout_make(&d->sim.flash, 0, 0, &cfg.layout))
        die("layout");
    cfg.key = g_fw_pub;
    memcpy(cfg.hw_id, HW, strlen(HW));
    cfg.hw_id_len = (uint8_t)strlen(HW);
    cfg.max_attempts = 3;
    if (ota_boot_provision(&d->bd, &cfg, NULL) ||
        ota_install_begin(&ins, &d->bd, (uint32_t)v1_len, NULL) ||
        ota_install_write(&ins, v1, v1_len) || ota_install_finish(&ins, 1, NULL, NULL))
        die("factory image");
}

static size_t manifest(uint8_t *out, const uint8_t *target, size_t len)
{
    struct ota_manifest m;
    size_t n = 0;
    memset(&m, 0, sizeof m);
    m.payload_kind = OTA_PAYLOAD_FULL;
    m.campaign_id = 1;
    m.issued_at = 1;
    m.expires_at = 2;
    ota_sha256(ota_crypto_openssl(), target, len, m.target_digest);
    memcpy(m.payload_digest, m.target_digest, OTA_SHA256_LEN);
    m.target_size = m.payload_size = (uint32_t)len;
    m.target_version.major = 2;
    strcpy(m.device_id, "bench");
    m.device_id_len = 5;
    memcpy(m.hw_id, HW, strlen(HW));
    m.hw_id_len = (uint8_t)strlen(HW);
    if (ota_manifest_sign(g_srv, &m, out, OTA_MANIFEST_MAX_LEN, &n))
        die("manifest");
    return n;
}

struct mem {
    const uint8_t *p;
    size_t len;
};

static ota_err read_at(void *ctx, uint32_t off, void *buf, size_t len)
{
    const struct mem *m = ctx;
    if ((size_t)off + len > m->len)
        return OTA_ERR_IO;
    memcpy(buf, m->p + off, len);
    return OTA_OK;
}

/* One install of img (seconds), from begin to pending, in 4 KiB chunks as
 * the agent hands them over. */
static double install(const struct ota_crypto *c, const struct ota_crypto_enc *ce,
                      uint32_t sectors, const uint8_t *v1, size_t v1_len, const uint8_t *img,
                      size_t len)
{
    static struct ota_update u;
    static struct device d;
    struct ota_update_cfg uc;
    struct mem m = {img, len};
    uint8_t man[OTA_MANIFEST_MAX_LEN];
    size_t man_len = manifest(man, img, len);
    double t0;
    ota_err e;
    factory(&d, c, sectors, v1, v1_len);
    memset(&uc, 0, sizeof uc);
    uc.dev = &d.bd;
    uc.server_keys = &g_srv_pub;
    uc.n_server_keys = 1;
    uc.device_id = "bench";
    uc.running_slot = 0;
    uc.enc = ce;
    uc.enc_key = &g_dev_d;
    uc.payload_at.read = read_at;
    uc.payload_at.ctx = &m;
    t0 = now();
    e = ota_update_begin(&u, &uc, man, man_len, NULL, NULL);
    for (size_t off = 0; !e && off < len; off += 4096)
        e = ota_update_write(&u, img + off, len - off < 4096 ? len - off : 4096);
    if (!e)
        e = ota_update_finish(&u, NULL);
    t0 = now() - t0;
    if (e) {
        fprintf(stderr, "install: %s\n", ota_errname(e));
        exit(1);
    }
    ota_sim_free(&d.sim);
    return t0;
}

int main(int argc, char **argv)
{
    static const char *const names[3] = {"plain", "aes128", "aes256"};
    static const unsigned bits[3] = {0, 128, 256};
    size_t kib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 0) : 2048;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    uint8_t *img[3], *v1;
    size_t len[3], v1_len;
    uint32_t sectors;

    if (kib < 16 || kib > 65536 || runs < 1)
        die("usage: bench_enc_install [payload_KiB 16..65536] [runs >= 1]");
    if (ota_key_generate(&g_fw) || ota_key_generate(&g_srv) || ota_key_generate(&g_dev) ||
        ota_key_pubkey(g_fw, &g_fw_pub) || ota_key_pubkey(g_srv, &g_srv_pub) ||
        ota_key_private_scalar(g_dev, &g_dev_d))
        die("keys");
    v1 = image(1, 4096, 0, &v1_len);
    for (int k = 0; k < 3; k++)
        img[k] = image(2, kib * 1024, bits[k], &len[k]);
    /* two slots of the image, the boot region and the records, with room */
    sectors = (uint32_t)(2 * (kib / 4 + 8) + 64);
    for (int b = 0; b < 2; b++) {
        const struct ota_crypto *c = b ? ota_crypto_mbedtls() : ota_crypto_openssl();
        const struct ota_crypto_enc *ce = b ? ota_crypto_enc_mbedtls() : ota_crypto_enc_openssl();
        double plain = 0;
        for (int k = 0; k < 3; k++) {
            double best = 1e9, mbs;
            for (int i = 0; i < runs; i++) {
                double t = install(c, ce, sectors, v1, v1_len, img[k], len[k]);
                if (t < best)
                    best = t;
            }
            mbs = (double)len[k] / best / 1e6;
            if (k == 0)
                plain = mbs;
            printf("%s %s %zu %.6f %.1f %.3f\n", c->name, names[k], len[k], best, mbs,
                   mbs / plain);
        }
    }
    for (int k = 0; k < 3; k++)
        free(img[k]);
    free(v1);
    ota_key_free(g_fw);
    ota_key_free(g_srv);
    ota_key_free(g_dev);
    return 0;
}
