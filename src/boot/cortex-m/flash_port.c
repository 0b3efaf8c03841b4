// SPDX-License-Identifier: Apache-2.0
/*
 * flash_port.c - struct ota_flash for the mps2-an385 port. The flash is
 * memory-mapped (reads are memcpy, images run in place); program and erase
 * behave as NOR does and as a real driver must be asked to:
 *   - erase sets a whole sector to 0xFF; the OTP sector (last) refuses it;
 *   - program takes prog_size-aligned units, only onto erased units
 *     (OTA_ERR_FLASH_NOT_ERASED otherwise: ECC flash forbids reprogramming),
 *     and can only clear bits (new = old & data);
 *   - nothing outside the device.
 * On a real MCU the three bodies become the vendor's flash driver calls
 * (unlock, wait-busy, program double-word, erase page); the checks stay.
 */
#include "flash_port.h"

#include <string.h>

#include "board.h"
#include "console.h"
#include "semihost.h"

static struct flash_port_stats stats;
static uint32_t ops;         /* program/erase operations since reset */
static uint32_t cut_at;
static int cut_armed, cut_torn;

void flash_port_continue_ops(uint32_t ops_before)
{
    ops = ops_before;
}

void flash_port_arm_cut(uint32_t at, int torn)
{
    cut_at = at;
    cut_torn = torn;
    cut_armed = 1;
}

uint32_t flash_port_ops(void)
{
    return ops;
}

/* Called before each program/erase: 1 = this one is torn, then power dies. */
static int cut_now(void)
{
    return cut_armed && ops == cut_at;
}

__attribute__((noreturn)) static void power_lost(void)
{
    console_puts("POWER CUT at flash operation ");
    console_putu(cut_at);
    console_puts(cut_torn ? " (torn)\n" : " (before)\n");
    semihost_exit(0);
}

static uint8_t *mem(uint32_t off)
{
    return (uint8_t *)(uintptr_t)(BOARD_FLASH_BASE + off);
}

static int in_device(uint32_t off, size_t len)
{
    return off <= BOARD_FLASH_SIZE && len <= BOARD_FLASH_SIZE - off;
}

static ota_err port_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    (void)ctx;
    if (!in_device(off, len)) {
        stats.refused++;
        return OTA_ERR_FLASH_BOUNDS;
    }
    memcpy(buf, mem(off), len);
    return OTA_OK;
}

static ota_err port_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    const uint8_t *src = buf;
    uint8_t *dst;
    size_t i;

    (void)ctx;
    if (!in_device(off, len)) {
        stats.refused++;
        return OTA_ERR_FLASH_BOUNDS;
    }
    if (off % BOARD_FLASH_PROG || len % BOARD_FLASH_PROG) {
        stats.refused++;
        return OTA_ERR_FLASH_ALIGN;
    }
    dst = mem(off);
    for (i = 0; i < len; i++) {
        if (dst[i] != 0xffu) {
            stats.refused++;
            return OTA_ERR_FLASH_NOT_ERASED;
        }
    }
    if (cut_now()) {
        for (i = 0; cut_torn && i < len / 2; i++)
            dst[i] &= src[i];
        power_lost();
    }
    for (i = 0; i < len; i++)
        dst[i] &= src[i];
    ops++;
    stats.progs++;
    stats.bytes_programmed += (uint32_t)len;
    return OTA_OK;
}

static ota_err port_erase(void *ctx, uint32_t sector)
{
    (void)ctx;
    if (sector >= BOARD_FLASH_SECTORS) {
        stats.refused++;
        return OTA_ERR_FLASH_BOUNDS;
    }
    if (sector == BOARD_FLASH_SECTORS - 1) { /* OTP: bits only ever burn */
        stats.refused++;
        return OTA_ERR_FLASH_PROTECTED;
    }
    if (cut_now()) {
        if (cut_torn)
            memset(mem(sector * BOARD_FLASH_SECTOR), 0xff, BOARD_FLASH_SECTOR / 2);
        power_lost();
    }
    memset(mem(sector * BOARD_FLASH_SECTOR), 0xff, BOARD_FLASH_SECTOR);
    ops++;
    stats.erases++;
    return OTA_OK;
}

static ota_err port_sync(void *ctx)
{
    (void)ctx;
    __asm__ volatile("dsb" : : : "memory");
    return OTA_OK;
}

void flash_port_init(struct ota_flash *f)
{
    f->read = port_read;
    f->prog = port_prog;
    f->erase = port_erase;
    f->sync = port_sync;
    f->ctx = 0;
    f->read_size = 1;
    f->prog_size = BOARD_FLASH_PROG;
    f->sector_size = BOARD_FLASH_SECTOR;
    f->sector_count = BOARD_FLASH_SECTORS;
}

const struct flash_port_stats *flash_port_stats(void)
{
    return &stats;
}
