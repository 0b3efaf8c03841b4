// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/fuzz_nor_flash.h - the in-memory NOR flash that fuzz_boot.c and
 * fuzz_update.c run the core on: reads, programs that abort() on a
 * non-erased unit (NOR rule), erases that abort() on the OTP sectors (from
 * otp_first on, once set), and a template image (tmpl) each run starts from.
 * Include once, after defining SECTOR and SECTORS.
 */
#ifndef OTA_FUZZ_NOR_FLASH_H
#define OTA_FUZZ_NOR_FLASH_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ota/flash.h"

#define FLASH_SIZE (SECTOR * SECTORS)

static uint8_t mem[FLASH_SIZE], tmpl[FLASH_SIZE];
static uint32_t otp_first;

static ota_err f_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    (void)ctx;
    memcpy(buf, mem + off, len);
    return OTA_OK;
}

static ota_err f_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    (void)ctx;
    for (size_t i = 0; i < len; i++) {
        if (mem[off + i] != 0xff)
            abort(); /* NOR rule: never program a non-erased unit */
        mem[off + i] &= p[i];
    }
    return OTA_OK;
}

static ota_err f_erase(void *ctx, uint32_t sector)
{
    (void)ctx;
    if (otp_first && sector >= otp_first)
        abort(); /* OTP is never erased */
    memset(mem + sector * SECTOR, 0xff, SECTOR);
    return OTA_OK;
}

static struct ota_flash flash = {f_read, f_prog, f_erase, NULL, NULL, 1, 8, SECTOR, SECTORS};

#endif
