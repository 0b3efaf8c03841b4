// SPDX-License-Identifier: Apache-2.0
/*
 * bench/boot/bench_boot.c - what an update costs the flash, and what a boot
 * costs the CPU.
 *
 *   bench_boot cost            per geometry and image size: erases and bytes
 *                              programmed by one update cycle (install +
 *                              trial boot + confirm + boot), per region, and
 *                              the write amplification (programmed / image).
 *   bench_boot verify BACKEND  boot of a device whose confirmed slot holds a
 *                              256 KiB image, plus SHA-256 of the same bytes
 *                              alone; run under callgrind by run.sh, which
 *                              reads the inclusive instruction counts of
 *                              bench_boot_once() and bench_sha_only().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../tests/boot/boot_fixture.h"

struct region_cost {
    uint64_t erases;
    uint64_t bytes;
};

/* Erases per region from the wear counters; bytes programmed per region
 * from a before/after content diff is impossible (bits only clear), so
 * programs are attributed by a flash wrapper instead. */
struct counting_flash {
    struct ota_flash f;
    const struct ota_flash *under;
    const struct ota_boot_layout *l;
    struct region_cost r[5]; /* slot A, slot B, state, OTP, bootloader */
};

static int region_of(const struct ota_boot_layout *l, uint32_t sector_size, uint32_t off)
{
    if (off >= l->slot_off[0] && off < l->slot_off[0] + l->slot_size)
        return 0;
    if (off >= l->slot_off[1] && off < l->slot_off[1] + l->slot_size)
        return 1;
    if (off >= l->state_off && off < l->state_off + 2 * sector_size)
        return 2;
    if (off >= l->otp_off)
        return 3;
    return 4;
}

static ota_err c_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    struct counting_flash *c = ctx;
    return c->under->read(c->under->ctx, off, buf, len);
}

static ota_err c_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    struct counting_flash *c = ctx;
    c->r[region_of(c->l, c->f.sector_size, off)].bytes += len;
    return c->under->prog(c->under->ctx, off, buf, len);
}

static ota_err c_erase(void *ctx, uint32_t sector)
{
    struct counting_flash *c = ctx;
    c->r[region_of(c->l, c->f.sector_size, sector * c->f.sector_size)].erases++;
    return c->under->erase(c->under->ctx, sector);
}

static ota_err c_sync(void *ctx)
{
    struct counting_flash *c = ctx;
    return c->under->sync ? c->under->sync(c->under->ctx) : OTA_OK;
}

static int cost(void)
{
    static const size_t SIZES[] = {64 * 1024, 256 * 1024};
    const struct ota_crypto *cr = ota_crypto_openssl();
    ota_key *key;
    size_t gi, si;

    if (ota_key_generate(&key) != OTA_OK)
        return 1;
    printf("Flash cost of one update cycle (install into the inactive slot, trial boot,\n"
           "confirm, boot), and of a failed one (install, %u trial boots, revert boot).\n\n",
           OTA_BOOT_DEFAULT_ATTEMPTS);
    printf("| geometry | image | cycle | slot erases | slot bytes programmed | state erases "
           "(amortized) | state bytes | OTP bytes | total bytes / image bytes |\n"
           "|---|---|---|---|---|---|---|---|---|\n");
    for (gi = 0; gi < ota_sim_geometry_count(); gi++) {
        const struct ota_sim_geometry *g = ota_sim_geometry_at(gi);
        for (si = 0; si < sizeof SIZES / sizeof SIZES[0]; si++) {
            for (int failed = 0; failed < 2; failed++) {
                struct fix_dev *d = calloc(1, sizeof *d);
                struct fix_image v1, v2;
                struct counting_flash cf;
                struct ota_boot_result res;
                uint64_t slot_e, slot_b, total;
                uint32_t rec = (64 + g->prog_size - 1) / g->prog_size * g->prog_size;
                double state_e;
                int slot;

                if (!d || fix_dev_make(d, g, 0, 0, key, FIX_HW_ID, OTA_BOOT_DEFAULT_ATTEMPTS, cr) ||
                    fix_image_make(&v1, key, 1, 1, FIX_HW_ID, SIZES[si], 1) ||
                    fix_image_make(&v2, key, 2, 2, FIX_HW_ID, SIZES[si], 2))
                    return 1;
                if (fix_install(d, &v1, 1, 4096, &slot) || ota_boot(&d->dev, &res))
                    return 1;
                /* from here on, count */
                memset(&cf, 0, sizeof cf);
                cf.f = d->sim.flash;
                cf.f.read = c_read;
                cf.f.prog = c_prog;
                cf.f.erase = c_erase;
                cf.f.sync = c_sync;
                cf.f.ctx = &cf;
                cf.under = &d->sim.flash;
                cf.l = &d->cfg.layout;
                d->dev.flash = &cf.f;
                if (fix_install(d, &v2, 0, 4096, &slot))
                    return 1;
                if (!failed) {
                    if (ota_boot(&d->dev, &res) || !res.trial ||
                        ota_boot_confirm(&d->dev, res.slot, NULL) || ota_boot(&d->dev, &res) ||
                        res.trial)
                        return 1;
                } else {
                    for (unsigned k = 0; k <= OTA_BOOT_DEFAULT_ATTEMPTS; k++)
                        if (ota_boot(&d->dev, &res))
                            return 1;
                    if (!res.reverted)
                        return 1;
                }
                slot_e = cf.r[0].erases + cf.r[1].erases;
                slot_b = cf.r[0].bytes + cf.r[1].bytes;
                total = slot_b + cf.r[2].bytes + cf.r[3].bytes + cf.r[4].bytes;
                /* the state log erases one sector per sector_size/record
                 * records: spread over the updates that fill it */
                state_e = (double)(cf.r[2].bytes / rec) / (double)(g->sector_size / rec);
                printf("| %s | %zu KiB (%zu B signed) | %s | %llu x %u KiB | %llu | %.4f | %llu | %llu | %.3f |\n",
                       g->name, SIZES[si] / 1024, v2.len, failed ? "failed trial, revert" : "install+confirm",
                       (unsigned long long)slot_e, g->sector_size / 1024, (unsigned long long)slot_b,
                       state_e, (unsigned long long)cf.r[2].bytes,
                       (unsigned long long)cf.r[3].bytes, (double)total / (double)v2.len);
                if (d->sim.violations)
                    return 1;
                fix_image_free(&v1);
                fix_image_free(&v2);
                ota_sim_free(&d->sim);
                free(d);
            }
        }
    }
    ota_key_free(key);
    return 0;
}

/* ---- boot-time verification (measured by callgrind through run.sh) ---- */

static uint8_t sha_out[OTA_SHA256_LEN];

__attribute__((noinline, used)) static ota_err bench_sha_only(const struct ota_crypto *c,
                                                               const uint8_t *p, size_t n)
{
    return ota_sha256(c, p, n, sha_out);
}

__attribute__((noinline, used)) static ota_err bench_boot_once(struct fix_dev *d,
                                                                struct ota_boot_result *res)
{
    return ota_boot(&d->dev, res);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int verify(const char *backend)
{
    const struct ota_crypto *c = strcmp(backend, "mbedtls") == 0 ? ota_crypto_mbedtls()
                                                                 : ota_crypto_openssl();
    struct fix_dev *d = calloc(1, sizeof *d);
    struct fix_image img;
    struct ota_boot_result res;
    ota_key *key;
    double t0, t1, t2;
    int slot;

    if (!d || ota_key_generate(&key) != OTA_OK)
        return 1;
    if (fix_dev_make(d, ota_sim_geometry_find("generic-4k"), 0, 0, key, FIX_HW_ID, 3, c) ||
        fix_image_make(&img, key, 1, 1, FIX_HW_ID, 256 * 1024, 7) ||
        fix_install(d, &img, 1, 4096, &slot) || ota_boot(&d->dev, &res) || res.slot != 0)
        return 1;
    t0 = now();
    if (bench_sha_only(c, img.data, img.len))
        return 1;
    t1 = now();
    if (bench_boot_once(d, &res) || res.slot != 0)
        return 1;
    t2 = now();
    printf("backend %s: image %zu bytes; sha256 alone %.3f ms, boot (stage 0 + verify) %.3f ms\n",
           c->name, img.len, (t1 - t0) * 1e3, (t2 - t1) * 1e3);
    fix_image_free(&img);
    ota_sim_free(&d->sim);
    free(d);
    ota_key_free(key);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "cost") == 0)
        return cost();
    if (argc >= 3 && strcmp(argv[1], "verify") == 0)
        return verify(argv[2]);
    fprintf(stderr, "usage: bench_boot cost | bench_boot verify openssl|mbedtls\n");
    return 2;
}
