// SPDX-License-Identifier: Apache-2.0
/*
 * bench/verify/bench_verify.c - measures how fast the core verifies a signed
 * image file (ota_image_verify through a file-descriptor reader, i.e. what
 * `ota verify` and the agent do), once per crypto backend, plus the raw
 * SHA-256 speed of each backend over the same bytes in memory.
 * Each figure is the best of N runs (the machine is shared and noisy).
 *
 * Usage: bench_verify IMAGE KEY [runs] [buffer_bytes]
 * Output: one line per measurement, "name seconds megabytes_per_second".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ota/host.h"
#include "ota/image.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const struct ota_crypto *backends[2];
    struct ota_pubkey pub;
    ota_key *key = NULL;
    char err[512];
    int runs, fd, b, i;
    size_t buf_len;
    uint8_t *buf, *whole = NULL;
    size_t whole_len = 0;
    struct stat st;

    if (argc < 3) {
        fprintf(stderr, "usage: %s IMAGE KEY [runs] [buffer_bytes]\n", argv[0]);
        return 2;
    }
    runs = argc > 3 ? atoi(argv[3]) : 5;
    buf_len = argc > 4 ? (size_t)strtoul(argv[4], NULL, 0) : (size_t)1 << 20;
    if (runs < 1 || buf_len < 1) {
        fprintf(stderr, "bad runs or buffer size\n");
        return 2;
    }
    if (ota_key_load(argv[2], &key, err, sizeof(err)) != OTA_OK ||
        ota_key_pubkey(key, &pub) != OTA_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    ota_key_free(key);
    fd = open(argv[1], O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    if (ota_file_read(argv[1], &whole, &whole_len) != OTA_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    buf = malloc(buf_len);
    if (!buf)
        return 1;
    backends[0] = ota_crypto_openssl();
    backends[1] = ota_crypto_mbedtls();
    for (b = 0; b < 2; b++) {
        double best = 1e9, best_sha = 1e9;
        uint32_t signed_size = 0;
        for (i = 0; i < runs; i++) {
            struct ota_reader r;
            struct ota_fd_reader fr;
            struct ota_verify_params p;
            struct ota_image_info info;
            struct ota_diag d;
            double t0, t1;
            ota_err e;
            memset(&p, 0, sizeof(p));
            p.crypto = backends[b];
            p.keys = &pub;
            p.n_keys = 1;
            p.buf = buf;
            p.buf_len = buf_len;
            ota_reader_from_fd(&r, &fr, fd, (uint32_t)st.st_size);
            t0 = now();
            e = ota_image_verify(&r, &p, &info, &d);
            t1 = now();
            if (e != OTA_OK) {
                fprintf(stderr, "verify (%s): %s: %s\n", backends[b]->name, ota_errname(e),
                        d.field ? d.field : "");
                return 1;
            }
            signed_size = info.signed_size;
            if (t1 - t0 < best)
                best = t1 - t0;
        }
        for (i = 0; i < runs; i++) {
            uint8_t dg[OTA_SHA256_LEN];
            double t0 = now(), t1;
            if (ota_sha256(backends[b], whole, signed_size, dg) != OTA_OK)
                return 1;
            t1 = now();
            if (t1 - t0 < best_sha)
                best_sha = t1 - t0;
        }
        printf("verify_%s %.6f %.1f\n", backends[b]->name, best,
               (double)st.st_size / best / 1e6);
        printf("sha256_mem_%s %.6f %.1f\n", backends[b]->name, best_sha,
               (double)signed_size / best_sha / 1e6);
    }
    free(buf);
    free(whole);
    close(fd);
    return 0;
}
