/*
 * semihost.c - SYS_EXIT (0x18) through the M-profile semihosting trap
 * (BKPT 0xAB). Reason ADP_Stopped_ApplicationExit (0x20026) makes QEMU exit
 * with 0, any other reason with 1.
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
