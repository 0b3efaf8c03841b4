// SPDX-License-Identifier: Apache-2.0
/*
 * semihost.c - SYS_EXIT (0x18) through the M-profile semihosting trap
 * (BKPT 0xAB). Reason ADP_Stopped_ApplicationExit (0x20026) makes QEMU exit
 * with 0, any other reason with 1. SYS_GET_CMDLINE (0x15) reads the host's
 * command line for the run.
 */
#include "semihost.h"

#include <stdint.h>

void semihost_exit(int ok)
{
    register uint32_t r0 __asm__("r0") = 0x18u;
    register uint32_t r1 __asm__("r1") = ok ? 0x20026u : 0x20023u;
    __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
    for (;;)
        __asm__ volatile("wfi");
}

int semihost_cmdline(char *buf, int len)
{
    volatile uint32_t block[2];
    register uint32_t r0 __asm__("r0") = 0x15u;
    register uint32_t r1 __asm__("r1");

    block[0] = (uint32_t)(uintptr_t)buf;
    block[1] = (uint32_t)len;
    r1 = (uint32_t)(uintptr_t)block;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0 == 0 ? 0 : -1;
}
