// SPDX-License-Identifier: Apache-2.0
/*
 * watchdog.c - CMSDK APB watchdog: LOAD 0x000, CONTROL 0x008 (bit 0 INTEN,
 * bit 1 RESEN), INTCLR 0x00C (clear + reload), LOCK 0xC00 (0x1ACCE551
 * unlocks register writes). Counts WDOGCLK (25 MHz); at zero it raises its
 * interrupt (wired to NMI on the MPS2) and reloads; reaching zero again with
 * the interrupt still set resets the system.
 */
#include "watchdog.h"

#include "board.h"

#define WDOG_REG(off) (*(volatile uint32_t *)(BOARD_WATCHDOG + (off)))
#define WDOG_LOAD WDOG_REG(0x000)
#define WDOG_CONTROL WDOG_REG(0x008)
#define WDOG_INTCLR WDOG_REG(0x00c)
#define WDOG_LOCK WDOG_REG(0xc00)
#define WDOG_UNLOCK_KEY 0x1acce551u

void watchdog_start(uint32_t ms)
{
    WDOG_LOCK = WDOG_UNLOCK_KEY;
    WDOG_LOAD = ms * (BOARD_SYSCLK_HZ / 1000u);
    WDOG_CONTROL = 3u; /* INTEN | RESEN */
    WDOG_LOCK = 0;
}

void watchdog_kick(void)
{
    WDOG_LOCK = WDOG_UNLOCK_KEY;
    WDOG_INTCLR = 1u;
    WDOG_LOCK = 0;
}

void watchdog_stop(void)
{
    WDOG_LOCK = WDOG_UNLOCK_KEY;
    WDOG_CONTROL = 0;
    WDOG_LOCK = 0;
}

int watchdog_running(void)
{
    return (WDOG_CONTROL & 1u) != 0;
}
