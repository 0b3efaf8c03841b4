// SPDX-License-Identifier: Apache-2.0
/*
 * jump.c - the last thing a bootloader does: put the CPU in the state a
 * reset would leave it in (interrupts off in the NVIC and SysTick, nothing
 * pending), point VTOR at the image's vector table, load its initial stack
 * pointer and branch to its reset handler. The app then runs exactly as if
 * it had been reset into.
 */
#include "jump.h"

#define SCB_VTOR (*(volatile uint32_t *)0xe000ed08u)
#define SCB_AIRCR (*(volatile uint32_t *)0xe000ed0cu)
#define SYST_CSR (*(volatile uint32_t *)0xe000e010u)
#define NVIC_ICER(n) (*(volatile uint32_t *)(0xe000e180u + 4u * (n)))
#define NVIC_ICPR(n) (*(volatile uint32_t *)(0xe000e280u + 4u * (n)))

void jump_to_vector_table(uintptr_t vtor)
{
    const volatile uint32_t *vt = (const volatile uint32_t *)vtor;
    uint32_t sp = vt[0];
    uint32_t pc = vt[1];
    unsigned i;

    __asm__ volatile("cpsid i" : : : "memory");
    SYST_CSR = 0;
    for (i = 0; i < 8; i++) {
        NVIC_ICER(i) = 0xffffffffu;
        NVIC_ICPR(i) = 0xffffffffu;
    }
    SCB_VTOR = (uint32_t)vtor;
    __asm__ volatile("dsb\n\tisb" : : : "memory");
    __asm__ volatile("msr msp, %0\n\t"
                     "cpsie i\n\t"
                     "bx %1"
                     :
                     : "r"(sp), "r"(pc)
                     : "memory");
    __builtin_unreachable();
}

void system_reset(void)
{
    __asm__ volatile("dsb" : : : "memory");
    SCB_AIRCR = 0x05fa0004u; /* VECTKEY | SYSRESETREQ */
    __asm__ volatile("dsb" : : : "memory");
    for (;;)
        __asm__ volatile("wfi");
}
