// SPDX-License-Identifier: Apache-2.0
/*
 * smp_uart.c - polled CMSDK APB UART 1 for SMP (smp_uart.h). Registers as
 * in console.c; STATE bit 1 = RX full, CTRL bit 1 = RX enable.
 */
#include "smp_uart.h"

#include <stdint.h>

#include "board.h"

#define UART_REG(off) (*(volatile uint32_t *)(BOARD_UART1 + (off)))
#define UART_DATA UART_REG(0x0)
#define UART_STATE UART_REG(0x4)
#define UART_CTRL UART_REG(0x8)
#define UART_BAUDDIV UART_REG(0x10)

void smp_uart_init(void)
{
    UART_BAUDDIV = BOARD_SYSCLK_HZ / 115200;
    UART_CTRL = 3u; /* TX and RX enable */
}

int smp_uart_getc(void)
{
    if (!(UART_STATE & 2u))
        return -1;
    return (int)(UART_DATA & 0xffu);
}

void smp_uart_write(const char *s, size_t n)
{
    while (n--) {
        while (UART_STATE & 1u)
            ;
        UART_DATA = (uint32_t)(unsigned char)*s++;
    }
}
