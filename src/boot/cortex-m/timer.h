// SPDX-License-Identifier: Apache-2.0
/*
 * timer.h - a free-running boot-time counter on CMSDK APB timer 0 (25 MHz).
 * Run QEMU with -icount shift=0 (1 ns of virtual time per instruction) and
 * one tick is 40 instructions: the boot's cost in instructions, reproducible.
 */
#ifndef OTA_PORT_TIMER_H
#define OTA_PORT_TIMER_H

#include <stdint.h>

/* Start counting from 0 (the boot ROM does this once per reset). */
void timer_start(void);
/* Ticks since timer_start(). */
uint32_t timer_ticks(void);

#endif
