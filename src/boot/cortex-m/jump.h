// SPDX-License-Identifier: Apache-2.0
/*
 * jump.h - leaving one program for another on a Cortex-M: start an image
 * from its vector table (what a bootloader does last), or reset the system
 * (what a watchdog does).
 */
#ifndef OTA_PORT_JUMP_H
#define OTA_PORT_JUMP_H

#include <stdint.h>

/* Set VTOR to `vtor`, load MSP from vtor[0], branch to vtor[1]. */
__attribute__((noreturn)) void jump_to_vector_table(uintptr_t vtor);

/* SYSRESETREQ: the whole system resets (QEMU reloads the boot ROM; the
 * file-backed flash keeps its content). */
__attribute__((noreturn)) void system_reset(void);

#endif
