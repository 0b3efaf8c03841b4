// SPDX-License-Identifier: Apache-2.0
/*
 * bench/delta/delta_ram.c - measures the delta applier's RAM for the
 * benchmark table: applies PATCH to OLD with the core applier (mbedTLS, the
 * MCU backend, patch fed in 512-byte chunks) on a painted thread stack and
 * prints sizeof(struct ota_delta_apply), the stack high-water mark and the
 * apply time, so the figure comes from a real run over real firmware.
 * Usage: bench_delta_ram OLD PATCH
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ota/delta.h"
#include "ota/host.h"

#define STACK_SIZE (256u * 1024u)
#define PAINT 0xA5u

static uint8_t *old_data, *patch;
static size_t old_len, patch_len, written;
static struct ota_delta_apply st;
static ota_err result;

static ota_err sink(void *ctx, uint32_t off, const void *data, size_t len)
{
    (void)ctx;
    (void)data;
    if (off != written)
        return OTA_ERR_INTERNAL;
    written += len;
    return OTA_OK;
}

static void *apply(void *arg)
{
    struct ota_mem_reader mr;
    struct ota_reader r;
    ota_reader_from_mem(&r, &mr, old_data, (uint32_t)old_len);
    struct ota_delta_apply_cfg cfg = {ota_crypto_mbedtls(), &r, sink, NULL, 0, NULL, NULL};
    written = 0;
    ota_err e = ota_delta_apply_init(&st, &cfg);
    for (size_t off = 0; e == OTA_OK && off < patch_len; off += 512)
        e = ota_delta_apply_feed(&st, patch + off, patch_len - off < 512 ? patch_len - off : 512);
    if (e == OTA_OK)
        e = ota_delta_apply_finish(&st);
    result = e;
    return arg;
}

static void *noop(void *arg)
{
    return arg;
}

static size_t painted_run(uint8_t *stack, void *(*fn)(void *))
{
    memset(stack, PAINT, STACK_SIZE);
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, stack, STACK_SIZE);
    if (pthread_create(&th, &attr, fn, NULL) != 0)
        exit(1);
    pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
    size_t low = 0;
    while (low < STACK_SIZE && stack[low] == PAINT)
        low++;
    return low;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s OLD PATCH\n", argv[0]);
        return 2;
    }
    if (ota_file_read(argv[1], &old_data, &old_len) != OTA_OK ||
        ota_file_read(argv[2], &patch, &patch_len) != OTA_OK) {
        fprintf(stderr, "cannot read inputs\n");
        return 3;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    apply(NULL); /* warm-up (lazy binding) and timing */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (result != OTA_OK) {
        fprintf(stderr, "apply failed: %s\n", ota_errname(result));
        return 1;
    }
    uint8_t *stack = aligned_alloc(4096, STACK_SIZE);
    size_t base = painted_run(stack, noop);
    size_t low = painted_run(stack, apply);
    free(stack);
    printf("state=%zu stack=%zu total=%zu apply_ms=%.2f\n", sizeof(struct ota_delta_apply),
           base - low, sizeof(struct ota_delta_apply) + base - low,
           ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6));
    free(old_data);
    free(patch);
    return result == OTA_OK ? 0 : 1;
}
