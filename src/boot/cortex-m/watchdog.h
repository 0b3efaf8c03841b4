// SPDX-License-Identifier: Apache-2.0
/*
 * watchdog.h - the CMSDK APB watchdog of the MPS2 board (0x40008000): what
 * turns a hung trial image into a reset, i.e. into a boot without
 * confirmation that the bootloader counts and eventually reverts.
 */
#ifndef OTA_PORT_WATCHDOG_H
#define OTA_PORT_WATCHDOG_H

#include <stdint.h>

/* Start it: the NMI fires after `ms`, the system resets after 2 x `ms`
 * unless watchdog_kick() runs in between. */
void watchdog_start(uint32_t ms);
void watchdog_kick(void);
/* Stop it (possible on this part; many MCUs' watchdogs cannot be stopped). */
void watchdog_stop(void);
/* Is it counting? (the app only kicks one that runs) */
int watchdog_running(void);

#endif
