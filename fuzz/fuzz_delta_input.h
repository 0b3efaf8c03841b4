// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/fuzz_delta_input.h - what fuzz_delta.c and its seed maker share: the
 * fixed old image the patches apply to (deterministic Thumb-like bytes with
 * BL instructions and pointers, and AArch64 ADRP pairs, so every predictor
 * path is reachable) and the
 * layout of a fuzz input (a header built from a few input bytes, so the
 * fuzzer does not have to guess a SHA-256, then the raw patch stream).
 *
 *   byte 0      bit 0 set: the whole input is a raw patch (header parsing);
 *               bits 1-3: header byte 7 bits 0-2 (code regions, coder
 *               model 2, 3-bit literal contexts)
 *   byte 1      filter        byte 2  predictor flags
 *   bytes 3-6   pointer base  bytes 7-8  new size (LE, < 64 KiB)
 *   byte 9      feeding pattern (chunk sizes)
 *   bytes 10-   the coded stream
 */
#ifndef OTA_FUZZ_DELTA_INPUT_H
#define OTA_FUZZ_DELTA_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ota/delta.h"
#include "le.h"

#define FZD_OLD_LEN 4096u
#define FZD_PREFIX 10u
#define FZD_BASE 0x08000000u

static void fzd_old_image(uint8_t *b)
{
    uint32_t x = 2463534242u;
    for (uint32_t i = 0; i < FZD_OLD_LEN; i += 2) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        uint32_t hw = x & 0xFFFFu;
        if ((x >> 20) % 7u == 0 && i + 4 <= FZD_OLD_LEN) {
            b[i] = (uint8_t)x;
            b[i + 1] = (uint8_t)(0xF0u | ((x >> 8) & 7u));
            b[i + 2] = (uint8_t)(x >> 16);
            b[i + 3] = 0xF8u;
            i += 2;
            continue;
        }
        if ((x >> 20) % 11u == 0 && !(i & 3u) && i + 4 <= FZD_OLD_LEN) {
            uint32_t p = FZD_BASE + (x % FZD_OLD_LEN);
            memcpy(b + i, &p, 4);
            i += 2;
            continue;
        }
        b[i] = (uint8_t)hw;
        b[i + 1] = (uint8_t)(hw >> 8);
    }
    /* AArch64 ADRP pairs (ADRP Xd then ADD Xd, Xd, #lo12 or LDR X, [Xd,
     * #lo12], adjacent or one word apart), so the ADRP predictor's paths
     * are reachable too */
    for (uint32_t i = 64, k = 0; i + 12u <= FZD_OLD_LEN; i += 256u, k++) {
        uint32_t d = k & 15u, imm = (k * 3u - 8u) & 0x1FFFFFu, lo = (i * 5u) & 0xFF8u;
        uint32_t adrp = 0x90000000u | ((imm & 3u) << 29) | ((imm >> 2) << 5) | d;
        uint32_t use = (k & 1u) ? 0xF9400000u | ((lo >> 3) << 10) | (d << 5) | 1u
                                : 0x91000000u | (lo << 10) | (d << 5) | d;
        memcpy(b + i, &adrp, 4);
        memcpy(b + i + ((k & 2u) ? 8u : 4u), &use, 4);
    }
}

/* The fixed old image and its SHA-256, made at the first call. */
static inline void fzd_init(uint8_t *old_img, uint8_t *old_hash)
{
    static int ready;
    if (!ready) {
        fzd_old_image(old_img);
        ota_sha256(ota_crypto_mbedtls(), old_img, FZD_OLD_LEN, old_hash);
        ready = 1;
    }
}

/* The patch an input of this layout stands for (size >= FZD_PREFIX; out
 * holds OTA_DELTA_HEADER_SIZE + size bytes), against the image whose SHA-256
 * is old_hash. Returns its length. */
static inline size_t fzd_patch(const uint8_t *data, size_t size, const uint8_t *old_hash, uint8_t *out)
{
    if (data[0] & 1u) {
        memcpy(out, data + 1, size - 1);
        return size - 1;
    }
    memset(out, 0, OTA_DELTA_HEADER_SIZE);
    memcpy(out, OTA_DELTA_MAGIC, 4);
    out[4] = OTA_DELTA_VERSION;
    out[5] = data[1];
    out[6] = data[2];
    out[7] = (uint8_t)((data[0] >> 1) & 7u); /* code regions, model 2, lit3 */
    ota_le_put32(out + 8, FZD_OLD_LEN);
    ota_le_put32(out + 12, (uint32_t)data[7] | ((uint32_t)data[8] << 8));
    ota_le_put32(out + 16, (uint32_t)(size - FZD_PREFIX));
    memcpy(out + 20, data + 3, 4);
    memcpy(out + 24, old_hash, OTA_SHA256_LEN);
    memcpy(out + OTA_DELTA_HEADER_SIZE, data + FZD_PREFIX, size - FZD_PREFIX);
    return OTA_DELTA_HEADER_SIZE + size - FZD_PREFIX;
}

#endif
