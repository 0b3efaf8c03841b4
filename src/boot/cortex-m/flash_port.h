// SPDX-License-Identifier: Apache-2.0
/*
 * flash_port.h - the port's flash HAL: a struct ota_flash (include/ota/
 * flash.h) over the board's memory-mapped flash (board.h), with NOR rules
 * enforced in software because QEMU models the region as RAM.
 */
#ifndef OTA_PORT_FLASH_H
#define OTA_PORT_FLASH_H

#include <stdint.h>

#include "board.h"
#include "ota/flash.h"

struct flash_port_stats {
    uint32_t progs;        /* program calls that succeeded */
    uint32_t erases;       /* sector erases that succeeded */
    uint32_t bytes_programmed;
    uint32_t refused;      /* calls refused (NOR rule, bounds, OTP) */
};

/* Fill *f for this board: 4 callbacks, the geometry, the OTP sector (the
 * last one) protected against erase. */
void flash_port_init(struct ota_flash *f);
const struct flash_port_stats *flash_port_stats(void);

/* Program/erase operations are numbered from the last reset: a program
 * started by another (the app after the bootloader) continues from
 * `ops_before`. */
void flash_port_continue_ops(uint32_t ops_before);
/* Power-cut injection (tests): operation number `at` does not happen
 * (torn = 0) or happens half (torn = 1: the first half of its bytes
 * programmed, or the first half of the sector erased), then power is lost:
 * the port prints "POWER CUT" and QEMU stops. */
void flash_port_arm_cut(uint32_t at, int torn);
/* Program/erase operations since the last reset (numbering as above). */
uint32_t flash_port_ops(void);

/* CPU address of a flash offset (images execute in place). */
static inline uintptr_t flash_port_addr(uint32_t off)
{
    return (uintptr_t)BOARD_FLASH_BASE + off;
}

#endif
