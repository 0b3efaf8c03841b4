// SPDX-License-Identifier: Apache-2.0
/*
 * handoff.h - what the bootloader tells the image it starts, in the first
 * BOARD_HANDOFF_SIZE bytes of RAM (outside every program's .data/.bss/stack,
 * like MCUboot's shared boot data): which slot runs, whether on trial, and
 * the boot's measured cost. The app needs the slot to confirm itself.
 */
#ifndef OTA_PORT_HANDOFF_H
#define OTA_PORT_HANDOFF_H

#include <stdint.h>

#include "board.h"

#define HANDOFF_MAGIC 0x4b41544fu /* "OTAK" */

struct handoff {
    uint32_t magic;
    uint32_t slot;            /* 0 = A, 1 = B */
    uint32_t trial;           /* running a pending image on trial */
    uint32_t attempts_left;   /* trial boots left after this one */
    uint32_t otp_counter;     /* anti-rollback counter after the boot */
    uint32_t boot_ticks;      /* timer ticks from reset to the jump */
    uint32_t stack_used;      /* bootloader stack high-water (bytes) */
    uint32_t flash_ops;       /* flash program/erase operations so far */
};

#define HANDOFF ((volatile struct handoff *)(uintptr_t)BOARD_RAM_BASE)

#endif
