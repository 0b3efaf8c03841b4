// SPDX-License-Identifier: Apache-2.0
/*
 * timer.c - CMSDK APB timer 0 as a 32-bit down-counter from 0xffffffff
 * (CTRL 0x0 bit 0 = enable, VALUE 0x4, RELOAD 0x8); ticks = elapsed counts.
 */
#include "timer.h"

#include "board.h"

#define TIMER_REG(off) (*(volatile uint32_t *)(BOARD_TIMER0 + (off)))

void timer_start(void)
{
    TIMER_REG(0x0) = 0;
    TIMER_REG(0x8) = 0xffffffffu;
    TIMER_REG(0x4) = 0xffffffffu;
    TIMER_REG(0x0) = 1u;
}

uint32_t timer_ticks(void)
{
    return 0xffffffffu - TIMER_REG(0x4);
}
