// SPDX-License-Identifier: Apache-2.0
/*
 * startup.c - reset and fault handling for every program of the Cortex-M
 * port, in C (no assembly file): the vector table, a Reset_Handler that
 * copies .data, zeroes .bss and paints the stack (for the high-water
 * figure), and fault handlers that report on the console and stop QEMU.
 */
#include <stdint.h>
#include <string.h>

#include "console.h"
#include "semihost.h"
#include "startup.h"

#define STACK_PAINT 0x5a5aa5a5u

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;

void Reset_Handler(void);
void NMI_Handler(void);
void Fault_Handler(void);
void Default_Handler(void);

void Reset_Handler(void)
{
    uint32_t *p;
    uint32_t *sp;

    memcpy(&_sdata, &_sidata, (size_t)((uint8_t *)&_edata - (uint8_t *)&_sdata));
    memset(&_sbss, 0, (size_t)((uint8_t *)&_ebss - (uint8_t *)&_sbss));
    /* Paint the stack below what this function already uses. */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (p = &_sstack; p < sp - 16; p++)
        *p = STACK_PAINT;
    program_main();
    console_puts("program_main returned\n");
    semihost_exit(1);
}

uint32_t stack_size(void)
{
    return (uint32_t)((uint8_t *)&_estack - (uint8_t *)&_sstack);
}

uint32_t stack_highwater(void)
{
    const uint32_t *p = &_sstack;
    while (p < &_estack && *p == STACK_PAINT)
        p++;
    return (uint32_t)((const uint8_t *)&_estack - (const uint8_t *)p);
}

/* On this board the NMI is the watchdog's first timeout: the program did
 * not kick it; the reset follows at the second timeout. */
void NMI_Handler(void)
{
    console_puts("watchdog: timeout, reset follows\n");
}

void Fault_Handler(void)
{
    volatile uint32_t *cfsr = (volatile uint32_t *)0xe000ed28u;
    console_puts("FAULT: CFSR 0x");
    console_puthex(*cfsr);
    console_puts("\n");
    semihost_exit(1);
}

void Default_Handler(void)
{
    console_puts("FAULT: unexpected interrupt\n");
    semihost_exit(1);
}

/* 16 system vectors + 16 external interrupts (none used): 128 bytes, so the
 * table's natural alignment (VTOR) is satisfied by any 128-byte boundary. */
__attribute__((section(".isr_vector"), used)) static void (*const vectors[32])(void) = {
    (void (*)(void))(uintptr_t)&_estack, /* initial MSP */
    Reset_Handler,
    NMI_Handler,     /* NMI (watchdog) */
    Fault_Handler,   /* HardFault */
    Fault_Handler,   /* MemManage */
    Fault_Handler,   /* BusFault */
    Fault_Handler,   /* UsageFault */
    0, 0, 0, 0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    Default_Handler, /* SysTick */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
};
